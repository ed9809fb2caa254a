/* test-onnx-import.c: what hone_onnx_import does besides computing the
 * right numbers (test-onnx-zoo.c): metadata and its defaults, a symbolic
 * batch, the one error listing every unsupported op, finding and replacing
 * the classifier head (Gemm, MatMul + Add, SqueezeNet's 1x1 Conv) and
 * training it, blocks, and a changed input size.
 *
 * Argument: the folder tests/parity/make_onnx_zoo.py wrote (tiny-*.onnx
 * and the torchvision exports). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"
#include "hone-loss.h"
#include "hone-safetensors.h"
#include "onnx/hone-onnx.h"

static const char *zoo;


static HoneModel *
import (const char *name, const HoneModelOptions *opts, GError **error)
{
  g_autofree char *path = g_build_filename (zoo, name, NULL);
  return hone_onnx_import (path, opts, error);
}

static HoneModelOptions
defaults (void)
{
  return (HoneModelOptions) { .dropout = -1.0 };
}

/* Runs the tiny model on tiny.safetensors' input; asserts torch's logits. */
static void
check_tiny_logits (HoneModel *m)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (zoo, "tiny.safetensors", NULL);
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  float x[3 * 3 * 32 * 32], y[3 * 5];
  g_assert_true (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "input"), x, &error));
  g_assert_true (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "logits"), y, &error));
  g_assert_true (hone_graph_plan (m->graph, 3, FALSE, &error));
  memcpy (hone_graph_input_data (m->graph, hone_graph_input (m->graph, 0)), x, sizeof x);
  g_assert_true (hone_graph_forward (m->graph, 3, FALSE, &error));
  HoneTensor t = hone_graph_tensor (m->graph, hone_graph_output (m->graph, 0));
  g_assert_cmpint (hone_tensor_numel (&t), ==, 15);
  hone_test_assert_close ("tiny logits", t.data, y, 15, 1e-4, 1e-5);
}

static void
test_metadata (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  HoneModel *m = import ("tiny-meta.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_true (m->norm_from_file);
  g_assert_cmpfloat_with_epsilon (m->mean[0], 0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (m->mean[2], 0.3, 1e-6);
  g_assert_cmpfloat_with_epsilon (m->std[1], 0.25, 1e-6);
  g_assert_cmpint (m->n_classes, ==, 5);
  g_assert_cmpstr (m->class_names[0], ==, "cat");
  g_assert_cmpstr (m->class_names[4], ==, "yak");
  g_assert_null (m->class_names[5]);
  g_assert_cmpint (m->channels, ==, 3);
  g_assert_cmpint (m->height, ==, 32);
  g_assert_cmpint (m->width, ==, 32);
  g_assert_cmpint (m->opset, ==, 13);
  g_assert_cmpstr (m->format, ==, "onnx");
  g_assert_true (g_str_has_prefix (m->description, "ONNX model, opset 13, "));
  check_tiny_logits (m);
  hone_model_free (m);

  m = import ("tiny-plain.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_false (m->norm_from_file);
  g_assert_cmpfloat_with_epsilon (m->mean[0], 0.485, 1e-6);
  g_assert_cmpfloat_with_epsilon (m->mean[1], 0.456, 1e-6);
  g_assert_cmpfloat_with_epsilon (m->std[2], 0.225, 1e-6);
  g_assert_cmpstr (m->class_names[3], ==, "class 3");
  /* BatchNorm folded into conv1 by the export: its weight and bias are
   * named after the layer */
  int c1 = hone_graph_find (m->graph, "conv1.bias");
  g_assert_cmpint (c1, >=, 0);
  g_assert_cmpint (hone_graph_value (m->graph, c1)->kind, ==, HONE_VALUE_PARAM);
  int fc = hone_graph_find (m->graph, "fc.weight");
  g_assert_cmpint (hone_graph_value (m->graph, fc)->kind, ==, HONE_VALUE_PARAM);
  g_assert_cmpstr (m->head_params[0], ==, "fc.weight");
  g_assert_cmpstr (m->head_params[1], ==, "fc.bias");
  g_assert_null (m->head_params[2]);
  hone_model_free (m);
}

static void
test_dynamic_batch (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  HoneModel *m = import ("tiny-dynamic.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->channels, ==, 3);
  check_tiny_logits (m);
  hone_model_free (m);
}

static void
test_unsupported (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  HoneModel *m = import ("tiny-unsupported.onnx", &o, &error);
  g_assert_null (m);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "tiny-unsupported.onnx"));
  g_assert_nonnull (strstr (error->message, "3 operator types at opset 13"));
  g_assert_nonnull (strstr (error->message, "Sin (2 nodes, first '/Sin')"));
  g_assert_nonnull (strstr (error->message, "CumSum (1 node, first '/CumSum')"));
  /* computed at import only, so unsupported on activations */
  g_assert_nonnull (strstr (error->message, "Exp (1 node"));
}

/* A few SGD steps on a fixed batch and labels: the loss must fall. */
static void
train_a_little (HoneModel *m, int batch)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = m->graph;
  g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
  int in = hone_graph_input (g, 0);
  HoneRng rng;
  hone_rng_init (&rng, 7, 0);
  float *x = hone_graph_input_data (g, in);
  int64_t n = batch * hone_shape_numel (&hone_graph_value (g, in)->shape);
  for (int64_t i = 0; i < n; i++)
    x[i] = hone_rng_normal (&rng);
  int32_t labels[4];
  for (int i = 0; i < batch; i++)
    labels[i] = i % m->n_classes;
  HoneLoss loss;
  hone_loss_init (&loss);
  double first = 0, last = 0;
  for (int step = 0; step < 5; step++)
    {
      hone_graph_zero_grad (g);
      /* eval-mode statistics keep the check about the head */
      g_assert_true (hone_graph_forward (g, batch, FALSE, &error));
      int out = hone_graph_output (g, 0);
      HoneTensor t = hone_graph_tensor (g, out);
      double value;
      g_assert_true (hone_loss_compute (&loss, &value, hone_graph_grad (g, out), t.data, labels,
                                        NULL, batch, m->n_classes, 1.0f, &error));
      if (step == 0)
        first = value;
      last = value;
      g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
      t = hone_graph_tensor (g, out);
      g_assert_true (hone_loss_compute (&loss, &value, hone_graph_grad (g, out), t.data, labels,
                                        NULL, batch, m->n_classes, 1.0f, &error));
      hone_graph_backward (g);
      for (char **h = m->head_params; *h; h++)
        {
          int id = hone_graph_find (g, *h);
          float *p = hone_graph_value_data (g, id);
          const float *d = hone_graph_grad (g, id);
          g_assert_nonnull (d);
          for (int64_t i = 0; i < hone_shape_numel (&hone_graph_value (g, id)->shape); i++)
            p[i] -= 1e-3f * d[i];
        }
    }
  g_test_message ("loss %g -> %g", first, last);
  g_assert_cmpfloat (last, <, first);
}

static void
test_head_gemm (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  o.classes = 10;
  o.seed = 3;
  HoneModel *m = import ("resnet18-eval-op13.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_true (m->head_replaced);
  g_assert_cmpint (m->n_classes, ==, 10);
  g_assert_cmpstr (m->class_names[9], ==, "class 9");
  g_assert_null (m->class_names[10]);
  g_assert_cmpstr (m->head_params[0], ==, "fc.weight");
  g_assert_cmpstr (m->head_params[1], ==, "fc.bias");
  int w = hone_graph_find (m->graph, "fc.weight");
  const HoneValue *wv = hone_graph_value (m->graph, w);
  g_assert_cmpint (wv->shape.d[0], ==, 10);
  g_assert_cmpint (wv->shape.d[1], ==, 512);
  /* torch's Linear default: uniform in +-1/sqrt(fan_in) */
  const float *wd = hone_graph_value_data (m->graph, w);
  double bound = 1.0 / sqrt (512.0), mx = 0;
  for (int i = 0; i < 5120; i++)
    mx = MAX (mx, fabs (wd[i]));
  g_assert_cmpfloat (mx, <=, bound);
  g_assert_cmpfloat (mx, >, 0.9 * bound);

  /* the same seed gives the same head */
  HoneModel *m2 = import ("resnet18-eval-op13.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (wd, 5120 * sizeof (float),
                   hone_graph_value_data (m2->graph, hone_graph_find (m2->graph, "fc.weight")),
                   5120 * sizeof (float));
  hone_model_free (m2);
  train_a_little (m, 4);
  hone_model_free (m);

  /* a fresh head of the file's own size */
  o.classes = 0;
  o.replace_head = TRUE;
  m = import ("resnet18-eval-op13.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_true (m->head_replaced);
  g_assert_cmpint (m->n_classes, ==, 1000);
  hone_model_free (m);
}

static void
test_head_conv (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  o.classes = 7;
  HoneModel *m = import ("squeezenet1_1-eval-op13.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_true (m->head_replaced);
  g_assert_cmpint (m->n_classes, ==, 7);
  g_assert_cmpstr (m->head_params[0], ==, "classifier.1.weight");
  g_assert_cmpstr (m->head_params[1], ==, "classifier.1.bias");
  const HoneValue *w = hone_graph_value (m->graph, hone_graph_find (m->graph, "classifier.1.weight"));
  g_assert_cmpint (w->shape.rank, ==, 4);
  g_assert_cmpint (w->shape.d[0], ==, 7);
  train_a_little (m, 4);
  hone_model_free (m);
}

static void
test_head_matmul (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  HoneModel *m = import ("tiny-matmul.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_false (m->head_replaced);
  g_assert_cmpstr (m->head_params[0], ==, "fc.weight");
  g_assert_nonnull (m->head_params[1]);
  check_tiny_logits (m);
  hone_model_free (m);

  o.classes = 3;
  m = import ("tiny-matmul.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_true (m->head_replaced);
  g_assert_cmpint (m->n_classes, ==, 3);
  train_a_little (m, 3);
  hone_model_free (m);
}

static void
count_blocks (const char *file, const char *const *expect)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  HoneModel *m = import (file, &o, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) blocks = g_ptr_array_new ();
  for (int i = 0; i < hone_graph_n_nodes (m->graph); i++)
    {
      const char *b = hone_graph_node (m->graph, i)->block;
      if (blocks->len == 0 || strcmp (blocks->pdata[blocks->len - 1], b) != 0)
        g_ptr_array_add (blocks, (gpointer) b);
    }
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < blocks->len; i++)
    g_string_append_printf (s, "%s ", (const char *) blocks->pdata[i]);
  g_test_message ("%s: %s", file, s->str);
  g_assert_cmpuint (blocks->len, ==, g_strv_length ((char **) expect));
  for (guint i = 0; i < blocks->len; i++)
    g_assert_cmpstr (blocks->pdata[i], ==, expect[i]);
  g_string_free (s, TRUE);
  hone_model_free (m);
}

static void
test_blocks (void)
{
  static const char *const resnet[] = {
    "stem", "layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0",
    "layer4.1", "head", NULL
  };
  count_blocks ("resnet18-train-op13.onnx", resnet);
  count_blocks ("resnet18-eval-op9.onnx", resnet);
  static const char *const mnv2[] = {
    "features.0", "features.1", "features.2", "features.3", "features.4", "features.5",
    "features.6", "features.7", "features.8", "features.9", "features.10", "features.11",
    "features.12", "features.13", "features.14", "features.15", "features.16", "features.17",
    "features.18", "head", NULL
  };
  count_blocks ("mobilenet_v2-eval-op13.onnx", mnv2);
  /* layer names follow the module path */
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  HoneModel *m = import ("resnet18-train-op13.onnx", &o, &error);
  g_assert_no_error (error);
  gboolean found = FALSE;
  for (int i = 0; i < hone_graph_n_nodes (m->graph); i++)
    found |= strcmp (hone_graph_node (m->graph, i)->name, "layer2.0.downsample.0") == 0;
  g_assert_true (found);
  /* BatchNorm statistics are buffers, its affine parameters trainable */
  int rm = hone_graph_find (m->graph, "layer2.0.downsample.1.running_mean");
  g_assert_cmpint (rm, >=, 0);
  g_assert_cmpint (hone_graph_value (m->graph, rm)->kind, ==, HONE_VALUE_BUFFER);
  int bw = hone_graph_find (m->graph, "layer2.0.downsample.1.weight");
  g_assert_cmpint (hone_graph_value (m->graph, bw)->kind, ==, HONE_VALUE_PARAM);
  hone_model_free (m);
}

static void
test_input_size (void)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o = defaults ();
  o.height = 96;
  o.width = 80;
  HoneModel *m = import ("resnet18-eval-op13.onnx", &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->height, ==, 96);
  g_assert_cmpint (m->width, ==, 80);
  g_assert_true (hone_graph_plan (m->graph, 1, FALSE, &error));
  g_assert_true (hone_graph_forward (m->graph, 1, FALSE, &error));
  hone_model_free (m);

  o = defaults ();
  o.channels = 1;
  m = import ("resnet18-eval-op13.onnx", &o, &error);
  g_assert_null (m);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "3 input channels"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    {
      g_printerr ("usage: %s ZOO_FOLDER\n", argv[0]);
      return 2;
    }
  zoo = argv[1];
  g_test_add_func ("/onnx/import/metadata", test_metadata);
  g_test_add_func ("/onnx/import/dynamic-batch", test_dynamic_batch);
  g_test_add_func ("/onnx/import/unsupported", test_unsupported);
  g_test_add_func ("/onnx/import/head/gemm", test_head_gemm);
  g_test_add_func ("/onnx/import/head/conv", test_head_conv);
  g_test_add_func ("/onnx/import/head/matmul", test_head_matmul);
  g_test_add_func ("/onnx/import/blocks", test_blocks);
  g_test_add_func ("/onnx/import/input-size", test_input_size);
  return g_test_run ();
}
