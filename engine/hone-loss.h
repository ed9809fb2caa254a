/* hone-loss.h: classification losses over a batch of logits, and their
 * gradient with respect to the logits.
 *
 * Cross-entropy follows torch.nn.functional.cross_entropy (PyTorch 1.13)
 * exactly, with reduction 'mean': class weights, label smoothing and soft
 * (probability) targets, in the same combinations and with the same
 * normalisation.  Focal loss is the multi-class softmax focal loss of Lin et
 * al., "Focal Loss for Dense Object Detection" (2017), normalised so that
 * gamma 0 gives cross-entropy in every mode.
 *
 * Definitions, with log p = log_softmax (z) per sample and K classes:
 *
 *   every sample n gets a coefficient row q[n, k]:
 *     hard label y:  q[k] = (1 - s) w_y [k == y] + (s / K) w_k
 *     soft target t: q[k] = w_k ((1 - s) t_k + s / K)
 *   (s = label_smoothing, w = class_weights, 1 when NULL), and a
 *   normaliser D:
 *     hard labels:  D = sum_n w_{y_n}  (the weighted mean of nll_loss;
 *                   the number of samples without weights)
 *     soft targets: D = N              (PyTorch divides by N, not by weights)
 *
 *   cross-entropy  L = -1/D sum_n sum_k q[n,k] log p[n,k]
 *   focal          L = -1/D sum_n sum_k q[n,k] (1 - p[n,k])^gamma log p[n,k]
 *
 * Without smoothing and with a hard label, focal is the usual
 * -w_y (1 - p_y)^gamma log p_y, averaged with the same D as cross-entropy.
 * When D is 0 (every label in the batch has weight 0) PyTorch returns NaN;
 * Hone returns a loss of 0 and a zero gradient, so that a batch made only of
 * ignored classes does not stop a run as diverged.
 *
 * Everything is computed in double precision with log-sum-exp, so large
 * logits neither overflow nor lose the small probabilities.
 *
 * This file does not touch graphs: the training step (hone-train-step.h)
 * passes it the output tensor and writes the gradient into the output's
 * gradient buffer. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"

G_BEGIN_DECLS

typedef enum
{
  HONE_LOSS_CROSS_ENTROPY,
  HONE_LOSS_FOCAL,
} HoneLossKind;

typedef struct
{
  HoneLossKind kind;
  double label_smoothing;       /* [0, 1) */
  double focal_gamma;           /* >= 0; used by HONE_LOSS_FOCAL only */
  const float *class_weights;   /* (K), not owned; NULL: every class weighs 1 */
} HoneLoss;

/* Cross-entropy, no weights, no smoothing, gamma 2 for when kind becomes focal. */
void     hone_loss_init     (HoneLoss *loss);

/* Checks the settings for a model with n_classes outputs.  The error (in
 * HONE_ERROR_INVALID) names the setting and the allowed range:
 * "loss.label_smoothing = 1.5 is out of range: use 0 to 0.99". */
gboolean hone_loss_validate (const HoneLoss *loss, int64_t n_classes, GError **error);

/* Checks that every label lies in [0, n_classes); the error names the first
 * sample that does not. */
gboolean hone_loss_validate_labels (const int32_t *labels, int64_t n, int64_t n_classes,
                                    GError **error);

/* Checks that every soft target (N, K) is finite and not negative; the
 * error names the first sample and class that is not. */
gboolean hone_loss_validate_targets (const float *targets, int64_t n, int64_t n_classes,
                                     GError **error);

/* Computes the mean loss of a batch into *value and, when dlogits is not
 * NULL, WRITES (=, not +=: it is where backward starts)
 *   dlogits = grad_scale * dL/dlogits.
 * Give exactly one of labels (N) and targets (N, K); soft targets are for
 * mixup, cutmix and distillation, must be finite and not negative, and need
 * not sum to 1 (as in PyTorch).  Validates the settings, labels and targets
 * first and returns FALSE with error set (nothing written) when one is out
 * of range.  A non-finite logit gives a non-finite value, not an error: the
 * caller decides what divergence means.
 *
 * dlogits (N, K), logits (N, K), labels (N), targets (N, K). */
gboolean hone_loss_compute (const HoneLoss *loss, double *value, float *dlogits,
                            const float *logits, const int32_t *labels, const float *targets,
                            int64_t n, int64_t n_classes, float grad_scale, GError **error);

/* How many samples have their largest logit (the first, on ties, like
 * torch.argmax) at the label, or, with soft targets, at the target's
 * largest entry.  Give exactly one of labels and targets. */
int64_t  hone_loss_count_correct (const float *logits, const int32_t *labels,
                                  const float *targets, int64_t n, int64_t n_classes);

G_END_DECLS
