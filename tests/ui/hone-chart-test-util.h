/* hone-chart-test-util.h: helpers for the ui suite: a real window under Xvfb,
 * waiting for frames, rendering a widget to pixels, reading them, and
 * screenshots of the whole screen (import -window root) when
 * HONE_UI_SCREENSHOTS names a folder. */
#pragma once

#include <adwaita.h>

#include "hone-recipe.h"
#include "hone-test-util.h"

G_BEGIN_DECLS

/* g_test_init, gtk_init and adw_init. */
void             hone_chart_test_init       (int *argc, char ***argv);
/* A window of size (width, height) showing child, presented and drawn. */
GtkWindow       *hone_chart_test_window     (GtkWidget *child, int width, int height);
/* Runs the main loop until widget's frame clock has drawn n more frames
 * (or a second has passed). */
void             hone_chart_test_wait_frames (GtkWidget *widget, int n);
/* Runs the main loop for about ms milliseconds. */
void             hone_chart_test_spin       (int ms);
/* The widget as the next frame draws it, on a (width, height) ARGB32 image. */
cairo_surface_t *hone_chart_test_render     (GtkWidget *widget);
/* Pixel (x, y) as un-premultiplied red, green, blue, alpha in 0..1. */
void             hone_chart_test_pixel      (cairo_surface_t *surface, int x, int y, GdkRGBA *out);
/* The colour distance (max over channels) of two colours. */
double           hone_chart_test_color_distance (const GdkRGBA *a, const GdkRGBA *b);
/* Forces the light or dark style. */
void             hone_chart_test_set_dark   (gboolean dark);
/* Saves the screen as HONE_UI_SCREENSHOTS/name.png, when that is set. */
void             hone_chart_test_screenshot (const char *name);

/* A quick deterministic run of cnn-s on `limit` images of fmnist:5-9, a
 * fifth of them for validation, `epochs` epochs of batches of 32. */
HoneRecipe      *hone_chart_test_tiny_recipe (int limit, int epochs);

G_END_DECLS
