/* hone-chart-private.h: text placement shared by the chart widgets
 * (HoneLineChart, HoneHeatmap), which lay out their labels with a few
 * PangoLayouts and measure before they draw. */
#pragma once

#include <gtk/gtk.h>

/* A layout for the widget's font, made bold (bold) and scaled (scale, 1:
 * unchanged); the caller unrefs it. */
static inline PangoLayout *
hone_chart_layout_new (GtkWidget *widget, gboolean bold, double scale)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, NULL);
  PangoAttrList *attrs = pango_attr_list_new ();
  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  if (scale != 1.0)
    pango_attr_list_insert (attrs, pango_attr_scale_new (scale));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);
  return layout;
}

/* Sets the layout's text and returns its size in pixels (w or h may be NULL). */
static inline void
hone_chart_text_size (PangoLayout *layout, const char *text, double *w, double *h)
{
  int pw, ph;
  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &pw, &ph);
  if (w)
    *w = pw;
  if (h)
    *h = ph;
}

/* Draws text with its box aligned at (x, y): xalign and yalign 0 put the
 * top left corner there, 0.5 the centre, 1 the bottom right. */
static inline void
hone_chart_show_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y,
                      double xalign, double yalign)
{
  double w, h;
  hone_chart_text_size (layout, text, &w, &h);
  cairo_move_to (cr, x - w * xalign, y - h * yalign);
  pango_cairo_show_layout (cr, layout);
}
