/* hone-cli-info.c: `hone-cli info`: what is in a model or a tensor file.
 *
 * For a model (a built-in architecture, zoo:NAME, a .safetensors file Hone
 * wrote, an .onnx file): its layers with output shapes, parameter counts
 * and whether they train, the totals and the forward FLOPs per image, and
 * what it expects (input, normalisation, classes).  For a bare safetensors
 * file without Hone's metadata (a torchvision state_dict): its tensors
 * with dtype and shape. */
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

/* The model's input, normalisation and classes, for people. */
static void
print_model_head (const HoneModel *m)
{
  printf ("input %dx%dx%d, mean", m->channels, m->height, m->width);
  for (int c = 0; c < MIN (m->channels, 4); c++)
    printf ("%s%.4g", c ? "," : " ", m->mean[c]);
  printf (", std");
  for (int c = 0; c < MIN (m->channels, 4); c++)
    printf ("%s%.4g", c ? "," : " ", m->std[c]);
  printf ("%s\n%d classes:", m->norm_from_file ? "" : " (assumed)", m->n_classes);
  for (int c = 0; c < MIN (m->n_classes, 20); c++)
    printf ("%s%s", c ? ", " : " ", m->class_names[c]);
  printf ("%s\n", m->n_classes > 20 ? ", …" : "");
  if (m->description)
    printf ("%s\n", m->description);
  printf ("\n");
}

static void
add_model_json (JsonBuilder *b, const HoneModel *m)
{
  if (!m)
    return;
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, m->source);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, m->format);
  json_builder_set_member_name (b, "arch");
  json_builder_add_string_value (b, m->arch);
  json_builder_set_member_name (b, "input");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, m->channels);
  json_builder_add_int_value (b, m->height);
  json_builder_add_int_value (b, m->width);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "mean");
  json_builder_begin_array (b);
  for (int c = 0; c < MIN (m->channels, 4); c++)
    json_builder_add_double_value (b, m->mean[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "std");
  json_builder_begin_array (b);
  for (int c = 0; c < MIN (m->channels, 4); c++)
    json_builder_add_double_value (b, m->std[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (int c = 0; c < m->n_classes; c++)
    json_builder_add_string_value (b, m->class_names[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "head");
  json_builder_begin_array (b);
  for (int i = 0; m->head_params[i]; i++)
    json_builder_add_string_value (b, m->head_params[i]);
  json_builder_end_array (b);
}

static void
print_graph (HoneGraph *g, const char *title, const HoneModel *model)
{
  int64_t total = hone_graph_n_params (g), trainable = hone_graph_n_trainable_params (g);
  double flops = hone_graph_flops (g);

  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, title);
      add_model_json (b, model);
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
  if (model)
    print_model_head (model);
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

/* A safetensors file's tensors: name, dtype, shape. */
static int
print_tensors (const char *path, GError **error)
{
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, error);
  if (!st)
    return HONE_CLI_EXIT_FAILED;
  int n = hone_safetensors_n_tensors (st);
  int64_t total = 0;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "tensors");
  json_builder_begin_array (b);
  if (!hone_cli_json)
    printf ("%s: %d tensors, no Hone model metadata (a state_dict: load it with --arch ARCH "
            "--weights FILE)\n\n%-44s %-6s %s\n", path, n, "tensor", "dtype", "shape");
  for (int i = 0; i < n; i++)
    {
      const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
      HoneShape shape;
      char buf[160];
      if (!hone_safetensors_tensor_shape (st, i, &shape, error))
        return HONE_CLI_EXIT_FAILED;
      total += hone_shape_numel (&shape);
      if (hone_cli_json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, t->name);
          json_builder_set_member_name (b, "dtype");
          json_builder_add_string_value (b, hone_dtype_name (t->dtype));
          json_builder_set_member_name (b, "shape");
          json_builder_begin_array (b);
          for (int d = 0; d < shape.rank; d++)
            json_builder_add_int_value (b, shape.d[d]);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      else
        printf ("%-44s %-6s %s\n", t->name, hone_dtype_name (t->dtype), hone_shape_to_string (&shape, buf, sizeof buf));
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "elements");
  json_builder_add_int_value (b, total);
  json_builder_end_object (b);
  if (hone_cli_json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
    }
  else
    {
      g_autofree char *count = hone_cli_format_count ((double) total);
      printf ("\n%s elements\n", count);
    }
  return 0;
}

static gboolean
has_hone_metadata (const char *path)
{
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, NULL);
  return st && g_hash_table_contains (hone_safetensors_metadata (st), "hone.arch");
}

static int
info_run (int argc, char **argv, GError **error)
{
  if (argc > 1 || (argc == 1 && opt_arch))
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                           "say which model once: FILE, zoo:NAME or --arch ARCH");
      return HONE_CLI_EXIT_USAGE;
    }
  if (argc == 1)
    {
      const char *source = argv[0];
      if (g_str_has_suffix (source, ".safetensors") && !has_hone_metadata (source))
        return print_tensors (source, error);
      HoneModelOptions mo;
      hone_model_options_init (&mo);
      if (opt_input && !hone_cli_parse_chw (opt_input, "--input", &mo.channels, &mo.height, &mo.width, error))
        return HONE_CLI_EXIT_USAGE;
      g_autoptr (HoneModel) m = hone_model_load (source, &mo, error);
      if (!m)
        return HONE_CLI_EXIT_FAILED;
      if (opt_trainable && !hone_cli_apply_trainable (m->graph, opt_trainable, error))
        return HONE_CLI_EXIT_USAGE;
      g_autofree char *title = m->arch ? g_strdup_printf ("%s: %s, %d classes", source, m->arch, m->n_classes)
                                       : g_strdup_printf ("%s: %d classes", source, m->n_classes);
      print_graph (m->graph, title, m);
      return 0;
    }
  if (!opt_arch)
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0, "say which model: FILE, zoo:NAME or --arch ARCH");
      return HONE_CLI_EXIT_USAGE;
    }
  g_autoptr (HoneGraph) g = hone_cli_build_model (opt_arch, opt_classes, opt_input, opt_weights, error);
  if (!g)
    return HONE_CLI_EXIT_FAILED;
  if (opt_trainable && !hone_cli_apply_trainable (g, opt_trainable, error))
    return HONE_CLI_EXIT_USAGE;
  g_autofree char *title = g_strdup_printf ("%s, %d classes", opt_arch, opt_classes);
  print_graph (g, title, NULL);
  return 0;
}

const HoneCliCommand hone_cli_info = {
  .name = "info",
  .summary = "Show a model's layers, shapes, parameters and FLOPs",
  .parameter = "[FILE|zoo:NAME]",
  .description = "Examples:\n"
                 "  hone-cli info zoo:cnn-s-fmnist0-4\n"
                 "  hone-cli info runs/x/final.safetensors --trainable head\n"
                 "  hone-cli info resnet18-torchvision.safetensors   (a bare state_dict: its tensors)\n"
                 "  hone-cli info --arch resnet18 --classes 5 --input 3x64x64 --trainable layer4,fc",
  .add_options = info_add_options,
  .run = info_run,
};
