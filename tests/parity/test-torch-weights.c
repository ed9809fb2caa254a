/* test-torch-weights.c: safetensors files written by torch load into the
 * built-in architectures by name, give torch's logits, and what Hone writes
 * back loads into torch with load_state_dict (strict=True).
 *
 * The torch files come from tests/parity/torch_weights.py (a meson
 * custom_target); the same script checks Hone's files in torch.  The test
 * skips when the environment does not name them (no python3-torch). */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"

static const char *fixtures;   /* HONE_TORCH_WEIGHTS_DIR */
static const char *python;     /* HONE_PYTHON */
static const char *script;     /* HONE_TORCH_WEIGHTS_SCRIPT */
static const char *refdir;     /* HONE_REFERENCE_DIR */
static char *tmp_dir;

typedef struct
{
  const char *arch;
  int classes, channels, size;
} Config;

/* As tests/parity/torch_weights.py CONFIGS. */
static const Config configs[] = {
  { "resnet18", 1000, 3, 64 },
  { "resnet34", 1000, 3, 64 },
  { "mobilenet_v2", 1000, 3, 64 },
  { "cnn-s", 10, 1, 28 },
};

static gboolean
have_fixtures (void)
{
  if (!fixtures || !python || !script || !refdir)
    {
      g_test_skip ("HONE_TORCH_WEIGHTS_DIR, HONE_PYTHON, HONE_TORCH_WEIGHTS_SCRIPT or "
                   "HONE_REFERENCE_DIR not set");
      return FALSE;
    }
  return TRUE;
}

static char *
fixture (const char *arch, const char *suffix)
{
  g_autofree char *base = g_strdup_printf ("torch-%s%s.safetensors", arch, suffix);
  return g_build_filename (fixtures, base, NULL);
}

static void
run_torch_check (GPtrArray *specs)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) python);
  g_ptr_array_add (argv, (char *) script);
  g_ptr_array_add (argv, "check");
  g_ptr_array_add (argv, (char *) refdir);
  for (guint i = 0; i < specs->len; i++)
    g_ptr_array_add (argv, specs->pdata[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s", out);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("torch rejected Hone's files:\n%s%s", out, err);
}

/* Loads torch's file strictly, compares the logits with torch's, and saves
 * it back; returns the spec for the torch-side check. */
static char *
load_compare_save (const Config *c)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions o = { c->classes, c->channels, c->size, c->size, 1 };
  g_autoptr (HoneGraph) g = hone_arch_build (c->arch, &o, &error);
  g_assert_no_error (error);
  g_autofree char *weights = fixture (c->arch, "");
  g_autofree char *io = fixture (c->arch, "-io");

  g_auto (GStrv) skipped = NULL;
  g_assert_true (hone_graph_load_safetensors_full (g, weights, HONE_LOAD_STRICT, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (skipped), ==, 0);

  /* Every tensor of the file went somewhere, bit for bit. */
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (weights, &error);
  g_assert_no_error (error);
  int n_nbt = 0;
  for (int i = 0; i < hone_safetensors_n_tensors (st); i++)
    {
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      if (g_str_has_suffix (t->name, ".num_batches_tracked"))
        {
          n_nbt++;
          continue;
        }
      int id = hone_graph_find (g, t->name);
      if (id < 0)
        g_error ("%s: '%s' has no value in Hone's graph", c->arch, t->name);
      g_assert_cmpint (t->dtype, ==, HONE_DTYPE_F32);
      g_assert_cmpmem (hone_graph_value_data (g, id),
                       hone_shape_numel (&hone_graph_value (g, id)->shape) * sizeof (float),
                       t->data, t->nbytes);
    }
  g_assert_cmpint (n_nbt, >, 0);

  /* The logits torch computed in evaluation mode. */
  g_autoptr (HoneSafetensors) ios = hone_safetensors_open (io, &error);
  g_assert_no_error (error);
  const HoneSafetensorsTensor *in = hone_safetensors_tensor (ios, hone_safetensors_find (ios, "input"));
  const HoneSafetensorsTensor *ref = hone_safetensors_tensor (ios, hone_safetensors_find (ios, "logits"));
  int batch = (int) in->dims[0];
  g_assert_cmpint (ref->numel, ==, (int64_t) batch * c->classes);
  g_assert_true (hone_graph_plan (g, batch, FALSE, &error));
  g_assert_true (hone_safetensors_read_f32 (ios, hone_safetensors_find (ios, "input"),
                                            hone_graph_input_data (g, hone_graph_input (g, 0)), &error));
  g_assert_true (hone_graph_forward (g, batch, FALSE, &error));
  g_assert_no_error (error);
  g_autofree float *expect = g_new (float, ref->numel);
  g_assert_true (hone_safetensors_read_f32 (ios, hone_safetensors_find (ios, "logits"), expect, &error));
  HoneTensor y = hone_graph_tensor (g, hone_graph_output (g, 0));
  g_autofree char *what = g_strdup_printf ("%s logits against torch", c->arch);
  hone_test_assert_close (what, y.data, expect, ref->numel, 1e-3, 1e-4);

  /* Back out: the same names, the same bytes, num_batches_tracked as I64 (). */
  g_autofree char *base = g_strdup_printf ("hone-%s.safetensors", c->arch);
  g_autofree char *out = g_build_filename (tmp_dir, base, NULL);
  g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "arch", (char *) c->arch);
  g_assert_true (hone_graph_save_safetensors (g, out, meta, &error));
  g_assert_no_error (error);
  g_autoptr (HoneSafetensors) back = hone_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_safetensors_n_tensors (back), ==, hone_safetensors_n_tensors (st));
  for (int i = 0; i < hone_safetensors_n_tensors (st); i++)
    {
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      int j = hone_safetensors_find (back, t->name);
      g_assert_cmpint (j, >=, 0);
      const HoneSafetensorsTensor *u = hone_safetensors_tensor (back, j);
      g_assert_cmpint (u->dtype, ==, t->dtype);
      g_assert_cmpint (u->rank, ==, t->rank);
      for (int k = 0; k < t->rank; k++)
        g_assert_cmpint (u->dims[k], ==, t->dims[k]);
      if (!g_str_has_suffix (t->name, ".num_batches_tracked"))
        g_assert_cmpmem (u->data, u->nbytes, t->data, t->nbytes);
    }
  return g_strdup_printf ("%s:%d:%d:%s:%s:%s", c->arch, c->classes, c->channels, out, weights, io);
}

static void
test_roundtrip (void)
{
  if (!have_fixtures ())
    return;
  g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (configs); i++)
    g_ptr_array_add (specs, load_compare_save (&configs[i]));

  /* Freshly built models of other shapes load into torch too. */
  const Config fresh[] = {
    { "resnet34", 1000, 3, 64 },
    { "resnet18", 7, 1, 32 },
    { "mobilenet_v2", 3, 4, 32 },
    { "cnn-s", 5, 3, 28 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (fresh); i++)
    {
      g_autoptr (GError) error = NULL;
      HoneArchOptions o = { fresh[i].classes, fresh[i].channels, fresh[i].size, fresh[i].size, 2 };
      g_autoptr (HoneGraph) g = hone_arch_build (fresh[i].arch, &o, &error);
      g_assert_no_error (error);
      g_autofree char *base = g_strdup_printf ("fresh-%s-%u.safetensors", fresh[i].arch, i);
      g_autofree char *out = g_build_filename (tmp_dir, base, NULL);
      g_assert_true (hone_graph_save_safetensors (g, out, NULL, &error));
      g_assert_no_error (error);
      g_ptr_array_add (specs, g_strdup_printf ("%s:%d:%d:%s", fresh[i].arch, fresh[i].classes,
                                               fresh[i].channels, out));
    }
  run_torch_check (specs);
}

/* torchvision's 1000-class heads into models with 10 classes. */
static void
test_head_replacement (void)
{
  if (!have_fixtures ())
    return;
  const char *arch[] = { "resnet18", "mobilenet_v2" };
  for (guint i = 0; i < G_N_ELEMENTS (arch); i++)
    {
      g_autoptr (GError) error = NULL;
      HoneArchOptions o = { 10, 3, 64, 64, 1 };
      g_autoptr (HoneGraph) g = hone_arch_build (arch[i], &o, &error);
      g_autofree char *weights = fixture (arch[i], "");
      const char *const *head = hone_arch_find (arch[i])->head_params;

      g_assert_false (hone_graph_load_safetensors (g, weights, HONE_LOAD_STRICT, &error));
      g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
      int features = i == 0 ? 512 : 1280;
      g_autofree char *expect = g_strdup_printf ("%s (model (10, %d), file (1000, %d))",
                                                 head[0], features, features);
      g_assert_nonnull (strstr (error->message, expect));
      g_clear_error (&error);

      g_auto (GStrv) skipped = NULL;
      g_assert_true (hone_graph_load_safetensors_full (g, weights, HONE_LOAD_ALLOW_HEAD_MISMATCH,
                                                       &skipped, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (g_strv_length (skipped), ==, 2);
      g_assert_true (g_strv_contains ((const char *const *) skipped, head[0]));
      g_assert_true (g_strv_contains ((const char *const *) skipped, head[1]));

      /* the same through HoneModel, as model.arch with model.weights does */
      HoneModelOptions mo;
      hone_model_options_init (&mo);
      mo.classes = 10;
      mo.channels = 3;
      mo.height = mo.width = 64;
      g_autoptr (HoneModel) m = hone_model_build (arch[i], &mo, &error);
      g_assert_no_error (error);
      g_assert_true (hone_model_load_weights (m, weights, FALSE, &error));
      g_assert_no_error (error);
      g_assert_true (m->head_replaced);
      g_assert_cmpint (m->n_classes, ==, 10);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fixtures = g_getenv ("HONE_TORCH_WEIGHTS_DIR");
  python = g_getenv ("HONE_PYTHON");
  script = g_getenv ("HONE_TORCH_WEIGHTS_SCRIPT");
  refdir = g_getenv ("HONE_REFERENCE_DIR");
  tmp_dir = g_dir_make_tmp ("hone-test-torch-weights-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/parity/safetensors/torch-roundtrip", test_roundtrip);
  g_test_add_func ("/parity/safetensors/head-replacement", test_head_replacement);
  int ret = g_test_run ();
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *p = g_build_filename (tmp_dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
