/* hone-loader.h: from samples to batches: decode, resize, augment,
 * normalise, on loader threads with prefetch.
 *
 * Deterministic for a seed: every random choice for sample i in epoch e
 * comes from a generator seeded by (seed, epoch, i), and the order of an
 * epoch from (seed, epoch), so a batch is the same whatever the number of
 * threads and wherever a resumed run starts.
 *
 * Loader threads run at a lower scheduling priority (see
 * hone_thread_lower_priority) and their number counts against the engine's
 * thread budget: the trainer gives BLAS and the loader a share each.
 *
 * Precisely: i is the sample's position in the epoch's order (so a sample
 * that balanced sampling draws twice is augmented twice, differently), and
 * a batch's mixup / cutmix draws from (seed, epoch, batch index).  The
 * transforms themselves are in hone-augment.h.
 *
 * A loader is driven from one thread at a time (start_epoch, next,
 * take_issues); its worker threads are its own, started by the first epoch
 * and stopped by hone_loader_free, which may be called mid-epoch. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "data/hone-dataset.h"

G_BEGIN_DECLS

/* What the model takes. */
typedef struct
{
  int channels;
  int height;
  int width;
  float mean[4];    /* per channel, after scaling to [0, 1] */
  float std[4];
} HoneImageFormat;

/* Random augmentation, applied in this order after resizing; each field's
 * zero value is "off".  Geometric transforms are one affine warp
 * (bilinear, border filled with the mean). */
typedef struct
{
  double hflip;            /* probability of a horizontal flip, [0, 1] */
  double vflip;            /* probability of a vertical flip, [0, 1] */
  double rotate;           /* degrees: uniform in [-rotate, rotate], [0, 180] */
  double scale_min;        /* zoom factor range, 0 < min <= max <= 4; both 0: off */
  double scale_max;
  double translate;        /* fraction of the side: uniform in [-t, t] each axis, [0, 0.5] */
  double crop_scale_min;   /* random resized crop: area fraction in [min, 1], ratio 3/4..4/3; (0, 1], 0: off */
  double brightness;       /* colour jitter factors as torchvision ColorJitter, [0, 1] */
  double contrast;
  double saturation;
  double hue;              /* [0, 0.5] */
  double cutout;           /* side of one erased square as a fraction of the image side, [0, 1] */
  double mixup_alpha;      /* Beta(alpha, alpha) mixing of pairs in a batch, >= 0 */
  double cutmix_alpha;     /* CutMix with Beta(alpha, alpha) area, >= 0; with mixup both on, each batch picks one */
} HoneAugment;

/* An error naming the key ("augment.rotate = 400 is out of range: use 0 to 180"). */
gboolean hone_augment_validate (const HoneAugment *aug, GError **error);
/* TRUE when any random transform is on. */
gboolean hone_augment_is_active (const HoneAugment *aug);

typedef struct _HoneLoader HoneLoader;

typedef enum
{
  HONE_SAMPLING_SEQUENTIAL,   /* in index order (validation) */
  HONE_SAMPLING_SHUFFLE,      /* a fresh permutation each epoch */
  HONE_SAMPLING_BALANCED,     /* with replacement, each class equally likely */
} HoneSampling;

typedef struct
{
  HoneImageFormat format;
  HoneAugment augment;        /* all zero: none */
  HoneSampling sampling;
  int batch;                  /* >= 1 */
  gboolean drop_last;         /* drop a short last batch */
  uint64_t seed;
  int threads;                /* loader threads, >= 1 */
  int prefetch;               /* batches decoded ahead, >= 1 */
} HoneLoaderConfig;

/* Loads the samples `indices` (copied) of ds (which must outlive the loader). */
HoneLoader *hone_loader_new  (HoneDataset *ds, const int *indices, int n,
                              const HoneLoaderConfig *config, GError **error);
void        hone_loader_free (HoneLoader *loader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneLoader, hone_loader_free)

int         hone_loader_n_batches (const HoneLoader *loader);

/* Starts (or restarts) epoch `epoch` at batch `start_batch`, for resuming.
 * Batches already made for another epoch are dropped.  hone_loader_next on
 * a loader never started starts epoch 0 at batch 0. */
void        hone_loader_start_epoch (HoneLoader *loader, int epoch, int start_batch);

/* The next batch of the epoch: images (batch, C, H, W) normalised, labels
 * (batch), targets (batch, K) soft labels when mixup or cutmix mixed this
 * batch (else untouched; *mixed says which), sample indices (batch, may be
 * NULL).  Returns the number of samples (< batch for a short last batch or
 * when bad samples were skipped), 0 at the end of the epoch.  Samples that
 * fail to decode are skipped and reported through hone_loader_take_issues;
 * a batch with no good sample left is skipped.  After mixing, labels[i]
 * is still sample i's own class (its larger share needs targets).
 * targets may be NULL when mixup and cutmix are off. */
int         hone_loader_next (HoneLoader *loader, float *images, int32_t *labels, float *targets,
                              gboolean *mixed, int *sample_ids);

/* Issues (HoneDataIssue *) of the batches delivered since the last call, in
 * order; transfer full: g_ptr_array_unref frees the issues too. */
GPtrArray  *hone_loader_take_issues (HoneLoader *loader);

/* Batches of the current epoch handed out or skipped so far (whole batches
 * of bad samples count): where hone_loader_start_epoch would resume. */
int         hone_loader_position (HoneLoader *loader);

/* n augmented versions of sample i, for the UI's preview: out (n, C, H, W)
 * in [0, 1], not normalised; version 0 is the un-augmented image.  Only
 * the per-sample transforms show: mixup and cutmix need a batch. */
gboolean    hone_augment_preview (HoneDataset *ds, int i, const HoneImageFormat *format,
                                  const HoneAugment *augment, int n, uint64_t seed, float *out,
                                  GError **error);

G_END_DECLS
