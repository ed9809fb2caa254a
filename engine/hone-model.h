/* hone-model.h: a model ready to train, run or export, wherever it came
 * from: a built-in architecture (model.arch), a model file Hone wrote
 * (.safetensors with hone.* metadata), an ONNX file, or a built-in
 * pretrained model of the zoo ("zoo:NAME").
 *
 * A HoneModel is the graph plus what a person and the data pipeline need to
 * know about it: the input it expects (channels, size, normalisation), its
 * class names and which parameters form its classifier head.  Loading can
 * replace the head for a different number of classes (fine-tuning), with
 * fresh parameters initialised from opts->seed.
 *
 * This file does not train and does not know about recipes. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include "hone-error.h"
#include "hone-graph.h"

G_BEGIN_DECLS

typedef struct
{
  HoneGraph *graph;          /* owned */
  char *source;              /* what was loaded: "zoo:NAME" or a path; NULL when built from an arch */
  char *format;              /* "arch", "hone" (Hone-written safetensors), "onnx" */
  char *arch;                /* built-in architecture name, or NULL for an imported graph */
  char *description;         /* one line for people, or NULL */
  int channels;              /* the input, per sample */
  int height;
  int width;
  float mean[4];             /* normalisation the model expects, per channel (first 4) */
  float std[4];
  gboolean norm_from_file;   /* FALSE: ImageNet / Hone defaults were assumed */
  int n_classes;
  char **class_names;        /* (n_classes), NULL-terminated; "class N" where unknown */
  char **head_params;        /* NULL-terminated names of the classifier head's parameters */
  gboolean head_replaced;    /* the head was replaced while loading */
  int opset;                 /* ONNX files: the default-domain opset; 0 otherwise */
} HoneModel;

typedef struct
{
  int classes;               /* 0: keep the model's own classes and head */
  gboolean replace_head;     /* a fresh head even when the classes fit */
  int channels;              /* 0: the model's own input */
  int height;
  int width;
  double dropout;            /* < 0: the model's default */
  uint64_t seed;             /* initialisation of new parameters */
  const char *const *class_names;  /* NULL-terminated: the classes to predict, in order, or
                                    * NULL; a head whose file names other classes is
                                    * replaced (hone_model_classes_fit) */
} HoneModelOptions;

/* classes 0, no replacement, the model's own input, dropout -1, seed 0. */
void       hone_model_options_init (HoneModelOptions *opts);

/* source: "zoo:NAME", a .onnx file, or a .safetensors file Hone wrote.
 * opts NULL: the defaults.  Errors name the source and say what to do. */
HoneModel *hone_model_load  (const char *source, const HoneModelOptions *opts, GError **error);
/* A built-in architecture with freshly initialised weights. */
HoneModel *hone_model_build (const char *arch, const HoneModelOptions *opts, GError **error);
void       hone_model_free  (HoneModel *model);
/* Loads a safetensors file by name into model's graph (a torchvision
 * state_dict, a run's weights).  The head is replaced (keeps its fresh
 * parameters, and model->head_replaced is set) when the file's head does
 * not fit or replace_head asks for it; anything else that does not fit is a
 * HONE_ERROR_MISMATCH naming the tensors, and nothing is loaded. */
gboolean   hone_model_load_weights (HoneModel *model, const char *path, gboolean replace_head,
                                    GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneModel, hone_model_free)

/* Whether a head whose file names the classes `own` (NULL-terminated, or
 * NULL when unknown) predicts the classes `wanted` (NULL: any): TRUE when
 * the names are the same, in the same order, or own does not know its
 * classes' names (NULL, or only "class N").  A head trained on other classes
 * (a model pretrained on Fashion-MNIST 0-4, fine-tuned on 5-9) gives FALSE:
 * its outputs mean other things and it must be replaced, even when the
 * number of classes fits. */
gboolean   hone_model_classes_fit (const char *const *own, const char *const *wanted);

/* Writes the model to path: ONNX (opset 13) for ".onnx", safetensors with
 * hone.* metadata for ".safetensors"; atomically (nothing is left behind on
 * failure). */
gboolean   hone_model_save  (const HoneModel *model, const char *path, GError **error);

/* Reads an image file (PNG, JPEG) as the model sees it: (channels, height,
 * width) converted, resized and normalised as the training data pipeline
 * does (channels beyond the fourth use the fourth's mean and std).  g_free;
 * NULL with an error naming the file. */
float     *hone_model_read_image (const HoneModel *model, const char *path, GError **error);

/* The hone.* metadata of the model's files (string -> string, g_hash_table_unref):
 * hone.arch (built-in architectures only), hone.input "CxHxW", hone.mean and
 * hone.std (comma-separated, one per channel up to 4), hone.classes (a JSON
 * list of names). */
GHashTable *hone_model_metadata (const HoneModel *model);

/* What a model file Hone wrote (a run's final.safetensors, best.safetensors,
 * a zoo model) says about itself in its hone.* metadata.  Absent or
 * malformed entries read as unset. */
typedef struct
{
  char *arch;                   /* a built-in architecture, or NULL */
  int channels, height, width;  /* 0 when hone.input is absent */
  gboolean has_norm;            /* mean and std for each of the channels */
  float mean[4], std[4];
  int n_classes;                /* names in hone.classes, 0 when absent */
} HoneModelInfo;

void hone_model_info_read  (GHashTable *metadata, HoneModelInfo *info);
void hone_model_info_clear (HoneModelInfo *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HoneModelInfo, hone_model_info_clear)

G_END_DECLS
