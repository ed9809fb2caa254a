/* hone-op-common.c: helpers shared by the op files, and the table of ops. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "onnx/hone-onnx-writer-private.h"
#include "ops/hone-op-private.h"

gboolean
hone_op_infer_same_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  if (node->n_in < 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  out[0] = in[0];
  return TRUE;
}

double
hone_op_flops_per_output (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return (double) hone_shape_numel (&out[0]);
}

double
hone_op_flops_none (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  return 0.0;
}

void
hone_op_copy_forward (const HoneOpCtx *ctx)
{
  memcpy (ctx->out[0].data, ctx->in[0].data,
          (gsize) hone_tensor_numel (&ctx->out[0]) * sizeof (float));
}

void
hone_op_copy_backward (const HoneOpCtx *ctx)
{
  float *restrict dx = ctx->din[0].data;
  const float *restrict dy = ctx->dout[0].data;
  if (!dx)
    return;
  int64_t n = hone_tensor_numel (&ctx->out[0]);
  for (int64_t i = 0; i < n; i++)
    dx[i] += dy[i];
}

gboolean
hone_op_to_onnx_same (const HoneNode *node, HoneOnnxWriter *writer, GError **error)
{
  hone_onnx_writer_add_simple (writer, node, node->op->name);
  return TRUE;
}

const HoneOpClass *const hone_op_classes[] = {
  &hone_op_conv,
  &hone_op_batch_norm,
  &hone_op_relu,
  &hone_op_clip,
  &hone_op_sigmoid,
  &hone_op_hard_sigmoid,
  &hone_op_silu,
  &hone_op_hard_swish,
  &hone_op_gelu,
  &hone_op_gemm,
  &hone_op_matmul,
  &hone_op_add,
  &hone_op_sub,
  &hone_op_mul,
  &hone_op_div,
  &hone_op_concat,
  &hone_op_flatten,
  &hone_op_reshape,
  &hone_op_transpose,
  &hone_op_dropout,
  &hone_op_softmax,
  &hone_op_max_pool,
  &hone_op_avg_pool,
  &hone_op_global_avg_pool,
  &hone_op_layer_norm,
  &hone_op_reduce_mean,
  &hone_op_reduce_sum,
  &hone_op_erf,
  &hone_op_sqrt,
  &hone_op_tanh,
  &hone_op_leaky_relu,
  &hone_op_pow,
  &hone_op_slice,
  &hone_op_split,
  &hone_op_pad,
  NULL,
};

const HoneOpClass *
hone_op_class_find (const char *name)
{
  for (int i = 0; hone_op_classes[i]; i++)
    if (strcmp (hone_op_classes[i]->name, name) == 0)
      return hone_op_classes[i];
  return NULL;
}
