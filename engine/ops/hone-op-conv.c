/* hone-op-conv.c: Conv, 2-D convolution with ONNX semantics (stride,
 * asymmetric pads, dilation, groups, optional bias), forward and backward.
 *
 *   y[n, m, oh, ow] = b[m] + sum_{c, i, j} w[m, c, i, j]
 *                     * x[n, g*Cg + c, oh*sH - pt + i*dH, ow*sW - pl + j*dW]
 *
 * with g = m / (M / group), Cg = C / group, and x zero outside the input
 * (ONNX Conv: https://onnx.ai/onnx/operators/onnx__Conv.html; PyTorch
 * Conv2d: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).
 *
 * Three lowerings, chosen from the shapes alone:
 *   depthwise  one input channel per group (group == C, channel multiplier
 *              M / C): direct kernels, no GEMM; with stride 1 over a
 *              zero-padded copy of each plane with all taps fused.
 *   pointwise  1x1, stride 1, no padding, and planes of 256+ pixels: per
 *              sample y_n = W x_n straight on the NCHW input.  Smaller 1x1
 *              planes go through im2col, where "unfolding" is a transpose
 *              and the GEMM spans the whole chunk.
 *   im2col     everything else: a chunk of samples is unfolded into columns
 *              (C kH kW, n Ho Wo), one GEMM per group makes (M, n Ho Wo),
 *              which is scattered into NCHW with the bias.  Backward
 *              recomputes the columns (nothing is kept between forward and
 *              backward), dW += dY col^T, and dX += col2im (W^T dY).
 * With several threads the GEMM paths cut the batch into one slice per
 * thread, each unfolded, multiplied (single-threaded OpenBLAS) and
 * scattered on its own thread with its own part of the workspace: a small
 * convolution is many small GEMMs, between which OpenBLAS's threads would
 * spin.  With one thread, or a batch smaller than the thread count, GEMMs
 * run on OpenBLAS's threads and unfolding, scattering and the depthwise
 * kernels on hone_parallel_for.  The workspace (columns and a staging
 * buffer per slice) is bounded by processing the batch in chunks.
 *
 * Not here: Winograd/FFT, fused activations, 1-D/3-D convolution, auto_pad
 * (the ONNX importer turns it into explicit pads). */
#include "config.h"

#include <cblas.h>
#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

/* Upper bound on the im2col workspace of one chunk (columns plus
 * staging), in floats: 1 MB, about one core's L2, so that the columns are
 * still in L2 when OpenBLAS packs them.  Measured on cnn-s (3x3
 * convolutions from 28x28 to 7x7 planes, batch 64) at one thread, against
 * 0.5, 1.5, 4 and 8 MB: 4 and 8 MB took 7 % more CPU time per step,
 * 0.5 MB the same, ResNet-18 and MobileNetV2 at 64x64 and 96x96 no
 * different.  OpenBLAS still gets GEMMs of several hundred columns.  A
 * sample whose columns do not fit (224x224 inputs with 64 channels need
 * 115 MB) is unfolded a block of output rows at a time. */
#define CONV_WORKSPACE_FLOATS ((int64_t) 256 * 1024)

/* The pointwise path runs one GEMM per sample; below this many output
 * pixels per plane the GEMMs get too thin and the im2col path (a cheap
 * transpose for 1x1) with one wide GEMM per chunk wins. */
#define POINTWISE_MIN_PIXELS 256

typedef enum
{
  CONV_IM2COL,
  CONV_POINTWISE,
  CONV_DEPTHWISE,
} ConvPath;

typedef struct
{
  int64_t C, H, W;          /* input channels and plane */
  int64_t M, kH, kW;        /* output channels and kernel */
  int64_t Ho, Wo;           /* output plane */
  int64_t group, Cg, Mg;    /* groups, input / output channels per group */
  int64_t K;                /* column rows per group: Cg kH kW */
  HoneWindowAxis ah, aw;    /* geometry of the two spatial axes */
  ConvPath path;
} ConvGeom;

static const HoneConvAttrs conv_defaults = {
  .stride = { 1, 1 },
  .pad = { 0, 0, 0, 0 },
  .dilation = { 1, 1 },
  .group = 1,
};

/* Geometry from validated shapes: x (N, C, H, W), w (M, C/group, kH, kW). */
static void
conv_geom_init (ConvGeom *g, const HoneConvAttrs *a, const HoneShape *x, const HoneShape *w)
{
  g->C = x->d[1];
  g->H = x->d[2];
  g->W = x->d[3];
  g->M = w->d[0];
  g->kH = w->d[2];
  g->kW = w->d[3];
  g->group = a->group;
  g->Cg = g->C / a->group;
  g->Mg = g->M / a->group;
  g->K = g->Cg * g->kH * g->kW;
  g->ah = (HoneWindowAxis) { g->H, g->kH, a->stride[0], a->dilation[0], a->pad[0], a->pad[2] };
  g->aw = (HoneWindowAxis) { g->W, g->kW, a->stride[1], a->dilation[1], a->pad[1], a->pad[3] };
  g->Ho = hone_window_out_size (&g->ah, FALSE);
  g->Wo = hone_window_out_size (&g->aw, FALSE);
  if (g->Cg == 1 && g->group == g->C)
    g->path = CONV_DEPTHWISE;
  else if (g->kH == 1 && g->kW == 1 && a->stride[0] == 1 && a->stride[1] == 1
           && a->pad[0] == 0 && a->pad[1] == 0 && a->pad[2] == 0 && a->pad[3] == 0
           && g->Ho * g->Wo >= POINTWISE_MIN_PIXELS)
    g->path = CONV_POINTWISE;
  else
    g->path = CONV_IM2COL;
}

/* Floats of workspace one sample needs on the im2col path: its columns
 * (C kH kW, Ho Wo) and its staging rows (M, Ho Wo). */
static int64_t
conv_floats_per_sample (const ConvGeom *g)
{
  return (g->C * g->kH * g->kW + g->M) * g->Ho * g->Wo;
}

/* A chunk of the im2col path: `samples` whole samples, or, when one
 * sample's columns exceed the bound, one sample `rows` output rows at a
 * time (then the GEMM writes straight into y, so no staging). */
typedef struct
{
  int64_t samples;
  int64_t rows;
} ConvChunk;

/* Floats of workspace a chunk needs. */
static int64_t
conv_chunk_floats (const ConvGeom *g, ConvChunk ch)
{
  if (ch.rows < g->Ho)
    return g->C * g->kH * g->kW * ch.rows * g->Wo;
  return ch.samples * conv_floats_per_sample (g);
}

/* The chunk for a batch: as large as fits both the workspace bound and
 * the workspace actually there (ws_bytes), balanced so that the last one
 * is not a sliver. */
static ConvChunk
conv_chunk (const ConvGeom *g, int64_t batch, gsize ws_bytes)
{
  /* Where the weights outweigh the columns (ResNet's last stages: 512 x
   * 4608 weights, 2 x 2 planes), every chunk streams all of W and dW
   * through the GEMMs, and larger chunks amortise that. */
  int64_t bound = MAX (CONV_WORKSPACE_FLOATS, 2 * g->M * g->K);
  int64_t avail = (int64_t) MIN ((gsize) bound, ws_bytes / sizeof (float));
  int64_t per_sample = conv_floats_per_sample (g);
  ConvChunk ch = { 1, g->Ho };
  if (per_sample <= avail)
    {
      int64_t nc = MIN (avail / per_sample, batch);
      int64_t n_chunks = (batch + nc - 1) / nc;
      ch.samples = (batch + n_chunks - 1) / n_chunks;
    }
  else
    {
      int64_t per_row = g->C * g->kH * g->kW * g->Wo;
      int64_t rows = MIN (MAX (1, avail / per_row), g->Ho);
      int64_t n_chunks = (g->Ho + rows - 1) / rows;
      ch.rows = (g->Ho + n_chunks - 1) / n_chunks;
    }
  g_assert ((gsize) conv_chunk_floats (g, ch) * sizeof (float) <= ws_bytes);
  return ch;
}

/* How a batch is split between threads.  With several threads the batch
 * is cut into `slots` contiguous sample ranges, one per thread, each with
 * its own part of the workspace and single-threaded GEMMs
 * (hone_parallel_for_serial_blas); slot 0 accumulates dW straight into
 * the gradient, the others into a private copy added in afterwards, in
 * slot order, so the result does not depend on which thread ran what.
 * With one thread, a batch smaller than the thread count, or a workspace
 * too small for the slots, one slot runs on the calling thread with
 * OpenBLAS's threads. */
typedef struct
{
  int slots;
  ConvChunk ch;             /* chunk within a slot */
  int64_t slot_floats;      /* workspace per slot, a multiple of 16 */
  int64_t col_floats;       /* of which columns and staging */
  int64_t dw_floats;        /* of which a private dW: (M, C/group, kH, kW) */
} ConvPlan;

static int64_t
conv_round16 (int64_t n)
{
  return (n + 15) & ~(int64_t) 15;
}

/* Workspace floats that `slots` slots need for a batch on the path's
 * lowering (columns only on the im2col path), with a private dW when
 * private_dw. */
static int64_t
conv_slots_floats (const ConvGeom *g, int64_t batch, int slots, gboolean private_dw, ConvChunk *ch)
{
  int64_t per_slot = (batch + slots - 1) / slots;
  int64_t col = 0;
  if (g->path == CONV_IM2COL)
    {
      *ch = conv_chunk (g, per_slot, G_MAXSIZE);
      col = conv_round16 (conv_chunk_floats (g, *ch));
    }
  int64_t dwf = private_dw && slots > 1 ? conv_round16 (g->M * g->K) : 0;
  return slots * (col + dwf);
}

/* Whether to slice a batch between threads.  Also where the weights
 * dominate (ResNet's layer4 at 64x64 inputs): there OpenBLAS's threads
 * splitting one GEMM measured no faster than slices with a private dW
 * each, and took more CPU time. */
static gboolean
conv_use_slots (const ConvGeom *g, int64_t batch, int threads)
{
  return threads > 1 && batch >= threads;
}

static ConvPlan
conv_plan (const ConvGeom *g, int64_t batch, gsize ws_bytes, gboolean private_dw)
{
  int threads = hone_get_num_threads ();
  ConvPlan p = { .slots = 1 };
  if (g->path == CONV_IM2COL)
    {
      p.ch = conv_chunk (g, batch, ws_bytes);
      p.col_floats = p.slot_floats = conv_chunk_floats (g, p.ch);
    }
  if (!conv_use_slots (g, batch, threads))
    return p;

  /* The workspace was sized for the thread count at planning time; use
   * the slots only when it holds them now, at the same chunk size. */
  ConvChunk ch = p.ch;
  int64_t need = conv_slots_floats (g, batch, threads, private_dw, &ch);
  if ((gsize) need * sizeof (float) > ws_bytes)
    return p;
  p.slots = threads;
  p.ch = ch;
  p.slot_floats = need / threads;
  p.dw_floats = private_dw ? conv_round16 (g->M * g->K) : 0;
  p.col_floats = p.slot_floats - p.dw_floats;
  return p;
}

/* ---- shapes ------------------------------------------------------------ */

static gboolean
conv_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const HoneConvAttrs *a = node->attrs;
  char buf[128];

  if ((node->n_in != 2 && node->n_in != 3) || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects inputs x, w and an optional bias and one "
                               "output, got %d inputs and %d outputs", node->n_in, node->n_out);
      return FALSE;
    }
  if (a->group < 1)
    {
      hone_op_set_attr_error (error, node, "group is %d; it must be at least 1", a->group);
      return FALSE;
    }
  if (a->stride[0] < 1 || a->stride[1] < 1)
    {
      hone_op_set_attr_error (error, node, "strides (%d, %d) must be at least 1",
                              a->stride[0], a->stride[1]);
      return FALSE;
    }
  if (a->dilation[0] < 1 || a->dilation[1] < 1)
    {
      hone_op_set_attr_error (error, node, "dilations (%d, %d) must be at least 1",
                              a->dilation[0], a->dilation[1]);
      return FALSE;
    }
  if (a->pad[0] < 0 || a->pad[1] < 0 || a->pad[2] < 0 || a->pad[3] < 0)
    {
      hone_op_set_attr_error (error, node, "pads (%d, %d, %d, %d) must not be negative",
                              a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
      return FALSE;
    }
  if (in[0].rank != 4)
    {
      hone_op_set_shape_error (error, node, "input has shape %s; expected (N, C, H, W)",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  if (in[1].rank != 4 || in[1].d[0] < 1 || in[1].d[2] < 1 || in[1].d[3] < 1)
    {
      hone_op_set_shape_error (error, node, "weight has shape %s; expected (M, C/group, kH, kW) "
                               "with no empty dimension",
                               hone_shape_to_string (&in[1], buf, sizeof buf));
      return FALSE;
    }
  int64_t C = in[0].d[1], M = in[1].d[0];
  if (C < 1 || C % a->group != 0)
    {
      hone_op_set_shape_error (error, node, "input has %" G_GINT64_FORMAT " channels, which is "
                               "not a positive multiple of group %d", C, a->group);
      return FALSE;
    }
  if (M % a->group != 0)
    {
      hone_op_set_shape_error (error, node, "weight has %" G_GINT64_FORMAT " output channels, "
                               "which is not a multiple of group %d", M, a->group);
      return FALSE;
    }
  if (in[1].d[1] != C / a->group)
    {
      hone_op_set_shape_error (error, node, "weight has %" G_GINT64_FORMAT " input channels per "
                               "group; expected %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
                               " input channels / group %d)",
                               in[1].d[1], C / a->group, C, a->group);
      return FALSE;
    }
  if (node->n_in == 3 && (in[2].rank != 1 || in[2].d[0] != M))
    {
      hone_op_set_shape_error (error, node, "bias has shape %s; expected (%" G_GINT64_FORMAT ")",
                               hone_shape_to_string (&in[2], buf, sizeof buf), M);
      return FALSE;
    }

  ConvGeom g;
  conv_geom_init (&g, a, &in[0], &in[1]);
  if (g.Ho < 1 || g.Wo < 1)
    {
      hone_op_set_shape_error (error, node, "the dilated kernel (%" G_GINT64_FORMAT " x %"
                               G_GINT64_FORMAT ") is larger than the padded input (%"
                               G_GINT64_FORMAT " x %" G_GINT64_FORMAT ")",
                               hone_window_extent (&g.ah), hone_window_extent (&g.aw),
                               g.H + a->pad[0] + a->pad[2], g.W + a->pad[1] + a->pad[3]);
      return FALSE;
    }
  /* GEMM dimensions are ints in CBLAS. */
  if (g.H * g.W > G_MAXINT / 4 || g.Ho * g.Wo > G_MAXINT / 4 || g.K > G_MAXINT / 4
      || conv_floats_per_sample (&g) > G_MAXINT / 4)
    {
      hone_op_set_shape_error (error, node, "input %s with weight %s is too large for one sample",
                               hone_shape_to_string (&in[0], buf, sizeof buf),
                               hone_shape_to_string (&in[1], buf + 64, 64));
      return FALSE;
    }

  out[0] = HONE_SHAPE (in[0].d[0], M, g.Ho, g.Wo);
  return TRUE;
}

static double
conv_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  /* Multiply-add counts as 2; the bias adds one per output. */
  int64_t w_per_out = in[1].d[1] * in[1].d[2] * in[1].d[3];
  double outputs = (double) hone_shape_numel (&out[0]);
  return outputs * (2.0 * (double) w_per_out + (node->n_in == 3 ? 1.0 : 0.0));
}

static gsize
conv_workspace_size (const HoneNode *node, const HoneShape *in, const HoneShape *out, gboolean backward)
{
  ConvGeom g;
  conv_geom_init (&g, node->attrs, &in[0], &in[1]);
  if (g.path == CONV_DEPTHWISE)
    return 0;
  int64_t batch = in[0].d[0];
  int threads = hone_get_num_threads ();
  int64_t serial = 0;
  ConvChunk ch;
  if (g.path == CONV_IM2COL)
    {
      ch = conv_chunk (&g, batch, G_MAXSIZE);
      serial = conv_chunk_floats (&g, ch);
    }
  int64_t sliced = conv_use_slots (&g, batch, threads)
                   ? conv_slots_floats (&g, batch, threads, backward, &ch) : 0;
  return (gsize) MAX (serial, sliced) * sizeof (float);
}

/* ---- im2col / col2im ----------------------------------------------------- */

typedef struct
{
  const ConvGeom *g;
  int64_t n;                /* samples in the chunk */
  int64_t oh_a, oh_b;       /* output rows in the chunk */
  float *col;               /* (C kH kW, n (oh_b - oh_a) Wo) */
  const float *x;           /* (n, C, H, W) */
  float *dx;                /* (n, C, H, W), col2im only */
  float *dcol;              /* (C kH kW, n (oh_b - oh_a) Wo), col2im only; clobbered */
  gboolean dx_fresh;        /* col2im only: dx holds garbage, zero each plane first */
  const int64_t *taps;      /* see conv_taps */
} ColArgs;

/* The outputs each tap reaches, the same for every plane, computed once
 * per call (they cost two divisions each, which on small planes cost
 * more than the copies): taps[i], taps[kH + i] the output rows [oh0,
 * oh1) of tap row i; taps[2 kH + j], taps[2 kH + kW + j] the output
 * columns [ow0, ow1) of tap column j. */
static int64_t *
conv_taps (int64_t *taps, const ConvGeom *g)
{
  for (int64_t i = 0; i < g->kH; i++)
    hone_window_outputs_for_tap (&g->ah, i, g->Ho, &taps[i], &taps[g->kH + i]);
  for (int64_t j = 0; j < g->kW; j++)
    hone_window_outputs_for_tap (&g->aw, j, g->Wo, &taps[2 * g->kH + j],
                                 &taps[2 * g->kH + g->kW + j]);
  return taps;
}

/* Whether consecutive output rows of a tap read consecutive input rows,
 * so that a whole tap is one block in both (stride 1, Wo == W: the usual
 * "same" convolution).  Its edge columns then hold wrapped-around
 * neighbours, which the block paths overwrite or drop. */
static gboolean
conv_rows_contiguous (const ConvGeom *g)
{
  return g->ah.stride == 1 && g->aw.stride == 1 && g->Wo == g->W;
}

/* Zeroes columns [0, ow0) and [ow1, Wo) of rows (Wo wide): a few columns
 * down many rows, so column by column. */
static inline void
conv_zero_edge_columns (float *restrict d, int64_t rows, int64_t Wo, int64_t ow0, int64_t ow1)
{
  for (int64_t ow = 0; ow < MIN (ow0, Wo); ow++)
    for (int64_t r = 0; r < rows; r++)
      d[r * Wo + ow] = 0.0f;
  for (int64_t ow = MAX (ow0, ow1); ow < Wo; ow++)
    for (int64_t r = 0; r < rows; r++)
      d[r * Wo + ow] = 0.0f;
}

/* Fills the columns of one (sample, channel) plane for output rows
 * [oh_a, oh_b): kH kW rows of (oh_b - oh_a) Wo. */
/* Inlined so that it is compiled into each clone of its task. */
static inline __attribute__ ((always_inline)) void
im2col_plane (float *restrict col, int64_t ld, const float *restrict xp, const ConvGeom *g,
              const int64_t *taps, int64_t oh_a, int64_t oh_b)
{
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t Wo = g->Wo, W = g->W, HW = g->H * W, sw = aw->stride;
  gboolean block = conv_rows_contiguous (g);

  for (int64_t i = 0; i < g->kH; i++)
    {
      int64_t oh0 = taps[i], oh1 = taps[g->kH + i];
      oh0 = CLAMP (oh0, oh_a, oh_b);
      oh1 = CLAMP (oh1, oh0, oh_b);
      for (int64_t j = 0; j < g->kW; j++)
        {
          float *restrict row = col + (i * g->kW + j) * ld;  /* rows from oh_a */
          int64_t ow0 = taps[2 * g->kH + j], ow1 = taps[2 * g->kH + g->kW + j];
          int64_t off = j * aw->dilation - aw->pad_begin;

          memset (row, 0, (gsize) ((oh0 - oh_a) * Wo) * sizeof (float));
          if (block && oh1 > oh0)
            {
              /* Rows oh0..oh1 of the tap are x[src0 ...] in one piece;
               * copy what lies inside the plane, then zero the columns
               * that fall in the padding. */
              float *restrict d = row + (oh0 - oh_a) * Wo;
              int64_t len = (oh1 - oh0) * Wo;
              int64_t src0 = (oh0 - ah->pad_begin + i * ah->dilation) * W + off;
              int64_t lo = MAX (src0, 0), hi = MIN (src0 + len, HW);
              if (hi > lo)
                memcpy (d + (lo - src0), xp + lo, (gsize) (hi - lo) * sizeof (float));
              conv_zero_edge_columns (d, oh1 - oh0, Wo, ow0, ow1);
            }
          else
            for (int64_t oh = oh0; oh < oh1; oh++)
              {
                float *restrict d = row + (oh - oh_a) * Wo;
                /* input index of output column 0 (may be in the padding) */
                int64_t base = (oh * ah->stride - ah->pad_begin + i * ah->dilation) * W + off;
                for (int64_t ow = 0; ow < ow0; ow++)
                  d[ow] = 0.0f;
                if (sw == 1)
                  memcpy (d + ow0, xp + base + ow0, (gsize) (ow1 - ow0) * sizeof (float));
                else if (sw == 2)
                  {
                    /* the downsampling convolutions: a constant stride
                     * the compiler turns into vector shuffles, in blocks
                     * of fixed length, so that rows of 4 to 32 (ResNet's
                     * stem and stride-2 3x3s) are not mostly a scalar
                     * remainder */
                    const float *restrict s2 = xp + base;
                    int64_t ow = ow0;
                    for (; ow + 8 <= ow1; ow += 8)
                      for (int l = 0; l < 8; l++)
                        d[ow + l] = s2[2 * (ow + l)];
                    for (; ow + 4 <= ow1; ow += 4)
                      for (int l = 0; l < 4; l++)
                        d[ow + l] = s2[2 * (ow + l)];
                    for (; ow < ow1; ow++)
                      d[ow] = s2[2 * ow];
                  }
                else
                  for (int64_t ow = ow0; ow < ow1; ow++)
                    d[ow] = xp[base + ow * sw];
                for (int64_t ow = ow1; ow < Wo; ow++)
                  d[ow] = 0.0f;
              }
          memset (row + (oh1 - oh_a) * Wo, 0, (gsize) ((oh_b - oh1) * Wo) * sizeof (float));
        }
    }
}

/* Small planes (ResNet's 8x8 to 2x2 stages) spend im2col_plane's time in
 * a few library calls per tap for a handful of floats.  They are instead
 * copied once into a zero-padded plane (Hp, Wp) covering every tap, from
 * which each tap's rows are plain strided copies with no edge cases. */
#define CONV_SMALL_PLANE_FLOATS 256

/* The padded plane's extent along an axis: the input after pad_begin,
 * or as far as the last tap of the last output reaches if further. */
static int64_t
conv_padded_extent (const HoneWindowAxis *ax, int64_t out)
{
  int64_t reach = out > 0 ? (out - 1) * ax->stride + (ax->kernel - 1) * ax->dilation + 1 : 0;
  return MAX (ax->in + ax->pad_begin, reach);
}

static gboolean
conv_small_plane (const ConvGeom *g)
{
  return conv_padded_extent (&g->ah, g->Ho) * conv_padded_extent (&g->aw, g->Wo)
         <= CONV_SMALL_PLANE_FLOATS;
}

/* im2col_plane for a small plane, through pad (Hp, Wp). */
static inline __attribute__ ((always_inline)) void
im2col_plane_small (float *restrict col, int64_t ld, const float *restrict xp, const ConvGeom *g,
                    float *restrict pad, int64_t oh_a, int64_t oh_b)
{
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t H = g->H, W = g->W, Wo = g->Wo, sh = ah->stride, sw = aw->stride;
  int64_t Hp = conv_padded_extent (ah, g->Ho), Wp = conv_padded_extent (aw, g->Wo);
  memset (pad, 0, (gsize) (Hp * Wp) * sizeof (float));
  for (int64_t h = 0; h < H; h++)
    memcpy (pad + (h + ah->pad_begin) * Wp + aw->pad_begin, xp + h * W, (gsize) W * sizeof (float));
  for (int64_t i = 0; i < g->kH; i++)
    for (int64_t j = 0; j < g->kW; j++)
      {
        float *restrict row = col + (i * g->kW + j) * ld;  /* rows from oh_a */
        for (int64_t oh = oh_a; oh < oh_b; oh++)
          {
            const float *restrict src = pad + (oh * sh + i * ah->dilation) * Wp + j * aw->dilation;
            float *restrict d = row + (oh - oh_a) * Wo;
            for (int64_t ow = 0; ow < Wo; ow++)
              d[ow] = src[ow * sw];
          }
      }
}

HONE_VEC_CLONES static void
im2col_task (int64_t begin, int64_t end, gpointer data)
{
  const ColArgs *a = data;
  const ConvGeom *g = a->g;
  int64_t span = (a->oh_b - a->oh_a) * g->Wo, ld = a->n * span, kk = g->kH * g->kW;
  float pad[CONV_SMALL_PLANE_FLOATS];
  gboolean small = conv_small_plane (g);
  for (int64_t t = begin; t < end; t++)
    {
      int64_t c = t / a->n, s = t % a->n;
      float *col = a->col + c * kk * ld + s * span;
      const float *xp = a->x + (s * g->C + c) * g->H * g->W;
      if (small)
        im2col_plane_small (col, ld, xp, g, pad, a->oh_a, a->oh_b);
      else
        im2col_plane (col, ld, xp, g, a->taps, a->oh_a, a->oh_b);
    }
}

/* col (C kH kW, n (oh_b - oh_a) Wo) <- x (n, C, H, W) for output rows [oh_a, oh_b) */
static void
im2col (float *col, const float *x, const ConvGeom *g, int64_t n, int64_t oh_a, int64_t oh_b)
{
  ColArgs a = { .g = g, .n = n, .oh_a = oh_a, .oh_b = oh_b, .col = col, .x = x,
                .taps = conv_taps (g_newa (int64_t, 2 * (g->kH + g->kW)), g) };
  hone_parallel_for (g->C * n, 4, im2col_task, &a);
}

/* Adds the columns of output rows [oh_a, oh_b) of one (sample, channel)
 * plane back into the image.  The block path zeroes the padding entries
 * of col first (it is scratch), so that one add per tap puts nothing where
 * they wrap to. */
/* Inlined so that it is compiled into each clone of its task. */
static inline __attribute__ ((always_inline)) void
col2im_plane (float *restrict dxp, float *restrict col, int64_t ld, const ConvGeom *g,
              const int64_t *taps, int64_t oh_a, int64_t oh_b)
{
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t Wo = g->Wo, W = g->W, HW = g->H * W, sw = aw->stride;
  gboolean block = conv_rows_contiguous (g);

  for (int64_t i = 0; i < g->kH; i++)
    {
      int64_t oh0 = taps[i], oh1 = taps[g->kH + i];
      oh0 = CLAMP (oh0, oh_a, oh_b);
      oh1 = CLAMP (oh1, oh0, oh_b);
      for (int64_t j = 0; j < g->kW; j++)
        {
          float *restrict row = col + (i * g->kW + j) * ld;  /* rows from oh_a */
          int64_t ow0 = taps[2 * g->kH + j], ow1 = taps[2 * g->kH + g->kW + j];
          int64_t off = j * aw->dilation - aw->pad_begin;
          if (block && oh1 > oh0)
            {
              float *restrict s = row + (oh0 - oh_a) * Wo;
              int64_t len = (oh1 - oh0) * Wo;
              int64_t src0 = (oh0 - ah->pad_begin + i * ah->dilation) * W + off;
              int64_t lo = MAX (src0, 0), hi = MIN (src0 + len, HW);
              conv_zero_edge_columns (s, oh1 - oh0, Wo, ow0, ow1);
              if (hi > lo)
                hone_vec_add (dxp + lo, s + (lo - src0), hi - lo);
              continue;
            }
          for (int64_t oh = oh0; oh < oh1; oh++)
            {
              const float *restrict s = row + (oh - oh_a) * Wo;
              int64_t base = (oh * ah->stride - ah->pad_begin + i * ah->dilation) * W + off;
              if (sw == 1)
                {
                  if (ow1 > ow0)
                    hone_vec_add (dxp + base + ow0, s + ow0, ow1 - ow0);
                }
              else
                for (int64_t ow = ow0; ow < ow1; ow++)
                  dxp[base + ow * sw] += s[ow];
            }
        }
    }
}

/* col2im_plane for a small plane (conv_small_plane): the taps are added
 * into the zero-padded plane pad, whose inside is then added to dxp, or
 * stored when fresh. */
static inline __attribute__ ((always_inline)) void
col2im_plane_small (float *restrict dxp, const float *restrict col, int64_t ld, const ConvGeom *g,
                    float *restrict pad, int64_t oh_a, int64_t oh_b, gboolean fresh)
{
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t H = g->H, W = g->W, Wo = g->Wo, sh = ah->stride, sw = aw->stride;
  int64_t Hp = conv_padded_extent (ah, g->Ho), Wp = conv_padded_extent (aw, g->Wo);
  memset (pad, 0, (gsize) (Hp * Wp) * sizeof (float));
  for (int64_t i = 0; i < g->kH; i++)
    for (int64_t j = 0; j < g->kW; j++)
      {
        const float *restrict row = col + (i * g->kW + j) * ld;  /* rows from oh_a */
        for (int64_t oh = oh_a; oh < oh_b; oh++)
          {
            float *restrict d = pad + (oh * sh + i * ah->dilation) * Wp + j * aw->dilation;
            const float *restrict src = row + (oh - oh_a) * Wo;
            for (int64_t ow = 0; ow < Wo; ow++)
              d[ow * sw] += src[ow];
          }
      }
  for (int64_t h = 0; h < H; h++)
    {
      const float *restrict src = pad + (h + ah->pad_begin) * Wp + aw->pad_begin;
      float *restrict d = dxp + h * W;
      if (fresh)
        for (int64_t w = 0; w < W; w++)
          d[w] = src[w];
      else
        for (int64_t w = 0; w < W; w++)
          d[w] += src[w];
    }
}

HONE_VEC_CLONES static void
col2im_task (int64_t begin, int64_t end, gpointer data)
{
  const ColArgs *a = data;
  const ConvGeom *g = a->g;
  int64_t span = (a->oh_b - a->oh_a) * g->Wo, ld = a->n * span, kk = g->kH * g->kW;
  float pad[CONV_SMALL_PLANE_FLOATS];
  gboolean small = conv_small_plane (g);
  for (int64_t t = begin; t < end; t++)
    {
      int64_t c = t / a->n, s = t % a->n;
      float *dxp = a->dx + (s * g->C + c) * g->H * g->W;
      float *dcol = a->dcol + c * kk * ld + s * span;
      if (small)
        {
          col2im_plane_small (dxp, dcol, ld, g, pad, a->oh_a, a->oh_b, a->dx_fresh);
          continue;
        }
      if (a->dx_fresh)
        memset (dxp, 0, (gsize) (g->H * g->W) * sizeof (float));
      col2im_plane (dxp, dcol, ld, g, a->taps, a->oh_a, a->oh_b);
    }
}

/* dx (n, C, H, W) += col2im (dcol (C kH kW, n (oh_b - oh_a) Wo)) for output
 * rows [oh_a, oh_b), or = when dx_fresh (each plane is zeroed just before,
 * while it goes into cache anyway); dcol is clobbered */
static void
col2im_add (float *dx, float *dcol, const ConvGeom *g, int64_t n, int64_t oh_a, int64_t oh_b,
            gboolean dx_fresh)
{
  ColArgs a = { .g = g, .n = n, .oh_a = oh_a, .oh_b = oh_b, .dx = dx, .dcol = dcol,
                .dx_fresh = dx_fresh,
                .taps = conv_taps (g_newa (int64_t, 2 * (g->kH + g->kW)), g) };
  hone_parallel_for (g->C * n, 4, col2im_task, &a);
}

/* ---- layout changes and bias -------------------------------------------- */

typedef struct
{
  int64_t n, M, HW;
  float *dst;
  const float *src;
  const float *bias;        /* (M) or NULL */
} PlaneArgs;

/* y (n, M, HW) = stage (M, n HW) + b */
HONE_VEC_CLONES static void
scatter_task (int64_t begin, int64_t end, gpointer data)
{
  const PlaneArgs *a = data;
  for (int64_t t = begin; t < end; t++)
    {
      int64_t m = t / a->n, s = t % a->n;
      float *restrict d = a->dst + (s * a->M + m) * a->HW;
      const float *restrict src = a->src + (m * a->n + s) * a->HW;
      hone_vec_affine (d, src, 1.0f, a->bias ? a->bias[m] : 0.0f, a->HW);
    }
}

/* stage (M, n HW) = dy (n, M, HW) */
static void
gather_task (int64_t begin, int64_t end, gpointer data)
{
  const PlaneArgs *a = data;
  for (int64_t t = begin; t < end; t++)
    {
      int64_t m = t / a->n, s = t % a->n;
      memcpy (a->dst + (m * a->n + s) * a->HW, a->src + (s * a->M + m) * a->HW,
              (gsize) a->HW * sizeof (float));
    }
}

/* y (n, M, HW) += b, in place */
HONE_VEC_CLONES static void
bias_add_task (int64_t begin, int64_t end, gpointer data)
{
  const PlaneArgs *a = data;
  for (int64_t t = begin; t < end; t++)
    {
      hone_vec_add_scalar (a->dst + t * a->HW, a->bias[t % a->M], a->HW);
    }
}

static void
bias_add (float *y, const float *b, int64_t n, int64_t M, int64_t HW)
{
  PlaneArgs a = { .n = n, .M = M, .HW = HW, .dst = y, .bias = b };
  hone_parallel_for (n * M, MAX (1, 4096 / HW), bias_add_task, &a);
}

/* db (M) += sum over n and HW of dy (n, M, HW) */
HONE_VEC_CLONES static void
bias_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const PlaneArgs *a = data;
  for (int64_t m = begin; m < end; m++)
    {
      double acc = 0.0;
      for (int64_t s = 0; s < a->n; s++)
        acc += hone_vec_sum (a->src + (s * a->M + m) * a->HW, a->HW);
      a->dst[m] += (float) acc;
    }
}

static void
bias_backward (float *db, const float *dy, int64_t n, int64_t M, int64_t HW)
{
  PlaneArgs a = { .n = n, .M = M, .HW = HW, .dst = db, .src = dy };
  hone_parallel_for (M, 1, bias_backward_task, &a);
}

/* ---- im2col path --------------------------------------------------------- */

/* y (batch, M, Ho, Wo) = conv (x (batch, C, H, W)) in chunks ch, with
 * the columns and staging in ws */
static void
im2col_forward (float *y, const float *x, const float *w, const float *b,
                const ConvGeom *g, int64_t batch, ConvChunk ch, float *ws)
{
  int64_t HWo = g->Ho * g->Wo, Wo = g->Wo;
  float *col = ws;                                                /* (C kH kW, n rows Wo) */
  float *stage = ws + g->C * g->kH * g->kW * ch.samples * HWo;    /* (M, n Ho Wo) */

  for (int64_t s0 = 0; s0 < batch; s0 += ch.samples)
    {
      int64_t n = MIN (ch.samples, batch - s0);
      for (int64_t oh_a = 0; oh_a < g->Ho; oh_a += ch.rows)
        {
          int64_t oh_b = MIN (oh_a + ch.rows, g->Ho);
          int64_t ld = n * (oh_b - oh_a) * Wo;
          /* One sample: the GEMM's (M, rows Wo) is a column block of the
           * sample's NCHW (M, Ho Wo), written in place. */
          float *dst = n == 1 ? y + s0 * g->M * HWo + oh_a * Wo : stage;
          int64_t ldc = n == 1 ? HWo : ld;
          im2col (col, x + s0 * g->C * g->H * g->W, g, n, oh_a, oh_b);
          for (int64_t gi = 0; gi < g->group; gi++)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                         (int) g->Mg, (int) ld, (int) g->K,
                         1.0f, w + gi * g->Mg * g->K, (int) g->K,
                         col + gi * g->K * ld, (int) ld,
                         0.0f, dst + gi * g->Mg * ldc, (int) ldc);
        }
      if (n == 1)
        {
          if (b)
            bias_add (y + s0 * g->M * HWo, b, 1, g->M, HWo);
        }
      else
        {
          PlaneArgs a = { .n = n, .M = g->M, .HW = HWo, .dst = y + s0 * g->M * HWo,
                          .src = stage, .bias = b };
          hone_parallel_for (n * g->M, MAX (1, 4096 / HWo), scatter_task, &a);
        }
    }
}

/* dx += ..., dw (+)= ... for batch samples in chunks ch, with the columns
 * and staging in ws; dw is overwritten instead of accumulated into when
 * dw_fresh (a slot's private copy). */
/* dw and dx are overwritten instead of accumulated into when dw_fresh and
 * dx_fresh. */
static void
im2col_backward (float *dx, gboolean dx_fresh, float *dw, gboolean dw_fresh, const float *dy,
                 const float *x, const float *w, const ConvGeom *g, int64_t batch, ConvChunk ch,
                 float *ws)
{
  int64_t HWo = g->Ho * g->Wo, Wo = g->Wo;
  float *col = ws;                                                /* (C kH kW, n rows Wo) */
  float *stage = ws + g->C * g->kH * g->kW * ch.samples * HWo;    /* (M, n Ho Wo) */

  for (int64_t s0 = 0; s0 < batch; s0 += ch.samples)
    {
      int64_t n = MIN (ch.samples, batch - s0);
      const float *dys = dy + s0 * g->M * HWo;           /* (M, n Ho Wo) once gathered */
      if (n > 1)
        {
          PlaneArgs a = { .n = n, .M = g->M, .HW = HWo, .dst = stage, .src = dys };
          hone_parallel_for (n * g->M, MAX (1, 4096 / HWo), gather_task, &a);
          dys = stage;
        }
      for (int64_t oh_a = 0; oh_a < g->Ho; oh_a += ch.rows)
        {
          int64_t oh_b = MIN (oh_a + ch.rows, g->Ho);
          int64_t ld = n * (oh_b - oh_a) * Wo;
          /* dY rows of the chunk: (M, ld), rows ldy apart */
          const float *dyc = n == 1 ? dys + oh_a * Wo : dys;
          int64_t ldy = n == 1 ? HWo : ld;
          if (dw)
            {
              im2col (col, x + s0 * g->C * g->H * g->W, g, n, oh_a, oh_b);
              /* dW_g (Mg, K) += dY_g (Mg, ld) col_g^T */
              float beta = dw_fresh && s0 == 0 && oh_a == 0 ? 0.0f : 1.0f;
              for (int64_t gi = 0; gi < g->group; gi++)
                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                             (int) g->Mg, (int) g->K, (int) ld,
                             1.0f, dyc + gi * g->Mg * ldy, (int) ldy,
                             col + gi * g->K * ld, (int) ld,
                             beta, dw + gi * g->Mg * g->K, (int) g->K);
            }
          if (dx)
            {
              /* dcol_g (K, ld) = W_g^T dY_g, into the columns' buffer */
              for (int64_t gi = 0; gi < g->group; gi++)
                cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                             (int) g->K, (int) ld, (int) g->Mg,
                             1.0f, w + gi * g->Mg * g->K, (int) g->K,
                             dyc + gi * g->Mg * ldy, (int) ldy,
                             0.0f, col + gi * g->K * ld, (int) ld);
              /* the first row chunk of a sample meets its planes first */
              col2im_add (dx + s0 * g->C * g->H * g->W, col, g, n, oh_a, oh_b,
                          dx_fresh && oh_a == 0);
            }
        }
    }
}

/* ---- pointwise path ------------------------------------------------------ */

/* 1x1, stride 1, unpadded: x_n (C, HW) is its own column matrix. */
static void
pointwise_forward (float *y, const float *x, const float *w, const float *b,
                   const ConvGeom *g, int64_t batch)
{
  int64_t HW = g->H * g->W;
  for (int64_t s = 0; s < batch; s++)
    for (int64_t gi = 0; gi < g->group; gi++)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                   (int) g->Mg, (int) HW, (int) g->Cg,
                   1.0f, w + gi * g->Mg * g->Cg, (int) g->Cg,
                   x + (s * g->C + gi * g->Cg) * HW, (int) HW,
                   0.0f, y + (s * g->M + gi * g->Mg) * HW, (int) HW);
  if (b)
    bias_add (y, b, batch, g->M, HW);
}

/* dw and dx are overwritten instead of accumulated into when dw_fresh and
 * dx_fresh. */
static void
pointwise_backward (float *dx, gboolean dx_fresh, float *dw, gboolean dw_fresh, const float *dy,
                    const float *x, const float *w, const ConvGeom *g, int64_t batch)
{
  int64_t HW = g->H * g->W;
  for (int64_t s = 0; s < batch; s++)
    for (int64_t gi = 0; gi < g->group; gi++)
      {
        const float *dys = dy + (s * g->M + gi * g->Mg) * HW;   /* (Mg, HW) */
        if (dw)
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                       (int) g->Mg, (int) g->Cg, (int) HW,
                       1.0f, dys, (int) HW,
                       x + (s * g->C + gi * g->Cg) * HW, (int) HW,
                       dw_fresh && s == 0 ? 0.0f : 1.0f, dw + gi * g->Mg * g->Cg, (int) g->Cg);
        if (dx)
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                       (int) g->Cg, (int) HW, (int) g->Mg,
                       1.0f, w + gi * g->Mg * g->Cg, (int) g->Cg,
                       dys, (int) HW,
                       dx_fresh ? 0.0f : 1.0f, dx + (s * g->C + gi * g->Cg) * HW, (int) HW);
      }
}

/* ---- slots ---------------------------------------------------------------- */

typedef struct
{
  const ConvGeom *g;
  const ConvPlan *p;
  int64_t batch;
  float *ws;
  float *y;                 /* (N, M, Ho, Wo) */
  float *dx;                /* (N, C, H, W) or NULL */
  gboolean dx_fresh;        /* store into dx instead of adding */
  float *dw;                /* (M, C/group, kH, kW) or NULL */
  const float *x;           /* (N, C, H, W) */
  const float *w;           /* (M, C/group, kH, kW) */
  const float *b;           /* (M) or NULL */
  const float *dy;          /* (N, M, Ho, Wo) */
} SlotArgs;

/* Samples [*s0, *s1) of slot t. */
static void
slot_samples (const SlotArgs *a, int64_t t, int64_t *s0, int64_t *s1)
{
  *s0 = t * a->batch / a->p->slots;
  *s1 = (t + 1) * a->batch / a->p->slots;
}

static void
slot_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const SlotArgs *a = data;
  const ConvGeom *g = a->g;
  for (int64_t t = begin; t < end; t++)
    {
      int64_t s0, s1;
      slot_samples (a, t, &s0, &s1);
      float *y = a->y + s0 * g->M * g->Ho * g->Wo;
      const float *x = a->x + s0 * g->C * g->H * g->W;
      if (g->path == CONV_POINTWISE)
        pointwise_forward (y, x, a->w, a->b, g, s1 - s0);
      else
        im2col_forward (y, x, a->w, a->b, g, s1 - s0, a->p->ch, a->ws + t * a->p->slot_floats);
    }
}

static void
slot_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const SlotArgs *a = data;
  const ConvGeom *g = a->g;
  for (int64_t t = begin; t < end; t++)
    {
      int64_t s0, s1;
      slot_samples (a, t, &s0, &s1);
      float *ws = a->ws + t * a->p->slot_floats;
      /* slot 0 adds into dw, the others fill their private copy */
      float *dw = a->dw && t > 0 ? ws + a->p->col_floats : a->dw;
      float *dx = a->dx ? a->dx + s0 * g->C * g->H * g->W : NULL;
      const float *dy = a->dy + s0 * g->M * g->Ho * g->Wo;
      const float *x = a->x + s0 * g->C * g->H * g->W;
      if (g->path == CONV_POINTWISE)
        pointwise_backward (dx, a->dx_fresh, dw, t > 0, dy, x, a->w, g, s1 - s0);
      else
        im2col_backward (dx, a->dx_fresh, dw, t > 0, dy, x, a->w, g, s1 - s0, a->p->ch, ws);
    }
}

/* Forward or backward of the GEMM-based paths over the plan's slots. */
static void
conv_run_slots (SlotArgs *a, gboolean backward)
{
  const ConvPlan *p = a->p;
  if (p->slots == 1)
    {
      (backward ? slot_backward_task : slot_forward_task) (0, 1, a);
      return;
    }
  hone_parallel_for_serial_blas (p->slots, backward ? slot_backward_task : slot_forward_task, a);
  if (backward && a->dw)
    for (int t = 1; t < p->slots; t++)
      hone_vec_add (a->dw, a->ws + t * p->slot_floats + p->col_floats, a->g->M * a->g->K);
}

/* ---- depthwise path ------------------------------------------------------
 *
 * One input channel per group: output channel m reads input channel
 * m / mult.  With stride 1 every plane is first copied into a zero-padded
 * scratch plane of width Wp = W + pl + pr; on that grid each tap is a fixed
 * shift of the flat plane, so one fused loop computes every output once,
 * all taps summed in registers, over rows of Wp (the last (kW - 1) dW
 * columns of each row are spare and dropped).  Backward uses the same
 * grid: dx is the fused gather of dy against the mirrored shifts, dw one
 * dot per tap.  Other strides run row by row over the columns each tap
 * reaches. */

typedef struct
{
  const ConvGeom *g;
  int64_t mult;             /* output channels per input channel */
  gboolean padded;          /* stride 1: the padded-grid kernels */
  int64_t Hp, Wp;           /* padded plane */
  int64_t margin;           /* (kH - 1) dH Wp + (kW - 1) dW: the largest shift */
  const int64_t *shift;     /* (kH kW): flat shift of tap (i, j) on the grid */
  const int64_t *ow0, *ow1; /* (kW): output columns tap j reaches (row path) */
  float *y;                 /* (N, M, Ho, Wo) */
  float *dx;                /* (N, C, H, W) */
  float *dw;                /* (M, 1, kH, kW) */
  const float *x;           /* (N, C, H, W) */
  const float *w;           /* (M, 1, kH, kW) */
  const float *b;           /* (M) or NULL */
  const float *dy;          /* (N, M, Ho, Wo) */
  int64_t batch;
} DepthwiseArgs;

/* out[o] (+)= bias + sum_t wt[t] in[o + shift[t]] for o in [0, n), each
 * output computed once with the taps summed in registers: the block loops
 * are unrolled so that the accumulators stay in vector registers. */
/* out[o] (+)= bias + sum_t wt[t] in[o + shift[t]] for o in [0, n), each
 * output computed once, 16 at a time with the taps summed in registers. */
static void
dw_fused_taps (float *restrict out, const float *restrict in, const float *restrict wt,
               const int64_t *restrict shift, int64_t n_taps, float bias, gboolean accumulate,
               int64_t n)
{
  int64_t o = 0;
  for (; o + 16 <= n; o += 16)
    {
      HoneF4 a0 = hone_f4_splat (bias), a1 = a0, a2 = a0, a3 = a0;
      if (accumulate)
        {
          a0 = hone_f4_load (out + o);
          a1 = hone_f4_load (out + o + 4);
          a2 = hone_f4_load (out + o + 8);
          a3 = hone_f4_load (out + o + 12);
        }
      for (int64_t t = 0; t < n_taps; t++)
        {
          const float *src = in + o + shift[t];
          HoneF4 wv = hone_f4_splat (wt[t]);
          a0 += wv * hone_f4_load (src);
          a1 += wv * hone_f4_load (src + 4);
          a2 += wv * hone_f4_load (src + 8);
          a3 += wv * hone_f4_load (src + 12);
        }
      hone_f4_store (out + o, a0);
      hone_f4_store (out + o + 4, a1);
      hone_f4_store (out + o + 8, a2);
      hone_f4_store (out + o + 12, a3);
    }
  for (; o < n; o++)
    {
      float acc = accumulate ? out[o] : bias;
      for (int64_t t = 0; t < n_taps; t++)
        acc += wt[t] * in[o + shift[t]];
      out[o] = acc;
    }
}

/* xp (Hp Wp + margin) <- the (H, W) plane x placed at (pt, pl), zeros around */
static void
dw_pad_plane (float *restrict xp, const float *restrict x, const DepthwiseArgs *a)
{
  const ConvGeom *g = a->g;
  int64_t Wp = a->Wp, pt = g->ah.pad_begin, pl = g->aw.pad_begin;
  memset (xp, 0, (gsize) (pt * Wp) * sizeof (float));
  for (int64_t h = 0; h < g->H; h++)
    {
      float *row = xp + (pt + h) * Wp;
      for (int64_t k = 0; k < pl; k++)
        row[k] = 0.0f;
      memcpy (row + pl, x + h * g->W, (gsize) g->W * sizeof (float));
      for (int64_t k = pl + g->W; k < Wp; k++)
        row[k] = 0.0f;
    }
  memset (xp + (pt + g->H) * Wp, 0, (gsize) ((a->Hp - pt - g->H) * Wp + a->margin) * sizeof (float));
}

/* grid (n_rows Wp) <- plane (n_rows, cols), zeros in the spare columns */
static void
dw_to_grid (float *restrict grid, const float *restrict plane, int64_t n_rows, int64_t cols, int64_t Wp)
{
  for (int64_t r = 0; r < n_rows; r++)
    {
      memcpy (grid + r * Wp, plane + r * cols, (gsize) cols * sizeof (float));
      for (int64_t k = cols; k < Wp; k++)
        grid[r * Wp + k] = 0.0f;
    }
}

/* y[s, m] = b[m] + sum_taps w[m, i, j] x[s, m / mult] shifted, one output
 * plane per task. */
HONE_VEC_CLONES static void
depthwise_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const DepthwiseArgs *a = data;
  const ConvGeom *g = a->g;
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t Ho = g->Ho, Wo = g->Wo, HWo = Ho * Wo, W = g->W, kW = g->kW, Wp = a->Wp;
  float *xp = NULL, *yp = NULL;
  if (a->padded)
    {
      xp = g_new (float, a->Hp * Wp + a->margin);  /* padded input plane */
      yp = g_new (float, Ho * Wp);                  /* output on the grid */
    }

  for (int64_t t = begin; t < end; t++)
    {
      int64_t s = t / g->M, m = t % g->M, c = m / a->mult;
      const float *xs = a->x + (s * g->C + c) * g->H * W;
      const float *wp = a->w + m * g->kH * kW;
      float *ys = a->y + t * HWo;
      float bm = a->b ? a->b[m] : 0.0f;
      if (a->padded)
        {
          /* The input plane is shared by the mult outputs of a channel. */
          if (t == begin || m % a->mult == 0)
            dw_pad_plane (xp, xs, a);
          dw_fused_taps (yp, xp, wp, a->shift, g->kH * kW, bm, FALSE, Ho * Wp);
          for (int64_t oh = 0; oh < Ho; oh++)
            memcpy (ys + oh * Wo, yp + oh * Wp, (gsize) Wo * sizeof (float));
          continue;
        }
      hone_vec_fill (ys, bm, HWo);
      for (int64_t oh = 0; oh < Ho; oh++)
        {
          int64_t i0, i1;
          hone_window_taps (ah, oh, &i0, &i1);
          float *restrict yr = ys + oh * Wo;
          for (int64_t i = i0; i < i1; i++)
            {
              int64_t row = (oh * ah->stride - ah->pad_begin + i * ah->dilation) * W;
              for (int64_t j = 0; j < kW; j++)
                {
                  int64_t base = row + j * aw->dilation - aw->pad_begin;
                  float wv = wp[i * kW + j];
                  for (int64_t ow = a->ow0[j]; ow < a->ow1[j]; ow++)
                    yr[ow] += wv * xs[base + ow * aw->stride];
                }
            }
        }
    }
  g_free (xp);
  g_free (yp);
}

/* dx[s, c] += sum over its mult output channels and the taps of w dy[s, m]
 * shifted back, one input plane per task. */
HONE_VEC_CLONES static void
depthwise_dx_task (int64_t begin, int64_t end, gpointer data)
{
  const DepthwiseArgs *a = data;
  const ConvGeom *g = a->g;
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t Ho = g->Ho, Wo = g->Wo, HWo = Ho * Wo, H = g->H, W = g->W, kW = g->kW, kk = g->kH * kW;
  int64_t Hp = a->Hp, Wp = a->Wp, Z = a->margin;
  float *dyg = NULL, *dxg = NULL;
  int64_t *mshift = NULL;
  if (a->padded)
    {
      dyg = g_new0 (float, Hp * Wp + Z);   /* dy on the grid, after Z zeros */
      dxg = g_new (float, Hp * Wp);        /* dx on the padded grid */
      mshift = g_new (int64_t, kk);
      /* The grid forward is y[o] = sum_t w_t x[o + shift_t]; its adjoint is
       * dx[q] = sum_t w_t dy[q - shift_t] = sum_t w_t dyg[q + Z - shift_t],
       * reading zeros wherever q - shift_t leaves the output grid or lands
       * in its spare columns. */
      for (int64_t k = 0; k < kk; k++)
        mshift[k] = Z - a->shift[k];
    }

  for (int64_t t = begin; t < end; t++)
    {
      int64_t s = t / g->C, c = t % g->C;
      float *dxp = a->dx + t * H * W;
      if (a->padded)
        {
          for (int64_t m = c * a->mult; m < (c + 1) * a->mult; m++)
            {
              dw_to_grid (dyg + Z, a->dy + (s * g->M + m) * HWo, Ho, Wo, Wp);
              dw_fused_taps (dxg, dyg, a->w + m * kk, mshift, kk, 0.0f, m > c * a->mult, Hp * Wp);
            }
          int64_t pt = ah->pad_begin, pl = aw->pad_begin;
          for (int64_t h = 0; h < H; h++)
            hone_vec_add (dxp + h * W, dxg + (pt + h) * Wp + pl, W);
          continue;
        }
      for (int64_t m = c * a->mult; m < (c + 1) * a->mult; m++)
        {
          const float *dyp = a->dy + (s * g->M + m) * HWo;
          const float *wp = a->w + m * kk;
          for (int64_t oh = 0; oh < Ho; oh++)
            {
              int64_t i0, i1;
              hone_window_taps (ah, oh, &i0, &i1);
              const float *restrict dyr = dyp + oh * Wo;
              for (int64_t i = i0; i < i1; i++)
                {
                  int64_t row = (oh * ah->stride - ah->pad_begin + i * ah->dilation) * W;
                  for (int64_t j = 0; j < kW; j++)
                    {
                      int64_t base = row + j * aw->dilation - aw->pad_begin;
                      float wv = wp[i * kW + j];
                      for (int64_t ow = a->ow0[j]; ow < a->ow1[j]; ow++)
                        dxp[base + ow * aw->stride] += wv * dyr[ow];
                    }
                }
            }
        }
    }
  g_free (dyg);
  g_free (dxg);
  g_free (mshift);
}

/* dw[m, i, j] += sum_{s, oh, ow} dy[s, m] x[s, m / mult] over the positions
 * tap (i, j) reaches, one output channel per task. */
HONE_VEC_CLONES static void
depthwise_dw_task (int64_t begin, int64_t end, gpointer data)
{
  const DepthwiseArgs *a = data;
  const ConvGeom *g = a->g;
  const HoneWindowAxis *ah = &g->ah, *aw = &g->aw;
  int64_t Ho = g->Ho, Wo = g->Wo, HWo = Ho * Wo, W = g->W, kW = g->kW, kk = g->kH * kW;
  int64_t Wp = a->Wp;
  double *acc = g_newa (double, kk);
  float *xp = NULL, *dyg = NULL;
  if (a->padded)
    {
      xp = g_new (float, a->Hp * Wp + a->margin);
      dyg = g_new (float, Ho * Wp);
    }

  for (int64_t m = begin; m < end; m++)
    {
      int64_t c = m / a->mult;
      for (int64_t k = 0; k < kk; k++)
        acc[k] = 0.0;
      for (int64_t s = 0; s < a->batch; s++)
        {
          const float *xs = a->x + (s * g->C + c) * g->H * W;
          const float *dyp = a->dy + (s * g->M + m) * HWo;
          if (a->padded)
            {
              /* dw_t = sum_o dy[o] x[o + shift_t] on the grid; the spare
               * columns of dy are zero. */
              dw_pad_plane (xp, xs, a);
              dw_to_grid (dyg, dyp, Ho, Wo, Wp);
              for (int64_t k = 0; k < kk; k++)
                acc[k] += hone_vec_dot (dyg, xp + a->shift[k], Ho * Wp);
              continue;
            }
          for (int64_t oh = 0; oh < Ho; oh++)
            {
              int64_t i0, i1;
              hone_window_taps (ah, oh, &i0, &i1);
              const float *restrict dyr = dyp + oh * Wo;
              for (int64_t i = i0; i < i1; i++)
                {
                  int64_t row = (oh * ah->stride - ah->pad_begin + i * ah->dilation) * W;
                  for (int64_t j = 0; j < kW; j++)
                    {
                      int64_t base = row + j * aw->dilation - aw->pad_begin;
                      float dot = 0.0f;
                      for (int64_t ow = a->ow0[j]; ow < a->ow1[j]; ow++)
                        dot += dyr[ow] * xs[base + ow * aw->stride];
                      acc[i * kW + j] += dot;
                    }
                }
            }
        }
      float *dwp = a->dw + m * kk;
      for (int64_t k = 0; k < kk; k++)
        dwp[k] += (float) acc[k];
    }
  g_free (xp);
  g_free (dyg);
}

/* Fills the geometry of the args; the arrays come from the caller. */
static void
depthwise_args_init (DepthwiseArgs *a, const ConvGeom *g, int64_t *shift, int64_t *ow0, int64_t *ow1)
{
  a->g = g;
  a->mult = g->M / g->C;
  a->padded = g->ah.stride == 1 && g->aw.stride == 1;
  a->Hp = g->H + g->ah.pad_begin + g->ah.pad_end;
  a->Wp = g->W + g->aw.pad_begin + g->aw.pad_end;
  a->margin = (g->kH - 1) * g->ah.dilation * a->Wp + (g->kW - 1) * g->aw.dilation;
  for (int64_t i = 0; i < g->kH; i++)
    for (int64_t j = 0; j < g->kW; j++)
      shift[i * g->kW + j] = i * g->ah.dilation * a->Wp + j * g->aw.dilation;
  for (int64_t j = 0; j < g->kW; j++)
    hone_window_outputs_for_tap (&g->aw, j, g->Wo, &ow0[j], &ow1[j]);
  a->shift = shift;
  a->ow0 = ow0;
  a->ow1 = ow1;
}

/* ---- forward / backward ------------------------------------------------- */

static void
conv_forward (const HoneOpCtx *ctx)
{
  ConvGeom g;
  conv_geom_init (&g, ctx->attrs, &ctx->in[0].shape, &ctx->in[1].shape);
  const float *x = ctx->in[0].data;                               /* (N, C, H, W) */
  const float *w = ctx->in[1].data;                               /* (M, C/group, kH, kW) */
  const float *b = ctx->node->n_in == 3 ? ctx->in[2].data : NULL; /* (M) */
  float *y = ctx->out[0].data;                                    /* (N, M, Ho, Wo) */
  int64_t batch = ctx->batch;

  switch (g.path)
    {
    case CONV_DEPTHWISE:
      {
        DepthwiseArgs a = { .y = y, .x = x, .w = w, .b = b, .batch = batch };
        depthwise_args_init (&a, &g, g_newa (int64_t, g.kH * g.kW), g_newa (int64_t, g.kW),
                             g_newa (int64_t, g.kW));
        hone_parallel_for (batch * g.M, MAX (1, 8192 / (g.Ho * g.Wo * g.kH * g.kW)),
                           depthwise_forward_task, &a);
      }
      break;
    case CONV_POINTWISE:
    case CONV_IM2COL:
    default:
      {
        ConvPlan p = conv_plan (&g, batch, ctx->workspace_size, FALSE);
        SlotArgs a = { .g = &g, .p = &p, .batch = batch, .ws = ctx->workspace,
                       .y = y, .x = x, .w = w, .b = b };
        conv_run_slots (&a, FALSE);
      }
      break;
    }
}

static void
conv_backward (const HoneOpCtx *ctx)
{
  ConvGeom g;
  conv_geom_init (&g, ctx->attrs, &ctx->in[0].shape, &ctx->in[1].shape);
  const float *x = ctx->in[0].data;                                 /* (N, C, H, W) */
  const float *w = ctx->in[1].data;                                 /* (M, C/group, kH, kW) */
  const float *dy = ctx->dout[0].data;                              /* (N, M, Ho, Wo) */
  float *dx = ctx->din[0].data;                                     /* (N, C, H, W) or NULL */
  gboolean dx_fresh = dx && (ctx->din_fresh & 1u);
  float *dw = ctx->din[1].data;                                     /* (M, C/group, kH, kW) or NULL */
  float *db = ctx->node->n_in == 3 ? ctx->din[2].data : NULL;       /* (M) or NULL */
  int64_t batch = ctx->batch;

  if (db)
    bias_backward (db, dy, batch, g.M, g.Ho * g.Wo);
  if (!dx && !dw)
    return;

  switch (g.path)
    {
    case CONV_DEPTHWISE:
      {
        DepthwiseArgs a = { .dx = dx, .dw = dw, .x = x, .w = w, .dy = dy, .batch = batch };
        depthwise_args_init (&a, &g, g_newa (int64_t, g.kH * g.kW), g_newa (int64_t, g.kW),
                             g_newa (int64_t, g.kW));
        int64_t plane_work = MAX (1, g.Ho * g.Wo * g.kH * g.kW);
        if (dx_fresh)
          memset (dx, 0, (gsize) hone_tensor_numel (&ctx->din[0]) * sizeof (float));
        if (dx)
          hone_parallel_for (batch * g.C, MAX (1, 8192 / (plane_work * a.mult)),
                             depthwise_dx_task, &a);
        if (dw)
          hone_parallel_for (g.M, MAX (1, 8192 / (plane_work * batch)), depthwise_dw_task, &a);
      }
      break;
    case CONV_POINTWISE:
    case CONV_IM2COL:
    default:
      {
        ConvPlan p = conv_plan (&g, batch, ctx->workspace_size, dw != NULL);
        SlotArgs a = { .g = &g, .p = &p, .batch = batch, .ws = ctx->workspace,
                       .dx = dx, .dx_fresh = dx_fresh, .dw = dw, .x = x, .w = w, .dy = dy };
        conv_run_slots (&a, TRUE);
      }
      break;
    }
}

/* ONNX Conv: pads are begin..., end... (top, left, bottom, right), as Hone
 * keeps them; kernel_shape from the weight (M, C/group, kH, kW). */
static gboolean
conv_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HoneConvAttrs *a = node->attrs;
  const HoneValue *weight = hone_graph_value (hone_onnx_writer_graph (w), node->in[1]);
  Onnx__NodeProto *n = hone_onnx_writer_add_simple (w, node, "Conv");
  if (weight->kind != HONE_VALUE_ACTIVATION && weight->shape.rank == 4)
    hone_onnx_node_set_ints (w, n, "kernel_shape", (const int64_t[]) { weight->shape.d[2], weight->shape.d[3] }, 2);
  hone_onnx_node_set_ints (w, n, "strides", (const int64_t[]) { a->stride[0], a->stride[1] }, 2);
  hone_onnx_node_set_ints (w, n, "pads", (const int64_t[]) { a->pad[0], a->pad[1], a->pad[2], a->pad[3] }, 4);
  hone_onnx_node_set_ints (w, n, "dilations", (const int64_t[]) { a->dilation[0], a->dilation[1] }, 2);
  hone_onnx_node_set_int (w, n, "group", a->group);
  return TRUE;
}

const HoneOpClass hone_op_conv = {
  .name = "Conv",
  /* x for dW, w for dX; the bias gradient needs neither. */
  .keep_inputs = (1u << 0) | (1u << 1),
  .din_store = 1u << 0,
  .infer_shape = conv_infer_shape,
  .forward = conv_forward,
  .backward = conv_backward,
  .flops = conv_flops,
  .workspace_size = conv_workspace_size,
  .to_onnx = conv_to_onnx,
};

int
hone_graph_conv (HoneGraph *g, const char *name, int x, int w, int b,
                 const HoneConvAttrs *attrs, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  int in[3] = { x, w, b };
  HoneConvAttrs *a = hone_op_attrs_dup (attrs ? attrs : &conv_defaults);
  return hone_graph_add_node (g, &hone_op_conv, a, name, in, b >= 0 ? 3 : 2, 1, NULL, error);
}
