/* hone-freeze.h: what a recipe's [freeze] and [layers] settings do to a
 * graph's parameters — which train and how fast — in one place, used by the
 * trainer before a run and by the desktop app's Layers page to show exactly
 * what training will do.
 *
 * Blocks are the graph's node blocks in node order, the head ("head", and
 * the parameters hone_graph_head_params names) apart.  A prefix matches a
 * parameter whose name starts with it, or whose block is the prefix or lies
 * under it ("layer3" matches block "layer3.1"); "head" matches the head's
 * parameters and "all" every parameter.
 *
 * This file does not train, plan or schedule. */
#pragma once

#include <glib.h>

#include "hone-error.h"
#include "hone-graph.h"
#include "hone-recipe.h"

G_BEGIN_DECLS

/* The blocks other than the head, in the order the nodes use them; the
 * strings are owned by the graph (transfer container). */
GPtrArray *hone_graph_blocks (const HoneGraph *g);

/* Whether the parameter v belongs to the head; head from
 * hone_graph_head_params (may be NULL). */
gboolean   hone_freeze_is_head (const HoneValue *v, char **head);

/* Whether prefix (see above; "all" and "head" included) names v. */
gboolean   hone_freeze_matches (const HoneValue *v, char **head, const char *prefix);

/* Sets every parameter's `trainable` as recipe->freeze_mode, freeze_blocks
 * and freeze_list say (progressive unfreezing not yet applied: that is the
 * state of the first epoch).  model names the model in error messages
 * ("resnet18"; NULL: "the model").  FALSE with HONE_ERROR_INVALID naming
 * freeze.blocks or freeze.list when the setting does not fit the graph;
 * the graph is then left as it was. */
gboolean   hone_recipe_apply_freezing (const HoneRecipe *recipe, HoneGraph *g, const char *model,
                                       GError **error);

/* Sets every parameter's `lr_mult`: layers.lr_decay^d for a block d blocks
 * before the head (the head 1), times each matching layers.lr_mult entry.
 * FALSE with HONE_ERROR_INVALID naming layers.lr_mult for an entry that
 * matches nothing (the graph left as it was). */
gboolean   hone_recipe_apply_lr_mults (const HoneRecipe *recipe, HoneGraph *g, const char *model,
                                       GError **error);

/* What a recipe does to one parameter, for showing it before a run. */
typedef struct
{
  gboolean trainable;         /* during the first epoch */
  float lr_mult;              /* layers.lr_decay and layers.lr_mult together */
  int unfreeze_epoch;         /* > 0: frozen at first, unfrozen by layers.unfreeze after this
                               * many epochs; 0 otherwise */
} HoneFreezePlan;

/* Fills plan[id] for every value id of g (plan has hone_graph_n_values (g)
 * entries; values other than parameters get { FALSE, 0, 0 }) with what
 * hone_recipe_apply_freezing, hone_recipe_apply_lr_mults and the recipe's
 * layers.unfreeze will do.  Only reads g (the same computation as the
 * apply functions, which then write it).  Errors as theirs. */
gboolean   hone_recipe_plan_freezing (const HoneRecipe *recipe, const HoneGraph *g, const char *model,
                                      HoneFreezePlan *plan, GError **error);

/* Sets `trainable` on every parameter one of prefixes matches; returns how
 * many matched (whatever they were before). */
int        hone_freeze_set_matching (HoneGraph *g, const char *const *prefixes, gboolean trainable);

G_END_DECLS
