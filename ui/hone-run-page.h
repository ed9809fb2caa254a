/* hone-run-page.h: the Run page: live curves of a training run.
 *
 * Four charts (loss, accuracy, learning rate, images per second) against
 * epochs, a header with the run's progress, speed, elapsed time and time
 * left, a smoothing slider and a log-scale toggle, and the run's messages
 * (warnings, errors, a divergence with the learning rate to try) as rows.
 * It is fed HoneEvents on the main thread (HoneSession drains the trainer)
 * or a past run's metrics.jsonl; it sends no command to a trainer itself:
 * the divergence row's button emits "use-suggested-lr" (double rate) for
 * whoever owns the trainer. */
#pragma once

#include <adwaita.h>

#include "hone-line-chart.h"
#include "hone-trainer.h"

G_BEGIN_DECLS

#define HONE_TYPE_RUN_PAGE (hone_run_page_get_type ())
G_DECLARE_FINAL_TYPE (HoneRunPage, hone_run_page, HONE, RUN_PAGE, AdwBin)

typedef enum
{
  HONE_RUN_CHART_LOSS,
  HONE_RUN_CHART_ACCURACY,
  HONE_RUN_CHART_LEARNING_RATE,
  HONE_RUN_CHART_SPEED,
} HoneRunChart;

HoneRunPage   *hone_run_page_new          (void);
/* Back to the empty state: no curves, no messages. */
void           hone_run_page_reset        (HoneRunPage *self);
/* Shows one event (not kept); VALIDATION and CHECKPOINT events change nothing here. */
void           hone_run_page_push_event   (HoneRunPage *self, const HoneEvent *event);
/* Resets the page and shows the run logged in the file metrics_jsonl (a
 * run folder's metrics.jsonl).  FALSE with an error naming the file (and
 * line) when it cannot be read or a line is not an event; what was read
 * before stays shown.  A last line cut short (a run killed mid-write) is
 * skipped. */
gboolean       hone_run_page_load_metrics (HoneRunPage *self, const char *metrics_jsonl,
                                           GError **error);

/* ---- for tests ---------------------------------------------------------- */
HoneLineChart *hone_run_page_get_chart    (HoneRunPage *self, HoneRunChart which);
/* Rows in the messages list. */
guint          hone_run_page_get_n_messages (HoneRunPage *self);
/* The fraction of the run done, 0 to 1. */
double         hone_run_page_get_progress (HoneRunPage *self);

G_END_DECLS
