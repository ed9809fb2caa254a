/* hone-idx.c: IDX files through zlib's gz* functions (which read plain
 * files transparently), see hone-idx.h.
 *
 * This file does not interpret the elements. */
#include "hone-file-private.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "data/hone-idx.h"

/* deflate's largest expansion (RFC 1951 stored/fixed blocks; zlib's
 * technical details: "the maximum compression ratio is 1032:1"). */
#define DEFLATE_MAX_RATIO 1032

struct _HoneIdxFile
{
  char *display;
  gzFile gz;
  int rank;
  int64_t dims[HONE_IDX_MAX_RANK];
  gsize numel;
  gsize consumed;      /* elements read so far */
};

static const char *
type_name (int type)
{
  switch (type)
    {
    case 0x09: return "signed bytes";
    case 0x0b: return "16-bit integers";
    case 0x0c: return "32-bit integers";
    case 0x0d: return "32-bit floats";
    case 0x0e: return "64-bit floats";
    default: return "an unknown element type";
    }
}

static char *
dims_text (const int64_t *dims, int rank)
{
  GString *s = g_string_new ("(");
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", dims[i]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* Reads exactly n bytes; FALSE at an early end or an error. */
static gboolean
gz_read_all (gzFile gz, guint8 *buf, gsize n, gsize *got)
{
  gsize done = 0;
  while (done < n)
    {
      unsigned int want = (unsigned int) MIN (n - done, (gsize) 1 << 30);
      int r = gzread (gz, buf + done, want);
      if (r <= 0)
        break;
      done += (gsize) r;
    }
  if (got)
    *got = done;
  return done == n;
}

static void
set_gz_error (HoneIdxFile *f, const char *what, GError **error)
{
  int errnum = 0;
  const char *msg = gzerror (f->gz, &errnum);
  /* zlib prefixes the file's name, "<fd:N>" for gzdopen: ours is in front */
  if (g_str_has_prefix (msg, "<fd:") && strstr (msg, ">: "))
    msg = strstr (msg, ">: ") + 3;
  if (errnum == Z_ERRNO)
    g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", f->display,
                 g_strerror (errno));
  else if (errnum != Z_OK && errnum != Z_BUF_ERROR)
    g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is corrupt (%s): %s", f->display,
                 what, msg);
  else
    g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "'%s' is truncated: it ends %s",
                 f->display, what);
}

HoneIdxFile *
hone_idx_open (const char *path, int rank, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (rank >= 1 && rank <= HONE_IDX_MAX_RANK, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *display = g_filename_display_name (path);
  guint64 file_size;
  int fd = hone_file_open_regular (path, display, &file_size, error);
  if (fd < 0)
    return NULL;
  guint8 magic2[2] = { 0, 0 };
  gboolean gzipped = file_size >= 18 && pread (fd, magic2, 2, 0) == 2
                     && magic2[0] == 0x1f && magic2[1] == 0x8b;
  guint32 isize = 0;
  if (gzipped)
    {
      guint8 t[4];
      if (pread (fd, t, 4, (off_t) file_size - 4) != 4)
        {
          int e = errno;
          g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': %s", display,
                       g_strerror (e));
          close (fd);
          return NULL;
        }
      isize = (guint32) t[0] | ((guint32) t[1] << 8) | ((guint32) t[2] << 16)
              | ((guint32) t[3] << 24);
    }

  gzFile gz = gzdopen (fd, "rb");
  if (!gz)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED, "Could not read '%s': out of memory",
                   display);
      close (fd);
      return NULL;
    }
  gzbuffer (gz, 1 << 17);
  HoneIdxFile *f = g_new0 (HoneIdxFile, 1);
  f->display = g_steal_pointer (&display);
  f->gz = gz;

  guint8 magic[4];
  if (!gz_read_all (gz, magic, 4, NULL))
    {
      set_gz_error (f, "inside its 4-byte IDX magic", error);
      hone_idx_close (f);
      return NULL;
    }
  if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > HONE_IDX_MAX_RANK
      || (magic[2] != 0x08 && magic[2] != 0x09 && (magic[2] < 0x0b || magic[2] > 0x0e)))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is not an IDX file (it starts with %02x %02x %02x %02x)", f->display,
                   magic[0], magic[1], magic[2], magic[3]);
      hone_idx_close (f);
      return NULL;
    }
  if (magic[2] != 0x08)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' holds %s; Hone reads IDX files of unsigned bytes (type 0x08)",
                   f->display, type_name (magic[2]));
      hone_idx_close (f);
      return NULL;
    }
  if (magic[3] != rank)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' has %d dimensions where %d were expected (%s)", f->display, magic[3],
                   rank, rank == 1 ? "an IDX labels file, idx1" : "an IDX images file, idx3");
      hone_idx_close (f);
      return NULL;
    }
  f->rank = rank;
  guint8 raw[4 * HONE_IDX_MAX_RANK];
  if (!gz_read_all (gz, raw, 4 * (gsize) rank, NULL))
    {
      set_gz_error (f, "inside its IDX header", error);
      hone_idx_close (f);
      return NULL;
    }
  guint64 numel = 1;
  gboolean overflow = FALSE;
  for (int i = 0; i < rank; i++)
    {
      const guint8 *p = raw + 4 * i;
      f->dims[i] = ((int64_t) p[0] << 24) | ((int64_t) p[1] << 16) | ((int64_t) p[2] << 8) | p[3];
      if (!g_uint64_checked_mul (&numel, numel, (guint64) f->dims[i]))
        overflow = TRUE;
    }
  guint64 header = 4 + 4 * (guint64) rank;
  guint64 total = header + numel;
  g_autofree char *shape = dims_text (f->dims, rank);
  if (overflow || numel > G_MAXSIZE / 2)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' has an impossible IDX header: %s elements", f->display, shape);
      hone_idx_close (f);
      return NULL;
    }
  if (!gzipped && total != file_size)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' is %" G_GUINT64_FORMAT " bytes but its IDX header %s needs %"
                   G_GUINT64_FORMAT ": the file is %s", f->display, file_size, shape, total,
                   total > file_size ? "truncated" : "longer than its header says");
      hone_idx_close (f);
      return NULL;
    }
  if (gzipped && ((guint32) total != isize || total / DEFLATE_MAX_RATIO > file_size))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "'%s' unpacks to %u bytes (modulo 2^32, from its gzip trailer) but its IDX "
                   "header %s needs %" G_GUINT64_FORMAT ": the file is truncated or does not "
                   "match its header", f->display, isize, shape, total);
      hone_idx_close (f);
      return NULL;
    }
  f->numel = (gsize) numel;
  return f;
}

void
hone_idx_close (HoneIdxFile *f)
{
  if (!f)
    return;
  if (f->gz)
    gzclose (f->gz);
  g_free (f->display);
  g_free (f);
}

const int64_t *
hone_idx_dims (const HoneIdxFile *f)
{
  g_return_val_if_fail (f != NULL, NULL);
  return f->dims;
}

gsize
hone_idx_numel (const HoneIdxFile *f)
{
  g_return_val_if_fail (f != NULL, 0);
  return f->numel;
}

gboolean
hone_idx_read (HoneIdxFile *f, guint8 *buf, gsize n, GError **error)
{
  g_return_val_if_fail (f != NULL, FALSE);
  g_return_val_if_fail (n <= f->numel - f->consumed, FALSE);
  guint8 scratch[4096];
  gsize done = 0;
  while (done < n)
    {
      gsize want = buf ? n - done : MIN (n - done, sizeof scratch);
      gsize got = 0;
      gboolean ok = gz_read_all (f->gz, buf ? buf + done : scratch, want, &got);
      done += got;
      if (!ok)
        {
          g_autofree char *where = g_strdup_printf (
            "after %" G_GSIZE_FORMAT " of the %" G_GSIZE_FORMAT " bytes of data its header "
            "describes", f->consumed + done, f->numel);
          set_gz_error (f, where, error);
          f->consumed += done;
          return FALSE;
        }
    }
  f->consumed += n;
  return TRUE;
}

gboolean
hone_idx_finish (HoneIdxFile *f, GError **error)
{
  g_return_val_if_fail (f != NULL && f->consumed == f->numel, FALSE);
  guint8 extra;
  int r = gzread (f->gz, &extra, 1);
  if (r != 0)
    {
      if (r < 0)
        set_gz_error (f, "after its data", error);
      else
        g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                     "'%s' holds more data than its IDX header describes", f->display);
      return FALSE;
    }
  int errnum = 0;
  gzerror (f->gz, &errnum);
  if (errnum != Z_OK)
    {
      set_gz_error (f, "at its end", error);
      return FALSE;
    }
  return TRUE;
}

guint8 *
hone_idx_read_data (HoneIdxFile *f, GError **error)
{
  g_return_val_if_fail (f != NULL && f->consumed == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  guint8 *data = g_try_malloc (MAX (f->numel, 1));
  if (!data)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FAILED,
                   "Could not read '%s': out of memory for %" G_GSIZE_FORMAT " bytes", f->display,
                   f->numel);
      return NULL;
    }
  if (!hone_idx_read (f, data, f->numel, error) || !hone_idx_finish (f, error))
    {
      g_free (data);
      return NULL;
    }
  return data;
}
