/* test-activations.c: Clip (ReLU6), Sigmoid, HardSigmoid, SiLU, HardSwish
 * and both GELU forms: forward values and gradients against naive double
 * formulas written here (including PyTorch's conventions at the kinks),
 * finite-difference gradient checks, and attribute errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-ops.h"

typedef struct
{
  const char *name;
  int (*build) (HoneGraph *g, const char *name, int x, GError **error);
  double (*f) (double x);
  double (*df) (double x);       /* PyTorch's value at the kinks */
  float lo, hi;                  /* input range for the gradient check */
  float kinks[2];
  int n_kinks;
} UnaryCase;

/* ---- the cases: builders and reference formulas ------------------------- */

#define UNARY_BUILDER(fname, call) \
  static int \
  fname (HoneGraph *g, const char *n, int x, GError **e) \
  { \
    return call; \
  }

UNARY_BUILDER (build_clip, hone_graph_clip (g, n, x, -0.5f, 0.25f, e))
UNARY_BUILDER (build_relu6, hone_graph_clip (g, n, x, 0.0f, 6.0f, e))
UNARY_BUILDER (build_sigmoid, hone_graph_sigmoid (g, n, x, e))
UNARY_BUILDER (build_hsig_torch, hone_graph_hard_sigmoid (g, n, x, 1.0f / 6.0f, 0.5f, e))
/* ONNX's default HardSigmoid: alpha 0.2, beta 0.5. */
UNARY_BUILDER (build_hsig_onnx, hone_graph_hard_sigmoid (g, n, x, 0.2f, 0.5f, e))
UNARY_BUILDER (build_silu, hone_graph_silu (g, n, x, e))
UNARY_BUILDER (build_hswish, hone_graph_hard_swish (g, n, x, e))
UNARY_BUILDER (build_gelu, hone_graph_gelu (g, n, x, FALSE, e))
UNARY_BUILDER (build_gelu_tanh, hone_graph_gelu (g, n, x, TRUE, e))

/* Reference formulas in double; derivatives take PyTorch's value at the
 * kinks (hardtanh / hardsigmoid: zero at both ends; hardswish: x/3 + 1/2
 * on the closed interval [-3, 3]). */

static double
f_clip (double x)
{
  return fmin (fmax (x, -0.5), 0.25);
}

static double
df_clip (double x)
{
  return x > -0.5 && x < 0.25 ? 1 : 0;
}

static double
f_relu6 (double x)
{
  return fmin (fmax (x, 0.0), 6.0);
}

static double
df_relu6 (double x)
{
  return x > 0 && x < 6 ? 1 : 0;
}

static double
f_sigmoid (double x)
{
  return 1.0 / (1.0 + exp (-x));
}

static double
df_sigmoid (double x)
{
  double s = f_sigmoid (x);
  return s * (1 - s);
}

static double
f_hsig_torch (double x)
{
  return fmin (fmax (x / 6 + 0.5, 0.0), 1.0);
}

static double
df_hsig_torch (double x)
{
  return x > -3 && x < 3 ? 1.0 / 6 : 0;
}

static double
f_hsig_onnx (double x)
{
  return fmin (fmax (0.2 * x + 0.5, 0.0), 1.0);
}

static double
df_hsig_onnx (double x)
{
  return x > -2.5 && x < 2.5 ? 0.2 : 0;
}

static double
f_silu (double x)
{
  return x * f_sigmoid (x);
}

static double
df_silu (double x)
{
  double s = f_sigmoid (x);
  return s + x * s * (1 - s);
}

static double
f_hswish (double x)
{
  return x * fmin (fmax (x + 3, 0.0), 6.0) / 6;
}

static double
df_hswish (double x)
{
  return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1;
}

static double
f_gelu (double x)
{
  return 0.5 * x * (1 + erf (x / sqrt (2)));
}

static double
df_gelu (double x)
{
  return 0.5 * (1 + erf (x / sqrt (2))) + x * exp (-x * x / 2) / sqrt (2 * G_PI);
}

static double
f_gelu_tanh (double x)
{
  return 0.5 * x * (1 + tanh (sqrt (2 / G_PI) * (x + 0.044715 * x * x * x)));
}

static double
df_gelu_tanh (double x)
{
  /* Differentiated independently: by a central difference in double. */
  double h = 1e-5;
  return (f_gelu_tanh (x + h) - f_gelu_tanh (x - h)) / (2 * h);
}

static const UnaryCase cases[] = {
  { "clip", build_clip, f_clip, df_clip, -1, 1, { -0.5f, 0.25f }, 2 },
  { "relu6", build_relu6, f_relu6, df_relu6, -2, 8, { 0, 6 }, 2 },
  { "sigmoid", build_sigmoid, f_sigmoid, df_sigmoid, -6, 6, { 0 }, 0 },
  { "hard-sigmoid-torch", build_hsig_torch, f_hsig_torch, df_hsig_torch, -5, 5, { -3, 3 }, 2 },
  { "hard-sigmoid-onnx", build_hsig_onnx, f_hsig_onnx, df_hsig_onnx, -4, 4, { -2.5f, 2.5f }, 2 },
  { "silu", build_silu, f_silu, df_silu, -6, 6, { 0 }, 0 },
  { "hard-swish", build_hswish, f_hswish, df_hswish, -5, 5, { -3, 3 }, 2 },
  { "gelu", build_gelu, f_gelu, df_gelu, -4, 4, { 0 }, 0 },
  { "gelu-tanh", build_gelu_tanh, f_gelu_tanh, df_gelu_tanh, -4, 4, { 0 }, 0 },
};

/* ---- helpers ------------------------------------------------------------ */

static HoneGraph *
unary_graph (const UnaryCase *c, const HoneShape *per_sample, int max_batch, gboolean side,
             int *x, int *y)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = hone_graph_new ();
  *x = hone_graph_add_input (g, "x", per_sample, &error);
  g_assert_no_error (error);
  *y = c->build (g, c->name, *x, &error);
  g_assert_no_error (error);
  hone_graph_add_output (g, *y);
  hone_graph_set_input_needs_grad (g, *x, TRUE);
  if (side)
    hone_test_add_side_outputs (g);
  g_assert_true (hone_graph_plan (g, max_batch, TRUE, &error));
  g_assert_no_error (error);
  return g;
}

/* Uniform in [lo, hi), kept at least 0.05 away from every kink so that the
 * finite differences (step 0.01) never straddle one. */
static void
fill_avoiding_kinks (const UnaryCase *c, float *x, int64_t n, uint64_t seed)
{
  HoneRng rng;
  hone_rng_init (&rng, seed, 3);
  for (int64_t i = 0; i < n; i++)
    {
      float v = c->lo + (c->hi - c->lo) * hone_rng_uniform (&rng);
      for (int k = 0; k < c->n_kinks; k++)
        if (fabsf (v - c->kinks[k]) < 0.05f)
          v = c->kinks[k] + (v < c->kinks[k] ? -0.05f : 0.05f);
      x[i] = v;
    }
}

/* Forward and backward against the double formulas, on random values plus
 * the kinks themselves and a few far-out values. */
static void
test_forward_backward (gconstpointer data)
{
  const UnaryCase *c = data;
  HoneShape s = HONE_SHAPE (5, 8);
  int x, y;
  const int batch = 3, n = batch * 40;
  g_autoptr (HoneGraph) g = unary_graph (c, &s, batch, FALSE, &x, &y);
  float *in = hone_graph_input_data (g, x);
  HoneRng rng;
  hone_rng_init (&rng, 42, 0);
  hone_test_fill_uniform (&rng, in, n, c->lo, c->hi);
  for (int k = 0; k < c->n_kinks; k++)
    in[k] = c->kinks[k];
  in[2] = -30.0f;
  in[3] = 30.0f;
  in[4] = 0.0f;

  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
  HoneTensor t = hone_graph_tensor (g, y);
  g_assert_cmpint (t.shape.rank, ==, 3);
  g_assert_cmpint (t.shape.d[0], ==, batch);
  float expect[120], dexpect[120];
  float *dy = hone_graph_grad (g, y);
  for (int i = 0; i < n; i++)
    {
      expect[i] = (float) c->f (in[i]);
      dy[i] = hone_rng_uniform (&rng) - 0.5f;
      dexpect[i] = (float) (dy[i] * c->df (in[i]));
    }
  hone_test_assert_close (c->name, t.data, expect, n, 1e-5, 1e-6);
  hone_graph_backward (g);
  hone_test_assert_close ("gradient", hone_graph_grad (g, x), dexpect, n, 1e-4, 1e-6);
}

static void
test_gradcheck (gconstpointer data)
{
  const UnaryCase *c = data;
  HoneShape s = HONE_SHAPE (2, 3, 4);
  int x, y;
  g_autoptr (HoneGraph) g = unary_graph (c, &s, 3, TRUE, &x, &y);
  fill_avoiding_kinks (c, hone_graph_input_data (g, x), 3 * 24, 7);
  HoneGradcheckOptions opts = { .max_checks = 72 };
  hone_test_gradcheck (g, 3, &opts);
}

/* The exact numbers PyTorch 1.13 gives at the kinks (torch.nn.functional
 * relu6, hardsigmoid, hardswish on x = -3, 3, 0, 6 with dy = 1). */
static void
test_torch_kinks (void)
{
  static const float in[4] = { -3, 3, 0, 6 };
  static const struct
  {
    int case_index;
    float y[4];
    float dx[4];
  } expect[] = {
    { 1, { 0, 3, 0, 6 }, { 0, 1, 0, 0 } },                     /* relu6 */
    { 3, { 0, 1, 0.5f, 1 }, { 0, 0, 1.0f / 6, 0 } },           /* hardsigmoid */
    { 6, { 0, 3, 0, 6 }, { -0.5f, 1.5f, 0.5f, 1 } },           /* hardswish */
  };
  for (guint k = 0; k < G_N_ELEMENTS (expect); k++)
    {
      const UnaryCase *c = &cases[expect[k].case_index];
      HoneShape s = HONE_SHAPE (4);
      int x, y;
      g_autoptr (HoneGraph) g = unary_graph (c, &s, 1, FALSE, &x, &y);
      memcpy (hone_graph_input_data (g, x), in, sizeof in);
      g_assert_true (hone_graph_forward (g, 1, TRUE, NULL));
      hone_test_assert_close (c->name, hone_graph_tensor (g, y).data, expect[k].y, 4, 1e-6, 0);
      float *dy = hone_graph_grad (g, y);
      for (int i = 0; i < 4; i++)
        dy[i] = 1.0f;
      hone_graph_backward (g);
      hone_test_assert_close (c->name, hone_graph_grad (g, x), expect[k].dx, 4, 1e-6, 0);
    }
}

/* Sigmoid and SiLU stay finite and exact in the tails. */
static void
test_tails (void)
{
  HoneShape s = HONE_SHAPE (4);
  int x, y;
  g_autoptr (HoneGraph) g = unary_graph (&cases[2], &s, 1, FALSE, &x, &y);
  float in[4] = { -100, 100, -89, 89 };
  memcpy (hone_graph_input_data (g, x), in, sizeof in);
  g_assert_true (hone_graph_forward (g, 1, FALSE, NULL));
  const float *out = hone_graph_tensor (g, y).data;
  g_assert_cmpfloat (out[0], >=, 0.0f);
  g_assert_cmpfloat (out[0], <, 1e-40f);
  g_assert_cmpfloat (out[1], ==, 1.0f);
  g_assert_cmpfloat (out[2], >, 0.0f);          /* a denormal, not 0 / 0 */
  for (int i = 0; i < 4; i++)
    g_assert_true (isfinite (out[i]));
}

/* Big enough to run on several threads: same numbers as one thread. */
static void
test_threads (void)
{
  HoneShape s = HONE_SHAPE (16, 32, 32);
  int x, y;
  g_autoptr (HoneGraph) g = unary_graph (&cases[7], &s, 4, FALSE, &x, &y);
  const int64_t n = 4 * 16 * 32 * 32;
  HoneRng rng;
  hone_rng_init (&rng, 5, 5);
  hone_test_fill_uniform (&rng, hone_graph_input_data (g, x), n, -4, 4);
  float *results[2];
  for (int run = 0; run < 2; run++)
    {
      hone_set_num_threads (run == 0 ? 1 : 4);
      g_assert_true (hone_graph_forward (g, 4, TRUE, NULL));
      float *dy = hone_graph_grad (g, y);
      for (int64_t i = 0; i < n; i++)
        dy[i] = (float) (i % 7) - 3.0f;
      hone_graph_backward (g);
      results[run] = g_new (float, 2 * n);
      memcpy (results[run], hone_graph_tensor (g, y).data, n * sizeof (float));
      memcpy (results[run] + n, hone_graph_grad (g, x), n * sizeof (float));
    }
  hone_set_num_threads (0);
  g_assert_cmpmem (results[0], 2 * n * sizeof (float), results[1], 2 * n * sizeof (float));
  /* and the values are right */
  const float *in = hone_graph_input_data (g, x);
  for (int64_t i = 0; i < n; i += 97)
    g_assert_cmpfloat_with_epsilon (results[0][i], f_gelu (in[i]), 1e-5);
  g_free (results[0]);
  g_free (results[1]);
}

static void
assert_attr_error (int id, GError **error, const char *node)
{
  g_assert_cmpint (id, ==, -1);
  g_assert_error (*error, HONE_ERROR, HONE_ERROR_ATTRIBUTE);
  g_assert_nonnull (strstr ((*error)->message, node));
  g_clear_error (error);
}

static void
test_attr_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  GError *error = NULL;
  int id;

  id = hone_graph_clip (g, "clip_inverted", x, 2.0f, 1.0f, &error);
  assert_attr_error (id, &error, "'clip_inverted'");
  id = hone_graph_clip (g, "clip_nan", x, NAN, 1.0f, &error);
  assert_attr_error (id, &error, "'clip_nan'");
  id = hone_graph_hard_sigmoid (g, "hsig_inf", x, INFINITY, 0.5f, &error);
  assert_attr_error (id, &error, "'hsig_inf'");

  /* One-sided clips and a point clip are fine. */
  g_assert_cmpint (hone_graph_clip (g, "clip_low", x, 0.0f, INFINITY, &error), >=, 0);
  g_assert_no_error (error);
  g_assert_cmpint (hone_graph_clip (g, "clip_point", x, 1.0f, 1.0f, &error), >=, 0);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *p1 = g_strdup_printf ("/engine/activations/%s/forward-backward",
                                             cases[i].name);
      g_autofree char *p2 = g_strdup_printf ("/engine/activations/%s/gradcheck", cases[i].name);
      g_test_add_data_func (p1, &cases[i], test_forward_backward);
      g_test_add_data_func (p2, &cases[i], test_gradcheck);
    }
  g_test_add_func ("/engine/activations/torch-kinks", test_torch_kinks);
  g_test_add_func ("/engine/activations/sigmoid/tails", test_tails);
  g_test_add_func ("/engine/activations/threads", test_threads);
  g_test_add_func ("/engine/activations/errors", test_attr_errors);
  return g_test_run ();
}
