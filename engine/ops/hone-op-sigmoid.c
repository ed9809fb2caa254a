/* hone-op-sigmoid.c: Sigmoid, y = 1 / (1 + exp(-x)).
 *
 * Forward never evaluates exp of a positive number, so it neither overflows
 * nor loses precision for large |x|.  Backward reads the output only,
 * dy/dx = y (1 - y) (torch.sigmoid's derivative, as PyTorch computes it). */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"

static void
sigmoid_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    {
      /* e = exp(-|x|) <= 1: sigma(x) = 1 / (1 + e) for x >= 0, e / (1 + e) below. */
      float e = expf (-fabsf (x[i]));
      float s = 1.0f / (1.0f + e);
      y[i] = x[i] >= 0.0f ? s : e * s;
    }
}

static void
sigmoid_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict y,
                         int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    dx[i] += dy[i] * (1.0f - y[i]) * y[i];
}

static void
sigmoid_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, sigmoid_kernel);
}

static void
sigmoid_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, sigmoid_backward_kernel, TRUE);
}

const HoneOpClass hone_op_sigmoid = {
  .name = "Sigmoid",
  .keep_outputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = sigmoid_forward,
  .backward = sigmoid_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_sigmoid (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_sigmoid, NULL, name, &x, 1, 1, NULL, error);
}
