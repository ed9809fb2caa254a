/* hone-training-page.c: the Training page.
 *
 * The rows come from one table (RowSpec): the recipe key, the control, a
 * title, a one-sentence explanation and when the row applies ("optimizer
 * .name=sgd").  Ranges come from the engine's key table
 * (hone_recipe_find_key).  The LR plot is fed the engine's own schedule
 * (hone_recipe_schedule) and block groups from the engine's freezing plan
 * (hone_recipe_plan_freezing), so it shows what the trainer will do.
 *
 * This file does not train and does not change the model. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "hone-freeze.h"
#include "hone-lr-plot.h"
#include "hone-training-page.h"

typedef enum
{
  ROW_SPIN,
  ROW_COMBO,
  ROW_SWITCH,
  ROW_ENTRY,
} RowKind;

typedef struct
{
  const char *word;
  const char *label;          /* N_() */
} Choice;

typedef struct
{
  int group;
  const char *key;
  RowKind kind;
  const char *title;          /* N_() */
  const char *subtitle;       /* N_(): what it does and when to use it */
  double step;                /* spin */
  int digits;                 /* spin */
  const Choice *choices;      /* combo, NULL-word-terminated */
  const char *when;           /* "key=a|b": shown only then; NULL: always */
} RowSpec;

enum { G_OPTIM, G_SCHEDULE, G_REGULAR, G_AUGMENT, G_LOSS, G_STOP, G_FREEZE, G_RUN, N_GROUPS };

static const char *const group_titles[N_GROUPS] = {
  N_("Optimizer"), N_("Schedule"), N_("Regularisation"), N_("Augmentation"), N_("Loss"),
  N_("Stopping"), N_("Freezing over time"), N_("Run"),
};

static const Choice optim_choices[] = {
  { "sgd", N_("SGD with momentum") }, { "adam", N_("Adam") }, { "adamw", N_("AdamW") }, { NULL, NULL },
};
static const Choice schedule_choices[] = {
  { "constant", N_("Constant") }, { "step", N_("Step") }, { "multistep", N_("Multi-step") },
  { "exponential", N_("Exponential") }, { "cosine", N_("Cosine") },
  { "cosine_restarts", N_("Cosine with restarts") }, { "polynomial", N_("Polynomial") },
  { "onecycle", N_("One-cycle") }, { "plateau", N_("Reduce on plateau") }, { NULL, NULL },
};
static const Choice warmup_choices[] = {
  { "none", N_("None") }, { "linear", N_("Linear") }, { "cosine", N_("Cosine") }, { NULL, NULL },
};
static const Choice loss_choices[] = {
  { "cross_entropy", N_("Cross-entropy") }, { "focal", N_("Focal loss") }, { NULL, NULL },
};
static const Choice stop_choices[] = {
  { "val_loss", N_("Validation loss") }, { "val_accuracy", N_("Validation accuracy") }, { NULL, NULL },
};

static const RowSpec rows[] = {
  { G_OPTIM, "optimizer.name", ROW_COMBO, N_("Optimizer"),
    N_("SGD with momentum is the classic for fine-tuning; Adam and AdamW adapt every weight's step and want a smaller learning rate, about 0.001."),
    0, 0, optim_choices, NULL },
  { G_OPTIM, "optimizer.lr", ROW_SPIN, N_("Learning rate"),
    N_("How big each update is, the most important setting: lower it when the loss jumps about, raise it when the loss hardly moves."),
    0.001, 5, NULL, NULL },
  { G_OPTIM, "optimizer.momentum", ROW_SPIN, N_("Momentum"),
    N_("Keeps a running direction so that updates smooth out noise; 0.9 suits almost every run."),
    0.05, 2, NULL, "optimizer.name=sgd" },
  { G_OPTIM, "optimizer.nesterov", ROW_SWITCH, N_("Nesterov momentum"),
    N_("Looks ahead along the momentum before each step; often converges a little faster."),
    0, 0, NULL, "optimizer.name=sgd" },
  { G_OPTIM, "optimizer.beta1", ROW_SPIN, N_("Beta 1"),
    N_("How much Adam averages past gradients; keep 0.9 unless training is unstable."),
    0.01, 3, NULL, "optimizer.name=adam|adamw" },
  { G_OPTIM, "optimizer.beta2", ROW_SPIN, N_("Beta 2"),
    N_("How much Adam averages squared gradients; 0.999 is standard."),
    0.001, 4, NULL, "optimizer.name=adam|adamw" },
  { G_OPTIM, "optimizer.clip_norm", ROW_SPIN, N_("Gradient clipping"),
    N_("Caps the size of each update's gradient to avoid sudden jumps; 0 is off, try 1 to 5 when the loss spikes."),
    0.5, 1, NULL, NULL },

  { G_SCHEDULE, "schedule.name", ROW_COMBO, N_("Schedule"),
    N_("How the learning rate changes during the run; cosine is a safe default for fine-tuning."),
    0, 0, schedule_choices, NULL },
  { G_SCHEDULE, "schedule.step_epochs", ROW_SPIN, N_("Drop every"),
    N_("Epochs between two drops of the learning rate."),
    1, 1, NULL, "schedule.name=step" },
  { G_SCHEDULE, "schedule.milestones", ROW_ENTRY, N_("Drop after epochs"),
    NULL, 0, 0, NULL, "schedule.name=multistep" },
  { G_SCHEDULE, "schedule.gamma", ROW_SPIN, N_("Drop factor"),
    N_("What the learning rate is multiplied by at each drop (every epoch for exponential); 0.1 is usual for steps."),
    0.05, 3, NULL, "schedule.name=step|multistep|exponential" },
  { G_SCHEDULE, "schedule.cycle_epochs", ROW_SPIN, N_("Cycle length"),
    N_("Epochs of one cosine cycle; 0 spans the whole run."),
    1, 1, NULL, "schedule.name=cosine|cosine_restarts" },
  { G_SCHEDULE, "schedule.eta_min", ROW_SPIN, N_("Lowest learning rate"),
    N_("Where the cosine curve ends; 0 is usual."),
    0.0001, 5, NULL, "schedule.name=cosine|cosine_restarts" },
  { G_SCHEDULE, "schedule.power", ROW_SPIN, N_("Power"),
    N_("The curve's shape: 1 falls in a straight line, above 1 falls fast at first."),
    0.5, 1, NULL, "schedule.name=polynomial" },
  { G_SCHEDULE, "schedule.pct_start", ROW_SPIN, N_("Rising part"),
    N_("The share of the run spent raising the learning rate to its peak."),
    0.05, 2, NULL, "schedule.name=onecycle" },
  { G_SCHEDULE, "schedule.factor", ROW_SPIN, N_("Reduction factor"),
    N_("What the learning rate is multiplied by when validation stops improving."),
    0.05, 2, NULL, "schedule.name=plateau" },
  { G_SCHEDULE, "schedule.patience", ROW_SPIN, N_("Patience"),
    N_("Validations without improvement before the learning rate drops."),
    1, 0, NULL, "schedule.name=plateau" },
  { G_SCHEDULE, "schedule.warmup", ROW_COMBO, N_("Warmup"),
    N_("Starts small and ramps up, so that the new head's first large gradients do not wreck pretrained weights."),
    0, 0, warmup_choices, NULL },
  { G_SCHEDULE, "schedule.warmup_epochs", ROW_SPIN, N_("Warmup length"),
    N_("Epochs of warmup (fractions allowed); about one epoch is usually enough."),
    0.5, 1, NULL, "schedule.warmup=linear|cosine" },
  { G_SCHEDULE, "schedule.warmup_start_factor", ROW_SPIN, N_("Warmup start"),
    N_("The first learning rate as a share of the full one."),
    0.05, 2, NULL, "schedule.warmup=linear|cosine" },

  { G_REGULAR, "optimizer.weight_decay", ROW_SPIN, N_("Weight decay"),
    N_("Pulls weights towards zero against overfitting: 0.0001 to 0.0005 with SGD, about 0.01 to 0.05 with AdamW."),
    0.0001, 5, NULL, NULL },
  { G_REGULAR, "optimizer.l1", ROW_SPIN, N_("L1 penalty"),
    N_("Pushes small weights to exactly zero; rarely needed, leave it at 0 unless you want a sparse model."),
    0.0001, 5, NULL, NULL },
  { G_REGULAR, "model.dropout", ROW_SPIN, N_("Dropout"),
    N_("Randomly drops features before the classifier while training; try 0.2 to 0.5 when the model overfits."),
    0.05, 2, NULL, NULL },
  { G_REGULAR, "loss.label_smoothing", ROW_SPIN, N_("Label smoothing"),
    N_("Trains towards slightly softened targets, so the model is less overconfident; 0.1 is typical."),
    0.05, 2, NULL, NULL },

  { G_AUGMENT, "augment.enabled", ROW_SWITCH, N_("Augment images"),
    N_("Shows the model randomly changed copies of each image, the cheapest cure for overfitting; the Data page previews them."),
    0, 0, NULL, NULL },
  { G_AUGMENT, "augment.hflip", ROW_SPIN, N_("Horizontal flip"),
    N_("Chance of mirroring an image left to right: right for most photos, wrong for text and digits."),
    0.1, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.vflip", ROW_SPIN, N_("Vertical flip"),
    N_("Chance of turning an image upside down: only for pictures without an up, such as microscopy."),
    0.1, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.rotate", ROW_SPIN, N_("Rotation"),
    N_("Largest random rotation in degrees; 10 to 15 helps with tilted photos."),
    5, 0, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.translate", ROW_SPIN, N_("Shift"),
    N_("Largest random shift, as a share of the image side."),
    0.05, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.crop_scale_min", ROW_SPIN, N_("Random crop"),
    N_("Smallest share of the image a random crop keeps before it is stretched back; 0.5 is gentle, 0 is off."),
    0.05, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.brightness", ROW_SPIN, N_("Brightness jitter"),
    N_("Random change of brightness, as a share; 0.2 to 0.4 for photos taken in changing light."),
    0.05, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.contrast", ROW_SPIN, N_("Contrast jitter"),
    N_("Random change of contrast, as a share."),
    0.05, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.saturation", ROW_SPIN, N_("Saturation jitter"),
    N_("Random change of colour strength, as a share; no effect on grey images."),
    0.05, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.hue", ROW_SPIN, N_("Hue jitter"),
    N_("Random shift of colours around the colour wheel; keep it small, colour often matters."),
    0.02, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.cutout", ROW_SPIN, N_("Cutout"),
    N_("Blanks a random square of this share of the side, so the model looks at more than one detail."),
    0.05, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.mixup_alpha", ROW_SPIN, N_("Mixup"),
    N_("Blends pairs of images and their labels; 0.2 to 0.4 regularises strongly, 0 is off."),
    0.1, 2, NULL, "augment.enabled=true" },
  { G_AUGMENT, "augment.cutmix_alpha", ROW_SPIN, N_("CutMix"),
    N_("Pastes a patch of one image into another and mixes their labels by area; 1 is common, 0 is off."),
    0.1, 2, NULL, "augment.enabled=true" },

  { G_LOSS, "loss.name", ROW_COMBO, N_("Loss"),
    N_("Cross-entropy is the standard; focal loss concentrates on hard examples and helps with strong imbalance."),
    0, 0, loss_choices, NULL },
  { G_LOSS, "loss.focal_gamma", ROW_SPIN, N_("Focal gamma"),
    N_("How strongly focal loss ignores easy examples; 2 is usual."),
    0.5, 1, NULL, "loss.name=focal" },
  { G_LOSS, "loss.class_weights", ROW_SWITCH, N_("Weight classes"),
    N_("Weights each class by the inverse of its frequency, so that rare classes count as much as common ones."),
    0, 0, NULL, NULL },

  { G_STOP, "stop.early", ROW_SWITCH, N_("Early stopping"),
    N_("Stops when validation has not improved for a while: saves time and avoids overfitting."),
    0, 0, NULL, NULL },
  { G_STOP, "stop.metric", ROW_COMBO, N_("Watch"),
    N_("Which validation number has to improve."),
    0, 0, stop_choices, "stop.early=true" },
  { G_STOP, "stop.patience", ROW_SPIN, N_("Patience"),
    N_("Epochs without improvement before training stops."),
    1, 0, NULL, "stop.early=true" },
  { G_STOP, "stop.restore_best", ROW_SWITCH, N_("Keep the best weights"),
    N_("At the end, go back to the weights of the best validation score."),
    0, 0, NULL, "stop.early=true" },

  { G_FREEZE, "layers.unfreeze", ROW_ENTRY, N_("Progressive unfreezing"),
    NULL, 0, 0, NULL, NULL },
  { G_FREEZE, "layers.lr_decay", ROW_SPIN, N_("Discriminative learning rates"),
    N_("Each block further from the head learns this many times as fast as the next: 0.5 halves it block by block, 1 is off."),
    0.05, 2, NULL, NULL },

  { G_RUN, "train.epochs", ROW_SPIN, N_("Epochs"),
    N_("Passes over the training images; fine-tuning often needs only 3 to 10."),
    1, 0, NULL, NULL },
  { G_RUN, "train.batch", ROW_SPIN, N_("Batch size"),
    N_("Images per step: larger is faster per image but needs more memory, and may want a larger learning rate."),
    8, 0, NULL, NULL },
  { G_RUN, "train.accum", ROW_SPIN, N_("Gradient accumulation"),
    N_("Adds up the gradients of several batches before each update: a larger effective batch without more memory."),
    1, 0, NULL, NULL },
  { G_RUN, "train.seed", ROW_SPIN, N_("Seed"),
    N_("Fixes every random choice (split, order, augmentation, new weights), so that a run can be repeated exactly."),
    1, 0, NULL, NULL },
};

/* Entry rows have no subtitle in libadwaita 1.2: these go in a caption below. */
static const struct { const char *key; const char *help; } entry_help[] = {
  { "schedule.milestones", N_("Epochs after which the learning rate drops, such as 3,6; press Enter to apply.") },
  { "layers.unfreeze", N_("Unfreezes more blocks as training goes on, such as 2:layer4,4:layer3 (after 2 epochs layer4, after 4 layer3); start from the Head only preset. Press Enter to apply.") },
};

#define N_ROWS G_N_ELEMENTS (rows)

struct _HoneTrainingPage
{
  AdwBin parent_instance;

  AdwPreferencesPage *prefs;
  HoneLrPlot *plot;
  GtkLabel *plot_caption;
  AdwComboRow *size_row;
  AdwComboRow *similar_row;
  AdwActionRow *suggestion_row;

  AdwPreferencesGroup *groups[N_GROUPS];
  GtkWidget *row_widgets[N_ROWS];   /* the AdwPreferencesRow */
  GtkWidget *controls[N_ROWS];
  HoneRecipe *recipe;               /* borrowed */
  HoneModel *model;                 /* borrowed */
  int n_train, n_classes;
  gboolean updating;
  gboolean size_user_set;
  char *suggestion;
  char *suggest_mode;
  int suggest_blocks;
};

G_DEFINE_FINAL_TYPE (HoneTrainingPage, hone_training_page, ADW_TYPE_BIN)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void refresh (HoneTrainingPage *self);

/* ---- reading and writing the recipe ------------------------------------- */

static char *
get (HoneTrainingPage *self, const char *key)
{
  return hone_recipe_get (self->recipe, key, NULL);
}

static gboolean
row_applies (HoneTrainingPage *self, const RowSpec *spec)
{
  if (!spec->when)
    return TRUE;
  const char *eq = strchr (spec->when, '=');
  g_autofree char *key = g_strndup (spec->when, (gsize) (eq - spec->when));
  g_autofree char *value = get (self, key);
  g_auto (GStrv) allowed = g_strsplit (eq + 1, "|", -1);
  return value && g_strv_contains ((const char *const *) allowed, value);
}

static void
mark_error (HoneTrainingPage *self, int i, const char *message)
{
  GtkWidget *row = self->row_widgets[i];
  if (message)
    {
      gtk_widget_add_css_class (row, "error");
      gtk_widget_set_tooltip_text (row, message);
    }
  else
    {
      gtk_widget_remove_css_class (row, "error");
      gtk_widget_set_tooltip_text (row, NULL);
    }
}

static void
write_value (HoneTrainingPage *self, int i, const char *value)
{
  if (!self->recipe || self->updating)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *assignment = g_strdup_printf ("%s=%s", rows[i].key, value);
  if (!hone_recipe_set (self->recipe, assignment, &error))
    {
      mark_error (self, i, error->message);
      return;
    }
  mark_error (self, i, NULL);
  refresh (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
spin_changed (GtkSpinButton *spin, HoneTrainingPage *self)
{
  int i = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (spin), "hone-row"));
  const HoneRecipeKey *key = hone_recipe_find_key (rows[i].key);
  double v = gtk_spin_button_get_value (spin);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (key->type == HONE_RECIPE_INT)
    g_snprintf (buf, sizeof buf, "%.0f", v);
  else
    g_ascii_formatd (buf, sizeof buf, "%.6g", v);
  write_value (self, i, buf);
}

static void
combo_changed (GtkDropDown *combo, GParamSpec *pspec, HoneTrainingPage *self)
{
  int i = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (combo), "hone-row"));
  guint selected = gtk_drop_down_get_selected (combo);
  if (selected != GTK_INVALID_LIST_POSITION)
    write_value (self, i, rows[i].choices[selected].word);
}

static void
switch_changed (GtkSwitch *sw, GParamSpec *pspec, HoneTrainingPage *self)
{
  int i = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (sw), "hone-row"));
  write_value (self, i, gtk_switch_get_active (sw) ? "true" : "false");
}

static void
entry_applied (AdwEntryRow *entry, HoneTrainingPage *self)
{
  int i = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (entry), "hone-row"));
  write_value (self, i, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

/* ---- the plot --------------------------------------------------------------- */

/* Training images: what the Data page said, else an estimate from the recipe
 * (Fashion-MNIST has 6,000 training images per class). */
static int
train_images (HoneTrainingPage *self)
{
  if (self->n_train > 0)
    return self->n_train;
  const char *src = self->recipe->data_source ? self->recipe->data_source : "";
  int n = 0;
  if (g_str_has_prefix (src, "fmnist"))
    {
      int classes = 10;
      const char *colon = strchr (src, ':');
      if (colon)
        {
          int a = 0, b = 0;
          if (sscanf (colon + 1, "%d-%d", &a, &b) == 2 && b >= a)
            classes = b - a + 1;
          else
            {
              g_auto (GStrv) parts = g_strsplit (colon + 1, ",", -1);
              classes = (int) g_strv_length (parts);
            }
        }
      n = (g_str_has_prefix (src, "fmnist-test") ? 1000 : 6000) * classes;
    }
  else
    n = 1000;
  n = (int) (n * (1.0 - self->recipe->val_split - self->recipe->test_split));
  if (self->recipe->limit > 0)
    n = MIN (n, (int) (self->recipe->limit * (1.0 - self->recipe->val_split)));
  return MAX (n, 1);
}

static void
update_plot (HoneTrainingPage *self)
{
  const HoneRecipe *r = self->recipe;
  g_autoptr (GError) error = NULL;
  if (!hone_recipe_validate (r, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Fix the settings to see the schedule: %s"), error->message);
      hone_lr_plot_set_message (self->plot, text);
      gtk_label_set_text (self->plot_caption, "");
      return;
    }
  int64_t per_epoch = MAX ((int64_t) ceil ((double) train_images (self) / r->batch) / r->accum, 1);
  HoneSchedule s;
  hone_recipe_schedule (r, per_epoch, &s);
  if (!hone_schedule_validate (&s, &error))
    {
      hone_lr_plot_set_message (self->plot, error->message);
      return;
    }

  /* block groups: consecutive blocks with the same multiplier and start */
  HoneLrGroup groups[8];
  char *labels[8] = { NULL };
  int n_groups = 0;
  if (self->model && self->model->graph)
    {
      HoneGraph *g = self->model->graph;
      int n = hone_graph_n_values (g);
      g_autofree HoneFreezePlan *plan = g_new0 (HoneFreezePlan, n);
      if (hone_recipe_plan_freezing (r, g, self->model->arch, plan, NULL))
        {
          g_autoptr (GPtrArray) blocks = hone_graph_blocks (g);
          g_ptr_array_add (blocks, (gpointer) "head");
          const char *first_name = NULL, *last_name = NULL;
          double cur_mult = -1;
          int cur_start = -2;
          for (guint b = 0; b <= blocks->len; b++)
            {
              double mult = 0;
              int start = -1;
              gboolean any = FALSE;
              if (b < blocks->len)
                for (int id = 0; id < n; id++)
                  {
                    const HoneValue *v = hone_graph_value (g, id);
                    if (v->kind != HONE_VALUE_PARAM || strcmp (v->block, blocks->pdata[b]) != 0)
                      continue;
                    any = TRUE;
                    mult = MAX (mult, plan[id].lr_mult);
                    int st = plan[id].trainable ? 0 : plan[id].unfreeze_epoch > 0 ? plan[id].unfreeze_epoch : -1;
                    if (start < 0 || (st >= 0 && st < start))
                      start = st;
                  }
              if (b < blocks->len && !any)
                continue;
              gboolean same = b < blocks->len && mult == cur_mult && start == cur_start;
              if (!same && first_name && n_groups < 8)
                {
                  labels[n_groups] = g_strcmp0 (first_name, last_name) == 0
                                       ? g_strdup (first_name)
                                       : g_strdup_printf ("%s – %s", first_name, last_name);
                  groups[n_groups] = (HoneLrGroup) { labels[n_groups], cur_mult, cur_start };
                  n_groups++;
                }
              if (b == blocks->len)
                break;
              if (!same)
                {
                  first_name = blocks->pdata[b];
                  cur_mult = mult;
                  cur_start = start;
                }
              last_name = blocks->pdata[b];
            }
        }
    }
  if (n_groups == 1 && groups[0].start_epoch == 0)
    n_groups = 0;   /* one line for every layer: "all layers" */
  hone_lr_plot_set_schedule (self->plot, &s, r->epochs, per_epoch, groups, n_groups);
  for (int i = 0; i < 8; i++)
    g_free (labels[i]);

  g_autofree char *peak = g_strdup_printf ("%.3g", hone_lr_plot_get_peak (self->plot));
  g_autofree char *steps = g_strdup_printf ("%" G_GINT64_FORMAT, per_epoch);
  /* Translators: caption under the LR plot: epochs, steps per epoch,
   * training images, batch, accumulation, peak learning rate */
  g_autofree char *caption = g_strdup_printf (_("%d epochs of %s steps (about %d training images, batch %d × %d); peak learning rate %s. Shaded: warmup; dashed: a group unfreezes."),
                                              r->epochs, steps, train_images (self), r->batch,
                                              r->accum, peak);
  gtk_label_set_text (self->plot_caption, caption);
}

/* ---- guidance ------------------------------------------------------------------ */

static void
update_guidance (HoneTrainingPage *self)
{
  guint size = adw_combo_row_get_selected (self->size_row);
  guint similar = adw_combo_row_get_selected (self->similar_row);
  int nb = 4;
  if (self->model && self->model->graph)
    {
      g_autoptr (GPtrArray) blocks = hone_graph_blocks (self->model->graph);
      nb = MAX ((int) blocks->len, 1);
    }
  int half = MAX (nb / 2, 1);
  const char *text;
  g_free (self->suggest_mode);
  self->suggest_blocks = 1;
  if (size == 2 || (size == 1 && similar == 2))
    {
      self->suggest_mode = g_strdup ("none");
      text = size == 2 ? _("Plenty of images: fine-tune every layer (All trainable). With a small learning rate the pretrained start still helps.")
                       : _("A fair number of images unlike the pretrained ones: train every layer (All trainable) so that even the early features can adapt.");
    }
  else if (size == 0 && similar == 0)
    {
      self->suggest_mode = g_strdup ("head");
      text = _("Few images like the pretrained ones: train only the head (Head only). The pretrained features already fit, and training more would overfit.");
    }
  else if ((size == 0 && similar == 1) || (size == 1 && similar == 0))
    {
      self->suggest_mode = g_strdup ("last");
      text = _("Train the head and the last block (Last block): the most specific features adapt, the general ones stay. Use augmentation.");
    }
  else
    {
      self->suggest_mode = g_strdup ("first");
      self->suggest_blocks = half;
      text = _("Keep the first, most general blocks frozen (First k frozen, half of the blocks) and train the rest: edges and textures carry over, the later features must change.");
    }
  g_free (self->suggestion);
  self->suggestion = g_strdup (text);
  adw_action_row_set_subtitle (self->suggestion_row, text);
}

static void
guidance_changed (AdwComboRow *row, GParamSpec *pspec, HoneTrainingPage *self)
{
  if (row == self->size_row && !self->updating)
    self->size_user_set = TRUE;
  update_guidance (self);
}

static void
action_apply_guidance (GtkWidget *widget, const char *action, GVariant *param)
{
  HoneTrainingPage *self = HONE_TRAINING_PAGE (widget);
  if (!self->recipe || !self->suggest_mode)
    return;
  g_autofree char *blocks = g_strdup_printf ("freeze.blocks=%d", self->suggest_blocks);
  g_autofree char *mode = g_strdup_printf ("freeze.mode=%s", self->suggest_mode);
  if (!hone_recipe_set (self->recipe, "freeze.list=", NULL)
      || !hone_recipe_set (self->recipe, blocks, NULL)
      || !hone_recipe_set (self->recipe, mode, NULL))
    return;
  refresh (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

/* ---- showing the recipe ---------------------------------------------------------- */

static void
refresh (HoneTrainingPage *self)
{
  if (!self->recipe)
    return;
  self->updating = TRUE;
  for (guint i = 0; i < N_ROWS; i++)
    {
      const RowSpec *spec = &rows[i];
      g_autofree char *value = get (self, spec->key);
      GtkWidget *c = self->controls[i];
      switch (spec->kind)
        {
        case ROW_SPIN:
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (c), g_ascii_strtod (value, NULL));
          break;
        case ROW_COMBO:
          for (guint k = 0; spec->choices[k].word; k++)
            if (g_strcmp0 (spec->choices[k].word, value) == 0)
              gtk_drop_down_set_selected (GTK_DROP_DOWN (c), k);
          break;
        case ROW_SWITCH:
          gtk_switch_set_active (GTK_SWITCH (c), g_strcmp0 (value, "true") == 0);
          break;
        case ROW_ENTRY:
          if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (c)), value) != 0)
            gtk_editable_set_text (GTK_EDITABLE (c), value);
          break;
        }
      gtk_widget_set_visible (self->row_widgets[i], row_applies (self, spec));
    }

  /* guidance: the images per class, unless the person chose */
  if (!self->size_user_set)
    {
      int classes = self->n_classes > 0 ? self->n_classes
                    : self->model && self->model->n_classes > 0 ? self->model->n_classes : 5;
      int per_class = train_images (self) / MAX (classes, 1);
      adw_combo_row_set_selected (self->size_row, per_class < 100 ? 0 : per_class <= 1000 ? 1 : 2);
    }
  self->updating = FALSE;
  update_guidance (self);
  update_plot (self);
}

static void
build_rows (HoneTrainingPage *self)
{
  for (int g = 0; g < N_GROUPS; g++)
    {
      self->groups[g] = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
      adw_preferences_group_set_title (self->groups[g], _(group_titles[g]));
      adw_preferences_page_add (self->prefs, self->groups[g]);
    }
  for (guint i = 0; i < N_ROWS; i++)
    {
      const RowSpec *spec = &rows[i];
      const HoneRecipeKey *key = hone_recipe_find_key (spec->key);
      g_assert (key != NULL);
      GtkWidget *row = NULL, *control = NULL;
      switch (spec->kind)
        {
        case ROW_SPIN:
          {
            double lower = key->zero_allowed ? MIN (0.0, key->min) : key->min;
            double upper = key->max;
            if (key->min_open && !key->zero_allowed)
              lower = key->type == HONE_RECIPE_INT ? key->min + 1 : MAX (key->min + pow (10, -spec->digits), key->min);
            if (key->max_open)
              upper = key->type == HONE_RECIPE_INT ? key->max - 1 : key->max - pow (10, -spec->digits);
            if (upper > 2147483647.0)
              upper = 2147483647.0;
            control = gtk_spin_button_new_with_range (lower, upper, spec->step);
            gtk_spin_button_set_digits (GTK_SPIN_BUTTON (control), (guint) spec->digits);
            gtk_widget_set_valign (control, GTK_ALIGN_CENTER);
            g_signal_connect (control, "value-changed", G_CALLBACK (spin_changed), self);
            row = adw_action_row_new ();
            adw_action_row_add_suffix (ADW_ACTION_ROW (row), control);
            adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), control);
            break;
          }
        case ROW_COMBO:
          {
            g_autoptr (GtkStringList) labels = gtk_string_list_new (NULL);
            for (int k = 0; spec->choices[k].word; k++)
              gtk_string_list_append (labels, _(spec->choices[k].label));
            /* a drop-down suffix rather than AdwComboRow: libadwaita 1.2's
             * combo row ellipsizes its value beside a long subtitle */
            control = gtk_drop_down_new (G_LIST_MODEL (g_object_ref (labels)), NULL);
            gtk_widget_set_valign (control, GTK_ALIGN_CENTER);
            g_signal_connect (control, "notify::selected", G_CALLBACK (combo_changed), self);
            row = adw_action_row_new ();
            adw_action_row_add_suffix (ADW_ACTION_ROW (row), control);
            adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), control);
            break;
          }
        case ROW_SWITCH:
          control = gtk_switch_new ();
          gtk_widget_set_valign (control, GTK_ALIGN_CENTER);
          g_signal_connect (control, "notify::active", G_CALLBACK (switch_changed), self);
          row = adw_action_row_new ();
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), control);
          adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), control);
          break;
        case ROW_ENTRY:
          row = adw_entry_row_new ();
          adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
          control = row;
          g_signal_connect (control, "apply", G_CALLBACK (entry_applied), self);
          for (guint k = 0; k < G_N_ELEMENTS (entry_help); k++)
            if (strcmp (entry_help[k].key, spec->key) == 0)
              gtk_widget_set_tooltip_text (row, _(entry_help[k].help));
          break;
        }
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _(spec->title));
      if (spec->subtitle)
        {
          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _(spec->subtitle));
          adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
        }
      g_object_set_data (G_OBJECT (control), "hone-row", GINT_TO_POINTER (i));
      self->row_widgets[i] = row;
      self->controls[i] = control;
      adw_preferences_group_add (self->groups[spec->group], row);
      /* an entry row's explanation, as a caption row under it */
      if (spec->kind == ROW_ENTRY)
        for (guint k = 0; k < G_N_ELEMENTS (entry_help); k++)
          if (strcmp (entry_help[k].key, spec->key) == 0)
            {
              GtkWidget *help = gtk_label_new (_(entry_help[k].help));
              gtk_label_set_wrap (GTK_LABEL (help), TRUE);
              gtk_label_set_xalign (GTK_LABEL (help), 0);
              gtk_widget_add_css_class (help, "dim-label");
              gtk_widget_add_css_class (help, "caption");
              gtk_widget_set_margin_top (help, 4);
              gtk_widget_set_margin_start (help, 12);
              gtk_widget_set_margin_end (help, 12);
              g_object_bind_property (row, "visible", help, "visible", G_BINDING_SYNC_CREATE);
              adw_preferences_group_add (self->groups[spec->group], help);
            }
    }
}

/* ---- the GObject ------------------------------------------------------------------- */

static void
hone_training_page_dispose (GObject *object)
{
  adw_bin_set_child (ADW_BIN (object), NULL);
  G_OBJECT_CLASS (hone_training_page_parent_class)->dispose (object);
}

static void
hone_training_page_finalize (GObject *object)
{
  HoneTrainingPage *self = HONE_TRAINING_PAGE (object);
  g_free (self->suggestion);
  g_free (self->suggest_mode);
  G_OBJECT_CLASS (hone_training_page_parent_class)->finalize (object);
}

static void
hone_training_page_class_init (HoneTrainingPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = hone_training_page_dispose;
  object_class->finalize = hone_training_page_finalize;

  /* Emitted after the page edited the recipe. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (HONE_TYPE_LR_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-training-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneTrainingPage, prefs);
  gtk_widget_class_bind_template_child (widget_class, HoneTrainingPage, plot);
  gtk_widget_class_bind_template_child (widget_class, HoneTrainingPage, plot_caption);
  gtk_widget_class_bind_template_child (widget_class, HoneTrainingPage, size_row);
  gtk_widget_class_bind_template_child (widget_class, HoneTrainingPage, similar_row);
  gtk_widget_class_bind_template_child (widget_class, HoneTrainingPage, suggestion_row);
  gtk_widget_class_install_action (widget_class, "training.apply-guidance", NULL, action_apply_guidance);
}

static void
hone_training_page_init (HoneTrainingPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  build_rows (self);
  g_signal_connect (self->size_row, "notify::selected", G_CALLBACK (guidance_changed), self);
  g_signal_connect (self->similar_row, "notify::selected", G_CALLBACK (guidance_changed), self);
  update_guidance (self);
}

GtkWidget *
hone_training_page_new (void)
{
  return g_object_new (HONE_TYPE_TRAINING_PAGE, NULL);
}

void
hone_training_page_set_recipe (HoneTrainingPage *self, HoneRecipe *recipe)
{
  g_return_if_fail (HONE_IS_TRAINING_PAGE (self));
  self->recipe = recipe;
  refresh (self);
}

void
hone_training_page_set_model (HoneTrainingPage *self, HoneModel *model)
{
  g_return_if_fail (HONE_IS_TRAINING_PAGE (self));
  self->model = model;
  refresh (self);
}

void
hone_training_page_sync (HoneTrainingPage *self)
{
  g_return_if_fail (HONE_IS_TRAINING_PAGE (self));
  refresh (self);
}

void
hone_training_page_set_data_size (HoneTrainingPage *self, int n_train, int n_classes)
{
  g_return_if_fail (HONE_IS_TRAINING_PAGE (self));
  self->n_train = MAX (n_train, 0);
  self->n_classes = MAX (n_classes, 0);
  refresh (self);
}

HoneLrPlot *
hone_training_page_get_plot (HoneTrainingPage *self)
{
  g_return_val_if_fail (HONE_IS_TRAINING_PAGE (self), NULL);
  return self->plot;
}

GtkWidget *
hone_training_page_get_control (HoneTrainingPage *self, const char *key)
{
  g_return_val_if_fail (HONE_IS_TRAINING_PAGE (self), NULL);
  for (guint i = 0; i < N_ROWS; i++)
    if (strcmp (rows[i].key, key) == 0)
      return self->controls[i];
  return NULL;
}

const char *
hone_training_page_get_suggestion (HoneTrainingPage *self)
{
  g_return_val_if_fail (HONE_IS_TRAINING_PAGE (self), NULL);
  return self->suggestion;
}
