/* test-dpcisr.c — analyses/dpcisr.c: DPC/ISR intervals, nesting, exclusive time, histogram
 * buckets, thresholds, modules, anomalies, watchdog spans, usage intervals, and the ground truth
 * of the dpc-storm scenario (tests/support/scenario.h, traces/dpc-storm.etl).
 *
 * Each test writes a small kernel trace with etl-writer.h: a kernel image rundown (Image
 * DCStart, ProcessId 0) and PerfInfo DPC/ISR events whose InitialTime and timestamp are chosen
 * by hand, then reads it back through the reader (time order), the system model and the sink,
 * as `etla dpcisr` does.  The clock is QPC at 10 MHz unless a test says otherwise: 10 ticks =
 * 1 µs, so every expected value below is exact.  Events of one CPU are written in the order
 * the kernel logs them: by their end (a nested ISR before the DPC it interrupted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyses.h"
#include "dpcisr.h"
#include "etl-writer.h"
#include "scenario.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

#define PTR 8u

/* kernel modules of the hand-written traces */
#define BASE_A UINT64_C(0xfffff80010000000) /* drva.sys, 64 KiB */
#define BASE_B UINT64_C(0xfffff80020000000) /* drvb.sys */
#define BASE_C UINT64_C(0xfffff80030000000) /* DrvC.SYS */
#define NOWHERE UINT64_C(0xfffff800ff000000)

/* ------------------------------------------------------------------ writing */

typedef struct {
    EtlWriter      *w;
    EtlWriterConfig cfg;
    int64_t         ts0;
} W;

static void w_init_cfg(W *x, uint32_t cpus, int64_t freq)
{
    etl_writer_config_init(&x->cfg);
    x->cfg.cpus = cpus;
    if (freq) x->cfg.perf_freq = freq;
    x->cfg.header_tid = ETL_NO_ID;
    x->cfg.header_pid = ETL_NO_ID;
    GError *err = NULL;
    x->w = etl_writer_new_memory(&x->cfg, &err);
    assert_non_null(x->w);
    x->ts0 = x->cfg.ts0;
}

static void w_kernel(W *x, EtlWriterKernelHeader hk, uint8_t group, uint8_t opcode, uint16_t cpu, int64_t ts,
                     const void *p, size_t n)
{
    EtlWriterKernel k = { .header = hk, .group = group, .opcode = opcode, .version = hk == ETL_WRITER_SYSTEM ? 3 : 2,
                          .cpu = cpu, .timestamp = ts, .tid = 8, .pid = 4 };
    GError *err = NULL;
    assert_true(etl_writer_kernel(x->w, &k, p, n, &err));
}

/* Image DCStart(3) / UnLoad(2) (group 0x14) or Load (hook 0x030A), v3, kernel (pid 0). */
static void w_image(W *x, uint8_t op, int64_t rel, uint64_t base, const char *name)
{
    uint8_t p[SCEN_PAYLOAD_MAX];
    char path[128];
    g_snprintf(path, sizeof path, "\\SystemRoot\\System32\\drivers\\%s", name);
    ScenImage im = { .base = base, .size = 0x10000, .pid = 0, .checksum = 0x1234, .time_date_stamp = 0x5f000000,
                     .default_base = base, .file_name = path };
    size_t n = scen_image(p, sizeof p, PTR, 3, &im);
    assert_true(n > 0);
    w_kernel(x, ETL_WRITER_SYSTEM, op == 10 ? 0x03 : 0x14, op, 0, x->ts0 + rel, p, n);
}

static void w_modules(W *x)
{
    w_image(x, 3, 1, BASE_A, "drva.sys");
    w_image(x, 3, 2, BASE_B, "drvb.sys");
    w_image(x, 3, 3, BASE_C, "DrvC.SYS");
}

/* One DPC/ISR of opcode op on cpu from ts0+start to ts0+end (ticks). */
static void w_intr(W *x, uint8_t op, uint16_t cpu, int64_t start, int64_t end, uint64_t routine)
{
    uint8_t p[32];
    size_t n;
    if (op == 0x43 || op == 0x32 || op == 0x5F)
        n = scen_isr(p, PTR, (uint64_t)(x->ts0 + start), routine, 1, 0x91, op == 0x32, 0);
    else
        n = scen_dpc(p, PTR, (uint64_t)(x->ts0 + start), routine);
    w_kernel(x, ETL_WRITER_PERFINFO, 0x0F, op, cpu, x->ts0 + end, p, n);
}

static EtlTrace *w_finish(W *x)
{
    EtlTrace *t = tu_finish_open(x->w);
    x->w = NULL;
    assert_non_null(t);
    return t;
}

/* ------------------------------------------------------------------ running the sink */

typedef struct {
    EtlTrace *t;
    Model    *m;
    DpcIsr   *d;
} Run;

static void run_trace(Run *r, EtlTrace *t, const DpcIsrOptions *o)
{
    r->t = t;
    r->m = model_new(t, 0);
    r->d = dpcisr_new(r->m, t, o);
    EtlReader *rd = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    while ((ev = etl_reader_next(rd))) {
        EtlKernelEvent k;
        bool dec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        ModelCtx mc;
        model_event(r->m, ev, dec ? &k : NULL, &mc);
        dpcisr_add(r->d, ev, dec ? &k : NULL, &mc);
    }
    etl_reader_free(rd);
    model_finish(r->m);
    dpcisr_finish(r->d);
}

static void run_free(Run *r)
{
    dpcisr_free(r->d);
    model_free(r->m);
    etl_trace_free(r->t);
}

/* The row of a BY_ROUTINE grouping (with other keys as given) for routine/cpu (cpu -1: any). */
static const DpcIsrRow *find_routine(GArray *rows, uint64_t routine, int cpu)
{
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        if (r->routine == routine && (cpu < 0 || r->cpu == (uint32_t)cpu)) return r;
    }
    fail_msg("no row for routine 0x%" G_GINT64_MODIFIER "x cpu %d", routine, cpu);
    return NULL;
}

static const DpcIsrRow *find_module(GArray *rows, const char *module, int kind)
{
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        if (!strcmp(r->module, module) && (kind < 0 || r->kind == (DpcIsrKind)kind)) return r;
    }
    return NULL;
}

static void assert_us(double got, double want)
{
    if (fabs(got - want) > 1e-6) fail_msg("got %.9f µs, want %.9f µs", got, want);
}

static const DpcIsrAnomalies *anomalies(const Run *r)
{
    return &dpcisr_totals(r->d)->anomalies;
}

/* ------------------------------------------------------------------ tests */

/* ISRs inside a DPC on one CPU (and an ISR inside an ISR): inclusive, exclusive, fragments.
 * The same times on another CPU are not nesting. */
static void test_nesting_exclusive(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 2, 0);
    w_modules(&x);
    uint64_t dpc_a = BASE_A + 0x1000, isr_b = BASE_B + 0x2000, isr_c = BASE_C + 0x3000, isr_d = BASE_B + 0x2400;
    uint64_t dpc_e = BASE_A + 0x1100, dpc_cpu0 = BASE_A + 0x1200;
    /* CPU 1: A [1000, 11000] holds B [3000, 3500] and C [6000, 7000], which holds D [6200, 6400] */
    w_intr(&x, 0x43, 1, 3000, 3500, isr_b);
    w_intr(&x, 0x32, 1, 6200, 6400, isr_d);
    w_intr(&x, 0x43, 1, 6000, 7000, isr_c);
    w_intr(&x, 0x44, 1, 1000, 11000, dpc_a);
    w_intr(&x, 0x44, 1, 12000, 13000, dpc_e);   /* after A: not nested */
    /* CPU 0: within A's time, but another CPU */
    w_intr(&x, 0x45, 0, 2000, 9000, dpc_cpu0);
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_TYPE | DPCISR_BY_ROUTINE | DPCISR_BY_CPU);
    assert_int_equal(rows->len, 6);
    const DpcIsrRow *a = find_routine(rows, dpc_a, 1);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->total_ticks, 10000);
    assert_int_equal(a->exclusive_ticks, 10000 - 500 - 1000); /* direct children B and C only */
    assert_int_equal(a->fragments, 3);
    assert_us(a->total_us, 1000.0);
    assert_us(a->exclusive_us, 850.0);
    const DpcIsrRow *c = find_routine(rows, isr_c, 1);
    assert_int_equal(c->exclusive_ticks, 800);
    assert_int_equal(c->fragments, 2);
    const DpcIsrRow *d = find_routine(rows, isr_d, 1);
    assert_int_equal(d->exclusive_ticks, 200);
    assert_int_equal(d->fragments, 1);
    assert_int_equal(d->type, DPCISR_MSI_ISR);
    const DpcIsrRow *b = find_routine(rows, isr_b, 1);
    assert_int_equal(b->exclusive_ticks, 500);
    const DpcIsrRow *e = find_routine(rows, dpc_e, 1);
    assert_int_equal(e->exclusive_ticks, 1000);
    assert_int_equal(e->fragments, 1);
    const DpcIsrRow *z = find_routine(rows, dpc_cpu0, 0);
    assert_int_equal(z->exclusive_ticks, 7000);
    assert_int_equal(z->type, DPCISR_TIMER_DPC);
    g_array_unref(rows);

    /* by kind and module: drva.sys DPCs (A, E, the CPU 0 TimerDPC) */
    rows = dpcisr_group(r.d, DPCISR_BY_KIND | DPCISR_BY_MODULE);
    const DpcIsrRow *ma = find_module(rows, "drva.sys", DPCISR_KIND_DPC);
    assert_non_null(ma);
    assert_int_equal(ma->count, 3);
    assert_int_equal(ma->total_ticks, 10000 + 1000 + 7000);
    assert_int_equal(ma->exclusive_ticks, 8500 + 1000 + 7000);
    assert_int_equal(ma->max_ticks, 10000);
    assert_int_equal(ma->max_cpu, 1);
    assert_int_equal(ma->max_start_ts, x.ts0 + 1000);
    assert_int_equal(ma->max_end_ts, x.ts0 + 11000);
    assert_us(ma->mean_us, 1800.0 / 3);
    const DpcIsrRow *mb = find_module(rows, "drvb.sys", DPCISR_KIND_ISR);
    assert_non_null(mb);
    assert_int_equal(mb->count, 2); /* B and D */
    /* case kept: DrvC.SYS */
    assert_non_null(find_module(rows, "DrvC.SYS", DPCISR_KIND_ISR));
    /* sorted by total inclusive time */
    assert_string_equal(g_array_index(rows, DpcIsrRow, 0).module, "drva.sys");
    g_array_unref(rows);
    const DpcIsrAnomalies *an = anomalies(&r);
    assert_int_equal(an->overlaps + an->negative + an->too_long + an->unknown_module, 0);
    assert_int_equal(dpcisr_totals(r.d)->intervals, 6);
    run_free(&r);
}

static uint64_t hist_at(const DpcIsrRow *r, uint64_t le_us)
{
    for (unsigned b = 0; b < DPCISR_HIST_BUCKETS; b++)
        if (dpcisr_bucket_le_us(b) == le_us) return r->hist[b];
    fail_msg("no bucket %" G_GUINT64_FORMAT, le_us);
    return 0;
}

/* Durations exactly on a bucket bound fall in the bucket that bound closes. */
static void test_bucket_boundaries(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 1, 0);
    w_modules(&x);
    /* ticks (0.1 µs):       0   10  11  20  320 321  10240 (1024 µs) 10241 */
    static const int64_t durs[] = { 0, 10, 11, 20, 320, 321, 10240, 10241 };
    int64_t t = 1000;
    for (size_t i = 0; i < G_N_ELEMENTS(durs); i++) {
        w_intr(&x, 0x44, 0, t, t + durs[i], BASE_A + 0x10);
        t += durs[i] + 100;
    }
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    GArray *rows = dpcisr_group(r.d, 0);
    assert_int_equal(rows->len, 1);
    const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, 0);
    assert_int_equal(row->count, G_N_ELEMENTS(durs));
    assert_int_equal(hist_at(row, 1), 2);    /* 0 and exactly 1 µs */
    assert_int_equal(hist_at(row, 2), 2);    /* 1.1 and exactly 2 µs */
    assert_int_equal(hist_at(row, 32), 1);   /* exactly 32 µs */
    assert_int_equal(hist_at(row, 64), 1);   /* 32.1 µs */
    assert_int_equal(hist_at(row, 1024), 1); /* exactly 1024 µs */
    assert_int_equal(hist_at(row, 2048), 1); /* 1024.1 µs */
    uint64_t sum = 0;
    for (unsigned b = 0; b < DPCISR_HIST_BUCKETS; b++) sum += row->hist[b];
    assert_int_equal(sum, row->count);
    g_array_unref(rows);
    run_free(&r);
}

/* With the Windows 7 trace's clock (2,143,632 Hz) no bound is a whole number of ticks:
 * 32 µs = 68.596 ticks, so 68 ticks (31.72 µs) is in (16, 32] and 69 (32.19 µs) in (32, 64]. */
static void test_bucket_boundaries_odd_clock(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 1, 2143632);
    w_modules(&x);
    static const int64_t durs[] = { 2, 3, 68, 69 }; /* 0.93, 1.40, 31.72, 32.19 µs */
    int64_t t = 1000;
    for (size_t i = 0; i < G_N_ELEMENTS(durs); i++) {
        w_intr(&x, 0x43, 0, t, t + durs[i], BASE_B + 0x10);
        t += durs[i] + 100;
    }
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    GArray *rows = dpcisr_group(r.d, 0);
    const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, 0);
    assert_int_equal(hist_at(row, 1), 1);
    assert_int_equal(hist_at(row, 2), 1);
    assert_int_equal(hist_at(row, 32), 1);
    assert_int_equal(hist_at(row, 64), 1);
    /* 69 ticks > 25 µs (53.59 ticks), 68 too; 3 ticks not */
    assert_int_equal(row->over_threshold, 2);
    assert_us(row->max_us, floor(69 * 1e9 / 2143632.0) / 1000.0); /* 32,188 ns */
    g_array_unref(rows);
    run_free(&r);
}

/* Counts over the thresholds: strictly above, per kind; ThreadedDPC is a DPC. */
static void test_thresholds(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 1, 0);
    w_modules(&x);
    int64_t t = 1000;
    /* DPCs: exactly 100 µs, 100.1 µs, 50 µs; ThreadedDPC 150 µs */
    static const struct { uint8_t op; int64_t dur; } ev[] = {
        { 0x44, 1000 }, { 0x44, 1001 }, { 0x45, 500 }, { 0x42, 1500 },
        /* ISRs: exactly 25 µs, 25.1 µs, 10 µs, 10.1 µs (MSI) */
        { 0x43, 250 }, { 0x43, 251 }, { 0x43, 100 }, { 0x32, 101 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ev); i++) {
        w_intr(&x, ev[i].op, 0, t, t + ev[i].dur, ev[i].op == 0x43 || ev[i].op == 0x32 ? BASE_B : BASE_A);
        t += ev[i].dur + 100;
    }
    EtlTrace *tr = w_finish(&x);
    Run r;
    run_trace(&r, tr, NULL);
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_KIND);
    assert_int_equal(rows->len, 2);
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, i);
        if (row->kind == DPCISR_KIND_DPC) {
            assert_int_equal(row->count, 4);
            assert_int_equal(row->over_threshold, 2); /* 100.1 and the ThreadedDPC's 150 */
        } else {
            assert_int_equal(row->count, 4);
            assert_int_equal(row->over_threshold, 1); /* 25.1 */
        }
    }
    g_array_unref(rows);
    /* by type: the ThreadedDPC apart */
    rows = dpcisr_group(r.d, DPCISR_BY_TYPE);
    assert_int_equal(rows->len, 5);
    g_array_unref(rows);
    /* ThreadedDPC is not a watchdog interval: the longest is the 100.1 µs DPC */
    guint n;
    const DpcIsrInterval *lg = dpcisr_longest(r.d, &n);
    assert_int_equal(n, 7);
    assert_int_equal(lg[0].type, DPCISR_DPC);
    assert_int_equal(lg[0].ticks, 1001);
    assert_int_equal(lg[1].ticks, 1000);
    for (guint i = 0; i < n; i++) assert_int_not_equal(lg[i].type, DPCISR_THREADED_DPC);
    /* the same trace again with DPC 50 µs, ISR 10 µs */
    dpcisr_free(r.d);
    model_free(r.m);
    DpcIsrOptions o;
    dpcisr_options_init(&o);
    o.threshold_dpc_us = 50;
    o.threshold_isr_us = 10;
    run_trace(&r, tr, &o);
    rows = dpcisr_group(r.d, DPCISR_BY_KIND);
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, i);
        /* DPC: 100, 100.1, 150 (50 is not over 50); ISR: 25, 25.1, 10.1 (10 is not over 10) */
        assert_int_equal(row->over_threshold, 3);
    }
    g_array_unref(rows);
    run_free(&r);
}

/* A routine no image holds is "Unknown"; function falls back to the address. */
static void test_unknown_module(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 1, 0);
    w_modules(&x);
    w_intr(&x, 0x44, 0, 1000, 1500, NOWHERE + 0x10);
    w_intr(&x, 0x44, 0, 2000, 2100, NOWHERE + 0x10);
    w_intr(&x, 0x43, 0, 3000, 3050, NOWHERE + 0x20);
    w_intr(&x, 0x44, 0, 4000, 4010, BASE_A + 0x30);
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    assert_int_equal(anomalies(&r)->unknown_module, 3);
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_MODULE);
    assert_int_equal(rows->len, 2);
    const DpcIsrRow *u = find_module(rows, DPCISR_UNKNOWN_MODULE, -1);
    assert_non_null(u);
    assert_false(u->module_known);
    assert_int_equal(u->count, 3);
    assert_int_equal(u->total_ticks, 650);
    g_array_unref(rows);
    rows = dpcisr_group(r.d, DPCISR_BY_FUNCTION);
    assert_int_equal(rows->len, 3);
    const DpcIsrRow *f = find_routine(rows, NOWHERE + 0x10, -1);
    assert_int_equal(f->count, 2);
    assert_false(f->module_known);
    const DpcIsrRow *ka = find_routine(rows, BASE_A + 0x30, -1);
    assert_true(ka->module_known);
    assert_int_equal(ka->rva, 0x30);
    g_array_unref(rows);
    run_free(&r);
}

/* A driver unloaded mid-trace and loaded again at another base; another driver takes its old
 * base.  Each DPC resolves at its own time. */
static void test_image_unload_reload(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 2, 0);
    w_modules(&x);
    const uint64_t base2 = UINT64_C(0xfffff80050000000);
    w_intr(&x, 0x44, 0, 1000, 1200, BASE_A + 0x100);        /* drva.sys+0x100 */
    w_image(&x, 2, 5000, BASE_A, "drva.sys");                /* UnLoad */
    w_intr(&x, 0x44, 1, 6000, 6100, BASE_A + 0x100);        /* nothing there: Unknown */
    w_image(&x, 10, 7000, base2, "drva.sys");                /* Load elsewhere */
    w_intr(&x, 0x44, 0, 8000, 8300, base2 + 0x100);         /* drva.sys+0x100 again */
    w_image(&x, 10, 9000, BASE_A, "other.sys");              /* another driver at the old base */
    w_intr(&x, 0x44, 1, 10000, 10400, BASE_A + 0x100);      /* other.sys+0x100 */
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_MODULE);
    assert_int_equal(rows->len, 3);
    const DpcIsrRow *a = find_module(rows, "drva.sys", -1);
    assert_non_null(a);
    assert_int_equal(a->count, 2);
    assert_int_equal(a->total_ticks, 500);
    const DpcIsrRow *o = find_module(rows, "other.sys", -1);
    assert_non_null(o);
    assert_int_equal(o->count, 1);
    assert_int_equal(o->total_ticks, 400);
    const DpcIsrRow *u = find_module(rows, DPCISR_UNKNOWN_MODULE, -1);
    assert_non_null(u);
    assert_int_equal(u->count, 1);
    g_array_unref(rows);
    /* one function drva.sys+0x100 across both loads; two routine addresses */
    rows = dpcisr_group(r.d, DPCISR_BY_FUNCTION);
    guint n_a = 0;
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, i);
        if (!strcmp(row->module, "drva.sys")) {
            n_a++;
            assert_int_equal(row->rva, 0x100);
            assert_int_equal(row->count, 2);
        }
    }
    assert_int_equal(n_a, 1);
    g_array_unref(rows);
    rows = dpcisr_group(r.d, DPCISR_BY_ROUTINE);
    assert_int_equal(rows->len, 4); /* drva@A, drva@B, Unknown@A, other@A */
    g_array_unref(rows);
    assert_int_equal(anomalies(&r)->unknown_module, 1);
    run_free(&r);
}

/* Negative and implausible durations, partial overlaps, a CPU beyond the header's count and a
 * payload too short to decode: counted, never silently dropped. */
static void test_anomalies(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 2, 0);
    w_modules(&x);
    w_intr(&x, 0x44, 0, 2000, 1000, BASE_A + 1);               /* InitialTime after the timestamp */
    w_intr(&x, 0x44, 0, 3000, 3000 + 110000000, BASE_A + 2);   /* 11 s */
    /* CPU 1: X [1000, 2000], then Y [1500, 3000] starts inside X and ends after it */
    w_intr(&x, 0x44, 1, 1000, 2000, BASE_A + 3);
    w_intr(&x, 0x43, 1, 1500, 3000, BASE_B + 3);
    w_intr(&x, 0x44, 5, 1000, 1100, BASE_C + 5);               /* CPU 5 of 2 */
    uint8_t shortp[4] = { 0 };
    w_kernel(&x, ETL_WRITER_PERFINFO, 0x0F, 0x44, 0, x.ts0 + 200000000, shortp, sizeof shortp);
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    const DpcIsrAnomalies *a = anomalies(&r);
    assert_int_equal(a->negative, 1);
    assert_int_equal(a->too_long, 1);
    assert_int_equal(a->overlaps, 1);
    assert_int_equal(a->cpu_beyond_header, 1);
    assert_int_equal(a->undecoded, 1);
    const DpcIsrTotals *t = dpcisr_totals(r.d);
    assert_int_equal(t->intervals, 3);
    assert_int_equal(t->cpus, 6);
    assert_int_equal(t->header_cpus, 2);
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_ROUTINE);
    assert_int_equal(rows->len, 3);
    /* overlapping intervals are not nested: both keep their whole time */
    const DpcIsrRow *y = find_routine(rows, BASE_B + 3, -1);
    assert_int_equal(y->exclusive_ticks, 1500);
    assert_int_equal(y->fragments, 1);
    const DpcIsrRow *xr = find_routine(rows, BASE_A + 3, -1);
    assert_int_equal(xr->exclusive_ticks, 1000);
    const DpcIsrRow *c5 = find_routine(rows, BASE_C + 5, -1);
    assert_int_equal(c5->cpu, 5);
    g_array_unref(rows);
    run_free(&r);
}

/* Per CPU the longest run of back-to-back DISPATCH-level intervals (gaps up to 1 µs). */
static void test_watchdog_spans(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 2, 0);
    w_modules(&x);
    /* CPU 0, in logging order (by end):
     *  A drva DPC [1000, 2000]
     *  C DrvC ISR [2100, 2150] inside B
     *  B drvb DPC [2010, 2500]      gap 10 ticks = 1 µs: merged
     *  D drva TimerDPC [2505, 3000] gap 0.5 µs: merged
     *  F drvb DPC [3021, 3100]      gap 2.1 µs: a new span (and inside E)
     *  E drva ThreadedDPC [3000, 9000]: PASSIVE_LEVEL, not part of any span */
    w_intr(&x, 0x44, 0, 1000, 2000, BASE_A + 0x10);
    w_intr(&x, 0x43, 0, 2100, 2150, BASE_C + 0x10);
    w_intr(&x, 0x44, 0, 2010, 2500, BASE_B + 0x10);
    w_intr(&x, 0x45, 0, 2505, 3000, BASE_A + 0x20);
    w_intr(&x, 0x44, 0, 3021, 3100, BASE_B + 0x20);
    w_intr(&x, 0x42, 0, 3000, 9000, BASE_A + 0x30);
    /* CPU 1: a lone ISR */
    w_intr(&x, 0x32, 1, 500, 520, BASE_B + 0x40);
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    guint n;
    const DpcIsrSpan *sp = dpcisr_watchdog_spans(r.d, &n);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].cpu, 0);
    assert_int_equal(sp[0].start_ts, x.ts0 + 1000);
    assert_int_equal(sp[0].end_ts, x.ts0 + 3000);
    assert_us(sp[0].us, 200.0);
    assert_us(sp[0].busy_us, 198.5); /* less the 1 µs and 0.5 µs gaps */
    assert_int_equal(sp[0].intervals, 4);
    assert_int_equal(sp[0].n_shares, 3);
    assert_string_equal(sp[0].shares[0].module, "drva.sys");
    assert_int_equal(sp[0].shares[0].count, 2);
    assert_us(sp[0].shares[0].us, 149.5);
    assert_string_equal(sp[0].shares[1].module, "drvb.sys");
    assert_us(sp[0].shares[1].us, 44.0); /* B less the nested ISR */
    assert_string_equal(sp[0].shares[2].module, "DrvC.SYS");
    assert_us(sp[0].shares[2].us, 5.0);
    assert_int_equal(sp[1].cpu, 1);
    assert_us(sp[1].us, 2.0);
    /* the ThreadedDPC holds F: exclusive time and fragments, though it is no watchdog interval */
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_ROUTINE);
    const DpcIsrRow *e = find_routine(rows, BASE_A + 0x30, -1);
    assert_int_equal(e->exclusive_ticks, 6000 - 79);
    assert_int_equal(e->fragments, 2);
    g_array_unref(rows);
    /* longest single: A (100 µs) first, E (ThreadedDPC, 600 µs) absent */
    const DpcIsrInterval *lg = dpcisr_longest(r.d, &n);
    assert_int_equal(n, 6);
    assert_int_equal(lg[0].routine, BASE_A + 0x10);
    assert_int_equal(lg[0].cpu, 0);
    assert_int_equal(lg[0].start_ts, x.ts0 + 1000);
    assert_string_equal(lg[0].module, "drva.sys");
    assert_int_equal(lg[0].rva, 0x10);
    assert_us(lg[1].exclusive_us, 49.5);
    dpcisr_free(r.d);
    model_free(r.m);
    /* a 2.5 µs gap merges F too: the span grows to 3100 */
    DpcIsrOptions o;
    dpcisr_options_init(&o);
    o.gap_us = 2.5;
    run_trace(&r, r.t, &o);
    sp = dpcisr_watchdog_spans(r.d, &n);
    assert_int_equal(sp[0].end_ts, x.ts0 + 3100);
    assert_int_equal(sp[0].intervals, 5);
    run_free(&r);
}

/* Usage in intervals: time split at the boundaries, by kind and CPU. */
static void test_usage_intervals(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 2, 0);
    w_modules(&x);
    /* 1 ms intervals = 10,000 ticks from ts0 */
    w_intr(&x, 0x44, 0, 5000, 15000, BASE_A);      /* 0.5 ms in [0,1) ms, 0.5 ms in [1,2) ms */
    w_intr(&x, 0x43, 0, 15000, 15100, BASE_B);     /* 10 µs ISR in [1,2) ms */
    w_intr(&x, 0x44, 1, 20000, 30000, BASE_A);     /* exactly [2,3) ms */
    w_intr(&x, 0x44, 1, 30000, 30000, BASE_A);     /* zero length at a boundary */
    w_intr(&x, 0x44, 1, 35000, 45000, BASE_A);     /* 0.5 + 0.5 */
    Run r;
    DpcIsrOptions o;
    dpcisr_options_init(&o);
    o.interval_s = 0.001;
    run_trace(&r, w_finish(&x), &o);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 0, 0), 500000);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 0, 1), 500000);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_ISR, 0, 1), 10000);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_ISR, 0, 0), 0);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 1, 1), 0);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 1, 2), 1000000);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 1, 3), 500000);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 1, 4), 500000);
    assert_int_equal(dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, 7, 4), 0); /* no such CPU */
    /* the span runs to the last event (the writer's end rundown is none here: the last DPC) */
    guint n = dpcisr_usage_intervals(r.d, false);
    assert_true(n >= 5);
    uint64_t sum = 0;
    for (guint i = 0; i < n; i++)
        for (uint32_t c = 0; c < 2; c++) sum += dpcisr_usage_at(r.d, false, DPCISR_KIND_DPC, c, i);
    assert_int_equal(sum, 3000000);
    run_free(&r);
}

/* --from/--to: an interval counts when it ends inside the window; nesting still sees all. */
static void test_window(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 1, 0);
    w_modules(&x);
    w_intr(&x, 0x43, 0, 900, 1100, BASE_B);             /* ends before the window */
    w_intr(&x, 0x44, 0, 500, 20000, BASE_A);           /* holds it, ends inside */
    w_intr(&x, 0x44, 0, 30000, 31000, BASE_A + 4);     /* inside */
    w_intr(&x, 0x44, 0, 40000, 60000, BASE_A + 8);     /* ends after */
    EtlTrace *t = w_finish(&x);
    Run r;
    DpcIsrOptions o;
    dpcisr_options_init(&o);
    o.from_ts = x.ts0 + 10000;
    o.to_ts = x.ts0 + 50000;
    run_trace(&r, t, &o);
    assert_int_equal(dpcisr_totals(r.d)->intervals, 2);
    assert_int_equal(anomalies(&r)->outside_window, 2);
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_ROUTINE);
    assert_int_equal(rows->len, 2);
    const DpcIsrRow *a = find_routine(rows, BASE_A, -1);
    assert_int_equal(a->exclusive_ticks, 19500 - 200);
    g_array_unref(rows);
    assert_us(dpcisr_totals(r.d)->span_us, 4000.0);
    run_free(&r);
}

/* The generated DPC-storm trace against its ground truth (ScenTruth). */
static void check_storm(Run *r, const ScenTruth *truth)
{
    const DpcIsrAnomalies *a = anomalies(r);
    assert_int_equal(a->negative + a->too_long + a->overlaps + a->unknown_module + a->undecoded + a->nesting_lost, 0);
    GArray *rows = dpcisr_group(r->d, DPCISR_BY_TYPE | DPCISR_BY_ROUTINE);
    assert_int_equal(rows->len, truth->n_dpc);
    uint64_t nested = 0;
    for (uint32_t i = 0; i < truth->n_dpc; i++) {
        const ScenDpcRow *e = &truth->dpc[i];
        DpcIsrType type;
        assert_true(dpcisr_type_from_opcode(e->opcode, &type));
        const DpcIsrRow *g = NULL;
        for (guint j = 0; j < rows->len; j++) {
            const DpcIsrRow *q = &g_array_index(rows, DpcIsrRow, j);
            if (q->routine == e->routine && q->type == type) g = q;
        }
        assert_non_null(g);
        assert_string_equal(g->module, e->module);
        assert_int_equal(g->count, e->count);
        assert_int_equal(g->total_ticks, e->total_ticks);
        assert_int_equal(g->exclusive_ticks, e->exclusive_ticks);
        assert_int_equal(g->max_ticks, e->max_ticks);
        assert_int_equal(g->max_end_ts, e->max_ts);
        assert_int_equal(g->max_cpu, e->max_cpu);
        nested += g->fragments - g->count;
    }
    assert_int_equal(nested, truth->nested_isrs);
    g_array_unref(rows);
    /* per CPU */
    rows = dpcisr_group(r->d, DPCISR_BY_TYPE | DPCISR_BY_ROUTINE | DPCISR_BY_CPU);
    for (guint j = 0; j < rows->len; j++) {
        const DpcIsrRow *q = &g_array_index(rows, DpcIsrRow, j);
        bool found = false;
        for (uint32_t i = 0; i < truth->n_dpc; i++) {
            const ScenDpcRow *e = &truth->dpc[i];
            DpcIsrType type;
            dpcisr_type_from_opcode(e->opcode, &type);
            if (e->routine != q->routine || type != q->type) continue;
            found = true;
            assert_true(q->cpu < 8);
            assert_int_equal(q->count, e->cpu_count[q->cpu]);
            assert_int_equal(q->total_ticks, e->cpu_ticks[q->cpu]);
        }
        assert_true(found);
    }
    g_array_unref(rows);
    /* the storming driver is named first: most DPC time, and the longest single DPC */
    rows = dpcisr_group(r->d, DPCISR_BY_KIND | DPCISR_BY_MODULE);
    const DpcIsrRow *top = &g_array_index(rows, DpcIsrRow, 0);
    assert_string_equal(top->module, truth->storm_module);
    assert_int_equal(top->kind, DPCISR_KIND_DPC);
    assert_int_equal(top->max_cpu, truth->storm_cpu);
    assert_int_equal(top->max_ticks, truth->storm_max_ticks);
    assert_int_equal(top->over_threshold, truth->storm_count); /* every storm DPC is over 300 µs */
    g_array_unref(rows);
    guint n;
    const DpcIsrInterval *lg = dpcisr_longest(r->d, &n);
    assert_int_equal(n, DPCISR_LONGEST_MAX);
    assert_string_equal(lg[0].module, truth->storm_module);
    assert_int_equal(lg[0].cpu, truth->storm_cpu);
    assert_int_equal(lg[0].ticks, truth->storm_max_ticks);
    const DpcIsrSpan *sp = dpcisr_watchdog_spans(r->d, &n);
    assert_int_equal(n, truth->cpus);
    const DpcIsrSpan *best = NULL;
    for (guint i = 0; i < n; i++)
        if (!best || sp[i].us > best->us) best = &sp[i];
    assert_int_equal(best->cpu, truth->storm_cpu);
    assert_string_equal(best->shares[0].module, truth->storm_module);
    assert_true(best->us >= lg[0].us);
}

static void test_dpc_storm_truth(void **state)
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
    Run r;
    run_trace(&r, t, NULL);
    check_storm(&r, &truth);
    run_free(&r);

    /* the checked-in file is the same trace (test-scenario checks it byte for byte) */
    char *path = g_build_filename(tu_source_root(), "traces", "dpc-storm.etl", NULL);
    t = etl_trace_open_file(path, NULL, &err);
    if (!t) fail_msg("%s: %s", path, err->message);
    run_trace(&r, t, NULL);
    check_storm(&r, &truth);
    /* README's figures: 289 DPCs, 477,644.9 µs inclusive, 477,348.9 µs exclusive, max 2,997.9 µs on CPU 2 */
    GArray *rows = dpcisr_group(r.d, DPCISR_BY_KIND | DPCISR_BY_MODULE);
    const DpcIsrRow *top = &g_array_index(rows, DpcIsrRow, 0);
    assert_string_equal(top->module, "stormdrv.sys");
    assert_int_equal(top->count, 289);
    assert_us(top->total_us, 477644.9);
    assert_us(top->exclusive_us, 477348.9);
    assert_us(top->max_us, 2997.9);
    assert_int_equal(top->max_cpu, 2);
    g_array_unref(rows);
    run_free(&r);
    g_free(path);
    scen_truth_clear(&truth);
}

/* Any decoded values: random CPUs, times, routines straight into the sink, under ordinary and
 * absurd options. */
static void garbage_run(Run *r, const DpcIsrOptions *o, guint32 seed)
{
    r->d = dpcisr_new(r->m, r->t, o);
    GRand *rnd = g_rand_new_with_seed(seed);
    static const uint8_t ops[] = { 0x44, 0x45, 0x42, 0x43, 0x32, 0x5F, 0x2E };
    const int64_t ts0 = etl_trace_header(r->t)->ts0;
    uint64_t fed = 0;
    for (int i = 0; i < 40000; i++) {
        EtlEvent ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = ETL_HDR_PERFINFO;
        ev.group = ETL_GROUP_PERFINFO;
        ev.opcode = ops[g_rand_int_range(rnd, 0, G_N_ELEMENTS(ops))];
        ev.cpu = (uint16_t)(g_rand_boolean(rnd) ? g_rand_int_range(rnd, 0, 4) : g_rand_int_range(rnd, 0, 65536));
        int mode = g_rand_int_range(rnd, 0, 6);
        ev.timestamp = mode == 0   ? (int64_t)(((uint64_t)g_rand_int(rnd) << 32) | g_rand_int(rnd))
                       : mode == 5 ? (INT64_C(1) << 62) + g_rand_int_range(rnd, 0, 1000000)
                       : mode == 4 ? (g_rand_boolean(rnd) ? INT64_MAX - g_rand_int_range(rnd, 0, 1000)
                                                          : INT64_MIN + g_rand_int_range(rnd, 0, 1000))
                                   : ts0 + g_rand_int_range(rnd, -100000, 200000000);
        EtlKernelEvent k;
        memset(&k, 0, sizeof k);
        k.kind = ev.opcode == 0x2E                                          ? ETL_K_SAMPLED_PROFILE
                 : ev.opcode == 0x43 || ev.opcode == 0x32 || ev.opcode == 0x5F ? ETL_K_ISR
                                                                             : ETL_K_DPC;
        uint64_t init = mode == 1   ? ((uint64_t)g_rand_int(rnd) << 32) | g_rand_int(rnd)
                        : mode == 5 ? (uint64_t)ev.timestamp - (((uint64_t)g_rand_int(rnd) << 30) ^ g_rand_int(rnd))
                                    : (uint64_t)ev.timestamp - (uint64_t)(int64_t)g_rand_int_range(rnd, -1000, mode == 2 ? 120000000 : 5000);
        uint64_t routine = g_rand_boolean(rnd) ? BASE_A + (uint64_t)g_rand_int_range(rnd, 0, 0x20000)
                                               : ((uint64_t)g_rand_int(rnd) << 32) | g_rand_int(rnd);
        if (k.kind == ETL_K_ISR) {
            k.u.isr.initial_time = init;
            k.u.isr.routine = routine;
        } else {
            k.u.dpc.initial_time = init;
            k.u.dpc.routine = routine;
        }
        dpcisr_add(r->d, &ev, g_rand_int_range(rnd, 0, 50) ? &k : NULL, NULL);
        if (ev.opcode != 0x2E) fed++;
    }
    dpcisr_finish(r->d);
    const DpcIsrTotals *t = dpcisr_totals(r->d);
    const DpcIsrAnomalies *a = &t->anomalies;
    assert_int_equal(t->intervals + a->negative + a->too_long + a->undecoded + a->outside_window, fed);
    GArray *rows = dpcisr_group(r->d, DPCISR_BY_KIND | DPCISR_BY_FUNCTION | DPCISR_BY_CPU | DPCISR_BY_TYPE);
    uint64_t total = 0;
    for (guint i = 0; i < rows->len; i++) {
        const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, i);
        total += row->count;
        assert_true(row->exclusive_ticks <= row->total_ticks);
        assert_true(row->exclusive_ticks >= 0);
    }
    assert_int_equal(total, t->intervals);
    g_array_unref(rows);
    guint n;
    dpcisr_watchdog_spans(r->d, &n);
    dpcisr_longest(r->d, &n);
    assert_true(n <= DPCISR_LONGEST_MAX);
    for (int u = 0; u < 2; u++) {
        guint ni = dpcisr_usage_intervals(r->d, u);
        for (guint i = 0; i < ni && i < 100; i++) (void)dpcisr_usage_at(r->d, u, DPCISR_KIND_ISR, 1, i);
    }
    g_rand_free(rnd);
    dpcisr_free(r->d);
    r->d = NULL;
}

static void test_garbage_values(void **state)
{
    (void)state;
    W x;
    w_init_cfg(&x, 2, 0);
    w_modules(&x);
    w_intr(&x, 0x44, 0, 10, 20, BASE_A);
    Run r;
    run_trace(&r, w_finish(&x), NULL);
    dpcisr_free(r.d);
    DpcIsrOptions o;
    dpcisr_options_init(&o);
    o.interval_s = 0.01;
    o.bucket_s = 0.5;
    garbage_run(&r, &o, 133);
    /* absurd options: clamped or replaced by the defaults */
    o.interval_s = 1e300;
    o.bucket_s = 1e-12;
    o.gap_us = NAN;
    o.threshold_dpc_us = -5;
    o.threshold_isr_us = INFINITY;
    o.from_ts = etl_trace_header(r.t)->ts0 + 1000;
    o.to_ts = etl_trace_header(r.t)->ts0 + 100000000;
    garbage_run(&r, &o, 134);
    dpcisr_options_init(&o);
    o.gap_us = 1e12;
    o.interval_s = 0;
    o.bucket_s = 0;
    garbage_run(&r, &o, 135);
    r.d = dpcisr_new(r.m, r.t, NULL); /* run_free frees it */
    dpcisr_finish(r.d);
    run_free(&r);

    /* a header claiming a 4*10^17 Hz clock: valid durations up to 4*10^18 ticks, sums saturate */
    w_init_cfg(&x, 2, INT64_C(400000000000000000));
    w_modules(&x);
    w_intr(&x, 0x44, 0, 10, 20, BASE_A);
    run_trace(&r, w_finish(&x), NULL);
    dpcisr_free(r.d);
    dpcisr_options_init(&o);
    garbage_run(&r, &o, 136);
    r.d = dpcisr_new(r.m, r.t, NULL);
    dpcisr_finish(r.d);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nesting_exclusive),
        cmocka_unit_test(test_bucket_boundaries),
        cmocka_unit_test(test_bucket_boundaries_odd_clock),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_unknown_module),
        cmocka_unit_test(test_image_unload_reload),
        cmocka_unit_test(test_anomalies),
        cmocka_unit_test(test_watchdog_spans),
        cmocka_unit_test(test_usage_intervals),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_dpc_storm_truth),
        cmocka_unit_test(test_garbage_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
