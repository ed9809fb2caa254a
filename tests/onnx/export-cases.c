/* export-cases.c: small graphs that together use every op and every
 * attribute form the ONNX exporter writes, for test_onnx_export.py.
 *
 *   export-cases OUTDIR
 *
 * For each case NAME it writes NAME.onnx, NAME-input.safetensors (tensor
 * "input", a batch of 3 random samples) and NAME-logits.safetensors (tensor
 * "logits": Hone's inference forward on that input), and prints one line
 * "NAME OP,OP,..." naming the Hone ops the case uses.  The Python side runs
 * the files through onnx.checker and OpenCV and compares. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hone-test-util.h"

#define BATCH 3

typedef int (*BuildFunc) (HoneGraph *g, int x, GError **error);

typedef struct
{
  const char *name;
  HoneShape input;          /* per sample */
  BuildFunc build;
} Case;

static int
param (HoneGraph *g, const char *name, HoneShape shape)
{
  return hone_graph_add_param (g, name, &shape, NULL);
}

static int
build_conv (HoneGraph *g, int x, GError **error)
{
  /* asymmetric pads, groups, a stride and a dilation per axis */
  HoneConvAttrs a = { { 2, 1 }, { 1, 0, 2, 1 }, { 1, 2 }, 2 };
  return hone_graph_conv (g, "conv", x, param (g, "conv.weight", HONE_SHAPE (6, 2, 3, 3)),
                          param (g, "conv.bias", HONE_SHAPE (6)), &a, error);
}

static int
build_conv_plain (HoneGraph *g, int x, GError **error)
{
  HoneConvAttrs a = { { 1, 1 }, { 1, 1, 1, 1 }, { 1, 1 }, 1 };
  return hone_graph_conv (g, "conv", x, param (g, "conv.weight", HONE_SHAPE (5, 4, 3, 3)), -1, &a,
                          error);
}

static int
build_conv_depthwise (HoneGraph *g, int x, GError **error)
{
  HoneConvAttrs a = { { 2, 2 }, { 1, 1, 1, 1 }, { 1, 1 }, 4 };
  return hone_graph_conv (g, "conv", x, param (g, "conv.weight", HONE_SHAPE (4, 1, 3, 3)),
                          param (g, "conv.bias", HONE_SHAPE (4)), &a, error);
}

static int
build_batch_norm (HoneGraph *g, int x, GError **error)
{
  HoneShape c = HONE_SHAPE (4);
  int mean = hone_graph_add_buffer (g, "bn.running_mean", &c, 0.0f, NULL);
  int var = hone_graph_add_buffer (g, "bn.running_var", &c, 1.0f, NULL);
  /* statistics as training would leave them */
  float *m = hone_graph_value_data (g, mean), *v = hone_graph_value_data (g, var);
  for (int i = 0; i < 4; i++)
    {
      m[i] = 0.3f * (float) i - 0.4f;
      v[i] = 0.5f + 0.7f * (float) i;
    }
  HoneBatchNormAttrs a = { 1e-3f, 0.1f };
  return hone_graph_batch_norm (g, "bn", x, param (g, "bn.weight", c), param (g, "bn.bias", c),
                                mean, var, &a, error);
}

static int
build_max_pool (HoneGraph *g, int x, GError **error)
{
  HonePoolAttrs a = { { 3, 3 }, { 2, 2 }, { 1, 1, 1, 1 }, { 1, 1 }, FALSE, FALSE };
  return hone_graph_max_pool (g, "pool", x, &a, error);
}

static int
build_max_pool_ceil (HoneGraph *g, int x, GError **error)
{
  HonePoolAttrs a = { { 3, 2 }, { 2, 2 }, { 1, 0, 1, 0 }, { 1, 1 }, TRUE, FALSE };
  return hone_graph_max_pool (g, "pool", x, &a, error);
}

static int
build_avg_pool (HoneGraph *g, int x, GError **error)
{
  HonePoolAttrs a = { { 2, 2 }, { 2, 2 }, { 0, 0, 0, 0 }, { 1, 1 }, FALSE, TRUE };
  return hone_graph_avg_pool (g, "pool", x, &a, error);
}

static int
build_avg_pool_pad (HoneGraph *g, int x, GError **error)
{
  HonePoolAttrs a = { { 3, 3 }, { 1, 1 }, { 1, 1, 1, 1 }, { 1, 1 }, FALSE, FALSE };
  return hone_graph_avg_pool (g, "pool", x, &a, error);
}

static int
build_avg_pool_pad_include (HoneGraph *g, int x, GError **error)
{
  HonePoolAttrs a = { { 3, 3 }, { 1, 1 }, { 1, 1, 1, 1 }, { 1, 1 }, FALSE, TRUE };
  return hone_graph_avg_pool (g, "pool", x, &a, error);
}

static int
build_avg_pool_ceil_include (HoneGraph *g, int x, GError **error)
{
  HonePoolAttrs a = { { 3, 3 }, { 2, 2 }, { 1, 1, 1, 1 }, { 1, 1 }, TRUE, TRUE };
  return hone_graph_avg_pool (g, "pool", x, &a, error);
}

static int
build_global_avg_pool (HoneGraph *g, int x, GError **error)
{
  return hone_graph_global_avg_pool (g, "gap", x, error);
}

static int
build_relu (HoneGraph *g, int x, GError **error)
{
  return hone_graph_relu (g, "act", x, error);
}

static int
build_relu6 (HoneGraph *g, int x, GError **error)
{
  return hone_graph_clip (g, "act", x, 0.0f, 6.0f, error);
}

static int
build_clip (HoneGraph *g, int x, GError **error)
{
  return hone_graph_clip (g, "act", x, -0.5f, 0.7f, error);
}

static int
build_clip_above (HoneGraph *g, int x, GError **error)
{
  return hone_graph_clip (g, "act", x, -0.25f, INFINITY, error);
}

static int
build_sigmoid (HoneGraph *g, int x, GError **error)
{
  return hone_graph_sigmoid (g, "act", x, error);
}

static int
build_hard_sigmoid (HoneGraph *g, int x, GError **error)
{
  return hone_graph_hard_sigmoid (g, "act", x, 0.3f, 0.4f, error);
}

static int
build_silu (HoneGraph *g, int x, GError **error)
{
  return hone_graph_silu (g, "act", x, error);
}

static int
build_hard_swish (HoneGraph *g, int x, GError **error)
{
  return hone_graph_hard_swish (g, "act", x, error);
}

static int
build_gelu (HoneGraph *g, int x, GError **error)
{
  return hone_graph_gelu (g, "act", x, FALSE, error);
}

static int
build_gelu_tanh (HoneGraph *g, int x, GError **error)
{
  return hone_graph_gelu (g, "act", x, TRUE, error);
}

static int
build_softmax (HoneGraph *g, int x, GError **error)
{
  return hone_graph_softmax (g, "softmax", x, 1, error);
}

static int
build_softmax_last (HoneGraph *g, int x, GError **error)
{
  return hone_graph_softmax (g, "softmax", x, -1, error);
}

static int
build_linear (HoneGraph *g, int x, GError **error)
{
  x = hone_graph_flatten (g, "flatten", x, 1, error);
  HoneGemmAttrs a = { 1.0f, 1.0f, FALSE, TRUE };
  return x < 0 ? -1 : hone_graph_gemm (g, "fc", x, param (g, "fc.weight", HONE_SHAPE (5, 36)),
                                       param (g, "fc.bias", HONE_SHAPE (5)), &a, error);
}

static int
build_gemm (HoneGraph *g, int x, GError **error)
{
  x = hone_graph_flatten (g, "flatten", x, 1, error);
  HoneGemmAttrs a = { 0.5f, 2.0f, FALSE, FALSE };
  return x < 0 ? -1 : hone_graph_gemm (g, "gemm", x, param (g, "gemm.b", HONE_SHAPE (36, 5)),
                                       param (g, "gemm.c", HONE_SHAPE (5)), &a, error);
}

static int
build_gemm_no_bias (HoneGraph *g, int x, GError **error)
{
  x = hone_graph_flatten (g, "flatten", x, 1, error);
  HoneGemmAttrs a = { 1.0f, 1.0f, FALSE, TRUE };
  return x < 0 ? -1 : hone_graph_gemm (g, "gemm", x, param (g, "gemm.b", HONE_SHAPE (7, 36)), -1,
                                       &a, error);
}

static int
build_matmul (HoneGraph *g, int x, GError **error)
{
  x = hone_graph_flatten (g, "flatten", x, 1, error);
  return x < 0 ? -1 : hone_graph_matmul (g, "matmul", x, param (g, "w", HONE_SHAPE (36, 6)), error);
}

static int
build_binary_const (HoneGraph *g, int x, GError **error)
{
  /* a per-channel operand, as a BatchNorm folded by hand would be */
  int p = param (g, "p", HONE_SHAPE (4, 1, 1));
  int q = param (g, "q", HONE_SHAPE (4, 1, 1));
  x = hone_graph_mul (g, "mul", x, p, error);
  if (x >= 0)
    x = hone_graph_add (g, "add", x, q, error);
  if (x >= 0)
    x = hone_graph_sub (g, "sub", x, p, error);
  return x;
}

static int
build_binary_act (HoneGraph *g, int x, GError **error)
{
  int a = hone_graph_sigmoid (g, "a", x, error);
  int b = a < 0 ? -1 : hone_graph_relu (g, "b", x, error);
  int y = b < 0 ? -1 : hone_graph_add (g, "add", a, b, error);
  y = y < 0 ? -1 : hone_graph_mul (g, "mul", y, a, error);
  y = y < 0 ? -1 : hone_graph_sub (g, "sub", y, b, error);
  return y;
}

static int
build_div (HoneGraph *g, int x, GError **error)
{
  int s = hone_graph_sigmoid (g, "s", x, error);     /* in (0, 1): no division by ~0 */
  return s < 0 ? -1 : hone_graph_div (g, "div", x, s, error);
}

static int
build_div_const (HoneGraph *g, int x, GError **error)
{
  HoneShape c = HONE_SHAPE (4, 1, 1);
  static const float d[4] = { 2.0f, -0.5f, 4.0f, 1.5f };
  int p = hone_graph_add_const (g, "d", &c, d, NULL);
  return hone_graph_div (g, "div", x, p, error);
}

static int
build_concat (HoneGraph *g, int x, GError **error)
{
  int a = hone_graph_relu (g, "a", x, error);
  int b = a < 0 ? -1 : hone_graph_sigmoid (g, "b", x, error);
  int xs[3] = { a, b, x };
  return b < 0 ? -1 : hone_graph_concat (g, "cat", xs, 3, 1, error);
}

static int
build_flatten (HoneGraph *g, int x, GError **error)
{
  return hone_graph_flatten (g, "flatten", x, 1, error);
}

static int
build_reshape (HoneGraph *g, int x, GError **error)
{
  return hone_graph_reshape (g, "reshape", x, (const int64_t[]) { 0, 4, -1 }, 3, error);
}

static int
build_transpose (HoneGraph *g, int x, GError **error)
{
  return hone_graph_transpose (g, "transpose", x, (const int[]) { 0, 2, 3, 1 }, 4, error);
}

static int
build_dropout (HoneGraph *g, int x, GError **error)
{
  x = hone_graph_relu (g, "relu", x, error);
  x = x < 0 ? -1 : hone_graph_dropout (g, "dropout", x, 0.5f, error);
  return x < 0 ? -1 : hone_graph_sigmoid (g, "sigmoid", x, error);
}

static int
build_dropout_last (HoneGraph *g, int x, GError **error)
{
  x = hone_graph_relu (g, "relu", x, error);
  return x < 0 ? -1 : hone_graph_dropout (g, "dropout", x, 0.3f, error);
}

static int
build_erf (HoneGraph *g, int x, GError **error)
{
  return hone_graph_erf (g, "act", x, error);
}

static int
build_sqrt (HoneGraph *g, int x, GError **error)
{
  int s = hone_graph_sigmoid (g, "positive", x, error);
  return s < 0 ? -1 : hone_graph_sqrt (g, "act", s, error);
}

static int
build_tanh (HoneGraph *g, int x, GError **error)
{
  return hone_graph_tanh (g, "act", x, error);
}

static int
build_leaky_relu (HoneGraph *g, int x, GError **error)
{
  return hone_graph_leaky_relu (g, "act", x, 0.2f, error);
}

static int
build_pow (HoneGraph *g, int x, GError **error)
{
  int sq = hone_graph_pow (g, "square", x, 2.0f, error);
  int s = sq < 0 ? -1 : hone_graph_sigmoid (g, "positive", x, error);
  int r = s < 0 ? -1 : hone_graph_pow (g, "root", s, 0.5f, error);
  return r < 0 ? -1 : hone_graph_add (g, "add", sq, r, error);
}

static int
build_reduce_mean (HoneGraph *g, int x, GError **error)
{
  return hone_graph_reduce_mean (g, "mean", x, (const int[]) { 2, 3 }, 2, TRUE, error);
}

static int
build_reduce_mean_all (HoneGraph *g, int x, GError **error)
{
  return hone_graph_reduce_mean (g, "mean", x, NULL, 0, FALSE, error);
}

static int
build_reduce_sum (HoneGraph *g, int x, GError **error)
{
  return hone_graph_reduce_sum (g, "sum", x, (const int[]) { -1 }, 1, FALSE, error);
}

static int
build_layer_norm (HoneGraph *g, int x, GError **error)
{
  return hone_graph_layer_norm (g, "ln", x, param (g, "ln.weight", HONE_SHAPE (3)),
                                param (g, "ln.bias", HONE_SHAPE (3)), -1, 1e-5f, error);
}

static int
build_layer_norm_chw (HoneGraph *g, int x, GError **error)
{
  return hone_graph_layer_norm (g, "ln", x, param (g, "ln.weight", HONE_SHAPE (4, 3, 3)), -1, 1,
                                1e-3f, error);
}

static int
build_slice (HoneGraph *g, int x, GError **error)
{
  return hone_graph_slice (g, "slice", x, (const int64_t[]) { 1, 0 }, (const int64_t[]) { -1, 6 },
                           (const int[]) { 2, 3 }, (const int64_t[]) { 1, 2 }, 2, error);
}

static int
build_slice_channels (HoneGraph *g, int x, GError **error)
{
  return hone_graph_slice (g, "slice", x, (const int64_t[]) { 1 }, (const int64_t[]) { 3 },
                           (const int[]) { 1 }, NULL, 1, error);
}

static int
build_split (HoneGraph *g, int x, GError **error)
{
  int parts[2];
  if (hone_graph_split (g, "split", x, 1, NULL, 2, parts, error) < 0)
    return -1;
  return hone_graph_sub (g, "sub", parts[1], parts[0], error);
}

static int
build_split_sizes (HoneGraph *g, int x, GError **error)
{
  int parts[2];
  if (hone_graph_split (g, "split", x, 1, (const int64_t[]) { 1, 3 }, 2, parts, error) < 0)
    return -1;
  int xs[2] = { parts[1], parts[0] };
  return hone_graph_concat (g, "cat", xs, 2, 1, error);
}

static int
build_pad (HoneGraph *g, int x, GError **error)
{
  return hone_graph_pad (g, "pad", x, (const int64_t[]) { 0, 0, 1, 2, 0, 0, 2, 0 }, 4,
                         HONE_PAD_CONSTANT, 0.5f, error);
}

static int
build_pad_reflect (HoneGraph *g, int x, GError **error)
{
  return hone_graph_pad (g, "pad", x, (const int64_t[]) { 0, 0, 1, 2, 0, 0, 2, 1 }, 4,
                         HONE_PAD_REFLECT, 0.0f, error);
}

static int
build_pad_edge (HoneGraph *g, int x, GError **error)
{
  return hone_graph_pad (g, "pad", x, (const int64_t[]) { 0, 0, 2, 1, 0, 0, 0, 1 }, 4,
                         HONE_PAD_EDGE, 0.0f, error);
}

#define IMG { 3, { 4, 3, 3 } }

static const Case cases[] = {
  { "conv", { 3, { 4, 7, 6 } }, build_conv },
  { "conv_plain", { 3, { 4, 5, 5 } }, build_conv_plain },
  { "conv_depthwise", { 3, { 4, 6, 6 } }, build_conv_depthwise },
  { "batch_norm", IMG, build_batch_norm },
  { "max_pool", { 3, { 2, 7, 7 } }, build_max_pool },
  { "max_pool_ceil", { 3, { 2, 6, 7 } }, build_max_pool_ceil },
  { "avg_pool", { 3, { 2, 6, 6 } }, build_avg_pool },
  { "avg_pool_pad", { 3, { 2, 5, 5 } }, build_avg_pool_pad },
  { "avg_pool_pad_include", { 3, { 2, 5, 5 } }, build_avg_pool_pad_include },
  { "avg_pool_ceil_include", { 3, { 2, 6, 6 } }, build_avg_pool_ceil_include },
  { "global_avg_pool", IMG, build_global_avg_pool },
  { "relu", IMG, build_relu },
  { "relu6", IMG, build_relu6 },
  { "clip", IMG, build_clip },
  { "clip_above", IMG, build_clip_above },
  { "sigmoid", IMG, build_sigmoid },
  { "hard_sigmoid", IMG, build_hard_sigmoid },
  { "silu", IMG, build_silu },
  { "hard_swish", IMG, build_hard_swish },
  { "gelu", IMG, build_gelu },
  { "gelu_tanh", IMG, build_gelu_tanh },
  { "softmax", IMG, build_softmax },
  { "softmax_last", IMG, build_softmax_last },
  { "linear", IMG, build_linear },
  { "gemm", IMG, build_gemm },
  { "gemm_no_bias", IMG, build_gemm_no_bias },
  { "matmul", IMG, build_matmul },
  { "binary_const", IMG, build_binary_const },
  { "binary_act", IMG, build_binary_act },
  { "div", IMG, build_div },
  { "div_const", IMG, build_div_const },
  { "concat", IMG, build_concat },
  { "flatten", IMG, build_flatten },
  { "reshape", IMG, build_reshape },
  { "transpose", IMG, build_transpose },
  { "dropout", IMG, build_dropout },
  { "dropout_last", IMG, build_dropout_last },
  { "erf", IMG, build_erf },
  { "sqrt", IMG, build_sqrt },
  { "tanh", IMG, build_tanh },
  { "leaky_relu", IMG, build_leaky_relu },
  { "pow", IMG, build_pow },
  { "reduce_mean", IMG, build_reduce_mean },
  { "reduce_mean_all", IMG, build_reduce_mean_all },
  { "reduce_sum", IMG, build_reduce_sum },
  { "layer_norm", IMG, build_layer_norm },
  { "layer_norm_chw", IMG, build_layer_norm_chw },
  { "slice", { 3, { 2, 5, 7 } }, build_slice },
  { "slice_channels", IMG, build_slice_channels },
  { "split", IMG, build_split },
  { "split_sizes", IMG, build_split_sizes },
  { "pad", IMG, build_pad },
  { "pad_reflect", IMG, build_pad_reflect },
  { "pad_edge", IMG, build_pad_edge },
};

static gboolean
write_tensor (const char *path, const char *name, const float *data, const HoneShape *shape,
              GError **error)
{
  g_autoptr (HoneSafetensorsWriter) w = hone_safetensors_writer_new ();
  return hone_safetensors_writer_add_f32 (w, name, shape, data, error)
         && hone_safetensors_writer_write (w, path, error);
}

static gboolean
run_case (const Case *c, const char *dir, GError **error)
{
  g_autoptr (HoneGraph) g = hone_graph_new ();
  int x = hone_graph_add_input (g, "x", &c->input, error);
  int y = x < 0 ? -1 : c->build (g, x, error);
  if (y < 0)
    return FALSE;
  hone_graph_add_output (g, y);
  /* parameters uniform in [-1, 1), the input too (the BatchNorm statistics
   * stay as the case set them) */
  if (!hone_graph_plan (g, BATCH, FALSE, error))
    return FALSE;
  hone_test_fill_graph (g, BATCH, g_str_hash (c->name));

  g_autofree char *onnx = g_strdup_printf ("%s/%s.onnx", dir, c->name);
  if (!hone_onnx_export_graph (g, NULL, onnx, error))
    return FALSE;

  HoneShape in_shape = hone_shape_with_batch (&c->input, BATCH);
  g_autofree char *in_path = g_strdup_printf ("%s/%s-input.safetensors", dir, c->name);
  if (!write_tensor (in_path, "input", hone_graph_input_data (g, x), &in_shape, error))
    return FALSE;
  if (!hone_graph_forward (g, BATCH, FALSE, error))
    return FALSE;
  HoneTensor out = hone_graph_tensor (g, y);
  g_autofree char *out_path = g_strdup_printf ("%s/%s-logits.safetensors", dir, c->name);
  if (!write_tensor (out_path, "logits", out.data, &out.shape, error))
    return FALSE;

  GString *ops = g_string_new (NULL);
  for (int i = 0; i < hone_graph_n_nodes (g); i++)
    g_string_append_printf (ops, "%s%s", i ? "," : "", hone_graph_node (g, i)->op->name);
  printf ("%s %s\n", c->name, ops->str);
  g_string_free (ops, TRUE);
  return TRUE;
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: export-cases OUTDIR\n");
      return 2;
    }
  g_mkdir_with_parents (argv[1], 0755);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!run_case (&cases[i], argv[1], &error))
        {
          fprintf (stderr, "export-cases: %s: %s\n", cases[i].name, error->message);
          return 1;
        }
    }
  return 0;
}
