/* pool.c — allocation intervals from pool events, classified against a window.
 * Semantics: docs/analyses-pool.md (from ANALYSES.md §2). */
#include "pool.h"

#include <string.h>

#define PROTECTED_BIT 0x80000000u
#define SERIES_MAX_SAMPLES 20000u

/* An outstanding allocation. */
typedef struct {
    uint64_t entry;
    uint64_t size;
    int64_t  alloc_ts;
    uint32_t sess;          /* session key: SessionId + 1 for session pool, 0 otherwise */
    uint32_t tag, type;
    uint32_t pid, tid;
    const ModelProcess *proc;
    ModelStackRef ref;
    uint32_t series_idx;    /* + 1; 0 = not in the series */
    uint8_t  attr;
    bool     session, used;
} Rec;

typedef struct {           /* finest aggregate key */
    uint8_t  cls;
    bool     paged, session;
    uint32_t tag;
    ModelStackId stack;     /* raw (may hold a pending stack key) until finish */
    const ModelProcess *process;
    uint32_t pid;
} CellKey;

typedef struct {
    CellKey  k;
    uint64_t count, bytes;
    int64_t  example_ts;    /* an allocation time, for resolving frames */
} Cell;

typedef struct {
    uint32_t tag;
    bool     paged;
    uint64_t cur;
    GArray  *values;        /* uint64_t per sample */
    uint64_t peak;
} Series;

struct Pool {
    Model      *m;
    PoolOptions o;
    int64_t     ts0;
    /* outstanding: open addressing, linear probing, backward-shift deletion */
    uint32_t   *slots;      /* rec index + 1, 0 = empty */
    uint32_t    cap;        /* power of two */
    uint32_t    live;
    GArray     *recs;       /* Rec */
    GArray     *free_recs;  /* uint32_t */
    /* aggregates */
    GHashTable *cells;      /* CellKey* -> Cell* (key inside the value) */
    GArray     *final;      /* PoolCell, after finish */
    GHashTable *modules;    /* interned module names */
    GHashTable *owner_cache;/* canonical stack id -> interned module */
    /* series */
    GHashTable *series_idx; /* (tag, paged) -> index + 1 */
    GPtrArray  *series;     /* Series* */
    GArray     *times;      /* int64_t */
    int64_t     next_sample;
    int64_t     last_ts;    /* of the last pool event */
    bool        series_full;
    PoolSeries *series_out;
    PoolHealth  h;
    bool        finished;
};

/* ------------------------------------------------------------------------------------------
 * Small things
 * ------------------------------------------------------------------------------------------ */
const char *pool_class_name(PoolClass c)
{
    static const char *const n[] = { "AIFI", "AIFO", "AOFI", "AOFO" };
    return (unsigned)c < G_N_ELEMENTS(n) ? n[c] : "?";
}

bool pool_class_parse(const char *s, PoolClass *out)
{
    for (int c = 0; c < POOL_CLASS_COUNT_; c++)
        if (!g_ascii_strcasecmp(s, pool_class_name(c))) {
            *out = c;
            return true;
        }
    return false;
}

PoolClass pool_classify(int64_t alloc_ts, int64_t free_ts, int64_t from, int64_t to, bool *included)
{
    /* alloc_ts INT64_MIN: allocated before the trace; free_ts INT64_MAX: never freed in it */
    *included = alloc_ts <= to && free_ts >= from;
    bool ai = alloc_ts != INT64_MIN && alloc_ts >= from;
    bool fi = free_ts != INT64_MAX && free_ts <= to;
    return ai ? (fi ? POOL_AIFI : POOL_AIFO) : (fi ? POOL_AOFI : POOL_AOFO);
}

void pool_tag_format(uint32_t tag, GString *out)
{
    uint8_t c[4];
    int n = 4;
    for (int i = 0; i < 4; i++) c[i] = (uint8_t)(tag >> (8 * i));
    while (n > 0 && (c[n - 1] == ' ' || c[n - 1] == 0)) n--;
    for (int i = 0; i < n; i++) {
        if (c[i] >= 0x20 && c[i] < 0x7f && c[i] != '\\') g_string_append_c(out, (char)c[i]);
        else g_string_append_printf(out, "\\x%02X", c[i]);
    }
}

static bool glob_match(const char *p, const char *s)
{
    /* iterative '*' / '?' matching, case-insensitive as pool tags are in practice */
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*p == '?' || (*p && g_ascii_tolower(*p) == g_ascii_tolower(*s))) {
            p++;
            s++;
        } else if (*p == '*') {
            star = p++;
            ss = s;
        } else if (star) {
            p = star + 1;
            s = ++ss;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return !*p;
}

bool pool_tag_match(const char *pattern, uint32_t tag)
{
    GString *s = g_string_new(NULL);
    pool_tag_format(tag, s);
    /* "Irp" names the tag "Irp " (trailing blanks are trimmed on both sides) */
    gchar *pat = g_strdup(pattern);
    g_strchomp(pat);
    bool ok = glob_match(pat, s->str);
    g_free(pat);
    g_string_free(s, TRUE);
    return ok;
}

/* ------------------------------------------------------------------------------------------
 * Outstanding map
 * ------------------------------------------------------------------------------------------ */
static inline uint32_t key_hash(uint64_t entry, uint32_t sess)
{
    uint64_t v = (entry >> 4) ^ ((uint64_t)sess * UINT64_C(0x9e3779b97f4a7c15));
    v ^= v >> 33;
    v *= UINT64_C(0xff51afd7ed558ccd);
    v ^= v >> 33;
    return (uint32_t)v;
}

static Rec *rec_at(const Pool *p, uint32_t i) { return &g_array_index(p->recs, Rec, i); }

static void map_grow(Pool *p)
{
    uint32_t old_cap = p->cap, *old = p->slots;
    p->cap = old_cap ? old_cap * 2 : 1024;
    p->slots = g_new0(uint32_t, p->cap);
    for (uint32_t i = 0; i < old_cap; i++) {
        if (!old[i]) continue;
        const Rec *r = rec_at(p, old[i] - 1);
        uint32_t j = key_hash(r->entry, r->sess) & (p->cap - 1);
        while (p->slots[j]) j = (j + 1) & (p->cap - 1);
        p->slots[j] = old[i];
    }
    g_free(old);
}

/* Slot index of the key, or of the empty slot where it would go. */
static uint32_t map_find(const Pool *p, uint64_t entry, uint32_t sess)
{
    uint32_t j = key_hash(entry, sess) & (p->cap - 1);
    while (p->slots[j]) {
        const Rec *r = rec_at(p, p->slots[j] - 1);
        if (r->entry == entry && r->sess == sess) return j;
        j = (j + 1) & (p->cap - 1);
    }
    return j;
}

static void map_delete(Pool *p, uint32_t j)
{
    p->slots[j] = 0;
    p->live--;
    uint32_t mask = p->cap - 1;
    for (uint32_t k = (j + 1) & mask; p->slots[k]; k = (k + 1) & mask) {
        const Rec *r = rec_at(p, p->slots[k] - 1);
        uint32_t home = key_hash(r->entry, r->sess) & mask;
        /* move k back to j when its home is not in (j, k] (cyclically) */
        bool between = j <= k ? (home > j && home <= k) : (home > j || home <= k);
        if (!between) {
            p->slots[j] = p->slots[k];
            p->slots[k] = 0;
            j = k;
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Aggregation
 * ------------------------------------------------------------------------------------------ */
static guint cell_hash(gconstpointer a)
{
    const CellKey *k = a;
    uint64_t v = (uint64_t)k->tag * 31 + k->stack;
    v = v * 131 + k->cls * 7 + k->paged * 3 + k->session;
    v = v * 1000003u + (uintptr_t)k->process + k->pid;
    v ^= v >> 29;
    return (guint)(v * UINT64_C(0xbf58476d1ce4e5b9) >> 32);
}

static gboolean cell_equal(gconstpointer a, gconstpointer b)
{
    const CellKey *x = a, *y = b;
    return x->cls == y->cls && x->paged == y->paged && x->session == y->session && x->tag == y->tag &&
           x->stack == y->stack && x->process == y->process && x->pid == y->pid;
}

static void cell_add(Pool *p, const CellKey *k, uint64_t count, uint64_t bytes, int64_t ts)
{
    Cell *c = g_hash_table_lookup(p->cells, k);
    if (!c) {
        c = g_new0(Cell, 1);
        c->k = *k;
        c->example_ts = ts;
        g_hash_table_insert(p->cells, &c->k, c);
    }
    c->count += count;
    c->bytes += bytes;
}

static bool type_paged(uint32_t type) { return (type & 1) != 0; }

/* An interval is complete: classify it and count it. */
static void close_interval(Pool *p, const Rec *r, int64_t free_ts)
{
    bool included;
    PoolClass cls = pool_classify(r->alloc_ts, free_ts, p->o.from, p->o.to, &included);
    ModelStackId sid = r->ref ? model_stack_get(p->m, r->ref) : 0;
    uint32_t pid = r->pid;
    const ModelProcess *proc = r->proc;
    if (r->ref && (r->attr == MODEL_ATTR_NONE || r->attr == MODEL_ATTR_CPU)) {
        /* the stack's own thread beats the CPU's running thread (docs/system-model.md) */
        uint32_t spid, stid;
        model_stack_ref_thread(p->m, r->ref, &spid, &stid);
        if (spid != ETL_NO_ID && spid != pid) {
            pid = spid;
            proc = model_process_at(p->m, spid, r->alloc_ts);
            p->h.owner_from_stack++;
        }
    }
    if (sid && r->alloc_ts != INT64_MIN) p->h.allocs_with_stack++;
    if (included) {
        CellKey k = { .cls = (uint8_t)cls, .paged = type_paged(r->type), .session = r->session, .tag = r->tag,
                      .stack = sid, .process = proc, .pid = pid };
        cell_add(p, &k, 1, r->size, r->alloc_ts);
    }
    if (r->ref) model_stack_unref(p->m, r->ref);
}

/* ------------------------------------------------------------------------------------------
 * Series: outstanding bytes per (tag, paged), sampled every series_interval
 * ------------------------------------------------------------------------------------------ */
static uint32_t series_for(Pool *p, uint32_t tag, bool paged)
{
    gpointer key = GSIZE_TO_POINTER((gsize)((uint64_t)tag << 1 | paged));
    guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(p->series_idx, key));
    if (idx) return idx;
    Series *s = g_new0(Series, 1);
    s->tag = tag;
    s->paged = paged;
    s->values = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    g_array_set_size(s->values, p->times->len); /* zero before it appeared */
    g_ptr_array_add(p->series, s);
    idx = p->series->len;
    g_hash_table_insert(p->series_idx, key, GUINT_TO_POINTER(idx));
    return idx;
}

static void series_sample(Pool *p, int64_t t)
{
    if (p->times->len >= SERIES_MAX_SAMPLES) {
        p->series_full = true;
        return;
    }
    g_array_append_val(p->times, t);
    for (guint i = 0; i < p->series->len; i++) {
        Series *s = g_ptr_array_index(p->series, i);
        g_array_append_val(s->values, s->cur);
        if (s->cur > s->peak) s->peak = s->cur;
    }
}

static void series_advance(Pool *p, int64_t ts)
{
    if (!p->o.series_interval) return;
    /* a sample at t shows the state after every event at t */
    while (ts > p->next_sample && !p->series_full) {
        series_sample(p, p->next_sample);
        if (__builtin_add_overflow(p->next_sample, p->o.series_interval, &p->next_sample)) p->series_full = true;
    }
}

/* ------------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------------ */
Pool *pool_new(Model *m, const EtlTrace *t, const PoolOptions *o)
{
    Pool *p = g_new0(Pool, 1);
    p->m = m;
    p->o = *o;
    p->ts0 = etl_trace_header(t)->ts0;
    p->recs = g_array_new(FALSE, TRUE, sizeof(Rec));
    p->free_recs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    map_grow(p);
    p->cells = g_hash_table_new_full(cell_hash, cell_equal, NULL, g_free);
    p->modules = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->owner_cache = g_hash_table_new(g_direct_hash, g_direct_equal);
    p->series_idx = g_hash_table_new(g_direct_hash, g_direct_equal);
    p->series = g_ptr_array_new();
    p->times = g_array_new(FALSE, FALSE, sizeof(int64_t));
    p->next_sample = p->ts0;
    p->last_ts = INT64_MIN;
    return p;
}

void pool_free(Pool *p)
{
    if (!p) return;
    for (guint i = 0; i < p->series->len; i++) {
        Series *s = g_ptr_array_index(p->series, i);
        g_array_free(s->values, TRUE);
        g_free(s);
    }
    g_ptr_array_free(p->series, TRUE);
    g_free(p->series_out);
    g_array_free(p->times, TRUE);
    g_hash_table_destroy(p->series_idx);
    g_hash_table_destroy(p->owner_cache);
    g_hash_table_destroy(p->modules);
    g_hash_table_destroy(p->cells);
    if (p->final) g_array_free(p->final, TRUE);
    g_array_free(p->free_recs, TRUE);
    g_array_free(p->recs, TRUE);
    g_free(p->slots);
    g_free(p);
}

const PoolHealth *pool_health(const Pool *p) { return &p->h; }

void pool_options_init(PoolOptions *o)
{
    memset(o, 0, sizeof *o);
    o->from = INT64_MIN;
    o->to = INT64_MAX;
}

static void series_change(Pool *p, Rec *r, bool add)
{
    if (!p->o.series_interval || !r->series_idx) return;
    Series *s = g_ptr_array_index(p->series, r->series_idx - 1);
    if (add) s->cur += r->size;
    else s->cur -= MIN(s->cur, r->size);
}

void pool_add(Pool *p, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx)
{
    if (ev->group != ETL_GROUP_POOL || !etl_header_kind_is_kernel(ev->kind)) return;
    if (!k || (k->kind != ETL_K_POOL && k->kind != ETL_K_POOL_OTHER)) {
        if (ev->opcode >= 0x20 && ev->opcode <= 0x23) p->h.malformed++;
        else p->h.other_events++;
        return;
    }
    if (k->kind == ETL_K_POOL_OTHER) {
        p->h.other_events++;
        return;
    }
    const EtlPool *e = &k->u.pool;
    int64_t ts = ev->timestamp;
    series_advance(p, ts);
    if (ts > p->last_ts) p->last_ts = ts;
    uint32_t tag = e->tag;
    if (tag & PROTECTED_BIT) {
        p->h.protected_tags++;
        tag &= ~PROTECTED_BIT;
    }
    bool session = e->has_session || (e->type & 0x20);
    uint32_t sess = session ? (e->has_session ? e->session_id + 1 : 1) : 0;
    uint32_t j = map_find(p, e->entry, sess);
    if (!e->is_free) {
        p->h.allocs++;
        if (p->slots[j]) { /* the old block's free was not seen */
            p->h.implicit_frees++;
            uint32_t old = p->slots[j] - 1;
            Rec *r = rec_at(p, old);
            if (!p->o.no_implicit_free) {
                series_change(p, r, false);
                close_interval(p, r, ts);
                r->used = false;
                g_array_append_val(p->free_recs, old);
                map_delete(p, j);
                j = map_find(p, e->entry, sess);
            } else {
                /* keep the old one outstanding (in the series too); the new one replaces it in the map only */
                p->h.outstanding_end++;
                close_interval(p, r, INT64_MAX);
                r->used = false;
                g_array_append_val(p->free_recs, old);
                map_delete(p, j);
                j = map_find(p, e->entry, sess);
            }
        }
        uint32_t idx;
        if (p->free_recs->len) {
            idx = g_array_index(p->free_recs, uint32_t, p->free_recs->len - 1);
            g_array_set_size(p->free_recs, p->free_recs->len - 1);
        } else {
            Rec z = { 0 };
            g_array_append_val(p->recs, z);
            idx = p->recs->len - 1;
        }
        Rec *r = rec_at(p, idx);
        *r = (Rec){ .entry = e->entry, .size = e->size, .alloc_ts = ts, .sess = sess, .tag = tag, .type = e->type,
                    .pid = ctx->pid, .tid = ctx->tid, .proc = ctx->process, .ref = model_stack_ref(p->m),
                    .attr = (uint8_t)ctx->attr, .session = session, .used = true };
        if (p->o.series_interval) {
            r->series_idx = series_for(p, tag, type_paged(e->type));
            series_change(p, r, true);
        }
        p->slots[j] = idx + 1;
        p->live++;
        if (p->live > p->h.peak_outstanding) p->h.peak_outstanding = p->live;
        if (p->live * 2 > p->cap) map_grow(p);
        return;
    }
    p->h.frees++;
    if (p->slots[j]) {
        uint32_t idx = p->slots[j] - 1;
        Rec *r = rec_at(p, idx);
        p->h.matched++;
        if (r->tag != tag) p->h.tag_mismatch++;
        if (r->type != e->type) p->h.type_mismatch++;
        series_change(p, r, false);
        close_interval(p, r, ts);
        r->used = false;
        g_array_append_val(p->free_recs, idx);
        map_delete(p, j);
        return;
    }
    /* Allocated before the trace: an AO record of one allocation sized by the free event. */
    p->h.frees_unmatched++;
    Rec r = { .entry = e->entry, .size = e->size, .alloc_ts = INT64_MIN, .sess = sess, .tag = tag, .type = e->type,
              .pid = ctx->pid, .tid = ctx->tid, .proc = ctx->process, .attr = (uint8_t)ctx->attr,
              .session = session };
    close_interval(p, &r, ts);
}

/* ------------------------------------------------------------------------------------------
 * Finish
 * ------------------------------------------------------------------------------------------ */
static const char *intern(Pool *p, const char *s)
{
    char *v = g_hash_table_lookup(p->modules, s);
    if (!v) {
        v = g_strdup(s);
        g_hash_table_add(p->modules, v);
    }
    return v;
}

static bool is_nt_or_hal(const char *name)
{
    static const char *const core[] = { "ntoskrnl.exe", "ntkrnlmp.exe", "ntkrnlpa.exe", "ntkrpamp.exe",
                                        "ntkrla57.exe", "hal.dll" };
    for (size_t i = 0; i < G_N_ELEMENTS(core); i++)
        if (!g_ascii_strcasecmp(name, core[i])) return true;
    return false;
}

/* The owner module of an allocation stack: the first frame, from the innermost, whose module
 * is not the kernel or the HAL (the pool allocator and its wrappers live there). */
static const char *owner_module(Pool *p, ModelStackId sid, const ModelProcess *proc, int64_t ts)
{
    if (!sid) return intern(p, "Unknown");
    gpointer cached = g_hash_table_lookup(p->owner_cache, GUINT_TO_POINTER(sid));
    if (cached) return cached;
    uint32_t n = 0;
    const uint64_t *f = model_stack_frames(p->m, sid, &n, NULL);
    const char *owner = n ? "(kernel-internal)" : "Unknown";
    for (uint32_t i = 0; i < n; i++) {
        const ModelImage *im = model_image_at(p->m, proc, f[i], ts);
        if (!im) {
            owner = "Unknown";
            break;
        }
        if (!is_nt_or_hal(im->name)) {
            owner = im->name;
            break;
        }
    }
    const char *v = intern(p, owner);
    g_hash_table_insert(p->owner_cache, GUINT_TO_POINTER(sid), (gpointer)v);
    return v;
}

void pool_finish(Pool *p)
{
    if (p->finished) return;
    p->finished = true;
    /* still outstanding at the end of the trace */
    for (uint32_t j = 0; j < p->cap; j++) {
        if (!p->slots[j]) continue;
        Rec *r = rec_at(p, p->slots[j] - 1);
        p->h.outstanding_end++;
        close_interval(p, r, INT64_MAX);
        r->used = false;
    }
    memset(p->slots, 0, (size_t)p->cap * sizeof *p->slots);
    p->live = 0;
    int64_t last_sample;
    if (__builtin_sub_overflow(p->next_sample, p->o.series_interval, &last_sample)) last_sample = INT64_MIN;
    if (p->o.series_interval && !p->series_full && p->last_ts != INT64_MIN && p->last_ts > last_sample)
        series_sample(p, p->last_ts); /* the state at the last pool event */
    /* canonical stacks: references resolved since they were counted merge here */
    GHashTable *merged = g_hash_table_new_full(cell_hash, cell_equal, NULL, g_free);
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, p->cells);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        Cell *c = val;
        CellKey k = c->k;
        k.stack = model_stack_canonical(p->m, k.stack);
        Cell *d = g_hash_table_lookup(merged, &k);
        if (!d) {
            d = g_new0(Cell, 1);
            d->k = k;
            d->example_ts = c->example_ts;
            g_hash_table_insert(merged, &d->k, d);
        }
        d->count += c->count;
        d->bytes += c->bytes;
        if (c->example_ts != INT64_MIN && (d->example_ts == INT64_MIN || c->example_ts < d->example_ts))
            d->example_ts = c->example_ts;
    }
    p->final = g_array_new(FALSE, TRUE, sizeof(PoolCell));
    g_hash_table_iter_init(&it, merged);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        const Cell *c = val;
        PoolCell pc = { .cls = c->k.cls, .paged = c->k.paged, .session = c->k.session, .tag = c->k.tag,
                        .stack = c->k.stack, .process = c->k.process, .pid = c->k.pid,
                        .count = c->count, .bytes = c->bytes, .example_ts = c->example_ts };
        pc.module = owner_module(p, pc.stack, pc.process, c->example_ts);
        g_array_append_val(p->final, pc);
    }
    g_hash_table_destroy(merged);
    g_hash_table_remove_all(p->cells);
}

const PoolCell *pool_cells(const Pool *p, guint *n)
{
    *n = p->final ? p->final->len : 0;
    return p->final ? (const PoolCell *)p->final->data : NULL;
}

const char *pool_key_name(PoolKey k)
{
    static const char *const n[] = { "type", "paged", "tag", "stack", "module", "process" };
    return (unsigned)k < G_N_ELEMENTS(n) ? n[k] : "?";
}

bool pool_key_parse(const char *s, PoolKey *out)
{
    for (int k = 0; k < POOL_BY_COUNT_; k++)
        if (!g_ascii_strcasecmp(s, pool_key_name(k))) {
            *out = k;
            return true;
        }
    return false;
}

static bool spec_has(const PoolViewSpec *v, PoolKey k)
{
    for (guint i = 0; i < v->n_keys; i++)
        if (v->keys[i] == k) return true;
    return false;
}

/* Row identity: the cell with its non-key fields cleared. */
static PoolCell row_of(const PoolCell *c, const PoolViewSpec *v)
{
    PoolCell r = { .module = "", .pid = ETL_NO_ID, .example_ts = c->example_ts };
    if (spec_has(v, POOL_BY_CLASS)) r.cls = c->cls;
    if (spec_has(v, POOL_BY_PAGED)) {
        r.paged = c->paged;
        r.session = c->session;
    }
    if (spec_has(v, POOL_BY_TAG)) r.tag = c->tag;
    if (spec_has(v, POOL_BY_STACK)) r.stack = c->stack;
    if (spec_has(v, POOL_BY_MODULE)) r.module = c->module;
    if (spec_has(v, POOL_BY_PROCESS)) {
        r.process = c->process;
        r.pid = c->pid;
    }
    return r;
}

static guint row_hash(gconstpointer a)
{
    const PoolCell *r = a;
    uint64_t v = (uint64_t)r->tag * 31 + r->stack;
    v = v * 131 + r->cls * 7 + r->paged * 3 + r->session;
    v = v * 1000003u + (uintptr_t)r->process + r->pid + (uintptr_t)r->module;
    v ^= v >> 29;
    return (guint)(v * UINT64_C(0xbf58476d1ce4e5b9) >> 32);
}

static gboolean row_equal(gconstpointer a, gconstpointer b)
{
    const PoolCell *x = a, *y = b;
    return x->cls == y->cls && x->paged == y->paged && x->session == y->session && x->tag == y->tag &&
           x->stack == y->stack && x->process == y->process && x->pid == y->pid && x->module == y->module;
}

static gint row_cmp(gconstpointer a, gconstpointer b)
{
    const PoolCell *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->cls != y->cls) return (int)x->cls - (int)y->cls;
    if (x->paged != y->paged) return x->paged ? 1 : -1;
    if (x->session != y->session) return x->session ? 1 : -1;
    if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
    int c = strcmp(x->module, y->module);
    if (c) return c;
    if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
    if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
    return 0;
}

GArray *pool_view(const Pool *p, const PoolViewSpec *v)
{
    GHashTable *h = g_hash_table_new_full(row_hash, row_equal, g_free, NULL); /* row key copy -> index + 1 */
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(PoolCell));
    guint n;
    const PoolCell *cells = pool_cells(p, &n);
    for (guint i = 0; i < n; i++) {
        const PoolCell *c = &cells[i];
        if (v->class_mask && !(v->class_mask & (1u << c->cls))) continue;
        if (v->tag_pattern && !pool_tag_match(v->tag_pattern, c->tag)) continue;
        PoolCell r = row_of(c, v);
        gpointer idx = g_hash_table_lookup(h, &r);
        PoolCell *dst;
        if (idx) {
            dst = &g_array_index(rows, PoolCell, GPOINTER_TO_UINT(idx) - 1);
        } else {
            g_array_append_val(rows, r);
            dst = &g_array_index(rows, PoolCell, rows->len - 1);
            g_hash_table_insert(h, g_memdup2(&r, sizeof r), GUINT_TO_POINTER(rows->len));
        }
        dst->count += c->count;
        dst->bytes += c->bytes;
        if (c->example_ts < dst->example_ts) dst->example_ts = c->example_ts;
        /* a stack's user frames resolve in a process: keep one of the group's */
        if (!dst->process && c->process && spec_has(v, POOL_BY_STACK)) dst->process = c->process;
    }
    g_hash_table_destroy(h);
    g_array_sort(rows, row_cmp);
    return rows;
}

static gint series_cmp(gconstpointer a, gconstpointer b)
{
    const PoolSeries *x = a, *y = b;
    if (x->peak != y->peak) return x->peak > y->peak ? -1 : 1;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

const PoolSeries *pool_series(const Pool *p, guint *n_tags, const int64_t **times, guint *n_samples)
{
    Pool *q = (Pool *)p;
    if (!q->series_out && q->series->len) {
        q->series_out = g_new0(PoolSeries, q->series->len);
        for (guint i = 0; i < q->series->len; i++) {
            Series *s = g_ptr_array_index(q->series, i);
            q->series_out[i] = (PoolSeries){ s->tag, s->paged, (uint64_t *)s->values->data, s->peak };
        }
        qsort(q->series_out, q->series->len, sizeof(PoolSeries), series_cmp);
    }
    *n_tags = q->series->len;
    *times = (const int64_t *)q->times->data;
    *n_samples = q->times->len;
    return q->series_out;
}

/* ------------------------------------------------------------------------------------------
 * pooltag.txt
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    char *pattern;   /* tag text, may hold wildcards */
    char *what;      /* "binary - description" */
} TagLine;

struct PoolTagDb {
    GHashTable *exact;   /* formatted tag -> what (borrowed from lines) */
    GArray     *wild;    /* TagLine with wildcards, in file order */
    GPtrArray  *owned;
};

PoolTagDb *pool_tagdb_load(const char *path, GError **error)
{
    gchar *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, error)) return NULL;
    PoolTagDb *db = g_new0(PoolTagDb, 1);
    db->exact = g_hash_table_new(g_str_hash, g_str_equal);
    db->wild = g_array_new(FALSE, FALSE, sizeof(TagLine));
    db->owned = g_ptr_array_new_with_free_func(g_free);
    gchar **lines = g_strsplit(text, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        char *s = g_strstrip(*l);
        bool rem = !g_ascii_strncasecmp(s, "rem", 3) && (!s[3] || g_ascii_isspace(s[3]));
        if (!*s || rem || s[0] == ';' || s[0] == '/') continue;
        /* "TAG - binary - description": the tag is everything before the first " - " */
        char *sep = strstr(s, " - ");
        if (!sep) continue;
        *sep = 0;
        char *tag = g_strdup(g_strstrip(s));
        char *what = g_strdup(g_strstrip(sep + 3));
        if (!*tag || strlen(tag) > 8) {
            g_free(tag);
            g_free(what);
            continue;
        }
        g_ptr_array_add(db->owned, tag);
        g_ptr_array_add(db->owned, what);
        if (strpbrk(tag, "*?")) {
            TagLine tl = { tag, what };
            g_array_append_val(db->wild, tl);
        } else if (!g_hash_table_contains(db->exact, tag)) {
            g_hash_table_insert(db->exact, tag, what);
        }
    }
    g_strfreev(lines);
    g_free(text);
    return db;
}

void pool_tagdb_free(PoolTagDb *db)
{
    if (!db) return;
    g_hash_table_destroy(db->exact);
    g_array_free(db->wild, TRUE);
    g_ptr_array_free(db->owned, TRUE);
    g_free(db);
}

const char *pool_tagdb_lookup(const PoolTagDb *db, uint32_t tag)
{
    if (!db) return NULL;
    GString *s = g_string_new(NULL);
    pool_tag_format(tag, s);
    const char *what = g_hash_table_lookup(db->exact, s->str);
    for (guint i = 0; !what && i < db->wild->len; i++) {
        const TagLine *tl = &g_array_index(db->wild, TagLine, i);
        if (glob_match(tl->pattern, s->str)) what = tl->what;
    }
    g_string_free(s, TRUE);
    return what;
}
