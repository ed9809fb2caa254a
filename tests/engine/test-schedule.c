/* test-schedule.c: learning-rate schedules at steps worked out by hand,
 * warmup composition, ReduceLROnPlateau's state machine, and validation. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

#define CLOSE(a, b) g_assert_cmpfloat_with_epsilon ((a), (b), 1e-12 + 1e-12 * fabs (b))

static HoneSchedule
make (HoneScheduleKind kind, double base_lr)
{
  HoneSchedule s;
  hone_schedule_init (&s, kind, base_lr);
  return s;
}

static void
assert_valid (const HoneSchedule *s)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_schedule_validate (s, &error));
  g_assert_no_error (error);
}

static void
test_constant_step_multistep_exponential (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_CONSTANT, 0.3);
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 0), 0.3);
  CLOSE (hone_schedule_lr (&s, 12345), 0.3);

  s = make (HONE_SCHEDULE_STEP, 1.0);
  s.step_size = 3;
  s.gamma = 0.5;
  assert_valid (&s);
  const double step_want[8] = { 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25 };
  for (int t = 0; t < 8; t++)
    CLOSE (hone_schedule_lr (&s, t), step_want[t]);

  s = make (HONE_SCHEDULE_MULTI_STEP, 2.0);
  s.n_milestones = 2;
  s.milestones[0] = 2;
  s.milestones[1] = 5;
  s.gamma = 0.1;
  assert_valid (&s);
  const double ms_want[7] = { 2, 2, 0.2, 0.2, 0.2, 0.02, 0.02 };
  for (int t = 0; t < 7; t++)
    CLOSE (hone_schedule_lr (&s, t), ms_want[t]);

  s = make (HONE_SCHEDULE_EXPONENTIAL, 0.1);
  s.gamma = 0.9;
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 0), 0.1);
  CLOSE (hone_schedule_lr (&s, 2), 0.1 * 0.81);
}

static void
test_cosine (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_COSINE, 1.0);
  s.t_max = 10;
  s.eta_min = 0.1;
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 0), 1.0);
  CLOSE (hone_schedule_lr (&s, 5), 0.55);
  CLOSE (hone_schedule_lr (&s, 10), 0.1);
  /* torch's cosine is periodic past T_max */
  CLOSE (hone_schedule_lr (&s, 15), 0.55);
  CLOSE (hone_schedule_lr (&s, 20), 1.0);
}

static void
test_cosine_restarts (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_COSINE_RESTARTS, 1.0);
  s.t_0 = 4;
  s.t_mult = 1;
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 0), 1.0);
  CLOSE (hone_schedule_lr (&s, 2), 0.5);
  CLOSE (hone_schedule_lr (&s, 4), 1.0);
  CLOSE (hone_schedule_lr (&s, 6), 0.5);

  /* T_mult 2: periods 4, 8, 16 start at steps 0, 4, 12, 28 */
  s.t_mult = 2;
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 4), 1.0);
  CLOSE (hone_schedule_lr (&s, 8), 0.5);
  CLOSE (hone_schedule_lr (&s, 12), 1.0);
  CLOSE (hone_schedule_lr (&s, 20), 0.5);
  CLOSE (hone_schedule_lr (&s, 28), 1.0);
  /* exact powers, where torch's epoch-argument path rounds its logarithm */
  s.t_0 = 1;
  CLOSE (hone_schedule_lr (&s, 7), 1.0);
  CLOSE (hone_schedule_lr (&s, 15), 1.0);
  CLOSE (hone_schedule_lr (&s, 1023), 1.0);
}

static void
test_polynomial (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_POLYNOMIAL, 1.0);
  s.total_steps = 4;
  s.power = 2.0;
  s.end_lr = 0.2;
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 0), 1.0);
  CLOSE (hone_schedule_lr (&s, 2), 0.2 + 0.8 * 0.25);
  CLOSE (hone_schedule_lr (&s, 4), 0.2);
  CLOSE (hone_schedule_lr (&s, 100), 0.2);
}

static void
test_one_cycle (void)
{
  /* total 11, pct 0.3: the rise ends at step 2.3, the decay at 10 */
  HoneSchedule s = make (HONE_SCHEDULE_ONE_CYCLE, 1.0);
  s.total_steps = 11;
  s.pct_start = 0.3;
  s.div_factor = 10;
  s.final_div_factor = 100;
  s.anneal = HONE_ANNEAL_LINEAR;
  assert_valid (&s);
  double end1 = 0.3 * 11 - 1;
  CLOSE (hone_schedule_lr (&s, 0), 0.1);
  CLOSE (hone_schedule_lr (&s, 1), 0.1 + 0.9 / end1);
  CLOSE (hone_schedule_lr (&s, 10), 0.001);
  CLOSE (hone_schedule_lr (&s, 50), 0.001);   /* past the end: the final lr */
  double pct = (3 - end1) / (10 - end1);
  CLOSE (hone_schedule_lr (&s, 3), 1.0 + (0.001 - 1.0) * pct);

  s.anneal = HONE_ANNEAL_COS;
  s.three_phase = TRUE;
  assert_valid (&s);
  /* phase 2 ends at 2 * 3.3 - 2 = 4.6 back at the initial lr */
  double p2 = (4 - end1) / (4.6 - end1);
  CLOSE (hone_schedule_lr (&s, 4), 0.1 + (1.0 - 0.1) / 2 * (cos (G_PI * p2) + 1));
  CLOSE (hone_schedule_lr (&s, 10), 0.001);
}

/* Warmup runs first, then the main schedule from its own step 0. */
static void
test_warmup (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_STEP, 1.0);
  s.step_size = 2;
  s.gamma = 0.5;
  s.warmup = HONE_WARMUP_LINEAR;
  s.warmup_steps = 4;
  s.warmup_start_factor = 0.2;
  assert_valid (&s);
  CLOSE (hone_schedule_lr (&s, 0), 0.2);
  CLOSE (hone_schedule_lr (&s, 1), 0.4);
  CLOSE (hone_schedule_lr (&s, 3), 0.8);
  CLOSE (hone_schedule_lr (&s, 4), 1.0);    /* main step 0 */
  CLOSE (hone_schedule_lr (&s, 5), 1.0);
  CLOSE (hone_schedule_lr (&s, 6), 0.5);    /* main step 2 */
  CLOSE (hone_schedule_warmup_factor (&s, 2), 0.6);
  CLOSE (hone_schedule_warmup_factor (&s, 4), 1.0);

  s.warmup = HONE_WARMUP_COSINE;
  CLOSE (hone_schedule_lr (&s, 2), 0.2 + 0.8 * 0.5);
  CLOSE (hone_schedule_lr (&s, 0), 0.2);

  /* start factor 0, and warmup_steps 0 is none */
  s.warmup = HONE_WARMUP_LINEAR;
  s.warmup_start_factor = 0;
  CLOSE (hone_schedule_lr (&s, 0), 0.0);
  s.warmup_steps = 0;
  CLOSE (hone_schedule_lr (&s, 0), 1.0);
}

/* ReduceLROnPlateau by hand: patience 2, factor 0.5, cooldown 1. */
static void
test_plateau (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_PLATEAU, 1.0);
  s.patience = 2;
  s.factor = 0.5;
  s.cooldown = 1;
  s.threshold = 0.1;
  s.threshold_mode = HONE_THRESHOLD_ABS;
  s.min_lr = 0.3;
  assert_valid (&s);
  HonePlateau p;
  hone_plateau_init (&p, &s);
  CLOSE (hone_schedule_lr (&s, 0), 1.0);
  /* better, then three not better by 0.1: the third exceeds patience */
  const double metrics[] = { 5.0, 4.95, 4.99, 4.91,  4.0, 4.5, 4.5, 4.5, 4.5,  4.5, 4.5, 4.5, 4.5 };
  const double want[] =    { 1.0, 1.0,  1.0,  0.5,   0.5, 0.5, 0.5, 0.3, 0.3,  0.3, 0.3, 0.3, 0.3 };
  /* index 3: 3 bad epochs; 4 improves (and uses up the cooldown); 5-7 are
   * bad again; at 11 the lr would fall below min_lr 0.3, so it stays */
  const gboolean reduced[] = { 0, 0, 0, 1,  0, 0, 0, 1, 0,  0, 0, 0, 0 };
  for (gsize i = 0; i < G_N_ELEMENTS (metrics); i++)
    {
      g_assert_cmpint (hone_plateau_update (&p, &s, metrics[i]), ==, reduced[i]);
      CLOSE (hone_plateau_lr (&p, &s, 100), want[i]);
    }
  g_assert_cmpint (p.n_updates, ==, G_N_ELEMENTS (metrics));
  CLOSE (p.best, 4.0);

  /* max mode, rel threshold; NaN is never an improvement */
  s.plateau_mode = HONE_PLATEAU_MAX;
  s.threshold_mode = HONE_THRESHOLD_REL;
  s.threshold = 0.0;
  s.cooldown = 0;
  s.patience = 0;
  s.min_lr = 0.0;
  hone_plateau_init (&p, &s);
  g_assert_false (hone_plateau_update (&p, &s, 0.5));
  g_assert_true (hone_plateau_update (&p, &s, NAN));
  CLOSE (p.lr, 0.5);
  g_assert_false (hone_plateau_update (&p, &s, 0.6));
  CLOSE (p.best, 0.6);

  /* warmup scales the plateau's lr */
  s.warmup = HONE_WARMUP_LINEAR;
  s.warmup_steps = 10;
  s.warmup_start_factor = 0.0;
  CLOSE (hone_plateau_lr (&p, &s, 5), 0.25);
  CLOSE (hone_plateau_lr (&p, &s, 10), 0.5);
}

static void
expect_error (const HoneSchedule *s, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_schedule_validate (s, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  if (!strstr (error->message, needle))
    g_error ("message \"%s\" does not name \"%s\"", error->message, needle);
}

static void
test_validation (void)
{
  HoneSchedule s = make (HONE_SCHEDULE_CONSTANT, 0);
  expect_error (&s, "schedule.base_lr = 0 is out of range");
  s = make (HONE_SCHEDULE_STEP, 0.1);
  s.step_size = 0;
  expect_error (&s, "schedule.step_size = 0 is out of range: use 1 or more");
  s = make (HONE_SCHEDULE_STEP, 0.1);
  s.gamma = 1.5;
  expect_error (&s, "schedule.gamma = 1.5");
  s = make (HONE_SCHEDULE_EXPONENTIAL, 0.1);
  s.gamma = 0;
  expect_error (&s, "schedule.gamma = 0 is out of range: use more than 0 and at most 1");
  s = make (HONE_SCHEDULE_MULTI_STEP, 0.1);
  s.milestones[1] = 20;
  expect_error (&s, "schedule.milestones[1] = 20 is out of order");
  s.n_milestones = 0;
  expect_error (&s, "schedule.milestones has 0 entries");
  s = make (HONE_SCHEDULE_COSINE, 0.1);
  s.t_max = 0;
  expect_error (&s, "schedule.t_max = 0");
  s = make (HONE_SCHEDULE_COSINE, 0.1);
  s.eta_min = 0.2;
  expect_error (&s, "schedule.eta_min = 0.2 is out of range: use 0 to the base learning rate");
  s = make (HONE_SCHEDULE_COSINE_RESTARTS, 0.1);
  s.t_mult = 0;
  expect_error (&s, "schedule.t_mult = 0");
  s = make (HONE_SCHEDULE_COSINE_RESTARTS, 0.1);
  s.t_0 = -3;
  expect_error (&s, "schedule.t_0 = -3");
  s = make (HONE_SCHEDULE_POLYNOMIAL, 0.1);
  s.power = 0;
  expect_error (&s, "schedule.power = 0");
  s = make (HONE_SCHEDULE_POLYNOMIAL, 0.1);
  s.end_lr = -1;
  expect_error (&s, "schedule.end_lr = -1");
  s = make (HONE_SCHEDULE_ONE_CYCLE, 0.1);
  s.pct_start = 1.2;
  expect_error (&s, "schedule.pct_start = 1.2");
  s = make (HONE_SCHEDULE_ONE_CYCLE, 0.1);
  s.total_steps = 3;
  expect_error (&s, "leaves the rise empty");
  s = make (HONE_SCHEDULE_ONE_CYCLE, 0.1);
  s.three_phase = TRUE;
  s.pct_start = 0.6;
  expect_error (&s, "leaves the final decay empty");
  s = make (HONE_SCHEDULE_ONE_CYCLE, 0.1);
  s.div_factor = 0;
  expect_error (&s, "schedule.div_factor = 0");
  s = make (HONE_SCHEDULE_PLATEAU, 0.1);
  s.factor = 1.0;
  expect_error (&s, "schedule.factor = 1");
  s = make (HONE_SCHEDULE_PLATEAU, 0.1);
  s.patience = -1;
  expect_error (&s, "schedule.patience = -1");
  s = make (HONE_SCHEDULE_PLATEAU, 0.1);
  s.cooldown = -2;
  expect_error (&s, "schedule.cooldown = -2");
  s = make (HONE_SCHEDULE_PLATEAU, 0.1);
  s.threshold = -1;
  expect_error (&s, "schedule.threshold = -1");
  s = make (HONE_SCHEDULE_PLATEAU, 0.1);
  s.min_lr = 1;
  expect_error (&s, "schedule.min_lr = 1");
  s = make (HONE_SCHEDULE_CONSTANT, 0.1);
  s.warmup = HONE_WARMUP_LINEAR;
  s.warmup_steps = -5;
  expect_error (&s, "schedule.warmup_steps = -5");
  s.warmup_steps = 5;
  s.warmup_start_factor = 2;
  expect_error (&s, "schedule.warmup_start_factor = 2");
  s = make (17, 0.1);
  expect_error (&s, "schedule.kind");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/schedule/simple", test_constant_step_multistep_exponential);
  g_test_add_func ("/engine/schedule/cosine", test_cosine);
  g_test_add_func ("/engine/schedule/cosine-restarts", test_cosine_restarts);
  g_test_add_func ("/engine/schedule/polynomial", test_polynomial);
  g_test_add_func ("/engine/schedule/one-cycle", test_one_cycle);
  g_test_add_func ("/engine/schedule/warmup", test_warmup);
  g_test_add_func ("/engine/schedule/plateau", test_plateau);
  g_test_add_func ("/engine/schedule/validation", test_validation);
  return g_test_run ();
}
