/* hone-onnx-import.c: an ONNX image classifier as a HoneModel.
 *
 * Walks the graph once in file order (ONNX requires a topological order):
 * every node whose inputs are all known is computed here and now
 * (hone-onnx-fold.c), every other one becomes Hone ops (hone-onnx-nodes.c).
 * Before the walk it reads what the walk needs to know ahead: the module
 * path of every node (torch writes "/layer1/layer1.0/conv1/Conv"), hence
 * layer and block names, and the classifier head, so that a replaced head
 * is built directly with its new parameters.  After the walk it fills the
 * HoneModel: input, normalisation and class names from metadata_props (or
 * ImageNet's defaults), the head's parameters and a description.
 *
 * Layer names: the node's module path ("layer1.0.conv1"); a node of a
 * module that contains other modules (the residual Add of a BasicBlock)
 * appends its op type ("layer1.0.add").  Blocks: the top-level module
 * ("inception3a"), split by its children where it is a Sequential of
 * composite modules or holds most of the network ("layer1.0",
 * "features.3", "features.denseblock1"); single layers outside such a
 * module join the block before them, or "stem" at the start; the classifier
 * and the pooling, flattening and dropout next to it form "head".
 *
 * This file does not open files (hone-onnx-file.c does, hostile-safe) and
 * does not write ONNX. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "onnx/hone-onnx.h"
#include "onnx/hone-onnx-private.h"

static const char *metadata (const Onnx__ModelProto *mp, const char *key);
static char **parse_classes (const char *s, int n);

/* ---- values ------------------------------------------------------------- */

OnnxVal *
onnx_val_new_known (const char *name, const HoneShape *shape, gboolean is_int)
{
  OnnxVal *v = g_new0 (OnnxVal, 1);
  v->name = g_strdup (name);
  v->id = -1;
  v->known = TRUE;
  v->shape = *shape;
  v->v = g_new0 (double, MAX (hone_shape_numel (shape), 1));
  v->is_int = is_int;
  return v;
}

void
onnx_val_free (OnnxVal *v)
{
  if (!v)
    return;
  g_free (v->name);
  g_free (v->v);
  g_free (v->batch);
  g_free (v);
}

void
onnx_import_set (OnnxImport *imp, OnnxVal *v)
{
  g_hash_table_replace (imp->vals, v->name, v);
}

OnnxVal *
onnx_import_get (OnnxImport *imp, const char *name)
{
  return g_hash_table_lookup (imp->vals, name);
}

HoneShape
onnx_import_shape (OnnxImport *imp, const OnnxVal *v)
{
  if (v->known)
    return v->shape;
  const HoneValue *hv = hone_graph_value (imp->g, v->id);
  if (hv->kind == HONE_VALUE_INPUT || hv->kind == HONE_VALUE_ACTIVATION)
    return hone_shape_with_batch (&hv->shape, imp->static_batch);
  return hv->shape;
}

int64_t *
onnx_val_ints (const OnnxVal *v)
{
  int64_t n = hone_shape_numel (&v->shape);
  int64_t *out = g_new0 (int64_t, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    {
      double x = v->v[i];
      if (x >= 9.2e18)
        out[i] = G_MAXINT64;
      else if (x <= -9.2e18)
        out[i] = G_MININT64;
      else if (isnan (x))
        out[i] = 0;
      else
        out[i] = (int64_t) x;
    }
  return out;
}

float *
onnx_val_floats (const OnnxVal *v)
{
  int64_t n = hone_shape_numel (&v->shape);
  float *out = g_new0 (float, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    out[i] = (float) v->v[i];
  return out;
}

static void
replace_str (char **p, const char *s)
{
  char *copy = g_strdup (s);
  g_free (*p);
  *p = copy;
}

static gboolean
name_taken (OnnxImport *imp, const char *name)
{
  return hone_graph_find (imp->g, name) >= 0 || g_hash_table_contains (imp->vals, name);
}

int
onnx_import_value (OnnxImport *imp, OnnxVal *v, HoneValueKind kind, const char *role,
                   GError **error)
{
  if (v->id >= 0)
    return v->id;
  g_assert (v->known);

  /* torch names folded tensors "onnx::Conv_193": name them after the layer
   * that uses them ("layer1.0.conv1.weight") when that name is free. */
  g_autofree char *name = g_strdup (v->name);
  if (role && (g_str_has_prefix (v->name, "onnx::") || v->name[0] == '\0')
      && imp->node && imp->layer && imp->layer[imp->node_index][0] != '\0')
    {
      g_autofree char *nice = g_strdup_printf ("%s.%s", imp->layer[imp->node_index], role);
      if (!name_taken (imp, nice))
        replace_str (&name, nice);
    }
  if (hone_graph_find (imp->g, name) >= 0)
    {
      for (int k = 1;; k++)
        {
          g_autofree char *alt = g_strdup_printf ("%s_%d", v->name, k);
          if (!name_taken (imp, alt))
            {
              replace_str (&name, alt);
              break;
            }
        }
    }

  g_autofree float *data = onnx_val_floats (v);
  int id;
  switch (kind)
    {
    case HONE_VALUE_PARAM:
      id = hone_graph_add_param (imp->g, name, &v->shape, error);
      if (id >= 0)
        memcpy (hone_graph_value_data (imp->g, id), data,
                sizeof (float) * hone_shape_numel (&v->shape));
      break;
    case HONE_VALUE_BUFFER:
      id = hone_graph_add_buffer (imp->g, name, &v->shape, 0.0f, error);
      if (id >= 0)
        memcpy (hone_graph_value_data (imp->g, id), data,
                sizeof (float) * hone_shape_numel (&v->shape));
      break;
    default:
      id = hone_graph_add_const (imp->g, name, &v->shape, data, error);
      break;
    }
  if (id < 0)
    {
      g_prefix_error (error, "initializer '%s': ", v->name);
      return -1;
    }
  v->id = id;
  return id;
}

/* ---- attributes ------------------------------------------------------------ */

const Onnx__AttributeProto *
onnx_attr (const Onnx__NodeProto *n, const char *name)
{
  for (size_t i = 0; i < n->n_attribute; i++)
    if (n->attribute[i]->name && strcmp (n->attribute[i]->name, name) == 0)
      return n->attribute[i];
  return NULL;
}

int64_t
onnx_attr_int (const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
  const Onnx__AttributeProto *a = onnx_attr (n, name);
  return a ? a->i : dflt;
}

float
onnx_attr_float (const Onnx__NodeProto *n, const char *name, float dflt)
{
  const Onnx__AttributeProto *a = onnx_attr (n, name);
  return a ? a->f : dflt;
}

char *
onnx_attr_string (const Onnx__NodeProto *n, const char *name)
{
  const Onnx__AttributeProto *a = onnx_attr (n, name);
  if (!a || !a->has_s)
    return NULL;
  /* bytes, not NUL-terminated */
  return g_strndup ((const char *) a->s.data, a->s.len);
}

int
onnx_attr_ints (const Onnx__NodeProto *n, const char *name, const int64_t **ints)
{
  const Onnx__AttributeProto *a = onnx_attr (n, name);
  if (!a)
    return -1;
  *ints = a->ints;
  return (int) MIN (a->n_ints, (size_t) G_MAXINT);
}

void
onnx_node_error (GError **error, int code, const Onnx__NodeProto *n, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  const char *name = n->name && n->name[0] ? n->name : (n->n_output ? n->output[0] : "");
  g_set_error (error, HONE_ERROR, code, "node '%s' (%s): %s", name, n->op_type, msg);
}

void
onnx_init_uniform (float *data, int64_t n, int64_t fan_in, HoneRng *rng)
{
  /* torch.nn.Linear / Conv2d reset_parameters: kaiming_uniform_ with
   * a = sqrt(5) gives bound 1/sqrt(fan_in) for the weight, and the bias is
   * uniform in the same bound. */
  float bound = fan_in > 0 ? 1.0f / sqrtf ((float) fan_in) : 0.0f;
  for (int64_t i = 0; i < n; i++)
    data[i] = (2.0f * hone_rng_uniform (rng) - 1.0f) * bound;
}

/* ---- names and blocks ------------------------------------------------------ */

/* "/layer1/layer1.0/conv1/Conv" -> "layer1.0.conv1"; "" when the name does
 * not look like torch's scope names. */
static char *
module_path (const char *node_name)
{
  if (!node_name || node_name[0] != '/')
    return g_strdup ("");
  g_auto (GStrv) segs = g_strsplit (node_name + 1, "/", -1);
  guint n = g_strv_length (segs);
  /* torch 1.13 writes each module's name as its parent knows it: a child of
   * a Sequential or ModuleList repeats the container's own segment
   * ("layer2", "layer2.0"; "downsample", "downsample.0"), a plain attribute
   * does not ("conv1"). */
  GString *path = g_string_new ("");
  gsize base = 0;             /* where the last segment starts in path */
  const char *last = "";
  for (guint i = 0; i + 1 < n; i++)
    {
      const char *s = segs[i];
      if (s[0] == '\0')
        continue;
      gsize ll = strlen (last);
      if (ll > 0 && strncmp (s, last, ll) == 0 && s[ll] == '.')
        g_string_truncate (path, base);
      else if (path->len > 0)
        g_string_append_c (path, '.');
      base = path->len;
      g_string_append (path, s);
      last = s;
    }
  return g_string_free (path, FALSE);
}

static gboolean
is_number (const char *s)
{
  if (!s || !*s)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static void
assign_names (OnnxImport *imp, const gboolean *in_head)
{
  const Onnx__GraphProto *gp = imp->gp;
  int nn = (int) gp->n_node;
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) composite = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) top_count = g_hash_table_new (g_str_hash, g_str_equal);
  /* top-level module -> set of its composite children */
  g_autoptr (GHashTable) top_children = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                               (GDestroyNotify) g_hash_table_unref);
  g_autoptr (GStringChunk) chunk = g_string_chunk_new (4096);

  for (int i = 0; i < nn; i++)
    {
      char *p = module_path (gp->node[i]->name);
      g_ptr_array_add (paths, p);
      if (!*p)
        continue;
      g_auto (GStrv) segs = g_strsplit (p, ".", -1);
      guint ns = g_strv_length (segs);
      GString *prefix = g_string_new ("");
      for (guint k = 0; k + 1 < ns; k++)
        {
          if (k)
            g_string_append_c (prefix, '.');
          g_string_append (prefix, segs[k]);
          g_hash_table_add (composite, g_string_chunk_insert_const (chunk, prefix->str));
        }
      g_string_free (prefix, TRUE);
      char *top = g_string_chunk_insert_const (chunk, segs[0]);
      g_hash_table_insert (top_count, top,
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (top_count, top)) + 1));
      if (ns >= 3)
        {
          GHashTable *ch = g_hash_table_lookup (top_children, top);
          if (!ch)
            {
              ch = g_hash_table_new (g_str_hash, g_str_equal);
              g_hash_table_insert (top_children, top, ch);
            }
          g_hash_table_add (ch, g_string_chunk_insert_const (chunk, segs[1]));
        }
    }

  const char *prev = "stem";
  for (int i = 0; i < nn; i++)
    {
      const Onnx__NodeProto *n = gp->node[i];
      const char *p = paths->pdata[i];
      if (!*p && n->name && n->name[0] == '/' && !strchr (n->name + 1, '/'))
        imp->layer[i] = g_ascii_strdown (n->op_type, -1);   /* torch's "/Flatten": "flatten" */
      else if (!*p)
        imp->layer[i] = g_strdup (n->name && n->name[0] ? n->name
                                  : n->n_output ? n->output[0] : n->op_type);
      else if (g_hash_table_contains (composite, p))
        {
          g_autofree char *op = g_ascii_strdown (n->op_type, -1);
          imp->layer[i] = g_strdup_printf ("%s.%s", p, op);
        }
      else
        imp->layer[i] = g_strdup (p);

      if (in_head[i])
        {
          imp->block[i] = g_strdup ("head");
          continue;
        }
      char *block = NULL;
      if (*p)
        {
          g_auto (GStrv) segs = g_strsplit (p, ".", -1);
          GHashTable *ch = g_hash_table_lookup (top_children, segs[0]);
          gboolean split = FALSE;
          if (ch && g_hash_table_size (ch) >= 2)
            {
              gboolean numeric = TRUE;
              GHashTableIter it;
              gpointer key;
              g_hash_table_iter_init (&it, ch);
              while (g_hash_table_iter_next (&it, &key, NULL))
                numeric &= is_number (key);
              guint count = GPOINTER_TO_UINT (g_hash_table_lookup (top_count, segs[0]));
              split = numeric || count * 2 > (guint) nn;
            }
          if (split && segs[1])
            {
              g_autofree char *child = g_strdup_printf ("%s.%s", segs[0], segs[1]);
              if (g_hash_table_contains (composite, child))
                block = g_steal_pointer (&child);
            }
          else if (!split && g_hash_table_contains (composite, segs[0]))
            block = g_strdup (segs[0]);
        }
      if (!block)
        block = g_strdup (prev);
      imp->block[i] = block;
      prev = block;
    }
}

/* ---- the head ---------------------------------------------------------------- */

static int
producer_of (const Onnx__GraphProto *gp, const char *name, int before)
{
  for (int i = MIN (before, (int) gp->n_node) - 1; i >= 0; i--)
    for (size_t o = 0; o < gp->node[i]->n_output; o++)
      if (strcmp (gp->node[i]->output[o], name) == 0)
        return i;
  return -1;
}

static gboolean
is_init (OnnxImport *imp, const char *name)
{
  OnnxVal *v = onnx_import_get (imp, name);
  return v && v->known && v->initializer;
}

/* Walks back from the graph's first output through pooling, flattening,
 * dropout and reshapes to the classifier: a Gemm, a MatMul (+ Add), or a
 * 1x1 Conv (SqueezeNet).  Marks the nodes of the head in in_head. */
static void
find_head (OnnxImport *imp, gboolean *in_head, gboolean *after_head)
{
  const Onnx__GraphProto *gp = imp->gp;
  imp->head_node = imp->head_bias_node = -1;
  if (gp->n_output < 1)
    return;
  static const char *const pass[] = { "Flatten", "Reshape", "Dropout", "Identity", "Squeeze",
                                      "GlobalAveragePool", "AveragePool", "ReduceMean", "Relu",
                                      NULL };
  GArray *chain = g_array_new (FALSE, FALSE, sizeof (int));
  int n = producer_of (gp, gp->output[0]->name, gp->n_node);
  while (n >= 0 && gp->node[n]->n_input >= 1 && g_strv_contains (pass, gp->node[n]->op_type))
    {
      g_array_append_val (chain, n);
      n = producer_of (gp, gp->node[n]->input[0], n);
    }
  if (n < 0)
    goto out;
  const Onnx__NodeProto *node = gp->node[n];
  const Onnx__NodeProto *w = NULL;

  if (strcmp (node->op_type, "Gemm") == 0 && node->n_input >= 2 && is_init (imp, node->input[1]))
    {
      imp->head_node = n;
      OnnxVal *b = onnx_import_get (imp, node->input[1]);
      gboolean tb = onnx_attr_int (node, "transB", 0) != 0;
      if (b->shape.rank == 2)
        imp->head_classes = (int) b->shape.d[tb ? 0 : 1];
    }
  else if (strcmp (node->op_type, "Add") == 0 && node->n_input == 2)
    {
      for (int k = 0; k < 2; k++)
        {
          int m = producer_of (gp, node->input[k], n);
          if (m >= 0 && strcmp (gp->node[m]->op_type, "MatMul") == 0
              && is_init (imp, node->input[1 - k]) && gp->node[m]->n_input == 2
              && is_init (imp, gp->node[m]->input[1]))
            {
              imp->head_node = m;
              imp->head_bias_node = n;
              w = gp->node[m];
              break;
            }
        }
    }
  else if (strcmp (node->op_type, "MatMul") == 0 && node->n_input == 2
           && is_init (imp, node->input[1]))
    {
      imp->head_node = n;
      w = node;
    }
  else if (strcmp (node->op_type, "Conv") == 0 && node->n_input >= 2
           && is_init (imp, node->input[1]) && chain->len > 0)
    {
      OnnxVal *wv = onnx_import_get (imp, node->input[1]);
      if (wv->shape.rank == 4 && wv->shape.d[2] == 1 && wv->shape.d[3] == 1
          && onnx_attr_int (node, "group", 1) == 1)
        {
          imp->head_node = n;
          imp->head_classes = (int) wv->shape.d[0];
        }
    }
  if (w)
    {
      OnnxVal *b = onnx_import_get (imp, w->input[1]);
      if (b->shape.rank == 2)
        imp->head_classes = (int) b->shape.d[1];
      else
        imp->head_node = imp->head_bias_node = -1;
    }
  if (imp->head_node < 0)
    goto out;

  for (guint i = 0; i < chain->len; i++)
    in_head[g_array_index (chain, int, i)] = after_head[g_array_index (chain, int, i)] = TRUE;
  in_head[imp->head_node] = TRUE;
  if (imp->head_bias_node >= 0)
    in_head[imp->head_bias_node] = TRUE;
  /* Before the classifier: the pooling, flattening and dropout feeding it. */
  static const char *const pre[] = { "Flatten", "Reshape", "Dropout", "Identity", "Squeeze",
                                     "GlobalAveragePool", "ReduceMean", NULL };
  int m = producer_of (gp, gp->node[imp->head_node]->input[0], imp->head_node);
  while (m >= 0 && gp->node[m]->n_input >= 1 && g_strv_contains (pre, gp->node[m]->op_type))
    {
      in_head[m] = TRUE;
      m = producer_of (gp, gp->node[m]->input[0], m);
    }
out:
  g_array_free (chain, TRUE);
}

/* ---- the walk ------------------------------------------------------------------ */

static gboolean
read_initializer (OnnxImport *imp, const Onnx__TensorProto *t, GError **error)
{
  gboolean is_int = t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
  HoneShape shape;
  OnnxVal *v;
  if (is_int)
    {
      g_autofree int64_t *data = NULL;
      if (!hone_onnx_tensor_int64 (imp->file, t, &shape, &data, error))
        return FALSE;
      v = onnx_val_new_known (t->name ? t->name : "", &shape, TRUE);
      for (int64_t i = 0; i < hone_shape_numel (&shape); i++)
        v->v[i] = (double) data[i];
    }
  else
    {
      g_autofree float *data = NULL;
      if (!hone_onnx_tensor_float (imp->file, t, &shape, &data, error))
        return FALSE;
      v = onnx_val_new_known (t->name ? t->name : "", &shape, FALSE);
      for (int64_t i = 0; i < hone_shape_numel (&shape); i++)
        v->v[i] = data[i];
    }
  v->initializer = TRUE;
  onnx_import_set (imp, v);
  return TRUE;
}

/* Every op type the graph uses that Hone does not import, in one error.
 * Ops Hone only computes at import (Gather, Cast, ...) count as unsupported
 * where their inputs depend on the model's input. */
static gboolean
check_ops (OnnxImport *imp, const OnnxImportOptions *opts, GError **error)
{
  const Onnx__GraphProto *gp = imp->gp;
  g_autoptr (GHashTable) count = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) first = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  for (size_t i = 0; i < gp->n_initializer; i++)
    if (gp->initializer[i]->name)
      g_hash_table_add (known, gp->initializer[i]->name);
  if (opts->known_inputs)
    {
      GHashTableIter it;
      gpointer key;
      g_hash_table_iter_init (&it, opts->known_inputs);
      while (g_hash_table_iter_next (&it, &key, NULL))
        g_hash_table_add (known, key);
    }
  for (size_t i = 0; i < gp->n_node; i++)
    {
      const Onnx__NodeProto *n = gp->node[i];
      gboolean std_domain = !n->domain || !n->domain[0] || strcmp (n->domain, "ai.onnx") == 0;
      gboolean all_known = TRUE;
      for (size_t k = 0; k < n->n_input; k++)
        if (n->input[k] && n->input[k][0] && !g_hash_table_contains (known, n->input[k]))
          all_known = FALSE;
      gboolean folds = std_domain && onnx_fold_func (n->op_type)
        && (all_known || strcmp (n->op_type, "Shape") == 0);
      if (folds)
        for (size_t k = 0; k < n->n_output; k++)
          if (n->output[k])
            g_hash_table_add (known, n->output[k]);
      if (folds || (std_domain && onnx_node_func (n->op_type)))
        continue;
      g_autofree char *key = std_domain ? g_strdup (n->op_type)
        : g_strdup_printf ("%s.%s", n->domain, n->op_type);
      const char *k = g_intern_string (key);
      if (!g_hash_table_contains (count, k))
        {
          g_ptr_array_add (order, (gpointer) k);
          g_hash_table_insert (first, (gpointer) k,
                               (gpointer) (n->name && n->name[0] ? n->name
                                           : n->n_output ? n->output[0] : ""));
        }
      g_hash_table_insert (count, (gpointer) k,
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (count, k)) + 1));
    }
  if (order->len == 0)
    return TRUE;
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < order->len; i++)
    {
      const char *k = order->pdata[i];
      guint c = GPOINTER_TO_UINT (g_hash_table_lookup (count, k));
      g_string_append_printf (s, "%s%s (%u node%s, first '%s')", i ? ", " : "", k, c,
                              c == 1 ? "" : "s", (const char *) g_hash_table_lookup (first, k));
    }
  g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
               "%s: %u operator type%s at opset %d %s not supported by Hone: %s; "
               "export the model with supported operators or another opset",
               hone_onnx_file_path (imp->file), order->len, order->len == 1 ? "" : "s",
               imp->opset, order->len == 1 ? "is" : "are", s->str);
  g_string_free (s, TRUE);
  return FALSE;
}

static gboolean
add_inputs (OnnxImport *imp, const OnnxImportOptions *opts, GError **error)
{
  const Onnx__GraphProto *gp = imp->gp;
  const char *path = hone_onnx_file_path (imp->file);
  int added = 0;
  for (size_t i = 0; i < gp->n_input; i++)
    {
      const Onnx__ValueInfoProto *in = gp->input[i];
      if (!in->name || g_hash_table_contains (imp->vals, in->name))
        continue;   /* opsets before 9 list initializers as inputs too */
      OnnxVal *kv = opts->known_inputs ? g_hash_table_lookup (opts->known_inputs, in->name) : NULL;
      if (kv)
        {
          OnnxVal *v = onnx_val_new_known (in->name, &kv->shape, kv->is_int);
          memcpy (v->v, kv->v, sizeof (double) * hone_shape_numel (&kv->shape));
          v->initializer = kv->initializer;
          onnx_import_set (imp, v);
          continue;
        }
      const Onnx__TypeProto *t = in->type;
      if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type
          || !t->tensor_type->shape)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                       "%s: input '%s' is not a tensor of known rank; Hone needs an image "
                       "input (batch, channels, height, width)", path, in->name);
          return FALSE;
        }
      const Onnx__TensorShapeProto *sp = t->tensor_type->shape;
      if (sp->n_dim < 1 || sp->n_dim > HONE_MAX_RANK)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                       "%s: input '%s' has %zu dimensions; Hone needs the batch first and at "
                       "most %d in all", path, in->name, sp->n_dim, HONE_MAX_RANK);
          return FALSE;
        }
      if (t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                       "%s: input '%s' has element type %d; Hone feeds float32 images",
                       path, in->name, (int) t->tensor_type->elem_type);
          return FALSE;
        }
      HoneShape ps = { .rank = (int) sp->n_dim - 1 };
      for (size_t k = 0; k < sp->n_dim; k++)
        {
          const Onnx__TensorShapeProto__Dimension *d = sp->dim[k];
          gboolean has = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          if (k == 0)
            {
              if (added == 0)
                imp->static_batch = has && d->dim_value > 0 ? d->dim_value : 1;
              continue;
            }
          if (!has || d->dim_value < 1 || d->dim_value > (1 << 20))
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                           "%s: input '%s' has no fixed size in dimension %zu; only the first "
                           "(batch) dimension may be symbolic: export with a fixed image size",
                           path, in->name, k);
              return FALSE;
            }
          ps.d[k - 1] = d->dim_value;
        }
      if (added == 0 && ps.rank == 3)
        {
          if (opts->height > 0)
            ps.d[1] = opts->height;
          if (opts->width > 0)
            ps.d[2] = opts->width;
        }
      int id = hone_graph_add_input (imp->g, in->name, &ps, error);
      if (id < 0)
        return FALSE;
      OnnxVal *v = g_new0 (OnnxVal, 1);
      v->name = g_strdup (in->name);
      v->id = id;
      onnx_import_set (imp, v);
      added++;
    }
  if (added == 0 && !opts->allow_known_outputs)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "%s: the graph has no input besides its initializers", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_nodes (OnnxImport *imp, GError **error)
{
  const Onnx__GraphProto *gp = imp->gp;
  for (size_t i = 0; i < gp->n_node; i++)
    {
      if (imp->done[i])
        continue;
      const Onnx__NodeProto *n = gp->node[i];
      imp->node = n;
      imp->node_index = (int) i;
      hone_graph_set_block (imp->g, imp->block[i]);

      OnnxVal **in = g_newa (OnnxVal *, MAX (n->n_input, 1));
      gboolean all_known = TRUE;
      for (size_t k = 0; k < n->n_input; k++)
        {
          if (!n->input[k] || !n->input[k][0])
            {
              in[k] = NULL;
              continue;
            }
          in[k] = onnx_import_get (imp, n->input[k]);
          if (!in[k])
            {
              onnx_node_error (error, HONE_ERROR_FORMAT, n, "input '%s' is produced by no "
                               "earlier node, initializer or graph input", n->input[k]);
              return FALSE;
            }
          all_known &= in[k]->known;
        }
      OnnxNodeFunc fold = onnx_fold_func (n->op_type);
      OnnxNodeFunc add = onnx_node_func (n->op_type);
      gboolean ok;
      if (fold && (all_known || strcmp (n->op_type, "Shape") == 0 || !add))
        ok = fold (imp, n, in, (int) n->n_input, error);
      else if (add)
        ok = add (imp, n, in, (int) n->n_input, error);
      else
        {
          onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "is not supported by Hone");
          ok = FALSE;
        }
      if (!ok)
        return FALSE;
    }
  imp->node = NULL;
  return TRUE;
}

void
onnx_import_free (OnnxImport *imp)
{
  if (!imp)
    return;
  hone_graph_free (imp->g);
  g_hash_table_unref (imp->vals);
  if (imp->consumers)
    g_hash_table_unref (imp->consumers);
  if (imp->conv_pads)
    g_hash_table_unref (imp->conv_pads);
  if (imp->layer)
    for (size_t i = 0; i < imp->gp->n_node; i++)
      g_free (imp->layer[i]), g_free (imp->block[i]);
  g_free (imp->layer);
  g_free (imp->block);
  g_free (imp->done);
  g_free (imp->after_head);
  if (imp->head_params)
    g_ptr_array_unref (imp->head_params);
  g_free (imp);
}

HoneGraph *
onnx_import_take_graph (OnnxImport *imp)
{
  return g_steal_pointer (&imp->g);
}

OnnxImport *
onnx_import_graph (const HoneOnnxFile *file, const OnnxImportOptions *opts, GError **error)
{
  const Onnx__ModelProto *mp = hone_onnx_file_model (file);
  const char *path = hone_onnx_file_path (file);
  if (!mp->graph)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s: the model has no graph", path);
      return NULL;
    }
  OnnxImport *imp = g_new0 (OnnxImport, 1);
  imp->file = file;
  imp->gp = mp->graph;
  imp->g = hone_graph_new ();
  imp->opset = (int) hone_onnx_file_opset (file);
  imp->vals = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) onnx_val_free);
  imp->consumers = g_hash_table_new (g_str_hash, g_str_equal);
  imp->conv_pads = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  imp->static_batch = 1;
  imp->head_node = imp->head_bias_node = -1;
  imp->seed = opts->seed;
  imp->dropout = opts->dropout;
  imp->head_params = g_ptr_array_new_with_free_func (g_free);
  size_t nn = imp->gp->n_node;
  imp->done = g_new0 (gboolean, MAX (nn, 1));
  imp->after_head = g_new0 (gboolean, MAX (nn, 1));
  imp->layer = g_new0 (char *, MAX (nn, 1));
  imp->block = g_new0 (char *, MAX (nn, 1));

  if (imp->opset < 7 || imp->opset > 17)
    {
      if (imp->opset == 0)
        g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                     "%s: the model imports no opset of the default ONNX domain", path);
      else
        g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                     "%s: opset %d is not supported; Hone imports opsets 7 to 17 (convert the "
                     "model with onnx.version_converter or export it again)", path, imp->opset);
      goto fail;
    }
  if (!check_ops (imp, opts, error))
    goto fail;
  for (size_t i = 0; i < imp->gp->n_initializer; i++)
    if (!read_initializer (imp, imp->gp->initializer[i], error))
      goto fail;
  for (size_t i = 0; i < nn; i++)
    for (size_t k = 0; k < imp->gp->node[i]->n_input; k++)
      {
        const char *s = imp->gp->node[i]->input[k];
        if (s && s[0])
          g_hash_table_insert (imp->consumers, (gpointer) s,
                               GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (imp->consumers, s)) + 1));
      }
  if (!add_inputs (imp, opts, error))
    goto fail;

  {
    g_autofree gboolean *in_head = g_new0 (gboolean, MAX (nn, 1));
    find_head (imp, in_head, imp->after_head);
    assign_names (imp, in_head);
    if ((opts->classes > 0 || opts->replace_head) && imp->head_node < 0)
      {
        g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                     "%s: no classifier head found (a Gemm, a MatMul with an Add, or a 1x1 "
                     "Conv before global pooling, feeding the output '%s'), so it cannot be "
                     "replaced; keep the model's own classes",
                     path, imp->gp->n_output ? imp->gp->output[0]->name : "");
        goto fail;
      }
    g_auto (GStrv) own = parse_classes (metadata (mp, "hone.classes"), imp->head_classes);
    if ((opts->classes > 0 && opts->classes != imp->head_classes) || opts->replace_head
        || !hone_model_classes_fit ((const char *const *) own, opts->class_names))
      imp->new_classes = opts->classes > 0 ? opts->classes : imp->head_classes;
  }

  if (!run_nodes (imp, error))
    goto fail;

  if (imp->gp->n_output < 1)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s: the graph has no output", path);
      goto fail;
    }
  for (size_t i = 0; i < imp->gp->n_output; i++)
    {
      OnnxVal *v = onnx_import_get (imp, imp->gp->output[i]->name);
      if (!v)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                       "%s: output '%s' is produced by no node", path, imp->gp->output[i]->name);
          goto fail;
        }
      if (v->known && opts->allow_known_outputs)
        continue;
      if (v->id < 0 || !(hone_graph_value (imp->g, v->id)->kind == HONE_VALUE_ACTIVATION
                         || hone_graph_value (imp->g, v->id)->kind == HONE_VALUE_INPUT))
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                       "%s: output '%s' does not depend on the input", path,
                       imp->gp->output[i]->name);
          goto fail;
        }
      hone_graph_add_output (imp->g, v->id);
    }
  hone_graph_set_block (imp->g, "");
  return imp;

fail:
  onnx_import_free (imp);
  return NULL;
}

/* ---- the model ------------------------------------------------------------------ */

static const char *
metadata (const Onnx__ModelProto *mp, const char *key)
{
  for (size_t i = 0; i < mp->n_metadata_props; i++)
    if (mp->metadata_props[i]->key && strcmp (mp->metadata_props[i]->key, key) == 0)
      return mp->metadata_props[i]->value;
  return NULL;
}

/* "0.485,0.456,0.406" -> n floats; FALSE unless exactly n finite numbers. */
static gboolean
parse_floats (const char *s, float *out, int n)
{
  if (!s)
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (s, ",", -1);
  if ((int) g_strv_length (parts) != n)
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      char *end;
      g_strstrip (parts[i]);
      double v = g_ascii_strtod (parts[i], &end);
      if (end == parts[i] || *end || !isfinite (v))
        return FALSE;
      out[i] = (float) v;
    }
  return TRUE;
}

static char **
parse_classes (const char *s, int n)
{
  if (!s)
    return NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, s, -1, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root))
    return NULL;
  JsonArray *a = json_node_get_array (root);
  if ((int) json_array_get_length (a) != n)
    return NULL;
  char **names = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_strfreev (names);
          return NULL;
        }
      names[i] = g_strdup (json_node_get_string (e));
    }
  return names;
}

HoneModel *
hone_onnx_import_file (const HoneOnnxFile *file, const HoneModelOptions *opts, GError **error)
{
  g_return_val_if_fail (file != NULL, NULL);
  /* as hone_model_options_init */
  static const HoneModelOptions defaults = { .dropout = -1.0 };
  if (!opts)
    opts = &defaults;
  const char *path = hone_onnx_file_path (file);
  const Onnx__ModelProto *mp = hone_onnx_file_model (file);

  OnnxImportOptions io = {
    .height = opts->height,
    .width = opts->width,
    .seed = opts->seed,
    .dropout = opts->dropout,
    .classes = opts->classes,
    .replace_head = opts->replace_head,
    .class_names = opts->class_names,
  };
  OnnxImport *imp = onnx_import_graph (file, &io, error);
  if (!imp)
    return NULL;
  gboolean replace = imp->new_classes > 0;

  HoneGraph *g = imp->g;
  int in_id = hone_graph_input (g, 0);
  const HoneValue *in = hone_graph_value (g, in_id);
  if (hone_graph_n_inputs (g) != 1 || in->shape.rank != 3)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "%s: Hone imports image classifiers with one input (batch, channels, height, "
                   "width); this model has %d input%s, the first of %d dimensions", path,
                   hone_graph_n_inputs (g), hone_graph_n_inputs (g) == 1 ? "" : "s",
                   in->shape.rank + 1);
      onnx_import_free (imp);
      return NULL;
    }
  if (opts->channels > 0 && opts->channels != in->shape.d[0])
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s: the model takes %d input channels, not %d; convert the images to %d "
                   "channels instead", path, (int) in->shape.d[0], opts->channels,
                   (int) in->shape.d[0]);
      onnx_import_free (imp);
      return NULL;
    }
  const HoneValue *out = hone_graph_value (g, hone_graph_output (g, 0));
  int64_t classes = hone_shape_numel (&out->shape);
  if (out->shape.rank != 1 || classes < 1 || classes > 1000000)
    {
      char buf[128];
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "%s: the output '%s' has per-sample shape %s; a classifier gives one score "
                   "per class", path, out->name, hone_shape_to_string (&out->shape, buf, sizeof buf));
      onnx_import_free (imp);
      return NULL;
    }

  HoneModel *model = g_new0 (HoneModel, 1);
  model->graph = onnx_import_take_graph (imp);
  model->source = g_strdup (path);
  model->format = g_strdup ("onnx");
  model->arch = NULL;
  model->opset = imp->opset;
  model->channels = (int) in->shape.d[0];
  model->height = (int) in->shape.d[1];
  model->width = (int) in->shape.d[2];
  model->n_classes = (int) classes;
  model->head_replaced = replace;

  static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };
  int nc = MIN (model->channels, 4);
  float mean[4], std[4];
  if (parse_floats (metadata (mp, "hone.mean"), mean, nc)
      && parse_floats (metadata (mp, "hone.std"), std, nc))
    {
      gboolean positive = TRUE;
      for (int c = 0; c < nc; c++)
        positive &= std[c] > 0.0f;
      model->norm_from_file = positive;
    }
  for (int c = 0; c < 4; c++)
    {
      if (model->norm_from_file && c < nc)
        {
          model->mean[c] = mean[c];
          model->std[c] = std[c];
        }
      else if (model->channels == 1)
        {
          /* one channel: ImageNet's grey equivalent */
          model->mean[c] = 0.449f;
          model->std[c] = 0.226f;
        }
      else
        {
          model->mean[c] = imagenet_mean[MIN (c, 2)];
          model->std[c] = imagenet_std[MIN (c, 2)];
        }
    }

  if (!replace)
    model->class_names = parse_classes (metadata (mp, "hone.classes"), model->n_classes);
  if (!model->class_names)
    {
      model->class_names = g_new0 (char *, model->n_classes + 1);
      for (int i = 0; i < model->n_classes; i++)
        model->class_names[i] = g_strdup_printf ("class %d", i);
    }
  model->head_params = g_new0 (char *, imp->head_params->len + 1);
  for (guint i = 0; i < imp->head_params->len; i++)
    model->head_params[i] = g_strdup (imp->head_params->pdata[i]);

  double nparams = (double) hone_graph_n_params (model->graph);
  if (nparams >= 1e5)
    model->description = g_strdup_printf ("ONNX model, opset %d, %.1f M parameters", imp->opset,
                                          nparams / 1e6);
  else
    model->description = g_strdup_printf ("ONNX model, opset %d, %.1f k parameters", imp->opset,
                                          nparams / 1e3);
  onnx_import_free (imp);
  return model;
}

HoneModel *
hone_onnx_import (const char *path, const HoneModelOptions *opts, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (HoneOnnxFile) file = hone_onnx_file_open (path, error);
  if (!file)
    return NULL;
  return hone_onnx_import_file (file, opts, error);
}
