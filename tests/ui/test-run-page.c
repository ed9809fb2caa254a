/* test-run-page.c: the Run page fed by a real training run (cnn-s on a few
 * hundred Fashion-MNIST images, on the trainer's thread, its events drained
 * on the main loop as HoneSession does), then by the run's metrics.jsonl;
 * messages and the divergence row; errors loading a log. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "hone-run-page.h"
#include "hone-trainer.h"
#include "hone-chart-test-util.h"

#define EPOCHS 3

static const GdkRGBA train_light = { 0x00 / 255., 0x72 / 255., 0xB2 / 255., 1 };
static const GdkRGBA val_light = { 0xD5 / 255., 0x5E / 255., 0x00 / 255., 1 };

typedef struct
{
  HoneRunPage *page;
  HoneTrainer *trainer;
  int n_steps;
  int n_epochs;
  double val_loss[EPOCHS];
  double val_accuracy[EPOCHS];
  gboolean finished;
  HoneFinishReason reason;
} Run;

/* What HoneSession does: drain the queue on a timer, on the main thread. */
static gboolean
drain (gpointer data)
{
  Run *run = data;
  HoneEvent *ev;
  while ((ev = hone_trainer_pop_event (run->trainer)))
    {
      hone_run_page_push_event (run->page, ev);
      if (ev->kind == HONE_EVENT_STEP)
        run->n_steps++;
      else if (ev->kind == HONE_EVENT_EPOCH)
        {
          g_assert_cmpint (run->n_epochs, <, EPOCHS);
          run->val_loss[run->n_epochs] = ev->epoch_info.val_loss;
          run->val_accuracy[run->n_epochs] = ev->epoch_info.val_accuracy;
          run->n_epochs++;
        }
      else if (ev->kind == HONE_EVENT_FINISHED)
        {
          run->finished = TRUE;
          run->reason = ev->reason;
        }
      hone_event_free (ev);
    }
  return run->finished ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static int
count_pixels (cairo_surface_t *surface, const graphene_rect_t *area, const GdkRGBA *color)
{
  int n = 0;
  for (int y = (int) area->origin.y; y < area->origin.y + area->size.height; y++)
    for (int x = (int) area->origin.x; x < area->origin.x + area->size.width; x++)
      {
        GdkRGBA px;
        hone_chart_test_pixel (surface, x, y, &px);
        n += px.alpha > 0.9 && hone_chart_test_color_distance (&px, color) < 0.08;
      }
  return n;
}

static void
check_series (HoneLineChart *chart, guint s, guint n)
{
  g_assert_cmpuint (hone_line_chart_get_n_series (chart), >, s);
  g_assert_cmpuint (hone_series_get_n_points (hone_line_chart_get_series (chart, s)), ==, n);
}

static int
count_lines (const char *path, const char *needle)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  int n = 0;
  for (const char *p = text; (p = strstr (p, needle)); p++)
    n++;
  return n;
}

static void
test_empty (void)
{
  HoneRunPage *page = hone_run_page_new ();
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (page), 1000, 700);
  HoneLineChart *loss = hone_run_page_get_chart (page, HONE_RUN_CHART_LOSS);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (loss)));
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 0);
  hone_chart_test_screenshot ("run-empty");
  gtk_window_destroy (window);
}

static void
test_live_run (void)
{
  hone_chart_test_set_dark (FALSE);
  g_autofree char *tmp = hone_test_make_tmp_dir ("hone-ui-test-XXXXXX");
  g_autofree char *run_dir = g_build_filename (tmp, "run", NULL);
  g_autoptr (HoneRecipe) recipe = hone_chart_test_tiny_recipe (400, EPOCHS);
  g_autoptr (GError) error = NULL;
  HoneTrainer *trainer = hone_trainer_new (recipe, run_dir, &error);
  g_assert_no_error (error);

  HoneRunPage *page = hone_run_page_new ();
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (page), 1280, 800);
  gtk_window_maximize (window);
  Run run = { .page = page, .trainer = trainer };
  g_assert_true (hone_trainer_start (trainer, &error));
  g_timeout_add (33, drain, &run);
  gint64 end = g_get_monotonic_time () + 90 * G_USEC_PER_SEC;
  while (!run.finished && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (run.finished);
  g_assert_cmpint (run.reason, ==, HONE_FINISH_COMPLETED);
  hone_trainer_join (trainer);

  /* every event shown: a train point per STEP event, a validation point per epoch */
  g_assert_cmpint (run.n_epochs, ==, EPOCHS);
  g_assert_cmpint (run.n_steps, >, EPOCHS);
  HoneLineChart *loss = hone_run_page_get_chart (page, HONE_RUN_CHART_LOSS);
  HoneLineChart *accuracy = hone_run_page_get_chart (page, HONE_RUN_CHART_ACCURACY);
  HoneLineChart *lr = hone_run_page_get_chart (page, HONE_RUN_CHART_LEARNING_RATE);
  HoneLineChart *speed = hone_run_page_get_chart (page, HONE_RUN_CHART_SPEED);
  check_series (loss, 0, run.n_steps);
  check_series (loss, 1, EPOCHS);
  check_series (accuracy, 0, run.n_steps);
  check_series (accuracy, 1, EPOCHS);
  check_series (lr, 0, run.n_steps);
  g_assert_cmpuint (hone_series_get_n_points (hone_line_chart_get_series (speed, 0)), >, 0);
  HoneSeries *val = hone_line_chart_get_series (loss, 1);
  for (int e = 0; e < EPOCHS; e++)
    {
      g_assert_cmpfloat (hone_series_get_x (val, e), ==, e + 1);
      g_assert_cmpfloat (hone_series_get_y (val, e), ==, run.val_loss[e]);
      g_assert_cmpfloat (hone_series_get_y (hone_line_chart_get_series (accuracy, 1), e), ==,
                         run.val_accuracy[e]);
    }
  /* steps lie on the epoch axis, in order, within the run */
  HoneSeries *train = hone_line_chart_get_series (loss, 0);
  for (guint i = 1; i < hone_series_get_n_points (train); i++)
    g_assert_cmpfloat (hone_series_get_x (train, i), >=, hone_series_get_x (train, i - 1));
  g_assert_cmpfloat (hone_series_get_x (train, hone_series_get_n_points (train) - 1), ==, EPOCHS);
  g_assert_cmpfloat (hone_run_page_get_progress (page), ==, 1);
  /* the cosine schedule falls */
  HoneSeries *lrs = hone_line_chart_get_series (lr, 0);
  g_assert_cmpfloat (hone_series_get_y (lrs, hone_series_get_n_points (lrs) - 1), <,
                     hone_series_get_y (lrs, 0));

  /* the curves are drawn: training and validation colours in the loss chart */
  cairo_surface_t *surface = hone_chart_test_render (GTK_WIDGET (loss));
  graphene_rect_t plot;
  g_assert_true (hone_line_chart_get_plot_area (loss, &plot));
  g_assert_cmpint (count_pixels (surface, &plot, &train_light), >, 200);
  g_assert_cmpint (count_pixels (surface, &plot, &val_light), >, 30);
  cairo_surface_destroy (surface);
  hone_chart_test_screenshot ("run-light");

  /* hovering the loss chart reads out both curves at an epoch's end */
  GtkEventController *motion = NULL;
  GListModel *controllers = gtk_widget_observe_controllers (GTK_WIDGET (loss));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_EVENT_CONTROLLER_MOTION (c))
        motion = GTK_EVENT_CONTROLLER (c);
    }
  g_object_unref (controllers);
  double hx, hy;
  hone_line_chart_data_to_widget (loss, 2, run.val_loss[1], &hx, &hy);
  g_signal_emit_by_name (motion, "motion", hx, hy);
  g_autofree char *readout = hone_line_chart_dup_readout (loss);
  g_assert_nonnull (readout);
  g_assert_true (g_str_has_prefix (readout, "epoch 2\nTraining  "));
  g_autofree char *val_line = g_strdup_printf ("\nValidation  %.4g", run.val_loss[1]);
  g_assert_nonnull (strstr (readout, val_line));
  hone_chart_test_wait_frames (GTK_WIDGET (loss), 3);
  hone_chart_test_screenshot ("run-hover");
  g_signal_emit_by_name (motion, "leave");
  hone_chart_test_set_dark (TRUE);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 3);
  hone_chart_test_screenshot ("run-dark");
  hone_chart_test_set_dark (FALSE);

  /* the same run from its log: every step (none coalesced) and epoch */
  g_autofree char *metrics = g_build_filename (run_dir, "metrics.jsonl", NULL);
  int steps_logged = count_lines (metrics, "\"event\":\"step\"");
  g_assert_cmpint (steps_logged, >=, run.n_steps);
  g_assert_true (hone_run_page_load_metrics (page, metrics, &error));
  g_assert_no_error (error);
  check_series (loss, 0, steps_logged);
  check_series (loss, 1, EPOCHS);
  check_series (lr, 0, steps_logged);
  for (int e = 0; e < EPOCHS; e++)
    g_assert_cmpfloat_with_epsilon (hone_series_get_y (val, e), run.val_loss[e], 1e-9 * run.val_loss[e]);
  g_assert_cmpfloat (hone_run_page_get_progress (page), ==, 1);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (loss)));

  hone_run_page_reset (page);
  check_series (loss, 0, 0);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 2);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (loss)));

  gtk_window_destroy (window);
  hone_trainer_free (trainer);
  hone_test_remove_tree (tmp);
}

static GtkWidget *
find_suggested_button (GtkWidget *widget)
{
  if (GTK_IS_BUTTON (widget) && gtk_widget_has_css_class (widget, "suggested-action"))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_suggested_button (c);
      if (found)
        return found;
    }
  return NULL;
}

static void
on_use_lr (HoneRunPage *page, double lr, double *got)
{
  *got = lr;
}

static void
test_messages (void)
{
  HoneRunPage *page = hone_run_page_new ();
  GtkWindow *window = hone_chart_test_window (GTK_WIDGET (page), 1280, 800);
  double got = 0;
  g_signal_connect (page, "use-suggested-lr", G_CALLBACK (on_use_lr), &got);

  HoneEvent started = { .kind = HONE_EVENT_STARTED, .epoch = 1, .n_epochs = 4 };
  started.start.batches_per_epoch = 10;
  hone_run_page_push_event (page, &started);
  for (int b = 1; b <= 10; b++)
    {
      HoneEvent step = { .kind = HONE_EVENT_STEP, .epoch = 1, .n_epochs = 4, .elapsed = b * 0.5 };
      step.train = (HoneStepInfo) { .batch = b, .n_batches = 10, .loss = 2.0 / b, .accuracy = 0.1 * b,
                                    .lr = 0.1, .images_per_s = 400 };
      hone_run_page_push_event (page, &step);
    }
  g_assert_cmpfloat_with_epsilon (hone_run_page_get_progress (page), 0.25, 1e-12);

  HoneEvent warning = { .kind = HONE_EVENT_WARNING, .epoch = 2, .n_epochs = 4,
                        .message = (char *) "photos/cat7.jpg cannot be decoded; skipped",
                        .path = (char *) "photos/cat7.jpg" };
  hone_run_page_push_event (page, &warning);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 1);

  HoneEvent paused = { .kind = HONE_EVENT_PAUSED, .epoch = 2, .n_epochs = 4, .diverged = TRUE,
                       .lr = 0.1, .suggested_lr = 0.01, .loss = NAN,
                       .message = (char *) "the loss became NaN" };
  hone_run_page_push_event (page, &paused);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 2);
  hone_chart_test_wait_frames (GTK_WIDGET (window), 3);
  hone_chart_test_screenshot ("run-diverged");
  GtkWidget *button = find_suggested_button (GTK_WIDGET (page));
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpfloat (got, ==, 0.01);

  /* a second divergence replaces the first row */
  hone_run_page_push_event (page, &paused);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 2);
  HoneEvent resumed = { .kind = HONE_EVENT_RESUMED, .epoch = 2, .n_epochs = 4 };
  hone_run_page_push_event (page, &resumed);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 1);
  g_assert_null (find_suggested_button (GTK_WIDGET (page)));

  /* a flood of warnings keeps the newest 30 */
  for (int i = 0; i < 40; i++)
    hone_run_page_push_event (page, &warning);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 30);

  HoneEvent error_ev = { .kind = HONE_EVENT_ERROR, .epoch = 2, .n_epochs = 4,
                         .message = (char *) "cannot write checkpoint.safetensors: disk full" };
  hone_run_page_push_event (page, &error_ev);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 30);

  hone_run_page_reset (page);
  g_assert_cmpuint (hone_run_page_get_n_messages (page), ==, 0);
  g_assert_cmpfloat (hone_run_page_get_progress (page), ==, 0);
  gtk_window_destroy (window);
}

static void
test_load_errors (void)
{
  HoneRunPage *page = g_object_ref_sink (hone_run_page_new ());
  g_autofree char *tmp = hone_test_make_tmp_dir ("hone-ui-test-XXXXXX");
  g_autoptr (GError) error = NULL;

  g_autofree char *missing = g_build_filename (tmp, "missing.jsonl", NULL);
  g_assert_false (hone_run_page_load_metrics (page, missing, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  const char *step = "{\"event\":\"step\",\"epoch\":1,\"epochs\":2,\"step\":1,\"elapsed\":0.5,"
                     "\"batch\":1,\"batches\":4,\"loss\":1.5,\"accuracy\":0.25,\"lr\":0.01,"
                     "\"images_per_s\":300}\n";
  g_autofree char *bad = g_build_filename (tmp, "bad.jsonl", NULL);
  g_autofree char *bad_text = g_strconcat (step, "this is not json\n", step, NULL);
  g_assert_true (g_file_set_contents (bad, bad_text, -1, NULL));
  g_assert_false (hone_run_page_load_metrics (page, bad, &error));
  g_assert_error (error, HONE_ERROR, HONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "line 2"));
  g_clear_error (&error);

  /* a last line cut short is skipped; unknown kinds and members are ignored */
  g_autofree char *cut = g_build_filename (tmp, "cut.jsonl", NULL);
  g_autofree char *cut_text = g_strconcat ("{\"event\":\"future-kind\",\"epoch\":1}\n", step, step,
                                           "{\"event\":\"ep", NULL);
  g_assert_true (g_file_set_contents (cut, cut_text, -1, NULL));
  g_assert_true (hone_run_page_load_metrics (page, cut, &error));
  g_assert_no_error (error);
  HoneLineChart *loss = hone_run_page_get_chart (page, HONE_RUN_CHART_LOSS);
  check_series (loss, 0, 2);
  g_assert_cmpfloat (hone_series_get_y (hone_line_chart_get_series (loss, 0), 0), ==, 1.5);
  g_assert_cmpfloat (hone_series_get_x (hone_line_chart_get_series (loss, 0), 0), ==, 0.25);

  g_object_unref (page);
  hone_test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  hone_chart_test_init (&argc, &argv);
  g_test_add_func ("/ui/run-page/empty", test_empty);
  g_test_add_func ("/ui/run-page/live-run", test_live_run);
  g_test_add_func ("/ui/run-page/messages", test_messages);
  g_test_add_func ("/ui/run-page/load-errors", test_load_errors);
  return g_test_run ();
}
