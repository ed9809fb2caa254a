/* hone-op-matmul.c: MatMul with numpy semantics (ONNX MatMul,
 * torch.matmul): 1-D operands are promoted to a row (a) or a column (b) and
 * the promoted dimension dropped from the result; leading dimensions
 * broadcast.
 *
 * The common case, activations (N, ..., K) times a 2-D parameter (K, M), is
 * one cblas_sgemm over all N * ... rows, forward and for both gradients.
 * Otherwise one sgemm per matrix of the broadcast leading dimensions; an
 * operand broadcast over several of them accumulates its gradient over
 * them.  Backward reads both inputs.  The builder refuses operand layouts in
 * which the batch would not stay the result's first dimension. */
#include "config.h"

#include <cblas.h>
#include <string.h>

#include "hone-ops.h"
#include "ops/hone-op-private.h"

typedef struct
{
  int64_t m, k, n;                        /* (m, k) x (k, n) per matrix */
  int lead_rank;
  int64_t lead[HONE_MAX_RANK];            /* broadcast leading dimensions */
  int64_t lead_stride[2][HONE_MAX_RANK];  /* in matrices; 0 where broadcast */
  int64_t n_mats;                         /* product of lead */
  gboolean fold;                          /* b is one matrix: one GEMM over all rows of a */
  HoneShape out;
} MatMulPlan;

/* Fills plan from the full shapes; FALSE with *why (static text) when they
 * do not fit. */
static gboolean
matmul_plan (const HoneShape *a, const HoneShape *b, MatMulPlan *p, const char **why)
{
  memset (p, 0, sizeof *p);
  if (a->rank < 1 || b->rank < 1)
    {
      *why = "both operands need at least one dimension";
      return FALSE;
    }
  /* Promoted shapes: a (..., m, k), b (..., k, n). */
  int ra = MAX (a->rank, 2), rb = MAX (b->rank, 2);
  p->m = a->rank == 1 ? 1 : a->d[a->rank - 2];
  p->k = a->d[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->d[0] : b->d[b->rank - 2];
  p->n = b->rank == 1 ? 1 : b->d[b->rank - 1];
  if (p->k != kb)
    {
      *why = "the last dimension of A differs from the second-to-last of B";
      return FALSE;
    }
  int la = ra - 2, lb = rb - 2;
  int lr = MAX (la, lb);
  p->lead_rank = lr;
  p->n_mats = 1;
  int64_t nb = 1;
  for (int i = 0; i < lr; i++)
    {
      int ia = la - lr + i, ib = lb - lr + i;
      int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
      if (da != db && da != 1 && db != 1)
        {
          *why = "the leading (batch-of-matrices) dimensions do not broadcast";
          return FALSE;
        }
      p->lead[i] = da == 1 ? db : da;
      p->n_mats *= p->lead[i];
      nb *= db;
    }
  for (int w = 0; w < 2; w++)
    {
      const HoneShape *s = w == 0 ? a : b;
      int l = w == 0 ? la : lb;
      int64_t stride = 1;
      for (int i = lr - 1; i >= 0; i--)
        {
          int is = l - lr + i;
          int64_t d = is >= 0 ? s->d[is] : 1;
          p->lead_stride[w][i] = d == 1 ? 0 : stride;
          stride *= d;
        }
    }
  /* With b a single matrix, a's leading dimensions are the result's and a
   * is contiguous over them: its rows stack into one (n_mats * m, k). */
  p->fold = nb == 1;

  HoneShape *o = &p->out;
  o->rank = 0;
  for (int i = 0; i < lr; i++)
    o->d[o->rank++] = p->lead[i];
  if (a->rank > 1)
    o->d[o->rank++] = p->m;
  if (b->rank > 1)
    o->d[o->rank++] = p->n;
  return TRUE;
}

static gboolean
matmul_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  if (node->n_in != 2 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects two inputs and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  MatMulPlan p;
  const char *why = NULL;
  if (!matmul_plan (&in[0], &in[1], &p, &why))
    {
      char sa[128], sb[128];
      hone_op_set_shape_error (error, node, "cannot multiply %s by %s: %s",
                               hone_shape_to_string (&in[0], sa, sizeof sa),
                               hone_shape_to_string (&in[1], sb, sizeof sb), why);
      return FALSE;
    }
  out[0] = p.out;
  return TRUE;
}

/* Matrix offsets of a and b for the l-th matrix of the leading dimensions. */
static void
matmul_offsets (const MatMulPlan *p, int64_t l, int64_t *oa, int64_t *ob)
{
  int64_t ia = 0, ib = 0;
  for (int i = p->lead_rank - 1; i >= 0; i--)
    {
      int64_t idx = l % p->lead[i];
      l /= p->lead[i];
      ia += idx * p->lead_stride[0][i];
      ib += idx * p->lead_stride[1][i];
    }
  *oa = ia * p->m * p->k;
  *ob = ib * p->k * p->n;
}

static void
matmul_forward (const HoneOpCtx *ctx)
{
  const float *a = ctx->in[0].data;       /* (..., m, k) */
  const float *b = ctx->in[1].data;       /* (..., k, n) */
  float *y = ctx->out[0].data;            /* (..., m, n) */
  MatMulPlan p;
  const char *why;
  matmul_plan (&ctx->in[0].shape, &ctx->in[1].shape, &p, &why);
  const int m = (int) p.m, k = (int) p.k, n = (int) p.n;

  if (p.n_mats == 0 || m == 0 || n == 0)
    return;
  if (k == 0)
    {
      memset (y, 0, (gsize) (p.n_mats * p.m * p.n) * sizeof (float));
      return;
    }
  if (p.fold)
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) (p.n_mats * p.m), n, k,
                   1.0f, a, k, b, n, 0.0f, y, n);
      return;
    }
  for (int64_t l = 0; l < p.n_mats; l++)
    {
      int64_t oa, ob;
      matmul_offsets (&p, l, &oa, &ob);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
                   1.0f, a + oa, k, b + ob, n, 0.0f, y + l * p.m * p.n, n);
    }
}

static void
matmul_backward (const HoneOpCtx *ctx)
{
  const float *a = ctx->in[0].data;       /* (..., m, k) */
  const float *b = ctx->in[1].data;       /* (..., k, n) */
  const float *dy = ctx->dout[0].data;    /* (..., m, n) */
  float *da = ctx->din[0].data;
  float *db = ctx->din[1].data;
  MatMulPlan p;
  const char *why;
  matmul_plan (&ctx->in[0].shape, &ctx->in[1].shape, &p, &why);
  const int m = (int) p.m, k = (int) p.k, n = (int) p.n;

  if (p.n_mats == 0 || m == 0 || n == 0 || k == 0)
    return;
  if (p.fold)
    {
      const int rows = (int) (p.n_mats * p.m);
      /* dA (rows, k) += dY B^T;  dB (k, n) += A^T dY */
      if (da)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, n,
                     1.0f, dy, n, b, n, 1.0f, da, k);
      if (db)
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, k, n, rows,
                     1.0f, a, k, dy, n, 1.0f, db, n);
      return;
    }
  for (int64_t l = 0; l < p.n_mats; l++)
    {
      int64_t oa, ob;
      const float *dyl = dy + l * p.m * p.n;
      matmul_offsets (&p, l, &oa, &ob);
      if (da)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n,
                     1.0f, dyl, n, b + ob, n, 1.0f, da + oa, k);
      if (db)
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m,
                     1.0f, a + oa, k, dyl, n, 1.0f, db + ob, n);
    }
}

static double
matmul_flops (const HoneNode *node, const HoneShape *in, const HoneShape *out)
{
  MatMulPlan p;
  const char *why;
  if (!matmul_plan (&in[0], &in[1], &p, &why))
    return 0.0;
  return 2.0 * (double) p.n_mats * (double) p.m * (double) p.n * (double) p.k;
}

const HoneOpClass hone_op_matmul = {
  .name = "MatMul",
  .keep_inputs = (1u << 0) | (1u << 1),
  .infer_shape = matmul_infer_shape,
  .forward = matmul_forward,
  .backward = matmul_backward,
  .flops = matmul_flops,
  .to_onnx = hone_op_to_onnx_same,
};

static gboolean
is_batched (const HoneValue *v)
{
  return v->kind == HONE_VALUE_INPUT || v->kind == HONE_VALUE_ACTIVATION;
}

int
hone_graph_matmul (HoneGraph *g, const char *name, int a, int b, GError **error)
{
  int in[2] = { a, b };
  if (a >= 0 && a < hone_graph_n_values (g) && b >= 0 && b < hone_graph_n_values (g))
    {
      /* The batch must stay the result's first dimension at every batch
       * size; only the value kinds tell which dimension is the batch. */
      const HoneValue *v[2] = { hone_graph_value (g, a), hone_graph_value (g, b) };
      int rank[2], promoted[2];
      for (int w = 0; w < 2; w++)
        {
          rank[w] = v[w]->shape.rank + (is_batched (v[w]) ? 1 : 0);
          promoted[w] = MAX (rank[w], 2);
        }
      int r = MAX (promoted[0], promoted[1]);
      const char *why = NULL;
      if (r == 2)
        {
          if (!is_batched (v[0]) || rank[0] != 2)
            why = "with two-dimensional operands, A must be the batched activation (N, K)";
          else if (is_batched (v[1]))
            why = "with two-dimensional operands, B must be a parameter or constant";
        }
      else
        for (int w = 0; w < 2 && !why; w++)
          {
            if (is_batched (v[w]) && rank[w] != r)
              why = "a batched operand must have as many dimensions as the result, so that its "
                    "batch stays the result's first dimension";
            else if (!is_batched (v[w]) && promoted[w] == r && v[w]->shape.d[0] != 1)
              why = "a parameter operand lines up with the batch dimension; give it a leading 1 "
                    "or one dimension fewer";
          }
      if (why)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE, "node '%s' (MatMul): %s", name, why);
          return -1;
        }
    }
  return hone_graph_add_node (g, &hone_op_matmul, NULL, name, in, 2, 1, NULL, error);
}
