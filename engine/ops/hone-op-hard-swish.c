/* hone-op-hard-swish.c: HardSwish, y = x relu6(x + 3) / 6 (ONNX HardSwish,
 * torch.nn.Hardswish).
 *
 * The gradient follows PyTorch's hardswish_backward at the kinks: 0 below
 * -3, x / 3 + 1/2 on [-3, 3] (both ends included, so -1/2 at -3 and 3/2 at
 * 3), 1 above 3.  It needs x, so backward keeps the input. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

static void
hard_swish_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    {
      float r = x[i] + 3.0f;
      r = r < 0.0f ? 0.0f : r;
      r = r > 6.0f ? 6.0f : r;
      y[i] = x[i] * r / 6.0f;
    }
}

static void
hard_swish_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict x,
                            int64_t n, gconstpointer attrs)
{
  for (int64_t i = 0; i < n; i++)
    {
      float d = x[i] < -3.0f ? 0.0f : x[i] <= 3.0f ? x[i] / 3.0f + 0.5f : 1.0f;
      dx[i] += dy[i] * d;
    }
}

static void
hard_swish_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, hard_swish_kernel);
}

static void
hard_swish_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, hard_swish_backward_kernel, FALSE);
}

/* HardSwish is opset 14: y = x HardSigmoid(x) with alpha 1/6, beta 0.5
 * (x relu6(x + 3) / 6, PyTorch's Hardswish). */
static gboolean
hard_swish_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const char *x = hone_onnx_writer_input (w, node, 0);
  g_autofree char *base = g_strconcat (node->name, ".hardsigmoid", NULL);
  const char *s = hone_onnx_writer_fresh (w, base);
  Onnx__NodeProto *n = hone_onnx_writer_add_node (w, "HardSigmoid", base, &x, 1, &s, 1);
  hone_onnx_node_set_float (w, n, "alpha", 1.0f / 6.0f);
  hone_onnx_node_set_float (w, n, "beta", 0.5f);
  const char *in[2] = { x, s };
  const char *y = hone_onnx_writer_output (w, node, 0);
  hone_onnx_writer_add_node (w, "Mul", node->name, in, 2, &y, 1);
  return TRUE;
}

const HoneOpClass hone_op_hard_swish = {
  .name = "HardSwish",
  .keep_inputs = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = hard_swish_forward,
  .backward = hard_swish_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hard_swish_to_onnx,
};

int
hone_graph_hard_swish (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_hard_swish, NULL, name, &x, 1, 1, NULL, error);
}
