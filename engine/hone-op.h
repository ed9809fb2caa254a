/* hone-op.h: the interface every op kind implements, for op authors.
 *
 * Each op kind lives in one file under engine/ops/ and exports one
 * HoneOpClass.  Its attributes (and nothing else) live in its own struct,
 * which the node owns.  The executor (hone-graph.c) calls the table:
 *
 *   infer_shape  full input shapes -> full output shapes, or a GError naming
 *                the node and what was expected.  Inputs and activations have
 *                the batch as dimension 0; parameters and constants do not.
 *                Must not depend on the batch size beyond passing it through.
 *   forward      computes outputs from inputs for ctx->batch samples.
 *   backward     accumulates (+=) into ctx->din[i].data for every input i
 *                whose data is not NULL, reading ctx->dout.  Where the
 *                class sets bit i of din_store and the executor sets bit i
 *                of ctx->din_fresh, din[i] instead holds garbage and
 *                backward must store (=) every element of it: the executor
 *                then skips zeroing it, and the op saves a read.
 *   flops        forward FLOPs for one sample (shapes at batch 1).
 *   workspace_size / saved_size (optional)
 *                bytes of scratch shared by all nodes (valid during one call)
 *                and of per-node memory that lives from forward to backward
 *                (batch-norm statistics, max-pool indices, dropout masks),
 *                for shapes at the planned maximum batch.  ctx->saved is NULL
 *                when the graph was planned without backward.
 *   to_onnx      (optional) writes the node into an ONNX inference model
 *                through the writer (onnx/hone-onnx-writer-private.h):
 *                opset-13 nodes of the default domain, decomposed where
 *                ONNX has no such op.  NULL: the exporter refuses a graph
 *                that uses the op, naming the node.
 *
 * keep_inputs / keep_outputs tell the executor which values backward reads;
 * the others may be overwritten once forward is past them. */
#pragma once

#include "hone-graph.h"

G_BEGIN_DECLS

/* The ONNX exporter's state, opaque to everything but to_onnx. */
typedef struct _HoneOnnxWriter HoneOnnxWriter;

typedef struct
{
  HoneGraph        *graph;
  const HoneNode   *node;
  gconstpointer     attrs;       /* node->attrs */
  int               batch;
  gboolean          training;
  const HoneTensor *in;          /* n_in tensors; inputs are read-only */
  const HoneTensor *out;         /* n_out tensors */
  const HoneTensor *din;         /* backward: n_in; .data NULL when not needed */
  const HoneTensor *dout;        /* backward: n_out */
  guint32           din_fresh;   /* backward: bit i: this node is the first to write din[i],
                                  * which is not zeroed: store, do not add (only bits of
                                  * the class's din_store are ever set) */
  const HoneValue *const *in_values;   /* metadata of the inputs (kind, trainable) */
  gpointer          saved;
  gsize             saved_size;
  gpointer          workspace;   /* 64-byte aligned */
  gsize             workspace_size;
  HoneRng          *rng;
} HoneOpCtx;

struct _HoneOpClass
{
  const char *name;              /* ONNX op type where one exists: "Conv" */
  guint32     keep_inputs;       /* bit i: backward reads input i */
  guint32     keep_outputs;      /* bit i: backward reads output i */
  guint32     din_store;         /* bit i: backward can store into din[i] (ctx->din_fresh) */

  gboolean (*infer_shape)    (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error);
  void     (*forward)        (const HoneOpCtx *ctx);
  void     (*backward)       (const HoneOpCtx *ctx);
  double   (*flops)          (const HoneNode *node, const HoneShape *in, const HoneShape *out);
  gsize    (*workspace_size) (const HoneNode *node, const HoneShape *in, const HoneShape *out, gboolean backward);
  gsize    (*saved_size)     (const HoneNode *node, const HoneShape *in, const HoneShape *out);
  void     (*free_attrs)     (gpointer attrs);   /* NULL: g_free */
  gboolean (*to_onnx)        (const HoneNode *node, HoneOnnxWriter *writer, GError **error);
};

/* Sets error to "node 'NAME' (Op): MESSAGE" in HONE_ERROR_SHAPE. */
void hone_op_set_shape_error (GError **error, const HoneNode *node, const char *format, ...) G_GNUC_PRINTF (3, 4);
/* Same, in HONE_ERROR_ATTRIBUTE. */
void hone_op_set_attr_error (GError **error, const HoneNode *node, const char *format, ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
