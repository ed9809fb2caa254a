/* hone-op-reduce-sum.c: ReduceSum, the sum of x over the given axes
 * (ONNX ReduceSum: https://onnx.ai/onnx/operators/onnx__ReduceSum.html;
 * torch.sum (x, dims, keepdim)).  The kernel is shared with ReduceMean
 * (hone-op-reduce.c); this file only names the op.  Backward reads neither
 * input nor output. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-reduce-private.h"

const HoneOpClass hone_op_reduce_sum = {
  .name = "ReduceSum",
  .infer_shape = hone_op_reduce_infer_shape,
  .forward = hone_op_reduce_forward,
  .backward = hone_op_reduce_backward,
  .flops = hone_op_reduce_flops,
  .to_onnx = hone_op_reduce_to_onnx,
};

int
hone_graph_reduce_sum (HoneGraph *g, const char *name, int x, const int *axes, int n_axes,
                       gboolean keepdims, GError **error)
{
  return hone_op_reduce_add (g, &hone_op_reduce_sum, FALSE, name, x, axes, n_axes, keepdims,
                             error);
}
