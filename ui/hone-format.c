/* hone-format.c: numbers and names for people (see hone-format.h). */
#include "hone-config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "hone-format.h"

char *
hone_format_count (double n)
{
  double a = fabs (n);

  if (a >= 1e9)
    return g_strdup_printf ("%.1f G", n / 1e9);
  if (a >= 1e6)
    return g_strdup_printf ("%.1f M", n / 1e6);
  if (a >= 1e4)
    return g_strdup_printf ("%.1f k", n / 1e3);
  return g_strdup_printf ("%.0f", n);
}

char *
hone_format_params (int64_t n)
{
  g_autofree char *count = hone_format_count ((double) n);

  /* TRANSLATORS: a parameter count, "11.2 M parameters" */
  return g_strdup_printf (_("%s parameters"), count);
}

char *
hone_format_flops (double flops)
{
  if (flops >= 1e9)
    return g_strdup_printf ("%.2f GFLOPs", flops / 1e9);
  if (flops >= 1e6)
    return g_strdup_printf ("%.1f MFLOPs", flops / 1e6);
  return g_strdup_printf ("%.0f kFLOPs", flops / 1e3);
}

char *
hone_format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("—");

  long s = lround (seconds);
  if (s < 60)
    /* TRANSLATORS: a duration in seconds */
    return g_strdup_printf (_("%ld s"), s);
  if (s < 3600)
    /* TRANSLATORS: a duration, "3 min 20 s" */
    return g_strdup_printf (_("%ld min %ld s"), s / 60, s % 60);
  /* TRANSLATORS: a duration, "1 h 5 min" */
  return g_strdup_printf (_("%ld h %ld min"), s / 3600, (s % 3600) / 60);
}

char *
hone_format_percent (double fraction)
{
  return g_strdup_printf ("%.1f %%", 100.0 * fraction);
}

char *
hone_format_data_source (const char *source)
{
  if (source == NULL || *source == '\0')
    return g_strdup (_("No data"));

  if (g_str_has_prefix (source, "fmnist"))
    {
      gboolean test = g_str_has_prefix (source, "fmnist-test");
      const char *subset = strchr (source, ':');
      const char *name = test ? _("Fashion-MNIST test set") : _("Fashion-MNIST");

      if (subset == NULL)
        return g_strdup (name);
      /* "5-9" reads better with an en dash */
      g_autoptr (GString) s = g_string_new (subset + 1);
      g_string_replace (s, "-", "–", 0);
      return g_strdup_printf ("%s %s", name, s->str);
    }

  g_autofree char *trimmed = g_strdup (source);
  gsize len = strlen (trimmed);
  while (len > 1 && trimmed[len - 1] == '/')
    trimmed[--len] = '\0';
  return g_path_get_basename (trimmed);
}

char *
hone_format_model_name (const char *arch, const char *source)
{
  if (source != NULL && *source != '\0')
    {
      if (g_str_has_prefix (source, "zoo:"))
        return g_strdup (source + 4);
      return g_path_get_basename (source);
    }
  if (arch != NULL && *arch != '\0')
    return g_strdup (arch);
  return g_strdup (_("No model"));
}
