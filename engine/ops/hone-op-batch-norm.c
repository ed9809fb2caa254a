/* hone-op-batch-norm.c: BatchNormalization over the channel axis of
 * x (N, C, ...), with PyTorch's semantics.
 *
 *   y = (x - mean) / sqrt(var + eps) * scale + bias
 *
 * Training mode (the graph runs in training and the scale is a trainable
 * parameter): mean and var are the batch statistics over N and the spatial
 * axes, var biased; the running statistics are updated in place,
 *   running_mean = (1 - momentum) running_mean + momentum mean
 *   running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)
 * (torch.nn.BatchNorm2d: https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html),
 * and the mean and 1 / sqrt(var + eps) of each channel are saved for the
 * full batch-norm backward.
 *
 * Otherwise (inference, or a frozen scale: fine-tuning with frozen BN layers
 * must not let a small, skewed batch shift the pretrained statistics) the
 * running statistics normalise, nothing is updated, and backward is that of
 * a per-channel affine map.
 *
 * With one value per channel in training mode (batch 1 of (N, C) input),
 * the unbiased variance does not exist: PyTorch refuses the batch, Hone
 * normalises with the batch statistics as usual but leaves the running
 * variance unchanged.
 *
 * Not here: BN folding into a preceding Conv (a graph rewrite), ONNX's
 * training-mode outputs (saved mean / var as graph outputs). */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

static const HoneBatchNormAttrs bn_defaults = {
  .eps = 1e-5f,
  .momentum = 0.1f,
};

typedef struct
{
  int64_t N, C, S;          /* batch, channels, spatial elements per plane */
  float eps, momentum;
  float *y;                 /* (N, C, S) */
  float *dx;                /* (N, C, S) or NULL */
  gboolean dx_fresh;        /* store into dx instead of adding */
  float *dscale, *dbias;    /* (C) or NULL */
  float *run_mean, *run_var;/* (C), updated in training mode */
  float *save_mean, *save_invstd; /* (C) or NULL */
  const float *x;           /* (N, C, S) */
  const float *dy;          /* (N, C, S) */
  const float *scale, *bias;/* (C) */
} BnArgs;

/* sum (x[i] - m)^2 */
static inline double
sum_sq_dev (const float *restrict x, float m, int64_t n)
{
  float acc[HONE_VEC_BLOCK] = { 0 };
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      {
        float d = x[i + l] - m;
        acc[l] += d * d;
      }
  double s = 0.0;
  for (; i < n; i++)
    s += (double) (x[i] - m) * (x[i] - m);
  for (int l = 0; l < HONE_VEC_BLOCK; l++)
    s += acc[l];
  return s;
}

/* sum dy[i] (x[i] - m) */
static inline double
dot_centered (const float *restrict dy, const float *restrict x, float m, int64_t n)
{
  float acc[HONE_VEC_BLOCK] = { 0 };
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      acc[l] += dy[i + l] * (x[i + l] - m);
  double s = 0.0;
  for (; i < n; i++)
    s += (double) dy[i] * (x[i] - m);
  for (int l = 0; l < HONE_VEC_BLOCK; l++)
    s += acc[l];
  return s;
}

/* dx[i] += ((dy[i] - gm) - (x[i] - m) k) a, or = when store */
static inline __attribute__ ((always_inline)) void
bn_dx_train (float *restrict dx, const float *restrict dy, const float *restrict x,
             float gm, float m, float k, float a, int64_t n, const gboolean store)
{
  int64_t i = 0;
  if (store)
    {
      for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
        for (int l = 0; l < HONE_VEC_BLOCK; l++)
          dx[i + l] = ((dy[i + l] - gm) - (x[i + l] - m) * k) * a;
      for (; i < n; i++)
        dx[i] = ((dy[i] - gm) - (x[i] - m) * k) * a;
      return;
    }
  for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      dx[i + l] += ((dy[i + l] - gm) - (x[i + l] - m) * k) * a;
  for (; i < n; i++)
    dx[i] += ((dy[i] - gm) - (x[i] - m) * k) * a;
}

/* dx[i] = a dy[i] */
static inline void
bn_dx_scale (float *restrict dx, const float *restrict dy, float a, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    dx[i] = a * dy[i];
}

/* ---- shapes ------------------------------------------------------------ */

static gboolean
bn_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const HoneBatchNormAttrs *a = node->attrs;
  static const char *const names[] = { "input", "scale", "bias", "running mean", "running variance" };
  char buf[128];

  if (node->n_in != 5 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects inputs x, scale, bias, running mean and "
                               "running variance and one output, got %d inputs and %d outputs",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (!isfinite (a->eps) || a->eps < 0.0f)
    {
      hone_op_set_attr_error (error, node, "epsilon %g must be finite and not negative", a->eps);
      return FALSE;
    }
  if (!(a->momentum >= 0.0f && a->momentum <= 1.0f))
    {
      hone_op_set_attr_error (error, node, "momentum %g must be between 0 and 1 (PyTorch's "
                              "convention: the weight of the new batch)", a->momentum);
      return FALSE;
    }
  int64_t numel;
  if (in[0].rank < 2 || !hone_shape_numel_checked (&in[0], &numel) || numel == 0)
    {
      hone_op_set_shape_error (error, node, "input has shape %s; expected (N, C, ...) with no "
                               "empty dimension", hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  int64_t C = in[0].d[1];
  for (int i = 1; i < 5; i++)
    if (in[i].rank != 1 || in[i].d[0] != C)
      {
        hone_op_set_shape_error (error, node, "%s has shape %s; expected (%" G_GINT64_FORMAT
                                 "), one value per input channel", names[i],
                                 hone_shape_to_string (&in[i], buf, sizeof buf), C);
        return FALSE;
      }
  out[0] = in[0];
  return TRUE;
}

static double
bn_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  /* One multiply-add per element once the per-channel factors are known. */
  return 2.0 * (double) hone_shape_numel (&out[0]);
}

static gsize
bn_saved_size (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return 2 * (gsize) in[0].d[1] * sizeof (float);    /* mean, invstd: (2, C) */
}

/* Training mode: batch statistics and running-statistics updates. */
static gboolean
bn_uses_batch_stats (const HoneOpCtx *ctx)
{
  return ctx->training && ctx->in_values[1]->trainable;
}

static void
bn_args_init (BnArgs *a, const HoneOpCtx *ctx)
{
  const HoneBatchNormAttrs *attrs = ctx->attrs;
  const HoneShape *s = &ctx->in[0].shape;
  *a = (BnArgs) {
    .N = s->d[0],
    .C = s->d[1],
    .S = hone_shape_numel (s) / (s->d[0] * s->d[1]),
    .eps = attrs->eps,
    .momentum = attrs->momentum,
    .x = ctx->in[0].data,
    .scale = ctx->in[1].data,
    .bias = ctx->in[2].data,
    .run_mean = ctx->in[3].data,
    .run_var = ctx->in[4].data,
  };
  if (ctx->saved)
    {
      g_assert (ctx->saved_size >= 2 * (gsize) a->C * sizeof (float));
      a->save_mean = ctx->saved;
      a->save_invstd = a->save_mean + a->C;
    }
}

/* ---- forward ------------------------------------------------------------- */

/* One channel per task: statistics over (N, S), normalise, update. */
HONE_VEC_CLONES static void
bn_forward_train_task (int64_t begin, int64_t end, gpointer data)
{
  const BnArgs *a = data;
  int64_t n = a->N * a->S;
  for (int64_t c = begin; c < end; c++)
    {
      double sum = 0.0;
      for (int64_t s = 0; s < a->N; s++)
        sum += hone_vec_sum (a->x + (s * a->C + c) * a->S, a->S);
      double mean = sum / (double) n;
      double sq = 0.0;
      for (int64_t s = 0; s < a->N; s++)
        sq += sum_sq_dev (a->x + (s * a->C + c) * a->S, (float) mean, a->S);
      double var = sq / (double) n;
      double invstd = 1.0 / sqrt (var + a->eps);

      /* y = x alpha + beta, as PyTorch's CPU kernel computes it */
      float alpha = (float) (invstd * a->scale[c]);
      float beta = (float) (a->bias[c] - mean * alpha);
      for (int64_t s = 0; s < a->N; s++)
        hone_vec_affine (a->y + (s * a->C + c) * a->S, a->x + (s * a->C + c) * a->S,
                         alpha, beta, a->S);

      double m = a->momentum;
      a->run_mean[c] = (float) ((1.0 - m) * a->run_mean[c] + m * mean);
      if (n > 1)
        a->run_var[c] = (float) ((1.0 - m) * a->run_var[c] + m * sq / (double) (n - 1));
      if (a->save_mean)
        {
          a->save_mean[c] = (float) mean;
          a->save_invstd[c] = (float) invstd;
        }
    }
}

/* One (sample, channel) plane per task, with the running statistics. */
HONE_VEC_CLONES static void
bn_forward_eval_task (int64_t begin, int64_t end, gpointer data)
{
  const BnArgs *a = data;
  for (int64_t t = begin; t < end; t++)
    {
      int64_t c = t % a->C;
      float alpha = (float) (a->scale[c] / sqrt ((double) a->run_var[c] + a->eps));
      float beta = a->bias[c] - a->run_mean[c] * alpha;
      hone_vec_affine (a->y + t * a->S, a->x + t * a->S, alpha, beta, a->S);
    }
}

static void
bn_forward (const HoneOpCtx *ctx)
{
  BnArgs a;
  bn_args_init (&a, ctx);
  a.y = ctx->out[0].data;
  if (bn_uses_batch_stats (ctx))
    hone_parallel_for (a.C, 1, bn_forward_train_task, &a);
  else
    hone_parallel_for (a.N * a.C, MAX (1, 8192 / a.S), bn_forward_eval_task, &a);
}

/* ---- backward ------------------------------------------------------------ */

/* One channel per task.  With y_hat = (x - mean) invstd:
 *   dbias  = sum dy,  dscale = sum dy y_hat
 *   dx     = scale invstd (dy - dbias / n - (x - mean) invstd^2 sum (dy (x - mean)) / n)
 * in training mode (the batch statistics depend on x), and
 *   dx     = scale invstd dy
 * with running statistics (PyTorch: aten/src/ATen/native/Normalization.cpp,
 * batch_norm_backward_cpu_template). */
HONE_VEC_CLONES static void
bn_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const BnArgs *a = data;
  gboolean train = a->save_mean != NULL;
  int64_t n = a->N * a->S;
  for (int64_t c = begin; c < end; c++)
    {
      float mean, invstd;
      if (train)
        {
          mean = a->save_mean[c];
          invstd = a->save_invstd[c];
        }
      else
        {
          mean = a->run_mean[c];
          invstd = (float) (1.0 / sqrt ((double) a->run_var[c] + a->eps));
        }

      double sum_dy = 0.0, dot = 0.0;
      if (a->dbias || a->dscale || (train && a->dx))
        for (int64_t s = 0; s < a->N; s++)
          {
            const float *dyp = a->dy + (s * a->C + c) * a->S;
            sum_dy += hone_vec_sum (dyp, a->S);
            if (a->dscale || train)
              dot += dot_centered (dyp, a->x + (s * a->C + c) * a->S, mean, a->S);
          }
      if (a->dbias)
        a->dbias[c] += (float) sum_dy;
      if (a->dscale)
        a->dscale[c] += (float) (dot * invstd);
      if (!a->dx)
        continue;

      float w_invstd = a->scale[c] * invstd;
      if (train)
        {
          float gm = (float) (sum_dy / (double) n);
          float k = (float) (dot * invstd * invstd / (double) n);
          for (int64_t s = 0; s < a->N; s++)
            {
              int64_t off = (s * a->C + c) * a->S;
              if (a->dx_fresh)
                bn_dx_train (a->dx + off, a->dy + off, a->x + off, gm, mean, k, w_invstd, a->S,
                             TRUE);
              else
                bn_dx_train (a->dx + off, a->dy + off, a->x + off, gm, mean, k, w_invstd, a->S,
                             FALSE);
            }
        }
      else
        for (int64_t s = 0; s < a->N; s++)
          {
            int64_t off = (s * a->C + c) * a->S;
            if (a->dx_fresh)
              bn_dx_scale (a->dx + off, a->dy + off, w_invstd, a->S);
            else
              hone_vec_axpy (a->dx + off, a->dy + off, w_invstd, a->S);
          }
    }
}

static void
bn_backward (const HoneOpCtx *ctx)
{
  BnArgs a;
  bn_args_init (&a, ctx);
  a.dy = ctx->dout[0].data;
  a.dx = ctx->din[0].data;
  a.dx_fresh = (ctx->din_fresh & 1u) != 0;
  a.dscale = ctx->din[1].data;
  a.dbias = ctx->din[2].data;
  if (!bn_uses_batch_stats (ctx))
    a.save_mean = a.save_invstd = NULL;
  else
    g_assert (a.save_mean != NULL);
  if (!a.dx && !a.dscale && !a.dbias)
    return;
  hone_parallel_for (a.C, 1, bn_backward_task, &a);
}

/* Written in inference form: the running statistics are inputs 3 and 4.
 * ONNX's momentum weighs the running value (running = running momentum +
 * batch (1 - momentum)), the opposite of PyTorch's. */
static gboolean
bn_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HoneBatchNormAttrs *a = node->attrs;
  Onnx__NodeProto *n = hone_onnx_writer_add_simple (w, node, "BatchNormalization");
  hone_onnx_node_set_float (w, n, "epsilon", a->eps);
  hone_onnx_node_set_float (w, n, "momentum", 1.0f - a->momentum);
  return TRUE;
}

const HoneOpClass hone_op_batch_norm = {
  .name = "BatchNormalization",
  /* x for the scale gradient and the training-mode dx, scale for dx, the
   * running statistics in inference mode. */
  .keep_inputs = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4),
  .din_store = 1u << 0,
  .infer_shape = bn_infer_shape,
  .forward = bn_forward,
  .backward = bn_backward,
  .flops = bn_flops,
  .saved_size = bn_saved_size,
  .to_onnx = bn_to_onnx,
};

int
hone_graph_batch_norm (HoneGraph *g, const char *name, int x, int scale, int bias,
                       int mean, int var, const HoneBatchNormAttrs *attrs, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  int in[5] = { x, scale, bias, mean, var };
  HoneBatchNormAttrs *a = hone_op_attrs_dup (attrs ? attrs : &bn_defaults);
  return hone_graph_add_node (g, &hone_op_batch_norm, a, name, in, 5, 1, NULL, error);
}
