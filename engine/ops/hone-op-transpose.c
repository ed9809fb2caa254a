/* hone-op-transpose.c: Transpose (ONNX Transpose, torch.permute): output
 * dimension i is input dimension perm[i].
 *
 * perm[0] must be 0: the batch stays first.  Output dimensions that are
 * also consecutive in the input are merged first, so the loops see the
 * fewest, longest dimensions; then each output row (the last output
 * dimension) is gathered with a fixed input stride, rows spread over the
 * engine's threads.  Backward scatters dY back the same way (perm is a
 * bijection, so rows never collide); no input is kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

static gboolean
transpose_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const HoneTransposeAttrs *attrs = node->attrs;
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (attrs->rank != in[0].rank)
    {
      hone_op_set_attr_error (error, node, "perm has %d entries but the input has %d dimensions",
                              attrs->rank, in[0].rank);
      return FALSE;
    }
  gboolean seen[HONE_MAX_RANK] = { 0 };
  for (int i = 0; i < attrs->rank; i++)
    {
      int p = attrs->perm[i];
      if (p < 0 || p >= attrs->rank || seen[p])
        {
          hone_op_set_attr_error (error, node, "perm is not a permutation of 0 to %d",
                                  attrs->rank - 1);
          return FALSE;
        }
      seen[p] = TRUE;
    }
  if (attrs->perm[0] != 0)
    {
      hone_op_set_attr_error (error, node, "perm[0] is %d: the batch (dimension 0) must stay first",
                              attrs->perm[0]);
      return FALSE;
    }
  out[0].rank = in[0].rank;
  for (int i = 0; i < in[0].rank; i++)
    out[0].d[i] = in[0].d[attrs->perm[i]];
  return TRUE;
}

typedef struct
{
  int rank;                        /* merged output dimensions */
  int64_t dim[HONE_MAX_RANK];
  int64_t in_stride[HONE_MAX_RANK];  /* input stride of each output dimension */
  int64_t n_rows;                  /* product of all but the last */
  float *dst;                      /* forward: y; backward: dx */
  const float *src;                /* forward: x; backward: dy */
} TransposeJob;

static void
transpose_plan (const HoneOpCtx *ctx, TransposeJob *job)
{
  const HoneTransposeAttrs *attrs = ctx->attrs;
  const HoneShape *is = &ctx->in[0].shape;
  int64_t stride[HONE_MAX_RANK];
  int64_t s = 1;
  for (int j = is->rank - 1; j >= 0; j--)
    {
      stride[j] = s;
      s *= is->d[j];
    }
  int r = 0;
  for (int i = 0; i < attrs->rank; i++)
    {
      int64_t d = is->d[attrs->perm[i]], st = stride[attrs->perm[i]];
      if (d == 1)
        continue;
      /* Consecutive in the input too: one longer dimension. */
      if (r > 0 && job->in_stride[r - 1] == st * d)
        {
          job->dim[r - 1] *= d;
          job->in_stride[r - 1] = st;
        }
      else
        {
          job->dim[r] = d;
          job->in_stride[r] = st;
          r++;
        }
    }
  if (r == 0)
    {
      job->dim[0] = 1;
      job->in_stride[0] = 1;
      r = 1;
    }
  job->rank = r;
  job->n_rows = 1;
  for (int j = 0; j < r - 1; j++)
    job->n_rows *= job->dim[j];
}

/* Input offset of output row `row`. */
static int64_t
row_offset (const TransposeJob *job, int64_t row)
{
  int64_t off = 0;
  for (int j = job->rank - 2; j >= 0; j--)
    {
      off += (row % job->dim[j]) * job->in_stride[j];
      row /= job->dim[j];
    }
  return off;
}

static void
transpose_forward_chunk (int64_t begin, int64_t end, gpointer data)
{
  const TransposeJob *job = data;
  const int64_t len = job->dim[job->rank - 1], st = job->in_stride[job->rank - 1];
  for (int64_t row = begin; row < end; row++)
    {
      float *restrict y = job->dst + row * len;
      const float *restrict x = job->src + row_offset (job, row);
      if (st == 1)
        memcpy (y, x, (gsize) len * sizeof (float));
      else
        for (int64_t j = 0; j < len; j++)
          y[j] = x[j * st];
    }
}

static void
transpose_backward_chunk (int64_t begin, int64_t end, gpointer data)
{
  const TransposeJob *job = data;
  const int64_t len = job->dim[job->rank - 1], st = job->in_stride[job->rank - 1];
  for (int64_t row = begin; row < end; row++)
    {
      float *restrict dx = job->dst + row_offset (job, row);
      const float *restrict dy = job->src + row * len;
      for (int64_t j = 0; j < len; j++)
        dx[j * st] += dy[j];
    }
}

static void
transpose_forward (const HoneOpCtx *ctx)
{
  TransposeJob job = { .dst = ctx->out[0].data, .src = ctx->in[0].data };
  transpose_plan (ctx, &job);
  if (hone_tensor_numel (&ctx->out[0]) == 0)
    return;
  int64_t len = job.dim[job.rank - 1];
  hone_parallel_for (job.n_rows, MAX (1, 16384 / len), transpose_forward_chunk, &job);
}

static void
transpose_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  TransposeJob job = { .dst = ctx->din[0].data, .src = ctx->dout[0].data };
  transpose_plan (ctx, &job);
  if (hone_tensor_numel (&ctx->out[0]) == 0)
    return;
  int64_t len = job.dim[job.rank - 1];
  hone_parallel_for (job.n_rows, MAX (1, 16384 / len), transpose_backward_chunk, &job);
}

static gboolean
transpose_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HoneTransposeAttrs *a = node->attrs;
  int64_t perm[HONE_MAX_RANK];
  for (int i = 0; i < a->rank; i++)
    perm[i] = a->perm[i];
  hone_onnx_node_set_ints (w, hone_onnx_writer_add_simple (w, node, "Transpose"), "perm", perm, a->rank);
  return TRUE;
}

const HoneOpClass hone_op_transpose = {
  .name = "Transpose",
  .infer_shape = transpose_infer_shape,
  .forward = transpose_forward,
  .backward = transpose_backward,
  .flops = hone_op_flops_none,
  .to_onnx = transpose_to_onnx,
};

int
hone_graph_transpose (HoneGraph *g, const char *name, int x, const int *perm, int rank,
                      GError **error)
{
  HoneTransposeAttrs *attrs = g_new0 (HoneTransposeAttrs, 1);
  /* A rank out of range is kept as given and refused by infer_shape with
   * the node's name; no perm means ONNX's default, the reversed order. */
  attrs->rank = rank;
  for (int i = 0; i < CLAMP (rank, 0, HONE_MAX_RANK); i++)
    attrs->perm[i] = perm ? perm[i] : rank - 1 - i;
  return hone_graph_add_node (g, &hone_op_transpose, attrs, name, &x, 1, 1, NULL, error);
}
