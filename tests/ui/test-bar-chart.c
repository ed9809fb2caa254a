/* test-bar-chart.c: the class bar chart draws bars of the right height in
 * the class colours (rendered to pixels) and names the bar under the
 * pointer. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "hone-bar-chart.h"
#include "hone-ui-test-util.h"

/* The topmost row of column x whose pixel has colour c, or -1. */
static int
top_of (cairo_surface_t *s, int x, const GdkRGBA *c)
{
  int h = cairo_image_surface_get_height (s), stride = cairo_image_surface_get_stride (s);
  const guint8 *data = cairo_image_surface_get_data (s);
  for (int y = 0; y < h; y++)
    {
      guint32 p = *(const guint32 *) (data + y * stride + x * 4);
      int a = p >> 24, r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
      /* bars are drawn at 85 % opacity */
      if (a > 180 && abs (r * 255 / MAX (a, 1) - (int) (c->red * 255)) < 30
          && abs (g * 255 / MAX (a, 1) - (int) (c->green * 255)) < 30
          && abs (b * 255 / MAX (a, 1) - (int) (c->blue * 255)) < 30)
        return y;
    }
  return -1;
}

static void
test_bars (void)
{
  GtkWidget *chart = hone_bar_chart_new ();
  GtkWindow *window = hone_ui_test_window (chart, 600, 300);
  const char *labels[] = { "cats", "dogs", "owls", "eels" };
  int64_t counts[] = { 400, 100, 200, 0 };
  hone_bar_chart_set_data (HONE_BAR_CHART (chart), labels, counts, 4);
  hone_ui_test_wait (100);
  g_assert_cmpint (hone_bar_chart_get_n_bars (HONE_BAR_CHART (chart)), ==, 4);
  g_assert_cmpint (hone_bar_chart_get_count (HONE_BAR_CHART (chart), 2), ==, 200);

  cairo_surface_t *s = hone_ui_test_render (chart);
  int w = gtk_widget_get_width (chart);
  double slot = (w - 24.0) / 4;
  int tops[4];
  for (int i = 0; i < 4; i++)
    {
      GdkRGBA c;
      hone_class_color (i, &c);
      tops[i] = top_of (s, (int) (12 + slot * i + slot / 2), &c);
    }
  cairo_surface_destroy (s);
  g_assert_cmpint (tops[0], >, 0);
  g_assert_cmpint (tops[3], ==, -1);                  /* an empty class has no bar */
  /* heights in proportion: bottom - top */
  int bottom = gtk_widget_get_height (chart) - 34;
  double h0 = bottom - tops[0], h1 = bottom - tops[1], h2 = bottom - tops[2];
  g_assert_cmpfloat (fabs (h1 / h0 - 0.25), <, 0.03);
  g_assert_cmpfloat (fabs (h2 / h0 - 0.5), <, 0.03);

  /* hover names the class and its count */
  int i = hone_bar_chart_bar_at (HONE_BAR_CHART (chart), 12 + slot * 1 + slot / 2, bottom - 5);
  g_assert_cmpint (i, ==, 1);
  g_autofree char *text = hone_bar_chart_describe (HONE_BAR_CHART (chart), 1);
  g_assert_cmpstr (text, ==, "dogs: 100 images (14.3 %)");
  g_assert_cmpint (hone_bar_chart_bar_at (HONE_BAR_CHART (chart), 2, 2), ==, -1);
  hone_ui_test_screenshot (chart, "bar-chart");

  hone_bar_chart_set_data (HONE_BAR_CHART (chart), NULL, NULL, 0);
  g_assert_cmpint (hone_bar_chart_get_n_bars (HONE_BAR_CHART (chart)), ==, 0);
  gtk_window_destroy (window);
}

int
main (int argc, char **argv)
{
  hone_ui_test_init (&argc, &argv);
  g_test_add_func ("/ui/bar-chart/bars", test_bars);
  return g_test_run ();
}
