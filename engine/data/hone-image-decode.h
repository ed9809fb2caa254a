/* hone-image-decode.h: PNG (libpng) and JPEG (libjpeg-turbo) files to
 * planar float images, treating every file as hostile.
 *
 * Private to engine/data.  Sizes are checked against HONE_IMAGE_MAX_SIDE and
 * HONE_IMAGE_MAX_PIXELS (hone-dataset.h) from the header, before anything is
 * allocated for the pixels; library errors come back as GErrors (libpng
 * through setjmp/longjmp, libjpeg through its error_exit), never as an
 * exit.  A truncated JPEG (which libjpeg would pad with grey and only warn
 * about) is an error.
 *
 * Decoded images are (C, H, W) float32 in [0, 1], C = 1 (grey) or 3 (RGB):
 * PNG palette images become RGB, grey below 8 bits is expanded, 16-bit
 * samples keep their precision (divided by 65535), interlaced images are
 * de-interlaced, alpha is dropped (not composited) and gamma is ignored.
 * JPEG YCbCr becomes RGB; CMYK and YCCK are converted to RGB (Adobe's
 * inverted CMYK when the file has an Adobe marker, as Photoshop writes).
 *
 * This file does not resize or convert channels (hone-image.h). */
#pragma once

#include <glib.h>

#include "hone-error.h"

G_BEGIN_DECLS

typedef enum
{
  HONE_IMAGE_KIND_UNKNOWN,
  HONE_IMAGE_KIND_PNG,
  HONE_IMAGE_KIND_JPEG,
} HoneImageKind;

typedef struct
{
  HoneImageKind kind;
  int width;
  int height;
  int channels;   /* after decoding: 1 grey, 3 RGB */
} HoneImageInfo;

/* The largest file read whole for decoding. */
#define HONE_IMAGE_MAX_FILE_BYTES ((gsize) 1 << 30)

/* From the first bytes of a file (at least 8 for a sure answer). */
HoneImageKind hone_image_sniff (const guint8 *head, gsize n);

/* TRUE for a file name ending in .png, .jpg or .jpeg (any case). */
gboolean      hone_image_has_image_extension (const char *name);

/* Checks a file cheaply, without decoding pixels: a regular, non-empty
 * file, PNG or JPEG magic bytes, a readable header (PNG: the IHDR chunk and
 * its CRC; JPEG: libjpeg's jpeg_read_header) and a size within the limits.
 * HONE_ERROR_IO when the file cannot be read, else HONE_ERROR_FORMAT; the
 * message names the file. */
gboolean      hone_image_probe (const char *path, HoneImageInfo *info, GError **error);

/* Decodes a whole file or bytes in memory (`name` names them in messages).
 * Returns a newly allocated (C, H, W) image (g_free) and its info.
 * min_width / min_height (0: full size) is the size the caller will resize
 * to: a JPEG at least twice as large on both axes is decoded at 1/2, 1/4 or
 * 1/8 scale by libjpeg's DCT scaling, never below that size, which is much
 * faster and already averages; info then gives the decoded size. */
float        *hone_image_decode_file  (const char *path, int min_width, int min_height,
                                       HoneImageInfo *info, GError **error);
float        *hone_image_decode_bytes (const guint8 *bytes, gsize n, const char *name, int min_width,
                                       int min_height, HoneImageInfo *info, GError **error);

G_END_DECLS
