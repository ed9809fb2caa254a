/* hone-graph.c: graph construction, planning and the forward/backward executor.
 *
 * Planning decides, for a maximum batch size, which values need gradients,
 * which nodes run backward, which activations backward reads (kept), and
 * gives every other activation a buffer from a pool that is reused as soon
 * as its last consumer has run.  Gradients of intermediate activations come
 * from a second pool in backward order: a buffer is taken by the first
 * backward that writes it, zeroed just before (so it is still in cache when
 * the op adds into it) and returned once the producer's backward has read
 * it.  Inputs and outputs keep gradient buffers of their own.  It does not
 * know any op: it only calls the op tables. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hone-graph.h"
#include "hone-op.h"

typedef struct
{
  float *data;          /* activation storage, (max_batch, per-sample) */
  float *grad;          /* activation gradient, or NULL */
  gboolean needs_grad;
  gboolean kept;
  gboolean grad_pooled; /* grad is a slab of grad_slabs, not its own */
  int grad_zero_at;     /* node before whose backward grad is zeroed; -1: at the start */
} ValueRuntime;

typedef struct
{
  float *ptr;
  gsize cap;            /* floats */
  gboolean busy;
} Slab;

typedef struct
{
  float *data;
  int64_t len;
  int64_t cap;
} Arena;

struct _HoneGraph
{
  GArray *values;       /* HoneValue */
  GArray *nodes;        /* HoneNode */
  GArray *inputs;       /* int */
  GArray *outputs;      /* int */
  GArray *input_needs_grad; /* gboolean per value */
  GHashTable *by_name;  /* name -> GINT_TO_POINTER (id + 1) */
  char *block;

  Arena params;
  Arena buffers;
  Arena consts;
  float *grads;         /* same layout as params; only trainable ranges are touched */

  HoneRng rng;

  /* plan */
  gboolean planned;
  int planned_values;   /* sizes of the per-value and per-node plan arrays */
  int planned_nodes;
  gboolean plan_backward;
  gboolean plan_dirty;
  int max_batch;
  int batch;            /* of the last forward */
  gboolean training;    /* of the last forward */
  ValueRuntime *rt;
  gboolean *node_backward;
  gpointer *node_saved;
  gsize *node_saved_size;
  GArray *slabs;        /* Slab: activations */
  GArray *grad_slabs;   /* Slab: gradients of intermediate activations */
  float **input_bufs;   /* per value id, only for INPUT; survive replans */
  int input_bufs_batch;
  gpointer workspace;
  gsize workspace_size;
  gsize act_bytes;
};

G_DEFINE_QUARK (hone-error-quark, hone_error)

/* Like g_malloc0, 64-byte aligned for vector loads; release with g_aligned_free (). */
static gpointer
aligned_alloc0 (gsize bytes)
{
  return g_aligned_alloc0 (1, MAX (bytes, 64), 64);
}

/* ---- shapes ------------------------------------------------------------ */

gboolean
hone_shape_equal (const HoneShape *a, const HoneShape *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i])
      return FALSE;
  return TRUE;
}

char *
hone_shape_to_string (const HoneShape *s, char *buf, gsize size)
{
  GString *str = g_string_new ("(");
  for (int i = 0; i < s->rank; i++)
    g_string_append_printf (str, "%s%" G_GINT64_FORMAT, i ? ", " : "", s->d[i]);
  g_string_append_c (str, ')');
  g_strlcpy (buf, str->str, size);
  g_string_free (str, TRUE);
  return buf;
}

HoneShape
hone_shape_with_batch (const HoneShape *per_sample, int64_t n)
{
  HoneShape s = { .rank = per_sample->rank + 1 };
  g_return_val_if_fail (per_sample->rank < HONE_MAX_RANK, s);
  s.d[0] = n;
  for (int i = 0; i < per_sample->rank; i++)
    s.d[i + 1] = per_sample->d[i];
  return s;
}

gboolean
hone_shape_numel_checked (const HoneShape *s, int64_t *out)
{
  int64_t n = 1;
  const int64_t limit = G_MAXINT64 / 8;
  if (s->rank < 0 || s->rank > HONE_MAX_RANK)
    return FALSE;
  for (int i = 0; i < s->rank; i++)
    {
      if (s->d[i] < 0)
        return FALSE;
      if (s->d[i] != 0 && n > limit / s->d[i])
        return FALSE;
      n *= s->d[i];
    }
  *out = n;
  return TRUE;
}

gboolean
hone_shape_broadcast (const HoneShape *a, const HoneShape *b, HoneShape *out)
{
  int rank = MAX (a->rank, b->rank);
  HoneShape r = { .rank = rank };
  for (int i = 0; i < rank; i++)
    {
      int ia = a->rank - rank + i, ib = b->rank - rank + i;
      int64_t da = ia >= 0 ? a->d[ia] : 1;
      int64_t db = ib >= 0 ? b->d[ib] : 1;
      if (da != db && da != 1 && db != 1)
        return FALSE;
      r.d[i] = da == 1 ? db : da;
    }
  *out = r;
  return TRUE;
}

/* ---- op errors --------------------------------------------------------- */

static void
set_node_error (GError **error, int code, const HoneNode *node, const char *format, va_list args)
{
  g_autofree char *msg = g_strdup_vprintf (format, args);
  g_set_error (error, HONE_ERROR, code, "node '%s' (%s): %s", node->name, node->op->name, msg);
}

void
hone_op_set_shape_error (GError **error, const HoneNode *node, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  set_node_error (error, HONE_ERROR_SHAPE, node, format, args);
  va_end (args);
}

void
hone_op_set_attr_error (GError **error, const HoneNode *node, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  set_node_error (error, HONE_ERROR_ATTRIBUTE, node, format, args);
  va_end (args);
}

/* ---- construction ------------------------------------------------------ */

static void
value_clear (gpointer p)
{
  HoneValue *v = p;
  g_free (v->name);
  g_free (v->block);
}

static void
node_clear (gpointer p)
{
  HoneNode *n = p;
  if (n->op && n->op->free_attrs)
    n->op->free_attrs (n->attrs);
  else
    g_free (n->attrs);
  g_free (n->name);
  g_free (n->block);
  g_free (n->in);
  g_free (n->out);
}

HoneGraph *
hone_graph_new (void)
{
  HoneGraph *g = g_new0 (HoneGraph, 1);
  g->values = g_array_new (FALSE, TRUE, sizeof (HoneValue));
  g_array_set_clear_func (g->values, value_clear);
  g->nodes = g_array_new (FALSE, TRUE, sizeof (HoneNode));
  g_array_set_clear_func (g->nodes, node_clear);
  g->inputs = g_array_new (FALSE, FALSE, sizeof (int));
  g->outputs = g_array_new (FALSE, FALSE, sizeof (int));
  g->input_needs_grad = g_array_new (FALSE, TRUE, sizeof (gboolean));
  g->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g->block = g_strdup ("");
  hone_rng_init (&g->rng, 0, 0);
  return g;
}

static void
plan_clear (HoneGraph *g)
{
  int nv = g->planned_values, nn = g->planned_nodes;
  if (g->rt)
    for (int i = 0; i < nv; i++)
      if (!g->rt[i].grad_pooled)
        g_aligned_free (g->rt[i].grad);
  g_clear_pointer (&g->rt, g_free);
  if (g->node_saved)
    for (int i = 0; i < nn; i++)
      g_aligned_free (g->node_saved[i]);
  g_clear_pointer (&g->node_saved, g_free);
  g_clear_pointer (&g->node_saved_size, g_free);
  g_clear_pointer (&g->node_backward, g_free);
  GArray **pools[2] = { &g->slabs, &g->grad_slabs };
  for (int p = 0; p < 2; p++)
    if (*pools[p])
      {
        for (guint i = 0; i < (*pools[p])->len; i++)
          g_aligned_free (g_array_index (*pools[p], Slab, i).ptr);
        g_clear_pointer (pools[p], g_array_unref);
      }
  g_clear_pointer (&g->workspace, g_aligned_free);
  g->workspace_size = 0;
  g->act_bytes = 0;
  g->planned = FALSE;
  g->planned_values = 0;
  g->planned_nodes = 0;
}

void
hone_graph_free (HoneGraph *g)
{
  if (g == NULL)
    return;
  plan_clear (g);
  if (g->input_bufs)
    for (guint i = 0; i < g->values->len; i++)
      g_aligned_free (g->input_bufs[i]);
  g_free (g->input_bufs);
  g_array_unref (g->values);
  g_array_unref (g->nodes);
  g_array_unref (g->inputs);
  g_array_unref (g->outputs);
  g_array_unref (g->input_needs_grad);
  g_hash_table_unref (g->by_name);
  g_free (g->block);
  g_aligned_free (g->params.data);
  g_aligned_free (g->buffers.data);
  g_aligned_free (g->consts.data);
  g_aligned_free (g->grads);
  g_free (g);
}

void
hone_graph_set_block (HoneGraph *g, const char *block)
{
  g_return_if_fail (g != NULL);
  g_free (g->block);
  g->block = g_strdup (block ? block : "");
}

static gboolean
check_shape (const char *name, const HoneShape *shape, GError **error)
{
  int64_t n;
  if (shape->rank < 0 || shape->rank > HONE_MAX_RANK || !hone_shape_numel_checked (shape, &n))
    {
      char buf[160];
      g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                   "tensor '%s': invalid shape %s (at most %d dimensions, none negative)",
                   name, hone_shape_to_string (shape, buf, sizeof buf), HONE_MAX_RANK);
      return FALSE;
    }
  return TRUE;
}

static int64_t
arena_reserve (Arena *a, int64_t n)
{
  int64_t off = a->len;
  /* keep every tensor 16-float (64-byte) aligned */
  int64_t padded = (n + 15) & ~(int64_t) 15;
  if (a->len + padded > a->cap)
    {
      int64_t cap = MAX (a->cap * 2, a->len + padded);
      float *p = aligned_alloc0 ((gsize) cap * sizeof (float));
      if (a->data)
        memcpy (p, a->data, (gsize) a->len * sizeof (float));
      g_aligned_free (a->data);
      a->data = p;
      a->cap = cap;
    }
  a->len += padded;
  return off;
}

static int
add_value (HoneGraph *g, const char *name, HoneValueKind kind, const HoneShape *shape, GError **error)
{
  if (g_hash_table_contains (g->by_name, name))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "a value named '%s' already exists in the model", name);
      return -1;
    }
  if (!check_shape (name, shape, error))
    return -1;
  HoneValue v = {
    .name = g_strdup (name),
    .kind = kind,
    .shape = *shape,
    .block = g_strdup (g->block),
    .producer = -1,
    .trainable = kind == HONE_VALUE_PARAM,
    .lr_mult = 1.0f,
    .offset = -1,
  };
  int id = g->values->len;
  g_array_append_val (g->values, v);
  gboolean f = FALSE;
  g_array_append_val (g->input_needs_grad, f);
  g_hash_table_insert (g->by_name, g_strdup (name), GINT_TO_POINTER (id + 1));
  g->plan_dirty = TRUE;
  if (g->input_bufs)
    {
      g->input_bufs = g_renew (float *, g->input_bufs, g->values->len);
      g->input_bufs[id] = NULL;
    }
  return id;
}

static HoneValue *
value_at (const HoneGraph *g, int id)
{
  return &g_array_index (g->values, HoneValue, id);
}

int
hone_graph_add_input (HoneGraph *g, const char *name, const HoneShape *per_sample, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && per_sample != NULL, -1);
  int id = add_value (g, name, HONE_VALUE_INPUT, per_sample, error);
  if (id >= 0)
    g_array_append_val (g->inputs, id);
  return id;
}

int
hone_graph_add_param (HoneGraph *g, const char *name, const HoneShape *shape, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && shape != NULL, -1);
  int id = add_value (g, name, HONE_VALUE_PARAM, shape, error);
  if (id >= 0)
    {
      value_at (g, id)->offset = arena_reserve (&g->params, hone_shape_numel (shape));
      g_clear_pointer (&g->grads, g_aligned_free);
    }
  return id;
}

int
hone_graph_add_buffer (HoneGraph *g, const char *name, const HoneShape *shape, float fill, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && shape != NULL, -1);
  int id = add_value (g, name, HONE_VALUE_BUFFER, shape, error);
  if (id >= 0)
    {
      int64_t n = hone_shape_numel (shape);
      int64_t off = arena_reserve (&g->buffers, n);
      value_at (g, id)->offset = off;
      for (int64_t i = 0; i < n; i++)
        g->buffers.data[off + i] = fill;
    }
  return id;
}

int
hone_graph_add_const (HoneGraph *g, const char *name, const HoneShape *shape, const float *data, GError **error)
{
  g_return_val_if_fail (g != NULL && name != NULL && shape != NULL, -1);
  int id = add_value (g, name, HONE_VALUE_CONST, shape, error);
  if (id >= 0)
    {
      int64_t n = hone_shape_numel (shape);
      int64_t off = arena_reserve (&g->consts, n);
      value_at (g, id)->offset = off;
      if (data)
        memcpy (g->consts.data + off, data, (gsize) n * sizeof (float));
    }
  return id;
}

static gboolean
value_is_batched (const HoneValue *v)
{
  return v->kind == HONE_VALUE_INPUT || v->kind == HONE_VALUE_ACTIVATION;
}

static HoneShape
full_shape (const HoneValue *v, int batch)
{
  return value_is_batched (v) ? hone_shape_with_batch (&v->shape, batch) : v->shape;
}

/* Inference at construction uses batch 2, so that a node that mixes the
 * batch with other dimensions is caught here rather than at run time, and
 * again at batch 3, so that a node whose shapes only fit at batch 2 (a
 * parameter whose first dimension happens to be 2, broadcast against the
 * batch) is caught too: forward trusts these shapes. */
#define INFER_BATCH 2
#define INFER_BATCH_CHECK 3

int
hone_graph_add_node (HoneGraph *g, const HoneOpClass *op, gpointer attrs, const char *name,
                     const int *in, int n_in, int n_out, int *out_ids, GError **error)
{
  g_return_val_if_fail (g != NULL && op != NULL && name != NULL, -1);
  g_return_val_if_fail (n_in >= 0 && n_out >= 1 && n_out <= HONE_MAX_RANK, -1);

  HoneNode node = {
    .op = op,
    .attrs = attrs,
    .name = g_strdup (name),
    .block = g_strdup (g->block),
    .n_in = n_in,
    .n_out = n_out,
    .in = g_memdup2 (in, sizeof (int) * MAX (n_in, 1)),
    .out = g_new0 (int, n_out),
  };

  gboolean batched = FALSE;
  for (int i = 0; i < n_in; i++)
    {
      if (in[i] < 0 || in[i] >= (int) g->values->len)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "node '%s' (%s): input %d refers to no value", name, op->name, i);
          node_clear (&node);
          return -1;
        }
      batched |= value_is_batched (value_at (g, in[i]));
    }

  HoneShape *in_shapes = g_newa (HoneShape, MAX (n_in, 1));
  HoneShape out_shapes[HONE_MAX_RANK];
  memset (out_shapes, 0, sizeof out_shapes);
  for (int i = 0; i < n_in; i++)
    in_shapes[i] = full_shape (value_at (g, in[i]), INFER_BATCH);

  if (!batched)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                   "node '%s' (%s): no input depends on the model input; fold constant "
                   "subgraphs before adding them", name, op->name);
      node_clear (&node);
      return -1;
    }
  if (!op->infer_shape (&node, in_shapes, out_shapes, error))
    {
      node_clear (&node);
      return -1;
    }

  for (int o = 0; o < n_out; o++)
    {
      HoneShape *s = &out_shapes[o];
      if (s->rank < 1 || s->d[0] != INFER_BATCH)
        {
          char buf[160];
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                       "node '%s' (%s): output %d has shape %s at batch %d; the batch "
                       "dimension must stay first and unchanged",
                       name, op->name, o, hone_shape_to_string (s, buf, sizeof buf), INFER_BATCH);
          node_clear (&node);
          return -1;
        }
    }

  HoneShape check_shapes[HONE_MAX_RANK];
  memset (check_shapes, 0, sizeof check_shapes);
  for (int i = 0; i < n_in; i++)
    in_shapes[i] = full_shape (value_at (g, in[i]), INFER_BATCH_CHECK);
  if (!op->infer_shape (&node, in_shapes, check_shapes, error))
    {
      g_prefix_error (error, "shapes that fit at batch %d do not at batch %d: ",
                      INFER_BATCH, INFER_BATCH_CHECK);
      node_clear (&node);
      return -1;
    }
  for (int o = 0; o < n_out; o++)
    {
      HoneShape want = out_shapes[o];
      want.d[0] = INFER_BATCH_CHECK;
      if (!hone_shape_equal (&check_shapes[o], &want))
        {
          char buf[160], buf2[160];
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                       "node '%s' (%s): output %d has shape %s at batch %d but %s at batch %d; "
                       "only the batch dimension may depend on the batch size",
                       name, op->name, o, hone_shape_to_string (&out_shapes[o], buf, sizeof buf),
                       INFER_BATCH, hone_shape_to_string (&check_shapes[o], buf2, sizeof buf2),
                       INFER_BATCH_CHECK);
          node_clear (&node);
          return -1;
        }
    }

  int node_id = g->nodes->len;
  for (int o = 0; o < n_out; o++)
    {
      HoneShape per_sample = { .rank = out_shapes[o].rank - 1 };
      for (int k = 1; k < out_shapes[o].rank; k++)
        per_sample.d[k - 1] = out_shapes[o].d[k];
      g_autofree char *vname = n_out == 1 ? g_strdup (name) : g_strdup_printf ("%s:%d", name, o);
      /* Layer names need not be unique (torchvision reuses one "relu");
       * value names must be. */
      for (int k = 1; g_hash_table_contains (g->by_name, vname); k++)
        {
          g_free (vname);
          vname = n_out == 1 ? g_strdup_printf ("%s_%d", name, k) : g_strdup_printf ("%s_%d:%d", name, k, o);
        }
      int id = add_value (g, vname, HONE_VALUE_ACTIVATION, &per_sample, error);
      g_assert (id >= 0);
      value_at (g, id)->producer = node_id;
      node.out[o] = id;
      if (out_ids)
        out_ids[o] = id;
    }
  g_array_append_val (g->nodes, node);
  g->plan_dirty = TRUE;
  return node.out[0];
}

void
hone_graph_add_output (HoneGraph *g, int value)
{
  g_return_if_fail (g != NULL && value >= 0 && value < (int) g->values->len);
  g_return_if_fail (value_is_batched (value_at (g, value)));
  g_array_append_val (g->outputs, value);
  g->plan_dirty = TRUE;
}

/* ---- inspection -------------------------------------------------------- */

int hone_graph_n_values (const HoneGraph *g) { return g->values->len; }
int hone_graph_n_nodes (const HoneGraph *g) { return g->nodes->len; }
int hone_graph_n_inputs (const HoneGraph *g) { return g->inputs->len; }
int hone_graph_n_outputs (const HoneGraph *g) { return g->outputs->len; }

int
hone_graph_input (const HoneGraph *g, int i)
{
  g_return_val_if_fail (i >= 0 && i < (int) g->inputs->len, -1);
  return g_array_index (g->inputs, int, i);
}

int
hone_graph_output (const HoneGraph *g, int i)
{
  g_return_val_if_fail (i >= 0 && i < (int) g->outputs->len, -1);
  return g_array_index (g->outputs, int, i);
}

const HoneValue *
hone_graph_value (const HoneGraph *g, int id)
{
  g_return_val_if_fail (g != NULL && id >= 0 && id < (int) g->values->len, NULL);
  return value_at (g, id);
}

const HoneNode *
hone_graph_node (const HoneGraph *g, int i)
{
  g_return_val_if_fail (g != NULL && i >= 0 && i < (int) g->nodes->len, NULL);
  return &g_array_index (g->nodes, HoneNode, i);
}

int
hone_graph_find (const HoneGraph *g, const char *name)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (g->by_name, name)) - 1;
}

int64_t
hone_graph_n_params (const HoneGraph *g)
{
  int64_t n = 0;
  for (guint i = 0; i < g->values->len; i++)
    if (value_at (g, i)->kind == HONE_VALUE_PARAM)
      n += hone_shape_numel (&value_at (g, i)->shape);
  return n;
}

int64_t
hone_graph_n_trainable_params (const HoneGraph *g)
{
  int64_t n = 0;
  for (guint i = 0; i < g->values->len; i++)
    {
      const HoneValue *v = value_at (g, i);
      if (v->kind == HONE_VALUE_PARAM && v->trainable)
        n += hone_shape_numel (&v->shape);
    }
  return n;
}

double
hone_graph_flops (const HoneGraph *g)
{
  double total = 0;
  for (guint i = 0; i < g->nodes->len; i++)
    {
      const HoneNode *n = hone_graph_node (g, i);
      if (!n->op->flops)
        continue;
      HoneShape *in = g_newa (HoneShape, MAX (n->n_in, 1));
      HoneShape out[HONE_MAX_RANK];
      for (int k = 0; k < n->n_in; k++)
        in[k] = full_shape (value_at (g, n->in[k]), 1);
      for (int k = 0; k < n->n_out; k++)
        out[k] = full_shape (value_at (g, n->out[k]), 1);
      total += n->op->flops (n, in, out);
    }
  return total;
}

float *hone_graph_params (HoneGraph *g) { return g->params.data; }
float *hone_graph_buffers (HoneGraph *g) { return g->buffers.data; }
float *hone_graph_grads (HoneGraph *g) { return g->grads; }

float *
hone_graph_value_data (HoneGraph *g, int id)
{
  g_return_val_if_fail (g != NULL && id >= 0 && id < (int) g->values->len, NULL);
  const HoneValue *v = value_at (g, id);
  switch (v->kind)
    {
    case HONE_VALUE_PARAM: return g->params.data + v->offset;
    case HONE_VALUE_BUFFER: return g->buffers.data + v->offset;
    case HONE_VALUE_CONST: return g->consts.data + v->offset;
    case HONE_VALUE_INPUT:
    case HONE_VALUE_ACTIVATION:
    default:
      return NULL;
    }
}

HoneRng *
hone_graph_rng (HoneGraph *g)
{
  return &g->rng;
}

/* ---- freezing ---------------------------------------------------------- */

void
hone_graph_set_trainable (HoneGraph *g, int param, gboolean trainable)
{
  g_return_if_fail (g != NULL && param >= 0 && param < (int) g->values->len);
  HoneValue *v = value_at (g, param);
  g_return_if_fail (v->kind == HONE_VALUE_PARAM);
  if (v->trainable != !!trainable)
    {
      v->trainable = !!trainable;
      g->plan_dirty = TRUE;
    }
}

void
hone_graph_set_lr_mult (HoneGraph *g, int param, float lr_mult)
{
  g_return_if_fail (g != NULL && param >= 0 && param < (int) g->values->len);
  HoneValue *v = value_at (g, param);
  g_return_if_fail (v->kind == HONE_VALUE_PARAM);
  v->lr_mult = lr_mult;
}

int
hone_graph_set_trainable_prefix (HoneGraph *g, const char *const *prefixes, gboolean trainable)
{
  int matched = 0;
  for (guint i = 0; i < g->values->len; i++)
    {
      HoneValue *v = value_at (g, i);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      gboolean match = prefixes == NULL;
      for (int k = 0; prefixes && prefixes[k] && !match; k++)
        match = prefixes[k][0] != '\0' && g_str_has_prefix (v->name, prefixes[k]);
      if (match)
        {
          hone_graph_set_trainable (g, i, trainable);
          matched++;
        }
    }
  return matched;
}

void
hone_graph_set_input_needs_grad (HoneGraph *g, int input, gboolean needs)
{
  g_return_if_fail (g != NULL && input >= 0 && input < (int) g->values->len);
  g_return_if_fail (value_at (g, input)->kind == HONE_VALUE_INPUT);
  g_array_index (g->input_needs_grad, gboolean, input) = needs;
  g->plan_dirty = TRUE;
}

/* ---- planning ---------------------------------------------------------- */

static float *
slab_take (HoneGraph *g, GArray *slabs, gsize floats)
{
  Slab *best = NULL;
  for (guint i = 0; i < slabs->len; i++)
    {
      Slab *s = &g_array_index (slabs, Slab, i);
      if (!s->busy && s->cap >= floats && (!best || s->cap < best->cap))
        best = s;
    }
  if (!best)
    {
      Slab s = { aligned_alloc0 (floats * sizeof (float)), floats, FALSE };
      g->act_bytes += floats * sizeof (float);
      g_array_append_val (slabs, s);
      best = &g_array_index (slabs, Slab, slabs->len - 1);
    }
  best->busy = TRUE;
  return best->ptr;
}

static void
slab_release (GArray *slabs, float *ptr)
{
  for (guint i = 0; i < slabs->len; i++)
    {
      Slab *s = &g_array_index (slabs, Slab, i);
      if (s->ptr == ptr)
        {
          s->busy = FALSE;
          return;
        }
    }
  g_assert_not_reached ();
}

static void
node_shapes (const HoneGraph *g, const HoneNode *n, int batch, HoneShape *in, HoneShape *out)
{
  for (int k = 0; k < n->n_in; k++)
    in[k] = full_shape (value_at (g, n->in[k]), batch);
  for (int k = 0; k < n->n_out; k++)
    out[k] = full_shape (value_at (g, n->out[k]), batch);
}

static gboolean
value_numel_at (const HoneValue *v, int batch, int64_t *n)
{
  HoneShape s = full_shape (v, batch);
  return hone_shape_numel_checked (&s, n);
}

gboolean
hone_graph_plan (HoneGraph *g, int max_batch, gboolean backward, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  if (max_batch < 1)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "batch size %d is out of range: use at least 1", max_batch);
      return FALSE;
    }
  if (g->outputs->len == 0)
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID, "the model has no output");
      return FALSE;
    }

  plan_clear (g);
  int nv = g->values->len, nn = g->nodes->len;
  g->planned_values = nv;
  g->planned_nodes = nn;
  g->rt = g_new0 (ValueRuntime, nv);
  g->node_backward = g_new0 (gboolean, nn);
  g->node_saved = g_new0 (gpointer, nn);
  g->node_saved_size = g_new0 (gsize, nn);
  g->slabs = g_array_new (FALSE, TRUE, sizeof (Slab));
  g->grad_slabs = g_array_new (FALSE, TRUE, sizeof (Slab));
  g->max_batch = max_batch;
  g->plan_backward = backward;

  for (int i = 0; i < nv; i++)
    {
      int64_t n;
      if (!value_numel_at (value_at (g, i), max_batch, &n) || n > G_MAXINT64 / 16)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                       "tensor '%s' is too large at batch %d", value_at (g, i)->name, max_batch);
          plan_clear (g);
          return FALSE;
        }
    }

  /* Which values need a gradient, and which nodes run backward. */
  if (backward)
    {
      for (int i = 0; i < nv; i++)
        {
          const HoneValue *v = value_at (g, i);
          g->rt[i].needs_grad = (v->kind == HONE_VALUE_PARAM && v->trainable)
                                || (v->kind == HONE_VALUE_INPUT
                                    && g_array_index (g->input_needs_grad, gboolean, i));
        }
      for (int i = 0; i < nn; i++)
        {
          const HoneNode *n = hone_graph_node (g, i);
          gboolean any = FALSE;
          for (int k = 0; k < n->n_in; k++)
            any |= g->rt[n->in[k]].needs_grad;
          g->node_backward[i] = any;
          for (int k = 0; k < n->n_out; k++)
            g->rt[n->out[k]].needs_grad = any;
        }
    }

  /* Kept activations: outputs and whatever a backward node reads. */
  for (guint i = 0; i < g->outputs->len; i++)
    g->rt[g_array_index (g->outputs, int, i)].kept = TRUE;
  for (int i = 0; i < nn; i++)
    {
      if (!g->node_backward[i])
        continue;
      const HoneNode *n = hone_graph_node (g, i);
      for (int k = 0; k < n->n_in && k < 32; k++)
        if (n->op->keep_inputs & (1u << k))
          g->rt[n->in[k]].kept = TRUE;
      /* Concat and friends with many inputs: bit 31 means "all from here". */
      if (n->op->keep_inputs & (1u << 31))
        for (int k = 31; k < n->n_in; k++)
          g->rt[n->in[k]].kept = TRUE;
      for (int k = 0; k < n->n_out; k++)
        if (n->op->keep_outputs & (1u << k))
          g->rt[n->out[k]].kept = TRUE;
    }

  /* Inputs have their own buffers, which survive replanning. */
  if (!g->input_bufs)
    g->input_bufs = g_new0 (float *, nv);
  if (g->input_bufs_batch < max_batch)
    {
      for (int i = 0; i < nv; i++)
        g_clear_pointer (&g->input_bufs[i], g_aligned_free);
      g->input_bufs_batch = max_batch;
    }
  for (int i = 0; i < nv; i++)
    {
      const HoneValue *v = value_at (g, i);
      if (v->kind != HONE_VALUE_INPUT)
        continue;
      int64_t n;
      value_numel_at (v, g->input_bufs_batch, &n);
      if (!g->input_bufs[i])
        g->input_bufs[i] = aligned_alloc0 ((gsize) n * sizeof (float));
      g->rt[i].data = g->input_bufs[i];
    }

  /* Last consumer of every value. */
  int *last_use = g_new (int, nv);
  for (int i = 0; i < nv; i++)
    last_use[i] = -1;
  for (int i = 0; i < nn; i++)
    {
      const HoneNode *n = hone_graph_node (g, i);
      for (int k = 0; k < n->n_in; k++)
        last_use[n->in[k]] = i;
    }

  /* Activation buffers from a pool, reused after the last consumer. */
  gsize ws = 0;
  for (int i = 0; i < nn; i++)
    {
      const HoneNode *n = hone_graph_node (g, i);
      HoneShape *in = g_newa (HoneShape, MAX (n->n_in, 1));
      HoneShape out[HONE_MAX_RANK];
      node_shapes (g, n, max_batch, in, out);
      for (int k = 0; k < n->n_out; k++)
        g->rt[n->out[k]].data = slab_take (g, g->slabs, (gsize) hone_shape_numel (&out[k]));
      if (n->op->workspace_size)
        ws = MAX (ws, n->op->workspace_size (n, in, out, g->node_backward[i]));
      if (g->node_backward[i] && n->op->saved_size)
        {
          gsize sz = n->op->saved_size (n, in, out);
          if (sz)
            {
              g->node_saved[i] = aligned_alloc0 (sz);
              g->node_saved_size[i] = sz;
            }
        }
      for (int k = 0; k < n->n_in; k++)
        {
          int v = n->in[k];
          gboolean dup = FALSE;
          for (int j = 0; j < k; j++)
            dup |= n->in[j] == v;
          if (!dup && last_use[v] == i && !g->rt[v].kept
              && value_at (g, v)->kind == HONE_VALUE_ACTIVATION)
            slab_release (g->slabs, g->rt[v].data);
        }
      /* Outputs nobody reads are released at once. */
      for (int k = 0; k < n->n_out; k++)
        if (last_use[n->out[k]] < 0 && !g->rt[n->out[k]].kept)
          slab_release (g->slabs, g->rt[n->out[k]].data);
    }

  /* Gradients of inputs that asked for one and of outputs: their own
   * buffers, which the caller reads or fills, zeroed at the start of
   * backward (outputs' are not zeroed at all). */
  for (int i = 0; i < nv; i++)
    {
      const HoneValue *v = value_at (g, i);
      g->rt[i].grad_zero_at = -1;
      gboolean is_output = FALSE;
      for (guint k = 0; k < g->outputs->len; k++)
        is_output |= g_array_index (g->outputs, int, k) == i;
      if (g->rt[i].needs_grad && value_is_batched (v)
          && (v->kind != HONE_VALUE_ACTIVATION || is_output))
        {
          int64_t n;
          value_numel_at (v, max_batch, &n);
          g->rt[i].grad = aligned_alloc0 ((gsize) n * sizeof (float));
          g->act_bytes += (gsize) n * sizeof (float);
        }
    }
  /* Gradients of the other activations, in backward order: from the first
   * backward that adds into one (its last consumer; the producer itself
   * when no consumer runs backward) to the producer's backward, which is
   * the last to read it. */
  if (backward)
    {
      for (int i = nn - 1; i >= 0; i--)
        {
          if (!g->node_backward[i])
            continue;
          const HoneNode *n = hone_graph_node (g, i);
          for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < (pass ? n->n_out : n->n_in); k++)
              {
                int id = pass ? n->out[k] : n->in[k];
                ValueRuntime *rt = &g->rt[id];
                if (rt->grad || !rt->needs_grad || value_at (g, id)->kind != HONE_VALUE_ACTIVATION)
                  continue;
                int64_t numel;
                value_numel_at (value_at (g, id), max_batch, &numel);
                rt->grad = slab_take (g, g->grad_slabs, (gsize) numel);
                rt->grad_pooled = TRUE;
                rt->grad_zero_at = i;
              }
          for (int k = 0; k < n->n_out; k++)
            if (g->rt[n->out[k]].grad_pooled)
              slab_release (g->grad_slabs, g->rt[n->out[k]].grad);
        }
    }
  g_free (last_use);
  if (backward && !g->grads)
    g->grads = aligned_alloc0 ((gsize) MAX (g->params.len, 1) * sizeof (float));

  g->workspace_size = ws;
  g->workspace = ws ? aligned_alloc0 (ws) : NULL;
  g->planned = TRUE;
  g->plan_dirty = FALSE;
  g->batch = 0;
  return TRUE;
}

int
hone_graph_max_batch (const HoneGraph *g)
{
  return g->planned ? g->max_batch : 0;
}

float *
hone_graph_input_data (HoneGraph *g, int input)
{
  g_return_val_if_fail (g != NULL && g->planned, NULL);
  g_return_val_if_fail (input >= 0 && input < (int) g->values->len, NULL);
  g_return_val_if_fail (value_at (g, input)->kind == HONE_VALUE_INPUT, NULL);
  return g->input_bufs[input];
}

static float *
value_storage (HoneGraph *g, int id)
{
  const HoneValue *v = value_at (g, id);
  if (value_is_batched (v))
    return g->rt[id].data;
  return hone_graph_value_data (g, id);
}

static gboolean
ensure_planned (HoneGraph *g, GError **error)
{
  if (!g->planned)
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "the model was not prepared: call hone_graph_plan first");
      return FALSE;
    }
  if (g->plan_dirty)
    return hone_graph_plan (g, g->max_batch, g->plan_backward, error);
  return TRUE;
}

gboolean
hone_graph_forward (HoneGraph *g, int batch, gboolean training, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  if (!ensure_planned (g, error))
    return FALSE;
  if (batch < 1 || batch > g->max_batch)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "batch of %d samples does not fit the planned maximum of %d", batch, g->max_batch);
      return FALSE;
    }
  g->batch = batch;
  g->training = training;

  int nn = g->nodes->len;
  for (int i = 0; i < nn; i++)
    {
      const HoneNode *n = hone_graph_node (g, i);
      HoneTensor *in = g_newa (HoneTensor, MAX (n->n_in, 1));
      const HoneValue **in_values = g_newa (const HoneValue *, MAX (n->n_in, 1));
      HoneTensor out[HONE_MAX_RANK];
      for (int k = 0; k < n->n_in; k++)
        {
          in_values[k] = value_at (g, n->in[k]);
          in[k].data = value_storage (g, n->in[k]);
          in[k].shape = full_shape (in_values[k], batch);
        }
      for (int k = 0; k < n->n_out; k++)
        {
          out[k].data = g->rt[n->out[k]].data;
          out[k].shape = full_shape (value_at (g, n->out[k]), batch);
        }
      HoneOpCtx ctx = {
        .graph = g,
        .node = n,
        .attrs = n->attrs,
        .batch = batch,
        .training = training,
        .in = in,
        .out = out,
        .in_values = in_values,
        .saved = g->node_saved[i],
        .saved_size = g->node_saved_size[i],
        .workspace = g->workspace,
        .workspace_size = g->workspace_size,
        .rng = &g->rng,
      };
      n->op->forward (&ctx);
    }
  return TRUE;
}

HoneTensor
hone_graph_tensor (HoneGraph *g, int id)
{
  HoneTensor t = { 0 };
  g_return_val_if_fail (g != NULL && id >= 0 && id < (int) g->values->len, t);
  const HoneValue *v = value_at (g, id);
  int batch = g->batch ? g->batch : MAX (g->max_batch, 1);
  t.shape = full_shape (v, batch);
  if (value_is_batched (v))
    t.data = g->planned && (v->kind == HONE_VALUE_INPUT || g->rt[id].kept) ? g->rt[id].data : NULL;
  else
    t.data = hone_graph_value_data (g, id);
  return t;
}

float *
hone_graph_grad (HoneGraph *g, int id)
{
  g_return_val_if_fail (g != NULL && id >= 0 && id < (int) g->values->len, NULL);
  const HoneValue *v = value_at (g, id);
  if (v->kind == HONE_VALUE_PARAM)
    return g->grads && v->trainable ? g->grads + v->offset : NULL;
  if (!g->planned || !value_is_batched (v))
    return NULL;
  return g->rt[id].grad;
}

void
hone_graph_backward (HoneGraph *g)
{
  g_return_if_fail (g != NULL && g->planned && g->plan_backward && g->batch > 0);
  g_return_if_fail (!g->plan_dirty);
  int nv = g->values->len, nn = g->nodes->len, batch = g->batch;

  for (int i = 0; i < nv; i++)
    {
      if (!g->rt[i].grad || g->rt[i].grad_pooled)
        continue;
      gboolean is_output = FALSE;
      for (guint k = 0; k < g->outputs->len; k++)
        is_output |= g_array_index (g->outputs, int, k) == i;
      if (!is_output)
        {
          HoneShape s = full_shape (value_at (g, i), batch);
          memset (g->rt[i].grad, 0, (gsize) hone_shape_numel (&s) * sizeof (float));
        }
    }

  for (int i = nn - 1; i >= 0; i--)
    {
      if (!g->node_backward[i])
        continue;
      const HoneNode *n = hone_graph_node (g, i);
      HoneTensor *in = g_newa (HoneTensor, MAX (n->n_in, 1));
      HoneTensor *din = g_newa (HoneTensor, MAX (n->n_in, 1));
      const HoneValue **in_values = g_newa (const HoneValue *, MAX (n->n_in, 1));
      HoneTensor out[HONE_MAX_RANK], dout[HONE_MAX_RANK];
      for (int k = 0; k < n->n_in; k++)
        {
          in_values[k] = value_at (g, n->in[k]);
          in[k].data = value_storage (g, n->in[k]);
          in[k].shape = full_shape (in_values[k], batch);
          din[k].data = hone_graph_grad (g, n->in[k]);
          din[k].shape = in[k].shape;
        }
      for (int k = 0; k < n->n_out; k++)
        {
          out[k].data = g->rt[n->out[k]].data;
          out[k].shape = full_shape (value_at (g, n->out[k]), batch);
          dout[k].data = g->rt[n->out[k]].grad;
          dout[k].shape = out[k].shape;
        }
      /* Pooled gradients this backward writes first, zeroed now, unless
       * the op stores into that input (and it is not also another of its
       * inputs, which the op would then overwrite rather than add to). */
      guint32 din_fresh = 0;
      for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < (pass ? n->n_out : n->n_in); k++)
          {
            int id = pass ? n->out[k] : n->in[k];
            if (!g->rt[id].grad_pooled || g->rt[id].grad_zero_at != i)
              continue;
            if (!pass && k < 32 && (n->op->din_store & (1u << k)))
              {
                int uses = 0;
                for (int j = 0; j < n->n_in; j++)
                  uses += n->in[j] == id;
                if (uses == 1)
                  {
                    din_fresh |= 1u << k;
                    continue;
                  }
              }
            HoneShape s = full_shape (value_at (g, id), batch);
            memset (g->rt[id].grad, 0, (gsize) hone_shape_numel (&s) * sizeof (float));
          }
      HoneOpCtx ctx = {
        .graph = g,
        .node = n,
        .attrs = n->attrs,
        .batch = batch,
        .training = g->training,
        .in = in,
        .out = out,
        .din = din,
        .dout = dout,
        .din_fresh = din_fresh,
        .in_values = in_values,
        .saved = g->node_saved[i],
        .saved_size = g->node_saved_size[i],
        .workspace = g->workspace,
        .workspace_size = g->workspace_size,
        .rng = &g->rng,
      };
      n->op->backward (&ctx);
    }
}

void
hone_graph_zero_grad (HoneGraph *g)
{
  g_return_if_fail (g != NULL);
  if (!g->grads)
    return;
  for (guint i = 0; i < g->values->len; i++)
    {
      const HoneValue *v = value_at (g, i);
      if (v->kind == HONE_VALUE_PARAM && v->trainable)
        memset (g->grads + v->offset, 0, (gsize) hone_shape_numel (&v->shape) * sizeof (float));
    }
}

gboolean
hone_graph_node_runs_backward (const HoneGraph *g, int i)
{
  g_return_val_if_fail (g != NULL && i >= 0 && i < (int) g->nodes->len, FALSE);
  return g->planned && g->node_backward[i];
}

gsize
hone_graph_activation_bytes (const HoneGraph *g)
{
  return g->act_bytes;
}
