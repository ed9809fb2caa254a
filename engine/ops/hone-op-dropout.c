/* hone-op-dropout.c: inverted dropout (torch.nn.Dropout, ONNX Dropout).
 *
 * In training each element is zeroed with probability p and the others are
 * scaled by 1 / (1 - p), so inference is the identity.  The keep mask (one
 * byte per element) is saved for backward in ctx->saved; no value is kept.
 * The draws come from the graph's generator: one 32-bit seed per forward
 * from ctx->rng, then an independent PCG stream per fixed block of
 * elements, so the mask depends on the seed alone, not on the thread count,
 * and blocks run in parallel.  The mask cannot match PyTorch's generator
 * bit for bit; the distribution and the scaling do. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  float p;
} DropoutAttrs;

/* Elements per generator stream. */
#define BLOCK 4096

static gboolean
dropout_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const DropoutAttrs *attrs = node->attrs;
  if (!(attrs->p >= 0.0f && attrs->p < 1.0f))
    {
      hone_op_set_attr_error (error, node, "drop probability %g is out of range: use 0 <= p < 1",
                              attrs->p);
      return FALSE;
    }
  return hone_op_infer_same_shape (node, in, out, error);
}

static gsize
dropout_saved_size (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return (gsize) hone_shape_numel (&out[0]);
}

typedef struct
{
  float *y;
  const float *x;
  guint8 *mask;          /* NULL when backward will not run */
  int64_t n;
  float p;
  float scale;
  uint64_t seed;
} DropoutJob;

static void
dropout_chunk (int64_t begin, int64_t end, gpointer data)
{
  const DropoutJob *job = data;
  for (int64_t blk = begin; blk < end; blk++)
    {
      HoneRng rng;
      hone_rng_init (&rng, job->seed, (uint64_t) blk);
      int64_t i0 = blk * BLOCK, i1 = MIN (job->n, i0 + BLOCK);
      for (int64_t i = i0; i < i1; i++)
        {
          gboolean keep = hone_rng_uniform (&rng) >= job->p;
          job->y[i] = keep ? job->x[i] * job->scale : 0.0f;
          if (job->mask)
            job->mask[i] = (guint8) keep;
        }
    }
}

static void
dropout_forward (const HoneOpCtx *ctx)
{
  const DropoutAttrs *attrs = ctx->attrs;
  const float *x = ctx->in[0].data;   /* (N, ...) */
  float *y = ctx->out[0].data;        /* (N, ...) */
  int64_t n = hone_tensor_numel (&ctx->out[0]);
  if (!ctx->training || attrs->p == 0.0f)
    {
      memcpy (y, x, (gsize) n * sizeof (float));
      return;
    }
  g_assert (ctx->saved == NULL || ctx->saved_size >= (gsize) n);
  DropoutJob job = {
    .y = y,
    .x = x,
    .mask = ctx->saved,
    .n = n,
    .p = attrs->p,
    .scale = 1.0f / (1.0f - attrs->p),
    .seed = hone_rng_next (ctx->rng),
  };
  hone_parallel_for ((n + BLOCK - 1) / BLOCK, 4, dropout_chunk, &job);
}

static void
dropout_backward (const HoneOpCtx *ctx)
{
  const DropoutAttrs *attrs = ctx->attrs;
  float *restrict dx = ctx->din[0].data;
  const float *restrict dy = ctx->dout[0].data;
  if (!dx)
    return;
  int64_t n = hone_tensor_numel (&ctx->out[0]);
  if (n == 0)
    return;
  if (!ctx->training || attrs->p == 0.0f)
    {
      for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i];
      return;
    }
  const guint8 *restrict mask = ctx->saved;
  const float scale = 1.0f / (1.0f - attrs->p);
  g_assert (mask != NULL && ctx->saved_size >= (gsize) n);
  for (int64_t i = 0; i < n; i++)
    dx[i] += mask[i] ? dy[i] * scale : 0.0f;
}

/* An exported model is for inference, where Dropout is the identity: no
 * node is written. */
static gboolean
dropout_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  hone_onnx_writer_pass_through (w, node);
  return TRUE;
}

const HoneOpClass hone_op_dropout = {
  .name = "Dropout",
  .infer_shape = dropout_infer_shape,
  .forward = dropout_forward,
  .backward = dropout_backward,
  .flops = hone_op_flops_per_output,
  .saved_size = dropout_saved_size,
  .to_onnx = dropout_to_onnx,
};

int
hone_graph_dropout (HoneGraph *g, const char *name, int x, float p, GError **error)
{
  DropoutAttrs attrs = { p };
  return hone_graph_add_node (g, &hone_op_dropout, hone_op_attrs_dup (&attrs), name, &x, 1, 1,
                              NULL, error);
}
