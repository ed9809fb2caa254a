/* hone-onnx-file.h: reading and writing ONNX files, treating every file
 * as hostile.
 *
 * Reading checks, before protobuf-c unpacks anything, that messages nest no
 * deeper than HONE_ONNX_MAX_DEPTH (so a deeply nested file cannot exhaust the
 * stack) and unpacks with an allocator that refuses to go beyond a budget
 * proportional to the file's size.  Tensor data is checked against the
 * declared shape with overflow-safe arithmetic; external data must be a
 * regular file inside the model's folder (no "..", no absolute path, no
 * symlink) and is bounded by that file's size.  Every problem is a GError
 * in HONE_ERROR naming the file and what is wrong.
 *
 * This file knows the container, not the graph: the importer
 * (hone-onnx.h) maps nodes onto Hone's ops. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include "hone-error.h"
#include "hone-tensor.h"
#include "onnx.pb-c.h"

G_BEGIN_DECLS

#define HONE_ONNX_MAX_DEPTH      64
#define HONE_ONNX_MAX_FILE_SIZE  (G_GINT64_CONSTANT (4) << 30)   /* 4 GiB */
/* Unpacking may allocate at most HONE_ONNX_ALLOC_SLACK bytes plus
 * HONE_ONNX_ALLOC_PER_BYTE per byte of the file.  Honest files stay far
 * below (a packed int64 of one-byte varints expands 8 times); files made
 * of millions of empty messages do not. */
#define HONE_ONNX_ALLOC_PER_BYTE 32
#define HONE_ONNX_ALLOC_SLACK    ((gsize) 16 << 20)                    /* 16 MiB */

typedef struct _HoneOnnxFile HoneOnnxFile;

HoneOnnxFile *hone_onnx_file_open  (const char *path, GError **error);
/* The same checks on bytes in memory (fuzzing, tests); dir is where
 * external data would be looked up, or NULL to refuse external data. */
HoneOnnxFile *hone_onnx_file_parse (const guint8 *data, gsize size, const char *name,
                                    const char *dir, GError **error);
void          hone_onnx_file_free  (HoneOnnxFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneOnnxFile, hone_onnx_file_free)

/* Owned by the file. */
const Onnx__ModelProto *hone_onnx_file_model (const HoneOnnxFile *file);
const char             *hone_onnx_file_path  (const HoneOnnxFile *file);
/* The opset of the default ("" or "ai.onnx") domain, 0 when absent. */
int64_t                 hone_onnx_file_opset (const HoneOnnxFile *file);
/* The file's name for messages (UTF-8, control characters replaced). */
const char             *hone_onnx_file_display_name (const HoneOnnxFile *file);

/* ONNX's name of a TensorProto.DataType ("FLOAT", "BFLOAT16"); NULL for a
 * value ONNX does not define. */
const char *hone_onnx_dtype_name (int32_t data_type);

/* A tensor's full shape and its elements converted to float (FLOAT,
 * DOUBLE, FLOAT16, BFLOAT16, INT8..INT64, UINT8..UINT64, BOOL), from
 * raw_data, the typed fields or external data.  *data is g_malloc'd (the
 * caller frees); a tensor of zero elements gives a non-NULL empty buffer. */
gboolean hone_onnx_tensor_float (const HoneOnnxFile *file, const Onnx__TensorProto *tensor,
                                 HoneShape *shape, float **data, GError **error);
/* The same as exact 64-bit integers (shape constants, axes, pads). */
gboolean hone_onnx_tensor_int64 (const HoneOnnxFile *file, const Onnx__TensorProto *tensor,
                                 HoneShape *shape, int64_t **data, GError **error);

/* Packs and writes a model atomically (temporary file in the same folder,
 * fsync, rename). */
gboolean hone_onnx_model_save (const Onnx__ModelProto *model, const char *path, GError **error);

G_END_DECLS
