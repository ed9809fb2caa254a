/* hone-augment.h: image augmentation as pure functions on float images.
 *
 * Images are (C, H, W) float32 with values in [0, 1] (C = 1 grey or 3 RGB),
 * batches (N, C, H, W).  Every function writes its outputs (listed first)
 * and reads nothing global; randomness comes only from the HoneRng passed
 * in, so the same generator state gives the same result on any thread.
 *
 * One sample, in this order (hone_augment_draw, then hone_augment_apply):
 *   1. geometry, as ONE affine warp with bilinear sampling, composed of (in
 *      the order a picture goes through them) a random resized crop, the
 *      horizontal and vertical flips, then rotation, scale and translation
 *      about the centre (torchvision's RandomResizedCrop, RandomHorizontalFlip,
 *      RandomVerticalFlip, RandomAffine, but resampled once instead of four
 *      times);
 *   2. colour jitter exactly as torchvision's ColorJitter: brightness,
 *      contrast and saturation factors uniform in [max (0, 1 - f), 1 + f],
 *      a hue shift uniform in [-h, h] through HSV, the enabled adjustments
 *      applied in a random order drawn per sample (torch.randperm (4) in
 *      ColorJitter.get_params), each clamping to [0, 1];
 *   3. cutout: one square erased to the fill value (DeVries and Taylor,
 *      "Improved Regularization of Convolutional Neural Networks with
 *      Cutout", 2017: the centre uniform over the image, clipped at the
 *      borders).
 * Then normalisation (hone_image_normalize), then for a whole batch mixup or
 * cutmix (hone_augment_mix_batch), which turn labels into soft targets.
 *
 * The fill value of the border and of cutout is the normalisation mean, so
 * that it becomes 0 after normalisation.
 *
 * This file does not decode, resize, batch or run threads: see
 * hone-loader.h. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "data/hone-loader.h"
#include "hone-rng.h"

G_BEGIN_DECLS

/* ---- the pieces -------------------------------------------------------- */

/* Mirrors left-right / top-bottom.  out and inp (C, H, W) must not overlap. */
void hone_image_hflip (float *out, const float *inp, int channels, int height, int width);
void hone_image_vflip (float *out, const float *inp, int channels, int height, int width);

/* Resamples inp into out (both (C, H, W), not overlapping) through the
 * affine map m from output to input positions, in continuous pixel
 * coordinates (pixel (y, x) covers [x, x + 1) x [y, y + 1), its centre is
 * (x + 0.5, y + 0.5)):
 *   u = m[0] x + m[1] y + m[2],  v = m[3] x + m[4] y + m[5].
 * Bilinear between pixel centres.  A position inside the picture's area
 * but less than half a pixel from its edge takes the edge pixel's value
 * (as a resize does); outside the area the value fades linearly to fill[c]
 * over one pixel, then is fill[c]. */
void hone_image_warp_affine (float *out, const float *inp, const double m[6], const float *fill,
                             int channels, int height, int width);

/* The output-to-input map for a height x width picture that is first cropped
 * to the box (crop_x, crop_y, crop_w, crop_h) (pixels; the whole picture for
 * (0, 0, width, height)) and stretched back to height x width, then flipped,
 * then rotated by `degrees` counter-clockwise as seen on screen (as
 * torchvision's rotate), scaled by `scale` (> 1 zooms in) and translated by
 * (tx, ty) pixels, all about the centre (width / 2, height / 2). */
void hone_augment_matrix (double m[6], int height, int width,
                          double crop_x, double crop_y, double crop_w, double crop_h,
                          gboolean hflip, gboolean vflip, double degrees, double scale,
                          double tx, double ty);

/* torchvision's functional colour adjustments on img (C, H, W) in place,
 * clamping to [0, 1].  Grey images (C = 1) are left as they are by
 * saturation and hue, as in torchvision; contrast blends with the mean of
 * the grey image (0.2989 R + 0.587 G + 0.114 B for RGB). */
void hone_image_adjust_brightness (float *img, float factor, int channels, int height, int width);
void hone_image_adjust_contrast   (float *img, float factor, int channels, int height, int width);
void hone_image_adjust_saturation (float *img, float factor, int channels, int height, int width);
/* shift in [-0.5, 0.5] turns of the hue circle. */
void hone_image_adjust_hue        (float *img, float shift, int channels, int height, int width);

/* Sets the box rows [y0, y0 + h) x columns [x0, x0 + w) of img (C, H, W),
 * clipped to the picture, to fill[c]. */
void hone_image_erase (float *img, const float *fill, int channels, int height, int width,
                       int y0, int x0, int h, int w);

/* img[c] = (img[c] - mean[c]) / std[c], in place. */
void hone_image_normalize (float *img, const float *mean, const float *std,
                           int channels, int height, int width);

/* A Beta (alpha, alpha) variate (alpha > 0), from two Gamma variates
 * (Marsaglia and Tsang, "A Simple Method for Generating Gamma Variables",
 * 2000, with their boost for shape < 1). */
double hone_augment_beta (HoneRng *rng, double alpha);

/* Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", 2018):
 * images[i] = lambda images[i] + (1 - lambda) images[perm[i]] and
 * targets[i] = lambda onehot (labels[i]) + (1 - lambda) onehot (labels[perm[i]]).
 * images (n, sample_size), targets (n, n_classes), labels (n), perm (n). */
void hone_batch_mixup (float *images, float *targets, const int32_t *labels, const int *perm,
                       float lambda, int n, int n_classes, int64_t sample_size);

/* CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong
 * Classifiers with Localizable Features", 2019): the box rows [y0, y0 + h)
 * x columns [x0, x0 + w) of images[i] (n, C, H, W) is replaced by that of
 * images[perm[i]]; targets (n, n_classes) mix the two labels by area, with
 * lambda = 1 - box area / picture area.  Returns that lambda. */
float hone_batch_cutmix (float *images, float *targets, const int32_t *labels, const int *perm,
                         int y0, int x0, int h, int w,
                         int n, int n_classes, int channels, int height, int width);

/* ---- one sample's random choices --------------------------------------- */

typedef enum
{
  HONE_COLOR_BRIGHTNESS,
  HONE_COLOR_CONTRAST,
  HONE_COLOR_SATURATION,
  HONE_COLOR_HUE,
} HoneColorOp;

/* Everything random about one sample, drawn by hone_augment_draw. */
typedef struct
{
  gboolean warp;              /* FALSE: the geometry is the identity */
  double matrix[6];           /* output-to-input map, see hone_image_warp_affine */
  /* what was drawn, for tests and the preview's captions */
  gboolean hflip, vflip;
  double degrees, scale, tx, ty;
  int crop_x, crop_y, crop_w, crop_h;
  int n_color;                /* colour adjustments, in the order applied */
  HoneColorOp color_op[4];
  float color_factor[4];      /* brightness/contrast/saturation factor or hue shift */
  int cutout_y0, cutout_x0, cutout_h, cutout_w;   /* cutout_h == 0: none */
} HoneAugmentDraw;

/* Draws one sample's choices for a height x width picture.  Only the
 * enabled transforms draw numbers, always in the same order: crop, hflip,
 * vflip, rotation, scale, translation, colour order and factors, cutout.
 *
 * The random resized crop follows torchvision's RandomResizedCrop: up to
 * ten tries of an area fraction uniform in [crop_scale_min, 1] and a log
 * aspect ratio uniform in [log 3/4, log 4/3], rounded to whole pixels, at a
 * uniform position; else the centred largest box within the ratio range. */
void hone_augment_draw  (HoneAugmentDraw *draw, const HoneAugment *aug, int height, int width,
                         HoneRng *rng);
/* out = the augmented inp (both (C, H, W), not overlapping); fill (C) is
 * the border and cutout value. */
void hone_augment_apply (float *out, const float *inp, const HoneAugmentDraw *draw,
                         const float *fill, int channels, int height, int width);

/* Mixup or cutmix of a batch as `aug` asks (when both are on, each batch
 * picks one with probability 1/2, as timm's Mixup does), drawing from rng:
 * the partner of sample i is perm[i] for a random permutation, lambda is
 * Beta (alpha, alpha).  images (n, C, H, W), targets (n, n_classes).
 * Returns FALSE (nothing touched) when both are off. */
gboolean hone_augment_mix_batch (float *images, float *targets, const int32_t *labels,
                                 const HoneAugment *aug, HoneRng *rng,
                                 int n, int n_classes, int channels, int height, int width);

G_END_DECLS
