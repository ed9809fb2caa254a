/* hone-analyze-page.c: the Analyze page; see hone-analyze-page.h.
 *
 * The gallery is a GtkGridView over samples (GListStore) → GtkFilterListModel
 * (a custom filter on the filter mode and the selected cell) →
 * GtkSortListModel (a custom sorter on the sort mode); the table a
 * GtkColumnView over HoneClassRows. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hone-analyze-page.h"
#include "hone-class-row.h"
#include "hone-eval-item.h"

struct _HoneAnalyzePage
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkLabel *summary_label;
  HoneHeatmap *heatmap;
  GtkColumnView *class_view;
  GtkLabel *gallery_title;
  GtkDropDown *filter_dropdown;
  GtkDropDown *sort_dropdown;
  GtkStack *gallery_stack;
  GtkGridView *gallery;
  AdwStatusPage *gallery_empty;

  GListStore *samples;          /* HoneEvalItem */
  GtkCustomFilter *filter;
  GtkFilterListModel *filtered;
  GtkCustomSorter *sorter;
  GtkSortListModel *sorted;
  GListStore *classes;          /* HoneClassRow */

  char **class_names;           /* of the evaluation shown */
  int n_classes;
  HoneGalleryFilter filter_mode;
  HoneGallerySort sort_mode;
  int sel_true, sel_pred;
  gboolean updating;            /* set_filter from code: no dropdown echo */
  gboolean saved;               /* the evaluation was read from a run folder: no images */
};

G_DEFINE_FINAL_TYPE (HoneAnalyzePage, hone_analyze_page, ADW_TYPE_BIN)

/* ---- filter and sort ---------------------------------------------------- */

static gboolean
filter_func (gpointer item, gpointer data)
{
  HoneAnalyzePage *self = data;
  HoneEvalItem *s = item;
  switch (self->filter_mode)
    {
    case HONE_GALLERY_MISCLASSIFIED:
      return hone_eval_item_get_misclassified (s);
    case HONE_GALLERY_HIGHEST_LOSS:
      return hone_eval_item_get_highest_loss (s);
    case HONE_GALLERY_CELL:
      return hone_eval_item_get_label (s) == self->sel_true
             && hone_eval_item_get_predicted (s) == self->sel_pred;
    default:
      return TRUE;
    }
}

static int
compare_desc (double a, double b)
{
  return a > b ? -1 : a < b ? 1 : 0;
}

static int
sort_func (gconstpointer a, gconstpointer b, gpointer data)
{
  HoneAnalyzePage *self = data;
  HoneEvalItem *x = (HoneEvalItem *) a, *y = (HoneEvalItem *) b;
  int c = 0;
  switch (self->sort_mode)
    {
    case HONE_GALLERY_BY_CONFIDENCE:
      c = compare_desc (hone_eval_item_get_confidence (x), hone_eval_item_get_confidence (y));
      break;
    case HONE_GALLERY_BY_CLASS:
      c = hone_eval_item_get_label (x) - hone_eval_item_get_label (y);
      if (c == 0)
        c = hone_eval_item_get_predicted (x) - hone_eval_item_get_predicted (y);
      break;
    case HONE_GALLERY_BY_LOSS:
    default:
      break;
    }
  if (c == 0)
    c = compare_desc (hone_eval_item_get_loss (x), hone_eval_item_get_loss (y));
  if (c == 0)
    c = hone_eval_item_get_sample (x) - hone_eval_item_get_sample (y);
  return c < 0 ? GTK_ORDERING_SMALLER : c > 0 ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

/* The title and the empty state of the gallery for the current filter. */
static void
update_gallery_state (HoneAnalyzePage *self)
{
  g_autofree char *title = NULL;
  const char *empty = NULL;
  switch (self->filter_mode)
    {
    case HONE_GALLERY_MISCLASSIFIED:
      title = g_strdup (_("Misclassified Images"));
      empty = _("Every validation image was recognised.");
      break;
    case HONE_GALLERY_HIGHEST_LOSS:
      title = g_strdup (_("Highest-Loss Images"));
      empty = _("The validation kept no images.");
      break;
    case HONE_GALLERY_CELL:
      if (self->sel_true < 0 || self->sel_true >= self->n_classes
          || self->sel_pred < 0 || self->sel_pred >= self->n_classes)
        {
          title = g_strdup (_("Selected Cell"));
          empty = _("Click a cell of the confusion matrix to see its images.");
        }
      else
        {
          if (self->sel_true == self->sel_pred)
            /* Translators: gallery title for a diagonal heat-map cell: "Sandal recognised" */
            title = g_strdup_printf (_("%s Recognised"), self->class_names[self->sel_true]);
          else
            /* Translators: gallery title for a heat-map cell: "Shirt → T-shirt/top", true → predicted */
            title = g_strdup_printf (_("%s → %s"), self->class_names[self->sel_true],
                                     self->class_names[self->sel_pred]);
          empty = _("Hone keeps the highest-loss and misclassified images of each validation; "
                    "none of them is in this cell.");
        }
      break;
    }
  if (self->saved)
    empty = _("This run was opened from its folder, which keeps no images: the heat map and the "
              "per-class scores are from its last validation. Train again to see the images it gets wrong.");
  gtk_label_set_label (self->gallery_title, title);
  adw_status_page_set_description (self->gallery_empty, empty);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
  gtk_stack_set_visible_child_name (self->gallery_stack, n > 0 ? "grid" : "none");
}

static void
refilter (HoneAnalyzePage *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_gallery_state (self);
}

/* ---- gallery items ------------------------------------------------------ */

static void
gallery_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  GtkWidget *picture = gtk_picture_new ();
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_widget_set_size_request (picture, 112, 112);
  gtk_widget_add_css_class (picture, "card");
  GtkWidget *classes = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (classes), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (classes), 18);
  gtk_widget_add_css_class (classes, "heading");
  GtkWidget *detail = gtk_label_new (NULL);
  gtk_widget_add_css_class (detail, "caption");
  gtk_widget_add_css_class (detail, "numeric");
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), classes);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_list_item_set_child (item, box);
}

static void
gallery_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  HoneEvalItem *s = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *picture = gtk_widget_get_first_child (box);
  GtkWidget *classes = gtk_widget_get_next_sibling (picture);
  GtkWidget *detail = gtk_widget_get_next_sibling (classes);

  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (hone_eval_item_get_texture (s)));
  g_autofree char *text = NULL;
  /* Translators: a gallery image: "true class → predicted class" */
  text = g_strdup_printf (_("%s → %s"), hone_eval_item_get_label_name (s),
                          hone_eval_item_get_predicted_name (s));
  gtk_label_set_label (GTK_LABEL (classes), text);
  if (hone_eval_item_get_misclassified (s))
    gtk_widget_add_css_class (classes, "error");
  else
    gtk_widget_remove_css_class (classes, "error");
  g_free (text);
  /* Translators: under a gallery image: confidence of the prediction and the image's loss */
  text = g_strdup_printf (_("%.0f %% sure · loss %.2f"), 100 * hone_eval_item_get_confidence (s),
                          hone_eval_item_get_loss (s));
  gtk_label_set_label (GTK_LABEL (detail), text);
  g_free (text);
  /* Translators: tooltip of a gallery image: its file or dataset index, true and predicted class */
  text = g_strdup_printf (_("%s\nTrue class: %s\nPredicted: %s (%.1f %%)"), hone_eval_item_get_name (s),
                          hone_eval_item_get_label_name (s), hone_eval_item_get_predicted_name (s),
                          100 * hone_eval_item_get_confidence (s));
  gtk_widget_set_tooltip_text (box, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (picture), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

/* ---- the per-class table ------------------------------------------------ */

typedef enum { COLUMN_CLASS, COLUMN_PRECISION, COLUMN_RECALL, COLUMN_F1, COLUMN_SUPPORT } Column;

static void
metric_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  Column column = GPOINTER_TO_INT (data);
  if (column == COLUMN_CLASS || column == COLUMN_SUPPORT)
    {
      GtkWidget *label = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (label), column == COLUMN_CLASS ? 0 : 1);
      gtk_widget_add_css_class (label, "numeric");
      gtk_list_item_set_child (item, label);
      return;
    }
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
  gtk_widget_set_size_request (bar, 64, -1);
  gtk_widget_set_hexpand (bar, TRUE);
  gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_width_chars (GTK_LABEL (label), 7);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_add_css_class (label, "numeric");
  gtk_box_append (GTK_BOX (box), bar);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_item_set_child (item, box);
}

static void
metric_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  Column column = GPOINTER_TO_INT (data);
  HoneClassRow *row = gtk_list_item_get_item (item);
  GtkWidget *child = gtk_list_item_get_child (item);
  char buf[64];
  if (column == COLUMN_CLASS)
    {
      gtk_label_set_label (GTK_LABEL (child), hone_class_row_get_name (row));
      return;
    }
  if (column == COLUMN_SUPPORT)
    {
      g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, hone_class_row_get_support (row));
      gtk_label_set_label (GTK_LABEL (child), buf);
      return;
    }
  double v = column == COLUMN_PRECISION ? hone_class_row_get_precision (row)
             : column == COLUMN_RECALL  ? hone_class_row_get_recall (row)
                                        : hone_class_row_get_f1 (row);
  GtkWidget *bar = gtk_widget_get_first_child (child);
  GtkWidget *label = gtk_widget_get_next_sibling (bar);
  gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (isfinite (v) ? v : 0, 0, 1));
  g_snprintf (buf, sizeof buf, "%.1f %%", 100 * v);
  gtk_label_set_label (GTK_LABEL (label), buf);
}

static void
add_column (HoneAnalyzePage *self, const char *title, Column column, gboolean expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (metric_setup), GINT_TO_POINTER (column));
  g_signal_connect (factory, "bind", G_CALLBACK (metric_bind), GINT_TO_POINTER (column));
  GtkColumnViewColumn *c = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (c, expand);
  gtk_column_view_append_column (self->class_view, c);
  g_object_unref (c);
}

/* ---- signals ------------------------------------------------------------ */

static void
on_cell_activated (HoneHeatmap *heatmap, int t, int p, HoneAnalyzePage *self)
{
  self->sel_true = t;
  self->sel_pred = p;
  hone_analyze_page_set_filter (self, t >= 0 ? HONE_GALLERY_CELL : HONE_GALLERY_MISCLASSIFIED);
  refilter (self);
}

static void
on_filter_selected (GtkDropDown *dropdown, GParamSpec *pspec, HoneAnalyzePage *self)
{
  if (self->updating)
    return;
  hone_analyze_page_set_filter (self, gtk_drop_down_get_selected (dropdown));
}

static void
on_sort_selected (GtkDropDown *dropdown, GParamSpec *pspec, HoneAnalyzePage *self)
{
  hone_analyze_page_set_sort (self, gtk_drop_down_get_selected (dropdown));
}

static void
on_items_changed (GListModel *model, guint position, guint removed, guint added, HoneAnalyzePage *self)
{
  update_gallery_state (self);
}

/* ---- GObject ------------------------------------------------------------ */

static void
hone_analyze_page_dispose (GObject *object)
{
  HoneAnalyzePage *self = HONE_ANALYZE_PAGE (object);
  if (self->sorted)
    g_signal_handlers_disconnect_by_func (self->sorted, on_items_changed, self);
  g_clear_object (&self->sorted);
  g_clear_object (&self->filtered);
  g_clear_object (&self->samples);
  g_clear_object (&self->classes);
  G_OBJECT_CLASS (hone_analyze_page_parent_class)->dispose (object);
}

static void
hone_analyze_page_finalize (GObject *object)
{
  g_strfreev (HONE_ANALYZE_PAGE (object)->class_names);
  G_OBJECT_CLASS (hone_analyze_page_parent_class)->finalize (object);
}

static void
hone_analyze_page_class_init (HoneAnalyzePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = hone_analyze_page_dispose;
  object_class->finalize = hone_analyze_page_finalize;

  g_type_ensure (HONE_TYPE_HEATMAP);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/hone/Hone/hone-analyze-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, stack);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, heatmap);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, class_view);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, gallery_title);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, filter_dropdown);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, sort_dropdown);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, gallery_stack);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, gallery);
  gtk_widget_class_bind_template_child (widget_class, HoneAnalyzePage, gallery_empty);
}

static void
hone_analyze_page_init (HoneAnalyzePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->sel_true = self->sel_pred = -1;

  self->samples = g_list_store_new (HONE_TYPE_EVAL_ITEM);
  self->filter = gtk_custom_filter_new (filter_func, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->samples)),
                                              GTK_FILTER (self->filter));
  self->sorter = gtk_custom_sorter_new (sort_func, self, NULL);
  self->sorted = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->filtered)),
                                          GTK_SORTER (self->sorter));
  g_signal_connect (self->sorted, "items-changed", G_CALLBACK (on_items_changed), self);

  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (gallery_setup), self);
  g_signal_connect (factory, "bind", G_CALLBACK (gallery_bind), self);
  gtk_grid_view_set_factory (self->gallery, factory);
  g_object_unref (factory);
  gtk_grid_view_set_model (self->gallery,
                           GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->sorted)))));

  self->classes = g_list_store_new (HONE_TYPE_CLASS_ROW);
  gtk_column_view_set_model (self->class_view,
                             GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->classes)))));
  add_column (self, _("Class"), COLUMN_CLASS, TRUE);
  add_column (self, _("Precision"), COLUMN_PRECISION, TRUE);
  add_column (self, _("Recall"), COLUMN_RECALL, TRUE);
  add_column (self, _("F1"), COLUMN_F1, TRUE);
  /* Translators: column of the per-class table: images of the class */
  add_column (self, _("Support"), COLUMN_SUPPORT, FALSE);

  g_signal_connect (self->heatmap, "cell-activated", G_CALLBACK (on_cell_activated), self);
  g_signal_connect (self->filter_dropdown, "notify::selected", G_CALLBACK (on_filter_selected), self);
  g_signal_connect (self->sort_dropdown, "notify::selected", G_CALLBACK (on_sort_selected), self);
  update_gallery_state (self);
}

/* ---- API ---------------------------------------------------------------- */

HoneAnalyzePage *
hone_analyze_page_new (void)
{
  return g_object_new (HONE_TYPE_ANALYZE_PAGE, NULL);
}

void
hone_analyze_page_reset (HoneAnalyzePage *self)
{
  g_return_if_fail (HONE_IS_ANALYZE_PAGE (self));
  g_list_store_remove_all (self->samples);
  g_list_store_remove_all (self->classes);
  hone_heatmap_set_data (self->heatmap, 0, NULL, NULL);
  g_clear_pointer (&self->class_names, g_strfreev);
  self->n_classes = 0;
  self->sel_true = self->sel_pred = -1;
  self->saved = FALSE;
  hone_analyze_page_set_filter (self, HONE_GALLERY_MISCLASSIFIED);
  gtk_label_set_label (self->summary_label, "");
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
add_samples (HoneAnalyzePage *self, GPtrArray *items, GHashTable *seen, const HoneEvaluation *ev,
             const HoneEvalSample *samples, int n, gboolean highest_loss)
{
  for (int i = 0; i < n; i++)
    {
      const HoneEvalSample *s = &samples[i];
      if (s->label < 0 || s->label >= ev->n_classes || s->predicted < 0 || s->predicted >= ev->n_classes
          || g_hash_table_contains (seen, GINT_TO_POINTER (s->sample)))
        continue;
      g_hash_table_add (seen, GINT_TO_POINTER (s->sample));
      /* a misclassified sample that is also among the worst is listed once, from worst */
      gboolean worst = highest_loss;
      g_ptr_array_add (items, hone_eval_item_new (s, (const char *const *) ev->class_names,
                                                    ev->n_classes, worst));
    }
}

void
hone_analyze_page_set_evaluation (HoneAnalyzePage *self, const HoneEvaluation *ev)
{
  g_return_if_fail (HONE_IS_ANALYZE_PAGE (self));
  if (ev == NULL || ev->n_classes <= 0)
    {
      hone_analyze_page_reset (self);
      return;
    }

  self->saved = FALSE;
  /* keep the selected cell while the classes stay the same */
  gboolean same = self->n_classes == ev->n_classes;
  for (int c = 0; same && c < ev->n_classes; c++)
    same = g_strcmp0 (self->class_names[c], ev->class_names[c]) == 0;
  if (!same)
    {
      self->sel_true = self->sel_pred = -1;
      if (self->filter_mode == HONE_GALLERY_CELL)
        hone_analyze_page_set_filter (self, HONE_GALLERY_MISCLASSIFIED);
    }
  g_strfreev (self->class_names);
  self->class_names = g_new0 (char *, ev->n_classes + 1);
  for (int c = 0; c < ev->n_classes; c++)
    self->class_names[c] = g_strdup (ev->class_names[c]);
  self->n_classes = ev->n_classes;

  hone_heatmap_set_data (self->heatmap, ev->n_classes, (const char *const *) ev->class_names, ev->confusion);
  hone_heatmap_set_selection (self->heatmap, self->sel_true, self->sel_pred);

  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
  add_samples (self, items, seen, ev, ev->worst, ev->n_worst, TRUE);
  add_samples (self, items, seen, ev, ev->misclassified, ev->n_misclassified, FALSE);
  g_list_store_splice (self->samples, 0, g_list_model_get_n_items (G_LIST_MODEL (self->samples)),
                       items->pdata, items->len);

  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  for (int c = 0; c < ev->n_classes; c++)
    g_ptr_array_add (rows, hone_class_row_new (c, ev->class_names[c], ev->precision[c], ev->recall[c],
                                               ev->f1[c], ev->support[c]));
  g_list_store_splice (self->classes, 0, g_list_model_get_n_items (G_LIST_MODEL (self->classes)),
                       rows->pdata, rows->len);

  char images[32];
  g_snprintf (images, sizeof images, "%" G_GINT64_FORMAT, ev->n_samples);
  /* Translators: the validation summary: accuracy, mean loss, macro F1, number of images */
  g_autofree char *summary = g_strdup_printf (_("%.1f %% accurate · loss %.3f · macro F1 %.3f · %s images"),
                                              100 * ev->accuracy, ev->loss, ev->macro_f1, images);
  gtk_label_set_label (self->summary_label, summary);
  gtk_stack_set_visible_child_name (self->stack, "analysis");
  update_gallery_state (self);
}

void
hone_analyze_page_set_saved_evaluation (HoneAnalyzePage *self, const HoneEvaluation *ev)
{
  g_return_if_fail (HONE_IS_ANALYZE_PAGE (self));
  if (ev == NULL || ev->n_classes <= 0)
    {
      hone_analyze_page_reset (self);
      return;
    }
  /* its samples have no thumbnails to show: the gallery explains instead */
  HoneEvaluation shown = *ev;
  shown.n_worst = shown.n_misclassified = 0;
  hone_analyze_page_set_evaluation (self, &shown);
  self->saved = TRUE;
  update_gallery_state (self);
}

gboolean
hone_analyze_page_get_saved (HoneAnalyzePage *self)
{
  g_return_val_if_fail (HONE_IS_ANALYZE_PAGE (self), FALSE);
  return self->saved;
}

void
hone_analyze_page_set_filter (HoneAnalyzePage *self, HoneGalleryFilter filter)
{
  g_return_if_fail (HONE_IS_ANALYZE_PAGE (self));
  g_return_if_fail (filter <= HONE_GALLERY_CELL);
  self->filter_mode = filter;
  if (filter != HONE_GALLERY_CELL && self->sel_true >= 0)
    {
      self->sel_true = self->sel_pred = -1;
      hone_heatmap_set_selection (self->heatmap, -1, -1);
    }
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->filter_dropdown, filter);
  self->updating = FALSE;
  refilter (self);
}

HoneGalleryFilter
hone_analyze_page_get_filter (HoneAnalyzePage *self)
{
  g_return_val_if_fail (HONE_IS_ANALYZE_PAGE (self), 0);
  return self->filter_mode;
}

void
hone_analyze_page_set_sort (HoneAnalyzePage *self, HoneGallerySort sort)
{
  g_return_if_fail (HONE_IS_ANALYZE_PAGE (self));
  g_return_if_fail (sort <= HONE_GALLERY_BY_CLASS);
  self->sort_mode = sort;
  if (gtk_drop_down_get_selected (self->sort_dropdown) != sort)
    gtk_drop_down_set_selected (self->sort_dropdown, sort);
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
}

HoneHeatmap *
hone_analyze_page_get_heatmap (HoneAnalyzePage *self)
{
  g_return_val_if_fail (HONE_IS_ANALYZE_PAGE (self), NULL);
  return self->heatmap;
}

GListModel *
hone_analyze_page_get_gallery_model (HoneAnalyzePage *self)
{
  g_return_val_if_fail (HONE_IS_ANALYZE_PAGE (self), NULL);
  return G_LIST_MODEL (self->sorted);
}

GListModel *
hone_analyze_page_get_class_model (HoneAnalyzePage *self)
{
  g_return_val_if_fail (HONE_IS_ANALYZE_PAGE (self), NULL);
  return G_LIST_MODEL (self->classes);
}
