/* hone-model-page.h: the Model page: the built-in models as rows (name,
 * one-line description, input, parameters), "Open model file…", and a
 * summary card of the model the session holds.
 *
 * Picking a row asks the session for that model; the page itself builds
 * nothing on the main thread. */
#pragma once

#include <adwaita.h>

#include "hone-session.h"

G_BEGIN_DECLS

#define HONE_TYPE_MODEL_PAGE (hone_model_page_get_type ())
G_DECLARE_FINAL_TYPE (HoneModelPage, hone_model_page, HONE, MODEL_PAGE, AdwBin)

HoneModelPage *hone_model_page_new         (void);
/* borrowed; the page follows the session's model and recipe */
void           hone_model_page_set_session (HoneModelPage *self, HoneSession *session);
/* Selects the built-in model called name (as a click on its row does). */
gboolean       hone_model_page_select      (HoneModelPage *self, const char *name);
/* The value shown in the summary card for a row ("architecture",
 * "parameters", "trainable", "input", "classes", "normalisation", "flops",
 * "source"), or the card's "description"; for tests. */
const char    *hone_model_page_get_summary (HoneModelPage *self, const char *row);

G_END_DECLS
