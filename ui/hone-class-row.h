/* hone-class-row.h: one class's precision, recall, F1 and support, as an
 * item of the Analyze page's per-class table.  Immutable once made. */
#pragma once

#include <glib-object.h>
#include <stdint.h>

G_BEGIN_DECLS

#define HONE_TYPE_CLASS_ROW (hone_class_row_get_type ())
G_DECLARE_FINAL_TYPE (HoneClassRow, hone_class_row, HONE, CLASS_ROW, GObject)

HoneClassRow *hone_class_row_new (int index, const char *name, double precision, double recall,
                                  double f1, int64_t support);

int         hone_class_row_get_index     (HoneClassRow *self);
const char *hone_class_row_get_name      (HoneClassRow *self);
double      hone_class_row_get_precision (HoneClassRow *self);
double      hone_class_row_get_recall    (HoneClassRow *self);
double      hone_class_row_get_f1        (HoneClassRow *self);
int64_t     hone_class_row_get_support   (HoneClassRow *self);

G_END_DECLS
