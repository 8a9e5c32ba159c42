/* test-dump.c — etl/dump/ (etla extract) on synthetic dumps built by tests/support/dumpgen.c.
 *
 * Every extraction is checked against its source trace: the same events, byte for byte, in the
 * same order (reader, time order), and the same per-type counts as `etla info` computes them
 * (summary_*), header buffers excluded on both sides.  Containers: full, bitmap (SDMP/FDMP),
 * raw; paging: x64 4 KiB / 2 MiB (PAT bit set) / 1 GiB, PAE, x86; discovery through the logger
 * array (Windows 10 and 7 context layouts) and carving; decoys, aliases, stale copies,
 * active/free buffers; truncated, corrupt and non-dump files; dumps without ETW buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyses.h"
#include "dumpgen.h"
#include "etl-dump.h"
#include "scenario.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DUMP_PUBLIC_TRACES
/* test-dump-real: the same file, only the tests on the public traces */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* ------------------------------------------------------------------ helpers */

typedef struct {
    GPtrArray *msgs;
    uint32_t   by_code[ETL_DUMP_DIAG_COUNT_];
} Diags;

static void collect(const EtlDumpDiag *d, void *user)
{
    Diags *c = user;
    char *s = etl_dump_diag_format(d);
    /* the project standard: every diagnostic names a file offset */
    assert_non_null(strstr(s, "offset=0x"));
    g_ptr_array_add(c->msgs, s);
    c->by_code[d->code]++;
}

static bool has_msg(const Diags *d, const char *needle)
{
    for (guint i = 0; i < d->msgs->len; i++)
        if (strstr(d->msgs->pdata[i], needle)) return true;
    return false;
}

static uint8_t *scenario(ScenKind kind, uint64_t seed, uint8_t ptr, uint32_t bs, uint32_t ms, size_t *len)
{
    GError *err = NULL;
    uint8_t *t = dg_scenario_trace(kind, seed, ptr, bs, ms, len, &err);
    if (!t) fail_msg("scenario: %s", err->message);
    return t;
}

static uint8_t *build(const DgOptions *o, const DgLogger *loggers, int n, size_t *len, DgTruth *truth)
{
    DumpGen *g = dg_new(o);
    GError *err = NULL;
    for (int i = 0; i < n; i++)
        if (!dg_add_logger(g, &loggers[i], &err)) fail_msg("dg_add_logger: %s", err->message);
    uint8_t *dump = dg_write_memory(g, len, &err);
    assert_non_null(dump);
    if (truth) *truth = *dg_truth(g);
    dg_free(g);
    return dump;
}

static EtlDump *open_dump(const uint8_t *bytes, size_t len, Diags *dg, const EtlDumpOptions *base, GError **err)
{
    dg->msgs = g_ptr_array_new_with_free_func(g_free);
    memset(dg->by_code, 0, sizeof dg->by_code);
    EtlDumpOptions o = base ? *base : (EtlDumpOptions){ 0 };
    o.diag_fn = collect;
    o.diag_user = dg;
    EtlDump *d = etl_dump_open(etl_source_new_memory(bytes, len, "test.dmp"), &o, err);
    if (d) assert_true(etl_dump_scan(d, err));
    return d;
}

static void diags_free(Diags *dg)
{
    if (dg->msgs) g_ptr_array_free(dg->msgs, TRUE);
    dg->msgs = NULL;
}

static uint8_t *extract(EtlDump *d, int logger, size_t *len, EtlDumpWriteStats *ws)
{
    GError *err = NULL;
    assert_true(logger >= 0);
    uint8_t *etl = etl_dump_write_logger_memory(d, (uint32_t)logger, len, ws, &err);
    if (!etl) fail_msg("write: %s", err->message);
    return etl;
}

static EtlTrace *open_trace(const uint8_t *bytes, size_t len, const char *name)
{
    GError *err = NULL;
    EtlTrace *t = etl_trace_open(etl_source_new_memory(bytes, len, name), NULL, &err);
    if (!t) fail_msg("%s: %s", name, err->message);
    return t;
}

typedef struct {
    uint64_t events;
    uint64_t compared;
    bool     times_exact;     /* FILETIMEs of the output equal the source's (within 100 ns) */
} Cmp;

/* The data events of out (buffer 0 excluded) equal those of src, byte for byte and in order;
 * partial: out may hold fewer (each must then equal the source's event at the same position of
 * its CPU stream, checked as "is a source event"). */
static Cmp compare_events(const uint8_t *src, size_t src_len, const uint8_t *out, size_t out_len, bool subset)
{
    EtlTrace *ts = open_trace(src, src_len, "source"), *to = open_trace(out, out_len, "extracted");
    const EtlLogfileHeader *hs = etl_trace_header(ts), *ho = etl_trace_header(to);
    Cmp c = { .times_exact = true };
    if (subset) {
        GHashTable *set = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
        EtlReader *r = etl_reader_new(ts, ETL_ORDER_FILE);
        const EtlEvent *ev;
        while ((ev = etl_reader_next(r)))
            if (ev->buffer_index) g_hash_table_add(set, g_bytes_new(ev->raw, ev->size));
        etl_reader_free(r);
        r = etl_reader_new(to, ETL_ORDER_FILE);
        while ((ev = etl_reader_next(r))) {
            if (!ev->buffer_index) continue;
            GBytes *b = g_bytes_new_static(ev->raw, ev->size);
            assert_true(g_hash_table_contains(set, b));
            g_bytes_unref(b);
            c.events++;
        }
        etl_reader_free(r);
        g_hash_table_destroy(set);
    } else {
        EtlReader *rs = etl_reader_new(ts, ETL_ORDER_TIME), *ro = etl_reader_new(to, ETL_ORDER_TIME);
        const EtlEvent *a, *b;
        for (;;) {
            do a = etl_reader_next(rs); while (a && !a->buffer_index);
            /* copy what we need: the next call invalidates a */
            uint8_t *araw = a ? g_memdup2(a->raw, a->size) : NULL;
            uint16_t asize = a ? a->size : 0, acpu = a ? a->cpu : 0;
            int64_t ats = a ? a->timestamp : 0;
            bool ahas = a && a->has_timestamp;
            do b = etl_reader_next(ro); while (b && !b->buffer_index);
            if (!a || !b) {
                g_free(araw);
                if (a || b)
                    fail_msg("event %" G_GUINT64_FORMAT ": %s has more events", c.events, a ? "the source" : "the extraction");
                break;
            }
            c.events++;
            assert_int_equal(asize, b->size);
            assert_int_equal(acpu, b->cpu);
            assert_int_equal(ats, b->timestamp);
            assert_memory_equal(araw, b->raw, asize);
            if (ahas && llabs(etl_time_filetime(hs, ats) - etl_time_filetime(ho, b->timestamp)) > 1) c.times_exact = false;
            g_free(araw);
            c.compared++;
        }
        etl_reader_free(rs);
        etl_reader_free(ro);
        assert_int_equal(etl_trace_stats(to)->diagnostics, 0);
    }
    etl_trace_free(ts);
    etl_trace_free(to);
    return c;
}

/* `etla info` counts (summary rows, header buffers excluded) are the same. */
static void compare_summaries(const uint8_t *src, size_t src_len, const uint8_t *out, size_t out_len)
{
    const uint8_t *bytes[2] = { src, out };
    size_t lens[2] = { src_len, out_len };
    GHashTable *counts[2];
    uint64_t totals[2] = { 0, 0 };
    for (int k = 0; k < 2; k++) {
        EtlTrace *t = open_trace(bytes[k], lens[k], k ? "extracted" : "source");
        Summary *s = summary_new(t);
        EtlReader *r = etl_reader_new(t, ETL_ORDER_CPU);
        const EtlEvent *ev;
        while ((ev = etl_reader_next(r)))
            if (ev->buffer_index) summary_add(s, ev);
        etl_reader_free(r);
        guint n;
        const SummaryRow *rows = summary_rows(s, &n);
        counts[k] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (guint i = 0; i < n; i++) {
            char g[ETL_GUID_STRLEN];
            etl_guid_format(&rows[i].provider, g);
            char *key = g_strdup_printf("%d/%s/%u/%u", rows[i].cls, g, rows[i].opcode, rows[i].event_id);
            g_hash_table_insert(counts[k], key, GSIZE_TO_POINTER((gsize)rows[i].count));
            totals[k] += rows[i].count;
        }
        summary_free(s);
        etl_trace_free(t);
    }
    assert_int_equal(totals[0], totals[1]);
    assert_int_equal(g_hash_table_size(counts[0]), g_hash_table_size(counts[1]));
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, counts[0]);
    while (g_hash_table_iter_next(&it, &key, &val))
        assert_int_equal(GPOINTER_TO_SIZE(val), GPOINTER_TO_SIZE(g_hash_table_lookup(counts[1], key)));
    g_hash_table_destroy(counts[0]);
    g_hash_table_destroy(counts[1]);
}

/* The synthesized header buffer: SavedOffset and Offset set, CpuSpeedInMHz non-zero, the
 * session facts. */
static void check_header(const uint8_t *out, size_t len, uint32_t buffer_size, uint8_t psize)
{
    assert_true(len > 0x48 + 0x20 + 0x118);
    assert_int_equal(etl_rd32(out + 0x00), buffer_size);
    assert_true(etl_rd32(out + 0x04) > 0x48);
    assert_int_equal(etl_rd32(out + 0x04), etl_rd32(out + 0x30));
    EtlTrace *t = open_trace(out, len, "extracted");
    const EtlLogfileHeader *h = etl_trace_header(t);
    assert_int_equal(h->buffer_size, buffer_size);
    assert_int_equal(h->pointer_size, psize);
    assert_true(h->cpu_mhz > 0);
    assert_true(h->cpus >= 1);
    assert_true(h->perf_freq > 0);
    assert_int_equal(h->buffers_written, etl_trace_stats(t)->buffers);
    /* every data buffer has SavedOffset = Offset */
    for (uint32_t i = 1; i < etl_trace_buffer_count(t); i++) {
        const EtlBufferInfo *bi = etl_trace_buffer(t, i);
        assert_true(bi->usable);
        assert_int_equal(bi->hdr.saved_offset, bi->hdr.offset);
        assert_int_equal(bi->hdr.state, 3);
    }
    etl_trace_free(t);
}

/* Build a dump of one scenario trace, extract the default logger, compare everything. */
typedef struct {
    ScenKind kind;
    uint8_t  ptr;
    uint32_t bs, ms;
    DgLogger l;
    DgOptions o;
    EtlDumpOptions dopts;
    /* results */
    const char *expect_method;
    bool     expect_exact_times;
} Case;

static void run_case(Case *k)
{
    size_t tlen, dlen, olen;
    uint8_t *trace = scenario(k->kind, 3, k->ptr ? k->ptr : 8, k->bs, k->ms ? k->ms : 2500, &tlen);
    k->l.etl = trace;
    k->l.etl_len = tlen;
    if (!k->l.logger_id) k->l.logger_id = 2;
    DgTruth truth;
    uint8_t *dump = build(&k->o, &k->l, 1, &dlen, &truth);
    Diags dg;
    GError *err = NULL;
    EtlDump *d = open_dump(dump, dlen, &dg, &k->dopts, &err);
    assert_non_null(d);
    assert_int_equal(etl_dump_logger_count(d), 1);
    int i = etl_dump_default_logger(d);
    assert_int_equal(i, 0);
    const EtlDumpLogger *L = etl_dump_logger(d, 0);
    assert_int_equal(L->logger_id, k->l.logger_id);
    assert_int_equal(L->buffers, truth.loggers[0].buffers_with_events);
    assert_int_equal(L->events, truth.loggers[0].events);
    assert_int_equal(L->buffers_partial, 0);
    if (k->expect_method) assert_string_equal(k->expect_method, L->discovered ? "discovered" : "carved");
    if (k->l.name) assert_string_equal(L->name, k->l.name);
    EtlDumpWriteStats ws;
    uint8_t *out = extract(d, i, &olen, &ws);
    assert_int_equal(ws.buffers, L->buffers);
    assert_int_equal(ws.events, truth.loggers[0].events);
    check_header(out, olen, truth.loggers[0].buffer_size, k->ptr ? k->ptr : 8);
    Cmp c = compare_events(trace, tlen, out, olen, false);
    assert_int_equal(c.events, truth.loggers[0].events);
    if (k->expect_exact_times) assert_true(c.times_exact);
    compare_summaries(trace, tlen, out, olen);
    g_free(out);
    etl_dump_free(d);
    diags_free(&dg);
    g_free(dump);
    g_free(trace);
}

static Case base_case(void)
{
    Case k;
    memset(&k, 0, sizeof k);
    k.kind = SCEN_DPC_STORM;
    k.bs = 16384;
    dg_options_init(&k.o);
    k.l.name = "Circular Kernel Context Logger";
    k.expect_exact_times = true;
    return k;
}

/* ------------------------------------------------------------------ containers and paging */

static void test_full_x64(void **state)
{
    (void)state;
    Case k = base_case();
    k.expect_method = "discovered";
    run_case(&k);
}

static void test_bitmap_sdmp_large_pat(void **state)
{
    (void)state;
    Case k = base_case();
    k.o.container = DG_BITMAP;
    k.l.pages = DG_PAGES_LARGE;
    k.l.pat = true;
    k.expect_method = "discovered";
    run_case(&k);
}

static void test_bitmap_fdmp_1g(void **state)
{
    (void)state;
    Case k = base_case();
    k.o.container = DG_BITMAP;
    k.o.fdmp = true;
    k.o.fill = DG_FILL_RANDOM;
    k.l.pages = DG_PAGES_1G;
    run_case(&k);
}

static void test_raw_selfmap(void **state)
{
    (void)state;
    Case k = base_case();
    k.o.container = DG_RAW;
    k.o.fill = DG_FILL_MIXED;
    k.expect_method = "carved";   /* no header, no KDBG: carving; the name comes from the list head */
    run_case(&k);
}

static void test_pae(void **state)
{
    (void)state;
    Case k = base_case();
    k.o.arch = DG_PAE;
    k.ptr = 4;
    k.expect_method = "discovered";
    k.expect_exact_times = false; /* no ReferenceTime read on x86: KUSD clock */
    run_case(&k);
    Case b = base_case();
    b.o.arch = DG_PAE;
    b.o.container = DG_BITMAP;
    b.l.pages = DG_PAGES_LARGE;
    b.ptr = 4;
    b.expect_exact_times = false;
    run_case(&b);
}

static void test_x86(void **state)
{
    (void)state;
    Case k = base_case();
    k.o.arch = DG_X86;
    k.ptr = 4;
    k.l.pages = DG_PAGES_LARGE;
    k.expect_method = "discovered";
    k.expect_exact_times = false;
    run_case(&k);
}

static void test_win7_context_states(void **state)
{
    (void)state;
    Case k = base_case();
    k.kind = SCEN_POOL_LEAK;
    k.o.win7_context = true;
    k.l.n_active = 2;
    k.l.n_free = 1;
    k.expect_method = "discovered";
    run_case(&k);
}

static void test_carve_only_and_small_buffers(void **state)
{
    (void)state;
    Case k = base_case();
    k.bs = 8192;
    k.dopts.no_discovery = true;
    k.expect_method = "carved";
    run_case(&k);
}

static void test_no_kusd_header_clock(void **state)
{
    (void)state;
    Case k = base_case();
    k.o.no_kusd = true;
    k.expect_exact_times = true;  /* the logger context's ReferenceTime still gives the pair */
    run_case(&k);
}

/* ------------------------------------------------------------------ decoys, aliases, dedup */

static void test_decoys_rejected(void **state)
{
    (void)state;
    size_t tlen, dlen, olen;
    uint8_t *trace = scenario(SCEN_DPC_STORM, 5, 8, 16384, 3000, &tlen);
    DgOptions o;
    dg_options_init(&o);
    o.decoys = true;
    o.fill = DG_FILL_MIXED;
    DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2, .name = "Circular Kernel Context Logger" };
    for (int carve = 0; carve < 2; carve++) {
        DgTruth truth;
        uint8_t *dump = build(&o, &l, 1, &dlen, &truth);
        assert_true(truth.decoys >= 6);
        Diags dg;
        EtlDumpOptions dopts = { .no_discovery = carve == 1 };
        EtlDump *d = open_dump(dump, dlen, &dg, &dopts, NULL);
        assert_int_equal(etl_dump_logger_count(d), 1);
        const EtlDumpLogger *L = etl_dump_logger(d, 0);
        assert_int_equal(L->buffers, truth.loggers[0].buffers_with_events);
        const EtlDumpStats *st = etl_dump_stats(d);
        assert_true(st->rejected >= 1);     /* the corrupt first event */
        assert_true(st->unmapped >= 1);     /* the copy in free memory */
        assert_true(st->duplicates >= 2);   /* the mapped exact and older copies */
        assert_true(has_msg(&dg, "first event malformed"));
        assert_true(has_msg(&dg, "a second copy of the same buffer") || has_msg(&dg, "stale copy"));
        uint8_t *out = extract(d, 0, &olen, NULL);
        compare_events(trace, tlen, out, olen, false);
        compare_summaries(trace, tlen, out, olen);
        g_free(out);
        etl_dump_free(d);
        diags_free(&dg);
        g_free(dump);
    }
    g_free(trace);
}

static void test_alias_dedup(void **state)
{
    (void)state;
    size_t tlen, dlen, olen;
    uint8_t *trace = scenario(SCEN_POOL_LEAK, 7, 8, 16384, 3000, &tlen);
    DgOptions o;
    dg_options_init(&o);
    o.alias_mapping = true;
    DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2, .name = "NT Kernel Logger" };
    for (int kdbg = 0; kdbg < 2; kdbg++) {
        o.no_kdbg = kdbg == 0;
        DgTruth truth;
        uint8_t *dump = build(&o, &l, 1, &dlen, &truth);
        Diags dg;
        EtlDump *d = open_dump(dump, dlen, &dg, NULL, NULL);
        assert_int_equal(etl_dump_logger_count(d), 1);
        const EtlDumpLogger *L = etl_dump_logger(d, 0);
        assert_int_equal(L->buffers, truth.loggers[0].buffers_with_events);
        assert_string_equal(L->name, "NT Kernel Logger");
        uint8_t *out = extract(d, 0, &olen, NULL);
        compare_events(trace, tlen, out, olen, false);
        g_free(out);
        etl_dump_free(d);
        diags_free(&dg);
        g_free(dump);
    }
    g_free(trace);
}

static void test_two_loggers_selection(void **state)
{
    (void)state;
    size_t t1len, t2len, dlen, olen;
    uint8_t *t1 = scenario(SCEN_DPC_STORM, 11, 8, 16384, 4000, &t1len);
    uint8_t *t2 = scenario(SCEN_POOL_LEAK, 12, 8, 32768, 1500, &t2len);
    DgOptions o;
    dg_options_init(&o);
    o.ram_bytes = 32u << 20;
    DgLogger l[2] = {
        { .etl = t1, .etl_len = t1len, .logger_id = 2, .name = "Circular Kernel Context Logger" },
        { .etl = t2, .etl_len = t2len, .logger_id = 17, .name = "MyTrace" },
    };
    DgTruth truth;
    uint8_t *dump = build(&o, l, 2, &dlen, &truth);
    Diags dg;
    EtlDump *d = open_dump(dump, dlen, &dg, NULL, NULL);
    assert_int_equal(etl_dump_logger_count(d), 2);
    assert_int_equal(etl_dump_find_logger(d, "2"), 0);
    assert_int_equal(etl_dump_find_logger(d, "0x11"), 1);
    assert_int_equal(etl_dump_find_logger(d, "mytrace"), 1);
    assert_int_equal(etl_dump_find_logger(d, "circular kernel context logger"), 0);
    assert_int_equal(etl_dump_find_logger(d, "nope"), -1);
    assert_int_equal(etl_dump_find_logger(d, "3"), -1);
    assert_int_equal(etl_dump_default_logger(d), 0);
    assert_true(etl_dump_logger(d, 0)->kernel);
    uint8_t *out = extract(d, 1, &olen, NULL);
    check_header(out, olen, 32768, 8);
    compare_events(t2, t2len, out, olen, false);
    compare_summaries(t2, t2len, out, olen);
    g_free(out);
    etl_dump_free(d);
    diags_free(&dg);
    g_free(dump);
    g_free(t1);
    g_free(t2);
}

/* ------------------------------------------------------------------ bad input */

static void test_truncated_partial(void **state)
{
    (void)state;
    size_t tlen, dlen, olen;
    uint8_t *trace = scenario(SCEN_DPC_STORM, 13, 8, 65536, 6000, &tlen);
    DgOptions o;
    dg_options_init(&o);
    DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2, .name = "Circular Kernel Context Logger" };
    DgTruth truth;
    uint8_t *dump = build(&o, &l, 1, &dlen, &truth);
    /* cut the file: at 95% some buffer pages are gone; at 60% the page directory too, so only
     * first pages can be recovered physically */
    uint64_t recovered = 0;
    for (int pct = 95; pct >= 60; pct -= 35) {
        size_t cut = dlen / 100 * pct / 4096 * 4096 + 100;
        Diags dg;
        GError *err = NULL;
        EtlDump *d = open_dump(dump, cut, &dg, NULL, &err);
        assert_non_null(d);
        assert_true(etl_dump_info(d)->truncated);
        assert_true(etl_dump_info(d)->pages_missing > 0);
        assert_true(has_msg(&dg, "dump is truncated"));
        assert_true(dg.by_code[ETL_DUMP_DIAG_CONTAINER] >= 1);
        if (etl_dump_logger_count(d)) {
            const EtlDumpLogger *L = etl_dump_logger(d, 0);
            uint8_t *out = extract(d, 0, &olen, NULL);
            Cmp c = compare_events(trace, tlen, out, olen, true);
            assert_true(c.events <= truth.loggers[0].events);
            if (L->buffers_partial) assert_true(has_msg(&dg, "recovered in part"));
            recovered += c.events;
            g_free(out);
        }
        etl_dump_free(d);
        diags_free(&dg);
    }
    assert_true(recovered > 0);
    g_free(dump);
    g_free(trace);
}

static void test_partial_decoy_reported(void **state)
{
    (void)state;
    size_t tlen, dlen, olen;
    uint8_t *trace = scenario(SCEN_DPC_STORM, 17, 8, 16384, 2000, &tlen);
    DgOptions o;
    dg_options_init(&o);
    o.partial_decoy = true;
    DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2, .name = "Circular Kernel Context Logger" };
    uint8_t *dump = build(&o, &l, 1, &dlen, NULL);
    Diags dg;
    EtlDump *d = open_dump(dump, dlen, &dg, NULL, NULL);
    assert_int_equal(etl_dump_logger_count(d), 2);
    int i = etl_dump_find_logger(d, "1008");
    assert_true(i >= 0);
    const EtlDumpLogger *L = etl_dump_logger(d, (uint32_t)i);
    assert_int_equal(L->buffers, 1);
    assert_int_equal(L->buffers_partial, 1);
    assert_false(L->discovered);
    assert_true(has_msg(&dg, "recovered in part"));
    EtlDumpWriteStats ws;
    uint8_t *out = extract(d, i, &olen, &ws);
    assert_int_equal(ws.partial, 1);
    EtlTrace *t = open_trace(out, olen, "partial");
    EtlReader *r = etl_reader_new(t, ETL_ORDER_FILE);
    while (etl_reader_next(r)) {}
    etl_reader_free(r);
    assert_int_equal(etl_trace_stats(t)->diagnostics, 0);
    assert_true(etl_trace_stats(t)->events > 2);
    etl_trace_free(t);
    g_free(out);
    /* the real logger is untouched and still the default */
    assert_int_equal(etl_dump_logger(d, (uint32_t)etl_dump_default_logger(d))->logger_id, 2);
    etl_dump_free(d);
    diags_free(&dg);
    g_free(dump);
    g_free(trace);
}

static void expect_open_error(const uint8_t *bytes, size_t len, int code, const char *needle)
{
    Diags dg = { 0 };
    GError *err = NULL;
    dg.msgs = g_ptr_array_new_with_free_func(g_free);
    EtlDumpOptions o = { .diag_fn = collect, .diag_user = &dg };
    EtlDump *d = etl_dump_open(etl_source_new_memory(bytes, len, "bad.dmp"), &o, &err);
    if (d) fail_msg("opened, expected: %s", needle);
    assert_non_null(err);
    if (code >= 0) assert_int_equal(err->code, code);
    if (!strstr(err->message, needle)) fail_msg("message '%s' lacks '%s'", err->message, needle);
    assert_null(strchr(err->message, '\n'));
    g_error_free(err);
    diags_free(&dg);
}

static void test_bad_containers(void **state)
{
    (void)state;
    /* not a dump */
    static const char text[] = "this is not a crash dump\n";
    expect_open_error((const uint8_t *)text, sizeof text - 1, ETL_ERROR_NOT_ETL, "is not a Windows crash dump");
    expect_open_error((const uint8_t *)text, 0, ETL_ERROR_EMPTY, "empty");
    size_t tlen;
    uint8_t *trace = scenario(SCEN_DPC_STORM, 1, 8, 16384, 500, &tlen);
    expect_open_error(trace, tlen, ETL_ERROR_NOT_ETL, "is an ETL trace, not a crash dump");
    g_free(trace);

    size_t dlen;
    trace = scenario(SCEN_DPC_STORM, 1, 8, 16384, 500, &tlen);
    DgOptions o;
    dg_options_init(&o);
    DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2 };
    uint8_t *dump = build(&o, &l, 1, &dlen, NULL);
    /* truncated inside the header */
    expect_open_error(dump, 0x1000, ETL_ERROR_CORRUPT, "truncated inside its 8 KiB header");
    /* impossible run count */
    uint8_t *bad = g_memdup2(dump, dlen);
    memcpy(bad + 0x88, "PAGE", 4);
    expect_open_error(bad, dlen, ETL_ERROR_CORRUPT, "NumberOfRuns");
    memcpy(bad, dump, 0x2000);
    bad[0xF98] = 4; /* triage */
    bad[0x88] = 0x50; bad[0x89] = 0x41; bad[0x8A] = 0x47; bad[0x8B] = 0x45;
    expect_open_error(bad, dlen, ETL_ERROR_CORRUPT, "triage");
    memcpy(bad, dump, 0x2000);
    bad[0x30] = 0x64; bad[0x31] = 0xAA; /* ARM64 */
    expect_open_error(bad, dlen, ETL_ERROR_CORRUPT, "only x64");
    memcpy(bad, dump, 0x2000);
    bad[4] = 'X';
    expect_open_error(bad, dlen, ETL_ERROR_CORRUPT, "unknown ValidDump signature");
    g_free(bad);
    g_free(dump);

    /* bitmap dumps: a bitmap bigger than the file, a first page inside the bitmap */
    o.container = DG_BITMAP;
    dump = build(&o, &l, 1, &dlen, NULL);
    bad = g_memdup2(dump, dlen);
    uint64_t huge = UINT64_C(1) << 39;
    memcpy(bad + 0x2030, &huge, 8);
    expect_open_error(bad, dlen, ETL_ERROR_CORRUPT, "truncated inside its bitmap");
    memcpy(bad, dump, 0x3000);
    uint64_t first = 0x2010;
    memcpy(bad + 0x2020, &first, 8);
    expect_open_error(bad, dlen, ETL_ERROR_CORRUPT, "lies inside its bitmap");
    g_free(bad);
    g_free(dump);
    g_free(trace);
}

static void test_corrupt_structures_no_crash(void **state)
{
    (void)state;
    /* Flip bytes all over a small dump: opening and scanning must neither crash nor find more
     * than the real logger. */
    size_t tlen, dlen;
    uint8_t *trace = scenario(SCEN_DPC_STORM, 19, 8, 16384, 1500, &tlen);
    DgOptions o;
    dg_options_init(&o);
    o.container = DG_BITMAP;
    o.bitmap_filler_pct = 0;
    DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2 };
    uint8_t *dump = build(&o, &l, 1, &dlen, NULL);
    uint64_t rng = 99;
    for (int round = 0; round < 40; round++) {
        uint8_t *bad = g_memdup2(dump, dlen);
        for (int k = 0; k < 64; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 20) % dlen;
            bad[at] ^= (uint8_t)(rng >> 56) | 1;
        }
        Diags dg;
        GError *err = NULL;
        EtlDump *d = open_dump(bad, dlen, &dg, NULL, &err);
        if (d) {
            for (uint32_t i = 0; i < etl_dump_logger_count(d); i++) {
                size_t olen;
                uint8_t *out = etl_dump_write_logger_memory(d, i, &olen, NULL, &err);
                assert_non_null(out);
                EtlTrace *t = open_trace(out, olen, "x");
                etl_trace_free(t);
                g_free(out);
            }
            etl_dump_free(d);
        } else {
            g_clear_error(&err);
        }
        diags_free(&dg);
        g_free(bad);
    }
    g_free(dump);
    g_free(trace);
}

static void test_no_etw(void **state)
{
    (void)state;
    for (int c = 0; c < 3; c++) {
        DgOptions o;
        dg_options_init(&o);
        o.container = (DgContainer)c;
        o.fill = DG_FILL_RANDOM;
        size_t dlen;
        uint8_t *dump = build(&o, NULL, 0, &dlen, NULL);
        Diags dg;
        EtlDump *d = open_dump(dump, dlen, &dg, NULL, NULL);
        assert_non_null(d);
        assert_int_equal(etl_dump_logger_count(d), 0);
        assert_int_equal(etl_dump_default_logger(d), -1);
        GError *err = NULL;
        size_t olen;
        assert_null(etl_dump_write_logger_memory(d, 0, &olen, NULL, &err));
        g_clear_error(&err);
        etl_dump_free(d);
        diags_free(&dg);
        g_free(dump);
    }
}

/* Translation itself: every page of the first buffer through the page tables equals the page in
 * a raw image of the same memory (full and bitmap containers read identically). */
static void test_containers_agree(void **state)
{
    (void)state;
    size_t tlen;
    uint8_t *trace = scenario(SCEN_DPC_STORM, 23, 8, 65536, 1500, &tlen);
    uint8_t *bytes[3];
    size_t lens[3];
    uint64_t va = 0;
    for (int c = 0; c < 3; c++) {
        DgOptions o;
        dg_options_init(&o);
        o.container = (DgContainer)c;
        DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2, .pages = DG_PAGES_LARGE, .pat = true };
        DgTruth truth;
        bytes[c] = build(&o, &l, 1, &lens[c], &truth);
        va = truth.loggers[0].first_buffer_va;
    }
    uint8_t a[4096], b[4096];
    for (int c = 0; c < 2; c++) {
        Diags d1, d2;
        EtlDump *x = open_dump(bytes[c], lens[c], &d1, NULL, NULL), *raw = open_dump(bytes[2], lens[2], &d2, NULL, NULL);
        for (uint64_t off = 0; off < 65536; off += 4096) {
            uint64_t pa, ps;
            assert_true(etl_dump_virt_to_phys(x, va + off, &pa, &ps));
            assert_int_equal(ps, 2u << 20);
            assert_true(etl_dump_read_virt(x, va + off, a, sizeof a));
            assert_true(etl_dump_read_phys(raw, pa, b, sizeof b));
            assert_memory_equal(a, b, sizeof a);
            assert_int_equal(etl_dump_phys_to_file(raw, pa), pa);
        }
        assert_false(etl_dump_virt_to_phys(x, UINT64_C(0xFFFFE00000000000), NULL, NULL));
        etl_dump_free(x);
        etl_dump_free(raw);
        diags_free(&d1);
        diags_free(&d2);
    }
    for (int c = 0; c < 3; c++) g_free(bytes[c]);
    g_free(trace);
}

/* ------------------------------------------------------------------ public traces (../shared) */

static const char *shared;

typedef struct {
    const char *file;
    uint16_t    id;
    const char *name;
} PubTrace;

static const PubTrace pub64[] = {
    { "win10-x64-amsi-eventslost", 40, "AMSITrace" },
    { "win10-x64-shutdown-perfdiag", 41, "ShutdownPerfDiagLogger" },
    { "win10-x64-tracelogging-primitives", 42, NULL },
    { "win10-x64-circular-gcevents", 43, "GC" },
    { "win7-x64-manifest-kernelprocess", 44, "Kernel-Process" },
    { "win7-x64-latency-ppt", 2, "Circular Kernel Context Logger" },
    { "win7-x64-net45-x86proc", 45, NULL },
    { "win8-x64-compressed-net452", 0, "NT Kernel Logger" },
    { "win11-x64-selfdescribing-compressed", 47, "SelfDescribing" },
};

static uint8_t *read_pub(const char *file, size_t *len)
{
    char *p = g_strdup_printf("%s/traces/%s.etl", shared, file);
    uint8_t *b = tu_read_file(p, len);
    if (!b) fail_msg("cannot read %s", p);
    g_free(p);
    return b;
}

/* Every public trace placed as a logger; every logger extracted and compared. */
static void run_public(const PubTrace *set, size_t n, const DgOptions *o, DgPages pages, bool decoys)
{
    uint8_t **src = g_new0(uint8_t *, n);
    size_t *slen = g_new0(size_t, n);
    DgLogger *l = g_new0(DgLogger, n);
    for (size_t i = 0; i < n; i++) {
        src[i] = read_pub(set[i].file, &slen[i]);
        l[i] = (DgLogger){ .etl = src[i], .etl_len = slen[i], .logger_id = set[i].id, .name = set[i].name,
                           .pages = pages, .pat = pages != DG_PAGES_4K, .n_active = i % 3 == 1 ? 1 : 0 };
    }
    DgOptions oo = *o;
    oo.decoys = decoys;
    size_t dlen;
    DgTruth truth;
    uint8_t *dump = build(&oo, l, (int)n, &dlen, &truth);
    Diags dg;
    EtlDump *d = open_dump(dump, dlen, &dg, NULL, NULL);
    assert_int_equal(etl_dump_logger_count(d), n);
    for (size_t i = 0; i < n; i++) {
        int k = etl_dump_find_logger(d, set[i].name ? set[i].name : (char[8]){ 0 });
        if (!set[i].name) {
            char id[8];
            g_snprintf(id, sizeof id, "%u", set[i].id);
            k = etl_dump_find_logger(d, id);
        }
        assert_true(k >= 0);
        const EtlDumpLogger *L = etl_dump_logger(d, (uint32_t)k);
        assert_true(L->discovered == (o->container != DG_RAW));
        assert_int_equal(L->buffers, truth.loggers[i].buffers_with_events);
        assert_int_equal(L->events, truth.loggers[i].events);
        size_t olen;
        uint8_t *out = extract(d, k, &olen, NULL);
        check_header(out, olen, truth.loggers[i].buffer_size, o->arch == DG_X64 ? 8 : 4);
        Cmp c = compare_events(src[i], slen[i], out, olen, false);
        assert_int_equal(c.events, truth.loggers[i].events);
        compare_summaries(src[i], slen[i], out, olen);
        printf("  %-36s logger %3u: %4u buffers, %7" G_GUINT64_FORMAT " events identical\n", set[i].file,
               L->logger_id, L->buffers, c.events);
        g_free(out);
    }
    etl_dump_free(d);
    diags_free(&dg);
    g_free(dump);
    for (size_t i = 0; i < n; i++) g_free(src[i]);
    g_free(src);
    g_free(slen);
    g_free(l);
}

static void test_public_bitmap_large_decoys(void **state)
{
    (void)state;
    DgOptions o;
    dg_options_init(&o);
    o.container = DG_BITMAP;
    o.ram_bytes = 512u << 20;
    o.bitmap_filler_pct = 1;
    o.fill = DG_FILL_MIXED;
    run_public(pub64, G_N_ELEMENTS(pub64), &o, DG_PAGES_LARGE, true);
}

static void test_public_full_4k(void **state)
{
    (void)state;
    /* the smaller traces: a full dump stores all of its memory */
    const PubTrace small[] = { pub64[0], pub64[1], pub64[2], pub64[3], pub64[4], pub64[8] };
    DgOptions o;
    dg_options_init(&o);
    o.ram_bytes = 24u << 20;
    o.alias_mapping = true;
    run_public(small, G_N_ELEMENTS(small), &o, DG_PAGES_4K, true);
    o.container = DG_RAW;
    o.alias_mapping = false;
    run_public(small, G_N_ELEMENTS(small), &o, DG_PAGES_4K, false);
}

static void test_public_pae_32bit(void **state)
{
    (void)state;
    const PubTrace x86[] = { { "win10-x86-small-32bit-compressed", 9, "Small32" } };
    DgOptions o;
    dg_options_init(&o);
    o.arch = DG_PAE;
    run_public(x86, 1, &o, DG_PAGES_4K, false);
    o.arch = DG_X86;
    o.container = DG_BITMAP;
    run_public(x86, 1, &o, DG_PAGES_LARGE, false);
}

#ifdef DUMP_PUBLIC_TRACES
int main(void)
{
    shared = g_getenv("ETLA_SHARED_DIR");
    if (!shared || !g_file_test(shared, G_FILE_TEST_IS_DIR)) {
        printf("SKIP: ETLA_SHARED_DIR (%s) is not a directory: no public traces\n", shared ? shared : "unset");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_bitmap_large_decoys),
        cmocka_unit_test(test_public_full_4k),
        cmocka_unit_test(test_public_pae_32bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    (void)shared;
    (void)test_public_bitmap_large_decoys;
    (void)test_public_full_4k;
    (void)test_public_pae_32bit;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_x64),
        cmocka_unit_test(test_bitmap_sdmp_large_pat),
        cmocka_unit_test(test_bitmap_fdmp_1g),
        cmocka_unit_test(test_raw_selfmap),
        cmocka_unit_test(test_pae),
        cmocka_unit_test(test_x86),
        cmocka_unit_test(test_win7_context_states),
        cmocka_unit_test(test_carve_only_and_small_buffers),
        cmocka_unit_test(test_no_kusd_header_clock),
        cmocka_unit_test(test_decoys_rejected),
        cmocka_unit_test(test_alias_dedup),
        cmocka_unit_test(test_two_loggers_selection),
        cmocka_unit_test(test_truncated_partial),
        cmocka_unit_test(test_partial_decoy_reported),
        cmocka_unit_test(test_bad_containers),
        cmocka_unit_test(test_corrupt_structures_no_crash),
        cmocka_unit_test(test_no_etw),
        cmocka_unit_test(test_containers_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
