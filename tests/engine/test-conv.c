/* test-conv.c: the Conv op: forward and backward against a naive
 * direct-loop convolution written here, finite-difference gradient checks
 * for every attribute combination and lowering (im2col, pointwise 1x1,
 * depthwise and channel multiplier), frozen inputs, accumulation, and the
 * errors a bad model gives. */
#include "config.h"

#include <string.h>

#include "hone-test-util.h"

typedef struct
{
  const char *name;
  int N, C, H, W, M, kH, kW;
  int stride[2];
  int pad[4];               /* top, left, bottom, right */
  int dilation[2];
  int group;
  gboolean bias;
} ConvCase;

static int
out_size (int in, int k, int s, int p0, int p1, int d)
{
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

static void
case_out (const ConvCase *c, int *Ho, int *Wo)
{
  *Ho = out_size (c->H, c->kH, c->stride[0], c->pad[0], c->pad[2], c->dilation[0]);
  *Wo = out_size (c->W, c->kW, c->stride[1], c->pad[1], c->pad[3], c->dilation[1]);
}

/* Input index of output position o and tap k along one axis, or -1 when it
 * falls in the padding. */
static int
in_index (int o, int k, int s, int p0, int d, int in)
{
  int i = o * s - p0 + k * d;
  return i >= 0 && i < in ? i : -1;
}

/* y (N, M, Ho, Wo) = conv (x (N, C, H, W), w (M, C/g, kH, kW)) + b, straight
 * from the definition, in double. */
static void
naive_forward (float *y, const float *x, const float *w, const float *b, const ConvCase *c)
{
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  int Cg = c->C / c->group, Mg = c->M / c->group;
  for (int n = 0; n < c->N; n++)
    for (int m = 0; m < c->M; m++)
      for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++)
          {
            double acc = b ? b[m] : 0.0;
            int g = m / Mg;
            for (int ci = 0; ci < Cg; ci++)
              for (int i = 0; i < c->kH; i++)
                for (int j = 0; j < c->kW; j++)
                  {
                    int ih = in_index (oh, i, c->stride[0], c->pad[0], c->dilation[0], c->H);
                    int iw = in_index (ow, j, c->stride[1], c->pad[1], c->dilation[1], c->W);
                    if (ih < 0 || iw < 0)
                      continue;
                    int cin = g * Cg + ci;
                    acc += (double) w[((m * Cg + ci) * c->kH + i) * c->kW + j]
                           * x[((n * c->C + cin) * c->H + ih) * c->W + iw];
                  }
            y[((n * c->M + m) * Ho + oh) * Wo + ow] = (float) acc;
          }
}

/* The gradients of sum (y * dy), by the same loops: dx, dw, db (each may
 * be NULL), overwritten. */
static void
naive_backward (float *dx, float *dw, float *db, const float *dy, const float *x,
                const float *w, const ConvCase *c)
{
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  int Cg = c->C / c->group, Mg = c->M / c->group;
  double *ddx = g_new0 (double, (gsize) c->N * c->C * c->H * c->W);
  double *ddw = g_new0 (double, (gsize) c->M * Cg * c->kH * c->kW);
  double *ddb = g_new0 (double, c->M);
  for (int n = 0; n < c->N; n++)
    for (int m = 0; m < c->M; m++)
      for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++)
          {
            double g_out = dy[((n * c->M + m) * Ho + oh) * Wo + ow];
            ddb[m] += g_out;
            int g = m / Mg;
            for (int ci = 0; ci < Cg; ci++)
              for (int i = 0; i < c->kH; i++)
                for (int j = 0; j < c->kW; j++)
                  {
                    int ih = in_index (oh, i, c->stride[0], c->pad[0], c->dilation[0], c->H);
                    int iw = in_index (ow, j, c->stride[1], c->pad[1], c->dilation[1], c->W);
                    if (ih < 0 || iw < 0)
                      continue;
                    int xi = ((n * c->C + g * Cg + ci) * c->H + ih) * c->W + iw;
                    int wi = ((m * Cg + ci) * c->kH + i) * c->kW + j;
                    ddx[xi] += g_out * w[wi];
                    ddw[wi] += g_out * x[xi];
                  }
          }
  for (int k = 0; dx && k < c->N * c->C * c->H * c->W; k++)
    dx[k] = (float) ddx[k];
  for (int k = 0; dw && k < c->M * Cg * c->kH * c->kW; k++)
    dw[k] = (float) ddw[k];
  for (int k = 0; db && k < c->M; k++)
    db[k] = (float) ddb[k];
  g_free (ddx);
  g_free (ddw);
  g_free (ddb);
}

typedef struct
{
  HoneGraph *g;
  int x, w, b, y;
} ConvGraph;

static HoneConvAttrs
case_attrs (const ConvCase *c)
{
  HoneConvAttrs a = {
    .stride = { c->stride[0], c->stride[1] },
    .pad = { c->pad[0], c->pad[1], c->pad[2], c->pad[3] },
    .dilation = { c->dilation[0], c->dilation[1] },
    .group = c->group,
  };
  return a;
}

/* A graph x -> Conv -> y for the case, planned for backward at c->N, with
 * random inputs and weights. */
static ConvGraph
conv_graph_new (const ConvCase *c, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  ConvGraph cg = { .g = hone_graph_new (), .b = -1 };
  HoneShape xs = HONE_SHAPE (c->C, c->H, c->W);
  HoneShape ws = HONE_SHAPE (c->M, c->C / c->group, c->kH, c->kW);
  HoneShape bs = HONE_SHAPE (c->M);
  HoneConvAttrs a = case_attrs (c);
  cg.x = hone_graph_add_input (cg.g, "x", &xs, &error);
  cg.w = hone_graph_add_param (cg.g, "conv.weight", &ws, &error);
  if (c->bias)
    cg.b = hone_graph_add_param (cg.g, "conv.bias", &bs, &error);
  cg.y = hone_graph_conv (cg.g, "conv", cg.x, cg.w, cg.b, &a, &error);
  g_assert_no_error (error);
  hone_graph_add_output (cg.g, cg.y);
  hone_graph_set_input_needs_grad (cg.g, cg.x, TRUE);
  g_assert_true (hone_graph_plan (cg.g, c->N, TRUE, &error));
  g_assert_no_error (error);
  hone_test_fill_graph (cg.g, c->N, seed);
  return cg;
}

/* Runs forward and backward with a random dy and compares y, dx, dw and db
 * with the naive loops. */
static void
check_against_naive_threads (const ConvCase *c, uint64_t seed, int plan_threads, int run_threads)
{
  g_autoptr (GError) error = NULL;
  hone_set_num_threads (plan_threads);
  ConvGraph cg = conv_graph_new (c, seed);
  hone_set_num_threads (run_threads);
  HoneGraph *g = cg.g;
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  gsize nx = (gsize) c->N * c->C * c->H * c->W, ny = (gsize) c->N * c->M * Ho * Wo;
  gsize nw = (gsize) c->M * (c->C / c->group) * c->kH * c->kW;
  const float *x = hone_graph_input_data (g, cg.x);
  const float *w = hone_graph_value_data (g, cg.w);
  const float *b = c->bias ? hone_graph_value_data (g, cg.b) : NULL;

  g_assert_true (hone_graph_forward (g, c->N, TRUE, &error));
  HoneTensor y = hone_graph_tensor (g, cg.y);
  g_assert_cmpint (y.shape.d[1], ==, c->M);
  g_assert_cmpint (y.shape.d[2], ==, Ho);
  g_assert_cmpint (y.shape.d[3], ==, Wo);
  float *expect = g_new (float, ny);
  naive_forward (expect, x, w, b, c);
  g_autofree char *what = g_strdup_printf ("%s: y", c->name);
  hone_test_assert_close (what, y.data, expect, ny, 1e-4, 1e-4);

  HoneRng rng;
  hone_rng_init (&rng, seed, 3);
  float *dy = hone_graph_grad (g, cg.y);
  hone_test_fill_uniform (&rng, dy, ny, -1, 1);
  hone_graph_zero_grad (g);
  hone_graph_backward (g);

  float *edx = g_new (float, nx), *edw = g_new (float, nw), *edb = g_new (float, c->M);
  naive_backward (edx, edw, edb, dy, x, w, c);
  g_free (what);
  what = g_strdup_printf ("%s: dx", c->name);
  hone_test_assert_close (what, hone_graph_grad (g, cg.x), edx, nx, 1e-4, 1e-4);
  g_free (what);
  what = g_strdup_printf ("%s: dw", c->name);
  hone_test_assert_close (what, hone_graph_grad (g, cg.w), edw, nw, 1e-4, 1e-4);
  if (c->bias)
    {
      g_free (what);
      what = g_strdup_printf ("%s: db", c->name);
      hone_test_assert_close (what, hone_graph_grad (g, cg.b), edb, c->M, 1e-4, 1e-4);
    }
  g_free (expect);
  g_free (edx);
  g_free (edw);
  g_free (edb);
  hone_graph_free (g);
}

static void
check_against_naive (const ConvCase *c, uint64_t seed)
{
  int threads = hone_get_num_threads ();
  check_against_naive_threads (c, seed, threads, threads);
}

static void
gradcheck_case (const ConvCase *c)
{
  ConvGraph cg = conv_graph_new (c, 11);
  hone_test_gradcheck (cg.g, c->N, NULL);
  hone_graph_free (cg.g);
}

/* Small cases for both the gradient check and the naive comparison; each
 * covers one attribute or lowering. */
static const ConvCase small_cases[] = {
  /* name                 N  C  H  W  M kH kW stride  pad           dil     grp bias */
  { "basic",              2, 3, 5, 5, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "no-bias",            2, 3, 5, 5, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, FALSE },
  { "unpadded",           2, 2, 6, 5, 3, 3, 3, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, TRUE },
  { "stride-2",           2, 3, 7, 6, 4, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "stride-2-1",         2, 2, 7, 6, 3, 3, 2, {2, 1}, {1, 0, 1, 1}, {1, 1}, 1, FALSE },
  { "asymmetric-pads",    2, 3, 5, 6, 4, 3, 3, {1, 1}, {0, 1, 2, 0}, {1, 1}, 1, TRUE },
  { "asym-pads-stride-2", 2, 2, 6, 7, 3, 3, 3, {2, 2}, {2, 0, 1, 1}, {1, 1}, 1, TRUE },
  { "dilation-2",         2, 2, 7, 7, 3, 3, 3, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1, TRUE },
  { "dilation-2-1",       2, 2, 7, 6, 3, 3, 2, {2, 1}, {1, 0, 2, 1}, {2, 1}, 1, TRUE },
  { "rect-kernel",        2, 2, 6, 8, 3, 2, 4, {1, 1}, {1, 2, 0, 1}, {1, 1}, 1, TRUE },
  { "groups-2",           2, 4, 5, 5, 6, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, TRUE },
  { "groups-2-stride-2",  2, 4, 6, 6, 4, 3, 3, {2, 2}, {0, 1, 1, 0}, {1, 1}, 2, FALSE },
  { "depthwise",          2, 4, 5, 5, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 4, TRUE },
  { "depthwise-stride-2", 2, 3, 7, 6, 3, 3, 3, {2, 2}, {1, 0, 1, 2}, {1, 1}, 3, FALSE },
  { "depthwise-dilated",  2, 3, 7, 7, 3, 3, 3, {1, 2}, {2, 1, 2, 1}, {2, 2}, 3, TRUE },
  { "channel-multiplier", 2, 3, 5, 5, 6, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3, TRUE },
  { "depthwise-flat-dil", 2, 3, 7, 7, 3, 3, 3, {1, 1}, {2, 2, 2, 2}, {2, 2}, 3, TRUE },
  { "depthwise-flat-asym",2, 3, 6, 5, 6, 3, 3, {1, 1}, {0, 1, 2, 1}, {1, 1}, 3, FALSE },
  { "depthwise-5x5",      2, 2, 6, 6, 2, 5, 5, {1, 1}, {2, 2, 2, 2}, {1, 1}, 2, TRUE },
  { "depthwise-tiny",     2, 2, 2, 3, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, TRUE },
  { "multiplier-stride-3",2, 2, 8, 7, 6, 3, 2, {3, 2}, {1, 1, 0, 1}, {1, 1}, 2, TRUE },
  { "one-input-channel",  2, 1, 6, 6, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "pointwise",          2, 3, 16, 16, 4, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, TRUE },
  { "pointwise-groups",   2, 4, 16, 16, 6, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 2, FALSE },
  { "1x1-small-plane",    2, 3, 4, 4, 5, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, TRUE },
  { "1x1-stride-2",       2, 3, 6, 6, 4, 1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, TRUE },
  { "1x1-padded",         2, 2, 4, 5, 3, 1, 1, {1, 1}, {1, 0, 0, 1}, {1, 1}, 1, TRUE },
  { "kernel-fills-input", 2, 2, 3, 4, 3, 3, 4, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, TRUE },
  { "pads-wider-than-input", 2, 2, 2, 2, 3, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, 1, TRUE },
  { "depthwise-wide-pads",2, 2, 2, 3, 2, 5, 5, {1, 1}, {4, 3, 0, 1}, {1, 1}, 2, TRUE },
  { "batch-1",            1, 3, 5, 5, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
};

/* Bigger cases for the naive comparison only, sized against the 1 MB
 * workspace bound of a chunk: im2col chunks of several samples (3 at a
 * time, the last one shorter), chunks of one sample (the GEMM writes NCHW
 * directly), samples too big for the bound that are unfolded a block of
 * output rows at a time (even and uneven blocks, strided and grouped),
 * ResNet-like shapes. */
static const ConvCase big_cases[] = {
  { "several-chunks",     16, 32, 16, 16, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "uneven-chunks",      13, 32, 16, 16, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, FALSE },
  { "row-chunks",         2, 64, 96, 96, 8, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "row-chunks-uneven",  2, 100, 45, 45, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, FALSE },
  { "row-chunks-strided", 2, 160, 60, 60, 4, 3, 3, {2, 2}, {1, 0, 2, 1}, {2, 2}, 1, TRUE },
  { "row-chunks-groups",  2, 128, 40, 40, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, TRUE },
  { "one-sample-chunks",  3, 32, 24, 24, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "stem-7x7",           2, 3, 32, 32, 8, 7, 7, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1, FALSE },
  { "resnet-3x3",         4, 32, 8, 8, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, FALSE },
  { "resnet-downsample",  4, 16, 8, 8, 32, 1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, FALSE },
  { "pointwise-big",      3, 24, 20, 20, 16, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, TRUE },
  { "depthwise-big",      3, 24, 20, 20, 24, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 24, TRUE },
  { "depthwise-flat-big", 3, 24, 20, 19, 48, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 24, TRUE },
  { "one-channel-big",    4, 1, 28, 28, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, FALSE },
  /* Planes that fit CONV_SMALL_PLANE_FLOATS padded are unfolded through a
   * padded copy, so the small cases above go that way; the same
   * attributes on planes too big for it take the general unfolding. */
  { "big-asymmetric-pads",2, 3, 17, 18, 4, 3, 3, {1, 1}, {0, 1, 2, 0}, {1, 1}, 1, TRUE },
  { "big-asym-stride-2",  2, 2, 18, 19, 3, 3, 3, {2, 2}, {2, 0, 1, 1}, {1, 1}, 1, TRUE },
  { "big-dilation-2-1",   2, 2, 19, 18, 3, 3, 2, {2, 1}, {1, 0, 2, 1}, {2, 1}, 1, TRUE },
  { "big-rect-kernel",    2, 2, 18, 20, 3, 2, 4, {1, 1}, {1, 2, 0, 1}, {1, 1}, 1, TRUE },
  { "big-groups-stride-2",2, 4, 18, 18, 4, 3, 3, {2, 2}, {0, 1, 1, 0}, {1, 1}, 2, FALSE },
  /* a small plane with enough channels to be unfolded in row blocks */
  { "row-chunks-small-plane", 2, 520, 8, 8, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, TRUE },
  { "groups-4-big",       3, 16, 12, 12, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 4, TRUE },
};

static const ConvCase *
find_case (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (small_cases); i++)
    if (g_str_equal (small_cases[i].name, name))
      return &small_cases[i];
  for (gsize i = 0; i < G_N_ELEMENTS (big_cases); i++)
    if (g_str_equal (big_cases[i].name, name))
      return &big_cases[i];
  g_assert_not_reached ();
}

static void
test_forward_backward_naive (gconstpointer data)
{
  check_against_naive (data, 5);
}

static void
test_gradcheck (gconstpointer data)
{
  gradcheck_case (data);
}

/* With several threads, the parallel loops, the per-thread slices of the
 * batch (two threads: row chunks within a slice too) and OpenBLAS's threads
 * must give the same numbers. */
static void
test_threads (void)
{
  for (int threads = 2; threads <= 3; threads++)
    {
      hone_set_num_threads (threads);
      for (gsize i = 0; i < G_N_ELEMENTS (big_cases); i++)
        check_against_naive (&big_cases[i], 17);
    }
  hone_set_num_threads (1);
}

/* The thread count changed between planning and running: the workspace
 * holds fewer or other slices than the threads now want, and the numbers
 * stay right. */
static void
test_threads_changed (void)
{
  static const char *const names[] = { "several-chunks", "uneven-chunks", "row-chunks",
                                       "pointwise-big", "groups-4-big" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      check_against_naive_threads (find_case (names[i]), 19, 1, 3);
      check_against_naive_threads (find_case (names[i]), 19, 3, 2);
      check_against_naive_threads (find_case (names[i]), 19, 2, 1);
    }
  hone_set_num_threads (1);
}

/* A frozen weight gets no gradient, and dx is still right; an input that
 * needs no gradient with a frozen bias gets dw only. */
static void
test_frozen (void)
{
  const ConvCase *c = find_case ("stride-2");
  g_autoptr (GError) error = NULL;
  ConvGraph cg = conv_graph_new (c, 23);
  hone_graph_set_trainable (cg.g, cg.w, FALSE);
  g_assert_true (hone_graph_plan (cg.g, c->N, TRUE, &error));
  hone_test_fill_graph (cg.g, c->N, 23);
  g_assert_null (hone_graph_grad (cg.g, cg.w));
  hone_test_gradcheck (cg.g, c->N, NULL);

  hone_graph_set_trainable (cg.g, cg.w, TRUE);
  hone_graph_set_trainable (cg.g, cg.b, FALSE);
  hone_graph_set_input_needs_grad (cg.g, cg.x, FALSE);
  g_assert_true (hone_graph_plan (cg.g, c->N, TRUE, &error));
  hone_test_fill_graph (cg.g, c->N, 23);
  g_assert_null (hone_graph_grad (cg.g, cg.x));
  g_assert_null (hone_graph_grad (cg.g, cg.b));
  g_assert_true (hone_graph_forward (cg.g, c->N, TRUE, &error));
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  gsize ny = (gsize) c->N * c->M * Ho * Wo, nw = (gsize) c->M * c->C * c->kH * c->kW;
  HoneRng rng;
  hone_rng_init (&rng, 41, 1);
  hone_test_fill_uniform (&rng, hone_graph_grad (cg.g, cg.y), ny, -1, 1);
  hone_graph_zero_grad (cg.g);
  hone_graph_backward (cg.g);
  float *edw = g_new (float, nw);
  naive_backward (NULL, edw, NULL, hone_graph_grad (cg.g, cg.y), hone_graph_input_data (cg.g, cg.x),
                  hone_graph_value_data (cg.g, cg.w), c);
  hone_test_assert_close ("dw only", hone_graph_grad (cg.g, cg.w), edw, nw, 1e-4, 1e-4);
  g_free (edw);
  hone_graph_free (cg.g);
}

/* Parameter gradients accumulate across backward calls, and the input's
 * gradient sums the contributions of the convolutions that read it (one per
 * lowering: im2col, depthwise, pointwise). */
static void
test_accumulate (gconstpointer data)
{
  hone_set_num_threads (GPOINTER_TO_INT (data));
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  /* Backward runs them last to first: each but the basic one adds onto
   * a gradient that is already there. */
  ConvCase k[3] = { *find_case ("pointwise"), *find_case ("depthwise"), *find_case ("basic") };  /* pointwise, depthwise, basic */
  int w[3], y[3];
  HoneShape xs = HONE_SHAPE (4, 16, 16);
  int x = hone_graph_add_input (g, "x", &xs, &error);
  for (int i = 0; i < 3; i++)
    {
      k[i].C = 4;
      k[i].H = k[i].W = 16;
      HoneShape ws = HONE_SHAPE (k[i].M, k[i].C / k[i].group, k[i].kH, k[i].kW);
      HoneConvAttrs a = case_attrs (&k[i]);
      g_autofree char *wname = g_strdup_printf ("w%d", i);
      g_autofree char *cname = g_strdup_printf ("conv%d", i);
      w[i] = hone_graph_add_param (g, wname, &ws, &error);
      y[i] = hone_graph_conv (g, cname, x, w[i], -1, &a, &error);
      g_assert_no_error (error);
      hone_graph_add_output (g, y[i]);
    }
  hone_graph_set_input_needs_grad (g, x, TRUE);
  g_assert_true (hone_graph_plan (g, 2, TRUE, &error));
  hone_test_fill_graph (g, 2, 29);
  g_assert_true (hone_graph_forward (g, 2, TRUE, &error));

  HoneRng rng;
  hone_rng_init (&rng, 31, 1);
  for (int i = 0; i < 3; i++)
    hone_test_fill_uniform (&rng, hone_graph_grad (g, y[i]), 2 * k[i].M * 16 * 16, -1, 1);
  hone_graph_zero_grad (g);
  hone_graph_backward (g);
  hone_graph_backward (g);

  gsize nx = 2 * 4 * 16 * 16;
  const float *xd = hone_graph_input_data (g, x);
  float *dx = g_new0 (float, nx), *dxi = g_new (float, nx);
  for (int i = 0; i < 3; i++)
    {
      gsize nw = (gsize) k[i].M * (k[i].C / k[i].group) * k[i].kH * k[i].kW;
      float *dw = g_new (float, nw);
      naive_backward (dxi, dw, NULL, hone_graph_grad (g, y[i]), xd, hone_graph_value_data (g, w[i]), &k[i]);
      for (gsize j = 0; j < nx; j++)
        dx[j] += dxi[j];
      for (gsize j = 0; j < nw; j++)
        dw[j] *= 2;
      g_autofree char *what = g_strdup_printf ("dw%d (two backwards)", i);
      hone_test_assert_close (what, hone_graph_grad (g, w[i]), dw, nw, 1e-4, 1e-4);
      g_free (dw);
    }
  hone_test_assert_close ("dx (three consumers)", hone_graph_grad (g, x), dx, nx, 1e-4, 1e-4);
  g_free (dx);
  g_free (dxi);
  hone_set_num_threads (1);
}

/* A batch smaller than the planned maximum runs the same numbers. */
static void
test_smaller_batch (void)
{
  ConvCase c = *find_case ("several-chunks");
  g_autoptr (GError) error = NULL;
  ConvGraph cg = conv_graph_new (&c, 37);
  c.N = 5;
  int Ho, Wo;
  case_out (&c, &Ho, &Wo);
  g_assert_true (hone_graph_forward (cg.g, c.N, FALSE, &error));
  gsize ny = (gsize) c.N * c.M * Ho * Wo;
  float *expect = g_new (float, ny);
  naive_forward (expect, hone_graph_input_data (cg.g, cg.x), hone_graph_value_data (cg.g, cg.w),
                 hone_graph_value_data (cg.g, cg.b), &c);
  hone_test_assert_close ("y at batch 5", hone_graph_tensor (cg.g, cg.y).data, expect, ny, 1e-4, 1e-5);
  g_free (expect);
  hone_graph_free (cg.g);
}

static void
test_flops (void)
{
  g_autoptr (GError) error = NULL;
  ConvGraph cg = conv_graph_new (find_case ("basic"), 1);
  /* 4 x 5 x 5 outputs, each 3 x 3 x 3 multiply-adds and a bias */
  g_assert_cmpfloat (hone_graph_flops (cg.g), ==, 100.0 * (2 * 27 + 1));
  hone_graph_free (cg.g);
}

/* Each bad model names the node and says what was expected. */
static void
expect_error (const ConvCase *c, int bias_len, int w_cin, int code, const char *fragment)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape xs = HONE_SHAPE (c->C, c->H, c->W);
  HoneShape ws = HONE_SHAPE (c->M, w_cin, c->kH, c->kW);
  HoneShape bs = HONE_SHAPE (bias_len);
  HoneConvAttrs a = case_attrs (c);
  int x = hone_graph_add_input (g, "x", &xs, &error);
  int w = hone_graph_add_param (g, "w", &ws, &error);
  int b = bias_len > 0 ? hone_graph_add_param (g, "b", &bs, &error) : -1;
  g_assert_no_error (error);
  g_assert_cmpint (hone_graph_conv (g, "layer1.conv", x, w, b, &a, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "'layer1.conv'"));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_errors (void)
{
  ConvCase c = *find_case ("basic");
  int cin = c.C;

  c.group = 2;             /* 3 channels */
  expect_error (&c, 4, 1, HONE_ERROR_SHAPE, "not a positive multiple of group 2");
  c = *find_case ("groups-2");     /* C 4, M 6 */
  expect_error (&c, 6, 4, HONE_ERROR_SHAPE, "expected 2");
  c.M = 5;
  expect_error (&c, 5, 2, HONE_ERROR_SHAPE, "output channels");
  c = *find_case ("basic");
  c.kH = c.kW = 9;         /* 5 + 2 padding */
  expect_error (&c, 4, cin, HONE_ERROR_SHAPE, "larger than the padded input");
  c = *find_case ("basic");
  c.dilation[0] = 4;       /* extent 9 */
  expect_error (&c, 4, cin, HONE_ERROR_SHAPE, "larger than the padded input");
  c = *find_case ("basic");
  c.stride[1] = 0;
  expect_error (&c, 4, cin, HONE_ERROR_ATTRIBUTE, "strides (1, 0)");
  c = *find_case ("basic");
  c.dilation[0] = 0;
  expect_error (&c, 4, cin, HONE_ERROR_ATTRIBUTE, "dilations (0, 1)");
  c = *find_case ("basic");
  c.pad[2] = -1;
  expect_error (&c, 4, cin, HONE_ERROR_ATTRIBUTE, "must not be negative");
  c = *find_case ("basic");
  c.group = 0;
  expect_error (&c, 4, cin, HONE_ERROR_ATTRIBUTE, "group is 0");
  c = *find_case ("basic");
  expect_error (&c, 3, cin, HONE_ERROR_SHAPE, "bias has shape (3); expected (4)");

  /* Wrong ranks. */
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape xs = HONE_SHAPE (3, 5), ws = HONE_SHAPE (4, 3, 3, 3), ws3 = HONE_SHAPE (4, 3, 3);
  HoneShape xs4 = HONE_SHAPE (3, 5, 5);
  int x = hone_graph_add_input (g, "x", &xs, &error);
  int x4 = hone_graph_add_input (g, "x4", &xs4, &error);
  int w = hone_graph_add_param (g, "w", &ws, &error);
  int w3 = hone_graph_add_param (g, "w3", &ws3, &error);
  g_assert_cmpint (hone_graph_conv (g, "c1", x, w, -1, NULL, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "expected (N, C, H, W)"));
  g_clear_error (&error);
  g_assert_cmpint (hone_graph_conv (g, "c2", x4, w3, -1, NULL, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "expected (M, C/group, kH, kW)"));
  g_clear_error (&error);
  /* NULL attributes are the defaults: stride 1, no padding. */
  int y = hone_graph_conv (g, "c3", x4, w, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_graph_value (g, y)->shape.d[1], ==, 3);
  g_assert_cmpint (hone_graph_value (g, y)->shape.d[2], ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hone_set_num_threads (1);
  for (gsize i = 0; i < G_N_ELEMENTS (small_cases); i++)
    {
      g_autofree char *p1 = g_strdup_printf ("/engine/conv/gradcheck/%s", small_cases[i].name);
      g_autofree char *p2 = g_strdup_printf ("/engine/conv/naive/%s", small_cases[i].name);
      g_test_add_data_func (p1, &small_cases[i], test_gradcheck);
      g_test_add_data_func (p2, &small_cases[i], test_forward_backward_naive);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (big_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/conv/naive/%s", big_cases[i].name);
      g_test_add_data_func (p, &big_cases[i], test_forward_backward_naive);
    }
  g_test_add_func ("/engine/conv/threads", test_threads);
  g_test_add_func ("/engine/conv/threads-changed", test_threads_changed);
  g_test_add_func ("/engine/conv/frozen", test_frozen);
  g_test_add_data_func ("/engine/conv/accumulate", GINT_TO_POINTER (1), test_accumulate);
  g_test_add_data_func ("/engine/conv/accumulate/threads", GINT_TO_POINTER (2), test_accumulate);
  g_test_add_func ("/engine/conv/smaller-batch", test_smaller_batch);
  g_test_add_func ("/engine/conv/flops", test_flops);
  g_test_add_func ("/engine/conv/errors", test_errors);
  return g_test_run ();
}
