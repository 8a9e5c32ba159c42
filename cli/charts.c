/* charts.c — collect once, chart many. */
#include "charts.h"

#include <math.h>
#include <string.h>

static const char *const which_names[] = { "pool-outstanding", "pool-tags", "dpc-duration", "dpcisr-timeline",
                                           "cpu-usage" };

const char *chart_which_name(ChartWhich w) { return (unsigned)w < CHART_KIND_COUNT_ ? which_names[w] : "?"; }

bool chart_which_parse(const char *s, ChartWhich *out)
{
    for (int i = 0; i < CHART_KIND_COUNT_; i++)
        if (!g_ascii_strcasecmp(s, which_names[i])) {
            *out = i;
            return true;
        }
    return false;
}

static void collect_feed(void *user, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *mc)
{
    Collected *c = user;
    if (ev->timestamp >= c->from && ev->timestamp <= c->to) summary_add(c->sum, ev);
    if (ev->group == ETL_GROUP_POOL) pool_add(c->pool, ev, k, mc);
    dpcisr_add(c->dpc, ev, k, mc);
    if (k && (k->kind == ETL_K_DPC || k->kind == ETL_K_ISR)) timeline_add(c->tl_dpc, ev, k, mc);
    if (k && k->kind == ETL_K_CSWITCH) timeline_add(c->tl_cpu, ev, k, mc);
}

bool collect_run(Collected *c, const char *path, double from_s, double to_s, guint columns, bool quiet,
                 bool no_progress, CliDiagPrinter *dp)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->t = cli_open_trace(path, dp);
    if (!c->t) return false;
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    c->from = isnan(from_s) ? INT64_MIN : etl_time_from_rel_s(h, from_s);
    c->to = isnan(to_s) ? INT64_MAX : etl_time_from_rel_s(h, to_s);
    c->columns = columns ? columns : 600;
    c->m = model_new(c->t, 0);
    c->sum = summary_new(c->t);
    PoolOptions po;
    pool_options_init(&po);
    po.from = c->from;
    po.to = c->to;
    /* outstanding bytes in as many samples as the timeline has columns (at most 600) */
    int64_t t0 = c->from != INT64_MIN ? c->from : h->ts0;
    double span_s = ((double)h->end_time - (double)h->start_time) / 1e7; /* corrupt headers: no overflow */
    if (c->to != INT64_MAX) span_s = ((double)c->to - (double)t0) / (double)h->ticks_per_second;
    if (!(span_s > 0.001 && span_s < 1e7)) span_s = 1;
    po.series_interval = MAX((int64_t)(span_s / MIN(c->columns, 600u) * (double)h->ticks_per_second), 1);
    c->pool = pool_new(c->m, c->t, &po);
    DpcIsrOptions dopt;
    dpcisr_options_init(&dopt);
    dopt.from_ts = c->from;
    dopt.to_ts = c->to;
    c->dpc = dpcisr_new(c->m, c->t, &dopt);
    c->tl_dpc = timeline_new(TIMELINE_DPCISR, c->m, c->t, c->columns);
    c->tl_cpu = timeline_new(TIMELINE_CPU, c->m, c->t, MIN(c->columns, 300u));
    timeline_set_span(c->tl_dpc, c->from, c->to);
    timeline_set_span(c->tl_cpu, c->from, c->to);

    cli_read_model(c->t, c->m, !quiet && !no_progress, collect_feed, c);
    pool_finish(c->pool);
    dpcisr_finish(c->dpc);
    timeline_finish(c->tl_dpc);
    timeline_finish(c->tl_cpu);
    return true;
}

void collect_clear(Collected *c)
{
    timeline_free(c->tl_cpu);
    timeline_free(c->tl_dpc);
    dpcisr_free(c->dpc);
    pool_free(c->pool);
    if (c->sum) summary_free(c->sum);
    model_free(c->m);
    if (c->t) etl_trace_free(c->t);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ titles */
static char *window_text(const Collected *c)
{
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    const EtlStats *st = etl_trace_stats(c->t);
    double a = c->from != INT64_MIN ? etl_time_rel_s(h, c->from) : 0;
    double b = c->to != INT64_MAX ? etl_time_rel_s(h, c->to) : st->last_ts != INT64_MIN ? etl_time_rel_s(h, st->last_ts) : 0;
    return g_strdup_printf("%s, %.3f s to %.3f s%s", c->path ? strrchr(c->path, '/') ? strrchr(c->path, '/') + 1 : c->path : "",
                           a, b, c->from == INT64_MIN && c->to == INT64_MAX ? " (whole trace)" : "");
}

static char *tag_name(uint32_t tag, bool paged)
{
    GString *s = g_string_new(NULL);
    pool_tag_format(tag, s);
    g_string_append(s, paged ? " (paged)" : "");
    return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------------ the charts */
static Chart *pool_outstanding(const Collected *c, Chart *ch, guint top)
{
    guint nt, ns;
    const int64_t *times;
    const PoolSeries *s = pool_series(c->pool, &nt, &times, &ns);
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    /* only the samples inside the window */
    guint first = 0, last = ns;
    while (first < ns && times[first] < c->from) first++;
    while (last > first && times[last - 1] > c->to) last--;
    ch->n_x = last - first;
    ch->x = g_new0(double, MAX(ch->n_x, 1u));
    for (guint j = first; j < last; j++) ch->x[j - first] = etl_time_rel_s(h, times[j]);
    guint named = MIN(nt, top);
    double *v = g_new0(double, MAX(ch->n_x, 1u));
    double *other = g_new0(double, MAX(ch->n_x, 1u));
    bool any_other = false;
    for (guint i = named; i < nt; i++)
        for (guint j = first; j < last; j++) {
            other[j - first] += (double)s[i].bytes[j];
            any_other |= s[i].bytes[j] > 0;
        }
    /* biggest at the bottom, "other" on top */
    for (guint i = 0; i < named; i++) {
        for (guint j = first; j < last; j++) v[j - first] = (double)s[i].bytes[j];
        char *nm = tag_name(s[i].tag, s[i].paged);
        chart_add_series(ch, nm, v, ch->n_x);
        g_free(nm);
    }
    if (any_other) chart_add_series(ch, "other", other, ch->n_x);
    g_free(v);
    g_free(other);
    ch->x_unit = CHART_UNIT_SECONDS;
    ch->y_unit = CHART_UNIT_BYTES;
    ch->empty_message = g_strdup("No pool allocations outstanding in this window (no pool events, or all freed at once).");
    return ch;
}

static Chart *pool_tags(const Collected *c, Chart *ch, guint top)
{
    PoolViewSpec v = { .keys = { POOL_BY_TAG, POOL_BY_MODULE }, .n_keys = 2, .class_mask = 1u << POOL_AIFO };
    GArray *rows = pool_view(c->pool, &v);
    for (guint i = 0; i < rows->len && i < top; i++) {
        const PoolCell *r = &g_array_index(rows, PoolCell, i);
        GString *s = g_string_new(NULL);
        pool_tag_format(r->tag, s);
        g_string_append_printf(s, " — %s", r->module);
        chart_add_bar(ch, s->str, (double)r->bytes);
        g_string_free(s, TRUE);
    }
    g_array_free(rows, TRUE);
    ch->x_unit = CHART_UNIT_BYTES;
    ch->empty_message = g_strdup("No AIFO pool allocations: everything allocated in this window was freed in it.");
    return ch;
}

static Chart *dpc_duration(const Collected *c, Chart *ch, guint top)
{
    GArray *rows = dpcisr_group(c->dpc, DPCISR_BY_MODULE);
    guint hi = 0;
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        for (guint b = 0; b < DPCISR_HIST_BUCKETS; b++)
            if (r->hist[b] && b + 1 > hi) hi = b + 1;
    }
    hi = MAX(hi, 8u); /* at least up to 128 µs: the guidance lines */
    ch->n_x = hi;
    ch->x = g_new(double, hi);
    for (guint b = 0; b < hi; b++) ch->x[b] = (double)dpcisr_bucket_le_us(b);
    double *v = g_new0(double, hi), *other = g_new0(double, hi);
    bool any_other = false;
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        double *dst = i < top ? v : other;
        if (i < top) memset(v, 0, sizeof(double) * hi);
        for (guint b = 0; b < hi; b++) dst[b] += (double)r->hist[b];
        if (i < top) chart_add_series(ch, r->module, v, hi);
        else any_other = true;
    }
    if (any_other) chart_add_series(ch, "other", other, hi);
    g_free(v);
    g_free(other);
    g_array_unref(rows);
    const DpcIsrTotals *tot = dpcisr_totals(c->dpc);
    char *l1 = g_strdup_printf("ISR %g µs", tot->threshold_us[DPCISR_KIND_ISR]);
    char *l2 = g_strdup_printf("DPC %g µs", tot->threshold_us[DPCISR_KIND_DPC]);
    chart_add_marker(ch, tot->threshold_us[DPCISR_KIND_ISR], l1, true);
    chart_add_marker(ch, tot->threshold_us[DPCISR_KIND_DPC], l2, true);
    g_free(l1);
    g_free(l2);
    ch->x_unit = CHART_UNIT_US;
    ch->y_unit = CHART_UNIT_NONE;
    ch->empty_message = g_strdup("No DPC or ISR events in this window (record with the DPC and INTERRUPT kernel flags).");
    return ch;
}

static Chart *lanes(const Collected *c, Chart *ch, guint top)
{
    const Timeline *tl = c->tl_dpc;
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    guint nk;
    const TimelineKey *keys = timeline_keys(tl, &nk);
    guint named = MIN(nk, top);
    for (guint i = 0; i < named; i++) chart_add_category(ch, keys[i].name);
    if (nk > named) chart_add_category(ch, "other");
    guint cols = timeline_columns(tl), nl = timeline_lanes(tl);
    for (guint l = 0; l < nl; l++) g_ptr_array_add(ch->lane_names, g_strdup_printf("CPU %u", l));
    double t0 = etl_time_rel_s(h, timeline_t0(tl)), t1 = etl_time_rel_s(h, timeline_t1(tl));
    ch->x_min = t0;
    ch->x_max = t1;
    double colw = (t1 - t0) / cols;
    double col_ticks = (double)(timeline_t1(tl) - timeline_t0(tl)) / cols;
    for (guint l = 0; l < nl; l++)
        for (guint col = 0; col < cols; col++) {
            uint64_t busy = timeline_busy(tl, l, col);
            if (!busy) continue;
            /* the column's colour: the key with most time in it */
            guint best = 0;
            uint64_t best_t = 0, named_t = 0;
            for (guint k = 0; k < named; k++) {
                uint64_t tk = timeline_ticks(tl, l, col, k);
                named_t += tk;
                if (tk > best_t) {
                    best_t = tk;
                    best = k;
                }
            }
            int cat = (int)best;
            if (busy - named_t > best_t) cat = (int)named; /* "other" wins */
            ChartCell cell = { l, t0 + colw * col, t0 + colw * (col + 1), cat, (double)busy / col_ticks };
            g_array_append_val(ch->cells, cell);
        }
    ch->x_unit = CHART_UNIT_SECONDS;
    ch->empty_message = g_strdup("No DPC or ISR events in this window (record with the DPC and INTERRUPT kernel flags).");
    return ch;
}

static Chart *cpu_usage(const Collected *c, Chart *ch, guint top)
{
    const Timeline *tl = c->tl_cpu;
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    guint nk;
    const TimelineKey *keys = timeline_keys(tl, &nk);
    guint cols = timeline_columns(tl);
    double t0 = etl_time_rel_s(h, timeline_t0(tl)), t1 = etl_time_rel_s(h, timeline_t1(tl));
    ch->n_x = cols;
    ch->x = g_new(double, cols);
    for (guint i = 0; i < cols; i++) ch->x[i] = t0 + (t1 - t0) * (i + 0.5) / cols;
    uint32_t cpus = MAX(MAX(timeline_cpus(tl), h->cpus), 1u);
    double cap = (double)(timeline_t1(tl) - timeline_t0(tl)) / cols * cpus;
    guint named = MIN(nk, top);
    double *v = g_new0(double, cols), *other = g_new0(double, cols);
    bool any_other = false;
    for (guint k = 0; k < nk; k++) {
        double *dst = k < named ? v : other;
        if (k < named) memset(v, 0, sizeof(double) * cols);
        for (guint i = 0; i < cols; i++) dst[i] += 100.0 * (double)timeline_ticks(tl, 0, i, k) / cap;
        if (k < named) chart_add_series(ch, keys[k].name, v, cols);
        else any_other = true;
    }
    if (any_other) chart_add_series(ch, "other", other, cols);
    g_free(v);
    g_free(other);
    ch->x_unit = CHART_UNIT_SECONDS;
    ch->y_unit = CHART_UNIT_PERCENT;
    ch->empty_message = g_strdup("No context switches in this window (record with the CSWITCH kernel flag).");
    return ch;
}

Chart *chart_build(const Collected *c, ChartWhich which, int width, int height, guint top)
{
    static const ChartKind kinds[] = { CHART_STACKED_AREA, CHART_HBAR, CHART_HISTOGRAM, CHART_LANES, CHART_STACKED_AREA };
    static const char *const titles[] = { "Outstanding pool bytes by tag", "Pool still allocated at the window's end (AIFO) by tag and owner",
                                          "DPC/ISR durations by module", "DPC/ISR activity per CPU by module",
                                          "CPU use by process" };
    static const char *const xt[] = { "time (s from trace start)", "bytes (requested sizes)", "duration (log2 buckets)",
                                      "time (s from trace start)", "time (s from trace start)" };
    static const char *const yt[] = { "outstanding bytes", NULL, "DPCs and ISRs", NULL, "share of all CPUs (%)" };
    Chart *ch = chart_new(kinds[which], width, height);
    char *sub = window_text(c);
    chart_set_titles(ch, titles[which], sub, xt[which], yt[which]);
    g_free(sub);
    top = MAX(top, 1u);
    switch (which) {
    case CHART_POOL_OUTSTANDING: return pool_outstanding(c, ch, top);
    case CHART_POOL_TAGS: return pool_tags(c, ch, top);
    case CHART_DPC_DURATION: return dpc_duration(c, ch, top);
    case CHART_DPCISR_TIMELINE: return lanes(c, ch, top);
    default: return cpu_usage(c, ch, top);
    }
}
