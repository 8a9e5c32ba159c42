/* summary.c — events per type, payload decoding health and stack coverage for `etla info`. */
#include "analyses.h"

#include <stdio.h>
#include <string.h>

#define RING 32 /* recent events per CPU that a following StackWalk event may describe */

typedef struct {
    int64_t  ts;
    uint32_t row;   /* row + 1; 0 = empty slot */
    uint32_t tid;   /* ETL_NO_ID for PerfInfo-header events */
    bool     has_stack;
} Recent;

typedef struct {
    Recent   r[RING];
    int64_t  last_ts;   /* timestamp of the last write */
    uint32_t head;      /* next slot to write */
    uint32_t since_inv; /* writes since the last one whose ts was below its predecessor's */
} CpuRing;

typedef struct {
    SummaryClass cls;
    EtlGuid      provider;
    uint16_t     event_id;
    uint8_t      opcode;
    const char  *tl_name; /* interned */
} Key;

struct Summary {
    EtlTrace     *t;
    GArray       *rows;      /* SummaryRow */
    uint32_t     *kidx;      /* kernel (group<<8 | opcode) -> row + 1 */
    GHashTable   *other;     /* Key* -> row + 1 (GUINT_TO_POINTER) */
    Key           last_key;  /* one-entry cache for the hash path */
    uint32_t      last_row;
    bool          have_last;
    CpuRing     **rings;     /* [n_rings], allocated on a CPU's first event: a corrupt CPU
                                index must not cost a ring for every CPU below it */
    uint32_t      n_rings;
    SummaryTotals tot;
    GString      *scratch;
    bool          sorted;
};

static const EtlGuid GUID_RT_LOST = { 0x6a399ae0, 0x4bc6, 0x4de9, { 0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e } };

const char *summary_class_name(SummaryClass c)
{
    static const char *const n[] = { "kernel", "classic", "event", "message", "other" };
    return (unsigned)c < G_N_ELEMENTS(n) ? n[c] : "?";
}

static guint key_hash(gconstpointer p)
{
    const Key *k = p;
    return etl_guid_hash(&k->provider) ^ ((guint)k->event_id * 31u + k->opcode) ^ ((guint)k->cls << 24) ^
           g_direct_hash(k->tl_name);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    const Key *x = a, *y = b;
    return x->cls == y->cls && x->event_id == y->event_id && x->opcode == y->opcode && x->tl_name == y->tl_name &&
           etl_guid_equal(&x->provider, &y->provider);
}

Summary *summary_new(EtlTrace *t)
{
    Summary *s = g_new0(Summary, 1);
    s->t = t;
    s->rows = g_array_new(FALSE, TRUE, sizeof(SummaryRow));
    s->other = g_hash_table_new_full(key_hash, key_equal, g_free, NULL);
    s->n_rings = MAX(etl_trace_cpu_slots(t), 1u);
    s->rings = g_new0(CpuRing *, s->n_rings);
    s->scratch = g_string_new(NULL);
    return s;
}

void summary_free(Summary *s)
{
    if (!s) return;
    g_array_free(s->rows, TRUE);
    g_free(s->kidx);
    g_hash_table_destroy(s->other);
    for (uint32_t i = 0; i < s->n_rings; i++) g_free(s->rings[i]);
    g_free(s->rings);
    g_string_free(s->scratch, TRUE);
    g_free(s);
}

static const char *intern_astr(Summary *s, EtlAStr a)
{
    if (!a.len) return NULL;
    g_string_truncate(s->scratch, 0);
    etl_astr_append_utf8(s->scratch, a);
    return g_intern_string(s->scratch->str);
}

static uint32_t new_row(Summary *s, SummaryClass cls, const EtlEvent *ev, const char *tl_name)
{
    SummaryRow row = { 0 };
    row.cls = cls;
    row.provider = ev->provider;
    row.opcode = ev->opcode;
    row.event_id = (cls == SUMMARY_EVENT || cls == SUMMARY_MESSAGE) ? ev->event_id : 0;
    const char *pn = etl_provider_name(&ev->provider);
    if (!pn && cls == SUMMARY_EVENT) pn = intern_astr(s, etl_event_tl_provider_name(ev));
    row.provider_name = pn ? g_intern_string(pn) : NULL;
    if (cls == SUMMARY_KERNEL || cls == SUMMARY_CLASSIC) {
        const char *en = etl_opcode_name(&ev->provider, ev->opcode);
        row.event_name = en ? g_intern_string(en) : NULL;
    } else if (cls == SUMMARY_EVENT) {
        row.event_name = tl_name;
    }
    g_array_append_val(s->rows, row);
    s->sorted = false;
    return s->rows->len - 1;
}

static G_GNUC_NO_INLINE uint32_t row_for_other(Summary *s, const EtlEvent *ev);

static inline uint32_t row_for(Summary *s, const EtlEvent *ev)
{
    if (G_LIKELY(etl_header_kind_is_kernel(ev->kind))) {
        /* Image/Load arrives as hook 0x030A: count it under the Image group. */
        uint32_t k = (ev->group == ETL_GROUP_PROCESS && ev->opcode == 10) ? (ETL_GROUP_IMAGE << 8 | 10)
                                                                          : ((uint32_t)ev->group << 8 | ev->opcode);
        if (G_UNLIKELY(!s->kidx)) s->kidx = g_new0(uint32_t, 65536);
        uint32_t r = s->kidx[k];
        if (G_LIKELY(r)) return r - 1;
        r = new_row(s, SUMMARY_KERNEL, ev, NULL);
        s->kidx[k] = r + 1;
        return r;
    }
    return row_for_other(s, ev);
}

/* Classic, manifest, TraceLogging, WPP and other events: keyed by provider and id. */
static uint32_t row_for_other(Summary *s, const EtlEvent *ev)
{
    Key key = { 0 };
    switch (ev->kind) {
    case ETL_HDR_FULL:
    case ETL_HDR_INSTANCE: key.cls = SUMMARY_CLASSIC; key.opcode = ev->opcode; break;
    case ETL_HDR_EVENT:
        key.cls = SUMMARY_EVENT;
        key.opcode = ev->opcode;
        key.event_id = ev->event_id;
        if (ev->n_ext) key.tl_name = intern_astr(s, etl_event_tl_event_name(ev));
        break;
    case ETL_HDR_MESSAGE: key.cls = SUMMARY_MESSAGE; key.event_id = ev->event_id; break;
    default: key.cls = SUMMARY_OTHER; break;
    }
    key.provider = ev->provider;
    if (s->have_last && key_equal(&key, &s->last_key)) return s->last_row;
    gpointer v = g_hash_table_lookup(s->other, &key);
    uint32_t r;
    if (v) {
        r = GPOINTER_TO_UINT(v) - 1;
    } else {
        r = new_row(s, key.cls, ev, key.tl_name);
        g_hash_table_insert(s->other, g_memdup2(&key, sizeof key), GUINT_TO_POINTER(r + 1));
    }
    s->last_key = key;
    s->last_row = r;
    s->have_last = true;
    return r;
}

/* A stack belongs to the event on its CPU with the same timestamp (and thread, when the event
 * header has one).  Several events can share a clock tick (a SampledProfile and the clock ISR
 * that follows it); the stack walk is taken when the first of them is logged, and a user-mode
 * half arrives later still, so the oldest candidate wins (seen in win7-x64-latency-ppt.etl). */
static void match_stack(Summary *s, const EtlEvent *ev, int64_t event_ts, uint32_t stack_tid)
{
    s->tot.stack_events++;
    if (ev->cpu >= s->n_rings || !s->rings[ev->cpu]) {
        s->tot.stacks_unmatched++;
        return;
    }
    CpuRing *cr = s->rings[ev->cpu];
    Recent *hit = NULL;
    if (G_LIKELY(cr->since_inv >= RING - 1)) {
        /* The ring's entries are in timestamp order (the usual case: one CPU's events arrive in
         * time order), so the entries with event_ts are adjacent and the newest ones come
         * first from the head: walk back from the newest and stop at the first older
         * timestamp; the last candidate seen is the oldest, as in the full scan below. */
        for (uint32_t i = 1; i <= RING; i++) {
            Recent *rc = &cr->r[(cr->head - i) % RING];
            if (rc->row == 0 || rc->ts < event_ts) break; /* empty slots are all older */
            if (rc->ts == event_ts && (rc->tid == ETL_NO_ID || rc->tid == stack_tid)) hit = rc;
        }
    } else {
        for (uint32_t i = 0; i < RING; i++) {
            Recent *rc = &cr->r[(cr->head + i) % RING]; /* oldest first */
            if (rc->row == 0 || rc->ts != event_ts) continue;
            if (rc->tid != ETL_NO_ID && rc->tid != stack_tid) continue;
            hit = rc;
            break;
        }
    }
    if (!hit) {
        s->tot.stacks_unmatched++;
        return;
    }
    if (!hit->has_stack) {
        hit->has_stack = true;
        g_array_index(s->rows, SummaryRow, hit->row - 1).with_stack++;
    }
    s->tot.stacks_matched++;
}

static void count_model_inputs(Summary *s, const EtlEvent *ev, const EtlKernelEvent *k)
{
    bool rundown = ev->opcode == 3 || ev->opcode == 4;
    switch (k->kind) {
    case ETL_K_PROCESS: s->tot.process_rundown += rundown; break;
    case ETL_K_THREAD: s->tot.thread_rundown += rundown; break;
    case ETL_K_IMAGE:
        s->tot.image_rundown += rundown;
        s->tot.image_events++;
        break;
    case ETL_K_IMAGE_ID: s->tot.image_id++; break;
    case ETL_K_DBGID_RSDS: s->tot.image_dbgid++; break;
    case ETL_K_STACK_KEY_REF: s->tot.stack_key_refs++; break;
    case ETL_K_STACK_KEY_DEF: s->tot.stack_key_defs++; break;
    case ETL_K_HEADER_EXTENSION: {
        uint32_t any = 0;
        for (int i = 0; i < 8; i++) any |= k->u.header_ext.group_masks[i];
        if (any) {
            s->tot.have_group_masks = true;
            memcpy(s->tot.group_masks, k->u.header_ext.group_masks, sizeof s->tot.group_masks);
        }
        break;
    }
    default: break;
    }
}

void summary_add(Summary *s, const EtlEvent *ev)
{
    uint32_t r = row_for(s, ev);
    SummaryRow *row = &g_array_index(s->rows, SummaryRow, r);
    row->count++;
    row->bytes += ev->size;

    bool kernel = etl_header_kind_is_kernel(ev->kind);
    if (etl_header_kind_is_opcode_keyed(ev->kind)) {
        EtlKernelEvent k;
        EtlDecodeStatus st = etl_kernel_decode(ev, &k);
        if (kernel) s->tot.kernel_events++;
        if (st == ETL_DECODE_OK) {
            if (kernel) s->tot.kernel_decoded++;
            count_model_inputs(s, ev, &k);
            if (k.kind == ETL_K_STACK) {
                match_stack(s, ev, (int64_t)k.u.stack.event_timestamp, k.u.stack.tid);
                return;
            }
            if (k.kind == ETL_K_STACK_KEY_REF) {
                match_stack(s, ev, (int64_t)k.u.stack_key_ref.event_timestamp, k.u.stack_key_ref.tid);
                return;
            }
            if (k.kind == ETL_K_STACK_KEY_DEF) return;
        } else if (st == ETL_DECODE_UNKNOWN) {
            row->undecoded++;
            if (kernel) s->tot.kernel_undecoded++;
        } else {
            row->malformed++;
            if (kernel) s->tot.kernel_malformed++;
            const char *pn = row->provider_name ? row->provider_name : "?";
            const char *en = row->event_name ? row->event_name : "?";
            etl_trace_add_diag(s->t, ETL_DIAG_PAYLOAD, ev, "%s/%s v%u payload of %u bytes is too short for its layout",
                               pn, en, ev->version, ev->payload_len);
        }
    } else if (ev->kind == ETL_HDR_EVENT) {
        if (ev->n_ext && (etl_event_ext(ev, ETL_EXT_STACK_TRACE64) || etl_event_ext(ev, ETL_EXT_STACK_TRACE32) ||
                          etl_event_ext(ev, ETL_EXT_STACK_KEY64) || etl_event_ext(ev, ETL_EXT_STACK_KEY32))) {
            row->with_stack++;
            s->tot.stack_events++;
            s->tot.stacks_matched++;
        }
        if (G_UNLIKELY(etl_guid_equal(&ev->provider, &GUID_RT_LOST))) s->tot.lost_event_records++;
        return;
    }
    /* Remember the event so a following StackWalk event can be attributed to it.  Only kernel
     * events get StackWalk stacks: xperf merges KernelTraceControl ImageID/DbgID events with
     * the same timestamp and thread right before each Image/Load, and they must not take its
     * stack (win7-x64-net45-x86proc: 111 Image/Load stacks). */
    if (kernel && ev->cpu < s->n_rings && ev->has_timestamp) {
        CpuRing *cr = s->rings[ev->cpu];
        if (G_UNLIKELY(!cr)) cr = s->rings[ev->cpu] = g_new0(CpuRing, 1);
        /* Order bookkeeping for match_stack: the ring is in time order once RING - 1 writes
         * have passed since the last one below its predecessor (the inverted entry is then the
         * oldest).  last_ts starts at 0, so a first negative timestamp counts as an inversion:
         * erring that way only sends match_stack to its full scan. */
        if (ev->timestamp < cr->last_ts) cr->since_inv = 0;
        else if (cr->since_inv < RING) cr->since_inv++;
        cr->last_ts = ev->timestamp;
        cr->r[cr->head] = (Recent){ ev->timestamp, r + 1, ev->tid, false };
        cr->head = (cr->head + 1) % RING;
    }
}

static int row_cmp(const void *a, const void *b)
{
    const SummaryRow *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    int c = g_strcmp0(x->provider_name, y->provider_name);
    if (c) return c;
    /* field by field: the struct holds host-order integers */
    if (x->provider.data1 != y->provider.data1) return x->provider.data1 < y->provider.data1 ? -1 : 1;
    if (x->provider.data2 != y->provider.data2) return x->provider.data2 < y->provider.data2 ? -1 : 1;
    if (x->provider.data3 != y->provider.data3) return x->provider.data3 < y->provider.data3 ? -1 : 1;
    c = memcmp(x->provider.data4, y->provider.data4, 8);
    if (c) return c;
    if (x->cls != y->cls) return (int)x->cls - (int)y->cls;
    if (x->opcode != y->opcode) return (int)x->opcode - (int)y->opcode;
    if (x->event_id != y->event_id) return (int)x->event_id - (int)y->event_id;
    return g_strcmp0(x->event_name, y->event_name);
}

const SummaryRow *summary_rows(Summary *s, guint *n)
{
    if (!s->sorted) {
        /* Sorting invalidates row indices used by the caches; summaries are read once at the end. */
        g_array_sort(s->rows, row_cmp);
        s->sorted = true;
        g_free(s->kidx);
        s->kidx = NULL;
        g_hash_table_remove_all(s->other);
        s->have_last = false;
        for (uint32_t i = 0; i < s->n_rings; i++) g_clear_pointer(&s->rings[i], g_free);
    }
    *n = s->rows->len;
    return (const SummaryRow *)s->rows->data;
}

const SummaryTotals *summary_totals(const Summary *s) { return &s->tot; }
