/* hone-onnx-file.c: the ONNX container, read as hostile input and written
 * atomically (see hone-onnx-file.h).
 *
 * Reading is three passes over the bytes.  A scan of the protobuf wire
 * format, driven by protobuf-c's message descriptors, with an explicit stack
 * of at most HONE_ONNX_MAX_DEPTH frames: it refuses malformed wire data and
 * deep nesting (protobuf-c's unpacker recurses once per nested message and
 * has no limit of its own) and adds up what unpacking will allocate, so that
 * a file which would need more than the budget is refused before anything
 * is allocated.  Then protobuf-c unpacks with an allocator that enforces
 * the same budget, in case the estimate and protobuf-c ever disagree.
 * Tensor data is checked only when a tensor is read
 * (hone_onnx_tensor_float / _int64), so that a model's graph can be looked
 * at without touching gigabytes of weights.
 *
 * The wire format: https://protobuf.dev/programming-guides/encoding/.
 * External data: https://onnx.ai/onnx/repo-docs/ExternalData.html.
 *
 * It does not interpret the graph (hone-onnx.c does) and does not write
 * external data: models Hone writes keep their weights in raw_data. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hone-bytes-private.h"
#include "hone-file-private.h"
#include "hone-onnx-file-private.h"

struct _HoneOnnxFile
{
  char *path;                   /* as given (filename encoding), or the name */
  char *display;                /* UTF-8, for messages */
  char *dir;                    /* folder for external data; NULL: refused */
  Onnx__ModelProto *model;
  int64_t opset;
  guint64 need;                 /* the scan's estimate */
  /* The budget allocator; model was unpacked with it and is freed with it. */
  gsize budget, used;
  ProtobufCAllocator allocator;
};

/* ---- messages ---------------------------------------------------------- */

/* Text from a file fit for a message: valid UTF-8, control characters shown
 * as '?', at most about max bytes. */
static char *
tidy_text (const char *s, gsize max)
{
  if (s == NULL)
    return g_strdup ("");
  g_autofree char *valid = g_utf8_make_valid (s, -1);
  GString *out = g_string_sized_new (MIN (strlen (valid), max) + 4);
  const char *p = valid;
  while (*p && out->len < max)
    {
      const char *next = g_utf8_next_char (p);
      if ((guchar) *p < 0x20 || *p == 0x7f)
        g_string_append_c (out, '?');
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  if (*p)
    g_string_append (out, "\xe2\x80\xa6");   /* U+2026 HORIZONTAL ELLIPSIS */
  return g_string_free (out, FALSE);
}

static void set_error (GError **error, int code, const char *file, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static void
set_error (GError **error, int code, const char *file, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, HONE_ERROR, code, "%s: %s", file, msg);
}

/* ---- the budget allocator ---------------------------------------------- */

/* Each block carries its size in front, so that frees give it back. */
#define BLOCK_HEADER 16

static void *
budget_alloc (void *data, size_t size)
{
  HoneOnnxFile *f = data;
  if (size > f->budget - f->used || size > G_MAXSIZE - BLOCK_HEADER)
    return NULL;
  guint8 *p = g_try_malloc (size + BLOCK_HEADER);
  if (p == NULL)
    return NULL;
  memcpy (p, &size, sizeof size);
  f->used += size;
  return p + BLOCK_HEADER;
}

static void
budget_free (void *data, void *pointer)
{
  HoneOnnxFile *f = data;
  if (pointer == NULL)
    return;
  guint8 *p = (guint8 *) pointer - BLOCK_HEADER;
  size_t size;
  memcpy (&size, p, sizeof size);
  g_assert (size <= f->used);
  f->used -= size;
  g_free (p);
}

/* The budget (HONE_ONNX_ALLOC_PER_BYTE): the largest honest expansion is a
 * packed repeated int64 of one-byte varints (8x) or repeated short fields
 * (protobuf-c keeps a 32-byte record per field while unpacking); an empty
 * submessage of two bytes becomes a whole struct (up to ~200 bytes), which
 * only a hostile file does by the million. */
#define ALLOC_PER_BYTE HONE_ONNX_ALLOC_PER_BYTE
#define ALLOC_SLACK    HONE_ONNX_ALLOC_SLACK

/* ---- the wire scan ----------------------------------------------------- */

enum
{
  WIRE_VARINT = 0,
  WIRE_64BIT = 1,
  WIRE_LEN = 2,
  WIRE_32BIT = 5,
};

/* protobuf-c's record of each field while unpacking (ScannedMember). */
#define SCANNED_MEMBER_SIZE 32

static gboolean
read_varint (const guint8 **pp, const guint8 *end, guint64 *out)
{
  const guint8 *p = *pp;
  guint64 v = 0;
  for (int i = 0; i < 10; i++)
    {
      if (p >= end)
        return FALSE;
      guint8 b = *p++;
      if (i == 9 && b > 1)
        return FALSE;           /* more than 64 bits */
      v |= (guint64) (b & 0x7f) << (7 * i);
      if (!(b & 0x80))
        {
          *pp = p;
          *out = v;
          return TRUE;
        }
    }
  return FALSE;
}

/* The size protobuf-c gives one element of a repeated field, or the field. */
static gsize
field_elem_size (const ProtobufCFieldDescriptor *fd)
{
  switch (fd->type)
    {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof (protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof (void *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof (ProtobufCBinaryData);
    default:
      return 16;
    }
}

static gboolean
type_is_varint (ProtobufCType t)
{
  return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 || t == PROTOBUF_C_TYPE_UINT32
      || t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_UINT64
      || t == PROTOBUF_C_TYPE_BOOL || t == PROTOBUF_C_TYPE_ENUM;
}

static int
type_fixed_size (ProtobufCType t)
{
  switch (t)
    {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return 4;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    default:
      return 0;
    }
}

/* The wire type protobuf-c accepts for a field (a repeated scalar also in
 * packed form, WIRE_LEN). */
static int
type_wire (ProtobufCType t)
{
  if (type_is_varint (t))
    return WIRE_VARINT;
  switch (type_fixed_size (t))
    {
    case 4:
      return WIRE_32BIT;
    case 8:
      return WIRE_64BIT;
    default:
      return WIRE_LEN;
    }
}

typedef struct
{
  const ProtobufCMessageDescriptor *desc;
  const guint8 *end;
  guint64 seen;         /* singular message fields met, by field index */
} ScanFrame;

/* Walks the wire data of a message of type desc without recursion.  Refuses
 * malformed data and nesting deeper than HONE_ONNX_MAX_DEPTH; *need
 * receives about what protobuf-c will allocate to unpack it (saturating). */
static gboolean
scan_wire (const guint8 *data, gsize size, const ProtobufCMessageDescriptor *desc,
           const char *file, guint64 *need, GError **error)
{
  ScanFrame stack[HONE_ONNX_MAX_DEPTH];
  int depth = 0;
  const guint8 *p = data;
  guint64 total = desc->sizeof_message;
  stack[0] = (ScanFrame) { desc, data + size, 0 };

#define ADD(n) (total = (total > G_MAXUINT64 - (guint64) (n)) ? G_MAXUINT64 : total + (guint64) (n))
#define MALFORMED(what) \
  G_STMT_START { \
    set_error (error, HONE_ERROR_FORMAT, file, \
               "not a valid ONNX file: malformed protobuf data at byte %" G_GSIZE_FORMAT " (%s)", \
               (gsize) (p - data), what); \
    return FALSE; \
  } G_STMT_END

  while (depth >= 0)
    {
      ScanFrame *fr = &stack[depth];
      if (p == fr->end)
        {
          depth--;
          continue;
        }
      guint64 tag;
      if (!read_varint (&p, fr->end, &tag) || tag > G_MAXUINT32)
        MALFORMED ("bad field tag");
      guint32 number = (guint32) (tag >> 3);
      int wire = (int) (tag & 7);
      if (number == 0)
        MALFORMED ("field number 0");
      const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field (fr->desc, number);
      gboolean repeated = fd && fd->label == PROTOBUF_C_LABEL_REPEATED;
      if (fd && wire != type_wire (fd->type) && !(repeated && wire == WIRE_LEN))
        {
          set_error (error, HONE_ERROR_FORMAT, file,
                     "not a valid ONNX file: field '%s' of %s has the wrong wire type at byte %"
                     G_GSIZE_FORMAT, fd->name, fr->desc->short_name, (gsize) (p - data));
          return FALSE;
        }
      /* protobuf-c merges a singular message field met twice into the
       * first, copying every repeated field each time: a file repeating one
       * thousands of times would take quadratic time.  No writer does it. */
      if (fd && !repeated && fd->type == PROTOBUF_C_TYPE_MESSAGE)
        {
          guint idx = (guint) (fd - fr->desc->fields);
          guint64 bit = idx < 64 ? G_GUINT64_CONSTANT (1) << idx : 0;
          if (fr->seen & bit)
            {
              set_error (error, HONE_ERROR_FORMAT, file,
                         "not a valid ONNX file: %s holds its field '%s' twice (at byte %"
                         G_GSIZE_FORMAT ")", fr->desc->short_name, fd->name,
                         (gsize) (p - data));
              return FALSE;
            }
          fr->seen |= bit;
        }
      ADD (SCANNED_MEMBER_SIZE);
      if (fd == NULL)
        ADD (sizeof (ProtobufCMessageUnknownField));
      else if (repeated)
        ADD (field_elem_size (fd));
      const guint8 *start = p;
      guint64 v;
      switch (wire)
        {
        case WIRE_VARINT:
          if (!read_varint (&p, fr->end, &v))
            MALFORMED ("bad varint");
          break;
        case WIRE_64BIT:
          if (fr->end - p < 8)
            MALFORMED ("truncated 64-bit value");
          p += 8;
          break;
        case WIRE_32BIT:
          if (fr->end - p < 4)
            MALFORMED ("truncated 32-bit value");
          p += 4;
          break;
        case WIRE_LEN:
          {
            if (!read_varint (&p, fr->end, &v))
              MALFORMED ("bad length");
            if (v > (guint64) (fr->end - p))
              MALFORMED ("length past the end of its message");
            const guint8 *sub_end = p + v;
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE)
              {
                if (depth + 1 >= HONE_ONNX_MAX_DEPTH)
                  {
                    set_error (error, HONE_ERROR_FORMAT, file,
                               "not a valid ONNX file: messages nest deeper than %d levels "
                               "(at byte %" G_GSIZE_FORMAT ")",
                               HONE_ONNX_MAX_DEPTH, (gsize) (p - data));
                    return FALSE;
                  }
                const ProtobufCMessageDescriptor *sub = fd->descriptor;
                ADD (sub->sizeof_message);
                stack[++depth] = (ScanFrame) { sub, sub_end, 0 };
                continue;
              }
            if (fd && repeated && type_is_varint (fd->type))
              {
                /* packed varints: count them, each becomes a whole element */
                guint64 n = 0;
                while (p < sub_end)
                  {
                    if (!read_varint (&p, sub_end, &v))
                      MALFORMED ("bad packed varint");
                    n++;
                  }
                ADD (n * field_elem_size (fd));
              }
            else if (fd && repeated && type_fixed_size (fd->type))
              {
                if (v % (guint64) type_fixed_size (fd->type) != 0)
                  MALFORMED ("packed values of a partial size");
                ADD (v);
              }
            else
              ADD (v + 1);      /* strings, bytes, unknown fields' copies */
            p = sub_end;
            break;
          }
        default:
          MALFORMED ("unsupported wire type");
        }
      if (fd == NULL && wire != WIRE_LEN)
        ADD (p - start);
    }
#undef ADD
#undef MALFORMED
  *need = total;
  return TRUE;
}

/* ---- opening ----------------------------------------------------------- */

void
hone_onnx_file_free (HoneOnnxFile *file)
{
  if (file == NULL)
    return;
  if (file->model)
    protobuf_c_message_free_unpacked (&file->model->base, &file->allocator);
  g_free (file->path);
  g_free (file->display);
  g_free (file->dir);
  g_free (file);
}

static HoneOnnxFile *
file_new (const char *path, const char *display, const char *dir)
{
  HoneOnnxFile *f = g_new0 (HoneOnnxFile, 1);
  f->path = g_strdup (path);
  f->display = g_strdup (display);
  f->dir = g_strdup (dir);
  f->allocator.alloc = budget_alloc;
  f->allocator.free = budget_free;
  f->allocator.allocator_data = f;
  return f;
}

/* budget: 0 for the one the size gives, else that and no refusal on the
 * estimate (tests). */
static gboolean
file_unpack (HoneOnnxFile *f, const guint8 *data, gsize size, gsize budget, GError **error)
{
  if (size == 0)
    {
      set_error (error, HONE_ERROR_FORMAT, f->display, "not an ONNX model: the file is empty");
      return FALSE;
    }
  if ((guint64) size > (guint64) HONE_ONNX_MAX_FILE_SIZE)
    {
      set_error (error, HONE_ERROR_FORMAT, f->display,
                 "the file is %" G_GUINT64_FORMAT " bytes, more than the limit of %"
                 G_GINT64_FORMAT " bytes; keep large weights in external data",
                 (guint64) size, (gint64) HONE_ONNX_MAX_FILE_SIZE);
      return FALSE;
    }

  f->budget = (size > (G_MAXSIZE - ALLOC_SLACK) / ALLOC_PER_BYTE)
              ? G_MAXSIZE : ALLOC_SLACK + ALLOC_PER_BYTE * size;
  if (budget)
    f->budget = budget;
  guint64 need = 0;
  if (!scan_wire (data, size, &onnx__model_proto__descriptor, f->display, &need, error))
    return FALSE;
  f->need = need;
  if (need > f->budget && !budget)
    {
      set_error (error, HONE_ERROR_FORMAT, f->display,
                 "the file is too large or malformed: unpacking its %" G_GSIZE_FORMAT
                 " bytes would take about %" G_GUINT64_FORMAT " MB of memory, more than the "
                 "limit of %" G_GSIZE_FORMAT " MB",
                 size, need >> 20, f->budget >> 20);
      return FALSE;
    }

  f->model = onnx__model_proto__unpack (&f->allocator, size, data);
  if (f->model == NULL)
    {
      set_error (error, HONE_ERROR_FORMAT, f->display,
                 "the file is too large or malformed: protobuf-c could not unpack it "
                 "(the data is invalid, or needs more than the %" G_GSIZE_FORMAT " MB of "
                 "memory a file of this size may use)", f->budget >> 20);
      return FALSE;
    }
  if (f->model->graph == NULL)
    {
      set_error (error, HONE_ERROR_FORMAT, f->display, "not an ONNX model: it holds no graph");
      return FALSE;
    }

  for (size_t i = 0; i < f->model->n_opset_import; i++)
    {
      const Onnx__OperatorSetIdProto *op = f->model->opset_import[i];
      if (op == NULL)
        continue;
      if ((op->domain == NULL || op->domain[0] == '\0' || g_str_equal (op->domain, "ai.onnx"))
          && op->has_version)
        {
          f->opset = op->version;
          break;
        }
    }
  return TRUE;
}

HoneOnnxFile *
hone_onnx_file_parse (const guint8 *data, gsize size, const char *name, const char *dir,
                      GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autofree char *display = tidy_text (name ? name : "(memory)", 512);
  HoneOnnxFile *f = file_new (name ? name : "(memory)", display, dir);
  if (!file_unpack (f, data, size, 0, error))
    {
      hone_onnx_file_free (f);
      return NULL;
    }
  return f;
}

HoneOnnxFile *
hone_onnx_file_parse_with_budget (const guint8 *data, gsize size, const char *name,
                                  gsize budget, GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (budget > 0, NULL);
  HoneOnnxFile *f = file_new (name, name, NULL);
  if (!file_unpack (f, data, size, budget, error))
    {
      hone_onnx_file_free (f);
      return NULL;
    }
  return f;
}

guint64
hone_onnx_file_estimated_bytes (const HoneOnnxFile *file)
{
  return file->need;
}

gsize
hone_onnx_file_allocated_bytes (const HoneOnnxFile *file)
{
  return file->used;
}

HoneOnnxFile *
hone_onnx_file_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autofree char *display = g_filename_display_name (path);
  guint64 size;
  int fd = hone_file_open_regular (path, display, &size, error);
  if (fd < 0)
    return NULL;
  if (size > (guint64) HONE_ONNX_MAX_FILE_SIZE)
    {
      close (fd);
      set_error (error, HONE_ERROR_FORMAT, display,
                 "the file is %" G_GUINT64_FORMAT " bytes, more than the limit of %"
                 G_GINT64_FORMAT " bytes; keep large weights in external data",
                 size, (gint64) HONE_ONNX_MAX_FILE_SIZE);
      return NULL;
    }
  GMappedFile *map = NULL;
  if (size > 0)
    {
      GError *merr = NULL;
      map = g_mapped_file_new_from_fd (fd, FALSE, &merr);
      if (map == NULL)
        {
          close (fd);
          g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                       merr->message);
          g_error_free (merr);
          return NULL;
        }
    }
  close (fd);
  g_autofree char *dir = g_path_get_dirname (path);
  HoneOnnxFile *f = file_new (path, display, dir);
  const guint8 *bytes = map ? (const guint8 *) g_mapped_file_get_contents (map) : NULL;
  gsize len = map ? g_mapped_file_get_length (map) : 0;
  gboolean ok = file_unpack (f, bytes, len, 0, error);
  if (map)
    g_mapped_file_unref (map);
  if (!ok)
    {
      hone_onnx_file_free (f);
      return NULL;
    }
  return f;
}

const Onnx__ModelProto *
hone_onnx_file_model (const HoneOnnxFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->model;
}

const char *
hone_onnx_file_path (const HoneOnnxFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->path;
}

int64_t
hone_onnx_file_opset (const HoneOnnxFile *file)
{
  g_return_val_if_fail (file != NULL, 0);
  return file->opset;
}

const char *
hone_onnx_file_display_name (const HoneOnnxFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->display;
}

/* ---- dtypes ------------------------------------------------------------ */

static const struct
{
  const char *name;     /* ONNX's name */
  const char *plural;   /* for messages: "512x1000 floats" */
  int size;             /* bytes per element; 0: not convertible */
} dtype_info[] = {
  [ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED] = { "UNDEFINED", "undefined values", 0 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT] = { "FLOAT", "floats", 4 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__UINT8] = { "UINT8", "uint8 values", 1 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__INT8] = { "INT8", "int8 values", 1 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__UINT16] = { "UINT16", "uint16 values", 2 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__INT16] = { "INT16", "int16 values", 2 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__INT32] = { "INT32", "int32 values", 4 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__INT64] = { "INT64", "int64 values", 8 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__STRING] = { "STRING", "strings", 0 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__BOOL] = { "BOOL", "bools", 1 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16] = { "FLOAT16", "float16 values", 2 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE] = { "DOUBLE", "doubles", 8 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__UINT32] = { "UINT32", "uint32 values", 4 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__UINT64] = { "UINT64", "uint64 values", 8 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64] = { "COMPLEX64", "complex64 values", 0 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128] = { "COMPLEX128", "complex128 values", 0 },
  [ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16] = { "BFLOAT16", "bfloat16 values", 2 },
};

const char *
hone_onnx_dtype_name (int32_t data_type)
{
  if (data_type < 0 || data_type >= (int32_t) G_N_ELEMENTS (dtype_info))
    return NULL;
  return dtype_info[data_type].name;
}

/* ---- conversions ------------------------------------------------------- */

/* Where a tensor's elements are: raw little-endian bytes (raw_data or
 * external data) or one of the typed fields. */
typedef struct
{
  int32_t dtype;
  int64_t numel;
  const guint8 *raw;
  const float *f32;
  const int32_t *i32;
  const int64_t *i64;
  const double *f64;
  const uint64_t *u64;
} Source;

/* Element i as a double when that is exact (all but the 64-bit integers),
 * the 64-bit integers through *wide. */
typedef enum { VAL_FLOAT, VAL_SIGNED, VAL_UNSIGNED } ValKind;

typedef struct
{
  ValKind kind;
  double d;
  int64_t s;
  uint64_t u;
} Value;

static inline Value
source_get (const Source *src, int64_t i)
{
  Value v = { VAL_FLOAT, 0, 0, 0 };
  const guint8 *r = src->raw;
  switch (src->dtype)
    {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
      v.d = r ? hone_bits_to_float (hone_load_le32 (r + 4 * i)) : src->f32[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
      if (r)
        {
          guint64 b = hone_load_le64 (r + 8 * i);
          memcpy (&v.d, &b, 8);
        }
      else
        v.d = src->f64[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
      v.d = hone_half_to_float (r ? hone_load_le16 (r + 2 * i) : (guint16) src->i32[i]);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
      v.d = hone_bfloat16_to_float (r ? hone_load_le16 (r + 2 * i) : (guint16) src->i32[i]);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
      v.kind = VAL_SIGNED;
      v.s = r ? (int8_t) r[i] : (int8_t) src->i32[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
      v.kind = VAL_SIGNED;
      v.s = r ? r[i] : (uint8_t) src->i32[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
      v.kind = VAL_SIGNED;
      v.s = (r ? r[i] : src->i32[i]) != 0;
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
      v.kind = VAL_SIGNED;
      v.s = r ? (int16_t) hone_load_le16 (r + 2 * i) : (int16_t) src->i32[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
      v.kind = VAL_SIGNED;
      v.s = r ? hone_load_le16 (r + 2 * i) : (uint16_t) src->i32[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
      v.kind = VAL_SIGNED;
      v.s = r ? (int32_t) hone_load_le32 (r + 4 * i) : src->i32[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
      v.kind = VAL_SIGNED;
      v.s = r ? hone_load_le32 (r + 4 * i) : (uint32_t) src->u64[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
      v.kind = VAL_SIGNED;
      v.s = r ? (int64_t) hone_load_le64 (r + 8 * i) : src->i64[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
      v.kind = VAL_UNSIGNED;
      v.u = r ? hone_load_le64 (r + 8 * i) : src->u64[i];
      break;
    default:
      g_assert_not_reached ();
    }
  return v;
}

/* ---- tensors ----------------------------------------------------------- */

static char *
dims_text (const Onnx__TensorProto *t)
{
  if (t->n_dims == 0)
    return g_strdup ("a scalar of");
  GString *s = g_string_new (NULL);
  for (size_t i = 0; i < t->n_dims && i < 16; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "x" : "", t->dims[i]);
  if (t->n_dims > 16)
    g_string_append (s, "x\xe2\x80\xa6");
  return g_string_free (s, FALSE);
}

/* TRUE when a component of path, split at '/' or '\\', is "..".  Bytes,
 * not characters: the location need not be UTF-8. */
static gboolean
has_dotdot_component (const char *path)
{
  const char *start = path;
  for (const char *p = path;; p++)
    if (*p == '/' || *p == '\\' || *p == '\0')
      {
        if (p - start == 2 && start[0] == '.' && start[1] == '.')
          return TRUE;
        if (*p == '\0')
          return FALSE;
        start = p + 1;
      }
}

/* Reads nbytes of external data for t into a new buffer. */
static guint8 *
read_external (const HoneOnnxFile *file, const Onnx__TensorProto *t, const char *tname,
               guint64 nbytes, GError **error)
{
  const char *fname = file->display;
  if (file->dir == NULL)
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' keeps its data in an external file, which is not allowed here",
                 tname);
      return NULL;
    }
  const char *location = NULL, *offset_s = NULL, *length_s = NULL;
  for (size_t i = 0; i < t->n_external_data; i++)
    {
      const Onnx__StringStringEntryProto *e = t->external_data[i];
      if (e == NULL || e->key == NULL)
        continue;
      const char **slot = g_str_equal (e->key, "location") ? &location
                        : g_str_equal (e->key, "offset") ? &offset_s
                        : g_str_equal (e->key, "length") ? &length_s : NULL;
      if (slot == NULL)
        continue;       /* "checksum" and keys of later versions */
      if (*slot != NULL)
        {
          set_error (error, HONE_ERROR_FORMAT, fname,
                     "tensor '%s' gives its external data's '%s' twice", tname, e->key);
          return NULL;
        }
      *slot = e->value ? e->value : "";
    }
  if (location == NULL || location[0] == '\0')
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' keeps its data in an external file but names none", tname);
      return NULL;
    }
  g_autofree char *loc = tidy_text (location, 256);
  if (g_path_is_absolute (location) || location[0] == '\\')
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' keeps its data in '%s', an absolute path; external data must be "
                 "a file in the model's folder", tname, loc);
      return NULL;
    }
  if (has_dotdot_component (location))
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' keeps its data in '%s', which leaves the model's folder "
                 "(\"..\"); external data must be a file in the model's folder", tname, loc);
      return NULL;
    }

  guint64 offset = 0, length = nbytes;
  if (offset_s && !g_ascii_string_to_unsigned (offset_s, 10, 0, G_MAXINT64, &offset, NULL))
    {
      g_autofree char *v = tidy_text (offset_s, 64);
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' gives its external data's offset as '%s', not a byte count",
                 tname, v);
      return NULL;
    }
  if (length_s && !g_ascii_string_to_unsigned (length_s, 10, 0, G_MAXINT64, &length, NULL))
    {
      g_autofree char *v = tidy_text (length_s, 64);
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' gives its external data's length as '%s', not a byte count",
                 tname, v);
      return NULL;
    }
  if (length != nbytes)
    {
      g_autofree char *dims = dims_text (t);
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' declares %s %s (%" G_GUINT64_FORMAT " bytes) but its external "
                 "data in '%s' is %" G_GUINT64_FORMAT " bytes long; the file is corrupt",
                 tname, dims, dtype_info[t->data_type].plural, nbytes, loc, length);
      return NULL;
    }

  g_autofree char *full = g_build_filename (file->dir, location, NULL);
  g_autofree char *full_display = g_filename_display_name (full);
  guint64 size;
  g_autoptr (GError) oerr = NULL;
  int fd = hone_file_open_regular_full (full, full_display, HONE_FILE_OPEN_NO_SYMLINK, &size,
                                        &oerr);
  if (fd < 0)
    {
      set_error (error, oerr->code, fname, "tensor '%s': %s", tname, oerr->message);
      return NULL;
    }
  /* O_NOFOLLOW covers the last component; folders on the way must not lead
   * out of the model's folder either. */
  char real_dir[PATH_MAX], real_file[PATH_MAX];
  struct stat st_fd, st_real;
  gboolean inside = FALSE;
  if (realpath (file->dir, real_dir) && realpath (full, real_file)
      && fstat (fd, &st_fd) == 0 && stat (real_file, &st_real) == 0
      && st_fd.st_dev == st_real.st_dev && st_fd.st_ino == st_real.st_ino)
    {
      gsize n = strlen (real_dir);
      inside = strncmp (real_file, real_dir, n) == 0
               && (real_file[n] == '/' || (n == 1 && real_dir[0] == '/'));
    }
  if (!inside)
    {
      close (fd);
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' keeps its data in '%s', which is not a file inside the model's "
                 "folder", tname, loc);
      return NULL;
    }
  if (offset > size || nbytes > size - offset)
    {
      close (fd);
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' keeps %" G_GUINT64_FORMAT " bytes at offset %" G_GUINT64_FORMAT
                 " of '%s', which is only %" G_GUINT64_FORMAT " bytes; the file is truncated "
                 "or corrupt", tname, nbytes, offset, loc, size);
      return NULL;
    }
  guint8 *buf = g_try_malloc (MAX (nbytes, 1));
  if (buf == NULL)
    {
      close (fd);
      set_error (error, HONE_ERROR_IO, fname, "tensor '%s': out of memory for %" G_GUINT64_FORMAT
                 " bytes", tname, nbytes);
      return NULL;
    }
  guint64 done = 0;
  while (done < nbytes)
    {
      gsize chunk = (gsize) MIN (nbytes - done, (guint64) (1 << 30));
      ssize_t r = pread (fd, buf + done, chunk, (off_t) (offset + done));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          int e = errno;
          close (fd);
          g_free (buf);
          set_error (error, HONE_ERROR_IO, fname, "could not read the data of tensor '%s' from "
                     "'%s': %s", tname, loc, r < 0 ? g_strerror (e) : "unexpected end of file");
          return NULL;
        }
      done += (guint64) r;
    }
  close (fd);
  return buf;
}

/* Checks t and finds its elements.  *owned receives a buffer the caller
 * frees (external data), or NULL. */
static gboolean
tensor_source (const HoneOnnxFile *file, const Onnx__TensorProto *t, HoneShape *shape,
               Source *src, guint8 **owned, GError **error)
{
  const char *fname = file->display;
  g_autofree char *tname = tidy_text (t->name, 200);
  *owned = NULL;
  memset (src, 0, sizeof *src);

  int32_t dt = t->data_type;
  if (!t->has_data_type || dt <= 0 || dt >= (int32_t) G_N_ELEMENTS (dtype_info))
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' has data type %d, which ONNX does not define; the file is "
                 "corrupt", tname, t->has_data_type ? dt : 0);
      return FALSE;
    }
  if (dtype_info[dt].size == 0)
    {
      set_error (error, HONE_ERROR_UNSUPPORTED, fname,
                 "tensor '%s' holds %s, which Hone cannot use as numbers", tname,
                 dtype_info[dt].plural);
      return FALSE;
    }
  if (t->segment != NULL)
    {
      set_error (error, HONE_ERROR_UNSUPPORTED, fname,
                 "tensor '%s' is a segment of a larger tensor, which Hone does not read", tname);
      return FALSE;
    }
  if (t->n_dims > HONE_MAX_RANK)
    {
      set_error (error, HONE_ERROR_UNSUPPORTED, fname,
                 "tensor '%s' has %" G_GSIZE_FORMAT " dimensions; Hone handles at most %d",
                 tname, (gsize) t->n_dims, HONE_MAX_RANK);
      return FALSE;
    }
  g_autofree char *dims = dims_text (t);
  int64_t numel = 1;
  for (size_t i = 0; i < t->n_dims; i++)
    if (t->dims[i] < 0)
      {
        set_error (error, HONE_ERROR_FORMAT, fname,
                   "tensor '%s' has a negative size (%s); the file is corrupt", tname, dims);
        return FALSE;
      }
  /* Every partial product, not only the last, must stay countable (as in
   * safetensors' reference and hone_shape_numel_checked): (2^62, 0) is as
   * corrupt as (2^62, 4, 4).  Hone converts to 8-byte values at most, so
   * the limit is G_MAXINT64 / 8 elements. */
  for (size_t i = 0; i < t->n_dims; i++)
    if (__builtin_mul_overflow (numel, t->dims[i], &numel) || numel > G_MAXINT64 / 8
        || (t->dims[i] > G_MAXINT64 / 8))
      {
        set_error (error, HONE_ERROR_FORMAT, fname,
                   "tensor '%s' declares %s %s, more elements than can be counted; the file is "
                   "corrupt", tname, dims, dtype_info[dt].plural);
        return FALSE;
      }
  int64_t nbytes;
  if ((guint64) numel * 8 > G_MAXSIZE)
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' declares %s %s, more than can be held in memory; the file is "
                 "corrupt", tname, dims, dtype_info[dt].plural);
      return FALSE;
    }
  nbytes = numel * dtype_info[dt].size;
  *shape = (HoneShape) { .rank = (int) t->n_dims };
  for (size_t i = 0; i < t->n_dims; i++)
    shape->d[i] = t->dims[i];
  src->dtype = dt;
  src->numel = numel;

  gsize n_typed = t->n_float_data + t->n_int32_data + t->n_int64_data + t->n_double_data
                  + t->n_uint64_data + t->n_string_data;
  gboolean external = t->has_data_location
                      && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (external)
    {
      if (t->has_raw_data || n_typed > 0)
        {
          set_error (error, HONE_ERROR_FORMAT, fname,
                     "tensor '%s' keeps its data in an external file and also in the model; "
                     "the file is corrupt", tname);
          return FALSE;
        }
      *owned = read_external (file, t, tname, (guint64) nbytes, error);
      if (*owned == NULL)
        return FALSE;
      src->raw = *owned;
      return TRUE;
    }
  if (t->has_data_location && t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT)
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' has data location %d, which ONNX does not define", tname,
                 (int) t->data_location);
      return FALSE;
    }
  if (t->has_raw_data)
    {
      if (n_typed > 0)
        {
          set_error (error, HONE_ERROR_FORMAT, fname,
                     "tensor '%s' holds both raw_data and typed values; the file is corrupt",
                     tname);
          return FALSE;
        }
      if ((guint64) t->raw_data.len != (guint64) nbytes)
        {
          set_error (error, HONE_ERROR_FORMAT, fname,
                     "tensor '%s' declares %s %s (%" G_GINT64_FORMAT " bytes) but holds %"
                     G_GSIZE_FORMAT " bytes; the file is truncated or corrupt",
                     tname, dims, dtype_info[dt].plural, nbytes, (gsize) t->raw_data.len);
          return FALSE;
        }
      src->raw = t->raw_data.data;
      return TRUE;
    }

  /* The typed field for this data type (onnx.proto, TensorProto). */
  const char *field;
  gsize count;
  switch (dt)
    {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
      field = "float_data", count = t->n_float_data, src->f32 = t->float_data;
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
      field = "double_data", count = t->n_double_data, src->f64 = t->double_data;
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
      field = "int64_data", count = t->n_int64_data, src->i64 = t->int64_data;
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
      field = "uint64_data", count = t->n_uint64_data, src->u64 = t->uint64_data;
      break;
    default:
      field = "int32_data", count = t->n_int32_data, src->i32 = t->int32_data;
      break;
    }
  if (count != n_typed || (guint64) count != (guint64) numel)
    {
      set_error (error, HONE_ERROR_FORMAT, fname,
                 "tensor '%s' declares %s %s (%" G_GINT64_FORMAT " values) but holds %"
                 G_GSIZE_FORMAT " values in %s%s; the file is truncated or corrupt",
                 tname, dims, dtype_info[dt].plural, numel, count, field,
                 count != n_typed ? " and others in other fields" : "");
      return FALSE;
    }
  return TRUE;
}

/* The start of both conversions: where the tensor's elements are, and a
 * buffer for them as elem_size-byte values (at least one, so that an empty
 * tensor gives a non-NULL buffer).  On success *owned holds the bytes read
 * from external data (or NULL) for the caller to free. */
static gpointer
tensor_begin (const HoneOnnxFile *file, const Onnx__TensorProto *tensor, HoneShape *shape,
              gsize elem_size, const char *what, Source *src, guint8 **owned, GError **error)
{
  if (!tensor_source (file, tensor, shape, src, owned, error))
    return NULL;
  gpointer out = g_try_malloc_n (MAX (src->numel, 1), elem_size);
  if (out == NULL)
    {
      g_clear_pointer (owned, g_free);
      g_autofree char *tname = tidy_text (tensor->name, 200);
      set_error (error, HONE_ERROR_IO, file->display, "tensor '%s': out of memory for %"
                 G_GINT64_FORMAT " %s", tname, src->numel, what);
    }
  return out;
}

gboolean
hone_onnx_tensor_float (const HoneOnnxFile *file, const Onnx__TensorProto *tensor,
                        HoneShape *shape, float **data, GError **error)
{
  g_return_val_if_fail (file != NULL && tensor != NULL && shape != NULL && data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  *data = NULL;
  Source src;
  guint8 *owned;
  float *out = tensor_begin (file, tensor, shape, sizeof (float), "floats", &src, &owned, error);
  if (out == NULL)
    return FALSE;
  if (src.dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && src.f32)
    memcpy (out, src.f32, src.numel * sizeof (float));
  else
    for (int64_t i = 0; i < src.numel; i++)
      {
        /* Every value is rounded once, to nearest (C11 6.3.1.4, 6.3.1.5). */
        Value v = source_get (&src, i);
        out[i] = v.kind == VAL_FLOAT ? (float) v.d
                 : v.kind == VAL_SIGNED ? (float) v.s : (float) v.u;
      }
  g_free (owned);
  *data = out;
  return TRUE;
}

gboolean
hone_onnx_tensor_int64 (const HoneOnnxFile *file, const Onnx__TensorProto *tensor,
                        HoneShape *shape, int64_t **data, GError **error)
{
  g_return_val_if_fail (file != NULL && tensor != NULL && shape != NULL && data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  *data = NULL;
  Source src;
  guint8 *owned;
  int64_t *out = tensor_begin (file, tensor, shape, sizeof (int64_t), "integers", &src, &owned,
                               error);
  if (out == NULL)
    return FALSE;
  for (int64_t i = 0; i < src.numel; i++)
    {
      Value v = source_get (&src, i);
      gboolean ok = TRUE;
      switch (v.kind)
        {
        case VAL_SIGNED:
          out[i] = v.s;
          break;
        case VAL_UNSIGNED:
          ok = v.u <= (uint64_t) G_MAXINT64;
          out[i] = (int64_t) v.u;
          break;
        case VAL_FLOAT:
          /* exactly an integer in [-2^63, 2^63) */
          ok = isfinite (v.d) && v.d == floor (v.d) && v.d >= -9223372036854775808.0
               && v.d < 9223372036854775808.0;
          out[i] = ok ? (int64_t) v.d : 0;
          break;
        }
      if (!ok)
        {
          g_free (out);
          g_free (owned);
          g_autofree char *tname = tidy_text (tensor->name, 200);
          set_error (error, HONE_ERROR_FORMAT, file->display,
                     "tensor '%s' holds %s at element %" G_GINT64_FORMAT ", which is not a "
                     "64-bit integer", tname,
                     v.kind == VAL_UNSIGNED ? "a value past 2^63" : "a non-integer value", i);
          return FALSE;
        }
    }
  g_free (owned);
  *data = out;
  return TRUE;
}

/* ---- writing ----------------------------------------------------------- */

gboolean
hone_onnx_model_save (const Onnx__ModelProto *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_autofree char *display = g_filename_display_name (path);
  if (!protobuf_c_message_check (&model->base))
    {
      set_error (error, HONE_ERROR_INVALID, display,
                 "the model to write is incomplete (a required field or string is missing)");
      return FALSE;
    }
  size_t size = protobuf_c_message_get_packed_size (&model->base);
  /* Protobuf messages are limited to 2 GiB; larger needs external data. */
  if (size > (size_t) G_MAXINT32)
    {
      set_error (error, HONE_ERROR_INVALID, display,
                 "the model is %" G_GSIZE_FORMAT " bytes, more than the 2 GiB an ONNX file can "
                 "hold", (gsize) size);
      return FALSE;
    }
  g_autofree guint8 *buf = g_try_malloc (MAX (size, 1));
  if (buf == NULL)
    {
      set_error (error, HONE_ERROR_IO, display, "out of memory for %" G_GSIZE_FORMAT " bytes",
                 (gsize) size);
      return FALSE;
    }
  size_t packed = protobuf_c_message_pack (&model->base, buf);
  g_assert (packed == size);
  g_autoptr (GError) ferr = NULL;
  if (!g_file_set_contents_full (path, (const char *) buf, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0666, &ferr))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not write '%s': %s", display,
                   ferr->message);
      return FALSE;
    }
  return TRUE;
}
