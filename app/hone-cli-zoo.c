/* hone-cli-zoo.c: `hone-cli zoo`: the pretrained models there are, as a
 * table or as JSON.  Listing reads the manifest only; `--verify` also
 * checks every file's size and SHA-256.
 *
 * This file does not load models (hone-model.h) or make them
 * (hone-cli pretrain). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

static char *opt_dir = NULL;
static gboolean opt_verify = FALSE;

static void
zoo_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "A zoo folder other than the default (HONE_ZOO_DIR or the installed one)", "DIR" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify, "Check every model file's size and SHA-256", NULL },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static int
zoo_run (int argc, char **argv, GError **error)
{
  if (argc > 0)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "unexpected argument '%s' (see hone-cli zoo --help)", argv[0]);
      return HONE_CLI_EXIT_USAGE;
    }
  g_autoptr (HoneZoo) zoo = hone_zoo_open (opt_dir, FALSE, error);
  if (!zoo)
    return HONE_CLI_EXIT_FAILED;
  int n = hone_zoo_n_entries (zoo);
  if (opt_verify)
    for (int i = 0; i < n; i++)
      if (!hone_zoo_verify (zoo, hone_zoo_entry (zoo, i), error))
        return HONE_CLI_EXIT_FAILED;

  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dir");
      json_builder_add_string_value (b, hone_zoo_dir (zoo));
      json_builder_set_member_name (b, "models");
      json_builder_begin_array (b);
      for (int i = 0; i < n; i++)
        {
          const HoneZooEntry *e = hone_zoo_entry (zoo, i);
          g_autofree char *input = g_strdup_printf ("%dx%dx%d", e->channels, e->height, e->width);
          g_autofree char *path = hone_zoo_entry_path (zoo, e);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, e->name);
          json_builder_set_member_name (b, "source");
          g_autofree char *src = g_strconcat (HONE_ZOO_PREFIX, e->name, NULL);
          json_builder_add_string_value (b, src);
          json_builder_set_member_name (b, "arch");
          json_builder_add_string_value (b, e->arch);
          json_builder_set_member_name (b, "input");
          json_builder_add_string_value (b, input);
          json_builder_set_member_name (b, "classes");
          json_builder_begin_array (b);
          for (int c = 0; e->classes[c]; c++)
            json_builder_add_string_value (b, e->classes[c]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "trained_on");
          json_builder_add_string_value (b, e->source_classes ? e->source_classes : "");
          json_builder_set_member_name (b, "params");
          json_builder_add_int_value (b, e->params);
          json_builder_set_member_name (b, "accuracy");
          json_builder_add_double_value (b, e->accuracy);
          json_builder_set_member_name (b, "correct");
          json_builder_add_int_value (b, e->correct);
          json_builder_set_member_name (b, "samples");
          json_builder_add_int_value (b, e->samples);
          json_builder_set_member_name (b, "split");
          json_builder_add_string_value (b, e->split ? e->split : "");
          json_builder_set_member_name (b, "file");
          json_builder_add_string_value (b, path);
          json_builder_set_member_name (b, "bytes");
          json_builder_add_int_value (b, e->bytes);
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, e->sha256);
          json_builder_set_member_name (b, "description");
          json_builder_add_string_value (b, e->description);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
      return 0;
    }

  printf ("%-24s %-13s %-9s %7s %8s %9s  %s\n", "name", "arch", "input", "classes", "params",
          "accuracy", "description");
  for (int i = 0; i < n; i++)
    {
      const HoneZooEntry *e = hone_zoo_entry (zoo, i);
      g_autofree char *input = g_strdup_printf ("%dx%dx%d", e->channels, e->height, e->width);
      g_autofree char *params = hone_cli_format_count ((double) e->params);
      printf ("%-24s %-13s %-9s %7u %8s %7.1f %%  %s\n", e->name, e->arch, input,
              g_strv_length (e->classes), params, 100.0 * e->accuracy, e->description);
    }
  if (n == 0)
    printf ("(no models in %s)\n", hone_zoo_dir (zoo));
  else
    printf ("\n%d models in %s; use one as zoo:NAME (accuracy on Fashion-MNIST's test images of "
            "the same classes)\n", n, hone_zoo_dir (zoo));
  return 0;
}

const HoneCliCommand hone_cli_zoo = {
  .name = "zoo",
  .summary = "List the built-in pretrained models",
  .description = "Use a model as zoo:NAME: in a recipe (model.source = zoo:NAME), or with\n"
                 "hone-cli info zoo:NAME and hone-cli predict --model zoo:NAME.\n"
                 "The zoo folder is HONE_ZOO_DIR if set, else the one Hone was built or installed with.",
  .add_options = zoo_add_options,
  .run = zoo_run,
};
