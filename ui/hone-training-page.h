/* hone-training-page.h: the Training page: optimizer, schedule,
 * regularisation, augmentation, loss, stopping and run settings as
 * preference rows, each explaining itself in one sentence; beside them the
 * learning rate over the whole run per block group (HoneLrPlot) and the
 * "When to freeze what" guidance.
 *
 * Every control writes the recipe through hone_recipe_set, so the engine's
 * ranges apply; an invalid value marks its row and leaves the recipe as it
 * was. */
#pragma once

#include <adwaita.h>

#include "hone-lr-plot.h"
#include "hone-model.h"
#include "hone-recipe.h"

G_BEGIN_DECLS

#define HONE_TYPE_TRAINING_PAGE (hone_training_page_get_type ())
G_DECLARE_FINAL_TYPE (HoneTrainingPage, hone_training_page, HONE, TRAINING_PAGE, AdwBin)

GtkWidget  *hone_training_page_new        (void);
/* Both borrowed; model NULL clears. */
void        hone_training_page_set_recipe (HoneTrainingPage *self, HoneRecipe *recipe);
void        hone_training_page_set_model  (HoneTrainingPage *self, HoneModel *model);
/* Re-reads the recipe after another page changed it. */
void        hone_training_page_sync       (HoneTrainingPage *self);
/* The training images and classes of the data set (the Data page's
 * "train-samples" and "classes"), for the steps per epoch of the plot and
 * the guidance; 0: estimated from the recipe. */
void        hone_training_page_set_data_size (HoneTrainingPage *self, int n_train, int n_classes);

/* For tests: the plot, the control of a recipe key (a GtkSpinButton,
 * GtkDropDown, GtkSwitch or AdwEntryRow; NULL when the page has none), the
 * guidance's suggestion text. */
HoneLrPlot *hone_training_page_get_plot    (HoneTrainingPage *self);
GtkWidget  *hone_training_page_get_control (HoneTrainingPage *self, const char *key);
const char *hone_training_page_get_suggestion (HoneTrainingPage *self);

G_END_DECLS
