/* hone-arch.h: the built-in architectures, built from the op builders.
 *
 * Each is built with torchvision's exact module structure and names, so a
 * torchvision state_dict saved as safetensors loads by name
 * (hone_graph_load_safetensors) and a model Hone saves loads into torch with
 * load_state_dict (strict=True):
 *
 *   resnet18, resnet34  torchvision.models.resnet18/34 (BasicBlock)
 *   mobilenet_v2        torchvision.models.mobilenet_v2 (torchvision 0.14
 *                       names, ReLU6 as Clip 0..6)
 *   cnn-s               CnnS of /work/shared/reference/cnn_s.py, a small CNN
 *                       for 28x28 images
 *
 * Graph: one input "input" of per-sample shape (channels, height, width);
 * one output, the logits (classes), produced by the head's Gemm ("fc" or
 * "classifier.1").  Node names are torchvision's module names
 * ("layer1.0.conv1"); a module used twice (a block's "relu") names two
 * nodes.  Nodes that are not modules are named for what they do:
 * "layer1.0.add" (the residual sum), "avgpool", "flatten".  BatchNorm
 * running statistics are HONE_VALUE_BUFFER values "X.running_mean" and
 * "X.running_var"; torch's "X.num_batches_tracked" is handled by the
 * safetensors loader and saver.
 *
 * Blocks (what the UI freezes and unfreezes together):
 *   resnet*       "stem" (conv1, bn1, relu, maxpool), "layer1.0" ...
 *                 "layer4.1" (one per BasicBlock), "head" (avgpool,
 *                 flatten, fc)
 *   mobilenet_v2  "features.0" ... "features.18" (torchvision's own
 *                 stages), "head" (avgpool, flatten, classifier.0 Dropout,
 *                 classifier.1)
 *   cnn-s         "stage1" (conv1, conv2 and the first max-pool: full
 *                 resolution, 32 channels), "stage2" (conv3, conv4 and the
 *                 second pool: half resolution, 64 channels), "stage3"
 *                 (conv5: quarter resolution, 128 channels), "head" (gap,
 *                 flatten, fc); each conv with its bn and relu
 *
 * Initialisation follows each model's own code, from a HoneRng seeded with
 * options.seed: ResNet convolutions kaiming-normal (fan_out, ReLU gain),
 * BatchNorm weight 1 and bias 0, fc torch's Linear default; MobileNetV2 the
 * same for convolutions and BatchNorm and classifier.1 normal (0, 0.01)
 * with zero bias; cnn-s, whose module sets nothing, torch's defaults
 * (Conv2d and Linear uniform in +-1/sqrt(fan_in)).  torch's generator is
 * not reproduced: the same seed gives the same weights in Hone, not the
 * same as in torch.
 *
 * This file does not train, load weights, or replace heads: it builds. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"
#include "hone-graph.h"

G_BEGIN_DECLS

#define HONE_ARCH_MAX_CLASSES  100000
#define HONE_ARCH_MAX_CHANNELS 1024
#define HONE_ARCH_MAX_SIZE     4096

typedef struct
{
  int classes;              /* 1 .. HONE_ARCH_MAX_CLASSES */
  int channels;             /* 1 .. HONE_ARCH_MAX_CHANNELS */
  int height;               /* min_size .. HONE_ARCH_MAX_SIZE */
  int width;
  uint64_t seed;            /* weight initialisation */
  double dropout;           /* dropout before the head's linear layer, [0, 1): a Dropout node
                             * named "dropout" (MobileNetV2: its classifier.0) when above 0 */
} HoneArchOptions;

typedef struct
{
  const char *name;                 /* "resnet18" */
  const char *description;          /* one line, English; translatable (N_) for the UI */
  int default_classes;              /* 1000 for the torchvision models, 10 for cnn-s */
  int default_channels;             /* 3, or 1 for cnn-s */
  int default_size;                 /* input side in pixels: 224, or 28 for cnn-s */
  int min_size;                     /* smallest height and width accepted */
  const char *const *head_params;   /* NULL-terminated: { "fc.weight", "fc.bias", NULL } */
  double default_dropout;           /* 0.2 for MobileNetV2 (as torchvision), else 0 */
} HoneArchInfo;

/* Every built-in architecture, NULL-terminated, in the order a list shows them. */
const HoneArchInfo *const *hone_arch_list (void);
/* NULL when there is no architecture of that name. */
const HoneArchInfo        *hone_arch_find (const char *name);

/* The architecture's defaults: default classes, channels, size and dropout, seed 0. */
void hone_arch_options_init (HoneArchOptions *opts, const HoneArchInfo *info);

/* Builds the architecture with freshly initialised weights.  opts NULL
 * means the defaults.  Returns NULL with HONE_ERROR_INVALID for an unknown
 * name or options out of range, naming the setting and the allowed range. */
HoneGraph *hone_arch_build (const char *arch, const HoneArchOptions *opts, GError **error);

G_END_DECLS
