/* hone-line-chart.h: a chart of any number of HoneSeries against one x axis.
 *
 * Draws in snapshot with cairo from what it precomputed when the data, the
 * size or the style changed: the smoothed values (an exponential moving
 * average, debiased as TensorBoard does, the raw line drawn faint beneath),
 * the view and "nice" ticks.  Hover shows a crosshair and the value of
 * every series at the nearest x; dragging across the plot zooms to that x
 * range and a double-click resets it; the y axis may be logarithmic.
 * Colours come from a palette that stays distinguishable for colour-blind
 * viewers (Okabe and Ito), lighter variants on dark styles; validation-like
 * series (markers) are also dashed, so colour is never the only cue.
 *
 * It holds series, it does not fill them (the pages do). */
#pragma once

#include <gtk/gtk.h>

#include "hone-series.h"

G_BEGIN_DECLS

#define HONE_TYPE_LINE_CHART (hone_line_chart_get_type ())
G_DECLARE_FINAL_TYPE (HoneLineChart, hone_line_chart, HONE, LINE_CHART, GtkWidget)

typedef enum
{
  HONE_CHART_FORMAT_NUMBER,   /* 0.532, 1.2e-04, 12.5 k */
  HONE_CHART_FORMAT_PERCENT,  /* values in 0..1 shown as 87.4 % */
} HoneChartFormat;

GtkWidget  *hone_line_chart_new            (void);

/* The chart keeps a reference and redraws when the series changes. */
void        hone_line_chart_add_series     (HoneLineChart *self, HoneSeries *series);
void        hone_line_chart_remove_all_series (HoneLineChart *self);
guint       hone_line_chart_get_n_series   (HoneLineChart *self);
HoneSeries *hone_line_chart_get_series     (HoneLineChart *self, guint i);

void        hone_line_chart_set_title      (HoneLineChart *self, const char *title);
const char *hone_line_chart_get_title      (HoneLineChart *self);
/* The x quantity, "epoch" say: under the x axis and in read-outs. */
void        hone_line_chart_set_x_label    (HoneLineChart *self, const char *label);
/* The unit of y values in read-outs ("img/s"); NULL: none. */
void        hone_line_chart_set_y_unit     (HoneLineChart *self, const char *unit);
void        hone_line_chart_set_format     (HoneLineChart *self, HoneChartFormat format);
/* What the chart says while no series has a point. */
void        hone_line_chart_set_empty_text (HoneLineChart *self, const char *text);

void        hone_line_chart_set_log_scale  (HoneLineChart *self, gboolean log_scale);
gboolean    hone_line_chart_get_log_scale  (HoneLineChart *self);
/* The EMA weight of the previous smoothed value, 0 (none) to 0.99. */
void        hone_line_chart_set_smoothing  (HoneLineChart *self, double smoothing);
double      hone_line_chart_get_smoothing  (HoneLineChart *self);

/* Shows only x in [x0, x1] (what a drag does); reset shows everything. */
void        hone_line_chart_zoom           (HoneLineChart *self, double x0, double x1);
void        hone_line_chart_reset_zoom     (HoneLineChart *self);
gboolean    hone_line_chart_get_zoomed     (HoneLineChart *self);

/* ---- what is drawn where, for tests and accessibility ------------------- */

/* The data range shown and the plot area in widget pixels, as laid out for
 * the widget's current size.  FALSE while no series has a point. */
gboolean    hone_line_chart_get_view       (HoneLineChart *self, double *x0, double *x1,
                                            double *y0, double *y1);
gboolean    hone_line_chart_get_plot_area  (HoneLineChart *self, graphene_rect_t *area);
/* Where the point (x, y) is drawn, in widget coordinates (log scale too). */
void        hone_line_chart_data_to_widget (HoneLineChart *self, double x, double y,
                                            double *wx, double *wy);
/* The value drawn for point i of series s (smoothed when it applies). */
double      hone_line_chart_get_drawn_value (HoneLineChart *self, guint s, guint i);
/* The read-out text of the hover at the moment (a line for x, then one
 * per series), or NULL when the pointer is not over the plot. */
char       *hone_line_chart_dup_readout    (HoneLineChart *self);

G_END_DECLS
