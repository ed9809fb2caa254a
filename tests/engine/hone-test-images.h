/* hone-test-images.h: writing PNG (libpng) and JPEG (libjpeg) images in
 * tests, so that every decoder path is checked against files made here,
 * pixel by pixel. */
#pragma once

#include <glib.h>
#include <png.h>

#include "hone-test-util.h"

G_BEGIN_DECLS

typedef struct
{
  int width;
  int height;
  int color_type;          /* PNG_COLOR_TYPE_* */
  int bit_depth;           /* 1, 2, 4, 8, 16 */
  gboolean interlace;      /* Adam7 */
  const void *samples;     /* (height, width, channels) row-major: one guint8 per sample (also
                            * for depths below 8: values 0 .. 2^depth - 1, or palette
                            * indices), guint16 in host order for depth 16 */
  const png_color *palette;
  int n_palette;
  const guint8 *trans;     /* tRNS: palette alpha values, or NULL */
  int n_trans;
} HoneTestPng;

/* The PNG file's bytes (g_bytes_unref). */
GBytes *hone_test_png_bytes (const HoneTestPng *png);

/* A JPEG of (height, width, components) interleaved samples; components 1
 * (grey), 3 (RGB) or 4 (CMYK, written with the Adobe marker as libjpeg
 * does, values as given). */
GBytes *hone_test_jpeg_bytes (int width, int height, int components, const guint8 *samples,
                              int quality);

/* g_file_set_contents, asserting success. */
void    hone_test_write_bytes (const char *path, GBytes *bytes);
void    hone_test_write_data  (const char *path, const void *data, gsize n);

G_END_DECLS
