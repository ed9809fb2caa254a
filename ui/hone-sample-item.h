/* hone-sample-item.h: one image of a data set as the Data page's sample
 * grid shows it: a thumbnail, its class and where it came from. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HONE_TYPE_SAMPLE_ITEM (hone_sample_item_get_type ())
G_DECLARE_FINAL_TYPE (HoneSampleItem, hone_sample_item, HONE, SAMPLE_ITEM, GObject)

/* texture is referenced; the strings are copied. */
HoneSampleItem *hone_sample_item_new (GdkTexture *texture, int label, const char *class_name,
                                      const char *path);
GdkTexture     *hone_sample_item_get_texture    (HoneSampleItem *self);
int             hone_sample_item_get_label      (HoneSampleItem *self);
const char     *hone_sample_item_get_class_name (HoneSampleItem *self);
const char     *hone_sample_item_get_path       (HoneSampleItem *self);

G_END_DECLS
