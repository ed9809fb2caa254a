/* hone-bytes-private.h: reading numbers out of file bytes, for the model
 * file readers (safetensors, ONNX): little-endian loads that need no
 * alignment, and the exact conversions of the 16-bit float formats to
 * float.  Nothing here checks sizes: the callers have. */
#pragma once

#include <glib.h>
#include <string.h>

static inline guint16
hone_load_le16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static inline guint32
hone_load_le32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
hone_load_le64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

static inline float
hone_bits_to_float (guint32 bits)
{
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

/* IEEE 754 binary16 to binary32, exact: every binary16 value is a
 * binary32 value (subnormals become normal numbers). */
static inline float
hone_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000u) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  if (exp == 31)                                  /* inf, NaN (payload kept) */
    return hone_bits_to_float (sign | 0x7f800000u | (mant << 13));
  if (exp == 0)
    {
      if (mant == 0)
        return hone_bits_to_float (sign);
      /* mant * 2^-24: shift the leading one up to bit 10 */
      int e = -14;
      while (!(mant & 0x400))
        {
          mant <<= 1;
          e--;
        }
      return hone_bits_to_float (sign | ((guint32) (e + 127) << 23) | ((mant & 0x3ff) << 13));
    }
  return hone_bits_to_float (sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

/* bfloat16 is the top half of a binary32. */
static inline float
hone_bfloat16_to_float (guint16 h)
{
  return hone_bits_to_float ((guint32) h << 16);
}
