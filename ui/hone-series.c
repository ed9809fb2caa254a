/* hone-series.c: the (x, y) points of one named series; see hone-series.h. */
#include "config.h"

#include <math.h>

#include "hone-series.h"

struct _HoneSeries
{
  GObject parent_instance;
  char *name;
  HoneSeriesRole role;
  gboolean smoothable;
  gboolean markers;
  GArray *xs;
  GArray *ys;
};

G_DEFINE_FINAL_TYPE (HoneSeries, hone_series, G_TYPE_OBJECT)

enum { PROP_0, PROP_NAME, PROP_ROLE, PROP_SMOOTHABLE, PROP_MARKERS, N_PROPS };
static GParamSpec *props[N_PROPS];

enum { ITEMS_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
hone_series_finalize (GObject *object)
{
  HoneSeries *self = HONE_SERIES (object);
  g_free (self->name);
  g_array_unref (self->xs);
  g_array_unref (self->ys);
  G_OBJECT_CLASS (hone_series_parent_class)->finalize (object);
}

static void
hone_series_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HoneSeries *self = HONE_SERIES (object);
  switch (prop_id)
    {
    case PROP_NAME: g_value_set_string (value, self->name); break;
    case PROP_ROLE: g_value_set_int (value, self->role); break;
    case PROP_SMOOTHABLE: g_value_set_boolean (value, self->smoothable); break;
    case PROP_MARKERS: g_value_set_boolean (value, self->markers); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_series_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  HoneSeries *self = HONE_SERIES (object);
  switch (prop_id)
    {
    case PROP_NAME: hone_series_set_name (self, g_value_get_string (value)); break;
    case PROP_ROLE: self->role = g_value_get_int (value); break;
    case PROP_SMOOTHABLE: hone_series_set_smoothable (self, g_value_get_boolean (value)); break;
    case PROP_MARKERS: hone_series_set_markers (self, g_value_get_boolean (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_series_class_init (HoneSeriesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = hone_series_finalize;
  object_class->get_property = hone_series_get_property;
  object_class->set_property = hone_series_set_property;

  props[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL,
                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_ROLE] = g_param_spec_int ("role", NULL, NULL, 0, HONE_SERIES_ROLE_EXTRA, 0,
                                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_SMOOTHABLE] = g_param_spec_boolean ("smoothable", NULL, NULL, TRUE,
                                                 G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_MARKERS] = g_param_spec_boolean ("markers", NULL, NULL, FALSE,
                                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* Like GListModel's: points [position, position + removed) went and
   * `added` points came in their place. */
  signals[ITEMS_CHANGED] = g_signal_new ("items-changed", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT);
}

static void
hone_series_init (HoneSeries *self)
{
  self->smoothable = TRUE;
  self->xs = g_array_new (FALSE, FALSE, sizeof (double));
  self->ys = g_array_new (FALSE, FALSE, sizeof (double));
}

HoneSeries *
hone_series_new (const char *name, HoneSeriesRole role)
{
  return g_object_new (HONE_TYPE_SERIES, "name", name, "role", (int) role, NULL);
}

const char *
hone_series_get_name (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), NULL);
  return self->name;
}

void
hone_series_set_name (HoneSeries *self, const char *name)
{
  g_return_if_fail (HONE_IS_SERIES (self));
  if (g_strcmp0 (self->name, name) == 0)
    return;
  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_NAME]);
}

HoneSeriesRole
hone_series_get_role (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), 0);
  return self->role;
}

gboolean
hone_series_get_smoothable (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), FALSE);
  return self->smoothable;
}

void
hone_series_set_smoothable (HoneSeries *self, gboolean smoothable)
{
  g_return_if_fail (HONE_IS_SERIES (self));
  if (self->smoothable == !!smoothable)
    return;
  self->smoothable = !!smoothable;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SMOOTHABLE]);
}

gboolean
hone_series_get_markers (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), FALSE);
  return self->markers;
}

void
hone_series_set_markers (HoneSeries *self, gboolean markers)
{
  g_return_if_fail (HONE_IS_SERIES (self));
  if (self->markers == !!markers)
    return;
  self->markers = !!markers;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MARKERS]);
}

void
hone_series_append (HoneSeries *self, double x, double y)
{
  g_return_if_fail (HONE_IS_SERIES (self));
  g_return_if_fail (isfinite (x));
  guint n = self->xs->len;
  g_array_append_val (self->xs, x);
  g_array_append_val (self->ys, y);
  g_signal_emit (self, signals[ITEMS_CHANGED], 0, n, 0u, 1u);
}

void
hone_series_clear (HoneSeries *self)
{
  g_return_if_fail (HONE_IS_SERIES (self));
  guint n = self->xs->len;
  if (n == 0)
    return;
  g_array_set_size (self->xs, 0);
  g_array_set_size (self->ys, 0);
  g_signal_emit (self, signals[ITEMS_CHANGED], 0, 0u, n, 0u);
}

guint
hone_series_get_n_points (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), 0);
  return self->xs->len;
}

const double *
hone_series_get_xs (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), NULL);
  return (const double *) self->xs->data;
}

const double *
hone_series_get_ys (HoneSeries *self)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), NULL);
  return (const double *) self->ys->data;
}

double
hone_series_get_x (HoneSeries *self, guint i)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), NAN);
  g_return_val_if_fail (i < self->xs->len, NAN);
  return g_array_index (self->xs, double, i);
}

double
hone_series_get_y (HoneSeries *self, guint i)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), NAN);
  g_return_val_if_fail (i < self->ys->len, NAN);
  return g_array_index (self->ys, double, i);
}

int
hone_series_find_nearest (HoneSeries *self, double x)
{
  g_return_val_if_fail (HONE_IS_SERIES (self), -1);
  guint n = self->xs->len;
  if (n == 0)
    return -1;
  const double *xs = (const double *) self->xs->data;
  /* binary search for the first point with xs[i] >= x */
  guint lo = 0, hi = n;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (xs[mid] < x)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == n)
    return n - 1;
  if (lo > 0 && x - xs[lo - 1] <= xs[lo] - x)
    return lo - 1;
  return lo;
}
