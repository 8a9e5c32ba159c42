/* cmd-dpcisr.c — `etla dpcisr TRACE`: DPC/ISR durations by module, the driver behind a 0x133
 * DPC_WATCHDOG_VIOLATION first, then the table; `--xperf` prints xperf -a dpcisr's layout,
 * `--watchdog` the 0x133 view.  Semantics: analyses/dpcisr.h, docs/analyses-dpcisr.md. */
#include "cli.h"
#include "profile-select.h"
#include "dpcisr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *dpcisr_examples =
    "Examples:\n"
    "  etla dpcisr trace.etl                      the worst driver first, then DPC/ISR time by kind and module\n"
    "  etla dpcisr --by kind,function trace.etl   by routine (module+offset)\n"
    "  etla dpcisr --by module,cpu trace.etl      did DPC time pile up on one CPU?\n"
    "  etla dpcisr --watchdog trace.etl           0x133: longest single routines, longest back-to-back span per CPU\n"
    "  etla dpcisr --threshold-us 50,10 trace.etl count DPCs over 50 us and ISRs over 10 us\n"
    "  etla dpcisr --interval 0.1 trace.etl       also DPC/ISR usage per CPU in 100 ms intervals\n"
    "  etla dpcisr --xperf -o report.txt trace.etl   the layout of `xperf -a dpcisr`\n"
    "  etla dpcisr --format json trace.etl | jq '.rows[] | select(.over_threshold > 0)'\n"
    "\n"
    "An interval runs from the event's InitialTime to its timestamp (the routine's return) on the\n"
    "event's CPU; its module is the image holding the routine address at that time (\"Unknown\"\n"
    "when none).  ISRs that interrupt a DPC nest inside it: Total is inclusive, Exclusive leaves\n"
    "the nested ISRs out.  Keys for --by: kind (DPC, ISR), type (DPC, TimerDPC, ThreadedDPC,\n"
    "ISR, MSI-ISR, PassiveISR), module, function (module+offset), routine (address), cpu.\n"
    "Thresholds are Microsoft's guidance (DPC 100 us, ISR 25 us).  Definitions:\n"
    "docs/analyses-dpcisr.md.";

typedef struct {
    CliCommon c;
    char     *by_str;
    char     *threshold_str;
    double    interval_s;
    double    bucket_s;
    double    gap_us;
    gint64    top;
    gboolean  xperf;
    gboolean  watchdog;
    char     *profile;
    /* resolved */
    unsigned  by;
    double    thr[2];
    bool      interval_given;
} DpcOpts;

typedef struct {
    DpcOpts                *o;
    DpcIsr                 *d;
    const DpcIsrTotals     *tot;
    const EtlLogfileHeader *h;
    const char             *path;
    uint64_t                dpc_events;   /* by kind (counted) */
    uint64_t                isr_events;
} Ctx;

/* ------------------------------------------------------------------ option parsing */

static const struct { const char *name; unsigned bit; } BY_KEYS[] = {
    { "kind", DPCISR_BY_KIND },         { "type", DPCISR_BY_TYPE },     { "module", DPCISR_BY_MODULE },
    { "function", DPCISR_BY_FUNCTION }, { "routine", DPCISR_BY_ROUTINE }, { "cpu", DPCISR_BY_CPU },
};

static bool parse_by(const char *s, unsigned *out)
{
    *out = 0;
    char **parts = g_strsplit(s, ",", -1);
    bool ok = true;
    for (char **p = parts; *p; p++) {
        char *k = g_strstrip(*p);
        bool found = false;
        for (size_t i = 0; i < G_N_ELEMENTS(BY_KEYS); i++)
            if (!g_ascii_strcasecmp(k, BY_KEYS[i].name)) {
                *out |= BY_KEYS[i].bit;
                found = true;
            }
        if (!found) {
            cli_usage_error("dpcisr", "--by: unknown key '%s' (use kind, type, module, function, routine, cpu)", k);
            ok = false;
            break;
        }
    }
    g_strfreev(parts);
    if (ok && !*out) {
        cli_usage_error("dpcisr", "--by needs at least one key (kind, type, module, function, routine, cpu)");
        ok = false;
    }
    return ok;
}

static bool parse_num(const char *s, double *v)
{
    char *end = NULL;
    while (*s == ' ') s++;
    *v = g_ascii_strtod(s, &end);
    while (end && *end == ' ') end++;
    return end && end != s && *end == 0 && isfinite(*v) && *v >= 0;
}

/* "N" (both kinds), "D,I", "dpc=N", "isr=N", "dpc=N,isr=M" */
static bool parse_threshold(const char *s, double thr[2])
{
    char **parts = g_strsplit(s, ",", -1);
    guint n = g_strv_length(parts);
    bool ok = n >= 1 && n <= 2;
    for (guint i = 0; ok && i < n; i++) {
        char *p = g_strstrip(parts[i]);
        char *eq = strchr(p, '=');
        double v;
        if (eq) {
            *eq = 0;
            char *key = g_strstrip(p);
            int k = !g_ascii_strcasecmp(key, "dpc") ? 0 : !g_ascii_strcasecmp(key, "isr") ? 1 : -1;
            if (k < 0 || !parse_num(eq + 1, &v)) ok = false;
            else thr[k] = v;
        } else if (!parse_num(p, &v)) {
            ok = false;
        } else if (n == 1) {
            thr[0] = thr[1] = v;
        } else {
            thr[i] = v;
        }
    }
    g_strfreev(parts);
    if (!ok)
        cli_usage_error("dpcisr", "--threshold-us '%s': give microseconds for both kinds (50), DPC,ISR (100,25), "
                        "or dpc=N / isr=N",
                        s);
    return ok;
}

/* ------------------------------------------------------------------ small formatters */

/* "477,644.9" (one decimal, thousands separators); "-" when negative */
static char *fmt_us(double us)
{
    if (!(us >= 0) || !isfinite(us)) return g_strdup("-");
    double r = floor(us * 10.0 + 0.5);
    uint64_t whole = (uint64_t)(r / 10.0);
    unsigned tenth = (unsigned)(r - (double)whole * 10.0);
    char *w = text_uint(whole);
    char *s = g_strdup_printf("%s.%u", w, tenth);
    g_free(w);
    return s;
}

static char *fmt_raw(double v, int decimals)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[16];
    g_snprintf(fmt, sizeof fmt, "%%.%df", decimals);
    g_ascii_formatd(buf, sizeof buf, fmt, v);
    return g_strdup(buf);
}

static void cell_us(Table *t, double us)
{
    char *text = fmt_us(us), *raw = fmt_raw(us, 3);
    table_cell(t, text, raw, 'n');
    g_free(text);
    g_free(raw);
}

static void cell_num(Table *t, double v, int decimals)
{
    char *raw = fmt_raw(v, decimals);
    table_cell(t, raw, raw, 'n');
    g_free(raw);
}

static char *routine_hex(uint64_t a)
{
    return g_strdup_printf("0x%" G_GINT64_MODIFIER "x", a);
}

/* "ndis.sys+0x2b10", or the bare address when no module holds it */
static char *function_label(const char *module, bool known, uint64_t routine, uint64_t rva)
{
    if (!known) return routine_hex(routine);
    return g_strdup_printf("%s+0x%" G_GINT64_MODIFIER "x", module, rva);
}

static double pct(double part, double whole)
{
    return whole > 0 ? part * 100.0 / whole : 0;
}

/* Tables with a column per CPU and a row per interval (or module) stay printable: a corrupt
 * trace can claim a span of years or CPU indices up to 65535. */
#define MAX_TABLE_CELLS (1u << 20)

static bool table_fits(uint64_t rows, uint32_t cpus)
{
    return rows * (uint64_t)(cpus ? cpus : 1) <= MAX_TABLE_CELLS;
}

static void append_too_big(GString *out, const char *what, uint64_t rows, uint32_t cpus)
{
    g_string_append_printf(out, "\n(%s: %" G_GUINT64_FORMAT " rows by %u CPUs is too large to print; use a longer "
                                "--interval or a --from/--to window)\n",
                           what, rows, cpus);
}

/* ------------------------------------------------------------------ the worst offender */

typedef struct {
    DpcIsrKind  kind;
    const char *module;
    bool        module_known;
    uint64_t    count, over;
    double      total_us, max_us;
    double      ratio;          /* max / threshold */
    uint32_t    max_cpu;
    int64_t     max_start_ts, max_end_ts;
    uint64_t    max_routine;
    DpcIsrType  max_type;
    uint64_t    rva;
} Offender;

/* Per (kind, module), DISPATCH-level types only (ThreadedDPC and passive ISRs are reported but
 * kept apart), ranked by the longest run relative to the kind's threshold. */
static GArray *offenders(const Ctx *x)
{
    GArray *rows = dpcisr_group(x->d, DPCISR_BY_KIND | DPCISR_BY_TYPE | DPCISR_BY_MODULE);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(Offender));
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        if (!dpcisr_type_dispatch(r->type)) continue;
        Offender *o = NULL;
        for (guint j = 0; j < out->len; j++) {
            Offender *q = &g_array_index(out, Offender, j);
            if (q->kind == r->kind && !strcmp(q->module, r->module)) o = q;
        }
        if (!o) {
            g_array_set_size(out, out->len + 1);
            o = &g_array_index(out, Offender, out->len - 1);
            o->kind = r->kind;
            o->module = r->module;
            o->module_known = r->module_known;
            o->max_us = -1;
        }
        o->count += r->count;
        o->over += r->over_threshold;
        o->total_us += r->total_us;
        if (r->max_us > o->max_us || (r->max_us == o->max_us && r->max_end_ts < o->max_end_ts)) {
            o->max_us = r->max_us;
            o->max_cpu = r->max_cpu;
            o->max_start_ts = r->max_start_ts;
            o->max_end_ts = r->max_end_ts;
            o->max_routine = r->max_routine;
            o->max_type = r->max_type;
        }
    }
    g_array_unref(rows);
    /* RVA of the longest routine: from the routine-level rows */
    GArray *fr = dpcisr_group(x->d, DPCISR_BY_KIND | DPCISR_BY_ROUTINE);
    for (guint j = 0; j < out->len; j++) {
        Offender *o = &g_array_index(out, Offender, j);
        double thr = x->tot->threshold_us[o->kind];
        o->ratio = thr > 0 ? o->max_us / thr : o->max_us;
        for (guint i = 0; i < fr->len; i++) {
            const DpcIsrRow *r = &g_array_index(fr, DpcIsrRow, i);
            if (r->kind == o->kind && r->routine == o->max_routine && !strcmp(r->module, o->module)) o->rva = r->rva;
        }
    }
    g_array_unref(fr);
    return out;
}

static gint offender_cmp(gconstpointer a, gconstpointer b)
{
    const Offender *x = a, *y = b;
    if (x->ratio != y->ratio) return x->ratio > y->ratio ? -1 : 1;
    if (x->total_us != y->total_us) return x->total_us > y->total_us ? -1 : 1;
    return strcmp(x->module, y->module);
}

static void append_offender(const Ctx *x, GString *out, const Offender *o, const char *lead)
{
    const char *kn = dpcisr_kind_name(o->kind);
    char *fn = function_label(o->module, o->module_known, o->max_routine, o->rva);
    char *mx = fmt_us(o->max_us), *tt = fmt_us(o->total_us), *cnt = text_uint(o->count), *ov = text_uint(o->over);
    char *safe_mod = text_safe(o->module), *safe_fn = text_safe(fn);
    char tbuf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(tbuf, sizeof tbuf, "%.6f", dpcisr_time_s(x->d, o->max_start_ts));
    g_string_append_printf(out, "%s%s — its longest %s ran %s µs on CPU %u, starting at %s s (routine %s).\n", lead,
                           safe_mod, dpcisr_type_name(o->max_type), mx, o->max_cpu, tbuf, safe_fn);
    g_string_append_printf(out, "  %s of its %s %s%s ran over %g µs; %s µs of %s time in all.\n",
                           o->over ? ov : "none", cnt, kn, o->count == 1 ? "" : "s", x->tot->threshold_us[o->kind], tt, kn);
    g_free(fn);
    g_free(mx);
    g_free(tt);
    g_free(cnt);
    g_free(ov);
    g_free(safe_mod);
    g_free(safe_fn);
}

static void append_headline(const Ctx *x, GString *out)
{
    const DpcIsrTotals *t = x->tot;
    char *base = g_path_get_basename(x->path);
    char *n = text_uint(t->intervals), *nd = text_uint(x->dpc_events), *ni = text_uint(x->isr_events);
    char *sb = text_safe(base);
    g_string_append_printf(out, "%s: %s DPC/ISR intervals (%s DPC, %s ISR) over %.3f s on %u CPUs\n", sb, n, nd, ni,
                           t->span_us / 1e6, t->cpus);
    g_free(sb);
    g_free(base);
    g_free(n);
    g_free(nd);
    g_free(ni);
    if (x->h->events_lost || x->h->buffers_lost)
        g_string_append_printf(out, "WARNING: the trace lost %u events and %u buffers: counts and durations "
                                    "below may be incomplete.\n",
                               x->h->events_lost, x->h->buffers_lost);
    if (!t->clock_ok && t->intervals)
        g_string_append_printf(out, "WARNING: the trace's clock is %s, not QPC or CPU cycles: durations are only "
                                    "as precise as its %.1f µs resolution.\n",
                               etl_clock_type_name(x->h->clock_type), 1e6 / (double)x->h->ticks_per_second);
    g_string_append_c(out, '\n');
}

static void append_answer(const Ctx *x, GString *out)
{
    if (!x->tot->intervals) {
        g_string_append(out, "No DPC or ISR events in this trace");
        if (x->tot->anomalies.outside_window) g_string_append(out, " window");
        g_string_append(out, ".  Record with the DPC and INTERRUPT kernel flags (xperf -on PROC_THREAD+LOADER+DPC+INTERRUPT, "
                             "or WPR's CPU usage profile) to see them.\n\n");
        return;
    }
    GArray *off = offenders(x);
    g_array_sort(off, offender_cmp);
    if (!off->len) {
        g_string_append(out, "Only ThreadedDPCs and passive-level ISRs ran (they run at PASSIVE_LEVEL); see the table.\n\n");
        g_array_unref(off);
        return;
    }
    const Offender *top = &g_array_index(off, Offender, 0);
    if (top->over) {
        append_offender(x, out, top, "Top offender: ");
    } else {
        g_string_append_printf(out, "No DPC ran longer than %g µs and no ISR longer than %g µs (Microsoft's guidance).\n",
                               x->tot->threshold_us[0], x->tot->threshold_us[1]);
        append_offender(x, out, top, "Closest to its threshold: ");
    }
    /* the worst of the other kind, when it differs */
    for (guint i = 1; i < off->len; i++) {
        const Offender *o = &g_array_index(off, Offender, i);
        if (o->kind == top->kind) continue;
        append_offender(x, out, o, o->kind == DPCISR_KIND_ISR ? "Worst ISR module: " : "Worst DPC module: ");
        break;
    }
    g_array_unref(off);
    /* the longest back-to-back span */
    guint ns;
    const DpcIsrSpan *sp = dpcisr_watchdog_spans(x->d, &ns);
    const DpcIsrSpan *best = NULL;
    for (guint i = 0; i < ns; i++)
        if (!best || sp[i].us > best->us) best = &sp[i];
    if (best) {
        char *u = fmt_us(best->us);
        char tbuf[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(tbuf, sizeof tbuf, "%.6f", dpcisr_time_s(x->d, best->start_ts));
        g_string_append_printf(out, "Longest back-to-back DPC/ISR time: %s µs on CPU %u from %s s", u, best->cpu, tbuf);
        if (best->n_shares) {
            char *m = text_safe(best->shares[0].module);
            g_string_append_printf(out, ", mostly %s", m);
            g_free(m);
        }
        g_string_append(out, " (--watchdog for the 0x133 view).\n");
        g_free(u);
    }
    g_string_append_c(out, '\n');
}

/* ------------------------------------------------------------------ the table */

static void add_key_columns(Table *tb, unsigned by)
{
    if (by & DPCISR_BY_KIND) table_add_column(tb, "Kind", "kind", TABLE_LEFT);
    if (by & DPCISR_BY_TYPE) table_add_column(tb, "Type", "type", TABLE_LEFT);
    if (by & (DPCISR_BY_MODULE | DPCISR_BY_FUNCTION | DPCISR_BY_ROUTINE))
        table_add_column(tb, "Module", "module", TABLE_LEFT);
    if (by & DPCISR_BY_FUNCTION) table_add_column(tb, "Function", "function", TABLE_LEFT);
    if (by & DPCISR_BY_ROUTINE) table_add_column(tb, "Routine", "routine", TABLE_LEFT);
    if (by & DPCISR_BY_CPU) table_add_column(tb, "CPU", "cpu", TABLE_RIGHT);
}

static void add_key_cells(Table *tb, unsigned by, const DpcIsrRow *r)
{
    if (by & DPCISR_BY_KIND) table_cell_str(tb, dpcisr_kind_name(r->kind));
    if (by & DPCISR_BY_TYPE) table_cell_str(tb, dpcisr_type_name(r->type));
    if (by & (DPCISR_BY_MODULE | DPCISR_BY_FUNCTION | DPCISR_BY_ROUTINE)) table_cell_str(tb, r->module);
    if (by & DPCISR_BY_FUNCTION) {
        char *f = function_label(r->module, r->module_known, r->routine, r->rva);
        table_cell_str(tb, f);
        g_free(f);
    }
    if (by & DPCISR_BY_ROUTINE) {
        char *a = routine_hex(r->routine);
        table_cell_str(tb, a);
        g_free(a);
    }
    if (by & DPCISR_BY_CPU) table_cell_uint(tb, r->cpu);
}

static Table *rows_table(const Ctx *x, const GArray *rows, bool text, guint limit)
{
    unsigned by = x->o->by;
    Table *tb = table_new();
    add_key_columns(tb, by);
    table_add_column(tb, "Count", "count", TABLE_RIGHT);
    table_add_column(tb, text ? "Total µs" : "total_us", "total_us", TABLE_RIGHT);
    table_add_column(tb, text ? "Exclusive µs" : "exclusive_us", "exclusive_us", TABLE_RIGHT);
    table_add_column(tb, text ? "Mean µs" : "mean_us", "mean_us", TABLE_RIGHT);
    table_add_column(tb, text ? "Max µs" : "max_us", "max_us", TABLE_RIGHT);
    table_add_column(tb, text ? "Max on CPU" : "max_cpu", "max_cpu", TABLE_RIGHT);
    table_add_column(tb, text ? "Max at s" : "max_time_s", "max_time_s", TABLE_RIGHT);
    table_add_column(tb, text ? "Over threshold" : "over_threshold", "over_threshold", TABLE_RIGHT);
    if (!text) table_add_column(tb, "fragments", "fragments", TABLE_RIGHT);
    for (guint i = 0; i < rows->len && (!limit || i < limit); i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        table_begin_row(tb);
        add_key_cells(tb, by, r);
        table_cell_uint(tb, r->count);
        cell_us(tb, r->total_us);
        cell_us(tb, r->exclusive_us);
        cell_us(tb, r->mean_us);
        cell_us(tb, r->max_us);
        table_cell_uint(tb, r->max_cpu);
        cell_num(tb, dpcisr_time_s(x->d, r->max_start_ts), 6);
        table_cell_uint(tb, r->over_threshold);
        if (!text) table_cell_uint(tb, r->fragments);
    }
    return tb;
}

static void append_anomalies(const Ctx *x, GString *out)
{
    const DpcIsrAnomalies *a = &x->tot->anomalies;
    struct { uint64_t n; const char *what; } items[] = {
        { a->negative, "with InitialTime after their timestamp (negative duration): left out" },
        { a->too_long, "longer than 10 s (implausible): left out" },
        { a->undecoded, "DPC/ISR events whose payload did not decode: left out" },
        { a->overlaps, "partly overlapping an earlier interval on the same CPU: counted, not nested" },
        { a->nesting_lost, "may have lost nested intervals beyond the history kept (exclusive time overstated)" },
        { a->spans_split, "watchdog spans may have been split (history cap)" },
        { a->unknown_module, "intervals whose routine is in no known module (\"Unknown\")" },
        { a->cpu_beyond_header, "intervals on a CPU beyond the header's CPU count" },
        { a->interval_overflow, "intervals beyond the last usage interval kept" },
    };
    bool any = false;
    for (size_t i = 0; i < G_N_ELEMENTS(items); i++) {
        if (!items[i].n) continue;
        if (!any) g_string_append(out, "\nAnomalies\n");
        any = true;
        char *n = text_uint(items[i].n);
        g_string_append_printf(out, "  %s %s\n", n, items[i].what);
        g_free(n);
    }
    if (a->outside_window) {
        char *n = text_uint(a->outside_window);
        g_string_append_printf(out, "\n%s intervals ended outside --from/--to and are not counted.\n", n);
        g_free(n);
    }
}

static void append_cpu_table(const Ctx *x, GString *out)
{
    GArray *rows = dpcisr_group(x->d, DPCISR_BY_KIND | DPCISR_BY_CPU);
    uint32_t ncpu = x->tot->cpus;
    double *us = g_new0(double, (gsize)ncpu * 2);
    uint64_t *cnt = g_new0(uint64_t, (gsize)ncpu * 2);
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        if (r->cpu >= ncpu) continue;
        us[r->cpu * 2 + r->kind] += r->total_us;
        cnt[r->cpu * 2 + r->kind] += r->count;
    }
    g_string_append_printf(out, "\nPer CPU (share of the %.3f s span; inclusive time)\n", x->tot->span_us / 1e6);
    Table *tb = table_new();
    table_add_column(tb, "CPU", "cpu", TABLE_RIGHT);
    table_add_column(tb, "DPCs", "dpc_count", TABLE_RIGHT);
    table_add_column(tb, "DPC µs", "dpc_us", TABLE_RIGHT);
    table_add_column(tb, "DPC %", "dpc_pct", TABLE_RIGHT);
    table_add_column(tb, "ISRs", "isr_count", TABLE_RIGHT);
    table_add_column(tb, "ISR µs", "isr_us", TABLE_RIGHT);
    table_add_column(tb, "ISR %", "isr_pct", TABLE_RIGHT);
    uint32_t shown_cpus = x->tot->header_cpus <= DPCISR_MAX_HEADER_CPUS ? x->tot->header_cpus : 0;
    for (uint32_t c = 0; c < ncpu; c++) {
        if (c >= shown_cpus && !cnt[c * 2] && !cnt[c * 2 + 1]) continue; /* only CPUs the header names, or that ran some */
        table_begin_row(tb);
        table_cell_uint(tb, c);
        for (int k = 0; k < 2; k++) {
            table_cell_uint(tb, cnt[c * 2 + k]);
            cell_us(tb, us[c * 2 + k]);
            cell_num(tb, pct(us[c * 2 + k], x->tot->span_us), 2);
        }
    }
    table_render_text(tb, out, 2);
    table_free(tb);
    g_free(us);
    g_free(cnt);
    g_array_unref(rows);
}

static void append_interval_table(const Ctx *x, GString *out)
{
    guint n = dpcisr_usage_intervals(x->d, false);
    uint32_t ncpu = x->tot->cpus;
    double len_s = x->o->interval_s;
    if (!table_fits(n, ncpu)) {
        append_too_big(out, "usage per interval", n, ncpu);
        return;
    }
    g_string_append_printf(out, "\nDPC and ISR time per CPU in %g s intervals (%% of the interval)\n", len_s);
    Table *tb = table_new();
    table_add_column(tb, "Start s", "start_s", TABLE_RIGHT);
    for (uint32_t c = 0; c < ncpu; c++) {
        char *a = g_strdup_printf("CPU %u DPC %%", c), *b = g_strdup_printf("CPU %u ISR %%", c);
        table_add_column(tb, a, a, TABLE_RIGHT);
        table_add_column(tb, b, b, TABLE_RIGHT);
        g_free(a);
        g_free(b);
    }
    for (guint i = 0; i < n; i++) {
        table_begin_row(tb);
        cell_num(tb, x->tot->span_start_rel_s + (double)i * len_s, 3);
        for (uint32_t c = 0; c < ncpu; c++)
            for (int k = 0; k < 2; k++)
                cell_num(tb, pct((double)dpcisr_usage_at(x->d, false, k, c, i) / 1e3, len_s * 1e6), 2);
    }
    table_render_text(tb, out, 2);
    table_free(tb);
}

static void render_text(const Ctx *x, GString *out)
{
    append_headline(x, out);
    append_answer(x, out);
    if (!x->tot->intervals) {
        append_anomalies(x, out);
        return;
    }
    GArray *rows = dpcisr_group(x->d, x->o->by);
    guint limit = x->o->top < 0 ? 30 : (guint)x->o->top;
    g_string_append_printf(out, "DPC/ISR duration by ");
    bool first = true;
    for (size_t i = 0; i < G_N_ELEMENTS(BY_KEYS); i++)
        if (x->o->by & BY_KEYS[i].bit) {
            g_string_append_printf(out, "%s%s", first ? "" : ", ", BY_KEYS[i].name);
            first = false;
        }
    g_string_append_printf(out, " (µs; Over threshold: DPC > %g µs, ISR > %g µs)\n", x->tot->threshold_us[0],
                           x->tot->threshold_us[1]);
    Table *tb = rows_table(x, rows, true, limit);
    table_render_text(tb, out, 2);
    table_free(tb);
    if (limit && rows->len > limit)
        g_string_append_printf(out, "  (%u more rows: --top 0 shows all)\n", rows->len - limit);
    g_array_unref(rows);
    append_cpu_table(x, out);
    if (x->o->interval_given) append_interval_table(x, out);
    append_anomalies(x, out);
    g_string_append(out,
                    "\nTotal is inclusive (an ISR that interrupted a DPC counts in both); Exclusive leaves nested\n"
                    "intervals out.  Max at s is when the longest one started.  ThreadedDPCs and passive ISRs\n"
                    "run at PASSIVE_LEVEL: they are listed but never named as the top offender.\n");
}

/* ------------------------------------------------------------------ JSON */

static void json_histogram(JsonWriter *w, const uint64_t *hist)
{
    int top = -1;
    for (int b = 0; b < DPCISR_HIST_BUCKETS; b++)
        if (hist[b]) top = b;
    json_begin_array(w);
    for (int b = 0; b <= top; b++) {
        json_begin_object(w);
        json_key(w, "le_us");
        json_uint(w, dpcisr_bucket_le_us((unsigned)b));
        json_key(w, "count");
        json_uint(w, hist[b]);
        json_end_object(w);
    }
    json_end_array(w);
}

static void json_keys(const Ctx *x, JsonWriter *w, const DpcIsrRow *r)
{
    unsigned by = x->o->by;
    if (by & DPCISR_BY_KIND) { json_key(w, "kind"); json_string(w, dpcisr_kind_name(r->kind)); }
    if (by & DPCISR_BY_TYPE) { json_key(w, "type"); json_string(w, dpcisr_type_name(r->type)); }
    if (by & (DPCISR_BY_MODULE | DPCISR_BY_FUNCTION | DPCISR_BY_ROUTINE)) {
        json_key(w, "module");
        json_string(w, r->module);
    }
    if (by & DPCISR_BY_FUNCTION) {
        char *f = function_label(r->module, r->module_known, r->routine, r->rva);
        json_key(w, "function");
        json_string(w, f);
        g_free(f);
    }
    if (by & DPCISR_BY_ROUTINE) {
        char *a = routine_hex(r->routine);
        json_key(w, "routine");
        json_string(w, a);
        g_free(a);
    }
    if (by & DPCISR_BY_CPU) { json_key(w, "cpu"); json_uint(w, r->cpu); }
}

static void json_anomalies(const Ctx *x, JsonWriter *w)
{
    const DpcIsrAnomalies *a = &x->tot->anomalies;
    json_begin_object(w);
    json_key(w, "negative_duration"); json_uint(w, a->negative);
    json_key(w, "too_long"); json_uint(w, a->too_long);
    json_key(w, "undecoded"); json_uint(w, a->undecoded);
    json_key(w, "partial_overlaps"); json_uint(w, a->overlaps);
    json_key(w, "nesting_lost"); json_uint(w, a->nesting_lost);
    json_key(w, "spans_split"); json_uint(w, a->spans_split);
    json_key(w, "unknown_module"); json_uint(w, a->unknown_module);
    json_key(w, "cpu_beyond_header"); json_uint(w, a->cpu_beyond_header);
    json_key(w, "outside_window"); json_uint(w, a->outside_window);
    json_key(w, "interval_overflow"); json_uint(w, a->interval_overflow);
    json_end_object(w);
}

static void json_interval(const Ctx *x, JsonWriter *w, const DpcIsrInterval *v)
{
    json_begin_object(w);
    json_key(w, "kind"); json_string(w, dpcisr_kind_name(dpcisr_type_kind(v->type)));
    json_key(w, "type"); json_string(w, dpcisr_type_name(v->type));
    json_key(w, "module"); json_string(w, v->module);
    char *a = routine_hex(v->routine), *f = function_label(v->module, v->module_known, v->routine, v->rva);
    json_key(w, "routine"); json_string(w, a);
    json_key(w, "function"); json_string(w, f);
    g_free(a);
    g_free(f);
    json_key(w, "cpu"); json_uint(w, v->cpu);
    json_key(w, "start_s"); json_double(w, dpcisr_time_s(x->d, v->start_ts), 9);
    json_key(w, "end_s"); json_double(w, dpcisr_time_s(x->d, v->end_ts), 9);
    json_key(w, "duration_us"); json_double(w, v->us, 3);
    json_key(w, "exclusive_us"); json_double(w, v->exclusive_us, 3);
    json_end_object(w);
}

static void json_watchdog(const Ctx *x, JsonWriter *w)
{
    guint n;
    const DpcIsrInterval *lg = dpcisr_longest(x->d, &n);
    json_key(w, "longest");
    json_begin_array(w);
    for (guint i = 0; i < n; i++) json_interval(x, w, &lg[i]);
    json_end_array(w);
    const DpcIsrSpan *sp = dpcisr_watchdog_spans(x->d, &n);
    json_key(w, "spans");
    json_begin_array(w);
    for (guint i = 0; i < n; i++) {
        json_begin_object(w);
        json_key(w, "cpu"); json_uint(w, sp[i].cpu);
        json_key(w, "start_s"); json_double(w, dpcisr_time_s(x->d, sp[i].start_ts), 9);
        json_key(w, "end_s"); json_double(w, dpcisr_time_s(x->d, sp[i].end_ts), 9);
        json_key(w, "span_us"); json_double(w, sp[i].us, 3);
        json_key(w, "busy_us"); json_double(w, sp[i].busy_us, 3);
        json_key(w, "intervals"); json_uint(w, sp[i].intervals);
        json_key(w, "modules");
        json_begin_array(w);
        for (guint j = 0; j < sp[i].n_shares; j++) {
            json_begin_object(w);
            json_key(w, "module"); json_string(w, sp[i].shares[j].module);
            json_key(w, "count"); json_uint(w, sp[i].shares[j].count);
            json_key(w, "exclusive_us"); json_double(w, sp[i].shares[j].us, 3);
            json_end_object(w);
        }
        json_end_array(w);
        json_end_object(w);
    }
    json_end_array(w);
}

static void render_json(const Ctx *x, FILE *fp)
{
    const DpcIsrTotals *t = x->tot;
    JsonWriter *w = json_writer_new(fp, true);
    json_begin_object(w);
    json_key(w, "file"); json_string(w, x->path);
    json_key(w, "trace_span_us"); json_double(w, t->span_us, 3);
    json_key(w, "span_start_s"); json_double(w, t->span_start_rel_s, 9);
    json_key(w, "cpus"); json_uint(w, t->cpus);
    json_key(w, "clock_type"); json_string(w, etl_clock_type_name(x->h->clock_type));
    json_key(w, "events_lost"); json_uint(w, x->h->events_lost);
    json_key(w, "buffers_lost"); json_uint(w, x->h->buffers_lost);
    json_key(w, "by");
    json_begin_array(w);
    for (size_t i = 0; i < G_N_ELEMENTS(BY_KEYS); i++)
        if (x->o->by & BY_KEYS[i].bit) json_string(w, BY_KEYS[i].name);
    json_end_array(w);
    json_key(w, "threshold_us");
    json_begin_object(w);
    json_key(w, "DPC"); json_double(w, t->threshold_us[0], 3);
    json_key(w, "ISR"); json_double(w, t->threshold_us[1], 3);
    json_end_object(w);
    json_key(w, "intervals"); json_uint(w, t->intervals);
    json_key(w, "by_type");
    json_begin_object(w);
    for (int i = 0; i < DPCISR_TYPE_COUNT_; i++) {
        json_key(w, dpcisr_type_name(i));
        json_uint(w, t->by_type[i]);
    }
    json_end_object(w);
    json_key(w, "anomalies");
    json_anomalies(x, w);
    if (!x->o->watchdog) {
        GArray *rows = dpcisr_group(x->d, x->o->by);
        json_key(w, "rows");
        json_begin_array(w);
        for (guint i = 0; i < rows->len; i++) {
            const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
            json_begin_object(w);
            json_keys(x, w, r);
            json_key(w, "count"); json_uint(w, r->count);
            json_key(w, "total_us"); json_double(w, r->total_us, 3);
            json_key(w, "exclusive_us"); json_double(w, r->exclusive_us, 3);
            json_key(w, "max_us"); json_double(w, r->max_us, 3);
            json_key(w, "mean_us"); json_double(w, r->mean_us, 3);
            json_key(w, "over_threshold"); json_uint(w, r->over_threshold);
            json_key(w, "max_cpu"); json_uint(w, r->max_cpu);
            json_key(w, "max_time_s"); json_double(w, dpcisr_time_s(x->d, r->max_start_ts), 9);
            json_key(w, "fragments"); json_uint(w, r->fragments);
            json_key(w, "histogram"); json_histogram(w, r->hist);
            json_end_object(w);
        }
        json_end_array(w);
        g_array_unref(rows);
        if (x->o->interval_given) {
            guint n = dpcisr_usage_intervals(x->d, false);
            json_key(w, "interval_s"); json_double(w, x->o->interval_s, 6);
            json_key(w, "usage");
            if (!table_fits(n, t->cpus)) n = 0; /* see table_fits: an empty list */
            json_begin_array(w);
            for (guint i = 0; i < n; i++) {
                json_begin_object(w);
                json_key(w, "start_s"); json_double(w, t->span_start_rel_s + (double)i * x->o->interval_s, 6);
                json_key(w, "cpus");
                json_begin_array(w);
                for (uint32_t c = 0; c < t->cpus; c++) {
                    json_begin_object(w);
                    json_key(w, "dpc_us"); json_double(w, (double)dpcisr_usage_at(x->d, false, DPCISR_KIND_DPC, c, i) / 1e3, 3);
                    json_key(w, "isr_us"); json_double(w, (double)dpcisr_usage_at(x->d, false, DPCISR_KIND_ISR, c, i) / 1e3, 3);
                    json_end_object(w);
                }
                json_end_array(w);
                json_end_object(w);
            }
            json_end_array(w);
        }
    }
    json_watchdog(x, w);
    json_end_object(w);
    json_newline(w);
    json_writer_free(w);
}

/* ------------------------------------------------------------------ --watchdog (text, CSV) */

static Table *longest_table(const Ctx *x, bool text)
{
    guint n;
    const DpcIsrInterval *lg = dpcisr_longest(x->d, &n);
    Table *tb = table_new();
    table_add_column(tb, "#", "rank", TABLE_RIGHT);
    table_add_column(tb, "Type", "type", TABLE_LEFT);
    table_add_column(tb, "Module", "module", TABLE_LEFT);
    table_add_column(tb, "Function", "function", TABLE_LEFT);
    if (!text) table_add_column(tb, "routine", "routine", TABLE_LEFT);
    table_add_column(tb, "CPU", "cpu", TABLE_RIGHT);
    table_add_column(tb, text ? "Start s" : "start_s", "start_s", TABLE_RIGHT);
    table_add_column(tb, text ? "Duration µs" : "duration_us", "duration_us", TABLE_RIGHT);
    table_add_column(tb, text ? "Exclusive µs" : "exclusive_us", "exclusive_us", TABLE_RIGHT);
    for (guint i = 0; i < n; i++) {
        const DpcIsrInterval *v = &lg[i];
        table_begin_row(tb);
        table_cell_uint(tb, i + 1);
        table_cell_str(tb, dpcisr_type_name(v->type));
        table_cell_str(tb, v->module);
        char *f = function_label(v->module, v->module_known, v->routine, v->rva);
        table_cell_str(tb, f);
        g_free(f);
        if (!text) {
            char *a = routine_hex(v->routine);
            table_cell_str(tb, a);
            g_free(a);
        }
        table_cell_uint(tb, v->cpu);
        cell_num(tb, dpcisr_time_s(x->d, v->start_ts), 6);
        cell_us(tb, v->us);
        cell_us(tb, v->exclusive_us);
    }
    return tb;
}

static void render_watchdog_text(const Ctx *x, GString *out)
{
    append_headline(x, out);
    g_string_append(out, "Bug check 0x133 DPC_WATCHDOG_VIOLATION view\n\n");
    g_string_append(out, "Longest single DPCs and ISRs (parameter 1 = 0: one routine over its time allotment;\n"
                         "ThreadedDPCs and passive ISRs excluded, they run at PASSIVE_LEVEL)\n");
    Table *tb = longest_table(x, true);
    if (table_rows(tb)) table_render_text(tb, out, 2);
    else g_string_append(out, "  (none)\n");
    table_free(tb);

    guint n;
    const DpcIsrSpan *sp = dpcisr_watchdog_spans(x->d, &n);
    g_string_append_printf(out, "\nPer CPU, the longest back-to-back DPC/ISR time (parameter 1 = 1: cumulative time at\n"
                                "DISPATCH_LEVEL or above; intervals with gaps of at most %g µs merged)\n",
                           x->tot->gap_us);
    Table *st = table_new();
    table_add_column(st, "CPU", "cpu", TABLE_RIGHT);
    table_add_column(st, "Start s", "start_s", TABLE_RIGHT);
    table_add_column(st, "Span µs", "span_us", TABLE_RIGHT);
    table_add_column(st, "Busy µs", "busy_us", TABLE_RIGHT);
    table_add_column(st, "Intervals", "intervals", TABLE_RIGHT);
    table_add_column(st, "Composition (exclusive µs by module)", "modules", TABLE_LEFT);
    for (guint i = 0; i < n; i++) {
        table_begin_row(st);
        table_cell_uint(st, sp[i].cpu);
        cell_num(st, dpcisr_time_s(x->d, sp[i].start_ts), 6);
        cell_us(st, sp[i].us);
        cell_us(st, sp[i].busy_us);
        table_cell_uint(st, sp[i].intervals);
        GString *comp = g_string_new(NULL);
        for (guint j = 0; j < sp[i].n_shares && j < 4; j++) {
            char *u = fmt_us(sp[i].shares[j].us);
            g_string_append_printf(comp, "%s%s %s (%" G_GUINT64_FORMAT ")", j ? ", " : "", sp[i].shares[j].module, u,
                                   sp[i].shares[j].count);
            g_free(u);
        }
        if (sp[i].n_shares > 4) g_string_append_printf(comp, ", %u more", sp[i].n_shares - 4);
        table_cell_str(st, comp->str);
        g_string_free(comp, TRUE);
    }
    if (n) table_render_text(st, out, 2);
    else g_string_append(out, "  (none)\n");
    table_free(st);
    append_anomalies(x, out);
    g_string_append(out,
                    "\nWhat this trace can and cannot show\n"
                    "  - A DPC or ISR is logged when it returns.  A routine still running when the trace stopped\n"
                    "    (the one the bug check caught, if the trace came from the crash dump) has no event.\n"
                    "  - Time at DISPATCH_LEVEL outside DPCs (code holding a spin lock, or after KeRaiseIrql)\n"
                    "    leaves no DPC or ISR event, so the spans above are a lower bound of the cumulative\n"
                    "    time the watchdog counts.  CPU sampling (SampledProfile) may show such code.\n"
                    "  - The watchdog limits themselves (parameters 2 and 3 of the bug check, in clock ticks) are\n"
                    "    not in the trace; compare with the dump's parameters.\n"
                    "  - Microsoft's guidance: DPCs should not run longer than 100 µs, ISRs not longer than 25 µs;\n"
                    "    the bug check fires far later (seconds).\n");
}

/* ------------------------------------------------------------------ --xperf */

static int modname_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint64_t trunc_us(double us)
{
    return us > 0 ? (uint64_t)floor(us + 1e-9) : 0;
}

static void xperf_hist(GString *out, const uint64_t *hist, uint64_t total)
{
    for (int b = 0; b < DPCISR_HIST_BUCKETS; b++) {
        if (!hist[b]) continue;
        uint64_t lo = b ? dpcisr_bucket_le_us((unsigned)b - 1) : 0, hi = dpcisr_bucket_le_us((unsigned)b);
        g_string_append_printf(out, "Elapsed Time, > %8" G_GUINT64_FORMAT " usecs AND <= %8" G_GUINT64_FORMAT
                                    " usecs, %6" G_GUINT64_FORMAT ", or %6.2f%%\n",
                               lo, hi, hist[b], pct((double)hist[b], (double)total));
    }
    g_string_append_printf(out, "Total,%50s%6" G_GUINT64_FORMAT "\n", "", total);
}

static void xperf_section(const Ctx *x, GString *out, DpcIsrKind kind)
{
    const DpcIsrTotals *t = x->tot;
    uint32_t ncpu = t->cpus;
    int64_t t0 = (int64_t)floor(t->span_start_rel_s * 1e6 + 0.5);
    if (t0 < 0) t0 = 0;
    uint64_t span_usec = trunc_us(t->span_us);
    g_string_append_printf(out, "\n--------------------------\n%s Info\n\n", kind == DPCISR_KIND_DPC ? "DPC" : "Interrupt");
    g_string_append(out, "--------------------------\nCPU Usage Summing By Module For the Whole Trace\n\n");
    g_string_append_printf(out, "CPU Usage from %" G_GINT64_FORMAT " us to %" G_GINT64_FORMAT " us:\n\n", t0,
                           t0 + (int64_t)span_usec);
    bool fits = table_fits(64, ncpu);
    if (!fits) {
        append_too_big(out, "CPU usage by module", 64, ncpu);
    } else {
        for (uint32_t c = 0; c < ncpu; c++) g_string_append_printf(out, "     CPU %u Usage,", c);
        g_string_append_c(out, '\n');
        for (uint32_t c = 0; c < ncpu; c++) g_string_append(out, "     usec      %,");
        g_string_append(out, " Module\n");
    }

    GArray *cells = dpcisr_group(x->d, DPCISR_BY_KIND | DPCISR_BY_MODULE | DPCISR_BY_CPU);
    GArray *mods = dpcisr_group(x->d, DPCISR_BY_KIND | DPCISR_BY_MODULE);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < mods->len; i++) {
        const DpcIsrRow *r = &g_array_index(mods, DpcIsrRow, i);
        if (r->kind != kind) continue;
        g_ptr_array_add(names, r->module_known ? g_strdup(r->module) : g_strdup_printf("\"%s\"", r->module));
    }
    if (names->len) qsort(names->pdata, names->len, sizeof(gpointer), modname_cmp);
    uint64_t *row_us = g_new0(uint64_t, ncpu ? ncpu : 1);
    for (guint m = 0; fits && m < names->len; m++) {
        const char *name = g_ptr_array_index(names, m);
        memset(row_us, 0, sizeof(uint64_t) * (ncpu ? ncpu : 1));
        for (guint i = 0; i < cells->len; i++) {
            const DpcIsrRow *r = &g_array_index(cells, DpcIsrRow, i);
            bool same = r->module_known ? !strcmp(name, r->module)
                                        : (name[0] == '"' && !strncmp(name + 1, r->module, strlen(r->module)));
            if (r->kind == kind && same && r->cpu < ncpu) row_us[r->cpu] = trunc_us(r->total_us);
        }
        for (uint32_t c = 0; c < ncpu; c++)
            g_string_append_printf(out, "%10" G_GUINT64_FORMAT " %5.2f,", row_us[c],
                                   pct((double)row_us[c], (double)span_usec));
        char *sn = text_safe(name);
        g_string_append_printf(out, " %s\n", sn);
        g_free(sn);
    }
    g_free(row_us);

    /* histograms: all, then per module */
    uint64_t all_hist[DPCISR_HIST_BUCKETS] = { 0 }, all = 0, sum_mod = 0;
    for (guint i = 0; i < mods->len; i++) {
        const DpcIsrRow *r = &g_array_index(mods, DpcIsrRow, i);
        if (r->kind != kind) continue;
        all += r->count;
        for (int b = 0; b < DPCISR_HIST_BUCKETS; b++) all_hist[b] += r->hist[b];
    }
    g_string_append_printf(out, "\nTotal = %" G_GUINT64_FORMAT "\n", all);
    xperf_hist(out, all_hist, all);
    for (guint m = 0; m < names->len; m++) {
        const char *name = g_ptr_array_index(names, m);
        for (guint i = 0; i < mods->len; i++) {
            const DpcIsrRow *r = &g_array_index(mods, DpcIsrRow, i);
            bool same = r->module_known ? !strcmp(name, r->module) : name[0] == '"';
            if (r->kind != kind || !same) continue;
            char *sn = text_safe(name);
            g_string_append_printf(out, "\nTotal = %" G_GUINT64_FORMAT " for module %s\n", r->count, sn);
            g_free(sn);
            xperf_hist(out, r->hist, r->count);
            sum_mod += r->count;
        }
    }
    g_string_append_printf(out, "\nAll Module = %" G_GUINT64_FORMAT ",  Total = %" G_GUINT64_FORMAT ",   %s\n", sum_mod, all,
                           sum_mod == all ? "EQUAL" : "NOT EQUAL");
    g_ptr_array_free(names, TRUE);
    g_array_unref(mods);
    g_array_unref(cells);

    /* usage in intervals */
    guint n = dpcisr_usage_intervals(x->d, false);
    double len_ms = x->o->interval_s * 1e3;
    if (!table_fits(n, ncpu)) {
        append_too_big(out, "usage per interval", n, ncpu);
        return;
    }
    g_string_append_printf(out, "\n--------------------------\nUsage From %" G_GINT64_FORMAT " ms to %" G_GINT64_FORMAT
                                " ms, Summing In %g second intervals. Intervals=%u\n\n",
                           t0 / 1000, (t0 + (int64_t)span_usec) / 1000, x->o->interval_s, n);
    g_string_append(out, "                       ,");
    for (uint32_t c = 0; c < ncpu; c++) g_string_append_printf(out, "      CPU %u Usage ,", c);
    g_string_append(out, "\nStart (ms) End (ms)    ,");
    for (uint32_t c = 0; c < ncpu; c++) g_string_append(out, "    (usec)      % ,");
    g_string_append_c(out, '\n');
    for (guint i = 0; i < n; i++) {
        int64_t a = (int64_t)floor((double)t0 / 1000.0 + (double)i * len_ms + 0.5);
        int64_t b = (int64_t)floor((double)t0 / 1000.0 + (double)(i + 1) * len_ms + 0.5);
        g_string_append_printf(out, "%10" G_GINT64_FORMAT "-%-10" G_GINT64_FORMAT ":,", a, b);
        for (uint32_t c = 0; c < ncpu; c++) {
            uint64_t us = dpcisr_usage_at(x->d, false, kind, c, i) / 1000;
            g_string_append_printf(out, "%10" G_GUINT64_FORMAT " %6.2f,", us, pct((double)us, len_ms * 1e3));
        }
        g_string_append_c(out, '\n');
    }
}

static void xperf_distribution(const Ctx *x, GString *out)
{
    static const struct { double lo, hi; const char *label; } R[] = {
        { -1, 1, ">=  0 AND <=   1" },   { 1, 5, ">   1 AND <=   5" },   { 5, 10, ">   5 AND <=  10" },
        { 10, 20, ">  10 AND <=  20" },  { 20, 40, ">  20 AND <=  40" },  { 40, 60, ">  40 AND <=  60" },
        { 60, 80, ">  60 AND <=  80" },  { 80, 1e300, ">  80 AND <= 100" },
    };
    uint32_t ncpu = x->tot->cpus;
    guint n = dpcisr_usage_intervals(x->d, true);
    double win_us = x->o->bucket_s * 1e6;
    if (!table_fits(n + G_N_ELEMENTS(R), ncpu)) {
        append_too_big(out, "usage distribution", n, ncpu);
        return;
    }
    g_string_append_printf(out, "\nDistribution of number of %.0f ms intervals w.r.t. DPC/ISR usage:\n\n",
                           x->o->bucket_s * 1e3);
    g_string_append(out, "                ,");
    for (uint32_t c = 0; c < ncpu; c++) {
        char *cn = g_strdup_printf("CPU %u", c);
        g_string_append_printf(out, "%29s,", cn);
        g_free(cn);
    }
    g_string_append(out, "\n DPC/ISR Usage %,");
    for (uint32_t c = 0; c < ncpu; c++) g_string_append(out, "      DPC,      ISR, Combined,");
    g_string_append_c(out, '\n');
    uint64_t *counts = g_new0(uint64_t, (gsize)G_N_ELEMENTS(R) * (ncpu ? ncpu : 1) * 3);
    for (uint32_t c = 0; c < ncpu; c++)
        for (guint i = 0; i < n; i++) {
            double p[3];
            p[0] = pct((double)dpcisr_usage_at(x->d, true, DPCISR_KIND_DPC, c, i) / 1e3, win_us);
            p[1] = pct((double)dpcisr_usage_at(x->d, true, DPCISR_KIND_ISR, c, i) / 1e3, win_us);
            p[2] = p[0] + p[1];
            for (int k = 0; k < 3; k++)
                for (size_t r = 0; r < G_N_ELEMENTS(R); r++)
                    if (p[k] > R[r].lo && p[k] <= R[r].hi) {
                        counts[(r * ncpu + c) * 3 + k]++;
                        break;
                    }
        }
    for (size_t r = 0; r < G_N_ELEMENTS(R); r++) {
        g_string_append_printf(out, "%s,", R[r].label);
        for (uint32_t c = 0; c < ncpu; c++)
            for (int k = 0; k < 3; k++) g_string_append_printf(out, "%9" G_GUINT64_FORMAT ",", counts[(r * ncpu + c) * 3 + k]);
        g_string_append_c(out, '\n');
    }
    g_string_append(out, "---\nTotal:          ,");
    for (uint32_t c = 0; c < ncpu; c++)
        for (int k = 0; k < 3; k++) g_string_append_printf(out, "%9u,", n);
    g_string_append_c(out, '\n');
    g_free(counts);
}

static void render_xperf(const Ctx *x, GString *out)
{
    xperf_section(x, out, DPCISR_KIND_DPC);
    xperf_section(x, out, DPCISR_KIND_ISR);
    xperf_distribution(x, out);
}

/* ------------------------------------------------------------------ command */

typedef struct {
    DpcIsr           *d;
    const CliProfile *prof;
} DpcFeed;

static void dpc_feed(void *user, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx)
{
    DpcFeed *f = user;
    if (cli_profile_event(f->prof, ev)) dpcisr_add(f->d, ev, k, ctx);
}

int cmd_dpcisr(int argc, char **argv)
{
    DpcOpts o = { .interval_s = NAN, .bucket_s = 2, .gap_us = 1, .top = -1 };
    CliProfile prof = { 0 };
    cli_common_init(&o.c);
    GOptionEntry own[] = {
        { "by", 'b', 0, G_OPTION_ARG_STRING, &o.by_str,
          "Group rows by these keys, comma-separated: kind, type, module, function, routine, cpu (default kind,module)",
          "KEYS" },
        { "threshold-us", 't', 0, G_OPTION_ARG_STRING, &o.threshold_str,
          "Count runs longer than this: N for both kinds, DPC,ISR (default 100,25), or dpc=N / isr=N", "US" },
        { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &o.interval_s,
          "Also show DPC/ISR usage per CPU in intervals of S seconds (--xperf: default 1)", "S" },
        { "bucket", 0, 0, G_OPTION_ARG_DOUBLE, &o.bucket_s,
          "--xperf: window length in seconds of the usage distribution (default 2)", "S" },
        { "gap-us", 0, 0, G_OPTION_ARG_DOUBLE, &o.gap_us,
          "Watchdog spans: merge DPCs/ISRs separated by at most this many microseconds (default 1)", "US" },
        { "top", 'n', 0, G_OPTION_ARG_INT64, &o.top, "Text: rows shown (default 30; 0 = all); CSV and JSON show all", "N" },
        { "watchdog", 'w', 0, G_OPTION_ARG_NONE, &o.watchdog,
          "The 0x133 view: longest single DPCs/ISRs and, per CPU, the longest back-to-back DPC/ISR span", NULL },
        { "xperf", 0, 0, G_OPTION_ARG_NONE, &o.xperf,
          "Print the layout of `xperf -a dpcisr` (DPC Info, Interrupt Info, usage by module, histograms, "
          "intervals) for existing scripts (text only)",
          NULL },
        CLI_PROFILE_ENTRY(&o.profile),
        { NULL },
    };
    GOptionContext *ctx = cli_context_new("dpcisr", "TRACE",
                                          "DPC and ISR durations by module: which driver's DPC or ISR ran too long, how\n"
                                          "often, on which CPU, and where DPC time piled up (bug check 0x133\n"
                                          "DPC_WATCHDOG_VIOLATION, audio dropouts, input lag).  Needs a trace recorded with\n"
                                          "the DPC and INTERRUPT kernel flags.",
                                          dpcisr_examples);
    g_option_context_add_main_entries(ctx, own, NULL);
    g_option_context_add_main_entries(ctx, cli_common_entries(&o.c, true), NULL);
    int rc = EXIT_USAGE;
    if (!cli_parse(ctx, "dpcisr", &argc, &argv) || !cli_common_validate("dpcisr", &o.c)) goto out;
    if (argc != 2) {
        cli_usage_error("dpcisr", argc < 2 ? "missing TRACE" : "expected one TRACE, got %d arguments", argc - 1);
        goto out;
    }
    if (!parse_by(o.by_str ? o.by_str : "kind,module", &o.by)) goto out;
    o.thr[0] = 100;
    o.thr[1] = 25;
    if (o.threshold_str && !parse_threshold(o.threshold_str, o.thr)) goto out;
    o.interval_given = !isnan(o.interval_s);
    if (o.interval_given && !(o.interval_s >= 0.001 && o.interval_s <= 1e6)) {
        cli_usage_error("dpcisr", "--interval takes seconds from 0.001 to 1000000");
        goto out;
    }
    if (!o.interval_given) o.interval_s = 1;
    if (!(o.bucket_s >= 0.001 && o.bucket_s <= 1e6)) {
        cli_usage_error("dpcisr", "--bucket takes seconds from 0.001 to 1000000");
        goto out;
    }
    if (!(o.gap_us >= 0 && o.gap_us <= 1e9)) {
        cli_usage_error("dpcisr", "--gap-us takes microseconds from 0 to 1000000000");
        goto out;
    }
    if (o.top < -1) {
        cli_usage_error("dpcisr", "--top must not be negative");
        goto out;
    }
    if (o.xperf && o.watchdog) {
        cli_usage_error("dpcisr", "--xperf and --watchdog are two different reports: choose one");
        goto out;
    }
    if (o.xperf && o.c.format != RENDER_TEXT) {
        cli_usage_error("dpcisr", "--xperf prints xperf's text layout; it cannot be combined with --format %s",
                        render_format_name(o.c.format));
        goto out;
    }

    if (!cli_profile_load(&prof, o.profile, o.c.quiet)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    CliDiagPrinter dp = { .quiet = o.c.quiet };
    EtlTrace *t = cli_open_trace(argv[1], &dp);
    if (!t) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    const EtlLogfileHeader *h = etl_trace_header(t);
    CliOutput out;
    if (!cli_output_open(&out, o.c.output, argv[1])) {
        etl_trace_free(t);
        rc = EXIT_RUNTIME;
        goto out;
    }
    DpcIsrOptions dopts;
    dpcisr_options_init(&dopts);
    dopts.threshold_dpc_us = o.thr[0];
    dopts.threshold_isr_us = o.thr[1];
    dopts.interval_s = o.interval_given || o.xperf ? o.interval_s : 0; /* shown only then */
    dopts.bucket_s = o.xperf ? o.bucket_s : 0;
    dopts.gap_us = o.gap_us;
    dopts.from_ts = isnan(o.c.from_s) ? INT64_MIN : etl_time_from_rel_s(h, o.c.from_s);
    dopts.to_ts = isnan(o.c.to_s) ? INT64_MAX : etl_time_from_rel_s(h, o.c.to_s);

    Model *m = model_new(t, 0);
    DpcIsr *d = dpcisr_new(m, t, &dopts);
    DpcFeed feed = { d, &prof };
    cli_read_model(t, m, !o.c.quiet && !o.c.no_progress, dpc_feed, &feed);
    dpcisr_finish(d);

    Ctx x = { .o = &o, .d = d, .tot = dpcisr_totals(d), .h = h, .path = argv[1] };
    for (int i = 0; i < DPCISR_TYPE_COUNT_; i++) {
        if (dpcisr_type_kind(i) == DPCISR_KIND_DPC) x.dpc_events += x.tot->by_type[i];
        else x.isr_events += x.tot->by_type[i];
    }
    if (o.c.format == RENDER_JSON) {
        render_json(&x, out.fp);
    } else {
        GString *s = g_string_new(NULL);
        if (o.c.format == RENDER_CSV) {
            Table *tb;
            if (o.watchdog) {
                tb = longest_table(&x, false);
            } else {
                GArray *rows = dpcisr_group(d, o.by);
                tb = rows_table(&x, rows, false, 0);
                g_array_unref(rows);
            }
            table_render_csv(tb, s);
            table_free(tb);
        } else if (o.xperf) {
            render_xperf(&x, s);
        } else if (o.watchdog) {
            render_watchdog_text(&x, s);
        } else {
            render_text(&x, s);
        }
        fwrite(s->str, 1, s->len, out.fp);
        g_string_free(s, TRUE);
    }
    rc = cli_output_commit(&out) ? EXIT_OK : EXIT_RUNTIME;
    cli_diag_summary(&dp);
    dpcisr_free(d);
    model_free(m);
    etl_trace_free(t);
out:
    cli_profile_clear(&prof);
    g_free(o.profile);
    g_option_context_free(ctx);
    cli_common_clear(&o.c);
    g_free(o.by_str);
    g_free(o.threshold_str);
    return rc;
}
