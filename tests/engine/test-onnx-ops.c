/* test-onnx-ops.c: the ops the ONNX importer needs beyond the built-in
 * architectures (LayerNormalization, ReduceMean / ReduceSum, Erf, Sqrt,
 * Tanh, LeakyRelu, Pow, Slice, Split, Pad): forward values against naive
 * computations written here (in double precision, from the ONNX spec's
 * formulas), finite-difference gradient checks for every attribute
 * combination, that backward accumulates, and the errors that name the
 * node. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-ops.h"

/* ---- helpers -------------------------------------------------------------- */

/* HONE_SHAPE as a constant initializer, for the case tables. */
#define SHAPE_INIT(...) \
  { .rank = (int) (sizeof ((int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t)), .d = { __VA_ARGS__ } }

static HoneGraph *
graph_with_input (const HoneShape *per_sample, int *x)
{
  HoneGraph *g = hone_graph_new ();
  *x = hone_graph_add_input (g, "x", per_sample, NULL);
  g_assert_cmpint (*x, >=, 0);
  hone_graph_set_input_needs_grad (g, *x, TRUE);
  return g;
}

/* Marks y an output, adds side outputs (so that backward must add, not
 * store), plans for backward and fills inputs and parameters. */
static void
finish (HoneGraph *g, int y, int batch)
{
  g_assert_cmpint (y, >=, 0);
  hone_graph_add_output (g, y);
  hone_test_add_side_outputs (g);
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
  g_assert_no_error (error);
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

/* Multi-index of element e of a shape. */
static void
unravel (const HoneShape *s, int64_t e, int64_t *idx)
{
  for (int j = s->rank - 1; j >= 0; j--)
    {
      idx[j] = e % s->d[j];
      e /= s->d[j];
    }
}

static int64_t
ravel (const HoneShape *s, const int64_t *idx)
{
  int64_t off = 0;
  for (int j = 0; j < s->rank; j++)
    off = off * s->d[j] + idx[j];
  return off;
}

static float *
input_data (HoneGraph *g, int x, int batch, int64_t *n)
{
  HoneShape s = hone_shape_with_batch (&hone_graph_value (g, x)->shape, batch);
  *n = hone_shape_numel (&s);
  return hone_graph_input_data (g, x);
}

/* ---- LayerNormalization --------------------------------------------------- */

typedef struct
{
  const char *name;
  HoneShape shape;           /* per sample */
  int axis;
  gboolean bias;
  gboolean scale_const;      /* scale as a constant (no gradient) instead of a parameter */
  int batch;
} LnCase;

static const LnCase ln_cases[] = {
  { "axis-last-bias", SHAPE_INIT (3, 5), -1, TRUE, FALSE, 2 },
  { "axis-last-nobias", SHAPE_INIT (3, 5), 2, FALSE, FALSE, 2 },
  { "axis1-bias", SHAPE_INIT (3, 2, 4), 1, TRUE, FALSE, 3 },
  { "axis2-nobias", SHAPE_INIT (3, 2, 4), 2, FALSE, FALSE, 2 },
  { "axis-2-bias", SHAPE_INIT (3, 2, 4), -2, TRUE, FALSE, 2 },
  { "const-scale", SHAPE_INIT (4, 6), -1, TRUE, TRUE, 2 },
  /* more rows than the gradient's parts, rows longer than a vector block */
  { "many-rows-wide", SHAPE_INIT (9, 37), -1, TRUE, FALSE, 5 },
  { "1d", SHAPE_INIT (7), 1, TRUE, FALSE, 3 },
};

static void
test_layer_norm (gconstpointer data)
{
  const LnCase *c = data;
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&c->shape, &x);
  g_autoptr (GError) error = NULL;
  int r = c->shape.rank + 1;
  int axis = c->axis < 0 ? c->axis + r : c->axis;
  HoneShape ps = { .rank = r - axis };
  for (int i = axis; i < r; i++)
    ps.d[i - axis] = c->shape.d[i - 1];
  int64_t D = hone_shape_numel (&ps);
  g_autofree float *scale_init = g_new (float, D);
  for (int64_t j = 0; j < D; j++)
    scale_init[j] = 0.5f + 0.1f * (float) (j % 7);
  int scale = c->scale_const ? hone_graph_add_const (g, "scale", &ps, scale_init, &error)
                             : hone_graph_add_param (g, "scale", &ps, &error);
  g_assert_no_error (error);
  int bias = c->bias ? hone_graph_add_param (g, "bias", &ps, &error) : -1;
  g_assert_no_error (error);
  int y = hone_graph_layer_norm (g, "ln", x, scale, bias, c->axis, 1e-5f, &error);
  g_assert_no_error (error);
  finish (g, y, c->batch);
  /* inputs with an offset, so that the mean matters */
  int64_t n;
  float *xd = input_data (g, x, c->batch, &n);
  for (int64_t i = 0; i < n; i++)
    xd[i] = 3.0f + 2.0f * xd[i];
  g_assert_true (hone_graph_forward (g, c->batch, TRUE, &error));

  const float *sd = hone_graph_value_data (g, scale);
  const float *bd = bias >= 0 ? hone_graph_value_data (g, bias) : NULL;
  const float *yd = hone_graph_tensor (g, y).data;
  int64_t rows = n / D;
  g_autofree float *want = g_new (float, n);
  for (int64_t row = 0; row < rows; row++)
    {
      double m = 0, v = 0;
      for (int64_t j = 0; j < D; j++)
        m += xd[row * D + j];
      m /= D;
      for (int64_t j = 0; j < D; j++)
        v += (xd[row * D + j] - m) * (xd[row * D + j] - m);
      v /= D;
      for (int64_t j = 0; j < D; j++)
        want[row * D + j] = (float) ((xd[row * D + j] - m) / sqrt (v + 1e-5) * sd[j]
                                     + (bd ? bd[j] : 0.0));
    }
  hone_test_assert_close ("layer norm forward", yd, want, n, 1e-5, 1e-5);
  hone_test_gradcheck (g, c->batch, NULL);
  hone_test_check_param_accumulation (g, c->batch);
}

/* Rows whose mean is large against their spread: the shifted one-pass
 * statistics must not cancel. */
static void
test_layer_norm_offset (void)
{
  HoneShape s = SHAPE_INIT (64);
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&s, &x);
  g_autoptr (GError) error = NULL;
  HoneShape ps = SHAPE_INIT (64);
  float ones[64];
  for (int i = 0; i < 64; i++)
    ones[i] = 1.0f;
  int scale = hone_graph_add_const (g, "scale", &ps, ones, &error);
  int y = hone_graph_layer_norm (g, "ln", x, scale, -1, -1, 1e-5f, &error);
  g_assert_no_error (error);
  hone_graph_add_output (g, y);
  g_assert_true (hone_graph_plan (g, 2, FALSE, &error));
  float *xd = hone_graph_input_data (g, x);
  for (int i = 0; i < 128; i++)
    xd[i] = 1000.0f + (float) ((i * 37) % 11) - 5.0f + (i == 64 ? 4000.0f : 0.0f);
  g_assert_true (hone_graph_forward (g, 2, FALSE, &error));
  const float *yd = hone_graph_tensor (g, y).data;
  for (int row = 0; row < 2; row++)
    {
      double m = 0, v = 0;
      for (int j = 0; j < 64; j++)
        m += xd[row * 64 + j];
      m /= 64;
      for (int j = 0; j < 64; j++)
        v += (xd[row * 64 + j] - m) * (xd[row * 64 + j] - m);
      v /= 64;
      float want[64];
      for (int j = 0; j < 64; j++)
        want[j] = (float) ((xd[row * 64 + j] - m) / sqrt (v + 1e-5));
      hone_test_assert_close ("offset rows", yd + row * 64, want, 64, 1e-4, 1e-4);
    }
}

static void
test_layer_norm_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = SHAPE_INIT (3, 4), s4 = SHAPE_INIT (4), s34 = SHAPE_INIT (3, 4), s5 = SHAPE_INIT (5);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int w4 = hone_graph_add_param (g, "w4", &s4, NULL);
  int w34 = hone_graph_add_param (g, "w34", &s34, NULL);
  int w5 = hone_graph_add_param (g, "w5", &s5, NULL);
  int id;
  id = hone_graph_layer_norm (g, "ln_batch", x, w34, -1, 0, 1e-5f, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'ln_batch'");
  id = hone_graph_layer_norm (g, "ln_batch_neg", x, w34, -1, -3, 1e-5f, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'ln_batch_neg'");
  id = hone_graph_layer_norm (g, "ln_range", x, w4, -1, 3, 1e-5f, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'ln_range'");
  id = hone_graph_layer_norm (g, "ln_scale", x, w5, -1, -1, 1e-5f, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'ln_scale'");
  id = hone_graph_layer_norm (g, "ln_scale_axis1", x, w4, -1, 1, 1e-5f, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'ln_scale_axis1'");
  id = hone_graph_layer_norm (g, "ln_bias", x, w4, w5, -1, 1e-5f, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'ln_bias'");
  id = hone_graph_layer_norm (g, "ln_eps", x, w4, w4, -1, -1.0f, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'ln_eps'");
  id = hone_graph_layer_norm (g, "ln_eps_nan", x, w4, w4, -1, NAN, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'ln_eps_nan'");
  id = hone_graph_layer_norm (g, "ln_ok", x, w34, w34, 1, 1e-5f, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >=, 0);
}

/* ---- ReduceMean / ReduceSum ---------------------------------------------- */

typedef struct
{
  const char *name;
  gboolean mean;
  int n_axes;
  int axes[3];
  gboolean keepdims;
  HoneShape out;             /* per sample */
} ReduceCase;

/* input (3, 4, 5) per sample */
static const ReduceCase reduce_cases[] = {
  { "mean-last-keep", TRUE, 1, { -1 }, TRUE, SHAPE_INIT (3, 4, 1) },
  { "mean-last-drop", TRUE, 1, { 3 }, FALSE, SHAPE_INIT (3, 4) },
  { "mean-hw-keep", TRUE, 2, { 2, 3 }, TRUE, SHAPE_INIT (3, 1, 1) },
  { "mean-hw-drop", TRUE, 2, { -1, -2 }, FALSE, SHAPE_INIT (3) },
  { "mean-channel-keep", TRUE, 1, { 1 }, TRUE, SHAPE_INIT (1, 4, 5) },
  { "mean-1-3-drop", TRUE, 2, { 1, 3 }, FALSE, SHAPE_INIT (4) },
  { "mean-all-keep", TRUE, 0, { 0 }, TRUE, SHAPE_INIT (1, 1, 1) },
  { "mean-all-drop", TRUE, 0, { 0 }, FALSE, { 0 } },
  { "sum-last-keep", FALSE, 1, { -1 }, TRUE, SHAPE_INIT (3, 4, 1) },
  { "sum-middle-drop", FALSE, 1, { 2 }, FALSE, SHAPE_INIT (3, 5) },
  { "sum-1-3-keep", FALSE, 2, { 1, -1 }, TRUE, SHAPE_INIT (1, 4, 1) },
  { "sum-all-drop", FALSE, 0, { 0 }, FALSE, { 0 } },
};

static void
test_reduce (gconstpointer data)
{
  const ReduceCase *c = data;
  const int batch = 2;
  HoneShape in = SHAPE_INIT (3, 4, 5);
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&in, &x);
  g_autoptr (GError) error = NULL;
  int y = c->mean ? hone_graph_reduce_mean (g, "red", x, c->axes, c->n_axes, c->keepdims, &error)
                  : hone_graph_reduce_sum (g, "red", x, c->axes, c->n_axes, c->keepdims, &error);
  g_assert_no_error (error);
  g_assert_true (hone_shape_equal (&hone_graph_value (g, y)->shape, &c->out));
  finish (g, y, batch);
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));

  /* naive: every input element into the output element it reduces to */
  gboolean reduced[4] = { FALSE, c->n_axes == 0, c->n_axes == 0, c->n_axes == 0 };
  for (int k = 0; k < c->n_axes; k++)
    reduced[c->axes[k] < 0 ? c->axes[k] + 4 : c->axes[k]] = TRUE;
  HoneShape full = hone_shape_with_batch (&in, batch);
  HoneShape keep = full;
  int64_t count = 1;
  for (int j = 0; j < 4; j++)
    if (reduced[j])
      {
        count *= keep.d[j];
        keep.d[j] = 1;
      }
  int64_t n;
  const float *xd = input_data (g, x, batch, &n);
  int64_t m = hone_shape_numel (&keep);
  g_autofree double *acc = g_new0 (double, m);
  for (int64_t e = 0; e < n; e++)
    {
      int64_t idx[4];
      unravel (&full, e, idx);
      for (int j = 0; j < 4; j++)
        if (reduced[j])
          idx[j] = 0;
      acc[ravel (&keep, idx)] += xd[e];
    }
  g_autofree float *want = g_new (float, m);
  for (int64_t i = 0; i < m; i++)
    want[i] = (float) (c->mean ? acc[i] / count : acc[i]);
  HoneTensor t = hone_graph_tensor (g, y);
  g_assert_cmpint (hone_tensor_numel (&t), ==, m);
  hone_test_assert_close ("reduce forward", t.data, want, m, 1e-5, 1e-6);
  hone_test_gradcheck (g, batch, NULL);
}

/* Larger than one thread's chunk, so the work is split. */
static void
test_reduce_large (void)
{
  HoneShape in = SHAPE_INIT (16, 24, 24);
  const int batch = 8;
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&in, &x);
  g_autoptr (GError) error = NULL;
  int axes[2] = { 2, 3 };
  int y = hone_graph_reduce_mean (g, "red", x, axes, 2, TRUE, &error);
  g_assert_no_error (error);
  finish (g, y, batch);
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
  int64_t n;
  const float *xd = input_data (g, x, batch, &n);
  float want[8 * 16];
  for (int p = 0; p < 8 * 16; p++)
    {
      double s = 0;
      for (int k = 0; k < 24 * 24; k++)
        s += xd[p * 576 + k];
      want[p] = (float) (s / 576);
    }
  hone_test_assert_close ("reduce large", hone_graph_tensor (g, y).data, want, 8 * 16, 1e-5, 1e-6);
  HoneGradcheckOptions o = { .max_checks = 12 };
  hone_test_gradcheck (g, batch, &o);
}

static void
test_reduce_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = SHAPE_INIT (3, 4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int id;
  id = hone_graph_reduce_mean (g, "rm_batch", x, (int[]) { 0 }, 1, TRUE, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rm_batch'");
  id = hone_graph_reduce_mean (g, "rm_batch_neg", x, (int[]) { 1, -3 }, 2, TRUE, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rm_batch_neg'");
  id = hone_graph_reduce_sum (g, "rs_range", x, (int[]) { 3 }, 1, FALSE, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_range'");
  id = hone_graph_reduce_sum (g, "rs_twice", x, (int[]) { 1, -2 }, 2, FALSE, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_twice'");
  int many[9] = { 1, 2, 1, 2, 1, 2, 1, 2, 1 };
  id = hone_graph_reduce_sum (g, "rs_many", x, many, 9, FALSE, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'rs_many'");
}

/* ---- elementwise ---------------------------------------------------------- */

typedef enum { EW_ERF, EW_SQRT, EW_TANH, EW_LEAKY, EW_POW } EwKind;

typedef struct
{
  const char *name;
  EwKind kind;
  float param;          /* alpha or exponent */
  float lo, hi;         /* input range */
} EwCase;

static const EwCase ew_cases[] = {
  { "erf", EW_ERF, 0, -3, 3 },
  { "sqrt", EW_SQRT, 0, 0.2f, 4 },
  { "tanh", EW_TANH, 0, -3, 3 },
  { "leaky-relu-0.01", EW_LEAKY, 0.01f, -2, 2 },
  { "leaky-relu-0.2", EW_LEAKY, 0.2f, -2, 2 },
  { "leaky-relu-neg", EW_LEAKY, -0.5f, -2, 2 },
  { "pow-2", EW_POW, 2.0f, -2, 2 },
  { "pow-3", EW_POW, 3.0f, -2, 2 },
  { "pow-1", EW_POW, 1.0f, -2, 2 },
  { "pow-0", EW_POW, 0.0f, -2, 2 },
  { "pow-0.5", EW_POW, 0.5f, 0.2f, 3 },
  { "pow-1.5", EW_POW, 1.5f, 0.2f, 3 },
  { "pow-minus-1", EW_POW, -1.0f, 0.5f, 3 },
};

static double
ew_reference (const EwCase *c, double x)
{
  switch (c->kind)
    {
    case EW_ERF: return erf (x);
    case EW_SQRT: return sqrt (x);
    case EW_TANH: return tanh (x);
    case EW_LEAKY: return x >= 0 ? x : c->param * x;
    case EW_POW: return pow (x, c->param);
    default: g_assert_not_reached ();
    }
}

static int
ew_build (HoneGraph *g, const EwCase *c, int x, GError **error)
{
  switch (c->kind)
    {
    case EW_ERF: return hone_graph_erf (g, "ew", x, error);
    case EW_SQRT: return hone_graph_sqrt (g, "ew", x, error);
    case EW_TANH: return hone_graph_tanh (g, "ew", x, error);
    case EW_LEAKY: return hone_graph_leaky_relu (g, "ew", x, c->param, error);
    case EW_POW: return hone_graph_pow (g, "ew", x, c->param, error);
    default: g_assert_not_reached ();
    }
}

static void
test_elementwise (gconstpointer data)
{
  const EwCase *c = data;
  const int batch = 3;
  /* 37 elements per sample: vector blocks and a scalar tail */
  HoneShape s = SHAPE_INIT (37);
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&s, &x);
  g_autoptr (GError) error = NULL;
  int y = ew_build (g, c, x, &error);
  g_assert_no_error (error);
  finish (g, y, batch);
  int64_t n;
  float *xd = input_data (g, x, batch, &n);
  for (int64_t i = 0; i < n; i++)
    {
      /* from [-1, 1) to [lo, hi), kept 0.05 away from 0 (LeakyRelu's kink) */
      float v = c->lo + (c->hi - c->lo) * 0.5f * (xd[i] + 1.0f);
      if (fabsf (v) < 0.05f)
        v = v < 0 ? -0.05f : 0.05f;
      xd[i] = v;
    }
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
  g_assert_cmpint (n, ==, batch * 37);
  g_autofree float *want = g_new (float, batch * 37);
  for (int64_t i = 0; i < n; i++)
    want[i] = (float) ew_reference (c, xd[i]);
  hone_test_assert_close (c->name, hone_graph_tensor (g, y).data, want, n, 1e-5, 1e-6);
  hone_test_gradcheck (g, batch, NULL);
}

static void
test_elementwise_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = SHAPE_INIT (3);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int p = hone_graph_add_param (g, "p", &s, NULL);
  int id;
  id = hone_graph_pow (g, "pow_nan", x, NAN, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pow_nan'");
  id = hone_graph_pow (g, "pow_inf", x, INFINITY, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pow_inf'");
  id = hone_graph_leaky_relu (g, "leaky_nan", x, NAN, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'leaky_nan'");
  /* a parameter alone does not depend on the model input */
  id = hone_graph_erf (g, "erf_param", p, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'erf_param'");
  id = hone_graph_sqrt (g, "sqrt_param", p, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'sqrt_param'");
  id = hone_graph_tanh (g, "tanh_param", p, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'tanh_param'");
}

/* ---- Slice ------------------------------------------------------------------ */

typedef struct
{
  const char *name;
  int n;
  int axes[3];
  int64_t starts[3], ends[3], steps[3];
  HoneShape out;        /* per sample, of input (4, 5, 6) */
} SliceCase;

static const SliceCase slice_cases[] = {
  { "channels-1-3", 1, { 1 }, { 1 }, { 3 }, { 1 }, SHAPE_INIT (2, 5, 6) },
  { "last-step2", 1, { -1 }, { 0 }, { 6 }, { 2 }, SHAPE_INIT (4, 5, 3) },
  { "clamped-ends", 2, { 1, 2 }, { -100, 2 }, { G_MAXINT64, 1000 }, { 1, 1 }, SHAPE_INIT (4, 3, 6) },
  { "reverse-all", 1, { 3 }, { -1 }, { G_MININT64 }, { -1 }, SHAPE_INIT (4, 5, 6) },
  { "reverse-step2", 2, { 2, 3 }, { 4, 100 }, { 0, -100 }, { -2, -3 }, SHAPE_INIT (4, 2, 2) },
  { "negative-start-end", 1, { -2 }, { -4 }, { -1 }, { 1 }, SHAPE_INIT (4, 3, 6) },
  { "three-axes", 3, { 3, 1, 2 }, { 1, 3, 4 }, { 5, 0, 0 }, { 3, -1, -3 }, SHAPE_INIT (3, 2, 2) },
  { "whole", 1, { 1 }, { 0 }, { G_MAXINT64 }, { 1 }, SHAPE_INIT (4, 5, 6) },
};

/* Indices kept along one axis, straight from the ONNX reference
 * implementation's reading of the spec (Python slice semantics after
 * clamping). */
static int
naive_slice_axis (int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *idx)
{
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  int n = 0;
  if (step > 0)
    {
      start = MAX (0, MIN (start, dim));
      end = MAX (0, MIN (end, dim));
      for (int64_t i = start; i < end; i += step)
        idx[n++] = i;
    }
  else
    {
      start = MAX (0, MIN (start, dim - 1));
      end = MAX (-1, MIN (end, dim - 1));
      for (int64_t i = start; i > end; i += step)
        idx[n++] = i;
    }
  return n;
}

static void
test_slice (gconstpointer data)
{
  const SliceCase *c = data;
  const int batch = 2;
  HoneShape in = SHAPE_INIT (4, 5, 6);
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&in, &x);
  g_autoptr (GError) error = NULL;
  int y = hone_graph_slice (g, "slice", x, c->starts, c->ends, c->axes, c->steps, c->n, &error);
  g_assert_no_error (error);
  g_assert_true (hone_shape_equal (&hone_graph_value (g, y)->shape, &c->out));
  finish (g, y, batch);
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));

  HoneShape full = hone_shape_with_batch (&in, batch);
  int64_t kept[4][8], counts[4];
  for (int j = 0; j < 4; j++)
    {
      counts[j] = full.d[j];
      for (int64_t i = 0; i < full.d[j]; i++)
        kept[j][i] = i;
    }
  for (int k = 0; k < c->n; k++)
    {
      int axis = c->axes[k] < 0 ? c->axes[k] + 4 : c->axes[k];
      counts[axis] = naive_slice_axis (full.d[axis], c->starts[k], c->ends[k], c->steps[k],
                                       kept[axis]);
    }
  HoneTensor t = hone_graph_tensor (g, y);
  for (int j = 0; j < 4; j++)
    g_assert_cmpint (t.shape.d[j], ==, counts[j]);
  int64_t n;
  const float *xd = input_data (g, x, batch, &n);
  for (int64_t e = 0; e < hone_tensor_numel (&t); e++)
    {
      int64_t idx[4];
      unravel (&t.shape, e, idx);
      for (int j = 0; j < 4; j++)
        idx[j] = kept[j][idx[j]];
      g_assert_cmpfloat (t.data[e], ==, xd[ravel (&full, idx)]);
    }
  hone_test_gradcheck (g, batch, NULL);
}

static void
test_slice_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = SHAPE_INIT (4, 5);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int id;
  id = hone_graph_slice (g, "sl_batch", x, (int64_t[]) { 0 }, (int64_t[]) { 1 }, (int[]) { 0 },
                         NULL, 1, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sl_batch'");
  id = hone_graph_slice (g, "sl_batch_neg", x, (int64_t[]) { 0 }, (int64_t[]) { 1 },
                         (int[]) { -3 }, NULL, 1, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sl_batch_neg'");
  id = hone_graph_slice (g, "sl_range", x, (int64_t[]) { 0 }, (int64_t[]) { 1 }, (int[]) { 3 },
                         NULL, 1, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sl_range'");
  id = hone_graph_slice (g, "sl_step0", x, (int64_t[]) { 0 }, (int64_t[]) { 1 }, (int[]) { 1 },
                         (int64_t[]) { 0 }, 1, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sl_step0'");
  id = hone_graph_slice (g, "sl_twice", x, (int64_t[]) { 0, 0 }, (int64_t[]) { 1, 2 },
                         (int[]) { 1, -2 }, NULL, 2, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sl_twice'");
  id = hone_graph_slice (g, "sl_empty", x, (int64_t[]) { 3 }, (int64_t[]) { 1 }, (int[]) { 1 },
                         NULL, 1, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'sl_empty'");
  id = hone_graph_slice (g, "sl_empty_neg", x, (int64_t[]) { 1 }, (int64_t[]) { 3 },
                         (int[]) { 2 }, (int64_t[]) { -1 }, 1, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'sl_empty_neg'");
  id = hone_graph_slice (g, "sl_none", x, NULL, NULL, NULL, NULL, 0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sl_none'");
}

/* ---- Split ------------------------------------------------------------------ */

static void
check_split (int axis, const int64_t *sizes, int n_out)
{
  const int batch = 2;
  HoneShape in = SHAPE_INIT (6, 3, 4);
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&in, &x);
  g_autoptr (GError) error = NULL;
  int outs[HONE_MAX_RANK];
  int first = hone_graph_split (g, "split", x, axis, sizes, n_out, outs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (first, ==, outs[0]);
  for (int k = 1; k < n_out; k++)
    hone_graph_add_output (g, outs[k]);
  finish (g, outs[0], batch);
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));

  int a = axis < 0 ? axis + 4 : axis;
  HoneShape full = hone_shape_with_batch (&in, batch);
  int64_t n;
  const float *xd = input_data (g, x, batch, &n);
  int64_t offset = 0;
  for (int k = 0; k < n_out; k++)
    {
      HoneTensor t = hone_graph_tensor (g, outs[k]);
      int64_t size = sizes ? sizes[k] : full.d[a] / n_out;
      g_assert_cmpint (t.shape.d[a], ==, size);
      g_autofree char *vname = n_out > 1 ? g_strdup_printf ("split:%d", k) : g_strdup ("split");
      g_assert_cmpstr (hone_graph_value (g, outs[k])->name, ==, vname);
      for (int64_t e = 0; e < hone_tensor_numel (&t); e++)
        {
          int64_t idx[4];
          unravel (&t.shape, e, idx);
          idx[a] += offset;
          g_assert_cmpfloat (t.data[e], ==, xd[ravel (&full, idx)]);
        }
      offset += size;
    }
  hone_test_gradcheck (g, batch, NULL);
}

static void
test_split (void)
{
  check_split (1, NULL, 3);
  check_split (1, (int64_t[]) { 1, 4, 1 }, 3);
  check_split (-1, (int64_t[]) { 3, 1 }, 2);
  check_split (2, NULL, 3);
  check_split (3, NULL, 1);
}

static void
test_split_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = SHAPE_INIT (6, 4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int outs[HONE_MAX_RANK];
  int id;
  id = hone_graph_split (g, "sp_batch", x, 0, NULL, 2, outs, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sp_batch'");
  id = hone_graph_split (g, "sp_range", x, 3, NULL, 2, outs, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sp_range'");
  id = hone_graph_split (g, "sp_uneven", x, 2, NULL, 3, outs, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'sp_uneven'");
  id = hone_graph_split (g, "sp_sum", x, 1, (int64_t[]) { 2, 2 }, 2, outs, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'sp_sum'");
  id = hone_graph_split (g, "sp_over", x, 1, (int64_t[]) { 5, 5 }, 2, outs, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'sp_over'");
  id = hone_graph_split (g, "sp_zero", x, 1, (int64_t[]) { 6, 0 }, 2, outs, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sp_zero'");
  id = hone_graph_split (g, "sp_many", x, 1, NULL, 9, outs, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'sp_many'");
}

/* ---- Pad -------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  HonePadMode mode;
  int64_t pads[8];       /* rank 4: begins, then ends */
  HoneShape out;         /* per sample, of input (2, 4, 5) */
} PadCase;

static const PadCase pad_cases[] = {
  { "constant", HONE_PAD_CONSTANT, { 0, 1, 2, 1, 0, 0, 1, 3 }, SHAPE_INIT (3, 7, 9) },
  { "constant-crop", HONE_PAD_CONSTANT, { 0, 0, -1, 2, 0, 1, 2, -2 }, SHAPE_INIT (3, 5, 5) },
  { "reflect", HONE_PAD_REFLECT, { 0, 0, 3, 2, 0, 1, 2, 4 }, SHAPE_INIT (3, 9, 11) },
  { "reflect-crop", HONE_PAD_REFLECT, { 0, 0, -2, 3, 0, 0, 1, -1 }, SHAPE_INIT (2, 3, 7) },
  { "edge", HONE_PAD_EDGE, { 0, 2, 1, 4, 0, 1, 3, 2 }, SHAPE_INIT (5, 8, 11) },
  { "edge-crop", HONE_PAD_EDGE, { 0, -1, 2, -3, 0, 0, -1, 5 }, SHAPE_INIT (1, 5, 7) },
};

static void
test_pad (gconstpointer data)
{
  const PadCase *c = data;
  const int batch = 2;
  const float value = 0.75f;
  HoneShape in = SHAPE_INIT (2, 4, 5);
  int x;
  g_autoptr (HoneGraph) g = graph_with_input (&in, &x);
  g_autoptr (GError) error = NULL;
  int y = hone_graph_pad (g, "pad", x, c->pads, 4, c->mode, value, &error);
  g_assert_no_error (error);
  g_assert_true (hone_shape_equal (&hone_graph_value (g, y)->shape, &c->out));
  finish (g, y, batch);
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));

  /* naive, per element, as numpy.pad describes the modes */
  HoneShape full = hone_shape_with_batch (&in, batch);
  int64_t n;
  const float *xd = input_data (g, x, batch, &n);
  HoneTensor t = hone_graph_tensor (g, y);
  for (int64_t e = 0; e < hone_tensor_numel (&t); e++)
    {
      int64_t idx[4];
      unravel (&t.shape, e, idx);
      gboolean outside = FALSE;
      for (int j = 0; j < 4; j++)
        {
          int64_t i = idx[j] - c->pads[j], d = full.d[j];
          if (c->mode == HONE_PAD_EDGE)
            i = MAX (0, MIN (i, d - 1));
          else if (c->mode == HONE_PAD_REFLECT)
            {
              if (i < 0)
                i = -i;
              if (i > d - 1)
                i = 2 * (d - 1) - i;
            }
          else if (i < 0 || i >= d)
            outside = TRUE;
          idx[j] = i;
        }
      float want = outside ? value : xd[ravel (&full, idx)];
      g_assert_cmpfloat (t.data[e], ==, want);
    }
  hone_test_gradcheck (g, batch, NULL);
}

static void
test_pad_errors (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  GError *error = NULL;
  HoneShape s = SHAPE_INIT (3, 4);
  int x = hone_graph_add_input (g, "x", &s, NULL);
  int id;
  id = hone_graph_pad (g, "pad_batch", x, (int64_t[]) { 1, 0, 0, 0, 0, 0 }, 3, HONE_PAD_CONSTANT,
                       0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pad_batch'");
  id = hone_graph_pad (g, "pad_rank", x, (int64_t[]) { 0, 0, 0, 0 }, 2, HONE_PAD_CONSTANT, 0,
                       &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pad_rank'");
  id = hone_graph_pad (g, "pad_reflect", x, (int64_t[]) { 0, 0, 4, 0, 0, 0 }, 3, HONE_PAD_REFLECT,
                       0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pad_reflect'");
  id = hone_graph_pad (g, "pad_crop_all", x, (int64_t[]) { 0, -2, 0, 0, -1, 0 }, 3,
                       HONE_PAD_CONSTANT, 0, &error);
  assert_error (id, &error, HONE_ERROR_SHAPE, "'pad_crop_all'");
  id = hone_graph_pad (g, "pad_mode", x, (int64_t[]) { 0, 0, 0, 0, 0, 0 }, 3, (HonePadMode) 7,
                       0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pad_mode'");
  id = hone_graph_pad (g, "pad_zero_rank", x, NULL, 0, HONE_PAD_CONSTANT, 0, &error);
  assert_error (id, &error, HONE_ERROR_ATTRIBUTE, "'pad_zero_rank'");
}

/* ---- registration ----------------------------------------------------------- */

static void
test_registered (void)
{
  static const char *const names[] = { "LayerNormalization", "ReduceMean", "ReduceSum", "Erf",
                                       "Sqrt", "Tanh", "LeakyRelu", "Pow", "Slice", "Split",
                                       "Pad" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const HoneOpClass *op = hone_op_class_find (names[i]);
      g_assert_nonnull (op);
      g_assert_cmpstr (op->name, ==, names[i]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (ln_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/layer-norm/%s", ln_cases[i].name);
      g_test_add_data_func (path, &ln_cases[i], test_layer_norm);
    }
  g_test_add_func ("/engine/layer-norm/offset", test_layer_norm_offset);
  g_test_add_func ("/engine/layer-norm/errors", test_layer_norm_errors);
  for (guint i = 0; i < G_N_ELEMENTS (reduce_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/reduce/%s", reduce_cases[i].name);
      g_test_add_data_func (path, &reduce_cases[i], test_reduce);
    }
  g_test_add_func ("/engine/reduce/large", test_reduce_large);
  g_test_add_func ("/engine/reduce/errors", test_reduce_errors);
  for (guint i = 0; i < G_N_ELEMENTS (ew_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/elementwise/%s", ew_cases[i].name);
      g_test_add_data_func (path, &ew_cases[i], test_elementwise);
    }
  g_test_add_func ("/engine/elementwise/errors", test_elementwise_errors);
  for (guint i = 0; i < G_N_ELEMENTS (slice_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/slice/%s", slice_cases[i].name);
      g_test_add_data_func (path, &slice_cases[i], test_slice);
    }
  g_test_add_func ("/engine/slice/errors", test_slice_errors);
  g_test_add_func ("/engine/split/forward-backward", test_split);
  g_test_add_func ("/engine/split/errors", test_split_errors);
  for (guint i = 0; i < G_N_ELEMENTS (pad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/pad/%s", pad_cases[i].name);
      g_test_add_data_func (path, &pad_cases[i], test_pad);
    }
  g_test_add_func ("/engine/pad/errors", test_pad_errors);
  g_test_add_func ("/engine/onnx-ops/registered", test_registered);
  return g_test_run ();
}
