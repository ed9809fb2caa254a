/* hone-test-images.c: PNG and JPEG writers and temporary folders for the
 * data tests, see hone-test-images.h. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jpeglib.h>

#include "hone-test-images.h"

static void
png_write_cb (png_structp png, png_bytep data, size_t n)
{
  g_byte_array_append (png_get_io_ptr (png), data, (guint) n);
}

static void
png_flush_cb (png_structp png)
{
}

GBytes *
hone_test_png_bytes (const HoneTestPng *p)
{
  GByteArray *out = g_byte_array_new ();
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  g_assert_nonnull (info);
  if (setjmp (png_jmpbuf (png)))
    g_error ("libpng could not write the test image");
  png_set_write_fn (png, out, png_write_cb, png_flush_cb);
  png_set_IHDR (png, info, p->width, p->height, p->bit_depth, p->color_type,
                p->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (p->palette)
    png_set_PLTE (png, info, p->palette, p->n_palette);
  if (p->trans)
    png_set_tRNS (png, info, p->trans, p->n_trans, NULL);
  png_write_info (png, info);
  if (p->bit_depth < 8)
    png_set_packing (png);
  if (p->bit_depth == 16 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    png_set_swap (png);

  int channels;
  switch (p->color_type)
    {
    case PNG_COLOR_TYPE_GRAY: channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_RGB: channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default: channels = 1; break;   /* palette indices */
    }
  gsize sample_bytes = p->bit_depth == 16 ? 2 : 1;
  gsize row_bytes = (gsize) p->width * channels * sample_bytes;
  png_bytep *rows = g_new (png_bytep, p->height);
  for (int y = 0; y < p->height; y++)
    rows[y] = (png_bytep) p->samples + (gsize) y * row_bytes;
  png_write_image (png, rows);
  png_write_end (png, NULL);
  png_destroy_write_struct (&png, &info);
  g_free (rows);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
hone_test_jpeg_bytes (int width, int height, int components, const guint8 *samples, int quality)
{
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_compress (&cinfo);
  unsigned char *buf = NULL;
  unsigned long size = 0;
  jpeg_mem_dest (&cinfo, &buf, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, quality, TRUE);
  /* no chroma subsampling, so solid colours come back exactly */
  for (int c = 0; c < cinfo.num_components; c++)
    cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  jpeg_start_compress (&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height)
    {
      JSAMPROW row = (JSAMPROW) samples + (gsize) cinfo.next_scanline * width * components;
      jpeg_write_scanlines (&cinfo, &row, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);
  GBytes *bytes = g_bytes_new (buf, size);
  free (buf);
  return bytes;
}

void
hone_test_write_data (const char *path, const void *data, gsize n)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, data, (gssize) n, &error));
  g_assert_no_error (error);
}

void
hone_test_write_bytes (const char *path, GBytes *bytes)
{
  gsize n;
  const void *data = g_bytes_get_data (bytes, &n);
  hone_test_write_data (path, data, n);
}

