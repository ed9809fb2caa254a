/* hone-model.c: the one place a model is made ready: built from a built-in
 * architecture, loaded from a file Hone wrote, from the zoo ("zoo:NAME",
 * after its size and SHA-256 are checked) or from ONNX, and saved.
 *
 * Loading a Hone-written .safetensors builds the architecture its hone.*
 * metadata names, at the input it records (or the one asked for), and
 * loads every tensor by name.  When the classes asked for differ from the
 * file's head, or a fresh head is asked for, the head keeps the fresh
 * parameters the build initialised from opts->seed.
 *
 * This file does not train, read recipes or open datasets. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "data/hone-augment.h"
#include "data/hone-image.h"
#include "data/hone-image-decode.h"
#include "hone-arch.h"
#include "hone-model.h"
#include "hone-safetensors.h"
#include "hone-trainer.h"
#include "hone-zoo.h"
#if __has_include ("onnx/hone-onnx.h")
#include "onnx/hone-onnx.h"
#define HAVE_ONNX_IMPORT 1
#endif
#if __has_include ("onnx/hone-onnx-export.h")
#include "onnx/hone-onnx-export.h"
#define HAVE_ONNX_EXPORT 1
#endif

void
hone_model_options_init (HoneModelOptions *opts)
{
  g_return_if_fail (opts != NULL);
  *opts = (HoneModelOptions) { 0 };
  opts->dropout = -1.0;
}

void
hone_model_free (HoneModel *model)
{
  if (!model)
    return;
  hone_graph_free (model->graph);
  g_free (model->source);
  g_free (model->format);
  g_free (model->arch);
  g_free (model->description);
  g_strfreev (model->class_names);
  g_strfreev (model->head_params);
  g_free (model);
}

static char *
arch_names (void)
{
  GString *s = g_string_new (NULL);
  for (const HoneArchInfo *const *a = hone_arch_list (); *a; a++)
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", (*a)->name);
  return g_string_free (s, FALSE);
}

static char **
generic_class_names (int n)
{
  char **names = g_new0 (char *, n + 1);
  for (int c = 0; c < n; c++)
    names[c] = g_strdup_printf ("class %d", c);
  return names;
}

/* A built-in architecture; channels, height, width and classes of 0 take
 * the architecture's own. */
static HoneModel *
build_arch (const char *arch, int classes, int channels, int height, int width,
            const HoneModelOptions *opts, GError **error)
{
  const HoneArchInfo *info = arch ? hone_arch_find (arch) : NULL;
  if (!info)
    {
      g_autofree char *names = arch_names ();
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s is not a built-in architecture: use one of %s", arch ? arch : "(unset)", names);
      return NULL;
    }
  HoneArchOptions ao;
  hone_arch_options_init (&ao, info);
  ao.classes = classes > 0 ? classes : info->default_classes;
  ao.channels = channels > 0 ? channels : info->default_channels;
  ao.height = height > 0 ? height : info->default_size;
  ao.width = width > 0 ? width : info->default_size;
  ao.seed = opts->seed;
  if (opts->dropout > 0.0)
    ao.dropout = opts->dropout;
  HoneGraph *g = hone_arch_build (info->name, &ao, error);
  if (!g)
    return NULL;

  HoneModel *m = g_new0 (HoneModel, 1);
  m->graph = g;
  m->format = g_strdup ("arch");
  m->arch = g_strdup (info->name);
  /* description stays NULL: the architecture's own is hone_arch_find's */
  m->channels = ao.channels;
  m->height = ao.height;
  m->width = ao.width;
  hone_default_normalization (ao.channels, m->mean, m->std);
  m->n_classes = ao.classes;
  m->class_names = generic_class_names (ao.classes);
  m->head_params = hone_graph_head_params (g);
  return m;
}

HoneModel *
hone_model_build (const char *arch, const HoneModelOptions *opts, GError **error)
{
  g_return_val_if_fail (arch != NULL, NULL);
  HoneModelOptions defaults;
  hone_model_options_init (&defaults);
  if (!opts)
    opts = &defaults;
  return build_arch (arch, opts->classes, opts->channels, opts->height, opts->width, opts, error);
}

gboolean
hone_model_load_weights (HoneModel *model, const char *path, gboolean replace_head, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);
  HoneGraph *g = model->graph;
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, error);
  if (!st)
    return FALSE;
  char **head = model->head_params;
  gboolean mismatch = FALSE;
  for (int i = 0; head[i]; i++)
    {
      int id = hone_graph_find (g, head[i]);
      int ti = hone_safetensors_find (st, head[i]);
      HoneShape shape;
      if (id < 0 || ti < 0 || !hone_safetensors_tensor_shape (st, ti, &shape, NULL)
          || !hone_shape_equal (&shape, &hone_graph_value (g, id)->shape))
        mismatch = TRUE;
    }
  gboolean replace = mismatch || replace_head;

  /* a fresh head kept aside when the file's would fit */
  g_autoptr (GPtrArray) fresh = g_ptr_array_new_with_free_func (g_free);
  if (replace && !mismatch)
    for (int i = 0; head[i]; i++)
      {
        int id = hone_graph_find (g, head[i]);
        g_ptr_array_add (fresh, g_memdup2 (hone_graph_value_data (g, id),
                                           (gsize) hone_shape_numel (&hone_graph_value (g, id)->shape)
                                             * sizeof (float)));
      }
  g_auto (GStrv) skipped = NULL;
  if (!hone_graph_load_tensors (g, st, replace ? HONE_LOAD_ALLOW_HEAD_MISMATCH : HONE_LOAD_STRICT,
                                &skipped, error))
    return FALSE;
  if (replace && !mismatch)
    for (int i = 0; head[i]; i++)
      {
        int id = hone_graph_find (g, head[i]);
        memcpy (hone_graph_value_data (g, id), fresh->pdata[i],
                (gsize) hone_shape_numel (&hone_graph_value (g, id)->shape) * sizeof (float));
      }
  model->head_replaced = replace;
  return TRUE;
}

/* ---- the hone.* metadata --------------------------------------------------- */

static gboolean
parse_norm (const char *text, float *out, int n)
{
  g_auto (GStrv) parts = g_strsplit (text ? text : "", ",", -1);
  if ((int) g_strv_length (parts) != n)
    return FALSE;
  for (int c = 0; c < n; c++)
    {
      char *end = NULL;
      double v = g_ascii_strtod (parts[c], &end);
      if (end == parts[c] || *end != '\0' || !isfinite (v))
        return FALSE;
      out[c] = (float) v;
    }
  return TRUE;
}

static char **
read_class_names (GHashTable *md)
{
  const char *classes = md ? g_hash_table_lookup (md, "hone.classes") : NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!classes || !json_parser_load_from_data (parser, classes, -1, NULL)
      || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    return NULL;
  JsonArray *a = json_node_get_array (json_parser_get_root (parser));
  guint n = json_array_get_length (a);
  char **names = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      names[i] = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                   ? g_strdup (json_node_get_string (e)) : g_strdup_printf ("class %u", i);
    }
  return names;
}

void
hone_model_info_read (GHashTable *md, HoneModelInfo *info)
{
  g_return_if_fail (info != NULL);
  *info = (HoneModelInfo) { 0 };
  if (!md)
    return;
  const char *arch = g_hash_table_lookup (md, "hone.arch");
  if (arch && hone_arch_find (arch))
    info->arch = g_strdup (arch);
  const char *input = g_hash_table_lookup (md, "hone.input");
  g_auto (GStrv) dims = g_strsplit (input ? input : "", "x", -1);
  gint64 chw[3] = { 0 };
  gboolean ok = g_strv_length (dims) == 3;
  for (int i = 0; ok && i < 3; i++)
    ok = g_ascii_string_to_signed (dims[i], 10, 1, HONE_ARCH_MAX_SIZE, &chw[i], NULL);
  if (ok)
    {
      info->channels = (int) chw[0];
      info->height = (int) chw[1];
      info->width = (int) chw[2];
      int n = MIN (info->channels, 4);
      info->has_norm = parse_norm (g_hash_table_lookup (md, "hone.mean"), info->mean, n)
                       && parse_norm (g_hash_table_lookup (md, "hone.std"), info->std, n);
    }
  g_auto (GStrv) names = read_class_names (md);
  info->n_classes = names ? (int) g_strv_length (names) : 0;
}

void
hone_model_info_clear (HoneModelInfo *info)
{
  g_clear_pointer (&info->arch, g_free);
}

GHashTable *
hone_model_metadata (const HoneModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  if (model->arch)
    g_hash_table_insert (md, "hone.arch", g_strdup (model->arch));
  g_hash_table_insert (md, "hone.input", g_strdup_printf ("%dx%dx%d", model->channels,
                                                          model->height, model->width));
  GString *mean = g_string_new (NULL), *std = g_string_new (NULL);
  for (int c = 0; c < MIN (model->channels, 4); c++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (mean, "%s%s", c ? "," : "", g_ascii_dtostr (buf, sizeof buf, model->mean[c]));
      g_string_append_printf (std, "%s%s", c ? "," : "", g_ascii_dtostr (buf, sizeof buf, model->std[c]));
    }
  g_hash_table_insert (md, "hone.mean", g_string_free (mean, FALSE));
  g_hash_table_insert (md, "hone.std", g_string_free (std, FALSE));
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int c = 0; c < model->n_classes; c++)
    json_builder_add_string_value (b, model->class_names && model->class_names[c] ? model->class_names[c] : "");
  json_builder_end_array (b);
  g_autoptr (JsonNode) names = json_builder_get_root (b);
  g_hash_table_insert (md, "hone.classes", json_to_string (names, FALSE));
  return md;
}

/* ---- loading --------------------------------------------------------------- */

/* The classes of the file's head: hone.classes, else the rows of the head's
 * first parameter as the architecture names it. */
static int
file_classes (const HoneSafetensors *st, const char *arch, int recorded)
{
  if (recorded > 0)
    return recorded;
  const HoneArchInfo *info = hone_arch_find (arch);
  HoneShape shape;
  int ti = info && info->head_params[0] ? hone_safetensors_find (st, info->head_params[0]) : -1;
  if (ti >= 0 && hone_safetensors_tensor_shape (st, ti, &shape, NULL) && shape.rank >= 1
      && shape.d[0] >= 1 && shape.d[0] <= HONE_ARCH_MAX_CLASSES)
    return (int) shape.d[0];
  return 0;
}

/* A .safetensors file Hone wrote; display names it in messages (the path,
 * or zoo:NAME). */
static HoneModel *
load_hone_file (const char *path, const char *display, const HoneModelOptions *opts, GError **error)
{
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, error);
  if (!st)
    return NULL;
  GHashTable *md = hone_safetensors_metadata (st);
  g_auto (HoneModelInfo) info = { 0 };
  hone_model_info_read (md, &info);
  if (!info.arch || info.channels == 0)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_MISMATCH,
                   "%s: the file does not say which architecture and input it is for (metadata "
                   "hone.arch and hone.input, which Hone writes into its model files); for bare "
                   "weights such as a torchvision state_dict, choose the architecture (model.arch, "
                   "--arch) and load the file as its weights (model.weights, --weights)", display);
      return NULL;
    }
  int own = file_classes (st, info.arch, info.n_classes);
  int classes = opts->classes > 0 ? opts->classes : own;
  g_autoptr (HoneModel) m = build_arch (info.arch, classes,
                                        opts->channels > 0 ? opts->channels : info.channels,
                                        opts->height > 0 ? opts->height : info.height,
                                        opts->width > 0 ? opts->width : info.width, opts, error);
  if (!m)
    return NULL;
  g_auto (GStrv) names = read_class_names (md);
  gboolean replace = opts->replace_head
                     || !hone_model_classes_fit ((const char *const *) names, opts->class_names);
  if (!hone_model_load_weights (m, path, replace, error))
    return NULL;

  if (info.has_norm && info.channels == m->channels)
    {
      memcpy (m->mean, info.mean, sizeof m->mean);
      memcpy (m->std, info.std, sizeof m->std);
      m->norm_from_file = TRUE;
    }
  if (!m->head_replaced && names && (int) g_strv_length (names) == m->n_classes)
    {
      g_strfreev (m->class_names);
      m->class_names = g_steal_pointer (&names);
    }
  g_free (m->format);
  m->format = g_strdup ("hone");
  m->source = g_strdup (display);
  return g_steal_pointer (&m);
}

gboolean
hone_model_classes_fit (const char *const *own, const char *const *wanted)
{
  if (!own || !wanted)
    return TRUE;
  gboolean known = FALSE;
  for (int c = 0; own[c]; c++)
    {
      g_autofree char *generated = g_strdup_printf ("class %d", c);
      known |= strcmp (own[c], generated) != 0;
    }
  return !known || g_strv_equal ((const char *const *) own, wanted);
}

HoneModel *
hone_model_load (const char *source, const HoneModelOptions *opts, GError **error)
{
  g_return_val_if_fail (source != NULL, NULL);
  HoneModelOptions defaults;
  hone_model_options_init (&defaults);
  if (!opts)
    opts = &defaults;

  if (g_str_has_prefix (source, HONE_ZOO_PREFIX))
    {
      g_autoptr (HoneZooEntry) entry = NULL;
      g_autofree char *path = hone_zoo_resolve (source, &entry, error);
      if (!path)
        return NULL;
      HoneModel *m = load_hone_file (path, source, opts, error);
      if (m)
        {
          g_free (m->description);
          m->description = g_strdup (entry->description);
        }
      return m;
    }
  if (g_str_has_suffix (source, ".onnx"))
    {
#ifdef HAVE_ONNX_IMPORT
      return hone_onnx_import (source, opts, error);
#else
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "%s: this build of Hone does not read ONNX files yet; use a model Hone wrote "
                   "(.safetensors), zoo:NAME, or a built-in architecture with its weights", source);
      return NULL;
#endif
    }
  if (g_str_has_suffix (source, ".safetensors"))
    return load_hone_file (source, source, opts, error);

  g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
               "%s is not a model Hone reads: give a .safetensors file Hone wrote (such as a run's "
               "final.safetensors), an .onnx file, or zoo:NAME (hone-cli zoo lists them)", source);
  return NULL;
}

/* ---- saving ---------------------------------------------------------------- */

gboolean
hone_model_save (const HoneModel *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);
  if (g_str_has_suffix (path, ".safetensors"))
    {
      g_autoptr (GHashTable) md = hone_model_metadata (model);
      return hone_graph_save_safetensors (model->graph, path, md, error);
    }
  if (g_str_has_suffix (path, ".onnx"))
    {
#ifdef HAVE_ONNX_EXPORT
      return hone_onnx_export (model, path, error);
#else
      g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
                   "%s: this build of Hone does not write ONNX files yet; save as .safetensors", path);
      return FALSE;
#endif
    }
  g_set_error (error, HONE_ERROR, HONE_ERROR_UNSUPPORTED,
               "%s: say which format to write by the file's ending, .safetensors or .onnx", path);
  return FALSE;
}

/* ---- one image --------------------------------------------------------------- */

float *
hone_model_read_image (const HoneModel *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, NULL);
  HoneImageInfo info;
  g_autofree float *native = hone_image_decode_file (path, model->width, model->height, &info, error);
  if (!native)
    return NULL;
  float *out = g_new (float, (gsize) model->channels * model->height * model->width);
  hone_image_convert_resize (out, model->channels, model->height, model->width, native, info.channels,
                             info.height, info.width);
  for (int c = 0; c < model->channels; c++)
    hone_image_normalize (out + (gsize) c * model->height * model->width, &model->mean[MIN (c, 3)],
                          &model->std[MIN (c, 3)], 1, model->height, model->width);
  return out;
}
