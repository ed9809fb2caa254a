/* test-pool.c: MaxPool, AveragePool and GlobalAveragePool: forward and
 * backward against naive loops written here from PyTorch's definitions,
 * output sizes and values PyTorch 1.13 computed for the ceil_mode and
 * count_include_pad corner cases, tie-breaking, gradient checks for every
 * attribute combination, and the errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

typedef struct
{
  const char *name;
  int N, C, H, W;
  int kernel[2], stride[2];
  int pad[4];               /* top, left, bottom, right */
  int dilation[2];
  gboolean ceil_mode;
} PoolCase;

static int
naive_out (int in, int k, int s, int p0, int p1, int d, gboolean ceil_mode)
{
  int span = in + p0 + p1 - d * (k - 1) - 1;
  int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* PyTorch: the last window must start inside the input or left padding */
  if (ceil_mode && (out - 1) * s >= in + p0)
    out--;
  return out;
}

static void
case_out (const PoolCase *c, int *Ho, int *Wo)
{
  *Ho = naive_out (c->H, c->kernel[0], c->stride[0], c->pad[0], c->pad[2], c->dilation[0], c->ceil_mode);
  *Wo = naive_out (c->W, c->kernel[1], c->stride[1], c->pad[1], c->pad[3], c->dilation[1], c->ceil_mode);
}

static HonePoolAttrs
case_attrs (const PoolCase *c, gboolean count_include_pad)
{
  HonePoolAttrs a = {
    .kernel = { c->kernel[0], c->kernel[1] },
    .stride = { c->stride[0], c->stride[1] },
    .pad = { c->pad[0], c->pad[1], c->pad[2], c->pad[3] },
    .dilation = { c->dilation[0], c->dilation[1] },
    .ceil_mode = c->ceil_mode,
    .count_include_pad = count_include_pad,
  };
  return a;
}

/* Max pooling the slow way: every tap, bounds-checked; the first maximum
 * wins, NaN wins.  Writes y and, when dx is given, adds dy into dx at the
 * winners. */
static void
naive_max_pool (float *y, float *dx, const float *dy, const float *x, const PoolCase *c)
{
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  for (int p = 0; p < c->N * c->C; p++)
    for (int oh = 0; oh < Ho; oh++)
      for (int ow = 0; ow < Wo; ow++)
        {
          float best = 0;
          int arg = -1;
          for (int i = 0; i < c->kernel[0]; i++)
            for (int j = 0; j < c->kernel[1]; j++)
              {
                int ih = oh * c->stride[0] - c->pad[0] + i * c->dilation[0];
                int iw = ow * c->stride[1] - c->pad[1] + j * c->dilation[1];
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W)
                  continue;
                float v = x[(p * c->H + ih) * c->W + iw];
                if (arg < 0 || v > best || isnan (v))
                  {
                    best = v;
                    arg = ih * c->W + iw;
                  }
              }
          g_assert_cmpint (arg, >=, 0);
          int o = (p * Ho + oh) * Wo + ow;
          if (y)
            y[o] = best;
          if (dx)
            dx[p * c->H * c->W + arg] += dy[o];
        }
}

/* Average pooling as PyTorch's kernel defines it: the window clipped to the
 * padded input gives the divisor with count_include_pad, the input
 * elements inside it otherwise. */
static void
naive_avg_pool (float *y, float *dx, const float *dy, const float *x, const PoolCase *c,
                gboolean count_include_pad)
{
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  for (int p = 0; p < c->N * c->C; p++)
    for (int oh = 0; oh < Ho; oh++)
      for (int ow = 0; ow < Wo; ow++)
        {
          int h0 = oh * c->stride[0] - c->pad[0], w0 = ow * c->stride[1] - c->pad[1];
          int h1 = MIN (h0 + c->kernel[0], c->H + c->pad[2]);
          int w1 = MIN (w0 + c->kernel[1], c->W + c->pad[3]);
          int padded = (h1 - h0) * (w1 - w0), inside = 0;
          double sum = 0;
          for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
              if (ih >= 0 && ih < c->H && iw >= 0 && iw < c->W)
                {
                  sum += x[(p * c->H + ih) * c->W + iw];
                  inside++;
                }
          int div = count_include_pad ? padded : inside;
          int o = (p * Ho + oh) * Wo + ow;
          if (y)
            y[o] = (float) (sum / div);
          if (dx)
            for (int ih = h0; ih < h1; ih++)
              for (int iw = w0; iw < w1; iw++)
                if (ih >= 0 && ih < c->H && iw >= 0 && iw < c->W)
                  dx[(p * c->H + ih) * c->W + iw] += dy[o] / div;
        }
}

typedef struct
{
  HoneGraph *g;
  int x, y;
} PoolGraph;

/* x -> pool -> y, planned for backward, random input. */
static PoolGraph
pool_graph_new (const PoolCase *c, gboolean max, gboolean count_include_pad, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  PoolGraph pg = { .g = hone_graph_new () };
  HoneShape xs = HONE_SHAPE (c->C, c->H, c->W);
  HonePoolAttrs a = case_attrs (c, count_include_pad);
  pg.x = hone_graph_add_input (pg.g, "x", &xs, &error);
  pg.y = max ? hone_graph_max_pool (pg.g, "pool", pg.x, &a, &error)
             : hone_graph_avg_pool (pg.g, "pool", pg.x, &a, &error);
  g_assert_no_error (error);
  hone_graph_add_output (pg.g, pg.y);
  hone_graph_set_input_needs_grad (pg.g, pg.x, TRUE);
  g_assert_true (hone_graph_plan (pg.g, c->N, TRUE, &error));
  hone_test_fill_graph (pg.g, c->N, seed);
  return pg;
}

/* Distinct values 0.05 apart in a random order, so that a finite-difference
 * step of 0.01 never changes which element is the maximum. */
static void
fill_distinct (float *x, int n, uint64_t seed)
{
  HoneRng rng;
  hone_rng_init (&rng, seed, 2);
  int *perm = g_new (int, n);
  for (int i = 0; i < n; i++)
    perm[i] = i;
  hone_rng_shuffle (&rng, perm, n);
  for (int i = 0; i < n; i++)
    x[i] = 0.05f * (perm[i] - n / 2);
  g_free (perm);
}

static const PoolCase max_cases[] = {
  /* name               N  C  H  W  kernel  stride  pad           dil     ceil */
  { "2x2",              2, 3, 6, 6, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, FALSE },
  { "3x3-s2-p1",        2, 2, 7, 7, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, FALSE },
  { "3x3-s1",           2, 2, 5, 6, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, FALSE },
  { "asymmetric-pads",  2, 2, 6, 5, {3, 3}, {1, 2}, {0, 1, 2, 0}, {1, 1}, FALSE },
  { "dilation-2",       2, 2, 7, 7, {2, 3}, {1, 2}, {1, 1, 1, 1}, {2, 2}, FALSE },
  { "rect",             2, 2, 6, 9, {2, 3}, {1, 3}, {1, 0, 0, 1}, {1, 1}, FALSE },
  { "ceil",             2, 2, 5, 5, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, TRUE },
  { "ceil-last-window", 2, 2, 5, 5, {2, 2}, {2, 2}, {1, 1, 1, 1}, {1, 1}, TRUE },
  { "ceil-3x3-s2-p1",   2, 2, 6, 6, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, TRUE },
  { "ceil-dilation",    2, 2, 8, 8, {3, 3}, {3, 3}, {1, 1, 1, 1}, {2, 2}, TRUE },
  { "ceil-asymmetric",  2, 2, 7, 6, {3, 2}, {2, 2}, {1, 0, 0, 1}, {1, 1}, TRUE },
  { "big-planes",       3, 5, 33, 30, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, FALSE },
  /* the 2x2 stride-2 kernel: four outputs at a time, a tail, odd sizes */
  { "2x2-wide",         2, 3, 6, 22, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, FALSE },
  { "2x2-odd",          2, 2, 7, 19, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, FALSE },
  { "2x2-ceil-odd",     1, 2, 7, 19, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, TRUE },
};

/* AveragePool cases: no dilation; each runs with count_include_pad on and off. */
static const PoolCase avg_cases[] = {
  { "2x2",              2, 3, 6, 6, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, FALSE },
  { "3x3-s1-p1",        2, 2, 5, 5, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, FALSE },
  { "3x3-s2-p1",        2, 2, 7, 6, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, FALSE },
  { "asymmetric-pads",  2, 2, 6, 5, {3, 2}, {1, 2}, {0, 1, 2, 0}, {1, 1}, FALSE },
  { "ceil",             2, 2, 5, 5, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, TRUE },
  { "ceil-pad",         2, 2, 6, 6, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, TRUE },
  { "ceil-asymmetric",  2, 2, 7, 6, {3, 2}, {2, 2}, {1, 0, 0, 1}, {1, 1}, TRUE },
  { "big-planes",       3, 5, 33, 30, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, TRUE },
};

typedef struct
{
  const PoolCase *c;
  gboolean max;
  gboolean count_include_pad;
} PoolTest;

/* Forward, and backward with a random dy, against the naive loops. */
static void
test_naive (gconstpointer data)
{
  const PoolTest *t = data;
  const PoolCase *c = t->c;
  g_autoptr (GError) error = NULL;
  PoolGraph pg = pool_graph_new (c, t->max, t->count_include_pad, 3);
  int Ho, Wo;
  case_out (c, &Ho, &Wo);
  gsize nx = (gsize) c->N * c->C * c->H * c->W, ny = (gsize) c->N * c->C * Ho * Wo;
  float *x = hone_graph_input_data (pg.g, pg.x);
  if (t->max)
    fill_distinct (x, nx, 3);
  g_assert_true (hone_graph_forward (pg.g, c->N, TRUE, &error));
  HoneTensor y = hone_graph_tensor (pg.g, pg.y);
  g_assert_cmpint (y.shape.d[2], ==, Ho);
  g_assert_cmpint (y.shape.d[3], ==, Wo);

  float *ey = g_new (float, ny), *edx = g_new0 (float, nx);
  HoneRng rng;
  hone_rng_init (&rng, 9, 9);
  float *dy = hone_graph_grad (pg.g, pg.y);
  hone_test_fill_uniform (&rng, dy, ny, -1, 1);
  hone_graph_backward (pg.g);
  if (t->max)
    naive_max_pool (ey, edx, dy, x, c);
  else
    naive_avg_pool (ey, edx, dy, x, c, t->count_include_pad);
  hone_test_assert_close ("y", y.data, ey, ny, 1e-6, 1e-6);
  hone_test_assert_close ("dx", hone_graph_grad (pg.g, pg.x), edx, nx, 1e-5, 1e-6);
  g_free (ey);
  g_free (edx);
  hone_graph_free (pg.g);
}

static void
test_gradcheck (gconstpointer data)
{
  const PoolTest *t = data;
  const PoolCase *c = t->c;
  PoolGraph pg = pool_graph_new (c, t->max, t->count_include_pad, 5);
  if (t->max)
    fill_distinct (hone_graph_input_data (pg.g, pg.x), c->N * c->C * c->H * c->W, 5);
  hone_test_gradcheck (pg.g, c->N, NULL);
  hone_graph_free (pg.g);
}

/* Output sizes and values PyTorch 1.13 gives for x = 1, 2, ... in one plane
 * (torch.nn.functional.max_pool2d / avg_pool2d). */
static void
check_torch_values (const PoolCase *c, gboolean max, gboolean count_include_pad,
                    int Ho, int Wo, const float *expect)
{
  g_autoptr (GError) error = NULL;
  PoolGraph pg = pool_graph_new (c, max, count_include_pad, 1);
  float *x = hone_graph_input_data (pg.g, pg.x);
  for (int i = 0; i < c->H * c->W; i++)
    x[i] = (float) (i + 1);
  g_assert_true (hone_graph_forward (pg.g, 1, FALSE, &error));
  HoneTensor y = hone_graph_tensor (pg.g, pg.y);
  g_assert_cmpint (y.shape.d[2], ==, Ho);
  g_assert_cmpint (y.shape.d[3], ==, Wo);
  hone_test_assert_close (c->name, y.data, expect, Ho * Wo, 1e-6, 0);
  hone_graph_free (pg.g);
}

static void
test_torch_values (void)
{
  static const PoolCase avg6 = { "avg k3 s2 p1 ceil", 1, 1, 6, 6, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, TRUE };
  static const float avg6_incl[16] = { 2, 4, 16 / 3.0f, 3, 9, 15, 17, 9, 17, 27, 29, 15, 10.5f, 16.5f, 17.5f, 9 };
  static const float avg6_excl[16] = { 4.5f, 6, 8, 9, 13.5f, 15, 17, 18, 25.5f, 27, 29, 30, 31.5f, 33, 35, 36 };
  static const PoolCase max5p = { "max k2 s2 p1 ceil", 1, 1, 5, 5, {2, 2}, {2, 2}, {1, 1, 1, 1}, {1, 1}, TRUE };
  static const float max5p_y[9] = { 1, 3, 5, 11, 13, 15, 21, 23, 25 };
  static const PoolCase max5 = { "max k2 s2 ceil", 1, 1, 5, 5, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, TRUE };
  static const float max5_y[9] = { 7, 9, 10, 17, 19, 20, 22, 24, 25 };
  static const float avg5_y[9] = { 4, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25 };
  static const PoolCase max8 = { "max k3 s3 p1 d2 ceil", 1, 1, 8, 8, {3, 3}, {3, 3}, {1, 1, 1, 1}, {2, 2}, TRUE };
  static const float max8_y[9] = { 28, 31, 32, 52, 55, 56, 60, 63, 64 };

  check_torch_values (&avg6, FALSE, TRUE, 4, 4, avg6_incl);
  check_torch_values (&avg6, FALSE, FALSE, 4, 4, avg6_excl);
  check_torch_values (&max5p, TRUE, FALSE, 3, 3, max5p_y);
  check_torch_values (&max5, TRUE, FALSE, 3, 3, max5_y);
  check_torch_values (&max5, FALSE, TRUE, 3, 3, avg5_y);
  check_torch_values (&max8, TRUE, FALSE, 3, 3, max8_y);
}

/* Ties go to the first maximum in row-major window order (PyTorch), and a
 * NaN wins over any number. */
static void
test_max_ties_nan (void)
{
  static const PoolCase c = { "ties", 1, 1, 2, 4, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, FALSE };
  g_autoptr (GError) error = NULL;
  PoolGraph pg = pool_graph_new (&c, TRUE, FALSE, 1);
  float x[8] = { 3, 3, 1, NAN,
                 3, 3, 2, 5 };
  memcpy (hone_graph_input_data (pg.g, pg.x), x, sizeof x);
  g_assert_true (hone_graph_forward (pg.g, 1, TRUE, &error));
  HoneTensor y = hone_graph_tensor (pg.g, pg.y);
  g_assert_cmpfloat (y.data[0], ==, 3);
  g_assert_true (isnan (y.data[1]));
  float *dy = hone_graph_grad (pg.g, pg.y);
  dy[0] = 1;
  dy[1] = 2;
  hone_graph_backward (pg.g);
  float expect[8] = { 1, 0, 0, 2,
                      0, 0, 0, 0 };
  hone_test_assert_close ("dx", hone_graph_grad (pg.g, pg.x), expect, 8, 0, 0);
  hone_graph_free (pg.g);
}

/* Ties and NaNs in every position of the windows, across the lanes of the
 * 2x2 kernel and of the row runs (strides 1 and 2, padded and dilated) and
 * their edges, against the naive loop. */
static const PoolCase ties_cases[] = {
  { "2x2",         2, 3, 8, 26, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, FALSE },
  { "3x3-s2-p1",   2, 3, 9, 37, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, FALSE },
  { "3x3-s1-p1",   2, 2, 7, 30, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, FALSE },
  { "3x2-s2-dil",  1, 2, 9, 40, {3, 2}, {1, 2}, {1, 2, 0, 1}, {2, 3}, TRUE },
};

static void
test_max_ties_nan_wide (gconstpointer data)
{
  const PoolCase c = *(const PoolCase *) data;
  g_autoptr (GError) error = NULL;
  PoolGraph pg = pool_graph_new (&c, TRUE, FALSE, 1);
  int Ho, Wo;
  case_out (&c, &Ho, &Wo);
  int nx = c.N * c.C * c.H * c.W, ny = c.N * c.C * Ho * Wo;
  float *x = hone_graph_input_data (pg.g, pg.x);
  HoneRng rng;
  hone_rng_init (&rng, 4, 4);
  for (int i = 0; i < nx; i++)
    {
      /* three values, so that most windows tie, and one NaN in eleven */
      uint32_t r = hone_rng_next (&rng);
      x[i] = r % 11 == 0 ? NAN : (float) (r % 3);
    }
  g_assert_true (hone_graph_forward (pg.g, c.N, TRUE, &error));
  HoneTensor y = hone_graph_tensor (pg.g, pg.y);
  float *dy = hone_graph_grad (pg.g, pg.y);
  for (int o = 0; o < ny; o++)
    dy[o] = (float) (o + 1);
  hone_graph_backward (pg.g);

  float *ey = g_new (float, ny), *edx = g_new0 (float, nx);
  naive_max_pool (ey, edx, dy, x, &c);
  for (int o = 0; o < ny; o++)
    if (isnan (ey[o]))
      g_assert_true (isnan (y.data[o]));
    else
      g_assert_cmpfloat (y.data[o], ==, ey[o]);
  hone_test_assert_close ("dx", hone_graph_grad (pg.g, pg.x), edx, nx, 0, 0);
  g_free (ey);
  g_free (edx);
  hone_graph_free (pg.g);
}

/* GlobalAveragePool: the plane means, and gradients spread evenly. */
static void
test_global_avg_pool (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape xs = HONE_SHAPE (3, 5, 7);
  int x = hone_graph_add_input (g, "x", &xs, &error);
  int y = hone_graph_global_avg_pool (g, "gap", x, &error);
  g_assert_no_error (error);
  const HoneValue *yv = hone_graph_value (g, y);
  g_assert_cmpint (yv->shape.rank, ==, 3);
  g_assert_cmpint (yv->shape.d[0], ==, 3);
  g_assert_cmpint (yv->shape.d[1], ==, 1);
  g_assert_cmpint (yv->shape.d[2], ==, 1);
  hone_graph_add_output (g, y);
  hone_graph_set_input_needs_grad (g, x, TRUE);
  g_assert_true (hone_graph_plan (g, 2, TRUE, &error));
  hone_test_fill_graph (g, 2, 3);
  g_assert_true (hone_graph_forward (g, 2, TRUE, &error));
  const float *xd = hone_graph_input_data (g, x);
  float expect[6];
  for (int p = 0; p < 6; p++)
    {
      double s = 0;
      for (int k = 0; k < 35; k++)
        s += xd[p * 35 + k];
      expect[p] = (float) (s / 35);
    }
  hone_test_assert_close ("y", hone_graph_tensor (g, y).data, expect, 6, 1e-6, 1e-7);
  float *dy = hone_graph_grad (g, y);
  for (int p = 0; p < 6; p++)
    dy[p] = (float) (p + 1);
  hone_graph_backward (g);
  float dx[210];
  for (int k = 0; k < 210; k++)
    dx[k] = (float) (k / 35 + 1) / 35.0f;
  hone_test_assert_close ("dx", hone_graph_grad (g, x), dx, 210, 1e-6, 0);
  hone_test_gradcheck (g, 2, NULL);
}

static void
test_threads (void)
{
  hone_set_num_threads (3);
  PoolTest mt = { &max_cases[G_N_ELEMENTS (max_cases) - 1], TRUE, FALSE };
  PoolTest at = { &avg_cases[G_N_ELEMENTS (avg_cases) - 1], FALSE, TRUE };
  test_naive (&mt);
  test_naive (&at);
  test_global_avg_pool ();
  hone_set_num_threads (1);
}

static void
expect_error (const HonePoolAttrs *a, gboolean max, const HoneShape *xs, int code, const char *fragment)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  int x = hone_graph_add_input (g, "x", xs, &error);
  int y = max ? hone_graph_max_pool (g, "layer1.pool", x, a, &error)
              : hone_graph_avg_pool (g, "layer1.pool", x, a, &error);
  g_assert_cmpint (y, ==, -1);
  g_assert_error (error, HONE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "'layer1.pool'"));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_errors (void)
{
  HoneShape xs = HONE_SHAPE (2, 5, 5), x2 = HONE_SHAPE (2, 5);
  HonePoolAttrs ok = { .kernel = { 2, 2 }, .stride = { 2, 2 }, .dilation = { 1, 1 } }, a;

  for (int max = 0; max < 2; max++)
    {
      a = ok;
      a.kernel[1] = 0;
      expect_error (&a, max, &xs, HONE_ERROR_ATTRIBUTE, "kernel (2, 0)");
      a = ok;
      a.stride[0] = 0;
      expect_error (&a, max, &xs, HONE_ERROR_ATTRIBUTE, "strides (0, 2)");
      a = ok;
      a.pad[3] = -1;
      expect_error (&a, max, &xs, HONE_ERROR_ATTRIBUTE, "must not be negative");
      a = ok;
      a.kernel[0] = 8;
      expect_error (&a, max, &xs, HONE_ERROR_SHAPE, "larger than the padded input");
      a = ok;
      a.pad[0] = 2;      /* the first window covers rows -2 and -1 */
      expect_error (&a, max, &xs, HONE_ERROR_ATTRIBUTE, "covers only padding");
      expect_error (&ok, max, &x2, HONE_ERROR_SHAPE, "expected (N, C, H, W)");
    }
  a = ok;
  a.dilation[1] = 0;
  expect_error (&a, TRUE, &xs, HONE_ERROR_ATTRIBUTE, "dilations (1, 0)");
  a = ok;
  a.dilation[0] = 2;
  expect_error (&a, FALSE, &xs, HONE_ERROR_ATTRIBUTE, "not supported");

  /* GlobalAveragePool needs at least one spatial axis. */
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape x1 = HONE_SHAPE (5);
  int x = hone_graph_add_input (g, "x", &x1, &error);
  g_assert_cmpint (hone_graph_global_avg_pool (g, "gap", x, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'gap'"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hone_set_num_threads (1);
  GPtrArray *tests = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (max_cases); i++)
    {
      PoolTest *t = g_new0 (PoolTest, 1);
      *t = (PoolTest) { &max_cases[i], TRUE, FALSE };
      g_ptr_array_add (tests, t);
      g_autofree char *p1 = g_strdup_printf ("/engine/max-pool/naive/%s", max_cases[i].name);
      g_autofree char *p2 = g_strdup_printf ("/engine/max-pool/gradcheck/%s", max_cases[i].name);
      g_test_add_data_func (p1, t, test_naive);
      if (max_cases[i].N * max_cases[i].C * max_cases[i].H * max_cases[i].W < 1000)
        g_test_add_data_func (p2, t, test_gradcheck);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (avg_cases); i++)
    for (int incl = 0; incl < 2; incl++)
      {
        PoolTest *t = g_new0 (PoolTest, 1);
        *t = (PoolTest) { &avg_cases[i], FALSE, incl };
        g_ptr_array_add (tests, t);
        const char *mode = incl ? "include-pad" : "exclude-pad";
        g_autofree char *p1 = g_strdup_printf ("/engine/avg-pool/naive/%s/%s", avg_cases[i].name, mode);
        g_autofree char *p2 = g_strdup_printf ("/engine/avg-pool/gradcheck/%s/%s", avg_cases[i].name, mode);
        g_test_add_data_func (p1, t, test_naive);
        if (avg_cases[i].N * avg_cases[i].C * avg_cases[i].H * avg_cases[i].W < 1000)
          g_test_add_data_func (p2, t, test_gradcheck);
      }
  g_test_add_func ("/engine/pool/torch-values", test_torch_values);
  g_test_add_func ("/engine/max-pool/ties-nan", test_max_ties_nan);
  for (gsize i = 0; i < G_N_ELEMENTS (ties_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/max-pool/ties-nan-wide/%s", ties_cases[i].name);
      g_test_add_data_func (p, &ties_cases[i], test_max_ties_nan_wide);
    }
  g_test_add_func ("/engine/global-avg-pool/forward-backward", test_global_avg_pool);
  g_test_add_func ("/engine/pool/threads", test_threads);
  g_test_add_func ("/engine/pool/errors", test_errors);
  int ret = g_test_run ();
  g_ptr_array_unref (tests);
  return ret;
}
