/* hone-op-reduce-mean.c: ReduceMean, the mean of x over the given axes
 * (ONNX ReduceMean: https://onnx.ai/onnx/operators/onnx__ReduceMean.html;
 * torch.mean (x, dims, keepdim)).  The kernel is shared with ReduceSum
 * (hone-op-reduce.c); this file names the op and asks for the division by
 * the number of elements summed.  Backward reads neither input nor output. */
#include "config.h"

#include "hone-ops.h"
#include "ops/hone-op-reduce-private.h"

const HoneOpClass hone_op_reduce_mean = {
  .name = "ReduceMean",
  .infer_shape = hone_op_reduce_infer_shape,
  .forward = hone_op_reduce_forward,
  .backward = hone_op_reduce_backward,
  .flops = hone_op_reduce_flops,
  .to_onnx = hone_op_reduce_to_onnx,
};

int
hone_graph_reduce_mean (HoneGraph *g, const char *name, int x, const int *axes, int n_axes,
                        gboolean keepdims, GError **error)
{
  return hone_op_reduce_add (g, &hone_op_reduce_mean, TRUE, name, x, axes, n_axes, keepdims,
                             error);
}
