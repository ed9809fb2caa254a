/* hone-cli-pretrain.c: `hone-cli pretrain`: make a model of the zoo.
 *
 * Trains a built-in architecture from scratch on Fashion-MNIST's training
 * images (classes 0-4, or all ten), measures it on the test images of the
 * same classes (hone_zoo_evaluate: every image, in order), copies the run's
 * final.safetensors into the zoo folder as NAME.safetensors and records it
 * in the folder's zoo.json: recipe, SHA-256, size, parameters, accuracy.
 *
 * The recipe is written out key by key below, so a later change of the
 * recipe defaults does not change what pretraining does.  Validation during
 * training uses 5 % of the training images; nothing is chosen by the test
 * images (no early stopping, the final weights are kept).
 *
 * This file does not train (hone-trainer.h) or read the manifest
 * (hone-zoo.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

static char *opt_arch = NULL;
static char *opt_classes = NULL;
static int opt_epochs = 0;
static char **opt_set = NULL;
static char *opt_out = NULL;
static char *opt_name = NULL;
static char *opt_run = NULL;
static char *opt_from_run = NULL;

static void
pretrain_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture (default cnn-s)", "ARCH" },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &opt_classes, "Fashion-MNIST classes: 0-4 (default) or all", "0-4|all" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &opt_epochs, "Epochs (default: 10 for cnn-s, 3 for the others)", "N" },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_set, "Change one setting of the recipe (repeatable)", "GROUP.KEY=VALUE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "The zoo folder to write the model and zoo.json into", "ZOO_DIR" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &opt_name, "The model's zoo name (default ARCH-fmnist0-4 or ARCH-fmnist)", "NAME" },
    { "run", 0, 0, G_OPTION_ARG_FILENAME, &opt_run, "Run folder for the training (default runs/pretrain-NAME)", "DIR" },
    { "from-run", 0, 0, G_OPTION_ARG_FILENAME, &opt_from_run,
      "Do not train: measure and record the finished run in DIR (one that was interrupted and resumed "
      "with hone-cli train --resume)", "DIR" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

/* The recipe pretraining runs: every setting that matters, spelled out. */
static HoneRecipe *
pretrain_recipe (const char *arch, gboolean all, int epochs, GError **error)
{
  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  g_autofree char *a = g_strdup_printf ("model.arch=%s", arch);
  g_autofree char *e = g_strdup_printf ("train.epochs=%d", epochs);
  /* the torchvision networks downsample 32 times: 32x32 leaves a 1x1 map */
  const char *input = strcmp (arch, "cnn-s") == 0 ? "model.input=1x28x28" : "model.input=1x32x32";
  const char *sets[] = {
    a, input, "model.weights=", "model.classes=0", "model.mean=", "model.std=",
    "model.replace_head=false", "model.dropout=0",
    all ? "data.source=fmnist" : "data.source=fmnist:0-4", "data.val_source=", "data.val_split=0.05",
    "data.test_split=0", "data.kfold=0", "data.balanced=false", "data.limit=0",
    "augment.enabled=true", "augment.hflip=0.5",
    e, "train.batch=128", "train.accum=1", "train.seed=1",
    "optimizer.name=sgd", "optimizer.lr=0.1", "optimizer.momentum=0.9", "optimizer.nesterov=true",
    "optimizer.weight_decay=0.0005",
    "schedule.name=cosine", "schedule.warmup=linear", "schedule.warmup_epochs=1",
    "freeze.mode=none", "layers.lr_decay=1", "layers.lr_mult=", "layers.unfreeze=",
    "loss.name=cross_entropy", "loss.label_smoothing=0",
    "stop.early=false", "stop.restore_best=false",
    NULL
  };
  for (int i = 0; sets[i]; i++)
    if (!hone_recipe_set (r, sets[i], error))
      return NULL;
  for (int i = 0; opt_set && opt_set[i]; i++)
    {
      g_autoptr (GError) local = NULL;
      if (!hone_recipe_set (r, opt_set[i], &local))
        {
          g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--set %s: %s", opt_set[i], local->message);
          return NULL;
        }
    }
  if (hone_cli_threads > 0 && r->threads == 0)
    r->threads = hone_cli_threads;
  return g_steal_pointer (&r);
}

static char *
class_range_text (gboolean all)
{
  return g_strdup (all ? "Fashion-MNIST, all 10 classes" : "Fashion-MNIST classes 0–4");
}

static int
pretrain_run (int argc, char **argv, GError **error)
{
  if (argc > 0)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "unexpected argument '%s' (see hone-cli pretrain --help)", argv[0]);
      return HONE_CLI_EXIT_USAGE;
    }
  if (!opt_out)
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0, "say where the zoo is: -o ZOO_DIR");
      return HONE_CLI_EXIT_USAGE;
    }
  const char *arch = opt_arch ? opt_arch : "cnn-s";
  if (!hone_arch_find (arch))
    {
      GString *names = g_string_new (NULL);
      for (const HoneArchInfo *const *a = hone_arch_list (); *a; a++)
        g_string_append_printf (names, "%s%s", names->len ? ", " : "", (*a)->name);
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--arch %s is not a built-in architecture: use one of %s",
                   arch, names->str);
      g_string_free (names, TRUE);
      return HONE_CLI_EXIT_USAGE;
    }
  gboolean all;
  if (!opt_classes || strcmp (opt_classes, "0-4") == 0)
    all = FALSE;
  else if (strcmp (opt_classes, "all") == 0)
    all = TRUE;
  else
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--classes %s: use 0-4 or all", opt_classes);
      return HONE_CLI_EXIT_USAGE;
    }
  int epochs = opt_epochs > 0 ? opt_epochs : strcmp (arch, "cnn-s") == 0 ? 10 : 3;
  g_autofree char *name = opt_name ? g_strdup (opt_name)
                                   : g_strdup_printf ("%s-fmnist%s", arch, all ? "" : "0-4");
  const char *split = all ? "fmnist-test" : "fmnist-test:0-4";

  /* open (or create) the zoo first: a bad folder fails before hours of training */
  g_autoptr (HoneZoo) zoo = hone_zoo_open (opt_out, TRUE, error);
  if (!zoo)
    return HONE_CLI_EXIT_FAILED;

  g_autofree char *run_dir = NULL;
  if (opt_from_run)
    run_dir = g_strdup (opt_from_run);
  else
    {
      run_dir = opt_run ? g_strdup (opt_run) : g_strdup_printf ("runs/pretrain-%s", name);
      g_autoptr (HoneRecipe) recipe = pretrain_recipe (arch, all, epochs, error);
      if (!recipe)
        return (*error)->domain == HONE_CLI_USAGE_ERROR ? HONE_CLI_EXIT_USAGE : HONE_CLI_EXIT_FAILED;
      g_autoptr (HoneTrainer) t = hone_trainer_new (recipe, run_dir, error);
      if (!t)
        return HONE_CLI_EXIT_FAILED;
      int status = hone_cli_run_trainer (t, run_dir, error);
      if (status != 0)
        return status;
    }

  g_autofree char *final = g_build_filename (run_dir, "final.safetensors", NULL);
  g_autofree char *recipe_path = g_build_filename (run_dir, "recipe.hone", NULL);
  g_autofree char *recipe_text = NULL;
  if (!g_file_test (final, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "%s holds no final.safetensors: the run has not finished (hone-cli train --resume %s)",
                   run_dir, run_dir);
      return HONE_CLI_EXIT_FAILED;
    }
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (recipe_path, &recipe_text, NULL, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot read %s: %s", recipe_path, local->message);
      return HONE_CLI_EXIT_FAILED;
    }

  /* measure the final weights on the test images */
  g_autoptr (HoneModel) model = hone_model_load (final, NULL, error);
  if (!model)
    return HONE_CLI_EXIT_FAILED;
  if (model->n_classes != (all ? 10 : 5))
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0,
                   "the model in %s has %d classes but --classes %s means %d: give the classes it "
                   "was trained on", run_dir, model->n_classes, all ? "all" : "0-4", all ? 10 : 5);
      return HONE_CLI_EXIT_USAGE;
    }
  g_autoptr (HoneEvaluation) ev = hone_zoo_evaluate (model, split, error);
  if (!ev)
    return HONE_CLI_EXIT_FAILED;

  /* copy the weights into the zoo, then record them */
  g_autofree char *file = g_strdup_printf ("%s.safetensors", name);
  g_autofree char *dest = g_build_filename (opt_out, file, NULL);
  g_autofree char *bytes_data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (final, &bytes_data, &len, &local)
      || !g_file_set_contents_full (dest, bytes_data, (gssize) len,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot copy %s to %s: %s", final, dest, local->message);
      return HONE_CLI_EXIT_FAILED;
    }

  HoneZooEntry e = { 0 };
  e.name = name;
  e.arch = model->arch;
  g_autofree char *source_classes = class_range_text (all);
  e.source_classes = source_classes;
  g_autofree char *description
    = g_strdup_printf ("%s trained from scratch on %s, %dx%dx%d input", arch, source_classes,
                       model->channels, model->height, model->width);
  e.description = description;
  e.channels = model->channels;
  e.height = model->height;
  e.width = model->width;
  memcpy (e.mean, model->mean, sizeof e.mean);
  memcpy (e.std, model->std, sizeof e.std);
  e.classes = model->class_names;
  e.recipe = recipe_text;
  e.file = file;
  g_autofree char *sha = hone_file_sha256 (dest, &e.bytes, error);
  if (!sha)
    return HONE_CLI_EXIT_FAILED;
  e.sha256 = sha;
  e.params = hone_graph_n_params (model->graph);
  e.correct = hone_evaluation_correct (ev);
  e.samples = ev->n_samples;
  e.accuracy = (double) e.correct / (double) e.samples;
  e.split = (char *) split;
  e.hone_version = (char *) PACKAGE_VERSION;
  hone_zoo_set_entry (zoo, &e);
  if (!hone_zoo_save (zoo, error))
    return HONE_CLI_EXIT_FAILED;

  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, dest);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, e.bytes);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, sha);
      json_builder_set_member_name (b, "split");
      json_builder_add_string_value (b, split);
      json_builder_set_member_name (b, "correct");
      json_builder_add_int_value (b, e.correct);
      json_builder_set_member_name (b, "samples");
      json_builder_add_int_value (b, e.samples);
      json_builder_set_member_name (b, "accuracy");
      json_builder_add_double_value (b, e.accuracy);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
    }
  else
    printf ("zoo:%s: %.2f %% on %s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT "), %s, %.1f MB\n",
            name, 100.0 * e.accuracy, split, e.correct, e.samples, dest, (double) e.bytes / 1e6);
  if (e.bytes > 10 * 1000 * 1000)
    fprintf (stderr, "note: %s is larger than 10 MB, more than the zoo in Hone's repository holds\n", dest);
  return 0;
}

const HoneCliCommand hone_cli_pretrain = {
  .name = "pretrain",
  .summary = "Train a built-in architecture on Fashion-MNIST for the model zoo",
  .description = "Examples:\n"
                 "  hone-cli pretrain --arch cnn-s --classes 0-4 -o zoo\n"
                 "  hone-cli pretrain --arch mobilenet_v2 --classes all --epochs 3 -o zoo\n"
                 "  hone-cli pretrain --arch resnet18 -o ~/my-zoo      (then HONE_ZOO_DIR=~/my-zoo)\n"
                 "Measures the final weights on Fashion-MNIST's test images of the same classes and\n"
                 "records them (recipe, SHA-256, size, accuracy) in ZOO_DIR/zoo.json.",
  .add_options = pretrain_add_options,
  .run = pretrain_run,
};
