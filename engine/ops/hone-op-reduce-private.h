/* hone-op-reduce-private.h: ReduceMean and ReduceSum share one kernel, for
 * op authors only.
 *
 * Both ops sum x over a set of axes (never the batch); ReduceMean then
 * divides by the number of elements summed.  The shared code validates the
 * axes, infers the shape (keepdims or not), and runs forward and backward;
 * the two op files only choose the scale.  Not here: ONNX's
 * noop_with_empty_axes (the importer resolves it: an empty axes list here
 * always means every axis but the batch) and axes given as a runtime
 * tensor. */
#pragma once

#include "ops/hone-op-private.h"

G_BEGIN_DECLS

typedef struct
{
  int n_axes;                   /* 0: every axis but the batch */
  int axes[HONE_MAX_RANK];      /* as given: count the batch, negative from the end */
  gboolean keepdims;
  gboolean mean;                /* divide by the count (ReduceMean) */
} HoneReduceAttrs;

gboolean hone_op_reduce_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out,
                                     GError **error);
void     hone_op_reduce_forward     (const HoneOpCtx *ctx);
void     hone_op_reduce_backward    (const HoneOpCtx *ctx);
/* flops: one per input element. */
double   hone_op_reduce_flops       (const HoneNode *node, const HoneShape *in, const HoneShape *out);

/* to_onnx of both: ReduceMean-13 takes axes as an attribute, ReduceSum-13
 * as an input; "every axis but the batch" is written as explicit axes. */
gboolean hone_op_reduce_to_onnx     (const HoneNode *node, HoneOnnxWriter *writer, GError **error);

/* Adds a node of `op` (ReduceMean or ReduceSum) to g. */
int      hone_op_reduce_add         (HoneGraph *g, const HoneOpClass *op, gboolean mean,
                                     const char *name, int x, const int *axes, int n_axes,
                                     gboolean keepdims, GError **error);

G_END_DECLS
