/* hone-conv-private.h: window geometry and small vector loops shared by
 * Conv, BatchNormalization and the pooling ops, for op authors only.
 *
 * One spatial axis of a sliding window: input size, kernel taps, stride,
 * dilation and the padding before and after.  The output-size rule is
 * ONNX's (which is PyTorch's) with ceil_mode as PyTorch applies it: the
 * last window must start inside the input or the leading padding
 * (torch/nn/functional: pooling_output_shape; ONNX MaxPool spec). */
#pragma once

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "hone-ops.h"

G_BEGIN_DECLS

typedef struct
{
  int64_t in;          /* input size */
  int64_t kernel;      /* taps */
  int64_t stride;
  int64_t dilation;
  int64_t pad_begin;
  int64_t pad_end;
} HoneWindowAxis;

/* Extent of the dilated kernel: (kernel - 1) * dilation + 1. */
static inline int64_t
hone_window_extent (const HoneWindowAxis *a)
{
  return (a->kernel - 1) * a->dilation + 1;
}

/* Number of windows along the axis, or 0 when the dilated kernel does not
 * fit the padded input.  Arguments must already be validated (kernel,
 * stride, dilation >= 1, pads >= 0). */
static inline int64_t
hone_window_out_size (const HoneWindowAxis *a, gboolean ceil_mode)
{
  int64_t span = a->in + a->pad_begin + a->pad_end - hone_window_extent (a);
  if (span < 0)
    return 0;
  int64_t out = (ceil_mode ? (span + a->stride - 1) / a->stride : span / a->stride) + 1;
  /* PyTorch: "ensure that the last pooling starts inside the image". */
  if (ceil_mode && (out - 1) * a->stride >= a->in + a->pad_begin)
    out--;
  return out;
}

/* The taps k in [*k0, *k1) of window o that land inside the input:
 * 0 <= o * stride - pad_begin + k * dilation < in. */
static inline void
hone_window_taps (const HoneWindowAxis *a, int64_t o, int64_t *k0, int64_t *k1)
{
  int64_t start = o * a->stride - a->pad_begin;
  int64_t lo = 0, hi = a->kernel;
  if (start < 0)
    lo = (-start + a->dilation - 1) / a->dilation;
  if (start + (hi - 1) * a->dilation >= a->in)
    hi = start >= a->in ? 0 : (a->in - 1 - start) / a->dilation + 1;
  *k0 = lo;
  *k1 = MAX (lo, hi);
}

/* For a tap k, the outputs o in [*o0, *o1) (of n_out) whose input index
 * o * stride - pad_begin + k * dilation is inside [0, in). */
static inline void
hone_window_outputs_for_tap (const HoneWindowAxis *a, int64_t k, int64_t n_out,
                             int64_t *o0, int64_t *o1)
{
  int64_t off = k * a->dilation - a->pad_begin;   /* input index of window 0 */
  int64_t lo = off >= 0 ? 0 : (-off + a->stride - 1) / a->stride;
  int64_t hi = off >= a->in ? 0 : (a->in - 1 - off) / a->stride + 1;
  hi = MIN (hi, n_out);
  *o0 = MIN (lo, hi);
  *o1 = hi;
}

/* ---- pooling ------------------------------------------------------------- */

/* The two spatial axes of a pool on x (N, C, H, W). */
static inline void
hone_pool_axes (const HonePoolAttrs *a, const HoneShape *x, gboolean dilated,
                HoneWindowAxis *ah, HoneWindowAxis *aw)
{
  *ah = (HoneWindowAxis) { x->d[2], a->kernel[0], a->stride[0], dilated ? a->dilation[0] : 1,
                           a->pad[0], a->pad[2] };
  *aw = (HoneWindowAxis) { x->d[3], a->kernel[1], a->stride[1], dilated ? a->dilation[1] : 1,
                           a->pad[1], a->pad[3] };
}

/* infer_shape shared by MaxPool (dilated) and AveragePool: validates the
 * attributes, and refuses windows that cover only padding (PyTorch rules
 * them out by requiring pads of at most half the kernel). */
static inline gboolean
hone_pool_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out,
                       gboolean dilated, GError **error)
{
  const HonePoolAttrs *a = node->attrs;
  char buf[128];

  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (a->kernel[0] < 1 || a->kernel[1] < 1)
    {
      hone_op_set_attr_error (error, node, "kernel (%d, %d) must be at least 1 in each dimension",
                              a->kernel[0], a->kernel[1]);
      return FALSE;
    }
  if (a->stride[0] < 1 || a->stride[1] < 1)
    {
      hone_op_set_attr_error (error, node, "strides (%d, %d) must be at least 1",
                              a->stride[0], a->stride[1]);
      return FALSE;
    }
  if (dilated && (a->dilation[0] < 1 || a->dilation[1] < 1))
    {
      hone_op_set_attr_error (error, node, "dilations (%d, %d) must be at least 1",
                              a->dilation[0], a->dilation[1]);
      return FALSE;
    }
  if (!dilated && (a->dilation[0] > 1 || a->dilation[1] > 1 || a->dilation[0] < 0 || a->dilation[1] < 0))
    {
      hone_op_set_attr_error (error, node, "dilations (%d, %d) are not supported; use 1",
                              a->dilation[0], a->dilation[1]);
      return FALSE;
    }
  if (a->pad[0] < 0 || a->pad[1] < 0 || a->pad[2] < 0 || a->pad[3] < 0)
    {
      hone_op_set_attr_error (error, node, "pads (%d, %d, %d, %d) must not be negative",
                              a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
      return FALSE;
    }
  if (in[0].rank != 4 || in[0].d[1] < 1)
    {
      hone_op_set_shape_error (error, node, "input has shape %s; expected (N, C, H, W)",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }

  HoneWindowAxis ah, aw;
  hone_pool_axes (a, &in[0], dilated, &ah, &aw);
  int64_t Ho = hone_window_out_size (&ah, a->ceil_mode);
  int64_t Wo = hone_window_out_size (&aw, a->ceil_mode);
  if (Ho < 1 || Wo < 1)
    {
      hone_op_set_shape_error (error, node, "the %skernel (%" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                               ") is larger than the padded input (%" G_GINT64_FORMAT " x %"
                               G_GINT64_FORMAT ")", dilated ? "dilated " : "",
                               hone_window_extent (&ah), hone_window_extent (&aw),
                               ah.in + ah.pad_begin + ah.pad_end, aw.in + aw.pad_begin + aw.pad_end);
      return FALSE;
    }
  const HoneWindowAxis *axes[2] = { &ah, &aw };
  int64_t outs[2] = { Ho, Wo };
  for (int d = 0; d < 2; d++)
    for (int64_t o = 0; o < outs[d]; o++)
      {
        int64_t k0, k1;
        hone_window_taps (axes[d], o, &k0, &k1);
        if (k0 == k1)
          {
            hone_op_set_attr_error (error, node, "window %" G_GINT64_FORMAT " along the %s covers "
                                    "only padding; make the pads smaller than the kernel",
                                    o, d == 0 ? "height" : "width");
            return FALSE;
          }
      }
  if (in[0].d[2] * in[0].d[3] > G_MAXINT32)
    {
      hone_op_set_shape_error (error, node, "input plane %s is too large",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  out[0] = HONE_SHAPE (in[0].d[0], in[0].d[1], Ho, Wo);
  return TRUE;
}

/* ---- vector loops --------------------------------------------------------
 *
 * GCC 12 at -O2 vectorises a loop only when no scalar remainder is needed
 * (the "very-cheap" cost model), so plain loops over a run-time length stay
 * scalar.  These helpers run blocks of HONE_VEC_BLOCK elements, whose fixed
 * trip count the compiler turns into vector instructions at any width, and
 * finish the remainder one element at a time.  Reductions keep
 * HONE_VEC_BLOCK partial sums, which is also more accurate than one running
 * sum. */

#define HONE_VEC_BLOCK 16
#define HONE_VEC_TAIL 4

/* The baseline x86-64 build vectorises to SSE only.  Hot loops marked
 * HONE_VEC_CLONES are also compiled for AVX2 and AVX-512 (GCC function
 * multiversioning: an ifunc picks the clone when the program loads), which
 * roughly halves the time of the memory-bound loops that run in L1 and L2
 * on machines that have them.  Elsewhere the attribute is empty. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define HONE_VEC_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define HONE_VEC_CLONES
#endif

/* Four floats as one GNU C vector (an SSE register on baseline x86-64,
 * a NEON one on arm64), for kernels that must keep a block of accumulators
 * in registers across a run-time loop, which the auto-vectoriser does not
 * manage.  Loads and stores go through memcpy, so pointers need no
 * alignment. */
typedef float HoneF4 __attribute__ ((vector_size (16)));

static inline HoneF4
hone_f4_load (const float *p)
{
  HoneF4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
hone_f4_store (float *p, HoneF4 v)
{
  memcpy (p, &v, sizeof v);
}

static inline HoneF4
hone_f4_splat (float x)
{
  return (HoneF4) { x, x, x, x };
}

/* y[i] += a x[i] */
static inline void
hone_vec_axpy (float *restrict y, const float *restrict x, float a, int64_t n)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      y[i + l] += a * x[i + l];
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      y[i + l] += a * x[i + l];
  for (; i < n; i++)
    y[i] += a * x[i];
}

/* y[i] += x[i] */
static inline void
hone_vec_add (float *restrict y, const float *restrict x, int64_t n)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      y[i + l] += x[i + l];
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      y[i + l] += x[i + l];
  for (; i < n; i++)
    y[i] += x[i];
}

/* y[i] = a x[i] + b */
static inline void
hone_vec_affine (float *restrict y, const float *restrict x, float a, float b, int64_t n)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      y[i + l] = a * x[i + l] + b;
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      y[i + l] = a * x[i + l] + b;
  for (; i < n; i++)
    y[i] = a * x[i] + b;
}

/* y[i] = b */
static inline void
hone_vec_fill (float *restrict y, float b, int64_t n)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      y[i + l] = b;
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      y[i + l] = b;
  for (; i < n; i++)
    y[i] = b;
}

/* y[i] += b */
static inline void
hone_vec_add_scalar (float *restrict y, float b, int64_t n)
{
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      y[i + l] += b;
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      y[i + l] += b;
  for (; i < n; i++)
    y[i] += b;
}

/* sum x[i] */
static inline float
hone_vec_sum (const float *restrict x, int64_t n)
{
  float acc[HONE_VEC_BLOCK] = { 0 };
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      acc[l] += x[i + l];
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      acc[l] += x[i + l];
  float s = 0.0f;
  for (; i < n; i++)
    s += x[i];
  for (int l = 0; l < HONE_VEC_BLOCK; l++)
    s += acc[l];
  return s;
}

/* sum x[i] y[i] */
static inline float
hone_vec_dot (const float *restrict x, const float *restrict y, int64_t n)
{
  float acc[HONE_VEC_BLOCK] = { 0 };
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      acc[l] += x[i + l] * y[i + l];
  for (; i + HONE_VEC_TAIL <= n; i += HONE_VEC_TAIL)
    for (int l = 0; l < HONE_VEC_TAIL; l++)
      acc[l] += x[i + l] * y[i + l];
  float s = 0.0f;
  for (; i < n; i++)
    s += x[i] * y[i];
  for (int l = 0; l < HONE_VEC_BLOCK; l++)
    s += acc[l];
  return s;
}

G_END_DECLS
