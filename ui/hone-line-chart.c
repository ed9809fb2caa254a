/* hone-line-chart.c: a chart of HoneSeries drawn with cairo; see
 * hone-line-chart.h.
 *
 * Everything that allocates (smoothed values, tick labels, text layouts)
 * happens when data, size, settings or style change; snapshot only reads
 * what was prepared and draws it. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "hone-chart-private.h"
#include "hone-line-chart.h"

#define MAX_TICKS 16
#define TICK_LABEL_LEN 32
#define MARGIN 10.0
#define GAP 6.0
#define LINE_WIDTH 3.0
#define RAW_LINE_WIDTH 1.5
#define MARKER_RADIUS 4.5
#define MIN_ZOOM_PIXELS 6.0
#define MAX_SMOOTHING 0.99

typedef struct
{
  HoneSeries *series;
  gulong changed_id;
  GArray *smooth;        /* (n_points) double: the EMA, NaN where y is not finite */
  double ema_last;       /* the undebiased EMA so far */
  double ema_weight;     /* smoothing ^ (finite points so far) */
} ChartSeries;

typedef struct
{
  double values[MAX_TICKS];
  char labels[MAX_TICKS][TICK_LABEL_LEN];
  int n;
  double label_width;    /* the widest label, pixels */
} Ticks;

struct _HoneLineChart
{
  GtkWidget parent_instance;

  GPtrArray *series;     /* ChartSeries */
  char *title;
  char *x_label;
  char *y_unit;
  char *empty_text;
  HoneChartFormat format;
  gboolean log_scale;
  double smoothing;

  gboolean zoomed;
  double zoom_x0, zoom_x1;

  /* hover and drag, in widget pixels */
  gboolean hovering;
  double hover_px, hover_py;
  gboolean dragging;
  double drag_px0, drag_px1;

  /* the layout, valid while !dirty for (layout_width, layout_height) */
  gboolean dirty;
  int layout_width, layout_height;
  gboolean has_data;
  double x0, x1, y0, y1;          /* the view; y in log10 units with log_scale */
  graphene_rect_t plot;
  double title_height;
  double legend_y;
  double legend_x;                /* where the legend starts */
  double line_height;
  Ticks xticks, yticks;

  /* style */
  GdkRGBA fg;
  gboolean dark;
  PangoLayout *layout;            /* normal text */
  PangoLayout *title_layout;      /* bold title */
};

G_DEFINE_FINAL_TYPE (HoneLineChart, hone_line_chart, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_TITLE,
  PROP_LOG_SCALE,
  PROP_SMOOTHING,
  PROP_ZOOMED,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

/* ---- colours ------------------------------------------------------------ */

/* Okabe & Ito, "Color Universal Design" (2008): blue, vermillion, bluish
 * green, reddish purple, orange; the dark style swaps in the palette's
 * lighter members (sky blue, orange, yellow) where contrast needs it. */
static const GdkRGBA palette_light[] = {
  { 0x00 / 255., 0x72 / 255., 0xB2 / 255., 1 },
  { 0xD5 / 255., 0x5E / 255., 0x00 / 255., 1 },
  { 0x00 / 255., 0x9E / 255., 0x73 / 255., 1 },
  { 0xCC / 255., 0x79 / 255., 0xA7 / 255., 1 },
  { 0xE6 / 255., 0x9F / 255., 0x00 / 255., 1 },
};
static const GdkRGBA palette_dark[] = {
  { 0x56 / 255., 0xB4 / 255., 0xE9 / 255., 1 },
  { 0xE6 / 255., 0x9F / 255., 0x00 / 255., 1 },
  { 0x1F / 255., 0xC8 / 255., 0x97 / 255., 1 },
  { 0xE0 / 255., 0x9A / 255., 0xC4 / 255., 1 },
  { 0xF0 / 255., 0xE4 / 255., 0x42 / 255., 1 },
};

static const GdkRGBA *
series_color (HoneLineChart *self, HoneSeries *series)
{
  guint role = MIN ((guint) hone_series_get_role (series), G_N_ELEMENTS (palette_light) - 1);
  return self->dark ? &palette_dark[role] : &palette_light[role];
}

static void
set_source (cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha * alpha);
}

static void
set_background (HoneLineChart *self, cairo_t *cr, double alpha)
{
  if (self->dark)
    cairo_set_source_rgba (cr, 0.19, 0.19, 0.19, alpha);
  else
    cairo_set_source_rgba (cr, 1, 1, 1, alpha);
}

/* ---- numbers ------------------------------------------------------------ */

static void
format_number (char *buf, gsize len, double v, double step)
{
  double a = fabs (v);
  if (v == 0)
    g_snprintf (buf, len, "0");
  else if (a >= 1e6)
    g_snprintf (buf, len, "%.*f M", step >= 1e6 ? 0 : 1, v / 1e6);
  else if (a >= 1e4)
    g_snprintf (buf, len, "%.*f k", step >= 1e3 ? 0 : 1, v / 1e3);
  else if (step > 0 && step < 1e-5)
    g_snprintf (buf, len, "%.1e", v);
  else
    {
      int decimals = step > 0 ? (int) ceil (-log10 (step) - 1e-9) : 3;
      g_snprintf (buf, len, "%.*f", CLAMP (decimals, 0, 6), v);
    }
}

/* A tick label: step is the distance between ticks (0: log scale). */
static void
format_tick (HoneLineChart *self, char *buf, gsize len, double v, double step, gboolean is_y)
{
  if (is_y && self->format == HONE_CHART_FORMAT_PERCENT)
    {
      int decimals = step > 0 && step * 100 < 1 ? 1 : 0;
      g_snprintf (buf, len, "%.*f %%", decimals, v * 100);
    }
  else if (step == 0)
    {
      if (fabs (v) >= 1e-3 && fabs (v) < 1e4)
        g_snprintf (buf, len, "%g", v);
      else
        g_snprintf (buf, len, "%.0e", v);
    }
  else
    format_number (buf, len, v, step);
}

/* A value for a read-out, with its unit. */
static void
format_value (HoneLineChart *self, char *buf, gsize len, double v)
{
  if (!isfinite (v))
    g_snprintf (buf, len, "—");
  else if (self->format == HONE_CHART_FORMAT_PERCENT)
    g_snprintf (buf, len, "%.1f %%", v * 100);
  else
    {
      char num[32];
      double a = fabs (v);
      if (a != 0 && (a < 1e-4 || a >= 1e5))
        g_snprintf (num, sizeof num, "%.3e", v);
      else if (a >= 100)
        g_snprintf (num, sizeof num, "%.1f", v);
      else
        g_snprintf (num, sizeof num, "%.4g", v);
      if (self->y_unit && *self->y_unit)
        g_snprintf (buf, len, "%s %s", num, self->y_unit);
      else
        g_snprintf (buf, len, "%s", num);
    }
}

static void
format_x (HoneLineChart *self, char *buf, gsize len, double x)
{
  char num[32];
  if (x == floor (x) && fabs (x) < 1e9)
    g_snprintf (num, sizeof num, "%.0f", x);
  else
    g_snprintf (num, sizeof num, "%.2f", x);
  /* Translators: the x position in a chart read-out: "epoch 2.25" */
  g_snprintf (buf, len, C_("chart read-out", "%s %s"), self->x_label ? self->x_label : "", num);
}

/* ---- smoothing ---------------------------------------------------------- */

/* The debiased exponential moving average TensorBoard draws:
 * m_i = w m_{i-1} + (1 - w) y_i, shown as m_i / (1 - w^i) over the i finite
 * points so far, so that the start is not pulled towards 0. */
static void
smooth_extend (HoneLineChart *self, ChartSeries *cs, guint from)
{
  HoneSeries *s = cs->series;
  guint n = hone_series_get_n_points (s);
  const double *ys = hone_series_get_ys (s);
  double w = self->smoothing;
  g_array_set_size (cs->smooth, n);
  double *out = (double *) cs->smooth->data;
  for (guint i = from; i < n; i++)
    {
      if (!isfinite (ys[i]))
        {
          out[i] = NAN;
          continue;
        }
      cs->ema_last = w * cs->ema_last + (1 - w) * ys[i];
      cs->ema_weight *= w;
      out[i] = w == 0 ? ys[i] : cs->ema_last / (1 - cs->ema_weight);
    }
}

static void
smooth_reset (HoneLineChart *self, ChartSeries *cs)
{
  cs->ema_last = 0;
  cs->ema_weight = 1;
  g_array_set_size (cs->smooth, 0);
  smooth_extend (self, cs, 0);
}

static gboolean
is_smoothed (HoneLineChart *self, ChartSeries *cs)
{
  return self->smoothing > 0 && hone_series_get_smoothable (cs->series);
}

static double
drawn_value (HoneLineChart *self, ChartSeries *cs, guint i)
{
  if (is_smoothed (self, cs))
    return g_array_index (cs->smooth, double, i);
  return hone_series_get_y (cs->series, i);
}

/* ---- layout ------------------------------------------------------------- */

static double
nice_step (double range, int target)
{
  double raw = range / MAX (target, 1);
  double mag = pow (10, floor (log10 (raw)));
  double f = raw / mag;
  double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

static void
linear_ticks (HoneLineChart *self, Ticks *t, double lo, double hi, int target, gboolean is_y)
{
  t->n = 0;
  if (!(hi > lo))
    return;
  double step = nice_step (hi - lo, target);
  double first = ceil (lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9 && t->n < MAX_TICKS; v += step)
    {
      double tv = fabs (v) < step * 1e-9 ? 0 : v;
      t->values[t->n] = tv;
      format_tick (self, t->labels[t->n], TICK_LABEL_LEN, tv, step, is_y);
      t->n++;
    }
}

/* Ticks for a log10 axis from lo to hi (log10 units): decades, with 2 and
 * 5 between them when few decades show, else nice linear ticks placed
 * logarithmically within less than a decade. */
static void
log_ticks (HoneLineChart *self, Ticks *t, double lo, double hi)
{
  t->n = 0;
  double span = hi - lo;
  if (span < 1)
    {
      Ticks lin;
      linear_ticks (self, &lin, pow (10, lo), pow (10, hi), 4, TRUE);
      for (int i = 0; i < lin.n; i++)
        if (lin.values[i] > 0)
          {
            t->values[t->n] = log10 (lin.values[i]);
            memcpy (t->labels[t->n], lin.labels[i], TICK_LABEL_LEN);
            t->n++;
          }
      return;
    }
  static const double mults[] = { 1, 2, 5 };
  int n_mults = span <= 2.5 ? 3 : 1;
  int every = MAX (1, (int) ceil (span / 6));
  for (int d = (int) floor (lo); d <= (int) ceil (hi) && t->n < MAX_TICKS; d++)
    {
      if (n_mults == 1 && d % every != 0)
        continue;
      for (int m = 0; m < n_mults && t->n < MAX_TICKS; m++)
        {
          double v = d + log10 (mults[m]);
          if (v < lo - 1e-9 || v > hi + 1e-9)
            continue;
          t->values[t->n] = v;
          format_tick (self, t->labels[t->n], TICK_LABEL_LEN, pow (10, v), 0, TRUE);
          t->n++;
        }
    }
}

static void
ensure_layouts (HoneLineChart *self)
{
  if (self->layout)
    return;
  self->layout = hone_chart_layout_new (GTK_WIDGET (self), FALSE, 1.0);
  self->title_layout = hone_chart_layout_new (GTK_WIDGET (self), TRUE, 1.15);
}

/* The data range over the x range [vx0, vx1] of every series: y of drawn
 * and raw values, log10 with log_scale (positive values only). */
static gboolean
data_y_range (HoneLineChart *self, double vx0, double vx1, double *lo, double *hi)
{
  double mn = INFINITY, mx = -INFINITY;
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      guint n = hone_series_get_n_points (cs->series);
      const double *xs = hone_series_get_xs (cs->series);
      const double *ys = hone_series_get_ys (cs->series);
      gboolean smoothed = is_smoothed (self, cs);
      const double *sm = (const double *) cs->smooth->data;
      for (guint i = 0; i < n; i++)
        {
          if (xs[i] < vx0 || xs[i] > vx1)
            continue;
          for (int k = 0; k < (smoothed ? 2 : 1); k++)
            {
              double v = k == 0 ? ys[i] : sm[i];
              if (!isfinite (v) || (self->log_scale && v <= 0))
                continue;
              if (self->log_scale)
                v = log10 (v);
              mn = MIN (mn, v);
              mx = MAX (mx, v);
            }
        }
    }
  *lo = mn;
  *hi = mx;
  return mn <= mx;
}

static void
ensure_layout (HoneLineChart *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  if (!self->dirty && width == self->layout_width && height == self->layout_height)
    return;
  self->dirty = FALSE;
  self->layout_width = width;
  self->layout_height = height;
  ensure_layouts (self);

  double th = 0, lh = 0, title_w = 0;
  hone_chart_text_size (self->title_layout, self->title ? self->title : "", &title_w, &th);
  hone_chart_text_size (self->layout, "0.9", NULL, &lh);
  self->line_height = lh;
  self->title_height = th;

  /* the legend beside the title when it fits, else on a row of its own */
  double legend_w = 0;
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      double w;
      hone_chart_text_size (self->layout, hone_series_get_name (cs->series), &w, NULL);
      legend_w += 28 + w + 16;
    }
  double top = MARGIN + th;
  if (MARGIN + title_w + 24 + legend_w <= width - MARGIN)
    {
      self->legend_y = MARGIN + (th - lh) / 2;
      self->legend_x = width - MARGIN - legend_w;
    }
  else
    {
      self->legend_y = top + 2;
      self->legend_x = MARGIN;
      top += lh + 2;
    }
  top += GAP + lh / 2;

  /* the data range */
  self->has_data = FALSE;
  double dx0 = INFINITY, dx1 = -INFINITY;
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      guint n = hone_series_get_n_points (cs->series);
      if (n == 0)
        continue;
      const double *xs = hone_series_get_xs (cs->series);
      dx0 = MIN (dx0, xs[0]);
      dx1 = MAX (dx1, xs[n - 1]);
    }
  if (dx0 <= dx1)
    {
      if (self->zoomed)
        {
          dx0 = self->zoom_x0;
          dx1 = self->zoom_x1;
        }
      if (dx1 - dx0 < 1e-12)
        {
          dx0 -= 0.5;
          dx1 += 0.5;
        }
      double lo, hi;
      if (data_y_range (self, dx0, dx1, &lo, &hi))
        {
          self->has_data = TRUE;
          if (self->log_scale)
            {
              double pad = MAX ((hi - lo) * 0.05, 0.05);
              lo -= pad;
              hi += pad;
            }
          else
            {
              double pad = (hi - lo) * 0.06;
              /* a constant (to rounding) series: a band around it */
              if (hi - lo <= 1e-9 * MAX (fabs (hi), fabs (lo)))
                pad = fabs (hi) > 0 ? fabs (hi) * 0.1 : 1;
              gboolean nonneg = lo >= 0;
              lo -= pad;
              hi += pad;
              if (nonneg && lo < 0)
                lo = 0;
              if (self->format == HONE_CHART_FORMAT_PERCENT && hi > 1 && hi - pad <= 1)
                hi = 1;
            }
          self->x0 = dx0;
          self->x1 = dx1;
          self->y0 = lo;
          self->y1 = hi;
        }
    }

  /* ticks, then the plot area from the widest y label */
  double plot_h = height - top - MARGIN - 2 * lh - GAP;
  if (self->has_data)
    {
      int ytarget = CLAMP ((int) (plot_h / (2.5 * lh)), 2, 8);
      if (self->log_scale)
        log_ticks (self, &self->yticks, self->y0, self->y1);
      else
        linear_ticks (self, &self->yticks, self->y0, self->y1, ytarget, TRUE);
    }
  else
    self->yticks.n = 0;
  self->yticks.label_width = 0;
  for (int i = 0; i < self->yticks.n; i++)
    {
      double w;
      hone_chart_text_size (self->layout, self->yticks.labels[i], &w, NULL);
      self->yticks.label_width = MAX (self->yticks.label_width, w);
    }
  double left = MARGIN + self->yticks.label_width + GAP;
  double plot_w = width - left - MARGIN - 8;
  self->plot = GRAPHENE_RECT_INIT (left, top, MAX (plot_w, 1), MAX (plot_h, 1));

  if (self->has_data)
    {
      double sample_w;
      hone_chart_text_size (self->layout, "00.00", &sample_w, NULL);
      int xtarget = CLAMP ((int) (plot_w / (sample_w * 2.2)), 2, 10);
      linear_ticks (self, &self->xticks, self->x0, self->x1, xtarget, FALSE);
    }
  else
    self->xticks.n = 0;
}

static double
x_to_px (HoneLineChart *self, double x)
{
  return self->plot.origin.x + (x - self->x0) / (self->x1 - self->x0) * self->plot.size.width;
}

static double
px_to_x (HoneLineChart *self, double px)
{
  return self->x0 + (px - self->plot.origin.x) / self->plot.size.width * (self->x1 - self->x0);
}

/* y in axis units (log10 with log_scale) to pixels */
static double
ay_to_py (HoneLineChart *self, double ay)
{
  return self->plot.origin.y + self->plot.size.height
         - (ay - self->y0) / (self->y1 - self->y0) * self->plot.size.height;
}

static gboolean
value_to_py (HoneLineChart *self, double v, double *py)
{
  if (!isfinite (v) || (self->log_scale && v <= 0))
    return FALSE;
  *py = ay_to_py (self, self->log_scale ? log10 (v) : v);
  return TRUE;
}

static void
invalidate (HoneLineChart *self)
{
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- drawing ------------------------------------------------------------ */

static void
set_series_style (HoneLineChart *self, cairo_t *cr, ChartSeries *cs, double width)
{
  static const double dash[] = { 9, 5 };
  cairo_set_line_width (cr, width);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  if (hone_series_get_markers (cs->series))
    cairo_set_dash (cr, dash, 2, 0);
  else
    cairo_set_dash (cr, NULL, 0, 0);
}

/* The points of one pixel column, drawn as first, lowest, highest, last:
 * a long run (tens of thousands of steps) costs a few segments a column. */
typedef struct
{
  int column;
  double first, low, high, last;
} Column;

static void
column_flush (cairo_t *cr, const Column *c, gboolean *pen)
{
  double x = c->column + 0.5;
  if (!*pen)
    cairo_move_to (cr, x, c->first);   /* with round caps a lone point shows as a dot */
  cairo_line_to (cr, x, c->first);
  if (c->low != c->high)
    {
      gboolean down = c->last >= c->first;
      cairo_line_to (cr, x, down ? c->low : c->high);
      cairo_line_to (cr, x, down ? c->high : c->low);
    }
  cairo_line_to (cr, x, c->last);
  *pen = TRUE;
}

static void
path_values (HoneLineChart *self, cairo_t *cr, ChartSeries *cs, gboolean raw)
{
  guint n = hone_series_get_n_points (cs->series);
  const double *xs = hone_series_get_xs (cs->series);
  const double *vs = raw || !is_smoothed (self, cs) ? hone_series_get_ys (cs->series)
                                                     : (const double *) cs->smooth->data;
  gboolean decimate = n > 2 * self->plot.size.width;
  gboolean pen = FALSE;
  Column col = { .column = G_MININT };
  for (guint i = 0; i < n; i++)
    {
      double py;
      /* points just outside the view keep the line going to the edge */
      if ((i + 1 < n && xs[i + 1] < self->x0) || (i > 0 && xs[i - 1] > self->x1))
        continue;
      if (!value_to_py (self, vs[i], &py))
        {
          if (decimate && col.column != G_MININT)
            column_flush (cr, &col, &pen);
          col.column = G_MININT;
          pen = FALSE;
          continue;
        }
      double px = x_to_px (self, xs[i]);
      if (!decimate)
        {
          if (!pen)
            cairo_move_to (cr, px, py);   /* with round caps a lone point shows as a dot */
          cairo_line_to (cr, px, py);
          pen = TRUE;
          continue;
        }
      int c = (int) floor (px);
      if (c != col.column)
        {
          if (col.column != G_MININT)
            column_flush (cr, &col, &pen);
          col = (Column) { c, py, py, py, py };
        }
      else
        {
          col.low = MIN (col.low, py);
          col.high = MAX (col.high, py);
          col.last = py;
        }
    }
  if (decimate && col.column != G_MININT)
    column_flush (cr, &col, &pen);
}

static void
draw_markers (HoneLineChart *self, cairo_t *cr, ChartSeries *cs, const GdkRGBA *color)
{
  guint n = hone_series_get_n_points (cs->series);
  const double *xs = hone_series_get_xs (cs->series);
  for (guint i = 0; i < n; i++)
    {
      double py;
      if (xs[i] < self->x0 || xs[i] > self->x1 || !value_to_py (self, drawn_value (self, cs, i), &py))
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, x_to_px (self, xs[i]), py, MARKER_RADIUS, 0, 2 * G_PI);
    }
  set_source (cr, color, 1);
  cairo_fill_preserve (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_set_line_width (cr, 1.5);
  set_background (self, cr, 1);
  cairo_stroke (cr);
}

static void
draw_legend (HoneLineChart *self, cairo_t *cr)
{
  double x = self->legend_x;
  double y = self->legend_y;
  double mid = y + self->line_height / 2;
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      const GdkRGBA *color = series_color (self, cs->series);
      set_series_style (self, cr, cs, LINE_WIDTH);
      set_source (cr, color, 1);
      cairo_move_to (cr, x + 2, mid);
      cairo_line_to (cr, x + 22, mid);
      cairo_stroke (cr);
      if (hone_series_get_markers (cs->series))
        {
          cairo_new_sub_path (cr);
          cairo_arc (cr, x + 12, mid, MARKER_RADIUS, 0, 2 * G_PI);
          set_source (cr, color, 1);
          cairo_fill (cr);
        }
      set_source (cr, &self->fg, 1);
      int w, h;
      pango_layout_set_text (self->layout, hone_series_get_name (cs->series), -1);
      pango_layout_get_pixel_size (self->layout, &w, &h);
      cairo_move_to (cr, x + 28, y);
      pango_cairo_show_layout (cr, self->layout);
      x += 28 + w + 16;
    }
}

/* The hover: which x it snaps to (the nearest point of any series). */
static gboolean
hover_snap (HoneLineChart *self, double *x_out)
{
  if (!self->hovering || !self->has_data)
    return FALSE;
  double hx = px_to_x (self, self->hover_px);
  double best = INFINITY, bx = 0;
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      int i = hone_series_find_nearest (cs->series, hx);
      if (i < 0)
        continue;
      double x = hone_series_get_x (cs->series, i);
      if (fabs (x - hx) < best)
        {
          best = fabs (x - hx);
          bx = x;
        }
    }
  if (!isfinite (best))
    return FALSE;
  *x_out = bx;
  return TRUE;
}

/* The point of series cs shown in the read-out for x: its nearest point,
 * when that is not further than one pixel column from where the read-out
 * is (series with points at other x, per-epoch ones, show their nearest). */
static int
readout_index (HoneLineChart *self, ChartSeries *cs, double x)
{
  return hone_series_find_nearest (cs->series, x);
}

static void
draw_hover (HoneLineChart *self, cairo_t *cr)
{
  double x;
  if (!hover_snap (self, &x) || x < self->x0 || x > self->x1)
    return;
  double px = x_to_px (self, x);
  const graphene_rect_t *p = &self->plot;

  cairo_set_dash (cr, NULL, 0, 0);
  cairo_set_line_width (cr, 1);
  set_source (cr, &self->fg, 0.55);
  cairo_move_to (cr, round (px) + 0.5, p->origin.y);
  cairo_line_to (cr, round (px) + 0.5, p->origin.y + p->size.height);
  cairo_stroke (cr);

  /* the read-out box: x, then a row per series */
  char buf[160], value[64];
  double lh = self->line_height;
  double box_w = 0;
  int rows = 1;
  format_x (self, buf, sizeof buf, x);
  double w;
  hone_chart_text_size (self->layout, buf, &box_w, NULL);
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      int i = readout_index (self, cs, x);
      if (i < 0)
        continue;
      format_value (self, value, sizeof value, drawn_value (self, cs, i));
      g_snprintf (buf, sizeof buf, "%s  %s", hone_series_get_name (cs->series), value);
      hone_chart_text_size (self->layout, buf, &w, NULL);
      box_w = MAX (box_w, w + 18);
      rows++;

      double py;
      if (value_to_py (self, drawn_value (self, cs, i), &py))
        {
          double dx = x_to_px (self, hone_series_get_x (cs->series, i));
          if (dx >= p->origin.x - 1 && dx <= p->origin.x + p->size.width + 1)
            {
              cairo_new_sub_path (cr);
              cairo_arc (cr, dx, py, MARKER_RADIUS + 1.5, 0, 2 * G_PI);
              set_source (cr, series_color (self, cs->series), 1);
              cairo_fill_preserve (cr);
              set_background (self, cr, 1);
              cairo_set_line_width (cr, 2);
              cairo_stroke (cr);
            }
        }
    }
  box_w += 16;
  double box_h = rows * lh + 12;
  double bx = px + 14;
  if (bx + box_w > p->origin.x + p->size.width)
    bx = px - 14 - box_w;
  bx = MAX (bx, 0);
  double by = p->origin.y + 6;

  cairo_new_sub_path (cr);
  double r = 6;
  cairo_arc (cr, bx + box_w - r, by + r, r, -G_PI / 2, 0);
  cairo_arc (cr, bx + box_w - r, by + box_h - r, r, 0, G_PI / 2);
  cairo_arc (cr, bx + r, by + box_h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, bx + r, by + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
  set_background (self, cr, 0.94);
  cairo_fill_preserve (cr);
  set_source (cr, &self->fg, 0.25);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  double ty = by + 6;
  format_x (self, buf, sizeof buf, x);
  set_source (cr, &self->fg, 0.8);
  hone_chart_show_text (cr, self->layout, buf, bx + 8, ty, 0, 0);
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      int i = readout_index (self, cs, x);
      if (i < 0)
        continue;
      ty += lh;
      cairo_new_sub_path (cr);
      cairo_arc (cr, bx + 13, ty + lh / 2, 5, 0, 2 * G_PI);
      set_source (cr, series_color (self, cs->series), 1);
      cairo_fill (cr);
      format_value (self, value, sizeof value, drawn_value (self, cs, i));
      g_snprintf (buf, sizeof buf, "%s  %s", hone_series_get_name (cs->series), value);
      set_source (cr, &self->fg, 1);
      hone_chart_show_text (cr, self->layout, buf, bx + 26, ty, 0, 0);
    }
}

static void
hone_line_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  HoneLineChart *self = HONE_LINE_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (width <= 0 || height <= 0)
    return;
  ensure_layout (self);

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  const graphene_rect_t *p = &self->plot;

  set_source (cr, &self->fg, 1);
  if (self->title)
    {
      cairo_move_to (cr, MARGIN, MARGIN);
      pango_layout_set_text (self->title_layout, self->title, -1);
      pango_cairo_show_layout (cr, self->title_layout);
    }
  draw_legend (self, cr);

  if (!self->has_data)
    {
      set_source (cr, &self->fg, 0.55);
      hone_chart_show_text (cr, self->layout, self->empty_text ? self->empty_text : "",
                 p->origin.x + p->size.width / 2, p->origin.y + p->size.height / 2, 0.5, 0.5);
      cairo_destroy (cr);
      return;
    }

  /* grid and tick labels */
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_set_line_width (cr, 1);
  for (int i = 0; i < self->yticks.n; i++)
    {
      double py = round (ay_to_py (self, self->yticks.values[i])) + 0.5;
      set_source (cr, &self->fg, 0.12);
      cairo_move_to (cr, p->origin.x, py);
      cairo_line_to (cr, p->origin.x + p->size.width, py);
      cairo_stroke (cr);
      set_source (cr, &self->fg, 0.8);
      hone_chart_show_text (cr, self->layout, self->yticks.labels[i], p->origin.x - GAP, py, 1, 0.5);
    }
  double label_y = p->origin.y + p->size.height + 4;
  for (int i = 0; i < self->xticks.n; i++)
    {
      double px = round (x_to_px (self, self->xticks.values[i])) + 0.5;
      set_source (cr, &self->fg, 0.07);
      cairo_move_to (cr, px, p->origin.y);
      cairo_line_to (cr, px, p->origin.y + p->size.height);
      cairo_stroke (cr);
      set_source (cr, &self->fg, 0.8);
      hone_chart_show_text (cr, self->layout, self->xticks.labels[i], px, label_y, 0.5, 0);
    }
  if (self->x_label)
    {
      set_source (cr, &self->fg, 0.65);
      hone_chart_show_text (cr, self->layout, self->x_label, p->origin.x + p->size.width,
                 label_y + self->line_height, 1, 0);
    }
  set_source (cr, &self->fg, 0.45);
  cairo_move_to (cr, p->origin.x + 0.5, p->origin.y);
  cairo_line_to (cr, p->origin.x + 0.5, p->origin.y + p->size.height + 0.5);
  cairo_line_to (cr, p->origin.x + p->size.width, p->origin.y + p->size.height + 0.5);
  cairo_stroke (cr);

  /* the series, clipped to the plot */
  cairo_save (cr);
  cairo_rectangle (cr, p->origin.x - MARKER_RADIUS - 1, p->origin.y - MARKER_RADIUS - 1,
                   p->size.width + 2 * MARKER_RADIUS + 2, p->size.height + 2 * MARKER_RADIUS + 2);
  cairo_clip (cr);
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      const GdkRGBA *color = series_color (self, cs->series);
      if (hone_series_get_n_points (cs->series) == 0)
        continue;
      if (is_smoothed (self, cs))
        {
          set_series_style (self, cr, cs, RAW_LINE_WIDTH);
          set_source (cr, color, 0.28);
          path_values (self, cr, cs, TRUE);
          cairo_stroke (cr);
        }
      set_series_style (self, cr, cs, LINE_WIDTH);
      set_source (cr, color, 1);
      path_values (self, cr, cs, FALSE);
      cairo_stroke (cr);
      if (hone_series_get_markers (cs->series))
        draw_markers (self, cr, cs, color);
    }
  cairo_restore (cr);

  if (self->dragging)
    {
      double a = MAX (MIN (self->drag_px0, self->drag_px1), p->origin.x);
      double b = MIN (MAX (self->drag_px0, self->drag_px1), p->origin.x + p->size.width);
      cairo_rectangle (cr, a, p->origin.y, b - a, p->size.height);
      set_source (cr, &palette_light[0], 0.18);
      cairo_fill_preserve (cr);
      set_source (cr, &palette_light[0], 0.6);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
    }
  else
    draw_hover (self, cr);

  cairo_destroy (cr);
}

/* ---- input -------------------------------------------------------------- */

static gboolean
in_plot (HoneLineChart *self, double px, double py)
{
  ensure_layout (self);
  return self->has_data && graphene_rect_contains_point (&self->plot, &GRAPHENE_POINT_INIT (px, py));
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, HoneLineChart *self)
{
  gboolean was = self->hovering;
  self->hovering = in_plot (self, x, y);
  self->hover_px = x;
  self->hover_py = y;
  if (self->hovering || was)
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_leave (GtkEventControllerMotion *motion, HoneLineChart *self)
{
  if (!self->hovering)
    return;
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, HoneLineChart *self)
{
  if (!in_plot (self, x, y))
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  self->dragging = TRUE;
  self->drag_px0 = self->drag_px1 = x;
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, HoneLineChart *self)
{
  if (!self->dragging)
    return;
  self->drag_px1 = self->drag_px0 + dx;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, HoneLineChart *self)
{
  if (!self->dragging)
    return;
  self->dragging = FALSE;
  self->drag_px1 = self->drag_px0 + dx;
  if (fabs (dx) >= MIN_ZOOM_PIXELS)
    {
      double a = px_to_x (self, MIN (self->drag_px0, self->drag_px1));
      double b = px_to_x (self, MAX (self->drag_px0, self->drag_px1));
      hone_line_chart_zoom (self, MAX (a, self->x0), MIN (b, self->x1));
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, HoneLineChart *self)
{
  if (n_press == 2)
    hone_line_chart_reset_zoom (self);
}

/* ---- GObject ------------------------------------------------------------ */

static void
chart_series_free (gpointer p)
{
  ChartSeries *cs = p;
  g_clear_signal_handler (&cs->changed_id, cs->series);
  g_object_unref (cs->series);
  g_array_unref (cs->smooth);
  g_free (cs);
}

static void
hone_line_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  HoneLineChart *self = HONE_LINE_CHART (widget);
  GTK_WIDGET_CLASS (hone_line_chart_parent_class)->css_changed (widget, change);
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &self->fg);
  /* a light foreground means a dark style */
  self->dark = 0.2126 * self->fg.red + 0.7152 * self->fg.green + 0.0722 * self->fg.blue > 0.5;
  if (self->layout)
    {
      pango_layout_context_changed (self->layout);
      pango_layout_context_changed (self->title_layout);
    }
  invalidate (self);
}

static void
hone_line_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                         int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 240;
      *natural = 480;
    }
  else
    {
      *minimum = 180;
      *natural = 300;
    }
}

static void
hone_line_chart_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  HONE_LINE_CHART (widget)->dirty = TRUE;
}

static void
hone_line_chart_dispose (GObject *object)
{
  HoneLineChart *self = HONE_LINE_CHART (object);
  if (self->series)
    g_ptr_array_set_size (self->series, 0);
  g_clear_object (&self->layout);
  g_clear_object (&self->title_layout);
  G_OBJECT_CLASS (hone_line_chart_parent_class)->dispose (object);
}

static void
hone_line_chart_finalize (GObject *object)
{
  HoneLineChart *self = HONE_LINE_CHART (object);
  g_ptr_array_unref (self->series);
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_unit);
  g_free (self->empty_text);
  G_OBJECT_CLASS (hone_line_chart_parent_class)->finalize (object);
}

static void
hone_line_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HoneLineChart *self = HONE_LINE_CHART (object);
  switch (prop_id)
    {
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    case PROP_LOG_SCALE: g_value_set_boolean (value, self->log_scale); break;
    case PROP_SMOOTHING: g_value_set_double (value, self->smoothing); break;
    case PROP_ZOOMED: g_value_set_boolean (value, self->zoomed); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_line_chart_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  HoneLineChart *self = HONE_LINE_CHART (object);
  switch (prop_id)
    {
    case PROP_TITLE: hone_line_chart_set_title (self, g_value_get_string (value)); break;
    case PROP_LOG_SCALE: hone_line_chart_set_log_scale (self, g_value_get_boolean (value)); break;
    case PROP_SMOOTHING: hone_line_chart_set_smoothing (self, g_value_get_double (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_line_chart_class_init (HoneLineChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hone_line_chart_dispose;
  object_class->finalize = hone_line_chart_finalize;
  object_class->get_property = hone_line_chart_get_property;
  object_class->set_property = hone_line_chart_set_property;
  widget_class->snapshot = hone_line_chart_snapshot;
  widget_class->measure = hone_line_chart_measure;
  widget_class->size_allocate = hone_line_chart_size_allocate;
  widget_class->css_changed = hone_line_chart_css_changed;

  props[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL,
                                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_LOG_SCALE] = g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_SMOOTHING] = g_param_spec_double ("smoothing", NULL, NULL, 0, MAX_SMOOTHING, 0,
                                               G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_ZOOMED] = g_param_spec_boolean ("zoomed", NULL, NULL, FALSE,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_css_name (widget_class, "honelinechart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hone_line_chart_init (HoneLineChart *self)
{
  self->series = g_ptr_array_new_with_free_func (chart_series_free);
  self->dirty = TRUE;
  self->fg = (GdkRGBA) { 0, 0, 0, 1 };
  self->x_label = g_strdup (_("epoch"));

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  GtkGesture *drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

/* ---- API ---------------------------------------------------------------- */

GtkWidget *
hone_line_chart_new (void)
{
  return g_object_new (HONE_TYPE_LINE_CHART, NULL);
}

static void
on_series_changed (HoneSeries *series, guint position, guint removed, guint added, gpointer data)
{
  HoneLineChart *self = HONE_LINE_CHART (data);
  for (guint s = 0; s < self->series->len; s++)
    {
      ChartSeries *cs = self->series->pdata[s];
      if (cs->series != series)
        continue;
      if (removed > 0 || position != cs->smooth->len)
        smooth_reset (self, cs);
      else
        smooth_extend (self, cs, position);
    }
  if (removed > 0 && self->zoomed && hone_series_get_n_points (series) == 0)
    hone_line_chart_reset_zoom (self);
  invalidate (self);
}

void
hone_line_chart_add_series (HoneLineChart *self, HoneSeries *series)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  g_return_if_fail (HONE_IS_SERIES (series));
  ChartSeries *cs = g_new0 (ChartSeries, 1);
  cs->series = g_object_ref (series);
  cs->smooth = g_array_new (FALSE, FALSE, sizeof (double));
  cs->changed_id = g_signal_connect (series, "items-changed", G_CALLBACK (on_series_changed), self);
  smooth_reset (self, cs);
  g_ptr_array_add (self->series, cs);
  invalidate (self);
}

void
hone_line_chart_remove_all_series (HoneLineChart *self)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  g_ptr_array_set_size (self->series, 0);
  invalidate (self);
}

guint
hone_line_chart_get_n_series (HoneLineChart *self)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), 0);
  return self->series->len;
}

HoneSeries *
hone_line_chart_get_series (HoneLineChart *self, guint i)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), NULL);
  g_return_val_if_fail (i < self->series->len, NULL);
  return ((ChartSeries *) self->series->pdata[i])->series;
}

void
hone_line_chart_set_title (HoneLineChart *self, const char *title)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  title ? title : "", -1);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TITLE]);
}

const char *
hone_line_chart_get_title (HoneLineChart *self)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), NULL);
  return self->title;
}

void
hone_line_chart_set_x_label (HoneLineChart *self, const char *label)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  g_free (self->x_label);
  self->x_label = g_strdup (label);
  invalidate (self);
}

void
hone_line_chart_set_y_unit (HoneLineChart *self, const char *unit)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  g_free (self->y_unit);
  self->y_unit = g_strdup (unit);
  invalidate (self);
}

void
hone_line_chart_set_format (HoneLineChart *self, HoneChartFormat format)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  self->format = format;
  invalidate (self);
}

void
hone_line_chart_set_empty_text (HoneLineChart *self, const char *text)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  g_free (self->empty_text);
  self->empty_text = g_strdup (text);
  invalidate (self);
}

void
hone_line_chart_set_log_scale (HoneLineChart *self, gboolean log_scale)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  if (self->log_scale == !!log_scale)
    return;
  self->log_scale = !!log_scale;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOG_SCALE]);
}

gboolean
hone_line_chart_get_log_scale (HoneLineChart *self)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), FALSE);
  return self->log_scale;
}

void
hone_line_chart_set_smoothing (HoneLineChart *self, double smoothing)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  smoothing = CLAMP (smoothing, 0, MAX_SMOOTHING);
  if (self->smoothing == smoothing)
    return;
  self->smoothing = smoothing;
  for (guint s = 0; s < self->series->len; s++)
    smooth_reset (self, self->series->pdata[s]);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SMOOTHING]);
}

double
hone_line_chart_get_smoothing (HoneLineChart *self)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), 0);
  return self->smoothing;
}

void
hone_line_chart_zoom (HoneLineChart *self, double x0, double x1)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  g_return_if_fail (x1 > x0);
  self->zoomed = TRUE;
  self->zoom_x0 = x0;
  self->zoom_x1 = x1;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ZOOMED]);
}

void
hone_line_chart_reset_zoom (HoneLineChart *self)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  if (!self->zoomed)
    return;
  self->zoomed = FALSE;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ZOOMED]);
}

gboolean
hone_line_chart_get_zoomed (HoneLineChart *self)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), FALSE);
  return self->zoomed;
}

gboolean
hone_line_chart_get_view (HoneLineChart *self, double *x0, double *x1, double *y0, double *y1)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), FALSE);
  ensure_layout (self);
  if (!self->has_data)
    return FALSE;
  if (x0)
    *x0 = self->x0;
  if (x1)
    *x1 = self->x1;
  if (y0)
    *y0 = self->log_scale ? pow (10, self->y0) : self->y0;
  if (y1)
    *y1 = self->log_scale ? pow (10, self->y1) : self->y1;
  return TRUE;
}

gboolean
hone_line_chart_get_plot_area (HoneLineChart *self, graphene_rect_t *area)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), FALSE);
  ensure_layout (self);
  if (area)
    *area = self->plot;
  return self->has_data;
}

void
hone_line_chart_data_to_widget (HoneLineChart *self, double x, double y, double *wx, double *wy)
{
  g_return_if_fail (HONE_IS_LINE_CHART (self));
  ensure_layout (self);
  double py = NAN;
  if (self->has_data)
    value_to_py (self, y, &py);
  if (wx)
    *wx = self->has_data ? x_to_px (self, x) : NAN;
  if (wy)
    *wy = py;
}

double
hone_line_chart_get_drawn_value (HoneLineChart *self, guint s, guint i)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), NAN);
  g_return_val_if_fail (s < self->series->len, NAN);
  ChartSeries *cs = self->series->pdata[s];
  g_return_val_if_fail (i < hone_series_get_n_points (cs->series), NAN);
  return drawn_value (self, cs, i);
}

char *
hone_line_chart_dup_readout (HoneLineChart *self)
{
  g_return_val_if_fail (HONE_IS_LINE_CHART (self), NULL);
  ensure_layout (self);
  double x;
  if (!hover_snap (self, &x))
    return NULL;
  GString *s = g_string_new (NULL);
  char buf[128];
  format_x (self, buf, sizeof buf, x);
  g_string_append (s, buf);
  for (guint k = 0; k < self->series->len; k++)
    {
      ChartSeries *cs = self->series->pdata[k];
      int i = readout_index (self, cs, x);
      if (i < 0)
        continue;
      format_value (self, buf, sizeof buf, drawn_value (self, cs, i));
      g_string_append_printf (s, "\n%s  %s", hone_series_get_name (cs->series), buf);
    }
  return g_string_free (s, FALSE);
}
