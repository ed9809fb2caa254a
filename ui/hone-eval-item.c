/* hone-eval-item.c: a validation image as a list item; see
 * hone-eval-item.h. */
#include "config.h"

#include "hone-eval-item.h"

#define DISPLAY_SIZE 112

struct _HoneEvalItem
{
  GObject parent_instance;
  int sample;
  char *name;
  int label, predicted;
  char *label_name, *predicted_name;
  double loss;
  double confidence;
  gboolean highest_loss;
  GdkTexture *texture;
};

G_DEFINE_FINAL_TYPE (HoneEvalItem, hone_eval_item, G_TYPE_OBJECT)

static void
hone_eval_item_finalize (GObject *object)
{
  HoneEvalItem *self = HONE_EVAL_ITEM (object);
  g_free (self->name);
  g_free (self->label_name);
  g_free (self->predicted_name);
  g_clear_object (&self->texture);
  G_OBJECT_CLASS (hone_eval_item_parent_class)->finalize (object);
}

static void
hone_eval_item_class_init (HoneEvalItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hone_eval_item_finalize;
}

static void
hone_eval_item_init (HoneEvalItem *self)
{
}

/* (C, H, W) bytes, 1 or 3 channels (others: the first), to an RGB texture
 * of (H·f, W·f) pixels. */
static GdkTexture *
texture_from_chw (const guint8 *chw, int channels, int height, int width)
{
  int f = MAX (1, DISPLAY_SIZE / MAX (height, width));
  int oh = height * f, ow = width * f;
  gsize stride = (gsize) ow * 3;
  guint8 *rgb = g_malloc (stride * oh);
  gsize plane = (gsize) height * width;
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        gsize src = (gsize) (y / f) * width + x / f;
        guint8 *dst = rgb + y * stride + x * 3;
        for (int c = 0; c < 3; c++)
          dst[c] = chw[(channels >= 3 ? c : 0) * plane + src];
      }
  g_autoptr (GBytes) bytes = g_bytes_new_take (rgb, stride * oh);
  return gdk_memory_texture_new (ow, oh, GDK_MEMORY_R8G8B8, bytes, stride);
}

HoneEvalItem *
hone_eval_item_new (const HoneEvalSample *sample, const char *const *class_names, int n_classes,
                      gboolean highest_loss)
{
  g_return_val_if_fail (sample != NULL, NULL);
  g_return_val_if_fail (class_names != NULL, NULL);
  g_return_val_if_fail (sample->label >= 0 && sample->label < n_classes, NULL);
  g_return_val_if_fail (sample->predicted >= 0 && sample->predicted < n_classes, NULL);

  HoneEvalItem *self = g_object_new (HONE_TYPE_EVAL_ITEM, NULL);
  self->sample = sample->sample;
  self->name = g_strdup (sample->name);
  self->label = sample->label;
  self->predicted = sample->predicted;
  self->label_name = g_strdup (class_names[sample->label]);
  self->predicted_name = g_strdup (class_names[sample->predicted]);
  self->loss = sample->loss;
  self->highest_loss = highest_loss;
  self->confidence = sample->probs ? sample->probs[sample->predicted] : 0;
  if (sample->thumb && sample->thumb_channels > 0 && sample->thumb_height > 0 && sample->thumb_width > 0)
    self->texture = texture_from_chw (sample->thumb, sample->thumb_channels,
                                      sample->thumb_height, sample->thumb_width);
  return self;
}

int
hone_eval_item_get_sample (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), -1);
  return self->sample;
}

const char *
hone_eval_item_get_name (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), NULL);
  return self->name;
}

int
hone_eval_item_get_label (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), -1);
  return self->label;
}

int
hone_eval_item_get_predicted (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), -1);
  return self->predicted;
}

const char *
hone_eval_item_get_label_name (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), NULL);
  return self->label_name;
}

const char *
hone_eval_item_get_predicted_name (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), NULL);
  return self->predicted_name;
}

double
hone_eval_item_get_loss (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), 0);
  return self->loss;
}

double
hone_eval_item_get_confidence (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), 0);
  return self->confidence;
}

gboolean
hone_eval_item_get_misclassified (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), FALSE);
  return self->label != self->predicted;
}

GdkTexture *
hone_eval_item_get_texture (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), NULL);
  return self->texture;
}

gboolean
hone_eval_item_get_highest_loss (HoneEvalItem *self)
{
  g_return_val_if_fail (HONE_IS_EVAL_ITEM (self), FALSE);
  return self->highest_loss;
}
