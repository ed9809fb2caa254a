/* hone-schedule.h: learning-rate schedules as pure functions of the step.
 *
 * lr = hone_schedule_lr (&s, step) is the learning rate of the update that
 * follows `step` earlier updates (0 for the first), the value torch's
 * scheduler holds after `step` calls of scheduler.step ().  Each kind
 * follows torch.optim.lr_scheduler (PyTorch 1.13):
 *
 *   CONSTANT           base_lr
 *   STEP               StepLR: base_lr gamma^floor (t / step_size)
 *   MULTI_STEP         MultiStepLR: base_lr gamma^(milestones <= t)
 *   EXPONENTIAL        ExponentialLR: base_lr gamma^t
 *   COSINE             CosineAnnealingLR: eta_min + (base_lr - eta_min)
 *                      (1 + cos (pi t / t_max)) / 2 (periodic past t_max, as torch)
 *   COSINE_RESTARTS    CosineAnnealingWarmRestarts (T_0, T_mult, eta_min),
 *                      stepped once per update
 *   POLYNOMIAL         PolynomialLR, with an end value: end_lr + (base_lr -
 *                      end_lr) (1 - min (t, total_steps) / total_steps)^power
 *                      (end_lr 0 is torch's PolynomialLR)
 *   ONE_CYCLE          OneCycleLR with max_lr = base_lr, total_steps,
 *                      pct_start, anneal cos or linear, div_factor,
 *                      final_div_factor, three_phase; momentum is not cycled
 *                      (cycle_momentum=False).  Steps past total_steps - 1
 *                      stay at the final lr (torch raises there).
 *   PLATEAU            ReduceLROnPlateau: the lr is state, kept in a
 *                      HonePlateau updated with each metric value (below).
 *
 * Warmup (linear or cosine, over warmup_steps w, from warmup_start_factor
 * f0) runs first; the main schedule starts when it ends, counting its own
 * steps from 0, like torch's SequentialLR ([warmup, main], milestones=[w]):
 *
 *   t < w:   lr = base_lr * (f0 + (1 - f0) * t / w)                    linear
 *            lr = base_lr * (f0 + (1 - f0) * (1 - cos (pi t / w)) / 2) cosine
 *   t >= w:  lr = main (t - w)
 *
 * (linear warmup is LinearLR (start_factor=f0, total_iters=w)).  With
 * PLATEAU, the warmup factor scales the plateau's current lr while t < w.
 *
 * This file knows nothing of optimizers: the trainer passes the lr to
 * hone_optimizer_step. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"

G_BEGIN_DECLS

#define HONE_SCHEDULE_MAX_MILESTONES 16

typedef enum
{
  HONE_SCHEDULE_CONSTANT,
  HONE_SCHEDULE_STEP,
  HONE_SCHEDULE_MULTI_STEP,
  HONE_SCHEDULE_EXPONENTIAL,
  HONE_SCHEDULE_COSINE,
  HONE_SCHEDULE_COSINE_RESTARTS,
  HONE_SCHEDULE_POLYNOMIAL,
  HONE_SCHEDULE_ONE_CYCLE,
  HONE_SCHEDULE_PLATEAU,
} HoneScheduleKind;

typedef enum
{
  HONE_WARMUP_NONE,
  HONE_WARMUP_LINEAR,
  HONE_WARMUP_COSINE,
} HoneWarmupKind;

typedef enum
{
  HONE_ANNEAL_COS,
  HONE_ANNEAL_LINEAR,
} HoneAnnealKind;

typedef enum
{
  HONE_PLATEAU_MIN,             /* the metric should fall (a loss) */
  HONE_PLATEAU_MAX,             /* the metric should rise (an accuracy) */
} HonePlateauMode;

typedef enum
{
  HONE_THRESHOLD_REL,
  HONE_THRESHOLD_ABS,
} HoneThresholdMode;

typedef struct
{
  HoneScheduleKind kind;
  double base_lr;               /* > 0; the peak (max_lr) for ONE_CYCLE */

  /* STEP, MULTI_STEP, EXPONENTIAL */
  double gamma;                 /* (0, 1] for EXPONENTIAL; > 0 otherwise */
  int64_t step_size;            /* STEP: >= 1 */
  int n_milestones;             /* MULTI_STEP: 1 to HONE_SCHEDULE_MAX_MILESTONES */
  int64_t milestones[HONE_SCHEDULE_MAX_MILESTONES];   /* strictly increasing, >= 1 */

  /* COSINE, COSINE_RESTARTS */
  int64_t t_max;                /* COSINE: >= 1 */
  int64_t t_0;                  /* COSINE_RESTARTS: >= 1 */
  int64_t t_mult;               /* COSINE_RESTARTS: >= 1 */
  double eta_min;               /* [0, base_lr] */

  /* POLYNOMIAL, ONE_CYCLE */
  int64_t total_steps;          /* >= 1 (ONE_CYCLE: >= 2) */
  double power;                 /* POLYNOMIAL: > 0 */
  double end_lr;                /* POLYNOMIAL: [0, base_lr] */
  double pct_start;             /* ONE_CYCLE: (0, 1) */
  HoneAnnealKind anneal;        /* ONE_CYCLE */
  double div_factor;            /* ONE_CYCLE: initial lr = base_lr / div_factor, > 0 */
  double final_div_factor;      /* ONE_CYCLE: final lr = initial lr / final_div_factor, > 0 */
  gboolean three_phase;         /* ONE_CYCLE */

  /* PLATEAU (torch's eps is fixed at 1e-8) */
  HonePlateauMode plateau_mode;
  double factor;                /* (0, 1) */
  int64_t patience;             /* >= 0 */
  HoneThresholdMode threshold_mode;
  double threshold;             /* >= 0 */
  int64_t cooldown;             /* >= 0 */
  double min_lr;                /* [0, base_lr] */

  /* warmup, for every kind */
  HoneWarmupKind warmup;
  int64_t warmup_steps;         /* >= 0; 0 is none */
  double warmup_start_factor;   /* [0, 1] */
} HoneSchedule;

/* A schedule of `kind` at base_lr with torch's defaults where torch has one
 * (StepLR and MultiStepLR gamma 0.1; CosineAnnealingWarmRestarts t_mult 1,
 * eta_min 0; PolynomialLR power 1; OneCycleLR pct_start 0.3, cos, div 25,
 * final div 1e4, two phases; ReduceLROnPlateau min, factor 0.1, patience
 * 10, rel threshold 1e-4, cooldown 0, min_lr 0; LinearLR start factor 1/3)
 * and Hone's otherwise (step_size 30, milestones {30, 60, 90}, exponential
 * gamma 0.95, t_max 100, t_0 10, total_steps 100, end_lr 0; no warmup). */
void     hone_schedule_init     (HoneSchedule *s, HoneScheduleKind kind, double base_lr);

/* Checks the settings the kind uses, and the warmup's; the error
 * (HONE_ERROR_INVALID) names the setting and the allowed range:
 * "schedule.gamma = 0 is out of range: use more than 0 and at most 1". */
gboolean hone_schedule_validate (const HoneSchedule *s, GError **error);

/* The lr for the update after `step` (>= 0) earlier ones.  For PLATEAU this
 * is the lr before any reduction: use hone_plateau_lr.  s must be valid. */
double   hone_schedule_lr       (const HoneSchedule *s, int64_t step);

/* The warmup factor at `step` (1 from warmup_steps on, or without warmup). */
double   hone_schedule_warmup_factor (const HoneSchedule *s, int64_t step);

/* ReduceLROnPlateau's state, a plain struct saved with a checkpoint as is. */
typedef struct
{
  double lr;                    /* the current (reduced) lr */
  double best;                  /* best metric so far (+-inf at first) */
  int64_t num_bad_epochs;
  int64_t cooldown_counter;
  int64_t n_updates;            /* metrics seen (torch's last_epoch) */
} HonePlateau;

/* Starts at s->base_lr with no metric seen. */
void     hone_plateau_init   (HonePlateau *p, const HoneSchedule *s);

/* Feeds one metric value (once per evaluation, as ReduceLROnPlateau.step);
 * returns TRUE when this lowered the lr.  A NaN metric counts as no
 * improvement, as in torch. */
gboolean hone_plateau_update (HonePlateau *p, const HoneSchedule *s, double metric);

/* The lr for the update after `step` earlier ones: the plateau's lr, scaled
 * by the warmup factor while the warmup lasts. */
double   hone_plateau_lr     (const HonePlateau *p, const HoneSchedule *s, int64_t step);

G_END_DECLS
