/* test-arch.c: the built-in architectures: names, shapes and parameter
 * counts against torchvision's, output shapes for several inputs, forward
 * and backward passes, initialisation, bad options, and weight files that
 * do not fit.  (Loading real torch files is in tests/parity.) */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"

static char *tmp_dir;

static HoneGraph *
build (const char *arch, int classes, int channels, int height, int width, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions o = { classes, channels, height, width, seed };
  HoneGraph *g = hone_arch_build (arch, &o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  return g;
}

static void
assert_value_shape (HoneGraph *g, const char *name, HoneValueKind kind, const HoneShape *expect)
{
  int id = hone_graph_find (g, name);
  if (id < 0)
    g_error ("no value named '%s'", name);
  const HoneValue *v = hone_graph_value (g, id);
  char a[128], b[128];
  if (v->kind != kind || !hone_shape_equal (&v->shape, expect))
    g_error ("'%s': kind %d shape %s, expected kind %d shape %s", name, v->kind,
             hone_shape_to_string (&v->shape, a, sizeof a), kind,
             hone_shape_to_string (expect, b, sizeof b));
}

#define ASSERT_PARAM(g, name, ...) \
  do { HoneShape s_ = HONE_SHAPE (__VA_ARGS__); assert_value_shape (g, name, HONE_VALUE_PARAM, &s_); } while (0)
#define ASSERT_BUFFER(g, name, ...) \
  do { HoneShape s_ = HONE_SHAPE (__VA_ARGS__); assert_value_shape (g, name, HONE_VALUE_BUFFER, &s_); } while (0)
/* per-sample shape of the output of the (first) node of that name */
#define ASSERT_ACT(g, name, ...) \
  do { HoneShape s_ = HONE_SHAPE (__VA_ARGS__); assert_value_shape (g, name, HONE_VALUE_ACTIVATION, &s_); } while (0)

static const HoneNode *
find_node (HoneGraph *g, const char *name)
{
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    if (strcmp (hone_graph_node (g, i)->name, name) == 0)
      return hone_graph_node (g, i);
  g_error ("no node named '%s'", name);
  return NULL;
}

/* torch state_dict entries: parameters, buffers and one num_batches_tracked per BatchNorm. */
static int
state_dict_size (HoneGraph *g)
{
  int n = 0;
  for (int i = 0; i < hone_graph_n_values (g); i++)
    {
      const HoneValue *v = hone_graph_value (g, i);
      if (v->kind == HONE_VALUE_PARAM || v->kind == HONE_VALUE_BUFFER)
        n++;
      if (v->kind == HONE_VALUE_BUFFER && g_str_has_suffix (v->name, ".running_mean"))
        n++;
    }
  return n;
}

static void
test_list (void)
{
  const HoneArchInfo *const *list = hone_arch_list ();
  const char *expect[] = { "resnet18", "resnet34", "mobilenet_v2", "cnn-s" };
  int n = 0;
  for (; list[n]; n++)
    {
      g_assert_cmpstr (list[n]->name, ==, expect[n]);
      g_assert_true (hone_arch_find (expect[n]) == list[n]);
      g_assert_nonnull (list[n]->description);
      g_assert_cmpint (list[n]->min_size, <=, list[n]->default_size);
      HoneArchOptions o;
      hone_arch_options_init (&o, list[n]);
      g_assert_cmpint (o.classes, ==, list[n]->default_classes);
      g_assert_cmpint (o.height, ==, list[n]->default_size);
    }
  g_assert_cmpint (n, ==, 4);
  g_assert_null (hone_arch_find ("resnet50"));
  g_assert_cmpint (hone_arch_find ("cnn-s")->default_size, ==, 28);
  g_assert_cmpint (hone_arch_find ("cnn-s")->default_channels, ==, 1);
  g_assert_cmpint (hone_arch_find ("resnet18")->default_size, ==, 224);
}

/* The numbers torchvision 0.14 and cnn_s.py report:
 * sum (p.numel () for p in m.parameters ()) and len (m.state_dict ()). */
static void
test_param_counts (void)
{
  struct
  {
    const char *arch;
    int classes, channels, size;
    int64_t params;
    int entries;
  } cases[] = {
    { "resnet18", 1000, 3, 224, 11689512, 122 },
    { "resnet34", 1000, 3, 224, 21797672, 218 },
    { "mobilenet_v2", 1000, 3, 224, 3504872, 314 },
    { "cnn-s", 10, 1, 28, 140458, 32 },
    /* other heads and inputs: only fc / the first conv change */
    { "resnet18", 10, 3, 64, 11689512 - 990 * 513, 122 },
    { "resnet18", 1000, 1, 224, 11689512 - 2 * 64 * 49, 122 },
    { "mobilenet_v2", 7, 4, 96, 3504872 - 993 * 1281 + 32 * 9, 314 },
    { "cnn-s", 3, 3, 28, 140458 - 7 * 129 + 2 * 32 * 9, 32 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (HoneGraph) g = build (cases[i].arch, cases[i].classes, cases[i].channels,
                                       cases[i].size, cases[i].size, 0);
      g_assert_cmpint (hone_graph_n_params (g), ==, cases[i].params);
      g_assert_cmpint (hone_graph_n_trainable_params (g), ==, cases[i].params);
      g_assert_cmpint (state_dict_size (g), ==, cases[i].entries);
    }
}

static void
test_names_resnet (void)
{
  g_autoptr (HoneGraph) g = build ("resnet18", 10, 3, 224, 224, 0);
  ASSERT_PARAM (g, "conv1.weight", 64, 3, 7, 7);
  ASSERT_PARAM (g, "bn1.weight", 64);
  ASSERT_PARAM (g, "bn1.bias", 64);
  ASSERT_BUFFER (g, "bn1.running_mean", 64);
  ASSERT_BUFFER (g, "bn1.running_var", 64);
  ASSERT_PARAM (g, "layer1.0.conv1.weight", 64, 64, 3, 3);
  ASSERT_PARAM (g, "layer1.1.bn2.weight", 64);
  ASSERT_PARAM (g, "layer2.0.conv1.weight", 128, 64, 3, 3);
  ASSERT_PARAM (g, "layer2.0.downsample.0.weight", 128, 64, 1, 1);
  ASSERT_BUFFER (g, "layer2.0.downsample.1.running_var", 128);
  ASSERT_PARAM (g, "layer4.1.conv2.weight", 512, 512, 3, 3);
  ASSERT_PARAM (g, "fc.weight", 10, 512);
  ASSERT_PARAM (g, "fc.bias", 10);
  g_assert_cmpint (hone_graph_find (g, "layer1.0.downsample.0.weight"), <, 0);
  g_assert_cmpint (hone_graph_find (g, "conv1.bias"), <, 0);
  g_assert_cmpint (hone_graph_find (g, "layer3.2.conv1.weight"), <, 0);   /* resnet34 only */

  /* activations at 224: 112 after conv1, 56 after the pool, then 56, 28, 14, 7 */
  ASSERT_ACT (g, "conv1", 64, 112, 112);
  ASSERT_ACT (g, "maxpool", 64, 56, 56);
  ASSERT_ACT (g, "layer1.1.add", 64, 56, 56);
  ASSERT_ACT (g, "layer2.0.downsample.1", 128, 28, 28);
  ASSERT_ACT (g, "layer3.1.add", 256, 14, 14);
  ASSERT_ACT (g, "layer4.1.add", 512, 7, 7);
  ASSERT_ACT (g, "avgpool", 512, 1, 1);
  ASSERT_ACT (g, "flatten", 512);
  ASSERT_ACT (g, "fc", 10);

  /* node names and blocks */
  g_assert_cmpstr (find_node (g, "conv1")->block, ==, "stem");
  g_assert_cmpstr (find_node (g, "maxpool")->block, ==, "stem");
  g_assert_cmpstr (find_node (g, "layer1.0.conv1")->block, ==, "layer1.0");
  g_assert_cmpstr (find_node (g, "layer3.0.downsample.0")->block, ==, "layer3.0");
  g_assert_cmpstr (find_node (g, "fc")->block, ==, "head");
  g_assert_cmpstr (find_node (g, "fc")->op->name, ==, "Gemm");
  g_assert_cmpstr (find_node (g, "layer1.0.conv1")->op->name, ==, "Conv");
  g_assert_cmpstr (find_node (g, "layer1.0.bn1")->op->name, ==, "BatchNormalization");
  int relus = 0;
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    relus += strcmp (hone_graph_node (g, i)->name, "layer2.1.relu") == 0;
  g_assert_cmpint (relus, ==, 2);
  /* every parameter belongs to the node whose name prefixes it, in the same block */
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    {
      const HoneNode *n = hone_graph_node (g, i);
      for (int k = 0; k < n->n_in; k++)
        {
          const HoneValue *v = hone_graph_value (g, n->in[k]);
          if (v->kind != HONE_VALUE_PARAM && v->kind != HONE_VALUE_BUFFER)
            continue;
          g_assert_true (g_str_has_prefix (v->name, n->name));
          g_assert_cmpint (v->name[strlen (n->name)], ==, '.');
          g_assert_cmpstr (v->block, ==, n->block);
        }
    }
  g_auto (GStrv) head = hone_graph_head_params (g);
  g_assert_cmpuint (g_strv_length (head), ==, 2);
  const char *const *info_head = hone_arch_find ("resnet18")->head_params;
  g_assert_true (g_strv_contains ((const char *const *) head, info_head[0]));
  g_assert_true (g_strv_contains ((const char *const *) head, info_head[1]));

  g_autoptr (HoneGraph) g34 = build ("resnet34", 1000, 3, 64, 64, 0);
  ASSERT_PARAM (g34, "layer3.5.conv2.weight", 256, 256, 3, 3);
  ASSERT_BUFFER (g34, "layer4.0.downsample.1.running_mean", 512);
  ASSERT_ACT (g34, "layer4.2.add", 512, 2, 2);
  g_assert_cmpint (hone_graph_find (g34, "layer3.6.conv1.weight"), <, 0);
}

static void
test_names_mobilenet (void)
{
  g_autoptr (HoneGraph) g = build ("mobilenet_v2", 5, 3, 224, 224, 0);
  ASSERT_PARAM (g, "features.0.0.weight", 32, 3, 3, 3);
  ASSERT_PARAM (g, "features.0.1.weight", 32);
  ASSERT_BUFFER (g, "features.0.1.running_var", 32);
  /* expansion 1: depthwise as conv.0, projection conv.1, bn conv.2 */
  ASSERT_PARAM (g, "features.1.conv.0.0.weight", 32, 1, 3, 3);
  ASSERT_PARAM (g, "features.1.conv.0.1.bias", 32);
  ASSERT_PARAM (g, "features.1.conv.1.weight", 16, 32, 1, 1);
  ASSERT_BUFFER (g, "features.1.conv.2.running_mean", 16);
  g_assert_cmpint (hone_graph_find (g, "features.1.conv.3.weight"), <, 0);
  /* expansion 6: expand conv.0, depthwise conv.1, projection conv.2, bn conv.3 */
  ASSERT_PARAM (g, "features.2.conv.0.0.weight", 96, 16, 1, 1);
  ASSERT_PARAM (g, "features.2.conv.1.0.weight", 96, 1, 3, 3);
  ASSERT_PARAM (g, "features.2.conv.2.weight", 24, 96, 1, 1);
  ASSERT_PARAM (g, "features.2.conv.3.weight", 24);
  ASSERT_PARAM (g, "features.17.conv.2.weight", 320, 960, 1, 1);
  ASSERT_PARAM (g, "features.18.0.weight", 1280, 320, 1, 1);
  ASSERT_BUFFER (g, "features.18.1.running_var", 1280);
  ASSERT_PARAM (g, "classifier.1.weight", 5, 1280);
  ASSERT_PARAM (g, "classifier.1.bias", 5);
  g_assert_cmpint (hone_graph_find (g, "features.19.0.weight"), <, 0);

  ASSERT_ACT (g, "features.0.2", 32, 112, 112);
  ASSERT_ACT (g, "features.3.add", 24, 56, 56);
  ASSERT_ACT (g, "features.6.add", 32, 28, 28);
  ASSERT_ACT (g, "features.13.add", 96, 14, 14);
  ASSERT_ACT (g, "features.17.conv.3", 320, 7, 7);
  ASSERT_ACT (g, "features.18.2", 1280, 7, 7);
  ASSERT_ACT (g, "classifier.0", 1280);
  ASSERT_ACT (g, "classifier.1", 5);
  /* residual sums exactly where torchvision has them (stride 1, same width) */
  int adds[] = { 3, 5, 6, 8, 9, 10, 12, 13, 15, 16 };
  for (int f = 1; f <= 17; f++)
    {
      g_autofree char *name = g_strdup_printf ("features.%d.add", f);
      gboolean want = FALSE;
      for (guint k = 0; k < G_N_ELEMENTS (adds); k++)
        want |= adds[k] == f;
      g_assert_cmpint (hone_graph_find (g, name) >= 0, ==, want);
    }

  g_assert_cmpstr (find_node (g, "features.0.2")->op->name, ==, "Clip");
  g_assert_cmpstr (find_node (g, "features.4.conv.1.0")->block, ==, "features.4");
  g_assert_cmpstr (find_node (g, "features.18.0")->block, ==, "features.18");
  g_assert_cmpstr (find_node (g, "classifier.0")->op->name, ==, "Dropout");
  g_assert_cmpstr (find_node (g, "classifier.1")->block, ==, "head");
  const HoneNode *dw = find_node (g, "features.4.conv.1.0");
  g_assert_cmpint (((const HoneConvAttrs *) dw->attrs)->group, ==, 144);
  g_assert_cmpint (((const HoneConvAttrs *) dw->attrs)->stride[0], ==, 2);

  g_auto (GStrv) head = hone_graph_head_params (g);
  g_assert_cmpuint (g_strv_length (head), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) head, "classifier.1.weight"));
  g_assert_true (g_strv_contains ((const char *const *) head, "classifier.1.bias"));
}

static void
test_names_cnn_s (void)
{
  g_autoptr (HoneGraph) g = build ("cnn-s", 10, 1, 28, 28, 0);
  int widths[] = { 32, 32, 64, 64, 128 }, cin = 1;
  const char *stages[] = { "stage1", "stage1", "stage2", "stage2", "stage3" };
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *w = g_strdup_printf ("conv%d.weight", i + 1);
      g_autofree char *b = g_strdup_printf ("conv%d.bias", i + 1);
      g_autofree char *bn = g_strdup_printf ("bn%d.running_var", i + 1);
      g_autofree char *conv = g_strdup_printf ("conv%d", i + 1);
      ASSERT_PARAM (g, w, widths[i], cin, 3, 3);
      ASSERT_BUFFER (g, bn, widths[i]);
      g_assert_cmpint (hone_graph_find (g, b), <, 0);
      g_assert_cmpstr (find_node (g, conv)->block, ==, stages[i]);
      cin = widths[i];
    }
  ASSERT_PARAM (g, "fc.weight", 10, 128);
  ASSERT_ACT (g, "conv2", 32, 28, 28);
  ASSERT_ACT (g, "pool", 32, 14, 14);
  ASSERT_ACT (g, "conv4", 64, 14, 14);
  ASSERT_ACT (g, "conv5", 128, 7, 7);
  ASSERT_ACT (g, "gap", 128, 1, 1);
  ASSERT_ACT (g, "fc", 10);
  g_assert_cmpstr (find_node (g, "fc")->block, ==, "head");
}

/* (classes) out for any input size at or above the minimum. */
static void
test_output_shapes (void)
{
  struct
  {
    const char *arch;
    int classes, channels, h, w;
    const char *probe;      /* a late activation */
    int c, ph, pw;
  } cases[] = {
    { "resnet18", 1000, 3, 224, 224, "layer4.1.add", 512, 7, 7 },
    { "resnet18", 2, 3, 32, 32, "layer4.1.add", 512, 1, 1 },
    { "resnet18", 17, 1, 33, 47, "layer4.1.add", 512, 2, 2 },
    { "resnet34", 4, 5, 100, 60, "layer4.2.add", 512, 4, 2 },
    { "resnet18", 1, 3, 512, 32, "layer4.1.add", 512, 16, 1 },
    { "mobilenet_v2", 1000, 3, 224, 224, "features.18.2", 1280, 7, 7 },
    { "mobilenet_v2", 3, 1, 32, 32, "features.18.2", 1280, 1, 1 },
    { "mobilenet_v2", 12, 3, 97, 65, "features.18.2", 1280, 4, 3 },
    { "cnn-s", 10, 1, 28, 28, "conv5", 128, 7, 7 },
    { "cnn-s", 2, 3, 32, 32, "conv5", 128, 8, 8 },
    { "cnn-s", 100, 1, 4, 5, "conv5", 128, 1, 1 },
    { "cnn-s", 5, 2, 65, 29, "conv5", 128, 16, 7 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (HoneGraph) g = build (cases[i].arch, cases[i].classes, cases[i].channels,
                                       cases[i].h, cases[i].w, 0);
      g_assert_cmpint (hone_graph_n_inputs (g), ==, 1);
      g_assert_cmpint (hone_graph_n_outputs (g), ==, 1);
      const HoneValue *in = hone_graph_value (g, hone_graph_input (g, 0));
      g_assert_cmpstr (in->name, ==, "input");
      HoneShape ein = HONE_SHAPE (cases[i].channels, cases[i].h, cases[i].w);
      g_assert_true (hone_shape_equal (&in->shape, &ein));
      const HoneValue *out = hone_graph_value (g, hone_graph_output (g, 0));
      HoneShape eout = HONE_SHAPE (cases[i].classes);
      g_assert_true (hone_shape_equal (&out->shape, &eout));
      HoneShape p = HONE_SHAPE (cases[i].c, cases[i].ph, cases[i].pw);
      assert_value_shape (g, cases[i].probe, HONE_VALUE_ACTIVATION, &p);
    }
}

static gboolean
all_finite (const float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

/* Forward in both modes and backward run; in evaluation mode a sample's
 * logits do not depend on the rest of the batch. */
static void
test_forward (void)
{
  struct
  {
    const char *arch;
    int classes, channels, h, w;
  } cases[] = {
    { "resnet18", 5, 3, 32, 32 },
    { "resnet34", 3, 2, 32, 40 },
    { "mobilenet_v2", 4, 3, 32, 32 },
    { "cnn-s", 10, 1, 28, 28 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HoneGraph) g = build (cases[c].arch, cases[c].classes, cases[c].channels,
                                       cases[c].h, cases[c].w, 7);
      int batch = 3, classes = cases[c].classes;
      g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
      g_assert_no_error (error);
      int x = hone_graph_input (g, 0), y = hone_graph_output (g, 0);
      int64_t per = (int64_t) cases[c].channels * cases[c].h * cases[c].w;
      HoneRng rng;
      hone_rng_init (&rng, 11, 0);
      hone_test_fill_uniform (&rng, hone_graph_input_data (g, x), batch * per, -1, 1);
      g_autofree float *input = g_memdup2 (hone_graph_input_data (g, x), batch * per * sizeof (float));

      g_assert_true (hone_graph_forward (g, batch, FALSE, &error));
      g_assert_no_error (error);
      HoneTensor t = hone_graph_tensor (g, y);
      g_assert_cmpint (t.shape.rank, ==, 2);
      g_assert_cmpint (t.shape.d[0], ==, batch);
      g_assert_cmpint (t.shape.d[1], ==, classes);
      g_assert_true (all_finite (t.data, batch * classes));
      g_autofree float *eval3 = g_memdup2 (t.data, batch * classes * sizeof (float));
      /* samples differ, so their logits do */
      g_assert_true (memcmp (eval3, eval3 + classes, classes * sizeof (float)) != 0);

      /* sample 1 alone gives the same logits */
      memcpy (hone_graph_input_data (g, x), input + per, per * sizeof (float));
      g_assert_true (hone_graph_forward (g, 1, FALSE, &error));
      t = hone_graph_tensor (g, y);
      hone_test_assert_close ("eval logits, batch of one", t.data, eval3 + classes, classes, 1e-4, 1e-5);

      /* training: batch statistics, running statistics updated, dropout; then backward */
      memcpy (hone_graph_input_data (g, x), input, batch * per * sizeof (float));
      const char *bn_var = strcmp (cases[c].arch, "mobilenet_v2") == 0 ? "features.0.1.running_var" : "bn1.running_var";
      float var0 = hone_graph_value_data (g, hone_graph_find (g, bn_var))[0];
      g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
      g_assert_no_error (error);
      t = hone_graph_tensor (g, y);
      g_assert_true (all_finite (t.data, batch * classes));
      g_assert_cmpfloat (hone_graph_value_data (g, hone_graph_find (g, bn_var))[0], !=, var0);
      float *dy = hone_graph_grad (g, y);
      for (int i = 0; i < batch * classes; i++)
        dy[i] = (i % 3) - 1.0f;
      hone_graph_zero_grad (g);
      hone_graph_backward (g);
      const char *first = strcmp (cases[c].arch, "mobilenet_v2") == 0 ? "features.0.0.weight" : "conv1.weight";
      int w = hone_graph_find (g, first);
      const float *dw = hone_graph_grad (g, w);
      int64_t nw = hone_shape_numel (&hone_graph_value (g, w)->shape);
      g_assert_true (all_finite (dw, nw));
      double norm = 0;
      for (int64_t i = 0; i < nw; i++)
        norm += fabs (dw[i]);
      g_assert_cmpfloat (norm, >, 0);
    }
}

static double
mean_of (const float *x, int64_t n)
{
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    s += x[i];
  return s / n;
}

static double
std_of (const float *x, int64_t n)
{
  double m = mean_of (x, n), s = 0;
  for (int64_t i = 0; i < n; i++)
    s += (x[i] - m) * (x[i] - m);
  return sqrt (s / n);
}

static float
max_abs (const float *x, int64_t n)
{
  float m = 0;
  for (int64_t i = 0; i < n; i++)
    m = MAX (m, fabsf (x[i]));
  return m;
}

static const float *
data_of (HoneGraph *g, const char *name, int64_t *n)
{
  int id = hone_graph_find (g, name);
  g_assert_cmpint (id, >=, 0);
  *n = hone_shape_numel (&hone_graph_value (g, id)->shape);
  return hone_graph_value_data (g, id);
}

static void
test_init (void)
{
  int64_t n;
  const float *d;
  g_autoptr (HoneGraph) r = build ("resnet18", 1000, 3, 64, 64, 3);
  /* kaiming normal, fan_out: std sqrt (2 / (64 * 7 * 7)) */
  d = data_of (r, "conv1.weight", &n);
  g_assert_cmpfloat_with_epsilon (std_of (d, n), sqrt (2.0 / (64 * 49)), 0.05 * sqrt (2.0 / (64 * 49)));
  g_assert_cmpfloat_with_epsilon (mean_of (d, n), 0, 0.002);
  d = data_of (r, "layer3.0.conv2.weight", &n);
  g_assert_cmpfloat_with_epsilon (std_of (d, n), sqrt (2.0 / (256 * 9)), 0.02 * sqrt (2.0 / (256 * 9)));
  /* BatchNorm */
  d = data_of (r, "layer2.1.bn1.weight", &n);
  g_assert_cmpfloat (mean_of (d, n), ==, 1);
  g_assert_cmpfloat (std_of (d, n), ==, 0);
  d = data_of (r, "layer2.1.bn1.bias", &n);
  g_assert_cmpfloat (max_abs (d, n), ==, 0);
  d = data_of (r, "layer2.1.bn1.running_mean", &n);
  g_assert_cmpfloat (max_abs (d, n), ==, 0);
  d = data_of (r, "layer2.1.bn1.running_var", &n);
  g_assert_cmpfloat (mean_of (d, n), ==, 1);
  /* fc: torch's Linear default, uniform in +-1/sqrt(512), bias too */
  d = data_of (r, "fc.weight", &n);
  g_assert_cmpfloat (max_abs (d, n), <=, 1 / sqrt (512.0));
  g_assert_cmpfloat_with_epsilon (std_of (d, n), 1 / sqrt (512.0) / sqrt (3.0), 0.01 / sqrt (512.0));
  d = data_of (r, "fc.bias", &n);
  g_assert_cmpfloat (max_abs (d, n), <=, 1 / sqrt (512.0));
  g_assert_cmpfloat (max_abs (d, n), >, 0.5 / sqrt (512.0));

  g_autoptr (HoneGraph) m = build ("mobilenet_v2", 1000, 3, 32, 32, 3);
  d = data_of (m, "features.2.conv.1.0.weight", &n);      /* depthwise: fan_out 96 * 9 */
  g_assert_cmpfloat_with_epsilon (std_of (d, n), sqrt (2.0 / (96 * 9)), 0.1 * sqrt (2.0 / (96 * 9)));
  d = data_of (m, "classifier.1.weight", &n);
  g_assert_cmpfloat_with_epsilon (std_of (d, n), 0.01, 0.0005);
  d = data_of (m, "classifier.1.bias", &n);
  g_assert_cmpfloat (max_abs (d, n), ==, 0);

  g_autoptr (HoneGraph) c = build ("cnn-s", 10, 1, 28, 28, 3);
  d = data_of (c, "conv1.weight", &n);                    /* fan_in 9: +-1/3 */
  g_assert_cmpfloat (max_abs (d, n), <=, 1 / 3.0);
  g_assert_cmpfloat (max_abs (d, n), >, 0.3);
  d = data_of (c, "conv5.weight", &n);                    /* fan_in 576 */
  g_assert_cmpfloat (max_abs (d, n), <=, 1 / 24.0);
  g_assert_cmpfloat_with_epsilon (std_of (d, n), 1 / 24.0 / sqrt (3.0), 0.02 / 24.0);

  /* the seed decides everything, and only it */
  g_autoptr (HoneGraph) c2 = build ("cnn-s", 10, 1, 28, 28, 3);
  g_autoptr (HoneGraph) c3 = build ("cnn-s", 10, 1, 28, 28, 4);
  g_assert_cmpint (hone_graph_n_params (c), ==, hone_graph_n_params (c2));
  for (int i = 0; i < hone_graph_n_values (c); i++)
    {
      const HoneValue *v = hone_graph_value (c, i);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      int64_t k = hone_shape_numel (&v->shape);
      g_assert_cmpmem (hone_graph_value_data (c, i), k * 4, hone_graph_value_data (c2, i), k * 4);
      if (g_str_has_prefix (v->name, "conv"))
        g_assert_true (memcmp (hone_graph_value_data (c, i), hone_graph_value_data (c3, i), k * 4) != 0);
    }
}

static void
expect_invalid (const char *arch, int classes, int channels, int h, int w, const char *expect)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions o = { classes, channels, h, w, 0 };
  g_autoptr (HoneGraph) g = hone_arch_build (arch, &o, &error);
  g_assert_null (g);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  if (!strstr (error->message, expect))
    g_error ("expected '%s' in: %s", expect, error->message);
  g_test_message ("%s", error->message);
}

static void
test_bad_options (void)
{
  expect_invalid ("resnet18", 10, 3, 31, 224, "31 pixels is out of range: use 32 to");
  expect_invalid ("resnet34", 10, 3, 224, 16, "an input of 16×224 pixels");
  expect_invalid ("mobilenet_v2", 10, 3, 28, 28, "use 32 to 4096 pixels");
  expect_invalid ("cnn-s", 10, 1, 3, 28, "use 4 to 4096");
  expect_invalid ("cnn-s", 10, 1, 28, 5000, "5000×28");
  expect_invalid ("resnet18", 0, 3, 224, 224, "0 classes is out of range: use 1 to 100000");
  expect_invalid ("cnn-s", -3, 1, 28, 28, "-3 classes");
  expect_invalid ("resnet18", 100001, 3, 224, 224, "100001 classes");
  expect_invalid ("resnet18", 10, 0, 224, 224, "0 input channels is out of range");
  expect_invalid ("resnet50", 10, 3, 224, 224,
                  "unknown architecture 'resnet50': use one of resnet18, resnet34, mobilenet_v2, cnn-s");
  expect_invalid ("", 10, 3, 224, 224, "unknown architecture ''");

  /* NULL options: the defaults */
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_graph_n_params (g), ==, 140458);
}

/* Weight files that do not fit a built architecture name the tensor. */
static void
test_load_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) src = build ("cnn-s", 10, 1, 28, 28, 1);
  g_autoptr (HoneGraph) dst = build ("cnn-s", 10, 1, 28, 28, 2);
  g_autofree char *path = g_build_filename (tmp_dir, "cnn-s.safetensors", NULL);
  g_assert_true (hone_graph_save_safetensors (src, path, NULL, &error));
  g_assert_no_error (error);

  /* the round trip, then identical logits */
  g_assert_true (hone_graph_load_safetensors (dst, path, HONE_LOAD_STRICT, &error));
  g_assert_no_error (error);
  g_assert_true (hone_graph_plan (src, 2, FALSE, &error));
  g_assert_true (hone_graph_plan (dst, 2, FALSE, &error));
  HoneRng rng;
  hone_rng_init (&rng, 5, 0);
  hone_test_fill_uniform (&rng, hone_graph_input_data (src, 0), 2 * 28 * 28, -1, 1);
  memcpy (hone_graph_input_data (dst, 0), hone_graph_input_data (src, 0), 2 * 28 * 28 * sizeof (float));
  g_assert_true (hone_graph_forward (src, 2, FALSE, &error));
  g_assert_true (hone_graph_forward (dst, 2, FALSE, &error));
  HoneTensor a = hone_graph_tensor (src, hone_graph_output (src, 0));
  HoneTensor b = hone_graph_tensor (dst, hone_graph_output (dst, 0));
  g_assert_cmpmem (a.data, 20 * sizeof (float), b.data, 20 * sizeof (float));

  /* the same file with conv3.weight of another shape and bn5.running_var missing */
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  g_autofree float *wrong = g_new0 (float, 64 * 16 * 9);
  for (int i = 0; i < hone_safetensors_n_tensors (st); i++)
    {
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      HoneShape s;
      g_assert_true (hone_safetensors_tensor_shape (st, i, &s, NULL));
      if (strcmp (t->name, "bn5.running_var") == 0)
        continue;
      if (strcmp (t->name, "conv3.weight") == 0)
        {
          HoneShape ws = HONE_SHAPE (64, 16, 3, 3);
          hone_safetensors_writer_add_f32 (w, t->name, &ws, wrong, NULL);
          continue;
        }
      g_assert_true (hone_safetensors_writer_add (w, t->name, t->dtype, &s, t->data, NULL));
    }
  g_autofree char *bad = g_build_filename (tmp_dir, "cnn-s-bad.safetensors", NULL);
  g_assert_true (hone_safetensors_writer_write (w, bad, &error));
  g_autoptr (HoneGraph) fresh = build ("cnn-s", 10, 1, 28, 28, 2);
  g_assert_false (hone_graph_load_safetensors (fresh, bad, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, bad));
  g_assert_nonnull (strstr (error->message, "missing (1): bn5.running_var"));
  g_assert_nonnull (strstr (error->message, "conv3.weight (model (64, 32, 3, 3), file (64, 16, 3, 3))"));
  g_clear_error (&error);

  /* a resnet18 file into mobilenet_v2: everything is listed, ten at a time */
  g_autoptr (HoneGraph) r = build ("resnet18", 10, 3, 32, 32, 0);
  g_autofree char *rpath = g_build_filename (tmp_dir, "resnet18.safetensors", NULL);
  g_assert_true (hone_graph_save_safetensors (r, rpath, NULL, &error));
  g_autoptr (HoneGraph) m = build ("mobilenet_v2", 10, 3, 32, 32, 0);
  g_assert_false (hone_graph_load_safetensors (m, rpath, HONE_LOAD_ALLOW_HEAD_MISMATCH, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "missing (260): features.0.0.weight"));
  g_assert_nonnull (strstr (error->message, "and 250 more"));
  g_assert_nonnull (strstr (error->message, "not in the model (122): "));
  g_clear_error (&error);

  /* head replacement: 10 classes into 4, the head left as initialised */
  g_autoptr (HoneGraph) four = build ("cnn-s", 4, 1, 28, 28, 9);
  g_autofree float *fc_before = g_memdup2 (hone_graph_value_data (four, hone_graph_find (four, "fc.weight")),
                                           4 * 128 * sizeof (float));
  g_assert_false (hone_graph_load_safetensors (four, path, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "fc.weight (model (4, 128), file (10, 128))"));
  g_assert_nonnull (strstr (error->message, "fc.bias (model (4), file (10))"));
  g_clear_error (&error);
  g_auto (GStrv) skipped = NULL;
  g_assert_true (hone_graph_load_safetensors_full (four, path, HONE_LOAD_ALLOW_HEAD_MISMATCH, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (skipped), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) skipped, "fc.weight"));
  g_assert_true (g_strv_contains ((const char *const *) skipped, "fc.bias"));
  g_assert_cmpmem (hone_graph_value_data (four, hone_graph_find (four, "fc.weight")), 4 * 128 * sizeof (float),
                   fc_before, 4 * 128 * sizeof (float));
  g_assert_cmpmem (hone_graph_value_data (four, hone_graph_find (four, "conv5.weight")), 16,
                   hone_graph_value_data (src, hone_graph_find (src, "conv5.weight")), 16);
}

/* model.dropout: a Dropout node before the head, no new parameters. */
static void
test_head_dropout (void)
{
  g_autoptr (GError) error = NULL;
  const HoneArchInfo *info = hone_arch_find ("cnn-s");
  HoneArchOptions o;
  hone_arch_options_init (&o, info);
  g_assert_cmpfloat (o.dropout, ==, 0.0);
  g_autoptr (HoneGraph) plain = hone_arch_build ("cnn-s", &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_graph_find (plain, "dropout"), ==, -1);

  o.dropout = 0.3;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &o, &error);
  g_assert_no_error (error);
  int d = hone_graph_find (g, "dropout");
  g_assert_cmpint (d, >=, 0);
  const HoneNode *n = hone_graph_node (g, hone_graph_value (g, d)->producer);
  g_assert_true (n->op == &hone_op_dropout);
  g_assert_cmpstr (n->block, ==, "head");
  g_assert_cmpint (hone_graph_n_params (g), ==, hone_graph_n_params (plain));

  hone_arch_options_init (&o, hone_arch_find ("mobilenet_v2"));
  g_assert_cmpfloat (o.dropout, ==, 0.2);

  o.dropout = 1.0;
  g_assert_null (hone_arch_build ("mobilenet_v2", &o, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "dropout"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("hone-test-arch-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/engine/arch/head-dropout", test_head_dropout);
  g_test_add_func ("/engine/arch/list", test_list);
  g_test_add_func ("/engine/arch/param-counts", test_param_counts);
  g_test_add_func ("/engine/arch/names/resnet", test_names_resnet);
  g_test_add_func ("/engine/arch/names/mobilenet_v2", test_names_mobilenet);
  g_test_add_func ("/engine/arch/names/cnn-s", test_names_cnn_s);
  g_test_add_func ("/engine/arch/output-shapes", test_output_shapes);
  g_test_add_func ("/engine/arch/forward", test_forward);
  g_test_add_func ("/engine/arch/init", test_init);
  g_test_add_func ("/engine/arch/bad-options", test_bad_options);
  g_test_add_func ("/engine/arch/load-errors", test_load_errors);
  int ret = g_test_run ();
  hone_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
