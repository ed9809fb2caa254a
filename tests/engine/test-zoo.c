/* test-zoo.c: HoneModel (build, load, save, head replacement) and the
 * model zoo: the shipped zoo/ (every entry loads, its size, SHA-256 and
 * parameter count match the manifest, its file is at most 10 MB), its
 * errors (unknown names, damaged files, a missing folder, a hostile
 * manifest), the manifest's round trip, and a recipe that fine-tunes
 * zoo:NAME.
 *
 * The accuracy each zoo model reproduces is checked by
 * test-zoo-accuracy.c (it evaluates every test image). */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "hone-engine.h"
#include "hone-test-images.h"
#include "hone-test-util.h"
#include "data/hone-image.h"

#define ZOO_MAX_BYTES (10 * 1000 * 1000)

static char *tmp_root;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_root, name, NULL);
}

static float *
read_tensor (const char *path, const char *name, int64_t *numel)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  int i = hone_safetensors_find (st, name);
  g_assert_cmpint (i, >=, 0);
  const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
  float *out = g_new (float, MAX (t->numel, 1));
  g_assert_true (hone_safetensors_read_f32 (st, i, out, &error));
  *numel = t->numel;
  return out;
}

static gboolean
same_tensor (const char *a, const char *b, const char *name)
{
  int64_t na, nb;
  g_autofree float *x = read_tensor (a, name, &na);
  g_autofree float *y = read_tensor (b, name, &nb);
  return na == nb && memcmp (x, y, (gsize) na * sizeof (float)) == 0;
}

static gboolean
graph_equals_file (HoneGraph *g, const char *path, const char *name)
{
  int64_t n;
  g_autofree float *x = read_tensor (path, name, &n);
  int id = hone_graph_find (g, name);
  g_assert_cmpint (id, >=, 0);
  return n == hone_shape_numel (&hone_graph_value (g, id)->shape)
         && memcmp (x, hone_graph_value_data (g, id), (gsize) n * sizeof (float)) == 0;
}

/* Logits of a fixed random batch of 4. */
static float *
logits_of (HoneModel *m)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_plan (m->graph, 4, FALSE, &error));
  g_assert_no_error (error);
  int x = hone_graph_input (m->graph, 0);
  HoneRng rng;
  hone_rng_init (&rng, 99, 1);
  hone_test_fill_uniform (&rng, hone_graph_input_data (m->graph, x),
                          4 * hone_shape_numel (&hone_graph_value (m->graph, x)->shape), -1, 1);
  g_assert_true (hone_graph_forward (m->graph, 4, FALSE, &error));
  g_assert_no_error (error);
  HoneTensor t = hone_graph_tensor (m->graph, hone_graph_output (m->graph, 0));
  return g_memdup2 (t.data, (gsize) 4 * m->n_classes * sizeof (float));
}

/* ---- HoneModel ------------------------------------------------------------ */

static HoneModel *
build (const char *arch, int classes, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  HoneModelOptions o;
  hone_model_options_init (&o);
  o.classes = classes;
  o.seed = seed;
  HoneModel *m = hone_model_build (arch, &o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static void
test_model_build (void)
{
  g_autoptr (HoneModel) m = build ("cnn-s", 0, 1);
  g_assert_cmpstr (m->arch, ==, "cnn-s");
  g_assert_cmpstr (m->format, ==, "arch");
  g_assert_null (m->source);
  g_assert_cmpint (m->n_classes, ==, 10);
  g_assert_cmpint (m->channels, ==, 1);
  g_assert_cmpint (m->height, ==, 28);
  g_assert_cmpstr (m->class_names[3], ==, "class 3");
  g_assert_null (m->class_names[10]);
  g_assert_cmpstr (m->head_params[0], ==, "fc.weight");
  g_assert_cmpstr (m->head_params[1], ==, "fc.bias");
  g_assert_null (m->head_params[2]);
  g_assert_false (m->norm_from_file);
  g_assert_cmpfloat (m->mean[0], ==, 0.2860f);

  HoneModelOptions o;
  hone_model_options_init (&o);
  g_assert_cmpfloat (o.dropout, <, 0.0);
  o.classes = 7;
  o.channels = 3;
  o.height = o.width = 40;
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneModel) r = hone_model_build ("resnet18", &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->n_classes, ==, 7);
  g_assert_cmpint (r->channels, ==, 3);
  g_assert_cmpint (r->width, ==, 40);
  g_assert_cmpfloat (r->mean[0], ==, 0.485f);   /* ImageNet's for three channels */

  g_assert_null (hone_model_build ("resnet99", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "resnet99"));
  g_assert_nonnull (strstr (error->message, "mobilenet_v2"));

  hone_model_free (NULL);
}

static void
test_model_save_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneModel) m = build ("cnn-s", 5, 3);
  g_strfreev (m->class_names);
  const char *names[] = { "cat", "dog", "owl", "fox", "eel", NULL };
  m->class_names = g_strdupv ((char **) names);
  m->mean[0] = 0.25f;
  m->std[0] = 0.5f;
  g_autofree char *path = tmp_path ("model.safetensors");
  g_assert_true (hone_model_save (m, path, &error));
  g_assert_no_error (error);
  g_autofree float *want = logits_of (m);

  /* the same model back, with its classes and normalisation */
  g_autoptr (HoneModel) l = hone_model_load (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (l->format, ==, "hone");
  g_assert_cmpstr (l->source, ==, path);
  g_assert_cmpstr (l->arch, ==, "cnn-s");
  g_assert_cmpint (l->n_classes, ==, 5);
  g_assert_cmpstr (l->class_names[4], ==, "eel");
  g_assert_true (l->norm_from_file);
  g_assert_cmpfloat (l->mean[0], ==, 0.25f);
  g_assert_cmpfloat (l->std[0], ==, 0.5f);
  g_assert_false (l->head_replaced);
  g_autofree float *got = logits_of (l);
  g_assert_cmpmem (got, 4 * 5 * sizeof (float), want, 4 * 5 * sizeof (float));

  /* other classes: the body loads, the head is new */
  HoneModelOptions o;
  hone_model_options_init (&o);
  o.classes = 3;
  o.seed = 11;
  g_autoptr (HoneModel) h = hone_model_load (path, &o, &error);
  g_assert_no_error (error);
  g_assert_true (h->head_replaced);
  g_assert_cmpint (h->n_classes, ==, 3);
  g_assert_cmpstr (h->class_names[0], ==, "class 0");
  g_assert_true (graph_equals_file (h->graph, path, "conv5.weight"));

  /* the same classes with replace_head: a fresh head of the same shape */
  o.classes = 0;
  o.replace_head = TRUE;
  g_autoptr (HoneModel) f = hone_model_load (path, &o, &error);
  g_assert_no_error (error);
  g_assert_true (f->head_replaced);
  g_assert_cmpint (f->n_classes, ==, 5);
  g_assert_true (graph_equals_file (f->graph, path, "bn5.running_var"));
  g_assert_false (graph_equals_file (f->graph, path, "fc.weight"));

  /* weights into an architecture, as model.weights does */
  g_autoptr (HoneModel) w = build ("cnn-s", 5, 77);
  g_assert_true (hone_model_load_weights (w, path, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (graph_equals_file (w->graph, path, "fc.weight"));
  g_autoptr (HoneModel) wrong = build ("resnet18", 5, 77);
  g_assert_false (hone_model_load_weights (wrong, path, FALSE, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_clear_error (&error);

  /* the metadata names what the file is */
  g_autoptr (GHashTable) md = hone_model_metadata (l);
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.arch"), ==, "cnn-s");
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.input"), ==, "1x28x28");
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.classes"), ==, "[\"cat\",\"dog\",\"owl\",\"fox\",\"eel\"]");

  /* a bare state_dict is not a model by itself */
  g_autofree char *bare = tmp_path ("bare.safetensors");
  g_assert_true (hone_graph_save_safetensors (m->graph, bare, NULL, &error));
  g_assert_null (hone_model_load (bare, NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, bare));
  g_assert_nonnull (strstr (error->message, "model.weights"));
  g_clear_error (&error);

  /* formats by ending */
  g_assert_null (hone_model_load ("model.pt", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "model.pt"));
  g_clear_error (&error);
  g_autofree char *txt = tmp_path ("model.txt");
  g_assert_false (hone_model_save (m, txt, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (g_file_test (txt, G_FILE_TEST_EXISTS));
  /* ONNX through the same two calls: the same logits, classes and normalisation */
  g_autofree char *onnx = tmp_path ("model.onnx");
  g_assert_true (hone_model_save (l, onnx, &error));
  g_assert_no_error (error);
  g_autoptr (HoneModel) o2 = hone_model_load (onnx, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (o2->n_classes, ==, 5);
  g_assert_cmpstr (o2->class_names[4], ==, "eel");
  g_assert_cmpfloat (o2->mean[0], ==, 0.25f);
  g_autofree float *from_onnx = logits_of (o2);
  hone_test_assert_close ("onnx logits", from_onnx, want, 4 * 5, 1e-5, 1e-5);

  /* five classes, but not the ones the file's head learnt: a new head, from
   * either format; the same ones keep it */
  const char *same[] = { "cat", "dog", "owl", "fox", "eel", NULL };
  const char *other[] = { "ant", "bee", "cow", "elk", "gnu", NULL };
  const char *files[] = { path, onnx };
  for (int i = 0; i < 2; i++)
    {
      HoneModelOptions c;
      hone_model_options_init (&c);
      c.class_names = other;
      g_autoptr (HoneModel) x = hone_model_load (files[i], &c, &error);
      g_assert_no_error (error);
      g_assert_true (x->head_replaced);
      g_assert_cmpint (x->n_classes, ==, 5);
      c.class_names = same;
      g_autoptr (HoneModel) y = hone_model_load (files[i], &c, &error);
      g_assert_no_error (error);
      g_assert_false (y->head_replaced);
      g_assert_cmpstr (y->class_names[4], ==, "eel");
    }
  g_assert_null (hone_model_load ("/nonexistent/m.safetensors", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_clear_error (&error);
}

/* An image file as the model sees it: converted, resized, normalised. */
static void
test_model_image (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneModel) m = build ("cnn-s", 10, 1);
  m->height = m->width = 4;                /* the read only looks at the input format */
  m->mean[0] = 0.5f;
  m->std[0] = 0.25f;
  /* 2x2 RGB: white, black / red, grey 128 */
  const guint8 px[] = { 255, 255, 255, 0, 0, 0, 255, 0, 0, 128, 128, 128 };
  HoneTestPng png = { .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                      .samples = px };
  g_autoptr (GBytes) bytes = hone_test_png_bytes (&png);
  g_autofree char *path = tmp_path ("four.png");
  hone_test_write_bytes (path, bytes);
  g_autofree float *img = hone_model_read_image (m, path, &error);
  g_assert_no_error (error);
  /* 4x4 from 2x2: the top-left pixel is white, the top-right black;
   * (1 - 0.5) / 0.25 = 2 and (0 - 0.5) / 0.25 = -2 */
  g_assert_cmpfloat_with_epsilon (img[0], 2.0f, 1e-5);
  g_assert_cmpfloat_with_epsilon (img[3], -2.0f, 1e-5);
  /* bottom-left: red as grey luma 0.299 */
  g_assert_cmpfloat_with_epsilon (img[12], (HONE_LUMA_R - 0.5f) / 0.25f, 1e-3);

  g_autofree float *missing = hone_model_read_image (m, "/nonexistent/x.png", &error);
  g_assert_null (missing);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.png"));
}

/* The head of a graph whose classifier is a MatMul and a bias Add (how ONNX
 * exports some Linear layers) is both parameters, as for a Gemm. */
static void
test_head_matmul (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) g = hone_graph_new ();
  HoneShape in = HONE_SHAPE (4), ws = HONE_SHAPE (4, 3), bs = HONE_SHAPE (3);
  int x = hone_graph_add_input (g, "input", &in, &error);
  int w = hone_graph_add_param (g, "fc.weight", &ws, &error);
  int b = hone_graph_add_param (g, "fc.bias", &bs, &error);
  int y = hone_graph_matmul (g, "fc.matmul", x, w, &error);
  g_assert_no_error (error);
  int z = hone_graph_add (g, "fc.add", y, b, &error);
  g_assert_no_error (error);
  hone_graph_add_output (g, z);
  g_auto (GStrv) head = hone_graph_head_params (g);
  g_assert_cmpuint (g_strv_length (head), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) head, "fc.weight"));
  g_assert_true (g_strv_contains ((const char *const *) head, "fc.bias"));
}

/* ---- the zoo's manifest --------------------------------------------------- */

/* A zoo in a temporary folder with one cnn-s model, "tiny". */
static char *
make_zoo (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = tmp_path (name);
  g_autoptr (HoneZoo) zoo = hone_zoo_open (dir, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_zoo_n_entries (zoo), ==, 0);
  g_autoptr (HoneModel) m = build ("cnn-s", 3, 5);
  g_autofree char *file = g_build_filename (dir, "tiny.safetensors", NULL);
  g_assert_true (hone_model_save (m, file, &error));
  HoneZooEntry e = { 0 };
  e.name = (char *) "tiny";
  e.description = (char *) "a test model";
  e.arch = (char *) "cnn-s";
  e.channels = 1;
  e.height = e.width = 28;
  e.mean[0] = 0.286f;
  e.std[0] = 0.353f;
  e.classes = m->class_names;
  e.source_classes = (char *) "nothing";
  e.recipe = (char *) "[model]\narch=cnn-s\n";
  e.file = (char *) "tiny.safetensors";
  g_autofree char *sha = hone_file_sha256 (file, &e.bytes, &error);
  g_assert_no_error (error);
  e.sha256 = sha;
  e.params = hone_graph_n_params (m->graph);
  e.correct = 3;
  e.samples = 4;
  e.split = (char *) "fmnist-test:0-2";
  e.hone_version = (char *) PACKAGE_VERSION;
  hone_zoo_set_entry (zoo, &e);
  e.name = (char *) "another";
  hone_zoo_set_entry (zoo, &e);
  hone_zoo_set_entry (zoo, &e);   /* replaces, does not add */
  g_assert_cmpint (hone_zoo_n_entries (zoo), ==, 2);
  g_assert_true (hone_zoo_save (zoo, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

static void
test_manifest_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_zoo ("zoo-rt");
  g_autoptr (HoneZoo) zoo = hone_zoo_open (dir, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_zoo_n_entries (zoo), ==, 2);
  g_assert_cmpstr (hone_zoo_entry (zoo, 0)->name, ==, "another");   /* sorted by name */
  const HoneZooEntry *e = hone_zoo_find (zoo, "zoo:tiny", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (e->description, ==, "a test model");
  g_assert_cmpint (e->height, ==, 28);
  g_assert_cmpfloat (e->mean[0], ==, 0.286f);
  g_assert_cmpfloat (e->std[0], ==, 0.353f);
  g_assert_cmpint (g_strv_length (e->classes), ==, 3);
  g_assert_cmpstr (e->recipe, ==, "[model]\narch=cnn-s\n");
  g_assert_cmpint (e->correct, ==, 3);
  g_assert_cmpint (e->samples, ==, 4);
  g_assert_cmpfloat (e->accuracy, ==, 0.75);
  g_assert_cmpstr (e->split, ==, "fmnist-test:0-2");
  g_assert_true (hone_zoo_verify (zoo, e, &error));
  g_assert_no_error (error);

  /* HONE_ZOO_DIR points zoo:NAME there */
  g_setenv ("HONE_ZOO_DIR", dir, TRUE);
  g_autofree char *def = hone_zoo_default_dir ();
  g_assert_cmpstr (def, ==, dir);
  g_autoptr (HoneModel) m = hone_model_load ("zoo:tiny", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->source, ==, "zoo:tiny");
  g_assert_cmpstr (m->description, ==, "a test model");
  g_assert_cmpint (m->n_classes, ==, 3);
  g_unsetenv ("HONE_ZOO_DIR");
}

static void
test_zoo_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_zoo ("zoo-bad");
  g_setenv ("HONE_ZOO_DIR", dir, TRUE);

  /* an unknown name lists the names there are */
  g_assert_null (hone_model_load ("zoo:nope", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "zoo:nope"));
  g_assert_nonnull (strstr (error->message, "another, tiny"));
  g_clear_error (&error);

  /* a damaged file (same size, one byte changed) is refused, naming it */
  g_autofree char *file = g_build_filename (dir, "tiny.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  data[len - 5] ^= 0x40;
  g_assert_true (g_file_set_contents (file, data, (gssize) len, NULL));
  g_assert_null (hone_model_load ("zoo:tiny", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, file));
  g_assert_nonnull (strstr (error->message, "SHA-256"));
  g_clear_error (&error);

  /* a truncated one by its size, before reading it */
  g_assert_true (g_file_set_contents (file, data, (gssize) len - 100, NULL));
  g_assert_null (hone_model_load ("zoo:tiny", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "bytes"));
  g_clear_error (&error);

  /* a missing file */
  g_assert_cmpint (g_remove (file), ==, 0);
  g_assert_null (hone_model_load ("zoo:tiny", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_clear_error (&error);

  /* a missing zoo folder */
  g_setenv ("HONE_ZOO_DIR", "/nonexistent/zoo", TRUE);
  g_assert_null (hone_model_load ("zoo:tiny", NULL, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/zoo"));
  g_assert_nonnull (strstr (error->message, "HONE_ZOO_DIR"));
  g_clear_error (&error);
  g_unsetenv ("HONE_ZOO_DIR");

  /* hostile or broken manifests */
  g_autofree char *manifest = g_build_filename (dir, HONE_ZOO_MANIFEST, NULL);
  g_autofree char *good = NULL;
  g_assert_true (g_file_get_contents (manifest, &good, NULL, NULL));
  static const struct { const char *from, *to, *says; } cases[] = {
    { "\"file\" : \"tiny.safetensors\"", "\"file\" : \"../tiny.safetensors\"", "file" },
    { "\"file\" : \"tiny.safetensors\"", "\"file\" : \"/etc/passwd\"", "file" },
    { "\"arch\" : \"cnn-s\"", "\"arch\" : \"vgg\"", "arch" },
    { "\"bytes\" : ", "\"bytes\" : -", "bytes" },
    { "\"name\" : \"tiny\"", "\"name\" : \"Tiny/x\"", "name" },
    { "\"name\" : \"tiny\"", "\"name\" : \"another\"", "twice" },
    { "\"correct\" : 3", "\"correct\" : 30", "correct" },
    { "\"models\"", "\"modelz\"", "models" },
    { "{", "[", "JSON" },
    { "}", "", "JSON" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_nonnull (strstr (good, cases[i].from));
      g_autoptr (GString) bad = g_string_new (good);
      g_string_replace (bad, cases[i].from, cases[i].to, 1);
      g_assert_true (g_file_set_contents (manifest, bad->str, -1, NULL));
      g_autoptr (HoneZoo) zoo = hone_zoo_open (dir, FALSE, &error);
      g_assert_null (zoo);
      g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
      if (!strstr (error->message, cases[i].says) || !strstr (error->message, manifest))
        g_error ("case %u: %s", i, error->message);
      g_clear_error (&error);
    }
}

/* ---- the zoo shipped in zoo/ ------------------------------------------------ */

static void
test_shipped_zoo (void)
{
  g_autoptr (GError) error = NULL;
  g_unsetenv ("HONE_ZOO_DIR");
  g_autofree char *dir = hone_zoo_default_dir ();
  /* run from the build tree: the source tree's zoo */
  g_assert_cmpstr (dir, ==, HONE_SOURCE_ZOO_DIR);
  g_autoptr (HoneZoo) zoo = hone_zoo_open (NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_zoo_n_entries (zoo), >=, 2);
  /* the default recipe's model is there */
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  g_assert_nonnull (hone_zoo_find (zoo, r->source, &error));
  g_assert_no_error (error);

  for (int i = 0; i < hone_zoo_n_entries (zoo); i++)
    {
      const HoneZooEntry *e = hone_zoo_entry (zoo, i);
      g_test_message ("zoo:%s", e->name);
      g_assert_cmpint (e->bytes, <=, ZOO_MAX_BYTES);
      g_assert_true (hone_zoo_verify (zoo, e, &error));
      g_assert_no_error (error);
      g_autofree char *source = g_strconcat ("zoo:", e->name, NULL);
      g_autoptr (HoneModel) m = hone_model_load (source, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (m->arch, ==, e->arch);
      g_assert_cmpint (m->channels, ==, e->channels);
      g_assert_cmpint (m->height, ==, e->height);
      g_assert_cmpint (m->width, ==, e->width);
      g_assert_cmpint (m->n_classes, ==, (int) g_strv_length (e->classes));
      for (int c = 0; c < m->n_classes; c++)
        g_assert_cmpstr (m->class_names[c], ==, e->classes[c]);
      for (int c = 0; c < MIN (m->channels, 4); c++)
        {
          g_assert_cmpfloat (m->mean[c], ==, e->mean[c]);
          g_assert_cmpfloat (m->std[c], ==, e->std[c]);
        }
      g_assert_true (m->norm_from_file);
      g_assert_cmpint (hone_graph_n_params (m->graph), ==, e->params);
      g_assert_nonnull (e->recipe);
      g_assert_nonnull (strstr (e->recipe, e->arch));
      g_assert_cmpstr (e->hone_version, !=, NULL);
      g_assert_true (e->samples > 0 && e->accuracy > 0.5);
    }
}

static void
on_started (HoneTrainer *t, const HoneEvent *ev, gpointer data)
{
  if (ev->kind == HONE_EVENT_STARTED)
    *(int *) data = ev->start.head_replaced;
}

/* A recipe with model.source = zoo:NAME fine-tunes it: the default recipe,
 * shortened.  With freeze.mode = last the first stages stay as the zoo has
 * them, the head is new. */
static void
test_zoo_recipe (void)
{
  g_autoptr (GError) error = NULL;
  g_unsetenv ("HONE_ZOO_DIR");
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  g_assert_true (hone_recipe_set (r, "data.limit=200", &error));
  g_assert_true (hone_recipe_set (r, "train.epochs=1", &error));
  g_assert_true (hone_recipe_set (r, "train.threads=2", &error));
  g_assert_true (hone_recipe_set (r, "train.batch=32", &error));
  g_assert_no_error (error);
  g_autofree char *dir = tmp_path ("zoo-run");
  g_autoptr (HoneTrainer) t = hone_trainer_new (r, dir, &error);
  g_assert_no_error (error);
  int replaced = -1;
  g_assert_cmpint (hone_trainer_run_sync (t, on_started, &replaced), ==, HONE_FINISH_COMPLETED);
  /* five classes as the zoo model has, but other ones: a new head */
  g_assert_cmpint (replaced, ==, 1);

  g_autoptr (HoneZoo) zoo = hone_zoo_open (NULL, FALSE, &error);
  g_assert_no_error (error);
  const HoneZooEntry *e = hone_zoo_find (zoo, r->source, &error);
  g_assert_no_error (error);
  g_autofree char *zoo_file = hone_zoo_entry_path (zoo, e);
  g_autofree char *final = g_build_filename (dir, "final.safetensors", NULL);
  g_assert_true (same_tensor (zoo_file, final, "conv1.weight"));
  g_assert_true (same_tensor (zoo_file, final, "bn3.running_mean"));   /* frozen BN: inference mode */
  g_assert_false (same_tensor (zoo_file, final, "conv5.weight"));     /* the last stage trains */
  g_assert_false (same_tensor (zoo_file, final, "fc.weight"));
  g_autoptr (HoneModel) m = hone_model_load (final, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->class_names[0], ==, "Sandal");

  const char *const *own = (const char *const *) m->class_names;
  g_assert_true (hone_model_classes_fit (own, own));
  const char *source[] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", NULL };
  g_assert_false (hone_model_classes_fit (own, source));
  const char *four[] = { "Sandal", "Shirt", "Sneaker", "Bag", NULL };
  g_assert_false (hone_model_classes_fit (own, four));
  const char *generated[] = { "class 0", "class 1", NULL };
  g_assert_true (hone_model_classes_fit (generated, source));
  g_assert_true (hone_model_classes_fit (NULL, source));
  g_assert_true (hone_model_classes_fit (own, NULL));

  /* on the classes it was pretrained on, the head is kept */
  g_assert_true (hone_recipe_set (r, "data.source=fmnist:0-4", &error));
  g_autofree char *dir3 = tmp_path ("zoo-run-3");
  g_autoptr (HoneTrainer) t3 = hone_trainer_new (r, dir3, &error);
  g_assert_no_error (error);
  replaced = -1;
  g_assert_cmpint (hone_trainer_run_sync (t3, on_started, &replaced), ==, HONE_FINISH_COMPLETED);
  g_assert_cmpint (replaced, ==, 0);

  /* a run of an unknown zoo model fails before it starts, naming it */
  g_assert_true (hone_recipe_set (r, "model.source=zoo:nope", &error));
  g_autofree char *dir2 = tmp_path ("zoo-run-2");
  g_assert_null (hone_trainer_new (r, dir2, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "zoo:nope"));
  g_assert_nonnull (strstr (error->message, "cnn-s-fmnist0-4"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmp_root = g_dir_make_tmp ("hone-test-zoo-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/engine/model/build", test_model_build);
  g_test_add_func ("/engine/model/save-load", test_model_save_load);
  g_test_add_func ("/engine/model/image", test_model_image);
  g_test_add_func ("/engine/model/head-matmul", test_head_matmul);
  g_test_add_func ("/engine/zoo/manifest", test_manifest_round_trip);
  g_test_add_func ("/engine/zoo/errors", test_zoo_errors);
  g_test_add_func ("/engine/zoo/shipped", test_shipped_zoo);
  g_test_add_func ("/engine/zoo/recipe", test_zoo_recipe);
  int status = g_test_run ();

  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_root);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", tmp_root);
  return status;
}
