/* hone-chart-private.h: text placement shared by the chart widgets
 * (HoneLineChart, HoneHeatmap), which lay out every label with one
 * PangoLayout each and measure before they draw. */
#pragma once

#include <gtk/gtk.h>

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
