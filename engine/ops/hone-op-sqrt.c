/* hone-op-sqrt.c: Sqrt, y = sqrt(x) (ONNX Sqrt, torch.sqrt).
 *
 *   dy/dx = 1 / (2 y)
 * from the output, as PyTorch computes it (derivatives.yaml: grad / (2 *
 * result)), so backward keeps the output only.  Negative inputs give NaN
 * and zero an infinite gradient, as in PyTorch; nothing is clamped.  With
 * -fno-math-errno the square root is one vector instruction. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-unary-private.h"

HONE_VEC_CLONES static void
sqrt_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer attrs)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      y[i + l] = sqrtf (x[i + l]);
  for (; i < n; i++)
    y[i] = sqrtf (x[i]);
}

HONE_VEC_CLONES static void
sqrt_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict y,
                      int64_t n, gconstpointer attrs)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      dx[i + l] += dy[i + l] / (2.0f * y[i + l]);
  for (; i < n; i++)
    dx[i] += dy[i] / (2.0f * y[i]);
}

static void
sqrt_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, sqrt_kernel);
}

static void
sqrt_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, sqrt_backward_kernel, TRUE);
}

const HoneOpClass hone_op_sqrt = {
  .name = "Sqrt",
  .keep_outputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = sqrt_forward,
  .backward = sqrt_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_sqrt (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_sqrt, NULL, name, &x, 1, 1, NULL, error);
}
