/* hone-onnx.h: importing ONNX image classifiers as HoneModels.
 *
 * Reads a model as torch.onnx.export writes torchvision's classifiers
 * (opsets 7 to 17, BatchNorm folded into the convolutions or kept), maps
 * every node onto Hone's ops, folds constant subgraphs (shape arithmetic),
 * finds the classifier head and, when asked, replaces it for another
 * number of classes.  The file is opened with hone-onnx-file.h's checks, so
 * it may be hostile.  See the README's "ONNX import" section for the ops,
 * the naming of layers and blocks, and the limits.
 *
 * This file does not export (hone-model.c saves) and does not train. */
#pragma once

#include <glib.h>

#include "hone-error.h"
#include "hone-model.h"
#include "onnx/hone-onnx-file.h"

G_BEGIN_DECLS

/* Opens path and imports it.  opts NULL: the defaults.  The model's source
 * is path.  Free with hone_model_free. */
HoneModel *hone_onnx_import      (const char *path, const HoneModelOptions *opts, GError **error);
/* The same from a file already open (not taken over). */
HoneModel *hone_onnx_import_file (const HoneOnnxFile *file, const HoneModelOptions *opts,
                                  GError **error);

G_END_DECLS
