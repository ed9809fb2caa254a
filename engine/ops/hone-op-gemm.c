/* hone-op-gemm.c: Gemm, Y = alpha op(A) op(B) + beta C (ONNX Gemm), the
 * fully connected layer.  PyTorch's nn.Linear is trans_b with
 * alpha = beta = 1: Y = X W^T + b.
 *
 * A (N, K) is the activation, so N is the batch; B (K, M), or (M, K) with
 * trans_b, and the optional C, unidirectionally broadcastable to (N, M)
 * ((), (1), (M), (1, M), (N, 1), (N, M)), follow ONNX.  One cblas_sgemm per
 * pass and operand.  trans_a is refused: A^T would put the batch, A's first
 * dimension, into the contraction instead of the output's first dimension,
 * which no model that Hone trains can do.  Backward reads A and B; C's
 * gradient is beta times dY summed over the dimensions C was broadcast
 * along. */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "hone-ops.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

static gboolean
gemm_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const HoneGemmAttrs *attrs = node->attrs;
  char sa[128], sb[128];
  if (node->n_in < 2 || node->n_in > 3 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects A, B and an optional C, and one output; "
                               "got %d inputs and %d outputs", node->n_in, node->n_out);
      return FALSE;
    }
  if (!isfinite (attrs->alpha) || !isfinite (attrs->beta))
    {
      hone_op_set_attr_error (error, node, "alpha %g and beta %g must be finite numbers",
                              attrs->alpha, attrs->beta);
      return FALSE;
    }
  if (attrs->trans_a)
    {
      hone_op_set_attr_error (error, node, "transA is not supported: A's first dimension is the "
                              "batch and must stay the output's first dimension");
      return FALSE;
    }
  if (in[0].rank != 2 || in[1].rank != 2)
    {
      hone_op_set_shape_error (error, node, "A %s and B %s must both have two dimensions",
                               hone_shape_to_string (&in[0], sa, sizeof sa),
                               hone_shape_to_string (&in[1], sb, sizeof sb));
      return FALSE;
    }
  int64_t n = in[0].d[0], k = in[0].d[1];
  int64_t kb = attrs->trans_b ? in[1].d[1] : in[1].d[0];
  int64_t m = attrs->trans_b ? in[1].d[0] : in[1].d[1];
  if (k != kb)
    {
      hone_op_set_shape_error (error, node, "inner dimensions differ: A %s has %" G_GINT64_FORMAT
                               " columns but B %s%s has %" G_GINT64_FORMAT " rows",
                               hone_shape_to_string (&in[0], sa, sizeof sa), k,
                               hone_shape_to_string (&in[1], sb, sizeof sb),
                               attrs->trans_b ? " (transposed)" : "", kb);
      return FALSE;
    }
  out[0] = HONE_SHAPE (n, m);
  if (node->n_in == 3)
    {
      const HoneShape *c = &in[2];
      gboolean ok = c->rank <= 2;
      for (int i = 0; ok && i < c->rank; i++)
        {
          int64_t want = out[0].d[2 - c->rank + i];
          ok = c->d[i] == 1 || c->d[i] == want;
        }
      if (!ok)
        {
          hone_op_set_shape_error (error, node, "C %s does not broadcast to the output %s",
                                   hone_shape_to_string (c, sa, sizeof sa),
                                   hone_shape_to_string (&out[0], sb, sizeof sb));
          return FALSE;
        }
    }
  return TRUE;
}

/* C's extents seen as (cn, cm), each 1 or the output's. */
static void
bias_extents (const HoneShape *c, int64_t *cn, int64_t *cm)
{
  *cn = c->rank == 2 ? c->d[0] : 1;
  *cm = c->rank >= 1 ? c->d[c->rank - 1] : 1;
}

static void
gemm_forward (const HoneOpCtx *ctx)
{
  const HoneGemmAttrs *attrs = ctx->attrs;
  const float *a = ctx->in[0].data;       /* (N, K) */
  const float *b = ctx->in[1].data;       /* (K, M), or (M, K) with trans_b */
  float *y = ctx->out[0].data;            /* (N, M) */
  const int64_t n = ctx->in[0].shape.d[0], k = ctx->in[0].shape.d[1];
  const int64_t m = ctx->out[0].shape.d[1];
  float blas_beta = 0.0f;

  if (n == 0 || m == 0)
    return;
  if (ctx->node->n_in == 3 && attrs->beta != 0.0f)
    {
      const float *c = ctx->in[2].data;   /* broadcastable to (N, M) */
      const float beta = attrs->beta;
      int64_t cn, cm;
      bias_extents (&ctx->in[2].shape, &cn, &cm);
      for (int64_t i = 0; i < n; i++)
        {
          float *restrict yr = y + i * m;
          const float *restrict cr = c + (cn > 1 ? i * cm : 0);
          if (cm > 1)
            for (int64_t j = 0; j < m; j++)
              yr[j] = beta * cr[j];
          else
            for (int64_t j = 0; j < m; j++)
              yr[j] = beta * cr[0];
        }
      blas_beta = 1.0f;
    }
  else if (k == 0)
    memset (y, 0, (gsize) (n * m) * sizeof (float));
  if (k == 0)
    return;

  cblas_sgemm (CblasRowMajor, CblasNoTrans, attrs->trans_b ? CblasTrans : CblasNoTrans,
               (int) n, (int) m, (int) k, attrs->alpha, a, (int) k,
               b, attrs->trans_b ? (int) k : (int) m, blas_beta, y, (int) m);
}

/* dC += beta * dY summed over the dimensions C was broadcast along. */
static void
bias_backward (float *dc, const float *dy, const HoneShape *c_shape, int64_t n, int64_t m,
               float beta)
{
  int64_t cn, cm;
  bias_extents (c_shape, &cn, &cm);
  if (cn > 1 && cm > 1)
    {
      for (int64_t i = 0; i < n * m; i++)
        dc[i] += beta * dy[i];
    }
  else if (cn > 1)
    {
      for (int64_t i = 0; i < n; i++)
        {
          float s = 0.0f;
          for (int64_t j = 0; j < m; j++)
            s += dy[i * m + j];
          dc[i] += beta * s;
        }
    }
  else if (cm > 1)
    {
      /* Column sums, a block of columns at a time so the inner loop runs
       * along rows of dY. */
      enum { BLOCK = 256 };
      float sums[BLOCK];
      for (int64_t j0 = 0; j0 < m; j0 += BLOCK)
        {
          int64_t w = MIN (BLOCK, m - j0);
          memset (sums, 0, sizeof sums);
          for (int64_t i = 0; i < n; i++)
            {
              const float *restrict row = dy + i * m + j0;
              for (int64_t j = 0; j < w; j++)
                sums[j] += row[j];
            }
          for (int64_t j = 0; j < w; j++)
            dc[j0 + j] += beta * sums[j];
        }
    }
  else
    {
      float s = 0.0f;
      for (int64_t i = 0; i < n * m; i++)
        s += dy[i];
      dc[0] += beta * s;
    }
}

static void
gemm_backward (const HoneOpCtx *ctx)
{
  const HoneGemmAttrs *attrs = ctx->attrs;
  const float *a = ctx->in[0].data;       /* (N, K) */
  const float *b = ctx->in[1].data;       /* (K, M), or (M, K) with trans_b */
  const float *dy = ctx->dout[0].data;    /* (N, M) */
  float *da = ctx->din[0].data;
  float *db = ctx->din[1].data;
  const int64_t n = ctx->in[0].shape.d[0], k = ctx->in[0].shape.d[1];
  const int64_t m = ctx->out[0].shape.d[1];

  if (n == 0 || m == 0)
    return;
  if (da && k > 0)
    {
      /* dA (N, K) += alpha dY op(B)^T */
      if (attrs->trans_b)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n, (int) k, (int) m,
                     attrs->alpha, dy, (int) m, b, (int) k, 1.0f, da, (int) k);
      else
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) k, (int) m,
                     attrs->alpha, dy, (int) m, b, (int) m, 1.0f, da, (int) k);
    }
  if (db && k > 0)
    {
      if (attrs->trans_b)
        /* dB (M, K) += alpha dY^T A */
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) m, (int) k, (int) n,
                     attrs->alpha, dy, (int) m, a, (int) k, 1.0f, db, (int) k);
      else
        /* dB (K, M) += alpha A^T dY */
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) k, (int) m, (int) n,
                     attrs->alpha, a, (int) k, dy, (int) m, 1.0f, db, (int) m);
    }
  if (ctx->node->n_in == 3 && ctx->din[2].data && attrs->beta != 0.0f)
    bias_backward (ctx->din[2].data, dy, &ctx->in[2].shape, n, m, attrs->beta);
}

static double
gemm_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  double nm = (double) out[0].d[0] * (double) out[0].d[1];
  return 2.0 * nm * (double) in[0].d[1] + (node->n_in == 3 ? nm : 0.0);
}

static gboolean
gemm_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HoneGemmAttrs *a = node->attrs;
  Onnx__NodeProto *n = hone_onnx_writer_add_simple (w, node, "Gemm");
  hone_onnx_node_set_float (w, n, "alpha", a->alpha);
  hone_onnx_node_set_float (w, n, "beta", a->beta);
  hone_onnx_node_set_int (w, n, "transA", a->trans_a ? 1 : 0);
  hone_onnx_node_set_int (w, n, "transB", a->trans_b ? 1 : 0);
  return TRUE;
}

const HoneOpClass hone_op_gemm = {
  .name = "Gemm",
  .keep_inputs = (1u << 0) | (1u << 1),
  .infer_shape = gemm_infer_shape,
  .forward = gemm_forward,
  .backward = gemm_backward,
  .flops = gemm_flops,
  .to_onnx = gemm_to_onnx,
};

static gboolean
is_batched (const HoneValue *v)
{
  return v->kind == HONE_VALUE_INPUT || v->kind == HONE_VALUE_ACTIVATION;
}

int
hone_graph_gemm (HoneGraph *g, const char *name, int a, int b, int c, const HoneGemmAttrs *attrs,
                 GError **error)
{
  g_return_val_if_fail (attrs != NULL, -1);
  int in[3] = { a, b, c };
  int n_in = c >= 0 ? 3 : 2;
  gboolean ids_ok = TRUE;
  for (int i = 0; i < n_in; i++)
    ids_ok &= in[i] >= 0 && in[i] < hone_graph_n_values (g);

  /* Which operand carries the batch: only the executor's value kinds tell,
   * so the builder checks what infer_shape cannot. */
  if (ids_ok)
    {
      const HoneValue *va = hone_graph_value (g, a), *vb = hone_graph_value (g, b);
      const HoneValue *vc = c >= 0 ? hone_graph_value (g, c) : NULL;
      const char *why = NULL;
      if (!is_batched (va))
        why = "A must be the batched activation (N, K)";
      else if (is_batched (vb))
        why = "B must be a parameter or constant: its dimensions cannot involve the batch";
      else if (vc && is_batched (vc) && vc->shape.rank != 1)
        why = "a batched C must have shape (N, M) or (N, 1)";
      else if (vc && !is_batched (vc) && vc->shape.rank == 2 && vc->shape.d[0] != 1)
        why = "a parameter C must have shape (M), (1, M) or a single element";
      if (why)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE, "node '%s' (Gemm): %s", name, why);
          return -1;
        }
    }
  return hone_graph_add_node (g, &hone_op_gemm, hone_op_attrs_dup (attrs), name, in, n_in, 1,
                              NULL, error);
}
