/* hone-op-mul.c: Mul, y = a * b with numpy/ONNX multidirectional
 * broadcasting (squeeze-excitation scales, (C, 1, 1) per-channel factors).
 *
 * Backward: da = dy * b, db = dy * a, each summed over the dimensions its
 * operand was broadcast along; both inputs are kept.  The builder refuses
 * operands that would broadcast against the batch dimension. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-broadcast-private.h"

static void
mul_run (const HoneBroadcastRun *run)
{
  float *restrict y = run->dst;
  const float *restrict a = run->a, *restrict b = run->b;
  const int64_t n = run->n;
  if (run->as && run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] * b[i];
  else if (run->as)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] * b[0];
  else if (run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] * b[i];
  else
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] * b[0];
}

/* dx += dy * v, where v (the other operand) steps by vs; with ds 0 the
 * run's terms are summed into dx[0] (then v is never broadcast too: the
 * run's dimension would have had extent 1 and been merged away). */
static void
mul_grad (float *restrict dx, int64_t ds, const float *restrict dy, const float *restrict v,
          int64_t vs, int64_t n)
{
  if (ds && vs)
    for (int64_t i = 0; i < n; i++)
      dx[i] += dy[i] * v[i];
  else if (ds)
    for (int64_t i = 0; i < n; i++)
      dx[i] += dy[i] * v[0];
  else
    {
      float terms[HONE_BROADCAST_BLOCK];
      float sum = 0.0f;
      for (int64_t i0 = 0; i0 < n; i0 += HONE_BROADCAST_BLOCK)
        {
          int64_t m = MIN (n - i0, HONE_BROADCAST_BLOCK);
          for (int64_t i = 0; i < m; i++)
            terms[i] = dy[i0 + i] * v[(i0 + i) * vs];
          sum += hone_sum_f32 (terms, m);
        }
      dx[0] += sum;
    }
}

static void
mul_grad_a_run (const HoneBroadcastRun *run)
{
  mul_grad (run->dst, run->ds, run->dy, run->b, run->bs, run->n);
}

static void
mul_grad_b_run (const HoneBroadcastRun *run)
{
  mul_grad (run->dst, run->ds, run->dy, run->a, run->as, run->n);
}

static void
mul_forward (const HoneOpCtx *ctx)
{
  hone_broadcast_op_forward (ctx, mul_run);
}

static void
mul_backward (const HoneOpCtx *ctx)
{
  HoneBroadcast bc;
  hone_broadcast_init (&bc, &ctx->in[0].shape, &ctx->in[1].shape);
  if (ctx->din[0].data)
    hone_broadcast_backward (&bc, 0, ctx->din[0].data, ctx->dout[0].data, NULL, ctx->in[1].data,
                             mul_grad_a_run);
  if (ctx->din[1].data)
    hone_broadcast_backward (&bc, 1, ctx->din[1].data, ctx->dout[0].data, ctx->in[0].data, NULL,
                             mul_grad_b_run);
}

const HoneOpClass hone_op_mul = {
  .name = "Mul",
  .keep_inputs = (1u << 0) | (1u << 1),
  .infer_shape = hone_op_infer_broadcast,
  .forward = mul_forward,
  .backward = mul_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_mul (HoneGraph *g, const char *name, int a, int b, GError **error)
{
  int in[2] = { a, b };
  if (!hone_op_check_broadcast_batch (g, &hone_op_mul, name, in, 2, error))
    return -1;
  return hone_graph_add_node (g, &hone_op_mul, NULL, name, in, 2, 1, NULL, error);
}
