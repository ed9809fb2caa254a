/* hone-augment.c: the augmentation transforms of hone-augment.h and the
 * validation of a HoneAugment.
 *
 * Every transform is a plain loop over one image or one batch; nothing here
 * allocates except the batch-level mixes (a copy of what they mix in), and
 * nothing calls BLAS or hone_parallel_for: these run on loader threads. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "data/hone-augment.h"
#include "hone-error.h"

/* ---- validation -------------------------------------------------------- */

static gboolean
check_range (const char *key, double value, double lo, double hi, const char *use, GError **error)
{
  if (value >= lo && value <= hi)   /* FALSE for NaN */
    return TRUE;
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "augment.%s = %g is out of range: use %s", key, value, use);
  return FALSE;
}

gboolean
hone_augment_validate (const HoneAugment *aug, GError **error)
{
  g_return_val_if_fail (aug != NULL, FALSE);

  if (!check_range ("hflip", aug->hflip, 0, 1, "a probability from 0 to 1", error)
      || !check_range ("vflip", aug->vflip, 0, 1, "a probability from 0 to 1", error)
      || !check_range ("rotate", aug->rotate, 0, 180, "0 to 180", error))
    return FALSE;

  if (aug->scale_min != 0 || aug->scale_max != 0)
    {
      const char *keys[2] = { "scale_min", "scale_max" };
      const double values[2] = { aug->scale_min, aug->scale_max };
      for (int k = 0; k < 2; k++)
        if (!(values[k] > 0 && values[k] <= 4))   /* also NaN */
          {
            g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                         "augment.%s = %g is out of range: use more than 0 and up to 4, "
                         "or 0 for both scale_min and scale_max (off)", keys[k], values[k]);
            return FALSE;
          }
      if (aug->scale_min > aug->scale_max)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "augment.scale_min = %g is larger than augment.scale_max = %g: "
                       "use scale_min <= scale_max", aug->scale_min, aug->scale_max);
          return FALSE;
        }
    }

  return check_range ("translate", aug->translate, 0, 0.5, "0 to 0.5", error)
         && check_range ("crop_scale_min", aug->crop_scale_min, 0, 1,
                         "0 (off) or an area fraction up to 1", error)
         && check_range ("brightness", aug->brightness, 0, 1, "0 to 1", error)
         && check_range ("contrast", aug->contrast, 0, 1, "0 to 1", error)
         && check_range ("saturation", aug->saturation, 0, 1, "0 to 1", error)
         && check_range ("hue", aug->hue, 0, 0.5, "0 to 0.5", error)
         && check_range ("cutout", aug->cutout, 0, 1, "0 to 1", error)
         && check_range ("mixup_alpha", aug->mixup_alpha, 0, 1000, "0 (off) to 1000", error)
         && check_range ("cutmix_alpha", aug->cutmix_alpha, 0, 1000, "0 (off) to 1000", error);
}

gboolean
hone_augment_is_active (const HoneAugment *aug)
{
  g_return_val_if_fail (aug != NULL, FALSE);
  return aug->hflip > 0 || aug->vflip > 0 || aug->rotate > 0
         || aug->scale_min > 0 || aug->scale_max > 0 || aug->translate > 0
         || aug->crop_scale_min > 0 || aug->brightness > 0 || aug->contrast > 0
         || aug->saturation > 0 || aug->hue > 0 || aug->cutout > 0
         || aug->mixup_alpha > 0 || aug->cutmix_alpha > 0;
}

/* ---- geometry ---------------------------------------------------------- */

void
hone_image_hflip (float *restrict out, const float *restrict inp, int channels, int height,
                  int width)
{
  for (int64_t row = 0; row < (int64_t) channels * height; row++)
    {
      const float *src = inp + row * width;   /* (W) */
      float *dst = out + row * width;         /* (W) */
      for (int x = 0; x < width; x++)
        dst[x] = src[width - 1 - x];
    }
}

void
hone_image_vflip (float *restrict out, const float *restrict inp, int channels, int height,
                  int width)
{
  for (int c = 0; c < channels; c++)
    for (int y = 0; y < height; y++)
      memcpy (out + ((int64_t) c * height + y) * width,
              inp + ((int64_t) c * height + height - 1 - y) * width,
              (size_t) width * sizeof (float));
}

/* Where an index coordinate p (continuous position - 0.5) falls along an
 * axis of n pixels: the two neighbours, the weight of the second, and how
 * much of the picture (against the fill) is there. */
static inline void
axis_sample (float p, int n, int *i0, int *i1, float *w1, float *cover)
{
  float c = 1.0f;
  if (p < -0.5f)
    c = 1.0f - (-0.5f - p);
  else if (p > (float) n - 0.5f)
    c = 1.0f - (p - ((float) n - 0.5f));
  p = CLAMP (p, 0.0f, (float) (n - 1));
  int i = (int) p;   /* p >= 0: truncation is floor */
  if (i > n - 1)
    i = n - 1;
  *i0 = i;
  *i1 = MIN (i + 1, n - 1);
  *w1 = p - (float) i;
  *cover = MAX (c, 0.0f);
}

void
hone_image_warp_affine (float *restrict out, const float *restrict inp, const double m[6],
                        const float *fill, int channels, int height, int width)
{
  const int64_t plane = (int64_t) height * width;
  const float a = (float) m[0], b = (float) m[1], c = (float) m[2];
  const float d = (float) m[3], e = (float) m[4], f = (float) m[5];

  for (int y = 0; y < height; y++)
    {
      const float yc = (float) y + 0.5f;
      const float u_row = b * yc + c;
      const float v_row = e * yc + f;
      for (int x = 0; x < width; x++)
        {
          const float xc = (float) x + 0.5f;
          /* index coordinates of the sampled position */
          const float px = a * xc + u_row - 0.5f;
          const float py = d * xc + v_row - 0.5f;
          float *o = out + (int64_t) y * width + x;
          if (!(px > -1.5f && px < (float) width + 0.5f && py > -1.5f && py < (float) height + 0.5f))
            {
              /* outside the fade band (also NaN) */
              for (int ch = 0; ch < channels; ch++)
                o[ch * plane] = fill[ch];
              continue;
            }
          int x0, x1, y0, y1;
          float wx, wy, cx, cy;
          axis_sample (px, width, &x0, &x1, &wx, &cx);
          axis_sample (py, height, &y0, &y1, &wy, &cy);
          const float cover = cx * cy;
          const int64_t i00 = (int64_t) y0 * width + x0, i01 = (int64_t) y0 * width + x1;
          const int64_t i10 = (int64_t) y1 * width + x0, i11 = (int64_t) y1 * width + x1;
          for (int ch = 0; ch < channels; ch++)
            {
              const float *p = inp + ch * plane;
              float top = (1.0f - wx) * p[i00] + wx * p[i01];
              float bottom = (1.0f - wx) * p[i10] + wx * p[i11];
              float v = (1.0f - wy) * top + wy * bottom;
              o[ch * plane] = cover >= 1.0f ? v : cover * v + (1.0f - cover) * fill[ch];
            }
        }
    }
}

/* A 2x3 affine map p -> L p + t as {L00, L01, t0, L10, L11, t1}. */
static void
affine_compose (double out[6], const double outer[6], const double inner[6])
{
  double r[6];
  r[0] = outer[0] * inner[0] + outer[1] * inner[3];
  r[1] = outer[0] * inner[1] + outer[1] * inner[4];
  r[2] = outer[0] * inner[2] + outer[1] * inner[5] + outer[2];
  r[3] = outer[3] * inner[0] + outer[4] * inner[3];
  r[4] = outer[3] * inner[1] + outer[4] * inner[4];
  r[5] = outer[3] * inner[2] + outer[4] * inner[5] + outer[5];
  memcpy (out, r, sizeof r);
}

/* cos and sin of a whole number of quarter turns exactly, so that a
 * rotation by 90 degrees moves pixel centres onto pixel centres. */
static void
cos_sin_degrees (double degrees, double *cs, double *sn)
{
  double q = degrees / 90.0;
  if (q == floor (q) && fabs (q) < 1e6)
    {
      static const double c4[4] = { 1, 0, -1, 0 }, s4[4] = { 0, 1, 0, -1 };
      int k = (int) fmod (fmod (q, 4.0) + 4.0, 4.0);
      *cs = c4[k];
      *sn = s4[k];
      return;
    }
  double r = degrees * G_PI / 180.0;
  *cs = cos (r);
  *sn = sin (r);
}

void
hone_augment_matrix (double m[6], int height, int width,
                     double crop_x, double crop_y, double crop_w, double crop_h,
                     gboolean hflip, gboolean vflip, double degrees, double scale,
                     double tx, double ty)
{
  g_return_if_fail (height > 0 && width > 0 && scale > 0);

  const double cx = width / 2.0, cy = height / 2.0;
  double cs, sn;
  cos_sin_degrees (degrees, &cs, &sn);

  /* The picture goes crop -> flip -> rotate/scale/translate; m maps back.
   * Forward, a counter-clockwise turn on screen (y down) is
   * (x, y) -> (cos x + sin y, -sin x + cos y); its inverse, over the scale: */
  double rot[6] = {
    cs / scale, -sn / scale, 0,
    sn / scale, cs / scale, 0,
  };
  /* p2 = C + rot (o - C - T) */
  rot[2] = cx - rot[0] * (cx + tx) - rot[1] * (cy + ty);
  rot[5] = cy - rot[3] * (cx + tx) - rot[4] * (cy + ty);

  const double flip[6] = {
    hflip ? -1 : 1, 0, hflip ? width : 0,
    0, vflip ? -1 : 1, vflip ? height : 0,
  };
  const double crop[6] = {
    crop_w / width, 0, crop_x,
    0, crop_h / height, crop_y,
  };
  affine_compose (m, flip, rot);
  affine_compose (m, crop, m);
}

/* ---- colour (torchvision.transforms.functional_tensor) ----------------- */

static inline float
clamp01 (float v)
{
  return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* torchvision's rgb_to_grayscale weights (ITU-R 601-2 luma). */
static inline float
grey (float r, float g, float b)
{
  return 0.2989f * r + 0.587f * g + 0.114f * b;
}

void
hone_image_adjust_brightness (float *restrict img, float factor, int channels, int height, int width)
{
  /* _blend (img, zeros, factor) */
  const int64_t n = (int64_t) channels * height * width;
  for (int64_t i = 0; i < n; i++)
    img[i] = clamp01 (factor * img[i]);
}

void
hone_image_adjust_contrast (float *restrict img, float factor, int channels, int height, int width)
{
  /* _blend (img, mean of the grey image, factor) */
  const int64_t plane = (int64_t) height * width;
  double sum = 0;
  if (channels == 3)
    for (int64_t i = 0; i < plane; i++)
      sum += grey (img[i], img[plane + i], img[2 * plane + i]);
  else
    for (int64_t i = 0; i < plane * channels; i++)
      sum += img[i];
  const float mean = (float) (sum / (double) (channels == 3 ? plane : plane * channels));
  const float offset = (1.0f - factor) * mean;
  for (int64_t i = 0; i < plane * channels; i++)
    img[i] = clamp01 (factor * img[i] + offset);
}

void
hone_image_adjust_saturation (float *restrict img, float factor, int channels, int height, int width)
{
  if (channels != 3)
    return;
  const int64_t plane = (int64_t) height * width;
  float *r = img, *g = img + plane, *b = img + 2 * plane;
  for (int64_t i = 0; i < plane; i++)
    {
      /* _blend (img, rgb_to_grayscale (img), factor) */
      const float offset = (1.0f - factor) * grey (r[i], g[i], b[i]);
      r[i] = clamp01 (factor * r[i] + offset);
      g[i] = clamp01 (factor * g[i] + offset);
      b[i] = clamp01 (factor * b[i] + offset);
    }
}

void
hone_image_adjust_hue (float *restrict img, float shift, int channels, int height, int width)
{
  if (channels != 3)
    return;
  const int64_t plane = (int64_t) height * width;
  float *rp = img, *gp = img + plane, *bp = img + 2 * plane;
  for (int64_t i = 0; i < plane; i++)
    {
      const float r = rp[i], g = gp[i], b = bp[i];
      /* RGB -> HSV (h in turns, [0, 1)) */
      const float maxc = MAX (r, MAX (g, b));
      const float minc = MIN (r, MIN (g, b));
      const float v = maxc;
      const float chroma = maxc - minc;
      if (chroma <= 0.0f)
        continue;   /* grey: no hue to turn */
      const float s = maxc > 0.0f ? chroma / maxc : 0.0f;
      float h;
      if (maxc == r)
        h = (g - b) / chroma;
      else if (maxc == g)
        h = 2.0f + (b - r) / chroma;
      else
        h = 4.0f + (r - g) / chroma;
      h = h / 6.0f + shift;
      h -= floorf (h);   /* (h + shift) mod 1, in [0, 1) */

      /* HSV -> RGB */
      const float h6 = h * 6.0f;
      int sector = (int) h6;
      const float frac = h6 - (float) sector;
      sector %= 6;
      const float p = v * (1.0f - s);
      const float q = v * (1.0f - s * frac);
      const float t = v * (1.0f - s * (1.0f - frac));
      float ro, go, bo;
      switch (sector)
        {
        case 0: ro = v; go = t; bo = p; break;
        case 1: ro = q; go = v; bo = p; break;
        case 2: ro = p; go = v; bo = t; break;
        case 3: ro = p; go = q; bo = v; break;
        case 4: ro = t; go = p; bo = v; break;
        default: ro = v; go = p; bo = q; break;
        }
      rp[i] = clamp01 (ro);
      gp[i] = clamp01 (go);
      bp[i] = clamp01 (bo);
    }
}

/* ---- erase, normalise --------------------------------------------------- */

void
hone_image_erase (float *restrict img, const float *fill, int channels, int height, int width,
                  int y0, int x0, int h, int w)
{
  int y1 = MIN (y0 + h, height), x1 = MIN (x0 + w, width);
  y0 = MAX (y0, 0);
  x0 = MAX (x0, 0);
  for (int c = 0; c < channels; c++)
    for (int y = y0; y < y1; y++)
      {
        float *row = img + ((int64_t) c * height + y) * width;
        for (int x = x0; x < x1; x++)
          row[x] = fill[c];
      }
}

void
hone_image_normalize (float *restrict img, const float *mean, const float *std,
                      int channels, int height, int width)
{
  const int64_t plane = (int64_t) height * width;
  for (int c = 0; c < channels; c++)
    {
      float *p = img + c * plane;
      const float mu = mean[c], inv = 1.0f / std[c];
      for (int64_t i = 0; i < plane; i++)
        p[i] = (p[i] - mu) * inv;
    }
}

/* ---- random variates ---------------------------------------------------- */

/* Uniform in (0, 1): never 0, so that its logarithm is finite. */
static double
uniform_open (HoneRng *rng)
{
  return ((double) (hone_rng_next (rng) >> 8) + 0.5) * (1.0 / 16777216.0);
}

static double
uniform_range (HoneRng *rng, double lo, double hi)
{
  return lo + (hi - lo) * (double) hone_rng_uniform (rng);
}

/* log of a Gamma (shape, 1) variate, Marsaglia and Tsang; shape < 1 uses
 * Gamma (shape) = Gamma (shape + 1) U^(1/shape), in logs so that tiny
 * shapes cannot underflow. */
static double
log_gamma_variate (HoneRng *rng, double shape)
{
  double boost = 0;
  if (shape < 1)
    {
      boost = log (uniform_open (rng)) / shape;
      shape += 1;
    }
  const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt (9.0 * d);
  for (;;)
    {
      double x = hone_rng_normal (rng);
      double v = 1.0 + c * x;
      if (v <= 0)
        continue;
      v = v * v * v;
      double u = uniform_open (rng);
      if (u < 1.0 - 0.0331 * x * x * x * x
          || log (u) < 0.5 * x * x + d * (1.0 - v + log (v)))
        return log (d * v) + boost;
    }
}

double
hone_augment_beta (HoneRng *rng, double alpha)
{
  g_return_val_if_fail (alpha > 0, 0.5);
  /* X / (X + Y) = 1 / (1 + Y / X) */
  double lx = log_gamma_variate (rng, alpha);
  double ly = log_gamma_variate (rng, alpha);
  return 1.0 / (1.0 + exp (ly - lx));
}

/* ---- one sample ---------------------------------------------------------- */

/* torchvision RandomResizedCrop.get_params with ratio (3/4, 4/3). */
static void
draw_crop (HoneAugmentDraw *draw, double scale_min, int height, int width, HoneRng *rng)
{
  const double area = (double) height * width;
  const double log_lo = log (3.0 / 4.0), log_hi = log (4.0 / 3.0);
  for (int attempt = 0; attempt < 10; attempt++)
    {
      double target = area * uniform_range (rng, scale_min, 1.0);
      double ratio = exp (uniform_range (rng, log_lo, log_hi));
      int w = (int) lround (sqrt (target * ratio));
      int h = (int) lround (sqrt (target / ratio));
      if (w > 0 && w <= width && h > 0 && h <= height)
        {
          draw->crop_y = (int) hone_rng_below (rng, (uint32_t) (height - h + 1));
          draw->crop_x = (int) hone_rng_below (rng, (uint32_t) (width - w + 1));
          draw->crop_w = w;
          draw->crop_h = h;
          return;
        }
    }
  /* the centred largest box with a ratio in range */
  double in_ratio = (double) width / height;
  int w = width, h = height;
  if (in_ratio < 3.0 / 4.0)
    h = (int) lround (w / (3.0 / 4.0));
  else if (in_ratio > 4.0 / 3.0)
    w = (int) lround (h * (4.0 / 3.0));
  h = MIN (h, height);
  w = MIN (w, width);
  draw->crop_w = w;
  draw->crop_h = h;
  draw->crop_y = (height - h) / 2;
  draw->crop_x = (width - w) / 2;
}

void
hone_augment_draw (HoneAugmentDraw *draw, const HoneAugment *aug, int height, int width,
                   HoneRng *rng)
{
  g_return_if_fail (draw != NULL && aug != NULL && rng != NULL);
  g_return_if_fail (height > 0 && width > 0);

  memset (draw, 0, sizeof *draw);
  draw->scale = 1;
  draw->crop_w = width;
  draw->crop_h = height;

  gboolean crop = aug->crop_scale_min > 0;
  if (crop)
    draw_crop (draw, aug->crop_scale_min, height, width, rng);
  if (aug->hflip > 0)
    draw->hflip = hone_rng_uniform (rng) < aug->hflip;
  if (aug->vflip > 0)
    draw->vflip = hone_rng_uniform (rng) < aug->vflip;
  if (aug->rotate > 0)
    draw->degrees = uniform_range (rng, -aug->rotate, aug->rotate);
  if (aug->scale_min > 0 && aug->scale_max > 0)
    draw->scale = uniform_range (rng, aug->scale_min, aug->scale_max);
  if (aug->translate > 0)
    {
      draw->tx = uniform_range (rng, -aug->translate, aug->translate) * width;
      draw->ty = uniform_range (rng, -aug->translate, aug->translate) * height;
    }
  draw->warp = draw->hflip || draw->vflip || draw->degrees != 0 || draw->scale != 1
               || draw->tx != 0 || draw->ty != 0
               || draw->crop_w != width || draw->crop_h != height;
  if (draw->warp)
    hone_augment_matrix (draw->matrix, height, width, draw->crop_x, draw->crop_y,
                         draw->crop_w, draw->crop_h, draw->hflip, draw->vflip,
                         draw->degrees, draw->scale, draw->tx, draw->ty);
  else
    {
      const double identity[6] = { 1, 0, 0, 0, 1, 0 };
      memcpy (draw->matrix, identity, sizeof identity);
    }

  /* ColorJitter.get_params: a random order of the four, then the factors
   * of the enabled ones */
  if (aug->brightness > 0 || aug->contrast > 0 || aug->saturation > 0 || aug->hue > 0)
    {
      int order[4] = { HONE_COLOR_BRIGHTNESS, HONE_COLOR_CONTRAST, HONE_COLOR_SATURATION,
                       HONE_COLOR_HUE };
      hone_rng_shuffle (rng, order, 4);
      for (int k = 0; k < 4; k++)
        {
          double f = 0;
          switch (order[k])
            {
            case HONE_COLOR_BRIGHTNESS: f = aug->brightness; break;
            case HONE_COLOR_CONTRAST: f = aug->contrast; break;
            case HONE_COLOR_SATURATION: f = aug->saturation; break;
            default: f = aug->hue; break;
            }
          if (f <= 0)
            continue;
          double value = order[k] == HONE_COLOR_HUE
                           ? uniform_range (rng, -f, f)
                           : uniform_range (rng, MAX (0.0, 1.0 - f), 1.0 + f);
          draw->color_op[draw->n_color] = (HoneColorOp) order[k];
          draw->color_factor[draw->n_color] = (float) value;
          draw->n_color++;
        }
    }

  if (aug->cutout > 0)
    {
      int side = (int) lround (aug->cutout * MIN (height, width));
      if (side > 0)
        {
          int cy = (int) hone_rng_below (rng, (uint32_t) height);
          int cx = (int) hone_rng_below (rng, (uint32_t) width);
          int y0 = MAX (cy - side / 2, 0), x0 = MAX (cx - side / 2, 0);
          int y1 = MIN (cy - side / 2 + side, height), x1 = MIN (cx - side / 2 + side, width);
          draw->cutout_y0 = y0;
          draw->cutout_x0 = x0;
          draw->cutout_h = y1 - y0;
          draw->cutout_w = x1 - x0;
        }
    }
}

void
hone_augment_apply (float *restrict out, const float *restrict inp, const HoneAugmentDraw *draw,
                    const float *fill, int channels, int height, int width)
{
  g_return_if_fail (out != NULL && inp != NULL && draw != NULL && fill != NULL);

  if (draw->warp)
    hone_image_warp_affine (out, inp, draw->matrix, fill, channels, height, width);
  else
    memcpy (out, inp, (size_t) channels * height * width * sizeof (float));

  for (int k = 0; k < draw->n_color; k++)
    {
      float f = draw->color_factor[k];
      switch (draw->color_op[k])
        {
        case HONE_COLOR_BRIGHTNESS:
          hone_image_adjust_brightness (out, f, channels, height, width);
          break;
        case HONE_COLOR_CONTRAST:
          hone_image_adjust_contrast (out, f, channels, height, width);
          break;
        case HONE_COLOR_SATURATION:
          hone_image_adjust_saturation (out, f, channels, height, width);
          break;
        case HONE_COLOR_HUE:
          hone_image_adjust_hue (out, f, channels, height, width);
          break;
        }
    }

  if (draw->cutout_h > 0 && draw->cutout_w > 0)
    hone_image_erase (out, fill, channels, height, width,
                      draw->cutout_y0, draw->cutout_x0, draw->cutout_h, draw->cutout_w);
}

/* ---- one batch ----------------------------------------------------------- */

static void
soft_targets (float *restrict targets, const int32_t *labels, const int *perm, float lambda,
              int n, int n_classes)
{
  for (int i = 0; i < n; i++)
    {
      float *t = targets + (int64_t) i * n_classes;   /* (K) */
      memset (t, 0, (size_t) n_classes * sizeof (float));
      t[labels[i]] += lambda;
      t[labels[perm[i]]] += 1.0f - lambda;
    }
}

void
hone_batch_mixup (float *images, float *targets, const int32_t *labels, const int *perm,
                  float lambda, int n, int n_classes, int64_t sample_size)
{
  g_return_if_fail (n >= 0 && n_classes > 0);

  float *orig = g_memdup2 (images, (gsize) n * sample_size * sizeof (float));   /* (n, S) */
  for (int i = 0; i < n; i++)
    {
      float *restrict dst = images + i * sample_size;
      const float *restrict other = orig + perm[i] * sample_size;
      for (int64_t j = 0; j < sample_size; j++)
        dst[j] = lambda * dst[j] + (1.0f - lambda) * other[j];
    }
  g_free (orig);
  soft_targets (targets, labels, perm, lambda, n, n_classes);
}

float
hone_batch_cutmix (float *images, float *targets, const int32_t *labels, const int *perm,
                   int y0, int x0, int h, int w,
                   int n, int n_classes, int channels, int height, int width)
{
  g_return_val_if_fail (n >= 0 && n_classes > 0, 1.0f);

  int y1 = MIN (y0 + h, height), x1 = MIN (x0 + w, width);
  y0 = MAX (y0, 0);
  x0 = MAX (x0, 0);
  h = MAX (y1 - y0, 0);
  w = MAX (x1 - x0, 0);
  const int64_t sample = (int64_t) channels * height * width;

  if (h > 0 && w > 0)
    {
      /* each sample's box before any is overwritten: (n, C, h, w) */
      const int64_t box = (int64_t) channels * h * w;
      float *boxes = g_new (float, n * box);
      for (int i = 0; i < n; i++)
        for (int c = 0; c < channels; c++)
          for (int y = 0; y < h; y++)
            memcpy (boxes + i * box + ((int64_t) c * h + y) * w,
                    images + i * sample + ((int64_t) c * height + y0 + y) * width + x0,
                    (size_t) w * sizeof (float));
      for (int i = 0; i < n; i++)
        for (int c = 0; c < channels; c++)
          for (int y = 0; y < h; y++)
            memcpy (images + i * sample + ((int64_t) c * height + y0 + y) * width + x0,
                    boxes + perm[i] * box + ((int64_t) c * h + y) * w,
                    (size_t) w * sizeof (float));
      g_free (boxes);
    }

  float lambda = (float) (1.0 - (double) h * w / ((double) height * width));
  soft_targets (targets, labels, perm, lambda, n, n_classes);
  return lambda;
}

gboolean
hone_augment_mix_batch (float *images, float *targets, const int32_t *labels,
                        const HoneAugment *aug, HoneRng *rng,
                        int n, int n_classes, int channels, int height, int width)
{
  g_return_val_if_fail (aug != NULL && rng != NULL, FALSE);

  gboolean mixup = aug->mixup_alpha > 0, cutmix = aug->cutmix_alpha > 0;
  if (!mixup && !cutmix)
    return FALSE;
  if (mixup && cutmix)
    {
      if (hone_rng_uniform (rng) < 0.5f)
        cutmix = FALSE;
      else
        mixup = FALSE;
    }

  double lambda = hone_augment_beta (rng, mixup ? aug->mixup_alpha : aug->cutmix_alpha);
  int *perm = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    perm[i] = i;
  hone_rng_shuffle (rng, perm, n);

  if (mixup)
    hone_batch_mixup (images, targets, labels, perm, (float) lambda, n, n_classes,
                      (int64_t) channels * height * width);
  else
    {
      /* the CutMix paper's box: sides sqrt (1 - lambda) of the picture's,
       * centred at a uniform pixel, clipped */
      double cut = sqrt (1.0 - lambda);
      int h = (int) (height * cut), w = (int) (width * cut);
      int cy = (int) hone_rng_below (rng, (uint32_t) height);
      int cx = (int) hone_rng_below (rng, (uint32_t) width);
      hone_batch_cutmix (images, targets, labels, perm, cy - h / 2, cx - w / 2, h, w,
                         n, n_classes, channels, height, width);
    }
  g_free (perm);
  return TRUE;
}
