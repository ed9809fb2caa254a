/* fuzz-onnx.c: libFuzzer target for the ONNX reader.  Parses the bytes as a
 * model whose folder is a temporary one holding weights.bin (64 bytes),
 * a subfolder, a symbolic link to weights.bin and one to /etc/hostname, so
 * that external data is fuzzed too, and reads every tensor it can reach,
 * initializers and attribute tensors in every subgraph, as float and as
 * int64.  Errors are expected; crashes, leaks, undefined
 * behaviour and huge allocations are what the fuzzer looks for.
 *
 * Built as a libFuzzer binary with -Dfuzz=true and clang, and always as a
 * replay driver (fuzz-replay.c) that runs the corpus in the test suite. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hone-onnx-file.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
read_tensor (const HoneOnnxFile *f, const Onnx__TensorProto *t)
{
  if (t == NULL)
    return;
  HoneShape shape;
  float *fd = NULL;
  GError *error = NULL;
  if (hone_onnx_tensor_float (f, t, &shape, &fd, &error))
    {
      g_assert (fd != NULL);
      /* touch every element: a short buffer shows up under ASan */
      volatile float sum = 0;
      int64_t n = 0;
      g_assert (hone_shape_numel_checked (&shape, &n));
      for (int64_t i = 0; i < n; i++)
        sum += fd[i];
      g_free (fd);
    }
  else
    {
      g_assert (error != NULL && error->domain == HONE_ERROR && fd == NULL);
      g_clear_error (&error);
    }
  int64_t *id = NULL;
  if (hone_onnx_tensor_int64 (f, t, &shape, &id, &error))
    g_free (id);
  else
    {
      g_assert (error != NULL && error->domain == HONE_ERROR && id == NULL);
      g_clear_error (&error);
    }
}

/* Subgraphs nest at most HONE_ONNX_MAX_DEPTH deep: the reader refused
 * anything deeper, so this recursion is bounded. */
static void
walk_graph (const HoneOnnxFile *f, const Onnx__GraphProto *g)
{
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->n_initializer; i++)
    read_tensor (f, g->initializer[i]);
  for (size_t i = 0; i < g->n_node; i++)
    {
      const Onnx__NodeProto *node = g->node[i];
      for (size_t k = 0; node && k < node->n_attribute; k++)
        {
          const Onnx__AttributeProto *a = node->attribute[k];
          if (a == NULL)
            continue;
          read_tensor (f, a->t);
          for (size_t j = 0; j < a->n_tensors; j++)
            read_tensor (f, a->tensors[j]);
          walk_graph (f, a->g);
          for (size_t j = 0; j < a->n_graphs; j++)
            walk_graph (f, a->graphs[j]);
        }
    }
}

static char *model_dir;

static void
remove_model_dir (void)
{
  const char *names[] = { "weights.bin", "link.bin", "outside.bin", "sub/w.bin", "sub" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char *p = g_build_filename (model_dir, names[i], NULL);
      g_remove (p);
      g_free (p);
    }
  g_rmdir (model_dir);
}

/* The model's folder, made on the first call and removed at exit. */
static const char *
ensure_model_dir (void)
{
  if (model_dir)
    return model_dir;
  model_dir = g_dir_make_tmp ("hone-fuzz-onnx-XXXXXX", NULL);
  g_assert (model_dir != NULL);
  guint8 bytes[64];
  for (int i = 0; i < 64; i++)
    bytes[i] = (guint8) (i * 37 + 1);
  char *w = g_build_filename (model_dir, "weights.bin", NULL);
  char *sub = g_build_filename (model_dir, "sub", NULL);
  char *sw = g_build_filename (model_dir, "sub", "w.bin", NULL);
  char *link = g_build_filename (model_dir, "link.bin", NULL);
  char *out = g_build_filename (model_dir, "outside.bin", NULL);
  g_assert (g_file_set_contents (w, (const char *) bytes, 64, NULL));
  g_assert (g_mkdir (sub, 0755) == 0);
  g_assert (g_file_set_contents (sw, (const char *) bytes, 16, NULL));
  g_assert (symlink ("weights.bin", link) == 0);
  g_assert (symlink ("/etc/hostname", out) == 0);
  g_free (w);
  g_free (sub);
  g_free (sw);
  g_free (link);
  g_free (out);
  atexit (remove_model_dir);
  return model_dir;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  HoneOnnxFile *f = hone_onnx_file_parse (data, size, "fuzz.onnx", ensure_model_dir (), &error);
  if (f == NULL)
    {
      g_assert (error != NULL && error->domain == HONE_ERROR);
      g_assert (g_str_has_prefix (error->message, "fuzz.onnx: "));
      g_error_free (error);
      return 0;
    }
  (void) hone_onnx_file_opset (f);
  walk_graph (f, hone_onnx_file_model (f)->graph);
  hone_onnx_file_free (f);
  return 0;
}
