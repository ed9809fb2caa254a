/* hone-freeze.c: a recipe's freezing and learning-rate multipliers applied
 * to a graph, shared by the trainer and the desktop app's Layers page.
 *
 * This file does not train: it only sets `trainable` and `lr_mult`. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "hone-freeze.h"
#include "hone-safetensors.h"

gboolean
hone_freeze_is_head (const HoneValue *v, char **head)
{
  g_return_val_if_fail (v != NULL, FALSE);
  if (strcmp (v->block, "head") == 0)
    return TRUE;
  for (int i = 0; head && head[i]; i++)
    if (strcmp (head[i], v->name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
prefix_matches (const HoneValue *v, const char *prefix)
{
  if (!prefix[0])
    return FALSE;
  if (g_str_has_prefix (v->name, prefix))
    return TRUE;
  gsize n = strlen (prefix);
  return strncmp (v->block, prefix, n) == 0 && (v->block[n] == '\0' || v->block[n] == '.');
}

gboolean
hone_freeze_matches (const HoneValue *v, char **head, const char *prefix)
{
  g_return_val_if_fail (v != NULL && prefix != NULL, FALSE);
  return strcmp (prefix, "all") == 0
         || (strcmp (prefix, "head") == 0 && hone_freeze_is_head (v, head))
         || prefix_matches (v, prefix);
}

GPtrArray *
hone_graph_blocks (const HoneGraph *g)
{
  g_return_val_if_fail (g != NULL, NULL);
  GPtrArray *blocks = g_ptr_array_new ();
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    {
      const char *b = hone_graph_node (g, i)->block;
      if (!b[0] || strcmp (b, "head") == 0)
        continue;
      gboolean seen = FALSE;
      for (guint j = 0; j < blocks->len && !seen; j++)
        seen = strcmp (blocks->pdata[j], b) == 0;
      if (!seen)
        g_ptr_array_add (blocks, (gpointer) b);
    }
  return blocks;
}

static int
block_index (GPtrArray *blocks, const char *block)
{
  for (guint j = 0; j < blocks->len; j++)
    if (strcmp (blocks->pdata[j], block) == 0)
      return (int) j;
  return 0;
}

static char *
blocks_text (GPtrArray *blocks)
{
  GString *s = g_string_new (NULL);
  for (guint j = 0; j < blocks->len; j++)
    g_string_append_printf (s, "%s%s", j ? ", " : "", (const char *) blocks->pdata[j]);
  return g_string_free (s, FALSE);
}

static int
set_matching (HoneGraph *g, char **head, const char *const *prefixes, gboolean trainable)
{
  int matched = 0;
  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      gboolean match = FALSE;
      for (int i = 0; prefixes[i] && !match; i++)
        match = hone_freeze_matches (v, head, prefixes[i]);
      if (match)
        {
          hone_graph_set_trainable (g, id, trainable);
          matched++;
        }
    }
  return matched;
}

int
hone_freeze_set_matching (HoneGraph *g, const char *const *prefixes, gboolean trainable)
{
  g_return_val_if_fail (g != NULL && prefixes != NULL, 0);
  g_auto (GStrv) head = hone_graph_head_params (g);
  return set_matching (g, head, prefixes, trainable);
}

/* What freeze.* makes of every parameter: trainable[id] for each value id
 * (others untouched).  Reads the graph only. */
static gboolean
compute_freezing (const HoneRecipe *r, const HoneGraph *g, const char *model, gboolean *trainable,
                  GError **error)
{
  g_auto (GStrv) head = hone_graph_head_params (g);
  g_autoptr (GPtrArray) blocks = hone_graph_blocks (g);
  int nb = (int) blocks->len;
  if (!model)
    model = "the model";

  if ((r->freeze_mode == HONE_FREEZE_LAST || r->freeze_mode == HONE_FREEZE_FIRST)
      && (r->freeze_blocks < 0 || r->freeze_blocks > nb))
    {
      g_autofree char *names = blocks_text (blocks);
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "freeze.blocks = %d is out of range: %s has %d blocks besides the head (%s)",
                   r->freeze_blocks, model, nb, names);
      return FALSE;
    }

  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      gboolean head_param = hone_freeze_is_head (v, head);
      int bi = block_index (blocks, v->block);
      gboolean t = TRUE;
      switch (r->freeze_mode)
        {
        case HONE_FREEZE_NONE:
        case HONE_FREEZE_LIST:
          t = TRUE;
          break;
        case HONE_FREEZE_HEAD:
          t = head_param;
          break;
        case HONE_FREEZE_LAST:
          t = head_param || bi >= nb - r->freeze_blocks;
          break;
        case HONE_FREEZE_FIRST:
          t = head_param || bi >= r->freeze_blocks;
          break;
        }
      trainable[id] = t;
    }

  if (r->freeze_mode == HONE_FREEZE_LIST)
    for (int i = 0; r->freeze_list && r->freeze_list[i]; i++)
      {
        int matched = 0;
        for (int id = 0; id < hone_graph_n_values (g); id++)
          {
            const HoneValue *v = hone_graph_value (g, id);
            if (v->kind == HONE_VALUE_PARAM && hone_freeze_matches (v, head, r->freeze_list[i]))
              {
                trainable[id] = FALSE;
                matched++;
              }
          }
        if (matched == 0)
          {
            g_autofree char *names = blocks_text (blocks);
            g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                         "freeze.list: no parameter or block of %s matches '%s' (blocks: %s, head)",
                         model, r->freeze_list[i], names);
            return FALSE;
          }
      }
  return TRUE;
}

/* What layers.lr_decay and layers.lr_mult make of every parameter's
 * multiplier: mult[id] for each value id (others untouched). */
static gboolean
compute_lr_mults (const HoneRecipe *r, const HoneGraph *g, const char *model, float *mult_out,
                  GError **error)
{
  g_auto (GStrv) head = hone_graph_head_params (g);
  g_autoptr (GPtrArray) blocks = hone_graph_blocks (g);
  int nb = (int) blocks->len;
  double decay = r->lr_decay > 0.0 ? r->lr_decay : 1.0;
  if (!model)
    model = "the model";

  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM)
        continue;
      int dist = hone_freeze_is_head (v, head) ? 0 : nb - block_index (blocks, v->block);
      mult_out[id] = (float) pow (decay, dist);
    }

  for (int i = 0; r->lr_mults && r->lr_mults[i]; i++)
    {
      const char *entry = r->lr_mults[i];
      const char *eq = strrchr (entry, '=');
      char *end = NULL;
      double mult = eq ? g_ascii_strtod (eq + 1, &end) : NAN;
      if (!eq || eq == entry || !end || end == eq + 1 || *end || !isfinite (mult) || mult < 0.0)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "layers.lr_mult entry '%s' is not PREFIX=MULTIPLIER with a multiplier of 0 or "
                       "more (for example layer4=0.5)", entry);
          return FALSE;
        }
      g_autofree char *prefix = g_strndup (entry, (gsize) (eq - entry));
      int matched = 0;
      for (int id = 0; id < hone_graph_n_values (g); id++)
        {
          const HoneValue *v = hone_graph_value (g, id);
          if (v->kind == HONE_VALUE_PARAM
              && (prefix_matches (v, prefix)
                  || (strcmp (prefix, "head") == 0 && hone_freeze_is_head (v, head))))
            {
              mult_out[id] = mult_out[id] * (float) mult;
              matched++;
            }
        }
      if (!matched)
        {
          g_autofree char *names = blocks_text (blocks);
          g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                       "layers.lr_mult: no parameter or block of %s matches '%s' (blocks: %s, head)",
                       model, prefix, names);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
hone_recipe_apply_freezing (const HoneRecipe *r, HoneGraph *g, const char *model, GError **error)
{
  g_return_val_if_fail (r != NULL && g != NULL, FALSE);
  int n = hone_graph_n_values (g);
  g_autofree gboolean *trainable = g_new0 (gboolean, MAX (n, 1));
  if (!compute_freezing (r, g, model, trainable, error))
    return FALSE;
  for (int id = 0; id < n; id++)
    if (hone_graph_value (g, id)->kind == HONE_VALUE_PARAM)
      hone_graph_set_trainable (g, id, trainable[id]);
  return TRUE;
}

gboolean
hone_recipe_apply_lr_mults (const HoneRecipe *r, HoneGraph *g, const char *model, GError **error)
{
  g_return_val_if_fail (r != NULL && g != NULL, FALSE);
  int n = hone_graph_n_values (g);
  g_autofree float *mult = g_new0 (float, MAX (n, 1));
  if (!compute_lr_mults (r, g, model, mult, error))
    return FALSE;
  for (int id = 0; id < n; id++)
    if (hone_graph_value (g, id)->kind == HONE_VALUE_PARAM)
      hone_graph_set_lr_mult (g, id, mult[id]);
  return TRUE;
}

gboolean
hone_recipe_plan_freezing (const HoneRecipe *r, const HoneGraph *g, const char *model,
                           HoneFreezePlan *plan, GError **error)
{
  g_return_val_if_fail (r != NULL && g != NULL && plan != NULL, FALSE);
  int n = hone_graph_n_values (g);
  g_autofree gboolean *trainable = g_new0 (gboolean, MAX (n, 1));
  g_autofree float *mult = g_new0 (float, MAX (n, 1));
  gboolean ok = compute_freezing (r, g, model, trainable, error)
                && compute_lr_mults (r, g, model, mult, error);
  g_auto (GStrv) head = hone_graph_head_params (g);
  for (int id = 0; id < n; id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      plan[id] = (HoneFreezePlan) { 0 };
      if (!ok || v->kind != HONE_VALUE_PARAM)
        continue;
      plan[id].trainable = trainable[id];
      plan[id].lr_mult = mult[id];
      for (int i = 0; !trainable[id] && i < r->n_unfreeze && !plan[id].unfreeze_epoch; i++)
        {
          g_auto (GStrv) prefixes = g_strsplit (r->unfreeze_what[i] ? r->unfreeze_what[i] : "", ",", -1);
          for (int k = 0; prefixes[k] && !plan[id].unfreeze_epoch; k++)
            if (hone_freeze_matches (v, head, g_strstrip (prefixes[k])))
              plan[id].unfreeze_epoch = r->unfreeze_epoch[i];
        }
    }
  return ok;
}
