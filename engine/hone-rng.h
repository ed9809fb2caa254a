/* hone-rng.h: a small, fast, reproducible random number generator.
 *
 * PCG32 (O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically
 * Good Algorithms for Random Number Generation", 2014).  The whole state is
 * two integers, so checkpoints save it exactly and a run resumes bit for bit.
 * Not for cryptography. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct
{
  uint64_t state;
  uint64_t inc;
} HoneRng;

void     hone_rng_init    (HoneRng *rng, uint64_t seed, uint64_t stream);
uint32_t hone_rng_next    (HoneRng *rng);
/* Uniform in [0, 1). */
float    hone_rng_uniform (HoneRng *rng);
/* Uniform integer in [0, n), unbiased. */
uint32_t hone_rng_below   (HoneRng *rng, uint32_t n);
/* Standard normal (Box-Muller). */
float    hone_rng_normal  (HoneRng *rng);
/* Fisher-Yates shuffle of n ints. */
void     hone_rng_shuffle (HoneRng *rng, int *items, int n);

G_END_DECLS
