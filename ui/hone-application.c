/* hone-application.c: the Hone application (see hone-application.h). */
#include "hone-config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "hone-application.h"
#include "hone-preferences-window.h"
#include "hone-window.h"

struct _HoneApplication
{
  AdwApplication parent_instance;
  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (HoneApplication, hone_application, ADW_TYPE_APPLICATION)

static gboolean running_uninstalled;

static HoneWindow *
active_window (HoneApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  /* a dialog may be the active one: its parent is the window */
  while (window != NULL && !HONE_IS_WINDOW (window))
    window = gtk_window_get_transient_for (window);
  if (window == NULL)
    {
      for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
        if (HONE_IS_WINDOW (l->data))
          return l->data;
      HoneWindow *win = hone_window_new (ADW_APPLICATION (self));
      gtk_window_present (GTK_WINDOW (win));
      return win;
    }
  return HONE_WINDOW (window);
}

#define WINDOW_ACTION(name, func)                                                    \
  static void                                                                        \
  action_##name (GSimpleAction *action, GVariant *parameter, gpointer user_data)     \
  {                                                                                  \
    func (active_window (HONE_APPLICATION (user_data)));                             \
  }

WINDOW_ACTION (open_model, hone_window_open_model)
WINDOW_ACTION (open_data, hone_window_open_data)
WINDOW_ACTION (train, hone_window_train)
WINDOW_ACTION (pause, hone_window_pause)
WINDOW_ACTION (resume, hone_window_resume)
WINDOW_ACTION (stop, hone_window_stop)
WINDOW_ACTION (export, hone_window_export)
WINDOW_ACTION (save, hone_window_save_project)
WINDOW_ACTION (open_project, hone_window_open_project)
WINDOW_ACTION (runs, hone_window_show_runs)

static void
action_show_page (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  HoneWindow *win = active_window (HONE_APPLICATION (user_data));
  hone_window_show_page (win, g_variant_get_string (parameter, NULL));
  gtk_window_present (GTK_WINDOW (win));
}

static void
action_preferences (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  HoneApplication *self = user_data;
  HonePreferencesWindow *prefs = hone_preferences_window_new (GTK_WINDOW (active_window (self)),
                                                              self->settings);
  gtk_window_present (GTK_WINDOW (prefs));
}

static void
action_shortcuts (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  HoneWindow *win = active_window (HONE_APPLICATION (user_data));
  gtk_widget_activate_action (GTK_WIDGET (win), "win.show-help-overlay", NULL);
}

static void
action_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  HoneWindow *win = active_window (HONE_APPLICATION (user_data));
  const char *developers[] = { _("The Hone authors"), NULL };
  GtkWidget *about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                                   "transient-for", win,
                                   "application-name", "Hone",
                                   "application-icon", HONE_APP_ID,
                                   "version", HONE_VERSION,
                                   "comments", _("Fine-tune pretrained image classifiers and watch them learn"),
                                   "developers", developers,
                                   "license-type", GTK_LICENSE_GPL_3_0,
                                   /* TRANSLATORS: your name and e-mail, one per line */
                                   "translator-credits", _("translator-credits"),
                                   NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
action_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  HoneApplication *self = user_data;

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL;)
    {
      GtkWindow *window = l->data;
      l = l->next;
      gtk_window_close (window);
    }
}

static const GActionEntry app_actions[] = {
  { "open-model", action_open_model },
  { "open-data", action_open_data },
  { "train", action_train },
  { "pause", action_pause },
  { "resume", action_resume },
  { "stop", action_stop },
  { "export", action_export },
  { "save", action_save },
  { "open-project", action_open_project },
  { "runs", action_runs },
  { "show-page", action_show_page, "s" },
  { "preferences", action_preferences },
  { "shortcuts", action_shortcuts },
  { "about", action_about },
  { "quit", action_quit },
};

static const struct
{
  const char *action;
  const char *accels[3];
} app_accels[] = {
  { "app.open-project", { "<Control>o", NULL } },
  { "app.save", { "<Control>s", NULL } },
  { "app.open-model", { "<Control><Shift>o", NULL } },
  { "app.open-data", { "<Control>d", NULL } },
  { "app.train", { "<Control>Return", NULL } },
  { "app.pause", { "<Control>p", NULL } },
  { "app.resume", { "<Control>r", NULL } },
  { "app.stop", { "<Control>period", NULL } },
  { "app.export", { "<Control>e", NULL } },
  { "app.runs", { "<Control>h", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "app.quit", { "<Control>q", NULL } },
  { "app.show-page::model", { "<Alt>1", NULL } },
  { "app.show-page::data", { "<Alt>2", NULL } },
  { "app.show-page::layers", { "<Alt>3", NULL } },
  { "app.show-page::training", { "<Alt>4", NULL } },
  { "app.show-page::run", { "<Alt>5", NULL } },
  { "app.show-page::analyze", { "<Alt>6", NULL } },
};

static void
set_enabled (HoneApplication *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  if (G_IS_SIMPLE_ACTION (action))
    g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
hone_application_sync_actions (HoneApplication *self, HoneWindow *window)
{
  g_return_if_fail (HONE_IS_APPLICATION (self));

  HoneSessionState state = hone_session_get_state (hone_window_get_session (window));
  gboolean active = state == HONE_SESSION_PREPARING || state == HONE_SESSION_RUNNING
                    || state == HONE_SESSION_PAUSED || state == HONE_SESSION_STOPPING;

  set_enabled (self, "train", !active);
  set_enabled (self, "pause", state == HONE_SESSION_RUNNING);
  set_enabled (self, "resume", state == HONE_SESSION_PAUSED);
  set_enabled (self, "stop", active && state != HONE_SESSION_STOPPING);
  set_enabled (self, "open-model", !active);
  set_enabled (self, "open-data", !active);
  set_enabled (self, "open-project", !active);
  set_enabled (self, "export", !active);
}

static void
apply_style (GSettings *settings, const char *key, gpointer user_data)
{
  g_autofree char *style = g_settings_get_string (settings, "style");
  AdwColorScheme scheme = ADW_COLOR_SCHEME_DEFAULT;

  if (g_strcmp0 (style, "light") == 0)
    scheme = ADW_COLOR_SCHEME_FORCE_LIGHT;
  else if (g_strcmp0 (style, "dark") == 0)
    scheme = ADW_COLOR_SCHEME_FORCE_DARK;
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), scheme);
}

GSettings *
hone_application_get_settings (HoneApplication *self)
{
  g_return_val_if_fail (HONE_IS_APPLICATION (self), NULL);
  return self->settings;
}

static void
hone_application_startup (GApplication *app)
{
  HoneApplication *self = HONE_APPLICATION (app);

  G_APPLICATION_CLASS (hone_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  for (guint i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), app_accels[i].action,
                                           app_accels[i].accels);

  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, HONE_APP_ID, TRUE)
                                              : NULL;
  if (schema != NULL)
    {
      self->settings = g_settings_new (HONE_APP_ID);
      g_signal_connect (self->settings, "changed::style", G_CALLBACK (apply_style), NULL);
      apply_style (self->settings, "style", NULL);
    }
  else
    g_message ("The settings schema %s is not installed: window size and preferences will not be kept "
               "(run from the build tree, or set GSETTINGS_SCHEMA_DIR)", HONE_APP_ID);

  if (running_uninstalled)
    {
      g_autofree char *icons = g_build_filename (HONE_SOURCE_ROOT, "icons", NULL);
      gtk_icon_theme_add_search_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()), icons);
    }
  gtk_window_set_default_icon_name (HONE_APP_ID);
}

static void
hone_application_activate (GApplication *app)
{
  HoneApplication *self = HONE_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    {
      HoneWindow *win = hone_window_new (ADW_APPLICATION (app));
      window = GTK_WINDOW (win);
      /* later starts reopen the last project; the first one starts on the
       * default recipe: press Train and it fine-tunes */
      if (self->settings != NULL)
        {
          g_autofree char *last = g_settings_get_string (self->settings, "last-project");
          if (last[0] != '\0' && g_file_test (last, G_FILE_TEST_IS_REGULAR))
            hone_window_open_project_file (win, last);
        }
    }
  gtk_window_present (window);
}

static void
hone_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      HoneWindow *win = hone_window_new (ADW_APPLICATION (app));
      gtk_window_present (GTK_WINDOW (win));
      if (path != NULL)
        hone_window_open_project_file (win, path);
    }
}

static void
hone_application_dispose (GObject *object)
{
  HoneApplication *self = HONE_APPLICATION (object);

  g_clear_object (&self->settings);
  G_OBJECT_CLASS (hone_application_parent_class)->dispose (object);
}

static void
hone_application_class_init (HoneApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = hone_application_dispose;
  app_class->startup = hone_application_startup;
  app_class->activate = hone_application_activate;
  app_class->open = hone_application_open;
}

static void
hone_application_init (HoneApplication *self)
{
}

HoneApplication *
hone_application_new (void)
{
  return g_object_new (HONE_TYPE_APPLICATION,
                       "application-id", HONE_APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/hone/Hone",
                       NULL);
}

void
hone_application_setup_uninstalled (const char *argv0)
{
  /* Run from the build tree (build/app/hone): translations, the compiled
   * settings schema and the icons come from the build and source trees. */
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = exe ? g_path_get_dirname (exe) : NULL;
  const char *localedir = HONE_LOCALEDIR;
  g_autofree char *build_locale = g_build_filename (HONE_BUILD_ROOT, "po", NULL);

  running_uninstalled = exe_dir != NULL && g_str_has_prefix (exe_dir, HONE_BUILD_ROOT "/");
  if (running_uninstalled)
    {
      localedir = build_locale;
      if (g_getenv ("GSETTINGS_SCHEMA_DIR") == NULL)
        {
          g_autofree char *schemas = g_build_filename (HONE_BUILD_ROOT, "data", NULL);
          g_setenv ("GSETTINGS_SCHEMA_DIR", schemas, TRUE);
        }
    }

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
