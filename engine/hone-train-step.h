/* hone-train-step.h: one training step (forward, loss, backward, and every
 * `accum` micro-batches an optimizer update) on a graph planned with
 * backward.
 *
 * Gradient accumulation: each micro-batch's loss gradient is scaled by
 * 1 / accum and the parameter gradients add up across micro-batches, so k
 * micro-batches of b samples give the update one batch of k b samples would
 * (for models without batch statistics: BatchNorm still normalises each
 * micro-batch by its own statistics, as it does in PyTorch; and with class
 * weights each micro-batch's loss is its own weighted mean, as PyTorch's
 * loss / accum is).  Micro-batches should have the same size.  The gradients
 * are zeroed after each update.
 *
 * Divergence: a non-finite loss, or a non-finite gradient when the update is
 * due, throws away the whole accumulation window (its gradients are zeroed)
 * and leaves the weights and the optimizer state as they were; the step
 * returns FALSE with HONE_ERROR_DIVERGED.  The next call starts a new window.
 *
 * This file does not load data, choose the learning rate or decide what to
 * do after a divergence: the trainer does. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"
#include "hone-graph.h"
#include "hone-loss.h"
#include "hone-optim.h"

G_BEGIN_DECLS

typedef struct _HoneTrainStep HoneTrainStep;

typedef struct
{
  double loss;          /* mean loss of this micro-batch (not scaled by 1 / accum) */
  int64_t correct;      /* samples whose largest logit is at the label (hone_loss_count_correct) */
  double accuracy;      /* correct / batch */
  gboolean updated;     /* the optimizer updated the weights after this micro-batch */
  double grad_norm;     /* when updated: the global gradient norm before clipping */
} HoneTrainStepResult;

/* A step over graph g (planned with backward; its output 0 is the logits,
 * K = the output's per-sample element count), updating with opt (made for
 * g), with `loss` (copied, class weights included) and an update every
 * `accum` (>= 1) micro-batches.  g and opt are not owned and must outlive
 * the step.  Zeroes g's gradients.  NULL with error (HONE_ERROR_INVALID,
 * naming the setting) when the loss settings or accum are out of range or
 * the graph was not planned for training. */
HoneTrainStep *hone_train_step_new  (HoneGraph *g, HoneOptimizer *opt, const HoneLoss *loss,
                                     int accum, GError **error);
void           hone_train_step_free (HoneTrainStep *ts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneTrainStep, hone_train_step_free)

/* Runs one micro-batch of `batch` samples whose inputs the caller has
 * written into the graph's input buffers, with labels (batch) or soft
 * targets (batch, K) (exactly one non-NULL).  When this micro-batch
 * completes a window of `accum`, applies the optimizer with learning rate
 * lr.  result may be NULL; it is filled whenever the loss was computed
 * (a diverged step reports the non-finite loss).  Returns FALSE with error
 * set when the labels or targets are out of range or the forward pass
 * fails (checked first: nothing changed, the window goes on), or when the
 * loss or the update fails (HONE_ERROR_DIVERGED, or HONE_ERROR_INVALID for
 * a bad lr: the window is thrown away, the weights are unchanged). */
gboolean hone_train_step_run (HoneTrainStep *ts, int batch, const int32_t *labels,
                              const float *targets, double lr, HoneTrainStepResult *result,
                              GError **error);

/* Micro-batches accumulated since the last update (0 to accum - 1). */
int      hone_train_step_pending (const HoneTrainStep *ts);

/* Throws the accumulated gradients away (at the end of an epoch whose
 * batches do not divide by accum, if the trainer wants windows not to
 * straddle epochs). */
void     hone_train_step_discard (HoneTrainStep *ts);

int      hone_train_step_accum   (const HoneTrainStep *ts);

G_END_DECLS
