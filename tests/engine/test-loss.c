/* test-loss.c: cross-entropy and focal loss against a naive reference
 * written from PyTorch's formulas, finite-difference gradients for every
 * mode, numerical stability, and the validation errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

#define N 6
#define K 4

static const float weights4[K] = { 0.5f, 2.0f, 1.0f, 0.25f };

static void
fill_logits (float *z, int64_t n, int64_t k, float scale)
{
  for (int64_t i = 0; i < n * k; i++)
    z[i] = scale * (float) sin (0.9 * (double) i + 0.4);
}

static void
fill_labels (int32_t *y, int64_t n, int64_t k)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = (int32_t) ((5 * i + 2) % k);
}

static void
fill_targets (float *t, int64_t n, int64_t k)
{
  for (int64_t i = 0; i < n; i++)
    {
      double sum = 0;
      for (int64_t j = 0; j < k; j++)
        sum += t[i * k + j] = (float) exp (cos (1.3 * (double) (i * k + j)));
      for (int64_t j = 0; j < k; j++)
        t[i * k + j] = (float) (t[i * k + j] / sum);
    }
}

static void
log_softmax_row (double *logp, const float *z, int64_t k)
{
  double m = z[0], s = 0;
  for (int64_t j = 1; j < k; j++)
    m = MAX (m, z[j]);
  for (int64_t j = 0; j < k; j++)
    s += exp (z[j] - m);
  for (int64_t j = 0; j < k; j++)
    logp[j] = z[j] - m - log (s);
}

/* PyTorch's cross_entropy with hard labels, written as LossNLL.cpp does:
 * (1 - s) * nll_loss (weighted mean) + s / K * sum_k w_k (-log p_k) / sum_n w_y. */
static double
reference_ce_labels (const float *z, const int32_t *y, const float *w, double s, int64_t n,
                     int64_t k)
{
  double nll = 0, smooth = 0, wsum = 0, logp[16];
  for (int64_t i = 0; i < n; i++)
    {
      log_softmax_row (logp, z + i * k, k);
      double wy = w ? w[y[i]] : 1.0;
      nll += -wy * logp[y[i]];
      wsum += wy;
      for (int64_t j = 0; j < k; j++)
        smooth += -(w ? w[j] : 1.0) * logp[j];
    }
  return (1 - s) * nll / wsum + s / (double) k * smooth / wsum;
}

/* Soft targets: -sum w_k t'_k log p_k / N, t' = (1 - s) t + s / K. */
static double
reference_ce_targets (const float *z, const float *t, const float *w, double s, int64_t n,
                      int64_t k)
{
  double total = 0, logp[16];
  for (int64_t i = 0; i < n; i++)
    {
      log_softmax_row (logp, z + i * k, k);
      for (int64_t j = 0; j < k; j++)
        total += -(w ? w[j] : 1.0) * ((1 - s) * t[i * k + j] + s / (double) k) * logp[j];
    }
  return total / (double) n;
}

/* Lin et al.: -w_y (1 - p_y)^gamma log p_y, over sum_n w_y. */
static double
reference_focal (const float *z, const int32_t *y, const float *w, double gamma, int64_t n,
                 int64_t k)
{
  double total = 0, wsum = 0, logp[16];
  for (int64_t i = 0; i < n; i++)
    {
      log_softmax_row (logp, z + i * k, k);
      double wy = w ? w[y[i]] : 1.0;
      total += -wy * pow (1 - exp (logp[y[i]]), gamma) * logp[y[i]];
      wsum += wy;
    }
  return total / wsum;
}

static double
loss_value (const HoneLoss *loss, const float *z, const int32_t *y, const float *t, int64_t n,
            int64_t k)
{
  double v = NAN;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_loss_compute (loss, &v, NULL, z, y, t, n, k, 1.0f, &error));
  g_assert_no_error (error);
  return v;
}

/* The gradient against central differences of the loss itself. */
static void
check_gradient (const HoneLoss *loss, gboolean soft, float scale)
{
  float z[N * K], t[N * K], grad[N * K];
  int32_t y[N];
  fill_logits (z, N, K, scale);
  fill_labels (y, N, K);
  fill_targets (t, N, K);
  const int32_t *labels = soft ? NULL : y;
  const float *targets = soft ? t : NULL;

  /* garbage first: the gradient is written, not added */
  for (int i = 0; i < N * K; i++)
    grad[i] = 1e6f;
  double v;
  g_assert_true (hone_loss_compute (loss, &v, grad, z, labels, targets, N, K, 0.5f, NULL));

  float num[N * K];
  const float h = 1e-2f;
  for (int i = 0; i < N * K; i++)
    {
      float keep = z[i];
      z[i] = keep + h;
      double up = loss_value (loss, z, labels, targets, N, K);
      z[i] = keep - h;
      double down = loss_value (loss, z, labels, targets, N, K);
      z[i] = keep;
      num[i] = (float) (0.5 * (up - down) / (2.0 * (double) h));
    }
  hone_test_assert_close ("dlogits", grad, num, N * K, 2e-3, 2e-5);
}

static void
test_cross_entropy_values (void)
{
  float z[N * K], t[N * K];
  int32_t y[N];
  fill_logits (z, N, K, 2.0f);
  fill_labels (y, N, K);
  fill_targets (t, N, K);
  const double smoothing[] = { 0.0, 0.1, 0.3 };
  for (gsize s = 0; s < G_N_ELEMENTS (smoothing); s++)
    for (int weighted = 0; weighted < 2; weighted++)
      {
        HoneLoss loss;
        hone_loss_init (&loss);
        loss.label_smoothing = smoothing[s];
        loss.class_weights = weighted ? weights4 : NULL;
        double want = reference_ce_labels (z, y, loss.class_weights, smoothing[s], N, K);
        g_assert_cmpfloat_with_epsilon (loss_value (&loss, z, y, NULL, N, K), want, 1e-12);
        want = reference_ce_targets (z, t, loss.class_weights, smoothing[s], N, K);
        g_assert_cmpfloat_with_epsilon (loss_value (&loss, z, NULL, t, N, K), want, 1e-12);
      }
}

/* By hand: two classes with logits (0, log 3): p = (1/4, 3/4). */
static void
test_cross_entropy_by_hand (void)
{
  float z[2] = { 0.0f, (float) log (3.0) };
  int32_t y = 1;
  float grad[2];
  HoneLoss loss;
  hone_loss_init (&loss);
  double v;
  g_assert_true (hone_loss_compute (&loss, &v, grad, z, &y, NULL, 1, 2, 1.0f, NULL));
  g_assert_cmpfloat_with_epsilon (v, -log (0.75), 1e-7);
  g_assert_cmpfloat_with_epsilon (grad[0], 0.25, 1e-6);
  g_assert_cmpfloat_with_epsilon (grad[1], -0.25, 1e-6);
  /* focal, gamma 2: -(1/4)^2 log (3/4) */
  loss.kind = HONE_LOSS_FOCAL;
  loss.focal_gamma = 2.0;
  g_assert_true (hone_loss_compute (&loss, &v, NULL, z, &y, NULL, 1, 2, 1.0f, NULL));
  g_assert_cmpfloat_with_epsilon (v, -0.0625 * log (0.75), 1e-7);
}

static void
test_focal_values (void)
{
  float z[N * K], t[N * K];
  int32_t y[N];
  fill_logits (z, N, K, 2.0f);
  fill_labels (y, N, K);
  fill_targets (t, N, K);
  const double gammas[] = { 0.5, 1.0, 2.0, 5.0 };
  for (gsize g = 0; g < G_N_ELEMENTS (gammas); g++)
    for (int weighted = 0; weighted < 2; weighted++)
      {
        HoneLoss loss;
        hone_loss_init (&loss);
        loss.kind = HONE_LOSS_FOCAL;
        loss.focal_gamma = gammas[g];
        loss.class_weights = weighted ? weights4 : NULL;
        double want = reference_focal (z, y, loss.class_weights, gammas[g], N, K);
        g_assert_cmpfloat_with_epsilon (loss_value (&loss, z, y, NULL, N, K), want, 1e-12);
      }
}

/* gamma 0 is cross-entropy in every mode, values and gradients. */
static void
test_focal_gamma0_is_cross_entropy (void)
{
  float z[N * K], t[N * K], g1[N * K], g2[N * K];
  int32_t y[N];
  fill_logits (z, N, K, 3.0f);
  fill_labels (y, N, K);
  fill_targets (t, N, K);
  for (int soft = 0; soft < 2; soft++)
    for (int weighted = 0; weighted < 2; weighted++)
      {
        HoneLoss ce, focal;
        hone_loss_init (&ce);
        ce.label_smoothing = 0.2;
        ce.class_weights = weighted ? weights4 : NULL;
        focal = ce;
        focal.kind = HONE_LOSS_FOCAL;
        focal.focal_gamma = 0.0;
        double v1, v2;
        g_assert_true (hone_loss_compute (&ce, &v1, g1, z, soft ? NULL : y, soft ? t : NULL,
                                          N, K, 1.0f, NULL));
        g_assert_true (hone_loss_compute (&focal, &v2, g2, z, soft ? NULL : y, soft ? t : NULL,
                                          N, K, 1.0f, NULL));
        g_assert_cmpfloat_with_epsilon (v1, v2, 1e-12);
        hone_test_assert_close ("focal gamma 0", g2, g1, N * K, 1e-6, 1e-9);
      }
}

static void
test_gradients (void)
{
  const double smoothing[] = { 0.0, 0.15 };
  const double gammas[] = { -1.0, 0.0, 0.5, 2.0, 3.5 };   /* -1: cross-entropy */
  for (gsize s = 0; s < G_N_ELEMENTS (smoothing); s++)
    for (gsize g = 0; g < G_N_ELEMENTS (gammas); g++)
      for (int weighted = 0; weighted < 2; weighted++)
        for (int soft = 0; soft < 2; soft++)
          {
            HoneLoss loss;
            hone_loss_init (&loss);
            loss.kind = gammas[g] < 0 ? HONE_LOSS_CROSS_ENTROPY : HONE_LOSS_FOCAL;
            loss.focal_gamma = MAX (gammas[g], 0.0);
            loss.label_smoothing = smoothing[s];
            loss.class_weights = weighted ? weights4 : NULL;
            check_gradient (&loss, soft, 2.0f);
            if (g_test_failed ())
              {
                g_test_message ("kind %d gamma %g smoothing %g weighted %d soft %d", loss.kind,
                                loss.focal_gamma, loss.label_smoothing, weighted, soft);
                return;
              }
          }
}

/* Logits of +-1000 neither overflow nor lose the small probability. */
static void
test_stability (void)
{
  float z[6] = { 1000.0f, -1000.0f, 990.0f, 3000.0f, 3000.0f, -3000.0f };
  int32_t y[2] = { 2, 1 };
  float grad[6];
  for (int focal = 0; focal < 2; focal++)
    {
      HoneLoss loss;
      hone_loss_init (&loss);
      loss.kind = focal ? HONE_LOSS_FOCAL : HONE_LOSS_CROSS_ENTROPY;
      double v;
      g_assert_true (hone_loss_compute (&loss, &v, grad, z, y, NULL, 2, 3, 1.0f, NULL));
      g_assert_true (isfinite (v));
      for (int i = 0; i < 6; i++)
        g_assert_true (isfinite (grad[i]));
      if (!focal)
        {
          /* sample 0: -log p_2 = 10 + log (1 + e^-10 + e^-2000); sample 1: log 2 */
          double want0 = 10.0 + log1p (exp (-10.0));
          double want1 = log (2.0);
          g_assert_cmpfloat_with_epsilon (v, (want0 + want1) / 2, 1e-12);
        }
    }
  /* p_y == 1 exactly in double: focal's gradient limit is finite (0). */
  float sure[2] = { 0.0f, 200.0f };
  int32_t one = 1;
  HoneLoss loss;
  hone_loss_init (&loss);
  loss.kind = HONE_LOSS_FOCAL;
  loss.focal_gamma = 0.5;
  double v;
  g_assert_true (hone_loss_compute (&loss, &v, grad, sure, &one, NULL, 1, 2, 1.0f, NULL));
  g_assert_true (isfinite (v) && isfinite (grad[0]) && isfinite (grad[1]));
}

static void
test_non_finite_logits (void)
{
  float z[4] = { 1.0f, NAN, 0.0f, 2.0f };
  int32_t y[2] = { 0, 1 };
  HoneLoss loss;
  hone_loss_init (&loss);
  double v = 0;
  g_assert_true (hone_loss_compute (&loss, &v, NULL, z, y, NULL, 2, 2, 1.0f, NULL));
  g_assert_false (isfinite (v));
}

static void
test_grad_scale (void)
{
  float z[N * K], g1[N * K], g2[N * K];
  int32_t y[N];
  fill_logits (z, N, K, 1.0f);
  fill_labels (y, N, K);
  HoneLoss loss;
  hone_loss_init (&loss);
  double v1, v2;
  g_assert_true (hone_loss_compute (&loss, &v1, g1, z, y, NULL, N, K, 1.0f, NULL));
  g_assert_true (hone_loss_compute (&loss, &v2, g2, z, y, NULL, N, K, 0.25f, NULL));
  g_assert_cmpfloat (v1, ==, v2);
  for (int i = 0; i < N * K; i++)
    g_assert_cmpfloat_with_epsilon (g2[i], 0.25f * g1[i], 1e-7);
}

/* Every label of the batch weighs 0: loss 0 and no gradient, not NaN. */
static void
test_zero_weight_batch (void)
{
  const float w[3] = { 1.0f, 0.0f, 1.0f };
  float z[6] = { 1, 2, 3, 4, 5, 6 }, grad[6];
  int32_t y[2] = { 1, 1 };
  HoneLoss loss;
  hone_loss_init (&loss);
  loss.class_weights = w;
  double v = 1;
  g_assert_true (hone_loss_compute (&loss, &v, grad, z, y, NULL, 2, 3, 1.0f, NULL));
  g_assert_cmpfloat (v, ==, 0.0);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (grad[i], ==, 0.0f);
}

static void
expect_invalid (const HoneLoss *loss, int64_t k, const int32_t *labels, const float *targets,
                int64_t n, const char *needle)
{
  float z[64] = { 0 }, grad[64];
  memset (grad, 0x7f, sizeof grad);
  float before = grad[0];
  double v = 42;
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_loss_compute (loss, &v, grad, z, labels, targets, n, k, 1.0f, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  if (!strstr (error->message, needle))
    g_error ("message \"%s\" does not name \"%s\"", error->message, needle);
  g_assert_cmpfloat (v, ==, 42);
  g_assert_cmpfloat (grad[0], ==, before);
}

static void
test_validation (void)
{
  int32_t y[2] = { 0, 1 };
  float t[4] = { 0.5f, 0.5f, 1.0f, 0.0f };
  HoneLoss loss;

  hone_loss_init (&loss);
  loss.label_smoothing = 1.5;
  expect_invalid (&loss, 2, y, NULL, 2,
                  "loss.label_smoothing = 1.5 is out of range: use 0 to 0.99");
  loss.label_smoothing = 1.0;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.label_smoothing = 1 ");
  loss.label_smoothing = NAN;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.label_smoothing");
  loss.label_smoothing = -0.1;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.label_smoothing");

  hone_loss_init (&loss);
  loss.kind = HONE_LOSS_FOCAL;
  loss.focal_gamma = -1;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.focal_gamma = -1 is out of range");
  loss.focal_gamma = INFINITY;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.focal_gamma");

  hone_loss_init (&loss);
  const float bad_w[2] = { 1.0f, -2.0f };
  loss.class_weights = bad_w;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.class_weights[1] = -2 is out of range");
  const float zero_w[2] = { 0.0f, 0.0f };
  loss.class_weights = zero_w;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.class_weights are all 0");

  hone_loss_init (&loss);
  loss.kind = 7;
  expect_invalid (&loss, 2, y, NULL, 2, "loss.kind");

  hone_loss_init (&loss);
  int32_t bad_y[2] = { 1, 2 };
  expect_invalid (&loss, 2, bad_y, NULL, 2, "label 2 of sample 1 is out of range");
  int32_t neg_y[2] = { -1, 0 };
  expect_invalid (&loss, 2, neg_y, NULL, 2, "label -1 of sample 0");
  float bad_t[4] = { 0.5f, 0.5f, -0.25f, 1.25f };
  expect_invalid (&loss, 2, NULL, bad_t, 2, "sample 1, class 0");
  float nan_t[4] = { 0.5f, NAN, 0.25f, 0.75f };
  expect_invalid (&loss, 2, NULL, nan_t, 2, "sample 0, class 1");

  /* and the standalone validators */
  g_autoptr (GError) error = NULL;
  hone_loss_init (&loss);
  g_assert_true (hone_loss_validate (&loss, 10, &error));
  g_assert_true (hone_loss_validate_labels (y, 2, 2, &error));
  g_assert_true (hone_loss_validate_targets (t, 2, 2, &error));
  g_assert_false (hone_loss_validate (&loss, 0, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
}

static void
test_count_correct (void)
{
  float z[9] = { 0, 5, 1,   2, 2, 1,   -1, -2, -3 };
  int32_t y[3] = { 1, 1, 0 };
  float t[9] = { 0, 0.2f, 0.8f,   0.6f, 0.4f, 0,   1, 0, 0 };
  /* ties go to the first index: sample 1 predicts class 0 */
  g_assert_cmpint (hone_loss_count_correct (z, y, NULL, 3, 3), ==, 2);
  g_assert_cmpint (hone_loss_count_correct (z, NULL, t, 3, 3), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/loss/cross-entropy/by-hand", test_cross_entropy_by_hand);
  g_test_add_func ("/engine/loss/cross-entropy/values", test_cross_entropy_values);
  g_test_add_func ("/engine/loss/focal/values", test_focal_values);
  g_test_add_func ("/engine/loss/focal/gamma0-is-cross-entropy",
                   test_focal_gamma0_is_cross_entropy);
  g_test_add_func ("/engine/loss/gradients", test_gradients);
  g_test_add_func ("/engine/loss/stability", test_stability);
  g_test_add_func ("/engine/loss/non-finite-logits", test_non_finite_logits);
  g_test_add_func ("/engine/loss/grad-scale", test_grad_scale);
  g_test_add_func ("/engine/loss/zero-weight-batch", test_zero_weight_batch);
  g_test_add_func ("/engine/loss/validation", test_validation);
  g_test_add_func ("/engine/loss/count-correct", test_count_correct);
  return g_test_run ();
}
