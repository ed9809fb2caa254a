/* test-zoo-accuracy.c: every model of the shipped zoo reproduces the
 * accuracy its manifest records: hone_zoo_evaluate on its test split gives
 * the same count of correct predictions.  One test per model
 * (/engine/zoo/accuracy/NAME); each evaluates every test image of its
 * classes (5,000 or 10,000), a forward pass only. */
#include "config.h"

#include "hone-engine.h"

static void
test_accuracy (gconstpointer data)
{
  const char *name = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneZoo) zoo = hone_zoo_open (NULL, FALSE, &error);
  g_assert_no_error (error);
  const HoneZooEntry *e = hone_zoo_find (zoo, name, &error);
  g_assert_no_error (error);
  g_autofree char *source = g_strconcat ("zoo:", name, NULL);
  g_autoptr (HoneModel) m = hone_model_load (source, NULL, &error);
  g_assert_no_error (error);
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (HoneEvaluation) ev = hone_zoo_evaluate (m, e->split, &error);
  g_assert_no_error (error);
  g_test_message ("zoo:%s on %s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " correct (%.2f %%), "
                  "recorded %" G_GINT64_FORMAT "; %.1f s", name, e->split, hone_evaluation_correct (ev),
                  ev->n_samples, 100.0 * ev->accuracy, e->correct, (g_get_monotonic_time () - t0) / 1e6);
  g_assert_cmpint (ev->n_samples, ==, e->samples);
  g_assert_cmpint (hone_evaluation_correct (ev), ==, e->correct);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("HONE_ZOO_DIR");
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneZoo) zoo = hone_zoo_open (NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_zoo_n_entries (zoo), >=, 1);
  for (int i = 0; i < hone_zoo_n_entries (zoo); i++)
    {
      const char *name = hone_zoo_entry (zoo, i)->name;
      g_autofree char *path = g_strdup_printf ("/engine/zoo/accuracy/%s", name);
      g_test_add_data_func_full (path, g_strdup (name), test_accuracy, g_free);
    }
  return g_test_run ();
}
