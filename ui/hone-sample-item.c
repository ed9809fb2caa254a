/* hone-sample-item.c: see hone-sample-item.h.  Immutable once made. */
#include "config.h"

#include "hone-sample-item.h"

struct _HoneSampleItem
{
  GObject parent_instance;
  GdkTexture *texture;
  int label;
  char *class_name;
  char *path;
};

G_DEFINE_FINAL_TYPE (HoneSampleItem, hone_sample_item, G_TYPE_OBJECT)

static void
hone_sample_item_finalize (GObject *object)
{
  HoneSampleItem *self = HONE_SAMPLE_ITEM (object);
  g_clear_object (&self->texture);
  g_free (self->class_name);
  g_free (self->path);
  G_OBJECT_CLASS (hone_sample_item_parent_class)->finalize (object);
}

static void
hone_sample_item_class_init (HoneSampleItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hone_sample_item_finalize;
}

static void
hone_sample_item_init (HoneSampleItem *self)
{
}

HoneSampleItem *
hone_sample_item_new (GdkTexture *texture, int label, const char *class_name, const char *path)
{
  g_return_val_if_fail (GDK_IS_TEXTURE (texture), NULL);
  HoneSampleItem *self = g_object_new (HONE_TYPE_SAMPLE_ITEM, NULL);
  self->texture = g_object_ref (texture);
  self->label = label;
  self->class_name = g_strdup (class_name ? class_name : "");
  self->path = g_strdup (path ? path : "");
  return self;
}

GdkTexture *
hone_sample_item_get_texture (HoneSampleItem *self)
{
  g_return_val_if_fail (HONE_IS_SAMPLE_ITEM (self), NULL);
  return self->texture;
}

int
hone_sample_item_get_label (HoneSampleItem *self)
{
  g_return_val_if_fail (HONE_IS_SAMPLE_ITEM (self), -1);
  return self->label;
}

const char *
hone_sample_item_get_class_name (HoneSampleItem *self)
{
  g_return_val_if_fail (HONE_IS_SAMPLE_ITEM (self), NULL);
  return self->class_name;
}

const char *
hone_sample_item_get_path (HoneSampleItem *self)
{
  g_return_val_if_fail (HONE_IS_SAMPLE_ITEM (self), NULL);
  return self->path;
}
