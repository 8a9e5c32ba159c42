/* model.c — processes, threads and images over time; who an event belongs to.
 * Stacks live in stacks.c.  Rules: docs/system-model.md. */
#include "model-private.h"

#include <string.h>

/* ------------------------------------------------------------------------------------------
 * Objects
 * ------------------------------------------------------------------------------------------ */
static char *astr_dup(EtlAStr s)
{
    if (!s.len) return NULL;
    GString *g = g_string_new(NULL);
    etl_astr_append_utf8(g, s);
    return g_string_free(g, FALSE);
}

static char *wstr_dup(EtlWStr s) { return s.nbytes ? etl_wstr_dup_utf8(s) : NULL; }

static void image_free(gpointer p)
{
    ModelImage *im = p;
    g_free(im->file_name);
    g_free(im->original_file_name);
    g_free(im->pdb_name);
    g_free(im);
}

static void proc_free(gpointer p)
{
    Proc *pr = p;
    g_free(pr->pub.image_name);
    g_free(pr->pub.command_line);
    g_ptr_array_free(pr->map.v, TRUE);
    g_free(pr);
}

static void thread_free(gpointer p)
{
    ModelThread *th = p;
    g_free(th->name);
    g_free(th);
}

static void history_free(gpointer p) { g_ptr_array_free(p, TRUE); }

static void map_init(ImageMap *map) { map->v = g_ptr_array_new(); map->max_size = 0; }

Model *model_new(EtlTrace *t, unsigned flags)
{
    Model *m = g_new0(Model, 1);
    m->t = t;
    m->flags = flags;
    const EtlLogfileHeader *h = etl_trace_header(t);
    m->is64 = h->header_is64 || h->pointer_size == 8;
    m->kernel_floor = m->is64 ? UINT64_C(0xFFFF800000000000) : UINT64_C(0x80000000);
    m->images = g_ptr_array_new_with_free_func(image_free);
    m->procs = g_ptr_array_new_with_free_func(proc_free);
    m->threads = g_ptr_array_new_with_free_func(thread_free);
    m->pid_hist = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, history_free);
    m->tid_hist = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, history_free);
    map_init(&m->kernel_map);
    m->pair_images = g_ptr_array_new();
    m->pending_ids = g_array_new(FALSE, FALSE, sizeof(PendingId));
    m->thread_gen = 1; /* cache entries with gen 0 are empty */
    m->n_cpus = MAX(etl_trace_cpu_slots(t), 1u);
    m->running = g_new(uint32_t, m->n_cpus);
    for (uint32_t i = 0; i < m->n_cpus; i++) m->running[i] = ETL_NO_ID;
    model_stacks_init(m);
    return m;
}

static void pending_clear(Model *m)
{
    for (guint i = 0; i < m->pending_ids->len; i++) {
        PendingId *pi = &g_array_index(m->pending_ids, PendingId, i);
        g_free(pi->original_file_name);
        g_free(pi->pdb_name);
    }
    g_array_set_size(m->pending_ids, 0);
}

void model_free(Model *m)
{
    if (!m) return;
    model_stacks_clear(m);
    pending_clear(m);
    g_array_free(m->pending_ids, TRUE);
    g_ptr_array_free(m->pair_images, TRUE);
    g_ptr_array_free(m->kernel_map.v, TRUE);
    g_hash_table_destroy(m->pid_hist);
    g_hash_table_destroy(m->tid_hist);
    g_ptr_array_free(m->threads, TRUE);
    g_ptr_array_free(m->procs, TRUE);
    g_ptr_array_free(m->images, TRUE);
    g_free(m->running);
    g_free(m);
}

const ModelHealth *model_health(const Model *m) { return &m->health; }

bool model_is_kernel_address(const Model *m, uint64_t addr) { return addr >= m->kernel_floor; }

/* ------------------------------------------------------------------------------------------
 * Processes and threads: per id, every object in creation order; the one for a time is the
 * newest that started at or before it (or the oldest, for times before any start).
 * ------------------------------------------------------------------------------------------ */
static GPtrArray *history(GHashTable *h, uint32_t id, bool create)
{
    GPtrArray *a = g_hash_table_lookup(h, GUINT_TO_POINTER(id));
    if (!a && create) {
        a = g_ptr_array_new();
        g_hash_table_insert(h, GUINT_TO_POINTER(id), a);
    }
    return a;
}

ModelProcess *model_process_at(const Model *m, uint32_t pid, int64_t ts)
{
    if (pid == ETL_NO_ID) return NULL;
    GPtrArray *a = history(m->pid_hist, pid, false);
    if (!a || !a->len) return NULL;
    for (guint i = a->len; i-- > 0;) {
        ModelProcess *p = g_ptr_array_index(a, i);
        if (p->start_ts <= ts) return p;
    }
    return g_ptr_array_index(a, 0);
}

/* Most events name one of a few running threads: a small direct-mapped cache in front of the
 * history lookup, valid until a thread object is created or changed (thread_gen). */
static ModelThread *thread_at_cached(Model *m, uint32_t tid, int64_t ts)
{
    ThreadCache *c = &m->tcache[(tid >> 2) & (G_N_ELEMENTS(m->tcache) - 1)];
    if (c->gen == m->thread_gen && c->tid == tid) return c->th;
    ModelThread *th = model_thread_at(m, tid, ts);
    *c = (ThreadCache){ tid, m->thread_gen, th };
    return th;
}

ModelThread *model_thread_at(const Model *m, uint32_t tid, int64_t ts)
{
    if (tid == ETL_NO_ID) return NULL;
    GPtrArray *a = history(m->tid_hist, tid, false);
    if (!a || !a->len) return NULL;
    for (guint i = a->len; i-- > 0;) {
        ModelThread *th = g_ptr_array_index(a, i);
        if (th->start_ts <= ts) return th;
    }
    return g_ptr_array_index(a, 0);
}

static Proc *proc_alive(Model *m, uint32_t pid)
{
    GPtrArray *a = history(m->pid_hist, pid, false);
    if (!a || !a->len) return NULL;
    Proc *p = g_ptr_array_index(a, a->len - 1);
    return p->pub.end_ts == MODEL_TS_MAX ? p : NULL;
}

/* A new process object for pid.  start: MODEL_TS_MIN when it existed before the trace; but
 * never before the end of an earlier object with the same id. */
static Proc *proc_add(Model *m, uint32_t pid, int64_t start)
{
    GPtrArray *a = history(m->pid_hist, pid, true);
    if (a->len) {
        Proc *last = g_ptr_array_index(a, a->len - 1);
        if (start == MODEL_TS_MIN && last->pub.end_ts != MODEL_TS_MAX) start = last->pub.end_ts;
    }
    Proc *p = g_new0(Proc, 1);
    p->pub.pid = pid;
    p->pub.parent_pid = ETL_NO_ID;
    p->pub.session_id = ETL_NO_ID;
    p->pub.start_ts = start;
    p->pub.end_ts = MODEL_TS_MAX;
    p->pub.serial = m->procs->len;
    map_init(&p->map);
    g_ptr_array_add(m->procs, p);
    g_ptr_array_add(a, p);
    m->health.processes++;
    return p;
}

/* The process object for pid at ts, created (unnamed, from before the trace) when none is known:
 * threads and images may name a process whose rundown is missing. */
static Proc *proc_for(Model *m, uint32_t pid, int64_t ts)
{
    Proc *p = (Proc *)model_process_at(m, pid, ts);
    return p ? p : proc_add(m, pid, MODEL_TS_MIN);
}

static void proc_fill(Proc *p, const EtlProcess *e)
{
    if (!p->pub.image_name) p->pub.image_name = astr_dup(e->image_name);
    if (!p->pub.command_line) p->pub.command_line = wstr_dup(e->command_line);
    if (p->pub.parent_pid == ETL_NO_ID) p->pub.parent_pid = e->parent_pid;
    if (p->pub.session_id == ETL_NO_ID) p->pub.session_id = e->session_id;
}

static void on_process(Model *m, const EtlEvent *ev, const EtlProcess *e)
{
    int64_t ts = ev->timestamp;
    Proc *p = proc_alive(m, e->pid);
    switch (ev->opcode) {
    case 1: /* Start */
        if (p) {
            m->health.pid_reuse++;
            p->pub.end_ts = MAX(ts, p->pub.start_ts);
        }
        p = proc_add(m, e->pid, ts);
        break;
    case 3: /* DCStart */
    case 4: /* DCEnd */
        m->health.process_rundown++;
        if (!p) p = proc_add(m, e->pid, MODEL_TS_MIN);
        break;
    default: /* End, Defunct */
        if (!p) p = proc_add(m, e->pid, MODEL_TS_MIN);
        p->pub.end_ts = MAX(ts, p->pub.start_ts);
        break;
    }
    proc_fill(p, e);
}

static void on_thread(Model *m, const EtlEvent *ev, const EtlThread *e)
{
    int64_t ts = ev->timestamp;
    m->thread_gen++;
    GPtrArray *a = history(m->tid_hist, e->tid, true);
    ModelThread *th = a->len ? g_ptr_array_index(a, a->len - 1) : NULL;
    if (th && th->end_ts != MODEL_TS_MAX) th = NULL; /* the last one ended */
    bool rundown = ev->opcode == 3 || ev->opcode == 4;
    if (rundown) m->health.thread_rundown++;
    if (th && (ev->opcode == 1 || th->pid != e->pid)) { /* a new Start, or alive under another process: it ended */
        m->health.tid_reuse++;
        th->end_ts = MAX(ts, th->start_ts);
        th = NULL;
    }
    if (!th) {
        int64_t start = ev->opcode == 1 ? ts : MODEL_TS_MIN;
        if (start == MODEL_TS_MIN && a->len) start = ((ModelThread *)g_ptr_array_index(a, a->len - 1))->end_ts;
        th = g_new0(ModelThread, 1);
        th->tid = e->tid;
        th->pid = e->pid;
        th->start_ts = start;
        th->end_ts = MODEL_TS_MAX;
        th->process = &proc_for(m, e->pid, ts)->pub;
        g_ptr_array_add(m->threads, th);
        g_ptr_array_add(a, th);
        m->health.threads++;
    }
    if (!th->name && e->name.nbytes) th->name = wstr_dup(e->name);
    if (ev->opcode == 2) th->end_ts = MAX(ts, th->start_ts);
}

/* ------------------------------------------------------------------------------------------
 * Images.  A map is an array sorted by base; entries with the same base are in creation
 * order.  max_size bounds how far below an address a holder can start.
 * ------------------------------------------------------------------------------------------ */
static guint map_upper(const ImageMap *map, uint64_t addr) /* first index with base > addr */
{
    guint lo = 0, hi = map->v->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (((ModelImage *)g_ptr_array_index(map->v, mid))->base <= addr) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void map_insert(ImageMap *map, ModelImage *im)
{
    g_ptr_array_insert(map->v, (gint)map_upper(map, im->base), im);
    if (im->size > map->max_size) map->max_size = im->size;
}

static const ModelImage *map_lookup(const ImageMap *map, uint64_t addr, int64_t ts)
{
    for (guint i = map_upper(map, addr); i-- > 0;) {
        const ModelImage *im = g_ptr_array_index(map->v, i);
        if (addr - im->base >= map->max_size) break; /* no earlier image reaches addr */
        if (addr - im->base < im->size && im->load_ts <= ts && ts < im->unload_ts) return im;
    }
    return NULL;
}

/* The image at exactly base that is loaded at the end of the map's history, or NULL. */
static ModelImage *map_alive_at_base(const ImageMap *map, uint64_t base, ModelImage **last_same_base)
{
    ModelImage *last = NULL;
    for (guint i = map_upper(map, base); i-- > 0;) {
        ModelImage *im = g_ptr_array_index(map->v, i);
        if (im->base != base) break;
        if (!last) last = im;
        if (im->unload_ts == MODEL_TS_MAX) {
            if (last_same_base) *last_same_base = last;
            return im;
        }
    }
    if (last_same_base) *last_same_base = last;
    return NULL;
}

static ImageMap *map_for(Model *m, uint64_t base, uint32_t pid, int64_t ts)
{
    if (model_is_kernel_address(m, base) || pid == 0 || pid == ETL_NO_ID) return &m->kernel_map;
    return &proc_for(m, pid, ts)->map;
}

const ModelImage *model_image_at(const Model *m, const ModelProcess *p, uint64_t addr, int64_t ts)
{
    if (model_is_kernel_address(m, addr) || !p) return map_lookup(&m->kernel_map, addr, ts);
    return map_lookup(&((const Proc *)p)->map, addr, ts);
}

/* ImageID / DbgID belong to the Image event with the same timestamp and base, before or after
 * it (xperf merge writes them beside the image event). */
static void attach_ids(Model *m, ModelImage *im, PendingId *pi)
{
    if (pi->is_dbgid) {
        m->health.image_dbgid_attached++;
        if (!im->has_pdb) {
            im->has_pdb = true;
            im->pdb_guid = pi->pdb_guid;
            im->pdb_age = pi->pdb_age;
            im->pdb_name = g_steal_pointer(&pi->pdb_name);
        }
    } else {
        m->health.image_id_attached++;
        if (!im->original_file_name) im->original_file_name = g_steal_pointer(&pi->original_file_name);
    }
}

static void pairing_at(Model *m, int64_t ts)
{
    if (ts == m->pair_ts) return;
    m->pair_ts = ts;
    g_ptr_array_set_size(m->pair_images, 0);
    pending_clear(m);
}

static void pair_image(Model *m, ModelImage *im, int64_t ts)
{
    pairing_at(m, ts);
    for (guint i = 0; i < m->pending_ids->len;) {
        PendingId *pi = &g_array_index(m->pending_ids, PendingId, i);
        if (pi->base != im->base) {
            i++;
            continue;
        }
        attach_ids(m, im, pi);
        g_free(pi->original_file_name);
        g_free(pi->pdb_name);
        g_array_remove_index_fast(m->pending_ids, i);
    }
    if (m->pair_images->len < PAIR_MAX) g_ptr_array_add(m->pair_images, im);
}

static void on_image(Model *m, const EtlEvent *ev, const EtlImage *e)
{
    int64_t ts = ev->timestamp;
    uint32_t pid = e->pid;
    if (ev->version == 0) pid = model_is_kernel_address(m, e->base) ? 0 : ev->pid;
    ImageMap *map = map_for(m, e->base, pid, ts);
    ModelImage *last = NULL;
    ModelImage *alive = map_alive_at_base(map, e->base, &last);
    uint8_t op = ev->opcode;
    if (op == 3 || op == 4) m->health.image_rundown++;
    if (op == 2) { /* UnLoad: match by base, not by name (unload names can be truncated) */
        if (alive) {
            alive->unload_ts = MAX(ts, alive->load_ts); /* a time inversion must not make it end before it began */
            pair_image(m, alive, ts); /* xperf writes ImageID/DbgID beside unloads too */
            return;
        }
        m->health.unload_unmatched++;
    } else if (alive) {
        if (op == 3 || op == 4) { /* rundown of an image already known: its ImageID/DbgID pair with it */
            pair_image(m, alive, ts);
            return;
        }
        alive->unload_ts = MAX(ts, alive->load_ts); /* Load over a live image: the old one went unseen */
    }
    ModelImage *im = g_new0(ModelImage, 1);
    im->base = e->base;
    im->size = e->size;
    im->pid = map == &m->kernel_map ? 0 : pid;
    im->load_ts = op == 10 ? ts : MODEL_TS_MIN;
    if (im->load_ts == MODEL_TS_MIN && last && last->unload_ts != MODEL_TS_MAX) im->load_ts = last->unload_ts;
    im->unload_ts = op == 2 ? MAX(ts, im->load_ts) : MODEL_TS_MAX;
    im->checksum = e->checksum;
    im->time_date_stamp = e->time_date_stamp;
    im->file_name = e->file_name.nbytes ? etl_wstr_dup_utf8(e->file_name) : g_strdup("");
    const char *bs = strrchr(im->file_name, '\\');
    im->name = bs ? bs + 1 : im->file_name;
    if (!*im->name) im->name = "Unknown";
    map_insert(map, im);
    g_ptr_array_add(m->images, im);
    m->health.images++;

    pair_image(m, im, ts);
}

static void on_image_id(Model *m, const EtlEvent *ev, uint64_t base, PendingId *pi)
{
    pairing_at(m, ev->timestamp);
    pi->base = base;
    bool attached = false;
    for (guint i = m->pair_images->len; i-- > 0 && !attached;) { /* the latest image at that base */
        ModelImage *im = g_ptr_array_index(m->pair_images, i);
        if (im->base == base) {
            attach_ids(m, im, pi);
            attached = true;
        }
    }
    if (!attached && m->pending_ids->len < PAIR_MAX) {
        g_array_append_val(m->pending_ids, *pi);
        return;
    }
    g_free(pi->original_file_name);
    g_free(pi->pdb_name);
}

/* ------------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------------ */
/* A thread met without Start or rundown (it ran before the trace and the rundown missed it, or
 * the rundown was not recorded): learnt from a header or a stack event that names both ids. */
ModelThread *model_thread_implied(Model *m, uint32_t tid, uint32_t pid, int64_t ts)
{
    if (tid == ETL_NO_ID || pid == ETL_NO_ID) return NULL;
    ModelThread *th = thread_at_cached(m, tid, ts);
    if (th) return th;
    m->thread_gen++;
    GPtrArray *a = history(m->tid_hist, tid, true);
    th = g_new0(ModelThread, 1);
    th->tid = tid;
    th->pid = pid;
    th->start_ts = MODEL_TS_MIN;
    th->end_ts = MODEL_TS_MAX;
    th->process = &proc_for(m, pid, ts)->pub;
    g_ptr_array_add(m->threads, th);
    g_ptr_array_add(a, th);
    m->health.threads++;
    m->health.threads_implied++;
    return th;
}

static void attribute(Model *m, const EtlEvent *ev, uint32_t pid, uint32_t tid, ModelAttr attr, ModelCtx *ctx)
{
    if (attr == MODEL_ATTR_NONE && ev->tid != ETL_NO_ID) {
        tid = ev->tid;
        pid = ev->pid;
        attr = MODEL_ATTR_HEADER;
    }
    if (attr == MODEL_ATTR_NONE && ev->cpu < m->n_cpus && m->running[ev->cpu] != ETL_NO_ID) {
        tid = m->running[ev->cpu];
        pid = ETL_NO_ID;
        attr = MODEL_ATTR_CPU;
    }
    ModelThread *th = tid != ETL_NO_ID ? thread_at_cached(m, tid, ev->timestamp) : NULL;
    if (!th && attr == MODEL_ATTR_HEADER && pid != ETL_NO_ID) th = model_thread_implied(m, tid, pid, ev->timestamp);
    if (pid == ETL_NO_ID && th) pid = th->pid;
    ctx->pid = pid;
    ctx->tid = tid;
    ctx->attr = attr;
    ctx->thread = th;
    ctx->process = th && th->pid == pid && th->process ? th->process : model_process_at(m, pid, ev->timestamp);
}

bool model_event(Model *m, const EtlEvent *ev, const EtlKernelEvent *k, ModelCtx *ctx)
{
    ModelCtx scratch;
    if (!ctx) ctx = &scratch;
    m->ordinal++;
    uint32_t pid = ETL_NO_ID, tid = ETL_NO_ID;
    ModelAttr attr = MODEL_ATTR_NONE;
    bool stackable = false;
    if (k) {
        switch (k->kind) {
        case ETL_K_PROCESS:
            on_process(m, ev, &k->u.process);
            /* the header names the creating thread, in the parent */
            pid = k->u.process.pid;
            tid = ev->pid == pid && ev->opcode != 3 && ev->opcode != 4 ? ev->tid : ETL_NO_ID;
            attr = MODEL_ATTR_PAYLOAD;
            break;
        case ETL_K_THREAD:
            on_thread(m, ev, &k->u.thread);
            pid = k->u.thread.pid;
            tid = k->u.thread.tid;
            attr = MODEL_ATTR_PAYLOAD;
            break;
        case ETL_K_CSWITCH:
            if (ev->cpu < m->n_cpus) m->running[ev->cpu] = k->u.cswitch.new_tid;
            tid = k->u.cswitch.new_tid;
            attr = MODEL_ATTR_PAYLOAD;
            break;
        case ETL_K_IMAGE:
            on_image(m, ev, &k->u.image);
            /* rundown (DCStart/DCEnd) is logged by whichever thread runs it: the owner is the
             * image's process; Load/UnLoad headers name the loading thread */
            if (ev->version > 0 && (ev->tid == ETL_NO_ID || ev->opcode == 3 || ev->opcode == 4)) {
                pid = k->u.image.pid;
                attr = MODEL_ATTR_PAYLOAD;
            }
            break;
        case ETL_K_SAMPLED_PROFILE: /* the payload names the interrupted thread */
            tid = k->u.sample.thread_id;
            attr = MODEL_ATTR_PAYLOAD;
            break;
        case ETL_K_IMAGE_ID: {
            m->health.image_id++;
            PendingId pi = { .original_file_name = wstr_dup(k->u.image_id.original_file_name) };
            on_image_id(m, ev, k->u.image_id.base, &pi);
            break;
        }
        case ETL_K_DBGID_RSDS: {
            m->health.image_dbgid++;
            PendingId pi = { .is_dbgid = true, .pdb_guid = k->u.rsds.guid, .pdb_age = k->u.rsds.age,
                             .pdb_name = astr_dup(k->u.rsds.pdb_name) };
            if (!pi.pdb_name) pi.pdb_name = g_strdup("");
            on_image_id(m, ev, k->u.rsds.base, &pi);
            break;
        }
        case ETL_K_STACK:
        case ETL_K_STACK_KEY_REF:
        case ETL_K_STACK_KEY_DEF:
            model_stacks_event(m, ev, k);
            ctx->pid = ctx->tid = ETL_NO_ID;
            ctx->attr = MODEL_ATTR_NONE;
            ctx->process = NULL;
            ctx->thread = NULL;
            m->cur = 0;
            return false;
        default:
            break;
        }
    }
    attribute(m, ev, pid, tid, attr, ctx);
    m->cur = 0;
    m->cur_ext = 0;
    if (etl_header_kind_is_kernel(ev->kind) && ev->has_timestamp) {
        stackable = true;
        bool rundown = k && (k->kind == ETL_K_PROCESS || k->kind == ETL_K_THREAD || k->kind == ETL_K_IMAGE) &&
                       (ev->opcode == 3 || ev->opcode == 4);
        if (!rundown) {
            m->health.attr_events++;
            switch (ctx->attr) {
            case MODEL_ATTR_HEADER: m->health.attr_header++; break;
            case MODEL_ATTR_PAYLOAD: m->health.attr_payload++; break;
            case MODEL_ATTR_CPU: m->health.attr_cpu++; break;
            default: m->health.attr_none++; break;
            }
        }
        model_stacks_note_event(m, ev, ctx);
    } else if (ev->kind == ETL_HDR_EVENT && ev->n_ext) {
        stackable = model_stacks_note_ext(m, ev);
    }
    return stackable;
}

/* ------------------------------------------------------------------------------------------
 * Display
 * ------------------------------------------------------------------------------------------ */
void model_format_frame(const Model *m, const ModelProcess *p, uint64_t addr, int64_t ts, GString *out)
{
    const ModelImage *im = model_image_at(m, p, addr, ts);
    if (im) g_string_append_printf(out, "%s+0x%" G_GINT64_MODIFIER "x", im->name, addr - im->base);
    else g_string_append_printf(out, "0x%" G_GINT64_MODIFIER "x", addr);
}

void model_format_process(const ModelProcess *p, uint32_t pid, GString *out)
{
    if (pid == ETL_NO_ID && p) pid = p->pid;
    if (pid == ETL_NO_ID) {
        g_string_append(out, "Unknown");
        return;
    }
    const char *name = p ? p->image_name : NULL;
    if (!name) name = pid == 0 ? "Idle" : pid == 4 ? "System" : "Unknown";
    g_string_append_printf(out, "%s (%u)", name, pid);
}

const ModelImage *const *model_images(const Model *m, guint *n)
{
    *n = m->images->len;
    return (const ModelImage *const *)m->images->pdata;
}

const ModelProcess *const *model_processes(const Model *m, guint *n)
{
    *n = m->procs->len;
    return (const ModelProcess *const *)m->procs->pdata; /* Proc starts with its ModelProcess */
}
