/* hone-op-slice.c: Slice with constant starts, ends, axes and steps (ONNX
 * Slice, opset 10+, whose inputs the importer has folded; x[..., a:b:s, ...]
 * in PyTorch).
 *
 * Each listed axis keeps the elements start, start + step, ... before end.
 * ONNX's rules make any integers valid (https://onnx.ai/onnx/operators/onnx__Slice.html):
 * negative starts and ends count from the end of the axis, then for a
 * positive step both are clamped to [0, dim], for a negative step start to
 * [0, dim - 1] and end to [-1, dim - 1], so INT64_MAX / INT64_MIN mean "to
 * the end" / "to the beginning"; the axis keeps max(0, ceil((end - start) /
 * step)) elements.  A slice that keeps nothing is refused (Hone has no empty
 * tensors), as are step 0, repeated axes and the batch axis.
 *
 * The kernel copies rows: the dimensions after the last one that is really
 * sliced are whole, so each output row is one contiguous run of the input,
 * found from the row's index.  Backward adds each output row back where it
 * came from; no two output elements come from one input element, so rows
 * run on the engine's threads without conflicts.  Nothing is kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int n;
  int axes[HONE_MAX_RANK];
  int64_t starts[HONE_MAX_RANK];
  int64_t ends[HONE_MAX_RANK];
  int64_t steps[HONE_MAX_RANK];
} SliceAttrs;

#define SLICE_MIN_ELEMS 16384

/* Per input dimension: the first index kept, the step, and the count. */
typedef struct
{
  int64_t start[HONE_MAX_RANK];
  int64_t step[HONE_MAX_RANK];
  int64_t count[HONE_MAX_RANK];
} SliceRanges;

/* ONNX's clamping of one axis of size dim; returns the count. */
static int64_t
slice_clamp (int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first)
{
  if (start < 0)
    start = start < -dim ? -1 : start + dim;
  if (end < 0)
    end = end < -dim ? -1 : end + dim;
  if (step > 0)
    {
      start = CLAMP (start, 0, dim);
      end = CLAMP (end, 0, dim);
      *first = start;
      return end > start ? (end - start + step - 1) / step : 0;
    }
  start = CLAMP (start, 0, dim - 1);
  end = CLAMP (end, -1, dim - 1);
  *first = start;
  /* step < 0: ceil((start - end) / -step); -step cannot overflow since step != INT64_MIN */
  return start > end ? (start - end + (-step) - 1) / (-step) : 0;
}

static gboolean
slice_ranges (const HoneNode *node, const HoneShape *x, SliceRanges *r, GError **error)
{
  const SliceAttrs *a = node->attrs;
  gboolean seen[HONE_MAX_RANK] = { 0 };
  for (int i = 0; i < x->rank; i++)
    {
      r->start[i] = 0;
      r->step[i] = 1;
      r->count[i] = x->d[i];
    }
  for (int k = 0; k < a->n; k++)
    {
      int axis = a->axes[k] < 0 ? a->axes[k] + x->rank : a->axes[k];
      if (axis < 0 || axis >= x->rank)
        {
          hone_op_set_attr_error (error, node, "axis %d is out of range for an input with %d "
                                  "dimensions", a->axes[k], x->rank);
          return FALSE;
        }
      if (axis == 0)
        {
          hone_op_set_attr_error (error, node, "axis %d is the batch (dimension 0), which cannot "
                                  "be sliced", a->axes[k]);
          return FALSE;
        }
      if (seen[axis])
        {
          hone_op_set_attr_error (error, node, "axis %d is listed twice", a->axes[k]);
          return FALSE;
        }
      seen[axis] = TRUE;
      if (a->steps[k] == 0 || a->steps[k] == G_MININT64)
        {
          hone_op_set_attr_error (error, node, "step %" G_GINT64_FORMAT " of axis %d is not "
                                  "allowed; use a non-zero step", a->steps[k], a->axes[k]);
          return FALSE;
        }
      r->step[axis] = a->steps[k];
      r->count[axis] = slice_clamp (x->d[axis], a->starts[k], a->ends[k], a->steps[k],
                                    &r->start[axis]);
      if (r->count[axis] == 0)
        {
          hone_op_set_shape_error (error, node, "starts %" G_GINT64_FORMAT ", ends %"
                                   G_GINT64_FORMAT " and step %" G_GINT64_FORMAT " keep nothing "
                                   "of axis %d (size %" G_GINT64_FORMAT "); empty tensors are "
                                   "not supported", a->starts[k], a->ends[k], a->steps[k],
                                   a->axes[k], x->d[axis]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
slice_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const SliceAttrs *a = node->attrs;
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (a->n < 1 || a->n > in[0].rank)
    {
      hone_op_set_attr_error (error, node, "%d axes given for an input with %d dimensions; give "
                              "1 to %d", a->n, in[0].rank, in[0].rank);
      return FALSE;
    }
  SliceRanges r;
  if (!slice_ranges (node, &in[0], &r, error))
    return FALSE;
  out[0].rank = in[0].rank;
  for (int i = 0; i < in[0].rank; i++)
    out[0].d[i] = r.count[i];
  return TRUE;
}

typedef struct
{
  int last;                         /* last dimension that is sliced (>= 0) */
  int64_t inner;                    /* elements per row: dimensions after `last` */
  int64_t xs[HONE_MAX_RANK];        /* input strides */
  SliceRanges r;
  float *dst;                       /* forward: y; backward: dx */
  const float *src;                 /* forward: x; backward: dy */
} SliceJob;

static void
slice_job_init (const HoneOpCtx *ctx, SliceJob *job)
{
  const HoneShape *x = &ctx->in[0].shape;
  gboolean ok = slice_ranges (ctx->node, x, &job->r, NULL);
  g_assert (ok);
  job->last = 0;
  for (int i = 0; i < x->rank; i++)
    if (job->r.count[i] != x->d[i] || job->r.step[i] != 1)
      job->last = i;
  int64_t s = 1;
  for (int i = x->rank - 1; i >= 0; i--)
    {
      job->xs[i] = s;
      s *= x->d[i];
    }
  job->inner = job->xs[job->last];
}

/* Input offset of output row `row` (an index over dimensions 0..last). */
static inline int64_t
slice_row_offset (const SliceJob *job, int64_t row)
{
  int64_t off = 0;
  for (int i = job->last; i >= 0; i--)
    {
      int64_t k = row % job->r.count[i];
      row /= job->r.count[i];
      off += (job->r.start[i] + k * job->r.step[i]) * job->xs[i];
    }
  return off;
}

static void
slice_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const SliceJob *job = data;
  for (int64_t row = begin; row < end; row++)
    memcpy (job->dst + row * job->inner, job->src + slice_row_offset (job, row),
            (gsize) job->inner * sizeof (float));
}

HONE_VEC_CLONES static void
slice_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const SliceJob *job = data;
  for (int64_t row = begin; row < end; row++)
    hone_vec_add (job->dst + slice_row_offset (job, row), job->src + row * job->inner, job->inner);
}

static void
slice_forward (const HoneOpCtx *ctx)
{
  SliceJob job;
  slice_job_init (ctx, &job);
  job.dst = ctx->out[0].data;
  job.src = ctx->in[0].data;
  int64_t rows = hone_tensor_numel (&ctx->out[0]) / job.inner;
  hone_parallel_for (rows, MAX (1, SLICE_MIN_ELEMS / job.inner), slice_forward_task, &job);
}

static void
slice_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  SliceJob job;
  slice_job_init (ctx, &job);
  job.dst = ctx->din[0].data;
  job.src = ctx->dout[0].data;
  int64_t rows = hone_tensor_numel (&ctx->out[0]) / job.inner;
  hone_parallel_for (rows, MAX (1, SLICE_MIN_ELEMS / job.inner), slice_backward_task, &job);
}

/* Opset 10 and later take starts, ends, axes and steps as inputs. */
static gboolean
slice_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const SliceAttrs *a = node->attrs;
  int64_t axes[HONE_MAX_RANK];
  for (int k = 0; k < a->n; k++)
    axes[k] = a->axes[k];
  const int64_t dims[1] = { a->n };
  const char *fields[4] = { "starts", "ends", "axes", "steps" };
  const int64_t *values[4] = { a->starts, a->ends, axes, a->steps };
  const char *in[5] = { hone_onnx_writer_input (w, node, 0) };
  for (int k = 0; k < 4; k++)
    {
      g_autofree char *base = g_strdup_printf ("%s.%s", node->name, fields[k]);
      in[k + 1] = hone_onnx_writer_add_int64 (w, base, dims, 1, values[k]);
    }
  const char *out = hone_onnx_writer_output (w, node, 0);
  hone_onnx_writer_add_node (w, "Slice", node->name, in, 5, &out, 1);
  return TRUE;
}

const HoneOpClass hone_op_slice = {
  .name = "Slice",
  .infer_shape = slice_infer_shape,
  .forward = slice_forward,
  .backward = slice_backward,
  .flops = hone_op_flops_none,
  .to_onnx = slice_to_onnx,
};

int
hone_graph_slice (HoneGraph *g, const char *name, int x, const int64_t *starts,
                  const int64_t *ends, const int *axes, const int64_t *steps, int n,
                  GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  g_return_val_if_fail (n <= 0 || (starts && ends && axes), -1);
  SliceAttrs *a = g_new0 (SliceAttrs, 1);
  /* A count out of range is refused by infer_shape, naming the node. */
  a->n = n;
  for (int k = 0; k < CLAMP (n, 0, HONE_MAX_RANK); k++)
    {
      a->axes[k] = axes[k];
      a->starts[k] = starts[k];
      a->ends[k] = ends[k];
      a->steps[k] = steps ? steps[k] : 1;
    }
  return hone_graph_add_node (g, &hone_op_slice, a, name, &x, 1, 1, NULL, error);
}
