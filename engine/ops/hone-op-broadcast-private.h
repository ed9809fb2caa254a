/* hone-op-broadcast-private.h: numpy/ONNX multidirectional broadcasting for
 * the binary elementwise ops (Add, Sub, Mul, Div), for op authors only.
 *
 * A broadcast y = a (op) b is described once per call by merging adjacent
 * dimensions that broadcast alike, so that the common cases become short:
 * same shapes are one run, a per-channel (C, 1, 1) operand against
 * (N, C, H, W) is N*C runs of H*W with one b value each, a scalar is one run
 * with step 0.  The op files supply what to do with one run; these helpers
 * cut the work into runs and spread them over the engine's threads.  For the
 * gradient of an operand that was broadcast, runs are arranged so that no
 * two threads write the same gradient element and every element sums its
 * terms in the same order whatever the thread count (reproducible runs).
 *
 * Not here: the arithmetic (in each op file) and MatMul's matrix
 * broadcasting (hone-op-matmul.c). */
#pragma once

#include "ops/hone-op-private.h"

G_BEGIN_DECLS

typedef struct
{
  int rank;                            /* after merging dimensions; >= 1 */
  int64_t dim[HONE_MAX_RANK];          /* output extents */
  int64_t stride[2][HONE_MAX_RANK];    /* element strides of a and b; 0 where broadcast */
  int64_t numel;                       /* output elements */
  int64_t numel_in[2];                 /* elements of a and b */
} HoneBroadcast;

/* One run of n consecutive output elements.  a and b advance by as and bs
 * (0 or 1) per element.  In forward, dst is the output (n elements, ds 1).
 * In backward, dy is the output gradient (n contiguous elements) and dst is
 * the operand's gradient: n elements to accumulate into (ds 1), or a single
 * element that accumulates the sum of the run's n terms (ds 0). */
typedef struct
{
  float *dst;
  const float *dy;
  const float *a;
  const float *b;
  int64_t ds;
  int64_t as;
  int64_t bs;
  int64_t n;
} HoneBroadcastRun;

typedef void (*HoneBroadcastFunc) (const HoneBroadcastRun *run);

/* Describes the broadcast of full shapes a and b; FALSE when they do not
 * broadcast (numpy rules: right-aligned, each pair equal or one of them 1). */
gboolean hone_broadcast_init (HoneBroadcast *bc, const HoneShape *a, const HoneShape *b);

/* infer_shape for a two-input broadcasting op: a shape error naming the
 * node and both shapes when they do not broadcast. */
gboolean hone_op_infer_broadcast (const HoneNode *node, const HoneShape *in, HoneShape *out,
                                  GError **error);

/* For a builder: checks that broadcasting n operands keeps the batch as
 * dimension 0 of the result at every batch size: each input or activation
 * must have the result's rank (its batch aligned with the result's), and
 * each parameter or constant fewer dimensions or a leading 1.  Invalid ids
 * are left for hone_graph_add_node to report.  The error names the node. */
gboolean hone_op_check_broadcast_batch (HoneGraph *g, const HoneOpClass *op, const char *name,
                                        const int *in, int n, GError **error);

/* y = f(a, b) over all runs, in parallel. */
void hone_broadcast_forward (const HoneBroadcast *bc, float *y, const float *a, const float *b,
                             HoneBroadcastFunc func);

/* The forward of a binary op: out[0] = func (in[0], in[1]), broadcast. */
void hone_broadcast_op_forward (const HoneOpCtx *ctx, HoneBroadcastFunc func);

/* The gradient run of an operand the result follows with slope 1 (both of
 * Add's, Sub's first): dx += dy, summed over broadcast dimensions. */
void hone_broadcast_grad_identity (const HoneBroadcastRun *run);

/* Accumulates the gradient of operand `which` (0: a, 1: b) into dx, by runs
 * over dy (the output's gradient), a and b.  a or b may be NULL when func
 * does not read it. */
void hone_broadcast_backward (const HoneBroadcast *bc, int which, float *dx, const float *dy,
                              const float *a, const float *b, HoneBroadcastFunc func);

/* Sum of n floats with eight independent partial sums (vectorisable, and
 * more accurate than one running sum). */
static inline float
hone_sum_f32 (const float *restrict x, int64_t n)
{
  float acc[8] = { 0 };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      acc[j] += x[i + j];
  float tail = 0.0f;
  for (; i < n; i++)
    tail += x[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

/* Terms of a reduction are computed into a stack block of this many floats,
 * then summed with hone_sum_f32. */
#define HONE_BROADCAST_BLOCK 256

G_END_DECLS
