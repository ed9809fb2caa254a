/* hone-layer-item.c: a row of the Layers page's tree, as a GObject whose
 * state properties the cells bind to.
 *
 * This file knows nothing of recipes or the engine's freezing rules. */
#include "config.h"

#include <glib/gi18n.h>

#include "hone-layer-item.h"

struct _HoneLayerItem
{
  GObject parent_instance;

  gboolean is_block;
  char *name;
  char *block;
  int index;
  char *op;
  char *shape;
  GListStore *children;
  GArray *params;             /* int value ids */
  int64_t n_params;

  gboolean frozen;
  gboolean partly;
  double lr_mult;
  int unfreeze_epoch;
  double block_mult;
};

enum
{
  PROP_0,
  PROP_NAME,
  PROP_FROZEN,
  PROP_PARTLY_FROZEN,
  PROP_LR_MULT,
  PROP_UNFREEZE_EPOCH,
  PROP_BLOCK_MULT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (HoneLayerItem, hone_layer_item, G_TYPE_OBJECT)

static void
hone_layer_item_finalize (GObject *object)
{
  HoneLayerItem *self = HONE_LAYER_ITEM (object);
  g_free (self->name);
  g_free (self->block);
  g_free (self->op);
  g_free (self->shape);
  g_clear_object (&self->children);
  g_array_unref (self->params);
  G_OBJECT_CLASS (hone_layer_item_parent_class)->finalize (object);
}

static void
hone_layer_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HoneLayerItem *self = HONE_LAYER_ITEM (object);
  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_FROZEN:
      g_value_set_boolean (value, self->frozen);
      break;
    case PROP_PARTLY_FROZEN:
      g_value_set_boolean (value, self->partly);
      break;
    case PROP_LR_MULT:
      g_value_set_double (value, self->lr_mult);
      break;
    case PROP_UNFREEZE_EPOCH:
      g_value_set_int (value, self->unfreeze_epoch);
      break;
    case PROP_BLOCK_MULT:
      g_value_set_double (value, self->block_mult);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hone_layer_item_class_init (HoneLayerItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = hone_layer_item_finalize;
  object_class->get_property = hone_layer_item_get_property;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_FROZEN] = g_param_spec_boolean ("frozen", NULL, NULL, FALSE, ro);
  properties[PROP_PARTLY_FROZEN] = g_param_spec_boolean ("partly-frozen", NULL, NULL, FALSE, ro);
  properties[PROP_LR_MULT] = g_param_spec_double ("lr-mult", NULL, NULL, 0, G_MAXDOUBLE, 1, ro);
  properties[PROP_UNFREEZE_EPOCH] = g_param_spec_int ("unfreeze-epoch", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_BLOCK_MULT] = g_param_spec_double ("block-mult", NULL, NULL, 0, G_MAXDOUBLE, 1, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hone_layer_item_init (HoneLayerItem *self)
{
  self->params = g_array_new (FALSE, FALSE, sizeof (int));
  self->lr_mult = 1.0;
  self->block_mult = 1.0;
}

HoneLayerItem *
hone_layer_item_new_block (const char *name, int index)
{
  g_return_val_if_fail (name != NULL, NULL);
  HoneLayerItem *self = g_object_new (HONE_TYPE_LAYER_ITEM, NULL);
  self->is_block = TRUE;
  self->name = g_strdup (name);
  self->block = g_strdup (name);
  self->index = index;
  self->op = g_strdup ("");
  self->shape = g_strdup ("");
  self->children = g_list_store_new (HONE_TYPE_LAYER_ITEM);
  return self;
}

HoneLayerItem *
hone_layer_item_new_layer (const char *name, const char *block, int node, const char *op_name,
                           const char *shape)
{
  g_return_val_if_fail (name != NULL && block != NULL, NULL);
  HoneLayerItem *self = g_object_new (HONE_TYPE_LAYER_ITEM, NULL);
  self->name = g_strdup (name);
  self->block = g_strdup (block);
  self->index = node;
  self->op = g_strdup (op_name ? op_name : "");
  self->shape = g_strdup (shape ? shape : "");
  return self;
}

gboolean
hone_layer_item_is_block (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), FALSE);
  return self->is_block;
}

const char *
hone_layer_item_get_name (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), NULL);
  return self->name;
}

const char *
hone_layer_item_get_block (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), NULL);
  return self->block;
}

int
hone_layer_item_get_index (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), -1);
  return self->index;
}

const char *
hone_layer_item_get_op (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), NULL);
  return self->op;
}

const char *
hone_layer_item_get_shape (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), NULL);
  return self->shape;
}

void
hone_layer_item_set_shape (HoneLayerItem *self, const char *shape)
{
  g_return_if_fail (HONE_IS_LAYER_ITEM (self));
  g_free (self->shape);
  self->shape = g_strdup (shape ? shape : "");
}

GListStore *
hone_layer_item_get_children (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), NULL);
  return self->children;
}

void
hone_layer_item_add_param (HoneLayerItem *self, int id, int64_t numel)
{
  g_return_if_fail (HONE_IS_LAYER_ITEM (self));
  g_array_append_val (self->params, id);
  self->n_params += numel;
}

const int *
hone_layer_item_get_params (HoneLayerItem *self, int *n)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), NULL);
  *n = (int) self->params->len;
  return (const int *) self->params->data;
}

int64_t
hone_layer_item_get_n_params (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), 0);
  return self->n_params;
}

char *
hone_layer_item_format_params (int64_t n)
{
  /* Translators: parameter counts: k thousands, M millions (as the rest of the app writes them) */
  if (n >= 1000000)
    return g_strdup_printf (_("%.1f M"), (double) n / 1e6);
  if (n >= 1000)
    return g_strdup_printf (_("%.1f k"), (double) n / 1e3);
  return g_strdup_printf ("%" G_GINT64_FORMAT, n);
}

void
hone_layer_item_set_state (HoneLayerItem *self, gboolean frozen, gboolean partly, double lr_mult,
                           int unfreeze_epoch)
{
  g_return_if_fail (HONE_IS_LAYER_ITEM (self));
  if (self->frozen != frozen)
    {
      self->frozen = frozen;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FROZEN]);
    }
  if (self->partly != partly)
    {
      self->partly = partly;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PARTLY_FROZEN]);
    }
  if (self->lr_mult != lr_mult)
    {
      self->lr_mult = lr_mult;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LR_MULT]);
    }
  if (self->unfreeze_epoch != unfreeze_epoch)
    {
      self->unfreeze_epoch = unfreeze_epoch;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNFREEZE_EPOCH]);
    }
}

gboolean
hone_layer_item_get_frozen (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), FALSE);
  return self->frozen;
}

gboolean
hone_layer_item_get_partly_frozen (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), FALSE);
  return self->partly;
}

double
hone_layer_item_get_lr_mult (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), 1.0);
  return self->lr_mult;
}

int
hone_layer_item_get_unfreeze_epoch (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), 0);
  return self->unfreeze_epoch;
}

void
hone_layer_item_set_block_mult (HoneLayerItem *self, double mult)
{
  g_return_if_fail (HONE_IS_LAYER_ITEM (self));
  if (self->block_mult != mult)
    {
      self->block_mult = mult;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BLOCK_MULT]);
    }
}

double
hone_layer_item_get_block_mult (HoneLayerItem *self)
{
  g_return_val_if_fail (HONE_IS_LAYER_ITEM (self), 1.0);
  return self->block_mult;
}
