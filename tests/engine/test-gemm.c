/* test-gemm.c: Gemm and MatMul: forward values against naive triple loops
 * written here, finite-difference gradient checks for every attribute and
 * bias layout (Gemm) and for 2-D, batched 3-D / 4-D and broadcast operands
 * (MatMul), and the shape and attribute errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-ops.h"

enum { N = 3, K = 5, M = 4 };

typedef enum
{
  BIAS_NONE,
  BIAS_M,          /* parameter (M) */
  BIAS_1M,         /* parameter (1, M) */
  BIAS_NM,         /* activation (N, M) */
  BIAS_N1,         /* activation (N, 1) */
  BIAS_SCALAR,     /* parameter (1) */
} BiasKind;

static const char *bias_names[] = { "none", "m", "1m", "nm", "n1", "scalar" };

typedef struct
{
  gboolean trans_b;
  float alpha, beta;
  BiasKind bias;
} GemmCase;

typedef struct
{
  HoneGraph *g;
  int a, b, c, y;
} GemmGraph;

static void
gemm_build (GemmGraph *t, const GemmCase *gc, gboolean side)
{
  g_autoptr (GError) error = NULL;
  HoneShape sa = HONE_SHAPE (K);
  HoneShape sb = gc->trans_b ? HONE_SHAPE (M, K) : HONE_SHAPE (K, M);
  t->g = hone_graph_new ();
  t->a = hone_graph_add_input (t->g, "a", &sa, &error);
  t->b = hone_graph_add_param (t->g, "b", &sb, &error);
  t->c = -1;
  HoneShape sc;
  switch (gc->bias)
    {
    case BIAS_NONE:
      break;
    case BIAS_M:
      sc = HONE_SHAPE (M);
      t->c = hone_graph_add_param (t->g, "c", &sc, &error);
      break;
    case BIAS_1M:
      sc = HONE_SHAPE (1, M);
      t->c = hone_graph_add_param (t->g, "c", &sc, &error);
      break;
    case BIAS_NM:
      sc = HONE_SHAPE (M);
      t->c = hone_graph_add_input (t->g, "c", &sc, &error);
      break;
    case BIAS_N1:
      sc = HONE_SHAPE (1);
      t->c = hone_graph_add_input (t->g, "c", &sc, &error);
      break;
    case BIAS_SCALAR:
      sc = HONE_SHAPE (1);
      t->c = hone_graph_add_param (t->g, "c", &sc, &error);
      break;
    }
  g_assert_no_error (error);
  HoneGemmAttrs attrs = { gc->alpha, gc->beta, FALSE, gc->trans_b };
  t->y = hone_graph_gemm (t->g, "fc", t->a, t->b, t->c, &attrs, &error);
  g_assert_no_error (error);
  hone_graph_add_output (t->g, t->y);
  hone_graph_set_input_needs_grad (t->g, t->a, TRUE);
  if (gc->bias == BIAS_NM || gc->bias == BIAS_N1)
    hone_graph_set_input_needs_grad (t->g, t->c, TRUE);
  if (side)
    hone_test_add_side_outputs (t->g);
  g_assert_true (hone_graph_plan (t->g, N, TRUE, &error));
  hone_test_fill_graph (t->g, N, 17);
}

static float *
data_of (HoneGraph *g, int id)
{
  return hone_graph_value (g, id)->kind == HONE_VALUE_PARAM ? hone_graph_value_data (g, id)
                                                            : hone_graph_input_data (g, id);
}

static void
test_gemm_naive (gconstpointer data)
{
  const GemmCase *gc = data;
  GemmGraph t;
  gemm_build (&t, gc, FALSE);
  g_assert_true (hone_graph_forward (t.g, N, TRUE, NULL));
  const float *a = data_of (t.g, t.a), *b = data_of (t.g, t.b);
  const float *c = t.c >= 0 ? data_of (t.g, t.c) : NULL;
  float expect[N * M];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < M; j++)
      {
        double s = 0;
        for (int k = 0; k < K; k++)
          s += (double) a[i * K + k] * (gc->trans_b ? b[j * K + k] : b[k * M + j]);
        double cv = 0;
        switch (gc->bias)
          {
          case BIAS_NONE: break;
          case BIAS_M: case BIAS_1M: cv = c[j]; break;
          case BIAS_NM: cv = c[i * M + j]; break;
          case BIAS_N1: cv = c[i]; break;
          case BIAS_SCALAR: cv = c[0]; break;
          }
        expect[i * M + j] = (float) (gc->alpha * s + gc->beta * cv);
      }
  hone_test_assert_close ("gemm", hone_graph_tensor (t.g, t.y).data, expect, N * M, 1e-5, 1e-5);
  hone_graph_free (t.g);
}

static void
test_gemm_gradcheck (gconstpointer data)
{
  GemmGraph t;
  gemm_build (&t, data, TRUE);
  HoneGradcheckOptions opts = { .max_checks = 64 };
  hone_test_gradcheck (t.g, N, &opts);
  hone_test_check_param_accumulation (t.g, N);
  hone_graph_free (t.g);
}

/* A torch.nn.Linear-sized layer with accumulation over two backward passes
 * (gradients add up, as for micro-batches). */
static void
test_gemm_accumulates (void)
{
  GemmCase gc = { TRUE, 1, 1, BIAS_M };
  GemmGraph t;
  gemm_build (&t, &gc, FALSE);
  g_assert_true (hone_graph_forward (t.g, N, TRUE, NULL));
  float *dy = hone_graph_grad (t.g, t.y);
  for (int i = 0; i < N * M; i++)
    dy[i] = 1.0f;
  hone_graph_zero_grad (t.g);
  hone_graph_backward (t.g);
  float once[M];
  memcpy (once, hone_graph_grad (t.g, t.c), sizeof once);
  for (int j = 0; j < M; j++)
    g_assert_cmpfloat (once[j], ==, (float) N);
  hone_graph_backward (t.g);
  for (int j = 0; j < M; j++)
    g_assert_cmpfloat (hone_graph_grad (t.g, t.c)[j], ==, 2.0f * N);
  hone_graph_free (t.g);
}

static void
assert_error (int id, GError **error, int code, const char *node)
{
  g_assert_cmpint (id, ==, -1);
  g_assert_error (*error, HONE_ERROR, code);
  g_assert_nonnull (strstr ((*error)->message, node));
  g_clear_error (error);
}

static void
test_gemm_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s5 = HONE_SHAPE (5), s45 = HONE_SHAPE (4, 5), s64 = HONE_SHAPE (6, 4);
  HoneShape s24 = HONE_SHAPE (2, 4), s3 = HONE_SHAPE (3);
  int x = hone_graph_add_input (g, "x", &s5, NULL);
  int w45 = hone_graph_add_param (g, "w45", &s45, NULL);
  int w64 = hone_graph_add_param (g, "w64", &s64, NULL);
  int c24 = hone_graph_add_param (g, "c24", &s24, NULL);
  int c3 = hone_graph_add_param (g, "c3", &s3, NULL);
  int xw = hone_graph_add_input (g, "xw", &s45, NULL);
  HoneGemmAttrs plain = { 1, 1, FALSE, FALSE }, tb = { 1, 1, FALSE, TRUE };
  HoneGemmAttrs ta = { 1, 1, TRUE, FALSE };
  HoneGemmAttrs nan_alpha = { NAN, 1, FALSE, TRUE };
  int id;

  /* x (N, 5) times (4, 5): inner dimensions 5 and 4 */
  id = hone_graph_gemm (g, "fc_inner", x, w45, -1, &plain, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'fc_inner'");
  /* transposed (6, 4) is (4, 6): inner 5 and 4 again */
  id = hone_graph_gemm (g, "fc_inner_t", x, w64, -1, &tb, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'fc_inner_t'");
  id = hone_graph_gemm (g, "fc_trans_a", x, w45, -1, &ta, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'fc_trans_a'");
  id = hone_graph_gemm (g, "fc_nan", x, w45, -1, &nan_alpha, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'fc_nan'");
  /* C (3) does not broadcast to (N, 4) */
  id = hone_graph_gemm (g, "fc_bias", x, w45, c3, &tb, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'fc_bias'");
  /* a (2, 4) parameter C would broadcast against the batch */
  id = hone_graph_gemm (g, "fc_bias_batch", x, w45, c24, &tb, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'fc_bias_batch'");
  /* B may not be batched */
  id = hone_graph_gemm (g, "fc_b_batched", x, xw, -1, &tb, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'fc_b_batched'");
  /* A must be batched */
  id = hone_graph_gemm (g, "fc_a_param", w45, xw, -1, &tb, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'fc_a_param'");

  id = hone_graph_gemm (g, "fc", x, w45, -1, &tb, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (hone_graph_flops (g), ==, 2.0 * 5 * 4);
}

/* ---- MatMul ------------------------------------------------------------- */

typedef struct
{
  const char *name;
  HoneShape a, b;            /* per sample for inputs, full for parameters */
  gboolean a_param, b_param;
} MatMulCase;

static MatMulCase mm_cases[9];

static void
init_mm_cases (void)
{
  MatMulCase c[] = {
    /* (N, 5) x (5, 4): one sgemm */
    { "2d", HONE_SHAPE (5), HONE_SHAPE (5, 4), FALSE, TRUE },
    /* (N, 3, 5) x (5, 4): folded into one sgemm */
    { "3d-param", HONE_SHAPE (3, 5), HONE_SHAPE (5, 4), FALSE, TRUE },
    /* (N, 3, 5) x (N, 5, 2): one matrix product per sample */
    { "3d-batched", HONE_SHAPE (3, 5), HONE_SHAPE (5, 2), FALSE, FALSE },
    /* (N, 2, 3, 5) x (1, 2, 5, 4): leading dimensions broadcast */
    { "4d-broadcast-param", HONE_SHAPE (2, 3, 5), HONE_SHAPE (1, 2, 5, 4), FALSE, TRUE },
    /* (N, 1, 3, 5) x (N, 2, 5, 4): a broadcast over dimension 1 */
    { "4d-broadcast-both", HONE_SHAPE (1, 3, 5), HONE_SHAPE (2, 5, 4), FALSE, FALSE },
    /* (3, 5) x (N, 5, 4): a parameter on the left */
    { "param-left", HONE_SHAPE (3, 5), HONE_SHAPE (5, 4), TRUE, FALSE },
    /* (N, 3, 5) x (5): a vector on the right */
    { "vector-right", HONE_SHAPE (3, 5), HONE_SHAPE (5), FALSE, TRUE },
    /* (5) x (N, 5, 4): a vector on the left */
    { "vector-left", HONE_SHAPE (5), HONE_SHAPE (5, 4), TRUE, FALSE },
    /* (N, 2, 3, 5) x (5, 4): folded */
    { "4d-param", HONE_SHAPE (2, 3, 5), HONE_SHAPE (5, 4), FALSE, TRUE },
  };
  memcpy (mm_cases, c, sizeof c);
}

typedef struct
{
  HoneGraph *g;
  int a, b, y;
} MatMulGraph;

static void
mm_build (MatMulGraph *t, const MatMulCase *mc, int batch, gboolean side)
{
  g_autoptr (GError) error = NULL;
  t->g = hone_graph_new ();
  t->a = mc->a_param ? hone_graph_add_param (t->g, "a", &mc->a, &error)
                     : hone_graph_add_input (t->g, "a", &mc->a, &error);
  t->b = mc->b_param ? hone_graph_add_param (t->g, "b", &mc->b, &error)
                     : hone_graph_add_input (t->g, "b", &mc->b, &error);
  g_assert_no_error (error);
  t->y = hone_graph_matmul (t->g, "mm", t->a, t->b, &error);
  g_assert_no_error (error);
  hone_graph_add_output (t->g, t->y);
  if (!mc->a_param)
    hone_graph_set_input_needs_grad (t->g, t->a, TRUE);
  if (!mc->b_param)
    hone_graph_set_input_needs_grad (t->g, t->b, TRUE);
  if (side)
    hone_test_add_side_outputs (t->g);
  g_assert_true (hone_graph_plan (t->g, batch, TRUE, &error));
  hone_test_fill_graph (t->g, batch, 23);
}

static HoneShape
full_shape (HoneGraph *g, int id, int batch)
{
  const HoneValue *v = hone_graph_value (g, id);
  return v->kind == HONE_VALUE_PARAM ? v->shape : hone_shape_with_batch (&v->shape, batch);
}

/* numpy matmul by the definition: promote, broadcast, multiply. */
static void
naive_matmul (const float *a, HoneShape sa, const float *b, HoneShape sb, float *y,
              const HoneShape *out)
{
  gboolean a_vec = sa.rank == 1, b_vec = sb.rank == 1;
  if (a_vec)
    sa = HONE_SHAPE (1, sa.d[0]);
  if (b_vec)
    sb = HONE_SHAPE (sb.d[0], 1);
  int64_t m = sa.d[sa.rank - 2], k = sa.d[sa.rank - 1], n = sb.d[sb.rank - 1];
  int lr = MAX (sa.rank, sb.rank) - 2;
  int64_t lead[HONE_MAX_RANK], n_mats = 1;
  for (int i = 0; i < lr; i++)
    {
      int ia = sa.rank - 2 - lr + i, ib = sb.rank - 2 - lr + i;
      int64_t da = ia >= 0 ? sa.d[ia] : 1, db = ib >= 0 ? sb.d[ib] : 1;
      lead[i] = MAX (da, db);
      n_mats *= lead[i];
    }
  g_assert_cmpint (hone_shape_numel (out), ==, n_mats * m * n);
  for (int64_t l = 0; l < n_mats; l++)
    {
      int64_t idx[HONE_MAX_RANK], rest = l, oa = 0, ob = 0;
      for (int i = lr - 1; i >= 0; i--)
        {
          idx[i] = rest % lead[i];
          rest /= lead[i];
        }
      for (int i = 0; i < lr; i++)
        {
          int ia = sa.rank - 2 - lr + i, ib = sb.rank - 2 - lr + i;
          if (ia >= 0)
            oa = oa * sa.d[ia] + (sa.d[ia] == 1 ? 0 : idx[i]);
          if (ib >= 0)
            ob = ob * sb.d[ib] + (sb.d[ib] == 1 ? 0 : idx[i]);
        }
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
          {
            double s = 0;
            for (int64_t q = 0; q < k; q++)
              s += (double) a[oa * m * k + i * k + q] * b[ob * k * n + q * n + j];
            y[l * m * n + i * n + j] = (float) s;
          }
    }
}

static void
test_mm_naive (gconstpointer data)
{
  const MatMulCase *mc = data;
  MatMulGraph t;
  mm_build (&t, mc, 3, FALSE);
  g_assert_true (hone_graph_forward (t.g, 3, TRUE, NULL));
  HoneTensor yt = hone_graph_tensor (t.g, t.y);
  g_assert_cmpint (yt.shape.d[0], ==, 3);
  int64_t n = hone_tensor_numel (&yt);
  float *expect = g_new (float, n);
  naive_matmul (data_of (t.g, t.a), full_shape (t.g, t.a, 3), data_of (t.g, t.b),
                full_shape (t.g, t.b, 3), expect, &yt.shape);
  hone_test_assert_close ("matmul", yt.data, expect, n, 1e-5, 1e-5);
  g_free (expect);
  hone_graph_free (t.g);
}

static void
test_mm_gradcheck (gconstpointer data)
{
  MatMulGraph t;
  mm_build (&t, data, 2, TRUE);
  HoneGradcheckOptions opts = { .max_checks = 64 };
  hone_test_gradcheck (t.g, 2, &opts);
  hone_test_check_param_accumulation (t.g, 2);
  hone_graph_free (t.g);
}

static void
test_mm_shapes (void)
{
  /* output per-sample shapes of a few cases */
  struct { int index; HoneShape out; } expect[] = {
    { 0, HONE_SHAPE (4) },
    { 3, HONE_SHAPE (2, 3, 4) },
    { 6, HONE_SHAPE (3) },
    { 7, HONE_SHAPE (4) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      MatMulGraph t;
      mm_build (&t, &mm_cases[expect[i].index], 1, FALSE);
      g_assert_true (hone_shape_equal (&hone_graph_value (t.g, t.y)->shape, &expect[i].out));
      hone_graph_free (t.g);
    }
}

static void
test_mm_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s35 = HONE_SHAPE (3, 5), s45 = HONE_SHAPE (4, 5), s5 = HONE_SHAPE (5);
  HoneShape s254 = HONE_SHAPE (2, 5, 4), s54 = HONE_SHAPE (5, 4), s354 = HONE_SHAPE (3, 5, 4);
  int x = hone_graph_add_input (g, "x", &s35, NULL);           /* (N, 3, 5) */
  int xv = hone_graph_add_input (g, "xv", &s5, NULL);          /* (N, 5) */
  int w45 = hone_graph_add_param (g, "w45", &s45, NULL);
  int w254 = hone_graph_add_param (g, "w254", &s254, NULL);
  int w354 = hone_graph_add_param (g, "w354", &s354, NULL);
  int xb = hone_graph_add_input (g, "xb", &s54, NULL);          /* (N, 5, 4) */
  int id;

  /* inner dimensions 5 and 4 */
  id = hone_graph_matmul (g, "mm_inner", x, w45, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'mm_inner'");
  /* (N, 3, 5) x (2, 5, 4): leading N and 2 line up */
  id = hone_graph_matmul (g, "mm_lead", x, w254, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'mm_lead'");
  /* (N, 3, 5) x (3, 5, 4): would broadcast at batch 3 (or 1) only */
  id = hone_graph_matmul (g, "mm_lead3", x, w354, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'mm_lead3'");
  /* (N, 5) x (N, 5, 4): the vector's batch would be a matrix row */
  id = hone_graph_matmul (g, "mm_rank", xv, xb, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'mm_rank'");
  /* (4, 5) x (N, 5): the batch would be the contraction */
  id = hone_graph_matmul (g, "mm_contract", w45, xv, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'mm_contract'");
  /* (N, 3, 5) x (N, 5, 4) is fine */
  id = hone_graph_matmul (g, "mm_ok", x, xb, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static GemmCase gemm_cases[2 * 2 * 6];
  int k = 0;
  for (int tb = 0; tb < 2; tb++)
    for (int ab = 0; ab < 2; ab++)
      for (int bias = 0; bias < 6; bias++, k++)
        {
          gemm_cases[k] = (GemmCase) { tb, ab ? 0.5f : 1.0f, ab ? 2.0f : 1.0f, bias };
          g_autofree char *name = g_strdup_printf ("%s/%s/bias-%s", tb ? "trans-b" : "plain",
                                                   ab ? "alpha-beta" : "unit", bias_names[bias]);
          g_autofree char *p1 = g_strdup_printf ("/engine/gemm/%s/naive", name);
          g_autofree char *p2 = g_strdup_printf ("/engine/gemm/%s/gradcheck", name);
          g_test_add_data_func (p1, &gemm_cases[k], test_gemm_naive);
          g_test_add_data_func (p2, &gemm_cases[k], test_gemm_gradcheck);
        }
  g_test_add_func ("/engine/gemm/accumulates", test_gemm_accumulates);
  g_test_add_func ("/engine/gemm/errors", test_gemm_errors);

  init_mm_cases ();
  for (guint i = 0; i < G_N_ELEMENTS (mm_cases); i++)
    {
      g_autofree char *p1 = g_strdup_printf ("/engine/matmul/%s/naive", mm_cases[i].name);
      g_autofree char *p2 = g_strdup_printf ("/engine/matmul/%s/gradcheck", mm_cases[i].name);
      g_test_add_data_func (p1, &mm_cases[i], test_mm_naive);
      g_test_add_data_func (p2, &mm_cases[i], test_mm_gradcheck);
    }
  g_test_add_func ("/engine/matmul/shapes", test_mm_shapes);
  g_test_add_func ("/engine/matmul/errors", test_mm_errors);
  return g_test_run ();
}
