/* hone-session.c: the app's state and its link to the engine (see
 * hone-session.h).
 *
 * Everything here runs on the main thread except the bodies of the GTasks
 * (model building, trainer preparation, export), which get copies of what
 * they need and hand back what they made; their results are checked against
 * a serial number so that a result nobody waits for any more is dropped. */
#include "hone-config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "hone-arch.h"
#include "hone-format.h"
#include "hone-session.h"
#include "data/hone-dataset.h"

/* The drain timer: at most 30 updates a second, and at most this many
 * events handled per tick so that one tick never holds the main loop. */
#define DRAIN_INTERVAL_MS 33
#define DRAIN_MAX_EVENTS  256

struct _HoneSession
{
  GObject parent_instance;

  HoneRecipe *recipe;
  char *project_path;

  /* the model the recipe names */
  HoneModel *model;
  char *model_key;          /* the recipe settings the model was made from */
  char *loading_key;        /* what is being made now, or NULL */
  guint model_serial;
  int data_samples;
  int data_classes;

  /* the current or last run */
  HoneSessionState state;
  HoneTrainer *trainer;
  GThread *pump;            /* moves the trainer's events into `events` */
  GAsyncQueue *events;      /* (HoneEvent *) for the main loop */
  gint pump_quit;           /* atomic */
  guint run_serial;
  gboolean stop_requested;  /* while preparing */
  char *run_dir;
  guint drain_id;
  int epoch;
  int n_epochs;
  double progress;
  double images_per_s;
  double eta;
  int64_t run_params;
  int64_t run_trainable;
  HoneEvaluation *evaluation;
  double diverged_lr;
  double suggested_lr;

  gboolean exporting;

  double max_drain_s;
  guint events_emitted;
};

G_DEFINE_TYPE (HoneSession, hone_session, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (HoneSessionState, hone_session_state,
  G_DEFINE_ENUM_VALUE (HONE_SESSION_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (HONE_SESSION_PREPARING, "preparing"),
  G_DEFINE_ENUM_VALUE (HONE_SESSION_RUNNING, "running"),
  G_DEFINE_ENUM_VALUE (HONE_SESSION_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (HONE_SESSION_STOPPING, "stopping"),
  G_DEFINE_ENUM_VALUE (HONE_SESSION_FINISHED, "finished"))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_PROGRESS,
  PROP_IMAGES_PER_SECOND,
  PROP_ETA,
  PROP_EPOCH,
  PROP_N_EPOCHS,
  PROP_MODEL,
  PROP_LOADING,
  PROP_EXPORTING,
  PROP_RUN_DIR,
  PROP_PROJECT_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_EVENT,
  SIGNAL_RUN_STARTED,
  SIGNAL_RUN_OPENED,
  SIGNAL_RECIPE_CHANGED,
  SIGNAL_RECIPE_REPLACED,
  SIGNAL_WARNING,
  SIGNAL_ERROR,
  SIGNAL_DIVERGED,
  SIGNAL_EXPORT_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- models ------------------------------------------------------------ */

typedef struct
{
  HoneRecipe *recipe;
  HoneModel *model;
  int data_samples;
  int data_classes;
  char *data_error;
} ModelJob;

static void
model_job_free (ModelJob *job)
{
  hone_recipe_free (job->recipe);
  hone_model_free (job->model);
  g_free (job->data_error);
  g_free (job);
}

static char *
model_key (const HoneRecipe *r)
{
  /* everything the model and the data summary depend on */
  return g_strdup_printf ("%s|%s|%s|%d|%d|%d|%d|%g|%s|%d", r->arch ? r->arch : "",
                          r->source ? r->source : "", r->weights ? r->weights : "",
                          r->classes, r->channels, r->height, r->width, r->dropout,
                          r->data_source ? r->data_source : "", r->limit);
}

static HoneModel *
build_model (const HoneRecipe *r, int data_classes, char **class_names, GError **error)
{
  int classes = r->classes > 0 ? r->classes : data_classes;

  HoneModelOptions opts;
  hone_model_options_init (&opts);
  opts.classes = classes;
  opts.replace_head = r->replace_head;   /* as the trainer loads it */
  opts.channels = r->channels;
  opts.height = r->height;
  opts.width = r->width;
  opts.dropout = r->dropout > 0 ? r->dropout : -1;
  opts.seed = r->seed;
  HoneModel *model = r->source != NULL ? hone_model_load (r->source, &opts, error)
                                       : hone_model_build (r->arch, &opts, error);
  if (model != NULL && class_names != NULL && g_strv_length (class_names) == (guint) model->n_classes)
    {
      g_strfreev (model->class_names);
      model->class_names = g_strdupv (class_names);
    }
  return model;
}

static void
model_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ModelJob *job = task_data;
  const HoneRecipe *r = job->recipe;
  g_auto (GStrv) class_names = NULL;
  g_autoptr (GError) error = NULL;

  /* The data first: the new head gets one output per class. */
  g_autoptr (HoneDataset) ds = hone_dataset_open (r->data_source, &error);
  if (ds != NULL)
    {
      int n = hone_dataset_n_samples (ds);
      job->data_samples = r->limit > 0 && r->limit < n ? r->limit : n;
      job->data_classes = hone_dataset_n_classes (ds);
      class_names = g_new0 (char *, job->data_classes + 1);
      for (int k = 0; k < job->data_classes; k++)
        class_names[k] = g_strdup (hone_dataset_class_name (ds, k));
    }
  else
    {
      job->data_error = g_strdup (error->message);
      g_clear_error (&error);
    }

  job->model = build_model (r, job->data_classes, class_names, &error);
  if (job->model == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
model_ready (GObject *object, GAsyncResult *result, gpointer user_data)
{
  HoneSession *self = HONE_SESSION (object);
  GTask *task = G_TASK (result);
  ModelJob *job = g_task_get_task_data (task);
  guint serial = GPOINTER_TO_UINT (user_data);
  g_autoptr (GError) error = NULL;

  if (serial != self->model_serial)
    return;   /* a newer request replaced this one */

  gboolean ok = g_task_propagate_boolean (task, &error);
  g_clear_pointer (&self->loading_key, g_free);

  if (job->data_error != NULL)
    g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("The data could not be opened"), job->data_error);
  self->data_samples = job->data_samples;
  self->data_classes = job->data_classes;

  if (ok)
    {
      hone_model_free (self->model);
      self->model = g_steal_pointer (&job->model);
      g_free (self->model_key);
      self->model_key = model_key (job->recipe);
    }
  else
    {
      g_autofree char *body = g_strdup_printf (_("%s\n\nThe model you had is kept."), error->message);
      g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("The model could not be loaded"), body);
      /* keep the recipe consistent with the model the user still has */
      if (self->model != NULL && self->model_key != NULL)
        {
          g_auto (GStrv) parts = g_strsplit (self->model_key, "|", 3);
          if (parts[0][0] != '\0')
            {
              g_autofree char *set = g_strdup_printf ("model.arch=%s", parts[0]);
              hone_recipe_set (self->recipe, set, NULL);
            }
          else if (parts[1] != NULL && parts[1][0] != '\0')
            {
              g_autofree char *set = g_strdup_printf ("model.source=%s", parts[1]);
              hone_recipe_set (self->recipe, set, NULL);
            }
          g_signal_emit (self, signals[SIGNAL_RECIPE_REPLACED], 0);
        }
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
reload_model_if_needed (HoneSession *self)
{
  g_autofree char *key = model_key (self->recipe);

  if (g_strcmp0 (key, self->loading_key) == 0)
    return;
  if (self->loading_key == NULL && g_strcmp0 (key, self->model_key) == 0)
    return;

  ModelJob *job = g_new0 (ModelJob, 1);
  job->recipe = hone_recipe_copy (self->recipe);
  g_free (self->loading_key);
  self->loading_key = g_steal_pointer (&key);
  self->model_serial++;

  g_autoptr (GTask) task = g_task_new (self, NULL, model_ready, GUINT_TO_POINTER (self->model_serial));
  g_task_set_source_tag (task, reload_model_if_needed);
  g_task_set_task_data (task, job, (GDestroyNotify) model_job_free);
  g_task_run_in_thread (task, model_thread);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

/* ---- properties -------------------------------------------------------- */

static void
set_state (HoneSession *self, HoneSessionState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_run_dir (HoneSession *self, const char *run_dir)
{
  if (g_strcmp0 (self->run_dir, run_dir) == 0)
    return;
  g_free (self->run_dir);
  self->run_dir = g_strdup (run_dir);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);
}

static void
reset_progress (HoneSession *self)
{
  self->epoch = 0;
  self->n_epochs = self->recipe->epochs;
  self->progress = 0;
  self->images_per_s = 0;
  self->eta = -1;
  self->run_params = 0;
  self->run_trainable = 0;
  g_clear_pointer (&self->evaluation, hone_evaluation_free);
  for (int p = PROP_PROGRESS; p <= PROP_N_EPOCHS; p++)
    g_object_notify_by_pspec (G_OBJECT (self), properties[p]);
}

/* ---- events ------------------------------------------------------------ */

static void finish_trainer (HoneSession *self);

static void
update_progress (HoneSession *self, const HoneEvent *ev)
{
  if (ev->n_epochs > 0)
    self->n_epochs = ev->n_epochs;
  if (ev->epoch != self->epoch && ev->epoch > 0)
    {
      self->epoch = ev->epoch;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EPOCH]);
    }

  if (ev->kind == HONE_EVENT_STEP && ev->train.n_batches > 0 && self->n_epochs > 0)
    {
      double done = (ev->epoch - 1) + (double) ev->train.batch / ev->train.n_batches;
      self->progress = CLAMP (done / self->n_epochs, 0.0, 1.0);
      /* a short exponential average: the throughput of one burst jumps */
      if (ev->train.images_per_s > 0 && isfinite (ev->train.images_per_s))
        self->images_per_s = self->images_per_s > 0
                               ? 0.7 * self->images_per_s + 0.3 * ev->train.images_per_s
                               : ev->train.images_per_s;
      self->eta = self->progress > 0.005 ? ev->elapsed / self->progress * (1 - self->progress) : -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMAGES_PER_SECOND]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA]);
    }
}

static void
handle_event (HoneSession *self, const HoneEvent *ev)
{
  update_progress (self, ev);

  switch (ev->kind)
    {
    case HONE_EVENT_STARTED:
      self->run_params = ev->start.params;
      self->run_trainable = ev->start.trainable_params;
      if (self->state == HONE_SESSION_PREPARING)
        set_state (self, HONE_SESSION_RUNNING);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_EPOCHS]);
      break;
    case HONE_EVENT_EPOCH:
      self->run_trainable = ev->epoch_info.trainable_params;
      break;
    case HONE_EVENT_VALIDATION:
      g_clear_pointer (&self->evaluation, hone_evaluation_free);
      if (ev->validation != NULL)
        self->evaluation = hone_evaluation_copy (ev->validation);
      break;
    case HONE_EVENT_WARNING:
      if (ev->message != NULL)
        g_signal_emit (self, signals[SIGNAL_WARNING], 0, ev->message);
      break;
    case HONE_EVENT_ERROR:
      g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("Training stopped"),
                     ev->message ? ev->message : "");
      break;
    case HONE_EVENT_PAUSED:
      if (self->state != HONE_SESSION_STOPPING)
        set_state (self, HONE_SESSION_PAUSED);
      if (ev->diverged)
        {
          self->diverged_lr = ev->lr;
          self->suggested_lr = ev->suggested_lr;
          g_autofree char *msg =
            g_strdup_printf (_("The loss became %g at learning rate %.3g: the run is paused and the last "
                               "checkpoint is kept.  Resume at a lower learning rate (%.3g), or stop and "
                               "lower optimizer.lr on the Training page."),
                             ev->loss, ev->lr, ev->suggested_lr);
          g_signal_emit (self, signals[SIGNAL_DIVERGED], 0, msg);
        }
      break;
    case HONE_EVENT_RESUMED:
      if (self->state == HONE_SESSION_PAUSED)
        set_state (self, HONE_SESSION_RUNNING);
      break;
    case HONE_EVENT_FINISHED:
      if (ev->reason == HONE_FINISH_COMPLETED || ev->reason == HONE_FINISH_EARLY_STOPPED)
        {
          self->progress = 1;
          self->eta = 0;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA]);
        }
      break;
    default:
      break;
    }

  self->events_emitted++;
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, ev);

  if (ev->kind == HONE_EVENT_FINISHED)
    finish_trainer (self);
}

/* The pump thread: waits for the trainer's events and hands them to the
 * main loop through a GAsyncQueue.  The main thread then never takes the
 * trainer's lock, which a low-priority training thread may hold while the
 * kernel gives the CPU to others (priority inversion on a busy machine). */
static gpointer
pump_thread (gpointer data)
{
  HoneSession *self = data;

  while (!g_atomic_int_get (&self->pump_quit))
    {
      HoneEvent *ev = hone_trainer_wait_event (self->trainer, 100);
      if (ev == NULL)
        continue;
      gboolean last = ev->kind == HONE_EVENT_FINISHED;
      g_async_queue_push (self->events, ev);
      if (last)
        break;
    }
  return NULL;
}

static void
stop_pump (HoneSession *self)
{
  if (self->pump == NULL)
    return;
  g_atomic_int_set (&self->pump_quit, 1);
  g_thread_join (self->pump);
  self->pump = NULL;
  g_atomic_int_set (&self->pump_quit, 0);
}

static void
clear_events (HoneSession *self)
{
  HoneEvent *ev;
  while ((ev = g_async_queue_try_pop (self->events)) != NULL)
    hone_event_free (ev);
}

/* CPU time of the calling thread: what a drain costs the main loop,
 * whatever else the machine is doing. */
static gint64
thread_cpu_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
drain_events (gpointer user_data)
{
  HoneSession *self = user_data;
  g_autoptr (HoneEvent) pending_step = NULL;
  gint64 start = thread_cpu_us ();
  guint serial = self->run_serial;

  for (int i = 0; i < DRAIN_MAX_EVENTS && self->trainer != NULL && serial == self->run_serial; i++)
    {
      HoneEvent *ev = g_async_queue_try_pop (self->events);
      if (ev == NULL)
        break;
      if (ev->kind == HONE_EVENT_STEP)
        {
          /* a burst of steps: only the newest is shown */
          g_clear_pointer (&pending_step, hone_event_free);
          pending_step = ev;
          continue;
        }
      if (pending_step != NULL)
        {
          HoneEvent *step = g_steal_pointer (&pending_step);
          handle_event (self, step);
          hone_event_free (step);
        }
      handle_event (self, ev);
      hone_event_free (ev);
    }
  if (pending_step != NULL && serial == self->run_serial)
    handle_event (self, pending_step);

  double took = (thread_cpu_us () - start) / 1e6;
  self->max_drain_s = MAX (self->max_drain_s, took);

  if (self->trainer == NULL)
    {
      self->drain_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
finish_trainer (HoneSession *self)
{
  /* The trainer's thread ends right after its FINISHED event, and the pump
   * after passing it on: joining them waits at most for them to return. */
  stop_pump (self);
  clear_events (self);
  g_clear_pointer (&self->trainer, hone_trainer_free);
  self->run_serial++;
  set_state (self, HONE_SESSION_FINISHED);
}

/* ---- runs -------------------------------------------------------------- */

char *
hone_session_runs_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "hone", "runs", NULL);
}

static char *
new_run_dir (const HoneRecipe *r, GError **error)
{
  g_autofree char *runs = hone_session_runs_dir ();
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *model = hone_format_model_name (r->arch, r->source);

  g_strcanon (model, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", '_');
  if (g_mkdir_with_parents (runs, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Runs are kept in “%s”, which cannot be made: %s. Check that the folder is writable."),
                   runs, g_strerror (saved));
      return NULL;
    }
  for (int i = 1; i < 1000; i++)
    {
      g_autofree char *name = i == 1 ? g_strdup_printf ("%s-%s", stamp, model)
                                     : g_strdup_printf ("%s-%s-%d", stamp, model, i);
      g_autofree char *dir = g_build_filename (runs, name, NULL);
      if (!g_file_test (dir, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&dir);
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
               _("Too many runs were started this second in “%s”; wait a moment and press Train again."), runs);
  return NULL;
}

typedef struct
{
  HoneRecipe *recipe;
  char *run_dir;
  HoneTrainer *trainer;
} PrepareJob;

static void
prepare_job_free (PrepareJob *job)
{
  hone_recipe_free (job->recipe);
  g_free (job->run_dir);
  g_clear_pointer (&job->trainer, hone_trainer_free);
  g_free (job);
}

static void
prepare_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PrepareJob *job = task_data;
  GError *error = NULL;

  job->trainer = hone_trainer_new (job->recipe, job->run_dir, &error);
  if (job->trainer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
prepare_ready (GObject *object, GAsyncResult *result, gpointer user_data)
{
  HoneSession *self = HONE_SESSION (object);
  GTask *task = G_TASK (result);
  PrepareJob *job = g_task_get_task_data (task);
  guint serial = GPOINTER_TO_UINT (user_data);
  g_autoptr (GError) error = NULL;

  if (serial != self->run_serial)
    return;   /* replaced: the job's trainer is freed with it, unstarted */

  if (!g_task_propagate_boolean (task, &error))
    {
      set_state (self, HONE_SESSION_IDLE);
      g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("Training could not start"), error->message);
      return;
    }
  if (self->stop_requested)
    {
      self->run_serial++;
      set_state (self, HONE_SESSION_IDLE);
      return;
    }

  self->trainer = g_steal_pointer (&job->trainer);
  if (!hone_trainer_start (self->trainer, &error))
    {
      g_clear_pointer (&self->trainer, hone_trainer_free);
      set_state (self, HONE_SESSION_IDLE);
      g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("Training could not start"), error->message);
      return;
    }
  clear_events (self);
  self->pump = g_thread_new ("hone-events", pump_thread, self);
  set_state (self, HONE_SESSION_RUNNING);
  if (self->drain_id == 0)
    {
      self->drain_id = g_timeout_add (DRAIN_INTERVAL_MS, drain_events, self);
      g_source_set_name_by_id (self->drain_id, "[hone] drain trainer events");
    }
}

gboolean
hone_session_train (HoneSession *self, GError **error)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);

  if (hone_session_is_active (self))
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           _("A run is already under way: stop it before starting another."));
      return FALSE;
    }
  if (!hone_recipe_validate (self->recipe, error))
    return FALSE;

  g_autofree char *run_dir = new_run_dir (self->recipe, error);
  if (run_dir == NULL)
    return FALSE;

  PrepareJob *job = g_new0 (PrepareJob, 1);
  job->recipe = hone_recipe_copy (self->recipe);
  job->run_dir = g_strdup (run_dir);

  self->run_serial++;
  self->stop_requested = FALSE;
  reset_progress (self);
  set_run_dir (self, run_dir);
  set_state (self, HONE_SESSION_PREPARING);
  g_signal_emit (self, signals[SIGNAL_RUN_STARTED], 0);

  g_autoptr (GTask) task = g_task_new (self, NULL, prepare_ready, GUINT_TO_POINTER (self->run_serial));
  g_task_set_source_tag (task, hone_session_train);
  g_task_set_task_data (task, job, (GDestroyNotify) prepare_job_free);
  g_task_run_in_thread (task, prepare_thread);
  return TRUE;
}

void
hone_session_pause (HoneSession *self)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  if (self->trainer == NULL || self->state != HONE_SESSION_RUNNING)
    return;
  hone_trainer_pause (self->trainer);
  set_state (self, HONE_SESSION_PAUSED);
}

void
hone_session_resume (HoneSession *self)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  if (self->trainer == NULL || self->state != HONE_SESSION_PAUSED)
    return;
  hone_trainer_resume (self->trainer);
  set_state (self, HONE_SESSION_RUNNING);
}

void
hone_session_stop (HoneSession *self)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  if (self->state == HONE_SESSION_PREPARING)
    {
      self->stop_requested = TRUE;
      set_state (self, HONE_SESSION_STOPPING);
      return;
    }
  if (self->trainer == NULL)
    return;
  hone_trainer_stop (self->trainer);
  set_state (self, HONE_SESSION_STOPPING);
}

void
hone_session_resume_lower_lr (HoneSession *self)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  hone_session_resume_at_lr (self, self->suggested_lr);
}

void
hone_session_resume_at_lr (HoneSession *self, double lr)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  if (self->trainer == NULL || self->state != HONE_SESSION_PAUSED)
    return;
  /* the schedule goes on, scaled: the rate that diverged becomes lr */
  if (self->diverged_lr > 0 && lr > 0)
    hone_trainer_set_lr_scale (self->trainer, hone_trainer_get_lr_scale (self->trainer)
                                              * lr / self->diverged_lr);
  hone_session_resume (self);
}

double
hone_session_get_lr_scale (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), 1.0);
  return self->trainer != NULL ? hone_trainer_get_lr_scale (self->trainer) : 1.0;
}

/* ---- a past run's last validation ---------------------------------------- */

static double
json_double (JsonNode *n)
{
  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_DOUBLE || t == G_TYPE_INT64 ? json_node_get_double (n) : NAN;
}

static gint64
json_int (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n != NULL && JSON_NODE_TYPE (n) == JSON_NODE_VALUE
         && json_node_get_value_type (n) == G_TYPE_INT64 ? json_node_get_int (n) : -1;
}

static JsonArray *
json_array (JsonObject *o, const char *name, guint length)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return NULL;
  JsonArray *a = json_node_get_array (n);
  return length == G_MAXUINT || json_array_get_length (a) == length ? a : NULL;
}

/* The gallery's samples of a saved evaluation; FALSE when malformed.  The
 * files keep no thumbnails. */
static gboolean
samples_from_json (JsonObject *o, const char *name, int k, HoneEvalSample **out, int *n_out)
{
  JsonArray *a = json_array (o, name, G_MAXUINT);
  *out = NULL;
  *n_out = 0;
  if (a == NULL)
    return json_object_get_member (o, name) == NULL;   /* absent is fine */
  guint n = json_array_get_length (a);
  HoneEvalSample *samples = g_new0 (HoneEvalSample, MAX (n, 1));
  *out = samples;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return FALSE;
      JsonObject *so = json_node_get_object (node);
      HoneEvalSample *smp = &samples[(*n_out)++];
      JsonArray *probs = json_array (so, "probs", k);
      const char *sname = json_object_has_member (so, "name")
                          ? json_node_get_string (json_object_get_member (so, "name")) : NULL;
      smp->sample = (int) json_int (so, "sample");
      smp->name = g_strdup (sname);
      smp->label = (int) json_int (so, "label");
      smp->predicted = (int) json_int (so, "predicted");
      smp->loss = json_double (json_object_get_member (so, "loss"));
      if (probs == NULL || smp->sample < 0 || smp->label < 0 || smp->label >= k
          || smp->predicted < 0 || smp->predicted >= k)
        return FALSE;
      smp->probs = g_new (float, k);
      for (int c = 0; c < k; c++)
        smp->probs[c] = (float) json_double (json_array_get_element (probs, c));
    }
  return TRUE;
}

/* An evaluation as hone_evaluation_to_json writes it; NULL when malformed. */
static HoneEvaluation *
evaluation_from_json (JsonObject *o)
{
  JsonArray *classes = json_array (o, "classes", G_MAXUINT);
  int k = classes != NULL ? (int) json_array_get_length (classes) : 0;
  JsonArray *confusion = json_array (o, "confusion", k);
  JsonArray *per_class = json_array (o, "per_class", k);
  if (k < 1 || confusion == NULL || per_class == NULL)
    return NULL;

  g_autoptr (HoneEvaluation) ev = g_new0 (HoneEvaluation, 1);
  ev->n_classes = k;
  ev->class_names = g_new0 (char *, k + 1);
  ev->confusion = g_new0 (int64_t, (gsize) k * k);
  ev->support = g_new0 (int64_t, k);
  ev->precision = g_new0 (double, k);
  ev->recall = g_new0 (double, k);
  ev->f1 = g_new0 (double, k);
  for (int c = 0; c < k; c++)
    {
      const char *name = json_array_get_string_element (classes, c);
      ev->class_names[c] = g_strdup (name != NULL ? name : "?");
    }
  for (int r = 0; r < k; r++)
    {
      JsonNode *row = json_array_get_element (confusion, r);
      if (!JSON_NODE_HOLDS_ARRAY (row) || json_array_get_length (json_node_get_array (row)) != (guint) k)
        return NULL;
      for (int c = 0; c < k; c++)
        ev->confusion[(gsize) r * k + c] = MAX (0, json_array_get_int_element (json_node_get_array (row), c));
    }
  for (int c = 0; c < k; c++)
    {
      JsonNode *node = json_array_get_element (per_class, c);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      JsonObject *pc = json_node_get_object (node);
      ev->precision[c] = json_double (json_object_get_member (pc, "precision"));
      ev->recall[c] = json_double (json_object_get_member (pc, "recall"));
      ev->f1[c] = json_double (json_object_get_member (pc, "f1"));
      ev->support[c] = MAX (0, json_int (pc, "support"));
    }
  ev->n_samples = MAX (0, json_int (o, "samples"));
  ev->loss = json_double (json_object_get_member (o, "loss"));
  ev->accuracy = json_double (json_object_get_member (o, "accuracy"));
  ev->macro_f1 = json_double (json_object_get_member (o, "macro_f1"));
  if (!samples_from_json (o, "worst", k, &ev->worst, &ev->n_worst)
      || !samples_from_json (o, "misclassified", k, &ev->misclassified, &ev->n_misclassified))
    return NULL;
  return g_steal_pointer (&ev);
}

HoneEvaluation *
hone_session_read_run_evaluation (const char *run_dir)
{
  g_return_val_if_fail (run_dir != NULL, NULL);

  /* the last validation the log holds, a line cut short by a killed run aside */
  g_autofree char *metrics = g_build_filename (run_dir, "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (g_file_get_contents (metrics, &text, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (int i = (int) g_strv_length (lines) - 1; i >= 0; i--)
        {
          if (strstr (lines[i], "\"validation\"") == NULL
              || !json_parser_load_from_data (parser, lines[i], -1, NULL)
              || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
            continue;
          JsonObject *o = json_node_get_object (json_parser_get_root (parser));
          JsonNode *kind = json_object_get_member (o, "event");
          if (kind == NULL || g_strcmp0 (json_node_get_string (kind), "validation") != 0)
            continue;
          HoneEvaluation *ev = evaluation_from_json (o);
          if (ev != NULL)
            return ev;
        }
    }

  /* else the final evaluation of a run that finished */
  g_autofree char *report = g_build_filename (run_dir, "report.json", NULL);
  if (json_parser_load_from_file (parser, report, NULL) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return evaluation_from_json (json_node_get_object (json_parser_get_root (parser)));
  return NULL;
}

gboolean
hone_session_open_run (HoneSession *self, const char *run_dir, GError **error)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);
  g_return_val_if_fail (run_dir != NULL, FALSE);

  if (hone_session_is_active (self))
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           _("A run is under way: stop it before reopening another."));
      return FALSE;
    }
  g_autofree char *recipe_path = g_build_filename (run_dir, "recipe.hone", NULL);
  HoneRecipe *recipe = hone_recipe_load (recipe_path, error);
  if (recipe == NULL)
    return FALSE;

  self->run_serial++;
  reset_progress (self);
  set_run_dir (self, run_dir);
  set_state (self, HONE_SESSION_IDLE);
  hone_session_replace_recipe (self, recipe);
  g_clear_pointer (&self->evaluation, hone_evaluation_free);
  self->evaluation = hone_session_read_run_evaluation (run_dir);
  g_signal_emit (self, signals[SIGNAL_RUN_OPENED], 0, run_dir);
  return TRUE;
}

/* ---- export ------------------------------------------------------------ */

typedef struct
{
  HoneSession *self;   /* only compared on the main thread */
  char *src;
  char *dest;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->src);
  g_free (job->dest);
  g_free (job);
}

typedef struct
{
  HoneSession *self;
  double fraction;
} ExportProgress;

static gboolean
emit_export_progress (gpointer data)
{
  ExportProgress *p = data;
  g_signal_emit (p->self, signals[SIGNAL_EXPORT_PROGRESS], 0, p->fraction);
  return G_SOURCE_REMOVE;
}

static void
export_progress_free (gpointer data)
{
  ExportProgress *p = data;
  g_object_unref (p->self);
  g_free (p);
}

static void
report_export_progress (GTask *task, double fraction)
{
  ExportProgress *p = g_new (ExportProgress, 1);
  p->self = g_object_ref (g_task_get_source_object (task));
  p->fraction = fraction;
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT, emit_export_progress, p,
                              export_progress_free);
}


static void
export_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  GError *error = NULL;

  report_export_progress (task, 0);
  g_autoptr (HoneModel) model = hone_model_load (job->src, NULL, &error);
  if (model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  report_export_progress (task, 0.5);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!hone_model_save (model, job->dest, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  report_export_progress (task, 1);
  g_task_return_boolean (task, TRUE);
}

static void
export_done (HoneSession *self)
{
  self->exporting = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPORTING]);
}

void
hone_session_export_async (HoneSession *self, const char *path, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hone_session_export_async);

  const char *src = NULL;
  g_autofree char *final = NULL, *best = NULL;
  if (self->run_dir != NULL)
    {
      final = g_build_filename (self->run_dir, "final.safetensors", NULL);
      best = g_build_filename (self->run_dir, "best.safetensors", NULL);
      src = g_file_test (final, G_FILE_TEST_IS_REGULAR) ? final
          : g_file_test (best, G_FILE_TEST_IS_REGULAR) ? best : NULL;
    }
  if (src == NULL || hone_session_is_active (self))
    {
      g_task_return_new_error (task, HONE_ERROR, HONE_ERROR_INVALID, "%s",
                               hone_session_is_active (self)
                               ? _("The run is still under way: export the model when it has finished, or stop it first.")
                               : _("There is no fine-tuned model yet: press Train and export when the run has finished, or reopen a past run."));
      return;
    }
  if (self->exporting)
    {
      g_task_return_new_error (task, HONE_ERROR, HONE_ERROR_INVALID, "%s",
                               _("An export is already under way: wait for it to finish."));
      return;
    }

  ExportJob *job = g_new0 (ExportJob, 1);
  job->src = g_strdup (src);
  job->dest = g_strdup (path);
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  self->exporting = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPORTING]);
  g_task_run_in_thread (task, export_thread);
}

gboolean
hone_session_export_finish (HoneSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  if (g_task_get_task_data (G_TASK (result)) != NULL)
    export_done (self);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
hone_session_get_exporting (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);
  return self->exporting;
}

/* ---- recipe and project ------------------------------------------------ */

HoneRecipe *
hone_session_get_recipe (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), NULL);
  return self->recipe;
}

void
hone_session_recipe_changed (HoneSession *self)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  if (!hone_session_is_active (self))
    {
      self->n_epochs = self->recipe->epochs;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_EPOCHS]);
    }
  g_signal_emit (self, signals[SIGNAL_RECIPE_CHANGED], 0);
  reload_model_if_needed (self);
}

void
hone_session_replace_recipe (HoneSession *self, HoneRecipe *recipe)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  g_return_if_fail (recipe != NULL);

  hone_recipe_free (self->recipe);
  self->recipe = recipe;
  g_signal_emit (self, signals[SIGNAL_RECIPE_REPLACED], 0);
  hone_session_recipe_changed (self);
}

void
hone_session_select_model (HoneSession *self, const char *name_or_path)
{
  g_return_if_fail (HONE_IS_SESSION (self));
  g_return_if_fail (name_or_path != NULL);

  gboolean file = strchr (name_or_path, '/') != NULL || g_str_has_suffix (name_or_path, ".onnx")
                  || g_str_has_suffix (name_or_path, ".safetensors");
  g_autofree char *set = g_strdup_printf ("%s=%s", file || g_str_has_prefix (name_or_path, "zoo:")
                                                    ? "model.source" : "model.arch", name_or_path);
  g_autoptr (GError) error = NULL;
  g_autofree char *old_weights = g_strdup (self->recipe->weights);

  if (!hone_recipe_set (self->recipe, set, &error))
    {
      g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("The model could not be chosen"), error->message);
      return;
    }
  /* weights belong to the model they were made for */
  if (old_weights != NULL)
    hone_recipe_set (self->recipe, "model.weights=", NULL);
  g_signal_emit (self, signals[SIGNAL_RECIPE_REPLACED], 0);
  hone_session_recipe_changed (self);
}

HoneModel *
hone_session_get_model (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), NULL);
  return self->model;
}

gboolean
hone_session_get_loading (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);
  return self->loading_key != NULL;
}

int
hone_session_get_data_samples (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), 0);
  return self->data_samples;
}

int
hone_session_get_data_classes (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), 0);
  return self->data_classes;
}

gboolean
hone_session_save_project (HoneSession *self, const char *path, GError **error)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!hone_recipe_save (self->recipe, path, error))
    return FALSE;
  g_free (self->project_path);
  self->project_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT_PATH]);
  return TRUE;
}

gboolean
hone_session_open_project (HoneSession *self, const char *path, GError **error)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  HoneRecipe *recipe = hone_recipe_load (path, error);
  if (recipe == NULL)
    return FALSE;
  g_free (self->project_path);
  self->project_path = g_strdup (path);
  hone_session_replace_recipe (self, recipe);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT_PATH]);
  return TRUE;
}

const char *
hone_session_get_project_path (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), NULL);
  return self->project_path;
}

/* ---- getters ----------------------------------------------------------- */

HoneSessionState
hone_session_get_state (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), HONE_SESSION_IDLE);
  return self->state;
}

gboolean
hone_session_is_active (HoneSession *self)
{
  g_return_val_if_fail (HONE_IS_SESSION (self), FALSE);
  return self->state == HONE_SESSION_PREPARING || self->state == HONE_SESSION_RUNNING
         || self->state == HONE_SESSION_PAUSED || self->state == HONE_SESSION_STOPPING;
}

double hone_session_get_progress (HoneSession *self) { return self->progress; }
double hone_session_get_images_per_second (HoneSession *self) { return self->images_per_s; }
double hone_session_get_eta (HoneSession *self) { return self->eta; }
int hone_session_get_epoch (HoneSession *self) { return self->epoch; }
int hone_session_get_n_epochs (HoneSession *self) { return self->n_epochs; }
const char *hone_session_get_run_dir (HoneSession *self) { return self->run_dir; }
const HoneEvaluation *hone_session_get_evaluation (HoneSession *self) { return self->evaluation; }
double hone_session_get_max_drain_seconds (HoneSession *self) { return self->max_drain_s; }
guint hone_session_get_events_emitted (HoneSession *self) { return self->events_emitted; }

int64_t
hone_session_get_params (HoneSession *self)
{
  if (self->run_params > 0)
    return self->run_params;
  return self->model != NULL ? hone_graph_n_params (self->model->graph) : 0;
}

int64_t
hone_session_get_trainable_params (HoneSession *self)
{
  if (self->run_params > 0)
    return self->run_trainable;
  return self->model != NULL ? hone_graph_n_trainable_params (self->model->graph) : 0;
}

/* ---- GObject ----------------------------------------------------------- */

static void
hone_session_dispose (GObject *object)
{
  HoneSession *self = HONE_SESSION (object);

  g_clear_handle_id (&self->drain_id, g_source_remove);
  /* stops the run and waits for its threads (within one batch) */
  if (self->trainer != NULL)
    hone_trainer_stop (self->trainer);
  stop_pump (self);
  clear_events (self);
  g_clear_pointer (&self->trainer, hone_trainer_free);
  self->run_serial++;
  self->model_serial++;

  G_OBJECT_CLASS (hone_session_parent_class)->dispose (object);
}

static void
hone_session_finalize (GObject *object)
{
  HoneSession *self = HONE_SESSION (object);

  hone_recipe_free (self->recipe);
  g_free (self->project_path);
  hone_model_free (self->model);
  g_free (self->model_key);
  g_free (self->loading_key);
  g_free (self->run_dir);
  hone_evaluation_free (self->evaluation);
  g_async_queue_unref (self->events);

  G_OBJECT_CLASS (hone_session_parent_class)->finalize (object);
}

static void
hone_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HoneSession *self = HONE_SESSION (object);

  switch (prop_id)
    {
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_PROGRESS: g_value_set_double (value, self->progress); break;
    case PROP_IMAGES_PER_SECOND: g_value_set_double (value, self->images_per_s); break;
    case PROP_ETA: g_value_set_double (value, self->eta); break;
    case PROP_EPOCH: g_value_set_int (value, self->epoch); break;
    case PROP_N_EPOCHS: g_value_set_int (value, self->n_epochs); break;
    case PROP_MODEL: g_value_set_pointer (value, self->model); break;
    case PROP_LOADING: g_value_set_boolean (value, hone_session_get_loading (self)); break;
    case PROP_EXPORTING: g_value_set_boolean (value, self->exporting); break;
    case PROP_RUN_DIR: g_value_set_string (value, self->run_dir); break;
    case PROP_PROJECT_PATH: g_value_set_string (value, self->project_path); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_session_class_init (HoneSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = hone_session_dispose;
  object_class->finalize = hone_session_finalize;
  object_class->get_property = hone_session_get_property;

  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, HONE_TYPE_SESSION_STATE,
                                              HONE_SESSION_IDLE, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_IMAGES_PER_SECOND] = g_param_spec_double ("images-per-second", NULL, NULL,
                                                            0, G_MAXDOUBLE, 0, ro);
  properties[PROP_ETA] = g_param_spec_double ("eta", NULL, NULL, -1, G_MAXDOUBLE, -1, ro);
  properties[PROP_EPOCH] = g_param_spec_int ("epoch", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_EPOCHS] = g_param_spec_int ("n-epochs", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_MODEL] = g_param_spec_pointer ("model", NULL, NULL, ro);
  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, ro);
  properties[PROP_EXPORTING] = g_param_spec_boolean ("exporting", NULL, NULL, FALSE, ro);
  properties[PROP_RUN_DIR] = g_param_spec_string ("run-dir", NULL, NULL, NULL, ro);
  properties[PROP_PROJECT_PATH] = g_param_spec_string ("project-path", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (const HoneEvent *): every event but bursts of STEP, folded into the newest */
  signals[SIGNAL_EVENT] = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_RUN_STARTED] = g_signal_new ("run-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                              0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_RUN_OPENED] = g_signal_new ("run-opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                             0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_RECIPE_CHANGED] = g_signal_new ("recipe-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_RECIPE_REPLACED] = g_signal_new ("recipe-replaced", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* (message): something was skipped; training goes on */
  signals[SIGNAL_WARNING] = g_signal_new ("warning", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* (title, message naming the file or setting and what to do) */
  signals[SIGNAL_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_DIVERGED] = g_signal_new ("diverged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_EXPORT_PROGRESS] = g_signal_new ("export-progress", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 1, G_TYPE_DOUBLE);
}

static void
hone_session_init (HoneSession *self)
{
  self->recipe = hone_recipe_new ();
  self->events = g_async_queue_new ();
  self->n_epochs = self->recipe->epochs;
  self->eta = -1;
}

HoneSession *
hone_session_new (void)
{
  HoneSession *self = g_object_new (HONE_TYPE_SESSION, NULL);

  reload_model_if_needed (self);
  return self;
}
