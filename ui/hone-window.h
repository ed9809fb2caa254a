/* hone-window.h: Hone's main window.
 *
 * A HoneWindow shows one HoneSession: the six pages (Model, Data, Layers,
 * Training, Run, Analyze) in an AdwViewStack under a view switcher, the
 * Train / Pause / Resume and Stop buttons, the main menu, and a status strip
 * that says what is training and how far it got.  Errors appear as toasts or
 * dialogs that name the file or setting and say what to do.
 *
 * The commands (train, pause, open-model, …) are the application's actions
 * (hone-application.c), which call the functions below on the active
 * window.  This file does not talk to the engine's threads: HoneSession
 * does. */
#pragma once

#include <adwaita.h>

#include "hone-session.h"

G_BEGIN_DECLS

#define HONE_TYPE_WINDOW (hone_window_get_type ())
G_DECLARE_FINAL_TYPE (HoneWindow, hone_window, HONE, WINDOW, AdwApplicationWindow)

HoneWindow  *hone_window_new              (AdwApplication *application);
HoneSession *hone_window_get_session      (HoneWindow *self);

/* Pages by name: "model", "data", "layers", "training", "run", "analyze". */
void         hone_window_show_page        (HoneWindow *self, const char *name);
const char  *hone_window_get_visible_page (HoneWindow *self);
GtkWidget   *hone_window_get_page         (HoneWindow *self, const char *name);

/* The commands.  The ones that ask for a file open a file chooser. */
void         hone_window_train            (HoneWindow *self);
void         hone_window_pause            (HoneWindow *self);
void         hone_window_resume           (HoneWindow *self);
void         hone_window_stop             (HoneWindow *self);
void         hone_window_open_model       (HoneWindow *self);
void         hone_window_open_data        (HoneWindow *self);
void         hone_window_open_project     (HoneWindow *self);
void         hone_window_save_project     (HoneWindow *self);
void         hone_window_export           (HoneWindow *self);
void         hone_window_show_runs        (HoneWindow *self);

/* The same without a chooser; errors are shown in the window. */
gboolean     hone_window_open_project_file (HoneWindow *self, const char *path);
gboolean     hone_window_save_project_file (HoneWindow *self, const char *path);
void         hone_window_export_file       (HoneWindow *self, const char *path);
gboolean     hone_window_open_run          (HoneWindow *self, const char *run_dir);

void         hone_window_toast            (HoneWindow *self, const char *message);
void         hone_window_show_error       (HoneWindow *self, const char *title, const char *message);

G_END_DECLS
