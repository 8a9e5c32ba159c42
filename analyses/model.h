/* model.h — the system model: processes, threads, images and call stacks over time.
 *
 * Every analysis sees the trace through it.  Feed it every event in time order
 * (ETL_ORDER_TIME) with model_event(); it updates its state first and returns, for that event,
 * the process and thread it belongs to.  An analysis that keeps the event may ask for its
 * call stack with model_stack_ref() — the stack usually arrives *after* the event (StackWalk
 * events follow their target; Win8+ stack keys are defined later still), so the reference is
 * a handle that fills in as the stack arrives.  Stacks are interned: one ModelStackId per
 * distinct (kernel part, user part) pair.  Addresses resolve to images by (process, address,
 * time).  Rules and the reasons for them: docs/system-model.md.
 *
 * Memory grows with what the trace holds, not with its length: processes, threads and images
 * ever seen (kept so that late lookups resolve), distinct stacks, stack keys awaiting their
 * definition, and one handle per stack reference an analysis still holds.
 */
#pragma once

#include "etl.h"

G_BEGIN_DECLS

#define MODEL_TS_MIN INT64_MIN /* "before the trace": known only from rundown */
#define MODEL_TS_MAX INT64_MAX /* "after the trace": still alive at the end  */

typedef struct Model Model;

typedef struct ModelImage {
    uint64_t base, size;
    uint32_t pid;                 /* 0: kernel image (global map) */
    int64_t  load_ts, unload_ts;  /* raw clock; MODEL_TS_MIN/MAX when outside the trace */
    char    *file_name;           /* as recorded (UTF-8), e.g. \SystemRoot\system32\ntoskrnl.exe */
    const char *name;             /* points into file_name after the last '\' ("ntoskrnl.exe") */
    uint32_t checksum, time_date_stamp;
    char    *original_file_name;  /* KernelTraceControl ImageID, or NULL */
    bool     has_pdb;             /* KernelTraceControl DbgID_RSDS */
    EtlGuid  pdb_guid;
    uint32_t pdb_age;
    char    *pdb_name;
} ModelImage;

typedef struct ModelProcess {
    uint32_t pid, parent_pid, session_id;
    int64_t  start_ts, end_ts;    /* MODEL_TS_MIN: started before the trace; MODEL_TS_MAX: alive at the end */
    char    *image_name;          /* "svchost.exe"; NULL when no Process event named it */
    char    *command_line;        /* NULL when absent */
    uint32_t serial;              /* 0, 1, 2 ... in order of creation: tells PID reuses apart */
} ModelProcess;

typedef struct ModelThread {
    uint32_t tid, pid;
    int64_t  start_ts, end_ts;
    ModelProcess *process;        /* NULL when the owning process is unknown */
    char    *name;                /* Thread v4 / SetName; NULL when absent */
} ModelThread;

/* Where an event's thread came from, in order of preference. */
typedef enum {
    MODEL_ATTR_NONE = 0,   /* nothing known (no header ids, no CSwitch on that CPU yet) */
    MODEL_ATTR_HEADER,     /* the event header's ThreadId / ProcessId                      */
    MODEL_ATTR_PAYLOAD,    /* the payload names the thread: CSwitch NewThreadId, Thread and
                              Process Start/End (whose headers name the *creating* thread) */
    MODEL_ATTR_CPU,        /* PerfInfo header: the thread running on that CPU per CSwitch  */
} ModelAttr;

typedef struct {
    uint32_t pid, tid;            /* ETL_NO_ID when unknown */
    ModelAttr attr;
    ModelProcess *process;        /* NULL when unknown */
    ModelThread  *thread;         /* NULL when unknown */
} ModelCtx;

typedef uint32_t ModelStackRef;   /* handle; 0 = none */
typedef uint32_t ModelStackId;    /* interned (kernel part, user part); 0 = no stack */

typedef enum {
    MODEL_STACK_NONE = 0,         /* no stack was recorded for the event */
    MODEL_STACK_COMPLETE,         /* frames known (kernel, user or both) */
    MODEL_STACK_KEY_PENDING,      /* a stack key whose definition has not arrived (yet) */
} ModelStackState;

typedef struct {
    /* processes and threads */
    uint64_t processes, threads, images;        /* objects created */
    uint64_t threads_implied;                   /* threads known only from header or stack ids */
    uint64_t process_rundown, thread_rundown, image_rundown; /* DCStart/DCEnd events */
    uint64_t pid_reuse, tid_reuse;              /* a Start for an id still alive: the old one ended */
    uint64_t image_id, image_dbgid;             /* ImageID / DbgID_RSDS events */
    uint64_t image_id_attached, image_dbgid_attached; /* ... paired with their image */
    uint64_t unload_unmatched;                  /* UnLoad of an image never loaded */
    /* attribution of kernel events (StackWalk and rundown excluded) */
    uint64_t attr_events, attr_header, attr_payload, attr_cpu, attr_none;
    uint64_t attr_stack_disagree;               /* header thread != stack's StackThread */
    /* stacks */
    uint64_t stack_events;                      /* StackWalk stacks (kernel or user fragments) */
    uint64_t stack_fragments_joined;            /* user fragments appended to a kernel part */
    uint64_t stack_orphans;                     /* no event with that timestamp and thread */
    uint64_t key_refs, key_refs_defined, key_refs_undefined; /* StackKeyKernel/User references */
    uint64_t key_refs_orphan;                   /* references matched to no event */
    uint64_t key_defs, key_defs_unused;         /* KeyDelete/KeyRundown/KeyCreate; defining no pending reference */
    uint64_t ext_stacks;                        /* EVENT_HEADER stack items */
    uint64_t distinct_frame_lists, distinct_stacks;
    uint64_t user_pending_evicted;              /* kernel parts that stopped waiting for a user half */
} ModelHealth;

typedef enum {
    MODEL_PRESCAN_STACK_KEYS = 1 << 0, /* read the trace once first for stack-key definitions,
                                          so references resolve at once (etla dump --stacks);
                                          costs a pass and memory per definition */
} ModelFlags;

Model *model_new(EtlTrace *t, unsigned flags);
void   model_free(Model *m);

/* Feed one event (time order).  k: the event decoded by etl_kernel_decode() (status OK), or
 * NULL when it did not decode or is not a kernel event.  ctx receives the attribution.
 * Returns true when the event is one a stack may belong to (a kernel event other than
 * StackWalk and ImageID/DbgID, or an EVENT_HEADER event with a stack item). */
bool model_event(Model *m, const EtlEvent *ev, const EtlKernelEvent *k, ModelCtx *ctx);
/* End of trace: stack keys never defined are counted; user halves stop waiting. */
void model_finish(Model *m);
const ModelHealth *model_health(const Model *m);

/* The call stack of the event last passed to model_event() (which returned true): a handle
 * owned by the caller until model_stack_unref().  Returns 0 for other events. */
ModelStackRef   model_stack_ref(Model *m);
void            model_stack_unref(Model *m, ModelStackRef ref);
/* The stack the handle points at now (0 while none has arrived).  Stable once the event's
 * StackWalk events have passed; a key part may still be pending (see model_stack_state). */
ModelStackId    model_stack_get(Model *m, ModelStackRef ref);
/* The thread named by the stack events (StackThread/StackProcess), ETL_NO_ID when none. */
void            model_stack_ref_thread(const Model *m, ModelStackRef ref, uint32_t *pid, uint32_t *tid);
/* True once the handle can change no more (both halves in, or the waits are over). */
bool            model_stack_settled(const Model *m, ModelStackRef ref);

ModelStackState model_stack_state(const Model *m, ModelStackId id);
/* The same stack with every defined key replaced by its frames: ids that resolve to the same
 * frames get the same canonical id.  Use it to merge aggregates at the end. */
ModelStackId    model_stack_canonical(Model *m, ModelStackId id);
/* Frames, innermost first: the kernel part then the user part.  Pending keys contribute no
 * frames.  *n_kernel (may be NULL) receives the length of the first part.  Valid until
 * model_free(). */
const uint64_t *model_stack_frames(Model *m, ModelStackId id, uint32_t *n, uint32_t *n_kernel);
/* The unresolved stack key of a part (for display), 0 when none. */
uint64_t        model_stack_pending_key(const Model *m, ModelStackId id, bool *user);

/* Lookups.  ts is a raw timestamp. */
ModelProcess     *model_process_at(const Model *m, uint32_t pid, int64_t ts);
ModelThread      *model_thread_at(const Model *m, uint32_t tid, int64_t ts);
bool              model_is_kernel_address(const Model *m, uint64_t addr);
/* The image holding addr in process p at ts (kernel addresses: the kernel map, p ignored);
 * NULL is "Unknown". */
const ModelImage *model_image_at(const Model *m, const ModelProcess *p, uint64_t addr, int64_t ts);
/* "ntoskrnl.exe+0x1a2b3", or "0xfffff80012345678" when no image holds the address. */
void              model_format_frame(const Model *m, const ModelProcess *p, uint64_t addr, int64_t ts, GString *out);
/* Process display "name (pid)"; "Unknown (pid)" when unnamed; "Unknown" when pid unknown. */
void              model_format_process(const ModelProcess *p, uint32_t pid, GString *out);

/* Every image, every process, in creation order (for reports and tests). */
const ModelImage   *const *model_images(const Model *m, guint *n);
const ModelProcess *const *model_processes(const Model *m, guint *n);

G_END_DECLS
