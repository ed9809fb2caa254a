/* test-onnx-file.c: the ONNX container: models built here with protobuf-c's
 * structs round trip through save and open, every data type converts
 * exactly, and hostile files (deep nesting, huge or overflowing shapes,
 * data that does not match its shape, garbage, external data that leaves
 * the model's folder) are refused with an error naming the file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hone-onnx-file-private.h"
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

/* A tensor with the given dims and dtype, no data. */
static Onnx__TensorProto *
tensor_new (const char *name, int32_t dtype, int rank, const int64_t *dims)
{
  Onnx__TensorProto *t = g_new0 (Onnx__TensorProto, 1);
  onnx__tensor_proto__init (t);
  t->name = g_strdup (name);
  t->has_data_type = TRUE;
  t->data_type = dtype;
  t->n_dims = rank;
  t->dims = g_memdup2 (dims, sizeof (int64_t) * MAX (rank, 1));
  return t;
}

static void
tensor_set_raw (Onnx__TensorProto *t, const void *data, gsize n)
{
  t->has_raw_data = TRUE;
  t->raw_data.len = n;
  t->raw_data.data = g_memdup2 (data ? data : "", MAX (n, 1));
}

static void
tensor_free (Onnx__TensorProto *t)
{
  g_free (t->name);
  g_free (t->dims);
  g_free (t->raw_data.data);
  g_free (t->float_data);
  g_free (t->int32_data);
  g_free (t->int64_data);
  g_free (t->double_data);
  g_free (t->uint64_data);
  for (size_t i = 0; i < t->n_external_data; i++)
    {
      g_free (t->external_data[i]->key);
      g_free (t->external_data[i]->value);
      g_free (t->external_data[i]);
    }
  g_free (t->external_data);
  g_free (t);
}

static void
tensor_add_external (Onnx__TensorProto *t, const char *key, const char *value)
{
  t->has_data_location = TRUE;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  t->external_data = g_renew (Onnx__StringStringEntryProto *, t->external_data,
                              t->n_external_data + 1);
  Onnx__StringStringEntryProto *e = g_new0 (Onnx__StringStringEntryProto, 1);
  onnx__string_string_entry_proto__init (e);
  e->key = g_strdup (key);
  e->value = g_strdup (value);
  t->external_data[t->n_external_data++] = e;
}

/* A model (opset 13) whose graph holds these initializers; the structs are
 * borrowed, not freed. */
typedef struct
{
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
} TestModel;

static void
test_model_init (TestModel *m, Onnx__TensorProto **inits, int n)
{
  onnx__model_proto__init (&m->model);
  onnx__graph_proto__init (&m->graph);
  onnx__operator_set_id_proto__init (&m->opset);
  m->opset.domain = (char *) "";
  m->opset.has_version = TRUE;
  m->opset.version = 13;
  m->opsets[0] = &m->opset;
  m->model.has_ir_version = TRUE;
  m->model.ir_version = 8;
  m->model.producer_name = (char *) "test-onnx-file";
  m->model.n_opset_import = 1;
  m->model.opset_import = m->opsets;
  m->graph.name = (char *) "g";
  m->graph.n_initializer = n;
  m->graph.initializer = inits;
  m->model.graph = &m->graph;
}

static GBytes *
pack (const ProtobufCMessage *msg)
{
  gsize n = protobuf_c_message_get_packed_size (msg);
  guint8 *buf = g_malloc (MAX (n, 1));
  g_assert_cmpuint (protobuf_c_message_pack (msg, buf), ==, n);
  return g_bytes_new_take (buf, n);
}

/* The packed bytes of a model holding the one tensor t. */
static GBytes *
pack_one (Onnx__TensorProto *t)
{
  TestModel m;
  Onnx__TensorProto *inits[1] = { t };
  test_model_init (&m, inits, 1);
  return pack (&m.model.base);
}

/* Parses bytes (dir for external data) and checks the error: code, the
 * file's name and `expect` in the message. */
static void
assert_parse_fails (GBytes *bytes, const char *dir, int code, const char *expect)
{
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (data, n, "model.onnx", dir, &error);
  g_assert_null (f);
  g_assert_error (error, HONE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "model.onnx: "));
  if (strstr (error->message, expect) == NULL)
    g_error ("expected '%s' in: %s", expect, error->message);
}

/* Parses the one-tensor model and checks that reading the tensor fails. */
static void
assert_tensor_fails (Onnx__TensorProto *t, const char *dir, int code, const char *expect)
{
  g_autoptr (GBytes) bytes = pack_one (t);
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (data, n, "model.onnx", dir, &error);
  g_assert_no_error (error);
  const Onnx__TensorProto *t2 = hone_onnx_file_model (f)->graph->initializer[0];
  HoneShape shape;
  float *fdata = NULL;
  g_assert_false (hone_onnx_tensor_float (f, t2, &shape, &fdata, &error));
  g_assert_null (fdata);
  g_assert_error (error, HONE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "model.onnx: "));
  if (strstr (error->message, expect) == NULL)
    g_error ("expected '%s' in: %s", expect, error->message);
  g_clear_error (&error);
  int64_t *idata = NULL;
  g_assert_false (hone_onnx_tensor_int64 (f, t2, &shape, &idata, &error));
  g_assert_null (idata);
  g_assert_error (error, HONE_ERROR, code);
}

static void
assert_shape (const HoneShape *shape, HoneShape want)
{
  g_assert_true (hone_shape_equal (shape, &want));
}

/* ---- valid models ------------------------------------------------------ */

static void
test_round_trip (void)
{
  float w[6] = { 1.5f, -2.25f, 0.0f, 3e-8f, -INFINITY, 65504.0f };
  Onnx__TensorProto *a = tensor_new ("fc.weight", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                     (int64_t[]) { 2, 3 });
  tensor_set_raw (a, w, sizeof w);
  Onnx__TensorProto *b = tensor_new ("shape", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1,
                                     (int64_t[]) { 3 });
  b->n_int64_data = 3;
  b->int64_data = g_memdup2 ((int64_t[]) { -1, G_MAXINT64, 7 }, 3 * sizeof (int64_t));
  Onnx__TensorProto *c = tensor_new ("empty", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                     (int64_t[]) { 0, 5 });
  Onnx__TensorProto *inits[3] = { a, b, c };
  TestModel m;
  test_model_init (&m, inits, 3);

  g_autofree char *path = tmp_path ("round-trip.onnx");
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_onnx_model_save (&m.model, path, &error));
  g_assert_no_error (error);
  /* saving again replaces the file */
  g_assert_true (hone_onnx_model_save (&m.model, path, &error));
  g_assert_no_error (error);

  g_autoptr (HoneOnnxFile) f = hone_onnx_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  g_assert_cmpstr (hone_onnx_file_path (f), ==, path);
  g_assert_cmpint (hone_onnx_file_opset (f), ==, 13);
  const Onnx__ModelProto *model = hone_onnx_file_model (f);
  g_assert_cmpstr (model->producer_name, ==, "test-onnx-file");
  g_assert_cmpuint (model->graph->n_initializer, ==, 3);

  HoneShape shape;
  g_autofree float *fw = NULL;
  g_assert_true (hone_onnx_tensor_float (f, model->graph->initializer[0], &shape, &fw, &error));
  g_assert_no_error (error);
  assert_shape (&shape, HONE_SHAPE (2, 3));
  g_assert_cmpmem (fw, sizeof w, w, sizeof w);

  g_autofree int64_t *iv = NULL;
  g_assert_true (hone_onnx_tensor_int64 (f, model->graph->initializer[1], &shape, &iv, &error));
  g_assert_no_error (error);
  assert_shape (&shape, HONE_SHAPE (3));
  g_assert_cmpint (iv[0], ==, -1);
  g_assert_cmpint (iv[1], ==, G_MAXINT64);
  g_assert_cmpint (iv[2], ==, 7);

  g_autofree float *fe = NULL;
  g_assert_true (hone_onnx_tensor_float (f, model->graph->initializer[2], &shape, &fe, &error));
  g_assert_no_error (error);
  g_assert_nonnull (fe);
  assert_shape (&shape, HONE_SHAPE (0, 5));

  /* the same bytes from memory */
  g_autoptr (GBytes) bytes = pack (&m.model.base);
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  /* no temporary files left behind */
  g_autoptr (GDir) d = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_assert_false (g_str_has_prefix (name, "round-trip.onnx."));

  for (int i = 0; i < 3; i++)
    tensor_free (inits[i]);
}

static void
test_save_errors (void)
{
  TestModel m;
  test_model_init (&m, NULL, 0);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("no-such-folder/model.onnx");
  g_assert_false (hone_onnx_model_save (&m.model, path, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "model.onnx"));
  g_clear_error (&error);

  /* a required string left NULL */
  Onnx__OperatorSetIdProto bad;
  onnx__operator_set_id_proto__init (&bad);
  Onnx__AttributeProto attr;
  onnx__attribute_proto__init (&attr);
  m.model.opset_import[0] = &m.opset;
  Onnx__NodeProto node;
  onnx__node_proto__init (&node);
  Onnx__NodeProto *nodes[1] = { &node };
  char *inputs[1] = { NULL };
  node.n_input = 1;
  node.input = inputs;
  m.graph.n_node = 1;
  m.graph.node = nodes;
  g_autofree char *path2 = tmp_path ("incomplete.onnx");
  g_assert_false (hone_onnx_model_save (&m.model, path2, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_false (g_file_test (path2, G_FILE_TEST_EXISTS));
}

static void
test_missing_opset (void)
{
  TestModel m;
  test_model_init (&m, NULL, 0);
  Onnx__OperatorSetIdProto other;
  onnx__operator_set_id_proto__init (&other);
  other.domain = (char *) "com.microsoft";
  other.has_version = TRUE;
  other.version = 1;
  Onnx__OperatorSetIdProto *opsets[2] = { &other, &m.opset };
  m.opset.domain = (char *) "ai.onnx";
  m.opset.version = 17;
  m.model.n_opset_import = 2;
  m.model.opset_import = opsets;
  g_autoptr (GBytes) bytes = pack (&m.model.base);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (g_bytes_get_data (bytes, NULL),
                                                     g_bytes_get_size (bytes), "m", NULL,
                                                     &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_onnx_file_opset (f), ==, 17);

  m.model.n_opset_import = 1;
  g_autoptr (GBytes) bytes2 = pack (&m.model.base);
  g_autoptr (HoneOnnxFile) f2 = hone_onnx_file_parse (g_bytes_get_data (bytes2, NULL),
                                                      g_bytes_get_size (bytes2), "m", NULL,
                                                      &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_onnx_file_opset (f2), ==, 0);
}

/* ---- data types -------------------------------------------------------- */

/* Reads t back through a packed model as floats and as int64. */
static void
read_back (Onnx__TensorProto *t, float **fout, int64_t **iout, GError **ierror)
{
  g_autoptr (GBytes) bytes = pack_one (t);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (g_bytes_get_data (bytes, NULL),
                                                     g_bytes_get_size (bytes), "model.onnx",
                                                     NULL, &error);
  g_assert_no_error (error);
  const Onnx__TensorProto *t2 = hone_onnx_file_model (f)->graph->initializer[0];
  HoneShape shape;
  g_assert_true (hone_onnx_tensor_float (f, t2, &shape, fout, &error));
  g_assert_no_error (error);
  g_assert_cmpint (shape.rank, ==, (int) t->n_dims);
  if (iout)
    hone_onnx_tensor_int64 (f, t2, &shape, iout, ierror);
}

/* binary16 by its definition (IEEE 754-2008, 3.4): independent of the
 * bit manipulation in hone-onnx-file.c. */
static double
half_reference (guint16 h)
{
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 31)
    v = m ? NAN : INFINITY;
  else if (e == 0)
    v = ldexp (m, -24);
  else
    v = ldexp (1024 + m, e - 25);
  return s ? -v : v;
}

static double
bf16_reference (guint16 h)
{
  int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
  double v;
  if (e == 255)
    v = m ? NAN : INFINITY;
  else if (e == 0)
    v = ldexp (m, -133);
  else
    v = ldexp (128 + m, e - 134);
  return s ? -v : v;
}

static void
check_all_16bit (int32_t dtype, double (*reference) (guint16), gboolean typed)
{
  /* every bit pattern, as raw_data or in int32_data */
  guint16 *raw = g_new (guint16, 65536);
  for (int i = 0; i < 65536; i++)
    raw[i] = GUINT16_TO_LE ((guint16) i);
  Onnx__TensorProto *t = tensor_new ("h", dtype, 2, (int64_t[]) { 256, 256 });
  if (typed)
    {
      t->n_int32_data = 65536;
      t->int32_data = g_new (int32_t, 65536);
      for (int i = 0; i < 65536; i++)
        t->int32_data[i] = i;
    }
  else
    tensor_set_raw (t, raw, 65536 * 2);
  g_autofree float *f = NULL;
  read_back (t, &f, NULL, NULL);
  for (int i = 0; i < 65536; i++)
    {
      double want = reference ((guint16) i);
      if (isnan (want))
        g_assert_true (isnan (f[i]));
      else if ((double) f[i] != want || !signbit (f[i]) != !signbit (want))
        g_error ("%s 0x%04x: got %.9g, want %.9g", hone_onnx_dtype_name (dtype), i, f[i], want);
    }
  tensor_free (t);
  g_free (raw);
}

static void
test_float16 (void)
{
  check_all_16bit (ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, half_reference, FALSE);
  check_all_16bit (ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, half_reference, TRUE);
}

static void
test_bfloat16 (void)
{
  check_all_16bit (ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, bf16_reference, FALSE);
  check_all_16bit (ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, bf16_reference, TRUE);
}

/* Four values of each dtype, raw (little-endian) and typed; the expected
 * floats and int64s. */
static void
check_dtype (int32_t dtype, const void *raw, gsize elem, const float *want_f,
             const int64_t *want_i)
{
  for (int typed = 0; typed < 2; typed++)
    {
      Onnx__TensorProto *t = tensor_new ("x", dtype, 1, (int64_t[]) { 4 });
      if (!typed)
        tensor_set_raw (t, raw, 4 * elem);
      else
        {
          const guint8 *r = raw;
          switch (dtype)
            {
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
              t->n_float_data = 4;
              t->float_data = g_memdup2 (raw, 16);
              break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
              t->n_double_data = 4;
              t->double_data = g_memdup2 (raw, 32);
              break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
              t->n_int64_data = 4;
              t->int64_data = g_memdup2 (raw, 32);
              break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
              t->n_uint64_data = 4;
              t->uint64_data = g_new (uint64_t, 4);
              for (int i = 0; i < 4; i++)
                t->uint64_data[i] = ((const guint32 *) raw)[i];
              break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
              t->n_uint64_data = 4;
              t->uint64_data = g_memdup2 (raw, 32);
              break;
            default:
              /* int32_data holds the value (or the bits, for 16-bit floats) */
              t->n_int32_data = 4;
              t->int32_data = g_new (int32_t, 4);
              for (int i = 0; i < 4; i++)
                t->int32_data[i] =
                  elem == 1 ? (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t) r[i] : r[i])
                  : elem == 2 ? (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT16
                                 ? ((const gint16 *) raw)[i] : ((const guint16 *) raw)[i])
                  : ((const gint32 *) raw)[i];
              break;
            }
        }
      g_autofree float *f = NULL;
      g_autofree int64_t *iv = NULL;
      g_autoptr (GError) error = NULL;
      read_back (t, &f, &iv, &error);
      for (int i = 0; i < 4; i++)
        g_assert_cmpfloat (f[i], ==, want_f[i]);
      if (want_i)
        {
          g_assert_no_error (error);
          for (int i = 0; i < 4; i++)
            g_assert_cmpint (iv[i], ==, want_i[i]);
        }
      else
        {
          g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
          g_assert_null (iv);
          g_assert_nonnull (strstr (error->message, "not a 64-bit integer"));
        }
      tensor_free (t);
    }
}

static void
test_dtypes (void)
{
  {
    float v[4] = { 1.0f, -2.5f, 3e38f, 0.1f };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, v, 4, v, NULL);
    float w[4] = { 1.0f, -2.0f, 16777216.0f, 0.0f };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, w, 4, w,
                 (int64_t[]) { 1, -2, 16777216, 0 });
  }
  {
    double v[4] = { 1.0, -2.0, 1e300, 0.1 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, v, 8,
                 (float[]) { 1.0f, -2.0f, INFINITY, 0.1f }, NULL);
    double w[4] = { 9007199254740993.0, -9223372036854775808.0, 3, -0.0 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, w, 8,
                 (float[]) { 9007199254740992.0f, -9223372036854775808.0f, 3, 0 },
                 (int64_t[]) { 9007199254740992, G_MININT64, 3, 0 });
  }
  {
    guint16 v[4] = { 0x3c00, 0xc000, 0x7bff, 0x0001 };   /* 1, -2, 65504, 2^-24 */
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, v, 2,
                 (float[]) { 1, -2, 65504, 5.9604644775390625e-08f }, NULL);
    guint16 w[4] = { 0x3c00, 0xc000, 0x7bff, 0x0000 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, w, 2,
                 (float[]) { 1, -2, 65504, 0 }, (int64_t[]) { 1, -2, 65504, 0 });
  }
  {
    guint16 v[4] = { 0x3f80, 0xc000, 0x7f7f, 0x3e00 };   /* 1, -2, max, 0.125 */
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, v, 2,
                 (float[]) { 1, -2, 3.3895313892515355e38f, 0.125f }, NULL);
  }
  {
    gint8 v[4] = { -128, 127, 0, -1 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__INT8, v, 1,
                 (float[]) { -128, 127, 0, -1 }, (int64_t[]) { -128, 127, 0, -1 });
  }
  {
    guint8 v[4] = { 255, 0, 1, 128 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, v, 1,
                 (float[]) { 255, 0, 1, 128 }, (int64_t[]) { 255, 0, 1, 128 });
  }
  {
    guint8 v[4] = { 1, 0, 1, 0 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, v, 1,
                 (float[]) { 1, 0, 1, 0 }, (int64_t[]) { 1, 0, 1, 0 });
  }
  {
    gint16 v[4] = { -32768, 32767, 0, -1 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__INT16, v, 2,
                 (float[]) { -32768, 32767, 0, -1 }, (int64_t[]) { -32768, 32767, 0, -1 });
  }
  {
    guint16 v[4] = { 65535, 0, 1, 32768 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__UINT16, v, 2,
                 (float[]) { 65535, 0, 1, 32768 }, (int64_t[]) { 65535, 0, 1, 32768 });
  }
  {
    gint32 v[4] = { G_MININT32, G_MAXINT32, 0, 16777217 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__INT32, v, 4,
                 (float[]) { -2147483648.0f, 2147483648.0f, 0, 16777216.0f },
                 (int64_t[]) { G_MININT32, G_MAXINT32, 0, 16777217 });
  }
  {
    guint32 v[4] = { G_MAXUINT32, 0, 1, 16777217 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__UINT32, v, 4,
                 (float[]) { 4294967296.0f, 0, 1, 16777216.0f },
                 (int64_t[]) { G_MAXUINT32, 0, 1, 16777217 });
  }
  {
    gint64 v[4] = { G_MININT64, G_MAXINT64, 0, 16777217 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__INT64, v, 8,
                 (float[]) { -9223372036854775808.0f, 9223372036854775808.0f, 0, 16777216.0f },
                 (int64_t[]) { G_MININT64, G_MAXINT64, 0, 16777217 });
  }
  {
    guint64 v[4] = { G_MAXINT64, 0, 1, 16777217 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__UINT64, v, 8,
                 (float[]) { 9223372036854775808.0f, 0, 1, 16777216.0f },
                 (int64_t[]) { G_MAXINT64, 0, 1, 16777217 });
    guint64 w[4] = { G_MAXUINT64, 0, 1, 2 };
    check_dtype (ONNX__TENSOR_PROTO__DATA_TYPE__UINT64, w, 8,
                 (float[]) { 18446744073709551616.0f, 0, 1, 2 }, NULL);
  }
}

/* ---- hostile tensors --------------------------------------------------- */

static void
test_bad_tensors (void)
{
  /* raw_data too short and too long */
  float w[4] = { 0 };
  Onnx__TensorProto *t = tensor_new ("fc.weight", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                     (int64_t[]) { 512, 1000 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT,
                       "tensor 'fc.weight' declares 512x1000 floats (2048000 bytes) but holds "
                       "16 bytes; the file is truncated or corrupt");
  tensor_free (t);

  t = tensor_new ("b", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]) { 3 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "declares 3 floats (12 bytes) but holds 16");
  tensor_free (t);

  /* typed count too small, too large, in the wrong field, none at all */
  t = tensor_new ("b", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]) { 5 });
  t->n_float_data = 4;
  t->float_data = g_memdup2 (w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "holds 4 values in float_data");
  t->dims[0] = 3;
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "declares 3 floats (3 values) but holds 4");
  tensor_free (t);
  t = tensor_new ("b", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, (int64_t[]) { 4 });
  t->n_float_data = 4;
  t->float_data = g_memdup2 (w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "holds 0 values in int64_data");
  tensor_free (t);
  t = tensor_new ("b", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 0, NULL);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT,
                       "declares a scalar of int8 values (1 values) but holds 0");
  tensor_free (t);

  /* raw and typed both */
  t = tensor_new ("b", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]) { 4 });
  tensor_set_raw (t, w, 16);
  t->n_float_data = 4;
  t->float_data = g_memdup2 (w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "both raw_data and typed values");
  tensor_free (t);

  /* unknown, missing and unusable data types */
  t = tensor_new ("odd", 99, 1, (int64_t[]) { 4 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "tensor 'odd' has data type 99");
  t->data_type = -3;
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "data type -3");
  t->data_type = 0;
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "data type 0");
  t->has_data_type = FALSE;
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "data type 0");
  t->has_data_type = TRUE;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__STRING;
  assert_tensor_fails (t, NULL, HONE_ERROR_UNSUPPORTED, "strings");
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64;
  assert_tensor_fails (t, NULL, HONE_ERROR_UNSUPPORTED, "complex64");
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->has_data_location = TRUE;
  t->data_location = 7;
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "data location 7");
  tensor_free (t);

  /* negative, huge and overflowing dims: refused without allocating */
  t = tensor_new ("neg", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, (int64_t[]) { 4, -1 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "negative size (4x-1)");
  tensor_free (t);
  t = tensor_new ("huge", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3,
                  (int64_t[]) { 1 << 20, 1 << 20, 1 << 10 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT,
                       "declares 1048576x1048576x1024 floats (4503599627370496 bytes) but holds "
                       "16 bytes");
  tensor_free (t);
  t = tensor_new ("over", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3,
                  (int64_t[]) { G_GINT64_CONSTANT (1) << 62, 4, 4 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "more elements than can be counted");
  tensor_free (t);
  t = tensor_new ("over8", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 2,
                  (int64_t[]) { G_GINT64_CONSTANT (1) << 31, G_GINT64_CONSTANT (1) << 31 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "more elements than can be counted");
  tensor_free (t);
  /* a dimension past counting makes the tensor corrupt even beside a zero
   * (as safetensors' reference has it) */
  t = tensor_new ("zero-huge", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                  (int64_t[]) { G_GINT64_CONSTANT (1) << 62, 0 });
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "more elements than can be counted");
  t->dims[0] = 0;
  t->dims[1] = G_MAXINT64;
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "more elements than can be counted");
  tensor_free (t);
  /* a zero among large dims is an empty tensor */
  t = tensor_new ("zero", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3,
                  (int64_t[]) { 1 << 30, 0, G_GINT64_CONSTANT (1) << 40 });
  g_autofree float *f = NULL;
  read_back (t, &f, NULL, NULL);
  g_assert_nonnull (f);
  tensor_free (t);
  /* more dims than Hone handles */
  t = tensor_new ("rank9", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 9,
                  (int64_t[]) { 1, 1, 1, 1, 1, 1, 1, 1, 4 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_UNSUPPORTED, "9 dimensions");
  tensor_free (t);
  /* segments */
  t = tensor_new ("seg", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]) { 4 });
  tensor_set_raw (t, w, 16);
  Onnx__TensorProto__Segment seg;
  onnx__tensor_proto__segment__init (&seg);
  t->segment = &seg;
  assert_tensor_fails (t, NULL, HONE_ERROR_UNSUPPORTED, "segment");
  t->segment = NULL;
  tensor_free (t);
  /* a hostile name is shown tidily */
  t = tensor_new ("a\033[2Jb", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]) { 5 });
  tensor_set_raw (t, w, 16);
  assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "tensor 'a?[2Jb'");
  tensor_free (t);
}

/* ---- hostile files ----------------------------------------------------- */

/* Writes a varint at the end of a buffer filled from the back. */
static gsize
put_varint_back (guint8 *end, guint64 v)
{
  guint8 tmp[10];
  int n = 0;
  do
    {
      tmp[n++] = (guint8) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
      v >>= 7;
    }
  while (v);
  memcpy (end - n, tmp, n);
  return n;
}

/* Model { graph { node { attribute { g { node { attribute { g ... } } } } } } }
 * with `levels` GraphProtos, built from the inside out. */
static GBytes *
deep_model (int levels)
{
  gsize cap = (gsize) levels * 3 * 12 + 64;
  guint8 *buf = g_malloc (cap);
  guint8 *end = buf + cap, *p = end;
  for (int i = 0; i < levels; i++)
    {
      gsize len = end - p;
      /* AttributeProto.g = 6 (the graph), NodeProto.attribute = 5,
       * GraphProto.node = 1 */
      p -= put_varint_back (p, len);
      *--p = (6 << 3) | 2;
      len = end - p;
      p -= put_varint_back (p, len);
      *--p = (5 << 3) | 2;
      len = end - p;
      p -= put_varint_back (p, len);
      *--p = (1 << 3) | 2;
    }
  gsize len = end - p;
  p -= put_varint_back (p, len);
  *--p = (7 << 3) | 2;          /* ModelProto.graph = 7 */
  GBytes *b = g_bytes_new (p, end - p);
  g_free (buf);
  return b;
}

static void
test_deep_nesting (void)
{
  g_autoptr (GBytes) deep = deep_model (100000);
  assert_parse_fails (deep, NULL, HONE_ERROR_FORMAT, "nest deeper than 64 levels");

  /* model, graph, then node, attribute, graph per level: 2 + 3 * 20 = 62
   * messages open, 65 do not */
  g_autoptr (GBytes) ok = deep_model (20);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (g_bytes_get_data (ok, NULL),
                                                     g_bytes_get_size (ok), "model.onnx",
                                                     NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) too = deep_model (21);
  assert_parse_fails (too, NULL, HONE_ERROR_FORMAT, "nest deeper than 64 levels");
}

static void
test_budget (void)
{
  /* a million empty nodes: 2 bytes each in the file, ~150 in memory */
  gsize n = 1000000;
  GByteArray *g = g_byte_array_new ();
  for (gsize i = 0; i < n; i++)
    g_byte_array_append (g, (const guint8[]) { (1 << 3) | 2, 0 }, 2);
  GByteArray *m = g_byte_array_new ();
  guint8 hdr[12];
  guint8 *e = hdr + sizeof hdr;
  gsize k = put_varint_back (e, g->len);
  *(e - k - 1) = (7 << 3) | 2;
  g_byte_array_append (m, e - k - 1, k + 1);
  g_byte_array_append (m, g->data, g->len);
  g_byte_array_free (g, TRUE);
  g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (m);
  assert_parse_fails (bytes, NULL, HONE_ERROR_FORMAT, "too large or malformed");

  /* a packed int64 of one-byte varints (8x) is honest and opens */
  gsize count = 1 << 20;
  Onnx__TensorProto *t = tensor_new ("ids", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1,
                                     (int64_t[]) { (int64_t) count });
  t->n_int64_data = count;
  t->int64_data = g_new0 (int64_t, count);
  g_autoptr (GBytes) packed = pack_one (t);
  g_assert_cmpuint (g_bytes_get_size (packed), <, count + 100);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (g_bytes_get_data (packed, NULL),
                                                     g_bytes_get_size (packed), "model.onnx",
                                                     NULL, &error);
  g_assert_no_error (error);
  tensor_free (t);
}

/* The scan's estimate bounds what protobuf-c allocates, and the allocator
 * alone stops unpacking when the budget runs out. */
static void
check_estimate (GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (data, n, "model.onnx", NULL, &error);
  g_assert_no_error (error);
  gsize used = hone_onnx_file_allocated_bytes (f);
  guint64 estimate = hone_onnx_file_estimated_bytes (f);
  g_test_message ("%" G_GSIZE_FORMAT " bytes: estimated %" G_GUINT64_FORMAT ", allocated %"
                  G_GSIZE_FORMAT, n, estimate, used);
  g_assert_cmpuint (used, >, 0);
  g_assert_cmpuint (estimate, >=, used);

  /* half of what it needs: the allocator refuses, protobuf-c gives up,
   * nothing leaks (the budget allocator asserts that every block it
   * handed out comes back) */
  g_autoptr (HoneOnnxFile) f2 = hone_onnx_file_parse_with_budget (data, n, "model.onnx", used / 2,
                                                                  &error);
  g_assert_null (f2);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "protobuf-c could not unpack it"));
  g_clear_error (&error);
  /* the estimate is enough */
  g_autoptr (HoneOnnxFile) f3 = hone_onnx_file_parse_with_budget (data, n, "model.onnx",
                                                                  (gsize) estimate, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hone_onnx_file_allocated_bytes (f3), ==, used);
}

static void
test_allocator (void)
{
  float w[6] = { 1, 2, 3, 4, 5, 6 };
  Onnx__TensorProto *t = tensor_new ("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                     (int64_t[]) { 2, 3 });
  tensor_set_raw (t, w, sizeof w);
  g_autoptr (GBytes) small = pack_one (t);
  check_estimate (small);
  tensor_free (t);

  t = tensor_new ("ids", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, (int64_t[]) { 4096 });
  t->n_int64_data = 4096;
  t->int64_data = g_new0 (int64_t, 4096);
  g_autoptr (GBytes) packed = pack_one (t);
  check_estimate (packed);
  tensor_free (t);

  g_autoptr (GBytes) deep = deep_model (20);
  check_estimate (deep);

  const char *torch = g_getenv ("HONE_TORCH_ONNX");
  if (torch && g_file_test (torch, G_FILE_TEST_EXISTS))
    {
      g_autofree char *contents = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (torch, &contents, &len, NULL));
      g_autoptr (GBytes) b = g_bytes_new_take (g_steal_pointer (&contents), len);
      check_estimate (b);
    }
}

static void
test_garbage (void)
{
  /* empty */
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  assert_parse_fails (empty, NULL, HONE_ERROR_FORMAT, "the file is empty");
  g_autofree char *empty_path = tmp_path ("empty.onnx");
  write_file (empty_path, "", 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (hone_onnx_file_open (empty_path, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "empty.onnx: "));
  g_clear_error (&error);

  /* valid protobuf that is not a model */
  g_autoptr (GBytes) nograph = g_bytes_new ("\x08\x07", 2);   /* ir_version = 7 */
  assert_parse_fails (nograph, NULL, HONE_ERROR_FORMAT, "holds no graph");

  /* malformed wire data of each kind */
  static const struct { const char *bytes; gsize n; const char *expect; } cases[] = {
    { "\x3a\x05\x0a", 3, "length past the end" },
    { "\x08", 1, "bad varint" },
    { "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, "bad varint" },
    { "\x00\x01", 2, "field number 0" },
    /* field 100, which ModelProto does not have, as a group, wire type 7,
     * cut 64-bit and 32-bit values */
    { "\xa3\x06\x0c", 3, "unsupported wire type" },
    { "\xa7\x06", 2, "unsupported wire type" },
    { "\xa1\x06\x01\x02", 4, "truncated 64-bit" },
    { "\xa5\x06\x01", 3, "truncated 32-bit" },
    { "\x80", 1, "bad field tag" },
    { "\xff\xff\xff\xff\xff\x01", 6, "bad field tag" },
    /* graph { initializer { dims packed, a varint cut short } } */
    { "\x3a\x05\x2a\x03\x0a\x01\x80", 7, "bad packed varint" },
    /* graph { initializer { float_data packed, 3 bytes } } */
    { "\x3a\x05\x2a\x03\x22\x01\x00", 7, "partial size" },
    /* graph as a varint; ir_version as bytes */
    { "\x38\x05", 2, "field 'graph' of ModelProto has the wrong wire type" },
    { "\x0a\x00", 2, "field 'ir_version' of ModelProto has the wrong wire type" },
    /* graph twice: protobuf-c would merge them */
    { "\x3a\x00\x3a\x00", 4, "ModelProto holds its field 'graph' twice" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = g_bytes_new (cases[i].bytes, cases[i].n);
      assert_parse_fails (b, NULL, HONE_ERROR_FORMAT, cases[i].expect);
    }

  /* every prefix of a valid model either opens or fails cleanly; the
   * whole one opens */
  float w[6] = { 1, 2, 3, 4, 5, 6 };
  Onnx__TensorProto *t = tensor_new ("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                     (int64_t[]) { 2, 3 });
  tensor_set_raw (t, w, sizeof w);
  g_autoptr (GBytes) good = pack_one (t);
  tensor_free (t);
  gsize n;
  const guint8 *data = g_bytes_get_data (good, &n);
  int failed = 0;
  for (gsize cut = 0; cut < n; cut++)
    {
      g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (data, cut, "model.onnx", NULL, &error);
      if (f == NULL)
        {
          g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
          g_assert_true (g_str_has_prefix (error->message, "model.onnx: "));
          g_clear_error (&error);
          failed++;
        }
    }
  g_assert_cmpint (failed, >, (int) n / 2);
  g_autofree char *cut_path = tmp_path ("truncated.onnx");
  write_file (cut_path, data, n - 5);
  g_assert_null (hone_onnx_file_open (cut_path, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "truncated.onnx: "));
  g_clear_error (&error);

  /* random bytes and random mutations of a valid model */
  GRand *rand = g_rand_new_with_seed (4);
  guint8 buf[512];
  for (int round = 0; round < 4000; round++)
    {
      gsize len;
      if (round % 2)
        {
          len = g_rand_int_range (rand, 1, sizeof buf);
          for (gsize i = 0; i < len; i++)
            buf[i] = (guint8) g_rand_int (rand);
        }
      else
        {
          len = n;
          memcpy (buf, data, n);
          for (int k = 0; k < 3; k++)
            buf[g_rand_int_range (rand, 0, (gint32) n)] = (guint8) g_rand_int (rand);
        }
      g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (buf, len, "model.onnx", NULL, &error);
      if (f == NULL)
        {
          g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
          g_clear_error (&error);
          continue;
        }
      const Onnx__GraphProto *gp = hone_onnx_file_model (f)->graph;
      for (size_t i = 0; i < gp->n_initializer; i++)
        {
          HoneShape shape;
          float *fd = NULL;
          if (hone_onnx_tensor_float (f, gp->initializer[i], &shape, &fd, &error))
            g_free (fd);
          else
            g_clear_error (&error);
        }
    }
  g_rand_free (rand);

  /* not a regular file; a file past the size limit (sparse) */
  g_assert_null (hone_onnx_file_open (tmp_dir, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *big = tmp_path ("big.onnx");
  int fd = g_open (big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  if (ftruncate (fd, HONE_ONNX_MAX_FILE_SIZE + 1) == 0)
    {
      g_assert_null (hone_onnx_file_open (big, &error));
      g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "more than the limit"));
      g_clear_error (&error);
    }
  close (fd);
  g_unlink (big);
  g_autofree char *missing = tmp_path ("missing.onnx");
  g_assert_null (hone_onnx_file_open (missing, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing.onnx"));
}

/* ---- external data ----------------------------------------------------- */

static char *ext_dir;     /* tmp_dir/model: the model's folder */

/* A tensor of 4 floats kept in `location`, with optional offset/length. */
static Onnx__TensorProto *
external_tensor (const char *location, const char *offset, const char *length)
{
  Onnx__TensorProto *t = tensor_new ("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                     (int64_t[]) { 2, 2 });
  tensor_add_external (t, "location", location);
  if (offset)
    tensor_add_external (t, "offset", offset);
  if (length)
    tensor_add_external (t, "length", length);
  return t;
}

static void
assert_external_fails (const char *location, const char *offset, const char *length, int code,
                       const char *expect)
{
  Onnx__TensorProto *t = external_tensor (location, offset, length);
  assert_tensor_fails (t, ext_dir, code, expect);
  tensor_free (t);
}

static void
test_external (void)
{
  ext_dir = tmp_path ("model");
  g_assert_cmpint (g_mkdir_with_parents (ext_dir, 0755), ==, 0);
  g_autofree char *sub = g_build_filename (ext_dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  float data[8] = { 9, 9, 1, 2, 3, 4, 9, 9 };
  g_autofree char *weights = g_build_filename (ext_dir, "weights.bin", NULL);
  write_file (weights, data, sizeof data);
  g_autofree char *sub_weights = g_build_filename (sub, "w.bin", NULL);
  write_file (sub_weights, data + 2, 16);
  g_autofree char *dots = g_build_filename (ext_dir, "..w.bin", NULL);
  write_file (dots, data + 2, 16);
  g_autofree char *outside = tmp_path ("outside.bin");
  write_file (outside, data + 2, 16);

  /* valid: with offset and length, in a subfolder, with "./" */
  struct { const char *loc, *off, *len; } ok[] = {
    { "weights.bin", "8", "16" },
    { "sub/w.bin", NULL, NULL },
    { "./sub/w.bin", "0", NULL },
    { "sub//w.bin", NULL, "16" },
    { "..w.bin", NULL, NULL },          /* ".." only as a whole component */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      Onnx__TensorProto *t = external_tensor (ok[i].loc, ok[i].off, ok[i].len);
      g_autoptr (GBytes) bytes = pack_one (t);
      g_autoptr (GError) error = NULL;
      g_autoptr (HoneOnnxFile) f = hone_onnx_file_parse (g_bytes_get_data (bytes, NULL),
                                                         g_bytes_get_size (bytes),
                                                         "model.onnx", ext_dir, &error);
      g_assert_no_error (error);
      HoneShape shape;
      g_autofree float *out = NULL;
      g_assert_true (hone_onnx_tensor_float (f, hone_onnx_file_model (f)->graph->initializer[0],
                                             &shape, &out, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (out, 16, data + 2, 16);
      tensor_free (t);
    }

  /* the same through a file on disk: external data is looked up beside it */
  {
    Onnx__TensorProto *t = external_tensor ("weights.bin", "8", "16");
    TestModel m;
    Onnx__TensorProto *inits[1] = { t };
    test_model_init (&m, inits, 1);
    g_autofree char *path = g_build_filename (ext_dir, "m.onnx", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (hone_onnx_model_save (&m.model, path, &error));
    g_autoptr (HoneOnnxFile) f = hone_onnx_file_open (path, &error);
    g_assert_no_error (error);
    HoneShape shape;
    g_autofree float *out = NULL;
    g_assert_true (hone_onnx_tensor_float (f, hone_onnx_file_model (f)->graph->initializer[0],
                                           &shape, &out, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (out, 16, data + 2, 16);
    tensor_free (t);
  }

  /* symlinks: to a file inside, to one outside, a folder leading outside */
  g_autofree char *link_in = g_build_filename (ext_dir, "link-in.bin", NULL);
  g_assert_cmpint (symlink ("weights.bin", link_in), ==, 0);
  g_autofree char *link_out = g_build_filename (ext_dir, "link-out.bin", NULL);
  g_assert_cmpint (symlink (outside, link_out), ==, 0);
  g_autofree char *link_dir = g_build_filename (ext_dir, "up", NULL);
  g_assert_cmpint (symlink (tmp_dir, link_dir), ==, 0);
  assert_external_fails ("link-in.bin", "8", NULL, HONE_ERROR_FORMAT, "symbolic link");
  assert_external_fails ("link-out.bin", NULL, NULL, HONE_ERROR_FORMAT, "symbolic link");
  assert_external_fails ("up/outside.bin", NULL, NULL, HONE_ERROR_FORMAT,
                         "not a file inside the model's folder");

  /* leaving the folder by name */
  assert_external_fails ("../outside.bin", NULL, NULL, HONE_ERROR_FORMAT, "(\"..\")");
  assert_external_fails ("sub/../../outside.bin", NULL, NULL, HONE_ERROR_FORMAT, "(\"..\")");
  assert_external_fails ("sub/..", NULL, NULL, HONE_ERROR_FORMAT, "(\"..\")");
  assert_external_fails ("..\\outside.bin", NULL, NULL, HONE_ERROR_FORMAT, "(\"..\")");
  assert_external_fails ("..", NULL, NULL, HONE_ERROR_FORMAT, "(\"..\")");
  assert_external_fails ("sub/x/../../..", NULL, NULL, HONE_ERROR_FORMAT, "(\"..\")");
  /* locations that are not UTF-8 (found by fuzz-onnx: GRegex refused to
   * split them and the check read a NULL) */
  assert_external_fails ("\xff\xfe/../../outside.bin", NULL, NULL, HONE_ERROR_FORMAT,
                         "(\"..\")");
  assert_external_fails ("\xf7" "eights.bin", NULL, NULL, HONE_ERROR_IO, "No such file");
  assert_external_fails (outside, NULL, NULL, HONE_ERROR_FORMAT, "an absolute path");
  assert_external_fails ("/etc/passwd", NULL, NULL, HONE_ERROR_FORMAT, "an absolute path");
  assert_external_fails ("", NULL, NULL, HONE_ERROR_FORMAT, "names none");

  /* not a regular file, missing */
  assert_external_fails ("sub", NULL, NULL, HONE_ERROR_IO, "not a regular file");
  assert_external_fails (".", NULL, NULL, HONE_ERROR_IO, "not a regular file");
  assert_external_fails ("nothing.bin", NULL, NULL, HONE_ERROR_IO, "nothing.bin");
  g_autofree char *fifo = g_build_filename (ext_dir, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  assert_external_fails ("fifo", NULL, NULL, HONE_ERROR_IO, "not a regular file");

  /* offsets and lengths */
  assert_external_fails ("weights.bin", "24", NULL, HONE_ERROR_FORMAT,
                         "keeps 16 bytes at offset 24 of 'weights.bin', which is only 32 bytes");
  assert_external_fails ("weights.bin", "33", "16", HONE_ERROR_FORMAT, "at offset 33");
  assert_external_fails ("weights.bin", "9223372036854775807", "16", HONE_ERROR_FORMAT,
                         "at offset 9223372036854775807");
  assert_external_fails ("weights.bin", "0", "12", HONE_ERROR_FORMAT,
                         "declares 2x2 floats (16 bytes) but its external data in "
                         "'weights.bin' is 12 bytes long");
  assert_external_fails ("weights.bin", "0", "32", HONE_ERROR_FORMAT, "is 32 bytes long");
  assert_external_fails ("weights.bin", "-8", NULL, HONE_ERROR_FORMAT, "not a byte count");
  assert_external_fails ("weights.bin", "0x10", NULL, HONE_ERROR_FORMAT, "not a byte count");
  assert_external_fails ("weights.bin", NULL, "99999999999999999999", HONE_ERROR_FORMAT,
                         "not a byte count");

  /* duplicate keys, no location, data in the model too */
  {
    Onnx__TensorProto *t = external_tensor ("weights.bin", NULL, NULL);
    tensor_add_external (t, "location", "sub/w.bin");
    assert_tensor_fails (t, ext_dir, HONE_ERROR_FORMAT, "'location' twice");
    tensor_free (t);
    t = tensor_new ("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]) { 4 });
    tensor_add_external (t, "offset", "0");
    assert_tensor_fails (t, ext_dir, HONE_ERROR_FORMAT, "names none");
    tensor_free (t);
    t = external_tensor ("weights.bin", NULL, NULL);
    tensor_set_raw (t, data, 16);
    assert_tensor_fails (t, ext_dir, HONE_ERROR_FORMAT, "also in the model");
    tensor_free (t);
  }

  /* from memory without a folder: no external data at all */
  {
    Onnx__TensorProto *t = external_tensor ("weights.bin", NULL, NULL);
    assert_tensor_fails (t, NULL, HONE_ERROR_FORMAT, "not allowed here");
    tensor_free (t);
  }
  g_free (ext_dir);
  ext_dir = NULL;
}

/* ---- a model exported by torch ----------------------------------------- */

static void
test_torch_export (void)
{
  const char *path = g_getenv ("HONE_TORCH_ONNX");
  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no model exported by torch (HONE_TORCH_ONNX)");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneOnnxFile) f = hone_onnx_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_onnx_file_opset (f), ==, 13);
  const Onnx__GraphProto *g = hone_onnx_file_model (f)->graph;
  g_assert_cmpuint (g->n_initializer, >, 0);
  gboolean seen_fc = FALSE;
  for (size_t i = 0; i < g->n_initializer; i++)
    {
      HoneShape shape;
      g_autofree float *data = NULL;
      g_assert_true (hone_onnx_tensor_float (f, g->initializer[i], &shape, &data, &error));
      g_assert_no_error (error);
      if (g_strcmp0 (g->initializer[i]->name, "fc.weight") == 0)
        {
          /* torch.nn.Linear(8, 3) with weights arange(24) / 8 */
          seen_fc = TRUE;
          assert_shape (&shape, HONE_SHAPE (3, 8));
          for (int k = 0; k < 24; k++)
            g_assert_cmpfloat (data[k], ==, k / 8.0f);
        }
    }
  g_assert_true (seen_fc);

  /* Hone writes back what it read, byte for byte */
  g_autofree char *copy = tmp_path ("torch-copy.onnx");
  g_assert_true (hone_onnx_model_save (hone_onnx_file_model (f), copy, &error));
  g_assert_no_error (error);
  g_autofree char *a = NULL, *b = NULL;
  gsize na, nb;
  g_assert_true (g_file_get_contents (path, &a, &na, NULL));
  g_assert_true (g_file_get_contents (copy, &b, &nb, NULL));
  g_assert_cmpmem (a, na, b, nb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmp_dir = g_dir_make_tmp ("hone-onnx-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/engine/onnx-file/round-trip", test_round_trip);
  g_test_add_func ("/engine/onnx-file/save-errors", test_save_errors);
  g_test_add_func ("/engine/onnx-file/opset", test_missing_opset);
  g_test_add_func ("/engine/onnx-file/float16", test_float16);
  g_test_add_func ("/engine/onnx-file/bfloat16", test_bfloat16);
  g_test_add_func ("/engine/onnx-file/dtypes", test_dtypes);
  g_test_add_func ("/engine/onnx-file/bad-tensors", test_bad_tensors);
  g_test_add_func ("/engine/onnx-file/deep-nesting", test_deep_nesting);
  g_test_add_func ("/engine/onnx-file/budget", test_budget);
  g_test_add_func ("/engine/onnx-file/allocator", test_allocator);
  g_test_add_func ("/engine/onnx-file/garbage", test_garbage);
  g_test_add_func ("/engine/onnx-file/external", test_external);
  g_test_add_func ("/engine/onnx-file/torch-export", test_torch_export);
  int ret = g_test_run ();

  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", tmp_dir);
  g_free (tmp_dir);
  return ret;
}
