/* hone-series.h: the (x, y) points of one named series a chart draws.
 *
 * A series is data only: a name for the legend, a colour role, whether a
 * chart may smooth it and whether it is drawn with markers.  Appending and
 * clearing emit "items-changed" (position, removed, added) so that charts
 * redraw.  It does not draw, smooth or scale anything (hone-line-chart.h). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define HONE_TYPE_SERIES (hone_series_get_type ())
G_DECLARE_FINAL_TYPE (HoneSeries, hone_series, HONE, SERIES, GObject)

/* Colour roles; a chart maps them onto a palette that stays apart for
 * colour-blind viewers, in light and dark styles. */
typedef enum
{
  HONE_SERIES_ROLE_TRAIN,
  HONE_SERIES_ROLE_VALIDATION,
  HONE_SERIES_ROLE_LEARNING_RATE,
  HONE_SERIES_ROLE_THROUGHPUT,
  HONE_SERIES_ROLE_EXTRA,
} HoneSeriesRole;

HoneSeries     *hone_series_new          (const char *name, HoneSeriesRole role);

const char     *hone_series_get_name     (HoneSeries *self);
void            hone_series_set_name     (HoneSeries *self, const char *name);
HoneSeriesRole  hone_series_get_role     (HoneSeries *self);
/* Whether a chart's smoothing applies (per-step series); default TRUE. */
gboolean        hone_series_get_smoothable (HoneSeries *self);
void            hone_series_set_smoothable (HoneSeries *self, gboolean smoothable);
/* Whether points are marked (few points, per-epoch series); default FALSE. */
gboolean        hone_series_get_markers  (HoneSeries *self);
void            hone_series_set_markers  (HoneSeries *self, gboolean markers);

/* Appends a point; x should not decrease (charts look up points by x).
 * Non-finite y values are kept and drawn as gaps. */
void            hone_series_append       (HoneSeries *self, double x, double y);
void            hone_series_clear        (HoneSeries *self);

guint           hone_series_get_n_points (HoneSeries *self);
/* The points as arrays of n_points values, owned by the series and valid
 * until the next append or clear. */
const double   *hone_series_get_xs       (HoneSeries *self);
const double   *hone_series_get_ys       (HoneSeries *self);
double          hone_series_get_x        (HoneSeries *self, guint i);
double          hone_series_get_y        (HoneSeries *self, guint i);
/* The index of the point whose x is nearest to x, or -1 when empty. */
int             hone_series_find_nearest (HoneSeries *self, double x);

G_END_DECLS
