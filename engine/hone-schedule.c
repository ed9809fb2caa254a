/* hone-schedule.c: learning-rate schedules (closed forms of torch's
 * schedulers) and ReduceLROnPlateau's state machine.
 *
 * Reference: https://pytorch.org/docs/1.13/optim.html#how-to-adjust-learning-rate
 * and the pages of each scheduler named in hone-schedule.h.  Where torch
 * computes a schedule recursively (lr_t from lr_{t-1}), the closed form here
 * equals it up to rounding.  CosineAnnealingWarmRestarts is computed with
 * integers (as its step () without an epoch does), which avoids the
 * floating-point logarithm of its epoch-argument path.
 *
 * It holds no state except HonePlateau, which the caller owns. */
#include "config.h"

#include <math.h>

#include "hone-schedule.h"

void
hone_schedule_init (HoneSchedule *s, HoneScheduleKind kind, double base_lr)
{
  g_return_if_fail (s != NULL);
  *s = (HoneSchedule) {
    .kind = kind,
    .base_lr = base_lr,
    .gamma = kind == HONE_SCHEDULE_EXPONENTIAL ? 0.95 : 0.1,
    .step_size = 30,
    .n_milestones = 3,
    .milestones = { 30, 60, 90 },
    .t_max = 100,
    .t_0 = 10,
    .t_mult = 1,
    .eta_min = 0.0,
    .total_steps = 100,
    .power = 1.0,
    .end_lr = 0.0,
    .pct_start = 0.3,
    .anneal = HONE_ANNEAL_COS,
    .div_factor = 25.0,
    .final_div_factor = 1e4,
    .three_phase = FALSE,
    .plateau_mode = HONE_PLATEAU_MIN,
    .factor = 0.1,
    .patience = 10,
    .threshold_mode = HONE_THRESHOLD_REL,
    .threshold = 1e-4,
    .cooldown = 0,
    .min_lr = 0.0,
    .warmup = HONE_WARMUP_NONE,
    .warmup_steps = 0,
    .warmup_start_factor = 1.0 / 3.0,
  };
}

static gboolean
bad (GError **error, const char *setting, double value, const char *range)
{
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "schedule.%s = %g is out of range: use %s", setting, value, range);
  return FALSE;
}

static gboolean
bad_int (GError **error, const char *setting, int64_t value, const char *range)
{
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "schedule.%s = %" G_GINT64_FORMAT " is out of range: use %s", setting, value, range);
  return FALSE;
}

static gboolean
validate_eta (const HoneSchedule *s, const char *setting, double value, GError **error)
{
  if (!(value >= 0.0 && value <= s->base_lr))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.%s = %g is out of range: use 0 to the base learning rate (%g)",
                   setting, value, s->base_lr);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_one_cycle (const HoneSchedule *s, GError **error)
{
  if (s->total_steps < 2)
    return bad_int (error, "total_steps", s->total_steps, "2 or more");
  if (!(s->pct_start > 0.0 && s->pct_start < 1.0))
    return bad (error, "pct_start", s->pct_start, "more than 0 and less than 1 (0.3 is usual)");
  if (s->anneal != HONE_ANNEAL_COS && s->anneal != HONE_ANNEAL_LINEAR)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.anneal = %d is not known: use cos or linear", (int) s->anneal);
      return FALSE;
    }
  if (!(s->div_factor > 0.0 && isfinite (s->div_factor)))
    return bad (error, "div_factor", s->div_factor, "more than 0 (25 is usual)");
  if (!(s->final_div_factor > 0.0 && isfinite (s->final_div_factor)))
    return bad (error, "final_div_factor", s->final_div_factor, "more than 0 (1e4 is usual)");
  /* Every phase must span more than one step, or torch divides by zero
   * (and a phase of negative length runs backwards). */
  double t = (double) s->total_steps;
  double end1 = s->pct_start * t - 1.0;
  if (!(end1 > 0.0))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.pct_start = %g leaves the rise empty over schedule.total_steps = %"
                   G_GINT64_FORMAT ": use pct_start * total_steps above 1",
                   s->pct_start, s->total_steps);
      return FALSE;
    }
  double end_prev = s->three_phase ? 2.0 * s->pct_start * t - 2.0 : end1;
  if (!(t - 1.0 - end_prev > 0.0))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.pct_start = %g leaves the final decay empty over "
                   "schedule.total_steps = %" G_GINT64_FORMAT ": use a smaller pct_start%s",
                   s->pct_start, s->total_steps,
                   s->three_phase ? " (below 0.5 with three phases)" : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_plateau (const HoneSchedule *s, GError **error)
{
  if (s->plateau_mode != HONE_PLATEAU_MIN && s->plateau_mode != HONE_PLATEAU_MAX)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.plateau_mode = %d is not known: use min or max",
                   (int) s->plateau_mode);
      return FALSE;
    }
  if (s->threshold_mode != HONE_THRESHOLD_REL && s->threshold_mode != HONE_THRESHOLD_ABS)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.threshold_mode = %d is not known: use rel or abs",
                   (int) s->threshold_mode);
      return FALSE;
    }
  if (!(s->factor > 0.0 && s->factor < 1.0))
    return bad (error, "factor", s->factor, "more than 0 and less than 1 (0.1 is usual)");
  if (s->patience < 0)
    return bad_int (error, "patience", s->patience, "0 or more");
  if (!(s->threshold >= 0.0 && isfinite (s->threshold)))
    return bad (error, "threshold", s->threshold, "0 or more (1e-4 is usual)");
  if (s->cooldown < 0)
    return bad_int (error, "cooldown", s->cooldown, "0 or more");
  return validate_eta (s, "min_lr", s->min_lr, error);
}

gboolean
hone_schedule_validate (const HoneSchedule *s, GError **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  if (!(s->base_lr > 0.0 && isfinite (s->base_lr)))
    return bad (error, "base_lr", s->base_lr, "more than 0 (such as 0.1 for SGD, 1e-3 for Adam)");

  switch (s->kind)
    {
    case HONE_SCHEDULE_CONSTANT:
      break;
    case HONE_SCHEDULE_STEP:
      if (s->step_size < 1)
        return bad_int (error, "step_size", s->step_size, "1 or more");
      if (!(s->gamma > 0.0 && s->gamma <= 1.0))
        return bad (error, "gamma", s->gamma, "more than 0 and at most 1");
      break;
    case HONE_SCHEDULE_MULTI_STEP:
      if (s->n_milestones < 1 || s->n_milestones > HONE_SCHEDULE_MAX_MILESTONES)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "schedule.milestones has %d entries: use 1 to %d", s->n_milestones,
                       HONE_SCHEDULE_MAX_MILESTONES);
          return FALSE;
        }
      for (int i = 0; i < s->n_milestones; i++)
        if (s->milestones[i] < 1 || (i > 0 && s->milestones[i] <= s->milestones[i - 1]))
          {
            g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                         "schedule.milestones[%d] = %" G_GINT64_FORMAT " is out of order: use "
                         "steps of 1 or more, each later than the one before", i,
                         s->milestones[i]);
            return FALSE;
          }
      if (!(s->gamma > 0.0 && s->gamma <= 1.0))
        return bad (error, "gamma", s->gamma, "more than 0 and at most 1");
      break;
    case HONE_SCHEDULE_EXPONENTIAL:
      if (!(s->gamma > 0.0 && s->gamma <= 1.0))
        return bad (error, "gamma", s->gamma, "more than 0 and at most 1");
      break;
    case HONE_SCHEDULE_COSINE:
      if (s->t_max < 1)
        return bad_int (error, "t_max", s->t_max, "1 or more");
      if (!validate_eta (s, "eta_min", s->eta_min, error))
        return FALSE;
      break;
    case HONE_SCHEDULE_COSINE_RESTARTS:
      if (s->t_0 < 1)
        return bad_int (error, "t_0", s->t_0, "1 or more");
      if (s->t_mult < 1 || s->t_mult > 1000)
        return bad_int (error, "t_mult", s->t_mult, "1 to 1000");
      if (!validate_eta (s, "eta_min", s->eta_min, error))
        return FALSE;
      break;
    case HONE_SCHEDULE_POLYNOMIAL:
      if (s->total_steps < 1)
        return bad_int (error, "total_steps", s->total_steps, "1 or more");
      if (!(s->power > 0.0 && isfinite (s->power)))
        return bad (error, "power", s->power, "more than 0 (1 is linear)");
      if (!validate_eta (s, "end_lr", s->end_lr, error))
        return FALSE;
      break;
    case HONE_SCHEDULE_ONE_CYCLE:
      if (!validate_one_cycle (s, error))
        return FALSE;
      break;
    case HONE_SCHEDULE_PLATEAU:
      if (!validate_plateau (s, error))
        return FALSE;
      break;
    default:
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.kind = %d is not a known schedule", (int) s->kind);
      return FALSE;
    }

  if (s->warmup != HONE_WARMUP_NONE && s->warmup != HONE_WARMUP_LINEAR
      && s->warmup != HONE_WARMUP_COSINE)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "schedule.warmup = %d is not known: use none, linear or cosine",
                   (int) s->warmup);
      return FALSE;
    }
  if (s->warmup != HONE_WARMUP_NONE)
    {
      if (s->warmup_steps < 0)
        return bad_int (error, "warmup_steps", s->warmup_steps, "0 or more (0 is none)");
      if (!(s->warmup_start_factor >= 0.0 && s->warmup_start_factor <= 1.0))
        return bad (error, "warmup_start_factor", s->warmup_start_factor, "0 to 1");
    }
  return TRUE;
}

double
hone_schedule_warmup_factor (const HoneSchedule *s, int64_t step)
{
  g_return_val_if_fail (s != NULL, 1.0);
  if (s->warmup == HONE_WARMUP_NONE || step >= s->warmup_steps || step < 0)
    return 1.0;
  double f0 = s->warmup_start_factor;
  double x = (double) step / (double) s->warmup_steps;
  /* LinearLR: https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.LinearLR.html */
  if (s->warmup == HONE_WARMUP_LINEAR)
    return f0 + (1.0 - f0) * x;
  return f0 + (1.0 - f0) * (1.0 - cos (G_PI * x)) / 2.0;
}

/* OneCycleLR.get_lr,
 * https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.OneCycleLR.html */
static double
one_cycle_lr (const HoneSchedule *s, int64_t step)
{
  double total = (double) s->total_steps;
  double max_lr = s->base_lr;
  double initial_lr = max_lr / s->div_factor;
  double min_lr = initial_lr / s->final_div_factor;
  double ends[3], starts_lr[3], ends_lr[3];
  int n_phases;
  if (s->three_phase)
    {
      n_phases = 3;
      ends[0] = s->pct_start * total - 1.0;
      ends[1] = 2.0 * s->pct_start * total - 2.0;
      ends[2] = total - 1.0;
      starts_lr[0] = initial_lr, ends_lr[0] = max_lr;
      starts_lr[1] = max_lr, ends_lr[1] = initial_lr;
      starts_lr[2] = initial_lr, ends_lr[2] = min_lr;
    }
  else
    {
      n_phases = 2;
      ends[0] = s->pct_start * total - 1.0;
      ends[1] = total - 1.0;
      starts_lr[0] = initial_lr, ends_lr[0] = max_lr;
      starts_lr[1] = max_lr, ends_lr[1] = min_lr;
    }

  double t = (double) MIN (step, s->total_steps - 1);
  double start_step = 0.0;
  for (int i = 0; i < n_phases; i++)
    {
      if (t <= ends[i] || i == n_phases - 1)
        {
          double pct = (t - start_step) / (ends[i] - start_step);
          double a = starts_lr[i], b = ends_lr[i];
          if (s->anneal == HONE_ANNEAL_COS)
            return b + (a - b) / 2.0 * (cos (G_PI * pct) + 1.0);
          return (b - a) * pct + a;
        }
      start_step = ends[i];
    }
  g_assert_not_reached ();
}

/* The main schedule at its own step t (warmup excluded). */
static double
main_lr (const HoneSchedule *s, int64_t t)
{
  double base = s->base_lr;
  /* Divisors an unvalidated schedule could leave at 0 (hone_schedule_validate
   * reports them to the user; here they are programmer errors). */
  g_return_val_if_fail (s->kind != HONE_SCHEDULE_STEP || s->step_size >= 1, base);
  g_return_val_if_fail (s->kind != HONE_SCHEDULE_COSINE || s->t_max >= 1, base);
  g_return_val_if_fail (s->kind != HONE_SCHEDULE_COSINE_RESTARTS || (s->t_0 >= 1 && s->t_mult >= 1),
                        base);
  g_return_val_if_fail (s->kind != HONE_SCHEDULE_POLYNOMIAL || s->total_steps >= 1, base);
  g_return_val_if_fail (s->kind != HONE_SCHEDULE_ONE_CYCLE || s->total_steps >= 2, base);
  g_return_val_if_fail (s->kind != HONE_SCHEDULE_MULTI_STEP
                        || (s->n_milestones >= 0
                            && s->n_milestones <= HONE_SCHEDULE_MAX_MILESTONES),
                        base);
  switch (s->kind)
    {
    case HONE_SCHEDULE_CONSTANT:
    case HONE_SCHEDULE_PLATEAU:
      return base;
    case HONE_SCHEDULE_STEP:
      /* StepLR */
      return base * pow (s->gamma, (double) (t / s->step_size));
    case HONE_SCHEDULE_MULTI_STEP:
      {
        /* MultiStepLR: gamma ** bisect_right (milestones, t) */
        int passed = 0;
        while (passed < s->n_milestones && s->milestones[passed] <= t)
          passed++;
        return base * pow (s->gamma, (double) passed);
      }
    case HONE_SCHEDULE_EXPONENTIAL:
      return base * pow (s->gamma, (double) t);
    case HONE_SCHEDULE_COSINE:
      /* CosineAnnealingLR's closed form */
      return s->eta_min
             + (base - s->eta_min) * (1.0 + cos (G_PI * (double) t / (double) s->t_max)) / 2.0;
    case HONE_SCHEDULE_COSINE_RESTARTS:
      {
        /* CosineAnnealingWarmRestarts: T_cur counts up to T_i, which
         * restarts at 0 and grows by T_mult. */
        int64_t t_i = s->t_0, t_cur = t;
        if (s->t_mult == 1)
          t_cur = t % s->t_0;
        else
          while (t_cur >= t_i)
            {
              t_cur -= t_i;
              if (t_i > G_MAXINT64 / s->t_mult)
                break;
              t_i *= s->t_mult;
            }
        return s->eta_min
               + (base - s->eta_min) * (1.0 + cos (G_PI * (double) t_cur / (double) t_i)) / 2.0;
      }
    case HONE_SCHEDULE_POLYNOMIAL:
      {
        /* PolynomialLR's closed form, decaying to end_lr instead of 0 */
        double x = (double) MIN (t, s->total_steps) / (double) s->total_steps;
        return s->end_lr + (base - s->end_lr) * pow (1.0 - x, s->power);
      }
    case HONE_SCHEDULE_ONE_CYCLE:
      return one_cycle_lr (s, t);
    default:
      g_return_val_if_reached (base);
    }
}

double
hone_schedule_lr (const HoneSchedule *s, int64_t step)
{
  g_return_val_if_fail (s != NULL && step >= 0, 0.0);
  int64_t w = s->warmup != HONE_WARMUP_NONE ? s->warmup_steps : 0;
  if (step < w)
    return s->base_lr * hone_schedule_warmup_factor (s, step);
  return main_lr (s, step - w);
}

/* ---- ReduceLROnPlateau -------------------------------------------------- */

/* https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.ReduceLROnPlateau.html */
#define PLATEAU_EPS 1e-8

void
hone_plateau_init (HonePlateau *p, const HoneSchedule *s)
{
  g_return_if_fail (p != NULL && s != NULL);
  *p = (HonePlateau) {
    .lr = s->base_lr,
    .best = s->plateau_mode == HONE_PLATEAU_MIN ? INFINITY : -INFINITY,
    .num_bad_epochs = 0,
    .cooldown_counter = 0,
    .n_updates = 0,
  };
}

static gboolean
is_better (const HoneSchedule *s, double a, double best)
{
  if (s->plateau_mode == HONE_PLATEAU_MIN)
    return s->threshold_mode == HONE_THRESHOLD_REL ? a < best * (1.0 - s->threshold)
                                                   : a < best - s->threshold;
  return s->threshold_mode == HONE_THRESHOLD_REL ? a > best * (s->threshold + 1.0)
                                                 : a > best + s->threshold;
}

gboolean
hone_plateau_update (HonePlateau *p, const HoneSchedule *s, double metric)
{
  g_return_val_if_fail (p != NULL && s != NULL, FALSE);
  gboolean reduced = FALSE;
  p->n_updates++;
  if (is_better (s, metric, p->best))
    {
      p->best = metric;
      p->num_bad_epochs = 0;
    }
  else
    p->num_bad_epochs++;

  if (p->cooldown_counter > 0)
    {
      p->cooldown_counter--;
      p->num_bad_epochs = 0;   /* bad epochs in cooldown do not count */
    }

  if (p->num_bad_epochs > s->patience)
    {
      double new_lr = MAX (p->lr * s->factor, s->min_lr);
      if (p->lr - new_lr > PLATEAU_EPS)
        {
          p->lr = new_lr;
          reduced = TRUE;
        }
      p->cooldown_counter = s->cooldown;
      p->num_bad_epochs = 0;
    }
  return reduced;
}

double
hone_plateau_lr (const HonePlateau *p, const HoneSchedule *s, int64_t step)
{
  g_return_val_if_fail (p != NULL && s != NULL && step >= 0, 0.0);
  return p->lr * hone_schedule_warmup_factor (s, step);
}
