/* hone-op-broadcast.c: the broadcasting loops shared by Add, Sub, Mul and
 * Div (see hone-op-broadcast-private.h).  No op arithmetic lives here. */
#include "config.h"

#include "hone-parallel.h"
#include "ops/hone-op-broadcast-private.h"

/* Columns per unit of forward work, so that one long run (same shapes)
 * still spreads over the threads. */
#define COLS_PER_UNIT 4096
/* Elements of work below which a loop stays on the calling thread. */
#define MIN_WORK 16384
/* Partial sums for a broadcast scalar's gradient. */
#define MAX_GROUPS 64

gboolean
hone_broadcast_init (HoneBroadcast *bc, const HoneShape *a, const HoneShape *b)
{
  HoneShape out;
  if (!hone_shape_broadcast (a, b, &out))
    return FALSE;

  const HoneShape *ops[2] = { a, b };
  gboolean bcast[2][HONE_MAX_RANK];
  int r = 0;
  for (int j = 0; j < out.rank; j++)
    {
      if (out.d[j] == 1)
        continue;             /* size-1 output dimensions do not matter */
      gboolean is_b[2];
      for (int w = 0; w < 2; w++)
        {
          int k = ops[w]->rank - out.rank + j;
          is_b[w] = (k >= 0 ? ops[w]->d[k] : 1) == 1;
        }
      /* Merge with the previous dimension when both operands broadcast
       * (or not) alike in both: the pair then acts as one dimension. */
      if (r > 0 && is_b[0] == bcast[0][r - 1] && is_b[1] == bcast[1][r - 1])
        bc->dim[r - 1] *= out.d[j];
      else
        {
          bc->dim[r] = out.d[j];
          bcast[0][r] = is_b[0];
          bcast[1][r] = is_b[1];
          r++;
        }
    }
  if (r == 0)
    {
      bc->dim[0] = 1;
      bcast[0][0] = bcast[1][0] = TRUE;
      r = 1;
    }
  bc->rank = r;
  for (int w = 0; w < 2; w++)
    {
      int64_t s = 1;
      for (int j = r - 1; j >= 0; j--)
        {
          bc->stride[w][j] = bcast[w][j] ? 0 : s;
          if (!bcast[w][j])
            s *= bc->dim[j];
        }
      bc->numel_in[w] = hone_shape_numel (ops[w]);
    }
  bc->numel = hone_shape_numel (&out);
  return TRUE;
}

gboolean
hone_op_infer_broadcast (const HoneNode *node, const HoneShape *in, HoneShape *out, GError **error)
{
  if (node->n_in != 2 || node->n_out != 1)
    {
      hone_op_set_shape_error (error, node, "expects two inputs and one output, got %d and %d",
                               node->n_in, node->n_out);
      return FALSE;
    }
  if (!hone_shape_broadcast (&in[0], &in[1], &out[0]))
    {
      char sa[128], sb[128];
      hone_op_set_shape_error (error, node,
                               "input shapes %s and %s do not broadcast (aligned from the last "
                               "dimension, each pair must be equal or contain a 1)",
                               hone_shape_to_string (&in[0], sa, sizeof sa),
                               hone_shape_to_string (&in[1], sb, sizeof sb));
      return FALSE;
    }
  return TRUE;
}

gboolean
hone_op_check_broadcast_batch (HoneGraph *g, const HoneOpClass *op, const char *name,
                               const int *in, int n, GError **error)
{
  int rank = 0;
  for (int i = 0; i < n; i++)
    {
      if (in[i] < 0 || in[i] >= hone_graph_n_values (g))
        return TRUE;
      const HoneValue *v = hone_graph_value (g, in[i]);
      gboolean batched = v->kind == HONE_VALUE_INPUT || v->kind == HONE_VALUE_ACTIVATION;
      rank = MAX (rank, v->shape.rank + (batched ? 1 : 0));
    }
  for (int i = 0; i < n; i++)
    {
      const HoneValue *v = hone_graph_value (g, in[i]);
      gboolean batched = v->kind == HONE_VALUE_INPUT || v->kind == HONE_VALUE_ACTIVATION;
      char buf[128];
      if (batched && v->shape.rank + 1 != rank)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                       "node '%s' (%s): input '%s' has %d dimensions with the batch first, but "
                       "the result has %d, so the batch would not stay dimension 0",
                       name, op->name, v->name, v->shape.rank + 1, rank);
          return FALSE;
        }
      if (!batched && v->shape.rank == rank && v->shape.d[0] != 1)
        {
          g_set_error (error, HONE_ERROR, HONE_ERROR_SHAPE,
                       "node '%s' (%s): '%s' of shape %s lines up with the batch dimension; "
                       "give it a leading 1 or one dimension fewer",
                       name, op->name, v->name, hone_shape_to_string (&v->shape, buf, sizeof buf));
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct
{
  const HoneBroadcast *bc;
  HoneBroadcastFunc func;
  float *dst;
  const float *dy;
  const float *a;
  const float *b;
  int which;                /* operand whose gradient dst is (backward) */
  int split;                /* dimension split across threads (backward) */
  int64_t units_per_row;
  int64_t n_units;
  int n_groups;
  float *partial;
} Job;

static inline const float *
at (const float *p, int64_t offset)
{
  return p ? p + offset : NULL;
}

/* Units [u0, u1) of the rows-times-column-blocks grid.  With `scalar`, every
 * run sums into it (ds 0); otherwise dst is laid out like the output. */
static void
run_units (const Job *job, int64_t u0, int64_t u1, float *scalar)
{
  const HoneBroadcast *bc = job->bc;
  const int rd = bc->rank - 1;                 /* row dimensions: 0 .. rd-1 */
  const int64_t len = bc->dim[rd];
  const int64_t as = bc->stride[0][rd], bs = bc->stride[1][rd];
  int64_t idx[HONE_MAX_RANK];
  int64_t row = u0 / job->units_per_row, cb = u0 % job->units_per_row;
  int64_t ia = 0, ib = 0, rest = row;
  for (int j = rd - 1; j >= 0; j--)
    {
      idx[j] = rest % bc->dim[j];
      rest /= bc->dim[j];
      ia += idx[j] * bc->stride[0][j];
      ib += idx[j] * bc->stride[1][j];
    }

  for (int64_t u = u0; u < u1; u++)
    {
      int64_t c0 = cb * COLS_PER_UNIT, c1 = MIN (len, c0 + COLS_PER_UNIT);
      int64_t o = row * len + c0;
      HoneBroadcastRun run = {
        .dst = scalar ? scalar : job->dst + o,
        .ds = scalar ? 0 : 1,
        .dy = at (job->dy, o),
        .a = at (job->a, ia + c0 * as),
        .b = at (job->b, ib + c0 * bs),
        .as = as,
        .bs = bs,
        .n = c1 - c0,
      };
      job->func (&run);
      if (++cb == job->units_per_row)
        {
          cb = 0;
          row++;
          for (int j = rd - 1; j >= 0; j--)
            {
              ia += bc->stride[0][j];
              ib += bc->stride[1][j];
              if (++idx[j] < bc->dim[j])
                break;
              ia -= bc->stride[0][j] * bc->dim[j];
              ib -= bc->stride[1][j] * bc->dim[j];
              idx[j] = 0;
            }
        }
    }
}

static void
units_chunk (int64_t begin, int64_t end, gpointer data)
{
  run_units (data, begin, end, NULL);
}

static void
groups_chunk (int64_t begin, int64_t end, gpointer data)
{
  const Job *job = data;
  for (int64_t g = begin; g < end; g++)
    run_units (job, g * job->n_units / job->n_groups, (g + 1) * job->n_units / job->n_groups,
               &job->partial[g]);
}

/* Every output element whose index in dimension `split` is in [i0, i1),
 * row by row; the operand's gradient elements it touches belong to this
 * range alone, since the operand is not broadcast along `split`. */
static void
box_chunk (int64_t i0, int64_t i1, gpointer data)
{
  const Job *job = data;
  const HoneBroadcast *bc = job->bc;
  const int rd = bc->rank - 1, k = job->split, w = job->which;
  const int64_t len = bc->dim[rd];
  const int64_t c0 = k == rd ? i0 : 0, c1 = k == rd ? i1 : len;
  int64_t lo[HONE_MAX_RANK], hi[HONE_MAX_RANK], idx[HONE_MAX_RANK], ostride[HONE_MAX_RANK];
  int64_t s = len;
  for (int j = rd - 1; j >= 0; j--)
    {
      lo[j] = j == k ? i0 : 0;
      hi[j] = j == k ? i1 : bc->dim[j];
      idx[j] = lo[j];
      ostride[j] = s;
      s *= bc->dim[j];
    }

  for (;;)
    {
      int64_t o = 0, ia = 0, ib = 0;
      for (int j = 0; j < rd; j++)
        {
          o += idx[j] * ostride[j];
          ia += idx[j] * bc->stride[0][j];
          ib += idx[j] * bc->stride[1][j];
        }
      const int64_t as = bc->stride[0][rd], bs = bc->stride[1][rd];
      const int64_t ix = w == 0 ? ia : ib, xs = w == 0 ? as : bs;
      HoneBroadcastRun run = {
        .dst = job->dst + ix + c0 * xs,
        .ds = xs,
        .dy = job->dy + o + c0,
        .a = at (job->a, ia + c0 * as),
        .b = at (job->b, ib + c0 * bs),
        .as = as,
        .bs = bs,
        .n = c1 - c0,
      };
      job->func (&run);

      int j = rd - 1;
      for (; j >= 0; j--)
        {
          if (++idx[j] < hi[j])
            break;
          idx[j] = lo[j];
        }
      if (j < 0)
        break;
    }
}

void
hone_broadcast_forward (const HoneBroadcast *bc, float *y, const float *a, const float *b,
                        HoneBroadcastFunc func)
{
  if (bc->numel == 0)
    return;
  int64_t len = bc->dim[bc->rank - 1];
  Job job = {
    .bc = bc,
    .func = func,
    .dst = y,
    .a = a,
    .b = b,
    .units_per_row = (len + COLS_PER_UNIT - 1) / COLS_PER_UNIT,
  };
  job.n_units = bc->numel / len * job.units_per_row;
  hone_parallel_for (job.n_units, MAX (1, MIN_WORK / MIN (len, COLS_PER_UNIT)), units_chunk, &job);
}

void
hone_broadcast_backward (const HoneBroadcast *bc, int which, float *dx, const float *dy,
                         const float *a, const float *b, HoneBroadcastFunc func)
{
  g_assert (which == 0 || which == 1);
  if (bc->numel == 0)
    return;
  int64_t len = bc->dim[bc->rank - 1];
  Job job = {
    .bc = bc,
    .func = func,
    .dst = dx,
    .dy = dy,
    .a = a,
    .b = b,
    .which = which,
    .units_per_row = (len + COLS_PER_UNIT - 1) / COLS_PER_UNIT,
  };
  job.n_units = bc->numel / len * job.units_per_row;

  if (bc->numel_in[which] == bc->numel)
    {
      /* Not broadcast: the gradient is laid out like the output. */
      hone_parallel_for (job.n_units, MAX (1, MIN_WORK / MIN (len, COLS_PER_UNIT)), units_chunk,
                         &job);
    }
  else if (bc->numel_in[which] == 1)
    {
      /* A scalar: fixed groups of partial sums (their number depends on
       * the size only), added in order. */
      float partial[MAX_GROUPS] = { 0 };
      job.partial = partial;
      job.n_groups = (int) CLAMP (bc->numel / MIN_WORK, 1, MIN (MAX_GROUPS, job.n_units));
      hone_parallel_for (job.n_groups, 1, groups_chunk, &job);
      float sum = 0.0f;
      for (int g = 0; g < job.n_groups; g++)
        sum += partial[g];
      dx[0] += sum;
    }
  else
    {
      /* Split along the operand's longest dimension that is not broadcast. */
      int k = -1;
      for (int j = 0; j < bc->rank; j++)
        if (bc->stride[which][j] != 0 && (k < 0 || bc->dim[j] > bc->dim[k]))
          k = j;
      g_assert (k >= 0);
      job.split = k;
      int64_t per_index = bc->numel / bc->dim[k];
      hone_parallel_for (bc->dim[k], MAX (1, MIN_WORK / MAX (per_index, 1)), box_chunk, &job);
    }
}

void
hone_broadcast_op_forward (const HoneOpCtx *ctx, HoneBroadcastFunc func)
{
  HoneBroadcast bc;
  hone_broadcast_init (&bc, &ctx->in[0].shape, &ctx->in[1].shape);
  hone_broadcast_forward (&bc, ctx->out[0].data, ctx->in[0].data, ctx->in[1].data, func);
}

void
hone_broadcast_grad_identity (const HoneBroadcastRun *run)
{
  float *restrict dx = run->dst;
  const float *restrict dy = run->dy;
  if (run->ds)
    for (int64_t i = 0; i < run->n; i++)
      dx[i] += dy[i];
  else
    dx[0] += hone_sum_f32 (dy, run->n);
}
