/* hone-onnx-fold.c: nodes whose inputs are all known, computed at import.
 *
 * torch.onnx.export writes shape arithmetic as nodes: x.view(x.size(0), -1)
 * is Shape, Gather, Unsqueeze, Concat and Reshape; a channel shuffle adds
 * Div and Mul on sizes; older opsets keep Constant nodes.  These are
 * computed here in double precision, on tensors of any rank (semantics from
 * the ONNX operator spec of each op).  Shape of an activation is known too:
 * its first element is the batch size, marked so that it survives Gather,
 * Concat, Slice and the like and a Reshape keeps the batch free.
 *
 * Results are small (shapes, indices, scalars); every size is checked
 * against a budget so that a hostile file cannot make a fold allocate much.
 * This file adds nothing to the graph. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "onnx/hone-onnx-private.h"

/* Elements a folded result may have (weights are never folded here: they
 * are initializers already). */
#define MAX_FOLD_ELEMENTS (G_GINT64_CONSTANT (1) << 24)

static OnnxVal *
new_out (const Onnx__NodeProto *n, int k, const HoneShape *shape, gboolean is_int, GError **error)
{
  int64_t numel;
  if (!hone_shape_numel_checked (shape, &numel) || numel > MAX_FOLD_ELEMENTS)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "a constant result of more than %"
                       G_GINT64_FORMAT " elements", MAX_FOLD_ELEMENTS);
      return NULL;
    }
  for (int i = 0; i < shape->rank; i++)
    if (shape->d[i] < 0)
      {
        onnx_node_error (error, HONE_ERROR_FORMAT, n, "a negative dimension in a constant");
        return NULL;
      }
  const char *name = (size_t) k < n->n_output && n->output[k] ? n->output[k] : "";
  return onnx_val_new_known (name, shape, is_int);
}

static void
add_mark (OnnxVal *v, int64_t i, gboolean batch)
{
  if (!batch)
    return;
  if (!v->batch)
    v->batch = g_new0 (guint8, MAX (hone_shape_numel (&v->shape), 1));
  v->batch[i] = 1;
}

static gboolean
emit (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal *v)
{
  if (n->n_output >= 1 && n->output[0] && n->output[0][0])
    onnx_import_set (imp, v);
  else
    onnx_val_free (v);
  return TRUE;
}

static gboolean
need_inputs (const Onnx__NodeProto *n, OnnxVal **in, int n_in, int min, GError **error)
{
  if (n_in < min)
    goto bad;
  for (int k = 0; k < min; k++)
    if (!in[k] || !in[k]->known)
      goto bad;
  return TRUE;
bad:
  onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "needs %d constant inputs", min);
  return FALSE;
}

/* Copies elements src[idx[i]] into a new value of `shape` (marks too). */
static OnnxVal *
gather_elements (const Onnx__NodeProto *n, const OnnxVal *src, const int64_t *idx,
                 const HoneShape *shape, GError **error)
{
  OnnxVal *v = new_out (n, 0, shape, src->is_int, error);
  if (!v)
    return NULL;
  int64_t m = hone_shape_numel (shape);
  for (int64_t i = 0; i < m; i++)
    {
      v->v[i] = src->v[idx[i]];
      add_mark (v, i, src->batch && src->batch[idx[i]]);
    }
  return v;
}

static void
strides_of (const HoneShape *s, int64_t *st)
{
  int64_t a = 1;
  for (int k = s->rank - 1; k >= 0; k--)
    {
      st[k] = a;
      a *= s->d[k];
    }
}

/* ---- the ops --------------------------------------------------------------- */

static gboolean
read_tensor_val (OnnxImport *imp, const Onnx__NodeProto *n, const Onnx__TensorProto *t,
                 OnnxVal **out, GError **error)
{
  gboolean is_int = t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
  HoneShape shape;
  if (is_int)
    {
      g_autofree int64_t *d = NULL;
      if (!hone_onnx_tensor_int64 (imp->file, t, &shape, &d, error))
        return FALSE;
      if (!(*out = new_out (n, 0, &shape, TRUE, error)))
        return FALSE;
      for (int64_t i = 0; i < hone_shape_numel (&shape); i++)
        (*out)->v[i] = (double) d[i];
    }
  else
    {
      g_autofree float *d = NULL;
      if (!hone_onnx_tensor_float (imp->file, t, &shape, &d, error))
        return FALSE;
      if (!(*out = new_out (n, 0, &shape, FALSE, error)))
        return FALSE;
      for (int64_t i = 0; i < hone_shape_numel (&shape); i++)
        (*out)->v[i] = d[i];
    }
  return TRUE;
}

static gboolean
fold_constant (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  (void) in;
  (void) n_in;
  OnnxVal *v = NULL;
  const Onnx__AttributeProto *a;
  if ((a = onnx_attr (n, "value")) && a->t)
    {
      if (!read_tensor_val (imp, n, a->t, &v, error))
        {
          g_prefix_error (error, "node '%s' (Constant): ", n->name ? n->name : "");
          return FALSE;
        }
    }
  else if ((a = onnx_attr (n, "value_float")))
    {
      if (!(v = new_out (n, 0, &(HoneShape) { .rank = 0 }, FALSE, error)))
        return FALSE;
      v->v[0] = a->f;
    }
  else if ((a = onnx_attr (n, "value_int")))
    {
      if (!(v = new_out (n, 0, &(HoneShape) { .rank = 0 }, TRUE, error)))
        return FALSE;
      v->v[0] = (double) a->i;
    }
  else if ((a = onnx_attr (n, "value_floats")))
    {
      if (!(v = new_out (n, 0, &(HoneShape) { .rank = 1, .d = { (int64_t) a->n_floats } }, FALSE, error)))
        return FALSE;
      for (size_t i = 0; i < a->n_floats; i++)
        v->v[i] = a->floats[i];
    }
  else if ((a = onnx_attr (n, "value_ints")))
    {
      if (!(v = new_out (n, 0, &(HoneShape) { .rank = 1, .d = { (int64_t) a->n_ints } }, TRUE, error)))
        return FALSE;
      for (size_t i = 0; i < a->n_ints; i++)
        v->v[i] = (double) a->ints[i];
    }
  else
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "only tensor, float and int values are "
                       "supported");
      return FALSE;
    }
  return emit (imp, n, v);
}

static gboolean
fold_identity (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  OnnxVal *v = new_out (n, 0, &in[0]->shape, in[0]->is_int, error);
  if (!v)
    return FALSE;
  int64_t m = hone_shape_numel (&v->shape);
  memcpy (v->v, in[0]->v, sizeof (double) * m);
  if (in[0]->batch)
    v->batch = g_memdup2 (in[0]->batch, MAX (m, 1));
  /* torch shares equal initializers through Identity; each copy is its own
   * parameter in the module, so it becomes its own value here. */
  v->initializer = in[0]->initializer;
  return emit (imp, n, v);
}

static gboolean
fold_shape (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (n_in < 1 || !in[0])
    return need_inputs (n, in, n_in, 1, error);
  HoneShape s = onnx_import_shape (imp, in[0]);
  gboolean batched = !in[0]->known;
  if (batched)
    {
      HoneValueKind k = hone_graph_value (imp->g, in[0]->id)->kind;
      batched = k == HONE_VALUE_INPUT || k == HONE_VALUE_ACTIVATION;
    }
  int64_t start = onnx_attr_int (n, "start", 0), end = onnx_attr_int (n, "end", s.rank);
  if (start < 0)
    start += s.rank;
  if (end < 0)
    end += s.rank;
  start = CLAMP (start, 0, s.rank);
  end = CLAMP (end, start, s.rank);
  OnnxVal *v = new_out (n, 0, &(HoneShape) { .rank = 1, .d = { end - start } }, TRUE, error);
  if (!v)
    return FALSE;
  for (int64_t k = start; k < end; k++)
    {
      v->v[k - start] = (double) s.d[k];
      add_mark (v, k - start, batched && k == 0);
    }
  return emit (imp, n, v);
}

static int64_t
norm_axis (int64_t axis, int rank)
{
  return axis < 0 ? axis + rank : axis;
}

static gboolean
fold_gather (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 2, error))
    return FALSE;
  const OnnxVal *d = in[0], *ix = in[1];
  int64_t axis = norm_axis (onnx_attr_int (n, "axis", 0), d->shape.rank);
  if (d->shape.rank < 1 || axis < 0 || axis >= d->shape.rank
      || d->shape.rank + ix->shape.rank - 1 > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "axis out of range");
      return FALSE;
    }
  HoneShape os = { .rank = d->shape.rank + ix->shape.rank - 1 };
  int r = 0;
  for (int k = 0; k < axis; k++)
    os.d[r++] = d->shape.d[k];
  for (int k = 0; k < ix->shape.rank; k++)
    os.d[r++] = ix->shape.d[k];
  for (int k = (int) axis + 1; k < d->shape.rank; k++)
    os.d[r++] = d->shape.d[k];
  int64_t outer = 1, inner = 1, len = d->shape.d[axis], ni = hone_shape_numel (&ix->shape);
  for (int k = 0; k < axis; k++)
    outer *= d->shape.d[k];
  for (int k = (int) axis + 1; k < d->shape.rank; k++)
    inner *= d->shape.d[k];
  int64_t numel;
  if (!hone_shape_numel_checked (&os, &numel) || numel > MAX_FOLD_ELEMENTS)
    return new_out (n, 0, &os, FALSE, error) != NULL;
  g_autofree int64_t *idx = g_new (int64_t, MAX (numel, 1));
  int64_t o = 0;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t j = 0; j < ni; j++)
      {
        int64_t t = (int64_t) ix->v[j];
        if (t < 0)
          t += len;
        if (t < 0 || t >= len)
          {
            onnx_node_error (error, HONE_ERROR_FORMAT, n, "index %" G_GINT64_FORMAT " is out of "
                             "range for a dimension of %" G_GINT64_FORMAT, (int64_t) ix->v[j], len);
            return FALSE;
          }
        for (int64_t b = 0; b < inner; b++)
          idx[o++] = (a * len + t) * inner + b;
      }
  OnnxVal *v = gather_elements (n, d, idx, &os, error);
  return v && emit (imp, n, v);
}

static gboolean
fold_reshape_like (OnnxImport *imp, const Onnx__NodeProto *n, const OnnxVal *x,
                   const HoneShape *os, GError **error)
{
  int64_t numel;
  if (!hone_shape_numel_checked (os, &numel) || numel != hone_shape_numel (&x->shape))
    {
      onnx_node_error (error, HONE_ERROR_SHAPE, n, "the new shape has a different size");
      return FALSE;
    }
  OnnxVal *v = new_out (n, 0, os, x->is_int, error);
  if (!v)
    return FALSE;
  int64_t m = hone_shape_numel (os);
  memcpy (v->v, x->v, sizeof (double) * m);
  if (x->batch)
    v->batch = g_memdup2 (x->batch, MAX (m, 1));
  return emit (imp, n, v);
}

static gboolean
squeeze_axes_known (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in,
                    int64_t **axes, int *na)
{
  if (imp->opset < 13)
    {
      const int64_t *p;
      int k = onnx_attr_ints (n, "axes", &p);
      *na = MAX (k, 0);
      *axes = g_memdup2 (k > 0 ? p : (int64_t[]) { 0 }, sizeof (int64_t) * MAX (k, 1));
      return k >= 0;
    }
  if (n_in < 2 || !in[1])
    {
      *na = 0;
      *axes = NULL;
      return FALSE;
    }
  *axes = onnx_val_ints (in[1]);
  *na = (int) hone_shape_numel (&in[1]->shape);
  return TRUE;
}

static gboolean
fold_squeeze (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  gboolean unsq = strcmp (n->op_type, "Unsqueeze") == 0;
  g_autofree int64_t *axes = NULL;
  int na;
  gboolean have = squeeze_axes_known (imp, n, in, n_in, &axes, &na);
  const HoneShape *s = &in[0]->shape;
  int out_rank = unsq ? s->rank + na : s->rank;
  if (out_rank > HONE_MAX_RANK || (unsq && !have))
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "bad axes");
      return FALSE;
    }
  gboolean mark[2 * HONE_MAX_RANK + 1] = { FALSE };
  for (int k = 0; k < na; k++)
    {
      int64_t a = norm_axis (axes[k], out_rank);
      if (a < 0 || a >= out_rank || mark[a] || (!unsq && s->d[a] != 1))
        {
          onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "axis %" G_GINT64_FORMAT " is out of "
                           "range, repeated or not of size 1", axes[k]);
          return FALSE;
        }
      mark[a] = TRUE;
    }
  HoneShape os = { 0 };
  if (unsq)
    for (int k = 0, j = 0; k < out_rank; k++)
      os.d[os.rank++] = mark[k] ? 1 : s->d[j++];
  else
    for (int k = 0; k < s->rank; k++)
      if (!(na == 0 ? s->d[k] == 1 : mark[k]))
        os.d[os.rank++] = s->d[k];
  return fold_reshape_like (imp, n, in[0], &os, error);
}

static gboolean
fold_reshape (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 2, error))
    return FALSE;
  int rank = (int) hone_shape_numel (&in[1]->shape);
  if (rank > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "a shape of %d dimensions", rank);
      return FALSE;
    }
  g_autofree int64_t *t = onnx_val_ints (in[1]);
  gboolean allowzero = onnx_attr_int (n, "allowzero", 0) != 0;
  HoneShape os = { .rank = rank };
  int infer = -1;
  int64_t known = 1;
  for (int k = 0; k < rank; k++)
    {
      int64_t d = t[k];
      if (d == 0 && !allowzero)
        d = k < in[0]->shape.rank ? in[0]->shape.d[k] : 0;
      if (d == -1)
        {
          if (infer >= 0)
            goto bad;
          infer = k;
          continue;
        }
      if (d < 0)
        goto bad;
      os.d[k] = d;
      known *= d;
    }
  if (infer >= 0)
    {
      if (known == 0)
        goto bad;
      os.d[infer] = hone_shape_numel (&in[0]->shape) / known;
    }
  return fold_reshape_like (imp, n, in[0], &os, error);
bad:
  onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "the target shape is invalid");
  return FALSE;
}

static gboolean
fold_flatten (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  const HoneShape *s = &in[0]->shape;
  int64_t axis = norm_axis (onnx_attr_int (n, "axis", 1), s->rank);
  if (axis < 0 || axis > s->rank)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "axis out of range");
      return FALSE;
    }
  HoneShape os = { .rank = 2, .d = { 1, 1 } };
  for (int k = 0; k < s->rank; k++)
    os.d[k < axis ? 0 : 1] *= s->d[k];
  return fold_reshape_like (imp, n, in[0], &os, error);
}

static gboolean
fold_concat (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, n_in, error) || n_in < 1)
    return FALSE;
  int rank = in[0]->shape.rank;
  int64_t axis = norm_axis (onnx_attr_int (n, "axis", 0), rank);
  if (axis < 0 || axis >= rank)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "axis out of range");
      return FALSE;
    }
  HoneShape os = in[0]->shape;
  os.d[axis] = 0;
  gboolean is_int = TRUE;
  for (int i = 0; i < n_in; i++)
    {
      if (in[i]->shape.rank != rank)
        goto bad;
      for (int k = 0; k < rank; k++)
        if (k != axis && in[i]->shape.d[k] != os.d[k])
          goto bad;
      os.d[axis] += in[i]->shape.d[axis];
      is_int &= in[i]->is_int;
    }
  OnnxVal *v = new_out (n, 0, &os, is_int, error);
  if (!v)
    return FALSE;
  int64_t outer = 1;
  for (int k = 0; k < axis; k++)
    outer *= os.d[k];
  int64_t o = 0;
  for (int64_t a = 0; a < outer; a++)
    for (int i = 0; i < n_in; i++)
      {
        int64_t chunk = hone_shape_numel (&in[i]->shape) / MAX (outer, 1);
        for (int64_t j = 0; j < chunk; j++, o++)
          {
            int64_t src = a * chunk + j;
            v->v[o] = in[i]->v[src];
            add_mark (v, o, in[i]->batch && in[i]->batch[src]);
          }
      }
  return emit (imp, n, v);
bad:
  onnx_node_error (error, HONE_ERROR_SHAPE, n, "input shapes do not fit together");
  return FALSE;
}

static gboolean
fold_slice (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, imp->opset < 10 ? 1 : 3, error))
    return FALSE;
  const HoneShape *s = &in[0]->shape;
  g_autofree int64_t *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL, *idx = NULL;
  int ns;
  if (imp->opset < 10)
    {
      const int64_t *p;
      ns = onnx_attr_ints (n, "starts", &p);
      if (ns < 0 || onnx_attr_ints (n, "ends", &p) != ns)
        goto bad;
      onnx_attr_ints (n, "starts", &p);
      starts = g_memdup2 (p, sizeof (int64_t) * MAX (ns, 1));
      onnx_attr_ints (n, "ends", &p);
      ends = g_memdup2 (p, sizeof (int64_t) * MAX (ns, 1));
      if (onnx_attr_ints (n, "axes", &p) == ns)
        axes = g_memdup2 (p, sizeof (int64_t) * MAX (ns, 1));
    }
  else
    {
      ns = (int) hone_shape_numel (&in[1]->shape);
      if (hone_shape_numel (&in[2]->shape) != ns)
        goto bad;
      starts = onnx_val_ints (in[1]);
      ends = onnx_val_ints (in[2]);
      if (n_in > 3 && in[3])
        {
          if (!in[3]->known || hone_shape_numel (&in[3]->shape) != ns)
            goto bad;
          axes = onnx_val_ints (in[3]);
        }
      if (n_in > 4 && in[4])
        {
          if (!in[4]->known || hone_shape_numel (&in[4]->shape) != ns)
            goto bad;
          steps = onnx_val_ints (in[4]);
        }
    }
  int64_t b[HONE_MAX_RANK], st[HONE_MAX_RANK];
  HoneShape os = *s;
  for (int k = 0; k < s->rank; k++)
    b[k] = 0, st[k] = 1;
  gboolean seen[HONE_MAX_RANK] = { FALSE };
  for (int i = 0; i < ns; i++)
    {
      int64_t a = norm_axis (axes ? axes[i] : i, s->rank);
      int64_t step = steps ? steps[i] : 1;
      if (a < 0 || a >= s->rank || seen[a] || step == 0)
        goto bad;
      seen[a] = TRUE;
      int64_t dim = s->d[a], lo = starts[i], hi = ends[i];
      /* ONNX Slice: negative means from the end, then clamp */
      if (lo < 0)
        lo = lo < -dim ? 0 : lo + dim;
      if (hi < 0)
        hi = hi < -dim ? -1 : hi + dim;
      if (step > 0)
        {
          lo = CLAMP (lo, 0, dim);
          hi = CLAMP (hi, 0, dim);
          os.d[a] = hi > lo ? (hi - lo + step - 1) / step : 0;
        }
      else
        {
          lo = CLAMP (lo, 0, dim - 1);
          hi = CLAMP (hi, -1, dim - 1);
          os.d[a] = lo > hi ? (lo - hi + (-step) - 1) / (-step) : 0;
        }
      b[a] = lo;
      st[a] = step;
    }
  int64_t numel;
  if (!hone_shape_numel_checked (&os, &numel) || numel > MAX_FOLD_ELEMENTS)
    return new_out (n, 0, &os, FALSE, error) != NULL;
  int64_t sst[HONE_MAX_RANK], ost[HONE_MAX_RANK];
  strides_of (s, sst);
  strides_of (&os, ost);
  idx = g_new (int64_t, MAX (numel, 1));
  for (int64_t i = 0; i < numel; i++)
    {
      int64_t r = i, src = 0;
      for (int k = 0; k < os.rank; k++)
        {
          int64_t c = r / ost[k];
          r %= ost[k];
          src += (b[k] + c * st[k]) * sst[k];
        }
      idx[i] = src;
    }
  OnnxVal *v = gather_elements (n, in[0], idx, &os, error);
  return v && emit (imp, n, v);
bad:
  onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "starts, ends, axes or steps are invalid");
  return FALSE;
}

static gboolean
fold_transpose (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  const HoneShape *s = &in[0]->shape;
  int perm[HONE_MAX_RANK];
  const int64_t *p;
  int np = onnx_attr_ints (n, "perm", &p);
  gboolean used[HONE_MAX_RANK] = { FALSE };
  if (np >= 0 && np != s->rank)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "perm has %d entries for %d dimensions",
                       np, s->rank);
      return FALSE;
    }
  for (int k = 0; k < s->rank; k++)
    {
      perm[k] = np < 0 ? s->rank - 1 - k : (int) CLAMP (p[k], -1, HONE_MAX_RANK - 1);
      if (perm[k] < 0 || perm[k] >= s->rank || used[perm[k]])
        {
          onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "perm is not a permutation");
          return FALSE;
        }
      used[perm[k]] = TRUE;
    }
  HoneShape os = { .rank = s->rank };
  for (int k = 0; k < s->rank; k++)
    os.d[k] = s->d[perm[k]];
  int64_t sst[HONE_MAX_RANK], ost[HONE_MAX_RANK];
  strides_of (s, sst);
  strides_of (&os, ost);
  int64_t numel = hone_shape_numel (&os);
  g_autofree int64_t *idx = g_new (int64_t, MAX (numel, 1));
  for (int64_t i = 0; i < numel; i++)
    {
      int64_t r = i, src = 0;
      for (int k = 0; k < os.rank; k++)
        {
          src += (r / ost[k]) * sst[perm[k]];
          r %= ost[k];
        }
      idx[i] = src;
    }
  OnnxVal *v = gather_elements (n, in[0], idx, &os, error);
  return v && emit (imp, n, v);
}

static gboolean
is_int_type (int64_t t)
{
  return t != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
    && t != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 && t != ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
}

static gboolean
fold_cast (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  int64_t to = onnx_attr_int (n, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  if (to == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "casts to strings");
      return FALSE;
    }
  OnnxVal *v = new_out (n, 0, &in[0]->shape, is_int_type (to), error);
  if (!v)
    return FALSE;
  int64_t m = hone_shape_numel (&v->shape);
  for (int64_t i = 0; i < m; i++)
    {
      double x = in[0]->v[i];
      if (to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
        x = x != 0.0;
      else if (v->is_int)
        x = isfinite (x) ? trunc (x) : 0.0;
      else if (to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        x = (float) x;
      v->v[i] = x;
      add_mark (v, i, in[0]->batch && in[0]->batch[i]);
    }
  return emit (imp, n, v);
}

static gboolean
fold_constant_of_shape (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in,
                        GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  int rank = (int) hone_shape_numel (&in[0]->shape);
  if (rank > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "more than %d dimensions", HONE_MAX_RANK);
      return FALSE;
    }
  HoneShape os = { .rank = rank };
  for (int k = 0; k < rank; k++)
    os.d[k] = (int64_t) in[0]->v[k];
  double fill = 0.0;
  gboolean is_int = FALSE;
  const Onnx__AttributeProto *a = onnx_attr (n, "value");
  if (a && a->t)
    {
      OnnxVal *t = NULL;
      if (!read_tensor_val (imp, n, a->t, &t, error))
        return FALSE;
      fill = hone_shape_numel (&t->shape) > 0 ? t->v[0] : 0.0;
      is_int = t->is_int;
      onnx_val_free (t);
    }
  OnnxVal *v = new_out (n, 0, &os, is_int, error);
  if (!v)
    return FALSE;
  for (int64_t i = 0; i < hone_shape_numel (&os); i++)
    v->v[i] = fill;
  return emit (imp, n, v);
}

static gboolean
fold_range (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 3, error))
    return FALSE;
  double start = in[0]->v[0], limit = in[1]->v[0], delta = in[2]->v[0];
  if (delta == 0.0)
    {
      onnx_node_error (error, HONE_ERROR_ATTRIBUTE, n, "delta is 0");
      return FALSE;
    }
  double count = ceil ((limit - start) / delta);
  if (!(count < (double) MAX_FOLD_ELEMENTS))
    count = (double) MAX_FOLD_ELEMENTS + 1;
  OnnxVal *v = new_out (n, 0, &(HoneShape) { .rank = 1, .d = { (int64_t) MAX (count, 0) } }, in[0]->is_int, error);
  if (!v)
    return FALSE;
  for (int64_t i = 0; i < v->shape.d[0]; i++)
    v->v[i] = start + i * delta;
  return emit (imp, n, v);
}

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MIN, OP_MAX, OP_EQUAL, OP_LESS,
               OP_GREATER, OP_AND, OP_OR, OP_MOD, OP_FMOD } BinOp;

static double
bin_apply (BinOp op, double a, double b, gboolean is_int)
{
  switch (op)
    {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV:
      if (is_int)
        return b == 0.0 ? 0.0 : trunc (a / b);
      return is_int ? trunc (a / b) : (double) ((float) a / (float) b);
    case OP_POW: return pow (a, b);
    case OP_MIN: return MIN (a, b);
    case OP_MAX: return MAX (a, b);
    case OP_EQUAL: return a == b;
    case OP_LESS: return a < b;
    case OP_GREATER: return a > b;
    case OP_AND: return a != 0.0 && b != 0.0;
    case OP_OR: return a != 0.0 || b != 0.0;
    case OP_MOD: return b == 0.0 ? 0.0 : a - b * floor (a / b);   /* fmod 0: sign of b */
    case OP_FMOD: return b == 0.0 ? 0.0 : fmod (a, b);
    }
  return 0.0;
}

/* Element index of an operand for output index i under broadcasting. */
static int64_t
bcast_index (int64_t i, const HoneShape *os, const HoneShape *s)
{
  int64_t idx = 0, mul = 1;
  for (int k = os->rank - 1, j = s->rank - 1; k >= 0; k--, j--)
    {
      int64_t c = i % os->d[k];
      i /= os->d[k];
      if (j >= 0)
        {
          if (s->d[j] != 1)
            idx += c * mul;
          mul *= s->d[j];
        }
    }
  return idx;
}

static gboolean
fold_binary (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  static const struct { const char *name; BinOp op; gboolean boolean; } ops[] = {
    { "Add", OP_ADD, FALSE }, { "Sub", OP_SUB, FALSE }, { "Mul", OP_MUL, FALSE },
    { "Div", OP_DIV, FALSE }, { "Pow", OP_POW, FALSE }, { "Min", OP_MIN, FALSE },
    { "Max", OP_MAX, FALSE }, { "Equal", OP_EQUAL, TRUE }, { "Less", OP_LESS, TRUE },
    { "Greater", OP_GREATER, TRUE }, { "And", OP_AND, TRUE }, { "Or", OP_OR, TRUE },
    { "Mod", OP_MOD, FALSE },
  };
  BinOp op = OP_ADD;
  gboolean boolean = FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS (ops); i++)
    if (strcmp (ops[i].name, n->op_type) == 0)
      op = ops[i].op, boolean = ops[i].boolean;
  if (op == OP_MOD && onnx_attr_int (n, "fmod", 0) != 0)
    op = OP_FMOD;
  /* Min and Max take one or more inputs: fold pairwise */
  if (!need_inputs (n, in, n_in, op == OP_MIN || op == OP_MAX ? 1 : 2, error))
    return FALSE;
  HoneShape os = in[0]->shape;
  for (int k = 1; k < n_in; k++)
    if (!in[k] || !in[k]->known || !hone_shape_broadcast (&os, &in[k]->shape, &os))
      {
        onnx_node_error (error, HONE_ERROR_SHAPE, n, "input shapes do not broadcast");
        return FALSE;
      }
  gboolean is_int = in[0]->is_int;
  for (int k = 1; k < n_in; k++)
    is_int &= in[k]->is_int;
  if (op == OP_POW)
    is_int = in[0]->is_int;
  OnnxVal *v = new_out (n, 0, &os, is_int || boolean, error);
  if (!v)
    return FALSE;
  int64_t m = hone_shape_numel (&os);
  for (int64_t i = 0; i < m; i++)
    {
      int64_t i0 = bcast_index (i, &os, &in[0]->shape);
      double acc = in[0]->v[i0];
      gboolean marked = in[0]->batch && in[0]->batch[i0];
      for (int k = 1; k < n_in; k++)
        {
          int64_t ik = bcast_index (i, &os, &in[k]->shape);
          double b = in[k]->v[ik];
          /* the batch size times or divided by 1, or its max/min with itself,
           * stays the batch size */
          gboolean bm = in[k]->batch && in[k]->batch[ik];
          acc = bin_apply (op, acc, b, is_int);
          marked = (marked && ((op == OP_MUL || op == OP_DIV) && b == 1.0))
            || (bm && op == OP_MUL && in[0]->v[i0] == 1.0);
        }
      v->v[i] = is_int && !boolean ? trunc (acc) : (!is_int && !boolean ? (float) acc : acc);
      add_mark (v, i, marked);
    }
  return emit (imp, n, v);
}

static gboolean
fold_unary (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 1, error))
    return FALSE;
  const char *t = n->op_type;
  OnnxVal *v = new_out (n, 0, &in[0]->shape, in[0]->is_int, error);
  if (!v)
    return FALSE;
  for (int64_t i = 0; i < hone_shape_numel (&v->shape); i++)
    {
      double x = in[0]->v[i], y;
      if (strcmp (t, "Neg") == 0) y = -x;
      else if (strcmp (t, "Abs") == 0) y = fabs (x);
      else if (strcmp (t, "Sqrt") == 0) y = sqrt (x);
      else if (strcmp (t, "Floor") == 0) y = floor (x);
      else if (strcmp (t, "Ceil") == 0) y = ceil (x);
      else if (strcmp (t, "Reciprocal") == 0) y = 1.0 / x;
      else if (strcmp (t, "Exp") == 0) y = exp (x);
      else if (strcmp (t, "Not") == 0) y = x == 0.0;
      else if (strcmp (t, "Relu") == 0) y = MAX (x, 0.0);
      else if (strcmp (t, "Sigmoid") == 0) y = 1.0 / (1.0 + exp (-x));
      else y = x;
      v->v[i] = v->is_int ? y : (float) y;
    }
  return emit (imp, n, v);
}

static gboolean
fold_where (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 3, error))
    return FALSE;
  HoneShape os;
  if (!hone_shape_broadcast (&in[0]->shape, &in[1]->shape, &os)
      || !hone_shape_broadcast (&os, &in[2]->shape, &os))
    {
      onnx_node_error (error, HONE_ERROR_SHAPE, n, "input shapes do not broadcast");
      return FALSE;
    }
  OnnxVal *v = new_out (n, 0, &os, in[1]->is_int && in[2]->is_int, error);
  if (!v)
    return FALSE;
  for (int64_t i = 0; i < hone_shape_numel (&os); i++)
    {
      const OnnxVal *src = in[0]->v[bcast_index (i, &os, &in[0]->shape)] != 0.0 ? in[1] : in[2];
      int64_t j = bcast_index (i, &os, &src->shape);
      v->v[i] = src->v[j];
      add_mark (v, i, src->batch && src->batch[j]);
    }
  return emit (imp, n, v);
}

static gboolean
fold_expand (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  if (!need_inputs (n, in, n_in, 2, error))
    return FALSE;
  int rank = (int) hone_shape_numel (&in[1]->shape);
  if (rank > HONE_MAX_RANK)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "more than %d dimensions", HONE_MAX_RANK);
      return FALSE;
    }
  HoneShape t = { .rank = rank }, os;
  for (int k = 0; k < rank; k++)
    t.d[k] = (int64_t) in[1]->v[k];
  if (!hone_shape_broadcast (&in[0]->shape, &t, &os))
    {
      onnx_node_error (error, HONE_ERROR_SHAPE, n, "the shape does not broadcast");
      return FALSE;
    }
  int64_t numel;
  if (!hone_shape_numel_checked (&os, &numel) || numel > MAX_FOLD_ELEMENTS)
    return new_out (n, 0, &os, FALSE, error) != NULL;
  g_autofree int64_t *idx = g_new (int64_t, MAX (numel, 1));
  for (int64_t i = 0; i < numel; i++)
    idx[i] = bcast_index (i, &os, &in[0]->shape);
  OnnxVal *v = gather_elements (n, in[0], idx, &os, error);
  return v && emit (imp, n, v);
}

/* ---- the table --------------------------------------------------------------- */

typedef struct
{
  const char *op;
  OnnxNodeFunc func;
} FoldEntry;

static const FoldEntry folds[] = {
  { "Constant", fold_constant },
  { "Identity", fold_identity },
  { "Shape", fold_shape },
  { "Gather", fold_gather },
  { "Unsqueeze", fold_squeeze },
  { "Squeeze", fold_squeeze },
  { "Reshape", fold_reshape },
  { "Flatten", fold_flatten },
  { "Concat", fold_concat },
  { "Slice", fold_slice },
  { "Transpose", fold_transpose },
  { "Cast", fold_cast },
  { "ConstantOfShape", fold_constant_of_shape },
  { "Range", fold_range },
  { "Add", fold_binary },
  { "Sub", fold_binary },
  { "Mul", fold_binary },
  { "Div", fold_binary },
  { "Pow", fold_binary },
  { "Min", fold_binary },
  { "Max", fold_binary },
  { "Equal", fold_binary },
  { "Less", fold_binary },
  { "Greater", fold_binary },
  { "And", fold_binary },
  { "Or", fold_binary },
  { "Mod", fold_binary },
  { "Neg", fold_unary },
  { "Abs", fold_unary },
  { "Sqrt", fold_unary },
  { "Floor", fold_unary },
  { "Ceil", fold_unary },
  { "Reciprocal", fold_unary },
  { "Exp", fold_unary },
  { "Not", fold_unary },
  { "Where", fold_where },
  { "Expand", fold_expand },
};

OnnxNodeFunc
onnx_fold_func (const char *op_type)
{
  for (size_t i = 0; i < G_N_ELEMENTS (folds); i++)
    if (strcmp (folds[i].op, op_type) == 0)
      return folds[i].func;
  return NULL;
}

gboolean
onnx_fold_node (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in, GError **error)
{
  OnnxNodeFunc f = onnx_fold_func (n->op_type);
  if (!f)
    {
      onnx_node_error (error, HONE_ERROR_UNSUPPORTED, n, "cannot be computed at import");
      return FALSE;
    }
  return f (imp, n, in, n_in, error);
}
