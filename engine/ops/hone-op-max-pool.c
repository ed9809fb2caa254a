/* hone-op-max-pool.c: MaxPool on (N, C, H, W) with ONNX semantics: kernel,
 * stride, asymmetric pads, dilation and ceil_mode
 * (https://onnx.ai/onnx/operators/onnx__MaxPool.html), matching PyTorch's
 * max_pool2d: padding never wins, ties go to the first maximum in row-major
 * window order, and NaN propagates.
 *
 * Forward saves the index (within its plane) of every output's maximum in
 * ctx->saved, so backward reads neither the input nor the output.  The
 * common 2x2 stride-2 unpadded pool has its own four-lane kernel with the
 * same comparisons.
 *
 * Not here: the optional Indices output of ONNX MaxPool, storage_order. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

/* Picks 4 lanes of the 8 in (a, b): GCC's builtin, or clang's (the fuzz
 * build, -Dfuzz=true, compiles the engine with clang). */
#if defined (__clang__)
#define HONE_SHUFFLE2(a, b, i, j, k, l) __builtin_shufflevector (a, b, i, j, k, l)
#else
#define HONE_SHUFFLE2(a, b, i, j, k, l) __builtin_shuffle (a, b, (HoneI4) { i, j, k, l })
#endif

typedef struct
{
  HoneWindowAxis ah, aw;
  int64_t Ho, Wo;
  float *y;                 /* (N, C, Ho, Wo) */
  float *dx;                /* (N, C, H, W) */
  gboolean dx_fresh;        /* backward: dx holds garbage, zero each plane first */
  gint32 *idx;              /* (N, C, Ho, Wo): index into the (H, W) plane, or NULL */
  const float *x;           /* (N, C, H, W) */
  const float *dy;          /* (N, C, Ho, Wo) */
} MaxPoolArgs;

static gboolean
max_pool_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  return hone_pool_infer_shape (node, in, out, TRUE, error);
}

static double
max_pool_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  const HonePoolAttrs *a = node->attrs;
  return (double) hone_shape_numel (&out[0]) * a->kernel[0] * a->kernel[1];
}

static gsize
max_pool_saved_size (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return (gsize) hone_shape_numel (&out[0]) * sizeof (gint32);
}

static void
max_pool_args_init (MaxPoolArgs *a, const HoneOpCtx *ctx)
{
  hone_pool_axes (ctx->attrs, &ctx->in[0].shape, TRUE, &a->ah, &a->aw);
  a->Ho = ctx->out[0].shape.d[2];
  a->Wo = ctx->out[0].shape.d[3];
}

typedef gint32 HoneI4 __attribute__ ((vector_size (16)));

/* Whether the pool is 2x2 with stride 2 and no padding or dilation, every
 * window inside the input: the usual downsampling, which has its own
 * kernel. */
static gboolean
max_pool_is_2x2 (const MaxPoolArgs *a)
{
  const HoneWindowAxis *ah = &a->ah, *aw = &a->aw;
  return ah->kernel == 2 && aw->kernel == 2 && ah->stride == 2 && aw->stride == 2
         && ah->dilation == 1 && aw->dilation == 1 && ah->pad_begin == 0 && aw->pad_begin == 0
         && 2 * a->Ho <= ah->in && 2 * a->Wo <= aw->in;
}

/* One output of a 2x2 window whose rows start at r0 and r1 (input index
 * i0 of r0[0]), with the general kernel's rule: taps in row-major order,
 * a later one wins when greater or NaN. */
static inline void
max_pool_2x2_one (float *y, gint32 *idx, const float *r0, const float *r1, int64_t i0, int64_t W)
{
  float best = r0[0];
  int64_t bi = i0;
  if (r0[1] > best || isnan (r0[1]))
    best = r0[1], bi = i0 + 1;
  if (r1[0] > best || isnan (r1[0]))
    best = r1[0], bi = i0 + W;
  if (r1[1] > best || isnan (r1[1]))
    best = r1[1], bi = i0 + W + 1;
  *y = best;
  if (idx)
    *idx = (gint32) bi;
}

/* The 2x2 stride-2 kernel on planes [begin, end): four outputs at a time
 * from two rows split into even and odd columns, the same comparisons as
 * max_pool_2x2_one done with lane masks. */
static void
max_pool_2x2_task (int64_t begin, int64_t end, gpointer data)
{
  const MaxPoolArgs *a = data;
  int64_t H = a->ah.in, W = a->aw.in, Ho = a->Ho, Wo = a->Wo;
  for (int64_t t = begin; t < end; t++)
    {
      const float *restrict xp = a->x + t * H * W;
      float *restrict yp = a->y + t * Ho * Wo;
      gint32 *restrict ip = a->idx ? a->idx + t * Ho * Wo : NULL;
      for (int64_t oh = 0; oh < Ho; oh++)
        {
          const float *r0 = xp + 2 * oh * W, *r1 = r0 + W;
          float *yr = yp + oh * Wo;
          gint32 *ir = ip ? ip + oh * Wo : NULL;
          int64_t ow = 0;
          for (; ow + 4 <= Wo; ow += 4)
            {
              HoneF4 a0 = hone_f4_load (r0 + 2 * ow), a1 = hone_f4_load (r0 + 2 * ow + 4);
              HoneF4 b0 = hone_f4_load (r1 + 2 * ow), b1 = hone_f4_load (r1 + 2 * ow + 4);
              HoneF4 v[4] = {
                HONE_SHUFFLE2 (a0, a1, 0, 2, 4, 6),
                HONE_SHUFFLE2 (a0, a1, 1, 3, 5, 7),
                HONE_SHUFFLE2 (b0, b1, 0, 2, 4, 6),
                HONE_SHUFFLE2 (b0, b1, 1, 3, 5, 7),
              };
              gint32 i0 = (gint32) (2 * oh * W + 2 * ow);
              HoneI4 tap[4] = { { 0, 2, 4, 6 }, { 1, 3, 5, 7 } };
              tap[2] = tap[0] + (gint32) W;
              tap[3] = tap[1] + (gint32) W;
              HoneF4 best = v[0];
              HoneI4 bi = tap[0];
              for (int k = 1; k < 4; k++)
                {
                  HoneI4 take = (v[k] > best) | (v[k] != v[k]);
                  best = (HoneF4) (((HoneI4) v[k] & take) | ((HoneI4) best & ~take));
                  bi = (tap[k] & take) | (bi & ~take);
                }
              hone_f4_store (yr + ow, best);
              if (ir)
                {
                  bi += i0;
                  memcpy (ir + ow, &bi, sizeof bi);
                }
            }
          for (; ow < Wo; ow++)
            max_pool_2x2_one (yr + ow, ir ? ir + ow : NULL, r0 + 2 * ow, r1 + 2 * ow,
                              2 * oh * W + 2 * ow, W);
        }
    }
}

/* Outputs [ow_a, ow_b) of one output row whose windows lie inside the
 * input along the width (every column tap valid), tap rows [i0, i1):
 * the taps in row-major order, each over the whole run of outputs, with
 * the rule of the per-output loop below.  `row0` is the input index of
 * tap row 0, column tap 0 of output 0.  Inlined with a constant stride,
 * which the compiler vectorises. */
static inline __attribute__ ((always_inline)) void
max_pool_row_run (float *restrict yr, gint32 *restrict ir, const float *restrict xp,
                  int64_t row0, int64_t W, int64_t dh, int64_t dw, int64_t i0, int64_t i1,
                  int64_t kW, int64_t ow_a, int64_t ow_b, const int64_t sw)
{
  for (int64_t i = i0; i < i1; i++)
    for (int64_t j = 0; j < kW; j++)
      {
        int64_t base = row0 + i * dh * W + j * dw;
        const float *restrict src = xp + base;
        if (i == i0 && j == 0)
          {
            for (int64_t ow = ow_a; ow < ow_b; ow++)
              {
                yr[ow] = src[ow * sw];
                ir[ow] = (gint32) (base + ow * sw);
              }
            continue;
          }
        for (int64_t ow = ow_a; ow < ow_b; ow++)
          {
            float v = src[ow * sw], best = yr[ow];
            gboolean take = v > best || v != v;
            yr[ow] = take ? v : best;
            ir[ow] = take ? (gint32) (base + ow * sw) : ir[ow];
          }
      }
}

/* One (sample, channel) plane per task. */
HONE_VEC_CLONES static void
max_pool_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const MaxPoolArgs *a = data;
  int64_t H = a->ah.in, W = a->aw.in, Ho = a->Ho, Wo = a->Wo;
  int64_t dh = a->ah.dilation, dw = a->aw.dilation;
  int64_t *j0 = g_newa (int64_t, Wo), *j1 = g_newa (int64_t, Wo);
  for (int64_t ow = 0; ow < Wo; ow++)
    hone_window_taps (&a->aw, ow, &j0[ow], &j1[ow]);
  /* Outputs whose windows are inside the input along the width, for the
   * row runs (strides 1 and 2, the ones CNNs use). */
  int64_t sw = a->aw.stride, ow_a = 0, ow_b = 0;
  if (sw <= 2)
    {
      while (ow_a < Wo && (j0[ow_a] != 0 || j1[ow_a] != a->aw.kernel))
        ow_a++;
      ow_b = ow_a;
      while (ow_b < Wo && j0[ow_b] == 0 && j1[ow_b] == a->aw.kernel)
        ow_b++;
    }
  gint32 *scratch = g_newa (gint32, Wo);

  for (int64_t t = begin; t < end; t++)
    {
      const float *restrict xp = a->x + t * H * W;
      float *restrict yp = a->y + t * Ho * Wo;
      gint32 *restrict ip = a->idx ? a->idx + t * Ho * Wo : NULL;
      for (int64_t oh = 0; oh < Ho; oh++)
        {
          int64_t i0, i1;
          hone_window_taps (&a->ah, oh, &i0, &i1);
          int64_t ih0 = oh * a->ah.stride - a->ah.pad_begin;
          if (ow_b > ow_a)
            {
              int64_t row0 = ih0 * W - a->aw.pad_begin;
              gint32 *ir = ip ? ip + oh * Wo : scratch;
              if (sw == 1)
                max_pool_row_run (yp + oh * Wo, ir, xp, row0, W, dh, dw, i0, i1, a->aw.kernel,
                                  ow_a, ow_b, 1);
              else
                max_pool_row_run (yp + oh * Wo, ir, xp, row0, W, dh, dw, i0, i1, a->aw.kernel,
                                  ow_a, ow_b, 2);
            }
          for (int64_t ow = 0; ow < Wo; ow++)
            {
              if (ow == ow_a && ow_b > ow_a)
                {
                  ow = ow_b - 1;
                  continue;
                }
              int64_t iw0 = ow * a->aw.stride - a->aw.pad_begin;
              /* PyTorch (cpu_max_pool): start at the first tap inside the
               * input, replace on val > max or NaN. */
              int64_t best_i = (ih0 + i0 * dh) * W + iw0 + j0[ow] * dw;
              float best = -INFINITY;
              for (int64_t i = i0; i < i1; i++)
                {
                  int64_t row = (ih0 + i * dh) * W + iw0;
                  for (int64_t j = j0[ow]; j < j1[ow]; j++)
                    {
                      float v = xp[row + j * dw];
                      if (v > best || isnan (v))
                        {
                          best = v;
                          best_i = row + j * dw;
                        }
                    }
                }
              yp[oh * Wo + ow] = best;
              if (ip)
                ip[oh * Wo + ow] = (gint32) best_i;
            }
        }
    }
}

static void
max_pool_forward (const HoneOpCtx *ctx)
{
  MaxPoolArgs a = {
    .y = ctx->out[0].data,
    .x = ctx->in[0].data,
  };
  max_pool_args_init (&a, ctx);
  if (ctx->saved)
    {
      g_assert (ctx->saved_size >= (gsize) hone_tensor_numel (&ctx->out[0]) * sizeof (gint32));
      a.idx = ctx->saved;
    }
  int64_t planes = ctx->out[0].shape.d[0] * ctx->out[0].shape.d[1];
  hone_parallel_for (planes, MAX (1, 4096 / (a.Ho * a.Wo)),
                     max_pool_is_2x2 (&a) ? max_pool_2x2_task : max_pool_forward_task, &a);
}

/* One plane per task: each output's gradient goes to its maximum.  A
 * fresh plane is zeroed just before, while it goes into cache anyway. */
static void
max_pool_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const MaxPoolArgs *a = data;
  int64_t HW = a->ah.in * a->aw.in, HWo = a->Ho * a->Wo;
  for (int64_t t = begin; t < end; t++)
    {
      float *restrict dxp = a->dx + t * HW;
      const float *restrict dyp = a->dy + t * HWo;
      const gint32 *restrict ip = a->idx + t * HWo;
      if (a->dx_fresh)
        memset (dxp, 0, (gsize) HW * sizeof (float));
      for (int64_t k = 0; k < HWo; k++)
        dxp[ip[k]] += dyp[k];
    }
}

static void
max_pool_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  g_assert (ctx->saved != NULL);
  MaxPoolArgs a = {
    .dx = ctx->din[0].data,
    .dx_fresh = (ctx->din_fresh & 1u) != 0,
    .dy = ctx->dout[0].data,
    .idx = ctx->saved,
  };
  max_pool_args_init (&a, ctx);
  int64_t planes = ctx->out[0].shape.d[0] * ctx->out[0].shape.d[1];
  hone_parallel_for (planes, MAX (1, 8192 / (a.Ho * a.Wo)), max_pool_backward_task, &a);
}

/* Default attributes (dilations 1, ceil_mode 0) are left out: older
 * readers such as OpenCV's do not all know them. */
static gboolean
max_pool_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HonePoolAttrs *a = node->attrs;
  Onnx__NodeProto *n = hone_onnx_writer_add_simple (w, node, "MaxPool");
  hone_onnx_node_set_ints (w, n, "kernel_shape", (const int64_t[]) { a->kernel[0], a->kernel[1] }, 2);
  hone_onnx_node_set_ints (w, n, "strides", (const int64_t[]) { a->stride[0], a->stride[1] }, 2);
  hone_onnx_node_set_ints (w, n, "pads", (const int64_t[]) { a->pad[0], a->pad[1], a->pad[2], a->pad[3] }, 4);
  if (a->dilation[0] > 1 || a->dilation[1] > 1)
    hone_onnx_node_set_ints (w, n, "dilations", (const int64_t[]) { a->dilation[0], a->dilation[1] }, 2);
  if (a->ceil_mode)
    hone_onnx_node_set_int (w, n, "ceil_mode", 1);
  return TRUE;
}

const HoneOpClass hone_op_max_pool = {
  .name = "MaxPool",
  /* Backward reads only the saved indices. */
  .din_store = 1u << 0,
  .infer_shape = max_pool_infer_shape,
  .forward = max_pool_forward,
  .backward = max_pool_backward,
  .flops = max_pool_flops,
  .saved_size = max_pool_saved_size,
  .to_onnx = max_pool_to_onnx,
};

int
hone_graph_max_pool (HoneGraph *g, const char *name, int x, const HonePoolAttrs *attrs, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && attrs != NULL, -1);
  return hone_graph_add_node (g, &hone_op_max_pool, hone_op_attrs_dup (attrs), name, &x, 1, 1,
                              NULL, error);
}
