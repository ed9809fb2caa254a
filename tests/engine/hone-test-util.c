/* hone-test-util.c: finite-difference gradient checks and other test helpers. */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"

void
hone_test_fill_uniform (HoneRng *rng, float *data, int64_t n, float lo, float hi)
{
  for (int64_t i = 0; i < n; i++)
    data[i] = lo + (hi - lo) * hone_rng_uniform (rng);
}

static void
fill_values (HoneGraph *g, int batch, uint64_t seed, gboolean params)
{
  HoneRng rng;
  hone_rng_init (&rng, seed, 7);
  for (int i = 0; i < hone_graph_n_values (g); i++)
    {
      const HoneValue *v = hone_graph_value (g, i);
      if (v->kind == HONE_VALUE_INPUT)
        {
          HoneShape s = hone_shape_with_batch (&v->shape, batch);
          hone_test_fill_uniform (&rng, hone_graph_input_data (g, i), hone_shape_numel (&s), -1, 1);
        }
      else if (params && v->kind == HONE_VALUE_PARAM)
        hone_test_fill_uniform (&rng, hone_graph_value_data (g, i), hone_shape_numel (&v->shape), -1, 1);
    }
}

void
hone_test_fill_graph (HoneGraph *g, int batch, uint64_t seed)
{
  fill_values (g, batch, seed, TRUE);
}

void
hone_test_fill_graph_inputs (HoneGraph *g, int batch, uint64_t seed)
{
  fill_values (g, batch, seed, FALSE);
}

static double
loss_of (HoneGraph *g, int batch, gboolean training, const HoneRng *rng_state, float **r)
{
  g_autoptr (GError) error = NULL;
  *hone_graph_rng (g) = *rng_state;
  g_assert_true (hone_graph_forward (g, batch, training, &error));
  g_assert_no_error (error);
  double loss = 0;
  for (int o = 0; o < hone_graph_n_outputs (g); o++)
    {
      HoneTensor t = hone_graph_tensor (g, hone_graph_output (g, o));
      int64_t n = hone_tensor_numel (&t);
      for (int64_t i = 0; i < n; i++)
        loss += (double) t.data[i] * r[o][i];
    }
  return loss;
}

void
hone_test_gradcheck (HoneGraph *g, int batch, const HoneGradcheckOptions *opts)
{
  HoneGradcheckOptions o = { 1e-2, 1e-2, 1e-3, 48, TRUE };
  if (opts)
    {
      o = *opts;
      if (o.eps == 0) o.eps = 1e-2;
      if (o.rtol == 0) o.rtol = 1e-2;
      if (o.atol == 0) o.atol = 1e-3;
      if (o.max_checks == 0) o.max_checks = 48;
    }

  HoneRng rng_state = *hone_graph_rng (g);
  HoneRng rng;
  hone_rng_init (&rng, 1234, 99);

  int n_out = hone_graph_n_outputs (g);
  float **r = g_new0 (float *, n_out);

  /* Analytic gradients. */
  *hone_graph_rng (g) = rng_state;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_forward (g, batch, o.training, &error));
  for (int k = 0; k < n_out; k++)
    {
      int out = hone_graph_output (g, k);
      HoneTensor t = hone_graph_tensor (g, out);
      int64_t n = hone_tensor_numel (&t);
      r[k] = g_new (float, n);
      hone_test_fill_uniform (&rng, r[k], n, -1, 1);
      float *dy = hone_graph_grad (g, out);
      g_assert_nonnull (dy);
      memcpy (dy, r[k], n * sizeof (float));
    }
  hone_graph_zero_grad (g);
  hone_graph_backward (g);

  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      float *data;
      int64_t n;
      if (v->kind == HONE_VALUE_INPUT)
        {
          HoneShape s = hone_shape_with_batch (&v->shape, batch);
          n = hone_shape_numel (&s);
          data = hone_graph_input_data (g, id);
        }
      else if (v->kind == HONE_VALUE_PARAM && v->trainable)
        {
          n = hone_shape_numel (&v->shape);
          data = hone_graph_value_data (g, id);
        }
      else
        continue;
      float *grad = hone_graph_grad (g, id);
      if (!grad)
        {
          g_test_message ("no gradient for '%s'", v->name);
          g_test_fail ();
          continue;
        }
      float *analytic = g_memdup2 (grad, n * sizeof (float));
      int64_t step = MAX (1, n / o.max_checks);
      for (int64_t i = 0; i < n; i += step)
        {
          float saved = data[i];
          data[i] = saved + (float) o.eps;
          double lp = loss_of (g, batch, o.training, &rng_state, r);
          data[i] = saved - (float) o.eps;
          double lm = loss_of (g, batch, o.training, &rng_state, r);
          data[i] = saved;
          double fd = (lp - lm) / (2 * o.eps);
          double an = analytic[i];
          if (!(fabs (fd - an) <= o.atol + o.rtol * MAX (fabs (fd), fabs (an))))
            {
              g_test_message ("gradient of '%s'[%" G_GINT64_FORMAT "]: backward %.6g, finite difference %.6g",
                              v->name, i, an, fd);
              g_test_fail ();
              break;
            }
        }
      g_free (analytic);
    }
  *hone_graph_rng (g) = rng_state;
  for (int k = 0; k < n_out; k++)
    g_free (r[k]);
  g_free (r);
}

HoneGraph *
hone_test_single_node_graph (const HoneOpClass *op, gpointer attrs,
                             const HoneShape *shapes, int n_in, guint32 param_mask)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = hone_graph_new ();
  int *ids = g_newa (int, n_in);
  for (int i = 0; i < n_in; i++)
    {
      g_autofree char *name = g_strdup_printf ("x%d", i);
      ids[i] = (param_mask & (1u << i)) ? hone_graph_add_param (g, name, &shapes[i], &error)
                                        : hone_graph_add_input (g, name, &shapes[i], &error);
      g_assert_no_error (error);
    }
  int y = hone_graph_add_node (g, op, attrs, "node", ids, n_in, 1, NULL, &error);
  g_assert_no_error (error);
  hone_graph_add_output (g, y);
  return g;
}

void
hone_test_assert_close (const char *what, const float *a, const float *b, int64_t n,
                        double rtol, double atol)
{
  for (int64_t i = 0; i < n; i++)
    {
      double d = fabs ((double) a[i] - b[i]);
      if (!(d <= atol + rtol * fabs ((double) b[i])))
        {
          g_test_message ("%s[%" G_GINT64_FORMAT "]: got %.8g, expected %.8g (|diff| %.3g, rtol %.1g, atol %.1g)",
                          what, i, a[i], b[i], d, rtol, atol);
          g_test_fail ();
          return;
        }
    }
}

char *
hone_test_make_tmp_dir (const char *template_name)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (template_name, &error);
  g_assert_no_error (error);
  return dir;
}

void
hone_test_remove_tree (const char *path)
{
  struct stat sb;
  if (lstat (path, &sb) != 0)
    return;
  if (S_ISDIR (sb.st_mode))
    {
      chmod (path, 0700);
      DIR *d = opendir (path);
      if (d)
        {
          struct dirent *ent;
          while ((ent = readdir (d)))
            {
              if (strcmp (ent->d_name, ".") == 0 || strcmp (ent->d_name, "..") == 0)
                continue;
              g_autofree char *child = g_build_filename (path, ent->d_name, NULL);
              hone_test_remove_tree (child);
            }
          closedir (d);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}
