/* hone-tensor.h: shapes and tensor views.
 *
 * Every tensor in Hone is float32, contiguous, row-major (NCHW for images).
 * A HoneTensor is a view: it never owns its data.  Storage lives in the
 * graph's arenas (parameters, gradients, activations). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define HONE_MAX_RANK 8

typedef struct
{
  int rank;
  int64_t d[HONE_MAX_RANK];
} HoneShape;

typedef struct
{
  float *data;          /* not owned; NULL when the tensor is not needed */
  HoneShape shape;
} HoneTensor;

static inline int64_t
hone_shape_numel (const HoneShape *s)
{
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++)
    n *= s->d[i];
  return n;
}

static inline int64_t
hone_tensor_numel (const HoneTensor *t)
{
  return hone_shape_numel (&t->shape);
}

/* hone_shape_make (&s, 3, (int64_t[]) {C, H, W}) */
static inline HoneShape
hone_shape_make (int rank, const int64_t *d)
{
  HoneShape s = { .rank = rank };
  for (int i = 0; i < rank && i < HONE_MAX_RANK; i++)
    s.d[i] = d[i];
  return s;
}

#define HONE_SHAPE(...) \
  hone_shape_make ((int) (sizeof ((int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t)), \
                   (int64_t[]) { __VA_ARGS__ })

gboolean hone_shape_equal (const HoneShape *a, const HoneShape *b);

/* Writes "(2, 3, 4)" into buf (at least 128 bytes); returns buf. */
char *hone_shape_to_string (const HoneShape *s, char *buf, gsize size);

/* The shape with a leading batch dimension n. */
HoneShape hone_shape_with_batch (const HoneShape *per_sample, int64_t n);

/* Multiplies sizes and returns FALSE on overflow past G_MAXINT64 / 8. */
gboolean hone_shape_numel_checked (const HoneShape *s, int64_t *out);

/* Numpy/ONNX multidirectional broadcasting of a and b into out.
 * Returns FALSE when the shapes are not broadcastable. */
gboolean hone_shape_broadcast (const HoneShape *a, const HoneShape *b, HoneShape *out);

G_END_DECLS
