/* fuzz-replay.c: runs a fuzz target's LLVMFuzzerTestOneInput over files,
 * so that the corpora replay in the ordinary test suite without libFuzzer
 * (and with gcc).  Arguments are files or folders (every regular file in a
 * folder, sorted by name, not recursing).  Prints TAP: one line per file.
 * A target that crashes or asserts fails the test. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
add_path (GPtrArray *files, const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return;
    }
  GError *error = NULL;
  GDir *dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      fprintf (stderr, "fuzz-replay: %s\n", error->message);
      exit (1);
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    if (g_file_test (names->pdata[i], G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (files, g_strdup (names->pdata[i]));
  g_ptr_array_unref (names);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
      return 2;
    }
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    add_path (files, argv[i]);
  if (files->len == 0)
    {
      fprintf (stderr, "fuzz-replay: no files to replay\n");
      return 1;
    }
  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = files->pdata[i];
      char *data = NULL;
      gsize size = 0;
      GError *error = NULL;
      if (!g_file_get_contents (path, &data, &size, &error))
        {
          printf ("not ok %u %s: %s\n", i + 1, path, error->message);
          return 1;
        }
      fflush (stdout);
      /* an exact-size copy, so that ASan sees reads past the end */
      guint8 *copy = g_memdup2 (data, size);
      LLVMFuzzerTestOneInput (copy, size);
      g_free (copy);
      g_free (data);
      char *base = g_path_get_basename (path);
      printf ("ok %u %s\n", i + 1, base);
      g_free (base);
    }
  g_ptr_array_unref (files);
  return 0;
}
