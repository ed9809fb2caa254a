/* hone-op-concat.c: Concat of any number of inputs along one axis (ONNX
 * Concat, torch.cat), for Inception / DenseNet style blocks.
 *
 * axis counts the batch (1 is channels) and may be negative.  Concatenating
 * along the batch (axis 0) is refused: samples must stay independent.  All
 * inputs must be batched values (a parameter has no batch dimension to line
 * up with).  Backward copies slices of dY back, so no input is kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int axis;
} ConcatAttrs;

#define MIN_CHUNK_ELEMENTS 16384

static gboolean
concat_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const ConcatAttrs *attrs = node->attrs;
  char s0[128], si[128];
  if (node->n_in < 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects at least one input and one output, got %d "
                               "and %d", node->n_in, node->n_out);
      return FALSE;
    }
  int r = in[0].rank;
  int axis = attrs->axis < 0 ? attrs->axis + r : attrs->axis;
  if (axis == 0)
    {
      hone_op_set_attr_error (error, node, "axis %d is the batch dimension; concatenate along "
                              "axis 1 (channels) or later", attrs->axis);
      return FALSE;
    }
  if (axis < 0 || axis >= r)
    {
      hone_op_set_attr_error (error, node, "axis %d is out of range for inputs with %d "
                              "dimensions (use 1 to %d, or negative from the end)",
                              attrs->axis, r, r - 1);
      return FALSE;
    }
  out[0] = in[0];
  for (int i = 1; i < node->n_in; i++)
    {
      gboolean ok = in[i].rank == r;
      for (int j = 0; ok && j < r; j++)
        ok = j == axis || in[i].d[j] == in[0].d[j];
      if (!ok)
        {
          hone_op_set_shape_error (error, node, "input %d has shape %s but input 0 has %s; all "
                                   "dimensions but axis %d must match", i,
                                   hone_shape_to_string (&in[i], si, sizeof si),
                                   hone_shape_to_string (&in[0], s0, sizeof s0), axis);
          return FALSE;
        }
      out[0].d[axis] += in[i].d[axis];
    }
  return TRUE;
}

typedef struct
{
  const HoneOpCtx *ctx;
  int64_t out_inner;       /* elements per outer index in the output */
  int64_t *inner;          /* per input */
  int64_t *offset;         /* per input: start within an output slice */
} ConcatJob;

/* The output seen as (outer, out_inner); input i as (outer, inner[i]). */
static int
concat_layout (const HoneOpCtx *ctx, int64_t *outer, int64_t *inner, int64_t *offset,
               int64_t *out_inner)
{
  const ConcatAttrs *attrs = ctx->attrs;
  const HoneShape *os = &ctx->out[0].shape;
  int axis = attrs->axis < 0 ? attrs->axis + os->rank : attrs->axis;
  int64_t after = 1;
  *outer = 1;
  for (int j = 0; j < axis; j++)
    *outer *= os->d[j];
  for (int j = axis + 1; j < os->rank; j++)
    after *= os->d[j];
  *out_inner = 0;
  for (int i = 0; i < ctx->node->n_in; i++)
    {
      inner[i] = ctx->in[i].shape.d[axis] * after;
      offset[i] = *out_inner;
      *out_inner += inner[i];
    }
  return axis;
}

static void
concat_forward_chunk (int64_t begin, int64_t end, gpointer data)
{
  const ConcatJob *job = data;
  const HoneOpCtx *ctx = job->ctx;
  for (int64_t o = begin; o < end; o++)
    for (int i = 0; i < ctx->node->n_in; i++)
      memcpy (ctx->out[0].data + o * job->out_inner + job->offset[i],
              ctx->in[i].data + o * job->inner[i], (gsize) job->inner[i] * sizeof (float));
}

static void
concat_backward_chunk (int64_t begin, int64_t end, gpointer data)
{
  const ConcatJob *job = data;
  const HoneOpCtx *ctx = job->ctx;
  for (int i = 0; i < ctx->node->n_in; i++)
    {
      float *dx = ctx->din[i].data;
      if (!dx)
        continue;
      const int64_t w = job->inner[i];
      for (int64_t o = begin; o < end; o++)
        {
          float *restrict d = dx + o * w;
          const float *restrict dy = ctx->dout[0].data + o * job->out_inner + job->offset[i];
          for (int64_t j = 0; j < w; j++)
            d[j] += dy[j];
        }
    }
}

static void
concat_run (const HoneOpCtx *ctx, HoneParallelFunc func)
{
  int64_t *inner = g_newa (int64_t, ctx->node->n_in);
  int64_t *offset = g_newa (int64_t, ctx->node->n_in);
  int64_t outer;
  ConcatJob job = { ctx, 0, inner, offset };
  concat_layout (ctx, &outer, inner, offset, &job.out_inner);
  hone_parallel_for (outer, MAX (1, MIN_CHUNK_ELEMENTS / MAX (job.out_inner, 1)), func, &job);
}

static void
concat_forward (const HoneOpCtx *ctx)
{
  concat_run (ctx, concat_forward_chunk);
}

static void
concat_backward (const HoneOpCtx *ctx)
{
  concat_run (ctx, concat_backward_chunk);
}

static gboolean
concat_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const ConcatAttrs *a = node->attrs;
  hone_onnx_node_set_int (w, hone_onnx_writer_add_simple (w, node, "Concat"), "axis", a->axis);
  return TRUE;
}

const HoneOpClass hone_op_concat = {
  .name = "Concat",
  .infer_shape = concat_infer_shape,
  .forward = concat_forward,
  .backward = concat_backward,
  .flops = hone_op_flops_none,
  .to_onnx = concat_to_onnx,
};

int
hone_graph_concat (HoneGraph *g, const char *name, const int *xs, int n, int axis, GError **error)
{
  g_return_val_if_fail (xs != NULL && n >= 1, -1);
  for (int i = 0; i < n; i++)
    {
      if (xs[i] < 0 || xs[i] >= hone_graph_n_values (g))
        continue;       /* hone_graph_add_node reports it */
      const HoneValue *v = hone_graph_value (g, xs[i]);
      if (v->kind != HONE_VALUE_INPUT && v->kind != HONE_VALUE_ACTIVATION)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                       "node '%s' (Concat): input %d ('%s') is not batched; every input must be "
                       "an activation with the batch first", name, i, v->name);
          return -1;
        }
    }
  ConcatAttrs attrs = { axis };
  return hone_graph_add_node (g, &hone_op_concat, hone_op_attrs_dup (&attrs), name, xs, n, 1, NULL,
                              error);
}
