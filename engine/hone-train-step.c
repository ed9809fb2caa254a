/* hone-train-step.c: forward, loss, backward and the accumulated update.
 *
 * The loss gradient is written straight into the output's gradient buffer
 * (hone_loss_compute writes rather than adds), and hone_graph_backward adds
 * the parameter gradients to whatever earlier micro-batches of the window
 * left there.  It does not own the graph, the optimizer or the data. */
#include "config.h"

#include <math.h>

#include "hone-train-step.h"

struct _HoneTrainStep
{
  HoneGraph *graph;         /* not owned */
  HoneOptimizer *opt;       /* not owned */
  HoneLoss loss;            /* class_weights points at weights */
  float *weights;           /* (K) owned copy, or NULL */
  int accum;
  int pending;              /* micro-batches in the current window */
  int output;               /* value id of the logits */
  int64_t k;                /* classes: the output's per-sample element count */
};

HoneTrainStep *
hone_train_step_new (HoneGraph *g, HoneOptimizer *opt, const HoneLoss *loss, int accum,
                     GError **error)
{
  g_return_val_if_fail (g != NULL && opt != NULL && loss != NULL, NULL);

  if (hone_graph_n_outputs (g) < 1)
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "the model has no output to train");
      return NULL;
    }
  int output = hone_graph_output (g, 0);
  int64_t k = hone_shape_numel (&hone_graph_value (g, output)->shape);
  if (!hone_loss_validate (loss, k, error))
    return NULL;
  if (accum < 1)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "train.accumulation = %d is out of range: use 1 or more (1 is none)", accum);
      return NULL;
    }
  if (hone_graph_grads (g) == NULL)
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "the model was not prepared for training: plan it with backward");
      return NULL;
    }

  HoneTrainStep *ts = g_new0 (HoneTrainStep, 1);
  ts->graph = g;
  ts->opt = opt;
  ts->loss = *loss;
  if (loss->class_weights)
    {
      ts->weights = g_memdup2 (loss->class_weights, (gsize) k * sizeof (float));
      ts->loss.class_weights = ts->weights;
    }
  ts->accum = accum;
  ts->output = output;
  ts->k = k;
  hone_graph_zero_grad (g);
  return ts;
}

void
hone_train_step_free (HoneTrainStep *ts)
{
  if (ts == NULL)
    return;
  g_free (ts->weights);
  g_free (ts);
}

void
hone_train_step_discard (HoneTrainStep *ts)
{
  g_return_if_fail (ts != NULL);
  hone_graph_zero_grad (ts->graph);
  ts->pending = 0;
}

int
hone_train_step_pending (const HoneTrainStep *ts)
{
  g_return_val_if_fail (ts != NULL, 0);
  return ts->pending;
}

int
hone_train_step_accum (const HoneTrainStep *ts)
{
  g_return_val_if_fail (ts != NULL, 1);
  return ts->accum;
}

gboolean
hone_train_step_run (HoneTrainStep *ts, int batch, const int32_t *labels, const float *targets,
                     double lr, HoneTrainStepResult *result, GError **error)
{
  g_return_val_if_fail (ts != NULL && batch >= 1, FALSE);
  g_return_val_if_fail ((labels != NULL) != (targets != NULL), FALSE);
  HoneGraph *g = ts->graph;

  if (result)
    *result = (HoneTrainStepResult) { 0 };

  /* Everything that can be refused without side effects comes first. */
  if (labels && !hone_loss_validate_labels (labels, batch, ts->k, error))
    return FALSE;
  if (targets && !hone_loss_validate_targets (targets, batch, ts->k, error))
    return FALSE;
  if (!hone_graph_forward (g, batch, TRUE, error))
    return FALSE;

  const float *logits = hone_graph_tensor (g, ts->output).data;   /* (N, K) */
  float *dlogits = hone_graph_grad (g, ts->output);   /* (N, K); NULL when nothing trains */
  g_assert (logits != NULL);

  double loss = 0.0;
  gboolean ok = hone_loss_compute (&ts->loss, &loss, dlogits, logits, labels, targets, batch,
                                   ts->k, 1.0f / (float) ts->accum, error);
  g_assert (ok);   /* settings, labels and targets were checked above */

  int64_t correct = hone_loss_count_correct (logits, labels, targets, batch, ts->k);
  if (result)
    {
      result->loss = loss;
      result->correct = correct;
      result->accuracy = (double) correct / (double) batch;
    }

  if (!isfinite (loss))
    {
      hone_train_step_discard (ts);
      g_set_error (error, HONE_ERROR, HONE_ERROR_DIVERGED,
                   "the loss is %g: training diverged, the update was skipped (lower the "
                   "learning rate or enable gradient clipping)", loss);
      return FALSE;
    }

  if (dlogits)
    hone_graph_backward (g);

  if (++ts->pending < ts->accum)
    return TRUE;

  ts->pending = 0;
  if (!hone_optimizer_step_and_zero (ts->opt, lr, error))
    return FALSE;
  if (result)
    {
      result->updated = TRUE;
      result->grad_norm = hone_optimizer_last_grad_norm (ts->opt);
    }
  return TRUE;
}
