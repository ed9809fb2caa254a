/* hone-run-page.c: the Run page; see hone-run-page.h.
 *
 * x on every chart is the epoch, fractional for steps: a STEP of batch b of
 * n in epoch e is at (e - 1) + b / n, an EPOCH event at e, so per-step
 * training curves and per-epoch validation points share one axis. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "hone-run-page.h"

/* Message rows kept; older ones go first. */
#define MAX_MESSAGES 30
/* Weight of the previous value in the header's images/s average. */
#define SPEED_SMOOTHING 0.8

struct _HoneRunPage
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkLabel *status_label;
  GtkLabel *epoch_label;
  GtkProgressBar *progress;
  GtkLabel *speed_label;
  GtkLabel *elapsed_label;
  GtkLabel *left_label;
  GtkAdjustment *smoothing_adjustment;
  GtkToggleButton *log_toggle;
  GtkListBox *messages;
  HoneLineChart *loss_chart;
  HoneLineChart *accuracy_chart;
  HoneLineChart *lr_chart;
  HoneLineChart *speed_chart;

  HoneSeries *train_loss;
  HoneSeries *val_loss;
  HoneSeries *train_accuracy;
  HoneSeries *val_accuracy;
  HoneSeries *lr;
  HoneSeries *speed;

  guint n_messages;
  GtkWidget *divergence_row;
  double fraction;
  double speed_avg;
  gboolean replaying;         /* load_metrics: no buttons that act on a live run */
};

G_DEFINE_FINAL_TYPE (HoneRunPage, hone_run_page, ADW_TYPE_BIN)

enum { USE_SUGGESTED_LR, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- text --------------------------------------------------------------- */

/* "42 s", "3 min 12 s", "1 h 05 min" */
static char *
format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    seconds = 0;
  gint64 s = (gint64) llround (seconds);
  if (s < 60)
    /* Translators: a duration in seconds */
    return g_strdup_printf (_("%d s"), (int) s);
  if (s < 3600)
    /* Translators: a duration in minutes and seconds */
    return g_strdup_printf (_("%d min %02d s"), (int) (s / 60), (int) (s % 60));
  /* Translators: a duration in hours and minutes */
  return g_strdup_printf (_("%d h %02d min"), (int) (s / 3600), (int) (s % 3600 / 60));
}

static void
set_label_printf (GtkLabel *label, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
set_label_printf (GtkLabel *label, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  gtk_label_set_label (label, text);
}

/* ---- messages ----------------------------------------------------------- */

static void
on_dismiss_clicked (GtkButton *button, HoneRunPage *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);
  if (row == self->divergence_row)
    self->divergence_row = NULL;
  gtk_list_box_remove (self->messages, row);
  self->n_messages--;
  gtk_widget_set_visible (GTK_WIDGET (self->messages), self->n_messages > 0);
}

static void
on_use_lr_clicked (GtkButton *button, HoneRunPage *self)
{
  double lr = *(double *) g_object_get_data (G_OBJECT (button), "hone-lr");
  g_signal_emit (self, signals[USE_SUGGESTED_LR], 0, lr);
}

/* Adds a row: icon, title, subtitle; returns it. */
static GtkWidget *
add_message (HoneRunPage *self, const char *icon, const char *css, const char *title,
             const char *subtitle)
{
  if (self->n_messages >= MAX_MESSAGES)
    {
      GtkWidget *first = GTK_WIDGET (gtk_list_box_get_row_at_index (self->messages, 0));
      if (first == self->divergence_row)
        self->divergence_row = NULL;
      gtk_list_box_remove (self->messages, first);
      self->n_messages--;
    }
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  if (subtitle)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 3);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  GtkWidget *image = gtk_image_new_from_icon_name (icon);
  gtk_widget_add_css_class (image, css);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), image);

  GtkWidget *dismiss = gtk_button_new_from_icon_name ("window-close-symbolic");
  gtk_widget_set_valign (dismiss, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (dismiss, "flat");
  gtk_widget_set_tooltip_text (dismiss, _("Dismiss"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (dismiss), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Dismiss"), -1);
  g_signal_connect (dismiss, "clicked", G_CALLBACK (on_dismiss_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), dismiss);

  gtk_list_box_append (self->messages, row);
  self->n_messages++;
  gtk_widget_set_visible (GTK_WIDGET (self->messages), TRUE);
  return row;
}

static void
clear_messages (HoneRunPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->messages))))
    gtk_list_box_remove (self->messages, child);
  self->n_messages = 0;
  self->divergence_row = NULL;
  gtk_widget_set_visible (GTK_WIDGET (self->messages), FALSE);
}

static void
add_divergence (HoneRunPage *self, const HoneEvent *ev)
{
  char loss[32];
  if (isfinite (ev->loss))
    g_snprintf (loss, sizeof loss, "%.4g", ev->loss);
  else
    g_snprintf (loss, sizeof loss, "%s", isnan (ev->loss) ? "NaN" : ev->loss > 0 ? "∞" : "−∞");
  g_autofree char *subtitle = NULL;
  if (ev->suggested_lr > 0)
    /* Translators: after a divergence; the numbers are a loss and learning rates */
    subtitle = g_strdup_printf (_("The loss became %s at a learning rate of %.3g. Lower the rate to %.3g "
                                  "and resume, or stop the run; the last checkpoint is kept."),
                                loss, ev->lr, ev->suggested_lr);
  else
    subtitle = g_strdup_printf (_("The loss became %s at a learning rate of %.3g. Lower the rate and "
                                  "resume, or stop the run; the last checkpoint is kept."),
                                loss, ev->lr);
  if (self->divergence_row)
    {
      gtk_list_box_remove (self->messages, self->divergence_row);
      self->n_messages--;
    }
  GtkWidget *row = add_message (self, "dialog-warning-symbolic", "warning",
                                _("Training paused: the loss diverged"), subtitle);
  self->divergence_row = row;
  if (ev->suggested_lr > 0 && !self->replaying)
    {
      /* Translators: a button after a divergence; %.3g is a learning rate */
      g_autofree char *label = g_strdup_printf (_("Use %.3g"), ev->suggested_lr);
      GtkWidget *button = gtk_button_new_with_label (label);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "suggested-action");
      g_object_set_data_full (G_OBJECT (button), "hone-lr",
                              g_memdup2 (&ev->suggested_lr, sizeof (double)), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (on_use_lr_clicked), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
}

/* ---- events ------------------------------------------------------------- */

static void
set_progress (HoneRunPage *self, double fraction)
{
  char text[32];
  gtk_progress_bar_set_fraction (self->progress, fraction);
  g_snprintf (text, sizeof text, "%.0f %%", 100 * fraction);
  gtk_progress_bar_set_text (self->progress, text);
}

static void
show_progress (HoneRunPage *self, const HoneEvent *ev, int batch, int n_batches)
{
  int n_epochs = MAX (ev->n_epochs, 1);
  int epoch = CLAMP (ev->epoch, 0, n_epochs);
  double done = epoch > 0 ? epoch - 1 + (n_batches > 0 ? (double) batch / n_batches : 0) : 0;
  self->fraction = CLAMP (done / n_epochs, 0, 1);
  set_progress (self, self->fraction);
  set_label_printf (self->epoch_label, _("Epoch %d of %d"), MAX (epoch, 1), n_epochs);

  g_autofree char *elapsed = format_duration (ev->elapsed);
  /* Translators: time spent training so far */
  set_label_printf (self->elapsed_label, _("%s elapsed"), elapsed);
  if (self->fraction > 0.01 && ev->elapsed > 1)
    {
      g_autofree char *left = format_duration (ev->elapsed * (1 - self->fraction) / self->fraction);
      /* Translators: an estimate of the time the run still needs */
      set_label_printf (self->left_label, _("about %s left"), left);
    }
}

static void
show_start (HoneRunPage *self)
{
  gtk_stack_set_visible_child_name (self->stack, "run");
}

static const char *
finish_title (HoneFinishReason reason)
{
  switch (reason)
    {
    case HONE_FINISH_COMPLETED: return _("Finished");
    case HONE_FINISH_STOPPED: return _("Stopped");
    case HONE_FINISH_EARLY_STOPPED: return _("Stopped early");
    case HONE_FINISH_DIVERGED: return _("Stopped after diverging");
    case HONE_FINISH_FAILED: return _("Failed");
    default: return _("Finished");
    }
}

void
hone_run_page_push_event (HoneRunPage *self, const HoneEvent *ev)
{
  g_return_if_fail (HONE_IS_RUN_PAGE (self));
  g_return_if_fail (ev != NULL);

  switch (ev->kind)
    {
    case HONE_EVENT_STARTED:
      show_start (self);
      gtk_label_set_label (self->status_label,
                           ev->start.resumed ? _("Resumed") : C_("run status", "Training"));
      show_progress (self, ev, 0, ev->start.batches_per_epoch);
      break;

    case HONE_EVENT_STEP:
      {
        const HoneStepInfo *s = &ev->train;
        show_start (self);
        int n = MAX (s->n_batches, 1);
        double x = MAX (ev->epoch - 1, 0) + (double) s->batch / n;
        hone_series_append (self->train_loss, x, s->loss);
        hone_series_append (self->train_accuracy, x, s->accuracy);
        hone_series_append (self->lr, x, s->lr);
        if (s->images_per_s > 0 && isfinite (s->images_per_s))
          {
            hone_series_append (self->speed, x, s->images_per_s);
            self->speed_avg = self->speed_avg > 0
                                ? SPEED_SMOOTHING * self->speed_avg + (1 - SPEED_SMOOTHING) * s->images_per_s
                                : s->images_per_s;
            /* Translators: training throughput */
            set_label_printf (self->speed_label, _("%.0f images/s"), self->speed_avg);
          }
        show_progress (self, ev, s->batch, s->n_batches);
      }
      break;

    case HONE_EVENT_EPOCH:
      {
        const HoneEpochInfo *e = &ev->epoch_info;
        show_start (self);
        if (isfinite (e->val_loss))
          hone_series_append (self->val_loss, ev->epoch, e->val_loss);
        if (isfinite (e->val_accuracy))
          hone_series_append (self->val_accuracy, ev->epoch, e->val_accuracy);
        show_progress (self, ev, 1, 1);
      }
      break;

    case HONE_EVENT_WARNING:
      show_start (self);
      /* the path under the message, unless the message names it already */
      add_message (self, "dialog-warning-symbolic", "warning", ev->message ? ev->message : _("Warning"),
                   ev->path && !(ev->message && strstr (ev->message, ev->path)) ? ev->path : NULL);
      break;

    case HONE_EVENT_ERROR:
      show_start (self);
      add_message (self, "dialog-error-symbolic", "error", _("The run cannot go on"), ev->message);
      break;

    case HONE_EVENT_PAUSED:
      show_start (self);
      gtk_label_set_label (self->status_label, _("Paused"));
      if (ev->diverged)
        add_divergence (self, ev);
      break;

    case HONE_EVENT_RESUMED:
      gtk_label_set_label (self->status_label, C_("run status", "Training"));
      if (self->divergence_row)
        {
          gtk_list_box_remove (self->messages, self->divergence_row);
          self->divergence_row = NULL;
          self->n_messages--;
          gtk_widget_set_visible (GTK_WIDGET (self->messages), self->n_messages > 0);
        }
      break;

    case HONE_EVENT_FINISHED:
      show_start (self);
      gtk_label_set_label (self->status_label, finish_title (ev->reason));
      if (ev->reason == HONE_FINISH_COMPLETED)
        {
          self->fraction = 1;
          set_progress (self, 1);
        }
      gtk_label_set_label (self->left_label, "");
      {
        g_autofree char *elapsed = format_duration (ev->elapsed);
        /* Translators: the training time of a finished run */
        set_label_printf (self->elapsed_label, _("%s of training"), elapsed);
      }
      break;

    case HONE_EVENT_VALIDATION:
    case HONE_EVENT_CHECKPOINT:
    default:
      break;
    }
}

void
hone_run_page_reset (HoneRunPage *self)
{
  g_return_if_fail (HONE_IS_RUN_PAGE (self));
  hone_series_clear (self->train_loss);
  hone_series_clear (self->val_loss);
  hone_series_clear (self->train_accuracy);
  hone_series_clear (self->val_accuracy);
  hone_series_clear (self->lr);
  hone_series_clear (self->speed);
  hone_line_chart_reset_zoom (self->loss_chart);
  hone_line_chart_reset_zoom (self->accuracy_chart);
  hone_line_chart_reset_zoom (self->lr_chart);
  hone_line_chart_reset_zoom (self->speed_chart);
  clear_messages (self);
  self->fraction = 0;
  self->speed_avg = 0;
  set_progress (self, 0);
  gtk_label_set_label (self->status_label, _("Starting…"));
  gtk_label_set_label (self->epoch_label, "");
  gtk_label_set_label (self->speed_label, "");
  gtk_label_set_label (self->elapsed_label, "");
  gtk_label_set_label (self->left_label, "");
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

/* ---- metrics.jsonl ------------------------------------------------------ */

static double
member_double (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_DOUBLE || t == G_TYPE_INT64 || t == G_TYPE_BOOLEAN)
    return json_node_get_double (n);
  return NAN;
}

static gint64
member_int (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return 0;
  return json_node_get_int (n);
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || JSON_NODE_TYPE (n) != JSON_NODE_VALUE || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* Fills ev (strings borrowed from o) from a metrics.jsonl object; FALSE
 * for kinds this page does not know. */
static gboolean
event_from_json (JsonObject *o, HoneEvent *ev)
{
  const char *kind = member_string (o, "event");
  if (!kind)
    return FALSE;
  gboolean found = FALSE;
  for (int k = HONE_EVENT_STARTED; k <= HONE_EVENT_FINISHED && !found; k++)
    if (g_strcmp0 (hone_event_kind_name (k), kind) == 0)
      {
        ev->kind = k;
        found = TRUE;
      }
  if (!found)
    return FALSE;
  ev->epoch = member_int (o, "epoch");
  ev->n_epochs = member_int (o, "epochs");
  ev->step = member_int (o, "step");
  ev->elapsed = member_double (o, "elapsed");
  ev->message = (char *) member_string (o, "message");
  ev->path = (char *) member_string (o, "path");
  switch (ev->kind)
    {
    case HONE_EVENT_STARTED:
      ev->start.resumed = member_int (o, "resumed") != 0;
      ev->start.batches_per_epoch = member_int (o, "batches_per_epoch");
      break;
    case HONE_EVENT_STEP:
      ev->train.batch = member_int (o, "batch");
      ev->train.n_batches = member_int (o, "batches");
      ev->train.samples = member_int (o, "samples");
      ev->train.loss = member_double (o, "loss");
      ev->train.accuracy = member_double (o, "accuracy");
      ev->train.lr = member_double (o, "lr");
      ev->train.images_per_s = member_double (o, "images_per_s");
      break;
    case HONE_EVENT_EPOCH:
      ev->epoch_info.train_loss = member_double (o, "train_loss");
      ev->epoch_info.train_accuracy = member_double (o, "train_accuracy");
      ev->epoch_info.val_loss = member_double (o, "val_loss");
      ev->epoch_info.val_accuracy = member_double (o, "val_accuracy");
      ev->epoch_info.lr = member_double (o, "lr");
      break;
    case HONE_EVENT_PAUSED:
      ev->diverged = member_int (o, "diverged") != 0;
      ev->loss = member_double (o, "loss");
      ev->lr = member_double (o, "lr");
      ev->suggested_lr = member_double (o, "suggested_lr");
      break;
    case HONE_EVENT_FINISHED:
      {
        const char *reason = member_string (o, "reason");
        for (int r = HONE_FINISH_COMPLETED; r <= HONE_FINISH_FAILED; r++)
          if (g_strcmp0 (hone_finish_reason_name (r), reason) == 0)
            ev->reason = r;
      }
      break;
    default:
      break;
    }
  return TRUE;
}

gboolean
hone_run_page_load_metrics (HoneRunPage *self, const char *metrics_jsonl, GError **error)
{
  g_return_val_if_fail (HONE_IS_RUN_PAGE (self), FALSE);
  g_return_val_if_fail (metrics_jsonl != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  hone_run_page_reset (self);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (metrics_jsonl, &text, &len, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   _("Cannot read the run log %s: %s. Choose another run."), metrics_jsonl, local->message);
      return FALSE;
    }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n_lines = g_strv_length (lines);
  g_autoptr (JsonParser) parser = json_parser_new ();
  self->replaying = TRUE;
  gboolean ok = TRUE;
  for (guint i = 0; i < n_lines && ok; i++)
    {
      const char *line = lines[i];
      if (!*g_strstrip (lines[i]))
        continue;
      gboolean last = TRUE;
      for (guint j = i + 1; j < n_lines && last; j++)
        if (*g_strstrip (lines[j]))
          last = FALSE;
      g_clear_error (&local);
      if (!json_parser_load_from_data (parser, line, -1, &local)
          || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          if (last)
            break;  /* cut short by a run that was killed while writing */
          g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                       _("%s, line %u: not an event of a Hone run (%s). Is this a run's metrics.jsonl?"),
                       metrics_jsonl, i + 1, local ? local->message : _("not a JSON object"));
          ok = FALSE;
          break;
        }
      HoneEvent ev = { 0 };
      ev.epoch_info.val_loss = NAN;
      ev.epoch_info.val_accuracy = NAN;
      if (event_from_json (json_node_get_object (json_parser_get_root (parser)), &ev))
        hone_run_page_push_event (self, &ev);
    }
  self->replaying = FALSE;
  return ok;
}

/* ---- GObject ------------------------------------------------------------ */

static void
on_smoothing_changed (GtkAdjustment *adjustment, HoneRunPage *self)
{
  double v = gtk_adjustment_get_value (adjustment);
  hone_line_chart_set_smoothing (self->loss_chart, v);
  hone_line_chart_set_smoothing (self->accuracy_chart, v);
  hone_line_chart_set_smoothing (self->lr_chart, v);
  hone_line_chart_set_smoothing (self->speed_chart, v);
}

static void
on_log_toggled (GtkToggleButton *button, HoneRunPage *self)
{
  gboolean on = gtk_toggle_button_get_active (button);
  hone_line_chart_set_log_scale (self->loss_chart, on);
  hone_line_chart_set_log_scale (self->lr_chart, on);
}

static void
hone_run_page_dispose (GObject *object)
{
  HoneRunPage *self = HONE_RUN_PAGE (object);
  g_clear_object (&self->train_loss);
  g_clear_object (&self->val_loss);
  g_clear_object (&self->train_accuracy);
  g_clear_object (&self->val_accuracy);
  g_clear_object (&self->lr);
  g_clear_object (&self->speed);
  G_OBJECT_CLASS (hone_run_page_parent_class)->dispose (object);
}

static void
hone_run_page_class_init (HoneRunPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = hone_run_page_dispose;

  /* The divergence row's button: resume with this learning rate. */
  signals[USE_SUGGESTED_LR] = g_signal_new ("use-suggested-lr", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_DOUBLE);

  g_type_ensure (HONE_TYPE_LINE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-run-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, stack);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, epoch_label);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, progress);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, speed_label);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, elapsed_label);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, left_label);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, smoothing_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, log_toggle);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, messages);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, accuracy_chart);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, lr_chart);
  gtk_widget_class_bind_template_child (widget_class, HoneRunPage, speed_chart);
}

static HoneSeries *
series (const char *name, HoneSeriesRole role, gboolean per_epoch)
{
  HoneSeries *s = hone_series_new (name, role);
  hone_series_set_smoothable (s, !per_epoch);
  hone_series_set_markers (s, per_epoch);
  return s;
}

static void
hone_run_page_init (HoneRunPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->train_loss = series (C_("chart series", "Training"), HONE_SERIES_ROLE_TRAIN, FALSE);
  self->val_loss = series (C_("chart series", "Validation"), HONE_SERIES_ROLE_VALIDATION, TRUE);
  self->train_accuracy = series (C_("chart series", "Training"), HONE_SERIES_ROLE_TRAIN, FALSE);
  self->val_accuracy = series (C_("chart series", "Validation"), HONE_SERIES_ROLE_VALIDATION, TRUE);
  self->lr = series (_("Learning rate"), HONE_SERIES_ROLE_LEARNING_RATE, FALSE);
  hone_series_set_smoothable (self->lr, FALSE);
  self->speed = series (_("Images/s"), HONE_SERIES_ROLE_THROUGHPUT, FALSE);

  hone_line_chart_add_series (self->loss_chart, self->train_loss);
  hone_line_chart_add_series (self->loss_chart, self->val_loss);
  hone_line_chart_add_series (self->accuracy_chart, self->train_accuracy);
  hone_line_chart_add_series (self->accuracy_chart, self->val_accuracy);
  hone_line_chart_set_format (self->accuracy_chart, HONE_CHART_FORMAT_PERCENT);
  hone_line_chart_add_series (self->lr_chart, self->lr);
  hone_line_chart_add_series (self->speed_chart, self->speed);
  /* Translators: the unit of training speed, in chart read-outs */
  hone_line_chart_set_y_unit (self->speed_chart, _("img/s"));

  HoneLineChart *charts[] = { self->loss_chart, self->accuracy_chart, self->lr_chart, self->speed_chart };
  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    hone_line_chart_set_empty_text (charts[i], _("Waiting for the first batch…"));

  g_signal_connect (self->smoothing_adjustment, "value-changed", G_CALLBACK (on_smoothing_changed), self);
  g_signal_connect (self->log_toggle, "toggled", G_CALLBACK (on_log_toggled), self);
  on_smoothing_changed (self->smoothing_adjustment, self);
  hone_run_page_reset (self);
}

HoneRunPage *
hone_run_page_new (void)
{
  return g_object_new (HONE_TYPE_RUN_PAGE, NULL);
}

HoneLineChart *
hone_run_page_get_chart (HoneRunPage *self, HoneRunChart which)
{
  g_return_val_if_fail (HONE_IS_RUN_PAGE (self), NULL);
  switch (which)
    {
    case HONE_RUN_CHART_LOSS: return self->loss_chart;
    case HONE_RUN_CHART_ACCURACY: return self->accuracy_chart;
    case HONE_RUN_CHART_LEARNING_RATE: return self->lr_chart;
    case HONE_RUN_CHART_SPEED: return self->speed_chart;
    default: g_return_val_if_reached (NULL);
    }
}

guint
hone_run_page_get_n_messages (HoneRunPage *self)
{
  g_return_val_if_fail (HONE_IS_RUN_PAGE (self), 0);
  return self->n_messages;
}

double
hone_run_page_get_progress (HoneRunPage *self)
{
  g_return_val_if_fail (HONE_IS_RUN_PAGE (self), 0);
  return self->fraction;
}
