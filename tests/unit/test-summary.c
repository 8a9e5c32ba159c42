/* test-summary.c — analyses/summary.c: counts per event type, payload decoding health, stack
 * coverage (attribution rules), and memory bounded against corrupt CPU indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyses.h"
#include "etl-writer.h"
#include "testutil.h"
#include "etl.h"

#include <stdio.h>

typedef struct {
    EtlWriter      *w;
    EtlWriterConfig cfg;
} W;

static void w_init(W *x, uint32_t cpus)
{
    etl_writer_config_init(&x->cfg);
    x->cfg.cpus = cpus;
    GError *err = NULL;
    x->w = etl_writer_new_memory(&x->cfg, &err);
    assert_non_null(x->w);
}

static void kernel(W *x, EtlWriterKernelHeader hk, uint8_t group, uint8_t opcode, uint8_t version, uint16_t cpu,
                   int64_t ts, uint32_t tid, const void *payload, size_t len)
{
    EtlWriterKernel k = { .header = hk, .group = group, .opcode = opcode, .version = version, .cpu = cpu,
                          .timestamp = x->cfg.ts0 + ts, .tid = tid, .pid = 4 };
    GError *err = NULL;
    assert_true(etl_writer_kernel(x->w, &k, payload, len, &err));
}

/* StackWalk Stack (0x1820): EventTimeStamp, StackProcess, StackThread, frames */
static void stack(W *x, uint16_t cpu, int64_t at, int64_t event_ts, uint32_t tid, uint64_t frame)
{
    uint8_t p[24];
    uint64_t ets = (uint64_t)(x->cfg.ts0 + event_ts);
    uint32_t pid = 4;
    memcpy(p, &ets, 8);
    memcpy(p + 8, &pid, 4);
    memcpy(p + 12, &tid, 4);
    memcpy(p + 16, &frame, 8);
    kernel(x, ETL_WRITER_PERFINFO, 0x18, 0x20, 2, cpu, at, 0, p, sizeof p);
}

static void pool_alloc(W *x, uint16_t cpu, int64_t ts, uint32_t len)
{
    uint8_t p[24] = { 0 };
    memcpy(p + 4, "Leak", 4);
    p[8] = 0x40;
    kernel(x, ETL_WRITER_PERFINFO, 0x0E, 0x20, 2, cpu, ts, 0, p, len);
}

static EtlTrace *finish(W *x)
{
    EtlTrace *t = tu_finish_open(x->w);
    x->w = NULL;
    assert_non_null(t);
    return t;
}

static Summary *summarize(EtlTrace *t)
{
    Summary *s = summary_new(t);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_CPU);
    const EtlEvent *ev;
    while ((ev = etl_reader_next(r))) summary_add(s, ev);
    etl_reader_free(r);
    return s;
}

static const SummaryRow *find(Summary *s, const char *provider, const char *event)
{
    guint n;
    const SummaryRow *rows = summary_rows(s, &n);
    for (guint i = 0; i < n; i++)
        if (!g_strcmp0(rows[i].provider_name, provider) && !g_strcmp0(rows[i].event_name, event)) return &rows[i];
    return NULL;
}

static void test_counts_and_decoding(void **state)
{
    (void)state;
    W x;
    w_init(&x, 2);
    for (int i = 0; i < 5; i++) pool_alloc(&x, (uint16_t)(i % 2), 100 + i, 24);
    pool_alloc(&x, 0, 200, 12); /* too short for a 64-bit pool payload: malformed */
    uint8_t u[8] = { 0 };
    kernel(&x, ETL_WRITER_SYSTEM, 0x09, 0x0A, 2, 1, 300, 7, u, sizeof u); /* Registry: no decoder */
    EtlTrace *t = finish(&x);
    Summary *s = summarize(t);
    const SummaryRow *pool = find(s, "Pool", "PoolAlloc");
    assert_non_null(pool);
    assert_int_equal(pool->count, 6);
    assert_int_equal(pool->malformed, 1);
    assert_int_equal(pool->undecoded, 0);
    assert_int_equal(pool->bytes, 5 * (16 + 24) + (16 + 12));
    assert_int_equal(pool->cls, SUMMARY_KERNEL);
    const SummaryTotals *tot = summary_totals(s);
    assert_int_equal(tot->kernel_malformed, 1);
    assert_int_equal(tot->kernel_undecoded, 1);
    /* the malformed payload is a diagnostic naming the event */
    uint32_t nd;
    const EtlDiag *d = etl_trace_diags(t, &nd);
    assert_int_equal(nd, 1);
    assert_int_equal(d[0].code, ETL_DIAG_PAYLOAD);
    assert_string_equal(d[0].detail, "Pool/PoolAlloc v2 payload of 12 bytes is too short for its layout");
    /* rows are sorted by count, then names */
    guint n;
    const SummaryRow *rows = summary_rows(s, &n);
    for (guint i = 1; i < n; i++) assert_true(rows[i - 1].count >= rows[i].count);
    summary_free(s);
    etl_trace_free(t);
}

static void test_stack_attribution(void **state)
{
    (void)state;
    W x;
    w_init(&x, 2);
    /* CPU 0: a SampledProfile and an ISR share a clock tick; the stack walk (kernel half, then a
     * user half after the ISR) belongs to the sample, the first event logged at that time */
    uint8_t sp[16] = { 0 };
    kernel(&x, ETL_WRITER_PERFINFO, 0x0F, 0x2E, 2, 0, 1000, 0, sp, sizeof sp);
    stack(&x, 0, 1001, 1000, 0, 0xfffff80000001000ull);
    uint8_t isr[20] = { 0 };
    kernel(&x, ETL_WRITER_PERFINFO, 0x0F, 0x43, 2, 0, 1000, 0, isr, sizeof isr);
    stack(&x, 0, 1002, 1000, 0, 0x7ff000001000ull);
    /* CPU 1: KernelTraceControl ImageID merged right before an Image/Load with the same time and
     * thread: the stack is the Load's */
    GError *err = NULL;
    EtlWriterClassic ktc = { .cpu = 1, .timestamp = x.cfg.ts0 + 2000, .tid = 77, .pid = 4, .type = 0, .version = 2 };
    etl_guid_parse("b3e675d7-2554-4f18-830b-2762732560de", &ktc.guid);
    uint8_t idp[32] = { 0 };
    assert_true(etl_writer_classic(x.w, &ktc, idp, sizeof idp, &err));
    uint8_t img[56 + 4] = { 0 };
    kernel(&x, ETL_WRITER_SYSTEM, 0x03, 0x0A, 2, 1, 2000, 77, img, sizeof img);
    stack(&x, 1, 2001, 2000, 77, 0xfffff80000002000ull);
    /* a stack for nothing */
    stack(&x, 1, 3000, 2999, 77, 0xfffff80000003000ull);
    EtlTrace *t = finish(&x);
    Summary *s = summarize(t);
    const SummaryTotals *tot = summary_totals(s);
    assert_int_equal(tot->stack_events, 4);
    assert_int_equal(tot->stacks_matched, 3);
    assert_int_equal(tot->stacks_unmatched, 1);
    assert_int_equal(find(s, "PerfInfo", "SampleProf")->with_stack, 1);
    assert_int_equal(find(s, "PerfInfo", "ISR")->with_stack, 0);
    assert_int_equal(find(s, "Image", "Load")->with_stack, 1);
    assert_int_equal(find(s, "KernelTraceControl/ImageID", "ImageID")->with_stack, 0);
    summary_free(s);
    etl_trace_free(t);
}

static void test_thread_must_match(void **state)
{
    (void)state;
    W x;
    w_init(&x, 1);
    uint8_t p[24] = { 0 };
    /* two SYSTEM-header events at one tick, threads 5 and 6: the stack of thread 6 is the second's */
    kernel(&x, ETL_WRITER_SYSTEM, 0x05, 0x01, 3, 0, 500, 5, p, 8);
    kernel(&x, ETL_WRITER_SYSTEM, 0x03, 0x01, 3, 0, 500, 6, p, 8);
    stack(&x, 0, 501, 500, 6, 0xfffff80000001000ull);
    EtlTrace *t = finish(&x);
    Summary *s = summarize(t);
    assert_int_equal(find(s, "Thread", "Start")->with_stack, 0);
    assert_int_equal(find(s, "Process", "Start")->with_stack, 1);
    summary_free(s);
    etl_trace_free(t);
}

static void test_ext_item_stacks(void **state)
{
    (void)state;
    W x;
    w_init(&x, 1);
    uint8_t st[8 + 16];
    uint64_t frames[2] = { 0x1000, 0x2000 };
    size_t sl = etl_writer_ext_stack(st, sizeof st, 1, frames, 2, 8);
    EtlWriterExt ext = { ETL_EXT_STACK_TRACE64, (uint16_t)sl, st };
    EtlWriterEvent e = { .cpu = 0, .timestamp = x.cfg.ts0 + 10, .id = 7, .ext = &ext, .n_ext = 1 };
    etl_guid_parse("e13c0d23-ccbc-4e12-931b-d9cc2eee27e4", &e.provider);
    GError *err = NULL;
    assert_true(etl_writer_event(x.w, &e, "x", 1, &err));
    e.n_ext = 0;
    e.timestamp++;
    assert_true(etl_writer_event(x.w, &e, "x", 1, &err));
    EtlTrace *t = finish(&x);
    Summary *s = summarize(t);
    const SummaryRow *r = find(s, "Microsoft-Windows-DotNETRuntime", NULL);
    assert_non_null(r);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->with_stack, 1);
    assert_int_equal(r->cls, SUMMARY_EVENT);
    assert_int_equal(r->event_id, 7);
    summary_free(s);
    etl_trace_free(t);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * 4;
}

static void test_corrupt_cpu_index_is_cheap(void **state)
{
    (void)state;
    W x;
    w_init(&x, 2);
    for (int i = 0; i < 10; i++) pool_alloc(&x, 0, 100 + i, 24);
    GError *err = NULL;
    assert_true(etl_writer_finish(x.w, &err));
    size_t len;
    uint8_t *b = etl_writer_steal_memory(x.w, &len);
    etl_writer_free(x.w);
    /* buffer 1 claims CPU 65535 */
    uint32_t hb = etl_rd32(b);
    b[hb + 0x28] = 0xff;
    b[hb + 0x29] = 0xff;
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(b, len, "m"), NULL, &err);
    assert_non_null(t);
    assert_int_equal(etl_trace_cpu_slots(t), 65536);
    long before = rss_kb();
    Summary *s = summarize(t);
    long grown = rss_kb() - before;
    /* rings are allocated per CPU seen, not for every index below the largest (that was 50 MB) */
    assert_true(grown < 4096);
    assert_int_equal(find(s, "Pool", "PoolAlloc")->count, 10);
    summary_free(s);
    etl_trace_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_decoding),
        cmocka_unit_test(test_stack_attribution),
        cmocka_unit_test(test_thread_must_match),
        cmocka_unit_test(test_ext_item_stacks),
        cmocka_unit_test(test_corrupt_cpu_index_is_cheap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
