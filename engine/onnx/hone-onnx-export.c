/* hone-onnx-export.c: a HoneGraph as an ONNX ModelProto, and the writer
 * that the ops' to_onnx use (hone-onnx-writer-private.h).
 *
 * Everything the ModelProto points to is owned by the writer (a list of
 * blocks, a string chunk); parameters are not copied on little-endian
 * machines: their initializers point into the graph's arenas until the
 * model is packed.  The ONNX spec this follows: onnx/docs/IR.md (names are
 * SSA, nodes topologically sorted, initializers need not be graph inputs
 * from IR version 4) and onnx/docs/Operators.md at opset 13.
 *
 * This file does not know any op: each op writes itself.  It does not
 * write files either: hone_onnx_model_save (hone-onnx-file.h) does. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "hone-op.h"
#include "onnx/hone-onnx-export.h"
#include "onnx/hone-onnx-file.h"
#include "onnx/hone-onnx-writer-private.h"

/* IR version 7 (ONNX 1.8): the newest that Debian's onnx 1.12 checker and
 * OpenCV 4.6 both accept with opset 13. */
#define HONE_ONNX_EXPORT_IR_VERSION 7

typedef struct
{
  Onnx__NodeProto proto;    /* first: the API hands out &proto */
  GPtrArray *attrs;         /* Onnx__AttributeProto *, owned by the writer's blocks */
} WriterNode;

struct _HoneOnnxWriter
{
  HoneGraph *graph;
  GPtrArray *blocks;        /* g_free'd with the writer */
  GStringChunk *strings;
  GHashTable *value_names;  /* set: every value name handed out */
  GHashTable *node_names;   /* set: every node name handed out */
  GHashTable *scalars;      /* float bits -> name */
  const char **names;       /* per value id: its ONNX name */
  GPtrArray *nodes;         /* WriterNode *, owned */
  GPtrArray *initializers;  /* Onnx__TensorProto *, in blocks */
  int output;               /* the value written as "logits" */
};

static void
writer_node_free (gpointer data)
{
  WriterNode *n = data;
  g_ptr_array_unref (n->attrs);
  g_free (n);
}

static gpointer
writer_alloc (HoneOnnxWriter *w, gsize size)
{
  gpointer p = g_malloc0 (size);
  g_ptr_array_add (w->blocks, p);
  return p;
}

static gpointer
writer_dup (HoneOnnxWriter *w, gconstpointer src, gsize size)
{
  gpointer p = writer_alloc (w, size);
  memcpy (p, src, size);
  return p;
}

/* A new protobuf-c message initialised by its INIT macro. */
#define WRITER_NEW(w, T, INIT) ((T *) writer_dup ((w), &(T) INIT, sizeof (T)))

static char *
writer_str (HoneOnnxWriter *w, const char *s)
{
  return g_string_chunk_insert_const (w->strings, s);
}

static const char *
unique_name (HoneOnnxWriter *w, GHashTable *used, const char *base)
{
  if (!base || !*base)
    base = "v";
  g_autofree char *candidate = g_strdup (base);
  for (int i = 2; g_hash_table_contains (used, candidate); i++)
    {
      g_free (candidate);
      candidate = g_strdup_printf ("%s_%d", base, i);
    }
  char *name = writer_str (w, candidate);
  g_hash_table_add (used, name);
  return name;
}

static HoneOnnxWriter *
writer_new (HoneGraph *graph)
{
  HoneOnnxWriter *w = g_new0 (HoneOnnxWriter, 1);
  w->graph = graph;
  w->blocks = g_ptr_array_new_with_free_func (g_free);
  w->strings = g_string_chunk_new (4096);
  w->value_names = g_hash_table_new (g_str_hash, g_str_equal);
  w->node_names = g_hash_table_new (g_str_hash, g_str_equal);
  w->scalars = g_hash_table_new (g_direct_hash, g_direct_equal);
  w->names = g_new0 (const char *, MAX (1, hone_graph_n_values (graph)));
  w->nodes = g_ptr_array_new_with_free_func (writer_node_free);
  w->initializers = g_ptr_array_new ();
  w->output = -1;
  return w;
}

static void
writer_free (HoneOnnxWriter *w)
{
  if (!w)
    return;
  g_ptr_array_unref (w->initializers);
  g_ptr_array_unref (w->nodes);
  g_free (w->names);
  g_hash_table_unref (w->scalars);
  g_hash_table_unref (w->node_names);
  g_hash_table_unref (w->value_names);
  g_string_chunk_free (w->strings);
  g_ptr_array_unref (w->blocks);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneOnnxWriter, writer_free)

/* ---- the API for to_onnx ------------------------------------------------ */

HoneGraph *
hone_onnx_writer_graph (HoneOnnxWriter *w)
{
  return w->graph;
}

const char *
hone_onnx_writer_input (HoneOnnxWriter *w, const HoneNode *node, int i)
{
  g_assert (i >= 0 && i < node->n_in);
  return w->names[node->in[i]];
}

const char *
hone_onnx_writer_output (HoneOnnxWriter *w, const HoneNode *node, int i)
{
  g_assert (i >= 0 && i < node->n_out);
  return w->names[node->out[i]];
}

int
hone_onnx_writer_input_rank (HoneOnnxWriter *w, const HoneNode *node, int i)
{
  g_assert (i >= 0 && i < node->n_in);
  const HoneValue *v = hone_graph_value (w->graph, node->in[i]);
  gboolean batched = v->kind == HONE_VALUE_INPUT || v->kind == HONE_VALUE_ACTIVATION;
  return v->shape.rank + (batched ? 1 : 0);
}

const char *
hone_onnx_writer_fresh (HoneOnnxWriter *w, const char *base)
{
  return unique_name (w, w->value_names, base);
}

static char **
writer_strv (HoneOnnxWriter *w, const char *const *v, int n)
{
  char **out = writer_alloc (w, sizeof (char *) * (gsize) MAX (n, 1));
  for (int i = 0; i < n; i++)
    out[i] = writer_str (w, v[i] ? v[i] : "");
  return out;
}

Onnx__NodeProto *
hone_onnx_writer_add_node (HoneOnnxWriter *w, const char *op_type, const char *name,
                           const char *const *inputs, int n_in,
                           const char *const *outputs, int n_out)
{
  g_return_val_if_fail (w != NULL && op_type != NULL, NULL);
  g_return_val_if_fail (n_in >= 0 && n_out >= 1, NULL);
  WriterNode *n = g_new0 (WriterNode, 1);
  n->proto = (Onnx__NodeProto) ONNX__NODE_PROTO__INIT;
  n->attrs = g_ptr_array_new ();
  n->proto.op_type = writer_str (w, op_type);
  n->proto.name = (char *) unique_name (w, w->node_names, name ? name : op_type);
  n->proto.n_input = (size_t) n_in;
  n->proto.input = writer_strv (w, inputs, n_in);
  n->proto.n_output = (size_t) n_out;
  n->proto.output = writer_strv (w, outputs, n_out);
  g_ptr_array_add (w->nodes, n);
  return &n->proto;
}

Onnx__NodeProto *
hone_onnx_writer_add_simple (HoneOnnxWriter *w, const HoneNode *node, const char *op_type)
{
  /* Concat can have any number of inputs (DenseNet's have dozens) */
  g_autofree const char **in = g_new (const char *, MAX (node->n_in, 1));
  g_autofree const char **out = g_new (const char *, MAX (node->n_out, 1));
  for (int i = 0; i < node->n_in; i++)
    in[i] = hone_onnx_writer_input (w, node, i);
  for (int i = 0; i < node->n_out; i++)
    out[i] = hone_onnx_writer_output (w, node, i);
  return hone_onnx_writer_add_node (w, op_type, node->name, in, node->n_in, out, node->n_out);
}

void
hone_onnx_writer_pass_through (HoneOnnxWriter *w, const HoneNode *node)
{
  g_assert (node->n_in >= 1 && node->n_out == 1);
  if (node->out[0] == w->output)
    {
      const char *in = hone_onnx_writer_input (w, node, 0);
      const char *out = hone_onnx_writer_output (w, node, 0);
      hone_onnx_writer_add_node (w, "Identity", node->name, &in, 1, &out, 1);
      return;
    }
  w->names[node->out[0]] = w->names[node->in[0]];
}

static Onnx__AttributeProto *
node_attr (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name,
           Onnx__AttributeProto__AttributeType type)
{
  WriterNode *n = (WriterNode *) node;
  Onnx__AttributeProto *a = WRITER_NEW (w, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);
  a->name = writer_str (w, name);
  a->has_type = TRUE;
  a->type = type;
  g_ptr_array_add (n->attrs, a);
  return a;
}

void
hone_onnx_node_set_int (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name, int64_t v)
{
  Onnx__AttributeProto *a = node_attr (w, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = TRUE;
  a->i = v;
}

void
hone_onnx_node_set_float (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name, float v)
{
  Onnx__AttributeProto *a = node_attr (w, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = TRUE;
  a->f = v;
}

void
hone_onnx_node_set_ints (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name,
                         const int64_t *v, int n)
{
  g_return_if_fail (n >= 0);
  Onnx__AttributeProto *a = node_attr (w, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t) n;
  a->ints = writer_dup (w, v, sizeof (int64_t) * (gsize) MAX (n, 1));
}

void
hone_onnx_node_set_string (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name,
                           const char *v)
{
  Onnx__AttributeProto *a = node_attr (w, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = TRUE;
  a->s.data = (guint8 *) writer_str (w, v);
  a->s.len = strlen (v);
}

/* An initializer named `name` (already unique) whose raw data is `bytes`
 * (little-endian, not copied). */
static Onnx__TensorProto *
add_initializer (HoneOnnxWriter *w, const char *name, int32_t type, const int64_t *dims, int rank,
                 gconstpointer bytes, gsize size)
{
  Onnx__TensorProto *t = WRITER_NEW (w, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);
  t->name = (char *) name;
  t->has_data_type = TRUE;
  t->data_type = type;
  t->n_dims = (size_t) rank;
  t->dims = writer_dup (w, dims ? dims : (const int64_t[]) { 0 }, sizeof (int64_t) * (gsize) MAX (rank, 1));
  t->has_raw_data = TRUE;
  t->raw_data.data = (guint8 *) bytes;
  t->raw_data.len = size;
  g_ptr_array_add (w->initializers, t);
  return t;
}

/* count elements of `width` bytes as little-endian bytes: src itself on a
 * little-endian machine, else a swapped copy owned by the writer. */
static gconstpointer
little_endian (HoneOnnxWriter *w, gconstpointer src, gsize count, gsize width, gboolean copy)
{
  gsize size = count * width;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return copy ? writer_dup (w, src, MAX (size, 1)) : src;
#else
  guint8 *dst = writer_alloc (w, MAX (size, 1));
  const guint8 *s = src;
  for (gsize i = 0; i < count; i++)
    for (gsize b = 0; b < width; b++)
      dst[i * width + b] = s[i * width + width - 1 - b];
  return dst;
#endif
}

static gsize
dims_count (const int64_t *dims, int rank)
{
  gsize n = 1;
  for (int i = 0; i < rank; i++)
    n *= (gsize) dims[i];
  return n;
}

const char *
hone_onnx_writer_add_float (HoneOnnxWriter *w, const char *base, const int64_t *dims, int rank,
                            const float *data)
{
  g_return_val_if_fail (rank >= 0 && (rank == 0 || dims != NULL), NULL);
  gsize n = dims_count (dims, rank);
  const char *name = hone_onnx_writer_fresh (w, base);
  add_initializer (w, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims, rank,
                   little_endian (w, data, n, sizeof (float), TRUE), n * sizeof (float));
  return name;
}

const char *
hone_onnx_writer_add_int64 (HoneOnnxWriter *w, const char *base, const int64_t *dims, int rank,
                            const int64_t *data)
{
  g_return_val_if_fail (rank >= 0 && (rank == 0 || dims != NULL), NULL);
  gsize n = dims_count (dims, rank);
  const char *name = hone_onnx_writer_fresh (w, base);
  add_initializer (w, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, dims, rank,
                   little_endian (w, data, n, sizeof (int64_t), TRUE), n * sizeof (int64_t));
  return name;
}

const char *
hone_onnx_writer_scalar (HoneOnnxWriter *w, float v)
{
  guint32 bits;
  memcpy (&bits, &v, sizeof bits);
  const char *name = g_hash_table_lookup (w->scalars, GUINT_TO_POINTER (bits));
  if (name)
    return name;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *base = g_strconcat ("hone.const.", g_ascii_formatd (buf, sizeof buf, "%.9g", v), NULL);
  name = hone_onnx_writer_add_float (w, base, NULL, 0, &v);
  g_hash_table_insert (w->scalars, GUINT_TO_POINTER (bits), (gpointer) name);
  return name;
}

/* ---- the model ---------------------------------------------------------- */

static Onnx__ValueInfoProto *
value_info (HoneOnnxWriter *w, const char *name, const HoneShape *per_sample)
{
  Onnx__TensorShapeProto *shape = WRITER_NEW (w, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
  shape->n_dim = (size_t) per_sample->rank + 1;
  shape->dim = writer_alloc (w, sizeof (Onnx__TensorShapeProto__Dimension *) * shape->n_dim);
  for (int i = 0; i <= per_sample->rank; i++)
    {
      Onnx__TensorShapeProto__Dimension *d = WRITER_NEW (w, Onnx__TensorShapeProto__Dimension,
                                                         ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
      if (i == 0)
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          d->dim_param = writer_str (w, "N");
        }
      else
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          d->dim_value = per_sample->d[i - 1];
        }
      shape->dim[i] = d;
    }
  Onnx__TypeProto__Tensor *tt = WRITER_NEW (w, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
  tt->has_elem_type = TRUE;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = shape;
  Onnx__TypeProto *type = WRITER_NEW (w, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  Onnx__ValueInfoProto *vi = WRITER_NEW (w, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
  vi->name = (char *) name;
  vi->type = type;
  return vi;
}

static void
add_metadata (HoneOnnxWriter *w, GPtrArray *props, const char *key, const char *value)
{
  Onnx__StringStringEntryProto *e = WRITER_NEW (w, Onnx__StringStringEntryProto,
                                                ONNX__STRING_STRING_ENTRY_PROTO__INIT);
  e->key = writer_str (w, key);
  e->value = writer_str (w, value);
  g_ptr_array_add (props, e);
}

static char *
format_floats (const float *v, int n)
{
  GString *s = g_string_new (NULL);
  for (int c = 0; c < n; c++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (s, "%s%s", c ? "," : "", g_ascii_dtostr (buf, sizeof buf, v[c]));
    }
  return g_string_free (s, FALSE);
}

static void
add_model_metadata (HoneOnnxWriter *w, GPtrArray *props, const HoneOnnxExportInfo *info,
                    const HoneShape *in, const HoneShape *out)
{
  int c = info->channels, h = info->height, wd = info->width;
  if (c <= 0 && in->rank == 3)
    c = (int) in->d[0], h = (int) in->d[1], wd = (int) in->d[2];
  if (info->arch)
    add_metadata (w, props, "hone.arch", info->arch);
  if (c > 0 && h > 0 && wd > 0)
    {
      g_autofree char *chw = g_strdup_printf ("%dx%dx%d", c, h, wd);
      add_metadata (w, props, "hone.input", chw);
      if (info->mean && info->std)
        {
          g_autofree char *mean = format_floats (info->mean, MIN (c, 4));
          g_autofree char *std = format_floats (info->std, MIN (c, 4));
          add_metadata (w, props, "hone.mean", mean);
          add_metadata (w, props, "hone.std", std);
        }
    }

  int k = info->n_classes > 0 ? info->n_classes : (out->rank >= 1 ? (int) out->d[out->rank - 1] : 0);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  gboolean named = info->class_names != NULL;    /* until the first NULL */
  for (int i = 0; i < k; i++)
    {
      named = named && info->class_names[i] != NULL;
      if (named)
        json_builder_add_string_value (b, info->class_names[i]);
      else
        {
          g_autofree char *name = g_strdup_printf ("class %d", i);
          json_builder_add_string_value (b, name);
        }
    }
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *classes = json_to_string (root, FALSE);
  add_metadata (w, props, "hone.classes", classes);
}

/* Fills w and returns the model (owned by w), or NULL with error. */
static Onnx__ModelProto *
build_model (HoneOnnxWriter *w, const HoneOnnxExportInfo *info, GError **error)
{
  HoneGraph *g = w->graph;
  int n_values = hone_graph_n_values (g);
  if (hone_graph_n_inputs (g) < 1 || hone_graph_n_outputs (g) < 1)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "the model has %d inputs and %d outputs; ONNX export needs at least one of each",
                   hone_graph_n_inputs (g), hone_graph_n_outputs (g));
      return NULL;
    }

  /* Names: the graph's first input and output are "input" and "logits",
   * every other value keeps its own name unless that is taken. */
  int input = hone_graph_input (g, 0);
  int output = hone_graph_output (g, 0);
  const HoneValue *out_value = hone_graph_value (g, output);
  gboolean output_produced = out_value->kind == HONE_VALUE_ACTIVATION;
  g_hash_table_add (w->value_names, (gpointer) writer_str (w, "input"));
  g_hash_table_add (w->value_names, (gpointer) writer_str (w, "logits"));
  w->names[input] = writer_str (w, "input");
  if (output_produced)
    {
      w->names[output] = writer_str (w, "logits");
      w->output = output;
    }
  for (int id = 0; id < n_values; id++)
    if (!w->names[id])
      w->names[id] = hone_onnx_writer_fresh (w, hone_graph_value (g, id)->name);

  /* The weights, under their names. */
  for (int id = 0; id < n_values; id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM && v->kind != HONE_VALUE_BUFFER && v->kind != HONE_VALUE_CONST)
        continue;
      int64_t n = hone_shape_numel (&v->shape);
      add_initializer (w, w->names[id], ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, v->shape.d, v->shape.rank,
                       little_endian (w, hone_graph_value_data (g, id), (gsize) n, sizeof (float), FALSE),
                       (gsize) n * sizeof (float));
    }

  /* The nodes, each by its own op. */
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    {
      const HoneNode *node = hone_graph_node (g, i);
      if (!node->op->to_onnx)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                       "node '%s' (%s): this op cannot be written to ONNX yet, so the model "
                       "cannot be exported; keep the Hone model file (.safetensors) instead",
                       node->name, node->op->name);
          return NULL;
        }
      GError *local = NULL;
      if (!node->op->to_onnx (node, w, &local))
        {
          g_set_error (error, HONE_ERROR, local->code, "node '%s' (%s): %s", node->name,
                       node->op->name, local->message);
          g_error_free (local);
          return NULL;
        }
    }
  if (!output_produced || g_strcmp0 (w->names[output], "logits") != 0)
    {
      /* an output that no node writes under its name (an input, a weight,
       * or a value a pass-through renamed) */
      const char *from = w->names[output];
      const char *to = "logits";
      hone_onnx_writer_add_node (w, "Identity", "logits", &from, 1, &to, 1);
    }

  /* The graph. */
  Onnx__GraphProto *graph = WRITER_NEW (w, Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
  graph->name = writer_str (w, info->arch ? info->arch : "hone");
  graph->n_node = w->nodes->len;
  graph->node = writer_alloc (w, sizeof (Onnx__NodeProto *) * MAX (w->nodes->len, 1));
  for (guint i = 0; i < w->nodes->len; i++)
    {
      WriterNode *n = g_ptr_array_index (w->nodes, i);
      n->proto.n_attribute = n->attrs->len;
      n->proto.attribute = (Onnx__AttributeProto **) n->attrs->pdata;
      graph->node[i] = &n->proto;
    }
  graph->n_initializer = w->initializers->len;
  graph->initializer = (Onnx__TensorProto **) w->initializers->pdata;

  int n_in = hone_graph_n_inputs (g), n_out = hone_graph_n_outputs (g);
  graph->n_input = (size_t) n_in;
  graph->input = writer_alloc (w, sizeof (Onnx__ValueInfoProto *) * (gsize) n_in);
  for (int i = 0; i < n_in; i++)
    {
      int id = hone_graph_input (g, i);
      graph->input[i] = value_info (w, w->names[id], &hone_graph_value (g, id)->shape);
    }
  graph->n_output = (size_t) n_out;
  graph->output = writer_alloc (w, sizeof (Onnx__ValueInfoProto *) * (gsize) n_out);
  for (int i = 0; i < n_out; i++)
    {
      int id = hone_graph_output (g, i);
      const HoneValue *v = hone_graph_value (g, id);
      HoneShape shape = v->shape;
      if (v->kind != HONE_VALUE_INPUT && v->kind != HONE_VALUE_ACTIVATION)
        {
          /* a weight as output: its full shape, seen as one sample */
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "output '%s' is a weight, not computed from the input; ONNX export needs "
                       "outputs computed from the input", v->name);
          return NULL;
        }
      graph->output[i] = value_info (w, i == 0 ? "logits" : w->names[id], &shape);
    }

  Onnx__ModelProto *model = WRITER_NEW (w, Onnx__ModelProto, ONNX__MODEL_PROTO__INIT);
  model->has_ir_version = TRUE;
  model->ir_version = HONE_ONNX_EXPORT_IR_VERSION;
  model->producer_name = writer_str (w, "Hone");
  model->producer_version = writer_str (w, PACKAGE_VERSION);
  if (info->description)
    model->doc_string = writer_str (w, info->description);
  Onnx__OperatorSetIdProto *opset = WRITER_NEW (w, Onnx__OperatorSetIdProto,
                                                ONNX__OPERATOR_SET_ID_PROTO__INIT);
  opset->domain = writer_str (w, "");
  opset->has_version = TRUE;
  opset->version = HONE_ONNX_EXPORT_OPSET;
  model->n_opset_import = 1;
  model->opset_import = writer_dup (w, &opset, sizeof opset);
  model->graph = graph;

  GPtrArray *props = g_ptr_array_new ();
  add_model_metadata (w, props, info, &hone_graph_value (g, input)->shape, &out_value->shape);
  model->n_metadata_props = props->len;
  model->metadata_props = writer_dup (w, props->pdata, sizeof (gpointer) * MAX (props->len, 1));
  g_ptr_array_unref (props);
  return model;
}

static const HoneOnnxExportInfo no_info = { 0 };

static GBytes *
pack_model (Onnx__ModelProto *model, GError **error)
{
  gsize size = protobuf_c_message_get_packed_size (&model->base);
  if (size > G_MAXINT32)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "the model needs %" G_GSIZE_FORMAT " bytes, more than the 2 GiB a single ONNX "
                   "file can hold", size);
      return NULL;
    }
  guint8 *data = g_malloc (MAX (size, 1));
  protobuf_c_message_pack (&model->base, data);
  return g_bytes_new_take (data, size);
}

GBytes *
hone_onnx_export_to_bytes (HoneGraph *graph, const HoneOnnxExportInfo *info, GError **error)
{
  g_return_val_if_fail (graph != NULL, NULL);
  g_autoptr (HoneOnnxWriter) w = writer_new (graph);
  Onnx__ModelProto *model = build_model (w, info ? info : &no_info, error);
  return model ? pack_model (model, error) : NULL;
}

gboolean
hone_onnx_export_graph (HoneGraph *graph, const HoneOnnxExportInfo *info, const char *path,
                        GError **error)
{
  g_return_val_if_fail (graph != NULL && path != NULL, FALSE);
  g_autoptr (HoneOnnxWriter) w = writer_new (graph);
  GError *local = NULL;
  Onnx__ModelProto *model = build_model (w, info ? info : &no_info, &local);
  if (!model)
    {
      g_set_error (error, HONE_ERROR, local->code, "cannot export %s: %s", path, local->message);
      g_error_free (local);
      return FALSE;
    }
  return hone_onnx_model_save (model, path, error);
}

gboolean
hone_onnx_export (const HoneModel *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && model->graph != NULL && path != NULL, FALSE);
  HoneOnnxExportInfo info = {
    .arch = model->arch,
    .description = model->description,
    .class_names = (const char *const *) model->class_names,
    .n_classes = model->n_classes,
    .channels = model->channels,
    .height = model->height,
    .width = model->width,
    .mean = model->mean,
    .std = model->std,
  };
  return hone_onnx_export_graph (model->graph, &info, path, error);
}
