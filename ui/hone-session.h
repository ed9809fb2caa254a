/* hone-session.h: the desktop app's state and its one link to the engine.
 *
 * A HoneSession lives on the main thread.  It owns the recipe (the GUI's
 * state is a recipe: every page edits it, a project file is it), the model
 * the recipe names (built or loaded off the main thread), and the trainer of
 * the current run.  It drains the trainer's events on a timer at most 30
 * times a second, folds each burst of STEP events into the newest one, and
 * re-emits them as the "event" signal and as properties (state, progress,
 * images-per-second, eta) from the main loop: widgets never see an engine
 * thread.  Events of a run that was replaced are dropped.
 *
 * Runs are kept under $XDG_DATA_HOME/hone/runs/<timestamp>-<model>; a past
 * run can be reopened (its recipe, curves and model).
 *
 * This file does not make widgets: HoneWindow shows what it says. */
#pragma once

#include <gio/gio.h>

#include "hone-model.h"
#include "hone-recipe.h"
#include "hone-trainer.h"

G_BEGIN_DECLS

typedef enum
{
  HONE_SESSION_IDLE,        /* no run yet, or the last one was reset */
  HONE_SESSION_PREPARING,   /* the trainer is opening the data and building the model */
  HONE_SESSION_RUNNING,
  HONE_SESSION_PAUSED,
  HONE_SESSION_STOPPING,    /* stop was asked; waiting for the run's last event */
  HONE_SESSION_FINISHED,    /* the run ended; its results stay until the next one */
} HoneSessionState;

GType hone_session_state_get_type (void);
#define HONE_TYPE_SESSION_STATE (hone_session_state_get_type ())

#define HONE_TYPE_SESSION (hone_session_get_type ())
G_DECLARE_FINAL_TYPE (HoneSession, hone_session, HONE, SESSION, GObject)

HoneSession *hone_session_new (void);

/* The recipe (borrowed, editable in place).  After editing it, call
 * hone_session_recipe_changed: a different model.* reloads the model. */
HoneRecipe  *hone_session_get_recipe      (HoneSession *self);
void         hone_session_recipe_changed  (HoneSession *self);
/* Replaces the recipe (transfer full) and emits "recipe-replaced". */
void         hone_session_replace_recipe  (HoneSession *self, HoneRecipe *recipe);

/* Picks a model: a built-in architecture name, "zoo:NAME", or a .onnx or
 * .safetensors path.  The model loads off the main thread: "model" is
 * notified when it is there; a failure is reported by "error" and the model
 * the user had stays. */
void         hone_session_select_model    (HoneSession *self, const char *name_or_path);
/* The current model (borrowed), or NULL while the first one loads. */
HoneModel   *hone_session_get_model       (HoneSession *self);
gboolean     hone_session_get_loading     (HoneSession *self);
/* The data the recipe names, read off the main thread: its sample and class
 * counts (0 before it was read or when it could not be). */
int          hone_session_get_data_samples (HoneSession *self);
int          hone_session_get_data_classes (HoneSession *self);

/* Projects: the recipe as a .hone file. */
gboolean     hone_session_save_project    (HoneSession *self, const char *path, GError **error);
gboolean     hone_session_open_project    (HoneSession *self, const char *path, GError **error);
const char  *hone_session_get_project_path (HoneSession *self);

/* Runs.  train: FALSE with an error when a run is already under way or the
 * recipe is invalid (the error names the setting).  The commands do nothing
 * when they do not apply. */
gboolean     hone_session_train           (HoneSession *self, GError **error);
void         hone_session_pause           (HoneSession *self);
void         hone_session_resume          (HoneSession *self);
void         hone_session_stop            (HoneSession *self);
/* After "diverged": lowers the learning rate to the suggested one and resumes. */
void         hone_session_resume_lower_lr (HoneSession *self);
/* After "diverged": the rate that diverged becomes lr (the schedule goes on,
 * scaled) and the run resumes. */
void         hone_session_resume_at_lr    (HoneSession *self, double lr);
/* The factor the run's schedule is scaled by (1 without a run). */
double       hone_session_get_lr_scale    (HoneSession *self);

HoneSessionState hone_session_get_state   (HoneSession *self);
gboolean     hone_session_is_active       (HoneSession *self);  /* preparing, running, paused or stopping */
double       hone_session_get_progress    (HoneSession *self);  /* 0 .. 1 of the whole run */
double       hone_session_get_images_per_second (HoneSession *self);
double       hone_session_get_eta         (HoneSession *self);  /* seconds left; < 0: unknown */
int          hone_session_get_epoch       (HoneSession *self);
int          hone_session_get_n_epochs    (HoneSession *self);
/* Parameters and trainable parameters of the current run (from its STARTED
 * event), else of the model; 0 when there is none. */
int64_t      hone_session_get_params      (HoneSession *self);
int64_t      hone_session_get_trainable_params (HoneSession *self);
/* The folder of the current or last run (also a reopened one), or NULL. */
const char  *hone_session_get_run_dir     (HoneSession *self);
/* The last validation of the current or last run (borrowed), or NULL. */
const HoneEvaluation *hone_session_get_evaluation (HoneSession *self);
/* The last validation a run folder keeps (metrics.jsonl, else the final
 * evaluation of report.json), without thumbnails; NULL when it holds none
 * that can be read.  hone_session_open_run makes it the session's
 * evaluation. */
HoneEvaluation *hone_session_read_run_evaluation (const char *run_dir);

/* Where runs are kept: $XDG_DATA_HOME/hone/runs (transfer full). */
char        *hone_session_runs_dir        (void);
/* Reopens a past run: its recipe becomes the session's and the run becomes
 * the current one (export writes its model); emits "run-opened". */
gboolean     hone_session_open_run        (HoneSession *self, const char *run_dir, GError **error);

/* Exports the fine-tuned model of the current or last run to path (.onnx
 * or .safetensors) off the main thread.  "export-progress" reports 0..1. */
void         hone_session_export_async    (HoneSession *self, const char *path,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean     hone_session_export_finish   (HoneSession *self, GAsyncResult *result, GError **error);
gboolean     hone_session_get_exporting   (HoneSession *self);

/* For tests: the most CPU time one drain of the event queue (handlers of
 * "event" included) took on the main thread, in seconds, and the number of
 * "event" emissions so far. */
double       hone_session_get_max_drain_seconds (HoneSession *self);
guint        hone_session_get_events_emitted    (HoneSession *self);

G_END_DECLS
