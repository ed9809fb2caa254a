/* test-analyze-page.c: the Analyze page with a real HoneEvaluation (the
 * validation of a short cnn-s run on Fashion-MNIST): the heat map, the
 * per-class table and the gallery, filtered by a clicked cell and sorted. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-analyze-page.h"
#include "hone-class-row.h"
#include "hone-eval-item.h"
#include "hone-trainer.h"
#include "hone-chart-test-util.h"

static HoneEvaluation *evaluation;

static void
on_event (HoneTrainer *trainer, const HoneEvent *ev, gpointer data)
{
  if (ev->kind == HONE_EVENT_VALIDATION && ev->validation)
    {
      g_clear_pointer (&evaluation, hone_evaluation_free);
      evaluation = hone_evaluation_copy (ev->validation);
    }
}

/* One short run; its last validation is what every test shows. */
static void
make_evaluation (void)
{
  g_autofree char *tmp = hone_test_make_tmp_dir ("hone-ui-test-XXXXXX");
  g_autofree char *run_dir = g_build_filename (tmp, "run", NULL);
  g_autoptr (HoneRecipe) recipe = hone_chart_test_tiny_recipe (500, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneTrainer) trainer = hone_trainer_new (recipe, run_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_trainer_run_sync (trainer, on_event, NULL), ==, HONE_FINISH_COMPLETED);
  g_assert_nonnull (evaluation);
  g_assert_cmpint (evaluation->n_classes, ==, 5);
  g_assert_cmpint (evaluation->n_misclassified, >, 2);
  hone_test_remove_tree (tmp);
}

/* Samples the evaluation kept (worst and misclassified, once each) that
 * fall in cell (t, p); -1 matches any. */
static int
kept_in_cell (int t, int p, gboolean misclassified_only)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
  int n = 0;
  for (int list = 0; list < 2; list++)
    {
      const HoneEvalSample *s = list == 0 ? evaluation->worst : evaluation->misclassified;
      int count = list == 0 ? evaluation->n_worst : evaluation->n_misclassified;
      for (int i = 0; i < count; i++)
        {
          if (g_hash_table_contains (seen, GINT_TO_POINTER (s[i].sample)))
            continue;
          g_hash_table_add (seen, GINT_TO_POINTER (s[i].sample));
          if ((t < 0 || s[i].label == t) && (p < 0 || s[i].predicted == p)
              && (!misclassified_only || s[i].label != s[i].predicted))
            n++;
        }
    }
  return n;
}

static GtkEventController *
find_controller (GtkWidget *widget, GType type)
{
  GtkEventController *found = NULL;
  GListModel *controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        found = GTK_EVENT_CONTROLLER (c);
    }
  g_object_unref (controllers);
  g_assert_nonnull (found);
  return found;
}

static int
count_pictures (GtkWidget *widget)
{
  int n = GTK_IS_PICTURE (widget) && gtk_widget_get_mapped (widget)
          && gtk_picture_get_paintable (GTK_PICTURE (widget)) != NULL;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    n += count_pictures (c);
  return n;
}

static void
test_empty (void)
{
  HoneAnalyzePage *page = hone_analyze_page_new ();
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (page), 1000, 700);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (hone_analyze_page_get_heatmap (page))));
  g_assert_cmpuint (g_list_model_get_n_items (hone_analyze_page_get_gallery_model (page)), ==, 0);
  hone_chart_test_screenshot ("analyze-empty");
  gtk_window_destroy (window);
}

static void
test_evaluation (void)
{
  hone_chart_test_set_dark (FALSE);
  HoneAnalyzePage *page = hone_analyze_page_new ();
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (page), 1280, 800);
  gtk_window_maximize (window);
  hone_analyze_page_set_evaluation (page, evaluation);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 3);
  const HoneEvaluation *ev = evaluation;
  int k = ev->n_classes;

  /* the heat map: row shares of the confusion matrix */
  HoneHeatmap *map = hone_analyze_page_get_heatmap (page);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (map)));
  g_assert_cmpint (hone_heatmap_get_n_classes (map), ==, k);
  for (int t = 0; t < k; t++)
    for (int p = 0; p < k; p++)
      {
        double expected = ev->support[t] ? (double) ev->confusion[t * k + p] / ev->support[t] : 0;
        g_assert_cmpfloat_with_epsilon (hone_heatmap_get_cell_value (map, t, p), expected, 1e-12);
      }

  /* the table: a row per class with the evaluation's numbers */
  GListModel *classes = hone_analyze_page_get_class_model (page);
  g_assert_cmpuint (g_list_model_get_n_items (classes), ==, k);
  for (int c = 0; c < k; c++)
    {
      g_autoptr (HoneClassRow) row = g_list_model_get_item (classes, c);
      g_assert_cmpstr (hone_class_row_get_name (row), ==, ev->class_names[c]);
      g_assert_cmpfloat (hone_class_row_get_precision (row), ==, ev->precision[c]);
      g_assert_cmpfloat (hone_class_row_get_recall (row), ==, ev->recall[c]);
      g_assert_cmpfloat (hone_class_row_get_f1 (row), ==, ev->f1[c]);
      g_assert_cmpint (hone_class_row_get_support (row), ==, ev->support[c]);
    }

  /* the gallery: first the misclassified images, highest loss first, with thumbnails */
  GListModel *gallery = hone_analyze_page_get_gallery_model (page);
  g_assert_cmpint (hone_analyze_page_get_filter (page), ==, HONE_GALLERY_MISCLASSIFIED);
  guint n = g_list_model_get_n_items (gallery);
  g_assert_cmpuint (n, ==, kept_in_cell (-1, -1, TRUE));
  double last_loss = INFINITY;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (HoneEvalItem) item = g_list_model_get_item (gallery, i);
      g_assert_true (hone_eval_item_get_misclassified (item));
      g_assert_cmpfloat (hone_eval_item_get_loss (item), <=, last_loss);
      last_loss = hone_eval_item_get_loss (item);
      GdkTexture *texture = hone_eval_item_get_texture (item);
      g_assert_nonnull (texture);
      g_assert_cmpint (gdk_texture_get_width (texture), ==, 28 * 4);
      double conf = hone_eval_item_get_confidence (item);
      g_assert_cmpfloat (conf, >, 0);
      g_assert_cmpfloat (conf, <=, 1);
    }
  g_assert_cmpint (count_pictures (GTK_WIDGET (page)), >, 0);
  hone_chart_test_screenshot ("analyze-light");

  /* a click on the off-diagonal cell with most kept images filters the gallery */
  int bt = -1, bp = -1, best = 0;
  for (int t = 0; t < k; t++)
    for (int p = 0; p < k; p++)
      if (t != p && kept_in_cell (t, p, FALSE) > best)
        {
          best = kept_in_cell (t, p, FALSE);
          bt = t;
          bp = p;
        }
  g_assert_cmpint (best, >, 0);
  graphene_rect_t area;
  g_assert_true (hone_heatmap_get_cell_area (map, bt, bp, &area));
  GtkEventController *click = find_controller (GTK_WIDGET (map), GTK_TYPE_GESTURE_CLICK);
  g_signal_emit_by_name (click, "released", 1, area.origin.x + area.size.width / 2,
                         area.origin.y + area.size.height / 2);
  g_assert_cmpint (hone_analyze_page_get_filter (page), ==, HONE_GALLERY_CELL);
  n = g_list_model_get_n_items (gallery);
  g_assert_cmpuint (n, ==, best);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (HoneEvalItem) item = g_list_model_get_item (gallery, i);
      g_assert_cmpint (hone_eval_item_get_label (item), ==, bt);
      g_assert_cmpint (hone_eval_item_get_predicted (item), ==, bp);
    }
  hone_chart_test_wait_frames (GTK_WIDGET (window), 3);
  g_assert_cmpint (count_pictures (GTK_WIDGET (page)), ==, best);
  hone_chart_test_screenshot ("analyze-cell-light");
  hone_chart_test_set_dark (TRUE);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 3);
  hone_chart_test_screenshot ("analyze-cell-dark");
  hone_chart_test_set_dark (FALSE);

  /* a new validation keeps the selected cell */
  hone_analyze_page_set_evaluation (page, evaluation);
  g_assert_cmpint (hone_analyze_page_get_filter (page), ==, HONE_GALLERY_CELL);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, best);

  /* the highest-loss images, sorted by confidence, then by class */
  hone_analyze_page_set_filter (page, HONE_GALLERY_HIGHEST_LOSS);
  g_assert_false (hone_heatmap_get_selection (map, NULL, NULL));
  n = g_list_model_get_n_items (gallery);
  g_assert_cmpuint (n, ==, ev->n_worst);
  hone_analyze_page_set_sort (page, HONE_GALLERY_BY_CONFIDENCE);
  double last_conf = INFINITY;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (HoneEvalItem) item = g_list_model_get_item (gallery, i);
      g_assert_cmpfloat (hone_eval_item_get_confidence (item), <=, last_conf);
      last_conf = hone_eval_item_get_confidence (item);
    }
  hone_analyze_page_set_sort (page, HONE_GALLERY_BY_CLASS);
  int last_label = -1, last_pred = -1;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (HoneEvalItem) item = g_list_model_get_item (gallery, i);
      int l = hone_eval_item_get_label (item), p = hone_eval_item_get_predicted (item);
      g_assert_true (l > last_label || (l == last_label && p >= last_pred));
      last_label = l;
      last_pred = p;
    }

  /* clicking the diagonal cell of a class shows its recognised images (maybe none) */
  hone_heatmap_get_cell_area (map, 0, 0, &area);
  g_signal_emit_by_name (click, "released", 1, area.origin.x + 4, area.origin.y + 4);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, kept_in_cell (0, 0, FALSE));
  /* and again clears it: back to the misclassified images */
  g_signal_emit_by_name (click, "released", 1, area.origin.x + 4, area.origin.y + 4);
  g_assert_cmpint (hone_analyze_page_get_filter (page), ==, HONE_GALLERY_MISCLASSIFIED);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, kept_in_cell (-1, -1, TRUE));

  /* the "Selected cell" filter without a selection shows nothing, and says why */
  hone_analyze_page_set_filter (page, HONE_GALLERY_CELL);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, 0);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  g_assert_cmpint (count_pictures (GTK_WIDGET (page)), ==, 0);

  hone_analyze_page_set_evaluation (page, NULL);
  g_assert_cmpuint (g_list_model_get_n_items (classes), ==, 0);
  g_assert_cmpint (hone_heatmap_get_n_classes (map), ==, 0);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (map)));
  gtk_window_destroy (window);
}

int
main (int argc, char **argv)
{
  hone_chart_test_init (&argc, &argv);
  make_evaluation ();
  g_test_add_func ("/ui/analyze-page/empty", test_empty);
  g_test_add_func ("/ui/analyze-page/evaluation", test_evaluation);
  int status = g_test_run ();
  hone_evaluation_free (evaluation);
  return status;
}
