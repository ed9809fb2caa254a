/* test-loader.c: the loader over datasets written by the test: every
 * sample once per epoch, orders per epoch and seed, sequential and balanced
 * sampling, drop_last and short batches, the same batches for 1 and 4
 * threads and when resuming mid-epoch, bad samples skipped and reported,
 * freeing mid-epoch, configuration errors, and the augmentation preview. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "hone-test-images.h"
#include "hone-test-util.h"

/* Sample i is flat at value_of (i), so that a batch shows which samples it
 * holds whatever ids it reports. */
static float
value_of (int i)
{
  return (float) (i + 1) / 1024.0f;
}

typedef struct
{
  char *dir;
  char *path;
  HoneDataset *ds;
} Fixture;

/* Writes images (n, C, H, W) and labels (n) as fx->path, with k class
 * names, and opens it. */
static void
fixture_write (Fixture *fx, const float *images, const int64_t *labels, int n, int C, int H,
               int W, int k)
{
  g_autoptr (GError) error = NULL;
  fx->dir = hone_test_make_tmp_dir ("hone-loader-XXXXXX");
  fx->path = g_build_filename (fx->dir, "data.safetensors", NULL);

  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  HoneShape ishape = HONE_SHAPE (n, C, H, W), lshape = HONE_SHAPE (n);
  g_assert_true (hone_safetensors_writer_add_f32 (w, "images", &ishape, images, &error));
  g_assert_true (hone_safetensors_writer_add_i64 (w, "labels", &lshape, labels, &error));
  GString *classes = g_string_new (NULL);
  for (int c = 0; c < k; c++)
    g_string_append_printf (classes, "%sclass%d", c ? "," : "", c);
  hone_safetensors_writer_set_metadata (w, "classes", classes->str);
  g_string_free (classes, TRUE);
  g_assert_true (hone_safetensors_writer_write (w, fx->path, &error));
  g_assert_no_error (error);

  fx->ds = hone_dataset_open (fx->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->ds);
  g_assert_cmpint (hone_dataset_n_samples (fx->ds), ==, n);
  g_assert_cmpint (hone_dataset_n_classes (fx->ds), ==, k);
}

/* A safetensors dataset of n flat (C, H, W) float images, sample i at
 * value_of (i); labels[i] = label_of[i], or i % k when label_of is NULL. */
static void
fixture_open (Fixture *fx, int n, int C, int H, int W, int k, const int *label_of)
{
  const int64_t S = (int64_t) C * H * W;
  g_autofree float *images = g_new (float, n * S);
  g_autofree int64_t *labels = g_new (int64_t, n);
  for (int i = 0; i < n; i++)
    {
      for (int64_t j = 0; j < S; j++)
        images[i * S + j] = value_of (i);
      labels[i] = label_of != NULL ? label_of[i] : i % k;
    }
  fixture_write (fx, images, labels, n, C, H, W, k);
}

/* The same with random pixels, for the transforms to have something to do. */
static void
fixture_open_textured (Fixture *fx, int n, int C, int H, int W, int k)
{
  const int64_t S = (int64_t) C * H * W;
  g_autofree float *images = g_new (float, n * S);
  g_autofree int64_t *labels = g_new (int64_t, n);
  HoneRng rng;
  hone_rng_init (&rng, 3, 3);
  hone_test_fill_uniform (&rng, images, n * S, 0, 1);
  for (int i = 0; i < n; i++)
    labels[i] = i % k;
  fixture_write (fx, images, labels, n, C, H, W, k);
}

static void
fixture_close (Fixture *fx)
{
  hone_dataset_free (fx->ds);
  hone_test_remove_tree (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

static int *
all_indices (int n)
{
  g_assert (n >= 0);
  int *idx = g_new (int, n);
  for (int i = 0; i < n; i++)
    idx[i] = i;
  return idx;
}

static HoneLoaderConfig
plain_config (int C, int H, int W, int batch, HoneSampling sampling, int threads)
{
  HoneLoaderConfig cfg = {
    .format = { .channels = C, .height = H, .width = W,
                .mean = { 0, 0, 0, 0 }, .std = { 1, 1, 1, 1 } },
    .sampling = sampling,
    .batch = batch,
    .seed = 1234,
    .threads = threads,
    .prefetch = 2,
  };
  return cfg;
}

/* One batch as hone_loader_next returned it. */
typedef struct
{
  int n;
  gboolean mixed;
  float *images;
  int32_t *labels;
  float *targets;
  int *ids;
} Batch;

static void
batch_free (gpointer p)
{
  Batch *b = p;
  g_free (b->images);
  g_free (b->labels);
  g_free (b->targets);
  g_free (b->ids);
  g_free (b);
}

/* Every batch left in the current epoch. */
static GPtrArray *
take_epoch (HoneLoader *l, const HoneLoaderConfig *cfg, int n_classes)
{
  const int64_t S = (int64_t) cfg->format.channels * cfg->format.height * cfg->format.width;
  GPtrArray *batches = g_ptr_array_new_with_free_func (batch_free);
  for (;;)
    {
      Batch *b = g_new0 (Batch, 1);
      b->images = g_new0 (float, cfg->batch * S);
      b->labels = g_new0 (int32_t, cfg->batch);
      b->targets = g_new0 (float, cfg->batch * n_classes);
      b->ids = g_new0 (int, cfg->batch);
      b->n = hone_loader_next (l, b->images, b->labels, b->targets, &b->mixed, b->ids);
      if (b->n == 0)
        {
          batch_free (b);
          break;
        }
      g_ptr_array_add (batches, b);
    }
  return batches;
}

/* The ids of an epoch in order; checks that each image shows its id. */
static GArray *
epoch_ids (GPtrArray *batches, const Fixture *fx, int64_t S)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint b = 0; b < batches->len; b++)
    {
      const Batch *batch = batches->pdata[b];
      for (int k = 0; k < batch->n; k++)
        {
          int id = batch->ids[k];
          g_array_append_val (ids, id);
          g_assert_cmpint (batch->labels[k], ==, hone_dataset_label (fx->ds, id));
          for (int64_t j = 0; j < S; j += MAX (S / 7, 1))
            g_assert_cmpfloat_with_epsilon (batch->images[k * S + j], value_of (id), 1e-6);
        }
    }
  return ids;
}

static void
assert_batches_equal (GPtrArray *a, GPtrArray *b, int64_t S, int n_classes)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      const Batch *x = a->pdata[i], *y = b->pdata[i];
      g_assert_cmpint (x->n, ==, y->n);
      g_assert_cmpint (x->mixed, ==, y->mixed);
      g_assert_cmpmem (x->ids, x->n * sizeof (int), y->ids, y->n * sizeof (int));
      g_assert_cmpmem (x->labels, x->n * sizeof (int32_t), y->labels, y->n * sizeof (int32_t));
      g_assert_cmpmem (x->images, x->n * S * sizeof (float), y->images, y->n * S * sizeof (float));
      if (x->mixed)
        g_assert_cmpmem (x->targets, x->n * n_classes * sizeof (float),
                         y->targets, y->n * n_classes * sizeof (float));
    }
}

static void
test_shuffle_epoch (void)
{
  Fixture fx;
  const int N = 103, K = 4;
  fixture_open (&fx, N, 1, 3, 5, K, NULL);
  g_autofree int *idx = all_indices (N);
  HoneLoaderConfig cfg = plain_config (1, 3, 5, 10, HONE_SAMPLING_SHUFFLE, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneLoader) l = hone_loader_new (fx.ds, idx, N, &cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_loader_n_batches (l), ==, 11);

  GArray *orders[3];
  for (int e = 0; e < 3; e++)
    {
      hone_loader_start_epoch (l, e, 0);
      g_autoptr (GPtrArray) batches = take_epoch (l, &cfg, K);
      g_assert_cmpuint (batches->len, ==, 11);
      for (guint b = 0; b < batches->len; b++)
        {
          const Batch *batch = batches->pdata[b];
          g_assert_cmpint (batch->n, ==, b < 10 ? 10 : 3);   /* a short last batch */
          g_assert_false (batch->mixed);
        }
      orders[e] = epoch_ids (batches, &fx, 15);
      /* every sample exactly once */
      g_autofree int *seen = g_new0 (int, N);
      for (guint i = 0; i < orders[e]->len; i++)
        seen[g_array_index (orders[e], int, i)]++;
      for (int i = 0; i < N; i++)
        g_assert_cmpint (seen[i], ==, 1);
      /* the end of the epoch stays the end */
      float img[10 * 15];
      int32_t lab[10];
      g_assert_cmpint (hone_loader_next (l, img, lab, NULL, NULL, NULL), ==, 0);
    }
  /* a fresh order each epoch, not the identity */
  g_assert_true (memcmp (orders[0]->data, orders[1]->data, N * sizeof (int)) != 0);
  g_assert_true (memcmp (orders[1]->data, orders[2]->data, N * sizeof (int)) != 0);
  int in_place = 0;
  for (int i = 0; i < N; i++)
    in_place += g_array_index (orders[0], int, i) == i;
  g_assert_cmpint (in_place, <, 10);

  /* the same seed gives the same orders, another seed others */
  g_autoptr (HoneLoader) same = hone_loader_new (fx.ds, idx, N, &cfg, &error);
  hone_loader_start_epoch (same, 1, 0);
  g_autoptr (GPtrArray) again = take_epoch (same, &cfg, K);
  g_autoptr (GArray) again_ids = epoch_ids (again, &fx, 15);
  g_assert_cmpmem (again_ids->data, N * sizeof (int), orders[1]->data, N * sizeof (int));
  cfg.seed = 1235;
  g_autoptr (HoneLoader) other = hone_loader_new (fx.ds, idx, N, &cfg, &error);
  hone_loader_start_epoch (other, 1, 0);
  g_autoptr (GPtrArray) others = take_epoch (other, &cfg, K);
  g_autoptr (GArray) other_ids = epoch_ids (others, &fx, 15);
  g_assert_true (memcmp (other_ids->data, orders[1]->data, N * sizeof (int)) != 0);

  for (int e = 0; e < 3; e++)
    g_array_unref (orders[e]);
  g_clear_pointer (&l, hone_loader_free);
  g_clear_pointer (&same, hone_loader_free);
  g_clear_pointer (&other, hone_loader_free);
  fixture_close (&fx);
}

static void
test_sequential_and_drop_last (void)
{
  Fixture fx;
  const int N = 40, K = 3;
  fixture_open (&fx, N, 3, 2, 2, K, NULL);
  /* a subset in a given order: sequential keeps it */
  int idx[23];
  for (int i = 0; i < 23; i++)
    idx[i] = (i * 7 + 3) % N;
  HoneLoaderConfig cfg = plain_config (3, 2, 2, 5, HONE_SAMPLING_SEQUENTIAL, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneLoader) l = hone_loader_new (fx.ds, idx, 23, &cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_loader_n_batches (l), ==, 5);
  for (int e = 0; e < 2; e++)
    {
      hone_loader_start_epoch (l, e, 0);
      g_autoptr (GPtrArray) batches = take_epoch (l, &cfg, K);
      g_assert_cmpuint (batches->len, ==, 5);
      g_assert_cmpint (((Batch *) batches->pdata[4])->n, ==, 3);
      g_autoptr (GArray) ids = epoch_ids (batches, &fx, 12);
      g_assert_cmpmem (ids->data, ids->len * sizeof (int), idx, sizeof idx);
    }

  /* drop_last: only whole batches */
  cfg.drop_last = TRUE;
  g_autoptr (HoneLoader) d = hone_loader_new (fx.ds, idx, 23, &cfg, &error);
  g_assert_cmpint (hone_loader_n_batches (d), ==, 4);
  /* never started: next begins epoch 0 */
  g_autoptr (GPtrArray) batches = take_epoch (d, &cfg, K);
  g_assert_cmpuint (batches->len, ==, 4);
  for (guint b = 0; b < 4; b++)
    g_assert_cmpint (((Batch *) batches->pdata[b])->n, ==, 5);
  g_autoptr (GArray) ids = epoch_ids (batches, &fx, 12);
  g_assert_cmpmem (ids->data, ids->len * sizeof (int), idx, 20 * sizeof (int));

  /* shuffle with drop_last: 20 distinct samples of the 23 */
  cfg.sampling = HONE_SAMPLING_SHUFFLE;
  g_autoptr (HoneLoader) s = hone_loader_new (fx.ds, idx, 23, &cfg, &error);
  hone_loader_start_epoch (s, 0, 0);
  g_autoptr (GPtrArray) sb = take_epoch (s, &cfg, K);
  g_autoptr (GArray) sids = epoch_ids (sb, &fx, 12);
  g_assert_cmpuint (sids->len, ==, 20);
  for (guint i = 0; i < sids->len; i++)
    for (guint j = i + 1; j < sids->len; j++)
      g_assert_cmpint (g_array_index (sids, int, i), !=, g_array_index (sids, int, j));

  /* no samples at all: no batches */
  g_autoptr (HoneLoader) empty = hone_loader_new (fx.ds, NULL, 0, &cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_loader_n_batches (empty), ==, 0);
  float img[5 * 12];
  int32_t lab[5];
  g_assert_cmpint (hone_loader_next (empty, img, lab, NULL, NULL, NULL), ==, 0);

  g_clear_pointer (&l, hone_loader_free);
  g_clear_pointer (&d, hone_loader_free);
  g_clear_pointer (&s, hone_loader_free);
  g_clear_pointer (&empty, hone_loader_free);
  fixture_close (&fx);
}

static void
test_balanced (void)
{
  Fixture fx;
  const int N = 100, K = 4;
  /* 70 of class 0, 20 of class 1, 10 of class 3, none of class 2 */
  int label_of[100];
  for (int i = 0; i < N; i++)
    label_of[i] = i < 70 ? 0 : (i < 90 ? 1 : 3);
  fixture_open (&fx, N, 1, 2, 2, K, label_of);
  g_autofree int *idx = all_indices (N);
  HoneLoaderConfig cfg = plain_config (1, 2, 2, 16, HONE_SAMPLING_BALANCED, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneLoader) l = hone_loader_new (fx.ds, idx, N, &cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_loader_n_batches (l), ==, 7);

  int64_t counts[4] = { 0 };
  int64_t per_sample[100] = { 0 };
  int total = 0;
  const int epochs = 30;
  for (int e = 0; e < epochs; e++)
    {
      hone_loader_start_epoch (l, e, 0);
      g_autoptr (GPtrArray) batches = take_epoch (l, &cfg, K);
      g_autoptr (GArray) ids = epoch_ids (batches, &fx, 4);
      g_assert_cmpuint (ids->len, ==, N);   /* an epoch is as long as the set */
      for (guint i = 0; i < ids->len; i++)
        {
          int id = g_array_index (ids, int, i);
          counts[label_of[id]]++;
          per_sample[id]++;
          total++;
        }
    }
  /* each present class a third of the time (sd ~ 0.0086) */
  g_assert_cmpint (counts[2], ==, 0);
  for (int k = 0; k < K; k++)
    if (k != 2)
      g_assert_cmpfloat (fabs ((double) counts[k] / total - 1.0 / 3), <, 0.04);
  /* and within a class, its samples alike: class 3's ten each ~100 times */
  for (int i = 90; i < 100; i++)
    {
      g_assert_cmpint (per_sample[i], >, 50);
      g_assert_cmpint (per_sample[i], <, 150);
    }
  g_clear_pointer (&l, hone_loader_free);
  fixture_close (&fx);
}

static HoneLoaderConfig
augmented_config (int threads)
{
  HoneLoaderConfig cfg = plain_config (3, 12, 10, 7, HONE_SAMPLING_SHUFFLE, threads);
  for (int c = 0; c < 3; c++)
    {
      cfg.format.mean[c] = 0.05f * (c + 1);
      cfg.format.std[c] = 0.5f;
    }
  cfg.augment = (HoneAugment) { .hflip = 0.5, .vflip = 0.2, .rotate = 20, .scale_min = 0.9,
                                .scale_max = 1.1, .translate = 0.1, .crop_scale_min = 0.5,
                                .brightness = 0.3, .contrast = 0.3, .saturation = 0.3,
                                .hue = 0.05, .cutout = 0.3, .mixup_alpha = 0.4,
                                .cutmix_alpha = 1.0 };
  cfg.prefetch = 3;
  return cfg;
}

static void
test_threads_and_resume (void)
{
  Fixture fx;
  const int N = 61, K = 5;
  fixture_open_textured (&fx, N, 3, 12, 10, K);
  g_autofree int *idx = all_indices (N);
  const int64_t S = 3 * 12 * 10;
  g_autoptr (GError) error = NULL;

  HoneLoaderConfig c1 = augmented_config (1), c4 = augmented_config (4);
  g_autoptr (HoneLoader) l1 = hone_loader_new (fx.ds, idx, N, &c1, &error);
  g_assert_no_error (error);
  g_autoptr (HoneLoader) l4 = hone_loader_new (fx.ds, idx, N, &c4, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_loader_n_batches (l1), ==, 9);

  for (int e = 0; e < 2; e++)
    {
      hone_loader_start_epoch (l1, e, 0);
      hone_loader_start_epoch (l4, e, 0);
      g_autoptr (GPtrArray) b1 = take_epoch (l1, &c1, K);
      g_autoptr (GPtrArray) b4 = take_epoch (l4, &c4, K);
      assert_batches_equal (b1, b4, S, K);

      /* augmentation did happen, and mixing: targets are distributions */
      int mixed = 0;
      for (guint b = 0; b < b1->len; b++)
        {
          const Batch *batch = b1->pdata[b];
          mixed += batch->mixed;
          g_assert_true (batch->mixed);
          for (int k = 0; k < batch->n; k++)
            {
              double sum = 0;
              for (int j = 0; j < K; j++)
                sum += batch->targets[k * K + j];
              g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
              g_assert_cmpfloat (batch->targets[k * K + batch->labels[k]], >, 0);
            }
        }
      g_assert_cmpint (mixed, ==, 9);

      /* resuming at batch 4 gives batches 4.. exactly, on either loader */
      hone_loader_start_epoch (l4, e, 4);
      g_autoptr (GPtrArray) resumed = take_epoch (l4, &c4, K);
      g_assert_cmpuint (resumed->len, ==, 5);
      g_ptr_array_remove_range (b1, 0, 4);
      assert_batches_equal (b1, resumed, S, K);
    }

  /* epochs differ */
  hone_loader_start_epoch (l1, 0, 0);
  g_autoptr (GPtrArray) e0 = take_epoch (l1, &c1, K);
  hone_loader_start_epoch (l1, 1, 0);
  g_autoptr (GPtrArray) e1 = take_epoch (l1, &c1, K);
  const Batch *a = e0->pdata[0], *b = e1->pdata[0];
  g_assert_true (memcmp (a->images, b->images, a->n * S * sizeof (float)) != 0);

  /* restarting in the middle of an epoch, while batches are being made */
  for (int r = 0; r < 20; r++)
    {
      float *img = g_new (float, c4.batch * S);
      int32_t lab[7];
      float tg[7 * 5];
      hone_loader_start_epoch (l4, 0, r % 9);
      if (r & 1)
        g_assert_cmpint (hone_loader_next (l4, img, lab, tg, NULL, NULL), >, 0);
      g_free (img);
    }
  hone_loader_start_epoch (l4, 1, 0);
  g_autoptr (GPtrArray) after = take_epoch (l4, &c4, K);
  assert_batches_equal (e1, after, S, K);

  g_clear_pointer (&l1, hone_loader_free);
  g_clear_pointer (&l4, hone_loader_free);
  fixture_close (&fx);
}

static void
test_free_mid_epoch (void)
{
  Fixture fx;
  const int N = 200, K = 2;
  fixture_open_textured (&fx, N, 3, 16, 16, K);
  g_autofree int *idx = all_indices (N);
  HoneLoaderConfig cfg = augmented_config (3);
  cfg.format.height = cfg.format.width = 16;
  cfg.prefetch = 4;
  g_autoptr (GError) error = NULL;

  /* never started */
  HoneLoader *l = hone_loader_new (fx.ds, idx, N, &cfg, &error);
  g_assert_no_error (error);
  hone_loader_free (l);
  hone_loader_free (NULL);

  /* started, nothing taken */
  l = hone_loader_new (fx.ds, idx, N, &cfg, &error);
  hone_loader_start_epoch (l, 0, 0);
  hone_loader_free (l);

  /* a batch taken, the ring filling */
  g_autofree float *img = g_new (float, cfg.batch * 3 * 16 * 16);
  int32_t lab[7];
  float tg[7 * 2];
  for (int r = 0; r < 5; r++)
    {
      l = hone_loader_new (fx.ds, idx, N, &cfg, &error);
      hone_loader_start_epoch (l, r, 0);
      for (int b = 0; b < r; b++)
        g_assert_cmpint (hone_loader_next (l, img, lab, tg, NULL, NULL), ==, 7);
      if (r & 1)
        g_usleep (2000);
      hone_loader_free (l);
    }
  fixture_close (&fx);
}

/* ---- a folder dataset with a corrupt PNG ------------------------------- */

/* A grey size x size PNG, flat at value; cut to `keep` bytes when keep > 0. */
static void
write_png (const char *path, int size, guint8 value, gsize keep)
{
  g_autofree guint8 *samples = g_new (guint8, size * size);
  memset (samples, value, size * size);
  HoneTestPng png = { .width = size, .height = size, .color_type = PNG_COLOR_TYPE_GRAY,
                      .bit_depth = 8, .samples = samples };
  g_autoptr (GBytes) bytes = hone_test_png_bytes (&png);
  if (keep > 0)
    {
      g_assert_cmpuint (keep, <, g_bytes_get_size (bytes));
      hone_test_write_data (path, g_bytes_get_data (bytes, NULL), keep);
    }
  else
    hone_test_write_bytes (path, bytes);
}

static int
sequential_index_of (const int *idx, int n, int value)
{
  for (int i = 0; i < n; i++)
    if (idx[i] == value)
      return i;
  return -1;
}

static void
test_bad_sample (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = hone_test_make_tmp_dir ("hone-loader-png-XXXXXX");
  const char *classes[2] = { "cat", "dog" };
  for (int c = 0; c < 2; c++)
    {
      g_autofree char *sub = g_build_filename (dir, classes[c], NULL);
      g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
      for (int i = 0; i < 4; i++)
        {
          g_autofree char *name = g_strdup_printf ("%d.png", i);
          g_autofree char *p = g_build_filename (sub, name, NULL);
          /* dog/2.png: a valid header, then cut short inside its pixels */
          if (c == 1 && i == 2)
            write_png (p, 24, 99, 50);
          else
            write_png (p, 8, (guint8) (40 * c + 10 * i), 0);
        }
    }
  g_autofree char *bad = g_build_filename (dir, "dog", "2.png", NULL);

  g_autoptr (HoneDataset) ds = hone_dataset_open (dir, &error);
  g_assert_no_error (error);
  const int n = hone_dataset_n_samples (ds);
  int bad_index = -1;
  for (int i = 0; i < n; i++)
    if (g_strcmp0 (hone_dataset_sample_name (ds, i), bad) == 0)
      bad_index = i;
  /* the truncated file passes opening, so the loader meets it */
  g_assert_cmpint (n, ==, 8);
  g_assert_cmpint (bad_index, >=, 0);

  g_autofree int *idx = all_indices (n);
  for (int threads = 1; threads <= 2; threads++)
    {
      /* batches of 3 in order: the bad one's batch is one short */
      HoneLoaderConfig cfg = plain_config (1, 8, 8, 3, HONE_SAMPLING_SEQUENTIAL, threads);
      g_autoptr (HoneLoader) l = hone_loader_new (ds, idx, n, &cfg, &error);
      g_assert_no_error (error);
      hone_loader_start_epoch (l, 0, 0);
      g_autoptr (GPtrArray) batches = take_epoch (l, &cfg, 2);
      g_assert_cmpuint (batches->len, ==, 3);
      int total = 0;
      for (guint b = 0; b < batches->len; b++)
        {
          const Batch *batch = batches->pdata[b];
          int items = b == 2 ? 2 : 3;
          int want = items - ((int) b == bad_index / 3);
          g_assert_cmpint (batch->n, ==, want);
          for (int k = 0; k < batch->n; k++)
            {
              g_assert_cmpint (batch->ids[k], !=, bad_index);
              total++;
            }
        }
      g_assert_cmpint (total, ==, n - 1);
      g_autoptr (GPtrArray) issues = hone_loader_take_issues (l);
      g_assert_cmpuint (issues->len, ==, 1);
      const HoneDataIssue *issue = issues->pdata[0];
      g_assert_cmpstr (issue->path, ==, bad);
      g_assert_nonnull (strstr (issue->message, "2.png"));
      g_autoptr (GPtrArray) none = hone_loader_take_issues (l);
      g_assert_cmpuint (none->len, ==, 0);

      /* batches of one: the bad sample's batch is skipped entirely */
      cfg.batch = 1;
      g_autoptr (HoneLoader) single = hone_loader_new (ds, idx, n, &cfg, &error);
      g_assert_cmpint (hone_loader_n_batches (single), ==, n);
      g_autoptr (GPtrArray) ones = take_epoch (single, &cfg, 2);
      g_assert_cmpuint (ones->len, ==, n - 1);
      g_autoptr (GPtrArray) issues1 = hone_loader_take_issues (single);
      g_assert_cmpuint (issues1->len, ==, 1);

      /* the position counts the skipped batch, so a resume lands right */
      g_assert_cmpint (sequential_index_of (idx, n, bad_index), >=, 0);
      hone_loader_start_epoch (single, 0, 0);
      g_assert_cmpint (hone_loader_position (single), ==, 0);
      int delivered = 0, bad_pos = sequential_index_of (idx, n, bad_index);
      float *img = g_new (float, 3 * 8 * 8);
      int32_t label;
      while (delivered < bad_pos + 1)
        {
          g_assert_cmpint (hone_loader_next (single, img, &label, NULL, NULL, NULL), ==, 1);
          delivered++;
        }
      /* bad_pos good batches delivered, then the bad one skipped inside next */
      g_assert_cmpint (hone_loader_position (single), ==, delivered + 1);
      g_free (img);
      g_ptr_array_unref (hone_loader_take_issues (single));
    }
  g_clear_pointer (&ds, hone_dataset_free);
  hone_test_remove_tree (dir);
}

/* ---- errors and preview ------------------------------------------------ */

static void
expect_config_error (HoneDataset *ds, const HoneLoaderConfig *cfg, const char *needle)
{
  g_autoptr (GError) error = NULL;
  int idx[2] = { 0, 1 };
  HoneLoader *l = hone_loader_new (ds, idx, 2, cfg, &error);
  g_assert_null (l);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in \"%s\"", needle, error->message);
}

static void
test_config_errors (void)
{
  Fixture fx;
  fixture_open (&fx, 4, 1, 2, 2, 2, NULL);
  HoneLoaderConfig cfg = plain_config (1, 2, 2, 2, HONE_SAMPLING_SHUFFLE, 1);
  cfg.augment.rotate = 400;
  expect_config_error (fx.ds, &cfg, "augment.rotate = 400 is out of range: use 0 to 180");
  cfg = plain_config (1, 2, 2, 0, HONE_SAMPLING_SHUFFLE, 1);
  expect_config_error (fx.ds, &cfg, "train.batch = 0");
  cfg = plain_config (1, 2, 2, 2, HONE_SAMPLING_SHUFFLE, 0);
  expect_config_error (fx.ds, &cfg, "data.loader_threads = 0");
  cfg = plain_config (1, 2, 2, 2, HONE_SAMPLING_SHUFFLE, 1);
  cfg.prefetch = 0;
  expect_config_error (fx.ds, &cfg, "prefetch = 0");
  cfg = plain_config (2, 2, 2, 2, HONE_SAMPLING_SHUFFLE, 1);
  expect_config_error (fx.ds, &cfg, "model.channels = 2");
  cfg = plain_config (1, 0, 2, 2, HONE_SAMPLING_SHUFFLE, 1);
  expect_config_error (fx.ds, &cfg, "model.height = 0");
  cfg = plain_config (1, 2, 2, 2, HONE_SAMPLING_SHUFFLE, 1);
  cfg.format.std[0] = 0;
  expect_config_error (fx.ds, &cfg, "model.std");

  g_autoptr (GError) error = NULL;
  cfg = plain_config (1, 2, 2, 2, HONE_SAMPLING_SHUFFLE, 1);
  int bad_idx[2] = { 0, 4 };
  g_assert_null (hone_loader_new (fx.ds, bad_idx, 2, &cfg, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  fixture_close (&fx);
}

static void
test_preview (void)
{
  Fixture fx;
  const int C = 3, H = 9, W = 11;
  const int64_t S = C * H * W;
  fixture_open_textured (&fx, 3, C, H, W, 2);
  HoneImageFormat format = { .channels = C, .height = H, .width = W,
                             .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.2f, 0.2f, 0.2f } };
  g_autoptr (GError) error = NULL;
  g_autofree float *out = g_new (float, 6 * S);
  g_autofree float *again = g_new (float, 6 * S);
  g_autofree float *plain = g_new (float, S);

  /* a horizontal flip always: every version after the first is the mirror */
  HoneAugment flip = { .hflip = 1 };
  g_assert_true (hone_augment_preview (fx.ds, 1, &format, &flip, 3, 7, out, &error));
  g_assert_no_error (error);
  g_assert_true (hone_dataset_load (fx.ds, 1, C, H, W, plain, &error));
  g_assert_cmpmem (out, S * sizeof (float), plain, S * sizeof (float));   /* not normalised */
  g_autofree float *mirror = g_new (float, S);
  hone_image_hflip (mirror, plain, C, H, W);
  g_assert_cmpmem (out + S, S * sizeof (float), mirror, S * sizeof (float));
  g_assert_cmpmem (out + 2 * S, S * sizeof (float), mirror, S * sizeof (float));

  /* random versions: different from each other, the same for a seed */
  HoneAugment aug = { .rotate = 30, .brightness = 0.4, .crop_scale_min = 0.5, .cutout = 0.2 };
  g_assert_true (hone_augment_preview (fx.ds, 2, &format, &aug, 6, 42, out, &error));
  g_assert_true (hone_augment_preview (fx.ds, 2, &format, &aug, 6, 42, again, &error));
  g_assert_cmpmem (out, 6 * S * sizeof (float), again, 6 * S * sizeof (float));
  for (int v = 1; v < 6; v++)
    {
      g_assert_true (memcmp (out, out + v * S, S * sizeof (float)) != 0);
      for (int j = 0; j < S; j++)
        g_assert_true (out[v * S + j] >= 0 && out[v * S + j] <= 1);
    }
  g_assert_true (memcmp (out + S, out + 2 * S, S * sizeof (float)) != 0);
  g_assert_true (hone_augment_preview (fx.ds, 2, &format, &aug, 6, 43, again, &error));
  g_assert_cmpmem (out, S * sizeof (float), again, S * sizeof (float));
  g_assert_true (memcmp (out + S, again + S, 5 * S * sizeof (float)) != 0);

  /* errors */
  aug.hue = 0.9;
  g_assert_false (hone_augment_preview (fx.ds, 2, &format, &aug, 2, 1, out, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "augment.hue"));
  g_clear_error (&error);
  aug.hue = 0;
  g_assert_false (hone_augment_preview (fx.ds, 3, &format, &aug, 2, 1, out, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  fixture_close (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/loader/shuffle", test_shuffle_epoch);
  g_test_add_func ("/engine/loader/sequential-drop-last", test_sequential_and_drop_last);
  g_test_add_func ("/engine/loader/balanced", test_balanced);
  g_test_add_func ("/engine/loader/threads-resume", test_threads_and_resume);
  g_test_add_func ("/engine/loader/free-mid-epoch", test_free_mid_epoch);
  g_test_add_func ("/engine/loader/bad-sample", test_bad_sample);
  g_test_add_func ("/engine/loader/config-errors", test_config_errors);
  g_test_add_func ("/engine/loader/preview", test_preview);
  return g_test_run ();
}
