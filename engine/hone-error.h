/* hone-error.h: the HONE_ERROR domain for everything a user can cause.
 *
 * A bad file, a wrong shape, a setting out of range or a diverging run comes
 * back as a GError in this domain whose message names the file, tensor, node
 * or setting and says what to do.  Programmer errors are g_return_if_fail. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HONE_ERROR (hone_error_quark ())

typedef enum
{
  HONE_ERROR_FAILED,        /* anything without a better code */
  HONE_ERROR_SHAPE,         /* shapes that do not fit together */
  HONE_ERROR_ATTRIBUTE,     /* an attribute or combination an op does not support */
  HONE_ERROR_FORMAT,        /* a file that is not what it claims to be */
  HONE_ERROR_MISMATCH,      /* a weights file whose names or shapes do not fit the model */
  HONE_ERROR_IO,            /* reading or writing a file failed */
  HONE_ERROR_INVALID,       /* a setting out of range */
  HONE_ERROR_DIVERGED,      /* a non-finite loss or gradient */
  HONE_ERROR_UNSUPPORTED,   /* a model or op this engine does not handle */
  HONE_ERROR_CANCELLED,
} HoneErrorCode;

GQuark hone_error_quark (void);

G_END_DECLS
