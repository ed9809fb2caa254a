/* hone-runs-window.c: past runs (see hone-runs-window.h).
 *
 * The run folders are read off the main thread (recipe.hone, the epoch and
 * finished lines of metrics.jsonl, report.json) into HoneRunItem objects in
 * a GListStore that the list box shows. */
#include "hone-config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "hone-format.h"
#include "hone-recipe.h"
#include "hone-runs-window.h"

#define HONE_TYPE_RUN_ITEM (hone_run_item_get_type ())
G_DECLARE_FINAL_TYPE (HoneRunItem, hone_run_item, HONE, RUN_ITEM, GObject)

struct _HoneRunItem
{
  GObject parent_instance;
  char *dir;
  char *title;        /* "cnn-s · Fashion-MNIST 5–9" */
  char *subtitle;     /* "22 Nov 18:05 · 2 of 2 epochs · 90.3 % accuracy" */
  gint64 mtime;
};

G_DEFINE_FINAL_TYPE (HoneRunItem, hone_run_item, G_TYPE_OBJECT)

static void
hone_run_item_finalize (GObject *object)
{
  HoneRunItem *self = HONE_RUN_ITEM (object);
  g_free (self->dir);
  g_free (self->title);
  g_free (self->subtitle);
  G_OBJECT_CLASS (hone_run_item_parent_class)->finalize (object);
}

static void
hone_run_item_class_init (HoneRunItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hone_run_item_finalize;
}

static void
hone_run_item_init (HoneRunItem *self)
{
}

/* Reads one run folder; NULL when it holds no recipe (not a run). */
static HoneRunItem *
read_run (const char *dir)
{
  g_autofree char *recipe_path = g_build_filename (dir, "recipe.hone", NULL);
  g_autoptr (HoneRecipe) recipe = hone_recipe_load (recipe_path, NULL);
  if (recipe == NULL)
    return NULL;

  HoneRunItem *item = g_object_new (HONE_TYPE_RUN_ITEM, NULL);
  g_autofree char *model = hone_format_model_name (recipe->arch, recipe->source);
  g_autofree char *data = hone_format_data_source (recipe->data_source);
  item->dir = g_strdup (dir);
  item->title = g_strdup_printf ("%s · %s", model, data);

  /* how far it got: the epoch lines of metrics.jsonl */
  g_autofree char *metrics_path = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *metrics = NULL;
  int epochs_done = 0;
  double val_accuracy = NAN;
  const char *reason = NULL;
  g_autofree char *reason_copy = NULL;
  if (g_file_get_contents (metrics_path, &metrics, NULL, NULL))
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      for (char *line = metrics, *next; line != NULL && *line; line = next)
        {
          next = strchr (line, '\n');
          if (next != NULL)
            *next++ = '\0';
          if (strstr (line, "\"event\":\"epoch\"") == NULL && strstr (line, "\"event\":\"finished\"") == NULL)
            continue;
          if (!json_parser_load_from_data (parser, line, -1, NULL))
            continue;
          JsonObject *o = json_node_get_object (json_parser_get_root (parser));
          if (o == NULL)
            continue;
          const char *event = json_object_get_string_member_with_default (o, "event", "");
          if (strcmp (event, "epoch") == 0)
            {
              epochs_done = (int) json_object_get_int_member_with_default (o, "epoch", epochs_done);
              if (json_object_has_member (o, "val_accuracy")
                  && JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "val_accuracy")))
                val_accuracy = json_object_get_double_member (o, "val_accuracy");
            }
          else
            {
              g_free (reason_copy);
              reason_copy = g_strdup (json_object_get_string_member_with_default (o, "reason", ""));
              reason = reason_copy;
            }
        }
    }

  /* how well: report.json's accuracy when the run finished */
  g_autofree char *report_path = g_build_filename (dir, "report.json", NULL);
  g_autoptr (JsonParser) report = json_parser_new ();
  if (json_parser_load_from_file (report, report_path, NULL))
    {
      JsonNode *root = json_parser_get_root (report);
      JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
      if (o != NULL && json_object_has_member (o, "accuracy"))
        val_accuracy = json_object_get_double_member_with_default (o, "accuracy", val_accuracy);
    }

  g_autoptr (GFile) file = g_file_new_for_path (dir);
  g_autoptr (GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                                  G_FILE_QUERY_INFO_NONE, NULL, NULL);
  item->mtime = info ? (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) : 0;
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_local (item->mtime);
  /* TRANSLATORS: when a run was made, strftime format: "22 Nov 18:05" */
  g_autofree char *when_text = when ? g_date_time_format (when, _("%e %b %H:%M")) : g_strdup ("");

  g_autoptr (GString) sub = g_string_new (g_strstrip (when_text));
  g_string_append (sub, " · ");
  /* TRANSLATORS: how far a run got, "2 of 10 epochs" */
  g_string_append_printf (sub, ngettext ("%d of %d epoch", "%d of %d epochs", recipe->epochs),
                          epochs_done, recipe->epochs);
  if (isfinite (val_accuracy))
    {
      g_autofree char *acc = hone_format_percent (val_accuracy);
      g_string_append (sub, " · ");
      /* TRANSLATORS: "90.3 % accuracy" */
      g_string_append_printf (sub, _("%s accuracy"), acc);
    }
  if (reason != NULL && strcmp (reason, "completed") != 0 && *reason)
    {
      g_string_append (sub, " · ");
      g_string_append (sub, strcmp (reason, "stopped") == 0 ? _("stopped")
                            : strcmp (reason, "early-stopped") == 0 ? _("stopped early")
                            : strcmp (reason, "diverged") == 0 ? _("diverged") : _("failed"));
    }
  else if (reason == NULL)
    {
      g_string_append (sub, " · ");
      g_string_append (sub, _("unfinished"));
    }
  item->subtitle = g_string_free (g_steal_pointer (&sub), FALSE);
  return item;
}

static int
compare_newest_first (gconstpointer a, gconstpointer b)
{
  const HoneRunItem *x = *(HoneRunItem *const *) a, *y = *(HoneRunItem *const *) b;
  return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : g_strcmp0 (y->dir, x->dir);
}

static void
scan_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autofree char *runs = hone_session_runs_dir ();
  g_autoptr (GDir) dir = g_dir_open (runs, 0, NULL);
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (g_cancellable_is_cancelled (cancellable))
        break;
      g_autofree char *path = g_build_filename (runs, name, NULL);
      HoneRunItem *item = g_file_test (path, G_FILE_TEST_IS_DIR) ? read_run (path) : NULL;
      if (item != NULL)
        g_ptr_array_add (items, item);
    }
  g_ptr_array_sort (items, compare_newest_first);
  g_task_return_pointer (task, items, (GDestroyNotify) g_ptr_array_unref);
}

struct _HoneRunsWindow
{
  AdwWindow parent_instance;
  HoneWindow *parent;     /* weak */
  GListStore *items;
  GCancellable *cancellable;
  GtkStack *stack;
  GtkListBox *list;
};

G_DEFINE_FINAL_TYPE (HoneRunsWindow, hone_runs_window, ADW_TYPE_WINDOW)

static GtkWidget *
create_row (gpointer item, gpointer user_data)
{
  HoneRunItem *run = item;
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), run->title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), run->subtitle);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_widget_set_tooltip_text (row, run->dir);
  return row;
}

gboolean
hone_runs_window_open (HoneRunsWindow *self, guint i)
{
  g_return_val_if_fail (HONE_IS_RUNS_WINDOW (self), FALSE);
  g_autoptr (HoneRunItem) run = g_list_model_get_item (G_LIST_MODEL (self->items), i);
  if (run == NULL || self->parent == NULL)
    return FALSE;
  gboolean ok = hone_window_open_run (self->parent, run->dir);
  if (ok)
    gtk_window_close (GTK_WINDOW (self));
  return ok;
}

static void
row_activated (GtkListBox *list, GtkListBoxRow *row, HoneRunsWindow *self)
{
  hone_runs_window_open (self, (guint) gtk_list_box_row_get_index (row));
}

static void
scan_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GPtrArray) items = g_task_propagate_pointer (G_TASK (result), NULL);

  if (items == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  HoneRunsWindow *self = HONE_RUNS_WINDOW (user_data);
  g_list_store_splice (self->items, 0, g_list_model_get_n_items (G_LIST_MODEL (self->items)),
                       items->pdata, items->len);
  gtk_stack_set_visible_child_name (self->stack, items->len > 0 ? "list" : "empty");
}

guint
hone_runs_window_get_n_runs (HoneRunsWindow *self)
{
  g_return_val_if_fail (HONE_IS_RUNS_WINDOW (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->items));
}

static void
hone_runs_window_dispose (GObject *object)
{
  HoneRunsWindow *self = HONE_RUNS_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_weak_pointer (&self->parent);
  gtk_widget_dispose_template (GTK_WIDGET (self), HONE_TYPE_RUNS_WINDOW);
  G_OBJECT_CLASS (hone_runs_window_parent_class)->dispose (object);
}

static void
hone_runs_window_finalize (GObject *object)
{
  HoneRunsWindow *self = HONE_RUNS_WINDOW (object);

  g_clear_object (&self->items);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (hone_runs_window_parent_class)->finalize (object);
}

static void
hone_runs_window_class_init (HoneRunsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hone_runs_window_dispose;
  object_class->finalize = hone_runs_window_finalize;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-runs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneRunsWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, HoneRunsWindow, list);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
hone_runs_window_init (HoneRunsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->items = g_list_store_new (HONE_TYPE_RUN_ITEM);
  self->cancellable = g_cancellable_new ();
  gtk_list_box_bind_model (self->list, G_LIST_MODEL (self->items), create_row, self, NULL);
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated), self);
}

HoneRunsWindow *
hone_runs_window_new (HoneWindow *parent)
{
  HoneRunsWindow *self = g_object_new (HONE_TYPE_RUNS_WINDOW, "transient-for", parent, NULL);

  g_set_weak_pointer (&self->parent, parent);
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, scan_done, self);
  g_task_run_in_thread (task, scan_thread);
  return self;
}
