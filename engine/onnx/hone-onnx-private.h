/* hone-onnx-private.h: the ONNX importer's internals, shared by its files
 * (hone-onnx-import.c: the graph walk, names, blocks, head and model;
 * hone-onnx-nodes.c: ONNX nodes onto Hone's builders; hone-onnx-fold.c:
 * nodes whose inputs are all known, computed at import) and by the
 * conformance runner in tests/.
 *
 * Every ONNX value is an OnnxVal: either a Hone graph value (an input,
 * activation, parameter, buffer or constant already in the graph, id >= 0)
 * or data known at import time (initializers, Constant nodes, folded
 * results), or both once known data was put into the graph.  Known data is
 * kept as doubles, which hold every float32 and every integer an image
 * classifier's shape arithmetic uses exactly; `batch` marks the elements
 * that stand for the batch size (from Shape of an activation), so that a
 * Reshape to (x.size(0), -1) keeps the batch free. */
#pragma once

#include <glib.h>

#include "hone-graph.h"
#include "hone-ops.h"
#include "onnx/hone-onnx-file.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;              /* the ONNX name */
  int id;                  /* Hone value, or -1 */
  /* known data */
  gboolean known;
  HoneShape shape;         /* full shape of known data */
  double *v;               /* (numel) */
  guint8 *batch;           /* (numel) or NULL: element stands for the batch size */
  gboolean is_int;         /* an integer or bool ONNX type */
  gboolean initializer;    /* a graph initializer (or a copy of one by Identity) */
} OnnxVal;

typedef struct _OnnxImport OnnxImport;

struct _OnnxImport
{
  const HoneOnnxFile *file;
  const Onnx__GraphProto *gp;
  HoneGraph *g;
  int opset;
  GHashTable *vals;          /* name -> OnnxVal* (owned) */
  GHashTable *consumers;     /* name -> GUINT count of nodes reading it */
  int64_t static_batch;      /* the graph input's declared first dimension, or 1 */
  gboolean *done;            /* (n_node): handled by a fusion with an earlier node */
  char **layer;              /* (n_node) layer names */
  char **block;              /* (n_node) block names */
  gboolean *after_head;      /* (n_node): between the classifier and the output */
  GHashTable *conv_pads;     /* value name -> int[4]: a zero Pad folded into the Conv reading it */

  /* the classifier head, found before nodes are added */
  int head_node;             /* index of the Gemm / MatMul / Conv, or -1 */
  int head_bias_node;        /* the Add after a MatMul head, or -1 */
  int head_classes;          /* classes of the file's head */
  int new_classes;           /* > 0: build the head for this many classes */
  uint64_t seed;
  double dropout;            /* >= 0: every Dropout node's probability */
  GPtrArray *head_params;    /* names (owned) */

  /* the node being imported */
  const Onnx__NodeProto *node;
  int node_index;
};

/* Options of the graph import below. */
typedef struct
{
  int height, width;         /* 0: the file's; else the input's spatial size */
  int classes;               /* > 0: the head must give this many classes */
  gboolean replace_head;     /* a fresh head even when the classes fit */
  const char *const *class_names;  /* the classes to predict, or NULL (hone_model_classes_fit) */
  uint64_t seed;
  double dropout;            /* < 0: the file's */
  /* Graph inputs fed as known data (name -> OnnxVal*, not taken over): the
   * conformance runner makes a test's weights and shapes known this way. */
  GHashTable *known_inputs;
  /* The conformance runner: a graph may have no input left and outputs
   * that are known data (not added as graph outputs). */
  gboolean allow_known_outputs;
} OnnxImportOptions;

/* Builds the graph of file.  On success *imp_out (may be NULL) keeps the
 * import's state for the caller (free with onnx_import_free); the graph
 * belongs to the import until taken with onnx_import_take_graph. */
OnnxImport *onnx_import_graph    (const HoneOnnxFile *file, const OnnxImportOptions *opts,
                                  GError **error);
HoneGraph  *onnx_import_take_graph (OnnxImport *imp);
void        onnx_import_free     (OnnxImport *imp);

/* ---- values ------------------------------------------------------------- */

OnnxVal *onnx_val_new_known (const char *name, const HoneShape *shape, gboolean is_int);
void     onnx_val_free      (OnnxVal *v);
/* Registers v under its name (replacing a previous value of the name). */
void     onnx_import_set    (OnnxImport *imp, OnnxVal *v);
OnnxVal *onnx_import_get    (OnnxImport *imp, const char *name);
/* A Hone value id for v, putting known data into the graph as `kind`
 * (PARAM, BUFFER or CONST) the first time; role names the use ("weight",
 * "bias") for renaming exporter-generated initializer names.  -1 and error
 * when the graph refuses it. */
int      onnx_import_value  (OnnxImport *imp, OnnxVal *v, HoneValueKind kind, const char *role,
                             GError **error);
/* Whether v is known data. */
static inline gboolean onnx_val_known (const OnnxVal *v) { return v && v->known; }

/* The full shape (batch first) of a value in the graph or known. */
HoneShape onnx_import_shape (OnnxImport *imp, const OnnxVal *v);

/* ---- attributes of the current node ------------------------------------- */

const Onnx__AttributeProto *onnx_attr (const Onnx__NodeProto *n, const char *name);
int64_t  onnx_attr_int    (const Onnx__NodeProto *n, const char *name, int64_t dflt);
float    onnx_attr_float  (const Onnx__NodeProto *n, const char *name, float dflt);
/* A copy (g_free) or NULL when absent. */
char    *onnx_attr_string (const Onnx__NodeProto *n, const char *name);
/* Number of ints (-1 when absent); *ints points into the node. */
int      onnx_attr_ints   (const Onnx__NodeProto *n, const char *name, const int64_t **ints);

/* "node 'NAME' (OpType): ..." in HONE_ERROR_ATTRIBUTE (code given). */
void onnx_node_error (GError **error, int code, const Onnx__NodeProto *n, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

/* ---- node handlers --------------------------------------------------------- */

/* Adds the node's Hone ops (or folds it); the outputs are registered. */
typedef gboolean (*OnnxNodeFunc) (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in,
                                  int n_in, GError **error);

/* The handler that adds a node with at least one input not known, or NULL
 * when Hone has no such op. */
OnnxNodeFunc onnx_node_func (const char *op_type);
/* The folder for a node whose inputs are all known (Shape: any input), or
 * NULL. */
OnnxNodeFunc onnx_fold_func (const char *op_type);
/* Whether op_type is one Hone imports (either way): the conformance runner
 * lists the supported ops with it. */
gboolean     onnx_op_supported (const char *op_type);

/* Folding helpers for the node handlers. */
gboolean onnx_fold_node (OnnxImport *imp, const Onnx__NodeProto *n, OnnxVal **in, int n_in,
                         GError **error);
/* Known data as int64 (clamped to the int64 range); (numel) g_malloc'd. */
int64_t *onnx_val_ints (const OnnxVal *v);
/* Known data of a value as floats; g_malloc'd. */
float   *onnx_val_floats (const OnnxVal *v);

/* Initializes the head's new parameter: torch's Linear / Conv2d default,
 * uniform in +-1/sqrt(fan_in), from rng. */
void onnx_init_uniform (float *data, int64_t n, int64_t fan_in, HoneRng *rng);

G_END_DECLS
