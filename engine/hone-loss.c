/* hone-loss.c: cross-entropy and focal loss with their logit gradients.
 *
 * One code path serves every mode: each sample gets a coefficient row q
 * (hone-loss.h), and the loss is -1/D sum_k q_k phi(p_k) log p_k with
 * phi = 1 (cross-entropy) or (1 - p)^gamma (focal).  Rows are independent,
 * so they run in parallel; the per-row losses are summed in row order, so
 * the result does not depend on the thread count.
 *
 * References:
 *   https://pytorch.org/docs/1.13/generated/torch.nn.functional.cross_entropy.html
 *   https://pytorch.org/docs/1.13/generated/torch.nn.CrossEntropyLoss.html
 *   (the weighted mean with label smoothing is aten/src/ATen/native/LossNLL.cpp,
 *   cross_entropy_loss_label_smoothing: both terms divided by sum_n w_{y_n})
 *   Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, eq. 5.
 *
 * It does not know graphs, batches of images or optimizers. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-loss.h"
#include "hone-parallel.h"

void
hone_loss_init (HoneLoss *loss)
{
  g_return_if_fail (loss != NULL);
  *loss = (HoneLoss) {
    .kind = HONE_LOSS_CROSS_ENTROPY,
    .label_smoothing = 0.0,
    .focal_gamma = 2.0,
    .class_weights = NULL,
  };
}

gboolean
hone_loss_validate (const HoneLoss *loss, int64_t n_classes, GError **error)
{
  g_return_val_if_fail (loss != NULL, FALSE);
  if (loss->kind != HONE_LOSS_CROSS_ENTROPY && loss->kind != HONE_LOSS_FOCAL)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "loss.kind = %d is not a known loss: use cross-entropy or focal",
                   (int) loss->kind);
      return FALSE;
    }
  if (n_classes < 1 || n_classes > G_MAXINT32)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "the model has %" G_GINT64_FORMAT " outputs per sample: a classifier "
                   "needs at least 1", n_classes);
      return FALSE;
    }
  if (!(loss->label_smoothing >= 0.0 && loss->label_smoothing < 1.0))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "loss.label_smoothing = %g is out of range: use 0 to 0.99",
                   loss->label_smoothing);
      return FALSE;
    }
  if (loss->kind == HONE_LOSS_FOCAL
      && !(loss->focal_gamma >= 0.0 && isfinite (loss->focal_gamma)))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "loss.focal_gamma = %g is out of range: use 0 or more (2 is usual; "
                   "0 is cross-entropy)", loss->focal_gamma);
      return FALSE;
    }
  if (loss->class_weights)
    {
      gboolean any = FALSE;
      for (int64_t k = 0; k < n_classes; k++)
        {
          float w = loss->class_weights[k];
          if (!(w >= 0.0f && isfinite (w)))
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "loss.class_weights[%" G_GINT64_FORMAT "] = %g is out of range: "
                           "use 0 or more", k, (double) w);
              return FALSE;
            }
          any |= w > 0.0f;
        }
      if (!any)
        {
          g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                               "loss.class_weights are all 0: give at least one class a "
                               "positive weight");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
hone_loss_validate_labels (const int32_t *labels, int64_t n, int64_t n_classes, GError **error)
{
  g_return_val_if_fail (labels != NULL || n == 0, FALSE);
  for (int64_t i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] >= n_classes)
      {
        g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                     "label %d of sample %" G_GINT64_FORMAT " is out of range: the model "
                     "has %" G_GINT64_FORMAT " classes (labels 0 to %" G_GINT64_FORMAT ")",
                     (int) labels[i], i, n_classes, n_classes - 1);
        return FALSE;
      }
  return TRUE;
}

gboolean
hone_loss_validate_targets (const float *targets, int64_t n, int64_t n_classes, GError **error)
{
  g_return_val_if_fail (targets != NULL || n == 0, FALSE);
  for (int64_t i = 0; i < n * n_classes; i++)
    if (!(targets[i] >= 0.0f && isfinite (targets[i])))
      {
        g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                     "soft target of sample %" G_GINT64_FORMAT ", class %" G_GINT64_FORMAT
                     " is %g: targets must be finite and not negative",
                     i / n_classes, i % n_classes, (double) targets[i]);
        return FALSE;
      }
  return TRUE;
}

typedef struct
{
  const HoneLoss *loss;
  const float *logits;      /* (N, K) */
  const int32_t *labels;    /* (N) or NULL */
  const float *targets;     /* (N, K) or NULL */
  float *dlogits;           /* (N, K) or NULL */
  double *row_loss;         /* (N): sum_k q_k phi_k (-log p_k), before / D */
  int64_t k;
  double grad_mult;         /* grad_scale / D */
} LossJob;

static void
loss_rows (int64_t begin, int64_t end, gpointer user_data)
{
  const LossJob *job = user_data;
  const HoneLoss *loss = job->loss;
  const int64_t k = job->k;
  const double s = loss->label_smoothing;
  const gboolean focal = loss->kind == HONE_LOSS_FOCAL;
  const double gamma = loss->focal_gamma;
  const float *w = loss->class_weights;
  double *logp = g_new (double, 3 * k);    /* (K) */
  double *q = logp + k;                    /* (K) */
  double *g = q + k;                       /* (K) */

  for (int64_t n = begin; n < end; n++)
    {
      const float *z = job->logits + n * k;

      /* log-softmax by log-sum-exp */
      double m = -INFINITY;
      for (int64_t j = 0; j < k; j++)
        m = MAX (m, (double) z[j]);
      double sum = 0.0;
      for (int64_t j = 0; j < k; j++)
        sum += exp ((double) z[j] - m);
      double lse = m + log (sum);
      for (int64_t j = 0; j < k; j++)
        logp[j] = (double) z[j] - lse;

      /* the coefficient row q */
      if (job->labels)
        {
          int y = job->labels[n];
          for (int64_t j = 0; j < k; j++)
            q[j] = s / (double) k * (w ? (double) w[j] : 1.0);
          q[y] += (1.0 - s) * (w ? (double) w[y] : 1.0);
        }
      else
        {
          const float *t = job->targets + n * k;
          for (int64_t j = 0; j < k; j++)
            q[j] = (w ? (double) w[j] : 1.0) * ((1.0 - s) * (double) t[j] + s / (double) k);
        }

      /* loss, and g_j = q_j p_j dphi(p_j)/dp_j with phi (p) = -(1 - p)^gamma log p,
       * so that dL/dz_j = g_j - p_j sum_k g_k.  Cross-entropy: g_j = -q_j. */
      double l = 0.0, gsum = 0.0;
      for (int64_t j = 0; j < k; j++)
        {
          double gj;
          if (q[j] == 0.0)
            {
              g[j] = 0.0;
              continue;
            }
          if (focal)
            {
              double p = exp (logp[j]);
              double one_minus_p = -expm1 (logp[j]);
              double f = pow (one_minus_p, gamma);
              /* -log p / (1 - p) tends to 1 as p -> 1 */
              double r = one_minus_p > 0.0 ? -logp[j] / one_minus_p : 1.0;
              l -= q[j] * f * logp[j];
              gj = -q[j] * f * (1.0 + gamma * p * r);
            }
          else
            {
              l -= q[j] * logp[j];
              gj = -q[j];
            }
          g[j] = gj;
          gsum += gj;
        }
      job->row_loss[n] = l;

      if (job->dlogits)
        {
          float *dz = job->dlogits + n * k;   /* (K) */
          for (int64_t j = 0; j < k; j++)
            dz[j] = (float) (job->grad_mult * (g[j] - exp (logp[j]) * gsum));
        }
    }
  g_free (logp);
}

gboolean
hone_loss_compute (const HoneLoss *loss, double *value, float *dlogits,
                   const float *logits, const int32_t *labels, const float *targets,
                   int64_t n, int64_t n_classes, float grad_scale, GError **error)
{
  g_return_val_if_fail (loss != NULL && logits != NULL, FALSE);
  g_return_val_if_fail ((labels != NULL) != (targets != NULL), FALSE);
  g_return_val_if_fail (n >= 1, FALSE);

  if (!hone_loss_validate (loss, n_classes, error))
    return FALSE;
  if (labels && !hone_loss_validate_labels (labels, n, n_classes, error))
    return FALSE;
  if (targets && !hone_loss_validate_targets (targets, n, n_classes, error))
    return FALSE;

  /* D: the weighted count for hard labels, N for soft targets. */
  double d = (double) n;
  if (labels && loss->class_weights)
    {
      d = 0.0;
      for (int64_t i = 0; i < n; i++)
        d += loss->class_weights[labels[i]];
    }
  if (d == 0.0)
    {
      if (value)
        *value = 0.0;
      if (dlogits)
        memset (dlogits, 0, (gsize) (n * n_classes) * sizeof (float));
      return TRUE;
    }

  g_autofree double *row_loss = g_new (double, n);
  LossJob job = {
    .loss = loss,
    .logits = logits,
    .labels = labels,
    .targets = targets,
    .dlogits = dlogits,
    .row_loss = row_loss,
    .k = n_classes,
    .grad_mult = (double) grad_scale / d,
  };
  /* Small batches stay on the calling thread. */
  hone_parallel_for (n, MAX (1, 16384 / n_classes), loss_rows, &job);

  double total = 0.0;
  for (int64_t i = 0; i < n; i++)
    total += row_loss[i];
  if (value)
    *value = total / d;
  return TRUE;
}

static int64_t
argmax_row (const float *x, int64_t k)
{
  int64_t best = 0;
  for (int64_t j = 1; j < k; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

int64_t
hone_loss_count_correct (const float *logits, const int32_t *labels, const float *targets,
                         int64_t n, int64_t n_classes)
{
  g_return_val_if_fail (logits != NULL, 0);
  g_return_val_if_fail ((labels != NULL) != (targets != NULL), 0);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i++)
    {
      int64_t want = labels ? labels[i] : argmax_row (targets + i * n_classes, n_classes);
      correct += argmax_row (logits + i * n_classes, n_classes) == want;
    }
  return correct;
}
