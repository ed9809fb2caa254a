/* hone-op-leaky-relu.c: LeakyRelu, y = x for x >= 0, alpha x below (ONNX
 * LeakyRelu, default alpha 0.01; torch.nn.functional.leaky_relu).
 *
 * The gradient is dy where x > 0 and alpha dy elsewhere (x = 0 included),
 * as PyTorch's leaky_relu_backward.  Backward keeps the input: with alpha
 * zero or negative the output's sign does not tell which side x was on. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  float alpha;
} LeakyReluAttrs;

static gboolean
leaky_relu_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out,
                        GError **error)
{
  const LeakyReluAttrs *a = node->attrs;
  if (!isfinite (a->alpha))
    {
      hone_op_set_attr_error (error, node, "alpha %g must be a finite number", a->alpha);
      return FALSE;
    }
  return hone_op_infer_same_shape (node, in, out, error);
}

HONE_VEC_CLONES static void
leaky_relu_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer data)
{
  const float alpha = ((const LeakyReluAttrs *) data)->alpha;
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      {
        float v = x[i + l];
        y[i + l] = v < 0.0f ? alpha * v : v;
      }
  for (; i < n; i++)
    y[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
}

HONE_VEC_CLONES static void
leaky_relu_backward_kernel (float *restrict dx, const float *restrict dy,
                            const float *restrict x, int64_t n, gconstpointer data)
{
  const float alpha = ((const LeakyReluAttrs *) data)->alpha;
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      {
        float g = dy[i + l];
        dx[i + l] += x[i + l] > 0.0f ? g : alpha * g;
      }
  for (; i < n; i++)
    dx[i] += x[i] > 0.0f ? dy[i] : alpha * dy[i];
}

static void
leaky_relu_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, leaky_relu_kernel);
}

static void
leaky_relu_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, leaky_relu_backward_kernel, FALSE);
}

static gboolean
leaky_relu_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const LeakyReluAttrs *a = node->attrs;
  hone_onnx_node_set_float (w, hone_onnx_writer_add_simple (w, node, "LeakyRelu"), "alpha", a->alpha);
  return TRUE;
}

const HoneOpClass hone_op_leaky_relu = {
  .name = "LeakyRelu",
  .keep_inputs = 1u << 0,
  .infer_shape = leaky_relu_infer_shape,
  .forward = leaky_relu_forward,
  .backward = leaky_relu_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = leaky_relu_to_onnx,
};

int
hone_graph_leaky_relu (HoneGraph *g, const char *name, int x, float alpha, GError **error)
{
  LeakyReluAttrs attrs = { alpha };
  return hone_graph_add_node (g, &hone_op_leaky_relu, hone_op_attrs_dup (&attrs), name, &x, 1,
                              1, NULL, error);
}
