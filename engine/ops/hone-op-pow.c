/* hone-op-pow.c: Pow with a constant scalar exponent, y = x^p (ONNX Pow
 * whose exponent input is a scalar initializer, torch.pow (x, p)).
 *
 *   dy/dx = p x^(p - 1),  and 0 for p = 0
 * (derivatives.yaml, pow_backward).  torch.onnx exports LayerNorm before
 * opset 17 as ReduceMean (Pow (x - mean, 2)), so p = 2 is the case that
 * matters and runs as x * x (vectorised); p = 1, 0.5 and 3 also avoid powf.
 * Negative x with a non-integer p gives NaN, as powf and PyTorch do.
 * Backward keeps the input.  Not here: a tensor exponent (the importer
 * refuses it) and integer tensors. */
#include "config.h"

#include <math.h>

#include "hone-ops.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-unary-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  float p;
} PowAttrs;

static gboolean
pow_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const PowAttrs *a = node->attrs;
  if (!isfinite (a->p))
    {
      hone_op_set_attr_error (error, node, "exponent %g must be a finite number", a->p);
      return FALSE;
    }
  return hone_op_infer_same_shape (node, in, out, error);
}

HONE_VEC_CLONES static void
pow_kernel (float *restrict y, const float *restrict x, int64_t n, gconstpointer data)
{
  const float p = ((const PowAttrs *) data)->p;
  int64_t i = 0;
  if (p == 2.0f)
    {
      for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
        for (int l = 0; l < HONE_VEC_BLOCK; l++)
          y[i + l] = x[i + l] * x[i + l];
      for (; i < n; i++)
        y[i] = x[i] * x[i];
    }
  else if (p == 1.0f)
    for (; i < n; i++)
      y[i] = x[i];
  else if (p == 3.0f)
    for (; i < n; i++)
      y[i] = x[i] * x[i] * x[i];
  else if (p == 0.5f)
    for (; i < n; i++)
      y[i] = sqrtf (x[i]);
  else
    for (; i < n; i++)
      y[i] = powf (x[i], p);
}

HONE_VEC_CLONES static void
pow_backward_kernel (float *restrict dx, const float *restrict dy, const float *restrict x,
                     int64_t n, gconstpointer data)
{
  const float p = ((const PowAttrs *) data)->p;
  int64_t i = 0;
  if (p == 0.0f)
    return;
  if (p == 2.0f)
    {
      for (; i + HONE_VEC_BLOCK <= n; i += HONE_VEC_BLOCK)
        for (int l = 0; l < HONE_VEC_BLOCK; l++)
          dx[i + l] += dy[i + l] * (2.0f * x[i + l]);
      for (; i < n; i++)
        dx[i] += dy[i] * (2.0f * x[i]);
    }
  else if (p == 1.0f)
    for (; i < n; i++)
      dx[i] += dy[i];
  else if (p == 3.0f)
    for (; i < n; i++)
      dx[i] += dy[i] * (3.0f * (x[i] * x[i]));
  else
    for (; i < n; i++)
      dx[i] += dy[i] * (p * powf (x[i], p - 1.0f));
}

static void
pow_forward (const HoneOpCtx *ctx)
{
  hone_op_unary_forward (ctx, pow_kernel);
}

static void
pow_backward (const HoneOpCtx *ctx)
{
  hone_op_unary_backward (ctx, pow_backward_kernel, FALSE);
}

/* The exponent becomes a scalar initializer (Pow's second input). */
static gboolean
pow_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const PowAttrs *a = node->attrs;
  const char *in[2] = { hone_onnx_writer_input (w, node, 0), hone_onnx_writer_scalar (w, a->p) };
  const char *out = hone_onnx_writer_output (w, node, 0);
  hone_onnx_writer_add_node (w, "Pow", node->name, in, 2, &out, 1);
  return TRUE;
}

const HoneOpClass hone_op_pow = {
  .name = "Pow",
  .keep_inputs = 1u << 0,
  .infer_shape = pow_infer_shape,
  .forward = pow_forward,
  .backward = pow_backward,
  .flops = hone_op_flops_per_output,
  .to_onnx = pow_to_onnx,
};

int
hone_graph_pow (HoneGraph *g, const char *name, int x, float exponent, GError **error)
{
  PowAttrs attrs = { exponent };
  return hone_graph_add_node (g, &hone_op_pow, hone_op_attrs_dup (&attrs), name, &x, 1, 1, NULL,
                              error);
}
