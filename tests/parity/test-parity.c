/* test-parity.c: Hone against PyTorch, on the same weights and inputs.
 *
 * tests/parity/make_fixtures.py stores what PyTorch computes, case by case,
 * in safetensors files listed by a manifest (JSON); this program rebuilds
 * every case with Hone's builders, runs it, and compares:
 *
 *   /parity/op/CASE    one node of hone-ops.h: forward output (every
 *                      output of a Split), the input and parameter
 *                      gradients for a random upstream gradient,
 *                      BatchNorm's running statistics;
 *   /parity/net/CASE   a network in training mode under torch state_dict
 *                      names (cnn-s from hone-arch, ResNet and MobileNetV2
 *                      blocks built here from the op builders): logits,
 *                      cross-entropy, every parameter gradient, running
 *                      statistics, and the parameters after one SGD step
 *                      and after one Adam step.
 *
 * Each comparison is |hone - torch| <= atol + rtol * |torch| elementwise,
 * with the tolerances the manifest gives (see make_fixtures.py for why a
 * case has looser ones).  A failure names the case, the tensor, the worst
 * element and how many elements are off, and the test goes on comparing the
 * other tensors of the case.
 *
 * The manifest path comes from $HONE_PARITY_MANIFEST (meson sets it) or the
 * first argument.  This file does not produce fixtures, and does not check
 * losses, optimizers or schedules on their own (test-optim-parity.c does,
 * against torch.nn.functional and torch.optim). */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "hone-engine.h"
#include "hone-arch.h"
#include "hone-loss.h"
#include "hone-optim.h"
#include "hone-safetensors.h"

static JsonParser *manifest_parser;
static char *manifest_dir;

/* ---- fixtures ---------------------------------------------------------- */

typedef struct
{
  JsonObject *spec;           /* the case's manifest entry */
  HoneSafetensors *st;        /* its fixture */
  const char *name;
  double rtol;
  double atol;
} Case;

static void
case_clear (Case *c)
{
  g_clear_pointer (&c->st, hone_safetensors_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Case, case_clear)

static char *
fixture_path (const char *relative)
{
  return g_build_filename (manifest_dir, relative, NULL);
}

static gboolean
case_open (Case *c, JsonObject *spec)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = fixture_path (json_object_get_string_member (spec, "file"));
  c->spec = spec;
  c->name = json_object_get_string_member (spec, "name");
  c->rtol = json_object_get_double_member (spec, "rtol");
  c->atol = json_object_get_double_member (spec, "atol");
  c->st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  return c->st != NULL;
}

/* The fixture tensor `name`: its shape in *shape, a copy of its values
 * (g_free), or NULL with the test failed when the fixture lacks it. */
static float *
fixture_f32 (Case *c, const char *name, HoneShape *shape)
{
  g_autoptr (GError) error = NULL;
  int i = hone_safetensors_find (c->st, name);
  if (i < 0)
    {
      g_test_fail_printf ("%s: the fixture has no tensor '%s'", c->name, name);
      return NULL;
    }
  HoneShape s;
  g_assert_true (hone_safetensors_tensor_shape (c->st, i, &s, &error));
  float *data = g_new (float, MAX (hone_shape_numel (&s), 1));
  g_assert_true (hone_safetensors_read_f32 (c->st, i, data, &error));
  g_assert_no_error (error);
  if (shape)
    *shape = s;
  return data;
}

/* Labels (I64 in the fixture) as the int32 hone-loss.h takes. */
static int32_t *
fixture_labels (Case *c, const char *name, int64_t *n)
{
  g_autoptr (GError) error = NULL;
  int i = hone_safetensors_find (c->st, name);
  g_assert_cmpint (i, >=, 0);
  int64_t count = hone_safetensors_tensor (c->st, i)->numel;
  g_autofree int64_t *wide = g_new (int64_t, MAX (count, 1));
  g_assert_true (hone_safetensors_read_i64 (c->st, i, wide, &error));
  g_assert_no_error (error);
  int32_t *labels = g_new (int32_t, MAX (count, 1));
  for (int64_t k = 0; k < count; k++)
    labels[k] = (int32_t) wide[k];
  *n = count;
  return labels;
}

/* The tolerances of tensor `what`: the case's, unless the manifest's
 * "tolerances" object has an entry for it, by its exact name ("grad/w") or
 * by a prefix that ends in '/' ("grad/"); the exact name wins, then the
 * longest prefix.  *why (may be NULL) receives the entry's reason, if any. */
static void
tolerance_for (const Case *c, const char *what, double *rtol, double *atol, const char **why)
{
  *rtol = c->rtol;
  *atol = c->atol;
  if (why)
    *why = NULL;
  if (!json_object_has_member (c->spec, "tolerances"))
    return;
  JsonObject *tol = json_object_get_object_member (c->spec, "tolerances");
  g_autoptr (GList) keys = json_object_get_members (tol);
  const char *best = NULL;
  for (GList *l = keys; l; l = l->next)
    {
      const char *key = l->data;
      if (g_str_equal (key, what))
        {
          best = key;
          break;
        }
      if (g_str_has_suffix (key, "/") && g_str_has_prefix (what, key)
          && (!best || strlen (key) > strlen (best)))
        best = key;
    }
  if (!best)
    return;
  JsonObject *t = json_object_get_object_member (tol, best);
  *rtol = json_object_get_double_member (t, "rtol");
  *atol = json_object_get_double_member (t, "atol");
  if (why)
    *why = json_object_get_string_member_with_default (t, "why", NULL);
}

/* Compares Hone's values `got` with the fixture's tensor `what`, shapes
 * included, allowing element i slack[i] beyond the tolerance (slack may be
 * NULL).  Fails the test (without stopping it) on any difference beyond
 * that, naming the worst element.  Returns whether it matched. */
static gboolean
compare_with_slack (Case *c, const char *what, const float *got, const HoneShape *got_shape,
                    const double *slack)
{
  HoneShape shape;
  g_autofree float *want = fixture_f32 (c, what, &shape);
  if (!want)
    return FALSE;
  if (!got)
    {
      g_test_fail_printf ("%s: Hone has no values for '%s'", c->name, what);
      return FALSE;
    }
  if (got_shape && !hone_shape_equal (got_shape, &shape))
    {
      char a[128], b[128];
      g_test_fail_printf ("%s: '%s' has shape %s in Hone, %s in PyTorch", c->name, what,
                          hone_shape_to_string (got_shape, a, sizeof a),
                          hone_shape_to_string (&shape, b, sizeof b));
      return FALSE;
    }
  double rtol, atol;
  const char *why;
  tolerance_for (c, what, &rtol, &atol, &why);
  int64_t n = hone_shape_numel (&shape), bad = 0, worst = -1;
  double worst_excess = 0, max_abs = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double d = fabs ((double) got[i] - (double) want[i]);
      double excess = d - (atol + rtol * fabs ((double) want[i]) + (slack ? slack[i] : 0));
      max_abs = MAX (max_abs, d);
      if (!(excess <= 0))   /* also catches NaN */
        {
          bad++;
          if (worst < 0 || excess > worst_excess || isnan (excess))
            {
              worst = i;
              worst_excess = isnan (excess) ? INFINITY : excess;
            }
        }
    }
  if (bad)
    {
      g_autofree char *msg = g_strdup_printf ("%s: '%s' differs from PyTorch at %" G_GINT64_FORMAT
                                              " of %" G_GINT64_FORMAT " elements (rtol %g, atol %g"
                                              "%s%s%s); worst at %" G_GINT64_FORMAT ": Hone %.9g, "
                                              "PyTorch %.9g; largest |difference| %.3g",
                                              c->name, what, bad, n, rtol, atol,
                                              slack ? ", plus Adam's slack" : "",
                                              why ? ": " : "", why ? why : "", worst, got[worst],
                                              want[worst], max_abs);
      /* The test's own message keeps only the last failure: log every one. */
      g_test_message ("FAIL %s", msg);
      g_test_fail_printf ("%s", msg);
      return FALSE;
    }
  g_test_message ("%s: '%s' matches (%" G_GINT64_FORMAT " elements, largest |difference| %.3g)",
                  c->name, what, n, max_abs);
  return TRUE;
}

static gboolean
compare (Case *c, const char *what, const float *got, const HoneShape *got_shape)
{
  return compare_with_slack (c, what, got, got_shape, NULL);
}

/* Hone refusing a step (a builder, the plan, the forward pass, the loss,
 * the optimizer) fails the case with Hone's message, and the run goes on
 * with the next case.  Returns ok. */
static gboolean
hone_ok (Case *c, const char *step, gboolean ok, const GError *error)
{
  if (!ok)
    g_test_fail_printf ("%s: %s failed: %s", c->name, step,
                        error ? error->message : "(no error given)");
  return ok;
}

/* ---- manifest attributes ----------------------------------------------- */

static JsonObject *
attrs_of (Case *c)
{
  return json_object_get_object_member (c->spec, "attrs");
}

static double
attr_double (JsonObject *a, const char *key, double fallback)
{
  return json_object_has_member (a, key) ? json_object_get_double_member (a, key) : fallback;
}

static gboolean
attr_bool (JsonObject *a, const char *key, gboolean fallback)
{
  return json_object_has_member (a, key) ? json_object_get_boolean_member (a, key) : fallback;
}

static int
attr_int (JsonObject *a, const char *key, int fallback)
{
  return json_object_has_member (a, key) ? (int) json_object_get_int_member (a, key) : fallback;
}

/* Reads an integer array of exactly `n` entries (n < 0: any, at most
 * HONE_MAX_RANK) into out; returns the count, or fallback's when absent. */
static int
attr_ints (JsonObject *a, const char *key, int64_t *out, int n, const int64_t *fallback, int nf)
{
  if (!json_object_has_member (a, key))
    {
      for (int i = 0; i < nf; i++)
        out[i] = fallback[i];
      return nf;
    }
  JsonArray *arr = json_object_get_array_member (a, key);
  int len = json_array_get_length (arr);
  if (n >= 0)
    g_assert_cmpint (len, ==, n);
  g_assert_cmpint (len, <=, HONE_MAX_RANK);
  for (int i = 0; i < len; i++)
    out[i] = json_array_get_int_element (arr, i);
  return len;
}

/* ---- op cases ---------------------------------------------------------- */

/* Adds the node of the case's op over value ids `ids` (in the manifest's
 * order); returns its (first) output or -1 with error.  An op with several
 * outputs (Split) stores their ids in outs and their count in *n_outs, which
 * are left alone otherwise. */
static int
build_op (HoneGraph *g, Case *c, const int *ids, int n_ids, int *outs, int *n_outs,
          GError **error)
{
  const char *op = json_object_get_string_member (c->spec, "op");
  JsonObject *a = attrs_of (c);
  int64_t v[HONE_MAX_RANK];
  const char *name = "op";

  if (g_str_equal (op, "Conv"))
    {
      HoneConvAttrs at = { 0 };
      attr_ints (a, "strides", v, 2, (int64_t[]) { 1, 1 }, 2);
      at.stride[0] = v[0], at.stride[1] = v[1];
      attr_ints (a, "pads", v, 4, (int64_t[]) { 0, 0, 0, 0 }, 4);
      for (int i = 0; i < 4; i++)
        at.pad[i] = v[i];
      attr_ints (a, "dilations", v, 2, (int64_t[]) { 1, 1 }, 2);
      at.dilation[0] = v[0], at.dilation[1] = v[1];
      at.group = attr_int (a, "group", 1);
      return hone_graph_conv (g, name, ids[0], ids[1], n_ids > 2 ? ids[2] : -1, &at, error);
    }
  if (g_str_equal (op, "BatchNormalization"))
    {
      HoneBatchNormAttrs at = {
        .eps = attr_double (a, "epsilon", 1e-5),
        .momentum = attr_double (a, "momentum", 0.1),
      };
      return hone_graph_batch_norm (g, name, ids[0], ids[1], ids[2], ids[3], ids[4], &at, error);
    }
  if (g_str_equal (op, "MaxPool") || g_str_equal (op, "AveragePool"))
    {
      HonePoolAttrs at = { 0 };
      attr_ints (a, "kernel_shape", v, 2, NULL, 0);
      at.kernel[0] = v[0], at.kernel[1] = v[1];
      attr_ints (a, "strides", v, 2, (int64_t[]) { 1, 1 }, 2);
      at.stride[0] = v[0], at.stride[1] = v[1];
      attr_ints (a, "pads", v, 4, (int64_t[]) { 0, 0, 0, 0 }, 4);
      for (int i = 0; i < 4; i++)
        at.pad[i] = v[i];
      attr_ints (a, "dilations", v, 2, (int64_t[]) { 1, 1 }, 2);
      at.dilation[0] = v[0], at.dilation[1] = v[1];
      at.ceil_mode = attr_bool (a, "ceil_mode", FALSE);
      at.count_include_pad = attr_bool (a, "count_include_pad", FALSE);
      if (g_str_equal (op, "MaxPool"))
        return hone_graph_max_pool (g, name, ids[0], &at, error);
      return hone_graph_avg_pool (g, name, ids[0], &at, error);
    }
  if (g_str_equal (op, "GlobalAveragePool"))
    return hone_graph_global_avg_pool (g, name, ids[0], error);
  if (g_str_equal (op, "Relu"))
    return hone_graph_relu (g, name, ids[0], error);
  if (g_str_equal (op, "Clip"))
    return hone_graph_clip (g, name, ids[0], attr_double (a, "min", -INFINITY),
                            attr_double (a, "max", INFINITY), error);
  if (g_str_equal (op, "Sigmoid"))
    return hone_graph_sigmoid (g, name, ids[0], error);
  if (g_str_equal (op, "HardSigmoid"))
    return hone_graph_hard_sigmoid (g, name, ids[0], attr_double (a, "alpha", 0.2),
                                    attr_double (a, "beta", 0.5), error);
  if (g_str_equal (op, "Silu"))
    return hone_graph_silu (g, name, ids[0], error);
  if (g_str_equal (op, "HardSwish"))
    return hone_graph_hard_swish (g, name, ids[0], error);
  if (g_str_equal (op, "Gelu"))
    {
      const char *approx = json_object_get_string_member_with_default (a, "approximate", "none");
      return hone_graph_gelu (g, name, ids[0], g_str_equal (approx, "tanh"), error);
    }
  if (g_str_equal (op, "Gemm"))
    {
      HoneGemmAttrs at = {
        .alpha = attr_double (a, "alpha", 1.0),
        .beta = attr_double (a, "beta", 1.0),
        .trans_a = attr_bool (a, "transA", FALSE),
        .trans_b = attr_bool (a, "transB", FALSE),
      };
      return hone_graph_gemm (g, name, ids[0], ids[1], n_ids > 2 ? ids[2] : -1, &at, error);
    }
  if (g_str_equal (op, "MatMul"))
    return hone_graph_matmul (g, name, ids[0], ids[1], error);
  if (g_str_equal (op, "Add"))
    return hone_graph_add (g, name, ids[0], ids[1], error);
  if (g_str_equal (op, "Sub"))
    return hone_graph_sub (g, name, ids[0], ids[1], error);
  if (g_str_equal (op, "Mul"))
    return hone_graph_mul (g, name, ids[0], ids[1], error);
  if (g_str_equal (op, "Div"))
    return hone_graph_div (g, name, ids[0], ids[1], error);
  if (g_str_equal (op, "Concat"))
    return hone_graph_concat (g, name, ids, n_ids, attr_int (a, "axis", 1), error);
  if (g_str_equal (op, "Flatten"))
    return hone_graph_flatten (g, name, ids[0], attr_int (a, "axis", 1), error);
  if (g_str_equal (op, "Reshape"))
    {
      int rank = attr_ints (a, "shape", v, -1, NULL, 0);
      return hone_graph_reshape (g, name, ids[0], v, rank, error);
    }
  if (g_str_equal (op, "Transpose"))
    {
      int perm[HONE_MAX_RANK];
      int rank = attr_ints (a, "perm", v, -1, NULL, 0);
      for (int i = 0; i < rank; i++)
        perm[i] = v[i];
      return hone_graph_transpose (g, name, ids[0], perm, rank, error);
    }
  if (g_str_equal (op, "Softmax"))
    return hone_graph_softmax (g, name, ids[0], attr_int (a, "axis", -1), error);
  if (g_str_equal (op, "Dropout"))
    return hone_graph_dropout (g, name, ids[0], attr_double (a, "p", 0.5), error);
  if (g_str_equal (op, "LayerNormalization"))
    return hone_graph_layer_norm (g, name, ids[0], ids[1], n_ids > 2 ? ids[2] : -1,
                                  attr_int (a, "axis", -1), attr_double (a, "epsilon", 1e-5),
                                  error);
  if (g_str_equal (op, "ReduceMean") || g_str_equal (op, "ReduceSum"))
    {
      int axes[HONE_MAX_RANK];
      int n = attr_ints (a, "axes", v, -1, NULL, 0);
      for (int i = 0; i < n; i++)
        axes[i] = v[i];
      gboolean keepdims = attr_int (a, "keepdims", 1) != 0;
      if (g_str_equal (op, "ReduceMean"))
        return hone_graph_reduce_mean (g, name, ids[0], axes, n, keepdims, error);
      return hone_graph_reduce_sum (g, name, ids[0], axes, n, keepdims, error);
    }
  if (g_str_equal (op, "Erf"))
    return hone_graph_erf (g, name, ids[0], error);
  if (g_str_equal (op, "Sqrt"))
    return hone_graph_sqrt (g, name, ids[0], error);
  if (g_str_equal (op, "Tanh"))
    return hone_graph_tanh (g, name, ids[0], error);
  if (g_str_equal (op, "LeakyRelu"))
    return hone_graph_leaky_relu (g, name, ids[0], attr_double (a, "alpha", 0.01), error);
  if (g_str_equal (op, "Pow"))
    return hone_graph_pow (g, name, ids[0], attr_double (a, "exponent", 1.0), error);
  if (g_str_equal (op, "Slice"))
    {
      int64_t starts[HONE_MAX_RANK], ends[HONE_MAX_RANK], steps[HONE_MAX_RANK];
      int axes[HONE_MAX_RANK];
      int n = attr_ints (a, "starts", starts, -1, NULL, 0);
      attr_ints (a, "ends", ends, n, NULL, 0);
      attr_ints (a, "steps", steps, n, NULL, 0);
      attr_ints (a, "axes", v, n, NULL, 0);
      for (int i = 0; i < n; i++)
        axes[i] = v[i];
      return hone_graph_slice (g, name, ids[0], starts, ends, axes, steps, n, error);
    }
  if (g_str_equal (op, "Split"))
    {
      int64_t sizes[HONE_MAX_RANK];
      int n = attr_int (a, "num_outputs", 1);
      gboolean given = json_object_has_member (a, "split");
      if (given)
        attr_ints (a, "split", sizes, n, NULL, 0);
      *n_outs = n;
      return hone_graph_split (g, name, ids[0], attr_int (a, "axis", 0), given ? sizes : NULL, n,
                               outs, error);
    }
  if (g_str_equal (op, "Pad"))
    {
      int64_t pads[2 * HONE_MAX_RANK];
      int n = attr_ints (a, "pads", pads, -1, NULL, 0);
      const char *mode = json_object_get_string_member_with_default (a, "mode", "constant");
      HonePadMode m = g_str_equal (mode, "reflect") ? HONE_PAD_REFLECT
                      : g_str_equal (mode, "edge") ? HONE_PAD_EDGE : HONE_PAD_CONSTANT;
      return hone_graph_pad (g, name, ids[0], pads, n / 2, m, attr_double (a, "value", 0.0),
                             error);
    }

  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "the parity test does not know op '%s'", op);
  return -1;
}

static HoneShape
drop_batch (const HoneShape *s)
{
  HoneShape r = { .rank = s->rank - 1 };
  for (int i = 1; i < s->rank; i++)
    r.d[i - 1] = s->d[i];
  return r;
}

static void
test_op (gconstpointer data)
{
  g_auto (Case) c = { 0 };
  g_autoptr (GError) error = NULL;
  if (!case_open (&c, (JsonObject *) data))
    return;
  JsonArray *values = json_object_get_array_member (c.spec, "values");
  int n = json_array_get_length (values);
  gboolean training = json_object_get_boolean_member (c.spec, "training");
  g_autoptr (HoneGraph) g = hone_graph_new ();
  int *ids = g_newa (int, n);
  float **init = g_newa (float *, n);
  int batch = 0;

  for (int i = 0; i < n; i++)
    {
      JsonObject *v = json_array_get_object_element (values, i);
      const char *vname = json_object_get_string_member (v, "name");
      const char *role = json_object_get_string_member (v, "role");
      HoneShape s;
      init[i] = fixture_f32 (&c, vname, &s);
      g_assert_nonnull (init[i]);
      if (g_str_equal (role, "input"))
        {
          HoneShape per_sample = drop_batch (&s);
          g_assert_true (batch == 0 || batch == s.d[0]);
          batch = s.d[0];
          ids[i] = hone_graph_add_input (g, vname, &per_sample, &error);
        }
      else if (g_str_equal (role, "param"))
        ids[i] = hone_graph_add_param (g, vname, &s, &error);
      else
        ids[i] = hone_graph_add_buffer (g, vname, &s, 0.0f, &error);
      g_assert_no_error (error);
    }

  int outs[HONE_MAX_RANK], n_outs = 1;
  int y = build_op (g, &c, ids, n, outs, &n_outs, &error);
  if (!hone_ok (&c, "building the node", y >= 0, error))
    {
      for (int i = 0; i < n; i++)
        g_free (init[i]);
      return;
    }
  if (n_outs == 1)
    outs[0] = y;
  for (int k = 0; k < n_outs; k++)
    hone_graph_add_output (g, outs[k]);
  for (int i = 0; i < n; i++)
    if (hone_graph_value (g, ids[i])->kind == HONE_VALUE_INPUT)
      hone_graph_set_input_needs_grad (g, ids[i], TRUE);
  g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
  g_assert_no_error (error);

  for (int i = 0; i < n; i++)
    {
      const HoneValue *v = hone_graph_value (g, ids[i]);
      HoneShape full = v->kind == HONE_VALUE_INPUT ? hone_shape_with_batch (&v->shape, batch)
                                                   : v->shape;
      float *dst = v->kind == HONE_VALUE_INPUT ? hone_graph_input_data (g, ids[i])
                                               : hone_graph_value_data (g, ids[i]);
      memcpy (dst, init[i], (gsize) hone_shape_numel (&full) * sizeof (float));
      g_free (init[i]);
    }

  if (!hone_ok (&c, "forward", hone_graph_forward (g, batch, training, &error), error))
    return;
  /* One output: "y" and "dy"; several: "y:K" and "dy:K". */
  for (int k = 0; k < n_outs; k++)
    {
      g_autofree char *yname = n_outs == 1 ? g_strdup ("y") : g_strdup_printf ("y:%d", k);
      g_autofree char *dyname = n_outs == 1 ? g_strdup ("dy") : g_strdup_printf ("dy:%d", k);
      HoneTensor out = hone_graph_tensor (g, outs[k]);
      compare (&c, yname, out.data, &out.shape);

      HoneShape dy_shape;
      g_autofree float *dy = fixture_f32 (&c, dyname, &dy_shape);
      g_assert_nonnull (dy);
      g_assert_true (hone_shape_equal (&dy_shape, &out.shape));
      memcpy (hone_graph_grad (g, outs[k]), dy, (gsize) hone_shape_numel (&dy_shape) * sizeof (float));
    }
  hone_graph_backward (g);

  for (int i = 0; i < n; i++)
    {
      const HoneValue *v = hone_graph_value (g, ids[i]);
      if (v->kind == HONE_VALUE_BUFFER)
        {
          g_autofree char *what = g_strconcat ("after/", v->name, NULL);
          compare (&c, what, hone_graph_value_data (g, ids[i]), &v->shape);
        }
      else
        {
          g_autofree char *what = g_strconcat ("grad/", v->name, NULL);
          HoneShape full = v->kind == HONE_VALUE_INPUT ? hone_shape_with_batch (&v->shape, batch)
                                                       : v->shape;
          compare (&c, what, hone_graph_grad (g, ids[i]), &full);
        }
    }
}

/* ---- networks ---------------------------------------------------------- */

/* A parameter or buffer named prefix + suffix. */
static int
add_named (HoneGraph *g, HoneValueKind kind, const char *prefix, const char *suffix,
           const HoneShape *s, float fill, GError **error)
{
  g_autofree char *name = g_strconcat (prefix, suffix, NULL);
  if (kind == HONE_VALUE_PARAM)
    return hone_graph_add_param (g, name, s, error);
  return hone_graph_add_buffer (g, name, s, fill, error);
}

/* Conv2d (bias off) named `layer`, as torch's nn.Conv2d. */
static int
conv_layer (HoneGraph *g, const char *layer, int x, int cin, int cout, int k, int stride,
            int group, GError **error)
{
  HoneShape ws = HONE_SHAPE (cout, cin / group, k, k);
  int w = add_named (g, HONE_VALUE_PARAM, layer, ".weight", &ws, 0, error);
  if (w < 0)
    return -1;
  int p = k / 2;
  HoneConvAttrs at = { .stride = { stride, stride }, .pad = { p, p, p, p },
                       .dilation = { 1, 1 }, .group = group };
  return hone_graph_conv (g, layer, x, w, -1, &at, error);
}

/* BatchNorm2d named `layer` with torch's defaults (eps 1e-5, momentum 0.1). */
static int
bn_layer (HoneGraph *g, const char *layer, int x, int c, GError **error)
{
  HoneShape s = HONE_SHAPE (c);
  int w = add_named (g, HONE_VALUE_PARAM, layer, ".weight", &s, 0, error);
  int b = w < 0 ? -1 : add_named (g, HONE_VALUE_PARAM, layer, ".bias", &s, 0, error);
  int m = b < 0 ? -1 : add_named (g, HONE_VALUE_BUFFER, layer, ".running_mean", &s, 0, error);
  int v = m < 0 ? -1 : add_named (g, HONE_VALUE_BUFFER, layer, ".running_var", &s, 1, error);
  if (v < 0)
    return -1;
  HoneBatchNormAttrs at = { .eps = 1e-5f, .momentum = 0.1f };
  return hone_graph_batch_norm (g, layer, x, w, b, m, v, &at, error);
}

#define LAYER(...) (g_ptr_array_add (names, g_strdup_printf (__VA_ARGS__)), \
                    (const char *) g_ptr_array_index (names, names->len - 1))

/* torchvision.models.resnet.BasicBlock under `prefix` ("layer2.0."). */
static int
resnet_basic_block (HoneGraph *g, const char *prefix, int x, int inplanes, int planes, int stride,
                    gboolean downsample, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int y = conv_layer (g, LAYER ("%sconv1", prefix), x, inplanes, planes, 3, stride, 1, error);
  if (y >= 0) y = bn_layer (g, LAYER ("%sbn1", prefix), y, planes, error);
  if (y >= 0) y = hone_graph_relu (g, LAYER ("%srelu", prefix), y, error);
  if (y >= 0) y = conv_layer (g, LAYER ("%sconv2", prefix), y, planes, planes, 3, 1, 1, error);
  if (y >= 0) y = bn_layer (g, LAYER ("%sbn2", prefix), y, planes, error);
  int identity = x;
  if (y >= 0 && downsample)
    {
      identity = conv_layer (g, LAYER ("%sdownsample.0", prefix), x, inplanes, planes, 1, stride,
                             1, error);
      if (identity >= 0)
        identity = bn_layer (g, LAYER ("%sdownsample.1", prefix), identity, planes, error);
      if (identity < 0)
        return -1;
    }
  if (y >= 0) y = hone_graph_add (g, LAYER ("%sadd", prefix), y, identity, error);
  if (y >= 0) y = hone_graph_relu (g, LAYER ("%srelu", prefix), y, error);
  return y;
}

/* torchvision.models.mobilenetv2.InvertedResidual under `prefix`
 * ("features.3."): 1x1 expansion, 3x3 depthwise, 1x1 projection, each with
 * BatchNorm, ReLU6 (Clip 0..6) after the first two, and the residual add
 * when the stride is 1 and the widths match. */
static int
mobilenet_v2_inverted_residual (HoneGraph *g, const char *prefix, int x, int inp, int oup,
                                int stride, int expand_ratio, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int hidden = (int) lround ((double) inp * expand_ratio);
  int y = x;
  int i = 0;
  if (expand_ratio != 1)
    {
      y = conv_layer (g, LAYER ("%sconv.0.0", prefix), y, inp, hidden, 1, 1, 1, error);
      if (y >= 0) y = bn_layer (g, LAYER ("%sconv.0.1", prefix), y, hidden, error);
      if (y >= 0) y = hone_graph_clip (g, LAYER ("%sconv.0.2", prefix), y, 0.0f, 6.0f, error);
      i = 1;
    }
  if (y >= 0) y = conv_layer (g, LAYER ("%sconv.%d.0", prefix, i), y, hidden, hidden, 3, stride,
                              hidden, error);
  if (y >= 0) y = bn_layer (g, LAYER ("%sconv.%d.1", prefix, i), y, hidden, error);
  if (y >= 0) y = hone_graph_clip (g, LAYER ("%sconv.%d.2", prefix, i), y, 0.0f, 6.0f, error);
  if (y >= 0) y = conv_layer (g, LAYER ("%sconv.%d", prefix, i + 1), y, hidden, oup, 1, 1, 1,
                              error);
  if (y >= 0) y = bn_layer (g, LAYER ("%sconv.%d", prefix, i + 2), y, oup, error);
  if (y >= 0 && stride == 1 && inp == oup)
    y = hone_graph_add (g, LAYER ("%sadd", prefix), x, y, error);
  return y;
}

/* Global average pool, flatten, Linear named `head` ("fc"). */
static int
classifier_head (HoneGraph *g, const char *head, int x, int channels, int classes, GError **error)
{
  HoneShape ws = HONE_SHAPE (classes, channels), bs = HONE_SHAPE (classes);
  int w = add_named (g, HONE_VALUE_PARAM, head, ".weight", &ws, 0, error);
  int b = w < 0 ? -1 : add_named (g, HONE_VALUE_PARAM, head, ".bias", &bs, 0, error);
  if (b < 0)
    return -1;
  int y = hone_graph_global_avg_pool (g, "avgpool", x, error);
  if (y >= 0) y = hone_graph_flatten (g, "flatten", y, 1, error);
  HoneGemmAttrs at = { .alpha = 1, .beta = 1, .trans_b = TRUE };
  if (y >= 0) y = hone_graph_gemm (g, head, y, w, b, &at, error);
  return y;
}

/* The case's network, with one input and the logits as its one output:
 * cnn-s from hone-arch, the blocks built here followed by a classifier
 * head.  NULL with error when a builder refuses. */
static HoneGraph *
build_net (Case *c, GError **error)
{
  const char *arch = json_object_get_string_member (c->spec, "arch");
  const char *prefix = json_object_get_string_member (c->spec, "prefix");
  JsonObject *cfg = json_object_get_object_member (c->spec, "config");
  int classes = json_object_get_int_member (c->spec, "num_classes");
  int64_t in[3];
  attr_ints (c->spec, "input_shape", in, 3, NULL, 0);
  HoneShape in_shape = HONE_SHAPE (in[0], in[1], in[2]);

  if (g_str_equal (arch, "cnn-s"))
    {
      HoneArchOptions opts;
      hone_arch_options_init (&opts, hone_arch_find ("cnn-s"));
      opts.classes = classes;
      opts.channels = in[0];
      opts.height = in[1];
      opts.width = in[2];
      return hone_arch_build ("cnn-s", &opts, error);
    }

  g_autoptr (HoneGraph) g = hone_graph_new ();
  int x = hone_graph_add_input (g, "input", &in_shape, error);
  if (x < 0)
    return NULL;
  int y;
  const char *head;
  int width;
  if (g_str_equal (arch, "resnet_basic_block"))
    {
      width = attr_int (cfg, "planes", 0);
      head = "fc";
      hone_graph_set_block (g, prefix);
      y = resnet_basic_block (g, prefix, x, attr_int (cfg, "inplanes", 0), width,
                              attr_int (cfg, "stride", 1), attr_bool (cfg, "downsample", FALSE),
                              error);
    }
  else if (g_str_equal (arch, "mobilenet_v2_inverted_residual"))
    {
      width = attr_int (cfg, "oup", 0);
      head = "classifier.1";
      hone_graph_set_block (g, prefix);
      y = mobilenet_v2_inverted_residual (g, prefix, x, attr_int (cfg, "inp", 0), width,
                                          attr_int (cfg, "stride", 1),
                                          attr_int (cfg, "expand_ratio", 6), error);
    }
  else
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "the parity test does not know arch '%s'", arch);
      return NULL;
    }
  hone_graph_set_block (g, "head");
  if (y >= 0)
    y = classifier_head (g, head, y, width, classes, error);
  if (y < 0)
    return NULL;
  hone_graph_add_output (g, y);
  return g_steal_pointer (&g);
}

/* Loads the case's state_dict file into g: strictly by name, so a missing,
 * extra or misshapen tensor (a naming difference from torch) fails here. */
static gboolean
load_weights (HoneGraph *g, Case *c)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = fixture_path (json_object_get_string_member (c->spec, "weights"));
  return hone_ok (c, "loading the torch state_dict by name",
                  hone_graph_load_safetensors (g, path, HONE_LOAD_STRICT, &error), error);
}

/* Adam's first step moves each weight by lr * f (g) with f (g) = g / (|g| +
 * eps) (m and v are g and g squared after bias correction), which is about
 * lr * sign (g) wherever |g| >> eps: a gradient within rounding of zero (one
 * that cancels out in a sum, as in a convolution behind BatchNorm) can step
 * either way, by up to lr.  So that the check asks of Hone's Adam step
 * exactly what the gradient check asked of its gradient, element i may
 * differ by as much as the step could for a gradient anywhere within that
 * tolerance of PyTorch's g_i:
 *   slack_i = lr * max over g' in [g_i - tol_i, g_i + tol_i] of |f (g') - f (g_i)|
 * where tol_i = atol + rtol |g_i| and g_i includes the L2 weight decay
 * term.  f is monotonic, so the maximum is at an end.  Elements with
 * |g_i| >> tol_i get next to no slack: a wrong update still fails. */
static double *
adam_slack (Case *c, const char *pname, int64_t n)
{
  JsonObject *o = json_object_get_object_member (c->spec, "adam");
  double lr = json_object_get_double_member (o, "lr");
  double eps = json_object_get_double_member (o, "eps");
  double wd = json_object_get_double_member (o, "weight_decay");
  g_autofree char *gname = g_strconcat ("grad/", pname, NULL);
  if (hone_safetensors_find (c->st, gname) < 0)
    return NULL;    /* frozen: the weight must not move at all */
  HoneShape gs, ps;
  g_autofree float *grad = fixture_f32 (c, gname, &gs);
  g_autofree float *w0 = fixture_f32 (c, pname, &ps);
  double rtol, atol;
  tolerance_for (c, gname, &rtol, &atol, NULL);
  if (!grad || !w0 || hone_shape_numel (&gs) != n || hone_shape_numel (&ps) != n)
    return NULL;
  double *slack = g_new (double, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    {
      double g = (double) grad[i] + wd * w0[i];
      double tol = atol + rtol * fabs ((double) grad[i]);
      double f = g / (fabs (g) + eps);
      double lo = (g - tol) / (fabs (g - tol) + eps);
      double hi = (g + tol) / (fabs (g + tol) + eps);
      slack[i] = lr * MAX (fabs (lo - f), fabs (hi - f));
    }
  return slack;
}

static gboolean
is_frozen (Case *c, const char *pname)
{
  if (!json_object_has_member (c->spec, "frozen"))
    return FALSE;
  JsonArray *frozen = json_object_get_array_member (c->spec, "frozen");
  for (guint i = 0; i < json_array_get_length (frozen); i++)
    if (g_str_equal (json_array_get_string_element (frozen, i), pname))
      return TRUE;
  return FALSE;
}

/* Compares every parameter of the manifest's list under `prefix` ("grad/",
 * "sgd/", "adam/") with Hone's gradients (grads TRUE: trainable parameters
 * only) or weights (frozen ones included: they must not have moved). */
static void
compare_params (HoneGraph *g, Case *c, const char *prefix, gboolean grads)
{
  JsonArray *params = json_object_get_array_member (c->spec, "params");
  for (guint i = 0; i < json_array_get_length (params); i++)
    {
      const char *pname = json_array_get_string_element (params, i);
      int id = hone_graph_find (g, pname);
      if (grads && is_frozen (c, pname))
        continue;
      if (id < 0)
        {
          g_test_fail_printf ("%s: Hone's graph has no parameter '%s'", c->name, pname);
          continue;
        }
      const HoneValue *v = hone_graph_value (g, id);
      g_autofree char *what = g_strconcat (prefix, pname, NULL);
      g_autofree double *slack = NULL;
      if (g_str_equal (prefix, "adam/"))
        slack = adam_slack (c, pname, hone_shape_numel (&v->shape));
      compare_with_slack (c, what, grads ? hone_graph_grad (g, id) : hone_graph_value_data (g, id),
                          &v->shape, slack);
    }
}

static gboolean
optimizer_step (HoneGraph *g, Case *c, HoneOptimKind kind)
{
  g_autoptr (GError) error = NULL;
  HoneOptimConfig cfg;
  hone_optim_config_init (&cfg, kind);
  double lr;
  if (kind == HONE_OPTIM_SGD)
    {
      JsonObject *o = json_object_get_object_member (c->spec, "sgd");
      lr = json_object_get_double_member (o, "lr");
      cfg.momentum = json_object_get_double_member (o, "momentum");
      cfg.dampening = json_object_get_double_member (o, "dampening");
      cfg.nesterov = json_object_get_boolean_member (o, "nesterov");
      cfg.weight_decay = json_object_get_double_member (o, "weight_decay");
    }
  else
    {
      JsonObject *o = json_object_get_object_member (c->spec, "adam");
      JsonArray *betas = json_object_get_array_member (o, "betas");
      lr = json_object_get_double_member (o, "lr");
      cfg.beta1 = json_array_get_double_element (betas, 0);
      cfg.beta2 = json_array_get_double_element (betas, 1);
      cfg.eps = json_object_get_double_member (o, "eps");
      cfg.weight_decay = json_object_get_double_member (o, "weight_decay");
    }
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (g, &cfg, &error);
  if (!hone_ok (c, "making the optimizer", opt != NULL, error))
    return FALSE;
  return hone_ok (c, "the optimizer step", hone_optimizer_step (opt, lr, &error), error);
}

static void
test_net (gconstpointer data)
{
  g_auto (Case) c = { 0 };
  g_autoptr (GError) error = NULL;
  if (!case_open (&c, (JsonObject *) data))
    return;
  int batch = json_object_get_int_member (c.spec, "batch");
  g_autoptr (HoneGraph) g = build_net (&c, &error);
  if (!hone_ok (&c, "building the network", g != NULL, error))
    return;
  g_assert_cmpint (hone_graph_n_inputs (g), ==, 1);
  g_assert_cmpint (hone_graph_n_outputs (g), ==, 1);
  int logits = hone_graph_output (g, 0);
  int input = hone_graph_input (g, 0);
  if (!load_weights (g, &c))
    return;
  JsonArray *frozen = json_object_get_array_member (c.spec, "frozen");
  for (guint i = 0; i < json_array_get_length (frozen); i++)
    {
      int id = hone_graph_find (g, json_array_get_string_element (frozen, i));
      g_assert_cmpint (id, >=, 0);
      hone_graph_set_trainable (g, id, FALSE);
    }
  g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
  g_assert_no_error (error);

  HoneShape xs;
  g_autofree float *x = fixture_f32 (&c, "input", &xs);
  HoneShape want_xs = hone_shape_with_batch (&hone_graph_value (g, input)->shape, batch);
  g_assert_true (hone_shape_equal (&xs, &want_xs));
  memcpy (hone_graph_input_data (g, input), x, (gsize) hone_shape_numel (&xs) * sizeof (float));

  /* Forward in training mode: logits and the running statistics. */
  if (!hone_ok (&c, "forward", hone_graph_forward (g, batch, TRUE, &error), error))
    return;
  HoneTensor out = hone_graph_tensor (g, logits);
  compare (&c, "logits", out.data, &out.shape);
  JsonArray *buffers = json_object_get_array_member (c.spec, "buffers");
  for (guint i = 0; i < json_array_get_length (buffers); i++)
    {
      const char *bname = json_array_get_string_element (buffers, i);
      int id = hone_graph_find (g, bname);
      g_assert_cmpint (id, >=, 0);
      g_autofree char *what = g_strconcat ("after/", bname, NULL);
      compare (&c, what, hone_graph_value_data (g, id), &hone_graph_value (g, id)->shape);
    }

  /* Cross-entropy and its gradient, straight into the logits' gradient. */
  int64_t n_labels;
  g_autofree int32_t *labels = fixture_labels (&c, "labels", &n_labels);
  g_assert_cmpint (n_labels, ==, batch);
  HoneLoss loss;
  hone_loss_init (&loss);
  double value = 0;
  int64_t classes = out.shape.d[1];
  if (!hone_ok (&c, "the cross-entropy",
                hone_loss_compute (&loss, &value, hone_graph_grad (g, logits), out.data, labels,
                                   NULL, batch, classes, 1.0f, &error), error))
    return;
  float v32 = (float) value;
  HoneShape scalar = { .rank = 0 };
  compare (&c, "loss", &v32, &scalar);
  compare (&c, "grad/logits", hone_graph_grad (g, logits), &out.shape);

  hone_graph_zero_grad (g);
  hone_graph_backward (g);
  compare_params (g, &c, "grad/", TRUE);

  /* One step of each optimizer from the same weights and gradients. */
  if (optimizer_step (g, &c, HONE_OPTIM_SGD))
    compare_params (g, &c, "sgd/", FALSE);
  if (load_weights (g, &c) && optimizer_step (g, &c, HONE_OPTIM_ADAM))
    compare_params (g, &c, "adam/", FALSE);
}

/* ---- main -------------------------------------------------------------- */

static void
test_manifest (gconstpointer data)
{
  const char *path = data;
  if (!path)
    {
      g_test_skip ("no fixtures: set HONE_PARITY_MANIFEST (meson test does) or pass the "
                   "manifest's path");
      return;
    }
  g_assert_nonnull (manifest_parser);
  JsonObject *root = json_node_get_object (json_parser_get_root (manifest_parser));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "cases")), >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  const char *path = g_getenv ("HONE_PARITY_MANIFEST");
  if (argc > 1)
    path = argv[1];
  if (path && *path)
    {
      g_autoptr (GError) error = NULL;
      manifest_parser = json_parser_new ();
      if (!json_parser_load_from_file (manifest_parser, path, &error))
        {
          g_printerr ("test-parity: cannot read the manifest %s: %s\n", path, error->message);
          return 1;
        }
      g_autofree char *abs = g_canonicalize_filename (path, NULL);
      manifest_dir = g_path_get_dirname (abs);
    }
  else
    path = NULL;
  g_test_add_data_func ("/parity/manifest", path, test_manifest);

  if (manifest_parser)
    {
      JsonObject *root = json_node_get_object (json_parser_get_root (manifest_parser));
      JsonArray *cases = json_object_get_array_member (root, "cases");
      for (guint i = 0; i < json_array_get_length (cases); i++)
        {
          JsonObject *spec = json_array_get_object_element (cases, i);
          const char *kind = json_object_get_string_member (spec, "kind");
          g_autofree char *tpath = g_strdup_printf ("/parity/%s/%s", kind,
                                                    json_object_get_string_member (spec, "name"));
          if (g_str_equal (kind, "op"))
            g_test_add_data_func (tpath, spec, test_op);
          else if (g_str_equal (kind, "net"))
            g_test_add_data_func (tpath, spec, test_net);
        }
    }

  int ret = g_test_run ();
  g_clear_object (&manifest_parser);
  g_free (manifest_dir);
  return ret;
}
