/* hone-test-ops.h: checks shared by the op tests (activations, binary,
 * gemm, shape ops, dropout / softmax) that a single-node gradient check
 * cannot make: that backward accumulates (+=) rather than overwrites. */
#pragma once

#include <string.h>

#include "hone-test-util.h"

/* Adds sigmoid(x) as an extra output for every input x, after the nodes
 * already in g.  Backward runs nodes last to first, so each side branch
 * writes its part of x's gradient before the op under test, which must add
 * to it: a gradient check of g then fails for an op that overwrites.  Call
 * before hone_graph_plan. */
static inline void
hone_test_add_side_outputs (HoneGraph *g)
{
  int n = hone_graph_n_values (g);
  for (int id = 0; id < n; id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_INPUT)
        continue;
      g_autoptr (GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("side_%s", v->name);
      int y = hone_graph_sigmoid (g, name, id, &error);
      g_assert_no_error (error);
      hone_graph_add_output (g, y);
    }
}

/* Runs backward twice after one forward, without zeroing in between: the
 * gradient of every trainable parameter must double. */
static inline void
hone_test_check_param_accumulation (HoneGraph *g, int batch)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
  HoneRng rng;
  hone_rng_init (&rng, 99, 1);
  for (int k = 0; k < hone_graph_n_outputs (g); k++)
    {
      int out = hone_graph_output (g, k);
      HoneTensor t = hone_graph_tensor (g, out);
      hone_test_fill_uniform (&rng, hone_graph_grad (g, out), hone_tensor_numel (&t), -1, 1);
    }
  hone_graph_zero_grad (g);
  hone_graph_backward (g);
  float *grads = hone_graph_grads (g);
  int64_t n = 0;
  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind == HONE_VALUE_PARAM)
        n = MAX (n, v->offset + hone_shape_numel (&v->shape));
    }
  if (n == 0)
    return;
  float *once = g_memdup2 (grads, n * sizeof (float));
  hone_graph_backward (g);
  for (int id = 0; id < hone_graph_n_values (g); id++)
    {
      const HoneValue *v = hone_graph_value (g, id);
      if (v->kind != HONE_VALUE_PARAM || !v->trainable)
        continue;
      int64_t m = hone_shape_numel (&v->shape);
      float *twice = g_new (float, m);
      for (int64_t i = 0; i < m; i++)
        twice[i] = 2.0f * once[v->offset + i];
      hone_test_assert_close (v->name, hone_graph_grad (g, id), twice, m, 1e-5, 1e-6);
      g_free (twice);
    }
  g_free (once);
}
