/* test-trainer.c: whole training runs on Fashion-MNIST: learning, events and
 * the queue, commands honoured within one batch, exact resume, divergence,
 * progressive unfreezing, head replacement, early stopping, the run folder,
 * and evaluation.
 *
 * Runs are small (a few hundred images of fmnist:5-9, cnn-s) so that the
 * whole file stays well under a minute on two cores; "within one batch" is
 * measured in batches, never in time. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-test-util.h"
#include "onnx.pb-c.h"

/* ---- helpers ------------------------------------------------------------ */

static char *tmp_root;

static char *
run_path (const char *name)
{
  return g_build_filename (tmp_root, name, NULL);
}

static void
set (HoneRecipe *r, const char *assignment)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = hone_recipe_set (r, assignment, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* A quick deterministic run of cnn-s on `limit` images of fmnist:5-9. */
static HoneRecipe *
small_recipe (int limit, int epochs)
{
  HoneRecipe *r = hone_recipe_new ();
  set (r, "model.arch=cnn-s");
  set (r, "data.source=fmnist:5-9");
  g_autofree char *l = g_strdup_printf ("data.limit=%d", limit);
  set (r, l);
  set (r, "data.val_split=0.2");
  set (r, "data.test_split=0");
  g_autofree char *e = g_strdup_printf ("train.epochs=%d", epochs);
  set (r, e);
  set (r, "train.batch=32");
  set (r, "train.seed=7");
  set (r, "train.threads=2");
  set (r, "train.deterministic=true");
  set (r, "augment.enabled=false");
  set (r, "optimizer.name=adam");
  set (r, "optimizer.lr=0.002");
  set (r, "schedule.name=constant");
  set (r, "schedule.warmup=none");
  set (r, "freeze.mode=none");
  return r;
}

/* What the tests keep of an event. */
typedef struct
{
  HoneEventKind kind;
  int epoch;
  int64_t step;
  HoneStepInfo train;
  HoneEpochInfo epoch_info;
  HoneStartInfo start;          /* class_names and class_counts not kept */
  double val_accuracy;          /* VALIDATION */
  char *what;
  char *path;
  char *message;
  gboolean diverged;
  double lr;
  double suggested_lr;
  HoneFinishReason reason;
} Seen;

static void
seen_free (gpointer p)
{
  Seen *s = p;
  g_free (s->what);
  g_free (s->path);
  g_free (s->message);
  g_free (s);
}

static Seen *
seen_new (const HoneEvent *ev)
{
  Seen *s = g_new0 (Seen, 1);
  s->kind = ev->kind;
  s->epoch = ev->epoch;
  s->step = ev->step;
  s->train = ev->train;
  s->epoch_info = ev->epoch_info;
  s->start = ev->start;
  s->start.class_names = NULL;
  s->start.class_counts = NULL;
  s->val_accuracy = ev->validation ? ev->validation->accuracy : NAN;
  s->what = g_strdup (ev->what);
  s->path = g_strdup (ev->path);
  s->message = g_strdup (ev->message);
  s->diverged = ev->diverged;
  s->lr = ev->lr;
  s->suggested_lr = ev->suggested_lr;
  s->reason = ev->reason;
  return s;
}

static void
collect (HoneTrainer *t, const HoneEvent *ev, gpointer data)
{
  g_ptr_array_add (data, seen_new (ev));
}

static GPtrArray *
seen_array (void)
{
  return g_ptr_array_new_with_free_func (seen_free);
}

static const Seen *
last_of (GPtrArray *seen, HoneEventKind kind)
{
  for (guint i = seen->len; i > 0; i--)
    if (((Seen *) seen->pdata[i - 1])->kind == kind)
      return seen->pdata[i - 1];
  return NULL;
}

static int
count_of (GPtrArray *seen, HoneEventKind kind)
{
  int n = 0;
  for (guint i = 0; i < seen->len; i++)
    n += ((Seen *) seen->pdata[i])->kind == kind;
  return n;
}

static HoneTrainer *
new_trainer (const HoneRecipe *r, const char *dir)
{
  g_autoptr (GError) error = NULL;
  HoneTrainer *t = hone_trainer_new (r, dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

static HoneFinishReason
run_collect (HoneTrainer *t, GPtrArray *seen)
{
  return hone_trainer_run_sync (t, collect, seen);
}

/* Every tensor of a and b has the same name, dtype, shape and bytes. */
static void
assert_same_tensors (const char *a, const char *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneSafetensors) sa = hone_safetensors_open (a, &error);
  g_assert_no_error (error);
  g_autoptr (HoneSafetensors) sb = hone_safetensors_open (b, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hone_safetensors_n_tensors (sa), ==, hone_safetensors_n_tensors (sb));
  for (int i = 0; i < hone_safetensors_n_tensors (sa); i++)
    {
      const HoneSafetensorsTensor *ta = hone_safetensors_tensor (sa, i);
      int j = hone_safetensors_find (sb, ta->name);
      g_assert_cmpint (j, >=, 0);
      const HoneSafetensorsTensor *tb = hone_safetensors_tensor (sb, j);
      g_assert_cmpint (ta->dtype, ==, tb->dtype);
      g_assert_cmpuint (ta->nbytes, ==, tb->nbytes);
      if (memcmp (ta->data, tb->data, ta->nbytes) != 0)
        g_error ("tensor %s differs between %s and %s", ta->name, a, b);
    }
}

/* Tensor `name` of a file as floats (g_free). */
static float *
read_tensor (const char *path, const char *name, int64_t *numel)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (path, &error);
  g_assert_no_error (error);
  int i = hone_safetensors_find (st, name);
  if (i < 0)
    g_error ("%s has no tensor %s", path, name);
  const HoneSafetensorsTensor *t = hone_safetensors_tensor (st, i);
  float *out = g_new (float, MAX (t->numel, 1));
  g_assert_true (hone_safetensors_read_f32 (st, i, out, &error));
  if (numel)
    *numel = t->numel;
  return out;
}

static gboolean
same_tensor (const char *a, const char *b, const char *name_a, const char *name_b)
{
  int64_t na, nb;
  g_autofree float *x = read_tensor (a, name_a, &na);
  g_autofree float *y = read_tensor (b, name_b, &nb);
  return na == nb && memcmp (x, y, (gsize) na * sizeof (float)) == 0;
}

static char *
file_in (const char *dir, const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static JsonNode *
parse_json_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, path, &error));
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (p));
}

/* final.onnx holds final.safetensors' weights and the run's classes and
 * normalisation (that other tools run it: tests/onnx). */
static void
assert_final_onnx (const char *path, const char *dir)
{
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  Onnx__ModelProto *m = onnx__model_proto__unpack (NULL, size, (const guint8 *) data);
  g_assert_nonnull (m);
  g_assert_cmpint (m->opset_import[0]->version, ==, 13);
  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  for (size_t i = 0; i < m->n_metadata_props; i++)
    g_hash_table_insert (md, m->metadata_props[i]->key, m->metadata_props[i]->value);
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.arch"), ==, "cnn-s");
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.input"), ==, "1x28x28");
  g_assert_nonnull (g_hash_table_lookup (md, "hone.mean"));
  const char *classes = g_hash_table_lookup (md, "hone.classes");
  g_assert_nonnull (classes);
  g_assert_true (g_str_has_prefix (classes, "[\""));

  g_autofree char *final = file_in (dir, "final.safetensors");
  int64_t n = 0;
  g_autofree float *fc = read_tensor (final, "fc.weight", &n);
  g_autofree float *var = read_tensor (final, "bn5.running_var", NULL);
  gboolean found_fc = FALSE, found_var = FALSE;
  for (size_t i = 0; i < m->graph->n_initializer; i++)
    {
      const Onnx__TensorProto *t = m->graph->initializer[i];
      if (strcmp (t->name, "fc.weight") == 0)
        {
          g_assert_cmpmem (t->raw_data.data, t->raw_data.len, fc, (gsize) n * sizeof (float));
          found_fc = TRUE;
        }
      if (strcmp (t->name, "bn5.running_var") == 0)
        {
          g_assert_cmpmem (t->raw_data.data, t->raw_data.len, var, 128 * sizeof (float));
          found_var = TRUE;
        }
    }
  g_assert_true (found_fc && found_var);
  onnx__model_proto__free_unpacked (m, NULL);
}

/* ---- a real run learns, and leaves a complete run folder ---------------- */

static void
test_learns (void)
{
  g_autofree char *dir = run_path ("learns");
  g_autoptr (HoneRecipe) r = small_recipe (1500, 2);
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  gint64 t0 = g_get_monotonic_time ();
  HoneFinishReason reason = run_collect (t, seen);
  g_test_message ("2 epochs of 1200 images: %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  const Seen *fin = last_of (seen, HONE_EVENT_FINISHED);
  g_assert_nonnull (fin);
  if (reason != HONE_FINISH_COMPLETED)
    g_error ("the run did not complete: %s", fin->message);

  /* events in order: started first, finished last, steps numbered within epochs */
  g_assert_cmpint (((Seen *) seen->pdata[0])->kind, ==, HONE_EVENT_STARTED);
  g_assert_true (seen->pdata[seen->len - 1] == fin);
  const Seen *start = seen->pdata[0];
  g_assert_cmpint (start->start.n_train + start->start.n_val, ==, 1500);
  g_assert_cmpint (start->start.n_classes, ==, 5);
  int epoch = 1, batch = 0, epochs_seen = 0;
  for (guint i = 1; i < seen->len; i++)
    {
      const Seen *s = seen->pdata[i];
      g_assert_cmpint (s->epoch, >=, MIN (epoch, 2));
      if (s->kind == HONE_EVENT_STEP)
        {
          g_assert_cmpint (s->epoch, ==, epoch);
          g_assert_cmpint (s->train.batch, ==, batch + 1);
          batch = s->train.batch;
          g_assert_true (isfinite (s->train.loss));
          g_assert_cmpfloat (s->train.lr, ==, 0.002);
        }
      else if (s->kind == HONE_EVENT_EPOCH)
        {
          g_assert_cmpint (s->epoch, ==, epoch);
          g_assert_cmpint (batch, ==, start->start.batches_per_epoch);
          epochs_seen++;
          epoch++;
          batch = 0;
        }
    }
  g_assert_cmpint (epochs_seen, ==, 2);
  g_assert_cmpint (count_of (seen, HONE_EVENT_VALIDATION), ==, 2);
  const Seen *last_epoch = last_of (seen, HONE_EVENT_EPOCH);
  g_assert_nonnull (last_epoch);
  g_test_message ("validation accuracy %.3f, loss %.3f", last_epoch->epoch_info.val_accuracy,
                  last_epoch->epoch_info.val_loss);
  g_assert_cmpfloat (last_epoch->epoch_info.val_accuracy, >, 0.6);   /* chance is 0.2 */

  /* the run folder */
  const char *files[] = { "recipe.hone", "metrics.jsonl", "checkpoint.safetensors", "best.safetensors",
                          "final.safetensors", "final.onnx", "report.json", NULL };
  for (int i = 0; files[i]; i++)
    {
      g_autofree char *p = file_in (dir, files[i]);
      if (!g_file_test (p, G_FILE_TEST_IS_REGULAR))
        g_error ("the run folder lacks %s", files[i]);
    }
  g_autofree char *onnx = file_in (dir, "final.onnx");
  gboolean onnx_event = FALSE;
  for (guint i = 0; i < seen->len; i++)
    {
      const Seen *s = seen->pdata[i];
      onnx_event |= s->kind == HONE_EVENT_CHECKPOINT && g_strcmp0 (s->what, "onnx") == 0
                    && g_strcmp0 (s->path, onnx) == 0;
      g_assert_cmpint (s->kind, !=, HONE_EVENT_WARNING);
    }
  g_assert_true (onnx_event);
  assert_final_onnx (onnx, dir);

  /* recipe.hone reads back */
  g_autoptr (GError) error = NULL;
  g_autofree char *recipe_path = file_in (dir, "recipe.hone");
  g_autoptr (HoneRecipe) back = hone_recipe_load (recipe_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->epochs, ==, 2);

  /* metrics.jsonl: one object per line with "event", every STEP there */
  g_autofree char *metrics_path = file_in (dir, "metrics.jsonl");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (metrics_path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  int n_lines = 0, n_steps = 0;
  g_autoptr (GHashTable) kinds = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; lines[i]; i++)
    {
      if (!lines[i][0])
        {
          g_assert_null (lines[i + 1]);   /* only the last line is empty */
          break;
        }
      g_autoptr (JsonParser) p = json_parser_new ();
      if (!json_parser_load_from_data (p, lines[i], -1, NULL))
        g_error ("metrics.jsonl line %d is not JSON: %s", i + 1, lines[i]);
      JsonNode *root = json_parser_get_root (p);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
      const char *kind = json_object_get_string_member_with_default (json_node_get_object (root), "event", NULL);
      g_assert_nonnull (kind);
      g_hash_table_add (kinds, (gpointer) g_intern_string (kind));
      n_steps += strcmp (kind, "step") == 0;
      n_lines++;
    }
  g_assert_cmpint (n_lines, ==, (int) seen->len);
  g_assert_cmpint (n_steps, ==, count_of (seen, HONE_EVENT_STEP));
  const char *expected[] = { "started", "step", "epoch", "validation", "checkpoint", "finished", NULL };
  for (int i = 0; expected[i]; i++)
    if (!g_hash_table_contains (kinds, expected[i]))
      g_error ("metrics.jsonl has no \"%s\" event", expected[i]);

  /* report.json: the final evaluation */
  g_autofree char *report_path = file_in (dir, "report.json");
  g_autoptr (JsonNode) report = parse_json_file (report_path);
  JsonObject *ro = json_node_get_object (report);
  g_assert_cmpfloat (json_object_get_double_member (ro, "accuracy"), >, 0.6);
  g_assert_true (json_object_has_member (ro, "loss"));
  JsonArray *confusion = json_object_get_array_member (ro, "confusion");
  g_assert_cmpint (json_array_get_length (confusion), ==, 5);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (ro, "per_class")), ==, 5);
  g_assert_true (json_object_has_member (ro, "worst"));

  /* final.safetensors loads strictly into a fresh cnn-s for 5 classes */
  HoneArchOptions opts;
  hone_arch_options_init (&opts, hone_arch_find ("cnn-s"));
  opts.classes = 5;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &opts, &error);
  g_assert_no_error (error);
  g_autofree char *final_path = file_in (dir, "final.safetensors");
  g_assert_true (hone_graph_load_safetensors (g, final_path, HONE_LOAD_STRICT, &error));
  g_assert_no_error (error);
}

/* final.onnx that cannot be written (here a folder is in its way) is a
 * warning naming it; the run completes with its Hone files. */
static void
test_onnx_warning (void)
{
  g_autofree char *dir = run_path ("onnx-warning");
  g_autofree char *blocker = file_in (dir, "final.onnx");
  g_assert_cmpint (g_mkdir_with_parents (blocker, 0755), ==, 0);
  g_autoptr (HoneRecipe) r = small_recipe (200, 1);
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  HoneFinishReason reason = run_collect (t, seen);
  g_assert_cmpint (reason, ==, HONE_FINISH_COMPLETED);
  const Seen *w = last_of (seen, HONE_EVENT_WARNING);
  g_assert_nonnull (w);
  g_assert_cmpstr (w->path, ==, blocker);
  g_assert_nonnull (strstr (w->message, "final.onnx was not written"));
  g_assert_nonnull (strstr (w->message, blocker));
  const char *files[] = { "final.safetensors", "report.json", NULL };
  for (int i = 0; files[i]; i++)
    {
      g_autofree char *p = file_in (dir, files[i]);
      g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
    }
  /* no temporary file left behind */
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  for (const char *name; (name = g_dir_read_name (d));)
    if (g_str_has_prefix (name, "final.onnx") && strcmp (name, "final.onnx") != 0)
      g_error ("left behind: %s", name);
}

/* ---- the queue never blocks and drops only STEP events ------------------ */

static void
test_queue (void)
{
  g_autofree char *dir = run_path ("queue");
  g_autoptr (HoneRecipe) r = small_recipe (700, 2);
  set (r, "train.batch=8");
  set (r, "freeze.mode=head");
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_trainer_start (t, &error));
  /* nobody reads while it runs: it must finish anyway */
  HoneFinishReason reason = hone_trainer_join (t);
  g_assert_cmpint (reason, ==, HONE_FINISH_COMPLETED);
  g_assert_cmpint (hone_trainer_get_state (t), ==, HONE_TRAINER_FINISHED);

  int64_t batches = hone_trainer_batches_done (t);
  g_assert_cmpint (batches, >, 2 * HONE_TRAINER_QUEUE_STEPS);
  int64_t represented = 0;
  int steps = 0, epochs = 0, started = 0, validations = 0;
  int last_epoch = 0;
  HoneEvent *ev, *last = NULL;
  while ((ev = hone_trainer_pop_event (t)))
    {
      g_assert_cmpint (ev->epoch, >=, last_epoch);
      last_epoch = ev->epoch;
      switch (ev->kind)
        {
        case HONE_EVENT_STEP:
          steps++;
          represented += 1 + ev->train.coalesced;
          break;
        case HONE_EVENT_EPOCH:
          epochs++;
          break;
        case HONE_EVENT_STARTED:
          started++;
          g_assert_null (last);
          break;
        case HONE_EVENT_VALIDATION:
          validations++;
          g_assert_nonnull (ev->validation);
          break;
        default:
          break;
        }
      hone_event_free (last);
      last = ev;
    }
  g_assert_nonnull (last);
  g_assert_cmpint (last->kind, ==, HONE_EVENT_FINISHED);
  hone_event_free (last);
  g_assert_cmpint (steps, <=, HONE_TRAINER_QUEUE_STEPS);
  g_assert_cmpint (started, ==, 1);
  g_assert_cmpint (epochs, ==, 2);
  g_assert_cmpint (validations, ==, 2);
  g_assert_cmpint (represented + hone_trainer_dropped_events (t), ==, batches);
  g_assert_null (hone_trainer_wait_event (t, 10));
}

/* ---- pause, set-LR, resume and stop, each within one batch -------------- */

static void
wait_batches (HoneTrainer *t, int64_t n)
{
  while (hone_trainer_batches_done (t) < n)
    {
      g_assert_cmpint (hone_trainer_get_state (t), !=, HONE_TRAINER_FINISHED);
      g_usleep (500);
    }
}

static void
drain (HoneTrainer *t, GPtrArray *seen)
{
  HoneEvent *ev;
  while ((ev = hone_trainer_pop_event (t)))
    {
      g_ptr_array_add (seen, seen_new (ev));
      hone_event_free (ev);
    }
}

static void
test_commands (void)
{
  g_autofree char *dir = run_path ("commands");
  g_autoptr (HoneRecipe) r = small_recipe (2000, 3);
  set (r, "train.batch=8");
  set (r, "freeze.mode=head");
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_autoptr (GError) error = NULL;
  g_assert_true (hone_trainer_start (t, &error));

  wait_batches (t, 3);
  hone_trainer_pause (t);
  int64_t b0 = hone_trainer_batches_done (t);
  while (hone_trainer_get_state (t) != HONE_TRAINER_PAUSED)
    g_usleep (500);
  int64_t b1 = hone_trainer_batches_done (t);
  g_assert_cmpint (b1 - b0, <=, 1);
  g_usleep (100000);
  g_assert_cmpint (hone_trainer_batches_done (t), ==, b1);   /* nothing moves while paused */

  hone_trainer_set_lr_scale (t, 0.5);
  g_assert_cmpfloat (hone_trainer_get_lr_scale (t), ==, 0.5);
  hone_trainer_resume (t);
  wait_batches (t, b1 + 3);

  hone_trainer_stop (t);
  int64_t s0 = hone_trainer_batches_done (t);
  HoneFinishReason reason = hone_trainer_join (t);
  int64_t s1 = hone_trainer_batches_done (t);
  g_assert_cmpint (s1 - s0, <=, 1);
  g_assert_cmpint (reason, ==, HONE_FINISH_STOPPED);

  drain (t, seen);
  g_assert_cmpint (count_of (seen, HONE_EVENT_PAUSED), ==, 1);
  g_assert_cmpint (count_of (seen, HONE_EVENT_RESUMED), ==, 1);
  /* the learning rate halves from the first step after resuming */
  gboolean after_resume = FALSE;
  int checked = 0;
  for (guint i = 0; i < seen->len; i++)
    {
      const Seen *s = seen->pdata[i];
      if (s->kind == HONE_EVENT_RESUMED)
        after_resume = TRUE;
      if (s->kind == HONE_EVENT_STEP && s->train.coalesced == 0)
        {
          g_assert_cmpfloat (s->train.lr, ==, after_resume ? 0.001 : 0.002);
          checked++;
        }
    }
  g_assert_cmpint (checked, >, 3);
  const Seen *fin = last_of (seen, HONE_EVENT_FINISHED);
  g_assert_true (fin == seen->pdata[seen->len - 1]);
  g_assert_cmpint (fin->reason, ==, HONE_FINISH_STOPPED);
  const Seen *cp = last_of (seen, HONE_EVENT_CHECKPOINT);
  g_assert_nonnull (cp);
  g_assert_cmpstr (cp->what, ==, "checkpoint");
  g_assert_true (g_file_test (cp->path, G_FILE_TEST_IS_REGULAR));
}

/* ---- cancel: stop before the first batch, and free while running -------- */

static void
test_cancel (void)
{
  g_autofree char *dir = run_path ("cancel");
  g_autoptr (HoneRecipe) r = small_recipe (400, 2);
  set (r, "freeze.mode=head");
  HoneTrainer *t = new_trainer (r, dir);
  hone_trainer_stop (t);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_STOPPED);
  g_assert_cmpint (hone_trainer_batches_done (t), ==, 0);
  g_assert_cmpint (count_of (seen, HONE_EVENT_STEP), ==, 0);
  hone_trainer_free (t);

  /* the stopped run continues from batch 0 */
  g_autoptr (GError) error = NULL;
  t = hone_trainer_open (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (hone_trainer_start (t, &error));
  wait_batches (t, 2);
  hone_trainer_free (t);   /* stops and joins */
}

/* ---- resuming a deterministic run is bit-exact -------------------------- */

typedef struct
{
  int stop_epoch;     /* stop at the EPOCH event of this epoch, or */
  int stop_batch;     /* at the STEP of this batch of stop_epoch + 1 (0: at the EPOCH event) */
} StopAt;

static void
stop_when (HoneTrainer *t, const HoneEvent *ev, gpointer data)
{
  const StopAt *at = data;
  if (at->stop_batch == 0 && ev->kind == HONE_EVENT_EPOCH && ev->epoch == at->stop_epoch)
    hone_trainer_stop (t);
  if (at->stop_batch > 0 && ev->kind == HONE_EVENT_STEP && ev->epoch == at->stop_epoch + 1
      && ev->train.batch == at->stop_batch)
    hone_trainer_stop (t);
}

static HoneRecipe *
exact_recipe (void)
{
  HoneRecipe *r = small_recipe (300, 2);
  set (r, "train.accum=2");
  set (r, "augment.enabled=true");
  set (r, "augment.hflip=0.5");
  set (r, "augment.rotate=10");
  set (r, "optimizer.name=sgd");
  set (r, "optimizer.momentum=0.9");
  set (r, "optimizer.lr=0.05");
  set (r, "schedule.name=cosine");
  set (r, "schedule.warmup=linear");
  set (r, "schedule.warmup_epochs=0.5");
  return r;
}

static void
test_resume_exact (void)
{
  g_autoptr (HoneRecipe) r = exact_recipe ();
  g_autoptr (GError) error = NULL;

  g_autofree char *whole = run_path ("exact-whole");
  {
    g_autoptr (HoneTrainer) t = new_trainer (r, whole);
    g_assert_cmpint (hone_trainer_run_sync (t, NULL, NULL), ==, HONE_FINISH_COMPLETED);
  }
  g_autofree char *whole_final = file_in (whole, "final.safetensors");

  /* after epoch 1 (the checkpoint is at its end), and in the middle of an
   * accumulation window of epoch 2 (it replays the window) */
  const StopAt stops[] = { { 1, 0 }, { 1, 3 } };
  for (guint i = 0; i < G_N_ELEMENTS (stops); i++)
    {
      g_autofree char *name = g_strdup_printf ("exact-%u", i);
      g_autofree char *dir = run_path (name);
      {
        g_autoptr (HoneTrainer) t = new_trainer (r, dir);
        g_assert_cmpint (hone_trainer_run_sync (t, stop_when, (gpointer) &stops[i]), ==,
                         HONE_FINISH_STOPPED);
      }
      g_autoptr (GPtrArray) seen = seen_array ();
      g_autoptr (HoneTrainer) t = hone_trainer_open (dir, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_COMPLETED);
      g_assert_true (((Seen *) seen->pdata[0])->start.resumed);
      g_autofree char *final = file_in (dir, "final.safetensors");
      assert_same_tensors (whole_final, final);
    }
}

/* ---- divergence pauses, keeps the last good checkpoint ------------------ */

typedef struct
{
  char *checkpoint;        /* the file */
  char *good;              /* its bytes after the first epoch */
  gsize good_len;
  gboolean unchanged_at_pause;
  gboolean paused;
  double lr;
  double suggested;
  char *message;
  gboolean resume;         /* resume with a tiny scale instead of stopping */
  gboolean resumed_seen;
} DivergeState;

static void
diverge_cb (HoneTrainer *t, const HoneEvent *ev, gpointer data)
{
  DivergeState *d = data;
  if (ev->kind == HONE_EVENT_CHECKPOINT && g_strcmp0 (ev->what, "checkpoint") == 0 && !d->good)
    {
      g_assert_true (g_file_get_contents (ev->path, &d->good, &d->good_len, NULL));
      hone_trainer_set_lr_scale (t, 1e7);   /* a learning rate of 1e4: it will blow up */
    }
  else if (ev->kind == HONE_EVENT_PAUSED && ev->diverged && !d->paused)
    {
      d->paused = TRUE;
      d->lr = ev->lr;
      d->suggested = ev->suggested_lr;
      d->message = g_strdup (ev->message);
      g_autofree char *now = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (d->checkpoint, &now, &len, NULL));
      d->unchanged_at_pause = len == d->good_len && memcmp (now, d->good, len) == 0;
      g_assert_cmpint (hone_trainer_get_state (t), ==, HONE_TRAINER_PAUSED);
      if (d->resume)
        {
          hone_trainer_set_lr_scale (t, 1e-6);
          hone_trainer_resume (t);
        }
      else
        hone_trainer_stop (t);
    }
  else if (ev->kind == HONE_EVENT_RESUMED)
    {
      d->resumed_seen = TRUE;
      hone_trainer_stop (t);
    }
}

static void
test_diverge (void)
{
  g_autofree char *dir = run_path ("diverge");
  g_autoptr (HoneRecipe) r = small_recipe (400, 3);
  set (r, "optimizer.name=sgd");
  set (r, "optimizer.lr=0.001");
  DivergeState d = { 0 };
  d.checkpoint = file_in (dir, "checkpoint.safetensors");
  {
    g_autoptr (HoneTrainer) t = new_trainer (r, dir);
    g_autoptr (GPtrArray) seen = seen_array ();
    HoneFinishReason reason = hone_trainer_run_sync (t, diverge_cb, &d);
    g_assert_true (d.paused);
    g_assert_cmpint (reason, ==, HONE_FINISH_DIVERGED);
  }
  g_test_message ("%s", d.message);
  g_assert_true (d.unchanged_at_pause);
  g_assert_cmpfloat (fabs (d.lr - 0.001 * 1e7), <, 1e-6);
  g_assert_cmpfloat (fabs (d.suggested - d.lr / 10), <, 1e-9);
  g_assert_nonnull (strstr (d.message, "diverged"));
  g_assert_nonnull (strstr (d.message, "learning rate 1e+04"));
  g_assert_nonnull (strstr (d.message, "1e+03"));
  /* stopping after the divergence leaves the last good checkpoint */
  g_autofree char *now = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (d.checkpoint, &now, &len, NULL));
  g_assert_true (len == d.good_len && memcmp (now, d.good, len) == 0);

  /* and the run continues from it with a sane rate */
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (HoneTrainer) t = hone_trainer_open (dir, NULL, &error);
    g_assert_no_error (error);
    g_autoptr (GPtrArray) seen = seen_array ();
    g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_COMPLETED);
    g_assert_cmpint (count_of (seen, HONE_EVENT_EPOCH), ==, 2);   /* epochs 2 and 3 */
    g_assert_cmpint (count_of (seen, HONE_EVENT_PAUSED), ==, 0);
  }
  g_free (d.good);
  g_free (d.message);
  g_free (d.checkpoint);

  /* resuming after lowering the rate goes on from the next batch */
  g_autofree char *dir2 = run_path ("diverge-resume");
  DivergeState d2 = { 0 };
  d2.checkpoint = file_in (dir2, "checkpoint.safetensors");
  d2.resume = TRUE;
  {
    g_autoptr (HoneTrainer) t = new_trainer (r, dir2);
    HoneFinishReason reason = hone_trainer_run_sync (t, diverge_cb, &d2);
    g_assert_true (d2.paused);
    g_assert_true (d2.resumed_seen);
    g_assert_cmpfloat (hone_trainer_get_lr_scale (t), ==, 1e-6);
    /* stopped after resuming: an ordinary stop, with a checkpoint */
    g_assert_cmpint (reason, ==, HONE_FINISH_STOPPED);
  }
  g_free (d2.good);
  g_free (d2.message);
  g_free (d2.checkpoint);
}

/* ---- progressive unfreezing takes effect after its epoch ---------------- */

typedef struct
{
  char *dir;
  char *after_epoch1;
  GPtrArray *seen;
} CopyState;

static void
copy_first_checkpoint (HoneTrainer *t, const HoneEvent *ev, gpointer data)
{
  CopyState *c = data;
  if (ev->kind == HONE_EVENT_CHECKPOINT && g_strcmp0 (ev->what, "checkpoint") == 0 && !c->after_epoch1)
    {
      g_autofree char *bytes = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (ev->path, &bytes, &len, NULL));
      c->after_epoch1 = file_in (c->dir, "epoch1.safetensors");
      g_assert_true (g_file_set_contents (c->after_epoch1, bytes, (gssize) len, NULL));
    }
  collect (t, ev, c->seen);
}

static void
test_unfreeze (void)
{
  g_autofree char *dir = run_path ("unfreeze");
  g_autoptr (HoneRecipe) r = small_recipe (300, 2);
  set (r, "freeze.mode=head");
  set (r, "layers.unfreeze=1:stage3");
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  CopyState c = { .dir = g_strdup (tmp_root), .seen = seen };
  g_assert_cmpint (hone_trainer_run_sync (t, copy_first_checkpoint, &c), ==, HONE_FINISH_COMPLETED);
  g_assert_nonnull (c.after_epoch1);

  /* the epochs say how much trained: the head (128 x 5 + 5), then also
   * conv5 (128 x 64 x 3 x 3) and bn5 (2 x 128) */
  int e = 0;
  for (guint i = 0; i < seen->len; i++)
    {
      const Seen *s = seen->pdata[i];
      if (s->kind != HONE_EVENT_EPOCH)
        continue;
      e++;
      g_assert_cmpint (s->epoch_info.trainable_params, ==, e == 1 ? 645 : 645 + 73728 + 256);
    }
  g_assert_cmpint (e, ==, 2);

  /* during epoch 1 only the head trained, from epoch 2 stage3 too */
  HoneArchOptions opts;
  hone_arch_options_init (&opts, hone_arch_find ("cnn-s"));
  opts.classes = 5;
  opts.seed = 7;
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &opts, &error);
  g_assert_no_error (error);
  g_autofree char *initial = file_in (tmp_root, "unfreeze-initial.safetensors");
  g_assert_true (hone_graph_save_safetensors (g, initial, NULL, &error));
  g_autofree char *final = file_in (dir, "final.safetensors");
  g_assert_true (same_tensor (initial, c.after_epoch1, "conv5.weight", "param/conv5.weight"));
  g_assert_false (same_tensor (initial, c.after_epoch1, "fc.weight", "param/fc.weight"));
  g_assert_false (same_tensor (c.after_epoch1, final, "param/conv5.weight", "conv5.weight"));
  g_assert_true (same_tensor (initial, final, "conv1.weight", "conv1.weight"));
  g_assert_true (same_tensor (initial, final, "conv4.weight", "conv4.weight"));
  g_free (c.after_epoch1);
  g_free (c.dir);
}

/* ---- head replacement --------------------------------------------------- */

static char *
save_cnn_s (const char *name, int classes, uint64_t seed)
{
  HoneArchOptions opts;
  hone_arch_options_init (&opts, hone_arch_find ("cnn-s"));
  opts.classes = classes;
  opts.seed = seed;
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &opts, &error);
  g_assert_no_error (error);
  char *path = file_in (tmp_root, name);
  g_assert_true (hone_graph_save_safetensors (g, path, NULL, &error));
  g_assert_no_error (error);
  return path;
}

static void
head_run (const char *name, const char *weights, const char *const *extra, gboolean *replaced,
          char **final)
{
  g_autofree char *dir = run_path (name);
  g_autoptr (HoneRecipe) r = small_recipe (100, 1);
  g_autofree char *w = g_strdup_printf ("model.weights=%s", weights);
  set (r, w);
  for (int i = 0; extra[i]; i++)
    set (r, extra[i]);
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_COMPLETED);
  *replaced = ((Seen *) seen->pdata[0])->start.head_replaced;
  *final = file_in (dir, "final.safetensors");
}

static void
test_head (void)
{
  g_autofree char *ten = save_cnn_s ("ten.safetensors", 10, 11);
  g_autofree char *five = save_cnn_s ("five.safetensors", 5, 12);
  gboolean replaced;

  /* 10 classes into a 5-class model: a fresh head, the body loaded */
  g_autofree char *f1 = NULL;
  const char *head_only[] = { "freeze.mode=head", NULL };
  head_run ("head-10", ten, head_only, &replaced, &f1);
  g_assert_true (replaced);
  g_assert_true (same_tensor (ten, f1, "conv1.weight", "conv1.weight"));
  g_assert_true (same_tensor (ten, f1, "bn3.running_var", "bn3.running_var"));
  int64_t n;
  g_autofree float *fc = read_tensor (f1, "fc.weight", &n);
  g_assert_cmpint (n, ==, 5 * 128);

  /* 5 into 5: the head is kept (frozen here, so it stays as loaded) */
  g_autofree char *f2 = NULL;
  const char *keep[] = { "freeze.mode=list", "freeze.list=fc", NULL };
  head_run ("head-5", five, keep, &replaced, &f2);
  g_assert_false (replaced);
  g_assert_true (same_tensor (five, f2, "fc.weight", "fc.weight"));
  g_assert_false (same_tensor (five, f2, "conv1.weight", "conv1.weight"));

  /* unless model.replace_head asks for a fresh one */
  g_autofree char *f3 = NULL;
  const char *fresh[] = { "freeze.mode=list", "freeze.list=fc", "model.replace_head=true", NULL };
  head_run ("head-5-fresh", five, fresh, &replaced, &f3);
  g_assert_true (replaced);
  g_assert_false (same_tensor (five, f3, "fc.weight", "fc.weight"));
}

/* model.source: a run's final.safetensors carries its architecture, input
 * and normalisation, so a second run fine-tunes it with no model.arch; a
 * file without that metadata is refused, naming it. */
static void
test_model_source (void)
{
  g_autofree char *first_dir = run_path ("source-first");
  g_autoptr (HoneRecipe) r1 = small_recipe (200, 1);
  set (r1, "model.input=1x20x20");
  set (r1, "model.mean=0.25");
  set (r1, "model.std=0.5");
  {
    g_autoptr (HoneTrainer) t = new_trainer (r1, first_dir);
    g_assert_cmpint (hone_trainer_run_sync (t, NULL, NULL), ==, HONE_FINISH_COMPLETED);
  }
  g_autofree char *model = file_in (first_dir, "final.safetensors");

  /* fine-tune it on other classes: the body comes from the file, the head is new */
  g_autofree char *dir = run_path ("source-second");
  g_autoptr (HoneRecipe) r = small_recipe (200, 1);
  g_autofree char *src = g_strdup_printf ("model.source=%s", model);
  set (r, src);
  set (r, "data.source=fmnist:0-2");
  set (r, "freeze.mode=head");
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_COMPLETED);
  g_assert_true (((Seen *) seen->pdata[0])->start.head_replaced);
  g_autofree char *final = file_in (dir, "final.safetensors");
  g_assert_true (same_tensor (model, final, "conv1.weight", "conv1.weight"));
  int64_t n;
  g_autofree float *fc = read_tensor (final, "fc.weight", &n);
  g_assert_cmpint (n, ==, 3 * 128);
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneSafetensors) st = hone_safetensors_open (final, &error);
  g_assert_no_error (error);
  GHashTable *md = hone_safetensors_metadata (st);
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.input"), ==, "1x20x20");
  g_assert_cmpstr (g_hash_table_lookup (md, "hone.mean"), ==, "0.25");

  /* bare weights (no hone.* metadata) and other formats are refused */
  g_autofree char *bare = save_cnn_s ("bare.safetensors", 5, 13);
  g_autoptr (HoneRecipe) rb = small_recipe (100, 1);
  g_autofree char *bsrc = g_strdup_printf ("model.source=%s", bare);
  set (rb, bsrc);
  g_autofree char *bdir = run_path ("source-bare");
  g_assert_null (hone_trainer_new (rb, bdir, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, bare));
  g_assert_nonnull (strstr (error->message, "model.weights"));
  g_clear_error (&error);
  /* an ONNX file goes to the importer: a missing one is named */
  set (rb, "model.source=model.onnx");
  g_assert_null (hone_trainer_new (rb, bdir, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "model.onnx"));
}

/* ---- early stopping with restore_best ----------------------------------- */

static void
test_early_stopping (void)
{
  g_autofree char *dir = run_path ("early");
  g_autoptr (HoneRecipe) r = small_recipe (300, 6);
  set (r, "stop.early=true");
  set (r, "stop.metric=val_loss");
  set (r, "stop.patience=1");
  set (r, "stop.min_delta=5");          /* nothing improves by that much after the first */
  set (r, "stop.restore_best=true");
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_EARLY_STOPPED);
  g_assert_cmpint (count_of (seen, HONE_EVENT_EPOCH), ==, 2);
  const Seen *fin = last_of (seen, HONE_EVENT_FINISHED);
  g_assert_nonnull (fin);
  g_assert_nonnull (strstr (fin->message, "early"));

  /* final.safetensors holds the best (epoch 1) weights, not epoch 2's */
  g_autofree char *best = file_in (dir, "best.safetensors");
  g_autofree char *final = file_in (dir, "final.safetensors");
  g_autofree char *checkpoint = file_in (dir, "checkpoint.safetensors");
  assert_same_tensors (best, final);
  g_assert_false (same_tensor (final, checkpoint, "conv1.weight", "param/conv1.weight"));
  g_assert_true (same_tensor (final, checkpoint, "conv1.weight", "best/param/conv1.weight"));

  /* an early-stopped run is complete */
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneTrainer) again = hone_trainer_open (dir, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
}

/* ---- freezing presets, discriminative rates, validation every n steps --- */

static void
stop_at_start (HoneTrainer *t, const HoneEvent *ev, gpointer data)
{
  if (ev->kind == HONE_EVENT_STARTED)
    {
      *(int64_t *) data = ev->start.trainable_params;
      hone_trainer_stop (t);
    }
}

static void
test_freeze_presets (void)
{
  /* cnn-s: stage1 9632 floats, stage2 55552, stage3 73984, head 645 */
  const int64_t total = 139813;
  const struct
  {
    const char *mode;
    const char *more;
    int64_t trainable;
  } cases[] = {
    { "none", NULL, total },
    { "head", NULL, 645 },
    { "last", "freeze.blocks=1", 645 + 73984 },
    { "last", "freeze.blocks=2", 645 + 73984 + 55552 },
    { "first", "freeze.blocks=1", total - 9632 },
    { "first", "freeze.blocks=3", 645 },
    { "list", "freeze.list=stage2,fc", total - 55552 - 645 },
    { "list", "freeze.list=conv1", total - 288 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("freeze-%u", i);
      g_autofree char *dir = run_path (name);
      g_autoptr (HoneRecipe) r = small_recipe (100, 1);
      g_autofree char *mode = g_strdup_printf ("freeze.mode=%s", cases[i].mode);
      set (r, mode);
      if (cases[i].more)
        set (r, cases[i].more);
      g_autoptr (HoneTrainer) t = new_trainer (r, dir);
      int64_t trainable = -1;
      g_assert_cmpint (hone_trainer_run_sync (t, stop_at_start, &trainable), ==, HONE_FINISH_STOPPED);
      g_test_message ("%s %s: %" G_GINT64_FORMAT, cases[i].mode, cases[i].more ? cases[i].more : "",
                      trainable);
      g_assert_cmpint (trainable, ==, cases[i].trainable);
    }
}

/* One SGD step from the same start: each weight moves lr * mult * gradient,
 * so against a run without multipliers the moves scale by mult. */
static char *
one_step (const char *name, const char *decay, const char *mult)
{
  g_autofree char *dir = run_path (name);
  g_autoptr (HoneRecipe) r = small_recipe (40, 1);    /* 32 training images: one batch */
  set (r, "optimizer.name=sgd");
  set (r, "optimizer.momentum=0");
  set (r, "optimizer.weight_decay=0");
  set (r, "optimizer.lr=0.1");
  set (r, decay);
  set (r, mult);
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_COMPLETED);
  g_assert_cmpint (count_of (seen, HONE_EVENT_STEP), ==, 1);
  return file_in (dir, "final.safetensors");
}

static void
assert_moves_scaled (const char *initial, const char *ref, const char *scaled, const char *name,
                     double mult)
{
  int64_t n;
  g_autofree float *w0 = read_tensor (initial, name, &n);
  g_autofree float *a = read_tensor (ref, name, NULL);
  g_autofree float *b = read_tensor (scaled, name, NULL);
  int checked = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double da = (double) a[i] - w0[i], db = (double) b[i] - w0[i];
      if (fabs (da) < 1e-4)
        continue;
      if (fabs (db - mult * da) > 1e-2 * fabs (mult * da) + 1e-6)
        g_error ("%s[%" G_GINT64_FORMAT "] moved %g, expected %g x %g", name, i, db, mult, da);
      checked++;
    }
  g_assert_cmpint (checked, >, 0);
}

static void
test_lr_decay (void)
{
  HoneArchOptions opts;
  hone_arch_options_init (&opts, hone_arch_find ("cnn-s"));
  opts.classes = 5;
  opts.seed = 7;
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &opts, &error);
  g_assert_no_error (error);
  g_autofree char *initial = file_in (tmp_root, "lr-initial.safetensors");
  g_assert_true (hone_graph_save_safetensors (g, initial, NULL, &error));

  g_autofree char *ref = one_step ("lr-ref", "layers.lr_decay=1", "layers.lr_mult=");
  g_autofree char *dec = one_step ("lr-decay", "layers.lr_decay=0.5", "layers.lr_mult=conv5=2,fc=0.5");
  /* head 1 (x 0.5 for fc), stage3 0.5 (x 2 for conv5), stage2 0.25, stage1 0.125 */
  assert_moves_scaled (initial, ref, dec, "fc.weight", 0.5);
  assert_moves_scaled (initial, ref, dec, "conv5.weight", 1.0);
  assert_moves_scaled (initial, ref, dec, "bn5.weight", 0.5);
  assert_moves_scaled (initial, ref, dec, "conv3.weight", 0.25);
  assert_moves_scaled (initial, ref, dec, "conv1.weight", 0.125);
}

static void
test_val_every (void)
{
  g_autofree char *dir = run_path ("val-every");
  g_autoptr (HoneRecipe) r = small_recipe (300, 1);   /* 240 images: 8 batches */
  set (r, "freeze.mode=head");
  set (r, "train.val_every=3");
  g_autoptr (HoneTrainer) t = new_trainer (r, dir);
  g_autoptr (GPtrArray) seen = seen_array ();
  g_assert_cmpint (run_collect (t, seen), ==, HONE_FINISH_COMPLETED);
  /* after steps 3 and 6, and at the end of the epoch (step 8) */
  int64_t at[3];
  int n = 0;
  for (guint i = 0; i < seen->len; i++)
    if (((Seen *) seen->pdata[i])->kind == HONE_EVENT_VALIDATION)
      {
        g_assert_cmpint (n, <, 3);
        at[n++] = ((Seen *) seen->pdata[i])->step;
      }
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpint (at[0], ==, 3);
  g_assert_cmpint (at[1], ==, 6);
  g_assert_cmpint (at[2], ==, 8);
}

/* ---- errors a user can cause -------------------------------------------- */

static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = run_path ("errors");

  g_autoptr (HoneRecipe) r = small_recipe (100, 1);
  set (r, "freeze.mode=last");
  set (r, "freeze.blocks=9");
  HoneTrainer *t = hone_trainer_new (r, dir, &error);
  g_assert_null (t);
  g_assert_error (error, HONE_ERROR, HONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "freeze.blocks"));
  g_assert_nonnull (strstr (error->message, "stage3"));
  g_clear_error (&error);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));   /* nothing made for a refused run */

  g_autoptr (HoneRecipe) r2 = small_recipe (100, 1);
  set (r2, "layers.lr_mult=nosuchlayer=2");
  t = hone_trainer_new (r2, dir, &error);
  g_assert_null (t);
  g_assert_nonnull (strstr (error->message, "nosuchlayer"));
  g_clear_error (&error);

  g_autoptr (HoneRecipe) r3 = small_recipe (100, 1);
  set (r3, "model.weights=/nonexistent/w.safetensors");
  t = hone_trainer_new (r3, dir, &error);
  g_assert_null (t);
  g_assert_nonnull (strstr (error->message, "/nonexistent/w.safetensors"));
  g_clear_error (&error);

  /* no checkpoint to continue from */
  t = hone_trainer_open (tmp_root, NULL, &error);
  g_assert_null (t);
  g_assert_nonnull (strstr (error->message, "checkpoint"));
  g_clear_error (&error);

  /* a folder that holds a run is not overwritten */
  g_autofree char *learns = run_path ("errors-held");
  g_autoptr (HoneRecipe) r4 = small_recipe (100, 1);
  set (r4, "freeze.mode=head");
  HoneTrainer *first = new_trainer (r4, learns);
  hone_trainer_free (first);
  t = hone_trainer_new (r4, learns, &error);
  g_assert_null (t);
  g_assert_nonnull (strstr (error->message, "already holds a run"));
}

/* ---- evaluation against an independent computation ---------------------- */

static void
test_evaluate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HoneDataset) ds = hone_dataset_open ("fmnist-test:5-9", &error);
  g_assert_no_error (error);
  HoneArchOptions opts;
  hone_arch_options_init (&opts, hone_arch_find ("cnn-s"));
  opts.classes = 5;
  opts.seed = 3;
  g_autoptr (HoneGraph) g = hone_arch_build ("cnn-s", &opts, &error);
  g_assert_no_error (error);
  const int batch = 16, n = 150;
  g_assert_true (hone_graph_plan (g, batch, FALSE, &error));
  int idx[150];
  for (int i = 0; i < n; i++)
    idx[i] = i * 7;
  HoneLoaderConfig lc = { 0 };
  lc.format.channels = 1;
  lc.format.height = 28;
  lc.format.width = 28;
  hone_default_normalization (1, lc.format.mean, lc.format.std);
  lc.sampling = HONE_SAMPLING_SEQUENTIAL;
  lc.batch = batch;
  lc.threads = 1;
  lc.prefetch = 2;
  g_autoptr (HoneLoader) loader = hone_loader_new (ds, idx, n, &lc, &error);
  g_assert_no_error (error);
  g_autoptr (HoneEvaluation) ev = hone_evaluate (g, loader, ds, &lc.format, 20, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ev->n_samples, ==, n);

  /* the same numbers, one sample at a time through the loss module */
  float *x = hone_graph_input_data (g, hone_graph_input (g, 0));
  double loss_sum = 0.0;
  int64_t confusion[25] = { 0 };
  for (int i = 0; i < n; i++)
    {
      g_assert_true (hone_dataset_load (ds, idx[i], 1, 28, 28, x, &error));
      for (int p = 0; p < 28 * 28; p++)
        x[p] = (x[p] - lc.format.mean[0]) / lc.format.std[0];
      g_assert_true (hone_graph_forward (g, 1, FALSE, &error));
      const float *logits = hone_graph_tensor (g, hone_graph_output (g, 0)).data;
      int32_t y = hone_dataset_label (ds, idx[i]);
      HoneLoss loss;
      hone_loss_init (&loss);
      double v;
      g_assert_true (hone_loss_compute (&loss, &v, NULL, logits, &y, NULL, 1, 5, 1.0f, &error));
      loss_sum += v;
      int pred = 0;
      for (int c = 1; c < 5; c++)
        if (logits[c] > logits[pred])
          pred = c;
      confusion[y * 5 + pred]++;
    }
  g_assert_cmpfloat (fabs (ev->loss - loss_sum / n), <, 1e-4);
  int64_t correct = 0;
  for (int k = 0; k < 25; k++)
    g_assert_cmpint (ev->confusion[k], ==, confusion[k]);
  for (int c = 0; c < 5; c++)
    {
      correct += confusion[c * 6];
      int64_t col = 0, row = 0;
      for (int j = 0; j < 5; j++)
        {
          col += confusion[j * 5 + c];
          row += confusion[c * 5 + j];
        }
      g_assert_cmpint (ev->support[c], ==, row);
      double p = col ? (double) confusion[c * 6] / col : 0.0;
      double rc = row ? (double) confusion[c * 6] / row : 0.0;
      g_assert_cmpfloat (fabs (ev->precision[c] - p), <, 1e-12);
      g_assert_cmpfloat (fabs (ev->recall[c] - rc), <, 1e-12);
      g_assert_cmpfloat (fabs (ev->f1[c] - (p + rc > 0 ? 2 * p * rc / (p + rc) : 0)), <, 1e-12);
    }
  g_assert_cmpfloat (ev->accuracy, ==, (double) correct / n);

  /* the lists: sorted by loss, misclassified ones wrong, thumbnails made */
  g_assert_cmpint (ev->n_worst, ==, HONE_EVAL_MAX_SAMPLES);
  g_assert_cmpint (ev->n_misclassified, ==, MIN (HONE_EVAL_MAX_SAMPLES, n - correct));
  for (int i = 0; i < ev->n_worst; i++)
    {
      const HoneEvalSample *s = &ev->worst[i];
      if (i > 0)
        g_assert_cmpfloat (s->loss, <=, ev->worst[i - 1].loss);
      double psum = 0.0;
      for (int c = 0; c < 5; c++)
        psum += s->probs[c];
      g_assert_cmpfloat (fabs (psum - 1.0), <, 1e-5);
      g_assert_cmpfloat (fabs (s->loss + log (s->probs[s->label])), <, 1e-4);
      g_assert_cmpint (s->thumb_channels, ==, 1);
      g_assert_cmpint (s->thumb_height, ==, 14);   /* 28 px halved to fit 20 */
      g_assert_cmpint (s->thumb_width, ==, 14);
      g_assert_nonnull (s->thumb);
      g_assert_cmpstr (s->name, ==, hone_dataset_sample_name (ds, s->sample));
      g_assert_cmpint (s->label, ==, hone_dataset_label (ds, s->sample));
    }
  /* the worst sample's loss is the largest of all */
  for (int i = 0; i < ev->n_misclassified; i++)
    g_assert_cmpint (ev->misclassified[i].predicted, !=, ev->misclassified[i].label);

  g_autoptr (HoneEvaluation) copy = hone_evaluation_copy (ev);
  g_autoptr (JsonNode) a = hone_evaluation_to_json (ev);
  g_autoptr (JsonNode) b = hone_evaluation_to_json (copy);
  g_assert_true (json_node_equal (a, b));
  JsonObject *o = json_node_get_object (a);
  g_assert_true (json_object_has_member (o, "accuracy"));
  g_assert_true (json_object_has_member (o, "confusion"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_root = g_dir_make_tmp ("hone-trainer-XXXXXX", NULL);
  g_assert_nonnull (tmp_root);
  g_test_add_func ("/engine/trainer/learns", test_learns);
  g_test_add_func ("/engine/trainer/onnx-warning", test_onnx_warning);
  g_test_add_func ("/engine/trainer/queue", test_queue);
  g_test_add_func ("/engine/trainer/commands", test_commands);
  g_test_add_func ("/engine/trainer/cancel", test_cancel);
  g_test_add_func ("/engine/trainer/resume-exact", test_resume_exact);
  g_test_add_func ("/engine/trainer/diverge", test_diverge);
  g_test_add_func ("/engine/trainer/unfreeze", test_unfreeze);
  g_test_add_func ("/engine/trainer/head", test_head);
  g_test_add_func ("/engine/trainer/model-source", test_model_source);
  g_test_add_func ("/engine/trainer/early-stopping", test_early_stopping);
  g_test_add_func ("/engine/trainer/freeze-presets", test_freeze_presets);
  g_test_add_func ("/engine/trainer/lr-decay", test_lr_decay);
  g_test_add_func ("/engine/trainer/val-every", test_val_every);
  g_test_add_func ("/engine/trainer/errors", test_errors);
  g_test_add_func ("/engine/trainer/evaluate", test_evaluate);
  int status = g_test_run ();
  hone_test_remove_tree (tmp_root);
  g_free (tmp_root);
  return status;
}
