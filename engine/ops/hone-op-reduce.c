/* hone-op-reduce.c: the sum over axes shared by ReduceMean and ReduceSum
 * (ONNX ReduceMean / ReduceSum, torch.mean / torch.sum over dims).
 *
 *   y[kept index] = s * sum over the reduced axes of x,  s = 1 or 1 / count
 *   dx[index]    += s * dy[kept part of index]
 *
 * The input's dimensions are first simplified: dimensions of size 1 are
 * dropped (they change nothing) and neighbours that are both reduced or both
 * kept are merged, so (N, H, W, C) reduced over C is rows of C, and
 * (N, C, H, W) over (H, W) is N C rows of H W.  The batch is always kept and
 * always first, so samples (merged with any kept dimensions after them) are
 * spread over the engine's threads and every thread writes its own part of
 * y (forward) or dx (backward).  The innermost dimension is a contiguous run:
 * summed (reduced) or added as a vector (kept). */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-reduce-private.h"
#include "onnx/hone-onnx-writer-private.h"

#define REDUCE_MIN_ELEMS 16384

/* Which axes of a rank-r input are reduced; FALSE with error when the axes
 * are out of range, repeated or the batch. */
static gboolean
reduce_mask (const HoneNode *node, int r, gboolean *reduced, GError **error)
{
  const HoneReduceAttrs *a = node->attrs;
  for (int i = 0; i < r; i++)
    reduced[i] = a->n_axes == 0 && i > 0;
  for (int k = 0; k < a->n_axes; k++)
    {
      int axis = a->axes[k] < 0 ? a->axes[k] + r : a->axes[k];
      if (axis < 0 || axis >= r)
        {
          hone_op_set_attr_error (error, node, "axis %d is out of range for an input with %d "
                                  "dimensions", a->axes[k], r);
          return FALSE;
        }
      if (axis == 0)
        {
          hone_op_set_attr_error (error, node, "axis %d is the batch (dimension 0), which cannot "
                                  "be reduced: samples must stay independent", a->axes[k]);
          return FALSE;
        }
      if (reduced[axis])
        {
          hone_op_set_attr_error (error, node, "axis %d is listed twice", a->axes[k]);
          return FALSE;
        }
      reduced[axis] = TRUE;
    }
  return TRUE;
}

gboolean
hone_op_reduce_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out,
                            GError **error)
{
  const HoneReduceAttrs *a = node->attrs;
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (a->n_axes < 0 || a->n_axes > HONE_MAX_RANK)
    {
      hone_op_set_attr_error (error, node, "%d axes given; at most %d are possible", a->n_axes,
                              HONE_MAX_RANK);
      return FALSE;
    }
  int r = in[0].rank;
  gboolean reduced[HONE_MAX_RANK];
  if (!reduce_mask (node, r, reduced, error))
    return FALSE;
  int64_t numel;
  if (!hone_shape_numel_checked (&in[0], &numel) || numel == 0)
    {
      char buf[128];
      hone_op_set_shape_error (error, node, "input has shape %s; expected no empty dimension",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  out[0].rank = 0;
  for (int i = 0; i < r; i++)
    {
      if (!reduced[i])
        out[0].d[out[0].rank++] = in[0].d[i];
      else if (a->keepdims)
        out[0].d[out[0].rank++] = 1;
    }
  return TRUE;
}

/* The simplified view of one reduction. */
typedef struct
{
  int rank;                          /* >= 1; dimension 0 is kept */
  int64_t d[HONE_MAX_RANK];
  gboolean reduced[HONE_MAX_RANK];
  int64_t xs[HONE_MAX_RANK];         /* element strides in x */
  int64_t ys[HONE_MAX_RANK];         /* element strides in y; 0 where reduced */
  float scale;                       /* 1 or 1 / count */
  float *y;                          /* forward: y; backward: dx */
  const float *x;                    /* forward: x; backward: dy */
} ReduceJob;

static void
reduce_layout (const HoneOpCtx *ctx, ReduceJob *job)
{
  const HoneReduceAttrs *a = ctx->attrs;
  const HoneShape *s = &ctx->in[0].shape;
  gboolean reduced[HONE_MAX_RANK];
  gboolean ok = reduce_mask (ctx->node, s->rank, reduced, NULL);
  g_assert (ok);

  int64_t count = 1;
  job->rank = 0;
  for (int i = 0; i < s->rank; i++)
    {
      if (reduced[i])
        count *= s->d[i];
      if (i > 0 && s->d[i] == 1)
        continue;
      int m = job->rank;
      if (m > 0 && job->reduced[m - 1] == reduced[i])
        job->d[m - 1] *= s->d[i];
      else
        {
          job->d[m] = s->d[i];
          job->reduced[m] = reduced[i];
          job->rank++;
        }
    }
  int64_t xs = 1, ys = 1;
  for (int m = job->rank - 1; m >= 0; m--)
    {
      job->xs[m] = xs;
      xs *= job->d[m];
      job->ys[m] = job->reduced[m] ? 0 : ys;
      if (!job->reduced[m])
        ys *= job->d[m];
    }
  job->scale = a->mean ? (float) (1.0 / (double) count) : 1.0f;
}

/* Forward from dimension m on: y (at the kept offset) += sum of x. */
static void
reduce_forward_rec (const ReduceJob *job, int m, float *restrict y, const float *restrict x)
{
  int64_t n = job->d[m];
  if (m == job->rank - 1)
    {
      if (job->reduced[m])
        *y += hone_vec_sum (x, n);
      else
        hone_vec_add (y, x, n);
      return;
    }
  for (int64_t i = 0; i < n; i++)
    reduce_forward_rec (job, m + 1, y + i * job->ys[m], x + i * job->xs[m]);
}

/* Backward from dimension m on: dx += scale dy (dy at the kept offset). */
static void
reduce_backward_rec (const ReduceJob *job, int m, float *restrict dx, const float *restrict dy)
{
  int64_t n = job->d[m];
  if (m == job->rank - 1)
    {
      if (job->reduced[m])
        hone_vec_add_scalar (dx, job->scale * *dy, n);
      else
        hone_vec_axpy (dx, dy, job->scale, n);
      return;
    }
  for (int64_t i = 0; i < n; i++)
    reduce_backward_rec (job, m + 1, dx + i * job->xs[m], dy + i * job->ys[m]);
}

/* Rows [begin, end) of dimension 0. */
HONE_VEC_CLONES static void
reduce_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const ReduceJob *job = data;
  float *y = job->y + begin * job->ys[0];
  int64_t ny = (end - begin) * job->ys[0];
  memset (y, 0, (gsize) ny * sizeof (float));
  if (job->rank == 1)
    hone_vec_add (y, job->x + begin, end - begin);
  else
    for (int64_t i = begin; i < end; i++)
      reduce_forward_rec (job, 1, job->y + i * job->ys[0], job->x + i * job->xs[0]);
  if (job->scale != 1.0f)
    for (int64_t i = 0; i < ny; i++)
      y[i] *= job->scale;
}

HONE_VEC_CLONES static void
reduce_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const ReduceJob *job = data;
  if (job->rank == 1)
    hone_vec_axpy (job->y + begin, job->x + begin, job->scale, end - begin);
  else
    for (int64_t i = begin; i < end; i++)
      reduce_backward_rec (job, 1, job->y + i * job->xs[0], job->x + i * job->ys[0]);
}

void
hone_op_reduce_forward (const HoneOpCtx *ctx)
{
  ReduceJob job;
  reduce_layout (ctx, &job);
  job.y = ctx->out[0].data;
  job.x = ctx->in[0].data;
  hone_parallel_for (job.d[0], MAX (1, REDUCE_MIN_ELEMS / job.xs[0]), reduce_forward_task, &job);
}

void
hone_op_reduce_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  ReduceJob job;
  reduce_layout (ctx, &job);
  job.y = ctx->din[0].data;
  job.x = ctx->dout[0].data;
  hone_parallel_for (job.d[0], MAX (1, REDUCE_MIN_ELEMS / job.xs[0]), reduce_backward_task, &job);
}

int
hone_op_reduce_add (HoneGraph *g, const HoneOpClass *op, gboolean mean, const char *name, int x,
                    const int *axes, int n_axes, gboolean keepdims, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  g_return_val_if_fail (n_axes == 0 || axes != NULL, -1);
  HoneReduceAttrs *a = g_new0 (HoneReduceAttrs, 1);
  a->keepdims = !!keepdims;
  a->mean = mean;
  /* More than HONE_MAX_RANK axes is refused by infer_shape (naming the node). */
  a->n_axes = n_axes;
  for (int k = 0; k < MIN (n_axes, HONE_MAX_RANK); k++)
    a->axes[k] = axes[k];
  return hone_graph_add_node (g, op, a, name, &x, 1, 1, NULL, error);
}

gboolean
hone_op_reduce_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HoneReduceAttrs *a = node->attrs;
  int64_t axes[HONE_MAX_RANK];
  int n = 0;
  if (a->n_axes == 0)
    for (int d = 1; d < hone_onnx_writer_input_rank (w, node, 0); d++)
      axes[n++] = d;
  else
    for (; n < a->n_axes; n++)
      axes[n] = a->axes[n];
  const char *in[2] = { hone_onnx_writer_input (w, node, 0) };
  const char *out = hone_onnx_writer_output (w, node, 0);
  Onnx__NodeProto *r;
  if (a->mean)
    {
      r = hone_onnx_writer_add_node (w, "ReduceMean", node->name, in, 1, &out, 1);
      hone_onnx_node_set_ints (w, r, "axes", axes, n);
    }
  else
    {
      g_autofree char *base = g_strconcat (node->name, ".axes", NULL);
      in[1] = hone_onnx_writer_add_int64 (w, base, (const int64_t[]) { n }, 1, axes);
      r = hone_onnx_writer_add_node (w, "ReduceSum", node->name, in, 2, &out, 1);
    }
  hone_onnx_node_set_int (w, r, "keepdims", a->keepdims ? 1 : 0);
  return TRUE;
}

double
hone_op_reduce_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return (double) hone_shape_numel (&in[0]);
}
