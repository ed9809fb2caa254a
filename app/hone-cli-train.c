/* hone-cli-train.c: `hone-cli train`: a whole fine-tuning run from a recipe.
 *
 * The trainer runs on its own thread; the main thread draws a progress bar
 * on a terminal (at most ten times a second, redrawn in place) or prints
 * every event as one JSON line (--json, or when stdout is not a terminal),
 * and turns SIGINT and SIGTERM into a stop command: the handler only sets an
 * atomic, the run stops within one batch, writes its checkpoint and the
 * command exits non-zero (128 + the signal).  A second signal kills at once
 * (the checkpoint is replaced atomically, so nothing is torn).
 *
 * This file does not train: hone-trainer.h does. */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hone-cli.h"

static char **opt_set = NULL;
static char *opt_out = NULL;
static char *opt_resume = NULL;

static atomic_int signal_received = 0;

static void
train_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_set, "Change one setting of the recipe (repeatable)", "GROUP.KEY=VALUE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &opt_out, "Run folder (default: runs/DATE-TIME)", "DIR" },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &opt_resume, "Continue the run in DIR from its checkpoint", "DIR" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static void
on_signal (int signo)
{
  atomic_store (&signal_received, signo);
}

typedef struct
{
  gboolean json;
  gboolean tty;
  gint64 last_draw;
  gint64 session_start;       /* first STEP of this session */
  int64_t session_batches;
  int n_epochs;
  int n_batches;
  char *run_dir;
  gboolean diverged;
  double diverged_lr;
  double suggested_lr;
  gboolean bar_shown;
} TrainUi;

static void
clear_bar (TrainUi *ui)
{
  if (ui->bar_shown)
    {
      fputs ("\r\033[K", stdout);
      fflush (stdout);
      ui->bar_shown = FALSE;
    }
}

static char *
format_duration (double s)
{
  if (!isfinite (s) || s < 0)
    return g_strdup ("?");
  int64_t t = (int64_t) (s + 0.5);
  if (t >= 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", t / 3600, (int) (t / 60 % 60), (int) (t % 60));
  return g_strdup_printf ("%d:%02d", (int) (t / 60), (int) (t % 60));
}

static void
draw_bar (TrainUi *ui, const HoneEvent *ev)
{
  const HoneStepInfo *s = &ev->train;
  gint64 now = g_get_monotonic_time ();
  if (ui->bar_shown && now - ui->last_draw < 100000 && s->batch < s->n_batches)
    return;
  ui->last_draw = now;
  double per_batch = ui->session_batches > 0
                       ? (double) (now - ui->session_start) / 1e6 / (double) ui->session_batches : NAN;
  int64_t left = (int64_t) (ev->n_epochs - ev->epoch) * s->n_batches + (s->n_batches - s->batch);
  g_autofree char *eta = format_duration (per_batch * (double) left);
  const int width = 24;
  int filled = s->n_batches > 0 ? (int) ((int64_t) width * s->batch / s->n_batches) : 0;
  char bar[32];
  for (int i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  printf ("\r\033[Kepoch %d/%d [%s] %d/%d  loss %.4f  acc %.1f %%  %.0f img/s  ETA %s", ev->epoch,
          ev->n_epochs, bar, s->batch, s->n_batches, s->epoch_loss, 100.0 * s->epoch_accuracy,
          s->images_per_s, eta);
  fflush (stdout);
  ui->bar_shown = TRUE;
}

static void
print_json_event (const HoneEvent *ev)
{
  g_autoptr (JsonNode) node = hone_event_to_json (ev);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

static void
handle_event (TrainUi *ui, HoneTrainer *t, const HoneEvent *ev)
{
  if (ev->kind == HONE_EVENT_PAUSED && ev->diverged)
    {
      /* nobody is there to lower the rate: stop, keeping the last good checkpoint */
      ui->diverged = TRUE;
      ui->diverged_lr = ev->lr;
      ui->suggested_lr = ev->suggested_lr;
      hone_trainer_stop (t);
    }
  if (ev->kind == HONE_EVENT_STEP)
    {
      if (ui->session_batches++ == 0)
        ui->session_start = g_get_monotonic_time ();
    }
  if (ui->json)
    {
      print_json_event (ev);
      return;
    }

  switch (ev->kind)
    {
    case HONE_EVENT_STARTED:
      {
        const HoneStartInfo *s = &ev->start;
        g_autofree char *params = hone_cli_format_count ((double) s->params);
        g_autofree char *trainable = hone_cli_format_count ((double) s->trainable_params);
        printf ("%s %s: %d training, %d validation, %d test samples in %d classes "
                "(imbalance %.2g); %s of %s parameters train%s\n",
                s->resumed ? "Continuing" : "Training", ui->run_dir, s->n_train, s->n_val, s->n_test,
                s->n_classes, s->imbalance, trainable, params,
                s->head_replaced ? "; new head" : "");
        fflush (stdout);
      }
      break;
    case HONE_EVENT_STEP:
      if (ui->tty)
        draw_bar (ui, ev);
      break;
    case HONE_EVENT_EPOCH:
      {
        const HoneEpochInfo *e = &ev->epoch_info;
        clear_bar (ui);
        printf ("epoch %d/%d: train loss %.4f, accuracy %.1f %%", ev->epoch, ev->n_epochs,
                e->train_loss, 100.0 * e->train_accuracy);
        if (isfinite (e->val_loss))
          printf ("; validation loss %.4f, accuracy %.1f %%%s", e->val_loss, 100.0 * e->val_accuracy,
                  e->best ? " (best)" : "");
        printf ("; lr %.3g; %.1f s\n", e->lr, e->seconds);
        fflush (stdout);
      }
      break;
    case HONE_EVENT_WARNING:
      clear_bar (ui);
      fprintf (stderr, "warning: %s\n", ev->message);
      break;
    case HONE_EVENT_PAUSED:
      if (ev->diverged)
        {
          clear_bar (ui);
          fprintf (stderr, "%s\n", ev->message);
        }
      break;
    case HONE_EVENT_CHECKPOINT:
      if (g_strcmp0 (ev->what, "final") == 0 || g_strcmp0 (ev->what, "report") == 0)
        {
          clear_bar (ui);
          printf ("wrote %s\n", ev->path);
        }
      break;
    case HONE_EVENT_FINISHED:
      clear_bar (ui);
      if (ev->reason == HONE_FINISH_COMPLETED || ev->reason == HONE_FINISH_EARLY_STOPPED)
        printf ("%s\n", ev->message);
      fflush (stdout);
      break;
    case HONE_EVENT_VALIDATION:
    case HONE_EVENT_ERROR:
    case HONE_EVENT_RESUMED:
      break;
    }
}

/* runs/YYYYMMDD-HHMMSS, made unique with a suffix. */
static char *
default_run_dir (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  char *dir = g_build_filename ("runs", stamp, NULL);
  for (int i = 2; g_file_test (dir, G_FILE_TEST_EXISTS); i++)
    {
      g_free (dir);
      g_autofree char *name = g_strdup_printf ("%s-%d", stamp, i);
      dir = g_build_filename ("runs", name, NULL);
    }
  return dir;
}

static int
train_run (int argc, char **argv, GError **error)
{
  if (argc > 1)
    {
      g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "give one recipe at most, not '%s'", argv[1]);
      return HONE_CLI_EXIT_USAGE;
    }
  if (opt_resume && (argc == 1 || opt_out))
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                           "--resume DIR continues the run with its own recipe and folder: give no "
                           "RECIPE or --out (change settings with --set)");
      return HONE_CLI_EXIT_USAGE;
    }

  g_autoptr (HoneRecipe) recipe = NULL;
  g_autofree char *resume_recipe = opt_resume ? g_build_filename (opt_resume, "recipe.hone", NULL) : NULL;
  g_autofree char *resume_checkpoint = opt_resume ? g_build_filename (opt_resume, "checkpoint.safetensors", NULL)
                                                  : NULL;
  if (opt_resume && !g_file_test (resume_checkpoint, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "%s holds no checkpoint.safetensors to continue from",
                   opt_resume);
      return HONE_CLI_EXIT_FAILED;
    }
  if (opt_resume)
    recipe = hone_recipe_load (resume_recipe, error);
  else if (argc == 1)
    recipe = hone_recipe_load (argv[0], error);
  else
    recipe = hone_recipe_new ();
  if (!recipe)
    return HONE_CLI_EXIT_FAILED;
  for (int i = 0; opt_set && opt_set[i]; i++)
    {
      g_autoptr (GError) local = NULL;
      if (!hone_recipe_set (recipe, opt_set[i], &local))
        {
          g_set_error (error, HONE_CLI_USAGE_ERROR, 0, "--set %s: %s", opt_set[i], local->message);
          return HONE_CLI_EXIT_USAGE;
        }
    }
  if (hone_cli_threads > 0 && recipe->threads == 0)
    recipe->threads = hone_cli_threads;

  g_autofree char *run_dir = opt_resume ? g_strdup (opt_resume)
                             : opt_out ? g_strdup (opt_out) : default_run_dir ();
  gboolean changed = opt_set && opt_set[0];
  g_autoptr (HoneTrainer) t = opt_resume ? hone_trainer_open (run_dir, changed || hone_cli_threads > 0
                                                                         ? recipe : NULL, error)
                                         : hone_trainer_new (recipe, run_dir, error);
  if (!t)
    return HONE_CLI_EXIT_FAILED;
  return hone_cli_run_trainer (t, run_dir, error);
}

int
hone_cli_run_trainer (HoneTrainer *t, const char *run_dir, GError **error)
{
  TrainUi ui = { 0 };
  ui.tty = isatty (STDOUT_FILENO);
  ui.json = hone_cli_json || !ui.tty;
  ui.run_dir = (char *) run_dir;

  struct sigaction sa = { 0 }, old_int, old_term;
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset (&sa.sa_mask);
  atomic_store (&signal_received, 0);
  sigaction (SIGINT, &sa, &old_int);
  sigaction (SIGTERM, &sa, &old_term);

  if (!hone_trainer_start (t, error))
    return HONE_CLI_EXIT_FAILED;
  g_autofree char *failure = NULL;
  gboolean stop_sent = FALSE;
  for (;;)
    {
      if (atomic_load (&signal_received) && !stop_sent)
        {
          hone_trainer_stop (t);
          stop_sent = TRUE;
          if (!ui.json)
            {
              clear_bar (&ui);
              fprintf (stderr, "stopping after this batch…\n");
            }
        }
      g_autoptr (HoneEvent) ev = hone_trainer_wait_event (t, 100);
      if (!ev)
        continue;
      if (ev->kind == HONE_EVENT_ERROR)
        failure = g_strdup (ev->message);
      handle_event (&ui, t, ev);
      if (ev->kind == HONE_EVENT_FINISHED)
        break;
    }
  HoneFinishReason reason = hone_trainer_join (t);
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);

  int sig = atomic_load (&signal_received);
  g_autofree char *checkpoint = g_build_filename (run_dir, "checkpoint.safetensors", NULL);
  switch (reason)
    {
    case HONE_FINISH_COMPLETED:
    case HONE_FINISH_EARLY_STOPPED:
      return 0;
    case HONE_FINISH_STOPPED:
      g_set_error (error, HONE_ERROR, HONE_ERROR_CANCELLED,
                   "stopped%s; continue with: hone-cli train --resume %s",
                   sig ? (sig == SIGINT ? " by SIGINT" : " by SIGTERM") : "", run_dir);
      return sig ? 128 + sig : HONE_CLI_EXIT_FAILED;
    case HONE_FINISH_DIVERGED:
      if (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR))
        g_set_error (error, HONE_ERROR, HONE_ERROR_DIVERGED,
                     "training diverged with learning rate %.3g; the last good checkpoint in %s is "
                     "kept: continue with hone-cli train --resume %s --set optimizer.lr=%.3g",
                     ui.diverged_lr, run_dir, run_dir, ui.suggested_lr);
      else
        g_set_error (error, HONE_ERROR, HONE_ERROR_DIVERGED,
                     "training diverged with learning rate %.3g before the first checkpoint: start "
                     "again with a lower rate, --set optimizer.lr=%.3g for example",
                     ui.diverged_lr, ui.suggested_lr);
      return sig ? 128 + sig : HONE_CLI_EXIT_FAILED;
    case HONE_FINISH_FAILED:
    default:
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "%s", failure ? failure : "the run failed");
      return HONE_CLI_EXIT_FAILED;
    }
}

const HoneCliCommand hone_cli_train = {
  .name = "train",
  .summary = "Fine-tune a model as a recipe describes",
  .parameter = "[RECIPE]",
  .description = "Without a RECIPE, fine-tunes the built-in default (cnn-s on Fashion-MNIST 5-9).\n"
                 "Examples:\n"
                 "  hone-cli train my.hone --set train.epochs=5 --out runs/five\n"
                 "  hone-cli train --set data.limit=2000 --json\n"
                 "  hone-cli train --resume runs/five\n"
                 "The run folder holds recipe.hone, metrics.jsonl, checkpoint.safetensors,\n"
                 "best.safetensors, final.safetensors and report.json.  Ctrl-C stops after the\n"
                 "current batch and keeps a checkpoint to continue from.",
  .add_options = train_add_options,
  .run = train_run,
};
