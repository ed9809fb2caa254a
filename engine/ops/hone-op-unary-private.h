/* hone-op-unary-private.h: the loop shared by the elementwise activations.
 *
 * An activation file supplies two kernels over one contiguous run of
 * elements (forward, and backward from whichever of input or output it
 * keeps); these helpers cut the tensor into runs and hand them to the
 * engine's threads.  The kernels themselves stay in the op files, one op
 * kind per file.  Nothing here knows any particular activation. */
#pragma once

#include "hone-parallel.h"
#include "ops/hone-op-private.h"

G_BEGIN_DECLS

/* y[i] = f (x[i]) for i in [0, n). */
typedef void (*HoneUnaryForward) (float *restrict y, const float *restrict x, int64_t n,
                                  gconstpointer attrs);
/* dx[i] += dy[i] * f'(...) for i in [0, n), where v is the op's input or
 * its output (HoneOpClass keep_inputs / keep_outputs say which). */
typedef void (*HoneUnaryBackward) (float *restrict dx, const float *restrict dy,
                                   const float *restrict v, int64_t n, gconstpointer attrs);

/* Elements per run: large enough that thread hand-off is negligible. */
#define HONE_UNARY_MIN_CHUNK 16384

typedef struct
{
  HoneUnaryForward forward;
  HoneUnaryBackward backward;
  float *dst;
  const float *dy;
  const float *src;
  gconstpointer attrs;
} HoneUnaryJob;

static inline void
hone_unary_forward_chunk (int64_t begin, int64_t end, gpointer data)
{
  const HoneUnaryJob *job = data;
  job->forward (job->dst + begin, job->src + begin, end - begin, job->attrs);
}

static inline void
hone_unary_backward_chunk (int64_t begin, int64_t end, gpointer data)
{
  const HoneUnaryJob *job = data;
  job->backward (job->dst + begin, job->dy + begin, job->src + begin, end - begin, job->attrs);
}

/* Runs `forward` over the node's single input into its single output. */
static inline void
hone_op_unary_forward (const HoneOpCtx *ctx, HoneUnaryForward forward)
{
  HoneUnaryJob job = {
    .forward = forward,
    .dst = ctx->out[0].data,
    .src = ctx->in[0].data,
    .attrs = ctx->attrs,
  };
  hone_parallel_for (hone_tensor_numel (&ctx->out[0]), HONE_UNARY_MIN_CHUNK,
                     hone_unary_forward_chunk, &job);
}

/* Runs `backward` into the input's gradient (when it is needed), reading
 * the output (from_output) or the input. */
static inline void
hone_op_unary_backward (const HoneOpCtx *ctx, HoneUnaryBackward backward, gboolean from_output)
{
  if (!ctx->din[0].data)
    return;
  HoneUnaryJob job = {
    .backward = backward,
    .dst = ctx->din[0].data,
    .dy = ctx->dout[0].data,
    .src = from_output ? ctx->out[0].data : ctx->in[0].data,
    .attrs = ctx->attrs,
  };
  hone_parallel_for (hone_tensor_numel (&ctx->out[0]), HONE_UNARY_MIN_CHUNK,
                     hone_unary_backward_chunk, &job);
}

G_END_DECLS
