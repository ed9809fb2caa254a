/* hone-sample-item.h: one validation image of an evaluation, as an item of
 * the Analyze page's gallery model: its thumbnail as a texture, the true
 * and predicted class, the confidence and the loss.
 *
 * Immutable once made.  It does not evaluate anything (hone-trainer.h). */
#pragma once

#include <gtk/gtk.h>

#include "hone-trainer.h"

G_BEGIN_DECLS

#define HONE_TYPE_SAMPLE_ITEM (hone_sample_item_get_type ())
G_DECLARE_FINAL_TYPE (HoneSampleItem, hone_sample_item, HONE, SAMPLE_ITEM, GObject)

/* Copies what it needs of sample; class_names has the evaluation's K names;
 * highest_loss: the sample is among the evaluation's highest-loss ones
 * (HoneEvaluation.worst). */
HoneSampleItem *hone_sample_item_new (const HoneEvalSample *sample, const char *const *class_names,
                                      int n_classes, gboolean highest_loss);

int         hone_sample_item_get_sample         (HoneSampleItem *self);
const char *hone_sample_item_get_name           (HoneSampleItem *self);
int         hone_sample_item_get_label          (HoneSampleItem *self);
int         hone_sample_item_get_predicted      (HoneSampleItem *self);
const char *hone_sample_item_get_label_name     (HoneSampleItem *self);
const char *hone_sample_item_get_predicted_name (HoneSampleItem *self);
double      hone_sample_item_get_loss           (HoneSampleItem *self);
/* The probability of the predicted class. */
double      hone_sample_item_get_confidence     (HoneSampleItem *self);
gboolean    hone_sample_item_get_misclassified  (HoneSampleItem *self);
gboolean    hone_sample_item_get_highest_loss   (HoneSampleItem *self);
/* The thumbnail scaled up by a whole factor to about 112 pixels (nearest
 * neighbour, so that small images stay sharp), or NULL when there is none. */
GdkTexture *hone_sample_item_get_texture        (HoneSampleItem *self);

G_END_DECLS
