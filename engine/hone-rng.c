/* hone-rng.c: PCG32 (XSH RR variant), see hone-rng.h. */
#include "config.h"

#include <math.h>

#include "hone-rng.h"

void
hone_rng_init (HoneRng *rng, uint64_t seed, uint64_t stream)
{
  rng->state = 0;
  rng->inc = (stream << 1u) | 1u;
  hone_rng_next (rng);
  rng->state += seed;
  hone_rng_next (rng);
}

uint32_t
hone_rng_next (HoneRng *rng)
{
  uint64_t old = rng->state;
  rng->state = old * 6364136223846793005ULL + rng->inc;
  uint32_t xorshifted = (uint32_t) (((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t) (old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float
hone_rng_uniform (HoneRng *rng)
{
  /* 24 random bits: every value is exactly representable, never 1.0 */
  return (float) (hone_rng_next (rng) >> 8) * (1.0f / 16777216.0f);
}

uint32_t
hone_rng_below (HoneRng *rng, uint32_t n)
{
  if (n <= 1)
    return 0;
  /* Lemire's debiased rejection: discard the low remainder. */
  uint32_t threshold = (uint32_t) (-n) % n;
  for (;;)
    {
      uint32_t r = hone_rng_next (rng);
      if (r >= threshold)
        return r % n;
    }
}

float
hone_rng_normal (HoneRng *rng)
{
  float u1 = hone_rng_uniform (rng);
  float u2 = hone_rng_uniform (rng);
  if (u1 < 1e-12f)
    u1 = 1e-12f;
  return sqrtf (-2.0f * logf (u1)) * cosf (2.0f * (float) G_PI * u2);
}

void
hone_rng_shuffle (HoneRng *rng, int *items, int n)
{
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) hone_rng_below (rng, (uint32_t) i + 1);
      int t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
}
