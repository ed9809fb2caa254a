/* hone-op-erf.c: Erf, y = erf(x), the Gauss error function (ONNX Erf,
 * torch.erf).  torch.onnx exports the exact GELU of opsets before 20 as
 * x * 0.5 * (1 + Erf(x / sqrt 2)), so ConvNeXt and friends reach it.
 *
 *   dy/dx = 2 / sqrt(pi) exp(-x^2)
 * (torch's erf derivative, tools/autograd/derivatives.yaml).  Backward
 * keeps the input.  The kernel calls the C library's erff and expf: not
 * vectorised, but exact to float rounding as PyTorch's is. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"

#define ERF_TWO_OVER_SQRT_PI 1.12837916709551257390f

static void
erf_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = erff (x[i]);
}

static void
erf_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict x,
                     int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    dx[i] += dy[i] * (ERF_TWO_OVER_SQRT_PI * expf (-x[i] * x[i]));
}

static void
erf_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, erf_kernel);
}

static void
erf_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, erf_backward_kernel, FALSE);
}

const HoneOpClass hone_op_erf = {
  .name = "Erf",
  .keep_inputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = erf_forward,
  .backward = erf_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_erf (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_erf, NULL, name, &x, 1, 1, NULL, error);
}
