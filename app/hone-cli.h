/* hone-cli.h: what the hone-cli subcommands share.
 *
 * Each subcommand lives in its own hone-cli-<name>.c and exports one
 * HoneCliCommand.  Output is for people by default and JSON with --json;
 * errors are one line on stderr naming the file or setting, and a non-zero
 * exit status (1: the work failed, 2: the command line was wrong). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "hone-engine.h"

G_BEGIN_DECLS

typedef struct
{
  const char *name;
  const char *summary;       /* one line, shown by hone-cli --help */
  const char *parameter;     /* e.g. "[FILE]" or NULL */
  const char *description;   /* longer text under --help, or NULL */
  /* Adds the command's options; the common ones (--json, --threads) are added for it. */
  void (*add_options) (GOptionContext *context);
  /* argv holds the positional arguments (after option parsing). */
  int  (*run) (int argc, char **argv, GError **error);
} HoneCliCommand;

/* The options every command has. */
extern gboolean hone_cli_json;
extern int      hone_cli_threads;

/* Prints a JSON node on stdout, pretty when stdout is a terminal. */
void hone_cli_print_json (JsonNode *node);

/* Exit statuses. */
#define HONE_CLI_EXIT_FAILED 1
#define HONE_CLI_EXIT_USAGE  2

/* Sets a usage error (exit status 2). */
#define HONE_CLI_USAGE_ERROR (hone_cli_usage_error_quark ())
GQuark hone_cli_usage_error_quark (void);

/* Parses "CxHxW" (or "HxW" with channels 1) into c, h, w. */
gboolean hone_cli_parse_chw (const char *text, const char *option, int *c, int *h, int *w, GError **error);

/* Formats a count with a unit suffix, "11.7 M" */
char *hone_cli_format_count (double n);

extern const HoneCliCommand hone_cli_info;
extern const HoneCliCommand hone_cli_predict;
extern const HoneCliCommand hone_cli_bench;

/* Runs a trainer made for run_dir to its end, showing progress as
 * `hone-cli train` does (a bar on a terminal, JSON lines otherwise) and
 * stopping it on SIGINT or SIGTERM.  0 when the run completed or stopped
 * early, otherwise an exit status with error set. */
int hone_cli_run_trainer (HoneTrainer *t, const char *run_dir, GError **error);

G_END_DECLS

G_BEGIN_DECLS

/* Builds a built-in architecture with `classes` outputs at input size
 * `input` ("CxHxW", NULL for the architecture's default), loading `weights`
 * (a safetensors file, may be NULL) by name.  Free with hone_graph_free. */
HoneGraph *hone_cli_build_model (const char *arch, int classes, const char *input,
                                 const char *weights, GError **error);

/* Makes trainable what `spec` names: "all", "head" (the classifier head), or
 * comma-separated parameter-name prefixes ("layer4,fc"); freezes the rest. */
gboolean hone_cli_apply_trainable (HoneGraph *g, const char *spec, GError **error);

G_END_DECLS
