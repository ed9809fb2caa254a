/* hone-op-silu.c: SiLU (swish), y = x sigmoid(x).
 *
 * torch.nn.SiLU; ONNX has no SiLU (exporters write Sigmoid + Mul, which the
 * importer may fuse into this node).  The derivative,
 * sigma(x) (1 + x (1 - sigma(x))), needs x, so backward keeps the input. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

static inline float
stable_sigmoid (float x)
{
  float e = expf (-fabsf (x));
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

static void
silu_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i] * stable_sigmoid (x[i]);
}

static void
silu_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict x,
                      int64_t n, gconstpointer attrs)
{
  /* PyTorch silu_backward: dy * s * (1 + x (1 - s)). */
  for (int64_t i = 0; i < n; i++)
    {
      float s = stable_sigmoid (x[i]);
      dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

static void
silu_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, silu_kernel);
}

static void
silu_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, silu_backward_kernel, FALSE);
}

/* ONNX has no SiLU: y = x Sigmoid(x), as torch.onnx writes it. */
static gboolean
silu_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const char *x = hone_onnx_writer_input (w, node, 0);
  g_autofree char *base = g_strconcat (node->name, ".sigmoid", NULL);
  const char *s = hone_onnx_writer_fresh (w, base);
  hone_onnx_writer_add_node (w, "Sigmoid", base, &x, 1, &s, 1);
  const char *in[2] = { x, s };
  const char *y = hone_onnx_writer_output (w, node, 0);
  hone_onnx_writer_add_node (w, "Mul", node->name, in, 2, &y, 1);
  return TRUE;
}

const HoneOpClass hone_op_silu = {
  .name = "SiLU",
  .keep_inputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = silu_forward,
  .backward = silu_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = silu_to_onnx,
};

int
hone_graph_silu (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_silu, NULL, name, &x, 1, 1, NULL, error);
}
