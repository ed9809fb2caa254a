/* hone-op-reshape.c: Reshape with ONNX semantics (allowzero = 0): the
 * target shape includes dimension 0, a 0 copies the input's dimension at
 * the same position and one -1 is inferred from the element count.
 *
 * Dimension 0 is the batch and must be preserved: the target's first entry
 * must be 0 (copy) or -1 (then the others must account for exactly one
 * sample), never a literal size, which would tie the model to one batch
 * size (exporters trace at batch 1; the importer rewrites that to 0).  The
 * data is copied unchanged, so no input is kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

static char *
target_to_string (const HoneReshapeAttrs *attrs)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < attrs->rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", attrs->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
reshape_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const HoneReshapeAttrs *attrs = node->attrs;
  g_autofree char *target = target_to_string (attrs);
  char buf[128];
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (attrs->rank < 1 || attrs->rank > HONE_MAX_RANK)
    {
      hone_op_set_attr_error (error, node, "the target shape has %d entries; use 1 to %d",
                              attrs->rank, HONE_MAX_RANK);
      return FALSE;
    }
  if (attrs->shape[0] != 0 && attrs->shape[0] != -1)
    {
      hone_op_set_attr_error (error, node, "target shape %s: its first entry is the batch and "
                              "must be 0 (keep it) or -1, not a fixed size", target);
      return FALSE;
    }

  int64_t per_sample = 1;
  for (int j = 1; j < in[0].rank; j++)
    per_sample *= in[0].d[j];
  int infer_at = -1;
  int64_t known = 1;
  out[0].rank = attrs->rank;
  out[0].d[0] = in[0].d[0];
  for (int i = 0; i < attrs->rank; i++)
    {
      int64_t v = attrs->shape[i];
      if (v == -1)
        {
          if (infer_at >= 0)
            {
              hone_op_set_attr_error (error, node, "target shape %s has more than one -1", target);
              return FALSE;
            }
          infer_at = i;
          continue;
        }
      if (v < -1)
        {
          hone_op_set_attr_error (error, node, "target shape %s has a negative entry other than "
                                  "-1", target);
          return FALSE;
        }
      if (i == 0)
        continue;
      if (v == 0)
        {
          if (i >= in[0].rank)
            {
              hone_op_set_attr_error (error, node, "target shape %s copies dimension %d (a 0) but "
                                      "the input %s has only %d", target, i,
                                      hone_shape_to_string (&in[0], buf, sizeof buf), in[0].rank);
              return FALSE;
            }
          v = in[0].d[i];
        }
      out[0].d[i] = v;
      known *= v;
    }

  if (infer_at == 0)
    {
      if (known != per_sample)
        {
          hone_op_set_shape_error (error, node, "target shape %s would change the batch: the "
                                   "dimensions after the first hold %" G_GINT64_FORMAT
                                   " elements, but one sample of %s has %" G_GINT64_FORMAT,
                                   target, known, hone_shape_to_string (&in[0], buf, sizeof buf),
                                   per_sample);
          return FALSE;
        }
    }
  else if (infer_at > 0)
    {
      if (known == 0 || per_sample % known != 0)
        {
          hone_op_set_shape_error (error, node, "target shape %s cannot hold one sample of %s (%"
                                   G_GINT64_FORMAT " elements)", target,
                                   hone_shape_to_string (&in[0], buf, sizeof buf), per_sample);
          return FALSE;
        }
      out[0].d[infer_at] = per_sample / known;
    }
  else if (known != per_sample)
    {
      hone_op_set_shape_error (error, node, "target shape %s holds %" G_GINT64_FORMAT " elements "
                               "per sample, but one sample of %s has %" G_GINT64_FORMAT,
                               target, known, hone_shape_to_string (&in[0], buf, sizeof buf),
                               per_sample);
      return FALSE;
    }
  return TRUE;
}

/* The target shape becomes an int64 initializer "NAME.shape"; its batch
 * entry is 0 or -1, so the file keeps the symbolic batch. */
static gboolean
reshape_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const HoneReshapeAttrs *a = node->attrs;
  g_autofree char *base = g_strconcat (node->name, ".shape", NULL);
  const char *in[2] = {
    hone_onnx_writer_input (w, node, 0),
    hone_onnx_writer_add_int64 (w, base, (const int64_t[]) { a->rank }, 1, a->shape),
  };
  const char *out = hone_onnx_writer_output (w, node, 0);
  hone_onnx_writer_add_node (w, "Reshape", node->name, in, 2, &out, 1);
  return TRUE;
}

const HoneOpClass hone_op_reshape = {
  .name = "Reshape",
  .infer_shape = reshape_infer_shape,
  .forward = hone_op_copy_forward,
  .backward = hone_op_copy_backward,
  .flops = hone_op_flops_none,
  .to_onnx = reshape_to_onnx,
};

int
hone_graph_reshape (HoneGraph *g, const char *name, int x, const int64_t *shape, int rank,
                    GError **error)
{
  g_return_val_if_fail (shape != NULL || rank == 0, -1);
  HoneReshapeAttrs *attrs = g_new0 (HoneReshapeAttrs, 1);
  /* Out-of-range ranks are kept as given and refused by infer_shape with
   * the node's name. */
  attrs->rank = rank;
  if (rank > 0)
    memcpy (attrs->shape, shape, sizeof (int64_t) * (gsize) MIN (rank, HONE_MAX_RANK));
  return hone_graph_add_node (g, &hone_op_reshape, attrs, name, &x, 1, 1, NULL, error);
}
