/* hone-chart-test-util.c: see hone-chart-test-util.h. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

#include "hone-chart-test-util.h"

void
hone_chart_test_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  /* HONE_TEST_LOCALEDIR: compiled translations, to look at the pages in
   * another language (LANG=C.UTF-8 LANGUAGE=zh_CN) */
  const char *localedir = g_getenv ("HONE_TEST_LOCALEDIR");
  if (localedir && *localedir)
    {
      bindtextdomain (GETTEXT_PACKAGE, localedir);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      textdomain (GETTEXT_PACKAGE);
    }
  gtk_init ();
  adw_init ();
  /* no animations: what a test reads is what is shown */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
}

void
hone_chart_test_spin (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

static gboolean
count_frame (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  int *left = data;
  if (--*left <= 0)
    return G_SOURCE_REMOVE;
  return G_SOURCE_CONTINUE;
}

void
hone_chart_test_wait_frames (GtkWidget *widget, int n)
{
  int left = n;
  guint id = gtk_widget_add_tick_callback (widget, count_frame, &left, NULL);
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (left > 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  if (left > 0)
    gtk_widget_remove_tick_callback (widget, id);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

GtkWindow *
hone_chart_test_window (GtkWidget *child, int width, int height)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, width, height);
  gtk_window_set_child (window, child);
  gtk_window_present (window);
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!gtk_widget_get_mapped (GTK_WIDGET (window)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window)));
  hone_chart_test_wait_frames (GTK_WIDGET (window), 3);
  return window;
}

cairo_surface_t *
hone_chart_test_render (GtkWidget *widget)
{
  /* a widget paintable shows what the last frame drew: let one be drawn */
  hone_chart_test_wait_frames (widget, 2);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node (snapshot);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create (surface);
  if (node)
    gsk_render_node_draw (node, cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_clear_pointer (&node, gsk_render_node_unref);
  g_object_unref (paintable);
  return surface;
}

void
hone_chart_test_pixel (cairo_surface_t *surface, int x, int y, GdkRGBA *out)
{
  int w = cairo_image_surface_get_width (surface);
  int h = cairo_image_surface_get_height (surface);
  g_assert_true (x >= 0 && y >= 0 && x < w && y < h);
  const guint8 *data = cairo_image_surface_get_data (surface);
  guint32 px = *(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (surface) + x * 4);
  double a = ((px >> 24) & 0xff) / 255.0;
  out->alpha = a;
  out->red = a > 0 ? ((px >> 16) & 0xff) / 255.0 / a : 0;
  out->green = a > 0 ? ((px >> 8) & 0xff) / 255.0 / a : 0;
  out->blue = a > 0 ? (px & 0xff) / 255.0 / a : 0;
}

double
hone_chart_test_color_distance (const GdkRGBA *a, const GdkRGBA *b)
{
  return MAX (MAX (fabs (a->red - b->red), fabs (a->green - b->green)), fabs (a->blue - b->blue));
}

void
hone_chart_test_set_dark (gboolean dark)
{
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
  hone_chart_test_spin (50);
}

void
hone_chart_test_screenshot (const char *name)
{
  const char *dir = g_getenv ("HONE_UI_SCREENSHOTS");
  if (!dir || !*dir)
    return;
  g_mkdir_with_parents (dir, 0755);
  g_autofree char *file = g_strdup_printf ("%s/%s.png", dir, name);
  const char *argv[] = { "import", "-window", "root", file, NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, &error))
    g_test_message ("no screenshot %s: %s", file, error->message);
  else
    g_test_message ("screenshot %s", file);
}

static void
set (HoneRecipe *r, const char *assignment)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = hone_recipe_set (r, assignment, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

HoneRecipe *
hone_chart_test_tiny_recipe (int limit, int epochs)
{
  HoneRecipe *r = hone_recipe_new ();
  set (r, "model.arch=cnn-s");
  set (r, "data.source=fmnist:5-9");
  g_autofree char *l = g_strdup_printf ("data.limit=%d", limit);
  set (r, l);
  set (r, "data.val_split=0.2");
  set (r, "data.test_split=0");
  g_autofree char *e = g_strdup_printf ("train.epochs=%d", epochs);
  set (r, e);
  set (r, "train.batch=32");
  set (r, "train.seed=7");
  set (r, "train.threads=2");
  set (r, "augment.enabled=false");
  set (r, "optimizer.name=adam");
  set (r, "optimizer.lr=0.002");
  set (r, "schedule.name=cosine");
  set (r, "freeze.mode=none");
  return r;
}

