/* hone-op-softmax.c: Softmax along one axis (ONNX Softmax opset >= 13,
 * torch.softmax(x, dim)): y = exp(x - max) / sum exp(x - max).
 *
 * Subtracting the maximum keeps exp from overflowing.  Backward reads the
 * output: dx = y (dy - sum(dy y)) along the axis.  axis 0 (the batch) is
 * refused since samples must stay independent.  Opset < 13's flattening
 * semantics are the importer's business (it rewrites them to this form or
 * refuses). */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int axis;
} SoftmaxAttrs;

/* Positions along the inner dimensions handled together when the axis is
 * not the last one. */
#define INNER_BLOCK 64

static gboolean
softmax_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const SoftmaxAttrs *attrs = node->attrs;
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  int r = in[0].rank;
  int axis = attrs->axis < 0 ? attrs->axis + r : attrs->axis;
  if (axis == 0)
    {
      hone_op_set_attr_error (error, node, "axis %d is the batch dimension; softmax across "
                              "samples is not supported (use axis 1 or later)", attrs->axis);
      return FALSE;
    }
  if (axis < 0 || axis >= r)
    {
      hone_op_set_attr_error (error, node, "axis %d is out of range for an input with %d "
                              "dimensions", attrs->axis, r);
      return FALSE;
    }
  out[0] = in[0];
  return TRUE;
}

typedef struct
{
  const HoneOpCtx *ctx;
  int64_t len;            /* along the axis */
  int64_t inner;          /* after the axis */
  int64_t blocks;         /* inner blocks per outer index */
} SoftmaxJob;

static void
softmax_layout (const HoneOpCtx *ctx, SoftmaxJob *job, int64_t *outer)
{
  const SoftmaxAttrs *attrs = ctx->attrs;
  const HoneShape *s = &ctx->out[0].shape;
  int axis = attrs->axis < 0 ? attrs->axis + s->rank : attrs->axis;
  *outer = 1;
  job->inner = 1;
  for (int j = 0; j < axis; j++)
    *outer *= s->d[j];
  for (int j = axis + 1; j < s->rank; j++)
    job->inner *= s->d[j];
  job->len = s->d[axis];
  job->blocks = (job->inner + INNER_BLOCK - 1) / INNER_BLOCK;
}

/* Rows along the last axis: contiguous. */
static void
softmax_rows (int64_t begin, int64_t end, gpointer data)
{
  const SoftmaxJob *job = data;
  const int64_t len = job->len;
  for (int64_t r = begin; r < end; r++)
    {
      const float *restrict x = job->ctx->in[0].data + r * len;
      float *restrict y = job->ctx->out[0].data + r * len;
      float max = -INFINITY;
      for (int64_t k = 0; k < len; k++)
        max = x[k] > max ? x[k] : max;
      float sum = 0.0f;
      for (int64_t k = 0; k < len; k++)
        {
          y[k] = expf (x[k] - max);
          sum += y[k];
        }
      const float inv = 1.0f / sum;
      for (int64_t k = 0; k < len; k++)
        y[k] *= inv;
    }
}

/* (outer, len, inner) with inner > 1: a block of inner positions at a time,
 * so every inner loop runs along contiguous memory. */
static void
softmax_strided (int64_t begin, int64_t end, gpointer data)
{
  const SoftmaxJob *job = data;
  const int64_t len = job->len, inner = job->inner;
  float max[INNER_BLOCK], sum[INNER_BLOCK];
  for (int64_t u = begin; u < end; u++)
    {
      int64_t o = u / job->blocks, i0 = (u % job->blocks) * INNER_BLOCK;
      int64_t w = MIN (INNER_BLOCK, inner - i0);
      const float *x = job->ctx->in[0].data + o * len * inner + i0;
      float *y = job->ctx->out[0].data + o * len * inner + i0;
      for (int64_t i = 0; i < w; i++)
        {
          max[i] = -INFINITY;
          sum[i] = 0.0f;
        }
      for (int64_t k = 0; k < len; k++)
        for (int64_t i = 0; i < w; i++)
          max[i] = x[k * inner + i] > max[i] ? x[k * inner + i] : max[i];
      for (int64_t k = 0; k < len; k++)
        for (int64_t i = 0; i < w; i++)
          {
            y[k * inner + i] = expf (x[k * inner + i] - max[i]);
            sum[i] += y[k * inner + i];
          }
      for (int64_t i = 0; i < w; i++)
        sum[i] = 1.0f / sum[i];
      for (int64_t k = 0; k < len; k++)
        for (int64_t i = 0; i < w; i++)
          y[k * inner + i] *= sum[i];
    }
}

static void
softmax_rows_backward (int64_t begin, int64_t end, gpointer data)
{
  const SoftmaxJob *job = data;
  const int64_t len = job->len;
  for (int64_t r = begin; r < end; r++)
    {
      const float *restrict y = job->ctx->out[0].data + r * len;
      const float *restrict dy = job->ctx->dout[0].data + r * len;
      float *restrict dx = job->ctx->din[0].data + r * len;
      float dot = 0.0f;
      for (int64_t k = 0; k < len; k++)
        dot += dy[k] * y[k];
      for (int64_t k = 0; k < len; k++)
        dx[k] += y[k] * (dy[k] - dot);
    }
}

static void
softmax_strided_backward (int64_t begin, int64_t end, gpointer data)
{
  const SoftmaxJob *job = data;
  const int64_t len = job->len, inner = job->inner;
  float dot[INNER_BLOCK];
  for (int64_t u = begin; u < end; u++)
    {
      int64_t o = u / job->blocks, i0 = (u % job->blocks) * INNER_BLOCK;
      int64_t w = MIN (INNER_BLOCK, inner - i0), base = o * len * inner + i0;
      const float *y = job->ctx->out[0].data + base;
      const float *dy = job->ctx->dout[0].data + base;
      float *dx = job->ctx->din[0].data + base;
      for (int64_t i = 0; i < w; i++)
        dot[i] = 0.0f;
      for (int64_t k = 0; k < len; k++)
        for (int64_t i = 0; i < w; i++)
          dot[i] += dy[k * inner + i] * y[k * inner + i];
      for (int64_t k = 0; k < len; k++)
        for (int64_t i = 0; i < w; i++)
          dx[k * inner + i] += y[k * inner + i] * (dy[k * inner + i] - dot[i]);
    }
}

static void
softmax_forward (const HoneOpCtx *ctx)
{
  SoftmaxJob job = { ctx };
  int64_t outer;
  softmax_layout (ctx, &job, &outer);
  if (job.len == 0)
    return;
  if (job.inner == 1)
    hone_parallel_for (outer, MAX (1, 4096 / job.len), softmax_rows, &job);
  else
    hone_parallel_for (outer * job.blocks, MAX (1, 4096 / (job.len * INNER_BLOCK)),
                       softmax_strided, &job);
}

static void
softmax_backward (const HoneOpCtx *ctx)
{
  if (!ctx->din[0].data)
    return;
  SoftmaxJob job = { ctx };
  int64_t outer;
  softmax_layout (ctx, &job, &outer);
  if (job.len == 0)
    return;
  if (job.inner == 1)
    hone_parallel_for (outer, MAX (1, 4096 / job.len), softmax_rows_backward, &job);
  else
    hone_parallel_for (outer * job.blocks, MAX (1, 4096 / (job.len * INNER_BLOCK)),
                       softmax_strided_backward, &job);
}

static double
softmax_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  /* max, subtract, exp, sum, scale */
  return 5.0 * (double) hone_shape_numel (&out[0]);
}

/* Opset 13's Softmax normalises along one axis, as Hone's does. */
static gboolean
softmax_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const SoftmaxAttrs *a = node->attrs;
  hone_onnx_node_set_int (w, hone_onnx_writer_add_simple (w, node, "Softmax"), "axis", a->axis);
  return TRUE;
}

const HoneOpClass hone_op_softmax = {
  .name = "Softmax",
  .keep_outputs = 1u << 0,
  .infer_shape = softmax_infer_shape,
  .forward = softmax_forward,
  .backward = softmax_backward,
  .flops = softmax_flops,
  .to_onnx = softmax_to_onnx,
};

int
hone_graph_softmax (HoneGraph *g, const char *name, int x, int axis, GError **error)
{
  SoftmaxAttrs attrs = { axis };
  return hone_graph_add_node (g, &hone_op_softmax, hone_op_attrs_dup (&attrs), name, &x, 1, 1,
                              NULL, error);
}
