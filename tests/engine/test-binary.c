/* test-binary.c: Add, Sub, Mul and Div with broadcasting: forward values
 * against a naive multi-index loop written here, finite-difference
 * gradient checks for same shapes, per-channel (C, 1, 1), scalar-like (1),
 * both-sides broadcasting and a parameter on either side, reproducibility
 * across thread counts, and the shape errors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-ops.h"

typedef int (*BinaryBuilder) (HoneGraph *g, const char *name, int a, int b, GError **error);

typedef struct
{
  const char *name;
  BinaryBuilder build;
  int kind;                 /* 0 add, 1 sub, 2 mul, 3 div */
} BinaryOp;

static const BinaryOp ops[] = {
  { "add", hone_graph_add, 0 },
  { "sub", hone_graph_sub, 1 },
  { "mul", hone_graph_mul, 2 },
  { "div", hone_graph_div, 3 },
};

/* Operand shapes: per sample for inputs, full for parameters. */
typedef struct
{
  const char *name;
  HoneShape a, b;
  gboolean a_param, b_param;
} ShapeCase;

static ShapeCase shape_cases[6];

static void
init_shape_cases (void)
{
  ShapeCase c[] = {
    { "same", HONE_SHAPE (3, 4, 5), HONE_SHAPE (3, 4, 5), FALSE, FALSE },
    { "channel-param", HONE_SHAPE (3, 4, 5), HONE_SHAPE (3, 1, 1), FALSE, TRUE },
    { "channel-param-left", HONE_SHAPE (3, 1, 1), HONE_SHAPE (3, 4, 5), TRUE, FALSE },
    { "scalar-param", HONE_SHAPE (3, 4, 5), HONE_SHAPE (1), FALSE, TRUE },
    { "scalar-param-left", HONE_SHAPE (1), HONE_SHAPE (3, 4, 5), TRUE, FALSE },
    /* both operands broadcast: (N, 3, 1, 5) and (N, 1, 4, 1) */
    { "both-sides", HONE_SHAPE (3, 1, 5), HONE_SHAPE (1, 4, 1), FALSE, FALSE },
  };
  memcpy (shape_cases, c, sizeof c);
}

static double
apply (int kind, double a, double b)
{
  switch (kind)
    {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
    }
}

typedef struct
{
  HoneGraph *g;
  int a, b, y;
} Built;

static void
build (Built *t, const BinaryOp *op, const ShapeCase *sc, int max_batch, gboolean side)
{
  g_autoptr (GError) error = NULL;
  t->g = hone_graph_new ();
  t->a = sc->a_param ? hone_graph_add_param (t->g, "a", &sc->a, &error)
                     : hone_graph_add_input (t->g, "a", &sc->a, &error);
  g_assert_no_error (error);
  t->b = sc->b_param ? hone_graph_add_param (t->g, "b", &sc->b, &error)
                     : hone_graph_add_input (t->g, "b", &sc->b, &error);
  g_assert_no_error (error);
  t->y = op->build (t->g, op->name, t->a, t->b, &error);
  g_assert_no_error (error);
  hone_graph_add_output (t->g, t->y);
  if (!sc->a_param)
    hone_graph_set_input_needs_grad (t->g, t->a, TRUE);
  if (!sc->b_param)
    hone_graph_set_input_needs_grad (t->g, t->b, TRUE);
  if (side)
    hone_test_add_side_outputs (t->g);
  g_assert_true (hone_graph_plan (t->g, max_batch, TRUE, &error));
}

static float *
operand_data (Built *t, int id)
{
  const HoneValue *v = hone_graph_value (t->g, id);
  return v->kind == HONE_VALUE_PARAM ? hone_graph_value_data (t->g, id)
                                     : hone_graph_input_data (t->g, id);
}

static HoneShape
operand_shape (Built *t, int id, int batch)
{
  const HoneValue *v = hone_graph_value (t->g, id);
  return v->kind == HONE_VALUE_PARAM ? v->shape : hone_shape_with_batch (&v->shape, batch);
}

/* Fills both operands; Div's denominator gets |b| in [0.5, 1.5). */
static void
fill (Built *t, const BinaryOp *op, int batch, uint64_t seed)
{
  hone_test_fill_graph (t->g, batch, seed);
  if (op->kind == 3)
    {
      HoneShape s = operand_shape (t, t->b, batch);
      float *b = operand_data (t, t->b);
      for (int64_t i = 0; i < hone_shape_numel (&s); i++)
        b[i] = (b[i] < 0 ? -0.5f : 0.5f) + b[i];
    }
}

/* Offset into a (right-aligned, broadcast) operand for an output index. */
static int64_t
naive_offset (const HoneShape *s, const HoneShape *out, const int64_t *idx)
{
  int64_t off = 0;
  for (int i = 0; i < s->rank; i++)
    {
      int j = out->rank - s->rank + i;
      off = off * s->d[i] + (s->d[i] == 1 ? 0 : idx[j]);
    }
  return off;
}

/* y and both gradients by the definition, in double. */
static void
naive (int kind, const float *a, const HoneShape *sa, const float *b, const HoneShape *sb,
       const float *dy, double *y, double *da, double *db, const HoneShape *out)
{
  int64_t n = hone_shape_numel (out);
  memset (da, 0, sizeof (double) * hone_shape_numel (sa));
  memset (db, 0, sizeof (double) * hone_shape_numel (sb));
  for (int64_t e = 0; e < n; e++)
    {
      int64_t idx[HONE_MAX_RANK], rest = e;
      for (int j = out->rank - 1; j >= 0; j--)
        {
          idx[j] = rest % out->d[j];
          rest /= out->d[j];
        }
      int64_t ia = naive_offset (sa, out, idx), ib = naive_offset (sb, out, idx);
      double av = a[ia], bv = b[ib];
      y[e] = apply (kind, av, bv);
      double ga = kind == 2 ? bv : kind == 3 ? 1 / bv : 1;
      double gb = kind == 2 ? av : kind == 3 ? -av / (bv * bv) : kind == 1 ? -1 : 1;
      da[ia] += dy[e] * ga;
      db[ib] += dy[e] * gb;
    }
}

static void
assert_close_double (const char *what, const float *got, const double *want, int64_t n,
                     double rtol, double atol)
{
  float *w = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    w[i] = (float) want[i];
  hone_test_assert_close (what, got, w, n, rtol, atol);
  g_free (w);
}

/* Forward and backward against the naive loop. */
static void
check_against_naive (const BinaryOp *op, const ShapeCase *sc, int batch)
{
  Built t;
  build (&t, op, sc, batch, FALSE);
  fill (&t, op, batch, 11);
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_forward (t.g, batch, TRUE, &error));

  HoneShape sa = operand_shape (&t, t.a, batch), sb = operand_shape (&t, t.b, batch);
  HoneTensor yt = hone_graph_tensor (t.g, t.y);
  int64_t n = hone_tensor_numel (&yt);
  float *dy = hone_graph_grad (t.g, t.y);
  HoneRng rng;
  hone_rng_init (&rng, 3, 3);
  hone_test_fill_uniform (&rng, dy, n, -1, 1);
  hone_graph_zero_grad (t.g);
  hone_graph_backward (t.g);

  double *y = g_new (double, n);
  double *da = g_new (double, hone_shape_numel (&sa));
  double *db = g_new (double, hone_shape_numel (&sb));
  naive (op->kind, operand_data (&t, t.a), &sa, operand_data (&t, t.b), &sb, dy, y, da, db,
         &yt.shape);
  assert_close_double ("y", yt.data, y, n, 1e-6, 1e-6);
  assert_close_double ("da", hone_graph_grad (t.g, t.a), da, hone_shape_numel (&sa), 1e-4, 1e-4);
  assert_close_double ("db", hone_graph_grad (t.g, t.b), db, hone_shape_numel (&sb), 1e-4, 1e-4);
  g_free (y);
  g_free (da);
  g_free (db);
  hone_graph_free (t.g);
}

typedef struct
{
  const BinaryOp *op;
  const ShapeCase *sc;
} Combo;

static void
test_naive (gconstpointer data)
{
  const Combo *c = data;
  check_against_naive (c->op, c->sc, 2);
}

static void
test_gradcheck (gconstpointer data)
{
  const Combo *c = data;
  Built t;
  build (&t, c->op, c->sc, 2, TRUE);
  fill (&t, c->op, 2, 5);
  HoneGradcheckOptions opts = { .max_checks = 64 };
  hone_test_gradcheck (t.g, 2, &opts);
  hone_test_check_param_accumulation (t.g, 2);
  hone_graph_free (t.g);
}

/* A squeeze-excitation scale, x (N, C, H, W) * s (N, C, 1, 1), both
 * activations; and a bias-like (C) parameter on an (N, C) activation. */
static void
test_more_layouts (void)
{
  ShapeCase se = { "se", HONE_SHAPE (6, 4, 3), HONE_SHAPE (6, 1, 1), FALSE, FALSE };
  ShapeCase bias = { "bias", HONE_SHAPE (7), HONE_SHAPE (7), FALSE, TRUE };
  ShapeCase lead = { "lead", HONE_SHAPE (2, 3), HONE_SHAPE (1, 2, 1), FALSE, TRUE };
  ShapeCase row = { "row", HONE_SHAPE (4, 1), HONE_SHAPE (1, 5), FALSE, FALSE };
  const ShapeCase *all[] = { &se, &bias, &lead, &row };
  for (guint k = 0; k < G_N_ELEMENTS (all); k++)
    for (guint o = 0; o < G_N_ELEMENTS (ops); o++)
      {
        check_against_naive (&ops[o], all[k], 3);
        Built t;
        build (&t, &ops[o], all[k], 2, TRUE);
        fill (&t, &ops[o], 2, 9);
        hone_test_gradcheck (t.g, 2, NULL);
        hone_test_check_param_accumulation (t.g, 2);
        hone_graph_free (t.g);
      }
}

/* Same numbers, bit for bit, on one thread and on several, for shapes big
 * enough to be split (per-channel and scalar gradients are reductions). */
static void
test_threads (void)
{
  ShapeCase big[] = {
    { "channel", HONE_SHAPE (16, 24, 24), HONE_SHAPE (16, 1, 1), FALSE, TRUE },
    { "scalar", HONE_SHAPE (16, 24, 24), HONE_SHAPE (1), FALSE, TRUE },
    { "same", HONE_SHAPE (16, 24, 24), HONE_SHAPE (16, 24, 24), FALSE, FALSE },
    { "both", HONE_SHAPE (16, 1, 24), HONE_SHAPE (1, 24, 1), FALSE, FALSE },
  };
  for (guint k = 0; k < G_N_ELEMENTS (big); k++)
    for (guint o = 0; o < G_N_ELEMENTS (ops); o++)
      {
        Built t;
        build (&t, &ops[o], &big[k], 4, FALSE);
        fill (&t, &ops[o], 4, 21);
        HoneShape sa = operand_shape (&t, t.a, 4), sb = operand_shape (&t, t.b, 4);
        int64_t na = hone_shape_numel (&sa), nb = hone_shape_numel (&sb);
        float *results[2];
        int64_t ny = 0;
        for (int run = 0; run < 2; run++)
          {
            hone_set_num_threads (run == 0 ? 1 : 4);
            g_assert_true (hone_graph_forward (t.g, 4, TRUE, NULL));
            HoneTensor yt = hone_graph_tensor (t.g, t.y);
            ny = hone_tensor_numel (&yt);
            float *dy = hone_graph_grad (t.g, t.y);
            for (int64_t i = 0; i < ny; i++)
              dy[i] = (float) ((i * 7919) % 13) / 13.0f - 0.5f;
            hone_graph_zero_grad (t.g);
            hone_graph_backward (t.g);
            results[run] = g_new (float, ny + na + nb);
            memcpy (results[run], yt.data, ny * sizeof (float));
            memcpy (results[run] + ny, hone_graph_grad (t.g, t.a), na * sizeof (float));
            memcpy (results[run] + ny + na, hone_graph_grad (t.g, t.b), nb * sizeof (float));
          }
        hone_set_num_threads (0);
        g_assert_cmpmem (results[0], (ny + na + nb) * sizeof (float),
                         results[1], (ny + na + nb) * sizeof (float));
        g_free (results[0]);
        g_free (results[1]);
        hone_graph_free (t.g);
        check_against_naive (&ops[o], &big[k], 4);
      }
}

/* Mul (x, x): both gradients land in the same buffer. */
static void
test_same_operand (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s = HONE_SHAPE (3);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int y = hone_graph_mul (g, "square", x, x, NULL);
  hone_graph_add_output (g, y);
  hone_graph_set_input_needs_grad (g, x, TRUE);
  g_assert_true (hone_graph_plan (g, 1, TRUE, NULL));
  float in[3] = { 1, -2, 3 };
  memcpy (hone_graph_input_data (g, x), in, sizeof in);
  g_assert_true (hone_graph_forward (g, 1, TRUE, NULL));
  float *dy = hone_graph_grad (g, y);
  for (int i = 0; i < 3; i++)
    dy[i] = 1;
  hone_graph_backward (g);
  float expect[3] = { 2, -4, 6 };
  hone_test_assert_close ("d(x*x)", hone_graph_grad (g, x), expect, 3, 0, 0);
}

static void
assert_shape_error (int id, GError **error, const char *node)
{
  g_assert_cmpint (id, ==, -1);
  g_assert_error (*error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr ((*error)->message, node));
  g_clear_error (error);
}

static void
test_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape s34 = HONE_SHAPE (3, 4), s5 = HONE_SHAPE (5), s24 = HONE_SHAPE (2, 4);
  HoneShape s4 = HONE_SHAPE (4), s134 = HONE_SHAPE (1, 3, 4);
  GError *error = NULL;
  int x = hone_graph_add_input (g, "x", &s34, NULL);
  int x4 = hone_graph_add_input (g, "x4", &s4, NULL);
  int p5 = hone_graph_add_param (g, "p5", &s5, NULL);
  int p24 = hone_graph_add_param (g, "p24", &s24, NULL);
  int p134 = hone_graph_add_param (g, "p134", &s134, NULL);
  int id;

  /* (N, 3, 4) and (5) do not broadcast */
  id = hone_graph_add (g, "add_bad", x, p5, &error);
  assert_shape_error (id, &error, "'add_bad'");
  id = hone_graph_div (g, "div_bad", p5, x, &error);
  assert_shape_error (id, &error, "'div_bad'");
  /* (N, 4) and (N, 3, 4): the first's batch would line up with the 3 */
  id = hone_graph_mul (g, "mul_rank", x4, x, &error);
  assert_shape_error (id, &error, "'mul_rank'");
  /* (N, 4) and a (2, 4) parameter: broadcasts at batch 2 only */
  id = hone_graph_sub (g, "sub_batch", x4, p24, &error);
  assert_shape_error (id, &error, "'sub_batch'");
  /* a (1, 3, 4) parameter is fine against (N, 3, 4) */
  id = hone_graph_add (g, "add_ok", x, p134, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  init_shape_cases ();
  static Combo combos[G_N_ELEMENTS (ops) * G_N_ELEMENTS (shape_cases)];
  int k = 0;
  for (guint o = 0; o < G_N_ELEMENTS (ops); o++)
    for (guint s = 0; s < G_N_ELEMENTS (shape_cases); s++, k++)
      {
        combos[k] = (Combo) { &ops[o], &shape_cases[s] };
        g_autofree char *p1 = g_strdup_printf ("/engine/binary/%s/%s/naive", ops[o].name,
                                               shape_cases[s].name);
        g_autofree char *p2 = g_strdup_printf ("/engine/binary/%s/%s/gradcheck", ops[o].name,
                                               shape_cases[s].name);
        g_test_add_data_func (p1, &combos[k], test_naive);
        g_test_add_data_func (p2, &combos[k], test_gradcheck);
      }
  g_test_add_func ("/engine/binary/more-layouts", test_more_layouts);
  g_test_add_func ("/engine/binary/threads", test_threads);
  g_test_add_func ("/engine/binary/same-operand", test_same_operand);
  g_test_add_func ("/engine/binary/errors", test_errors);
  return g_test_run ();
}
