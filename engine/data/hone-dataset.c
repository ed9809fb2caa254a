/* hone-dataset.c: opening data sources, decoding samples, splits and class
 * balance, see hone-dataset.h.
 *
 * Three kinds of source sit behind one sample list:
 *  - IDX (Fashion-MNIST and any IDX images/labels pair): the pixels of the
 *    samples kept are read at open (60,000 x 28 x 28 bytes, a quarter of a
 *    second to unpack) because a gzip stream cannot be read at random;
 *  - files (a class folder or a CSV manifest): only paths, labels and each
 *    file's header are read at open; pixels are decoded on demand;
 *  - safetensors: the file stays mapped, rows are converted on demand.
 * Every field is fixed once open returns, so hone_dataset_load may run on
 * any number of threads at once.
 *
 * This file does not augment, normalise or batch (hone-loader.c), and does
 * not decode or resize pixels itself (hone-image-decode.c, hone-image.c). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "data/hone-dataset.h"
#include "data/hone-idx.h"
#include "data/hone-image-decode.h"
#include "data/hone-image.h"
#include "hone-rng.h"
#include "hone-safetensors.h"

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define MAX_FOLDER_DEPTH   16
#define MAX_CLASSES        65536
#define MAX_CSV_BYTES      ((gsize) 1 << 30)

static const char *const fmnist_classes[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};
#define FMNIST_N_CLASSES 10

typedef enum
{
  SOURCE_IDX,
  SOURCE_FILES,
  SOURCE_SAFETENSORS,
} SourceKind;

struct _HoneDataset
{
  char *source;
  SourceKind kind;
  int n_samples;
  int n_classes;
  char **class_names;          /* (n_classes), NULL-terminated */
  int *labels;                 /* (n_samples) */
  const char **names;          /* (n_samples), strings in name_chunk */
  GStringChunk *name_chunk;
  GPtrArray *issues;           /* HoneDataIssue * */
  int channels, height, width; /* native size; 0s when the samples differ */

  /* SOURCE_IDX */
  guint8 *pixels;              /* (n_samples, height, width) */

  /* SOURCE_SAFETENSORS */
  HoneSafetensors *st;
  const HoneSafetensorsTensor *images;   /* (N, C, H, W) F32 or U8 */
  int64_t *rows;               /* (n_samples) row of images */
};

/* ---- issues ------------------------------------------------------------ */

HoneDataIssue *
hone_data_issue_new (const char *path, const char *message)
{
  g_return_val_if_fail (path != NULL && message != NULL, NULL);
  HoneDataIssue *issue = g_new (HoneDataIssue, 1);
  issue->path = g_strdup (path);
  issue->message = g_strdup (message);
  return issue;
}

void
hone_data_issue_free (HoneDataIssue *issue)
{
  if (!issue)
    return;
  g_free (issue->path);
  g_free (issue->message);
  g_free (issue);
}

static void
add_issue (HoneDataset *ds, const char *path, const char *message)
{
  g_ptr_array_add (ds->issues, hone_data_issue_new (path, message));
}

G_GNUC_PRINTF (3, 4) static void
add_issuef (HoneDataset *ds, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  add_issue (ds, path, message);
}

/* ---- building ---------------------------------------------------------- */

typedef struct
{
  HoneDataset *ds;
  GArray *labels;    /* int */
  GPtrArray *names;  /* const char *, in ds->name_chunk */
  GArray *rows;      /* int64_t */
  gboolean any;      /* a sample has set the native size */
} Builder;

static HoneDataset *
dataset_new (const char *source, SourceKind kind)
{
  HoneDataset *ds = g_new0 (HoneDataset, 1);
  ds->source = g_strdup (source);
  ds->kind = kind;
  ds->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) hone_data_issue_free);
  ds->name_chunk = g_string_chunk_new (4096);
  return ds;
}

static void
builder_init (Builder *b, HoneDataset *ds)
{
  b->ds = ds;
  b->labels = g_array_new (FALSE, FALSE, sizeof (int));
  b->names = g_ptr_array_new ();
  b->rows = g_array_new (FALSE, FALSE, sizeof (int64_t));
  b->any = FALSE;
}

/* c, h, w: the sample's native size (0s when unknown). */
static void
builder_add (Builder *b, const char *name, int label, int64_t row, int c, int h, int w)
{
  HoneDataset *ds = b->ds;
  g_array_append_val (b->labels, label);
  g_ptr_array_add (b->names, g_string_chunk_insert (ds->name_chunk, name));
  g_array_append_val (b->rows, row);
  if (!b->any)
    {
      ds->channels = c;
      ds->height = h;
      ds->width = w;
      b->any = TRUE;
    }
  else if (ds->channels != c || ds->height != h || ds->width != w)
    ds->channels = ds->height = ds->width = 0;
}

/* Moves the samples into ds and frees the builder. */
static void
builder_finish (Builder *b)
{
  HoneDataset *ds = b->ds;
  g_assert (b->labels->len <= G_MAXINT);
  ds->n_samples = (int) b->labels->len;
  ds->labels = (int *) (void *) g_array_free (b->labels, FALSE);
  ds->names = (const char **) g_ptr_array_free (b->names, FALSE);
  ds->rows = (int64_t *) (void *) g_array_free (b->rows, FALSE);
  if (!b->any)
    ds->channels = ds->height = ds->width = 0;
}

static void
set_class_names (HoneDataset *ds, char **names, int n)
{
  ds->n_classes = n;
  ds->class_names = g_new0 (char *, n + 1);
  for (int k = 0; k < n; k++)
    ds->class_names[k] = names ? g_strdup (names[k]) : g_strdup_printf ("%d", k);
}

/* The error for a source with nothing usable; FALSE when so. */
static gboolean
check_usable (HoneDataset *ds, GError **error)
{
  if (ds->n_samples > 0)
    return TRUE;
  g_autofree char *display = g_filename_display_name (ds->source);
  if (ds->issues->len == 0)
    g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' holds no usable sample", display);
  else
    {
      HoneDataIssue *first = g_ptr_array_index (ds->issues, 0);
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' holds no usable sample (%u problem%s, the first: %s)", display,
                   ds->issues->len, ds->issues->len == 1 ? "" : "s", first->message);
    }
  return FALSE;
}

/* ---- IDX and Fashion-MNIST --------------------------------------------- */

/* subset: original class ids in their new order (n_subset of them), or
 * NULL for all.  fixed_names: the class names when the classes are known
 * (Fashion-MNIST), else NULL (classes "0" .. max label). */
static HoneDataset *
open_idx (const char *source, const char *images_path, const char *labels_path,
          const char *sample_prefix, const char *const *fixed_names, int n_fixed,
          const int *subset, int n_subset, GError **error)
{
  g_autoptr (HoneIdxFile) images = hone_idx_open (images_path, 3, error);
  if (!images)
    return NULL;
  g_autofree char *images_display = g_filename_display_name (images_path);
  g_autofree char *labels_display = g_filename_display_name (labels_path);
  const int64_t *dims = hone_idx_dims (images);
  int64_t n = dims[0], h = dims[1], w = dims[2];
  if (h < 1 || w < 1 || h > HONE_IMAGE_MAX_SIDE || w > HONE_IMAGE_MAX_SIDE
      || h * w > HONE_IMAGE_MAX_PIXELS || n > G_MAXINT)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' holds %" G_GINT64_FORMAT " images of %" G_GINT64_FORMAT " x %"
                   G_GINT64_FORMAT " pixels: Hone reads at most %d images of at most %d pixels a "
                   "side", images_display, n, h, w, G_MAXINT, HONE_IMAGE_MAX_SIDE);
      return NULL;
    }
  g_autoptr (HoneIdxFile) labels_file = hone_idx_open (labels_path, 1, error);
  if (!labels_file)
    return NULL;
  if (hone_idx_dims (labels_file)[0] != n)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' holds %" G_GINT64_FORMAT " labels but '%s' holds %" G_GINT64_FORMAT
                   " images: they must match", labels_display, hone_idx_dims (labels_file)[0],
                   images_display, n);
      return NULL;
    }
  g_autofree guint8 *labels = hone_idx_read_data (labels_file, error);
  if (!labels)
    return NULL;

  g_autoptr (HoneDataset) ds = dataset_new (source, SOURCE_IDX);
  int n_classes = n_fixed;
  if (!fixed_names)
    for (int64_t i = 0; i < n; i++)
      n_classes = MAX (n_classes, labels[i] + 1);
  int map[256];
  for (int k = 0; k < 256; k++)
    map[k] = subset ? -1 : (k < n_classes ? k : -1);
  if (subset)
    for (int j = 0; j < n_subset; j++)
      map[subset[j]] = j;
  if (subset)
    {
      g_auto (GStrv) names = g_new0 (char *, n_subset + 1);
      for (int j = 0; j < n_subset; j++)
        names[j] = g_strdup (fixed_names ? fixed_names[subset[j]] : "");
      set_class_names (ds, names, n_subset);
    }
  else
    set_class_names (ds, (char **) fixed_names, n_classes);

  Builder b;
  builder_init (&b, ds);
  guint8 *keep = g_new0 (guint8, MAX (n, 1));
  int64_t n_keep = 0;
  for (int64_t i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s#%" G_GINT64_FORMAT, sample_prefix, i);
      if (labels[i] >= n_classes)
        {
          add_issuef (ds, name, "'%s': label %d is out of range (0 to %d)", name, labels[i],
                      n_classes - 1);
          continue;
        }
      if (map[labels[i]] < 0)
        continue;
      keep[i] = 1;
      n_keep++;
      builder_add (&b, name, map[labels[i]], i, 1, (int) h, (int) w);
    }
  builder_finish (&b);
  if (!check_usable (ds, error))
    {
      g_free (keep);
      return NULL;
    }

  /* The pixels of the samples kept, row by row: a subset never holds the
   * whole file. */
  gsize item = (gsize) (h * w);
  ds->pixels = g_try_malloc (MAX ((gsize) n_keep * item, 1));
  if (!ds->pixels)
    {
      g_free (keep);
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "Could not read '%s': out of memory",
                   images_display);
      return NULL;
    }
  gsize at = 0;
  for (int64_t i = 0; i < n; i++)
    {
      if (!hone_idx_read (images, keep[i] ? ds->pixels + at : NULL, item, error))
        {
          g_free (keep);
          return NULL;
        }
      if (keep[i])
        at += item;
    }
  g_free (keep);
  if (!hone_idx_finish (images, error))
    return NULL;
  return g_steal_pointer (&ds);
}

/* "5-9", "0,2,4", "0-2,7": original classes in the listed order. */
static int *
parse_class_subset (const char *source, const char *spec, int n_classes, int *n_out,
                    GError **error)
{
  g_auto (GStrv) items = g_strsplit (spec, ",", -1);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int));
  gboolean seen[256] = { FALSE };
  for (int i = 0; items[i]; i++)
    {
      char *item = g_strstrip (items[i]);
      guint64 lo, hi;
      char *dash = strchr (item, '-');
      gboolean ok;
      if (dash)
        {
          *dash = '\0';
          ok = g_ascii_string_to_unsigned (g_strstrip (item), 10, 0, 255, &lo, NULL)
               && g_ascii_string_to_unsigned (g_strstrip (dash + 1), 10, 0, 255, &hi, NULL)
               && lo <= hi;
        }
      else
        {
          ok = g_ascii_string_to_unsigned (item, 10, 0, 255, &lo, NULL);
          hi = lo;
        }
      if (!ok)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "'%s': '%s' is not a class subset: use class numbers and ranges such as "
                       "5-9 or 0,2,4", source, spec);
          g_array_free (ids, TRUE);
          return NULL;
        }
      for (guint64 k = lo; k <= hi; k++)
        {
          if ((int) k >= n_classes)
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "'%s': class %" G_GUINT64_FORMAT " is out of range: the classes are "
                           "0 to %d", source, k, n_classes - 1);
              g_array_free (ids, TRUE);
              return NULL;
            }
          if (seen[k])
            {
              g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                           "'%s': class %" G_GUINT64_FORMAT " is listed twice", source, k);
              g_array_free (ids, TRUE);
              return NULL;
            }
          seen[k] = TRUE;
          int id = (int) k;
          g_array_append_val (ids, id);
        }
    }
  if (ids->len == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "'%s' lists no class: use class numbers and ranges such as 5-9 or 0,2,4",
                   source);
      g_array_free (ids, TRUE);
      return NULL;
    }
  *n_out = (int) ids->len;
  return (int *) (void *) g_array_free (ids, FALSE);
}

/* The plain file when the .gz one is missing. */
static char *
fmnist_file (const char *dir, const char *name)
{
  char *gz = g_strdup_printf ("%s/%s.gz", dir, name);
  if (g_file_test (gz, G_FILE_TEST_EXISTS))
    return gz;
  char *plain = g_strdup_printf ("%s/%s", dir, name);
  if (g_file_test (plain, G_FILE_TEST_EXISTS))
    {
      g_free (gz);
      return plain;
    }
  g_free (plain);
  return gz;
}

static HoneDataset *
open_fmnist (const char *source, GError **error)
{
  gboolean test = g_str_has_prefix (source, "fmnist-test");
  const char *base = test ? "fmnist-test" : "fmnist";
  const char *spec = source + strlen (base);
  g_autofree int *subset = NULL;
  int n_subset = 0;
  if (*spec == ':')
    {
      subset = parse_class_subset (source, spec + 1, FMNIST_N_CLASSES, &n_subset, error);
      if (!subset)
        return NULL;
    }
  const char *dir = g_getenv ("HONE_FMNIST_DIR");
  if (!dir || !*dir)
    dir = FMNIST_DEFAULT_DIR;
  const char *prefix = test ? "t10k" : "train";
  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images = fmnist_file (dir, images_name);
  g_autofree char *labels = fmnist_file (dir, labels_name);
  if (!g_file_test (images, G_FILE_TEST_EXISTS) || !g_file_test (labels, G_FILE_TEST_EXISTS))
    {
      g_autofree char *display = g_filename_display_name (
        g_file_test (images, G_FILE_TEST_EXISTS) ? labels : images);
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "'%s': Fashion-MNIST is not installed ('%s' is missing): install Debian's "
                   "dataset-fashion-mnist package", source, display);
      return NULL;
    }
  return open_idx (source, images, labels, base, fmnist_classes, FMNIST_N_CLASSES, subset,
                   n_subset, error);
}

/* Replaces the last occurrence of `from` in the file name with `to`. */
static char *
replace_in_basename (const char *path, const char *from, const char *to)
{
  const char *base = strrchr (path, '/');
  base = base ? base + 1 : path;
  const char *hit = NULL;
  for (const char *p = strstr (base, from); p; p = strstr (p + 1, from))
    hit = p;
  if (!hit)
    return g_strdup (path);
  return g_strdup_printf ("%.*s%s%s", (int) (hit - path), path, to, hit + strlen (from));
}

static HoneDataset *
open_idx_path (const char *source, GError **error)
{
  g_autofree char *display = g_filename_display_name (source);
  g_autofree char *base = g_path_get_basename (source);
  if (!strstr (base, "images"))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "'%s': Hone finds an IDX file's labels by its name (NAME-images-idx3-ubyte "
                   "-> NAME-labels-idx1-ubyte), and this name has no 'images' in it", display);
      return NULL;
    }
  g_autofree char *step = replace_in_basename (source, "images", "labels");
  g_autofree char *labels = replace_in_basename (step, "idx3", "idx1");
  if (!g_file_test (labels, G_FILE_TEST_EXISTS))
    {
      /* the labels may be compressed when the images are not, or not */
      char *other = g_str_has_suffix (labels, ".gz")
                    ? g_strndup (labels, strlen (labels) - 3)
                    : g_strconcat (labels, ".gz", NULL);
      if (g_file_test (other, G_FILE_TEST_EXISTS))
        {
          g_free (labels);
          labels = other;
        }
      else
        g_free (other);
    }
  if (!g_file_test (labels, G_FILE_TEST_EXISTS))
    {
      g_autofree char *ldisplay = g_filename_display_name (labels);
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "'%s' needs its labels beside it: '%s' does not exist", display, ldisplay);
      return NULL;
    }
  return open_idx (source, source, labels, source, NULL, 0, NULL, 0, error);
}

/* ---- files: class folders and CSV manifests ---------------------------- */

typedef struct
{
  GPtrArray *paths;   /* char *, owned */
  GArray *labels;     /* int */
} Candidates;

static void
candidates_init (Candidates *c)
{
  c->paths = g_ptr_array_new_with_free_func (g_free);
  c->labels = g_array_new (FALSE, FALSE, sizeof (int));
}

static void
candidates_clear (Candidates *c)
{
  g_ptr_array_unref (c->paths);
  g_array_unref (c->labels);
}

static void
candidates_add (Candidates *c, const char *path, int label)
{
  g_ptr_array_add (c->paths, g_strdup (path));
  g_array_append_val (c->labels, label);
}

/* Checks each candidate's header; the good ones become samples. */
static void
probe_candidates (HoneDataset *ds, Candidates *c)
{
  Builder b;
  builder_init (&b, ds);
  for (guint i = 0; i < c->paths->len; i++)
    {
      const char *path = g_ptr_array_index (c->paths, i);
      HoneImageInfo info;
      GError *err = NULL;
      if (hone_image_probe (path, &info, &err))
        builder_add (&b, path, g_array_index (c->labels, int, i), 0, info.channels, info.height,
                     info.width);
      else
        {
          add_issue (ds, path, err->message);
          g_error_free (err);
        }
    }
  builder_finish (&b);
  g_clear_pointer (&ds->rows, g_free);
}

static void
report_empty_classes (HoneDataset *ds, const char *const *where)
{
  int64_t *counts = g_new0 (int64_t, MAX (ds->n_classes, 1));
  hone_dataset_class_counts (ds, NULL, ds->n_samples, counts);
  for (int k = 0; k < ds->n_classes; k++)
    if (counts[k] == 0)
      add_issuef (ds, where ? where[k] : ds->source,
                  "class '%s' has no usable image: it stays a class, with no samples",
                  ds->class_names[k]);
  g_free (counts);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The entries of a folder but hidden ones, sorted by name (bytes). */
static GPtrArray *
list_folder (const char *dir, GError **error)
{
  DIR *d = opendir (dir);
  if (!d)
    {
      int e = errno;
      g_autofree char *display = g_filename_display_name (dir);
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read the folder '%s': %s",
                   display, g_strerror (e));
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      errno = 0;
      struct dirent *ent = readdir (d);
      if (!ent)
        {
          int e = errno;
          if (e != 0)
            {
              g_autofree char *display = g_filename_display_name (dir);
              g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read the folder '%s': %s",
                           display, g_strerror (e));
              g_ptr_array_unref (names);
              closedir (d);
              return NULL;
            }
          break;
        }
      if (ent->d_name[0] != '.')
        g_ptr_array_add (names, g_strdup (ent->d_name));
    }
  closedir (d);
  g_ptr_array_sort (names, compare_strings);
  return names;
}

typedef struct
{
  dev_t dev;
  ino_t ino;
} FolderId;

static void
walk_class_folder (HoneDataset *ds, Candidates *c, const char *dir, int label, int depth,
                   GArray *ancestors)
{
  GError *err = NULL;
  g_autoptr (GPtrArray) names = list_folder (dir, &err);
  if (!names)
    {
      add_issue (ds, dir, err->message);
      g_error_free (err);
      return;
    }
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *display = g_filename_display_name (path);
      struct stat sb;
      if (stat (path, &sb) != 0)
        {
          add_issuef (ds, path, "Could not read '%s': %s", display, g_strerror (errno));
          continue;
        }
      if (S_ISDIR (sb.st_mode))
        {
          gboolean loop = FALSE;
          for (guint a = 0; a < ancestors->len; a++)
            {
              FolderId *id = &g_array_index (ancestors, FolderId, a);
              loop |= id->dev == sb.st_dev && id->ino == sb.st_ino;
            }
          if (loop)
            add_issuef (ds, path, "'%s' leads back to a folder above it: skipped", display);
          else if (depth >= MAX_FOLDER_DEPTH)
            add_issuef (ds, path, "'%s' is nested more than %d folders deep: skipped", display,
                        MAX_FOLDER_DEPTH);
          else
            {
              FolderId id = { sb.st_dev, sb.st_ino };
              g_array_append_val (ancestors, id);
              walk_class_folder (ds, c, path, label, depth + 1, ancestors);
              g_array_set_size (ancestors, ancestors->len - 1);
            }
        }
      else if (!S_ISREG (sb.st_mode))
        add_issuef (ds, path, "'%s' is not a regular file: skipped", display);
      else if (!hone_image_has_image_extension (name))
        add_issuef (ds, path, "'%s' is not a PNG or JPEG file (by its name): skipped", display);
      else
        candidates_add (c, path, label);
    }
}

static HoneDataset *
open_folder (const char *source, GError **error)
{
  g_autoptr (GPtrArray) names = list_folder (source, error);
  if (!names)
    return NULL;
  g_autoptr (HoneDataset) ds = dataset_new (source, SOURCE_FILES);
  g_autofree char *display = g_filename_display_name (source);
  g_autoptr (GPtrArray) class_dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) class_names = g_ptr_array_new_with_free_func (g_free);
  struct stat root;
  if (stat (source, &root) != 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read the folder '%s': %s",
                   display, g_strerror (errno));
      return NULL;
    }
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (source, name, NULL);
      g_autofree char *pdisplay = g_filename_display_name (path);
      struct stat sb;
      if (stat (path, &sb) != 0)
        add_issuef (ds, path, "Could not read '%s': %s", pdisplay, g_strerror (errno));
      else if (S_ISDIR (sb.st_mode))
        {
          g_ptr_array_add (class_dirs, g_steal_pointer (&path));
          g_ptr_array_add (class_names, g_filename_display_name (name));
        }
      else
        add_issuef (ds, path, "'%s' is not inside a class folder: skipped", pdisplay);
    }
  if (class_dirs->len == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' has no class folders: put the images of each class in a sub-folder "
                   "named after the class", display);
      return NULL;
    }
  if (class_dirs->len > MAX_CLASSES)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' has %u class folders: Hone handles at most %d classes", display,
                   class_dirs->len, MAX_CLASSES);
      return NULL;
    }
  g_ptr_array_add (class_names, NULL);
  set_class_names (ds, (char **) class_names->pdata, (int) class_dirs->len);

  Candidates c;
  candidates_init (&c);
  GArray *ancestors = g_array_new (FALSE, FALSE, sizeof (FolderId));
  FolderId root_id = { root.st_dev, root.st_ino };
  g_array_append_val (ancestors, root_id);
  for (guint k = 0; k < class_dirs->len; k++)
    {
      const char *dir = g_ptr_array_index (class_dirs, k);
      struct stat sb;
      if (stat (dir, &sb) == 0)
        {
          FolderId id = { sb.st_dev, sb.st_ino };
          g_array_append_val (ancestors, id);
          walk_class_folder (ds, &c, dir, (int) k, 1, ancestors);
          g_array_set_size (ancestors, 1);
        }
    }
  g_array_unref (ancestors);
  probe_candidates (ds, &c);
  candidates_clear (&c);
  report_empty_classes (ds, (const char *const *) class_dirs->pdata);
  if (!check_usable (ds, error))
    return NULL;
  return g_steal_pointer (&ds);
}

/* Splits one CSV line (RFC 4180 quoting: "a,b" and "" for a quote inside
 * quotes; no line breaks inside fields).  FALSE for an unclosed quote. */
static gboolean
csv_split (const char *line, GPtrArray *fields)
{
  const char *p = line;
  for (;;)
    {
      GString *field = g_string_new (NULL);
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '"')
        {
          p++;
          for (;;)
            {
              if (*p == '\0')
                {
                  g_string_free (field, TRUE);
                  return FALSE;
                }
              if (*p == '"' && p[1] == '"')
                {
                  g_string_append_c (field, '"');
                  p += 2;
                }
              else if (*p == '"')
                {
                  p++;
                  break;
                }
              else
                g_string_append_c (field, *p++);
            }
          while (*p == ' ' || *p == '\t')
            p++;
          if (*p != ',' && *p != '\0')
            {
              g_string_free (field, TRUE);
              return FALSE;
            }
          g_ptr_array_add (fields, g_string_free (field, FALSE));
        }
      else
        {
          while (*p != ',' && *p != '\0')
            g_string_append_c (field, *p++);
          g_ptr_array_add (fields, g_strstrip (g_string_free (field, FALSE)));
        }
      if (*p == '\0')
        return TRUE;
      p++;   /* the comma */
    }
}

static gboolean
is_index (const char *s)
{
  if (!*s)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static HoneDataset *
open_csv (const char *source, GError **error)
{
  g_autofree char *display = g_filename_display_name (source);
  struct stat sb;
  if (stat (source, &sb) != 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                   g_strerror (errno));
      return NULL;
    }
  if ((guint64) sb.st_size > MAX_CSV_BYTES)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is larger than the 1 GiB Hone reads for a manifest", display);
      return NULL;
    }
  g_autofree char *text = NULL;
  gsize length = 0;
  GError *err = NULL;
  if (!g_file_get_contents (source, &text, &length, &err))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                   err->message);
      g_error_free (err);
      return NULL;
    }
  if (memchr (text, '\0', length))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is not a text file: a manifest holds lines \"path,label\"", display);
      return NULL;
    }

  g_autoptr (HoneDataset) ds = dataset_new (source, SOURCE_FILES);
  g_autofree char *dir = g_path_get_dirname (source);
  const char *start = text;
  if (length >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    start += 3;   /* a UTF-8 byte order mark */
  g_auto (GStrv) lines = g_strsplit (start, "\n", -1);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) label_texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) where = g_ptr_array_new_with_free_func (g_free);
  gboolean first = TRUE;
  for (int ln = 0; lines[ln]; ln++)
    {
      char *line = g_strstrip (lines[ln]);   /* also drops the \r of \r\n */
      if (!*line)
        continue;
      g_autofree char *at = g_strdup_printf ("%s:%d", source, ln + 1);
      g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
      if (!csv_split (line, fields))
        {
          add_issuef (ds, at, "%s:%d: an unclosed quote: skipped", display, ln + 1);
          first = FALSE;
          continue;
        }
      if (first && fields->len == 2
          && g_ascii_strcasecmp (g_ptr_array_index (fields, 0), "path") == 0
          && g_ascii_strcasecmp (g_ptr_array_index (fields, 1), "label") == 0)
        {
          first = FALSE;
          continue;   /* the header line */
        }
      first = FALSE;
      if (fields->len != 2)
        {
          add_issuef (ds, at, "%s:%d: %u fields where 2 (path,label) were expected: skipped",
                      display, ln + 1, fields->len);
          continue;
        }
      const char *path = g_ptr_array_index (fields, 0);
      const char *label = g_ptr_array_index (fields, 1);
      if (!*path || !*label)
        {
          add_issuef (ds, at, "%s:%d: an empty %s: skipped", display, ln + 1,
                      *path ? "label" : "path");
          continue;
        }
      g_ptr_array_add (paths, g_path_is_absolute (path) ? g_strdup (path)
                                                         : g_build_filename (dir, path, NULL));
      g_ptr_array_add (label_texts, g_strdup (label));
      g_ptr_array_add (where, g_steal_pointer (&at));
    }

  /* Labels are class indices when every one is a number, else names. */
  gboolean indices = TRUE;
  for (guint i = 0; i < label_texts->len && indices; i++)
    indices = is_index (g_ptr_array_index (label_texts, i));
  Candidates c;
  candidates_init (&c);
  if (indices)
    {
      int n_classes = 0;
      GArray *ids = g_array_new (FALSE, FALSE, sizeof (int));
      for (guint i = 0; i < label_texts->len; i++)
        {
          guint64 v;
          int id = -1;
          const char *t = g_ptr_array_index (label_texts, i);
          if (g_ascii_string_to_unsigned (t, 10, 0, MAX_CLASSES - 1, &v, NULL))
            id = (int) v;
          else
            add_issuef (ds, g_ptr_array_index (where, i),
                        "%s: label %s is out of range: at most %d classes", (char *)
                        g_ptr_array_index (where, i), t, MAX_CLASSES);
          g_array_append_val (ids, id);
          n_classes = MAX (n_classes, id + 1);
        }
      set_class_names (ds, NULL, n_classes);
      for (guint i = 0; i < label_texts->len; i++)
        if (g_array_index (ids, int, i) >= 0)
          candidates_add (&c, g_ptr_array_index (paths, i), g_array_index (ids, int, i));
      g_array_unref (ids);
    }
  else
    {
      g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr (GPtrArray) names = g_ptr_array_new ();
      for (guint i = 0; i < label_texts->len; i++)
        if (!g_hash_table_contains (ids, g_ptr_array_index (label_texts, i)))
          {
            g_hash_table_add (ids, g_ptr_array_index (label_texts, i));
            g_ptr_array_add (names, g_ptr_array_index (label_texts, i));
          }
      g_ptr_array_sort (names, compare_strings);
      if (names->len > MAX_CLASSES)
        {
          candidates_clear (&c);
          g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                       "'%s' names %u classes: Hone handles at most %d", display, names->len,
                       MAX_CLASSES);
          return NULL;
        }
      g_hash_table_remove_all (ids);
      for (guint k = 0; k < names->len; k++)
        g_hash_table_insert (ids, g_ptr_array_index (names, k), GINT_TO_POINTER (k));
      g_ptr_array_add (names, NULL);
      set_class_names (ds, (char **) names->pdata, (int) names->len - 1);
      for (guint i = 0; i < label_texts->len; i++)
        candidates_add (&c, g_ptr_array_index (paths, i),
                        GPOINTER_TO_INT (g_hash_table_lookup (ids, g_ptr_array_index (label_texts, i))));
    }
  probe_candidates (ds, &c);
  candidates_clear (&c);
  report_empty_classes (ds, NULL);
  if (!check_usable (ds, error))
    return NULL;
  return g_steal_pointer (&ds);
}

/* ---- safetensors ------------------------------------------------------- */

static HoneDataset *
open_safetensors (const char *source, GError **error)
{
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (source, error);
  if (!st)
    return NULL;
  g_autofree char *display = g_filename_display_name (source);
  int ii = hone_safetensors_find (st, "images");
  int il = hone_safetensors_find (st, "labels");
  if (ii < 0 || il < 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' has no '%s' tensor: a dataset file holds images (N, C, H, W) and labels "
                   "(N)", display, ii < 0 ? "images" : "labels");
      return NULL;
    }
  const HoneSafetensorsTensor *images = hone_safetensors_tensor (st, ii);
  const HoneSafetensorsTensor *labels_t = hone_safetensors_tensor (st, il);
  if (images->rank != 4 || (images->dtype != HONE_DTYPE_F32 && images->dtype != HONE_DTYPE_U8))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s': 'images' is %s with %d dimensions: Hone reads F32 or U8 images (N, C, "
                   "H, W)", display, hone_dtype_name (images->dtype), images->rank);
      return NULL;
    }
  int64_t n = images->dims[0], c = images->dims[1], h = images->dims[2], w = images->dims[3];
  if ((c != 1 && c != 3) || h < 1 || w < 1 || h > HONE_IMAGE_MAX_SIDE || w > HONE_IMAGE_MAX_SIDE
      || h * w > HONE_IMAGE_MAX_PIXELS || n > G_MAXINT)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s': 'images' is (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %"
                   G_GINT64_FORMAT ", %" G_GINT64_FORMAT "): Hone reads 1 (grey) or 3 (RGB) "
                   "channels of at most %d pixels a side", display, n, c, h, w,
                   HONE_IMAGE_MAX_SIDE);
      return NULL;
    }
  if (labels_t->rank != 1 || labels_t->dims[0] != n)
    {
      g_autoptr (GString) shape = g_string_new ("(");
      for (int d = 0; d < labels_t->rank; d++)
        g_string_append_printf (shape, "%s%" G_GINT64_FORMAT, d ? ", " : "", labels_t->dims[d]);
      g_string_append_c (shape, ')');
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s': 'labels' is %s where (%" G_GINT64_FORMAT ") was expected, one label "
                   "per image", display, shape->str, n);
      return NULL;
    }
  g_autofree int64_t *labels = g_new (int64_t, MAX (n, 1));
  if (!hone_safetensors_read_i64 (st, il, labels, error))
    return NULL;

  g_autoptr (HoneDataset) ds = dataset_new (source, SOURCE_SAFETENSORS);
  GHashTable *meta = hone_safetensors_metadata (st);
  const char *classes = g_hash_table_lookup (meta, "classes");
  int n_classes;
  if (classes)
    {
      g_auto (GStrv) names = g_strsplit (classes, ",", -1);
      int k = (int) MIN (g_strv_length (names), (guint) MAX_CLASSES);
      for (int j = 0; j < k; j++)
        g_strstrip (names[j]);
      if (k == 0)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                       "'%s': its metadata 'classes' names no class", display);
          return NULL;
        }
      set_class_names (ds, names, k);
      n_classes = k;
    }
  else
    {
      n_classes = 0;
      for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < MAX_CLASSES)
          n_classes = MAX (n_classes, (int) labels[i] + 1);
      set_class_names (ds, NULL, n_classes);
    }

  Builder b;
  builder_init (&b, ds);
  for (int64_t i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s#%" G_GINT64_FORMAT, source, i);
      if (labels[i] < 0 || labels[i] >= n_classes)
        {
          add_issuef (ds, name, "'%s#%" G_GINT64_FORMAT "': label %" G_GINT64_FORMAT
                      " is out of range (0 to %d)", display, i, labels[i],
                      (classes ? n_classes : MAX_CLASSES) - 1);
          continue;
        }
      builder_add (&b, name, (int) labels[i], i, (int) c, (int) h, (int) w);
    }
  builder_finish (&b);
  ds->images = images;
  ds->st = g_steal_pointer (&st);
  if (!check_usable (ds, error))
    return NULL;
  return g_steal_pointer (&ds);
}

/* ---- opening ----------------------------------------------------------- */

static gboolean
is_fmnist (const char *source)
{
  return strcmp (source, "fmnist") == 0 || strcmp (source, "fmnist-test") == 0
         || g_str_has_prefix (source, "fmnist:") || g_str_has_prefix (source, "fmnist-test:");
}

static gboolean
has_suffix_nocase (const char *s, const char *suffix)
{
  gsize n = strlen (s), m = strlen (suffix);
  return n >= m && g_ascii_strcasecmp (s + n - m, suffix) == 0;
}

/* The first 4 bytes of the file, through gzip when compressed; FALSE when
 * it has fewer. */
static gboolean
peek_magic (const char *path, guint8 magic[4])
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    return FALSE;
  gzFile gz = gzdopen (fd, "rb");
  if (!gz)
    {
      close (fd);
      return FALSE;
    }
  int r = gzread (gz, magic, 4);
  gzclose (gz);
  return r == 4;
}

HoneDataset *
hone_dataset_open (const char *source, GError **error)
{
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (is_fmnist (source))
    return open_fmnist (source, error);
  g_autofree char *display = g_filename_display_name (source);
  struct stat sb;
  if (!*source || stat (source, &sb) != 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "Could not open the data source '%s': %s", display,
                   *source ? g_strerror (errno) : "no source given");
      return NULL;
    }
  if (S_ISDIR (sb.st_mode))
    return open_folder (source, error);
  if (!S_ISREG (sb.st_mode))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "Could not read the data source '%s': not a regular file or folder", display);
      return NULL;
    }
  if (has_suffix_nocase (source, ".csv"))
    return open_csv (source, error);
  if (has_suffix_nocase (source, ".safetensors"))
    return open_safetensors (source, error);
  guint8 magic[4];
  if (peek_magic (source, magic) && magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08)
    {
      if (magic[3] == 1)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "'%s' is an IDX labels file: give its images file "
                       "(NAME-images-idx3-ubyte) as the source", display);
          return NULL;
        }
      return open_idx_path (source, error);
    }
  if (strstr (source, "idx"))
    return open_idx_path (source, error);
  g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
               "'%s' is not a data source Hone reads: use fmnist, fmnist-test, a folder with one "
               "sub-folder per class, a .csv manifest, a .safetensors file or an IDX images file",
               display);
  return NULL;
}

void
hone_dataset_free (HoneDataset *ds)
{
  if (!ds)
    return;
  g_free (ds->source);
  g_strfreev (ds->class_names);
  g_free (ds->labels);
  g_free (ds->names);
  if (ds->name_chunk)
    g_string_chunk_free (ds->name_chunk);
  g_ptr_array_unref (ds->issues);
  g_free (ds->pixels);
  g_free (ds->rows);
  hone_safetensors_free (ds->st);
  g_free (ds);
}

/* ---- accessors --------------------------------------------------------- */

const char *
hone_dataset_source (const HoneDataset *ds)
{
  g_return_val_if_fail (ds != NULL, NULL);
  return ds->source;
}

int
hone_dataset_n_samples (const HoneDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->n_samples;
}

int
hone_dataset_n_classes (const HoneDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->n_classes;
}

const char *
hone_dataset_class_name (const HoneDataset *ds, int k)
{
  g_return_val_if_fail (ds != NULL, NULL);
  g_return_val_if_fail (k >= 0 && k < ds->n_classes, NULL);
  return ds->class_names[k];
}

int
hone_dataset_label (const HoneDataset *ds, int i)
{
  g_return_val_if_fail (ds != NULL, -1);
  g_return_val_if_fail (i >= 0 && i < ds->n_samples, -1);
  return ds->labels[i];
}

const char *
hone_dataset_sample_name (const HoneDataset *ds, int i)
{
  g_return_val_if_fail (ds != NULL, NULL);
  g_return_val_if_fail (i >= 0 && i < ds->n_samples, NULL);
  return ds->names[i];
}

void
hone_dataset_native_size (const HoneDataset *ds, int *channels, int *height, int *width)
{
  g_return_if_fail (ds != NULL);
  if (channels)
    *channels = ds->channels;
  if (height)
    *height = ds->height;
  if (width)
    *width = ds->width;
}

GPtrArray *
hone_dataset_issues (const HoneDataset *ds)
{
  g_return_val_if_fail (ds != NULL, NULL);
  return ds->issues;
}

void
hone_dataset_class_counts (const HoneDataset *ds, const int *indices, int n, int64_t *counts)
{
  g_return_if_fail (ds != NULL && counts != NULL);
  memset (counts, 0, sizeof (int64_t) * ds->n_classes);
  if (!indices)
    n = ds->n_samples;
  for (int j = 0; j < n; j++)
    {
      int i = indices ? indices[j] : j;
      g_return_if_fail (i >= 0 && i < ds->n_samples);
      counts[ds->labels[i]]++;
    }
}

/* ---- decoding ---------------------------------------------------------- */

gboolean
hone_dataset_load (HoneDataset *ds, int i, int channels, int height, int width, float *out,
                   GError **error)
{
  g_return_val_if_fail (ds != NULL && out != NULL, FALSE);
  g_return_val_if_fail (i >= 0 && i < ds->n_samples, FALSE);
  g_return_val_if_fail (channels == 1 || channels == 3, FALSE);
  g_return_val_if_fail (height >= 1 && height <= HONE_IMAGE_MAX_SIDE, FALSE);
  g_return_val_if_fail (width >= 1 && width <= HONE_IMAGE_MAX_SIDE, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  float *native = NULL;   /* (c, h, w) */
  int c = ds->channels, h = ds->height, w = ds->width;
  switch (ds->kind)
    {
    case SOURCE_IDX:
      {
        gsize plane = (gsize) h * w;
        const guint8 *src = ds->pixels + (gsize) i * plane;
        native = g_new (float, plane);
        for (gsize j = 0; j < plane; j++)
          native[j] = src[j] * (1.0f / 255.0f);
        break;
      }
    case SOURCE_SAFETENSORS:
      {
        gsize numel = (gsize) c * h * w;
        native = g_new (float, numel);
        if (ds->images->dtype == HONE_DTYPE_U8)
          {
            const guint8 *src = ds->images->data + (gsize) ds->rows[i] * numel;
            for (gsize j = 0; j < numel; j++)
              native[j] = src[j] * (1.0f / 255.0f);
          }
        else
          {
            const guint8 *src = ds->images->data + (gsize) ds->rows[i] * numel * 4;
            gboolean finite = TRUE;
            for (gsize j = 0; j < numel; j++)
              {
                guint32 bits;
                memcpy (&bits, src + 4 * j, 4);
                bits = GUINT32_FROM_LE (bits);
                memcpy (&native[j], &bits, 4);
                finite &= isfinite (native[j]);
              }
            if (!finite)
              {
                g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                             "'%s' holds a value that is not finite (NaN or infinity)",
                             ds->names[i]);
                g_free (native);
                return FALSE;
              }
          }
        break;
      }
    case SOURCE_FILES:
      {
        HoneImageInfo info;
        native = hone_image_decode_file (ds->names[i], width, height, &info, error);
        if (!native)
          return FALSE;
        c = info.channels;
        h = info.height;
        w = info.width;
        break;
      }
    default:
      g_assert_not_reached ();
    }
  hone_image_convert_resize (out, channels, height, width, native, c, h, w);
  g_free (native);
  return TRUE;
}

/* ---- splits ------------------------------------------------------------ */

static int
compare_ints (const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

/* Per class, the sample indices of ds in index order. */
static GPtrArray *
members_by_class (const int *labels, int n_classes, const int *indices, int n)
{
  GPtrArray *members = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (int k = 0; k < n_classes; k++)
    g_ptr_array_add (members, g_array_new (FALSE, FALSE, sizeof (int)));
  for (int j = 0; j < n; j++)
    {
      int i = indices ? indices[j] : j;
      g_array_append_val (g_ptr_array_index (members, labels[i]), i);
    }
  return members;
}

static int *
array_steal (GArray *a, int *n)
{
  *n = (int) a->len;
  int *data = (int *) (void *) g_array_free (a, FALSE);
  if (*n == 0)
    g_clear_pointer (&data, g_free);
  else
    qsort (data, *n, sizeof (int), compare_ints);
  return data;
}

/* Round half up, forgiving the binary representation of decimal
 * fractions (0.3 * 5 rounds to 2). */
static int
round_count (double x)
{
  return (int) floor (x + 0.5 + 1e-9);
}

gboolean
hone_split_stratified (const HoneDataset *ds, double val, double test, uint64_t seed,
                       HoneSplit *split, GError **error)
{
  g_return_val_if_fail (ds != NULL && split != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (split, 0, sizeof *split);
  if (!(val >= 0 && test >= 0 && val + test < 1))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "data.val_split = %g and data.test_split = %g: each must be at least 0 and "
                   "together less than 1", val, test);
      return FALSE;
    }
  GArray *train = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *vset = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *tset = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GPtrArray) members = members_by_class (ds->labels, ds->n_classes, NULL,
                                                    ds->n_samples);
  for (int k = 0; k < ds->n_classes; k++)
    {
      GArray *m = g_ptr_array_index (members, k);
      int nk = (int) m->len;
      int n_val = 0, n_test = 0;
      if (nk >= 2)
        {
          n_val = round_count (val * nk);
          n_test = round_count (test * nk);
          if (val > 0 && n_val < 1)
            n_val = 1;
          if (test > 0 && n_test < 1 && nk >= 3)
            n_test = 1;
          /* Train keeps at least one: take from test, then from val,
           * down to their minimums (which always fit). */
          int min_val = val > 0 ? 1 : 0;
          int min_test = test > 0 && nk >= 3 ? 1 : 0;
          while (n_val + n_test > nk - 1)
            {
              if (n_test > min_test)
                n_test--;
              else
                {
                  g_assert (n_val > min_val);
                  n_val--;
                }
            }
        }
      HoneRng rng;
      hone_rng_init (&rng, seed, (uint64_t) k);
      int *items = (int *) (void *) m->data;
      hone_rng_shuffle (&rng, items, nk);
      g_array_append_vals (vset, items, n_val);
      g_array_append_vals (tset, items + n_val, n_test);
      g_array_append_vals (train, items + n_val + n_test, nk - n_val - n_test);
    }
  split->train = array_steal (train, &split->n_train);
  split->val = array_steal (vset, &split->n_val);
  split->test = array_steal (tset, &split->n_test);
  return TRUE;
}

gboolean
hone_split_kfold (const HoneDataset *ds, int k, int fold, uint64_t seed, HoneSplit *split,
                  GError **error)
{
  g_return_val_if_fail (ds != NULL && split != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (split, 0, sizeof *split);
  if (k < 2 || k > ds->n_samples)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "data.kfold = %d is out of range: use 2 to the number of samples (%d)", k,
                   ds->n_samples);
      return FALSE;
    }
  if (fold < 0 || fold >= k)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "data.fold = %d is out of range: use 0 to %d", fold, k - 1);
      return FALSE;
    }
  /* Each class shuffled, the classes one after another, then dealt to the
   * folds in turn: every class is spread as evenly as it can be (sizes per
   * fold differ by at most one), and so are the folds' totals. */
  g_autoptr (GPtrArray) members = members_by_class (ds->labels, ds->n_classes, NULL,
                                                    ds->n_samples);
  GArray *train = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *vset = g_array_new (FALSE, FALSE, sizeof (int));
  int64_t pos = 0;
  for (int c = 0; c < ds->n_classes; c++)
    {
      GArray *m = g_ptr_array_index (members, c);
      HoneRng rng;
      hone_rng_init (&rng, seed, (uint64_t) c);
      int *items = (int *) (void *) m->data;
      hone_rng_shuffle (&rng, items, (int) m->len);
      for (guint j = 0; j < m->len; j++, pos++)
        g_array_append_val (pos % k == fold ? vset : train, items[j]);
    }
  split->train = array_steal (train, &split->n_train);
  split->val = array_steal (vset, &split->n_val);
  return TRUE;
}

gboolean
hone_split_given (const HoneDataset *train, const HoneDataset *val, HoneSplit *split,
                  GError **error)
{
  g_return_val_if_fail (train != NULL && val != NULL && split != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (split, 0, sizeof *split);
  g_autofree char *tdisplay = g_filename_display_name (train->source);
  g_autofree char *vdisplay = g_filename_display_name (val->source);
  if (train->n_classes != val->n_classes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "The validation source '%s' has %d classes but the training source '%s' has "
                   "%d: they must have the same classes", vdisplay, val->n_classes, tdisplay,
                   train->n_classes);
      return FALSE;
    }
  for (int k = 0; k < train->n_classes; k++)
    if (strcmp (train->class_names[k], val->class_names[k]) != 0)
      {
        g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                     "Class %d is '%s' in the validation source '%s' but '%s' in the training "
                     "source '%s': they must have the same classes", k, val->class_names[k],
                     vdisplay, train->class_names[k], tdisplay);
        return FALSE;
      }
  split->n_train = train->n_samples;
  split->train = g_new (int, MAX (train->n_samples, 1));
  for (int i = 0; i < train->n_samples; i++)
    split->train[i] = i;
  split->n_val = val->n_samples;
  split->val = g_new (int, MAX (val->n_samples, 1));
  for (int i = 0; i < val->n_samples; i++)
    split->val[i] = i;
  return TRUE;
}

void
hone_split_clear (HoneSplit *split)
{
  if (!split)
    return;
  g_free (split->train);
  g_free (split->val);
  g_free (split->test);
  memset (split, 0, sizeof *split);
}

/* Largest-remainder apportionment of `total` over parts of the given sizes
 * (sum `whole`): quota[p] = floor (total * sizes[p] / whole), the rest one
 * each to the largest remainders, ties to the lower index.  Then, when
 * total allows, every non-empty part gets at least one, taken from the
 * largest quota. */
static void
apportion (const int64_t *sizes, int n, int64_t whole, int64_t total, int64_t *quota)
{
  int64_t given = 0;
  int64_t *rem = g_new (int64_t, MAX (n, 1));
  int nonempty = 0;
  for (int p = 0; p < n; p++)
    {
      quota[p] = total * sizes[p] / whole;
      rem[p] = total * sizes[p] % whole;
      given += quota[p];
      nonempty += sizes[p] > 0;
    }
  while (given < total)
    {
      int best = -1;
      for (int p = 0; p < n; p++)
        if (quota[p] < sizes[p] && (best < 0 || rem[p] > rem[best]))
          best = p;
      g_assert (best >= 0);
      quota[best]++;
      rem[best] = -1;
      given++;
    }
  if (total >= nonempty)
    for (int p = 0; p < n; p++)
      if (sizes[p] > 0 && quota[p] == 0)
        {
          int big = 0;
          for (int q = 1; q < n; q++)
            if (quota[q] > quota[big])
              big = q;
          quota[big]--;
          quota[p]++;
        }
  g_free (rem);
}

/* Keeps a stratified `limit` of indices (in place, order kept). */
static int
limit_indices (const int *labels, int n_classes, int *indices, int n, int limit, uint64_t seed,
               uint64_t stream)
{
  if (limit >= n)
    return n;
  g_autoptr (GPtrArray) members = members_by_class (labels, n_classes, indices, n);
  int64_t *sizes = g_new (int64_t, MAX (n_classes, 1));
  int64_t *quota = g_new (int64_t, MAX (n_classes, 1));
  for (int k = 0; k < n_classes; k++)
    sizes[k] = ((GArray *) g_ptr_array_index (members, k))->len;
  apportion (sizes, n_classes, n, limit, quota);
  g_autoptr (GHashTable) keep = g_hash_table_new (NULL, NULL);
  for (int k = 0; k < n_classes; k++)
    {
      GArray *m = g_ptr_array_index (members, k);
      HoneRng rng;
      hone_rng_init (&rng, seed, stream + (uint64_t) k);
      hone_rng_shuffle (&rng, (int *) (void *) m->data, (int) m->len);
      for (int64_t j = 0; j < quota[k]; j++)
        g_hash_table_add (keep, GINT_TO_POINTER (g_array_index (m, int, j) + 1));
    }
  int kept = 0;
  for (int j = 0; j < n; j++)
    if (g_hash_table_contains (keep, GINT_TO_POINTER (indices[j] + 1)))
      indices[kept++] = indices[j];
  g_free (sizes);
  g_free (quota);
  return kept;
}

int
hone_dataset_limit_indices (const HoneDataset *ds, int *indices, int n, int limit, uint64_t seed)
{
  g_return_val_if_fail (ds != NULL && (indices != NULL || n == 0) && n >= 0, 0);
  g_return_val_if_fail (limit >= 0, n);
  for (int j = 0; j < n; j++)
    g_return_val_if_fail (indices[j] >= 0 && indices[j] < ds->n_samples, n);
  if (limit == 0)
    return n;
  return limit_indices (ds->labels, ds->n_classes, indices, n, limit, seed, 0);
}

void
hone_split_limit_given (HoneSplit *split, const HoneDataset *train, const HoneDataset *val,
                        int limit, uint64_t seed)
{
  g_return_if_fail (split != NULL && train != NULL && val != NULL && limit >= 0);
  int *parts[3] = { split->train, split->val, split->test };
  int *counts[3] = { &split->n_train, &split->n_val, &split->n_test };
  const HoneDataset *sources[3] = { train, val, train };
  for (int p = 0; p < 3; p++)
    for (int j = 0; j < *counts[p]; j++)
      g_return_if_fail (parts[p][j] >= 0 && parts[p][j] < sources[p]->n_samples);
  int64_t sizes[3] = { split->n_train, split->n_val, split->n_test };
  int64_t whole = sizes[0] + sizes[1] + sizes[2];
  if (limit == 0 || whole <= limit)
    return;
  int64_t quota[3];
  apportion (sizes, 3, whole, limit, quota);
  for (int p = 0; p < 3; p++)
    *counts[p] = limit_indices (sources[p]->labels, sources[p]->n_classes, parts[p], *counts[p],
                                (int) quota[p], seed, (uint64_t) (p + 1) << 32);
}

void
hone_split_limit (HoneSplit *split, const HoneDataset *ds, int limit, uint64_t seed)
{
  hone_split_limit_given (split, ds, ds, limit, seed);
}

/* ---- balance ----------------------------------------------------------- */

double
hone_class_imbalance (const int64_t *counts, int n_classes)
{
  g_return_val_if_fail (counts != NULL || n_classes == 0, 1.0);
  int64_t lo = 0, hi = 0;
  for (int k = 0; k < n_classes; k++)
    if (counts[k] > 0)
      {
        lo = lo == 0 ? counts[k] : MIN (lo, counts[k]);
        hi = MAX (hi, counts[k]);
      }
  return lo > 0 ? (double) hi / (double) lo : 1.0;
}

void
hone_class_weights (const int64_t *counts, int n_classes, float *weights)
{
  g_return_if_fail ((counts != NULL && weights != NULL) || n_classes == 0);
  int64_t n = 0;
  int present = 0;
  for (int k = 0; k < n_classes; k++)
    {
      n += counts[k];
      present += counts[k] > 0;
    }
  /* sklearn's compute_class_weight ("balanced"): n / (K * count), K the
   * classes present, so that sum_k count_k w_k / n = 1. */
  for (int k = 0; k < n_classes; k++)
    weights[k] = counts[k] > 0 ? (float) ((double) n / ((double) present * (double) counts[k]))
                               : 0.0f;
}
