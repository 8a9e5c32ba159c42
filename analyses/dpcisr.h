/* dpcisr.h — DPC/ISR latency analysis (`etla dpcisr`): which module's DPC or ISR routine ran
 * too long, how often, on which CPU, and where DPC time piled up (bug check 0x133).
 *
 * A streaming sink.  Feed it every event in time order (ETL_ORDER_TIME), after model_event():
 *
 *     DpcIsr *d = dpcisr_new(model, trace, &opts);
 *     while ((ev = etl_reader_next(r))) { ...; model_event(m, ev, k, &ctx); dpcisr_add(d, ev, k, &ctx); }
 *     model_finish(m);
 *     dpcisr_finish(d);
 *     GArray *rows = dpcisr_group(d, DPCISR_BY_KIND | DPCISR_BY_MODULE);   ... g_array_unref(rows);
 *     dpcisr_free(d);     // before model_free(): nothing here points into the model, but keep the order
 *
 * Semantics (docs/analyses-dpcisr.md; ../shared/docs/ANALYSES.md §3–4):
 *  - Interval: start = InitialTime, end = the event's timestamp (logged when the routine
 *    returns), on the event's CPU.  Module: the kernel image holding the routine address at the
 *    event's time (system model); "Unknown" when none.
 *  - Nesting per CPU: an interval whose [start, end] lies within another's on the same CPU is
 *    its child.  inclusive = end - start; exclusive = inclusive - Σ inclusive(direct children);
 *    fragments = 1 + direct children.  The time-ordered merge delivers a nested ISR *before* the
 *    DPC it interrupted (both are ordered by their end), so the sink keeps, per CPU, the
 *    top-level intervals seen so far and a new interval adopts those that start inside it.
 *  - Thresholds count inclusive durations strictly above them (DPC class 100 µs, ISR class
 *    25 µs by default).  Histogram buckets: (0,1], (1,2], (2,4], ... µs — a duration exactly
 *    on a bound falls in the bucket that bound closes.
 *  - Watchdog spans (0x133 with parameter 1 = 1): per CPU, DPC and ISR intervals at
 *    DISPATCH_LEVEL or above (not ThreadedDPC, not passive ISRs) whose gaps are at most
 *    gap_us are merged; the longest merged span is reported with its composition by module
 *    (exclusive time).
 *  - Anomalies are counted, never dropped silently: negative durations (InitialTime after the
 *    timestamp) and durations above 10 s are left out of every figure; partial overlaps on one
 *    CPU are kept and treated as not nested.
 *
 * Memory: per CPU, the top-level intervals and merged spans of the last 10 s (the longest
 * valid duration, so older ones can never be adopted by a later interval), at most 4,096 of
 * each; one accumulator per distinct (type, CPU, module, routine); interval usage cells (at
 * most 4 Mi in all).  Never per event.
 */
#pragma once

#include "etl.h"
#include "model.h"

G_BEGIN_DECLS

typedef enum {
    DPCISR_DPC = 0,         /* PerfInfo 0x44 */
    DPCISR_TIMER_DPC,       /* 0x45 */
    DPCISR_THREADED_DPC,    /* 0x42: runs at PASSIVE_LEVEL in a real-time thread */
    DPCISR_ISR,             /* 0x43 */
    DPCISR_MSI_ISR,         /* 0x32 */
    DPCISR_PASSIVE_ISR,     /* 0x5F: passive-level ISR */
    DPCISR_TYPE_COUNT_
} DpcIsrType;

typedef enum { DPCISR_KIND_DPC = 0, DPCISR_KIND_ISR = 1, DPCISR_KIND_COUNT_ } DpcIsrKind;

/* "DPC", "TimerDPC", "ThreadedDPC", "ISR", "MSI-ISR", "PassiveISR" */
const char *dpcisr_type_name(DpcIsrType t);
/* "DPC" (DPC, TimerDPC, ThreadedDPC) or "ISR" (ISR, MSI-ISR, PassiveISR) */
const char *dpcisr_kind_name(DpcIsrKind k);
DpcIsrKind  dpcisr_type_kind(DpcIsrType t);
/* False for ThreadedDPC and PassiveISR: they run at PASSIVE_LEVEL and are kept out of the
 * watchdog view. */
bool        dpcisr_type_dispatch(DpcIsrType t);
/* The type of a PerfInfo opcode; false when the opcode is none of the six. */
bool        dpcisr_type_from_opcode(uint8_t opcode, DpcIsrType *out);

#define DPCISR_UNKNOWN_MODULE "Unknown"
#define DPCISR_MAX_DURATION_S 10      /* longer is an anomaly (KERNEL_PAYLOADS §2.4 guard) */
#define DPCISR_HIST_BUCKETS 25        /* upper bounds 2^0 .. 2^24 µs (16.8 s > the 10 s cap) */
#define DPCISR_LONGEST_MAX 20         /* longest single DPC/ISR intervals kept */
#define DPCISR_MAX_HEADER_CPUS 4096   /* a header claiming more CPUs is not believed */

typedef struct {
    double  threshold_dpc_us;   /* default 100 */
    double  threshold_isr_us;   /* default 25 */
    double  interval_s;         /* usage per interval of this length; 0 = none (default 1) */
    double  bucket_s;           /* xperf's -bucket windows for the usage distribution; 0 = none (default 2) */
    double  gap_us;             /* watchdog spans: gaps up to this merge (default 1) */
    int64_t from_ts, to_ts;     /* raw; only intervals that END inside [from, to] are counted
                                   (INT64_MIN / INT64_MAX: whole trace) */
} DpcIsrOptions;

void dpcisr_options_init(DpcIsrOptions *o);

typedef struct DpcIsr DpcIsr;

/* The model resolves routine addresses (model_image_at); it must outlive the sink's use of
 * dpcisr_add.  The trace gives the clock (header). */
DpcIsr *dpcisr_new(Model *m, const EtlTrace *t, const DpcIsrOptions *o);
void    dpcisr_free(DpcIsr *d);
/* One event (any event: others are ignored apart from the trace span).  k: the decoded kernel
 * event or NULL.  ctx may be NULL. */
void    dpcisr_add(DpcIsr *d, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx);
/* End of trace: settles the pending nesting and watchdog state.  Accessors below are valid
 * after it. */
void    dpcisr_finish(DpcIsr *d);

/* ------------------------------------------------------------------ aggregate rows */
enum {
    DPCISR_BY_KIND     = 1 << 0,
    DPCISR_BY_TYPE     = 1 << 1,
    DPCISR_BY_MODULE   = 1 << 2,
    DPCISR_BY_FUNCTION = 1 << 3,  /* module + RVA (no symbols yet): two loads of one driver at
                                     different bases give one function; Unknown: the address */
    DPCISR_BY_ROUTINE  = 1 << 4,  /* module + routine address */
    DPCISR_BY_CPU      = 1 << 5,
};

typedef struct {
    /* keys: meaningful only for the grouping in use */
    DpcIsrKind  kind;
    DpcIsrType  type;
    const char *module;         /* image file name as recorded, or "Unknown" (owned by the sink) */
    bool        module_known;
    uint64_t    routine;        /* BY_ROUTINE: the address; BY_FUNCTION: the address of the first one seen */
    uint64_t    rva;            /* routine - image base when the module is known */
    uint32_t    cpu;
    /* values */
    uint64_t    count;
    uint64_t    fragments;      /* Σ (1 + direct children) */
    uint64_t    over_threshold; /* inclusive > the threshold of the interval's kind */
    int64_t     total_ticks, exclusive_ticks, max_ticks;
    double      total_us, exclusive_us, max_us, mean_us;
    uint32_t    max_cpu;        /* where and when the longest one ran */
    int64_t     max_start_ts, max_end_ts;   /* raw */
    uint64_t    max_routine;
    DpcIsrType  max_type;
    uint64_t    hist[DPCISR_HIST_BUCKETS];  /* hist[i]: count with 2^(i-1) < µs <= 2^i (hist[0]: <= 1 µs) */
} DpcIsrRow;

/* Rows of the given grouping (DPCISR_BY_* mask; 0 = one row for everything), sorted by total
 * inclusive time (descending), then count, then keys.  A new array of DpcIsrRow: g_array_unref. */
GArray *dpcisr_group(const DpcIsr *d, unsigned by);

/* Upper bound of histogram bucket i in µs (2^i). */
static inline uint64_t dpcisr_bucket_le_us(unsigned i) { return (uint64_t)1 << i; }

/* ------------------------------------------------------------------ trace-wide facts */
typedef struct {
    uint64_t negative;          /* InitialTime after the timestamp: left out of every figure */
    uint64_t too_long;          /* longer than DPCISR_MAX_DURATION_S: left out */
    uint64_t overlaps;          /* partial overlap with an earlier interval on the same CPU
                                   (or out-of-order end): kept, treated as not nested */
    uint64_t nesting_lost;      /* a long interval may have had children beyond the history
                                   kept per CPU (its exclusive time is then overstated) */
    uint64_t spans_split;       /* a watchdog span finalised early (history cap) was reached
                                   again by a later interval */
    uint64_t undecoded;         /* DPC/ISR events whose payload did not decode */
    uint64_t unknown_module;    /* counted intervals whose routine no image holds */
    uint64_t cpu_beyond_header; /* counted intervals on a CPU index >= the header's count */
    uint64_t outside_window;    /* valid intervals ending outside --from/--to */
    uint64_t interval_overflow; /* interval-usage time beyond the last bucket kept */
} DpcIsrAnomalies;

typedef struct {
    uint64_t intervals;                     /* counted (valid, in the window) */
    uint64_t by_type[DPCISR_TYPE_COUNT_];
    uint32_t cpus;                          /* max(header CPUs, highest CPU seen + 1); a header
                                               count above DPCISR_MAX_HEADER_CPUS is ignored */
    uint32_t header_cpus;
    int64_t  span_start_ts, span_end_ts;    /* raw: window start (or trace start), last event
                                               (or window end) */
    double   span_us;                       /* span_end - span_start */
    double   span_start_rel_s;              /* span start, seconds from the trace start */
    bool     clock_ok;                      /* QPC or CPU cycles: durations are precise */
    int64_t  threshold_ticks[DPCISR_KIND_COUNT_];
    double   threshold_us[DPCISR_KIND_COUNT_];
    double   gap_us;
    DpcIsrAnomalies anomalies;
} DpcIsrTotals;

const DpcIsrTotals *dpcisr_totals(const DpcIsr *d);

/* ------------------------------------------------------------------ 0x133 view */
typedef struct {
    DpcIsrType  type;
    const char *module;
    bool        module_known;
    uint64_t    routine, rva;
    uint32_t    cpu;
    int64_t     start_ts, end_ts;   /* raw */
    int64_t     ticks, exclusive_ticks;
    double      us, exclusive_us;
} DpcIsrInterval;

/* The longest single DPC/ISR intervals at DISPATCH_LEVEL or above (no ThreadedDPC, no passive
 * ISR), longest first, at most DPCISR_LONGEST_MAX. */
const DpcIsrInterval *dpcisr_longest(const DpcIsr *d, guint *n);

typedef struct {
    const char *module;
    bool        module_known;
    uint64_t    count;          /* intervals of that module in the span */
    int64_t     ticks;          /* their exclusive time */
    double      us;
} DpcIsrShare;

typedef struct {
    uint32_t cpu;
    int64_t  start_ts, end_ts;  /* raw */
    double   us;                /* end - start */
    double   busy_us;           /* Σ exclusive time of its intervals (the span less its gaps) */
    uint64_t intervals;
    const DpcIsrShare *shares;  /* by module, most time first */
    guint    n_shares;
} DpcIsrSpan;

/* Per CPU that ran any DISPATCH-level DPC or ISR, its longest span of back-to-back DPC/ISR
 * time, in CPU order. */
const DpcIsrSpan *dpcisr_watchdog_spans(const DpcIsr *d, guint *n);

/* ------------------------------------------------------------------ usage over time */
/* Per kind and CPU, DPC (or ISR) time in consecutive intervals of opts.interval_s (or
 * opts.bucket_s with buckets = true) from the span start; an interval's time is split across
 * the boundaries it crosses (time before the span start goes to the first).  ns in interval i
 * (0 beyond what was recorded).  dpcisr_usage_intervals: how many intervals there are, from
 * the span start to the end of the last counted DPC/ISR (0 when disabled or none); the same
 * for every CPU and kind. */
uint64_t dpcisr_usage_at(const DpcIsr *d, bool buckets, DpcIsrKind kind, uint32_t cpu, guint i);
guint    dpcisr_usage_intervals(const DpcIsr *d, bool buckets);

/* Raw ticks -> µs / seconds from the trace start (the trace's clock). */
double dpcisr_ticks_us(const DpcIsr *d, int64_t ticks);
double dpcisr_time_s(const DpcIsr *d, int64_t ts);

G_END_DECLS
