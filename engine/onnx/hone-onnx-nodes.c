/* hone-onnx-nodes.c: ONNX nodes onto Hone's op builders, by op type and
 * opset (https://onnx.ai/onnx/operators/, each op's version history).
 *
 * Weights become graph values by role: Conv, Gemm and MatMul weights and
 * biases, BatchNormalization's scale and bias, and learnable Mul/Add tensors
 * (an initializer of more than one element beside an activation, such as
 * ConvNeXt's layer_scale) are PARAMs; BatchNorm running statistics are
 * BUFFERs; everything else is a CONST.  The classifier head found by
 * hone-onnx-import.c is built here with fresh parameters when it is
 * replaced.  Two fusions save time and memory: Sigmoid(x)·x is SiLU and
 * HardSigmoid(x; 1/6, 1/2)·x is HardSwish.
 *
 * This file does not fold constants (hone-onnx-fold.c) and does not decide
 * names or blocks (hone-onnx-import.c). */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "onnx/hone-onnx-private.h"

/* ---- helpers --------------------------------------------------------------- */

static const char *
layer (OnnxImport *imp)
{
  return imp->layer[imp->node_index];
}

/* A name for the k-th extra Hone node of the current ONNX node. */
static char *
sub_name (OnnxImport *imp, const char *what)
{
  return g_strdup_printf ("%s.%s", layer (imp), what);
}

static void
set_out (OnnxImport *imp, const Onnx__NodeProto *n, int k, int id)
{
  if ((size_t) k >= n->n_output || !n->output[k] || !n->output[k][0])
    return;
  OnnxVal *v = g_new0 (OnnxVal, 1);
  v->name = g_strdup (n->output[k]);
  v->id = id;
  onnx_import_set (imp, v);
}

static gboolean
is_batched (OnnxImport *imp, const OnnxVal *v)
{
  if (!v || v->known)
    return FALSE;
  HoneValueKind k = hone_graph_value (imp->g, v->id)->kind;
  return k == HONE_VALUE_INPUT || k == HONE_VALUE_ACTIVATION;
}

static gboolean
need_batched (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int i, GError **error)
{
  if (i < (int) n->n_input && is_batched (imp, in[i]))
    return TRUE;
  onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "input %d must depend on the model's "
                   "input (Hone computes this op on activations only)", i);
  return FALSE;
}

/* Refuses consumed extra outputs (BatchNorm's statistics, MaxPool's indices). */
static gboolean
only_first_output (OnnxImport *imp, const Onnx__NodeProto *n, GError **error)
{
  for (size_t k = 1; k < n->n_output; k++)
    if (n->output[k] && n->output[k][0] && g_hash_table_contains (imp->consumers, n->output[k]))
      {
        onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "output %zu ('%s') is used, but Hone "
                         "computes only the first output of this op", k, n->output[k]);
        return FALSE;
      }
  return TRUE;
}

static gboolean
is_head (OnnxImport *imp)
{
  return imp->new_classes > 0 && (imp->node_index == imp->head_node
                                  || imp->node_index == imp->head_bias_node);
}

static void
note_head_param (OnnxImport *imp, int id)
{
  if (imp->node_index != imp->head_node && imp->node_index != imp->head_bias_node)
    return;
  const HoneValue *v = hone_graph_value (imp->g, id);
  if (v->kind != HONE_VALUE_PARAM)
    return;
  for (guint i = 0; i < imp->head_params->len; i++)
    if (strcmp (imp->head_params->pdata[i], v->name) == 0)
      return;
  g_ptr_array_add (imp->head_params, g_strdup (v->name));
}

/* A weight input: an existing value, or known data put into the graph. */
static int
weight (OnnxImport *imp, OnnxVal *v, HoneValueKind kind, const char *role, GError **error)
{
  if (!v)
    return -1;
  int id = onnx_import_value (imp, v, kind, role, error);
  if (id >= 0)
    note_head_param (imp, id);
  return id;
}

/* A fresh parameter replacing the head's `orig`, of `shape`, torch's
 * default initialisation for fan_in. */
static int
head_param (OnnxImport *imp, OnnxVal *orig, const HoneShape *shape, int64_t fan_in,
            const char *role, GError **error)
{
  g_autofree char *name = NULL;
  if (orig && !g_str_has_prefix (orig->name, "onnx::") && orig->name[0])
    name = g_strdup (orig->name);
  else
    name = g_strdup_printf ("%s.%s", layer (imp), role);
  if (hone_graph_find (imp->g, name) >= 0)
    {
      char *alt = g_strdup_printf ("%s.new", name);
      g_free (name);
      name = alt;
    }
  int id = hone_graph_add_param (imp->g, name, shape, error);
  if (id < 0)
    return -1;
  HoneRng rng;
  /* a stream per role, so that weight and bias do not share numbers */
  hone_rng_init (&rng, imp->seed, strcmp (role, "bias") == 0 ? 2 : 1);
  onnx_init_uniform (hone_graph_value_data (imp->g, id), hone_shape_numel (shape), fan_in, &rng);
  if (orig)
    orig->id = id;
  note_head_param (imp, id);
  return id;
}

static int
known_ints (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal *v, const char *what,
            int64_t **out, GError **error)
{
  (void) imp;
  if (!v || !v->known)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "%s must be a constant", what);
      return -1;
    }
  *out = onnx_val_ints (v);
  return (int) hone_shape_numel (&v->shape);
}

/* Pads of a 2-D window op from pads / auto_pad; in: (H, W). */
static gboolean
window_pads (const Onnx__NodeProto *n, const int64_t *in, const int *kernel, const int *stride,
             const int *dilation, int *pad, GError **error)
{
  const int64_t *p;
  int np = onnx_attr_ints (n, "pads", &p);
  g_autofree char *ap = onnx_attr_string (n, "auto_pad");
  memset (pad, 0, sizeof (int) * 4);
  if (ap && (strcmp (ap, "SAME_UPPER") == 0 || strcmp (ap, "SAME_LOWER") == 0))
    {
      for (int k = 0; k < 2; k++)
        {
          int64_t out = (in[k] + stride[k] - 1) / stride[k];
          int64_t total = MAX (0, (out - 1) * stride[k] + (int64_t) (kernel[k] - 1) * dilation[k] + 1 - in[k]);
          int64_t small = total / 2, big = total - small;
          gboolean upper = strcmp (ap, "SAME_UPPER") == 0;
          pad[k] = (int) (upper ? small : big);
          pad[k + 2] = (int) (upper ? big : small);
        }
      return TRUE;
    }
  if (ap && strcmp (ap, "NOTSET") != 0 && strcmp (ap, "VALID") != 0)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "auto_pad '%s' is not one of NOTSET, "
                       "SAME_UPPER, SAME_LOWER, VALID", ap);
      return FALSE;
    }
  if (ap && strcmp (ap, "VALID") == 0)
    return TRUE;
  if (np >= 0)
    {
      if (np != 4)
        {
          onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "pads has %d entries; a 2-D op needs "
                           "4", np);
          return FALSE;
        }
      for (int k = 0; k < 4; k++)
        {
          if (p[k] < 0 || p[k] > 65536)
            {
              onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "pad %" G_GINT64_FORMAT " is out "
                               "of range", p[k]);
              return FALSE;
            }
          pad[k] = (int) p[k];
        }
    }
  return TRUE;
}

static gboolean
pair_attr (const Onnx__NodeProto *n, const char *name, int dflt, int *out, GError **error)
{
  const int64_t *p;
  int np = onnx_attr_ints (n, name, &p);
  out[0] = out[1] = dflt;
  if (np < 0)
    return TRUE;
  if (np != 2 || p[0] < 1 || p[1] < 1 || p[0] > 65536 || p[1] > 65536)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "%s must be two positive numbers for a "
                       "2-D op", name);
      return FALSE;
    }
  out[0] = (int) p[0];
  out[1] = (int) p[1];
  return TRUE;
}

static gboolean
need_rank (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal *v, int rank, GError **error)
{
  HoneShape s = onnx_import_shape (imp, v);
  if (s.rank == rank)
    return TRUE;
  onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "input of %d dimensions; Hone supports %d "
                   "here (batch, channels, height, width)", s.rank, rank);
  return FALSE;
}

/* ---- convolution and normalisation ------------------------------------------- */

static gboolean
node_conv (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error) || !need_rank (imp, n, in[0], 4, error))
    return FALSE;
  if (n_in < 2 || !in[1] || !in[1]->known || in[1]->shape.rank != 4)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "the weight must be a constant "
                       "(M, C/group, kH, kW) tensor");
      return FALSE;
    }
  HoneShape xs = onnx_import_shape (imp, in[0]);
  HoneConvAttrs a = { 0 };
  int64_t group = onnx_attr_int (n, "group", 1);
  if (group < 1 || group > xs.d[1])
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "group %" G_GINT64_FORMAT " does not fit "
                       "%" G_GINT64_FORMAT " input channels", group, xs.d[1]);
      return FALSE;
    }
  a.group = (int) group;
  int kernel[2] = { (int) in[1]->shape.d[2], (int) in[1]->shape.d[3] };
  if (!pair_attr (n, "strides", 1, a.stride, error)
      || !pair_attr (n, "dilations", 1, a.dilation, error)
      || !window_pads (n, &xs.d[2], kernel, a.stride, a.dilation, a.pad, error))
    return FALSE;
  const int *extra = g_hash_table_lookup (imp->conv_pads, n->input[0]);
  for (int k = 0; extra && k < 4; k++)
    a.pad[k] += extra[k];
  const int64_t *ks;
  if (onnx_attr_ints (n, "kernel_shape", &ks) == 2 && (ks[0] != kernel[0] || ks[1] != kernel[1]))
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "kernel_shape differs from the weight's");
      return FALSE;
    }

  int w, b = -1;
  OnnxVal *bv = n_in > 2 ? in[2] : NULL;
  if (is_head (imp))
    {
      HoneShape ws = in[1]->shape;
      ws.d[0] = imp->new_classes;
      int64_t fan_in = ws.d[1] * ws.d[2] * ws.d[3];
      if ((w = head_param (imp, in[1], &ws, fan_in, "weight", error)) < 0)
        return FALSE;
      if (bv && (b = head_param (imp, bv, &(HoneShape) { .rank = 1, .d = { imp->new_classes } }, fan_in, "bias", error)) < 0)
        return FALSE;
    }
  else
    {
      if ((w = weight (imp, in[1], HONE_VALUE_PARAM, "weight", error)) < 0)
        return FALSE;
      if (bv && (b = weight (imp, bv, HONE_VALUE_PARAM, "bias", error)) < 0)
        return FALSE;
    }
  int y = hone_graph_conv (imp->g, layer (imp), in[0]->id, w, b, &a, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_batch_norm (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error) || !only_first_output (imp, n, error))
    return FALSE;
  if (n_in != 5)
    {
      onnx_node_error (error, HONE_ERROR_FORMAT, n, "has %d inputs; BatchNormalization takes 5",
                       n_in);
      return FALSE;
    }
  if (imp->opset < 9 && onnx_attr_int (n, "spatial", 1) != 1)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "spatial = 0 (statistics per element) "
                       "is not supported");
      return FALSE;
    }
  HoneBatchNormAttrs a = {
    .eps = onnx_attr_float (n, "epsilon", 1e-5f),
    /* ONNX: running = momentum running + (1 - momentum) batch; Hone as torch */
    .momentum = 1.0f - onnx_attr_float (n, "momentum", 0.9f),
  };
  int s, b, m, v;
  if ((s = weight (imp, in[1], HONE_VALUE_PARAM, "weight", error)) < 0
      || (b = weight (imp, in[2], HONE_VALUE_PARAM, "bias", error)) < 0
      || (m = weight (imp, in[3], HONE_VALUE_BUFFER, "running_mean", error)) < 0
      || (v = weight (imp, in[4], HONE_VALUE_BUFFER, "running_var", error)) < 0)
    return FALSE;
  int y = hone_graph_batch_norm (imp->g, layer (imp), in[0]->id, s, b, m, v, &a, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* ---- activations --------------------------------------------------------------- */

/* The Mul that multiplies the output of node n by n's own input, when that
 * is the output's only use; -1 otherwise. */
static int
gating_mul (OnnxImport *imp, const Onnx__NodeProto *n)
{
  const char *out = n->output[0];
  if (GPOINTER_TO_UINT (g_hash_table_lookup (imp->consumers, out)) != 1)
    return -1;
  for (size_t i = imp->node_index + 1; i < imp->gp->n_node; i++)
    {
      const Onnx__NodeProto *m = imp->gp->node[i];
      if (strcmp (m->op_type, "Mul") != 0 || m->n_input != 2)
        continue;
      for (int k = 0; k < 2; k++)
        if (strcmp (m->input[k], out) == 0 && strcmp (m->input[1 - k], n->input[0]) == 0)
          return (int) i;
    }
  return -1;
}

/* Builds SiLU or HardSwish for the Mul at index mul instead of n and it. */
static gboolean
fuse_gate (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal *x, int mul, gboolean hard,
           GError **error)
{
  const Onnx__NodeProto *m = imp->gp->node[mul];
  /* name the fused node after the activation module when the Mul is a bare
   * functional op */
  int y = hard ? hone_graph_hard_swish (imp->g, layer (imp), x->id, error)
    : hone_graph_silu (imp->g, layer (imp), x->id, error);
  if (y < 0)
    return FALSE;
  (void) n;
  imp->done[mul] = TRUE;
  set_out (imp, m, 0, y);
  return TRUE;
}

typedef int (*UnaryBuilder) (HoneGraph *, const char *, int, GError **);

static gboolean
unary (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, UnaryBuilder f, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  int y = f (imp->g, layer (imp), in[0]->id, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_relu (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return unary (imp, n, in, hone_graph_relu, error);
}

static gboolean
node_sigmoid (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  int mul = gating_mul (imp, n);
  if (mul >= 0)
    return fuse_gate (imp, n, in[0], mul, FALSE, error);
  return unary (imp, n, in, hone_graph_sigmoid, error);
}

static gboolean
node_hard_sigmoid (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  float alpha = onnx_attr_float (n, "alpha", 0.2f), beta = onnx_attr_float (n, "beta", 0.5f);
  if (fabsf (alpha - 1.0f / 6.0f) < 1e-6f && fabsf (beta - 0.5f) < 1e-6f)
    {
      int mul = gating_mul (imp, n);
      if (mul >= 0)
        return fuse_gate (imp, n, in[0], mul, TRUE, error);
    }
  int y = hone_graph_hard_sigmoid (imp->g, layer (imp), in[0]->id, alpha, beta, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_hard_swish (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return unary (imp, n, in, hone_graph_hard_swish, error);
}

static gboolean
node_clip (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  float lo = -FLT_MAX, hi = FLT_MAX;
  if (imp->opset < 11)
    {
      lo = onnx_attr_float (n, "min", lo);
      hi = onnx_attr_float (n, "max", hi);
    }
  else
    {
      for (int k = 1; k < 3 && k < n_in; k++)
        {
          if (!in[k])
            continue;
          if (!in[k]->known || hone_shape_numel (&in[k]->shape) != 1)
            {
              onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "%s must be a constant scalar",
                               k == 1 ? "min" : "max");
              return FALSE;
            }
          *(k == 1 ? &lo : &hi) = (float) in[k]->v[0];
        }
    }
  int y = hone_graph_clip (imp->g, layer (imp), in[0]->id, lo, hi, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* ---- pooling -------------------------------------------------------------------- */

static gboolean
pool (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, gboolean max, GError **error)
{
  if (!need_batched (imp, n, in, 0, error) || !need_rank (imp, n, in[0], 4, error)
      || !only_first_output (imp, n, error))
    return FALSE;
  HoneShape xs = onnx_import_shape (imp, in[0]);
  HonePoolAttrs a = { 0 };
  if (!pair_attr (n, "kernel_shape", 1, a.kernel, error)
      || !pair_attr (n, "strides", 1, a.stride, error)
      || !pair_attr (n, "dilations", 1, a.dilation, error))
    return FALSE;
  const int64_t *ks;
  if (onnx_attr_ints (n, "kernel_shape", &ks) != 2)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "kernel_shape must give 2 sizes");
      return FALSE;
    }
  if (!max && (a.dilation[0] != 1 || a.dilation[1] != 1))
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "dilations are not supported in "
                       "AveragePool");
      return FALSE;
    }
  if (!window_pads (n, &xs.d[2], a.kernel, a.stride, a.dilation, a.pad, error))
    return FALSE;
  a.ceil_mode = onnx_attr_int (n, "ceil_mode", 0) != 0;
  a.count_include_pad = onnx_attr_int (n, "count_include_pad", 0) != 0;
  if (max && onnx_attr_int (n, "storage_order", 0) != 0 && n->n_output > 1)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "storage_order 1 is not supported");
      return FALSE;
    }
  int y = max ? hone_graph_max_pool (imp->g, layer (imp), in[0]->id, &a, error)
    : hone_graph_avg_pool (imp->g, layer (imp), in[0]->id, &a, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_max_pool (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return pool (imp, n, in, TRUE, error);
}

static gboolean
node_avg_pool (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return pool (imp, n, in, FALSE, error);
}

static gboolean
node_global_avg_pool (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in,
                      GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error) || !need_rank (imp, n, in[0], 4, error))
    return FALSE;
  return unary (imp, n, in, hone_graph_global_avg_pool, error);
}

/* ---- linear ------------------------------------------------------------------------ */

static gboolean
node_gemm (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  HoneGemmAttrs a = {
    .alpha = onnx_attr_float (n, "alpha", 1.0f),
    .beta = onnx_attr_float (n, "beta", 1.0f),
    .trans_a = onnx_attr_int (n, "transA", 0) != 0,
    .trans_b = onnx_attr_int (n, "transB", 0) != 0,
  };
  if (n_in < 2 || !in[1])
    {
      onnx_node_error (error, HONE_ERROR_FORMAT, n, "has no B input");
      return FALSE;
    }
  OnnxVal *cv = n_in > 2 ? in[2] : NULL;
  int b, c = -1;
  if (is_head (imp) && in[1]->known && in[1]->shape.rank == 2)
    {
      HoneShape bs = in[1]->shape;
      int64_t fan_in = a.trans_b ? bs.d[1] : bs.d[0];
      bs.d[a.trans_b ? 0 : 1] = imp->new_classes;
      if ((b = head_param (imp, in[1], &bs, fan_in, "weight", error)) < 0)
        return FALSE;
      if (cv && (c = head_param (imp, cv, &(HoneShape) { .rank = 1, .d = { imp->new_classes } }, fan_in, "bias", error)) < 0)
        return FALSE;
    }
  else
    {
      if (in[1]->known)
        b = weight (imp, in[1], in[1]->initializer ? HONE_VALUE_PARAM : HONE_VALUE_CONST,
                    "weight", error);
      else
        b = in[1]->id;
      if (b < 0)
        return FALSE;
      if (cv)
        {
          if (cv->known)
            c = weight (imp, cv, cv->initializer && hone_shape_numel (&cv->shape) > 1
                        ? HONE_VALUE_PARAM : HONE_VALUE_CONST, "bias", error);
          else
            c = cv->id;
          if (c < 0)
            return FALSE;
        }
    }
  int y = hone_graph_gemm (imp->g, layer (imp), in[0]->id, b, c, &a, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_matmul (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  int a, b;
  if (is_head (imp) && in[1]->known && in[1]->shape.rank == 2)
    {
      HoneShape bs = in[1]->shape;
      int64_t fan_in = bs.d[0];
      bs.d[1] = imp->new_classes;
      if ((b = head_param (imp, in[1], &bs, fan_in, "weight", error)) < 0)
        return FALSE;
      a = in[0]->id;
    }
  else
    {
      a = in[0]->known ? weight (imp, in[0], HONE_VALUE_CONST, NULL, error) : in[0]->id;
      if (a < 0)
        return FALSE;
      b = in[1]->known ? weight (imp, in[1], in[1]->initializer && in[1]->shape.rank >= 2
                                 ? HONE_VALUE_PARAM : HONE_VALUE_CONST, "weight", error)
        : in[1]->id;
      if (b < 0)
        return FALSE;
    }
  int y = hone_graph_matmul (imp->g, layer (imp), a, b, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* ---- elementwise ------------------------------------------------------------------ */

typedef int (*BinaryBuilder) (HoneGraph *, const char *, int, int, GError **);

static gboolean
binary (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, BinaryBuilder f,
        gboolean learnable, const char *role, GError **error)
{
  if (n_in != 2 || !in[0] || !in[1])
    {
      onnx_node_error (error, HONE_ERROR_FORMAT, n, "needs two inputs");
      return FALSE;
    }
  int id[2];
  for (int k = 0; k < 2; k++)
    {
      OnnxVal *v = in[k];
      if (!v->known)
        {
          id[k] = v->id;
          continue;
        }
      if (is_head (imp) && imp->node_index == imp->head_bias_node)
        {
          /* the bias of a MatMul head */
          int64_t fan_in = 0;
          const Onnx__NodeProto *mm = imp->gp->node[imp->head_node];
          OnnxVal *w = onnx_import_get (imp, mm->input[1]);
          HoneShape ws = hone_graph_value (imp->g, w->id)->shape;
          fan_in = ws.d[0];
          id[k] = head_param (imp, v, &(HoneShape) { .rank = 1, .d = { imp->new_classes } }, fan_in, "bias", error);
        }
      else
        {
          HoneValueKind kind = learnable && v->initializer && hone_shape_numel (&v->shape) > 1
            ? HONE_VALUE_PARAM : HONE_VALUE_CONST;
          id[k] = weight (imp, v, kind, kind == HONE_VALUE_PARAM ? role : NULL, error);
        }
      if (id[k] < 0)
        return FALSE;
    }
  int y = f (imp->g, layer (imp), id[0], id[1], error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_add (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  return binary (imp, n, in, n_in, hone_graph_add, TRUE, "bias", error);
}

static gboolean
node_sub (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  return binary (imp, n, in, n_in, hone_graph_sub, FALSE, NULL, error);
}

static gboolean
node_mul (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  return binary (imp, n, in, n_in, hone_graph_mul, TRUE, "weight", error);
}

/* ---- shapes ------------------------------------------------------------------------ */

static gboolean
node_concat (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  int *ids = g_newa (int, MAX (n_in, 1));
  int m = 0;
  for (int k = 0; k < n_in; k++)
    {
      if (!in[k])
        continue;
      if (in[k]->known && hone_shape_numel (&in[k]->shape) == 0)
        continue;
      ids[m] = in[k]->known ? weight (imp, in[k], HONE_VALUE_CONST, NULL, error) : in[k]->id;
      if (ids[m] < 0)
        return FALSE;
      m++;
    }
  const Onnx__AttributeProto *ax = onnx_attr (n, "axis");
  if (!ax)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "has no axis");
      return FALSE;
    }
  int y = hone_graph_concat (imp->g, layer (imp), ids, m, (int) ax->i, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_flatten (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  int axis = (int) onnx_attr_int (n, "axis", 1);
  HoneShape s = onnx_import_shape (imp, in[0]);
  if (axis < 0)
    axis += s.rank;
  if (axis == s.rank)
    {
      /* everything into the second dimension: (N, ..., 1) */
      int64_t shape[2] = { 0, -1 };
      int r = hone_graph_reshape (imp->g, layer (imp), in[0]->id, shape, 2, error);
      if (r < 0)
        return FALSE;
      int64_t shape3[3] = { 0, -1, 1 };
      int y = hone_graph_reshape (imp->g, layer (imp), r, shape3, 3, error);
      set_out (imp, n, 0, y);
      return y >= 0;
    }
  int y = hone_graph_flatten (imp->g, layer (imp), in[0]->id, axis, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* A reshape of an activation to `target` (full shape, batch first, ONNX
 * Reshape semantics); the first entry must stand for the batch. */
static int
reshape_to (OnnxImport *imp, const char *name, int x, int64_t *target, const guint8 *batch,
            int rank, const Onnx__NodeProto *n, GError **error)
{
  if (rank < 1 || rank > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "a shape of %d dimensions", rank);
      return -1;
    }
  if ((batch && batch[0]) || target[0] == imp->static_batch)
    target[0] = 0;
  if (imp->after_head[imp->node_index] && imp->new_classes > 0)
    for (int k = 1; k < rank; k++)
      if (target[k] == imp->head_classes)
        target[k] = imp->new_classes;
  return hone_graph_reshape (imp->g, name, x, target, rank, error);
}

static gboolean
node_reshape (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  g_autofree int64_t *shape = NULL;
  int rank;
  if (n_in < 2 || (rank = known_ints (imp, n, in[1], "the shape", &shape, error)) < 0)
    {
      if (n_in < 2)
        onnx_node_error (error, HONE_ERROR_FORMAT, n, "has no shape input");
      return FALSE;
    }
  if (onnx_attr_int (n, "allowzero", 0) != 0)
    for (int k = 0; k < rank; k++)
      if (shape[k] == 0)
        {
          onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "allowzero with a 0 in the shape "
                           "(an empty tensor)");
          return FALSE;
        }
  int y = reshape_to (imp, layer (imp), in[0]->id, shape, in[1]->batch, rank, n, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_transpose (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  HoneShape s = onnx_import_shape (imp, in[0]);
  int perm[HONE_MAX_RANK];
  const int64_t *p;
  int np = onnx_attr_ints (n, "perm", &p);
  if (np < 0)
    for (int k = 0; k < s.rank; k++)
      perm[k] = s.rank - 1 - k;
  else if (np != s.rank)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "perm has %d entries for an input of %d "
                       "dimensions", np, s.rank);
      return FALSE;
    }
  else
    for (int k = 0; k < s.rank; k++)
      perm[k] = (int) CLAMP (p[k], -1, HONE_MAX_RANK);
  int y = hone_graph_transpose (imp->g, layer (imp), in[0]->id, perm, s.rank, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_identity (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  (void) error;
  set_out (imp, n, 0, in[0]->id);
  return TRUE;
}

static gboolean
node_dropout (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error) || !only_first_output (imp, n, error))
    return FALSE;
  double p = 0.5;
  if (imp->opset < 12)
    p = onnx_attr_float (n, "ratio", 0.5f);
  else if (n_in > 1 && in[1])
    {
      if (!in[1]->known)
        {
          onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "the ratio must be a constant");
          return FALSE;
        }
      p = in[1]->v[0];
    }
  if (imp->dropout >= 0)
    p = imp->dropout;
  if (!(p >= 0.0 && p < 1.0))
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "ratio %g is outside [0, 1)", p);
      return FALSE;
    }
  if (p == 0.0)
    {
      set_out (imp, n, 0, in[0]->id);
      return TRUE;
    }
  int y = hone_graph_dropout (imp->g, layer (imp), in[0]->id, (float) p, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_softmax (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  HoneShape s = onnx_import_shape (imp, in[0]);
  int axis = (int) onnx_attr_int (n, "axis", imp->opset < 13 ? 1 : -1);
  if (axis < 0)
    axis += s.rank;
  if (axis <= 0 || axis >= s.rank)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "axis %d: Hone computes softmax within "
                       "a sample only (axis 1 to %d)", axis, s.rank - 1);
      return FALSE;
    }
  if (imp->opset >= 13 || axis == s.rank - 1)
    {
      int y = hone_graph_softmax (imp->g, layer (imp), in[0]->id, axis, error);
      if (y < 0)
        return FALSE;
      set_out (imp, n, 0, y);
      return TRUE;
    }
  /* before opset 13: over all dimensions from axis on, as one */
  int64_t shape[HONE_MAX_RANK];
  for (int k = 0; k < axis; k++)
    shape[k] = k == 0 ? 0 : s.d[k];
  shape[axis] = -1;
  g_autofree char *flat = sub_name (imp, "flatten");
  g_autofree char *soft = sub_name (imp, "softmax");
  int r = hone_graph_reshape (imp->g, flat, in[0]->id, shape, axis + 1, error);
  if (r < 0 || (r = hone_graph_softmax (imp->g, soft, r, axis, error)) < 0)
    return FALSE;
  int64_t back[HONE_MAX_RANK];
  back[0] = 0;
  for (int k = 1; k < s.rank; k++)
    back[k] = s.d[k];
  int y = hone_graph_reshape (imp->g, layer (imp), r, back, s.rank, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* Axes of Squeeze / Unsqueeze: an attribute before opset 13, an input since. */
static int
squeeze_axes (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in,
              int64_t **axes, GError **error)
{
  if (imp->opset < 13)
    {
      const int64_t *p;
      int np = onnx_attr_ints (n, "axes", &p);
      if (np < 0)
        {
          *axes = NULL;
          return 0;
        }
      *axes = g_memdup2 (p, sizeof (int64_t) * MAX (np, 1));
      return np;
    }
  if (n_in < 2 || !in[1])
    {
      *axes = NULL;
      return 0;
    }
  return known_ints (imp, n, in[1], "axes", axes, error);
}

static gboolean
node_squeeze (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  gboolean unsq = strcmp (n->op_type, "Unsqueeze") == 0;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  g_autofree int64_t *axes = NULL;
  int na = squeeze_axes (imp, n, in, n_in, &axes, error);
  if (na < 0)
    return FALSE;
  HoneShape s = onnx_import_shape (imp, in[0]);
  int out_rank = unsq ? s.rank + na : s.rank;
  gboolean mark[HONE_MAX_RANK * 2] = { FALSE };
  if (unsq && (na == 0 || out_rank > HONE_MAX_RANK))
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "needs 1 to %d axes", HONE_MAX_RANK - s.rank);
      return FALSE;
    }
  for (int k = 0; k < na; k++)
    {
      int64_t a = axes[k] < 0 ? axes[k] + out_rank : axes[k];
      if (a < 0 || a >= out_rank || mark[a])
        {
          onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "axis %" G_GINT64_FORMAT " is out of "
                           "range or repeated", axes[k]);
          return FALSE;
        }
      if (a == 0)
        {
          onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "axis 0 is the batch, which Hone "
                           "keeps first");
          return FALSE;
        }
      if (!unsq && s.d[a] != 1)
        {
          onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "dimension %" G_GINT64_FORMAT " has "
                           "size %" G_GINT64_FORMAT ", not 1", a, s.d[a]);
          return FALSE;
        }
      mark[a] = TRUE;
    }
  int64_t shape[HONE_MAX_RANK];
  int r = 0;
  if (unsq)
    for (int k = 0, j = 0; k < out_rank; k++)
      shape[r++] = mark[k] ? 1 : s.d[j++];
  else
    for (int k = 0; k < s.rank; k++)
      if (!(na == 0 ? (k > 0 && s.d[k] == 1) : mark[k]))
        shape[r++] = s.d[k];
  shape[0] = 0;
  int y = hone_graph_reshape (imp->g, layer (imp), in[0]->id, shape, r, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* ---- ops beyond the built-in architectures ------------------------------------------ */

static gboolean
node_tanh (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return unary (imp, n, in, hone_graph_tanh, error);
}

static gboolean
node_sqrt (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return unary (imp, n, in, hone_graph_sqrt, error);
}

static gboolean
node_leaky_relu (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  int y = hone_graph_leaky_relu (imp->g, layer (imp), in[0]->id,
                                 onnx_attr_float (n, "alpha", 0.01f), error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_pow (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  if (n_in < 2 || !in[1] || !in[1]->known || hone_shape_numel (&in[1]->shape) != 1)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "the exponent must be a constant scalar");
      return FALSE;
    }
  int y = hone_graph_pow (imp->g, layer (imp), in[0]->id, (float) in[1]->v[0], error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* The only node reading `name` after the current one, or -1. */
static int
sole_consumer (OnnxImport *imp, const char *name, const char *op_type)
{
  if (GPOINTER_TO_UINT (g_hash_table_lookup (imp->consumers, name)) != 1)
    return -1;
  for (size_t i = imp->node_index + 1; i < imp->gp->n_node; i++)
    {
      const Onnx__NodeProto *m = imp->gp->node[i];
      for (size_t k = 0; k < m->n_input; k++)
        if (strcmp (m->input[k], name) == 0)
          return strcmp (m->op_type, op_type) == 0 ? (int) i : -1;
    }
  return -1;
}

static gboolean
is_scalar (OnnxImport *imp, const char *name, double value, double tol)
{
  OnnxVal *v = onnx_import_get (imp, name);
  return v && v->known && hone_shape_numel (&v->shape) == 1 && fabs (v->v[0] - value) <= tol;
}

/* The other input of a two-input node m than `name`, or NULL. */
static const char *
other_input (const Onnx__NodeProto *m, const char *name)
{
  if (m->n_input != 2)
    return NULL;
  if (strcmp (m->input[0], name) == 0)
    return m->input[1];
  if (strcmp (m->input[1], name) == 0)
    return m->input[0];
  return NULL;
}

/* torch writes the exact GELU as x * 0.5 * (1 + erf(x / sqrt(2))):
 * Div(x, 1.414) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5) (the last two in
 * either order).  Returns the index of the node whose output is the GELU's,
 * marking the chain done, or -1. */
static int
match_gelu (OnnxImport *imp, const Onnx__NodeProto *div, const char *x)
{
  if (div->n_input != 2 || strcmp (div->input[0], x) != 0
      || !is_scalar (imp, div->input[1], G_SQRT2, 1e-4))
    return -1;
  int e = sole_consumer (imp, div->output[0], "Erf");
  if (e < 0)
    return -1;
  int saved = imp->node_index;
  imp->node_index = e;
  int a = sole_consumer (imp, imp->gp->node[e]->output[0], "Add");
  const char *one = a >= 0 ? other_input (imp->gp->node[a], imp->gp->node[e]->output[0]) : NULL;
  int m1 = -1, m2 = -1;
  if (one && is_scalar (imp, one, 1.0, 1e-6))
    {
      imp->node_index = a;
      m1 = sole_consumer (imp, imp->gp->node[a]->output[0], "Mul");
    }
  if (m1 >= 0)
    {
      const char *o = other_input (imp->gp->node[m1], imp->gp->node[a]->output[0]);
      imp->node_index = m1;
      m2 = sole_consumer (imp, imp->gp->node[m1]->output[0], "Mul");
      const char *o2 = m2 >= 0 ? other_input (imp->gp->node[m2], imp->gp->node[m1]->output[0]) : NULL;
      /* (x * (1 + erf)) * 0.5 or (0.5 * (1 + erf)) * x */
      if (!(o && o2 && ((strcmp (o, x) == 0 && is_scalar (imp, o2, 0.5, 1e-6))
                        || (strcmp (o2, x) == 0 && is_scalar (imp, o, 0.5, 1e-6)))))
        m2 = -1;
    }
  imp->node_index = saved;
  if (m2 < 0)
    return -1;
  imp->done[e] = imp->done[a] = imp->done[m1] = imp->done[m2] = TRUE;
  return m2;
}

static gboolean
node_div_or_gelu (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (n_in == 2 && in[0] && is_batched (imp, in[0]))
    {
      int last = match_gelu (imp, n, n->input[0]);
      if (last >= 0)
        {
          int y = hone_graph_gelu (imp->g, layer (imp), in[0]->id, FALSE, error);
          if (y < 0)
            return FALSE;
          set_out (imp, imp->gp->node[last], 0, y);
          return TRUE;
        }
    }
  return binary (imp, n, in, n_in, hone_graph_div, FALSE, NULL, error);
}

static gboolean
node_erf (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) n_in;
  return unary (imp, n, in, hone_graph_erf, error);
}

/* Axes (attribute, or input where the opset moved them there) as ints. */
static int
reduce_axes (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, int *axes,
             GError **error)
{
  gboolean from_input = strcmp (n->op_type, "ReduceSum") == 0 ? imp->opset >= 13 : imp->opset >= 18;
  g_autofree int64_t *a = NULL;
  int na;
  if (from_input)
    {
      if (n_in < 2 || !in[1])
        return 0;
      if ((na = known_ints (imp, n, in[1], "axes", &a, error)) < 0)
        return -1;
    }
  else
    {
      const int64_t *p;
      na = onnx_attr_ints (n, "axes", &p);
      if (na <= 0)
        return 0;
      a = g_memdup2 (p, sizeof (int64_t) * na);
    }
  if (na > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "too many axes");
      return -1;
    }
  for (int k = 0; k < na; k++)
    axes[k] = (int) CLAMP (a[k], -HONE_MAX_RANK - 1, HONE_MAX_RANK + 1);
  return na;
}

static gboolean
node_reduce (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  gboolean mean = strcmp (n->op_type, "ReduceMean") == 0;
  HoneShape s = onnx_import_shape (imp, in[0]);
  int axes[HONE_MAX_RANK];
  int na = reduce_axes (imp, n, in, n_in, axes, error);
  if (na < 0)
    return FALSE;
  gboolean keep = onnx_attr_int (n, "keepdims", 1) != 0;
  if (na == 0)
    {
      if (onnx_attr_int (n, "noop_with_empty_axes", 0) != 0)
        {
          set_out (imp, n, 0, in[0]->id);
          return TRUE;
        }
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "reduces every axis, the batch "
                       "included; Hone reduces within a sample only");
      return FALSE;
    }
  /* the spatial mean of an image is a global average pool (faster) */
  gboolean spatial = mean && s.rank == 4 && na == 2;
  for (int k = 0; spatial && k < 2; k++)
    {
      int a = axes[k] < 0 ? axes[k] + 4 : axes[k];
      spatial = a == 2 || a == 3;
    }
  spatial = spatial && (axes[0] < 0 ? axes[0] + 4 : axes[0]) != (axes[1] < 0 ? axes[1] + 4 : axes[1]);
  int y;
  if (spatial)
    {
      g_autofree char *pool_name = keep ? g_strdup (layer (imp)) : sub_name (imp, "pool");
      y = hone_graph_global_avg_pool (imp->g, pool_name, in[0]->id, error);
      if (y >= 0 && !keep)
        {
          int64_t shape[2] = { 0, -1 };
          y = hone_graph_reshape (imp->g, layer (imp), y, shape, 2, error);
        }
    }
  else
    y = (mean ? hone_graph_reduce_mean : hone_graph_reduce_sum) (imp->g, layer (imp), in[0]->id,
                                                                 axes, na, keep, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_layer_norm (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error) || !only_first_output (imp, n, error))
    return FALSE;
  if (n_in < 2 || !in[1])
    {
      onnx_node_error (error, HONE_ERROR_FORMAT, n, "has no scale");
      return FALSE;
    }
  int s = weight (imp, in[1], in[1]->known ? HONE_VALUE_PARAM : HONE_VALUE_CONST, "weight", error);
  int b = -1;
  if (s < 0)
    return FALSE;
  if (n_in > 2 && in[2] && (b = weight (imp, in[2], HONE_VALUE_PARAM, "bias", error)) < 0)
    return FALSE;
  if (onnx_attr_int (n, "stash_type", 1) != 1)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "stash_type other than float");
      return FALSE;
    }
  int y = hone_graph_layer_norm (imp->g, layer (imp), in[0]->id, s, b,
                                 (int) onnx_attr_int (n, "axis", -1),
                                 onnx_attr_float (n, "epsilon", 1e-5f), error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_slice (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  g_autofree int64_t *starts = NULL, *ends = NULL, *axes64 = NULL, *steps = NULL;
  int ns;
  if (imp->opset < 10)
    {
      const int64_t *p;
      ns = onnx_attr_ints (n, "starts", &p);
      if (ns < 0 || onnx_attr_ints (n, "ends", &p) != ns)
        {
          onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "starts and ends must have the same "
                           "length");
          return FALSE;
        }
      onnx_attr_ints (n, "starts", &p);
      starts = g_memdup2 (p, sizeof (int64_t) * MAX (ns, 1));
      onnx_attr_ints (n, "ends", &p);
      ends = g_memdup2 (p, sizeof (int64_t) * MAX (ns, 1));
      if (onnx_attr_ints (n, "axes", &p) == ns)
        axes64 = g_memdup2 (p, sizeof (int64_t) * MAX (ns, 1));
    }
  else
    {
      if (n_in < 3 || (ns = known_ints (imp, n, in[1], "starts", &starts, error)) < 0
          || known_ints (imp, n, in[2], "ends", &ends, error) != ns)
        {
          if (error && !*error)
            onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "starts and ends must be constants "
                             "of the same length");
          return FALSE;
        }
      if (n_in > 3 && in[3] && known_ints (imp, n, in[3], "axes", &axes64, error) != ns)
        {
          if (error && !*error)
            onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "axes has the wrong length");
          return FALSE;
        }
      if (n_in > 4 && in[4] && known_ints (imp, n, in[4], "steps", &steps, error) != ns)
        {
          if (error && !*error)
            onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "steps has the wrong length");
          return FALSE;
        }
    }
  if (ns < 1 || ns > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "%d sliced axes", ns);
      return FALSE;
    }
  int axes[HONE_MAX_RANK];
  for (int k = 0; k < ns; k++)
    axes[k] = axes64 ? (int) CLAMP (axes64[k], -HONE_MAX_RANK - 1, HONE_MAX_RANK + 1) : k;
  int y = hone_graph_slice (imp->g, layer (imp), in[0]->id, starts, ends, axes, steps, ns, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

static gboolean
node_split (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  int n_out = (int) n->n_output;
  if (n_out < 1 || n_out > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "%d outputs; Hone splits into 1 to %d",
                       n_out, HONE_MAX_RANK);
      return FALSE;
    }
  g_autofree int64_t *sizes = NULL;
  int nsz = -1;
  if (imp->opset < 13)
    {
      const int64_t *p;
      nsz = onnx_attr_ints (n, "split", &p);
      if (nsz > 0)
        sizes = g_memdup2 (p, sizeof (int64_t) * nsz);
    }
  else if (n_in > 1 && in[1])
    {
      if ((nsz = known_ints (imp, n, in[1], "split", &sizes, error)) < 0)
        return FALSE;
    }
  if (sizes && nsz != n_out)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "split has %d sizes for %d outputs", nsz,
                       n_out);
      return FALSE;
    }
  int ids[HONE_MAX_RANK];
  if (hone_graph_split (imp->g, layer (imp), in[0]->id, (int) onnx_attr_int (n, "axis", 0),
                        sizes, n_out, ids, error) < 0)
    return FALSE;
  for (int k = 0; k < n_out; k++)
    set_out (imp, n, k, ids[k]);
  return TRUE;
}

static gboolean
node_pad (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_batched (imp, n, in, 0, error))
    return FALSE;
  HoneShape s = onnx_import_shape (imp, in[0]);
  g_autofree int64_t *pads = NULL;
  int np;
  float value = 0.0f;
  if (imp->opset < 11)
    {
      const int64_t *p;
      np = onnx_attr_ints (n, "pads", &p);
      if (np > 0)
        pads = g_memdup2 (p, sizeof (int64_t) * np);
      value = onnx_attr_float (n, "value", 0.0f);
    }
  else
    {
      if (n_in < 2 || (np = known_ints (imp, n, in[1], "pads", &pads, error)) < 0)
        {
          if (error && !*error)
            onnx_node_error (error, HONE_ERROR_FORMAT, n, "has no pads");
          return FALSE;
        }
      if (n_in > 2 && in[2])
        {
          if (!in[2]->known || hone_shape_numel (&in[2]->shape) != 1)
            {
              onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "the constant value must be a "
                               "constant scalar");
              return FALSE;
            }
          value = (float) in[2]->v[0];
        }
      if (n_in > 3 && in[3])
        {
          onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "the axes input (opset 18)");
          return FALSE;
        }
    }
  if (np != 2 * s.rank)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "pads has %d entries for an input of %d "
                       "dimensions (2 per dimension)", np, s.rank);
      return FALSE;
    }
  g_autofree char *m = onnx_attr_string (n, "mode");
  HonePadMode mode = HONE_PAD_CONSTANT;
  if (m && strcmp (m, "reflect") == 0)
    mode = HONE_PAD_REFLECT;
  else if (m && strcmp (m, "edge") == 0)
    mode = HONE_PAD_EDGE;
  else if (m && strcmp (m, "constant") != 0)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "mode '%s'", m);
      return FALSE;
    }

  /* A zero Pad of the spatial dimensions read only by a Conv: the Conv pads. */
  if (mode == HONE_PAD_CONSTANT && value == 0.0f && s.rank == 4
      && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0
      && pads[2] >= 0 && pads[3] >= 0 && pads[6] >= 0 && pads[7] >= 0
      && pads[2] <= 65536 && pads[3] <= 65536 && pads[6] <= 65536 && pads[7] <= 65536
      && sole_consumer (imp, n->output[0], "Conv") >= 0
      && !g_hash_table_contains (imp->conv_pads, n->output[0]))
    {
      int *cp = g_new (int, 4);
      cp[0] = (int) pads[2];
      cp[1] = (int) pads[3];
      cp[2] = (int) pads[6];
      cp[3] = (int) pads[7];
      g_hash_table_insert (imp->conv_pads, g_strdup (n->output[0]), cp);
      set_out (imp, n, 0, in[0]->id);
      return TRUE;
    }
  int y = hone_graph_pad (imp->g, layer (imp), in[0]->id, pads, s.rank, mode, value, error);
  if (y < 0)
    return FALSE;
  set_out (imp, n, 0, y);
  return TRUE;
}

/* ---- the table ---------------------------------------------------------------------- */

typedef struct
{
  const char *op;
  OnnxNodeFunc func;
} NodeEntry;

static const NodeEntry nodes[] = {
  { "Conv", node_conv },
  { "BatchNormalization", node_batch_norm },
  { "Relu", node_relu },
  { "Sigmoid", node_sigmoid },
  { "HardSigmoid", node_hard_sigmoid },
  { "HardSwish", node_hard_swish },
  { "Clip", node_clip },
  { "MaxPool", node_max_pool },
  { "AveragePool", node_avg_pool },
  { "GlobalAveragePool", node_global_avg_pool },
  { "Gemm", node_gemm },
  { "MatMul", node_matmul },
  { "Add", node_add },
  { "Sub", node_sub },
  { "Mul", node_mul },
  { "Div", node_div_or_gelu },
  { "Concat", node_concat },
  { "Flatten", node_flatten },
  { "Reshape", node_reshape },
  { "Transpose", node_transpose },
  { "Identity", node_identity },
  { "Dropout", node_dropout },
  { "Softmax", node_softmax },
  { "Squeeze", node_squeeze },
  { "Unsqueeze", node_squeeze },
  { "ReduceMean", node_reduce },
  { "ReduceSum", node_reduce },
  { "Erf", node_erf },
  { "Sqrt", node_sqrt },
  { "Tanh", node_tanh },
  { "LeakyRelu", node_leaky_relu },
  { "Pow", node_pow },
  { "LayerNormalization", node_layer_norm },
  { "Slice", node_slice },
  { "Split", node_split },
  { "Pad", node_pad },
};

OnnxNodeFunc
onnx_node_func (const char *op_type)
{
  for (size_t i = 0; i < G_N_ELEMENTS (nodes); i++)
    if (strcmp (nodes[i].op, op_type) == 0)
      return nodes[i].func;
  return NULL;
}

gboolean
onnx_op_supported (const char *op_type)
{
  return onnx_node_func (op_type) || onnx_fold_func (op_type);
}
