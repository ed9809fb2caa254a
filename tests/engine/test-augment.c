/* test-augment.c: the augmentation transforms: golden outputs for the
 * deterministic ones (flips, quarter turns, identity, crop of a known
 * region, colour adjustments, cutout, normalisation, cutmix), a naive
 * double-precision warp to compare the bilinear one against, statistics for
 * the random draws, and validation messages. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-test-util.h"

/* in[c][y][x] = 100 c + 10 y + x: every pixel tells where it came from */
static float *
labelled_image (int C, int H, int W)
{
  float *img = g_new (float, C * H * W);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        img[(c * H + y) * W + x] = (float) (100 * c + 10 * y + x);
  return img;
}

#define AT(img, H, W, c, y, x) ((img)[((c) * (H) + (y)) * (W) + (x)])

static void
test_flips (void)
{
  const int C = 2, H = 3, W = 4;
  g_autofree float *in = labelled_image (C, H, W);
  g_autofree float *h = g_new (float, C * H * W);
  g_autofree float *v = g_new (float, C * H * W);
  g_autofree float *w = g_new (float, C * H * W);
  hone_image_hflip (h, in, C, H, W);
  hone_image_vflip (v, in, C, H, W);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        {
          g_assert_cmpfloat (AT (h, H, W, c, y, x), ==, AT (in, H, W, c, y, W - 1 - x));
          g_assert_cmpfloat (AT (v, H, W, c, y, x), ==, AT (in, H, W, c, H - 1 - y, x));
        }

  /* the same through the warp, exactly */
  const float fill[2] = { -1, -1 };
  double m[6];
  hone_augment_matrix (m, H, W, 0, 0, W, H, TRUE, FALSE, 0, 1, 0, 0);
  hone_image_warp_affine (w, in, m, fill, C, H, W);
  g_assert_cmpmem (w, C * H * W * sizeof (float), h, C * H * W * sizeof (float));
  hone_augment_matrix (m, H, W, 0, 0, W, H, FALSE, TRUE, 0, 1, 0, 0);
  hone_image_warp_affine (w, in, m, fill, C, H, W);
  g_assert_cmpmem (w, C * H * W * sizeof (float), v, C * H * W * sizeof (float));
}

static void
test_identity (void)
{
  const int C = 3, H = 5, W = 7;
  g_autofree float *in = labelled_image (C, H, W);
  g_autofree float *out = g_new (float, C * H * W);
  const float fill[3] = { -1, -1, -1 };
  double m[6];
  /* scale 1, translate 0, no turn, the whole picture as the crop */
  hone_augment_matrix (m, H, W, 0, 0, W, H, FALSE, FALSE, 0, 1, 0, 0);
  const double identity[6] = { 1, 0, 0, 0, 1, 0 };
  for (int k = 0; k < 6; k++)
    g_assert_cmpfloat (m[k], ==, identity[k]);
  hone_image_warp_affine (out, in, m, fill, C, H, W);
  g_assert_cmpmem (out, C * H * W * sizeof (float), in, C * H * W * sizeof (float));

  /* a full turn is the identity too */
  hone_augment_matrix (m, H, W, 0, 0, W, H, FALSE, FALSE, 360, 1, 0, 0);
  hone_image_warp_affine (out, in, m, fill, C, H, W);
  g_assert_cmpmem (out, C * H * W * sizeof (float), in, C * H * W * sizeof (float));

  /* draws with everything off, or scale fixed at 1, leave the picture alone */
  HoneAugment aug = { .scale_min = 1, .scale_max = 1 };
  HoneRng rng;
  hone_rng_init (&rng, 1, 2);
  HoneAugmentDraw draw;
  hone_augment_draw (&draw, &aug, H, W, &rng);
  g_assert_false (draw.warp);
  hone_augment_apply (out, in, &draw, fill, C, H, W);
  g_assert_cmpmem (out, C * H * W * sizeof (float), in, C * H * W * sizeof (float));
}

static void
test_quarter_turns (void)
{
  const int C = 2, N = 5;
  g_autofree float *in = labelled_image (C, N, N);
  g_autofree float *out = g_new (float, C * N * N);
  const float fill[2] = { -1, -1 };
  double m[6];

  /* 90 degrees counter-clockwise on screen: the top-right corner goes to
   * the top-left, out[y][x] = in[x][N - 1 - y] */
  hone_augment_matrix (m, N, N, 0, 0, N, N, FALSE, FALSE, 90, 1, 0, 0);
  hone_image_warp_affine (out, in, m, fill, C, N, N);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < N; y++)
      for (int x = 0; x < N; x++)
        g_assert_cmpfloat_with_epsilon (AT (out, N, N, c, y, x), AT (in, N, N, c, x, N - 1 - y), 1e-4);

  hone_augment_matrix (m, N, N, 0, 0, N, N, FALSE, FALSE, -90, 1, 0, 0);
  hone_image_warp_affine (out, in, m, fill, C, N, N);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < N; y++)
      for (int x = 0; x < N; x++)
        g_assert_cmpfloat_with_epsilon (AT (out, N, N, c, y, x), AT (in, N, N, c, N - 1 - x, y), 1e-4);

  /* half a turn of a non-square picture: both flips */
  const int H = 3, W = 6;
  g_autofree float *in2 = labelled_image (C, H, W);
  g_autofree float *out2 = g_new (float, C * H * W);
  hone_augment_matrix (m, H, W, 0, 0, W, H, FALSE, FALSE, 180, 1, 0, 0);
  hone_image_warp_affine (out2, in2, m, fill, C, H, W);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        g_assert_cmpfloat_with_epsilon (AT (out2, H, W, c, y, x),
                                        AT (in2, H, W, c, H - 1 - y, W - 1 - x), 1e-4);
}

static void
test_translate_border (void)
{
  const int H = 4, W = 6;
  g_autofree float *in = labelled_image (1, H, W);
  g_autofree float *out = g_new (float, H * W);
  const float fill[1] = { -7 };
  double m[6];
  /* two pixels to the right: column 0 is fill, column 1 halfway between
   * the edge pixel and the fill, the rest moved exactly */
  hone_augment_matrix (m, H, W, 0, 0, W, H, FALSE, FALSE, 0, 1, 2, 0);
  hone_image_warp_affine (out, in, m, fill, 1, H, W);
  for (int y = 0; y < H; y++)
    {
      g_assert_cmpfloat (AT (out, H, W, 0, y, 0), ==, -7);
      g_assert_cmpfloat_with_epsilon (AT (out, H, W, 0, y, 1), 0.5f * (AT (in, H, W, 0, y, 0) - 7), 1e-5);
      for (int x = 2; x < W; x++)
        g_assert_cmpfloat (AT (out, H, W, 0, y, x), ==, AT (in, H, W, 0, y, x - 2));
    }
}

static void
test_crop_region (void)
{
  /* a linear ramp: bilinear sampling reproduces it exactly inside */
  const int H = 8, W = 8;
  float in[8 * 8], out[8 * 8];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      in[y * W + x] = 0.5f * x + 2.0f * y + 1.0f;
  const float fill[1] = { -1 };
  double m[6];
  /* the box x 2..6, y 1..5 (4 x 4) stretched to 8 x 8 */
  hone_augment_matrix (m, H, W, 2, 1, 4, 4, FALSE, FALSE, 0, 1, 0, 0);
  hone_image_warp_affine (out, in, m, fill, 1, H, W);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        /* output centre (x + 0.5) sits at 2 + (x + 0.5) / 2 in the input */
        double px = 2 + (x + 0.5) / 2 - 0.5, py = 1 + (y + 0.5) / 2 - 0.5;
        g_assert_cmpfloat_with_epsilon (out[y * W + x], 0.5 * px + 2.0 * py + 1.0, 1e-5);
      }

  /* a box of whole pixels at scale 1 (crop 8 x 8 of 8 x 8) is the picture;
   * a crop box of half the side with 2x2 blocks gives back the blocks */
  float blocks[8 * 8];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      blocks[y * W + x] = (float) ((y / 2) * 4 + x / 2);
  hone_augment_matrix (m, H, W, 0, 0, 8, 8, FALSE, FALSE, 0, 1, 0, 0);
  hone_image_warp_affine (out, blocks, m, fill, 1, H, W);
  g_assert_cmpmem (out, sizeof out, blocks, sizeof blocks);
}

/* An independent warp in double precision: the value at index position
 * (px, py) is the bilinear blend of the four neighbours, each clamped to
 * the picture, times how much of it lies within half a pixel past the
 * edge plus the fade band. */
static double
naive_sample (const float *img, int H, int W, double px, double py, double fill)
{
  double cover = 1;
  double pos[2] = { px, py };
  int n[2] = { W, H };
  for (int a = 0; a < 2; a++)
    {
      double outside = 0;
      if (pos[a] < -0.5)
        outside = -0.5 - pos[a];
      else if (pos[a] > n[a] - 0.5)
        outside = pos[a] - (n[a] - 0.5);
      cover *= fmax (0, 1 - outside);
      pos[a] = fmin (fmax (pos[a], 0), n[a] - 1);
    }
  int x0 = (int) floor (pos[0]), y0 = (int) floor (pos[1]);
  double fx = pos[0] - x0, fy = pos[1] - y0;
  double v = 0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++)
      {
        int xx = MIN (x0 + dx, W - 1), yy = MIN (y0 + dy, H - 1);
        double w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
        v += w * img[yy * W + xx];
      }
  return cover * v + (1 - cover) * fill;
}

static void
test_warp_against_naive (void)
{
  const int H = 9, W = 13;
  g_autofree float *in = g_new (float, H * W);
  g_autofree float *out = g_new (float, H * W);
  HoneRng rng;
  hone_rng_init (&rng, 42, 7);
  hone_test_fill_uniform (&rng, in, H * W, 0, 1);
  const float fill[1] = { 0.25f };
  for (int trial = 0; trial < 50; trial++)
    {
      double m[6];
      double deg = hone_rng_uniform (&rng) * 360 - 180;
      double scale = 0.5 + 1.5 * hone_rng_uniform (&rng);
      double tx = 6 * hone_rng_uniform (&rng) - 3, ty = 6 * hone_rng_uniform (&rng) - 3;
      double cx = 3 * hone_rng_uniform (&rng), cy = 2 * hone_rng_uniform (&rng);
      hone_augment_matrix (m, H, W, cx, cy, W - 3, H - 2, trial & 1, trial & 2, deg, scale, tx, ty);
      hone_image_warp_affine (out, in, m, fill, 1, H, W);

      /* the map itself, from its definition: crop, flip, then turn, scale
       * and shift about the centre; checked by pushing input points forward */
      double r = deg * G_PI / 180;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            double u = m[0] * (x + 0.5) + m[1] * (y + 0.5) + m[2];
            double v = m[3] * (x + 0.5) + m[4] * (y + 0.5) + m[5];
            double p1x = (u - cx) * W / (W - 3), p1y = (v - cy) * H / (H - 2);
            if (trial & 1)
              p1x = W - p1x;
            if (trial & 2)
              p1y = H - p1y;
            double dx = p1x - W / 2.0, dy = p1y - H / 2.0;
            double ox = W / 2.0 + tx + scale * (cos (r) * dx + sin (r) * dy);
            double oy = H / 2.0 + ty + scale * (-sin (r) * dx + cos (r) * dy);
            g_assert_cmpfloat_with_epsilon (ox, x + 0.5, 1e-9);
            g_assert_cmpfloat_with_epsilon (oy, y + 0.5, 1e-9);
            double want = naive_sample (in, H, W, u - 0.5, v - 0.5, fill[0]);
            g_assert_cmpfloat_with_epsilon (out[y * W + x], want, 1e-4);
          }
    }
}

static void
test_colour_golden (void)
{
  /* one RGB pixel per case, as torchvision computes it */
  float px[3];

  px[0] = 0.2f, px[1] = 0.5f, px[2] = 0.9f;
  hone_image_adjust_brightness (px, 1.5f, 3, 1, 1);
  g_assert_cmpfloat_with_epsilon (px[0], 0.3, 1e-6);
  g_assert_cmpfloat_with_epsilon (px[1], 0.75, 1e-6);
  g_assert_cmpfloat (px[2], ==, 1.0f);   /* clamped */

  /* saturation 0 is the grey image; 2 pushes away from grey */
  px[0] = 0.2f, px[1] = 0.5f, px[2] = 0.9f;
  float grey = 0.2989f * 0.2f + 0.587f * 0.5f + 0.114f * 0.9f;
  hone_image_adjust_saturation (px, 0, 3, 1, 1);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat_with_epsilon (px[c], grey, 1e-6);
  px[0] = 0.4f, px[1] = 0.5f, px[2] = 0.6f;
  grey = 0.2989f * 0.4f + 0.587f * 0.5f + 0.114f * 0.6f;
  hone_image_adjust_saturation (px, 2, 3, 1, 1);
  g_assert_cmpfloat_with_epsilon (px[0], 2 * 0.4 - grey, 1e-6);
  g_assert_cmpfloat_with_epsilon (px[2], 2 * 0.6 - grey, 1e-6);

  /* hue: red a third of a turn on is green; orange half a turn on is azure */
  px[0] = 1, px[1] = 0, px[2] = 0;
  hone_image_adjust_hue (px, 1.0f / 3, 3, 1, 1);
  g_assert_cmpfloat_with_epsilon (px[0], 0, 1e-5);
  g_assert_cmpfloat_with_epsilon (px[1], 1, 1e-5);
  g_assert_cmpfloat_with_epsilon (px[2], 0, 1e-5);
  px[0] = 1, px[1] = 0.5f, px[2] = 0;
  hone_image_adjust_hue (px, 0.5f, 3, 1, 1);
  g_assert_cmpfloat_with_epsilon (px[0], 0, 1e-5);
  g_assert_cmpfloat_with_epsilon (px[1], 0.5, 1e-5);
  g_assert_cmpfloat_with_epsilon (px[2], 1, 1e-5);
  /* and back by the opposite shift */
  hone_image_adjust_hue (px, -0.5f, 3, 1, 1);
  g_assert_cmpfloat_with_epsilon (px[0], 1, 1e-5);
  g_assert_cmpfloat_with_epsilon (px[1], 0.5, 1e-5);
  g_assert_cmpfloat_with_epsilon (px[2], 0, 1e-5);

  /* contrast blends with the mean grey level of the whole picture */
  float img[3 * 2] = { 0.0f, 1.0f,   0.0f, 1.0f,   0.0f, 1.0f };   /* (3, 1, 2) black, white */
  float mean = 0.5f * (0.2989f + 0.587f + 0.114f);
  hone_image_adjust_contrast (img, 0.5f, 3, 1, 2);
  g_assert_cmpfloat_with_epsilon (img[0], 0.5f * mean, 1e-6);
  g_assert_cmpfloat_with_epsilon (img[1], 0.5f + 0.5f * mean, 1e-6);

  /* grey pictures: contrast uses their own mean; saturation and hue leave them */
  float g2[2] = { 0.2f, 0.6f };
  hone_image_adjust_contrast (g2, 0, 1, 1, 2);
  g_assert_cmpfloat_with_epsilon (g2[0], 0.4, 1e-6);
  g_assert_cmpfloat_with_epsilon (g2[1], 0.4, 1e-6);
  float g3[2] = { 0.2f, 0.6f };
  hone_image_adjust_saturation (g3, 0, 1, 1, 2);
  hone_image_adjust_hue (g3, 0.3f, 1, 1, 2);
  g_assert_cmpfloat (g3[0], ==, 0.2f);
  g_assert_cmpfloat (g3[1], ==, 0.6f);
}

static void
test_erase_normalize (void)
{
  const int C = 2, H = 5, W = 6;
  g_autofree float *img = labelled_image (C, H, W);
  const float fill[2] = { -1, -2 };
  hone_image_erase (img, fill, C, H, W, 1, 2, 3, 2);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        {
          gboolean in_box = y >= 1 && y < 4 && x >= 2 && x < 4;
          g_assert_cmpfloat (AT (img, H, W, c, y, x), ==, in_box ? fill[c] : 100 * c + 10 * y + x);
        }
  /* clipped at the borders */
  g_autofree float *img2 = labelled_image (1, H, W);
  hone_image_erase (img2, fill, 1, H, W, -2, 4, 4, 5);
  int erased = 0;
  for (int i = 0; i < H * W; i++)
    erased += img2[i] == fill[0];
  g_assert_cmpint (erased, ==, 2 * 2);

  float px[2 * 2] = { 0.5f, 1.0f, 0.0f, 0.25f };
  const float mean[2] = { 0.5f, 0.25f }, std[2] = { 0.25f, 0.5f };
  hone_image_normalize (px, mean, std, 2, 1, 2);
  g_assert_cmpfloat (px[0], ==, 0.0f);
  g_assert_cmpfloat (px[1], ==, 2.0f);
  g_assert_cmpfloat (px[2], ==, -0.5f);
  g_assert_cmpfloat (px[3], ==, 0.0f);
}

static void
test_cutout_area (void)
{
  const int C = 3, H = 16, W = 16;
  HoneAugment aug = { .cutout = 0.25 };
  g_autofree float *in = g_new (float, C * H * W);
  g_autofree float *out = g_new (float, C * H * W);
  for (int i = 0; i < C * H * W; i++)
    in[i] = 0.9f;
  const float fill[3] = { 0.1f, 0.2f, 0.3f };
  HoneRng rng;
  hone_rng_init (&rng, 3, 4);
  int full = 0;
  for (int trial = 0; trial < 200; trial++)
    {
      HoneAugmentDraw draw;
      hone_augment_draw (&draw, &aug, H, W, &rng);
      g_assert_false (draw.warp);
      g_assert_cmpint (draw.cutout_h, >=, 2);
      g_assert_cmpint (draw.cutout_h, <=, 4);
      g_assert_cmpint (draw.cutout_w, >=, 2);
      g_assert_cmpint (draw.cutout_w, <=, 4);
      hone_augment_apply (out, in, &draw, fill, C, H, W);
      for (int c = 0; c < C; c++)
        {
          int erased = 0;
          for (int i = 0; i < H * W; i++)
            erased += out[c * H * W + i] == fill[c];
          g_assert_cmpint (erased, ==, draw.cutout_h * draw.cutout_w);
        }
      full += draw.cutout_h == 4 && draw.cutout_w == 4;
    }
  /* a 4 x 4 square unless its centre is within 2 pixels of an edge */
  g_assert_cmpint (full, >, 200 / 2);
}

static void
test_flip_frequency (void)
{
  HoneAugment aug = { .hflip = 0.3, .vflip = 0.8 };
  HoneRng rng;
  hone_rng_init (&rng, 11, 0);
  const int n = 20000;
  int h = 0, v = 0;
  for (int i = 0; i < n; i++)
    {
      HoneAugmentDraw draw;
      hone_augment_draw (&draw, &aug, 8, 8, &rng);
      h += draw.hflip;
      v += draw.vflip;
      g_assert_true (draw.warp == (draw.hflip || draw.vflip));
    }
  /* 4.5 standard deviations */
  g_assert_cmpfloat (fabs ((double) h / n - 0.3), <, 4.5 * sqrt (0.3 * 0.7 / n));
  g_assert_cmpfloat (fabs ((double) v / n - 0.8), <, 4.5 * sqrt (0.8 * 0.2 / n));

  /* probability 1 always flips, 0 never draws */
  aug.hflip = 1;
  aug.vflip = 0;
  HoneAugmentDraw draw;
  hone_augment_draw (&draw, &aug, 8, 8, &rng);
  g_assert_true (draw.hflip);
  g_assert_false (draw.vflip);
}

static void
test_geometry_draws (void)
{
  HoneAugment aug = { .rotate = 30, .scale_min = 0.8, .scale_max = 1.25, .translate = 0.1,
                      .crop_scale_min = 0.3 };
  HoneRng rng;
  hone_rng_init (&rng, 5, 1);
  const int H = 32, W = 48, n = 4000;
  double sum_deg = 0, sum_area = 0;
  double max_deg = 0;
  for (int i = 0; i < n; i++)
    {
      HoneAugmentDraw d;
      hone_augment_draw (&d, &aug, H, W, &rng);
      g_assert_cmpfloat (fabs (d.degrees), <=, 30);
      g_assert_cmpfloat (d.scale, >=, 0.8);
      g_assert_cmpfloat (d.scale, <=, 1.25);
      g_assert_cmpfloat (fabs (d.tx), <=, 0.1 * W);
      g_assert_cmpfloat (fabs (d.ty), <=, 0.1 * H);
      /* the crop: whole pixels inside the picture, area and ratio in range
       * up to rounding */
      g_assert_cmpint (d.crop_x, >=, 0);
      g_assert_cmpint (d.crop_y, >=, 0);
      g_assert_cmpint (d.crop_x + d.crop_w, <=, W);
      g_assert_cmpint (d.crop_y + d.crop_h, <=, H);
      double area = (double) d.crop_w * d.crop_h / (H * W);
      g_assert_cmpfloat (area, >=, 0.3 * 0.85);
      g_assert_cmpfloat (area, <=, 1.0);
      double ratio = (double) d.crop_w / d.crop_h;
      g_assert_cmpfloat (ratio, >=, 0.75 * 0.85);
      g_assert_cmpfloat (ratio, <=, 4.0 / 3 / 0.85);
      g_assert_true (d.warp);
      sum_deg += d.degrees;
      sum_area += area;
      max_deg = MAX (max_deg, fabs (d.degrees));
    }
  g_assert_cmpfloat (fabs (sum_deg / n), <, 1.0);   /* sd of the mean: 30/sqrt(3n) ~ 0.27 */
  g_assert_cmpfloat (max_deg, >, 29);
  /* below the uniform mean 0.65: large boxes that do not fit are redrawn */
  g_assert_cmpfloat (sum_area / n, >, 0.45);
  g_assert_cmpfloat (sum_area / n, <, 0.65);

  /* the same generator state gives the same draw */
  HoneAugmentDraw a, b;
  HoneRng r1, r2;
  hone_rng_init (&r1, 99, 3);
  hone_rng_init (&r2, 99, 3);
  hone_augment_draw (&a, &aug, H, W, &r1);
  hone_augment_draw (&b, &aug, H, W, &r2);
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
}

static void
test_colour_jitter_draws (void)
{
  HoneAugment aug = { .brightness = 0.4, .contrast = 0.2, .saturation = 1.0, .hue = 0.1 };
  HoneRng rng;
  hone_rng_init (&rng, 8, 2);
  const int n = 4000;
  int first_seen[4] = { 0 };
  double sum_b = 0;
  for (int i = 0; i < n; i++)
    {
      HoneAugmentDraw d;
      hone_augment_draw (&d, &aug, 4, 4, &rng);
      g_assert_cmpint (d.n_color, ==, 4);
      int seen = 0;
      for (int k = 0; k < 4; k++)
        {
          float f = d.color_factor[k];
          seen |= 1 << d.color_op[k];
          switch (d.color_op[k])
            {
            case HONE_COLOR_BRIGHTNESS:
              g_assert_cmpfloat (f, >=, 0.6f);
              g_assert_cmpfloat (f, <=, 1.4f);
              sum_b += f;
              break;
            case HONE_COLOR_CONTRAST:
              g_assert_cmpfloat (f, >=, 0.8f);
              g_assert_cmpfloat (f, <=, 1.2f);
              break;
            case HONE_COLOR_SATURATION:
              g_assert_cmpfloat (f, >=, 0.0f);
              g_assert_cmpfloat (f, <=, 2.0f);
              break;
            case HONE_COLOR_HUE:
              g_assert_cmpfloat (f, >=, -0.1f);
              g_assert_cmpfloat (f, <=, 0.1f);
              break;
            }
        }
      g_assert_cmpint (seen, ==, 15);   /* a permutation */
      first_seen[d.color_op[0]]++;
    }
  g_assert_cmpfloat (fabs (sum_b / n - 1.0), <, 0.02);
  /* each adjustment comes first about a quarter of the time */
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat (fabs (first_seen[k] / (double) n - 0.25), <, 0.04);

  /* brightness alone on a flat grey picture stays within its bounds */
  HoneAugment bright = { .brightness = 0.5 };
  float in[3 * 4 * 4], out[3 * 4 * 4];
  for (int i = 0; i < 48; i++)
    in[i] = 0.4f;
  const float fill[3] = { 0, 0, 0 };
  float lo = 1, hi = 0;
  for (int i = 0; i < 2000; i++)
    {
      HoneAugmentDraw d;
      hone_augment_draw (&d, &bright, 4, 4, &rng);
      g_assert_cmpint (d.n_color, ==, 1);
      hone_augment_apply (out, in, &d, fill, 3, 4, 4);
      for (int j = 0; j < 48; j++)
        {
          g_assert_cmpfloat (out[j], ==, out[0]);
          g_assert_cmpfloat (out[j], >=, 0.2f - 1e-6f);
          g_assert_cmpfloat (out[j], <=, 0.6f + 1e-6f);
        }
      lo = MIN (lo, out[0]);
      hi = MAX (hi, out[0]);
    }
  g_assert_cmpfloat (lo, <, 0.22f);
  g_assert_cmpfloat (hi, >, 0.58f);
}

static void
test_beta (void)
{
  const double alphas[3] = { 1.0, 0.2, 4.0 };
  for (int a = 0; a < 3; a++)
    {
      double alpha = alphas[a];
      HoneRng rng;
      hone_rng_init (&rng, 21, (uint64_t) a);
      const int n = 20000;
      double sum = 0, sum2 = 0;
      for (int i = 0; i < n; i++)
        {
          double x = hone_augment_beta (&rng, alpha);
          g_assert_cmpfloat (x, >=, 0);
          g_assert_cmpfloat (x, <=, 1);
          sum += x;
          sum2 += x * x;
        }
      double mean = sum / n, var = sum2 / n - mean * mean;
      double want_var = 1.0 / (4 * (2 * alpha + 1));   /* Beta (a, a) */
      g_assert_cmpfloat (fabs (mean - 0.5), <, 4.5 * sqrt (want_var / n));
      g_assert_cmpfloat (fabs (var - want_var), <, 0.05 * want_var);
    }
  /* a tiny alpha is nearly always 0 or 1, never NaN */
  HoneRng rng;
  hone_rng_init (&rng, 1, 1);
  for (int i = 0; i < 1000; i++)
    {
      double x = hone_augment_beta (&rng, 0.01);
      g_assert_true (x >= 0 && x <= 1);
    }
}

static void
test_mixup (void)
{
  /* image i is flat with value i, label i: the targets reveal lambda and
   * the partner, and the pixels must agree */
  const int n = 8, C = 1, H = 2, W = 3, S = C * H * W;
  HoneAugment aug = { .mixup_alpha = 1.0 };
  HoneRng rng;
  hone_rng_init (&rng, 77, 0);
  double lambda_sum = 0;
  const int trials = 3000;
  for (int t = 0; t < trials; t++)
    {
      float images[8 * 6], targets[8 * 8];
      int32_t labels[8];
      for (int i = 0; i < n; i++)
        {
          labels[i] = i;
          for (int j = 0; j < S; j++)
            images[i * S + j] = (float) i;
        }
      g_assert_true (hone_augment_mix_batch (images, targets, labels, &aug, &rng, n, n, C, H, W));
      int used[8] = { 0 };
      double lambda = -1;
      for (int i = 0; i < n; i++)
        {
          double sum = 0;
          int partner = i;
          for (int k = 0; k < n; k++)
            {
              sum += targets[i * n + k];
              if (k != i && targets[i * n + k] > 0)
                partner = k;
            }
          g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-6);
          used[partner]++;
          if (partner != i)
            {
              double l = targets[i * n + i];
              if (lambda < 0)
                lambda = l;
              g_assert_cmpfloat_with_epsilon (l, lambda, 1e-6);   /* one lambda per batch */
              for (int j = 0; j < S; j++)
                g_assert_cmpfloat_with_epsilon (images[i * S + j], l * i + (1 - l) * partner, 1e-5);
            }
          else
            for (int j = 0; j < S; j++)
              g_assert_cmpfloat_with_epsilon (images[i * S + j], i, 1e-5);
        }
      for (int k = 0; k < n; k++)
        g_assert_cmpint (used[k], ==, 1);   /* the partners are a permutation */
      if (lambda >= 0)
        lambda_sum += lambda;
      else
        lambda_sum += 0.5;   /* identity permutation (1/8! per batch): no lambda to see */
    }
  g_assert_cmpfloat (fabs (lambda_sum / trials - 0.5), <, 0.02);

  /* off: nothing is touched */
  HoneAugment off = { 0 };
  float img[6] = { 1, 2, 3, 4, 5, 6 }, tg[2] = { 9, 9 };
  int32_t lb[1] = { 0 };
  g_assert_false (hone_augment_mix_batch (img, tg, lb, &off, &rng, 1, 2, 1, 2, 3));
  g_assert_cmpfloat (tg[0], ==, 9);
}

static void
test_cutmix (void)
{
  /* golden: two 1x4x4 images, the box rows 1..2, columns 0..2 swapped */
  const int H = 4, W = 4;
  float images[2 * 16], targets[2 * 3];
  for (int i = 0; i < 32; i++)
    images[i] = i < 16 ? 1.0f : 2.0f;
  const int32_t labels[2] = { 0, 2 };
  const int perm[2] = { 1, 0 };
  float lambda = hone_batch_cutmix (images, targets, labels, perm, 1, 0, 2, 3, 2, 3, 1, H, W);
  g_assert_cmpfloat_with_epsilon (lambda, 1 - 6.0 / 16, 1e-6);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        gboolean in_box = y >= 1 && y < 3 && x < 3;
        g_assert_cmpfloat (images[y * W + x], ==, in_box ? 2.0f : 1.0f);
        g_assert_cmpfloat (images[16 + y * W + x], ==, in_box ? 1.0f : 2.0f);
      }
  g_assert_cmpfloat_with_epsilon (targets[0], 10.0 / 16, 1e-6);
  g_assert_cmpfloat (targets[1], ==, 0);
  g_assert_cmpfloat_with_epsilon (targets[2], 6.0 / 16, 1e-6);
  g_assert_cmpfloat_with_epsilon (targets[3 + 2], 10.0 / 16, 1e-6);
  g_assert_cmpfloat_with_epsilon (targets[3 + 0], 6.0 / 16, 1e-6);

  /* random cutmix: every target row sums to 1, and the area of pixels
   * taken from the partner matches 1 - lambda */
  HoneAugment aug = { .cutmix_alpha = 1.0 };
  HoneRng rng;
  hone_rng_init (&rng, 5, 5);
  const int n = 4, S = 8 * 8;
  for (int t = 0; t < 200; t++)
    {
      float im[4 * 64], tg[4 * 4];
      int32_t lb[4] = { 0, 1, 2, 3 };
      for (int i = 0; i < n * S; i++)
        im[i] = (float) (i / S);
      g_assert_true (hone_augment_mix_batch (im, tg, lb, &aug, &rng, n, 4, 1, 8, 8));
      for (int i = 0; i < n; i++)
        {
          double sum = 0;
          for (int k = 0; k < 4; k++)
            sum += tg[i * 4 + k];
          g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-6);
          int own = 0;
          for (int j = 0; j < S; j++)
            own += im[i * S + j] == (float) i;
          if (tg[i * 4 + i] < 1.0f)
            g_assert_cmpfloat_with_epsilon (tg[i * 4 + i], own / (double) S, 1e-6);
        }
    }

  /* both on: each batch picks one; both kinds appear */
  HoneAugment both = { .cutmix_alpha = 1.0, .mixup_alpha = 1.0 };
  int mixed_pixels = 0, boxed = 0;
  for (int t = 0; t < 200; t++)
    {
      /* image i flat at i: mixup makes fractions, cutmix only moves pixels */
      float im[8 * 16], tg[8 * 8];
      int32_t lb[8];
      for (int i = 0; i < 8; i++)
        {
          lb[i] = i;
          for (int j = 0; j < 16; j++)
            im[i * 16 + j] = (float) i;
        }
      g_assert_true (hone_augment_mix_batch (im, tg, lb, &both, &rng, 8, 8, 1, 4, 4));
      gboolean fractional = FALSE;
      for (int i = 0; i < 8 * 16; i++)
        fractional |= im[i] != floorf (im[i]);
      mixed_pixels += fractional;
      boxed += !fractional;
    }
  g_assert_cmpint (mixed_pixels, >, 60);
  g_assert_cmpint (boxed, >, 60);
}

static void
expect_invalid (const HoneAugment *aug, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (hone_augment_validate (aug, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_validate (void)
{
  HoneAugment aug = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_augment_validate (&aug, &error));
  g_assert_false (hone_augment_is_active (&aug));
  HoneAugment full = { .hflip = 0.5, .vflip = 1, .rotate = 180, .scale_min = 0.5, .scale_max = 4,
                       .translate = 0.5, .crop_scale_min = 1, .brightness = 1, .contrast = 1,
                       .saturation = 1, .hue = 0.5, .cutout = 1, .mixup_alpha = 0.2,
                       .cutmix_alpha = 1 };
  g_assert_true (hone_augment_validate (&full, &error));
  g_assert_no_error (error);
  g_assert_true (hone_augment_is_active (&full));
  HoneAugment mix = { .mixup_alpha = 0.4 };
  g_assert_true (hone_augment_is_active (&mix));

  aug = (HoneAugment) { .rotate = 400 };
  expect_invalid (&aug, "augment.rotate = 400 is out of range: use 0 to 180");
  aug = (HoneAugment) { .hflip = 1.5 };
  expect_invalid (&aug, "augment.hflip = 1.5 is out of range: use a probability from 0 to 1");
  aug = (HoneAugment) { .vflip = NAN };
  expect_invalid (&aug, "augment.vflip = nan is out of range: use a probability from 0 to 1");
  aug = (HoneAugment) { .scale_min = 0.5 };
  expect_invalid (&aug, "augment.scale_max = 0 is out of range: use more than 0 and up to 4, "
                        "or 0 for both scale_min and scale_max (off)");
  aug = (HoneAugment) { .scale_min = 1e-5, .scale_max = 4.5 };
  expect_invalid (&aug, "augment.scale_max = 4.5 is out of range: use more than 0 and up to 4, "
                        "or 0 for both scale_min and scale_max (off)");
  aug = (HoneAugment) { .scale_min = 1e-5, .scale_max = 4 };
  g_assert_true (hone_augment_validate (&aug, NULL));
  aug = (HoneAugment) { .scale_min = 2, .scale_max = 1 };
  expect_invalid (&aug, "augment.scale_min = 2 is larger than augment.scale_max = 1: "
                        "use scale_min <= scale_max");
  aug = (HoneAugment) { .translate = 0.6 };
  expect_invalid (&aug, "augment.translate = 0.6 is out of range: use 0 to 0.5");
  aug = (HoneAugment) { .crop_scale_min = -0.1 };
  expect_invalid (&aug, "augment.crop_scale_min = -0.1 is out of range: use 0 (off) or an area "
                        "fraction up to 1");
  aug = (HoneAugment) { .brightness = 2 };
  expect_invalid (&aug, "augment.brightness = 2 is out of range: use 0 to 1");
  aug = (HoneAugment) { .hue = 0.6 };
  expect_invalid (&aug, "augment.hue = 0.6 is out of range: use 0 to 0.5");
  aug = (HoneAugment) { .cutout = INFINITY };
  expect_invalid (&aug, "augment.cutout = inf is out of range: use 0 to 1");
  aug = (HoneAugment) { .mixup_alpha = -1 };
  expect_invalid (&aug, "augment.mixup_alpha = -1 is out of range: use 0 (off) to 1000");
  aug = (HoneAugment) { .cutmix_alpha = 1e9 };
  expect_invalid (&aug, "augment.cutmix_alpha = 1e+09 is out of range: use 0 (off) to 1000");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/augment/flips", test_flips);
  g_test_add_func ("/engine/augment/identity", test_identity);
  g_test_add_func ("/engine/augment/quarter-turns", test_quarter_turns);
  g_test_add_func ("/engine/augment/translate-border", test_translate_border);
  g_test_add_func ("/engine/augment/crop-region", test_crop_region);
  g_test_add_func ("/engine/augment/warp-naive", test_warp_against_naive);
  g_test_add_func ("/engine/augment/colour/golden", test_colour_golden);
  g_test_add_func ("/engine/augment/colour/draws", test_colour_jitter_draws);
  g_test_add_func ("/engine/augment/erase-normalize", test_erase_normalize);
  g_test_add_func ("/engine/augment/cutout-area", test_cutout_area);
  g_test_add_func ("/engine/augment/flip-frequency", test_flip_frequency);
  g_test_add_func ("/engine/augment/geometry-draws", test_geometry_draws);
  g_test_add_func ("/engine/augment/beta", test_beta);
  g_test_add_func ("/engine/augment/mixup", test_mixup);
  g_test_add_func ("/engine/augment/cutmix", test_cutmix);
  g_test_add_func ("/engine/augment/validate", test_validate);
  return g_test_run ();
}
