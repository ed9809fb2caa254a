/* hone-op-flatten.c: Flatten (ONNX Flatten, torch.flatten(x, 1)): the
 * input (d0, ..., dr-1) becomes (d0 ... d(axis-1), d(axis) ... d(r-1)).
 *
 * Since dimension 0 is the batch, axis 0 is refused, and so is any axis
 * that would merge the batch with a dimension larger than 1.  The data is
 * copied unchanged (the executor gives every output its own buffer), so no
 * input is kept. */
#include "config.h"

#include <string.h>

#include "hone-ops.h"
#include "ops/hone-op-private.h"
#include "onnx/hone-onnx-writer-private.h"

typedef struct
{
  int axis;
} FlattenAttrs;

static gboolean
flatten_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  const FlattenAttrs *attrs = node->attrs;
  if (node->n_in != 1 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects one input and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  int r = in[0].rank;
  int axis = attrs->axis < 0 ? attrs->axis + r : attrs->axis;
  if (axis == 0)
    {
      hone_op_set_attr_error (error, node, "axis %d would flatten the batch dimension into the "
                              "features; use axis 1", attrs->axis);
      return FALSE;
    }
  if (axis < 0 || axis > r)
    {
      hone_op_set_attr_error (error, node, "axis %d is out of range for an input with %d "
                              "dimensions (use 1 to %d, or negative from the end)",
                              attrs->axis, r, r);
      return FALSE;
    }
  int64_t features = 1;
  for (int j = 1; j < r; j++)
    {
      if (j < axis && in[0].d[j] != 1)
        {
          char buf[128];
          hone_op_set_shape_error (error, node, "axis %d would merge the batch with dimension %d "
                                   "of %s; use axis 1", attrs->axis, j,
                                   hone_shape_to_string (&in[0], buf, sizeof buf));
          return FALSE;
        }
      features *= in[0].d[j];
    }
  out[0] = HONE_SHAPE (in[0].d[0], features);
  return TRUE;
}

static gboolean
flatten_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
{
  const FlattenAttrs *a = node->attrs;
  hone_onnx_node_set_int (w, hone_onnx_writer_add_simple (w, node, "Flatten"), "axis", a->axis);
  return TRUE;
}

const HoneOpClass hone_op_flatten = {
  .name = "Flatten",
  .infer_shape = flatten_infer_shape,
  .forward = hone_op_copy_forward,
  .backward = hone_op_copy_backward,
  .flops = hone_op_flops_none,
  .to_onnx = flatten_to_onnx,
};

int
hone_graph_flatten (HoneGraph *g, const char *name, int x, int axis, GError **error)
{
  FlattenAttrs attrs = { axis };
  return hone_graph_add_node (g, &hone_op_flatten, hone_op_attrs_dup (&attrs), name, &x, 1, 1,
                              NULL, error);
}
