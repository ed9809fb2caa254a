/* hone-window.c: Hone's main window (see hone-window.h). */
#include "hone-config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hone-application.h"
#include "hone-format.h"
#include "hone-model-page.h"
#include "hone-runs-window.h"
#include "hone-window.h"
#include "hone-data-page.h"
#include "hone-layers-page.h"
#include "hone-training-page.h"
#include "hone-run-page.h"
#include "hone-analyze-page.h"

struct _HoneWindow
{
  AdwApplicationWindow parent_instance;

  HoneSession *session;

  /* template */
  AdwToastOverlay *toast_overlay;
  AdwViewStack *stack;
  AdwViewSwitcherTitle *switcher_title;
  GtkButton *train_button;
  AdwButtonContent *train_button_content;
  GtkButton *stop_button;
  GtkLabel *model_label;
  GtkLabel *data_label;
  GtkLabel *epoch_label;
  GtkProgressBar *progress_bar;
  GtkLabel *speed_label;
  GtkLabel *eta_label;

  /* pages */
  GtkWidget *model_page;
  GtkWidget *data_page;
  GtkWidget *layers_page;
  GtkWidget *training_page;
  GtkWidget *run_page;
  GtkWidget *diverged_dialog;   /* while shown (a weak pointer) */
  GtkWidget *analyze_page;

  AdwToast *warning_toast;
  guint n_warnings;
  char *export_name;
  double export_fraction;
};

G_DEFINE_FINAL_TYPE (HoneWindow, hone_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- messages ---------------------------------------------------------- */

void
hone_window_toast (HoneWindow *self, const char *message)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
hone_window_show_error (HoneWindow *self, const char *title, const char *message)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), title, message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
warning_toast_dismissed (AdwToast *toast, HoneWindow *self)
{
  if (self->warning_toast == toast)
    {
      self->warning_toast = NULL;
      self->n_warnings = 0;
    }
}

static void
session_warning (HoneSession *session, const char *message, HoneWindow *self)
{
  /* Many skipped files make one toast that counts them, not a flood. */
  self->n_warnings++;
  g_autofree char *title = self->n_warnings == 1
    ? g_strdup (message)
    : g_strdup_printf (ngettext ("%u warning; the latest: %s", "%u warnings; the latest: %s",
                                 self->n_warnings), self->n_warnings, message);
  if (self->warning_toast != NULL)
    {
      adw_toast_set_title (self->warning_toast, title);
      return;
    }
  self->warning_toast = adw_toast_new (title);
  adw_toast_set_timeout (self->warning_toast, 8);
  g_signal_connect_object (self->warning_toast, "dismissed", G_CALLBACK (warning_toast_dismissed),
                           self, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, self->warning_toast);
}

static void
session_error (HoneSession *session, const char *title, const char *message, HoneWindow *self)
{
  hone_window_show_error (self, title, message);
}

static void
diverged_response (AdwMessageDialog *dialog, const char *response, HoneWindow *self)
{
  if (g_strcmp0 (response, "resume") == 0)
    hone_session_resume_lower_lr (self->session);
  else if (g_strcmp0 (response, "stop") == 0)
    hone_session_stop (self->session);
}

static void
session_diverged (HoneSession *session, const char *message, HoneWindow *self)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Training diverged"), message);
  AdwMessageDialog *md = ADW_MESSAGE_DIALOG (dialog);

  adw_message_dialog_add_responses (md, "stop", _("_Stop"), "resume", _("_Resume at Lower Rate"), NULL);
  adw_message_dialog_set_response_appearance (md, "stop", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (md, "resume", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (md, "resume");
  adw_message_dialog_set_close_response (md, "pause");
  g_signal_connect_object (md, "response", G_CALLBACK (diverged_response), self, 0);
  if (self->diverged_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->diverged_dialog));   /* a second divergence replaces it */
  self->diverged_dialog = dialog;
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->diverged_dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The Run page's divergence row: "Use 0.001" resumes as the dialog's
 * "Resume at Lower Rate" does, at the rate the button names. */
static void
run_page_use_suggested_lr (HoneRunPage *page, double lr, HoneWindow *self)
{
  hone_session_resume_at_lr (self->session, lr);
  /* the divergence dialog asked the same question: it is answered */
  if (hone_session_get_state (self->session) != HONE_SESSION_PAUSED && self->diverged_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->diverged_dialog));
}

/* ---- the status strip and the buttons ---------------------------------- */

static void
update_model_label (HoneWindow *self)
{
  HoneRecipe *r = hone_session_get_recipe (self->session);
  g_autofree char *name = hone_format_model_name (r->arch, r->source);
  int64_t params = hone_session_get_params (self->session);
  int64_t trainable_params = hone_session_get_trainable_params (self->session);
  /* between runs, what the Layers page's freezing will train */
  if (!hone_session_is_active (self->session) && hone_session_get_model (self->session) != NULL)
    {
      int64_t t = 0, total = 0;
      hone_layers_page_get_counts (HONE_LAYERS_PAGE (self->layers_page), &t, &total);
      if (total > 0)
        {
          params = total;
          trainable_params = t;
        }
    }

  if (hone_session_get_loading (self->session) && hone_session_get_model (self->session) == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("%s (loading…)"), name);
      gtk_label_set_text (self->model_label, text);
      return;
    }
  if (params <= 0)
    {
      gtk_label_set_text (self->model_label, name);
      return;
    }
  g_autofree char *total = hone_format_count ((double) params);
  g_autofree char *trainable = hone_format_count ((double) trainable_params);
  /* TRANSLATORS: the status strip: model, parameters, trainable parameters,
   * "resnet18 · 11.2 M params, 2.1 M trainable" */
  g_autofree char *text = g_strdup_printf (_("%s · %s params, %s trainable"), name, total, trainable);
  gtk_label_set_text (self->model_label, text);
}

static void
update_data_label (HoneWindow *self)
{
  HoneRecipe *r = hone_session_get_recipe (self->session);
  g_autofree char *data = hone_format_data_source (r->data_source);
  int samples = hone_session_get_data_samples (self->session);

  if (samples <= 0)
    {
      gtk_label_set_text (self->data_label, data);
      return;
    }
  g_autofree char *count = hone_format_count (samples);
  /* TRANSLATORS: the status strip: data, images, "Fashion-MNIST 5–9 · 30.0 k images" */
  g_autofree char *text = g_strdup_printf (_("%s · %s images"), data, count);
  gtk_label_set_text (self->data_label, text);
}

static void
update_progress (HoneWindow *self)
{
  HoneSessionState state = hone_session_get_state (self->session);
  int epoch = hone_session_get_epoch (self->session);
  int n_epochs = hone_session_get_n_epochs (self->session);

  if (hone_session_get_exporting (self->session))
    {
      g_autofree char *text = g_strdup_printf (_("Exporting %s…"), self->export_name ? self->export_name : "");
      gtk_label_set_text (self->epoch_label, text);
      gtk_progress_bar_set_fraction (self->progress_bar, self->export_fraction);
      gtk_label_set_text (self->speed_label, "");
      gtk_label_set_text (self->eta_label, "");
      return;
    }

  g_autofree char *epoch_text = NULL;
  switch (state)
    {
    case HONE_SESSION_PREPARING:
      epoch_text = g_strdup (_("Preparing the data and the model…"));
      break;
    case HONE_SESSION_STOPPING:
      epoch_text = g_strdup (_("Stopping…"));
      break;
    case HONE_SESSION_IDLE:
      /* TRANSLATORS: the status strip before a run, "5 epochs" */
      epoch_text = g_strdup_printf (ngettext ("%d epoch", "%d epochs", n_epochs), n_epochs);
      break;
    default:
      /* TRANSLATORS: the status strip, "epoch 3/10" */
      epoch_text = g_strdup_printf (_("epoch %d/%d"), MAX (epoch, 1), n_epochs);
      if (state == HONE_SESSION_PAUSED)
        {
          g_autofree char *paused = g_strdup_printf (_("%s, paused"), epoch_text);
          g_free (epoch_text);
          epoch_text = g_steal_pointer (&paused);
        }
      break;
    }
  gtk_label_set_text (self->epoch_label, epoch_text);
  gtk_progress_bar_set_fraction (self->progress_bar, hone_session_get_progress (self->session));

  double ips = hone_session_get_images_per_second (self->session);
  if (ips > 0 && state != HONE_SESSION_IDLE)
    {
      /* TRANSLATORS: training speed, "412 img/s" */
      g_autofree char *speed = g_strdup_printf (_("%.0f img/s"), ips);
      gtk_label_set_text (self->speed_label, speed);
    }
  else
    gtk_label_set_text (self->speed_label, "");

  double eta = hone_session_get_eta (self->session);
  if (state == HONE_SESSION_RUNNING && eta >= 0)
    {
      g_autofree char *left = hone_format_duration (eta);
      /* TRANSLATORS: time left in the run, "3 min 20 s left" */
      g_autofree char *text = g_strdup_printf (_("%s left"), left);
      gtk_label_set_text (self->eta_label, text);
    }
  else if (state == HONE_SESSION_FINISHED)
    gtk_label_set_text (self->eta_label, _("done"));
  else
    gtk_label_set_text (self->eta_label, "");
}

static void
update_buttons (HoneWindow *self)
{
  HoneSessionState state = hone_session_get_state (self->session);
  const char *action = "app.train";
  const char *label = _("Train");
  const char *icon = "media-playback-start-symbolic";
  const char *tooltip = _("Fine-tune the model on the data with these settings");
  gboolean sensitive = TRUE;

  switch (state)
    {
    case HONE_SESSION_PREPARING:
    case HONE_SESSION_RUNNING:
      action = "app.pause";
      label = _("Pause");
      icon = "media-playback-pause-symbolic";
      tooltip = _("Pause after this batch; Resume continues exactly where it stopped");
      break;
    case HONE_SESSION_PAUSED:
      action = "app.resume";
      label = _("Resume");
      tooltip = _("Continue training");
      break;
    case HONE_SESSION_STOPPING:
      action = NULL;
      label = _("Stopping…");
      sensitive = FALSE;
      break;
    default:
      break;
    }
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->train_button), action);
  gtk_widget_set_sensitive (GTK_WIDGET (self->train_button), sensitive);
  adw_button_content_set_label (self->train_button_content, label);
  adw_button_content_set_icon_name (self->train_button_content, icon);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->train_button), tooltip);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button),
                          state == HONE_SESSION_PREPARING || state == HONE_SESSION_RUNNING
                          || state == HONE_SESSION_PAUSED);

  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  if (HONE_IS_APPLICATION (app))
    hone_application_sync_actions (HONE_APPLICATION (app), self);
}

static void
session_state_changed (HoneWindow *self)
{
  update_buttons (self);
  update_progress (self);
  update_model_label (self);
}

/* ---- pages ------------------------------------------------------------- */

static void
add_page (HoneWindow *self, GtkWidget *page, const char *name, const char *title, const char *icon)
{
  AdwViewStackPage *p = adw_view_stack_add_titled (self->stack, page, name, title);
  adw_view_stack_page_set_icon_name (p, icon);
}

static void
page_changed (GtkWidget *page, HoneWindow *self)
{
  /* A page edited the recipe: the others re-read it, the session reloads
   * the model when model.* or data.source changed. */
  if (page != self->data_page)
    hone_data_page_sync (HONE_DATA_PAGE (self->data_page));
  if (page != self->layers_page)
    hone_layers_page_sync (HONE_LAYERS_PAGE (self->layers_page));
  if (page != self->training_page)
    hone_training_page_sync (HONE_TRAINING_PAGE (self->training_page));
  hone_session_recipe_changed (self->session);
}

static void
pages_set_recipe (HoneWindow *self)
{
  HoneRecipe *recipe = hone_session_get_recipe (self->session);
  hone_data_page_set_recipe (HONE_DATA_PAGE (self->data_page), recipe);
  hone_data_page_sync (HONE_DATA_PAGE (self->data_page));
  hone_layers_page_set_recipe (HONE_LAYERS_PAGE (self->layers_page), recipe);
  hone_layers_page_sync (HONE_LAYERS_PAGE (self->layers_page));
  hone_training_page_set_recipe (HONE_TRAINING_PAGE (self->training_page), recipe);
  hone_training_page_sync (HONE_TRAINING_PAGE (self->training_page));
}

static void
pages_set_model (HoneWindow *self)
{
  HoneModel *model = hone_session_get_model (self->session);
  hone_layers_page_set_model (HONE_LAYERS_PAGE (self->layers_page), model);
  hone_training_page_set_model (HONE_TRAINING_PAGE (self->training_page), model);
}

static void
pages_reset_run (HoneWindow *self)
{
  hone_run_page_reset (HONE_RUN_PAGE (self->run_page));
  hone_analyze_page_reset (HONE_ANALYZE_PAGE (self->analyze_page));
}

/* The one place that makes the six pages. */
static void
hone_window_create_pages (HoneWindow *self)
{
  self->model_page = GTK_WIDGET (hone_model_page_new ());
  hone_model_page_set_session (HONE_MODEL_PAGE (self->model_page), self->session);

  self->data_page = GTK_WIDGET (hone_data_page_new ());
  g_signal_connect (self->data_page, "changed", G_CALLBACK (page_changed), self);
  self->layers_page = GTK_WIDGET (hone_layers_page_new ());
  g_signal_connect (self->layers_page, "changed", G_CALLBACK (page_changed), self);
  self->training_page = GTK_WIDGET (hone_training_page_new ());
  g_signal_connect (self->training_page, "changed", G_CALLBACK (page_changed), self);
  self->run_page = GTK_WIDGET (hone_run_page_new ());
  self->analyze_page = GTK_WIDGET (hone_analyze_page_new ());

  /* TRANSLATORS: page names in the view switcher */
  add_page (self, self->model_page, "model", _("Model"), "applications-science-symbolic");
  add_page (self, self->data_page, "data", _("Data"), "emblem-photos-symbolic");
  add_page (self, self->layers_page, "layers", _("Layers"), "view-list-bullet-symbolic");
  add_page (self, self->training_page, "training", _("Training"), "preferences-system-symbolic");
  add_page (self, self->run_page, "run", _("Run"), "media-playback-start-symbolic");
  add_page (self, self->analyze_page, "analyze", _("Analyze"), "view-grid-symbolic");

  pages_set_recipe (self);
  pages_set_model (self);
}

void
hone_window_show_page (HoneWindow *self, const char *name)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  g_return_if_fail (name != NULL);

  if (adw_view_stack_get_child_by_name (self->stack, name) == NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("There is no page called “%s”: the pages are model, data, "
                                                "layers, training, run and analyze."), name);
      hone_window_toast (self, msg);
      return;
    }
  adw_view_stack_set_visible_child_name (self->stack, name);
}

const char *
hone_window_get_visible_page (HoneWindow *self)
{
  g_return_val_if_fail (HONE_IS_WINDOW (self), NULL);
  return adw_view_stack_get_visible_child_name (self->stack);
}

GtkWidget *
hone_window_get_page (HoneWindow *self, const char *name)
{
  g_return_val_if_fail (HONE_IS_WINDOW (self), NULL);
  return adw_view_stack_get_child_by_name (self->stack, name);
}

/* ---- session signals --------------------------------------------------- */

static void
session_event (HoneSession *session, const HoneEvent *ev, HoneWindow *self)
{
  hone_run_page_push_event (HONE_RUN_PAGE (self->run_page), ev);
  if (ev->kind == HONE_EVENT_VALIDATION && ev->validation != NULL)
    hone_analyze_page_set_evaluation (HONE_ANALYZE_PAGE (self->analyze_page), ev->validation);

  if (ev->kind == HONE_EVENT_STARTED || ev->kind == HONE_EVENT_EPOCH)
    update_model_label (self);

  if (ev->kind == HONE_EVENT_FINISHED)
    {
      const HoneEvaluation *eval = hone_session_get_evaluation (session);
      g_autofree char *msg = NULL;
      switch (ev->reason)
        {
        case HONE_FINISH_COMPLETED:
        case HONE_FINISH_EARLY_STOPPED:
          if (eval != NULL)
            {
              g_autofree char *acc = hone_format_percent (eval->accuracy);
              msg = g_strdup_printf (_("Training finished: %s validation accuracy"), acc);
            }
          else
            msg = g_strdup (_("Training finished"));
          break;
        case HONE_FINISH_STOPPED:
          msg = g_strdup (_("Training stopped; its checkpoint is kept in Past Runs"));
          break;
        case HONE_FINISH_DIVERGED:
          msg = g_strdup (_("Training stopped after it diverged; the last good checkpoint is kept"));
          break;
        case HONE_FINISH_FAILED:
        default:
          break;   /* the ERROR event already said why */
        }
      if (msg != NULL)
        hone_window_toast (self, msg);
    }
}

static void
session_run_started (HoneSession *session, HoneWindow *self)
{
  pages_reset_run (self);
}

static void
session_run_opened (HoneSession *session, const char *run_dir, HoneWindow *self)
{
  pages_reset_run (self);
  g_autofree char *metrics = g_build_filename (run_dir, "metrics.jsonl", NULL);
  g_autoptr (GError) error = NULL;
  if (!hone_run_page_load_metrics (HONE_RUN_PAGE (self->run_page), metrics, &error))
    hone_window_show_error (self, _("The run’s curves could not be read"), error->message);
  else
    hone_window_show_page (self, "run");
  /* its last validation, where the folder keeps one (else the empty state stays) */
  const HoneEvaluation *ev = hone_session_get_evaluation (session);
  if (ev != NULL)
    hone_analyze_page_set_saved_evaluation (HONE_ANALYZE_PAGE (self->analyze_page), ev);
}

static void
session_model_changed (HoneWindow *self)
{
  pages_set_model (self);
  /* the schedule's plot needs the run's length in steps */
  HoneRecipe *r = hone_session_get_recipe (self->session);
  int samples = hone_session_get_data_samples (self->session);
  if (samples > 0)
    hone_training_page_set_data_size (HONE_TRAINING_PAGE (self->training_page),
                                      (int) (samples * (1.0 - r->val_split - r->test_split)),
                                      hone_session_get_data_classes (self->session));
  update_model_label (self);
  update_data_label (self);
}

static void
session_recipe_replaced (HoneWindow *self)
{
  pages_set_recipe (self);
  update_model_label (self);
  update_data_label (self);
}

static void
session_recipe_changed (HoneWindow *self)
{
  update_model_label (self);
  update_data_label (self);
  update_progress (self);
}

static void
session_export_progress (HoneSession *session, double fraction, HoneWindow *self)
{
  self->export_fraction = fraction;
  update_progress (self);
}

/* ---- commands ---------------------------------------------------------- */

void
hone_window_train (HoneWindow *self)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (HONE_IS_WINDOW (self));
  if (!hone_session_train (self->session, &error))
    hone_window_show_error (self, _("Training could not start"), error->message);
}

void
hone_window_pause (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  hone_session_pause (self->session);
}

void
hone_window_resume (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  hone_session_resume (self->session);
}

void
hone_window_stop (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  hone_session_stop (self->session);
}

typedef void (*ChooserDone) (HoneWindow *self, const char *path);

static void
chooser_response (GtkNativeDialog *native, int response, gpointer user_data)
{
  HoneWindow *self = HONE_WINDOW (g_object_get_data (G_OBJECT (native), "hone-window"));
  ChooserDone done = (ChooserDone) user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        done (self, path);
      else
        hone_window_show_error (self, _("That file cannot be used"),
                                _("Hone works with files on this computer; copy the file into a local folder and choose it there."));
    }
  gtk_native_dialog_destroy (native);
  g_object_unref (native);
}

static void
run_chooser (HoneWindow *self, const char *title, GtkFileChooserAction action, const char *accept,
             const char *suggested_name, GtkFileFilter **filters, ChooserDone done)
{
  GtkFileChooserNative *native = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, accept, NULL);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  for (int i = 0; filters != NULL && filters[i] != NULL; i++)
    {
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filters[i]);
      g_object_unref (filters[i]);
    }
  if (suggested_name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), suggested_name);
  g_object_set_data_full (G_OBJECT (native), "hone-window", g_object_ref (self), g_object_unref);
  g_signal_connect (native, "response", G_CALLBACK (chooser_response), (gpointer) done);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static GtkFileFilter *
make_filter (const char *name, const char *pattern, ...)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  va_list ap;

  gtk_file_filter_set_name (filter, name);
  va_start (ap, pattern);
  for (const char *p = pattern; p != NULL; p = va_arg (ap, const char *))
    gtk_file_filter_add_pattern (filter, p);
  va_end (ap);
  return filter;
}

static void
model_chosen (HoneWindow *self, const char *path)
{
  hone_session_select_model (self->session, path);
  hone_window_show_page (self, "model");
}

void
hone_window_open_model (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  GtkFileFilter *filters[] = {
    make_filter (_("Models (ONNX, safetensors)"), "*.onnx", "*.safetensors", NULL),
    NULL
  };
  run_chooser (self, _("Open Model File"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL, filters,
               model_chosen);
}

void
hone_window_open_data (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  hone_window_show_page (self, "data");
  hone_data_page_open_source (HONE_DATA_PAGE (self->data_page));
}

gboolean
hone_window_open_project_file (HoneWindow *self, const char *path)
{
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (HONE_IS_WINDOW (self), FALSE);
  if (hone_session_is_active (self->session))
    {
      hone_window_show_error (self, _("The project could not be opened"),
                              _("A run is under way: stop it before opening another project."));
      return FALSE;
    }
  if (!hone_session_open_project (self->session, path, &error))
    {
      g_autofree char *body = g_strdup_printf (_("%s\n\nYour current settings are unchanged."), error->message);
      hone_window_show_error (self, _("The project could not be opened"), body);
      return FALSE;
    }
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = HONE_IS_APPLICATION (app) ? hone_application_get_settings (HONE_APPLICATION (app)) : NULL;
  if (settings != NULL)
    g_settings_set_string (settings, "last-project", path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *msg = g_strdup_printf (_("Opened %s"), base);
  hone_window_toast (self, msg);
  return TRUE;
}

static void
project_chosen (HoneWindow *self, const char *path)
{
  hone_window_open_project_file (self, path);
}

void
hone_window_open_project (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  GtkFileFilter *filters[] = { make_filter (_("Hone projects"), "*.hone", NULL), NULL };
  run_chooser (self, _("Open Project"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL, filters,
               project_chosen);
}

gboolean
hone_window_save_project_file (HoneWindow *self, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *with_ext = g_str_has_suffix (path, ".hone") ? g_strdup (path)
                                                               : g_strconcat (path, ".hone", NULL);

  g_return_val_if_fail (HONE_IS_WINDOW (self), FALSE);
  if (!hone_session_save_project (self->session, with_ext, &error))
    {
      hone_window_show_error (self, _("The project could not be saved"), error->message);
      return FALSE;
    }
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = HONE_IS_APPLICATION (app) ? hone_application_get_settings (HONE_APPLICATION (app)) : NULL;
  if (settings != NULL)
    g_settings_set_string (settings, "last-project", with_ext);
  g_autofree char *base = g_path_get_basename (with_ext);
  g_autofree char *msg = g_strdup_printf (_("Saved %s"), base);
  hone_window_toast (self, msg);
  return TRUE;
}

static void
save_chosen (HoneWindow *self, const char *path)
{
  hone_window_save_project_file (self, path);
}

void
hone_window_save_project (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  const char *current = hone_session_get_project_path (self->session);
  g_autofree char *name = current ? g_path_get_basename (current) : g_strdup (_("project.hone"));
  GtkFileFilter *filters[] = { make_filter (_("Hone projects"), "*.hone", NULL), NULL };
  run_chooser (self, _("Save Project"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), name, filters,
               save_chosen);
}

static void
export_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (HoneWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!hone_session_export_finish (HONE_SESSION (object), result, &error))
    hone_window_show_error (self, _("The model could not be exported"), error->message);
  else
    {
      g_autofree char *msg = g_strdup_printf (_("Exported %s"), self->export_name);
      hone_window_toast (self, msg);
    }
  update_progress (self);
}

void
hone_window_export_file (HoneWindow *self, const char *path)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  g_free (self->export_name);
  self->export_name = g_path_get_basename (path);
  self->export_fraction = 0;
  hone_session_export_async (self->session, path, NULL, export_done, g_object_ref (self));
  update_progress (self);
}

static void
export_chosen (HoneWindow *self, const char *path)
{
  hone_window_export_file (self, path);
}

void
hone_window_export (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  if (hone_session_get_run_dir (self->session) == NULL || hone_session_is_active (self->session))
    {
      /* the same message the session gives, without a chooser first */
      hone_session_export_async (self->session, "model.onnx", NULL, export_done, g_object_ref (self));
      return;
    }
  HoneRecipe *r = hone_session_get_recipe (self->session);
  g_autofree char *model = hone_format_model_name (r->arch, r->source);
  g_autofree char *name = g_strdup_printf ("%s-finetuned.onnx", model);
  GtkFileFilter *filters[] = {
    make_filter (_("ONNX model"), "*.onnx", NULL),
    make_filter (_("safetensors weights"), "*.safetensors", NULL),
    NULL
  };
  run_chooser (self, _("Export Model"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), name, filters,
               export_chosen);
}

gboolean
hone_window_open_run (HoneWindow *self, const char *run_dir)
{
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (HONE_IS_WINDOW (self), FALSE);
  if (!hone_session_open_run (self->session, run_dir, &error))
    {
      hone_window_show_error (self, _("The run could not be opened"), error->message);
      return FALSE;
    }
  return TRUE;
}

void
hone_window_show_runs (HoneWindow *self)
{
  g_return_if_fail (HONE_IS_WINDOW (self));
  HoneRunsWindow *runs = hone_runs_window_new (self);
  gtk_window_present (GTK_WINDOW (runs));
}

/* ---- GObject ----------------------------------------------------------- */

HoneSession *
hone_window_get_session (HoneWindow *self)
{
  g_return_val_if_fail (HONE_IS_WINDOW (self), NULL);
  return self->session;
}

static gboolean
hone_window_close_request (GtkWindow *window)
{
  HoneWindow *self = HONE_WINDOW (window);
  GtkApplication *app = gtk_window_get_application (window);
  GSettings *settings = HONE_IS_APPLICATION (app) ? hone_application_get_settings (HONE_APPLICATION (app)) : NULL;

  if (settings != NULL)
    {
      int width, height;
      gtk_window_get_default_size (window, &width, &height);
      g_settings_set (settings, "window-size", "(ii)", width, height);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
    }
  (void) self;
  return GTK_WINDOW_CLASS (hone_window_parent_class)->close_request (window);
}

static void
hone_window_dispose (GObject *object)
{
  HoneWindow *self = HONE_WINDOW (object);

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->diverged_dialog != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->diverged_dialog), (gpointer *) &self->diverged_dialog);
      gtk_window_destroy (GTK_WINDOW (self->diverged_dialog));
      self->diverged_dialog = NULL;
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), HONE_TYPE_WINDOW);
  G_OBJECT_CLASS (hone_window_parent_class)->dispose (object);
}

static void
hone_window_finalize (GObject *object)
{
  HoneWindow *self = HONE_WINDOW (object);

  g_clear_object (&self->session);
  g_free (self->export_name);
  G_OBJECT_CLASS (hone_window_parent_class)->finalize (object);
}

static void
hone_window_class_init (HoneWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = hone_window_dispose;
  object_class->finalize = hone_window_finalize;
  window_class->close_request = hone_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, train_button);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, train_button_content);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, stop_button);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, model_label);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, data_label);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, epoch_label);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, speed_label);
  gtk_widget_class_bind_template_child (widget_class, HoneWindow, eta_label);
}

static void
hone_window_init (HoneWindow *self)
{
  g_type_ensure (HONE_TYPE_MODEL_PAGE);
  gtk_widget_init_template (GTK_WIDGET (self));

  self->session = hone_session_new ();
  hone_window_create_pages (self);

  g_signal_connect (self->session, "event", G_CALLBACK (session_event), self);
  g_signal_connect (self->session, "warning", G_CALLBACK (session_warning), self);
  g_signal_connect (self->session, "error", G_CALLBACK (session_error), self);
  g_signal_connect (self->session, "diverged", G_CALLBACK (session_diverged), self);
  g_signal_connect (self->run_page, "use-suggested-lr", G_CALLBACK (run_page_use_suggested_lr), self);
  g_signal_connect (self->session, "run-started", G_CALLBACK (session_run_started), self);
  g_signal_connect (self->session, "run-opened", G_CALLBACK (session_run_opened), self);
  g_signal_connect (self->session, "export-progress", G_CALLBACK (session_export_progress), self);
  g_signal_connect_swapped (self->session, "recipe-replaced", G_CALLBACK (session_recipe_replaced), self);
  g_signal_connect_swapped (self->session, "recipe-changed", G_CALLBACK (session_recipe_changed), self);
  g_signal_connect_swapped (self->session, "notify::model", G_CALLBACK (session_model_changed), self);
  g_signal_connect_swapped (self->session, "notify::loading", G_CALLBACK (update_model_label), self);
  g_signal_connect_swapped (self->session, "notify::state", G_CALLBACK (session_state_changed), self);
  g_signal_connect_swapped (self->session, "notify::progress", G_CALLBACK (update_progress), self);
  g_signal_connect_swapped (self->session, "notify::epoch", G_CALLBACK (update_progress), self);
  g_signal_connect_swapped (self->session, "notify::n-epochs", G_CALLBACK (update_progress), self);
  g_signal_connect_swapped (self->session, "notify::exporting", G_CALLBACK (update_progress), self);

  update_model_label (self);
  update_data_label (self);
  update_progress (self);
  update_buttons (self);
}

HoneWindow *
hone_window_new (AdwApplication *application)
{
  HoneWindow *self = g_object_new (HONE_TYPE_WINDOW, "application", application, NULL);
  GSettings *settings = HONE_IS_APPLICATION (application)
                        ? hone_application_get_settings (HONE_APPLICATION (application)) : NULL;

  if (settings != NULL)
    {
      int width, height;
      g_settings_get (settings, "window-size", "(ii)", &width, &height);
      gtk_window_set_default_size (GTK_WINDOW (self), width, height);
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
  update_buttons (self);
  return self;
}
