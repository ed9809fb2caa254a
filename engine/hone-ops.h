/* hone-ops.h: every op kind the engine knows, and a builder for each.
 *
 * A builder adds one node to a graph and returns its output value's id, or
 * -1 with error set (naming the node) when inputs or attributes do not fit.
 * Value ids come from hone_graph_add_input/param/const or earlier builders.
 * Parameters are created by the caller (the architectures in hone-arch.c,
 * the ONNX importer), so builders never invent names.
 *
 * Semantics follow ONNX (and PyTorch where ONNX leaves a choice), since both
 * torchvision and ONNX models map onto these nodes. */
#pragma once

#include "hone-graph.h"
#include "hone-op.h"

G_BEGIN_DECLS

/* ---- op tables (one per file in engine/ops/) ---------------------------- */

extern const HoneOpClass hone_op_conv;
extern const HoneOpClass hone_op_batch_norm;
extern const HoneOpClass hone_op_relu;
extern const HoneOpClass hone_op_clip;
extern const HoneOpClass hone_op_sigmoid;
extern const HoneOpClass hone_op_hard_sigmoid;
extern const HoneOpClass hone_op_silu;
extern const HoneOpClass hone_op_hard_swish;
extern const HoneOpClass hone_op_gelu;
extern const HoneOpClass hone_op_max_pool;
extern const HoneOpClass hone_op_avg_pool;
extern const HoneOpClass hone_op_global_avg_pool;
extern const HoneOpClass hone_op_gemm;
extern const HoneOpClass hone_op_matmul;
extern const HoneOpClass hone_op_add;
extern const HoneOpClass hone_op_sub;
extern const HoneOpClass hone_op_mul;
extern const HoneOpClass hone_op_div;
extern const HoneOpClass hone_op_concat;
extern const HoneOpClass hone_op_flatten;
extern const HoneOpClass hone_op_reshape;
extern const HoneOpClass hone_op_transpose;
extern const HoneOpClass hone_op_dropout;
extern const HoneOpClass hone_op_softmax;
extern const HoneOpClass hone_op_layer_norm;
extern const HoneOpClass hone_op_reduce_mean;
extern const HoneOpClass hone_op_reduce_sum;
extern const HoneOpClass hone_op_erf;
extern const HoneOpClass hone_op_sqrt;
extern const HoneOpClass hone_op_tanh;
extern const HoneOpClass hone_op_leaky_relu;
extern const HoneOpClass hone_op_pow;
extern const HoneOpClass hone_op_slice;
extern const HoneOpClass hone_op_split;
extern const HoneOpClass hone_op_pad;

/* NULL-terminated list of every table, for lookups by name. */
extern const HoneOpClass *const hone_op_classes[];
const HoneOpClass *hone_op_class_find (const char *name);

/* ---- attributes -------------------------------------------------------- */

/* Conv: x (N, C, H, W), w (M, C/group, kH, kW), optional bias b (M).
 * pads are ONNX-ordered: top, left, bottom, right (asymmetric allowed). */
typedef struct
{
  int stride[2];
  int pad[4];
  int dilation[2];
  int group;
} HoneConvAttrs;

/* BatchNormalization: x (N, C, ...), scale (C), bias (C), running mean (C),
 * running var (C).  momentum as PyTorch: running = (1 - m) running + m batch,
 * running var updated with the unbiased batch variance. */
typedef struct
{
  float eps;
  float momentum;
} HoneBatchNormAttrs;

/* MaxPool / AveragePool on (N, C, H, W); pads as Conv. */
typedef struct
{
  int kernel[2];
  int stride[2];
  int pad[4];
  int dilation[2];          /* MaxPool only */
  gboolean ceil_mode;
  gboolean count_include_pad; /* AveragePool only */
} HonePoolAttrs;

/* Gemm: Y = alpha * op(A) op(B) + beta * C, A (N, K) or (K, N) with trans_a,
 * B (K, M) or (M, K) with trans_b, C broadcastable to (N, M).  PyTorch's
 * Linear is trans_b with alpha = beta = 1. */
typedef struct
{
  float alpha;
  float beta;
  gboolean trans_a;
  gboolean trans_b;
} HoneGemmAttrs;

/* Reshape: ONNX semantics, shape includes dimension 0 (batch); 0 copies the
 * input dimension, -1 is inferred.  The batch dimension must be preserved. */
typedef struct
{
  int rank;
  int64_t shape[HONE_MAX_RANK];
} HoneReshapeAttrs;

typedef struct
{
  int rank;
  int perm[HONE_MAX_RANK];  /* perm[0] must be 0: the batch stays first */
} HoneTransposeAttrs;

/* Pad modes (ONNX Pad's mode attribute; PyTorch's F.pad 'constant',
 * 'reflect', 'replicate'). */
typedef enum
{
  HONE_PAD_CONSTANT,
  HONE_PAD_REFLECT,
  HONE_PAD_EDGE,
} HonePadMode;

/* ---- builders ---------------------------------------------------------- */

int hone_graph_conv            (HoneGraph *g, const char *name, int x, int w, int b,
                                const HoneConvAttrs *attrs, GError **error);
int hone_graph_batch_norm      (HoneGraph *g, const char *name, int x, int scale, int bias,
                                int mean, int var, const HoneBatchNormAttrs *attrs, GError **error);
int hone_graph_relu            (HoneGraph *g, const char *name, int x, GError **error);
int hone_graph_clip            (HoneGraph *g, const char *name, int x, float min, float max, GError **error);
int hone_graph_sigmoid         (HoneGraph *g, const char *name, int x, GError **error);
/* y = max(0, min(1, alpha x + beta)); PyTorch's Hardsigmoid is alpha 1/6, beta 0.5. */
int hone_graph_hard_sigmoid    (HoneGraph *g, const char *name, int x, float alpha, float beta, GError **error);
int hone_graph_silu            (HoneGraph *g, const char *name, int x, GError **error);
int hone_graph_hard_swish      (HoneGraph *g, const char *name, int x, GError **error);
/* approximate: FALSE for the exact erf form, TRUE for the tanh form. */
int hone_graph_gelu            (HoneGraph *g, const char *name, int x, gboolean tanh_approx, GError **error);
int hone_graph_max_pool        (HoneGraph *g, const char *name, int x, const HonePoolAttrs *attrs, GError **error);
int hone_graph_avg_pool        (HoneGraph *g, const char *name, int x, const HonePoolAttrs *attrs, GError **error);
/* (N, C, H, W) -> (N, C, 1, 1) */
int hone_graph_global_avg_pool (HoneGraph *g, const char *name, int x, GError **error);
/* c may be -1 (no bias term). */
int hone_graph_gemm            (HoneGraph *g, const char *name, int a, int b, int c,
                                const HoneGemmAttrs *attrs, GError **error);
/* numpy matmul with broadcasting of leading dimensions. */
int hone_graph_matmul          (HoneGraph *g, const char *name, int a, int b, GError **error);
int hone_graph_add             (HoneGraph *g, const char *name, int a, int b, GError **error);
int hone_graph_sub             (HoneGraph *g, const char *name, int a, int b, GError **error);
int hone_graph_mul             (HoneGraph *g, const char *name, int a, int b, GError **error);
int hone_graph_div             (HoneGraph *g, const char *name, int a, int b, GError **error);
/* axis counts the batch dimension (axis 1 is channels); negative from the end. */
int hone_graph_concat          (HoneGraph *g, const char *name, const int *xs, int n, int axis, GError **error);
int hone_graph_flatten         (HoneGraph *g, const char *name, int x, int axis, GError **error);
int hone_graph_reshape         (HoneGraph *g, const char *name, int x, const int64_t *shape, int rank, GError **error);
int hone_graph_transpose       (HoneGraph *g, const char *name, int x, const int *perm, int rank, GError **error);
/* Inverted dropout: in training zeroes with probability p and scales by 1/(1-p). */
int hone_graph_dropout         (HoneGraph *g, const char *name, int x, float p, GError **error);
int hone_graph_softmax         (HoneGraph *g, const char *name, int x, int axis, GError **error);

/* ---- ops the ONNX importer needs beyond the built-in architectures ---- */

int hone_graph_erf             (HoneGraph *g, const char *name, int x, GError **error);
int hone_graph_sqrt            (HoneGraph *g, const char *name, int x, GError **error);
int hone_graph_tanh            (HoneGraph *g, const char *name, int x, GError **error);
/* y = x for x >= 0, alpha x below (ONNX's default alpha is 0.01). */
int hone_graph_leaky_relu      (HoneGraph *g, const char *name, int x, float alpha, GError **error);
/* "Pow" with a constant scalar exponent (the importer checks that the
 * exponent is a scalar constant). */
int hone_graph_pow             (HoneGraph *g, const char *name, int x, float exponent, GError **error);
/* axes count the batch dimension, negative from the end; the batch axis
 * (0) cannot be reduced (an error naming the node); n_axes 0 reduces every
 * axis but the batch.  keepdims keeps reduced axes as size 1. */
int hone_graph_reduce_mean     (HoneGraph *g, const char *name, int x, const int *axes, int n_axes,
                                gboolean keepdims, GError **error);
int hone_graph_reduce_sum      (HoneGraph *g, const char *name, int x, const int *axes, int n_axes,
                                gboolean keepdims, GError **error);
/* ONNX-17 LayerNormalization: normalises over dimensions axis..rank-1
 * (axis counts the batch, negative from the end, and must be >= 1); scale
 * and bias (bias may be -1) have shape x.shape[axis:]; biased variance, eps
 * inside the square root, as torch.nn.LayerNorm. */
int hone_graph_layer_norm      (HoneGraph *g, const char *name, int x, int scale, int bias, int axis,
                                float eps, GError **error);
/* ONNX Slice with constant starts / ends / axes / steps (n entries each;
 * steps may be NULL for all 1).  Axes count the batch and may not include
 * it; ONNX's clamping rules apply, including INT64_MAX / INT64_MIN ends and
 * negative steps.  A slice that keeps nothing is an error. */
int hone_graph_slice           (HoneGraph *g, const char *name, int x, const int64_t *starts,
                                const int64_t *ends, const int *axes, const int64_t *steps, int n,
                                GError **error);
/* ONNX Split along axis (not the batch) into n_out (1 to HONE_MAX_RANK)
 * parts of the given sizes (NULL: equal parts, an error when they do not
 * divide the axis).  Output ids go into out_ids; returns the first.  The
 * outputs are named "NAME:0", "NAME:1", ... */
int hone_graph_split           (HoneGraph *g, const char *name, int x, int axis, const int64_t *sizes,
                                int n_out, int *out_ids, GError **error);
/* ONNX Pad: pads[2 * rank] in ONNX order (every begin, then every end),
 * rank counting the batch, whose pads must be 0; negative pads crop.
 * value is used by HONE_PAD_CONSTANT only. */
int hone_graph_pad             (HoneGraph *g, const char *name, int x, const int64_t *pads, int rank,
                                HonePadMode mode, float value, GError **error);

G_END_DECLS
