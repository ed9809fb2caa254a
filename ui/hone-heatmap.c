/* hone-heatmap.c: a confusion matrix heat map; see hone-heatmap.h.
 *
 * Cell texts and label sizes are prepared when the data, size or style
 * change; snapshot only draws them. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hone-chart-private.h"
#include "hone-heatmap.h"

#define MARGIN 10.0
#define GAP 6.0
#define MAX_CELL 110.0
#define CELL_TEXT_LEN 24

struct _HoneHeatmap
{
  GtkWidget parent_instance;

  int k;
  char **names;                 /* (K) */
  int64_t *counts;              /* (K, K) */
  double *values;               /* (K, K) row-normalised */
  char (*count_text)[CELL_TEXT_LEN];    /* (K, K) */
  char (*share_text)[CELL_TEXT_LEN];    /* (K, K) */

  int sel_true, sel_pred;
  int hover_true, hover_pred;

  /* layout */
  gboolean dirty;
  int layout_width, layout_height;
  double origin_x, origin_y, cell;
  double row_label_width;
  double col_label_height;
  gboolean rotate_columns;
  double line_height;
  double shift;                 /* of everything, to centre the map */

  GdkRGBA fg;
  gboolean dark;
  PangoLayout *layout;
  PangoLayout *bold_layout;
  PangoLayout *small_layout;
};

G_DEFINE_FINAL_TYPE (HoneHeatmap, hone_heatmap, GTK_TYPE_WIDGET)

enum { CELL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- colour ------------------------------------------------------------- */

/* A sequential blue ramp (after ColorBrewer's "Blues"): lightness falls
 * monotonically with v on light styles and rises on dark ones. */
static void
ramp (HoneHeatmap *self, double v, GdkRGBA *out)
{
  static const double light[3][3] = { { 0.969, 0.984, 1.000 }, { 0.420, 0.682, 0.839 }, { 0.031, 0.188, 0.420 } };
  static const double dark[3][3] = { { 0.170, 0.180, 0.205 }, { 0.129, 0.443, 0.710 }, { 0.776, 0.859, 0.937 } };
  const double (*stops)[3] = self->dark ? dark : light;
  v = CLAMP (v, 0, 1);
  int i = v < 0.5 ? 0 : 1;
  double t = v < 0.5 ? v * 2 : (v - 0.5) * 2;
  out->red = stops[i][0] + t * (stops[i + 1][0] - stops[i][0]);
  out->green = stops[i][1] + t * (stops[i + 1][1] - stops[i][1]);
  out->blue = stops[i][2] + t * (stops[i + 1][2] - stops[i][2]);
  out->alpha = 1;
}

static double
luminance (const GdkRGBA *c)
{
  return 0.2126 * c->red + 0.7152 * c->green + 0.0722 * c->blue;
}

/* ---- layout ------------------------------------------------------------- */

static void
ensure_layouts (HoneHeatmap *self)
{
  if (self->layout)
    return;
  self->layout = hone_chart_layout_new (GTK_WIDGET (self), FALSE, 1.0);
  self->bold_layout = hone_chart_layout_new (GTK_WIDGET (self), TRUE, 1.0);
  self->small_layout = hone_chart_layout_new (GTK_WIDGET (self), FALSE, 0.85);
}

static void
ensure_layout (HoneHeatmap *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  if (!self->dirty && width == self->layout_width && height == self->layout_height)
    return;
  self->dirty = FALSE;
  self->layout_width = width;
  self->layout_height = height;
  ensure_layouts (self);

  double lh;
  hone_chart_text_size (self->layout, "Ag", NULL, &lh);
  self->line_height = lh;
  self->row_label_width = 0;
  double col_w = 0;
  for (int i = 0; i < self->k; i++)
    {
      double w;
      hone_chart_text_size (self->layout, self->names[i], &w, NULL);
      self->row_label_width = MAX (self->row_label_width, w);
      col_w = MAX (col_w, w);
    }
  /* axis titles: "Predicted" over the columns, "True" rotated left of the rows */
  double left = MARGIN + lh + GAP + self->row_label_width + GAP;
  double avail_w = width - left - MARGIN;
  double cell = self->k ? avail_w / self->k : 0;
  self->rotate_columns = col_w + 6 > cell;
  self->col_label_height = self->rotate_columns ? col_w * 0.72 + lh * 0.72 : lh;
  double top = MARGIN + lh + GAP + self->col_label_height + GAP;
  double avail_h = height - top - MARGIN;
  if (self->k)
    cell = MIN (cell, avail_h / self->k);
  cell = MIN (cell, MAX_CELL);
  self->cell = MAX (floor (cell), 1);
  /* centred in the width it has */
  self->shift = MAX (0, floor ((width - left - MARGIN - self->k * self->cell) / 2));
  self->origin_x = left + self->shift;
  self->origin_y = top;
}

static void
invalidate (HoneHeatmap *self)
{
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
cell_at (HoneHeatmap *self, double x, double y, int *t, int *p)
{
  ensure_layout (self);
  if (self->k == 0)
    return FALSE;
  int c = (int) floor ((x - self->origin_x) / self->cell);
  int r = (int) floor ((y - self->origin_y) / self->cell);
  if (c < 0 || r < 0 || c >= self->k || r >= self->k)
    return FALSE;
  *t = r;
  *p = c;
  return TRUE;
}

/* ---- drawing ------------------------------------------------------------ */

static void
set_fg (HoneHeatmap *self, cairo_t *cr, double alpha)
{
  cairo_set_source_rgba (cr, self->fg.red, self->fg.green, self->fg.blue, self->fg.alpha * alpha);
}

static void
hone_heatmap_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  HoneHeatmap *self = HONE_HEATMAP (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (width <= 0 || height <= 0 || self->k == 0)
    return;
  ensure_layout (self);

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  int k = self->k;
  double c = self->cell;
  double ox = self->origin_x, oy = self->origin_y;
  double lh = self->line_height;

  /* axis titles */
  set_fg (self, cr, 0.7);
  hone_chart_show_text (cr, self->bold_layout, _("Predicted class"), ox + k * c / 2, MARGIN, 0.5, 0);
  cairo_save (cr);
  cairo_translate (cr, MARGIN + self->shift, oy + k * c / 2);
  cairo_rotate (cr, -G_PI / 2);
  hone_chart_show_text (cr, self->bold_layout, _("True class"), 0, 0, 0.5, 0);
  cairo_restore (cr);

  /* class names */
  for (int i = 0; i < k; i++)
    {
      gboolean hot_row = i == self->hover_true || i == self->sel_true;
      gboolean hot_col = i == self->hover_pred || i == self->sel_pred;
      set_fg (self, cr, hot_row ? 1 : 0.75);
      hone_chart_show_text (cr, hot_row ? self->bold_layout : self->layout, self->names[i],
                 ox - GAP, oy + (i + 0.5) * c, 1, 0.5);
      set_fg (self, cr, hot_col ? 1 : 0.75);
      PangoLayout *l = hot_col ? self->bold_layout : self->layout;
      if (self->rotate_columns)
        {
          cairo_save (cr);
          cairo_translate (cr, ox + (i + 0.5) * c, oy - GAP);
          cairo_rotate (cr, -G_PI / 4);
          hone_chart_show_text (cr, l, self->names[i], 0, 0, 0, 0.5);
          cairo_restore (cr);
        }
      else
        hone_chart_show_text (cr, l, self->names[i], ox + (i + 0.5) * c, oy - GAP, 0.5, 1);
    }

  /* cells */
  gboolean two_lines = c >= 2.4 * lh;
  gboolean any_text = c >= 1.2 * lh;
  for (int r = 0; r < k; r++)
    for (int p = 0; p < k; p++)
      {
        GdkRGBA color;
        double v = self->values[r * k + p];
        ramp (self, v, &color);
        double x = ox + p * c, y = oy + r * c;
        cairo_rectangle (cr, x + 1, y + 1, c - 2, c - 2);
        gdk_cairo_set_source_rgba (cr, &color);
        cairo_fill (cr);
        if (!any_text)
          continue;
        double tone = luminance (&color) > 0.45 ? 0 : 1;
        cairo_set_source_rgba (cr, tone, tone, tone, self->counts[r * k + p] ? 1 : 0.45);
        if (two_lines)
          {
            hone_chart_show_text (cr, self->bold_layout, self->count_text[r * k + p], x + c / 2, y + c / 2, 0.5, 0.95);
            cairo_set_source_rgba (cr, tone, tone, tone, 0.8);
            hone_chart_show_text (cr, self->small_layout, self->share_text[r * k + p], x + c / 2, y + c / 2, 0.5, -0.05);
          }
        else
          hone_chart_show_text (cr, self->small_layout, self->count_text[r * k + p], x + c / 2, y + c / 2, 0.5, 0.5);
      }

  /* hover and selection outlines */
  if (self->hover_true >= 0 && self->hover_pred >= 0)
    {
      cairo_rectangle (cr, ox + self->hover_pred * c + 1.5, oy + self->hover_true * c + 1.5, c - 3, c - 3);
      set_fg (self, cr, 0.7);
      cairo_set_line_width (cr, 2);
      cairo_stroke (cr);
    }
  if (self->sel_true >= 0 && self->sel_pred >= 0)
    {
      cairo_rectangle (cr, ox + self->sel_pred * c + 2, oy + self->sel_true * c + 2, c - 4, c - 4);
      if (self->dark)
        cairo_set_source_rgb (cr, 0xE6 / 255., 0x9F / 255., 0x00 / 255.);
      else
        cairo_set_source_rgb (cr, 0xD5 / 255., 0x5E / 255., 0x00 / 255.);
      cairo_set_line_width (cr, 4);
      cairo_stroke (cr);
    }
  cairo_destroy (cr);
}

/* ---- input -------------------------------------------------------------- */

static void
update_tooltip (HoneHeatmap *self)
{
  int t = self->hover_true, p = self->hover_pred;
  if (t < 0 || p < 0)
    {
      gtk_widget_set_tooltip_text (GTK_WIDGET (self), NULL);
      return;
    }
  int64_t row = 0;
  for (int i = 0; i < self->k; i++)
    row += self->counts[t * self->k + i];
  g_autofree char *text = NULL;
  char count[32], total[32];
  g_snprintf (count, sizeof count, "%" G_GINT64_FORMAT, self->counts[t * self->k + p]);
  g_snprintf (total, sizeof total, "%" G_GINT64_FORMAT, row);
  if (t == p)
    /* Translators: a heat-map cell: "42 of 50 images of Sandal were recognised (84.0 %)" */
    text = g_strdup_printf (_("%s of %s images of %s were recognised (%.1f %%)"), count, total,
                            self->names[t], 100 * self->values[t * self->k + p]);
  else
    /* Translators: a heat-map cell: "3 of 50 images of Sandal were taken for Sneaker (6.0 %)" */
    text = g_strdup_printf (_("%s of %s images of %s were taken for %s (%.1f %%)"), count, total,
                            self->names[t], self->names[p], 100 * self->values[t * self->k + p]);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), text);
}

static void
set_hover (HoneHeatmap *self, int t, int p)
{
  if (t == self->hover_true && p == self->hover_pred)
    return;
  self->hover_true = t;
  self->hover_pred = p;
  update_tooltip (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, HoneHeatmap *self)
{
  int t, p;
  if (cell_at (self, x, y, &t, &p))
    set_hover (self, t, p);
  else
    set_hover (self, -1, -1);
}

static void
on_leave (GtkEventControllerMotion *motion, HoneHeatmap *self)
{
  set_hover (self, -1, -1);
}

/* What a click or Return on a cell does: select it, or clear the selection
 * when it was the selected one. */
static void
activate_cell (HoneHeatmap *self, int t, int p)
{
  if (t == self->sel_true && p == self->sel_pred)
    t = p = -1;
  hone_heatmap_set_selection (self, t, p);
  g_signal_emit (self, signals[CELL_ACTIVATED], 0, t, p);
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, HoneHeatmap *self)
{
  int t, p;
  if (cell_at (self, x, y, &t, &p))
    activate_cell (self, t, p);
}

/* The keyboard moves the highlighted cell with the arrows and activates it
 * with Return or Space. */
static gboolean
on_key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
                GdkModifierType state, HoneHeatmap *self)
{
  if (self->k == 0 || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK)))
    return FALSE;
  int t = self->hover_true, p = self->hover_pred;
  gboolean fresh = t < 0 || p < 0;
  if (fresh)
    {
      t = MAX (self->sel_true, 0);
      p = MAX (self->sel_pred, 0);
    }
  switch (keyval)
    {
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      p = fresh ? p : MAX (p - 1, 0);
      break;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      p = fresh ? p : MIN (p + 1, self->k - 1);
      break;
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      t = fresh ? t : MAX (t - 1, 0);
      break;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      t = fresh ? t : MIN (t + 1, self->k - 1);
      break;
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
    case GDK_KEY_space:
    case GDK_KEY_KP_Space:
      activate_cell (self, t, p);
      return TRUE;
    default:
      return FALSE;
    }
  set_hover (self, t, p);
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------ */

static void
clear_data (HoneHeatmap *self)
{
  g_clear_pointer (&self->names, g_strfreev);
  g_clear_pointer (&self->counts, g_free);
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->count_text, g_free);
  g_clear_pointer (&self->share_text, g_free);
  self->k = 0;
}

static void
hone_heatmap_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  HoneHeatmap *self = HONE_HEATMAP (widget);
  GTK_WIDGET_CLASS (hone_heatmap_parent_class)->css_changed (widget, change);
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &self->fg);
  self->dark = luminance (&self->fg) > 0.5;
  if (self->layout)
    {
      pango_layout_context_changed (self->layout);
      pango_layout_context_changed (self->bold_layout);
      pango_layout_context_changed (self->small_layout);
    }
  invalidate (self);
}

static void
hone_heatmap_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                      int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  /* cells of at least about 60 pixels for five to ten classes */
  *minimum = orientation == GTK_ORIENTATION_VERTICAL ? 380 : 300;
  *natural = 480;
}

static void
hone_heatmap_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  HONE_HEATMAP (widget)->dirty = TRUE;
}

static void
hone_heatmap_dispose (GObject *object)
{
  HoneHeatmap *self = HONE_HEATMAP (object);
  g_clear_object (&self->layout);
  g_clear_object (&self->bold_layout);
  g_clear_object (&self->small_layout);
  G_OBJECT_CLASS (hone_heatmap_parent_class)->dispose (object);
}

static void
hone_heatmap_finalize (GObject *object)
{
  clear_data (HONE_HEATMAP (object));
  G_OBJECT_CLASS (hone_heatmap_parent_class)->finalize (object);
}

static void
hone_heatmap_class_init (HoneHeatmapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = hone_heatmap_dispose;
  object_class->finalize = hone_heatmap_finalize;
  widget_class->snapshot = hone_heatmap_snapshot;
  widget_class->measure = hone_heatmap_measure;
  widget_class->size_allocate = hone_heatmap_size_allocate;
  widget_class->css_changed = hone_heatmap_css_changed;

  /* (true class, predicted class), or (-1, -1) when the selection was cleared */
  signals[CELL_ACTIVATED] = g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_set_css_name (widget_class, "honeheatmap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hone_heatmap_init (HoneHeatmap *self)
{
  self->sel_true = self->sel_pred = -1;
  self->hover_true = self->hover_pred = -1;
  self->dirty = TRUE;
  self->fg = (GdkRGBA) { 0, 0, 0, 1 };

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), TRUE);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Confusion matrix"), -1);
}

/* ---- API ---------------------------------------------------------------- */

GtkWidget *
hone_heatmap_new (void)
{
  return g_object_new (HONE_TYPE_HEATMAP, NULL);
}

void
hone_heatmap_set_data (HoneHeatmap *self, int n_classes, const char *const *class_names,
                       const int64_t *counts)
{
  g_return_if_fail (HONE_IS_HEATMAP (self));
  g_return_if_fail (n_classes >= 0);
  g_return_if_fail (n_classes == 0 || (class_names != NULL && counts != NULL));

  clear_data (self);
  int k = n_classes;
  self->k = k;
  if (k > 0)
    {
      self->names = g_new0 (char *, k + 1);
      for (int i = 0; i < k; i++)
        self->names[i] = g_strdup (class_names[i]);
      self->counts = g_memdup2 (counts, sizeof (int64_t) * k * k);
      self->values = g_new0 (double, k * k);
      self->count_text = g_malloc0 (sizeof (*self->count_text) * k * k);
      self->share_text = g_malloc0 (sizeof (*self->share_text) * k * k);
      for (int r = 0; r < k; r++)
        {
          int64_t row = 0;
          for (int p = 0; p < k; p++)
            row += counts[r * k + p];
          for (int p = 0; p < k; p++)
            {
              double v = row > 0 ? (double) counts[r * k + p] / row : 0;
              self->values[r * k + p] = v;
              g_snprintf (self->count_text[r * k + p], CELL_TEXT_LEN, "%" G_GINT64_FORMAT, counts[r * k + p]);
              g_snprintf (self->share_text[r * k + p], CELL_TEXT_LEN, "%.0f %%", 100 * v);
            }
        }
    }
  if (self->sel_true >= k || self->sel_pred >= k)
    self->sel_true = self->sel_pred = -1;
  if (self->hover_true >= k || self->hover_pred >= k)
    self->hover_true = self->hover_pred = -1;
  update_tooltip (self);
  invalidate (self);
}

int
hone_heatmap_get_n_classes (HoneHeatmap *self)
{
  g_return_val_if_fail (HONE_IS_HEATMAP (self), 0);
  return self->k;
}

void
hone_heatmap_set_selection (HoneHeatmap *self, int true_class, int predicted)
{
  g_return_if_fail (HONE_IS_HEATMAP (self));
  if (true_class < 0 || predicted < 0 || true_class >= self->k || predicted >= self->k)
    true_class = predicted = -1;
  self->sel_true = true_class;
  self->sel_pred = predicted;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
hone_heatmap_get_selection (HoneHeatmap *self, int *true_class, int *predicted)
{
  g_return_val_if_fail (HONE_IS_HEATMAP (self), FALSE);
  if (true_class)
    *true_class = self->sel_true;
  if (predicted)
    *predicted = self->sel_pred;
  return self->sel_true >= 0;
}

double
hone_heatmap_get_cell_value (HoneHeatmap *self, int true_class, int predicted)
{
  g_return_val_if_fail (HONE_IS_HEATMAP (self), 0);
  g_return_val_if_fail (true_class >= 0 && true_class < self->k, 0);
  g_return_val_if_fail (predicted >= 0 && predicted < self->k, 0);
  return self->values[true_class * self->k + predicted];
}

gboolean
hone_heatmap_get_cell_area (HoneHeatmap *self, int true_class, int predicted, graphene_rect_t *area)
{
  g_return_val_if_fail (HONE_IS_HEATMAP (self), FALSE);
  if (true_class < 0 || predicted < 0 || true_class >= self->k || predicted >= self->k)
    return FALSE;
  ensure_layout (self);
  *area = GRAPHENE_RECT_INIT (self->origin_x + predicted * self->cell,
                              self->origin_y + true_class * self->cell, self->cell, self->cell);
  return TRUE;
}
