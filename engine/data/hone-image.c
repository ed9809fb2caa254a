/* hone-image.c: channel conversion and separable resizing, see hone-image.h.
 *
 * A resize builds one filter table per axis (for each output index: the
 * first input index, the number of taps and their weights), then filters
 * the rows and then the columns.  Area weights are computed with exact
 * integer arithmetic (input pixel k covers [k * out, (k + 1) * out) in units
 * of 1 / out), so block boundaries never pick up rounding slivers. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "data/hone-image.h"

void
hone_image_convert (float *out, int out_c, const float *in, int in_c, int h, int w)
{
  g_assert ((in_c == 1 || in_c == 3) && (out_c == 1 || out_c == 3));
  gsize plane = (gsize) h * w;
  if (in_c == out_c)
    memcpy (out, in, plane * in_c * sizeof (float));
  else if (in_c == 1)
    {
      for (int c = 0; c < 3; c++)
        memcpy (out + c * plane, in, plane * sizeof (float));
    }
  else
    {
      const float *restrict r = in;
      const float *restrict g = in + plane;
      const float *restrict b = in + 2 * plane;
      float *restrict y = out;
      for (gsize i = 0; i < plane; i++)
        y[i] = HONE_LUMA_R * r[i] + HONE_LUMA_G * g[i] + HONE_LUMA_B * b[i];
    }
}

typedef struct
{
  int n_out;
  int max_taps;
  int *first;       /* (n_out) first input index */
  int *taps;        /* (n_out) inputs used, <= max_taps */
  float *weights;   /* (n_out, max_taps) */
} AxisFilter;

static void
axis_filter_init (AxisFilter *f, int n_in, int n_out)
{
  f->n_out = n_out;
  if (n_out >= n_in)
    f->max_taps = 2;
  else
    f->max_taps = (n_in + n_out - 1) / n_out + 1;
  f->first = g_new (int, n_out);
  f->taps = g_new (int, n_out);
  f->weights = g_new0 (float, (gsize) n_out * f->max_taps);

  if (n_out >= n_in)
    {
      /* Bilinear, align_corners=False: source coordinate (j + 0.5) * scale
       * - 0.5, clamped at 0 (PyTorch's area_pixel_compute_source_index) and
       * at the last pixel. */
      double scale = (double) n_in / n_out;
      for (int j = 0; j < n_out; j++)
        {
          double src = (j + 0.5) * scale - 0.5;
          if (src < 0)
            src = 0;
          int i0 = (int) src;
          if (i0 > n_in - 1)
            i0 = n_in - 1;
          double lambda = src - i0;
          float *w = f->weights + (gsize) j * f->max_taps;
          f->first[j] = i0;
          if (i0 + 1 < n_in && lambda > 0)
            {
              f->taps[j] = 2;
              w[0] = (float) (1.0 - lambda);
              w[1] = (float) lambda;
            }
          else
            {
              f->taps[j] = 1;
              w[0] = 1.0f;
            }
        }
      return;
    }

  /* Area: output j covers input [j * n_in, (j + 1) * n_in) in units of
   * 1 / n_out; input k covers [k * n_out, (k + 1) * n_out).  The weight is
   * the overlap over n_in (the output's width in those units). */
  for (int j = 0; j < n_out; j++)
    {
      int64_t start = (int64_t) j * n_in;
      int64_t end = (int64_t) (j + 1) * n_in;
      int k0 = (int) (start / n_out);
      int k1 = (int) ((end + n_out - 1) / n_out);
      float *w = f->weights + (gsize) j * f->max_taps;
      f->first[j] = k0;
      f->taps[j] = k1 - k0;
      g_assert (k1 - k0 <= f->max_taps && k1 <= n_in);
      for (int k = k0; k < k1; k++)
        {
          int64_t lo = MAX ((int64_t) k * n_out, start);
          int64_t hi = MIN ((int64_t) (k + 1) * n_out, end);
          w[k - k0] = (float) ((double) (hi - lo) / n_in);
        }
    }
}

static void
axis_filter_clear (AxisFilter *f)
{
  g_free (f->first);
  g_free (f->taps);
  g_free (f->weights);
}

/* out (rows, f->n_out) from in (rows, n_in): filters along each row. */
static void
filter_rows (float *restrict out, const float *restrict in, int rows, int n_in, const AxisFilter *f)
{
  for (int r = 0; r < rows; r++)
    {
      const float *src = in + (gsize) r * n_in;
      float *dst = out + (gsize) r * f->n_out;
      for (int j = 0; j < f->n_out; j++)
        {
          const float *w = f->weights + (gsize) j * f->max_taps;
          const float *s = src + f->first[j];
          float sum = 0.0f;
          for (int t = 0; t < f->taps[j]; t++)
            sum += w[t] * s[t];
          dst[j] = sum;
        }
    }
}

/* out (f->n_out, width) from in (n_in, width): filters along the columns,
 * a whole row at a time so the inner loop vectorises. */
static void
filter_columns (float *restrict out, const float *restrict in, int width, const AxisFilter *f)
{
  for (int i = 0; i < f->n_out; i++)
    {
      const float *w = f->weights + (gsize) i * f->max_taps;
      float *restrict dst = out + (gsize) i * width;
      const float *restrict src = in + (gsize) f->first[i] * width;
      for (int x = 0; x < width; x++)
        dst[x] = w[0] * src[x];
      for (int t = 1; t < f->taps[i]; t++)
        {
          const float *restrict s = src + (gsize) t * width;
          float wt = w[t];
          for (int x = 0; x < width; x++)
            dst[x] += wt * s[x];
        }
    }
}

void
hone_image_resize (float *out, int out_h, int out_w, const float *in, int c, int in_h, int in_w)
{
  g_assert (out_h > 0 && out_w > 0 && in_h > 0 && in_w > 0 && c > 0);
  const float *rows_done = in;   /* (c, in_h, out_w) */
  float *tmp = NULL;
  if (out_w != in_w)
    {
      AxisFilter fw;
      axis_filter_init (&fw, in_w, out_w);
      tmp = g_new (float, (gsize) c * in_h * out_w);
      filter_rows (tmp, in, c * in_h, in_w, &fw);
      axis_filter_clear (&fw);
      rows_done = tmp;
    }
  if (out_h != in_h)
    {
      AxisFilter fh;
      axis_filter_init (&fh, in_h, out_h);
      for (int ch = 0; ch < c; ch++)
        filter_columns (out + (gsize) ch * out_h * out_w, rows_done + (gsize) ch * in_h * out_w,
                        out_w, &fh);
      axis_filter_clear (&fh);
    }
  else
    memcpy (out, rows_done, (gsize) c * out_h * out_w * sizeof (float));
  g_free (tmp);
}

void
hone_image_convert_resize (float *out, int out_c, int out_h, int out_w, const float *in, int in_c,
                           int in_h, int in_w)
{
  if (out_c == in_c)
    {
      hone_image_resize (out, out_h, out_w, in, in_c, in_h, in_w);
      return;
    }
  if (out_h == in_h && out_w == in_w)
    {
      hone_image_convert (out, out_c, in, in_c, in_h, in_w);
      return;
    }
  if (out_c < in_c)
    {
      float *tmp = g_new (float, (gsize) out_c * in_h * in_w);   /* (out_c, in_h, in_w) */
      hone_image_convert (tmp, out_c, in, in_c, in_h, in_w);
      hone_image_resize (out, out_h, out_w, tmp, out_c, in_h, in_w);
      g_free (tmp);
    }
  else
    {
      float *tmp = g_new (float, (gsize) in_c * out_h * out_w);  /* (in_c, out_h, out_w) */
      hone_image_resize (tmp, out_h, out_w, in, in_c, in_h, in_w);
      hone_image_convert (out, out_c, tmp, in_c, out_h, out_w);
      g_free (tmp);
    }
}
