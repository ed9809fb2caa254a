/* test-optim.c: SGD, Adam and AdamW against a naive double-precision
 * transcription of the torch.optim update rules, clipping, L1, learning-rate
 * multipliers, frozen parameters, divergence, checkpoint state and the
 * validation errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

#define MAX_PARAMS 4

typedef struct
{
  HoneGraph *g;
  int n;
  int ids[MAX_PARAMS];
  int64_t sizes[MAX_PARAMS];
} Model;

/* Parameters p0, p1, ... of the given sizes (beside a ReLU so the graph
 * can be planned), filled with fixed values, planned with backward. */
static void
model_init (Model *m, const int64_t *sizes, int n)
{
  g_autoptr (GError) error = NULL;
  m->g = hone_graph_new ();
  m->n = n;
  HoneShape one = HONE_SHAPE (1);
  int x = hone_graph_add_input (m->g, "x", &one, &error);
  for (int j = 0; j < n; j++)
    {
      g_autofree char *name = g_strdup_printf ("p%d", j);
      HoneShape s = HONE_SHAPE (sizes[j]);
      m->ids[j] = hone_graph_add_param (m->g, name, &s, &error);
      m->sizes[j] = sizes[j];
      float *w = hone_graph_value_data (m->g, m->ids[j]);
      for (int64_t i = 0; i < sizes[j]; i++)
        w[i] = (float) (0.7 * cos (1.1 * (double) i + (double) j));
    }
  hone_graph_add_output (m->g, hone_graph_relu (m->g, "y", x, &error));
  g_assert_true (hone_graph_plan (m->g, 1, TRUE, &error));
  g_assert_no_error (error);
}

static void
model_clear (Model *m)
{
  g_clear_pointer (&m->g, hone_graph_free);
}

/* A gradient that depends on the weights and the step. */
static void
model_fill_grads (Model *m, int t)
{
  for (int j = 0; j < m->n; j++)
    {
      float *grad = hone_graph_grad (m->g, m->ids[j]);
      if (!grad)
        continue;
      const float *w = hone_graph_value_data (m->g, m->ids[j]);
      for (int64_t i = 0; i < m->sizes[j]; i++)
        grad[i] = 1.5f * (w[i] - 0.2f) + (float) (0.3 * sin (0.5 * t + (double) i + j));
    }
}

/* ---- the naive reference ----------------------------------------------- */

typedef struct
{
  double w, m, v;
  int64_t t;
} Ref;

static double
sign_d (double x)
{
  return (x > 0) - (x < 0);
}

/* One element, one step, torch.optim 1.13's rules; g already clipped by
 * `clip`, lr already multiplied by lr_mult. */
static void
ref_step (Ref *r, const HoneOptimConfig *c, double g, double lr, double clip)
{
  g = (g + c->l1 * sign_d (r->w)) * clip;
  r->t++;
  if (c->kind == HONE_OPTIM_SGD)
    {
      g += c->weight_decay * r->w;
      if (c->momentum != 0)
        {
          r->m = r->t == 1 ? g : c->momentum * r->m + (1 - c->dampening) * g;
          g = c->nesterov ? g + c->momentum * r->m : r->m;
        }
      r->w -= lr * g;
      return;
    }
  if (c->kind == HONE_OPTIM_ADAMW)
    r->w *= 1 - lr * c->weight_decay;
  else
    g += c->weight_decay * r->w;
  r->m = c->beta1 * r->m + (1 - c->beta1) * g;
  r->v = c->beta2 * r->v + (1 - c->beta2) * g * g;
  double mhat = r->m / (1 - pow (c->beta1, (double) r->t));
  double vhat = r->v / (1 - pow (c->beta2, (double) r->t));
  r->w -= lr * mhat / (sqrt (vhat) + c->eps);
}

/* Runs `steps` steps of config c on three parameters (lr_mult 1, 0.5, 2)
 * and compares every weight with the reference after each. */
static void
check_against_reference (const HoneOptimConfig *c, int steps)
{
  const int64_t sizes[3] = { 5, 3, 17 };
  const float mults[3] = { 1.0f, 0.5f, 2.0f };
  Model m;
  model_init (&m, sizes, 3);
  Ref *ref[3];
  for (int j = 0; j < 3; j++)
    {
      hone_graph_set_lr_mult (m.g, m.ids[j], mults[j]);
      ref[j] = g_new0 (Ref, sizes[j]);
      const float *w = hone_graph_value_data (m.g, m.ids[j]);
      for (int64_t i = 0; i < sizes[j]; i++)
        ref[j][i].w = w[i];
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, c, &error);
  g_assert_no_error (error);

  for (int t = 0; t < steps && !g_test_failed (); t++)
    {
      double lr = 0.05 * (1.0 + 0.5 * sin (0.3 * t));
      model_fill_grads (&m, t);
      double sumsq = 0;
      for (int j = 0; j < 3; j++)
        {
          const float *grad = hone_graph_grad (m.g, m.ids[j]);
          for (int64_t i = 0; i < sizes[j]; i++)
            {
              double e = grad[i] + c->l1 * sign_d (ref[j][i].w);
              sumsq += e * e;
            }
        }
      double norm = sqrt (sumsq);
      double clip = c->clip_norm > 0 ? MIN (1.0, c->clip_norm / (norm + 1e-6)) : 1.0;
      for (int j = 0; j < 3; j++)
        {
          const float *grad = hone_graph_grad (m.g, m.ids[j]);
          for (int64_t i = 0; i < sizes[j]; i++)
            ref_step (&ref[j][i], c, grad[i], lr * mults[j], clip);
        }
      g_assert_true (hone_optimizer_step (opt, lr, &error));
      g_assert_cmpfloat_with_epsilon (hone_optimizer_last_grad_norm (opt), norm, 1e-6 * norm);
      for (int j = 0; j < 3; j++)
        {
          float want[32];
          for (int64_t i = 0; i < sizes[j]; i++)
            want[i] = (float) ref[j][i].w;
          g_autofree char *what = g_strdup_printf ("step %d p%d", t + 1, j);
          hone_test_assert_close (what, hone_graph_value_data (m.g, m.ids[j]), want, sizes[j],
                                  2e-5, 1e-6);
          g_assert_cmpint (hone_optimizer_param_step (opt, m.ids[j]), ==, t + 1);
        }
    }
  g_assert_cmpint (hone_optimizer_n_steps (opt), ==, steps);
  for (int j = 0; j < 3; j++)
    g_free (ref[j]);
  model_clear (&m);
}

static void
test_sgd_reference (void)
{
  HoneOptimConfig c;
  struct { double momentum, dampening, wd, l1, clip; gboolean nesterov; } cases[] = {
    { 0, 0, 0, 0, 0, FALSE },
    { 0.9, 0, 0, 0, 0, FALSE },
    { 0.9, 0.3, 0, 0, 0, FALSE },
    { 0.9, 0, 0, 0, 0, TRUE },
    { 0.8, 0, 0.01, 0, 0, TRUE },
    { 0.5, 0.1, 0.001, 0.02, 0, FALSE },
    { 0.9, 0, 0.0, 0, 0.5, FALSE },
    { 0, 0, 0.1, 0.05, 0.7, FALSE },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (cases) && !g_test_failed (); k++)
    {
      hone_optim_config_init (&c, HONE_OPTIM_SGD);
      c.momentum = cases[k].momentum;
      c.dampening = cases[k].dampening;
      c.weight_decay = cases[k].wd;
      c.l1 = cases[k].l1;
      c.clip_norm = cases[k].clip;
      c.nesterov = cases[k].nesterov;
      check_against_reference (&c, 30);
    }
}

static void
test_adam_reference (void)
{
  HoneOptimConfig c;
  struct { HoneOptimKind kind; double b1, b2, eps, wd, l1, clip; } cases[] = {
    { HONE_OPTIM_ADAM, 0.9, 0.999, 1e-8, 0, 0, 0 },
    { HONE_OPTIM_ADAM, 0.8, 0.99, 1e-6, 0.05, 0, 0 },
    { HONE_OPTIM_ADAM, 0.0, 0.9, 1e-8, 0, 0.01, 0.5 },
    { HONE_OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0.01, 0, 0 },
    { HONE_OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0.2, 0.01, 1.0 },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (cases) && !g_test_failed (); k++)
    {
      hone_optim_config_init (&c, cases[k].kind);
      c.beta1 = cases[k].b1;
      c.beta2 = cases[k].b2;
      c.eps = cases[k].eps;
      c.weight_decay = cases[k].wd;
      c.l1 = cases[k].l1;
      c.clip_norm = cases[k].clip;
      check_against_reference (&c, 30);
    }
}

static void
test_defaults (void)
{
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_ADAMW);
  g_assert_cmpfloat (c.beta1, ==, 0.9);
  g_assert_cmpfloat (c.beta2, ==, 0.999);
  g_assert_cmpfloat (c.eps, ==, 1e-8);
  g_assert_cmpfloat (c.weight_decay, ==, 0.01);
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  g_assert_cmpfloat (c.weight_decay, ==, 0.0);
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  g_assert_cmpfloat (c.momentum, ==, 0.0);
  g_assert_true (hone_optim_config_validate (&c, NULL));
}

/* Gradient (3, 4): norm 5, clipped to 1 the update is lr * g / 5. */
static void
test_clip_by_hand (void)
{
  const int64_t sizes[2] = { 1, 1 };
  Model m;
  model_init (&m, sizes, 2);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.clip_norm = 1.0;
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  float *w0 = hone_graph_value_data (m.g, m.ids[0]), *w1 = hone_graph_value_data (m.g, m.ids[1]);
  w0[0] = 1.0f;
  w1[0] = 2.0f;
  hone_graph_grad (m.g, m.ids[0])[0] = 3.0f;
  hone_graph_grad (m.g, m.ids[1])[0] = 4.0f;
  g_assert_true (hone_optimizer_step (opt, 0.5, NULL));
  g_assert_cmpfloat (hone_optimizer_last_grad_norm (opt), ==, 5.0);
  g_assert_cmpfloat_with_epsilon (w0[0], 1.0 - 0.5 * 3.0 / 5.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (w1[0], 2.0 - 0.5 * 4.0 / 5.0, 1e-6);
  /* a norm below the limit is not scaled */
  hone_graph_grad (m.g, m.ids[0])[0] = 0.3f;
  hone_graph_grad (m.g, m.ids[1])[0] = 0.4f;
  float before0 = w0[0];
  g_assert_true (hone_optimizer_step (opt, 1.0, NULL));
  g_assert_cmpfloat (w0[0], ==, before0 - 0.3f);
  /* the graph's gradients are read, not changed */
  g_assert_cmpfloat (hone_graph_grad (m.g, m.ids[1])[0], ==, 0.4f);
  model_clear (&m);
}

/* L1 adds l1 * sign (w), with sign (0) = 0. */
static void
test_l1_by_hand (void)
{
  const int64_t sizes[1] = { 3 };
  Model m;
  model_init (&m, sizes, 1);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.l1 = 0.5;
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  float *w = hone_graph_value_data (m.g, m.ids[0]);
  w[0] = 2.0f, w[1] = 0.0f, w[2] = -1.0f;
  float *g = hone_graph_grad (m.g, m.ids[0]);
  g[0] = g[1] = g[2] = 0.0f;
  g_assert_true (hone_optimizer_step (opt, 0.1, NULL));
  g_assert_cmpfloat_with_epsilon (w[0], 2.0 - 0.05, 1e-7);
  g_assert_cmpfloat (w[1], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (w[2], -1.0 + 0.05, 1e-7);
  model_clear (&m);
}

static gboolean
moments_are_zero (HoneOptimizer *opt, int id, int64_t n)
{
  for (int s = 0; s < hone_optimizer_n_moments (opt); s++)
    {
      const float *mo = hone_optimizer_moment (opt, id, s);
      for (int64_t i = 0; i < n; i++)
        if (mo[i] != 0.0f)
          return FALSE;
    }
  return TRUE;
}

/* A frozen parameter keeps its weights bit for bit, whatever its gradient
 * buffer holds, and its moments stay empty; unfrozen, it starts afresh. */
static void
test_frozen (void)
{
  const HoneOptimKind kinds[3] = { HONE_OPTIM_SGD, HONE_OPTIM_ADAM, HONE_OPTIM_ADAMW };
  for (int k = 0; k < 3; k++)
    {
      const int64_t sizes[3] = { 4, 40000, 6 };
      Model m;
      model_init (&m, sizes, 3);
      hone_graph_set_trainable (m.g, m.ids[1], FALSE);
      g_assert_true (hone_graph_plan (m.g, 1, TRUE, NULL));
      HoneOptimConfig c;
      hone_optim_config_init (&c, kinds[k]);
      c.momentum = kinds[k] == HONE_OPTIM_SGD ? 0.9 : 0.0;
      c.weight_decay = 0.1;
      c.l1 = 0.01;
      c.clip_norm = 1.0;
      g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);

      const HoneValue *v1 = hone_graph_value (m.g, m.ids[1]);
      float *frozen = hone_graph_value_data (m.g, m.ids[1]);
      g_autofree float *snapshot = g_memdup2 (frozen, sizes[1] * sizeof (float));
      /* poison the frozen gradient range: it must not be read */
      float *stale = hone_graph_grads (m.g) + v1->offset;
      for (int64_t i = 0; i < sizes[1]; i++)
        stale[i] = i % 2 ? NAN : 1e30f;

      for (int t = 0; t < 5; t++)
        {
          model_fill_grads (&m, t);
          g_assert_true (hone_optimizer_step (opt, 0.1, NULL));
        }
      g_assert_cmpmem (frozen, sizes[1] * sizeof (float), snapshot, sizes[1] * sizeof (float));
      g_assert_true (moments_are_zero (opt, m.ids[1], sizes[1]));
      g_assert_cmpint (hone_optimizer_param_step (opt, m.ids[1]), ==, 0);
      g_assert_cmpint (hone_optimizer_param_step (opt, m.ids[0]), ==, 5);

      /* Unfrozen: its own step count starts at 1, as torch's per-parameter state. */
      hone_graph_set_trainable (m.g, m.ids[1], TRUE);
      g_assert_true (hone_graph_plan (m.g, 1, TRUE, NULL));
      model_fill_grads (&m, 5);
      g_assert_true (hone_optimizer_step (opt, 0.1, NULL));
      g_assert_cmpint (hone_optimizer_param_step (opt, m.ids[1]), ==, 1);
      g_assert_cmpint (hone_optimizer_param_step (opt, m.ids[0]), ==, 6);
      g_assert_cmpint (memcmp (frozen, snapshot, sizes[1] * sizeof (float)), !=, 0);
      model_clear (&m);
    }
}

/* Snapshot of everything a step may change. */
typedef struct
{
  float *params;
  float *moments;
  int64_t n_params_floats, n_moments_floats;
  int64_t steps[MAX_PARAMS];
  int64_t n_steps;
} Snapshot;

static void
snapshot_take (Snapshot *s, Model *m, HoneOptimizer *opt)
{
  s->n_params_floats = 0;
  for (int j = 0; j < m->n; j++)
    {
      const HoneValue *v = hone_graph_value (m->g, m->ids[j]);
      s->n_params_floats = MAX (s->n_params_floats, v->offset + m->sizes[j]);
      s->steps[j] = hone_optimizer_param_step (opt, m->ids[j]);
    }
  s->params = g_memdup2 (hone_graph_params (m->g), s->n_params_floats * sizeof (float));
  float *mo = hone_optimizer_moments (opt, &s->n_moments_floats);
  s->moments = g_memdup2 (mo, MAX (s->n_moments_floats, 1) * sizeof (float));
  s->n_steps = hone_optimizer_n_steps (opt);
}

static void
snapshot_assert_same (const Snapshot *s, Model *m, HoneOptimizer *opt)
{
  g_assert_cmpmem (hone_graph_params (m->g), s->n_params_floats * sizeof (float),
                   s->params, s->n_params_floats * sizeof (float));
  int64_t n;
  float *mo = hone_optimizer_moments (opt, &n);
  g_assert_cmpint (n, ==, s->n_moments_floats);
  if (n)
    g_assert_cmpmem (mo, n * sizeof (float), s->moments, n * sizeof (float));
  for (int j = 0; j < m->n; j++)
    g_assert_cmpint (hone_optimizer_param_step (opt, m->ids[j]), ==, s->steps[j]);
  g_assert_cmpint (hone_optimizer_n_steps (opt), ==, s->n_steps);
}

static void
snapshot_clear (Snapshot *s)
{
  g_clear_pointer (&s->params, g_free);
  g_clear_pointer (&s->moments, g_free);
}

/* A non-finite gradient anywhere: FALSE, HONE_ERROR_DIVERGED naming the
 * parameter, and nothing changed. */
static void
test_diverged (void)
{
  const float bad_values[3] = { NAN, INFINITY, -INFINITY };
  const HoneOptimKind kinds[3] = { HONE_OPTIM_SGD, HONE_OPTIM_ADAM, HONE_OPTIM_ADAMW };
  for (int k = 0; k < 3; k++)
    for (int b = 0; b < 3; b++)
      {
        const int64_t sizes[3] = { 5, 20000, 3 };
        Model m;
        model_init (&m, sizes, 3);
        HoneOptimConfig c;
        hone_optim_config_init (&c, kinds[k]);
        c.momentum = kinds[k] == HONE_OPTIM_SGD ? 0.9 : 0.0;
        c.weight_decay = 0.01;
        g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
        for (int t = 0; t < 3; t++)
          {
            model_fill_grads (&m, t);
            g_assert_true (hone_optimizer_step (opt, 0.01, NULL));
          }
        Snapshot s;
        snapshot_take (&s, &m, opt);
        model_fill_grads (&m, 3);
        hone_graph_grad (m.g, m.ids[1])[12345] = bad_values[b];
        g_autoptr (GError) error = NULL;
        g_assert_false (hone_optimizer_step (opt, 0.01, &error));
        g_assert_error (error, HONE_ERROR, HONE_ERROR_DIVERGED);
        g_assert_nonnull (strstr (error->message, "'p1'"));
        g_assert_nonnull (strstr (error->message, "12345"));
        snapshot_assert_same (&s, &m, opt);
        snapshot_clear (&s);
        model_clear (&m);
      }
}

/* Restoring the moments and step counts into a new optimizer continues the
 * run bit for bit. */
static void
test_resume (void)
{
  const HoneOptimKind kinds[3] = { HONE_OPTIM_SGD, HONE_OPTIM_ADAM, HONE_OPTIM_ADAMW };
  for (int k = 0; k < 3; k++)
    {
      const int64_t sizes[2] = { 7, 300 };
      HoneOptimConfig c;
      hone_optim_config_init (&c, kinds[k]);
      c.momentum = kinds[k] == HONE_OPTIM_SGD ? 0.9 : 0.0;
      c.nesterov = kinds[k] == HONE_OPTIM_SGD;
      Model a;
      model_init (&a, sizes, 2);
      g_autoptr (HoneOptimizer) oa = hone_optimizer_new (a.g, &c, NULL);
      for (int t = 0; t < 5; t++)
        {
          model_fill_grads (&a, t);
          g_assert_true (hone_optimizer_step (oa, 0.02, NULL));
        }

      /* the "checkpoint": weights, moments and step counts */
      Model b;
      model_init (&b, sizes, 2);
      g_autoptr (HoneOptimizer) ob = hone_optimizer_new (b.g, &c, NULL);
      g_assert_cmpint (hone_optimizer_n_moments (ob), ==, hone_optimizer_n_moments (oa));
      for (int j = 0; j < 2; j++)
        {
          memcpy (hone_graph_value_data (b.g, b.ids[j]), hone_graph_value_data (a.g, a.ids[j]),
                  sizes[j] * sizeof (float));
          for (int s = 0; s < hone_optimizer_n_moments (oa); s++)
            memcpy (hone_optimizer_moment (ob, b.ids[j], s),
                    hone_optimizer_moment (oa, a.ids[j], s), sizes[j] * sizeof (float));
          hone_optimizer_set_param_step (ob, b.ids[j], hone_optimizer_param_step (oa, a.ids[j]));
        }
      hone_optimizer_set_n_steps (ob, hone_optimizer_n_steps (oa));

      for (int t = 5; t < 10; t++)
        {
          model_fill_grads (&a, t);
          model_fill_grads (&b, t);
          g_assert_true (hone_optimizer_step (oa, 0.02, NULL));
          g_assert_true (hone_optimizer_step (ob, 0.02, NULL));
        }
      for (int j = 0; j < 2; j++)
        g_assert_cmpmem (hone_graph_value_data (a.g, a.ids[j]), sizes[j] * sizeof (float),
                         hone_graph_value_data (b.g, b.ids[j]), sizes[j] * sizeof (float));
      g_assert_cmpint (hone_optimizer_n_steps (ob), ==, 10);
      model_clear (&a);
      model_clear (&b);
    }
}

/* The flat allocation: n_moments blocks laid out as the parameter arena. */
static void
test_moments_layout (void)
{
  const int64_t sizes[3] = { 5, 33, 2 };
  Model m;
  model_init (&m, sizes, 3);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  int64_t n;
  float *all = hone_optimizer_moments (opt, &n);
  const HoneValue *last = hone_graph_value (m.g, m.ids[2]);
  int64_t arena = last->offset + sizes[2];
  g_assert_cmpint (n, ==, 2 * arena);
  for (int j = 0; j < 3; j++)
    {
      const HoneValue *v = hone_graph_value (m.g, m.ids[j]);
      g_assert_true (hone_optimizer_moment (opt, m.ids[j], 0) == all + v->offset);
      g_assert_true (hone_optimizer_moment (opt, m.ids[j], 1) == all + arena + v->offset);
    }
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  g_autoptr (HoneOptimizer) plain = hone_optimizer_new (m.g, &c, NULL);
  g_assert_cmpint (hone_optimizer_n_moments (plain), ==, 0);
  g_assert_null (hone_optimizer_moments (plain, &n));
  g_assert_cmpint (n, ==, 0);
  model_clear (&m);
}

static void
expect_config_error (const HoneOptimConfig *c, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_optim_config_validate (c, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  if (!strstr (error->message, needle))
    g_error ("message \"%s\" does not name \"%s\"", error->message, needle);
}

static void
test_validation (void)
{
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.momentum = 1.5;
  expect_config_error (&c,
                       "optimizer.momentum = 1.5 is out of range: use 0 or more and less than 1");
  c.momentum = -0.1;
  expect_config_error (&c, "optimizer.momentum");
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.dampening = 2;
  expect_config_error (&c, "optimizer.dampening = 2");
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.nesterov = TRUE;
  expect_config_error (&c, "optimizer.nesterov needs optimizer.momentum");
  c.momentum = 0.9;
  c.dampening = 0.1;
  expect_config_error (&c, "optimizer.dampening 0");
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  c.beta1 = 1.0;
  expect_config_error (&c, "optimizer.beta1 = 1");
  hone_optim_config_init (&c, HONE_OPTIM_ADAMW);
  c.beta2 = NAN;
  expect_config_error (&c, "optimizer.beta2");
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  c.eps = 0;
  expect_config_error (&c, "optimizer.eps = 0");
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  c.weight_decay = -1e-4;
  expect_config_error (&c, "optimizer.weight_decay = -0.0001 is out of range: use 0 or more");
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.l1 = INFINITY;
  expect_config_error (&c, "optimizer.l1 = inf");
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.clip_norm = -1;
  expect_config_error (&c, "optimizer.clip_norm = -1");
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.kind = 9;
  expect_config_error (&c, "optimizer.kind");

  const int64_t sizes[1] = { 3 };
  Model m;
  model_init (&m, sizes, 1);
  g_autoptr (GError) error = NULL;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.momentum = 2;
  g_assert_null (hone_optimizer_new (m.g, &c, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_clear_error (&error);

  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, &error);
  model_fill_grads (&m, 0);
  g_assert_false (hone_optimizer_step (opt, -0.1, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "optimizer.lr = -0.1"));
  g_clear_error (&error);
  g_assert_false (hone_optimizer_step (opt, NAN, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_clear_error (&error);

  hone_graph_set_lr_mult (m.g, m.ids[0], -1.0f);
  g_assert_false (hone_optimizer_step (opt, 0.1, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'p0'"));
  g_clear_error (&error);
  hone_graph_set_lr_mult (m.g, m.ids[0], 1.0f);

  g_assert_cmpint (hone_optimizer_n_steps (opt), ==, 0);
  model_clear (&m);

  /* a parameter added after the optimizer was made */
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (2);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  hone_graph_add_param (g, "early", &s, NULL);
  g_autoptr (HoneOptimizer) o2 = hone_optimizer_new (g, &c, &error);
  hone_graph_add_param (g, "late", &s, NULL);
  hone_graph_add_output (g, hone_graph_relu (g, "r", x, NULL));
  g_assert_true (hone_graph_plan (g, 1, TRUE, NULL));
  g_assert_false (hone_optimizer_step (o2, 0.1, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'late'"));
  g_assert_cmpint (hone_optimizer_n_steps (o2), ==, 0);
}

/* step_and_zero updates exactly as step does, then leaves every trainable
 * gradient zero and a frozen one as it was; when the step is refused it
 * changes nothing but still zeroes the trainable gradients. */
static void
test_step_and_zero (void)
{
  const int64_t sizes[3] = { 5, 20000, 7 };
  Model a, b;
  model_init (&a, sizes, 3);
  model_init (&b, sizes, 3);
  hone_graph_set_trainable (b.g, b.ids[2], FALSE);
  hone_graph_set_trainable (a.g, a.ids[2], FALSE);
  g_assert_true (hone_graph_plan (a.g, 1, TRUE, NULL));
  g_assert_true (hone_graph_plan (b.g, 1, TRUE, NULL));
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  c.momentum = 0.9;
  c.nesterov = TRUE;
  c.weight_decay = 0.01;
  g_autoptr (HoneOptimizer) oa = hone_optimizer_new (a.g, &c, NULL);
  g_autoptr (HoneOptimizer) ob = hone_optimizer_new (b.g, &c, NULL);
  const HoneValue *frozen = hone_graph_value (b.g, b.ids[2]);
  float *stale = hone_graph_grads (b.g) + frozen->offset;
  for (int t = 0; t < 3; t++)
    {
      model_fill_grads (&a, t);
      model_fill_grads (&b, t);
      for (int64_t i = 0; i < sizes[2]; i++)
        stale[i] = (float) i + 0.5f;
      g_assert_true (hone_optimizer_step (oa, 0.02, NULL));
      g_assert_true (hone_optimizer_step_and_zero (ob, 0.02, NULL));
      int64_t n = frozen->offset + sizes[2];
      g_assert_cmpmem (hone_graph_params (a.g), n * sizeof (float),
                       hone_graph_params (b.g), n * sizeof (float));
      g_assert_cmpfloat (hone_optimizer_last_grad_norm (oa), ==,
                         hone_optimizer_last_grad_norm (ob));
      for (int j = 0; j < 2; j++)
        {
          const float *grad = hone_graph_grad (b.g, b.ids[j]);
          for (int64_t i = 0; i < sizes[j]; i++)
            g_assert_cmpfloat (grad[i], ==, 0.0f);
        }
      for (int64_t i = 0; i < sizes[2]; i++)
        g_assert_cmpfloat (stale[i], ==, (float) i + 0.5f);
    }

  Snapshot s;
  snapshot_take (&s, &b, ob);
  model_fill_grads (&b, 3);
  hone_graph_grad (b.g, b.ids[1])[9000] = INFINITY;
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_optimizer_step_and_zero (ob, 0.02, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_DIVERGED);
  g_assert_nonnull (strstr (error->message, "'p1'"));
  snapshot_assert_same (&s, &b, ob);
  for (int j = 0; j < 2; j++)
    {
      const float *grad = hone_graph_grad (b.g, b.ids[j]);
      for (int64_t i = 0; i < sizes[j]; i++)
        g_assert_cmpfloat (grad[i], ==, 0.0f);
    }
  snapshot_clear (&s);
  model_clear (&a);
  model_clear (&b);
}

/* Large tensors go through the threaded paths; the result must not depend
 * on the thread count. */
static void
test_threads_deterministic (void)
{
  const int64_t sizes[2] = { 300000, 70001 };
  float *result[2];
  double norms[2];
  for (int run = 0; run < 2; run++)
    {
      hone_set_num_threads (run == 0 ? 1 : 4);
      Model m;
      model_init (&m, sizes, 2);
      HoneOptimConfig c;
      hone_optim_config_init (&c, HONE_OPTIM_ADAMW);
      c.clip_norm = 10.0;
      g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
      for (int t = 0; t < 3; t++)
        {
          model_fill_grads (&m, t);
          g_assert_true (hone_optimizer_step (opt, 0.01, NULL));
        }
      norms[run] = hone_optimizer_last_grad_norm (opt);
      int64_t n = hone_graph_value (m.g, m.ids[1])->offset + sizes[1];
      g_assert_cmpint (n, ==, sizes[0] + sizes[1]);   /* 300000 is a multiple of 16 */
      result[run] = g_memdup2 (hone_graph_params (m.g), n * sizeof (float));
      model_clear (&m);
    }
  hone_set_num_threads (0);
  g_assert_cmpfloat (norms[0], ==, norms[1]);
  g_assert_cmpmem (result[0], (sizes[0] + sizes[1]) * sizeof (float),
                   result[1], (sizes[0] + sizes[1]) * sizeof (float));
  g_free (result[0]);
  g_free (result[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/optim/defaults", test_defaults);
  g_test_add_func ("/engine/optim/validation", test_validation);
  g_test_add_func ("/engine/optim/sgd/reference", test_sgd_reference);
  g_test_add_func ("/engine/optim/adam/reference", test_adam_reference);
  g_test_add_func ("/engine/optim/clip", test_clip_by_hand);
  g_test_add_func ("/engine/optim/l1", test_l1_by_hand);
  g_test_add_func ("/engine/optim/frozen", test_frozen);
  g_test_add_func ("/engine/optim/diverged", test_diverged);
  g_test_add_func ("/engine/optim/resume", test_resume);
  g_test_add_func ("/engine/optim/moments-layout", test_moments_layout);
  g_test_add_func ("/engine/optim/threads-deterministic", test_threads_deterministic);
  g_test_add_func ("/engine/optim/step-and-zero", test_step_and_zero);
  return g_test_run ();
}
