/* hone-onnx-export.h: writing a Hone model as an ONNX file that other tools
 * run (onnx.checker, onnxruntime, OpenCV's dnn module).
 *
 * The file is an inference model at opset 13 (default domain, IR version 7):
 * one input "input" of shape (N, C, H, W) with a symbolic batch "N", one
 * output "logits" (N, K), the weights as initializers under Hone's value
 * names (torchvision state_dict keys for the built-in architectures).
 * BatchNormalization is written with its running statistics, Dropout is
 * left out, and ops without an opset-13 equivalent are decomposed (GELU,
 * HardSwish, SiLU).  metadata_props carry what a reader needs to feed the
 * model: hone.classes (JSON array of names), hone.mean and hone.std
 * (comma-separated, per channel), hone.input ("CxHxW") and, when known,
 * hone.arch, the same keys as Hone's safetensors model files.
 *
 * Each op writes itself (HoneOpClass.to_onnx); a graph with an op that
 * cannot is refused with an error naming the node and the op.  Files are
 * written atomically: nothing is left behind on failure.
 *
 * This file does not read ONNX (hone-onnx.h does). */
#pragma once

#include <glib.h>

#include "hone-error.h"
#include "hone-graph.h"
#include "hone-model.h"

G_BEGIN_DECLS

/* What the file says about the graph besides its nodes; every field may be
 * left 0 / NULL. */
typedef struct
{
  const char *arch;                 /* built-in architecture, or NULL */
  const char *description;          /* the model's doc_string, or NULL */
  const char *const *class_names;   /* n_classes names, or NULL: "class 0", "class 1"... */
  int n_classes;                    /* 0: the output's last dimension */
  int channels;                     /* 0: the input's own shape */
  int height;
  int width;
  const float *mean;                /* MIN (channels, 4) values each, or NULL: no */
  const float *std;                 /* hone.mean / hone.std */
} HoneOnnxExportInfo;

/* Writes the model to path (any name; ".onnx" by convention). */
gboolean hone_onnx_export (const HoneModel *model, const char *path, GError **error);

/* The same for a bare graph with one input and one output, for callers
 * without a HoneModel (the trainer).  info may be NULL. */
gboolean hone_onnx_export_graph (HoneGraph *graph, const HoneOnnxExportInfo *info,
                                 const char *path, GError **error);

/* The serialised ModelProto in memory, for tests and fuzzing corpora. */
GBytes  *hone_onnx_export_to_bytes (HoneGraph *graph, const HoneOnnxExportInfo *info,
                                    GError **error);

G_END_DECLS
