/* hone-op-clip.c: Clip, y = min(max(x, min), max); ReLU6 is Clip 0..6.
 *
 * The gradient passes where min < x < max (strictly), as PyTorch's
 * hardtanh / relu6 backward does (torch.nn.Hardtanh); note torch.clamp
 * passes at the bounds too, but PyTorch models use Hardtanh and ReLU6.  Since
 * y is strictly inside (min, max) exactly when x is, backward reads the
 * output and the input's buffer can be reused.  ONNX Clip takes min and max
 * as inputs (opset 11+): the importer folds them into the two attributes.
 * Infinite bounds are allowed (a one-sided clip); NaN bounds and min > max
 * are refused. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  float min;
  float max;
} ClipAttrs;

static gboolean
clip_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const ClipAttrs *attrs = node->attrs;
  if (isnan (attrs->min) || isnan (attrs->max) || attrs->min > attrs->max)
    {
      hone_op_set_attr_error (error, node, "min %g and max %g must be numbers with min <= max",
                              attrs->min, attrs->max);
      return FALSE;
    }
  return hone_op_infer_same_shape (node, in, out, error);
}

static void
clip_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer data)
{
  const ClipAttrs *attrs = data;
  const float lo = attrs->min, hi = attrs->max;
  /* Comparisons rather than fminf/fmaxf so that NaN propagates, as in PyTorch. */
  for (int64_t i = 0; i < n; i++)
    {
      float v = x[i] < lo ? lo : x[i];
      y[i] = v > hi ? hi : v;
    }
}

static void
clip_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict y,
                      int64_t n, gconstpointer data)
{
  const ClipAttrs *attrs = data;
  const float lo = attrs->min, hi = attrs->max;
  for (int64_t i = 0; i < n; i++)
    dx[i] += (y[i] > lo && y[i] < hi) ? dy[i] : 0.0f;
}

static void
clip_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, clip_kernel);
}

static void
clip_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, clip_backward_kernel, TRUE);
}

/* Opset 11 and later take min and max as inputs, which OpenCV 4.6's dnn
 * module (Debian 12) refuses: it reads only the opset-6 form with
 * attributes.  So with two finite bounds (ReLU6, the common case) Clip is
 * written as min + (max - min) HardSigmoid(x) with alpha 1 / (max - min)
 * and beta -min / (max - min), which every reader runs and which equals
 * the clip up to rounding (relative 1e-7); otherwise as Clip with inputs,
 * an omitted bound "" (ONNX Operators.md, Clip-13 and HardSigmoid-6). */
static gboolean
clip_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const ClipAttrs *a = node->attrs;
  const char *x = hone_onnx_writer_input (w, node, 0);
  const char *y = hone_onnx_writer_output (w, node, 0);
  float range = a->max - a->min;
  if (!isfinite (a->min) || !isfinite (a->max) || !(range > 0.0f) || !isfinite (range))
    {
      const char *in[3] = {
        x,
        isinf (a->min) && a->min < 0 ? "" : hone_onnx_writer_scalar (w, a->min),
        isinf (a->max) && a->max > 0 ? "" : hone_onnx_writer_scalar (w, a->max),
      };
      hone_onnx_writer_add_node (w, "Clip", node->name, in, 3, &y, 1);
      return TRUE;
    }

  g_autofree char *hs_name = g_strconcat (node->name, ".hardsigmoid", NULL);
  g_autofree char *mul_name = g_strconcat (node->name, ".scale", NULL);
  const char *hs = hone_onnx_writer_fresh (w, hs_name);
  Onnx__NodeProto *n = hone_onnx_writer_add_node (w, "HardSigmoid", hs_name, &x, 1, &hs, 1);
  hone_onnx_node_set_float (w, n, "alpha", 1.0f / range);
  hone_onnx_node_set_float (w, n, "beta", -a->min / range);
  const char *scaled = a->min == 0.0f ? y : hone_onnx_writer_fresh (w, mul_name);
  const char *mul_in[2] = { hs, hone_onnx_writer_scalar (w, range) };
  hone_onnx_writer_add_node (w, "Mul", a->min == 0.0f ? node->name : mul_name, mul_in, 2, &scaled, 1);
  if (a->min != 0.0f)
    {
      const char *add_in[2] = { scaled, hone_onnx_writer_scalar (w, a->min) };
      hone_onnx_writer_add_node (w, "Add", node->name, add_in, 2, &y, 1);
    }
  return TRUE;
}

const HoneOpClass hone_op_clip = {
  .name = "Clip",
  .keep_outputs = 1u << 0,
  .infer_shape = clip_infer_shape,
  .forward = clip_forward,
  .backward = clip_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = clip_to_onnx,
};

int
hone_graph_clip (HoneGraph *g, const char *name, int x, float min, float max, GError **error)
{
  ClipAttrs attrs = { min, max };
  return hone_graph_add_node (g, &hone_op_clip, hone_op_attrs_dup (&attrs), name, &x, 1, 1, NULL,
                              error);
}
