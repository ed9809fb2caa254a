/* test-optim-parity.c: losses, optimizers and LR schedules against the
 * values PyTorch 1.13 computed (tests/parity/make_optim_fixtures.py).
 *
 * Arguments: the fixture files parity-optim.json, parity-schedule.json and
 * parity-loss.json (meson passes the custom target's outputs).  Every
 * config in them becomes one test case.  The optimizer test rebuilds the
 * script's gradients from the parameters, step by step:
 *   grad = a * (p - c) + float32 (0.5 * sin (0.37 t + 1.3 i + 0.7 j)). */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "hone-test-util.h"

static JsonParser *fixtures[3];   /* optim, schedule, loss */

/* ---- JSON helpers ------------------------------------------------------ */

static double
get_double (JsonObject *o, const char *member)
{
  JsonNode *n = json_object_get_member (o, member);
  g_assert_nonnull (n);
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (n);
  return json_node_get_double (n);
}

static int64_t
get_int (JsonObject *o, const char *member)
{
  return json_object_get_int_member (o, member);
}

/* A JSON array of numbers as n doubles (g_free). */
static double *
get_doubles (JsonArray *a, int64_t *n)
{
  *n = json_array_get_length (a);
  double *v = g_new (double, MAX (*n, 1));
  for (int64_t i = 0; i < *n; i++)
    v[i] = json_array_get_double_element (a, i);
  return v;
}

static float *
get_floats (JsonArray *a, int64_t *n)
{
  *n = json_array_get_length (a);
  float *v = g_new (float, MAX (*n, 1));
  for (int64_t i = 0; i < *n; i++)
    v[i] = (float) json_array_get_double_element (a, i);
  return v;
}

/* Fails the test (and returns FALSE) unless |got - want| <= atol + rtol |want|. */
static gboolean
check_close (const char *what, int64_t index, double got, double want, double rtol, double atol)
{
  if (fabs (got - want) <= atol + rtol * fabs (want))
    return TRUE;
  g_test_fail_printf ("%s [%" G_GINT64_FORMAT "]: got %.10g, PyTorch %.10g", what, index, got,
                      want);
  return FALSE;
}

/* ---- optimizers -------------------------------------------------------- */

static void
test_optimizer (gconstpointer data)
{
  JsonObject *cfg = (JsonObject *) data;
  const char *name = json_object_get_string_member (cfg, "name");
  const char *kind = json_object_get_string_member (cfg, "kind");
  JsonArray *params = json_object_get_array_member (cfg, "params");
  int n_params = json_array_get_length (params);

  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape one = HONE_SHAPE (1);
  int x = hone_graph_add_input (g, "x", &one, &error);
  int *ids = g_newa (int, n_params);
  float **a = g_newa (float *, n_params);
  float **c = g_newa (float *, n_params);
  int64_t *sizes = g_newa (int64_t, n_params);
  for (int j = 0; j < n_params; j++)
    {
      JsonObject *p = json_array_get_object_element (params, j);
      int64_t n;
      g_autofree float *init = get_floats (json_object_get_array_member (p, "init"), &n);
      a[j] = get_floats (json_object_get_array_member (p, "a"), &n);
      c[j] = get_floats (json_object_get_array_member (p, "c"), &n);
      sizes[j] = n;
      g_autofree char *pname = g_strdup_printf ("p%d", j);
      HoneShape s = HONE_SHAPE (n);
      ids[j] = hone_graph_add_param (g, pname, &s, &error);
      g_assert_no_error (error);
      memcpy (hone_graph_value_data (g, ids[j]), init, n * sizeof (float));
      hone_graph_set_trainable (g, ids[j], json_object_get_boolean_member (p, "trainable"));
      hone_graph_set_lr_mult (g, ids[j], (float) get_double (p, "lr_mult"));
    }
  hone_graph_add_output (g, hone_graph_relu (g, "y", x, &error));
  g_assert_true (hone_graph_plan (g, 1, TRUE, &error));

  HoneOptimConfig oc;
  hone_optim_config_init (&oc, g_str_equal (kind, "sgd") ? HONE_OPTIM_SGD
                               : g_str_equal (kind, "adam") ? HONE_OPTIM_ADAM
                                                            : HONE_OPTIM_ADAMW);
  oc.momentum = get_double (cfg, "momentum");
  oc.dampening = get_double (cfg, "dampening");
  oc.nesterov = json_object_get_boolean_member (cfg, "nesterov");
  oc.beta1 = get_double (cfg, "beta1");
  oc.beta2 = get_double (cfg, "beta2");
  oc.eps = get_double (cfg, "eps");
  oc.weight_decay = get_double (cfg, "weight_decay");
  oc.l1 = get_double (cfg, "l1");
  oc.clip_norm = get_double (cfg, "clip_norm");
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (g, &oc, &error);
  g_assert_no_error (error);

  int64_t n_steps;
  g_autofree double *lr = get_doubles (json_object_get_array_member (cfg, "lr"), &n_steps);
  g_autofree double *norms = get_doubles (json_object_get_array_member (cfg, "grad_norm"),
                                          &n_steps);
  JsonArray *trajectory = json_object_get_array_member (cfg, "trajectory");
  g_assert_cmpint (json_array_get_length (trajectory), ==, n_steps);

  for (int64_t t = 0; t < n_steps; t++)
    {
      for (int j = 0; j < n_params; j++)
        {
          float *grad = hone_graph_grad (g, ids[j]);
          if (!grad)
            continue;
          const float *p = hone_graph_value_data (g, ids[j]);
          for (int64_t i = 0; i < sizes[j]; i++)
            {
              float noise = (float) (0.5 * sin (0.37 * (double) t + 1.3 * (double) i + 0.7 * j));
              grad[i] = a[j][i] * (p[i] - c[j][i]) + noise;
            }
        }
      g_assert_true (hone_optimizer_step (opt, lr[t], &error));
      g_assert_no_error (error);

      g_autofree char *what = g_strdup_printf ("%s: gradient norm", name);
      if (!check_close (what, t, hone_optimizer_last_grad_norm (opt), norms[t], 1e-4, 1e-6))
        break;

      JsonArray *step = json_array_get_array_element (trajectory, t);
      for (int j = 0; j < n_params; j++)
        {
          int64_t n;
          g_autofree float *want = get_floats (json_array_get_array_element (step, j), &n);
          g_autofree char *pwhat = g_strdup_printf ("%s: step %" G_GINT64_FORMAT ", p%d",
                                                    name, t + 1, j);
          const float *p = hone_graph_value_data (g, ids[j]);
          if (!hone_graph_value (g, ids[j])->trainable)
            g_assert_cmpmem (p, n * sizeof (float), want, n * sizeof (float));
          else
            hone_test_assert_close (pwhat, p, want, n, 1e-4, 1e-6);
        }
      if (g_test_failed ())
        break;
    }
  if (!g_test_failed ())
    g_assert_cmpint (hone_optimizer_n_steps (opt), ==, n_steps);
  for (int j = 0; j < n_params; j++)
    {
      g_free (a[j]);
      g_free (c[j]);
    }
}

/* ---- schedules --------------------------------------------------------- */

static HoneScheduleKind
schedule_kind (const char *s)
{
  static const struct { const char *name; HoneScheduleKind kind; } kinds[] = {
    { "constant", HONE_SCHEDULE_CONSTANT },
    { "step", HONE_SCHEDULE_STEP },
    { "multi_step", HONE_SCHEDULE_MULTI_STEP },
    { "exponential", HONE_SCHEDULE_EXPONENTIAL },
    { "cosine", HONE_SCHEDULE_COSINE },
    { "cosine_restarts", HONE_SCHEDULE_COSINE_RESTARTS },
    { "polynomial", HONE_SCHEDULE_POLYNOMIAL },
    { "one_cycle", HONE_SCHEDULE_ONE_CYCLE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (s, kinds[i].name))
      return kinds[i].kind;
  g_assert_not_reached ();
}

static void
test_schedule (gconstpointer data)
{
  JsonObject *cfg = (JsonObject *) data;
  const char *name = json_object_get_string_member (cfg, "name");
  HoneSchedule s;
  hone_schedule_init (&s, schedule_kind (json_object_get_string_member (cfg, "kind")),
                      get_double (cfg, "base_lr"));
  s.gamma = get_double (cfg, "gamma");
  s.step_size = get_int (cfg, "step_size");
  JsonArray *milestones = json_object_get_array_member (cfg, "milestones");
  s.n_milestones = json_array_get_length (milestones);
  for (int i = 0; i < s.n_milestones; i++)
    s.milestones[i] = json_array_get_int_element (milestones, i);
  if (s.kind != HONE_SCHEDULE_MULTI_STEP)
    s.n_milestones = 1;
  s.t_max = get_int (cfg, "t_max");
  s.t_0 = get_int (cfg, "t_0");
  s.t_mult = get_int (cfg, "t_mult");
  s.eta_min = get_double (cfg, "eta_min");
  s.total_steps = get_int (cfg, "total_steps");
  s.power = get_double (cfg, "power");
  s.end_lr = get_double (cfg, "end_lr");
  s.pct_start = get_double (cfg, "pct_start");
  s.anneal = g_str_equal (json_object_get_string_member (cfg, "anneal"), "cos")
             ? HONE_ANNEAL_COS : HONE_ANNEAL_LINEAR;
  s.div_factor = get_double (cfg, "div_factor");
  s.final_div_factor = get_double (cfg, "final_div_factor");
  s.three_phase = json_object_get_boolean_member (cfg, "three_phase");
  const char *warmup = json_object_get_string_member (cfg, "warmup");
  s.warmup = g_str_equal (warmup, "linear") ? HONE_WARMUP_LINEAR
             : g_str_equal (warmup, "cosine") ? HONE_WARMUP_COSINE : HONE_WARMUP_NONE;
  s.warmup_steps = get_int (cfg, "warmup_steps");
  s.warmup_start_factor = get_double (cfg, "warmup_start_factor");

  g_autoptr (GError) error = NULL;
  g_assert_true (hone_schedule_validate (&s, &error));
  g_assert_no_error (error);

  int64_t n;
  g_autofree double *lrs = get_doubles (json_object_get_array_member (cfg, "lrs"), &n);
  for (int64_t t = 0; t < n; t++)
    if (!check_close (name, t, hone_schedule_lr (&s, t), lrs[t], 1e-5, 1e-12 * s.base_lr))
      break;
}

static void
test_plateau (gconstpointer data)
{
  JsonObject *cfg = (JsonObject *) data;
  const char *name = json_object_get_string_member (cfg, "name");
  HoneSchedule s;
  hone_schedule_init (&s, HONE_SCHEDULE_PLATEAU, get_double (cfg, "base_lr"));
  s.plateau_mode = g_str_equal (json_object_get_string_member (cfg, "mode"), "min")
                   ? HONE_PLATEAU_MIN : HONE_PLATEAU_MAX;
  s.factor = get_double (cfg, "factor");
  s.patience = get_int (cfg, "patience");
  s.threshold = get_double (cfg, "threshold");
  s.threshold_mode = g_str_equal (json_object_get_string_member (cfg, "threshold_mode"), "rel")
                     ? HONE_THRESHOLD_REL : HONE_THRESHOLD_ABS;
  s.cooldown = get_int (cfg, "cooldown");
  s.min_lr = get_double (cfg, "min_lr");
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_schedule_validate (&s, &error));

  HonePlateau p;
  hone_plateau_init (&p, &s);
  JsonArray *metrics = json_object_get_array_member (cfg, "metrics");
  int64_t n;
  g_autofree double *lrs = get_doubles (json_object_get_array_member (cfg, "lrs"), &n);
  g_assert_cmpint (json_array_get_length (metrics), ==, n);
  int reductions = 0;
  for (int64_t i = 0; i < n; i++)
    {
      /* NaN is not JSON: the script writes a NaN metric as null. */
      JsonNode *m = json_array_get_element (metrics, i);
      double metric = JSON_NODE_HOLDS_NULL (m) ? NAN : json_node_get_double (m);
      reductions += hone_plateau_update (&p, &s, metric);
      if (!check_close (name, i, hone_plateau_lr (&p, &s, 1000000), lrs[i], 1e-12, 0))
        break;
    }
  g_assert_cmpint (reductions, >, 0);
}

/* ---- losses ------------------------------------------------------------ */

static void
test_loss (gconstpointer data)
{
  JsonObject *cfg = (JsonObject *) data;
  const char *name = json_object_get_string_member (cfg, "name");
  int64_t n = get_int (cfg, "n"), k = get_int (cfg, "k"), len;

  HoneLoss loss;
  hone_loss_init (&loss);
  loss.kind = g_str_equal (json_object_get_string_member (cfg, "kind"), "focal")
              ? HONE_LOSS_FOCAL : HONE_LOSS_CROSS_ENTROPY;
  loss.focal_gamma = get_double (cfg, "gamma");
  loss.label_smoothing = get_double (cfg, "label_smoothing");
  g_autofree float *weights = NULL;
  if (!json_object_get_null_member (cfg, "weights"))
    {
      weights = get_floats (json_object_get_array_member (cfg, "weights"), &len);
      g_assert_cmpint (len, ==, k);
      loss.class_weights = weights;
    }
  g_autofree float *logits = get_floats (json_object_get_array_member (cfg, "logits"), &len);
  g_assert_cmpint (len, ==, n * k);
  g_autofree int32_t *labels = NULL;
  g_autofree float *targets = NULL;
  if (!json_object_get_null_member (cfg, "labels"))
    {
      JsonArray *a = json_object_get_array_member (cfg, "labels");
      labels = g_new (int32_t, n);
      for (int64_t i = 0; i < n; i++)
        labels[i] = json_array_get_int_element (a, i);
    }
  else
    targets = get_floats (json_object_get_array_member (cfg, "targets"), &len);
  g_autofree float *grad_want = get_floats (json_object_get_array_member (cfg, "grad"), &len);

  g_autofree float *grad = g_new (float, n * k);
  double value = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_loss_compute (&loss, &value, grad, logits, labels, targets, n, k, 1.0f,
                                    &error));
  g_assert_no_error (error);
  check_close (name, 0, value, get_double (cfg, "loss"), 1e-5, 0);
  g_autofree char *what = g_strdup_printf ("%s: dlogits", name);
  hone_test_assert_close (what, grad, grad_want, n * k, 1e-5, 1e-7);
}

/* ---- main -------------------------------------------------------------- */

static JsonParser *
load (const char *path)
{
  JsonParser *parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("cannot read the PyTorch fixtures %s: %s", path, error->message);
  return parser;
}

static void
add_each (JsonParser *parser, const char *member, const char *prefix, GTestDataFunc func)
{
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *a = json_object_get_array_member (root, member);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *cfg = json_array_get_object_element (a, i);
      g_autofree char *path = g_strdup_printf ("%s/%s", prefix,
                                               json_object_get_string_member (cfg, "name"));
      g_test_add_data_func (path, cfg, func);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const char *const names[3] = {
    "parity-optim.json", "parity-schedule.json", "parity-loss.json",
  };
  for (int i = 1; i < argc; i++)
    for (int f = 0; f < 3; f++)
      if (g_str_has_suffix (argv[i], names[f]))
        fixtures[f] = load (argv[i]);
  for (int f = 0; f < 3; f++)
    if (!fixtures[f])
      {
        g_printerr ("usage: %s parity-optim.json parity-schedule.json parity-loss.json\n"
                    "(made by tests/parity/make_optim_fixtures.py)\n", argv[0]);
        return 2;
      }

  add_each (fixtures[0], "configs", "/parity/optim", test_optimizer);
  add_each (fixtures[1], "configs", "/parity/schedule", test_schedule);
  add_each (fixtures[1], "plateau", "/parity/plateau", test_plateau);
  add_each (fixtures[2], "cases", "/parity/loss", test_loss);
  int ret = g_test_run ();
  for (int f = 0; f < 3; f++)
    g_object_unref (fixtures[f]);
  return ret;
}
