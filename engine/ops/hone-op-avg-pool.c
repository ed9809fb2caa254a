/* hone-op-avg-pool.c: AveragePool on (N, C, H, W) with ONNX semantics:
 * kernel, stride, asymmetric pads, ceil_mode and count_include_pad
 * (https://onnx.ai/onnx/operators/onnx__AveragePool.html), computed as
 * PyTorch's avg_pool2d does: a window is first clipped to the padded input
 * (which only matters for the extra windows of ceil_mode), and then
 *   count_include_pad  divides by the clipped window's size, padding
 *                      included;
 *   otherwise          divides by the number of input elements it covers.
 * (PyTorch: aten/src/ATen/native/cpu/AvgPoolKernel.cpp.)
 *
 * Backward needs only the shapes, so nothing is kept.
 *
 * Not here: dilation (ONNX opset 19), divisor_override. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  HoneWindowAxis ah, aw;
  int64_t Ho, Wo;
  gboolean count_include_pad;
  float *y;                 /* (N, C, Ho, Wo) */
  float *dx;                /* (N, C, H, W) */
  const float *x;           /* (N, C, H, W) */
  const float *dy;          /* (N, C, Ho, Wo) */
} AvgPoolArgs;

/* Window o along an axis: the input range [*i0, *i1) it covers and the
 * size of the window clipped to the padded input. */
static inline int64_t
avg_window (const HoneWindowAxis *a, int64_t o, int64_t *i0, int64_t *i1)
{
  int64_t start = o * a->stride - a->pad_begin;
  int64_t stop = MIN (start + a->kernel, a->in + a->pad_end);
  int64_t size = stop - start;
  *i0 = MAX (start, 0);
  *i1 = MIN (stop, a->in);
  return size;
}

static gboolean
avg_pool_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  return hone_pool_infer_shape (node, in, out, FALSE, error);
}

static double
avg_pool_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  const HonePoolAttrs *a = node->attrs;
  return (double) hone_shape_numel (&out[0]) * a->kernel[0] * a->kernel[1];
}

static void
avg_pool_args_init (AvgPoolArgs *a, const HoneOpCtx *ctx)
{
  const HonePoolAttrs *attrs = ctx->attrs;
  hone_pool_axes (attrs, &ctx->in[0].shape, FALSE, &a->ah, &a->aw);
  a->Ho = ctx->out[0].shape.d[2];
  a->Wo = ctx->out[0].shape.d[3];
  a->count_include_pad = attrs->count_include_pad;
}

static void
avg_pool_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const AvgPoolArgs *a = data;
  int64_t W = a->aw.in, HW = a->ah.in * W, Wo = a->Wo, HWo = a->Ho * Wo;
  for (int64_t t = begin; t < end; t++)
    {
      const float *restrict xp = a->x + t * HW;
      float *restrict yp = a->y + t * HWo;
      for (int64_t oh = 0; oh < a->Ho; oh++)
        {
          int64_t ih0, ih1;
          int64_t size_h = avg_window (&a->ah, oh, &ih0, &ih1);
          for (int64_t ow = 0; ow < Wo; ow++)
            {
              int64_t iw0, iw1;
              int64_t size_w = avg_window (&a->aw, ow, &iw0, &iw1);
              float sum = 0.0f;
              for (int64_t ih = ih0; ih < ih1; ih++)
                for (int64_t iw = iw0; iw < iw1; iw++)
                  sum += xp[ih * W + iw];
              int64_t div = a->count_include_pad ? size_h * size_w : (ih1 - ih0) * (iw1 - iw0);
              yp[oh * Wo + ow] = sum / (float) div;
            }
        }
    }
}

static void
avg_pool_forward (const HoneOpCtx *ctx)
{
  AvgPoolArgs a = {
    .y = ctx->out[0].data,
    .x = ctx->in[0].data,
  };
  avg_pool_args_init (&a, ctx);
  int64_t planes = ctx->out[0].shape.d[0] * ctx->out[0].shape.d[1];
  hone_parallel_for (planes, MAX (1, 4096 / (a.Ho * a.Wo)), avg_pool_forward_task, &a);
}

static void
avg_pool_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const AvgPoolArgs *a = data;
  int64_t W = a->aw.in, HW = a->ah.in * W, Wo = a->Wo, HWo = a->Ho * Wo;
  for (int64_t t = begin; t < end; t++)
    {
      float *restrict dxp = a->dx + t * HW;
      const float *restrict dyp = a->dy + t * HWo;
      for (int64_t oh = 0; oh < a->Ho; oh++)
        {
          int64_t ih0, ih1;
          int64_t size_h = avg_window (&a->ah, oh, &ih0, &ih1);
          for (int64_t ow = 0; ow < Wo; ow++)
            {
              int64_t iw0, iw1;
              int64_t size_w = avg_window (&a->aw, ow, &iw0, &iw1);
              int64_t div = a->count_include_pad ? size_h * size_w : (ih1 - ih0) * (iw1 - iw0);
              float g = dyp[oh * Wo + ow] / (float) div;
              for (int64_t ih = ih0; ih < ih1; ih++)
                for (int64_t iw = iw0; iw < iw1; iw++)
                  dxp[ih * W + iw] += g;
            }
        }
    }
}

static void
avg_pool_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  AvgPoolArgs a = {
    .dx = ctx->din[0].data,
    .dy = ctx->dout[0].data,
  };
  avg_pool_args_init (&a, ctx);
  int64_t planes = ctx->out[0].shape.d[0] * ctx->out[0].shape.d[1];
  hone_parallel_for (planes, MAX (1, 4096 / (a.Ho * a.Wo)), avg_pool_backward_task, &a);
}

/* Padding that counts in the average is written as an explicit zero Pad
 * before an unpadded AveragePool: the divisor is then the window clipped
 * to the padded input, which is PyTorch's rule also with ceil_mode (ONNX's
 * count_include_pad differs there), and readers that ignore
 * count_include_pad (OpenCV 4.6) still compute it. */
static gboolean
avg_pool_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HonePoolAttrs *a = node->attrs;
  const char *x = hone_onnx_writer_input (w, node, 0);
  const char *y = hone_onnx_writer_output (w, node, 0);
  gboolean padded = a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3];
  int64_t pads[4] = { a->pad[0], a->pad[1], a->pad[2], a->pad[3] };
  if (padded && a->count_include_pad)
    {
      g_autofree char *pad_name = g_strconcat (node->name, ".pad", NULL);
      g_autofree char *pads_name = g_strconcat (node->name, ".pads", NULL);
      /* (N, C, H, W): begin of every axis, then end */
      const int64_t all[8] = { 0, 0, a->pad[0], a->pad[1], 0, 0, a->pad[2], a->pad[3] };
      const char *in[2] = { x, hone_onnx_writer_add_int64 (w, pads_name, (const int64_t[]) { 8 }, 1, all) };
      const char *out = hone_onnx_writer_fresh (w, pad_name);
      hone_onnx_writer_add_node (w, "Pad", pad_name, in, 2, &out, 1);
      x = out;
      memset (pads, 0, sizeof pads);
    }
  Onnx__NodeProto *n = hone_onnx_writer_add_node (w, "AveragePool", node->name, &x, 1, &y, 1);
  hone_onnx_node_set_ints (w, n, "kernel_shape", (const int64_t[]) { a->kernel[0], a->kernel[1] }, 2);
  hone_onnx_node_set_ints (w, n, "strides", (const int64_t[]) { a->stride[0], a->stride[1] }, 2);
  hone_onnx_node_set_ints (w, n, "pads", pads, 4);
  if (a->ceil_mode)
    hone_onnx_node_set_int (w, n, "ceil_mode", 1);
  return TRUE;
}

const HoneOpClass hone_op_avg_pool = {
  .name = "AveragePool",
  /* Backward needs only the shapes. */
  .infer_shape = avg_pool_infer_shape,
  .forward = avg_pool_forward,
  .backward = avg_pool_backward,
  .flops = avg_pool_flops,
  .to_onnx = avg_pool_to_onnx,
};

int
hone_graph_avg_pool (HoneGraph *g, const char *name, int x, const HonePoolAttrs *attrs, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && attrs != NULL, -1);
  return hone_graph_add_node (g, &hone_op_avg_pool, hone_op_attrs_dup (attrs), name, &x, 1, 1,
                              NULL, error);
}
