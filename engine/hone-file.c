/* hone-file.c: see hone-file-private.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hone-error.h"
#include "hone-file-private.h"

int
hone_file_open_regular (const char *path, const char *display, guint64 *size, GError **error)
{
  return hone_file_open_regular_full (path, display, HONE_FILE_OPEN_DEFAULT, size, error);
}

int
hone_file_open_regular_full (const char *path, const char *display, HoneFileOpenFlags flags,
                             guint64 *size, GError **error)
{
  /* O_NONBLOCK: a FIFO must not hang the open. */
  int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (flags & HONE_FILE_OPEN_NO_SYMLINK)
    oflags |= O_NOFOLLOW;
  int fd = g_open (path, oflags, 0);
  if (fd < 0)
    {
      int e = errno;
      if (e == ELOOP && (flags & HONE_FILE_OPEN_NO_SYMLINK))
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                       "Refusing to read '%s': it is a symbolic link", display);
          return -1;
        }
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not open '%s': %s", display,
                   g_strerror (e));
      return -1;
    }
  struct stat sb;
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "Could not read '%s': not a regular file",
                   display);
      close (fd);
      return -1;
    }
  *size = (guint64) sb.st_size;
  return fd;
}
