/* hone-recipe.c: the recipe's key table and everything that goes through
 * it: defaults, .hone files, "group.key=value" overrides, validation, and
 * the conversion of epoch durations to optimizer steps.
 *
 * Every key is one row of key_defs[]: its name, type, default (as text),
 * limits, help, and where its value lives in HoneRecipe (an offset for plain
 * values, a parse/format pair for the rest).  Nothing else lists keys: the
 * defaults of hone_recipe_new are the rows' default texts parsed, a file is
 * read and written row by row, and hone_recipe_validate writes each value
 * out and parses it back, so a value the UI set directly in the struct is
 * checked by the same code as one read from a file.  Values are written in
 * a canonical form (the shortest decimal that reads back exactly), so two
 * recipes are equal exactly when their files are.
 *
 * This file does not open datasets, models or weights (the trainer does):
 * a path or a source is checked for form only. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-arch.h"
#include "hone-recipe.h"

/* Where a key's value lives. */
typedef enum
{
  ST_BOOL,                  /* gboolean at offset */
  ST_INT,                   /* int at offset */
  ST_U64,                   /* uint64_t at offset */
  ST_DOUBLE,                /* double at offset */
  ST_STRING,                /* char * at offset, NULL when empty */
  ST_CHOICE,                /* an int-sized enum at offset, indexing choices */
  ST_CUSTOM,                /* parse and format */
} Storage;

enum
{
  F_MIN_OPEN = 1 << 0,      /* min itself is not allowed */
  F_MAX_OPEN = 1 << 1,      /* max itself is not allowed */
  F_ZERO_OK = 1 << 2,       /* 0 is allowed besides min..max */
  F_REQUIRED = 1 << 3,      /* a string that must not be empty */
};

typedef struct _KeyDef KeyDef;

/* Parses text (already stripped, UTF-8) into r; on error leaves r as it was. */
typedef gboolean (*ParseFunc) (const KeyDef *def, HoneRecipe *r, const char *text,
                               GError **error);
/* The value in canonical form; transfer full. */
typedef char *(*FormatFunc) (const KeyDef *def, const HoneRecipe *r);

struct _KeyDef
{
  const char *key;
  HoneRecipeType type;
  Storage storage;
  size_t offset;
  const char *default_text;
  double min, max;          /* numbers (each number of a numeric list) */
  guint flags;
  const char *const *choices;
  const char *range;        /* NULL: made from the limits or the choices */
  ParseFunc parse;
  FormatFunc format;
  const char *help;
};

typedef struct
{
  const char *name;
  const char *help;
} GroupDef;

/* ---- choices ------------------------------------------------------------ */

/* Each list is indexed by the enum's values. */
static const char *const optim_words[] = { "sgd", "adam", "adamw", NULL };
static const char *const schedule_words[] = {
  "constant", "step", "multistep", "exponential", "cosine", "cosine_restarts", "polynomial",
  "onecycle", "plateau", NULL,
};
static const char *const warmup_words[] = { "none", "linear", "cosine", NULL };
static const char *const anneal_words[] = { "cos", "linear", NULL };
static const char *const loss_words[] = { "cross_entropy", "focal", NULL };
static const char *const freeze_words[] = { "none", "head", "last", "first", "list", NULL };
static const char *const stop_words[] = { "val_loss", "val_accuracy", NULL };

G_STATIC_ASSERT (sizeof (HoneOptimKind) == sizeof (int));
G_STATIC_ASSERT (sizeof (HoneScheduleKind) == sizeof (int));
G_STATIC_ASSERT (sizeof (HoneWarmupKind) == sizeof (int));
G_STATIC_ASSERT (sizeof (HoneAnnealKind) == sizeof (int));
G_STATIC_ASSERT (sizeof (HoneLossKind) == sizeof (int));
G_STATIC_ASSERT (sizeof (HoneFreezeMode) == sizeof (int));
G_STATIC_ASSERT (sizeof (HoneStopMetric) == sizeof (int));
G_STATIC_ASSERT (G_N_ELEMENTS (optim_words) == HONE_OPTIM_ADAMW + 2);
G_STATIC_ASSERT (G_N_ELEMENTS (schedule_words) == HONE_SCHEDULE_PLATEAU + 2);
G_STATIC_ASSERT (G_N_ELEMENTS (warmup_words) == HONE_WARMUP_COSINE + 2);
G_STATIC_ASSERT (G_N_ELEMENTS (anneal_words) == HONE_ANNEAL_LINEAR + 2);
G_STATIC_ASSERT (G_N_ELEMENTS (loss_words) == HONE_LOSS_FOCAL + 2);
G_STATIC_ASSERT (G_N_ELEMENTS (freeze_words) == HONE_FREEZE_LIST + 2);
G_STATIC_ASSERT (G_N_ELEMENTS (stop_words) == HONE_STOP_VAL_ACCURACY + 2);

/* ---- custom keys, declared for the table --------------------------------- */

static gboolean parse_arch (const KeyDef *def, HoneRecipe *r, const char *text, GError **error);
static char *format_arch (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_source (const KeyDef *def, HoneRecipe *r, const char *text, GError **error);
static char *format_source (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_input (const KeyDef *def, HoneRecipe *r, const char *text, GError **error);
static char *format_input (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_mean (const KeyDef *def, HoneRecipe *r, const char *text, GError **error);
static char *format_mean (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_std (const KeyDef *def, HoneRecipe *r, const char *text, GError **error);
static char *format_std (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_milestones (const KeyDef *def, HoneRecipe *r, const char *text,
                                  GError **error);
static char *format_milestones (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_freeze_list (const KeyDef *def, HoneRecipe *r, const char *text,
                                   GError **error);
static char *format_freeze_list (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_lr_mults (const KeyDef *def, HoneRecipe *r, const char *text,
                                GError **error);
static char *format_lr_mults (const KeyDef *def, const HoneRecipe *r);
static gboolean parse_unfreeze (const KeyDef *def, HoneRecipe *r, const char *text,
                                GError **error);
static char *format_unfreeze (const KeyDef *def, const HoneRecipe *r);

/* ---- the table ------------------------------------------------------------ */

#define FIELD(f) offsetof (HoneRecipe, f)
#define KEY_BOOL(k, f, def, help) \
  { k, HONE_RECIPE_BOOL, ST_BOOL, FIELD (f), def, 0, 0, 0, NULL, "true or false", NULL, NULL, help }
#define KEY_INT(k, f, def, lo, hi, flags, help) \
  { k, HONE_RECIPE_INT, ST_INT, FIELD (f), def, lo, hi, flags, NULL, NULL, NULL, NULL, help }
#define KEY_DOUBLE(k, f, def, lo, hi, flags, help) \
  { k, HONE_RECIPE_DOUBLE, ST_DOUBLE, FIELD (f), def, lo, hi, flags, NULL, NULL, NULL, NULL, help }
#define KEY_STRING(k, f, def, flags, range, help) \
  { k, HONE_RECIPE_STRING, ST_STRING, FIELD (f), def, 0, 0, flags, NULL, range, NULL, NULL, help }
#define KEY_CHOICE(k, f, def, words, help) \
  { k, HONE_RECIPE_CHOICE, ST_CHOICE, FIELD (f), def, 0, 0, 0, words, NULL, NULL, NULL, help }
#define KEY_CUSTOM(k, type, def, lo, hi, flags, range, parse, format, help) \
  { k, type, ST_CUSTOM, 0, def, lo, hi, flags, NULL, range, parse, format, help }

#define MAX_EPOCHS 10000

static const GroupDef group_defs[] = {
  { "model", "What to train: the network, the weights it starts from, its input and its head." },
  { "data", "Which images, and how they are split into training, validation and test sets." },
  { "augment", "Random changes to the training images (only while training)." },
  { "train", "How long and in what portions the model trains, and how reproducibly." },
  { "optimizer", "The update rule and its learning rate." },
  { "schedule", "How the learning rate changes during the run; durations in epochs." },
  { "freeze", "Which layers keep their pretrained weights." },
  { "layers", "Per-layer learning rates and progressive unfreezing." },
  { "loss", "What training minimises." },
  { "stop", "When to end the run early and which weights to keep." },
};

static const KeyDef key_defs[] = {
  /* [model] */
  KEY_CUSTOM ("model.arch", HONE_RECIPE_CHOICE, "", 0, 0, 0, NULL, parse_arch, format_arch,
              "A built-in network to train from random weights (or from model.weights): cnn-s is a small CNN for 28x28 grey images that "
              "trains in minutes on a laptop, resnet18, resnet34 and mobilenet_v2 are "
              "torchvision's networks for photos (setting it clears model.source)."),
  KEY_CUSTOM ("model.source", HONE_RECIPE_STRING, "zoo:cnn-s-fmnist0-4", 0, 0, 0,
              "zoo:NAME, the path of a model file, or empty to use model.arch",
              parse_source, format_source,
              "The pretrained model to fine-tune: zoo:NAME for one of Hone's built-in models "
              "(hone-cli zoo lists them; the default is cnn-s trained on Fashion-MNIST classes "
              "0-4), a model Hone wrote (a run's final.safetensors or best.safetensors), or an "
              "ONNX file; its architecture, input size and normalisation come with it, and the "
              "head is replaced when model.classes differs.  Setting it clears model.arch."),
  KEY_STRING ("model.weights", weights, "", 0, "the path of a .safetensors file, or empty",
              "Pretrained weights to start from (a .safetensors file with the model's tensor "
              "names); empty starts from random weights, which needs more images and epochs."),
  KEY_INT ("model.classes", classes, "0", 2, HONE_ARCH_MAX_CLASSES, F_ZERO_OK,
           "How many classes the model's head predicts; 0 takes the number from the dataset, "
           "which is right unless the dataset lacks some of the classes."),
  KEY_CUSTOM ("model.input", HONE_RECIPE_STRING, "", 0, 0, 0,
              "CxHxW, such as 3x224x224 (C from 1 to 1024, H and W from 1 to 4096), or empty",
              parse_input, format_input,
              "The image size the model takes, as channels x height x width (images are "
              "converted and resized to it); empty uses the architecture's own, 1x28x28 for "
              "cnn-s and 3x224x224 for the others."),
  KEY_CUSTOM ("model.mean", HONE_RECIPE_LIST, "", 0, 1, 0,
              "1 to 4 comma-separated values from 0 to 1 (one for every channel, or one per "
              "channel), or empty", parse_mean, format_mean,
              "The per-channel mean subtracted from pixel values (in 0 to 1) before the model "
              "sees them; used only with model.std, and when both are empty the architecture's "
              "own values are used."),
  KEY_CUSTOM ("model.std", HONE_RECIPE_LIST, "", 0, 10, F_MIN_OPEN,
              "1 to 4 comma-separated values above 0 up to 10 (one for every channel, or one "
              "per channel), or empty", parse_std, format_std,
              "The per-channel spread pixel values are divided by after subtracting model.mean; "
              "pretrained weights expect the values they were trained with, so leave both empty "
              "unless you know them."),
  KEY_BOOL ("model.replace_head", replace_head, "false",
            "Give the model a fresh classifier head even when model.classes matches the "
            "weights' head, for when your classes are different ones that happen to be as many."),
  KEY_DOUBLE ("model.dropout", dropout, "0", 0, 1, F_MAX_OPEN,
              "Fraction of the features randomly dropped before the head while training, a "
              "remedy against overfitting a small dataset; 0 keeps the architecture's own "
              "(MobileNetV2 0.2, the others none)."),

  /* [data] */
  KEY_STRING ("data.source", data_source, "fmnist:5-9", F_REQUIRED,
              "fmnist, fmnist-test, fmnist:5-9, a folder, a .csv or .safetensors file, or an "
              "IDX file",
              "The training images: fmnist (Fashion-MNIST), a class subset such as fmnist:5-9, "
              "a folder with one sub-folder per class, a CSV file of path,label lines, a "
              ".safetensors file, or an IDX file."),
  KEY_STRING ("data.val_source", val_source, "", 0,
              "any data.source, or empty to split data.val_split off the training images",
              "Separate validation images, in any form data.source takes; when set they are used "
              "instead of splitting data.val_split off the training images."),
  KEY_DOUBLE ("data.val_split", val_split, "0.1", 0, 0.9, 0,
              "Fraction of the images held back, class by class, to check the model on images "
              "it never trains on; 0.1 to 0.2 is usual, and 0 turns validation off."),
  KEY_DOUBLE ("data.test_split", test_split, "0", 0, 0.9, 0,
              "Fraction held back for a final test the run looks at only when it ends, for an "
              "honest accuracy figure; 0 means no test set."),
  KEY_INT ("data.kfold", kfold, "0", 2, 100, F_ZERO_OK,
           "k-fold cross-validation: split the images into k parts and validate on part "
           "data.fold (run once per fold to use them all), instead of data.val_split; 0 turns "
           "it off."),
  KEY_INT ("data.fold", fold, "0", 0, 99, 0,
           "Which of the data.kfold parts is the validation set in this run, counted from 0."),
  KEY_BOOL ("data.shuffle", shuffle, "true",
            "Visit the training images in a fresh random order every epoch; turn it off only to "
            "show why shuffling matters."),
  KEY_BOOL ("data.balanced", balanced, "false",
            "Draw every class equally often, for datasets where some classes have far fewer "
            "images than others."),
  KEY_INT ("data.limit", limit, "0", 0, 100000000, 0,
           "Use at most this many images, picked class by class, for quick demonstrations and "
           "tests; 0 uses them all."),
  KEY_INT ("data.loader_threads", loader_threads, "0", 0, 256, 0,
           "Threads that decode and augment images; 0 chooses from the number of cores."),

  /* [augment] */
  KEY_BOOL ("augment.enabled", augment_enabled, "true",
            "Vary the training images at random (the augment settings below), so the model "
            "learns what matters instead of memorising pixels; turn it off to see how much it "
            "helps."),
  KEY_DOUBLE ("augment.hflip", augment.hflip, "0.5", 0, 1, 0,
              "Probability of mirroring an image left to right; 0.5 suits most photos and "
              "clothes, but not text or digits."),
  KEY_DOUBLE ("augment.vflip", augment.vflip, "0", 0, 1, 0,
              "Probability of flipping an image upside down, only for images without an up, "
              "such as microscope slides or satellite views."),
  KEY_DOUBLE ("augment.rotate", augment.rotate, "0", 0, 180, 0,
              "Largest random rotation in degrees, either way; a few degrees help with "
              "hand-held photos, and 0 turns it off."),
  KEY_DOUBLE ("augment.scale_min", augment.scale_min, "0", 0, 4, 0,
              "Smallest random zoom factor (below 1 zooms out); with augment.scale_max it makes "
              "the model robust to the size of things, and both 0 turn zooming off."),
  KEY_DOUBLE ("augment.scale_max", augment.scale_max, "0", 0, 4, 0,
              "Largest random zoom factor (above 1 zooms in), at least augment.scale_min; both "
              "0 turn zooming off."),
  KEY_DOUBLE ("augment.translate", augment.translate, "0", 0, 0.5, 0,
              "Largest random shift as a fraction of the image's side, each way; 0.1 helps when "
              "things are not always centred, and 0 turns it off."),
  KEY_DOUBLE ("augment.crop_scale_min", augment.crop_scale_min, "0", 0, 1, 0,
              "Random resized crop: keep a random part of at least this fraction of the image's "
              "area and stretch it to full size, as ImageNet training does (0.08 there); 0 "
              "turns it off."),
  KEY_DOUBLE ("augment.brightness", augment.brightness, "0", 0, 1, 0,
              "Random change of brightness by up to this fraction, for images taken in "
              "different light; 0 turns it off."),
  KEY_DOUBLE ("augment.contrast", augment.contrast, "0", 0, 1, 0,
              "Random change of contrast by up to this fraction; 0 turns it off."),
  KEY_DOUBLE ("augment.saturation", augment.saturation, "0", 0, 1, 0,
              "Random change of colour saturation by up to this fraction (colour images only); "
              "0 turns it off."),
  KEY_DOUBLE ("augment.hue", augment.hue, "0", 0, 0.5, 0,
              "Random shift of hue by up to this fraction of the colour wheel; keep it small "
              "(0.05) unless colour does not matter for the classes, and 0 turns it off."),
  KEY_DOUBLE ("augment.cutout", augment.cutout, "0", 0, 1, 0,
              "Side of a randomly placed square blanked out, as a fraction of the image's side, "
              "so the model cannot rely on one small detail; 0 turns it off."),
  KEY_DOUBLE ("augment.mixup_alpha", augment.mixup_alpha, "0", 0, 10, 0,
              "Mixup: blend pairs of images and their labels by a Beta(alpha, alpha) weight, a "
              "strong remedy against overfitting in long runs (0.2 is usual); 0 turns it off."),
  KEY_DOUBLE ("augment.cutmix_alpha", augment.cutmix_alpha, "0", 0, 10, 0,
              "CutMix: paste a patch of one image into another and mix their labels by area "
              "(1 is usual); 0 turns it off, and with mixup on too each batch uses one of "
              "them."),

  /* [train] */
  KEY_INT ("train.epochs", epochs, "5", 1, MAX_EPOCHS, 0,
           "How many times the model sees every training image; a few epochs suffice to "
           "fine-tune, training from random weights needs more."),
  KEY_INT ("train.batch", batch, "64", 1, 4096, 0,
           "Images per step; larger batches run faster per image but need more memory, and "
           "usually a larger optimizer.lr."),
  KEY_INT ("train.accum", accum, "1", 1, 1024, 0,
           "Add up the gradients of this many batches before each update, for the effect of a "
           "larger batch than fits in memory."),
  { "train.seed", HONE_RECIPE_INT, ST_U64, FIELD (seed), "0", 0, 18446744073709551615.0, 0, NULL,
    "a whole number from 0 to 18446744073709551615", NULL, NULL,
    "Seed of every random choice (initial weights, splits, order, augmentation); the same "
    "seed repeats a run, a different one shows how much results vary by chance." },
  KEY_BOOL ("train.deterministic", deterministic, "false",
            "Make reruns and resumed runs bit-identical by fixing how work is split between "
            "threads, at some cost in speed; use it for runs that must repeat exactly."),
  KEY_INT ("train.threads", threads, "0", 0, 1024, 0,
           "Threads for the computation; 0 uses one per core, fewer leave the computer "
           "responsive for other work."),
  KEY_INT ("train.val_every", val_every, "0", 0, 100000000, 0,
           "Validate every this many updates instead of once per epoch, for live curves on "
           "long epochs; 0 validates at the end of every epoch."),
  KEY_INT ("train.checkpoint_every", checkpoint_every, "1", 1, MAX_EPOCHS, 0,
           "Save a checkpoint every this many epochs, from which a stopped or crashed run "
           "resumes."),

  /* [optimizer] */
  KEY_CHOICE ("optimizer.name", optimizer.kind, "sgd", optim_words,
              "The update rule: sgd (with momentum) is the classic choice for fine-tuning "
              "CNNs; adam adapts the step of every weight and forgives a poorly chosen "
              "optimizer.lr; adamw is adam with weight decay done right."),
  KEY_DOUBLE ("optimizer.lr", lr, "0.01", 0, 10, F_MIN_OPEN,
              "Learning rate, the size of each update and the setting that matters most: too "
              "high and the loss jumps about or diverges, too low and little happens; about "
              "0.01 for sgd, 0.001 for adam."),
  KEY_DOUBLE ("optimizer.momentum", optimizer.momentum, "0.9", 0, 1, F_MAX_OPEN,
              "sgd: how much of the previous update carries over, which smooths the way "
              "downhill; 0.9 is usual."),
  KEY_DOUBLE ("optimizer.dampening", optimizer.dampening, "0", 0, 1, 0,
              "sgd: shrinks the new gradient's share of the momentum; leave it at 0 (nesterov "
              "needs 0)."),
  KEY_BOOL ("optimizer.nesterov", optimizer.nesterov, "false",
            "sgd: Nesterov momentum, which looks one step ahead and often converges a little "
            "faster; needs optimizer.momentum above 0."),
  KEY_DOUBLE ("optimizer.beta1", optimizer.beta1, "0.9", 0, 1, F_MAX_OPEN,
              "adam and adamw: how slowly the running average of gradients (their momentum) "
              "forgets; 0.9 is usual."),
  KEY_DOUBLE ("optimizer.beta2", optimizer.beta2, "0.999", 0, 1, F_MAX_OPEN,
              "adam and adamw: how slowly the running average of squared gradients forgets; "
              "0.999 is usual, 0.99 for short noisy runs."),
  KEY_DOUBLE ("optimizer.eps", optimizer.eps, "1e-8", 0, 1, F_MIN_OPEN,
              "adam and adamw: a small number that keeps the step finite where gradients are "
              "tiny; leave it at 1e-8."),
  KEY_DOUBLE ("optimizer.weight_decay", optimizer.weight_decay, "0.0005", 0, 1, 0,
              "Pulls every weight a little towards zero at each update, a remedy against "
              "overfitting; 0.0005 is usual for sgd, 0.01 to 0.1 for adamw."),
  KEY_DOUBLE ("optimizer.l1", optimizer.l1, "0", 0, 1, 0,
              "L1 penalty, which drives weights the model does not need to exactly zero; rarely "
              "needed to fine-tune, and 0 turns it off."),
  KEY_DOUBLE ("optimizer.clip_norm", optimizer.clip_norm, "0", 0, 1000, 0,
              "Longest allowed gradient (over all weights together): longer ones are scaled "
              "down, which tames the rare huge update that makes a run diverge; 0 turns it "
              "off."),

  /* [schedule] */
  KEY_CHOICE ("schedule.name", schedule.kind, "cosine", schedule_words,
              "How the learning rate changes during the run: cosine (the default) glides it "
              "smoothly down to schedule.eta_min, a reliable choice for fine-tuning; constant "
              "keeps it; step, multistep and exponential lower it in steps; cosine_restarts "
              "repeats the glide; polynomial decays it to schedule.end_lr; onecycle raises then "
              "lowers it; plateau lowers it when validation stops improving."),
  KEY_DOUBLE ("schedule.gamma", schedule.gamma, "0.1", 0, 1, F_MIN_OPEN,
              "step, multistep and exponential: the factor the learning rate is multiplied by "
              "at each drop (exponential: every epoch); 0.1 for drops, about 0.9 for "
              "exponential."),
  KEY_DOUBLE ("schedule.step_epochs", schedule.step_epochs, "2", 0, MAX_EPOCHS, F_MIN_OPEN,
              "step: epochs between two drops of the learning rate."),
  KEY_CUSTOM ("schedule.milestones", HONE_RECIPE_LIST, "2,4", 0, MAX_EPOCHS, F_MIN_OPEN,
              "1 to 16 comma-separated increasing epochs above 0 up to 10000, or empty",
              parse_milestones, format_milestones,
              "multistep: the epochs of the run (counted from its start, and later than any "
              "warmup) at which the learning rate drops by schedule.gamma."),
  KEY_DOUBLE ("schedule.cycle_epochs", schedule.cycle_epochs, "0", 0, MAX_EPOCHS, 0,
              "cosine: epochs of the glide down, 0 for the rest of the run after the warmup; "
              "cosine_restarts: epochs of the first cycle, 0 for the rest of the run."),
  KEY_INT ("schedule.cycle_mult", schedule.cycle_mult, "1", 1, 1000, 0,
           "cosine_restarts: each cycle is this many times longer than the one before; 1 keeps "
           "them equal."),
  KEY_DOUBLE ("schedule.eta_min", schedule.eta_min, "0", 0, 10, 0,
              "cosine and cosine_restarts: the lowest learning rate the glide reaches, at most "
              "optimizer.lr."),
  KEY_DOUBLE ("schedule.power", schedule.power, "1", 0, 100, F_MIN_OPEN,
              "polynomial: the shape of the decay; 1 is a straight line, 2 falls faster at "
              "first."),
  KEY_DOUBLE ("schedule.end_lr", schedule.end_lr, "0", 0, 10, 0,
              "polynomial: the learning rate at the end of the run, at most optimizer.lr."),
  KEY_DOUBLE ("schedule.pct_start", schedule.pct_start, "0.3", 0, 1, F_MIN_OPEN | F_MAX_OPEN,
              "onecycle: the fraction of the run spent raising the learning rate to "
              "optimizer.lr before lowering it."),
  KEY_CHOICE ("schedule.anneal", schedule.anneal, "cos", anneal_words,
              "onecycle: the shape of the rise and the fall, cos (smooth) or linear."),
  KEY_DOUBLE ("schedule.div_factor", schedule.div_factor, "25", 0, 1e6, F_MIN_OPEN,
              "onecycle: the run starts at optimizer.lr divided by this."),
  KEY_DOUBLE ("schedule.final_div_factor", schedule.final_div_factor, "10000", 0, 1e9,
              F_MIN_OPEN,
              "onecycle: the run ends at its starting learning rate divided by this."),
  KEY_BOOL ("schedule.three_phase", schedule.three_phase, "false",
            "onecycle: come back down to the starting learning rate before the final decay "
            "(fast.ai's variant) instead of falling straight to the end; needs "
            "schedule.pct_start below 0.5."),
  KEY_DOUBLE ("schedule.factor", schedule.factor, "0.1", 0, 1, F_MIN_OPEN | F_MAX_OPEN,
              "plateau: the learning rate is multiplied by this when validation stops "
              "improving."),
  KEY_INT ("schedule.patience", schedule.patience, "2", 0, 1000, 0,
           "plateau: how many validations without improvement to wait before lowering the "
           "learning rate."),
  KEY_DOUBLE ("schedule.threshold", schedule.threshold, "0.0001", 0, 1, 0,
              "plateau: the relative improvement that counts as better (0.0001 is 0.01 %)."),
  KEY_INT ("schedule.cooldown", schedule.cooldown, "0", 0, 1000, 0,
           "plateau: validations to wait after lowering the learning rate before watching "
           "again."),
  KEY_DOUBLE ("schedule.min_lr", schedule.min_lr, "0", 0, 10, 0,
              "plateau: the learning rate never goes below this, at most optimizer.lr."),
  KEY_CHOICE ("schedule.warmup", schedule.warmup, "linear", warmup_words,
              "Start with a small learning rate and raise it over schedule.warmup_epochs, so "
              "the first updates (driven by a new, random head) do not wreck the pretrained "
              "weights: linear, cosine (smoother) or none."),
  KEY_DOUBLE ("schedule.warmup_epochs", schedule.warmup_epochs, "1", 0, MAX_EPOCHS, 0,
              "The length of the warmup in epochs (fractions allowed); the schedule proper "
              "starts after it."),
  KEY_DOUBLE ("schedule.warmup_start_factor", schedule.warmup_start_factor, "0.1", 0, 1, 0,
              "The warmup starts at optimizer.lr times this."),

  /* [freeze] */
  KEY_CHOICE ("freeze.mode", freeze_mode, "last", freeze_words,
              "Which layers keep their pretrained weights: none fine-tunes everything (right "
              "with random weights, and with many images unlike the pretrained ones); head "
              "trains only the new classifier (fast, best for few images similar to the "
              "pretrained ones); last (the default) also trains the last freeze.blocks blocks, "
              "a good start for a few thousand images; first freezes the first freeze.blocks "
              "blocks; list freezes the layers in freeze.list."),
  KEY_INT ("freeze.blocks", freeze_blocks, "1", 1, 1000, 0,
           "last and first: how many blocks (a ResNet's layer1.0, layer1.1, ...; cnn-s's "
           "stage1, stage2, stage3) train or stay frozen."),
  KEY_CUSTOM ("freeze.list", HONE_RECIPE_LIST, "", 0, 0, 0,
              "comma-separated layer name prefixes, such as stem,layer1, or empty",
              parse_freeze_list, format_freeze_list,
              "list: the layers that stay frozen, by the start of their names, such as "
              "stem,layer1."),

  /* [layers] */
  KEY_DOUBLE ("layers.lr_decay", lr_decay, "1", 0, 1, F_MIN_OPEN,
              "Discriminative learning rates: every block further from the head learns this "
              "many times as fast as the next (0.5 halves it block by block), because early "
              "layers hold general features that need little change; 1 turns it off."),
  KEY_CUSTOM ("layers.lr_mult", HONE_RECIPE_LIST, "", 0, 100, 0,
              "comma-separated prefix=multiplier pairs, multipliers from 0 to 100, such as "
              "layer4=0.5,fc=2, or empty",
              parse_lr_mults, format_lr_mults,
              "Learning-rate multipliers for the layers whose names start with a prefix, such "
              "as layer4=0.5,fc=2, on top of layers.lr_decay; 0 stops a layer learning."),
  KEY_CUSTOM ("layers.unfreeze", HONE_RECIPE_LIST, "", 1, MAX_EPOCHS, 0,
              "comma-separated EPOCH:prefix items with increasing epochs below train.epochs, at "
              "most 16, such as 2:layer4,4:layer3, or empty",
              parse_unfreeze, format_unfreeze,
              "Progressive unfreezing: after the given number of epochs, unfreeze the layers "
              "whose names start with the prefix, such as 2:layer4,4:layer3 (2:layer4,layer3 "
              "unfreezes both after 2 epochs); start from freeze.mode head."),

  /* [loss] */
  KEY_CHOICE ("loss.name", loss.kind, "cross_entropy", loss_words,
              "What training minimises: cross_entropy, the standard; focal, which plays down "
              "the images the model already gets right, for datasets with rare or hard "
              "classes."),
  KEY_DOUBLE ("loss.label_smoothing", loss.label_smoothing, "0", 0, 1, F_MAX_OPEN,
              "Aim for 90 % certainty (with 0.1) instead of 100 %, which makes the model less "
              "overconfident and often a little more accurate; 0 turns it off."),
  KEY_DOUBLE ("loss.focal_gamma", loss.focal_gamma, "2", 0, 10, 0,
              "focal: how strongly easy images are played down; 2 is usual, 0 is plain "
              "cross-entropy."),
  KEY_BOOL ("loss.class_weights", class_weights, "false",
            "Weigh every class by the inverse of its share of the training images, so that "
            "rare classes count as much as common ones."),

  /* [stop] */
  KEY_BOOL ("stop.early", early_stopping, "false",
            "Early stopping: end the run when stop.metric has not improved for stop.patience "
            "epochs, before the model starts to overfit; needs validation images."),
  KEY_CHOICE ("stop.metric", stop_metric, "val_loss", stop_words,
              "What early stopping, stop.restore_best and the plateau schedule watch: val_loss "
              "(lower is better) or val_accuracy (higher is better)."),
  KEY_INT ("stop.patience", patience, "3", 1, 1000, 0,
           "Epochs without improvement before early stopping ends the run."),
  KEY_DOUBLE ("stop.min_delta", min_delta, "0", 0, 10, 0,
              "How much stop.metric must improve to count as an improvement (accuracy as a "
              "fraction: 0.01 is one point)."),
  KEY_BOOL ("stop.restore_best", restore_best, "true",
            "At the end of the run, go back to the weights of the best validation instead of "
            "keeping the last ones."),
};

#define N_KEYS ((int) G_N_ELEMENTS (key_defs))

/* ---- numbers as text ------------------------------------------------------ */

/* Drops the '+' and leading zeros of an exponent: "1e-08" -> "1e-8". */
static void
tidy_exponent (char *buf)
{
  char *e = strchr (buf, 'e');
  if (e == NULL)
    return;
  char *p = e + 1;
  char *out = p;
  if (*p == '+')
    p++;
  else if (*p == '-')
    *out++ = *p++;
  while (*p == '0' && p[1] != '\0')
    p++;
  memmove (out, p, strlen (p) + 1);
}

/* The shortest decimal that reads back as exactly v (whole numbers without
 * an exponent); buf has G_ASCII_DTOSTR_BUF_SIZE bytes. */
static const char *
format_double (char *buf, double v, gboolean as_float)
{
  if (isfinite (v) && v == floor (v) && fabs (v) < 1e15)
    {
      g_snprintf (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.0f", v);
      return buf;
    }
  int max_prec = as_float ? 9 : 17;
  for (int prec = 1; prec <= max_prec; prec++)
    {
      char fmt[8];
      g_snprintf (fmt, sizeof fmt, "%%.%dg", prec);
      g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, fmt, v);
      double back = g_ascii_strtod (buf, NULL);
      if (as_float ? (float) back == (float) v : back == v)
        break;
    }
  tidy_exponent (buf);
  return buf;
}

typedef enum
{
  NUM_OK,
  NUM_SYNTAX,
  NUM_RANGE,
} NumResult;

static NumResult
parse_double_text (const char *text, double *out)
{
  char *end = NULL;
  if (*text == '\0')
    return NUM_SYNTAX;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0')
    return NUM_SYNTAX;
  *out = v;
  return isfinite (v) ? NUM_OK : NUM_RANGE;
}

static gboolean
double_allowed (const KeyDef *d, double v)
{
  if (!isfinite (v))
    return FALSE;
  if ((d->flags & F_ZERO_OK) && v == 0.0)
    return TRUE;
  if ((d->flags & F_MIN_OPEN) ? !(v > d->min) : !(v >= d->min))
    return FALSE;
  if ((d->flags & F_MAX_OPEN) ? !(v < d->max) : !(v <= d->max))
    return FALSE;
  return TRUE;
}

/* ---- the public key list -------------------------------------------------- */

static char *
make_number_range (const KeyDef *d)
{
  char lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
  format_double (lo, d->min, FALSE);
  format_double (hi, d->max, FALSE);
  const char *zero = (d->flags & F_ZERO_OK) ? "0, or " : "";
  if (d->storage == ST_INT)
    return g_strdup_printf ("%sa whole number from %s to %s", zero, lo, hi);
  switch (d->flags & (F_MIN_OPEN | F_MAX_OPEN))
    {
    case 0:
      return g_strdup_printf ("%sa value from %s to %s", zero, lo, hi);
    case F_MIN_OPEN:
      return g_strdup_printf ("%sa value above %s up to %s", zero, lo, hi);
    case F_MAX_OPEN:
      return g_strdup_printf ("%sa value from %s to below %s", zero, lo, hi);
    default:
      return g_strdup_printf ("%sa value above %s and below %s", zero, lo, hi);
    }
}

static const HoneRecipeKey *public_keys;

/* The architecture names, for model.arch's choices. */
static const char *const *
arch_words (void)
{
  const HoneArchInfo *const *list = hone_arch_list ();
  int n = 0;
  while (list[n])
    n++;
  const char **words = g_new0 (const char *, n + 1);
  for (int i = 0; i < n; i++)
    words[i] = list[i]->name;
  return words;
}

const HoneRecipeKey *
hone_recipe_keys (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      /* Built once and kept for the program's life. */
      HoneRecipeKey *keys = g_new0 (HoneRecipeKey, N_KEYS + 1);
      for (int i = 0; i < N_KEYS; i++)
        {
          const KeyDef *d = &key_defs[i];
          HoneRecipeKey *k = &keys[i];
          k->key = d->key;
          k->type = d->type;
          k->default_text = d->default_text;
          k->help = d->help;
          k->choices = d->choices;
          if (d->parse == parse_arch)
            k->choices = arch_words ();
          if (d->type == HONE_RECIPE_INT || d->type == HONE_RECIPE_DOUBLE
              || d->type == HONE_RECIPE_LIST)
            {
              k->min = d->min;
              k->max = d->max;
              k->min_open = (d->flags & F_MIN_OPEN) != 0;
              k->max_open = (d->flags & F_MAX_OPEN) != 0;
              k->zero_allowed = (d->flags & F_ZERO_OK) != 0;
            }
          if (d->range)
            k->range = d->range;
          else if (k->choices)
            {
              g_autofree char *words = g_strjoinv (", ", (char **) k->choices);
              k->range = d->parse == parse_arch
                ? g_strdup_printf ("%s, or empty with model.source", words)
                : g_strdup_printf ("one of %s", words);
            }
          else
            k->range = make_number_range (d);
        }
      public_keys = keys;
      g_once_init_leave (&once, 1);
    }
  return public_keys;
}

static const HoneRecipeKey *
key_info (const KeyDef *d)
{
  return &hone_recipe_keys ()[d - key_defs];
}

static const KeyDef *
find_def (const char *key)
{
  for (int i = 0; i < N_KEYS; i++)
    if (strcmp (key_defs[i].key, key) == 0)
      return &key_defs[i];
  return NULL;
}

const HoneRecipeKey *
hone_recipe_find_key (const char *key)
{
  g_return_val_if_fail (key != NULL, NULL);
  const KeyDef *d = find_def (key);
  return d ? key_info (d) : NULL;
}

/* ---- errors --------------------------------------------------------------- */

/* The value as an error message shows it: control characters replaced,
 * long values cut. */
static char *
shown (const char *text)
{
  GString *s = g_string_new (NULL);
  int n = 0;
  for (const char *p = text; *p; p = g_utf8_next_char (p), n++)
    {
      if (n == 60)
        {
          g_string_append (s, "…");
          break;
        }
      gunichar c = g_utf8_get_char (p);
      if (c < 0x20 || c == 0x7f)
        g_string_append_c (s, '?');
      else
        g_string_append_unichar (s, c);
    }
  return g_string_free (s, FALSE);
}

static gboolean
range_error (GError **error, const KeyDef *d, const char *text, const char *problem)
{
  g_autofree char *v = shown (text);
  if (*text == '\0')
    g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "%s is empty: use %s", d->key,
                 key_info (d)->range);
  else
    g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "%s = %s %s: use %s", d->key, v, problem,
                 key_info (d)->range);
  return FALSE;
}

static int
edit_distance (const char *a, const char *b)
{
  /* Levenshtein distance, ASCII case folded, one row at a time. */
  size_t la = strlen (a), lb = strlen (b);
  if (la > 200 || lb > 200)
    return G_MAXINT / 2;
  int row[201];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int) j;
  for (size_t i = 1; i <= la; i++)
    {
      int diag = row[0];
      row[0] = (int) i;
      for (size_t j = 1; j <= lb; j++)
        {
          int up = row[j];
          int cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[lb];
}

/* The closest of words to text, or NULL when none is close. */
static const char *
nearest_word (const char *text, const char *const *words)
{
  int best = G_MAXINT;
  const char *best_word = NULL;
  for (int i = 0; words[i]; i++)
    {
      int d = edit_distance (text, words[i]);
      if (d < best)
        best = d, best_word = words[i];
    }
  return best <= MAX (2, (int) strlen (text) / 3) ? best_word : NULL;
}

static const GroupDef *
find_group (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (group_defs); i++)
    if (strcmp (group_defs[i].name, name) == 0)
      return &group_defs[i];
  return NULL;
}

static char *
group_list (void)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (group_defs); i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", group_defs[i].name);
  return g_string_free (s, FALSE);
}

/* "optimiser.lr is not a recipe key: did you mean optimizer.lr?" */
static gboolean
unknown_key_error (GError **error, const char *key)
{
  g_autofree char *k = shown (key);
  const char *dot = strchr (key, '.');
  const char *name = dot ? dot + 1 : key;
  int best = G_MAXINT;
  const char *cand[3];
  int n_cand = 0;
  for (int i = 0; i < N_KEYS; i++)
    {
      int d = edit_distance (key, key_defs[i].key);
      if (g_ascii_strcasecmp (name, strchr (key_defs[i].key, '.') + 1) == 0)
        d = MIN (d, 1);
      if (d < best)
        best = d, n_cand = 0;
      if (d == best && n_cand < 3)
        cand[n_cand++] = key_defs[i].key;
    }
  if (best <= MAX (2, (int) strlen (key) / 4))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s is not a recipe key: did you mean %s%s%s%s%s?", k, cand[0],
                   n_cand > 1 ? " or " : "", n_cand > 1 ? cand[1] : "",
                   n_cand > 2 ? " or " : "", n_cand > 2 ? cand[2] : "");
      return FALSE;
    }
  g_autofree char *group = dot ? g_strndup (key, dot - key) : NULL;
  if (group && find_group (group))
    {
      GString *names = g_string_new (NULL);
      for (int i = 0; i < N_KEYS; i++)
        if (g_str_has_prefix (key_defs[i].key, group) && key_defs[i].key[strlen (group)] == '.')
          g_string_append_printf (names, "%s%s", names->len ? ", " : "",
                                  key_defs[i].key + strlen (group) + 1);
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s is not a recipe key: [%s] has %s", k, group, names->str);
      g_string_free (names, TRUE);
      return FALSE;
    }
  g_autofree char *groups = group_list ();
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "%s is not a recipe key: use group.key with a group of %s", k, groups);
  return FALSE;
}

static gboolean
unknown_group_error (GError **error, const char *group)
{
  g_autofree char *g = shown (group);
  const char *names[G_N_ELEMENTS (group_defs) + 1];
  for (guint i = 0; i < G_N_ELEMENTS (group_defs); i++)
    names[i] = group_defs[i].name;
  names[G_N_ELEMENTS (group_defs)] = NULL;
  const char *near = nearest_word (group, names);
  if (near)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "[%s] is not a recipe group: did you mean [%s]?", g, near);
      return FALSE;
    }
  g_autofree char *groups = group_list ();
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "[%s] is not a recipe group: use %s", g, groups);
  return FALSE;
}

/* ---- plain values --------------------------------------------------------- */

static void *
field (HoneRecipe *r, const KeyDef *d)
{
  return (char *) r + d->offset;
}

static const void *
cfield (const HoneRecipe *r, const KeyDef *d)
{
  return (const char *) r + d->offset;
}

static gboolean
parse_bool_text (const char *text, gboolean *out)
{
  static const char *const yes[] = { "true", "yes", "on", "1" };
  static const char *const no[] = { "false", "no", "off", "0" };
  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (text, yes[i]) == 0)
        return *out = TRUE, TRUE;
      if (g_ascii_strcasecmp (text, no[i]) == 0)
        return *out = FALSE, TRUE;
    }
  return FALSE;
}

static gboolean
parse_int_value (const KeyDef *d, const char *text, gint64 *out, GError **error)
{
  g_autoptr (GError) local = NULL;
  gint64 v;
  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &v, &local))
    return range_error (error, d, text,
                        g_error_matches (local, G_NUMBER_PARSER_ERROR,
                                         G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)
                        ? "is out of range" : "is not a whole number");
  if (!double_allowed (d, (double) v))
    return range_error (error, d, text, "is out of range");
  *out = v;
  return TRUE;
}

static gboolean
parse_double_value (const KeyDef *d, const char *text, double *out, GError **error)
{
  double v = 0.0;
  NumResult res = parse_double_text (text, &v);
  if (res == NUM_SYNTAX)
    return range_error (error, d, text, "is not a number");
  if (res == NUM_RANGE || !double_allowed (d, v))
    return range_error (error, d, text, "is out of range");
  *out = v;
  return TRUE;
}

static gboolean
def_parse (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  switch (d->storage)
    {
    case ST_BOOL:
      {
        gboolean v = FALSE;
        if (!parse_bool_text (text, &v))
          return range_error (error, d, text, "is not true or false");
        *(gboolean *) field (r, d) = v;
        return TRUE;
      }
    case ST_INT:
      {
        gint64 v = 0;
        if (!parse_int_value (d, text, &v, error))
          return FALSE;
        *(int *) field (r, d) = (int) v;
        return TRUE;
      }
    case ST_U64:
      {
        g_autoptr (GError) local = NULL;
        guint64 v = 0;
        if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &v, &local))
          {
            gboolean beyond = text[0] == '-'
              || g_error_matches (local, G_NUMBER_PARSER_ERROR,
                                  G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS);
            return range_error (error, d, text,
                                beyond ? "is out of range" : "is not a whole number");
          }
        *(uint64_t *) field (r, d) = v;
        return TRUE;
      }
    case ST_DOUBLE:
      {
        double v = 0.0;
        if (!parse_double_value (d, text, &v, error))
          return FALSE;
        *(double *) field (r, d) = v;
        return TRUE;
      }
    case ST_STRING:
      {
        if (*text == '\0' && (d->flags & F_REQUIRED))
          return range_error (error, d, text, "");
        char **p = field (r, d);
        g_free (*p);
        *p = *text ? g_strdup (text) : NULL;
        return TRUE;
      }
    case ST_CHOICE:
      for (int i = 0; d->choices[i]; i++)
        if (g_ascii_strcasecmp (text, d->choices[i]) == 0)
          {
            memcpy (field (r, d), &i, sizeof i);
            return TRUE;
          }
      {
        const char *near = nearest_word (text, d->choices);
        if (near == NULL || *text == '\0')
          return range_error (error, d, text, "is not known");
        g_autofree char *v = shown (text);
        g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                     "%s = %s is not known: did you mean %s? (use %s)", d->key, v, near,
                     key_info (d)->range);
        return FALSE;
      }
    case ST_CUSTOM:
      return d->parse (d, r, text, error);
    default:
      g_assert_not_reached ();
    }
}

static char *
def_format (const KeyDef *d, const HoneRecipe *r)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  switch (d->storage)
    {
    case ST_BOOL:
      return g_strdup (*(const gboolean *) cfield (r, d) ? "true" : "false");
    case ST_INT:
      return g_strdup_printf ("%d", *(const int *) cfield (r, d));
    case ST_U64:
      return g_strdup_printf ("%" G_GUINT64_FORMAT, *(const uint64_t *) cfield (r, d));
    case ST_DOUBLE:
      return g_strdup (format_double (buf, *(const double *) cfield (r, d), FALSE));
    case ST_STRING:
      {
        const char *s = *(char *const *) cfield (r, d);
        return g_strdup (s ? s : "");
      }
    case ST_CHOICE:
      {
        int v;
        memcpy (&v, cfield (r, d), sizeof v);
        int n = (int) g_strv_length ((char **) d->choices);
        return v >= 0 && v < n ? g_strdup (d->choices[v]) : g_strdup_printf ("%d", v);
      }
    case ST_CUSTOM:
      return d->format (d, r);
    default:
      g_assert_not_reached ();
    }
}

/* ---- lists ---------------------------------------------------------------- */

/* Splits a comma-separated list into stripped items: none for an empty
 * text, an error for an empty item. */
static GStrv
split_list (const KeyDef *d, const char *text, GError **error)
{
  if (*text == '\0')
    return g_new0 (char *, 1);
  GStrv items = g_strsplit (text, ",", -1);
  for (int i = 0; items[i]; i++)
    if (*g_strstrip (items[i]) == '\0')
      {
        g_strfreev (items);
        range_error (error, d, text, "has an empty item");
        return NULL;
      }
  return items;
}

/* A list of 1 to max_n numbers in d's range. */
static gboolean
parse_numbers (const KeyDef *d, const char *text, int max_n, double *values, int *n,
               GError **error)
{
  g_auto (GStrv) items = split_list (d, text, error);
  if (items == NULL)
    return FALSE;
  int count = (int) g_strv_length (items);
  if (count > max_n)
    return range_error (error, d, text, "has too many values");
  for (int i = 0; i < count; i++)
    {
      NumResult res = parse_double_text (items[i], &values[i]);
      if (res == NUM_SYNTAX)
        return range_error (error, d, text, "is not a list of numbers");
      if (res == NUM_RANGE || !double_allowed (d, values[i]))
        return range_error (error, d, text, "is out of range");
    }
  *n = count;
  return TRUE;
}

static gboolean
parse_channel_values (const KeyDef *d, const char *text, float *out, GError **error)
{
  double v[4];
  int n = 0;
  if (!parse_numbers (d, text, 4, v, &n, error))
    return FALSE;
  for (int c = 0; c < 4; c++)
    out[c] = n == 1 ? (float) v[0] : c < n ? (float) v[c] : 0.0f;
  return TRUE;
}

/* Empty when all four are 0, one value when all are equal, else the values
 * up to the last one that is not 0 (at least two, so that it does not read
 * back as one value for every channel). */
static char *
format_channel_values (const float *v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  gboolean equal = v[1] == v[0] && v[2] == v[0] && v[3] == v[0];
  if (equal && v[0] == 0.0f)
    return g_strdup ("");
  if (equal)
    return g_strdup (format_double (buf, v[0], TRUE));
  int n = 4;
  while (n > 2 && v[n - 1] == 0.0f)
    n--;
  GString *s = g_string_new (NULL);
  for (int c = 0; c < n; c++)
    g_string_append_printf (s, "%s%s", c ? "," : "", format_double (buf, v[c], TRUE));
  return g_string_free (s, FALSE);
}

static gboolean
parse_mean (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  return parse_channel_values (d, text, r->mean, error);
}

static char *
format_mean (const KeyDef *d, const HoneRecipe *r)
{
  return format_channel_values (r->mean);
}

static gboolean
parse_std (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  return parse_channel_values (d, text, r->std, error);
}

static char *
format_std (const KeyDef *d, const HoneRecipe *r)
{
  return format_channel_values (r->std);
}

static gboolean
parse_milestones (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  double v[HONE_SCHEDULE_MAX_MILESTONES];
  int n = 0;
  if (!parse_numbers (d, text, HONE_SCHEDULE_MAX_MILESTONES, v, &n, error))
    return FALSE;
  for (int i = 1; i < n; i++)
    if (!(v[i] > v[i - 1]))
      return range_error (error, d, text, "is not increasing");
  r->schedule.n_milestones = n;
  memset (r->schedule.milestones, 0, sizeof r->schedule.milestones);
  memcpy (r->schedule.milestones, v, (size_t) n * sizeof v[0]);
  return TRUE;
}

static char *
format_milestones (const KeyDef *d, const HoneRecipe *r)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  GString *s = g_string_new (NULL);
  int n = r->schedule.n_milestones;
  if (n < 0 || n > HONE_SCHEDULE_MAX_MILESTONES)
    {
      /* Not a list this key reads back: validation reports it. */
      g_string_append_printf (s, "(%d milestones)", n);
      return g_string_free (s, FALSE);
    }
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%s", i ? "," : "",
                            format_double (buf, r->schedule.milestones[i], FALSE));
  return g_string_free (s, FALSE);
}

static gboolean
parse_freeze_list (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  GStrv items = split_list (d, text, error);
  if (items == NULL)
    return FALSE;
  g_strfreev (r->freeze_list);
  r->freeze_list = items;
  return TRUE;
}

static char *
format_freeze_list (const KeyDef *d, const HoneRecipe *r)
{
  return r->freeze_list ? g_strjoinv (",", r->freeze_list) : g_strdup ("");
}

static gboolean
parse_lr_mults (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  g_auto (GStrv) items = split_list (d, text, error);
  if (items == NULL)
    return FALSE;
  guint n = g_strv_length (items);
  g_auto (GStrv) out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      char *eq = strrchr (items[i], '=');
      if (eq == NULL)
        return range_error (error, d, text, "is not a list of prefix=multiplier pairs");
      *eq = '\0';
      const char *prefix = g_strstrip (items[i]);
      const char *number = g_strstrip (eq + 1);
      double mult = 0.0;
      NumResult res = parse_double_text (number, &mult);
      if (*prefix == '\0' || res == NUM_SYNTAX)
        return range_error (error, d, text, "is not a list of prefix=multiplier pairs");
      if (res == NUM_RANGE || !double_allowed (d, mult))
        return range_error (error, d, text, "is out of range");
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      out[i] = g_strdup_printf ("%s=%s", prefix, format_double (buf, mult, FALSE));
    }
  g_strfreev (r->lr_mults);
  r->lr_mults = g_steal_pointer (&out);
  return TRUE;
}

static char *
format_lr_mults (const KeyDef *d, const HoneRecipe *r)
{
  return r->lr_mults ? g_strjoinv (",", r->lr_mults) : g_strdup ("");
}

/* "2:layer4,layer3.1,4:layer2": an item "EPOCH:prefix" starts a group, an
 * item without an epoch adds a prefix to the group before it. */
static gboolean
parse_unfreeze (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  g_auto (GStrv) items = split_list (d, text, error);
  if (items == NULL)
    return FALSE;
  int n = 0;
  int epochs[HONE_RECIPE_MAX_UNFREEZE];
  GString *what[HONE_RECIPE_MAX_UNFREEZE] = { NULL };
  gboolean ok = TRUE;
  const char *problem = NULL;
  for (int i = 0; ok && items[i]; i++)
    {
      const char *prefix = items[i];
      char *colon = strchr (items[i], ':');
      if (colon)
        {
          *colon = '\0';
          gint64 epoch;
          if (!g_ascii_string_to_signed (g_strstrip (items[i]), 10, 1, MAX_EPOCHS, &epoch, NULL))
            {
              ok = FALSE, problem = "has an item that is not EPOCH:prefix with an epoch from 1 "
                "to 10000";
              break;
            }
          if (n == HONE_RECIPE_MAX_UNFREEZE)
            {
              ok = FALSE, problem = "has too many epochs";
              break;
            }
          if (n > 0 && epoch <= epochs[n - 1])
            {
              ok = FALSE, problem = "has epochs that do not increase";
              break;
            }
          epochs[n] = (int) epoch;
          what[n++] = g_string_new (NULL);
          prefix = g_strstrip (colon + 1);
        }
      if (n == 0)
        ok = FALSE, problem = "does not start with an epoch (EPOCH:prefix)";
      else if (*prefix == '\0')
        ok = FALSE, problem = "has an epoch without a layer prefix";
      else
        g_string_append_printf (what[n - 1], "%s%s", what[n - 1]->len ? "," : "", prefix);
    }
  if (!ok)
    {
      for (int i = 0; i < n; i++)
        g_string_free (what[i], TRUE);
      return range_error (error, d, text, problem);
    }
  for (int i = 0; i < HONE_RECIPE_MAX_UNFREEZE; i++)
    {
      g_clear_pointer (&r->unfreeze_what[i], g_free);
      r->unfreeze_epoch[i] = i < n ? epochs[i] : 0;
      if (i < n)
        r->unfreeze_what[i] = g_string_free (what[i], FALSE);
    }
  r->n_unfreeze = n;
  return TRUE;
}

static char *
format_unfreeze (const KeyDef *d, const HoneRecipe *r)
{
  GString *s = g_string_new (NULL);
  if (r->n_unfreeze < 0 || r->n_unfreeze > HONE_RECIPE_MAX_UNFREEZE)
    {
      g_string_append_printf (s, "(%d groups)", r->n_unfreeze);
      return g_string_free (s, FALSE);
    }
  for (int i = 0; i < r->n_unfreeze; i++)
    g_string_append_printf (s, "%s%d:%s", i ? "," : "", r->unfreeze_epoch[i],
                            r->unfreeze_what[i] ? r->unfreeze_what[i] : "");
  return g_string_free (s, FALSE);
}

/* ---- model ---------------------------------------------------------------- */

static gboolean
parse_arch (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  if (*text == '\0')
    {
      g_clear_pointer (&r->arch, g_free);
      return TRUE;
    }
  const char *const *words = key_info (d)->choices;
  for (int i = 0; words[i]; i++)
    if (g_ascii_strcasecmp (text, words[i]) == 0)
      {
        g_free (r->arch);
        r->arch = g_strdup (words[i]);
        g_clear_pointer (&r->source, g_free);
        return TRUE;
      }
  const char *near = nearest_word (text, words);
  if (near == NULL)
    return range_error (error, d, text, "is not a built-in architecture");
  g_autofree char *v = shown (text);
  g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
               "%s = %s is not a built-in architecture: did you mean %s? (use %s)", d->key, v,
               near, key_info (d)->range);
  return FALSE;
}

static char *
format_arch (const KeyDef *d, const HoneRecipe *r)
{
  return g_strdup (r->arch ? r->arch : "");
}

static gboolean
parse_source (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  g_free (r->source);
  r->source = *text ? g_strdup (text) : NULL;
  if (r->source)
    g_clear_pointer (&r->arch, g_free);
  return TRUE;
}

static char *
format_source (const KeyDef *d, const HoneRecipe *r)
{
  return g_strdup (r->source ? r->source : "");
}

static gboolean
parse_input (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  if (*text == '\0')
    {
      r->channels = r->height = r->width = 0;
      return TRUE;
    }
  g_auto (GStrv) parts = g_strsplit (text, "x", -1);
  if (g_strv_length (parts) != 3)
    return range_error (error, d, text, "is not CxHxW");
  static const gint64 max[3] = { HONE_ARCH_MAX_CHANNELS, HONE_ARCH_MAX_SIZE, HONE_ARCH_MAX_SIZE };
  gint64 v[3];
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (GError) local = NULL;
      if (!g_ascii_string_to_signed (g_strstrip (parts[i]), 10, G_MININT64, G_MAXINT64, &v[i],
                                     &local))
        return range_error (error, d, text,
                            g_error_matches (local, G_NUMBER_PARSER_ERROR,
                                             G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)
                            ? "is out of range" : "is not CxHxW");
      if (v[i] < 1 || v[i] > max[i])
        return range_error (error, d, text, "is out of range");
    }
  r->channels = (int) v[0];
  r->height = (int) v[1];
  r->width = (int) v[2];
  return TRUE;
}

static char *
format_input (const KeyDef *d, const HoneRecipe *r)
{
  if (r->channels == 0 && r->height == 0 && r->width == 0)
    return g_strdup ("");
  return g_strdup_printf ("%dx%dx%d", r->channels, r->height, r->width);
}

/* ---- life cycle ----------------------------------------------------------- */

HoneRecipe *
hone_recipe_new (void)
{
  HoneRecipe *r = g_new0 (HoneRecipe, 1);
  for (int i = 0; i < N_KEYS; i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = def_parse (&key_defs[i], r, key_defs[i].default_text, &error);
      g_assert_no_error (error);
      g_assert (ok);
    }
  return r;
}

void
hone_recipe_free (HoneRecipe *recipe)
{
  if (recipe == NULL)
    return;
  g_free (recipe->arch);
  g_free (recipe->source);
  g_free (recipe->weights);
  g_free (recipe->data_source);
  g_free (recipe->val_source);
  g_strfreev (recipe->freeze_list);
  g_strfreev (recipe->lr_mults);
  for (int i = 0; i < HONE_RECIPE_MAX_UNFREEZE; i++)
    g_free (recipe->unfreeze_what[i]);
  g_free (recipe);
}

HoneRecipe *
hone_recipe_copy (const HoneRecipe *recipe)
{
  g_return_val_if_fail (recipe != NULL, NULL);
  HoneRecipe *c = g_new (HoneRecipe, 1);
  *c = *recipe;
  c->arch = g_strdup (recipe->arch);
  c->source = g_strdup (recipe->source);
  c->weights = g_strdup (recipe->weights);
  c->data_source = g_strdup (recipe->data_source);
  c->val_source = g_strdup (recipe->val_source);
  c->freeze_list = g_strdupv (recipe->freeze_list);
  c->lr_mults = g_strdupv (recipe->lr_mults);
  for (int i = 0; i < HONE_RECIPE_MAX_UNFREEZE; i++)
    c->unfreeze_what[i] = g_strdup (recipe->unfreeze_what[i]);
  return c;
}

/* ---- overrides ------------------------------------------------------------ */

/* Every parser leaves r unchanged when it fails. */
static gboolean
set_value (const KeyDef *d, HoneRecipe *r, const char *text, GError **error)
{
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID, "%s: the value is not UTF-8 text",
                   d->key);
      return FALSE;
    }
  return def_parse (d, r, text, error);
}

gboolean
hone_recipe_set (HoneRecipe *recipe, const char *assignment, GError **error)
{
  g_return_val_if_fail (recipe != NULL && assignment != NULL, FALSE);
  if (!g_utf8_validate (assignment, -1, NULL))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "a setting is not UTF-8 text: use group.key=value");
      return FALSE;
    }
  const char *eq = strchr (assignment, '=');
  if (eq == NULL)
    {
      g_autofree char *a = shown (assignment);
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "“%s” is not a setting: use group.key=value, such as optimizer.lr=0.01", a);
      return FALSE;
    }
  g_autofree char *key = g_strstrip (g_strndup (assignment, eq - assignment));
  g_autofree char *value = g_strstrip (g_strdup (eq + 1));
  const KeyDef *d = find_def (key);
  if (d == NULL)
    return unknown_key_error (error, key);
  return set_value (d, recipe, value, error);
}

char *
hone_recipe_get (const HoneRecipe *recipe, const char *key, GError **error)
{
  g_return_val_if_fail (recipe != NULL && key != NULL, NULL);
  const KeyDef *d = find_def (key);
  if (d == NULL)
    {
      unknown_key_error (error, key);
      return NULL;
    }
  return def_format (d, recipe);
}

/* ---- validation ----------------------------------------------------------- */

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, HONE_ERROR, HONE_ERROR_INVALID, message);
  g_free (message);
  return FALSE;
}

/* A list item that reads back as itself: not empty, no commas, no spaces
 * around it (and no colon where an epoch would be read). */
static gboolean
item_ok (const char *item, gboolean colon_ok)
{
  size_t n = strlen (item);
  return n > 0 && strchr (item, ',') == NULL && (colon_ok || strchr (item, ':') == NULL)
         && !g_ascii_isspace (item[0]) && !g_ascii_isspace (item[n - 1]);
}

static gboolean
item_error (GError **error, const char *key, const char *item)
{
  g_autofree char *v = shown (item);
  return invalid (error, "%s has an item “%s” that cannot be written to a recipe file: use "
                  "names without commas or spaces around them", key, v);
}

/* The list fields hold items that a file can hold, one by one (their text,
 * joined with commas, cannot show this). */
static gboolean
check_list_items (const HoneRecipe *r, GError **error)
{
  for (int i = 0; r->freeze_list && r->freeze_list[i]; i++)
    if (!item_ok (r->freeze_list[i], TRUE))
      return item_error (error, "freeze.list", r->freeze_list[i]);
  for (int i = 0; r->lr_mults && r->lr_mults[i]; i++)
    if (!item_ok (r->lr_mults[i], TRUE))
      return item_error (error, "layers.lr_mult", r->lr_mults[i]);
  for (int i = 0; i < r->n_unfreeze; i++)
    {
      g_auto (GStrv) parts = g_strsplit (r->unfreeze_what[i] ? r->unfreeze_what[i] : "", ",", -1);
      if (parts[0] == NULL)
        return item_error (error, "layers.unfreeze", "");
      for (int j = 0; parts[j]; j++)
        if (!item_ok (parts[j], FALSE))
          return item_error (error, "layers.unfreeze", parts[j]);
    }
  return TRUE;
}

static gboolean
has_validation (const HoneRecipe *r)
{
  return r->val_split > 0.0 || r->val_source != NULL || r->kfold > 0;
}

static gboolean
check_combinations (const HoneRecipe *r, GError **error)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

  /* [model] */
  if (r->arch == NULL && r->source == NULL)
    return invalid (error, "model.arch and model.source are both empty: choose a built-in "
                    "architecture or a model file");
  if (r->arch != NULL && r->source != NULL)
    return invalid (error, "model.arch = %s and model.source = %s are both set: keep one",
                    r->arch, r->source);
  if (r->std[0] == 0.0f && r->std[1] == 0.0f && r->std[2] == 0.0f && r->std[3] == 0.0f
      && (r->mean[0] != 0.0f || r->mean[1] != 0.0f || r->mean[2] != 0.0f || r->mean[3] != 0.0f))
    return invalid (error, "model.mean is set but model.std is empty: give both, or neither "
                    "for the architecture's own values");

  /* [data] */
  if (!(r->val_split + r->test_split < 1.0))
    return invalid (error, "data.val_split = %s and data.test_split = %s leave no training "
                    "images: keep their sum below 1",
                    format_double (a, r->val_split, FALSE),
                    format_double (b, r->test_split, FALSE));
  if (r->kfold == 0 && r->fold != 0)
    return invalid (error, "data.fold = %d needs data.kfold: set data.kfold above %d, or "
                    "data.fold to 0", r->fold, r->fold);
  if (r->kfold > 0 && r->fold >= r->kfold)
    return invalid (error, "data.fold = %d is not one of data.kfold = %d folds: use 0 to %d",
                    r->fold, r->kfold, r->kfold - 1);
  if (r->kfold > 0 && r->val_source != NULL)
    return invalid (error, "data.kfold and data.val_source are both set: validate on folds or on "
                    "separate images, not both");

  /* [augment] */
  const HoneAugment *aug = &r->augment;
  if ((aug->scale_min == 0.0) != (aug->scale_max == 0.0) || aug->scale_min > aug->scale_max)
    return invalid (error, "augment.scale_min = %s and augment.scale_max = %s: use both 0 "
                    "(off), or 0 < scale_min <= scale_max",
                    format_double (a, aug->scale_min, FALSE),
                    format_double (b, aug->scale_max, FALSE));

  /* [optimizer] */
  if (r->optimizer.kind == HONE_OPTIM_SGD && r->optimizer.nesterov
      && (r->optimizer.momentum == 0.0 || r->optimizer.dampening != 0.0))
    return invalid (error, "optimizer.nesterov needs optimizer.momentum above 0 (it is %s) and "
                    "optimizer.dampening 0 (it is %s)",
                    format_double (a, r->optimizer.momentum, FALSE),
                    format_double (b, r->optimizer.dampening, FALSE));
  if (!hone_optim_config_validate (&r->optimizer, error))
    return FALSE;

  /* [schedule] */
  const HoneRecipeSchedule *s = &r->schedule;
  const char *eta_key = NULL;
  double eta = 0.0;
  if (s->kind == HONE_SCHEDULE_COSINE || s->kind == HONE_SCHEDULE_COSINE_RESTARTS)
    eta_key = "schedule.eta_min", eta = s->eta_min;
  else if (s->kind == HONE_SCHEDULE_POLYNOMIAL)
    eta_key = "schedule.end_lr", eta = s->end_lr;
  else if (s->kind == HONE_SCHEDULE_PLATEAU)
    eta_key = "schedule.min_lr", eta = s->min_lr;
  if (eta_key && eta > r->lr)
    return invalid (error, "%s = %s is above optimizer.lr = %s: use at most optimizer.lr",
                    eta_key, format_double (a, eta, FALSE), format_double (b, r->lr, FALSE));
  if (s->kind == HONE_SCHEDULE_MULTI_STEP)
    {
      if (s->n_milestones < 1)
        return invalid (error, "schedule.milestones is empty: multistep needs at least one "
                        "epoch, such as 2,4");
      double warmup = s->warmup == HONE_WARMUP_NONE ? 0.0 : s->warmup_epochs;
      if (!(s->milestones[0] > warmup))
        return invalid (error, "schedule.milestones = %s falls within the warmup "
                        "(schedule.warmup_epochs = %s): use epochs after it",
                        format_double (a, s->milestones[0], FALSE),
                        format_double (b, warmup, FALSE));
    }
  if (s->kind == HONE_SCHEDULE_ONE_CYCLE && s->three_phase && !(s->pct_start < 0.5))
    return invalid (error, "schedule.pct_start = %s leaves no final decay with "
                    "schedule.three_phase: use a value below 0.5",
                    format_double (a, s->pct_start, FALSE));
  if (s->kind == HONE_SCHEDULE_PLATEAU && !has_validation (r))
    return invalid (error, "schedule.name = plateau needs validation images: set data.val_split "
                    "above 0, data.val_source or data.kfold");

  /* [freeze] and [layers] */
  if (r->freeze_mode == HONE_FREEZE_LIST && (r->freeze_list == NULL || r->freeze_list[0] == NULL))
    return invalid (error, "freeze.mode = list needs freeze.list: name the layers to freeze, "
                    "such as stem,layer1");
  if (r->n_unfreeze > 0 && r->freeze_mode == HONE_FREEZE_NONE)
    return invalid (error, "layers.unfreeze has nothing to unfreeze with freeze.mode = none: "
                    "set freeze.mode, such as head");
  for (int i = 0; i < r->n_unfreeze; i++)
    {
      if (r->unfreeze_epoch[i] < 1 || (i > 0 && r->unfreeze_epoch[i] <= r->unfreeze_epoch[i - 1]))
        return invalid (error, "layers.unfreeze epochs must increase from 1: %d comes %s",
                        r->unfreeze_epoch[i], i > 0 ? "after a later or equal one" : "first");
      if (r->unfreeze_epoch[i] >= r->epochs)
        return invalid (error, "layers.unfreeze at epoch %d is not within the run "
                        "(train.epochs = %d): use epochs below %d", r->unfreeze_epoch[i],
                        r->epochs, r->epochs);
    }

  /* [stop] */
  if (r->early_stopping && !has_validation (r))
    return invalid (error, "stop.early needs validation images: set data.val_split above 0, "
                    "data.val_source or data.kfold");

  /* Every check above should make the schedule valid; this is the safety net. */
  HoneSchedule sched;
  hone_recipe_schedule (r, 1, &sched);
  return hone_schedule_validate (&sched, error);
}

gboolean
hone_recipe_validate (const HoneRecipe *recipe, GError **error)
{
  g_return_val_if_fail (recipe != NULL, FALSE);
  if (recipe->n_unfreeze < 0 || recipe->n_unfreeze > HONE_RECIPE_MAX_UNFREEZE)
    return invalid (error, "layers.unfreeze has %d epochs: use at most %d", recipe->n_unfreeze,
                    HONE_RECIPE_MAX_UNFREEZE);
  if (recipe->schedule.n_milestones < 0
      || recipe->schedule.n_milestones > HONE_SCHEDULE_MAX_MILESTONES)
    return invalid (error, "schedule.milestones has %d epochs: use at most %d",
                    recipe->schedule.n_milestones, HONE_SCHEDULE_MAX_MILESTONES);

  if (!check_list_items (recipe, error))
    return FALSE;

  /* Each value, written as a file would hold it, must read back as itself. */
  g_autoptr (HoneRecipe) scratch = hone_recipe_copy (recipe);
  for (int i = 0; i < N_KEYS; i++)
    {
      const KeyDef *d = &key_defs[i];
      g_autofree char *text = def_format (d, recipe);
      if (!set_value (d, scratch, text, error))
        return FALSE;
      g_autofree char *back = def_format (d, scratch);
      if (strcmp (text, back) != 0)
        {
          g_autofree char *v = shown (text);
          return invalid (error, "%s = %s cannot be written to a recipe file as it is (it would "
                          "read back as %s): use %s", d->key, v, back, key_info (d)->range);
        }
    }
  return check_combinations (recipe, error);
}

/* ---- files ---------------------------------------------------------------- */

/* Appends text as "# " comment lines of at most 78 columns. */
static void
append_comment (GString *out, const char *text)
{
  const int width = 76;
  const char *p = text;
  while (*p)
    {
      const char *line = p;
      const char *cut = NULL;
      int cols = 0;
      for (const char *q = p; *q && cols <= width; q = g_utf8_next_char (q), cols++)
        if (*q == ' ')
          cut = q;
      if ((int) g_utf8_strlen (p, -1) <= width || cut == NULL)
        {
          g_string_append_printf (out, "# %s\n", p);
          break;
        }
      g_string_append (out, "# ");
      g_string_append_len (out, line, cut - line);
      g_string_append_c (out, '\n');
      p = cut + 1;
    }
}

char *
hone_recipe_to_data (const HoneRecipe *recipe, gsize *length)
{
  g_return_val_if_fail (recipe != NULL, NULL);
  /* GKeyFile escapes each value (leading spaces, newlines, backslashes);
   * the file around the values is written here, for its comments. */
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GString *out = g_string_new (NULL);
  append_comment (out, "Hone recipe: every setting of a training run. Lines starting with # are "
                  "comments. Run it with hone-cli train FILE; --set group.key=value changes a "
                  "key for one run. Durations are in epochs. Every key is listed in the Recipes "
                  "section of Hone's README.");
  const char *group = "";
  for (int i = 0; i < N_KEYS; i++)
    {
      const KeyDef *d = &key_defs[i];
      const HoneRecipeKey *k = key_info (d);
      const char *dot = strchr (d->key, '.');
      g_autofree char *g = g_strndup (d->key, dot - d->key);
      if (strcmp (g, group) != 0)
        {
          const GroupDef *gd = find_group (g);
          g_assert (gd != NULL);
          group = gd->name;
          g_string_append_printf (out, "\n[%s]\n", group);
          append_comment (out, gd->help);
        }
      g_autofree char *value = def_format (d, recipe);
      g_key_file_set_string (kf, group, dot + 1, value);
      g_autofree char *escaped = g_key_file_get_value (kf, group, dot + 1, NULL);
      g_autofree char *about = g_strdup_printf ("%s Use %s. Default: %s.", k->help, k->range,
                                                *k->default_text ? k->default_text : "empty");
      g_string_append_c (out, '\n');
      append_comment (out, about);
      g_string_append_printf (out, "%s=%s\n", dot + 1, escaped ? escaped : "");
    }
  if (length)
    *length = out->len;
  return g_string_free (out, FALSE);
}

gboolean
hone_recipe_save (const HoneRecipe *recipe, const char *path, GError **error)
{
  g_return_val_if_fail (recipe != NULL && path != NULL, FALSE);
  gsize length = 0;
  g_autofree char *data = hone_recipe_to_data (recipe, &length);
  g_autoptr (GError) local = NULL;
  /* A temporary file in the same folder, synced, then renamed over path. */
  if (!g_file_set_contents_full (path, data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot save the recipe %s: %s", path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

#define MAX_RECIPE_BYTES (1 << 20)

HoneRecipe *
hone_recipe_from_data (const char *data, gsize length, const char *what, GError **error)
{
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  if (what == NULL)
    what = "recipe";
  if (length == (gsize) -1)
    length = strlen (data);
  if (length > MAX_RECIPE_BYTES)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "%s is not a recipe file: it is %" G_GSIZE_FORMAT " bytes, more than a recipe "
                   "(at most %d)", what, length, MAX_RECIPE_BYTES);
      return NULL;
    }
  const char *bad = NULL;
  if (!g_utf8_validate_len (data, length, &bad))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "%s is not a recipe file: it is not UTF-8 text (at byte %" G_GSIZE_FORMAT ")",
                   what, (gsize) (bad - data));
      return NULL;
    }

  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (!g_key_file_load_from_data (kf, data ? data : "", length, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "%s is not a recipe file: %s", what, local->message);
      return NULL;
    }

  /* Anything the table does not know is an error: a misspelt key must not
   * leave its setting at the default unnoticed. */
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (int i = 0; groups[i]; i++)
    {
      if (find_group (groups[i]) == NULL)
        {
          unknown_group_error (error, groups[i]);
          g_prefix_error (error, "%s: ", what);
          return NULL;
        }
      g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      for (int j = 0; keys && keys[j]; j++)
        {
          g_autofree char *key = g_strdup_printf ("%s.%s", groups[i], keys[j]);
          if (find_def (key) == NULL)
            {
              unknown_key_error (error, key);
              g_prefix_error (error, "%s: ", what);
              return NULL;
            }
        }
    }

  /* GKeyFile hides translated keys ("lr[de]") from get_keys: find them in
   * the text, which GKeyFile has just accepted line by line. */
  g_autofree char *whole = g_strndup (data ? data : "", length);
  g_auto (GStrv) lines = g_strsplit (whole, "\n", -1);
  g_autofree char *current = NULL;
  for (int i = 0; lines[i]; i++)
    {
      const char *line = lines[i];
      while (g_ascii_isspace (*line))
        line++;
      if (*line == '[')
        {
          const char *close = strchr (line, ']');
          g_free (current);
          current = close ? g_strndup (line + 1, close - line - 1) : NULL;
          continue;
        }
      const char *eq = strchr (line, '=');
      if (*line == '#' || eq == NULL || current == NULL)
        continue;
      g_autofree char *name = g_strstrip (g_strndup (line, eq - line));
      if (strchr (name, '['))
        {
          g_autofree char *key = g_strdup_printf ("%s.%s", current, name);
          unknown_key_error (error, key);
          g_prefix_error (error, "%s: ", what);
          return NULL;
        }
    }

  g_autoptr (HoneRecipe) r = hone_recipe_new ();
  gboolean arch_set = FALSE, source_set = FALSE;
  for (int i = 0; i < N_KEYS; i++)
    {
      const KeyDef *d = &key_defs[i];
      const char *dot = strchr (d->key, '.');
      g_autofree char *group = g_strndup (d->key, dot - d->key);
      if (!g_key_file_has_key (kf, group, dot + 1, NULL))
        continue;
      g_autofree char *text = g_key_file_get_string (kf, group, dot + 1, &local);
      if (text == NULL)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT, "%s: %s: %s", what, d->key,
                       local->message);
          return NULL;
        }
      /* Strings keep their spaces (GKeyFile has escapes for them); other
       * values are read without. */
      if (d->storage != ST_STRING && d->parse != parse_source)
        g_strstrip (text);
      if (!set_value (d, r, text, error))
        {
          g_prefix_error (error, "%s: ", what);
          return NULL;
        }
      if (d->parse == parse_arch)
        arch_set = *text != '\0';
      else if (d->parse == parse_source)
        source_set = *text != '\0';
    }
  if (arch_set && source_set)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s: model.arch and model.source are both set: keep one", what);
      return NULL;
    }
  if (!hone_recipe_validate (r, error))
    {
      g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  return g_steal_pointer (&r);
}

HoneRecipe *
hone_recipe_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GStatBuf st;
  if (g_stat (path, &st) == 0 && st.st_size > MAX_RECIPE_BYTES)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_FORMAT,
                   "%s is not a recipe file: it is %" G_GINT64_FORMAT " bytes, more than a "
                   "recipe (at most %d)", path, (gint64) st.st_size, MAX_RECIPE_BYTES);
      return NULL;
    }
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &length, &local))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_IO, "cannot read the recipe %s: %s", path,
                   local->message);
      return NULL;
    }
  return hone_recipe_from_data (data, length, path, error);
}

/* ---- schedule ------------------------------------------------------------- */

static int64_t
epochs_to_steps (double epochs, int64_t steps_per_epoch, int64_t at_least)
{
  return MAX (at_least, (int64_t) llround (epochs * (double) steps_per_epoch));
}

void
hone_recipe_schedule (const HoneRecipe *recipe, int64_t steps_per_epoch, HoneSchedule *schedule)
{
  g_return_if_fail (recipe != NULL && schedule != NULL && steps_per_epoch >= 1);
  const HoneRecipeSchedule *rs = &recipe->schedule;
  HoneSchedule *s = schedule;
  int64_t spe = steps_per_epoch;
  hone_schedule_init (s, rs->kind, recipe->lr);

  s->warmup = rs->warmup;
  s->warmup_start_factor = rs->warmup_start_factor;
  s->warmup_steps = rs->warmup == HONE_WARMUP_NONE
    ? 0 : epochs_to_steps (rs->warmup_epochs, spe, 0);
  int64_t total = (int64_t) MAX (recipe->epochs, 1) * spe;
  /* The schedule proper counts its own steps from the end of the warmup. */
  int64_t after_warmup = MAX (1, total - s->warmup_steps);

  switch (rs->kind)
    {
    case HONE_SCHEDULE_CONSTANT:
      break;
    case HONE_SCHEDULE_STEP:
      s->gamma = rs->gamma;
      s->step_size = epochs_to_steps (rs->step_epochs, spe, 1);
      break;
    case HONE_SCHEDULE_MULTI_STEP:
      s->gamma = rs->gamma;
      s->n_milestones = CLAMP (rs->n_milestones, 1, HONE_SCHEDULE_MAX_MILESTONES);
      for (int i = 0; i < s->n_milestones; i++)
        {
          /* Epochs of the run, moved to the schedule's own count. */
          int64_t m = i < rs->n_milestones ? epochs_to_steps (rs->milestones[i], spe, 0) : 0;
          m -= s->warmup_steps;
          s->milestones[i] = MAX (m, i > 0 ? s->milestones[i - 1] + 1 : 1);
        }
      break;
    case HONE_SCHEDULE_EXPONENTIAL:
      /* gamma is per epoch; ExponentialLR multiplies once per step. */
      s->gamma = pow (rs->gamma, 1.0 / (double) spe);
      break;
    case HONE_SCHEDULE_COSINE:
      s->t_max = rs->cycle_epochs > 0.0 ? epochs_to_steps (rs->cycle_epochs, spe, 1) : after_warmup;
      s->eta_min = rs->eta_min;
      break;
    case HONE_SCHEDULE_COSINE_RESTARTS:
      s->t_0 = rs->cycle_epochs > 0.0 ? epochs_to_steps (rs->cycle_epochs, spe, 1) : after_warmup;
      s->t_mult = rs->cycle_mult;
      s->eta_min = rs->eta_min;
      break;
    case HONE_SCHEDULE_POLYNOMIAL:
      s->total_steps = after_warmup;
      s->power = rs->power;
      s->end_lr = rs->end_lr;
      break;
    case HONE_SCHEDULE_ONE_CYCLE:
      s->pct_start = rs->pct_start;
      s->anneal = rs->anneal;
      s->div_factor = rs->div_factor;
      s->final_div_factor = rs->final_div_factor;
      s->three_phase = rs->three_phase;
      /* OneCycleLR needs every phase longer than one step (the test
       * hone_schedule_validate makes); a shorter run gets the shortest
       * cycle that has them, and ends before its cycle does. */
      s->total_steps = MAX (2, after_warmup);
      for (int tries = 0; tries < 1000; tries++)
        {
          double t = (double) s->total_steps;
          double end1 = s->pct_start * t - 1.0;
          double end_prev = s->three_phase ? 2.0 * s->pct_start * t - 2.0 : end1;
          if (end1 > 0.0 && t - 1.0 - end_prev > 0.0)
            break;
          s->total_steps++;
        }
      break;
    case HONE_SCHEDULE_PLATEAU:
      s->plateau_mode = recipe->stop_metric == HONE_STOP_VAL_ACCURACY
        ? HONE_PLATEAU_MAX : HONE_PLATEAU_MIN;
      s->factor = rs->factor;
      s->patience = rs->patience;
      s->threshold_mode = HONE_THRESHOLD_REL;
      s->threshold = rs->threshold;
      s->cooldown = rs->cooldown;
      s->min_lr = rs->min_lr;
      break;
    default:
      break;
    }
}
