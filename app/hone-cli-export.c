/* hone-cli-export.c: `hone-cli export`: write a model as ONNX (for other
 * tools: onnxruntime, OpenCV) or as a Hone safetensors model file.
 *
 * The model is anything hone_model_load reads (--model: a file Hone wrote
 * such as a run's final.safetensors, an ONNX file, zoo:NAME) or a built-in
 * architecture (--arch, with fresh or --weights
 * weights).  The output's format follows its extension.  Nothing is
 * trained or evaluated here. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-cli.h"
#include "hone-model.h"

static char *opt_model = NULL;
static char *opt_arch = NULL;
static char *opt_weights = NULL;
static int opt_classes = 0;
static char *opt_input = NULL;
static char *opt_output = NULL;

static void
export_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &opt_model, "The model: a file Hone wrote (such as a run's final.safetensors), an .onnx file, or zoo:NAME", "SRC" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture instead of --model", "ARCH" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &opt_weights, "With --arch: weights (safetensors) to load by name (default: fresh)", "FILE" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &opt_classes, "With --arch: number of classes of the head", "N" },
    { "input", 0, 0, G_OPTION_ARG_STRING, &opt_input, "With --arch: input size (default: the architecture's)", "CxHxW" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "File to write: FILE.onnx or FILE.safetensors", "FILE" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static HoneModel *
model_new (HoneGraph *g, const char *source, const char *format, const char *arch, int c, int h,
           int w)
{
  HoneModel *m = g_new0 (HoneModel, 1);
  m->graph = g;
  m->source = g_strdup (source);
  m->format = g_strdup (format);
  m->arch = g_strdup (arch);
  m->channels = c;
  m->height = h;
  m->width = w;
  m->n_classes = (int) hone_graph_value (g, hone_graph_output (g, 0))->shape.d[0];
  m->class_names = g_new0 (char *, m->n_classes + 1);
  for (int k = 0; k < m->n_classes; k++)
    m->class_names[k] = g_strdup_printf ("class %d", k);
  hone_default_normalization (c, m->mean, m->std);
  return m;
}

static int
write_model (HoneModel *m, gboolean onnx, GError **error)
{
  if (!hone_model_save (m, opt_output, error))
    return HONE_CLI_EXIT_FAILED;

  GStatBuf st;
  gint64 bytes = g_stat (opt_output, &st) == 0 ? (gint64) st.st_size : -1;
  g_autofree char *chw = g_strdup_printf ("%dx%dx%d", m->channels, m->height, m->width);
  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, opt_output);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, onnx ? "onnx" : "safetensors");
      json_builder_set_member_name (b, "arch");
      json_builder_add_string_value (b, m->arch);
      json_builder_set_member_name (b, "input");
      json_builder_add_string_value (b, chw);
      json_builder_set_member_name (b, "classes");
      json_builder_add_int_value (b, m->n_classes);
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, hone_graph_n_params (m->graph));
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, bytes);
      if (onnx)
        {
          json_builder_set_member_name (b, "opset");
          json_builder_add_int_value (b, 13);
        }
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
    }
  else
    printf ("Wrote %s (%s, input %s, %d classes) to %s, %.1f MB\n", onnx ? "ONNX opset 13" : "safetensors",
            m->arch ? m->arch : m->format, chw, m->n_classes, opt_output, (double) bytes / 1e6);
  return 0;
}

static int
export_run (int argc, char **argv, GError **error)
{
  if (argc > 0)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "unexpected argument '%s': name the model with "
                   "--model SRC (see hone-cli export --help)", argv[0]);
      return HONE_CLI_EXIT_USAGE;
    }
  if (!opt_model == !opt_arch)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, opt_model ? "use --model or --arch, not both"
                   : "missing --model SRC (or --arch ARCH; see hone-cli export --help)");
      return HONE_CLI_EXIT_USAGE;
    }
  if (opt_model && (opt_weights || opt_classes || opt_input))
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--weights, --classes and --input go with "
                   "--arch; a --model file says its own");
      return HONE_CLI_EXIT_USAGE;
    }
  if (!opt_output)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "missing -o FILE.onnx or -o FILE.safetensors "
                   "(see hone-cli export --help)");
      return HONE_CLI_EXIT_USAGE;
    }
  gboolean onnx = g_str_has_suffix (opt_output, ".onnx");
  if (!onnx && !g_str_has_suffix (opt_output, ".safetensors"))
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "-o %s: name the file FILE.onnx (ONNX, for "
                   "other tools) or FILE.safetensors (a Hone model file)", opt_output);
      return HONE_CLI_EXIT_USAGE;
    }

  HoneModel *m = NULL;
  if (opt_model)
    m = hone_model_load (opt_model, NULL, error);   /* a file Hone wrote, ONNX, zoo:NAME */
  else
    {
      HoneGraph *g = hone_cli_build_model (opt_arch, opt_classes, opt_input, opt_weights, error);
      if (g)
        {
          const HoneShape *in = &hone_graph_value (g, hone_graph_input (g, 0))->shape;
          m = model_new (g, opt_weights, "arch", opt_arch, (int) in->d[0], (int) in->d[1], (int) in->d[2]);
        }
    }
  if (!m)
    return HONE_CLI_EXIT_FAILED;
  int status = write_model (m, onnx, error);
  hone_model_free (m);
  return status;
}

const HoneCliCommand hone_cli_export = {
  .name = "export",
  .summary = "Write a model as ONNX or as a Hone safetensors file",
  .parameter = NULL,
  .description = "The format follows the output's extension: .onnx (opset 13, input 'input'\n"
                 "(N, C, H, W), output 'logits', class names and normalisation in its\n"
                 "metadata) or .safetensors.\n\n"
                 "Examples: hone-cli export --model runs/x/final.safetensors -o model.onnx\n"
                 "          hone-cli export --arch resnet18 --classes 10 -o fresh.safetensors",
  .add_options = export_add_options,
  .run = export_run,
};
