/* hone-ui-test-util.c: see hone-ui-test-util.h. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

#include "hone-ui-test-util.h"

void
hone_ui_test_init (int *argc, char ***argv)
{
  setlocale (LC_ALL, "");
  const char *build = g_getenv ("HONE_BUILD_DIR");
  if (build)
    {
      g_autofree char *dir = g_build_filename (build, "po", NULL);
      bindtextdomain (GETTEXT_PACKAGE, dir);
    }
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_test_init (argc, argv, NULL);
  gtk_init ();
  adw_init ();
}

static gboolean
timeout_done (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
hone_ui_test_wait (int ms)
{
  gboolean done = FALSE;
  g_timeout_add (ms, timeout_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

gboolean
hone_ui_test_wait_for (gboolean *done, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!*done && g_get_monotonic_time () < end)
    {
      gboolean tick = FALSE;
      guint id = g_timeout_add (20, timeout_done, &tick);
      while (!tick && !*done)
        g_main_context_iteration (NULL, TRUE);
      if (!tick)
        g_source_remove (id);
    }
  return *done;
}

GtkWindow *
hone_ui_test_window (GtkWidget *child, int width, int height)
{
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));
  hone_ui_test_wait (300);
  return GTK_WINDOW (window);
}

cairo_surface_t *
hone_ui_test_render (GtkWidget *widget)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node (snapshot);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create (surface);
  if (node)
    {
      gsk_render_node_draw (node, cr);
      gsk_render_node_unref (node);
    }
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static void
write_png (GtkWidget *widget, const char *dir, const char *name)
{
  hone_ui_test_wait (100);
  GtkWidget *root = GTK_WIDGET (gtk_widget_get_root (widget));
  cairo_surface_t *s = hone_ui_test_render (root);
  /* the window's background under the page, as the app shows it */
  int w = cairo_image_surface_get_width (s), h = cairo_image_surface_get_height (s);
  cairo_surface_t *out = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (out);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  if (dark)
    cairo_set_source_rgb (cr, 0.14, 0.14, 0.14);
  else
    cairo_set_source_rgb (cr, 0.98, 0.98, 0.98);
  cairo_paint (cr);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_paint (cr);
  cairo_destroy (cr);
  g_autofree char *file = g_strdup_printf ("%s/%s.png", dir, name);
  cairo_surface_write_to_png (out, file);
  cairo_surface_destroy (out);
  cairo_surface_destroy (s);
}

void
hone_ui_test_screenshot (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("HONE_UI_SCREENSHOTS");
  if (!dir || !dir[0])
    return;
  g_mkdir_with_parents (dir, 0755);
  AdwStyleManager *sm = adw_style_manager_get_default ();
  adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_FORCE_LIGHT);
  write_png (widget, dir, name);
  /* the X screen too, as a person sees the window (ImageMagick's import) */
  g_autofree char *import = g_find_program_in_path ("import");
  if (import && g_getenv ("DISPLAY"))
    {
      g_autofree char *file = g_strdup_printf ("%s/%s-screen.png", dir, name);
      const char *argv[] = { import, "-window", "root", file, NULL };
      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                    NULL, NULL, NULL, NULL, NULL, NULL);
    }
  adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_FORCE_DARK);
  g_autofree char *dark = g_strconcat (name, "-dark", NULL);
  write_png (widget, dir, dark);
  adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_DEFAULT);
  hone_ui_test_wait (50);
}

HoneModel *
hone_ui_test_model (const char *arch, int classes, int channels, int size)
{
  g_autoptr (GError) error = NULL;
  const HoneArchInfo *info = hone_arch_find (arch);
  g_assert_nonnull (info);
  HoneArchOptions opts;
  hone_arch_options_init (&opts, info);
  opts.classes = classes;
  opts.channels = channels;
  opts.height = opts.width = size;
  HoneModel *m = g_new0 (HoneModel, 1);
  m->graph = hone_arch_build (arch, &opts, &error);
  g_assert_no_error (error);
  m->format = g_strdup ("arch");
  m->arch = g_strdup (arch);
  m->description = g_strdup (info->description);
  m->channels = channels;
  m->height = m->width = size;
  m->n_classes = classes;
  m->class_names = g_new0 (char *, classes + 1);
  for (int i = 0; i < classes; i++)
    m->class_names[i] = g_strdup_printf ("class %d", i);
  m->head_params = g_strdupv ((char **) info->head_params);
  return m;
}

void
hone_ui_test_model_free (HoneModel *m)
{
  if (!m)
    return;
  hone_graph_free (m->graph);
  g_free (m->source);
  g_free (m->format);
  g_free (m->arch);
  g_free (m->description);
  g_strfreev (m->class_names);
  g_strfreev (m->head_params);
  g_free (m);
}

static GtkScrolledWindow *
find_scrolled (GtkWidget *w)
{
  if (GTK_IS_SCROLLED_WINDOW (w))
    return GTK_SCROLLED_WINDOW (w);
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkScrolledWindow *s = find_scrolled (c);
      if (s)
        return s;
    }
  return NULL;
}

void
hone_ui_test_scroll (GtkWidget *widget, double fraction)
{
  GtkScrolledWindow *sw = find_scrolled (widget);
  g_assert_nonnull (sw);
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (sw);
  double range = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);
  gtk_adjustment_set_value (adj, gtk_adjustment_get_lower (adj) + fraction * MAX (range, 0));
  hone_ui_test_wait (400);
}
