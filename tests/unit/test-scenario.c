/* test-scenario.c — the scenario generator's ground truth against its own traces (read back
 * through the reader and the kernel decoders), every variant, and the committed traces/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scenario.h"
#include "testutil.h"

#include <stdio.h>

/* ------------------------------------------------------------------------------ walker */

typedef struct {
    uint32_t tag, type;
    uint64_t size;
    int64_t ts;
    int32_t stack;     /* index into ScenTruth.stacks matched by frames, -1 none, -2 pending */
    uint64_t key;      /* stack key waiting for its definition */
    bool freed;
} Alloc;

typedef struct {
    ScenPoolTag tags[SCEN_MAX_TAGS];
    uint32_t n_tags;
    ScenDpcRow dpc[SCEN_MAX_DPC_ROWS];
    uint32_t n_dpc;
    uint64_t events_by_header[8];
    uint64_t events_by_kind[ETL_K_COUNT_];
    uint64_t events, ext_stack_events, stacks_matched, stacks_wrong, key_refs, key_defs;
    uint64_t leak_count, leak_bytes, leak_wrong_stack;
    uint64_t leak2_count;
    uint64_t inversions, session_events;
    uint64_t image_events, dcend_images;
    GHashTable *live;  /* entry -> Alloc* (owned) */
    GPtrArray *all;    /* every Alloc (owned) */
    GHashTable *pending_keys; /* key -> GPtrArray of Alloc* waiting */
} Walk;

static gpointer dup64(uint64_t v)
{
    uint64_t *p = g_new(uint64_t, 1);
    *p = v;
    return p;
}

static ScenPoolTag *wtag(Walk *w, uint32_t tag)
{
    for (uint32_t i = 0; i < w->n_tags; i++)
        if (w->tags[i].tag == tag) return &w->tags[i];
    assert_true(w->n_tags < SCEN_MAX_TAGS);
    ScenPoolTag *t = &w->tags[w->n_tags++];
    memset(t, 0, sizeof *t);
    t->tag = tag;
    return t;
}

static ScenDpcRow *wdpc(Walk *w, uint64_t routine, uint8_t opcode)
{
    for (uint32_t i = 0; i < w->n_dpc; i++)
        if (w->dpc[i].routine == routine && w->dpc[i].opcode == opcode) return &w->dpc[i];
    assert_true(w->n_dpc < SCEN_MAX_DPC_ROWS);
    ScenDpcRow *r = &w->dpc[w->n_dpc++];
    memset(r, 0, sizeof *r);
    r->routine = routine;
    r->opcode = opcode;
    return r;
}

/* index of the truth stack with exactly these frames, or -1 */
static int32_t find_stack(const ScenTruth *t, const uint8_t *frames, uint32_t n, uint8_t fs)
{
    for (uint32_t i = 0; i < t->n_stacks; i++) {
        const ScenStack *s = &t->stacks[i];
        if (s->n != n) continue;
        uint32_t k = 0;
        while (k < n && etl_frame_at(frames, fs, k) == s->frames[k]) k++;
        if (k == n) return (int32_t)i;
    }
    return -1;
}

static void walk(const uint8_t *data, size_t len, const ScenTruth *truth, Walk *w, bool expect_clean)
{
    memset(w, 0, sizeof *w);
    w->live = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    w->all = g_ptr_array_new_with_free_func(g_free);
    w->pending_keys = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                            (GDestroyNotify)g_ptr_array_unref);
    GError *err = NULL;
    EtlTrace *t = etl_trace_open(etl_source_new_memory(data, len, "scenario"), NULL, &err);
    assert_non_null(t);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    /* the last pool event per CPU, for its StackWalk / StackKey event */
    struct { int64_t ts; Alloc *a; bool valid; } last_pool[64];
    memset(last_pool, 0, sizeof last_pool);
    int64_t prev = INT64_MIN;
    while ((ev = etl_reader_next(r))) {
        if (ev->has_timestamp) {
            if (ev->timestamp < prev) w->inversions++;
            prev = ev->timestamp;
        }
        if (ev->buffer_index == 0) continue;      /* log-file header, extension, partition */
        w->events++;
        w->events_by_header[ev->kind]++;
        if (ev->kind == ETL_HDR_EVENT) {
            if (etl_event_ext(ev, ETL_EXT_STACK_TRACE64) || etl_event_ext(ev, ETL_EXT_STACK_TRACE32) ||
                etl_event_ext(ev, ETL_EXT_STACK_KEY64) || etl_event_ext(ev, ETL_EXT_STACK_KEY32))
                w->ext_stack_events++;
        }
        EtlKernelEvent k;
        if (ev->kind == ETL_HDR_MESSAGE || ev->kind == ETL_HDR_EVENT || ev->kind == ETL_HDR_INSTANCE) {
            w->events_by_kind[ETL_K_UNKNOWN]++;
            continue;
        }
        EtlDecodeStatus ds = etl_kernel_decode(ev, &k);
        assert_int_not_equal(ds, ETL_DECODE_TOO_SHORT);
        if (ds != ETL_DECODE_OK) k.kind = ETL_K_UNKNOWN;
        w->events_by_kind[k.kind]++;
        uint16_t cpu = ev->cpu;
        switch (k.kind) {
        case ETL_K_POOL: {
            const EtlPool *p = &k.u.pool;
            /* session pool VAs repeat across sessions: key by (Entry, SessionId) */
            assert_int_equal(p->entry & 0xF, 0);
            uint64_t key = p->entry | (p->has_session ? (p->session_id & 0xF) : 0);
            if (p->has_session) w->session_events++;
            if (!p->is_free) {
                ScenPoolTag *pt = wtag(w, p->tag);
                pt->type = p->type;
                pt->allocs++;
                pt->alloc_bytes += p->size;
                Alloc *a = g_new0(Alloc, 1);
                *a = (Alloc){ p->tag, p->type, p->size, ev->timestamp, -2, 0, false };
                g_ptr_array_add(w->all, a);
                assert_null(g_hash_table_lookup(w->live, &key));   /* entries are unique while live */
                g_hash_table_insert(w->live, dup64(key), a);
                last_pool[cpu].ts = ev->timestamp;
                last_pool[cpu].a = a;
                last_pool[cpu].valid = true;
            } else {
                Alloc *a = g_hash_table_lookup(w->live, &key);
                ScenPoolTag *pt = wtag(w, p->tag);
                pt->frees++;
                if (a) {
                    pt->free_bytes += a->size;
                    pt->aifi++;
                    pt->aifi_bytes += a->size;
                    a->freed = true;
                    g_hash_table_remove(w->live, &key);
                } else {
                    pt->free_bytes += p->size;
                    pt->aofi++;
                    pt->aofi_bytes += p->size;
                }
                last_pool[cpu].ts = ev->timestamp;
                last_pool[cpu].a = NULL;
                last_pool[cpu].valid = true;
            }
            break;
        }
        case ETL_K_STACK: {
            if (last_pool[cpu].valid && (int64_t)k.u.stack.event_timestamp == last_pool[cpu].ts) {
                int32_t s = find_stack(truth, k.u.stack.frames, k.u.stack.n_frames, k.u.stack.frame_size);
                if (last_pool[cpu].a) last_pool[cpu].a->stack = s;
                if (s >= 0) w->stacks_matched++; else w->stacks_wrong++;
            }
            last_pool[cpu].valid = false;
            break;
        }
        case ETL_K_STACK_KEY_REF: {
            w->key_refs++;
            Alloc *a = last_pool[cpu].valid ? last_pool[cpu].a : NULL;
            if (a && (int64_t)k.u.stack_key_ref.event_timestamp == a->ts) {
                uint64_t key = k.u.stack_key_ref.key;
                GPtrArray *v = g_hash_table_lookup(w->pending_keys, &key);
                if (!v) {
                    v = g_ptr_array_new();
                    g_hash_table_insert(w->pending_keys, dup64(key), v);
                }
                g_ptr_array_add(v, a);
            }
            last_pool[cpu].valid = false;
            break;
        }
        case ETL_K_STACK_KEY_DEF: {
            /* resolves the references made before it, then the key is free again */
            w->key_defs++;
            uint64_t key = k.u.stack_key_def.key;
            GPtrArray *v = g_hash_table_lookup(w->pending_keys, &key);
            if (v) {
                int32_t s = find_stack(truth, k.u.stack_key_def.frames, k.u.stack_key_def.n_frames,
                                       k.u.stack_key_def.frame_size);
                for (guint i = 0; i < v->len; i++) {
                    Alloc *a = g_ptr_array_index(v, i);
                    a->stack = s;
                    if (s >= 0) w->stacks_matched++; else w->stacks_wrong++;
                }
                g_hash_table_remove(w->pending_keys, &key);
            }
            break;
        }
        case ETL_K_DPC:
        case ETL_K_ISR: {
            uint64_t init = k.kind == ETL_K_DPC ? k.u.dpc.initial_time : k.u.isr.initial_time;
            uint64_t routine = k.kind == ETL_K_DPC ? k.u.dpc.routine : k.u.isr.routine;
            assert_true(init <= (uint64_t)ev->timestamp);
            uint64_t d = (uint64_t)ev->timestamp - init;
            ScenDpcRow *row = wdpc(w, routine, ev->opcode);
            row->count++;
            row->total_ticks += d;
            if (d > row->max_ticks) { row->max_ticks = d; row->max_cpu = cpu; }
            if (cpu < 8) { row->cpu_count[cpu]++; row->cpu_ticks[cpu] += d; }
            break;
        }
        case ETL_K_IMAGE:
            w->image_events++;
            if (ev->opcode == 4) w->dcend_images++;
            break;
        default:
            break;
        }
    }
    etl_reader_free(r);
    const EtlStats *st = etl_trace_stats(t);
    if (expect_clean) {
        uint32_t nd = 0;
        const EtlDiag *dg = etl_trace_diags(t, &nd);
        for (uint32_t i = 0; i < nd; i++) {
            char *s = etl_diag_format(&dg[i]);
            fprintf(stderr, "diag: %s\n", s);
            g_free(s);
        }
        assert_int_equal(st->diagnostics, 0);
        assert_int_equal(st->events_skipped, 0);
    }
    /* outstanding at the end */
    GHashTableIter it;
    gpointer kp, vp;
    g_hash_table_iter_init(&it, w->live);
    while (g_hash_table_iter_next(&it, &kp, &vp)) {
        Alloc *a = vp;
        ScenPoolTag *pt = wtag(w, a->tag);
        pt->aifo++;
        pt->aifo_bytes += a->size;
        if (a->tag == truth->leak_tag) {
            w->leak_count++;
            w->leak_bytes += a->size;
            if (a->stack != truth->leak_stack) w->leak_wrong_stack++;
        }
        if (a->tag == truth->leak2_tag) w->leak2_count++;
    }
    etl_trace_free(t);
}

static void walk_clear(Walk *w)
{
    g_hash_table_destroy(w->live);
    g_ptr_array_unref(w->all);
    g_hash_table_destroy(w->pending_keys);
}

static uint8_t *gen(const ScenOptions *o, size_t *len, ScenTruth *t)
{
    GError *err = NULL;
    uint8_t *d = scen_generate_memory(o, len, t, &err);
    if (!d) fprintf(stderr, "generate: %s\n", err->message);
    assert_non_null(d);
    return d;
}

static void check_pool_truth(const ScenTruth *t, const Walk *w, uint64_t min_leak)
{
    assert_int_equal(w->n_tags, t->n_tags);
    for (uint32_t i = 0; i < t->n_tags; i++) {
        const ScenPoolTag *e = &t->tags[i], *g = NULL;
        for (uint32_t k = 0; k < w->n_tags; k++)
            if (w->tags[k].tag == e->tag) g = &w->tags[k];
        assert_non_null(g);
        assert_int_equal(g->allocs, e->allocs);
        assert_int_equal(g->alloc_bytes, e->alloc_bytes);
        assert_int_equal(g->frees, e->frees);
        assert_int_equal(g->free_bytes, e->free_bytes);
        assert_int_equal(g->aifi, e->aifi);
        assert_int_equal(g->aifi_bytes, e->aifi_bytes);
        assert_int_equal(g->aifo, e->aifo);
        assert_int_equal(g->aifo_bytes, e->aifo_bytes);
        assert_int_equal(g->aofi, e->aofi);
        assert_int_equal(g->aofi_bytes, e->aofi_bytes);
        if (e->allocs) assert_int_equal(g->type, e->type);
        /* internal consistency: every allocation is freed in the trace or outstanding */
        assert_int_equal(e->allocs, e->aifi + e->aifo);
        assert_int_equal(e->alloc_bytes, e->aifi_bytes + e->aifo_bytes);
        assert_int_equal(e->frees, e->aifi + e->aofi);
    }
    assert_int_equal(w->leak_count, t->leak_count);
    assert_int_equal(w->leak_bytes, t->leak_bytes);
    assert_int_equal(w->leak_wrong_stack, 0);
    assert_int_equal(w->leak2_count, t->leak2_count);
    assert_int_equal(w->stacks_wrong, 0);
    assert_true(t->leak_count >= min_leak);
    assert_true(t->leak2_count >= min_leak / 4);
    assert_true(t->leak_bytes > t->leak2_bytes);
    /* the leaking stack goes through leakydrv.sys, which is in the image rundown */
    const ScenStack *ls = &t->stacks[t->leak_stack];
    assert_string_equal(ls->owner, "leakydrv.sys");
    const ScenModule *m = NULL;
    for (uint32_t i = 0; i < t->n_modules; i++)
        if (strcmp(t->modules[i].name, "leakydrv.sys") == 0) m = &t->modules[i];
    assert_non_null(m);
    assert_true(ls->frames[1] >= m->base && ls->frames[1] < m->base + m->size);
}

static void check_headers(const ScenTruth *t, const Walk *w)
{
    assert_int_equal(w->events, t->events);
    for (int i = 0; i < 8; i++) assert_int_equal(w->events_by_header[i], t->events_by_header[i]);
    for (int i = 0; i < ETL_K_COUNT_; i++) {
        if (w->events_by_kind[i] != t->events_by_kind[i])
            fprintf(stderr, "kind %s: read %" G_GUINT64_FORMAT ", truth %" G_GUINT64_FORMAT "\n",
                    etl_kernel_kind_name((EtlKernelKind)i), w->events_by_kind[i], t->events_by_kind[i]);
        assert_int_equal(w->events_by_kind[i], t->events_by_kind[i]);
    }
    assert_int_equal(w->inversions, 0);
}

/* ------------------------------------------------------------------------------ tests */

static void test_pool_leak_truth(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    ScenTruth t;
    size_t len;
    uint8_t *d = gen(&o, &len, &t);
    assert_true(len < 1024 * 1024);
    Walk w;
    walk(d, len, &t, &w, true);
    check_headers(&t, &w);
    check_pool_truth(&t, &w, 40);
    assert_int_equal(w.stacks_matched, t.stack_events);
    /* session pool: both sessions reuse the same addresses; some are live in both at once */
    assert_true(w.session_events > 0);
    uint32_t both = 0;
    for (uint32_t i = 0; i < t.n_records && !both; i++) {
        const ScenPoolRecord *a = &t.records[i];
        if (a->session_id != 1) continue;
        for (uint32_t j = 0; j < t.n_records; j++) {
            const ScenPoolRecord *b = &t.records[j];
            if (b->session_id == 2 && b->entry == a->entry && b->alloc_ts < a->free_ts && a->alloc_ts < b->free_ts) {
                both++;
                break;
            }
        }
    }
    assert_true(both > 0);
    /* records agree with the per-tag totals, and the whole-trace selection reproduces them */
    ScenPoolTag cls[SCEN_MAX_TAGS];
    scen_pool_classify(&t, INT64_MIN, INT64_MAX, cls);
    uint64_t n_allocs = 0, n_aofi = 0;
    for (uint32_t i = 0; i < t.n_tags; i++) {
        assert_int_equal(cls[i].aifi, t.tags[i].aifi);
        assert_int_equal(cls[i].aifo_bytes, t.tags[i].aifo_bytes);
        assert_int_equal(cls[i].aofi_bytes, t.tags[i].aofi_bytes);
        assert_int_equal(cls[i].aofo, 0);
        n_allocs += t.tags[i].allocs;
        n_aofi += t.tags[i].aofi;
    }
    /* one record per allocation made in the trace, plus one per pre-trace block freed in it */
    assert_int_equal(t.n_records, n_allocs + n_aofi);
    /* a window before the leak starts (15% in) has no leaked allocation made in it */
    int64_t t1 = t.ts0 + 10000000, t2 = t.ts0 + 20000000;  /* 1 s .. 2 s */
    scen_pool_classify(&t, t1, t2, cls);
    const ScenPoolTag *leak_w = NULL, *mmst_w = NULL;
    for (uint32_t i = 0; i < t.n_tags; i++) {
        if (cls[i].tag == scen_tag("Leak")) leak_w = &cls[i];
        if (cls[i].tag == scen_tag("MmSt")) mmst_w = &cls[i];
    }
    assert_non_null(leak_w);
    assert_non_null(mmst_w);
    uint64_t leaked_in_window = 0;
    for (uint32_t i = 0; i < t.n_records; i++)
        if (t.records[i].tag == scen_tag("Leak") && t.records[i].free_ts == INT64_MAX &&
            t.records[i].alloc_ts >= t1 && t.records[i].alloc_ts <= t2)
            leaked_in_window++;
    assert_int_equal(leaked_in_window, 0);
    assert_true(mmst_w->aifi + mmst_w->aifo + mmst_w->aofi + mmst_w->aofo > 0);
    assert_true(mmst_w->aofo > 0 || mmst_w->aofi > 0 || mmst_w->aifo > 0); /* long-lived MmSt straddle */
    walk_clear(&w);
    char *json = scen_truth_json(&t);
    assert_non_null(strstr(json, "\"leak\": {\"tag\": \"Leak\", \"module\": \"leakydrv.sys\""));
    g_free(json);
    scen_truth_clear(&t);
    g_free(d);
}

static void check_dpc_truth(const ScenTruth *t, const Walk *w)
{
    uint32_t used = 0;
    for (uint32_t i = 0; i < t->n_dpc; i++) {
        const ScenDpcRow *e = &t->dpc[i];
        if (!e->count) continue;
        used++;
        const ScenDpcRow *g = NULL;
        for (uint32_t k = 0; k < w->n_dpc; k++)
            if (w->dpc[k].routine == e->routine && w->dpc[k].opcode == e->opcode) g = &w->dpc[k];
        assert_non_null(g);
        assert_int_equal(g->count, e->count);
        assert_int_equal(g->total_ticks, e->total_ticks);
        assert_int_equal(g->max_ticks, e->max_ticks);
        assert_int_equal(g->max_cpu, e->max_cpu);
        for (int c = 0; c < 8; c++) {
            assert_int_equal(g->cpu_count[c], e->cpu_count[c]);
            assert_int_equal(g->cpu_ticks[c], e->cpu_ticks[c]);
        }
        /* the routine lies in its module */
        const ScenModule *m = NULL;
        for (uint32_t k = 0; k < t->n_modules; k++)
            if (strcmp(t->modules[k].name, e->module) == 0) m = &t->modules[k];
        assert_non_null(m);
        assert_true(e->routine >= m->base && e->routine < m->base + m->size);
        assert_true(e->exclusive_ticks <= e->total_ticks);
    }
    assert_int_equal(used, w->n_dpc);
}

static void test_dpc_storm_truth(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_DPC_STORM);
    ScenTruth t;
    size_t len;
    uint8_t *d = gen(&o, &len, &t);
    assert_true(len < 1024 * 1024);
    Walk w;
    walk(d, len, &t, &w, true);
    check_headers(&t, &w);
    check_dpc_truth(&t, &w);
    const ScenDpcRow *storm = scen_truth_dpc_row(&t, "stormdrv.sys", 0x44);
    assert_non_null(storm);
    assert_int_equal(storm->count, t.storm_count);
    assert_true(t.storm_count >= 100);
    assert_true(t.storm_min_ticks >= 3000 && t.storm_max_ticks <= 30010);  /* 300..3000 us at 10 MHz */
    assert_int_equal(storm->cpu_count[t.storm_cpu], storm->count);
    assert_true(t.nested_isrs > 0);
    assert_true(storm->exclusive_ticks < storm->total_ticks);
    /* every other DPC is short */
    for (uint32_t i = 0; i < t.n_dpc; i++)
        if (strcmp(t.dpc[i].module, "stormdrv.sys") != 0) assert_true(t.dpc[i].max_ticks < 2100);
    walk_clear(&w);
    scen_truth_clear(&t);
    g_free(d);
}

typedef struct {
    const char *name;
    ScenKind kind;
    bool compress, no_proc_index, header_quirk, stack_keys, ext_stacks, wpp, all_headers, pool_system, profile, stale;
    uint8_t ptr;
} Variant;

static void test_variants(void **state)
{
    (void)state;
    static const Variant vs[] = {
        { "compressed", SCEN_POOL_LEAK, .compress = true, .ptr = 8 },
        { "ptr4", SCEN_POOL_LEAK, .ptr = 4 },
        { "win7", SCEN_DPC_STORM, .no_proc_index = true, .header_quirk = true, .ptr = 8, .stale = true },
        { "stack-keys", SCEN_POOL_LEAK, .stack_keys = true, .ext_stacks = true, .ptr = 8 },
        { "stack-keys32", SCEN_POOL_LEAK, .stack_keys = true, .ext_stacks = true, .ptr = 4 },
        { "ext-stacks", SCEN_POOL_LEAK, .ext_stacks = true, .pool_system = true, .ptr = 8 },
        { "everything", SCEN_DPC_STORM, .wpp = true, .all_headers = true, .ext_stacks = true, .profile = true, .ptr = 8 },
        { "everything32", SCEN_POOL_LEAK, .wpp = true, .all_headers = true, .compress = true, .ptr = 4 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(vs); i++) {
        const Variant *v = &vs[i];
        ScenOptions o;
        scen_options_init(&o, v->kind);
        o.seed = 100 + i;
        o.duration_ms = 4000;
        o.ptr_size = v->ptr;
        o.compress = v->compress;
        o.no_proc_index = v->no_proc_index;
        o.header_quirk = v->header_quirk;
        o.stack_keys = v->stack_keys;
        o.ext_stacks = v->ext_stacks;
        o.wpp = v->wpp;
        o.all_headers = v->all_headers;
        o.pool_system_header = v->pool_system;
        o.sampled_profile = v->profile;
        o.stale_fill = v->stale;
        ScenTruth t;
        size_t len;
        uint8_t *d = gen(&o, &len, &t);
        Walk w;
        walk(d, len, &t, &w, true);
        check_headers(&t, &w);
        if (v->kind == SCEN_POOL_LEAK) check_pool_truth(&t, &w, 4);
        else check_dpc_truth(&t, &w);
        if (v->stack_keys) {
            assert_int_equal(w.key_refs, t.stack_key_refs);
            assert_int_equal(w.key_defs, t.stack_key_defs);
            assert_true(t.stack_key_defs > 8);            /* evictions happened */
            assert_int_equal(g_hash_table_size(w.pending_keys), 0);
        }
        if (v->ext_stacks) {
            assert_true(t.ext_stack_events > 0);
            assert_int_equal(w.ext_stack_events, t.ext_stack_events);
        }
        if (v->wpp) assert_true(t.wpp_events >= 64);    /* every option-flag combination */
        if (v->all_headers)
            for (int h = 0; h <= ETL_HDR_MESSAGE; h++) assert_true(t.events_by_header[h] > 0);
        walk_clear(&w);
        scen_truth_clear(&t);
        g_free(d);
    }
}

static void test_circular(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_DPC_STORM);
    o.circular_bytes = 512 * 1024;            /* header + 7 slots of 64 KiB */
    ScenTruth t;
    size_t len;
    uint8_t *d = gen(&o, &len, &t);
    assert_int_equal(len, 512 * 1024);
    assert_true(t.buffers_overwritten > 0);
    /* file order wraps: sequence numbers are not increasing through the slots */
    int64_t s1 = (int64_t)etl_rd64(d + 65536 + 0x18), s2 = (int64_t)etl_rd64(d + 2 * 65536 + 0x18),
            s3 = (int64_t)etl_rd64(d + 3 * 65536 + 0x18);
    assert_false(s1 < s2 && s2 < s3);
    Walk w;
    walk(d, len, &t, &w, true);
    assert_int_equal(w.inversions, 0);
    assert_true(w.dcend_images > 0);          /* the end rundown survives the wrap */
    assert_true(w.events < t.events);
    walk_clear(&w);
    scen_truth_clear(&t);
    g_free(d);
}

static void test_deterministic(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_POOL_LEAK);
    o.duration_ms = 2000;
    o.stack_keys = o.wpp = o.all_headers = o.ext_stacks = true;
    size_t l1, l2, l3;
    uint8_t *a = scen_generate_memory(&o, &l1, NULL, NULL);
    uint8_t *b = scen_generate_memory(&o, &l2, NULL, NULL);
    o.seed = 2;
    uint8_t *c = scen_generate_memory(&o, &l3, NULL, NULL);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    assert_true(l1 != l3 || memcmp(a, c, l1) != 0);
    g_free(a);
    g_free(b);
    g_free(c);
}

static void test_large(void **state)
{
    (void)state;
    ScenOptions o;
    scen_options_init(&o, SCEN_LARGE);
    o.target_bytes = 4 * 1024 * 1024;
    ScenTruth t;
    size_t len;
    uint8_t *d = gen(&o, &len, &t);
    assert_true(len >= 4 * 1024 * 1024 && len < 5 * 1024 * 1024);
    Walk w;
    walk(d, len, &t, &w, true);
    check_headers(&t, &w);
    assert_true(t.events_by_kind[ETL_K_SAMPLED_PROFILE] > 0 && t.events_by_kind[ETL_K_POOL] > 0 &&
                t.events_by_kind[ETL_K_DPC] > 0 && t.events_by_kind[ETL_K_CSWITCH] > 0);
    walk_clear(&w);
    scen_truth_clear(&t);
    g_free(d);
}

/* The .etl files in traces/ must be exactly what the generator makes (see traces/README.md). */
static void test_committed_traces(void **state)
{
    (void)state;
    static const struct { const char *file; ScenKind kind; } traces[] = {
        { "pool-leak.etl", SCEN_POOL_LEAK },
        { "dpc-storm.etl", SCEN_DPC_STORM },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(traces); i++) {
        char *path = g_build_filename(tu_source_root(), "traces", traces[i].file, NULL);
        size_t flen = 0, glen = 0;
        uint8_t *f = tu_read_file(path, &flen);
        if (!f) fprintf(stderr, "missing %s: regenerate it as traces/README.md says\n", path);
        assert_non_null(f);
        ScenOptions o;
        scen_options_init(&o, traces[i].kind);
        ScenTruth t;
        uint8_t *g = scen_generate_memory(&o, &glen, &t, NULL);
        assert_non_null(g);
        /* the numbers traces/README.md quotes */
        if (traces[i].kind == SCEN_POOL_LEAK) {
            assert_int_equal(t.events, 8172);
            assert_int_equal(t.leak_count, 53);
            assert_int_equal(t.leak_bytes, 30224);
            assert_int_equal(t.leak2_count, 33);
            assert_int_equal(t.leak2_bytes, 1848);
        } else {
            assert_int_equal(t.events, 11223);
            assert_int_equal(t.storm_count, 289);
            assert_int_equal(t.storm_max_ticks, 29979);
            assert_int_equal(t.nested_isrs, 75);
        }
        scen_truth_clear(&t);
        if (flen != glen || memcmp(f, g, flen) != 0)
            fprintf(stderr, "%s differs from the generator's output: regenerate it (traces/README.md)\n", path);
        assert_int_equal(flen, glen);
        assert_memory_equal(f, g, flen);
        g_free(f);
        g_free(g);
        g_free(path);
    }
}

static void test_payload_builders(void **state)
{
    (void)state;
    uint8_t b[SCEN_PAYLOAD_MAX];
    assert_int_equal(scen_pool(b, 8, 512, scen_tag("Leak"), 0x100, 0xffffc38a12000010ull, false, 0), 24);
    assert_int_equal(etl_rd32(b + 4), 0x6b61654c);
    assert_int_equal(scen_pool(b, 4, 33, 1, 2, 3, true, 7), 20);
    assert_int_equal(etl_rd32(b + 16), 7);
    assert_int_equal(scen_dpc(b, 4, 1, 2), 12);
    assert_int_equal(scen_isr(b, 8, 1, 2, 1, 0x91, true, 3), 24);
    assert_int_equal(b[17], 0x91);
    assert_int_equal(scen_isr(b, 4, 1, 2, 1, 0x91, false, 3), 16);
    assert_int_equal(scen_sampled_profile(b, 8, 1, 2, 1, 0), 16);
    ScenThread th = { .pid = 4, .tid = 8 };
    assert_int_equal(scen_thread(b, 8, 2, &th), 68);
    assert_int_equal(scen_thread(b, 4, 3, &th), 44);
    ScenProcess p = { .pid = 4, .image_name = "System", .sid = SCEN_SID_LOCAL_SYSTEM };
    /* v4: 36 fixed + TOKEN_USER 16 + SID 12 + "System\0" + 3 empty WStrings */
    assert_int_equal(scen_process(b, sizeof b, 8, 4, &p), 36 + 16 + 12 + 7 + 6);
    assert_int_equal(b[36 + 16], 1);
    assert_int_equal(etl_rd32(b + 36 + 16 + 8), 18);
    p.sid = SCEN_SID_USER;
    assert_int_equal(scen_process(b, sizeof b, 4, 3, &p), 24 + 8 + 28 + 7 + 2);
    p.sid = SCEN_SID_NONE;
    assert_int_equal(scen_process(b, sizeof b, 8, 3, &p), 32 + 4 + 7 + 2);
    ScenImage im = { .base = 0x1000, .size = 0x2000, .file_name = "a.sys" };
    assert_int_equal(scen_image(b, sizeof b, 8, 3, &im), 56 + 12);
    assert_int_equal(scen_image(b, sizeof b, 4, 2, &im), 44 + 12);
    uint64_t fr[3] = { 1, 2, 3 };
    assert_int_equal(scen_stack(b, sizeof b, 8, 5, 4, 8, fr, 3), 40);
    assert_int_equal(scen_stack_key_ref(b, 4, 5, 4, 8, 9), 20);
    assert_int_equal(scen_stack_key_def(b, sizeof b, 8, 9, fr, 3), 32);
    assert_int_equal(scen_sysconfig_cpu(b, sizeof b, 8, 3000, 4, 16384, "PC", "WG"), 828);
    EtlGuid g = { 1, 2, 3, { 4, 5, 6, 7, 8, 9, 10, 11 } };
    assert_int_equal(scen_dbgid_rsds(b, sizeof b, 8, 0x1000, 0, &g, 2, "x.pdb"), 32 + 6);
    assert_int_equal(etl_rd32(b + 28), 2);
    assert_int_equal(scen_image_id(b, sizeof b, 4, 1, 2, 0, 3, "x.sys"), 16 + 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_builders),
        cmocka_unit_test(test_pool_leak_truth),
        cmocka_unit_test(test_dpc_storm_truth),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_circular),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_committed_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
