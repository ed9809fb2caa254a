/* hone-optim.c: SGD, Adam and AdamW updates over the parameter arena.
 *
 * A step makes two passes over the trainable parameters.  The first checks
 * every gradient is finite and sums the squares of the effective gradients
 * (for clipping and for the reported norm); it writes nothing, so a bad
 * gradient leaves the model and the moments as they were.  The second
 * applies the update and, for hone_optimizer_step_and_zero, clears each
 * block's gradient while it is still in cache.  Both passes run one
 * parallel loop over fixed blocks of all trainable tensors together (not
 * one loop per tensor, which costs a thread hand-off per small bias) and
 * add the blocks' partial sums in order, so the result does not depend on
 * the thread count.
 *
 * Elementwise arithmetic is float32 with the scalars (betas, bias
 * corrections, step sizes) computed in double and rounded to float, as
 * torch does when a Python float meets a float tensor.
 *
 * It does not compute gradients, zero them, or pick the learning rate. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-optim.h"
#include "hone-parallel.h"

/* Elements per block of both passes (32 KiB of gradient: the update's
 * memset of a block finds it in L1 or L2). */
#define BLOCK 8192

/* Lanes of the vectorised sum of squares. */
#define SUM_LANES 8

/* One block of one trainable tensor. */
typedef struct
{
  int job;                  /* index into jobs */
  int64_t lo, hi;           /* element range of the tensor */
} Block;

/* One trainable tensor's update, with its scalars for this step. */
typedef struct
{
  const char *name;         /* the parameter's, for errors */
  float *w;                 /* (n) weights, updated */
  float *grad;              /* (n) gradients; zeroed after the update when zero */
  float *m1;                /* (n) momentum_buffer or exp_avg, or NULL */
  float *m2;                /* (n) exp_avg_sq, or NULL */
  float l1;                 /* L1 coefficient */
  float clip;               /* clip_grad_norm_ coefficient (1: none) */
  float lr;                 /* this parameter's lr (lr * lr_mult) */
  float weight_decay;       /* coupled weight decay (SGD, Adam) */
  float decay;              /* AdamW: 1 - lr * weight_decay */
  float momentum, one_minus_dampening;
  gboolean nesterov, first;
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float neg_step_size;      /* Adam: -lr / (1 - beta1^t) */
  float bias_correction2_sqrt;
  float eps;
} UpdateJob;

struct _HoneOptimizer
{
  HoneGraph *graph;             /* not owned */
  HoneOptimConfig config;
  int n_values;                 /* values of the graph when the optimizer was made */
  int n_params;
  int *params;                  /* (n_params) PARAM value ids, in graph order */
  int64_t arena;                /* floats spanned by the parameter arena */
  int n_moments;
  float *moments;               /* (n_moments, arena), 64-byte aligned */
  int64_t *param_steps;         /* (n_values), by value id */
  int64_t n_steps;
  double last_norm;
  int64_t max_blocks;           /* blocks of all parameters */
  Block *blocks;                /* (max_blocks) this step's blocks */
  double *block_sum;            /* (max_blocks) scratch for the gradient check */
  int64_t *block_bad;           /* (max_blocks) first non-finite index, or -1 */
  UpdateJob *jobs;              /* (n_params) this step's per-tensor updates */
};

void
hone_optim_config_init (HoneOptimConfig *config, HoneOptimKind kind)
{
  g_return_if_fail (config != NULL);
  /* https://pytorch.org/docs/1.13/generated/torch.optim.SGD.html,
   * .../torch.optim.Adam.html, .../torch.optim.AdamW.html */
  *config = (HoneOptimConfig) {
    .kind = kind,
    .momentum = 0.0,
    .dampening = 0.0,
    .nesterov = FALSE,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .eps = 1e-8,
    .weight_decay = kind == HONE_OPTIM_ADAMW ? 1e-2 : 0.0,
    .l1 = 0.0,
    .clip_norm = 0.0,
  };
}

static gboolean
out_of_range (GError **error, const char *setting, double value, const char *range)
{
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "optimizer.%s = %g is out of range: use %s", setting, value, range);
  return FALSE;
}

gboolean
hone_optim_config_validate (const HoneOptimConfig *c, GError **error)
{
  g_return_val_if_fail (c != NULL, FALSE);
  if (c->kind != HONE_OPTIM_SGD && c->kind != HONE_OPTIM_ADAM && c->kind != HONE_OPTIM_ADAMW)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "optimizer.kind = %d is not a known optimizer: use SGD, Adam or AdamW",
                   (int) c->kind);
      return FALSE;
    }
  if (!(c->weight_decay >= 0.0 && isfinite (c->weight_decay)))
    return out_of_range (error, "weight_decay", c->weight_decay, "0 or more (0 is off)");
  if (!(c->l1 >= 0.0 && isfinite (c->l1)))
    return out_of_range (error, "l1", c->l1, "0 or more (0 is off)");
  if (!(c->clip_norm >= 0.0 && isfinite (c->clip_norm)))
    return out_of_range (error, "clip_norm", c->clip_norm, "0 or more (0 is off)");
  if (c->kind == HONE_OPTIM_SGD)
    {
      if (!(c->momentum >= 0.0 && c->momentum < 1.0))
        return out_of_range (error, "momentum", c->momentum,
                             "0 or more and less than 1 (0.9 is usual)");
      if (!(c->dampening >= 0.0 && c->dampening <= 1.0))
        return out_of_range (error, "dampening", c->dampening, "0 to 1");
      if (c->nesterov && (c->momentum == 0.0 || c->dampening != 0.0))
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "optimizer.nesterov needs optimizer.momentum above 0 (it is %g) and "
                       "optimizer.dampening 0 (it is %g)", c->momentum, c->dampening);
          return FALSE;
        }
    }
  else
    {
      if (!(c->beta1 >= 0.0 && c->beta1 < 1.0))
        return out_of_range (error, "beta1", c->beta1, "0 or more and less than 1 (0.9 is usual)");
      if (!(c->beta2 >= 0.0 && c->beta2 < 1.0))
        return out_of_range (error, "beta2", c->beta2,
                             "0 or more and less than 1 (0.999 is usual)");
      if (!(c->eps > 0.0 && isfinite (c->eps)))
        return out_of_range (error, "eps", c->eps, "a small positive value such as 1e-8");
    }
  return TRUE;
}

HoneOptimizer *
hone_optimizer_new (HoneGraph *g, const HoneOptimConfig *config, GError **error)
{
  g_return_val_if_fail (g != NULL && config != NULL, NULL);
  if (!hone_optim_config_validate (config, error))
    return NULL;

  HoneOptimizer *opt = g_new0 (HoneOptimizer, 1);
  opt->graph = g;
  opt->config = *config;
  opt->n_values = hone_graph_n_values (g);
  opt->params = g_new0 (int, MAX (opt->n_values, 1));
  opt->param_steps = g_new0 (int64_t, MAX (opt->n_values, 1));
  int64_t max_blocks = 1;
  for (int i = 0; i < opt->n_values; i++)
    {
      const HoneValue *v = hone_graph_value (g, i);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      int64_t n = hone_shape_numel (&v->shape);
      opt->params[opt->n_params++] = i;
      opt->arena = MAX (opt->arena, v->offset + n);
      max_blocks += (n + BLOCK - 1) / BLOCK;
    }

  if (config->kind == HONE_OPTIM_SGD)
    opt->n_moments = config->momentum != 0.0 ? 1 : 0;
  else
    opt->n_moments = 2;
  if (opt->n_moments && opt->arena)
    opt->moments = g_aligned_alloc0 ((gsize) opt->n_moments * (gsize) opt->arena,
                                     sizeof (float), 64);
  opt->max_blocks = max_blocks;
  opt->blocks = g_new (Block, max_blocks);
  opt->block_sum = g_new (double, max_blocks);
  opt->block_bad = g_new (int64_t, max_blocks);
  opt->jobs = g_new0 (UpdateJob, MAX (opt->n_params, 1));
  return opt;
}

void
hone_optimizer_free (HoneOptimizer *opt)
{
  if (opt == NULL)
    return;
  g_free (opt->params);
  g_free (opt->param_steps);
  g_aligned_free (opt->moments);
  g_free (opt->blocks);
  g_free (opt->block_sum);
  g_free (opt->block_bad);
  g_free (opt->jobs);
  g_free (opt);
}

/* ---- pass 1: finite check and norm ------------------------------------- */

static inline float
sign_of (float x)
{
  return (float) ((x > 0.0f) - (x < 0.0f));
}

/* Sum over [lo, hi) of e^2 in double, e = g + l1 sign (w), in SUM_LANES
 * partial sums that the compiler keeps in vector registers (a single running
 * sum cannot be vectorised without reassociating).  A finite float squared
 * is finite in double, so the sum is finite unless some e is not. */
static double
sum_squares (const float *restrict g, const float *restrict w, float l1, int64_t lo, int64_t hi)
{
  double part[SUM_LANES] = { 0 };
  int64_t i = lo;
  if (l1 == 0.0f)
    for (; i + SUM_LANES <= hi; i += SUM_LANES)
      for (int k = 0; k < SUM_LANES; k++)
        part[k] += (double) g[i + k] * (double) g[i + k];
  else
    for (; i + SUM_LANES <= hi; i += SUM_LANES)
      for (int k = 0; k < SUM_LANES; k++)
        {
          float e = g[i + k] + l1 * sign_of (w[i + k]);
          part[k] += (double) e * (double) e;
        }
  for (int k = 0; i < hi; i++, k++)
    {
      float e = g[i] + l1 * sign_of (w[i]);
      part[k] += (double) e * (double) e;
    }
  double sum = 0.0;
  for (int k = 0; k < SUM_LANES; k++)
    sum += part[k];
  return sum;
}

static void
norm_blocks (int64_t begin, int64_t end, gpointer user_data)
{
  HoneOptimizer *opt = user_data;
  for (int64_t b = begin; b < end; b++)
    {
      const Block *blk = &opt->blocks[b];
      const UpdateJob *job = &opt->jobs[blk->job];
      double sum = sum_squares (job->grad, job->w, job->l1, blk->lo, blk->hi);
      int64_t bad = -1;
      if (!isfinite (sum))
        for (int64_t i = blk->lo; i < blk->hi && bad < 0; i++)
          if (!isfinite (job->grad[i]))
            bad = i;
      opt->block_sum[b] = sum;
      opt->block_bad[b] = bad;
    }
}

/* ---- pass 2: the updates ------------------------------------------------ */

/* The loops copy the scalars into locals first: the weights are floats too,
 * so the compiler could not otherwise keep them in registers.  Adding
 * l1 * sign (w) with l1 = 0, or multiplying by a clip coefficient of 1, is
 * exact, so the loops apply both unconditionally; the choices that do
 * change the arithmetic (first step, Nesterov) pick a loop, so that each
 * loop body is branch-free and vectorises. */

/* torch.optim.SGD, https://pytorch.org/docs/1.13/generated/torch.optim.SGD.html:
 *   g = g + weight_decay * w
 *   b = g on the first step, else momentum * b + (1 - dampening) * g
 *   g = g + momentum * b (Nesterov), or b
 *   w = w - lr * g */
static void
sgd_update (const UpdateJob *job, int64_t begin, int64_t end)
{
  float *restrict w = job->w;
  const float *restrict grad = job->grad;
  float *restrict buf = job->m1;
  const float l1 = job->l1, clip = job->clip, neg_lr = -job->lr, wd = job->weight_decay;
  const float momentum = job->momentum, one_minus_dampening = job->one_minus_dampening;

  if (!buf)
    {
      for (int64_t i = begin; i < end; i++)
        {
          float d = (grad[i] + l1 * sign_of (w[i])) * clip;
          d = d + wd * w[i];
          w[i] = w[i] + neg_lr * d;
        }
      return;
    }
  if (job->first && job->nesterov)
    for (int64_t i = begin; i < end; i++)
      {
        float d = (grad[i] + l1 * sign_of (w[i])) * clip;
        d = d + wd * w[i];
        buf[i] = d;
        w[i] = w[i] + neg_lr * (d + momentum * d);
      }
  else if (job->first)
    for (int64_t i = begin; i < end; i++)
      {
        float d = (grad[i] + l1 * sign_of (w[i])) * clip;
        d = d + wd * w[i];
        buf[i] = d;
        w[i] = w[i] + neg_lr * d;
      }
  else if (job->nesterov)
    for (int64_t i = begin; i < end; i++)
      {
        float d = (grad[i] + l1 * sign_of (w[i])) * clip;
        d = d + wd * w[i];
        float b = buf[i] * momentum + one_minus_dampening * d;
        buf[i] = b;
        w[i] = w[i] + neg_lr * (d + momentum * b);
      }
  else
    for (int64_t i = begin; i < end; i++)
      {
        float d = (grad[i] + l1 * sign_of (w[i])) * clip;
        d = d + wd * w[i];
        float b = buf[i] * momentum + one_minus_dampening * d;
        buf[i] = b;
        w[i] = w[i] + neg_lr * b;
      }
}

/* torch.optim.Adam and AdamW (amsgrad off),
 * https://pytorch.org/docs/1.13/generated/torch.optim.Adam.html and
 * https://pytorch.org/docs/1.13/generated/torch.optim.AdamW.html:
 *   AdamW: w = w (1 - lr weight_decay);  Adam: g = g + weight_decay * w
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g^2
 *   w = w - lr / (1 - beta1^t) * m / (sqrt (v) / sqrt (1 - beta2^t) + eps) */
static void
adam_update (const UpdateJob *job, int64_t begin, int64_t end)
{
  float *restrict w = job->w;
  const float *restrict grad = job->grad;
  float *restrict m = job->m1;
  float *restrict v = job->m2;
  const float l1 = job->l1, clip = job->clip, wd = job->weight_decay, decay = job->decay;
  const float beta1 = job->beta1, one_minus_beta1 = job->one_minus_beta1;
  const float beta2 = job->beta2, one_minus_beta2 = job->one_minus_beta2;
  const float neg_step_size = job->neg_step_size, bc2_sqrt = job->bias_correction2_sqrt;
  const float eps = job->eps;

  for (int64_t i = begin; i < end; i++)
    {
      float d = (grad[i] + l1 * sign_of (w[i])) * clip;
      float wi = w[i] * decay;
      d = d + wd * wi;
      float mi = m[i] * beta1 + one_minus_beta1 * d;
      float vi = v[i] * beta2 + one_minus_beta2 * d * d;
      m[i] = mi;
      v[i] = vi;
      float denom = sqrtf (vi) / bc2_sqrt + eps;
      w[i] = wi + neg_step_size * mi / denom;
    }
}

typedef struct
{
  HoneOptimizer *opt;
  gboolean zero;            /* clear each block's gradient after its update */
} UpdatePass;

static void
update_blocks (int64_t begin, int64_t end, gpointer user_data)
{
  const UpdatePass *pass = user_data;
  const HoneOptimizer *opt = pass->opt;
  gboolean sgd = opt->config.kind == HONE_OPTIM_SGD;
  for (int64_t b = begin; b < end; b++)
    {
      const Block *blk = &opt->blocks[b];
      const UpdateJob *job = &opt->jobs[blk->job];
      if (sgd)
        sgd_update (job, blk->lo, blk->hi);
      else
        adam_update (job, blk->lo, blk->hi);
      if (pass->zero)
        memset (job->grad + blk->lo, 0, (gsize) (blk->hi - blk->lo) * sizeof (float));
    }
}

static gboolean
check_graph (HoneOptimizer *opt, GError **error)
{
  HoneGraph *g = opt->graph;
  int nv = hone_graph_n_values (g);
  for (int i = opt->n_values; i < nv; i++)
    if (hone_graph_value (g, i)->kind == HONE_VALUE_PARAM)
      {
        g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                     "parameter '%s' was added to the model after its optimizer was "
                     "made: make a new optimizer", hone_graph_value (g, i)->name);
        return FALSE;
      }
  if (opt->n_params > 0 && hone_graph_grads (g) == NULL)
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "the model has no gradients: plan it for training (with "
                           "backward) before the optimizer steps");
      return FALSE;
    }
  return TRUE;
}

static gboolean
optimizer_step (HoneOptimizer *opt, double lr, gboolean zero, GError **error)
{
  const HoneOptimConfig *c = &opt->config;
  HoneGraph *g = opt->graph;

  if (!(lr >= 0.0 && isfinite (lr)))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "optimizer.lr = %g is out of range: use 0 or more", lr);
      return FALSE;
    }
  if (!check_graph (opt, error))
    return FALSE;

  float *params = hone_graph_params (g);
  float *grads = hone_graph_grads (g);

  /* This step's tensors (each with its scalars, clip still 1) and blocks. */
  int n_jobs = 0;
  int64_t n_blocks = 0;
  for (int p = 0; p < opt->n_params; p++)
    {
      int id = opt->params[p];
      const HoneValue *v = hone_graph_value (g, id);
      if (!v->trainable)
        continue;
      if (!(v->lr_mult >= 0.0f && isfinite (v->lr_mult)))
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "the learning-rate multiplier of '%s' is %g: use 0 or more",
                       v->name, (double) v->lr_mult);
          return FALSE;
        }
      int64_t n = hone_shape_numel (&v->shape);
      double plr = lr * (double) v->lr_mult;
      int64_t t = opt->param_steps[id] + 1;
      opt->jobs[n_jobs] = (UpdateJob) {
        .name = v->name,
        .w = params + v->offset,
        .grad = grads + v->offset,
        .m1 = opt->n_moments >= 1 ? opt->moments + v->offset : NULL,
        .m2 = opt->n_moments >= 2 ? opt->moments + opt->arena + v->offset : NULL,
        .l1 = (float) c->l1,
        .clip = 1.0f,
        .lr = (float) plr,
        .weight_decay = c->kind == HONE_OPTIM_ADAMW ? 0.0f : (float) c->weight_decay,
        .decay = c->kind == HONE_OPTIM_ADAMW ? (float) (1.0 - plr * c->weight_decay) : 1.0f,
        .momentum = (float) c->momentum,
        .one_minus_dampening = (float) (1.0 - c->dampening),
        .nesterov = c->nesterov,
        .first = t == 1,
        .beta1 = (float) c->beta1,
        .one_minus_beta1 = (float) (1.0 - c->beta1),
        .beta2 = (float) c->beta2,
        .one_minus_beta2 = (float) (1.0 - c->beta2),
        .neg_step_size = (float) (-plr / (1.0 - pow (c->beta1, (double) t))),
        .bias_correction2_sqrt = (float) sqrt (1.0 - pow (c->beta2, (double) t)),
        .eps = (float) c->eps,
      };
      for (int64_t lo = 0; lo < n; lo += BLOCK)
        {
          g_assert (n_blocks < opt->max_blocks);
          opt->blocks[n_blocks++] = (Block) { n_jobs, lo, MIN (n, lo + BLOCK) };
        }
      n_jobs++;
    }

  /* Pass 1: everything that can fail, before anything is written. */
  hone_parallel_for (n_blocks, 2, norm_blocks, opt);
  double sumsq = 0.0;
  for (int64_t b = 0; b < n_blocks; b++)
    {
      if (opt->block_bad[b] >= 0)
        {
          const UpdateJob *job = &opt->jobs[opt->blocks[b].job];
          int64_t i = opt->block_bad[b];
          g_set_error (error, HONE_ERROR, HONE_ERROR_DIVERGED,
                       "the gradient of '%s' is %g at element %" G_GINT64_FORMAT
                       ": training diverged, the update was skipped (lower the "
                       "learning rate or enable gradient clipping)",
                       job->name, (double) job->grad[i], i);
          return FALSE;
        }
      sumsq += opt->block_sum[b];
    }
  double norm = sqrt (sumsq);

  /* torch.nn.utils.clip_grad_norm_ (1.13): coef = max_norm / (norm + 1e-6),
   * clamped to at most 1, multiplies every gradient. */
  if (c->clip_norm > 0.0)
    {
      float clip = (float) MIN (1.0, c->clip_norm / (norm + 1e-6));
      for (int j = 0; j < n_jobs; j++)
        opt->jobs[j].clip = clip;
    }

  /* Pass 2: the updates. */
  UpdatePass pass = { opt, zero };
  hone_parallel_for (n_blocks, 2, update_blocks, &pass);
  for (int p = 0; p < opt->n_params; p++)
    if (hone_graph_value (g, opt->params[p])->trainable)
      opt->param_steps[opt->params[p]]++;
  opt->n_steps++;
  opt->last_norm = norm;
  return TRUE;
}

gboolean
hone_optimizer_step (HoneOptimizer *opt, double lr, GError **error)
{
  g_return_val_if_fail (opt != NULL, FALSE);
  return optimizer_step (opt, lr, FALSE, error);
}

gboolean
hone_optimizer_step_and_zero (HoneOptimizer *opt, double lr, GError **error)
{
  g_return_val_if_fail (opt != NULL, FALSE);
  if (optimizer_step (opt, lr, TRUE, error))
    return TRUE;
  hone_graph_zero_grad (opt->graph);
  return FALSE;
}

const HoneOptimConfig *
hone_optimizer_config (const HoneOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, NULL);
  return &opt->config;
}

double
hone_optimizer_last_grad_norm (const HoneOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, 0.0);
  return opt->last_norm;
}

int64_t
hone_optimizer_n_steps (const HoneOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, 0);
  return opt->n_steps;
}

void
hone_optimizer_set_n_steps (HoneOptimizer *opt, int64_t n_steps)
{
  g_return_if_fail (opt != NULL && n_steps >= 0);
  opt->n_steps = n_steps;
}

int
hone_optimizer_n_moments (const HoneOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, 0);
  return opt->n_moments;
}

static gboolean
is_param (const HoneOptimizer *opt, int param)
{
  return param >= 0 && param < opt->n_values
         && hone_graph_value (opt->graph, param)->kind == HONE_VALUE_PARAM;
}

float *
hone_optimizer_moment (HoneOptimizer *opt, int param, int slot)
{
  g_return_val_if_fail (opt != NULL && is_param (opt, param), NULL);
  g_return_val_if_fail (slot >= 0 && slot < opt->n_moments, NULL);
  const HoneValue *v = hone_graph_value (opt->graph, param);
  return opt->moments + (int64_t) slot * opt->arena + v->offset;
}

float *
hone_optimizer_moments (HoneOptimizer *opt, int64_t *n_floats)
{
  g_return_val_if_fail (opt != NULL && n_floats != NULL, NULL);
  *n_floats = opt->moments ? (int64_t) opt->n_moments * opt->arena : 0;
  return opt->moments;
}

int64_t
hone_optimizer_param_step (const HoneOptimizer *opt, int param)
{
  g_return_val_if_fail (opt != NULL && is_param (opt, param), 0);
  return opt->param_steps[param];
}

void
hone_optimizer_set_param_step (HoneOptimizer *opt, int param, int64_t step)
{
  g_return_if_fail (opt != NULL && is_param (opt, param) && step >= 0);
  opt->param_steps[param] = step;
}
