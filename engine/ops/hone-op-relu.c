/* hone-op-relu.c: ReLU, y = max(x, 0).
 *
 * Backward reads the output (y > 0 exactly where x > 0), so the input's
 * buffer can be reused once forward is past it. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-private.h"

static void
relu_forward (const HoneOpCtx *ctx)
{
  const float *restrict x = ctx->in[0].data;   /* (N, ...) */
  float *restrict y = ctx->out[0].data;        /* (N, ...) */
  int64_t n = hone_tensor_numel (&ctx->out[0]);
  /* Branch-free so that it vectorises; NaN passes through, as torch.relu. */
  for (int64_t i = 0; i < n; i++)
    {
      float v = x[i];
      y[i] = v < 0.0f ? 0.0f : v;
    }
}

static void
relu_backward (const HoneOpCtx *ctx)
{
  float *restrict dx = ctx->din[0].data;
  if (!dx)
    return;
  const float *restrict y = ctx->out[0].data;
  const float *restrict dy = ctx->dout[0].data;
  int64_t n = hone_tensor_numel (&ctx->out[0]);
  /* Both loads unconditional, so GCC if-converts and vectorises instead of
   * branching on every (unpredictable) sign. */
  for (int64_t i = 0; i < n; i++)
    {
      float g = dy[i];
      dx[i] += y[i] > 0.0f ? g : 0.0f;
    }
}

const HoneOpClass hone_op_relu = {
  .name = "Relu",
  .keep_outputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = relu_forward,
  .backward = relu_backward,
  .flops = hone_op_flops_per_output,
};

int
hone_graph_relu (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_relu, NULL, name, &x, 1, 1, NULL, error);
}
