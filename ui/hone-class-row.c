/* hone-class-row.c: one class's metrics as a list item; see hone-class-row.h. */
#include "config.h"

#include "hone-class-row.h"

struct _HoneClassRow
{
  GObject parent_instance;
  int index;
  char *name;
  double precision, recall, f1;
  int64_t support;
};

G_DEFINE_FINAL_TYPE (HoneClassRow, hone_class_row, G_TYPE_OBJECT)

static void
hone_class_row_finalize (GObject *object)
{
  g_free (HONE_CLASS_ROW (object)->name);
  G_OBJECT_CLASS (hone_class_row_parent_class)->finalize (object);
}

static void
hone_class_row_class_init (HoneClassRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hone_class_row_finalize;
}

static void
hone_class_row_init (HoneClassRow *self)
{
}

HoneClassRow *
hone_class_row_new (int index, const char *name, double precision, double recall, double f1,
                    int64_t support)
{
  HoneClassRow *self = g_object_new (HONE_TYPE_CLASS_ROW, NULL);
  self->index = index;
  self->name = g_strdup (name);
  self->precision = precision;
  self->recall = recall;
  self->f1 = f1;
  self->support = support;
  return self;
}

int
hone_class_row_get_index (HoneClassRow *self)
{
  g_return_val_if_fail (HONE_IS_CLASS_ROW (self), -1);
  return self->index;
}

const char *
hone_class_row_get_name (HoneClassRow *self)
{
  g_return_val_if_fail (HONE_IS_CLASS_ROW (self), NULL);
  return self->name;
}

double
hone_class_row_get_precision (HoneClassRow *self)
{
  g_return_val_if_fail (HONE_IS_CLASS_ROW (self), 0);
  return self->precision;
}

double
hone_class_row_get_recall (HoneClassRow *self)
{
  g_return_val_if_fail (HONE_IS_CLASS_ROW (self), 0);
  return self->recall;
}

double
hone_class_row_get_f1 (HoneClassRow *self)
{
  g_return_val_if_fail (HONE_IS_CLASS_ROW (self), 0);
  return self->f1;
}

int64_t
hone_class_row_get_support (HoneClassRow *self)
{
  g_return_val_if_fail (HONE_IS_CLASS_ROW (self), 0);
  return self->support;
}
