/* hone-ui-test-util.h: helpers for the UI tests: a window hosting one
 * widget, running the main loop until it has drawn, rendering a widget to a
 * cairo image surface, screenshots, and a HoneModel built from a built-in
 * architecture. */
#pragma once

#include <adwaita.h>

#include "hone-engine.h"
#include "hone-model.h"
#include "hone-test-util.h"

G_BEGIN_DECLS

/* gtk_init, adw_init, the tests' GTest setup; the translations of the
 * build folder (HONE_BUILD_DIR/po) when LANGUAGE asks for them. */
void             hone_ui_test_init (int *argc, char ***argv);
/* A window of width x height hosting child, presented and drawn. */
GtkWindow       *hone_ui_test_window (GtkWidget *child, int width, int height);
/* Runs the main loop for about ms milliseconds. */
void             hone_ui_test_wait (int ms);
/* Runs the main loop until done (*done TRUE) or timeout_ms; returns *done. */
gboolean         hone_ui_test_wait_for (gboolean *done, int timeout_ms);
/* The widget as drawn now, in an ARGB32 surface of its size (transfer full). */
cairo_surface_t *hone_ui_test_render (GtkWidget *widget);
/* When HONE_UI_SCREENSHOTS names a folder, writes the widget there as
 * NAME.png (and as NAME-dark.png in the dark style). */
void             hone_ui_test_screenshot (GtkWidget *widget, const char *name);
/* Scrolls the first scrolled window inside widget to fraction (0 top, 1
 * bottom) of its range. */
void             hone_ui_test_scroll (GtkWidget *widget, double fraction);
/* A model from a built-in architecture with fresh weights, filled by hand
 * (transfer full; free with hone_ui_test_model_free, which frees what
 * this filled in). */
HoneModel       *hone_ui_test_model (const char *arch, int classes, int channels, int size);
void             hone_ui_test_model_free (HoneModel *model);

G_END_DECLS
