/* hone-recipe-doc.c: the README's table of recipe keys, made from the
 * engine's key table so that the two cannot drift apart.
 *
 *   hone-recipe-doc                  prints the Markdown table
 *   hone-recipe-doc --update README  rewrites the table in README in place
 *   hone-recipe-doc --check README   exits 1 when README's table is not the
 *                                    one printed, or when its example recipe
 *                                    does not load
 *
 * The table sits between RECIPE_KEYS_BEGIN and RECIPE_KEYS_END lines, the
 * example in a ```ini block between RECIPE_EXAMPLE_BEGIN and
 * RECIPE_EXAMPLE_END lines.  This is a developer's tool, not installed. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hone-engine.h"

#define RECIPE_KEYS_BEGIN "<!-- recipe-keys:begin (made by hone-recipe-doc --update README.md) -->"
#define RECIPE_KEYS_END "<!-- recipe-keys:end -->"
#define RECIPE_EXAMPLE_BEGIN "<!-- recipe-example:begin (hone-recipe-doc --check loads it) -->"
#define RECIPE_EXAMPLE_END "<!-- recipe-example:end -->"

static const char *
type_name (HoneRecipeType type)
{
  switch (type)
    {
    case HONE_RECIPE_BOOL:
      return "true/false";
    case HONE_RECIPE_INT:
      return "integer";
    case HONE_RECIPE_DOUBLE:
      return "number";
    case HONE_RECIPE_STRING:
      return "text";
    case HONE_RECIPE_CHOICE:
      return "choice";
    case HONE_RECIPE_LIST:
      return "list";
    default:
      return "?";
    }
}

/* Text for a table cell: '|' escaped. */
static void
append_cell (GString *out, const char *text)
{
  g_string_append (out, " ");
  for (const char *p = text; *p; p++)
    {
      if (*p == '|')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append (out, " |");
}

static char *
make_table (void)
{
  GString *out = g_string_new (NULL);
  g_string_append (out, "| Key | Type | Default | Allowed | What it does |\n"
                        "|---|---|---|---|---|\n");
  for (const HoneRecipeKey *k = hone_recipe_keys (); k->key; k++)
    {
      g_autofree char *key = g_strdup_printf ("`%s`", k->key);
      g_autofree char *def = *k->default_text ? g_strdup_printf ("`%s`", k->default_text)
                                              : g_strdup ("(empty)");
      g_string_append (out, "|");
      append_cell (out, key);
      append_cell (out, type_name (k->type));
      append_cell (out, def);
      append_cell (out, k->range);
      append_cell (out, k->help);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* The text between the line holding `begin` and the line holding `end`:
 * *start and *stop are its offsets in text.  FALSE when a marker is
 * missing. */
static gboolean
find_section (const char *text, const char *begin, const char *end, gsize *start, gsize *stop)
{
  const char *b = strstr (text, begin);
  if (b == NULL)
    return FALSE;
  const char *nl = strchr (b, '\n');
  if (nl == NULL)
    return FALSE;
  const char *e = strstr (nl + 1, end);
  if (e == NULL)
    return FALSE;
  *start = (gsize) (nl + 1 - text);
  *stop = (gsize) (e - text);
  return TRUE;
}

static int
check_example (const char *readme, const char *path)
{
  gsize start, stop;
  if (!find_section (readme, RECIPE_EXAMPLE_BEGIN, RECIPE_EXAMPLE_END, &start, &stop))
    {
      fprintf (stderr, "%s: no example recipe between %s and %s\n", path, RECIPE_EXAMPLE_BEGIN,
               RECIPE_EXAMPLE_END);
      return 1;
    }
  g_autofree char *section = g_strndup (readme + start, stop - start);
  const char *open = strstr (section, "```ini\n");
  const char *close = open ? strstr (open + 7, "```") : NULL;
  if (close == NULL)
    {
      fprintf (stderr, "%s: the example recipe is not in a ```ini block\n", path);
      return 1;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneRecipe) r = hone_recipe_from_data (open + 7, (gsize) (close - open - 7),
                                                    "the README's example recipe", &error);
  if (r == NULL)
    {
      fprintf (stderr, "%s: %s\n", path, error->message);
      return 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  g_autofree char *table = make_table ();
  if (argc == 1)
    {
      fputs (table, stdout);
      return 0;
    }
  if (argc != 3 || (strcmp (argv[1], "--check") != 0 && strcmp (argv[1], "--update") != 0))
    {
      fprintf (stderr, "Usage: hone-recipe-doc [--check README.md | --update README.md]\n");
      return 2;
    }
  const char *path = argv[2];
  g_autofree char *readme = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &readme, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  gsize start, stop;
  if (!find_section (readme, RECIPE_KEYS_BEGIN, RECIPE_KEYS_END, &start, &stop))
    {
      fprintf (stderr, "%s: no key table between the lines\n  %s\nand\n  %s\n", path,
               RECIPE_KEYS_BEGIN, RECIPE_KEYS_END);
      return 1;
    }

  if (strcmp (argv[1], "--update") == 0)
    {
      GString *out = g_string_new_len (readme, start);
      g_string_append (out, table);
      g_string_append (out, readme + stop);
      gboolean ok = g_file_set_contents (path, out->str, out->len, &error);
      g_string_free (out, TRUE);
      if (!ok)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      return check_example (readme, path);
    }

  g_autofree char *current = g_strndup (readme + start, stop - start);
  if (strcmp (current, table) != 0)
    {
      /* Show the first line that differs. */
      g_auto (GStrv) have = g_strsplit (current, "\n", -1);
      g_auto (GStrv) want = g_strsplit (table, "\n", -1);
      int i = 0;
      while (have[i] && want[i] && strcmp (have[i], want[i]) == 0)
        i++;
      fprintf (stderr, "%s: the recipe key table is out of date at its line %d:\n"
                       "  README:    %s\n  generated: %s\n"
                       "Run: hone-recipe-doc --update %s\n",
               path, i + 1, have[i] ? have[i] : "(end)", want[i] ? want[i] : "(end)", path);
      return 1;
    }
  return check_example (readme, path);
}
