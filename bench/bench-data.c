/* bench-data.c: images per second of the data pipeline.
 *
 * Runs the loader over a source (Fashion-MNIST's training set by default),
 * decoded, resized to SIZE x SIZE RGB, augmented with flips, rotation and a
 * random resized crop, normalised and batched, on the given number of
 * loader threads, and prints the images per second hone_loader_next
 * delivers, with what one image costs on one thread to decode and resize
 * and to augment.  Compare with the training step on the same machine:
 *   hone-cli bench --arch resnet18 --input 3x64x64 --batch 32
 * The pipeline should deliver at least three times that.
 *
 * Run by hand, not as a test: timings on a shared machine vary. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "hone-engine.h"

static int opt_threads = 2;
static int opt_batch = 32;
static int opt_size = 64;
static int opt_batches = 400;
static int opt_prefetch = 4;
static char *opt_source = NULL;
static gboolean opt_plain = FALSE;
static gboolean opt_json = FALSE;

static const GOptionEntry entries[] = {
  { "source", 's', 0, G_OPTION_ARG_STRING, &opt_source, "Data source (default fmnist)", "SOURCE" },
  { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads, "Loader threads (default 2)", "N" },
  { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch, "Batch size (default 32)", "N" },
  { "size", 0, 0, G_OPTION_ARG_INT, &opt_size, "Image side in pixels (default 64)", "PX" },
  { "batches", 'n', 0, G_OPTION_ARG_INT, &opt_batches, "Batches to time (default 400)", "N" },
  { "prefetch", 0, 0, G_OPTION_ARG_INT, &opt_prefetch, "Batches made ahead (default 4)", "N" },
  { "no-augment", 0, 0, G_OPTION_ARG_NONE, &opt_plain, "Decode and resize only", NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print one JSON object", NULL },
  { NULL }
};

/* Microseconds per image on this thread for decoding + resizing, and for
 * drawing + applying the augmentation. */
static gboolean
time_stages (HoneDataset *ds, const HoneLoaderConfig *cfg, double *decode_us, double *augment_us,
             GError **error)
{
  const HoneImageFormat *f = &cfg->format;
  const int n = 300;
  const int64_t S = (int64_t) f->channels * f->height * f->width;
  g_autofree float *img = g_new (float, S);
  g_autofree float *out = g_new (float, S);
  const int n_samples = hone_dataset_n_samples (ds);

  /* once untimed: the first loads may read the source and fault pages in */
  for (int i = 0; i < 50; i++)
    if (!hone_dataset_load (ds, i, f->channels, f->height, f->width, img, error))
      return FALSE;
  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < n; i++)
    if (!hone_dataset_load (ds, (i * 7919) % n_samples, f->channels, f->height, f->width, img,
                            error))
      return FALSE;
  gint64 t1 = g_get_monotonic_time ();
  HoneRng rng;
  hone_rng_init (&rng, 1, 1);
  for (int i = 0; i < n; i++)
    {
      HoneAugmentDraw draw;
      hone_augment_draw (&draw, &cfg->augment, f->height, f->width, &rng);
      hone_augment_apply (out, img, &draw, f->mean, f->channels, f->height, f->width);
    }
  gint64 t2 = g_get_monotonic_time ();
  *decode_us = (double) (t1 - t0) / n;
  *augment_us = (double) (t2 - t1) / n;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new ("- images per second of the data pipeline");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-data: %s\n", error->message);
      return 2;
    }
  const char *source = opt_source != NULL ? opt_source : "fmnist";
  if (opt_batches < 1)
    {
      fprintf (stderr, "bench-data: --batches must be 1 or more\n");
      return 2;
    }

  g_autoptr (HoneDataset) ds = hone_dataset_open (source, &error);
  if (ds == NULL)
    {
      fprintf (stderr, "bench-data: %s\n", error->message);
      return 1;
    }
  const int n = hone_dataset_n_samples (ds);
  g_autofree int *indices = g_new (int, n);
  for (int i = 0; i < n; i++)
    indices[i] = i;

  HoneLoaderConfig cfg = {
    .format = { .channels = 3, .height = opt_size, .width = opt_size,
                .mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f } },
    .sampling = HONE_SAMPLING_SHUFFLE,
    .batch = opt_batch,
    .seed = 1,
    .threads = opt_threads,
    .prefetch = opt_prefetch,
  };
  if (!opt_plain)
    cfg.augment = (HoneAugment) { .hflip = 0.5, .vflip = 0.5, .rotate = 15,
                                  .crop_scale_min = 0.5 };

  double decode_us = 0, augment_us = 0;
  if (!time_stages (ds, &cfg, &decode_us, &augment_us, &error))
    {
      fprintf (stderr, "bench-data: %s\n", error->message);
      return 1;
    }

  g_autoptr (HoneLoader) loader = hone_loader_new (ds, indices, n, &cfg, &error);
  if (loader == NULL)
    {
      fprintf (stderr, "bench-data: %s\n", error->message);
      return 1;
    }
  const int64_t S = 3 * (int64_t) opt_size * opt_size;
  g_autofree float *images = g_new (float, opt_batch * S);
  g_autofree int32_t *labels = g_new (int32_t, opt_batch);

  /* the first batches pay for starting the threads and filling the ring */
  hone_loader_start_epoch (loader, 0, 0);
  int warmup = MIN (3, hone_loader_n_batches (loader) - 1);
  for (int b = 0; b < warmup; b++)
    hone_loader_next (loader, images, labels, NULL, NULL, NULL);

  int64_t delivered = 0;
  int epoch = 0;
  gint64 t0 = g_get_monotonic_time ();
  for (int b = 0; b < opt_batches; b++)
    {
      int got = hone_loader_next (loader, images, labels, NULL, NULL, NULL);
      if (got == 0)
        {
          hone_loader_start_epoch (loader, ++epoch, 0);
          b--;
          continue;
        }
      delivered += got;
    }
  double seconds = (double) (g_get_monotonic_time () - t0) / 1e6;
  double per_second = delivered / seconds;
  g_autoptr (GPtrArray) issues = hone_loader_take_issues (loader);

  if (opt_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, source);
      json_builder_set_member_name (b, "input");
      g_autofree char *input = g_strdup_printf ("3x%dx%d", opt_size, opt_size);
      json_builder_add_string_value (b, input);
      json_builder_set_member_name (b, "batch");
      json_builder_add_int_value (b, opt_batch);
      json_builder_set_member_name (b, "threads");
      json_builder_add_int_value (b, opt_threads);
      json_builder_set_member_name (b, "augment");
      json_builder_add_boolean_value (b, !opt_plain);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, delivered);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_set_member_name (b, "images_per_second");
      json_builder_add_double_value (b, per_second);
      json_builder_set_member_name (b, "decode_us_per_image");
      json_builder_add_double_value (b, decode_us);
      json_builder_set_member_name (b, "augment_us_per_image");
      json_builder_add_double_value (b, augment_us);
      json_builder_set_member_name (b, "skipped");
      json_builder_add_int_value (b, issues->len);
      json_builder_end_object (b);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      printf ("source      %s, %d samples\n", source, n);
      printf ("pipeline    decode, resize to 3x%dx%d%s, normalise, batch %d\n", opt_size,
              opt_size, opt_plain ? "" : ", flips + rotation + random resized crop", opt_batch);
      printf ("one thread  %.1f us/image decode+resize, %.1f us/image augment\n",
              decode_us, augment_us);
      printf ("loader      %d threads, prefetch %d: %" G_GINT64_FORMAT " images in %.2f s\n",
              opt_threads, opt_prefetch, delivered, seconds);
      printf ("%.0f images/s\n", per_second);
    }
  return 0;
}
