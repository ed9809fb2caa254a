/* hone-data-page.c: the Data page.
 *
 * A scan opens data.source on a worker thread (GTask): the index, the
 * class counts, the issues, up to SAMPLES_PER_CLASS thumbnails per class
 * and one picture for the augmentation preview, decoded to bytes there;
 * textures are made back on the main thread.  Each scan has a generation
 * and a GCancellable: starting another cancels the last and its result,
 * should it still arrive, is dropped.
 *
 * The preview draws eight augmentations of one picture with the engine's
 * own hone_augment_draw and hone_augment_apply (what the loader does to a
 * training image), again whenever the augment.* settings change.
 *
 * This file does not train or load batches. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "data/hone-augment.h"
#include "hone-bar-chart.h"
#include "hone-data-page.h"
#include "data/hone-dataset.h"
#include "hone-rng.h"
#include "hone-sample-item.h"
#include "hone-trainer.h"

#define SAMPLES_PER_CLASS 8
#define MAX_GRID_CLASSES  32
#define THUMB_SIZE        64
#define PREVIEW_MAX       128
#define N_PREVIEW         8
#define MAX_ISSUE_ROWS    200
#define IMBALANCE_WARN    3.0

struct _HoneDataPage
{
  AdwBin parent_instance;

  AdwActionRow *source_row;
  GtkWidget *subset_row;
  GtkDropDown *subset_drop;
  GtkSpinButton *val_spin;
  GtkSpinButton *limit_spin;
  GtkSwitch *balanced_switch;
  GtkWidget *status_box;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkInfoBar *imbalance_bar;
  GtkLabel *imbalance_label;
  GtkWidget *weighted_button;
  GtkWidget *balance_button;
  GtkLabel *summary_label;
  HoneBarChart *chart;
  GtkGridView *grid;
  GtkWidget *samples_window;
  GtkWidget *preview_box;
  GtkLabel *preview_label;
  GtkPicture *original_picture;
  GtkGrid *preview_grid;
  GtkWidget *issues_group;
  AdwExpanderRow *issues_row;

  GtkPicture *previews[N_PREVIEW];
  GtkWidget *issue_rows[MAX_ISSUE_ROWS];
  int n_issue_rows;

  HoneRecipe *recipe;           /* borrowed */
  gboolean updating;

  /* the scan */
  guint generation;
  GCancellable *cancellable;
  char *scanned_source;         /* what the results below are of, or NULL */
  gboolean loading;
  int n_samples;
  int n_classes;
  int64_t *counts;
  char **class_names;
  GPtrArray *issues;            /* HoneDataIssue * */
  GListStore *samples;          /* HoneSampleItem */
  int train_samples;
  gboolean imbalanced;

  /* the preview */
  float *preview_image;         /* (C, H, W) in [0, 1], or NULL */
  int preview_c, preview_h, preview_w;
  HoneAugment shown_augment;
  gboolean shown_enabled;
  guint64 roll;
  GdkTexture *preview_textures[N_PREVIEW + 1];

  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (HoneDataPage, hone_data_page, ADW_TYPE_BIN)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

enum { PROP_0, PROP_TRAIN_SAMPLES, PROP_CLASSES, PROP_LOADING, N_PROPS };
static GParamSpec *properties[N_PROPS];

static const char *const subset_sources[] = { "fmnist", "fmnist:0-4", "fmnist:5-9" };

static void start_scan (HoneDataPage *self);
static void update_preview (HoneDataPage *self, gboolean reroll);
static void update_derived (HoneDataPage *self);

/* ---- images to textures -------------------------------------------------- */

/* (C, H, W) floats in [0, 1] to RGBA bytes. */
static GBytes *
image_bytes (const float *img, int c, int h, int w)
{
  guint8 *px = g_malloc ((gsize) h * w * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint8 *p = px + ((gsize) y * w + x) * 4;
        for (int k = 0; k < 3; k++)
          {
            float v = img[(gsize) (c == 3 ? k : 0) * h * w + (gsize) y * w + x];
            p[k] = (guint8) lrintf (CLAMP (v, 0.0f, 1.0f) * 255.0f);
          }
        p[3] = 255;
      }
  return g_bytes_new_take (px, (gsize) h * w * 4);
}

static GdkTexture *
texture_from_bytes (GBytes *bytes, int h, int w)
{
  return gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes, (gsize) w * 4);
}

/* ---- the scan, on a worker thread ----------------------------------------- */

typedef struct
{
  char *source;
  guint generation;
  /* results */
  int n_samples, n_classes;
  int64_t *counts;
  char **class_names;
  GPtrArray *issues;
  int native_c, native_h, native_w;
  GPtrArray *thumbs;            /* GBytes * (THUMB_SIZE²·4) */
  GArray *thumb_labels;         /* int */
  GPtrArray *thumb_paths;       /* char * */
  float *preview;
  int preview_c, preview_h, preview_w;
} Scan;

static void
scan_free (Scan *scan)
{
  g_free (scan->source);
  g_free (scan->counts);
  g_strfreev (scan->class_names);
  if (scan->issues)
    g_ptr_array_unref (scan->issues);
  if (scan->thumbs)
    g_ptr_array_unref (scan->thumbs);
  if (scan->thumb_labels)
    g_array_unref (scan->thumb_labels);
  if (scan->thumb_paths)
    g_ptr_array_unref (scan->thumb_paths);
  g_free (scan->preview);
  g_free (scan);
}

static void
scan_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Scan *scan = task_data;
  GError *error = NULL;
  g_autoptr (HoneDataset) ds = hone_dataset_open (scan->source, &error);
  if (!ds)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  scan->n_samples = hone_dataset_n_samples (ds);
  scan->n_classes = hone_dataset_n_classes (ds);
  scan->counts = g_new0 (int64_t, MAX (scan->n_classes, 1));
  hone_dataset_class_counts (ds, NULL, 0, scan->counts);
  scan->class_names = g_new0 (char *, scan->n_classes + 1);
  for (int k = 0; k < scan->n_classes; k++)
    scan->class_names[k] = g_strdup (hone_dataset_class_name (ds, k));
  scan->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) hone_data_issue_free);
  GPtrArray *issues = hone_dataset_issues (ds);
  for (guint i = 0; issues && i < issues->len; i++)
    {
      const HoneDataIssue *issue = issues->pdata[i];
      g_ptr_array_add (scan->issues, hone_data_issue_new (issue->path, issue->message));
    }
  hone_dataset_native_size (ds, &scan->native_c, &scan->native_h, &scan->native_w);

  /* thumbnails: the first SAMPLES_PER_CLASS of each class, in class order */
  int n_grid = MIN (scan->n_classes, MAX_GRID_CLASSES);
  int c = scan->native_c == 3 ? 3 : scan->native_c == 1 ? 1 : 3;
  g_autofree int *picked = g_new0 (int, (gsize) MAX (n_grid, 1) * SAMPLES_PER_CLASS);
  g_autofree int *n_picked = g_new0 (int, MAX (n_grid, 1));
  for (int i = 0; i < scan->n_samples; i++)
    {
      int k = hone_dataset_label (ds, i);
      if (k >= 0 && k < n_grid && n_picked[k] < SAMPLES_PER_CLASS)
        picked[k * SAMPLES_PER_CLASS + n_picked[k]++] = i;
    }
  scan->thumbs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  scan->thumb_labels = g_array_new (FALSE, FALSE, sizeof (int));
  scan->thumb_paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree float *img = g_new (float, (gsize) c * THUMB_SIZE * THUMB_SIZE);
  for (int k = 0; k < n_grid; k++)
    for (int j = 0; j < n_picked[k]; j++)
      {
        if (g_task_return_error_if_cancelled (task))
          return;
        int i = picked[k * SAMPLES_PER_CLASS + j];
        if (!hone_dataset_load (ds, i, c, THUMB_SIZE, THUMB_SIZE, img, NULL))
          continue;   /* a bad file: its message comes from training's skip list */
        g_ptr_array_add (scan->thumbs, image_bytes (img, c, THUMB_SIZE, THUMB_SIZE));
        g_array_append_val (scan->thumb_labels, k);
        g_ptr_array_add (scan->thumb_paths, g_strdup (hone_dataset_sample_name (ds, i)));
      }

  /* the preview picture: the first image that decodes, at its own size up to PREVIEW_MAX */
  int ph = scan->native_h > 0 ? MIN (scan->native_h, PREVIEW_MAX) : 96;
  int pw = scan->native_w > 0 ? MIN (scan->native_w, PREVIEW_MAX) : 96;
  if (scan->native_h > PREVIEW_MAX || scan->native_w > PREVIEW_MAX)
    ph = pw = PREVIEW_MAX;
  for (int k = 0; k < n_grid && !scan->preview; k++)
    for (int j = 0; j < n_picked[k] && !scan->preview; j++)
      {
        float *p = g_new (float, (gsize) c * ph * pw);
        if (hone_dataset_load (ds, picked[k * SAMPLES_PER_CLASS + j], c, ph, pw, p, NULL))
          {
            scan->preview = p;
            scan->preview_c = c;
            scan->preview_h = ph;
            scan->preview_w = pw;
          }
        else
          g_free (p);
      }
  g_task_return_boolean (task, TRUE);
}

static void
set_loading (HoneDataPage *self, gboolean loading)
{
  if (self->loading == loading)
    return;
  self->loading = loading;
  gtk_spinner_set_spinning (self->spinner, loading);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), loading);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
clear_issue_rows (HoneDataPage *self)
{
  for (int i = 0; i < self->n_issue_rows; i++)
    adw_expander_row_remove (self->issues_row, self->issue_rows[i]);
  self->n_issue_rows = 0;
}

static void
show_issues (HoneDataPage *self)
{
  clear_issue_rows (self);
  guint n = self->issues ? self->issues->len : 0;
  gtk_widget_set_visible (self->issues_group, n > 0);
  if (n == 0)
    return;
  g_autofree char *title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file was skipped",
                                                         "%u files were skipped", n), n);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->issues_row), title);
  adw_expander_row_set_subtitle (self->issues_row,
                                 _("Training leaves them out; fix or remove them and open the data again"));
  for (guint i = 0; i < n && i < MAX_ISSUE_ROWS; i++)
    {
      const HoneDataIssue *issue = self->issues->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *path = g_markup_escape_text (issue->path, -1);
      g_autofree char *message = g_markup_escape_text (issue->message, -1);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), path);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), message);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
      adw_expander_row_add_row (self->issues_row, row);
      self->issue_rows[self->n_issue_rows++] = row;
    }
}

static void
scan_done (GObject *source, GAsyncResult *result, gpointer data)
{
  HoneDataPage *self = HONE_DATA_PAGE (source);
  GTask *task = G_TASK (result);
  Scan *scan = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (task, &error);

  /* a result for a source that was replaced meanwhile */
  if (scan->generation != self->generation
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_loading (self, FALSE);
  g_clear_object (&self->cancellable);
  g_free (self->scanned_source);
  self->scanned_source = g_strdup (scan->source);

  g_clear_pointer (&self->counts, g_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_clear_pointer (&self->issues, g_ptr_array_unref);
  g_clear_pointer (&self->preview_image, g_free);
  g_list_store_remove_all (self->samples);

  if (!ok)
    {
      self->n_samples = self->n_classes = 0;
      hone_bar_chart_set_data (self->chart, NULL, NULL, 0);
      gtk_widget_set_visible (self->status_box, TRUE);
      gtk_label_set_text (self->status_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_label_set_text (self->summary_label, "");
      show_issues (self);
      update_derived (self);
      update_preview (self, TRUE);
      return;
    }
  gtk_widget_set_visible (self->status_box, FALSE);

  self->n_samples = scan->n_samples;
  self->n_classes = scan->n_classes;
  self->counts = g_steal_pointer (&scan->counts);
  self->class_names = g_steal_pointer (&scan->class_names);
  self->issues = g_steal_pointer (&scan->issues);
  hone_bar_chart_set_data (self->chart, (const char *const *) self->class_names, self->counts,
                           self->n_classes);

  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < scan->thumbs->len; i++)
    {
      g_autoptr (GdkTexture) tex = texture_from_bytes (scan->thumbs->pdata[i], THUMB_SIZE, THUMB_SIZE);
      int k = g_array_index (scan->thumb_labels, int, i);
      g_ptr_array_add (items, hone_sample_item_new (tex, k, self->class_names[k], scan->thumb_paths->pdata[i]));
    }
  g_list_store_splice (self->samples, 0, 0, items->pdata, items->len);

  const char *kind = scan->native_c == 1 ? _("grey") : scan->native_c == 3 ? _("colour") : NULL;
  g_autofree char *size = scan->native_h > 0 && kind
                            ? g_strdup_printf (_("%d × %d %s"), scan->native_w, scan->native_h, kind)
                            : g_strdup (_("sizes vary"));
  g_autofree char *count = g_strdup_printf ("%'d", self->n_samples);
  /* Translators: "30,000 images in 5 classes, 28 × 28 grey" */
  g_autofree char *summary = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s images in %d class, %s",
                                                           "%s images in %d classes, %s", (gulong) self->n_classes),
                                              count, self->n_classes, size);
  gtk_label_set_text (self->summary_label, summary);

  self->preview_image = g_steal_pointer (&scan->preview);
  self->preview_c = scan->preview_c;
  self->preview_h = scan->preview_h;
  self->preview_w = scan->preview_w;
  show_issues (self);
  update_derived (self);
  update_preview (self, TRUE);
}

static void
start_scan (HoneDataPage *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->generation++;
  const char *source = self->recipe->data_source ? self->recipe->data_source : "";
  g_free (self->scanned_source);
  self->scanned_source = g_strdup (source);

  self->cancellable = g_cancellable_new ();
  Scan *scan = g_new0 (Scan, 1);
  scan->source = g_strdup (source);
  scan->generation = self->generation;
  GTask *task = g_task_new (self, self->cancellable, scan_done, NULL);
  g_task_set_source_tag (task, start_scan);
  g_task_set_task_data (task, scan, (GDestroyNotify) scan_free);
  g_task_run_in_thread (task, scan_thread);
  g_object_unref (task);

  set_loading (self, TRUE);
  gtk_widget_set_visible (self->status_box, TRUE);
  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
  g_autofree char *text = g_strdup_printf (_("Reading %s…"), source);
  gtk_label_set_text (self->status_label, text);
}

/* ---- what follows from the scan and the recipe ------------------------------ */

static void
update_derived (HoneDataPage *self)
{
  int train = 0;
  if (self->recipe && self->n_samples > 0)
    {
      double share = 1.0 - self->recipe->val_split - self->recipe->test_split;
      int n = self->recipe->limit > 0 ? MIN (self->recipe->limit, self->n_samples) : self->n_samples;
      train = MAX ((int) floor (n * share), 1);
    }
  if (train != self->train_samples)
    {
      self->train_samples = train;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRAIN_SAMPLES]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASSES]);

  double ratio = self->counts ? hone_class_imbalance (self->counts, self->n_classes) : 1.0;
  self->imbalanced = self->counts && ratio >= IMBALANCE_WARN;
  if (self->imbalanced)
    {
      int big = 0, small = -1;
      for (int k = 0; k < self->n_classes; k++)
        {
          if (self->counts[k] > self->counts[big])
            big = k;
          if (self->counts[k] > 0 && (small < 0 || self->counts[k] < self->counts[small]))
            small = k;
        }
      /* Translators: imbalance warning; class, ratio, class */
      g_autofree char *text = g_strdup_printf (_("The classes are unbalanced: “%s” has %.1f× as many images as “%s”. A model trained on this favours the large classes; weight the loss by class or sample the classes evenly."),
                                               self->class_names[big], ratio, self->class_names[small]);
      gtk_label_set_text (self->imbalance_label, text);
    }
  gtk_info_bar_set_revealed (self->imbalance_bar, self->imbalanced);
  gtk_widget_set_visible (GTK_WIDGET (self->imbalance_bar), self->imbalanced);
  if (self->recipe)
    {
      gtk_widget_set_sensitive (self->weighted_button, !self->recipe->class_weights);
      gtk_widget_set_sensitive (self->balance_button, !self->recipe->balanced);
    }
}

static void
update_preview (HoneDataPage *self, gboolean reroll)
{
  for (int i = 0; i <= N_PREVIEW; i++)
    g_clear_object (&self->preview_textures[i]);
  gtk_picture_set_paintable (self->original_picture, NULL);
  for (int i = 0; i < N_PREVIEW; i++)
    gtk_picture_set_paintable (self->previews[i], NULL);
  gtk_widget_set_visible (self->preview_box, self->preview_image && self->recipe);
  gtk_widget_set_visible (self->samples_window, g_list_model_get_n_items (G_LIST_MODEL (self->samples)) > 0);
  if (!self->preview_image || !self->recipe)
    {
      gtk_label_set_text (self->preview_label, _("Open a data set to see how its images are augmented."));
      return;
    }
  if (reroll)
    self->roll++;
  self->shown_augment = self->recipe->augment;
  self->shown_enabled = self->recipe->augment_enabled;

  int c = self->preview_c, h = self->preview_h, w = self->preview_w;
  g_autoptr (GBytes) orig = image_bytes (self->preview_image, c, h, w);
  self->preview_textures[0] = texture_from_bytes (orig, h, w);
  gtk_picture_set_paintable (self->original_picture, GDK_PAINTABLE (self->preview_textures[0]));

  float mean[4], std[4];
  hone_default_normalization (c, mean, std);
  HoneRng rng;
  hone_rng_init (&rng, self->recipe->seed, 0x9e3779b9u + self->roll);
  g_autofree float *out = g_new (float, (gsize) c * h * w);
  gboolean active = self->recipe->augment_enabled && hone_augment_is_active (&self->recipe->augment);
  for (int i = 0; i < N_PREVIEW; i++)
    {
      if (active)
        {
          HoneAugmentDraw draw;
          hone_augment_draw (&draw, &self->recipe->augment, h, w, &rng);
          hone_augment_apply (out, self->preview_image, &draw, mean, c, h, w);
        }
      else
        memcpy (out, self->preview_image, sizeof (float) * (gsize) c * h * w);
      g_autoptr (GBytes) b = image_bytes (out, c, h, w);
      self->preview_textures[i + 1] = texture_from_bytes (b, h, w);
      gtk_picture_set_paintable (self->previews[i], GDK_PAINTABLE (self->preview_textures[i + 1]));
    }
  if (!self->recipe->augment_enabled)
    gtk_label_set_text (self->preview_label, _("Augmentation is off (Training page): the model sees every image as it is."));
  else if (!active)
    gtk_label_set_text (self->preview_label, _("No random change is on: turn on flips, rotation, crops or colour jitter on the Training page."));
  else
    gtk_label_set_text (self->preview_label, _("One training image (left) and eight random versions of it, as the model will see them. Mixup and CutMix mix whole batches and are not shown."));
}

/* ---- controls and actions -------------------------------------------------------- */

static void
set_source (HoneDataPage *self, const char *source)
{
  if (!self->recipe)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *assignment = g_strdup_printf ("data.source=%s", source);
  if (!hone_recipe_set (self->recipe, assignment, &error))
    {
      gtk_widget_set_visible (self->status_box, TRUE);
      gtk_label_set_text (self->status_label, error->message);
      return;
    }
  hone_data_page_sync (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
set_key (HoneDataPage *self, const char *key, const char *value)
{
  if (!self->recipe || self->updating)
    return;
  g_autofree char *assignment = g_strdup_printf ("%s=%s", key, value);
  g_autoptr (GError) error = NULL;
  if (!hone_recipe_set (self->recipe, assignment, &error))
    {
      gtk_widget_set_visible (self->status_box, TRUE);
      gtk_label_set_text (self->status_label, error->message);
      return;
    }
  update_derived (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
subset_changed (GtkDropDown *drop, GParamSpec *pspec, HoneDataPage *self)
{
  guint i = gtk_drop_down_get_selected (drop);
  if (self->updating || i >= G_N_ELEMENTS (subset_sources))
    return;
  set_source (self, subset_sources[i]);
}

static void
val_changed (GtkSpinButton *spin, HoneDataPage *self)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set_key (self, "data.val_split", g_ascii_formatd (buf, sizeof buf, "%.4g", gtk_spin_button_get_value (spin)));
}

static void
limit_changed (GtkSpinButton *spin, HoneDataPage *self)
{
  g_autofree char *v = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (spin));
  set_key (self, "data.limit", v);
}

static void
balanced_changed (GtkSwitch *sw, GParamSpec *pspec, HoneDataPage *self)
{
  set_key (self, "data.balanced", gtk_switch_get_active (sw) ? "true" : "false");
}

static void
action_set_source (GtkWidget *widget, const char *action, GVariant *param)
{
  set_source (HONE_DATA_PAGE (widget), g_variant_get_string (param, NULL));
}

static void
action_use_fmnist (GtkWidget *widget, const char *action, GVariant *param)
{
  set_source (HONE_DATA_PAGE (widget), "fmnist:5-9");
}

static void
action_use_weighted (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneDataPage *self = HONE_DATA_PAGE (widget);
  set_key (self, "loss.class_weights", "true");
}

static void
action_use_balanced (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneDataPage *self = HONE_DATA_PAGE (widget);
  set_key (self, "data.balanced", "true");
  hone_data_page_sync (self);
}

static void
action_reroll (GtkWidget *widget, const char *action, GVariant *param)
{
  update_preview (HONE_DATA_PAGE (widget), TRUE);
}

static void
chooser_response (GtkNativeDialog *dialog, int response, HoneDataPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path)
        {
          /* "./fmnist" stays a folder, not the built-in */
          g_autofree char *source = g_str_has_prefix (path, "fmnist") ? g_strconcat ("./", path, NULL)
                                                                      : g_strdup (path);
          gtk_widget_activate_action (GTK_WIDGET (self), "data.set-source", "s", source);
        }
    }
  gtk_native_dialog_destroy (dialog);
  if (self->chooser == GTK_FILE_CHOOSER_NATIVE (dialog))
    g_clear_object (&self->chooser);
}

static void
open_chooser (HoneDataPage *self, gboolean folder)
{
  if (self->chooser)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_WINDOW));
  self->chooser = gtk_file_chooser_native_new (folder ? _("Open a Folder of Images")
                                                      : _("Open a Data File"),
                                               parent,
                                               folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                      : GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (!folder)
    {
      GtkFileFilter *filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _("Data sets (CSV, IDX, safetensors)"));
      gtk_file_filter_add_pattern (filter, "*.csv");
      gtk_file_filter_add_pattern (filter, "*.safetensors");
      gtk_file_filter_add_pattern (filter, "*-ubyte");
      gtk_file_filter_add_pattern (filter, "*-ubyte.gz");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
      g_object_unref (filter);
      GtkFileFilter *all = gtk_file_filter_new ();
      gtk_file_filter_set_name (all, _("All files"));
      gtk_file_filter_add_pattern (all, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
      g_object_unref (all);
    }
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
action_open_folder (GtkWidget *widget, const char *action, GVariant *param)
{
  open_chooser (HONE_DATA_PAGE (widget), TRUE);
}

static void
action_open_file (GtkWidget *widget, const char *action, GVariant *param)
{
  open_chooser (HONE_DATA_PAGE (widget), FALSE);
}

/* ---- the sample grid ------------------------------------------------------------------ */

static void
sample_setup (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  GtkWidget *picture = gtk_picture_new ();
  gtk_widget_set_size_request (picture, THUMB_SIZE, THUMB_SIZE);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 10);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_item_set_child (list_item, box);
}

static void
sample_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  HoneSampleItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *picture = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (picture);
  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (hone_sample_item_get_texture (item)));
  gtk_label_set_text (GTK_LABEL (label), hone_sample_item_get_class_name (item));
  gtk_widget_set_tooltip_text (box, hone_sample_item_get_path (item));
}

static void
sample_unbind (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  GtkWidget *box = gtk_list_item_get_child (list_item);
  gtk_picture_set_paintable (GTK_PICTURE (gtk_widget_get_first_child (box)), NULL);
}

/* ---- the GObject ---------------------------------------------------------------------- */

static void
hone_data_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HoneDataPage *self = HONE_DATA_PAGE (object);
  switch (prop_id)
    {
    case PROP_TRAIN_SAMPLES:
      g_value_set_int (value, self->train_samples);
      break;
    case PROP_CLASSES:
      g_value_set_int (value, self->n_classes);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_data_page_dispose (GObject *object)
{
  HoneDataPage *self = HONE_DATA_PAGE (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->generation++;
  if (self->chooser)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  for (int i = 0; i <= N_PREVIEW; i++)
    g_clear_object (&self->preview_textures[i]);
  g_clear_object (&self->samples);
  adw_bin_set_child (ADW_BIN (self), NULL);
  G_OBJECT_CLASS (hone_data_page_parent_class)->dispose (object);
}

static void
hone_data_page_finalize (GObject *object)
{
  HoneDataPage *self = HONE_DATA_PAGE (object);
  g_free (self->scanned_source);
  g_free (self->counts);
  g_strfreev (self->class_names);
  if (self->issues)
    g_ptr_array_unref (self->issues);
  g_free (self->preview_image);
  G_OBJECT_CLASS (hone_data_page_parent_class)->finalize (object);
}

static void
hone_data_page_class_init (HoneDataPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->get_property = hone_data_page_get_property;
  object_class->dispose = hone_data_page_dispose;
  object_class->finalize = hone_data_page_finalize;

  /* Emitted after the page edited the recipe. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  properties[PROP_TRAIN_SAMPLES] = g_param_spec_int ("train-samples", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_CLASSES] = g_param_spec_int ("classes", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HONE_TYPE_BAR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-data-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, source_row);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, subset_row);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, subset_drop);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, val_spin);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, limit_spin);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, balanced_switch);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, status_box);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, imbalance_bar);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, imbalance_label);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, weighted_button);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, balance_button);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, chart);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, grid);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, samples_window);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, preview_box);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, preview_label);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, original_picture);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, preview_grid);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, issues_group);
  gtk_widget_class_bind_template_child (widget_class, HoneDataPage, issues_row);

  gtk_widget_class_install_action (widget_class, "data.set-source", "s", action_set_source);
  gtk_widget_class_install_action (widget_class, "data.use-fmnist", NULL, action_use_fmnist);
  gtk_widget_class_install_action (widget_class, "data.open-folder", NULL, action_open_folder);
  gtk_widget_class_install_action (widget_class, "data.open-file", NULL, action_open_file);
  gtk_widget_class_install_action (widget_class, "data.use-weighted-loss", NULL, action_use_weighted);
  gtk_widget_class_install_action (widget_class, "data.use-balanced", NULL, action_use_balanced);
  gtk_widget_class_install_action (widget_class, "data.reroll", NULL, action_reroll);
}

static void
hone_data_page_init (HoneDataPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->samples = g_list_store_new (HONE_TYPE_SAMPLE_ITEM);
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (sample_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (sample_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (sample_unbind), NULL);
  gtk_grid_view_set_factory (self->grid, factory);
  g_object_unref (factory);
  GtkNoSelection *selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->samples)));
  gtk_grid_view_set_model (self->grid, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);

  for (int i = 0; i < N_PREVIEW; i++)
    {
      GtkWidget *picture = gtk_picture_new ();
      gtk_widget_set_size_request (picture, 112, 112);
      gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
      gtk_widget_add_css_class (picture, "card");
      gtk_grid_attach (self->preview_grid, picture, i % 4, i / 4, 1, 1);
      self->previews[i] = GTK_PICTURE (picture);
    }
  gtk_widget_add_css_class (GTK_WIDGET (self->original_picture), "card");

  g_signal_connect (self->subset_drop, "notify::selected", G_CALLBACK (subset_changed), self);
  g_signal_connect (self->val_spin, "value-changed", G_CALLBACK (val_changed), self);
  g_signal_connect (self->limit_spin, "value-changed", G_CALLBACK (limit_changed), self);
  g_signal_connect (self->balanced_switch, "notify::active", G_CALLBACK (balanced_changed), self);
  update_preview (self, FALSE);
}

GtkWidget *
hone_data_page_new (void)
{
  return g_object_new (HONE_TYPE_DATA_PAGE, NULL);
}

void
hone_data_page_set_recipe (HoneDataPage *self, HoneRecipe *recipe)
{
  g_return_if_fail (HONE_IS_DATA_PAGE (self));
  self->recipe = recipe;
  g_clear_pointer (&self->scanned_source, g_free);
  hone_data_page_sync (self);
}

void
hone_data_page_sync (HoneDataPage *self)
{
  g_return_if_fail (HONE_IS_DATA_PAGE (self));
  if (!self->recipe)
    return;
  const HoneRecipe *r = self->recipe;
  self->updating = TRUE;
  const char *source = r->data_source ? r->data_source : "";
  guint subset = GTK_INVALID_LIST_POSITION;
  for (guint i = 0; i < G_N_ELEMENTS (subset_sources); i++)
    if (strcmp (source, subset_sources[i]) == 0)
      subset = i;
  gtk_widget_set_visible (self->subset_row, g_str_has_prefix (source, "fmnist"));
  gtk_drop_down_set_selected (self->subset_drop, subset);
  g_autofree char *described = g_str_has_prefix (source, "fmnist")
                                 ? g_strdup_printf (_("Fashion-MNIST, built in (%s)"), source)
                                 : g_strdup (source);
  g_autofree char *escaped = g_markup_escape_text (described, -1);
  adw_action_row_set_subtitle (self->source_row, escaped);
  gtk_spin_button_set_value (self->val_spin, r->val_split);
  gtk_spin_button_set_value (self->limit_spin, r->limit);
  gtk_switch_set_active (self->balanced_switch, r->balanced);
  self->updating = FALSE;

  if (g_strcmp0 (source, self->scanned_source) != 0)
    start_scan (self);
  else
    update_derived (self);
  if (self->preview_image
      && (memcmp (&self->shown_augment, &r->augment, sizeof (HoneAugment)) != 0
          || self->shown_enabled != r->augment_enabled))
    update_preview (self, TRUE);
}

void
hone_data_page_open_source (HoneDataPage *self)
{
  g_return_if_fail (HONE_IS_DATA_PAGE (self));
  open_chooser (self, TRUE);
}

int
hone_data_page_get_train_samples (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), 0);
  return self->train_samples;
}

int
hone_data_page_get_n_classes (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), 0);
  return self->n_classes;
}

gboolean
hone_data_page_get_loading (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), FALSE);
  return self->loading;
}

const int64_t *
hone_data_page_get_counts (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), NULL);
  return self->counts;
}

gboolean
hone_data_page_get_imbalanced (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), FALSE);
  return self->imbalanced;
}

GPtrArray *
hone_data_page_get_issues (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), NULL);
  return self->issues;
}

GListModel *
hone_data_page_get_samples (HoneDataPage *self)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), NULL);
  return G_LIST_MODEL (self->samples);
}

GdkTexture *
hone_data_page_get_preview (HoneDataPage *self, int i)
{
  g_return_val_if_fail (HONE_IS_DATA_PAGE (self), NULL);
  g_return_val_if_fail (i >= 0 && i <= N_PREVIEW, NULL);
  return self->preview_textures[i];
}
