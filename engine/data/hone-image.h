/* hone-image.h: channel conversion and resizing of planar float images.
 *
 * Private to engine/data (the dataset and the loader).  Images are
 * (C, H, W) float32, C = 1 (grey) or 3 (RGB).  Resizing is separable:
 * along an axis that grows, bilinear interpolation with half-pixel centres
 * (PyTorch's F.interpolate (mode="bilinear", align_corners=False,
 * antialias=False), which clamps source coordinates to the edge); along an
 * axis that shrinks, area averaging: each output pixel is the mean of the
 * input it covers, partly covered pixels weighted by their covered fraction
 * (OpenCV's INTER_AREA; for integer factors exactly PyTorch's
 * mode="area").  Shrinking by an integer factor therefore averages whole
 * blocks: a one-pixel checkerboard halved is uniform grey.
 *
 * This file does not decode files (hone-image-decode.h) and does not
 * augment (hone-loader.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ITU-R BT.601 luma weights, as PIL's convert ("L") and torchvision's
 * rgb_to_grayscale. */
#define HONE_LUMA_R 0.299f
#define HONE_LUMA_G 0.587f
#define HONE_LUMA_B 0.114f

/* out (out_c, h, w) from in (in_c, h, w); in_c and out_c are 1 or 3.
 * Grey to RGB repeats the plane; RGB to grey takes the luma. */
void hone_image_convert (float *out, int out_c, const float *in, int in_c, int h, int w);

/* out (c, out_h, out_w) from in (c, in_h, in_w), as described above. */
void hone_image_resize (float *out, int out_h, int out_w, const float *in, int c, int in_h,
                        int in_w);

/* Both: out (out_c, out_h, out_w) from in (in_c, in_h, in_w).  Converts
 * before resizing when that drops channels and after when it adds them, so
 * the fewest channels are resized (both steps are linear: the order changes
 * only rounding). */
void hone_image_convert_resize (float *out, int out_c, int out_h, int out_w, const float *in,
                                int in_c, int in_h, int in_w);

G_END_DECLS
