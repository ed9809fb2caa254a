/* hone-cli-predict.c: `hone-cli predict`: run a model in inference mode on a
 * tensor of images and write its logits.
 *
 * Reads tensor `input` (N, C, H, W) from a safetensors file and writes tensor
 * `logits` (N, classes), in batches so memory stays bounded whatever N is. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

static char *opt_arch = NULL;
static char *opt_weights = NULL;
static int opt_classes = 0;
static char *opt_input = NULL;
static char *opt_output = NULL;
static int opt_batch = 64;

static void
predict_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture", "ARCH" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &opt_weights, "Weights (safetensors) to load by name", "FILE" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &opt_classes, "Number of classes of the head", "N" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &opt_input, "safetensors file with tensor 'input' (N, C, H, W)", "FILE" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &opt_output, "safetensors file to write tensor 'logits' (N, classes) to", "FILE" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Images per forward pass (default 64)", "B" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static int
predict_run (int argc, char **argv, GError **error)
{
  const char *missing = !opt_arch ? "--arch ARCH" : !opt_weights ? "--weights FILE"
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
  g_autoptr (HoneGraph) g = hone_cli_build_model (opt_arch, opt_classes, chw, opt_weights, error);
  if (!g)
    return HONE_CLI_EXIT_FAILED;

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
  int classes = opt_classes;
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
  hone_safetensors_writer_set_metadata (w, "arch", opt_arch);
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
  .summary = "Run a model on a tensor of images and write its logits",
  .description = "Example: hone-cli predict --arch cnn-s --weights w.safetensors --classes 10 \\\n"
                 "           --input images.safetensors --output logits.safetensors",
  .add_options = predict_add_options,
  .run = predict_run,
};
