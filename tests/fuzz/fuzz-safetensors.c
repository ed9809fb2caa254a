/* fuzz-safetensors.c: libFuzzer target for the safetensors reader.  Parses
 * the bytes and converts every tensor the readers accept (f32, i64, u8).
 * Errors are expected; crashes, leaks, undefined behaviour and huge
 * allocations are what the fuzzer looks for.
 *
 * Built as a libFuzzer binary with -Dfuzz=true and clang, and always as a
 * replay driver (fuzz-replay.c) that runs the corpus in the test suite. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "hone-safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  HoneSafetensors *st = hone_safetensors_open_bytes (data, size, "fuzz.safetensors", &error);
  if (st == NULL)
    {
      g_assert (error != NULL && error->domain == HONE_ERROR);
      g_assert (g_strstr_len (error->message, -1, "fuzz.safetensors") != NULL);
      g_error_free (error);
      return 0;
    }
  (void) hone_safetensors_metadata (st);
  for (int i = 0; i < hone_safetensors_n_tensors (st); i++)
    {
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      g_assert (t->nbytes <= size);
      g_assert (hone_safetensors_find (st, t->name) == i);
      HoneShape shape;
      if (hone_safetensors_tensor_shape (st, i, &shape, &error))
        {
          /* (2^32, 2^32 - 1, 0) is valid (the reference counts in 64
           * unsigned bits) but past what Hone's shapes count */
          int64_t n;
          if (hone_shape_numel_checked (&shape, &n))
            g_assert (n == t->numel);
          else
            g_assert (t->numel == 0);
        }
      else
        g_clear_error (&error);
      /* numel is bounded by the file: at most 2 elements per byte (F4) */
      g_assert ((guint64) t->numel <= 2 * (guint64) size);
      float *f = g_new (float, MAX (t->numel, 1));
      if (!hone_safetensors_read_f32 (st, i, f, &error))
        g_clear_error (&error);
      g_free (f);
      int64_t *l = g_new (int64_t, MAX (t->numel, 1));
      if (!hone_safetensors_read_i64 (st, i, l, &error))
        g_clear_error (&error);
      g_free (l);
      guint8 *u = g_new (guint8, MAX (t->numel, 1));
      if (!hone_safetensors_read_u8 (st, i, u, &error))
        g_clear_error (&error);
      g_free (u);
    }
  hone_safetensors_free (st);
  return 0;
}
