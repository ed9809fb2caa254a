/* test-graph.c: the graph and executor: construction errors, planning,
 * freezing, buffer reuse, and the ReLU op through the gradient check. */
#include "config.h"

#include <string.h>

#include "hone-test-util.h"

static void
test_duplicate_names (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (3);
  g_assert_cmpint (hone_graph_add_param (g, "w", &s, &error), ==, 0);
  g_assert_cmpint (hone_graph_add_param (g, "w", &s, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'w'"));
}

static void
test_bad_shape (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (3, -2);
  g_assert_cmpint (hone_graph_add_input (g, "x", &s, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'x'"));
}

static void
test_unbatched_node_refused (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (3);
  int w = hone_graph_add_param (g, "w", &s, &error);
  g_assert_cmpint (hone_graph_relu (g, "r", w, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'r'"));
}

static void
test_relu_forward_backward (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (4);
  int x = hone_graph_add_input (g, "x", &s, &error);
  int y = hone_graph_relu (g, "relu", x, &error);
  g_assert_no_error (error);
  hone_graph_add_output (g, y);
  hone_graph_set_input_needs_grad (g, x, TRUE);
  g_assert_true (hone_graph_plan (g, 2, TRUE, &error));
  float in[8] = { -1, 2, -3, 4, 0.5f, -0.5f, 0, 7 };
  memcpy (hone_graph_input_data (g, x), in, sizeof in);
  g_assert_true (hone_graph_forward (g, 2, TRUE, &error));
  HoneTensor t = hone_graph_tensor (g, y);
  float expect[8] = { 0, 2, 0, 4, 0.5f, 0, 0, 7 };
  g_assert_cmpint (t.shape.rank, ==, 2);
  g_assert_cmpint (t.shape.d[0], ==, 2);
  hone_test_assert_close ("relu", t.data, expect, 8, 0, 0);
  float *dy = hone_graph_grad (g, y);
  for (int i = 0; i < 8; i++)
    dy[i] = (float) (i + 1);
  hone_graph_backward (g);
  float dexpect[8] = { 0, 2, 0, 4, 5, 0, 0, 8 };
  hone_test_assert_close ("drelu", hone_graph_grad (g, x), dexpect, 8, 0, 0);
}

static void
test_relu_gradcheck (void)
{
  HoneShape s = HONE_SHAPE (3, 5, 5);
  g_autoptr (HoneGraph) g = hone_test_single_node_graph (&hone_op_relu, NULL, &s, 1, 0);
  hone_graph_set_input_needs_grad (g, hone_graph_input (g, 0), TRUE);
  g_assert_true (hone_graph_plan (g, 3, TRUE, NULL));
  hone_test_fill_graph (g, 3, 1);
  hone_test_gradcheck (g, 3, NULL);
}

/* A chain of ReLUs: without backward every buffer is reused, so only two
 * activations are alive at once; with backward each output is kept, the
 * input and the output have gradient buffers of their own, and the
 * gradients in between take turns in two shared ones. */
static void
test_buffer_reuse (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (1000);
  int x = hone_graph_add_input (g, "x", &s, &error);
  for (int i = 0; i < 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("relu%d", i);
      x = hone_graph_relu (g, name, x, &error);
    }
  hone_graph_add_output (g, x);
  g_assert_true (hone_graph_plan (g, 4, FALSE, &error));
  g_assert_cmpuint (hone_graph_activation_bytes (g), <=, 3 * 4 * 1000 * sizeof (float));
  hone_graph_set_input_needs_grad (g, hone_graph_input (g, 0), TRUE);
  g_assert_true (hone_graph_plan (g, 4, TRUE, &error));
  g_assert_cmpuint (hone_graph_activation_bytes (g), ==, (10 + 2 + 2) * 4 * 1000 * sizeof (float));
}

/* Growing a graph after planning it, then planning again, must work. */
static void
test_grow_after_plan (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (8);
  int x = hone_graph_add_input (g, "x", &s, &error);
  int y = hone_graph_relu (g, "r1", x, &error);
  hone_graph_add_output (g, y);
  g_assert_true (hone_graph_plan (g, 2, FALSE, &error));
  int z = hone_graph_relu (g, "r2", y, &error);
  hone_graph_add_output (g, z);
  g_assert_nonnull (hone_graph_input_data (g, x));
  g_assert_true (hone_graph_plan (g, 4, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (hone_graph_forward (g, 4, TRUE, &error));
}

/* An op whose output is (N, N): right at batch 2 by accident, wrong at
 * every other batch size.  Construction must refuse it. */
static gboolean
square_infer_shape (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  out[0] = HONE_SHAPE (in[0].d[0], in[0].d[0]);
  return TRUE;
}

static const HoneOpClass square_op = {
  .name = "Square",
  .infer_shape = square_infer_shape,
};

static void
test_batch_dependent_shape_refused (void)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  g_autoptr (GError) error = NULL;
  HoneShape s = HONE_SHAPE (2);
  int x = hone_graph_add_input (g, "x", &s, &error);
  g_assert_cmpint (hone_graph_add_node (g, &square_op, NULL, "sq", &x, 1, 1, NULL, &error), ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'sq'"));
  g_clear_error (&error);

  /* Add's own inference at batch 3: x (N, 4) + p (2, 4) bypassing the
   * builder's checks, broadcast only at batch 2. */
  HoneShape s4 = HONE_SHAPE (4), s24 = HONE_SHAPE (2, 4);
  int x4 = hone_graph_add_input (g, "x4", &s4, &error);
  int p = hone_graph_add_param (g, "p", &s24, &error);
  int in[2] = { x4, p };
  int id = hone_graph_add_node (g, &hone_op_add, NULL, "add", in, 2, 1, NULL, &error);
  g_assert_cmpint (id, ==, -1);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'add'"));
  g_assert_nonnull (strstr (error->message, "batch 3"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/graph/duplicate-names", test_duplicate_names);
  g_test_add_func ("/engine/graph/bad-shape", test_bad_shape);
  g_test_add_func ("/engine/graph/unbatched-node", test_unbatched_node_refused);
  g_test_add_func ("/engine/graph/buffer-reuse", test_buffer_reuse);
  g_test_add_func ("/engine/graph/grow-after-plan", test_grow_after_plan);
  g_test_add_func ("/engine/graph/batch-dependent-shape", test_batch_dependent_shape_refused);
  g_test_add_func ("/engine/relu/forward-backward", test_relu_forward_backward);
  g_test_add_func ("/engine/relu/gradcheck", test_relu_gradcheck);
  return g_test_run ();
}
