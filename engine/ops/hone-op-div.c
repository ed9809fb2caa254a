/* hone-op-div.c: Div, y = a / b with numpy/ONNX multidirectional
 * broadcasting (normalisation by a std in exported preprocessing).
 *
 * Backward as PyTorch's div: da = dy / b, db = -dy * ((a / b) / b), each
 * summed over the dimensions its operand was broadcast along; both inputs
 * are kept.  Division by zero gives IEEE infinities / NaN, as in PyTorch.
 * The builder refuses operands that would broadcast against the batch. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-broadcast-private.h"

static void
div_run (const HoneBroadcastRun *run)
{
  float *restrict y = run->dst;
  const float *restrict a = run->a, *restrict b = run->b;
  const int64_t n = run->n;
  if (run->as && run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] / b[i];
  else if (run->as)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] / b[0];
  else if (run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] / b[i];
  else
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] / b[0];
}

/* da += dy / b */
static void
div_grad_a_run (const HoneBroadcastRun *run)
{
  float *restrict dx = run->dst;
  const float *restrict dy = run->dy, *restrict b = run->b;
  const int64_t n = run->n, bs = run->bs;
  if (run->ds && bs)
    for (int64_t i = 0; i < n; i++)
      dx[i] += dy[i] / b[i];
  else if (run->ds)
    for (int64_t i = 0; i < n; i++)
      dx[i] += dy[i] / b[0];
  else
    {
      float terms[HONE_BROADCAST_BLOCK];
      float sum = 0.0f;
      for (int64_t i0 = 0; i0 < n; i0 += HONE_BROADCAST_BLOCK)
        {
          int64_t m = MIN (n - i0, HONE_BROADCAST_BLOCK);
          for (int64_t i = 0; i < m; i++)
            terms[i] = dy[i0 + i] / b[(i0 + i) * bs];
          sum += hone_sum_f32 (terms, m);
        }
      dx[0] += sum;
    }
}

/* db += -dy * ((a / b) / b) */
static void
div_grad_b_run (const HoneBroadcastRun *run)
{
  float *restrict dx = run->dst;
  const float *restrict dy = run->dy, *restrict a = run->a, *restrict b = run->b;
  const int64_t n = run->n, as = run->as, bs = run->bs;
  if (run->ds && as && bs)
    for (int64_t i = 0; i < n; i++)
      dx[i] -= dy[i] * ((a[i] / b[i]) / b[i]);
  else if (run->ds)
    for (int64_t i = 0; i < n; i++)
      dx[i] -= dy[i] * ((a[i * as] / b[i * bs]) / b[i * bs]);
  else
    {
      float terms[HONE_BROADCAST_BLOCK];
      float sum = 0.0f;
      for (int64_t i0 = 0; i0 < n; i0 += HONE_BROADCAST_BLOCK)
        {
          int64_t m = MIN (n - i0, HONE_BROADCAST_BLOCK);
          for (int64_t i = 0; i < m; i++)
            {
              int64_t k = i0 + i;
              terms[i] = dy[k] * ((a[k * as] / b[k * bs]) / b[k * bs]);
            }
          sum += hone_sum_f32 (terms, m);
        }
      dx[0] -= sum;
    }
}

static void
div_forward (const HoneOpCtx *ctx)
{
  hone_broadcast_op_forward (ctx, div_run);
}

static void
div_backward (const HoneOpCtx *ctx)
{
  HoneBroadcast bc;
  hone_broadcast_init (&bc, &ctx->in[0].shape, &ctx->in[1].shape);
  if (ctx->din[0].data)
    hone_broadcast_backward (&bc, 0, ctx->din[0].data, ctx->dout[0].data, NULL, ctx->in[1].data,
                             div_grad_a_run);
  if (ctx->din[1].data)
    hone_broadcast_backward (&bc, 1, ctx->din[1].data, ctx->dout[0].data, ctx->in[0].data,
                             ctx->in[1].data, div_grad_b_run);
}

const HoneOpClass hone_op_div = {
  .name = "Div",
  .keep_inputs = (1u << 0) | (1u << 1),
  .infer_shape = hone_op_infer_broadcast,
  .forward = div_forward,
  .backward = div_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_div (HoneGraph *g, const char *name, int a, int b, GError **error)
{
  int in[2] = { a, b };
  if (!hone_op_check_broadcast_batch (g, &hone_op_div, name, in, 2, error))
    return -1;
  return hone_graph_add_node (g, &hone_op_div, NULL, name, in, 2, 1, NULL, error);
}
