/* hone-trainer.h: a whole fine-tuning run on its own thread, with live
 * events, commands, checkpoints and a run folder.
 *
 * hone_trainer_new builds everything a recipe describes: the dataset and its
 * split (data.limit included), the model from model.arch and model.weights
 * (the head replaced when model.classes differs from the weights' head or
 * model.replace_head asks), the freezing preset, discriminative learning
 * rates, class weights, the loaders, the optimizer, the training step and
 * the schedule.  hone_trainer_start runs it on a pthread at a lowered
 * priority; hone_trainer_run_sync runs it on the calling thread (hone-cli).
 * The trainer never touches GTK: it publishes immutable events and reads
 * commands.
 *
 * Events go into a bounded, mutex-protected queue.  The training thread
 * never blocks on it: when HONE_TRAINER_QUEUE_STEPS STEP events wait, a
 * new STEP event replaces the newest waiting STEP event (its `coalesced`
 * count says how many it stands for) or, when the newest waiting event is
 * not a STEP, the oldest waiting STEP is dropped to make room.  Every other
 * kind is always queued.  The run folder's metrics.jsonl receives every
 * event, coalesced or not.
 *
 * Commands (pause, resume, stop, set-LR scale, unfreeze) may come from any
 * thread at any time; the training thread honours them between
 * micro-batches (and between validation batches), so within one batch.
 *
 * Epochs are numbered from 1 in events and checkpoints; layers.unfreeze
 * "e:prefix" takes effect after e epochs, when epoch e + 1 begins.  Steps
 * are optimizer updates (one per train.accum micro-batches); an
 * accumulation window never straddles two epochs (a partial one at the end
 * of an epoch is dropped), and unfreezing waits for the end of a window.
 *
 * The run folder:
 *   recipe.hone              the recipe (hone_recipe_save)
 *   metrics.jsonl            one JSON object per event and line, "event" naming its kind
 *   checkpoint.safetensors   everything needed to continue exactly (below)
 *   best.safetensors         the model with the best stop.metric so far
 *   final.safetensors        the final weights and BatchNorm statistics under
 *                            the architecture's (torchvision's) names
 *   final.onnx               the same model as ONNX (opset 13) for other tools;
 *                            a model that cannot be exported is a warning
 *   report.json              the final evaluation (test split, else validation)
 *
 * A checkpoint holds the weights, BatchNorm buffers, optimizer moments and
 * per-parameter step counts, which parameters train, the schedule, plateau
 * and early-stopping state, the dropout generator, the epoch and batch
 * position and the epoch's running statistics, as tensors and
 * __metadata__, written atomically.  With train.deterministic the thread
 * split is fixed and saved, and a resumed run ends bit-identical to one
 * that was never interrupted.
 *
 * Divergence: a non-finite loss or gradient skips the update, pauses the
 * run with a PAUSED event (diverged, the current and a suggested learning
 * rate), and leaves the last checkpoint as it was; lower the rate with
 * hone_trainer_set_lr_scale and resume, or stop (FINISHED, diverged: no
 * checkpoint is written over the last good one).
 *
 * This file does not decode images or augment (hone-loader.h), and does not
 * parse recipes (hone-recipe.h). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "data/hone-dataset.h"
#include "data/hone-loader.h"
#include "hone-error.h"
#include "hone-graph.h"
#include "hone-model.h"
#include "hone-recipe.h"

G_BEGIN_DECLS

/* STEP events waiting in the queue before they are coalesced or dropped. */
#define HONE_TRAINER_QUEUE_STEPS 64
/* Samples in each list of an evaluation (worst, misclassified). */
#define HONE_EVAL_MAX_SAMPLES 32
/* Longest side of a thumbnail. */
#define HONE_EVAL_THUMB_SIZE 64

/* ---- evaluation -------------------------------------------------------- */

typedef struct
{
  int sample;               /* index in the dataset */
  char *name;               /* hone_dataset_sample_name: a path or "SOURCE#INDEX" */
  int label;                /* true class */
  int predicted;            /* class with the largest logit (the first on ties) */
  double loss;              /* cross-entropy of this sample */
  float *probs;             /* (K) softmax probabilities */
  guint8 *thumb;            /* (channels, height, width) the un-normalised image, 0..255; NULL: none */
  int thumb_channels;
  int thumb_height;
  int thumb_width;
} HoneEvalSample;

typedef struct
{
  int n_classes;            /* K */
  char **class_names;       /* (K), NULL-terminated */
  int64_t n_samples;
  double loss;              /* mean cross-entropy (no weights, no smoothing) */
  double accuracy;
  int64_t *confusion;       /* (K, K): row = true class, column = predicted */
  int64_t *support;         /* (K) samples of each true class */
  double *precision;        /* (K); 0 where nothing was predicted as the class */
  double *recall;           /* (K); 0 where the class has no sample */
  double *f1;               /* (K) */
  double macro_f1;          /* mean F1 over classes with samples */
  HoneEvalSample *worst;    /* the highest-loss samples, highest first */
  int n_worst;
  HoneEvalSample *misclassified;  /* the highest-loss misclassified samples, highest first */
  int n_misclassified;
} HoneEvaluation;

void hone_evaluation_free (HoneEvaluation *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneEvaluation, hone_evaluation_free)
HoneEvaluation *hone_evaluation_copy (const HoneEvaluation *ev);

/* Returns TRUE to abandon an evaluation (checked before every batch). */
typedef gboolean (*HoneCancelFunc) (gpointer user_data);

/* Runs g (output 0: the logits of K classes, planned for at least the
 * loader's batch) in inference mode over every batch of `loader` (which
 * must not augment), whose images come from ds in `format`.  Keeps up to
 * HONE_EVAL_MAX_SAMPLES worst and misclassified samples, with thumbnails
 * of at most thumb_size pixels a side (0: none).  class_names may be NULL
 * (then ds's).  NULL with HONE_ERROR_CANCELLED when cancel said so, or
 * another error when the forward pass fails or a label is out of range. */
HoneEvaluation *hone_evaluate (HoneGraph *g, HoneLoader *loader, HoneDataset *ds,
                               const HoneImageFormat *format, int thumb_size,
                               HoneCancelFunc cancel, gpointer cancel_data, GError **error);

/* {"samples", "loss", "accuracy", "macro_f1", "classes", "confusion",
 * "per_class": [{"class", "precision", "recall", "f1", "support"}…],
 * "worst", "misclassified": [{"sample", "name", "label", "predicted",
 * "loss", "probs"}…]}; thumbnails are not included. */
JsonNode *hone_evaluation_to_json (const HoneEvaluation *ev);

/* The normalisation a model expects when a recipe leaves it at 0: the
 * Fashion-MNIST statistics for one channel (the built-in data and weights),
 * ImageNet's for three, 0.5 and 0.5 otherwise. */
void hone_default_normalization (int channels, float *mean, float *std);

/* HoneModelInfo, hone_model_info_read: hone-model.h */

/* ---- events ------------------------------------------------------------ */

typedef enum
{
  HONE_EVENT_STARTED,       /* the run began (or continued): sizes and the thread split */
  HONE_EVENT_STEP,          /* a micro-batch was trained */
  HONE_EVENT_EPOCH,         /* an epoch ended: train and validation loss and accuracy */
  HONE_EVENT_VALIDATION,    /* an evaluation on the validation split */
  HONE_EVENT_CHECKPOINT,    /* a file of the run folder was written */
  HONE_EVENT_WARNING,       /* something was skipped or ignored; training goes on */
  HONE_EVENT_ERROR,         /* the run cannot go on; FINISHED (failed) follows */
  HONE_EVENT_PAUSED,        /* by a command, or after a divergence (diverged TRUE) */
  HONE_EVENT_RESUMED,
  HONE_EVENT_FINISHED,      /* the last event of a run */
} HoneEventKind;

typedef enum
{
  HONE_FINISH_COMPLETED,    /* every epoch ran */
  HONE_FINISH_STOPPED,      /* stopped by a command; the checkpoint allows resuming */
  HONE_FINISH_EARLY_STOPPED,/* stop.metric stopped improving */
  HONE_FINISH_DIVERGED,     /* stopped while paused after a divergence; the last good checkpoint stays */
  HONE_FINISH_FAILED,       /* an error (see the ERROR event) */
} HoneFinishReason;

typedef enum
{
  HONE_TRAINER_READY,       /* made, not started */
  HONE_TRAINER_RUNNING,
  HONE_TRAINER_PAUSED,
  HONE_TRAINER_FINISHED,
} HoneTrainerState;

typedef struct
{
  int batch;                /* micro-batches done in this epoch, this one included */
  int n_batches;            /* micro-batches per epoch */
  int samples;              /* in this micro-batch */
  double loss;              /* this micro-batch's mean loss */
  double accuracy;          /* this micro-batch's */
  double lr;                /* the learning rate of the current update */
  double images_per_s;      /* training throughput since the last STEP event */
  double grad_norm;         /* when this micro-batch completed an update, else 0 */
  gboolean updated;
  double epoch_loss;        /* running means over the epoch so far */
  double epoch_accuracy;
  int64_t coalesced;        /* STEP events folded into this one (0: none) */
} HoneStepInfo;

typedef struct
{
  double train_loss;        /* mean over the epoch's samples */
  double train_accuracy;
  double val_loss;          /* NaN without a validation split */
  double val_accuracy;
  double lr;                /* at the end of the epoch */
  double seconds;           /* the epoch's training and validation time */
  gboolean best;            /* this epoch improved stop.metric */
  int bad_epochs;           /* validations since the last improvement */
  int64_t trainable_params; /* floats in trainable parameters during the epoch */
} HoneEpochInfo;

typedef struct
{
  int n_train;
  int n_val;
  int n_test;
  int n_classes;
  char **class_names;       /* (K), NULL-terminated */
  int64_t *class_counts;    /* (K) in the training split */
  double imbalance;         /* hone_class_imbalance of the training split */
  int64_t params;           /* floats in parameters */
  int64_t trainable_params;
  int batches_per_epoch;
  int64_t steps_per_epoch;  /* optimizer updates */
  int blas_threads;
  int loader_threads;
  gboolean resumed;         /* continued from a checkpoint */
  gboolean head_replaced;   /* model.weights' head did not fit, or model.replace_head */
} HoneStartInfo;

/* An event; nothing in it changes once published.  Fields other than the
 * common ones are set for the kinds their comments name. */
typedef struct
{
  HoneEventKind kind;
  int epoch;                /* the epoch under way, from 1 (0 before the first) */
  int n_epochs;
  int64_t step;             /* optimizer updates so far */
  double elapsed;           /* seconds of training so far, pauses excluded */

  HoneStartInfo start;      /* STARTED */
  HoneStepInfo train;       /* STEP */
  HoneEpochInfo epoch_info; /* EPOCH */
  HoneEvaluation *validation;     /* VALIDATION; owned by the event */
  char *path;               /* CHECKPOINT: the file; WARNING: the file concerned, or NULL */
  char *what;               /* CHECKPOINT: "checkpoint", "best", "final", "onnx" or "report" */
  char *message;            /* WARNING, ERROR, PAUSED, FINISHED: for a person */
  gboolean diverged;        /* PAUSED: a non-finite loss or gradient */
  double lr;                /* PAUSED: the learning rate that diverged */
  double suggested_lr;      /* PAUSED (diverged): a rate to try instead */
  double loss;              /* PAUSED (diverged): the loss that was seen */
  HoneFinishReason reason;  /* FINISHED */
} HoneEvent;

void hone_event_free (HoneEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneEvent, hone_event_free)

/* "step", "epoch", "validation", "checkpoint", … as in metrics.jsonl. */
const char *hone_event_kind_name    (HoneEventKind kind);
/* "completed", "stopped", "early-stopped", "diverged", "failed". */
const char *hone_finish_reason_name (HoneFinishReason reason);
/* The event as metrics.jsonl writes it: an object whose "event" member is
 * hone_event_kind_name (kind). */
JsonNode   *hone_event_to_json      (const HoneEvent *ev);

/* ---- the trainer ------------------------------------------------------- */

typedef struct _HoneTrainer HoneTrainer;

/* Prepares a new run of `recipe` (copied) in run_dir, which is created (a
 * folder that already holds a run is refused: continue it with
 * hone_trainer_open).  Opens the data, builds the model, writes
 * recipe.hone.  Slow (it reads the dataset's index and the weights): call
 * it off a UI thread.  NULL with an error naming the setting or file. */
HoneTrainer *hone_trainer_new  (const HoneRecipe *recipe, const char *run_dir, GError **error);

/* Prepares to continue the run in run_dir from its checkpoint.safetensors,
 * with `recipe` (NULL: the run's recipe.hone; a recipe with different
 * settings, a lower optimizer.lr or more train.epochs for example, is
 * written to recipe.hone and used from the checkpoint's position on).  An
 * error when there is no checkpoint, it does not fit the model, or the run
 * is complete. */
HoneTrainer *hone_trainer_open (const char *run_dir, const HoneRecipe *recipe, GError **error);

/* Stops the run if it is running, waits for its thread, frees everything. */
void         hone_trainer_free (HoneTrainer *trainer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneTrainer, hone_trainer_free)

/* Starts the run on its own thread, which lowers its scheduling priority.
 * At most once per trainer.  FALSE with an error when the thread cannot be
 * created. */
gboolean     hone_trainer_start (HoneTrainer *trainer, GError **error);
/* Waits for a started run's thread to finish and returns why it did. */
HoneFinishReason hone_trainer_join (HoneTrainer *trainer);

typedef void (*HoneTrainerEventFunc) (HoneTrainer *trainer, const HoneEvent *event, gpointer user_data);

/* Runs the whole run on the calling thread.  When func is not NULL it sees
 * every event (nothing coalesced) as it happens, on this thread, and may
 * send commands (hone_trainer_stop on a signal, say); the queue then stays
 * empty.  Returns the reason the run finished. */
HoneFinishReason hone_trainer_run_sync (HoneTrainer *trainer, HoneTrainerEventFunc func,
                                        gpointer user_data);

/* Takes the oldest waiting event (transfer full: hone_event_free), or NULL. */
HoneEvent   *hone_trainer_pop_event  (HoneTrainer *trainer);
/* The same, waiting up to timeout_ms (< 0: until one comes) for one. */
HoneEvent   *hone_trainer_wait_event (HoneTrainer *trainer, int timeout_ms);
/* STEP events dropped from the queue so far (coalesced ones not counted). */
int64_t      hone_trainer_dropped_events (HoneTrainer *trainer);

/* Commands: from any thread, honoured before the next micro-batch. */
void         hone_trainer_pause  (HoneTrainer *trainer);
void         hone_trainer_resume (HoneTrainer *trainer);
void         hone_trainer_stop   (HoneTrainer *trainer);
/* Multiplies the scheduled learning rate by scale (> 0, finite) from the
 * next update on; 1 is the schedule as planned.  Saved in checkpoints. */
void         hone_trainer_set_lr_scale (HoneTrainer *trainer, double scale);
/* Makes trainable every parameter whose name starts with one of prefixes,
 * or whose block is a prefix or starts with "prefix." ("all": every one;
 * "head": the classifier head). */
void         hone_trainer_unfreeze (HoneTrainer *trainer, const char *const *prefixes);

HoneTrainerState hone_trainer_get_state (HoneTrainer *trainer);
/* Micro-batches trained so far in this process (for tests and progress). */
int64_t      hone_trainer_batches_done (HoneTrainer *trainer);
const char  *hone_trainer_run_dir (HoneTrainer *trainer);
/* The scale last set (1 at first, or the checkpoint's). */
double       hone_trainer_get_lr_scale (HoneTrainer *trainer);

G_END_DECLS
