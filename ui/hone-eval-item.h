/* hone-eval-item.h: one validation image of an evaluation, as an item of
 * the Analyze page's gallery model: its thumbnail as a texture, the true
 * and predicted class, the confidence and the loss.
 *
 * Immutable once made.  It does not evaluate anything (hone-trainer.h). */
#pragma once

#include <gtk/gtk.h>

#include "hone-trainer.h"

G_BEGIN_DECLS

#define HONE_TYPE_EVAL_ITEM (hone_eval_item_get_type ())
G_DECLARE_FINAL_TYPE (HoneEvalItem, hone_eval_item, HONE, EVAL_ITEM, GObject)

/* Copies what it needs of sample; class_names has the evaluation's K names;
 * highest_loss: the sample is among the evaluation's highest-loss ones
 * (HoneEvaluation.worst). */
HoneEvalItem *hone_eval_item_new (const HoneEvalSample *sample, const char *const *class_names,
                                      int n_classes, gboolean highest_loss);

int         hone_eval_item_get_sample         (HoneEvalItem *self);
const char *hone_eval_item_get_name           (HoneEvalItem *self);
int         hone_eval_item_get_label          (HoneEvalItem *self);
int         hone_eval_item_get_predicted      (HoneEvalItem *self);
const char *hone_eval_item_get_label_name     (HoneEvalItem *self);
const char *hone_eval_item_get_predicted_name (HoneEvalItem *self);
double      hone_eval_item_get_loss           (HoneEvalItem *self);
/* The probability of the predicted class. */
double      hone_eval_item_get_confidence     (HoneEvalItem *self);
gboolean    hone_eval_item_get_misclassified  (HoneEvalItem *self);
gboolean    hone_eval_item_get_highest_loss   (HoneEvalItem *self);
/* The thumbnail scaled up by a whole factor to about 112 pixels (nearest
 * neighbour, so that small images stay sharp), or NULL when there is none. */
GdkTexture *hone_eval_item_get_texture        (HoneEvalItem *self);

G_END_DECLS
