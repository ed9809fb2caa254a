/* test-safetensors.c: the safetensors reader and writer, a corpus of hostile
 * files, and loading and saving a graph's weights by name. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"

/* ---- helpers ----------------------------------------------------------- */

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
write_file (const char *path, const void *data, gsize n)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, data, (gssize) n, &error));
  g_assert_no_error (error);
}

/* An 8-byte length n, then the header bytes, then data_len bytes of data. */
static GByteArray *
make_file (guint64 n, const void *header, gsize header_len, gsize data_len)
{
  GByteArray *b = g_byte_array_new ();
  guint8 len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (guint8) (n >> (8 * i));
  g_byte_array_append (b, len, 8);
  if (header_len)
    g_byte_array_append (b, header, header_len);
  for (gsize i = 0; i < data_len; i++)
    {
      guint8 x = (guint8) (i * 7 + 1);
      g_byte_array_append (b, &x, 1);
    }
  return b;
}

static GByteArray *
make_file_str (const char *header, gsize data_len)
{
  return make_file (strlen (header), header, strlen (header), data_len);
}

/* Both from memory and from a file on disk: an error in HONE_ERROR_FORMAT
 * whose message names the file and contains `expect`. */
static void
expect_bad_bytes (const char *label, const guint8 *bytes, gsize n, const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (bytes, n, "hostile.safetensors", &error);
  if (st || !error || !strstr (error->message, expect))
    g_error ("case '%s': expected an error containing '%s', got %s", label, expect,
             error ? error->message : "success");
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "hostile.safetensors"));

  g_autofree char *path = tmp_path ("hostile.safetensors");
  write_file (path, bytes, n);
  g_autoptr (GError) ferr = NULL;
  g_autoptr (HoneSafetensors) fst = hone_safetensors_open (path, &ferr);
  g_assert_null (fst);
  g_assert_error (ferr, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (ferr->message, path));
  g_assert_nonnull (strstr (ferr->message, expect));
  g_test_message ("%s: %s", label, ferr->message);
}

static void
expect_bad (const char *label, GByteArray *file, const char *expect)
{
  expect_bad_bytes (label, file->data, file->len, expect);
  g_byte_array_unref (file);
}

/* ---- round trips ------------------------------------------------------- */

static void
test_roundtrip_every_dtype (void)
{
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  /* Every dtype in a (3, 4) tensor of arbitrary bytes, a scalar and an
   * empty tensor of each. */
  guint8 *payload[HONE_N_DTYPES];
  HoneRng rng;
  hone_rng_init (&rng, 42, 0);
  for (int d = 0; d < HONE_N_DTYPES; d++)
    {
      HoneShape s = HONE_SHAPE (3, 4);
      gsize nbytes = 12 * hone_dtype_bits (d) / 8;
      payload[d] = g_malloc (nbytes);
      for (gsize i = 0; i < nbytes; i++)
        payload[d][i] = (guint8) hone_rng_next (&rng);
      g_autofree char *name = g_strdup_printf ("t.%s", hone_dtype_name (d));
      g_assert_true (hone_safetensors_writer_add (w, name, d, &s, payload[d], &error));
      g_assert_no_error (error);
      HoneShape e = HONE_SHAPE (0, 5);
      g_autofree char *ename = g_strdup_printf ("empty.%s", hone_dtype_name (d));
      g_assert_true (hone_safetensors_writer_add (w, ename, d, &e, NULL, &error));
      if (hone_dtype_bits (d) % 8 == 0)
        {
          HoneShape scalar = { .rank = 0 };
          g_autofree char *sname = g_strdup_printf ("scalar.%s", hone_dtype_name (d));
          g_assert_true (hone_safetensors_writer_add (w, sname, d, &scalar, payload[d], &error));
        }
    }
  hone_safetensors_writer_set_metadata (w, "format", "pt");
  hone_safetensors_writer_set_metadata (w, "note", "\"quoted\"\n\t\xc3\xa9\xe4\xb8\xad");

  g_autofree char *path = tmp_path ("dtypes.safetensors");
  g_assert_true (hone_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);

  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  int n_fractional = 3;        /* F4, F6_E2M3, F6_E3M2 have no scalar */
  g_assert_cmpint (hone_safetensors_n_tensors (st), ==, 3 * HONE_N_DTYPES - n_fractional);
  for (int d = 0; d < HONE_N_DTYPES; d++)
    {
      g_autofree char *name = g_strdup_printf ("t.%s", hone_dtype_name (d));
      int i = hone_safetensors_find (st, name);
      g_assert_cmpint (i, >=, 0);
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      g_assert_cmpstr (t->name, ==, name);
      g_assert_cmpint (t->dtype, ==, d);
      g_assert_cmpint (t->rank, ==, 2);
      g_assert_cmpint (t->dims[0], ==, 3);
      g_assert_cmpint (t->dims[1], ==, 4);
      g_assert_cmpint (t->numel, ==, 12);
      g_assert_cmpmem (t->data, t->nbytes, payload[d], 12 * hone_dtype_bits (d) / 8);
      HoneShape s;
      g_assert_true (hone_safetensors_tensor_shape (st, i, &s, &error));
      g_assert_cmpint (s.rank, ==, 2);

      g_autofree char *ename = g_strdup_printf ("empty.%s", hone_dtype_name (d));
      t = hone_safetensors_tensor (st, hone_safetensors_find (st, ename));
      g_assert_cmpint (t->numel, ==, 0);
      g_assert_cmpuint (t->nbytes, ==, 0);
      g_assert_cmpint (t->rank, ==, 2);
      g_free (payload[d]);
    }
  GHashTable *meta = hone_safetensors_metadata (st);
  g_assert_cmpuint (g_hash_table_size (meta), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (meta, "format"), ==, "pt");
  g_assert_cmpstr (g_hash_table_lookup (meta, "note"), ==, "\"quoted\"\n\t\xc3\xa9\xe4\xb8\xad");

  /* The reference's layout: file order is dtype descending, then name;
   * the header is padded to 8 bytes so that the data section is aligned. */
  for (int i = 1; i < hone_safetensors_n_tensors (st); i++)
    {
      const HoneSafetensorsTensor *a = hone_safetensors_tensor (st, i - 1);
      const HoneSafetensorsTensor *b = hone_safetensors_tensor (st, i);
      g_assert_true (a->dtype > b->dtype || (a->dtype == b->dtype && strcmp (a->name, b->name) < 0));
      g_assert_true (a->data + a->nbytes == b->data);
    }
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | (guint8) contents[i];
  g_assert_cmpuint (n % 8, ==, 0);
  g_assert_true (contents[8 + n - 1] == ' ' || contents[8 + n - 1] == '}');
  g_assert_cmpmem (contents + 8, 16, "{\"__metadata__\":", 16);
}

static void
test_roundtrip_typed (void)
{
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float f[6] = { 0.0f, -1.5f, 3.25e-12f, INFINITY, -0.0f, 65504.0f };
  int64_t l[4] = { 0, -1, G_MAXINT64, G_MININT64 };
  guint8 u[5] = { 0, 1, 127, 128, 255 };
  HoneShape sf = HONE_SHAPE (2, 3), sl = HONE_SHAPE (4), su = HONE_SHAPE (5, 1, 1);
  g_assert_true (hone_safetensors_writer_add_f32 (w, "images", &sf, f, &error));
  g_assert_true (hone_safetensors_writer_add_i64 (w, "labels", &sl, l, &error));
  g_assert_true (hone_safetensors_writer_add_u8 (w, "pixels", &su, u, &error));
  g_autoptr (GBytes) bytes = hone_safetensors_writer_to_bytes (w, &error);
  g_assert_no_error (error);
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (data, n, "typed", &error);
  g_assert_no_error (error);

  /* I64 before F32 before U8, as the reference orders them */
  g_assert_cmpstr (hone_safetensors_tensor (st, 0)->name, ==, "labels");
  g_assert_cmpstr (hone_safetensors_tensor (st, 1)->name, ==, "images");
  g_assert_cmpstr (hone_safetensors_tensor (st, 2)->name, ==, "pixels");

  float fo[6];
  int64_t lo[4];
  guint8 uo[5];
  g_assert_true (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "images"), fo, &error));
  g_assert_cmpmem (fo, sizeof fo, f, sizeof f);
  g_assert_true (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "labels"), lo, &error));
  g_assert_cmpmem (lo, sizeof lo, l, sizeof l);
  g_assert_true (hone_safetensors_read_u8 (st, hone_safetensors_find (st, "pixels"), uo, &error));
  g_assert_cmpmem (uo, sizeof uo, u, sizeof u);
  int64_t lu[5];
  g_assert_true (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "pixels"), lu, &error));
  g_assert_cmpint (lu[4], ==, 255);
  g_assert_no_error (error);

  /* wrong conversions name the tensor, the file and the dtype */
  g_assert_false (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "labels"), fo, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "'labels'"));
  g_assert_nonnull (strstr (error->message, "typed"));
  g_assert_nonnull (strstr (error->message, "I64"));
  g_clear_error (&error);
  g_assert_false (hone_safetensors_read_u8 (st, hone_safetensors_find (st, "images"), uo, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "images"), lo, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
}

/* F16, BF16 and F64 to float32, and the narrower integers to int64. */
static void
test_conversions (void)
{
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  /* binary16 bit patterns and their exact values */
  const guint16 h[] = { 0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400,
                        0x7c00, 0xfc00, 0x3555 };
  const float hv[] = { 0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f,
                       6.0975551605224609375e-5f, 6.103515625e-5f, INFINITY, -INFINITY,
                       0.333251953125f };
  const guint16 bf[] = { 0x3f80, 0xc0a0, 0x7f80, 0x0001, 0x4049 };
  const float bfv[] = { 1.0f, -5.0f, INFINITY, 9.18354961579912115600575419704879435795832466228193376178712270530013483949005603790283203125e-41f, 3.140625f };
  const double dv[] = { 0.1, -1e300, 1e-50, 3.0, 16777217.0 };
  const gint32 iv[] = { -2147483647 - 1, 2147483647, 0, -5 };
  const gint16 sv[] = { -32768, 32767, -1 };
  const gint8 cv[] = { -128, 127, -1 };
  const guint8 bv[] = { 0, 1 };
  guint8 hle[sizeof h], bfle[sizeof bf], dle[sizeof dv], ile[sizeof iv], sle[sizeof sv];
  for (guint i = 0; i < G_N_ELEMENTS (h); i++)
    hle[2 * i] = h[i] & 0xff, hle[2 * i + 1] = h[i] >> 8;
  for (guint i = 0; i < G_N_ELEMENTS (bf); i++)
    bfle[2 * i] = bf[i] & 0xff, bfle[2 * i + 1] = bf[i] >> 8;
  for (guint i = 0; i < G_N_ELEMENTS (dv); i++)
    {
      guint64 bits;
      memcpy (&bits, &dv[i], 8);
      for (int k = 0; k < 8; k++)
        dle[8 * i + k] = (guint8) (bits >> (8 * k));
    }
  for (guint i = 0; i < G_N_ELEMENTS (iv); i++)
    for (int k = 0; k < 4; k++)
      ile[4 * i + k] = (guint8) ((guint32) iv[i] >> (8 * k));
  for (guint i = 0; i < G_N_ELEMENTS (sv); i++)
    for (int k = 0; k < 2; k++)
      sle[2 * i + k] = (guint8) ((guint16) sv[i] >> (8 * k));

  HoneShape s;
  s = HONE_SHAPE (G_N_ELEMENTS (h));
  g_assert_true (hone_safetensors_writer_add (w, "f16", HONE_DTYPE_F16, &s, hle, &error));
  s = HONE_SHAPE (G_N_ELEMENTS (bf));
  g_assert_true (hone_safetensors_writer_add (w, "bf16", HONE_DTYPE_BF16, &s, bfle, &error));
  s = HONE_SHAPE (G_N_ELEMENTS (dv));
  g_assert_true (hone_safetensors_writer_add (w, "f64", HONE_DTYPE_F64, &s, dle, &error));
  s = HONE_SHAPE (G_N_ELEMENTS (iv));
  g_assert_true (hone_safetensors_writer_add (w, "i32", HONE_DTYPE_I32, &s, ile, &error));
  s = HONE_SHAPE (G_N_ELEMENTS (sv));
  g_assert_true (hone_safetensors_writer_add (w, "i16", HONE_DTYPE_I16, &s, sle, &error));
  s = HONE_SHAPE (G_N_ELEMENTS (cv));
  g_assert_true (hone_safetensors_writer_add (w, "i8", HONE_DTYPE_I8, &s, cv, &error));
  s = HONE_SHAPE (G_N_ELEMENTS (bv));
  g_assert_true (hone_safetensors_writer_add (w, "bool", HONE_DTYPE_BOOL, &s, bv, &error));
  g_autoptr (GBytes) bytes = hone_safetensors_writer_to_bytes (w, &error);
  g_assert_no_error (error);
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (data, n, "conv", &error);
  g_assert_no_error (error);

  float out[16];
  int64_t lo[16];
  g_assert_true (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "f16"), out, &error));
  for (guint i = 0; i < G_N_ELEMENTS (h); i++)
    {
      g_assert_cmpmem (&out[i], 4, &hv[i], 4);   /* bit-exact, signed zeros included */
    }
  g_assert_true (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "bf16"), out, &error));
  for (guint i = 0; i < G_N_ELEMENTS (bf); i++)
    g_assert_cmpmem (&out[i], 4, &bfv[i], 4);
  g_assert_true (hone_safetensors_read_f32 (st, hone_safetensors_find (st, "f64"), out, &error));
  for (guint i = 0; i < G_N_ELEMENTS (dv); i++)
    {
      float expect = (float) dv[i];
      g_assert_cmpmem (&out[i], 4, &expect, 4);
    }
  g_assert_true (isinf (out[1]) && out[1] < 0);
  g_assert_cmpfloat (out[2], ==, 0.0f);
  g_assert_cmpfloat (out[4], ==, 16777216.0f);   /* rounded to nearest even */

  /* a NaN half stays a NaN */
  guint8 nanh[2] = { 0x00, 0x7e };
  g_autoptr (HoneSafetensorsWriter) w2 = hone_safetensors_writer_new ();
  HoneShape one = HONE_SHAPE (1);
  g_assert_true (hone_safetensors_writer_add (w2, "nan", HONE_DTYPE_F16, &one, nanh, &error));
  g_autoptr (GBytes) b2 = hone_safetensors_writer_to_bytes (w2, &error);
  g_autoptr (HoneSafetensors) st2 = hone_safetensors_open_bytes (g_bytes_get_data (b2, NULL),
                                                                 g_bytes_get_size (b2), "nan", &error);
  g_assert_true (hone_safetensors_read_f32 (st2, 0, out, &error));
  g_assert_true (isnan (out[0]));

  g_assert_true (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "i32"), lo, &error));
  for (guint i = 0; i < G_N_ELEMENTS (iv); i++)
    g_assert_cmpint (lo[i], ==, iv[i]);
  g_assert_true (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "i16"), lo, &error));
  for (guint i = 0; i < G_N_ELEMENTS (sv); i++)
    g_assert_cmpint (lo[i], ==, sv[i]);
  g_assert_true (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "i8"), lo, &error));
  for (guint i = 0; i < G_N_ELEMENTS (cv); i++)
    g_assert_cmpint (lo[i], ==, cv[i]);
  g_assert_true (hone_safetensors_read_i64 (st, hone_safetensors_find (st, "bool"), lo, &error));
  g_assert_cmpint (lo[1], ==, 1);
  g_assert_no_error (error);
}

/* The bytes the reference writes for its own test cases
 * (safetensors/src/tensor.rs: test_serialization, test_empty,
 * test_serialization_forced_alignement), and that they read back. */
static void
test_reference_bytes (void)
{
  g_autoptr (GError) error = NULL;
  float v[6] = { 0, 1, 2, 3, 4, 5 };
  struct
  {
    const char *name;
    HoneShape shape;
    const char *meta_key;
    const char *header;
  } cases[] = {
    { "attn.0", HONE_SHAPE (1, 2, 3), NULL,
      "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}" },
    { "attn0", HONE_SHAPE (1, 1, 2, 3), NULL,
      "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       " },
    { NULL, { 0 }, NULL, "{}      " },
    { NULL, { 0 }, "framework", "{\"__metadata__\":{\"framework\":\"pt\"}}     " },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
      if (cases[c].name)
        g_assert_true (hone_safetensors_writer_add_f32 (w, cases[c].name, &cases[c].shape, v, &error));
      if (cases[c].meta_key)
        hone_safetensors_writer_set_metadata (w, cases[c].meta_key, "pt");
      g_autoptr (GBytes) bytes = hone_safetensors_writer_to_bytes (w, &error);
      g_assert_no_error (error);
      gsize hlen = strlen (cases[c].header);
      g_autoptr (GByteArray) expect = make_file (hlen, cases[c].header, hlen, 0);
      if (cases[c].name)
        g_byte_array_append (expect, (const guint8 *) v, sizeof v);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expect->data, expect->len);
      g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (expect->data, expect->len, "ref", &error);
      g_assert_no_error (error);
    }
}

/* Files the reference accepts: any member order, unpadded headers, null
 * metadata, extra fields in an entry, zero-size tensors sharing an offset,
 * whitespace around the JSON, escapes in names. */
static void
test_accepted_variants (void)
{
  const char *headers[] = {
    "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
    "\"a\":{\"data_offsets\":[0,4],\"shape\":[2,2],\"dtype\":\"I8\"}}",
    "{\"__metadata__\":null,\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8],\"extra\":[1,{\"x\":null}]}}",
    " \n{\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
    "\"e2\":{\"dtype\":\"F64\",\"shape\":[3,0],\"data_offsets\":[0,0]},"
    "\"x\\u00e9\\ud83d\\ude00\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}\t\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GByteArray) f = make_file_str (headers[i], 8);
      g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (f->data, f->len, "ok", &error);
      g_assert_no_error (error);
      g_assert_nonnull (st);
    }
  g_autoptr (GByteArray) f = make_file_str (headers[2], 8);
  g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (f->data, f->len, "ok", NULL);
  g_assert_cmpint (hone_safetensors_find (st, "x\xc3\xa9\xf0\x9f\x98\x80"), >=, 0);
  g_assert_cmpint (hone_safetensors_n_tensors (st), ==, 3);

  /* the reference counts elements in 64 unsigned bits: a product past
   * int64 before a zero is a valid empty tensor (found by fuzz-safetensors:
   * Hone multiplied in int64) */
  g_autoptr (GByteArray) f2 = make_file_str ("{\"a\":{\"dtype\":\"U8\",\"shape\":"
                                             "[4294967296,4294167296,0],\"data_offsets\":[0,0]}}", 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneSafetensors) st2 = hone_safetensors_open_bytes (f2->data, f2->len, "ok", &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_safetensors_tensor (st2, 0)->numel, ==, 0);
  g_assert_cmpint (hone_safetensors_tensor (st2, 0)->nbytes, ==, 0);
}

/* ---- hostile files ----------------------------------------------------- */

#define T(dtype, shape, offsets) "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offsets "}"

static void
test_hostile (void)
{
  struct
  {
    const char *label;
    const char *header;
    gsize data_len;
    const char *expect;
  } cases[] = {
    { "not JSON", "hello world", 0, "not valid JSON" },
    { "JSON array", "[1,2,3]", 0, "an array, not a JSON object" },
    { "JSON string", "\"x\"", 0, "a string, not a JSON object" },
    { "whitespace only", "        ", 0, "not valid JSON" },
    { "unknown dtype", "{\"a\":" T ("Q8", "[2]", "[0,2]") "}", 2, "unknown dtype 'Q8'" },
    { "dtype not a string", "{\"a\":" "{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,2]}}", 2, "not a string" },
    { "lower-case dtype", "{\"a\":" T ("f32", "[2]", "[0,8]") "}", 8, "unknown dtype 'f32'" },
    { "shape overflow", "{\"a\":" T ("U8", "[4294967296,4294967296,2]", "[0,0]") "}", 0,
      "more elements than can be counted" },
    { "shape overflow before a zero", "{\"a\":" T ("U8", "[9223372036854775807,3,0]", "[0,0]") "}", 0,
      "more elements than can be counted" },
    { "bit count overflow", "{\"a\":" T ("F64", "[2305843009213693952,2]", "[0,0]") "}", 0,
      "too large to be counted in bits" },
    { "negative size", "{\"a\":" T ("U8", "[-1]", "[0,0]") "}", 0, "not an integer >= 0" },
    { "fractional size", "{\"a\":" T ("U8", "[2.0]", "[0,2]") "}", 2, "not an integer >= 0" },
    { "shape not a list", "{\"a\":" T ("U8", "2", "[0,2]") "}", 2, "not a list of sizes" },
    { "offsets out of bounds", "{\"a\":" T ("U8", "[1000]", "[0,1000]") "}", 8, "truncated" },
    { "offsets overlap", "{\"a\":" T ("U8", "[8]", "[0,8]") ",\"b\":" T ("U8", "[8]", "[4,12]") "}", 12,
      "overlapping" },
    { "offsets gap", "{\"a\":" T ("U8", "[8]", "[0,8]") ",\"b\":" T ("U8", "[8]", "[12,20]") "}", 20,
      "leaving a gap" },
    { "offsets not from 0", "{\"a\":" T ("U8", "[8]", "[8,16]") "}", 16, "leaving a gap" },
    { "offsets reversed", "{\"a\":" T ("U8", "[0]", "[8,0]") "}", 8, "end before they begin" },
    { "offsets negative", "{\"a\":" T ("U8", "[8]", "[-8,0]") "}", 8, "not two integers" },
    { "three offsets", "{\"a\":" T ("U8", "[8]", "[0,8,8]") "}", 8, "not two integers" },
    { "size mismatch", "{\"a\":" T ("F32", "[2]", "[0,4]") "}", 4, "needs 8" },
    { "F4 half byte", "{\"a\":" T ("F4", "[3]", "[0,2]") "}", 2, "whole number of bytes" },
    { "duplicate tensor", "{\"a\":" T ("U8", "[4]", "[0,4]") ",\"a\":" T ("U8", "[4]", "[4,8]") "}", 8,
      "names 'a' twice" },
    { "duplicate field", "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
      "names 'dtype' twice" },
    { "duplicate escaped", "{\"a\":" T ("U8", "[4]", "[0,4]") ",\"\\u0061\":" T ("U8", "[4]", "[4,8]") "}", 8,
      "twice" },
    { "truncated data", "{\"a\":" T ("F32", "[4]", "[0,16]") "}", 8, "truncated" },
    { "trailing data", "{\"a\":" T ("F32", "[2]", "[0,8]") "}", 12, "4 bytes follow" },
    { "metadata not a string", "{\"__metadata__\":{\"k\":1}}", 0, "value of 'k' is a number, not a string" },
    { "metadata nested", "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, "is an object, not a string" },
    { "metadata array", "{\"__metadata__\":[\"k\"]}", 0, "not an object of strings" },
    { "metadata a string", "{\"__metadata__\":\"k\"}", 0, "not an object of strings" },
    { "metadata duplicate key", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "names 'k' twice" },
    { "metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "names '__metadata__' twice" },
    { "missing shape", "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,4]}}", 4, "has no shape" },
    { "offsets not a list", "{\"a\":" T ("U8", "[4]", "4") "}", 4, "not two integers" },
    { "one offset", "{\"a\":" T ("U8", "[4]", "[4]") "}", 4, "not two integers" },
    { "fractional offset", "{\"a\":" T ("U8", "[4]", "[0,4.0]") "}", 4, "not two integers" },
    { "offset as a string", "{\"a\":" T ("U8", "[4]", "[0,\"4\"]") "}", 4, "not two integers" },
    { "shape of strings", "{\"a\":" T ("U8", "[\"4\"]", "[0,4]") "}", 4, "not an integer >= 0" },
    { "exponent size", "{\"a\":" T ("U8", "[4e0]", "[0,4]") "}", 4, "not an integer >= 0" },
    { "second tensor past the end", "{\"a\":" T ("U8", "[4]", "[0,4]") ",\"b\":" T ("U8", "[8]", "[4,12]") "}", 8,
      "truncated" },
    { "zero-size tensor after the end", "{\"a\":" T ("U8", "[4]", "[0,4]") ",\"b\":" T ("U8", "[0]", "[8,8]") "}", 4,
      "leaving a gap" },
    { "entry not an object", "{\"a\":[0,4]}", 4, "not an object" },
    { "missing dtype", "{\"a\":{\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "has no dtype" },
    { "missing offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4]}}", 4, "has no data_offsets" },
    { "comment", "{/* hi */\"a\":" T ("U8", "[4]", "[0,4]") "}", 4, "not valid JSON" },
    { "single quotes", "{'a':" T ("U8", "[4]", "[0,4]") "}", 4, "not valid JSON" },
    { "trailing comma", "{\"a\":" T ("U8", "[4]", "[0,4]") ",}", 4, "not valid JSON" },
    { "hex number", "{\"a\":" T ("U8", "[0x4]", "[0,4]") "}", 4, "not valid JSON" },
    { "leading zero", "{\"a\":" T ("U8", "[04]", "[0,4]") "}", 4, "leading zero" },
    { "huge integer", "{\"a\":" T ("U8", "[4]", "[0,18446744073709551620]") "}", 4, "integer out of range" },
    { "huge negative", "{\"a\":" T ("U8", "[-9223372036854775809]", "[0,4]") "}", 4, "integer out of range" },
    { "NaN", "{\"a\":" T ("U8", "[NaN]", "[0,4]") "}", 4, "not valid JSON" },
    { "control character", "{\"a\tb\":" T ("U8", "[4]", "[0,4]") "}", 4, "control character" },
    { "bad escape", "{\"a\\x\":" T ("U8", "[4]", "[0,4]") "}", 4, "invalid escape" },
    { "lone surrogate", "{\"a\\ud800\":" T ("U8", "[4]", "[0,4]") "}", 4, "lone surrogate" },
    { "escaped NUL", "{\"a\\u0000b\":" T ("U8", "[4]", "[0,4]") "}", 4, "\\u0000" },
    { "unterminated", "{\"a\":" T ("U8", "[4]", "[0,4]"), 4, "unterminated object" },
    { "two values", "{} {}", 0, "trailing characters" },
    { "byte order mark", "\xef\xbb\xbf{}", 0, "not valid JSON" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    expect_bad (cases[i].label, make_file_str (cases[i].header, cases[i].data_len), cases[i].expect);

  /* lengths and bytes a string literal cannot express */
  expect_bad_bytes ("zero-length file", (const guint8 *) "", 0, "the file is empty");
  expect_bad_bytes ("short file", (const guint8 *) "\x02\0\0\0", 4, "too short");
  expect_bad ("header longer than the file", make_file (1000, "{}", 2, 10), "runs past the end");
  expect_bad ("header just past the end", make_file (3, "{}", 2, 0), "runs past the end");
  expect_bad ("header over 100 MB", make_file (100000001, "{}", 2, 0), "over the limit");
  /* exactly the limit is allowed (and then too long for this file) */
  expect_bad ("header of 100 MB", make_file (100000000, "{}", 2, 0), "runs past the end");
  expect_bad ("header length 0", make_file (0, NULL, 0, 0), "not valid JSON");
  expect_bad ("header length 0 and data", make_file (0, NULL, 0, 8), "not valid JSON");
  expect_bad ("header length 2^64 - 1", make_file (G_MAXUINT64, "{}", 2, 0), "over the limit");
  expect_bad ("header length 2^63", make_file ((guint64) 1 << 63, "{}", 2, 0), "over the limit");
  expect_bad ("invalid UTF-8", make_file_str ("{\"a\xff\":" T ("U8", "[4]", "[0,4]") "}", 4), "UTF-8");
  expect_bad ("overlong UTF-8", make_file_str ("{\"\xc0\xaf\":{}}", 0), "UTF-8");
  expect_bad ("NUL byte", make_file (4, "{}\0 ", 4, 0), "NUL byte");

  /* names that would reach a terminal or fill a screen are tidied */
  for (int round = 0; round < 2; round++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GString) h = g_string_new ("{\"\\u001b[2J\\u0007bell\":");
      g_string_append (h, round == 0 ? T ("Q8", "[1]", "[0,1]") : T ("U8", "[1]", "[0,1]"));
      g_string_append (h, ",\"");
      for (int i = 0; i < 100000; i++)
        g_string_append (h, "\xe4\xb8\xad");
      g_string_append (h, "\":" T ("Q9", "[1]", "[1,2]") "}");
      g_autoptr (GByteArray) f = make_file_str (h->str, 2);
      g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (f->data, f->len, "t", &error);
      g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      for (const char *p = error->message; *p; p++)
        g_assert_cmpint ((guchar) *p, >=, 0x20);
      if (round == 0)
        g_assert_nonnull (strstr (error->message, "tensor '?[2J?bell' has the unknown dtype 'Q8'"));
      else
        {
          g_assert_cmpuint (strlen (error->message), <, 1200);
          g_assert_true (g_str_has_suffix (error->message, "\xe4\xb8\xad\xe2\x80\xa6"));
        }
    }

  /* nesting deep enough to overflow a recursive parser's stack */
  gsize depth = 1000000;
  g_autofree char *deep = g_malloc (2 * depth + 1);
  memset (deep, '[', depth);
  memset (deep + depth, ']', depth);
  deep[2 * depth] = 0;
  expect_bad ("deep nesting", make_file_str (deep, 0), "nested deeper than 128");
  g_autofree char *deep_ok = g_strdup_printf ("{\"__x\":%s}", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]");
  expect_bad ("shallow nesting", make_file_str (deep_ok, 0), "not an object");
}

/* Every prefix of a valid file is an error, never a crash, and so is every
 * single-byte change in its length field and header (most are). */
static void
test_hostile_mutations (void)
{
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  float v[6] = { 1, 2, 3, 4, 5, 6 };
  int64_t l[2] = { 7, 8 };
  HoneShape s = HONE_SHAPE (2, 3), sl = HONE_SHAPE (2);
  hone_safetensors_writer_add_f32 (w, "w", &s, v, NULL);
  hone_safetensors_writer_add_i64 (w, "l", &sl, l, NULL);
  hone_safetensors_writer_set_metadata (w, "k", "v");
  g_autoptr (GBytes) bytes = hone_safetensors_writer_to_bytes (w, NULL);
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  for (gsize len = 0; len < n; len++)
    {
      g_autoptr (GError) error = NULL;
      guint8 *copy = g_memdup2 (data, MAX (len, 1));
      g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (copy, len, "prefix", &error);
      g_assert_null (st);
      g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
      g_free (copy);
    }
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | data[i];
  const guint8 subs[] = { 0x00, 0xff, '{', '}', '[', ']', '"', ',', ':', '0', '9', 'a', '\\', ' ', 0x80 };
  int accepted = 0;
  for (gsize pos = 0; pos < 8 + hlen; pos++)
    for (guint k = 0; k < G_N_ELEMENTS (subs); k++)
      {
        g_autoptr (GError) error = NULL;
        guint8 *copy = g_memdup2 (data, n);
        copy[pos] = subs[k];
        g_autoptr (HoneSafetensors) st = hone_safetensors_open_bytes (copy, n, "mutant", &error);
        if (st)
          {
            /* what is accepted must be consistent */
            for (int i = 0; i < hone_safetensors_n_tensors (st); i++)
              {
                const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
                g_assert_true (t->data >= copy + 8 + hlen && t->data + t->nbytes <= copy + n);
              }
            accepted++;
          }
        else
          g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
        g_free (copy);
      }
  g_test_message ("%d mutants accepted", accepted);
}

static void
test_open_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = tmp_path ("does-not-exist.safetensors");
  g_assert_null (hone_safetensors_open (missing, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_null (hone_safetensors_open (tmp_dir, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);

  /* a FIFO must not block the reader */
  g_autofree char *fifo = tmp_path ("fifo.safetensors");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (hone_safetensors_open (fifo, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_clear_error (&error);
  g_unlink (fifo);

  /* zero-length file on disk */
  g_autofree char *empty = tmp_path ("empty.safetensors");
  write_file (empty, "", 0);
  g_assert_null (hone_safetensors_open (empty, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "empty"));
  g_unlink (empty);
}

static void
test_writer_errors (void)
{
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float v[2] = { 1, 2 };
  HoneShape s = HONE_SHAPE (2), bad = HONE_SHAPE (-2), f4odd = HONE_SHAPE (3);
  g_assert_true (hone_safetensors_writer_add_f32 (w, "a", &s, v, &error));
  g_assert_false (hone_safetensors_writer_add_f32 (w, "a", &s, v, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'a'"));
  g_clear_error (&error);
  g_assert_false (hone_safetensors_writer_add_f32 (w, "__metadata__", &s, v, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hone_safetensors_writer_add_f32 (w, "bad\xff", &s, v, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hone_safetensors_writer_add_f32 (w, "neg", &bad, v, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'neg'"));
  g_clear_error (&error);
  g_assert_false (hone_safetensors_writer_add (w, "f4", HONE_DTYPE_F4, &f4odd, v, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_clear_error (&error);

  g_autofree char *path = g_build_filename (tmp_dir, "no-such-dir", "x.safetensors", NULL);
  g_assert_false (hone_safetensors_writer_write (w, path, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "x.safetensors"));
  g_clear_error (&error);

  /* an existing file is replaced whole, and no temporary file is left */
  g_autofree char *target = tmp_path ("replace.safetensors");
  write_file (target, "old contents", 12);
  g_assert_true (hone_safetensors_writer_write (w, target, &error));
  g_assert_no_error (error);
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (target, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_safetensors_n_tensors (st), ==, 1);
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *entry;
  while ((entry = g_dir_read_name (dir)))
    g_assert_false (g_str_has_prefix (entry, "replace.safetensors."));
}

/* ---- graphs ------------------------------------------------------------ */

/* y = x * w per channel: a node with a parameter, to be the "head". */
static gboolean
scale_infer (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  out[0] = in[0];
  return TRUE;
}

static void
scale_forward (const HoneOpCtx *ctx)
{
  int64_t n = hone_tensor_numel (&ctx->out[0]);
  int64_t c = hone_tensor_numel (&ctx->in[1]);
  for (int64_t i = 0; i < n; i++)
    ctx->out[0].data[i] = ctx->in[0].data[i] * ctx->in[1].data[i % c];
}

static void
scale_backward (const HoneOpCtx *ctx)
{
}

static const HoneOpClass test_scale_op = {
  .name = "TestScale",
  .infer_shape = scale_infer,
  .forward = scale_forward,
  .backward = scale_backward,
};

/* body: a "bn" with weight, bias and running stats (and extra.NN
 * parameters), then the head "fc", then a parameter-free ReLU. */
static HoneGraph *
small_graph (int extra_params)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = hone_graph_new ();
  HoneShape s4 = HONE_SHAPE (4);
  int x = hone_graph_add_input (g, "input", &s4, &error);
  int bw = hone_graph_add_param (g, "bn.weight", &s4, &error);
  hone_graph_add_param (g, "bn.bias", &s4, &error);
  hone_graph_add_buffer (g, "bn.running_mean", &s4, 0.0f, &error);
  hone_graph_add_buffer (g, "bn.running_var", &s4, 1.0f, &error);
  for (int i = 0; i < extra_params; i++)
    {
      g_autofree char *name = g_strdup_printf ("extra.%02d", i);
      hone_graph_add_param (g, name, &s4, &error);
    }
  int in[2] = { x, bw };
  int y = hone_graph_add_node (g, &test_scale_op, NULL, "bn", in, 2, 1, NULL, &error);
  int fw = hone_graph_add_param (g, "fc.weight", &s4, &error);
  int in2[2] = { y, fw };
  y = hone_graph_add_node (g, &test_scale_op, NULL, "fc", in2, 2, 1, NULL, &error);
  y = hone_graph_relu (g, "out", y, &error);
  g_assert_no_error (error);
  hone_graph_add_output (g, y);
  HoneRng rng;
  hone_rng_init (&rng, 100 + extra_params, 3);
  for (int i = 0; i < hone_graph_n_values (g); i++)
    {
      const HoneValue *v = hone_graph_value (g, i);
      if (v->kind == HONE_VALUE_PARAM || v->kind == HONE_VALUE_BUFFER)
        hone_test_fill_uniform (&rng, hone_graph_value_data (g, i), hone_shape_numel (&v->shape), 0.5, 2);
    }
  return g;
}

static void
assert_same_weights (HoneGraph *a, HoneGraph *b, const char *except)
{
  for (int i = 0; i < hone_graph_n_values (a); i++)
    {
      const HoneValue *v = hone_graph_value (a, i);
      if (v->kind != HONE_VALUE_PARAM && v->kind != HONE_VALUE_BUFFER)
        continue;
      int j = hone_graph_find (b, v->name);
      g_assert_cmpint (j, >=, 0);
      gboolean same = memcmp (hone_graph_value_data (a, i), hone_graph_value_data (b, j),
                              hone_shape_numel (&v->shape) * sizeof (float)) == 0;
      if (except && strcmp (v->name, except) == 0)
        g_assert_false (same);
      else
        g_assert_true (same);
    }
}

static void
test_graph_roundtrip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) a = small_graph (0);
  g_autoptr (HoneGraph) b = small_graph (0);
  assert_same_weights (a, b, NULL);     /* same seed: make b differ */
  hone_graph_value_data (b, hone_graph_find (b, "bn.running_var"))[2] = 99;

  g_autofree char *path = tmp_path ("graph.safetensors");
  g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "arch", "test");
  g_assert_true (hone_graph_save_safetensors (a, path, meta, &error));
  g_assert_no_error (error);

  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (hone_safetensors_metadata (st), "arch"), ==, "test");
  int nbt = hone_safetensors_find (st, "bn.num_batches_tracked");
  g_assert_cmpint (nbt, >=, 0);
  const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, nbt);
  g_assert_cmpint (t->dtype, ==, HONE_DTYPE_I64);
  g_assert_cmpint (t->rank, ==, 0);
  g_assert_cmpint (t->numel, ==, 1);
  g_assert_cmpint (hone_safetensors_n_tensors (st), ==, 6);

  g_auto (GStrv) skipped = NULL;
  g_assert_true (hone_graph_load_safetensors_full (b, path, HONE_LOAD_STRICT, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (skipped), ==, 0);
  assert_same_weights (a, b, NULL);
}

/* F16 and BF16 weights load into float32. */
static void
test_graph_load_half (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) g = small_graph (0);
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  const guint8 ones_f16[8] = { 0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c };
  const guint8 twos_bf16[8] = { 0x00, 0x40, 0x00, 0x40, 0x00, 0x40, 0x00, 0x40 };
  const char *names[] = { "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "fc.weight" };
  HoneShape s = HONE_SHAPE (4);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_true (hone_safetensors_writer_add (w, names[i], i % 2 ? HONE_DTYPE_BF16 : HONE_DTYPE_F16,
                                                &s, i % 2 ? twos_bf16 : ones_f16, &error));
  g_autofree char *path = tmp_path ("half.safetensors");
  g_assert_true (hone_safetensors_writer_write (w, path, &error));
  g_assert_true (hone_graph_load_safetensors (g, path, HONE_LOAD_STRICT, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      float *d = hone_graph_value_data (g, hone_graph_find (g, names[i]));
      for (int k = 0; k < 4; k++)
        g_assert_cmpfloat (d[k], ==, i % 2 ? 2.0f : 1.0f);
    }
}

static void
test_graph_mismatch (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) src = small_graph (0);
  g_autofree char *path = tmp_path ("mismatch.safetensors");
  g_assert_true (hone_graph_save_safetensors (src, path, NULL, &error));

  /* a tensor the model has and the file lacks, plus 12 more */
  g_autoptr (HoneGraph) more = small_graph (13);
  g_assert_false (hone_graph_load_safetensors (more, path, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "missing (13): extra.00, extra.01"));
  g_assert_nonnull (strstr (error->message, "extra.09 and 3 more"));
  g_assert_null (strstr (error->message, "extra.10"));
  g_clear_error (&error);

  /* tensors in the file the model lacks */
  g_autoptr (HoneGraph) dst = small_graph (0);
  g_autofree char *path2 = tmp_path ("more.safetensors");
  g_assert_true (hone_graph_save_safetensors (more, path2, NULL, &error));
  g_assert_false (hone_graph_load_safetensors (dst, path2, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "not in the model (13): extra.00"));
  g_clear_error (&error);

  /* a shape that differs: named with both shapes; nothing was loaded */
  g_autoptr (HoneGraph) other = small_graph (0);
  HoneShape s5 = HONE_SHAPE (5);
  g_autoptr (HoneGraph) wide = hone_graph_new ();
  hone_graph_add_param (wide, "bn.weight", &s5, NULL);
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  float five[5] = { 1, 2, 3, 4, 5 }, four[4] = { 9, 9, 9, 9 };
  HoneShape s4 = HONE_SHAPE (4);
  hone_safetensors_writer_add_f32 (w, "bn.weight", &s5, five, NULL);
  hone_safetensors_writer_add_f32 (w, "bn.bias", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (w, "bn.running_mean", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (w, "bn.running_var", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (w, "fc.weight", &s4, four, NULL);
  g_autofree char *path3 = tmp_path ("shape.safetensors");
  g_assert_true (hone_safetensors_writer_write (w, path3, &error));
  g_assert_false (hone_graph_load_safetensors (other, path3, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "different shape (1): bn.weight (model (4), file (5))"));
  g_clear_error (&error);
  assert_same_weights (other, dst, NULL);       /* untouched: both still as built */

  /* an integer tensor where a float parameter belongs */
  g_autoptr (HoneSafetensorsWriter) wi = hone_safetensors_writer_new ();
  int64_t ints[4] = { 1, 2, 3, 4 };
  hone_safetensors_writer_add_i64 (wi, "bn.weight", &s4, ints, NULL);
  hone_safetensors_writer_add_f32 (wi, "bn.bias", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wi, "bn.running_mean", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wi, "bn.running_var", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wi, "fc.weight", &s4, four, NULL);
  g_autofree char *path4 = tmp_path ("int.safetensors");
  g_assert_true (hone_safetensors_writer_write (wi, path4, &error));
  g_assert_false (hone_graph_load_safetensors (other, path4, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "bn.weight (I64)"));
  g_clear_error (&error);

  /* num_batches_tracked must be an integer scalar */
  g_autoptr (HoneSafetensorsWriter) wn = hone_safetensors_writer_new ();
  hone_safetensors_writer_add_f32 (wn, "bn.weight", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wn, "bn.bias", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wn, "bn.running_mean", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wn, "bn.running_var", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wn, "fc.weight", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (wn, "bn.num_batches_tracked", &s4, four, NULL);
  hone_safetensors_writer_add_i64 (wn, "fc.num_batches_tracked", &s4, ints, NULL);
  g_autofree char *path5 = tmp_path ("nbt.safetensors");
  g_assert_true (hone_safetensors_writer_write (wn, path5, &error));
  g_assert_false (hone_graph_load_safetensors (other, path5, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "bn.num_batches_tracked (model: an integer scalar, file F32 (4))"));
  g_assert_nonnull (strstr (error->message, "not in the model (1): fc.num_batches_tracked"));
  g_clear_error (&error);

  /* a file that is not safetensors at all */
  g_autofree char *junk = tmp_path ("junk.safetensors");
  write_file (junk, "PK\3\4 this is a zip file", 24);
  g_assert_false (hone_graph_load_safetensors (other, junk, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, junk));
}

/* A head of another size is skipped and reported only when asked for;
 * a missing head likewise. */
static void
test_graph_head_replacement (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) src = small_graph (0);
  g_auto (GStrv) head = hone_graph_head_params (src);
  g_assert_cmpuint (g_strv_length (head), ==, 1);
  g_assert_cmpstr (head[0], ==, "fc.weight");

  /* the body of src, with fc.weight of 4 entries; dst has 10 and no node
   * for it: build a graph with a 10-wide head on a 10-wide input instead */
  g_autoptr (HoneGraph) dst = hone_graph_new ();
  HoneShape s4 = HONE_SHAPE (4), s10 = HONE_SHAPE (10);
  int x = hone_graph_add_input (dst, "input", &s10, NULL);
  hone_graph_add_param (dst, "bn.weight", &s4, NULL);
  hone_graph_add_param (dst, "bn.bias", &s4, NULL);
  hone_graph_add_buffer (dst, "bn.running_mean", &s4, 0, NULL);
  hone_graph_add_buffer (dst, "bn.running_var", &s4, 1, NULL);
  int fw = hone_graph_add_param (dst, "fc.weight", &s10, NULL);
  int in[2] = { x, fw };
  int y = hone_graph_add_node (dst, &test_scale_op, NULL, "fc", in, 2, 1, NULL, &error);
  y = hone_graph_relu (dst, "after", y, &error);
  g_assert_no_error (error);
  hone_graph_add_output (dst, y);
  float *fcw = hone_graph_value_data (dst, fw);
  for (int i = 0; i < 10; i++)
    fcw[i] = 0.25f;

  g_autofree char *path = tmp_path ("head.safetensors");
  g_assert_true (hone_graph_save_safetensors (src, path, NULL, &error));
  g_assert_false (hone_graph_load_safetensors (dst, path, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "fc.weight (model (10), file (4))"));
  g_clear_error (&error);

  g_auto (GStrv) skipped = NULL;
  g_assert_true (hone_graph_load_safetensors_full (dst, path, HONE_LOAD_ALLOW_HEAD_MISMATCH, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (skipped), ==, 1);
  g_assert_cmpstr (skipped[0], ==, "fc.weight");
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat (fcw[i], ==, 0.25f);
  g_assert_cmpmem (hone_graph_value_data (dst, hone_graph_find (dst, "bn.running_var")), 16,
                   hone_graph_value_data (src, hone_graph_find (src, "bn.running_var")), 16);

  /* a file without the head at all */
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  float four[4] = { 3, 3, 3, 3 };
  hone_safetensors_writer_add_f32 (w, "bn.weight", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (w, "bn.bias", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (w, "bn.running_mean", &s4, four, NULL);
  hone_safetensors_writer_add_f32 (w, "bn.running_var", &s4, four, NULL);
  g_autofree char *path2 = tmp_path ("headless.safetensors");
  g_assert_true (hone_safetensors_writer_write (w, path2, &error));
  g_assert_false (hone_graph_load_safetensors (dst, path2, HONE_LOAD_STRICT, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "missing (1): fc.weight"));
  g_clear_error (&error);
  g_auto (GStrv) skipped2 = NULL;
  g_assert_true (hone_graph_load_safetensors_full (dst, path2, HONE_LOAD_ALLOW_HEAD_MISMATCH, &skipped2, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (skipped2[0], ==, "fc.weight");
  g_assert_cmpfloat (hone_graph_value_data (dst, hone_graph_find (dst, "bn.bias"))[0], ==, 3.0f);

  /* the body is never skipped: a body mismatch stays an error */
  g_autoptr (HoneGraph) more = small_graph (1);
  g_autofree char *path3 = tmp_path ("body.safetensors");
  g_assert_true (hone_graph_save_safetensors (src, path3, NULL, &error));
  g_assert_false (hone_graph_load_safetensors (more, path3, HONE_LOAD_ALLOW_HEAD_MISMATCH, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "extra.00"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("hone-test-safetensors-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/engine/safetensors/roundtrip/dtypes", test_roundtrip_every_dtype);
  g_test_add_func ("/engine/safetensors/roundtrip/typed", test_roundtrip_typed);
  g_test_add_func ("/engine/safetensors/conversions", test_conversions);
  g_test_add_func ("/engine/safetensors/reference-bytes", test_reference_bytes);
  g_test_add_func ("/engine/safetensors/accepted", test_accepted_variants);
  g_test_add_func ("/engine/safetensors/hostile/corpus", test_hostile);
  g_test_add_func ("/engine/safetensors/hostile/mutations", test_hostile_mutations);
  g_test_add_func ("/engine/safetensors/open-errors", test_open_errors);
  g_test_add_func ("/engine/safetensors/writer-errors", test_writer_errors);
  g_test_add_func ("/engine/safetensors/graph/roundtrip", test_graph_roundtrip);
  g_test_add_func ("/engine/safetensors/graph/half", test_graph_load_half);
  g_test_add_func ("/engine/safetensors/graph/mismatch", test_graph_mismatch);
  g_test_add_func ("/engine/safetensors/graph/head-replacement", test_graph_head_replacement);
  int ret = g_test_run ();
  hone_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
