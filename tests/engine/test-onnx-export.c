/* test-onnx-export.c: the ONNX exporter's structure, read back with
 * protobuf-c: opset and IR version, input and output names and shapes,
 * initializers under Hone's names, metadata, the decompositions, every
 * op's to_onnx, and the errors (an op without to_onnx, an unwritable
 * path).  That other tools run the files (onnx.checker, OpenCV) is checked
 * by tests/onnx/test_onnx_export.py. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"
#include "onnx.pb-c.h"
#include "onnx/hone-onnx.h"
#include "ops/hone-op-private.h"

static char *tmp_dir;

static Onnx__ModelProto *
export_unpack (HoneGraph *g, const HoneOnnxExportInfo *info)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = hone_onnx_export_to_bytes (g, info, &error);
  g_assert_no_error (error);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  Onnx__ModelProto *m = onnx__model_proto__unpack (NULL, size, data);
  g_assert_nonnull (m);
  return m;
}

static const char *
metadata (const Onnx__ModelProto *m, const char *key)
{
  for (size_t i = 0; i < m->n_metadata_props; i++)
    if (strcmp (m->metadata_props[i]->key, key) == 0)
      return m->metadata_props[i]->value;
  return NULL;
}

static const Onnx__TensorProto *
initializer (const Onnx__ModelProto *m, const char *name)
{
  for (size_t i = 0; i < m->graph->n_initializer; i++)
    if (strcmp (m->graph->initializer[i]->name, name) == 0)
      return m->graph->initializer[i];
  return NULL;
}

static const Onnx__TensorProto *
get_initializer (const Onnx__ModelProto *m, const char *name)
{
  const Onnx__TensorProto *t = initializer (m, name);
  if (!t)
    g_error ("no initializer named %s", name);
  return t;
}

static int
count_op (const Onnx__ModelProto *m, const char *op)
{
  int n = 0;
  for (size_t i = 0; i < m->graph->n_node; i++)
    n += strcmp (m->graph->node[i]->op_type, op) == 0;
  return n;
}

/* Every value a node reads is defined before it (SSA, topological order). */
static void
assert_well_formed (const Onnx__ModelProto *m)
{
  g_autoptr (GHashTable) defined = g_hash_table_new (g_str_hash, g_str_equal);
  const Onnx__GraphProto *g = m->graph;
  for (size_t i = 0; i < g->n_input; i++)
    g_assert_true (g_hash_table_add (defined, g->input[i]->name));
  for (size_t i = 0; i < g->n_initializer; i++)
    g_assert_true (g_hash_table_add (defined, g->initializer[i]->name));
  for (size_t i = 0; i < g->n_node; i++)
    {
      const Onnx__NodeProto *n = g->node[i];
      for (size_t j = 0; j < n->n_input; j++)
        if (*n->input[j] && !g_hash_table_contains (defined, n->input[j]))
          g_error ("node %s (%s) reads '%s' before it is defined", n->name, n->op_type, n->input[j]);
      for (size_t j = 0; j < n->n_output; j++)
        if (!g_hash_table_add (defined, n->output[j]))
          g_error ("node %s (%s) writes '%s', which is already defined", n->name, n->op_type,
                   n->output[j]);
    }
  for (size_t i = 0; i < g->n_output; i++)
    g_assert_true (g_hash_table_contains (defined, g->output[i]->name));
}

static void
assert_value_info (const Onnx__ValueInfoProto *vi, const char *name, const int64_t *dims, int rank)
{
  g_assert_cmpstr (vi->name, ==, name);
  g_assert_cmpint (vi->type->value_case, ==, ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE);
  const Onnx__TypeProto__Tensor *t = vi->type->tensor_type;
  g_assert_cmpint (t->elem_type, ==, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  g_assert_cmpuint (t->shape->n_dim, ==, (guint) rank + 1);
  g_assert_cmpint (t->shape->dim[0]->value_case, ==, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM);
  g_assert_cmpstr (t->shape->dim[0]->dim_param, ==, "N");
  for (int i = 0; i < rank; i++)
    {
      g_assert_cmpint (t->shape->dim[i + 1]->value_case, ==, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE);
      g_assert_cmpint (t->shape->dim[i + 1]->dim_value, ==, dims[i]);
    }
}

static void
test_export_cnn_s (void)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions o = { 3, 1, 28, 28, 7 };
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &o, &error);
  g_assert_no_error (error);
  static const float mean[1] = { 0.286f }, std[1] = { 0.353f };
  static const char *const names[] = { "shirt", "bag \"big\"", "boot", NULL };
  HoneOnnxExportInfo info = { .arch = "cnn-s", .class_names = names, .n_classes = 3,
                              .channels = 1, .height = 28, .width = 28, .mean = mean, .std = std };
  Onnx__ModelProto *m = export_unpack (g, &info);

  g_assert_true (m->has_ir_version);
  g_assert_cmpint (m->ir_version, ==, 7);
  g_assert_cmpuint (m->n_opset_import, ==, 1);
  g_assert_cmpstr (m->opset_import[0]->domain, ==, "");
  g_assert_cmpint (m->opset_import[0]->version, ==, 13);
  g_assert_cmpstr (m->producer_name, ==, "Hone");
  g_assert_cmpstr (m->producer_version, ==, PACKAGE_VERSION);

  g_assert_cmpuint (m->graph->n_input, ==, 1);
  assert_value_info (m->graph->input[0], "input", (const int64_t[]) { 1, 28, 28 }, 3);
  g_assert_cmpuint (m->graph->n_output, ==, 1);
  assert_value_info (m->graph->output[0], "logits", (const int64_t[]) { 3 }, 1);
  assert_well_formed (m);

  /* every parameter and buffer, under its name, with its data */
  int n_weights = 0;
  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM && v->kind != HONE_VALUE_BUFFER)
        continue;
      n_weights++;
      const Onnx__TensorProto *t = initializer (m, v->name);
      if (!t)
        g_error ("no initializer named %s", v->name);
      g_assert_cmpint (t->data_type, ==, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
      g_assert_cmpuint (t->n_dims, ==, (guint) v->shape.rank);
      for (int d = 0; d < v->shape.rank; d++)
        g_assert_cmpint (t->dims[d], ==, v->shape.d[d]);
      int64_t n = hone_shape_numel (&v->shape);
      g_assert_cmpuint (t->raw_data.len, ==, (gsize) n * sizeof (float));
      g_assert_cmpmem (t->raw_data.data, t->raw_data.len, hone_graph_value_data (g, id),
                       (gsize) n * sizeof (float));
    }
  g_assert_cmpuint (m->graph->n_initializer, ==, (guint) n_weights);
  g_assert_nonnull (initializer (m, "conv1.weight"));
  g_assert_nonnull (initializer (m, "bn1.running_var"));
  g_assert_nonnull (initializer (m, "fc.bias"));

  /* BatchNormalization in inference form: 5 inputs, the running stats last */
  g_assert_cmpint (count_op (m, "BatchNormalization"), ==, 5);
  for (size_t i = 0; i < m->graph->n_node; i++)
    {
      const Onnx__NodeProto *n = m->graph->node[i];
      if (strcmp (n->op_type, "BatchNormalization") == 0)
        {
          g_assert_cmpuint (n->n_input, ==, 5);
          g_assert_true (g_str_has_suffix (n->input[3], ".running_mean"));
          g_assert_true (g_str_has_suffix (n->input[4], ".running_var"));
          g_assert_cmpuint (n->n_output, ==, 1);
        }
      if (strcmp (n->op_type, "Gemm") == 0)
        g_assert_cmpstr (n->output[0], ==, "logits");
    }
  g_assert_cmpint (count_op (m, "Dropout"), ==, 0);

  g_assert_cmpstr (metadata (m, "hone.arch"), ==, "cnn-s");
  g_assert_cmpstr (metadata (m, "hone.input"), ==, "1x28x28");
  g_assert_cmpstr (metadata (m, "hone.classes"), ==, "[\"shirt\",\"bag \\\"big\\\"\",\"boot\"]");
  g_assert_cmpfloat (g_ascii_strtod (metadata (m, "hone.mean"), NULL), ==, mean[0]);
  g_assert_cmpfloat (g_ascii_strtod (metadata (m, "hone.std"), NULL), ==, std[0]);

  /* hone_model_info_read, which reads Hone's safetensors files, reads the same keys */
  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  for (size_t i = 0; i < m->n_metadata_props; i++)
    g_hash_table_insert (md, m->metadata_props[i]->key, m->metadata_props[i]->value);
  HoneModelInfo mi;
  hone_model_info_read (md, &mi);
  g_assert_cmpstr (mi.arch, ==, "cnn-s");
  g_assert_cmpint (mi.channels, ==, 1);
  g_assert_cmpint (mi.height, ==, 28);
  g_assert_true (mi.has_norm);
  g_assert_cmpfloat (mi.mean[0], ==, mean[0]);
  g_assert_cmpint (mi.n_classes, ==, 3);
  hone_model_info_clear (&mi);

  onnx__model_proto__free_unpacked (m, NULL);
}

/* Without info: class names "class N" from the output, input from the graph. */
static void
test_export_defaults (void)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions o = { 4, 3, 32, 40, 1 };
  g_autoptr (HoneGraph) g = hone_arch_build ("mobilenet_v2", &o, &error);
  g_assert_no_error (error);
  Onnx__ModelProto *m = export_unpack (g, NULL);
  assert_value_info (m->graph->input[0], "input", (const int64_t[]) { 3, 32, 40 }, 3);
  assert_value_info (m->graph->output[0], "logits", (const int64_t[]) { 4 }, 1);
  assert_well_formed (m);
  g_assert_cmpstr (metadata (m, "hone.classes"), ==, "[\"class 0\",\"class 1\",\"class 2\",\"class 3\"]");
  g_assert_cmpstr (metadata (m, "hone.input"), ==, "3x32x40");
  g_assert_null (metadata (m, "hone.arch"));
  g_assert_null (metadata (m, "hone.mean"));
  /* ReLU6 as 6 HardSigmoid(x / 6), which OpenCV 4.6 reads; Dropout
   * (classifier.0) left out */
  g_assert_cmpint (count_op (m, "Clip"), ==, 0);
  g_assert_cmpint (count_op (m, "HardSigmoid"), ==, 35);
  g_assert_cmpint (count_op (m, "Dropout"), ==, 0);
  /* one initializer per distinct scalar, however many nodes use it */
  g_assert_nonnull (initializer (m, "hone.const.6"));
  g_assert_null (initializer (m, "hone.const.6_2"));
  g_assert_nonnull (initializer (m, "features.18.0.weight"));
  onnx__model_proto__free_unpacked (m, NULL);
}

/* ---- every op --------------------------------------------------------- */

static HoneGraph *
one_op_graph (int *x, HoneShape in)
{
  HoneGraph *g = hone_graph_new ();
  *x = hone_graph_add_input (g, "x", &in, NULL);
  g_assert_cmpint (*x, >=, 0);
  return g;
}

static int
param (HoneGraph *g, const char *name, HoneShape shape)
{
  g_autoptr (GError) error = NULL;
  int id = hone_graph_add_param (g, name, &shape, &error);
  g_assert_no_error (error);
  return id;
}

/* Exports g with output y and returns the model, after checking its shape
 * and that it names every node it writes after a Hone node. */
static Onnx__ModelProto *
export_op_graph (HoneGraph *g, int y)
{
  g_assert_cmpint (y, >=, 0);
  hone_graph_add_output (g, y);
  Onnx__ModelProto *m = export_unpack (g, NULL);
  assert_well_formed (m);
  g_assert_cmpstr (m->graph->output[0]->name, ==, "logits");
  g_assert_cmpstr (m->graph->input[0]->name, ==, "input");
  return m;
}

static const Onnx__NodeProto *
only_node (const Onnx__ModelProto *m, const char *op)
{
  g_assert_cmpuint (m->graph->n_node, ==, 1);
  g_assert_cmpstr (m->graph->node[0]->op_type, ==, op);
  return m->graph->node[0];
}

static const Onnx__AttributeProto *
attr (const Onnx__NodeProto *n, const char *name)
{
  for (size_t i = 0; i < n->n_attribute; i++)
    if (strcmp (n->attribute[i]->name, name) == 0)
      return n->attribute[i];
  return NULL;
}

static void
assert_ints (const Onnx__NodeProto *n, const char *name, const int64_t *v, int count)
{
  const Onnx__AttributeProto *a = attr (n, name);
  if (!a)
    g_error ("%s has no attribute %s", n->op_type, name);
  g_assert_cmpint (a->type, ==, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  g_assert_cmpuint (a->n_ints, ==, (guint) count);
  for (int i = 0; i < count; i++)
    g_assert_cmpint (a->ints[i], ==, v[i]);
}

static int64_t
attr_int (const Onnx__NodeProto *n, const char *name)
{
  const Onnx__AttributeProto *a = attr (n, name);
  if (!a)
    g_error ("%s has no attribute %s", n->op_type, name);
  g_assert_cmpint (a->type, ==, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  return a->i;
}

static float
attr_float (const Onnx__NodeProto *n, const char *name)
{
  const Onnx__AttributeProto *a = attr (n, name);
  if (!a)
    g_error ("%s has no attribute %s", n->op_type, name);
  g_assert_cmpint (a->type, ==, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  return a->f;
}

/* The op types of the nodes, space-separated. */
static char *
op_types (const Onnx__ModelProto *m)
{
  GString *s = g_string_new (NULL);
  for (size_t i = 0; i < m->graph->n_node; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", m->graph->node[i]->op_type);
  return g_string_free (s, FALSE);
}

static void
test_ops_conv_pool (void)
{
  int x;
  g_autoptr (HoneGraph) g = one_op_graph (&x, HONE_SHAPE (4, 9, 9));
  int w = param (g, "c.weight", HONE_SHAPE (6, 2, 3, 3));
  int b = param (g, "c.bias", HONE_SHAPE (6));
  HoneConvAttrs ca = { { 2, 1 }, { 1, 0, 2, 1 }, { 1, 2 }, 2 };
  int y = hone_graph_conv (g, "c", x, w, b, &ca, NULL);
  HonePoolAttrs mp = { { 3, 2 }, { 2, 2 }, { 1, 0, 1, 0 }, { 1, 1 }, TRUE, FALSE };
  y = hone_graph_max_pool (g, "mp", y, &mp, NULL);
  HonePoolAttrs ap = { { 2, 2 }, { 1, 1 }, { 1, 1, 0, 0 }, { 1, 1 }, FALSE, TRUE };
  y = hone_graph_avg_pool (g, "ap", y, &ap, NULL);
  y = hone_graph_global_avg_pool (g, "gap", y, NULL);
  Onnx__ModelProto *m = export_op_graph (g, y);
  g_autofree char *types = op_types (m);
  /* AveragePool's counted padding as an explicit Pad */
  g_assert_cmpstr (types, ==, "Conv MaxPool Pad AveragePool GlobalAveragePool");
  const Onnx__NodeProto *c = m->graph->node[0];
  g_assert_cmpuint (c->n_input, ==, 3);
  g_assert_cmpstr (c->input[1], ==, "c.weight");
  assert_ints (c, "kernel_shape", (const int64_t[]) { 3, 3 }, 2);
  assert_ints (c, "strides", (const int64_t[]) { 2, 1 }, 2);
  assert_ints (c, "pads", (const int64_t[]) { 1, 0, 2, 1 }, 4);
  assert_ints (c, "dilations", (const int64_t[]) { 1, 2 }, 2);
  g_assert_cmpint (attr_int (c, "group"), ==, 2);
  const Onnx__NodeProto *p = m->graph->node[1];
  assert_ints (p, "kernel_shape", (const int64_t[]) { 3, 2 }, 2);
  assert_ints (p, "pads", (const int64_t[]) { 1, 0, 1, 0 }, 4);
  g_assert_cmpint (attr_int (p, "ceil_mode"), ==, 1);
  g_assert_null (attr (p, "dilations"));
  p = m->graph->node[2];
  const Onnx__TensorProto *pads = get_initializer (m, p->input[1]);
  const int64_t expect_pads[8] = { 0, 0, 1, 1, 0, 0, 0, 0 };
  g_assert_cmpmem (pads->raw_data.data, pads->raw_data.len, expect_pads, sizeof expect_pads);
  p = m->graph->node[3];
  g_assert_cmpstr (p->input[0], ==, m->graph->node[2]->output[0]);
  assert_ints (p, "pads", (const int64_t[]) { 0, 0, 0, 0 }, 4);
  g_assert_null (attr (p, "count_include_pad"));
  g_assert_null (attr (p, "ceil_mode"));
  onnx__model_proto__free_unpacked (m, NULL);

  /* Conv without bias: two inputs */
  g_autoptr (HoneGraph) g2 = one_op_graph (&x, HONE_SHAPE (2, 5, 5));
  w = param (g2, "w", HONE_SHAPE (3, 2, 1, 1));
  HoneConvAttrs c1 = { { 1, 1 }, { 0, 0, 0, 0 }, { 1, 1 }, 1 };
  m = export_op_graph (g2, hone_graph_conv (g2, "c", x, w, -1, &c1, NULL));
  g_assert_cmpuint (only_node (m, "Conv")->n_input, ==, 2);
  onnx__model_proto__free_unpacked (m, NULL);
}

static void
test_ops_norm_linear (void)
{
  int x;
  g_autoptr (HoneGraph) g = one_op_graph (&x, HONE_SHAPE (3, 2, 2));
  int s = param (g, "bn.weight", HONE_SHAPE (3)), b = param (g, "bn.bias", HONE_SHAPE (3));
  HoneShape c3 = HONE_SHAPE (3);
  int mean = hone_graph_add_buffer (g, "bn.running_mean", &c3, 0.0f, NULL);
  int var = hone_graph_add_buffer (g, "bn.running_var", &c3, 1.0f, NULL);
  HoneBatchNormAttrs bn = { 1e-3f, 0.25f };
  int y = hone_graph_batch_norm (g, "bn", x, s, b, mean, var, &bn, NULL);
  y = hone_graph_flatten (g, "flat", y, 1, NULL);
  int w = param (g, "fc.weight", HONE_SHAPE (12, 5)), c = param (g, "fc.bias", HONE_SHAPE (5));
  HoneGemmAttrs ga = { 0.5f, 2.0f, FALSE, FALSE };
  y = hone_graph_gemm (g, "fc", y, w, c, &ga, NULL);
  int w2 = param (g, "mm.weight", HONE_SHAPE (5, 4));
  y = hone_graph_matmul (g, "mm", y, w2, NULL);
  int w3 = param (g, "fc2.weight", HONE_SHAPE (2, 4));
  HoneGemmAttrs gb = { 1.0f, 1.0f, FALSE, TRUE };
  y = hone_graph_gemm (g, "fc2", y, w3, -1, &gb, NULL);
  Onnx__ModelProto *m = export_op_graph (g, y);
  g_autofree char *types = op_types (m);
  g_assert_cmpstr (types, ==, "BatchNormalization Flatten Gemm MatMul Gemm");
  const Onnx__NodeProto *n = m->graph->node[0];
  g_assert_cmpfloat (attr_float (n, "epsilon"), ==, 1e-3f);
  g_assert_cmpfloat (attr_float (n, "momentum"), ==, 0.75f);
  g_assert_cmpint (attr_int (m->graph->node[1], "axis"), ==, 1);
  n = m->graph->node[2];
  g_assert_cmpfloat (attr_float (n, "alpha"), ==, 0.5f);
  g_assert_cmpfloat (attr_float (n, "beta"), ==, 2.0f);
  g_assert_cmpint (attr_int (n, "transA"), ==, 0);
  g_assert_cmpint (attr_int (n, "transB"), ==, 0);
  n = m->graph->node[4];
  g_assert_cmpuint (n->n_input, ==, 2);
  g_assert_cmpint (attr_int (n, "transB"), ==, 1);
  onnx__model_proto__free_unpacked (m, NULL);
}

static void
test_ops_activations (void)
{
  static const struct { const char *name; const char *types; } cases[] = {
    { "relu", "Relu" },
    { "clip", "HardSigmoid Mul Add" },
    { "relu6", "HardSigmoid Mul" },
    { "clip_above", "Clip" },
    { "clip_below", "Clip" },
    { "sigmoid", "Sigmoid" },
    { "hard_sigmoid", "HardSigmoid" },
    { "silu", "Sigmoid Mul" },
    { "hard_swish", "HardSigmoid Mul" },
    { "gelu", "Div Erf Add Mul Mul" },
    { "gelu_tanh", "Mul Mul Mul Add Mul Tanh Add Mul Mul" },
    { "softmax", "Softmax" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int x, y = -1;
      g_autoptr (HoneGraph) g = one_op_graph (&x, HONE_SHAPE (2, 3));
      const char *c = cases[i].name;
      if (strcmp (c, "relu") == 0)
        y = hone_graph_relu (g, c, x, NULL);
      else if (strcmp (c, "clip") == 0)
        y = hone_graph_clip (g, c, x, -0.5f, 6.0f, NULL);
      else if (strcmp (c, "relu6") == 0)
        y = hone_graph_clip (g, c, x, 0.0f, 6.0f, NULL);
      else if (strcmp (c, "clip_above") == 0)
        y = hone_graph_clip (g, c, x, 1.0f, INFINITY, NULL);
      else if (strcmp (c, "clip_below") == 0)
        y = hone_graph_clip (g, c, x, -INFINITY, 2.0f, NULL);
      else if (strcmp (c, "sigmoid") == 0)
        y = hone_graph_sigmoid (g, c, x, NULL);
      else if (strcmp (c, "hard_sigmoid") == 0)
        y = hone_graph_hard_sigmoid (g, c, x, 0.25f, 0.125f, NULL);
      else if (strcmp (c, "silu") == 0)
        y = hone_graph_silu (g, c, x, NULL);
      else if (strcmp (c, "hard_swish") == 0)
        y = hone_graph_hard_swish (g, c, x, NULL);
      else if (strcmp (c, "gelu") == 0)
        y = hone_graph_gelu (g, c, x, FALSE, NULL);
      else if (strcmp (c, "gelu_tanh") == 0)
        y = hone_graph_gelu (g, c, x, TRUE, NULL);
      else if (strcmp (c, "softmax") == 0)
        y = hone_graph_softmax (g, c, x, -1, NULL);
      Onnx__ModelProto *m = export_op_graph (g, y);
      g_autofree char *types = op_types (m);
      g_assert_cmpstr (types, ==, cases[i].types);
      const Onnx__NodeProto *last = m->graph->node[m->graph->n_node - 1];
      g_assert_cmpstr (last->output[0], ==, "logits");
      if (strcmp (c, "clip") == 0)
        {
          /* -0.5 + 6.5 HardSigmoid(x / 6.5 + 0.5 / 6.5) */
          const Onnx__NodeProto *hs = m->graph->node[0];
          g_assert_cmpfloat (attr_float (hs, "alpha"), ==, 1.0f / 6.5f);
          g_assert_cmpfloat (attr_float (hs, "beta"), ==, 0.5f / 6.5f);
          const Onnx__TensorProto *scale = get_initializer (m, m->graph->node[1]->input[1]);
          g_assert_cmpuint (scale->n_dims, ==, 0);
          g_assert_cmpfloat (*(const float *) scale->raw_data.data, ==, 6.5f);
          const Onnx__TensorProto *lo = get_initializer (m, last->input[1]);
          g_assert_cmpfloat (*(const float *) lo->raw_data.data, ==, -0.5f);
        }
      if (strcmp (c, "clip_above") == 0 || strcmp (c, "clip_below") == 0)
        {
          gboolean above = strcmp (c, "clip_above") == 0;
          g_assert_cmpuint (last->n_input, ==, 3);
          const char *bound = last->input[above ? 1 : 2];
          g_assert_cmpstr (last->input[above ? 2 : 1], ==, "");
          g_assert_cmpfloat (*(const float *) get_initializer (m, bound)->raw_data.data, ==,
                             above ? 1.0f : 2.0f);
        }
      if (strcmp (c, "hard_sigmoid") == 0)
        {
          g_assert_cmpfloat (attr_float (last, "alpha"), ==, 0.25f);
          g_assert_cmpfloat (attr_float (last, "beta"), ==, 0.125f);
        }
      if (strcmp (c, "hard_swish") == 0)
        {
          const Onnx__NodeProto *hs = m->graph->node[0];
          g_assert_cmpfloat (attr_float (hs, "alpha"), ==, 1.0f / 6.0f);
          g_assert_cmpfloat (attr_float (hs, "beta"), ==, 0.5f);
          g_assert_cmpstr (last->input[0], ==, "input");
          g_assert_cmpstr (last->input[1], ==, hs->output[0]);
        }
      if (strcmp (c, "softmax") == 0)
        g_assert_cmpint (attr_int (last, "axis"), ==, -1);
      onnx__model_proto__free_unpacked (m, NULL);
    }
}

static void
test_ops_binary_shape (void)
{
  int x;
  g_autoptr (HoneGraph) g = one_op_graph (&x, HONE_SHAPE (3, 2, 4));
  int p = param (g, "p", HONE_SHAPE (3, 1, 1));
  int y = hone_graph_add (g, "add", x, p, NULL);
  y = hone_graph_sub (g, "sub", y, p, NULL);
  y = hone_graph_mul (g, "mul", y, x, NULL);
  y = hone_graph_div (g, "div", y, p, NULL);
  int xs[2] = { y, x };
  y = hone_graph_concat (g, "cat", xs, 2, 1, NULL);
  y = hone_graph_transpose (g, "tr", y, (const int[]) { 0, 2, 3, 1 }, 4, NULL);
  y = hone_graph_reshape (g, "rs", y, (const int64_t[]) { 0, -1, 6 }, 3, NULL);
  y = hone_graph_dropout (g, "drop", y, 0.5f, NULL);
  Onnx__ModelProto *m = export_op_graph (g, y);
  g_autofree char *types = op_types (m);
  /* the Dropout is the output, so it becomes an Identity */
  g_assert_cmpstr (types, ==, "Add Sub Mul Div Concat Transpose Reshape Identity");
  g_assert_cmpint (attr_int (m->graph->node[4], "axis"), ==, 1);
  assert_ints (m->graph->node[5], "perm", (const int64_t[]) { 0, 2, 3, 1 }, 4);
  const Onnx__NodeProto *rs = m->graph->node[6];
  const Onnx__TensorProto *shape = get_initializer (m, rs->input[1]);
  g_assert_cmpstr (shape->name, ==, "rs.shape");
  g_assert_cmpint (shape->data_type, ==, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
  g_assert_cmpuint (shape->raw_data.len, ==, 3 * sizeof (int64_t));
  const int64_t expect[3] = { 0, -1, 6 };
  g_assert_cmpmem (shape->raw_data.data, shape->raw_data.len, expect, sizeof expect);
  assert_value_info (m->graph->output[0], "logits", (const int64_t[]) { 8, 6 }, 2);
  onnx__model_proto__free_unpacked (m, NULL);

  /* a Dropout inside the graph writes no node: its consumer reads its input */
  g_autoptr (HoneGraph) g2 = one_op_graph (&x, HONE_SHAPE (4));
  y = hone_graph_relu (g2, "r", x, NULL);
  y = hone_graph_dropout (g2, "drop", y, 0.5f, NULL);
  y = hone_graph_sigmoid (g2, "s", y, NULL);
  m = export_op_graph (g2, y);
  g_autofree char *types2 = op_types (m);
  g_assert_cmpstr (types2, ==, "Relu Sigmoid");
  g_assert_cmpstr (m->graph->node[1]->input[0], ==, m->graph->node[0]->output[0]);
  onnx__model_proto__free_unpacked (m, NULL);
}

/* A Concat of many inputs, as in DenseNet */
static void
test_concat_many (void)
{
  int x;
  g_autoptr (HoneGraph) g = one_op_graph (&x, HONE_SHAPE (2, 3, 3));
  int xs[40];
  for (int i = 0; i < 40; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%d", i);
      xs[i] = hone_graph_relu (g, name, x, NULL);
    }
  Onnx__ModelProto *m = export_op_graph (g, hone_graph_concat (g, "cat", xs, 40, 1, NULL));
  const Onnx__NodeProto *cat = m->graph->node[40];
  g_assert_cmpstr (cat->op_type, ==, "Concat");
  g_assert_cmpuint (cat->n_input, ==, 40);
  g_assert_cmpstr (cat->input[39], ==, "r39");
  assert_value_info (m->graph->output[0], "logits", (const int64_t[]) { 80, 3, 3 }, 3);
  onnx__model_proto__free_unpacked (m, NULL);
}

/* Every op the engine knows writes itself to ONNX (DESIGN.md: each op's
 * table has to_onnx); an op without one would make the exporter refuse the
 * graph (test_missing_to_onnx). */
static void
test_ops_all_have_to_onnx (void)
{
  int n = 0;
  for (int i = 0; hone_op_classes[i]; i++, n++)
    if (!hone_op_classes[i]->to_onnx)
      g_error ("%s has no to_onnx", hone_op_classes[i]->name);
  g_assert_cmpint (n, >=, 35);
}

/* ---- names and errors ---------------------------------------------------- */

/* Values already called "input" or "logits" are renamed, not merged. */
static void
test_name_clash (void)
{
  HoneGraph *g = hone_graph_new ();
  HoneShape s4 = HONE_SHAPE (4);
  int x = hone_graph_add_input (g, "images", &s4, NULL);
  int p = param (g, "logits", HONE_SHAPE (4));
  int y = hone_graph_add (g, "input", x, p, NULL);
  y = hone_graph_relu (g, "out", y, NULL);
  Onnx__ModelProto *m = export_op_graph (g, y);
  g_assert_cmpstr (m->graph->node[0]->input[0], ==, "input");
  g_assert_cmpstr (m->graph->node[0]->input[1], ==, "logits_2");
  g_assert_cmpstr (m->graph->node[0]->output[0], ==, "input_2");
  g_assert_nonnull (initializer (m, "logits_2"));
  g_assert_cmpstr (m->graph->node[1]->output[0], ==, "logits");
  onnx__model_proto__free_unpacked (m, NULL);
  hone_graph_free (g);
}

static void
noop_forward (const HoneOpCtx *ctx)
{
}

static const HoneOpClass no_onnx_op = {
  .name = "Frobnicate",
  .infer_shape = hone_op_infer_same_shape,
  .forward = noop_forward,
  .flops = hone_op_flops_none,
};

static void
test_missing_to_onnx (void)
{
  int x;
  g_autoptr (HoneGraph) g = one_op_graph (&x, HONE_SHAPE (4));
  int y = hone_graph_relu (g, "r", x, NULL);
  y = hone_graph_add_node (g, &no_onnx_op, NULL, "block.frob", &y, 1, 1, NULL, NULL);
  g_assert_cmpint (y, >=, 0);
  hone_graph_add_output (g, y);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = hone_onnx_export_to_bytes (g, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "'block.frob'"));
  g_assert_nonnull (strstr (error->message, "Frobnicate"));

  g_autofree char *path = g_build_filename (tmp_dir, "frob.onnx", NULL);
  g_clear_error (&error);
  g_assert_false (hone_onnx_export_graph (g, NULL, path, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "'block.frob'"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_write_file (void)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions o = { 10, 1, 28, 28, 3 };
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &o, &error);
  g_assert_no_error (error);

  /* through HoneModel */
  char *names[] = { "a", "b", NULL };
  HoneModel model = { .graph = g, .arch = (char *) "cnn-s", .channels = 1, .height = 28,
                      .width = 28, .mean = { 0.5f }, .std = { 0.25f }, .n_classes = 2,
                      .class_names = names };
  g_autofree char *path = g_build_filename (tmp_dir, "cnn-s.onnx", NULL);
  g_assert_true (hone_onnx_export (&model, path, &error));
  g_assert_no_error (error);
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  Onnx__ModelProto *m = onnx__model_proto__unpack (NULL, size, (const guint8 *) data);
  g_assert_nonnull (m);
  /* fewer names than classes: the rest are "class N" */
  g_assert_cmpstr (metadata (m, "hone.classes"), ==, "[\"a\",\"b\"]");
  g_assert_cmpstr (metadata (m, "hone.mean"), ==, "0.5");
  g_assert_cmpstr (metadata (m, "hone.std"), ==, "0.25");
  onnx__model_proto__free_unpacked (m, NULL);

  /* a folder that does not exist: an error naming the file, nothing written */
  g_autofree char *bad = g_build_filename (tmp_dir, "no-such-dir", "m.onnx", NULL);
  g_assert_false (hone_onnx_export (&model, bad, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, bad));
}

/* ---- import again ---------------------------------------------------------- */

static void
imported_free (HoneModel *m)
{
  if (!m)
    return;
  hone_graph_free (m->graph);
  g_free (m->source);
  g_free (m->format);
  g_free (m->arch);
  g_free (m->description);
  g_strfreev (m->class_names);
  g_strfreev (m->head_params);
  g_free (m);
}

/* Logits of g (planned here for `batch`) on the given inputs. */
static float *
logits_of (HoneGraph *g, const float *x, int batch, int64_t *n)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_plan (g, batch, FALSE, &error));
  int in = hone_graph_input (g, 0);
  HoneShape s = hone_shape_with_batch (&hone_graph_value (g, in)->shape, batch);
  memcpy (hone_graph_input_data (g, in), x, (gsize) hone_shape_numel (&s) * sizeof (float));
  g_assert_true (hone_graph_forward (g, batch, FALSE, &error));
  g_assert_no_error (error);
  HoneTensor t = hone_graph_tensor (g, hone_graph_output (g, 0));
  *n = hone_tensor_numel (&t);
  return g_memdup2 (t.data, (gsize) *n * sizeof (float));
}

/* An exported model imported again (hone_onnx_import) computes the same
 * logits and knows its classes, input and normalisation. */
static void
test_import_again (void)
{
  static const struct { const char *arch; int classes, c, h, w; } cases[] = {
    { "cnn-s", 4, 1, 28, 28 },
    { "resnet18", 3, 3, 32, 32 },
    { "mobilenet_v2", 5, 3, 32, 32 },
  };
  static const char *const names[] = { "ant", "bee", "cicada", "dragonfly", "earwig", NULL };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr (GError) error = NULL;
      HoneArchOptions o = { cases[k].classes, cases[k].c, cases[k].h, cases[k].w, 11 };
      g_autoptr (HoneGraph) g = hone_arch_build (cases[k].arch, &o, &error);
      g_assert_no_error (error);
      /* BatchNorm statistics and affine parameters as training leaves them */
      HoneRng rng;
      hone_rng_init (&rng, 5, k);
      for (int id = 0; id < hone_graph_n_values (g); id++)
        {
          const HoneValue *v = hone_graph_value (g, id);
          int64_t n = hone_shape_numel (&v->shape);
          if (g_str_has_suffix (v->name, ".running_mean") || g_str_has_suffix (v->name, ".bias"))
            hone_test_fill_uniform (&rng, hone_graph_value_data (g, id), n, -0.2f, 0.2f);
          else if (g_str_has_suffix (v->name, ".running_var"))
            hone_test_fill_uniform (&rng, hone_graph_value_data (g, id), n, 0.5f, 1.5f);
        }
      const float mean[3] = { 0.25f, 0.5f, 0.75f }, std[3] = { 0.2f, 0.3f, 0.4f };
      HoneOnnxExportInfo info = { .arch = cases[k].arch, .class_names = names,
                                  .n_classes = cases[k].classes, .mean = mean, .std = std };
      g_autoptr (GBytes) bytes = hone_onnx_export_to_bytes (g, &info, &error);
      g_assert_no_error (error);
      gsize size;
      const guint8 *data = g_bytes_get_data (bytes, &size);
      g_autoptr (HoneOnnxFile) file = hone_onnx_file_parse (data, size, "exported.onnx", NULL, &error);
      g_assert_no_error (error);
      HoneModelOptions opts = { .dropout = -1.0 };
      HoneModel *m = hone_onnx_import_file (file, &opts, &error);
      g_assert_no_error (error);
      g_assert_nonnull (m);

      g_assert_cmpint (m->n_classes, ==, cases[k].classes);
      for (int c = 0; c < cases[k].classes; c++)
        g_assert_cmpstr (m->class_names[c], ==, names[c]);
      g_assert_cmpint (m->channels, ==, cases[k].c);
      g_assert_cmpint (m->height, ==, cases[k].h);
      g_assert_cmpint (m->width, ==, cases[k].w);
      g_assert_true (m->norm_from_file);
      for (int c = 0; c < cases[k].c; c++)
        {
          g_assert_cmpfloat (m->mean[c], ==, mean[c]);
          g_assert_cmpfloat (m->std[c], ==, std[c]);
        }
      g_assert_false (m->head_replaced);

      const int batch = 2;
      int64_t numel = (int64_t) batch * cases[k].c * cases[k].h * cases[k].w;
      g_autofree float *x = g_new (float, numel);
      hone_test_fill_uniform (&rng, x, numel, -2.0f, 2.0f);
      int64_t n0, n1;
      g_autofree float *y0 = logits_of (g, x, batch, &n0);
      g_autofree float *y1 = logits_of (m->graph, x, batch, &n1);
      g_assert_cmpint (n0, ==, n1);
      g_assert_cmpint (n0, ==, batch * cases[k].classes);
      if (strcmp (cases[k].arch, "mobilenet_v2") == 0)
        /* ReLU6 comes back as HardSigmoid and Mul: equal up to rounding */
        hone_test_assert_close (cases[k].arch, y1, y0, n0, 1e-4, 1e-5);
      else
        g_assert_cmpmem (y1, (gsize) n1 * sizeof (float), y0, (gsize) n0 * sizeof (float));
      imported_free (m);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("hone-onnx-export-XXXXXX", NULL);
  g_test_add_func ("/engine/onnx-export/cnn-s", test_export_cnn_s);
  g_test_add_func ("/engine/onnx-export/defaults", test_export_defaults);
  g_test_add_func ("/engine/onnx-export/ops/conv-pool", test_ops_conv_pool);
  g_test_add_func ("/engine/onnx-export/ops/norm-linear", test_ops_norm_linear);
  g_test_add_func ("/engine/onnx-export/ops/activations", test_ops_activations);
  g_test_add_func ("/engine/onnx-export/ops/binary-shape", test_ops_binary_shape);
  g_test_add_func ("/engine/onnx-export/ops/all", test_ops_all_have_to_onnx);
  g_test_add_func ("/engine/onnx-export/concat-many", test_concat_many);
  g_test_add_func ("/engine/onnx-export/name-clash", test_name_clash);
  g_test_add_func ("/engine/onnx-export/missing-to-onnx", test_missing_to_onnx);
  g_test_add_func ("/engine/onnx-export/write-file", test_write_file);
  g_test_add_func ("/engine/onnx-export/import-again", test_import_again);
  int status = g_test_run ();
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));)
    {
      g_autofree char *p = g_build_filename (tmp_dir, name, NULL);
      g_remove (p);
    }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
