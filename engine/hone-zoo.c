/* hone-zoo.c: the zoo's manifest (zoo/zoo.json), where the zoo is, and the
 * size and SHA-256 check of its model files.
 *
 * The manifest is read with json-glib and every member is checked for type
 * and range: a zoo folder may come from anywhere, so an entry's file must be
 * a plain name inside the folder (no '/', no "..").  This file does not
 * load models: hone_model_load does, after hone_zoo_resolve. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "data/hone-dataset.h"
#include "data/hone-loader.h"
#include "hone-arch.h"
#include "hone-file-private.h"
#include "hone-zoo.h"

struct _HoneZoo
{
  char *dir;
  GPtrArray *entries;   /* HoneZooEntry * */
};

/* ---- where ---------------------------------------------------------------- */

/* TRUE when this program's executable lies under the build tree it was
 * configured in (tests, ./build/app/hone-cli). */
static gboolean
running_from_build_tree (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *root = g_canonicalize_filename (HONE_BUILD_ROOT, NULL);
  if (!exe)
    return FALSE;
  gsize n = strlen (root);
  return strncmp (exe, root, n) == 0 && (exe[n] == '/' || exe[n] == '\0');
}

char *
hone_zoo_default_dir (void)
{
  const char *env = g_getenv ("HONE_ZOO_DIR");
  if (env && env[0])
    return g_strdup (env);
  if (running_from_build_tree () && g_file_test (HONE_SOURCE_ZOO_DIR, G_FILE_TEST_IS_DIR))
    return g_strdup (HONE_SOURCE_ZOO_DIR);
  return g_strdup (HONE_INSTALLED_ZOO_DIR);
}

/* ---- entries -------------------------------------------------------------- */

void
hone_zoo_entry_free (HoneZooEntry *e)
{
  if (!e)
    return;
  g_free (e->name);
  g_free (e->description);
  g_free (e->arch);
  g_strfreev (e->classes);
  g_free (e->source_classes);
  g_free (e->recipe);
  g_free (e->file);
  g_free (e->sha256);
  g_free (e->split);
  g_free (e->hone_version);
  g_free (e);
}

HoneZooEntry *
hone_zoo_entry_copy (const HoneZooEntry *e)
{
  g_return_val_if_fail (e != NULL, NULL);
  HoneZooEntry *c = g_memdup2 (e, sizeof *e);
  c->name = g_strdup (e->name);
  c->description = g_strdup (e->description);
  c->arch = g_strdup (e->arch);
  c->classes = g_strdupv (e->classes);
  c->source_classes = g_strdup (e->source_classes);
  c->recipe = g_strdup (e->recipe);
  c->file = g_strdup (e->file);
  c->sha256 = g_strdup (e->sha256);
  c->split = g_strdup (e->split);
  c->hone_version = g_strdup (e->hone_version);
  return c;
}

static gboolean
valid_name (const char *name)
{
  if (!name || !name[0] || strlen (name) > 128 || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

static gboolean
valid_file (const char *file)
{
  return file && file[0] && file[0] != '.' && !strchr (file, '/') && strlen (file) < 256;
}

static gboolean
valid_sha256 (const char *s)
{
  if (!s || strlen (s) != 64)
    return FALSE;
  for (int i = 0; i < 64; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

/* ---- reading the manifest ------------------------------------------------- */

typedef struct
{
  const char *path;
  int index;
  GError **error;
} Reader;

static gboolean
bad (Reader *rd, const char *member, const char *what)
{
  g_set_error (rd->error, HONE_ERROR, HONE_ERROR_FORMAT,
               "%s: model %d: \"%s\" %s; remake the manifest with hone-cli pretrain",
               rd->path, rd->index + 1, member, what);
  return FALSE;
}

static gboolean
get_string (Reader *rd, JsonObject *o, const char *member, gboolean required, char **out)
{
  JsonNode *n = json_object_get_member (o, member);
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return required ? bad (rd, member, "is missing") : TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return bad (rd, member, "is not a string");
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
get_int (Reader *rd, JsonObject *o, const char *member, int64_t min, int64_t max, int64_t *out)
{
  JsonNode *n = json_object_get_member (o, member);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return bad (rd, member, "is missing or not a whole number");
  int64_t v = json_node_get_int (n);
  if (v < min || v > max)
    return bad (rd, member, "is out of range");
  *out = v;
  return TRUE;
}

static gboolean
get_floats (Reader *rd, JsonObject *o, const char *member, int n, float *out)
{
  JsonNode *node = json_object_get_member (o, member);
  if (!node || !JSON_NODE_HOLDS_ARRAY (node))
    return bad (rd, member, "is missing or not an array");
  JsonArray *a = json_node_get_array (node);
  if ((int) json_array_get_length (a) != n)
    return bad (rd, member, "does not give one value per channel (at most 4)");
  for (int i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, (guint) i);
      if (!JSON_NODE_HOLDS_VALUE (e)
          || (json_node_get_value_type (e) != G_TYPE_DOUBLE && json_node_get_value_type (e) != G_TYPE_INT64))
        return bad (rd, member, "holds something that is not a number");
      double v = json_node_get_double (e);
      if (!(v > -1e6 && v < 1e6))
        return bad (rd, member, "holds a value out of range");
      out[i] = (float) v;
    }
  return TRUE;
}

static HoneZooEntry *
read_entry (Reader *rd, JsonNode *node)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      bad (rd, "(entry)", "is not an object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (HoneZooEntry) e = g_new0 (HoneZooEntry, 1);
  g_autofree char *input = NULL;
  int64_t v;
  if (!get_string (rd, o, "name", TRUE, &e->name) || !get_string (rd, o, "description", TRUE, &e->description)
      || !get_string (rd, o, "arch", TRUE, &e->arch) || !get_string (rd, o, "input", TRUE, &input)
      || !get_string (rd, o, "source_classes", FALSE, &e->source_classes)
      || !get_string (rd, o, "recipe", FALSE, &e->recipe) || !get_string (rd, o, "file", TRUE, &e->file)
      || !get_string (rd, o, "sha256", TRUE, &e->sha256) || !get_string (rd, o, "split", FALSE, &e->split)
      || !get_string (rd, o, "hone_version", FALSE, &e->hone_version))
    return NULL;
  if (!valid_name (e->name))
    return bad (rd, "name", "is not a name of lower-case letters, digits, '-', '_' and '.'"), NULL;
  if (!hone_arch_find (e->arch))
    return bad (rd, "arch", "is not a built-in architecture"), NULL;
  if (!valid_file (e->file))
    return bad (rd, "file", "is not a plain file name in the zoo's folder"), NULL;
  if (!valid_sha256 (e->sha256))
    return bad (rd, "sha256", "is not 64 lower-case hexadecimal digits"), NULL;
  if (strchr (e->description, '\n'))
    return bad (rd, "description", "is more than one line"), NULL;

  g_auto (GStrv) dims = g_strsplit (input, "x", -1);
  gint64 chw[3];
  gboolean ok = g_strv_length (dims) == 3;
  for (int i = 0; ok && i < 3; i++)
    ok = g_ascii_string_to_signed (dims[i], 10, 1, HONE_ARCH_MAX_SIZE, &chw[i], NULL);
  if (!ok || chw[0] > HONE_ARCH_MAX_CHANNELS)
    return bad (rd, "input", "is not CxHxW"), NULL;
  e->channels = (int) chw[0];
  e->height = (int) chw[1];
  e->width = (int) chw[2];
  int nc = MIN (e->channels, 4);
  if (!get_floats (rd, o, "mean", nc, e->mean) || !get_floats (rd, o, "std", nc, e->std))
    return NULL;
  for (int c = 0; c < nc; c++)
    if (!(e->std[c] > 0.0f))
      return bad (rd, "std", "holds a value that is not above 0"), NULL;

  JsonNode *cn = json_object_get_member (o, "classes");
  if (!cn || !JSON_NODE_HOLDS_ARRAY (cn) || json_array_get_length (json_node_get_array (cn)) < 1
      || json_array_get_length (json_node_get_array (cn)) > HONE_ARCH_MAX_CLASSES)
    return bad (rd, "classes", "is missing or not a list of class names"), NULL;
  JsonArray *ca = json_node_get_array (cn);
  guint n = json_array_get_length (ca);
  e->classes = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *s = json_array_get_element (ca, i);
      if (!JSON_NODE_HOLDS_VALUE (s) || json_node_get_value_type (s) != G_TYPE_STRING)
        return bad (rd, "classes", "holds something that is not a string"), NULL;
      e->classes[i] = g_strdup (json_node_get_string (s));
    }

  if (!get_int (rd, o, "bytes", 1, G_MAXINT64, &e->bytes) || !get_int (rd, o, "params", 0, G_MAXINT64, &e->params)
      || !get_int (rd, o, "samples", 0, G_MAXINT64, &e->samples)
      || !get_int (rd, o, "correct", 0, G_MAXINT64, &v))
    return NULL;
  e->correct = v;
  if (e->correct > e->samples)
    return bad (rd, "correct", "is more than samples"), NULL;
  e->accuracy = e->samples ? (double) e->correct / (double) e->samples : 0.0;
  return g_steal_pointer (&e);
}

static HoneZoo *
zoo_new (const char *dir)
{
  HoneZoo *zoo = g_new0 (HoneZoo, 1);
  zoo->dir = g_strdup (dir);
  zoo->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) hone_zoo_entry_free);
  return zoo;
}

HoneZoo *
hone_zoo_open (const char *dir, gboolean create, GError **error)
{
  g_autofree char *def = dir ? NULL : hone_zoo_default_dir ();
  const char *d = dir ? dir : def;
  g_autofree char *path = g_build_filename (d, HONE_ZOO_MANIFEST, NULL);

  if (create && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (g_mkdir_with_parents (d, 0755) != 0)
        {
          int err = errno;
          g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot create the zoo folder %s: %s", d,
                       g_strerror (err));
          return NULL;
        }
      return zoo_new (d);
    }
  if (!g_file_test (d, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "the model zoo folder %s does not exist: set HONE_ZOO_DIR to the folder that "
                   "holds zoo.json (the zoo/ folder of Hone's sources), or install Hone", d);
      return NULL;
    }

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO,
                   "%s holds no zoo.json, so it is not a model zoo folder: point HONE_ZOO_DIR at "
                   "one, or make one with hone-cli pretrain -o %s", d, d);
      return NULL;
    }
  /* bounded: a manifest is a few kB; refuse anything absurd before reading it */
  guint64 size = 0;
  int fd = hone_file_open_regular (path, path, &size, error);
  if (fd < 0)
    return NULL;
  close (fd);
  if (size > 64 * 1024 * 1024)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s is %" G_GUINT64_FORMAT " bytes, too large "
                   "for a zoo manifest", path, size);
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s is not valid JSON: %s", path, local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *models = root && JSON_NODE_HOLDS_OBJECT (root)
                       ? json_object_get_member (json_node_get_object (root), "models") : NULL;
  if (!models || !JSON_NODE_HOLDS_ARRAY (models))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "%s is not a zoo manifest: it needs an object with a \"models\" list", path);
      return NULL;
    }
  g_autoptr (HoneZoo) zoo = zoo_new (d);
  JsonArray *a = json_node_get_array (models);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      Reader rd = { path, (int) i, error };
      HoneZooEntry *e = read_entry (&rd, json_array_get_element (a, i));
      if (!e)
        return NULL;
      for (guint j = 0; j < zoo->entries->len; j++)
        if (strcmp (((HoneZooEntry *) zoo->entries->pdata[j])->name, e->name) == 0)
          {
            g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s names model '%s' twice", path, e->name);
            hone_zoo_entry_free (e);
            return NULL;
          }
      g_ptr_array_add (zoo->entries, e);
    }
  return g_steal_pointer (&zoo);
}

void
hone_zoo_free (HoneZoo *zoo)
{
  if (!zoo)
    return;
  g_free (zoo->dir);
  g_ptr_array_unref (zoo->entries);
  g_free (zoo);
}

const char *
hone_zoo_dir (const HoneZoo *zoo)
{
  g_return_val_if_fail (zoo != NULL, NULL);
  return zoo->dir;
}

int
hone_zoo_n_entries (const HoneZoo *zoo)
{
  g_return_val_if_fail (zoo != NULL, 0);
  return (int) zoo->entries->len;
}

const HoneZooEntry *
hone_zoo_entry (const HoneZoo *zoo, int i)
{
  g_return_val_if_fail (zoo != NULL && i >= 0 && i < (int) zoo->entries->len, NULL);
  return zoo->entries->pdata[i];
}

const HoneZooEntry *
hone_zoo_find (const HoneZoo *zoo, const char *name, GError **error)
{
  g_return_val_if_fail (zoo != NULL && name != NULL, NULL);
  if (g_str_has_prefix (name, HONE_ZOO_PREFIX))
    name += strlen (HONE_ZOO_PREFIX);
  for (guint i = 0; i < zoo->entries->len; i++)
    if (strcmp (((HoneZooEntry *) zoo->entries->pdata[i])->name, name) == 0)
      return zoo->entries->pdata[i];
  GString *names = g_string_new (NULL);
  for (guint i = 0; i < zoo->entries->len; i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "", ((HoneZooEntry *) zoo->entries->pdata[i])->name);
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "zoo:%s is not in the model zoo at %s: use one of %s (hone-cli zoo lists them)", name,
               zoo->dir, names->len ? names->str : "(none: the zoo is empty)");
  g_string_free (names, TRUE);
  return NULL;
}

char *
hone_zoo_entry_path (const HoneZoo *zoo, const HoneZooEntry *entry)
{
  g_return_val_if_fail (zoo != NULL && entry != NULL, NULL);
  return g_build_filename (zoo->dir, entry->file, NULL);
}

char *
hone_file_sha256 (const char *path, int64_t *bytes, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  guint64 size = 0;
  int fd = hone_file_open_regular (path, path, &size, error);
  if (fd < 0)
    return NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (1 << 16);
  int64_t total = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 16);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int err = errno;
          close (fd);
          g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot read %s: %s", path, g_strerror (err));
          return NULL;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, (gsize) n);
      total += n;
    }
  close (fd);
  if (bytes)
    *bytes = total;
  return g_strdup (g_checksum_get_string (sum));
}

gboolean
hone_zoo_verify (const HoneZoo *zoo, const HoneZooEntry *entry, GError **error)
{
  g_return_val_if_fail (zoo != NULL && entry != NULL, FALSE);
  g_autofree char *path = hone_zoo_entry_path (zoo, entry);
  guint64 size = 0;
  int fd = hone_file_open_regular (path, path, &size, error);
  if (fd < 0)
    return FALSE;
  close (fd);
  /* the size first: a truncated or padded file is refused without reading it */
  if ((int64_t) size != entry->bytes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "%s is %" G_GUINT64_FORMAT " bytes but the zoo manifest records %" G_GINT64_FORMAT
                   " for zoo:%s: the file was changed or damaged; restore it (git checkout zoo/) or "
                   "remake it with hone-cli pretrain", path, size, entry->bytes, entry->name);
      return FALSE;
    }
  int64_t n = 0;
  g_autofree char *sum = hone_file_sha256 (path, &n, error);
  if (!sum)
    return FALSE;
  if (strcmp (sum, entry->sha256) != 0 || n != entry->bytes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "%s does not match the SHA-256 the zoo manifest records for zoo:%s (found %s, "
                   "expected %s): the file was changed or damaged and is not used; restore it "
                   "(git checkout zoo/) or remake it with hone-cli pretrain",
                   path, entry->name, sum, entry->sha256);
      return FALSE;
    }
  return TRUE;
}

char *
hone_zoo_resolve (const char *source, HoneZooEntry **entry, GError **error)
{
  g_return_val_if_fail (source != NULL, NULL);
  g_autoptr (HoneZoo) zoo = hone_zoo_open (NULL, FALSE, error);
  if (!zoo)
    return NULL;
  const HoneZooEntry *e = hone_zoo_find (zoo, source, error);
  if (!e || !hone_zoo_verify (zoo, e, error))
    return NULL;
  if (entry)
    *entry = hone_zoo_entry_copy (e);
  return hone_zoo_entry_path (zoo, e);
}

/* ---- writing -------------------------------------------------------------- */

void
hone_zoo_set_entry (HoneZoo *zoo, const HoneZooEntry *entry)
{
  g_return_if_fail (zoo != NULL && entry != NULL && valid_name (entry->name));
  for (guint i = 0; i < zoo->entries->len; i++)
    if (strcmp (((HoneZooEntry *) zoo->entries->pdata[i])->name, entry->name) == 0)
      {
        hone_zoo_entry_free (zoo->entries->pdata[i]);
        zoo->entries->pdata[i] = hone_zoo_entry_copy (entry);
        return;
      }
  g_ptr_array_add (zoo->entries, hone_zoo_entry_copy (entry));
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(HoneZooEntry *const *) a)->name, (*(HoneZooEntry *const *) b)->name);
}

static void
add_string (JsonBuilder *b, const char *member, const char *value)
{
  json_builder_set_member_name (b, member);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *member, int64_t value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, value);
}

static void
add_floats (JsonBuilder *b, const char *member, const float *v, int n)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    {
      /* the shortest decimal that reads back as the same float */
      char buf[32];
      g_snprintf (buf, sizeof buf, "%.9g", (double) v[i]);
      for (int digits = 1; digits <= 9; digits++)
        {
          char t[32];
          g_snprintf (t, sizeof t, "%.*g", digits, (double) v[i]);
          if ((float) g_ascii_strtod (t, NULL) == v[i])
            {
              memcpy (buf, t, sizeof t);
              break;
            }
        }
      json_builder_add_double_value (b, g_ascii_strtod (buf, NULL));
    }
  json_builder_end_array (b);
}

gboolean
hone_zoo_save (const HoneZoo *zoo, GError **error)
{
  g_return_val_if_fail (zoo != NULL, FALSE);
  g_autoptr (GPtrArray) sorted = g_ptr_array_copy (zoo->entries, NULL, NULL);
  g_ptr_array_set_free_func (sorted, NULL);   /* the copy would free zoo's entries */
  g_ptr_array_sort (sorted, compare_entries);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_int (b, "format", 1);
  json_builder_set_member_name (b, "models");
  json_builder_begin_array (b);
  for (guint i = 0; i < sorted->len; i++)
    {
      const HoneZooEntry *e = sorted->pdata[i];
      g_autofree char *input = g_strdup_printf ("%dx%dx%d", e->channels, e->height, e->width);
      json_builder_begin_object (b);
      add_string (b, "name", e->name);
      add_string (b, "description", e->description);
      add_string (b, "arch", e->arch);
      add_string (b, "input", input);
      add_floats (b, "mean", e->mean, MIN (e->channels, 4));
      add_floats (b, "std", e->std, MIN (e->channels, 4));
      json_builder_set_member_name (b, "classes");
      json_builder_begin_array (b);
      for (int c = 0; e->classes && e->classes[c]; c++)
        json_builder_add_string_value (b, e->classes[c]);
      json_builder_end_array (b);
      add_string (b, "source_classes", e->source_classes);
      add_string (b, "file", e->file);
      add_string (b, "sha256", e->sha256);
      add_int (b, "bytes", e->bytes);
      add_int (b, "params", e->params);
      json_builder_set_member_name (b, "accuracy");
      json_builder_add_double_value (b, e->samples ? (double) e->correct / (double) e->samples : 0.0);
      add_int (b, "correct", e->correct);
      add_int (b, "samples", e->samples);
      add_string (b, "split", e->split);
      add_string (b, "hone_version", e->hone_version);
      add_string (b, "recipe", e->recipe);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  g_autofree char *full = g_strconcat (text, "\n", NULL);
  g_autofree char *path = g_build_filename (zoo->dir, HONE_ZOO_MANIFEST, NULL);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, full, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot write %s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- measuring ------------------------------------------------------------- */

HoneEvaluation *
hone_zoo_evaluate (HoneModel *model, const char *split, GError **error)
{
  g_return_val_if_fail (model != NULL && split != NULL, NULL);
  g_autoptr (HoneDataset) ds = hone_dataset_open (split, error);
  if (!ds)
    return NULL;
  if (hone_dataset_n_classes (ds) > model->n_classes)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "%s has %d classes but the model predicts %d", split,
                   hone_dataset_n_classes (ds), model->n_classes);
      return NULL;
    }
  int n = hone_dataset_n_samples (ds);
  if (n == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s holds no sample", split);
      return NULL;
    }
  g_autofree int *indices = g_new (int, n);
  for (int i = 0; i < n; i++)
    indices[i] = i;
  HoneLoaderConfig lc = { 0 };
  lc.format.channels = model->channels;
  lc.format.height = model->height;
  lc.format.width = model->width;
  memcpy (lc.format.mean, model->mean, sizeof lc.format.mean);
  memcpy (lc.format.std, model->std, sizeof lc.format.std);
  lc.sampling = HONE_SAMPLING_SEQUENTIAL;
  lc.batch = HONE_ZOO_EVAL_BATCH;
  lc.threads = 1;
  lc.prefetch = 2;
  if (!hone_graph_plan (model->graph, lc.batch, FALSE, error))
    return NULL;
  g_autoptr (HoneLoader) loader = hone_loader_new (ds, indices, n, &lc, error);
  if (!loader)
    return NULL;
  return hone_evaluate (model->graph, loader, ds, &lc.format, 0, NULL, NULL, error);
}

int64_t
hone_evaluation_correct (const HoneEvaluation *ev)
{
  g_return_val_if_fail (ev != NULL, 0);
  int64_t correct = 0;
  for (int c = 0; c < ev->n_classes; c++)
    correct += ev->confusion[(gsize) c * ev->n_classes + c];
  return correct;
}
