/* test-dataset.c: data sources built here in a temporary folder (class
 * folders, CSV manifests, safetensors, IDX gzip and plain, a synthetic
 * Fashion-MNIST with its class subsets) and the real Fashion-MNIST when it
 * is installed; the bad-data cases, each reported with its path; loading
 * from several threads; splits, the data.limit subset and class balance. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include <glib/gstdio.h>

#include "data/hone-dataset.h"
#include "hone-test-images.h"
#include "hone-test-util.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static char *tmp_root;

/* A new empty folder under the test's temporary folder. */
static char *
make_dir (const char *name)
{
  char *dir = g_build_filename (tmp_root, name, NULL);
  hone_test_remove_tree (dir);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return dir;
}

static char *
path_in (const char *dir, const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static void
write_png (const char *path, int w, int h, int color_type, const guint8 *samples)
{
  HoneTestPng p = { .width = w, .height = h, .color_type = color_type, .bit_depth = 8,
                    .samples = samples };
  g_autoptr (GBytes) b = hone_test_png_bytes (&p);
  hone_test_write_bytes (path, b);
}

/* The issue whose path is exactly `path`; fails the test when there is
 * none, or when its message lacks `expect`. */
static void
expect_issue (const HoneDataset *ds, const char *path, const char *expect)
{
  GPtrArray *issues = hone_dataset_issues (ds);
  for (guint i = 0; i < issues->len; i++)
    {
      HoneDataIssue *issue = g_ptr_array_index (issues, i);
      if (strcmp (issue->path, path) == 0 && strstr (issue->message, expect))
        {
          g_test_message ("issue: %s: %s", issue->path, issue->message);
          return;
        }
    }
  for (guint i = 0; i < issues->len; i++)
    {
      HoneDataIssue *issue = g_ptr_array_index (issues, i);
      g_printerr ("  have: %s: %s\n", issue->path, issue->message);
    }
  g_error ("no issue for '%s' containing '%s'", path, expect);
}

static void
expect_open_error (const char *source, int code, const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneDataset) ds = hone_dataset_open (source, &error);
  if (ds || !error || !strstr (error->message, expect))
    g_error ("'%s': expected an error containing '%s', got %s", source, expect,
             error ? error->message : "success");
  g_assert_error (error, HONE_ERROR, code);
  g_test_message ("%s", error->message);
}

static HoneDataset *
open_ok (const char *source)
{
  g_autoptr (GError) error = NULL;
  HoneDataset *ds = hone_dataset_open (source, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ds);
  g_assert_cmpstr (hone_dataset_source (ds), ==, source);
  return ds;
}

static float *
load (HoneDataset *ds, int i, int c, int h, int w)
{
  g_autoptr (GError) error = NULL;
  float *out = g_new (float, (gsize) c * h * w);
  g_assert_true (hone_dataset_load (ds, i, c, h, w, out, &error));
  g_assert_no_error (error);
  return out;
}

/* ---- class folders ----------------------------------------------------- */

static const guint8 grey_2x2[4] = { 0, 85, 170, 255 };

static void
test_folder (void)
{
  g_autofree char *root = make_dir ("folder");
  g_autofree char *cat = path_in (root, "cat");
  g_autofree char *cat_sub = path_in (cat, "sub");
  g_autofree char *dog = path_in (root, "dog");
  g_autofree char *empty = path_in (root, "empty");
  g_assert_cmpint (g_mkdir_with_parents (cat_sub, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (dog, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);

  /* cat: a grey PNG, an RGB JPEG, a PNG in a sub-folder, and bad files */
  g_autofree char *a_png = path_in (cat, "a.png");
  write_png (a_png, 2, 2, PNG_COLOR_TYPE_GRAY, grey_2x2);
  guint8 rgb[8 * 8 * 3];
  for (int i = 0; i < 64; i++)
    {
      rgb[i * 3] = 200;
      rgb[i * 3 + 1] = 100;
      rgb[i * 3 + 2] = 50;
    }
  g_autoptr (GBytes) jpg = hone_test_jpeg_bytes (8, 8, 3, rgb, 100);
  g_autofree char *b_jpg = path_in (cat, "b.JPG");
  hone_test_write_bytes (b_jpg, jpg);
  const guint8 rgb_3x1[9] = { 255, 0, 0, 0, 255, 0, 0, 0, 255 };
  g_autofree char *c_png = path_in (cat_sub, "c.png");
  write_png (c_png, 3, 1, PNG_COLOR_TYPE_RGB, rgb_3x1);
  g_autofree char *zero = path_in (cat, "zero.png");
  hone_test_write_data (zero, "", 0);
  g_autofree char *notes = path_in (cat, "notes.txt");
  hone_test_write_data (notes, "hello", 5);
  g_autofree char *fake = path_in (cat, "fake.png");
  hone_test_write_data (fake, "not really a picture", 20);
  g_autofree char *hidden = path_in (cat, ".hidden.png");
  hone_test_write_data (hidden, "", 0);

  /* dog: an RGBA PNG, one cut short in its pixel data (passes the cheap
   * check, fails to decode), one claiming 100000 x 100000, a dangling
   * link, a FIFO */
  const guint8 rgba[2 * 2 * 4] = { 10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 9, 1, 2, 3, 4 };
  g_autofree char *d_png = path_in (dog, "d.png");
  write_png (d_png, 2, 2, PNG_COLOR_TYPE_RGB_ALPHA, rgba);
  guint8 big[32 * 32];
  for (int i = 0; i < 32 * 32; i++)
    big[i] = (guint8) (i * 31);
  HoneTestPng tp = { .width = 32, .height = 32, .color_type = PNG_COLOR_TYPE_GRAY,
                     .bit_depth = 8, .samples = big };
  g_autoptr (GBytes) tb = hone_test_png_bytes (&tp);
  gsize tn;
  const guint8 *td = g_bytes_get_data (tb, &tn);
  g_autofree char *trunc = path_in (dog, "trunc.png");
  hone_test_write_data (trunc, td, tn - 30);
  g_autofree guint8 *huge_bytes = g_memdup2 (td, tn);
  guint8 *ihdr = huge_bytes + 8;
  for (int i = 0; i < 4; i++)
    ihdr[8 + i] = ihdr[12 + i] = (guint8) (100000u >> (24 - 8 * i));
  guint32 crc = (guint32) crc32 (0, ihdr + 4, 17);
  for (int i = 0; i < 4; i++)
    ihdr[21 + i] = (guint8) (crc >> (24 - 8 * i));
  g_autofree char *huge = path_in (dog, "huge.png");
  hone_test_write_data (huge, huge_bytes, tn);
  g_autofree char *gone = path_in (dog, "gone.png");
  g_assert_cmpint (symlink ("/nonexistent/hone/gone.png", gone), ==, 0);
  g_autofree char *fifo = path_in (dog, "pipe.png");
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);

  /* top level: a file outside the class folders, a class folder link that
   * leads nowhere (an unreadable folder), and, when not root, a folder we
   * may not read (root reads it anyway: chmod does not stop root) */
  g_autofree char *readme = path_in (root, "README.txt");
  hone_test_write_data (readme, "images", 6);
  g_autofree char *lost = path_in (root, "lost");
  g_assert_cmpint (symlink ("/nonexistent/hone/lost", lost), ==, 0);
  gboolean as_root = geteuid () == 0;
  g_autofree char *locked = path_in (root, "locked");
  if (!as_root)
    {
      g_assert_cmpint (g_mkdir (locked, 0755), ==, 0);
      g_assert_cmpint (chmod (locked, 0), ==, 0);
    }
  else
    g_test_message ("running as root: chmod 000 does not stop root reading, so the unreadable "
                    "folder is a dangling link only");

  g_autoptr (HoneDataset) ds = open_ok (root);
  int n_classes = as_root ? 3 : 4;
  g_assert_cmpint (hone_dataset_n_classes (ds), ==, n_classes);
  g_assert_cmpstr (hone_dataset_class_name (ds, 0), ==, "cat");
  g_assert_cmpstr (hone_dataset_class_name (ds, 1), ==, "dog");
  g_assert_cmpstr (hone_dataset_class_name (ds, 2), ==, "empty");
  g_assert_cmpint (hone_dataset_n_samples (ds), ==, 5);
  const char *names[5] = { a_png, b_jpg, c_png, d_png, trunc };
  const int labels[5] = { 0, 0, 0, 1, 1 };
  for (int i = 0; i < 5; i++)
    {
      g_assert_cmpstr (hone_dataset_sample_name (ds, i), ==, names[i]);
      g_assert_cmpint (hone_dataset_label (ds, i), ==, labels[i]);
    }
  int c, h, w;
  hone_dataset_native_size (ds, &c, &h, &w);
  g_assert_cmpint (c + h + w, ==, 0);   /* mixed sizes */
  int64_t counts[4];
  hone_dataset_class_counts (ds, NULL, 0, counts);
  g_assert_cmpint (counts[0], ==, 3);
  g_assert_cmpint (counts[1], ==, 2);
  g_assert_cmpint (counts[2], ==, 0);

  /* every skipped thing, with its path */
  expect_issue (ds, zero, "empty (0 bytes)");
  expect_issue (ds, notes, "not a PNG or JPEG file");
  expect_issue (ds, fake, "not a PNG or JPEG image");
  expect_issue (ds, huge, "100000 x 100000 pixels, larger than Hone's limit");
  expect_issue (ds, gone, "No such file");
  expect_issue (ds, fifo, "not a regular file");
  expect_issue (ds, readme, "not inside a class folder");
  expect_issue (ds, lost, "No such file");
  expect_issue (ds, empty, "class 'empty' has no usable image");
  if (!as_root)
    {
      expect_issue (ds, locked, "Could not read the folder");
      expect_issue (ds, locked, "class 'locked' has no usable image");
    }
  g_assert_cmpuint (hone_dataset_issues (ds)->len, ==, as_root ? 9 : 11);
  GPtrArray *issues = hone_dataset_issues (ds);
  for (guint i = 0; i < issues->len; i++)
    g_assert_false (strstr (((HoneDataIssue *) g_ptr_array_index (issues, i))->path, "hidden"));

  /* decoding on demand: golden pixels, conversion, resizing */
  g_autofree float *a = load (ds, 0, 1, 2, 2);
  const float ea[4] = { 0, 1.0f / 3, 2.0f / 3, 1 };
  hone_test_assert_close ("a.png", a, ea, 4, 0, 1e-6);
  g_autofree float *a3 = load (ds, 0, 3, 4, 4);   /* grey -> RGB, 2x2 -> 4x4 */
  const float up[16] = { 0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f,
                         1.5f, 1.75f, 2.25f, 2.5f, 2.0f, 2.25f, 2.75f, 3.0f };
  for (int ch = 0; ch < 3; ch++)
    for (int i = 0; i < 16; i++)
      g_assert_cmpfloat_with_epsilon (a3[ch * 16 + i], up[i] / 3.0f, 1e-6);
  g_autofree float *b = load (ds, 1, 1, 8, 8);   /* RGB JPEG -> grey luma */
  float luma = (0.299f * 200 + 0.587f * 100 + 0.114f * 50) / 255.0f;
  for (int i = 0; i < 64; i++)
    g_assert_cmpfloat_with_epsilon (b[i], luma, 2.0 / 255);
  g_autofree float *d = load (ds, 3, 3, 2, 2);   /* RGBA: alpha dropped */
  const float ed[12] = { 10, 40, 70, 1, 20, 50, 80, 2, 30, 60, 90, 3 };
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat_with_epsilon (d[i], ed[i] / 255.0f, 1e-6);
  g_autofree float *cc = load (ds, 2, 1, 1, 3);
  const float ec[3] = { 0.299f, 0.587f, 0.114f };
  hone_test_assert_close ("c.png luma", cc, ec, 3, 0, 1e-6);

  /* the truncated file fails now, naming itself */
  float out[4];
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_dataset_load (ds, 4, 1, 2, 2, out, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, trunc));
  g_test_message ("load: %s", error->message);

  if (!as_root)
    chmod (locked, 0755);
}

static void
test_folder_errors (void)
{
  /* nothing there */
  g_autofree char *missing = path_in (tmp_root, "no-such-folder");
  expect_open_error (missing, HONE_ERROR_IO, missing);
  g_autofree char *empty = make_dir ("empty-root");
  expect_open_error (empty, HONE_ERROR_FORMAT, "has no class folders");

  /* images but no class folders */
  g_autofree char *flat = make_dir ("flat");
  g_autofree char *img = path_in (flat, "a.png");
  write_png (img, 2, 2, PNG_COLOR_TYPE_GRAY, grey_2x2);
  expect_open_error (flat, HONE_ERROR_FORMAT, "has no class folders");

  /* class folders with only bad files: an error naming the source and the
   * first problem */
  g_autofree char *bad = make_dir ("all-bad");
  g_autofree char *cls = path_in (bad, "x");
  g_assert_cmpint (g_mkdir (cls, 0755), ==, 0);
  g_autofree char *zero = path_in (cls, "zero.png");
  hone_test_write_data (zero, "", 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneDataset) ds = hone_dataset_open (bad, &error);
  g_assert_null (ds);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, bad));
  g_assert_nonnull (strstr (error->message, "no usable sample"));
  g_assert_nonnull (strstr (error->message, "zero.png"));
  g_test_message ("%s", error->message);

  /* not a source at all */
  g_autofree char *text = path_in (tmp_root, "notes.txt");
  hone_test_write_data (text, "hello", 5);
  expect_open_error (text, HONE_ERROR_FORMAT, "not a data source");
}

/* ---- CSV --------------------------------------------------------------- */

static void
test_csv (void)
{
  g_autofree char *root = make_dir ("csv");
  g_autofree char *imgs = path_in (root, "imgs");
  g_assert_cmpint (g_mkdir (imgs, 0755), ==, 0);
  g_autofree char *a = path_in (imgs, "a.png");
  write_png (a, 2, 2, PNG_COLOR_TYPE_GRAY, grey_2x2);
  g_autofree char *comma = path_in (imgs, "with,comma \"q\".png");
  const guint8 g2[4] = { 255, 255, 0, 0 };
  write_png (comma, 2, 2, PNG_COLOR_TYPE_GRAY, g2);
  g_autofree char *abs_img = path_in (root, "elsewhere.png");
  const guint8 g3[4] = { 1, 2, 3, 4 };
  write_png (abs_img, 2, 2, PNG_COLOR_TYPE_GRAY, g3);
  g_autofree char *zero = path_in (imgs, "zero.png");
  hone_test_write_data (zero, "", 0);

  g_autofree char *manifest = path_in (root, "manifest.csv");
  g_autofree char *text = g_strdup_printf (
    "\xef\xbb\xbfpath,label\r\n"
    "imgs/a.png,cat\r\n"
    "\"imgs/with,comma \"\"q\"\".png\", dog\n"
    "\n"
    "imgs/missing.png,dog\n"
    "imgs/a.png,cat,extra\n"
    "\"imgs/unclosed.png,dog\n"
    "%s,bird\n"
    ",dog\n"
    "imgs/zero.png,cat\n", abs_img);
  hone_test_write_data (manifest, text, strlen (text));

  g_autoptr (HoneDataset) ds = open_ok (manifest);
  g_assert_cmpint (hone_dataset_n_classes (ds), ==, 3);
  g_assert_cmpstr (hone_dataset_class_name (ds, 0), ==, "bird");
  g_assert_cmpstr (hone_dataset_class_name (ds, 1), ==, "cat");
  g_assert_cmpstr (hone_dataset_class_name (ds, 2), ==, "dog");
  g_assert_cmpint (hone_dataset_n_samples (ds), ==, 3);
  g_assert_cmpstr (hone_dataset_sample_name (ds, 0), ==, a);
  g_assert_cmpint (hone_dataset_label (ds, 0), ==, 1);
  g_assert_cmpstr (hone_dataset_sample_name (ds, 1), ==, comma);
  g_assert_cmpint (hone_dataset_label (ds, 1), ==, 2);
  g_assert_cmpstr (hone_dataset_sample_name (ds, 2), ==, abs_img);
  g_assert_cmpint (hone_dataset_label (ds, 2), ==, 0);
  int c, h, w;
  hone_dataset_native_size (ds, &c, &h, &w);
  g_assert_cmpint (c, ==, 1);   /* every image 2x2 grey */
  g_assert_cmpint (h, ==, 2);
  g_assert_cmpint (w, ==, 2);

  g_autofree char *missing = path_in (imgs, "missing.png");
  expect_issue (ds, missing, "Could not open");
  g_autofree char *line6 = g_strdup_printf ("%s:6", manifest);
  expect_issue (ds, line6, "3 fields where 2");
  g_autofree char *line7 = g_strdup_printf ("%s:7", manifest);
  expect_issue (ds, line7, "unclosed quote");
  g_autofree char *line9 = g_strdup_printf ("%s:9", manifest);
  expect_issue (ds, line9, "empty path");
  expect_issue (ds, zero, "empty (0 bytes)");
  g_assert_cmpuint (hone_dataset_issues (ds)->len, ==, 5);

  g_autofree float *px = load (ds, 1, 1, 2, 2);
  const float e[4] = { 1, 1, 0, 0 };
  hone_test_assert_close ("comma.png", px, e, 4, 0, 0);

  /* numeric labels are class indices: classes 0 .. max, the gap empty */
  g_autofree char *numeric = path_in (root, "numeric.csv");
  const char *ntext = "imgs/a.png,0\nelsewhere.png,2\n";
  hone_test_write_data (numeric, ntext, strlen (ntext));
  g_autoptr (HoneDataset) nds = open_ok (numeric);
  g_assert_cmpint (hone_dataset_n_classes (nds), ==, 3);
  g_assert_cmpstr (hone_dataset_class_name (nds, 1), ==, "1");
  g_assert_cmpint (hone_dataset_label (nds, 1), ==, 2);
  expect_issue (nds, numeric, "class '1' has no usable image");

  /* nothing usable */
  g_autofree char *bad = path_in (root, "bad.csv");
  const char *btext = "path,label\nimgs/missing.png,x\n";
  hone_test_write_data (bad, btext, strlen (btext));
  expect_open_error (bad, HONE_ERROR_FORMAT, "no usable sample");
  g_autofree char *binary = path_in (root, "binary.csv");
  hone_test_write_data (binary, "a\0b", 3);
  expect_open_error (binary, HONE_ERROR_FORMAT, "not a text file");
}

/* ---- safetensors ------------------------------------------------------- */

static void
write_safetensors (const char *path, HoneDtype dtype, HoneShape ishape, const void *images,
                   HoneShape lshape, const int64_t *labels, const char *classes)
{
  g_autoptr (HoneSafetensorsWriter) wr = hone_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  if (images)
    g_assert_true (hone_safetensors_writer_add (wr, "images", dtype, &ishape, images, &error));
  if (labels)
    g_assert_true (hone_safetensors_writer_add_i64 (wr, "labels", &lshape, labels, &error));
  if (classes)
    hone_safetensors_writer_set_metadata (wr, "classes", classes);
  g_assert_true (hone_safetensors_writer_write (wr, path, &error));
  g_assert_no_error (error);
}

static void
test_safetensors (void)
{
  g_autofree char *root = make_dir ("st");
  /* uint8 (5, 3, 2, 2), scaled to [0, 1]; label 7 is out of range */
  guint8 u8[5 * 12];
  for (int i = 0; i < 60; i++)
    u8[i] = (guint8) (i * 4);
  const int64_t labels[5] = { 0, 1, 2, 1, 7 };
  g_autofree char *path = path_in (root, "u8.safetensors");
  write_safetensors (path, HONE_DTYPE_U8, HONE_SHAPE (5, 3, 2, 2), u8, HONE_SHAPE (5), labels,
                     "a, b ,c");
  g_autoptr (HoneDataset) ds = open_ok (path);
  g_assert_cmpint (hone_dataset_n_samples (ds), ==, 4);
  g_assert_cmpint (hone_dataset_n_classes (ds), ==, 3);
  g_assert_cmpstr (hone_dataset_class_name (ds, 1), ==, "b");
  g_assert_cmpint (hone_dataset_label (ds, 2), ==, 2);
  g_autofree char *name1 = g_strdup_printf ("%s#1", path);
  g_assert_cmpstr (hone_dataset_sample_name (ds, 1), ==, name1);
  g_autofree char *name4 = g_strdup_printf ("%s#4", path);
  expect_issue (ds, name4, "label 7 is out of range (0 to 2)");
  int c, h, w;
  hone_dataset_native_size (ds, &c, &h, &w);
  g_assert_cmpint (c, ==, 3);
  g_assert_cmpint (h, ==, 2);
  g_assert_cmpint (w, ==, 2);
  g_autofree float *s1 = load (ds, 1, 3, 2, 2);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat_with_epsilon (s1[i], u8[12 + i] / 255.0f, 1e-6);
  g_autofree float *g1 = load (ds, 1, 1, 2, 2);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (g1[i], (0.299f * u8[12 + i] + 0.587f * u8[16 + i]
                                            + 0.114f * u8[20 + i]) / 255.0f, 1e-5);

  /* float32 as given (no clamping); classes from the labels; a NaN sample
   * fails when loaded, naming itself */
  const float f32[3 * 4] = { 0.5f, 1.5f, -0.25f, 0, 1, 2, 3, 4, NAN, 0, 0, 0 };
  const int64_t fl[3] = { 1, 0, 1 };
  g_autofree char *fpath = path_in (root, "f32.safetensors");
  write_safetensors (fpath, HONE_DTYPE_F32, HONE_SHAPE (3, 1, 2, 2), f32, HONE_SHAPE (3), fl, NULL);
  g_autoptr (HoneDataset) fds = open_ok (fpath);
  g_assert_cmpint (hone_dataset_n_classes (fds), ==, 2);
  g_assert_cmpstr (hone_dataset_class_name (fds, 1), ==, "1");
  g_autofree float *f0 = load (fds, 0, 1, 2, 2);
  hone_test_assert_close ("f32", f0, f32, 4, 0, 0);
  float out[4];
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_dataset_load (fds, 2, 1, 2, 2, out, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_autofree char *fname2 = g_strdup_printf ("%s#2", fpath);
  g_assert_nonnull (strstr (error->message, fname2));

  /* shapes and dtypes that do not fit: errors naming the file */
  g_autofree char *bad = path_in (root, "bad.safetensors");
  write_safetensors (bad, HONE_DTYPE_U8, HONE_SHAPE (5, 12), u8, HONE_SHAPE (5), labels, NULL);
  expect_open_error (bad, HONE_ERROR_FORMAT, "'images' is U8 with 2 dimensions");
  write_safetensors (bad, HONE_DTYPE_U8, HONE_SHAPE (5, 2, 3, 2), u8, HONE_SHAPE (5), labels, NULL);
  expect_open_error (bad, HONE_ERROR_FORMAT, "1 (grey) or 3 (RGB) channels");
  write_safetensors (bad, HONE_DTYPE_U8, HONE_SHAPE (5, 3, 2, 2), u8, HONE_SHAPE (4), labels, NULL);
  expect_open_error (bad, HONE_ERROR_FORMAT, "'labels' is (4) where (5) was expected");
  write_safetensors (bad, HONE_DTYPE_U8, HONE_SHAPE (5, 3, 2, 2), u8, HONE_SHAPE (5), NULL, NULL);
  expect_open_error (bad, HONE_ERROR_FORMAT, "no 'labels' tensor");
  write_safetensors (bad, HONE_DTYPE_I16, HONE_SHAPE (5, 3, 2, 1), u8, HONE_SHAPE (5), labels, NULL);
  expect_open_error (bad, HONE_ERROR_FORMAT, "Hone reads F32 or U8 images");
  const int64_t negative[5] = { -1, -2, -1, -1, -5 };
  write_safetensors (bad, HONE_DTYPE_U8, HONE_SHAPE (5, 3, 2, 2), u8, HONE_SHAPE (5), negative,
                     NULL);
  expect_open_error (bad, HONE_ERROR_FORMAT, "no usable sample");
  hone_test_write_data (bad, "garbage!", 8);
  expect_open_error (bad, HONE_ERROR_FORMAT, bad);
}

/* ---- IDX --------------------------------------------------------------- */

/* An IDX file of unsigned bytes; gzip-compressed when gz. */
static void
write_idx (const char *path, gboolean gz, int rank, const guint32 *dims, const guint8 *data,
           gsize n, int type)
{
  GByteArray *b = g_byte_array_new ();
  guint8 magic[4] = { 0, 0, (guint8) type, (guint8) rank };
  g_byte_array_append (b, magic, 4);
  for (int i = 0; i < rank; i++)
    {
      guint8 d[4] = { dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i] };
      g_byte_array_append (b, d, 4);
    }
  g_byte_array_append (b, data, (guint) n);
  if (gz)
    {
      gzFile f = gzopen (path, "wb");
      g_assert_nonnull (f);
      g_assert_cmpint (gzwrite (f, b->data, b->len), ==, (int) b->len);
      g_assert_cmpint (gzclose (f), ==, Z_OK);
    }
  else
    hone_test_write_data (path, b->data, b->len);
  g_byte_array_unref (b);
}

static void
test_idx (void)
{
  g_autofree char *root = make_dir ("idx");
  enum { N = 6, H = 3, W = 4 };
  guint8 pixels[N * H * W];
  for (int i = 0; i < N * H * W; i++)
    pixels[i] = (guint8) (i * 3);
  const guint8 labels[N] = { 2, 0, 1, 2, 0, 4 };
  const guint32 idims[3] = { N, H, W }, ldims[1] = { N };

  for (int gz = 0; gz < 2; gz++)
    {
      g_autofree char *images = g_strdup_printf ("%s/set-images-idx3-ubyte%s", root, gz ? ".gz" : "");
      g_autofree char *labels_path = g_strdup_printf ("%s/set-labels-idx1-ubyte%s", root,
                                                      gz ? ".gz" : "");
      write_idx (images, gz, 3, idims, pixels, sizeof pixels, 0x08);
      write_idx (labels_path, gz, 1, ldims, labels, sizeof labels, 0x08);
      g_autoptr (HoneDataset) ds = open_ok (images);
      g_assert_cmpint (hone_dataset_n_samples (ds), ==, N);
      g_assert_cmpint (hone_dataset_n_classes (ds), ==, 5);
      g_assert_cmpstr (hone_dataset_class_name (ds, 4), ==, "4");
      for (int i = 0; i < N; i++)
        g_assert_cmpint (hone_dataset_label (ds, i), ==, labels[i]);
      g_autofree char *name2 = g_strdup_printf ("%s#2", images);
      g_assert_cmpstr (hone_dataset_sample_name (ds, 2), ==, name2);
      int c, h, w;
      hone_dataset_native_size (ds, &c, &h, &w);
      g_assert_cmpint (c, ==, 1);
      g_assert_cmpint (h, ==, H);
      g_assert_cmpint (w, ==, W);
      g_autofree float *s2 = load (ds, 2, 1, H, W);
      for (int i = 0; i < H * W; i++)
        g_assert_cmpfloat_with_epsilon (s2[i], pixels[2 * H * W + i] / 255.0f, 1e-7);
      /* to RGB at double size: three equal planes, bilinear */
      g_autofree float *big = load (ds, 2, 3, 2 * H, 2 * W);
      float ref[2 * H * 2 * W];
      const float *plane = s2;
      for (int y = 0; y < 2 * H; y++)
        for (int x = 0; x < 2 * W; x++)
          {
            double sy = MAX ((y + 0.5) / 2 - 0.5, 0), sx = MAX ((x + 0.5) / 2 - 0.5, 0);
            int y0 = (int) sy, x0 = (int) sx;
            int y1 = MIN (y0 + 1, H - 1), x1 = MIN (x0 + 1, W - 1);
            double ly = sy - y0, lx = sx - x0;
            ref[y * 2 * W + x] = (float) ((1 - ly) * ((1 - lx) * plane[y0 * W + x0] + lx * plane[y0 * W + x1])
                                          + ly * ((1 - lx) * plane[y1 * W + x0] + lx * plane[y1 * W + x1]));
          }
      for (int ch = 0; ch < 3; ch++)
        hone_test_assert_close ("idx upscaled", big + ch * 4 * H * W, ref, 4 * H * W, 0, 1e-6);
      g_unlink (images);
      g_unlink (labels_path);
    }
}

static void
test_idx_errors (void)
{
  g_autofree char *root = make_dir ("idx-bad");
  enum { N = 6, H = 3, W = 4 };
  guint8 pixels[N * H * W + 1] = { 0 };
  const guint8 labels[N + 1] = { 0, 1, 0, 1, 0, 1, 0 };
  const guint32 idims[3] = { N, H, W }, ldims[1] = { N }, ldims5[1] = { N - 1 };
  g_autofree char *images = path_in (root, "x-images-idx3-ubyte");
  g_autofree char *labels_path = path_in (root, "x-labels-idx1-ubyte");
  g_autofree char *images_gz = path_in (root, "z-images-idx3-ubyte.gz");
  g_autofree char *labels_gz = path_in (root, "z-labels-idx1-ubyte.gz");
  write_idx (labels_path, FALSE, 1, ldims, labels, N, 0x08);
  write_idx (labels_gz, TRUE, 1, ldims, labels, N, 0x08);

  /* plain: one byte short, one byte long */
  write_idx (images, FALSE, 3, idims, pixels, N * H * W - 1, 0x08);
  expect_open_error (images, HONE_ERROR_FORMAT, "(6, 3, 4) needs 88: the file is truncated");
  expect_open_error (images, HONE_ERROR_FORMAT, images);
  write_idx (images, FALSE, 3, idims, pixels, N * H * W + 1, 0x08);
  expect_open_error (images, HONE_ERROR_FORMAT, "longer than its header says");

  /* gzip: the header promises more than the stream holds */
  write_idx (images_gz, TRUE, 3, idims, pixels, N * H * W - H * W, 0x08);
  expect_open_error (images_gz, HONE_ERROR_FORMAT, "does not match its header");
  expect_open_error (images_gz, HONE_ERROR_FORMAT, images_gz);
  /* gzip cut short: the trailer is gone */
  write_idx (images_gz, TRUE, 3, idims, pixels, N * H * W, 0x08);
  g_autofree char *gz_bytes = NULL;
  gsize gz_len;
  g_assert_true (g_file_get_contents (images_gz, &gz_bytes, &gz_len, NULL));
  hone_test_write_data (images_gz, gz_bytes, gz_len - 6);
  expect_open_error (images_gz, HONE_ERROR_FORMAT, images_gz);
  /* gzip with its data corrupted but the trailer intact */
  g_autofree char *corrupt = g_memdup2 (gz_bytes, gz_len);
  for (gsize i = 12; i < gz_len - 8; i++)
    corrupt[i] ^= 0x5a;
  hone_test_write_data (images_gz, corrupt, gz_len);
  expect_open_error (images_gz, HONE_ERROR_FORMAT, images_gz);

  /* labels that do not match */
  write_idx (images, FALSE, 3, idims, pixels, N * H * W, 0x08);
  write_idx (labels_path, FALSE, 1, ldims5, labels, N - 1, 0x08);
  expect_open_error (images, HONE_ERROR_FORMAT, "holds 5 labels but");
  g_unlink (labels_path);
  expect_open_error (images, HONE_ERROR_IO, "needs its labels beside it");
  write_idx (labels_path, FALSE, 1, ldims, labels, N, 0x08);
  expect_open_error (labels_path, HONE_ERROR_INVALID, "is an IDX labels file");

  /* another element type, other ranks, a name without "images" */
  write_idx (images, FALSE, 3, idims, pixels, N * H * W, 0x0d);
  expect_open_error (images, HONE_ERROR_FORMAT, "holds 32-bit floats");
  const guint32 d2[2] = { N, H * W };
  write_idx (images, FALSE, 2, d2, pixels, N * H * W, 0x08);
  expect_open_error (images, HONE_ERROR_FORMAT, "has 2 dimensions where 3 were expected");
  const guint32 zero_side[3] = { N, 0, W };
  write_idx (images, FALSE, 3, zero_side, pixels, 0, 0x08);
  expect_open_error (images, HONE_ERROR_FORMAT, "Hone reads at most");
  g_autofree char *odd = path_in (root, "data.idx3");
  write_idx (odd, FALSE, 3, idims, pixels, N * H * W, 0x08);
  expect_open_error (odd, HONE_ERROR_INVALID, "has no 'images' in it");
}

/* ---- Fashion-MNIST ----------------------------------------------------- */

static const char *const fmnist_names[10] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* A synthetic Fashion-MNIST (2x2 images, pixel value = index, label =
 * index % 10, one bad label) through HONE_FMNIST_DIR, to check the
 * built-in names and class subsets where the real one is not installed. */
static void
test_fmnist_subsets (void)
{
  g_autofree char *dir = make_dir ("fake-fmnist");
  enum { N = 23 };
  guint8 pixels[N * 4], labels[N];
  for (int i = 0; i < N; i++)
    {
      for (int j = 0; j < 4; j++)
        pixels[i * 4 + j] = (guint8) i;
      labels[i] = (guint8) (i % 10);
    }
  labels[22] = 12;
  const guint32 idims[3] = { N, 2, 2 }, ldims[1] = { N };
  g_autofree char *ti = path_in (dir, "train-images-idx3-ubyte.gz");
  g_autofree char *tl = path_in (dir, "train-labels-idx1-ubyte.gz");
  g_autofree char *vi = path_in (dir, "t10k-images-idx3-ubyte");   /* plain, also found */
  g_autofree char *vl = path_in (dir, "t10k-labels-idx1-ubyte");
  write_idx (ti, TRUE, 3, idims, pixels, sizeof pixels, 0x08);
  write_idx (tl, TRUE, 1, ldims, labels, sizeof labels, 0x08);
  const guint32 vdims[3] = { 10, 2, 2 }, vldims[1] = { 10 };
  write_idx (vi, FALSE, 3, vdims, pixels, 40, 0x08);
  write_idx (vl, FALSE, 1, vldims, labels, 10, 0x08);
  g_setenv ("HONE_FMNIST_DIR", dir, TRUE);

  g_autoptr (HoneDataset) all = open_ok ("fmnist");
  g_assert_cmpint (hone_dataset_n_samples (all), ==, 22);
  g_assert_cmpint (hone_dataset_n_classes (all), ==, 10);
  for (int k = 0; k < 10; k++)
    g_assert_cmpstr (hone_dataset_class_name (all, k), ==, fmnist_names[k]);
  expect_issue (all, "fmnist#22", "label 12 is out of range (0 to 9)");
  g_assert_cmpstr (hone_dataset_sample_name (all, 13), ==, "fmnist#13");

  /* 5-9: labels renumbered from 0, names kept, pixels follow */
  g_autoptr (HoneDataset) hi = open_ok ("fmnist:5-9");
  g_assert_cmpint (hone_dataset_n_classes (hi), ==, 5);
  g_assert_cmpint (hone_dataset_n_samples (hi), ==, 10);   /* 5..9 and 15..19 */
  for (int k = 0; k < 5; k++)
    g_assert_cmpstr (hone_dataset_class_name (hi, k), ==, fmnist_names[5 + k]);
  const int orig[10] = { 5, 6, 7, 8, 9, 15, 16, 17, 18, 19 };
  for (int i = 0; i < 10; i++)
    {
      g_assert_cmpint (hone_dataset_label (hi, i), ==, orig[i] % 10 - 5);
      g_autofree char *name = g_strdup_printf ("fmnist#%d", orig[i]);
      g_assert_cmpstr (hone_dataset_sample_name (hi, i), ==, name);
      g_autofree float *px = load (hi, i, 1, 2, 2);
      g_assert_cmpfloat_with_epsilon (px[3], orig[i] / 255.0f, 1e-7);
    }

  /* a list in its own order */
  g_autoptr (HoneDataset) some = open_ok ("fmnist:4,0, 2");
  g_assert_cmpint (hone_dataset_n_classes (some), ==, 3);
  g_assert_cmpstr (hone_dataset_class_name (some, 0), ==, "Coat");
  g_assert_cmpstr (hone_dataset_class_name (some, 1), ==, "T-shirt/top");
  g_assert_cmpstr (hone_dataset_class_name (some, 2), ==, "Pullover");
  g_assert_cmpint (hone_dataset_n_samples (some), ==, 7);   /* 0, 2, 4, 10, 12, 14, 20 */
  g_assert_cmpint (hone_dataset_label (some, 0), ==, 1);    /* sample 0: class 0 */
  g_assert_cmpint (hone_dataset_label (some, 1), ==, 2);    /* sample 2: class 2 */
  g_assert_cmpint (hone_dataset_label (some, 2), ==, 0);    /* sample 4: class 4 */
  g_autoptr (HoneDataset) mixed = open_ok ("fmnist:0-1,8");
  g_assert_cmpint (hone_dataset_n_classes (mixed), ==, 3);
  g_assert_cmpstr (hone_dataset_class_name (mixed, 2), ==, "Bag");

  g_autoptr (HoneDataset) test = open_ok ("fmnist-test:5-9");
  g_assert_cmpint (hone_dataset_n_samples (test), ==, 5);
  g_assert_cmpstr (hone_dataset_sample_name (test, 0), ==, "fmnist-test#5");

  expect_open_error ("fmnist:5-12", HONE_ERROR_INVALID, "class 10 is out of range");
  expect_open_error ("fmnist:3,3", HONE_ERROR_INVALID, "class 3 is listed twice");
  expect_open_error ("fmnist:9-5", HONE_ERROR_INVALID, "is not a class subset");
  expect_open_error ("fmnist:shoes", HONE_ERROR_INVALID, "is not a class subset");
  expect_open_error ("fmnist:", HONE_ERROR_INVALID, "lists no class");

  g_setenv ("HONE_FMNIST_DIR", "/nonexistent/hone", TRUE);
  expect_open_error ("fmnist", HONE_ERROR_IO, "dataset-fashion-mnist");
  g_unsetenv ("HONE_FMNIST_DIR");
}

static void
test_fmnist_real (void)
{
  if (!g_file_test (FMNIST_DIR "/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed (Debian's dataset-fashion-mnist)");
      return;
    }
  g_unsetenv ("HONE_FMNIST_DIR");
  g_autoptr (HoneDataset) train = open_ok ("fmnist");
  g_assert_cmpint (hone_dataset_n_samples (train), ==, 60000);
  g_assert_cmpint (hone_dataset_n_classes (train), ==, 10);
  g_assert_cmpuint (hone_dataset_issues (train)->len, ==, 0);
  g_assert_cmpstr (hone_dataset_class_name (train, 0), ==, "T-shirt/top");
  g_assert_cmpstr (hone_dataset_class_name (train, 9), ==, "Ankle boot");
  g_assert_cmpint (hone_dataset_label (train, 0), ==, 9);
  g_assert_cmpint (hone_dataset_label (train, 1), ==, 0);
  g_assert_cmpint (hone_dataset_label (train, 3), ==, 3);
  int64_t counts[10];
  hone_dataset_class_counts (train, NULL, 0, counts);
  for (int k = 0; k < 10; k++)
    g_assert_cmpint (counts[k], ==, 6000);
  int c, h, w;
  hone_dataset_native_size (train, &c, &h, &w);
  g_assert_cmpint (c, ==, 1);
  g_assert_cmpint (h, ==, 28);
  g_assert_cmpint (w, ==, 28);
  g_autofree float *px = load (train, 0, 1, 28, 28);
  g_assert_cmpfloat_with_epsilon (px[14 * 28 + 14], 217 / 255.0f, 1e-7);
  g_assert_cmpfloat_with_epsilon (px[3 * 28 + 16], 73 / 255.0f, 1e-7);
  g_assert_cmpfloat (px[0], ==, 0.0f);

  g_autoptr (HoneDataset) test = open_ok ("fmnist-test");
  g_assert_cmpint (hone_dataset_n_samples (test), ==, 10000);
  g_assert_cmpint (hone_dataset_label (test, 0), ==, 9);
  g_assert_cmpint (hone_dataset_label (test, 1), ==, 2);
  g_autofree float *tp = load (test, 0, 1, 28, 28);
  g_assert_cmpfloat_with_epsilon (tp[14 * 28 + 14], 110 / 255.0f, 1e-7);

  g_autoptr (HoneDataset) sub = open_ok ("fmnist-test:5-9");
  g_assert_cmpint (hone_dataset_n_samples (sub), ==, 5000);
  g_assert_cmpint (hone_dataset_label (sub, 0), ==, 4);   /* Ankle boot, renumbered */
  g_assert_cmpstr (hone_dataset_class_name (sub, 4), ==, "Ankle boot");
  g_autofree float *sp = load (sub, 0, 1, 28, 28);
  hone_test_assert_close ("subset sample 0", sp, tp, 28 * 28, 0, 0);
}

/* ---- threads ----------------------------------------------------------- */

typedef struct
{
  HoneDataset *ds;
  int first;
  float *out;   /* (n_samples, 3, 20, 20) */
} LoadJob;

static gpointer
load_thread (gpointer data)
{
  LoadJob *job = data;
  int n = hone_dataset_n_samples (job->ds);
  for (int r = 0; r < 8; r++)
    for (int j = 0; j < n; j++)
      {
        int i = (j + job->first) % n;
        GError *error = NULL;
        if (!hone_dataset_load (job->ds, i, 3, 20, 20, job->out + (gsize) i * 1200, &error))
          g_clear_error (&error);
      }
  return NULL;
}

static void
test_load_threads (void)
{
  /* the same images decoded on four threads at once, each sample by
   * several threads, agree with a serial decode */
  g_autofree char *root = make_dir ("threads");
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *cls = g_strdup_printf ("%s/class%d", root, k);
      g_assert_cmpint (g_mkdir (cls, 0755), ==, 0);
      for (int f = 0; f < 4; f++)
        {
          guint8 rgb[24 * 17 * 3];
          for (int i = 0; i < 24 * 17 * 3; i++)
            rgb[i] = (guint8) (i * (k + 3) + f * 11);
          g_autofree char *path = g_strdup_printf ("%s/%d.%s", cls, f, f % 2 ? "png" : "jpg");
          if (f % 2)
            write_png (path, 24, 17, PNG_COLOR_TYPE_RGB, rgb);
          else
            {
              g_autoptr (GBytes) b = hone_test_jpeg_bytes (24, 17, 3, rgb, 85);
              hone_test_write_bytes (path, b);
            }
        }
    }
  g_autoptr (HoneDataset) ds = open_ok (root);
  int n = hone_dataset_n_samples (ds);
  g_assert_cmpint (n, ==, 8);
  g_autofree float *serial = g_new0 (float, n * 1200);
  for (int i = 0; i < n; i++)
    {
      g_autofree float *one = load (ds, i, 3, 20, 20);
      memcpy (serial + i * 1200, one, sizeof (float) * 1200);
    }
  LoadJob jobs[4];
  GThread *threads[4];
  for (int t = 0; t < 4; t++)
    {
      jobs[t] = (LoadJob) { ds, t * 2, g_new0 (float, n * 1200) };
      threads[t] = g_thread_new ("load", load_thread, &jobs[t]);
    }
  for (int t = 0; t < 4; t++)
    {
      g_thread_join (threads[t]);
      hone_test_assert_close ("threaded load", jobs[t].out, serial, n * 1200, 0, 0);
      g_free (jobs[t].out);
    }
}

/* ---- splits ------------------------------------------------------------ */

/* A dataset of 1x1 images whose classes have the given counts (labels in
 * a scrambled order, so that indices do not follow classes). */
static HoneDataset *
make_counts_dataset (const char *name, const int *counts, int n_classes, const char *class_names)
{
  int n = 0;
  for (int k = 0; k < n_classes; k++)
    n += counts[k];
  g_autofree int64_t *labels = g_new (int64_t, n);
  int at = 0;
  for (int k = 0; k < n_classes; k++)
    for (int j = 0; j < counts[k]; j++)
      labels[at++] = k;
  HoneRng rng;
  hone_rng_init (&rng, 99, 0);
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) hone_rng_below (&rng, (uint32_t) i + 1);
      int64_t t = labels[i];
      labels[i] = labels[j];
      labels[j] = t;
    }
  g_autofree guint8 *images = g_new0 (guint8, n);
  g_autofree char *path = g_strdup_printf ("%s/%s.safetensors", tmp_root, name);
  write_safetensors (path, HONE_DTYPE_U8, HONE_SHAPE (n, 1, 1, 1), images, HONE_SHAPE (n), labels,
                     class_names);
  return open_ok (path);
}

static const int skewed[7] = { 100, 50, 10, 3, 2, 1, 0 };
#define SKEWED_NAMES "a,b,c,d,e,f,g"

static void
assert_sorted_unique (const int *a, int n)
{
  for (int i = 1; i < n; i++)
    g_assert_cmpint (a[i - 1], <, a[i]);
}

/* Each sample is in exactly one part (or none when `all` is FALSE). */
static void
assert_partition (const HoneSplit *s, int n, gboolean all)
{
  g_autofree int *seen = g_new0 (int, n);
  const int *parts[3] = { s->train, s->val, s->test };
  const int sizes[3] = { s->n_train, s->n_val, s->n_test };
  for (int p = 0; p < 3; p++)
    {
      assert_sorted_unique (parts[p], sizes[p]);
      for (int j = 0; j < sizes[p]; j++)
        {
          g_assert_cmpint (parts[p][j], >=, 0);
          g_assert_cmpint (parts[p][j], <, n);
          seen[parts[p][j]]++;
        }
    }
  for (int i = 0; i < n; i++)
    {
      g_assert_cmpint (seen[i], <=, 1);
      if (all)
        g_assert_cmpint (seen[i], ==, 1);
    }
}

static void
test_split_stratified (void)
{
  g_autoptr (HoneDataset) ds = make_counts_dataset ("skewed", skewed, 7, SKEWED_NAMES);
  int n = hone_dataset_n_samples (ds);
  g_assert_cmpint (n, ==, 166);
  HoneSplit s;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_split_stratified (ds, 0.2, 0.1, 42, &s, &error));
  g_assert_no_error (error);
  assert_partition (&s, n, TRUE);
  /* per class: val = round (0.2 n), test = round (0.1 n), then a class of
   * >= 2 keeps one in train and one in val, of >= 3 one in test */
  const int e_val[7] = { 20, 10, 2, 1, 1, 0, 0 };
  const int e_test[7] = { 10, 5, 1, 1, 0, 0, 0 };
  int64_t cv[7], ct[7], cr[7];
  hone_dataset_class_counts (ds, s.val, s.n_val, cv);
  hone_dataset_class_counts (ds, s.test, s.n_test, ct);
  hone_dataset_class_counts (ds, s.train, s.n_train, cr);
  for (int k = 0; k < 7; k++)
    {
      g_assert_cmpint (cv[k], ==, e_val[k]);
      g_assert_cmpint (ct[k], ==, e_test[k]);
      g_assert_cmpint (cr[k], ==, skewed[k] - e_val[k] - e_test[k]);
    }

  /* deterministic per seed, different across seeds */
  HoneSplit s2, s3;
  g_assert_true (hone_split_stratified (ds, 0.2, 0.1, 42, &s2, NULL));
  g_assert_true (hone_split_stratified (ds, 0.2, 0.1, 43, &s3, NULL));
  g_assert_cmpmem (s.val, s.n_val * sizeof (int), s2.val, s2.n_val * sizeof (int));
  g_assert_cmpmem (s.train, s.n_train * sizeof (int), s2.train, s2.n_train * sizeof (int));
  g_assert_cmpint (s3.n_val, ==, s.n_val);
  g_assert_true (memcmp (s.val, s3.val, s.n_val * sizeof (int)) != 0);
  hone_split_clear (&s2);
  hone_split_clear (&s3);

  /* rounding halves up (0.3 * 5 = 1.5 -> 2, whatever binary 0.3 is) */
  const int five[1] = { 5 };
  g_autoptr (HoneDataset) ds5 = make_counts_dataset ("five", five, 1, NULL);
  g_assert_true (hone_split_stratified (ds5, 0.3, 0, 1, &s2, NULL));
  g_assert_cmpint (s2.n_val, ==, 2);
  g_assert_cmpint (s2.n_test, ==, 0);
  g_assert_null (s2.test);
  hone_split_clear (&s2);

  /* nothing held out */
  g_assert_true (hone_split_stratified (ds, 0, 0, 1, &s2, NULL));
  g_assert_cmpint (s2.n_train, ==, n);
  g_assert_cmpint (s2.n_val + s2.n_test, ==, 0);
  hone_split_clear (&s2);

  g_assert_false (hone_split_stratified (ds, 0.6, 0.4, 1, &s2, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "data.val_split"));
  g_clear_error (&error);
  g_assert_false (hone_split_stratified (ds, -0.1, 0, 1, &s2, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_null (s2.train);
  hone_split_clear (&s);
  hone_split_clear (&s);   /* twice is fine */
  hone_split_clear (NULL);
}

static void
test_split_kfold (void)
{
  g_autoptr (HoneDataset) ds = make_counts_dataset ("skewed", skewed, 7, SKEWED_NAMES);
  int n = hone_dataset_n_samples (ds);
  const int k = 5;
  g_autofree int *in_val = g_new0 (int, n);
  int64_t per_fold[5][7];
  for (int f = 0; f < k; f++)
    {
      HoneSplit s;
      g_autoptr (GError) error = NULL;
      g_assert_true (hone_split_kfold (ds, k, f, 7, &s, &error));
      g_assert_no_error (error);
      assert_partition (&s, n, TRUE);
      g_assert_cmpint (s.n_test, ==, 0);
      g_assert_cmpint (s.n_val, >=, n / k);
      g_assert_cmpint (s.n_val, <=, n / k + 1);
      for (int j = 0; j < s.n_val; j++)
        in_val[s.val[j]]++;
      hone_dataset_class_counts (ds, s.val, s.n_val, per_fold[f]);
      HoneSplit again;
      g_assert_true (hone_split_kfold (ds, k, f, 7, &again, NULL));
      g_assert_cmpmem (s.val, s.n_val * sizeof (int), again.val, again.n_val * sizeof (int));
      hone_split_clear (&again);
      hone_split_clear (&s);
    }
  /* every sample validated exactly once; each class spread evenly */
  for (int i = 0; i < n; i++)
    g_assert_cmpint (in_val[i], ==, 1);
  for (int c = 0; c < 7; c++)
    {
      int64_t lo = G_MAXINT64, hi = 0;
      for (int f = 0; f < k; f++)
        {
          lo = MIN (lo, per_fold[f][c]);
          hi = MAX (hi, per_fold[f][c]);
        }
      g_assert_cmpint (hi - lo, <=, 1);
    }

  HoneSplit s;
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_split_kfold (ds, 1, 0, 7, &s, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "data.kfold"));
  g_clear_error (&error);
  g_assert_false (hone_split_kfold (ds, 5, 5, 7, &s, &error));
  g_assert_nonnull (strstr (error->message, "data.fold"));
  g_clear_error (&error);
  g_assert_false (hone_split_kfold (ds, n + 1, 0, 7, &s, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
}

static void
test_split_given (void)
{
  const int a[3] = { 4, 3, 2 }, b[3] = { 1, 2, 0 };
  g_autoptr (HoneDataset) train = make_counts_dataset ("given-train", a, 3, "x,y,z");
  g_autoptr (HoneDataset) val = make_counts_dataset ("given-val", b, 3, "x,y,z");
  HoneSplit s;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_split_given (train, val, &s, &error));
  g_assert_no_error (error);
  g_assert_cmpint (s.n_train, ==, 9);
  g_assert_cmpint (s.n_val, ==, 3);
  g_assert_cmpint (s.n_test, ==, 0);
  for (int i = 0; i < 9; i++)
    g_assert_cmpint (s.train[i], ==, i);
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (s.val[i], ==, i);
  hone_split_clear (&s);

  g_autoptr (HoneDataset) other = make_counts_dataset ("given-other", b, 3, "x,why,z");
  g_assert_false (hone_split_given (train, other, &s, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "'why'"));
  g_clear_error (&error);
  g_autoptr (HoneDataset) fewer = make_counts_dataset ("given-fewer", b, 2, "x,y");
  g_assert_false (hone_split_given (train, fewer, &s, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "2 classes"));
}

static void
test_split_limit (void)
{
  g_autoptr (HoneDataset) ds = make_counts_dataset ("skewed", skewed, 7, SKEWED_NAMES);
  int n = hone_dataset_n_samples (ds);

  /* one list: class quotas by largest remainder, then at least one each:
   * 20 of (100, 50, 10, 3, 2, 1, 0): floors (12, 6, 1, 0, 0, 0, 0), the
   * remaining one to class 3 (remainder 60/166), then classes 4 and 5 take
   * one each from the largest quota: (10, 6, 1, 1, 1, 1, 0) */
  g_autofree int *all = g_new (int, n);
  for (int i = 0; i < n; i++)
    all[i] = i;
  int kept = hone_dataset_limit_indices (ds, all, n, 20, 5);
  g_assert_cmpint (kept, ==, 20);
  assert_sorted_unique (all, kept);
  int64_t counts[7];
  hone_dataset_class_counts (ds, all, kept, counts);
  const int64_t expect[7] = { 10, 6, 1, 1, 1, 1, 0 };
  for (int k = 0; k < 7; k++)
    g_assert_cmpint (counts[k], ==, expect[k]);
  for (int i = 0; i < n; i++)
    all[i] = i;
  g_assert_cmpint (hone_dataset_limit_indices (ds, all, n, 0, 5), ==, n);
  g_assert_cmpint (hone_dataset_limit_indices (ds, all, n, n + 5, 5), ==, n);

  /* a split: 50 of 166 shared in proportion (train 115, val 34, test 17:
   * 34.6 -> 35, 10.2 -> 10, 5.1 -> 5), each part a subset of its own */
  HoneSplit s, orig;
  g_assert_true (hone_split_stratified (ds, 0.2, 0.1, 3, &s, NULL));
  g_assert_true (hone_split_stratified (ds, 0.2, 0.1, 3, &orig, NULL));
  g_assert_cmpint (s.n_train, ==, 115);
  g_assert_cmpint (s.n_val, ==, 34);
  g_assert_cmpint (s.n_test, ==, 17);
  hone_split_limit (&s, ds, 50, 9);
  g_assert_cmpint (s.n_train, ==, 35);
  g_assert_cmpint (s.n_val, ==, 10);
  g_assert_cmpint (s.n_test, ==, 5);
  assert_partition (&s, n, FALSE);
  const int *parts[3] = { s.train, s.val, s.test };
  const int sizes[3] = { s.n_train, s.n_val, s.n_test };
  const int *oparts[3] = { orig.train, orig.val, orig.test };
  const int osizes[3] = { orig.n_train, orig.n_val, orig.n_test };
  for (int p = 0; p < 3; p++)
    for (int j = 0; j < sizes[p]; j++)
      {
        gboolean found = FALSE;
        for (int q = 0; q < osizes[p]; q++)
          found |= oparts[p][q] == parts[p][j];
        g_assert_true (found);
      }
  /* the limited validation set still has every class of the full one */
  int64_t cv[7];
  hone_dataset_class_counts (ds, s.val, s.n_val, cv);
  for (int k = 0; k < 5; k++)
    g_assert_cmpint (cv[k], >=, 1);
  /* deterministic */
  HoneSplit again;
  g_assert_true (hone_split_stratified (ds, 0.2, 0.1, 3, &again, NULL));
  hone_split_limit (&again, ds, 50, 9);
  g_assert_cmpmem (s.train, s.n_train * sizeof (int), again.train, again.n_train * sizeof (int));
  g_assert_cmpmem (s.val, s.n_val * sizeof (int), again.val, again.n_val * sizeof (int));
  hone_split_clear (&again);
  /* a limit above the size changes nothing */
  hone_split_limit (&orig, ds, 1000, 9);
  g_assert_cmpint (orig.n_train, ==, 115);
  hone_split_clear (&orig);
  hone_split_clear (&s);

  /* given folders: val indices are the val dataset's */
  const int a[2] = { 30, 10 }, b[2] = { 6, 4 };
  g_autoptr (HoneDataset) train = make_counts_dataset ("limit-train", a, 2, "x,y");
  g_autoptr (HoneDataset) val = make_counts_dataset ("limit-val", b, 2, "x,y");
  g_assert_true (hone_split_given (train, val, &s, NULL));
  hone_split_limit_given (&s, train, val, 25, 1);
  g_assert_cmpint (s.n_train, ==, 20);
  g_assert_cmpint (s.n_val, ==, 5);
  int64_t ct[2], cvv[2];
  hone_dataset_class_counts (train, s.train, s.n_train, ct);
  hone_dataset_class_counts (val, s.val, s.n_val, cvv);
  g_assert_cmpint (ct[0], ==, 15);
  g_assert_cmpint (ct[1], ==, 5);
  g_assert_cmpint (cvv[0], ==, 3);
  g_assert_cmpint (cvv[1], ==, 2);
  hone_split_clear (&s);
}

static void
test_balance (void)
{
  const int64_t counts[4] = { 100, 50, 10, 0 };
  g_assert_cmpfloat (hone_class_imbalance (counts, 4), ==, 10.0);
  const int64_t even[3] = { 7, 7, 7 };
  g_assert_cmpfloat (hone_class_imbalance (even, 3), ==, 1.0);
  const int64_t none[2] = { 0, 0 };
  g_assert_cmpfloat (hone_class_imbalance (none, 2), ==, 1.0);

  /* w_k = n / (K * count_k), K the classes present: (160 / 300, 160 / 150,
   * 160 / 30, 0), and the mean weight over the samples is 1 */
  float w[4];
  hone_class_weights (counts, 4, w);
  g_assert_cmpfloat_with_epsilon (w[0], 160.0 / 300, 1e-6);
  g_assert_cmpfloat_with_epsilon (w[1], 160.0 / 150, 1e-6);
  g_assert_cmpfloat_with_epsilon (w[2], 160.0 / 30, 1e-6);
  g_assert_cmpfloat (w[3], ==, 0.0f);
  double mean = 0;
  for (int k = 0; k < 4; k++)
    mean += counts[k] * (double) w[k];
  g_assert_cmpfloat_with_epsilon (mean / 160, 1.0, 1e-6);
  hone_class_weights (even, 3, w);
  for (int k = 0; k < 3; k++)
    g_assert_cmpfloat_with_epsilon (w[k], 1.0, 1e-7);
  hone_class_weights (none, 2, w);
  g_assert_cmpfloat (w[0] + w[1], ==, 0.0f);

  g_autoptr (HoneDataset) ds = make_counts_dataset ("skewed", skewed, 7, SKEWED_NAMES);
  int64_t all[7], some[7];
  hone_dataset_class_counts (ds, NULL, 0, all);
  for (int k = 0; k < 7; k++)
    g_assert_cmpint (all[k], ==, skewed[k]);
  const int idx[3] = { 0, 1, 2 };
  hone_dataset_class_counts (ds, idx, 3, some);
  int64_t total = 0;
  for (int k = 0; k < 7; k++)
    total += some[k];
  g_assert_cmpint (total, ==, 3);
  for (int j = 0; j < 3; j++)
    g_assert_cmpint (some[hone_dataset_label (ds, idx[j])], >=, 1);
}

static void
test_issue (void)
{
  g_autoptr (HoneDataIssue) issue = hone_data_issue_new ("a/b.png", "broken");
  g_assert_cmpstr (issue->path, ==, "a/b.png");
  g_assert_cmpstr (issue->message, ==, "broken");
  hone_data_issue_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_root = hone_test_make_tmp_dir ("hone-test-dataset-XXXXXX");

  g_test_add_func ("/engine/dataset/issue", test_issue);
  g_test_add_func ("/engine/dataset/folder", test_folder);
  g_test_add_func ("/engine/dataset/folder/errors", test_folder_errors);
  g_test_add_func ("/engine/dataset/csv", test_csv);
  g_test_add_func ("/engine/dataset/safetensors", test_safetensors);
  g_test_add_func ("/engine/dataset/idx", test_idx);
  g_test_add_func ("/engine/dataset/idx/errors", test_idx_errors);
  g_test_add_func ("/engine/dataset/fmnist/subsets", test_fmnist_subsets);
  g_test_add_func ("/engine/dataset/fmnist/real", test_fmnist_real);
  g_test_add_func ("/engine/dataset/load/threads", test_load_threads);
  g_test_add_func ("/engine/dataset/split/stratified", test_split_stratified);
  g_test_add_func ("/engine/dataset/split/kfold", test_split_kfold);
  g_test_add_func ("/engine/dataset/split/given", test_split_given);
  g_test_add_func ("/engine/dataset/split/limit", test_split_limit);
  g_test_add_func ("/engine/dataset/balance", test_balance);

  int status = g_test_run ();
  hone_test_remove_tree (tmp_root);
  g_free (tmp_root);
  return status;
}
