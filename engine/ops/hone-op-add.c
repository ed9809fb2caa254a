/* hone-op-add.c: Add, y = a + b with numpy/ONNX multidirectional
 * broadcasting (ResNet's residual add, biases).
 *
 * Backward needs only dy: each operand's gradient is dy summed over the
 * dimensions it was broadcast along, so no input is kept.  An operand of
 * the output's shape whose gradient this node writes first (ctx->din_fresh)
 * gets a copy of dy.  The builder refuses operands that would broadcast
 * against the batch dimension. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-op-broadcast-private.h"

/* Elements per task of the gradient copy. */
#define ADD_COPY_CHUNK 16384

static void
add_run (const HoneBroadcastRun *run)
{
  float *restrict y = run->dst;
  const float *restrict a = run->a, *restrict b = run->b;
  const int64_t n = run->n;
  if (run->as && run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] + b[i];
  else if (run->as)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[i] + b[0];
  else if (run->bs)
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] + b[i];
  else
    for (int64_t i = 0; i < n; i++)
      y[i] = a[0] + b[0];
}

typedef struct
{
  float *dx;                /* (n) */
  const float *dy;          /* (n) */
} AddCopyArgs;

static void
add_copy_task (int64_t begin, int64_t end, gpointer data)
{
  const AddCopyArgs *a = data;
  memcpy (a->dx + begin, a->dy + begin, (gsize) (end - begin) * sizeof (float));
}

static void
add_forward (const HoneOpCtx *ctx)
{
  hone_broadcast_op_forward (ctx, add_run);
}

static void
add_backward (const HoneOpCtx *ctx)
{
  HoneBroadcast bc;
  hone_broadcast_init (&bc, &ctx->in[0].shape, &ctx->in[1].shape);
  for (int w = 0; w < 2; w++)
    {
      float *dx = ctx->din[w].data;
      if (!dx)
        continue;
      if (ctx->din_fresh & (1u << w))
        {
          if (bc.numel_in[w] == bc.numel)
            {
              AddCopyArgs a = { dx, ctx->dout[0].data };
              hone_parallel_for (bc.numel, ADD_COPY_CHUNK, add_copy_task, &a);
              continue;
            }
          memset (dx, 0, (gsize) bc.numel_in[w] * sizeof (float));
        }
      hone_broadcast_backward (&bc, w, dx, ctx->dout[0].data, NULL, NULL,
                               hone_broadcast_grad_identity);
    }
}

const HoneOpClass hone_op_add = {
  .name = "Add",
  .din_store = (1u << 0) | (1u << 1),
  .infer_shape = hone_op_infer_broadcast,
  .forward = add_forward,
  .backward = add_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_add (HoneGraph *g, const char *name, int a, int b, GError **error)
{
  int in[2] = { a, b };
  if (!hone_op_check_broadcast_batch (g, &hone_op_add, name, in, 2, error))
    return -1;
  return hone_graph_add_node (g, &hone_op_add, NULL, name, in, 2, 1, NULL, error);
}
