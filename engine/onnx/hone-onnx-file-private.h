/* hone-onnx-file-private.h: the allocation budget of hone-onnx-file.c,
 * opened up for its tests. */
#pragma once

#include "hone-onnx-file.h"

G_BEGIN_DECLS

/* hone_onnx_file_parse with this budget instead of the one the file's size
 * gives, and without refusing the file on the scan's estimate first: what
 * is left to stop unpacking is the allocator. */
HoneOnnxFile *hone_onnx_file_parse_with_budget (const guint8 *data, gsize size, const char *name,
                                                gsize budget, GError **error);
/* What the scan estimated unpacking would allocate, and what the model
 * holds now. */
guint64 hone_onnx_file_estimated_bytes (const HoneOnnxFile *file);
gsize   hone_onnx_file_allocated_bytes (const HoneOnnxFile *file);

G_END_DECLS
