/* hone-layer-item.h: one row of the Layers page's tree: a block (with its
 * layers as children) or a layer (a node of the graph).
 *
 * Items hold what the rows show; the Layers page fills them from the
 * model's graph and updates the freezing state from the engine's plan.
 * They do not write the recipe. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

G_BEGIN_DECLS

#define HONE_TYPE_LAYER_ITEM (hone_layer_item_get_type ())
G_DECLARE_FINAL_TYPE (HoneLayerItem, hone_layer_item, HONE, LAYER_ITEM, GObject)

/* A block row (children: its layers) or a layer row.  op_name: the layer's
 * op ("Conv"); shape: its output shape as people read it ("64 × 14 × 14"). */
HoneLayerItem *hone_layer_item_new_block (const char *name, int index);
HoneLayerItem *hone_layer_item_new_layer (const char *name, const char *block, int node,
                                          const char *op_name, const char *shape);

gboolean     hone_layer_item_is_block   (HoneLayerItem *self);
const char  *hone_layer_item_get_name   (HoneLayerItem *self);
const char  *hone_layer_item_get_block  (HoneLayerItem *self);
/* Block: its position among the blocks (the head last); layer: its node index. */
int          hone_layer_item_get_index  (HoneLayerItem *self);
const char  *hone_layer_item_get_op     (HoneLayerItem *self);
const char  *hone_layer_item_get_shape  (HoneLayerItem *self);
/* A block shows its last layer's output. */
void         hone_layer_item_set_shape  (HoneLayerItem *self, const char *shape);
/* Block rows: the layers, a GListModel of HoneLayerItem; NULL for layers. */
GListStore  *hone_layer_item_get_children (HoneLayerItem *self);

/* The parameter value ids of this row (a block: all of its layers'). */
void         hone_layer_item_add_param   (HoneLayerItem *self, int id, int64_t numel);
const int   *hone_layer_item_get_params  (HoneLayerItem *self, int *n);
int64_t      hone_layer_item_get_n_params (HoneLayerItem *self);
/* "36.9 K" */
char        *hone_layer_item_format_params (int64_t n);

/* The state shown (each setter notifies when the value changes).
 * frozen: every parameter frozen; partly: some. */
void         hone_layer_item_set_state (HoneLayerItem *self, gboolean frozen, gboolean partly,
                                        double lr_mult, int unfreeze_epoch);
gboolean     hone_layer_item_get_frozen (HoneLayerItem *self);
gboolean     hone_layer_item_get_partly_frozen (HoneLayerItem *self);
double       hone_layer_item_get_lr_mult (HoneLayerItem *self);
int          hone_layer_item_get_unfreeze_epoch (HoneLayerItem *self);
/* Block rows: the block's own layers.lr_mult entry (1 when none). */
void         hone_layer_item_set_block_mult (HoneLayerItem *self, double mult);
double       hone_layer_item_get_block_mult (HoneLayerItem *self);

G_END_DECLS
