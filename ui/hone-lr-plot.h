/* hone-lr-plot.h: the learning rate over a whole run, as the engine's
 * schedule computes it (hone_schedule_lr), one line per group of blocks
 * with its own multiplier; the warmup shaded and the epochs where groups
 * unfreeze marked.
 *
 * It draws a schedule it is given; it does not read recipes. */
#pragma once

#include <gtk/gtk.h>
#include <stdint.h>

#include "hone-schedule.h"

G_BEGIN_DECLS

#define HONE_TYPE_LR_PLOT (hone_lr_plot_get_type ())
G_DECLARE_FINAL_TYPE (HoneLrPlot, hone_lr_plot, HONE, LR_PLOT, GtkWidget)

typedef struct
{
  const char *label;          /* "stem – layer2.1", shown in the legend */
  double lr_mult;             /* the group's learning-rate multiplier */
  int start_epoch;            /* 0: trains from the start; > 0: unfrozen after that many
                               * epochs; < 0: frozen throughout (listed, not drawn) */
} HoneLrGroup;

GtkWidget *hone_lr_plot_new (void);

/* Plots `schedule` (valid, see hone_schedule_validate) over epochs x
 * steps_per_epoch optimizer steps for each group (n_groups 0: one line,
 * multiplier 1).  Everything is copied; the curve is sampled here so that
 * drawing only draws. */
void       hone_lr_plot_set_schedule (HoneLrPlot *self, const HoneSchedule *schedule,
                                      int epochs, int64_t steps_per_epoch,
                                      const HoneLrGroup *groups, int n_groups);
/* Shows message instead of a curve ("Fix the schedule's settings: ..."). */
void       hone_lr_plot_set_message  (HoneLrPlot *self, const char *message);

/* Where the plot draws step and lr, in widget coordinates (for tests and
 * hover); the peak lr of the groups drawn (0 when nothing is). */
double     hone_lr_plot_x_for_step (HoneLrPlot *self, double step);
double     hone_lr_plot_y_for_lr   (HoneLrPlot *self, double lr);
double     hone_lr_plot_get_peak   (HoneLrPlot *self);
int        hone_lr_plot_get_n_groups (HoneLrPlot *self);

G_END_DECLS
