/* hone-test-util.h: helpers shared by the engine tests. */
#pragma once

#include "hone-engine.h"

G_BEGIN_DECLS

/* Fills n floats with uniform values in [lo, hi) from rng. */
void hone_test_fill_uniform (HoneRng *rng, float *data, int64_t n, float lo, float hi);

/* Fills every input (for `batch` samples) and every parameter of g with
 * uniform values in [-1, 1) from a generator seeded with `seed`. */
void hone_test_fill_graph (HoneGraph *g, int batch, uint64_t seed);

/* The same for the inputs only, leaving the parameters as they are. */
void hone_test_fill_graph_inputs (HoneGraph *g, int batch, uint64_t seed);

typedef struct
{
  double eps;        /* finite-difference step (default 1e-2) */
  double rtol;       /* default 1e-2 */
  double atol;       /* default 1e-3 */
  int max_checks;    /* elements checked per tensor, spread evenly (default 48) */
  gboolean training; /* run forward in training mode (default TRUE) */
} HoneGradcheckOptions;

/* Checks the backward pass of g, planned for `batch` with backward, against
 * central finite differences of L = sum (output * r) for a fixed random r.
 * Every input gets its gradient checked, and every trainable parameter.
 * Fails the current GTest (with the tensor, index and both values) on
 * mismatch.  opts may be NULL for defaults. */
void hone_test_gradcheck (HoneGraph *g, int batch, const HoneGradcheckOptions *opts);

/* A graph with one node of `op` over inputs of the given per-sample shapes
 * (params are created instead where param_mask has bit i set, with full
 * shapes).  Returns the graph; *out_id receives the node's output. */
HoneGraph *hone_test_single_node_graph (const HoneOpClass *op, gpointer attrs,
                                        const HoneShape *shapes, int n_in, guint32 param_mask);

/* Asserts |a - b| <= atol + rtol * |b| elementwise, naming `what` and the
 * first failing index. */
void hone_test_assert_close (const char *what, const float *a, const float *b, int64_t n,
                             double rtol, double atol);

/* A fresh temporary folder (g_free), and removing a folder with everything
 * in it (read-only folders included; symlinks are removed, not followed). */
char   *hone_test_make_tmp_dir (const char *template_name);
void    hone_test_remove_tree  (const char *path);

G_END_DECLS
