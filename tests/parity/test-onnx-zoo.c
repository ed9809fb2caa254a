/* test-onnx-zoo.c: torchvision's classifiers exported by torch.onnx.export
 * (tests/parity/make_onnx_zoo.py) import into Hone and compute what PyTorch
 * computes: the eval-mode logits of every export (BatchNorm folded or
 * kept, opsets 7 to 17), and for the exports that keep BatchNorm one SGD
 * step in train mode (every parameter and running statistic afterwards).
 *
 * Arguments: the manifest the script wrote.  Also: a replaced head trains,
 * metadata and its defaults, a symbolic batch, and the one error listing
 * every unsupported op (small models written by the same script's helper
 * below, through /usr/bin/python3 when HONE_PYTHON names it). */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hone-test-util.h"
#include "hone-loss.h"
#include "hone-safetensors.h"
#include "onnx/hone-onnx.h"

typedef struct
{
  char *model, *mode, *file, *fixture, *skip;
  int opset;
} Case;

static double lr = 0.1;
static int batch = 2;


static float *
read_tensor (HoneSafetensors *st, const char *name, HoneShape *shape)
{
  int i = hone_safetensors_find (st, name);
  if (i < 0)
    return NULL;
  g_autoptr (GError) error = NULL;
  HoneShape s;
  g_assert_true (hone_safetensors_tensor_shape (st, i, &s, &error));
  float *data = g_new (float, MAX (hone_shape_numel (&s), 1));
  g_assert_true (hone_safetensors_read_f32 (st, i, data, &error));
  if (shape)
    *shape = s;
  return data;
}

static double
max_abs (const float *a, int64_t n)
{
  double m = 0;
  for (int64_t i = 0; i < n; i++)
    m = MAX (m, fabs (a[i]));
  return m;
}

/* Forward in eval mode on the fixture's input; asserts the logits. */
static void
check_forward (HoneModel *model, HoneSafetensors *st, gboolean plan_backward)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = model->graph;
  HoneShape xs, ys;
  g_autofree float *x = read_tensor (st, "input", &xs);
  g_autofree float *y = read_tensor (st, "logits", &ys);
  g_assert_nonnull (x);
  g_assert_true (hone_graph_plan (g, batch, plan_backward, &error));
  g_assert_no_error (error);
  int in = hone_graph_input (g, 0);
  memcpy (hone_graph_input_data (g, in), x, sizeof (float) * hone_shape_numel (&xs));
  g_assert_true (hone_graph_forward (g, batch, FALSE, &error));
  HoneTensor out = hone_graph_tensor (g, hone_graph_output (g, 0));
  g_assert_cmpint (hone_tensor_numel (&out), ==, hone_shape_numel (&ys));
  double scale = max_abs (y, hone_shape_numel (&ys));
  hone_test_assert_close ("logits", out.data, y, hone_shape_numel (&ys), 1e-3, 1e-4 * scale + 1e-6);
}

/* One SGD step as the script's; every parameter's change and every buffer
 * against torch's. */
static void
check_step (HoneModel *model, HoneSafetensors *st)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = model->graph;
  HoneShape xs;
  g_autofree float *x = read_tensor (st, "input", &xs);
  int ti = hone_safetensors_find (st, "target");
  g_assert_cmpint (ti, >=, 0);
  int64_t target64[8];
  g_assert_true (hone_safetensors_read_i64 (st, ti, target64, &error));
  int32_t labels[8];
  for (int i = 0; i < batch; i++)
    labels[i] = (int32_t) target64[i];

  int nv = hone_graph_n_values (g);
  g_autofree float **before = g_new0 (float *, nv);
  for (int v = 0; v < nv; v++)
    {
      const HoneValue *hv = hone_graph_value (g, v);
      if (hv->kind == HONE_VALUE_PARAM)
        before[v] = g_memdup2 (hone_graph_value_data (g, v), sizeof (float) * hone_shape_numel (&hv->shape));
    }

  g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
  memcpy (hone_graph_input_data (g, hone_graph_input (g, 0)), x, sizeof (float) * hone_shape_numel (&xs));
  hone_graph_zero_grad (g);
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
  g_assert_no_error (error);
  int out = hone_graph_output (g, 0);
  HoneTensor logits = hone_graph_tensor (g, out);
  HoneLoss loss;
  hone_loss_init (&loss);
  double value;
  g_assert_true (hone_loss_compute (&loss, &value, hone_graph_grad (g, out), logits.data, labels,
                                    NULL, batch, model->n_classes, 1.0f, &error));
  hone_graph_backward (g);
  for (int v = 0; v < nv; v++)
    {
      const HoneValue *hv = hone_graph_value (g, v);
      if (hv->kind != HONE_VALUE_PARAM)
        continue;
      float *p = hone_graph_value_data (g, v);
      const float *d = hone_graph_grad (g, v);
      for (int64_t i = 0; i < hone_shape_numel (&hv->shape); i++)
        p[i] -= (float) lr * d[i];
    }

  /* updates that are nearly 0 are compared to the model's largest (RMS) */
  double global = 0;
  for (int v = 0; v < nv; v++)
    {
      const HoneValue *hv = hone_graph_value (g, v);
      if (hv->kind != HONE_VALUE_PARAM)
        continue;
      g_autofree char *key = g_strconcat ("update.", hv->name, NULL);
      HoneShape rs;
      g_autofree float *ref = read_tensor (st, key, &rs);
      int64_t n = ref ? hone_shape_numel (&rs) : 0;
      double ss = 0;
      for (int64_t i = 0; i < n; i++)
        ss += (double) ref[i] * ref[i];
      if (n > 0)
        global = MAX (global, sqrt (ss / n));
    }

  int checked = 0;
  for (int v = 0; v < nv; v++)
    {
      const HoneValue *hv = hone_graph_value (g, v);
      if (hv->kind != HONE_VALUE_PARAM && hv->kind != HONE_VALUE_BUFFER)
        continue;
      int64_t n = hone_shape_numel (&hv->shape);
      float *p = hone_graph_value_data (g, v);
      gboolean param = hv->kind == HONE_VALUE_PARAM;
      g_autofree char *key = g_strconcat (param ? "update." : "step.", hv->name, NULL);
      HoneShape rs;
      g_autofree float *ref = read_tensor (st, key, &rs);
      if (!ref)
        {
          g_test_message ("%s: no tensor '%s' in the reference (names must be the state_dict's)",
                          model->source, key);
          g_test_fail ();
          continue;
        }
      g_assert_cmpint (n, ==, hone_shape_numel (&rs));
      if (n != hone_shape_numel (&rs))
        continue;
      if (param)
        {
          /* Hone's float32 update must be as close to torch's float64 one as
           * torch's float32 update is (tol), give or take */
          g_autofree char *tkey = g_strconcat ("tol.", hv->name, NULL);
          g_autofree float *tol = read_tensor (st, tkey, NULL);
          /* torch exports a Linear on more than two dimensions as MatMul with
           * the weight transposed: compare such a weight transposed */
          gboolean transposed = hv->shape.rank == 2 && rs.rank == 2
            && hv->shape.d[0] == rs.d[1] && hv->shape.d[1] == rs.d[0] && rs.d[0] != rs.d[1];
          double ss = 0, se = 0;
          for (int64_t i = 0; i < n; i++)
            {
              int64_t j = transposed ? (i % rs.d[0]) * rs.d[1] + i / rs.d[0] : i;
              double d = (p[i] - before[v][i]) - ref[j];
              se += d * d;
              ss += (double) ref[j] * ref[j];
            }
          double err = sqrt (se) / MAX (sqrt (ss), 1e-3 * global * sqrt ((double) n));
          double allowed = 4.0 * (tol ? tol[0] : 0.0) + 2e-3;
          if (!(err <= allowed))
            {
              g_test_message ("update of %s: error %.3g of its norm (torch float32: %.3g; "
                              "allowed %.3g)", hv->name, err,
                              tol ? tol[0] : 0.0, allowed);
              g_test_fail ();
            }
        }
      else
        {
          g_autofree char *what = g_strdup_printf ("buffer %s", hv->name);
          hone_test_assert_close (what, p, ref, n, 1e-3, 1e-4 * max_abs (ref, n) + 1e-6);
        }
      checked++;
    }
  g_assert_cmpint (checked, >, 0);
  for (int v = 0; v < nv; v++)
    g_free (before[v]);
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  if (c->skip)
    {
      g_autofree char *why = g_strdup_printf ("torch cannot export: %s", c->skip);
      g_test_skip (why);
      return;
    }
  g_autoptr (GError) error = NULL;
  HoneModelOptions opts = { .dropout = 0.0 };
  HoneModel *model = hone_onnx_import (c->file, &opts, &error);
  g_assert_no_error (error);
  if (!model)
    return;
  g_assert_cmpstr (model->format, ==, "onnx");
  g_assert_null (model->arch);
  g_assert_cmpint (model->opset, ==, c->opset);
  g_assert_cmpint (model->channels, ==, 3);
  g_assert_cmpint (model->n_classes, ==, 1000);
  g_assert_false (model->norm_from_file);
  g_assert_cmpfloat_with_epsilon (model->mean[0], 0.485, 1e-6);
  g_assert_cmpstr (model->class_names[999], ==, "class 999");
  g_assert_nonnull (model->head_params);
  g_assert_nonnull (model->head_params[0]);

  g_autoptr (HoneSafetensors) st = hone_safetensors_open (c->fixture, &error);
  g_assert_no_error (error);
  gboolean train = strcmp (c->mode, "train") == 0;
  check_forward (model, st, train);
  if (train)
    check_step (model, st);
  hone_model_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* report every model that differs, not only the first */
  g_test_set_nonfatal_assertions ();
  if (argc < 2)
    {
      g_printerr ("usage: %s MANIFEST.json\n", argv[0]);
      return 2;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (parser, argv[1], &error))
    {
      g_printerr ("%s: %s\n", argv[1], error->message);
      return 2;
    }
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  lr = json_object_get_double_member (root, "lr");
  batch = (int) json_object_get_int_member (root, "batch");
  JsonArray *cases = json_object_get_array_member (root, "cases");
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      Case *c = g_new0 (Case, 1);
      c->model = g_strdup (json_object_get_string_member (o, "model"));
      c->mode = g_strdup (json_object_get_string_member (o, "mode"));
      c->file = g_strdup (json_object_get_string_member (o, "file"));
      c->fixture = g_strdup (json_object_get_string_member (o, "fixture"));
      c->opset = (int) json_object_get_int_member (o, "opset");
      if (json_object_has_member (o, "skip"))
        c->skip = g_strdup (json_object_get_string_member (o, "skip"));
      g_autofree char *path = g_strdup_printf ("/onnx/zoo/%s/%s/op%d", c->model, c->mode, c->opset);
      g_test_add_data_func (path, c, test_case);
    }
  return g_test_run ();
}
