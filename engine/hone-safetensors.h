/* hone-safetensors.h: reading and writing safetensors files, and loading
 * and saving a graph's weights by name.
 *
 * The format (https://github.com/huggingface/safetensors): 8 bytes holding
 * the header length N (little-endian u64), N bytes of UTF-8 JSON mapping
 * tensor names to {"dtype", "shape", "data_offsets": [begin, end]} plus an
 * optional "__metadata__" object of strings, then the data section, which
 * the tensors cover contiguously (little-endian, row-major).
 *
 * The reader treats every file as hostile.  It maps the file once and checks
 * everything the reference implementation (the Rust crate) checks, with the
 * same limits, before anyone sees a tensor: the header length (at most
 * 100,000,000 bytes, and inside the file), UTF-8, strict JSON (RFC 8259, no
 * comments or other extensions, nesting at most 128 deep), a top-level
 * object, known dtypes, shapes and offsets of non-negative integers, element
 * counts and byte lengths with overflow-checked arithmetic, offsets that
 * cover the data section exactly (no gap, no overlap, nothing after the
 * last tensor, nothing missing), metadata values that are strings.  Hone is
 * stricter than the reference in three places: a name used twice in one
 * JSON object is an error (the reference keeps the last), integers outside
 * the int64 range are an error, and strings may not contain U+0000.
 *
 * The writer writes what the reference writes: tensors sorted by dtype
 * alignment (largest first) and then by name, the header padded with spaces
 * to a multiple of 8 bytes, metadata first.  Files are replaced atomically
 * (temporary file in the same folder, fsync, rename).
 *
 * This file does not build models and knows nothing of ops: loading into a
 * graph matches names and shapes, nothing more. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"
#include "hone-graph.h"
#include "hone-tensor.h"

G_BEGIN_DECLS

/* The reference's dtypes, in its order (increasing alignment), which is the
 * order the writer sorts by. */
typedef enum
{
  HONE_DTYPE_BOOL,
  HONE_DTYPE_F4,
  HONE_DTYPE_F6_E2M3,
  HONE_DTYPE_F6_E3M2,
  HONE_DTYPE_U8,
  HONE_DTYPE_I8,
  HONE_DTYPE_F8_E5M2,
  HONE_DTYPE_F8_E4M3,
  HONE_DTYPE_F8_E8M0,
  HONE_DTYPE_I16,
  HONE_DTYPE_U16,
  HONE_DTYPE_F16,
  HONE_DTYPE_BF16,
  HONE_DTYPE_I32,
  HONE_DTYPE_U32,
  HONE_DTYPE_F32,
  HONE_DTYPE_C64,
  HONE_DTYPE_F64,
  HONE_DTYPE_I64,
  HONE_DTYPE_U64,
  HONE_N_DTYPES
} HoneDtype;

/* "F32"; NULL for a value out of range. */
const char *hone_dtype_name (HoneDtype dtype);
/* Bits per element (4 for F4, 6 for F6_*, 8 for U8 ...). */
int         hone_dtype_bits (HoneDtype dtype);
/* FALSE when the name is not a dtype the reference knows. */
gboolean    hone_dtype_from_name (const char *name, HoneDtype *dtype);

/* The reference implementation's limit on the header length. */
#define HONE_SAFETENSORS_MAX_HEADER 100000000

/* ---- reading ----------------------------------------------------------- */

typedef struct _HoneSafetensors HoneSafetensors;

/* One tensor of an open file; everything points into the file, owned by it. */
typedef struct
{
  const char    *name;
  HoneDtype      dtype;
  int            rank;
  const int64_t *dims;     /* rank sizes, each >= 0 */
  int64_t        numel;
  const guint8  *data;     /* nbytes of raw little-endian data, any alignment */
  gsize          nbytes;
} HoneSafetensorsTensor;

/* Maps and validates the file.  Returns NULL with HONE_ERROR_FORMAT naming
 * the file and the problem, or HONE_ERROR_IO when it cannot be read. */
HoneSafetensors *hone_safetensors_open (const char *path, GError **error);
/* Same checks on bytes in memory (not copied: they must outlive the
 * result).  `what` names them in messages. */
HoneSafetensors *hone_safetensors_open_bytes (const guint8 *bytes, gsize size, const char *what,
                                              GError **error);
void             hone_safetensors_free (HoneSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneSafetensors, hone_safetensors_free)

/* Tensors in file order (by data offset). */
int                          hone_safetensors_n_tensors (const HoneSafetensors *st);
const HoneSafetensorsTensor *hone_safetensors_tensor    (const HoneSafetensors *st, int i);
/* -1 when there is no tensor of that name. */
int                          hone_safetensors_find      (const HoneSafetensors *st, const char *name);
/* The "__metadata__" strings, name -> value; empty when there are none.
 * Owned by st. */
GHashTable                  *hone_safetensors_metadata  (const HoneSafetensors *st);
/* The file's name for messages (UTF-8). */
const char                  *hone_safetensors_display_name (const HoneSafetensors *st);

/* The tensor's shape as a HoneShape; FALSE with HONE_ERROR_UNSUPPORTED when
 * it has more than HONE_MAX_RANK dimensions. */
gboolean hone_safetensors_tensor_shape (const HoneSafetensors *st, int i, HoneShape *shape,
                                        GError **error);

/* Converts tensor i into out (numel elements, allocated by the caller).
 * _f32 reads F32, F16, BF16 and F64 (rounded to nearest); _i64 reads I64,
 * I32, I16, I8, U8 and BOOL; _u8 reads U8 and BOOL.  Any other dtype gives
 * HONE_ERROR_UNSUPPORTED naming the tensor, the file and the dtype. */
gboolean hone_safetensors_read_f32 (const HoneSafetensors *st, int i, float *out, GError **error);
gboolean hone_safetensors_read_i64 (const HoneSafetensors *st, int i, int64_t *out, GError **error);
gboolean hone_safetensors_read_u8  (const HoneSafetensors *st, int i, guint8 *out, GError **error);

/* ---- writing ----------------------------------------------------------- */

typedef struct _HoneSafetensorsWriter HoneSafetensorsWriter;

HoneSafetensorsWriter *hone_safetensors_writer_new  (void);
void                   hone_safetensors_writer_free (HoneSafetensorsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneSafetensorsWriter, hone_safetensors_writer_free)

/* Adds a "__metadata__" entry (UTF-8 key and value, copied; a key set
 * twice keeps the last value). */
void hone_safetensors_writer_set_metadata (HoneSafetensorsWriter *w, const char *key, const char *value);

/* Adds a tensor.  The data is NOT copied: it must stay valid and unchanged
 * until hone_safetensors_writer_write returns.  _add takes raw
 * little-endian bytes of any dtype (numel * bits / 8 of them; the element
 * count times the bits must be a multiple of 8); the typed variants take
 * host-order values.  Fails with HONE_ERROR_INVALID for a name that is
 * taken, not UTF-8 or "__metadata__", or a shape with a negative size. */
gboolean hone_safetensors_writer_add     (HoneSafetensorsWriter *w, const char *name, HoneDtype dtype,
                                          const HoneShape *shape, gconstpointer data, GError **error);
gboolean hone_safetensors_writer_add_f32 (HoneSafetensorsWriter *w, const char *name,
                                          const HoneShape *shape, const float *data, GError **error);
gboolean hone_safetensors_writer_add_i64 (HoneSafetensorsWriter *w, const char *name,
                                          const HoneShape *shape, const int64_t *data, GError **error);
gboolean hone_safetensors_writer_add_u8  (HoneSafetensorsWriter *w, const char *name,
                                          const HoneShape *shape, const guint8 *data, GError **error);

/* Writes the file atomically (a temporary file in the same folder, fsync,
 * rename over path).  HONE_ERROR_IO naming the file when that fails. */
gboolean hone_safetensors_writer_write (HoneSafetensorsWriter *w, const char *path, GError **error);
/* The bytes the file would hold; free with g_bytes_unref. */
GBytes  *hone_safetensors_writer_to_bytes (HoneSafetensorsWriter *w, GError **error);

/* ---- a graph's weights by name ----------------------------------------- */

typedef enum
{
  HONE_LOAD_STRICT = 0,
  /* Head parameters (those of the node nearest each graph output that has
   * parameters, such as fc.weight and fc.bias) that are missing from the
   * file or whose shape differs are left as they are (freshly initialised)
   * and reported, for replacing a classifier head. */
  HONE_LOAD_ALLOW_HEAD_MISMATCH = 1 << 0,
} HoneLoadFlags;

/* Loads every parameter and buffer of g from the file by name, converting
 * F16, BF16 and F64 to float32.  Every parameter and buffer must be in the
 * file with the same shape and the file may hold nothing else, except
 * "X.num_batches_tracked" (an integer scalar) beside a BatchNorm's
 * "X.running_mean": torch writes it and Hone has no use for it.  On any
 * mismatch nothing is loaded and the HONE_ERROR_MISMATCH error names the
 * file and lists (up to 10 of each) the missing and unexpected tensors and
 * the shape mismatches, with expected and found shapes.
 *
 * skipped (may be NULL) receives the head tensors left as they were, as a
 * NULL-terminated array (free with g_strfreev; empty when none). */
gboolean hone_graph_load_safetensors      (HoneGraph *g, const char *path, HoneLoadFlags flags,
                                           GError **error);
gboolean hone_graph_load_safetensors_full (HoneGraph *g, const char *path, HoneLoadFlags flags,
                                           char ***skipped, GError **error);
/* The same from a file already open. */
gboolean hone_graph_load_tensors          (HoneGraph *g, const HoneSafetensors *st, HoneLoadFlags flags,
                                           char ***skipped, GError **error);

/* The names hone_graph_load_safetensors treats as the head, as a
 * NULL-terminated array (g_strfreev). */
char   **hone_graph_head_params (const HoneGraph *g);

/* Writes every parameter and buffer of g under its name as F32, and
 * "X.num_batches_tracked" = 0 (I64, shape ()) for every BatchNorm buffer
 * pair "X.running_mean" / "X.running_var", so that torch's
 * load_state_dict (strict=True) accepts the file.  metadata (string ->
 * string, may be NULL) goes to "__metadata__".  Atomic, as the writer. */
gboolean hone_graph_save_safetensors (HoneGraph *g, const char *path, GHashTable *metadata,
                                      GError **error);

G_END_DECLS
