/* test-train-step.c: the training step on a small MLP: accumulation over k
 * micro-batches equals one k-times-larger batch, divergence leaves the
 * model untouched, frozen layers stay bit-identical, a toy problem is
 * learned, and the errors.
 *
 * The MLP's linear layers are a naive op defined here (y = x W^T + b), so
 * this test depends only on the executor and the ReLU op. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

/* ---- a naive linear layer: x (N, I), W (O, I), b (O) -> y (N, O) -------- */

static gboolean
linear_infer (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  if (node->n_in != 3 || in[0].rank != 2 || in[1].rank != 2 || in[1].d[1] != in[0].d[1])
    {
      hone_op_set_shape_error (error, node, "expects x (N, I), W (O, I), b (O)");
      return FALSE;
    }
  out[0] = HONE_SHAPE (in[0].d[0], in[1].d[0]);
  return TRUE;
}

static void
linear_forward (const HoneOpCtx *ctx)
{
  const float *x = ctx->in[0].data, *w = ctx->in[1].data, *b = ctx->in[2].data;
  float *y = ctx->out[0].data;
  int64_t n = ctx->in[0].shape.d[0], ni = ctx->in[0].shape.d[1], no = ctx->in[1].shape.d[0];
  for (int64_t s = 0; s < n; s++)
    for (int64_t o = 0; o < no; o++)
      {
        double acc = b[o];
        for (int64_t i = 0; i < ni; i++)
          acc += (double) x[s * ni + i] * w[o * ni + i];
        y[s * no + o] = (float) acc;
      }
}

static void
linear_backward (const HoneOpCtx *ctx)
{
  const float *x = ctx->in[0].data, *w = ctx->in[1].data, *dy = ctx->dout[0].data;
  float *dx = ctx->din[0].data, *dw = ctx->din[1].data, *db = ctx->din[2].data;
  int64_t n = ctx->in[0].shape.d[0], ni = ctx->in[0].shape.d[1], no = ctx->in[1].shape.d[0];
  for (int64_t s = 0; s < n; s++)
    for (int64_t o = 0; o < no; o++)
      {
        float g = dy[s * no + o];
        if (db)
          db[o] += g;
        for (int64_t i = 0; i < ni; i++)
          {
            if (dw)
              dw[o * ni + i] += g * x[s * ni + i];
            if (dx)
              dx[s * ni + i] += g * w[o * ni + i];
          }
      }
}

static const HoneOpClass test_linear = {
  .name = "TestLinear",
  .keep_inputs = (1u << 0) | (1u << 1),
  .infer_shape = linear_infer,
  .forward = linear_forward,
  .backward = linear_backward,
};

#define IN 4
#define HIDDEN 8
#define CLASSES 3

typedef struct
{
  HoneGraph *g;
  int x, logits;
  int w1, b1, w2, b2;
} Mlp;

static int
add_linear (HoneGraph *g, const char *name, int x, int in, int out, int *w, int *b)
{
  g_autofree char *wn = g_strdup_printf ("%s.weight", name);
  g_autofree char *bn = g_strdup_printf ("%s.bias", name);
  HoneShape ws = HONE_SHAPE (out, in), bs = HONE_SHAPE (out);
  *w = hone_graph_add_param (g, wn, &ws, NULL);
  *b = hone_graph_add_param (g, bn, &bs, NULL);
  float *wd = hone_graph_value_data (g, *w), *bd = hone_graph_value_data (g, *b);
  for (int i = 0; i < out * in; i++)
    wd[i] = (float) (0.6 * sin (1.7 * i + in));
  for (int i = 0; i < out; i++)
    bd[i] = (float) (0.1 * cos (0.9 * i));
  int ids[3] = { x, *w, *b };
  return hone_graph_add_node (g, &test_linear, NULL, name, ids, 3, 1, NULL, NULL);
}

static void
mlp_init (Mlp *m, int max_batch)
{
  g_autoptr (GError) error = NULL;
  m->g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (IN);
  m->x = hone_graph_add_input (m->g, "x", &s, &error);
  int h = add_linear (m->g, "fc1", m->x, IN, HIDDEN, &m->w1, &m->b1);
  h = hone_graph_relu (m->g, "relu", h, &error);
  m->logits = add_linear (m->g, "fc2", h, HIDDEN, CLASSES, &m->w2, &m->b2);
  g_assert_cmpint (m->logits, >=, 0);
  hone_graph_add_output (m->g, m->logits);
  g_assert_true (hone_graph_plan (m->g, max_batch, TRUE, &error));
  g_assert_no_error (error);
}

static void
mlp_clear (Mlp *m)
{
  g_clear_pointer (&m->g, hone_graph_free);
}

/* Sample i of a fixed data set whose label is the largest of three linear
 * functions of x: learnable by the MLP. */
static void
sample (int i, float *x, int32_t *label)
{
  double score[CLASSES] = { 0 };
  for (int k = 0; k < IN; k++)
    {
      x[k] = (float) sin (2.3 * i + 1.9 * k + 0.5 * i * k);
      score[0] += x[k] * (k - 1.5);
      score[1] += x[k] * (k % 2 ? 1.0 : -1.0);
      score[2] += x[k] * (1.5 - k) * 0.7;
    }
  int best = 0;
  for (int k = 1; k < CLASSES; k++)
    if (score[k] > score[best])
      best = k;
  *label = best;
}

static void
fill_batch (Mlp *m, int first, int n, int32_t *labels)
{
  float *x = hone_graph_input_data (m->g, m->x);
  for (int i = 0; i < n; i++)
    sample (first + i, x + i * IN, &labels[i]);
}

static void
assert_params_close (Mlp *a, Mlp *b, double rtol)
{
  const int ids[4] = { a->w1, a->b1, a->w2, a->b2 };
  for (int j = 0; j < 4; j++)
    {
      const HoneValue *v = hone_graph_value (a->g, ids[j]);
      hone_test_assert_close (v->name, hone_graph_value_data (a->g, ids[j]),
                              hone_graph_value_data (b->g, ids[j]), hone_shape_numel (&v->shape),
                              rtol, 1e-6);
    }
}

/* ---- tests ------------------------------------------------------------- */

static void
check_accumulation (HoneOptimKind kind)
{
  const int k = 3, micro = 4;
  Mlp big, small;
  mlp_init (&big, k * micro);
  mlp_init (&small, micro);
  HoneOptimConfig c;
  hone_optim_config_init (&c, kind);
  c.momentum = kind == HONE_OPTIM_SGD ? 0.9 : 0.0;
  c.weight_decay = 1e-3;
  c.clip_norm = 5.0;
  HoneLoss loss;
  hone_loss_init (&loss);
  loss.label_smoothing = 0.1;
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOptimizer) ob = hone_optimizer_new (big.g, &c, &error);
  g_autoptr (HoneOptimizer) os = hone_optimizer_new (small.g, &c, &error);
  g_autoptr (HoneTrainStep) tb = hone_train_step_new (big.g, ob, &loss, 1, &error);
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (small.g, os, &loss, k, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_train_step_accum (ts), ==, k);

  for (int window = 0; window < 4; window++)
    {
      int32_t labels[12];
      int first = window * k * micro;
      fill_batch (&big, first, k * micro, labels);
      HoneTrainStepResult rb;
      g_assert_true (hone_train_step_run (tb, k * micro, labels, NULL, 0.05, &rb, &error));
      g_assert_no_error (error);
      g_assert_true (rb.updated);

      double mean = 0;
      int64_t correct = 0;
      for (int i = 0; i < k; i++)
        {
          int32_t ml[4];
          fill_batch (&small, first + i * micro, micro, ml);
          HoneTrainStepResult rs;
          g_assert_cmpint (hone_train_step_pending (ts), ==, i);
          g_assert_true (hone_train_step_run (ts, micro, ml, NULL, 0.05, &rs, &error));
          g_assert_no_error (error);
          g_assert_cmpint (rs.updated, ==, i == k - 1);
          mean += rs.loss / k;
          correct += rs.correct;
        }
      g_assert_cmpint (hone_train_step_pending (ts), ==, 0);
      g_assert_cmpfloat_with_epsilon (mean, rb.loss, 1e-6);
      g_assert_cmpint (correct, ==, rb.correct);
      assert_params_close (&big, &small, 1e-5);
      g_assert_cmpint (hone_optimizer_n_steps (os), ==, window + 1);
    }
  mlp_clear (&big);
  mlp_clear (&small);
}

static void
test_accumulation_sgd (void)
{
  check_accumulation (HONE_OPTIM_SGD);
}

static void
test_accumulation_adam (void)
{
  check_accumulation (HONE_OPTIM_ADAMW);
}

/* Gradients are zeroed after the update: the next window starts clean. */
static void
test_zeroed_after_update (void)
{
  Mlp m;
  mlp_init (&m, 4);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  HoneLoss loss;
  hone_loss_init (&loss);
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  /* stale gradients from before are cleared by _new */
  hone_graph_grad (m.g, m.w2)[0] = 100.0f;
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (m.g, opt, &loss, 1, NULL);
  g_assert_cmpfloat (hone_graph_grad (m.g, m.w2)[0], ==, 0.0f);
  int32_t labels[4];
  fill_batch (&m, 0, 4, labels);
  g_assert_true (hone_train_step_run (ts, 4, labels, NULL, 0.1, NULL, NULL));
  const int ids[4] = { m.w1, m.b1, m.w2, m.b2 };
  for (int j = 0; j < 4; j++)
    {
      const HoneValue *v = hone_graph_value (m.g, ids[j]);
      const float *grad = hone_graph_grad (m.g, ids[j]);
      for (int64_t i = 0; i < hone_shape_numel (&v->shape); i++)
        g_assert_cmpfloat (grad[i], ==, 0.0f);
    }
  mlp_clear (&m);
}

static void
snapshot_params (Mlp *m, float **out, int64_t *n)
{
  const HoneValue *last = hone_graph_value (m->g, m->b2);
  *n = last->offset + hone_shape_numel (&last->shape);
  *out = g_memdup2 (hone_graph_params (m->g), *n * sizeof (float));
}

static void
assert_unchanged (Mlp *m, HoneOptimizer *opt, const float *params, int64_t n,
                  const float *moments, int64_t n_moments, int64_t n_steps)
{
  g_assert_cmpmem (hone_graph_params (m->g), n * sizeof (float), params, n * sizeof (float));
  int64_t nm;
  const float *now = hone_optimizer_moments (opt, &nm);
  g_assert_cmpmem (now, nm * sizeof (float), moments, n_moments * sizeof (float));
  g_assert_cmpint (hone_optimizer_n_steps (opt), ==, n_steps);
}

/* A non-finite loss or gradient: FALSE with HONE_ERROR_DIVERGED, the window thrown
 * away, weights and optimizer state as they were. */
static void
test_diverged (void)
{
  Mlp m;
  mlp_init (&m, 4);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  HoneLoss loss;
  hone_loss_init (&loss);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (m.g, opt, &loss, 2, NULL);
  int32_t labels[4];

  /* one good window */
  for (int i = 0; i < 2; i++)
    {
      fill_batch (&m, 4 * i, 4, labels);
      g_assert_true (hone_train_step_run (ts, 4, labels, NULL, 0.01, NULL, &error));
    }
  g_autofree float *before = NULL;
  int64_t n;
  snapshot_params (&m, &before, &n);
  int64_t n_moments;
  float *moments = hone_optimizer_moments (opt, &n_moments);
  g_autofree float *moments_before = g_memdup2 (moments, n_moments * sizeof (float));

  /* A good micro-batch, then one whose loss is not finite (a NaN bias in
   * the last layer): the window is thrown away at once. */
  fill_batch (&m, 8, 4, labels);
  g_assert_true (hone_train_step_run (ts, 4, labels, NULL, 0.01, NULL, &error));
  g_assert_cmpint (hone_train_step_pending (ts), ==, 1);
  fill_batch (&m, 12, 4, labels);
  float *b2 = hone_graph_value_data (m.g, m.b2);
  float keep = b2[1];
  b2[1] = NAN;
  HoneTrainStepResult r;
  g_assert_false (hone_train_step_run (ts, 4, labels, NULL, 0.01, &r, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_DIVERGED);
  g_assert_nonnull (strstr (error->message, "the loss is"));
  g_assert_false (isfinite (r.loss));
  g_assert_false (r.updated);
  g_clear_error (&error);
  b2[1] = keep;
  assert_unchanged (&m, opt, before, n, moments_before, n_moments, 1);
  g_assert_cmpint (hone_train_step_pending (ts), ==, 0);
  g_assert_cmpfloat (hone_graph_grad (m.g, m.w1)[0], ==, 0.0f);

  /* A NaN input: ReLU passes NaN through (as torch.relu does), so the loss
   * is not finite and the window is thrown away. */
  fill_batch (&m, 8, 4, labels);
  g_assert_true (hone_train_step_run (ts, 4, labels, NULL, 0.01, NULL, &error));
  fill_batch (&m, 12, 4, labels);
  hone_graph_input_data (m.g, m.x)[5] = NAN;
  g_assert_false (hone_train_step_run (ts, 4, labels, NULL, 0.01, &r, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_DIVERGED);
  g_assert_nonnull (strstr (error->message, "the loss is"));
  g_assert_false (r.updated);
  g_clear_error (&error);
  assert_unchanged (&m, opt, before, n, moments_before, n_moments, 1);
  g_assert_cmpint (hone_train_step_pending (ts), ==, 0);
  g_assert_cmpfloat (hone_graph_grad (m.g, m.w1)[0], ==, 0.0f);

  /* the run goes on afterwards */
  for (int i = 0; i < 2; i++)
    {
      fill_batch (&m, 16 + 4 * i, 4, labels);
      g_assert_true (hone_train_step_run (ts, 4, labels, NULL, 0.01, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (hone_optimizer_n_steps (opt), ==, 2);

  /* an invalid lr also throws the window away and changes nothing */
  g_clear_pointer (&before, g_free);
  snapshot_params (&m, &before, &n);
  fill_batch (&m, 0, 4, labels);
  g_assert_true (hone_train_step_run (ts, 4, labels, NULL, -1, NULL, &error));
  g_assert_false (hone_train_step_run (ts, 4, labels, NULL, -1, NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_cmpmem (hone_graph_params (m.g), n * sizeof (float), before, n * sizeof (float));
  mlp_clear (&m);
}

/* Frozen fc1: bit-identical after training, and it runs no backward. */
static void
test_frozen (void)
{
  Mlp m;
  mlp_init (&m, 8);
  hone_graph_set_trainable (m.g, m.w1, FALSE);
  hone_graph_set_trainable (m.g, m.b1, FALSE);
  g_assert_true (hone_graph_plan (m.g, 8, TRUE, NULL));
  g_autofree float *w1 = g_memdup2 (hone_graph_value_data (m.g, m.w1),
                                    IN * HIDDEN * sizeof (float));
  g_autofree float *b1 = g_memdup2 (hone_graph_value_data (m.g, m.b1), HIDDEN * sizeof (float));
  g_autofree float *w2 = g_memdup2 (hone_graph_value_data (m.g, m.w2),
                                    HIDDEN * CLASSES * sizeof (float));
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_ADAMW);
  c.weight_decay = 0.1;
  HoneLoss loss;
  hone_loss_init (&loss);
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (m.g, opt, &loss, 1, NULL);
  for (int t = 0; t < 20; t++)
    {
      int32_t labels[8];
      fill_batch (&m, 8 * t, 8, labels);
      g_assert_true (hone_train_step_run (ts, 8, labels, NULL, 0.01, NULL, NULL));
    }
  g_assert_false (hone_graph_node_runs_backward (m.g, 0));
  g_assert_cmpmem (hone_graph_value_data (m.g, m.w1), IN * HIDDEN * sizeof (float), w1,
                   IN * HIDDEN * sizeof (float));
  g_assert_cmpmem (hone_graph_value_data (m.g, m.b1), HIDDEN * sizeof (float), b1,
                   HIDDEN * sizeof (float));
  g_assert_cmpint (memcmp (hone_graph_value_data (m.g, m.w2), w2,
                           HIDDEN * CLASSES * sizeof (float)), !=, 0);
  mlp_clear (&m);
}

/* The MLP learns the toy problem: loss falls, accuracy rises. */
static void
test_learns (void)
{
  const int batch = 16;
  Mlp m;
  mlp_init (&m, batch);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_ADAM);
  HoneLoss loss;
  hone_loss_init (&loss);
  loss.kind = HONE_LOSS_FOCAL;
  loss.focal_gamma = 1.0;
  HoneSchedule s;
  hone_schedule_init (&s, HONE_SCHEDULE_COSINE, 0.03);
  s.t_max = 300;
  s.warmup = HONE_WARMUP_LINEAR;
  s.warmup_steps = 10;
  g_assert_true (hone_schedule_validate (&s, NULL));
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (m.g, opt, &loss, 1, NULL);
  double first = 0, last = 0, acc = 0;
  for (int t = 0; t < 300; t++)
    {
      int32_t labels[16];
      fill_batch (&m, (t * batch) % 512, batch, labels);
      HoneTrainStepResult r;
      g_assert_true (hone_train_step_run (ts, batch, labels, NULL,
                                          hone_schedule_lr (&s, hone_optimizer_n_steps (opt)),
                                          &r, NULL));
      if (t < 10)
        first += r.loss / 10;
      if (t >= 290)
        {
          last += r.loss / 10;
          acc += r.accuracy / 10;
        }
    }
  g_test_message ("loss %.4f -> %.4f, accuracy %.3f", first, last, acc);
  g_assert_cmpfloat (last, <, 0.3 * first);
  g_assert_cmpfloat (acc, >, 0.85);
  mlp_clear (&m);
}

/* Soft targets (mixup): one-hot targets give the labels' loss and update. */
static void
test_soft_targets (void)
{
  Mlp a, b;
  mlp_init (&a, 4);
  mlp_init (&b, 4);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  HoneLoss loss;
  hone_loss_init (&loss);
  g_autoptr (HoneOptimizer) oa = hone_optimizer_new (a.g, &c, NULL);
  g_autoptr (HoneOptimizer) ob = hone_optimizer_new (b.g, &c, NULL);
  g_autoptr (HoneTrainStep) ta = hone_train_step_new (a.g, oa, &loss, 1, NULL);
  g_autoptr (HoneTrainStep) tb = hone_train_step_new (b.g, ob, &loss, 1, NULL);
  int32_t labels[4];
  fill_batch (&a, 0, 4, labels);
  fill_batch (&b, 0, 4, labels);
  float targets[4 * CLASSES] = { 0 };
  for (int i = 0; i < 4; i++)
    targets[i * CLASSES + labels[i]] = 1.0f;
  HoneTrainStepResult ra, rb;
  g_assert_true (hone_train_step_run (ta, 4, labels, NULL, 0.1, &ra, NULL));
  g_assert_true (hone_train_step_run (tb, 4, NULL, targets, 0.1, &rb, NULL));
  g_assert_cmpfloat_with_epsilon (ra.loss, rb.loss, 1e-12);
  g_assert_cmpint (ra.correct, ==, rb.correct);
  assert_params_close (&a, &b, 1e-6);
  mlp_clear (&a);
  mlp_clear (&b);
}

static void
test_errors (void)
{
  Mlp m;
  mlp_init (&m, 4);
  HoneOptimConfig c;
  hone_optim_config_init (&c, HONE_OPTIM_SGD);
  HoneLoss loss;
  hone_loss_init (&loss);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (m.g, &c, NULL);

  g_assert_null (hone_train_step_new (m.g, opt, &loss, 0, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "train.accumulation = 0"));
  g_clear_error (&error);

  loss.label_smoothing = 2;
  g_assert_null (hone_train_step_new (m.g, opt, &loss, 1, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "loss.label_smoothing"));
  g_clear_error (&error);

  /* class weights are copied and checked against the output's K */
  hone_loss_init (&loss);
  float weights[CLASSES] = { 1, -1, 1 };
  loss.class_weights = weights;
  g_assert_null (hone_train_step_new (m.g, opt, &loss, 1, &error));
  g_assert_nonnull (strstr (error->message, "loss.class_weights[1]"));
  g_clear_error (&error);
  weights[1] = 2;
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (m.g, opt, &loss, 2, &error);
  g_assert_no_error (error);
  weights[1] = -5;   /* the step kept its own copy */

  int32_t labels[4];
  fill_batch (&m, 0, 4, labels);
  g_assert_true (hone_train_step_run (ts, 4, labels, NULL, 0.1, NULL, &error));
  g_assert_no_error (error);
  g_autofree float *before = NULL;
  int64_t n;
  snapshot_params (&m, &before, &n);
  labels[2] = CLASSES;
  g_assert_false (hone_train_step_run (ts, 4, labels, NULL, 0.1, NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "label 3 of sample 2"));
  g_assert_cmpint (hone_train_step_pending (ts), ==, 1);   /* the window goes on */
  g_assert_cmpmem (hone_graph_params (m.g), n * sizeof (float), before, n * sizeof (float));
  g_clear_error (&error);

  hone_train_step_discard (ts);
  g_assert_cmpint (hone_train_step_pending (ts), ==, 0);

  /* not planned with backward */
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (3);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  hone_graph_add_output (g, hone_graph_relu (g, "r", x, NULL));
  g_assert_true (hone_graph_plan (g, 2, FALSE, NULL));
  g_autoptr (HoneOptimizer) o2 = hone_optimizer_new (g, &c, NULL);
  hone_loss_init (&loss);
  g_assert_null (hone_train_step_new (g, o2, &loss, 1, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "backward"));
  mlp_clear (&m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/train-step/accumulation/sgd", test_accumulation_sgd);
  g_test_add_func ("/engine/train-step/accumulation/adamw", test_accumulation_adam);
  g_test_add_func ("/engine/train-step/zeroed-after-update", test_zeroed_after_update);
  g_test_add_func ("/engine/train-step/diverged", test_diverged);
  g_test_add_func ("/engine/train-step/frozen", test_frozen);
  g_test_add_func ("/engine/train-step/learns", test_learns);
  g_test_add_func ("/engine/train-step/soft-targets", test_soft_targets);
  g_test_add_func ("/engine/train-step/errors", test_errors);
  return g_test_run ();
}
