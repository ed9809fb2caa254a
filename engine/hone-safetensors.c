/* hone-safetensors.c: the safetensors reader and writer, and loading and
 * saving a graph's weights by name.
 *
 * Reading validates in the reference implementation's order (the Rust crate
 * safetensors, src/tensor.rs: read_metadata, Metadata::validate): header
 * length, UTF-8, JSON, tensor entries, then the entries sorted by
 * data_offsets must tile the data section exactly.  JSON is parsed with
 * json-glib after a strict RFC 8259 syntax check here, because json-glib
 * accepts comments, single quotes, hex numbers and silently wraps integers
 * past int64, recurses without a depth limit, and keeps the last of two
 * members with the same name; the check is what makes hostile headers safe
 * to hand to it.
 *
 * It does not convert dtypes other than the ones Hone uses (floats to f32,
 * integers to i64 or u8), and does not slice tensors. */
#include "hone-file-private.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hone-bytes-private.h"
#include "hone-ops.h"
#include "hone-safetensors.h"

/* ---- dtypes ------------------------------------------------------------ */

static const struct
{
  const char *name;
  int bits;
} dtype_info[HONE_N_DTYPES] = {
  [HONE_DTYPE_BOOL] = { "BOOL", 8 },
  [HONE_DTYPE_F4] = { "F4", 4 },
  [HONE_DTYPE_F6_E2M3] = { "F6_E2M3", 6 },
  [HONE_DTYPE_F6_E3M2] = { "F6_E3M2", 6 },
  [HONE_DTYPE_U8] = { "U8", 8 },
  [HONE_DTYPE_I8] = { "I8", 8 },
  [HONE_DTYPE_F8_E5M2] = { "F8_E5M2", 8 },
  [HONE_DTYPE_F8_E4M3] = { "F8_E4M3", 8 },
  [HONE_DTYPE_F8_E8M0] = { "F8_E8M0", 8 },
  [HONE_DTYPE_I16] = { "I16", 16 },
  [HONE_DTYPE_U16] = { "U16", 16 },
  [HONE_DTYPE_F16] = { "F16", 16 },
  [HONE_DTYPE_BF16] = { "BF16", 16 },
  [HONE_DTYPE_I32] = { "I32", 32 },
  [HONE_DTYPE_U32] = { "U32", 32 },
  [HONE_DTYPE_F32] = { "F32", 32 },
  [HONE_DTYPE_C64] = { "C64", 64 },
  [HONE_DTYPE_F64] = { "F64", 64 },
  [HONE_DTYPE_I64] = { "I64", 64 },
  [HONE_DTYPE_U64] = { "U64", 64 },
};

const char *
hone_dtype_name (HoneDtype dtype)
{
  if ((int) dtype < 0 || dtype >= HONE_N_DTYPES)
    return NULL;
  return dtype_info[dtype].name;
}

int
hone_dtype_bits (HoneDtype dtype)
{
  g_return_val_if_fail ((int) dtype >= 0 && dtype < HONE_N_DTYPES, 0);
  return dtype_info[dtype].bits;
}

gboolean
hone_dtype_from_name (const char *name, HoneDtype *dtype)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (int i = 0; i < HONE_N_DTYPES; i++)
    if (strcmp (dtype_info[i].name, name) == 0)
      {
        if (dtype)
          *dtype = i;
        return TRUE;
      }
  return FALSE;
}

static gboolean
dtype_is_float (HoneDtype d)
{
  return d == HONE_DTYPE_F32 || d == HONE_DTYPE_F16 || d == HONE_DTYPE_BF16 || d == HONE_DTYPE_F64;
}

static gboolean
dtype_is_integer (HoneDtype d)
{
  return d == HONE_DTYPE_I64 || d == HONE_DTYPE_I32 || d == HONE_DTYPE_I16 || d == HONE_DTYPE_I8
         || d == HONE_DTYPE_U8 || d == HONE_DTYPE_BOOL;
}

/* ---- strict JSON syntax check ------------------------------------------ */

/* serde_json's default recursion limit, which the reference parses with. */
#define JSON_MAX_DEPTH 128

typedef struct
{
  const guint8 *s;
  gsize n;
  gsize pos;
  const char *problem;
} JsonCheck;

static gboolean
jc_fail (JsonCheck *c, const char *problem)
{
  if (!c->problem)
    c->problem = problem;
  return FALSE;
}

static void
jc_ws (JsonCheck *c)
{
  while (c->pos < c->n && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'
                           || c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
    c->pos++;
}

static gboolean
jc_hex4 (JsonCheck *c, gsize at, guint *out)
{
  guint v = 0;
  if (at + 4 > c->n)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (c->s[at + i]);
      if (d < 0)
        return FALSE;
      v = v * 16 + d;
    }
  *out = v;
  return TRUE;
}

static gboolean
jc_string (JsonCheck *c)
{
  c->pos++;                     /* the opening quote */
  while (c->pos < c->n)
    {
      guint8 ch = c->s[c->pos];
      if (ch == '"')
        {
          c->pos++;
          return TRUE;
        }
      if (ch < 0x20)
        return jc_fail (c, "control character inside a string");
      if (ch != '\\')
        {
          c->pos++;
          continue;
        }
      if (++c->pos >= c->n)
        break;
      switch (c->s[c->pos])
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          c->pos++;
          break;
        case 'u':
          {
            guint u, lo;
            if (!jc_hex4 (c, c->pos + 1, &u))
              return jc_fail (c, "invalid \\u escape");
            c->pos += 5;
            if (u == 0)
              return jc_fail (c, "\\u0000 inside a string (not supported)");
            if (u >= 0xDC00 && u <= 0xDFFF)
              return jc_fail (c, "lone surrogate in a \\u escape");
            if (u >= 0xD800 && u <= 0xDBFF)
              {
                if (c->pos + 6 > c->n || c->s[c->pos] != '\\' || c->s[c->pos + 1] != 'u'
                    || !jc_hex4 (c, c->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                  return jc_fail (c, "lone surrogate in a \\u escape");
                c->pos += 6;
              }
          }
          break;
        default:
          return jc_fail (c, "invalid escape in a string");
        }
    }
  return jc_fail (c, "unterminated string");
}

static gboolean
jc_digits (JsonCheck *c)
{
  gsize start = c->pos;
  while (c->pos < c->n && g_ascii_isdigit (c->s[c->pos]))
    c->pos++;
  return c->pos > start;
}

static gboolean
jc_number (JsonCheck *c)
{
  gboolean neg = FALSE, integral = TRUE;
  gsize int_start;
  if (c->s[c->pos] == '-')
    {
      neg = TRUE;
      c->pos++;
    }
  int_start = c->pos;
  if (c->pos >= c->n || !g_ascii_isdigit (c->s[c->pos]))
    return jc_fail (c, "invalid number");
  if (c->s[c->pos] == '0')
    {
      c->pos++;
      if (c->pos < c->n && g_ascii_isdigit (c->s[c->pos]))
        return jc_fail (c, "number with a leading zero");
    }
  else
    jc_digits (c);
  gsize int_end = c->pos;
  if (c->pos < c->n && c->s[c->pos] == '.')
    {
      integral = FALSE;
      c->pos++;
      if (!jc_digits (c))
        return jc_fail (c, "invalid number");
    }
  if (c->pos < c->n && (c->s[c->pos] == 'e' || c->s[c->pos] == 'E'))
    {
      integral = FALSE;
      c->pos++;
      if (c->pos < c->n && (c->s[c->pos] == '+' || c->s[c->pos] == '-'))
        c->pos++;
      if (!jc_digits (c))
        return jc_fail (c, "invalid number");
    }
  if (integral)
    {
      /* json-glib wraps integers outside int64 without a word. */
      guint64 v = 0;
      for (gsize i = int_start; i < int_end; i++)
        {
          guint d = c->s[i] - '0';
          if (v > (G_MAXUINT64 - d) / 10)
            return jc_fail (c, "integer out of range");
          v = v * 10 + d;
        }
      if (v > (guint64) G_MAXINT64 + (neg ? 1 : 0))
        return jc_fail (c, "integer out of range");
    }
  return TRUE;
}

static gboolean
jc_literal (JsonCheck *c, const char *word)
{
  gsize len = strlen (word);
  if (c->pos + len > c->n || memcmp (c->s + c->pos, word, len) != 0)
    return jc_fail (c, "unexpected character");
  c->pos += len;
  return TRUE;
}

static gboolean jc_value (JsonCheck *c, int depth);

static gboolean
jc_container (JsonCheck *c, int depth, gboolean object)
{
  char close = object ? '}' : ']';
  if (depth >= JSON_MAX_DEPTH)
    return jc_fail (c, "nested deeper than 128 levels");
  c->pos++;
  jc_ws (c);
  if (c->pos < c->n && c->s[c->pos] == close)
    {
      c->pos++;
      return TRUE;
    }
  for (;;)
    {
      if (object)
        {
          if (c->pos >= c->n || c->s[c->pos] != '"')
            return jc_fail (c, "expected a member name in quotes");
          if (!jc_string (c))
            return FALSE;
          jc_ws (c);
          if (c->pos >= c->n || c->s[c->pos] != ':')
            return jc_fail (c, "expected ':'");
          c->pos++;
          jc_ws (c);
        }
      if (!jc_value (c, depth + 1))
        return FALSE;
      jc_ws (c);
      if (c->pos >= c->n)
        return jc_fail (c, object ? "unterminated object" : "unterminated array");
      if (c->s[c->pos] == close)
        {
          c->pos++;
          return TRUE;
        }
      if (c->s[c->pos] != ',')
        return jc_fail (c, object ? "expected ',' or '}'" : "expected ',' or ']'");
      c->pos++;
      jc_ws (c);
    }
}

static gboolean
jc_value (JsonCheck *c, int depth)
{
  if (c->pos >= c->n)
    return jc_fail (c, "unexpected end of the header");
  switch (c->s[c->pos])
    {
    case '{': return jc_container (c, depth, TRUE);
    case '[': return jc_container (c, depth, FALSE);
    case '"': return jc_string (c);
    case 't': return jc_literal (c, "true");
    case 'f': return jc_literal (c, "false");
    case 'n': return jc_literal (c, "null");
    default:
      if (c->s[c->pos] == '-' || g_ascii_isdigit (c->s[c->pos]))
        return jc_number (c);
      return jc_fail (c, "unexpected character");
    }
}

/* TRUE when s is one JSON value (RFC 8259) surrounded by whitespace. */
static gboolean
json_check_strict (const guint8 *s, gsize n, gsize *err_pos, const char **problem)
{
  JsonCheck c = { s, n, 0, NULL };
  jc_ws (&c);
  gboolean ok = jc_value (&c, 0);
  if (ok)
    {
      jc_ws (&c);
      if (c.pos != c.n)
        ok = jc_fail (&c, "trailing characters after the JSON value");
    }
  *err_pos = c.pos;
  *problem = c.problem;
  return ok;
}

/* ---- reading ----------------------------------------------------------- */

struct _HoneSafetensors
{
  char *display_name;
  GMappedFile *map;          /* NULL for bytes in memory */
  const guint8 *bytes;
  gsize size;
  HoneSafetensorsTensor *tensors;
  int n_tensors;
  GHashTable *by_name;       /* name -> GINT_TO_POINTER (index + 1) */
  GHashTable *metadata;      /* char * -> char * */
};

/* One header entry while parsing. */
typedef struct
{
  char *name;
  HoneDtype dtype;
  int rank;
  int64_t *dims;
  guint64 begin;
  guint64 end;
  guint order;               /* position in the header, for a stable sort */
} Entry;

static void
entry_clear (gpointer p)
{
  Entry *e = p;
  g_free (e->name);
  g_free (e->dims);
}

/* Text from a file, fit for a message: control characters (which a hostile
 * name could send to a terminal) shown as '?', and at most about max bytes.
 * s is valid UTF-8. */
static char *
tidy_text (const char *s, gsize max)
{
  GString *out = g_string_sized_new (MIN (strlen (s), max) + 4);
  const char *p = s;
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

static void set_format_error (GError **error, const char *file, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
set_format_error (GError **error, const char *file, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *raw = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *msg = tidy_text (raw, 1024);
  g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
               "'%s' is not a valid safetensors file: %s", file, msg);
}

void
hone_safetensors_free (HoneSafetensors *st)
{
  if (st == NULL)
    return;
  for (int i = 0; i < st->n_tensors; i++)
    {
      g_free ((char *) st->tensors[i].name);
      g_free ((int64_t *) st->tensors[i].dims);
    }
  g_free (st->tensors);
  g_clear_pointer (&st->by_name, g_hash_table_unref);
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_clear_pointer (&st->map, g_mapped_file_unref);
  g_free (st->display_name);
  g_free (st);
}

/* Duplicate members: json-glib emits object-member after storing each
 * member, and a member that replaced one of the same name leaves the
 * object's size unchanged. */
typedef struct
{
  GHashTable *sizes;         /* JsonObject * -> size after its last member */
  char *duplicate;           /* first name seen twice */
} DupCheck;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  DupCheck *d = user_data;
  guint size = json_object_get_size (object);
  guint before = GPOINTER_TO_UINT (g_hash_table_lookup (d->sizes, object));
  if (size == before && !d->duplicate)
    d->duplicate = g_strdup (name);
  g_hash_table_insert (d->sizes, object, GUINT_TO_POINTER (size));
}

static const char *
json_kind (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY: return "an array";
    case JSON_NODE_NULL: return "null";
    case JSON_NODE_VALUE:
    default:
      {
        GType t = json_node_get_value_type (node);
        if (t == G_TYPE_STRING)
          return "a string";
        if (t == G_TYPE_BOOLEAN)
          return "a boolean";
        return "a number";
      }
    }
}

/* A JSON integer >= 0 (the reference's usize), or FALSE. */
static gboolean
json_get_size (JsonNode *node, guint64 *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
parse_entry (const char *file, const char *name, JsonNode *node, Entry *e, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_format_error (error, file, "tensor '%s' is %s, not an object with dtype, shape and "
                        "data_offsets", name, json_kind (node));
      return FALSE;
    }
  JsonObject *o = json_node_get_object (node);
  JsonNode *dtype = json_object_get_member (o, "dtype");
  JsonNode *shape = json_object_get_member (o, "shape");
  JsonNode *offsets = json_object_get_member (o, "data_offsets");
  if (!dtype || !shape || !offsets)
    {
      set_format_error (error, file, "tensor '%s' has no %s", name,
                        !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (dtype) || json_node_get_value_type (dtype) != G_TYPE_STRING)
    {
      set_format_error (error, file, "the dtype of tensor '%s' is %s, not a string", name,
                        json_kind (dtype));
      return FALSE;
    }
  if (!hone_dtype_from_name (json_node_get_string (dtype), &e->dtype))
    {
      set_format_error (error, file, "tensor '%s' has the unknown dtype '%s'", name,
                        json_node_get_string (dtype));
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (shape))
    {
      set_format_error (error, file, "the shape of tensor '%s' is %s, not a list of sizes", name,
                        json_kind (shape));
      return FALSE;
    }
  JsonArray *sa = json_node_get_array (shape);
  guint rank = json_array_get_length (sa);
  if (rank > G_MAXINT / 2)
    {
      set_format_error (error, file, "tensor '%s' has %u dimensions", name, rank);
      return FALSE;
    }
  e->rank = rank;
  e->dims = g_new (int64_t, MAX (rank, 1));
  for (guint i = 0; i < rank; i++)
    {
      guint64 d;
      if (!json_get_size (json_array_get_element (sa, i), &d))
        {
          set_format_error (error, file, "dimension %u of the shape of tensor '%s' is not an integer "
                            ">= 0", i, name);
          return FALSE;
        }
      e->dims[i] = (int64_t) d;
    }
  if (!JSON_NODE_HOLDS_ARRAY (offsets) || json_array_get_length (json_node_get_array (offsets)) != 2
      || !json_get_size (json_array_get_element (json_node_get_array (offsets), 0), &e->begin)
      || !json_get_size (json_array_get_element (json_node_get_array (offsets), 1), &e->end))
    {
      set_format_error (error, file, "the data_offsets of tensor '%s' are not two integers >= 0",
                        name);
      return FALSE;
    }
  return TRUE;
}

static int
entry_compare (gconstpointer pa, gconstpointer pb)
{
  const Entry *a = pa, *b = pb;
  if (a->begin != b->begin)
    return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

static void
dims_to_string (GString *s, const int64_t *dims, int rank)
{
  g_string_append_c (s, '(');
  for (int i = 0; i < rank && i < 16; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", dims[i]);
  if (rank > 16)
    g_string_append_printf (s, ", ... %d dimensions", rank);
  g_string_append_c (s, ')');
}

/* Metadata::validate: sorted by offsets, each tensor must start where the
 * previous ended, and hold exactly numel * bits / 8 bytes. */
static gboolean
validate_entries (const char *file, GArray *entries, guint64 *data_len, GError **error)
{
  guint64 start = 0;
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      if (e->begin != start || e->end < e->begin)
        {
          if (e->end < e->begin)
            set_format_error (error, file, "tensor '%s' has data_offsets [%" G_GUINT64_FORMAT ", %"
                              G_GUINT64_FORMAT "] that end before they begin", e->name, e->begin, e->end);
          else if (e->begin > start)
            set_format_error (error, file, "tensor '%s' starts at byte %" G_GUINT64_FORMAT " of the "
                              "data, leaving a gap after byte %" G_GUINT64_FORMAT " where the tensors "
                              "before it end", e->name, e->begin, start);
          else
            set_format_error (error, file, "tensor '%s' starts at byte %" G_GUINT64_FORMAT " of the "
                              "data, overlapping the tensor before it, which ends at byte %"
                              G_GUINT64_FORMAT, e->name, e->begin, start);
          return FALSE;
        }
      start = e->end;
      guint64 numel = 1, bits;
      for (int k = 0; k < e->rank; k++)
        if (!g_uint64_checked_mul (&numel, numel, (guint64) e->dims[k]))
          {
            g_autoptr (GString) s = g_string_new (NULL);
            dims_to_string (s, e->dims, e->rank);
            set_format_error (error, file, "the shape %s of tensor '%s' has more elements than "
                              "can be counted", s->str, e->name);
            return FALSE;
          }
      if (!g_uint64_checked_mul (&bits, numel, hone_dtype_bits (e->dtype)))
        {
          set_format_error (error, file, "tensor '%s' is too large to be counted in bits", e->name);
          return FALSE;
        }
      if (bits % 8 != 0)
        {
          set_format_error (error, file, "tensor '%s' (%s, %" G_GUINT64_FORMAT " elements) does "
                            "not fill a whole number of bytes", e->name,
                            hone_dtype_name (e->dtype), numel);
          return FALSE;
        }
      if (e->end - e->begin != bits / 8)
        {
          g_autoptr (GString) s = g_string_new (NULL);
          dims_to_string (s, e->dims, e->rank);
          set_format_error (error, file, "tensor '%s' has %" G_GUINT64_FORMAT " bytes of data, but "
                            "%s with shape %s needs %" G_GUINT64_FORMAT, e->name, e->end - e->begin,
                            hone_dtype_name (e->dtype), s->str, bits / 8);
          return FALSE;
        }
    }
  *data_len = start;
  return TRUE;
}

static gboolean
parse_metadata (HoneSafetensors *st, JsonNode *node, GError **error)
{
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_format_error (error, st->display_name, "__metadata__ is %s, not an object of strings",
                        json_kind (node));
      return FALSE;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (o);
  for (GList *l = keys; l; l = l->next)
    {
      JsonNode *v = json_object_get_member (o, l->data);
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        {
          set_format_error (error, st->display_name, "the __metadata__ value of '%s' is %s, not a "
                            "string", (const char *) l->data, json_kind (v));
          return FALSE;
        }
      g_hash_table_insert (st->metadata, g_strdup (l->data), g_strdup (json_node_get_string (v)));
    }
  return TRUE;
}

static gboolean
parse_file (HoneSafetensors *st, GError **error)
{
  const char *file = st->display_name;
  const guint8 *b = st->bytes;
  gsize size = st->size;

  if (size == 0)
    {
      set_format_error (error, file, "the file is empty");
      return FALSE;
    }
  if (size < 8)
    {
      set_format_error (error, file, "the file is %" G_GSIZE_FORMAT " bytes long, too short for "
                        "the 8-byte header length", size);
      return FALSE;
    }
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | b[i];
  if (n > HONE_SAFETENSORS_MAX_HEADER)
    {
      set_format_error (error, file, "the header length %" G_GUINT64_FORMAT " bytes is over the "
                        "limit of %d bytes", n, HONE_SAFETENSORS_MAX_HEADER);
      return FALSE;
    }
  if (n + 8 > size)
    {
      set_format_error (error, file, "the header length %" G_GUINT64_FORMAT " bytes runs past the "
                        "end of the file (%" G_GSIZE_FORMAT " bytes)", n, size);
      return FALSE;
    }
  const guint8 *h = b + 8;
  const char *bad = NULL;
  if (!g_utf8_validate_len ((const char *) h, n, &bad))
    {
      gsize at = (gsize) ((const guint8 *) bad - h);
      if (h[at] == 0)
        set_format_error (error, file, "the header holds a NUL byte at byte %" G_GSIZE_FORMAT, at);
      else
        set_format_error (error, file, "the header is not valid UTF-8 (byte %" G_GSIZE_FORMAT ")", at);
      return FALSE;
    }
  gsize err_pos;
  const char *problem;
  if (!json_check_strict (h, n, &err_pos, &problem))
    {
      set_format_error (error, file, "the header is not valid JSON: %s at byte %" G_GSIZE_FORMAT
                        " of the header", problem, err_pos);
      return FALSE;
    }

  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  DupCheck dup = { g_hash_table_new (NULL, NULL), NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dup);
  g_autoptr (GError) jerr = NULL;
  gboolean parsed = json_parser_load_from_data (parser, (const char *) h, n, &jerr);
  g_hash_table_unref (dup.sizes);
  g_autofree char *duplicate = dup.duplicate;
  if (!parsed)
    {
      set_format_error (error, file, "the header is not valid JSON: %s", jerr->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_format_error (error, file, "the header is %s, not a JSON object",
                        root ? json_kind (root) : "empty");
      return FALSE;
    }
  if (duplicate)
    {
      set_format_error (error, file, "the header names '%s' twice", duplicate);
      return FALSE;
    }

  JsonObject *ro = json_node_get_object (root);
  g_autoptr (GArray) entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (entries, entry_clear);
  g_autoptr (GList) members = json_object_get_members (ro);
  guint order = 0;
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (ro, name);
      if (strcmp (name, "__metadata__") == 0)
        {
          if (!parse_metadata (st, node, error))
            return FALSE;
          continue;
        }
      Entry e = { .name = g_strdup (name), .order = order++ };
      g_array_append_val (entries, e);
      if (!parse_entry (file, name, node, &g_array_index (entries, Entry, entries->len - 1), error))
        return FALSE;
    }
  g_array_sort (entries, entry_compare);

  guint64 data_len;
  if (!validate_entries (file, entries, &data_len, error))
    return FALSE;
  if (data_len + 8 + n != size)
    {
      if (data_len + 8 + n > size)
        set_format_error (error, file, "the tensor data is truncated: the header describes %"
                          G_GUINT64_FORMAT " bytes of data but the file holds %" G_GUINT64_FORMAT,
                          data_len, (guint64) size - 8 - n);
      else
        set_format_error (error, file, "%" G_GUINT64_FORMAT " bytes follow the last tensor's data",
                          (guint64) size - 8 - n - data_len);
      return FALSE;
    }

  const guint8 *data = h + n;
  st->n_tensors = entries->len;
  st->tensors = g_new0 (HoneSafetensorsTensor, MAX (entries->len, 1));
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      HoneSafetensorsTensor *t = &st->tensors[i];
      /* In 64 unsigned bits, as the reference's usize: checked above not to
       * overflow there, while a partial product may pass int64 before a
       * zero (2^32 x (2^32 - 1) x 0).  The total is at most 8 x the data's
       * bytes. */
      guint64 numel = 1;
      for (int k = 0; k < e->rank; k++)
        numel *= (guint64) e->dims[k];
      t->name = g_steal_pointer (&e->name);
      t->dtype = e->dtype;
      t->rank = e->rank;
      t->dims = g_steal_pointer (&e->dims);
      t->numel = (int64_t) numel;
      t->data = data + e->begin;
      t->nbytes = e->end - e->begin;
      g_hash_table_insert (st->by_name, (char *) t->name, GINT_TO_POINTER (i + 1));
    }
  return TRUE;
}

static HoneSafetensors *
st_new (const char *display_name)
{
  HoneSafetensors *st = g_new0 (HoneSafetensors, 1);
  st->display_name = g_strdup (display_name);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

HoneSafetensors *
hone_safetensors_open_bytes (const guint8 *bytes, gsize size, const char *what, GError **error)
{
  g_return_val_if_fail (bytes != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  HoneSafetensors *st = st_new (what ? what : "(memory)");
  st->bytes = bytes;
  st->size = size;
  if (!parse_file (st, error))
    {
      hone_safetensors_free (st);
      return NULL;
    }
  return st;
}

HoneSafetensors *
hone_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autofree char *display = g_filename_display_name (path);

  guint64 file_size;
  int fd = hone_file_open_regular (path, display, &file_size, error);
  if (fd < 0)
    return NULL;
  GError *merr = NULL;
  GMappedFile *map = g_mapped_file_new_from_fd (fd, FALSE, &merr);
  close (fd);
  if (!map)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                   merr->message);
      g_error_free (merr);
      return NULL;
    }
  HoneSafetensors *st = st_new (display);
  st->map = map;
  st->bytes = (const guint8 *) g_mapped_file_get_contents (map);
  st->size = g_mapped_file_get_length (map);
  if (!parse_file (st, error))
    {
      hone_safetensors_free (st);
      return NULL;
    }
  return st;
}

int
hone_safetensors_n_tensors (const HoneSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->n_tensors;
}

const HoneSafetensorsTensor *
hone_safetensors_tensor (const HoneSafetensors *st, int i)
{
  g_return_val_if_fail (st != NULL && i >= 0 && i < st->n_tensors, NULL);
  return &st->tensors[i];
}

int
hone_safetensors_find (const HoneSafetensors *st, const char *name)
{
  g_return_val_if_fail (st != NULL && name != NULL, -1);
  return GPOINTER_TO_INT (g_hash_table_lookup (st->by_name, name)) - 1;
}

GHashTable *
hone_safetensors_metadata (const HoneSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->metadata;
}

const char *
hone_safetensors_display_name (const HoneSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->display_name;
}

gboolean
hone_safetensors_tensor_shape (const HoneSafetensors *st, int i, HoneShape *shape, GError **error)
{
  g_return_val_if_fail (st != NULL && i >= 0 && i < st->n_tensors && shape != NULL, FALSE);
  const HoneSafetensorsTensor *t = &st->tensors[i];
  if (t->rank > HONE_MAX_RANK)
    {
      g_autofree char *name = tidy_text (t->name, 200);
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "tensor '%s' in '%s' has %d dimensions; Hone handles at most %d",
                   name, st->display_name, t->rank, HONE_MAX_RANK);
      return FALSE;
    }
  *shape = hone_shape_make (t->rank, t->dims);
  return TRUE;
}

/* ---- conversions ------------------------------------------------------- */

static void
set_dtype_error (GError **error, const HoneSafetensors *st, const HoneSafetensorsTensor *t,
                 const char *wanted)
{
  g_autofree char *name = tidy_text (t->name, 200);
  g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
               "tensor '%s' in '%s' has dtype %s; expected %s", name, st->display_name,
               hone_dtype_name (t->dtype), wanted);
}

gboolean
hone_safetensors_read_f32 (const HoneSafetensors *st, int i, float *out, GError **error)
{
  g_return_val_if_fail (st != NULL && i >= 0 && i < st->n_tensors, FALSE);
  g_return_val_if_fail (out != NULL || st->tensors[i].numel == 0, FALSE);
  const HoneSafetensorsTensor *t = &st->tensors[i];
  const guint8 *p = t->data;
  int64_t n = t->numel;
  switch (t->dtype)
    {
    case HONE_DTYPE_F32:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      if (n)
        memcpy (out, p, (gsize) n * 4);
#else
      for (int64_t k = 0; k < n; k++)
        out[k] = hone_bits_to_float (hone_load_le32 (p + 4 * k));
#endif
      return TRUE;
    case HONE_DTYPE_F16:
      for (int64_t k = 0; k < n; k++)
        out[k] = hone_half_to_float (hone_load_le16 (p + 2 * k));
      return TRUE;
    case HONE_DTYPE_BF16:
      for (int64_t k = 0; k < n; k++)
        out[k] = hone_bits_to_float ((guint32) hone_load_le16 (p + 2 * k) << 16);
      return TRUE;
    case HONE_DTYPE_F64:
      for (int64_t k = 0; k < n; k++)
        {
          guint64 bits = hone_load_le64 (p + 8 * k);
          double d;
          memcpy (&d, &bits, 8);
          out[k] = (float) d;
        }
      return TRUE;
    default:
      set_dtype_error (error, st, t, "F32, F16, BF16 or F64");
      return FALSE;
    }
}

gboolean
hone_safetensors_read_i64 (const HoneSafetensors *st, int i, int64_t *out, GError **error)
{
  g_return_val_if_fail (st != NULL && i >= 0 && i < st->n_tensors, FALSE);
  g_return_val_if_fail (out != NULL || st->tensors[i].numel == 0, FALSE);
  const HoneSafetensorsTensor *t = &st->tensors[i];
  const guint8 *p = t->data;
  int64_t n = t->numel;
  switch (t->dtype)
    {
    case HONE_DTYPE_I64:
      for (int64_t k = 0; k < n; k++)
        out[k] = (int64_t) hone_load_le64 (p + 8 * k);
      return TRUE;
    case HONE_DTYPE_I32:
      for (int64_t k = 0; k < n; k++)
        out[k] = (gint32) hone_load_le32 (p + 4 * k);
      return TRUE;
    case HONE_DTYPE_I16:
      for (int64_t k = 0; k < n; k++)
        out[k] = (gint16) hone_load_le16 (p + 2 * k);
      return TRUE;
    case HONE_DTYPE_I8:
      for (int64_t k = 0; k < n; k++)
        out[k] = (gint8) p[k];
      return TRUE;
    case HONE_DTYPE_U8:
    case HONE_DTYPE_BOOL:
      for (int64_t k = 0; k < n; k++)
        out[k] = p[k];
      return TRUE;
    default:
      set_dtype_error (error, st, t, "I64, I32, I16, I8, U8 or BOOL");
      return FALSE;
    }
}

gboolean
hone_safetensors_read_u8 (const HoneSafetensors *st, int i, guint8 *out, GError **error)
{
  g_return_val_if_fail (st != NULL && i >= 0 && i < st->n_tensors, FALSE);
  g_return_val_if_fail (out != NULL || st->tensors[i].numel == 0, FALSE);
  const HoneSafetensorsTensor *t = &st->tensors[i];
  if (t->dtype != HONE_DTYPE_U8 && t->dtype != HONE_DTYPE_BOOL)
    {
      set_dtype_error (error, st, t, "U8");
      return FALSE;
    }
  if (t->numel)
    memcpy (out, t->data, (gsize) t->numel);
  return TRUE;
}

/* ---- writing ----------------------------------------------------------- */

typedef struct
{
  char *name;
  HoneDtype dtype;
  HoneShape shape;
  gconstpointer data;
  gsize nbytes;
  int swap;                  /* element size to convert from host order, 0 for raw bytes */
} WTensor;

struct _HoneSafetensorsWriter
{
  GPtrArray *tensors;        /* WTensor *, owned */
  GHashTable *names;         /* borrowed from tensors */
  GHashTable *metadata;      /* char * -> char * */
};

static void
wtensor_free (gpointer p)
{
  WTensor *t = p;
  g_free (t->name);
  g_free (t);
}

HoneSafetensorsWriter *
hone_safetensors_writer_new (void)
{
  HoneSafetensorsWriter *w = g_new0 (HoneSafetensorsWriter, 1);
  w->tensors = g_ptr_array_new_with_free_func (wtensor_free);
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void
hone_safetensors_writer_free (HoneSafetensorsWriter *w)
{
  if (w == NULL)
    return;
  g_hash_table_unref (w->names);
  g_ptr_array_unref (w->tensors);
  g_hash_table_unref (w->metadata);
  g_free (w);
}

void
hone_safetensors_writer_set_metadata (HoneSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail (w != NULL && key != NULL && value != NULL);
  g_return_if_fail (g_utf8_validate (key, -1, NULL) && g_utf8_validate (value, -1, NULL));
  g_hash_table_insert (w->metadata, g_strdup (key), g_strdup (value));
}

static gboolean
writer_add (HoneSafetensorsWriter *w, const char *name, HoneDtype dtype, const HoneShape *shape,
            gconstpointer data, int swap, GError **error)
{
  int64_t numel;
  gsize bits;
  if (!g_utf8_validate (name, -1, NULL) || strcmp (name, "__metadata__") == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "cannot write a tensor named '%s': names must be UTF-8 and not __metadata__",
                   g_utf8_validate (name, -1, NULL) ? name : "(not UTF-8)");
      return FALSE;
    }
  if (g_hash_table_contains (w->names, name))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "cannot write two tensors named '%s' to one file", name);
      return FALSE;
    }
  if (!hone_shape_numel_checked (shape, &numel)
      || !g_size_checked_mul (&bits, (gsize) numel, hone_dtype_bits (dtype)) || bits % 8 != 0)
    {
      char buf[160];
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "cannot write tensor '%s': shape %s does not fit dtype %s", name,
                   hone_shape_to_string (shape, buf, sizeof buf), hone_dtype_name (dtype));
      return FALSE;
    }
  g_return_val_if_fail (data != NULL || numel == 0, FALSE);
  WTensor *t = g_new0 (WTensor, 1);
  t->name = g_strdup (name);
  t->dtype = dtype;
  t->shape = *shape;
  t->data = data;
  t->nbytes = bits / 8;
  t->swap = swap;
  g_ptr_array_add (w->tensors, t);
  g_hash_table_add (w->names, t->name);
  return TRUE;
}

gboolean
hone_safetensors_writer_add (HoneSafetensorsWriter *w, const char *name, HoneDtype dtype,
                             const HoneShape *shape, gconstpointer data, GError **error)
{
  g_return_val_if_fail (w != NULL && name != NULL && shape != NULL, FALSE);
  g_return_val_if_fail ((int) dtype >= 0 && dtype < HONE_N_DTYPES, FALSE);
  return writer_add (w, name, dtype, shape, data, 0, error);
}

gboolean
hone_safetensors_writer_add_f32 (HoneSafetensorsWriter *w, const char *name,
                                 const HoneShape *shape, const float *data, GError **error)
{
  g_return_val_if_fail (w != NULL && name != NULL && shape != NULL, FALSE);
  return writer_add (w, name, HONE_DTYPE_F32, shape, data, 4, error);
}

gboolean
hone_safetensors_writer_add_i64 (HoneSafetensorsWriter *w, const char *name,
                                 const HoneShape *shape, const int64_t *data, GError **error)
{
  g_return_val_if_fail (w != NULL && name != NULL && shape != NULL, FALSE);
  return writer_add (w, name, HONE_DTYPE_I64, shape, data, 8, error);
}

gboolean
hone_safetensors_writer_add_u8 (HoneSafetensorsWriter *w, const char *name,
                                const HoneShape *shape, const guint8 *data, GError **error)
{
  g_return_val_if_fail (w != NULL && name != NULL && shape != NULL, FALSE);
  return writer_add (w, name, HONE_DTYPE_U8, shape, data, 0, error);
}

static int
compare_str_ptr (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The reference's order: dtype descending (largest alignment first), then
 * name (byte order). */
static int
wtensor_compare (gconstpointer pa, gconstpointer pb)
{
  const WTensor *a = *(const WTensor *const *) pa, *b = *(const WTensor *const *) pb;
  if (a->dtype != b->dtype)
    return a->dtype > b->dtype ? -1 : 1;
  return strcmp (a->name, b->name);
}

static void
copy_le (guint8 *dst, const WTensor *t)
{
  if (!t->nbytes)
    return;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, t->data, t->nbytes);
#else
  if (t->swap == 0)
    memcpy (dst, t->data, t->nbytes);
  else
    for (gsize k = 0; k < t->nbytes; k += t->swap)
      for (int j = 0; j < t->swap; j++)
        dst[k + j] = ((const guint8 *) t->data)[k + t->swap - 1 - j];
#endif
}

GBytes *
hone_safetensors_writer_to_bytes (HoneSafetensorsWriter *w, GError **error)
{
  g_return_val_if_fail (w != NULL, NULL);

  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  for (guint i = 0; i < w->tensors->len; i++)
    g_ptr_array_add (sorted, w->tensors->pdata[i]);
  g_ptr_array_sort (sorted, wtensor_compare);

  g_autoptr (JsonBuilder) jb = json_builder_new ();
  json_builder_begin_object (jb);
  if (g_hash_table_size (w->metadata) > 0)
    {
      g_autofree const char **keys =
        (const char **) g_hash_table_get_keys_as_array (w->metadata, NULL);
      guint nk = g_hash_table_size (w->metadata);
      qsort (keys, nk, sizeof (char *), compare_str_ptr);
      json_builder_set_member_name (jb, "__metadata__");
      json_builder_begin_object (jb);
      for (guint i = 0; i < nk; i++)
        {
          json_builder_set_member_name (jb, keys[i]);
          json_builder_add_string_value (jb, g_hash_table_lookup (w->metadata, keys[i]));
        }
      json_builder_end_object (jb);
    }
  guint64 offset = 0;
  for (guint i = 0; i < sorted->len; i++)
    {
      const WTensor *t = sorted->pdata[i];
      json_builder_set_member_name (jb, t->name);
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "dtype");
      json_builder_add_string_value (jb, hone_dtype_name (t->dtype));
      json_builder_set_member_name (jb, "shape");
      json_builder_begin_array (jb);
      for (int k = 0; k < t->shape.rank; k++)
        json_builder_add_int_value (jb, t->shape.d[k]);
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "data_offsets");
      json_builder_begin_array (jb);
      json_builder_add_int_value (jb, (gint64) offset);
      json_builder_add_int_value (jb, (gint64) (offset + t->nbytes));
      json_builder_end_array (jb);
      json_builder_end_object (jb);
      offset += t->nbytes;
    }
  json_builder_end_object (jb);

  g_autoptr (JsonNode) root = json_builder_get_root (jb);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize hlen;
  g_autofree char *header = json_generator_to_data (gen, &hlen);
  gsize padded = (hlen + 7) / 8 * 8;
  if (padded > HONE_SAFETENSORS_MAX_HEADER)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "the safetensors header would be %" G_GSIZE_FORMAT " bytes, over the limit of %d",
                   padded, HONE_SAFETENSORS_MAX_HEADER);
      return NULL;
    }
  gsize total;
  if (!g_size_checked_add (&total, 8 + padded, (gsize) offset))
    {
      g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "the tensors are too large for one file");
      return NULL;
    }
  guint8 *buf = g_try_malloc (total);
  if (!buf)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "not enough memory to assemble a %" G_GSIZE_FORMAT "-byte safetensors file", total);
      return NULL;
    }
  guint64 n = padded;
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) (n >> (8 * i));
  memcpy (buf + 8, header, hlen);
  memset (buf + 8 + hlen, ' ', padded - hlen);
  guint8 *p = buf + 8 + padded;
  for (guint i = 0; i < sorted->len; i++)
    {
      const WTensor *t = sorted->pdata[i];
      copy_le (p, t);
      p += t->nbytes;
    }
  return g_bytes_new_take (buf, total);
}

gboolean
hone_safetensors_writer_write (HoneSafetensorsWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail (w != NULL && path != NULL, FALSE);
  g_autoptr (GBytes) bytes = hone_safetensors_writer_to_bytes (w, error);
  if (!bytes)
    return FALSE;
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr (GError) ferr = NULL;
  if (!g_file_set_contents_full (path, data, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0666, &ferr))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not write '%s': %s", display,
                   ferr->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- a graph's weights by name ----------------------------------------- */

static gboolean
value_is_weight (const HoneValue *v)
{
  return v->kind == HONE_VALUE_PARAM || v->kind == HONE_VALUE_BUFFER;
}

char **
hone_graph_head_params (const HoneGraph *g)
{
  g_return_val_if_fail (g != NULL, NULL);
  GPtrArray *names = g_ptr_array_new ();
  for (int o = 0; o < hone_graph_n_outputs (g); o++)
    {
      int v = hone_graph_output (g, o);
      /* Walk back from the output through parameter-free nodes (dropout,
       * flatten, softmax) to the first node that has weights. */
      while (v >= 0 && hone_graph_value (g, v)->producer >= 0)
        {
          const HoneNode *node = hone_graph_node (g, hone_graph_value (g, v)->producer);
          gboolean found = FALSE;
          int next = -1;
          for (int k = 0; k < node->n_in; k++)
            {
              const HoneValue *in = hone_graph_value (g, node->in[k]);
              if (value_is_weight (in))
                {
                  found = TRUE;
                  gboolean dup = FALSE;
                  for (guint j = 0; j < names->len; j++)
                    dup |= strcmp (names->pdata[j], in->name) == 0;
                  if (!dup)
                    g_ptr_array_add (names, g_strdup (in->name));
                }
              else if (next < 0 && (in->kind == HONE_VALUE_ACTIVATION || in->kind == HONE_VALUE_INPUT))
                next = node->in[k];
            }
          /* a MatMul whose bias is a separate Add (ONNX exports of a
           * Linear): the MatMul's weight is the head's too */
          const HoneNode *mm = found && next >= 0 && node->op == &hone_op_add
                               && hone_graph_value (g, next)->producer >= 0
                                 ? hone_graph_node (g, hone_graph_value (g, next)->producer) : NULL;
          for (int k = 0; mm && mm->op == &hone_op_matmul && k < mm->n_in; k++)
            {
              const HoneValue *in = hone_graph_value (g, mm->in[k]);
              if (value_is_weight (in))
                g_ptr_array_insert (names, 0, g_strdup (in->name));
            }
          if (found)
            break;
          v = next;
        }
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* "X.num_batches_tracked" beside a BatchNorm buffer "X.running_mean". */
static gboolean
is_num_batches_tracked (const HoneGraph *g, const char *name)
{
  if (!g_str_has_suffix (name, ".num_batches_tracked"))
    return FALSE;
  gsize plen = strlen (name) - strlen (".num_batches_tracked");
  g_autofree char *mean = g_strdup_printf ("%.*s.running_mean", (int) plen, name);
  int id = hone_graph_find (g, mean);
  return id >= 0 && hone_graph_value (g, id)->kind == HONE_VALUE_BUFFER;
}

#define LIST_MAX 10

static void
append_list (GString *msg, const char *label, GPtrArray *items)
{
  if (items->len == 0)
    return;
  if (msg->len)
    g_string_append (msg, "; ");
  g_string_append_printf (msg, "%s (%u): ", label, items->len);
  for (guint i = 0; i < items->len && i < LIST_MAX; i++)
    g_string_append_printf (msg, "%s%s", i ? ", " : "", (const char *) items->pdata[i]);
  if (items->len > LIST_MAX)
    g_string_append_printf (msg, " and %u more", items->len - LIST_MAX);
}

static char *
shape_string (const int64_t *dims, int rank)
{
  GString *s = g_string_new (NULL);
  dims_to_string (s, dims, rank);
  return g_string_free (s, FALSE);
}

gboolean
hone_graph_load_tensors (HoneGraph *g, const HoneSafetensors *st, HoneLoadFlags flags,
                         char ***skipped, GError **error)
{
  g_return_val_if_fail (g != NULL && st != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GHashTable) head = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (flags & HONE_LOAD_ALLOW_HEAD_MISMATCH)
    {
      char **names = hone_graph_head_params (g);
      for (int i = 0; names[i]; i++)
        g_hash_table_add (head, names[i]);
      g_free (names);           /* the strings now belong to the table */
    }

  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) unexpected = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) wrong_shape = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) wrong_dtype = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) head_skipped = g_ptr_array_new_with_free_func (g_free);
  int n_values = hone_graph_n_values (g);
  int *source = g_new (int, MAX (n_values, 1));      /* file index per value, or -1 */
  gboolean *used = g_new0 (gboolean, MAX (hone_safetensors_n_tensors (st), 1));

  for (int id = 0; id < n_values; id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      source[id] = -1;
      if (!value_is_weight (v))
        continue;
      int idx = hone_safetensors_find (st, v->name);
      gboolean in_head = g_hash_table_contains (head, v->name);
      if (idx < 0)
        {
          g_ptr_array_add (in_head ? head_skipped : missing, g_strdup (v->name));
          continue;
        }
      used[idx] = TRUE;
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, idx);
      gboolean same = t->rank == v->shape.rank;
      for (int k = 0; same && k < t->rank; k++)
        same = t->dims[k] == v->shape.d[k];
      if (!same)
        {
          if (in_head)
            g_ptr_array_add (head_skipped, g_strdup (v->name));
          else
            {
              g_autofree char *want = shape_string (v->shape.d, v->shape.rank);
              g_autofree char *got = shape_string (t->dims, t->rank);
              g_ptr_array_add (wrong_shape, g_strdup_printf ("%s (model %s, file %s)",
                                                             v->name, want, got));
            }
          continue;
        }
      if (!dtype_is_float (t->dtype))
        {
          g_ptr_array_add (wrong_dtype, g_strdup_printf ("%s (%s)", v->name,
                                                         hone_dtype_name (t->dtype)));
          continue;
        }
      source[id] = idx;
    }
  for (int i = 0; i < hone_safetensors_n_tensors (st); i++)
    {
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      if (used[i])
        continue;
      if (is_num_batches_tracked (g, t->name))
        {
          if (t->rank != 0 || !dtype_is_integer (t->dtype))
            {
              g_autofree char *got = shape_string (t->dims, t->rank);
              g_autofree char *name = tidy_text (t->name, 200);
              g_ptr_array_add (wrong_shape, g_strdup_printf ("%s (model: an integer scalar, file "
                                                             "%s %s)", name,
                                                             hone_dtype_name (t->dtype), got));
            }
          continue;
        }
      g_ptr_array_add (unexpected, tidy_text (t->name, 200));
    }
  g_free (used);

  if (missing->len || unexpected->len || wrong_shape->len || wrong_dtype->len)
    {
      g_autoptr (GString) msg = g_string_new (NULL);
      append_list (msg, "missing", missing);
      append_list (msg, "not in the model", unexpected);
      append_list (msg, "different shape", wrong_shape);
      append_list (msg, "not a floating-point dtype", wrong_dtype);
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "the weights in '%s' do not fit the model: %s",
                   hone_safetensors_display_name (st), msg->str);
      g_free (source);
      return FALSE;
    }

  for (int id = 0; id < n_values; id++)
    if (source[id] >= 0 && !hone_safetensors_read_f32 (st, source[id], hone_graph_value_data (g, id), error))
      {
        g_free (source);
        return FALSE;           /* not reached: dtypes were checked above */
      }
  g_free (source);

  if (skipped)
    {
      g_ptr_array_add (head_skipped, NULL);
      *skipped = (char **) g_ptr_array_steal (head_skipped, NULL);
    }
  return TRUE;
}

gboolean
hone_graph_load_safetensors_full (HoneGraph *g, const char *path, HoneLoadFlags flags,
                                  char ***skipped, GError **error)
{
  g_return_val_if_fail (g != NULL && path != NULL, FALSE);
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, error);
  if (!st)
    return FALSE;
  return hone_graph_load_tensors (g, st, flags, skipped, error);
}

gboolean
hone_graph_load_safetensors (HoneGraph *g, const char *path, HoneLoadFlags flags, GError **error)
{
  return hone_graph_load_safetensors_full (g, path, flags, NULL, error);
}

gboolean
hone_graph_save_safetensors (HoneGraph *g, const char *path, GHashTable *metadata, GError **error)
{
  static const int64_t zero = 0;
  g_return_val_if_fail (g != NULL && path != NULL, FALSE);
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  if (metadata)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, metadata);
      while (g_hash_table_iter_next (&it, &k, &v))
        hone_safetensors_writer_set_metadata (w, k, v);
    }
  HoneShape scalar = { .rank = 0 };
  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (!value_is_weight (v))
        continue;
      if (!hone_safetensors_writer_add_f32 (w, v->name, &v->shape, hone_graph_value_data (g, id), error))
        return FALSE;
      if (v->kind == HONE_VALUE_BUFFER && g_str_has_suffix (v->name, ".running_mean"))
        {
          gsize plen = strlen (v->name) - strlen (".running_mean");
          g_autofree char *var = g_strdup_printf ("%.*s.running_var", (int) plen, v->name);
          g_autofree char *nbt = g_strdup_printf ("%.*s.num_batches_tracked", (int) plen, v->name);
          int var_id = hone_graph_find (g, var);
          if (var_id >= 0 && hone_graph_value (g, var_id)->kind == HONE_VALUE_BUFFER
              && hone_graph_find (g, nbt) < 0
              && !hone_safetensors_writer_add_i64 (w, nbt, &scalar, &zero, error))
            return FALSE;
        }
    }
  return hone_safetensors_writer_write (w, path, error);
}
