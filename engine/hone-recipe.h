/* hone-recipe.h: everything a training run needs, as one value.
 *
 * A recipe reads and writes a GKeyFile `.hone` file (groups model, data,
 * augment, train, optimizer, schedule, freeze, layers, loss, stop), takes
 * `--set group.key=value` overrides, and checks every value: an invalid one
 * is an error naming the key and the allowed range.  The GUI's state is a
 * recipe, and `hone-cli train file.hone` reproduces a GUI run exactly.
 *
 * One table (hone_recipe_keys) describes every key — type, default, range,
 * one-line help — and drives reading, writing, overrides, validation, the
 * README's key reference and the UI's explanations.  Durations (schedule
 * step sizes, warmup, unfreezing) are in epochs; the trainer converts them
 * to optimizer steps. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "data/hone-loader.h"
#include "hone-error.h"
#include "hone-loss.h"
#include "hone-optim.h"
#include "hone-schedule.h"

G_BEGIN_DECLS

#define HONE_RECIPE_MAX_UNFREEZE 16

typedef enum
{
  HONE_FREEZE_NONE,     /* everything trains */
  HONE_FREEZE_HEAD,     /* only the classifier head trains */
  HONE_FREEZE_LAST,     /* the head and the last freeze.blocks blocks train */
  HONE_FREEZE_FIRST,    /* the first freeze.blocks blocks are frozen, the rest trains */
  HONE_FREEZE_LIST,     /* parameters whose names start with one of freeze.list are frozen */
} HoneFreezeMode;

typedef enum
{
  HONE_STOP_VAL_LOSS,
  HONE_STOP_VAL_ACCURACY,
} HoneStopMetric;

/* The schedule as a recipe states it: durations in epochs (fractions
 * allowed), converted to optimizer steps by hone_recipe_schedule. */
typedef struct
{
  HoneScheduleKind kind;
  double gamma;               /* step, multistep, exponential (per epoch) */
  double step_epochs;         /* step */
  int n_milestones;
  double milestones[HONE_SCHEDULE_MAX_MILESTONES];   /* multistep, epochs of the run
                                                      * (warmup included), increasing */
  double cycle_epochs;        /* cosine: 0 = the whole run; cosine_restarts: the first cycle */
  int cycle_mult;             /* cosine_restarts */
  double eta_min;             /* cosine floor, absolute lr */
  double power;               /* polynomial */
  double end_lr;              /* polynomial */
  double pct_start;           /* onecycle */
  HoneAnnealKind anneal;      /* onecycle */
  double div_factor;          /* onecycle */
  double final_div_factor;    /* onecycle */
  gboolean three_phase;       /* onecycle */
  double factor;              /* plateau */
  int patience;               /* plateau, validations */
  double threshold;           /* plateau, relative */
  int cooldown;               /* plateau, validations */
  double min_lr;              /* plateau */
  HoneWarmupKind warmup;
  double warmup_epochs;
  double warmup_start_factor;
} HoneRecipeSchedule;

typedef struct
{
  /* [model] */
  char *arch;                 /* built-in architecture, or NULL when source is set */
  char *source;               /* a model file or zoo:NAME (later issues), or NULL;
                               * exactly one of arch and source is set */
  char *weights;              /* safetensors to start from, or NULL (fresh weights) */
  int classes;                /* 0: the dataset's class count */
  int channels, height, width;/* 0: the architecture's / source's defaults */
  float mean[4], std[4];      /* normalisation; std all 0: both the defaults for the
                               * architecture (mean is then 0 too).  Otherwise channel c
                               * uses mean[c] and std[c]; a single value in the file fills
                               * all four, and a channel whose std is 0 was not given */
  gboolean replace_head;      /* force a fresh head even when the class count matches */
  double dropout;             /* dropout before the head, [0, 1) */

  /* [data] */
  char *data_source;          /* see hone_dataset_open; default "fmnist:5-9" */
  char *val_source;           /* a separate validation source ("given folders"), or NULL */
  double val_split;           /* [0, 0.9] */
  double test_split;          /* [0, 0.9], val + test < 1 */
  int kfold;                  /* 0: off; else k >= 2 */
  int fold;                   /* 0 .. kfold-1 */
  gboolean shuffle;
  gboolean balanced;          /* class-balanced sampling */
  int limit;                  /* use at most this many samples (stratified), 0: all */
  int loader_threads;         /* 0: automatic */

  /* [augment] */
  gboolean augment_enabled;
  HoneAugment augment;

  /* [train] */
  int epochs;
  int batch;
  int accum;                  /* gradient accumulation over this many batches */
  uint64_t seed;
  gboolean deterministic;     /* bit-identical reruns and resumes (fixed thread split) */
  int threads;                /* 0: one per core */
  int val_every;              /* validate every n steps; 0: every epoch */
  int checkpoint_every;       /* epochs between checkpoints, >= 1 */

  /* [optimizer], [schedule], [loss] */
  HoneOptimConfig optimizer;
  double lr;
  HoneRecipeSchedule schedule;
  HoneLoss loss;              /* class_weights unused here: see class_weights */
  gboolean class_weights;     /* inverse-frequency weights from the training split */

  /* [freeze] and [layers] */
  HoneFreezeMode freeze_mode;
  int freeze_blocks;
  char **freeze_list;         /* NULL-terminated prefixes */
  double lr_decay;            /* discriminative LR: each block further from the head x lr_decay, (0, 1] */
  char **lr_mults;            /* NULL-terminated "prefix=mult" overrides, mult in [0, 100]
                               * written as the shortest exact decimal ("layer4=0.5") */
  int n_unfreeze;             /* progressive unfreezing: after unfreeze_epoch[i] epochs (at
                               * the start of 0-based epoch unfreeze_epoch[i]) ... */
  int unfreeze_epoch[HONE_RECIPE_MAX_UNFREEZE];   /* increasing, 1 .. epochs - 1 */
  char *unfreeze_what[HONE_RECIPE_MAX_UNFREEZE];  /* ... unfreeze these prefixes ("layer3,layer4");
                                                   * NULL from n_unfreeze on */

  /* [stop] */
  gboolean early_stopping;
  HoneStopMetric stop_metric;
  int patience;               /* epochs without improvement */
  double min_delta;
  gboolean restore_best;
} HoneRecipe;

/* A recipe with every default: fine-tune cnn-s on Fashion-MNIST 5-9. */
HoneRecipe *hone_recipe_new  (void);
void        hone_recipe_free (HoneRecipe *recipe);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneRecipe, hone_recipe_free)
HoneRecipe *hone_recipe_copy (const HoneRecipe *recipe);

/* Reads a .hone file over the defaults.  Unknown groups or keys are errors
 * (a misspelt key must not be silently ignored); so is any invalid value. */
HoneRecipe *hone_recipe_load (const char *path, GError **error);
/* Every key, defaults included, with the help text as comments; atomic. */
gboolean    hone_recipe_save (const HoneRecipe *recipe, const char *path, GError **error);
/* The file's text (transfer full); equal recipes give equal texts. */
char       *hone_recipe_to_data (const HoneRecipe *recipe, gsize *length);
/* what names the text in error messages (a path; NULL: "recipe"); length
 * (gsize) -1: data is NUL-terminated. */
HoneRecipe *hone_recipe_from_data (const char *data, gsize length, const char *what, GError **error);

/* "group.key=value": spaces around the key and the value are ignored.
 * Checks the value against the key's own range (an error names the key, the
 * value and the range, and suggests the nearest key for an unknown one) and
 * leaves the recipe unchanged on error.  Combinations are checked by
 * hone_recipe_validate.  model.arch and model.source exclude each other:
 * setting one non-empty clears the other. */
gboolean    hone_recipe_set (HoneRecipe *recipe, const char *assignment, GError **error);
/* The value of "group.key" as a recipe file writes it; transfer full.  NULL
 * with an error for an unknown key. */
char       *hone_recipe_get (const HoneRecipe *recipe, const char *key, GError **error);
/* The schedule in optimizer steps for a run of `epochs` epochs of
 * `steps_per_epoch` optimizer steps (after accumulation), base lr
 * recipe->lr; plateau's mode follows stop.metric.  Epochs become steps
 * rounded to the nearest (at least 1 where the schedule needs 1).  Lengths
 * measured from the end of the warmup (cycle_epochs 0, polynomial and
 * onecycle) are the run's steps minus the warmup's, at least 1; milestones
 * are epochs of the whole run, moved after the warmup and kept strictly
 * increasing.  A onecycle run too short for its pct_start (pct_start *
 * steps must exceed 1) gets the shortest valid cycle instead, and the run
 * ends before its cycle does.  For a valid recipe the result passes
 * hone_schedule_validate. */
void        hone_recipe_schedule (const HoneRecipe *recipe, int64_t steps_per_epoch,
                                  HoneSchedule *schedule);

/* Cross-field checks (val + test < 1, nesterov needs momentum, fold < kfold, …). */
gboolean    hone_recipe_validate (const HoneRecipe *recipe, GError **error);

typedef enum
{
  HONE_RECIPE_BOOL,
  HONE_RECIPE_INT,
  HONE_RECIPE_DOUBLE,
  HONE_RECIPE_STRING,
  HONE_RECIPE_CHOICE,        /* one of a fixed list of words */
  HONE_RECIPE_LIST,          /* comma-separated */
} HoneRecipeType;

typedef struct
{
  const char *key;           /* "optimizer.lr" */
  HoneRecipeType type;
  const char *default_text;  /* as written in the file */
  const char *range;         /* "0.0 to 10", "sgd, adam, adamw", for people */
  const char *help;          /* one sentence: what it does and when to use it */
  /* INT and DOUBLE keys, and the numbers of a numeric LIST (model.mean,
   * model.std, schedule.milestones): the allowed values, for spin buttons.
   * 0 and 0 for other keys. */
  double min;
  double max;
  gboolean min_open;         /* TRUE: min itself is not allowed */
  gboolean max_open;         /* TRUE: max itself is not allowed */
  gboolean zero_allowed;     /* 0 is allowed too, outside min..max (meaning off or automatic) */
  const char *const *choices;/* CHOICE: NULL-terminated words; NULL for other types */
} HoneRecipeKey;

/* Every key, NULL-key-terminated, in file order; owned by the engine, lives
 * as long as the program. */
const HoneRecipeKey *hone_recipe_keys (void);
/* The key "group.key", or NULL when there is none. */
const HoneRecipeKey *hone_recipe_find_key (const char *key);

G_END_DECLS
