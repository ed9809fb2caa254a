/* hone-dataset.h: labelled image collections and how they are split.
 *
 * A HoneDataset is a list of samples (where each one comes from, its label)
 * and the class names.  Sources: IDX files (gzip or plain), with
 * Fashion-MNIST built in; a folder with one sub-folder per class (PNG,
 * JPEG); a CSV manifest of path,label; a safetensors file with `images` and
 * `labels`.  Opening reads the index, not every image: images are decoded
 * on demand by hone_dataset_load, on the loader's threads.
 *
 * A bad file never stops a run: opening skips what it cannot use and lists
 * it in hone_dataset_issues; a sample that fails to decode later gives a
 * GError naming its path, and the loader skips it.  Only a source with no
 * usable sample at all is an error.
 *
 * This file does not augment, normalise or batch: see hone-loader.h. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"

G_BEGIN_DECLS

/* Limits checked before allocating anything for a decoded image. */
#define HONE_IMAGE_MAX_SIDE   16384
#define HONE_IMAGE_MAX_PIXELS (64 * 1024 * 1024)

typedef struct _HoneDataset HoneDataset;

typedef struct
{
  char *path;      /* the file or folder, or "fmnist#123" for a sample inside a file,
                    * or "FILE.csv:LINE" for a line of a manifest */
  char *message;   /* what was wrong, for a person (a whole sentence, naming the path) */
} HoneDataIssue;

/* A new issue holding copies of path and message. */
HoneDataIssue *hone_data_issue_new  (const char *path, const char *message);
void           hone_data_issue_free (HoneDataIssue *issue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneDataIssue, hone_data_issue_free)

/* Opens a source:
 *   "fmnist"           Fashion-MNIST's 60,000 training images (Debian's dataset-fashion-mnist)
 *   "fmnist-test"      its 10,000 test images
 *   "fmnist:5-9"       a class subset (also "fmnist:0,2,4", "fmnist-test:5-9"); labels are
 *                      renumbered from 0 in the listed order, class names kept
 *   a folder           one sub-folder per class, sorted by name; PNG and JPEG files inside
 *   FILE.csv           lines "path,label" (paths relative to the CSV's folder; label a class
 *                      name or index); an optional header line "path,label"
 *   FILE.safetensors   `images` (N, C, H, W) float32 (used as given) or uint8 (scaled to
 *                      [0, 1]), `labels` (N) int64; class names from the metadata key
 *                      "classes" (comma-separated) if present
 *   IMAGES-idx3-ubyte[.gz]  with LABELS beside it (…-images-… → …-labels-…)
 * Returns NULL with an error naming the source when nothing usable is there.
 *
 * Details:
 *  - "fmnist…" is always the built-in, even beside a folder of that name
 *    (write "./fmnist" for the folder).  Its files are looked up in
 *    $HONE_FMNIST_DIR when set, else /usr/share/datasets/fashion-mnist, as
 *    NAME-idx?-ubyte.gz or plain.  Sample names are "fmnist#I" or
 *    "fmnist-test#I", I the index in the file; class names are
 *    T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker,
 *    Bag, Ankle boot.  Other IDX files have classes "0" .. max label.
 *  - A folder: every sub-folder is a class, even an empty one (reported);
 *    a class folder's own sub-folders are searched too (16 deep, links
 *    followed, loops refused); names starting with "." are ignored; other
 *    files are reported, as are files outside class folders, entries that
 *    cannot be read and files that are not regular.  Files are listed in
 *    byte order of their names.
 *  - Each PNG or JPEG (by name) is checked cheaply at open: a regular
 *    non-empty file, the magic bytes, a readable header, a size within
 *    HONE_IMAGE_MAX_SIDE / HONE_IMAGE_MAX_PIXELS; a PNG file too short for
 *    its pixels at deflate's best ratio (1032:1) is refused too.
 *  - CSV: RFC 4180 quoting ("a,b.png" and "" inside quotes), blank lines
 *    skipped, CRLF and a UTF-8 byte order mark accepted.  When every label
 *    is a number, labels are class indices and the classes "0" .. max;
 *    otherwise labels are class names and the classes are the names used,
 *    sorted (byte order).  A line with a wrong field count or an empty
 *    field is an issue named "FILE.csv:LINE".
 *  - safetensors and IDX: a label outside the classes is an issue for that
 *    sample ("FILE#I"); a wrong shape, dtype or size of the file is an
 *    error.  IDX sizes are checked against the file (and gzip's trailer)
 *    before anything is allocated, see hone-idx.h. */
HoneDataset *hone_dataset_open (const char *source, GError **error);
void         hone_dataset_free (HoneDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneDataset, hone_dataset_free)

const char  *hone_dataset_source      (const HoneDataset *ds);
int          hone_dataset_n_samples   (const HoneDataset *ds);
int          hone_dataset_n_classes   (const HoneDataset *ds);
const char  *hone_dataset_class_name  (const HoneDataset *ds, int k);
int          hone_dataset_label       (const HoneDataset *ds, int i);
/* The sample's file path, or "SOURCE#INDEX" inside a file; owned by ds. */
const char  *hone_dataset_sample_name (const HoneDataset *ds, int i);
/* The native size when every sample has the same (always for IDX and
 * safetensors; for folders and CSV from the headers read at open), else
 * 0s.  channels: 1 grey, 3 RGB (a PNG with a palette counts as RGB). */
void         hone_dataset_native_size (const HoneDataset *ds, int *channels, int *height, int *width);

/* Decodes sample i into out (channels, height, width), values in [0, 1]:
 * converted to `channels` (grey <-> RGB, alpha dropped), resized to
 * height x width with bilinear filtering (area-averaged when shrinking).
 * Thread-safe.  FALSE with a HONE_ERROR_FORMAT error naming the file for a
 * corrupt, truncated, non-image or absurdly large file.
 *
 * RGB to grey is ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B); grey to
 * RGB repeats the plane.  Resizing is separable, per axis: bilinear with
 * half-pixel centres where it grows (PyTorch's interpolate, mode
 * "bilinear", align_corners=False), exact area averaging where it shrinks
 * (OpenCV's INTER_AREA), see hone-image.h.  A JPEG at least twice the
 * target size on both axes is first decoded at 1/2, 1/4 or 1/8 scale by
 * libjpeg (never below the target).  16-bit PNG samples keep their
 * precision; safetensors float32 values pass through unclamped (a NaN or
 * infinity is a HONE_ERROR_FORMAT error naming "FILE#I"); a file that
 * cannot be read any more is a HONE_ERROR_IO error. */
gboolean     hone_dataset_load (HoneDataset *ds, int i, int channels, int height, int width,
                                float *out, GError **error);

/* What opening skipped (HoneDataIssue *), in the order found; owned by ds. */
GPtrArray   *hone_dataset_issues (const HoneDataset *ds);

/* counts[k] = samples of class k among indices (all samples when indices
 * is NULL; n is then ignored); counts has n_classes entries. */
void         hone_dataset_class_counts (const HoneDataset *ds, const int *indices, int n,
                                        int64_t *counts);

/* ---- splits and balance ------------------------------------------------ */

typedef struct
{
  int *train;      /* sample indices, owned */
  int  n_train;
  int *val;
  int  n_val;
  int *test;
  int  n_test;
} HoneSplit;

/* Stratified: each class is divided in the given ratios (val + test < 1),
 * deterministically for a seed; every class with at least 2 samples gets at
 * least one in train and, when val > 0, one in val.
 *
 * Rounding, per class of n samples: n_val = round (val * n) and n_test =
 * round (test * n), halves up (0.3 * 5 gives 2); then when n >= 2 and
 * val > 0, n_val >= 1; when n >= 3 and test > 0, n_test >= 1; and when
 * n >= 2 and train would be empty, test and then val give up samples
 * until train has one.  A class of 1 sample goes to train.  Which samples
 * go where: the class's indices shuffled by a generator seeded with (seed,
 * class).  The three lists are sorted ascending.  An error naming
 * data.val_split for fractions out of range; split is zeroed first and
 * left so on error. */
gboolean hone_split_stratified (const HoneDataset *ds, double val, double test, uint64_t seed,
                                HoneSplit *split, GError **error);
/* Stratified k-fold: fold f (0 .. k-1) is the validation set, the rest train.
 * Each class's indices are shuffled (seeded with (seed, class)), the
 * classes laid one after another and dealt to the folds in turn, so each
 * class's count per fold, and each fold's size, differ by at most one, and
 * the k folds of one seed partition the samples.  2 <= k <= n_samples,
 * else an error naming data.kfold (or data.fold). */
gboolean hone_split_kfold      (const HoneDataset *ds, int k, int fold, uint64_t seed,
                                HoneSplit *split, GError **error);
/* Uses every sample of `train` for training and every sample of `val` (a
 * second dataset with the same classes) for validation: "given folders".
 * Indices of val refer to the val dataset.  HONE_ERROR_MISMATCH naming
 * both sources when the class names differ (in number or in order). */
gboolean hone_split_given      (const HoneDataset *train, const HoneDataset *val,
                                HoneSplit *split, GError **error);
void     hone_split_clear      (HoneSplit *split);

/* `data.limit`: keeps at most `limit` samples of the split (0: all),
 * shared among train, val and test in proportion to their sizes, and
 * within each part among the classes in proportion to their counts, both
 * by largest remainder (quotas floor (limit * size / total), the rest one
 * each to the largest remainders, ties to train, then val, then test, or
 * to the lower class); every non-empty part and every class present in a
 * part keeps at least one sample when the limit allows it.  Which samples
 * of a class stay is random, deterministic for the seed; the kept indices
 * stay in their order.  Apply it after splitting, so that a limited
 * validation set is drawn from the same split as an unlimited one. */
void     hone_split_limit       (HoneSplit *split, const HoneDataset *ds, int limit, uint64_t seed);
/* The same for a split from hone_split_given: val indices refer to val. */
void     hone_split_limit_given (HoneSplit *split, const HoneDataset *train,
                                 const HoneDataset *val, int limit, uint64_t seed);
/* The same for one list of sample indices of ds: keeps at most `limit` of
 * the n (in place, order kept, 0: all) and returns how many remain. */
int      hone_dataset_limit_indices (const HoneDataset *ds, int *indices, int n, int limit,
                                     uint64_t seed);

/* Largest class count over the smallest non-zero one (1 when balanced). */
double   hone_class_imbalance  (const int64_t *counts, int n_classes);
/* Inverse-frequency class weights, scaled so that their mean over the
 * samples is 1 (weights[k] = n / (K * counts[k]), K the number of
 * non-empty classes, as scikit-learn's compute_class_weight ("balanced"));
 * 0 for empty classes. */
void     hone_class_weights    (const int64_t *counts, int n_classes, float *weights);

G_END_DECLS
