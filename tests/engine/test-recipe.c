/* test-recipe.c: the recipe's key table, defaults, overrides, every range
 * error, .hone files (round trip, malformed ones), cross-field validation,
 * and the conversion of epoch durations to optimizer steps against step
 * counts worked out by hand. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"

/* ---- helpers -------------------------------------------------------------- */

static void
set_ok (HoneRecipe *r, const char *assignment)
{
  g_autoptr (GError) error = NULL;
  if (!hone_recipe_set (r, assignment, &error))
    g_error ("%s: %s", assignment, error->message);
}

static char *
get (const HoneRecipe *r, const char *key)
{
  g_autoptr (GError) error = NULL;
  char *text = hone_recipe_get (r, key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (text);
  return text;
}

static void
assert_valid (const HoneRecipe *r)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = hone_recipe_validate (r, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* Asserts that validation fails with a message containing each of the
 * NULL-terminated strings. */
static void
assert_invalid (const HoneRecipe *r, ...)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_recipe_validate (r, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  va_list args;
  va_start (args, r);
  for (const char *s = va_arg (args, const char *); s; s = va_arg (args, const char *))
    if (strstr (error->message, s) == NULL)
      g_error ("“%s” does not mention “%s”", error->message, s);
  va_end (args);
}

/* Asserts that the assignment fails, mentions each string, and leaves the
 * recipe as it was. */
static void
assert_set_fails (HoneRecipe *r, const char *assignment, ...)
{
  g_autofree char *before = hone_recipe_to_data (r, NULL);
  g_autoptr (GError) error = NULL;
  if (hone_recipe_set (r, assignment, &error))
    g_error ("%s was accepted", assignment);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  va_list args;
  va_start (args, assignment);
  for (const char *s = va_arg (args, const char *); s; s = va_arg (args, const char *))
    if (strstr (error->message, s) == NULL)
      g_error ("%s: “%s” does not mention “%s”", assignment, error->message, s);
  va_end (args);
  g_autofree char *after = hone_recipe_to_data (r, NULL);
  g_assert_cmpstr (before, ==, after);
}

static void
assert_strv_equal (char **a, char **b)
{
  guint na = a ? g_strv_length (a) : 0, nb = b ? g_strv_length (b) : 0;
  g_assert_cmpuint (na, ==, nb);
  for (guint i = 0; i < na; i++)
    g_assert_cmpstr (a[i], ==, b[i]);
}

/* Field by field, written independently of the recipe's own formatting. */
static void
assert_recipes_equal (const HoneRecipe *a, const HoneRecipe *b)
{
  g_assert_cmpstr (a->arch, ==, b->arch);
  g_assert_cmpstr (a->source, ==, b->source);
  g_assert_cmpstr (a->weights, ==, b->weights);
  g_assert_cmpint (a->classes, ==, b->classes);
  g_assert_cmpint (a->channels, ==, b->channels);
  g_assert_cmpint (a->height, ==, b->height);
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpmem (a->mean, sizeof a->mean, b->mean, sizeof b->mean);
  g_assert_cmpmem (a->std, sizeof a->std, b->std, sizeof b->std);
  g_assert_cmpint (a->replace_head, ==, b->replace_head);
  g_assert_true (a->dropout == b->dropout);

  g_assert_cmpstr (a->data_source, ==, b->data_source);
  g_assert_cmpstr (a->val_source, ==, b->val_source);
  g_assert_true (a->val_split == b->val_split);
  g_assert_true (a->test_split == b->test_split);
  g_assert_cmpint (a->kfold, ==, b->kfold);
  g_assert_cmpint (a->fold, ==, b->fold);
  g_assert_cmpint (a->shuffle, ==, b->shuffle);
  g_assert_cmpint (a->balanced, ==, b->balanced);
  g_assert_cmpint (a->limit, ==, b->limit);
  g_assert_cmpint (a->loader_threads, ==, b->loader_threads);

  g_assert_cmpint (a->augment_enabled, ==, b->augment_enabled);
  g_assert_cmpmem (&a->augment, sizeof a->augment, &b->augment, sizeof b->augment);

  g_assert_cmpint (a->epochs, ==, b->epochs);
  g_assert_cmpint (a->batch, ==, b->batch);
  g_assert_cmpint (a->accum, ==, b->accum);
  g_assert_cmpuint (a->seed, ==, b->seed);
  g_assert_cmpint (a->deterministic, ==, b->deterministic);
  g_assert_cmpint (a->threads, ==, b->threads);
  g_assert_cmpint (a->val_every, ==, b->val_every);
  g_assert_cmpint (a->checkpoint_every, ==, b->checkpoint_every);

  g_assert_cmpint (a->optimizer.kind, ==, b->optimizer.kind);
  g_assert_true (a->optimizer.momentum == b->optimizer.momentum);
  g_assert_true (a->optimizer.dampening == b->optimizer.dampening);
  g_assert_cmpint (a->optimizer.nesterov, ==, b->optimizer.nesterov);
  g_assert_true (a->optimizer.beta1 == b->optimizer.beta1);
  g_assert_true (a->optimizer.beta2 == b->optimizer.beta2);
  g_assert_true (a->optimizer.eps == b->optimizer.eps);
  g_assert_true (a->optimizer.weight_decay == b->optimizer.weight_decay);
  g_assert_true (a->optimizer.l1 == b->optimizer.l1);
  g_assert_true (a->optimizer.clip_norm == b->optimizer.clip_norm);
  g_assert_true (a->lr == b->lr);

  const HoneRecipeSchedule *sa = &a->schedule, *sb = &b->schedule;
  g_assert_cmpint (sa->kind, ==, sb->kind);
  g_assert_true (sa->gamma == sb->gamma);
  g_assert_true (sa->step_epochs == sb->step_epochs);
  g_assert_cmpint (sa->n_milestones, ==, sb->n_milestones);
  for (int i = 0; i < sa->n_milestones; i++)
    g_assert_true (sa->milestones[i] == sb->milestones[i]);
  g_assert_true (sa->cycle_epochs == sb->cycle_epochs);
  g_assert_cmpint (sa->cycle_mult, ==, sb->cycle_mult);
  g_assert_true (sa->eta_min == sb->eta_min);
  g_assert_true (sa->power == sb->power);
  g_assert_true (sa->end_lr == sb->end_lr);
  g_assert_true (sa->pct_start == sb->pct_start);
  g_assert_cmpint (sa->anneal, ==, sb->anneal);
  g_assert_true (sa->div_factor == sb->div_factor);
  g_assert_true (sa->final_div_factor == sb->final_div_factor);
  g_assert_cmpint (sa->three_phase, ==, sb->three_phase);
  g_assert_true (sa->factor == sb->factor);
  g_assert_cmpint (sa->patience, ==, sb->patience);
  g_assert_true (sa->threshold == sb->threshold);
  g_assert_cmpint (sa->cooldown, ==, sb->cooldown);
  g_assert_true (sa->min_lr == sb->min_lr);
  g_assert_cmpint (sa->warmup, ==, sb->warmup);
  g_assert_true (sa->warmup_epochs == sb->warmup_epochs);
  g_assert_true (sa->warmup_start_factor == sb->warmup_start_factor);

  g_assert_cmpint (a->loss.kind, ==, b->loss.kind);
  g_assert_true (a->loss.label_smoothing == b->loss.label_smoothing);
  g_assert_true (a->loss.focal_gamma == b->loss.focal_gamma);
  g_assert_cmpint (a->class_weights, ==, b->class_weights);

  g_assert_cmpint (a->freeze_mode, ==, b->freeze_mode);
  g_assert_cmpint (a->freeze_blocks, ==, b->freeze_blocks);
  assert_strv_equal (a->freeze_list, b->freeze_list);
  g_assert_true (a->lr_decay == b->lr_decay);
  assert_strv_equal (a->lr_mults, b->lr_mults);
  g_assert_cmpint (a->n_unfreeze, ==, b->n_unfreeze);
  for (int i = 0; i < a->n_unfreeze; i++)
    {
      g_assert_cmpint (a->unfreeze_epoch[i], ==, b->unfreeze_epoch[i]);
      g_assert_cmpstr (a->unfreeze_what[i], ==, b->unfreeze_what[i]);
    }

  g_assert_cmpint (a->early_stopping, ==, b->early_stopping);
  g_assert_cmpint (a->stop_metric, ==, b->stop_metric);
  g_assert_cmpint (a->patience, ==, b->patience);
  g_assert_true (a->min_delta == b->min_delta);
  g_assert_cmpint (a->restore_best, ==, b->restore_best);
}

/* A non-default value for every key, as set and as read back. */
typedef struct
{
  const char *key;
  const char *value;
  const char *canonical;
} Sample;

static const Sample samples[] = {
  { "model.arch", "ResNet18", "resnet18" },
  { "model.source", "models/net one.onnx", "models/net one.onnx" },
  { "model.weights", "w/pre trained.safetensors", "w/pre trained.safetensors" },
  { "model.classes", "7", "7" },
  { "model.input", "3x64x48", "3x64x48" },
  { "model.mean", "0.485, 0.456, 0.406", "0.485,0.456,0.406" },
  { "model.std", "0.229,0.224,0.225", "0.229,0.224,0.225" },
  { "model.replace_head", "true", "true" },
  { "model.dropout", "0.25", "0.25" },
  { "data.source", "/data/photos", "/data/photos" },
  { "data.val_source", "/data/val", "/data/val" },
  { "data.val_split", "0.25", "0.25" },
  { "data.test_split", "0.15", "0.15" },
  { "data.kfold", "5", "5" },
  { "data.fold", "3", "3" },
  { "data.shuffle", "false", "false" },
  { "data.balanced", "yes", "true" },
  { "data.limit", "500", "500" },
  { "data.loader_threads", "3", "3" },
  { "augment.enabled", "off", "false" },
  { "augment.hflip", "0", "0" },
  { "augment.vflip", "0.5", "0.5" },
  { "augment.rotate", "15", "15" },
  { "augment.scale_min", "0.8", "0.8" },
  { "augment.scale_max", "1.25", "1.25" },
  { "augment.translate", "0.1", "0.1" },
  { "augment.crop_scale_min", "0.08", "0.08" },
  { "augment.brightness", "0.4", "0.4" },
  { "augment.contrast", "0.3", "0.3" },
  { "augment.saturation", "0.2", "0.2" },
  { "augment.hue", "0.05", "0.05" },
  { "augment.cutout", "0.25", "0.25" },
  { "augment.mixup_alpha", "0.2", "0.2" },
  { "augment.cutmix_alpha", "1.0", "1" },
  { "train.epochs", "12", "12" },
  { "train.batch", "32", "32" },
  { "train.accum", "4", "4" },
  { "train.seed", "18446744073709551615", "18446744073709551615" },
  { "train.deterministic", "TRUE", "true" },
  { "train.threads", "2", "2" },
  { "train.val_every", "100", "100" },
  { "train.checkpoint_every", "3", "3" },
  { "optimizer.name", "AdamW", "adamw" },
  { "optimizer.lr", "3e-4", "0.0003" },
  { "optimizer.momentum", "0.5", "0.5" },
  { "optimizer.dampening", "0.1", "0.1" },
  { "optimizer.nesterov", "true", "true" },
  { "optimizer.beta1", "0.8", "0.8" },
  { "optimizer.beta2", "0.99", "0.99" },
  { "optimizer.eps", "1e-06", "1e-6" },
  { "optimizer.weight_decay", "0.05", "0.05" },
  { "optimizer.l1", "0.00001", "1e-5" },
  { "optimizer.clip_norm", "5", "5" },
  { "schedule.name", "onecycle", "onecycle" },
  { "schedule.gamma", "0.5", "0.5" },
  { "schedule.step_epochs", "1.5", "1.5" },
  { "schedule.milestones", "3, 6.5", "3,6.5" },
  { "schedule.cycle_epochs", "2", "2" },
  { "schedule.cycle_mult", "2", "2" },
  { "schedule.eta_min", "0.0001", "0.0001" },
  { "schedule.power", "2", "2" },
  { "schedule.end_lr", "1e-7", "1e-7" },
  { "schedule.pct_start", "0.25", "0.25" },
  { "schedule.anneal", "linear", "linear" },
  { "schedule.div_factor", "10", "10" },
  { "schedule.final_div_factor", "100", "100" },
  { "schedule.three_phase", "true", "true" },
  { "schedule.factor", "0.5", "0.5" },
  { "schedule.patience", "4", "4" },
  { "schedule.threshold", "0.01", "0.01" },
  { "schedule.cooldown", "1", "1" },
  { "schedule.min_lr", "1e-6", "1e-6" },
  { "schedule.warmup", "cosine", "cosine" },
  { "schedule.warmup_epochs", "0.5", "0.5" },
  { "schedule.warmup_start_factor", "0", "0" },
  { "freeze.mode", "head", "head" },
  { "freeze.blocks", "2", "2" },
  { "freeze.list", " stem , layer1 ", "stem,layer1" },
  { "layers.lr_decay", "0.5", "0.5" },
  { "layers.lr_mult", "layer4=0.5, fc = 2", "layer4=0.5,fc=2" },
  { "layers.unfreeze", "2:layer4,layer3.1, 4:layer2", "2:layer4,layer3.1,4:layer2" },
  { "loss.name", "focal", "focal" },
  { "loss.label_smoothing", "0.1", "0.1" },
  { "loss.focal_gamma", "1.5", "1.5" },
  { "loss.class_weights", "1", "true" },
  { "stop.early", "true", "true" },
  { "stop.metric", "val_accuracy", "val_accuracy" },
  { "stop.patience", "5", "5" },
  { "stop.min_delta", "0.001", "0.001" },
  { "stop.restore_best", "false", "false" },
};

/* Every sample applied in order, then what makes the whole valid. */
static HoneRecipe *
make_full_recipe (void)
{
  HoneRecipe *r = hone_recipe_new ();
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    if (strcmp (samples[i].key, "model.source") != 0)
      {
        g_autofree char *a = g_strdup_printf ("%s=%s", samples[i].key, samples[i].value);
        set_ok (r, a);
      }
  set_ok (r, "data.val_source=");      /* kfold validates instead */
  set_ok (r, "optimizer.dampening=0"); /* nesterov needs it */
  return r;
}

static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("hone-recipe-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_dir_close (d);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* ---- the key table -------------------------------------------------------- */

static void
test_keys (void)
{
  static const char *const groups[] = {
    "model", "data", "augment", "train", "optimizer", "schedule", "freeze", "layers", "loss",
    "stop", NULL,
  };
  const HoneRecipeKey *keys = hone_recipe_keys ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  int group = 0, n = 0;
  for (const HoneRecipeKey *k = keys; k->key; k++, n++)
    {
      g_assert_false (g_hash_table_contains (seen, k->key));
      g_hash_table_add (seen, (gpointer) k->key);
      /* Groups come in file order, each in one run. */
      const char *dot = strchr (k->key, '.');
      g_assert_nonnull (dot);
      g_autofree char *g = g_strndup (k->key, dot - k->key);
      while (groups[group] && strcmp (groups[group], g) != 0)
        group++;
      if (groups[group] == NULL)
        g_error ("%s: group out of order or unknown", k->key);
      g_assert_true (hone_recipe_find_key (k->key) == k);
      g_assert_nonnull (k->default_text);
      g_assert_true (k->range && *k->range);
      g_assert_true (k->help && strlen (k->help) > 20);
      g_assert_true (g_str_has_suffix (k->help, "."));
      g_assert_true ((k->type == HONE_RECIPE_CHOICE) == (k->choices != NULL));
      if (k->type == HONE_RECIPE_INT || k->type == HONE_RECIPE_DOUBLE)
        g_assert_true (k->min < k->max);
    }
  g_assert_cmpint (n, ==, G_N_ELEMENTS (samples));
  g_assert_null (hone_recipe_find_key ("optimizer.learning_rate"));

  /* model.arch offers exactly the built-in architectures. */
  const HoneRecipeKey *arch = hone_recipe_find_key ("model.arch");
  const HoneArchInfo *const *list = hone_arch_list ();
  int i = 0;
  for (; list[i]; i++)
    {
      g_assert_cmpstr (arch->choices[i], ==, list[i]->name);
      g_assert_nonnull (strstr (arch->range, list[i]->name));
    }
  g_assert_null (arch->choices[i]);

  const HoneRecipeKey *lr = hone_recipe_find_key ("optimizer.lr");
  g_assert_cmpstr (lr->range, ==, "a value above 0 up to 10");
  g_assert_true (lr->min_open && !lr->max_open && lr->min == 0.0 && lr->max == 10.0);
  const HoneRecipeKey *kfold = hone_recipe_find_key ("data.kfold");
  g_assert_true (kfold->zero_allowed);
}

/* ---- defaults ------------------------------------------------------------- */

static void
test_defaults (void)
{
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  assert_valid (r);

  /* the default fine-tunes the zoo's cnn-s (classes 0-4) on classes 5-9 */
  g_assert_null (r->arch);
  g_assert_cmpstr (r->source, ==, "zoo:cnn-s-fmnist0-4");
  g_assert_null (r->weights);
  g_assert_cmpstr (r->data_source, ==, "fmnist:5-9");
  g_assert_cmpint (r->epochs, ==, 5);
  g_assert_cmpint (r->batch, ==, 64);
  g_assert_cmpint (r->accum, ==, 1);
  g_assert_cmpint (r->checkpoint_every, ==, 1);
  g_assert_cmpint (r->optimizer.kind, ==, HONE_OPTIM_SGD);
  g_assert_cmpfloat (r->lr, ==, 0.01);
  g_assert_cmpfloat (r->optimizer.momentum, ==, 0.9);
  g_assert_cmpfloat (r->optimizer.weight_decay, ==, 5e-4);
  g_assert_cmpfloat (r->optimizer.eps, ==, 1e-8);
  g_assert_cmpint (r->schedule.kind, ==, HONE_SCHEDULE_COSINE);
  g_assert_cmpint (r->schedule.warmup, ==, HONE_WARMUP_LINEAR);
  g_assert_cmpfloat (r->schedule.warmup_epochs, ==, 1.0);
  g_assert_cmpint (r->freeze_mode, ==, HONE_FREEZE_LAST);
  g_assert_cmpint (r->freeze_blocks, ==, 1);
  g_assert_cmpint (r->loss.kind, ==, HONE_LOSS_CROSS_ENTROPY);
  g_assert_null (r->loss.class_weights);
  g_assert_true (r->shuffle && r->augment_enabled && r->restore_best);
  g_assert_false (r->early_stopping);
  g_assert_cmpfloat (r->lr_decay, ==, 1.0);
  g_assert_cmpint (r->n_unfreeze, ==, 0);
  g_assert_cmpfloat (r->std[0], ==, 0.0f);

  /* The table's default texts are what a new recipe holds. */
  for (const HoneRecipeKey *k = hone_recipe_keys (); k->key; k++)
    {
      g_autofree char *v = get (r, k->key);
      g_assert_cmpstr (v, ==, k->default_text);
    }

  /* And they are valid as optimizer settings and as a schedule. */
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_optim_config_validate (&r->optimizer, &error));
  g_assert_no_error (error);
  HoneSchedule s;
  hone_recipe_schedule (r, 100, &s);
  g_assert_true (hone_schedule_validate (&s, &error));
  g_assert_no_error (error);
}

/* ---- setting every key ---------------------------------------------------- */

static void
test_set_every_key (void)
{
  /* The samples cover every key. */
  for (const HoneRecipeKey *k = hone_recipe_keys (); k->key; k++)
    {
      guint i = 0;
      while (i < G_N_ELEMENTS (samples) && strcmp (samples[i].key, k->key) != 0)
        i++;
      if (i == G_N_ELEMENTS (samples))
        g_error ("no sample value for %s", k->key);
      g_assert_cmpstr (samples[i].canonical, !=, k->default_text);
    }

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr (HoneRecipe) r = hone_recipe_new ();
      g_autofree char *a = g_strdup_printf ("  %s =  %s", samples[i].key, samples[i].value);
      set_ok (r, a);
      g_autofree char *v = get (r, samples[i].key);
      g_assert_cmpstr (v, ==, samples[i].canonical);
      /* The canonical form sets the same value. */
      g_autoptr (HoneRecipe) r2 = hone_recipe_new ();
      g_autofree char *a2 = g_strdup_printf ("%s=%s", samples[i].key, samples[i].canonical);
      set_ok (r2, a2);
      assert_recipes_equal (r, r2);
    }

  /* The values land in the struct where the trainer reads them. */
  g_autoptr (HoneRecipe) r = make_full_recipe ();
  assert_valid (r);
  g_assert_cmpstr (r->arch, ==, "resnet18");
  g_assert_null (r->source);
  g_assert_cmpstr (r->weights, ==, "w/pre trained.safetensors");
  g_assert_cmpint (r->classes, ==, 7);
  g_assert_cmpint (r->channels, ==, 3);
  g_assert_cmpint (r->height, ==, 64);
  g_assert_cmpint (r->width, ==, 48);
  g_assert_cmpfloat (r->mean[0], ==, 0.485f);
  g_assert_cmpfloat (r->mean[2], ==, 0.406f);
  g_assert_cmpfloat (r->mean[3], ==, 0.0f);
  g_assert_cmpfloat (r->std[1], ==, 0.224f);
  g_assert_true (r->replace_head);
  g_assert_cmpfloat (r->dropout, ==, 0.25);
  g_assert_cmpstr (r->data_source, ==, "/data/photos");
  g_assert_null (r->val_source);
  g_assert_cmpfloat (r->val_split, ==, 0.25);
  g_assert_cmpfloat (r->test_split, ==, 0.15);
  g_assert_cmpint (r->kfold, ==, 5);
  g_assert_cmpint (r->fold, ==, 3);
  g_assert_false (r->shuffle);
  g_assert_true (r->balanced);
  g_assert_cmpint (r->limit, ==, 500);
  g_assert_cmpint (r->loader_threads, ==, 3);
  g_assert_false (r->augment_enabled);
  g_assert_cmpfloat (r->augment.hflip, ==, 0.0);
  g_assert_cmpfloat (r->augment.vflip, ==, 0.5);
  g_assert_cmpfloat (r->augment.rotate, ==, 15.0);
  g_assert_cmpfloat (r->augment.scale_min, ==, 0.8);
  g_assert_cmpfloat (r->augment.scale_max, ==, 1.25);
  g_assert_cmpfloat (r->augment.translate, ==, 0.1);
  g_assert_cmpfloat (r->augment.crop_scale_min, ==, 0.08);
  g_assert_cmpfloat (r->augment.brightness, ==, 0.4);
  g_assert_cmpfloat (r->augment.contrast, ==, 0.3);
  g_assert_cmpfloat (r->augment.saturation, ==, 0.2);
  g_assert_cmpfloat (r->augment.hue, ==, 0.05);
  g_assert_cmpfloat (r->augment.cutout, ==, 0.25);
  g_assert_cmpfloat (r->augment.mixup_alpha, ==, 0.2);
  g_assert_cmpfloat (r->augment.cutmix_alpha, ==, 1.0);
  g_assert_cmpint (r->epochs, ==, 12);
  g_assert_cmpint (r->batch, ==, 32);
  g_assert_cmpint (r->accum, ==, 4);
  g_assert_cmpuint (r->seed, ==, G_MAXUINT64);
  g_assert_true (r->deterministic);
  g_assert_cmpint (r->threads, ==, 2);
  g_assert_cmpint (r->val_every, ==, 100);
  g_assert_cmpint (r->checkpoint_every, ==, 3);
  g_assert_cmpint (r->optimizer.kind, ==, HONE_OPTIM_ADAMW);
  g_assert_cmpfloat (r->lr, ==, 3e-4);
  g_assert_cmpfloat (r->optimizer.momentum, ==, 0.5);
  g_assert_cmpfloat (r->optimizer.dampening, ==, 0.0);
  g_assert_true (r->optimizer.nesterov);
  g_assert_cmpfloat (r->optimizer.beta1, ==, 0.8);
  g_assert_cmpfloat (r->optimizer.beta2, ==, 0.99);
  g_assert_cmpfloat (r->optimizer.eps, ==, 1e-6);
  g_assert_cmpfloat (r->optimizer.weight_decay, ==, 0.05);
  g_assert_cmpfloat (r->optimizer.l1, ==, 1e-5);
  g_assert_cmpfloat (r->optimizer.clip_norm, ==, 5.0);
  const HoneRecipeSchedule *s = &r->schedule;
  g_assert_cmpint (s->kind, ==, HONE_SCHEDULE_ONE_CYCLE);
  g_assert_cmpfloat (s->gamma, ==, 0.5);
  g_assert_cmpfloat (s->step_epochs, ==, 1.5);
  g_assert_cmpint (s->n_milestones, ==, 2);
  g_assert_cmpfloat (s->milestones[0], ==, 3.0);
  g_assert_cmpfloat (s->milestones[1], ==, 6.5);
  g_assert_cmpfloat (s->cycle_epochs, ==, 2.0);
  g_assert_cmpint (s->cycle_mult, ==, 2);
  g_assert_cmpfloat (s->eta_min, ==, 1e-4);
  g_assert_cmpfloat (s->power, ==, 2.0);
  g_assert_cmpfloat (s->end_lr, ==, 1e-7);
  g_assert_cmpfloat (s->pct_start, ==, 0.25);
  g_assert_cmpint (s->anneal, ==, HONE_ANNEAL_LINEAR);
  g_assert_cmpfloat (s->div_factor, ==, 10.0);
  g_assert_cmpfloat (s->final_div_factor, ==, 100.0);
  g_assert_true (s->three_phase);
  g_assert_cmpfloat (s->factor, ==, 0.5);
  g_assert_cmpint (s->patience, ==, 4);
  g_assert_cmpfloat (s->threshold, ==, 0.01);
  g_assert_cmpint (s->cooldown, ==, 1);
  g_assert_cmpfloat (s->min_lr, ==, 1e-6);
  g_assert_cmpint (s->warmup, ==, HONE_WARMUP_COSINE);
  g_assert_cmpfloat (s->warmup_epochs, ==, 0.5);
  g_assert_cmpfloat (s->warmup_start_factor, ==, 0.0);
  g_assert_cmpint (r->freeze_mode, ==, HONE_FREEZE_HEAD);
  g_assert_cmpint (r->freeze_blocks, ==, 2);
  const char *const freeze_want[] = { "stem", "layer1", NULL };
  assert_strv_equal (r->freeze_list, (char **) freeze_want);
  g_assert_cmpfloat (r->lr_decay, ==, 0.5);
  const char *const mult_want[] = { "layer4=0.5", "fc=2", NULL };
  assert_strv_equal (r->lr_mults, (char **) mult_want);
  g_assert_cmpint (r->n_unfreeze, ==, 2);
  g_assert_cmpint (r->unfreeze_epoch[0], ==, 2);
  g_assert_cmpstr (r->unfreeze_what[0], ==, "layer4,layer3.1");
  g_assert_cmpint (r->unfreeze_epoch[1], ==, 4);
  g_assert_cmpstr (r->unfreeze_what[1], ==, "layer2");
  g_assert_null (r->unfreeze_what[2]);
  g_assert_cmpint (r->loss.kind, ==, HONE_LOSS_FOCAL);
  g_assert_cmpfloat (r->loss.label_smoothing, ==, 0.1);
  g_assert_cmpfloat (r->loss.focal_gamma, ==, 1.5);
  g_assert_true (r->class_weights);
  g_assert_true (r->early_stopping);
  g_assert_cmpint (r->stop_metric, ==, HONE_STOP_VAL_ACCURACY);
  g_assert_cmpint (r->patience, ==, 5);
  g_assert_cmpfloat (r->min_delta, ==, 0.001);
  g_assert_false (r->restore_best);

  /* One value for every channel; an explicit list keeps its zeros. */
  set_ok (r, "model.std=0.5");
  for (int c = 0; c < 4; c++)
    g_assert_cmpfloat (r->std[c], ==, 0.5f);
  set_ok (r, "model.mean=0.5,0");
  g_assert_cmpfloat (r->mean[0], ==, 0.5f);
  g_assert_cmpfloat (r->mean[1], ==, 0.0f);
  g_autofree char *mean = get (r, "model.mean");
  g_assert_cmpstr (mean, ==, "0.5,0");

  /* model.arch and model.source exclude each other. */
  set_ok (r, "model.source=net.onnx");
  g_assert_null (r->arch);
  g_assert_cmpstr (r->source, ==, "net.onnx");
  set_ok (r, "model.arch=cnn-s");
  g_assert_null (r->source);
  g_assert_cmpstr (r->arch, ==, "cnn-s");

  /* Lists can be emptied. */
  set_ok (r, "layers.unfreeze=");
  g_assert_cmpint (r->n_unfreeze, ==, 0);
  g_assert_null (r->unfreeze_what[0]);
  set_ok (r, "freeze.list=");
  g_assert_null (r->freeze_list[0]);

  /* The value is everything after the first '='. */
  set_ok (r, "data.source=a=b.csv");
  g_assert_cmpstr (r->data_source, ==, "a=b.csv");
}

/* ---- range errors --------------------------------------------------------- */

static char *
number_text (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.17g", v));
}

static void
test_range_errors (void)
{
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  int n_checked = 0;
  for (const HoneRecipeKey *k = hone_recipe_keys (); k->key; k++)
    {
      if (k->type != HONE_RECIPE_INT && k->type != HONE_RECIPE_DOUBLE)
        continue;
      g_autofree char *below = NULL, *above = NULL, *lo_ok = NULL, *hi_ok = NULL;
      if (k->type == HONE_RECIPE_INT)
        {
          below = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) k->min - 1);
          above = k->max >= 1.8e19 ? g_strdup ("18446744073709551616")
                                   : g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) k->max + 1);
          lo_ok = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) k->min);
          hi_ok = k->max >= 1.8e19 ? g_strdup ("18446744073709551615")
                                   : g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) k->max);
        }
      else
        {
          double delta = (k->max - k->min) * 1e-3;
          below = number_text (k->min_open ? k->min : k->min - delta);
          above = number_text (k->max_open ? k->max : k->max + delta);
          lo_ok = number_text (k->min_open ? k->min + delta : k->min);
          hi_ok = number_text (k->max_open ? k->max - delta : k->max);
        }
      g_autofree char *a_below = g_strdup_printf ("%s=%s", k->key, below);
      g_autofree char *a_above = g_strdup_printf ("%s=%s", k->key, above);
      g_autofree char *want_below = g_strdup_printf ("%s = %s is out of range: use %s", k->key,
                                                     below, k->range);
      g_autofree char *want_above = g_strdup_printf ("%s = %s is out of range: use %s", k->key,
                                                     above, k->range);
      assert_set_fails (r, a_below, want_below, NULL);
      assert_set_fails (r, a_above, want_above, NULL);
      if (k->zero_allowed)
        {
          g_autofree char *a_neg = g_strdup_printf ("%s=-1", k->key);
          assert_set_fails (r, a_neg, k->key, "out of range", NULL);
        }
      if (k->zero_allowed && k->min > 1)
        {
          /* Between 0 and min. */
          g_autofree char *a_gap = g_strdup_printf ("%s=1", k->key);
          assert_set_fails (r, a_gap, k->key, "out of range", NULL);
        }

      /* The limits themselves (or just inside them) are accepted. */
      g_autoptr (HoneRecipe) r2 = hone_recipe_new ();
      g_autofree char *a_lo = g_strdup_printf ("%s=%s", k->key, lo_ok);
      g_autofree char *a_hi = g_strdup_printf ("%s=%s", k->key, hi_ok);
      set_ok (r2, a_lo);
      set_ok (r2, a_hi);

      /* Not a number at all. */
      g_autofree char *a_word = g_strdup_printf ("%s=lots", k->key);
      assert_set_fails (r, a_word, k->key, "lots", k->range, NULL);
      g_autofree char *a_empty = g_strdup_printf ("%s=", k->key);
      assert_set_fails (r, a_empty, k->key, "is empty", NULL);
      if (k->type == HONE_RECIPE_DOUBLE)
        {
          g_autofree char *a_nan = g_strdup_printf ("%s=nan", k->key);
          g_autofree char *a_inf = g_strdup_printf ("%s=inf", k->key);
          g_autofree char *a_huge = g_strdup_printf ("%s=1e400", k->key);
          g_autofree char *a_tail = g_strdup_printf ("%s=0.5x", k->key);
          assert_set_fails (r, a_nan, k->key, "out of range", NULL);
          assert_set_fails (r, a_inf, k->key, "out of range", NULL);
          assert_set_fails (r, a_huge, k->key, "out of range", NULL);
          assert_set_fails (r, a_tail, k->key, "not a number", NULL);
        }
      else
        {
          g_autofree char *a_frac = g_strdup_printf ("%s=2.5", k->key);
          assert_set_fails (r, a_frac, k->key, "not a whole number", NULL);
        }
      n_checked++;
    }
  g_assert_cmpint (n_checked, >, 50);

  /* The issue's own example. */
  assert_set_fails (r, "optimizer.lr=-1",
                    "optimizer.lr = -1 is out of range: use a value above 0 up to 10", NULL);

  /* Lists of numbers: one item below and one above. */
  static const char *const list_cases[][2] = {
    { "model.mean", "-0.1" }, { "model.mean", "0.5,1.5" },
    { "model.std", "0" }, { "model.std", "0.2,10.5" },
    { "schedule.milestones", "0" }, { "schedule.milestones", "2,10001" },
    { "layers.lr_mult", "fc=-1" }, { "layers.lr_mult", "fc=101" },
    { "layers.unfreeze", "0:layer4" }, { "layers.unfreeze", "10001:layer4" },
    { "model.input", "0x28x28" }, { "model.input", "1x28x4097" },
    { "model.input", "1025x28x28" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (list_cases); i++)
    {
      g_autofree char *a = g_strdup_printf ("%s=%s", list_cases[i][0], list_cases[i][1]);
      const HoneRecipeKey *k = hone_recipe_find_key (list_cases[i][0]);
      assert_set_fails (r, a, list_cases[i][0], list_cases[i][1], k->range, NULL);
    }

  /* Malformed lists. */
  assert_set_fails (r, "model.mean=0.1,,0.2", "model.mean", "empty item", NULL);
  assert_set_fails (r, "model.mean=0.1,0.2,0.3,0.4,0.5", "model.mean", "too many", NULL);
  assert_set_fails (r, "model.input=3x28", "model.input", "CxHxW", NULL);
  assert_set_fails (r, "model.input=3xax28", "model.input", "CxHxW", NULL);
  assert_set_fails (r, "schedule.milestones=4,2", "schedule.milestones", "not increasing", NULL);
  assert_set_fails (r, "schedule.milestones=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
                    "schedule.milestones", "too many", NULL);
  assert_set_fails (r, "layers.lr_mult=fc", "layers.lr_mult", "prefix=multiplier", NULL);
  assert_set_fails (r, "layers.lr_mult==2", "layers.lr_mult", "prefix=multiplier", NULL);
  assert_set_fails (r, "layers.unfreeze=layer4", "layers.unfreeze", "start with an epoch", NULL);
  assert_set_fails (r, "layers.unfreeze=2:", "layers.unfreeze", "without a layer", NULL);
  assert_set_fails (r, "layers.unfreeze=x:layer4", "layers.unfreeze", "EPOCH:prefix", NULL);
  assert_set_fails (r, "layers.unfreeze=4:layer3,2:layer4", "layers.unfreeze", "increase", NULL);
  assert_set_fails (r, "layers.unfreeze=2:a,2:b", "layers.unfreeze", "increase", NULL);
  assert_set_fails (r, "freeze.list=stem,", "freeze.list", "empty item", NULL);
  {
    GString *many = g_string_new ("layers.unfreeze=");
    for (int i = 1; i <= HONE_RECIPE_MAX_UNFREEZE + 1; i++)
      g_string_append_printf (many, "%s%d:b%d", i > 1 ? "," : "", i, i);
    assert_set_fails (r, many->str, "layers.unfreeze", "too many", NULL);
    g_string_free (many, TRUE);
  }

  /* Choices, with the nearest word suggested. */
  assert_set_fails (r, "optimizer.name=rmsprop", "optimizer.name = rmsprop",
                    "sgd, adam, adamw", NULL);
  assert_set_fails (r, "optimizer.name=adamm", "optimizer.name", "did you mean adam", NULL);
  assert_set_fails (r, "schedule.name=one_cycle", "schedule.name", "did you mean onecycle",
                    NULL);
  assert_set_fails (r, "freeze.mode=all", "freeze.mode", "none, head, last, first, list", NULL);
  assert_set_fails (r, "stop.metric=", "stop.metric is empty", NULL);
  assert_set_fails (r, "model.arch=resnet-18", "model.arch", "did you mean resnet18", NULL);
  assert_set_fails (r, "model.arch=vgg16", "model.arch = vgg16", "mobilenet_v2", NULL);
  assert_set_fails (r, "augment.enabled=maybe", "augment.enabled = maybe",
                    "true or false", NULL);
  assert_set_fails (r, "data.source=", "data.source is empty", NULL);

  /* Not an assignment; not UTF-8. */
  assert_set_fails (r, "optimizer.lr", "optimizer.lr", "group.key=value", NULL);
  assert_set_fails (r, "data.source=\xff\xfe", "UTF-8", NULL);

  /* Values set in the struct directly are checked by validate the same way. */
  g_autoptr (HoneRecipe) d = hone_recipe_new ();
  d->lr = -1;
  assert_invalid (d, "optimizer.lr = -1 is out of range: use a value above 0 up to 10", NULL);
  d->lr = NAN;
  assert_invalid (d, "optimizer.lr = nan is out of range", NULL);
  d->lr = 0.01;
  d->schedule.kind = 42;
  assert_invalid (d, "schedule.name = 42", "cosine", NULL);
  d->schedule.kind = HONE_SCHEDULE_COSINE;
  d->epochs = 0;
  assert_invalid (d, "train.epochs = 0 is out of range", NULL);
  d->epochs = 5;
  d->augment.rotate = 200;
  assert_invalid (d, "augment.rotate = 200 is out of range: use a value from 0 to 180", NULL);
  d->augment.rotate = 0;
  d->channels = 3;
  assert_invalid (d, "model.input = 3x0x0", NULL);
  d->channels = 0;
  g_strfreev (d->freeze_list);
  d->freeze_list = g_strsplit ("a,b", ";", -1);
  assert_invalid (d, "freeze.list has an item “a,b”", NULL);
  d->freeze_list[0][1] = '\0';
  assert_valid (d);
  g_strfreev (d->lr_mults);
  d->lr_mults = g_strsplit (" fc=2", ";", -1);
  assert_invalid (d, "layers.lr_mult has an item “ fc=2”", NULL);
  g_strfreev (d->lr_mults);
  d->lr_mults = g_strsplit ("fc=2.50", ";", -1);
  assert_invalid (d, "layers.lr_mult = fc=2.50 cannot be written", "fc=2.5", NULL);
  g_strfreev (d->lr_mults);
  d->lr_mults = NULL;
  g_strfreev (d->freeze_list);
  d->freeze_list = NULL;
  d->n_unfreeze = 99;
  assert_invalid (d, "layers.unfreeze has 99", NULL);
  d->n_unfreeze = 0;
  assert_valid (d);
}

/* ---- unknown keys --------------------------------------------------------- */

static void
test_unknown_keys (void)
{
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  assert_set_fails (r, "optimizer.lrr=0.1", "optimizer.lrr is not a recipe key",
                    "did you mean optimizer.lr?", NULL);
  assert_set_fails (r, "optimiser.lr=0.1", "optimiser.lr", "did you mean optimizer.lr?", NULL);
  assert_set_fails (r, "train.lr=0.1", "train.lr", "did you mean optimizer.lr?", NULL);
  assert_set_fails (r, "data.val_splits=0.1", "did you mean data.val_split?", NULL);
  assert_set_fails (r, "patience=3", "schedule.patience or stop.patience", NULL);
  /* Nothing close: the group's keys, or the groups. */
  assert_set_fails (r, "optimizer.learning_rate=0.1", "optimizer.learning_rate",
                    "[optimizer] has name, lr, momentum", NULL);
  assert_set_fails (r, "wibble.wobble=1", "wibble.wobble is not a recipe key",
                    "model, data, augment", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (hone_recipe_get (r, "optimizer.rate", &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
}

/* ---- files ---------------------------------------------------------------- */

static void
test_round_trip (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "run.hone", NULL);

  /* Defaults, then every key away from its default. */
  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr (HoneRecipe) r = pass == 0 ? hone_recipe_new () : make_full_recipe ();
      g_autoptr (GError) error = NULL;
      g_assert_true (hone_recipe_save (r, path, &error));
      g_assert_no_error (error);
      g_autoptr (HoneRecipe) back = hone_recipe_load (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (back);
      assert_recipes_equal (r, back);
      g_autofree char *a = hone_recipe_to_data (r, NULL);
      g_autofree char *b = hone_recipe_to_data (back, NULL);
      g_assert_cmpstr (a, ==, b);

      /* Saving replaced the file without leaving anything beside it. */
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      g_assert_cmpstr (g_dir_read_name (d), ==, "run.hone");
      g_assert_null (g_dir_read_name (d));
    }

  /* Every key is in the file, under its group, with its help as a comment. */
  g_autoptr (HoneRecipe) r = make_full_recipe ();
  gsize length = 0;
  g_autofree char *data = hone_recipe_to_data (r, &length);
  g_assert_cmpuint (length, ==, strlen (data));
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  for (const HoneRecipeKey *k = hone_recipe_keys (); k->key; k++)
    {
      const char *dot = strchr (k->key, '.');
      g_autofree char *group = g_strndup (k->key, dot - k->key);
      g_autofree char *text = g_key_file_get_string (kf, group, dot + 1, &error);
      g_assert_no_error (error);
      g_autofree char *want = get (r, k->key);
      g_assert_cmpstr (text, ==, want);
      /* The help's first words open the comment above the key. */
      g_autofree char *opening = g_strndup (k->help, 30);
      g_autofree char *comment_start = g_strdup_printf ("# %s", opening);
      char *cut = strrchr (comment_start, ' ');
      *cut = '\0';
      g_assert_nonnull (strstr (data, comment_start));
    }
  g_assert_nonnull (strstr (data, "[optimizer]\n"));
  g_assert_nonnull (strstr (data, "\nlr=0.0003\n"));

  /* Strings with leading spaces, backslashes and newlines survive a file. */
  set_ok (r, "data.source=somewhere");
  g_free (r->data_source);
  r->data_source = g_strdup ("  odd\\name\nwith newline ");
  g_free (r->weights);
  r->weights = g_strdup ("数据/权重 #1.safetensors");
  assert_valid (r);
  g_autofree char *odd = hone_recipe_to_data (r, NULL);
  g_autoptr (HoneRecipe) odd_back = hone_recipe_from_data (odd, (gsize) -1, "odd", &error);
  g_assert_no_error (error);
  assert_recipes_equal (r, odd_back);

  /* A file with a few keys leaves the others at their defaults. */
  const char *some = "# mine\n[optimizer]\nname = adam\nlr = 0.001\n\n[train]\nepochs=2\n";
  g_autoptr (HoneRecipe) s = hone_recipe_from_data (some, strlen (some), "some.hone", &error);
  g_assert_no_error (error);
  g_autoptr (HoneRecipe) want = hone_recipe_new ();
  set_ok (want, "optimizer.name=adam");
  set_ok (want, "optimizer.lr=0.001");
  set_ok (want, "train.epochs=2");
  assert_recipes_equal (s, want);

  /* An empty file is the defaults; a model file replaces the architecture. */
  g_autoptr (HoneRecipe) e = hone_recipe_from_data ("", 0, "empty.hone", &error);
  g_assert_no_error (error);
  g_autoptr (HoneRecipe) def = hone_recipe_new ();
  assert_recipes_equal (e, def);
  const char *src = "[model]\nsource=nets/mine.onnx\n";
  g_autoptr (HoneRecipe) m = hone_recipe_from_data (src, strlen (src), "src.hone", &error);
  g_assert_no_error (error);
  g_assert_null (m->arch);
  g_assert_cmpstr (m->source, ==, "nets/mine.onnx");

  g_assert_cmpint (g_remove (path), ==, 0);
  remove_dir (dir);
}

static void
assert_data_fails (const char *data, gssize length, const char *what, HoneErrorCode code, ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneRecipe) r = hone_recipe_from_data (data, length < 0 ? strlen (data) : length,
                                                    what, &error);
  g_assert_null (r);
  g_assert_error (error, HONE_ERROR, code);
  g_assert_true (g_str_has_prefix (error->message, what));
  va_list args;
  va_start (args, code);
  for (const char *s = va_arg (args, const char *); s; s = va_arg (args, const char *))
    if (strstr (error->message, s) == NULL)
      g_error ("“%s” does not mention “%s”", error->message, s);
  va_end (args);
}

static void
test_malformed_files (void)
{
  assert_data_fails ("this is not a key file\n", -1, "notes.txt", HONE_ERROR_FORMAT,
                     "is not a recipe file", NULL);
  assert_data_fails ("[train]\nepochs=5\xff\xfe\n", -1, "bad.hone", HONE_ERROR_FORMAT,
                     "not UTF-8", NULL);
  static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
  assert_data_fails (png, sizeof png - 1, "image.png", HONE_ERROR_FORMAT, "not UTF-8", NULL);
  assert_data_fails ("[train\nepochs=5\n", -1, "open.hone", HONE_ERROR_FORMAT,
                     "is not a recipe file", NULL);
  assert_data_fails ("[optimiser]\nlr=0.1\n", -1, "typo.hone", HONE_ERROR_INVALID,
                     "[optimiser] is not a recipe group", "did you mean [optimizer]?", NULL);
  assert_data_fails ("[widgets]\nlr=0.1\n", -1, "typo.hone", HONE_ERROR_INVALID,
                     "[widgets] is not a recipe group", "model, data", NULL);
  assert_data_fails ("[optimizer]\nlrr=0.1\n", -1, "typo.hone", HONE_ERROR_INVALID,
                     "optimizer.lrr is not a recipe key", "did you mean optimizer.lr?", NULL);
  assert_data_fails ("[optimizer]\nlr=-1\n", -1, "range.hone", HONE_ERROR_INVALID,
                     "range.hone: optimizer.lr = -1 is out of range: use a value above 0 up to 10",
                     NULL);
  assert_data_fails ("[model]\narch=resnet18\nsource=net.onnx\n", -1, "both.hone",
                     HONE_ERROR_INVALID, "model.arch and model.source are both set", NULL);
  assert_data_fails ("[data]\nval_split=0.6\ntest_split=0.5\n", -1, "split.hone",
                     HONE_ERROR_INVALID, "data.val_split", "data.test_split", NULL);
  assert_data_fails ("[train]\nepochs=5\nepochs[de]=6\n", -1, "locale.hone", HONE_ERROR_INVALID,
                     "train.epochs[de] is not a recipe key", NULL);

  /* From disk: the path is named. */
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "broken.hone", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, "[train]\nbatch=\xc3\x28\n", -1, &error));
  g_assert_null (hone_recipe_load (path, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (dir, "missing.hone", NULL);
  g_assert_null (hone_recipe_load (missing, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  /* Saving into a folder that does not exist fails naming the file. */
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  g_autofree char *nowhere = g_build_filename (dir, "no", "such", "run.hone", NULL);
  g_assert_false (hone_recipe_save (r, nowhere, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_clear_error (&error);

  g_assert_cmpint (g_remove (path), ==, 0);
  remove_dir (dir);
}

/* ---- cross-field validation ----------------------------------------------- */

static void
test_cross_field (void)
{
  g_autoptr (HoneRecipe) r = hone_recipe_new ();

  set_ok (r, "data.val_split=0.5");
  set_ok (r, "data.test_split=0.5");
  assert_invalid (r, "data.val_split = 0.5", "data.test_split = 0.5", "below 1", NULL);
  set_ok (r, "data.test_split=0.4");
  assert_valid (r);
  set_ok (r, "data.test_split=0");

  set_ok (r, "data.kfold=5");
  set_ok (r, "data.fold=5");
  assert_invalid (r, "data.fold = 5", "data.kfold = 5", "0 to 4", NULL);
  set_ok (r, "data.fold=4");
  assert_valid (r);
  set_ok (r, "data.val_source=val/");
  assert_invalid (r, "data.kfold", "data.val_source", NULL);
  set_ok (r, "data.val_source=");
  set_ok (r, "data.kfold=0");
  assert_invalid (r, "data.fold = 4 needs data.kfold", NULL);
  set_ok (r, "data.fold=0");
  assert_valid (r);

  set_ok (r, "optimizer.nesterov=true");
  set_ok (r, "optimizer.momentum=0");
  assert_invalid (r, "optimizer.nesterov needs optimizer.momentum above 0", NULL);
  set_ok (r, "optimizer.momentum=0.9");
  set_ok (r, "optimizer.dampening=0.5");
  assert_invalid (r, "optimizer.nesterov", "optimizer.dampening 0", NULL);
  set_ok (r, "optimizer.name=adam");   /* nesterov is SGD's */
  assert_valid (r);
  set_ok (r, "optimizer.name=sgd");
  set_ok (r, "optimizer.dampening=0");
  assert_valid (r);
  set_ok (r, "optimizer.nesterov=false");

  /* Progressive unfreezing: increasing epochs within the run, something frozen. */
  set_ok (r, "freeze.mode=none");
  set_ok (r, "layers.unfreeze=2:layer4,4:layer3");
  assert_invalid (r, "layers.unfreeze", "freeze.mode = none", NULL);
  set_ok (r, "freeze.mode=head");
  assert_valid (r);
  r->unfreeze_epoch[1] = 2;
  assert_invalid (r, "layers.unfreeze", "increase", NULL);
  r->unfreeze_epoch[1] = 1;
  assert_invalid (r, "layers.unfreeze", "increase", NULL);
  r->unfreeze_epoch[1] = 4;
  set_ok (r, "train.epochs=4");
  assert_invalid (r, "layers.unfreeze at epoch 4", "train.epochs = 4", NULL);
  set_ok (r, "train.epochs=5");
  assert_valid (r);
  set_ok (r, "layers.unfreeze=");
  set_ok (r, "freeze.mode=list");
  assert_invalid (r, "freeze.mode = list needs freeze.list", NULL);
  set_ok (r, "freeze.list=stem,layer1");
  assert_valid (r);
  set_ok (r, "freeze.mode=none");

  set_ok (r, "model.mean=0.5");
  assert_invalid (r, "model.mean", "model.std", NULL);
  set_ok (r, "model.std=0.25");
  assert_valid (r);

  set_ok (r, "augment.scale_min=1.2");
  assert_invalid (r, "augment.scale_min = 1.2", "augment.scale_max = 0", NULL);
  set_ok (r, "augment.scale_max=1.1");
  assert_invalid (r, "augment.scale_min", NULL);
  set_ok (r, "augment.scale_max=1.3");
  assert_valid (r);

  /* Floors of the schedule must not exceed the learning rate. */
  set_ok (r, "schedule.eta_min=0.05");
  assert_invalid (r, "schedule.eta_min = 0.05 is above optimizer.lr = 0.01", NULL);
  set_ok (r, "schedule.name=step");    /* eta_min is cosine's */
  assert_valid (r);
  set_ok (r, "schedule.name=polynomial");
  set_ok (r, "schedule.end_lr=0.02");
  assert_invalid (r, "schedule.end_lr", NULL);
  set_ok (r, "schedule.end_lr=0");
  set_ok (r, "schedule.name=plateau");
  set_ok (r, "schedule.min_lr=1");
  assert_invalid (r, "schedule.min_lr", NULL);
  set_ok (r, "schedule.min_lr=0");
  assert_valid (r);

  /* Plateau and early stopping need validation images. */
  set_ok (r, "data.val_split=0");
  assert_invalid (r, "plateau", "data.val_split", NULL);
  set_ok (r, "schedule.name=cosine");
  set_ok (r, "schedule.eta_min=0");
  assert_valid (r);
  set_ok (r, "stop.early=true");
  assert_invalid (r, "stop.early needs validation", NULL);
  set_ok (r, "data.val_source=val/");
  assert_valid (r);

  set_ok (r, "schedule.name=multistep");
  set_ok (r, "schedule.milestones=");
  assert_invalid (r, "schedule.milestones is empty", NULL);
  set_ok (r, "schedule.milestones=0.5,3");
  assert_invalid (r, "schedule.milestones = 0.5", "warmup", NULL);
  set_ok (r, "schedule.warmup=none");
  assert_valid (r);

  set_ok (r, "schedule.name=onecycle");
  set_ok (r, "schedule.three_phase=true");
  set_ok (r, "schedule.pct_start=0.5");
  assert_invalid (r, "schedule.pct_start = 0.5", "three_phase", NULL);
  set_ok (r, "schedule.pct_start=0.45");
  assert_valid (r);

  set_ok (r, "model.source=net.onnx");
  assert_valid (r);
  g_clear_pointer (&r->source, g_free);
  assert_invalid (r, "model.arch and model.source are both empty", NULL);
  r->arch = g_strdup ("cnn-s");
  r->source = g_strdup ("net.onnx");
  assert_invalid (r, "both set", NULL);
}

/* ---- schedule conversion -------------------------------------------------- */

static void
schedule_of (const HoneRecipe *r, int64_t steps_per_epoch, HoneSchedule *s)
{
  hone_recipe_schedule (r, steps_per_epoch, s);
  g_autoptr (GError) error = NULL;
  if (!hone_schedule_validate (s, &error))
    g_error ("steps_per_epoch %" G_GINT64_FORMAT ": %s", steps_per_epoch, error->message);
}

static void
test_schedule (void)
{
  HoneSchedule s;

  /* Defaults: 5 epochs of 10 steps, linear warmup over the first epoch,
   * then a cosine over the 40 steps left. */
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  schedule_of (r, 10, &s);
  g_assert_cmpint (s.kind, ==, HONE_SCHEDULE_COSINE);
  g_assert_cmpfloat (s.base_lr, ==, 0.01);
  g_assert_cmpint (s.warmup, ==, HONE_WARMUP_LINEAR);
  g_assert_cmpint (s.warmup_steps, ==, 10);
  g_assert_cmpfloat (s.warmup_start_factor, ==, 0.1);
  g_assert_cmpint (s.t_max, ==, 40);
  g_assert_cmpfloat (s.eta_min, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (hone_schedule_lr (&s, 0), 0.001, 1e-15);
  g_assert_cmpfloat_with_epsilon (hone_schedule_lr (&s, 10), 0.01, 1e-15);
  g_assert_cmpfloat_with_epsilon (hone_schedule_lr (&s, 30), 0.005, 1e-15);
  /* Warmup of half an epoch of 3 steps: 1.5 rounds to 2. */
  set_ok (r, "schedule.warmup_epochs=0.5");
  schedule_of (r, 3, &s);
  g_assert_cmpint (s.warmup_steps, ==, 2);
  g_assert_cmpint (s.t_max, ==, 13);
  set_ok (r, "schedule.cycle_epochs=2");
  schedule_of (r, 7, &s);
  g_assert_cmpint (s.t_max, ==, 14);
  set_ok (r, "schedule.warmup=none");
  schedule_of (r, 10, &s);
  g_assert_cmpint (s.warmup, ==, HONE_WARMUP_NONE);
  g_assert_cmpint (s.warmup_steps, ==, 0);

  /* step: 1.5 epochs of 3 steps is 4.5, rounded to 5; never below 1. */
  set_ok (r, "schedule.name=step");
  set_ok (r, "schedule.step_epochs=1.5");
  set_ok (r, "schedule.gamma=0.5");
  schedule_of (r, 3, &s);
  g_assert_cmpint (s.step_size, ==, 5);
  g_assert_cmpfloat (s.gamma, ==, 0.5);
  set_ok (r, "schedule.step_epochs=0.3");
  schedule_of (r, 1, &s);
  g_assert_cmpint (s.step_size, ==, 1);

  /* multistep: run epochs 1 and 2.5 of 4 steps are steps 4 and 10, after a
   * warmup of 2 steps the schedule's own 2 and 8. */
  set_ok (r, "schedule.name=multistep");
  set_ok (r, "schedule.milestones=1,2.5");
  set_ok (r, "schedule.warmup=linear");
  set_ok (r, "schedule.warmup_epochs=0.5");
  schedule_of (r, 4, &s);
  g_assert_cmpint (s.warmup_steps, ==, 2);
  g_assert_cmpint (s.n_milestones, ==, 2);
  g_assert_cmpint (s.milestones[0], ==, 2);
  g_assert_cmpint (s.milestones[1], ==, 8);
  /* Milestones that round to the same step stay strictly increasing. */
  set_ok (r, "schedule.warmup=none");
  set_ok (r, "schedule.milestones=1.1,1.2,1.3");
  schedule_of (r, 2, &s);
  g_assert_cmpint (s.milestones[0], ==, 2);
  g_assert_cmpint (s.milestones[1], ==, 3);
  g_assert_cmpint (s.milestones[2], ==, 4);

  /* exponential: gamma per epoch, so per step its steps_per_epoch-th root. */
  set_ok (r, "schedule.name=exponential");
  set_ok (r, "schedule.gamma=0.81");
  schedule_of (r, 2, &s);
  g_assert_cmpfloat_with_epsilon (s.gamma, 0.9, 1e-15);
  g_assert_cmpfloat_with_epsilon (hone_schedule_lr (&s, 2), 0.01 * 0.81, 1e-15);

  /* cosine_restarts over the whole run of 3 epochs of 5 steps. */
  set_ok (r, "schedule.name=cosine_restarts");
  set_ok (r, "schedule.cycle_epochs=0");
  set_ok (r, "schedule.cycle_mult=2");
  set_ok (r, "train.epochs=3");
  schedule_of (r, 5, &s);
  g_assert_cmpint (s.t_0, ==, 15);
  g_assert_cmpint (s.t_mult, ==, 2);
  set_ok (r, "schedule.cycle_epochs=0.5");
  schedule_of (r, 5, &s);
  g_assert_cmpint (s.t_0, ==, 3);

  /* polynomial: 3 epochs of 3 steps less a one-epoch warmup of 3. */
  set_ok (r, "schedule.name=polynomial");
  set_ok (r, "schedule.warmup=cosine");
  set_ok (r, "schedule.warmup_epochs=1");
  set_ok (r, "schedule.power=2");
  set_ok (r, "schedule.end_lr=0.001");
  schedule_of (r, 3, &s);
  g_assert_cmpint (s.warmup, ==, HONE_WARMUP_COSINE);
  g_assert_cmpint (s.warmup_steps, ==, 3);
  g_assert_cmpint (s.total_steps, ==, 6);
  g_assert_cmpfloat (s.power, ==, 2.0);
  g_assert_cmpfloat (s.end_lr, ==, 0.001);

  /* onecycle: 5 epochs of 10 steps, no warmup; a run too short for the
   * cycle gets the shortest valid one. */
  set_ok (r, "schedule.name=onecycle");
  set_ok (r, "schedule.warmup=none");
  set_ok (r, "train.epochs=5");
  set_ok (r, "schedule.anneal=linear");
  schedule_of (r, 10, &s);
  g_assert_cmpint (s.total_steps, ==, 50);
  g_assert_cmpfloat (s.pct_start, ==, 0.3);
  g_assert_cmpint (s.anneal, ==, HONE_ANNEAL_LINEAR);
  g_assert_cmpfloat (s.div_factor, ==, 25.0);
  g_assert_cmpfloat (s.final_div_factor, ==, 1e4);
  set_ok (r, "train.epochs=1");
  schedule_of (r, 1, &s);
  g_assert_cmpint (s.total_steps, ==, 4);     /* 0.3 * 4 - 1 > 0; 0.3 * 3 - 1 is not */
  set_ok (r, "schedule.three_phase=true");
  set_ok (r, "schedule.pct_start=0.45");
  schedule_of (r, 2, &s);
  g_assert_cmpint (s.total_steps, ==, 3);
  g_assert_true (s.three_phase);

  /* plateau: the mode follows stop.metric. */
  set_ok (r, "schedule.name=plateau");
  set_ok (r, "schedule.factor=0.5");
  set_ok (r, "schedule.patience=4");
  set_ok (r, "schedule.cooldown=1");
  set_ok (r, "schedule.threshold=0.01");
  set_ok (r, "schedule.min_lr=1e-5");
  schedule_of (r, 10, &s);
  g_assert_cmpint (s.plateau_mode, ==, HONE_PLATEAU_MIN);
  g_assert_cmpfloat (s.factor, ==, 0.5);
  g_assert_cmpint (s.patience, ==, 4);
  g_assert_cmpint (s.cooldown, ==, 1);
  g_assert_cmpfloat (s.threshold, ==, 0.01);
  g_assert_cmpint (s.threshold_mode, ==, HONE_THRESHOLD_REL);
  g_assert_cmpfloat (s.min_lr, ==, 1e-5);
  set_ok (r, "stop.metric=val_accuracy");
  schedule_of (r, 10, &s);
  g_assert_cmpint (s.plateau_mode, ==, HONE_PLATEAU_MAX);

  /* Every kind with every warmup, for short and long runs, is valid. */
  static const char *const kinds[] = {
    "constant", "step", "multistep", "exponential", "cosine", "cosine_restarts", "polynomial",
    "onecycle", "plateau",
  };
  static const char *const warmups[] = { "none", "linear", "cosine" };
  static const int64_t spes[] = { 1, 2, 3, 7, 100, 12345 };
  g_autoptr (HoneRecipe) v = hone_recipe_new ();
  set_ok (v, "schedule.milestones=1.5,2");
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (guint w = 0; w < G_N_ELEMENTS (warmups); w++)
      for (int epochs = 1; epochs <= 3; epochs += 2)
        for (int three = 0; three < 2; three++)
          {
            g_autofree char *a = g_strdup_printf ("schedule.name=%s", kinds[k]);
            g_autofree char *b = g_strdup_printf ("schedule.warmup=%s", warmups[w]);
            g_autofree char *c = g_strdup_printf ("train.epochs=%d", epochs);
            set_ok (v, a);
            set_ok (v, b);
            set_ok (v, c);
            set_ok (v, three ? "schedule.three_phase=true" : "schedule.three_phase=false");
            assert_valid (v);
            for (guint i = 0; i < G_N_ELEMENTS (spes); i++)
              schedule_of (v, spes[i], &s);
          }
}

/* ---- copy ----------------------------------------------------------------- */

static void
test_copy (void)
{
  hone_recipe_free (NULL);
  g_autoptr (HoneRecipe) r = make_full_recipe ();
  g_autofree char *before = hone_recipe_to_data (r, NULL);
  g_autoptr (HoneRecipe) c = hone_recipe_copy (r);
  assert_recipes_equal (r, c);

  /* The copy's strings are its own. */
  g_assert_true (c->arch != r->arch);
  g_assert_true (c->weights != r->weights);
  g_assert_true (c->data_source != r->data_source);
  g_assert_true (c->freeze_list != r->freeze_list && c->freeze_list[0] != r->freeze_list[0]);
  g_assert_true (c->lr_mults != r->lr_mults && c->lr_mults[0] != r->lr_mults[0]);
  g_assert_true (c->unfreeze_what[0] != r->unfreeze_what[0]);
  set_ok (c, "model.source=other.onnx");
  set_ok (c, "model.weights=other.safetensors");
  set_ok (c, "data.source=fmnist");
  set_ok (c, "freeze.list=x");
  set_ok (c, "layers.lr_mult=y=3");
  set_ok (c, "layers.unfreeze=1:z");
  g_clear_pointer (&c, hone_recipe_free);
  g_autofree char *after = hone_recipe_to_data (r, NULL);
  g_assert_cmpstr (before, ==, after);
  assert_valid (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/recipe/keys", test_keys);
  g_test_add_func ("/engine/recipe/defaults", test_defaults);
  g_test_add_func ("/engine/recipe/set-every-key", test_set_every_key);
  g_test_add_func ("/engine/recipe/range-errors", test_range_errors);
  g_test_add_func ("/engine/recipe/unknown-keys", test_unknown_keys);
  g_test_add_func ("/engine/recipe/round-trip", test_round_trip);
  g_test_add_func ("/engine/recipe/malformed-files", test_malformed_files);
  g_test_add_func ("/engine/recipe/cross-field", test_cross_field);
  g_test_add_func ("/engine/recipe/schedule", test_schedule);
  g_test_add_func ("/engine/recipe/copy", test_copy);
  return g_test_run ();
}
