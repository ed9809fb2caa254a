/* fuzz-onnx.c: libFuzzer target for the ONNX reader.  Parses the bytes as a
 * model (external data refused: there is no folder) and reads every tensor
 * it can reach, initializers and attribute tensors in every subgraph, as
 * float and as int64.  Errors are expected; crashes, leaks, undefined
 * behaviour and huge allocations are what the fuzzer looks for.
 *
 * Built as a libFuzzer binary with -Dfuzz=true and clang, and always as a
 * replay driver (fuzz-replay.c) that runs the corpus in the test suite. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

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

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  HoneOnnxFile *f = hone_onnx_file_parse (data, size, "fuzz.onnx", NULL, &error);
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
