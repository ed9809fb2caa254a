/* hone-cli-info.c: `hone-cli info`: what is in a model or a tensor file.
 *
 * For an architecture: its layers with output shapes, parameter counts and
 * whether they train, the totals and the forward FLOPs per image.  For a
 * safetensors file: its tensors with dtype and shape. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

static char *opt_arch = NULL;
static int opt_classes = 10;
static char *opt_input = NULL;
static char *opt_weights = NULL;
static char *opt_trainable = NULL;

static void
info_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture (resnet18, resnet34, mobilenet_v2, cnn-s)", "ARCH" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &opt_classes, "Number of classes of the head (default 10)", "N" },
    { "input", 0, 0, G_OPTION_ARG_STRING, &opt_input, "Input size CxHxW (default: the architecture's)", "CxHxW" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &opt_weights, "Load these weights (safetensors) into the architecture", "FILE" },
    { "trainable", 0, 0, G_OPTION_ARG_STRING, &opt_trainable, "all, head, or parameter-name prefixes layer4,fc", "SET" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

/* Parameters of a node: the PARAM inputs. */
static int64_t
node_params (const HoneGraph *g, const HoneNode *n, int64_t *trainable)
{
  int64_t total = 0;
  *trainable = 0;
  for (int k = 0; k < n->n_in; k++)
    {
      const HoneValue *v = hone_graph_value (g, n->in[k]);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      int64_t c = hone_shape_numel (&v->shape);
      total += c;
      if (v->trainable)
        *trainable += c;
    }
  return total;
}

static void
print_graph (HoneGraph *g, const char *title)
{
  int64_t total = hone_graph_n_params (g), trainable = hone_graph_n_trainable_params (g);
  double flops = hone_graph_flops (g);

  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, title);
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, total);
      json_builder_set_member_name (b, "trainable_params");
      json_builder_add_int_value (b, trainable);
      json_builder_set_member_name (b, "flops");
      json_builder_add_double_value (b, flops);
      json_builder_set_member_name (b, "layers");
      json_builder_begin_array (b);
      for (int i = 0; i < hone_graph_n_nodes (g); i++)
        {
          const HoneNode *n = hone_graph_node (g, i);
          const HoneValue *out = hone_graph_value (g, n->out[0]);
          int64_t tr, p = node_params (g, n, &tr);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, n->name);
          json_builder_set_member_name (b, "block");
          json_builder_add_string_value (b, n->block);
          json_builder_set_member_name (b, "op");
          json_builder_add_string_value (b, n->op->name);
          json_builder_set_member_name (b, "shape");
          json_builder_begin_array (b);
          for (int d = 0; d < out->shape.rank; d++)
            json_builder_add_int_value (b, out->shape.d[d]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "params");
          json_builder_add_int_value (b, p);
          json_builder_set_member_name (b, "trainable_params");
          json_builder_add_int_value (b, tr);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
      return;
    }

  printf ("%s\n\n", title);
  printf ("%-28s %-20s %-18s %12s  %s\n", "layer", "op", "output", "params", "trains");
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    {
      const HoneNode *n = hone_graph_node (g, i);
      const HoneValue *out = hone_graph_value (g, n->out[0]);
      char shape[128];
      int64_t tr, p = node_params (g, n, &tr);
      printf ("%-28s %-20s %-18s %12" G_GINT64_FORMAT "  %s\n", n->name, n->op->name,
              hone_shape_to_string (&out->shape, shape, sizeof shape), p,
              p == 0 ? "" : tr == p ? "yes" : tr == 0 ? "frozen" : "partly");
    }
  g_autofree char *ptotal = hone_cli_format_count ((double) total);
  g_autofree char *ptrain = hone_cli_format_count ((double) trainable);
  g_autofree char *pflops = hone_cli_format_count (flops);
  printf ("\n%s parameters, %s trainable (%.1f %%); %sFLOPs per image forward\n",
          ptotal, ptrain, total ? 100.0 * (double) trainable / (double) total : 0.0, pflops);
}

static int
info_run (int argc, char **argv, GError **error)
{
  if (!opt_arch)
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0, "say which model: --arch ARCH");
      return HONE_CLI_EXIT_USAGE;
    }
  g_autoptr (HoneGraph) g = hone_cli_build_model (opt_arch, opt_classes, opt_input, opt_weights, error);
  if (!g)
    return HONE_CLI_EXIT_FAILED;
  if (opt_trainable && !hone_cli_apply_trainable (g, opt_trainable, error))
    return HONE_CLI_EXIT_USAGE;
  g_autofree char *title = g_strdup_printf ("%s, %d classes", opt_arch, opt_classes);
  print_graph (g, title);
  return 0;
}

const HoneCliCommand hone_cli_info = {
  .name = "info",
  .summary = "Show a model's layers, shapes, parameters and FLOPs",
  .description = "Example: hone-cli info --arch resnet18 --classes 5 --input 3x64x64 --trainable layer4,fc",
  .add_options = info_add_options,
  .run = info_run,
};
