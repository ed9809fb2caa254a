/* hone-op-layer-norm.c: LayerNormalization (ONNX opset 17), as
 * torch.nn.functional.layer_norm computes it.
 *
 * x is seen as rows: every dimension before `axis` (the batch included)
 * indexes a row, the dimensions from `axis` on (D elements) are normalised
 * together, and scale and bias (optional) have exactly those dimensions:
 *
 *   mean = sum x / D,  var = sum (x - mean)^2 / D   (biased)
 *   y    = (x - mean) / sqrt(var + eps) * scale + bias
 *
 * (ONNX LayerNormalization: https://onnx.ai/onnx/operators/onnx__LayerNormalization.html;
 * torch.nn.LayerNorm: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html).
 * The row statistics take one pass over the row, summing x - k and
 * (x - k)^2 with k the mean of the row's first elements (a shift that keeps
 * the subtraction E[d^2] - E[d]^2 from cancelling), in HONE_VEC_BLOCK
 * partial sums that vectorise; the row's mean and 1 / sqrt(var + eps) are
 * saved for backward.  Backward, per row, with xhat = (x - mean) rstd and
 * g = dy scale (PyTorch: aten/src/ATen/native/cpu/layer_norm_kernel.cpp):
 *
 *   dx     = rstd (g - sum g / D - xhat sum (g xhat) / D)
 *   dscale += sum over rows dy xhat,  dbias += sum over rows dy
 *
 * Rows run on the engine's threads.  The scale and bias gradients are sums
 * over rows: the rows are cut into at most LN_PARTS fixed parts (whatever
 * the thread count, so results are reproducible), each part sums into its
 * own slice of the workspace, and the parts are added in order at the end.
 *
 * Not here: ONNX's optional Mean and InvStdDev outputs, stash_type other
 * than float, and scale / bias that merely broadcast to x.shape[axis:]. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-ops.h"
#include "hone-parallel.h"
#include "ops/hone-conv-private.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int axis;
  float eps;
} LayerNormAttrs;

/* Parts the rows are cut into for the parameter gradients. */
#define LN_PARTS 32

/* Elements per forward task. */
#define LN_MIN_ELEMS 16384

static int
ln_axis (const LayerNormAttrs *a, int rank)
{
  return a->axis < 0 ? a->axis + rank : a->axis;
}

static gboolean
ln_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const LayerNormAttrs *a = node->attrs;
  char buf[128], buf2[128];

  if ((node->n_in != 2 && node->n_in != 3) || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects inputs x, scale and optionally bias and one "
                               "output, got %d inputs and %d outputs", node->n_in, node->n_out);
      return FALSE;
    }
  if (!isfinite (a->eps) || a->eps < 0.0f)
    {
      hone_op_set_attr_error (error, node, "epsilon %g must be finite and not negative", a->eps);
      return FALSE;
    }
  int r = in[0].rank;
  int axis = ln_axis (a, r);
  if (axis < 0 || axis >= r)
    {
      hone_op_set_attr_error (error, node, "axis %d is out of range for an input with %d "
                              "dimensions", a->axis, r);
      return FALSE;
    }
  if (axis == 0)
    {
      hone_op_set_attr_error (error, node, "axis %d would normalise across the batch "
                              "(dimension 0); use axis 1 or later", a->axis);
      return FALSE;
    }
  int64_t numel;
  if (!hone_shape_numel_checked (&in[0], &numel) || numel == 0)
    {
      hone_op_set_shape_error (error, node, "input has shape %s; expected no empty dimension",
                               hone_shape_to_string (&in[0], buf, sizeof buf));
      return FALSE;
    }
  HoneShape norm = { .rank = r - axis };
  for (int i = axis; i < r; i++)
    norm.d[i - axis] = in[0].d[i];
  for (int i = 1; i < node->n_in; i++)
    if (!hone_shape_equal (&in[i], &norm))
      {
        hone_op_set_shape_error (error, node, "%s has shape %s; expected %s, the input's "
                                 "dimensions from axis %d on", i == 1 ? "scale" : "bias",
                                 hone_shape_to_string (&in[i], buf, sizeof buf),
                                 hone_shape_to_string (&norm, buf2, sizeof buf2), a->axis);
        return FALSE;
      }
  out[0] = in[0];
  return TRUE;
}

/* Rows and row length of x. */
static void
ln_layout (const LayerNormAttrs *a, const HoneShape *x, int64_t *rows, int64_t *D)
{
  int axis = ln_axis (a, x->rank);
  *rows = 1;
  *D = 1;
  for (int i = 0; i < x->rank; i++)
    {
      if (i < axis)
        *rows *= x->d[i];
      else
        *D *= x->d[i];
    }
}

static double
ln_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  /* Statistics (subtract, multiply-add, add) and the affine map (subtract,
   * multiply, multiply-add). */
  return 6.0 * (double) hone_shape_numel (&out[0]);
}

static gsize
ln_saved_size (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  int64_t rows, D;
  ln_layout (node->attrs, &in[0], &rows, &D);
  return 2 * (gsize) rows * sizeof (float);          /* mean, rstd: (2, rows) */
}

static int64_t
ln_parts (int64_t rows)
{
  return MIN (rows, LN_PARTS);
}

static gsize
ln_workspace_size (const HoneNode *node, const HoneShape *in, const HoneShape *out,
                   gboolean backward)
{
  if (!backward)
    return 0;
  int64_t rows, D;
  ln_layout (node->attrs, &in[0], &rows, &D);
  return 2 * (gsize) ln_parts (rows) * (gsize) D * sizeof (float);   /* (parts, 2, D) */
}

typedef struct
{
  int64_t rows, D;
  float eps;
  float *y;                 /* (rows, D) */
  float *dx;                /* (rows, D) or NULL */
  gboolean dx_fresh;
  float *dscale, *dbias;    /* (D) or NULL */
  float *partial;           /* (parts, 2, D): per part dscale, dbias */
  int64_t parts;
  float *mean, *rstd;       /* (rows): saved, or NULL */
  const float *x;           /* (rows, D) */
  const float *dy;          /* (rows, D) */
  const float *scale;       /* (D) */
  const float *bias;        /* (D) or NULL */
} LnArgs;

/* ---- forward ------------------------------------------------------------- */

/* Mean and 1 / sqrt(var + eps) of one row, in one pass. */
static inline void
ln_row_moments (const float *restrict x, int64_t D, float eps, float *mean, float *rstd)
{
  int64_t nk = MIN (D, HONE_VEC_BLOCK);
  float k = 0.0f;
  for (int64_t i = 0; i < nk; i++)
    k += x[i];
  k /= (float) nk;

  float s1[HONE_VEC_BLOCK] = { 0 }, s2[HONE_VEC_BLOCK] = { 0 };
  int64_t i = 0;
  for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
    for (int l = 0; l < HONE_VEC_BLOCK; l++)
      {
        float d = x[i + l] - k;
        s1[l] += d;
        s2[l] += d * d;
      }
  double t1 = 0.0, t2 = 0.0;
  for (; i < D; i++)
    {
      double d = (double) x[i] - k;
      t1 += d;
      t2 += d * d;
    }
  for (int l = 0; l < HONE_VEC_BLOCK; l++)
    {
      t1 += s1[l];
      t2 += s2[l];
    }
  double m = t1 / (double) D;
  double var = t2 / (double) D - m * m;
  if (var < 0.0)
    var = 0.0;
  *mean = (float) (k + m);
  *rstd = (float) (1.0 / sqrt (var + (double) eps));
}

/* y[j] = (x[j] - mean) rstd scale[j] + bias[j] (bias may be NULL) */
static inline void
ln_row_apply (float *restrict y, const float *restrict x, const float *restrict scale,
              const float *restrict bias, float mean, float rstd, int64_t D)
{
  int64_t i = 0;
  if (bias)
    {
      for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
        for (int l = 0; l < HONE_VEC_BLOCK; l++)
          y[i + l] = (x[i + l] - mean) * rstd * scale[i + l] + bias[i + l];
      for (; i < D; i++)
        y[i] = (x[i] - mean) * rstd * scale[i] + bias[i];
    }
  else
    {
      for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
        for (int l = 0; l < HONE_VEC_BLOCK; l++)
          y[i + l] = (x[i + l] - mean) * rstd * scale[i + l];
      for (; i < D; i++)
        y[i] = (x[i] - mean) * rstd * scale[i];
    }
}

HONE_VEC_CLONES static void
ln_forward_task (int64_t begin, int64_t end, gpointer data)
{
  const LnArgs *a = data;
  for (int64_t r = begin; r < end; r++)
    {
      const float *x = a->x + r * a->D;
      float mean, rstd;
      ln_row_moments (x, a->D, a->eps, &mean, &rstd);
      ln_row_apply (a->y + r * a->D, x, a->scale, a->bias, mean, rstd, a->D);
      if (a->mean)
        {
          a->mean[r] = mean;
          a->rstd[r] = rstd;
        }
    }
}

static void
ln_args_init (LnArgs *a, const HoneOpCtx *ctx)
{
  const LayerNormAttrs *attrs = ctx->attrs;
  *a = (LnArgs) {
    .eps = attrs->eps,
    .x = ctx->in[0].data,
    .scale = ctx->in[1].data,
    .bias = ctx->node->n_in > 2 ? ctx->in[2].data : NULL,
  };
  ln_layout (attrs, &ctx->in[0].shape, &a->rows, &a->D);
  if (ctx->saved)
    {
      g_assert (ctx->saved_size >= 2 * (gsize) a->rows * sizeof (float));
      a->mean = ctx->saved;
      a->rstd = a->mean + a->rows;
    }
}

static void
ln_forward (const HoneOpCtx *ctx)
{
  LnArgs a;
  ln_args_init (&a, ctx);
  a.y = ctx->out[0].data;
  hone_parallel_for (a.rows, MAX (1, LN_MIN_ELEMS / a.D), ln_forward_task, &a);
}

/* ---- backward ------------------------------------------------------------ */

/* Rows [begin, end): dx, and into ps / pb (each (D), may be NULL) the rows'
 * terms of the scale and bias gradients. */
static inline __attribute__ ((always_inline)) void
ln_backward_rows (const LnArgs *a, int64_t begin, int64_t end, float *restrict ps,
                  float *restrict pb)
{
  const int64_t D = a->D;
  const float *restrict scale = a->scale;
  const float inv_d = 1.0f / (float) D;
  for (int64_t r = begin; r < end; r++)
    {
      const float *restrict x = a->x + r * D;
      const float *restrict dy = a->dy + r * D;
      const float mean = a->mean[r], rstd = a->rstd[r];
      int64_t i;
      if (ps)
        {
          i = 0;
          for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
            for (int l = 0; l < HONE_VEC_BLOCK; l++)
              ps[i + l] += dy[i + l] * ((x[i + l] - mean) * rstd);
          for (; i < D; i++)
            ps[i] += dy[i] * ((x[i] - mean) * rstd);
        }
      if (pb)
        hone_vec_add (pb, dy, D);
      if (!a->dx)
        continue;

      /* sum g and sum g xhat, with g = dy scale */
      float s1[HONE_VEC_BLOCK] = { 0 }, s2[HONE_VEC_BLOCK] = { 0 };
      i = 0;
      for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
        for (int l = 0; l < HONE_VEC_BLOCK; l++)
          {
            float g = dy[i + l] * scale[i + l];
            s1[l] += g;
            s2[l] += g * ((x[i + l] - mean) * rstd);
          }
      double t1 = 0.0, t2 = 0.0;
      for (; i < D; i++)
        {
          float g = dy[i] * scale[i];
          t1 += g;
          t2 += (double) g * ((x[i] - mean) * rstd);
        }
      for (int l = 0; l < HONE_VEC_BLOCK; l++)
        {
          t1 += s1[l];
          t2 += s2[l];
        }
      const float b = (float) t1 * inv_d, c = (float) t2 * inv_d;
      float *restrict dx = a->dx + r * D;
      i = 0;
      if (a->dx_fresh)
        {
          for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
            for (int l = 0; l < HONE_VEC_BLOCK; l++)
              dx[i + l] = rstd * (dy[i + l] * scale[i + l] - b - (x[i + l] - mean) * rstd * c);
          for (; i < D; i++)
            dx[i] = rstd * (dy[i] * scale[i] - b - (x[i] - mean) * rstd * c);
        }
      else
        {
          for (; i + HONE_VEC_BLOCK <= D; i += HONE_VEC_BLOCK)
            for (int l = 0; l < HONE_VEC_BLOCK; l++)
              dx[i + l] += rstd * (dy[i + l] * scale[i + l] - b - (x[i + l] - mean) * rstd * c);
          for (; i < D; i++)
            dx[i] += rstd * (dy[i] * scale[i] - b - (x[i] - mean) * rstd * c);
        }
    }
}

/* Without parameter gradients: any rows. */
HONE_VEC_CLONES static void
ln_backward_dx_task (int64_t begin, int64_t end, gpointer data)
{
  ln_backward_rows (data, begin, end, NULL, NULL);
}

/* With parameter gradients: parts [begin, end), each into its own partial sums. */
HONE_VEC_CLONES static void
ln_backward_part_task (int64_t begin, int64_t end, gpointer data)
{
  const LnArgs *a = data;
  for (int64_t p = begin; p < end; p++)
    {
      float *ps = a->partial + p * 2 * a->D;
      float *pb = ps + a->D;
      memset (ps, 0, 2 * (gsize) a->D * sizeof (float));
      int64_t r0 = a->rows * p / a->parts, r1 = a->rows * (p + 1) / a->parts;
      ln_backward_rows (a, r0, r1, a->dscale ? ps : NULL, a->dbias ? pb : NULL);
    }
}

static void
ln_backward (const HoneOpCtx *ctx)
{
  LnArgs a;
  ln_args_init (&a, ctx);
  g_assert (a.mean != NULL);
  a.dy = ctx->dout[0].data;
  a.dx = ctx->din[0].data;
  a.dx_fresh = (ctx->din_fresh & 1u) != 0;
  a.dscale = ctx->din[1].data;
  a.dbias = ctx->node->n_in > 2 ? ctx->din[2].data : NULL;
  if (!a.dscale && !a.dbias)
    {
      if (a.dx)
        hone_parallel_for (a.rows, MAX (1, LN_MIN_ELEMS / a.D), ln_backward_dx_task, &a);
      return;
    }
  a.parts = ln_parts (a.rows);
  g_assert (ctx->workspace_size >= 2 * (gsize) a.parts * (gsize) a.D * sizeof (float));
  a.partial = ctx->workspace;
  hone_parallel_for (a.parts, 1, ln_backward_part_task, &a);
  for (int64_t p = 0; p < a.parts; p++)
    {
      const float *ps = a.partial + p * 2 * a.D;
      if (a.dscale)
        hone_vec_add (a.dscale, ps, a.D);
      if (a.dbias)
        hone_vec_add (a.dbias, ps + a.D, a.D);
    }
}

/* LayerNormalization is opset 17: written as the nodes torch.onnx writes
 * for older opsets, with the biased variance and eps inside the root:
 *   d = x - ReduceMean(x), y = d / Sqrt(ReduceMean(d d) + eps) scale + bias
 * over axes axis..rank-1. */
static const char *
ln_node (HoneOnnxWriter *w, const HoneNode *node, const char *op, const char *a, const char *b,
         const char *out)
{
  g_autofree char *base = g_strdup_printf ("%s.%s", node->name, op);
  if (!out)
    out = hone_onnx_writer_fresh (w, base);
  const char *in[2] = { a, b };
  hone_onnx_writer_add_node (w, op, base, in, b ? 2 : 1, &out, 1);
  return out;
}

static const char *
ln_mean (HoneOnnxWriter *w, const HoneNode *node, const char *x, const int64_t *axes, int n)
{
  g_autofree char *base = g_strdup_printf ("%s.ReduceMean", node->name);
  const char *out = hone_onnx_writer_fresh (w, base);
  Onnx__NodeProto *r = hone_onnx_writer_add_node (w, "ReduceMean", base, &x, 1, &out, 1);
  hone_onnx_node_set_ints (w, r, "axes", axes, n);
  hone_onnx_node_set_int (w, r, "keepdims", 1);
  return out;
}

static gboolean
ln_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const LayerNormAttrs *a = node->attrs;
  int rank = hone_onnx_writer_input_rank (w, node, 0);
  int axis = a->axis < 0 ? a->axis + rank : a->axis;
  int64_t axes[HONE_MAX_RANK];
  int n = 0;
  for (int d = axis; d < rank; d++)
    axes[n++] = d;
  const char *x = hone_onnx_writer_input (w, node, 0);
  const char *y = hone_onnx_writer_output (w, node, 0);
  gboolean bias = node->n_in > 2;
  const char *mean = ln_mean (w, node, x, axes, n);
  const char *d = ln_node (w, node, "Sub", x, mean, NULL);
  const char *d2 = ln_node (w, node, "Mul", d, d, NULL);
  const char *var = ln_mean (w, node, d2, axes, n);
  const char *ve = ln_node (w, node, "Add", var, hone_onnx_writer_scalar (w, a->eps), NULL);
  const char *sd = ln_node (w, node, "Sqrt", ve, NULL, NULL);
  const char *norm = ln_node (w, node, "Div", d, sd, NULL);
  const char *scaled = ln_node (w, node, "Mul", norm, hone_onnx_writer_input (w, node, 1),
                                bias ? NULL : y);
  if (bias)
    ln_node (w, node, "Add", scaled, hone_onnx_writer_input (w, node, 2), y);
  return TRUE;
}

const HoneOpClass hone_op_layer_norm = {
  .name = "LayerNormalization",
  .keep_inputs = (1u << 0) | (1u << 1),     /* x and scale */
  .din_store = 1u << 0,
  .infer_shape = ln_infer_shape,
  .forward = ln_forward,
  .backward = ln_backward,
  .flops = ln_flops,
  .workspace_size = ln_workspace_size,
  .saved_size = ln_saved_size,
  .to_onnx = ln_to_onnx,
};

int
hone_graph_layer_norm (HoneGraph *g, const char *name, int x, int scale, int bias, int axis,
                       float eps, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL, -1);
  LayerNormAttrs attrs = { .axis = axis, .eps = eps };
  int in[3] = { x, scale, bias };
  return hone_graph_add_node (g, &hone_op_layer_norm, hone_op_attrs_dup (&attrs), name, in,
                              bias >= 0 ? 3 : 2, 1, NULL, error);
}
