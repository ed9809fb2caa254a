/* hone-arch.c: ResNet-18/34, MobileNetV2 and cnn-s as Hone graphs, with
 * torchvision's structure, names and initialisation.
 *
 * References: torchvision 0.14 torchvision/models/resnet.py (BasicBlock,
 * ResNet._make_layer, the init loop in ResNet.__init__) and
 * torchvision/models/mobilenetv2.py (InvertedResidual,
 * Conv2dNormActivation, inverted_residual_setting, _make_divisible);
 * torch.nn.Conv2d / Linear reset_parameters for torch's default init.
 *
 * Every helper takes value ids and returns one, or -1 once anything failed:
 * a helper given -1 returns -1 at once, so the first error is the one
 * reported. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "hone-arch.h"
#include "hone-ops.h"

typedef enum
{
  INIT_KAIMING_FAN_OUT,      /* N(0, sqrt (2 / fan_out)): torchvision's conv init */
  INIT_TORCH_DEFAULT,        /* U(+-1/sqrt(fan_in)) for weight and bias: nn.Conv2d, nn.Linear */
  INIT_NORMAL_001,           /* N(0, 0.01), bias 0: MobileNetV2's Linear */
} Init;

typedef struct
{
  HoneGraph *g;
  HoneRng rng;
  GError **error;
} Builder;

static int
add_param (Builder *b, const char *name, const HoneShape *shape)
{
  return hone_graph_add_param (b->g, name, shape, b->error);
}

/* Fills a weight (out, in/groups, kh, kw) or (out, in), and its bias if
 * bias >= 0, following torch.nn.init. */
static void
init_weight (Builder *b, int w, int bias, Init init)
{
  const HoneValue *v = hone_graph_value (b->g, w);
  int64_t n = hone_shape_numel (&v->shape);
  int64_t receptive = 1;
  for (int k = 2; k < v->shape.rank; k++)
    receptive *= v->shape.d[k];
  double fan_in = (double) v->shape.d[1] * receptive;
  double fan_out = (double) v->shape.d[0] * receptive;
  float *wd = hone_graph_value_data (b->g, w);
  float *bd = bias >= 0 ? hone_graph_value_data (b->g, bias) : NULL;
  int64_t nb = bias >= 0 ? hone_shape_numel (&hone_graph_value (b->g, bias)->shape) : 0;
  switch (init)
    {
    case INIT_KAIMING_FAN_OUT:
      {
        /* kaiming_normal_(mode="fan_out", nonlinearity="relu"): gain sqrt(2) */
        float std = (float) sqrt (2.0 / fan_out);
        for (int64_t i = 0; i < n; i++)
          wd[i] = std * hone_rng_normal (&b->rng);
        for (int64_t i = 0; i < nb; i++)
          bd[i] = 0.0f;
      }
      break;
    case INIT_TORCH_DEFAULT:
      {
        /* kaiming_uniform_(a=sqrt(5)): bound = sqrt(6 / ((1 + 5) fan_in)) = 1/sqrt(fan_in);
         * the bias uses the same bound. */
        float bound = (float) (1.0 / sqrt (fan_in));
        for (int64_t i = 0; i < n; i++)
          wd[i] = bound * (2.0f * hone_rng_uniform (&b->rng) - 1.0f);
        for (int64_t i = 0; i < nb; i++)
          bd[i] = bound * (2.0f * hone_rng_uniform (&b->rng) - 1.0f);
      }
      break;
    case INIT_NORMAL_001:
    default:
      for (int64_t i = 0; i < n; i++)
        wd[i] = 0.01f * hone_rng_normal (&b->rng);
      for (int64_t i = 0; i < nb; i++)
        bd[i] = 0.0f;
      break;
    }
}

/* nn.Conv2d (cin, cout, k, stride, padding=pad, groups, bias), as `name`. */
static int
conv (Builder *b, const char *name, int x, int cin, int cout, int k, int stride, int pad,
      int groups, gboolean with_bias, Init init)
{
  if (x < 0)
    return -1;
  g_autofree char *wname = g_strdup_printf ("%s.weight", name);
  g_autofree char *bname = g_strdup_printf ("%s.bias", name);
  HoneShape ws = HONE_SHAPE (cout, cin / groups, k, k), bs = HONE_SHAPE (cout);
  int w = add_param (b, wname, &ws);
  int bias = -1;
  if (w < 0 || (with_bias && (bias = add_param (b, bname, &bs)) < 0))
    return -1;
  init_weight (b, w, bias, init);
  HoneConvAttrs attrs = {
    .stride = { stride, stride },
    .pad = { pad, pad, pad, pad },
    .dilation = { 1, 1 },
    .group = groups,
  };
  return hone_graph_conv (b->g, name, x, w, bias, &attrs, b->error);
}

/* nn.BatchNorm2d (c): weight 1, bias 0, running mean 0, running var 1,
 * eps 1e-5, momentum 0.1. */
static int
batch_norm (Builder *b, const char *name, int x, int c)
{
  if (x < 0)
    return -1;
  g_autofree char *wname = g_strdup_printf ("%s.weight", name);
  g_autofree char *bname = g_strdup_printf ("%s.bias", name);
  g_autofree char *mname = g_strdup_printf ("%s.running_mean", name);
  g_autofree char *vname = g_strdup_printf ("%s.running_var", name);
  HoneShape s = HONE_SHAPE (c);
  int w, bias, mean, var;
  if ((w = add_param (b, wname, &s)) < 0 || (bias = add_param (b, bname, &s)) < 0
      || (mean = hone_graph_add_buffer (b->g, mname, &s, 0.0f, b->error)) < 0
      || (var = hone_graph_add_buffer (b->g, vname, &s, 1.0f, b->error)) < 0)
    return -1;
  float *wd = hone_graph_value_data (b->g, w), *bd = hone_graph_value_data (b->g, bias);
  for (int i = 0; i < c; i++)
    {
      wd[i] = 1.0f;
      bd[i] = 0.0f;
    }
  HoneBatchNormAttrs attrs = { .eps = 1e-5f, .momentum = 0.1f };
  return hone_graph_batch_norm (b->g, name, x, w, bias, mean, var, &attrs, b->error);
}

static int
relu (Builder *b, const char *name, int x)
{
  return x < 0 ? -1 : hone_graph_relu (b->g, name, x, b->error);
}

static int
relu6 (Builder *b, const char *name, int x)
{
  return x < 0 ? -1 : hone_graph_clip (b->g, name, x, 0.0f, 6.0f, b->error);
}

static int
add (Builder *b, const char *name, int x, int y)
{
  return x < 0 || y < 0 ? -1 : hone_graph_add (b->g, name, x, y, b->error);
}

static int
max_pool (Builder *b, const char *name, int x, int k, int stride, int pad)
{
  if (x < 0)
    return -1;
  HonePoolAttrs attrs = {
    .kernel = { k, k },
    .stride = { stride, stride },
    .pad = { pad, pad, pad, pad },
    .dilation = { 1, 1 },
  };
  return hone_graph_max_pool (b->g, name, x, &attrs, b->error);
}

/* AdaptiveAvgPool2d (1) then torch.flatten (x, 1): (N, C, H, W) -> (N, C). */
static int
pool_flatten (Builder *b, const char *pool_name, int x)
{
  if (x < 0)
    return -1;
  x = hone_graph_global_avg_pool (b->g, pool_name, x, b->error);
  return x < 0 ? -1 : hone_graph_flatten (b->g, "flatten", x, 1, b->error);
}

/* nn.Linear (in, out) as Gemm with the weight transposed. */
/* A Dropout node before the head when p > 0; it has no parameters, so the
 * weights' names stay torchvision's. */
static int
head_dropout (Builder *b, const char *name, int x, double p)
{
  if (x < 0 || p <= 0.0)
    return x;
  return hone_graph_dropout (b->g, name, x, (float) p, b->error);
}

static int
linear (Builder *b, const char *name, int x, int in, int out, Init init)
{
  if (x < 0)
    return -1;
  g_autofree char *wname = g_strdup_printf ("%s.weight", name);
  g_autofree char *bname = g_strdup_printf ("%s.bias", name);
  HoneShape ws = HONE_SHAPE (out, in), bs = HONE_SHAPE (out);
  int w, bias;
  if ((w = add_param (b, wname, &ws)) < 0 || (bias = add_param (b, bname, &bs)) < 0)
    return -1;
  init_weight (b, w, bias, init);
  HoneGemmAttrs attrs = { .alpha = 1.0f, .beta = 1.0f, .trans_b = TRUE };
  return hone_graph_gemm (b->g, name, x, w, bias, &attrs, b->error);
}

static void
set_block (Builder *b, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
set_block (Builder *b, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *block = g_strdup_vprintf (format, args);
  va_end (args);
  hone_graph_set_block (b->g, block);
}

/* ---- ResNet ------------------------------------------------------------ */

/* torchvision BasicBlock: conv3x3-bn-relu-conv3x3-bn, plus the identity
 * or a 1x1 conv + bn "downsample" when the stride or width changes, then
 * relu. */
static int
basic_block (Builder *b, const char *p, int x, int inplanes, int planes, int stride)
{
  g_autofree char *conv1 = g_strdup_printf ("%s.conv1", p);
  g_autofree char *bn1 = g_strdup_printf ("%s.bn1", p);
  g_autofree char *relu_name = g_strdup_printf ("%s.relu", p);
  g_autofree char *conv2 = g_strdup_printf ("%s.conv2", p);
  g_autofree char *bn2 = g_strdup_printf ("%s.bn2", p);
  g_autofree char *ds0 = g_strdup_printf ("%s.downsample.0", p);
  g_autofree char *ds1 = g_strdup_printf ("%s.downsample.1", p);
  g_autofree char *add_name = g_strdup_printf ("%s.add", p);

  int out = conv (b, conv1, x, inplanes, planes, 3, stride, 1, 1, FALSE, INIT_KAIMING_FAN_OUT);
  out = batch_norm (b, bn1, out, planes);
  out = relu (b, relu_name, out);
  out = conv (b, conv2, out, planes, planes, 3, 1, 1, 1, FALSE, INIT_KAIMING_FAN_OUT);
  out = batch_norm (b, bn2, out, planes);
  int identity = x;
  if (stride != 1 || inplanes != planes)
    {
      identity = conv (b, ds0, out < 0 ? -1 : x, inplanes, planes, 1, stride, 0, 1, FALSE,
                       INIT_KAIMING_FAN_OUT);
      identity = batch_norm (b, ds1, identity, planes);
    }
  out = add (b, add_name, out, identity);
  return relu (b, relu_name, out);
}

static int
build_resnet (Builder *b, int x, const HoneArchOptions *o, const int *layers)
{
  set_block (b, "stem");
  x = conv (b, "conv1", x, o->channels, 64, 7, 2, 3, 1, FALSE, INIT_KAIMING_FAN_OUT);
  x = batch_norm (b, "bn1", x, 64);
  x = relu (b, "relu", x);
  x = max_pool (b, "maxpool", x, 3, 2, 1);
  int inplanes = 64;
  for (int l = 0; l < 4; l++)
    {
      int planes = 64 << l;
      for (int i = 0; i < layers[l]; i++)
        {
          g_autofree char *p = g_strdup_printf ("layer%d.%d", l + 1, i);
          set_block (b, "%s", p);
          x = basic_block (b, p, x, inplanes, planes, i == 0 && l > 0 ? 2 : 1);
          inplanes = planes;
        }
    }
  set_block (b, "head");
  x = pool_flatten (b, "avgpool", x);
  x = head_dropout (b, "dropout", x, o->dropout);
  return linear (b, "fc", x, 512, o->classes, INIT_TORCH_DEFAULT);
}

static int
build_resnet18 (Builder *b, int x, const HoneArchOptions *o)
{
  static const int layers[4] = { 2, 2, 2, 2 };
  return build_resnet (b, x, o, layers);
}

static int
build_resnet34 (Builder *b, int x, const HoneArchOptions *o)
{
  static const int layers[4] = { 3, 4, 6, 3 };
  return build_resnet (b, x, o, layers);
}

/* ---- MobileNetV2 ------------------------------------------------------- */

/* Conv2dNormActivation: conv (padding (k - 1) / 2, no bias) as P.0,
 * BatchNorm as P.1, ReLU6 as P.2. */
static int
conv_bn_relu6 (Builder *b, const char *p, int x, int cin, int cout, int k, int stride, int groups)
{
  g_autofree char *c = g_strdup_printf ("%s.0", p);
  g_autofree char *n = g_strdup_printf ("%s.1", p);
  g_autofree char *a = g_strdup_printf ("%s.2", p);
  x = conv (b, c, x, cin, cout, k, stride, (k - 1) / 2, groups, FALSE, INIT_KAIMING_FAN_OUT);
  x = batch_norm (b, n, x, cout);
  return relu6 (b, a, x);
}

/* torchvision InvertedResidual: [1x1 expand] -> 3x3 depthwise -> 1x1
 * project -> BatchNorm, with the input added when stride is 1 and the
 * width is unchanged.  Layer names P.conv.0, P.conv.1, ... count the
 * Sequential's entries, so they shift by one without the expansion. */
static int
inverted_residual (Builder *b, const char *p, int x, int inp, int oup, int stride, int expand)
{
  int hidden = inp * expand;       /* int (round (inp * expand_ratio)) for integer ratios */
  int idx = 0, y = x;
  if (expand != 1)
    {
      g_autofree char *name = g_strdup_printf ("%s.conv.%d", p, idx++);
      y = conv_bn_relu6 (b, name, y, inp, hidden, 1, 1, 1);
    }
  g_autofree char *dw = g_strdup_printf ("%s.conv.%d", p, idx++);
  y = conv_bn_relu6 (b, dw, y, hidden, hidden, 3, stride, hidden);
  g_autofree char *proj = g_strdup_printf ("%s.conv.%d", p, idx++);
  y = conv (b, proj, y, hidden, oup, 1, 1, 0, 1, FALSE, INIT_KAIMING_FAN_OUT);
  g_autofree char *bn = g_strdup_printf ("%s.conv.%d", p, idx++);
  y = batch_norm (b, bn, y, oup);
  if (stride == 1 && inp == oup)
    {
      g_autofree char *add_name = g_strdup_printf ("%s.add", p);
      y = add (b, add_name, y, x);
    }
  return y;
}

static int
build_mobilenet_v2 (Builder *b, int x, const HoneArchOptions *o)
{
  /* t (expansion), c (channels), n (repeats), s (first stride); width
   * multiplier 1.0, so _make_divisible leaves 32 and 1280 as they are. */
  static const int setting[7][4] = {
    { 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 3, 2 }, { 6, 64, 4, 2 },
    { 6, 96, 3, 1 }, { 6, 160, 3, 2 }, { 6, 320, 1, 1 },
  };
  int feature = 0;
  set_block (b, "features.0");
  x = conv_bn_relu6 (b, "features.0", x, o->channels, 32, 3, 2, 1);
  feature++;
  int input_channel = 32;
  for (int s = 0; s < 7; s++)
    for (int i = 0; i < setting[s][2]; i++)
      {
        g_autofree char *p = g_strdup_printf ("features.%d", feature++);
        set_block (b, "%s", p);
        x = inverted_residual (b, p, x, input_channel, setting[s][1], i == 0 ? setting[s][3] : 1,
                               setting[s][0]);
        input_channel = setting[s][1];
      }
  g_autofree char *last = g_strdup_printf ("features.%d", feature);
  set_block (b, "%s", last);
  x = conv_bn_relu6 (b, last, x, input_channel, 1280, 1, 1, 1);
  set_block (b, "head");
  x = pool_flatten (b, "avgpool", x);
  /* torchvision always has classifier.0; p = 0 makes it the identity */
  x = x < 0 ? -1 : hone_graph_dropout (b->g, "classifier.0", x, (float) o->dropout, b->error);
  return linear (b, "classifier.1", x, 1280, o->classes, INIT_NORMAL_001);
}

/* ---- cnn-s ------------------------------------------------------------- */

static int
build_cnn_s (Builder *b, int x, const HoneArchOptions *o)
{
  static const int widths[5] = { 32, 32, 64, 64, 128 };
  static const char *const stage[5] = { "stage1", "stage1", "stage2", "stage2", "stage3" };
  int cin = o->channels;
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *c = g_strdup_printf ("conv%d", i + 1);
      g_autofree char *n = g_strdup_printf ("bn%d", i + 1);
      set_block (b, "%s", stage[i]);
      x = conv (b, c, x, cin, widths[i], 3, 1, 1, 1, FALSE, INIT_TORCH_DEFAULT);
      x = batch_norm (b, n, x, widths[i]);
      x = relu (b, "relu", x);
      if (i == 1 || i == 3)
        x = max_pool (b, "pool", x, 2, 2, 0);
      cin = widths[i];
    }
  set_block (b, "head");
  x = pool_flatten (b, "gap", x);
  x = head_dropout (b, "dropout", x, o->dropout);
  return linear (b, "fc", x, 128, o->classes, INIT_TORCH_DEFAULT);
}

/* ---- the table --------------------------------------------------------- */

typedef int (*BuildFunc) (Builder *b, int x, const HoneArchOptions *o);

static const char *const fc_head[] = { "fc.weight", "fc.bias", NULL };
static const char *const classifier_head[] = { "classifier.1.weight", "classifier.1.bias", NULL };

static const HoneArchInfo arch_resnet18 = {
  "resnet18", N_("ResNet-18: 11.7 M parameters, a strong general-purpose classifier"),
  1000, 3, 224, 32, fc_head, 0.0,
};
static const HoneArchInfo arch_resnet34 = {
  "resnet34", N_("ResNet-34: 21.8 M parameters, deeper and slower than ResNet-18"),
  1000, 3, 224, 32, fc_head, 0.0,
};
static const HoneArchInfo arch_mobilenet_v2 = {
  "mobilenet_v2", N_("MobileNetV2: 3.5 M parameters, light and fast on a CPU"),
  1000, 3, 224, 32, classifier_head, 0.2,
};
static const HoneArchInfo arch_cnn_s = {
  "cnn-s", N_("Small CNN for 28×28 images such as Fashion-MNIST: 0.14 M parameters"),
  10, 1, 28, 4, fc_head, 0.0,
};

static const HoneArchInfo *const arch_list[] = {
  &arch_resnet18, &arch_resnet34, &arch_mobilenet_v2, &arch_cnn_s, NULL,
};
static const BuildFunc arch_build[] = {
  build_resnet18, build_resnet34, build_mobilenet_v2, build_cnn_s,
};

const HoneArchInfo *const *
hone_arch_list (void)
{
  return arch_list;
}

const HoneArchInfo *
hone_arch_find (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);
  for (int i = 0; arch_list[i]; i++)
    if (strcmp (arch_list[i]->name, name) == 0)
      return arch_list[i];
  return NULL;
}

void
hone_arch_options_init (HoneArchOptions *opts, const HoneArchInfo *info)
{
  g_return_if_fail (opts != NULL && info != NULL);
  *opts = (HoneArchOptions) {
    .classes = info->default_classes,
    .channels = info->default_channels,
    .height = info->default_size,
    .width = info->default_size,
    .seed = 0,
    .dropout = info->default_dropout,
  };
}

static gboolean
check_options (const HoneArchInfo *info, const HoneArchOptions *o, GError **error)
{
  if (o->classes < 1 || o->classes > HONE_ARCH_MAX_CLASSES)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s: %d classes is out of range: use 1 to %d", info->name, o->classes,
                   HONE_ARCH_MAX_CLASSES);
      return FALSE;
    }
  if (o->channels < 1 || o->channels > HONE_ARCH_MAX_CHANNELS)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s: %d input channels is out of range: use 1 to %d", info->name, o->channels,
                   HONE_ARCH_MAX_CHANNELS);
      return FALSE;
    }
  if (!(o->dropout >= 0.0 && o->dropout < 1.0))
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s: dropout %g is out of range: use 0 (none) up to below 1", info->name,
                   o->dropout);
      return FALSE;
    }
  if (o->height < info->min_size || o->width < info->min_size
      || o->height > HONE_ARCH_MAX_SIZE || o->width > HONE_ARCH_MAX_SIZE)
    {
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "%s: an input of %d×%d pixels is out of range: use %d to %d pixels a side",
                   info->name, o->width, o->height, info->min_size, HONE_ARCH_MAX_SIZE);
      return FALSE;
    }
  return TRUE;
}

HoneGraph *
hone_arch_build (const char *arch, const HoneArchOptions *opts, GError **error)
{
  g_return_val_if_fail (arch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  int which = -1;
  for (int i = 0; arch_list[i]; i++)
    if (strcmp (arch_list[i]->name, arch) == 0)
      which = i;
  if (which < 0)
    {
      g_autoptr (GString) known = g_string_new (NULL);
      for (int i = 0; arch_list[i]; i++)
        g_string_append_printf (known, "%s%s", i ? ", " : "", arch_list[i]->name);
      g_set_error (error, HONE_ERROR, HONE_ERROR_INVALID,
                   "unknown architecture '%s': use one of %s", arch, known->str);
      return NULL;
    }
  const HoneArchInfo *info = arch_list[which];
  HoneArchOptions o;
  if (opts)
    o = *opts;
  else
    hone_arch_options_init (&o, info);
  if (!check_options (info, &o, error))
    return NULL;

  g_autoptr (HoneGraph) g = hone_graph_new ();
  Builder b = { .g = g, .error = error };
  hone_rng_init (&b.rng, o.seed, 0);
  hone_rng_init (hone_graph_rng (g), o.seed, 1);

  hone_graph_set_block (g, "");
  HoneShape in = HONE_SHAPE (o.channels, o.height, o.width);
  int x = hone_graph_add_input (g, "input", &in, error);
  int y = x < 0 ? -1 : arch_build[which] (&b, x, &o);
  if (y < 0)
    return NULL;
  hone_graph_set_block (g, "");
  hone_graph_add_output (g, y);
  return g_steal_pointer (&g);
}
