/* hone-cli.c: hone-cli's entry point: subcommand dispatch, common options,
 * help and error reporting.  The subcommands themselves live in
 * hone-cli-<name>.c. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hone-cli.h"

gboolean hone_cli_json = FALSE;
int hone_cli_threads = 0;

G_DEFINE_QUARK (hone-cli-usage-error-quark, hone_cli_usage_error)

extern const HoneCliCommand hone_cli_train;
extern const HoneCliCommand hone_cli_eval;
extern const HoneCliCommand hone_cli_pretrain;
extern const HoneCliCommand hone_cli_zoo;
extern const HoneCliCommand hone_cli_export;

static const HoneCliCommand *const commands[] = {
  &hone_cli_info,
  &hone_cli_predict,
  &hone_cli_bench,
  &hone_cli_train,
  &hone_cli_eval,
  &hone_cli_pretrain,
  &hone_cli_zoo,
  &hone_cli_export,
  NULL,
};

void
hone_cli_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, isatty (STDOUT_FILENO));
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

gboolean
hone_cli_parse_chw (const char *text, const char *option, int *c, int *h, int *w, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text ? text : "", "x", -1);
  guint n = g_strv_length (parts);
  gint64 v[3] = { 1, 0, 0 };
  gboolean ok = n == 2 || n == 3;
  for (guint i = 0; ok && i < n; i++)
    ok = g_ascii_string_to_signed (parts[i], 10, 1, 65536, &v[3 - n + i], NULL);
  if (!ok)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0,
                   "%s '%s' is not a size: write CxHxW, for example 3x224x224", option, text ? text : "");
      return FALSE;
    }
  *c = (int) v[0];
  *h = (int) v[1];
  *w = (int) v[2];
  return TRUE;
}

char *
hone_cli_format_count (double n)
{
  if (n >= 1e9)
    return g_strdup_printf ("%.2f G", n / 1e9);
  if (n >= 1e6)
    return g_strdup_printf ("%.2f M", n / 1e6);
  if (n >= 1e3)
    return g_strdup_printf ("%.1f k", n / 1e3);
  return g_strdup_printf ("%.0f", n);
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: hone-cli COMMAND [OPTION…]\n\n"
                "Fine-tune pretrained image classifiers from the command line.\n\n"
                "Commands:\n");
  for (int i = 0; commands[i]; i++)
    fprintf (out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fprintf (out, "\nRun 'hone-cli COMMAND --help' for a command's options.\n");
}

static int
run_command (const HoneCliCommand *cmd, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  /* GOption prints "Usage: PRGNAME [OPTION…] PARAMETER", and PRGNAME
   * already names the command (below) */
  g_autoptr (GOptionContext) context = g_option_context_new (cmd->parameter);
  GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &hone_cli_json, "Print results as JSON", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &hone_cli_threads, "Threads to use (default: one per core)", "N" },
    { NULL }
  };
  g_option_context_set_summary (context, cmd->summary);
  if (cmd->description)
    g_option_context_set_description (context, cmd->description);
  if (cmd->add_options)
    cmd->add_options (context);
  g_option_context_add_main_entries (context, common, NULL);

  /* argv[0] becomes "hone-cli COMMAND" for GOption's messages */
  g_autofree char *prgname = g_strdup_printf ("hone-cli %s", cmd->name);
  g_set_prgname (prgname);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hone-cli %s: %s\n", cmd->name, error->message);
      return HONE_CLI_EXIT_USAGE;
    }
  if (hone_cli_threads < 0 || hone_cli_threads > 1024)
    {
      fprintf (stderr, "hone-cli %s: --threads %d is out of range: use 1 to 1024, or 0 for one per core\n",
               cmd->name, hone_cli_threads);
      return HONE_CLI_EXIT_USAGE;
    }
  hone_set_num_threads (hone_cli_threads);

  int status = cmd->run (argc - 1, argv + 1, &error);
  if (error)
    {
      fprintf (stderr, "hone-cli %s: %s\n", cmd->name, error->message);
      return error->domain == HONE_CLI_USAGE_ERROR ? HONE_CLI_EXIT_USAGE
                                                   : (status ? status : HONE_CLI_EXIT_FAILED);
    }
  return status;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      if (argc >= 3 && strcmp (argv[1], "help") == 0)
        {
          char *args[] = { argv[2], (char *) "--help", NULL };
          for (int i = 0; commands[i]; i++)
            if (strcmp (commands[i]->name, argv[2]) == 0)
              return run_command (commands[i], 2, args);
        }
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? HONE_CLI_EXIT_USAGE : 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("hone-cli %s\n", PACKAGE_VERSION);
      return 0;
    }
  for (int i = 0; commands[i]; i++)
    if (strcmp (commands[i]->name, argv[1]) == 0)
      return run_command (commands[i], argc - 1, argv + 1);

  fprintf (stderr, "hone-cli: '%s' is not a command; run 'hone-cli --help' for the list\n", argv[1]);
  return HONE_CLI_EXIT_USAGE;
}
