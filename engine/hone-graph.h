/* hone-graph.h: a model as a graph of named values and ordered nodes, and
 * the executor that runs it forward and backward.
 *
 * Values are inputs, parameters (trainable weights), buffers (state such as
 * BatchNorm running statistics), constants and activations.  Inputs and
 * activations carry a per-sample shape; the batch size is chosen when the
 * graph is planned.  Parameters, their gradients and buffers live in flat
 * arenas; tensors are views into them.  Nodes are kept in the order they were
 * added, which must be topological (every input exists before its consumer).
 *
 * Freezing: each parameter has `trainable` and `lr_mult`.  Backward visits
 * only nodes whose outputs depend on a trainable parameter (or on an input
 * marked as needing a gradient), and allocates activation gradients only for
 * those values, so a frozen prefix costs a forward pass and nothing more.
 *
 * This file does not know any op: ops are tables (hone-op.h) that nodes point
 * to.  It does not know losses or optimizers either: the caller writes the
 * gradient of the loss into the output's gradient and calls backward. */
#pragma once

#include <glib.h>

#include "hone-error.h"
#include "hone-rng.h"
#include "hone-tensor.h"

G_BEGIN_DECLS

typedef struct _HoneGraph HoneGraph;
typedef struct _HoneOpClass HoneOpClass;

typedef enum
{
  HONE_VALUE_INPUT,       /* fed by the caller, per-sample shape */
  HONE_VALUE_PARAM,       /* learnable weight, full shape */
  HONE_VALUE_BUFFER,      /* non-learnable state saved with the weights (BN running stats) */
  HONE_VALUE_CONST,       /* fixed data (ONNX constants), full shape */
  HONE_VALUE_ACTIVATION,  /* produced by a node, per-sample shape */
} HoneValueKind;

typedef struct
{
  char *name;
  HoneValueKind kind;
  HoneShape shape;        /* per sample for INPUT and ACTIVATION; full otherwise */
  char *block;            /* block this value was created in ("layer1.0"); never NULL */
  int producer;           /* node index, or -1 */
  /* PARAM only */
  gboolean trainable;
  float lr_mult;
  /* PARAM, BUFFER, CONST: offset in floats into the matching arena */
  int64_t offset;
} HoneValue;

typedef struct
{
  const HoneOpClass *op;
  gpointer attrs;         /* the op's own struct; owned by the node */
  char *name;             /* layer name, "layer1.0.conv1" */
  char *block;            /* block name, "layer1.0" */
  int n_in;
  int n_out;
  int *in;                /* value ids; owned */
  int *out;               /* value ids; owned */
} HoneNode;

HoneGraph *hone_graph_new  (void);
void       hone_graph_free (HoneGraph *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneGraph, hone_graph_free)

/* ---- construction ------------------------------------------------------ */

/* Nodes and values added after this call belong to `block` ("" for none). */
void hone_graph_set_block (HoneGraph *g, const char *block);

/* Each returns the new value's id, or -1 with error set when the name is
 * already taken or the shape is invalid. */
int hone_graph_add_input  (HoneGraph *g, const char *name, const HoneShape *per_sample, GError **error);
int hone_graph_add_param  (HoneGraph *g, const char *name, const HoneShape *shape, GError **error);
int hone_graph_add_buffer (HoneGraph *g, const char *name, const HoneShape *shape, float fill, GError **error);
/* data: hone_shape_numel (shape) floats, copied; NULL for zeros. */
int hone_graph_add_const  (HoneGraph *g, const char *name, const HoneShape *shape, const float *data, GError **error);

/* Adds a node of kind `op` whose attrs (allocated with g_malloc or g_new,
 * owned by the graph from now on, even on failure) configure it.  Creates
 * n_out activation values named `name` (one output) or `name:i`, infers
 * their shapes, and stores their ids in out_ids (may be NULL when n_out is
 * 1: use the return value).  Returns the first output's id, or -1 with
 * error naming the node when the inputs do not fit. */
int hone_graph_add_node (HoneGraph *g, const HoneOpClass *op, gpointer attrs, const char *name,
                         const int *in, int n_in, int n_out, int *out_ids, GError **error);

/* Marks a value as a graph output (the logits). */
void hone_graph_add_output (HoneGraph *g, int value);

/* ---- inspection -------------------------------------------------------- */

int               hone_graph_n_values  (const HoneGraph *g);
int               hone_graph_n_nodes   (const HoneGraph *g);
int               hone_graph_n_inputs  (const HoneGraph *g);
int               hone_graph_n_outputs (const HoneGraph *g);
int               hone_graph_input     (const HoneGraph *g, int i);   /* value id */
int               hone_graph_output    (const HoneGraph *g, int i);   /* value id */
const HoneValue  *hone_graph_value     (const HoneGraph *g, int id);
const HoneNode   *hone_graph_node      (const HoneGraph *g, int i);
/* -1 when there is no value of that name. */
int               hone_graph_find      (const HoneGraph *g, const char *name);

/* Parameter and buffer counts in floats. */
int64_t hone_graph_n_params           (const HoneGraph *g);
int64_t hone_graph_n_trainable_params (const HoneGraph *g);

/* Per-sample forward FLOPs (multiply-add counts as 2). */
double hone_graph_flops (const HoneGraph *g);

/* The flat arenas: every PARAM value is params + value->offset, and its
 * gradient grads + value->offset.  Buffers and constants have their own.
 * Pointers stay valid until the next value is added. */
float  *hone_graph_params      (HoneGraph *g);
float  *hone_graph_buffers     (HoneGraph *g);
/* NULL until hone_graph_plan with backward. */
float  *hone_graph_grads       (HoneGraph *g);

/* Data of a PARAM, BUFFER or CONST value (full shape). */
float  *hone_graph_value_data  (HoneGraph *g, int id);

/* ---- freezing ---------------------------------------------------------- */

void hone_graph_set_trainable (HoneGraph *g, int param, gboolean trainable);
void hone_graph_set_lr_mult   (HoneGraph *g, int param, float lr_mult);
/* Sets every parameter whose name starts with one of the prefixes (NULL:
 * all; an empty prefix matches nothing) to `trainable`; returns how many
 * parameters matched. */
int  hone_graph_set_trainable_prefix (HoneGraph *g, const char *const *prefixes, gboolean trainable);
/* For tests and sensitivity maps: ask for the gradient of an input. */
void hone_graph_set_input_needs_grad (HoneGraph *g, int input, gboolean needs);

/* ---- execution --------------------------------------------------------- */

/* Sizes every buffer for batches up to max_batch.  With `backward`, also
 * decides which nodes run backward and keeps the activations they read.
 * Called again automatically by forward when freezing changed. */
gboolean hone_graph_plan (HoneGraph *g, int max_batch, gboolean backward, GError **error);

int      hone_graph_max_batch (const HoneGraph *g);

/* The caller's buffer for an INPUT value: (max_batch, per-sample shape). */
float   *hone_graph_input_data (HoneGraph *g, int input);

/* Runs the forward pass on the first `batch` samples of the inputs.  In
 * training mode BatchNorm uses batch statistics (unless its parameters are
 * frozen) and updates its running statistics, and Dropout drops. */
gboolean hone_graph_forward (HoneGraph *g, int batch, gboolean training, GError **error);

/* A view of any value at the current batch: activations and inputs get
 * shape (batch, per-sample...).  data is NULL for an activation whose
 * buffer was reused (not kept). */
HoneTensor hone_graph_tensor (HoneGraph *g, int id);

/* The gradient buffer of a value: for an activation (batch, ...) or a
 * parameter (a view into the gradient arena); NULL when the value needs no
 * gradient.  The caller writes the loss gradient into the output's.  After
 * backward, the gradients of inputs, outputs and parameters hold results;
 * those of intermediate activations share scratch buffers and do not. */
float   *hone_graph_grad (HoneGraph *g, int id);

/* Propagates the output gradients back, accumulating (+=) into parameter
 * gradients; only valid after a training forward of a graph planned with
 * backward.  Activation gradients other than the outputs' start at zero. */
void     hone_graph_backward (HoneGraph *g);

/* Zeroes the gradients of the trainable parameters. */
void     hone_graph_zero_grad (HoneGraph *g);

/* Whether node i runs in backward under the current plan (for tests and the
 * UI's "frozen prefix costs a forward pass only"). */
gboolean hone_graph_node_runs_backward (const HoneGraph *g, int i);
/* Bytes held by activations and activation gradients under the current plan. */
gsize    hone_graph_activation_bytes (const HoneGraph *g);

/* The random generator ops use (dropout); seed it for reproducible runs. */
HoneRng *hone_graph_rng (HoneGraph *g);

G_END_DECLS
