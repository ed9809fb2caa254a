/* hone-cli-bench.c: `hone-cli bench`: images per second of training steps.
 *
 * A step is forward, cross-entropy, backward and an SGD-with-momentum update
 * on random data, exactly what bench/bench-train.py times in PyTorch for the
 * comparison.  Warm-up steps are not timed. */
#include "config.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "hone-cli.h"

static char *opt_arch = NULL;
static char *opt_input = NULL;
static int opt_batch = 32;
static int opt_classes = 10;
static char *opt_trainable = NULL;
static double opt_seconds = 3.0;
static int opt_warmup = 3;
static int opt_steps = 0;

static void
bench_add_options (GOptionContext *context)
{
  static const GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Built-in architecture", "ARCH" },
    { "input", 0, 0, G_OPTION_ARG_STRING, &opt_input, "Input size CxHxW (default: the architecture's)", "CxHxW" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Batch size (default 32)", "B" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &opt_classes, "Classes of the head (default 10)", "N" },
    { "trainable", 0, 0, G_OPTION_ARG_STRING, &opt_trainable, "all (default), head, or parameter-name prefixes layer4,fc", "SET" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "Time to measure for (default 3)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &opt_steps, "Measure exactly this many steps instead", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &opt_warmup, "Untimed steps first (default 3)", "N" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static int
bench_run (int argc, char **argv, GError **error)
{
  if (!opt_arch)
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0, "missing --arch ARCH (see hone-cli bench --help)");
      return HONE_CLI_EXIT_USAGE;
    }
  if (opt_batch < 1 || opt_batch > 4096 || opt_seconds <= 0 || opt_seconds > 3600
      || opt_warmup < 0 || opt_steps < 0)
    {
      g_set_error_literal (error, HONE_CLI_USAGE_ERROR, 0,
                           "out of range: --batch 1 to 4096, --seconds above 0 up to 3600, "
                           "--warmup and --steps 0 or more");
      return HONE_CLI_EXIT_USAGE;
    }
  g_autoptr (HoneGraph) g = hone_cli_build_model (opt_arch, opt_classes, opt_input, NULL, error);
  if (!g)
    return HONE_CLI_EXIT_USAGE;
  if (!hone_cli_apply_trainable (g, opt_trainable ? opt_trainable : "all", error))
    return HONE_CLI_EXIT_USAGE;
  if (!hone_graph_plan (g, opt_batch, TRUE, error))
    return HONE_CLI_EXIT_FAILED;

  HoneOptimConfig oc;
  hone_optim_config_init (&oc, HONE_OPTIM_SGD);
  oc.momentum = 0.9;
  g_autoptr (HoneOptimizer) opt = hone_optimizer_new (g, &oc, error);
  if (!opt)
    return HONE_CLI_EXIT_FAILED;
  HoneLoss loss;
  hone_loss_init (&loss);
  g_autoptr (HoneTrainStep) ts = hone_train_step_new (g, opt, &loss, 1, error);
  if (!ts)
    return HONE_CLI_EXIT_FAILED;

  int x = hone_graph_input (g, 0);
  const HoneValue *xv = hone_graph_value (g, x);
  int64_t sample = hone_shape_numel (&xv->shape);
  HoneRng rng;
  hone_rng_init (&rng, 42, 0);
  float *data = hone_graph_input_data (g, x);
  for (int64_t i = 0; i < sample * opt_batch; i++)
    data[i] = hone_rng_uniform (&rng);
  g_autofree int32_t *labels = g_new (int32_t, opt_batch);
  for (int i = 0; i < opt_batch; i++)
    labels[i] = (int32_t) hone_rng_below (&rng, (uint32_t) opt_classes);

  HoneTrainStepResult res;
  for (int i = 0; i < opt_warmup; i++)
    if (!hone_train_step_run (ts, opt_batch, labels, NULL, 0.01, &res, error))
      return HONE_CLI_EXIT_FAILED;

  int steps = 0;
  gint64 t0 = g_get_monotonic_time (), t;
  for (;;)
    {
      if (!hone_train_step_run (ts, opt_batch, labels, NULL, 0.01, &res, error))
        return HONE_CLI_EXIT_FAILED;
      steps++;
      t = g_get_monotonic_time ();
      if (opt_steps ? steps >= opt_steps : (t - t0 >= opt_seconds * 1e6 && steps >= 3))
        break;
    }
  double seconds = (double) (t - t0) / 1e6;
  double ips = steps * opt_batch / seconds;
  char shape[128];
  hone_shape_to_string (&xv->shape, shape, sizeof shape);

  if (hone_cli_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
#define MEMBER(k, call) json_builder_set_member_name (b, k); call;
      MEMBER ("arch", json_builder_add_string_value (b, opt_arch));
      MEMBER ("input", json_builder_add_string_value (b, shape));
      MEMBER ("batch", json_builder_add_int_value (b, opt_batch));
      MEMBER ("trainable", json_builder_add_string_value (b, opt_trainable ? opt_trainable : "all"));
      MEMBER ("threads", json_builder_add_int_value (b, hone_get_num_threads ()));
      MEMBER ("blas_core", json_builder_add_string_value (b, openblas_get_corename ()));
      MEMBER ("steps", json_builder_add_int_value (b, steps));
      MEMBER ("seconds", json_builder_add_double_value (b, seconds));
      MEMBER ("images_per_s", json_builder_add_double_value (b, ips));
      MEMBER ("ms_per_step", json_builder_add_double_value (b, 1e3 * seconds / steps));
      MEMBER ("params", json_builder_add_int_value (b, hone_graph_n_params (g)));
      MEMBER ("trainable_params", json_builder_add_int_value (b, hone_graph_n_trainable_params (g)));
      MEMBER ("activation_bytes", json_builder_add_int_value (b, (gint64) hone_graph_activation_bytes (g)));
      MEMBER ("last_loss", json_builder_add_double_value (b, res.loss));
#undef MEMBER
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      hone_cli_print_json (root);
    }
  else
    {
      g_autofree char *act = hone_cli_format_count ((double) hone_graph_activation_bytes (g));
      printf ("%s, input %s, batch %d, trainable %s, %d threads, OpenBLAS %s kernels\n", opt_arch,
              shape, opt_batch, opt_trainable ? opt_trainable : "all", hone_get_num_threads (),
              openblas_get_corename ());
      printf ("%d steps in %.2f s: %.1f images/s, %.1f ms per step, activations %sB\n",
              steps, seconds, ips, 1e3 * seconds / steps, act);
    }
  return 0;
}

const HoneCliCommand hone_cli_bench = {
  .name = "bench",
  .summary = "Measure training steps per second on random data",
  .description = "Example: hone-cli bench --arch resnet18 --input 3x64x64 --batch 32 --trainable layer4,fc --json\n"
                 "Compare with PyTorch on the same machine: bench/bench-train.py",
  .add_options = bench_add_options,
  .run = bench_run,
};
