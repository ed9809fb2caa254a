/* onnx-conformance.c: ONNX's own node tests (Debian's libonnx-testdata,
 * /usr/share/libonnx-testdata/data/node) run through Hone's importer and
 * executor, for every test whose nodes all have op types Hone imports.
 *
 * Usage: onnx-conformance [--verbose] [DATA_DIR]
 *
 * Each test folder holds model.onnx and test_data_set_N/{input,output}_K.pb
 * (TensorProtos).  The first input is fed as the model input, its first
 * dimension as the batch; further inputs of the same leading size go in as
 * inputs too for ops that combine activations (Add, Concat, ...), and every
 * other input (weights, shapes, axes, indices) as known data, so that
 * weights become parameters and shapes constants as in an exported model.
 * A node test whose inputs are all known data runs through the importer's
 * constant folding.  Outputs are compared with rtol 1e-3, atol 1e-5.
 *
 * Prints "N of M passed", every failure with its reason, and the skipped
 * cases with theirs.  Exits 1 when a case that is not in the skip list
 * fails.  The skip list below gives a reason for every case: Hone's tensors
 * are float32 with the batch first, so cases that need other element types,
 * or that reduce, transpose, flatten or reshape across the first dimension,
 * are outside what an image classifier's graph needs. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "onnx/hone-onnx-private.h"

typedef struct
{
  const char *name;
  const char *reason;
} Skip;

#define BATCH0 "works across the first dimension, which Hone keeps as the batch"
#define DTYPE "needs an element type other than float32 on an activation"
#define TRAINING "uses training-mode outputs (statistics or masks) that Hone does not expose"

static const Skip skips[] = {
  { "test_averagepool_1d_default", BATCH0 },
  { "test_averagepool_3d_default", BATCH0 },
  { "test_batchnorm_epsilon_training_mode", TRAINING },
  { "test_batchnorm_example_training_mode", TRAINING },
  { "test_cast_BFLOAT16_to_FLOAT", DTYPE },
  { "test_cast_FLOAT_to_BFLOAT16", DTYPE },
  { "test_cast_FLOAT_to_STRING", DTYPE },
  { "test_cast_STRING_to_FLOAT", DTYPE },
  { "test_castlike_BFLOAT16_to_FLOAT_expanded", DTYPE },
  { "test_castlike_FLOAT_to_BFLOAT16_expanded", DTYPE },
  { "test_castlike_FLOAT_to_STRING_expanded", DTYPE },
  { "test_castlike_STRING_to_FLOAT_expanded", DTYPE },
  { "test_clip_default_int8_inbounds", DTYPE },
  { "test_clip_default_int8_max", DTYPE },
  { "test_clip_default_int8_min", DTYPE },
  { "test_concat_1d_axis_0", BATCH0 },
  { "test_concat_1d_axis_negative_1", BATCH0 },
  { "test_concat_2d_axis_0", BATCH0 },
  { "test_concat_2d_axis_negative_2", BATCH0 },
  { "test_concat_3d_axis_0", BATCH0 },
  { "test_concat_3d_axis_negative_3", BATCH0 },
  { "test_dropout_default_mask", TRAINING },
  { "test_dropout_default_mask_ratio", TRAINING },
  { "test_edge_pad", DTYPE },
  { "test_flatten_axis0", BATCH0 },
  { "test_flatten_axis2", BATCH0 },
  { "test_flatten_axis3", BATCH0 },
  { "test_flatten_negative_axis1", BATCH0 },
  { "test_flatten_negative_axis2", BATCH0 },
  { "test_flatten_negative_axis4", BATCH0 },
  { "test_gemm_all_attributes", BATCH0 },
  { "test_gemm_default_matrix_bias", BATCH0 },
  { "test_gemm_transposeA", BATCH0 },
  { "test_identity_opt", "uses sequence or optional types" },
  { "test_identity_sequence", "uses sequence or optional types" },
  { "test_layer_normalization_2d_axis0", BATCH0 },
  { "test_layer_normalization_2d_axis1", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_2d_axis_negative_1", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_2d_axis_negative_2", BATCH0 },
  { "test_layer_normalization_3d_axis0_epsilon", BATCH0 },
  { "test_layer_normalization_3d_axis1_epsilon", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_3d_axis2_epsilon", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_3d_axis_negative_1_epsilon", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_3d_axis_negative_2_epsilon", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_3d_axis_negative_3_epsilon", BATCH0 },
  { "test_layer_normalization_4d_axis0", BATCH0 },
  { "test_layer_normalization_4d_axis1", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_4d_axis2", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_4d_axis3", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_4d_axis_negative_1", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_4d_axis_negative_2", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_4d_axis_negative_3", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_layer_normalization_4d_axis_negative_4", BATCH0 },
  { "test_layer_normalization_default_axis", "needs LayerNormalization's Mean and InvStdDev outputs, which Hone does not compute" },
  { "test_maxpool_1d_default", BATCH0 },
  { "test_maxpool_2d_uint8", DTYPE },
  { "test_maxpool_3d_default", BATCH0 },
  { "test_maxpool_with_argmax_2d_precomputed_pads", "needs MaxPool's Indices output, which Hone does not compute" },
  { "test_maxpool_with_argmax_2d_precomputed_strides", "needs MaxPool's Indices output, which Hone does not compute" },
  { "test_mvn_expanded", BATCH0 },
  { "test_pow", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_bcast_array", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_example", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_types_float32_int32", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_types_float32_int64", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_types_float32_uint32", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_types_float32_uint64", "the exponent is a tensor input; Hone's Pow takes a constant scalar exponent (what exporters write)" },
  { "test_pow_types_int", DTYPE },
  { "test_reduce_mean_default_axes_keepdims_example", BATCH0 },
  { "test_reduce_mean_default_axes_keepdims_random", BATCH0 },
  { "test_reduce_sum_default_axes_keepdims_example", BATCH0 },
  { "test_reduce_sum_default_axes_keepdims_random", BATCH0 },
  { "test_reflect_pad", DTYPE },
  { "test_reshape_allowzero_reordered", "gives an empty tensor, which Hone does not support" },
  { "test_reshape_negative_extended_dims", BATCH0 },
  { "test_reshape_one_dim", BATCH0 },
  { "test_reshape_reordered_all_dims", BATCH0 },
  { "test_slice", BATCH0 },
  { "test_slice_default_axes", BATCH0 },
  { "test_slice_default_steps", BATCH0 },
  { "test_slice_neg_steps", BATCH0 },
  { "test_slice_negative_axes", BATCH0 },
  { "test_slice_start_out_of_bounds", "gives an empty tensor, which Hone does not support" },
  { "test_softmax_axis_0", BATCH0 },
  { "test_split_equal_parts_1d", BATCH0 },
  { "test_split_equal_parts_default_axis", BATCH0 },
  { "test_split_variable_parts_1d", BATCH0 },
  { "test_split_variable_parts_default_axis", BATCH0 },
  { "test_split_zero_size_splits", BATCH0 },
  { "test_squeeze", BATCH0 },
  { "test_training_dropout", TRAINING },
  { "test_training_dropout_default", TRAINING },
  { "test_training_dropout_default_mask", TRAINING },
  { "test_training_dropout_mask", TRAINING },
  { "test_training_dropout_zero_ratio_mask", TRAINING },
  { "test_transpose_all_permutations_2", BATCH0 },
  { "test_transpose_all_permutations_3", BATCH0 },
  { "test_transpose_all_permutations_4", BATCH0 },
  { "test_transpose_all_permutations_5", BATCH0 },
  { "test_transpose_default", BATCH0 },
  { "test_unsqueeze_axis_0", BATCH0 },
  { NULL, NULL },
};

static const char *
skip_reason (const char *name)
{
  for (const Skip *s = skips; s->name; s++)
    if (strcmp (s->name, name) == 0)
      return s->reason;
  return NULL;
}

/* Ops where several inputs of the same leading size are activations. */
static const char *const elementwise[] = {
  "Add", "Sub", "Mul", "Div", "Concat", "MatMul", "Pow", "Sum", "Max", "Min", NULL
};

static gboolean
read_pb (const char *path, Onnx__TensorProto **out, GError **error)
{
  g_autofree char *data = NULL;
  gsize size;
  if (!g_file_get_contents (path, &data, &size, error))
    return FALSE;
  *out = onnx__tensor_proto__unpack (NULL, size, (const uint8_t *) data);
  if (!*out)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s: not a TensorProto", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_float (const Onnx__TensorProto *t)
{
  return t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

static OnnxVal *
to_val (const HoneOnnxFile *file, const char *name, const Onnx__TensorProto *t, GError **error)
{
  HoneShape shape;
  gboolean is_int = t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
    && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
  OnnxVal *v;
  if (is_int)
    {
      g_autofree int64_t *d = NULL;
      if (!hone_onnx_tensor_int64 (file, t, &shape, &d, error))
        return NULL;
      v = onnx_val_new_known (name, &shape, TRUE);
      for (int64_t i = 0; i < hone_shape_numel (&shape); i++)
        v->v[i] = (double) d[i];
    }
  else
    {
      g_autofree float *d = NULL;
      if (!hone_onnx_tensor_float (file, t, &shape, &d, error))
        return NULL;
      v = onnx_val_new_known (name, &shape, FALSE);
      for (int64_t i = 0; i < hone_shape_numel (&shape); i++)
        v->v[i] = d[i];
    }
  v->initializer = TRUE;
  return v;
}

/* One test data set; FALSE with error saying what differs. */
static gboolean
run_set (const HoneOnnxFile *file, const char *set_dir, GError **error)
{
  const Onnx__GraphProto *gp = hone_onnx_file_model (file)->graph;
  g_autoptr (GHashTable) known = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) onnx_val_free);
  /* graph inputs that are not initializers, in order */
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (size_t i = 0; i < gp->n_input; i++)
    {
      gboolean init = FALSE;
      for (size_t k = 0; k < gp->n_initializer; k++)
        init |= strcmp (gp->initializer[k]->name, gp->input[i]->name) == 0;
      if (!init)
        g_ptr_array_add (names, gp->input[i]->name);
    }
  gboolean elementwise_op = gp->n_node == 1 && g_strv_contains (elementwise, gp->node[0]->op_type);
  gboolean fold_only = TRUE;
  for (size_t i = 0; i < gp->n_node; i++)
    fold_only &= onnx_node_func (gp->node[i]->op_type) == NULL;

  Onnx__TensorProto *ins[16] = { NULL };
  guint n_in = MIN (names->len, 16);
  int64_t batch = -1;
  gboolean ok = FALSE;
  g_autoptr (GHashTable) batched = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint k = 0; k < n_in; k++)
    {
      g_autofree char *path = g_strdup_printf ("%s/input_%u.pb", set_dir, k);
      if (!read_pb (path, &ins[k], error))
        goto out;
      const Onnx__TensorProto *t = ins[k];
      gboolean feed = !fold_only && is_float (t) && t->n_dims >= 1
        && (k == 0 || (elementwise_op && batch == t->dims[0]));
      if (feed)
        {
          if (k == 0)
            batch = t->dims[0];
          g_hash_table_add (batched, names->pdata[k]);
          continue;
        }
      OnnxVal *v = to_val (file, names->pdata[k], t, error);
      if (!v)
        goto out;
      g_hash_table_insert (known, v->name, v);
    }

  OnnxImportOptions io = { .dropout = -1, .known_inputs = known, .allow_known_outputs = TRUE };
  OnnxImport *imp = onnx_import_graph (file, &io, error);
  if (!imp)
    goto out;
  HoneGraph *g = imp->g;
  if (batch > 0)
    {
      if (batch > 4096 || !hone_graph_plan (g, (int) batch, FALSE, error))
        {
          if (error && !*error)
            g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "batch %" G_GINT64_FORMAT, batch);
          onnx_import_free (imp);
          goto out;
        }
      for (guint k = 0; k < n_in; k++)
        {
          if (!g_hash_table_contains (batched, names->pdata[k]))
            continue;
          int id = hone_graph_find (g, names->pdata[k]);
          g_autofree float *d = NULL;
          HoneShape s;
          if (id < 0 || !hone_onnx_tensor_float (file, ins[k], &s, &d, error))
            {
              if (error && !*error)
                g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "input %u not in the graph", k);
              onnx_import_free (imp);
              goto out;
            }
          if (s.d[0] != batch)
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE, "input %u has another batch", k);
              onnx_import_free (imp);
              goto out;
            }
          memcpy (hone_graph_input_data (g, id), d, sizeof (float) * hone_shape_numel (&s));
        }
      if (!hone_graph_forward (g, (int) batch, FALSE, error))
        {
          onnx_import_free (imp);
          goto out;
        }
    }

  ok = TRUE;
  for (size_t o = 0; o < gp->n_output && ok; o++)
    {
      g_autofree char *path = g_strdup_printf ("%s/output_%zu.pb", set_dir, o);
      Onnx__TensorProto *t = NULL;
      if (!read_pb (path, &t, error))
        {
          ok = FALSE;
          break;
        }
      HoneShape es;
      g_autofree float *expect = NULL;
      if (!hone_onnx_tensor_float (file, t, &es, &expect, error))
        {
          onnx__tensor_proto__free_unpacked (t, NULL);
          ok = FALSE;
          break;
        }
      onnx__tensor_proto__free_unpacked (t, NULL);
      OnnxVal *v = onnx_import_get (imp, gp->output[o]->name);
      HoneShape gs;
      g_autofree float *got = NULL;
      if (v && v->known)
        {
          gs = v->shape;
          got = onnx_val_floats (v);
        }
      else if (v && v->id >= 0)
        {
          HoneTensor ht = hone_graph_tensor (g, v->id);
          gs = ht.shape;
          got = g_memdup2 (ht.data, sizeof (float) * MAX (hone_tensor_numel (&ht), 1));
        }
      else
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "output %zu not computed", o);
          ok = FALSE;
          break;
        }
      if (!hone_shape_equal (&gs, &es))
        {
          char a[128], b[128];
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE, "output %zu has shape %s, expected %s",
                       o, hone_shape_to_string (&gs, a, sizeof a),
                       hone_shape_to_string (&es, b, sizeof b));
          ok = FALSE;
          break;
        }
      for (int64_t i = 0; i < hone_shape_numel (&es); i++)
        {
          double e = expect[i], r = got[i];
          gboolean same = (isnan (e) && isnan (r)) || (isinf (e) && e == r)
            || fabs (e - r) <= 1e-5 + 1e-3 * fabs (e);
          if (!same)
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED,
                           "output %zu element %" G_GINT64_FORMAT ": %.7g, expected %.7g", o, i, r, e);
              ok = FALSE;
              break;
            }
        }
    }
  onnx_import_free (imp);
out:
  for (guint k = 0; k < n_in; k++)
    if (ins[k])
      onnx__tensor_proto__free_unpacked (ins[k], NULL);
  return ok;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  /* g_ptr_array_sort passes pointers to the elements */
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  gboolean verbose = FALSE;
  const char *dir = "/usr/share/libonnx-testdata/data/node";
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--verbose") == 0)
        verbose = TRUE;
      else
        dir = argv[i];
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  if (!d)
    {
      g_print ("1..0 # SKIP %s\n", error->message);
      return 0;
    }
  g_autoptr (GPtrArray) tests = g_ptr_array_new_with_free_func (g_free);
  const char *e;
  while ((e = g_dir_read_name (d)))
    g_ptr_array_add (tests, g_strdup (e));
  g_ptr_array_sort (tests, compare_names);

  int total = 0, passed = 0, skipped = 0, failed = 0;
  GString *failures = g_string_new (NULL), *skipped_list = g_string_new (NULL);
  for (guint t = 0; t < tests->len; t++)
    {
      const char *name = tests->pdata[t];
      g_autofree char *model = g_build_filename (dir, name, "model.onnx", NULL);
      g_autoptr (GError) err = NULL;
      g_autoptr (HoneOnnxFile) file = hone_onnx_file_open (model, &err);
      if (!file)
        continue;
      const Onnx__ModelProto *mp = hone_onnx_file_model (file);
      int64_t opset = hone_onnx_file_opset (file);
      if (!mp->graph || opset < 7 || opset > 17)
        continue;
      gboolean supported = mp->graph->n_node > 0;
      for (size_t i = 0; i < mp->graph->n_node; i++)
        {
          const Onnx__NodeProto *n = mp->graph->node[i];
          gboolean std_domain = !n->domain || !n->domain[0] || strcmp (n->domain, "ai.onnx") == 0;
          supported &= std_domain && onnx_op_supported (n->op_type);
        }
      if (!supported)
        continue;
      total++;

      gboolean ok = TRUE;
      int sets = 0;
      for (int s = 0; ok; s++)
        {
          g_autofree char *set = g_strdup_printf ("%s/%s/test_data_set_%d", dir, name, s);
          if (!g_file_test (set, G_FILE_TEST_IS_DIR))
            break;
          sets++;
          ok = run_set (file, set, &err);
        }
      const char *why = skip_reason (name);
      if (ok && sets > 0)
        {
          passed++;
          if (why)
            g_string_append_printf (failures, "#   %s passes but is in the skip list\n", name);
          if (verbose)
            g_print ("# pass %s\n", name);
        }
      else if (why)
        {
          skipped++;
          g_string_append_printf (skipped_list, "#   %s: %s (%s)\n", name, why,
                                  err ? err->message : "no data");
        }
      else
        {
          failed++;
          g_string_append_printf (failures, "#   %s: %s\n", name, err ? err->message : "no test data");
        }
    }
  g_print ("# ONNX node tests of supported ops (opsets 7-17): %d of %d passed, %d skipped, "
           "%d failed\n", passed, total, skipped, failed);
  if (skipped_list->len)
    g_print ("# skipped:\n%s", skipped_list->str);
  if (failures->len)
    g_print ("# failed:\n%s", failures->str);
  g_print ("1..1\n%s 1 conformance: %d of %d passed\n", failed ? "not ok" : "ok", passed, total);
  g_string_free (failures, TRUE);
  g_string_free (skipped_list, TRUE);
  return failed ? 1 : 0;
}
