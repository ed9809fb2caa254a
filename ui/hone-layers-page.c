/* hone-layers-page.c: the Layers page.
 *
 * The tree is a GtkTreeListModel over blocks (HoneLayerItem) whose children
 * are their layers, shown in a GtkColumnView.  Every edit (a switch, a
 * preset, "Freeze up to here", an LR multiplier) is turned into recipe
 * settings through hone_recipe_set; then the page asks the engine what the
 * recipe does to the model's graph (hone_recipe_plan_freezing, the same
 * code the trainer runs) and shows that.  A freezing the presets cannot say
 * is written as freeze.mode=list with the shortest exact prefixes.
 *
 * This file does not train or change the model: the graph is left as it
 * was found. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "hone-freeze.h"
#include "hone-layer-item.h"
#include "hone-layers-page.h"
#include "hone-op.h"
#include "hone-safetensors.h"

struct _HoneLayersPage
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkToggleButton *head_button;
  GtkToggleButton *last_button;
  GtkToggleButton *first_button;
  GtkToggleButton *all_button;
  GtkSpinButton *k_spin;
  GtkLabel *count_label;
  GtkLabel *detail_label;
  GtkColumnView *view;
  GtkWidget *menu;              /* the rows' context menu, parented to the page */

  HoneRecipe *recipe;           /* borrowed */
  HoneModel *model;             /* borrowed */
  GListStore *blocks;           /* HoneLayerItem */
  GtkTreeListModel *tree;
  GHashTable *by_name;          /* name -> HoneLayerItem (blocks first) */
  HoneFreezePlan *plan;         /* (n_values) */
  int n_values;
  int *param_node;              /* (n_values) first node using each parameter, -1 */
  char **head;
  int64_t n_trainable, n_total;
  char *count_text;
  gboolean updating;
};

G_DEFINE_FINAL_TYPE (HoneLayersPage, hone_layers_page, ADW_TYPE_BIN)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- reading the recipe -------------------------------------------------- */

static gboolean
set_key (HoneLayersPage *self, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *assignment = g_strdup_printf ("%s=%s", key, value);
  if (!hone_recipe_set (self->recipe, assignment, &error))
    {
      gtk_label_set_text (self->detail_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->detail_label), "error");
      return FALSE;
    }
  return TRUE;
}

static HoneGraph *
graph (HoneLayersPage *self)
{
  return self->model ? self->model->graph : NULL;
}

/* The parameters prefix matches, as a value-id set. */
static gboolean
prefix_matches_exactly (HoneLayersPage *self, const char *prefix, const gboolean *want)
{
  HoneGraph *g = graph (self);
  if (!prefix[0])
    return FALSE;
  for (int id = 0; id < self->n_values; id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      if (hone_freeze_matches (v, self->head, prefix) != want[id])
        return FALSE;
    }
  return TRUE;
}

/* The shortest prefix that names exactly the parameters in want, among
 * name + "." and name; NULL when neither does. */
static char *
exact_prefix (HoneLayersPage *self, const char *name, const gboolean *want)
{
  g_autofree char *dotted = g_strconcat (name, ".", NULL);
  if (prefix_matches_exactly (self, dotted, want))
    return g_steal_pointer (&dotted);
  if (prefix_matches_exactly (self, name, want))
    return g_strdup (name);
  return NULL;
}

static void
item_param_set (HoneLayersPage *self, HoneLayerItem *item, gboolean *set)
{
  memset (set, 0, sizeof (gboolean) * self->n_values);
  int n;
  const int *ids = hone_layer_item_get_params (item, &n);
  for (int i = 0; i < n; i++)
    set[ids[i]] = TRUE;
}

/* Writes `frozen` (per value id) as freeze.mode=list (or none). */
static void
write_frozen (HoneLayersPage *self, const gboolean *frozen)
{
  HoneGraph *g = graph (self);
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
  g_autofree gboolean *want = g_new0 (gboolean, self->n_values);
  gboolean any = FALSE;

  for (guint b = 0; b < g_list_model_get_n_items (G_LIST_MODEL (self->blocks)); b++)
    {
      g_autoptr (HoneLayerItem) block = g_list_model_get_item (G_LIST_MODEL (self->blocks), b);
      int n;
      const int *ids = hone_layer_item_get_params (block, &n);
      int n_frozen = 0;
      for (int i = 0; i < n; i++)
        n_frozen += frozen[ids[i]] ? 1 : 0;
      if (n_frozen == 0)
        continue;
      any = TRUE;
      if (n_frozen == n)
        {
          item_param_set (self, block, want);
          char *prefix = exact_prefix (self, hone_layer_item_get_block (block), want);
          if (prefix)
            {
              g_ptr_array_add (entries, prefix);
              continue;
            }
        }
      GListModel *layers = G_LIST_MODEL (hone_layer_item_get_children (block));
      for (guint l = 0; l < g_list_model_get_n_items (layers); l++)
        {
          g_autoptr (HoneLayerItem) layer = g_list_model_get_item (layers, l);
          const int *lids = hone_layer_item_get_params (layer, &n);
          int lf = 0;
          for (int i = 0; i < n; i++)
            lf += frozen[lids[i]] ? 1 : 0;
          if (lf == 0)
            continue;
          if (lf == n)
            {
              item_param_set (self, layer, want);
              char *prefix = exact_prefix (self, hone_layer_item_get_name (layer), want);
              if (prefix)
                {
                  g_ptr_array_add (entries, prefix);
                  continue;
                }
            }
          for (int i = 0; i < n; i++)
            if (frozen[lids[i]])
              g_ptr_array_add (entries, g_strdup (hone_graph_value (g, lids[i])->name));
        }
    }

  self->updating = TRUE;
  if (!any)
    {
      set_key (self, "freeze.list", "");
      set_key (self, "freeze.mode", "none");
    }
  else
    {
      g_ptr_array_add (entries, NULL);
      g_autofree char *list = g_strjoinv (",", (char **) entries->pdata);
      if (set_key (self, "freeze.list", list))
        set_key (self, "freeze.mode", "list");
    }
  self->updating = FALSE;
}

/* ---- showing what the recipe does ------------------------------------------ */

static double
block_mult_entry (HoneLayersPage *self, HoneLayerItem *block, char **prefix_out)
{
  g_autofree gboolean *want = g_new0 (gboolean, self->n_values);
  item_param_set (self, block, want);
  g_autofree char *prefix = exact_prefix (self, hone_layer_item_get_block (block), want);
  double mult = 1.0;
  for (int i = 0; prefix && self->recipe->lr_mults && self->recipe->lr_mults[i]; i++)
    {
      const char *entry = self->recipe->lr_mults[i];
      const char *eq = strrchr (entry, '=');
      if (eq && (gsize) (eq - entry) == strlen (prefix) && strncmp (entry, prefix, strlen (prefix)) == 0)
        mult = g_ascii_strtod (eq + 1, NULL);
    }
  if (prefix_out)
    *prefix_out = g_steal_pointer (&prefix);
  return mult;
}

static void
update_item (HoneLayersPage *self, HoneLayerItem *item)
{
  int n;
  const int *ids = hone_layer_item_get_params (item, &n);
  int n_frozen = 0, unfreeze = 0;
  double mult = 1.0;
  for (int i = 0; i < n; i++)
    {
      const HoneFreezePlan *p = &self->plan[ids[i]];
      if (!p->trainable)
        n_frozen++;
      if (p->unfreeze_epoch && (!unfreeze || p->unfreeze_epoch < unfreeze))
        unfreeze = p->unfreeze_epoch;
      if (i == 0 || p->lr_mult > mult)
        mult = p->lr_mult;
    }
  hone_layer_item_set_state (item, n > 0 && n_frozen == n, n_frozen > 0 && n_frozen < n, mult, unfreeze);
}

static void
update_presets (HoneLayersPage *self)
{
  HoneFreezeMode mode = self->recipe ? self->recipe->freeze_mode : HONE_FREEZE_NONE;
  self->updating = TRUE;
  gtk_toggle_button_set_active (self->head_button, mode == HONE_FREEZE_HEAD);
  gtk_toggle_button_set_active (self->last_button, mode == HONE_FREEZE_LAST);
  gtk_toggle_button_set_active (self->first_button, mode == HONE_FREEZE_FIRST);
  gtk_toggle_button_set_active (self->all_button, mode == HONE_FREEZE_NONE);
  int nb = 1;
  if (graph (self))
    {
      g_autoptr (GPtrArray) blocks = hone_graph_blocks (graph (self));
      nb = MAX ((int) blocks->len, 1);
    }
  gtk_spin_button_set_range (self->k_spin, 1, nb);
  if (self->recipe && mode == HONE_FREEZE_FIRST)
    gtk_spin_button_set_value (self->k_spin, self->recipe->freeze_blocks);
  self->updating = FALSE;
}

static void
refresh (HoneLayersPage *self)
{
  update_presets (self);
  if (!self->recipe || !graph (self))
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      g_clear_pointer (&self->count_text, g_free);
      self->count_text = g_strdup ("");
      return;
    }
  gtk_stack_set_visible_child_name (self->stack, "layers");
  gtk_widget_remove_css_class (GTK_WIDGET (self->detail_label), "error");

  HoneGraph *g = graph (self);
  g_autoptr (GError) error = NULL;
  gboolean ok = hone_recipe_plan_freezing (self->recipe, g, self->model->arch, self->plan, &error);

  int64_t later = 0;
  self->n_trainable = self->n_total = 0;
  for (int id = 0; id < self->n_values; id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      int64_t numel = hone_shape_numel (&v->shape);
      self->n_total += numel;
      if (self->plan[id].trainable)
        self->n_trainable += numel;
      else if (self->plan[id].unfreeze_epoch)
        later += numel;
    }

  for (guint b = 0; b < g_list_model_get_n_items (G_LIST_MODEL (self->blocks)); b++)
    {
      g_autoptr (HoneLayerItem) block = g_list_model_get_item (G_LIST_MODEL (self->blocks), b);
      update_item (self, block);
      hone_layer_item_set_block_mult (block, block_mult_entry (self, block, NULL));
      GListModel *layers = G_LIST_MODEL (hone_layer_item_get_children (block));
      for (guint l = 0; l < g_list_model_get_n_items (layers); l++)
        {
          g_autoptr (HoneLayerItem) layer = g_list_model_get_item (layers, l);
          update_item (self, layer);
        }
    }

  g_autofree char *a = hone_layer_item_format_params (self->n_trainable);
  g_autofree char *b = hone_layer_item_format_params (self->n_total);
  g_free (self->count_text);
  /* Translators: "2.1 M of 11.2 M parameters will train" */
  self->count_text = g_strdup_printf (_("%s of %s parameters will train"), a, b);
  gtk_label_set_text (self->count_label, self->count_text);

  if (!ok)
    {
      g_autofree char *text = g_strdup_printf (_("These freezing settings do not fit the model: %s"),
                                               error->message);
      gtk_label_set_text (self->detail_label, text);
      gtk_widget_add_css_class (GTK_WIDGET (self->detail_label), "error");
    }
  else if (later > 0)
    {
      g_autofree char *l = hone_layer_item_format_params (later);
      g_autofree char *text = g_strdup_printf (_("%s more unfreeze during the run (progressive unfreezing, see the Training page). Right-click a row to freeze up to it."), l);
      gtk_label_set_text (self->detail_label, text);
    }
  else
    gtk_label_set_text (self->detail_label,
                        _("Frozen layers keep their pretrained weights and cost a forward pass only. Right-click a row to freeze up to it."));
}

/* ---- building the tree ------------------------------------------------------ */

static char *
shape_text (const HoneShape *s)
{
  GString *t = g_string_new (NULL);
  for (int i = 0; i < s->rank; i++)
    g_string_append_printf (t, "%s%" G_GINT64_FORMAT, i ? " × " : "", s->d[i]);
  return g_string_free (t, FALSE);
}

static GListModel *
create_children (gpointer item, gpointer data)
{
  GListStore *children = hone_layer_item_get_children (item);
  return children ? g_object_ref (G_LIST_MODEL (children)) : NULL;
}

static HoneLayerItem *
find_block (GListStore *blocks, const char *name)
{
  for (guint b = 0; b < g_list_model_get_n_items (G_LIST_MODEL (blocks)); b++)
    {
      HoneLayerItem *block = g_list_model_get_item (G_LIST_MODEL (blocks), b);
      g_object_unref (block);
      if (strcmp (hone_layer_item_get_block (block), name) == 0)
        return block;
    }
  return NULL;
}

static void
build_tree (HoneLayersPage *self)
{
  g_list_store_remove_all (self->blocks);
  g_hash_table_remove_all (self->by_name);
  g_clear_pointer (&self->plan, g_free);
  g_clear_pointer (&self->param_node, g_free);
  g_clear_pointer (&self->head, g_strfreev);
  self->n_values = 0;
  HoneGraph *g = graph (self);
  if (!g)
    return;

  self->n_values = hone_graph_n_values (g);
  self->plan = g_new0 (HoneFreezePlan, self->n_values);
  self->param_node = g_new (int, self->n_values);
  self->head = hone_graph_head_params (g);
  for (int id = 0; id < self->n_values; id++)
    self->param_node[id] = -1;

  /* built apart and inserted at once: the view binds rows as they arrive */
  g_autoptr (GListStore) blocks = g_list_store_new (HONE_TYPE_LAYER_ITEM);
  g_autoptr (GPtrArray) names = hone_graph_blocks (g);
  for (guint b = 0; b < names->len; b++)
    {
      g_autoptr (HoneLayerItem) block = hone_layer_item_new_block (names->pdata[b], (int) b);
      g_list_store_append (blocks, block);
    }
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    {
      const HoneNode *node = hone_graph_node (g, i);
      const char *bname = node->block;
      HoneLayerItem *block = find_block (blocks, bname);
      if (!block)
        {
          g_autoptr (HoneLayerItem) nb = hone_layer_item_new_block (bname,
                                                                     (int) g_list_model_get_n_items (G_LIST_MODEL (blocks)));
          g_list_store_append (blocks, nb);
          block = nb;
        }
      const HoneValue *out = hone_graph_value (g, node->out[0]);
      g_autofree char *shape = shape_text (&out->shape);
      g_autoptr (HoneLayerItem) layer = hone_layer_item_new_layer (node->name, bname, i,
                                                                    node->op->name, shape);
      for (int k = 0; k < node->n_in; k++)
        {
          int id = node->in[k];
          const HoneValue *v = hone_graph_value (g, id);
          if (v->kind != HONE_VALUE_PARAM || self->param_node[id] >= 0)
            continue;
          self->param_node[id] = i;
          int64_t numel = hone_shape_numel (&v->shape);
          hone_layer_item_add_param (layer, id, numel);
          hone_layer_item_add_param (block, id, numel);
        }
      g_list_store_append (hone_layer_item_get_children (block), layer);
      hone_layer_item_set_shape (block, shape);
      if (!g_hash_table_contains (self->by_name, node->name))
        g_hash_table_insert (self->by_name, g_strdup (node->name), g_object_ref (layer));
    }
  guint n_blocks = g_list_model_get_n_items (G_LIST_MODEL (blocks));
  g_autofree gpointer *items = g_new0 (gpointer, n_blocks + 1);
  for (guint b = 0; b < n_blocks; b++)
    {
      g_autoptr (HoneLayerItem) block = g_list_model_get_item (G_LIST_MODEL (blocks), b);
      items[b] = block;
      /* blocks win over layers of the same name */
      g_hash_table_replace (self->by_name, g_strdup (hone_layer_item_get_block (block)),
                            g_object_ref (block));
    }
  g_list_store_splice (self->blocks, 0, 0, items, n_blocks);
}

/* ---- editing ------------------------------------------------------------------ */

static void
changed (HoneLayersPage *self)
{
  refresh (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static gboolean *
current_frozen (HoneLayersPage *self)
{
  gboolean *frozen = g_new0 (gboolean, self->n_values);
  for (int id = 0; id < self->n_values; id++)
    frozen[id] = hone_graph_value (graph (self), id)->kind == HONE_VALUE_PARAM && !self->plan[id].trainable;
  return frozen;
}

static HoneLayerItem *
lookup (HoneLayersPage *self, const char *name)
{
  HoneLayerItem *item = g_hash_table_lookup (self->by_name, name);
  if (!item)
    g_warning ("Layers page: no block or layer named '%s'", name);
  return item;
}

/* The node index a row ends at (a block: its last layer). */
static int
row_last_node (HoneLayerItem *item)
{
  if (!hone_layer_item_is_block (item))
    return hone_layer_item_get_index (item);
  GListModel *layers = G_LIST_MODEL (hone_layer_item_get_children (item));
  guint n = g_list_model_get_n_items (layers);
  if (n == 0)
    return -1;
  g_autoptr (HoneLayerItem) last = g_list_model_get_item (layers, n - 1);
  return hone_layer_item_get_index (last);
}

static int
row_first_node (HoneLayerItem *item)
{
  if (!hone_layer_item_is_block (item))
    return hone_layer_item_get_index (item);
  GListModel *layers = G_LIST_MODEL (hone_layer_item_get_children (item));
  if (g_list_model_get_n_items (layers) == 0)
    return G_MAXINT;
  g_autoptr (HoneLayerItem) first = g_list_model_get_item (layers, 0);
  return hone_layer_item_get_index (first);
}

static void
set_frozen (HoneLayersPage *self, HoneLayerItem *item, gboolean frozen_now)
{
  g_autofree gboolean *frozen = current_frozen (self);
  int n;
  const int *ids = hone_layer_item_get_params (item, &n);
  for (int i = 0; i < n; i++)
    frozen[ids[i]] = frozen_now;
  write_frozen (self, frozen);
  changed (self);
}

static void
action_set_frozen (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (widget);
  const char *name;
  gboolean frozen;
  g_variant_get (param, "(&sb)", &name, &frozen);
  HoneLayerItem *item = self->recipe && graph (self) ? lookup (self, name) : NULL;
  if (item)
    set_frozen (self, item, frozen);
}

static void
action_freeze_up_to (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (widget);
  HoneLayerItem *item = self->recipe && graph (self) ? lookup (self, g_variant_get_string (param, NULL)) : NULL;
  if (!item)
    return;
  int last = row_last_node (item);
  g_autofree gboolean *frozen = g_new0 (gboolean, self->n_values);
  for (int id = 0; id < self->n_values; id++)
    if (self->param_node[id] >= 0)
      frozen[id] = self->param_node[id] <= last;
  write_frozen (self, frozen);
  changed (self);
}

static void
action_unfreeze_from (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (widget);
  HoneLayerItem *item = self->recipe && graph (self) ? lookup (self, g_variant_get_string (param, NULL)) : NULL;
  if (!item)
    return;
  int first = row_first_node (item);
  g_autofree gboolean *frozen = current_frozen (self);
  for (int id = 0; id < self->n_values; id++)
    if (self->param_node[id] >= first)
      frozen[id] = FALSE;
  write_frozen (self, frozen);
  changed (self);
}

static void
action_preset (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (widget);
  if (!self->recipe || self->updating)
    return;
  const char *mode = g_variant_get_string (param, NULL);
  if (strcmp (mode, "head") != 0 && strcmp (mode, "last") != 0 && strcmp (mode, "first") != 0
      && strcmp (mode, "none") != 0)
    return;
  self->updating = TRUE;
  set_key (self, "freeze.list", "");
  if (strcmp (mode, "last") == 0)
    set_key (self, "freeze.blocks", "1");
  else if (strcmp (mode, "first") == 0)
    {
      g_autofree char *k = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (self->k_spin));
      set_key (self, "freeze.blocks", k);
    }
  set_key (self, "freeze.mode", mode);
  self->updating = FALSE;
  changed (self);
}

static void
k_changed (GtkSpinButton *spin, HoneLayersPage *self)
{
  if (self->updating || !self->recipe)
    return;
  /* choosing k means the preset "first k frozen" */
  gtk_widget_activate_action (GTK_WIDGET (self), "layers.preset", "s", "first");
}

static void
set_block_mult (HoneLayersPage *self, HoneLayerItem *block, double mult)
{
  g_autofree char *prefix = NULL;
  double old = block_mult_entry (self, block, &prefix);
  if (!prefix || old == mult)
    return;
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
  gsize n = strlen (prefix);
  for (int i = 0; self->recipe->lr_mults && self->recipe->lr_mults[i]; i++)
    {
      const char *entry = self->recipe->lr_mults[i];
      const char *eq = strrchr (entry, '=');
      if (!(eq && (gsize) (eq - entry) == n && strncmp (entry, prefix, n) == 0))
        g_ptr_array_add (entries, g_strdup (entry));
    }
  if (mult != 1.0)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_ptr_array_add (entries, g_strconcat (prefix, "=", g_ascii_formatd (buf, sizeof buf, "%.4g", mult), NULL));
    }
  g_ptr_array_add (entries, NULL);
  g_autofree char *list = g_strjoinv (",", (char **) entries->pdata);
  self->updating = TRUE;
  set_key (self, "layers.lr_mult", list);
  self->updating = FALSE;
  changed (self);
}

static void
action_set_lr_mult (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (widget);
  const char *name;
  double mult;
  g_variant_get (param, "(&sd)", &name, &mult);
  HoneLayerItem *item = self->recipe && graph (self) ? lookup (self, name) : NULL;
  if (item && hone_layer_item_is_block (item))
    set_block_mult (self, item, mult);
}

/* ---- cells ------------------------------------------------------------------- */

static HoneLayerItem *
cell_item (GtkListItem *list_item)
{
  GtkTreeListRow *row = gtk_list_item_get_item (list_item);
  return row ? gtk_tree_list_row_get_item (row) : NULL;   /* transfer full */
}

static void
unbind_bindings (GtkListItem *list_item)
{
  GPtrArray *bindings = g_object_get_data (G_OBJECT (list_item), "hone-bindings");
  if (bindings)
    for (guint i = 0; i < bindings->len; i++)
      g_binding_unbind (bindings->pdata[i]);
  g_object_set_data (G_OBJECT (list_item), "hone-bindings", NULL);
}

static void
keep_binding (GtkListItem *list_item, GBinding *binding)
{
  GPtrArray *bindings = g_object_get_data (G_OBJECT (list_item), "hone-bindings");
  if (!bindings)
    {
      bindings = g_ptr_array_new ();
      g_object_set_data_full (G_OBJECT (list_item), "hone-bindings", bindings,
                              (GDestroyNotify) g_ptr_array_unref);
    }
  g_ptr_array_add (bindings, binding);
}

static void
row_pressed (GtkGestureClick *gesture, int n_press, double x, double y, GtkWidget *cell)
{
  const char *name = g_object_get_data (G_OBJECT (cell), "hone-name");
  HoneLayersPage *self = HONE_LAYERS_PAGE (gtk_widget_get_ancestor (cell, HONE_TYPE_LAYERS_PAGE));
  if (!name || !self)
    return;
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenuItem) up = g_menu_item_new (_("Freeze up to here"), NULL);
  g_menu_item_set_action_and_target (up, "layers.freeze-up-to", "s", name);
  g_menu_append_item (menu, up);
  g_autoptr (GMenuItem) from = g_menu_item_new (_("Unfreeze from here"), NULL);
  g_menu_item_set_action_and_target (from, "layers.unfreeze-from", "s", name);
  g_menu_append_item (menu, from);
  gtk_popover_menu_set_menu_model (GTK_POPOVER_MENU (self->menu), G_MENU_MODEL (menu));
  double px = x, py = y;
  gtk_widget_translate_coordinates (cell, GTK_WIDGET (self), x, y, &px, &py);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu), &(GdkRectangle) { (int) px, (int) py, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->menu));
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
name_setup (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *icon = gtk_image_new_from_icon_name ("weather-snow-symbolic");
  gtk_widget_set_tooltip_text (icon, _("Frozen: keeps its pretrained weights"));
  gtk_widget_add_css_class (icon, "accent");
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  GtkWidget *op = gtk_label_new (NULL);
  gtk_widget_add_css_class (op, "dim-label");
  gtk_widget_add_css_class (op, "caption");
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), op);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), box);
  GtkGesture *click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  g_signal_connect (click, "pressed", G_CALLBACK (row_pressed), expander);
  gtk_widget_add_controller (expander, GTK_EVENT_CONTROLLER (click));
  gtk_list_item_set_child (list_item, expander);
}

static void
update_icon (HoneLayerItem *item, GParamSpec *pspec, GtkWidget *icon)
{
  gboolean frozen = hone_layer_item_get_frozen (item);
  gboolean partly = hone_layer_item_get_partly_frozen (item);
  gtk_widget_set_opacity (icon, frozen ? 1.0 : partly ? 0.45 : 0.0);
  gtk_widget_set_tooltip_text (icon, frozen ? _("Frozen: keeps its pretrained weights")
                                   : partly ? _("Partly frozen") : NULL);
}

static void
name_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  GtkWidget *expander = gtk_list_item_get_child (list_item);
  gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (expander), gtk_list_item_get_item (list_item));
  g_autoptr (HoneLayerItem) item = cell_item (list_item);
  GtkWidget *box = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  GtkWidget *icon = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (icon);
  GtkWidget *op = gtk_widget_get_next_sibling (label);
  const char *name = hone_layer_item_get_name (item);
  gtk_label_set_text (GTK_LABEL (label), name[0] ? name : _("(no block)"));
  if (hone_layer_item_is_block (item))
    gtk_widget_add_css_class (label, "heading");
  else
    gtk_widget_remove_css_class (label, "heading");
  gtk_label_set_text (GTK_LABEL (op), hone_layer_item_get_op (item));
  g_object_set_data_full (G_OBJECT (expander), "hone-name", g_strdup (name), g_free);
  update_icon (item, NULL, icon);
  g_signal_connect_object (item, "notify::frozen", G_CALLBACK (update_icon), icon, 0);
  g_signal_connect_object (item, "notify::partly-frozen", G_CALLBACK (update_icon), icon, 0);
  g_object_set_data_full (G_OBJECT (list_item), "hone-item", g_object_ref (item), g_object_unref);
}

static void
name_unbind (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  HoneLayerItem *item = g_object_get_data (G_OBJECT (list_item), "hone-item");
  GtkWidget *expander = gtk_list_item_get_child (list_item);
  GtkWidget *box = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  if (item)
    g_signal_handlers_disconnect_by_func (item, update_icon, gtk_widget_get_first_child (box));
  g_object_set_data (G_OBJECT (list_item), "hone-item", NULL);
  gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (expander), NULL);
}

static void
text_setup (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
shape_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  g_autoptr (HoneLayerItem) item = cell_item (list_item);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)), hone_layer_item_get_shape (item));
}

static void
params_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  g_autoptr (HoneLayerItem) item = cell_item (list_item);
  int64_t n = hone_layer_item_get_n_params (item);
  g_autofree char *text = n ? hone_layer_item_format_params (n) : g_strdup ("—");
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)), text);
}

static void
switch_toggled (GtkSwitch *sw, GParamSpec *pspec, HoneLayersPage *self)
{
  HoneLayerItem *item = g_object_get_data (G_OBJECT (sw), "hone-item");
  if (!item || self->updating)
    return;
  gboolean active = gtk_switch_get_active (sw);
  if (active != hone_layer_item_get_frozen (item))
    gtk_widget_activate_action (GTK_WIDGET (self), "layers.set-frozen", "(sb)",
                                hone_layer_item_get_name (item), active);
}

static void
switch_setup (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  GtkWidget *sw = gtk_switch_new ();
  gtk_widget_set_halign (sw, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (sw, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (sw, _("On: frozen (keeps its pretrained weights); off: trains"));
  g_signal_connect (sw, "notify::active", G_CALLBACK (switch_toggled), self);
  gtk_list_item_set_child (list_item, sw);
}

static void
switch_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  g_autoptr (HoneLayerItem) item = cell_item (list_item);
  GtkWidget *sw = gtk_list_item_get_child (list_item);
  g_object_set_data (G_OBJECT (sw), "hone-item", NULL);
  gtk_switch_set_active (GTK_SWITCH (sw), hone_layer_item_get_frozen (item));
  gtk_widget_set_visible (sw, hone_layer_item_get_n_params (item) > 0);
  keep_binding (list_item, g_object_bind_property (item, "frozen", sw, "active", G_BINDING_DEFAULT));
  g_object_set_data_full (G_OBJECT (sw), "hone-item", g_object_ref (item), g_object_unref);
}

static void
switch_unbind (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  unbind_bindings (list_item);
  g_object_set_data (G_OBJECT (gtk_list_item_get_child (list_item)), "hone-item", NULL);
}

static void
mult_changed (GtkSpinButton *spin, HoneLayersPage *self)
{
  HoneLayerItem *item = g_object_get_data (G_OBJECT (spin), "hone-item");
  if (!item || self->updating)
    return;
  double v = gtk_spin_button_get_value (spin);
  if (v != hone_layer_item_get_block_mult (item))
    gtk_widget_activate_action (GTK_WIDGET (self), "layers.set-lr-mult", "(sd)",
                                hone_layer_item_get_name (item), v);
}

static gboolean
mult_to_text (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  /* Translators: an effective learning-rate multiplier, "× 0.5" */
  g_value_take_string (to, g_strdup_printf (_("× %.3g"), g_value_get_double (from)));
  return TRUE;
}

static void
mult_setup (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *spin = gtk_spin_button_new_with_range (0, 100, 0.1);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), 2);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (spin, _("Learning-rate multiplier of this block: below 1 changes its pretrained weights more gently, 0 stops it learning"));
  g_signal_connect (spin, "value-changed", G_CALLBACK (mult_changed), self);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_add_css_class (label, "numeric");
  gtk_widget_set_hexpand (label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_box_append (GTK_BOX (box), spin);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_item_set_child (list_item, box);
}

static void
mult_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  g_autoptr (HoneLayerItem) item = cell_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *spin = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (spin);
  gboolean block = hone_layer_item_is_block (item);
  g_object_set_data (G_OBJECT (spin), "hone-item", NULL);
  gtk_widget_set_visible (spin, block && hone_layer_item_get_n_params (item) > 0);
  gtk_widget_set_visible (label, !block && hone_layer_item_get_n_params (item) > 0);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), hone_layer_item_get_block_mult (item));
  keep_binding (list_item, g_object_bind_property (item, "block-mult", spin, "value", G_BINDING_DEFAULT));
  keep_binding (list_item, g_object_bind_property_full (item, "lr-mult", label, "label", G_BINDING_SYNC_CREATE,
                                                        mult_to_text, NULL, NULL, NULL));
  g_object_set_data_full (G_OBJECT (spin), "hone-item", g_object_ref (item), g_object_unref);
}

static void
mult_unbind (GtkSignalListItemFactory *f, GtkListItem *list_item, HoneLayersPage *self)
{
  unbind_bindings (list_item);
  GtkWidget *spin = gtk_widget_get_first_child (gtk_list_item_get_child (list_item));
  g_object_set_data (G_OBJECT (spin), "hone-item", NULL);
}

static gboolean
unfreeze_to_text (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  int epoch = g_value_get_int (from);
  /* Translators: progressive unfreezing, "after epoch 2" */
  g_value_take_string (to, epoch ? g_strdup_printf (_("after epoch %d"), epoch) : g_strdup (""));
  return TRUE;
}

static void
unfreeze_bind (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  g_autoptr (HoneLayerItem) item = cell_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  keep_binding (list_item, g_object_bind_property_full (item, "unfreeze-epoch", label, "label",
                                                        G_BINDING_SYNC_CREATE, unfreeze_to_text,
                                                        NULL, NULL, NULL));
}

static void
unfreeze_unbind (GtkSignalListItemFactory *f, GtkListItem *list_item, gpointer data)
{
  unbind_bindings (list_item);
}

static void
add_column (HoneLayersPage *self, const char *title, gboolean expand,
            GCallback setup, GCallback bind, GCallback unbind, GCallback teardown)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", setup, self);
  g_signal_connect (factory, "bind", bind, self);
  if (unbind)
    g_signal_connect (factory, "unbind", unbind, self);
  if (teardown)
    g_signal_connect (factory, "teardown", teardown, self);
  GtkColumnViewColumn *column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (column, expand);
  gtk_column_view_append_column (self->view, column);
  g_object_unref (column);
}

/* ---- the GObject ----------------------------------------------------------------- */

static void
hone_layers_page_dispose (GObject *object)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (object);
  if (self->menu && gtk_widget_get_parent (self->menu) == GTK_WIDGET (self))
    gtk_widget_unparent (self->menu);
  g_clear_object (&self->menu);
  adw_bin_set_child (ADW_BIN (self), NULL);
  g_clear_object (&self->tree);
  g_clear_object (&self->blocks);
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  G_OBJECT_CLASS (hone_layers_page_parent_class)->dispose (object);
}

static void
hone_layers_page_finalize (GObject *object)
{
  HoneLayersPage *self = HONE_LAYERS_PAGE (object);
  g_free (self->plan);
  g_free (self->param_node);
  g_strfreev (self->head);
  g_free (self->count_text);
  G_OBJECT_CLASS (hone_layers_page_parent_class)->finalize (object);
}

static void
hone_layers_page_class_init (HoneLayersPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = hone_layers_page_dispose;
  object_class->finalize = hone_layers_page_finalize;

  /* Emitted after the page edited the recipe. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-layers-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, stack);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, head_button);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, last_button);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, first_button);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, all_button);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, k_spin);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, count_label);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, detail_label);
  gtk_widget_class_bind_template_child (widget_class, HoneLayersPage, view);

  gtk_widget_class_install_action (widget_class, "layers.preset", "s", action_preset);
  gtk_widget_class_install_action (widget_class, "layers.set-frozen", "(sb)", action_set_frozen);
  gtk_widget_class_install_action (widget_class, "layers.freeze-up-to", "s", action_freeze_up_to);
  gtk_widget_class_install_action (widget_class, "layers.unfreeze-from", "s", action_unfreeze_from);
  gtk_widget_class_install_action (widget_class, "layers.set-lr-mult", "(sd)", action_set_lr_mult);
}

static void
hone_layers_page_init (HoneLayersPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->blocks = g_list_store_new (HONE_TYPE_LAYER_ITEM);
  self->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->count_text = g_strdup ("");
  self->tree = gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (self->blocks)), FALSE, FALSE,
                                        create_children, NULL, NULL);
  GtkNoSelection *selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->tree)));
  gtk_column_view_set_model (self->view, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);

  /* Translators: column headings of the Layers page */
  add_column (self, _("Layer"), TRUE, G_CALLBACK (name_setup), G_CALLBACK (name_bind),
              G_CALLBACK (name_unbind), NULL);
  add_column (self, _("Output"), FALSE, G_CALLBACK (text_setup), G_CALLBACK (shape_bind), NULL, NULL);
  add_column (self, _("Parameters"), FALSE, G_CALLBACK (text_setup), G_CALLBACK (params_bind), NULL, NULL);
  add_column (self, _("Frozen"), FALSE, G_CALLBACK (switch_setup), G_CALLBACK (switch_bind),
              G_CALLBACK (switch_unbind), NULL);
  add_column (self, _("LR multiplier"), FALSE, G_CALLBACK (mult_setup), G_CALLBACK (mult_bind),
              G_CALLBACK (mult_unbind), NULL);
  add_column (self, _("Unfreezes"), FALSE, G_CALLBACK (text_setup), G_CALLBACK (unfreeze_bind),
              G_CALLBACK (unfreeze_unbind), NULL);
  g_signal_connect (self->k_spin, "value-changed", G_CALLBACK (k_changed), self);
  self->menu = g_object_ref_sink (gtk_popover_menu_new_from_model (NULL));
  gtk_popover_set_has_arrow (GTK_POPOVER (self->menu), FALSE);
  gtk_widget_set_halign (self->menu, GTK_ALIGN_START);
  gtk_widget_set_parent (self->menu, GTK_WIDGET (self));
  refresh (self);
}

GtkWidget *
hone_layers_page_new (void)
{
  return g_object_new (HONE_TYPE_LAYERS_PAGE, NULL);
}

void
hone_layers_page_set_recipe (HoneLayersPage *self, HoneRecipe *recipe)
{
  g_return_if_fail (HONE_IS_LAYERS_PAGE (self));
  self->recipe = recipe;
  refresh (self);
}

void
hone_layers_page_set_model (HoneLayersPage *self, HoneModel *model)
{
  g_return_if_fail (HONE_IS_LAYERS_PAGE (self));
  self->model = model;
  build_tree (self);
  refresh (self);
}

void
hone_layers_page_sync (HoneLayersPage *self)
{
  g_return_if_fail (HONE_IS_LAYERS_PAGE (self));
  refresh (self);
}

const char *
hone_layers_page_get_count_text (HoneLayersPage *self)
{
  g_return_val_if_fail (HONE_IS_LAYERS_PAGE (self), NULL);
  return self->count_text;
}

void
hone_layers_page_get_counts (HoneLayersPage *self, int64_t *trainable, int64_t *total)
{
  g_return_if_fail (HONE_IS_LAYERS_PAGE (self));
  if (trainable)
    *trainable = self->n_trainable;
  if (total)
    *total = self->n_total;
}

GListModel *
hone_layers_page_get_rows (HoneLayersPage *self)
{
  g_return_val_if_fail (HONE_IS_LAYERS_PAGE (self), NULL);
  return G_LIST_MODEL (self->tree);
}
