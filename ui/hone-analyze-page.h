/* hone-analyze-page.h: the Analyze page: what the model gets wrong.
 *
 * The latest validation's confusion matrix as a heat map, a gallery of the
 * validation images the evaluation kept (the highest-loss and the
 * misclassified ones) with true → predicted class and confidence, filtered
 * by the heat-map cell clicked or showing all misclassified or the
 * highest-loss ones, sorted by loss, confidence or class; and per-class
 * precision, recall, F1 and support as a table with bars.  It does not
 * evaluate (HoneTrainer's VALIDATION events carry the evaluation). */
#pragma once

#include <adwaita.h>

#include "hone-heatmap.h"
#include "hone-trainer.h"

G_BEGIN_DECLS

#define HONE_TYPE_ANALYZE_PAGE (hone_analyze_page_get_type ())
G_DECLARE_FINAL_TYPE (HoneAnalyzePage, hone_analyze_page, HONE, ANALYZE_PAGE, AdwBin)

typedef enum
{
  HONE_GALLERY_MISCLASSIFIED,
  HONE_GALLERY_HIGHEST_LOSS,
  HONE_GALLERY_CELL,          /* the heat map's selected cell */
} HoneGalleryFilter;

typedef enum
{
  HONE_GALLERY_BY_LOSS,       /* highest first */
  HONE_GALLERY_BY_CONFIDENCE, /* most confident first */
  HONE_GALLERY_BY_CLASS,      /* true class, then predicted, then loss */
} HoneGallerySort;

HoneAnalyzePage *hone_analyze_page_new            (void);
/* Back to the empty state. */
void             hone_analyze_page_reset          (HoneAnalyzePage *self);
/* Shows ev (copied; NULL: reset).  The selected cell stays selected while
 * the classes stay the same. */
void             hone_analyze_page_set_evaluation (HoneAnalyzePage *self, const HoneEvaluation *ev);
/* An evaluation read back from a run folder (no thumbnails): the heat map
 * and the per-class table fill, the gallery says why it is empty. */
void             hone_analyze_page_set_saved_evaluation (HoneAnalyzePage *self, const HoneEvaluation *ev);
gboolean         hone_analyze_page_get_saved      (HoneAnalyzePage *self);

void             hone_analyze_page_set_filter     (HoneAnalyzePage *self, HoneGalleryFilter filter);
HoneGalleryFilter hone_analyze_page_get_filter    (HoneAnalyzePage *self);
void             hone_analyze_page_set_sort       (HoneAnalyzePage *self, HoneGallerySort sort);

/* ---- for tests ---------------------------------------------------------- */
HoneHeatmap     *hone_analyze_page_get_heatmap    (HoneAnalyzePage *self);
/* The gallery's items (HoneEvalItem) as shown: filtered and sorted. */
GListModel      *hone_analyze_page_get_gallery_model (HoneAnalyzePage *self);
/* The table's rows (HoneClassRow). */
GListModel      *hone_analyze_page_get_class_model (HoneAnalyzePage *self);

G_END_DECLS
