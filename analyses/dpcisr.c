/* dpcisr.c — DPC/ISR latency analysis: intervals, nesting, exclusive time, histograms,
 * watchdog spans and usage over time.  Semantics in dpcisr.h and docs/analyses-dpcisr.md.
 *
 * Everything is computed in raw clock ticks with exact integer comparisons (bucket bounds,
 * thresholds and the watchdog gap are converted once to the largest tick count they admit);
 * microseconds appear only in the results.
 */
#include "dpcisr.h"

#include <math.h>

/* Per CPU, the top-level intervals and the merged watchdog spans of the last 10 s are kept (an
 * older one can never be adopted by a later interval), at most this many of each: memory stays
 * small whatever the interrupt rate.  A later interval that would have adopted one dropped by
 * the cap is counted (nesting_lost, spans_split): at 1,000 clock interrupts a second that is an
 * interval running for more than 4 s. */
#define NEST_CAP   4096u
#define SPAN_CAP   4096u
#define USAGE_MAX  (1u << 20) /* usage intervals kept per series */
#define USAGE_BUDGET (4u << 20) /* usage cells (8 bytes) kept in all, all CPUs: 32 MiB */
#define MIN_INTERVAL_NS 1000000 /* usage intervals of at least 1 ms */

/* ------------------------------------------------------------------ names */

static const char *const TYPE_NAMES[DPCISR_TYPE_COUNT_] = {
    "DPC", "TimerDPC", "ThreadedDPC", "ISR", "MSI-ISR", "PassiveISR",
};

const char *dpcisr_type_name(DpcIsrType t)
{
    return (unsigned)t < DPCISR_TYPE_COUNT_ ? TYPE_NAMES[t] : "?";
}

const char *dpcisr_kind_name(DpcIsrKind k)
{
    return k == DPCISR_KIND_ISR ? "ISR" : "DPC";
}

DpcIsrKind dpcisr_type_kind(DpcIsrType t)
{
    return t >= DPCISR_ISR ? DPCISR_KIND_ISR : DPCISR_KIND_DPC;
}

bool dpcisr_type_dispatch(DpcIsrType t)
{
    return t != DPCISR_THREADED_DPC && t != DPCISR_PASSIVE_ISR;
}

bool dpcisr_type_from_opcode(uint8_t opcode, DpcIsrType *out)
{
    switch (opcode) {
    case 0x44: *out = DPCISR_DPC; return true;
    case 0x45: *out = DPCISR_TIMER_DPC; return true;
    case 0x42: *out = DPCISR_THREADED_DPC; return true;
    case 0x43: *out = DPCISR_ISR; return true;
    case 0x32: *out = DPCISR_MSI_ISR; return true;
    case 0x5F: *out = DPCISR_PASSIVE_ISR; return true;
    default: return false;
    }
}

void dpcisr_options_init(DpcIsrOptions *o)
{
    memset(o, 0, sizeof *o);
    o->threshold_dpc_us = 100;
    o->threshold_isr_us = 25;
    o->interval_s = 1;
    o->bucket_s = 2;
    o->gap_us = 1;
    o->from_ts = INT64_MIN;
    o->to_ts = INT64_MAX;
}

/* ------------------------------------------------------------------ state */

/* One accumulator per (type, CPU, module, routine): the key first, so that a FineKey* can be
 * looked up in the table of Fine*. */
typedef struct {
    uint64_t routine;
    uint32_t cpu, mod;
    uint8_t  type;
} FineKey;

typedef struct {
    FineKey  k;
    uint64_t base;
    uint64_t count, fragments, over;
    int64_t  total, excl, max;
    int64_t  max_start, max_end;
    uint64_t hist[DPCISR_HIST_BUCKETS];
} Fine;

/* A top-level interval of a CPU (not yet adopted by a later, enclosing one). */
typedef struct {
    int64_t start, end, dur;
} Nest;

typedef struct {
    uint32_t mod, count;
    int64_t  ticks;
} Share;

/* A merged run of DISPATCH-level intervals; its shares are inline while there is one module. */
typedef struct {
    int64_t  start, end;
    uint64_t n;
    uint32_t n_sh, cap_sh;   /* cap_sh 0: the single share is `one` */
    Share    one;
    Share   *more;
} Span;

typedef struct {
    GArray  *nest;           /* Nest, ordered by end; live part from nest_lo */
    guint    nest_lo;
    int64_t  nest_capdrop_end; /* end of the last entry dropped by the cap (INT64_MIN: none) */
    GArray  *spans;          /* Span, ordered; live part from span_lo */
    guint    span_lo;
    int64_t  span_final_end; /* end of the last span finalised by the cap (INT64_MIN: none) */
    Span     best;
    bool     has_best;
    GArray  *usage[2][DPCISR_KIND_COUNT_]; /* [interval, bucket][kind]: uint64 ns */
    Fine    *last_fine;      /* the accumulator of the CPU's last interval (a one-entry cache) */
} Cpu;

struct DpcIsr {
    Model                  *m;
    const EtlLogfileHeader *h;
    DpcIsrOptions           o;
    DpcIsrTotals            tot;
    int64_t                 max_ticks;
    uint64_t                bucket_max[DPCISR_HIST_BUCKETS]; /* largest tick count in bucket i */
    int64_t                 gap_ticks;
    int64_t                 first_ts, last_ts;
    /* modules: id 0 is Unknown */
    GPtrArray              *mod_names;
    GHashTable             *mod_ids;   /* name -> GUINT_TO_POINTER(id) */
    const ModelImage       *last_im;   /* the image of the last lookup and its id */
    uint32_t                last_mod;
    /* accumulators */
    GHashTable             *fine;      /* Fine* -> Fine* (keyed on its key fields) */
    GPtrArray              *fines;     /* owner, in creation order */
    GPtrArray              *cpus;      /* Cpu*, index = CPU (NULL until seen) */
    /* usage */
    int64_t                 origin_ts;
    int64_t                 usage_len_ns[2];
    guint                   usage_max_idx[2]; /* highest index written + 1 */
    guint                   usage_n[2];
    uint64_t                usage_cells;      /* cells allocated, all series */
    /* results */
    DpcIsrInterval          longest[DPCISR_LONGEST_MAX];
    guint                   n_longest;
    GArray                 *spans_out;  /* DpcIsrSpan */
    GArray                 *shares_out; /* DpcIsrShare */
    bool                    finished;
};

/* ------------------------------------------------------------------ tick arithmetic */

static int64_t clamp_i128(__int128 v)
{
    if (v > INT64_MAX) return INT64_MAX;
    if (v < INT64_MIN) return INT64_MIN;
    return (int64_t)v;
}

/* *a += b, saturated: a corrupt header can claim a clock of 10^17 Hz, and sums of valid
 * durations must still not overflow. */
static inline void add_sat(int64_t *a, int64_t b)
{
    if (__builtin_add_overflow(*a, b, a)) *a = b < 0 ? INT64_MIN : INT64_MAX;
}

static int64_t span_len(int64_t start, int64_t end)
{
    return clamp_i128((__int128)end - start);
}

/* floor(ns * freq / 1e9): the largest tick count whose duration is <= ns. */
static int64_t ns_to_ticks_floor(int64_t ns, int64_t freq)
{
    if (ns < 0) return -1;
    return clamp_i128((__int128)ns * freq / 1000000000);
}

static int64_t us_to_ns(double us)
{
    if (!(us > 0)) return 0;
    if (us > 9e12) return INT64_MAX / 4;
    return (int64_t)llround(us * 1000.0);
}

double dpcisr_ticks_us(const DpcIsr *d, int64_t ticks)
{
    return (double)etl_ticks_to_ns(d->h, ticks) / 1000.0;
}

double dpcisr_time_s(const DpcIsr *d, int64_t ts)
{
    return etl_time_rel_s(d->h, ts);
}

/* ts - origin in ns (saturated). */
static int64_t rel_ns(const DpcIsr *d, int64_t ts, int64_t origin)
{
    return etl_ticks_to_ns(d->h, clamp_i128((__int128)ts - origin));
}

/* ------------------------------------------------------------------ construction */

static guint fine_hash(gconstpointer p)
{
    const FineKey *f = p;
    uint64_t h = f->routine * UINT64_C(0x9E3779B97F4A7C15);
    h ^= ((uint64_t)f->cpu << 8 | f->type) * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= (uint64_t)f->mod * UINT64_C(0x165667B19E3779F9);
    return (guint)(h ^ (h >> 32));
}

static gboolean fine_equal(gconstpointer a, gconstpointer b)
{
    const FineKey *x = a, *y = b;
    return x->routine == y->routine && x->cpu == y->cpu && x->type == y->type && x->mod == y->mod;
}

DpcIsr *dpcisr_new(Model *m, const EtlTrace *t, const DpcIsrOptions *o)
{
    DpcIsr *d = g_new0(DpcIsr, 1);
    d->m = m;
    d->h = etl_trace_header(t);
    if (o) d->o = *o;
    else dpcisr_options_init(&d->o);
    int64_t freq = d->h->ticks_per_second > 0 ? d->h->ticks_per_second : 1;
    d->max_ticks = clamp_i128((__int128)freq * DPCISR_MAX_DURATION_S);
    for (unsigned i = 0; i < DPCISR_HIST_BUCKETS; i++) {
        __int128 v = ((__int128)freq << i) / 1000000;
        d->bucket_max[i] = v > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)v;
    }
    double thr[2] = { d->o.threshold_dpc_us, d->o.threshold_isr_us };
    for (int k = 0; k < DPCISR_KIND_COUNT_; k++) {
        if (!(thr[k] >= 0) || !isfinite(thr[k])) thr[k] = k ? 25 : 100;
        d->tot.threshold_us[k] = thr[k];
        d->tot.threshold_ticks[k] = ns_to_ticks_floor(us_to_ns(thr[k]), freq);
    }
    if (!(d->o.gap_us >= 0) || !isfinite(d->o.gap_us)) d->o.gap_us = 1;
    d->tot.gap_us = d->o.gap_us;
    d->gap_ticks = ns_to_ticks_floor(us_to_ns(d->o.gap_us), freq);
    if (d->gap_ticks < 0) d->gap_ticks = 0;
    double lens[2] = { d->o.interval_s, d->o.bucket_s };
    for (int i = 0; i < 2; i++) {
        if (!(lens[i] > 0) || !isfinite(lens[i])) {
            d->usage_len_ns[i] = 0;
            continue;
        }
        double ns = lens[i] * 1e9;
        d->usage_len_ns[i] = ns < MIN_INTERVAL_NS ? MIN_INTERVAL_NS : ns > 1e18 ? (int64_t)1e18 : (int64_t)ns;
    }
    d->tot.header_cpus = d->h->cpus;
    d->tot.cpus = d->h->cpus <= DPCISR_MAX_HEADER_CPUS ? d->h->cpus : 0;
    d->tot.clock_ok = d->h->clock_type == ETL_CLOCK_QPC || d->h->clock_type == ETL_CLOCK_CPU_CYCLES;
    d->first_ts = INT64_MAX;
    d->last_ts = INT64_MIN;
    d->origin_ts = d->o.from_ts != INT64_MIN ? d->o.from_ts : d->h->ts0;
    d->mod_names = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(d->mod_names, g_strdup(DPCISR_UNKNOWN_MODULE));
    d->mod_ids = g_hash_table_new(g_str_hash, g_str_equal);
    d->fine = g_hash_table_new(fine_hash, fine_equal);
    d->fines = g_ptr_array_new_with_free_func(g_free);
    d->cpus = g_ptr_array_new();
    d->spans_out = g_array_new(FALSE, TRUE, sizeof(DpcIsrSpan));
    d->shares_out = g_array_new(FALSE, TRUE, sizeof(DpcIsrShare));
    return d;
}

static void span_clear(Span *s)
{
    g_free(s->more);
    s->more = NULL;
    s->cap_sh = 0;
    s->n_sh = 0;
}

static void cpu_free(Cpu *c)
{
    if (!c) return;
    g_array_free(c->nest, TRUE);
    for (guint i = c->span_lo; i < c->spans->len; i++) span_clear(&g_array_index(c->spans, Span, i));
    g_array_free(c->spans, TRUE);
    if (c->has_best) span_clear(&c->best);
    for (int u = 0; u < 2; u++)
        for (int k = 0; k < DPCISR_KIND_COUNT_; k++)
            if (c->usage[u][k]) g_array_free(c->usage[u][k], TRUE);
    g_free(c);
}

void dpcisr_free(DpcIsr *d)
{
    if (!d) return;
    for (guint i = 0; i < d->cpus->len; i++) cpu_free(g_ptr_array_index(d->cpus, i));
    g_ptr_array_free(d->cpus, TRUE);
    g_hash_table_destroy(d->fine);
    g_ptr_array_free(d->fines, TRUE);
    g_hash_table_destroy(d->mod_ids);
    g_ptr_array_free(d->mod_names, TRUE);
    g_array_free(d->spans_out, TRUE);
    g_array_free(d->shares_out, TRUE);
    g_free(d);
}

static Cpu *cpu_get(DpcIsr *d, uint32_t cpu)
{
    if (cpu >= d->cpus->len) g_ptr_array_set_size(d->cpus, (gint)cpu + 1);
    Cpu *c = g_ptr_array_index(d->cpus, cpu);
    if (!c) {
        c = g_new0(Cpu, 1);
        c->nest = g_array_new(FALSE, FALSE, sizeof(Nest));
        c->spans = g_array_new(FALSE, FALSE, sizeof(Span));
        c->nest_capdrop_end = INT64_MIN;
        c->span_final_end = INT64_MIN;
        g_ptr_array_index(d->cpus, cpu) = c;
    }
    return c;
}

static uint32_t module_id(DpcIsr *d, uint64_t routine, int64_t ts, uint64_t *base)
{
    *base = 0;
    const ModelImage *im = d->m ? model_image_at(d->m, NULL, routine, ts) : NULL;
    if (!im || !im->name) return 0;
    *base = im->base;
    if (im == d->last_im) return d->last_mod; /* the model never frees an image */
    d->last_im = im;
    gpointer v;
    if (g_hash_table_lookup_extended(d->mod_ids, im->name, NULL, &v)) return d->last_mod = GPOINTER_TO_UINT(v);
    char *name = g_strdup(im->name);
    g_ptr_array_add(d->mod_names, name);
    uint32_t id = d->mod_names->len - 1;
    g_hash_table_insert(d->mod_ids, name, GUINT_TO_POINTER(id));
    return d->last_mod = id;
}

static const char *module_name(const DpcIsr *d, uint32_t id)
{
    return id < d->mod_names->len ? g_ptr_array_index(d->mod_names, id) : DPCISR_UNKNOWN_MODULE;
}

/* ------------------------------------------------------------------ watchdog spans */

static Share *span_shares(Span *s)
{
    return s->cap_sh ? s->more : &s->one;
}

static void span_add_share(Span *s, uint32_t mod, uint32_t count, int64_t ticks)
{
    Share *sh = span_shares(s);
    for (uint32_t i = 0; i < s->n_sh; i++)
        if (sh[i].mod == mod) {
            sh[i].count += count;
            add_sat(&sh[i].ticks, ticks);
            return;
        }
    if (s->n_sh == 0) {
        s->one = (Share){ mod, count, ticks };
        s->n_sh = 1;
        return;
    }
    if (!s->cap_sh) {
        s->cap_sh = 4;
        s->more = g_new(Share, s->cap_sh);
        s->more[0] = s->one;
    } else if (s->n_sh == s->cap_sh) {
        s->cap_sh *= 2;
        s->more = g_renew(Share, s->more, s->cap_sh);
    }
    s->more[s->n_sh++] = (Share){ mod, count, ticks };
}

/* A span that no later interval can reach: keep it if it is the CPU's longest. */
static void span_finalise(Cpu *c, Span *s)
{
    int64_t len = span_len(s->start, s->end);
    if (!c->has_best || len > span_len(c->best.start, c->best.end)) {
        if (c->has_best) span_clear(&c->best);
        c->best = *s;
        c->has_best = true;
    } else {
        span_clear(s);
    }
}

static void span_add(DpcIsr *d, Cpu *c, int64_t start, int64_t end, uint32_t mod, int64_t excl)
{
    /* finalise spans that ended more than the longest valid duration (+ gap) ago */
    int64_t horizon = clamp_i128((__int128)end - d->max_ticks - d->gap_ticks);
    while (c->span_lo < c->spans->len) {
        Span *s = &g_array_index(c->spans, Span, c->span_lo);
        bool capped = c->spans->len - c->span_lo > SPAN_CAP;
        if (s->end >= horizon && !capped) break;
        if (capped && s->end >= horizon) c->span_final_end = MAX(c->span_final_end, s->end);
        span_finalise(c, s);
        c->span_lo++;
    }
    if (c->span_lo > 1024 && c->span_lo * 2 > c->spans->len) {
        g_array_remove_range(c->spans, 0, c->span_lo);
        c->span_lo = 0;
    }
    if (c->span_final_end != INT64_MIN && (__int128)start - c->span_final_end <= d->gap_ticks) {
        d->tot.anomalies.spans_split++;
        c->span_final_end = INT64_MIN; /* count once per split */
    }
    Span x = { .start = start, .end = end, .n = 1 };
    span_add_share(&x, mod, 1, excl);
    /* adopt the spans that end within the gap before this one starts (or later) */
    while (c->spans->len > c->span_lo) {
        Span *top = &g_array_index(c->spans, Span, c->spans->len - 1);
        if ((__int128)start - top->end > d->gap_ticks) break;
        x.start = MIN(x.start, top->start);
        x.end = MAX(x.end, top->end);
        x.n += top->n;
        Share *sh = span_shares(top);
        for (uint32_t i = 0; i < top->n_sh; i++) span_add_share(&x, sh[i].mod, sh[i].count, sh[i].ticks);
        span_clear(top);
        g_array_set_size(c->spans, c->spans->len - 1);
    }
    g_array_append_val(c->spans, x);
}

/* ------------------------------------------------------------------ nesting */

/* Adopt the top-level intervals inside [start, end]; returns Σ their inclusive durations. */
static int64_t nest_add(DpcIsr *d, Cpu *c, int64_t start, int64_t end, int64_t dur, uint64_t *children)
{
    int64_t horizon = clamp_i128((__int128)end - d->max_ticks);
    while (c->nest_lo < c->nest->len) {
        Nest *n = &g_array_index(c->nest, Nest, c->nest_lo);
        bool capped = c->nest->len - c->nest_lo > NEST_CAP;
        if (n->end >= horizon && !capped) break;
        if (capped && n->end >= horizon) c->nest_capdrop_end = MAX(c->nest_capdrop_end, n->end);
        c->nest_lo++;
    }
    if (c->nest_lo > 1024 && c->nest_lo * 2 > c->nest->len) {
        g_array_remove_range(c->nest, 0, c->nest_lo);
        c->nest_lo = 0;
    }
    if (c->nest_capdrop_end != INT64_MIN && start < c->nest_capdrop_end) d->tot.anomalies.nesting_lost++;
    __int128 sum = 0;
    uint64_t nch = 0;
    while (c->nest->len > c->nest_lo) {
        Nest *top = &g_array_index(c->nest, Nest, c->nest->len - 1);
        /* a child lies within [start, end]; a zero-length interval ending exactly where this
         * one starts ran before it */
        if (!(top->start >= start && top->end <= end && top->end > start)) break;
        sum += top->dur;
        nch++;
        g_array_set_size(c->nest, c->nest->len - 1);
    }
    if (c->nest->len > c->nest_lo) {
        const Nest *top = &g_array_index(c->nest, Nest, c->nest->len - 1);
        /* started before this one and ended inside it (or after it): not nested */
        if (top->end > start && !(top->start == top->end && top->end == start)) d->tot.anomalies.overlaps++;
    }
    Nest x = { start, end, dur };
    g_array_append_val(c->nest, x);
    *children = nch;
    return clamp_i128(sum);
}

/* ------------------------------------------------------------------ usage */

static void usage_add(DpcIsr *d, Cpu *c, int u, DpcIsrKind kind, int64_t start, int64_t end)
{
    int64_t len = d->usage_len_ns[u];
    if (!len) return;
    int64_t s = rel_ns(d, start, d->origin_ts), e = rel_ns(d, end, d->origin_ts);
    if (e < s) return;
    GArray *a = c->usage[u][kind];
    if (!a) a = c->usage[u][kind] = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    if (e <= 0) { /* wholly before the span start: the first interval */
        if (!a->len) {
            g_array_set_size(a, 1);
            d->usage_cells++;
        }
        g_array_index(a, uint64_t, 0) += (uint64_t)((__int128)e - s);
        if (!d->usage_max_idx[u]) d->usage_max_idx[u] = 1;
        return;
    }
    if (s < 0) {
        if (!a->len) {
            g_array_set_size(a, 1);
            d->usage_cells++;
        }
        g_array_index(a, uint64_t, 0) += (uint64_t)-(__int128)s;
        s = 0;
    }
    int64_t i0 = s / len, i1 = e / len;
    if (i1 > i0 && e % len == 0) i1--; /* an end on a boundary belongs to the interval it closes */
    if (i0 >= USAGE_MAX) {
        d->tot.anomalies.interval_overflow++;
        return;
    }
    if (i1 >= USAGE_MAX) {
        d->tot.anomalies.interval_overflow++;
        i1 = USAGE_MAX - 1;
    }
    if ((guint)i1 + 1 > a->len) {
        uint64_t more = (uint64_t)i1 + 1 - a->len;
        if (d->usage_cells + more > USAGE_BUDGET) {
            d->tot.anomalies.interval_overflow++;
            return;
        }
        d->usage_cells += more;
        g_array_set_size(a, (guint)i1 + 1);
    }
    if ((guint)i1 + 1 > d->usage_max_idx[u]) d->usage_max_idx[u] = (guint)i1 + 1;
    for (int64_t i = i0; i <= i1; i++) {
        __int128 lo = MAX((__int128)s, (__int128)i * len), hi = MIN((__int128)e, (__int128)(i + 1) * len);
        if (hi > lo) g_array_index(a, uint64_t, i) += (uint64_t)(hi - lo);
    }
}

/* ------------------------------------------------------------------ one event */

static unsigned bucket_of(const DpcIsr *d, int64_t dur)
{
    for (unsigned i = 0; i < DPCISR_HIST_BUCKETS; i++)
        if ((uint64_t)dur <= d->bucket_max[i]) return i;
    return DPCISR_HIST_BUCKETS - 1;
}

static void longest_add(DpcIsr *d, DpcIsrType type, uint32_t mod, uint64_t routine, uint64_t base, uint32_t cpu,
                        int64_t start, int64_t end, int64_t dur, int64_t excl)
{
    if (d->n_longest == DPCISR_LONGEST_MAX && dur <= d->longest[DPCISR_LONGEST_MAX - 1].ticks) return;
    guint pos = d->n_longest < DPCISR_LONGEST_MAX ? d->n_longest : DPCISR_LONGEST_MAX - 1;
    while (pos > 0 && d->longest[pos - 1].ticks < dur) pos--;
    guint n_move = (d->n_longest < DPCISR_LONGEST_MAX ? d->n_longest : DPCISR_LONGEST_MAX - 1) - pos;
    memmove(&d->longest[pos + 1], &d->longest[pos], n_move * sizeof d->longest[0]);
    d->longest[pos] = (DpcIsrInterval){ .type = type, .module = module_name(d, mod), .module_known = mod != 0,
                                        .routine = routine, .rva = mod ? routine - base : 0, .cpu = cpu,
                                        .start_ts = start, .end_ts = end, .ticks = dur, .exclusive_ticks = excl };
    if (d->n_longest < DPCISR_LONGEST_MAX) d->n_longest++;
}

void dpcisr_add(DpcIsr *d, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx)
{
    (void)ctx;
    if (G_UNLIKELY(d->finished)) return;
    int64_t ts = ev->timestamp;
    if (ts < d->first_ts) d->first_ts = ts;
    if (ts > d->last_ts) d->last_ts = ts;
    if (!etl_header_kind_is_opcode_keyed(ev->kind) || ev->group != ETL_GROUP_PERFINFO) return;
    DpcIsrType type;
    if (!dpcisr_type_from_opcode(ev->opcode, &type)) return;
    if (!k || (k->kind != ETL_K_DPC && k->kind != ETL_K_ISR)) {
        /* a DPC/ISR opcode whose payload did not decode (too short or unknown version) */
        if (etl_header_kind_is_kernel(ev->kind)) d->tot.anomalies.undecoded++;
        return;
    }
    uint64_t initial = k->kind == ETL_K_DPC ? k->u.dpc.initial_time : k->u.isr.initial_time;
    uint64_t routine = k->kind == ETL_K_DPC ? k->u.dpc.routine : k->u.isr.routine;
    __int128 dd = (__int128)ts - (__int128)initial;
    if (dd < 0) {
        d->tot.anomalies.negative++;
        return;
    }
    if (dd > d->max_ticks) {
        d->tot.anomalies.too_long++;
        return;
    }
    int64_t dur = (int64_t)dd, start = (int64_t)initial, end = ts;
    uint32_t cpu = ev->cpu;
    Cpu *c = cpu_get(d, cpu);
    uint64_t children = 0;
    int64_t excl = dur - nest_add(d, c, start, end, dur, &children);
    if (excl < 0) excl = 0;

    if (end < d->o.from_ts || end > d->o.to_ts) {
        d->tot.anomalies.outside_window++;
        return;
    }
    uint64_t base;
    uint32_t mod = module_id(d, routine, ts, &base);
    DpcIsrKind kind = dpcisr_type_kind(type);
    d->tot.intervals++;
    d->tot.by_type[type]++;
    if (!mod) d->tot.anomalies.unknown_module++;
    if (cpu >= d->tot.header_cpus) d->tot.anomalies.cpu_beyond_header++;
    if (cpu + 1 > d->tot.cpus) d->tot.cpus = cpu + 1;

    FineKey key = { .routine = routine, .cpu = cpu, .mod = mod, .type = (uint8_t)type };
    Fine *f = c->last_fine;
    if (!f || !fine_equal(&f->k, &key)) f = c->last_fine = g_hash_table_lookup(d->fine, &key);
    if (!f) {
        f = g_new0(Fine, 1);
        f->k = key;
        f->base = base;
        f->max = -1;
        g_ptr_array_add(d->fines, f);
        g_hash_table_add(d->fine, f);
        c->last_fine = f;
    }
    f->count++;
    f->fragments += 1 + children;
    add_sat(&f->total, dur);
    add_sat(&f->excl, excl);
    if (dur > d->tot.threshold_ticks[kind]) f->over++;
    if (dur > f->max) {
        f->max = dur;
        f->max_start = start;
        f->max_end = end;
    }
    f->hist[bucket_of(d, dur)]++;

    for (int u = 0; u < 2; u++) usage_add(d, c, u, kind, start, end);
    if (dpcisr_type_dispatch(type)) {
        span_add(d, c, start, end, mod, excl);
        longest_add(d, type, mod, routine, base, cpu, start, end, dur, excl);
    }
}

/* ------------------------------------------------------------------ finish */

static int share_cmp(const void *a, const void *b)
{
    const DpcIsrShare *x = a, *y = b;
    if (x->ticks != y->ticks) return x->ticks > y->ticks ? -1 : 1;
    return strcmp(x->module, y->module);
}

void dpcisr_finish(DpcIsr *d)
{
    if (d->finished) return;
    d->finished = true;
    for (guint i = 0; i < d->cpus->len; i++) {
        Cpu *c = g_ptr_array_index(d->cpus, i);
        if (!c) continue;
        for (; c->span_lo < c->spans->len; c->span_lo++) span_finalise(c, &g_array_index(c->spans, Span, c->span_lo));
        g_array_set_size(c->spans, 0);
        c->span_lo = 0;
        g_array_set_size(c->nest, 0);
        c->nest_lo = 0;
    }
    /* span of the analysis: window start (or trace start) to the last event (or window end) */
    DpcIsrTotals *t = &d->tot;
    t->span_start_ts = d->origin_ts;
    t->span_end_ts = d->last_ts == INT64_MIN ? d->origin_ts : MIN(d->last_ts, d->o.to_ts);
    if (t->span_end_ts < t->span_start_ts) t->span_end_ts = t->span_start_ts;
    t->span_us = dpcisr_ticks_us(d, clamp_i128((__int128)t->span_end_ts - t->span_start_ts));
    t->span_start_rel_s = etl_time_rel_s(d->h, t->span_start_ts);
    /* usage intervals: from the span start to the end of the last counted DPC/ISR (not to the
     * last event: a corrupt timestamp must not make a table of years) */
    for (int u = 0; u < 2; u++) d->usage_n[u] = d->usage_max_idx[u];
    /* watchdog spans: the longest per CPU */
    for (guint i = 0; i < d->cpus->len; i++) {
        Cpu *c = g_ptr_array_index(d->cpus, i);
        if (!c || !c->has_best) continue;
        Span *b = &c->best;
        int64_t busy = 0;
        Share *sh = span_shares(b);
        for (uint32_t j = 0; j < b->n_sh; j++) add_sat(&busy, sh[j].ticks);
        DpcIsrSpan s = { .cpu = i, .start_ts = b->start, .end_ts = b->end,
                         .us = dpcisr_ticks_us(d, span_len(b->start, b->end)), .busy_us = dpcisr_ticks_us(d, busy),
                         .intervals = b->n, .n_shares = b->n_sh };
        g_array_append_val(d->spans_out, s);
    }
    guint at = 0;
    for (guint i = 0; i < d->spans_out->len; i++) {
        DpcIsrSpan *s = &g_array_index(d->spans_out, DpcIsrSpan, i);
        Cpu *c = g_ptr_array_index(d->cpus, s->cpu);
        Share *sh = span_shares(&c->best);
        for (uint32_t j = 0; j < c->best.n_sh; j++) {
            DpcIsrShare x = { .module = module_name(d, sh[j].mod), .module_known = sh[j].mod != 0,
                              .count = sh[j].count, .ticks = sh[j].ticks, .us = dpcisr_ticks_us(d, sh[j].ticks) };
            g_array_append_val(d->shares_out, x);
        }
        if (s->n_shares)
            qsort(&g_array_index(d->shares_out, DpcIsrShare, at), s->n_shares, sizeof(DpcIsrShare), share_cmp);
        at += s->n_shares;
    }
    at = 0;
    for (guint i = 0; i < d->spans_out->len; i++) {
        DpcIsrSpan *s = &g_array_index(d->spans_out, DpcIsrSpan, i);
        s->shares = s->n_shares ? &g_array_index(d->shares_out, DpcIsrShare, at) : NULL;
        at += s->n_shares;
    }
    for (guint i = 0; i < d->n_longest; i++) {
        d->longest[i].us = dpcisr_ticks_us(d, d->longest[i].ticks);
        d->longest[i].exclusive_us = dpcisr_ticks_us(d, d->longest[i].exclusive_ticks);
    }
}

/* ------------------------------------------------------------------ accessors */

const DpcIsrTotals *dpcisr_totals(const DpcIsr *d)
{
    return &d->tot;
}

const DpcIsrInterval *dpcisr_longest(const DpcIsr *d, guint *n)
{
    *n = d->n_longest;
    return d->longest;
}

const DpcIsrSpan *dpcisr_watchdog_spans(const DpcIsr *d, guint *n)
{
    *n = d->spans_out->len;
    return (const DpcIsrSpan *)(void *)d->spans_out->data;
}

guint dpcisr_usage_intervals(const DpcIsr *d, bool buckets)
{
    return d->usage_n[buckets ? 1 : 0];
}

uint64_t dpcisr_usage_at(const DpcIsr *d, bool buckets, DpcIsrKind kind, uint32_t cpu, guint i)
{
    if (cpu >= d->cpus->len || (unsigned)kind >= DPCISR_KIND_COUNT_) return 0;
    const Cpu *c = g_ptr_array_index(d->cpus, cpu);
    const GArray *a = c ? c->usage[buckets ? 1 : 0][kind] : NULL;
    return a && i < a->len ? g_array_index(a, uint64_t, i) : 0;
}

/* ------------------------------------------------------------------ grouping */

typedef struct {
    uint8_t  kind, type;
    uint32_t mod, cpu;
    uint64_t addr;
} GKey;

static guint gkey_hash(gconstpointer p)
{
    const GKey *k = p;
    uint64_t h = k->addr * UINT64_C(0x9E3779B97F4A7C15);
    h ^= ((uint64_t)k->mod << 32 | k->cpu) * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= ((uint64_t)k->kind << 8 | k->type) * UINT64_C(0x165667B19E3779F9);
    return (guint)(h ^ (h >> 32));
}

static gboolean gkey_equal(gconstpointer a, gconstpointer b)
{
    const GKey *x = a, *y = b;
    return x->addr == y->addr && x->mod == y->mod && x->cpu == y->cpu && x->kind == y->kind && x->type == y->type;
}

static gint row_cmp(gconstpointer a, gconstpointer b)
{
    const DpcIsrRow *x = a, *y = b;
    if (x->total_ticks != y->total_ticks) return x->total_ticks > y->total_ticks ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    int c = strcmp(x->module, y->module);
    if (c) return c;
    if (x->rva != y->rva) return x->rva < y->rva ? -1 : 1;
    if (x->routine != y->routine) return x->routine < y->routine ? -1 : 1;
    if (x->cpu != y->cpu) return x->cpu < y->cpu ? -1 : 1;
    return 0;
}

GArray *dpcisr_group(const DpcIsr *d, unsigned by)
{
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(DpcIsrRow));
    GHashTable *idx = g_hash_table_new_full(gkey_hash, gkey_equal, g_free, NULL);
    bool by_mod = by & (DPCISR_BY_MODULE | DPCISR_BY_FUNCTION | DPCISR_BY_ROUTINE);
    for (guint i = 0; i < d->fines->len; i++) {
        const Fine *f = g_ptr_array_index(d->fines, i);
        DpcIsrType type = (DpcIsrType)f->k.type;
        DpcIsrKind kind = dpcisr_type_kind(type);
        GKey k = { .kind = (by & DPCISR_BY_KIND) ? (uint8_t)kind : 0xFF,
                   .type = (by & DPCISR_BY_TYPE) ? f->k.type : 0xFF,
                   .mod = by_mod ? f->k.mod : UINT32_MAX,
                   .cpu = (by & DPCISR_BY_CPU) ? f->k.cpu : UINT32_MAX,
                   .addr = (by & DPCISR_BY_ROUTINE) ? f->k.routine
                           : (by & DPCISR_BY_FUNCTION) ? (f->k.mod ? f->k.routine - f->base : f->k.routine)
                                                       : 0 };
        gpointer pos;
        DpcIsrRow *r;
        if (g_hash_table_lookup_extended(idx, &k, NULL, &pos)) {
            r = &g_array_index(rows, DpcIsrRow, GPOINTER_TO_UINT(pos));
        } else {
            g_hash_table_insert(idx, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(rows->len));
            g_array_set_size(rows, rows->len + 1);
            r = &g_array_index(rows, DpcIsrRow, rows->len - 1);
            r->kind = kind;
            r->type = type;
            r->module = by_mod ? module_name(d, f->k.mod) : "";
            r->module_known = by_mod && f->k.mod != 0;
            r->routine = f->k.routine;
            r->rva = f->k.mod ? f->k.routine - f->base : 0;
            r->cpu = f->k.cpu;
            r->max_ticks = -1;
        }
        if (f->k.routine < r->routine) r->routine = f->k.routine; /* BY_FUNCTION: the lowest address */
        r->count += f->count;
        r->fragments += f->fragments;
        r->over_threshold += f->over;
        add_sat(&r->total_ticks, f->total);
        add_sat(&r->exclusive_ticks, f->excl);
        if (f->max > r->max_ticks || (f->max == r->max_ticks && f->max_end < r->max_end_ts)) {
            r->max_ticks = f->max;
            r->max_cpu = f->k.cpu;
            r->max_start_ts = f->max_start;
            r->max_end_ts = f->max_end;
            r->max_routine = f->k.routine;
            r->max_type = type;
        }
        for (unsigned b = 0; b < DPCISR_HIST_BUCKETS; b++) r->hist[b] += f->hist[b];
    }
    g_hash_table_destroy(idx);
    for (guint i = 0; i < rows->len; i++) {
        DpcIsrRow *r = &g_array_index(rows, DpcIsrRow, i);
        r->total_us = dpcisr_ticks_us(d, r->total_ticks);
        r->exclusive_us = dpcisr_ticks_us(d, r->exclusive_ticks);
        r->max_us = dpcisr_ticks_us(d, r->max_ticks);
        r->mean_us = r->count ? r->total_us / (double)r->count : 0;
    }
    g_array_sort(rows, row_cmp);
    return rows;
}
