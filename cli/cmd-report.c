/* cmd-report.c — `etla report TRACE [-o FILE.html]`: one self-contained page (no network, no
 * external files) with the trace's health, the pool leak suspects and table, the DPC/ISR table
 * and 0x133 view, and their charts as inline SVG. */
#include "charts.h"
#include "etla-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *report_examples =
    "Examples:\n"
    "  etla report trace.etl                     writes trace-report.html here\n"
    "  etla report -o /tmp/leak.html trace.etl\n"
    "  etla report --from 30 --to 90 -o window.html trace.etl\n"
    "\n"
    "The page needs nothing but a browser: styles, scripts (table sorting) and charts (SVG)\n"
    "are inside it, and it loads nothing from the network.  The top findings are also\n"
    "printed on the terminal.";

/* ------------------------------------------------------------------ HTML helpers */
static void esc(GString *s, const char *t)
{
    for (; t && *t; t++) {
        switch (*t) {
        case '&': g_string_append(s, "&amp;"); break;
        case '<': g_string_append(s, "&lt;"); break;
        case '>': g_string_append(s, "&gt;"); break;
        case '"': g_string_append(s, "&quot;"); break;
        default: g_string_append_c(s, *t); break;
        }
    }
}

static void escf(GString *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void escf(GString *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *t = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    esc(s, t);
    g_free(t);
}

typedef struct {
    GString *s;
    guint    cols;
} Html;

static void th(GString *s, const char *title, bool num)
{
    g_string_append_printf(s, "<th class=\"%s\">", num ? "num" : "txt");
    esc(s, title);
    g_string_append(s, "</th>");
}

static void td_text(GString *s, const char *t)
{
    g_string_append(s, "<td>");
    esc(s, t);
    g_string_append(s, "</td>");
}

static void td_num(GString *s, double sort_value, const char *shown)
{
    char v[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(v, sizeof v, "%.9g", sort_value);
    g_string_append_printf(s, "<td class=\"num\" data-v=\"%s\">", v);
    esc(s, shown);
    g_string_append(s, "</td>");
}

static void td_uint(GString *s, uint64_t v)
{
    char *t = text_uint(v);
    td_num(s, (double)v, t);
    g_free(t);
}

static void td_us(GString *s, double us)
{
    char *t = g_strdup_printf("%.1f", us);
    td_num(s, us, t);
    g_free(t);
}

/* Inline SVG: cairo names glyphs and clips "glyph0-1", "clip1", ... in every file; several
 * charts on one page would share those ids, so each chart's ids get a prefix. */
static void inline_chart(GString *s, const Collected *c, ChartWhich which, guint n, int w, int h)
{
    Chart *ch = chart_build(c, which, w, h, 8);
    ChartScene *sc = chart_layout(ch);
    gsize len;
    char *svg = chart_paint_svg_string(sc, &len);
    const char *start = strstr(svg, "<svg");
    GString *t = g_string_new(start ? start : svg);
    char *pfx = g_strdup_printf("c%u-", n);
    char *pairs[][2] = { { "id=\"", NULL }, { "href=\"#", NULL }, { "url(#", NULL } };
    for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
        char *with = g_strconcat(pairs[i][0], pfx, NULL);
        g_string_replace(t, pairs[i][0], with, 0);
        g_free(with);
    }
    g_string_append_printf(s, "<figure class=\"chart\" role=\"img\" aria-label=\"");
    esc(s, ch->title);
    g_string_append(s, "\">");
    g_string_append_len(s, t->str, (gssize)t->len);
    g_string_append(s, "</figure>\n");
    g_free(pfx);
    g_string_free(t, TRUE);
    g_free(svg);
    chart_scene_free(sc);
    chart_free(ch);
}

static const char *CSS =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;background:#fafafa}"
    "header,main{max-width:1100px;margin:0 auto;padding:0 20px}header{padding-top:20px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}"
    "h3{font-size:15px;margin:18px 0 6px}.sub{color:#666}"
    ".findings{background:#fff;border-left:4px solid #D55E00;padding:10px 16px;margin:16px 0}"
    ".findings li{margin:4px 0}.ok{border-left-color:#009E73}"
    "table{border-collapse:collapse;background:#fff;margin:6px 0 12px;font-size:13px}"
    "th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}"
    "td.stack{white-space:normal;font-family:ui-monospace,monospace;font-size:12px;min-width:30em}"
    "th{background:#f0f0f0;cursor:pointer;user-select:none}th.num,td.num{text-align:right}"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
    "figure.chart{margin:8px 0 16px;background:#fff;border:1px solid #e4e4e4;display:inline-block}"
    "figure.chart svg{display:block;max-width:100%;height:auto}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:8px 0}dt{color:#666}dd{margin:0}"
    "pre{background:#fff;border:1px solid #eee;padding:8px;overflow:auto;font-size:12px}"
    "footer{max-width:1100px;margin:30px auto;padding:0 20px;color:#888;font-size:12px}";

/* Click a header to sort by it (numbers by data-v); no libraries, no network. */
static const char *JS =
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "t.querySelectorAll('th').forEach(function(h,i){h.addEventListener('click',function(){"
    "var asc=h.getAttribute('aria-sort')!=='ascending';"
    "t.querySelectorAll('th').forEach(function(o){o.removeAttribute('aria-sort')});"
    "h.setAttribute('aria-sort',asc?'ascending':'descending');"
    "var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);"
    "rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i];"
    "var u=a.hasAttribute('data-v')?parseFloat(a.getAttribute('data-v')):a.textContent;"
    "var v=c.hasAttribute('data-v')?parseFloat(c.getAttribute('data-v')):c.textContent;"
    "var r=(typeof u==='number')?u-v:String(u).localeCompare(String(v));return asc?r:-r;});"
    "rows.forEach(function(r){b.appendChild(r)});});});});";

/* "2,997.9": microseconds with one decimal and thousands separators */
static char *us_grouped(double us)
{
    uint64_t whole = (uint64_t)us;
    int tenth = (int)((us - (double)whole) * 10 + 0.5);
    if (tenth == 10) {
        whole++;
        tenth = 0;
    }
    char *w = text_uint(whole);
    char *r = g_strdup_printf("%s.%d", w, tenth);
    g_free(w);
    return r;
}

/* ------------------------------------------------------------------ sections */
static void findings(const Collected *c, GString *s, GString *term)
{
    GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
    /* pool */
    PoolViewSpec v = { .keys = { POOL_BY_TAG, POOL_BY_MODULE }, .n_keys = 2, .class_mask = 1u << POOL_AIFO };
    GArray *sus = pool_view(c->pool, &v);
    if (sus->len) {
        const PoolCell *r = &g_array_index(sus, PoolCell, 0);
        GString *t = g_string_new(NULL);
        pool_tag_format(r->tag, t);
        char *b = text_uint(r->bytes), *n = text_uint(r->count);
        g_ptr_array_add(f, g_strdup_printf("Pool: tag %s from %s holds %s bytes in %s allocations never freed in the window (AIFO)%s",
                                           t->str, r->module, b, n, sus->len > 1 ? "; more suspects below" : ""));
        g_free(b);
        g_free(n);
        g_string_free(t, TRUE);
    } else if (pool_health(c->pool)->allocs) {
        g_ptr_array_add(f, g_strdup("Pool: no allocation made in the window is still outstanding at its end"));
    }
    g_array_free(sus, TRUE);
    /* DPC/ISR: the longest dispatch-level routine */
    guint nl;
    const DpcIsrInterval *lg = dpcisr_longest(c->dpc, &nl);
    if (nl) {
        const DpcIsrTotals *tot = dpcisr_totals(c->dpc);
        char *usg = us_grouped(lg[0].us), *ni = text_uint(tot->intervals);
        g_ptr_array_add(f, g_strdup_printf("DPC/ISR: the longest is a %s of %s, %s µs on CPU %u at %.6f s (%s DPC/ISR "
                                           "intervals in the window)",
                                           dpcisr_type_name(lg[0].type), lg[0].module, usg, lg[0].cpu,
                                           dpcisr_time_s(c->dpc, lg[0].start_ts), ni));
        g_free(usg);
        g_free(ni);
        guint ns;
        const DpcIsrSpan *sp = dpcisr_watchdog_spans(c->dpc, &ns);
        const DpcIsrSpan *best = NULL;
        for (guint i = 0; i < ns; i++)
            if (!best || sp[i].us > best->us) best = &sp[i];
        if (best && best->n_shares) {
            char *span = us_grouped(best->us);
            g_ptr_array_add(f, g_strdup_printf("Watchdog view: the longest back-to-back DPC/ISR time is %s µs on CPU %u, mostly %s",
                                               span, best->cpu, best->shares[0].module));
            g_free(span);
        }
    }
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    const EtlStats *st = etl_trace_stats(c->t);
    if (h->events_lost || h->buffers_lost || st->diagnostics)
        g_ptr_array_add(f, g_strdup_printf("Data: %u events and %u buffers lost, %" G_GUINT64_FORMAT
                                           " problems in the file — counts can be short",
                                           h->events_lost, h->buffers_lost, st->diagnostics));
    if (!f->len) g_ptr_array_add(f, g_strdup("No pool or DPC/ISR events in this trace (see the health section)."));
    g_string_append_printf(s, "<section class=\"findings\"><strong>Findings</strong><ul>");
    for (guint i = 0; i < f->len; i++) {
        g_string_append(s, "<li>");
        esc(s, g_ptr_array_index(f, i));
        g_string_append(s, "</li>");
        g_string_append_printf(term, "  - %s\n", (char *)g_ptr_array_index(f, i));
    }
    g_string_append(s, "</ul></section>\n");
    g_ptr_array_free(f, TRUE);
}

static void health(const Collected *c, GString *s)
{
    const EtlLogfileHeader *h = etl_trace_header(c->t);
    const EtlStats *st = etl_trace_stats(c->t);
    const SummaryTotals *tot = summary_totals(c->sum);
    g_string_append(s, "<h2 id=\"health\">Trace health</h2><dl>");
    char *ev = text_uint(st->events);
    g_string_append_printf(s, "<dt>System</dt><dd>Windows %u.%u build %u, %u CPUs, %u-bit</dd>", h->os_major, h->os_minor,
                           h->os_build, h->cpus, h->header_is64 ? 64 : 32);
    g_string_append_printf(s, "<dt>Events</dt><dd>%s over %.3f s</dd>", ev,
                           st->last_ts != INT64_MIN ? etl_time_rel_s(h, st->last_ts) : 0.0);
    g_free(ev);
    g_string_append_printf(s, "<dt>Lost</dt><dd>%u events, %u buffers</dd>", h->events_lost, h->buffers_lost);
    g_string_append_printf(s, "<dt>Problems</dt><dd>%" G_GUINT64_FORMAT " (corrupt or implausible data; reading went on)</dd>",
                           st->diagnostics);
    g_string_append_printf(s, "<dt>Stacks</dt><dd>%" G_GUINT64_FORMAT " stack records</dd>", tot->stack_events);
    g_string_append_printf(s, "<dt>Rundown</dt><dd>%s</dd>",
                           tot->process_rundown + tot->thread_rundown + tot->image_rundown
                               ? "present: processes and modules are named"
                               : "none: modules loaded before the trace resolve to Unknown");
    g_string_append_printf(s, "<dt>Symbols</dt><dd>%s</dd>",
                           tot->image_id || tot->image_dbgid ? "merged (ImageID/DbgID present)"
                                                             : "not merged: merge on the recording machine (xperf -merge)");
    g_string_append(s, "</dl>\n");
}

static void pool_section(const Collected *c, GString *s, guint *chart_n)
{
    const PoolHealth *ph = pool_health(c->pool);
    g_string_append(s, "<h2 id=\"pool\">Pool</h2>\n");
    if (!ph->allocs && !ph->frees) {
        g_string_append(s, "<p>No pool events in this trace.  Record with the POOL kernel flag and pool stacks "
                           "(<code>xperf -on PROC_THREAD+LOADER+POOL -stackwalk PoolAlloc</code>).</p>\n");
        return;
    }
    char *a = text_uint(ph->allocs), *f = text_uint(ph->frees), *m = text_uint(ph->matched);
    g_string_append_printf(s, "<p class=\"sub\">%s allocations, %s frees (%s matched); %" G_GUINT64_FORMAT
                              " frees of blocks allocated before the trace; bytes are requested sizes.</p>\n",
                           a, f, m, ph->frees_unmatched);
    g_free(a);
    g_free(f);
    g_free(m);
    inline_chart(s, c, CHART_POOL_OUTSTANDING, (*chart_n)++, 1000, 420);
    inline_chart(s, c, CHART_POOL_TAGS, (*chart_n)++, 1000, 320);

    g_string_append(s, "<h3>Leak suspects (AIFO by tag and owner module)</h3>\n");
    PoolViewSpec v = { .keys = { POOL_BY_TAG, POOL_BY_MODULE, POOL_BY_STACK }, .n_keys = 3, .class_mask = 1u << POOL_AIFO };
    GArray *rows = pool_view(c->pool, &v);
    g_string_append(s, "<table class=\"sortable\"><thead><tr>");
    th(s, "Tag", false);
    th(s, "Owner module", false);
    th(s, "Count", true);
    th(s, "Bytes", true);
    th(s, "Stack (innermost first)", false);
    g_string_append(s, "</tr></thead><tbody>");
    for (guint i = 0; i < rows->len && i < 50; i++) {
        const PoolCell *r = &g_array_index(rows, PoolCell, i);
        GString *t = g_string_new(NULL);
        pool_tag_format(r->tag, t);
        g_string_append(s, "<tr>");
        td_text(s, t->str);
        td_text(s, r->module);
        td_uint(s, r->count);
        td_uint(s, r->bytes);
        g_string_truncate(t, 0);
        uint32_t n = 0;
        const uint64_t *fr = r->stack ? model_stack_frames(c->m, r->stack, &n, NULL) : NULL;
        for (uint32_t k = 0; k < n && k < 12; k++) {
            if (k) g_string_append(t, " ← ");
            model_format_frame(c->m, r->process, fr[k], r->example_ts, t);
        }
        if (n > 12) g_string_append(t, " …");
        if (!n) g_string_append(t, "(no stack)");
        g_string_append(s, "<td class=\"stack\">");
        esc(s, t->str);
        g_string_append(s, "</td>");
        g_string_append(s, "</tr>");
        g_string_free(t, TRUE);
    }
    g_string_append(s, "</tbody></table>\n");
    g_array_free(rows, TRUE);

    g_string_append(s, "<h3>By class, pool and tag</h3>\n");
    PoolViewSpec v2 = { .keys = { POOL_BY_CLASS, POOL_BY_PAGED, POOL_BY_TAG }, .n_keys = 3 };
    rows = pool_view(c->pool, &v2);
    g_string_append(s, "<table class=\"sortable\"><thead><tr>");
    th(s, "Class", false);
    th(s, "Pool", false);
    th(s, "Tag", false);
    th(s, "Count", true);
    th(s, "Bytes", true);
    g_string_append(s, "</tr></thead><tbody>");
    for (guint i = 0; i < rows->len && i < 200; i++) {
        const PoolCell *r = &g_array_index(rows, PoolCell, i);
        GString *t = g_string_new(NULL);
        pool_tag_format(r->tag, t);
        g_string_append(s, "<tr>");
        td_text(s, pool_class_name(r->cls));
        char *pk = g_strdup_printf("%s%s", r->paged ? "Paged" : "NonPaged", r->session ? " session" : "");
        td_text(s, pk);
        g_free(pk);
        td_text(s, t->str);
        td_uint(s, r->count);
        td_uint(s, r->bytes);
        g_string_append(s, "</tr>");
        g_string_free(t, TRUE);
    }
    g_string_append(s, "</tbody></table>\n");
    g_array_free(rows, TRUE);
}

static void dpc_section(const Collected *c, GString *s, guint *chart_n)
{
    const DpcIsrTotals *tot = dpcisr_totals(c->dpc);
    g_string_append(s, "<h2 id=\"dpcisr\">DPC/ISR</h2>\n");
    if (!tot->intervals) {
        g_string_append(s, "<p>No DPC or ISR events in this window.  Record with the DPC and INTERRUPT kernel flags "
                           "(<code>xperf -on PROC_THREAD+LOADER+DPC+INTERRUPT</code>).</p>\n");
        return;
    }
    g_string_append_printf(s, "<p class=\"sub\">%" G_GUINT64_FORMAT " intervals; guidance: DPCs over %g µs, ISRs over %g µs.</p>\n",
                           tot->intervals, tot->threshold_us[DPCISR_KIND_DPC], tot->threshold_us[DPCISR_KIND_ISR]);
    inline_chart(s, c, CHART_DPC_DURATION, (*chart_n)++, 1000, 400);
    inline_chart(s, c, CHART_DPCISR_TIMELINE, (*chart_n)++, 1000, MIN(120 + 28 * (int)MAX(tot->cpus, 1u), 700));

    g_string_append(s, "<h3>Duration by kind and module</h3>\n");
    GArray *rows = dpcisr_group(c->dpc, DPCISR_BY_KIND | DPCISR_BY_MODULE);
    g_string_append(s, "<table class=\"sortable\"><thead><tr>");
    th(s, "Kind", false);
    th(s, "Module", false);
    th(s, "Count", true);
    th(s, "Total µs", true);
    th(s, "Exclusive µs", true);
    th(s, "Mean µs", true);
    th(s, "Max µs", true);
    th(s, "Max on CPU", true);
    th(s, "Max at s", true);
    th(s, "Over threshold", true);
    g_string_append(s, "</tr></thead><tbody>");
    for (guint i = 0; i < rows->len && i < 200; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        g_string_append(s, "<tr>");
        td_text(s, dpcisr_kind_name(r->kind));
        td_text(s, r->module);
        td_uint(s, r->count);
        td_us(s, r->total_us);
        td_us(s, r->exclusive_us);
        td_us(s, r->mean_us);
        td_us(s, r->max_us);
        td_uint(s, r->max_cpu);
        char *at = g_strdup_printf("%.6f", dpcisr_time_s(c->dpc, r->max_start_ts));
        td_num(s, dpcisr_time_s(c->dpc, r->max_start_ts), at);
        g_free(at);
        td_uint(s, r->over_threshold);
        g_string_append(s, "</tr>");
    }
    g_string_append(s, "</tbody></table>\n");
    g_array_unref(rows);

    g_string_append(s, "<h3>0x133 view: longest single routines</h3>\n");
    guint nl;
    const DpcIsrInterval *lg = dpcisr_longest(c->dpc, &nl);
    g_string_append(s, "<table class=\"sortable\"><thead><tr>");
    th(s, "Type", false);
    th(s, "Module", false);
    th(s, "µs", true);
    th(s, "CPU", true);
    th(s, "Start s", true);
    g_string_append(s, "</tr></thead><tbody>");
    for (guint i = 0; i < nl && i < 10; i++) {
        g_string_append(s, "<tr>");
        td_text(s, dpcisr_type_name(lg[i].type));
        td_text(s, lg[i].module);
        td_us(s, lg[i].us);
        td_uint(s, lg[i].cpu);
        char *at = g_strdup_printf("%.6f", dpcisr_time_s(c->dpc, lg[i].start_ts));
        td_num(s, dpcisr_time_s(c->dpc, lg[i].start_ts), at);
        g_free(at);
        g_string_append(s, "</tr>");
    }
    g_string_append(s, "</tbody></table>\n");
    guint ns;
    const DpcIsrSpan *sp = dpcisr_watchdog_spans(c->dpc, &ns);
    g_string_append(s, "<h3>0x133 view: longest back-to-back DPC/ISR time per CPU</h3>\n<table class=\"sortable\"><thead><tr>");
    th(s, "CPU", true);
    th(s, "Span µs", true);
    th(s, "Busy µs", true);
    th(s, "Intervals", true);
    th(s, "Mostly", false);
    g_string_append(s, "</tr></thead><tbody>");
    for (guint i = 0; i < ns; i++) {
        g_string_append(s, "<tr>");
        td_uint(s, sp[i].cpu);
        td_us(s, sp[i].us);
        td_us(s, sp[i].busy_us);
        td_uint(s, sp[i].intervals);
        td_text(s, sp[i].n_shares ? sp[i].shares[0].module : "");
        g_string_append(s, "</tr>");
    }
    g_string_append(s, "</tbody></table>\n<p class=\"sub\">A DPC_WATCHDOG_VIOLATION (0x133) with parameter 1 = 0 is "
                       "one DPC or ISR running too long; with parameter 1 = 1 it is DISPATCH_LEVEL time piling up on "
                       "one CPU.  Time spent at DISPATCH_LEVEL outside DPCs (a spin lock held by a thread) leaves no "
                       "DPC events and does not show here.</p>\n");
}

/* ------------------------------------------------------------------ command */
int cmd_report(int argc, char **argv)
{
    CliCommon c;
    cli_common_init(&c);
    GOptionContext *ctx = cli_context_new("report", "TRACE",
                                          "Write one self-contained HTML page about a trace: health, pool leak\n"
                                          "suspects and tables, DPC/ISR tables and the 0x133 view, with charts.",
                                          report_examples);
    g_option_context_add_main_entries(ctx, cli_common_entries(&c, true), NULL);
    int rc = EXIT_USAGE;
    char *out_path = NULL;
    if (!cli_parse(ctx, "report", &argc, &argv) || !cli_common_validate("report", &c)) goto out;
    if (c.format_str && c.format != RENDER_TEXT) {
        cli_usage_error("report", "--format does not apply: the report is HTML");
        goto out;
    }
    if (argc != 2) {
        cli_usage_error("report", argc < 2 ? "missing TRACE" : "expected one TRACE, got %d arguments", argc - 1);
        goto out;
    }
    const char *path = argv[1];
    if (c.output) {
        out_path = g_strdup(c.output);
    } else {
        char *base = g_path_get_basename(path);
        char *dot = strrchr(base, '.');
        if (dot && !g_ascii_strcasecmp(dot, ".etl")) *dot = 0;
        out_path = g_strdup_printf("%s-report.html", base);
        g_free(base);
    }
    CliOutput o;
    if (!cli_output_open(&o, out_path, path)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    CliDiagPrinter dp = { .quiet = c.quiet };
    Collected col;
    if (!collect_run(&col, path, c.from_s, c.to_s, 500, c.quiet, c.no_progress, &dp)) {
        cli_output_abort(&o);
        rc = EXIT_RUNTIME;
        goto out;
    }
    GString *s = g_string_new(NULL), *term = g_string_new(NULL);
    char *base = g_path_get_basename(path);
    g_string_append(s, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                       "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>etla report: ");
    esc(s, base);
    g_string_append_printf(s, "</title>\n<style>%s</style></head><body>\n<header><h1>etla report: ", CSS);
    esc(s, base);
    g_string_append(s, "</h1><div class=\"sub\">");
    const EtlLogfileHeader *h = etl_trace_header(col.t);
    const EtlStats *st = etl_trace_stats(col.t);
    char start[40];
    etl_filetime_format_iso8601(h->start_time, start);
    double a = col.from != INT64_MIN ? etl_time_rel_s(h, col.from) : 0;
    double b = col.to != INT64_MAX ? etl_time_rel_s(h, col.to) : st->last_ts != INT64_MIN ? etl_time_rel_s(h, st->last_ts) : 0;
    escf(s, "Recorded %s; window %.3f s to %.3f s%s; etla %s", start, a, b,
         col.from == INT64_MIN && col.to == INT64_MAX ? " (whole trace)" : "", ETLA_VERSION);
    g_string_append(s, "</div>\n");
    findings(&col, s, term);
    g_string_append(s, "<nav class=\"sub\"><a href=\"#pool\">Pool</a> · <a href=\"#dpcisr\">DPC/ISR</a> · "
                       "<a href=\"#cpu\">CPU</a> · <a href=\"#health\">Trace health</a></nav></header>\n<main>\n");
    guint chart_n = 0;
    pool_section(&col, s, &chart_n);
    dpc_section(&col, s, &chart_n);
    g_string_append(s, "<h2 id=\"cpu\">CPU use</h2>\n");
    if (timeline_cpus(col.tl_cpu)) inline_chart(s, &col, CHART_CPU_USAGE, chart_n++, 1000, 380);
    else g_string_append(s, "<p>No context switches in this trace (record with the CSWITCH kernel flag).</p>\n");
    health(&col, s);
    g_string_append(s, "</main>\n<footer>Made by etla from ");
    esc(s, base);
    g_string_append_printf(s, ".  Definitions: pool classes and keys (docs/analyses-pool.md), DPC/ISR intervals "
                              "(docs/analyses-dpcisr.md).</footer>\n<script>%s</script>\n</body></html>\n", JS);
    fwrite(s->str, 1, s->len, o.fp);
    rc = cli_output_commit(&o) ? EXIT_OK : EXIT_RUNTIME;
    if (rc == EXIT_OK) {
        printf("%s: wrote %s\n%s", base, out_path, term->str);
        fflush(stdout);
    }
    g_free(base);
    g_string_free(s, TRUE);
    g_string_free(term, TRUE);
    cli_diag_summary(&dp);
    collect_clear(&col);
    chart_release_caches();
out:
    g_free(out_path);
    g_option_context_free(ctx);
    cli_common_clear(&c);
    return rc;
}
