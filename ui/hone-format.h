/* hone-format.h: numbers and names as Hone shows them to people, with units
 * and sensible precision ("2.1 M", "1 min 20 s", "Fashion-MNIST 5–9"),
 * translated.  Every function returns a new string (g_free).
 *
 * This file does not know about widgets. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* A count with a metric prefix: "812", "42.3 k", "11.2 M", "1.8 G". */
char *hone_format_count       (double n);
/* "11.2 M parameters". */
char *hone_format_params      (int64_t n);
/* "1.82 GFLOPs" per image. */
char *hone_format_flops       (double flops);
/* A duration: "45 s", "3 min 20 s", "1 h 5 min"; negative or not finite: "—". */
char *hone_format_duration    (double seconds);
/* A percentage with one decimal: "87.4 %". */
char *hone_format_percent     (double fraction);
/* What a recipe's data.source means to a person: "Fashion-MNIST 5–9",
 * "Fashion-MNIST", a folder's or file's base name. */
char *hone_format_data_source (const char *source);
/* A model: "cnn-s", "zoo:resnet18" → "resnet18", a file's base name. */
char *hone_format_model_name  (const char *arch, const char *source);

G_END_DECLS
