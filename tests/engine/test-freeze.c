/* test-freeze.c: freezing on a real architecture.  A frozen prefix costs a
 * forward pass only (no node in it runs backward, and it holds no
 * activation gradients); frozen parameters and the running statistics of
 * frozen BatchNorms stay bit-identical through training steps; unfreezing
 * mid-run takes effect at the next step. */
#include "config.h"

#include <string.h>

#include "hone-test-util.h"

typedef struct
{
  HoneGraph *g;
  HoneOptimizer *opt;
  HoneTrainStep *ts;
  int32_t labels[4];
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions opts = { .classes = 5, .channels = 3, .height = 32, .width = 32, .seed = 3 };
  f->g = hone_arch_build ("resnet18", &opts, &error);
  g_assert_no_error (error);
  const char *head[] = { "layer4", "fc", NULL };
  hone_graph_set_trainable_prefix (f->g, NULL, FALSE);
  hone_graph_set_trainable_prefix (f->g, head, TRUE);
  g_assert_true (hone_graph_plan (f->g, 4, TRUE, &error));
  HoneOptimConfig oc;
  hone_optim_config_init (&oc, HONE_OPTIM_SGD);
  oc.momentum = 0.9;
  oc.weight_decay = 1e-2;
  oc.l1 = 1e-4;
  f->opt = hone_optimizer_new (f->g, &oc, &error);
  g_assert_no_error (error);
  HoneLoss loss;
  hone_loss_init (&loss);
  f->ts = hone_train_step_new (f->g, f->opt, &loss, 1, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 4; i++)
    f->labels[i] = i;
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  hone_train_step_free (f->ts);
  hone_optimizer_free (f->opt);
  hone_graph_free (f->g);
}

static void
train (Fixture *f, int steps, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  for (int s = 0; s < steps; s++)
    {
      hone_test_fill_graph_inputs (f->g, 4, seed + s);
      g_assert_true (hone_train_step_run (f->ts, 4, f->labels, NULL, 0.05, NULL, &error));
      g_assert_no_error (error);
    }
}

static gboolean
in_prefix (const char *name, const char *const *prefixes)
{
  for (int i = 0; prefixes[i]; i++)
    if (g_str_has_prefix (name, prefixes[i]))
      return TRUE;
  return FALSE;
}

/* No node before layer4 runs backward or has an activation gradient. */
static void
test_frozen_prefix_no_backward (Fixture *f, gconstpointer data)
{
  const char *trainable[] = { "layer4", "fc", NULL };
  int ran = 0;
  for (int i = 0; i < hone_graph_n_nodes (f->g); i++)
    {
      const HoneNode *n = hone_graph_node (f->g, i);
      gboolean expect = in_prefix (n->name, trainable) || g_str_equal (n->name, "flatten")
                        || g_str_equal (n->name, "avgpool");
      if (hone_graph_node_runs_backward (f->g, i) != expect)
        {
          g_test_message ("node '%s' runs backward: %d, expected %d", n->name,
                          hone_graph_node_runs_backward (f->g, i), expect);
          g_test_fail ();
        }
      ran += expect;
      if (!expect)
        for (int k = 0; k < n->n_out; k++)
          g_assert_null (hone_graph_grad (f->g, n->out[k]));
    }
  g_assert_cmpint (ran, >, 5);

  /* and the whole network trainable needs far more memory */
  gsize frozen_bytes = hone_graph_activation_bytes (f->g);
  hone_graph_set_trainable_prefix (f->g, NULL, TRUE);
  g_assert_true (hone_graph_plan (f->g, 4, TRUE, NULL));
  gsize all_bytes = hone_graph_activation_bytes (f->g);
  g_test_message ("activation bytes: layer4+fc %" G_GSIZE_FORMAT ", all %" G_GSIZE_FORMAT,
                  frozen_bytes, all_bytes);
  g_assert_cmpuint (frozen_bytes * 2, <, all_bytes);
}

/* Frozen parameters and frozen BatchNorm statistics bit-identical after
 * training; trainable ones move. */
static void
test_frozen_bit_identical (Fixture *f, gconstpointer data)
{
  int nv = hone_graph_n_values (f->g);
  float **before = g_new0 (float *, nv);
  for (int i = 0; i < nv; i++)
    {
      const HoneValue *v = hone_graph_value (f->g, i);
      if (v->kind == HONE_VALUE_PARAM || v->kind == HONE_VALUE_BUFFER)
        before[i] = g_memdup2 (hone_graph_value_data (f->g, i),
                               hone_shape_numel (&v->shape) * sizeof (float));
    }
  train (f, 3, 10);
  const char *trainable[] = { "layer4", "fc", NULL };
  int moved = 0, frozen = 0;
  for (int i = 0; i < nv; i++)
    {
      if (!before[i])
        continue;
      const HoneValue *v = hone_graph_value (f->g, i);
      gboolean same = memcmp (before[i], hone_graph_value_data (f->g, i),
                              hone_shape_numel (&v->shape) * sizeof (float)) == 0;
      if (in_prefix (v->name, trainable))
        moved += !same;
      else
        {
          frozen++;
          if (!same)
            {
              g_test_message ("frozen '%s' changed", v->name);
              g_test_fail ();
            }
        }
      g_free (before[i]);
    }
  g_free (before);
  g_assert_cmpint (frozen, >, 50);
  /* every trainable parameter and every layer4 BN statistic moved */
  g_assert_cmpint (moved, >=, 20);
}

/* Progressive unfreezing: layer3 joins between steps. */
static void
test_unfreeze_mid_run (Fixture *f, gconstpointer data)
{
  train (f, 1, 20);
  int w = hone_graph_find (f->g, "layer3.1.conv2.weight");
  g_assert_cmpint (w, >=, 0);
  g_assert_null (hone_graph_grad (f->g, w));
  const char *layer3[] = { "layer3", NULL };
  g_assert_cmpint (hone_graph_set_trainable_prefix (f->g, layer3, TRUE), >, 0);
  const HoneValue *v = hone_graph_value (f->g, w);
  int64_t n = hone_shape_numel (&v->shape);
  g_autofree float *before = g_memdup2 (hone_graph_value_data (f->g, w), n * sizeof (float));
  train (f, 1, 21);
  g_assert_nonnull (hone_graph_grad (f->g, w));
  g_assert_true (memcmp (before, hone_graph_value_data (f->g, w), n * sizeof (float)) != 0);
  gboolean layer3_backward = FALSE;
  for (int i = 0; i < hone_graph_n_nodes (f->g); i++)
    if (g_str_has_prefix (hone_graph_node (f->g, i)->name, "layer3."))
      layer3_backward |= hone_graph_node_runs_backward (f->g, i);
  g_assert_true (layer3_backward);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hone_set_num_threads (1);
  g_test_add ("/engine/freeze/no-backward-in-frozen-prefix", Fixture, NULL,
              fixture_set_up, test_frozen_prefix_no_backward, fixture_tear_down);
  g_test_add ("/engine/freeze/bit-identical", Fixture, NULL,
              fixture_set_up, test_frozen_bit_identical, fixture_tear_down);
  g_test_add ("/engine/freeze/unfreeze-mid-run", Fixture, NULL,
              fixture_set_up, test_unfreeze_mid_run, fixture_tear_down);
  return g_test_run ();
}
