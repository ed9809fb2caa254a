/* hone-bar-chart.c: the class-distribution bar chart.
 *
 * Layouts for the labels are made when the data (or the font) changes, so
 * that snapshot only draws: no allocation while drawing.  Hover highlights
 * a bar and the tooltip names its class and count.
 *
 * This file does not count anything itself. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hone-bar-chart.h"

#define MARGIN_TOP    22.0
#define MARGIN_BOTTOM 34.0
#define MARGIN_SIDE   12.0

struct _HoneBarChart
{
  GtkWidget parent_instance;

  int n;
  char **labels;              /* (n) */
  int64_t *counts;            /* (n) */
  int64_t max, total;
  PangoLayout **label_layouts;/* (n) class names under the bars */
  PangoLayout **count_layouts;/* (n) counts above the bars */
  PangoLayout *empty_layout;
  int hover;
};

G_DEFINE_FINAL_TYPE (HoneBarChart, hone_bar_chart, GTK_TYPE_WIDGET)

void
hone_class_color (int k, GdkRGBA *color)
{
  /* Okabe & Ito, "Color Universal Design" (2008), black left out */
  static const double palette[8][3] = {
    { 0.000, 0.447, 0.698 },   /* blue */
    { 0.902, 0.624, 0.000 },   /* orange */
    { 0.000, 0.620, 0.451 },   /* bluish green */
    { 0.800, 0.475, 0.655 },   /* reddish purple */
    { 0.337, 0.706, 0.914 },   /* sky blue */
    { 0.835, 0.369, 0.000 },   /* vermillion */
    { 0.941, 0.894, 0.259 },   /* yellow */
    { 0.500, 0.500, 0.500 },   /* grey */
  };
  if (k < 0)
    k = 0;
  const double *c = palette[k % 8];
  double lighten = (k / 8) % 2 ? 0.35 : 0.0;
  color->red = (float) (c[0] + (1.0 - c[0]) * lighten);
  color->green = (float) (c[1] + (1.0 - c[1]) * lighten);
  color->blue = (float) (c[2] + (1.0 - c[2]) * lighten);
  color->alpha = 1.0f;
}

static void
free_layouts (HoneBarChart *self)
{
  for (int i = 0; self->label_layouts && i < self->n; i++)
    {
      g_clear_object (&self->label_layouts[i]);
      g_clear_object (&self->count_layouts[i]);
    }
  g_clear_pointer (&self->label_layouts, g_free);
  g_clear_pointer (&self->count_layouts, g_free);
  g_clear_object (&self->empty_layout);
}

static char *
format_count (int64_t count)
{
  /* "6,000": grouped by the locale's separator */
  return g_strdup_printf ("%'" G_GINT64_FORMAT, count);
}

static void fit_labels (HoneBarChart *self, int width);

static void
make_layouts (HoneBarChart *self)
{
  free_layouts (self);
  self->label_layouts = g_new0 (PangoLayout *, MAX (self->n, 1));
  self->count_layouts = g_new0 (PangoLayout *, MAX (self->n, 1));
  for (int i = 0; i < self->n; i++)
    {
      self->label_layouts[i] = gtk_widget_create_pango_layout (GTK_WIDGET (self), self->labels[i]);
      pango_layout_set_ellipsize (self->label_layouts[i], PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (self->label_layouts[i], PANGO_ALIGN_CENTER);
      g_autofree char *count = format_count (self->counts[i]);
      self->count_layouts[i] = gtk_widget_create_pango_layout (GTK_WIDGET (self), count);
      pango_layout_set_alignment (self->count_layouts[i], PANGO_ALIGN_CENTER);
    }
  self->empty_layout = gtk_widget_create_pango_layout (GTK_WIDGET (self),
                                                       _("No images yet: choose a data set above"));
  fit_labels (self, gtk_widget_get_width (GTK_WIDGET (self)));
}

/* Label widths follow the slots; set here so that drawing only draws. */
static void
fit_labels (HoneBarChart *self, int width)
{
  double slot = (width - 2 * MARGIN_SIDE) / MAX (self->n, 1);
  for (int i = 0; i < self->n; i++)
    pango_layout_set_width (self->label_layouts[i], (int) (MAX (slot, 1.0) * PANGO_SCALE));
}

static void
hone_bar_chart_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  fit_labels (HONE_BAR_CHART (widget), width);
}

static void
bar_geometry (HoneBarChart *self, int i, double width, double height,
              double *x, double *y, double *w, double *h)
{
  double slot = (width - 2 * MARGIN_SIDE) / MAX (self->n, 1);
  double plot_h = MAX (height - MARGIN_TOP - MARGIN_BOTTOM, 1.0);
  *w = MAX (slot * 0.7, 1.0);
  *x = MARGIN_SIDE + slot * i + (slot - *w) / 2;
  *h = self->max > 0 ? plot_h * (double) self->counts[i] / (double) self->max : 0.0;
  *y = MARGIN_TOP + plot_h - *h;
}

static void
draw (HoneBarChart *self, cairo_t *cr, double width, double height)
{
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &fg);

  if (self->n == 0)
    {
      int lw, lh;
      pango_layout_get_pixel_size (self->empty_layout, &lw, &lh);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
      cairo_move_to (cr, (width - lw) / 2, (height - lh) / 2);
      pango_cairo_show_layout (cr, self->empty_layout);
      return;
    }

  double slot = (width - 2 * MARGIN_SIDE) / self->n;
  /* baseline */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.3);
  cairo_rectangle (cr, MARGIN_SIDE, height - MARGIN_BOTTOM, width - 2 * MARGIN_SIDE, 1);
  cairo_fill (cr);

  for (int i = 0; i < self->n; i++)
    {
      double x, y, w, h;
      bar_geometry (self, i, width, height, &x, &y, &w, &h);
      GdkRGBA c;
      hone_class_color (i, &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, self->hover == i ? 1.0 : 0.85);
      double r = MIN (4.0, MIN (w / 2, h));
      /* rounded top corners */
      cairo_new_sub_path (cr);
      cairo_move_to (cr, x, y + h);
      cairo_arc (cr, x + r, y + r, r, M_PI, 1.5 * M_PI);
      cairo_arc (cr, x + w - r, y + r, r, 1.5 * M_PI, 2 * M_PI);
      cairo_line_to (cr, x + w, y + h);
      cairo_close_path (cr);
      cairo_fill (cr);
      if (self->hover == i)
        {
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
          cairo_set_line_width (cr, 2);
          cairo_rectangle (cr, x - 1, y - 1, w + 2, h + 1);
          cairo_stroke (cr);
        }

      int lw, lh;
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.9);
      pango_layout_get_pixel_size (self->count_layouts[i], &lw, &lh);
      if (lw <= slot)
        {
          cairo_move_to (cr, x + w / 2 - lw / 2.0, y - lh - 2);
          pango_cairo_show_layout (cr, self->count_layouts[i]);
        }
      pango_layout_get_pixel_size (self->label_layouts[i], &lw, &lh);
      cairo_move_to (cr, MARGIN_SIDE + slot * i, height - MARGIN_BOTTOM + 6);
      pango_cairo_show_layout (cr, self->label_layouts[i]);
    }
}

static void
hone_bar_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  HoneBarChart *self = HONE_BAR_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (width <= 0 || height <= 0)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw (self, cr, width, height);
  cairo_destroy (cr);
}

static void
hone_bar_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                        int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 200;
      *natural = 480;
    }
  else
    {
      *minimum = 160;
      *natural = 220;
    }
}

int
hone_bar_chart_bar_at (HoneBarChart *self, double px, double py)
{
  g_return_val_if_fail (HONE_IS_BAR_CHART (self), -1);
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  for (int i = 0; i < self->n; i++)
    {
      double x, y, w, h;
      bar_geometry (self, i, width, height, &x, &y, &w, &h);
      /* the whole column counts, so that short bars are easy to hover */
      if (px >= x && px < x + w && py >= MARGIN_TOP - 20 && py <= height)
        return i;
    }
  return -1;
}

char *
hone_bar_chart_describe (HoneBarChart *self, int i)
{
  g_return_val_if_fail (HONE_IS_BAR_CHART (self), NULL);
  g_return_val_if_fail (i >= 0 && i < self->n, NULL);
  g_autofree char *count = format_count (self->counts[i]);
  double pct = self->total > 0 ? 100.0 * (double) self->counts[i] / (double) self->total : 0.0;
  /* Translators: class name, image count, share of all images */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s: %s image (%.1f %%)",
                                       "%s: %s images (%.1f %%)", (gulong) self->counts[i]),
                          self->labels[i], count, pct);
}

static gboolean
query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  HoneBarChart *self = HONE_BAR_CHART (widget);
  int i = hone_bar_chart_bar_at (self, x, y);
  if (i < 0)
    return FALSE;
  g_autofree char *text = hone_bar_chart_describe (self, i);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
motion (GtkEventControllerMotion *motion_ctl, double x, double y, HoneBarChart *self)
{
  int i = hone_bar_chart_bar_at (self, x, y);
  if (i != self->hover)
    {
      self->hover = i;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
leave (GtkEventControllerMotion *motion_ctl, HoneBarChart *self)
{
  if (self->hover != -1)
    {
      self->hover = -1;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
hone_bar_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (hone_bar_chart_parent_class)->css_changed (widget, change);
  make_layouts (HONE_BAR_CHART (widget));
  gtk_widget_queue_draw (widget);
}

void
hone_bar_chart_set_data (HoneBarChart *self, const char *const *labels, const int64_t *counts, int n)
{
  g_return_if_fail (HONE_IS_BAR_CHART (self));
  g_return_if_fail (n >= 0 && (n == 0 || (labels && counts)));
  free_layouts (self);
  g_strfreev (self->labels);
  g_free (self->counts);
  self->n = n;
  self->labels = g_new0 (char *, n + 1);
  self->counts = g_new0 (int64_t, MAX (n, 1));
  self->max = self->total = 0;
  for (int i = 0; i < n; i++)
    {
      self->labels[i] = g_strdup (labels[i]);
      self->counts[i] = counts[i];
      self->max = MAX (self->max, counts[i]);
      self->total += counts[i];
    }
  self->hover = -1;
  make_layouts (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
hone_bar_chart_get_n_bars (HoneBarChart *self)
{
  g_return_val_if_fail (HONE_IS_BAR_CHART (self), 0);
  return self->n;
}

int64_t
hone_bar_chart_get_count (HoneBarChart *self, int i)
{
  g_return_val_if_fail (HONE_IS_BAR_CHART (self), 0);
  g_return_val_if_fail (i >= 0 && i < self->n, 0);
  return self->counts[i];
}

static void
hone_bar_chart_finalize (GObject *object)
{
  HoneBarChart *self = HONE_BAR_CHART (object);
  free_layouts (self);
  g_strfreev (self->labels);
  g_free (self->counts);
  G_OBJECT_CLASS (hone_bar_chart_parent_class)->finalize (object);
}

static void
hone_bar_chart_class_init (HoneBarChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->finalize = hone_bar_chart_finalize;
  widget_class->snapshot = hone_bar_chart_snapshot;
  widget_class->measure = hone_bar_chart_measure;
  widget_class->size_allocate = hone_bar_chart_size_allocate;
  widget_class->css_changed = hone_bar_chart_css_changed;
  gtk_widget_class_set_css_name (widget_class, "honebarchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hone_bar_chart_init (HoneBarChart *self)
{
  self->hover = -1;
  self->labels = g_new0 (char *, 1);
  self->counts = g_new0 (int64_t, 1);
  make_layouts (self);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (query_tooltip), NULL);
  GtkEventController *m = gtk_event_controller_motion_new ();
  g_signal_connect (m, "motion", G_CALLBACK (motion), self);
  g_signal_connect (m, "leave", G_CALLBACK (leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), m);
}

GtkWidget *
hone_bar_chart_new (void)
{
  return g_object_new (HONE_TYPE_BAR_CHART, NULL);
}
