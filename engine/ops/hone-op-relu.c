/* hone-op-relu.c: ReLU, y = max(x, 0).
 *
 * Backward reads the output (y > 0 exactly where x > 0), so the input's
 * buffer can be reused once forward is past it. */
#include "config.h"

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"

typedef struct
{
  float *y;                 /* (N, ...) forward */
  float *dx;                /* (N, ...) backward */
  const float *x;           /* (N, ...) forward */
  const float *out;         /* (N, ...) backward: the forward's y */
  const float *dy;          /* (N, ...) backward */
  gboolean dx_fresh;        /* backward: store into dx instead of adding */
} ReluArgs;

/* Elements per task: large enough that a loop costs more than handing it
 * to a thread. */
#define RELU_MIN_CHUNK 16384

HONE_VEC_CLONES static void
relu_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const ReluArgs *a = data;
  const float *restrict x = a->x;
  float *restrict y = a->y;
  /* Branch-free so that it vectorises; NaN passes through, as torch.relu. */
  for (int64_t i = begin; i < end; i++)
    {
      float v = x[i];
      y[i] = v < 0.0f ? 0.0f : v;
    }
}

static void
relu_forward (const HoneOpCtx *ctx)
{
  ReluArgs a = { .x = ctx->in[0].data, .y = ctx->out[0].data };
  hone_parallel_for (hone_tensor_numel (&ctx->out[0]), RELU_MIN_CHUNK, relu_forward_task, &a);
}

HONE_VEC_CLONES static void
relu_backward_task (int64_t begin, int64_t end, gpointer data)
{
  const ReluArgs *a = data;
  float *restrict dx = a->dx;
  const float *restrict y = a->out;
  const float *restrict dy = a->dy;
  /* Both loads unconditional, so GCC if-converts and vectorises instead of
   * branching on every (unpredictable) sign. */
  if (a->dx_fresh)
    for (int64_t i = begin; i < end; i++)
      {
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
      }
  else
    for (int64_t i = begin; i < end; i++)
      {
        float g = dy[i];
        dx[i] += y[i] > 0.0f ? g : 0.0f;
      }
}

static void
relu_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  ReluArgs a = { .dx = ctx->din[0].data, .out = ctx->out[0].data, .dy = ctx->dout[0].data,
                 .dx_fresh = (ctx->din_fresh & 1u) != 0 };
  hone_parallel_for (hone_tensor_numel (&ctx->out[0]), RELU_MIN_CHUNK, relu_backward_task, &a);
}

const HoneOpClass hone_op_relu = {
  .name = "Relu",
  .keep_outputs = 1u << 0,
  .din_store = 1u << 0,
  .infer_shape = hone_op_infer_same_shape,
  .forward = relu_forward,
  .backward = relu_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = hone_op_to_onnx_same,
};

int
hone_graph_relu (HoneGraph *g, const char *name, int x, GError **error)
{
  return hone_graph_add_node (g, &hone_op_relu, NULL, name, &x, 1, 1, NULL, error);
}
