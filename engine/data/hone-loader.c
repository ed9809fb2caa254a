/* hone-loader.c: batches from a dataset on loader threads, see hone-loader.h.
 *
 * The work of an epoch is a list of positions (the epoch's order); each
 * position is one item: decode, resize (hone_dataset_load), augment,
 * normalise, written straight into its place in a batch slot.  Workers
 * claim items in order, one at a time, from a ring of `prefetch` slots
 * (batch b lives in slot b % prefetch), so every thread first helps the
 * oldest batch.  The thread that finishes a batch's last item drops the
 * samples that failed, mixes the batch (mixup / cutmix) and marks it
 * ready; hone_loader_next copies it out and frees the slot.
 *
 * Determinism: item p of epoch e draws only from a generator seeded by
 * (seed, e, p), a batch's mix from (seed, e, b), the order from (seed, e):
 * what a batch holds does not depend on which thread made it or when.
 *
 * Locking: one mutex over the epoch state and the slots' bookkeeping; the
 * slots' pixel buffers are written without it, each item by the one thread
 * that claimed it.  Restarting an epoch first waits for the items in flight
 * (at most one per thread) to finish.  Waiting is on condition variables
 * only.  The threads are plain pthreads (ThreadSanitizer understands them)
 * and never call BLAS or hone_parallel_for.
 *
 * This file does not decode images (hone-dataset.c) nor implement the
 * transforms (hone-augment.c). */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "data/hone-augment.h"
#include "data/hone-loader.h"
#include "hone-parallel.h"

/* Kinds of random stream, so that no two uses share a generator. */
enum
{
  STREAM_ORDER = 1,     /* (epoch) */
  STREAM_SAMPLE = 2,    /* (epoch, position) */
  STREAM_BATCH = 3,     /* (epoch, batch) */
  STREAM_PREVIEW = 4,   /* (sample, version) */
};

#define MAX_LOADER_THREADS 256
#define MAX_PREFETCH 256

typedef struct
{
  int batch_index;            /* the batch held, -1: free */
  int n_items;                /* positions in the batch */
  int n_done;
  gboolean ready;
  int n_good;                 /* samples left after skipping bad ones */
  gboolean mixed;
  float *images;              /* (batch, C, H, W) */
  int32_t *labels;            /* (batch) */
  int *ids;                   /* (batch) */
  float *targets;             /* (batch, K) */
  gboolean *ok;               /* (batch) */
  HoneDataIssue **issue;      /* (batch) the issue of a failed item, or NULL */
} Slot;

struct _HoneLoader
{
  HoneDataset *ds;            /* not owned */
  int *indices;               /* (n) */
  int n;
  HoneLoaderConfig config;
  int n_classes;
  int64_t sample_size;        /* C * H * W */
  gboolean per_sample_augment;
  gboolean mix;               /* mixup or cutmix on */
  int n_batches;
  int epoch_len;              /* positions an epoch delivers */

  /* balanced sampling: the indices grouped by class */
  int n_present;              /* classes with at least one sample */
  int *class_start;           /* (n_present + 1) into by_class */
  int *by_class;              /* (n) */

  pthread_mutex_t lock;
  pthread_cond_t work_cond;   /* workers: an item can be claimed, or quit */
  pthread_cond_t ready_cond;  /* the consumer: a batch is ready */
  pthread_cond_t idle_cond;   /* start_epoch: no item in flight */
  pthread_t threads[MAX_LOADER_THREADS];
  int n_threads;              /* running */
  gboolean started;
  gboolean quit;

  /* the epoch, under lock */
  gboolean active;
  uint64_t generation;        /* bumped by each start_epoch */
  int epoch;
  int *order;                 /* (epoch_len) sample indices */
  int next_pos;               /* next position to claim */
  int next_deliver;           /* next batch to hand out */
  int in_flight;              /* items claimed and not yet finished */

  Slot *slots;                /* (prefetch) */
  int n_slots;
  GPtrArray *issues;          /* HoneDataIssue *, delivered and not yet taken */
};

/* ---- random streams ------------------------------------------------------ */

/* SplitMix64's finaliser (Steele, Lea and Flood, "Fast Splittable
 * Pseudorandom Number Generators", 2014). */
static uint64_t
mix64 (uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A generator for (seed, kind, a, b): the stream (PCG's increment) and the
 * starting state both hash all four, so nearby seeds, epochs and positions
 * give unrelated sequences. */
static void
seed_rng (HoneRng *rng, uint64_t seed, uint64_t kind, uint64_t a, uint64_t b)
{
  uint64_t stream = mix64 (mix64 (mix64 (kind) ^ a) ^ b);
  hone_rng_init (rng, mix64 (seed ^ stream) ^ seed, stream);
}

/* ---- configuration ------------------------------------------------------- */

static gboolean
check_format (const HoneImageFormat *f, GError **error)
{
  if (f->channels != 1 && f->channels != 3)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "model.channels = %d is not supported: use 1 (grey) or 3 (RGB)", f->channels);
      return FALSE;
    }
  if (f->height < 1 || f->height > HONE_IMAGE_MAX_SIDE)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "model.height = %d is out of range: use 1 to %d", f->height, HONE_IMAGE_MAX_SIDE);
      return FALSE;
    }
  if (f->width < 1 || f->width > HONE_IMAGE_MAX_SIDE)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "model.width = %d is out of range: use 1 to %d", f->width, HONE_IMAGE_MAX_SIDE);
      return FALSE;
    }
  for (int c = 0; c < f->channels; c++)
    {
      if (!isfinite (f->mean[c]))
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "model.mean: channel %d is %g: use a finite number", c, f->mean[c]);
          return FALSE;
        }
      if (!(f->std[c] > 0) || !isfinite (f->std[c]))
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "model.std: channel %d is %g: use a number above 0", c, f->std[c]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_config (const HoneLoaderConfig *config, GError **error)
{
  if (!check_format (&config->format, error) || !hone_augment_validate (&config->augment, error))
    return FALSE;
  if (config->sampling != HONE_SAMPLING_SEQUENTIAL && config->sampling != HONE_SAMPLING_SHUFFLE
      && config->sampling != HONE_SAMPLING_BALANCED)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "unknown sampling mode %d",
                   (int) config->sampling);
      return FALSE;
    }
  if (config->batch < 1 || config->batch > 65536)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "train.batch = %d is out of range: use 1 to 65536", config->batch);
      return FALSE;
    }
  if (config->threads < 1 || config->threads > MAX_LOADER_THREADS)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "data.loader_threads = %d is out of range: use 1 to %d",
                   config->threads, MAX_LOADER_THREADS);
      return FALSE;
    }
  if (config->prefetch < 1 || config->prefetch > MAX_PREFETCH)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "loader prefetch = %d is out of range: use 1 to %d batches",
                   config->prefetch, MAX_PREFETCH);
      return FALSE;
    }
  int64_t sample = (int64_t) config->format.channels * config->format.height * config->format.width;
  if (sample * config->batch * config->prefetch > (int64_t) 1 << 32)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "train.batch = %d of %dx%dx%d images with %d batches prefetched needs more "
                   "than 16 GiB: use a smaller batch or image size",
                   config->batch, config->format.channels, config->format.height,
                   config->format.width, config->prefetch);
      return FALSE;
    }
  return TRUE;
}

/* ---- the epoch's order --------------------------------------------------- */

static void
make_order (HoneLoader *l, int epoch, int *order)
{
  if (l->epoch_len == 0)
    return;
  HoneRng rng;
  seed_rng (&rng, l->config.seed, STREAM_ORDER, (uint64_t) epoch, 0);
  switch (l->config.sampling)
    {
    case HONE_SAMPLING_SEQUENTIAL:
      memcpy (order, l->indices, (size_t) l->epoch_len * sizeof (int));
      break;
    case HONE_SAMPLING_SHUFFLE:
      {
        /* the whole permutation, of which drop_last may leave a tail out */
        int *perm = g_memdup2 (l->indices, (gsize) l->n * sizeof (int));
        hone_rng_shuffle (&rng, perm, l->n);
        memcpy (order, perm, (size_t) l->epoch_len * sizeof (int));
        g_free (perm);
      }
      break;
    case HONE_SAMPLING_BALANCED:
      /* with replacement: a class uniformly, then one of its samples */
      for (int p = 0; p < l->epoch_len; p++)
        {
          int k = (int) hone_rng_below (&rng, (uint32_t) l->n_present);
          int begin = l->class_start[k], count = l->class_start[k + 1] - begin;
          order[p] = l->by_class[begin + (int) hone_rng_below (&rng, (uint32_t) count)];
        }
      break;
    }
}

/* ---- one item, one batch ------------------------------------------------- */

/* Decodes, augments and normalises the sample at position pos into item k
 * of slot.  Returns NULL, or the issue when the sample cannot be loaded. */
static HoneDataIssue *
make_item (HoneLoader *l, Slot *slot, int k, int pos, int sample, int epoch, float *scratch)
{
  const HoneImageFormat *f = &l->config.format;
  float *dst = slot->images + k * l->sample_size;   /* (C, H, W) */
  g_autoptr (GError) error = NULL;

  float *decoded = l->per_sample_augment ? scratch : dst;
  if (!hone_dataset_load (l->ds, sample, f->channels, f->height, f->width, decoded, &error))
    return hone_data_issue_new (hone_dataset_sample_name (l->ds, sample), error->message);

  if (l->per_sample_augment)
    {
      HoneRng rng;
      HoneAugmentDraw draw;
      seed_rng (&rng, l->config.seed, STREAM_SAMPLE, (uint64_t) epoch, (uint64_t) pos);
      hone_augment_draw (&draw, &l->config.augment, f->height, f->width, &rng);
      hone_augment_apply (dst, scratch, &draw, f->mean, f->channels, f->height, f->width);
    }
  hone_image_normalize (dst, f->mean, f->std, f->channels, f->height, f->width);
  slot->labels[k] = hone_dataset_label (l->ds, sample);
  slot->ids[k] = sample;
  return NULL;
}

/* Drops the failed items (keeping the order of the rest) and mixes. */
static void
finish_batch (HoneLoader *l, Slot *slot, int epoch)
{
  const HoneImageFormat *f = &l->config.format;
  int j = 0;
  for (int k = 0; k < slot->n_items; k++)
    {
      if (!slot->ok[k])
        continue;
      if (j != k)
        {
          memcpy (slot->images + j * l->sample_size, slot->images + k * l->sample_size,
                  (size_t) l->sample_size * sizeof (float));
          slot->labels[j] = slot->labels[k];
          slot->ids[j] = slot->ids[k];
        }
      j++;
    }
  slot->n_good = j;
  slot->mixed = FALSE;
  if (l->mix && j > 0)
    {
      HoneRng rng;
      seed_rng (&rng, l->config.seed, STREAM_BATCH, (uint64_t) epoch, (uint64_t) slot->batch_index);
      slot->mixed = hone_augment_mix_batch (slot->images, slot->targets, slot->labels,
                                            &l->config.augment, &rng, j, l->n_classes,
                                            f->channels, f->height, f->width);
    }
}

static gboolean
can_claim (const HoneLoader *l)
{
  return l->active && l->next_pos < l->epoch_len
         && l->next_pos / l->config.batch < l->next_deliver + l->n_slots;
}

/* With the lock held and can_claim (l): claims the next item, makes it
 * without the lock, records it (and finishes its batch when it was the
 * last).  Returns with the lock held. */
static void
work_one (HoneLoader *l, float *scratch)
{
  const int batch = l->config.batch;
  const int pos = l->next_pos++;
  const int b = pos / batch, k = pos % batch;
  Slot *slot = &l->slots[b % l->n_slots];
  if (k == 0)
    {
      slot->batch_index = b;
      slot->n_items = MIN (batch, l->epoch_len - b * batch);
      slot->n_done = 0;
      slot->ready = FALSE;
    }
  const int sample = l->order[pos];
  const int epoch = l->epoch;
  const uint64_t generation = l->generation;
  l->in_flight++;
  pthread_mutex_unlock (&l->lock);

  HoneDataIssue *issue = make_item (l, slot, k, pos, sample, epoch, scratch);

  pthread_mutex_lock (&l->lock);
  if (generation == l->generation)
    {
      slot->ok[k] = issue == NULL;
      slot->issue[k] = issue;
      if (++slot->n_done == slot->n_items)
        {
          pthread_mutex_unlock (&l->lock);
          finish_batch (l, slot, epoch);
          pthread_mutex_lock (&l->lock);
          if (generation == l->generation)
            {
              slot->ready = TRUE;
              pthread_cond_broadcast (&l->ready_cond);
            }
        }
    }
  else
    hone_data_issue_free (issue);   /* the epoch was restarted: nobody wants it */
  if (--l->in_flight == 0)
    pthread_cond_broadcast (&l->idle_cond);
}

static void *
worker_main (void *data)
{
  HoneLoader *l = data;
  /* Below the training threads: the loader needs a small share of a core
   * and takes it from idle time, so training may use every core. */
  hone_thread_background ();
  float *scratch = g_new (float, l->sample_size);   /* (C, H, W) decoded, before augmenting */

  pthread_mutex_lock (&l->lock);
  for (;;)
    {
      while (!l->quit && !can_claim (l))
        pthread_cond_wait (&l->work_cond, &l->lock);
      if (l->quit)
        break;
      work_one (l, scratch);
    }
  pthread_mutex_unlock (&l->lock);
  g_free (scratch);
  return NULL;
}

/* With the lock held. */
static void
start_threads (HoneLoader *l)
{
  if (l->started)
    return;
  l->started = TRUE;
  for (int t = 0; t < l->config.threads; t++)
    {
      if (pthread_create (&l->threads[l->n_threads], NULL, worker_main, l) != 0)
        break;   /* fewer threads; with none, hone_loader_next does the work itself */
      l->n_threads++;
    }
}

/* ---- public -------------------------------------------------------------- */

HoneLoader *
hone_loader_new (HoneDataset *ds, const int *indices, int n, const HoneLoaderConfig *config,
                 GError **error)
{
  g_return_val_if_fail (ds != NULL, NULL);
  g_return_val_if_fail (n >= 0 && (indices != NULL || n == 0), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  if (!check_config (config, error))
    return NULL;

  const int n_samples = hone_dataset_n_samples (ds);
  const int n_classes = hone_dataset_n_classes (ds);
  for (int i = 0; i < n; i++)
    if (indices[i] < 0 || indices[i] >= n_samples)
      {
        g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                     "sample %d of the loader's list is %d, outside %s's %d samples",
                     i, indices[i], hone_dataset_source (ds), n_samples);
        return NULL;
      }
  if ((config->augment.mixup_alpha > 0 || config->augment.cutmix_alpha > 0) && n_classes < 1)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "mixup and cutmix need the dataset's classes, and %s has none",
                   hone_dataset_source (ds));
      return NULL;
    }

  HoneLoader *l = g_new0 (HoneLoader, 1);
  l->ds = ds;
  l->n = n;
  l->indices = g_new0 (int, MAX (n, 1));
  if (n > 0)
    memcpy (l->indices, indices, (size_t) n * sizeof (int));
  l->config = *config;
  l->n_classes = n_classes;
  const HoneImageFormat *f = &config->format;
  l->sample_size = (int64_t) f->channels * f->height * f->width;
  const HoneAugment *a = &config->augment;
  l->mix = a->mixup_alpha > 0 || a->cutmix_alpha > 0;
  HoneAugment per_sample = *a;
  per_sample.mixup_alpha = per_sample.cutmix_alpha = 0;
  l->per_sample_augment = hone_augment_is_active (&per_sample);
  l->n_batches = config->drop_last ? n / config->batch : (n + config->batch - 1) / config->batch;
  l->epoch_len = MIN (n, l->n_batches * config->batch);

  if (config->sampling == HONE_SAMPLING_BALANCED && n > 0)
    {
      /* counting sort of the indices by label */
      int *count = g_new0 (int, MAX (n_classes, 1));
      for (int i = 0; i < n; i++)
        {
          int y = hone_dataset_label (ds, indices[i]);
          g_assert (y >= 0 && y < n_classes);
          count[y]++;
        }
      l->class_start = g_new0 (int, n_classes + 1);
      int *present = g_new (int, MAX (n_classes, 1));   /* label -> present class */
      for (int y = 0; y < n_classes; y++)
        if (count[y] > 0)
          {
            present[y] = l->n_present;
            l->class_start[l->n_present + 1] = l->class_start[l->n_present] + count[y];
            l->n_present++;
          }
      int *fill = g_new0 (int, MAX (l->n_present, 1));
      l->by_class = g_new (int, n);
      for (int i = 0; i < n; i++)
        {
          int k = present[hone_dataset_label (ds, indices[i])];
          l->by_class[l->class_start[k] + fill[k]++] = indices[i];
        }
      g_free (fill);
      g_free (present);
      g_free (count);
    }

  pthread_mutex_init (&l->lock, NULL);
  pthread_cond_init (&l->work_cond, NULL);
  pthread_cond_init (&l->ready_cond, NULL);
  pthread_cond_init (&l->idle_cond, NULL);
  l->order = g_new (int, MAX (l->epoch_len, 1));
  l->n_slots = config->prefetch;
  l->slots = g_new0 (Slot, l->n_slots);
  const int batch = config->batch;
  for (int s = 0; s < l->n_slots; s++)
    {
      Slot *slot = &l->slots[s];
      slot->batch_index = -1;
      slot->images = g_new (float, batch * l->sample_size);
      slot->labels = g_new0 (int32_t, batch);
      slot->ids = g_new0 (int, batch);
      slot->targets = l->mix ? g_new0 (float, (int64_t) batch * n_classes) : NULL;
      slot->ok = g_new0 (gboolean, batch);
      slot->issue = g_new0 (HoneDataIssue *, batch);
    }
  l->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) hone_data_issue_free);
  return l;
}

static void
clear_slot_issues (HoneLoader *l, Slot *slot)
{
  for (int k = 0; k < l->config.batch; k++)
    g_clear_pointer (&slot->issue[k], hone_data_issue_free);
}

void
hone_loader_free (HoneLoader *l)
{
  if (l == NULL)
    return;
  pthread_mutex_lock (&l->lock);
  l->quit = TRUE;
  pthread_cond_broadcast (&l->work_cond);
  pthread_mutex_unlock (&l->lock);
  for (int t = 0; t < l->n_threads; t++)
    pthread_join (l->threads[t], NULL);

  for (int s = 0; s < l->n_slots; s++)
    {
      Slot *slot = &l->slots[s];
      clear_slot_issues (l, slot);
      g_free (slot->images);
      g_free (slot->labels);
      g_free (slot->ids);
      g_free (slot->targets);
      g_free (slot->ok);
      g_free (slot->issue);
    }
  g_free (l->slots);
  g_ptr_array_unref (l->issues);
  pthread_cond_destroy (&l->idle_cond);
  pthread_cond_destroy (&l->ready_cond);
  pthread_cond_destroy (&l->work_cond);
  pthread_mutex_destroy (&l->lock);
  g_free (l->order);
  g_free (l->by_class);
  g_free (l->class_start);
  g_free (l->indices);
  g_free (l);
}

int
hone_loader_n_batches (const HoneLoader *l)
{
  g_return_val_if_fail (l != NULL, 0);
  return l->n_batches;
}

/* With the lock held. */
static void
start_epoch_locked (HoneLoader *l, int epoch, int start_batch)
{
  /* stop claiming, let what is in flight land, then reset */
  l->generation++;
  l->active = FALSE;
  while (l->in_flight > 0)
    pthread_cond_wait (&l->idle_cond, &l->lock);
  for (int s = 0; s < l->n_slots; s++)
    {
      l->slots[s].batch_index = -1;
      l->slots[s].ready = FALSE;
      clear_slot_issues (l, &l->slots[s]);
    }
  make_order (l, epoch, l->order);
  l->epoch = epoch;
  l->next_deliver = CLAMP (start_batch, 0, l->n_batches);
  l->next_pos = MIN (l->next_deliver * l->config.batch, l->epoch_len);
  l->active = TRUE;
  start_threads (l);
  pthread_cond_broadcast (&l->work_cond);
}

void
hone_loader_start_epoch (HoneLoader *l, int epoch, int start_batch)
{
  g_return_if_fail (l != NULL);
  g_return_if_fail (epoch >= 0 && start_batch >= 0);
  pthread_mutex_lock (&l->lock);
  start_epoch_locked (l, epoch, start_batch);
  pthread_mutex_unlock (&l->lock);
}

int
hone_loader_next (HoneLoader *l, float *images, int32_t *labels, float *targets,
                  gboolean *mixed, int *sample_ids)
{
  g_return_val_if_fail (l != NULL && images != NULL && labels != NULL, 0);
  g_return_val_if_fail (targets != NULL || !l->mix, 0);

  float *scratch = NULL;
  int n = 0;
  pthread_mutex_lock (&l->lock);
  if (!l->started)
    start_epoch_locked (l, 0, 0);   /* never started: epoch 0 from the beginning */
  while (l->active && l->next_deliver < l->n_batches)
    {
      const int b = l->next_deliver;
      Slot *slot = &l->slots[b % l->n_slots];
      while (!(slot->batch_index == b && slot->ready))
        {
          if (l->n_threads == 0 && can_claim (l))
            {
              /* no loader thread could be started: work here */
              if (scratch == NULL)
                scratch = g_new (float, l->sample_size);
              work_one (l, scratch);
            }
          else
            pthread_cond_wait (&l->ready_cond, &l->lock);
        }
      pthread_mutex_unlock (&l->lock);

      /* the slot stays ours until next_deliver moves past it */
      n = slot->n_good;
      if (n > 0)
        {
          memcpy (images, slot->images, (size_t) n * l->sample_size * sizeof (float));
          memcpy (labels, slot->labels, (size_t) n * sizeof (int32_t));
          if (sample_ids != NULL)
            memcpy (sample_ids, slot->ids, (size_t) n * sizeof (int));
          if (slot->mixed)
            memcpy (targets, slot->targets, (size_t) n * l->n_classes * sizeof (float));
          if (mixed != NULL)
            *mixed = slot->mixed;
        }

      pthread_mutex_lock (&l->lock);
      for (int k = 0; k < slot->n_items; k++)
        if (slot->issue[k] != NULL)
          {
            g_ptr_array_add (l->issues, slot->issue[k]);
            slot->issue[k] = NULL;
          }
      slot->batch_index = -1;
      slot->ready = FALSE;
      l->next_deliver++;
      pthread_cond_broadcast (&l->work_cond);
      if (n > 0)
        break;   /* else every sample of the batch was bad: on to the next */
    }
  pthread_mutex_unlock (&l->lock);
  g_free (scratch);
  if (n == 0 && mixed != NULL)
    *mixed = FALSE;
  return n;
}

int
hone_loader_position (HoneLoader *l)
{
  g_return_val_if_fail (l != NULL, 0);
  pthread_mutex_lock (&l->lock);
  int pos = l->started ? l->next_deliver : 0;
  pthread_mutex_unlock (&l->lock);
  return pos;
}

GPtrArray *
hone_loader_take_issues (HoneLoader *l)
{
  g_return_val_if_fail (l != NULL, NULL);
  pthread_mutex_lock (&l->lock);
  GPtrArray *issues = l->issues;
  l->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) hone_data_issue_free);
  pthread_mutex_unlock (&l->lock);
  return issues;
}

gboolean
hone_augment_preview (HoneDataset *ds, int i, const HoneImageFormat *format,
                      const HoneAugment *augment, int n, uint64_t seed, float *out,
                      GError **error)
{
  g_return_val_if_fail (ds != NULL && format != NULL && augment != NULL && out != NULL, FALSE);
  g_return_val_if_fail (n >= 1, FALSE);

  if (i < 0 || i >= hone_dataset_n_samples (ds))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "sample %d is outside %s's %d samples", i, hone_dataset_source (ds),
                   hone_dataset_n_samples (ds));
      return FALSE;
    }
  if (!check_format (format, error) || !hone_augment_validate (augment, error))
    return FALSE;

  const int C = format->channels, H = format->height, W = format->width;
  const int64_t sample = (int64_t) C * H * W;
  if (!hone_dataset_load (ds, i, C, H, W, out, error))
    return FALSE;
  for (int v = 1; v < n; v++)
    {
      HoneRng rng;
      HoneAugmentDraw draw;
      seed_rng (&rng, seed, STREAM_PREVIEW, (uint64_t) i, (uint64_t) v);
      hone_augment_draw (&draw, augment, H, W, &rng);
      hone_augment_apply (out + v * sample, out, &draw, format->mean, C, H, W);
    }
  return TRUE;
}
