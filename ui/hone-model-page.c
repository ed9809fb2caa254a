/* hone-model-page.c: the Model page (see hone-model-page.h).
 *
 * The rows come from a GListStore of HoneModelEntry items bound to a
 * GtkListBox; their parameter counts are measured once, off the main
 * thread, by building each architecture at its defaults. */
#include "hone-config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "hone-arch.h"
#include "hone-format.h"
#include "hone-freeze.h"
#include "hone-model-page.h"
#include "hone-zoo.h"

/* ---- HoneModelEntry: one built-in model -------------------------------- */

#define HONE_TYPE_MODEL_ENTRY (hone_model_entry_get_type ())
G_DECLARE_FINAL_TYPE (HoneModelEntry, hone_model_entry, HONE, MODEL_ENTRY, GObject)

struct _HoneModelEntry
{
  GObject parent_instance;
  char *name;           /* what the recipe's model.arch (or model.source) says */
  char *description;    /* translated */
  char *input;          /* "28 × 28, 1 channel" */
  int64_t params;       /* 0 until measured */
  gboolean pretrained;  /* a zoo model */
  char *trained_on;     /* zoo models: "Fashion-MNIST 0–4", translated */
  char *accuracy;       /* zoo models: "94.6 % on Fashion-MNIST test set 0–4" */
  GtkWidget *check;     /* the row's "selected" mark, while the row exists */
  GtkWidget *params_label;
};

G_DEFINE_FINAL_TYPE (HoneModelEntry, hone_model_entry, G_TYPE_OBJECT)

static void
hone_model_entry_finalize (GObject *object)
{
  HoneModelEntry *self = HONE_MODEL_ENTRY (object);

  g_free (self->name);
  g_free (self->description);
  g_free (self->input);
  g_free (self->trained_on);
  g_free (self->accuracy);
  G_OBJECT_CLASS (hone_model_entry_parent_class)->finalize (object);
}

static void
hone_model_entry_class_init (HoneModelEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hone_model_entry_finalize;
}

static void
hone_model_entry_init (HoneModelEntry *self)
{
}

static char *
format_input (int channels, int height, int width)
{
  /* TRANSLATORS: a model's input, "224 × 224, 3 channels" */
  return g_strdup_printf (ngettext ("%d × %d, %d channel", "%d × %d, %d channels", channels),
                          width, height, channels);
}

/* ---- the page ---------------------------------------------------------- */

struct _HoneModelPage
{
  AdwBin parent_instance;

  HoneSession *session;
  GListStore *entries;        /* the architectures, with fresh weights */
  GListStore *zoo_entries;    /* the pretrained models */
  GCancellable *cancellable;

  AdwPreferencesGroup *zoo_group;
  GtkListBox *zoo_list;
  GtkListBox *models_list;
  AdwPreferencesGroup *summary_group;
  GtkSpinner *spinner;
  GtkLabel *architecture_value;
  GtkLabel *parameters_value;
  GtkLabel *trainable_value;
  GtkLabel *input_value;
  GtkLabel *classes_value;
  GtkLabel *normalisation_value;
  GtkLabel *flops_value;
  GtkLabel *source_value;
};

G_DEFINE_FINAL_TYPE (HoneModelPage, hone_model_page, ADW_TYPE_BIN)

static const char *
current_name (HoneModelPage *self)
{
  if (self->session == NULL)
    return NULL;
  HoneRecipe *r = hone_session_get_recipe (self->session);
  return r->source != NULL ? r->source : r->arch;
}

static void
update_checks (HoneModelPage *self)
{
  const char *name = current_name (self);
  GListModel *stores[] = { G_LIST_MODEL (self->zoo_entries), G_LIST_MODEL (self->entries) };

  for (guint s = 0; s < G_N_ELEMENTS (stores); s++)
    for (guint i = 0; i < g_list_model_get_n_items (stores[s]); i++)
      {
        g_autoptr (HoneModelEntry) e = g_list_model_get_item (stores[s], i);
        if (e->check != NULL)
          gtk_widget_set_opacity (e->check, g_strcmp0 (e->name, name) == 0 ? 1.0 : 0.0);
      }
}

static void
set_value (GtkLabel *label, const char *text)
{
  gtk_label_set_text (label, text != NULL ? text : "—");
  /* long values (class lists, paths) are ellipsized: the tooltip has them whole */
  gtk_widget_set_tooltip_text (GTK_WIDGET (label), text);
}

/* What the recipe's freezing (the Layers page) will train in the first epoch. */
static int64_t
planned_trainable (const HoneRecipe *r, const HoneModel *m)
{
  int n = hone_graph_n_values (m->graph);
  g_autofree HoneFreezePlan *plan = g_new0 (HoneFreezePlan, n);
  int64_t trainable = 0;

  if (!hone_recipe_plan_freezing (r, m->graph, NULL, plan, NULL))
    return hone_graph_n_trainable_params (m->graph);   /* the Layers page shows the error */
  for (int id = 0; id < n; id++)
    {
      const HoneValue *v = hone_graph_value (m->graph, id);
      if (v->kind == HONE_VALUE_PARAM && plan[id].trainable)
        trainable += hone_shape_numel (&v->shape);
    }
  return trainable;
}

/* The zoo's row of a "zoo:NAME" source, once the manifest is read. */
static HoneModelEntry *
find_zoo_entry (HoneModelPage *self, const char *source)
{
  if (source == NULL || !g_str_has_prefix (source, HONE_ZOO_PREFIX))
    return NULL;
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->zoo_entries)); i++)
    {
      g_autoptr (HoneModelEntry) e = g_list_model_get_item (G_LIST_MODEL (self->zoo_entries), i);
      if (g_strcmp0 (e->name, source) == 0)
        return e;   /* the store keeps it */
    }
  return NULL;
}

static void
update_summary (HoneModelPage *self)
{
  HoneModel *m = self->session ? hone_session_get_model (self->session) : NULL;
  gboolean loading = self->session && hone_session_get_loading (self->session);

  gtk_spinner_set_spinning (self->spinner, loading);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), loading);
  update_checks (self);

  if (m == NULL)
    {
      adw_preferences_group_set_title (self->summary_group, loading ? _("Loading the model…") : _("No model"));
      adw_preferences_group_set_description (self->summary_group, NULL);
      return;
    }

  HoneRecipe *r = hone_session_get_recipe (self->session);
  g_autofree char *name = hone_format_model_name (m->arch, m->source);
  HoneModelEntry *zoo = find_zoo_entry (self, m->source);
  g_autofree char *description = NULL;
  if (zoo != NULL)
    /* TRANSLATORS: the summary of a pretrained model, "Pretrained on Fashion-MNIST 0–4:
     * 94.6 % on Fashion-MNIST test set 0–4. Its head was replaced for your 5 classes." */
    description = g_strdup_printf (m->head_replaced
                                     ? _("Pretrained on %s: %s. Its head was replaced for your %d classes.")
                                     : _("Pretrained on %s: %s. Fine-tuning gives it a new head when your %d classes are not the ones it learnt."),
                                   zoo->trained_on, zoo->accuracy, m->n_classes);
  adw_preferences_group_set_title (self->summary_group, name);
  adw_preferences_group_set_description (self->summary_group,
                                         description ? description
                                         : m->description ? _(m->description) : NULL);

  set_value (self->architecture_value, m->arch ? m->arch : _("imported graph"));

  int64_t params = hone_graph_n_params (m->graph);
  int64_t trainable = planned_trainable (r, m);
  g_autofree char *p = hone_format_count ((double) params);
  set_value (self->parameters_value, p);
  g_autofree char *t = hone_format_count ((double) trainable);
  g_autofree char *share = hone_format_percent (params > 0 ? (double) trainable / params : 0);
  /* TRANSLATORS: trainable parameters and their share, "2.1 M (18.4 %)" */
  g_autofree char *tt = g_strdup_printf (_("%s (%s)"), t, share);
  set_value (self->trainable_value, tt);

  g_autofree char *input = format_input (m->channels, m->height, m->width);
  set_value (self->input_value, input);

  g_autoptr (GString) classes = g_string_new (NULL);
  g_string_append_printf (classes, "%d", m->n_classes);
  if (m->class_names != NULL && m->n_classes > 0)
    {
      g_string_append (classes, ": ");
      for (int k = 0; k < m->n_classes && k < 6; k++)
        g_string_append_printf (classes, "%s%s", k ? ", " : "", m->class_names[k]);
      if (m->n_classes > 6)
        g_string_append (classes, ", …");
    }
  set_value (self->classes_value, classes->str);

  g_autoptr (GString) norm = g_string_new (NULL);
  int nc = MIN (m->channels, 4);
  g_string_append (norm, _("mean"));
  for (int c = 0; c < nc; c++)
    g_string_append_printf (norm, "%s%.3f", c ? ", " : " ", m->mean[c]);
  g_string_append (norm, " · ");
  g_string_append (norm, _("std"));
  for (int c = 0; c < nc; c++)
    g_string_append_printf (norm, "%s%.3f", c ? ", " : " ", m->std[c]);
  set_value (self->normalisation_value, norm->str);

  g_autofree char *flops = hone_format_flops (hone_graph_flops (m->graph));
  set_value (self->flops_value, flops);

  g_autofree char *source = NULL;
  if (zoo != NULL)
    /* TRANSLATORS: where a pretrained model came from, "Hone's zoo: cnn-s-fmnist0-4, pretrained
     * on Fashion-MNIST 0–4" */
    source = g_strdup_printf (_("Hone's zoo: %s, pretrained on %s"), m->source + strlen (HONE_ZOO_PREFIX),
                              zoo->trained_on);
  else if (m->source != NULL)
    source = g_strdup (m->source);
  else if (r->weights != NULL)
    source = g_strdup_printf (_("%s with weights from %s"), m->arch, r->weights);
  else
    source = g_strdup (_("built in, freshly initialised"));
  set_value (self->source_value, source);
}

static void
row_activated (AdwActionRow *row, HoneModelPage *self)
{
  HoneModelEntry *e = g_object_get_data (G_OBJECT (row), "hone-entry");

  if (self->session == NULL || e == NULL)
    return;
  if (hone_session_is_active (self->session))
    {
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
      if (ADW_IS_APPLICATION_WINDOW (root))
        gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  hone_session_select_model (self->session, e->name);
  update_checks (self);
}

static void
entry_row_destroyed (gpointer data, GObject *where_the_object_was)
{
  HoneModelEntry *e = data;
  e->check = NULL;
  e->params_label = NULL;
}

static void
set_params_label (HoneModelEntry *e)
{
  if (e->params_label == NULL)
    return;
  if (e->params <= 0)
    {
      gtk_label_set_text (GTK_LABEL (e->params_label), "");
      return;
    }
  g_autofree char *p = hone_format_params (e->params);
  g_autofree char *text = g_strdup_printf ("%s\n%s", e->input, p);
  gtk_label_set_text (GTK_LABEL (e->params_label), text);
}

static GtkWidget *
create_row (gpointer item, gpointer user_data)
{
  HoneModelPage *self = user_data;
  HoneModelEntry *e = item;
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 g_str_has_prefix (e->name, "zoo:") ? e->name + 4 : e->name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), e->description);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "hone-entry", g_object_ref (e), g_object_unref);

  e->params_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (e->params_label), 1);
  gtk_label_set_justify (GTK_LABEL (e->params_label), GTK_JUSTIFY_RIGHT);
  gtk_widget_add_css_class (e->params_label, "dim-label");
  gtk_widget_add_css_class (e->params_label, "caption");
  gtk_widget_add_css_class (e->params_label, "numeric");
  set_params_label (e);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), e->params_label);

  e->check = gtk_image_new_from_icon_name ("object-select-symbolic");
  gtk_widget_add_css_class (e->check, "accent");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), e->check);
  g_object_weak_ref (G_OBJECT (row), entry_row_destroyed, e);

  g_signal_connect (row, "activated", G_CALLBACK (row_activated), self);
  gtk_widget_set_opacity (e->check, g_strcmp0 (e->name, current_name (self)) == 0 ? 1.0 : 0.0);
  return row;
}

/* Parameter counts of every built-in model at its defaults. */
static void
measure_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GPtrArray *names = task_data;
  int64_t *params = g_new0 (int64_t, names->len);

  for (guint i = 0; i < names->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      g_autoptr (GError) error = NULL;
      HoneGraph *g = hone_arch_build (g_ptr_array_index (names, i), NULL, &error);
      if (g != NULL)
        {
          params[i] = hone_graph_n_params (g);
          hone_graph_free (g);
        }
    }
  g_task_return_pointer (task, params, g_free);
}

static void
measure_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autofree int64_t *params = g_task_propagate_pointer (G_TASK (result), NULL);
  HoneModelPage *self;

  if (params == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  self = HONE_MODEL_PAGE (user_data);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->entries));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (HoneModelEntry) e = g_list_model_get_item (G_LIST_MODEL (self->entries), i);
      e->params = params[i];
      set_params_label (e);
    }
}

/* The zoo's manifest, read off the main thread into entries. */
static void
zoo_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneZoo) zoo = hone_zoo_open (NULL, FALSE, &error);

  for (int i = 0; zoo != NULL && i < hone_zoo_n_entries (zoo); i++)
    {
      const HoneZooEntry *z = hone_zoo_entry (zoo, i);
      HoneModelEntry *e = g_object_new (HONE_TYPE_MODEL_ENTRY, NULL);
      g_autofree char *acc = hone_format_percent (z->accuracy);
      g_autofree char *split = hone_format_data_source (z->split);
      /* the classes it learnt: the test split's subset, of the training set */
      g_autoptr (GString) train = g_string_new (z->split);
      g_string_replace (train, "-test", "", 1);
      e->name = g_strconcat (HONE_ZOO_PREFIX, z->name, NULL);
      e->trained_on = hone_format_data_source (train->str);
      /* TRANSLATORS: "94.6 % on Fashion-MNIST test set 0–4" */
      e->accuracy = g_strdup_printf (_("%s on %s"), acc, split);
      /* TRANSLATORS: a pretrained model, "cnn-s pretrained on Fashion-MNIST 0–4 · 94.6 % on
       * Fashion-MNIST test set 0–4" */
      e->description = g_strdup_printf (_("%s pretrained on %s · %s"), z->arch, e->trained_on, e->accuracy);
      e->input = format_input (z->channels, z->height, z->width);
      e->params = z->params;
      e->pretrained = TRUE;
      g_ptr_array_add (entries, e);
    }
  g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
}

static void
zoo_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GPtrArray) entries = g_task_propagate_pointer (G_TASK (result), NULL);

  if (entries == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  HoneModelPage *self = HONE_MODEL_PAGE (user_data);
  g_list_store_splice (self->zoo_entries, 0, g_list_model_get_n_items (G_LIST_MODEL (self->zoo_entries)),
                       entries->pdata, entries->len);
  gtk_widget_set_visible (GTK_WIDGET (self->zoo_group), entries->len > 0);
  update_summary (self);   /* a zoo model's card says where it came from */
}

static void
fill_entries (HoneModelPage *self)
{
  const HoneArchInfo *const *list = hone_arch_list ();
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (int i = 0; list[i] != NULL; i++)
    {
      HoneModelEntry *e = g_object_new (HONE_TYPE_MODEL_ENTRY, NULL);
      e->name = g_strdup (list[i]->name);
      e->description = g_strdup (_(list[i]->description));
      e->input = format_input (list[i]->default_channels, list[i]->default_size, list[i]->default_size);
      g_list_store_append (self->entries, e);
      g_ptr_array_add (names, g_strdup (list[i]->name));
      g_object_unref (e);
    }

  /* the tasks do not keep the page alive: they are cancelled on dispose */
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, measure_done, self);
  g_task_set_task_data (task, names, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, measure_thread);

  g_autoptr (GTask) zoo_task = g_task_new (NULL, self->cancellable, zoo_done, self);
  g_task_run_in_thread (zoo_task, zoo_thread);
}

void
hone_model_page_set_session (HoneModelPage *self, HoneSession *session)
{
  g_return_if_fail (HONE_IS_MODEL_PAGE (self));
  g_return_if_fail (session == NULL || HONE_IS_SESSION (session));

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  self->session = session;
  if (session != NULL)
    {
      g_signal_connect_swapped (session, "notify::model", G_CALLBACK (update_summary), self);
      g_signal_connect_swapped (session, "notify::loading", G_CALLBACK (update_summary), self);
      g_signal_connect_swapped (session, "recipe-replaced", G_CALLBACK (update_summary), self);
      g_signal_connect_swapped (session, "recipe-changed", G_CALLBACK (update_summary), self);
    }
  update_summary (self);
}

gboolean
hone_model_page_select (HoneModelPage *self, const char *name)
{
  g_return_val_if_fail (HONE_IS_MODEL_PAGE (self), FALSE);
  if (self->session == NULL || hone_session_is_active (self->session))
    return FALSE;
  if (hone_arch_find (name) == NULL && !g_str_has_prefix (name, "zoo:"))
    return FALSE;
  hone_session_select_model (self->session, name);
  update_checks (self);
  return TRUE;
}

const char *
hone_model_page_get_summary (HoneModelPage *self, const char *row)
{
  g_return_val_if_fail (HONE_IS_MODEL_PAGE (self), NULL);
  if (g_strcmp0 (row, "description") == 0)
    return adw_preferences_group_get_description (self->summary_group);
  static const struct { const char *name; gsize offset; } rows[] = {
    { "architecture", G_STRUCT_OFFSET (HoneModelPage, architecture_value) },
    { "parameters", G_STRUCT_OFFSET (HoneModelPage, parameters_value) },
    { "trainable", G_STRUCT_OFFSET (HoneModelPage, trainable_value) },
    { "input", G_STRUCT_OFFSET (HoneModelPage, input_value) },
    { "classes", G_STRUCT_OFFSET (HoneModelPage, classes_value) },
    { "normalisation", G_STRUCT_OFFSET (HoneModelPage, normalisation_value) },
    { "flops", G_STRUCT_OFFSET (HoneModelPage, flops_value) },
    { "source", G_STRUCT_OFFSET (HoneModelPage, source_value) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (g_strcmp0 (rows[i].name, row) == 0)
      return gtk_label_get_text (G_STRUCT_MEMBER (GtkLabel *, self, rows[i].offset));
  return NULL;
}

static void
hone_model_page_dispose (GObject *object)
{
  HoneModelPage *self = HONE_MODEL_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  self->session = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), HONE_TYPE_MODEL_PAGE);
  G_OBJECT_CLASS (hone_model_page_parent_class)->dispose (object);
}

static void
hone_model_page_finalize (GObject *object)
{
  HoneModelPage *self = HONE_MODEL_PAGE (object);

  g_clear_object (&self->entries);
  g_clear_object (&self->zoo_entries);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (hone_model_page_parent_class)->finalize (object);
}

static void
hone_model_page_class_init (HoneModelPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hone_model_page_dispose;
  object_class->finalize = hone_model_page_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-model-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, zoo_group);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, zoo_list);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, models_list);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, summary_group);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, architecture_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, parameters_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, trainable_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, input_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, classes_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, normalisation_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, flops_value);
  gtk_widget_class_bind_template_child (widget_class, HoneModelPage, source_value);
}

static void
hone_model_page_init (HoneModelPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->entries = g_list_store_new (HONE_TYPE_MODEL_ENTRY);
  self->zoo_entries = g_list_store_new (HONE_TYPE_MODEL_ENTRY);
  self->cancellable = g_cancellable_new ();
  gtk_list_box_bind_model (self->models_list, G_LIST_MODEL (self->entries), create_row, self, NULL);
  gtk_list_box_bind_model (self->zoo_list, G_LIST_MODEL (self->zoo_entries), create_row, self, NULL);
  fill_entries (self);
  update_summary (self);
}

HoneModelPage *
hone_model_page_new (void)
{
  return g_object_new (HONE_TYPE_MODEL_PAGE, NULL);
}
