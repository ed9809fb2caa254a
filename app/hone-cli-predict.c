/* hone-cli-predict.c: `hone-cli predict`: run a model in inference mode.
 *
 * Two forms.  With --input and --output: reads tensor `input` (N, C, H, W),
 * already normalised, from a safetensors file and writes tensor `logits`
 * (N, classes), in batches so memory stays bounded whatever N is.  With
 * image files as arguments: decodes, resizes and normalises each as the
 * model expects and prints its top-k classes with their probabilities.
 * The model is --model FILE|zoo:NAME, or --arch with --weights. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

static char *opt_arch = NULL;
static char *opt_weights = NULL;
static int opt_classes = 0;
static char *opt_input = NULL;
static char *opt_output = NULL;
static int opt_batch = 64;
static char *opt_model = NULL;
static int opt_top = 3;

static void
predict_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &opt_model, "The model: a file Hone wrote, an .onnx file, or zoo:NAME", "FILE|zoo:NAME" },
    { "top", 0, 0, G_OPTION_ARG_INT, &opt_top, "Classes shown per image (default 3)", "K" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture (instead of --model)", "ARCH" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &opt_weights, "Weights (safetensors) to load by name", "FILE" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &opt_classes, "Number of classes of the head", "N" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &opt_input, "safetensors file with tensor 'input' (N, C, H, W)", "FILE" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &opt_output, "safetensors file to write tensor 'logits' (N, classes) to", "FILE" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Images per forward pass (default 64)", "B" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

/* Images given as files: top-k classes of each. */
static int
predict_images (HoneModel *m, int argc, char **argv, GError **error)
{
  if (opt_top < 1)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--top %d is out of range: use 1 or more", opt_top);
      return HONE_CLI_EXIT_USAGE;
    }
  int k = MIN (opt_top, m->n_classes);
  if (!hone_graph_plan (m->graph, 1, FALSE, error))
    return HONE_CLI_EXIT_FAILED;
  int x = hone_graph_input (m->graph, 0), y = hone_graph_output (m->graph, 0);
  gsize sample = (gsize) m->channels * m->height * m->width;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, m->source ? m->source : m->arch);
  json_builder_set_member_name (b, "images");
  json_builder_begin_array (b);
  int failed = 0;
  g_autofree float *probs = g_new (float, m->n_classes);
  g_autofree int *order = g_new (int, m->n_classes);
  for (int i = 0; i < argc; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autofree float *img = hone_model_read_image (m, argv[i], &local);
      if (!img)
        {
          fprintf (stderr, "hone-cli predict: %s\n", local->message);
          failed++;
          continue;
        }
      memcpy (hone_graph_input_data (m->graph, x), img, sample * sizeof (float));
      if (!hone_graph_forward (m->graph, 1, FALSE, error))
        return HONE_CLI_EXIT_FAILED;
      HoneTensor t = hone_graph_tensor (m->graph, y);
      /* softmax with the largest logit subtracted */
      float top = t.data[0];
      for (int c = 1; c < m->n_classes; c++)
        top = MAX (top, t.data[c]);
      double sum = 0.0;
      for (int c = 0; c < m->n_classes; c++)
        sum += probs[c] = expf (t.data[c] - top);
      for (int c = 0; c < m->n_classes; c++)
        {
          probs[c] = (float) (probs[c] / sum);
          order[c] = c;
        }
      /* the k largest first, ties to the lower class */
      for (int a = 0; a < k; a++)
        for (int c = a + 1; c < m->n_classes; c++)
          if (probs[order[c]] > probs[order[a]]
              || (probs[order[c]] == probs[order[a]] && order[c] < order[a]))
            {
              int tmp = order[a];
              order[a] = order[c];
              order[c] = tmp;
            }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "image");
      json_builder_add_string_value (b, argv[i]);
      json_builder_set_member_name (b, "top");
      json_builder_begin_array (b);
      if (!hone_cli_json)
        printf ("%s\n", argv[i]);
      for (int a = 0; a < k; a++)
        {
          int c = order[a];
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "class");
          json_builder_add_int_value (b, c);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, m->class_names[c]);
          json_builder_set_member_name (b, "probability");
          json_builder_add_double_value (b, probs[c]);
          json_builder_set_member_name (b, "logit");
          json_builder_add_double_value (b, t.data[c]);
          json_builder_end_object (b);
          if (!hone_cli_json)
            printf ("  %5.1f %%  %s\n", 100.0 * probs[c], m->class_names[c]);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (hone_cli_json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
    }
  if (failed)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%d of %d images could not be read", failed, argc);
      return HONE_CLI_EXIT_FAILED;
    }
  return 0;
}

static int
predict_run (int argc, char **argv, GError **error)
{
  if (opt_model && (opt_arch || opt_weights))
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                           "give either --model FILE|zoo:NAME or --arch with --weights, not both");
      return HONE_CLI_EXIT_USAGE;
    }
  if (argc > 0)
    {
      if (!opt_model)
        {
          g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                               "images need a model that knows its input and classes: --model FILE|zoo:NAME");
          return HONE_CLI_EXIT_USAGE;
        }
      if (opt_input || opt_output)
        {
          g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                               "give either image files or --input and --output, not both");
          return HONE_CLI_EXIT_USAGE;
        }
      g_autoptr (HoneModel) m = hone_model_load (opt_model, NULL, error);
      if (!m)
        return HONE_CLI_EXIT_FAILED;
      return predict_images (m, argc, argv, error);
    }
  const char *missing = opt_model ? (!opt_input ? "--input FILE" : !opt_output ? "--output FILE" : NULL)
                        : !opt_arch ? "--model FILE|zoo:NAME (or --arch ARCH)" : !opt_weights ? "--weights FILE"
                        : opt_classes <= 0 ? "--classes N" : !opt_input ? "--input FILE"
                        : !opt_output ? "--output FILE" : NULL;

  if (missing)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "missing %s (see hone-cli predict --help)", missing);
      return HONE_CLI_EXIT_USAGE;
    }
  if (opt_batch < 1 || opt_batch > 4096)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--batch %d is out of range: use 1 to 4096", opt_batch);
      return HONE_CLI_EXIT_USAGE;
    }

  g_autoptr (HoneSafetensors) st = hone_safetensors_open (opt_input, error);
  if (!st)
    return HONE_CLI_EXIT_FAILED;
  int ti = hone_safetensors_find (st, "input");
  HoneShape shape;
  if (ti < 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "%s has no tensor named 'input': write the images as 'input' (N, C, H, W)", opt_input);
      return HONE_CLI_EXIT_FAILED;
    }
  if (!hone_safetensors_tensor_shape (st, ti, &shape, error))
    return HONE_CLI_EXIT_FAILED;
  if (shape.rank != 4 || shape.d[0] < 1)
    {
      char buf[160];
      g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                   "%s: tensor 'input' has shape %s; expected (N, C, H, W) with N ≥ 1",
                   opt_input, hone_shape_to_string (&shape, buf, sizeof buf));
      return HONE_CLI_EXIT_FAILED;
    }
  int64_t n = shape.d[0];
  g_autofree char *chw = g_strdup_printf ("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                                          shape.d[1], shape.d[2], shape.d[3]);
  g_autoptr (HoneModel) model = NULL;
  g_autoptr (HoneGraph) built = NULL;
  HoneGraph *g;
  int classes = opt_classes;
  if (opt_model)
    {
      HoneModelOptions mo;
      hone_model_options_init (&mo);
      mo.channels = (int) shape.d[1];
      mo.height = (int) shape.d[2];
      mo.width = (int) shape.d[3];
      model = hone_model_load (opt_model, &mo, error);
      if (!model)
        return HONE_CLI_EXIT_FAILED;
      g = model->graph;
      classes = model->n_classes;
    }
  else
    {
      built = hone_cli_build_model (opt_arch, opt_classes, chw, opt_weights, error);
      if (!built)
        return HONE_CLI_EXIT_FAILED;
      g = built;
    }

  int64_t sample = shape.d[1] * shape.d[2] * shape.d[3];
  g_autofree float *images = g_try_new (float, n * sample);
  if (!images)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "%s: 'input' is too large to hold in memory", opt_input);
      return HONE_CLI_EXIT_FAILED;
    }
  if (!hone_safetensors_read_f32 (st, ti, images, error))
    return HONE_CLI_EXIT_FAILED;

  int batch = (int) MIN (n, (int64_t) opt_batch);
  if (!hone_graph_plan (g, batch, FALSE, error))
    return HONE_CLI_EXIT_FAILED;
  int x = hone_graph_input (g, 0), y = hone_graph_output (g, 0);
  g_autofree float *logits = g_new (float, n * classes);
  for (int64_t start = 0; start < n; start += batch)
    {
      int b = (int) MIN ((int64_t) batch, n - start);
      memcpy (hone_graph_input_data (g, x), images + start * sample, (gsize) (b * sample) * sizeof (float));
      if (!hone_graph_forward (g, b, FALSE, error))
        return HONE_CLI_EXIT_FAILED;
      HoneTensor t = hone_graph_tensor (g, y);
      memcpy (logits + start * classes, t.data, (gsize) b * classes * sizeof (float));
    }

  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  HoneShape out_shape = HONE_SHAPE (n, classes);
  hone_safetensors_writer_set_metadata (w, "producer", "hone-cli predict " PACKAGE_VERSION);
  if (model && model->arch)
    hone_safetensors_writer_set_metadata (w, "arch", model->arch);
  else if (opt_arch)
    hone_safetensors_writer_set_metadata (w, "arch", opt_arch);
  if (model)
    {
      g_autoptr (GHashTable) md = hone_model_metadata (model);
      hone_safetensors_writer_set_metadata (w, "hone.classes", g_hash_table_lookup (md, "hone.classes"));
    }
  if (!hone_safetensors_writer_add_f32 (w, "logits", &out_shape, logits, error)
      || !hone_safetensors_writer_write (w, opt_output, error))
    return HONE_CLI_EXIT_FAILED;

  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, opt_output);
      json_builder_set_member_name (b, "samples");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "classes");
      json_builder_add_int_value (b, classes);
      json_builder_set_member_name (b, "predictions");
      json_builder_begin_array (b);
      for (int64_t i = 0; i < n; i++)
        {
          int best = 0;
          for (int k = 1; k < classes; k++)
            if (logits[i * classes + k] > logits[i * classes + best])
              best = k;
          json_builder_add_int_value (b, best);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
    }
  else
    printf ("Wrote logits (%" G_GINT64_FORMAT ", %d) to %s\n", n, classes, opt_output);
  return 0;
}

const HoneCliCommand hone_cli_predict = {
  .name = "predict",
  .summary = "Classify images, or run a model on a tensor of images and write its logits",
  .parameter = "[IMAGE…]",
  .description = "Examples:\n"
                 "  hone-cli predict --model zoo:cnn-s-fmnist shirt.png shoe.jpg --top 3\n"
                 "  hone-cli predict --model runs/x/final.safetensors --input images.safetensors \\\n"
                 "           --output logits.safetensors\n"
                 "  hone-cli predict --arch cnn-s --weights w.safetensors --classes 10 \\\n"
                 "           --input images.safetensors --output logits.safetensors\n"
                 "Images are decoded, resized and normalised as the model expects; the tensor\n"
                 "'input' (N, C, H, W) is given to the model as it is (already normalised).",
  .add_options = predict_add_options,
  .run = predict_run,
};
