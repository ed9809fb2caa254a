/* hone-file-private.h: opening a file that may be hostile, shared by the
 * loaders (safetensors, IDX, images). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opens path read-only without blocking on a FIFO and checks that it is a
 * regular file; its size goes to *size.  Returns the descriptor (the caller
 * closes it), or -1 with HONE_ERROR_IO naming `display`. */
int hone_file_open_regular (const char *path, const char *display, guint64 *size, GError **error);

typedef enum
{
  HONE_FILE_OPEN_DEFAULT    = 0,
  /* Refuse a symbolic link as the last component (O_NOFOLLOW). */
  HONE_FILE_OPEN_NO_SYMLINK = 1 << 0,
} HoneFileOpenFlags;

/* hone_file_open_regular with flags; a refused symbolic link is
 * HONE_ERROR_FORMAT ("is a symbolic link"), not HONE_ERROR_IO. */
int hone_file_open_regular_full (const char *path, const char *display, HoneFileOpenFlags flags,
                                 guint64 *size, GError **error);

G_END_DECLS
