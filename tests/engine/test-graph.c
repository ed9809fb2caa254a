/* test-graph.c: the graph and executor: construction errors, planning,
 * freezing, buffer reuse, first writers storing into unzeroed gradients,
 * and the ReLU op through the gradient check. */
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

/* ---- first writers store ----------------------------------------------
 *
 * An op whose class sets din_store is told (ctx->din_fresh) when it is the
 * first to write a pooled activation gradient, which then is not zeroed:
 * x -> Sigmoid -> p -> OP -> y makes OP the first writer of dp.  Each case
 * goes through the gradient check, and through backward twice: the second
 * finds the first's dp still in the pool, so an op that added instead of
 * storing would double it. */

enum
{
  FRESH_RELU,
  FRESH_BN,
  FRESH_ADD,
  FRESH_ADD_SAME,
  FRESH_ADD_BROADCAST,
  FRESH_CONV_3X3,
  FRESH_CONV_POINTWISE,
  FRESH_CONV_DEPTHWISE,
  FRESH_CONV_STRIDE2,
  FRESH_MAX_POOL,
  FRESH_N
};

static int
fresh_param (HoneGraph *g, const char *name, const HoneShape *s)
{
  g_autoptr (GError) error = NULL;
  int id = hone_graph_add_param (g, name, s, &error);
  g_assert_no_error (error);
  return id;
}

static HoneGraph *
fresh_graph (int kind, int *x_out)
{
  g_autoptr (GError) error = NULL;
  HoneGraph *g = hone_graph_new ();
  /* 16x16 planes take Conv's pointwise and general unfoldings, 6x6 the
   * small-plane one */
  int64_t C = 4, H = kind == FRESH_CONV_POINTWISE || kind == FRESH_CONV_STRIDE2 ? 16 : 6;
  HoneShape xs = HONE_SHAPE (C, H, H);
  int x = hone_graph_add_input (g, "x", &xs, &error);
  int p = hone_graph_sigmoid (g, "p", x, &error);
  int y = -1;
  HoneConvAttrs conv = { .stride = { 1, 1 }, .dilation = { 1, 1 }, .group = 1 };
  HoneShape ws = HONE_SHAPE (3, C, 3, 3);
  switch (kind)
    {
    case FRESH_RELU:
      y = hone_graph_relu (g, "op", p, &error);
      break;
    case FRESH_BN:
      {
        HoneShape cs = HONE_SHAPE (C);
        int scale = fresh_param (g, "bn.weight", &cs), bias = fresh_param (g, "bn.bias", &cs);
        int mean = hone_graph_add_buffer (g, "bn.running_mean", &cs, 0.0f, &error);
        int var = hone_graph_add_buffer (g, "bn.running_var", &cs, 1.0f, &error);
        HoneBatchNormAttrs bn = { .eps = 1e-5f, .momentum = 0.1f };
        y = hone_graph_batch_norm (g, "op", p, scale, bias, mean, var, &bn, &error);
      }
      break;
    case FRESH_ADD:
      y = hone_graph_add (g, "op", p, hone_graph_sigmoid (g, "q", x, &error), &error);
      break;
    case FRESH_ADD_SAME:
      y = hone_graph_add (g, "op", p, p, &error);
      break;
    case FRESH_ADD_BROADCAST:
      {
        int q = hone_graph_sigmoid (g, "q", x, &error);
        y = hone_graph_add (g, "op", p, hone_graph_global_avg_pool (g, "gap", q, &error), &error);
      }
      break;
    case FRESH_CONV_3X3:
    case FRESH_CONV_STRIDE2:
      conv.pad[0] = conv.pad[1] = conv.pad[2] = conv.pad[3] = 1;
      conv.stride[0] = conv.stride[1] = kind == FRESH_CONV_STRIDE2 ? 2 : 1;
      y = hone_graph_conv (g, "op", p, fresh_param (g, "op.weight", &ws), -1, &conv, &error);
      break;
    case FRESH_CONV_POINTWISE:
      ws = (HoneShape) HONE_SHAPE (3, C, 1, 1);
      y = hone_graph_conv (g, "op", p, fresh_param (g, "op.weight", &ws), -1, &conv, &error);
      break;
    case FRESH_CONV_DEPTHWISE:
      conv.pad[0] = conv.pad[1] = conv.pad[2] = conv.pad[3] = 1;
      conv.group = (int) C;
      ws = (HoneShape) HONE_SHAPE (C, 1, 3, 3);
      y = hone_graph_conv (g, "op", p, fresh_param (g, "op.weight", &ws), -1, &conv, &error);
      break;
    case FRESH_MAX_POOL:
      {
        HonePoolAttrs pool = { .kernel = { 3, 3 }, .stride = { 2, 2 }, .pad = { 1, 1, 1, 1 },
                               .dilation = { 1, 1 } };
        y = hone_graph_max_pool (g, "op", p, &pool, &error);
      }
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert_no_error (error);
  g_assert_cmpint (y, >=, 0);
  hone_graph_add_output (g, y);
  hone_graph_set_input_needs_grad (g, x, TRUE);
  *x_out = x;
  return g;
}

static void
test_fresh_din (void)
{
  const int batch = 2;
  for (int kind = 0; kind < FRESH_N && !g_test_failed (); kind++)
    {
      g_autoptr (GError) error = NULL;
      int x;
      g_test_message ("case %d", kind);
      g_autoptr (HoneGraph) g = fresh_graph (kind, &x);
      g_assert_true (hone_graph_plan (g, batch, TRUE, &error));
      g_assert_no_error (error);
      hone_test_fill_graph (g, batch, 11 + kind);
      /* a smaller step, so that it does not move a maximum between two
       * close inputs */
      HoneGradcheckOptions opts = { .eps = kind == FRESH_MAX_POOL ? 1e-3 : 0.0 };
      hone_test_gradcheck (g, batch, &opts);

      g_assert_true (hone_graph_forward (g, batch, TRUE, &error));
      int y = hone_graph_output (g, 0);
      int64_t ny = hone_shape_numel (&hone_graph_value (g, y)->shape) * batch;
      int64_t nx = hone_shape_numel (&hone_graph_value (g, x)->shape) * batch;
      float *dy = hone_graph_grad (g, y);
      for (int64_t i = 0; i < ny; i++)
        dy[i] = (float) (i % 7) - 2.5f;
      hone_graph_backward (g);
      g_autofree float *first = g_memdup2 (hone_graph_grad (g, x), nx * sizeof (float));
      hone_graph_backward (g);
      g_autofree char *what = g_strdup_printf ("case %d, second backward", kind);
      hone_test_assert_close (what, hone_graph_grad (g, x), first, nx, 0.0, 0.0);
    }
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
  g_test_add_func ("/engine/graph/backward/fresh-din", test_fresh_din);
  return g_test_run ();
}
