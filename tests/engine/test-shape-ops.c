/* test-shape-ops.c: Concat, Flatten, Reshape and Transpose: values against
 * naive index arithmetic written here, finite-difference gradient checks,
 * and the errors that protect the batch dimension. */
#include "config.h"

#include <string.h>

#include "hone-test-ops.h"

/* A graph over inputs of the given per-sample shapes, planned for
 * backward with every input asking for its gradient; the caller adds the
 * node and then calls finish (). */
static HoneGraph *
graph_with_inputs (const HoneShape *shapes, int n, int *ids)
{
  HoneGraph *g = hone_graph_new ();
  for (int i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("x%d", i);
      ids[i] = hone_graph_add_input (g, name, &shapes[i], NULL);
      g_assert_cmpint (ids[i], >=, 0);
      hone_graph_set_input_needs_grad (g, ids[i], TRUE);
    }
  return g;
}

static void
finish (HoneGraph *g, int y, int batch, gboolean side)
{
  g_assert_cmpint (y, >=, 0);
  hone_graph_add_output (g, y);
  if (side)
    hone_test_add_side_outputs (g);
  g_assert_true (hone_graph_plan (g, batch, TRUE, NULL));
  hone_test_fill_graph (g, batch, 31);
}

static void
assert_error (int id, GError **error, int code, const char *node)
{
  g_assert_cmpint (id, ==, -1);
  g_assert_error (*error, HONE_ERROR, code);
  g_assert_nonnull (strstr ((*error)->message, node));
  g_clear_error (error);
}

/* ---- Concat ------------------------------------------------------------- */

typedef struct
{
  const char *name;
  int n;
  int axis;
  HoneShape shapes[3];    /* per sample */
} ConcatCase;

static ConcatCase concat_cases[4];

static void
init_concat_cases (void)
{
  ConcatCase c[] = {
    { "two-axis1", 2, 1, { HONE_SHAPE (2, 3, 2), HONE_SHAPE (3, 3, 2) } },
    { "three-axis1", 3, 1, { HONE_SHAPE (2, 3, 2), HONE_SHAPE (1, 3, 2), HONE_SHAPE (4, 3, 2) } },
    { "two-axis-last", 2, -1, { HONE_SHAPE (2, 3, 2), HONE_SHAPE (2, 3, 5) } },
    { "three-axis-last", 3, -1, { HONE_SHAPE (4, 1), HONE_SHAPE (4, 3), HONE_SHAPE (4, 2) } },
  };
  memcpy (concat_cases, c, sizeof c);
}

static void
test_concat (gconstpointer data)
{
  const ConcatCase *cc = data;
  const int batch = 2;
  int ids[3];
  g_autoptr (HoneGraph) g = graph_with_inputs (cc->shapes, cc->n, ids);
  g_autoptr (GError) error = NULL;
  int y = hone_graph_concat (g, "cat", ids, cc->n, cc->axis, &error);
  g_assert_no_error (error);
  finish (g, y, batch, TRUE);
  g_assert_true (hone_graph_forward (g, batch, TRUE, NULL));

  /* naive: walk the output, find which input each element came from */
  HoneTensor t = hone_graph_tensor (g, y);
  int r = t.shape.rank, axis = cc->axis < 0 ? cc->axis + r : cc->axis;
  int64_t n = hone_tensor_numel (&t);
  for (int64_t e = 0; e < n; e++)
    {
      int64_t idx[HONE_MAX_RANK] = { 0 }, rest = e;
      for (int j = r - 1; j >= 0; j--)
        {
          idx[j] = rest % t.shape.d[j];
          rest /= t.shape.d[j];
        }
      int src = 0;
      int64_t along = idx[axis];
      while (along >= cc->shapes[src].d[axis - 1])
        along -= cc->shapes[src++].d[axis - 1];
      HoneShape s = hone_shape_with_batch (&cc->shapes[src], batch);
      int64_t off = 0;
      for (int j = 0; j < r; j++)
        off = off * s.d[j] + (j == axis ? along : idx[j]);
      g_assert_cmpfloat (t.data[e], ==, hone_graph_input_data (g, ids[src])[off]);
    }
  hone_test_gradcheck (g, batch, NULL);
}

static void
test_concat_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s1 = HONE_SHAPE (2, 3), s2 = HONE_SHAPE (2, 4), s3 = HONE_SHAPE (3);
  int in[3] = {
    hone_graph_add_input (g, "a", &s1, NULL),
    hone_graph_add_input (g, "b", &s2, NULL),
    hone_graph_add_param (g, "p", &s3, NULL),
  };
  int id;
  id = hone_graph_concat (g, "cat_batch", in, 2, 0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'cat_batch'");
  id = hone_graph_concat (g, "cat_batch_neg", in, 2, -3, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'cat_batch_neg'");
  id = hone_graph_concat (g, "cat_range", in, 2, 3, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'cat_range'");
  /* (N, 2, 3) and (N, 2, 4) differ outside axis 1 */
  id = hone_graph_concat (g, "cat_shapes", in, 2, 1, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'cat_shapes'");
  int with_param[2] = { in[0], in[2] };
  id = hone_graph_concat (g, "cat_param", with_param, 2, 1, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'cat_param'");
  id = hone_graph_concat (g, "cat_ok", in, 2, -1, &error);
  g_assert_no_error (error);
  HoneShape expect = HONE_SHAPE (2, 7);
  g_assert_true (hone_shape_equal (&hone_graph_value (g, id)->shape, &expect));
}

/* ---- Flatten ------------------------------------------------------------ */

static void
test_flatten (void)
{
  struct { HoneShape in; int axis; HoneShape out; } cases[] = {
    { HONE_SHAPE (3, 2, 2), 1, HONE_SHAPE (12) },
    { HONE_SHAPE (1, 3, 2), 2, HONE_SHAPE (6) },     /* merges the batch with a 1 only */
    { HONE_SHAPE (3, 2, 2), -3, HONE_SHAPE (12) },
    { HONE_SHAPE (1, 1), 3, HONE_SHAPE (1) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int x;
      g_autoptr (HoneGraph) g = graph_with_inputs (&cases[i].in, 1, &x);
      g_autoptr (GError) error = NULL;
      int y = hone_graph_flatten (g, "flat", x, cases[i].axis, &error);
      g_assert_no_error (error);
      g_assert_true (hone_shape_equal (&hone_graph_value (g, y)->shape, &cases[i].out));
      finish (g, y, 2, TRUE);
      g_assert_true (hone_graph_forward (g, 2, TRUE, NULL));
      int64_t n = 2 * hone_shape_numel (&cases[i].in);
      g_assert_cmpmem (hone_graph_tensor (g, y).data, n * sizeof (float),
                       hone_graph_input_data (g, x), n * sizeof (float));
      hone_test_gradcheck (g, 2, NULL);
    }
}

static void
test_flatten_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = HONE_SHAPE (3, 2, 2);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int id;
  id = hone_graph_flatten (g, "flat_batch", x, 0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'flat_batch'");
  id = hone_graph_flatten (g, "flat_batch_neg", x, -4, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'flat_batch_neg'");
  id = hone_graph_flatten (g, "flat_merge", x, 2, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'flat_merge'");
  id = hone_graph_flatten (g, "flat_range", x, 5, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'flat_range'");
}

/* ---- Reshape ------------------------------------------------------------ */

static void
test_reshape (void)
{
  HoneShape in = HONE_SHAPE (2, 3, 4);
  struct { int rank; int64_t shape[4]; HoneShape out; } cases[] = {
    { 2, { 0, -1 }, HONE_SHAPE (24) },
    { 3, { 0, 6, -1 }, HONE_SHAPE (6, 4) },
    { 3, { -1, 4, 6 }, HONE_SHAPE (4, 6) },
    { 3, { 0, 0, 12 }, HONE_SHAPE (2, 12) },
    { 4, { 0, 0, 0, 4 }, HONE_SHAPE (2, 3, 4) },
    { 4, { 0, -1, 1, 2 }, HONE_SHAPE (12, 1, 2) },
    { 2, { -1, 24 }, HONE_SHAPE (24) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int x;
      g_autoptr (HoneGraph) g = graph_with_inputs (&in, 1, &x);
      g_autoptr (GError) error = NULL;
      int y = hone_graph_reshape (g, "reshape", x, cases[i].shape, cases[i].rank, &error);
      g_assert_no_error (error);
      g_assert_true (hone_shape_equal (&hone_graph_value (g, y)->shape, &cases[i].out));
      finish (g, y, 3, TRUE);
      g_assert_true (hone_graph_forward (g, 3, TRUE, NULL));
      g_assert_cmpmem (hone_graph_tensor (g, y).data, 72 * sizeof (float),
                       hone_graph_input_data (g, x), 72 * sizeof (float));
      hone_test_gradcheck (g, 3, NULL);
    }
}

static void
test_reshape_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = HONE_SHAPE (2, 3, 4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int id;
  /* a literal batch size */
  id = hone_graph_reshape (g, "rs_literal", x, (int64_t[]) { 2, -1 }, 2, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_literal'");
  /* (N, 2, 3, 4) -> (-1, 6) would be (4N, 6): changes the batch */
  id = hone_graph_reshape (g, "rs_batch", x, (int64_t[]) { -1, 6 }, 2, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'rs_batch'");
  /* (N, 2, 3, 4) -> (-1) would be (24N) */
  id = hone_graph_reshape (g, "rs_all", x, (int64_t[]) { -1 }, 1, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'rs_all'");
  id = hone_graph_reshape (g, "rs_count", x, (int64_t[]) { 0, 5, 5 }, 3, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'rs_count'");
  id = hone_graph_reshape (g, "rs_only_batch", x, (int64_t[]) { 0 }, 1, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'rs_only_batch'");
  id = hone_graph_reshape (g, "rs_two", x, (int64_t[]) { 0, -1, -1 }, 3, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_two'");
  id = hone_graph_reshape (g, "rs_neg", x, (int64_t[]) { 0, -2, -12 }, 3, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_neg'");
  id = hone_graph_reshape (g, "rs_divide", x, (int64_t[]) { 0, 5, -1 }, 3, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'rs_divide'");
  id = hone_graph_reshape (g, "rs_copy", x, (int64_t[]) { 0, 24, 1, 1, 0 }, 5, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_copy'");
  id = hone_graph_reshape (g, "rs_rank", x, (int64_t[]) { 0 }, 0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_rank'");
}

/* ---- Transpose ---------------------------------------------------------- */

static void
test_transpose (void)
{
  HoneShape in = HONE_SHAPE (2, 3, 4);
  int perms[][4] = {
    { 0, 2, 3, 1 },     /* NCHW -> NHWC */
    { 0, 3, 1, 2 },     /* NHWC -> NCHW */
    { 0, 1, 3, 2 },
    { 0, 3, 2, 1 },
    { 0, 1, 2, 3 },
  };
  for (guint p = 0; p < G_N_ELEMENTS (perms); p++)
    {
      const int batch = 2;
      int x;
      g_autoptr (HoneGraph) g = graph_with_inputs (&in, 1, &x);
      g_autoptr (GError) error = NULL;
      int y = hone_graph_transpose (g, "perm", x, perms[p], 4, &error);
      g_assert_no_error (error);
      finish (g, y, batch, TRUE);
      g_assert_true (hone_graph_forward (g, batch, TRUE, NULL));
      HoneShape is = hone_shape_with_batch (&in, batch);
      HoneTensor t = hone_graph_tensor (g, y);
      const float *xd = hone_graph_input_data (g, x);
      for (int j = 0; j < 4; j++)
        g_assert_cmpint (t.shape.d[j], ==, is.d[perms[p][j]]);
      /* y[i0, i1, i2, i3] = x[index with x's dimension perm[j] = i_j] */
      int64_t e = 0, i[4], src[4];
      for (i[0] = 0; i[0] < t.shape.d[0]; i[0]++)
        for (i[1] = 0; i[1] < t.shape.d[1]; i[1]++)
          for (i[2] = 0; i[2] < t.shape.d[2]; i[2]++)
            for (i[3] = 0; i[3] < t.shape.d[3]; i[3]++, e++)
              {
                for (int j = 0; j < 4; j++)
                  src[perms[p][j]] = i[j];
                int64_t off = ((src[0] * is.d[1] + src[1]) * is.d[2] + src[2]) * is.d[3] + src[3];
                g_assert_cmpfloat (t.data[e], ==, xd[off]);
              }
      hone_test_gradcheck (g, batch, NULL);
    }
}

static void
test_transpose_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = HONE_SHAPE (2, 3, 4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int id;
  id = hone_graph_transpose (g, "tr_batch", x, (int[]) { 1, 0, 2, 3 }, 4, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'tr_batch'");
  id = hone_graph_transpose (g, "tr_default", x, NULL, 4, &error);  /* reversed: moves the batch */
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'tr_default'");
  id = hone_graph_transpose (g, "tr_dup", x, (int[]) { 0, 1, 1, 3 }, 4, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'tr_dup'");
  id = hone_graph_transpose (g, "tr_rank", x, (int[]) { 0, 2, 1 }, 3, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'tr_rank'");
}

/* Large enough for several threads; the same numbers as one. */
static void
test_threads (void)
{
  HoneShape in = HONE_SHAPE (32, 24, 24);
  int x;
  g_autoptr (HoneGraph) g = graph_with_inputs (&in, 1, &x);
  int y = hone_graph_transpose (g, "nhwc", x, (int[]) { 0, 2, 3, 1 }, 4, NULL);
  finish (g, y, 4, FALSE);
  const int64_t n = 4 * 32 * 24 * 24;
  float *results[2];
  for (int run = 0; run < 2; run++)
    {
      hone_set_num_threads (run == 0 ? 1 : 4);
      g_assert_true (hone_graph_forward (g, 4, TRUE, NULL));
      float *dy = hone_graph_grad (g, y);
      for (int64_t i = 0; i < n; i++)
        dy[i] = (float) (i % 101);
      hone_graph_backward (g);
      results[run] = g_new (float, 2 * n);
      memcpy (results[run], hone_graph_tensor (g, y).data, n * sizeof (float));
      memcpy (results[run] + n, hone_graph_grad (g, x), n * sizeof (float));
    }
  hone_set_num_threads (0);
  g_assert_cmpmem (results[0], 2 * n * sizeof (float), results[1], 2 * n * sizeof (float));
  /* backward of a transpose is the inverse transpose: dx[n, c, h, w] = dy[n, h, w, c] */
  const float *dx = results[0] + n;
  for (int64_t e = 0; e < n; e += 37)
    {
      int64_t w = e % 24, h = e / 24 % 24, c = e / 576 % 32, b = e / (576 * 32);
      g_assert_cmpfloat (dx[e], ==, (float) ((((b * 24 + h) * 24 + w) * 32 + c) % 101));
    }
  g_free (results[0]);
  g_free (results[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  init_concat_cases ();
  for (guint i = 0; i < G_N_ELEMENTS (concat_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/concat/%s", concat_cases[i].name);
      g_test_add_data_func (path, &concat_cases[i], test_concat);
    }
  g_test_add_func ("/engine/concat/errors", test_concat_errors);
  g_test_add_func ("/engine/flatten/values-gradcheck", test_flatten);
  g_test_add_func ("/engine/flatten/errors", test_flatten_errors);
  g_test_add_func ("/engine/reshape/values-gradcheck", test_reshape);
  g_test_add_func ("/engine/reshape/errors", test_reshape_errors);
  g_test_add_func ("/engine/transpose/values-gradcheck", test_transpose);
  g_test_add_func ("/engine/transpose/errors", test_transpose_errors);
  g_test_add_func ("/engine/transpose/threads", test_threads);
  return g_test_run ();
}
