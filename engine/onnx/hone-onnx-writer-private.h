/* hone-onnx-writer-private.h: what an op's to_onnx (hone-op.h) uses to
 * write its node into an ONNX model, for op authors only.
 *
 * The exporter (hone-onnx-export.c) walks the graph in order and calls each
 * node's to_onnx with a writer.  The writer knows every Hone value's ONNX
 * name (the graph's input is "input", its output "logits", parameters keep
 * their Hone names, which are torchvision's state_dict keys for built-in
 * architectures), hands out fresh names for the values and constants a
 * decomposition needs, and owns everything it allocates: nothing an op
 * writes needs freeing.  Nodes are written in the default domain at
 * opset HONE_ONNX_EXPORT_OPSET.
 *
 * A typical to_onnx:
 *
 *   static gboolean
 *   relu_to_onnx (const HoneNode *node, HoneOnnxWriter *w, GError **error)
 *   {
 *     hone_onnx_writer_add_simple (w, node, "Relu");
 *     return TRUE;
 *   }
 *
 * This file does not pack or write files (hone-onnx-file.h does). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-op.h"
#include "onnx.pb-c.h"

G_BEGIN_DECLS

#define HONE_ONNX_EXPORT_OPSET 13

/* The graph being exported (read attributes' values, shapes of inputs). */
HoneGraph       *hone_onnx_writer_graph  (HoneOnnxWriter *w);

/* The ONNX name of the node's input i or output i.  Owned by the writer. */
const char      *hone_onnx_writer_input  (HoneOnnxWriter *w, const HoneNode *node, int i);
const char      *hone_onnx_writer_output (HoneOnnxWriter *w, const HoneNode *node, int i);

/* The full rank of the node's input i as ONNX sees it: with the batch
 * dimension for inputs and activations (to turn "every axis but the batch"
 * into explicit axes). */
int              hone_onnx_writer_input_rank (HoneOnnxWriter *w, const HoneNode *node, int i);

/* A value name no other value of the model has: base, or base_2, base_3...
 * Owned by the writer. */
const char      *hone_onnx_writer_fresh  (HoneOnnxWriter *w, const char *base);

/* Appends a node of type op_type (default domain).  name is made unique
 * among node names.  inputs[i] may be "" for an omitted optional input.
 * Returns the node, owned by the writer, for hone_onnx_node_set_*. */
Onnx__NodeProto *hone_onnx_writer_add_node (HoneOnnxWriter *w, const char *op_type, const char *name,
                                            const char *const *inputs, int n_in,
                                            const char *const *outputs, int n_out);

/* The node with Hone's inputs and outputs as they are, named after it. */
Onnx__NodeProto *hone_onnx_writer_add_simple (HoneOnnxWriter *w, const HoneNode *node,
                                              const char *op_type);

/* For ops that are the identity in an inference model (Dropout): output 0
 * becomes another name for input 0 and no node is written, unless the
 * output is a graph output, which gets an Identity node. */
void             hone_onnx_writer_pass_through (HoneOnnxWriter *w, const HoneNode *node);

/* Attributes.  name is the ONNX attribute name. */
void hone_onnx_node_set_int    (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name, int64_t v);
void hone_onnx_node_set_float  (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name, float v);
void hone_onnx_node_set_ints   (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name,
                                const int64_t *v, int n);
void hone_onnx_node_set_string (HoneOnnxWriter *w, Onnx__NodeProto *node, const char *name,
                                const char *v);

/* A constant as an initializer named fresh from base; data is copied.
 * rank 0 is a scalar.  Returns its name, owned by the writer. */
const char *hone_onnx_writer_add_float (HoneOnnxWriter *w, const char *base, const int64_t *dims,
                                        int rank, const float *data);
const char *hone_onnx_writer_add_int64 (HoneOnnxWriter *w, const char *base, const int64_t *dims,
                                        int rank, const int64_t *data);
/* A float scalar constant, one initializer per distinct value however many
 * nodes use it ("hone.const.0.5"). */
const char *hone_onnx_writer_scalar    (HoneOnnxWriter *w, float v);

G_END_DECLS
