/* hone-file-private.h: opening a file that may be hostile, shared by the
 * loaders (safetensors, IDX, images). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opens path read-only without blocking on a FIFO and checks that it is a
 * regular file; its size goes to *size.  Returns the descriptor (the caller
 * closes it), or -1 with HONE_ERROR_IO naming `display`. */
int hone_file_open_regular (const char *path, const char *display, guint64 *size, GError **error);

G_END_DECLS
