/* test-training-page.c: the Training page's controls write the recipe, rows
 * follow the choices they depend on, the guidance applies a preset, and the
 * LR plot draws known schedules where they belong (rendered to pixels). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-bar-chart.h"
#include "hone-training-page.h"
#include "hone-ui-test-util.h"

typedef struct
{
  HoneRecipe *recipe;
  HoneModel *model;
  HoneTrainingPage *page;
  GtkWindow *window;
  int changed;
} Fixture;

static void
on_changed (HoneTrainingPage *page, Fixture *f)
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
  f->model = hone_ui_test_model ("resnet18", 5, 3, 32);
  f->page = HONE_TRAINING_PAGE (hone_training_page_new ());
  g_signal_connect (f->page, "changed", G_CALLBACK (on_changed), f);
  f->window = hone_ui_test_window (GTK_WIDGET (f->page), 1280, 800);
  hone_training_page_set_recipe (f->page, f->recipe);
  hone_training_page_set_model (f->page, f->model);
  hone_training_page_set_data_size (f->page, 1000, 5);   /* 1000 images: 16 steps of 64 */
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

static void
select_choice (Fixture *f, const char *key, guint index)
{
  GtkWidget *combo = hone_training_page_get_control (f->page, key);
  g_assert_true (GTK_IS_DROP_DOWN (combo));
  gtk_drop_down_set_selected (GTK_DROP_DOWN (combo), index);
}

static void
set_spin (Fixture *f, const char *key, double value)
{
  GtkWidget *spin = hone_training_page_get_control (f->page, key);
  g_assert_true (GTK_IS_SPIN_BUTTON (spin));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
}

/* The mean row of the pixels of the first group's colour in column x
 * above the axis (the legend below has the colour too), or -1 when there
 * are none. */
static HoneLrPlot *current_plot;

static double
line_y (cairo_surface_t *s, int x)
{
  GdkRGBA c;
  hone_class_color (0, &c);
  int h = (int) hone_lr_plot_y_for_lr (current_plot, 0) + 3;
  int stride = cairo_image_surface_get_stride (s);
  const guint8 *data = cairo_image_surface_get_data (s);
  double sum = 0;
  int n = 0;
  for (int y = 0; y < h; y++)
    {
      guint32 p = *(const guint32 *) (data + y * stride + x * 4);
      int a = p >> 24, r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
      if (a > 200 && abs (r - (int) (c.red * 255)) < 40 && abs (g - (int) (c.green * 255)) < 40
          && abs (b - (int) (c.blue * 255)) < 40)
        {
          sum += y;
          n++;
        }
    }
  return n ? sum / n : -1;
}

static void
test_controls (Fixture *f, gconstpointer data)
{
  set_spin (f, "optimizer.lr", 0.05);
  g_assert_cmpfloat_with_epsilon (f->recipe->lr, 0.05, 1e-12);
  g_assert_cmpint (f->changed, ==, 1);
  set_spin (f, "train.epochs", 8);
  g_assert_cmpint (f->recipe->epochs, ==, 8);
  set_spin (f, "train.batch", 32);
  set_spin (f, "train.accum", 2);
  g_assert_cmpint (f->recipe->batch, ==, 32);
  g_assert_cmpint (f->recipe->accum, ==, 2);

  /* optimizer choice shows its own rows */
  GtkWidget *momentum = gtk_widget_get_ancestor (hone_training_page_get_control (f->page, "optimizer.momentum"),
                                                 ADW_TYPE_ACTION_ROW);
  GtkWidget *beta1 = gtk_widget_get_ancestor (hone_training_page_get_control (f->page, "optimizer.beta1"),
                                              ADW_TYPE_ACTION_ROW);
  g_assert_true (gtk_widget_get_visible (momentum));
  g_assert_false (gtk_widget_get_visible (beta1));
  select_choice (f, "optimizer.name", 2);
  g_assert_cmpint (f->recipe->optimizer.kind, ==, HONE_OPTIM_ADAMW);
  g_assert_false (gtk_widget_get_visible (momentum));
  g_assert_true (gtk_widget_get_visible (beta1));

  /* loss, label smoothing, augmentation, stopping, seed */
  select_choice (f, "loss.name", 1);
  g_autofree char *loss = hone_recipe_get (f->recipe, "loss.name", NULL);
  g_assert_cmpstr (loss, ==, "focal");
  set_spin (f, "loss.focal_gamma", 3);
  set_spin (f, "loss.label_smoothing", 0.1);
  gtk_switch_set_active (GTK_SWITCH (hone_training_page_get_control (f->page, "loss.class_weights")), TRUE);
  g_assert_true (f->recipe->class_weights);
  set_spin (f, "augment.rotate", 15);
  g_assert_cmpfloat (f->recipe->augment.rotate, ==, 15);
  set_spin (f, "augment.mixup_alpha", 0.2);
  gtk_switch_set_active (GTK_SWITCH (hone_training_page_get_control (f->page, "stop.early")), TRUE);
  g_assert_true (f->recipe->early_stopping);
  set_spin (f, "stop.patience", 4);
  g_assert_cmpint (f->recipe->patience, ==, 4);
  set_spin (f, "train.seed", 42);
  g_assert_cmpuint (f->recipe->seed, ==, 42);
  set_spin (f, "optimizer.weight_decay", 0.01);
  set_spin (f, "model.dropout", 0.3);
  g_assert_cmpfloat_with_epsilon (f->recipe->dropout, 0.3, 1e-9);

  /* the recipe reloads from its own text: everything written is valid */
  g_autofree char *text = hone_recipe_to_data (f->recipe, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneRecipe) again = hone_recipe_from_data (text, (gsize) -1, NULL, &error);
  g_assert_no_error (error);

  /* an invalid entry is marked and changes nothing */
  select_choice (f, "schedule.name", 2);
  GtkWidget *milestones = hone_training_page_get_control (f->page, "schedule.milestones");
  gtk_editable_set_text (GTK_EDITABLE (milestones), "5,3");
  g_signal_emit_by_name (milestones, "apply");
  g_assert_true (gtk_widget_has_css_class (milestones, "error"));
  g_assert_cmpint (f->recipe->schedule.n_milestones, ==, 2);
  gtk_editable_set_text (GTK_EDITABLE (milestones), "3,6");
  g_signal_emit_by_name (milestones, "apply");
  g_assert_false (gtk_widget_has_css_class (milestones, "error"));
  g_assert_cmpfloat (f->recipe->schedule.milestones[1], ==, 6);

  /* progressive unfreezing through its entry */
  GtkWidget *unfreeze = hone_training_page_get_control (f->page, "layers.unfreeze");
  gtk_editable_set_text (GTK_EDITABLE (unfreeze), "2:layer4,4:layer3");
  g_signal_emit_by_name (unfreeze, "apply");
  g_assert_cmpint (f->recipe->n_unfreeze, ==, 2);

  /* sync shows what another page wrote */
  g_assert_true (hone_recipe_set (f->recipe, "optimizer.name=sgd", NULL));
  hone_training_page_sync (f->page);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (hone_training_page_get_control (f->page, "optimizer.name"))), ==, 0);
  g_assert_true (gtk_widget_get_visible (momentum));
}

static void
test_plot_warmup (Fixture *f, gconstpointer data)
{
  /* constant lr 0.1 after 2 epochs of linear warmup from 0.1 x, 6 epochs */
  set_spin (f, "optimizer.lr", 0.1);
  set_spin (f, "train.epochs", 6);
  select_choice (f, "schedule.name", 0);
  select_choice (f, "schedule.warmup", 1);
  set_spin (f, "schedule.warmup_epochs", 2);
  set_spin (f, "schedule.warmup_start_factor", 0.1);
  hone_ui_test_wait (100);
  HoneLrPlot *plot = hone_training_page_get_plot (f->page);
  current_plot = plot;
  g_assert_cmpint (hone_lr_plot_get_n_groups (plot), ==, 1);
  g_assert_cmpfloat_with_epsilon (hone_lr_plot_get_peak (plot), 0.1, 1e-9);
  cairo_surface_t *s = hone_ui_test_render (GTK_WIDGET (plot));
  int64_t spe = 16;                                  /* 1000 images / 64 */
  double prev = G_MAXDOUBLE;
  for (int k = 1; k <= 7; k++)
    {
      /* rises through the warmup: smaller y is higher */
      double y = line_y (s, (int) hone_lr_plot_x_for_step (plot, k * 2 * spe / 8.0));
      g_assert_cmpfloat (y, >=, 0);
      g_assert_cmpfloat (y, <, prev - 2);
      prev = y;
    }
  double flat = hone_lr_plot_y_for_lr (plot, 0.1);
  for (int e = 3; e <= 5; e++)
    g_assert_cmpfloat (fabs (line_y (s, (int) hone_lr_plot_x_for_step (plot, e * spe)) - flat), <, 3);
  /* the start: 0.1 x of the lr */
  double start = line_y (s, (int) ceil (hone_lr_plot_x_for_step (plot, 0)) + 1);
  g_assert_cmpfloat (fabs (start - hone_lr_plot_y_for_lr (plot, 0.01)), <, 4);
  cairo_surface_destroy (s);
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "training-warmup");
}

static void
test_plot_step (Fixture *f, gconstpointer data)
{
  /* step: lr 0.1, x 0.1 every 2 epochs, no warmup, 6 epochs */
  set_spin (f, "optimizer.lr", 0.1);
  set_spin (f, "train.epochs", 6);
  select_choice (f, "schedule.warmup", 0);
  select_choice (f, "schedule.name", 1);
  set_spin (f, "schedule.step_epochs", 2);
  set_spin (f, "schedule.gamma", 0.1);
  g_assert_cmpint (f->recipe->schedule.kind, ==, HONE_SCHEDULE_STEP);
  hone_ui_test_wait (100);
  HoneLrPlot *plot = hone_training_page_get_plot (f->page);
  current_plot = plot;
  cairo_surface_t *s = hone_ui_test_render (GTK_WIDGET (plot));
  int64_t spe = 16;
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "training-step");
  double high = hone_lr_plot_y_for_lr (plot, 0.1), low = hone_lr_plot_y_for_lr (plot, 0.01);
  /* just before and just after epoch 2 */
  double before = line_y (s, (int) hone_lr_plot_x_for_step (plot, 2 * spe) - 4);
  double after = line_y (s, (int) hone_lr_plot_x_for_step (plot, 2 * spe) + 4);
  g_assert_cmpfloat (fabs (before - high), <, 3);
  g_assert_cmpfloat (fabs (after - low), <, 3);
  double late = line_y (s, (int) hone_lr_plot_x_for_step (plot, 5 * spe));
  g_assert_cmpfloat (fabs (late - hone_lr_plot_y_for_lr (plot, 0.001)), <, 3);
  cairo_surface_destroy (s);
}

static void
test_plot_groups (Fixture *f, gconstpointer data)
{
  g_assert_true (hone_recipe_set (f->recipe, "freeze.mode=head", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "train.epochs=6", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "layers.unfreeze=2:layer4,4:layer3", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "layers.lr_mult=layer4=0.5", NULL));
  hone_training_page_sync (f->page);
  HoneLrPlot *plot = hone_training_page_get_plot (f->page);
  /* stem - layer2.1 frozen, layer3 (from 4), layer4 (from 2, x 0.5), head */
  g_assert_cmpint (hone_lr_plot_get_n_groups (plot), ==, 4);
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "training-groups");
}

static void
test_guidance (Fixture *f, gconstpointer data)
{
  hone_training_page_set_data_size (f->page, 250, 5);      /* 50 per class */
  GtkWidget *similar = NULL;
  g_assert_nonnull (hone_training_page_get_suggestion (f->page));
  g_assert_nonnull (strstr (hone_training_page_get_suggestion (f->page), "Head only"));
  gtk_widget_activate_action (GTK_WIDGET (f->page), "training.apply-guidance", NULL);
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_HEAD);
  g_assert_cmpint (f->changed, ==, 1);

  hone_training_page_set_data_size (f->page, 50000, 5);
  g_assert_nonnull (strstr (hone_training_page_get_suggestion (f->page), "All trainable"));
  gtk_widget_activate_action (GTK_WIDGET (f->page), "training.apply-guidance", NULL);
  g_assert_cmpint (f->recipe->freeze_mode, ==, HONE_FREEZE_NONE);
  (void) similar;
}

int
main (int argc, char **argv)
{
  hone_ui_test_init (&argc, &argv);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/ui/training/controls", test_controls);
  ADD ("/ui/training/plot-warmup", test_plot_warmup);
  ADD ("/ui/training/plot-step", test_plot_step);
  ADD ("/ui/training/plot-groups", test_plot_groups);
  ADD ("/ui/training/guidance", test_guidance);
  return g_test_run ();
}
