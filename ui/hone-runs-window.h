/* hone-runs-window.h: the list of past runs (under
 * $XDG_DATA_HOME/hone/runs): model, data, when, how far, how well.
 * Activating one reopens it in the window: its recipe, curves and model. */
#pragma once

#include <adwaita.h>

#include "hone-window.h"

G_BEGIN_DECLS

#define HONE_TYPE_RUNS_WINDOW (hone_runs_window_get_type ())
G_DECLARE_FINAL_TYPE (HoneRunsWindow, hone_runs_window, HONE, RUNS_WINDOW, AdwWindow)

HoneRunsWindow *hone_runs_window_new (HoneWindow *parent);
/* Runs listed so far (they are read off the main thread); for tests. */
guint           hone_runs_window_get_n_runs (HoneRunsWindow *self);
/* Reopens the run at position i of the list, as a click does. */
gboolean        hone_runs_window_open (HoneRunsWindow *self, guint i);

G_END_DECLS
