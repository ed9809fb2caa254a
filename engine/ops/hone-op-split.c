/* hone-op-split.c: Split along one axis into consecutive parts (ONNX Split
 * with a constant split, torch.split / torch.chunk).
 *
 * Output k takes sizes[k] elements of the axis after those of the outputs
 * before it; the sizes must add up to the axis.  Without sizes the axis is
 * cut into equal parts, and an axis that the number of outputs does not
 * divide is refused (ONNX 18's uneven num_outputs rule is the importer's to
 * spell out as sizes).  The batch axis cannot be split, empty parts are
 * refused (Hone has no empty tensors), and at most HONE_MAX_RANK outputs
 * are possible.
 *
 * Everything before the axis indexes "outer" blocks, everything after it
 * is contiguous, so each part of each block is one memcpy (forward) or one
 * vector add (backward); blocks run on the engine's threads.  Nothing is
 * kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int axis;
  gboolean equal;                  /* no sizes given */
  int64_t sizes[HONE_MAX_RANK];
} SplitAttrs;

#define SPLIT_MIN_ELEMS 16384

static gboolean
split_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const SplitAttrs *a = node->attrs;
  char buf[128];
  if (node->n_in != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input, got %d", node->n_in);
      return FALSE;
    }
  int r = in[0].rank;
  int axis = a->axis < 0 ? a->axis + r : a->axis;
  if (axis < 0 || axis >= r)
    {
      hone_op_set_attr_error (error, node, "axis %d is out of range for an input with %d "
                              "dimensions", a->axis, r);
      return FALSE;
    }
  if (axis == 0)
    {
      hone_op_set_attr_error (error, node, "axis %d is the batch (dimension 0), which cannot be "
                              "split", a->axis);
      return FALSE;
    }
  int64_t dim = in[0].d[axis];
  int n = node->n_out;
  int64_t total = 0;
  for (int k = 0; k < n; k++)
    {
      int64_t size = a->equal ? dim / n : a->sizes[k];
      if (a->equal && dim % n != 0)
        {
          hone_op_set_shape_error (error, node, "axis %d of shape %s does not split into %d "
                                   "equal parts; give the sizes", a->axis,
                                   hone_shape_to_string (&in[0], buf, sizeof buf), n);
          return FALSE;
        }
      if (size < 1)
        {
          hone_op_set_attr_error (error, node, "part %d has size %" G_GINT64_FORMAT "; every part "
                                  "needs at least one element", k, size);
          return FALSE;
        }
      if (size > dim - total)
        {
          hone_op_set_shape_error (error, node, "the sizes add up to more than axis %d of shape "
                                   "%s", a->axis, hone_shape_to_string (&in[0], buf, sizeof buf));
          return FALSE;
        }
      total += size;
      out[k] = in[0];
      out[k].d[axis] = size;
    }
  if (total != dim)
    {
      hone_op_set_shape_error (error, node, "the sizes add up to %" G_GINT64_FORMAT " but axis %d "
                               "of shape %s has %" G_GINT64_FORMAT, total, a->axis,
                               hone_shape_to_string (&in[0], buf, sizeof buf), dim);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  int n;
  int64_t dim, inner;              /* axis size, elements after the axis */
  int64_t offset[HONE_MAX_RANK];   /* first axis index of each part */
  int64_t size[HONE_MAX_RANK];
  float *x;                        /* forward: NULL; backward: dx (outer, dim, inner) */
  const float *cx;                 /* forward: x */
  float *parts[HONE_MAX_RANK];     /* forward: outputs (outer, size[k], inner) */
  const float *dparts[HONE_MAX_RANK]; /* backward: output gradients, or NULL */
} SplitJob;

static void
split_job_init (const HoneOpCtx *ctx, SplitJob *job, int64_t *outer)
{
  const SplitAttrs *a = ctx->attrs;
  const HoneShape *s = &ctx->in[0].shape;
  int axis = a->axis < 0 ? a->axis + s->rank : a->axis;
  *outer = 1;
  job->inner = 1;
  for (int i = 0; i < axis; i++)
    *outer *= s->d[i];
  for (int i = axis + 1; i < s->rank; i++)
    job->inner *= s->d[i];
  job->dim = s->d[axis];
  job->n = ctx->node->n_out;
  int64_t off = 0;
  for (int k = 0; k < job->n; k++)
    {
      job->offset[k] = off;
      job->size[k] = ctx->out[k].shape.d[axis];
      off += job->size[k];
    }
}

static void
split_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const SplitJob *job = data;
  for (int64_t o = begin; o < end; o++)
    for (int k = 0; k < job->n; k++)
      memcpy (job->parts[k] + o * job->size[k] * job->inner,
              job->cx + (o * job->dim + job->offset[k]) * job->inner,
              (gsize) (job->size[k] * job->inner) * sizeof (float));
}

HONE_VEC_CLONES static void
split_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const SplitJob *job = data;
  for (int64_t o = begin; o < end; o++)
    for (int k = 0; k < job->n; k++)
      if (job->dparts[k])
        hone_vec_add (job->x + (o * job->dim + job->offset[k]) * job->inner,
                      job->dparts[k] + o * job->size[k] * job->inner, job->size[k] * job->inner);
}

static void
split_forward (const HoneOpCtx *ctx)
{
  SplitJob job;
  int64_t outer;
  split_job_init (ctx, &job, &outer);
  job.cx = ctx->in[0].data;
  for (int k = 0; k < job.n; k++)
    job.parts[k] = ctx->out[k].data;
  hone_parallel_for (outer, MAX (1, SPLIT_MIN_ELEMS / (job.dim * job.inner)), split_forward_task,
                     &job);
}

static void
split_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  SplitJob job;
  int64_t outer;
  split_job_init (ctx, &job, &outer);
  job.x = ctx->din[0].data;
  for (int k = 0; k < job.n; k++)
    job.dparts[k] = ctx->dout[k].data;
  hone_parallel_for (outer, MAX (1, SPLIT_MIN_ELEMS / (job.dim * job.inner)), split_backward_task,
                     &job);
}

/* Opset 13 takes the part sizes as an input; equal parts omit it. */
static gboolean
split_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const SplitAttrs *a = node->attrs;
  const char *in[2] = { hone_onnx_writer_input (w, node, 0) };
  if (!a->equal)
    {
      g_autofree char *base = g_strconcat (node->name, ".split", NULL);
      in[1] = hone_onnx_writer_add_int64 (w, base, (const int64_t[]) { node->n_out }, 1, a->sizes);
    }
  const char *out[HONE_MAX_RANK];
  for (int k = 0; k < node->n_out; k++)
    out[k] = hone_onnx_writer_output (w, node, k);
  Onnx__NodeProto *n = hone_onnx_writer_add_node (w, "Split", node->name, in, a->equal ? 1 : 2,
                                                  out, node->n_out);
  hone_onnx_node_set_int (w, n, "axis", a->axis);
  return TRUE;
}

const HoneOpClass hone_op_split = {
  .name = "Split",
  .infer_shape = split_infer_shape,
  .forward = split_forward,
  .backward = split_backward,
  .flops = hone_op_flops_none,
  .to_onnx = split_to_onnx,
};

int
hone_graph_split (HoneGraph *g, const char *name, int x, int axis, const int64_t *sizes,
                  int n_out, int *out_ids, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && out_ids != NULL, -1);
  if (n_out < 1 || n_out > HONE_MAX_RANK)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_ATTRIBUTE,
                   "node '%s' (Split): %d outputs asked for; Hone splits into 1 to %d parts",
                   name, n_out, HONE_MAX_RANK);
      return -1;
    }
  SplitAttrs *a = g_new0 (SplitAttrs, 1);
  a->axis = axis;
  a->equal = sizes == NULL;
  for (int k = 0; sizes && k < n_out; k++)
    a->sizes[k] = sizes[k];
  return hone_graph_add_node (g, &hone_op_split, a, name, &x, 1, n_out, out_ids, error);
}
