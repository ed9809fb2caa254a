/* hone-op-sub.c: Sub, y = a - b with numpy/ONNX multidirectional
 * broadcasting (mean subtraction in exported preprocessing).
 *
 * Backward needs only dy (+dy for a, -dy for b, each summed over the
 * dimensions it was broadcast along), so no input is kept.  The builder
 * refuses operands that would broadcast against the batch dimension. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-broadcast-private.h"

static void
sub_run (const HoneBroadcastRun *run)
{
  float *restrict y = run->dst;
  const float *restrict a = run->a, *restrict b = run->b;
  const int64_t n = run->n;
  if (run->as && run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] - b[i];
  else if (run->as)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] - b[0];
  else if (run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] - b[i];
  else
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] - b[0];
}

/* d(a - b)/db = -1 */
static void
sub_grad_b_run (const HoneBroadcastRun *run)
{
  float *restrict dx = run->dst;
  const float *restrict dy = run->dy;
  if (run->ds)
    for (int64_t i = 0; i < run->n; i++)
      dx[i] -= dy[i];
  else
    dx[0] -= hone_sum_f32 (dy, run->n);
}

static void
sub_forward (const HoneOpCtx *ctx)
{
  hone_broadcast_op_forward (ctx, sub_run);
}

static void
sub_backward (const HoneOpCtx *ctx)
{
  HoneBroadcast bc;
  hone_broadcast_init (&bc, &ctx->in[0].shape, &ctx->in[1].shape);
  if (ctx->din[0].data)
    hone_broadcast_backward (&bc, 0, ctx->din[0].data, ctx->dout[0].data, NULL, NULL,
                             hone_broadcast_grad_identity);
  if (ctx->din[1].data)
    hone_broadcast_backward (&bc, 1, ctx->din[1].data, ctx->dout[0].data, NULL, NULL,
                             sub_grad_b_run);
}

const HoneOpClass hone_op_sub = {
  .name = "Sub",
  .infer_shape = hone_op_infer_broadcast,
  .forward = sub_forward,
  .backward = sub_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_sub (HoneGraph *g, const char *name, int a, int b, GError **error)
{
  int in[2] = { a, b };
  if (!hone_op_check_broadcast_batch (g, &hone_op_sub, name, in, 2, error))
    return -1;
  return hone_graph_add_node (g, &hone_op_sub, NULL, name, in, 2, 1, NULL, error);
}
