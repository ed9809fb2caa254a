/* hone-op-tanh.c: Tanh, y = tanh(x) (ONNX Tanh, torch.tanh).
 *
 *   dy/dx = 1 - y^2
 * computed from the output, as PyTorch's tanh_backward does, so backward
 * keeps the output only.  The kernel calls the C library's tanhf. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-unary-private.h"

static void
tanh_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = tanhf (x[i]);
}

HONE_VEC_CLONES static void
tanh_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict y,
                      int64_t n, gconstpointer attrs)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      dx[i + l] += dy[i + l] * (1.0f - y[i + l] * y[i + l]);
  for (; i < n; i++)
    dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

static void
tanh_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, tanh_kernel);
}

static void
tanh_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, tanh_backward_kernel, TRUE);
}

const HoneOpClass hone_op_tanh = {
  .name = "Tanh",
  .keep_outputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = tanh_forward,
  .backward = tanh_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_tanh (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_tanh, NULL, name, &x, 1, 1, NULL, error);
}
