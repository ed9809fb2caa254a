/* test-freeze.c: freezing on a real architecture.  A frozen prefix costs a
 * forward pass only (no node in it runs backward, and it holds no
 * activation gradients); frozen parameters and the running statistics of
 * frozen BatchNorms stay bit-identical through training steps; unfreezing
 * mid-run takes effect at the next step. */
#include "config.h"

#include <math.h>
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

/* The recipe's freezing as the trainer and the Layers page apply it: the
 * presets, a list, LR multipliers and progressive unfreezing, and the plan
 * leaves the graph as it was. */
static void
test_recipe_plan (void)
{
  g_autoptr (GError) error = NULL;
  HoneArchOptions opts = { .classes = 5, .channels = 3, .height = 32, .width = 32, .seed = 3 };
  g_autoptr (HoneGraph) g = hone_arch_build ("resnet18", &opts, &error);
  g_assert_no_error (error);
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  int n = hone_graph_n_values (g);
  g_autofree HoneFreezePlan *plan = g_new (HoneFreezePlan, n);
  int fc_w = hone_graph_find (g, "fc.weight");
  int l4 = hone_graph_find (g, "layer4.1.conv2.weight");
  int l3 = hone_graph_find (g, "layer3.0.conv1.weight");
  int stem = hone_graph_find (g, "conv1.weight");

  g_autoptr (GPtrArray) blocks = hone_graph_blocks (g);
  g_assert_cmpuint (blocks->len, ==, 9);
  g_assert_cmpstr (blocks->pdata[0], ==, "stem");
  g_assert_cmpstr (blocks->pdata[8], ==, "layer4.1");

  g_assert_true (hone_recipe_set (r, "freeze.mode=head", &error));
  g_assert_true (hone_recipe_set (r, "train.epochs=6", &error));
  g_assert_true (hone_recipe_set (r, "layers.unfreeze=2:layer4,4:layer3", &error));
  g_assert_true (hone_recipe_plan_freezing (r, g, "resnet18", plan, &error));
  g_assert_no_error (error);
  g_assert_true (plan[fc_w].trainable);
  g_assert_false (plan[l4].trainable);
  g_assert_cmpint (plan[l4].unfreeze_epoch, ==, 2);
  g_assert_cmpint (plan[l3].unfreeze_epoch, ==, 4);
  g_assert_cmpint (plan[stem].unfreeze_epoch, ==, 0);
  /* the graph itself is untouched */
  g_assert_true (hone_graph_value (g, l4)->trainable);
  g_assert_cmpint (hone_graph_n_trainable_params (g), ==, hone_graph_n_params (g));

  g_assert_true (hone_recipe_set (r, "freeze.mode=list", &error));
  g_assert_true (hone_recipe_set (r, "freeze.list=stem,layer1", &error));
  g_assert_true (hone_recipe_set (r, "layers.lr_decay=0.5", &error));
  g_assert_true (hone_recipe_set (r, "layers.lr_mult=layer4.1=4", &error));
  g_assert_true (hone_recipe_plan_freezing (r, g, "resnet18", plan, &error));
  g_assert_false (plan[stem].trainable);
  g_assert_false (plan[hone_graph_find (g, "layer1.1.bn2.weight")].trainable);
  g_assert_true (plan[hone_graph_find (g, "layer2.0.conv1.weight")].trainable);
  g_assert_cmpfloat (plan[fc_w].lr_mult, ==, 1.0f);
  g_assert_cmpfloat (plan[l4].lr_mult, ==, 0.5f * 4.0f);
  g_assert_cmpfloat (plan[stem].lr_mult, ==, (float) pow (0.5, 9));

  /* apply: the same as the plan */
  g_assert_true (hone_recipe_apply_freezing (r, g, "resnet18", &error));
  g_assert_true (hone_recipe_apply_lr_mults (r, g, "resnet18", &error));
  for (int id = 0; id < n; id++)
    if (hone_graph_value (g, id)->kind == HONE_VALUE_PARAM)
      {
        g_assert_cmpint (hone_graph_value (g, id)->trainable, ==, plan[id].trainable);
        g_assert_cmpfloat (hone_graph_value (g, id)->lr_mult, ==, plan[id].lr_mult);
      }

  /* errors name the setting */
  g_assert_true (hone_recipe_set (r, "freeze.list=nothing", &error));
  int64_t before = hone_graph_n_trainable_params (g);
  g_assert_false (hone_recipe_apply_freezing (r, g, "resnet18", &error));
  g_assert_cmpint (hone_graph_n_trainable_params (g), ==, before);   /* left as it was */
  g_clear_error (&error);
  g_assert_false (hone_recipe_plan_freezing (r, g, "resnet18", plan, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "freeze.list"));
  g_clear_error (&error);
  g_assert_true (hone_recipe_set (r, "freeze.mode=last", &error));
  g_assert_true (hone_recipe_set (r, "freeze.blocks=10", &error));
  g_assert_false (hone_recipe_apply_freezing (r, g, NULL, &error));
  g_assert_nonnull (strstr (error->message, "freeze.blocks"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hone_set_num_threads (1);
  g_test_add_func ("/engine/freeze/recipe-plan", test_recipe_plan);
  g_test_add ("/engine/freeze/no-backward-in-frozen-prefix", Fixture, NULL,
              fixture_set_up, test_frozen_prefix_no_backward, fixture_tear_down);
  g_test_add ("/engine/freeze/bit-identical", Fixture, NULL,
              fixture_set_up, test_frozen_bit_identical, fixture_tear_down);
  g_test_add ("/engine/freeze/unfreeze-mid-run", Fixture, NULL,
              fixture_set_up, test_unfreeze_mid_run, fixture_tear_down);
  return g_test_run ();
}
