/* hone-cli-model.c: building the model a command names, and choosing what
 * trains, shared by the subcommands. */
#include "config.h"

#include <string.h>

#include "hone-cli.h"

HoneGraph *
hone_cli_build_model (const char *arch, int classes, const char *input, const char *weights,
                      GError **error)
{
  const HoneArchInfo *info = hone_arch_find (arch);
  if (!info)
    {
      GString *names = g_string_new (NULL);
      for (const HoneArchInfo *const *a = hone_arch_list (); *a; a++)
        g_string_append_printf (names, "%s%s", names->len ? ", " : "", (*a)->name);
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--arch %s is not a built-in architecture: use one of %s",
                   arch, names->str);
      g_string_free (names, TRUE);
      return NULL;
    }
  HoneArchOptions opts;
  hone_arch_options_init (&opts, info);
  opts.classes = classes;
  if (input && !hone_cli_parse_chw (input, "--input", &opts.channels, &opts.height, &opts.width, error))
    return NULL;
  HoneGraph *g = hone_arch_build (arch, &opts, error);
  if (!g)
    return NULL;
  if (weights && !hone_graph_load_safetensors (g, weights, HONE_LOAD_STRICT, error))
    {
      hone_graph_free (g);
      return NULL;
    }
  return g;
}

gboolean
hone_cli_apply_trainable (HoneGraph *g, const char *spec, GError **error)
{
  if (g_strcmp0 (spec, "all") == 0)
    {
      hone_graph_set_trainable_prefix (g, NULL, TRUE);
      return TRUE;
    }
  g_auto (GStrv) prefixes = NULL;
  if (g_strcmp0 (spec, "head") == 0)
    prefixes = hone_graph_head_params (g);
  else
    prefixes = g_strsplit (spec, ",", -1);

  hone_graph_set_trainable_prefix (g, NULL, FALSE);
  for (int i = 0; prefixes[i]; i++)
    {
      g_strstrip (prefixes[i]);
      const char *one[] = { prefixes[i], NULL };
      if (hone_graph_set_trainable_prefix (g, one, TRUE) == 0)
        {
          g_set_error (error, HONE_CLI_USAGE_ERROR, 0,
                       "--trainable: no parameter name starts with '%s'; use all, head, or prefixes "
                       "such as layer4,fc (see hone-cli info)", prefixes[i]);
          return FALSE;
        }
    }
  return TRUE;
}
