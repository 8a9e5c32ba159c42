/* model-private.h — shared by model.c (processes, threads, images) and stacks.c. */
#pragma once

#include "model.h"

typedef struct {
    GPtrArray *v;        /* ModelImage*, sorted by base (stable: equal bases in creation order) */
    uint64_t   max_size; /* largest image size in the map */
} ImageMap;

typedef struct {
    ModelProcess pub;    /* first: a Proc* is a ModelProcess* */
    ImageMap     map;    /* user-mode images */
} Proc;

#define PAIR_MAX 4096    /* images / ids kept per timestamp for ImageID/DbgID pairing */

typedef struct {         /* ImageID / DbgID waiting for its Image event (same timestamp) */
    uint64_t base;
    bool     is_dbgid;
    char    *original_file_name;
    EtlGuid  pdb_guid;
    uint32_t pdb_age;
    char    *pdb_name;
} PendingId;

/* One recent event a StackWalk event may belong to (per-CPU ring). */
typedef struct {
    int64_t  ts;
    uint32_t tid;        /* header thread; ETL_NO_ID for PerfInfo headers */
    uint32_t attr_tid;   /* attributed thread (CSwitch) when tid is ETL_NO_ID */
    uint32_t serial;     /* 0 = empty */
    uint32_t slot;       /* handle slot + 1, 0 when nobody asked for the stack */
    uint32_t first, second; /* parts (see stacks.c) */
    uint32_t stack_tid, stack_pid;
} Recent;

#define MODEL_RING 32    /* recent events per CPU that a following StackWalk event may describe */

typedef struct {
    Recent   r[MODEL_RING];
    uint32_t head;       /* next slot to write */
} Ring;

typedef struct StackState StackState;

typedef struct {
    uint32_t     tid;
    uint32_t     gen;     /* thread_gen when filled; 0 = never */
    ModelThread *th;
} ThreadCache;

struct Model {
    EtlTrace  *t;
    unsigned   flags;
    bool       is64;
    uint64_t   kernel_floor;
    GPtrArray *images, *procs, *threads; /* owning, creation order */
    GHashTable *pid_hist, *tid_hist;     /* id -> GPtrArray of objects, creation order */
    ImageMap   kernel_map;
    uint32_t   n_cpus;
    uint32_t  *running;                  /* per CPU: thread switched in by the last CSwitch */
    /* ImageID/DbgID pairing: images and ids seen at pair_ts */
    int64_t    pair_ts;
    GPtrArray *pair_images;              /* ModelImage* seen at pair_ts (at most PAIR_MAX) */
    GArray    *pending_ids;              /* PendingId seen at pair_ts, not paired yet */
    /* the event last passed to model_event(), for model_stack_ref() */
    Recent    *cur;
    uint32_t   cur_ext;                  /* its EVENT_HEADER stack: frame-list part, 0 none */
    uint64_t   ordinal;                  /* events seen (prescan matching) */
    ModelHealth health;
    StackState *st;
    uint32_t    thread_gen;              /* bumped whenever a thread object is created or changed */
    ThreadCache tcache[256];
};

void model_stacks_init(Model *m);
void model_stacks_clear(Model *m);
void model_stacks_event(Model *m, const EtlEvent *ev, const EtlKernelEvent *k);
void model_stacks_note_event(Model *m, const EtlEvent *ev, const ModelCtx *ctx);
bool model_stacks_note_ext(Model *m, const EtlEvent *ev);
ModelThread *model_thread_implied(Model *m, uint32_t tid, uint32_t pid, int64_t ts);
