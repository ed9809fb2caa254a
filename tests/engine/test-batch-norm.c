/* test-batch-norm.c: the BatchNormalization op: forward values against a
 * naive implementation here, the running-statistics update against numbers
 * worked out by hand, frozen and inference modes leaving the statistics
 * alone, finite-difference gradient checks in every mode, and the errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

typedef struct
{
  HoneGraph *g;
  int x, scale, bias, mean, var, y;
  int N, C, S;
} BnGraph;

/* x (N, C, ...spatial) -> BatchNormalization -> y, planned for backward,
 * with random x, scale and bias, and running statistics (0.1 c, 1 + 0.2 c). */
static BnGraph
bn_graph_new (int N, const HoneShape *per_sample, const HoneBatchNormAttrs *attrs, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  BnGraph b = { .g = hone_graph_new (), .N = N, .C = per_sample->d[0] };
  b.S = hone_shape_numel (per_sample) / b.C;
  HoneShape cs = HONE_SHAPE (b.C);
  b.x = hone_graph_add_input (b.g, "x", per_sample, &error);
  b.scale = hone_graph_add_param (b.g, "bn.weight", &cs, &error);
  b.bias = hone_graph_add_param (b.g, "bn.bias", &cs, &error);
  b.mean = hone_graph_add_buffer (b.g, "bn.running_mean", &cs, 0.0f, &error);
  b.var = hone_graph_add_buffer (b.g, "bn.running_var", &cs, 1.0f, &error);
  b.y = hone_graph_batch_norm (b.g, "bn", b.x, b.scale, b.bias, b.mean, b.var, attrs, &error);
  g_assert_no_error (error);
  hone_graph_add_output (b.g, b.y);
  hone_graph_set_input_needs_grad (b.g, b.x, TRUE);
  g_assert_true (hone_graph_plan (b.g, N, TRUE, &error));
  hone_test_fill_graph (b.g, N, seed);
  float *rm = hone_graph_value_data (b.g, b.mean), *rv = hone_graph_value_data (b.g, b.var);
  for (int c = 0; c < b.C; c++)
    {
      rm[c] = 0.1f * c;
      rv[c] = 1.0f + 0.2f * c;
    }
  return b;
}

/* The batch statistics of channel c, in double: mean and biased variance. */
static void
naive_stats (const BnGraph *b, int c, double *mean, double *var)
{
  const float *x = hone_graph_input_data (b->g, b->x);
  double s = 0, sq = 0;
  for (int n = 0; n < b->N; n++)
    for (int k = 0; k < b->S; k++)
      s += x[(n * b->C + c) * b->S + k];
  *mean = s / (b->N * b->S);
  for (int n = 0; n < b->N; n++)
    for (int k = 0; k < b->S; k++)
      {
        double d = x[(n * b->C + c) * b->S + k] - *mean;
        sq += d * d;
      }
  *var = sq / (b->N * b->S);
}

/* y = (x - mean) / sqrt (var + eps) scale + bias with the given statistics. */
static void
naive_normalise (float *y, const BnGraph *b, const double *mean, const double *var, double eps)
{
  const float *x = hone_graph_input_data (b->g, b->x);
  const float *scale = hone_graph_value_data (b->g, b->scale);
  const float *bias = hone_graph_value_data (b->g, b->bias);
  for (int n = 0; n < b->N; n++)
    for (int c = 0; c < b->C; c++)
      for (int k = 0; k < b->S; k++)
        {
          int i = (n * b->C + c) * b->S + k;
          y[i] = (float) ((x[i] - mean[c]) / sqrt (var[c] + eps) * scale[c] + bias[c]);
        }
}

/* Training mode: batch statistics normalise, the running ones move by
 * momentum towards the batch mean and the unbiased batch variance. */
static void
test_forward_train (void)
{
  HoneShape s = HONE_SHAPE (3, 4, 5);
  HoneBatchNormAttrs attrs = { .eps = 1e-3f, .momentum = 0.25f };
  BnGraph b = bn_graph_new (4, &s, &attrs, 3);
  g_autoptr (GError) error = NULL;
  double mean[3], var[3], rm[3], rv[3];
  float *run_mean = hone_graph_value_data (b.g, b.mean), *run_var = hone_graph_value_data (b.g, b.var);
  for (int c = 0; c < 3; c++)
    {
      naive_stats (&b, c, &mean[c], &var[c]);
      int n = b.N * b.S;
      rm[c] = 0.75 * run_mean[c] + 0.25 * mean[c];
      rv[c] = 0.75 * run_var[c] + 0.25 * var[c] * n / (n - 1);
    }
  g_assert_true (hone_graph_forward (b.g, b.N, TRUE, &error));
  float y[4 * 60];
  naive_normalise (y, &b, mean, var, 1e-3);
  hone_test_assert_close ("y", hone_graph_tensor (b.g, b.y).data, y, 4 * 60, 1e-5, 1e-5);
  float rmf[3], rvf[3];
  for (int c = 0; c < 3; c++)
    {
      rmf[c] = (float) rm[c];
      rvf[c] = (float) rv[c];
    }
  hone_test_assert_close ("running mean", run_mean, rmf, 3, 1e-6, 1e-7);
  hone_test_assert_close ("running var", run_var, rvf, 3, 1e-6, 1e-7);
  hone_graph_free (b.g);
}

/* The update worked out by hand: x = 1, 2, 3, 4 in one channel (2 samples
 * of 2 values): mean 2.5, biased variance 1.25, unbiased 5/3.  From 0 and
 * 1 with momentum 0.1: 0.25 and 0.9 + 0.1 * 5/3 = 1.0666667; a second
 * step: 0.475 and 0.96 + 0.1666667 = 1.1266667.  The outputs are
 * (x - 2.5) / sqrt (1.25 + 1e-5). */
static void
test_running_stats_by_hand (void)
{
  HoneShape s = HONE_SHAPE (1, 2);
  BnGraph b = bn_graph_new (2, &s, NULL, 1);
  g_autoptr (GError) error = NULL;
  float x[4] = { 1, 2, 3, 4 };
  memcpy (hone_graph_input_data (b.g, b.x), x, sizeof x);
  hone_graph_value_data (b.g, b.scale)[0] = 1.0f;
  hone_graph_value_data (b.g, b.bias)[0] = 0.0f;
  float *rm = hone_graph_value_data (b.g, b.mean), *rv = hone_graph_value_data (b.g, b.var);
  rm[0] = 0.0f;
  rv[0] = 1.0f;

  g_assert_true (hone_graph_forward (b.g, 2, TRUE, &error));
  g_assert_cmpfloat_with_epsilon (rm[0], 0.25f, 1e-7);
  g_assert_cmpfloat_with_epsilon (rv[0], 1.0666667f, 1e-6);
  float d = 1.0f / sqrtf (1.25f + 1e-5f);
  float y[4] = { -1.5f * d, -0.5f * d, 0.5f * d, 1.5f * d };
  hone_test_assert_close ("y", hone_graph_tensor (b.g, b.y).data, y, 4, 1e-6, 1e-7);

  g_assert_true (hone_graph_forward (b.g, 2, TRUE, &error));
  g_assert_cmpfloat_with_epsilon (rm[0], 0.475f, 1e-7);
  g_assert_cmpfloat_with_epsilon (rv[0], 1.1266667f, 1e-6);
  hone_graph_free (b.g);
}

/* Checks y against the running statistics and that they did not move. */
static void
check_uses_running_stats (BnGraph *b, gboolean training)
{
  g_autoptr (GError) error = NULL;
  float *rm = hone_graph_value_data (b->g, b->mean), *rv = hone_graph_value_data (b->g, b->var);
  float rm0[8], rv0[8];
  double mean[8], var[8];
  g_assert_cmpint (b->C, <=, 8);
  for (int c = 0; c < b->C; c++)
    {
      rm0[c] = rm[c];
      rv0[c] = rv[c];
      mean[c] = rm[c];
      var[c] = rv[c];
    }
  g_assert_true (hone_graph_forward (b->g, b->N, training, &error));
  gsize n = (gsize) b->N * b->C * b->S;
  float *y = g_new (float, n);
  naive_normalise (y, b, mean, var, 1e-5);
  hone_test_assert_close ("y", hone_graph_tensor (b->g, b->y).data, y, n, 1e-5, 1e-6);
  hone_test_assert_close ("running mean untouched", rm, rm0, b->C, 0, 0);
  hone_test_assert_close ("running var untouched", rv, rv0, b->C, 0, 0);
  g_free (y);
}

static void
test_inference (void)
{
  HoneShape s = HONE_SHAPE (3, 4, 4);
  BnGraph b = bn_graph_new (3, &s, NULL, 5);
  check_uses_running_stats (&b, FALSE);
  hone_graph_free (b.g);
}

/* A frozen BatchNorm in a training run behaves as in inference. */
static void
test_frozen_train (void)
{
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (3, 4, 4);
  BnGraph b = bn_graph_new (3, &s, NULL, 7);
  hone_graph_set_trainable (b.g, b.scale, FALSE);
  hone_graph_set_trainable (b.g, b.bias, FALSE);
  g_assert_true (hone_graph_plan (b.g, 3, TRUE, &error));
  check_uses_running_stats (&b, TRUE);
  hone_graph_free (b.g);
}

/* Gradient checks: in training mode (through the batch statistics), and
 * in each mode that uses the running ones. */
static void
test_gradcheck_train (void)
{
  HoneShape s = HONE_SHAPE (3, 3, 4);
  BnGraph b = bn_graph_new (3, &s, NULL, 9);
  hone_test_gradcheck (b.g, 3, NULL);
  hone_graph_free (b.g);
}

static void
test_gradcheck_train_2d (void)
{
  HoneShape s = HONE_SHAPE (5);       /* BatchNorm1d on (N, C) */
  BnGraph b = bn_graph_new (6, &s, NULL, 13);
  hone_test_gradcheck (b.g, 6, NULL);
  hone_graph_free (b.g);
}

static void
test_gradcheck_train_eps_momentum (void)
{
  HoneShape s = HONE_SHAPE (2, 3, 3);
  HoneBatchNormAttrs attrs = { .eps = 0.1f, .momentum = 1.0f };
  BnGraph b = bn_graph_new (2, &s, &attrs, 15);
  hone_test_gradcheck (b.g, 2, NULL);
  hone_graph_free (b.g);
}

static void
test_gradcheck_inference (void)
{
  HoneShape s = HONE_SHAPE (3, 3, 4);
  BnGraph b = bn_graph_new (3, &s, NULL, 17);
  HoneGradcheckOptions opts = { .training = FALSE };
  hone_test_gradcheck (b.g, 3, &opts);
  hone_graph_free (b.g);
}

static void
test_gradcheck_frozen (void)
{
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (3, 3, 4);
  BnGraph b = bn_graph_new (3, &s, NULL, 19);
  hone_graph_set_trainable (b.g, b.scale, FALSE);
  hone_graph_set_trainable (b.g, b.bias, FALSE);
  g_assert_true (hone_graph_plan (b.g, 3, TRUE, &error));
  hone_test_fill_graph (b.g, 3, 19);
  g_assert_null (hone_graph_grad (b.g, b.scale));
  hone_test_gradcheck (b.g, 3, NULL);
  hone_graph_free (b.g);
}

/* A frozen scale with a trainable bias still runs on running statistics:
 * the bias gets its gradient, the statistics stay. */
static void
test_gradcheck_frozen_scale (void)
{
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (3, 3, 4);
  BnGraph b = bn_graph_new (3, &s, NULL, 21);
  hone_graph_set_trainable (b.g, b.scale, FALSE);
  g_assert_true (hone_graph_plan (b.g, 3, TRUE, &error));
  hone_test_fill_graph (b.g, 3, 21);
  hone_test_gradcheck (b.g, 3, NULL);
  check_uses_running_stats (&b, TRUE);
  hone_graph_free (b.g);
}

/* Training-mode backward against the closed form, written out here, for a
 * larger input and with only the input needing a gradient. */
static void
test_backward_train_closed_form (void)
{
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (4, 6, 7);
  BnGraph b = bn_graph_new (5, &s, NULL, 23);
  g_assert_true (hone_graph_forward (b.g, b.N, TRUE, &error));
  gsize n = (gsize) b.N * b.C * b.S;
  float *dy = hone_graph_grad (b.g, b.y);
  HoneRng rng;
  hone_rng_init (&rng, 5, 5);
  hone_test_fill_uniform (&rng, dy, n, -1, 1);
  hone_graph_zero_grad (b.g);
  hone_graph_backward (b.g);

  const float *x = hone_graph_input_data (b.g, b.x);
  const float *scale = hone_graph_value_data (b.g, b.scale);
  float *dx = g_new (float, n), dscale[4], dbias[4];
  for (int c = 0; c < b.C; c++)
    {
      double mean, var, sdy = 0, sdyxh = 0;
      naive_stats (&b, c, &mean, &var);
      double invstd = 1 / sqrt (var + 1e-5);
      int m = b.N * b.S;
      for (int i = 0; i < b.N; i++)
        for (int k = 0; k < b.S; k++)
          {
            int j = (i * b.C + c) * b.S + k;
            sdy += dy[j];
            sdyxh += dy[j] * (x[j] - mean) * invstd;
          }
      dscale[c] = (float) sdyxh;
      dbias[c] = (float) sdy;
      for (int i = 0; i < b.N; i++)
        for (int k = 0; k < b.S; k++)
          {
            int j = (i * b.C + c) * b.S + k;
            double xh = (x[j] - mean) * invstd;
            dx[j] = (float) (scale[c] * invstd / m * (m * dy[j] - sdy - xh * sdyxh));
          }
    }
  hone_test_assert_close ("dx", hone_graph_grad (b.g, b.x), dx, n, 1e-4, 1e-5);
  hone_test_assert_close ("dscale", hone_graph_grad (b.g, b.scale), dscale, 4, 1e-4, 1e-5);
  hone_test_assert_close ("dbias", hone_graph_grad (b.g, b.bias), dbias, 4, 1e-4, 1e-5);
  g_free (dx);
  hone_graph_free (b.g);
}

/* One value per channel in training mode: normalised to the bias, the
 * running mean moves, the running variance (unbiased: undefined) stays. */
static void
test_single_value (void)
{
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (2);
  BnGraph b = bn_graph_new (1, &s, NULL, 27);
  float *rm = hone_graph_value_data (b.g, b.mean), *rv = hone_graph_value_data (b.g, b.var);
  const float *x = hone_graph_input_data (b.g, b.x);
  float expect_rm[2] = { 0.9f * rm[0] + 0.1f * x[0], 0.9f * rm[1] + 0.1f * x[1] };
  float expect_rv[2] = { rv[0], rv[1] };
  g_assert_true (hone_graph_forward (b.g, 1, TRUE, &error));
  hone_test_assert_close ("y", hone_graph_tensor (b.g, b.y).data, hone_graph_value_data (b.g, b.bias),
                          2, 1e-6, 1e-6);
  hone_test_assert_close ("running mean", rm, expect_rm, 2, 1e-6, 1e-7);
  hone_test_assert_close ("running var", rv, expect_rv, 2, 0, 0);
  hone_graph_free (b.g);
}

static void
test_threads (void)
{
  hone_set_num_threads (3);
  test_forward_train ();
  test_backward_train_closed_form ();
  test_inference ();
  hone_set_num_threads (1);
}

static void
expect_error (const HoneShape *xs, const HoneShape *cs, const HoneShape *vs,
              const HoneBatchNormAttrs *attrs, int code, const char *fragment)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  int x = hone_graph_add_input (g, "x", xs, &error);
  int sc = hone_graph_add_param (g, "s", cs, &error);
  int bi = hone_graph_add_param (g, "b", cs, &error);
  int m = hone_graph_add_buffer (g, "m", cs, 0, &error);
  int v = hone_graph_add_buffer (g, "v", vs, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_graph_batch_norm (g, "layer2.bn1", x, sc, bi, m, v, attrs, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "'layer2.bn1'"));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_errors (void)
{
  HoneShape xs = HONE_SHAPE (3, 4, 4), c3 = HONE_SHAPE (3), c4 = HONE_SHAPE (4), c33 = HONE_SHAPE (3, 3);
  HoneShape x0 = HONE_SHAPE (0);
  HoneBatchNormAttrs bad_m = { .eps = 1e-5f, .momentum = 1.5f }, bad_eps = { .eps = -1, .momentum = 0.1f };
  expect_error (&xs, &c4, &c3, NULL, HONE_ERROR_SHAPE, "scale has shape (4); expected (3)");
  expect_error (&xs, &c3, &c4, NULL, HONE_ERROR_SHAPE, "running variance has shape (4)");
  expect_error (&xs, &c3, &c33, NULL, HONE_ERROR_SHAPE, "running variance has shape (3, 3)");
  expect_error (&xs, &c3, &c3, &bad_m, HONE_ERROR_ATTRIBUTE, "momentum 1.5");
  expect_error (&xs, &c3, &c3, &bad_eps, HONE_ERROR_ATTRIBUTE, "epsilon -1");
  expect_error (&x0, &c3, &c3, NULL, HONE_ERROR_SHAPE, "expected (N, C, ...)");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hone_set_num_threads (1);
  g_test_add_func ("/engine/batch-norm/forward/train", test_forward_train);
  g_test_add_func ("/engine/batch-norm/forward/running-stats-by-hand", test_running_stats_by_hand);
  g_test_add_func ("/engine/batch-norm/forward/inference", test_inference);
  g_test_add_func ("/engine/batch-norm/forward/frozen", test_frozen_train);
  g_test_add_func ("/engine/batch-norm/forward/single-value", test_single_value);
  g_test_add_func ("/engine/batch-norm/backward/closed-form", test_backward_train_closed_form);
  g_test_add_func ("/engine/batch-norm/gradcheck/train", test_gradcheck_train);
  g_test_add_func ("/engine/batch-norm/gradcheck/train-2d", test_gradcheck_train_2d);
  g_test_add_func ("/engine/batch-norm/gradcheck/train-eps-momentum", test_gradcheck_train_eps_momentum);
  g_test_add_func ("/engine/batch-norm/gradcheck/inference", test_gradcheck_inference);
  g_test_add_func ("/engine/batch-norm/gradcheck/frozen", test_gradcheck_frozen);
  g_test_add_func ("/engine/batch-norm/gradcheck/frozen-scale", test_gradcheck_frozen_scale);
  g_test_add_func ("/engine/batch-norm/threads", test_threads);
  g_test_add_func ("/engine/batch-norm/errors", test_errors);
  return g_test_run ();
}
