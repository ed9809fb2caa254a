/* test-image-decode.c: PNG and JPEG decoding (every colour type, depth and
 * interlacing, CMYK, DCT scaling), the size limits, hostile files, channel
 * conversion and resizing (golden values from PyTorch and OpenCV, and an
 * independent 2-D reference). */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <glib/gstdio.h>

#include "data/hone-image-decode.h"
#include "data/hone-image.h"
#include "hone-test-images.h"
#include "hone-test-util.h"

static char *tmp_dir;

static float *
decode (GBytes *bytes, int min_w, int min_h, HoneImageInfo *info)
{
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  float *out = hone_image_decode_bytes (data, n, "test image", min_w, min_h, info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  return out;
}

/* Decoding fails with HONE_ERROR_FORMAT, naming the image, and the message
 * contains `expect`. */
static void
expect_decode_error (const char *label, const guint8 *data, gsize n, const char *expect)
{
  g_autoptr (GError) error = NULL;
  HoneImageInfo info;
  float *out = hone_image_decode_bytes (data, n, "bad image", 0, 0, &info, &error);
  if (out || !error || !strstr (error->message, expect))
    g_error ("case '%s': expected an error containing '%s', got %s", label, expect,
             error ? error->message : "success");
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "bad image"));
  g_test_message ("%s: %s", label, error->message);
}

/* ---- PNG --------------------------------------------------------------- */

static void
test_png_grey (void)
{
  const guint8 px[4] = { 0, 85, 170, 255 };
  HoneTestPng p = { .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
                    .samples = px };
  g_autoptr (GBytes) bytes = hone_test_png_bytes (&p);
  HoneImageInfo info;
  g_autofree float *out = decode (bytes, 0, 0, &info);
  g_assert_cmpint (info.kind, ==, HONE_IMAGE_KIND_PNG);
  g_assert_cmpint (info.channels, ==, 1);
  g_assert_cmpint (info.width, ==, 2);
  g_assert_cmpint (info.height, ==, 2);
  const float expect[4] = { 0.0f, 1.0f / 3, 2.0f / 3, 1.0f };
  hone_test_assert_close ("grey", out, expect, 4, 0, 1e-6);
}

static void
test_png_low_depth_grey (void)
{
  /* 1, 2 and 4 bits expand to 8 (libpng scales v * 255 / (2^d - 1)). */
  const int depths[3] = { 1, 2, 4 };
  for (int d = 0; d < 3; d++)
    {
      int depth = depths[d];
      int maxv = (1 << depth) - 1;
      guint8 px[3 * 5];
      for (int i = 0; i < 15; i++)
        px[i] = (guint8) ((i * 7) % (maxv + 1));
      HoneTestPng p = { .width = 5, .height = 3, .color_type = PNG_COLOR_TYPE_GRAY,
                        .bit_depth = depth, .samples = px };
      g_autoptr (GBytes) bytes = hone_test_png_bytes (&p);
      HoneImageInfo info;
      g_autofree float *out = decode (bytes, 0, 0, &info);
      g_assert_cmpint (info.channels, ==, 1);
      float expect[15];
      for (int i = 0; i < 15; i++)
        expect[i] = (float) px[i] / maxv;
      hone_test_assert_close ("low-depth grey", out, expect, 15, 0, 1e-6);
    }
}

static void
test_png_alpha_and_rgb (void)
{
  /* grey + alpha: alpha dropped */
  const guint8 ga[2 * 2 * 2] = { 10, 255, 20, 0, 30, 128, 40, 7 };
  HoneTestPng p1 = { .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                     .bit_depth = 8, .samples = ga };
  g_autoptr (GBytes) b1 = hone_test_png_bytes (&p1);
  HoneImageInfo info;
  g_autofree float *o1 = decode (b1, 0, 0, &info);
  g_assert_cmpint (info.channels, ==, 1);
  const float e1[4] = { 10 / 255.0f, 20 / 255.0f, 30 / 255.0f, 40 / 255.0f };
  hone_test_assert_close ("grey+alpha", o1, e1, 4, 0, 1e-6);

  /* RGB: planar output */
  const guint8 rgb[1 * 2 * 3] = { 255, 0, 10, 0, 128, 20 };
  HoneTestPng p2 = { .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                     .samples = rgb };
  g_autoptr (GBytes) b2 = hone_test_png_bytes (&p2);
  g_autofree float *o2 = decode (b2, 0, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  const float e2[6] = { 1, 0, 0, 128 / 255.0f, 10 / 255.0f, 20 / 255.0f };
  hone_test_assert_close ("rgb", o2, e2, 6, 0, 1e-6);

  /* RGBA: alpha dropped, colour kept even where fully transparent */
  const guint8 rgba[1 * 2 * 4] = { 1, 2, 3, 0, 250, 251, 252, 255 };
  HoneTestPng p3 = { .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                     .bit_depth = 8, .samples = rgba };
  g_autoptr (GBytes) b3 = hone_test_png_bytes (&p3);
  g_autofree float *o3 = decode (b3, 0, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  const float e3[6] = { 1 / 255.0f, 250 / 255.0f, 2 / 255.0f, 251 / 255.0f, 3 / 255.0f,
                        252 / 255.0f };
  hone_test_assert_close ("rgba", o3, e3, 6, 0, 1e-6);
}

static void
test_png_palette (void)
{
  const png_color pal[3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 10, 20, 30 } };
  const guint8 idx[4] = { 0, 1, 2, 1 };
  const guint8 trans[3] = { 255, 0, 128 };
  for (int with_trns = 0; with_trns < 2; with_trns++)
    for (int depth = 2; depth <= 8; depth += 6)
      {
        HoneTestPng p = { .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_PALETTE,
                          .bit_depth = depth, .samples = idx, .palette = pal, .n_palette = 3,
                          .trans = with_trns ? trans : NULL, .n_trans = with_trns ? 3 : 0 };
        g_autoptr (GBytes) bytes = hone_test_png_bytes (&p);
        HoneImageInfo info;
        g_autofree float *out = decode (bytes, 0, 0, &info);
        g_assert_cmpint (info.channels, ==, 3);
        float expect[12];
        for (int i = 0; i < 4; i++)
          {
            expect[0 * 4 + i] = pal[idx[i]].red / 255.0f;
            expect[1 * 4 + i] = pal[idx[i]].green / 255.0f;
            expect[2 * 4 + i] = pal[idx[i]].blue / 255.0f;
          }
        hone_test_assert_close ("palette", out, expect, 12, 0, 1e-6);
      }
}

static void
test_png_16bit (void)
{
  /* 16-bit samples keep their precision: 0x8000 is 32768 / 65535, not 128 / 255. */
  const guint16 grey[3] = { 0, 0x8000, 0xffff };
  HoneTestPng p = { .width = 3, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16,
                    .samples = grey };
  g_autoptr (GBytes) bytes = hone_test_png_bytes (&p);
  HoneImageInfo info;
  g_autofree float *out = decode (bytes, 0, 0, &info);
  const float e[3] = { 0, 32768.0f / 65535.0f, 1 };
  hone_test_assert_close ("16-bit grey", out, e, 3, 0, 1e-7);

  const guint16 rgba[1 * 2 * 4] = { 1, 0x1234, 0xfedc, 0, 65535, 300, 7, 65535 };
  HoneTestPng p2 = { .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                     .bit_depth = 16, .samples = rgba };
  g_autoptr (GBytes) b2 = hone_test_png_bytes (&p2);
  g_autofree float *o2 = decode (b2, 0, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  const float e2[6] = { 1 / 65535.0f, 1, 0x1234 / 65535.0f, 300 / 65535.0f, 0xfedc / 65535.0f,
                        7 / 65535.0f };
  hone_test_assert_close ("16-bit rgba", o2, e2, 6, 0, 1e-7);
}

static void
test_png_interlaced (void)
{
  /* Adam7 decodes to the same pixels as the plain image (odd sizes, so
   * every pass has a ragged edge). */
  enum { W = 13, H = 11 };
  guint8 rgb[H * W * 3];
  for (int i = 0; i < H * W * 3; i++)
    rgb[i] = (guint8) (i * 37 + 11);
  HoneTestPng p = { .width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                    .samples = rgb };
  g_autoptr (GBytes) plain = hone_test_png_bytes (&p);
  p.interlace = TRUE;
  g_autoptr (GBytes) adam7 = hone_test_png_bytes (&p);
  g_assert_false (g_bytes_equal (plain, adam7));
  HoneImageInfo info;
  g_autofree float *a = decode (plain, 0, 0, &info);
  g_autofree float *b = decode (adam7, 0, 0, &info);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < H * W; i++)
      g_assert_cmpfloat_with_epsilon (b[c * H * W + i], rgb[i * 3 + c] / 255.0f, 1e-7);
  hone_test_assert_close ("interlaced", b, a, 3 * H * W, 0, 0);
}

/* A PNG header (signature + IHDR with a correct CRC) claiming w x h, then
 * a tiny IDAT and IEND. */
static GByteArray *
png_header_claiming (guint32 w, guint32 h)
{
  const guint8 px[1] = { 0 };
  HoneTestPng p = { .width = 1, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
                    .samples = px };
  g_autoptr (GBytes) bytes = hone_test_png_bytes (&p);
  gsize n;
  const guint8 *d = g_bytes_get_data (bytes, &n);
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, d, (guint) n);
  guint8 *ihdr = b->data + 8;
  for (int i = 0; i < 4; i++)
    {
      ihdr[8 + i] = (guint8) (w >> (24 - 8 * i));
      ihdr[12 + i] = (guint8) (h >> (24 - 8 * i));
    }
  guint32 crc = (guint32) crc32 (0, ihdr + 4, 17);
  for (int i = 0; i < 4; i++)
    ihdr[21 + i] = (guint8) (crc >> (24 - 8 * i));
  return b;
}

static void
test_png_limits (void)
{
  /* 100000 x 100000 (10 gigapixels) is refused from the header, before
   * libpng sees the file: the message is Hone's, not libpng's "out of
   * memory".  Also the sides and the total one past the limits. */
  const guint32 cases[][2] = {
    { 100000, 100000 }, { HONE_IMAGE_MAX_SIDE + 1, 1 }, { 1, HONE_IMAGE_MAX_SIDE + 1 },
    { HONE_IMAGE_MAX_SIDE, HONE_IMAGE_MAX_PIXELS / HONE_IMAGE_MAX_SIDE + 1 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GByteArray) b = png_header_claiming (cases[c][0], cases[c][1]);
      expect_decode_error ("too large", b->data, b->len, "larger than Hone's limit");
      g_autofree char *path = g_build_filename (tmp_dir, "huge.png", NULL);
      hone_test_write_data (path, b->data, b->len);
      HoneImageInfo info;
      g_autoptr (GError) error = NULL;
      g_assert_false (hone_image_probe (path, &info, &error));
      g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, "larger than Hone's limit"));
    }
  /* Exactly at the limit the header is fine (the probe reads only it). */
  g_autoptr (GByteArray) ok = png_header_claiming (HONE_IMAGE_MAX_SIDE,
                                                   HONE_IMAGE_MAX_PIXELS / HONE_IMAGE_MAX_SIDE);
  g_autofree char *path = g_build_filename (tmp_dir, "at-limit.png", NULL);
  hone_test_write_data (path, ok->data, ok->len);
  g_assert_cmpint (truncate (path, (off_t) (ok->len + 70000)), ==, 0);
  HoneImageInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_image_probe (path, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.width, ==, HONE_IMAGE_MAX_SIDE);
  g_assert_cmpint (info.height, ==, HONE_IMAGE_MAX_PIXELS / HONE_IMAGE_MAX_SIDE);
  /* ...but for its file size: deflate cannot unpack 64 megapixels from a
   * hundred bytes.  The probe and the decoder both say so, before
   * allocating anything. */
  gsize filler = 70000;
  g_autofree guint8 *padded = g_malloc0 (ok->len + filler);
  memcpy (padded, ok->data, ok->len);
  expect_decode_error ("at limit, no data", ok->data, ok->len, "cannot hold");
  g_autofree char *small_path = g_build_filename (tmp_dir, "at-limit-small.png", NULL);
  hone_test_write_data (small_path, ok->data, ok->len);
  g_assert_false (hone_image_probe (small_path, &info, &error));
  g_assert_nonnull (strstr (error->message, "cannot hold"));
  g_clear_error (&error);
  /* A file long enough (zeros after IEND) passes the size check and fails
   * decoding on the missing pixel data, cleanly. */
  expect_decode_error ("at limit, padded", padded, ok->len + filler, "not a valid PNG image");
}

static void
test_png_corrupt (void)
{
  enum { W = 16, H = 16 };
  guint8 px[W * H];
  for (int i = 0; i < W * H; i++)
    px[i] = (guint8) (i * 13);
  HoneTestPng p = { .width = W, .height = H, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
                    .samples = px };
  g_autoptr (GBytes) bytes = hone_test_png_bytes (&p);
  gsize n;
  const guint8 *good = g_bytes_get_data (bytes, &n);

  expect_decode_error ("signature only", good, 8, "truncated");
  expect_decode_error ("cut in IHDR", good, 20, "truncated");
  expect_decode_error ("cut in IDAT", good, n - 20, "not a valid PNG image");

  g_autofree guint8 *copy = g_memdup2 (good, n);
  copy[20] ^= 0x40;   /* width, so the IHDR CRC fails */
  expect_decode_error ("IHDR checksum", copy, n, "checksum");

  memcpy (copy, good, n);
  copy[n - 20] ^= 0xff;   /* inside IDAT: its CRC fails */
  expect_decode_error ("IDAT checksum", copy, n, "not a valid PNG image");

  memcpy (copy, good, n);
  copy[25] = 5;   /* colour type 5 does not exist */
  guint32 crc = (guint32) crc32 (0, copy + 12, 17);
  for (int i = 0; i < 4; i++)
    copy[29 + i] = (guint8) (crc >> (24 - 8 * i));
  expect_decode_error ("bad colour type", copy, n, "colour type 5");

  const char text[] = "just some text, not an image";
  expect_decode_error ("text", (const guint8 *) text, sizeof text, "not a PNG or JPEG image");
  expect_decode_error ("empty", (const guint8 *) "", 0, "empty");

  /* The probe reads only the header: a file broken in IDAT passes it (and
   * fails when decoded). */
  g_autofree char *path = g_build_filename (tmp_dir, "cut.png", NULL);
  hone_test_write_data (path, good, n - 20);
  HoneImageInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_image_probe (path, &info, &error));
  g_assert_no_error (error);
  float *out = hone_image_decode_file (path, 0, 0, &info, &error);
  g_assert_null (out);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, path));
}

/* ---- JPEG -------------------------------------------------------------- */

static void
test_jpeg_grey_rgb (void)
{
  /* Solid 8x8 blocks at quality 100 come back within a step or two. */
  enum { W = 16, H = 8 };
  guint8 grey[H * W];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      grey[y * W + x] = x < 8 ? 40 : 200;
  g_autoptr (GBytes) gb = hone_test_jpeg_bytes (W, H, 1, grey, 100);
  HoneImageInfo info;
  g_autofree float *g = decode (gb, 0, 0, &info);
  g_assert_cmpint (info.kind, ==, HONE_IMAGE_KIND_JPEG);
  g_assert_cmpint (info.channels, ==, 1);
  g_assert_cmpint (info.width, ==, W);
  g_assert_cmpint (info.height, ==, H);
  g_assert_cmpfloat_with_epsilon (g[2 * W + 3], 40 / 255.0f, 2.5 / 255);
  g_assert_cmpfloat_with_epsilon (g[5 * W + 12], 200 / 255.0f, 2.5 / 255);

  guint8 rgb[H * W * 3];
  const guint8 colours[2][3] = { { 220, 30, 40 }, { 20, 60, 230 } };
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      memcpy (rgb + (y * W + x) * 3, colours[x >= 8], 3);
  g_autoptr (GBytes) cb = hone_test_jpeg_bytes (W, H, 3, rgb, 100);
  g_autofree float *c = decode (cb, 0, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  for (int ch = 0; ch < 3; ch++)
    {
      g_assert_cmpfloat_with_epsilon (c[ch * H * W + 3 * W + 2], colours[0][ch] / 255.0f, 3.0 / 255);
      g_assert_cmpfloat_with_epsilon (c[ch * H * W + 4 * W + 13], colours[1][ch] / 255.0f, 3.0 / 255);
    }
}

static void
test_jpeg_cmyk (void)
{
  /* libjpeg writes CMYK with an Adobe marker and the values as given, which
   * readers take as Adobe's inverted ink (255 - ink): stored (255, 0, 255,
   * 255) is cyan 0, magenta 255, yellow 0, black 0: magenta (1, 0, 1). */
  enum { W = 8, H = 8 };
  guint8 cmyk[H * W * 4];
  for (int i = 0; i < H * W; i++)
    {
      cmyk[i * 4 + 0] = 255;
      cmyk[i * 4 + 1] = 0;
      cmyk[i * 4 + 2] = 255;
      cmyk[i * 4 + 3] = 255;
    }
  g_autoptr (GBytes) b = hone_test_jpeg_bytes (W, H, 4, cmyk, 100);
  HoneImageInfo info;
  g_autofree float *o = decode (b, 0, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  g_assert_cmpfloat_with_epsilon (o[0 * H * W + 9], 1.0, 2.0 / 255);
  g_assert_cmpfloat_with_epsilon (o[1 * H * W + 9], 0.0, 2.0 / 255);
  g_assert_cmpfloat_with_epsilon (o[2 * H * W + 9], 1.0, 2.0 / 255);
  /* half black: stored K = 127 inverted, so every channel halves */
  for (int i = 0; i < H * W; i++)
    cmyk[i * 4 + 3] = 127;
  g_autoptr (GBytes) b2 = hone_test_jpeg_bytes (W, H, 4, cmyk, 100);
  g_autofree float *o2 = decode (b2, 0, 0, &info);
  g_assert_cmpfloat_with_epsilon (o2[0 * H * W + 9], 127 / 255.0f, 2.0 / 255);
  g_assert_cmpfloat_with_epsilon (o2[1 * H * W + 9], 0.0, 2.0 / 255);
}

static void
test_jpeg_scaling (void)
{
  /* A 64x48 image asked for at least 16x12 decodes at 1/4 (16x12); at
   * least 17x12 at 1/2 (32x24); 0x0 at full size.  The scaled image is
   * close to the block average of the full one. */
  enum { W = 64, H = 48 };
  guint8 grey[H * W];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      grey[y * W + x] = (guint8) (x * 3 + y);
  g_autoptr (GBytes) b = hone_test_jpeg_bytes (W, H, 1, grey, 95);
  HoneImageInfo info;
  g_autofree float *full = decode (b, 0, 0, &info);
  g_assert_cmpint (info.width, ==, W);
  g_autofree float *quarter = decode (b, 16, 12, &info);
  g_assert_cmpint (info.width, ==, 16);
  g_assert_cmpint (info.height, ==, 12);
  g_autofree float *half = decode (b, 17, 12, &info);
  g_assert_cmpint (info.width, ==, 32);
  g_assert_cmpint (info.height, ==, 24);
  float avg[12 * 16];
  hone_image_resize (avg, 12, 16, full, 1, H, W);
  hone_test_assert_close ("1/4 scale", quarter, avg, 12 * 16, 0, 0.03);
}

static void
test_jpeg_corrupt (void)
{
  enum { W = 32, H = 32 };
  guint8 rgb[H * W * 3];
  for (int i = 0; i < H * W * 3; i++)
    rgb[i] = (guint8) (i * 7);
  g_autoptr (GBytes) b = hone_test_jpeg_bytes (W, H, 3, rgb, 90);
  gsize n;
  const guint8 *good = g_bytes_get_data (b, &n);
  /* libjpeg itself would pad a truncated file with grey and warn */
  expect_decode_error ("truncated in the scan", good, n * 2 / 3, "Premature end");
  expect_decode_error ("truncated in the header", good, 40, "not a valid JPEG image");
  expect_decode_error ("SOI only", good, 3, "not a valid JPEG image");

  /* a header claiming 60000 x 60000: SOF0's height and width */
  g_autofree guint8 *copy = g_memdup2 (good, n);
  gsize sof = 0;
  for (gsize i = 2; i + 1 < n; i++)
    if (copy[i] == 0xff && copy[i + 1] == 0xc0)
      {
        sof = i;
        break;
      }
  g_assert_cmpuint (sof, >, 0);
  copy[sof + 5] = 60000 >> 8;
  copy[sof + 6] = 60000 & 0xff;
  copy[sof + 7] = 60000 >> 8;
  copy[sof + 8] = 60000 & 0xff;
  expect_decode_error ("too large", copy, n, "larger than Hone's limit");
  g_autofree char *path = g_build_filename (tmp_dir, "huge.jpg", NULL);
  hone_test_write_data (path, copy, n);
  HoneImageInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_image_probe (path, &info, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "larger than Hone's limit"));

  /* garbage after the header: libjpeg errors or warns of corrupt data */
  memcpy (copy, good, n);
  for (gsize i = n / 2; i < n - 2; i++)
    copy[i] = 0xff;
  g_autoptr (GError) err2 = NULL;
  float *out = hone_image_decode_bytes (copy, n, "garbled.jpg", 0, 0, &info, &err2);
  g_assert_null (out);
  g_assert_error (err2, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (err2->message, "garbled.jpg"));
}

static void
test_probe (void)
{
  const guint8 px[6] = { 1, 2, 3, 4, 5, 6 };
  HoneTestPng p = { .width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
                    .samples = px };
  g_autoptr (GBytes) png = hone_test_png_bytes (&p);
  g_autofree char *png_path = g_build_filename (tmp_dir, "ok.png", NULL);
  hone_test_write_bytes (png_path, png);
  HoneImageInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_image_probe (png_path, &info, &error));
  g_assert_cmpint (info.kind, ==, HONE_IMAGE_KIND_PNG);
  g_assert_cmpint (info.width, ==, 3);
  g_assert_cmpint (info.height, ==, 2);
  g_assert_cmpint (info.channels, ==, 1);

  guint8 rgb[8 * 24 * 3] = { 0 };
  g_autoptr (GBytes) jpg = hone_test_jpeg_bytes (24, 8, 3, rgb, 80);
  g_autofree char *jpg_path = g_build_filename (tmp_dir, "ok.JPEG", NULL);
  hone_test_write_bytes (jpg_path, jpg);
  g_assert_true (hone_image_probe (jpg_path, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.kind, ==, HONE_IMAGE_KIND_JPEG);
  g_assert_cmpint (info.width, ==, 24);
  g_assert_cmpint (info.height, ==, 8);
  g_assert_cmpint (info.channels, ==, 3);
  g_assert_true (hone_image_has_image_extension (jpg_path));
  g_assert_true (hone_image_has_image_extension ("a.Png"));
  g_assert_false (hone_image_has_image_extension ("a.gif"));
  g_assert_false (hone_image_has_image_extension ("png"));

  /* errors name the file: missing, empty, not an image, a folder */
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.png", NULL);
  g_assert_false (hone_image_probe (missing, &info, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_autofree char *empty = g_build_filename (tmp_dir, "empty.png", NULL);
  hone_test_write_data (empty, "", 0);
  g_assert_false (hone_image_probe (empty, &info, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "empty (0 bytes)"));
  g_clear_error (&error);
  g_autofree char *text = g_build_filename (tmp_dir, "text.jpg", NULL);
  hone_test_write_data (text, "hello", 5);
  g_assert_false (hone_image_probe (text, &info, &error));
  g_assert_nonnull (strstr (error->message, "not a PNG or JPEG image"));
  g_clear_error (&error);
  g_assert_false (hone_image_probe (tmp_dir, &info, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
}

/* Every prefix and 1500 random corruptions of a PNG and a JPEG of
 * each kind: each either decodes to an image of sane size with values in
 * [0, 1] or fails with HONE_ERROR_FORMAT; never a crash, a hang or a leak
 * (run under ASan too). */
static void
check_survives (const guint8 *data, gsize n)
{
  g_autoptr (GError) error = NULL;
  HoneImageInfo info;
  float *out = hone_image_decode_bytes (data, n, "mutant", 0, 0, &info, &error);
  if (!out)
    {
      g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (info.channels == 1 || info.channels == 3);
  g_assert_cmpint (info.width, >=, 1);
  g_assert_cmpint (info.height, >=, 1);
  g_assert_cmpint ((gint64) info.width * info.height, <=, HONE_IMAGE_MAX_PIXELS);
  gsize numel = (gsize) info.channels * info.width * info.height;
  for (gsize i = 0; i < numel; i++)
    g_assert_true (out[i] >= 0.0f && out[i] <= 1.0f);
  g_free (out);
}

static void
test_mutations (void)
{
  enum { W = 19, H = 13 };
  guint8 px[H * W * 4];
  for (int i = 0; i < H * W * 4; i++)
    px[i] = (guint8) (i * 29 + 3);
  const png_color pal[4] = { { 1, 2, 3 }, { 200, 100, 0 }, { 9, 9, 9 }, { 255, 255, 255 } };
  guint8 idx[H * W];
  for (int i = 0; i < H * W; i++)
    idx[i] = (guint8) (i % 4);
  HoneTestPng pngs[] = {
    { .width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 8, .samples = px },
    { .width = W, .height = H, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .samples = px,
      .interlace = TRUE },
    { .width = W, .height = H, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 2, .samples = idx,
      .palette = pal, .n_palette = 4 },
    { .width = W, .height = H, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 16,
      .samples = px },
  };
  GPtrArray *files = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < G_N_ELEMENTS (pngs); i++)
    g_ptr_array_add (files, hone_test_png_bytes (&pngs[i]));
  g_ptr_array_add (files, hone_test_jpeg_bytes (W, H, 1, px, 75));
  g_ptr_array_add (files, hone_test_jpeg_bytes (W, H, 3, px, 75));
  g_ptr_array_add (files, hone_test_jpeg_bytes (W, H, 4, px, 75));

  HoneRng rng;
  hone_rng_init (&rng, 2024, 0);
  for (guint f = 0; f < files->len; f++)
    {
      gsize n;
      const guint8 *good = g_bytes_get_data (g_ptr_array_index (files, f), &n);
      check_survives (good, n);
      for (gsize cut = 0; cut < n; cut += 1 + cut / 16)
        check_survives (good, cut);
      g_autofree guint8 *m = g_malloc (n);
      for (int t = 0; t < 1500; t++)
        {
          memcpy (m, good, n);
          int flips = 1 + (int) hone_rng_below (&rng, 4);
          for (int k = 0; k < flips; k++)
            {
              gsize at = hone_rng_below (&rng, (uint32_t) n);
              if (hone_rng_below (&rng, 2))
                m[at] ^= (guint8) (1u << hone_rng_below (&rng, 8));
              else
                m[at] = (guint8) hone_rng_next (&rng);
            }
          check_survives (m, n);
        }
    }
  g_ptr_array_unref (files);
}

/* ---- conversion and resizing ------------------------------------------- */

static void
test_convert (void)
{
  const float rgb[3 * 2] = { 1, 0.5f, 0, 0.5f, 0, 1 };   /* (3, 1, 2) */
  float grey[2];
  hone_image_convert (grey, 1, rgb, 3, 1, 2);
  const float eg[2] = { 0.299f, 0.299f * 0.5f + 0.587f * 0.5f + 0.114f };
  hone_test_assert_close ("rgb to grey", grey, eg, 2, 0, 1e-6);
  float back[6];
  hone_image_convert (back, 3, grey, 1, 1, 2);
  const float eb[6] = { eg[0], eg[1], eg[0], eg[1], eg[0], eg[1] };
  hone_test_assert_close ("grey to rgb", back, eb, 6, 0, 0);
  /* grey -> RGB -> grey is the identity (the weights sum to 1) */
  float again[2];
  hone_image_convert (again, 1, back, 3, 1, 2);
  hone_test_assert_close ("round trip", again, eg, 2, 0, 1e-6);
}

static void
test_resize_golden (void)
{
  /* torch.nn.functional.interpolate (x, size, mode="bilinear",
   * align_corners=False) */
  const float x[4] = { 0, 1, 2, 3 };
  float up[16];
  hone_image_resize (up, 4, 4, x, 1, 2, 2);
  const float e_up[16] = { 0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f,
                           1.5f, 1.75f, 2.25f, 2.5f, 2.0f, 2.25f, 2.75f, 3.0f };
  hone_test_assert_close ("2x2 to 4x4", up, e_up, 16, 0, 1e-6);
  float up2[15];
  hone_image_resize (up2, 3, 5, x, 1, 2, 2);
  const float e_up2[15] = { 0.0f, 0.1f, 0.5f, 0.9f, 1.0f, 1.0f, 1.1f, 1.5f, 1.9f, 2.0f,
                            2.0f, 2.1f, 2.5f, 2.9f, 3.0f };
  hone_test_assert_close ("2x2 to 3x5", up2, e_up2, 15, 0, 1e-6);

  /* a one-pixel checkerboard halved (or quartered) is uniform grey */
  float board[8 * 8];
  for (int y = 0; y < 8; y++)
    for (int x2 = 0; x2 < 8; x2++)
      board[y * 8 + x2] = (float) ((x2 + y) & 1);
  float half[4 * 4], quarter[2 * 2];
  hone_image_resize (half, 4, 4, board, 1, 8, 8);
  hone_image_resize (quarter, 2, 2, board, 1, 8, 8);
  for (int i = 0; i < 16; i++)
    g_assert_cmpfloat (half[i], ==, 0.5f);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (quarter[i], ==, 0.5f);

  /* cv2.resize (x, (2, 3), interpolation=cv2.INTER_AREA) with
   * x[i][j] = (5 i + j) ** 1.5 / 100 (4 x 5): 5 -> 2 and 4 -> 3, both
   * fractional */
  float y[4 * 5];
  for (int i = 0; i < 20; i++)
    y[i] = powf ((float) i, 1.5f) / 100.0f;
  float area[3 * 2];
  hone_image_resize (area, 3, 2, y, 1, 4, 5);
  const float e_area[6] = { 0.04238005f, 0.10271865f, 0.24805534f, 0.35785508f,
                            0.5603137f, 0.702739f };
  hone_test_assert_close ("area 4x5 to 3x2", area, e_area, 6, 0, 1e-6);
  /* and 1-D: [0 1 2 3 4] -> 3 */
  const float row[5] = { 0, 1, 2, 3, 4 };
  float r3[3];
  hone_image_resize (r3, 1, 3, row, 1, 1, 5);
  const float e_r3[3] = { 0.4f, 2.0f, 3.6f };
  hone_test_assert_close ("area 5 to 3", r3, e_r3, 3, 0, 1e-6);
}

/* An independent 2-D reference: for each output pixel and each axis,
 * bilinear weights when that axis grows, else the overlap of the output's
 * footprint with each input pixel (an area integral, not separable code). */
static double
ref_weight_1d (int j, int k, int n_in, int n_out)
{
  if (n_out >= n_in)
    {
      double src = (j + 0.5) * n_in / n_out - 0.5;
      if (src < 0)
        src = 0;
      if (src > n_in - 1)
        src = n_in - 1;
      double d = fabs (src - k);
      return d < 1 ? 1 - d : 0;
    }
  double lo = (double) j * n_in / n_out, hi = (double) (j + 1) * n_in / n_out;
  double ov = MIN (hi, k + 1.0) - MAX (lo, (double) k);
  return ov > 0 ? ov * n_out / n_in : 0;
}

static void
test_resize_reference (void)
{
  HoneRng rng;
  hone_rng_init (&rng, 7, 0);
  const int sizes[][4] = {
    { 7, 9, 13, 4 }, { 5, 5, 5, 5 }, { 28, 28, 64, 64 }, { 30, 17, 7, 40 }, { 3, 100, 1, 1 },
    { 1, 1, 6, 3 }, { 64, 48, 28, 28 },
  };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int ih = sizes[s][0], iw = sizes[s][1], oh = sizes[s][2], ow = sizes[s][3];
      for (int c = 1; c <= 3; c += 2)
        {
          g_autofree float *in = g_new (float, c * ih * iw);
          g_autofree float *out = g_new (float, c * oh * ow);
          g_autofree float *ref = g_new (float, c * oh * ow);
          hone_test_fill_uniform (&rng, in, c * ih * iw, 0, 1);
          hone_image_resize (out, oh, ow, in, c, ih, iw);
          for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++)
              for (int j = 0; j < ow; j++)
                {
                  double sum = 0;
                  for (int y = 0; y < ih; y++)
                    {
                      double wy = ref_weight_1d (i, y, ih, oh);
                      if (wy == 0)
                        continue;
                      for (int x = 0; x < iw; x++)
                        sum += wy * ref_weight_1d (j, x, iw, ow) * in[(ch * ih + y) * iw + x];
                    }
                  ref[(ch * oh + i) * ow + j] = (float) sum;
                }
          hone_test_assert_close ("resize vs 2-D reference", out, ref, c * oh * ow, 1e-5, 1e-6);
        }
    }
}

static void
test_convert_resize (void)
{
  /* converting before or after resizing agrees (both are linear) */
  HoneRng rng;
  hone_rng_init (&rng, 11, 0);
  float rgb[3 * 6 * 10];
  hone_test_fill_uniform (&rng, rgb, 3 * 6 * 10, 0, 1);
  float a[1 * 4 * 15], grey[6 * 10], b[1 * 4 * 15];
  hone_image_convert_resize (a, 1, 4, 15, rgb, 3, 6, 10);
  hone_image_convert (grey, 1, rgb, 3, 6, 10);
  hone_image_resize (b, 4, 15, grey, 1, 6, 10);
  hone_test_assert_close ("rgb->grey resize", a, b, 4 * 15, 0, 0);
  float c3[3 * 9 * 5], small[1 * 9 * 5], d3[3 * 9 * 5];
  hone_image_convert_resize (c3, 3, 9, 5, grey, 1, 6, 10);
  hone_image_resize (small, 9, 5, grey, 1, 6, 10);
  hone_image_convert (d3, 3, small, 1, 9, 5);
  hone_test_assert_close ("grey->rgb resize", c3, d3, 3 * 9 * 5, 0, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = hone_test_make_tmp_dir ("hone-test-image-XXXXXX");

  g_test_add_func ("/engine/image/png/grey", test_png_grey);
  g_test_add_func ("/engine/image/png/low-depth-grey", test_png_low_depth_grey);
  g_test_add_func ("/engine/image/png/alpha-rgb", test_png_alpha_and_rgb);
  g_test_add_func ("/engine/image/png/palette", test_png_palette);
  g_test_add_func ("/engine/image/png/16-bit", test_png_16bit);
  g_test_add_func ("/engine/image/png/interlaced", test_png_interlaced);
  g_test_add_func ("/engine/image/png/limits", test_png_limits);
  g_test_add_func ("/engine/image/png/corrupt", test_png_corrupt);
  g_test_add_func ("/engine/image/jpeg/grey-rgb", test_jpeg_grey_rgb);
  g_test_add_func ("/engine/image/jpeg/cmyk", test_jpeg_cmyk);
  g_test_add_func ("/engine/image/jpeg/scaling", test_jpeg_scaling);
  g_test_add_func ("/engine/image/jpeg/corrupt", test_jpeg_corrupt);
  g_test_add_func ("/engine/image/probe", test_probe);
  g_test_add_func ("/engine/image/mutations", test_mutations);
  g_test_add_func ("/engine/image/convert", test_convert);
  g_test_add_func ("/engine/image/resize/golden", test_resize_golden);
  g_test_add_func ("/engine/image/resize/reference", test_resize_reference);
  g_test_add_func ("/engine/image/convert-resize", test_convert_resize);

  int status = g_test_run ();
  hone_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
