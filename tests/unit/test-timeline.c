/* test-timeline.c — analyses/timeline.c: DPC/ISR busy time per CPU and module, and CPU use per
 * process, in time columns (the data of the dpcisr-timeline and cpu-usage charts).
 *
 * Each test writes a small kernel trace with etl-writer.h (rundown of processes, threads and
 * kernel images; PerfInfo DPC/ISR events with a chosen InitialTime; CSwitch events), reads it
 * back in time order and drives the model and the timeline as cli/charts.c (collect_run) does:
 * per event etl_kernel_decode, model_event, then timeline_add for DPC/ISR (TIMELINE_DPCISR) or
 * CSwitch (TIMELINE_CPU) events; timeline_finish at the end.
 *
 * QPC at 10 MHz.  Times below are relative to B = ts0 + 1000 ticks (the rundown goes before
 * B); every span is set with timeline_set_span unless a test says otherwise, so the column
 * boundaries are exact: column c of n over [t0, t1) is [t0 + ⌊c·L/n⌋, t0 + ⌊(c+1)·L/n⌋).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyses.h"
#include "etl-writer.h"
#include "scenario.h"
#include "testutil.h"
#include "timeline.h"

#include <string.h>

#define PTR 8u
#define BASE_A UINT64_C(0xfffff80010000000) /* drva.sys, 64 KiB */
#define BASE_B UINT64_C(0xfffff80020000000) /* drvb.sys */
#define BASE_C UINT64_C(0xfffff80030000000) /* DrvC.SYS */
#define NOWHERE UINT64_C(0xfffff800ff000000)
#define REL0 1000 /* B = ts0 + REL0 */

/* ------------------------------------------------------------------ writing */

typedef struct {
    EtlWriter      *w;
    EtlWriterConfig cfg;
    int64_t         ts0;
} W;

static int64_t g_b; /* B, raw */

static void w_init(W *x, uint32_t cpus, int64_t end_rel)
{
    etl_writer_config_init(&x->cfg);
    x->cfg.cpus = cpus;
    x->cfg.header_tid = ETL_NO_ID;
    x->cfg.header_pid = ETL_NO_ID;
    /* header EndTime: FILETIME (100 ns) = ticks at 10 MHz */
    if (end_rel) x->cfg.end_time = x->cfg.start_time + REL0 + end_rel;
    GError *err = NULL;
    x->w = etl_writer_new_memory(&x->cfg, &err);
    assert_non_null(x->w);
    x->ts0 = x->cfg.ts0;
    g_b = x->ts0 + REL0;
}

static void w_kernel(W *x, EtlWriterKernelHeader hk, uint8_t group, uint8_t opcode, uint8_t version, uint16_t cpu,
                     int64_t ts, const void *p, size_t n)
{
    EtlWriterKernel k = { .header = hk, .group = group, .opcode = opcode, .version = version, .cpu = cpu,
                          .timestamp = ts, .tid = 8, .pid = 4 };
    GError *err = NULL;
    assert_true(etl_writer_kernel(x->w, &k, p, n, &err));
}

/* Image DCStart (group 0x14, opcode 3, v3) of a kernel module, before B. */
static void w_image(W *x, int64_t rel0, uint64_t base, const char *name)
{
    uint8_t p[SCEN_PAYLOAD_MAX];
    char path[128];
    g_snprintf(path, sizeof path, "\\SystemRoot\\System32\\drivers\\%s", name);
    ScenImage im = { .base = base, .size = 0x10000, .pid = 0, .checksum = 0x1234, .time_date_stamp = 0x5f000000,
                     .default_base = base, .file_name = path };
    size_t n = scen_image(p, sizeof p, PTR, 3, &im);
    assert_true(n > 0);
    w_kernel(x, ETL_WRITER_SYSTEM, 0x14, 3, 3, 0, x->ts0 + rel0, p, n);
}

static void w_modules(W *x)
{
    w_image(x, 1, BASE_A, "drva.sys");
    w_image(x, 2, BASE_B, "drvb.sys");
    w_image(x, 3, BASE_C, "DrvC.SYS");
}

/* Process DCStart (v4), before B. */
static void w_process(W *x, int64_t rel0, uint32_t pid, const char *name)
{
    uint8_t p[SCEN_PAYLOAD_MAX];
    ScenProcess sp = { .unique_key = 0xffffe00000001000ull + pid, .pid = pid, .parent_pid = 4, .session_id = 1,
                       .sid = SCEN_SID_NONE, .image_name = name, .command_line = name, .package_full_name = "",
                       .application_id = "" };
    size_t n = scen_process(p, sizeof p, PTR, 4, &sp);
    assert_true(n > 0);
    w_kernel(x, ETL_WRITER_SYSTEM, 0x03, 3, 4, 0, x->ts0 + rel0, p, n);
}

/* Thread DCStart (v3), before B. */
static void w_thread(W *x, int64_t rel0, uint32_t tid, uint32_t pid)
{
    uint8_t p[SCEN_PAYLOAD_MAX];
    ScenThread st = { .pid = pid, .tid = tid, .stack_base = 0xffffd00000010000ull, .stack_limit = 0xffffd0000000a000ull,
                      .start_addr = 0xfffff8026a401000ull };
    size_t n = scen_thread(p, PTR, 3, &st);
    w_kernel(x, ETL_WRITER_SYSTEM, 0x05, 3, 3, 0, x->ts0 + rel0, p, n);
}

/* A DPC (0x44) or ISR (0x43) on cpu from B+start to B+end (the event is logged at its end). */
static void w_intr(W *x, uint8_t op, uint16_t cpu, int64_t start, int64_t end, uint64_t routine)
{
    uint8_t p[32];
    size_t n = op == 0x43 ? scen_isr(p, PTR, (uint64_t)(g_b + start), routine, 1, 0x91, false, 0)
                          : scen_dpc(p, PTR, (uint64_t)(g_b + start), routine);
    w_kernel(x, ETL_WRITER_PERFINFO, 0x0F, op, 2, cpu, g_b + end, p, n);
}

static void w_dpc(W *x, uint16_t cpu, int64_t start, int64_t end, uint64_t routine)
{
    w_intr(x, 0x44, cpu, start, end, routine);
}

/* CSwitch (0x0524, v2) on cpu at B+rel. */
static void w_cswitch(W *x, uint16_t cpu, int64_t rel, uint32_t new_tid, uint32_t old_tid)
{
    uint8_t p[24];
    ScenCSwitch c = { .new_tid = new_tid, .old_tid = old_tid, .new_priority = 8, .old_priority = 8 };
    size_t n = scen_cswitch(p, &c);
    w_kernel(x, ETL_WRITER_PERFINFO, 0x05, 0x24, 2, cpu, g_b + rel, p, n);
}

static EtlTrace *w_finish(W *x)
{
    EtlTrace *t = tu_finish_open(x->w);
    x->w = NULL;
    assert_non_null(t);
    return t;
}

/* ------------------------------------------------------------------ running */

#define MAX_TL 4

typedef struct {
    EtlTrace *t;
    Model    *m;
    Timeline *tl[MAX_TL];
    guint     n;
} Run;

typedef struct {
    TimelineKind kind;
    guint        cols;
    int64_t      from, to; /* raw; INT64_MIN / INT64_MAX: the header's span */
} TlSpec;

/* Read t once, feeding every timeline (as collect_run does). */
static void run_trace(Run *r, EtlTrace *t, const TlSpec *spec, guint n)
{
    memset(r, 0, sizeof *r);
    assert_true(n <= MAX_TL);
    r->t = t;
    r->m = model_new(t, 0);
    r->n = n;
    for (guint i = 0; i < n; i++) {
        r->tl[i] = timeline_new(spec[i].kind, r->m, t, spec[i].cols);
        timeline_set_span(r->tl[i], spec[i].from, spec[i].to);
    }
    EtlReader *rd = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    while ((ev = etl_reader_next(rd))) {
        EtlKernelEvent k;
        bool dec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        ModelCtx mc;
        model_event(r->m, ev, dec ? &k : NULL, &mc);
        for (guint i = 0; i < n; i++) {
            TimelineKind kind = spec[i].kind;
            if (dec && kind == TIMELINE_DPCISR && (k.kind == ETL_K_DPC || k.kind == ETL_K_ISR))
                timeline_add(r->tl[i], ev, &k, &mc);
            if (dec && kind == TIMELINE_CPU && k.kind == ETL_K_CSWITCH) timeline_add(r->tl[i], ev, &k, &mc);
        }
    }
    etl_reader_free(rd);
    model_finish(r->m);
    for (guint i = 0; i < n; i++) timeline_finish(r->tl[i]);
}

static void run_free(Run *r)
{
    for (guint i = 0; i < r->n; i++) timeline_free(r->tl[i]);
    model_free(r->m);
    etl_trace_free(r->t);
}

/* Index of a key by name; fails when absent. */
static guint key_index(const Timeline *tl, const char *name)
{
    guint n;
    const TimelineKey *k = timeline_keys(tl, &n);
    for (guint i = 0; i < n; i++)
        if (!strcmp(k[i].name, name)) return i;
    fail_msg("no key \"%s\"", name);
    return 0;
}

static bool has_key(const Timeline *tl, const char *name)
{
    guint n;
    const TimelineKey *k = timeline_keys(tl, &n);
    for (guint i = 0; i < n; i++)
        if (!strcmp(k[i].name, name)) return true;
    return false;
}

/* A key's total by name; 0 when absent. */
static uint64_t k_ticks(const Timeline *tl, const char *name)
{
    guint n;
    const TimelineKey *k = timeline_keys(tl, &n);
    for (guint i = 0; i < n; i++)
        if (!strcmp(k[i].name, name)) return k[i].ticks;
    return 0;
}

/* Column c's bounds, relative to t0: ⌊c·L/n⌋ (exact integer arithmetic). */
static int64_t col_start(const Timeline *tl, guint c)
{
    int64_t len = timeline_t1(tl) - timeline_t0(tl);
    guint n = timeline_columns(tl);
    return c >= n ? len : (int64_t)((__int128)len * c / n);
}

/* Ticks of [a, b) (relative to t0) in column c. */
static uint64_t overlap(const Timeline *tl, guint c, int64_t a, int64_t b)
{
    int64_t lo = MAX(a, col_start(tl, c)), hi = MIN(b, col_start(tl, c + 1));
    return hi > lo ? (uint64_t)(hi - lo) : 0;
}

/* Sum over a lane's columns of one key, and of everything. */
static uint64_t lane_key_total(const Timeline *tl, guint lane, guint key)
{
    uint64_t s = 0;
    for (guint c = 0; c < timeline_columns(tl); c++) s += timeline_ticks(tl, lane, c, key);
    return s;
}

/* Invariants of any finished timeline: keys sorted by total (then name), each key's total is
 * the sum of its cells, busy is the sum of the keys in a cell. */
static void check_consistent(const Timeline *tl)
{
    guint nk;
    const TimelineKey *k = timeline_keys(tl, &nk);
    for (guint i = 1; i < nk; i++) {
        assert_true(k[i - 1].ticks >= k[i].ticks);
        if (k[i - 1].ticks == k[i].ticks) assert_true(strcmp(k[i - 1].name, k[i].name) < 0);
    }
    for (guint i = 0; i < nk; i++) {
        uint64_t s = 0;
        for (guint l = 0; l < timeline_lanes(tl); l++) s += lane_key_total(tl, l, i);
        assert_int_equal(s, k[i].ticks);
    }
    for (guint l = 0; l < timeline_lanes(tl); l++)
        for (guint c = 0; c < timeline_columns(tl); c++) {
            uint64_t s = 0;
            for (guint i = 0; i < nk; i++) s += timeline_ticks(tl, l, c, i);
            assert_int_equal(s, timeline_busy(tl, l, c));
        }
    /* out of range: 0 */
    assert_int_equal(timeline_busy(tl, timeline_lanes(tl), 0), 0);
    assert_int_equal(timeline_busy(tl, 0, timeline_columns(tl)), 0);
    assert_int_equal(timeline_ticks(tl, 0, 0, nk), 0);
}

/* ------------------------------------------------------------------ 5. columns */

/* Intervals split over the columns they cross; time before the span dropped, after it counted. */
static void test_columns_split(void **state)
{
    (void)state;
    W x;
    w_init(&x, 1, 0);
    w_modules(&x);
    uint64_t ra = BASE_A + 0x1000;
    w_dpc(&x, 0, -50, 30, ra);      /* starts before the span: 30 in column 0 */
    w_dpc(&x, 0, 150, 420, ra);     /* columns 1..4: 50, 100, 100, 20 */
    w_dpc(&x, 0, 500, 560, ra);     /* on the 500 boundary: column 5 */
    w_dpc(&x, 0, 600, 600, ra);     /* empty */
    w_dpc(&x, 0, 950, 1100, ra);    /* 50 in column 9, 100 beyond */
    w_dpc(&x, 0, 1000, 1000, ra);   /* empty, at the end */
    w_dpc(&x, 0, 1200, 1300, ra);   /* all beyond */
    Run r;
    TlSpec spec[] = { { TIMELINE_DPCISR, 10, g_b, g_b + 1000 } };
    run_trace(&r, w_finish(&x), spec, 1);
    const Timeline *tl = r.tl[0];
    assert_int_equal(timeline_columns(tl), 10);
    assert_int_equal(timeline_t0(tl), g_b);
    assert_int_equal(timeline_t1(tl), g_b + 1000);
    assert_int_equal(timeline_lanes(tl), 1);
    guint nk;
    const TimelineKey *k = timeline_keys(tl, &nk);
    assert_int_equal(nk, 1);
    assert_string_equal(k[0].name, "drva.sys");
    const uint64_t want[10] = { 30, 50, 100, 100, 20, 60, 0, 0, 0, 50 };
    for (guint c = 0; c < 10; c++) {
        if (timeline_ticks(tl, 0, c, 0) != want[c])
            fail_msg("column %u: %" G_GUINT64_FORMAT " ticks, want %" G_GUINT64_FORMAT, c, timeline_ticks(tl, 0, c, 0),
                     want[c]);
        assert_int_equal(timeline_busy(tl, 0, c), want[c]);
    }
    assert_int_equal(k[0].ticks, 410);
    assert_int_equal(timeline_beyond(tl), 200);
    check_consistent(tl);
    run_free(&r);
}

/* Column widths that are not whole ticks (1000 / 7, 1000 / 3): every interval adds up to its
 * length and lands in exactly the columns ⌊c·L/n⌋ says; a start on a boundary goes right.
 * (Regression: a start on a boundary computed one column too far left once dumped the rest of
 * the interval into a single column.) */
static void test_columns_boundaries(void **state)
{
    (void)state;
    /* intervals, relative to B; every one on CPU 0 and inside [0, 1000] */
    static const int64_t iv[][2] = {
        { 285, 700 },  /* starts on the 1000/7 boundary 2 (⌊2000/7⌋ = 285) */
        { 142, 143 },  /* one tick on boundary 1 */
        { 428, 572 },  /* boundary 3 .. past boundary 4 (571) */
        { 333, 1000 }, /* the 1000/3 boundary 1 to the end */
        { 0, 1000 },   /* everything */
        { 666, 667 },  /* boundary 2 of 1000/3 */
        { 857, 858 },
        { 998, 1000 },
    };
    W x;
    w_init(&x, 2, 0);
    w_modules(&x);
    /* interval i on CPU i % 2 (a lane each), written in order of their ends as the kernel
     * logs them; overlaps within a lane do not matter to the timeline */
    bool done[G_N_ELEMENTS(iv)] = { false };
    for (size_t w = 0; w < G_N_ELEMENTS(iv); w++) {
        size_t best = G_N_ELEMENTS(iv);
        for (size_t i = 0; i < G_N_ELEMENTS(iv); i++)
            if (!done[i] && (best == G_N_ELEMENTS(iv) || iv[i][1] < iv[best][1])) best = i;
        done[best] = true;
        w_dpc(&x, (uint16_t)(best % 2), iv[best][0], iv[best][1], BASE_A + 0x100 * (best + 1));
    }
    Run r;
    TlSpec spec[] = {
        { TIMELINE_DPCISR, 7, g_b, g_b + 1000 },
        { TIMELINE_DPCISR, 3, g_b, g_b + 1000 },
        { TIMELINE_DPCISR, 1000, g_b, g_b + 1000 }, /* one tick per column */
        { TIMELINE_DPCISR, 4096, g_b, g_b + 1000 }, /* columns narrower than a tick */
    };
    run_trace(&r, w_finish(&x), spec, 4);
    for (guint s = 0; s < 4; s++) {
        const Timeline *tl = r.tl[s];
        guint n = timeline_columns(tl);
        assert_int_equal(n, spec[s].cols);
        assert_int_equal(timeline_lanes(tl), 2);
        guint nk;
        const TimelineKey *k = timeline_keys(tl, &nk);
        assert_int_equal(nk, 1); /* all in drva.sys */
        uint64_t total = 0;
        for (guint lane = 0; lane < 2; lane++)
            for (guint c = 0; c < n; c++) {
                uint64_t want = 0;
                for (size_t i = lane; i < G_N_ELEMENTS(iv); i += 2) want += overlap(tl, c, iv[i][0], iv[i][1]);
                uint64_t got = timeline_ticks(tl, lane, c, 0);
                if (got != want)
                    fail_msg("%u columns, lane %u, column %u [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "): %" G_GUINT64_FORMAT
                             " ticks, want %" G_GUINT64_FORMAT,
                             n, lane, c, col_start(tl, c), col_start(tl, c + 1), got, want);
                total += got;
            }
        uint64_t len = 0;
        for (size_t i = 0; i < G_N_ELEMENTS(iv); i++) len += (uint64_t)(iv[i][1] - iv[i][0]);
        assert_int_equal(total, len);
        assert_int_equal(k[0].ticks, len);
        assert_int_equal(timeline_beyond(tl), 0);
        check_consistent(tl);
    }
    /* the boundary cases by hand, 7 columns: [285, 700) = 143 + 143 + 129 in columns 2, 3, 4 */
    const Timeline *tl7 = r.tl[0];
    assert_int_equal(col_start(tl7, 2), 285);
    assert_int_equal(col_start(tl7, 3), 428);
    assert_int_equal(col_start(tl7, 4), 571);
    assert_int_equal(col_start(tl7, 5), 714);
    /* lane 0 holds iv 0, 2, 4, 6 */
    assert_int_equal(timeline_ticks(tl7, 0, 1, 0), 0 + 0 + 143 + 0);          /* [142, 285) from iv 4 */
    assert_int_equal(timeline_ticks(tl7, 0, 2, 0), 143 + 0 + 143);            /* iv 0, iv 4 */
    assert_int_equal(timeline_ticks(tl7, 0, 3, 0), 143 + 143 + 143);          /* iv 0, 2, 4 */
    assert_int_equal(timeline_ticks(tl7, 0, 4, 0), 129 + 1 + 143);            /* iv 0 to 700, iv 2 to 572, iv 4 */
    /* lane 1 holds iv 1 (one tick at 142: column 1, not 0), 3, 5, 7 */
    assert_int_equal(timeline_ticks(tl7, 1, 0, 0), 0);
    assert_int_equal(timeline_ticks(tl7, 1, 1, 0), 1);
    /* 3 columns: [333, 1000) = 333 + 334 in columns 1 and 2; one tick at 666 in column 2 */
    const Timeline *tl3 = r.tl[1];
    assert_int_equal(timeline_ticks(tl3, 1, 0, 0), 1);              /* iv 1 */
    assert_int_equal(timeline_ticks(tl3, 1, 1, 0), 333);            /* iv 3 */
    assert_int_equal(timeline_ticks(tl3, 1, 2, 0), 334 + 1 + 2);    /* iv 3, 5, 7 */
    run_free(&r);
}

/* Without timeline_set_span the span is the header's: ts0 .. ts0 + (EndTime - StartTime);
 * setting only one end keeps the other. */
static void test_span_from_header(void **state)
{
    (void)state;
    W x;
    /* EndTime = StartTime + 2000 (100 ns = 1 tick): a span of 2000 ticks, B = ts0 + 1000.
     * (A span whose conversion is exact in doubles; see test_span_from_header_exact.) */
    w_init(&x, 1, 2000 - REL0);
    w_modules(&x);
    w_dpc(&x, 0, 100, 200, BASE_A);
    w_dpc(&x, 0, 900, 1100, BASE_A); /* 100 beyond */
    Run r;
    TlSpec spec[] = { { TIMELINE_DPCISR, 4, INT64_MIN, INT64_MAX }, { TIMELINE_DPCISR, 4, g_b, INT64_MAX },
                      { TIMELINE_DPCISR, 4, INT64_MIN, g_b + 500 } };
    run_trace(&r, w_finish(&x), spec, 3);
    const Timeline *tl = r.tl[0];
    assert_int_equal(timeline_t0(tl), x.ts0);
    assert_int_equal(timeline_t1(tl), x.ts0 + 2000);
    assert_int_equal(timeline_beyond(tl), 100);
    guint nk;
    const TimelineKey *k = timeline_keys(tl, &nk);
    assert_int_equal(nk, 1);
    assert_int_equal(k[0].ticks, 200);
    /* 4 columns of 500: ts0 + 1100 .. 1200 in column 2; ts0 + 1900 .. 2000 in column 3 */
    assert_int_equal(timeline_ticks(tl, 0, 2, 0), 100);
    assert_int_equal(timeline_ticks(tl, 0, 3, 0), 100);
    /* from B to the header's end: 1000 ticks in 4 columns of 250 */
    tl = r.tl[1];
    assert_int_equal(timeline_t0(tl), g_b);
    assert_int_equal(timeline_t1(tl), g_b + 1000);
    assert_int_equal(timeline_ticks(tl, 0, 0, 0), 100);
    assert_int_equal(timeline_ticks(tl, 0, 3, 0), 100);
    assert_int_equal(timeline_beyond(tl), 100);
    /* from ts0 to B + 500: the second DPC is all beyond */
    tl = r.tl[2];
    assert_int_equal(timeline_t0(tl), x.ts0);
    assert_int_equal(timeline_t1(tl), g_b + 500);
    assert_int_equal(timeline_beyond(tl), 200);
    /* 1500 ticks in 4 columns of 375: ts0 + 1100 .. 1200 crosses 1125 */
    assert_int_equal(timeline_ticks(tl, 0, 2, 0), 25);
    assert_int_equal(timeline_ticks(tl, 0, 3, 0), 75);
    run_free(&r);
}

/* The header's span converted to ticks exactly, whatever its length.
 *
 * BUG (analyses/timeline.c, timeline_new): the span is converted as
 * (int64_t)((double)span_100ns / 1e7 * ticks_per_second), which truncates a product that comes
 * out just below the whole number: at 10 MHz a span of 3000 (or 21, 42, 57 ... about 6 % of all
 * lengths) 100-ns units becomes 2999 ticks.  The last tick of the trace then counts as beyond
 * the span and every column boundary is computed from a span one tick short.  Exact integer
 * arithmetic (span_100ns × ticks_per_second / 10^7 in 128 bits, as etl_ticks_to_ns does the
 * other way) or rounding fixes it. */
static void test_span_from_header_exact(void **state)
{
    (void)state;
    /* spans REL0 + end: 2000, 124456, 10001000 convert exactly in doubles; 3000, 1233, 1300 do not */
    static const int64_t ends[] = { 1000, 123456, 10000000, 2000, 233, 300 };
    for (size_t i = 0; i < G_N_ELEMENTS(ends); i++) {
        W x;
        w_init(&x, 1, ends[i]); /* span = REL0 + ends[i] ticks */
        w_modules(&x);
        w_dpc(&x, 0, ends[i] - 10, ends[i], BASE_A); /* ends exactly at the header's end */
        Run r;
        TlSpec spec[] = { { TIMELINE_DPCISR, 3, INT64_MIN, INT64_MAX } };
        run_trace(&r, w_finish(&x), spec, 1);
        int64_t t1 = timeline_t1(r.tl[0]);
        uint64_t beyond = timeline_beyond(r.tl[0]);
        run_free(&r);
        if (t1 != g_b + ends[i])
            fail_msg("header span %" G_GINT64_FORMAT " (100 ns): t1 = ts0 + %" G_GINT64_FORMAT ", want ts0 + %" G_GINT64_FORMAT,
                     REL0 + ends[i], t1 - x.ts0, REL0 + ends[i]);
        assert_int_equal(beyond, 0);
    }
}

/* ------------------------------------------------------------------ 6. CPU use */

/* Two CPUs, two processes, Idle.  Span [B, B+1000) in 4 columns of 250.
 *
 *   CPU 0: 101 (alpha) [0, 300)   201 (beta) [300, 550)   idle [550, 600)   102 (alpha) [600, 800)
 *          idle [800, 1000)   101 (alpha) [1000, 1100) — after the span
 *   CPU 1: 202 (beta) [-100, 400) — from before the span   101 (alpha) [400, 700)   idle [700, 750)
 *          202 (beta) [750, 1000)
 *
 * alpha: 300 + 200 + 300 = 800; beta: 250 + 400 (clipped at B) + 250 = 900; 100 beyond. */
static EtlTrace *cpu_trace(void)
{
    W x;
    w_init(&x, 2, 0);
    w_process(&x, 1, 0, "Idle");
    w_process(&x, 2, 100, "alpha.exe");
    w_process(&x, 3, 200, "beta.exe");
    w_thread(&x, 4, 0, 0);
    w_thread(&x, 5, 101, 100);
    w_thread(&x, 6, 102, 100);
    w_thread(&x, 7, 201, 200);
    w_thread(&x, 8, 202, 200);
    w_cswitch(&x, 1, -100, 202, 0);
    w_cswitch(&x, 0, 0, 101, 0);
    w_cswitch(&x, 0, 300, 201, 101);
    w_cswitch(&x, 1, 400, 101, 202);
    w_cswitch(&x, 0, 550, 0, 201);
    w_cswitch(&x, 0, 600, 102, 0);
    w_cswitch(&x, 1, 700, 0, 101);
    w_cswitch(&x, 1, 750, 202, 0);
    w_cswitch(&x, 0, 800, 0, 102);
    w_cswitch(&x, 1, 1000, 0, 202);
    w_cswitch(&x, 0, 1000, 101, 0);
    w_cswitch(&x, 0, 1100, 0, 101);
    return w_finish(&x);
}

static void test_cpu_use(void **state)
{
    (void)state;
    EtlTrace *t = cpu_trace(); /* sets g_b */
    Run r;
    TlSpec spec[] = { { TIMELINE_CPU, 4, g_b, g_b + 1000 } };
    run_trace(&r, t, spec, 1);
    const Timeline *tl = r.tl[0];
    assert_int_equal(timeline_lanes(tl), 1);
    assert_int_equal(timeline_cpus(tl), 2);
    guint nk;
    const TimelineKey *k = timeline_keys(tl, &nk);
    /* Idle is not credited; sorted by total: beta first */
    assert_int_equal(nk, 2);
    assert_string_equal(k[0].name, "beta.exe (200)");
    assert_int_equal(k[0].ticks, 900);
    assert_string_equal(k[1].name, "alpha.exe (100)");
    assert_int_equal(k[1].ticks, 800);
    assert_false(has_key(tl, "Idle (0)"));
    const uint64_t beta[4] = { 250, 350, 50, 250 }, alpha[4] = { 250, 150, 350, 50 };
    for (guint c = 0; c < 4; c++) {
        assert_int_equal(timeline_ticks(tl, 0, c, 0), beta[c]);
        assert_int_equal(timeline_ticks(tl, 0, c, 1), alpha[c]);
        /* never more than the column's capacity: its width × the CPUs */
        uint64_t cap = (uint64_t)(col_start(tl, c + 1) - col_start(tl, c)) * 2;
        assert_true(timeline_busy(tl, 0, c) <= cap);
    }
    assert_int_equal(timeline_busy(tl, 0, 0), 500); /* both CPUs busy all along */
    assert_int_equal(timeline_busy(tl, 0, 1), 500);
    assert_int_equal(timeline_beyond(tl), 100);
    check_consistent(tl);
    run_free(&r);
}

/* A thread still on its CPU at the end of the span ran until the end of the span.
 *
 *   CPU 0: 101 (alpha) [0, 200)   idle from 200; more switches until 1500 (the trace goes on)
 *   CPU 1: 202 (beta) from 600, never switched out again
 *
 * Span [B, B+1000): beta ran [600, 1000) = 400 within it (CPU 1's next switch would be after
 * the trace's last event at B+1500, so 202 was on CPU 1 at B+1000).
 *
 * BUG (probable; analyses/timeline.c): CPU use is credited only when a thread is switched
 * out, and timeline_finish does not credit the threads still running at the end, so the
 * last stretch of every CPU is lost (here beta gets 0).  timeline_add records last_tid for each
 * CPU but nothing ever reads it — crediting last_tid from last_ts to t1 in timeline_finish
 * (bounded by the trace's last event when the span is the header's) looks like what was meant. */
static void test_cpu_use_tail(void **state)
{
    (void)state;
    W x;
    w_init(&x, 2, 0);
    w_process(&x, 1, 0, "Idle");
    w_process(&x, 2, 100, "alpha.exe");
    w_process(&x, 3, 200, "beta.exe");
    w_thread(&x, 4, 0, 0);
    w_thread(&x, 5, 101, 100);
    w_thread(&x, 6, 202, 200);
    w_cswitch(&x, 0, 0, 101, 0);
    w_cswitch(&x, 0, 200, 0, 101);
    w_cswitch(&x, 1, 500, 0, 0);
    w_cswitch(&x, 1, 600, 202, 0);
    w_cswitch(&x, 0, 1400, 101, 0);
    w_cswitch(&x, 0, 1500, 0, 101);
    Run r;
    TlSpec spec[] = { { TIMELINE_CPU, 4, g_b, g_b + 1000 } };
    run_trace(&r, w_finish(&x), spec, 1);
    const Timeline *tl = r.tl[0];
    uint32_t cpus = timeline_cpus(tl);
    uint64_t alpha = k_ticks(tl, "alpha.exe (100)"), beta = k_ticks(tl, "beta.exe (200)");
    uint64_t beta_c2 = 0, beta_c3 = 0, beyond = timeline_beyond(tl);
    if (has_key(tl, "beta.exe (200)")) {
        guint b = key_index(tl, "beta.exe (200)");
        beta_c2 = timeline_ticks(tl, 0, 2, b);
        beta_c3 = timeline_ticks(tl, 0, 3, b);
    }
    run_free(&r);
    assert_int_equal(cpus, 2);
    assert_int_equal(alpha, 200);
    assert_int_equal(beyond, 100); /* alpha [1400, 1500) */
    assert_int_equal(beta, 400);   /* BUG: 0, beta.exe gets no key at all */
    assert_int_equal(beta_c2, 150);
    assert_int_equal(beta_c3, 250);
}

/* A real trace: the pool-leak scenario's CSwitch events on 4 CPUs.  Per column the credited time
 * never exceeds width × CPUs; every key is a named process; Idle never appears. */
static void check_cpu_capacity(EtlTrace *t, uint32_t cpus)
{
    Run r;
    TlSpec spec[] = { { TIMELINE_CPU, 300, INT64_MIN, INT64_MAX }, { TIMELINE_CPU, 7, INT64_MIN, INT64_MAX } };
    run_trace(&r, t, spec, 2);
    for (guint s = 0; s < 2; s++) {
        const Timeline *tl = r.tl[s];
        assert_int_equal(timeline_cpus(tl), cpus);
        guint nk;
        const TimelineKey *k = timeline_keys(tl, &nk);
        assert_true(nk >= 2);
        uint64_t all = 0;
        for (guint c = 0; c < timeline_columns(tl); c++) {
            uint64_t cap = (uint64_t)(col_start(tl, c + 1) - col_start(tl, c)) * cpus;
            uint64_t busy = timeline_busy(tl, 0, c);
            if (busy > cap)
                fail_msg("%u columns: column %u holds %" G_GUINT64_FORMAT " ticks, capacity %" G_GUINT64_FORMAT,
                         timeline_columns(tl), c, busy, cap);
            all += busy;
        }
        for (guint i = 0; i < nk; i++) {
            assert_true(strncmp(k[i].name, "Idle", 4) != 0);
            assert_true(strcmp(k[i].name, "Unknown") != 0);
            assert_non_null(strstr(k[i].name, " ("));
            all -= k[i].ticks;
        }
        assert_int_equal(all, 0);
        check_consistent(tl);
    }
    run_free(&r);
}

static void test_cpu_use_scenario(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth truth;
    GError *err = NULL;
    size_t len;
    uint8_t *bytes = scen_generate_memory(&o, &len, &truth, &err);
    assert_non_null(bytes);
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(bytes, len, "pool-leak"), NULL, &err);
    assert_non_null(t);
    check_cpu_capacity(t, truth.cpus);
    char *path = g_build_filename(tu_source_root(), "traces", "pool-leak.etl", NULL);
    t = etl_trace_open_file(path, NULL, &err);
    if (!t) fail_msg("%s: %s", path, err->message);
    check_cpu_capacity(t, truth.cpus);
    g_free(path);
    scen_truth_clear(&truth);
}

/* ------------------------------------------------------------------ 7. DPC/ISR */

/* Three CPUs, 4 columns of 250 over [B, B+1000):
 *   CPU 0: DPC drva.sys [100, 300)
 *   CPU 1: DPC at no image [400, 480) -> Unknown; a DPC in DrvC.SYS whose InitialTime is after
 *          its timestamp (negative duration) -> ignored
 *   CPU 2: ISR drvb.sys [200, 250); DPC drva.sys [700, 900) */
static void test_dpcisr_lanes(void **state)
{
    (void)state;
    W x;
    w_init(&x, 3, 0);
    w_modules(&x);
    w_intr(&x, 0x43, 2, 200, 250, BASE_B + 0x2000);
    w_dpc(&x, 0, 100, 300, BASE_A + 0x1000);
    w_dpc(&x, 1, 400, 480, NOWHERE);
    w_dpc(&x, 1, 600, 500, BASE_C + 0x10);
    w_dpc(&x, 2, 700, 900, BASE_A + 0x1100);
    Run r;
    TlSpec spec[] = { { TIMELINE_DPCISR, 4, g_b, g_b + 1000 } };
    run_trace(&r, w_finish(&x), spec, 1);
    const Timeline *tl = r.tl[0];
    assert_int_equal(timeline_lanes(tl), 3);
    guint nk;
    const TimelineKey *k = timeline_keys(tl, &nk);
    assert_int_equal(nk, 3);
    assert_string_equal(k[0].name, "drva.sys");
    assert_int_equal(k[0].ticks, 400);
    assert_string_equal(k[1].name, "Unknown");
    assert_int_equal(k[1].ticks, 80);
    assert_string_equal(k[2].name, "drvb.sys");
    assert_int_equal(k[2].ticks, 50);
    assert_false(has_key(tl, "DrvC.SYS"));
    guint a = key_index(tl, "drva.sys"), u = key_index(tl, "Unknown"), b = key_index(tl, "drvb.sys");
    /* lane 0 */
    assert_int_equal(timeline_ticks(tl, 0, 0, a), 150);
    assert_int_equal(timeline_ticks(tl, 0, 1, a), 50);
    assert_int_equal(lane_key_total(tl, 0, u) + lane_key_total(tl, 0, b), 0);
    /* lane 1 */
    assert_int_equal(timeline_ticks(tl, 1, 1, u), 80);
    assert_int_equal(timeline_busy(tl, 1, 1), 80);
    assert_int_equal(timeline_busy(tl, 1, 2), 0); /* the negative one */
    assert_int_equal(lane_key_total(tl, 1, a), 0);
    /* lane 2 */
    assert_int_equal(timeline_ticks(tl, 2, 0, b), 50);
    assert_int_equal(timeline_ticks(tl, 2, 2, a), 50);
    assert_int_equal(timeline_ticks(tl, 2, 3, a), 150);
    assert_int_equal(timeline_busy(tl, 2, 1), 0);
    assert_int_equal(timeline_beyond(tl), 0);
    check_consistent(tl);
    run_free(&r);
}

/* The dpc-storm scenario against its ground truth: the storm module is the top key, and every
 * module's time per CPU lane is the scenario's (inclusive) time on that CPU. */
static void check_storm(EtlTrace *t, const ScenTruth *truth)
{
    Run r;
    TlSpec spec[] = { { TIMELINE_DPCISR, 600, INT64_MIN, INT64_MAX }, { TIMELINE_DPCISR, 7, INT64_MIN, INT64_MAX } };
    run_trace(&r, t, spec, 2);
    for (guint s = 0; s < 2; s++) {
        const Timeline *tl = r.tl[s];
        guint nk;
        const TimelineKey *k = timeline_keys(tl, &nk);
        assert_true(nk >= 2);
        assert_string_equal(k[0].name, truth->storm_module);
        assert_true(timeline_lanes(tl) <= truth->cpus);
        assert_true(truth->storm_cpu < timeline_lanes(tl));
        assert_int_equal(timeline_beyond(tl), 0);
        assert_false(has_key(tl, "Unknown"));
        for (guint i = 0; i < nk; i++) {
            uint64_t want_total = 0;
            for (guint lane = 0; lane < timeline_lanes(tl) && lane < 8; lane++) {
                uint64_t want = 0;
                for (uint32_t j = 0; j < truth->n_dpc; j++)
                    if (!strcmp(truth->dpc[j].module, k[i].name)) want += truth->dpc[j].cpu_ticks[lane];
                uint64_t got = lane_key_total(tl, lane, i);
                if (got != want)
                    fail_msg("%s on CPU %u: %" G_GUINT64_FORMAT " ticks, want %" G_GUINT64_FORMAT, k[i].name, lane, got, want);
                want_total += want;
            }
            assert_int_equal(k[i].ticks, want_total);
        }
        /* the storm CPU's lane holds the storm: most of the module's time is there */
        uint64_t on_storm_cpu = lane_key_total(tl, truth->storm_cpu, 0);
        assert_true(on_storm_cpu * 2 > k[0].ticks);
        assert_true(on_storm_cpu >= truth->storm_count * truth->storm_min_ticks);
        check_consistent(tl);
    }
    run_free(&r);
}

static void test_dpcisr_storm(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_DPC_STORM);
    ScenTruth truth;
    GError *err = NULL;
    size_t len;
    uint8_t *bytes = scen_generate_memory(&o, &len, &truth, &err);
    assert_non_null(bytes);
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(bytes, len, "dpc-storm"), NULL, &err);
    assert_non_null(t);
    check_storm(t, &truth);
    /* the committed file is the same trace */
    char *path = g_build_filename(tu_source_root(), "traces", "dpc-storm.etl", NULL);
    t = etl_trace_open_file(path, NULL, &err);
    if (!t) fail_msg("%s: %s", path, err->message);
    check_storm(t, &truth);
    g_free(path);
    scen_truth_clear(&truth);
}

/* Column counts are clamped to 1 .. 20000; a timeline with no events is empty. */
static void test_empty_and_clamped(void **state)
{
    (void)state;
    W x;
    w_init(&x, 1, 1000);
    w_modules(&x);
    Run r;
    TlSpec spec[] = { { TIMELINE_DPCISR, 0, INT64_MIN, INT64_MAX }, { TIMELINE_CPU, 100000, INT64_MIN, INT64_MAX },
                      { TIMELINE_DPCISR, 5, g_b + 10, g_b + 10 } };
    run_trace(&r, w_finish(&x), spec, 3);
    assert_int_equal(timeline_columns(r.tl[0]), 1);
    assert_int_equal(timeline_columns(r.tl[1]), 20000);
    for (guint s = 0; s < 3; s++) {
        guint nk = 99;
        timeline_keys(r.tl[s], &nk);
        assert_int_equal(nk, 0);
        assert_int_equal(timeline_beyond(r.tl[s]), 0);
        assert_int_equal(timeline_busy(r.tl[s], 0, 0), 0);
    }
    assert_int_equal(timeline_lanes(r.tl[0]), 0); /* no CPU seen */
    assert_int_equal(timeline_lanes(r.tl[1]), 1);
    assert_int_equal(timeline_cpus(r.tl[1]), 0);
    /* an empty span becomes one tick */
    assert_int_equal(timeline_t1(r.tl[2]) - timeline_t0(r.tl[2]), 1);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_split),
        cmocka_unit_test(test_columns_boundaries),
        cmocka_unit_test(test_span_from_header),
        cmocka_unit_test(test_span_from_header_exact),
        cmocka_unit_test(test_cpu_use),
        cmocka_unit_test(test_cpu_use_tail),
        cmocka_unit_test(test_cpu_use_scenario),
        cmocka_unit_test(test_dpcisr_lanes),
        cmocka_unit_test(test_dpcisr_storm),
        cmocka_unit_test(test_empty_and_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
