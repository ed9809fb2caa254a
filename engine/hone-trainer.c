/* hone-trainer.c: the training run: setup from a recipe, the loop on its own
 * thread, events, commands, checkpoints, the run folder and evaluation.
 *
 * Threads: the training thread owns everything but the event queue and the
 * command slots, which a mutex guards (pthreads and C11 atomics only, which
 * ThreadSanitizer understands).  Consumers never see the graph.
 *
 * Exactness: the state a checkpoint saves is taken at the start of each
 * accumulation window (BatchNorm buffers, the dropout generator, the batch
 * position and the epoch's running sums), where the weights and the
 * optimizer are consistent with it, so a run stopped in the middle of a
 * window replays the window on resume.  The same snapshot undoes the
 * BatchNorm statistics a diverged window polluted.
 *
 * This file does not decode or augment images, and knows no op. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-arch.h"
#include "hone-freeze.h"
#include "hone-parallel.h"
#include "hone-safetensors.h"
#include "hone-train-step.h"
#include "hone-trainer.h"
#include "onnx/hone-onnx-export.h"

#define CHECKPOINT_FORMAT "hone-checkpoint-1"

/* ======================================================================== */
/* evaluation                                                               */
/* ======================================================================== */

void
hone_default_normalization (int channels, float *mean, float *std)
{
  static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };
  g_return_if_fail (mean != NULL && std != NULL);
  for (int c = 0; c < 4; c++)
    {
      mean[c] = 0.5f;
      std[c] = 0.5f;
    }
  if (channels == 1)
    {
      /* Fashion-MNIST's training set: the built-in data and weights */
      mean[0] = 0.2860f;
      std[0] = 0.3530f;
    }
  else if (channels == 3)
    for (int c = 0; c < 3; c++)
      {
        mean[c] = imagenet_mean[c];
        std[c] = imagenet_std[c];
      }
}

static void
eval_sample_clear (HoneEvalSample *s)
{
  g_clear_pointer (&s->name, g_free);
  g_clear_pointer (&s->probs, g_free);
  g_clear_pointer (&s->thumb, g_free);
}

static void
eval_sample_copy (HoneEvalSample *dst, const HoneEvalSample *src, int n_classes)
{
  *dst = *src;
  dst->name = g_strdup (src->name);
  dst->probs = src->probs ? g_memdup2 (src->probs, (gsize) n_classes * sizeof (float)) : NULL;
  dst->thumb = src->thumb ? g_memdup2 (src->thumb, (gsize) src->thumb_channels * src->thumb_height
                                                      * src->thumb_width)
                          : NULL;
}

void
hone_evaluation_free (HoneEvaluation *ev)
{
  if (ev == NULL)
    return;
  g_strfreev (ev->class_names);
  g_free (ev->confusion);
  g_free (ev->support);
  g_free (ev->precision);
  g_free (ev->recall);
  g_free (ev->f1);
  for (int i = 0; i < ev->n_worst; i++)
    eval_sample_clear (&ev->worst[i]);
  g_free (ev->worst);
  for (int i = 0; i < ev->n_misclassified; i++)
    eval_sample_clear (&ev->misclassified[i]);
  g_free (ev->misclassified);
  g_free (ev);
}

HoneEvaluation *
hone_evaluation_copy (const HoneEvaluation *ev)
{
  g_return_val_if_fail (ev != NULL, NULL);
  int k = ev->n_classes;
  HoneEvaluation *c = g_new0 (HoneEvaluation, 1);
  *c = *ev;
  c->class_names = g_strdupv (ev->class_names);
  c->confusion = g_memdup2 (ev->confusion, (gsize) k * k * sizeof (int64_t));
  c->support = g_memdup2 (ev->support, (gsize) k * sizeof (int64_t));
  c->precision = g_memdup2 (ev->precision, (gsize) k * sizeof (double));
  c->recall = g_memdup2 (ev->recall, (gsize) k * sizeof (double));
  c->f1 = g_memdup2 (ev->f1, (gsize) k * sizeof (double));
  c->worst = g_new0 (HoneEvalSample, MAX (ev->n_worst, 1));
  for (int i = 0; i < ev->n_worst; i++)
    eval_sample_copy (&c->worst[i], &ev->worst[i], k);
  c->misclassified = g_new0 (HoneEvalSample, MAX (ev->n_misclassified, 1));
  for (int i = 0; i < ev->n_misclassified; i++)
    eval_sample_copy (&c->misclassified[i], &ev->misclassified[i], k);
  return c;
}

/* The `cap` highest-loss samples seen so far, unordered until the end. */
typedef struct
{
  HoneEvalSample *items;
  int n;
  int cap;
} TopList;

/* The slot a sample of this loss goes to (emptied), or -1 when it does not
 * make the list.  Among equal losses the earlier sample stays. */
static int
top_slot (TopList *l, double loss)
{
  if (l->n < l->cap)
    return l->n++;
  int min = 0;
  for (int i = 1; i < l->n; i++)
    if (l->items[i].loss < l->items[min].loss)
      min = i;
  if (!(loss > l->items[min].loss))
    return -1;
  eval_sample_clear (&l->items[min]);
  return min;
}

static int
compare_samples (gconstpointer a, gconstpointer b)
{
  const HoneEvalSample *x = a, *y = b;
  if (x->loss != y->loss)
    return x->loss > y->loss ? -1 : 1;
  return (x->sample > y->sample) - (x->sample < y->sample);
}

/* A thumbnail of one normalised image (C, H, W): un-normalised, averaged
 * over factor x factor blocks so that the longest side is at most size. */
static guint8 *
make_thumb (const float *img, const HoneImageFormat *f, int size, int *oh, int *ow)
{
  int C = f->channels, H = f->height, W = f->width;
  int factor = MAX (1, (MAX (H, W) + size - 1) / size);
  int th = MAX (1, H / factor), tw = MAX (1, W / factor);
  guint8 *out = g_new (guint8, (gsize) C * th * tw);   /* (C, th, tw) */
  for (int c = 0; c < C; c++)
    {
      float m = c < 4 ? f->mean[c] : 0.0f, s = c < 4 ? f->std[c] : 1.0f;
      for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
          {
            double sum = 0.0;
            int cnt = 0;
            for (int yy = y * factor; yy < MIN (H, (y + 1) * factor); yy++)
              for (int xx = x * factor; xx < MIN (W, (x + 1) * factor); xx++)
                {
                  sum += img[((gsize) c * H + yy) * W + xx];
                  cnt++;
                }
            double v = (cnt ? sum / cnt : 0.0) * s + m;
            v = CLAMP (v, 0.0, 1.0);
            if (isnan (v))
              v = 0.0;
            out[((gsize) c * th + y) * tw + x] = (guint8) lrint (v * 255.0);
          }
    }
  *oh = th;
  *ow = tw;
  return out;
}

HoneEvaluation *
hone_evaluate (HoneGraph *g, HoneLoader *loader, HoneDataset *ds, const HoneImageFormat *format,
               int thumb_size, HoneCancelFunc cancel, gpointer cancel_data, GError **error)
{
  g_return_val_if_fail (g != NULL && loader != NULL && ds != NULL && format != NULL, NULL);
  g_return_val_if_fail (hone_graph_n_inputs (g) >= 1 && hone_graph_n_outputs (g) >= 1, NULL);

  int in_id = hone_graph_input (g, 0);
  int out_id = hone_graph_output (g, 0);
  int k = (int) hone_shape_numel (&hone_graph_value (g, out_id)->shape);
  int k_data = hone_dataset_n_classes (ds);
  int max_batch = hone_graph_max_batch (g);
  int64_t sample_floats = hone_shape_numel (&hone_graph_value (g, in_id)->shape);
  g_return_val_if_fail (max_batch >= 1, NULL);
  g_return_val_if_fail (sample_floats == (int64_t) format->channels * format->height * format->width,
                        NULL);

  g_autofree int32_t *labels = g_new0 (int32_t, max_batch);               /* (B) */
  g_autofree int *ids = g_new0 (int, max_batch);                          /* (B) */
  g_autofree float *targets = g_new0 (float, (gsize) max_batch * MAX (k, k_data)); /* (B, K) */
  g_autofree double *logp = g_new (double, k);                            /* (K) */

  HoneEvaluation *ev = g_new0 (HoneEvaluation, 1);
  ev->n_classes = k;
  ev->class_names = g_new0 (char *, k + 1);
  for (int c = 0; c < k; c++)
    ev->class_names[c] = c < k_data ? g_strdup (hone_dataset_class_name (ds, c))
                                    : g_strdup_printf ("class %d", c);
  ev->confusion = g_new0 (int64_t, (gsize) k * k);
  ev->support = g_new0 (int64_t, k);
  ev->precision = g_new0 (double, k);
  ev->recall = g_new0 (double, k);
  ev->f1 = g_new0 (double, k);
  TopList worst = { g_new0 (HoneEvalSample, HONE_EVAL_MAX_SAMPLES), 0, HONE_EVAL_MAX_SAMPLES };
  TopList mis = { g_new0 (HoneEvalSample, HONE_EVAL_MAX_SAMPLES), 0, HONE_EVAL_MAX_SAMPLES };
  ev->worst = worst.items;
  ev->misclassified = mis.items;

  double loss_sum = 0.0;
  int64_t correct = 0, n = 0;
  hone_loader_start_epoch (loader, 0, 0);
  for (;;)
    {
      if (cancel && cancel (cancel_data))
        {
          g_set_error_literal (error, HONE_ERROR, HONE_ERROR_CANCELLED, "the evaluation was cancelled");
          goto fail;
        }
      float *images = hone_graph_input_data (g, in_id);    /* (B, C, H, W) */
      gboolean mixed = FALSE;
      int nb = hone_loader_next (loader, images, labels, targets, &mixed, ids);
      if (nb <= 0)
        break;
      if (!hone_graph_forward (g, nb, FALSE, error))
        goto fail;
      const float *logits = hone_graph_tensor (g, out_id).data;   /* (B, K) */
      for (int i = 0; i < nb; i++)
        {
          int y = labels[i];
          if (y < 0 || y >= k)
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "sample %s has class %d, but the model has %d classes",
                           hone_dataset_sample_name (ds, ids[i]), y, k);
              goto fail;
            }
          const float *row = logits + (gsize) i * k;
          int pred = 0;
          double mx = row[0];
          for (int c = 1; c < k; c++)
            if (row[c] > row[pred])
              pred = c;
          for (int c = 1; c < k; c++)
            mx = MAX (mx, (double) row[c]);
          double se = 0.0;
          for (int c = 0; c < k; c++)
            se += exp ((double) row[c] - mx);
          double lse = mx + log (se);
          for (int c = 0; c < k; c++)
            logp[c] = (double) row[c] - lse;
          double loss = -logp[y];

          loss_sum += loss;
          ev->confusion[(gsize) y * k + pred]++;
          correct += pred == y;
          n++;

          for (int list = 0; list < 2; list++)
            {
              TopList *l = list == 0 ? &worst : &mis;
              if (list == 1 && pred == y)
                continue;
              int slot = top_slot (l, loss);
              if (slot < 0)
                continue;
              HoneEvalSample *s = &l->items[slot];
              s->sample = ids[i];
              s->name = g_strdup (hone_dataset_sample_name (ds, ids[i]));
              s->label = y;
              s->predicted = pred;
              s->loss = loss;
              s->probs = g_new (float, k);
              for (int c = 0; c < k; c++)
                s->probs[c] = (float) exp (logp[c]);
              if (thumb_size > 0)
                {
                  s->thumb = make_thumb (images + (gsize) i * sample_floats, format, thumb_size,
                                         &s->thumb_height, &s->thumb_width);
                  s->thumb_channels = format->channels;
                }
            }
        }
    }

  ev->n_worst = worst.n;
  ev->n_misclassified = mis.n;
  qsort (ev->worst, ev->n_worst, sizeof (HoneEvalSample), compare_samples);
  qsort (ev->misclassified, ev->n_misclassified, sizeof (HoneEvalSample), compare_samples);
  ev->n_samples = n;
  ev->loss = n ? loss_sum / (double) n : NAN;
  ev->accuracy = n ? (double) correct / (double) n : NAN;
  double f1_sum = 0.0;
  int f1_n = 0;
  for (int c = 0; c < k; c++)
    {
      int64_t tp = ev->confusion[(gsize) c * k + c], predicted = 0, support = 0;
      for (int j = 0; j < k; j++)
        {
          predicted += ev->confusion[(gsize) j * k + c];
          support += ev->confusion[(gsize) c * k + j];
        }
      ev->support[c] = support;
      ev->precision[c] = predicted ? (double) tp / (double) predicted : 0.0;
      ev->recall[c] = support ? (double) tp / (double) support : 0.0;
      double p = ev->precision[c], r = ev->recall[c];
      ev->f1[c] = p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
      if (support)
        {
          f1_sum += ev->f1[c];
          f1_n++;
        }
    }
  ev->macro_f1 = f1_n ? f1_sum / f1_n : 0.0;
  return ev;

fail:
  ev->n_worst = worst.n;
  ev->n_misclassified = mis.n;
  hone_evaluation_free (ev);
  return NULL;
}

/* ---- JSON -------------------------------------------------------------- */

/* JSON has no NaN or infinity: those become null. */
static void
json_add_double (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
json_add_int (JsonBuilder *b, const char *name, int64_t v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

static void
json_add_string (JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name (b, name);
  if (v)
    json_builder_add_string_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
json_add_bool (JsonBuilder *b, const char *name, gboolean v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, v);
}

static void
json_add_samples (JsonBuilder *b, const char *name, const HoneEvalSample *s, int n, int k)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      json_add_int (b, "sample", s[i].sample);
      json_add_string (b, "name", s[i].name);
      json_add_int (b, "label", s[i].label);
      json_add_int (b, "predicted", s[i].predicted);
      json_add_double (b, "loss", s[i].loss);
      json_builder_set_member_name (b, "probs");
      json_builder_begin_array (b);
      for (int c = 0; c < k; c++)
        if (isfinite (s[i].probs[c]))
          json_builder_add_double_value (b, s[i].probs[c]);
        else
          json_builder_add_null_value (b);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
json_add_evaluation (JsonBuilder *b, const HoneEvaluation *ev)
{
  int k = ev->n_classes;
  json_add_int (b, "samples", ev->n_samples);
  json_add_double (b, "loss", ev->loss);
  json_add_double (b, "accuracy", ev->accuracy);
  json_add_double (b, "macro_f1", ev->macro_f1);
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (int c = 0; c < k; c++)
    json_builder_add_string_value (b, ev->class_names[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "confusion");
  json_builder_begin_array (b);
  for (int r = 0; r < k; r++)
    {
      json_builder_begin_array (b);
      for (int c = 0; c < k; c++)
        json_builder_add_int_value (b, ev->confusion[(gsize) r * k + c]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "per_class");
  json_builder_begin_array (b);
  for (int c = 0; c < k; c++)
    {
      json_builder_begin_object (b);
      json_add_string (b, "class", ev->class_names[c]);
      json_add_double (b, "precision", ev->precision[c]);
      json_add_double (b, "recall", ev->recall[c]);
      json_add_double (b, "f1", ev->f1[c]);
      json_add_int (b, "support", ev->support[c]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_add_samples (b, "worst", ev->worst, ev->n_worst, k);
  json_add_samples (b, "misclassified", ev->misclassified, ev->n_misclassified, k);
}

JsonNode *
hone_evaluation_to_json (const HoneEvaluation *ev)
{
  g_return_val_if_fail (ev != NULL, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_add_evaluation (b, ev);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ======================================================================== */
/* events                                                                   */
/* ======================================================================== */

static const char *const event_names[] = {
  [HONE_EVENT_STARTED] = "started",
  [HONE_EVENT_STEP] = "step",
  [HONE_EVENT_EPOCH] = "epoch",
  [HONE_EVENT_VALIDATION] = "validation",
  [HONE_EVENT_CHECKPOINT] = "checkpoint",
  [HONE_EVENT_WARNING] = "warning",
  [HONE_EVENT_ERROR] = "error",
  [HONE_EVENT_PAUSED] = "paused",
  [HONE_EVENT_RESUMED] = "resumed",
  [HONE_EVENT_FINISHED] = "finished",
};

static const char *const finish_names[] = {
  [HONE_FINISH_COMPLETED] = "completed",
  [HONE_FINISH_STOPPED] = "stopped",
  [HONE_FINISH_EARLY_STOPPED] = "early-stopped",
  [HONE_FINISH_DIVERGED] = "diverged",
  [HONE_FINISH_FAILED] = "failed",
};

const char *
hone_event_kind_name (HoneEventKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (event_names), NULL);
  return event_names[kind];
}

const char *
hone_finish_reason_name (HoneFinishReason reason)
{
  g_return_val_if_fail ((guint) reason < G_N_ELEMENTS (finish_names), NULL);
  return finish_names[reason];
}

static HoneEvent *
event_new (HoneEventKind kind)
{
  HoneEvent *ev = g_new0 (HoneEvent, 1);
  ev->kind = kind;
  ev->epoch_info.val_loss = NAN;
  ev->epoch_info.val_accuracy = NAN;
  ev->loss = NAN;
  return ev;
}

void
hone_event_free (HoneEvent *ev)
{
  if (ev == NULL)
    return;
  g_strfreev (ev->start.class_names);
  g_free (ev->start.class_counts);
  hone_evaluation_free (ev->validation);
  g_free (ev->path);
  g_free (ev->what);
  g_free (ev->message);
  g_free (ev);
}

JsonNode *
hone_event_to_json (const HoneEvent *ev)
{
  g_return_val_if_fail (ev != NULL, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_add_string (b, "event", hone_event_kind_name (ev->kind));
  json_add_int (b, "epoch", ev->epoch);
  json_add_int (b, "epochs", ev->n_epochs);
  json_add_int (b, "step", ev->step);
  json_add_double (b, "elapsed", ev->elapsed);
  switch (ev->kind)
    {
    case HONE_EVENT_STARTED:
      {
        const HoneStartInfo *s = &ev->start;
        json_add_bool (b, "resumed", s->resumed);
        json_add_int (b, "train", s->n_train);
        json_add_int (b, "val", s->n_val);
        json_add_int (b, "test", s->n_test);
        json_builder_set_member_name (b, "classes");
        json_builder_begin_array (b);
        for (int c = 0; c < s->n_classes; c++)
          json_builder_add_string_value (b, s->class_names[c]);
        json_builder_end_array (b);
        json_builder_set_member_name (b, "class_counts");
        json_builder_begin_array (b);
        for (int c = 0; c < s->n_classes; c++)
          json_builder_add_int_value (b, s->class_counts[c]);
        json_builder_end_array (b);
        json_add_double (b, "imbalance", s->imbalance);
        json_add_int (b, "params", s->params);
        json_add_int (b, "trainable_params", s->trainable_params);
        json_add_int (b, "batches_per_epoch", s->batches_per_epoch);
        json_add_int (b, "steps_per_epoch", s->steps_per_epoch);
        json_add_int (b, "blas_threads", s->blas_threads);
        json_add_int (b, "loader_threads", s->loader_threads);
        json_add_bool (b, "head_replaced", s->head_replaced);
      }
      break;
    case HONE_EVENT_STEP:
      {
        const HoneStepInfo *s = &ev->train;
        json_add_int (b, "batch", s->batch);
        json_add_int (b, "batches", s->n_batches);
        json_add_int (b, "samples", s->samples);
        json_add_double (b, "loss", s->loss);
        json_add_double (b, "accuracy", s->accuracy);
        json_add_double (b, "lr", s->lr);
        json_add_double (b, "images_per_s", s->images_per_s);
        json_add_bool (b, "updated", s->updated);
        json_add_double (b, "grad_norm", s->grad_norm);
        json_add_double (b, "epoch_loss", s->epoch_loss);
        json_add_double (b, "epoch_accuracy", s->epoch_accuracy);
        if (s->coalesced)
          json_add_int (b, "coalesced", s->coalesced);
      }
      break;
    case HONE_EVENT_EPOCH:
      {
        const HoneEpochInfo *e = &ev->epoch_info;
        json_add_double (b, "train_loss", e->train_loss);
        json_add_double (b, "train_accuracy", e->train_accuracy);
        json_add_double (b, "val_loss", e->val_loss);
        json_add_double (b, "val_accuracy", e->val_accuracy);
        json_add_double (b, "lr", e->lr);
        json_add_double (b, "seconds", e->seconds);
        json_add_bool (b, "best", e->best);
        json_add_int (b, "bad_epochs", e->bad_epochs);
        json_add_int (b, "trainable_params", e->trainable_params);
      }
      break;
    case HONE_EVENT_VALIDATION:
      if (ev->validation)
        json_add_evaluation (b, ev->validation);
      break;
    case HONE_EVENT_CHECKPOINT:
      json_add_string (b, "what", ev->what);
      json_add_string (b, "path", ev->path);
      break;
    case HONE_EVENT_WARNING:
      json_add_string (b, "message", ev->message);
      if (ev->path)
        json_add_string (b, "path", ev->path);
      break;
    case HONE_EVENT_ERROR:
    case HONE_EVENT_RESUMED:
      if (ev->message)
        json_add_string (b, "message", ev->message);
      break;
    case HONE_EVENT_PAUSED:
      json_add_bool (b, "diverged", ev->diverged);
      json_add_string (b, "message", ev->message);
      if (ev->diverged)
        {
          json_add_double (b, "loss", ev->loss);
          json_add_double (b, "lr", ev->lr);
          json_add_double (b, "suggested_lr", ev->suggested_lr);
        }
      break;
    case HONE_EVENT_FINISHED:
      json_add_string (b, "reason", hone_finish_reason_name (ev->reason));
      json_add_string (b, "message", ev->message);
      break;
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ======================================================================== */
/* the trainer                                                              */
/* ======================================================================== */

typedef enum
{
  FLOW_CONTINUE,
  FLOW_STOP,              /* a stop command: save a checkpoint */
  FLOW_DIVERGED_STOP,     /* stopped while paused after a divergence: keep the last checkpoint */
  FLOW_FAILED,            /* error set */
} Flow;

/* Everything a checkpoint calls the position: taken at each window start. */
typedef struct
{
  int batch;
  double loss_sum;
  int64_t correct;
  int64_t seen;
  HoneRng rng;
} Position;

struct _HoneTrainer
{
  HoneRecipe *recipe;
  char *run_dir;
  char *recipe_path;
  char *metrics_path;
  char *checkpoint_path;
  char *best_path;
  char *final_path;
  char *report_path;

  /* data */
  HoneDataset *ds;
  HoneDataset *val_ds;          /* ds, or the data.val_source dataset */
  HoneSplit split;              /* val indices refer to val_ds */
  int n_classes;                /* the model's K */
  int data_classes;             /* the dataset's */
  char **class_names;           /* (K) */
  int64_t *class_counts;        /* (K) in the training split */
  float *class_weights;         /* (K) or NULL */
  HoneImageFormat format;
  HoneLoader *train_loader;
  HoneLoader *val_loader;       /* NULL without a validation split */
  int blas_threads;
  int loader_threads;

  /* model and optimisation */
  HoneModel *model;             /* owns graph */
  const char *model_name;       /* the architecture, or the model's source */
  HoneGraph *graph;
  int input_id;
  int output_id;
  gboolean head_replaced;
  HoneOptimizer *opt;
  HoneTrainStep *step;
  HoneSchedule sched;
  HonePlateau plateau;
  int n_batches;                /* micro-batches per epoch */
  int64_t steps_per_epoch;
  int64_t param_floats;         /* arena sizes */
  int64_t buffer_floats;

  /* batch buffers */
  int32_t *labels;              /* (B) */
  int *sample_ids;              /* (B) */
  float *targets_data;          /* (B, K_data) from the loader */
  float *targets;               /* (B, K) for the loss */

  /* position and state (saved in checkpoints) */
  int epoch;                    /* from 1; epochs + 1 once every epoch ran */
  int batch;                    /* micro-batches done in this epoch */
  double loss_sum;              /* over this epoch's samples */
  int64_t correct;
  int64_t seen;
  double lr_scale;
  gboolean has_best;
  double best_metric;
  int bad_epochs;
  int best_epoch;
  float *best_params;           /* copies for stop.restore_best */
  float *best_buffers;
  gboolean val_pending;         /* a validation was interrupted: run it first */
  int val_batch;                /* the batch of this epoch the last validation followed, or -1 */
  double elapsed_base;          /* seconds before this session */
  char *done;                   /* "completed", "early-stopped" or NULL */
  double last_val_loss;
  double last_val_accuracy;

  Position snap;                /* at the start of the current window */
  float *snap_buffers;

  /* this session */
  gboolean resumed;
  GPtrArray *setup_warnings;    /* HoneEvent *, emitted when the run starts */
  gint64 session_start_us;
  gint64 paused_us;
  double epoch_train_s;         /* training time this epoch, this session */
  int64_t epoch_images;
  gboolean diverged;            /* paused by a divergence */
  FILE *metrics;
  gboolean metrics_failed;
  Flow cancel_flow;
  GError *cancel_error;
  gboolean improved_this_epoch;
  HoneTrainerEventFunc sync_func;
  gpointer sync_data;
  HoneFinishReason reason;

  /* shared with other threads */
  pthread_mutex_t lock;
  pthread_cond_t cmd_cond;      /* pause, resume, stop */
  pthread_cond_t event_cond;    /* an event was queued */
  GQueue events;                /* HoneEvent *; lock */
  int queued_steps;             /* lock */
  int64_t dropped;              /* lock */
  double new_lr_scale;          /* lock; < 0: none */
  GPtrArray *unfreeze_cmds;     /* lock; char ** each */
  atomic_int stop_req;
  atomic_int pause_req;
  atomic_int state;
  atomic_int_fast64_t batches_done;
  pthread_t thread;
  gboolean started;
  gboolean joined;
};

static double
now_s (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

static double
elapsed (HoneTrainer *t)
{
  if (!t->session_start_us)
    return t->elapsed_base;
  return t->elapsed_base
         + (double) (g_get_monotonic_time () - t->session_start_us - t->paused_us) / 1e6;
}

/* ---- the queue and emitting -------------------------------------------- */

static void
queue_push (HoneTrainer *t, HoneEvent *ev)
{
  pthread_mutex_lock (&t->lock);
  if (ev->kind == HONE_EVENT_STEP && t->queued_steps >= HONE_TRAINER_QUEUE_STEPS)
    {
      HoneEvent *tail = g_queue_peek_tail (&t->events);
      if (tail && tail->kind == HONE_EVENT_STEP)
        {
          /* the consumer is slow: the newest STEP stands for the ones it replaces */
          ev->train.coalesced += tail->train.coalesced + 1;
          g_queue_pop_tail (&t->events);
          hone_event_free (tail);
          t->queued_steps--;
        }
      else
        {
          for (GList *l = t->events.head; l; l = l->next)
            {
              HoneEvent *old = l->data;
              if (old->kind == HONE_EVENT_STEP)
                {
                  g_queue_delete_link (&t->events, l);
                  hone_event_free (old);
                  t->queued_steps--;
                  t->dropped++;
                  break;
                }
            }
        }
    }
  g_queue_push_tail (&t->events, ev);
  if (ev->kind == HONE_EVENT_STEP)
    t->queued_steps++;
  pthread_cond_broadcast (&t->event_cond);
  pthread_mutex_unlock (&t->lock);
}

static void
write_metrics (HoneTrainer *t, const HoneEvent *ev)
{
  if (!t->metrics || t->metrics_failed)
    return;
  g_autoptr (JsonNode) node = hone_event_to_json (ev);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data (gen, &len);
  if (fwrite (text, 1, len, t->metrics) != len || fputc ('\n', t->metrics) == EOF
      || fflush (t->metrics) != 0)
    {
      int saved = errno;
      t->metrics_failed = TRUE;
      HoneEvent *w = event_new (HONE_EVENT_WARNING);
      w->path = g_strdup (t->metrics_path);
      w->message = g_strdup_printf ("cannot write %s: %s; the run goes on without its log",
                                    t->metrics_path, g_strerror (saved));
      w->epoch = ev->epoch;
      w->n_epochs = ev->n_epochs;
      w->step = ev->step;
      w->elapsed = ev->elapsed;
      if (t->sync_func)
        {
          t->sync_func (t, w, t->sync_data);
          hone_event_free (w);
        }
      else
        queue_push (t, w);
    }
}

/* Fills the common fields, logs the event and publishes it (transfer full). */
static void
emit (HoneTrainer *t, HoneEvent *ev)
{
  ev->epoch = MIN (t->epoch, t->recipe->epochs);
  ev->n_epochs = t->recipe->epochs;
  ev->step = t->opt ? hone_optimizer_n_steps (t->opt) : 0;
  ev->elapsed = elapsed (t);
  write_metrics (t, ev);
  if (t->sync_func)
    {
      t->sync_func (t, ev, t->sync_data);
      hone_event_free (ev);
    }
  else
    queue_push (t, ev);
}

static void
emit_message (HoneTrainer *t, HoneEventKind kind, const char *path, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static void
emit_message (HoneTrainer *t, HoneEventKind kind, const char *path, const char *format, ...)
{
  HoneEvent *ev = event_new (kind);
  va_list args;
  va_start (args, format);
  ev->message = g_strdup_vprintf (format, args);
  va_end (args);
  ev->path = g_strdup (path);
  emit (t, ev);
}

static void
emit_file (HoneTrainer *t, const char *what, const char *path)
{
  HoneEvent *ev = event_new (HONE_EVENT_CHECKPOINT);
  ev->what = g_strdup (what);
  ev->path = g_strdup (path);
  emit (t, ev);
}

static void
forward_issues (HoneTrainer *t, HoneLoader *loader)
{
  g_autoptr (GPtrArray) issues = hone_loader_take_issues (loader);
  for (guint i = 0; issues && i < issues->len; i++)
    {
      const HoneDataIssue *issue = issues->pdata[i];
      emit_message (t, HONE_EVENT_WARNING, issue->path, "skipped %s: %s", issue->path, issue->message);
    }
}

/* ---- freezing ------------------------------------------------------------ */

/* The recipe's freezing and learning-rate multipliers, as hone-freeze.c
 * applies them for the Layers page too, so that it shows what runs. */
static gboolean
apply_freezing (HoneTrainer *t, GError **error)
{
  return hone_recipe_apply_freezing (t->recipe, t->graph, t->model_name, error);
}

static gboolean
apply_lr_mults (HoneTrainer *t, GError **error)
{
  return hone_recipe_apply_lr_mults (t->recipe, t->graph, t->model_name, error);
}

/* ---- data --------------------------------------------------------------- */

static void
setup_warning (HoneTrainer *t, const char *path, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
setup_warning (HoneTrainer *t, const char *path, const char *format, ...)
{
  HoneEvent *ev = event_new (HONE_EVENT_WARNING);
  va_list args;
  va_start (args, format);
  ev->message = g_strdup_vprintf (format, args);
  va_end (args);
  ev->path = g_strdup (path);
  g_ptr_array_add (t->setup_warnings, ev);
}

static void
add_dataset_issues (HoneTrainer *t, const HoneDataset *ds)
{
  GPtrArray *issues = hone_dataset_issues (ds);
  for (guint i = 0; issues && i < issues->len; i++)
    {
      const HoneDataIssue *issue = issues->pdata[i];
      setup_warning (t, issue->path, "skipped %s: %s", issue->path, issue->message);
    }
}

static gboolean
setup_data (HoneTrainer *t, GError **error)
{
  const HoneRecipe *r = t->recipe;
  if (!r->data_source || !r->data_source[0])
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "data.source is not set: name a folder, a CSV or safetensors file, or fmnist");
      return FALSE;
    }
  t->ds = hone_dataset_open (r->data_source, error);
  if (!t->ds)
    return FALSE;
  add_dataset_issues (t, t->ds);

  gboolean ok;
  if (r->val_source && r->val_source[0])
    {
      t->val_ds = hone_dataset_open (r->val_source, error);
      if (!t->val_ds)
        return FALSE;
      add_dataset_issues (t, t->val_ds);
      ok = hone_split_given (t->ds, t->val_ds, &t->split, error);
    }
  else
    {
      t->val_ds = t->ds;
      if (r->kfold >= 2)
        ok = hone_split_kfold (t->ds, r->kfold, r->fold, r->seed, &t->split, error);
      else
        ok = hone_split_stratified (t->ds, r->val_split, r->test_split, r->seed, &t->split, error);
    }
  if (!ok)
    return FALSE;

  if (r->limit > 0 && t->val_ds != t->ds)
    hone_split_limit_given (&t->split, t->ds, t->val_ds, r->limit, r->seed);
  else if (r->limit > 0)
    hone_split_limit (&t->split, t->ds, r->limit, r->seed);
  if (t->split.n_train == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "data.source %s: no sample is left for training after the split "
                   "(data.val_split, data.test_split, data.limit)", r->data_source);
      return FALSE;
    }
  t->data_classes = hone_dataset_n_classes (t->ds);
  return TRUE;
}

static char *
arch_names (void)
{
  GString *s = g_string_new (NULL);
  for (const HoneArchInfo *const *a = hone_arch_list (); *a; a++)
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", (*a)->name);
  return g_string_free (s, FALSE);
}

/* The model: model.source (a file Hone wrote, an ONNX file, zoo:NAME) or
 * model.arch with model.weights, through HoneModel; the head is replaced
 * when model.classes differs from it or model.replace_head asks. */
static gboolean
setup_model (HoneTrainer *t, gboolean resuming, GError **error)
{
  const HoneRecipe *r = t->recipe;
  gboolean from_source = r->source && r->source[0];
  if (!from_source && !(r->arch && hone_arch_find (r->arch)))
    {
      g_autofree char *names = arch_names ();
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "model.arch = %s is not a built-in architecture: use one of %s",
                   r->arch ? r->arch : "(unset)", names);
      return FALSE;
    }
  t->n_classes = r->classes > 0 ? r->classes : t->data_classes;
  if (t->n_classes < t->data_classes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "model.classes = %d is fewer than the %d classes of data.source %s: use %d or 0",
                   r->classes, t->data_classes, r->data_source, t->data_classes);
      return FALSE;
    }
  HoneModelOptions mo;
  hone_model_options_init (&mo);
  mo.classes = t->n_classes;
  mo.replace_head = r->replace_head;
  mo.channels = r->channels;
  mo.height = r->height;
  mo.width = r->width;
  mo.seed = r->seed;
  if (r->dropout > 0.0)
    mo.dropout = r->dropout;
  /* a pretrained head that learnt other classes than the data's is replaced */
  g_autofree const char **names = g_new0 (const char *, t->data_classes + 1);
  for (int c = 0; c < t->data_classes && t->n_classes == t->data_classes; c++)
    names[c] = hone_dataset_class_name (t->ds, c);
  if (t->n_classes == t->data_classes)
    mo.class_names = names;
  if (from_source)
    {
      t->model = hone_model_load (r->source, &mo, error);
      if (!t->model)
        return FALSE;
    }
  else
    {
      t->model = hone_model_build (r->arch, &mo, error);
      if (!t->model)
        return FALSE;
      /* a resumed run takes its weights from the checkpoint */
      if (r->weights && r->weights[0] && !resuming
          && !hone_model_load_weights (t->model, r->weights, r->replace_head, error))
        return FALSE;
    }
  t->graph = t->model->graph;
  t->model_name = t->model->arch ? t->model->arch : t->model->source;
  t->head_replaced = t->model->head_replaced;
  hone_rng_init (hone_graph_rng (t->graph), r->seed, 0x64726f70u);   /* "drop" */
  t->input_id = hone_graph_input (t->graph, 0);
  t->output_id = hone_graph_output (t->graph, 0);

  /* the normalisation the model expects (its file's, or the defaults),
   * unless the recipe gives one */
  int channels = t->model->channels;
  t->format.channels = channels;
  t->format.height = t->model->height;
  t->format.width = t->model->width;
  memcpy (t->format.mean, t->model->mean, sizeof t->format.mean);
  memcpy (t->format.std, t->model->std, sizeof t->format.std);
  gboolean given = FALSE;
  for (int c = 0; c < 4; c++)
    given |= r->std[c] != 0.0f;
  for (int c = 0; given && c < MIN (channels, 4); c++)
    {
      if (r->std[c] == 0.0f)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "model.std gives no value for channel %d of the model's %d: give one value "
                       "for every channel, or one per channel", c + 1, channels);
          return FALSE;
        }
      t->format.mean[c] = r->mean[c];
      t->format.std[c] = r->std[c];
    }

  t->class_names = g_new0 (char *, t->n_classes + 1);
  for (int c = 0; c < t->n_classes; c++)
    t->class_names[c] = c < t->data_classes ? g_strdup (hone_dataset_class_name (t->ds, c))
                                            : g_strdup_printf ("class %d", c);
  return TRUE;
}

static int
default_loader_threads (int total)
{
  return total >= 8 ? total / 4 : 1;
}

static gboolean
setup_training (HoneTrainer *t, GError **error)
{
  const HoneRecipe *r = t->recipe;
  HoneGraph *g = t->graph;

  if (!apply_freezing (t, error) || !apply_lr_mults (t, error))
    return FALSE;

  int64_t *counts_data = g_new0 (int64_t, t->data_classes);
  hone_dataset_class_counts (t->ds, t->split.train, t->split.n_train, counts_data);
  t->class_counts = g_new0 (int64_t, t->n_classes);
  memcpy (t->class_counts, counts_data, (gsize) t->data_classes * sizeof (int64_t));
  if (r->class_weights)
    {
      t->class_weights = g_new (float, t->n_classes);
      for (int c = 0; c < t->n_classes; c++)
        t->class_weights[c] = 1.0f;
      hone_class_weights (counts_data, t->data_classes, t->class_weights);
    }
  g_free (counts_data);

  HoneLoss loss = r->loss;
  loss.class_weights = t->class_weights;
  if (!hone_graph_plan (g, r->batch, TRUE, error))
    return FALSE;
  t->opt = hone_optimizer_new (g, &r->optimizer, error);
  if (!t->opt)
    return FALSE;
  t->step = hone_train_step_new (g, t->opt, &loss, r->accum, error);
  if (!t->step)
    return FALSE;

  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      int64_t end = v->offset + hone_shape_numel (&v->shape);
      if (v->kind == HONE_VALUE_PARAM)
        t->param_floats = MAX (t->param_floats, end);
      else if (v->kind == HONE_VALUE_BUFFER)
        t->buffer_floats = MAX (t->buffer_floats, end);
    }
  t->snap_buffers = g_new0 (float, MAX (t->buffer_floats, 1));

  /* Training gets every core; the loader threads run below it
   * (hone_thread_background) and take what training leaves: decoding and
   * augmenting a batch costs a small fraction of a training step (see
   * bench/bench-data), so giving them whole cores would idle those cores. */
  int total = r->threads > 0 ? r->threads : (int) g_get_num_processors ();
  t->loader_threads = r->loader_threads > 0 ? r->loader_threads : default_loader_threads (total);
  t->blas_threads = MAX (1, total);

  HoneLoaderConfig lc = { 0 };
  lc.format = t->format;
  if (r->augment_enabled)
    lc.augment = r->augment;
  lc.sampling = r->balanced ? HONE_SAMPLING_BALANCED
                : r->shuffle ? HONE_SAMPLING_SHUFFLE : HONE_SAMPLING_SEQUENTIAL;
  lc.batch = r->batch;
  lc.drop_last = FALSE;
  lc.seed = r->seed;
  lc.threads = t->loader_threads;
  lc.prefetch = 2;
  t->train_loader = hone_loader_new (t->ds, t->split.train, t->split.n_train, &lc, error);
  if (!t->train_loader)
    return FALSE;
  if (t->split.n_val > 0)
    {
      HoneLoaderConfig vc = lc;
      memset (&vc.augment, 0, sizeof vc.augment);
      vc.sampling = HONE_SAMPLING_SEQUENTIAL;
      t->val_loader = hone_loader_new (t->val_ds, t->split.val, t->split.n_val, &vc, error);
      if (!t->val_loader)
        return FALSE;
    }
  else if (r->early_stopping)
    setup_warning (t, NULL, "stop.early_stopping is on but there is no validation split "
                   "(data.val_split = 0): it has no effect");

  t->n_batches = hone_loader_n_batches (t->train_loader);
  if (t->n_batches < r->accum)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "train.accum = %d is more than the %d batches of an epoch: lower it or "
                   "train.batch", r->accum, t->n_batches);
      return FALSE;
    }
  t->steps_per_epoch = t->n_batches / r->accum;
  hone_recipe_schedule (r, t->steps_per_epoch, &t->sched);
  if (!hone_schedule_validate (&t->sched, error))
    return FALSE;
  hone_plateau_init (&t->plateau, &t->sched);

  int k_data = MAX (t->data_classes, 1);
  t->labels = g_new0 (int32_t, r->batch);
  t->sample_ids = g_new0 (int, r->batch);
  t->targets_data = g_new0 (float, (gsize) r->batch * k_data);
  t->targets = g_new0 (float, (gsize) r->batch * t->n_classes);

  t->epoch = 1;
  t->batch = 0;
  t->lr_scale = 1.0;
  t->val_batch = -1;
  t->last_val_loss = NAN;
  t->last_val_accuracy = NAN;
  return TRUE;
}

static HoneTrainer *
trainer_alloc (const HoneRecipe *recipe, const char *run_dir)
{
  HoneTrainer *t = g_new0 (HoneTrainer, 1);
  t->recipe = hone_recipe_copy (recipe);
  t->run_dir = g_strdup (run_dir);
  t->recipe_path = g_build_filename (run_dir, "recipe.hone", NULL);
  t->metrics_path = g_build_filename (run_dir, "metrics.jsonl", NULL);
  t->checkpoint_path = g_build_filename (run_dir, "checkpoint.safetensors", NULL);
  t->best_path = g_build_filename (run_dir, "best.safetensors", NULL);
  t->final_path = g_build_filename (run_dir, "final.safetensors", NULL);
  t->report_path = g_build_filename (run_dir, "report.json", NULL);
  t->setup_warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) hone_event_free);
  t->unfreeze_cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  t->new_lr_scale = -1.0;
  pthread_mutex_init (&t->lock, NULL);
  pthread_cond_init (&t->cmd_cond, NULL);
  pthread_cond_init (&t->event_cond, NULL);
  g_queue_init (&t->events);
  atomic_init (&t->stop_req, 0);
  atomic_init (&t->pause_req, 0);
  atomic_init (&t->state, HONE_TRAINER_READY);
  atomic_init (&t->batches_done, 0);
  return t;
}

static gboolean
trainer_setup (HoneTrainer *t, gboolean resuming, GError **error)
{
  return setup_data (t, error) && setup_model (t, resuming, error) && setup_training (t, error);
}

/* ---- checkpoints -------------------------------------------------------- */

static void
md_set_int (HoneSafetensorsWriter *w, const char *key, int64_t v)
{
  char buf[32];
  g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, v);
  hone_safetensors_writer_set_metadata (w, key, buf);
}

/* Shortest text that reads back as the same double (inf and nan included). */
static void
md_set_double (HoneSafetensorsWriter *w, const char *key, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  hone_safetensors_writer_set_metadata (w, key, g_ascii_dtostr (buf, sizeof buf, v));
}

static int
n_param_values (HoneGraph *g)
{
  int n = 0;
  for (int id = 0; id < hone_graph_n_values (g); id++)
    n += hone_graph_value (g, id)->kind == HONE_VALUE_PARAM;
  return n;
}

static gboolean
save_checkpoint (HoneTrainer *t, GError **error)
{
  HoneGraph *g = t->graph;
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  int n_moments = hone_optimizer_n_moments (t->opt);
  int np = n_param_values (g);
  g_autofree int64_t *steps = g_new0 (int64_t, MAX (np, 1));   /* (P) */
  g_autofree guint8 *trainable = g_new0 (guint8, MAX (np, 1)); /* (P) */
  int p = 0;

  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind == HONE_VALUE_PARAM)
        {
          g_autofree char *name = g_strdup_printf ("param/%s", v->name);
          if (!hone_safetensors_writer_add_f32 (w, name, &v->shape, hone_graph_value_data (g, id), error))
            return FALSE;
          for (int s = 0; s < n_moments; s++)
            {
              g_autofree char *mname = g_strdup_printf ("moment%d/%s", s, v->name);
              if (!hone_safetensors_writer_add_f32 (w, mname, &v->shape,
                                                    hone_optimizer_moment (t->opt, id, s), error))
                return FALSE;
            }
          if (t->best_params)
            {
              g_autofree char *bname = g_strdup_printf ("best/param/%s", v->name);
              if (!hone_safetensors_writer_add_f32 (w, bname, &v->shape, t->best_params + v->offset, error))
                return FALSE;
            }
          steps[p] = hone_optimizer_param_step (t->opt, id);
          trainable[p] = (guint8) v->trainable;
          p++;
        }
      else if (v->kind == HONE_VALUE_BUFFER)
        {
          g_autofree char *name = g_strdup_printf ("buffer/%s", v->name);
          if (!hone_safetensors_writer_add_f32 (w, name, &v->shape, t->snap_buffers + v->offset, error))
            return FALSE;
          if (t->best_buffers)
            {
              g_autofree char *bname = g_strdup_printf ("best/buffer/%s", v->name);
              if (!hone_safetensors_writer_add_f32 (w, bname, &v->shape, t->best_buffers + v->offset, error))
                return FALSE;
            }
        }
    }
  HoneShape ps = HONE_SHAPE (np);
  int64_t rng[2];
  memcpy (&rng[0], &t->snap.rng.state, sizeof rng[0]);
  memcpy (&rng[1], &t->snap.rng.inc, sizeof rng[1]);
  HoneShape rs = HONE_SHAPE (2);
  if (!hone_safetensors_writer_add_i64 (w, "state/param_steps", &ps, steps, error)
      || !hone_safetensors_writer_add_u8 (w, "state/trainable", &ps, trainable, error)
      || !hone_safetensors_writer_add_i64 (w, "state/rng", &rs, rng, error))
    return FALSE;

  hone_safetensors_writer_set_metadata (w, "format", CHECKPOINT_FORMAT);
  hone_safetensors_writer_set_metadata (w, "arch", t->model_name);
  md_set_int (w, "classes", t->n_classes);
  md_set_int (w, "moments", n_moments);
  md_set_int (w, "epoch", t->epoch);
  md_set_int (w, "batch", t->snap.batch);
  md_set_int (w, "step", hone_optimizer_n_steps (t->opt));
  md_set_double (w, "loss_sum", t->snap.loss_sum);
  md_set_int (w, "correct", t->snap.correct);
  md_set_int (w, "seen", t->snap.seen);
  md_set_double (w, "lr_scale", t->lr_scale);
  md_set_double (w, "plateau.lr", t->plateau.lr);
  md_set_double (w, "plateau.best", t->plateau.best);
  md_set_int (w, "plateau.num_bad_epochs", t->plateau.num_bad_epochs);
  md_set_int (w, "plateau.cooldown_counter", t->plateau.cooldown_counter);
  md_set_int (w, "plateau.n_updates", t->plateau.n_updates);
  md_set_int (w, "stop.has_best", t->has_best);
  md_set_double (w, "stop.best", t->best_metric);
  md_set_int (w, "stop.bad_epochs", t->bad_epochs);
  md_set_int (w, "stop.best_epoch", t->best_epoch);
  md_set_int (w, "val_pending", t->val_pending);
  md_set_int (w, "val_batch", t->val_batch);
  md_set_double (w, "val_loss", t->last_val_loss);
  md_set_double (w, "val_accuracy", t->last_val_accuracy);
  md_set_int (w, "improved", t->improved_this_epoch);
  md_set_double (w, "elapsed", elapsed (t));
  md_set_int (w, "blas_threads", t->blas_threads);
  if (t->done)
    hone_safetensors_writer_set_metadata (w, "done", t->done);
  return hone_safetensors_writer_write (w, t->checkpoint_path, error);
}

static gboolean
md_get_int (GHashTable *md, const char *key, const char *path, int64_t *out, GError **error)
{
  const char *text = g_hash_table_lookup (md, key);
  if (!text || !g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, out, NULL))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "checkpoint %s: the metadata entry '%s' is missing or not an integer", path, key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
md_get_double (GHashTable *md, const char *key, const char *path, double *out, GError **error)
{
  const char *text = g_hash_table_lookup (md, key);
  char *end = NULL;
  if (text)
    *out = g_ascii_strtod (text, &end);
  if (!text || !end || end == text || *end)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "checkpoint %s: the metadata entry '%s' is missing or not a number", path, key);
      return FALSE;
    }
  return TRUE;
}

/* Reads tensor `name` of exactly `shape` as float32 into out. */
static gboolean
read_f32 (const HoneSafetensors *st, const char *name, const HoneShape *shape, float *out,
          const char *path, GError **error)
{
  int i = hone_safetensors_find (st, name);
  HoneShape found;
  if (i < 0 || !hone_safetensors_tensor_shape (st, i, &found, NULL) || !hone_shape_equal (&found, shape))
    {
      char want[128];
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "checkpoint %s does not fit the model: tensor '%s' of shape %s is %s", path, name,
                   hone_shape_to_string (shape, want, sizeof want), i < 0 ? "missing" : "of another shape");
      return FALSE;
    }
  return hone_safetensors_read_f32 (st, i, out, error);
}

static gboolean
read_i64 (const HoneSafetensors *st, const char *name, int64_t n, int64_t *out, const char *path,
          GError **error)
{
  int i = hone_safetensors_find (st, name);
  if (i < 0 || hone_safetensors_tensor (st, i)->numel != n)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "checkpoint %s does not fit the model: tensor '%s' of %" G_GINT64_FORMAT
                   " elements is %s", path, name, n, i < 0 ? "missing" : "of another size");
      return FALSE;
    }
  return hone_safetensors_read_i64 (st, i, out, error);
}

static gboolean
load_checkpoint (HoneTrainer *t, GError **error)
{
  const char *path = t->checkpoint_path;
  HoneGraph *g = t->graph;
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, error);
  if (!st)
    return FALSE;
  GHashTable *md = hone_safetensors_metadata (st);
  if (g_strcmp0 (g_hash_table_lookup (md, "format"), CHECKPOINT_FORMAT) != 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "%s is not a Hone checkpoint (its metadata has no format " CHECKPOINT_FORMAT ")", path);
      return FALSE;
    }
  int64_t classes = 0, moments = 0;
  if (!md_get_int (md, "classes", path, &classes, error) || !md_get_int (md, "moments", path, &moments, error))
    return FALSE;
  if (g_strcmp0 (g_hash_table_lookup (md, "arch"), t->model_name) != 0 || classes != t->n_classes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "checkpoint %s was made for %s with %" G_GINT64_FORMAT " classes, but the recipe "
                   "asks for %s with %d (model.arch, model.classes)", path,
                   (const char *) g_hash_table_lookup (md, "arch"), classes, t->model_name, t->n_classes);
      return FALSE;
    }
  int n_moments = hone_optimizer_n_moments (t->opt);
  if (moments != n_moments)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "checkpoint %s holds %" G_GINT64_FORMAT " optimizer moments per parameter, but "
                   "optimizer.name and optimizer.momentum now need %d: keep the optimizer of the run",
                   path, moments, n_moments);
      return FALSE;
    }

  gboolean has_best = FALSE;
  for (int id = 0; id < hone_graph_n_values (g) && !has_best; id++)
    if (hone_graph_value (g, id)->kind == HONE_VALUE_PARAM)
      {
        g_autofree char *bname = g_strdup_printf ("best/param/%s", hone_graph_value (g, id)->name);
        has_best = hone_safetensors_find (st, bname) >= 0;
        break;
      }
  if (has_best)
    {
      t->best_params = g_new0 (float, MAX (t->param_floats, 1));
      t->best_buffers = g_new0 (float, MAX (t->buffer_floats, 1));
    }

  int np = n_param_values (g);
  g_autofree int64_t *steps = g_new0 (int64_t, MAX (np, 1));
  g_autofree guint8 *trainable = g_new0 (guint8, MAX (np, 1));
  int it = hone_safetensors_find (st, "state/trainable");
  if (!read_i64 (st, "state/param_steps", np, steps, path, error))
    return FALSE;
  if (it < 0 || hone_safetensors_tensor (st, it)->numel != np
      || !hone_safetensors_read_u8 (st, it, trainable, error))
    {
      if (error && !*error)
        g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                     "checkpoint %s does not fit the model: state/trainable is missing or of another size", path);
      return FALSE;
    }
  int64_t rng[2];
  if (!read_i64 (st, "state/rng", 2, rng, path, error))
    return FALSE;

  int p = 0;
  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind == HONE_VALUE_PARAM)
        {
          g_autofree char *name = g_strdup_printf ("param/%s", v->name);
          if (!read_f32 (st, name, &v->shape, hone_graph_value_data (g, id), path, error))
            return FALSE;
          for (int s = 0; s < n_moments; s++)
            {
              g_autofree char *mname = g_strdup_printf ("moment%d/%s", s, v->name);
              if (!read_f32 (st, mname, &v->shape, hone_optimizer_moment (t->opt, id, s), path, error))
                return FALSE;
            }
          if (has_best)
            {
              g_autofree char *bname = g_strdup_printf ("best/param/%s", v->name);
              if (!read_f32 (st, bname, &v->shape, t->best_params + v->offset, path, error))
                return FALSE;
            }
          hone_optimizer_set_param_step (t->opt, id, steps[p]);
          hone_graph_set_trainable (g, id, trainable[p] != 0);
          p++;
        }
      else if (v->kind == HONE_VALUE_BUFFER)
        {
          g_autofree char *name = g_strdup_printf ("buffer/%s", v->name);
          if (!read_f32 (st, name, &v->shape, hone_graph_value_data (g, id), path, error))
            return FALSE;
          if (has_best)
            {
              g_autofree char *bname = g_strdup_printf ("best/buffer/%s", v->name);
              if (!read_f32 (st, bname, &v->shape, t->best_buffers + v->offset, path, error))
                return FALSE;
            }
        }
    }
  HoneRng *grng = hone_graph_rng (g);
  memcpy (&grng->state, &rng[0], sizeof rng[0]);
  memcpy (&grng->inc, &rng[1], sizeof rng[1]);

  int64_t epoch, batch, step, correct, seen, nbad, cooldown, nupd, has, bad, best_epoch, pending,
    val_batch, improved, blas;
  double lr_scale, plr, pbest, best, el, loss_sum, vloss, vacc;
  if (!md_get_int (md, "epoch", path, &epoch, error) || !md_get_int (md, "batch", path, &batch, error)
      || !md_get_int (md, "step", path, &step, error) || !md_get_double (md, "loss_sum", path, &loss_sum, error)
      || !md_get_int (md, "correct", path, &correct, error) || !md_get_int (md, "seen", path, &seen, error)
      || !md_get_double (md, "lr_scale", path, &lr_scale, error)
      || !md_get_double (md, "plateau.lr", path, &plr, error)
      || !md_get_double (md, "plateau.best", path, &pbest, error)
      || !md_get_int (md, "plateau.num_bad_epochs", path, &nbad, error)
      || !md_get_int (md, "plateau.cooldown_counter", path, &cooldown, error)
      || !md_get_int (md, "plateau.n_updates", path, &nupd, error)
      || !md_get_int (md, "stop.has_best", path, &has, error)
      || !md_get_double (md, "stop.best", path, &best, error)
      || !md_get_int (md, "stop.bad_epochs", path, &bad, error)
      || !md_get_int (md, "stop.best_epoch", path, &best_epoch, error)
      || !md_get_int (md, "val_pending", path, &pending, error)
      || !md_get_int (md, "val_batch", path, &val_batch, error)
      || !md_get_double (md, "val_loss", path, &vloss, error)
      || !md_get_double (md, "val_accuracy", path, &vacc, error)
      || !md_get_int (md, "improved", path, &improved, error)
      || !md_get_double (md, "elapsed", path, &el, error)
      || !md_get_int (md, "blas_threads", path, &blas, error))
    return FALSE;
  if (epoch < 1 || epoch > G_MAXINT / 2 || batch < 0 || batch > t->n_batches || step < 0
      || !(lr_scale > 0.0 && isfinite (lr_scale)) || blas < 1 || blas > 1024)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "checkpoint %s: its position (epoch %" G_GINT64_FORMAT ", batch %" G_GINT64_FORMAT
                   ") does not fit this run of %d batches per epoch (data.source, data.limit and "
                   "train.batch must stay as they were)", path, epoch, batch, t->n_batches);
      return FALSE;
    }
  t->epoch = (int) epoch;
  t->batch = (int) batch;
  hone_optimizer_set_n_steps (t->opt, step);
  t->loss_sum = loss_sum;
  t->correct = correct;
  t->seen = seen;
  t->lr_scale = lr_scale;
  t->plateau.lr = plr;
  t->plateau.best = pbest;
  t->plateau.num_bad_epochs = nbad;
  t->plateau.cooldown_counter = cooldown;
  t->plateau.n_updates = nupd;
  t->has_best = has != 0;
  t->best_metric = best;
  t->bad_epochs = (int) bad;
  t->best_epoch = (int) best_epoch;
  t->val_pending = pending != 0;
  t->val_batch = (int) val_batch;
  t->last_val_loss = vloss;
  t->last_val_accuracy = vacc;
  t->improved_this_epoch = improved != 0;
  t->elapsed_base = el;
  g_free (t->done);
  t->done = g_strdup (g_hash_table_lookup (md, "done"));
  if (t->recipe->deterministic)
    t->blas_threads = (int) blas;

  /* freezing may have changed: plan again before any input is written */
  if (!hone_graph_plan (g, t->recipe->batch, TRUE, error))
    return FALSE;
  hone_graph_zero_grad (g);
  return TRUE;
}

/* Metadata for the model files: what a later evaluation needs. */
static GHashTable *
model_metadata (HoneTrainer *t)
{
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  if (t->model->arch)
    g_hash_table_insert (md, "hone.arch", g_strdup (t->model->arch));
  g_hash_table_insert (md, "hone.input", g_strdup_printf ("%dx%dx%d", t->format.channels,
                                                          t->format.height, t->format.width));
  GString *mean = g_string_new (NULL), *std = g_string_new (NULL);
  for (int c = 0; c < MIN (t->format.channels, 4); c++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (mean, "%s%s", c ? "," : "",
                              g_ascii_dtostr (buf, sizeof buf, t->format.mean[c]));
      g_string_append_printf (std, "%s%s", c ? "," : "",
                              g_ascii_dtostr (buf, sizeof buf, t->format.std[c]));
    }
  g_hash_table_insert (md, "hone.mean", g_string_free (mean, FALSE));
  g_hash_table_insert (md, "hone.std", g_string_free (std, FALSE));
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int c = 0; c < t->n_classes; c++)
    json_builder_add_string_value (b, t->class_names[c]);
  json_builder_end_array (b);
  g_autoptr (JsonNode) names = json_builder_get_root (b);
  g_hash_table_insert (md, "hone.classes", json_to_string (names, FALSE));
  return md;
}

/* ---- the loop ----------------------------------------------------------- */

static void
take_snapshot (HoneTrainer *t)
{
  t->snap.batch = t->batch;
  t->snap.loss_sum = t->loss_sum;
  t->snap.correct = t->correct;
  t->snap.seen = t->seen;
  t->snap.rng = *hone_graph_rng (t->graph);
  memcpy (t->snap_buffers, hone_graph_buffers (t->graph), (gsize) t->buffer_floats * sizeof (float));
}

static double
current_lr (HoneTrainer *t)
{
  int64_t s = hone_optimizer_n_steps (t->opt);
  double lr = t->sched.kind == HONE_SCHEDULE_PLATEAU ? hone_plateau_lr (&t->plateau, &t->sched, s)
                                                     : hone_schedule_lr (&t->sched, s);
  return lr * t->lr_scale;
}

/* Applies the set-LR and unfreeze commands waiting; unfreezing waits for
 * the end of an accumulation window. */
static gboolean
apply_commands (HoneTrainer *t, GError **error)
{
  gboolean boundary = hone_train_step_pending (t->step) == 0;
  g_autoptr (GPtrArray) cmds = NULL;
  pthread_mutex_lock (&t->lock);
  if (t->new_lr_scale > 0.0)
    t->lr_scale = t->new_lr_scale;
  t->new_lr_scale = -1.0;
  if (boundary && t->unfreeze_cmds->len > 0)
    {
      cmds = t->unfreeze_cmds;
      t->unfreeze_cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
    }
  pthread_mutex_unlock (&t->lock);

  if (!cmds)
    return TRUE;
  for (guint i = 0; i < cmds->len; i++)
    {
      char **prefixes = cmds->pdata[i];
      for (int k = 0; prefixes[k]; k++)
        {
          const char *one[] = { prefixes[k], NULL };
          if (hone_freeze_set_matching (t->graph, one, TRUE) == 0)
            emit_message (t, HONE_EVENT_WARNING, NULL,
                          "unfreeze: no parameter or block matches '%s'", prefixes[k]);
        }
    }
  /* plan now, before a batch is written into the input */
  if (!hone_graph_plan (t->graph, t->recipe->batch, TRUE, error))
    return FALSE;
  hone_graph_zero_grad (t->graph);
  return TRUE;
}

static Flow
stop_flow (HoneTrainer *t)
{
  return t->diverged ? FLOW_DIVERGED_STOP : FLOW_STOP;
}

/* Between micro-batches: commands, and waiting while paused.  A run paused
 * by a divergence may have been resumed before it got here. */
static Flow
poll_commands (HoneTrainer *t, GError **error)
{
  if (!apply_commands (t, error))
    return FLOW_FAILED;
  if (atomic_load (&t->stop_req))
    return stop_flow (t);
  gboolean waited = FALSE;
  if (atomic_load (&t->pause_req))
    {
      if (!t->diverged)
        {
          atomic_store (&t->state, HONE_TRAINER_PAUSED);
          emit_message (t, HONE_EVENT_PAUSED, NULL, "paused at epoch %d, batch %d of %d", t->epoch,
                        t->batch, t->n_batches);
        }
      gint64 p0 = g_get_monotonic_time ();
      pthread_mutex_lock (&t->lock);
      while (atomic_load (&t->pause_req) && !atomic_load (&t->stop_req))
        pthread_cond_wait (&t->cmd_cond, &t->lock);
      pthread_mutex_unlock (&t->lock);
      t->paused_us += g_get_monotonic_time () - p0;
      if (atomic_load (&t->stop_req))
        return stop_flow (t);
      waited = TRUE;
    }
  if (!waited && !t->diverged)
    return FLOW_CONTINUE;
  if (!apply_commands (t, error))
    return FLOW_FAILED;
  t->diverged = FALSE;
  atomic_store (&t->state, HONE_TRAINER_RUNNING);
  emit_message (t, HONE_EVENT_RESUMED, NULL, "resumed with learning rate %g", current_lr (t));
  return atomic_load (&t->stop_req) ? stop_flow (t) : FLOW_CONTINUE;
}

static gboolean
cancel_cb (gpointer data)
{
  HoneTrainer *t = data;
  g_clear_error (&t->cancel_error);
  t->cancel_flow = poll_commands (t, &t->cancel_error);
  return t->cancel_flow != FLOW_CONTINUE;
}

static void
copy_state (float *params, float *buffers, HoneTrainer *t, gboolean to_graph)
{
  float *gp = hone_graph_params (t->graph), *gb = hone_graph_buffers (t->graph);
  gsize pb = (gsize) t->param_floats * sizeof (float), bb = (gsize) t->buffer_floats * sizeof (float);
  if (to_graph)
    {
      memcpy (gp, params, pb);
      memcpy (gb, buffers, bb);
    }
  else
    {
      memcpy (params, gp, pb);
      memcpy (buffers, gb, bb);
    }
}

static Flow
validate (HoneTrainer *t, gboolean *early, GError **error)
{
  const HoneRecipe *r = t->recipe;
  t->cancel_flow = FLOW_CONTINUE;
  g_autoptr (GError) err = NULL;
  HoneEvaluation *ev = hone_evaluate (t->graph, t->val_loader, t->val_ds, &t->format,
                                      HONE_EVAL_THUMB_SIZE, cancel_cb, t, &err);
  forward_issues (t, t->val_loader);
  if (!ev)
    {
      if (t->cancel_flow != FLOW_CONTINUE)
        {
          t->val_pending = TRUE;
          if (t->cancel_flow == FLOW_FAILED)
            g_propagate_error (error, g_steal_pointer (&t->cancel_error));
          return t->cancel_flow;
        }
      g_propagate_prefixed_error (error, g_steal_pointer (&err), "validation: ");
      return FLOW_FAILED;
    }
  t->val_pending = FALSE;
  t->val_batch = t->batch;
  t->last_val_loss = ev->loss;
  t->last_val_accuracy = ev->accuracy;
  gboolean by_loss = r->stop_metric == HONE_STOP_VAL_LOSS;
  double metric = by_loss ? ev->loss : ev->accuracy;
  gboolean improved = isfinite (metric)
                      && (!t->has_best || (by_loss ? metric < t->best_metric - r->min_delta
                                                   : metric > t->best_metric + r->min_delta));
  HoneEvent *vev = event_new (HONE_EVENT_VALIDATION);
  vev->validation = ev;
  emit (t, vev);

  if (improved)
    {
      t->has_best = TRUE;
      t->best_metric = metric;
      t->bad_epochs = 0;
      t->best_epoch = t->epoch;
      t->improved_this_epoch = TRUE;
      if (r->restore_best)
        {
          if (!t->best_params)
            {
              t->best_params = g_new0 (float, MAX (t->param_floats, 1));
              t->best_buffers = g_new0 (float, MAX (t->buffer_floats, 1));
            }
          copy_state (t->best_params, t->best_buffers, t, FALSE);
        }
      g_autoptr (GHashTable) md = model_metadata (t);
      if (!hone_graph_save_safetensors (t->graph, t->best_path, md, error))
        return FLOW_FAILED;
      emit_file (t, "best", t->best_path);
    }
  else
    t->bad_epochs++;
  if (t->sched.kind == HONE_SCHEDULE_PLATEAU)
    hone_plateau_update (&t->plateau, &t->sched, metric);
  if (r->early_stopping && t->bad_epochs >= r->patience)
    *early = TRUE;
  return FLOW_CONTINUE;
}

static void
on_diverged (HoneTrainer *t, const HoneTrainStepResult *res, double lr, const char *why)
{
  /* the weights and the optimizer were left alone; undo the BatchNorm
   * statistics the diverged window changed */
  memcpy (hone_graph_buffers (t->graph), t->snap_buffers, (gsize) t->buffer_floats * sizeof (float));
  take_snapshot (t);
  t->diverged = TRUE;
  atomic_store (&t->pause_req, 1);
  atomic_store (&t->state, HONE_TRAINER_PAUSED);
  HoneEvent *ev = event_new (HONE_EVENT_PAUSED);
  ev->diverged = TRUE;
  ev->lr = lr;
  ev->suggested_lr = lr / 10.0;
  ev->loss = res->loss;
  ev->message = g_strdup_printf ("training diverged at epoch %d, batch %d with learning rate %.3g (%s). "
                                 "The update was skipped, the run is paused and the last checkpoint "
                                 "is kept: lower the learning rate, to %.3g for example, and resume, "
                                 "or stop", t->epoch, t->batch, lr, why, lr / 10.0);
  emit (t, ev);
}

/* Soft targets (B, K_data) from the loader, widened to the model's K. */
static const float *
widen_targets (HoneTrainer *t, int n)
{
  if (t->n_classes == t->data_classes)
    return t->targets_data;
  memset (t->targets, 0, (gsize) n * t->n_classes * sizeof (float));
  for (int i = 0; i < n; i++)
    memcpy (t->targets + (gsize) i * t->n_classes, t->targets_data + (gsize) i * t->data_classes,
            (gsize) t->data_classes * sizeof (float));
  return t->targets;
}

static gboolean
apply_epoch_unfreeze (HoneTrainer *t, GError **error)
{
  const HoneRecipe *r = t->recipe;
  gboolean any = FALSE;
  for (int i = 0; i < r->n_unfreeze; i++)
    if (r->unfreeze_epoch[i] == t->epoch - 1 && r->unfreeze_what[i])
      {
        char **prefixes = g_strsplit (r->unfreeze_what[i], ",", -1);
        for (int k = 0; prefixes[k]; k++)
          g_strstrip (prefixes[k]);
        pthread_mutex_lock (&t->lock);
        g_ptr_array_add (t->unfreeze_cmds, prefixes);
        pthread_mutex_unlock (&t->lock);
        any = TRUE;
      }
  return !any || apply_commands (t, error);
}

static Flow
run_epoch (HoneTrainer *t, gboolean *early, GError **error)
{
  const HoneRecipe *r = t->recipe;
  HoneGraph *g = t->graph;
  double t_epoch = now_s ();

  if (t->batch == 0 && !t->val_pending)
    {
      if (!apply_epoch_unfreeze (t, error))
        return FLOW_FAILED;
      t->loss_sum = 0.0;
      t->correct = 0;
      t->seen = 0;
      t->improved_this_epoch = FALSE;
      t->val_batch = -1;
    }
  t->epoch_train_s = 0.0;
  t->epoch_images = 0;
  take_snapshot (t);
  if (t->val_pending && t->val_loader)
    {
      Flow f = validate (t, early, error);
      if (f != FLOW_CONTINUE || *early)
        return f;
    }
  hone_loader_start_epoch (t->train_loader, t->epoch - 1, t->batch);

  for (;;)
    {
      Flow f = poll_commands (t, error);
      if (f != FLOW_CONTINUE)
        return f;
      double t0 = now_s ();
      float *images = hone_graph_input_data (g, t->input_id);   /* (B, C, H, W) */
      gboolean mixed = FALSE;
      int n = hone_loader_next (t->train_loader, images, t->labels, t->targets_data, &mixed,
                                t->sample_ids);
      forward_issues (t, t->train_loader);
      if (n <= 0)
        break;
      double lr = current_lr (t);
      HoneTrainStepResult res;
      g_autoptr (GError) err = NULL;
      gboolean ok = hone_train_step_run (t->step, n, mixed ? NULL : t->labels,
                                         mixed ? widen_targets (t, n) : NULL, lr, &res, &err);
      /* the loader's position, not a count: a batch of only bad samples
       * is skipped inside the loader and must count for resuming too */
      t->batch = hone_loader_position (t->train_loader);
      atomic_fetch_add (&t->batches_done, 1);
      t->epoch_train_s += now_s () - t0;
      t->epoch_images += n;
      if (!ok)
        {
          if (g_error_matches (err, HONE_ERROR, HONE_ERROR_DIVERGED))
            {
              on_diverged (t, &res, lr, err->message);
              continue;
            }
          g_propagate_prefixed_error (error, g_steal_pointer (&err), "epoch %d, batch %d: ",
                                      t->epoch, t->batch);
          return FLOW_FAILED;
        }
      t->loss_sum += res.loss * n;
      t->correct += res.correct;
      t->seen += n;

      HoneEvent *ev = event_new (HONE_EVENT_STEP);
      ev->train.batch = t->batch;
      ev->train.n_batches = t->n_batches;
      ev->train.samples = n;
      ev->train.loss = res.loss;
      ev->train.accuracy = res.accuracy;
      ev->train.lr = lr;
      ev->train.images_per_s = t->epoch_train_s > 0.0 ? t->epoch_images / t->epoch_train_s : 0.0;
      ev->train.grad_norm = res.updated ? res.grad_norm : 0.0;
      ev->train.updated = res.updated;
      ev->train.epoch_loss = t->loss_sum / (double) t->seen;
      ev->train.epoch_accuracy = (double) t->correct / (double) t->seen;
      emit (t, ev);

      if (hone_train_step_pending (t->step) == 0)
        take_snapshot (t);
      if (res.updated && r->val_every > 0 && t->val_loader
          && hone_optimizer_n_steps (t->opt) % r->val_every == 0)
        {
          f = validate (t, early, error);
          if (f != FLOW_CONTINUE || *early)
            return f;
        }
    }

  /* accumulation windows do not straddle epochs */
  if (hone_train_step_pending (t->step) > 0)
    hone_train_step_discard (t->step);
  take_snapshot (t);
  if (t->val_loader && t->val_batch != t->batch)
    {
      Flow f = validate (t, early, error);
      if (f != FLOW_CONTINUE)
        return f;
    }

  HoneEvent *ev = event_new (HONE_EVENT_EPOCH);
  HoneEpochInfo *e = &ev->epoch_info;
  e->train_loss = t->seen ? t->loss_sum / (double) t->seen : NAN;
  e->train_accuracy = t->seen ? (double) t->correct / (double) t->seen : NAN;
  e->val_loss = t->val_loader ? t->last_val_loss : NAN;
  e->val_accuracy = t->val_loader ? t->last_val_accuracy : NAN;
  e->lr = current_lr (t);
  e->seconds = now_s () - t_epoch;
  e->best = t->improved_this_epoch;
  e->bad_epochs = t->bad_epochs;
  e->trainable_params = hone_graph_n_trainable_params (g);
  emit (t, ev);

  t->epoch++;
  t->batch = 0;
  t->loss_sum = 0.0;
  t->correct = 0;
  t->seen = 0;
  t->val_batch = -1;
  t->improved_this_epoch = FALSE;
  take_snapshot (t);
  if (!*early && t->epoch <= r->epochs && (t->epoch - 1) % MAX (r->checkpoint_every, 1) == 0)
    {
      if (!save_checkpoint (t, error))
        return FLOW_FAILED;
      emit_file (t, "checkpoint", t->checkpoint_path);
    }
  return FLOW_CONTINUE;
}

/* final.onnx beside final.safetensors, for other tools.  A model that
 * cannot be exported (an op without an ONNX writer, a full disk) is a
 * warning naming the node or file: the run and its Hone files stand. */
static void
export_final_onnx (HoneTrainer *t)
{
  g_autofree char *path = g_build_filename (t->run_dir, "final.onnx", NULL);
  HoneOnnxExportInfo info = {
    .arch = t->model_name,
    .class_names = (const char *const *) t->class_names,
    .n_classes = t->n_classes,
    .channels = t->format.channels,
    .height = t->format.height,
    .width = t->format.width,
    .mean = t->format.mean,
    .std = t->format.std,
  };
  g_autoptr (GError) err = NULL;
  if (hone_onnx_export_graph (t->graph, &info, path, &err))
    emit_file (t, "onnx", path);
  else
    emit_message (t, HONE_EVENT_WARNING, path, "final.onnx was not written: %s", err->message);
}

/* The end of a completed or early-stopped run: the last checkpoint, the
 * best weights back if asked, final.safetensors, final.onnx and
 * report.json. */
static gboolean
finish_run (HoneTrainer *t, HoneFinishReason reason, GError **error)
{
  const HoneRecipe *r = t->recipe;
  g_free (t->done);
  t->done = g_strdup (hone_finish_reason_name (reason));
  if (!save_checkpoint (t, error))
    return FALSE;
  emit_file (t, "checkpoint", t->checkpoint_path);

  if (r->restore_best && t->best_params)
    copy_state (t->best_params, t->best_buffers, t, TRUE);
  g_autoptr (GHashTable) md = model_metadata (t);
  if (!hone_graph_save_safetensors (t->graph, t->final_path, md, error))
    return FALSE;
  emit_file (t, "final", t->final_path);
  export_final_onnx (t);

  /* the final evaluation: the test split, else validation, else training */
  g_autoptr (HoneLoader) own = NULL;
  HoneLoader *loader = t->val_loader;
  HoneDataset *ds = t->val_ds;
  const char *split = "validation";
  if (t->split.n_test > 0 || !t->val_loader)
    {
      HoneLoaderConfig lc = { 0 };
      lc.format = t->format;
      lc.sampling = HONE_SAMPLING_SEQUENTIAL;
      lc.batch = r->batch;
      lc.seed = r->seed;
      lc.threads = t->loader_threads;
      lc.prefetch = 2;
      gboolean test = t->split.n_test > 0;
      own = test ? hone_loader_new (t->ds, t->split.test, t->split.n_test, &lc, error)
                 : hone_loader_new (t->ds, t->split.train, t->split.n_train, &lc, error);
      if (!own)
        return FALSE;
      loader = own;
      ds = t->ds;
      split = test ? "test" : "train";
    }
  t->cancel_flow = FLOW_CONTINUE;
  g_autoptr (GError) err = NULL;
  g_autoptr (HoneEvaluation) ev = hone_evaluate (t->graph, loader, ds, &t->format, 0, cancel_cb, t, &err);
  forward_issues (t, loader);
  if (!ev)
    {
      if (t->cancel_flow == FLOW_CONTINUE || t->cancel_flow == FLOW_FAILED)
        {
          if (t->cancel_flow == FLOW_FAILED)
            g_propagate_error (error, g_steal_pointer (&t->cancel_error));
          else
            g_propagate_prefixed_error (error, g_steal_pointer (&err), "final evaluation: ");
          return FALSE;
        }
      emit_message (t, HONE_EVENT_WARNING, NULL,
                    "the final evaluation was stopped: %s was not written", t->report_path);
      return TRUE;
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_add_string (b, "run", t->run_dir);
  json_add_string (b, "split", split);
  json_add_string (b, "reason", hone_finish_reason_name (reason));
  json_add_string (b, "arch", t->model_name);
  json_add_int (b, "epochs", MIN (t->epoch - (t->batch == 0 ? 1 : 0), r->epochs));
  json_add_int (b, "steps", hone_optimizer_n_steps (t->opt));
  json_add_string (b, "stop_metric", r->stop_metric == HONE_STOP_VAL_LOSS ? "val_loss" : "val_accuracy");
  json_add_double (b, "best_metric", t->has_best ? t->best_metric : NAN);
  json_add_int (b, "best_epoch", t->has_best ? t->best_epoch : 0);
  json_add_bool (b, "restored_best", r->restore_best && t->best_params != NULL);
  json_add_double (b, "elapsed", elapsed (t));
  json_add_evaluation (b, ev);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autofree char *with_nl = g_strconcat (text, "\n", NULL);
  if (!g_file_set_contents (t->report_path, with_nl, -1, &err))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot write %s: %s", t->report_path, err->message);
      return FALSE;
    }
  emit_file (t, "report", t->report_path);
  return TRUE;
}

static HoneFinishReason
trainer_run (HoneTrainer *t)
{
  const HoneRecipe *r = t->recipe;
  t->session_start_us = g_get_monotonic_time ();
  t->paused_us = 0;
  hone_set_num_threads (t->blas_threads);
  atomic_store (&t->state, HONE_TRAINER_RUNNING);

  HoneEvent *sev = event_new (HONE_EVENT_STARTED);
  HoneStartInfo *s = &sev->start;
  s->n_train = t->split.n_train;
  s->n_val = t->split.n_val;
  s->n_test = t->split.n_test;
  s->n_classes = t->n_classes;
  s->class_names = g_strdupv (t->class_names);
  s->class_counts = g_memdup2 (t->class_counts, (gsize) t->n_classes * sizeof (int64_t));
  s->imbalance = hone_class_imbalance (t->class_counts, t->n_classes);
  s->params = hone_graph_n_params (t->graph);
  s->trainable_params = hone_graph_n_trainable_params (t->graph);
  s->batches_per_epoch = t->n_batches;
  s->steps_per_epoch = t->steps_per_epoch;
  s->blas_threads = t->blas_threads;
  s->loader_threads = t->loader_threads;
  s->resumed = t->resumed;
  s->head_replaced = t->head_replaced;
  emit (t, sev);
  for (guint i = 0; i < t->setup_warnings->len; i++)
    emit (t, g_steal_pointer (&t->setup_warnings->pdata[i]));
  g_ptr_array_set_size (t->setup_warnings, 0);

  g_autoptr (GError) error = NULL;
  gboolean early = FALSE;
  Flow f = FLOW_CONTINUE;
  while (f == FLOW_CONTINUE && !early && t->epoch <= r->epochs)
    f = run_epoch (t, &early, &error);

  HoneFinishReason reason;
  g_autofree char *message = NULL;
  switch (f)
    {
    case FLOW_STOP:
      if (save_checkpoint (t, &error))
        {
          emit_file (t, "checkpoint", t->checkpoint_path);
          reason = HONE_FINISH_STOPPED;
          message = g_strdup_printf ("stopped at epoch %d, batch %d of %d; the checkpoint in %s "
                                     "continues the run", t->epoch, t->snap.batch, t->n_batches,
                                     t->run_dir);
        }
      else
        reason = HONE_FINISH_FAILED;
      break;
    case FLOW_DIVERGED_STOP:
      reason = HONE_FINISH_DIVERGED;
      message = g_strdup_printf ("stopped after training diverged at epoch %d; the last good "
                                 "checkpoint in %s is kept: continue it with a lower learning rate",
                                 t->epoch, t->run_dir);
      break;
    case FLOW_FAILED:
      reason = HONE_FINISH_FAILED;
      break;
    case FLOW_CONTINUE:
    default:
      reason = early ? HONE_FINISH_EARLY_STOPPED : HONE_FINISH_COMPLETED;
      if (!finish_run (t, reason, &error))
        reason = HONE_FINISH_FAILED;
      else if (early)
        message = g_strdup_printf ("stopped early at epoch %d: %s did not improve for %d "
                                   "validations (best %.4g at epoch %d)", MIN (t->epoch, r->epochs),
                                   r->stop_metric == HONE_STOP_VAL_LOSS ? "val_loss" : "val_accuracy",
                                   t->bad_epochs, t->best_metric, t->best_epoch);
      else
        message = t->val_loader && isfinite (t->last_val_accuracy)
                    ? g_strdup_printf ("finished %d epoch%s: validation accuracy %.1f %%, loss %.4f",
                                       r->epochs, r->epochs == 1 ? "" : "s",
                                       100.0 * t->last_val_accuracy, t->last_val_loss)
                    : g_strdup_printf ("finished %d epoch%s", r->epochs, r->epochs == 1 ? "" : "s");
      break;
    }
  if (reason == HONE_FINISH_FAILED)
    {
      message = g_strdup (error ? error->message : "the run failed");
      emit_message (t, HONE_EVENT_ERROR, NULL, "%s", message);
    }
  g_clear_error (&t->cancel_error);
  t->reason = reason;
  atomic_store (&t->state, HONE_TRAINER_FINISHED);
  HoneEvent *fev = event_new (HONE_EVENT_FINISHED);
  fev->reason = reason;
  fev->message = g_steal_pointer (&message);
  emit (t, fev);
  return reason;
}

/* ---- public API --------------------------------------------------------- */

static gboolean
folder_holds_run (const char *run_dir)
{
  static const char *const files[] = { "recipe.hone", "metrics.jsonl", "checkpoint.safetensors", NULL };
  for (int i = 0; files[i]; i++)
    {
      g_autofree char *p = g_build_filename (run_dir, files[i], NULL);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        return TRUE;
    }
  return FALSE;
}

static gboolean
open_metrics (HoneTrainer *t, GError **error)
{
  t->metrics = g_fopen (t->metrics_path, "a");
  if (!t->metrics)
    {
      int saved = errno;
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot write %s: %s", t->metrics_path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

HoneTrainer *
hone_trainer_new (const HoneRecipe *recipe, const char *run_dir, GError **error)
{
  g_return_val_if_fail (recipe != NULL && run_dir != NULL, NULL);
  if (!hone_recipe_validate (recipe, error))
    return NULL;
  if (folder_holds_run (run_dir))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s already holds a run: continue it (--resume) or choose another folder", run_dir);
      return NULL;
    }
  g_autoptr (HoneTrainer) t = trainer_alloc (recipe, run_dir);
  if (!trainer_setup (t, FALSE, error))
    return NULL;
  if (g_mkdir_with_parents (run_dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot create the run folder %s: %s", run_dir,
                   g_strerror (saved));
      return NULL;
    }
  if (!hone_recipe_save (t->recipe, t->recipe_path, error) || !open_metrics (t, error))
    return NULL;
  take_snapshot (t);
  return g_steal_pointer (&t);
}

HoneTrainer *
hone_trainer_open (const char *run_dir, const HoneRecipe *recipe, GError **error)
{
  g_return_val_if_fail (run_dir != NULL, NULL);
  g_autofree char *recipe_path = g_build_filename (run_dir, "recipe.hone", NULL);
  g_autofree char *checkpoint_path = g_build_filename (run_dir, "checkpoint.safetensors", NULL);
  if (!g_file_test (checkpoint_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "%s holds no checkpoint.safetensors to continue from", run_dir);
      return NULL;
    }
  g_autoptr (HoneRecipe) loaded = NULL;
  if (!recipe)
    {
      loaded = hone_recipe_load (recipe_path, error);
      if (!loaded)
        return NULL;
      recipe = loaded;
    }
  if (!hone_recipe_validate (recipe, error))
    return NULL;
  g_autoptr (HoneTrainer) t = trainer_alloc (recipe, run_dir);
  if (!trainer_setup (t, TRUE, error) || !load_checkpoint (t, error))
    return NULL;
  if (g_strcmp0 (t->done, "early-stopped") == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "the run in %s stopped early (stop.patience): it is complete", run_dir);
      return NULL;
    }
  if (t->epoch > t->recipe->epochs)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "the run in %s is complete after %d epochs: raise train.epochs to train it further",
                   run_dir, t->epoch - 1);
      return NULL;
    }
  g_clear_pointer (&t->done, g_free);
  if (!loaded && !hone_recipe_save (t->recipe, t->recipe_path, error))
    return NULL;
  if (!open_metrics (t, error))
    return NULL;
  t->resumed = TRUE;
  take_snapshot (t);
  return g_steal_pointer (&t);
}

void
hone_trainer_free (HoneTrainer *t)
{
  if (t == NULL)
    return;
  if (t->started && !t->joined)
    {
      hone_trainer_stop (t);
      hone_trainer_join (t);
    }
  hone_loader_free (t->train_loader);
  hone_loader_free (t->val_loader);
  hone_train_step_free (t->step);
  hone_optimizer_free (t->opt);
  hone_model_free (t->model);
  hone_split_clear (&t->split);
  if (t->val_ds != t->ds)
    hone_dataset_free (t->val_ds);
  hone_dataset_free (t->ds);
  g_strfreev (t->class_names);
  g_free (t->class_counts);
  g_free (t->class_weights);
  g_free (t->labels);
  g_free (t->sample_ids);
  g_free (t->targets_data);
  g_free (t->targets);
  g_free (t->best_params);
  g_free (t->best_buffers);
  g_free (t->snap_buffers);
  g_free (t->done);
  g_clear_error (&t->cancel_error);
  g_ptr_array_unref (t->setup_warnings);
  g_ptr_array_unref (t->unfreeze_cmds);
  g_queue_clear_full (&t->events, (GDestroyNotify) hone_event_free);
  if (t->metrics)
    fclose (t->metrics);
  pthread_mutex_destroy (&t->lock);
  pthread_cond_destroy (&t->cmd_cond);
  pthread_cond_destroy (&t->event_cond);
  hone_recipe_free (t->recipe);
  g_free (t->run_dir);
  g_free (t->recipe_path);
  g_free (t->metrics_path);
  g_free (t->checkpoint_path);
  g_free (t->best_path);
  g_free (t->final_path);
  g_free (t->report_path);
  g_free (t);
}

static void *
trainer_thread (void *data)
{
  HoneTrainer *t = data;
  hone_thread_lower_priority ();
  trainer_run (t);
  return NULL;
}

gboolean
hone_trainer_start (HoneTrainer *t, GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (!t->started, FALSE);
  t->started = TRUE;
  atomic_store (&t->state, HONE_TRAINER_RUNNING);
  int rc = pthread_create (&t->thread, NULL, trainer_thread, t);
  if (rc != 0)
    {
      t->started = FALSE;
      atomic_store (&t->state, HONE_TRAINER_READY);
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "cannot start the training thread: %s",
                   g_strerror (rc));
      return FALSE;
    }
  return TRUE;
}

HoneFinishReason
hone_trainer_join (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, HONE_FINISH_FAILED);
  g_return_val_if_fail (t->started, HONE_FINISH_FAILED);
  if (!t->joined)
    {
      pthread_join (t->thread, NULL);
      t->joined = TRUE;
    }
  return t->reason;
}

HoneFinishReason
hone_trainer_run_sync (HoneTrainer *t, HoneTrainerEventFunc func, gpointer user_data)
{
  g_return_val_if_fail (t != NULL, HONE_FINISH_FAILED);
  g_return_val_if_fail (!t->started, HONE_FINISH_FAILED);
  t->started = TRUE;
  t->joined = TRUE;
  t->sync_func = func;
  t->sync_data = user_data;
  return trainer_run (t);
}

HoneEvent *
hone_trainer_pop_event (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, NULL);
  pthread_mutex_lock (&t->lock);
  HoneEvent *ev = g_queue_pop_head (&t->events);
  if (ev && ev->kind == HONE_EVENT_STEP)
    t->queued_steps--;
  pthread_mutex_unlock (&t->lock);
  return ev;
}

HoneEvent *
hone_trainer_wait_event (HoneTrainer *t, int timeout_ms)
{
  g_return_val_if_fail (t != NULL, NULL);
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  if (timeout_ms > 0)
    {
      deadline.tv_sec += timeout_ms / 1000;
      deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
      if (deadline.tv_nsec >= 1000000000L)
        {
          deadline.tv_sec++;
          deadline.tv_nsec -= 1000000000L;
        }
    }
  pthread_mutex_lock (&t->lock);
  while (g_queue_is_empty (&t->events) && timeout_ms != 0)
    {
      if (timeout_ms < 0)
        pthread_cond_wait (&t->event_cond, &t->lock);
      else if (pthread_cond_timedwait (&t->event_cond, &t->lock, &deadline) == ETIMEDOUT)
        break;
    }
  HoneEvent *ev = g_queue_pop_head (&t->events);
  if (ev && ev->kind == HONE_EVENT_STEP)
    t->queued_steps--;
  pthread_mutex_unlock (&t->lock);
  return ev;
}

int64_t
hone_trainer_dropped_events (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  pthread_mutex_lock (&t->lock);
  int64_t n = t->dropped;
  pthread_mutex_unlock (&t->lock);
  return n;
}

void
hone_trainer_pause (HoneTrainer *t)
{
  g_return_if_fail (t != NULL);
  pthread_mutex_lock (&t->lock);
  atomic_store (&t->pause_req, 1);
  pthread_cond_broadcast (&t->cmd_cond);
  pthread_mutex_unlock (&t->lock);
}

void
hone_trainer_resume (HoneTrainer *t)
{
  g_return_if_fail (t != NULL);
  pthread_mutex_lock (&t->lock);
  atomic_store (&t->pause_req, 0);
  pthread_cond_broadcast (&t->cmd_cond);
  pthread_mutex_unlock (&t->lock);
}

void
hone_trainer_stop (HoneTrainer *t)
{
  g_return_if_fail (t != NULL);
  pthread_mutex_lock (&t->lock);
  atomic_store (&t->stop_req, 1);
  pthread_cond_broadcast (&t->cmd_cond);
  pthread_mutex_unlock (&t->lock);
}

void
hone_trainer_set_lr_scale (HoneTrainer *t, double scale)
{
  g_return_if_fail (t != NULL);
  g_return_if_fail (scale > 0.0 && isfinite (scale));
  pthread_mutex_lock (&t->lock);
  t->new_lr_scale = scale;
  pthread_mutex_unlock (&t->lock);
}

void
hone_trainer_unfreeze (HoneTrainer *t, const char *const *prefixes)
{
  g_return_if_fail (t != NULL && prefixes != NULL);
  pthread_mutex_lock (&t->lock);
  g_ptr_array_add (t->unfreeze_cmds, g_strdupv ((char **) prefixes));
  pthread_mutex_unlock (&t->lock);
}

HoneTrainerState
hone_trainer_get_state (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, HONE_TRAINER_READY);
  return (HoneTrainerState) atomic_load (&t->state);
}

int64_t
hone_trainer_batches_done (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return atomic_load (&t->batches_done);
}

const char *
hone_trainer_run_dir (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, NULL);
  return t->run_dir;
}

double
hone_trainer_get_lr_scale (HoneTrainer *t)
{
  g_return_val_if_fail (t != NULL, 1.0);
  pthread_mutex_lock (&t->lock);
  double s = t->new_lr_scale > 0.0 ? t->new_lr_scale : t->lr_scale;
  pthread_mutex_unlock (&t->lock);
  return s;
}
