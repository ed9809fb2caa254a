/* hone-op-gelu.c: GELU, exact and tanh-approximated.
 *
 * torch.nn.functional.gelu (approximate='none' / 'tanh'), ONNX Gelu (opset
 * 20):
 *   exact  y = x Phi(x) = x/2 (1 + erf(x / sqrt 2)),
 *          dy/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
 *   tanh   y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
 *          dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 0.044715 x^2)
 * (Hendrycks & Gimpel, "Gaussian Error Linear Units", 2016), computed in the
 * same order as PyTorch's CPU kernels.  Backward keeps the input. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  gboolean tanh_approx;
} GeluAttrs;

#define GELU_SQRT1_2    0.70710678118654752440f   /* 1 / sqrt 2 */
#define GELU_PDF_SCALE  0.39894228040143267794f   /* 1 / sqrt(2 pi) */
#define GELU_BETA       0.79788456080286535588f   /* sqrt(2 / pi) */
#define GELU_KAPPA      0.044715f

static void
gelu_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer data)
{
  const GeluAttrs *attrs = data;
  if (attrs->tanh_approx)
    for (int64_t i = 0; i < n; i++)
      {
        float v = x[i];
        float inner = GELU_BETA * (v + GELU_KAPPA * v * v * v);
        y[i] = 0.5f * v * (1.0f + tanhf (inner));
      }
  else
    for (int64_t i = 0; i < n; i++)
      y[i] = x[i] * 0.5f * (1.0f + erff (x[i] * GELU_SQRT1_2));
}

static void
gelu_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict x,
                      int64_t n, gconstpointer data)
{
  const GeluAttrs *attrs = data;
  if (attrs->tanh_approx)
    for (int64_t i = 0; i < n; i++)
      {
        float v = x[i], v2 = v * v;
        float t = tanhf (GELU_BETA * (v + GELU_KAPPA * v2 * v));
        float left_derivative = 0.5f * (1.0f + t);
        float right_derivative = 0.5f * v * (1.0f - t * t) * GELU_BETA
                                 * (1.0f + 3.0f * GELU_KAPPA * v2);
        dx[i] += dy[i] * (left_derivative + right_derivative);
      }
  else
    for (int64_t i = 0; i < n; i++)
      {
        float v = x[i];
        float cdf = 0.5f * (1.0f + erff (v * GELU_SQRT1_2));
        float pdf = expf (-0.5f * v * v) * GELU_PDF_SCALE;
        dx[i] += dy[i] * (cdf + v * pdf);
      }
}

static void
gelu_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, gelu_kernel);
}

static void
gelu_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, gelu_backward_kernel, FALSE);
}

/* Gelu is opset 20.  Exact: y = x (1 + erf(x / sqrt 2)) / 2, the nodes
 * torch.onnx writes (Div, Erf, Add, Mul, Mul).  Tanh form:
 * y = x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2. */
static const char *
gelu_node (HoneOnnxWriter *w, const HoneNode *node, const char *op, const char *a, const char *b,
           const char *out)
{
  g_autofree char *base = g_strdup_printf ("%s.%s", node->name, op);
  if (!out)
    out = hone_onnx_writer_fresh (w, base);
  const char *in[2] = { a, b };
  hone_onnx_writer_add_node (w, op, base, in, b ? 2 : 1, &out, 1);
  return out;
}

static gboolean
gelu_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const GeluAttrs *a = node->attrs;
  const char *x = hone_onnx_writer_input (w, node, 0);
  const char *y = hone_onnx_writer_output (w, node, 0);
  const char *t;
  if (a->tanh_approx)
    {
      const char *x2 = gelu_node (w, node, "Mul", x, x, NULL);
      const char *x3 = gelu_node (w, node, "Mul", x2, x, NULL);
      const char *k = gelu_node (w, node, "Mul", x3, hone_onnx_writer_scalar (w, GELU_KAPPA), NULL);
      const char *inner = gelu_node (w, node, "Add", x, k, NULL);
      const char *scaled = gelu_node (w, node, "Mul", inner, hone_onnx_writer_scalar (w, GELU_BETA), NULL);
      t = gelu_node (w, node, "Tanh", scaled, NULL, NULL);
    }
  else
    {
      const char *d = gelu_node (w, node, "Div", x, hone_onnx_writer_scalar (w, (float) G_SQRT2), NULL);
      t = gelu_node (w, node, "Erf", d, NULL, NULL);
    }
  const char *one = gelu_node (w, node, "Add", t, hone_onnx_writer_scalar (w, 1.0f), NULL);
  const char *prod = gelu_node (w, node, "Mul", x, one, NULL);
  gelu_node (w, node, "Mul", prod, hone_onnx_writer_scalar (w, 0.5f), y);
  return TRUE;
}

const HoneOpClass hone_op_gelu = {
  .name = "Gelu",
  .keep_inputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = gelu_forward,
  .backward = gelu_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = gelu_to_onnx,
};

int
hone_graph_gelu (HoneGraph *g, const char *name, int x, gboolean tanh_approx, GError **error)
{
  GeluAttrs attrs = { !!tanh_approx };
  return hone_graph_add_node (g, &hone_op_gelu, hone_op_attrs_dup (&attrs), name, &x, 1, 1, NULL,
                              error);
}
