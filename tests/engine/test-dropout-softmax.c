/* test-dropout-softmax.c: Dropout (mask statistics, scaling, the saved
 * mask in backward, determinism for a seed and across thread counts,
 * inference identity, gradient check with a fixed seed, p out of range) and
 * Softmax (values against a naive double loop on the last and a middle
 * axis, large inputs, gradient checks on axis 1 and -1, axis errors). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-ops.h"

static HoneGraph *
one_input_graph (const HoneShape *per_sample, int *x)
{
  HoneGraph *g = hone_graph_new ();
  *x = hone_graph_add_input (g, "x", per_sample, NULL);
  hone_graph_set_input_needs_grad (g, *x, TRUE);
  return g;
}

static void
finish (HoneGraph *g, int y, int batch, gboolean side)
{
  g_assert_cmpint (y, >=, 0);
  hone_graph_add_output (g, y);
  if (side)
    hone_test_add_side_outputs (g);
  g_assert_true (hone_graph_plan (g, batch, TRUE, NULL));
  hone_test_fill_graph (g, batch, 41);
}

static void
assert_attr_error (int id, GError **error, const char *node)
{
  g_assert_cmpint (id, ==, -1);
  g_assert_error (*error, HONE_ERROR, HONE_ERROR_ATTRIBUTE);
  g_assert_nonnull (strstr ((*error)->message, node));
  g_clear_error (error);
}

/* ---- Dropout ------------------------------------------------------------ */

static void
test_dropout_training (void)
{
  const float p = 0.3f;
  const int batch = 4;
  HoneShape s = HONE_SHAPE (64, 64);
  const int64_t n = batch * 64 * 64;
  int x;
  g_autoptr (HoneGraph) g = one_input_graph (&s, &x);
  int y = hone_graph_dropout (g, "drop", x, p, NULL);
  finish (g, y, batch, FALSE);
  float *in = hone_graph_input_data (g, x);
  for (int64_t i = 0; i < n; i++)
    in[i] = 1.0f + (float) (i % 5);      /* never 0, so a dropped element is visible */
  hone_rng_init (hone_graph_rng (g), 2024, 1);
  g_assert_true (hone_graph_forward (g, batch, TRUE, NULL));
  const float *out = hone_graph_tensor (g, y).data;

  const float scale = 1.0f / (1.0f - p);
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; i++)
    {
      if (out[i] == 0.0f)
        dropped++;
      else
        g_assert_cmpfloat (out[i], ==, in[i] * scale);
    }
  /* 16384 Bernoulli(0.3) draws: 5 standard deviations is about 0.018 */
  double frac = (double) dropped / n;
  g_assert_cmpfloat (fabs (frac - p), <, 0.02);
  /* and the pattern does not repeat (the generator is split in blocks) */
  int same = 0;
  for (int64_t i = 0; i < n / 2; i++)
    same += (out[i] == 0.0f) == (out[i + n / 2] == 0.0f);
  g_assert_cmpint (same, <, n / 2 * 0.7);

  /* backward uses the same mask, scaled */
  float *dy = hone_graph_grad (g, y);
  for (int64_t i = 0; i < n; i++)
    dy[i] = 2.0f;
  hone_graph_backward (g);
  const float *dx = hone_graph_grad (g, x);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat (dx[i], ==, out[i] == 0.0f ? 0.0f : 2.0f * scale);

  /* the next forward draws a different mask */
  float *first = g_memdup2 (out, n * sizeof (float));
  g_assert_true (hone_graph_forward (g, batch, TRUE, NULL));
  g_assert_true (memcmp (first, hone_graph_tensor (g, y).data, n * sizeof (float)) != 0);

  /* the same seed gives the same mask, on one thread or several */
  for (int threads = 1; threads <= 4; threads += 3)
    {
      hone_set_num_threads (threads);
      hone_rng_init (hone_graph_rng (g), 2024, 1);
      g_assert_true (hone_graph_forward (g, batch, TRUE, NULL));
      g_assert_cmpmem (first, n * sizeof (float), hone_graph_tensor (g, y).data,
                       n * sizeof (float));
    }
  hone_set_num_threads (0);
  g_free (first);
}

static void
test_dropout_inference (void)
{
  HoneShape s = HONE_SHAPE (100);
  int x;
  g_autoptr (HoneGraph) g = one_input_graph (&s, &x);
  int y = hone_graph_dropout (g, "drop", x, 0.5f, NULL);
  finish (g, y, 2, FALSE);
  HoneRng before = *hone_graph_rng (g);
  g_assert_true (hone_graph_forward (g, 2, FALSE, NULL));
  g_assert_cmpmem (hone_graph_tensor (g, y).data, 200 * sizeof (float),
                   hone_graph_input_data (g, x), 200 * sizeof (float));
  /* inference draws nothing */
  g_assert_cmpmem (&before, sizeof before, hone_graph_rng (g), sizeof before);
}

/* Without backward planned there is no saved mask: forward still drops. */
static void
test_dropout_no_backward (void)
{
  HoneShape s = HONE_SHAPE (1000);
  g_autoptr (HoneGraph) g = hone_graph_new ();
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int y = hone_graph_dropout (g, "drop", x, 0.5f, NULL);
  hone_graph_add_output (g, y);
  g_assert_true (hone_graph_plan (g, 1, FALSE, NULL));
  float *in = hone_graph_input_data (g, x);
  for (int i = 0; i < 1000; i++)
    in[i] = 1.0f;
  g_assert_true (hone_graph_forward (g, 1, TRUE, NULL));
  int zeros = 0;
  for (int i = 0; i < 1000; i++)
    zeros += hone_graph_tensor (g, y).data[i] == 0.0f;
  g_assert_cmpint (zeros, >, 400);
  g_assert_cmpint (zeros, <, 600);
}

static void
test_dropout_gradcheck (void)
{
  const float ps[] = { 0.0f, 0.25f, 0.9f };
  for (guint i = 0; i < G_N_ELEMENTS (ps); i++)
    {
      HoneShape s = HONE_SHAPE (3, 8);
      int x;
      g_autoptr (HoneGraph) g = one_input_graph (&s, &x);
      int y = hone_graph_dropout (g, "drop", x, ps[i], NULL);
      finish (g, y, 2, TRUE);
      hone_rng_init (hone_graph_rng (g), 77, 0);
      hone_test_gradcheck (g, 2, NULL);
    }
}

static void
test_dropout_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  GError *error = NULL;
  int id;
  id = hone_graph_dropout (g, "drop_one", x, 1.0f, &error);
  assert_attr_error (id, &error, "'drop_one'");
  id = hone_graph_dropout (g, "drop_neg", x, -0.1f, &error);
  assert_attr_error (id, &error, "'drop_neg'");
  id = hone_graph_dropout (g, "drop_nan", x, NAN, &error);
  assert_attr_error (id, &error, "'drop_nan'");
}

/* ---- Softmax ------------------------------------------------------------ */

/* Softmax of x (outer, len, inner) along len, in double. */
static void
naive_softmax (const float *x, double *y, int64_t outer, int64_t len, int64_t inner)
{
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++)
      {
        double max = -INFINITY, sum = 0;
        for (int64_t k = 0; k < len; k++)
          max = fmax (max, x[(o * len + k) * inner + i]);
        for (int64_t k = 0; k < len; k++)
          sum += exp (x[(o * len + k) * inner + i] - max);
        for (int64_t k = 0; k < len; k++)
          y[(o * len + k) * inner + i] = exp (x[(o * len + k) * inner + i] - max) / sum;
      }
}

typedef struct
{
  const char *name;
  HoneShape s;        /* per sample */
  int axis;
  int64_t outer_per_sample, len, inner;
} SoftmaxCase;

static SoftmaxCase sm_cases[4];

static void
init_sm_cases (void)
{
  SoftmaxCase c[] = {
    { "axis1-2d", HONE_SHAPE (10), 1, 1, 10, 1 },
    { "axis1-4d", HONE_SHAPE (5, 3, 2), 1, 1, 5, 6 },
    { "axis-last", HONE_SHAPE (3, 2, 7), -1, 6, 7, 1 },
    { "axis2-wide", HONE_SHAPE (2, 4, 100), 2, 2, 4, 100 },
  };
  memcpy (sm_cases, c, sizeof c);
}

static void
test_softmax (gconstpointer data)
{
  const SoftmaxCase *sc = data;
  const int batch = 3;
  int x;
  g_autoptr (HoneGraph) g = one_input_graph (&sc->s, &x);
  g_autoptr (GError) error = NULL;
  int y = hone_graph_softmax (g, "softmax", x, sc->axis, &error);
  g_assert_no_error (error);
  finish (g, y, batch, TRUE);
  float *in = hone_graph_input_data (g, x);
  int64_t n = batch * hone_shape_numel (&sc->s);
  for (int64_t i = 0; i < n; i++)
    in[i] *= 4.0f;
  in[0] = 80.0f;            /* exp(80) overflows float: must not matter */
  g_assert_true (hone_graph_forward (g, batch, TRUE, NULL));
  double *expect = g_new (double, n);
  naive_softmax (in, expect, batch * sc->outer_per_sample, sc->len, sc->inner);
  float *ef = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    ef[i] = (float) expect[i];
  hone_test_assert_close ("softmax", hone_graph_tensor (g, y).data, ef, n, 1e-5, 1e-7);
  g_free (ef);
  g_free (expect);

  hone_test_fill_graph (g, batch, 43);
  HoneGradcheckOptions opts = { .max_checks = 64 };
  hone_test_gradcheck (g, batch, &opts);
}

static void
test_softmax_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (3, 4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  GError *error = NULL;
  int id;
  id = hone_graph_softmax (g, "sm_batch", x, 0, &error);
  assert_attr_error (id, &error, "'sm_batch'");
  id = hone_graph_softmax (g, "sm_batch_neg", x, -3, &error);
  assert_attr_error (id, &error, "'sm_batch_neg'");
  id = hone_graph_softmax (g, "sm_range", x, 3, &error);
  assert_attr_error (id, &error, "'sm_range'");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/dropout/training", test_dropout_training);
  g_test_add_func ("/engine/dropout/inference", test_dropout_inference);
  g_test_add_func ("/engine/dropout/no-backward", test_dropout_no_backward);
  g_test_add_func ("/engine/dropout/gradcheck", test_dropout_gradcheck);
  g_test_add_func ("/engine/dropout/errors", test_dropout_errors);
  init_sm_cases ();
  for (guint i = 0; i < G_N_ELEMENTS (sm_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/softmax/%s", sm_cases[i].name);
      g_test_add_data_func (path, &sm_cases[i], test_softmax);
    }
  g_test_add_func ("/engine/softmax/errors", test_softmax_errors);
  return g_test_run ();
}
