/* hone-op-global-avg-pool.c: GlobalAveragePool, the mean of every
 * (sample, channel) plane: (N, C, ...) -> (N, C, 1, ...)
 * (https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html; PyTorch's
 * AdaptiveAvgPool2d(1)).
 *
 * Backward spreads each gradient evenly over its plane and needs only the
 * shapes, so nothing is kept. */
#include "config.h"

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"

typedef struct
{
  int64_t S;                /* elements per plane */
  float *y;                 /* (N, C) planes of 1 */
  float *dx;                /* (N, C, S) */
  const float *x;           /* (N, C, S) */
  const float *dy;          /* (N, C) */
} GapArgs;

static gboolean
gap_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  char buf[128];
  int64_t numel;
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (in[0].rank < 3 || !hone_shape_numel_checked (&in[0], &numel) || numel == 0)
    {
      hone_op_set_shape_error (error, node, "input has shape %s; expected (N, C, H, W) or another "
                               "(N, C, spatial...) shape with no empty dimension",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  out[0] = in[0];
  for (int i = 2; i < in[0].rank; i++)
    out[0].d[i] = 1;
  return TRUE;
}

static double
gap_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return (double) hone_shape_numel (&in[0]);
}

static void
gap_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const GapArgs *a = data;
  for (int64_t t = begin; t < end; t++)
    a->y[t] = hone_vec_sum (a->x + t * a->S, a->S) / (float) a->S;
}

static void
gap_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const GapArgs *a = data;
  for (int64_t t = begin; t < end; t++)
    hone_vec_add_scalar (a->dx + t * a->S, a->dy[t] / (float) a->S, a->S);
}

static void
gap_forward (const HoneOpCtx *ctx)
{
  int64_t planes = hone_tensor_numel (&ctx->out[0]);
  GapArgs a = {
    .S = hone_tensor_numel (&ctx->in[0]) / planes,
    .y = ctx->out[0].data,
    .x = ctx->in[0].data,
  };
  hone_parallel_for (planes, MAX (1, 16384 / a.S), gap_forward_task, &a);
}

static void
gap_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  int64_t planes = hone_tensor_numel (&ctx->out[0]);
  GapArgs a = {
    .S = hone_tensor_numel (&ctx->in[0]) / planes,
    .dx = ctx->din[0].data,
    .dy = ctx->dout[0].data,
  };
  hone_parallel_for (planes, MAX (1, 16384 / a.S), gap_backward_task, &a);
}

const HoneOpClass hone_op_global_avg_pool = {
  .name = "GlobalAveragePool",
  /* Backward needs only the shapes. */
  .infer_shape = gap_infer_shape,
  .forward = gap_forward,
  .backward = gap_backward,
  .flops = gap_flops,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_global_avg_pool (HoneGraph *g, const char *name, int x, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  return hone_graph_add_node (g, &hone_op_global_avg_pool, NULL, name, &x, 1, 1, NULL, error);
}
