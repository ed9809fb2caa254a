/* hone-cli-eval.c: `hone-cli eval`: accuracy, loss, confusion matrix,
 * per-class metrics and the worst examples of a model on a dataset.
 *
 * The input size and normalisation come from the weights' metadata when
 * Hone wrote them (final.safetensors, best.safetensors), else from --input
 * and the architecture's defaults.  This file does not train. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

#define SHOWN_WORST 10

static char *opt_arch = NULL;
static char *opt_weights = NULL;
static char *opt_data = NULL;
static char *opt_input = NULL;
static int opt_classes = 0;
static int opt_batch = 64;
static char *opt_model = NULL;

static void
eval_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &opt_model, "The model: a file Hone wrote, an .onnx file, or zoo:NAME", "FILE|zoo:NAME" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture (with --weights, instead of --model)", "ARCH" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &opt_weights, "Weights (safetensors)", "FILE" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &opt_classes, "Classes of the head (default: the weights', else the data's)", "N" },
    { "data", 0, 0, G_OPTION_ARG_STRING, &opt_data, "Data source: a folder, CSV, safetensors, fmnist-test[:5-9]…", "SOURCE" },
    { "input", 0, 0, G_OPTION_ARG_STRING, &opt_input, "Input size CxHxW (default: the weights', else the architecture's)", "CxHxW" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Batch size (default 64)", "B" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static void
print_human (const HoneEvaluation *ev)
{
  int k = ev->n_classes;
  int w = 6;
  for (int c = 0; c < k; c++)
    w = MAX (w, MIN ((int) strlen (ev->class_names[c]), 12));

  printf ("%s on %s (%" G_GINT64_FORMAT " samples): accuracy %.2f %%, loss %.4f, macro F1 %.3f\n\n",
          opt_arch, opt_data, ev->n_samples, 100.0 * ev->accuracy, ev->loss, ev->macro_f1);

  printf ("Confusion matrix (rows: true class, columns: predicted)\n%*s", w + 2, "");
  for (int c = 0; c < k; c++)
    printf (" %*.*s", w, 12, ev->class_names[c]);
  printf ("\n");
  for (int r = 0; r < k; r++)
    {
      printf ("  %-*.*s", w, 12, ev->class_names[r]);
      for (int c = 0; c < k; c++)
        printf (" %*" G_GINT64_FORMAT, w, ev->confusion[(gsize) r * k + c]);
      printf ("\n");
    }

  printf ("\n  %-*s %9s %9s %9s %9s\n", w, "class", "precision", "recall", "F1", "support");
  for (int c = 0; c < k; c++)
    printf ("  %-*.*s %9.3f %9.3f %9.3f %9" G_GINT64_FORMAT "\n", w, 12, ev->class_names[c],
            ev->precision[c], ev->recall[c], ev->f1[c], ev->support[c]);

  if (ev->n_worst > 0)
    {
      printf ("\nWorst examples (highest loss)\n  %8s  %-*s  %-*s  %6s  %s\n", "loss", w, "true", w,
              "predicted", "p", "sample");
      for (int i = 0; i < MIN (ev->n_worst, SHOWN_WORST); i++)
        {
          const HoneEvalSample *s = &ev->worst[i];
          printf ("  %8.3f  %-*.*s  %-*.*s  %6.3f  %s\n", s->loss, w, 12, ev->class_names[s->label], w,
                  12, ev->class_names[s->predicted], s->probs[s->predicted], s->name);
        }
    }
}

static int
eval_run (int argc, char **argv, GError **error)
{
  if (argc > 0)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "unexpected argument '%s' (see hone-cli eval --help)", argv[0]);
      return HONE_CLI_EXIT_USAGE;
    }
  if (opt_model && (opt_arch || opt_weights))
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                           "give either --model FILE|zoo:NAME or --arch with --weights, not both");
      return HONE_CLI_EXIT_USAGE;
    }
  const char *missing = opt_model ? (!opt_data ? "--data SOURCE" : NULL)
                        : !opt_arch ? "--arch ARCH" : !opt_weights ? "--weights FILE"
                        : !opt_data ? "--data SOURCE" : NULL;
  if (missing)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "missing %s (see hone-cli eval --help)", missing);
      return HONE_CLI_EXIT_USAGE;
    }
  if (opt_classes < 0 || opt_batch < 1 || opt_batch > 4096)
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                           "out of range: --classes 1 or more, --batch 1 to 4096");
      return HONE_CLI_EXIT_USAGE;
    }

  g_autoptr (HoneSafetensors) st = opt_model ? NULL : hone_safetensors_open (opt_weights, error);
  if (!opt_model && !st)
    return HONE_CLI_EXIT_FAILED;
  g_auto (HoneModelInfo) info = { 0 };
  if (st)
    hone_model_info_read (hone_safetensors_metadata (st), &info);

  g_autoptr (HoneDataset) ds = hone_dataset_open (opt_data, error);
  if (!ds)
    return HONE_CLI_EXIT_FAILED;
  GPtrArray *issues = hone_dataset_issues (ds);
  for (guint i = 0; issues && i < issues->len; i++)
    {
      const HoneDataIssue *issue = issues->pdata[i];
      fprintf (stderr, "warning: skipped %s: %s\n", issue->path, issue->message);
    }

  int classes = opt_classes > 0 ? opt_classes : info.n_classes;
  if (classes <= 0)
    classes = hone_dataset_n_classes (ds);
  g_autofree char *recorded = info.channels ? g_strdup_printf ("%dx%dx%d", info.channels,
                                                                info.height, info.width) : NULL;
  const char *input = opt_input ? opt_input : recorded;
  g_autoptr (HoneModel) model = NULL;
  g_autoptr (HoneGraph) built = NULL;
  HoneGraph *g;
  if (opt_model)
    {
      HoneModelOptions mo;
      hone_model_options_init (&mo);
      mo.classes = opt_classes;
      if (opt_input && !hone_cli_parse_chw (opt_input, "--input", &mo.channels, &mo.height, &mo.width, error))
        return HONE_CLI_EXIT_USAGE;
      model = hone_model_load (opt_model, &mo, error);
      if (!model)
        return HONE_CLI_EXIT_FAILED;
      g = model->graph;
      info.has_norm = TRUE;
      info.channels = model->channels;
      memcpy (info.mean, model->mean, sizeof info.mean);
      memcpy (info.std, model->std, sizeof info.std);
    }
  else
    {
      built = hone_cli_build_model (opt_arch, classes, input, opt_weights, error);
      if (!built)
        return (*error)->domain == HONE_CLI_USAGE_ERROR ? HONE_CLI_EXIT_USAGE : HONE_CLI_EXIT_FAILED;
      g = built;
    }
  if (!hone_graph_plan (g, opt_batch, FALSE, error))
    return HONE_CLI_EXIT_FAILED;

  const HoneValue *in = hone_graph_value (g, hone_graph_input (g, 0));
  HoneImageFormat format = { 0 };
  format.channels = (int) in->shape.d[0];
  format.height = (int) in->shape.d[1];
  format.width = (int) in->shape.d[2];
  hone_default_normalization (format.channels, format.mean, format.std);
  if (info.has_norm && info.channels == format.channels)
    for (int c = 0; c < MIN (format.channels, 4); c++)
      {
        format.mean[c] = info.mean[c];
        format.std[c] = info.std[c];
      }

  int n = hone_dataset_n_samples (ds);
  g_autofree int *indices = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    indices[i] = i;
  HoneLoaderConfig lc = { 0 };
  lc.format = format;
  lc.sampling = HONE_SAMPLING_SEQUENTIAL;
  lc.batch = opt_batch;
  lc.threads = 1;
  lc.prefetch = 2;
  g_autoptr (HoneLoader) loader = hone_loader_new (ds, indices, n, &lc, error);
  if (!loader)
    return HONE_CLI_EXIT_FAILED;
  g_autoptr (HoneEvaluation) ev = hone_evaluate (g, loader, ds, &format, 0, NULL, NULL, error);
  g_autoptr (GPtrArray) skipped = hone_loader_take_issues (loader);
  for (guint i = 0; skipped && i < skipped->len; i++)
    {
      const HoneDataIssue *issue = skipped->pdata[i];
      fprintf (stderr, "warning: skipped %s: %s\n", issue->path, issue->message);
    }
  if (!ev)
    return HONE_CLI_EXIT_FAILED;
  if (ev->n_samples == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s: no sample could be read", opt_data);
      return HONE_CLI_EXIT_FAILED;
    }

  if (hone_cli_json)
    {
      g_autoptr (JsonNode) root = hone_evaluation_to_json (ev);
      JsonObject *o = json_node_get_object (root);
      if (opt_model)
        json_object_set_string_member (o, "model", opt_model);
      else
        {
          json_object_set_string_member (o, "arch", opt_arch);
          json_object_set_string_member (o, "weights", opt_weights);
        }
      json_object_set_string_member (o, "data", opt_data);
      hone_cli_print_json (root);
    }
  else
    print_human (ev);
  return 0;
}

const HoneCliCommand hone_cli_eval = {
  .name = "eval",
  .summary = "Evaluate a model on a dataset",
  .description = "Examples: hone-cli eval --model zoo:cnn-s-fmnist --data fmnist-test\n"
                 "          hone-cli eval --arch cnn-s --weights runs/x/final.safetensors --data fmnist-test:5-9\n"
                 "Prints accuracy, loss, the confusion matrix, per-class precision, recall and F1,\n"
                 "and the worst examples; --json prints them as one object.",
  .add_options = eval_add_options,
  .run = eval_run,
};
