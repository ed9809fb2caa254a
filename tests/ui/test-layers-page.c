/* test-layers-page.c: the Layers page driven through its actions and
 * switches, checking the recipe it writes against what the engine's own
 * freezing (the trainer's) makes of it. */
#include "config.h"

#include <string.h>

#include "hone-layer-item.h"
#include "hone-layers-page.h"
#include "hone-ui-test-util.h"

typedef struct
{
  HoneRecipe *recipe;
  HoneModel *model;
  HoneLayersPage *page;
  GtkWindow *window;
  int changed;
} Fixture;

static void
on_changed (HoneLayersPage *page, Fixture *f)
{
  f->changed++;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->recipe = hone_recipe_new ();
  /* the default recipe freezes the first stages of its zoo model; these
   * tests start from a recipe that trains everything */
  g_assert_true (hone_recipe_set (f->recipe, "freeze.mode=none", NULL));
  f->model = hone_ui_test_model ("resnet18", 10, 3, 32);
  f->page = HONE_LAYERS_PAGE (hone_layers_page_new ());
  g_signal_connect (f->page, "changed", G_CALLBACK (on_changed), f);
  f->window = hone_ui_test_window (GTK_WIDGET (f->page), 1000, 700);
  hone_layers_page_set_recipe (f->page, f->recipe);
  hone_layers_page_set_model (f->page, f->model);
  hone_ui_test_wait (100);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (f->window);
  hone_ui_test_wait (50);
  hone_ui_test_model_free (f->model);
  hone_recipe_free (f->recipe);
}

/* The trainable parameter count the trainer would get from the recipe. */
static int64_t
engine_trainable (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = f->model->graph;
  g_assert_true (hone_recipe_apply_freezing (f->recipe, g, "resnet18", &error));
  g_assert_no_error (error);
  int64_t n = hone_graph_n_trainable_params (g);
  const char *all[] = { "all", NULL };
  hone_freeze_set_matching (g, all, TRUE);
  return n;
}

static gboolean
engine_trains (Fixture *f, const char *param)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = f->model->graph;
  g_assert_true (hone_recipe_apply_freezing (f->recipe, g, "resnet18", &error));
  gboolean t = hone_graph_value (g, hone_graph_find (g, param))->trainable;
  const char *all[] = { "all", NULL };
  hone_freeze_set_matching (g, all, TRUE);
  return t;
}

static char *
get (Fixture *f, const char *key)
{
  return hone_recipe_get (f->recipe, key, NULL);
}

static void
test_presets (Fixture *f, gconstpointer data)
{
  int64_t trainable, total;
  hone_layers_page_get_counts (f->page, &trainable, &total);
  g_assert_cmpint (total, ==, 11181642);           /* resnet18, 10 classes */
  g_assert_cmpint (trainable, ==, total);
  g_assert_cmpstr (hone_layers_page_get_count_text (f->page), ==, "11.2 M of 11.2 M parameters will train");

  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.preset", "s", "head");
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_HEAD);
  g_assert_cmpint (f->changed, ==, 1);
  hone_layers_page_get_counts (f->page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, 512 * 10 + 10);   /* fc only */
  g_assert_cmpint (trainable, ==, engine_trainable (f));
  g_assert_false (engine_trains (f, "layer4.1.conv2.weight"));
  g_assert_true (engine_trains (f, "fc.weight"));
  g_assert_cmpstr (hone_layers_page_get_count_text (f->page), ==, "5.1 k of 11.2 M parameters will train");
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "layers-head");

  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.preset", "s", "last");
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_LAST);
  g_assert_cmpint (f->recipe->freeze_blocks, ==, 1);
  hone_layers_page_get_counts (f->page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, engine_trainable (f));
  g_assert_true (engine_trains (f, "layer4.1.conv2.weight"));
  g_assert_false (engine_trains (f, "layer4.0.conv2.weight"));

  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.preset", "s", "none");
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_NONE);
  hone_layers_page_get_counts (f->page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, total);
}

static void
test_freeze_up_to (Fixture *f, gconstpointer data)
{
  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.freeze-up-to", "s", "layer2.1");
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_LIST);
  g_autofree char *list = get (f, "freeze.list");
  g_assert_cmpstr (list, ==, "stem,layer1.0.,layer1.1.,layer2.0.,layer2.1.");
  g_assert_false (engine_trains (f, "conv1.weight"));
  g_assert_false (engine_trains (f, "layer2.1.bn2.bias"));
  g_assert_true (engine_trains (f, "layer3.0.conv1.weight"));
  g_assert_true (engine_trains (f, "fc.bias"));
  int64_t trainable;
  hone_layers_page_get_counts (f->page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, engine_trainable (f));

  /* a layer inside a block: up to layer3.0.bn1 */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.freeze-up-to", "s", "layer3.0.bn1");
  g_assert_false (engine_trains (f, "layer3.0.bn1.weight"));
  g_assert_true (engine_trains (f, "layer3.0.conv2.weight"));

  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.unfreeze-from", "s", "layer1.1");
  g_assert_false (engine_trains (f, "layer1.0.conv1.weight"));
  g_assert_true (engine_trains (f, "layer1.1.conv1.weight"));
  g_assert_true (engine_trains (f, "layer3.0.bn1.weight"));

  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.unfreeze-from", "s", "stem");
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_NONE);
  hone_layers_page_get_counts (f->page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, 11181642);
}

static void
find_switches (GtkWidget *w, GPtrArray *out)
{
  if (GTK_IS_SWITCH (w))
    g_ptr_array_add (out, w);
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    find_switches (c, out);
}

static GtkSwitch *
switch_of (Fixture *f, const char *name)
{
  g_autoptr (GPtrArray) switches = g_ptr_array_new ();
  find_switches (GTK_WIDGET (f->page), switches);
  for (guint i = 0; i < switches->len; i++)
    {
      HoneLayerItem *item = g_object_get_data (switches->pdata[i], "hone-item");
      if (item && strcmp (hone_layer_item_get_name (item), name) == 0)
        return switches->pdata[i];
    }
  return NULL;
}

static HoneLayerItem *
row_item (Fixture *f, const char *name)
{
  GListModel *rows = hone_layers_page_get_rows (f->page);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr (GtkTreeListRow) row = g_list_model_get_item (rows, i);
      g_autoptr (HoneLayerItem) item = gtk_tree_list_row_get_item (row);
      if (strcmp (hone_layer_item_get_name (item), name) == 0)
        return item;
    }
  return NULL;
}

static void
test_switches (Fixture *f, gconstpointer data)
{
  /* a block's switch, clicked as a person would */
  GtkSwitch *sw = switch_of (f, "layer1.0");
  g_assert_nonnull (sw);
  g_assert_false (gtk_switch_get_active (sw));
  gtk_switch_set_active (sw, TRUE);
  g_assert_cmpint (f->changed, ==, 1);
  g_autofree char *list = get (f, "freeze.list");
  g_assert_cmpstr (list, ==, "layer1.0.");
  g_assert_false (engine_trains (f, "layer1.0.conv1.weight"));
  g_assert_true (engine_trains (f, "layer1.1.conv1.weight"));
  g_assert_true (hone_layer_item_get_frozen (row_item (f, "layer1.0")));

  /* expand a block: its layers' switches, and a partly frozen block */
  GListModel *rows = hone_layers_page_get_rows (f->page);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr (GtkTreeListRow) row = g_list_model_get_item (rows, i);
      g_autoptr (HoneLayerItem) item = gtk_tree_list_row_get_item (row);
      if (strcmp (hone_layer_item_get_name (item), "layer2.0") == 0)
        gtk_tree_list_row_set_expanded (row, TRUE);
    }
  hone_ui_test_wait (200);
  GtkSwitch *conv = switch_of (f, "layer2.0.conv1");
  g_assert_nonnull (conv);
  gtk_switch_set_active (conv, TRUE);
  g_autofree char *list2 = get (f, "freeze.list");
  g_assert_cmpstr (list2, ==, "layer1.0.,layer2.0.conv1.");
  g_assert_false (engine_trains (f, "layer2.0.conv1.weight"));
  g_assert_true (engine_trains (f, "layer2.0.bn1.weight"));
  HoneLayerItem *block = row_item (f, "layer2.0");
  g_assert_true (hone_layer_item_get_partly_frozen (block));
  g_assert_false (hone_layer_item_get_frozen (block));
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "layers-switches");

  /* the switch follows a preset */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.preset", "s", "head");
  g_assert_true (gtk_switch_get_active (switch_of (f, "layer1.1")));
  g_assert_false (gtk_switch_get_active (switch_of (f, "head")));
}

static void
test_lr_mult (Fixture *f, gconstpointer data)
{
  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.set-lr-mult", "(sd)", "layer4.1", 0.5);
  g_autofree char *mults = get (f, "layers.lr_mult");
  g_assert_cmpstr (mults, ==, "layer4.1.=0.5");
  g_assert_cmpfloat (hone_layer_item_get_block_mult (row_item (f, "layer4.1")), ==, 0.5);
  g_assert_cmpfloat (hone_layer_item_get_lr_mult (row_item (f, "layer4.1")), ==, 0.5);
  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.set-lr-mult", "(sd)", "stem", 0.1);
  g_autofree char *mults2 = get (f, "layers.lr_mult");
  g_assert_cmpstr (mults2, ==, "layer4.1.=0.5,stem=0.1");

  /* the engine's multipliers agree */
  g_autoptr (GError) error = NULL;
  HoneGraph *g = f->model->graph;
  g_assert_true (hone_recipe_apply_lr_mults (f->recipe, g, "resnet18", &error));
  g_assert_cmpfloat (hone_graph_value (g, hone_graph_find (g, "layer4.1.conv1.weight"))->lr_mult, ==, 0.5f);
  g_assert_cmpfloat (hone_graph_value (g, hone_graph_find (g, "conv1.weight"))->lr_mult, ==, 0.1f);
  g_assert_cmpfloat (hone_graph_value (g, hone_graph_find (g, "fc.weight"))->lr_mult, ==, 1.0f);

  /* back to 1 removes the entry */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "layers.set-lr-mult", "(sd)", "layer4.1", 1.0);
  g_autofree char *mults3 = get (f, "layers.lr_mult");
  g_assert_cmpstr (mults3, ==, "stem=0.1");
}

static void
test_progressive (Fixture *f, gconstpointer data)
{
  g_assert_true (hone_recipe_set (f->recipe, "freeze.mode=head", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "layers.unfreeze=2:layer4,3:layer3", NULL));
  hone_layers_page_sync (f->page);
  g_assert_cmpint (hone_layer_item_get_unfreeze_epoch (row_item (f, "layer4.0")), ==, 2);
  g_assert_cmpint (hone_layer_item_get_unfreeze_epoch (row_item (f, "layer3.1")), ==, 3);
  g_assert_cmpint (hone_layer_item_get_unfreeze_epoch (row_item (f, "layer2.1")), ==, 0);
  g_assert_true (hone_layer_item_get_frozen (row_item (f, "layer4.0")));
  g_assert_false (hone_layer_item_get_frozen (row_item (f, "head")));
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "layers-progressive");

  /* a setting that does not fit the model is shown, not a crash */
  g_assert_true (hone_recipe_set (f->recipe, "freeze.mode=first", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "freeze.blocks=20", NULL));
  hone_layers_page_sync (f->page);
  int64_t trainable;
  hone_layers_page_get_counts (f->page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, 0);
}

static void
test_no_model (void)
{
  g_autoptr (HoneRecipe) recipe = hone_recipe_new ();
  HoneLayersPage *page = HONE_LAYERS_PAGE (hone_layers_page_new ());
  GtkWindow *window = hone_ui_test_window (GTK_WIDGET (page), 800, 600);
  hone_layers_page_set_recipe (page, recipe);
  hone_ui_test_screenshot (GTK_WIDGET (page), "layers-empty");
  g_assert_cmpstr (hone_layers_page_get_count_text (page), ==, "");
  HoneModel *model = hone_ui_test_model ("cnn-s", 5, 1, 28);
  hone_layers_page_set_model (page, model);
  gtk_widget_activate_action (GTK_WIDGET (page), "layers.preset", "s", "head");
  int64_t trainable;
  hone_layers_page_get_counts (page, &trainable, NULL);
  g_assert_cmpint (trainable, ==, 128 * 5 + 5);
  hone_layers_page_set_model (page, NULL);
  gtk_window_destroy (window);
  hone_ui_test_wait (50);
  hone_ui_test_model_free (model);
}

int
main (int argc, char **argv)
{
  hone_ui_test_init (&argc, &argv);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/ui/layers/presets", test_presets);
  ADD ("/ui/layers/freeze-up-to", test_freeze_up_to);
  ADD ("/ui/layers/switches", test_switches);
  ADD ("/ui/layers/lr-mult", test_lr_mult);
  ADD ("/ui/layers/progressive", test_progressive);
  g_test_add_func ("/ui/layers/no-model", test_no_model);
  return g_test_run ();
}
