/* test-chart.c — render/chart.c (the chart model, scales and layout) and render/chart-cairo.c
 * (painting to SVG, PNG and PDF).
 *
 * Layout is checked on the ChartScene, without cairo: which primitives are where, whether tick
 * labels overlap (text widths estimated with chart_text_width, as the layout itself does), how
 * long labels are shortened and how lane cells are sized.  Painting is checked on the bytes:
 * the SVG parses as XML (libxml2), the PNG decodes to the chart's size, the PDF is a PDF.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "chart.h"
#include "testutil.h"

#include <cairo.h>
#include <dlfcn.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

static void assert_near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol)) fail_msg("got %.12g, want %.12g (± %g)", got, want, tol);
}

/* Is step 1, 2 or 5 × 10^k? */
static bool is_125(double step)
{
    if (!(step > 0) || !isfinite(step)) return false;
    double k = floor(log10(step));
    double m = step / pow(10, k);
    return fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9 || fabs(m - 10) < 1e-9;
}

/* Invariants of every chart_nice_ticks result; NULL when they hold, else what is wrong
 * (g_free). */
static char *ticks_problem(double lo, double hi, guint max_ticks)
{
    double t[64], step = -1;
    guint n = chart_nice_ticks(lo, hi, max_ticks, t, &step);
    double a = MIN(lo, hi), b = MAX(lo, hi);
    guint cap = CLAMP(max_ticks, 2u, 64u);
    /* ticks are multiples of the step, so a range with zero strictly inside needs -step, 0,
     * step at least: 2 is impossible there */
    if (a < 0 && b > 0) cap = MAX(cap, 3u);
    char *where = g_strdup_printf("[%.17g, %.17g] max %u -> %u ticks, step %.17g, %.17g .. %.17g", lo, hi, max_ticks, n,
                                  step, n ? t[0] : NAN, n ? t[n - 1] : NAN);
    char *why = NULL;
    double tol = step * 1e-6;
    if (n < 2 || n > cap) why = g_strdup_printf("%s: more than max_ticks", where);
    else if (!is_125(step)) why = g_strdup_printf("%s: step not 1/2/5 x 10^k", where);
    else if (t[0] > a + tol || t[n - 1] < b - tol) why = g_strdup_printf("%s: does not cover the range", where);
    for (guint i = 1; i < n && !why; i++)
        if (fabs(t[i] - t[i - 1] - step) > tol)
            why = g_strdup_printf("%s: unequal step at %u (%.17g -> %.17g)", where, i, t[i - 1], t[i]);
    for (guint i = 0; i < n && !why; i++)
        if (fabs(t[i] / step - round(t[i] / step)) > 1e-6)
            why = g_strdup_printf("%s: tick %.17g not a multiple of the step", where, t[i]);
    g_free(where);
    return why;
}

static void check_ticks(double lo, double hi, guint max_ticks)
{
    char *why = ticks_problem(lo, hi, max_ticks);
    if (why) fail_msg("%s", why);
}

/* Sweeps: count the failures and show the first few, so that one report shows the extent. */
typedef struct {
    guint checked, failed;
} Sweep;

static void sweep_ticks(Sweep *sw, double lo, double hi, guint max_ticks)
{
    sw->checked++;
    char *why = ticks_problem(lo, hi, max_ticks);
    if (why) {
        if (sw->failed++ < 8) print_error("%s\n", why);
        g_free(why);
    }
}

static void check_format(double v, ChartUnit u, const char *want)
{
    char *s = chart_format_value(v, u);
    if (strcmp(s, want)) fail_msg("chart_format_value(%.17g, unit %d) = \"%s\", want \"%s\"", v, (int)u, s, want);
    g_free(s);
}

static const ChartPrim *prim(const ChartScene *s, guint i) { return &g_array_index(s->prims, ChartPrim, i); }

/* Tick labels of the x axis: text centred on the axis baseline + 16 px. */
static guint x_tick_labels(const ChartScene *s, const ChartPrim **out, guint cap)
{
    double y = s->plot_y + s->plot_h + 16;
    guint n = 0;
    for (guint i = 0; i < s->prims->len; i++) {
        const ChartPrim *p = prim(s, i);
        if (p->kind == PRIM_TEXT && p->anchor == ANCHOR_MIDDLE && !p->vertical && fabs(p->y - y) < 1e-9 && p->size == 10.0) {
            assert_true(n < cap);
            out[n++] = p;
        }
    }
    return n;
}

/* Tick labels of the y axis: right-aligned just left of the plot. */
static guint y_tick_labels(const ChartScene *s, const ChartPrim **out, guint cap)
{
    guint n = 0;
    for (guint i = 0; i < s->prims->len; i++) {
        const ChartPrim *p = prim(s, i);
        if (p->kind == PRIM_TEXT && p->anchor == ANCHOR_END && fabs(p->x - (s->plot_x - 6)) < 1e-9) {
            assert_true(n < cap);
            out[n++] = p;
        }
    }
    return n;
}

static int cmp_prim_x(const void *a, const void *b)
{
    const ChartPrim *x = *(const ChartPrim *const *)a, *y = *(const ChartPrim *const *)b;
    return x->x < y->x ? -1 : x->x > y->x;
}

/* Centred labels in x order: no two overlap (estimated widths). */
static void assert_no_overlap(const ChartPrim **l, guint n)
{
    qsort(l, n, sizeof *l, cmp_prim_x);
    for (guint i = 1; i < n; i++) {
        double end = l[i - 1]->x + chart_text_width(l[i - 1]->text, l[i - 1]->size) / 2;
        double start = l[i]->x - chart_text_width(l[i]->text, l[i]->size) / 2;
        if (start < end)
            fail_msg("x tick labels overlap: \"%s\" at %.1f ends at %.1f, \"%s\" at %.1f starts at %.1f", l[i - 1]->text,
                     l[i - 1]->x, end, l[i]->text, l[i]->x, start);
    }
}

/* An area chart over 0..20 s (201 samples) of two series with a bytes y axis. */
static Chart *area_chart(int width, int height, double peak_bytes)
{
    Chart *c = chart_new(CHART_STACKED_AREA, width, height);
    chart_set_titles(c, "Outstanding pool bytes by tag", "pool-leak.etl, whole trace", "time (s from trace start)",
                     "outstanding bytes");
    c->x_unit = CHART_UNIT_SECONDS;
    c->y_unit = CHART_UNIT_BYTES;
    c->n_x = 201;
    c->x = g_new(double, c->n_x);
    double a[201], b[201];
    for (guint i = 0; i < c->n_x; i++) {
        c->x[i] = i * 0.1;
        a[i] = peak_bytes * 0.75 * i / 200.0;
        b[i] = peak_bytes * 0.25 * (i % 20) / 19.0;
    }
    chart_add_series(c, "Leak", a, c->n_x);
    chart_add_series(c, "other", b, c->n_x);
    return c;
}

/* ------------------------------------------------------------------ 1. ticks */

static void test_nice_ticks_examples(void **state)
{
    (void)state;
    double t[64], step;
    guint n = chart_nice_ticks(0, 1, 6, t, &step);
    assert_int_equal(n, 6);
    assert_near(step, 0.2, 1e-15);
    for (guint i = 0; i < n; i++) assert_near(t[i], 0.2 * i, 1e-15);
    assert_true(t[0] == 0 && t[5] == 1); /* exact, not 0.30000000000000004-style */

    n = chart_nice_ticks(0, 97, 6, t, &step);
    assert_int_equal(n, 6);
    assert_true(step == 20);
    for (guint i = 0; i < n; i++) assert_true(t[i] == 20.0 * i);

    n = chart_nice_ticks(0, 48500, 6, t, &step);
    assert_true(step == 10000);
    assert_int_equal(n, 6);
    assert_true(t[0] == 0 && t[5] == 50000);

    /* not starting at zero: 3.2 .. 3.9 in 0.2 steps, 3.2 .. 4.0 */
    n = chart_nice_ticks(3.2, 3.9, 6, t, &step);
    assert_true(is_125(step));
    assert_near(step, 0.2, 1e-12);
    assert_int_equal(n, 5);
    assert_near(t[0], 3.2, 1e-12);
    assert_near(t[n - 1], 4.0, 1e-12);
    check_ticks(3.2, 3.9, 6);

    /* swapped bounds: the same as in order */
    double u[64], ustep;
    n = chart_nice_ticks(97, 0, 6, t, &step);
    guint m = chart_nice_ticks(0, 97, 6, u, &ustep);
    assert_int_equal(n, m);
    assert_true(step == ustep);
    assert_memory_equal(t, u, n * sizeof(double));

    /* lo == hi: a non-empty range around the value */
    n = chart_nice_ticks(5, 5, 6, t, &step);
    assert_true(n >= 2 && n <= 6);
    assert_true(t[0] <= 5 && t[n - 1] >= 5 && t[n - 1] > t[0]);
    n = chart_nice_ticks(0, 0, 6, t, &step);
    assert_true(n >= 2 && n <= 6);
    assert_true(t[0] == 0 && t[n - 1] > 0);
    n = chart_nice_ticks(-3e9, -3e9, 6, t, &step);
    assert_true(n >= 2 && n <= 6);
    assert_true(t[0] <= -3e9 && t[n - 1] >= -3e9);

    /* NaN and infinities: a sane finite result (0 .. 1) */
    const double bad[][2] = { { NAN, 1 }, { 0, NAN }, { NAN, NAN }, { -INFINITY, 5 }, { 0, INFINITY }, { INFINITY, -INFINITY } };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        step = NAN;
        n = chart_nice_ticks(bad[i][0], bad[i][1], 2, t, &step);
        assert_int_equal(n, 2);
        assert_true(t[0] == 0 && t[1] == 1 && step == 1);
        n = chart_nice_ticks(bad[i][0], bad[i][1], 6, t, &step);
        assert_true(n >= 2 && n <= 6);
        assert_true(isfinite(step) && step > 0);
        for (guint j = 0; j < n; j++) assert_true(isfinite(t[j]));
        assert_true(t[0] == 0 && t[n - 1] == 1);
    }

    /* max_ticks below 2 is 2; the step pointer may be NULL */
    n = chart_nice_ticks(0, 10, 0, t, NULL);
    assert_true(n == 2);
}

/* Every range of a sweep and every max_ticks 2..12: count <= max_ticks, 1/2/5 steps, equal
 * steps, the first tick at or below lo and the last at or above hi.
 *
 * BUG (render/chart.c, chart_nice_ticks): the step search tries only 1, 2, 5 and 10 x 10^k
 * (k from the raw step); when none of them fits in max_ticks it keeps 10 x 10^k anyway and
 * returns more ticks than asked for, e.g. [9, 11] max 2 -> 0, 10, 20 (3 ticks; 0, 20 fits) and
 * [1.64, 5.16] max 5 -> 1 .. 6 (6 ticks; 0, 2, 4, 6 fits).  The search has to go on to 20 x
 * 10^k, 50 x 10^k ... until the count fits.
 * BUG (same function): ticks are accumulated (v += step), so far from zero the last tick
 * falls short: [1e9, 1e9 + 1] max 6 -> 1e9 .. 1e9 + 0.8 (hi not covered).  Ticks computed as
 * first + i * step do not drift. */
static void test_nice_ticks_sweep(void **state)
{
    (void)state;
    Sweep sw = { 0, 0 };
    const double his[] = { 1, 1.5, 7, 9.99, 10, 10.01, 11, 19, 20.5, 33, 48.5, 97, 99.9, 100, 101, 480, 999, 1001, 1e6, 2.5e9 };
    const double scales[] = { 1e-6, 1e-3, 1, 1e3 };
    for (guint mt = 2; mt <= 12; mt++) {
        for (size_t s = 0; s < G_N_ELEMENTS(scales); s++)
            for (size_t i = 0; i < G_N_ELEMENTS(his); i++) {
                double hi = his[i] * scales[s];
                sweep_ticks(&sw, 0, hi, mt);
                sweep_ticks(&sw, -hi, hi, mt);
                sweep_ticks(&sw, -hi, 0, mt);
                sweep_ticks(&sw, hi * 0.3, hi, mt);
                sweep_ticks(&sw, hi * 0.9, hi, mt);
            }
        /* ranges that straddle a power of ten, and ranges far from zero */
        sweep_ticks(&sw, 9, 11, mt);
        sweep_ticks(&sw, 0.9, 1.1, mt);
        sweep_ticks(&sw, 95, 105, mt);
        sweep_ticks(&sw, 3.2, 3.9, mt);
        sweep_ticks(&sw, 1.6438356164383563, 5.1573491299518697, mt);
        sweep_ticks(&sw, 1e9, 1e9 + 1, mt);
        sweep_ticks(&sw, 36000000000.0, 36000000000.0 + 7, mt);
    }
    /* a pseudo-random sweep */
    guint32 seed = 12345;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        double e = (double)(seed >> 8 & 0xFFF) / 4096.0 * 12 - 6; /* 10^-6 .. 10^6 */
        seed = seed * 1103515245u + 12345u;
        double lo = ((double)(seed >> 8) / 16777216.0 - 0.5) * pow(10, e);
        seed = seed * 1103515245u + 12345u;
        double hi = lo + (double)(seed >> 8) / 16777216.0 * pow(10, e);
        seed = seed * 1103515245u + 12345u;
        guint mt = 2 + (seed >> 8) % 11;
        if (hi > lo) sweep_ticks(&sw, lo, hi, mt);
    }
    if (sw.failed) fail_msg("chart_nice_ticks: %u of %u ranges break the invariants (first ones above)", sw.failed, sw.checked);
}

/* The two failures above, as single cases. */
static void test_nice_ticks_regressions(void **state)
{
    (void)state;
    double t[64], step;
    /* [9, 11] in at most 2 ticks: 0, 20 */
    guint n = chart_nice_ticks(9, 11, 2, t, &step);
    assert_int_equal(n, 2); /* BUG: 3 (0, 10, 20) */
    assert_true(t[0] <= 9 && t[1] >= 11);
    /* [1.64, 5.16] in at most 5 ticks: 0, 2, 4, 6 */
    n = chart_nice_ticks(1.6438356164383563, 5.1573491299518697, 5, t, &step);
    assert_true(n <= 5); /* BUG: 6 (1 .. 6) */
    check_ticks(1.6438356164383563, 5.1573491299518697, 5);
    /* far from zero: the last tick still covers hi */
    n = chart_nice_ticks(1e9, 1e9 + 1, 6, t, &step);
    assert_true(n >= 2 && n <= 6);
    assert_true(t[n - 1] >= 1e9 + 1); /* BUG: last tick 1e9 + 0.8 */
    check_ticks(1e9, 1e9 + 1, 6);
}

/* ------------------------------------------------------------------ 2. values */

static void test_format_value(void **state)
{
    (void)state;
    check_format(0, CHART_UNIT_BYTES, "0 B");
    check_format(512, CHART_UNIT_BYTES, "512 B");
    check_format(1023, CHART_UNIT_BYTES, "1023 B");
    check_format(1024, CHART_UNIT_BYTES, "1 KiB");
    check_format(1536, CHART_UNIT_BYTES, "1.5 KiB");
    check_format(29.5 * 1024, CHART_UNIT_BYTES, "29.5 KiB");
    check_format(10 * 1048576.0, CHART_UNIT_BYTES, "10 MiB");
    check_format(1.5 * 1073741824.0, CHART_UNIT_BYTES, "1.5 GiB");
    check_format(250, CHART_UNIT_US, "250 µs");
    check_format(1000, CHART_UNIT_US, "1 ms");
    check_format(1500, CHART_UNIT_US, "1.5 ms");
    check_format(2e6, CHART_UNIT_US, "2 s");
    check_format(0, CHART_UNIT_US, "0 µs");
    check_format(2, CHART_UNIT_SECONDS, "2 s");
    check_format(0.5, CHART_UNIT_SECONDS, "0.5 s");
    check_format(1.25, CHART_UNIT_SECONDS, "1.25 s");
    check_format(0, CHART_UNIT_SECONDS, "0 s");
    check_format(40, CHART_UNIT_PERCENT, "40 %");
    check_format(12.5, CHART_UNIT_PERCENT, "12.5 %");
    check_format(100, CHART_UNIT_PERCENT, "100 %");
    check_format(1200, CHART_UNIT_NONE, "1,200");
    check_format(0.25, CHART_UNIT_NONE, "0.25");
    check_format(0, CHART_UNIT_NONE, "0");
    check_format(999, CHART_UNIT_NONE, "999");
    check_format(1234567, CHART_UNIT_NONE, "1,234,567");
    check_format(-1200, CHART_UNIT_NONE, "-1,200");
    check_format(-0.0, CHART_UNIT_SECONDS, "0 s");
}

static void test_text_width_and_palette(void **state)
{
    (void)state;
    assert_near(chart_text_width("abcd", 10), 4 * 0.56 * 10, 1e-12);
    assert_near(chart_text_width("250 µs", 10), 6 * 0.56 * 10, 1e-12); /* characters, not bytes */
    assert_near(chart_text_width("", 10), 0, 0);
    assert_near(chart_text_width(NULL, 10), 0, 0);
    /* Okabe–Ito: 8 distinct colours, then repeated; "other" grey is none of them */
    for (guint i = 0; i < 8; i++) {
        for (guint j = 0; j < i; j++) assert_true(chart_palette(i) != chart_palette(j));
        assert_int_equal(chart_palette(i), chart_palette(i + 8));
        assert_true(chart_palette(i) != CHART_OTHER_COLOR);
        assert_true(chart_palette(i) <= 0xFFFFFFu);
    }
    assert_int_equal(chart_palette(0), 0x0072B2);
}

/* ------------------------------------------------------------------ 3. layout */

/* A byte y axis ticks in whole KiB: "10 KiB", "20 KiB" — never "9.77 KiB". */
static void test_layout_bytes_axis(void **state)
{
    (void)state;
    Chart *c = area_chart(900, 400, 48 * 1024.0);
    ChartScene *s = chart_layout(c);
    assert_true(s->plot_w > 0 && s->plot_h > 0);
    const ChartPrim *l[64];
    guint n = y_tick_labels(s, l, 64);
    assert_int_equal(n, s->y_ticks_shown);
    assert_true(n >= 3);
    bool ten = false, twenty = false;
    for (guint i = 0; i < n; i++) {
        const char *t = l[i]->text;
        if (!strcmp(t, "0 B")) continue;
        char *end = NULL;
        double v = g_ascii_strtod(t, &end);
        if (!end || strcmp(end, " KiB")) fail_msg("y tick label \"%s\" is not in KiB", t);
        if (v != floor(v)) fail_msg("y tick label \"%s\" is not a whole number of KiB", t);
        ten |= !strcmp(t, "10 KiB");
        twenty |= !strcmp(t, "20 KiB");
    }
    assert_true(ten && twenty);
    /* one polygon per series, stacked: the top series' upper edge is at the total */
    guint polys = 0;
    for (guint i = 0; i < s->prims->len; i++)
        if (prim(s, i)->kind == PRIM_POLYGON) {
            const ChartPrim *p = prim(s, i);
            assert_int_equal(p->npts, 2 * 201);
            for (guint k = 0; k < p->npts; k++) {
                assert_true(p->pts[2 * k] >= s->plot_x - 1e-9 && p->pts[2 * k] <= s->plot_x + s->plot_w + 1e-9);
                assert_true(p->pts[2 * k + 1] >= s->plot_y - 1e-9 && p->pts[2 * k + 1] <= s->plot_y + s->plot_h + 1e-9);
            }
            polys++;
        }
    assert_int_equal(polys, 2);
    chart_scene_free(s);
    chart_free(c);

    /* MiB: 0..30 MiB in whole MiB steps */
    c = area_chart(900, 400, 29.5 * 1048576.0);
    s = chart_layout(c);
    n = y_tick_labels(s, l, 64);
    assert_true(n >= 3);
    for (guint i = 1; i < n; i++) {
        char *end = NULL;
        double v = g_ascii_strtod(l[i]->text, &end);
        if (!end || strcmp(end, " MiB") || v != floor(v)) fail_msg("y tick label \"%s\" is not whole MiB", l[i]->text);
    }
    chart_scene_free(s);
    chart_free(c);
}

/* X tick labels never overlap; a narrow chart shows fewer of them. */
static void test_layout_x_labels_thinned(void **state)
{
    (void)state;
    guint shown[2];
    const int widths[2] = { 300, 1600 };
    for (int w = 0; w < 2; w++) {
        Chart *c = area_chart(widths[w], 300, 100000);
        /* long tick labels: bytes on x (e.g. "1.5 MiB") over a range that is not round */
        c->x_unit = CHART_UNIT_BYTES;
        for (guint i = 0; i < c->n_x; i++) c->x[i] = 1000.0 + i * 12345.0;
        ChartScene *s = chart_layout(c);
        const ChartPrim *l[64];
        guint n = x_tick_labels(s, l, 64);
        assert_int_equal(n, s->x_ticks_shown);
        assert_true(n >= 1);
        for (guint i = 0; i < n; i++)
            assert_true(l[i]->x >= s->plot_x - 0.5 && l[i]->x <= s->plot_x + s->plot_w + 0.5);
        assert_no_overlap(l, n);
        shown[w] = n;
        chart_scene_free(s);
        chart_free(c);
    }
    assert_true(shown[0] < shown[1]);

    /* the same over a sweep of widths and x units */
    const ChartUnit units[] = { CHART_UNIT_SECONDS, CHART_UNIT_BYTES, CHART_UNIT_NONE, CHART_UNIT_US, CHART_UNIT_PERCENT };
    for (int width = 200; width <= 2000; width += 37)
        for (size_t u = 0; u < G_N_ELEMENTS(units); u++) {
            Chart *c = area_chart(width, 260, 5000);
            c->x_unit = units[u];
            for (guint i = 0; i < c->n_x; i++) c->x[i] = 3.3 + i * 1234.567;
            ChartScene *s = chart_layout(c);
            const ChartPrim *l[64];
            guint n = x_tick_labels(s, l, 64);
            assert_int_equal(n, s->x_ticks_shown);
            assert_no_overlap(l, n);
            chart_scene_free(s);
            chart_free(c);
        }
}

/* A narrow chart of a window that does not start at zero still labels its x axis.
 *
 * BUG (render/chart.c, x_ticks): the x axis asks unit_ticks for at most plot_w / 70 ticks
 * (2 below 210 px) that cover the range *widened to whole ticks*, but unlike the y axis (whose
 * top is nice_max) the x axis is not widened, and ticks outside [lo, hi] are dropped.  With 2
 * ticks both can fall outside: 6.6 .. 46.6 s in 2 ticks is 0, 50 s, so the chart has no x tick
 * labels and no vertical grid lines at all (in a sweep of widths 200..800 and 40 ranges, 12 %
 * of the charts below 400 px have none).  Choosing the ticks among those inside the range (or
 * asking for at least 3) fixes it. */
static void test_layout_x_labels_present(void **state)
{
    (void)state;
    const double ranges[][2] = { { 6.61186, 46.6136 }, { 1.37, 2.8085 }, { 154.003, 469.709 }, { 0, 20 } };
    for (size_t i = 0; i < G_N_ELEMENTS(ranges); i++)
        for (int width = 240; width <= 320; width += 40) {
            Chart *c = area_chart(width, 260, 5000);
            for (guint j = 0; j < c->n_x; j++) c->x[j] = ranges[i][0] + (ranges[i][1] - ranges[i][0]) * j / (c->n_x - 1);
            ChartScene *s = chart_layout(c);
            const ChartPrim *l[64];
            guint n = x_tick_labels(s, l, 64);
            assert_no_overlap(l, n);
            double plot_w = s->plot_w;
            chart_scene_free(s);
            chart_free(c);
            if (n < 1)
                fail_msg("width %d, x %g .. %g s (plot %.0f px wide): no x tick labels", width, ranges[i][0], ranges[i][1],
                         plot_w);
        }
}

/* A 200-character bar label is ellipsised to fit the left 40 % of the chart. */
static void test_layout_hbar_ellipsis(void **state)
{
    (void)state;
    const int width = 800;
    Chart *c = chart_new(CHART_HBAR, width, 300);
    chart_set_titles(c, "AIFO by tag", NULL, "bytes", NULL);
    c->x_unit = CHART_UNIT_BYTES;
    char longl[201];
    for (int i = 0; i < 200; i++) longl[i] = (char)('a' + i % 26);
    longl[200] = 0;
    chart_add_bar(c, longl, 300000);
    chart_add_bar(c, "Leak (leakydrv.sys)", 120000);
    chart_add_bar(c, "Ntfx", 4096);
    ChartScene *s = chart_layout(c);
    const ChartPrim *l[64];
    guint n = y_tick_labels(s, l, 64); /* bar labels: right-aligned left of the bars */
    assert_int_equal(n, 3);
    const ChartPrim *lp = l[0];
    assert_true(g_str_has_suffix(lp->text, "…"));
    size_t kept = strlen(lp->text) - strlen("…");
    assert_true(kept >= 1 && kept < 200);
    assert_memory_equal(lp->text, longl, kept);
    double tw = chart_text_width(lp->text, lp->size);
    assert_true(tw <= width * 0.4 + 1e-9);
    assert_true(lp->x - tw >= 0); /* starts inside the chart */
    assert_true(s->plot_x <= width * 0.4 + 12 + 8 + 1e-9);
    /* short labels are kept whole */
    assert_string_equal(l[1]->text, "Leak (leakydrv.sys)");
    assert_string_equal(l[2]->text, "Ntfx");
    /* bars start at zero (the plot's left edge); the longest is the longest */
    guint bars = 0;
    double wmax = 0;
    for (guint i = 0; i < s->prims->len; i++) {
        const ChartPrim *p = prim(s, i);
        if (p->kind == PRIM_RECT && p->rgb == chart_palette(0)) {
            assert_near(p->x, s->plot_x, 1e-9);
            assert_true(p->x + p->w <= s->plot_x + s->plot_w + 1e-9);
            if (bars == 0) wmax = p->w;
            else assert_true(p->w < wmax);
            bars++;
        }
    }
    assert_int_equal(bars, 3);
    chart_scene_free(s);
    chart_free(c);
}

/* Lane cells: a bar from the lane floor, its height proportional to the busy share, at least 2 px. */
static void test_layout_lanes(void **state)
{
    (void)state;
    Chart *c = chart_new(CHART_LANES, 1000, 400);
    chart_set_titles(c, "DPC/ISR activity per CPU by module", NULL, "time (s from trace start)", NULL);
    c->x_unit = CHART_UNIT_SECONDS;
    c->x_min = 0;
    c->x_max = 10;
    g_ptr_array_add(c->lane_names, g_strdup("CPU 0"));
    g_ptr_array_add(c->lane_names, g_strdup("CPU 1"));
    chart_add_category(c, "stormdrv.sys");
    chart_add_category(c, "ndis.sys");
    chart_add_category(c, "other");
    const ChartCell cells[] = {
        { 0, 0, 1, 0, 1.0 },  { 0, 1, 2, 0, 0.5 },   { 0, 2, 3, 1, 0.25 }, { 1, 3, 4, 2, 0.001 },
        { 1, 4, 5, 1, 0.0 },  { 1, 5, 6, 0, 3.0 },   /* clamped to 1 */
        { 1, 6, 7, -1, 1.0 }, /* no category: not drawn */
        { 5, 7, 8, 0, 1.0 },  /* no such lane: not drawn */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cells); i++) g_array_append_val(c->cells, cells[i]);
    ChartScene *s = chart_layout(c);
    double lane_h = s->plot_h / 2;
    /* cell rects: inside the plot (the legend's swatches are to its right) */
    const ChartPrim *r[16];
    guint n = 0;
    for (guint i = 1; i < s->prims->len; i++) {
        const ChartPrim *p = prim(s, i);
        if (p->kind == PRIM_RECT && p->x >= s->plot_x - 1e-9 && p->x < s->plot_x + s->plot_w) {
            assert_true(n < 16);
            r[n++] = p;
        }
    }
    assert_int_equal(n, 6);
    const double want_alpha[] = { 1.0, 0.5, 0.25, 0.001, 0.0, 1.0 };
    for (guint i = 0; i < n; i++) {
        double want = MAX((lane_h - 4) * want_alpha[i], 2.0);
        assert_near(r[i]->h, want, 1e-9);
        /* on the floor of its lane */
        double floor_y = s->plot_y + lane_h * (cells[i].lane + 1) - 2;
        assert_near(r[i]->y + r[i]->h, floor_y, 1e-9);
        /* x from the data range */
        assert_near(r[i]->x, s->plot_x + cells[i].x0 / 10 * s->plot_w, 1e-9);
        assert_near(r[i]->w, s->plot_w / 10, 1e-9);
        /* colour of its category; "other" grey */
        uint32_t want_rgb = cells[i].category == 2 ? CHART_OTHER_COLOR : chart_palette((guint)cells[i].category);
        assert_int_equal(r[i]->rgb, want_rgb);
    }
    assert_near(r[0]->h / r[1]->h, 2.0, 1e-9);
    assert_near(r[1]->h / r[2]->h, 2.0, 1e-9);
    assert_near(r[3]->h, 2.0, 1e-9);
    /* lane names */
    const ChartPrim *l[16];
    guint nl = y_tick_labels(s, l, 16);
    assert_int_equal(nl, 2);
    assert_string_equal(l[0]->text, "CPU 0");
    assert_string_equal(l[1]->text, "CPU 1");
    chart_scene_free(s);
    chart_free(c);
}

/* A histogram's marker at 100 µs lies inside the 64..128 µs bucket. */
static void test_layout_histogram_marker(void **state)
{
    (void)state;
    Chart *c = chart_new(CHART_HISTOGRAM, 900, 350);
    chart_set_titles(c, "DPC/ISR durations by module", NULL, "duration (log2 buckets)", "DPCs and ISRs");
    c->x_unit = CHART_UNIT_US;
    c->n_x = 12; /* upper bounds 1, 2, 4 .. 2048 µs */
    c->x = g_new(double, c->n_x);
    double v[12] = { 0 };
    for (guint j = 0; j < c->n_x; j++) c->x[j] = ldexp(1, (int)j);
    v[6] = 40; /* (32, 64] */
    v[7] = 25; /* (64, 128] */
    v[11] = 3;
    chart_add_series(c, "ndis.sys", v, c->n_x);
    chart_add_marker(c, 100, "100 µs", true);
    ChartScene *s = chart_layout(c);
    const ChartPrim *b64 = NULL, *b128 = NULL, *mk = NULL;
    for (guint i = 0; i < s->prims->len; i++) {
        const ChartPrim *p = prim(s, i);
        if (p->kind == PRIM_RECT && p->rgb == chart_palette(0) && p->x > s->plot_x - 1e-9) {
            if (!b64) b64 = p;
            else if (!b128) b128 = p;
        }
        if (p->kind == PRIM_LINE && p->dashed) {
            assert_null(mk);
            mk = p;
        }
    }
    assert_non_null(b64);
    assert_non_null(b128);
    assert_non_null(mk);
    assert_true(b64->x < b128->x);
    /* bucket rects are inset by 1 px on both sides: edges at 32, 64, 128 µs */
    double e32 = b64->x - 1, e64 = b64->x + b64->w + 1, e128 = b128->x + b128->w + 1;
    assert_near(b128->x - 1, e64, 1e-9);
    assert_near(e64 - e32, e128 - e64, 1e-9); /* log2 axis: equal widths */
    assert_near(mk->x, mk->w, 0); /* vertical */
    assert_true(mk->x > e64 && mk->x < e128);
    assert_near(mk->x, e64 + log2(100.0 / 64.0) * (e128 - e64), 1e-6);
    assert_near(mk->y, s->plot_y, 1e-9);
    assert_near(mk->h, s->plot_y + s->plot_h, 1e-9);
    /* taller bucket, taller bar */
    assert_true(b64->h > b128->h);
    chart_scene_free(s);
    chart_free(c);
}

/* An empty chart: background, title (and subtitle), the message — nothing else. */
static void check_empty(Chart *c, const char *msg, bool subtitle)
{
    assert_true(chart_is_empty(c));
    ChartScene *s = chart_layout(c);
    guint want = subtitle ? 4 : 3;
    if (s->prims->len != want) {
        for (guint i = 0; i < s->prims->len; i++)
            print_message("prim %u: kind %d text %s\n", i, (int)prim(s, i)->kind, prim(s, i)->text ? prim(s, i)->text : "-");
        fail_msg("empty chart: %u primitives, want %u", s->prims->len, want);
    }
    const ChartPrim *bg = prim(s, 0);
    assert_int_equal(bg->kind, PRIM_RECT);
    assert_true(bg->x == 0 && bg->y == 0 && bg->w == c->width && bg->h == c->height);
    assert_int_equal(prim(s, 1)->kind, PRIM_TEXT);
    assert_string_equal(prim(s, 1)->text, c->title);
    const ChartPrim *m = prim(s, want - 1);
    assert_int_equal(m->kind, PRIM_TEXT);
    assert_int_equal(m->anchor, ANCHOR_MIDDLE);
    assert_string_equal(m->text, msg);
    assert_near(m->x, c->width / 2.0, 1e-9);
    assert_true(m->y > 0 && m->y < c->height);
    assert_int_equal(s->x_ticks_shown, 0);
    assert_int_equal(s->y_ticks_shown, 0);
    chart_scene_free(s);
    chart_free(c);
}

static void test_layout_empty(void **state)
{
    (void)state;
    /* an area chart whose series are all zero */
    Chart *c = area_chart(800, 300, 0);
    c->empty_message = g_strdup("No pool events in this window.");
    check_empty(c, "No pool events in this window.", true);
    /* no samples at all */
    c = chart_new(CHART_STACKED_AREA, 800, 300);
    chart_set_titles(c, "CPU use by process", NULL, "time", "%");
    check_empty(c, "Nothing to draw: the selection holds no data.", false);
    /* hbar with only zero bars; lanes without cells; histogram without series */
    c = chart_new(CHART_HBAR, 800, 300);
    chart_set_titles(c, "AIFO", NULL, NULL, NULL);
    chart_add_bar(c, "Leak", 0);
    c->empty_message = g_strdup("Nothing outstanding.");
    check_empty(c, "Nothing outstanding.", false);
    c = chart_new(CHART_LANES, 800, 300);
    chart_set_titles(c, "Lanes", NULL, NULL, NULL);
    g_ptr_array_add(c->lane_names, g_strdup("CPU 0"));
    chart_add_category(c, "ndis.sys");
    c->empty_message = g_strdup("No DPC or ISR events.");
    check_empty(c, "No DPC or ISR events.", false);
    c = chart_new(CHART_HISTOGRAM, 800, 300);
    chart_set_titles(c, "Histogram", NULL, NULL, NULL);
    c->empty_message = g_strdup("No DPC or ISR events.");
    check_empty(c, "No DPC or ISR events.", false);
}

/* ------------------------------------------------------------------ 4. painting */

static Chart *sample_chart(int width, int height)
{
    Chart *c = area_chart(width, height, 48 * 1024.0);
    /* characters that need escaping in XML */
    chart_set_titles(c, "Pool <bytes> & \"tags\" 'quoted'", "a < b && c > d", "time (s)", "bytes & more");
    chart_add_marker(c, 10, "limit <10 s>", true);
    chart_add_marker(c, 20000, "20 KiB & up", false);
    return c;
}

static void check_svg(const char *buf, size_t len)
{
    assert_true(len > 0);
    xmlDocPtr doc = xmlReadMemory(buf, (int)len, "chart.svg", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) fail_msg("SVG is not well-formed XML (%zu bytes)", len);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_non_null(root);
    assert_string_equal((const char *)root->name, "svg");
    xmlFreeDoc(doc);
}

static void test_paint_files(void **state)
{
    (void)state;
    Chart *c = sample_chart(640, 360);
    ChartScene *s = chart_layout(c);
    char *dir = tu_make_tmpdir();
    assert_non_null(dir);
    GError *err = NULL;

    char *svg = g_build_filename(dir, "chart.svg", NULL);
    assert_true(chart_paint_file(s, CHART_SVG, svg, &err));
    assert_null(err);
    size_t len;
    uint8_t *b = tu_read_file(svg, &len);
    assert_non_null(b);
    check_svg((const char *)b, len);
    g_free(b);

    char *png = g_build_filename(dir, "chart.png", NULL);
    assert_true(chart_paint_file(s, CHART_PNG, png, &err));
    cairo_surface_t *img = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(img), 640);
    assert_int_equal(cairo_image_surface_get_height(img), 360);
    /* the background is white */
    cairo_surface_flush(img);
    const unsigned char *px = cairo_image_surface_get_data(img);
    assert_non_null(px);
    uint32_t p0;
    memcpy(&p0, px, 4);
    assert_int_equal(p0 & 0xFFFFFFu, 0xFFFFFFu);
    cairo_surface_destroy(img);

    char *pdf = g_build_filename(dir, "chart.pdf", NULL);
    assert_true(chart_paint_file(s, CHART_PDF, pdf, &err));
    b = tu_read_file(pdf, &len);
    assert_non_null(b);
    assert_true(len > 5);
    assert_memory_equal(b, "%PDF", 4);
    g_free(b);

    /* a file that cannot be created: an error, not a crash */
    char *bad = g_build_filename(dir, "no-such-dir", "chart.png", NULL);
    assert_false(chart_paint_file(s, CHART_PNG, bad, &err));
    assert_non_null(err);
    g_clear_error(&err);

    /* SVG into memory */
    gsize slen = 0;
    char *str = chart_paint_svg_string(s, &slen);
    assert_non_null(str);
    assert_int_equal(strlen(str), slen);
    check_svg(str, slen);
    g_free(str);

    /* an empty chart paints too */
    chart_scene_free(s);
    chart_free(c);
    c = chart_new(CHART_LANES, 300, 200);
    chart_set_titles(c, "Nothing & nobody", NULL, NULL, NULL);
    s = chart_layout(c);
    str = chart_paint_svg_string(s, &slen);
    check_svg(str, slen);
    g_free(str);
    assert_true(chart_paint_file(s, CHART_PNG, png, &err));
    img = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(img), 300);
    assert_int_equal(cairo_image_surface_get_height(img), 200);
    cairo_surface_destroy(img);

    chart_scene_free(s);
    chart_free(c);
    tu_rm_rf(dir);
    g_free(svg);
    g_free(png);
    g_free(pdf);
    g_free(bad);
    g_free(dir);
}

static void test_format_from_path(void **state)
{
    (void)state;
    ChartFormat f = (ChartFormat)-1;
    assert_true(chart_format_from_path("out/chart.svg", &f));
    assert_int_equal(f, CHART_SVG);
    assert_true(chart_format_from_path("CHART.PNG", &f));
    assert_int_equal(f, CHART_PNG);
    assert_true(chart_format_from_path("a.b/c.pdf", &f));
    assert_int_equal(f, CHART_PDF);
    f = CHART_PDF;
    assert_false(chart_format_from_path("chart.jpg", &f));
    assert_false(chart_format_from_path("chart", &f));
    assert_false(chart_format_from_path("chart.svg.gz", &f));
    assert_false(chart_format_from_path(NULL, &f));
    assert_int_equal(f, CHART_PDF); /* untouched on failure */
}

/* Font caches that cairo and fontconfig keep for the process (not leaks of the code under
 * test; LeakSanitizer would report them).  FcFini is looked up at run time: fontconfig is
 * cairo's dependency, not ours. */
static void release_font_caches(void)
{
    cairo_debug_reset_static_data();
    void (*fc_fini)(void) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "FcFini");
    memcpy(&fc_fini, &sym, sizeof fc_fini);
    if (fc_fini) fc_fini();
}

int main(void)
{
    LIBXML_TEST_VERSION
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nice_ticks_examples),
        cmocka_unit_test(test_nice_ticks_sweep),
        cmocka_unit_test(test_nice_ticks_regressions),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_text_width_and_palette),
        cmocka_unit_test(test_layout_bytes_axis),
        cmocka_unit_test(test_layout_x_labels_thinned),
        cmocka_unit_test(test_layout_x_labels_present),
        cmocka_unit_test(test_layout_hbar_ellipsis),
        cmocka_unit_test(test_layout_lanes),
        cmocka_unit_test(test_layout_histogram_marker),
        cmocka_unit_test(test_layout_empty),
        cmocka_unit_test(test_paint_files),
        cmocka_unit_test(test_format_from_path),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    release_font_caches();
    return rc;
}
