/* hone-op-hard-sigmoid.c: HardSigmoid, y = max(0, min(1, alpha x + beta)).
 *
 * ONNX HardSigmoid; PyTorch's nn.Hardsigmoid is alpha 1/6, beta 0.5, and its
 * gradient is alpha where 0 < alpha x + beta < 1 (strictly; zero at the
 * kinks, as torch's hardsigmoid_backward).  That region is exactly where the
 * output lies strictly inside (0, 1), so backward reads the output, which
 * the following Mul of a squeeze-excitation block keeps anyway. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  float alpha;
  float beta;
} HardSigmoidAttrs;

static gboolean
hard_sigmoid_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const HardSigmoidAttrs *attrs = node->attrs;
  if (!isfinite (attrs->alpha) || !isfinite (attrs->beta))
    {
      hone_op_set_attr_error (error, node, "alpha %g and beta %g must be finite numbers",
                              attrs->alpha, attrs->beta);
      return FALSE;
    }
  return hone_op_infer_same_shape (node, in, out, error);
}

static void
hard_sigmoid_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer data)
{
  const HardSigmoidAttrs *attrs = data;
  const float alpha = attrs->alpha, beta = attrs->beta;
  for (int64_t i = 0; i < n; i++)
    {
      float v = alpha * x[i] + beta;
      v = v < 0.0f ? 0.0f : v;
      y[i] = v > 1.0f ? 1.0f : v;
    }
}

static void
hard_sigmoid_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict y,
                              int64_t n, gconstpointer data)
{
  const HardSigmoidAttrs *attrs = data;
  const float alpha = attrs->alpha;
  for (int64_t i = 0; i < n; i++)
    dx[i] += (y[i] > 0.0f && y[i] < 1.0f) ? alpha * dy[i] : 0.0f;
}

static void
hard_sigmoid_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, hard_sigmoid_kernel);
}

static void
hard_sigmoid_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, hard_sigmoid_backward_kernel, TRUE);
}

static gboolean
hard_sigmoid_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HardSigmoidAttrs *a = node->attrs;
  Onnx__NodeProto *n = hone_onnx_writer_add_simple (w, node, "HardSigmoid");
  hone_onnx_node_set_float (w, n, "alpha", a->alpha);
  hone_onnx_node_set_float (w, n, "beta", a->beta);
  return TRUE;
}

const HoneOpClass hone_op_hard_sigmoid = {
  .name = "HardSigmoid",
  .keep_outputs = 1u << 0,
  .infer_shape = hard_sigmoid_infer_shape,
  .forward = hard_sigmoid_forward,
  .backward = hard_sigmoid_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hard_sigmoid_to_onnx,
};

int
hone_graph_hard_sigmoid (HoneGraph *g, const char *name, int x, float alpha, float beta,
                         GError **error)
{
  HardSigmoidAttrs attrs = { alpha, beta };
  return hone_graph_add_node (g, &hone_op_hard_sigmoid, hone_op_attrs_dup (&attrs), name, &x, 1, 1,
                              NULL, error);
}
