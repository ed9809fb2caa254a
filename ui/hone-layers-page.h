/* hone-layers-page.h: the Layers page: every layer of the model grouped by
 * block, which of them train (freeze switches, presets, "Freeze up to
 * here"), the per-block learning-rate multipliers and the live count of
 * parameters that will train.
 *
 * Everything is written into the recipe (freeze.*, layers.lr_mult) and what
 * the page shows comes from the engine's own freezing code
 * (hone_recipe_plan_freezing), so it is exactly what training will do. */
#pragma once

#include <adwaita.h>

#include "hone-model.h"
#include "hone-recipe.h"

G_BEGIN_DECLS

#define HONE_TYPE_LAYERS_PAGE (hone_layers_page_get_type ())
G_DECLARE_FINAL_TYPE (HoneLayersPage, hone_layers_page, HONE, LAYERS_PAGE, AdwBin)

GtkWidget  *hone_layers_page_new        (void);
/* Both borrowed: they must outlive the page or be replaced; model NULL clears. */
void        hone_layers_page_set_recipe (HoneLayersPage *self, HoneRecipe *recipe);
void        hone_layers_page_set_model  (HoneLayersPage *self, HoneModel *model);
/* Re-reads the recipe after another page changed it. */
void        hone_layers_page_sync       (HoneLayersPage *self);

/* For tests and the status strip: the live count ("2.1 M of 11.2 M
 * parameters will train"), and the numbers behind it. */
const char *hone_layers_page_get_count_text (HoneLayersPage *self);
void        hone_layers_page_get_counts (HoneLayersPage *self, int64_t *trainable, int64_t *total);
/* The tree's rows (GtkTreeListRow items over HoneLayerItem), for tests. */
GListModel *hone_layers_page_get_rows (HoneLayersPage *self);

G_END_DECLS
