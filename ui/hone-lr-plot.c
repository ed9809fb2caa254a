/* hone-lr-plot.c: the learning-rate plot of the Training page.
 *
 * The schedule is sampled (at most MAX_SAMPLES points, always including
 * the steps where the warmup ends and where groups unfreeze, so that steps
 * and corners stay sharp) when it is set; labels are laid out then too, so
 * snapshot allocates nothing.  Hover shows the epoch and each group's lr.
 *
 * This file does not know recipes or graphs: the page passes the schedule
 * (hone_recipe_schedule) and the groups. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hone-bar-chart.h"
#include "hone-lr-plot.h"

#define MAX_SAMPLES 1200
#define MAX_GROUPS  8
#define MAX_XTICKS  12
#define N_YTICKS    3
#define M_LEFT      64.0
#define M_RIGHT     16.0
#define M_TOP       14.0
#define M_BOTTOM    40.0

typedef struct
{
  char *label;
  double lr_mult;
  int start_epoch;
  PangoLayout *layout;
} Group;

struct _HoneLrPlot
{
  GtkWidget parent_instance;

  HoneSchedule schedule;
  gboolean has_schedule;
  int epochs;
  int64_t steps_per_epoch;
  int64_t total_steps;
  int n_samples;
  int64_t *steps;             /* (MAX_SAMPLES) */
  double *lr;                 /* (MAX_SAMPLES) base lr at steps[i] */
  double peak;
  Group groups[MAX_GROUPS];
  int n_groups;

  PangoLayout *xticks[MAX_XTICKS];
  int xtick_epoch[MAX_XTICKS];
  int n_xticks;
  PangoLayout *yticks[N_YTICKS];
  PangoLayout *xtitle;
  PangoLayout *warmup_label;
  PangoLayout *unfreeze_label;
  PangoLayout *message;
  PangoLayout *hover_layout;
  double hover_x;             /* < 0: none */
  double legend_x[MAX_GROUPS];/* legend entries under the axis, flowed to the width */
  double legend_y[MAX_GROUPS];
  double legend_h;
};

G_DEFINE_FINAL_TYPE (HoneLrPlot, hone_lr_plot, GTK_TYPE_WIDGET)

static void
clear_layouts (HoneLrPlot *self)
{
  for (int i = 0; i < MAX_XTICKS; i++)
    g_clear_object (&self->xticks[i]);
  for (int i = 0; i < N_YTICKS; i++)
    g_clear_object (&self->yticks[i]);
  for (int i = 0; i < self->n_groups; i++)
    g_clear_object (&self->groups[i].layout);
  g_clear_object (&self->xtitle);
  g_clear_object (&self->warmup_label);
  g_clear_object (&self->unfreeze_label);
}

static void
clear_groups (HoneLrPlot *self)
{
  for (int i = 0; i < self->n_groups; i++)
    {
      g_clear_object (&self->groups[i].layout);
      g_clear_pointer (&self->groups[i].label, g_free);
    }
  self->n_groups = 0;
}

static char *
format_lr (double lr)
{
  if (lr == 0)
    return g_strdup ("0");
  return g_strdup_printf ("%.2g", lr);
}

/* Flows the legend entries in rows under the x axis title. */
static void
fit_legend (HoneLrPlot *self, int width)
{
  double x = M_LEFT, y = 0, row_h = 0;
  self->legend_h = 0;
  for (int i = 0; i < self->n_groups; i++)
    {
      if (!self->groups[i].layout)
        continue;
      int lw, lh;
      pango_layout_get_pixel_size (self->groups[i].layout, &lw, &lh);
      double entry = 18 + lw + 16;
      if (x > M_LEFT && x + entry > width - M_RIGHT)
        {
          x = M_LEFT;
          y += row_h + 2;
        }
      self->legend_x[i] = x + 18;
      self->legend_y[i] = y;
      x += entry;
      row_h = MAX (row_h, lh);
      self->legend_h = y + row_h + 6;
    }
}

static void
make_layouts (HoneLrPlot *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  clear_layouts (self);
  self->n_xticks = 0;
  if (self->has_schedule)
    {
      int every = 1;
      while (self->epochs / every > MAX_XTICKS - 2)
        every = every < 5 ? every + 1 : every * 2;
      for (int e = 0; e <= self->epochs && self->n_xticks < MAX_XTICKS; e += every)
        {
          g_autofree char *t = g_strdup_printf ("%d", e);
          self->xtick_epoch[self->n_xticks] = e;
          self->xticks[self->n_xticks++] = gtk_widget_create_pango_layout (w, t);
        }
      for (int i = 0; i < N_YTICKS; i++)
        {
          g_autofree char *t = format_lr (self->peak * i / (N_YTICKS - 1));
          self->yticks[i] = gtk_widget_create_pango_layout (w, t);
        }
      for (int i = 0; i < self->n_groups; i++)
        {
          const Group *g = &self->groups[i];
          g_autofree char *t = NULL;
          if (g->start_epoch < 0)
            /* Translators: a legend entry of blocks that never train */
            t = g_strdup_printf (_("%s: frozen"), g->label);
          else
            t = g_strdup_printf ("%s  × %.3g", g->label, g->lr_mult);
          self->groups[i].layout = gtk_widget_create_pango_layout (w, t);
        }
    }
  self->xtitle = gtk_widget_create_pango_layout (w, _("epoch"));
  self->warmup_label = gtk_widget_create_pango_layout (w, _("warmup"));
  self->unfreeze_label = gtk_widget_create_pango_layout (w, _("unfreeze"));
  PangoAttrList *small = pango_attr_list_new ();
  pango_attr_list_insert (small, pango_attr_scale_new (0.85));
  pango_layout_set_attributes (self->warmup_label, small);
  pango_layout_set_attributes (self->unfreeze_label, small);
  pango_attr_list_unref (small);
  if (!self->message)
    self->message = gtk_widget_create_pango_layout (w, "");
  if (!self->hover_layout)
    self->hover_layout = gtk_widget_create_pango_layout (w, "");
  fit_legend (self, gtk_widget_get_width (w));
}

double
hone_lr_plot_x_for_step (HoneLrPlot *self, double step)
{
  g_return_val_if_fail (HONE_IS_LR_PLOT (self), 0);
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double total = MAX ((double) self->total_steps, 1.0);
  return M_LEFT + (width - M_LEFT - M_RIGHT) * step / total;
}

double
hone_lr_plot_y_for_lr (HoneLrPlot *self, double lr)
{
  g_return_val_if_fail (HONE_IS_LR_PLOT (self), 0);
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  double peak = self->peak > 0 ? self->peak : 1.0;
  double plot_h = height - M_TOP - M_BOTTOM - self->legend_h;
  /* 8 % headroom above the peak */
  return M_TOP + plot_h * (1.0 - lr / (peak * 1.08));
}

static void
draw (HoneLrPlot *self, cairo_t *cr, double width, double height)
{
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &fg);
  int lw, lh;

  if (!self->has_schedule)
    {
      pango_layout_get_pixel_size (self->message, &lw, &lh);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      cairo_move_to (cr, (width - lw) / 2, (height - lh) / 2);
      pango_cairo_show_layout (cr, self->message);
      return;
    }

  double x0 = M_LEFT, x1 = width - M_RIGHT;
  double y0 = M_TOP, y1 = height - M_BOTTOM - self->legend_h;

  /* warmup */
  if (self->schedule.warmup != HONE_WARMUP_NONE && self->schedule.warmup_steps > 0)
    {
      double xw = hone_lr_plot_x_for_step (self, (double) self->schedule.warmup_steps);
      cairo_set_source_rgba (cr, 0.95, 0.6, 0.1, 0.16);
      cairo_rectangle (cr, x0, y0, xw - x0, y1 - y0);
      cairo_fill (cr);
      pango_layout_get_pixel_size (self->warmup_label, &lw, &lh);
      if (lw < xw - x0 + 40)
        {
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.65);
          cairo_move_to (cr, x0 + 4, y1 - lh - 2);
          pango_cairo_show_layout (cr, self->warmup_label);
        }
    }

  /* grid and axes */
  cairo_set_line_width (cr, 1);
  for (int i = 0; i < N_YTICKS; i++)
    {
      double y = round (hone_lr_plot_y_for_lr (self, self->peak * i / (N_YTICKS - 1))) + 0.5;
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, i == 0 ? 0.4 : 0.12);
      cairo_move_to (cr, x0, y);
      cairo_line_to (cr, x1, y);
      cairo_stroke (cr);
      pango_layout_get_pixel_size (self->yticks[i], &lw, &lh);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      cairo_move_to (cr, x0 - lw - 6, y - lh / 2.0);
      pango_cairo_show_layout (cr, self->yticks[i]);
    }
  for (int i = 0; i < self->n_xticks; i++)
    {
      double x = round (hone_lr_plot_x_for_step (self, (double) self->xtick_epoch[i] * self->steps_per_epoch)) + 0.5;
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.4);
      cairo_move_to (cr, x, y1);
      cairo_line_to (cr, x, y1 + 4);
      cairo_stroke (cr);
      pango_layout_get_pixel_size (self->xticks[i], &lw, &lh);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      cairo_move_to (cr, x - lw / 2.0, y1 + 5);
      pango_cairo_show_layout (cr, self->xticks[i]);
    }
  pango_layout_get_pixel_size (self->xtitle, &lw, &lh);
  cairo_move_to (cr, (x0 + x1 - lw) / 2, y1 + M_BOTTOM - lh - 4);
  pango_cairo_show_layout (cr, self->xtitle);

  /* unfreeze marks */
  static const double dash[] = { 4, 4 };
  for (int g = 0; g < self->n_groups; g++)
    if (self->groups[g].start_epoch > 0 && self->groups[g].start_epoch < self->epochs)
      {
        double x = round (hone_lr_plot_x_for_step (self, (double) self->groups[g].start_epoch
                                                          * self->steps_per_epoch)) + 0.5;
        GdkRGBA c;
        hone_class_color (g, &c);
        cairo_set_source_rgba (cr, c.red, c.green, c.blue, 0.9);
        cairo_set_dash (cr, dash, 2, 0);
        cairo_move_to (cr, x, y0);
        cairo_line_to (cr, x, y1);
        cairo_stroke (cr);
        cairo_set_dash (cr, NULL, 0, 0);
        cairo_move_to (cr, x + 3, y0);
        pango_cairo_show_layout (cr, self->unfreeze_label);
      }

  /* the lines */
  cairo_set_line_width (cr, 2.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (int g = 0; g < self->n_groups; g++)
    {
      const Group *grp = &self->groups[g];
      if (grp->start_epoch < 0)
        continue;
      int64_t start = (int64_t) grp->start_epoch * self->steps_per_epoch;
      GdkRGBA c;
      hone_class_color (g, &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, 1.0);
      /* piecewise-constant schedules are drawn as steps (the lr of update
       * t holds until t + 1), smooth ones and warmups as lines */
      HoneScheduleKind kind = self->schedule.kind;
      gboolean steps = kind == HONE_SCHEDULE_CONSTANT || kind == HONE_SCHEDULE_STEP
                       || kind == HONE_SCHEDULE_MULTI_STEP || kind == HONE_SCHEDULE_PLATEAU;
      int64_t warm = self->schedule.warmup != HONE_WARMUP_NONE ? self->schedule.warmup_steps : 0;
      gboolean first = TRUE;
      for (int i = 0; i < self->n_samples; i++)
        {
          if (self->steps[i] < start)
            continue;
          double xa = hone_lr_plot_x_for_step (self, (double) self->steps[i]);
          double y = hone_lr_plot_y_for_lr (self, self->lr[i] * grp->lr_mult);
          if (first)
            cairo_move_to (cr, xa, y);
          else
            cairo_line_to (cr, xa, y);
          first = FALSE;
          if ((steps && self->steps[i] >= warm) || i + 1 == self->n_samples)
            {
              double xb = hone_lr_plot_x_for_step (self, i + 1 < self->n_samples ? (double) self->steps[i + 1]
                                                                               : (double) self->total_steps);
              cairo_line_to (cr, xb, y);
            }
        }
      cairo_stroke (cr);
    }

  /* legend, under the axis */
  for (int g = 0; g < self->n_groups; g++)
    {
      double ly = y1 + M_BOTTOM + self->legend_y[g];
      pango_layout_get_pixel_size (self->groups[g].layout, &lw, &lh);
      GdkRGBA c;
      hone_class_color (g, &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, self->groups[g].start_epoch < 0 ? 0.35 : 1.0);
      cairo_rectangle (cr, self->legend_x[g] - 18, ly + lh / 2.0 - 2, 12, 4);
      cairo_fill (cr);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.85);
      cairo_move_to (cr, self->legend_x[g], ly);
      pango_cairo_show_layout (cr, self->groups[g].layout);
    }

  /* hover read-out */
  if (self->hover_x >= x0 && self->hover_x <= x1)
    {
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.5);
      cairo_set_line_width (cr, 1);
      cairo_move_to (cr, round (self->hover_x) + 0.5, y0);
      cairo_line_to (cr, round (self->hover_x) + 0.5, y1);
      cairo_stroke (cr);
      pango_layout_get_pixel_size (self->hover_layout, &lw, &lh);
      double hx = self->hover_x + 8 + lw > x1 ? self->hover_x - 8 - lw : self->hover_x + 8;
      cairo_move_to (cr, hx, y1 - lh - 20);
      pango_cairo_show_layout (cr, self->hover_layout);
    }
}

static void
hone_lr_plot_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (width <= M_LEFT + M_RIGHT || height <= M_TOP + M_BOTTOM + HONE_LR_PLOT (widget)->legend_h)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw (HONE_LR_PLOT (widget), cr, width, height);
  cairo_destroy (cr);
}

static void
hone_lr_plot_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  HoneLrPlot *self = HONE_LR_PLOT (widget);
  pango_layout_set_width (self->message, (int) (MAX (width - 32, 1) * PANGO_SCALE));
  fit_legend (self, width);
}

static void
hone_lr_plot_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                      int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 260 : 180;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 440 : 260;
}

static int
sample_at (HoneLrPlot *self, double x)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double step = (x - M_LEFT) / MAX (width - M_LEFT - M_RIGHT, 1.0) * (double) self->total_steps;
  int best = 0;
  for (int i = 1; i < self->n_samples; i++)
    if (fabs ((double) self->steps[i] - step) < fabs ((double) self->steps[best] - step))
      best = i;
  return best;
}

static void
motion (GtkEventControllerMotion *m, double x, double y, HoneLrPlot *self)
{
  if (!self->has_schedule || self->n_samples == 0)
    return;
  self->hover_x = x;
  int i = sample_at (self, x);
  GString *s = g_string_new (NULL);
  /* Translators: hover read-out of the LR plot */
  g_string_append_printf (s, _("epoch %.2f"), (double) self->steps[i] / (double) MAX (self->steps_per_epoch, 1));
  for (int g = 0; g < self->n_groups; g++)
    if (self->groups[g].start_epoch >= 0 && self->steps[i] >= (int64_t) self->groups[g].start_epoch * self->steps_per_epoch)
      g_string_append_printf (s, "\n%s: %.3g", self->groups[g].label, self->lr[i] * self->groups[g].lr_mult);
  pango_layout_set_text (self->hover_layout, s->str, -1);
  g_string_free (s, TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave (GtkEventControllerMotion *m, HoneLrPlot *self)
{
  self->hover_x = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
hone_lr_plot_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (hone_lr_plot_parent_class)->css_changed (widget, change);
  make_layouts (HONE_LR_PLOT (widget));
}

static void
hone_lr_plot_finalize (GObject *object)
{
  HoneLrPlot *self = HONE_LR_PLOT (object);
  clear_layouts (self);
  clear_groups (self);
  g_clear_object (&self->message);
  g_clear_object (&self->hover_layout);
  g_free (self->steps);
  g_free (self->lr);
  G_OBJECT_CLASS (hone_lr_plot_parent_class)->finalize (object);
}

static void
hone_lr_plot_class_init (HoneLrPlotClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = hone_lr_plot_finalize;
  widget_class->snapshot = hone_lr_plot_snapshot;
  widget_class->measure = hone_lr_plot_measure;
  widget_class->size_allocate = hone_lr_plot_size_allocate;
  widget_class->css_changed = hone_lr_plot_css_changed;
  gtk_widget_class_set_css_name (widget_class, "honelrplot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hone_lr_plot_init (HoneLrPlot *self)
{
  self->steps = g_new0 (int64_t, MAX_SAMPLES);
  self->lr = g_new0 (double, MAX_SAMPLES);
  self->hover_x = -1;
  make_layouts (self);
  pango_layout_set_alignment (self->message, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap (self->message, PANGO_WRAP_WORD);
  pango_layout_set_text (self->message, _("The learning rate over the run appears here"), -1);
  GtkEventController *m = gtk_event_controller_motion_new ();
  g_signal_connect (m, "motion", G_CALLBACK (motion), self);
  g_signal_connect (m, "leave", G_CALLBACK (leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), m);
}

GtkWidget *
hone_lr_plot_new (void)
{
  return g_object_new (HONE_TYPE_LR_PLOT, NULL);
}

static int
cmp_steps (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return x < y ? -1 : x > y;
}

void
hone_lr_plot_set_schedule (HoneLrPlot *self, const HoneSchedule *schedule, int epochs,
                           int64_t steps_per_epoch, const HoneLrGroup *groups, int n_groups)
{
  g_return_if_fail (HONE_IS_LR_PLOT (self));
  g_return_if_fail (schedule != NULL && epochs >= 1 && steps_per_epoch >= 1);
  g_return_if_fail (n_groups >= 0 && (n_groups == 0 || groups));

  self->schedule = *schedule;
  self->has_schedule = TRUE;
  self->epochs = epochs;
  self->steps_per_epoch = steps_per_epoch;
  self->total_steps = (int64_t) epochs * steps_per_epoch;

  clear_groups (self);
  if (n_groups == 0)
    {
      self->groups[0] = (Group) { .label = g_strdup (_("all layers")), .lr_mult = 1.0 };
      self->n_groups = 1;
    }
  for (int i = 0; i < n_groups && i < MAX_GROUPS; i++)
    {
      self->groups[i] = (Group) { .label = g_strdup (groups[i].label), .lr_mult = groups[i].lr_mult,
                                  .start_epoch = groups[i].start_epoch };
      self->n_groups++;
    }

  /* samples: evenly spread, plus each side of the corners that matter */
  int n = 0;
  int even = MAX_SAMPLES - 4 - 2 * MAX_GROUPS - 2 * HONE_SCHEDULE_MAX_MILESTONES;
  int64_t total = self->total_steps;
  for (int i = 0; i < even; i++)
    {
      int64_t t = (int64_t) llround ((double) i * (double) (total - 1) / (double) (even - 1));
      if (n == 0 || t != self->steps[n - 1])
        self->steps[n++] = t;
    }
  int64_t corners[2 + 2 * MAX_GROUPS + 2 * HONE_SCHEDULE_MAX_MILESTONES];
  int nc = 0;
  if (schedule->warmup != HONE_WARMUP_NONE && schedule->warmup_steps > 0)
    {
      corners[nc++] = schedule->warmup_steps - 1;
      corners[nc++] = schedule->warmup_steps;
    }
  for (int g = 0; g < self->n_groups; g++)
    if (self->groups[g].start_epoch > 0)
      corners[nc++] = (int64_t) self->groups[g].start_epoch * steps_per_epoch;
  if (schedule->kind == HONE_SCHEDULE_MULTI_STEP)
    for (int m = 0; m < schedule->n_milestones; m++)
      {
        int64_t at = schedule->milestones[m] + (schedule->warmup != HONE_WARMUP_NONE ? schedule->warmup_steps : 0);
        corners[nc++] = at - 1;
        corners[nc++] = at;
      }
  for (int c = 0; c < nc && n < MAX_SAMPLES; c++)
    if (corners[c] >= 0 && corners[c] < total)
      self->steps[n++] = corners[c];
  qsort (self->steps, (size_t) n, sizeof (int64_t), cmp_steps);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (m == 0 || self->steps[i] != self->steps[m - 1])
      self->steps[m++] = self->steps[i];
  self->n_samples = m;

  /* STEP drops inside the evenly spread samples are sharp enough at this
   * resolution; the values are the engine's own */
  double top = 0;
  for (int i = 0; i < m; i++)
    {
      self->lr[i] = hone_schedule_lr (schedule, self->steps[i]);
      top = MAX (top, self->lr[i]);
    }
  self->peak = 0;
  for (int g = 0; g < self->n_groups; g++)
    if (self->groups[g].start_epoch >= 0)
      self->peak = MAX (self->peak, top * self->groups[g].lr_mult);
  if (self->peak <= 0)
    self->peak = top > 0 ? top : 1.0;
  make_layouts (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
hone_lr_plot_set_message (HoneLrPlot *self, const char *message)
{
  g_return_if_fail (HONE_IS_LR_PLOT (self));
  self->has_schedule = FALSE;
  self->peak = 0;
  pango_layout_set_text (self->message, message ? message : "", -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
hone_lr_plot_get_peak (HoneLrPlot *self)
{
  g_return_val_if_fail (HONE_IS_LR_PLOT (self), 0);
  return self->has_schedule ? self->peak : 0;
}

int
hone_lr_plot_get_n_groups (HoneLrPlot *self)
{
  g_return_val_if_fail (HONE_IS_LR_PLOT (self), 0);
  return self->has_schedule ? self->n_groups : 0;
}
