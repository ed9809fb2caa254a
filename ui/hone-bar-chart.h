/* hone-bar-chart.h: a bar chart of counts per class (the Data page's class
 * distribution): one bar per class, coloured by class, the count written
 * above each bar and shown on hover with the class name.
 *
 * It draws what it was given and knows nothing of datasets. */
#pragma once

#include <gtk/gtk.h>
#include <stdint.h>

G_BEGIN_DECLS

#define HONE_TYPE_BAR_CHART (hone_bar_chart_get_type ())
G_DECLARE_FINAL_TYPE (HoneBarChart, hone_bar_chart, HONE, BAR_CHART, GtkWidget)

GtkWidget *hone_bar_chart_new (void);

/* Copies n labels and counts; n 0 shows the empty state. */
void       hone_bar_chart_set_data (HoneBarChart *self, const char *const *labels,
                                    const int64_t *counts, int n);
int        hone_bar_chart_get_n_bars (HoneBarChart *self);
int64_t    hone_bar_chart_get_count  (HoneBarChart *self, int i);

/* The bar under the point (x, y) in widget coordinates, or -1. */
int        hone_bar_chart_bar_at (HoneBarChart *self, double x, double y);
/* The text a hover over bar i shows (transfer full), such as
 * "Sandal: 6,000 images (20.0 %)". */
char      *hone_bar_chart_describe (HoneBarChart *self, int i);

/* The colour of class k, shared by every widget that colours classes:
 * the eight colours of Okabe and Ito's colour-blind-safe palette, then
 * repeated in lighter tones. */
void       hone_class_color (int k, GdkRGBA *color);

G_END_DECLS
