/* hone-heatmap.h: a confusion matrix drawn as a K×K heat map.
 *
 * Rows are true classes, columns predicted ones; each cell shows its count
 * and its share of the row, and is coloured by that share on a sequential
 * ramp whose lightness changes monotonically (readable in greyscale and by
 * colour-blind viewers), reversed on dark styles.  Hover highlights a cell
 * and says what it means in a tooltip; a click selects it (outlined) and
 * emits "cell-activated" (true class, predicted class); clicking the
 * selected cell again clears the selection and emits (-1, -1).
 *
 * It does not compute the matrix (HoneEvaluation does). */
#pragma once

#include <gtk/gtk.h>
#include <stdint.h>

G_BEGIN_DECLS

#define HONE_TYPE_HEATMAP (hone_heatmap_get_type ())
G_DECLARE_FINAL_TYPE (HoneHeatmap, hone_heatmap, HONE, HEATMAP, GtkWidget)

GtkWidget *hone_heatmap_new            (void);

/* Copies K class names and the (K, K) counts, row = true class; K = 0
 * empties the map.  A selection that still fits is kept. */
void       hone_heatmap_set_data       (HoneHeatmap *self, int n_classes,
                                        const char *const *class_names, const int64_t *counts);
int        hone_heatmap_get_n_classes  (HoneHeatmap *self);

/* Selects a cell (-1, -1: none) without emitting "cell-activated". */
void       hone_heatmap_set_selection  (HoneHeatmap *self, int true_class, int predicted);
gboolean   hone_heatmap_get_selection  (HoneHeatmap *self, int *true_class, int *predicted);

/* The count divided by its row's total (0 for an empty row). */
double     hone_heatmap_get_cell_value (HoneHeatmap *self, int true_class, int predicted);
/* Where a cell is drawn, in widget coordinates, for the current size. */
gboolean   hone_heatmap_get_cell_area  (HoneHeatmap *self, int true_class, int predicted,
                                        graphene_rect_t *area);

G_END_DECLS
