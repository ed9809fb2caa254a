/* hone-preferences-window.h: Hone's preferences (the style: follow the
 * system, light or dark), stored in GSettings. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define HONE_TYPE_PREFERENCES_WINDOW (hone_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (HonePreferencesWindow, hone_preferences_window, HONE, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

/* settings may be NULL (no schema installed): the choice then applies to
 * this run only. */
HonePreferencesWindow *hone_preferences_window_new (GtkWindow *parent, GSettings *settings);

G_END_DECLS
