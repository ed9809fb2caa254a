/* hone-application.h: the Hone application, io.github.hone.Hone.
 *
 * An AdwApplication, unique on the session bus, that opens HoneWindows
 * (a .hone project given on the command line opens in one).  Every command
 * is one of its actions, so menus, keyboard shortcuts, tests and
 * `gapplication action io.github.hone.Hone NAME` reach the same code:
 *
 *   open-model  open-data  train  pause  resume  stop  export  save
 *   open-project  runs  show-page (s)  preferences  shortcuts  about  quit
 *
 * The commands act on the active window.  This file does not make pages. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

typedef struct _HoneWindow HoneWindow;

#define HONE_TYPE_APPLICATION (hone_application_get_type ())
G_DECLARE_FINAL_TYPE (HoneApplication, hone_application, HONE, APPLICATION, AdwApplication)

HoneApplication *hone_application_new (void);
/* The app's settings, or NULL when the io.github.hone.Hone schema is not
 * installed (an uninstalled run without GSETTINGS_SCHEMA_DIR). */
GSettings       *hone_application_get_settings (HoneApplication *self);
/* Enables the commands that apply to window's session state. */
void             hone_application_sync_actions (HoneApplication *self, HoneWindow *window);
/* Sets up paths for a run from the build tree (translations, settings,
 * icons); called by main before anything else. */
void             hone_application_setup_uninstalled (const char *argv0);

G_END_DECLS
