/* hone-data-page.h: the Data page: where the images come from
 * (Fashion-MNIST built in, with a class subset, or a folder, IDX, CSV or
 * safetensors file), the class distribution with an imbalance warning, a
 * grid of samples per class, the files that could not be used, the split
 * settings, and a live preview of the augmentation the recipe asks for.
 *
 * Opening and scanning a data set runs off the main thread (GTask,
 * cancellable); a result for a source that was replaced meanwhile is
 * dropped.  Settings are written into the recipe through hone_recipe_set. */
#pragma once

#include <adwaita.h>

#include "hone-recipe.h"

G_BEGIN_DECLS

#define HONE_TYPE_DATA_PAGE (hone_data_page_get_type ())
G_DECLARE_FINAL_TYPE (HoneDataPage, hone_data_page, HONE, DATA_PAGE, AdwBin)

GtkWidget  *hone_data_page_new         (void);
/* Borrowed: it must outlive the page or be replaced.  Scans data.source. */
void        hone_data_page_set_recipe  (HoneDataPage *self, HoneRecipe *recipe);
/* Re-reads the recipe after another page changed it (a new data.source
 * is scanned, new augment.* settings re-roll the preview). */
void        hone_data_page_sync        (HoneDataPage *self);
/* The win.open-data action: a file chooser for a folder of class folders;
 * the page's own "Open File…" button takes IDX, CSV and safetensors. */
void        hone_data_page_open_source (HoneDataPage *self);

/* What the scan found ("train-samples", "classes" and "loading" are
 * properties too, notified when they change): the training images after
 * the validation split and the limit, the class count, and whether a scan
 * is running. */
int         hone_data_page_get_train_samples (HoneDataPage *self);
int         hone_data_page_get_n_classes     (HoneDataPage *self);
gboolean    hone_data_page_get_loading       (HoneDataPage *self);

/* For tests: the class counts (NULL before a scan; n_classes entries),
 * whether the imbalance warning shows, the dataset's issues shown
 * (HoneDataIssue *, owned by the page), the sample grid's model
 * (HoneSampleItem) and the augmentation preview (0: the original,
 * 1..8 the augmented versions). */
const int64_t *hone_data_page_get_counts   (HoneDataPage *self);
gboolean    hone_data_page_get_imbalanced  (HoneDataPage *self);
GPtrArray  *hone_data_page_get_issues      (HoneDataPage *self);
GListModel *hone_data_page_get_samples     (HoneDataPage *self);
GdkTexture *hone_data_page_get_preview     (HoneDataPage *self, int i);

G_END_DECLS
