/* hone-idx.h: reading IDX files (the MNIST format), gzip-compressed or plain.
 *
 * Private to engine/data.  An IDX file is a 4-byte magic (0, 0, element
 * type, number of dimensions), the dimensions as big-endian 32-bit
 * integers, then the elements in row-major order
 * (http://yann.lecun.com/exdb/mnist/).  Hone reads unsigned bytes (type
 * 0x08) only.
 *
 * Every size is checked against the file before anything is allocated: a
 * plain file must be exactly as long as its header says; for a gzip file
 * the trailer (ISIZE, the uncompressed length modulo 2^32) must agree with
 * the header, the header's length may not exceed what deflate can expand
 * the file to (1032:1), and decompression must end exactly where the
 * header says.  (A gzip file of several concatenated members, whose trailer
 * describes only the last, is therefore refused.)
 *
 * This file does not know about labels, classes or Fashion-MNIST. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"

G_BEGIN_DECLS

#define HONE_IDX_MAX_RANK 4

typedef struct _HoneIdxFile HoneIdxFile;

/* Opens the file and reads its header, which must have `rank` dimensions
 * and describe the file's size.  HONE_ERROR_IO when the file cannot be
 * read, HONE_ERROR_FORMAT naming the file otherwise. */
HoneIdxFile   *hone_idx_open  (const char *path, int rank, GError **error);
void           hone_idx_close (HoneIdxFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneIdxFile, hone_idx_close)

/* (rank) sizes from the header. */
const int64_t *hone_idx_dims (const HoneIdxFile *f);
/* The product of the sizes: the element count. */
gsize          hone_idx_numel (const HoneIdxFile *f);
/* Reads all the elements into a new buffer (g_free) of hone_idx_numel
 * bytes; an error naming the file when it ends early or goes on (as
 * hone_idx_read then hone_idx_finish). */
guint8        *hone_idx_read_data (HoneIdxFile *f, GError **error);
/* Reads the next n elements into buf (NULL: skips them); an error naming
 * the file when it ends early or is corrupt. */
gboolean       hone_idx_read      (HoneIdxFile *f, guint8 *buf, gsize n, GError **error);
/* Checks that the file ends, intact, after all the elements were read. */
gboolean       hone_idx_finish    (HoneIdxFile *f, GError **error);

G_END_DECLS
