/* stacks.c — call stacks: matching StackWalk events to the event they describe, joining kernel
 * and user halves, Win8+ stack keys, interning.
 *
 * Vocabulary.  A *frame list* is an interned array of addresses (id 1..).  A *part* is a frame
 * list id, or a *placeholder* (PH_BIT | index + 1) for a stack key whose definition has not
 * been applied.  A stack (ModelStackId) is an interned pair of parts: the first part (the
 * kernel fragment, a kernel key, or a whole stack logged in one piece) and the second (the
 * user fragment or user key that arrives later).  A *slot* is what a ModelStackRef names: the
 * parts of one event as they arrive, plus the thread the stack events named. */
#include "model-private.h"

#include <string.h>

#define PH_BIT 0x80000000u
#define WAIT_CAP 8192u /* kernel parts waiting for their user half (FIFO) */
#define WSLOTS (WAIT_CAP * 2u) /* their index: load factor at most 1/2 */

typedef struct {
    uint32_t n;
    guint    hash;
    uint64_t *f;
} FrameList;

typedef struct {
    uint64_t key;
    uint32_t resolved;  /* frame list id once defined */
    uint32_t n_refs;    /* references to it so far */
    bool     user;
} Placeholder;

typedef struct {
    uint32_t first, second;
    FrameList *joined;  /* cache once fully resolved */
    bool     joined_owned;
} Pair;

typedef struct {
    uint32_t first, second;
    uint32_t spid, stid;
    uint32_t refs;
    bool     in_ring, in_wait;
    uint32_t next_free;
} Slot;

typedef struct {
    uint32_t tid;
    int64_t  ts;
    uint32_t serial;    /* of the ring entry; 0 = empty */
    uint32_t slot;      /* + 1 */
} Wait;

typedef struct {
    GArray  *defs;      /* KeyDef, in trace order */
    guint    cursor;
} KeyDefs;

typedef struct {
    uint64_t ordinal;
    uint32_t fl;
    bool     used;       /* a reference took it */
} KeyDef;

struct StackState {
    GPtrArray  *fls;        /* FrameList*, id - 1 */
    GHashTable *fl_index;   /* FrameList* -> id */
    GArray     *phs;        /* Placeholder */
    GHashTable *open_keys[2]; /* key (uint64_t*) -> placeholder index + 1, kernel / user */
    GArray     *pairs;      /* Pair, id - 1 */
    GHashTable *pair_index; /* (first<<32|second) boxed -> id */
    GArray     *slots;      /* Slot */
    uint32_t    free_slot;  /* + 1 */
    Ring      **rings;
    uint32_t    serial;
    Wait       *waits;      /* WAIT_CAP ring, FIFO */
    uint32_t    wait_head;
    uint32_t   *wslots;     /* open addressing on (tid, ts): index into waits + 1; 0 = empty */
    GHashTable *prescan[2]; /* key -> KeyDefs* (MODEL_PRESCAN_STACK_KEYS) */
    GArray     *scratch;    /* uint64_t */
    bool        finished;
};

/* ------------------------------------------------------------------------------------------
 * Interning
 * ------------------------------------------------------------------------------------------ */
static guint fl_hash(gconstpointer p) { return ((const FrameList *)p)->hash; }
static gboolean fl_equal(gconstpointer a, gconstpointer b)
{
    const FrameList *x = a, *y = b;
    return x->n == y->n && x->hash == y->hash && !memcmp(x->f, y->f, (size_t)x->n * 8);
}

static guint mix64(uint64_t v)
{
    v ^= v >> 33;
    v *= UINT64_C(0xff51afd7ed558ccd);
    v ^= v >> 33;
    return (guint)v;
}

static guint u64_hash(gconstpointer p) { return mix64(*(const uint64_t *)p); }
static gboolean u64_equal(gconstpointer a, gconstpointer b) { return *(const uint64_t *)a == *(const uint64_t *)b; }

static inline uint32_t wait_home(uint32_t tid, int64_t ts)
{
    return mix64((uint64_t)ts * 0x9e3779b97f4a7c15u + tid) & (WSLOTS - 1);
}

static uint32_t fl_intern(StackState *st, const uint64_t *f, uint32_t n)
{
    if (!n) return 0;
    guint h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ mix64(f[i])) * 16777619u;
    FrameList probe = { n, h, (uint64_t *)f };
    gpointer id = g_hash_table_lookup(st->fl_index, &probe);
    if (id) return GPOINTER_TO_UINT(id);
    FrameList *fl = g_malloc(sizeof *fl + (size_t)n * 8);
    fl->n = n;
    fl->hash = h;
    fl->f = (uint64_t *)(fl + 1);
    memcpy(fl->f, f, (size_t)n * 8);
    g_ptr_array_add(st->fls, fl);
    uint32_t nid = st->fls->len;
    g_hash_table_insert(st->fl_index, fl, GUINT_TO_POINTER(nid));
    return nid;
}

static const FrameList *fl_get(const StackState *st, uint32_t id)
{
    return id && !(id & PH_BIT) && id <= st->fls->len ? g_ptr_array_index(st->fls, id - 1) : NULL;
}

/* Frames of a StackWalk payload as u64s (scratch, valid until the next call). */
static const uint64_t *frames_u64(StackState *st, const uint8_t *frames, uint8_t size, uint32_t n)
{
    g_array_set_size(st->scratch, n);
    uint64_t *v = (uint64_t *)st->scratch->data;
    for (uint32_t i = 0; i < n; i++) v[i] = etl_frame_at(frames, size, i);
    return v;
}

static uint32_t part_resolve(const StackState *st, uint32_t part)
{
    if (!(part & PH_BIT)) return part;
    const Placeholder *ph = &g_array_index(st->phs, Placeholder, (part & ~PH_BIT) - 1);
    return ph->resolved ? ph->resolved : part;
}

static uint32_t pair_intern(StackState *st, uint32_t first, uint32_t second)
{
    if (!first) {
        first = second;
        second = 0;
    }
    if (!first) return 0;
    uint64_t k = (uint64_t)first << 32 | second;
    gpointer id = g_hash_table_lookup(st->pair_index, &k);
    if (id) return GPOINTER_TO_UINT(id);
    Pair p = { first, second, NULL, false };
    g_array_append_val(st->pairs, p);
    uint32_t nid = st->pairs->len;
    g_hash_table_insert(st->pair_index, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(nid));
    return nid;
}

/* ------------------------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------------------------ */
static void keydefs_free(gpointer p)
{
    KeyDefs *kd = p;
    g_array_free(kd->defs, TRUE);
    g_free(kd);
}

static void prescan(Model *m);

void model_stacks_init(Model *m)
{
    StackState *st = m->st = g_new0(StackState, 1);
    st->fls = g_ptr_array_new_with_free_func(g_free);
    st->fl_index = g_hash_table_new(fl_hash, fl_equal);
    st->phs = g_array_new(FALSE, TRUE, sizeof(Placeholder));
    for (int i = 0; i < 2; i++) st->open_keys[i] = g_hash_table_new_full(u64_hash, u64_equal, g_free, NULL);
    st->pairs = g_array_new(FALSE, TRUE, sizeof(Pair));
    st->pair_index = g_hash_table_new_full(u64_hash, u64_equal, g_free, NULL);
    st->slots = g_array_new(FALSE, TRUE, sizeof(Slot));
    st->rings = g_new0(Ring *, m->n_cpus);
    st->waits = g_new0(Wait, WAIT_CAP);
    st->wslots = g_new0(uint32_t, WSLOTS);
    st->scratch = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (m->flags & MODEL_PRESCAN_STACK_KEYS) {
        for (int i = 0; i < 2; i++) st->prescan[i] = g_hash_table_new_full(u64_hash, u64_equal, g_free, keydefs_free);
        prescan(m);
    }
}

void model_stacks_clear(Model *m)
{
    StackState *st = m->st;
    if (!st) return;
    for (guint i = 0; i < st->pairs->len; i++) {
        Pair *p = &g_array_index(st->pairs, Pair, i);
        if (p->joined_owned) g_free(p->joined);
    }
    g_hash_table_destroy(st->fl_index);
    g_ptr_array_free(st->fls, TRUE);
    g_array_free(st->phs, TRUE);
    for (int i = 0; i < 2; i++) {
        g_hash_table_destroy(st->open_keys[i]);
        if (st->prescan[i]) g_hash_table_destroy(st->prescan[i]);
    }
    g_array_free(st->pairs, TRUE);
    g_hash_table_destroy(st->pair_index);
    g_array_free(st->slots, TRUE);
    for (uint32_t i = 0; i < m->n_cpus; i++) g_free(st->rings[i]);
    g_free(st->rings);
    g_free(st->wslots);
    g_free(st->waits);
    g_array_free(st->scratch, TRUE);
    g_free(st);
    m->st = NULL;
}

/* ------------------------------------------------------------------------------------------
 * Slots (handles)
 * ------------------------------------------------------------------------------------------ */
static bool part_is_kernel_tail(const Model *m, uint32_t part);

static Slot *slot_get(const StackState *st, uint32_t ref)
{
    return ref && ref <= st->slots->len ? &g_array_index(st->slots, Slot, ref - 1) : NULL;
}

static void slot_maybe_free(StackState *st, uint32_t ref)
{
    Slot *s = slot_get(st, ref);
    if (!s || s->refs || s->in_ring || s->in_wait) return;
    memset(s, 0, sizeof *s);
    s->next_free = st->free_slot;
    st->free_slot = ref;
}

static uint32_t slot_new(StackState *st)
{
    uint32_t ref = st->free_slot;
    if (ref) {
        st->free_slot = slot_get(st, ref)->next_free;
    } else {
        Slot z = { 0 };
        g_array_append_val(st->slots, z);
        ref = st->slots->len;
    }
    Slot *s = slot_get(st, ref);
    memset(s, 0, sizeof *s);
    s->spid = s->stid = ETL_NO_ID;
    return ref;
}

ModelStackRef model_stack_ref(Model *m)
{
    StackState *st = m->st;
    if (m->cur_ext) {
        uint32_t ref = slot_new(st);
        Slot *s = slot_get(st, ref);
        s->first = m->cur_ext;
        s->refs = 1;
        return ref;
    }
    Recent *r = m->cur;
    if (!r) return 0;
    if (r->slot) {
        slot_get(st, r->slot)->refs++;
        return r->slot;
    }
    uint32_t ref = slot_new(st);
    Slot *s = slot_get(st, ref);
    s->first = r->first;
    s->second = r->second;
    s->spid = r->stack_pid;
    s->stid = r->stack_tid;
    s->refs = 1;
    s->in_ring = true;
    r->slot = ref;
    return ref;
}

void model_stack_unref(Model *m, ModelStackRef ref)
{
    Slot *s = slot_get(m->st, ref);
    if (!s || !s->refs) return;
    s->refs--;
    slot_maybe_free(m->st, ref);
}

ModelStackId model_stack_get(Model *m, ModelStackRef ref)
{
    Slot *s = slot_get(m->st, ref);
    return s ? pair_intern(m->st, s->first, s->second) : 0;
}

void model_stack_ref_thread(const Model *m, ModelStackRef ref, uint32_t *pid, uint32_t *tid)
{
    Slot *s = slot_get(m->st, ref);
    *pid = s ? s->spid : ETL_NO_ID;
    *tid = s ? s->stid : ETL_NO_ID;
}

bool model_stack_settled(const Model *m, ModelStackRef ref)
{
    Slot *s = slot_get(m->st, ref);
    /* a first part that does not end in kernel mode waits for nothing more */
    return !s || m->st->finished || (s->first && s->second) || (s->first && !part_is_kernel_tail(m, s->first)) ||
           (!s->in_ring && !s->in_wait);
}

/* ------------------------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------------------------ */
static void ring_evict(StackState *st, Recent *r)
{
    if (r->slot) {
        Slot *s = slot_get(st, r->slot);
        s->in_ring = false;
        slot_maybe_free(st, r->slot);
    }
}

void model_stacks_note_event(Model *m, const EtlEvent *ev, const ModelCtx *ctx)
{
    StackState *st = m->st;
    if (ev->cpu >= m->n_cpus) return;
    Ring *ring = st->rings[ev->cpu];
    if (G_UNLIKELY(!ring)) ring = st->rings[ev->cpu] = g_new0(Ring, 1);
    Recent *r = &ring->r[ring->head];
    ring->head = (ring->head + 1) % MODEL_RING;
    if (r->serial) ring_evict(st, r);
    if (++st->serial == 0) st->serial = 1;
    *r = (Recent){ .ts = ev->timestamp, .tid = ev->tid, .attr_tid = ctx->tid, .serial = st->serial,
                   .stack_tid = ETL_NO_ID, .stack_pid = ETL_NO_ID };
    m->cur = r;
}

bool model_stacks_note_ext(Model *m, const EtlEvent *ev)
{
    const EtlExtItem *x = etl_event_ext(ev, ETL_EXT_STACK_TRACE64);
    uint8_t size = 8;
    if (!x) {
        x = etl_event_ext(ev, ETL_EXT_STACK_TRACE32);
        size = 4;
    }
    if (!x || x->size < 8 + size) return false;
    m->health.ext_stacks++;
    uint32_t n = (x->size - 8u) / size;
    m->cur_ext = fl_intern(m->st, frames_u64(m->st, x->data + 8, size, n), n);
    return true;
}

/* The index slot holding (tid, ts), or the empty slot where it would go. */
static uint32_t wait_find(const StackState *st, uint32_t tid, int64_t ts)
{
    uint32_t j = wait_home(tid, ts);
    while (st->wslots[j]) {
        const Wait *w = &st->waits[st->wslots[j] - 1];
        if (w->tid == tid && w->ts == ts) return j;
        j = (j + 1) & (WSLOTS - 1);
    }
    return j;
}

static void wait_slot_delete(StackState *st, uint32_t j)
{
    st->wslots[j] = 0;
    for (uint32_t k = (j + 1) & (WSLOTS - 1); st->wslots[k]; k = (k + 1) & (WSLOTS - 1)) {
        const Wait *w = &st->waits[st->wslots[k] - 1];
        uint32_t home = wait_home(w->tid, w->ts);
        bool between = j <= k ? (home > j && home <= k) : (home > j || home <= k);
        if (!between) {
            st->wslots[j] = st->wslots[k];
            st->wslots[k] = 0;
            j = k;
        }
    }
}

/* Stop waiting: the entry for (tid, ts), if it is still the one of that ring entry (serial). */
static bool wait_key_remove(StackState *st, uint32_t tid, int64_t ts, uint32_t serial)
{
    uint32_t j = wait_find(st, tid, ts);
    if (!st->wslots[j]) return false;
    Wait *w = &st->waits[st->wslots[j] - 1];
    if (w->serial != serial) return false;
    wait_slot_delete(st, j);
    if (w->slot) {
        Slot *s = slot_get(st, w->slot);
        s->in_wait = false;
        slot_maybe_free(st, w->slot);
    }
    w->serial = 0;
    return true;
}

/* The kernel part of an event's stack is in; its user half may come later, when the thread
 * returns to user mode, on whatever CPU it then runs: wait for it by (thread, timestamp). */
static void wait_add(Model *m, Recent *r, uint32_t tid)
{
    StackState *st = m->st;
    uint32_t wi = st->wait_head;
    Wait *w = &st->waits[wi];
    st->wait_head = (st->wait_head + 1) % WAIT_CAP;
    if (w->serial) {
        m->health.user_pending_evicted++;
        wait_key_remove(st, w->tid, w->ts, w->serial);
    }
    uint32_t j = wait_find(st, tid, r->ts);
    if (st->wslots[j]) { /* two events of a thread with one timestamp: the older stops waiting */
        Wait *old = &st->waits[st->wslots[j] - 1];
        wait_key_remove(st, old->tid, old->ts, old->serial);
        j = wait_find(st, tid, r->ts);
    }
    *w = (Wait){ .tid = tid, .ts = r->ts, .serial = r->serial, .slot = r->slot };
    st->wslots[j] = wi + 1;
    if (w->slot) slot_get(st, w->slot)->in_wait = true;
}

static bool part_is_kernel_tail(const Model *m, uint32_t part)
{
    if (part & PH_BIT) return !g_array_index(m->st->phs, Placeholder, (part & ~PH_BIT) - 1).user;
    const FrameList *fl = fl_get(m->st, part);
    return fl && model_is_kernel_address(m, fl->f[fl->n - 1]);
}

static void set_part(Model *m, Recent *r, bool second, uint32_t part, uint32_t spid, uint32_t stid)
{
    model_thread_implied(m, stid, spid, r->ts);
    if (second) r->second = part;
    else r->first = part;
    if (r->stack_tid == ETL_NO_ID) {
        r->stack_tid = stid;
        r->stack_pid = spid;
        uint32_t tid = r->tid != ETL_NO_ID ? r->tid : r->attr_tid;
        if (tid != ETL_NO_ID && stid != ETL_NO_ID && tid != stid) m->health.attr_stack_disagree++;
    }
    Slot *s = slot_get(m->st, r->slot);
    if (s) {
        if (second) s->second = part;
        else s->first = part;
        if (s->stid == ETL_NO_ID) {
            s->stid = stid;
            s->spid = spid;
        }
    }
}

/* Attach a part to the event it belongs to.  user: the part is a user-mode fragment or key. */
static bool attach(Model *m, const EtlEvent *ev, int64_t ts, uint32_t spid, uint32_t stid, uint32_t part, bool user)
{
    StackState *st = m->st;
    Ring *ring = ev->cpu < m->n_cpus ? st->rings[ev->cpu] : NULL;
    Recent *hit = NULL, *fresh = NULL;
    if (ring) {
        /* Several events can share a clock tick (a SampledProfile and the clock ISR after it):
         * the stack walk is taken for the first of them, so the oldest candidate wins. */
        for (uint32_t i = 0; i < MODEL_RING; i++) {
            Recent *r = &ring->r[(ring->head + i) % MODEL_RING];
            if (!r->serial || r->ts != ts || (r->tid != ETL_NO_ID && r->tid != stid)) continue;
            if (user && r->first && !r->second && part_is_kernel_tail(m, r->first)) {
                hit = r;
                break;
            }
            if (!r->first && !fresh) fresh = r;
        }
    }
    if (hit) {
        wait_key_remove(st, stid, ts, hit->serial);
        set_part(m, hit, true, part, spid, stid);
        m->health.stack_fragments_joined++;
        return true;
    }
    if (user) {
        uint32_t j = wait_find(st, stid, ts);
        Wait *w = st->wslots[j] ? &st->waits[st->wslots[j] - 1] : NULL;
        if (w) {
            Slot *s = slot_get(st, w->slot);
            if (s && !s->second) s->second = part;
            m->health.stack_fragments_joined++;
            wait_key_remove(st, stid, ts, w->serial);
            return true;
        }
    }
    if (!fresh) return false;
    set_part(m, fresh, false, part, spid, stid);
    if (part_is_kernel_tail(m, part) && spid != 0 && spid != 4) wait_add(m, fresh, stid);
    return true;
}

static Placeholder *ph_at(StackState *st, uint32_t part) { return &g_array_index(st->phs, Placeholder, (part & ~PH_BIT) - 1); }

/* A stack-key reference: the part is the definition that follows it (see prescan), or a
 * placeholder shared by every reference to the key until a definition arrives. */
static uint32_t key_part(Model *m, uint64_t key, bool user)
{
    StackState *st = m->st;
    m->health.key_refs++;
    if (st->prescan[user]) {
        KeyDefs *kd = g_hash_table_lookup(st->prescan[user], &key);
        if (kd) {
            while (kd->cursor < kd->defs->len && g_array_index(kd->defs, KeyDef, kd->cursor).ordinal <= m->ordinal)
                kd->cursor++;
            if (kd->cursor < kd->defs->len) {
                KeyDef *d = &g_array_index(kd->defs, KeyDef, kd->cursor);
                m->health.key_refs_defined++;
                d->used = true;
                return d->fl;
            }
        }
    }
    gpointer v = g_hash_table_lookup(st->open_keys[user], &key);
    uint32_t idx;
    if (v) {
        idx = GPOINTER_TO_UINT(v);
    } else {
        Placeholder ph = { .key = key, .user = user };
        g_array_append_val(st->phs, ph);
        idx = st->phs->len;
        g_hash_table_insert(st->open_keys[user], g_memdup2(&key, sizeof key), GUINT_TO_POINTER(idx));
    }
    ph_at(st, idx)->n_refs++;
    return PH_BIT | idx;
}

static void key_define(Model *m, uint64_t key, const uint64_t *f, uint32_t n)
{
    StackState *st = m->st;
    m->health.key_defs++;
    bool user = n && !model_is_kernel_address(m, f[n - 1]);
    gpointer v = n ? g_hash_table_lookup(st->open_keys[user], &key) : NULL; /* no frames: defines nothing */
    if (!v) {
        if (!st->prescan[user]) m->health.key_defs_unused++;
        return;
    }
    Placeholder *ph = ph_at(st, GPOINTER_TO_UINT(v));
    ph->resolved = fl_intern(st, f, n);
    m->health.key_refs_defined += ph->n_refs;
    g_hash_table_remove(st->open_keys[user], &key); /* the key may be reused after a delete */
}

void model_stacks_event(Model *m, const EtlEvent *ev, const EtlKernelEvent *k)
{
    StackState *st = m->st;
    switch (k->kind) {
    case ETL_K_STACK: {
        const EtlStack *s = &k->u.stack;
        m->health.stack_events++;
        if (!s->n_frames) return;
        const uint64_t *f = frames_u64(st, s->frames, s->frame_size, s->n_frames);
        bool user = !model_is_kernel_address(m, f[0]); /* starts in user mode: a user fragment or a user-only stack */
        uint32_t part = fl_intern(st, f, s->n_frames);
        if (!attach(m, ev, (int64_t)s->event_timestamp, s->pid, s->tid, part, user)) m->health.stack_orphans++;
        break;
    }
    case ETL_K_STACK_KEY_REF: {
        const EtlStackKeyRef *r = &k->u.stack_key_ref;
        uint32_t part = key_part(m, r->key, r->user);
        if (!attach(m, ev, (int64_t)r->event_timestamp, r->pid, r->tid, part, r->user)) {
            m->health.key_refs_orphan++;
            if (part & PH_BIT) ph_at(st, part)->n_refs--; /* an orphan is no event's stack */
            else m->health.key_refs_defined--;
        }
        break;
    }
    case ETL_K_STACK_KEY_DEF: {
        if (st->prescan[0]) return; /* applied by the prescan */
        const EtlStackKeyDef *d = &k->u.stack_key_def;
        key_define(m, d->key, frames_u64(st, d->frames, d->frame_size, d->n_frames), d->n_frames);
        break;
    }
    default:
        break;
    }
}

void model_finish(Model *m)
{
    StackState *st = m->st;
    if (st->finished) return;
    st->finished = true;
    for (guint i = 0; i < st->phs->len; i++) {
        Placeholder *ph = &g_array_index(st->phs, Placeholder, i);
        if (!ph->resolved) m->health.key_refs_undefined += ph->n_refs;
    }
    m->health.distinct_frame_lists = st->fls->len;
    m->health.distinct_stacks = st->pairs->len;
    for (int u = 0; u < 2; u++) { /* pre-scanned definitions no reference took */
        if (!st->prescan[u]) continue;
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, st->prescan[u]);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            const KeyDefs *kd = v;
            for (guint i = 0; i < kd->defs->len; i++)
                if (!g_array_index(kd->defs, KeyDef, i).used) m->health.key_defs_unused++;
        }
    }
}

/* One pass over the trace for the stack-key definitions: each reference then takes the first
 * definition of its key that follows it, at once.  Event ordinals tie the passes together. */
static void prescan(Model *m)
{
    StackState *st = m->st;
    etl_trace_quiet_begin(m->t);
    EtlReader *rd = etl_reader_new(m->t, ETL_ORDER_TIME);
    uint64_t ord = 0;
    const EtlEvent *ev;
    while ((ev = etl_reader_next(rd))) {
        ord++;
        if (ev->group != ETL_GROUP_STACKWALK || !etl_header_kind_is_kernel(ev->kind)) continue;
        EtlKernelEvent k;
        if (etl_kernel_decode(ev, &k) != ETL_DECODE_OK || k.kind != ETL_K_STACK_KEY_DEF) continue;
        const EtlStackKeyDef *d = &k.u.stack_key_def;
        const uint64_t *f = frames_u64(st, d->frames, d->frame_size, d->n_frames);
        bool user = d->n_frames && !model_is_kernel_address(m, f[d->n_frames - 1]);
        m->health.key_defs++;
        KeyDefs *kd = g_hash_table_lookup(st->prescan[user], &d->key);
        if (!kd) {
            kd = g_new0(KeyDefs, 1);
            kd->defs = g_array_new(FALSE, FALSE, sizeof(KeyDef));
            g_hash_table_insert(st->prescan[user], g_memdup2(&d->key, sizeof d->key), kd);
        }
        if (!d->n_frames) continue; /* defines nothing */
        KeyDef def = { ord, fl_intern(st, f, d->n_frames), false };
        g_array_append_val(kd->defs, def);
    }
    etl_reader_free(rd);
    etl_trace_quiet_end(m->t);
}

/* ------------------------------------------------------------------------------------------
 * Reading stacks
 * ------------------------------------------------------------------------------------------ */
static const Pair *pair_get(const StackState *st, ModelStackId id)
{
    return id && id <= st->pairs->len ? &g_array_index(st->pairs, Pair, id - 1) : NULL;
}

ModelStackState model_stack_state(const Model *m, ModelStackId id)
{
    const Pair *p = pair_get(m->st, id);
    if (!p) return MODEL_STACK_NONE;
    if ((part_resolve(m->st, p->first) & PH_BIT) || (p->second && (part_resolve(m->st, p->second) & PH_BIT)))
        return MODEL_STACK_KEY_PENDING;
    return MODEL_STACK_COMPLETE;
}

ModelStackId model_stack_canonical(Model *m, ModelStackId id)
{
    const Pair *p = pair_get(m->st, id);
    if (!p) return 0;
    uint32_t a = part_resolve(m->st, p->first), b = part_resolve(m->st, p->second);
    if (a == p->first && b == p->second) return id;
    return pair_intern(m->st, a, b);
}

uint64_t model_stack_pending_key(const Model *m, ModelStackId id, bool *user)
{
    const Pair *p = pair_get(m->st, id);
    if (!p) return 0;
    uint32_t parts[2] = { part_resolve(m->st, p->first), part_resolve(m->st, p->second) };
    for (int i = 0; i < 2; i++)
        if (parts[i] & PH_BIT) {
            const Placeholder *ph = &g_array_index(m->st->phs, Placeholder, (parts[i] & ~PH_BIT) - 1);
            if (user) *user = ph->user;
            return ph->key;
        }
    return 0;
}

const uint64_t *model_stack_frames(Model *m, ModelStackId id, uint32_t *n, uint32_t *n_kernel)
{
    StackState *st = m->st;
    Pair *p = id && id <= st->pairs->len ? &g_array_index(st->pairs, Pair, id - 1) : NULL;
    *n = 0;
    if (n_kernel) *n_kernel = 0;
    if (!p) return NULL;
    const FrameList *out = p->joined;
    if (!out) {
        const FrameList *a = fl_get(st, part_resolve(st, p->first));
        const FrameList *b = fl_get(st, part_resolve(st, p->second));
        if (a && b) { /* both parts are frames: nothing pending, cache the join */
            FrameList *j = g_malloc(sizeof *j + (size_t)(a->n + b->n) * 8);
            j->n = a->n + b->n;
            j->hash = 0;
            j->f = (uint64_t *)(j + 1);
            memcpy(j->f, a->f, (size_t)a->n * 8);
            memcpy(j->f + a->n, b->f, (size_t)b->n * 8);
            p->joined = j;
            p->joined_owned = true;
            out = j;
        } else {
            out = a ? a : b; /* a pending key part contributes no frames */
            if (model_stack_state(m, id) == MODEL_STACK_COMPLETE) p->joined = (FrameList *)out;
        }
    }
    if (!out) return NULL;
    *n = out->n;
    if (n_kernel) {
        uint32_t k = 0;
        while (k < out->n && model_is_kernel_address(m, out->f[k])) k++;
        *n_kernel = k;
    }
    return out->f;
}
