/* pool.h — pool allocations over a trace: matching frees to allocations, AIFI/AIFO/AOFI/AOFO
 * for a time window, aggregates by type, paged/session, tag, stack, owner module and process,
 * and outstanding bytes over time per tag.  Definitions: docs/analyses-pool.md.
 *
 * Streaming: feed every event after model_event() (pool_add); memory holds the outstanding
 * allocations, one aggregate per distinct (class, pool kind, tag, stack, process), and the
 * series.  Nothing per event. */
#pragma once

#include "model.h"

G_BEGIN_DECLS

typedef enum { POOL_AIFI, POOL_AIFO, POOL_AOFI, POOL_AOFO, POOL_CLASS_COUNT_ } PoolClass;

typedef enum {
    POOL_BY_CLASS,   /* "type": AIFI ... */
    POOL_BY_PAGED,   /* "paged": Paged / NonPaged, and session */
    POOL_BY_TAG,
    POOL_BY_STACK,
    POOL_BY_MODULE,  /* owner module: first frame outside nt/hal */
    POOL_BY_PROCESS,
    POOL_BY_COUNT_
} PoolKey;

typedef struct {
    int64_t  from, to;            /* raw closed window; INT64_MIN / INT64_MAX = whole trace */
    bool     no_implicit_free;    /* an allocation at an outstanding address does not end the old one */
    int64_t  series_interval;     /* raw ticks between series samples; 0 = no series */
} PoolOptions;

/* Whole trace, implicit frees on, no series. */
void pool_options_init(PoolOptions *o);

typedef struct Pool Pool;

/* One aggregate of the finished analysis, at the finest grain: every view rolls these up. */
typedef struct {
    PoolClass    cls;
    bool         paged, session;
    uint32_t     tag;             /* protected bit masked off */
    ModelStackId stack;           /* canonical; 0 = no stack */
    const ModelProcess *process;  /* NULL when unknown */
    uint32_t     pid;             /* ETL_NO_ID when unknown */
    const char  *module;          /* owner module (interned), "Unknown" without a stack */
    uint64_t     count, bytes;
    int64_t      example_ts;      /* an allocation time of the group (frames resolve at it) */
} PoolCell;

typedef struct {
    uint64_t allocs, frees;              /* events (alloc / free, session variants included) */
    uint64_t matched;                    /* frees that found their allocation */
    uint64_t frees_unmatched;            /* frees with no allocation in the trace: AO records */
    uint64_t implicit_frees;             /* allocations at an address still outstanding */
    uint64_t tag_mismatch, type_mismatch;/* free's tag / type differ from the allocation's */
    uint64_t protected_tags;             /* tags with the protected bit (0x80000000) */
    uint64_t other_events;               /* pool page / snapshot events (not analysed) */
    uint64_t malformed;                  /* pool events too short to decode */
    uint64_t allocs_with_stack;          /* allocations whose stack arrived */
    uint64_t owner_from_stack;           /* owner taken from the stack's thread */
    uint64_t outstanding_end;            /* allocations still outstanding at the end */
    uint64_t peak_outstanding;           /* live records at most (memory) */
} PoolHealth;

Pool *pool_new(Model *m, const EtlTrace *t, const PoolOptions *o);
void  pool_free(Pool *p);
/* After model_event(m, ev, k, ctx) for the same event.  k may be NULL. */
void  pool_add(Pool *p, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx);
void  pool_finish(Pool *p);

const PoolHealth *pool_health(const Pool *p);
/* Finest aggregates (after pool_finish). */
const PoolCell   *pool_cells(const Pool *p, guint *n);

/* A view: the cells grouped by keys (in the order given), filtered, sorted by bytes then
 * count descending.  Fields that are not keys are zero/NULL in the rows (module "", pid
 * ETL_NO_ID).  g_array_free the result. */
typedef struct {
    PoolKey     keys[POOL_BY_COUNT_];
    guint       n_keys;
    unsigned    class_mask;       /* 1 << PoolClass; 0 = all */
    const char *tag_pattern;      /* NULL = all */
} PoolViewSpec;
GArray     *pool_view(const Pool *p, const PoolViewSpec *v);
const char *pool_key_name(PoolKey k);
bool        pool_key_parse(const char *s, PoolKey *out);

/* Series of outstanding bytes per tag (after pool_finish): n_samples times (raw), and per tag
 * n_samples values. Tags sorted by their peak, descending. */
typedef struct {
    uint32_t  tag;
    bool      paged;
    uint64_t *bytes;              /* n_samples */
    uint64_t  peak;
} PoolSeries;
const PoolSeries *pool_series(const Pool *p, guint *n_tags, const int64_t **times, guint *n_samples);

/* Classification of one interval against the window (exported for tests). */
PoolClass pool_classify(int64_t alloc_ts, int64_t free_ts, int64_t from, int64_t to, bool *included);

/* Tag text: four characters, trailing spaces and NULs trimmed, others as \xNN. */
void        pool_tag_format(uint32_t tag, GString *out);
/* Tag pattern (xperf: '?' one character, '*' any run), matched against the formatted tag. */
bool        pool_tag_match(const char *pattern, uint32_t tag);
const char *pool_class_name(PoolClass c);
bool        pool_class_parse(const char *s, PoolClass *out);

/* pooltag.txt: "TAG - binary - description" lines, "rem" comments, wildcards. */
typedef struct PoolTagDb PoolTagDb;
PoolTagDb  *pool_tagdb_load(const char *path, GError **error);
void        pool_tagdb_free(PoolTagDb *db);
/* "binary - description" for a tag, or NULL. */
const char *pool_tagdb_lookup(const PoolTagDb *db, uint32_t tag);

G_END_DECLS
