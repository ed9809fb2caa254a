/* hone-op-private.h: helpers shared by the op files, for op authors only. */
#pragma once

#include "hone-op.h"

G_BEGIN_DECLS

/* infer_shape for one input whose output has the same shape. */
gboolean hone_op_infer_same_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error);

/* flops: one per output element. */
double   hone_op_flops_per_output (const HoneNode *node, const HoneShape *in, const HoneShape *out);

/* flops: none (data movement only). */
double   hone_op_flops_none (const HoneNode *node, const HoneShape *in, const HoneShape *out);

/* forward and backward of ops that only reinterpret the shape (Flatten,
 * Reshape): the output is a copy of the input, the input's gradient gets
 * the output's added. */
void     hone_op_copy_forward  (const HoneOpCtx *ctx);
void     hone_op_copy_backward (const HoneOpCtx *ctx);

/* to_onnx of ops with no attributes whose ONNX op type is their class
 * name (Relu, Add, MatMul...): one node, the same inputs and outputs. */
gboolean hone_op_to_onnx_same (const HoneNode *node, HoneOnnxWriter *writer, GError **error);

/* Duplicates an attribute struct for a builder: g_memdup2 (attrs, size). */
#define hone_op_attrs_dup(attrs) ((gpointer) g_memdup2 ((attrs), sizeof *(attrs)))

G_END_DECLS
