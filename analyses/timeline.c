/* timeline.c — DPC/ISR busy time and CPU use in time columns (for charts). */
#include "timeline.h"

#include <string.h>

#define MAX_LANES 1024u
#define MAX_CELLS (2u << 20) /* lanes × columns of the busy array */

struct Timeline {
    TimelineKind kind;
    Model     *m;
    guint      n_cols;
    int64_t    t0, t1;         /* span, raw */
    GHashTable *key_index;     /* name -> index + 1 */
    GPtrArray *key_names;      /* char* */
    GArray    *key_ticks;      /* uint64_t */
    GHashTable *cells;         /* (lane << 40 | col << 20 | key) -> ticks */
    GArray    *busy;           /* uint64_t [lane * n_cols + col] */
    guint      lanes;
    uint64_t   beyond;
    /* CPU use */
    int64_t   *last_ts;        /* per CPU: time of its last switch */
    uint32_t  *last_tid;
    uint32_t   n_cpu;
    uint32_t   cpus_seen;
    /* finished */
    TimelineKey *sorted;
    guint     *remap;          /* sorted index -> internal index */
};

/* t0 < t1, and t1 - t0 fits in an int64 (wild header times must not overflow later) */
static void span_fix(Timeline *tl)
{
    int64_t d;
    if (tl->t1 <= tl->t0) {
        if (tl->t0 == INT64_MAX) tl->t0--;
        tl->t1 = tl->t0 + 1;
    }
    if (__builtin_sub_overflow(tl->t1, tl->t0, &d)) tl->t1 = tl->t0 + (INT64_MAX / 2); /* t0 < 0 here */
}

Timeline *timeline_new(TimelineKind kind, Model *m, const EtlTrace *t, guint n_cols)
{
    Timeline *tl = g_new0(Timeline, 1);
    tl->kind = kind;
    tl->m = m;
    tl->n_cols = CLAMP(n_cols, 1u, 20000u);
    const EtlLogfileHeader *h = etl_trace_header(t);
    tl->t0 = h->ts0;
    /* the header's recorded span, in the trace's clock */
    int64_t span_100ns;
    if (__builtin_sub_overflow(h->end_time, h->start_time, &span_100ns)) span_100ns = -1; /* corrupt header */
    int64_t ticks = h->ticks_per_second; /* implausible spans: one second */
    if (span_100ns > 0 && span_100ns < INT64_C(864000000000) * 30) {
        /* exact: whole seconds, then the remainder (no double rounding a tick away) */
        __int128 wide = ((__int128)span_100ns * h->ticks_per_second + 5000000) / 10000000;
        ticks = wide > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)wide;
    }
    if (__builtin_add_overflow(tl->t0, MAX(ticks, 1), &tl->t1)) tl->t1 = INT64_MAX;
    span_fix(tl);
    tl->key_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    tl->key_names = g_ptr_array_new();
    tl->key_ticks = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    tl->cells = g_hash_table_new(g_int64_hash, g_int64_equal);
    tl->busy = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    tl->n_cpu = MAX(etl_trace_cpu_slots(t), 1u);
    tl->last_ts = g_new(int64_t, tl->n_cpu);
    tl->last_tid = g_new(uint32_t, tl->n_cpu);
    for (uint32_t i = 0; i < tl->n_cpu; i++) {
        tl->last_ts[i] = INT64_MIN;
        tl->last_tid[i] = ETL_NO_ID;
    }
    if (kind == TIMELINE_CPU) {
        tl->lanes = 1;
        g_array_set_size(tl->busy, tl->n_cols);
    }
    return tl;
}

static void free_cell(gpointer key, gpointer value, gpointer user)
{
    (void)value;
    (void)user;
    g_free(key);
}

void timeline_free(Timeline *tl)
{
    if (!tl) return;
    g_hash_table_foreach(tl->cells, free_cell, NULL);
    g_hash_table_destroy(tl->cells);
    g_hash_table_destroy(tl->key_index);
    g_ptr_array_free(tl->key_names, TRUE);
    g_array_free(tl->key_ticks, TRUE);
    g_array_free(tl->busy, TRUE);
    g_free(tl->last_ts);
    g_free(tl->last_tid);
    g_free(tl->sorted);
    g_free(tl->remap);
    g_free(tl);
}

void timeline_set_span(Timeline *tl, int64_t from, int64_t to)
{
    if (from != INT64_MIN) tl->t0 = from;
    if (to != INT64_MAX) tl->t1 = to;
    span_fix(tl);
}

static guint key_of(Timeline *tl, const char *name)
{
    gpointer v = g_hash_table_lookup(tl->key_index, name);
    if (v) return GPOINTER_TO_UINT(v) - 1;
    char *k = g_strdup(name);
    g_hash_table_insert(tl->key_index, k, GUINT_TO_POINTER(tl->key_names->len + 1));
    g_ptr_array_add(tl->key_names, k);
    uint64_t z = 0;
    g_array_append_val(tl->key_ticks, z);
    return tl->key_names->len - 1;
}

static void credit_cell(Timeline *tl, guint lane, guint col, guint key, uint64_t ticks)
{
    int64_t k = (int64_t)lane << 40 | (int64_t)col << 20 | key;
    int64_t *pk = NULL;
    gpointer old = NULL;
    if (g_hash_table_lookup_extended(tl->cells, &k, (gpointer *)&pk, &old)) {
        g_hash_table_insert(tl->cells, pk, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(old) + ticks));
    } else {
        pk = g_new(int64_t, 1);
        *pk = k;
        g_hash_table_insert(tl->cells, pk, GSIZE_TO_POINTER((gsize)ticks));
    }
    g_array_index(tl->busy, uint64_t, (gsize)lane * tl->n_cols + col) += ticks;
    g_array_index(tl->key_ticks, uint64_t, key) += ticks;
}

/* Split [a, b) over the columns it crosses. */
static void credit(Timeline *tl, guint lane, guint key, int64_t a, int64_t b)
{
    if (b <= a || b <= tl->t0 || key >= (1u << 20)) return;
    if (a < tl->t0) a = tl->t0;
    if (b > tl->t1) {
        int64_t over;
        if (__builtin_sub_overflow(b, MAX(a, tl->t1), &over)) over = INT64_MAX;
        tl->beyond += (uint64_t)over;
        b = tl->t1;
        if (b <= a) return;
    }
    double w = (double)(tl->t1 - tl->t0) / tl->n_cols;
    while (a < b) {
        guint col = (guint)MIN((double)(a - tl->t0) / w, (double)(tl->n_cols - 1));
        int64_t col_end = tl->t0 + (int64_t)((double)(col + 1) * w);
        while (col_end <= a && col < tl->n_cols - 1) { /* a on a boundary, rounded down */
            col++;
            col_end = tl->t0 + (int64_t)((double)(col + 1) * w);
        }
        if (col == tl->n_cols - 1) col_end = b;
        int64_t e = MIN(b, col_end);
        credit_cell(tl, lane, col, key, (uint64_t)(e - a));
        a = e;
    }
}

static void ensure_lanes(Timeline *tl, guint lanes)
{
    if (lanes <= tl->lanes) return;
    tl->lanes = lanes;
    g_array_set_size(tl->busy, (gsize)lanes * tl->n_cols);
}

void timeline_add(Timeline *tl, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx)
{
    (void)ctx;
    if (!k) return;
    if (tl->kind == TIMELINE_DPCISR) {
        uint64_t start, routine;
        if (k->kind == ETL_K_DPC) {
            start = k->u.dpc.initial_time;
            routine = k->u.dpc.routine;
        } else if (k->kind == ETL_K_ISR) {
            start = k->u.isr.initial_time;
            routine = k->u.isr.routine;
        } else {
            return;
        }
        if ((int64_t)start > ev->timestamp || ev->cpu >= MAX_LANES || (ev->cpu + 1u) * tl->n_cols > MAX_CELLS) return;
        const ModelImage *im = model_image_at(tl->m, NULL, routine, ev->timestamp);
        ensure_lanes(tl, ev->cpu + 1u);
        credit(tl, ev->cpu, key_of(tl, im ? im->name : "Unknown"), (int64_t)start, ev->timestamp);
        return;
    }
    if (k->kind != ETL_K_CSWITCH || ev->cpu >= tl->n_cpu) return;
    uint32_t c = ev->cpu;
    if (tl->last_ts[c] == INT64_MIN) tl->cpus_seen++;
    /* the thread switched out ran since the last switch on this CPU */
    uint32_t old = k->u.cswitch.old_tid;
    if (tl->last_ts[c] != INT64_MIN && old != 0) {
        ModelThread *th = model_thread_at(tl->m, old, ev->timestamp);
        uint32_t pid = th ? th->pid : ETL_NO_ID;
        if (pid != 0) {
            GString *s = g_string_new(NULL);
            model_format_process(th ? th->process : NULL, pid, s);
            credit(tl, 0, key_of(tl, s->str), tl->last_ts[c], ev->timestamp);
            g_string_free(s, TRUE);
        }
    }
    tl->last_ts[c] = ev->timestamp;
    tl->last_tid[c] = k->u.cswitch.new_tid;
}

static int key_cmp(const void *a, const void *b, void *user)
{
    const Timeline *tl = user;
    guint x = *(const guint *)a, y = *(const guint *)b;
    uint64_t tx = g_array_index(tl->key_ticks, uint64_t, x), ty = g_array_index(tl->key_ticks, uint64_t, y);
    if (tx != ty) return tx > ty ? -1 : 1;
    return strcmp(g_ptr_array_index(tl->key_names, x), g_ptr_array_index(tl->key_names, y));
}

void timeline_finish(Timeline *tl)
{
    if (tl->sorted) return;
    /* CPU use: the threads still on their CPUs ran until the end of the span */
    for (uint32_t c = 0; tl->kind == TIMELINE_CPU && c < tl->n_cpu; c++) {
        uint32_t tid = tl->last_tid[c];
        if (tl->last_ts[c] == INT64_MIN || tid == 0 || tid == ETL_NO_ID || tl->last_ts[c] >= tl->t1) continue;
        ModelThread *th = model_thread_at(tl->m, tid, tl->last_ts[c]);
        uint32_t pid = th ? th->pid : ETL_NO_ID;
        if (pid == 0) continue;
        GString *s = g_string_new(NULL);
        model_format_process(th ? th->process : NULL, pid, s);
        credit(tl, 0, key_of(tl, s->str), tl->last_ts[c], tl->t1);
        g_string_free(s, TRUE);
    }
    guint n = tl->key_names->len;
    tl->remap = g_new(guint, MAX(n, 1u));
    for (guint i = 0; i < n; i++) tl->remap[i] = i;
    g_qsort_with_data(tl->remap, (gint)n, sizeof(guint), key_cmp, tl);
    tl->sorted = g_new0(TimelineKey, MAX(n, 1u));
    for (guint i = 0; i < n; i++) {
        tl->sorted[i].name = g_ptr_array_index(tl->key_names, tl->remap[i]);
        tl->sorted[i].ticks = g_array_index(tl->key_ticks, uint64_t, tl->remap[i]);
    }
}

guint timeline_columns(const Timeline *tl) { return tl->n_cols; }
guint timeline_lanes(const Timeline *tl) { return tl->lanes; }
int64_t timeline_t0(const Timeline *tl) { return tl->t0; }
int64_t timeline_t1(const Timeline *tl) { return tl->t1; }
uint64_t timeline_beyond(const Timeline *tl) { return tl->beyond; }
uint32_t timeline_cpus(const Timeline *tl) { return tl->cpus_seen; }

const TimelineKey *timeline_keys(const Timeline *tl, guint *n)
{
    *n = tl->sorted ? tl->key_names->len : 0;
    return tl->sorted;
}

uint64_t timeline_ticks(const Timeline *tl, guint lane, guint col, guint key)
{
    if (!tl->sorted || key >= tl->key_names->len) return 0;
    int64_t k = (int64_t)lane << 40 | (int64_t)col << 20 | tl->remap[key];
    return GPOINTER_TO_SIZE(g_hash_table_lookup(tl->cells, &k));
}

uint64_t timeline_busy(const Timeline *tl, guint lane, guint col)
{
    if (lane >= tl->lanes || col >= tl->n_cols) return 0;
    return g_array_index(tl->busy, uint64_t, (gsize)lane * tl->n_cols + col);
}
