/* hone-image-decode.c: PNG and JPEG to planar floats, see hone-image-decode.h.
 *
 * libpng and libjpeg report errors by jumping out of the library: libpng
 * through png_longjmp to the setjmp in our decoder, libjpeg through the
 * error_exit hook, which longjmps too.  Everything a decoder allocates after
 * its setjmp lives in a heap-allocated job (never in automatic variables,
 * whose values are indeterminate after a longjmp), so the error path frees
 * it.  Before either library sees a PNG, its IHDR chunk is parsed here and
 * the size checked, so an absurd header never reaches an allocation.
 *
 * This file does not resize, convert channels or cache anything. */
#include "hone-file-private.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <zlib.h>

#include "data/hone-dataset.h"
#include "data/hone-image-decode.h"

static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

HoneImageKind
hone_image_sniff (const guint8 *head, gsize n)
{
  if (n >= 8 && memcmp (head, png_signature, 8) == 0)
    return HONE_IMAGE_KIND_PNG;
  /* SOI, then the first marker's 0xFF */
  if (n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
    return HONE_IMAGE_KIND_JPEG;
  return HONE_IMAGE_KIND_UNKNOWN;
}

gboolean
hone_image_has_image_extension (const char *name)
{
  const char *dot = strrchr (name, '.');
  if (!dot)
    return FALSE;
  return g_ascii_strcasecmp (dot, ".png") == 0 || g_ascii_strcasecmp (dot, ".jpg") == 0
         || g_ascii_strcasecmp (dot, ".jpeg") == 0;
}

static gboolean
check_size (const char *display, guint64 width, guint64 height, GError **error)
{
  if (width > HONE_IMAGE_MAX_SIDE || height > HONE_IMAGE_MAX_SIDE
      || width * height > HONE_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is %" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT " pixels, larger than "
                   "Hone's limit (%d pixels a side, %d megapixels)",
                   display, width, height, HONE_IMAGE_MAX_SIDE, HONE_IMAGE_MAX_PIXELS >> 20);
      return FALSE;
    }
  return TRUE;
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* The PNG specification (https://www.w3.org/TR/png/#11IHDR): the signature,
 * then IHDR first: length 13, "IHDR", width, height, bit depth, colour type,
 * compression, filter, interlace, CRC over type and data. */
/* file_size: the whole file's, of which b holds the first n bytes. */
static gboolean
png_parse_ihdr (const guint8 *b, gsize n, guint64 file_size, const char *display,
                HoneImageInfo *info, GError **error)
{
  static const guint8 ihdr_head[8] = { 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
  if (n < 33)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is truncated: it ends inside its PNG header", display);
      return FALSE;
    }
  if (memcmp (b + 8, ihdr_head, 8) != 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is not a valid PNG image: it does not start with an IHDR chunk", display);
      return FALSE;
    }
  if ((guint32) crc32 (0, b + 12, 17) != read_be32 (b + 29))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is not a valid PNG image: its IHDR chunk fails its checksum", display);
      return FALSE;
    }
  guint32 width = read_be32 (b + 16);
  guint32 height = read_be32 (b + 20);
  int depth = b[24];
  int ctype = b[25];
  gboolean depth_ok;
  switch (ctype)
    {
    case 0:
      depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
      break;
    case 3:
      depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
      break;
    case 2:
    case 4:
    case 6:
      depth_ok = depth == 8 || depth == 16;
      break;
    default:
      depth_ok = FALSE;
    }
  if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu || !depth_ok)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is not a valid PNG image: its header says %u x %u pixels, colour type "
                   "%d, bit depth %d", display, width, height, ctype, depth);
      return FALSE;
    }
  if (!check_size (display, width, height, error))
    return FALSE;
  /* deflate expands at most 1032:1 (zlib's technical details), so a file
   * too small for its pixels is cut short or a decompression bomb. */
  int samples = ctype == 2 ? 3 : ctype == 4 ? 2 : ctype == 6 ? 4 : 1;
  guint64 raw = ((guint64) width * samples * depth + 7) / 8 * height + height;
  if (file_size < raw / 1032)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is truncated: %" G_GUINT64_FORMAT " bytes cannot hold the %u x %u "
                   "pixels its header announces", display, file_size, width, height);
      return FALSE;
    }
  info->kind = HONE_IMAGE_KIND_PNG;
  info->width = (int) width;
  info->height = (int) height;
  info->channels = (ctype == 0 || ctype == 4) ? 1 : 3;
  return TRUE;
}

/* ---- PNG --------------------------------------------------------------- */

typedef struct
{
  const guint8 *bytes;
  gsize size;
  gsize pos;
  char message[256];
  guint8 *pixels;      /* (height, rowbytes) as libpng delivers them */
  png_bytep *rows;     /* (height) into pixels */
  float *out;          /* (C, H, W) */
} PngJob;

static void
png_on_error (png_structp png, png_const_charp msg)
{
  PngJob *job = png_get_error_ptr (png);
  g_strlcpy (job->message, msg, sizeof job->message);
  png_longjmp (png, 1);
}

static void
png_on_warning (png_structp png, png_const_charp msg)
{
  /* Benign problems (an ancillary chunk's bad CRC, an unknown chunk): the
   * pixels are fine. */
}

static void
png_on_read (png_structp png, png_bytep data, size_t len)
{
  PngJob *job = png_get_io_ptr (png);
  if (len > job->size - job->pos)
    png_error (png, "the file is truncated");
  memcpy (data, job->bytes + job->pos, len);
  job->pos += len;
}

static float *
decode_png (const guint8 *bytes, gsize n, const char *display, HoneImageInfo *info, GError **error)
{
  HoneImageInfo header;
  if (!png_parse_ihdr (bytes, n, n, display, &header, error))
    return NULL;

  PngJob *job = g_new0 (PngJob, 1);
  job->bytes = bytes;
  job->size = n;
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, job, png_on_error,
                                            png_on_warning);
  png_infop pinfo = png ? png_create_info_struct (png) : NULL;
  if (!pinfo)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      g_free (job);
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "Could not decode '%s': out of memory",
                   display);
      return NULL;
    }
  if (setjmp (png_jmpbuf (png)))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is not a valid PNG image: %s",
                   display, job->message);
      png_destroy_read_struct (&png, &pinfo, NULL);
      g_free (job->rows);
      g_free (job->pixels);
      g_free (job->out);
      g_free (job);
      return NULL;
    }

  /* A second guard behind png_parse_ihdr: libpng refuses larger sides. */
  png_set_user_limits (png, HONE_IMAGE_MAX_SIDE, HONE_IMAGE_MAX_SIDE);
  png_set_read_fn (png, job, png_on_read);
  png_read_info (png, pinfo);

  png_uint_32 width, height;
  int depth, ctype, interlace;
  png_get_IHDR (png, pinfo, &width, &height, &depth, &ctype, &interlace, NULL, NULL);
  if (ctype == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8 (png);
  if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid (png, pinfo, PNG_INFO_tRNS))
    png_set_strip_alpha (png);
  png_set_interlace_handling (png);
  png_read_update_info (png, pinfo);

  int channels = png_get_channels (png, pinfo);             /* 1 .. 4 */
  int bytes_per_sample = png_get_bit_depth (png, pinfo) == 16 ? 2 : 1;
  gsize rowbytes = png_get_rowbytes (png, pinfo);
  if (channels < 1 || channels > 4 || rowbytes < (gsize) width * channels * bytes_per_sample)
    png_error (png, "unexpected layout after transformations");
  job->pixels = g_try_malloc ((gsize) rowbytes * height);
  job->rows = g_try_new (png_bytep, height);
  if (!job->pixels || !job->rows)
    png_error (png, "out of memory");
  for (png_uint_32 y = 0; y < height; y++)
    job->rows[y] = job->pixels + (gsize) y * rowbytes;
  png_read_image (png, job->rows);
  int out_c = channels <= 2 ? 1 : 3;   /* alpha, if any is left, is dropped below */
  job->out = g_try_new (float, (gsize) out_c * width * height);
  if (!job->out)
    png_error (png, "out of memory");

  gsize plane = (gsize) width * height;
  int stride = channels * bytes_per_sample;
  for (png_uint_32 y = 0; y < height; y++)
    {
      const guint8 *row = job->rows[y];
      for (int c = 0; c < out_c; c++)
        {
          float *dst = job->out + c * plane + (gsize) y * width;
          const guint8 *src = row + c * bytes_per_sample;
          if (bytes_per_sample == 2)
            for (png_uint_32 x = 0; x < width; x++)
              dst[x] = (float) ((src[x * stride] << 8) | src[x * stride + 1]) * (1.0f / 65535.0f);
          else
            for (png_uint_32 x = 0; x < width; x++)
              dst[x] = (float) src[x * stride] * (1.0f / 255.0f);
        }
    }

  float *out = job->out;
  info->kind = HONE_IMAGE_KIND_PNG;
  info->width = (int) width;
  info->height = (int) height;
  info->channels = out_c;
  png_destroy_read_struct (&png, &pinfo, NULL);
  g_free (job->rows);
  g_free (job->pixels);
  g_free (job);
  return out;
}

/* ---- JPEG -------------------------------------------------------------- */

typedef struct
{
  struct jpeg_error_mgr pub;   /* first: libjpeg sees only this */
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} JpegError;

typedef struct
{
  JpegError err;
  struct jpeg_decompress_struct cinfo;
  FILE *fp;          /* probe only */
  guint8 *row;       /* (output_width, output_components) */
  float *out;        /* (C, H, W) */
} JpegJob;

static void
jpeg_on_error_exit (j_common_ptr cinfo)
{
  JpegError *e = (JpegError *) cinfo->err;
  cinfo->err->format_message (cinfo, e->message);
  longjmp (e->jump, 1);
}

static void
jpeg_on_emit_message (j_common_ptr cinfo, int level)
{
  if (level >= 0)
    return;   /* trace messages */
  /* Warnings that mean the pixels are wrong: libjpeg would go on with grey
   * or garbage.  Others (extraneous bytes, an unknown JFIF version, a bad
   * ICC marker) leave the image intact and are ignored. */
  switch (cinfo->err->msg_code)
    {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
      jpeg_on_error_exit (cinfo);
      break;
    default:
      break;
    }
}

/* Ends decoding with our own message (never returns). */
G_NORETURN static void
jpeg_fail (JpegJob *job, const char *message)
{
  g_strlcpy (job->err.message, message, sizeof job->err.message);
  longjmp (job->err.jump, 1);
}

static JpegJob *
jpeg_job_new (void)
{
  JpegJob *job = g_new0 (JpegJob, 1);
  job->cinfo.err = jpeg_std_error (&job->err.pub);
  job->err.pub.error_exit = jpeg_on_error_exit;
  job->err.pub.emit_message = jpeg_on_emit_message;
  return job;
}

static void
jpeg_job_free (JpegJob *job)
{
  jpeg_destroy_decompress (&job->cinfo);
  if (job->fp)
    fclose (job->fp);
  g_free (job->row);
  g_free (job->out);
  g_free (job);
}

static gboolean
jpeg_check_header (JpegJob *job, const char *display, HoneImageInfo *info, GError **error)
{
  struct jpeg_decompress_struct *cinfo = &job->cinfo;
  switch (cinfo->jpeg_color_space)
    {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
    case JCS_CMYK:
    case JCS_YCCK:
      break;
    default:
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is a JPEG image in a colour space Hone does not read (%d components)",
                   display, cinfo->num_components);
      return FALSE;
    }
  if (!check_size (display, cinfo->image_width, cinfo->image_height, error))
    return FALSE;
  info->kind = HONE_IMAGE_KIND_JPEG;
  info->width = (int) cinfo->image_width;
  info->height = (int) cinfo->image_height;
  info->channels = cinfo->jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
  return TRUE;
}

static float *
decode_jpeg (const guint8 *bytes, gsize n, const char *display, int min_width, int min_height,
             HoneImageInfo *info, GError **error)
{
  JpegJob *job = jpeg_job_new ();
  struct jpeg_decompress_struct *cinfo = &job->cinfo;
  if (setjmp (job->err.jump))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is not a valid JPEG image: %s",
                   display, job->err.message);
      jpeg_job_free (job);
      return NULL;
    }
  jpeg_create_decompress (cinfo);
  jpeg_mem_src (cinfo, bytes, (unsigned long) n);
  jpeg_read_header (cinfo, TRUE);
  HoneImageInfo header;
  if (!jpeg_check_header (job, display, &header, error))
    {
      jpeg_job_free (job);
      return NULL;
    }

  gboolean cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
  if (cinfo->jpeg_color_space == JCS_GRAYSCALE)
    cinfo->out_color_space = JCS_GRAYSCALE;
  else if (cmyk)
    cinfo->out_color_space = JCS_CMYK;
  else
    cinfo->out_color_space = JCS_RGB;

  /* DCT scaling: the largest 1/d that keeps both sides >= the target. */
  unsigned int denom = 1;
  if (min_width > 0 && min_height > 0)
    for (unsigned int d = 8; d >= 2; d /= 2)
      if ((cinfo->image_width + d - 1) / d >= (unsigned int) min_width
          && (cinfo->image_height + d - 1) / d >= (unsigned int) min_height)
        {
          denom = d;
          break;
        }
  cinfo->scale_num = 1;
  cinfo->scale_denom = denom;

  jpeg_start_decompress (cinfo);
  int width = (int) cinfo->output_width;
  int height = (int) cinfo->output_height;
  int comps = cinfo->output_components;
  int out_c = comps == 1 ? 1 : 3;
  if (width < 1 || height < 1 || (comps != 1 && comps != 3 && comps != 4)
      || (gsize) width > (gsize) header.width || (gsize) height > (gsize) header.height)
    jpeg_fail (job, "unexpected output layout");
  job->row = g_try_malloc ((gsize) width * comps);
  job->out = g_try_new (float, (gsize) out_c * width * height);
  if (!job->row || !job->out)
    jpeg_fail (job, "out of memory");

  /* Adobe's CMYK, as Photoshop writes it (and libjpeg passes it through),
   * stores 255 - ink; without the Adobe marker, ink itself.  RGB = (1 - C)
   * (1 - K) etc. with C, K the ink. */
  gboolean inverted = cinfo->saw_Adobe_marker;
  gsize plane = (gsize) width * height;
  while (cinfo->output_scanline < cinfo->output_height)
    {
      int y = (int) cinfo->output_scanline;
      JSAMPROW rows[1] = { job->row };
      if (jpeg_read_scanlines (cinfo, rows, 1) != 1)
        jpeg_fail (job, "the file is truncated");
      const guint8 *p = job->row;
      float *r = job->out + (gsize) y * width;
      if (comps == 1)
        for (int x = 0; x < width; x++)
          r[x] = p[x] * (1.0f / 255.0f);
      else if (comps == 3)
        for (int c = 0; c < 3; c++)
          for (int x = 0; x < width; x++)
            r[c * plane + x] = p[x * 3 + c] * (1.0f / 255.0f);
      else
        for (int x = 0; x < width; x++)
          {
            float k = p[x * 4 + 3] * (1.0f / 255.0f);
            for (int c = 0; c < 3; c++)
              {
                float ink = p[x * 4 + c] * (1.0f / 255.0f);
                r[c * plane + x] = inverted ? ink * k : (1.0f - ink) * (1.0f - k);
              }
          }
    }
  jpeg_finish_decompress (cinfo);

  float *out = job->out;
  job->out = NULL;
  info->kind = HONE_IMAGE_KIND_JPEG;
  info->width = width;
  info->height = height;
  info->channels = out_c;
  jpeg_job_free (job);
  return out;
}

/* ---- files ------------------------------------------------------------- */

/* Opens a regular file for reading; its size in *size. */
static int
open_regular (const char *path, const char *display, gsize *size, GError **error)
{
  guint64 file_size;
  int fd = hone_file_open_regular (path, display, &file_size, error);
  if (fd < 0)
    return -1;
  if (file_size == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is empty (0 bytes)", display);
      close (fd);
      return -1;
    }
  *size = (gsize) file_size;
  return fd;
}

/* Reads up to n bytes at offset; the count read, -1 with errno on error. */
static gssize
read_at (int fd, guint8 *buf, gsize n, off_t offset)
{
  gsize done = 0;
  while (done < n)
    {
      gssize r = pread (fd, buf + done, n - done, offset + (off_t) done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;
      done += (gsize) r;
    }
  return (gssize) done;
}

static gboolean
unknown_kind_error (const char *display, GError **error)
{
  g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is not a PNG or JPEG image", display);
  return FALSE;
}

gboolean
hone_image_probe (const char *path, HoneImageInfo *info, GError **error)
{
  g_return_val_if_fail (path != NULL && info != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_autofree char *display = g_filename_display_name (path);
  gsize size;
  int fd = open_regular (path, display, &size, error);
  if (fd < 0)
    return FALSE;

  guint8 head[33];
  gssize got = read_at (fd, head, sizeof head, 0);
  if (got < 0)
    {
      int e = errno;
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                   g_strerror (e));
      close (fd);
      return FALSE;
    }
  switch (hone_image_sniff (head, (gsize) got))
    {
    case HONE_IMAGE_KIND_PNG:
      close (fd);
      return png_parse_ihdr (head, (gsize) got, size, display, info, error);
    case HONE_IMAGE_KIND_JPEG:
      break;
    default:
      close (fd);
      return unknown_kind_error (display, error);
    }

  JpegJob *job = jpeg_job_new ();
  job->fp = fdopen (fd, "rb");
  if (!job->fp)
    {
      int e = errno;
      close (fd);
      jpeg_job_free (job);
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                   g_strerror (e));
      return FALSE;
    }
  if (setjmp (job->err.jump))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is not a valid JPEG image: %s",
                   display, job->err.message);
      jpeg_job_free (job);
      return FALSE;
    }
  jpeg_create_decompress (&job->cinfo);
  jpeg_stdio_src (&job->cinfo, job->fp);
  jpeg_read_header (&job->cinfo, TRUE);
  gboolean ok = jpeg_check_header (job, display, info, error);
  jpeg_job_free (job);
  return ok;
}

float *
hone_image_decode_bytes (const guint8 *bytes, gsize n, const char *name, int min_width,
                         int min_height, HoneImageInfo *info, GError **error)
{
  g_return_val_if_fail (bytes != NULL || n == 0, NULL);
  g_return_val_if_fail (name != NULL && info != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (n == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is empty (0 bytes)", name);
      return NULL;
    }
  switch (hone_image_sniff (bytes, n))
    {
    case HONE_IMAGE_KIND_PNG:
      return decode_png (bytes, n, name, info, error);
    case HONE_IMAGE_KIND_JPEG:
      return decode_jpeg (bytes, n, name, min_width, min_height, info, error);
    default:
      unknown_kind_error (name, error);
      return NULL;
    }
}

float *
hone_image_decode_file (const char *path, int min_width, int min_height, HoneImageInfo *info,
                        GError **error)
{
  g_return_val_if_fail (path != NULL && info != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autofree char *display = g_filename_display_name (path);
  gsize size;
  int fd = open_regular (path, display, &size, error);
  if (fd < 0)
    return NULL;
  if (size > HONE_IMAGE_MAX_FILE_BYTES)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is %" G_GSIZE_FORMAT " MiB, more than Hone reads for one image (%"
                   G_GSIZE_FORMAT " MiB)", display, size >> 20, HONE_IMAGE_MAX_FILE_BYTES >> 20);
      close (fd);
      return NULL;
    }
  guint8 *bytes = g_try_malloc (size);
  if (!bytes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "Could not read '%s': out of memory",
                   display);
      close (fd);
      return NULL;
    }
  gssize got = read_at (fd, bytes, size, 0);
  int e = errno;
  close (fd);
  if (got < 0 || (gsize) got != size)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                   got < 0 ? g_strerror (e) : "the file shrank while being read");
      g_free (bytes);
      return NULL;
    }
  float *out = hone_image_decode_bytes (bytes, size, display, min_width, min_height, info, error);
  g_free (bytes);
  return out;
}
