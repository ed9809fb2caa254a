/* hone-preferences-window.c: the preferences (see
 * hone-preferences-window.h).  The style is applied by HoneApplication when
 * the "style" key changes; without settings it is applied here. */
#include "hone-config.h"

#include "hone-preferences-window.h"

struct _HonePreferencesWindow
{
  AdwPreferencesWindow parent_instance;
  GSettings *settings;
  GtkCheckButton *system_check;
  GtkCheckButton *light_check;
  GtkCheckButton *dark_check;
};

G_DEFINE_FINAL_TYPE (HonePreferencesWindow, hone_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
check_toggled (GtkCheckButton *check, HonePreferencesWindow *self)
{
  if (!gtk_check_button_get_active (check))
    return;
  const char *style = check == self->light_check ? "light" : check == self->dark_check ? "dark" : "system";
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "style", style);
  else
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                        check == self->light_check ? ADW_COLOR_SCHEME_FORCE_LIGHT
                                        : check == self->dark_check ? ADW_COLOR_SCHEME_FORCE_DARK
                                        : ADW_COLOR_SCHEME_DEFAULT);
}

static void
hone_preferences_window_dispose (GObject *object)
{
  HonePreferencesWindow *self = HONE_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), HONE_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (hone_preferences_window_parent_class)->dispose (object);
}

static void
hone_preferences_window_class_init (HonePreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = hone_preferences_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hone/Hone/hone-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HonePreferencesWindow, system_check);
  gtk_widget_class_bind_template_child (widget_class, HonePreferencesWindow, light_check);
  gtk_widget_class_bind_template_child (widget_class, HonePreferencesWindow, dark_check);
}

static void
hone_preferences_window_init (HonePreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

HonePreferencesWindow *
hone_preferences_window_new (GtkWindow *parent, GSettings *settings)
{
  HonePreferencesWindow *self = g_object_new (HONE_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  AdwColorScheme scheme = adw_style_manager_get_color_scheme (adw_style_manager_get_default ());
  GtkCheckButton *active = scheme == ADW_COLOR_SCHEME_FORCE_LIGHT ? self->light_check
                         : scheme == ADW_COLOR_SCHEME_FORCE_DARK ? self->dark_check : self->system_check;

  self->settings = settings ? g_object_ref (settings) : NULL;
  if (settings != NULL)
    {
      g_autofree char *style = g_settings_get_string (settings, "style");
      active = g_strcmp0 (style, "light") == 0 ? self->light_check
             : g_strcmp0 (style, "dark") == 0 ? self->dark_check : self->system_check;
    }
  gtk_check_button_set_active (active, TRUE);
  g_signal_connect (self->system_check, "toggled", G_CALLBACK (check_toggled), self);
  g_signal_connect (self->light_check, "toggled", G_CALLBACK (check_toggled), self);
  g_signal_connect (self->dark_check, "toggled", G_CALLBACK (check_toggled), self);
  return self;
}
