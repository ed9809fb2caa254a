/* hone-op-pad.c: Pad (ONNX Pad, opset 2+, with constant pads; PyTorch's
 * F.pad in 'constant', 'reflect' and 'replicate' modes).
 *
 * pads are ONNX-ordered, every begin and then every end, over all rank
 * dimensions with the batch's two 0.  Output dimension i has
 * d[i] + begin[i] + end[i] elements, and output index o along it reads
 * input index j = o - begin[i], mapped by the mode when outside [0, d):
 *   constant  the value
 *   edge      j clamped to [0, d - 1]                  (replicate)
 *   reflect   -j below 0, 2 (d - 1) - j above d - 1     (no edge repeat)
 * (https://onnx.ai/onnx/operators/onnx__Pad.html).  Negative pads crop.
 * Reflect needs pads smaller than the dimension, as PyTorch requires.
 *
 * Output rows (the last dimension) are built from the row's source row (or
 * the value, in constant mode, when another dimension is outside): the
 * inside part is one memcpy, the padded ends are mapped element by element.
 * Backward adds every output element's gradient to the input element it
 * read; with edge and reflect several outputs read one input, so backward
 * runs one sample per task (samples never share input elements) and the
 * sums come out the same whatever the thread count.  Nothing is kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int rank;
  HonePadMode mode;
  float value;
  int64_t begin[HONE_MAX_RANK];
  int64_t end[HONE_MAX_RANK];
} PadAttrs;

#define PAD_MIN_ELEMS 16384

static gboolean
pad_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const PadAttrs *a = node->attrs;
  char buf[128];
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (a->mode != HONE_PAD_CONSTANT && a->mode != HONE_PAD_REFLECT && a->mode != HONE_PAD_EDGE)
    {
      hone_op_set_attr_error (error, node, "mode %d is not one of constant, reflect and edge",
                              (int) a->mode);
      return FALSE;
    }
  if (in[0].rank < 2)
    {
      hone_op_set_shape_error (error, node, "input has shape %s; expected at least (N, D)",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  if (a->rank != in[0].rank)
    {
      hone_op_set_attr_error (error, node, "pads has %d entries for an input with %d dimensions; "
                              "give 2 x %d", 2 * a->rank, in[0].rank, in[0].rank);
      return FALSE;
    }
  if (a->begin[0] != 0 || a->end[0] != 0)
    {
      hone_op_set_attr_error (error, node, "the batch (dimension 0) has pads %" G_GINT64_FORMAT
                              " and %" G_GINT64_FORMAT "; they must be 0", a->begin[0], a->end[0]);
      return FALSE;
    }
  out[0].rank = in[0].rank;
  for (int i = 0; i < in[0].rank; i++)
    {
      int64_t d = in[0].d[i], b = a->begin[i], e = a->end[i];
      if (b < -d || e < -d || b > G_MAXINT32 || e > G_MAXINT32 || d + b + e < 1)
        {
          hone_op_set_shape_error (error, node, "pads %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                                   " of dimension %d leave nothing of input %s (or are too "
                                   "large)", b, e, i,
                                   hone_shape_to_string (&in[0], buf, sizeof buf));
          return FALSE;
        }
      if (a->mode == HONE_PAD_REFLECT && (b >= d || e >= d))
        {
          hone_op_set_attr_error (error, node, "reflect pads %" G_GINT64_FORMAT " and %"
                                  G_GINT64_FORMAT " of dimension %d must be smaller than its size "
                                  "%" G_GINT64_FORMAT, b, e, i, d);
          return FALSE;
        }
      out[0].d[i] = d + b + e;
    }
  return TRUE;
}

typedef struct
{
  int rank;
  HonePadMode mode;
  float value;
  const int64_t *begin;
  int64_t d[HONE_MAX_RANK];        /* input */
  int64_t o[HONE_MAX_RANK];        /* output */
  int64_t xs[HONE_MAX_RANK];       /* input strides */
  int64_t rows_per_sample;         /* output rows of one sample */
  float *dst;                      /* forward: y; backward: dx */
  const float *src;                /* forward: x; backward: dy */
} PadJob;

/* The input index that output index o (of an axis with pad b, input d)
 * reads, or -1 for the constant. */
static inline int64_t
pad_map (HonePadMode mode, int64_t o, int64_t b, int64_t d)
{
  int64_t j = o - b;
  if (j >= 0 && j < d)
    return j;
  switch (mode)
    {
    case HONE_PAD_EDGE:
      return j < 0 ? 0 : d - 1;
    case HONE_PAD_REFLECT:
      return j < 0 ? -j : 2 * (d - 1) - j;
    case HONE_PAD_CONSTANT:
    default:
      return -1;
    }
}

static void
pad_job_init (const HoneOpCtx *ctx, PadJob *job)
{
  const PadAttrs *a = ctx->attrs;
  const HoneShape *x = &ctx->in[0].shape;
  job->rank = x->rank;
  job->mode = a->mode;
  job->value = a->value;
  job->begin = a->begin;
  int64_t s = 1;
  for (int i = x->rank - 1; i >= 0; i--)
    {
      job->d[i] = x->d[i];
      job->o[i] = ctx->out[0].shape.d[i];
      job->xs[i] = s;
      s *= x->d[i];
    }
  job->rows_per_sample = 1;
  for (int i = 1; i < x->rank - 1; i++)
    job->rows_per_sample *= job->o[i];
}

/* Input offset of the row that output row `row` (over dimensions
 * 0..rank-2) reads, or -1 when it is all constant. */
static inline int64_t
pad_row_source (const PadJob *job, int64_t row)
{
  int64_t off = 0;
  for (int i = job->rank - 2; i >= 0; i--)
    {
      int64_t k = row % job->o[i];
      row /= job->o[i];
      int64_t j = pad_map (job->mode, k, job->begin[i], job->d[i]);
      if (j < 0)
        return -1;
      off += j * job->xs[i];
    }
  return off;
}

/* The part of an output row that reads the input row in order: [*lo, *hi). */
static inline void
pad_inside (const PadJob *job, int64_t *lo, int64_t *hi)
{
  int last = job->rank - 1;
  int64_t b = job->begin[last], d = job->d[last], w = job->o[last];
  *lo = CLAMP (b, 0, w);
  *hi = CLAMP (b + d, *lo, w);
}

static void
pad_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const PadJob *job = data;
  int last = job->rank - 1;
  int64_t w = job->o[last], b = job->begin[last], d = job->d[last];
  int64_t lo, hi;
  pad_inside (job, &lo, &hi);
  for (int64_t row = begin; row < end; row++)
    {
      float *y = job->dst + row * w;
      int64_t src = job->rank > 1 ? pad_row_source (job, row) : 0;
      if (src < 0)
        {
          hone_vec_fill (y, job->value, w);
          continue;
        }
      const float *x = job->src + src;
      memcpy (y + lo, x + (lo - b), (gsize) (hi - lo) * sizeof (float));
      for (int64_t o = 0; o < lo; o++)
        {
          int64_t j = pad_map (job->mode, o, b, d);
          y[o] = j < 0 ? job->value : x[j];
        }
      for (int64_t o = hi; o < w; o++)
        {
          int64_t j = pad_map (job->mode, o, b, d);
          y[o] = j < 0 ? job->value : x[j];
        }
    }
}

/* Samples [begin, end): every output row of a sample, in order. */
HONE_VEC_CLONES static void
pad_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const PadJob *job = data;
  int last = job->rank - 1;
  int64_t w = job->o[last], b = job->begin[last], d = job->d[last];
  int64_t lo, hi;
  pad_inside (job, &lo, &hi);
  for (int64_t row = begin * job->rows_per_sample; row < end * job->rows_per_sample; row++)
    {
      int64_t src = pad_row_source (job, row);
      if (src < 0)
        continue;
      const float *dy = job->src + row * w;
      float *dx = job->dst + src;
      hone_vec_add (dx + (lo - b), dy + lo, hi - lo);
      for (int64_t o = 0; o < lo; o++)
        {
          int64_t j = pad_map (job->mode, o, b, d);
          if (j >= 0)
            dx[j] += dy[o];
        }
      for (int64_t o = hi; o < w; o++)
        {
          int64_t j = pad_map (job->mode, o, b, d);
          if (j >= 0)
            dx[j] += dy[o];
        }
    }
}

static void
pad_forward (const HoneOpCtx *ctx)
{
  PadJob job;
  pad_job_init (ctx, &job);
  job.dst = ctx->out[0].data;
  job.src = ctx->in[0].data;
  int64_t w = job.o[job.rank - 1];
  int64_t rows = hone_tensor_numel (&ctx->out[0]) / w;
  hone_parallel_for (rows, MAX (1, PAD_MIN_ELEMS / w), pad_forward_task, &job);
}

static void
pad_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  PadJob job;
  pad_job_init (ctx, &job);
  job.dst = ctx->din[0].data;
  job.src = ctx->dout[0].data;
  int64_t per_sample = hone_tensor_numel (&ctx->out[0]) / ctx->batch;
  hone_parallel_for (ctx->batch, MAX (1, PAD_MIN_ELEMS / per_sample), pad_backward_task, &job);
}

static double
pad_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return 0.0;
}

/* Opset 11 and later take pads (every begin, then every end) and the
 * constant as inputs. */
static gboolean
pad_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const PadAttrs *a = node->attrs;
  int64_t pads[2 * HONE_MAX_RANK];
  for (int i = 0; i < a->rank; i++)
    {
      pads[i] = a->begin[i];
      pads[a->rank + i] = a->end[i];
    }
  g_autofree char *base = g_strconcat (node->name, ".pads", NULL);
  const char *in[3] = {
    hone_onnx_writer_input (w, node, 0),
    hone_onnx_writer_add_int64 (w, base, (const int64_t[]) { 2 * a->rank }, 1, pads),
    a->mode == HONE_PAD_CONSTANT ? hone_onnx_writer_scalar (w, a->value) : NULL,
  };
  const char *out = hone_onnx_writer_output (w, node, 0);
  Onnx__NodeProto *n = hone_onnx_writer_add_node (w, "Pad", node->name, in, in[2] ? 3 : 2, &out, 1);
  hone_onnx_node_set_string (w, n, "mode", a->mode == HONE_PAD_REFLECT ? "reflect"
                                           : a->mode == HONE_PAD_EDGE ? "edge" : "constant");
  return TRUE;
}

const HoneOpClass hone_op_pad = {
  .name = "Pad",
  .infer_shape = pad_infer_shape,
  .forward = pad_forward,
  .backward = pad_backward,
  .flops = pad_flops,
  .to_onnx = pad_to_onnx,
};

int
hone_graph_pad (HoneGraph *g, const char *name, int x, const int64_t *pads, int rank,
                HonePadMode mode, float value, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  g_return_val_if_fail (rank <= 0 || pads != NULL, -1);
  if (rank < 1 || rank > HONE_MAX_RANK)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_ATTRIBUTE,
                   "node '%s' (Pad): pads for %d dimensions; give 2 x the input's rank",
                   name, rank);
      return -1;
    }
  PadAttrs *a = g_new0 (PadAttrs, 1);
  a->rank = rank;
  a->mode = mode;
  a->value = value;
  for (int i = 0; i < rank; i++)
    {
      a->begin[i] = pads[i];
      a->end[i] = pads[rank + i];
    }
  return hone_graph_add_node (g, &hone_op_pad, a, name, &x, 1, 1, NULL, error);
}
