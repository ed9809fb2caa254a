/* test-charts.c: HoneLineChart and HoneHeatmap drawn in a real window and
 * checked through their pixels: where a known series is drawn, linear and
 * logarithmic; smoothing against an independent computation; the hover
 * read-out; zooming by a drag and back by a double-click; heat-map colours
 * ordered by value in light and dark styles; a click on a cell. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-heatmap.h"
#include "hone-line-chart.h"
#include "hone-chart-test-util.h"

/* Okabe-Ito blue and vermillion, the light style's train and validation */
static const GdkRGBA train_light = { 0x00 / 255., 0x72 / 255., 0xB2 / 255., 1 };
static const GdkRGBA val_light = { 0xD5 / 255., 0x5E / 255., 0x00 / 255., 1 };
static const GdkRGBA lr_light = { 0x00 / 255., 0x9E / 255., 0x73 / 255., 1 };

static HoneSeries *
constant_series (const char *name, HoneSeriesRole role, double y, int n)
{
  HoneSeries *s = hone_series_new (name, role);
  for (int i = 0; i < n; i++)
    hone_series_append (s, i, y);
  return s;
}

/* The rows of column x whose pixel is within tol of color. */
static void
rows_of_color (cairo_surface_t *surface, int x, const GdkRGBA *color, double tol, int *first, int *last)
{
  int h = cairo_image_surface_get_height (surface);
  *first = -1;
  *last = -1;
  for (int y = 0; y < h; y++)
    {
      GdkRGBA px;
      hone_chart_test_pixel (surface, x, y, &px);
      if (px.alpha > 0.9 && hone_chart_test_color_distance (&px, color) < tol)
        {
          if (*first < 0)
            *first = y;
          *last = y;
        }
    }
}

static HoneLineChart *
new_chart (GtkWindow **window)
{
  HoneLineChart *chart = HONE_LINE_CHART (hone_line_chart_new ());
  hone_line_chart_set_title (chart, "Test");
  *window = hone_chart_test_window (GTK_WIDGET (chart), 640, 400);
  return chart;
}

/* ---- line chart --------------------------------------------------------- */

static void
test_horizontal_line (void)
{
  hone_chart_test_set_dark (FALSE);
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  g_autoptr (HoneSeries) mid = constant_series ("Middle", HONE_SERIES_ROLE_TRAIN, 0.5, 11);
  g_autoptr (HoneSeries) low = constant_series ("Low", HONE_SERIES_ROLE_VALIDATION, 0.0, 11);
  g_autoptr (HoneSeries) high = constant_series ("High", HONE_SERIES_ROLE_LEARNING_RATE, 1.0, 11);
  hone_series_set_markers (low, FALSE);
  hone_line_chart_add_series (chart, mid);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);

  /* alone, a 3-pixel line at y = 0.5 lights the middle row band of the plot */
  graphene_rect_t plot;
  g_assert_true (hone_line_chart_get_plot_area (chart, &plot));
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (chart));
  int cx = (int) (plot.origin.x + plot.size.width * 0.37);
  double mid_y = plot.origin.y + plot.size.height / 2;
  int first, last;
  rows_of_color (surface, cx, &train_light, 0.1, &first, &last);
  g_assert_cmpint (first, >=, 0);
  g_assert_cmpfloat (fabs ((first + last) / 2.0 - mid_y), <, 2);
  g_assert_cmpint (last - first, <=, 4);
  g_assert_cmpint (last - first, >=, 1);
  cairo_surface_destroy (surface);

  /* with lines at 0 and 1 the axis spans 0 to 1 and more */
  hone_line_chart_add_series (chart, low);
  hone_line_chart_add_series (chart, high);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  g_assert_true (hone_line_chart_get_plot_area (chart, &plot));
  double x0, x1, y0, y1;
  g_assert_true (hone_line_chart_get_view (chart, &x0, &x1, &y0, &y1));
  g_assert_cmpfloat (x0, ==, 0);
  g_assert_cmpfloat (x1, ==, 10);
  g_assert_cmpfloat (y0, <=, 0);
  g_assert_cmpfloat (y1, >=, 1);
  g_assert_cmpfloat (y1, <, 1.2);

  surface = hone_chart_test_render (GTK_WIDGET (chart));
  mid_y = plot.origin.y + plot.size.height / 2;
  double wy;
  rows_of_color (surface, cx, &train_light, 0.1, &first, &last);
  hone_line_chart_data_to_widget (chart, 5, 0.5, NULL, &wy);
  g_assert_cmpfloat (fabs ((first + last) / 2.0 - wy), <, 2);
  g_assert_cmpfloat (fabs (wy - mid_y), <, plot.size.height * 0.06);
  /* the others at the bottom and top of the plot */
  rows_of_color (surface, cx, &val_light, 0.1, &first, &last);
  g_assert_cmpint (first, >=, 0);
  hone_line_chart_data_to_widget (chart, 5, 0.0, NULL, &wy);
  g_assert_cmpfloat (fabs ((first + last) / 2.0 - wy), <, 3);
  g_assert_cmpfloat (wy, >, mid_y + plot.size.height / 3);
  rows_of_color (surface, cx, &lr_light, 0.1, &first, &last);
  hone_line_chart_data_to_widget (chart, 5, 1.0, NULL, &wy);
  g_assert_cmpfloat (fabs ((first + last) / 2.0 - wy), <, 3);
  g_assert_cmpfloat (wy, <, mid_y - plot.size.height / 3);
  cairo_surface_destroy (surface);
  gtk_window_destroy (window);
}

static void
test_log_scale (void)
{
  hone_chart_test_set_dark (FALSE);
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  g_autoptr (HoneSeries) a = constant_series ("0.01", HONE_SERIES_ROLE_VALIDATION, 0.01, 5);
  g_autoptr (HoneSeries) b = constant_series ("0.1", HONE_SERIES_ROLE_TRAIN, 0.1, 5);
  g_autoptr (HoneSeries) c = constant_series ("1", HONE_SERIES_ROLE_LEARNING_RATE, 1, 5);
  hone_line_chart_add_series (chart, a);
  hone_line_chart_add_series (chart, b);
  hone_line_chart_add_series (chart, c);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);

  graphene_rect_t plot;
  hone_line_chart_get_plot_area (chart, &plot);
  int cx = (int) (plot.origin.x + plot.size.width * 0.6);
  double bottom = plot.origin.y + plot.size.height;
  int first, last;

  /* linear: 0.1 is a tenth of the way up from 0.01 to 1 */
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (chart));
  rows_of_color (surface, cx, &train_light, 0.1, &first, &last);
  g_assert_cmpint (first, >=, 0);
  double linear_frac = (bottom - (first + last) / 2.0) / plot.size.height;
  g_assert_cmpfloat (linear_frac, >, 0.04);
  g_assert_cmpfloat (linear_frac, <, 0.2);
  cairo_surface_destroy (surface);

  /* logarithmic: 0.1 is half way between 0.01 and 1 */
  hone_line_chart_set_log_scale (chart, TRUE);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  hone_line_chart_get_plot_area (chart, &plot);
  bottom = plot.origin.y + plot.size.height;
  surface = hone_chart_test_render (GTK_WIDGET (chart));
  rows_of_color (surface, cx, &train_light, 0.1, &first, &last);
  g_assert_cmpint (first, >=, 0);
  double log_frac = (bottom - (first + last) / 2.0) / plot.size.height;
  g_assert_cmpfloat (fabs (log_frac - 0.5), <, 0.03);
  double y0, y1;
  hone_line_chart_get_view (chart, NULL, NULL, &y0, &y1);
  g_assert_cmpfloat (y0, <, 0.01);
  g_assert_cmpfloat (y0, >, 0.001);
  g_assert_cmpfloat (y1, >, 1);
  g_assert_cmpfloat (y1, <, 10);

  /* values that a log axis cannot show are left out, not drawn at -inf */
  hone_series_append (b, 5, 0.0);
  hone_series_append (b, 6, -1.0);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  hone_line_chart_get_view (chart, NULL, NULL, &y0, NULL);
  g_assert_cmpfloat (y0, >, 0.001);
  cairo_surface_destroy (surface);
  gtk_window_destroy (window);
}

/* The debiased EMA, written out as a weighted mean: s_i = Σ_j w^(i-j)(1-w) y_j / (1 - w^(i+1)). */
static double
reference_ema (const double *ys, int i, double w)
{
  double num = 0;
  for (int j = 0; j <= i; j++)
    num += pow (w, i - j) * (1 - w) * ys[j];
  return num / (1 - pow (w, i + 1));
}

static void
test_smoothing (void)
{
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  g_autoptr (HoneSeries) s = hone_series_new ("Noisy", HONE_SERIES_ROLE_TRAIN);
  g_autoptr (HoneSeries) v = hone_series_new ("Per epoch", HONE_SERIES_ROLE_VALIDATION);
  hone_series_set_smoothable (v, FALSE);
  double ys[40];
  for (int i = 0; i < 40; i++)
    {
      ys[i] = 1.0 + 0.5 * sin (i * 1.3) + (i % 3) * 0.2;
      hone_series_append (s, i, ys[i]);
      hone_series_append (v, i, ys[i]);
    }
  hone_line_chart_add_series (chart, s);
  hone_line_chart_add_series (chart, v);

  for (int i = 0; i < 40; i++)
    g_assert_cmpfloat (hone_line_chart_get_drawn_value (chart, 0, i), ==, ys[i]);

  hone_line_chart_set_smoothing (chart, 0.6);
  for (int i = 0; i < 40; i++)
    {
      g_assert_cmpfloat_with_epsilon (hone_line_chart_get_drawn_value (chart, 0, i),
                                      reference_ema (ys, i, 0.6), 1e-12);
      g_assert_cmpfloat (hone_line_chart_get_drawn_value (chart, 1, i), ==, ys[i]);
    }
  /* the first point is the first value (debiased), not pulled to 0 */
  g_assert_cmpfloat_with_epsilon (hone_line_chart_get_drawn_value (chart, 0, 0), ys[0], 1e-12);

  /* appended points continue the average exactly */
  double more[45];
  memcpy (more, ys, sizeof ys);
  for (int i = 40; i < 45; i++)
    {
      more[i] = 3.0 - 0.1 * i;
      hone_series_append (s, i, more[i]);
    }
  for (int i = 0; i < 45; i++)
    g_assert_cmpfloat_with_epsilon (hone_line_chart_get_drawn_value (chart, 0, i),
                                    reference_ema (more, i, 0.6), 1e-12);
  hone_line_chart_set_smoothing (chart, 0.95);
  g_assert_cmpfloat_with_epsilon (hone_line_chart_get_drawn_value (chart, 0, 44),
                                  reference_ema (more, 44, 0.95), 1e-12);
  /* clamped to 0.99 */
  hone_line_chart_set_smoothing (chart, 5);
  g_assert_cmpfloat (hone_line_chart_get_smoothing (chart), ==, 0.99);
  gtk_window_destroy (window);
}

static void
test_hover (void)
{
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  hone_line_chart_set_x_label (chart, "epoch");
  g_autoptr (HoneSeries) train = hone_series_new ("Train", HONE_SERIES_ROLE_TRAIN);
  g_autoptr (HoneSeries) val = hone_series_new ("Val", HONE_SERIES_ROLE_VALIDATION);
  hone_series_set_markers (val, TRUE);
  for (int i = 0; i <= 10; i++)
    hone_series_append (train, i, 0.25 * i);
  for (int e = 2; e <= 10; e += 2)
    hone_series_append (val, e, 10.0 / e);
  hone_line_chart_add_series (chart, train);
  hone_line_chart_add_series (chart, val);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);

  g_assert_null (hone_line_chart_dup_readout (chart));

  /* the pointer a little right of x = 3 (nearest train point 3, nearest val point 2) */
  GtkEventController *motion = NULL;
  GListModel *controllers = gtk_widget_observe_controllers (GTK_WIDGET (chart));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_EVENT_CONTROLLER_MOTION (c))
        motion = GTK_EVENT_CONTROLLER (c);
    }
  g_object_unref (controllers);
  g_assert_nonnull (motion);
  double px, py, px4;
  hone_line_chart_data_to_widget (chart, 3, 1, &px, &py);
  hone_line_chart_data_to_widget (chart, 4, 1, &px4, NULL);
  g_signal_emit_by_name (motion, "motion", px + 0.2 * (px4 - px), py);
  g_autofree char *readout = hone_line_chart_dup_readout (chart);
  g_assert_cmpstr (readout, ==, "epoch 3\nTrain  0.75\nVal  5");

  /* drawn: the crosshair at x = 3 */
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (chart));
  graphene_rect_t plot;
  hone_line_chart_get_plot_area (chart, &plot);
  GdkRGBA pixel;
  hone_chart_test_pixel (surface, (int) round (px), (int) (plot.origin.y + plot.size.height - 4), &pixel);
  g_assert_cmpfloat (pixel.alpha, >, 0.3);
  cairo_surface_destroy (surface);

  /* with smoothing the read-out shows the smoothed value */
  hone_line_chart_set_smoothing (chart, 0.5);
  g_free (readout);
  readout = hone_line_chart_dup_readout (chart);
  g_autofree char *expected = NULL;
  double ys[4] = { 0, 0.25, 0.5, 0.75 };
  double num = 0;
  for (int j = 0; j <= 3; j++)
    num += pow (0.5, 3 - j) * 0.5 * ys[j];
  expected = g_strdup_printf ("epoch 3\nTrain  %.4g\nVal  5", num / (1 - pow (0.5, 4)));
  g_assert_cmpstr (readout, ==, expected);

  /* outside the plot: no read-out */
  g_signal_emit_by_name (motion, "motion", 2.0, 2.0);
  g_assert_null (hone_line_chart_dup_readout (chart));
  g_signal_emit_by_name (motion, "motion", px, py);
  g_signal_emit_by_name (motion, "leave");
  g_assert_null (hone_line_chart_dup_readout (chart));
  gtk_window_destroy (window);
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

static void
test_zoom (void)
{
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  g_autoptr (HoneSeries) s = hone_series_new ("Square", HONE_SERIES_ROLE_TRAIN);
  for (int i = 0; i <= 100; i++)
    hone_series_append (s, i / 10.0, (i / 10.0) * (i / 10.0));
  hone_line_chart_add_series (chart, s);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);

  double x0, x1, y0, y1;
  hone_line_chart_get_view (chart, &x0, &x1, &y0, &y1);
  g_assert_cmpfloat (x0, ==, 0);
  g_assert_cmpfloat (x1, ==, 10);
  g_assert_cmpfloat (y1, >=, 100);

  /* drag from x = 2 to x = 5 */
  GtkEventController *drag = find_controller (GTK_WIDGET (chart), GTK_TYPE_GESTURE_DRAG);
  double pa, pb, py;
  hone_line_chart_data_to_widget (chart, 2, 50, &pa, &py);
  hone_line_chart_data_to_widget (chart, 5, 50, &pb, NULL);
  g_signal_emit_by_name (drag, "drag-begin", pa, py);
  g_signal_emit_by_name (drag, "drag-update", (pb - pa) / 2, 0.0);
  /* the selection is drawn while dragging */
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (chart));
  GdkRGBA pixel;
  hone_chart_test_pixel (surface, (int) (pa + (pb - pa) / 4), (int) py, &pixel);
  g_assert_cmpfloat (pixel.alpha, >, 0.1);
  cairo_surface_destroy (surface);
  g_signal_emit_by_name (drag, "drag-end", pb - pa, 0.0);
  g_assert_true (hone_line_chart_get_zoomed (chart));
  hone_line_chart_get_view (chart, &x0, &x1, &y0, &y1);
  double per_pixel = 10.0 / 500;
  g_assert_cmpfloat (fabs (x0 - 2), <, 2 * per_pixel + 1e-9);
  g_assert_cmpfloat (fabs (x1 - 5), <, 2 * per_pixel + 1e-9);
  /* y fits the points in view: 4 to 25, with a margin */
  g_assert_cmpfloat (y0, <=, 4.1);
  g_assert_cmpfloat (y0, >, 2);
  g_assert_cmpfloat (y1, >=, 24.9);
  g_assert_cmpfloat (y1, <, 28);

  /* a tiny drag is a click, not a zoom */
  hone_line_chart_data_to_widget (chart, 3, 10, &pa, &py);
  g_signal_emit_by_name (drag, "drag-begin", pa, py);
  g_signal_emit_by_name (drag, "drag-end", 2.0, 0.0);
  double nx0, nx1;
  hone_line_chart_get_view (chart, &nx0, &nx1, NULL, NULL);
  g_assert_cmpfloat (nx0, ==, x0);
  g_assert_cmpfloat (nx1, ==, x1);

  /* double-click: everything again */
  GtkEventController *click = find_controller (GTK_WIDGET (chart), GTK_TYPE_GESTURE_CLICK);
  g_signal_emit_by_name (click, "pressed", 2, pa, py);
  g_assert_false (hone_line_chart_get_zoomed (chart));
  hone_line_chart_get_view (chart, &x0, &x1, NULL, &y1);
  g_assert_cmpfloat (x0, ==, 0);
  g_assert_cmpfloat (x1, ==, 10);
  g_assert_cmpfloat (y1, >=, 100);
  gtk_window_destroy (window);
}

static void
test_empty (void)
{
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  hone_line_chart_set_empty_text (chart, "Nothing yet");
  g_autoptr (HoneSeries) s = hone_series_new ("Empty", HONE_SERIES_ROLE_TRAIN);
  hone_line_chart_add_series (chart, s);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  g_assert_false (hone_line_chart_get_view (chart, NULL, NULL, NULL, NULL));
  graphene_rect_t plot;
  g_assert_false (hone_line_chart_get_plot_area (chart, &plot));
  /* the empty text is drawn in the middle of the plot */
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (chart));
  int lit = 0;
  int cy = (int) (plot.origin.y + plot.size.height / 2);
  for (int x = (int) plot.origin.x; x < plot.origin.x + plot.size.width; x++)
    for (int y = cy - 6; y <= cy + 6; y++)
      {
        GdkRGBA px;
        hone_chart_test_pixel (surface, x, y, &px);
        lit += px.alpha > 0.2;
      }
  g_assert_cmpint (lit, >, 20);
  cairo_surface_destroy (surface);

  /* a single point shows; a cleared series empties the chart again */
  hone_series_append (s, 1, 2);
  g_assert_true (hone_line_chart_get_view (chart, NULL, NULL, NULL, NULL));
  hone_series_clear (s);
  g_assert_false (hone_line_chart_get_view (chart, NULL, NULL, NULL, NULL));
  gtk_window_destroy (window);
}

/* A long run: far more points than pixel columns are drawn as each
 * column's range, so an alternating series fills its band and a frame
 * stays cheap. */
static void
test_many_points (void)
{
  hone_chart_test_set_dark (FALSE);
  GtkWindow *window;
  HoneLineChart *chart = new_chart (&window);
  g_autoptr (HoneSeries) zigzag = hone_series_new ("Zigzag", HONE_SERIES_ROLE_TRAIN);
  g_autoptr (HoneSeries) level = hone_series_new ("Level", HONE_SERIES_ROLE_VALIDATION);
  const int n = 60000;
  for (int i = 0; i < n; i++)
    {
      hone_series_append (zigzag, i / 1000.0, i % 2 ? 1.0 : 0.2);
      hone_series_append (level, i / 1000.0, 0.1);
    }
  hone_line_chart_add_series (chart, zigzag);
  hone_line_chart_add_series (chart, level);
  hone_line_chart_set_smoothing (chart, 0);

  gint64 start = g_get_monotonic_time ();
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (chart));
  double ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("%d points: drawn in %.1f ms", 2 * n, ms);
  g_assert_cmpfloat (ms, <, 2000);

  graphene_rect_t plot;
  hone_line_chart_get_plot_area (chart, &plot);
  double top, bottom, level_y;
  hone_line_chart_data_to_widget (chart, 30, 1.0, NULL, &top);
  hone_line_chart_data_to_widget (chart, 30, 0.2, NULL, &bottom);
  hone_line_chart_data_to_widget (chart, 30, 0.1, NULL, &level_y);
  int cx = (int) (plot.origin.x + plot.size.width / 2);
  int first, last;
  rows_of_color (surface, cx, &train_light, 0.1, &first, &last);
  g_assert_cmpfloat (fabs (first - top), <, 3);
  g_assert_cmpfloat (fabs (last - bottom), <, 3);
  /* the band is filled between its extremes */
  GdkRGBA px;
  hone_chart_test_pixel (surface, cx, (int) ((top + bottom) / 2), &px);
  g_assert_cmpfloat (hone_chart_test_color_distance (&px, &train_light), <, 0.1);
  rows_of_color (surface, cx, &val_light, 0.1, &first, &last);
  g_assert_cmpfloat (fabs ((first + last) / 2.0 - level_y), <, 3);
  cairo_surface_destroy (surface);
  gtk_window_destroy (window);
}

/* ---- heat map ----------------------------------------------------------- */

static const char *const names[] = { "Sandal", "Shirt", "Sneaker", NULL };
static const int64_t counts[] = {
  90, 10, 0,
  30, 50, 20,
  5, 15, 80,
};

static double
lum (const GdkRGBA *c)
{
  return 0.2126 * c->red + 0.7152 * c->green + 0.0722 * c->blue;
}

static void
check_heatmap_colours (gboolean dark)
{
  hone_chart_test_set_dark (dark);
  HoneHeatmap *map = HONE_HEATMAP (hone_heatmap_new ());
  hone_heatmap_set_data (map, 3, names, counts);
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (map), 520, 520);
  hone_chart_test_screenshot (dark ? "heatmap-dark" : "heatmap-light");
  g_assert_cmpfloat_with_epsilon (hone_heatmap_get_cell_value (map, 1, 0), 0.3, 1e-12);
  g_assert_cmpfloat_with_epsilon (hone_heatmap_get_cell_value (map, 2, 2), 0.8, 1e-12);

  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (map));
  /* every pair of cells: a larger row share is darker (light style) or
   * lighter (dark style), read where no text is drawn */
  double value[9], l[9];
  for (int i = 0; i < 9; i++)
    {
      graphene_rect_t area;
      g_assert_true (hone_heatmap_get_cell_area (map, i / 3, i % 3, &area));
      g_assert_cmpfloat (area.size.width, >, 40);
      GdkRGBA px;
      hone_chart_test_pixel (surface, (int) area.origin.x + 5, (int) area.origin.y + 5, &px);
      g_assert_cmpfloat (px.alpha, >, 0.99);
      value[i] = hone_heatmap_get_cell_value (map, i / 3, i % 3);
      l[i] = lum (&px);
    }
  for (int i = 0; i < 9; i++)
    for (int j = 0; j < 9; j++)
      if (value[i] > value[j] + 0.01)
        {
          if (dark)
            g_assert_cmpfloat (l[i], >, l[j]);
          else
            g_assert_cmpfloat (l[i], <, l[j]);
        }
  cairo_surface_destroy (surface);
  gtk_window_destroy (window);
  hone_chart_test_set_dark (FALSE);
}

static void
test_heatmap_colours_light (void)
{
  check_heatmap_colours (FALSE);
}

static void
test_heatmap_colours_dark (void)
{
  check_heatmap_colours (TRUE);
}

static void
on_cell (HoneHeatmap *map, int t, int p, int *got)
{
  got[0] = t;
  got[1] = p;
  got[2]++;
}

static void
test_heatmap_click (void)
{
  hone_chart_test_set_dark (FALSE);
  HoneHeatmap *map = HONE_HEATMAP (hone_heatmap_new ());
  hone_heatmap_set_data (map, 3, names, counts);
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (map), 520, 520);
  int got[3] = { -2, -2, 0 };
  g_signal_connect (map, "cell-activated", G_CALLBACK (on_cell), got);
  g_assert_false (hone_heatmap_get_selection (map, NULL, NULL));

  graphene_rect_t area;
  hone_heatmap_get_cell_area (map, 1, 2, &area);
  GtkEventController *click = find_controller (GTK_WIDGET (map), GTK_TYPE_GESTURE_CLICK);
  g_signal_emit_by_name (click, "released", 1, area.origin.x + area.size.width / 2,
                         area.origin.y + area.size.height / 2);
  g_assert_cmpint (got[0], ==, 1);
  g_assert_cmpint (got[1], ==, 2);
  g_assert_cmpint (got[2], ==, 1);
  int t, p;
  g_assert_true (hone_heatmap_get_selection (map, &t, &p));
  g_assert_cmpint (t, ==, 1);
  g_assert_cmpint (p, ==, 2);

  /* the selected cell is outlined in vermillion */
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (map));
  GdkRGBA px;
  hone_chart_test_pixel (surface, (int) area.origin.x + 3, (int) (area.origin.y + area.size.height / 2), &px);
  g_assert_cmpfloat (hone_chart_test_color_distance (&px, &val_light), <, 0.05);
  /* an unselected cell is not */
  graphene_rect_t other;
  hone_heatmap_get_cell_area (map, 0, 0, &other);
  hone_chart_test_pixel (surface, (int) other.origin.x + 3, (int) (other.origin.y + other.size.height / 2), &px);
  g_assert_cmpfloat (hone_chart_test_color_distance (&px, &val_light), >, 0.2);
  cairo_surface_destroy (surface);

  /* outside the cells: nothing; the same cell again: cleared */
  g_signal_emit_by_name (click, "released", 1, 1.0, 1.0);
  g_assert_cmpint (got[2], ==, 1);
  g_signal_emit_by_name (click, "released", 1, area.origin.x + 5, area.origin.y + 5);
  g_assert_cmpint (got[0], ==, -1);
  g_assert_cmpint (got[1], ==, -1);
  g_assert_false (hone_heatmap_get_selection (map, NULL, NULL));

  /* hover says what a cell means */
  GtkEventController *motion = find_controller (GTK_WIDGET (map), GTK_TYPE_EVENT_CONTROLLER_MOTION);
  g_signal_emit_by_name (motion, "motion", area.origin.x + 5, area.origin.y + 5);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (map)), ==,
                   "20 of 100 images of Shirt were taken for Sneaker (20.0 %)");

  /* the keyboard: arrows move the highlight from (1, 2), Return selects */
  GtkEventController *keys = find_controller (GTK_WIDGET (map), GTK_TYPE_EVENT_CONTROLLER_KEY);
  gboolean handled = FALSE;
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Left, 0, 0, &handled);
  g_assert_true (handled);
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Down, 0, 0, &handled);
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Down, 0, 0, &handled);
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Return, 0, 0, &handled);
  g_assert_cmpint (got[0], ==, 2);
  g_assert_cmpint (got[1], ==, 1);
  g_assert_true (hone_heatmap_get_selection (map, &t, &p));
  g_assert_cmpint (t, ==, 2);
  g_assert_cmpint (p, ==, 1);
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_space, 0, 0, &handled);
  g_assert_cmpint (got[0], ==, -1);
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_a, 0, 0, &handled);
  g_assert_false (handled);

  /* new data with fewer classes drops a selection that no longer fits */
  hone_heatmap_set_selection (map, 2, 2);
  hone_heatmap_set_data (map, 2, names, (const int64_t[]) { 1, 2, 3, 4 });
  g_assert_false (hone_heatmap_get_selection (map, NULL, NULL));
  hone_heatmap_set_data (map, 0, NULL, NULL);
  g_assert_false (hone_heatmap_get_cell_area (map, 0, 0, &area));
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  gtk_window_destroy (window);
}

int
main (int argc, char **argv)
{
  hone_chart_test_init (&argc, &argv);
  g_test_add_func ("/ui/line-chart/horizontal", test_horizontal_line);
  g_test_add_func ("/ui/line-chart/log-scale", test_log_scale);
  g_test_add_func ("/ui/line-chart/smoothing", test_smoothing);
  g_test_add_func ("/ui/line-chart/hover", test_hover);
  g_test_add_func ("/ui/line-chart/zoom", test_zoom);
  g_test_add_func ("/ui/line-chart/empty", test_empty);
  g_test_add_func ("/ui/line-chart/many-points", test_many_points);
  g_test_add_func ("/ui/heatmap/colours-light", test_heatmap_colours_light);
  g_test_add_func ("/ui/heatmap/colours-dark", test_heatmap_colours_dark);
  g_test_add_func ("/ui/heatmap/click", test_heatmap_click);
  return g_test_run ();
}
