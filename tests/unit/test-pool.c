/* test-pool.c — analyses/pool.c: pool allocation intervals, AIFI/AIFO/AOFI/AOFO for a window,
 * views, series, tag text and patterns, pooltag.txt.
 *
 * Semantics under test: ../shared/docs/ANALYSES.md §2 and docs/analyses-pool.md; payloads:
 * ../shared/docs/KERNEL_PAYLOADS.md §1.  The pool is driven as cli/cmd-pool.c drives it: every
 * event in time order, decoded (opcode-keyed headers), model_event(), then pool_add(); at the end
 * model_finish() and pool_finish().
 *
 * Two kinds of input:
 *  - the pool-leak scenario (tests/support/scenario.h), compared with its ground truth
 *    (ScenTruth.tags, .records through scen_pool_classify(), .stacks, the leak fields);
 *  - small traces written here with etl-writer.h (pointer size 8, 10 MHz clock), whose
 *    timestamps are given relative to the writer's ts0 in ticks (S(x) = x seconds).
 *
 * Everything a test opens is registered in g_open and freed by the teardown, so that a failing
 * assertion (cmocka leaves by longjmp) leaks nothing under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyses.h"
#include "etl-writer.h"
#include "testutil.h"
#include "etl.h"
#include "model.h"
#include "pool.h"
#include "scenario.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * What tests open, freed by the teardown
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    Model *m;
    Pool  *p;
} Run;

static struct {
    EtlTrace  *traces[8];
    Run        runs[8];
    GPtrArray *views;      /* GArray* from pool_view */
    ScenTruth  truth[2];
    PoolTagDb *db;
    char      *tmp_path;   /* a temp file to unlink */
} g_open;

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(g_open.runs); i++) {
        pool_free(g_open.runs[i].p);
        if (g_open.runs[i].m) model_free(g_open.runs[i].m);
    }
    if (g_open.views) g_ptr_array_free(g_open.views, TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(g_open.traces); i++)
        if (g_open.traces[i]) etl_trace_free(g_open.traces[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(g_open.truth); i++) scen_truth_clear(&g_open.truth[i]);
    pool_tagdb_free(g_open.db);
    if (g_open.tmp_path) {
        g_unlink(g_open.tmp_path);
        g_free(g_open.tmp_path);
    }
    memset(&g_open, 0, sizeof g_open);
    return 0;
}

static void free_view(gpointer a) { g_array_free(a, TRUE); }

static EtlTrace *keep_trace(EtlTrace *t)
{
    assert_non_null(t);
    for (size_t i = 0; i < G_N_ELEMENTS(g_open.traces); i++)
        if (!g_open.traces[i]) {
            g_open.traces[i] = t;
            return t;
        }
    etl_trace_free(t);
    fail_msg("too many open traces");
    return NULL;
}

/* Runs the pool over the whole trace as cmd-pool.c does. */
static Pool *run_pool(EtlTrace *t, const PoolOptions *o, unsigned model_flags, Model **m_out)
{
    Run *r = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(g_open.runs) && !r; i++)
        if (!g_open.runs[i].p) r = &g_open.runs[i];
    if (!r) fail_msg("too many open runs");
    r->m = model_new(t, model_flags);
    assert_non_null(r->m);
    r->p = pool_new(r->m, t, o);
    assert_non_null(r->p);
    EtlReader *rd = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    while ((ev = etl_reader_next(rd))) {
        EtlKernelEvent k;
        ModelCtx mc;
        bool dec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        model_event(r->m, ev, dec ? &k : NULL, &mc);
        pool_add(r->p, ev, dec ? &k : NULL, &mc);
    }
    etl_reader_free(rd);
    model_finish(r->m);
    pool_finish(r->p);
    if (m_out) *m_out = r->m;
    return r->p;
}

/* Frees one run before the teardown (tests that run many windows). */
static void run_close(Pool *p)
{
    for (size_t i = 0; i < G_N_ELEMENTS(g_open.runs); i++)
        if (g_open.runs[i].p == p) {
            pool_free(p);
            model_free(g_open.runs[i].m);
            memset(&g_open.runs[i], 0, sizeof g_open.runs[i]);
            return;
        }
    fail_msg("run_close: not an open run");
}

static GArray *view(const Pool *p, unsigned class_mask, const char *pattern, const PoolKey *keys, guint n_keys)
{
    PoolViewSpec v = { .n_keys = n_keys, .class_mask = class_mask, .tag_pattern = pattern };
    for (guint i = 0; i < n_keys; i++) v.keys[i] = keys[i];
    GArray *rows = pool_view(p, &v);
    assert_non_null(rows);
    if (!g_open.views) g_open.views = g_ptr_array_new_with_free_func(free_view);
    g_ptr_array_add(g_open.views, rows);
    return rows;
}

#define ROW(rows, i) (&g_array_index((rows), PoolCell, (i)))

static char *tag_text(uint32_t tag)
{
    GString *s = g_string_new(NULL);
    pool_tag_format(tag, s);
    return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------------------------------------
 * Classes per tag
 * ------------------------------------------------------------------------------------------ */
static void add_class(ScenPoolTag *o, PoolClass c, uint64_t count, uint64_t bytes)
{
    switch (c) {
    case POOL_AIFI: o->aifi += count; o->aifi_bytes += bytes; break;
    case POOL_AIFO: o->aifo += count; o->aifo_bytes += bytes; break;
    case POOL_AOFI: o->aofi += count; o->aofi_bytes += bytes; break;
    case POOL_AOFO: o->aofo += count; o->aofo_bytes += bytes; break;
    default: fail_msg("bad class %d", (int)c);
    }
}

/* The class counts/bytes of one tag from a view keyed by (type, tag). */
static void tag_classes(GArray *rows, uint32_t tag, ScenPoolTag *o)
{
    memset(o, 0, sizeof *o);
    o->tag = tag;
    for (guint i = 0; i < rows->len; i++)
        if (ROW(rows, i)->tag == tag) add_class(o, ROW(rows, i)->cls, ROW(rows, i)->count, ROW(rows, i)->bytes);
}

static void assert_classes(const ScenPoolTag *got, const ScenPoolTag *want, const char *what)
{
    if (got->aifi == want->aifi && got->aifi_bytes == want->aifi_bytes && got->aifo == want->aifo &&
        got->aifo_bytes == want->aifo_bytes && got->aofi == want->aofi && got->aofi_bytes == want->aofi_bytes &&
        got->aofo == want->aofo && got->aofo_bytes == want->aofo_bytes)
        return;
    char *t = tag_text(want->tag);
    print_error("%s, tag '%s':\n"
                "  got  AIFI %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " AIFO %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                " AOFI %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " AOFO %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\n"
                "  want AIFI %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " AIFO %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                " AOFI %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " AOFO %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\n",
                what, t, got->aifi, got->aifi_bytes, got->aifo, got->aifo_bytes, got->aofi, got->aofi_bytes, got->aofo,
                got->aofo_bytes, want->aifi, want->aifi_bytes, want->aifo, want->aifo_bytes, want->aofi,
                want->aofi_bytes, want->aofo, want->aofo_bytes);
    g_free(t);
    fail();
}

/* Every truth tag's classes equal the pool's (view by type, tag), and the pool has no other tag. */
static void check_tags(const Pool *p, const ScenPoolTag *want, uint32_t n_want, const char *what)
{
    static const PoolKey keys[] = { POOL_BY_CLASS, POOL_BY_TAG };
    GArray *rows = view(p, 0, NULL, keys, 2);
    for (uint32_t i = 0; i < n_want; i++) {
        ScenPoolTag got;
        tag_classes(rows, want[i].tag, &got);
        assert_classes(&got, &want[i], what);
    }
    for (guint i = 0; i < rows->len; i++) {
        bool known = false;
        for (uint32_t k = 0; k < n_want && !known; k++) known = want[k].tag == ROW(rows, i)->tag;
        if (!known) fail_msg("%s: a row for tag 0x%08x, which the truth does not have", what, ROW(rows, i)->tag);
    }
}

/* ------------------------------------------------------------------------------------------
 * The scenario
 * ------------------------------------------------------------------------------------------ */
static EtlTrace *scenario(const ScenOptions *o, ScenTruth *truth)
{
    GError *err = NULL;
    size_t len = 0;
    uint8_t *d = scen_generate_memory(o, &len, truth, &err);
    if (!d) fail_msg("generate: %s", err ? err->message : "?");
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(d, len, "pool-leak"), NULL, &err);
    if (!t) fail_msg("open: %s", err ? err->message : "?");
    return keep_trace(t);
}

static void assert_stack_frames(Model *m, ModelStackId id, const ScenStack *want)
{
    assert_int_not_equal(id, 0);
    uint32_t n = 0;
    const uint64_t *f = model_stack_frames(m, id, &n, NULL);
    assert_int_equal(n, want->n);
    for (uint32_t i = 0; i < n; i++)
        if (f[i] != want->frames[i])
            fail_msg("frame %u: 0x%" G_GINT64_MODIFIER "x, want 0x%" G_GINT64_MODIFIER "x", i, f[i], want->frames[i]);
}

/* The AIFO rows of a leaking tag: one stack (the truth's), one owner module. */
static void check_leak(const Pool *p, Model *m, const ScenTruth *tr, uint32_t tag, int32_t stack, uint64_t count,
                       uint64_t bytes)
{
    char *name = tag_text(tag);
    assert_true(stack >= 0 && (uint32_t)stack < tr->n_stacks);
    static const PoolKey by_stack[] = { POOL_BY_STACK };
    GArray *rows = view(p, 1u << POOL_AIFO, name, by_stack, 1);
    if (rows->len != 1) fail_msg("'%s': %u AIFO stacks, want 1", name, rows->len);
    const PoolCell *r = ROW(rows, 0);
    assert_int_equal(r->count, count);
    assert_int_equal(r->bytes, bytes);
    assert_stack_frames(m, r->stack, &tr->stacks[stack]);
    static const PoolKey by_module[] = { POOL_BY_MODULE };
    rows = view(p, 1u << POOL_AIFO, name, by_module, 1);
    assert_int_equal(rows->len, 1);
    assert_string_equal(ROW(rows, 0)->module, tr->leak_module);
    assert_string_equal(ROW(rows, 0)->module, "leakydrv.sys");
    assert_string_equal(ROW(rows, 0)->module, tr->stacks[stack].owner);
    assert_int_equal(ROW(rows, 0)->count, count);
    assert_int_equal(ROW(rows, 0)->bytes, bytes);
    g_free(name);
}

static void check_whole_trace(const Pool *p, Model *m, const ScenTruth *tr)
{
    check_tags(p, tr->tags, tr->n_tags, "whole trace");
    const ScenPoolTag *leak = scen_truth_tag(tr, tr->leak_tag);
    assert_non_null(leak);
    /* every never-freed 'Leak' allocation goes through the leaking stack; all LkPg ones leak */
    assert_int_equal(leak->aifo, tr->leak_count);
    assert_int_equal(leak->aifo_bytes, tr->leak_bytes);
    check_leak(p, m, tr, tr->leak_tag, tr->leak_stack, tr->leak_count, tr->leak_bytes);
    check_leak(p, m, tr, tr->leak2_tag, tr->leak2_stack, tr->leak2_count, tr->leak2_bytes);
}

static void test_scenario_whole_trace(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth *tr = &g_open.truth[0];
    EtlTrace *t = scenario(&o, tr);
    assert_true(tr->n_tags >= 8);
    assert_int_equal(tr->leak_tag, scen_tag("Leak"));
    assert_int_equal(tr->leak2_tag, scen_tag("LkPg"));
    PoolOptions po;
    pool_options_init(&po);
    Model *m;
    Pool *p = run_pool(t, &po, 0, &m);
    check_whole_trace(p, m, tr);

    /* health: every event accounted for */
    uint64_t allocs = 0, frees = 0, aofi = 0, aifo = 0;
    for (uint32_t i = 0; i < tr->n_tags; i++) {
        allocs += tr->tags[i].allocs;
        frees += tr->tags[i].frees;
        aofi += tr->tags[i].aofi;
        aifo += tr->tags[i].aifo;
        assert_int_equal(tr->tags[i].aofo, 0);
    }
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->allocs, allocs);
    assert_int_equal(h->frees, frees);
    assert_int_equal(h->frees_unmatched, aofi);
    assert_int_equal(h->matched, frees - aofi);
    assert_int_equal(h->implicit_frees, 0);
    assert_int_equal(h->tag_mismatch, 0);
    assert_int_equal(h->type_mismatch, 0);
    assert_int_equal(h->malformed, 0);
    assert_int_equal(h->outstanding_end, aifo);
    assert_int_equal(h->allocs_with_stack, allocs);
    /* session pool: 'Gla5' rows are paged session pool, the others are not session */
    guint n;
    const PoolCell *c = pool_cells(p, &n);
    assert_true(n > 0);
    for (guint i = 0; i < n; i++) {
        const ScenPoolTag *pt = scen_truth_tag(tr, c[i].tag);
        assert_non_null(pt);
        assert_int_equal(c[i].paged, (pt->type & 1) != 0);
        assert_int_equal(c[i].session, (pt->type & 0x20) != 0);
    }
}

/* ------------------------------------------------------------------------------------------
 * Windows
 * ------------------------------------------------------------------------------------------ */
static void test_scenario_windows(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth *tr = &g_open.truth[0];
    EtlTrace *t = scenario(&o, tr);
    const EtlLogfileHeader *h = etl_trace_header(t);
    static const double W[][2] = {
        { 5, 15 }, { 0, 10 }, { 12, NAN }, { 0.1, 0.3 }, { 2.9, 3.4 }, { 19.99, NAN }, { 0, NAN },
    };
    uint64_t aofo_seen = 0, aofi_seen = 0;
    for (size_t w = 0; w < G_N_ELEMENTS(W); w++) {
        PoolOptions po;
        pool_options_init(&po);
        po.from = etl_time_from_rel_s(h, W[w][0]);
        po.to = isnan(W[w][1]) ? INT64_MAX : etl_time_from_rel_s(h, W[w][1]);
        ScenPoolTag want[SCEN_MAX_TAGS];
        scen_pool_classify(tr, po.from, po.to, want);
        for (uint32_t i = 0; i < tr->n_tags; i++) {
            aofo_seen += want[i].aofo;
            aofi_seen += want[i].aofi;
        }
        Pool *p = run_pool(t, &po, 0, NULL);
        char what[64];
        g_snprintf(what, sizeof what, "window [%g s, %g s]", W[w][0], W[w][1]);
        check_tags(p, want, tr->n_tags, what);
        run_close(p);
    }
    /* the windows exercise every class */
    assert_true(aofo_seen > 0);
    assert_true(aofi_seen > 0);
    /* [5 s, 15 s]: the leak started at 3 s, so some of it is held across the window (AOFO) */
    ScenPoolTag want[SCEN_MAX_TAGS];
    scen_pool_classify(tr, etl_time_from_rel_s(h, 5), etl_time_from_rel_s(h, 15), want);
    for (uint32_t i = 0; i < tr->n_tags; i++)
        if (want[i].tag == tr->leak_tag) {
            assert_true(want[i].aofo > 0);
            assert_true(want[i].aifo > 0);
        }
    /* the window closed at the last timestamp equals the whole trace */
    PoolOptions po;
    pool_options_init(&po);
    po.from = h->ts0;
    po.to = tr->last_ts;
    Pool *p = run_pool(t, &po, 0, NULL);
    check_tags(p, tr->tags, tr->n_tags, "window [ts0, last_ts]");
}

/* ------------------------------------------------------------------------------------------
 * Option variants of the scenario
 * ------------------------------------------------------------------------------------------ */
static void test_scenario_variants(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth *base = &g_open.truth[0], *tr = &g_open.truth[1];
    Model *m;
    PoolOptions po;
    pool_options_init(&po);

    /* SYSTEM headers (TID/PID in the header) instead of PERFINFO: the same classes */
    {
        GError *err = NULL;
        size_t len;
        uint8_t *d = scen_generate_memory(&o, &len, base, &err);
        assert_non_null(d);
        g_free(d);
    }
    o.pool_system_header = true;
    EtlTrace *t = scenario(&o, tr);
    assert_int_equal(tr->n_tags, base->n_tags);
    for (uint32_t i = 0; i < tr->n_tags; i++) assert_classes(&tr->tags[i], &base->tags[i], "truth, system headers");
    Pool *p = run_pool(t, &po, 0, &m);
    check_tags(p, base->tags, base->n_tags, "system headers");
    check_whole_trace(p, m, tr);
    run_close(p);
    scen_truth_clear(tr);

    /* Win8+ stack keys: the leaking stack still resolves to the same frames */
    o.pool_system_header = false;
    o.stack_keys = true;
    t = scenario(&o, tr);
    p = run_pool(t, &po, 0, &m);
    check_tags(p, base->tags, base->n_tags, "stack keys");
    check_whole_trace(p, m, tr);
    assert_int_equal(tr->leak_count, base->leak_count);
    assert_int_equal(tr->leak_bytes, base->leak_bytes);
    assert_int_equal(tr->stacks[tr->leak_stack].n, base->stacks[base->leak_stack].n);
    assert_memory_equal(tr->stacks[tr->leak_stack].frames, base->stacks[base->leak_stack].frames,
                        base->stacks[base->leak_stack].n * sizeof(uint64_t));
}

/* ------------------------------------------------------------------------------------------
 * Small hand-built traces
 * ------------------------------------------------------------------------------------------ */
static int64_t g_ts0;
#define SEC INT64_C(10000000) /* the writer's default clock: 10 MHz */
#define S(x) ((int64_t)((x) * (double)SEC))

typedef struct {
    EtlWriter      *w;
    EtlWriterConfig cfg;
} W;

static void w_init(W *x)
{
    etl_writer_config_init(&x->cfg);
    x->cfg.cpus = 2;
    x->cfg.pointer_size = 8;
    x->cfg.header_tid = ETL_NO_ID;
    x->cfg.header_pid = ETL_NO_ID;
    assert_int_equal(x->cfg.perf_freq, SEC);
    GError *err = NULL;
    x->w = etl_writer_new_memory(&x->cfg, &err);
    assert_non_null(x->w);
    g_ts0 = x->cfg.ts0;
}

static void w_kernel(W *x, EtlWriterKernelHeader hk, uint8_t group, uint8_t opcode, uint16_t cpu, int64_t rel,
                     uint32_t tid, uint32_t pid, const void *payload, size_t len)
{
    EtlWriterKernel k = { .header = hk, .group = group, .opcode = opcode, .version = 2, .cpu = cpu,
                          .timestamp = g_ts0 + rel, .tid = tid, .pid = pid };
    GError *err = NULL;
    if (!etl_writer_kernel(x->w, &k, payload, len, &err)) fail_msg("write: %s", err ? err->message : "?");
}

/* A pool event (opcode 0x20..0x23; the session variants carry sid). */
static void w_pool_hdr(W *x, EtlWriterKernelHeader hk, uint8_t opcode, int64_t rel, uint32_t type, uint32_t tag,
                       uint64_t size, uint64_t entry, uint32_t sid)
{
    uint8_t p[SCEN_PAYLOAD_MAX];
    size_t n = scen_pool(p, 8, type, tag, size, entry, (opcode & 1) != 0, sid);
    assert_int_equal(n, (opcode & 1) ? 28 : 24);
    w_kernel(x, hk, 0x0E, opcode, 0, rel, 100, 200, p, n);
}

#define NPNX 512u /* NonPagedPoolNx */
static void w_alloc(W *x, int64_t rel, const char *tag, uint64_t size, uint64_t entry)
{
    w_pool_hdr(x, ETL_WRITER_PERFINFO, 0x20, rel, NPNX, scen_tag(tag), size, entry, 0);
}

static void w_free(W *x, int64_t rel, const char *tag, uint64_t size, uint64_t entry)
{
    w_pool_hdr(x, ETL_WRITER_PERFINFO, 0x22, rel, NPNX, scen_tag(tag), size, entry, 0);
}

static EtlTrace *w_finish(W *x)
{
    EtlTrace *t = tu_finish_open(x->w);
    x->w = NULL;
    assert_non_null(t);
    return keep_trace(t);
}

#define E(i) (UINT64_C(0xffffc38a12000010) + (uint64_t)(i) * 0x1000)

static void one_tag(const Pool *p, const char *tag, ScenPoolTag *o)
{
    static const PoolKey keys[] = { POOL_BY_CLASS, POOL_BY_TAG };
    tag_classes(view(p, 0, NULL, keys, 2), scen_tag(tag), o);
}

static ScenPoolTag classes(const char *tag, uint64_t aifi, uint64_t aifi_b, uint64_t aifo, uint64_t aifo_b,
                           uint64_t aofi, uint64_t aofi_b, uint64_t aofo, uint64_t aofo_b)
{
    ScenPoolTag t = { .tag = scen_tag(tag), .aifi = aifi, .aifi_bytes = aifi_b, .aifo = aifo, .aifo_bytes = aifo_b,
                      .aofi = aofi, .aofi_bytes = aofi_b, .aofo = aofo, .aofo_bytes = aofo_b };
    return t;
}

static void expect_tag(const Pool *p, const char *tag, ScenPoolTag want, const char *what)
{
    ScenPoolTag got;
    one_tag(p, tag, &got);
    assert_classes(&got, &want, what);
}

/* A steady leak (one block a second, never freed) and a leak that stops after 4 s; transients
 * inside and across the window's bounds. */
static void test_leak_steady_and_stopped(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    for (int s = 1; s <= 9; s++) {
        w_alloc(&x, S(s), "Stdy", 0x100, E(s));
        if (s >= 2 && s <= 4) w_alloc(&x, S(s) + 10, "Stop", 0x40, E(100 + s));
    }
    w_alloc(&x, S(4.5), "Tran", 0x10, E(200));  /* across T1 */
    w_free(&x, S(5.5), "Tran", 0x10, E(200));
    w_alloc(&x, S(6.5), "Tran", 0x20, E(201));  /* inside */
    w_free(&x, S(7), "Tran", 0x20, E(201));
    w_alloc(&x, S(9.5), "Tran", 0x30, E(202));  /* across T2 */
    w_free(&x, S(10.5), "Tran", 0x30, E(202));
    EtlTrace *t = w_finish(&x);
    const EtlLogfileHeader *h = etl_trace_header(t);

    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Stdy", classes("Stdy", 0, 0, 9, 9 * 0x100, 0, 0, 0, 0), "whole trace");
    expect_tag(p, "Stop", classes("Stop", 0, 0, 3, 3 * 0x40, 0, 0, 0, 0), "whole trace");
    expect_tag(p, "Tran", classes("Tran", 3, 0x60, 0, 0, 0, 0, 0, 0), "whole trace");
    assert_int_equal(pool_health(p)->outstanding_end, 12);

    po.from = etl_time_from_rel_s(h, 5);
    po.to = etl_time_from_rel_s(h, 10);
    assert_int_equal(po.from, g_ts0 + S(5));
    p = run_pool(t, &po, 0, NULL);
    /* allocations at 5..9 s are AI (5 s is the bound: inside); those at 1..4 s are AO */
    expect_tag(p, "Stdy", classes("Stdy", 0, 0, 5, 5 * 0x100, 0, 0, 4, 4 * 0x100), "[5 s, 10 s]");
    /* the stopped leak is held across the window, not a leak *in* it */
    expect_tag(p, "Stop", classes("Stop", 0, 0, 0, 0, 0, 0, 3, 3 * 0x40), "[5 s, 10 s]");
    expect_tag(p, "Tran", classes("Tran", 1, 0x20, 1, 0x30, 1, 0x10, 0, 0), "[5 s, 10 s]");

    /* a window before any of it: nothing included but what is live in it */
    po.from = etl_time_from_rel_s(h, 0);
    po.to = etl_time_from_rel_s(h, 0.5);
    p = run_pool(t, &po, 0, NULL);
    guint n;
    pool_cells(p, &n);
    assert_int_equal(n, 0);
}

/* alloc A, free A, alloc A, free A: two transients, nothing outstanding. */
static void test_address_reuse(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_alloc(&x, S(1), "Reus", 0x100, E(1));
    w_free(&x, S(2), "Reus", 0x100, E(1));
    w_alloc(&x, S(3), "Reus", 0x200, E(1));
    w_free(&x, S(4), "Reus", 0x200, E(1));
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Reus", classes("Reus", 2, 0x300, 0, 0, 0, 0, 0, 0), "reuse");
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->allocs, 2);
    assert_int_equal(h->frees, 2);
    assert_int_equal(h->matched, 2);
    assert_int_equal(h->implicit_frees, 0);
    assert_int_equal(h->frees_unmatched, 0);
    assert_int_equal(h->outstanding_end, 0);
}

/* alloc A twice without a free between. */
static void test_implicit_free(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_alloc(&x, S(1), "Dup ", 100, E(1));
    w_alloc(&x, S(2), "Dup ", 200, E(1));
    w_alloc(&x, S(3), "Othr", 8, E(2));
    EtlTrace *t = w_finish(&x);

    /* default: the first block counts as freed when its address is allocated again */
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Dup ", classes("Dup ", 1, 100, 1, 200, 0, 0, 0, 0), "implicit free");
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->implicit_frees, 1);
    assert_int_equal(h->allocs, 3);
    assert_int_equal(h->outstanding_end, 2);
    /* the implicit free happens at the second allocation: a window ending before it sees the
     * first block outstanding */
    po.from = g_ts0;
    po.to = g_ts0 + S(1.5);
    p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Dup ", classes("Dup ", 0, 0, 1, 100, 0, 0, 0, 0), "implicit free, [0, 1.5 s]");

    /* no_implicit_free: both blocks stay outstanding */
    pool_options_init(&po);
    po.no_implicit_free = true;
    p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Dup ", classes("Dup ", 0, 0, 2, 300, 0, 0, 0, 0), "no implicit free");
    h = pool_health(p);
    assert_int_equal(h->allocs, 3);
    /* BUG (analyses/pool.c, no_implicit_free branch of pool_add): the old block is kept as AIFO
     * (closed at +inf right away) but taken out of the map, so pool_finish does not count it:
     * outstanding_end (JSON "outstanding_at_end", "allocations still outstanding at the end")
     * says 2 here while 3 allocations (Dup x2, Othr) are outstanding = AIFO. */
    assert_int_equal(h->outstanding_end, 3);
}

/* The same Entry live in session 1 and session 2 at once; non-session pool at that address too. */
static void test_session_pool(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    const uint64_t e = UINT64_C(0xffffd28a40000010);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x21, S(1), 33, scen_tag("Sess"), 0x100, e, 1);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x21, S(2), 33, scen_tag("Sess"), 0x200, e, 2);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x23, S(3), 33, scen_tag("Sess"), 0x200, e, 2);
    /* a non-session block at the same address: a third key */
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x20, S(4), 0, scen_tag("NPag"), 0x40, e, 0);
    /* session pool named by the POOL_TYPE bit (0x20) on a plain PoolAlloc */
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x20, S(5), 0x20, scen_tag("SsTy"), 0x30, E(7), 0);
    /* paged, not session */
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x20, S(6), 1, scen_tag("Pagd"), 0x50, E(8), 0);
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->allocs, 5);
    assert_int_equal(h->frees, 1);
    assert_int_equal(h->matched, 1);
    assert_int_equal(h->implicit_frees, 0);
    assert_int_equal(h->frees_unmatched, 0);
    assert_int_equal(h->outstanding_end, 4);
    /* freeing in session 2 leaves session 1's block outstanding */
    expect_tag(p, "Sess", classes("Sess", 1, 0x200, 1, 0x100, 0, 0, 0, 0), "session");
    expect_tag(p, "NPag", classes("NPag", 0, 0, 1, 0x40, 0, 0, 0, 0), "session");
    guint n;
    const PoolCell *c = pool_cells(p, &n);
    assert_int_equal(n, 5);
    for (guint i = 0; i < n; i++) {
        if (c[i].tag == scen_tag("Sess")) {
            assert_true(c[i].paged);
            assert_true(c[i].session);
        } else if (c[i].tag == scen_tag("NPag")) {
            assert_false(c[i].paged);
            assert_false(c[i].session);
        } else if (c[i].tag == scen_tag("SsTy")) {
            assert_false(c[i].paged);
            assert_true(c[i].session);
        } else if (c[i].tag == scen_tag("Pagd")) {
            assert_true(c[i].paged);
            assert_false(c[i].session);
        } else {
            fail_msg("unexpected tag 0x%08x", c[i].tag);
        }
    }
    /* the "paged" key: rows (Paged, session) 0x300 bytes, (NonPaged) 0x40, (NonPaged, session)
     * 0x30, (Paged) 0x50 */
    static const PoolKey by_paged[] = { POOL_BY_PAGED };
    GArray *rows = view(p, 0, NULL, by_paged, 1);
    assert_int_equal(rows->len, 4);
    assert_true(ROW(rows, 0)->paged && ROW(rows, 0)->session);
    assert_int_equal(ROW(rows, 0)->bytes, 0x300);
    assert_int_equal(ROW(rows, 0)->count, 2);
    assert_true(ROW(rows, 1)->paged && !ROW(rows, 1)->session);
    assert_int_equal(ROW(rows, 1)->bytes, 0x50);
    assert_true(!ROW(rows, 2)->paged && !ROW(rows, 2)->session);
    assert_int_equal(ROW(rows, 2)->bytes, 0x40);
    assert_true(!ROW(rows, 3)->paged && ROW(rows, 3)->session);
    assert_int_equal(ROW(rows, 3)->bytes, 0x30);
    for (guint i = 0; i < rows->len; i++) {
        assert_int_equal(ROW(rows, i)->tag, 0);       /* not a key: cleared */
        assert_string_equal(ROW(rows, i)->module, "");
        assert_int_equal(ROW(rows, i)->pid, ETL_NO_ID);
    }
}

/* A free with no allocation in the trace: one AO allocation sized by the free. */
static void test_free_without_alloc(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x22, S(1), 1, scen_tag("Gone"), 0x80, E(1), 0);
    w_alloc(&x, S(2), "Late", 0x10, E(2));
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Gone", classes("Gone", 0, 0, 0, 0, 1, 0x80, 0, 0), "free without alloc");
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->frees, 1);
    assert_int_equal(h->frees_unmatched, 1);
    assert_int_equal(h->matched, 0);
    assert_int_equal(h->outstanding_end, 1);
    guint n;
    const PoolCell *c = pool_cells(p, &n);
    bool seen = false;
    for (guint i = 0; i < n; i++)
        if (c[i].tag == scen_tag("Gone")) {
            seen = true;
            assert_true(c[i].paged); /* type from the free */
            assert_false(c[i].session);
            assert_int_equal(c[i].stack, 0);
            assert_string_equal(c[i].module, "Unknown");
        }
    assert_true(seen);
    /* a window after the free: the interval ended before it and is not included */
    po.from = g_ts0 + S(1.5);
    po.to = g_ts0 + S(3);
    p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Gone", classes("Gone", 0, 0, 0, 0, 0, 0, 0, 0), "free without alloc, [1.5 s, 3 s]");
    /* a window holding it: still AOFI (allocated before the window) */
    po.from = g_ts0 + S(0.5);
    p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Gone", classes("Gone", 0, 0, 0, 0, 1, 0x80, 0, 0), "free without alloc, [0.5 s, 3 s]");
}

/* The protected bit is masked (and counted); a free with another tag still matches. */
static void test_protected_and_mismatch(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    const uint32_t prot = scen_tag("Prot") | 0x80000000u;
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x20, S(1), NPNX, prot, 0x100, E(1), 0);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x22, S(2), NPNX, prot, 0x100, E(1), 0);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x20, S(3), NPNX, prot, 0x200, E(2), 0); /* outstanding */
    w_alloc(&x, S(4), "TagA", 0x40, E(3));
    w_free(&x, S(5), "TagB", 0x40, E(3));
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x20, S(6), 1, scen_tag("Typ1"), 0x20, E(4), 0);
    w_pool_hdr(&x, ETL_WRITER_PERFINFO, 0x22, S(7), 0, scen_tag("Typ1"), 0x20, E(4), 0);
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->protected_tags, 3);
    assert_int_equal(h->tag_mismatch, 1);
    assert_int_equal(h->type_mismatch, 1);
    assert_int_equal(h->matched, 3);
    assert_int_equal(h->frees_unmatched, 0);
    expect_tag(p, "Prot", classes("Prot", 1, 0x100, 1, 0x200, 0, 0, 0, 0), "protected");
    /* the free's tag does not matter: counted under the allocation's tag and type */
    expect_tag(p, "TagA", classes("TagA", 1, 0x40, 0, 0, 0, 0, 0, 0), "tag mismatch");
    expect_tag(p, "TagB", classes("TagB", 0, 0, 0, 0, 0, 0, 0, 0), "tag mismatch");
    guint n;
    const PoolCell *c = pool_cells(p, &n);
    for (guint i = 0; i < n; i++) {
        assert_int_equal(c[i].tag & 0x80000000u, 0);
        if (c[i].tag == scen_tag("Typ1")) assert_true(c[i].paged);
    }
    assert_true(pool_tag_match("Prot", scen_tag("Prot")));
}

/* Too-short pool payloads are counted, not decoded; page events are counted apart. */
static void test_malformed(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    uint8_t p[32] = { 0 };
    memcpy(p + 4, "Shrt", 4);
    w_kernel(&x, ETL_WRITER_PERFINFO, 0x0E, 0x20, 0, S(1), 0, 0, p, 12);   /* needs 24 */
    w_kernel(&x, ETL_WRITER_PERFINFO, 0x0E, 0x21, 0, S(2), 0, 0, p, 24);   /* needs 28 */
    w_kernel(&x, ETL_WRITER_PERFINFO, 0x0E, 0x22, 0, S(3), 0, 0, p, 0);    /* empty */
    w_kernel(&x, ETL_WRITER_PERFINFO, 0x0E, 0x24, 0, S(4), 0, 0, p, 16);   /* AddPoolPage */
    w_alloc(&x, S(5), "Good", 0x10, E(1));
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    po.series_interval = SEC;
    Pool *pool = run_pool(t, &po, 0, NULL);
    const PoolHealth *h = pool_health(pool);
    assert_int_equal(h->malformed, 3);
    assert_int_equal(h->other_events, 1);
    assert_int_equal(h->allocs, 1);
    assert_int_equal(h->frees, 0);
    guint n;
    const PoolCell *c = pool_cells(pool, &n);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].tag, scen_tag("Good"));
    assert_int_equal(c[0].cls, POOL_AIFO);
}

/* SYSTEM headers name the allocating thread and process. */
static void test_system_header_owner(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_pool_hdr(&x, ETL_WRITER_SYSTEM, 0x20, S(1), NPNX, scen_tag("Ownr"), 0x100, E(1), 0);
    w_pool_hdr(&x, ETL_WRITER_SYSTEM, 0x20, S(2), NPNX, scen_tag("Ownr"), 0x100, E(2), 0);
    w_pool_hdr(&x, ETL_WRITER_SYSTEM, 0x22, S(3), NPNX, scen_tag("Ownr"), 0x100, E(1), 0);
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    static const PoolKey keys[] = { POOL_BY_PROCESS };
    GArray *rows = view(p, 0, NULL, keys, 1);
    assert_int_equal(rows->len, 1);
    assert_int_equal(ROW(rows, 0)->pid, 200);
    assert_int_equal(ROW(rows, 0)->count, 2);
    expect_tag(p, "Ownr", classes("Ownr", 1, 0x100, 1, 0x100, 0, 0, 0, 0), "system headers");
}

/* ------------------------------------------------------------------------------------------
 * Filters
 * ------------------------------------------------------------------------------------------ */
static void test_tag_match(void **state)
{
    (void)state;
    const uint32_t leak = scen_tag("Leak"), lkpg = scen_tag("LkPg"), irp = scen_tag("Irp ");
    assert_true(pool_tag_match("Le?k", leak));
    assert_false(pool_tag_match("Le?k", lkpg));
    assert_true(pool_tag_match("L*", leak));
    assert_true(pool_tag_match("L*", lkpg));
    assert_false(pool_tag_match("L*", irp));
    assert_true(pool_tag_match("irp", irp));
    assert_true(pool_tag_match("IRP", irp));
    assert_true(pool_tag_match("Irp ", irp));
    assert_false(pool_tag_match("irp", leak));
    assert_true(pool_tag_match("*", leak));
    assert_true(pool_tag_match("*", irp));
    assert_true(pool_tag_match("*", 0));
    assert_true(pool_tag_match("leak", leak));
    assert_false(pool_tag_match("Lea", leak));   /* the whole tag */
    assert_false(pool_tag_match("eak", leak));
    assert_true(pool_tag_match("?eak", leak));
    assert_true(pool_tag_match("*k", leak));
    assert_true(pool_tag_match("L*g", lkpg));
    assert_true(pool_tag_match("*a*", leak));
    assert_true(pool_tag_match("L**k", leak));
}

static void test_view_filters(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth *tr = &g_open.truth[0];
    EtlTrace *t = scenario(&o, tr);
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    const ScenPoolTag *leak = scen_truth_tag(tr, scen_tag("Leak")), *lkpg = scen_truth_tag(tr, scen_tag("LkPg")),
                      *irp = scen_truth_tag(tr, scen_tag("Irp "));
    assert_non_null(leak);
    assert_non_null(lkpg);
    assert_non_null(irp);

    static const PoolKey tag_type[] = { POOL_BY_TAG, POOL_BY_CLASS };
    /* AIFO of L*: exactly the two leaks */
    GArray *rows = view(p, 1u << POOL_AIFO, "L*", tag_type, 2);
    assert_int_equal(rows->len, 2);
    uint64_t bytes = 0, count = 0;
    for (guint i = 0; i < rows->len; i++) {
        const PoolCell *r = ROW(rows, i);
        assert_int_equal(r->cls, POOL_AIFO);
        assert_true(r->tag == leak->tag || r->tag == lkpg->tag);
        assert_int_equal(r->bytes, r->tag == leak->tag ? leak->aifo_bytes : lkpg->aifo_bytes);
        bytes += r->bytes;
        count += r->count;
    }
    assert_int_equal(bytes, leak->aifo_bytes + lkpg->aifo_bytes);
    assert_int_equal(count, leak->aifo + lkpg->aifo);
    /* sorted by bytes descending */
    assert_true(ROW(rows, 0)->bytes >= ROW(rows, 1)->bytes);

    /* "irp" names "Irp " */
    rows = view(p, (1u << POOL_AIFI) | (1u << POOL_AOFI), "irp", tag_type, 2);
    assert_int_equal(rows->len, 1);
    assert_int_equal(ROW(rows, 0)->tag, irp->tag);
    assert_int_equal(ROW(rows, 0)->cls, POOL_AIFI);
    assert_int_equal(ROW(rows, 0)->count, irp->aifi);
    assert_int_equal(ROW(rows, 0)->bytes, irp->aifi_bytes);

    /* "Le?k", no class filter: Leak's AIFI and AIFO */
    rows = view(p, 0, "Le?k", tag_type, 2);
    assert_int_equal(rows->len, 2);
    for (guint i = 0; i < rows->len; i++) assert_int_equal(ROW(rows, i)->tag, leak->tag);

    /* "*" and no key: one row with everything */
    rows = view(p, 0, "*", NULL, 0);
    assert_int_equal(rows->len, 1);
    uint64_t all = 0, all_n = 0;
    for (uint32_t i = 0; i < tr->n_tags; i++) {
        all += tr->tags[i].aifi_bytes + tr->tags[i].aifo_bytes + tr->tags[i].aofi_bytes;
        all_n += tr->tags[i].aifi + tr->tags[i].aifo + tr->tags[i].aofi;
    }
    assert_int_equal(ROW(rows, 0)->bytes, all);
    assert_int_equal(ROW(rows, 0)->count, all_n);

    /* class mask alone: AOFI rows are the pre-trace frees of File and MmSt */
    static const PoolKey by_tag[] = { POOL_BY_TAG };
    rows = view(p, 1u << POOL_AOFI, NULL, by_tag, 1);
    uint64_t aofi = 0;
    for (guint i = 0; i < rows->len; i++) {
        const ScenPoolTag *pt = scen_truth_tag(tr, ROW(rows, i)->tag);
        assert_non_null(pt);
        assert_true(pt->aofi > 0);
        assert_int_equal(ROW(rows, i)->bytes, pt->aofi_bytes);
        aofi += ROW(rows, i)->count;
    }
    assert_int_equal(aofi, pool_health(p)->frees_unmatched);
    /* a pattern matching nothing */
    rows = view(p, 0, "Zz*", by_tag, 1);
    assert_int_equal(rows->len, 0);
}

/* ------------------------------------------------------------------------------------------
 * Tag text
 * ------------------------------------------------------------------------------------------ */
static void assert_tag_text(uint32_t tag, const char *want)
{
    char *s = tag_text(tag);
    if (strcmp(s, want) != 0) {
        print_error("tag 0x%08x: \"%s\", want \"%s\"\n", tag, s, want);
        g_free(s);
        fail();
    }
    g_free(s);
}

static uint32_t tag_bytes(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return (uint32_t)a | (uint32_t)b << 8 | (uint32_t)c << 16 | (uint32_t)d << 24;
}

static void test_tag_format(void **state)
{
    (void)state;
    assert_tag_text(scen_tag("Irp "), "Irp");
    assert_tag_text(scen_tag("Leak"), "Leak");
    assert_tag_text(tag_bytes('A', 0x00, 0x01, 'B'), "A\\x00\\x01B");
    assert_tag_text(0, "");
    assert_tag_text(scen_tag("    "), "");
    assert_tag_text(tag_bytes('a', 'b', 0, 0), "ab");
    assert_tag_text(tag_bytes('a', 'b', ' ', 0), "ab");
    assert_tag_text(tag_bytes(' ', 'x', ' ', ' '), " x");
    assert_tag_text(tag_bytes('\\', 'a', 'b', 'c'), "\\x5Cabc");
    assert_tag_text(tag_bytes('a', 0x7f, 'b', 0xF4), "a\\x7Fb\\xF4");
    /* appends */
    GString *s = g_string_new("tag=");
    pool_tag_format(scen_tag("Wdf "), s);
    assert_string_equal(s->str, "tag=Wdf");
    g_string_free(s, TRUE);
}

/* ------------------------------------------------------------------------------------------
 * Classification bounds
 * ------------------------------------------------------------------------------------------ */
static void expect_class(int64_t a, int64_t f, int64_t t1, int64_t t2, bool incl, PoolClass cls)
{
    bool included = !incl;
    PoolClass c = pool_classify(a, f, t1, t2, &included);
    if (included != incl || (incl && c != cls))
        fail_msg("classify(%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 "]: included %d class %s, want %d %s", a, f, t1, t2, included, pool_class_name(c), incl,
                 pool_class_name(cls));
}

static void test_classify(void **state)
{
    (void)state;
    const int64_t T1 = 1000, T2 = 2000, MIN = INT64_MIN, MAX = INT64_MAX;
    expect_class(T1, 1500, T1, T2, true, POOL_AIFI);     /* alloc exactly at T1: AI */
    expect_class(1500, T2, T1, T2, true, POOL_AIFI);     /* free exactly at T2: FI */
    expect_class(T1, T2, T1, T2, true, POOL_AIFI);
    expect_class(T1 - 1, 1500, T1, T2, true, POOL_AOFI);
    expect_class(1500, T2 + 1, T1, T2, true, POOL_AIFO);
    expect_class(T1 - 1, T2 + 1, T1, T2, true, POOL_AOFO);
    expect_class(500, T1, T1, T2, true, POOL_AOFI);      /* free at T1: included, FI */
    expect_class(T2, 3000, T1, T2, true, POOL_AIFO);     /* alloc at T2: included, AI */
    expect_class(T2 + 1, 3000, T1, T2, false, POOL_AIFI);/* after the window */
    expect_class(100, T1 - 1, T1, T2, false, POOL_AIFI); /* before the window */
    expect_class(T2 + 1, MAX, T1, T2, false, POOL_AIFI);
    expect_class(MIN, T1 - 1, T1, T2, false, POOL_AIFI);
    expect_class(MIN, 1500, T1, T2, true, POOL_AOFI);    /* unknown alloc: -inf */
    expect_class(MIN, MAX, T1, T2, true, POOL_AOFO);
    expect_class(1500, MAX, T1, T2, true, POOL_AIFO);    /* never freed: +inf */
    expect_class(MIN, T2, T1, T2, true, POOL_AOFI);
    /* the whole trace */
    expect_class(5, 6, MIN, MAX, true, POOL_AIFI);
    expect_class(5, MAX, MIN, MAX, true, POOL_AIFO);
    expect_class(MIN, 6, MIN, MAX, true, POOL_AOFI);
    expect_class(MIN, MAX, MIN, MAX, true, POOL_AOFO);
    /* names */
    assert_string_equal(pool_class_name(POOL_AIFI), "AIFI");
    assert_string_equal(pool_class_name(POOL_AOFO), "AOFO");
    PoolClass c;
    assert_true(pool_class_parse("aifo", &c));
    assert_int_equal(c, POOL_AIFO);
    assert_false(pool_class_parse("AIFX", &c));
    PoolKey k;
    assert_true(pool_key_parse("Module", &k));
    assert_int_equal(k, POOL_BY_MODULE);
    assert_true(pool_key_parse("type", &k));
    assert_int_equal(k, POOL_BY_CLASS);
    assert_false(pool_key_parse("size", &k));
    assert_string_equal(pool_key_name(POOL_BY_PAGED), "paged");
}

/* ------------------------------------------------------------------------------------------
 * Series
 * ------------------------------------------------------------------------------------------ */
static const PoolSeries *find_series(const PoolSeries *s, guint n, uint32_t tag, bool paged)
{
    for (guint i = 0; i < n; i++)
        if (s[i].tag == tag && s[i].paged == paged) return &s[i];
    return NULL;
}

static void test_series_scenario(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth *tr = &g_open.truth[0];
    EtlTrace *t = scenario(&o, tr);
    const EtlLogfileHeader *h = etl_trace_header(t);
    PoolOptions po;
    pool_options_init(&po);
    po.series_interval = h->ticks_per_second;
    assert_int_equal(po.series_interval, tr->perf_freq);
    Pool *p = run_pool(t, &po, 0, NULL);
    guint nt = 0, ns = 0;
    const int64_t *times = NULL;
    const PoolSeries *s = pool_series(p, &nt, &times, &ns);
    assert_non_null(s);
    assert_int_equal(nt, tr->n_tags);
    /* 20 s of activity: samples at 0, 1, ... 20 s and one at the last pool event */
    assert_true(ns >= 21 && ns <= 23);
    assert_int_equal(times[0], h->ts0);
    for (guint j = 1; j + 1 < ns; j++) assert_int_equal(times[j] - times[j - 1], po.series_interval);
    assert_true(times[ns - 1] > times[ns - 2] && times[ns - 1] - times[ns - 2] <= po.series_interval);
    assert_true(times[ns - 1] <= tr->last_ts);
    /* sorted by peak */
    for (guint i = 1; i < nt; i++) assert_true(s[i - 1].peak >= s[i].peak);

    for (uint32_t i = 0; i < tr->n_tags; i++) {
        const ScenPoolTag *pt = &tr->tags[i];
        const PoolSeries *ps = find_series(s, nt, pt->tag, (pt->type & 1) != 0);
        assert_non_null(ps);
        uint64_t peak = 0;
        for (guint j = 0; j < ns; j++) {
            assert_true(ps->bytes[j] <= pt->alloc_bytes);
            if (ps->bytes[j] > peak) peak = ps->bytes[j];
            /* Outstanding Size(t) = Σ size, alloc_ts <= t < free_ts; pre-trace blocks excluded */
            uint64_t want = 0;
            for (uint32_t r = 0; r < tr->n_records; r++) {
                const ScenPoolRecord *rec = &tr->records[r];
                if (rec->tag == pt->tag && rec->alloc_ts != INT64_MIN && rec->alloc_ts <= times[j] &&
                    times[j] < rec->free_ts)
                    want += rec->size;
            }
            if (ps->bytes[j] != want) {
                char *name = tag_text(pt->tag);
                print_error("'%s' sample %u (%.3f s): %" G_GUINT64_FORMAT ", want %" G_GUINT64_FORMAT "\n", name, j,
                            etl_time_rel_s(h, times[j]), ps->bytes[j], want);
                g_free(name);
                fail();
            }
        }
        assert_int_equal(ps->peak, peak);
        /* at the end: what is outstanding, i.e. AIFO */
        assert_int_equal(ps->bytes[ns - 1], pt->aifo_bytes);
    }
    const PoolSeries *leak = find_series(s, nt, tr->leak_tag, false);
    assert_non_null(leak);
    assert_int_equal(leak->bytes[ns - 1], scen_truth_tag(tr, tr->leak_tag)->aifo_bytes);
    assert_int_equal(leak->bytes[ns - 1], tr->leak_bytes);
    assert_int_equal(leak->bytes[0], 0);
}

/* Outstanding Size(t) counts allocations with alloc_ts <= t < free_ts (ANALYSES.md §2.4). */
static void test_series_sample_bounds(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_alloc(&x, S(0.5), "Half", 0x10, E(1));
    w_alloc(&x, S(1), "Bnd ", 100, E(2));   /* exactly at the 1 s sample */
    w_free(&x, S(2), "Bnd ", 100, E(2));    /* exactly at the 2 s sample */
    w_alloc(&x, S(2.5), "Last", 0x20, E(3));
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    po.series_interval = SEC;
    Pool *p = run_pool(t, &po, 0, NULL);
    guint nt, ns;
    const int64_t *times;
    const PoolSeries *s = pool_series(p, &nt, &times, &ns);
    assert_int_equal(nt, 3);
    assert_int_equal(ns, 4); /* 0, 1, 2 s and 2.5 s (the last pool event) */
    assert_int_equal(times[0], g_ts0);
    assert_int_equal(times[1], g_ts0 + S(1));
    assert_int_equal(times[2], g_ts0 + S(2));
    assert_int_equal(times[3], g_ts0 + S(2.5));
    const PoolSeries *half = find_series(s, nt, scen_tag("Half"), false);
    const PoolSeries *last = find_series(s, nt, scen_tag("Last"), false);
    const PoolSeries *bnd = find_series(s, nt, scen_tag("Bnd "), false);
    assert_non_null(half);
    assert_non_null(last);
    assert_non_null(bnd);
    uint64_t want_half[] = { 0, 0x10, 0x10, 0x10 }, want_last[] = { 0, 0, 0, 0x20 };
    for (guint j = 0; j < ns; j++) {
        assert_int_equal(half->bytes[j], want_half[j]);
        assert_int_equal(last->bytes[j], want_last[j]);
    }
    /* BUG (analyses/pool.c series_advance): a sample at t is taken before the events at t are
     * applied (`while (ts >= next_sample)`), so the block allocated at exactly 1 s is missing
     * from the 1 s sample and the block freed at exactly 2 s is still in the 2 s sample; the
     * docs' Outstanding Size(t) has alloc_ts <= t < free_ts: want 0, 100, 0, 0. */
    uint64_t want_bnd[] = { 0, 100, 0, 0 };
    for (guint j = 0; j < ns; j++)
        if (bnd->bytes[j] != want_bnd[j])
            fail_msg("'Bnd ' sample %u (%.1f s): %" G_GUINT64_FORMAT ", want %" G_GUINT64_FORMAT, j,
                     (double)(times[j] - g_ts0) / SEC, bnd->bytes[j], want_bnd[j]);
}

/* --no-implicit-free keeps the old block outstanding: the series must too. */
static void test_series_no_implicit_free(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_alloc(&x, S(0.5), "Dup ", 100, E(1));
    w_alloc(&x, S(1.5), "Dup ", 200, E(1));
    w_alloc(&x, S(2.5), "Othr", 8, E(2));
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    po.series_interval = SEC;
    Pool *p = run_pool(t, &po, 0, NULL);
    guint nt, ns;
    const int64_t *times;
    const PoolSeries *s = pool_series(p, &nt, &times, &ns);
    const PoolSeries *dup = find_series(s, nt, scen_tag("Dup "), false);
    assert_non_null(dup);
    assert_int_equal(ns, 4);
    /* default: the first block ends at 1.5 s */
    assert_int_equal(dup->bytes[1], 100);
    assert_int_equal(dup->bytes[2], 200);
    assert_int_equal(dup->bytes[3], 200);

    po.no_implicit_free = true;
    p = run_pool(t, &po, 0, NULL);
    s = pool_series(p, &nt, &times, &ns);
    dup = find_series(s, nt, scen_tag("Dup "), false);
    assert_non_null(dup);
    expect_tag(p, "Dup ", classes("Dup ", 0, 0, 2, 300, 0, 0, 0, 0), "no implicit free");
    assert_int_equal(dup->bytes[1], 100);
    /* BUG (analyses/pool.c, no_implicit_free branch of pool_add): series_change(p, r, false)
     * takes the old block out of the series although it stays outstanding (AIFO): the series
     * shows 200 where 300 bytes are outstanding (the AIFO bytes at the end). */
    assert_int_equal(dup->bytes[2], 300);
    assert_int_equal(dup->bytes[3], 300);
}

/* The last pool event falls exactly on a sample time: the final state must still be sampled
 * ("sampled ... and once more at the last pool event"), so the last sample is what is
 * outstanding at the end (= AIFO). */
static void test_series_last_event_on_sample(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_alloc(&x, S(0.5), "Frst", 0x10, E(1));
    w_alloc(&x, S(2), "Edge", 0x40, E(2));   /* the last pool event, exactly at the 2 s sample */
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    po.series_interval = SEC;
    Pool *p = run_pool(t, &po, 0, NULL);
    expect_tag(p, "Edge", classes("Edge", 0, 0, 1, 0x40, 0, 0, 0, 0), "last event on a sample");
    guint nt, ns;
    const int64_t *times;
    const PoolSeries *s = pool_series(p, &nt, &times, &ns);
    const PoolSeries *edge = find_series(s, nt, scen_tag("Edge"), false);
    assert_non_null(edge);
    assert_true(ns >= 3);
    assert_int_equal(times[ns - 1], g_ts0 + S(2));
    /* BUG (analyses/pool.c, series_advance + pool_finish): the 2 s sample is taken before the
     * allocation at 2 s is applied, and pool_finish adds no sample at the last pool event
     * because last_ts is not after the last sample time: the series ends at 0 while 0x40 bytes
     * are outstanding (AIFO) at the end. */
    assert_int_equal(edge->bytes[ns - 1], 0x40);
}

/* At most 20,000 samples, however small the interval (a corrupt timestamp must not turn a
 * small trace into millions of series rows). */
static void test_series_cap(void **state)
{
    (void)state;
    W x;
    w_init(&x);
    w_alloc(&x, S(1), "Capp", 0x10, E(1));
    w_alloc(&x, S(2), "Capp", 0x10, E(2));
    EtlTrace *t = w_finish(&x);
    PoolOptions po;
    pool_options_init(&po);
    po.series_interval = 1; /* 1 tick: 2e7 samples would be needed */
    Pool *p = run_pool(t, &po, 0, NULL);
    guint nt, ns;
    const int64_t *times;
    const PoolSeries *s = pool_series(p, &nt, &times, &ns);
    assert_int_equal(nt, 1);
    assert_int_equal(ns, 20000);
    for (guint j = 1; j < ns; j++) assert_true(times[j] > times[j - 1]);
    assert_int_equal(s[0].bytes[ns - 1], 0);
    /* the analysis itself is complete */
    expect_tag(p, "Capp", classes("Capp", 0, 0, 2, 0x20, 0, 0, 0, 0), "series cap");
}

/* ------------------------------------------------------------------------------------------
 * Many events against a reference: the outstanding map (growth, deletion with collisions),
 * implicit frees, sessions, unmatched frees, for the whole trace and a window
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    int64_t  a, f;
    uint64_t size;
    uint32_t tag;
} RefRec;

static void ref_classify(const GArray *recs, int64_t t1, int64_t t2, const uint32_t *tags, guint n_tags,
                         ScenPoolTag *out)
{
    for (guint k = 0; k < n_tags; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].tag = tags[k];
    }
    for (guint i = 0; i < recs->len; i++) {
        const RefRec *r = &g_array_index(recs, RefRec, i);
        if (!(r->a <= t2 && r->f >= t1)) continue;
        guint k = 0;
        while (k < n_tags && tags[k] != r->tag) k++;
        assert_true(k < n_tags);
        bool ai = r->a != INT64_MIN && r->a >= t1, fi = r->f != INT64_MAX && r->f <= t2;
        add_class(&out[k], ai ? (fi ? POOL_AIFI : POOL_AIFO) : (fi ? POOL_AOFI : POOL_AOFO), 1, r->size);
    }
}

static void test_many_against_reference(void **state)
{
    (void)state;
    enum { N_EVENTS = 40000, N_ADDR = 3000 };
    static const char *const TAGS[] = { "Rnd0", "Rnd1", "Rnd2" };
    static const uint32_t TYPES[] = { NPNX, 1, 33 };
    uint32_t tags[3];
    for (int i = 0; i < 3; i++) tags[i] = scen_tag(TAGS[i]);
    W x;
    w_init(&x);
    GArray *recs = g_array_new(FALSE, FALSE, sizeof(RefRec));
    GHashTable *live = g_hash_table_new(g_direct_hash, g_direct_equal); /* key + 1 -> rec index + 1 */
    GRand *rnd = g_rand_new_with_seed(7);
    uint64_t implicit = 0, unmatched = 0, matched = 0, mismatch = 0, allocs = 0, peak = 0;
    for (int n = 0; n < N_EVENTS; n++) {
        int64_t ts = S(0.01) + (int64_t)n * 250; /* 1 s in all; relative to ts0 */
        int64_t abs_ts = g_ts0 + ts;
        int tg = g_rand_int_range(rnd, 0, 3);
        uint32_t sid = tg == 2 ? (uint32_t)g_rand_int_range(rnd, 1, 3) : 0;
        uint32_t addr = (uint32_t)g_rand_int_range(rnd, 0, N_ADDR);
        uint64_t entry = E(addr);
        gpointer key = GUINT_TO_POINTER(addr * 4 + sid + 1);
        guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(live, key));
        uint64_t size = (uint64_t)g_rand_int_range(rnd, 1, 64) * 16;
        double u = g_rand_double(rnd);
        bool is_free = idx ? u < 0.85 : u < 0.05;
        uint8_t op = (uint8_t)((is_free ? 0x22 : 0x20) | (tg == 2 ? 1 : 0));
        uint32_t tag = tags[tg];
        if (is_free && idx) {
            RefRec *r = &g_array_index(recs, RefRec, idx - 1);
            size = r->size;
            /* the free names the allocation's tag, but now and then another one */
            if (g_rand_double(rnd) < 0.05) mismatch++;
            else tag = r->tag;
            r->f = abs_ts;
            g_hash_table_remove(live, key);
            matched++;
        } else if (is_free) {
            RefRec r = { INT64_MIN, abs_ts, size, tag };
            g_array_append_val(recs, r);
            unmatched++;
        } else {
            if (idx) {
                g_array_index(recs, RefRec, idx - 1).f = abs_ts;
                implicit++;
            }
            RefRec r = { abs_ts, INT64_MAX, size, tag };
            g_array_append_val(recs, r);
            g_hash_table_insert(live, key, GUINT_TO_POINTER(recs->len));
            allocs++;
            if (g_hash_table_size(live) > peak) peak = g_hash_table_size(live);
        }
        /* the free of a session block keeps the block's type */
        w_pool_hdr(&x, ETL_WRITER_PERFINFO, op, ts, TYPES[tg], tag, size, entry, sid);
    }
    uint64_t outstanding = g_hash_table_size(live);
    g_hash_table_destroy(live);
    g_rand_free(rnd);
    EtlTrace *t = w_finish(&x);

    ScenPoolTag want[3];
    PoolOptions po;
    pool_options_init(&po);
    Pool *p = run_pool(t, &po, 0, NULL);
    const PoolHealth *h = pool_health(p);
    assert_int_equal(h->allocs, allocs);
    assert_int_equal(h->frees, matched + unmatched);
    assert_int_equal(h->matched, matched);
    assert_int_equal(h->frees_unmatched, unmatched);
    assert_int_equal(h->implicit_frees, implicit);
    assert_int_equal(h->outstanding_end, outstanding);
    assert_int_equal(h->peak_outstanding, peak);
    assert_true(h->tag_mismatch > 0 && h->tag_mismatch <= mismatch);
    assert_true(peak > 1024); /* the map grew */
    ref_classify(recs, INT64_MIN, INT64_MAX, tags, 3, want);
    check_tags(p, want, 3, "reference, whole trace");
    run_close(p);

    po.from = g_ts0 + S(0.3);
    po.to = g_ts0 + S(0.7);
    p = run_pool(t, &po, 0, NULL);
    ref_classify(recs, po.from, po.to, tags, 3, want);
    check_tags(p, want, 3, "reference, [0.3 s, 0.7 s]");
    run_close(p);
    g_array_free(recs, TRUE);
}

/* ------------------------------------------------------------------------------------------
 * pooltag.txt
 * ------------------------------------------------------------------------------------------ */
static void test_tagdb(void **state)
{
    (void)state;
    static const char text[] =
        "rem pooltag.txt: comments start with rem\n"
        "rem\n"
        "\n"
        "Irp  - <unknown>    - Io, IRP packets\n"
        "   \n"
        "Le*  - leakydrv.sys - test\n"
        "Lexx - exact.sys - exact wins over a wildcard\n"
        "L?Pg - wild2.sys - second wildcard\n"
        "AfdB - afd.sys - AFD objects\r\n"
        "no separator here\n"
        "Mm   - nt!mm - first\n"
        "Mm   - nt!mm - second (the first line of a tag wins)\n";
    GError *err = NULL;
    int fd = g_file_open_tmp("etla-pooltag-XXXXXX.txt", &g_open.tmp_path, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_true(g_file_set_contents(g_open.tmp_path, text, -1, &err));
    g_open.db = pool_tagdb_load(g_open.tmp_path, &err);
    assert_non_null(g_open.db);
    assert_null(err);
    const PoolTagDb *db = g_open.db;
    const char *irp = pool_tagdb_lookup(db, scen_tag("Irp "));
    assert_non_null(irp);
    assert_true(g_str_has_prefix(irp, "<unknown>"));
    assert_true(g_str_has_suffix(irp, "Io, IRP packets"));
    assert_string_equal(pool_tagdb_lookup(db, scen_tag("Leak")), "leakydrv.sys - test");
    assert_string_equal(pool_tagdb_lookup(db, scen_tag("Le  ")), "leakydrv.sys - test");
    assert_string_equal(pool_tagdb_lookup(db, scen_tag("Lexx")), "exact.sys - exact wins over a wildcard");
    assert_string_equal(pool_tagdb_lookup(db, scen_tag("LkPg")), "wild2.sys - second wildcard");
    assert_string_equal(pool_tagdb_lookup(db, scen_tag("AfdB")), "afd.sys - AFD objects");
    assert_string_equal(pool_tagdb_lookup(db, scen_tag("Mm  ")), "nt!mm - first");
    assert_null(pool_tagdb_lookup(db, scen_tag("File")));
    assert_null(pool_tagdb_lookup(db, scen_tag("rem ")));
    assert_null(pool_tagdb_lookup(db, scen_tag("no s")));
    assert_null(pool_tagdb_lookup(NULL, scen_tag("Irp ")));

    /* a missing file */
    char *missing = g_strconcat(g_open.tmp_path, ".missing", NULL);
    PoolTagDb *none = pool_tagdb_load(missing, &err);
    g_free(missing);
    assert_null(none);
    assert_non_null(err);
    assert_true(err->domain == G_FILE_ERROR);
    g_clear_error(&err);
    pool_tagdb_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_scenario_whole_trace, teardown),
        cmocka_unit_test_teardown(test_scenario_windows, teardown),
        cmocka_unit_test_teardown(test_scenario_variants, teardown),
        cmocka_unit_test_teardown(test_leak_steady_and_stopped, teardown),
        cmocka_unit_test_teardown(test_address_reuse, teardown),
        cmocka_unit_test_teardown(test_implicit_free, teardown),
        cmocka_unit_test_teardown(test_session_pool, teardown),
        cmocka_unit_test_teardown(test_free_without_alloc, teardown),
        cmocka_unit_test_teardown(test_protected_and_mismatch, teardown),
        cmocka_unit_test_teardown(test_malformed, teardown),
        cmocka_unit_test_teardown(test_system_header_owner, teardown),
        cmocka_unit_test_teardown(test_tag_match, teardown),
        cmocka_unit_test_teardown(test_view_filters, teardown),
        cmocka_unit_test_teardown(test_tag_format, teardown),
        cmocka_unit_test_teardown(test_classify, teardown),
        cmocka_unit_test_teardown(test_series_scenario, teardown),
        cmocka_unit_test_teardown(test_series_sample_bounds, teardown),
        cmocka_unit_test_teardown(test_series_no_implicit_free, teardown),
        cmocka_unit_test_teardown(test_series_last_event_on_sample, teardown),
        cmocka_unit_test_teardown(test_series_cap, teardown),
        cmocka_unit_test_teardown(test_many_against_reference, teardown),
        cmocka_unit_test_teardown(test_tagdb, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
