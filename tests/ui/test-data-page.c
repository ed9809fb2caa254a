/* test-data-page.c: the Data page on Fashion-MNIST and on a temporary class
 * folder with an imbalance and a broken file: the scan off the main thread,
 * stale results dropped, the class counts, the imbalance warning and its
 * buttons, the issues, the split settings, and the augmentation preview. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "hone-data-page.h"
#include "hone-sample-item.h"
#include "hone-ui-test-util.h"

typedef struct
{
  HoneRecipe *recipe;
  HoneDataPage *page;
  GtkWindow *window;
  int changed;
  char *dir;
} Fixture;

static void
on_changed (HoneDataPage *page, Fixture *f)
{
  f->changed++;
}

static void
wait_loaded (Fixture *f)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (hone_data_page_get_loading (f->page) && g_get_monotonic_time () < end)
    hone_ui_test_wait (20);
  g_assert_false (hone_data_page_get_loading (f->page));
  hone_ui_test_wait (100);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->recipe = hone_recipe_new ();
  f->page = HONE_DATA_PAGE (hone_data_page_new ());
  g_signal_connect (f->page, "changed", G_CALLBACK (on_changed), f);
  f->window = hone_ui_test_window (GTK_WIDGET (f->page), 1100, 800);
  hone_data_page_set_recipe (f->page, f->recipe);
  g_assert_true (hone_data_page_get_loading (f->page));
  wait_loaded (f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (f->window);
  hone_ui_test_wait (50);
  hone_recipe_free (f->recipe);
  if (f->dir)
    hone_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
test_fmnist (Fixture *f, gconstpointer data)
{
  const int64_t *counts = hone_data_page_get_counts (f->page);
  g_assert_nonnull (counts);
  g_assert_cmpint (hone_data_page_get_n_classes (f->page), ==, 5);
  for (int k = 0; k < 5; k++)
    g_assert_cmpint (counts[k], ==, 6000);
  g_assert_false (hone_data_page_get_imbalanced (f->page));
  g_assert_cmpint (hone_data_page_get_train_samples (f->page), ==, 27000);   /* 10 % validation */
  GListModel *samples = hone_data_page_get_samples (f->page);
  g_assert_cmpuint (g_list_model_get_n_items (samples), ==, 40);
  g_autoptr (HoneSampleItem) first = g_list_model_get_item (samples, 0);
  g_assert_cmpstr (hone_sample_item_get_class_name (first), ==, "Sandal");
  g_assert_nonnull (hone_data_page_get_preview (f->page, 0));
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "data-fmnist");

  /* split settings through their controls' recipe keys */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.set-source", "s", "fmnist:0-4");
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.set-source", "s", "fmnist:5-9");
  /* the first scan's result, should it arrive, is dropped: the page shows 5-9 */
  wait_loaded (f);
  g_autoptr (HoneSampleItem) again = g_list_model_get_item (hone_data_page_get_samples (f->page), 0);
  g_assert_cmpstr (hone_sample_item_get_class_name (again), ==, "Sandal");
  g_assert_cmpstr (f->recipe->data_source, ==, "fmnist:5-9");
  g_assert_cmpint (f->changed, ==, 2);

  g_assert_true (hone_recipe_set (f->recipe, "data.val_split=0.2", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "data.limit=1000", NULL));
  hone_data_page_sync (f->page);
  g_assert_cmpint (hone_data_page_get_train_samples (f->page), ==, 800);

  /* all ten classes */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.set-source", "s", "fmnist");
  wait_loaded (f);
  g_assert_cmpint (hone_data_page_get_n_classes (f->page), ==, 10);
}

static gboolean
same_texture (GdkTexture *a, GdkTexture *b)
{
  int w = gdk_texture_get_width (a), h = gdk_texture_get_height (a);
  g_assert_cmpint (w, ==, gdk_texture_get_width (b));
  gsize n = (gsize) w * h * 4;
  g_autofree guint8 *pa = g_malloc (n);
  g_autofree guint8 *pb = g_malloc (n);
  gdk_texture_download (a, pa, (gsize) w * 4);
  gdk_texture_download (b, pb, (gsize) w * 4);
  return memcmp (pa, pb, n) == 0;
}

static void
test_augment_preview (Fixture *f, gconstpointer data)
{
  g_assert_true (hone_recipe_set (f->recipe, "augment.rotate=25", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "augment.crop_scale_min=0.5", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "augment.brightness=0.4", NULL));
  g_assert_true (hone_recipe_set (f->recipe, "augment.cutout=0.3", NULL));
  GdkTexture *before = g_object_ref (hone_data_page_get_preview (f->page, 1));
  hone_data_page_sync (f->page);   /* new augment settings re-roll the preview */
  GdkTexture *original = hone_data_page_get_preview (f->page, 0);
  g_assert_false (same_texture (before, hone_data_page_get_preview (f->page, 1)));
  g_object_unref (before);
  for (int i = 1; i <= 8; i++)
    {
      GdkTexture *t = hone_data_page_get_preview (f->page, i);
      g_assert_nonnull (t);
      g_assert_false (same_texture (t, original));
      for (int j = 1; j < i; j++)
        g_assert_false (same_texture (t, hone_data_page_get_preview (f->page, j)));
    }
  hone_ui_test_scroll (GTK_WIDGET (f->page), 1.0);
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "data-augment");

  /* re-roll draws new versions */
  GdkTexture *one = g_object_ref (hone_data_page_get_preview (f->page, 1));
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.reroll", NULL);
  g_assert_false (same_texture (one, hone_data_page_get_preview (f->page, 1)));
  g_object_unref (one);

  /* augmentation off: the original, eight times */
  g_assert_true (hone_recipe_set (f->recipe, "augment.enabled=false", NULL));
  hone_data_page_sync (f->page);
  for (int i = 1; i <= 8; i++)
    g_assert_true (same_texture (hone_data_page_get_preview (f->page, i), hone_data_page_get_preview (f->page, 0)));
}

static void
write_png (const char *path, double r, double g, double b)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 20, 20);
  cairo_t *cr = cairo_create (s);
  cairo_set_source_rgb (cr, r, g, b);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 1 - r, 1 - g, 1 - b);
  cairo_rectangle (cr, 4, 4, 8, 12);
  cairo_fill (cr);
  cairo_destroy (cr);
  g_assert_cmpint (cairo_surface_write_to_png (s, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (s);
}

static void
test_folder (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("hone-data-page-XXXXXX", &error);
  g_assert_no_error (error);
  const struct { const char *name; int n; double r, g, b; } classes[] = {
    { "apples", 12, 0.8, 0.1, 0.1 }, { "bananas", 3, 0.9, 0.8, 0.1 }, { "cherries", 4, 0.5, 0.0, 0.2 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    {
      g_autofree char *sub = g_build_filename (f->dir, classes[c].name, NULL);
      g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
      for (int i = 0; i < classes[c].n; i++)
        {
          g_autofree char *name = g_strdup_printf ("%02d.png", i);
          g_autofree char *path = g_build_filename (sub, name, NULL);
          write_png (path, classes[c].r, classes[c].g * i / classes[c].n, classes[c].b);
        }
    }
  g_autofree char *broken = g_build_filename (f->dir, "bananas", "broken.png", NULL);
  g_assert_true (g_file_set_contents (broken, "not a png at all", -1, NULL));

  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.set-source", "s", f->dir);
  g_assert_true (hone_data_page_get_loading (f->page));
  wait_loaded (f);
  g_assert_cmpint (hone_data_page_get_n_classes (f->page), ==, 3);
  const int64_t *counts = hone_data_page_get_counts (f->page);
  g_assert_cmpint (counts[0], ==, 12);
  g_assert_cmpint (counts[1], ==, 3);
  g_assert_cmpint (counts[2], ==, 4);
  g_assert_true (hone_data_page_get_imbalanced (f->page));
  GPtrArray *issues = hone_data_page_get_issues (f->page);
  g_assert_cmpuint (issues->len, ==, 1);
  g_assert_cmpstr (((HoneDataIssue *) issues->pdata[0])->path, ==, broken);
  g_assert_cmpuint (g_list_model_get_n_items (hone_data_page_get_samples (f->page)), ==, 8 + 3 + 4);
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "data-folder");
  hone_ui_test_scroll (GTK_WIDGET (f->page), 1.0);
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "data-folder-bottom");

  /* the banner's buttons */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.use-weighted-loss", NULL);
  g_assert_true (f->recipe->class_weights);
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.use-balanced", NULL);
  g_assert_true (f->recipe->balanced);

  /* a source that cannot be opened: an error, nothing shown */
  g_autofree char *missing = g_build_filename (f->dir, "nothing-here", NULL);
  gtk_widget_activate_action (GTK_WIDGET (f->page), "data.set-source", "s", missing);
  wait_loaded (f);
  g_assert_null (hone_data_page_get_counts (f->page));
  g_assert_false (hone_data_page_get_imbalanced (f->page));
  hone_ui_test_scroll (GTK_WIDGET (f->page), 0.0);
  hone_ui_test_screenshot (GTK_WIDGET (f->page), "data-error");
}

int
main (int argc, char **argv)
{
  hone_ui_test_init (&argc, &argv);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/ui/data/fmnist", test_fmnist);
  ADD ("/ui/data/augment-preview", test_augment_preview);
  ADD ("/ui/data/folder", test_folder);
  return g_test_run ();
}
