/* chart.c — the chart model and its layout (no cairo here). */
#include "chart.h"

#include <math.h>
#include <string.h>

#define FONT_TITLE 16.0
#define FONT_SUB 11.0
#define FONT_AXIS 11.0
#define FONT_TICK 10.0
#define FONT_LEGEND 10.0
#define INK 0x222222u
#define GRID 0xDDDDDDu
#define MUTED 0x666666u

/* ------------------------------------------------------------------ model */
Chart *chart_new(ChartKind kind, int width, int height)
{
    Chart *c = g_new0(Chart, 1);
    c->kind = kind;
    c->width = CLAMP(width, 200, 8000);
    c->height = CLAMP(height, 150, 8000);
    c->series = g_ptr_array_new();
    c->bar_labels = g_ptr_array_new_with_free_func(g_free);
    c->bar_values = g_array_new(FALSE, FALSE, sizeof(double));
    c->lane_names = g_ptr_array_new_with_free_func(g_free);
    c->categories = g_ptr_array_new_with_free_func(g_free);
    c->cells = g_array_new(FALSE, FALSE, sizeof(ChartCell));
    c->markers = g_array_new(FALSE, FALSE, sizeof(ChartMarker));
    return c;
}

void chart_free(Chart *c)
{
    if (!c) return;
    for (guint i = 0; i < c->series->len; i++) {
        ChartSeries *s = g_ptr_array_index(c->series, i);
        g_free(s->name);
        g_free(s->v);
        g_free(s);
    }
    g_ptr_array_free(c->series, TRUE);
    g_ptr_array_free(c->bar_labels, TRUE);
    g_array_free(c->bar_values, TRUE);
    g_ptr_array_free(c->lane_names, TRUE);
    g_ptr_array_free(c->categories, TRUE);
    g_array_free(c->cells, TRUE);
    for (guint i = 0; i < c->markers->len; i++) g_free(g_array_index(c->markers, ChartMarker, i).label);
    g_array_free(c->markers, TRUE);
    g_free(c->x);
    g_free(c->title);
    g_free(c->subtitle);
    g_free(c->x_title);
    g_free(c->y_title);
    g_free(c->empty_message);
    g_free(c);
}

void chart_set_titles(Chart *c, const char *title, const char *subtitle, const char *x_title, const char *y_title)
{
    g_free(c->title);
    g_free(c->subtitle);
    g_free(c->x_title);
    g_free(c->y_title);
    c->title = g_strdup(title);
    c->subtitle = g_strdup(subtitle);
    c->x_title = g_strdup(x_title);
    c->y_title = g_strdup(y_title);
}

void chart_add_series(Chart *c, const char *name, const double *v, guint n)
{
    ChartSeries *s = g_new0(ChartSeries, 1);
    s->name = g_strdup(name);
    s->v = g_new0(double, MAX(c->n_x, 1u));
    memcpy(s->v, v, sizeof(double) * MIN(n, c->n_x));
    g_ptr_array_add(c->series, s);
}

void chart_add_bar(Chart *c, const char *label, double value)
{
    g_ptr_array_add(c->bar_labels, g_strdup(label));
    g_array_append_val(c->bar_values, value);
}

void chart_add_marker(Chart *c, double x, const char *label, bool vertical)
{
    ChartMarker m = { x, g_strdup(label), vertical };
    g_array_append_val(c->markers, m);
}

guint chart_add_category(Chart *c, const char *name)
{
    g_ptr_array_add(c->categories, g_strdup(name));
    return c->categories->len - 1;
}

bool chart_is_empty(const Chart *c)
{
    switch (c->kind) {
    case CHART_HBAR:
        for (guint i = 0; i < c->bar_values->len; i++)
            if (g_array_index(c->bar_values, double, i) > 0) return false;
        return true;
    case CHART_LANES: return c->cells->len == 0;
    default:
        for (guint i = 0; i < c->series->len; i++) {
            const ChartSeries *s = g_ptr_array_index(c->series, i);
            for (guint j = 0; j < c->n_x; j++)
                if (s->v[j] > 0) return false;
        }
        return true;
    }
}

/* ------------------------------------------------------------------ numbers */
guint chart_nice_ticks(double lo, double hi, guint max_ticks, double *out, double *step_out)
{
    if (!isfinite(lo) || !isfinite(hi)) lo = hi = 0;
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (max_ticks < 2) max_ticks = 2;
    if (max_ticks > 64) max_ticks = 64;
    if (hi == lo) hi = lo + (lo == 0 ? 1 : fabs(lo) * 0.1);
    double raw = (hi - lo) / (double)(max_ticks - 1);
    double mag = pow(10, floor(log10(raw)));
    static const double mult[] = { 1, 2, 5 };
    double step = mag, first = 0, last = 0;
    /* the smallest 1/2/5 × 10^k step whose whole-tick cover of [lo, hi] fits (zero strictly
     * inside a range needs at least three: -step, 0, step) */
    for (int tries = 0; tries < 64; tries++) {
        step = mult[tries % 3] * mag * pow(10, tries / 3);
        first = floor(lo / step) * step;
        last = ceil(hi / step) * step;
        if (round((last - first) / step) + 1 <= max_ticks) break;
    }
    guint count = (guint)MIN(round((last - first) / step) + 1, 64.0);
    guint n = 0;
    for (guint i = 0; i < count; i++) {
        double v = first + (double)i * step; /* not a running sum: no drift far from zero */
        double r = round(v / step) * step;   /* no 0.30000000000000004 */
        out[n++] = fabs(r) < step * 1e-9 ? 0 : r;
    }
    if (step_out) *step_out = step;
    return n;
}

/* Ticks in the unit's own steps: bytes in powers of 1024 (so that labels read 8 KiB, 16 KiB,
 * not 9.77 KiB), everything else decimal. */
static guint unit_ticks(double lo, double hi, guint max_ticks, ChartUnit unit, double *out, double *step)
{
    double scale = 1;
    if (unit == CHART_UNIT_BYTES)
        while (MAX(fabs(lo), fabs(hi)) / scale >= 1024 && scale < 1099511627776.0) scale *= 1024;
    guint n = chart_nice_ticks(lo / scale, hi / scale, max_ticks, out, step);
    for (guint i = 0; i < n; i++) out[i] *= scale;
    if (step) *step *= scale;
    return n;
}

static void append_grouped(GString *s, uint64_t v)
{
    char buf[32];
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, v);
    size_t n = strlen(buf);
    for (size_t i = 0; i < n; i++) {
        g_string_append_c(s, buf[i]);
        if ((n - i - 1) % 3 == 0 && i + 1 < n) g_string_append_c(s, ',');
    }
}

/* Up to three significant digits, trailing zeros dropped. */
static char *short_num(double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    double a = fabs(v);
    int dec = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    g_ascii_formatd(buf, sizeof buf, dec == 0 ? "%.0f" : dec == 1 ? "%.1f" : "%.2f", v);
    if (strchr(buf, '.')) {
        size_t n = strlen(buf);
        while (n && buf[n - 1] == '0') buf[--n] = 0;
        if (n && buf[n - 1] == '.') buf[--n] = 0;
    }
    if (!strcmp(buf, "-0")) return g_strdup("0");
    return g_strdup(buf);
}

char *chart_format_value(double v, ChartUnit unit)
{
    GString *s = g_string_new(NULL);
    double a = fabs(v);
    char *n = NULL;
    switch (unit) {
    case CHART_UNIT_BYTES: {
        static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        int i = 0;
        while (a >= 1024 && i < 4) {
            a /= 1024;
            v /= 1024;
            i++;
        }
        n = short_num(v);
        g_string_printf(s, "%s %s", n, u[i]);
        break;
    }
    case CHART_UNIT_US:
        if (a >= 1e6) {
            n = short_num(v / 1e6);
            g_string_printf(s, "%s s", n);
        } else if (a >= 1e3) {
            n = short_num(v / 1e3);
            g_string_printf(s, "%s ms", n);
        } else {
            n = short_num(v);
            g_string_printf(s, "%s µs", n);
        }
        break;
    case CHART_UNIT_SECONDS:
        n = short_num(v);
        g_string_printf(s, "%s s", n);
        break;
    case CHART_UNIT_PERCENT:
        n = short_num(v);
        g_string_printf(s, "%s %%", n);
        break;
    default:
        if (v == floor(v) && a < 1e15) {
            if (v < 0) g_string_append_c(s, '-');
            append_grouped(s, (uint64_t)a);
        } else {
            n = short_num(v);
            g_string_append(s, n);
        }
        break;
    }
    g_free(n);
    return g_string_free(s, FALSE);
}

double chart_text_width(const char *s, double size)
{
    return s ? (double)g_utf8_strlen(s, -1) * 0.56 * size : 0;
}

uint32_t chart_palette(guint i)
{
    /* Okabe & Ito (2008), black moved last */
    static const uint32_t p[] = { 0x0072B2, 0xE69F00, 0x009E73, 0xCC79A7, 0x56B4E9, 0xD55E00, 0xF0E442, 0x000000 };
    return p[i % G_N_ELEMENTS(p)];
}

/* ------------------------------------------------------------------ scene building */
static ChartPrim *prim_add(ChartScene *s, ChartPrimKind k)
{
    ChartPrim p = { .kind = k, .alpha = 1 };
    g_array_append_val(s->prims, p);
    return &g_array_index(s->prims, ChartPrim, s->prims->len - 1);
}

static void rect(ChartScene *s, double x, double y, double w, double h, uint32_t rgb, double alpha)
{
    if (w <= 0 || h <= 0) return;
    ChartPrim *p = prim_add(s, PRIM_RECT);
    p->x = x;
    p->y = y;
    p->w = w;
    p->h = h;
    p->rgb = rgb;
    p->alpha = alpha;
}

static void line(ChartScene *s, double x0, double y0, double x1, double y1, uint32_t rgb, double width, bool dashed)
{
    ChartPrim *p = prim_add(s, PRIM_LINE);
    p->x = x0;
    p->y = y0;
    p->w = x1;
    p->h = y1;
    p->rgb = rgb;
    p->line_width = width;
    p->dashed = dashed;
}

static void text(ChartScene *s, double x, double y, const char *t, double size, ChartAnchor a, uint32_t rgb, bool bold)
{
    ChartPrim *p = prim_add(s, PRIM_TEXT);
    p->x = x;
    p->y = y;
    p->text = g_strdup(t);
    p->size = size;
    p->anchor = a;
    p->rgb = rgb;
    p->bold = bold;
}

/* Shorten to max_w pixels with an ellipsis. */
static char *fit_text(const char *t, double size, double max_w)
{
    if (chart_text_width(t, size) <= max_w) return g_strdup(t);
    glong n = g_utf8_strlen(t, -1);
    glong keep = (glong)(max_w / (0.56 * size)) - 1;
    if (keep < 1) return g_strdup("…");
    if (keep > n) keep = n;
    const char *end = g_utf8_offset_to_pointer(t, keep);
    return g_strdup_printf("%.*s…", (int)(end - t), t);
}

void chart_scene_free(ChartScene *s)
{
    if (!s) return;
    for (guint i = 0; i < s->prims->len; i++) {
        ChartPrim *p = &g_array_index(s->prims, ChartPrim, i);
        g_free(p->text);
        g_free(p->pts);
    }
    g_array_free(s->prims, TRUE);
    g_free(s);
}

typedef struct {
    double lo, hi;     /* data range */
    double px0, px1;   /* pixel range */
} Axis;

static double ax(const Axis *a, double v)
{
    if (a->hi == a->lo) return a->px0;
    return a->px0 + (v - a->lo) / (a->hi - a->lo) * (a->px1 - a->px0);
}

/* Legend names and colours of a chart (areas and histograms: series; lanes: categories). */
static guint legend_items(const Chart *c, const char ***names)
{
    static const char *none[1];
    if (c->kind == CHART_LANES) {
        *names = (const char **)c->categories->pdata;
        return c->categories->len;
    }
    if (c->kind == CHART_HBAR || c->series->len < 2) {
        *names = none;
        return 0;
    }
    *names = NULL;
    return c->series->len;
}

static const char *legend_name(const Chart *c, guint i)
{
    if (c->kind == CHART_LANES) return g_ptr_array_index(c->categories, i);
    return ((ChartSeries *)g_ptr_array_index(c->series, i))->name;
}

static uint32_t item_color(const char *name, guint i)
{
    return name && !strcmp(name, "other") ? CHART_OTHER_COLOR : chart_palette(i);
}

/* X tick labels: as many as fit without overlapping. */
static void x_ticks(ChartScene *s, const Axis *x, ChartUnit unit, double y_base, double grid_top, bool log2_bounds)
{
    double ticks[64], step;
    guint n;
    if (log2_bounds) {
        n = 0;
        for (double v = ceil(x->lo); v <= x->hi + 1e-9 && n < 64; v += 1) ticks[n++] = v;
    } else {
        guint max = (guint)MAX(2.0, (x->px1 - x->px0) / 70.0);
        n = unit_ticks(x->lo, x->hi, max, unit, ticks, &step);
    }
    char *labels[64];
    double w[64];
    for (guint i = 0; i < n; i++) {
        double v = log2_bounds ? pow(2, ticks[i]) : ticks[i];
        labels[i] = chart_format_value(v, unit);
        w[i] = chart_text_width(labels[i], FONT_TICK);
    }
    /* thin: keep every k-th label until neighbours do not overlap */
    guint k = 1;
    for (; k < n; k++) {
        bool ok = true;
        double last_end = -1e9;
        for (guint i = 0; i < n && ok; i += k) {
            double px = ax(x, ticks[i]);
            if (px < x->px0 - 0.5 || px > x->px1 + 0.5) continue;
            if (px - w[i] / 2 < last_end + 6) ok = false;
            last_end = px + w[i] / 2;
        }
        if (ok) break;
    }
    guint inside = 0;
    for (guint i = 0; i < n; i++) {
        double px = ax(x, ticks[i]);
        inside += px >= x->px0 - 0.5 && px <= x->px1 + 0.5;
    }
    if (!inside && !log2_bounds) {
        /* a narrow plot whose whole-tick cover lies outside the data: label the ends instead */
        for (guint i = 0; i < n; i++) g_free(labels[i]);
        ticks[0] = x->lo;
        ticks[1] = x->hi;
        n = 2;
        for (guint i = 0; i < n; i++) {
            labels[i] = chart_format_value(ticks[i], unit);
            w[i] = chart_text_width(labels[i], FONT_TICK);
        }
        k = (x->px1 - x->px0) > (w[0] + w[1]) / 2 + 6 ? 1 : 2;
    }
    guint shown = 0;
    for (guint i = 0; i < n; i++) {
        double px = ax(x, ticks[i]);
        if (px < x->px0 - 0.5 || px > x->px1 + 0.5) continue;
        line(s, px, grid_top, px, y_base, GRID, 0.6, false);
        if (i % k == 0) {
            line(s, px, y_base, px, y_base + 4, INK, 1, false);
            text(s, px, y_base + 16, labels[i], FONT_TICK, ANCHOR_MIDDLE, INK, false);
            shown++;
        }
    }
    s->x_ticks_shown = shown;
    for (guint i = 0; i < n; i++) g_free(labels[i]);
}

static void y_ticks(ChartScene *s, const Axis *y, ChartUnit unit, double x_left, double grid_right)
{
    double ticks[64], step;
    guint max = (guint)MAX(2.0, (y->px0 - y->px1) / 32.0);
    guint n = unit_ticks(y->lo, y->hi, max, unit, ticks, &step);
    guint shown = 0;
    for (guint i = 0; i < n; i++) {
        double py = ax(y, ticks[i]);
        if (py > y->px0 + 0.5 || py < y->px1 - 0.5) continue;
        line(s, x_left, py, grid_right, py, GRID, 0.6, false);
        char *l = chart_format_value(ticks[i], unit);
        text(s, x_left - 6, py + 3.5, l, FONT_TICK, ANCHOR_END, INK, false);
        g_free(l);
        shown++;
    }
    s->y_ticks_shown = shown;
}

/* The axis maximum: the nice tick at or above the data maximum. */
static double nice_max(double v, ChartUnit unit)
{
    double t[64], step;
    guint n = unit_ticks(0, v > 0 ? v : 1, 6, unit, t, &step);
    return t[n - 1];
}

static double max_y_label_width(double hi, ChartUnit unit)
{
    double t[64], step, w = 0;
    guint n = unit_ticks(0, hi, 8, unit, t, &step);
    for (guint i = 0; i < n; i++) {
        char *l = chart_format_value(t[i], unit);
        w = MAX(w, chart_text_width(l, FONT_TICK));
        g_free(l);
    }
    return w;
}

ChartScene *chart_layout(const Chart *c)
{
    ChartScene *s = g_new0(ChartScene, 1);
    s->width = c->width;
    s->height = c->height;
    s->prims = g_array_new(FALSE, TRUE, sizeof(ChartPrim));
    rect(s, 0, 0, c->width, c->height, 0xFFFFFF, 1);
    double top = 28;
    if (c->title) {
        char *t = fit_text(c->title, FONT_TITLE, c->width - 24);
        text(s, 12, top, t, FONT_TITLE, ANCHOR_START, INK, true);
        g_free(t);
    }
    if (c->subtitle) {
        char *t = fit_text(c->subtitle, FONT_SUB, c->width - 24);
        text(s, 12, top + 18, t, FONT_SUB, ANCHOR_START, MUTED, false);
        g_free(t);
        top += 18;
    }
    top += 20;
    if (chart_is_empty(c)) {
        const char *msg = c->empty_message ? c->empty_message : "Nothing to draw: the selection holds no data.";
        char *t = fit_text(msg, 13, c->width - 40);
        text(s, c->width / 2.0, top + (c->height - top) / 2.0, t, 13, ANCHOR_MIDDLE, MUTED, false);
        g_free(t);
        s->plot_x = 0;
        s->plot_y = top;
        return s;
    }

    /* legend on the right */
    const char **names;
    guint n_leg = legend_items(c, &names);
    double legend_w = 0;
    for (guint i = 0; i < n_leg; i++) legend_w = MAX(legend_w, chart_text_width(legend_name(c, i), FONT_LEGEND));
    legend_w = n_leg ? MIN(legend_w + 26, c->width * 0.3) : 0;

    double bottom = c->height - 44.0;
    double right = c->width - 16.0 - legend_w;

    if (c->kind == CHART_HBAR) {
        guint n = c->bar_values->len;
        double vmax = 0;
        for (guint i = 0; i < n; i++) vmax = MAX(vmax, g_array_index(c->bar_values, double, i));
        double label_w = 0;
        for (guint i = 0; i < n; i++) label_w = MAX(label_w, chart_text_width(g_ptr_array_index(c->bar_labels, i), FONT_TICK));
        label_w = MIN(label_w, c->width * 0.4);
        double left = 12 + label_w + 8;
        Axis x = { 0, nice_max(vmax, c->x_unit), left, right - 8 };
        double band = (bottom - top) / MAX(n, 1u);
        double bar_h = MIN(band * 0.75, 26);
        s->plot_x = left;
        s->plot_y = top;
        s->plot_w = x.px1 - left;
        s->plot_h = bottom - top;
        x_ticks(s, &x, c->x_unit, bottom, top, false);
        for (guint i = 0; i < n; i++) {
            double v = g_array_index(c->bar_values, double, i);
            double yc = top + band * (i + 0.5);
            rect(s, left, yc - bar_h / 2, ax(&x, v) - left, bar_h, chart_palette(0), 1);
            char *l = fit_text(g_ptr_array_index(c->bar_labels, i), FONT_TICK, label_w);
            text(s, left - 6, yc + 3.5, l, FONT_TICK, ANCHOR_END, INK, false);
            g_free(l);
            char *vl = chart_format_value(v, c->x_unit);
            double vw = chart_text_width(vl, FONT_TICK);
            double vx = ax(&x, v) + 4;
            if (vx + vw > c->width - 4) text(s, ax(&x, v) - 4, yc + 3.5, vl, FONT_TICK, ANCHOR_END, 0xFFFFFF, true);
            else text(s, vx, yc + 3.5, vl, FONT_TICK, ANCHOR_START, INK, false);
            g_free(vl);
        }
        line(s, left, top, left, bottom, INK, 1, false);
        line(s, left, bottom, x.px1, bottom, INK, 1, false);
        if (c->x_title) text(s, (left + x.px1) / 2, c->height - 8, c->x_title, FONT_AXIS, ANCHOR_MIDDLE, INK, false);
        return s;
    }

    /* y range */
    double ymax = 0;
    if (c->kind == CHART_STACKED_AREA || c->kind == CHART_HISTOGRAM) {
        for (guint j = 0; j < c->n_x; j++) {
            double sum = 0;
            for (guint i = 0; i < c->series->len; i++) sum += ((ChartSeries *)g_ptr_array_index(c->series, i))->v[j];
            ymax = MAX(ymax, sum);
        }
    }
    double left;
    Axis y = { 0, 0, bottom, top };
    if (c->kind == CHART_LANES) {
        double lw = 0;
        for (guint i = 0; i < c->lane_names->len; i++)
            lw = MAX(lw, chart_text_width(g_ptr_array_index(c->lane_names, i), FONT_TICK));
        left = 12 + MIN(lw, c->width * 0.25) + 8;
    } else {
        y.hi = nice_max(ymax, c->y_unit);
        left = 12 + 18 + max_y_label_width(y.hi, c->y_unit) + 8;
    }
    s->plot_x = left;
    s->plot_y = top;
    s->plot_w = right - left;
    s->plot_h = bottom - top;

    Axis x;
    bool log2x = c->kind == CHART_HISTOGRAM;
    if (c->kind == CHART_LANES) {
        x = (Axis){ c->x_min, c->x_max > c->x_min ? c->x_max : c->x_min + 1, left, right };
    } else if (log2x) {
        /* bucket j spans log2 (bound/2, bound]: positions j-1 .. j in log2 units */
        double lo = c->n_x ? log2(c->x[0]) - 1 : 0, hi = c->n_x ? log2(c->x[c->n_x - 1]) : 1;
        x = (Axis){ lo, hi, left, right };
    } else {
        x = (Axis){ c->n_x ? c->x[0] : 0, c->n_x ? c->x[c->n_x - 1] : 1, left, right };
        if (x.hi <= x.lo) x.hi = x.lo + 1;
    }

    if (c->kind != CHART_LANES) y_ticks(s, &y, c->y_unit, left, right);
    x_ticks(s, &x, c->x_unit, bottom, top, log2x);

    if (c->kind == CHART_STACKED_AREA) {
        double *base = g_new0(double, MAX(c->n_x, 1u));
        for (guint i = 0; i < c->series->len; i++) {
            const ChartSeries *se = g_ptr_array_index(c->series, i);
            ChartPrim *p = prim_add(s, PRIM_POLYGON);
            p->npts = c->n_x * 2;
            p->pts = g_new(double, p->npts * 2);
            for (guint j = 0; j < c->n_x; j++) {
                p->pts[2 * j] = ax(&x, c->x[j]);
                p->pts[2 * j + 1] = ax(&y, base[j] + se->v[j]);
            }
            for (guint j = 0; j < c->n_x; j++) {
                guint k = c->n_x - 1 - j;
                p->pts[2 * (c->n_x + j)] = ax(&x, c->x[k]);
                p->pts[2 * (c->n_x + j) + 1] = ax(&y, base[k]);
            }
            p->rgb = item_color(se->name, i);
            p->alpha = 0.85;
            for (guint j = 0; j < c->n_x; j++) base[j] += se->v[j];
        }
        g_free(base);
    } else if (c->kind == CHART_HISTOGRAM) {
        double *base = g_new0(double, MAX(c->n_x, 1u));
        for (guint i = 0; i < c->series->len; i++) {
            const ChartSeries *se = g_ptr_array_index(c->series, i);
            for (guint j = 0; j < c->n_x; j++) {
                if (se->v[j] <= 0) continue;
                double hb = log2(c->x[j]);
                double x0 = ax(&x, hb - 1) + 1, x1 = ax(&x, hb) - 1;
                double y0 = ax(&y, base[j]), y1 = ax(&y, base[j] + se->v[j]);
                rect(s, x0, y1, x1 - x0, y0 - y1, item_color(se->name, i), 1);
                base[j] += se->v[j];
            }
        }
        g_free(base);
    } else { /* lanes */
        guint nl = MAX(c->lane_names->len, 1u);
        double lane_h = (bottom - top) / nl;
        for (guint i = 0; i < c->lane_names->len; i++) {
            double yc = top + lane_h * (i + 0.5);
            char *l = fit_text(g_ptr_array_index(c->lane_names, i), FONT_TICK, left - 16);
            text(s, left - 6, yc + 3.5, l, FONT_TICK, ANCHOR_END, INK, false);
            g_free(l);
            if (i) line(s, left, top + lane_h * i, right, top + lane_h * i, GRID, 0.6, false);
        }
        for (guint i = 0; i < c->cells->len; i++) {
            const ChartCell *ce = &g_array_index(c->cells, ChartCell, i);
            if (ce->lane >= nl || ce->category < 0) continue;
            /* a column is a bar from the lane's floor: its height is the busy share of the column
             * (at least 2 px, so that short activity stays visible) */
            double x0 = ax(&x, ce->x0), x1 = ax(&x, ce->x1);
            double hh = MAX((lane_h - 4) * CLAMP(ce->alpha, 0, 1), 2.0);
            double floor_y = top + lane_h * (ce->lane + 1) - 2;
            rect(s, x0, floor_y - hh, MAX(x1 - x0, 0.8), hh,
                 item_color(legend_name(c, (guint)ce->category), (guint)ce->category), 1);
        }
    }

    /* markers */
    for (guint i = 0; i < c->markers->len; i++) {
        const ChartMarker *m = &g_array_index(c->markers, ChartMarker, i);
        if (m->vertical) {
            double v = log2x ? log2(m->x) : m->x;
            double px = ax(&x, v);
            if (px < left || px > right) continue;
            line(s, px, top, px, bottom, 0xD55E00, 1.2, true);
            if (m->label) text(s, px + 3, top + 11, m->label, FONT_TICK, ANCHOR_START, 0xD55E00, false);
        } else {
            double py = ax(&y, m->x);
            if (py < top || py > bottom) continue;
            line(s, left, py, right, py, 0xD55E00, 1.2, true);
            if (m->label) text(s, right - 2, py - 3, m->label, FONT_TICK, ANCHOR_END, 0xD55E00, false);
        }
    }

    /* axes and titles */
    line(s, left, top, left, bottom, INK, 1, false);
    line(s, left, bottom, right, bottom, INK, 1, false);
    if (c->x_title) text(s, (left + right) / 2, c->height - 8, c->x_title, FONT_AXIS, ANCHOR_MIDDLE, INK, false);
    if (c->y_title && c->kind != CHART_LANES) {
        char *t = fit_text(c->y_title, FONT_AXIS, bottom - top);
        ChartPrim *p = prim_add(s, PRIM_TEXT);
        p->x = 20;
        p->y = (top + bottom) / 2;
        p->text = t;
        p->size = FONT_AXIS;
        p->anchor = ANCHOR_MIDDLE;
        p->rgb = INK;
        p->vertical = true;
    }

    /* legend */
    double ly = top + 4;
    for (guint k = 0; k < n_leg && ly < bottom; k++) {
        /* stacked charts list their top band first, as drawn */
        guint i = c->kind == CHART_LANES ? k : n_leg - 1 - k;
        const char *nm = legend_name(c, i);
        rect(s, right + 14, ly, 10, 10, item_color(nm, i), 1);
        char *t = fit_text(nm, FONT_LEGEND, legend_w - 16);
        text(s, right + 28, ly + 9, t, FONT_LEGEND, ANCHOR_START, INK, false);
        g_free(t);
        ly += 15;
    }
    (void)names;
    return s;
}
