/* hone-optim.h: SGD, Adam and AdamW over a graph's parameter arena.
 *
 * Each update is exactly the one torch.optim (PyTorch 1.13, single-tensor
 * path, maximize off, amsgrad off) computes, with every parameter value of
 * the graph playing the part of one tensor, and each value's lr_mult the
 * part of a parameter group: that value's learning rate is lr * lr_mult, as
 * if it sat in a group of its own whose lr is scaled the same way.
 *
 * The gradient an update uses is built, per trainable parameter w with
 * gradient g from the graph, as
 *   1. g + l1 * sign (w)        L1 penalty (sign (0) = 0), the gradient of
 *                               adding l1 * sum |w| over trainable parameters
 *                               to the loss, as autograd computes it;
 *   2. times min (1, clip_norm / (norm + 1e-6)), where norm is the L2 norm of
 *      all these gradients together: torch.nn.utils.clip_grad_norm_ over the
 *      trainable parameters (only when clip_norm > 0);
 *   3. then the optimizer, with weight decay as in torch: added to the
 *      gradient (L2, coupled) for SGD and Adam, applied to the weight
 *      (w *= 1 - lr * lr_mult * weight_decay, decoupled) for AdamW.
 * The graph's gradient buffer itself is read, never modified.
 *
 * Frozen parameters (trainable FALSE) are skipped entirely: neither their
 * weights nor their moments are touched, bit for bit, and their gradient
 * buffer is not read.  As in torch, each parameter counts its own steps (the
 * step in Adam's bias correction, "buffer is None" in SGD), so a layer
 * unfrozen in the middle of a run starts its moments afresh.
 *
 * Moments live in one flat allocation made once, with the layout of the
 * parameter arena (slot s of parameter v at moments + s * arena + offset).
 *
 * This file does not choose the learning rate (hone-schedule.h) or compute
 * gradients (hone-train-step.h). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"
#include "hone-graph.h"

G_BEGIN_DECLS

typedef enum
{
  HONE_OPTIM_SGD,
  HONE_OPTIM_ADAM,
  HONE_OPTIM_ADAMW,
} HoneOptimKind;

typedef struct
{
  HoneOptimKind kind;
  double momentum;        /* SGD: [0, 1) */
  double dampening;       /* SGD: [0, 1] */
  gboolean nesterov;      /* SGD: needs momentum > 0 and dampening 0 */
  double beta1;           /* Adam, AdamW: [0, 1) */
  double beta2;           /* Adam, AdamW: [0, 1) */
  double eps;             /* Adam, AdamW: > 0 */
  double weight_decay;    /* >= 0: L2 for SGD and Adam, decoupled for AdamW */
  double l1;              /* >= 0: L1 penalty, see above */
  double clip_norm;       /* >= 0: clip the global gradient norm to this; 0 is off */
} HoneOptimConfig;

typedef struct _HoneOptimizer HoneOptimizer;

/* torch's defaults for kind: SGD momentum 0, dampening 0; Adam betas
 * (0.9, 0.999), eps 1e-8, weight decay 0; AdamW the same with weight decay
 * 0.01.  No L1, no clipping. */
void     hone_optim_config_init     (HoneOptimConfig *config, HoneOptimKind kind);

/* Checks every setting; the error (HONE_ERROR_INVALID) names the setting
 * and its allowed range:
 * "optimizer.beta2 = 1 is out of range: use 0 or more and less than 1". */
gboolean hone_optim_config_validate (const HoneOptimConfig *config, GError **error);

/* An optimizer for every parameter value g has now (parameters added later
 * are refused by step).  The config is copied; g is not owned and must
 * outlive the optimizer.  NULL with error when the config is invalid. */
HoneOptimizer *hone_optimizer_new  (HoneGraph *g, const HoneOptimConfig *config, GError **error);
void           hone_optimizer_free (HoneOptimizer *opt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneOptimizer, hone_optimizer_free)

/* Applies one update with base learning rate lr (>= 0) to every trainable
 * parameter, reading the gradients from the graph (planned with backward).
 * Returns FALSE and changes nothing (weights, moments, step counts) when a
 * gradient is not finite (HONE_ERROR_DIVERGED, naming the parameter), when
 * lr or a trainable parameter's lr_mult is negative or not finite
 * (HONE_ERROR_INVALID), or when the graph gained parameters since the
 * optimizer was made (HONE_ERROR_INVALID).  Does not zero the gradients. */
gboolean hone_optimizer_step (HoneOptimizer *opt, double lr, GError **error);

/* hone_optimizer_step, then zeroes the gradients of the trainable
 * parameters, whether or not the step succeeded (as
 * hone_graph_zero_grad does).  On success each block's gradient is cleared
 * right after its update, while it is still in cache, which saves a pass
 * over memory. */
gboolean hone_optimizer_step_and_zero (HoneOptimizer *opt, double lr, GError **error);

const HoneOptimConfig *hone_optimizer_config (const HoneOptimizer *opt);

/* The L2 norm of the gradients (after the L1 term, before clipping) that the
 * last successful step saw; 0 before the first. */
double   hone_optimizer_last_grad_norm (const HoneOptimizer *opt);

/* ---- state, for checkpoints -------------------------------------------- */

/* Successful steps so far (for the schedule and the run log). */
int64_t  hone_optimizer_n_steps     (const HoneOptimizer *opt);
void     hone_optimizer_set_n_steps (HoneOptimizer *opt, int64_t n_steps);

/* Moment arrays per parameter: 0 for SGD without momentum, 1 for SGD with
 * momentum (slot 0: momentum_buffer), 2 for Adam and AdamW (slot 0: exp_avg,
 * slot 1: exp_avg_sq), named as in torch's optimizer state_dict. */
int      hone_optimizer_n_moments   (const HoneOptimizer *opt);

/* The slot's moments of PARAM value `param`: hone_shape_numel (&value->shape)
 * floats, owned by opt, readable and writable (restore a checkpoint by
 * writing them). */
float   *hone_optimizer_moment      (HoneOptimizer *opt, int param, int slot);

/* The whole flat allocation, n_moments blocks with the parameter arena's
 * layout; *n_floats receives its length.  NULL (and 0) without moments. */
float   *hone_optimizer_moments     (HoneOptimizer *opt, int64_t *n_floats);

/* How many updates PARAM value `param` has had (torch's state['step']; for
 * SGD, 0 means its momentum buffer is not set yet). */
int64_t  hone_optimizer_param_step     (const HoneOptimizer *opt, int param);
void     hone_optimizer_set_param_step (HoneOptimizer *opt, int param, int64_t step);

G_END_DECLS
