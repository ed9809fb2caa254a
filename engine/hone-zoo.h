/* hone-zoo.h: the built-in pretrained models ("the zoo").
 *
 * A zoo is a folder holding a manifest, zoo.json, and the model files it
 * lists (safetensors with hone.* metadata, written by `hone-cli pretrain`).
 * Each entry records what a person needs to choose a model and to trust
 * it: its architecture, input and normalisation, its class names and the
 * classes it was trained on, the recipe that trained it, the file's size
 * and SHA-256, its parameter count and the accuracy it reached on a named
 * test split (with the count of correct predictions, which a deterministic
 * evaluation reproduces exactly).
 *
 * The zoo used by "zoo:NAME" is, in this order: $HONE_ZOO_DIR; the source
 * tree's zoo/ when the program runs from its build tree; the installed
 * DATADIR/hone/zoo.
 *
 * A model file is checked against its recorded size and SHA-256 before it
 * is used; a mismatch is an error naming the file.  This file does not
 * build or load models (hone-model.c does) and does not train them. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hone-error.h"
#include "hone-model.h"
#include "hone-trainer.h"

G_BEGIN_DECLS

#define HONE_ZOO_MANIFEST "zoo.json"
#define HONE_ZOO_PREFIX   "zoo:"

typedef struct
{
  char *name;             /* [a-z0-9._-]+, the NAME of zoo:NAME */
  char *description;      /* one line */
  char *arch;             /* a built-in architecture */
  int channels, height, width;
  float mean[4], std[4];  /* per channel, the first min (channels, 4) used */
  char **classes;         /* NULL-terminated class names, in the head's order */
  char *source_classes;   /* what it was trained on, "Fashion-MNIST classes 0–4" */
  char *recipe;           /* the recipe (.hone text) it was trained with */
  char *file;             /* a file name in the zoo's folder (no folders) */
  char *sha256;           /* 64 lower-case hex digits */
  int64_t bytes;
  int64_t params;
  double accuracy;        /* correct / samples on split */
  int64_t correct;
  int64_t samples;
  char *split;            /* a data source, "fmnist-test:0-4" */
  char *hone_version;     /* the Hone that made it */
} HoneZooEntry;

typedef struct _HoneZoo HoneZoo;

/* The folder "zoo:NAME" is looked up in (see above); never NULL.  Free with
 * g_free. */
char              *hone_zoo_default_dir (void);

/* Reads dir/zoo.json (dir NULL: hone_zoo_default_dir).  A missing folder or
 * manifest, or a malformed manifest, is an error naming the path and, for
 * a missing zoo, how to point Hone at one.  with create TRUE a folder
 * without a manifest (created if needed) gives an empty zoo, for
 * hone_zoo_save. */
HoneZoo           *hone_zoo_open        (const char *dir, gboolean create, GError **error);
void               hone_zoo_free        (HoneZoo *zoo);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneZoo, hone_zoo_free)

const char        *hone_zoo_dir         (const HoneZoo *zoo);
int                hone_zoo_n_entries   (const HoneZoo *zoo);
const HoneZooEntry *hone_zoo_entry      (const HoneZoo *zoo, int i);
/* The entry called name ("zoo:" prefix allowed), or NULL with
 * HONE_ERROR_INVALID listing the names there are.  Owned by zoo. */
const HoneZooEntry *hone_zoo_find       (const HoneZoo *zoo, const char *name, GError **error);
/* The entry's file, dir/file; g_free. */
char              *hone_zoo_entry_path  (const HoneZoo *zoo, const HoneZooEntry *entry);
/* Checks the file's size and SHA-256 against the entry; HONE_ERROR_MISMATCH
 * naming the file when they differ, HONE_ERROR_IO when it cannot be read. */
gboolean           hone_zoo_verify      (const HoneZoo *zoo, const HoneZooEntry *entry, GError **error);

/* Adds entry (copied), replacing one of the same name. */
void               hone_zoo_set_entry   (HoneZoo *zoo, const HoneZooEntry *entry);
/* Writes dir/zoo.json atomically, entries sorted by name. */
gboolean           hone_zoo_save        (const HoneZoo *zoo, GError **error);

/* The SHA-256 (lower-case hex) and size of a file; g_free. */
char              *hone_file_sha256     (const char *path, int64_t *bytes, GError **error);

HoneZooEntry      *hone_zoo_entry_copy  (const HoneZooEntry *entry);
void               hone_zoo_entry_free  (HoneZooEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HoneZooEntry, hone_zoo_entry_free)

/* For "zoo:NAME": opens the default zoo, finds NAME and verifies its file.
 * Returns the file's path (g_free) and, when entry is not NULL, a copy of
 * the entry (hone_zoo_entry_free). */
char              *hone_zoo_resolve     (const char *source, HoneZooEntry **entry, GError **error);

/* How a zoo model's accuracy is measured, and re-measured by the tests:
 * every sample of split (a data source, "fmnist-test:0-4") in order, in
 * batches of HONE_ZOO_EVAL_BATCH, in the model's input format, inference
 * mode.  The same build on the same machine gives the same count of
 * correct predictions.  Plans model's graph for that batch. */
#define HONE_ZOO_EVAL_BATCH 100
HoneEvaluation    *hone_zoo_evaluate    (HoneModel *model, const char *split, GError **error);
/* The correct predictions of an evaluation: its confusion matrix's diagonal. */
int64_t            hone_evaluation_correct (const HoneEvaluation *ev);

G_END_DECLS
