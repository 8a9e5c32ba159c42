/* scenario.h — kernel payload builders and trace scenarios with known ground truth.
 *
 * Payload layouts: ../shared/docs/KERNEL_PAYLOADS.md (P = pointer size, 4 or 8).  Every
 * builder writes into out and returns the payload length; out must hold the documented
 * maximum (SCEN_PAYLOAD_MAX covers every builder here).
 *
 * Scenarios (scen_generate) drive etl-writer.h and fill a ScenTruth: what an analysis must
 * find, expressed in the terms of ANALYSES.md §2–3.  Same options -> byte-identical trace.
 */
#pragma once

#include "etl-writer.h"

G_BEGIN_DECLS

#define SCEN_PAYLOAD_MAX 2048

/* ------------------------------------------------------------------------------------------
 * Payload builders
 * ------------------------------------------------------------------------------------------ */
size_t scen_pool(uint8_t *out, unsigned P, uint32_t type, uint32_t tag, uint64_t size,
                 uint64_t entry, bool session, uint32_t session_id);      /* 8+2P (+4) */
size_t scen_dpc(uint8_t *out, unsigned P, uint64_t initial_time, uint64_t routine); /* 8+P */
/* ISR (12+P) or, with msi, ISR-MSI (16+P). */
size_t scen_isr(uint8_t *out, unsigned P, uint64_t initial_time, uint64_t routine,
                uint8_t return_value, uint8_t vector, bool msi, uint32_t message_number);
size_t scen_sampled_profile(uint8_t *out, unsigned P, uint64_t ip, uint32_t tid,
                            uint16_t count, uint16_t reserved);           /* P+8 */

typedef struct {
    uint32_t new_tid, old_tid;
    int8_t   new_priority, old_priority;
    uint8_t  previous_cstate;
    int8_t   spare;
    uint8_t  old_wait_reason, old_wait_mode, old_state, old_ideal_processor;
    uint32_t new_wait_time, reserved;
} ScenCSwitch;
size_t scen_cswitch(uint8_t *out, const ScenCSwitch *cs);                /* v2..v4: 24 */

typedef struct {
    uint32_t pid, tid;
    uint64_t stack_base, stack_limit, user_stack_base, user_stack_limit;
    uint64_t start_addr, win32_start_addr, teb_base;
    uint32_t sub_process_tag;
    uint8_t  base_priority, page_priority, io_priority, thread_flags;   /* v3 */
} ScenThread;
size_t scen_thread(uint8_t *out, unsigned P, unsigned version, const ScenThread *t); /* v2/v3 */

/* SID forms seen in real traces: a u32 0 (no SID), or TOKEN_USER (pointer + attributes,
 * 2P bytes) followed by the SID body. */
typedef enum {
    SCEN_SID_NONE = 0,          /* u32 0 */
    SCEN_SID_LOCAL_SYSTEM,      /* S-1-5-18 */
    SCEN_SID_LOCAL_SERVICE,     /* S-1-5-19 */
    SCEN_SID_NETWORK_SERVICE,   /* S-1-5-20 */
    SCEN_SID_USER,              /* S-1-5-21-1177238915-1060284298-682003330-1001 */
} ScenSid;

typedef struct {
    uint64_t unique_key;
    uint32_t pid, parent_pid, session_id;
    int32_t  exit_status;
    uint64_t directory_table_base;
    uint32_t flags;             /* v4 */
    ScenSid  sid;
    uint64_t token_pointer;     /* TOKEN_USER.User.Sid pointer value (stale kernel address) */
    const char *image_name;     /* 8-bit */
    const char *command_line;   /* UTF-8 -> UTF-16 */
    const char *package_full_name, *application_id; /* v4 */
} ScenProcess;
size_t scen_process(uint8_t *out, size_t cap, unsigned P, unsigned version, const ScenProcess *p);

typedef struct {
    uint64_t base, size;
    uint32_t pid, checksum, time_date_stamp;
    uint8_t  signature_level, signature_type;  /* v3 */
    uint64_t default_base;
    const char *file_name;      /* "\\SystemRoot\\System32\\drivers\\ndis.sys" */
} ScenImage;
size_t scen_image(uint8_t *out, size_t cap, unsigned P, unsigned version, const ScenImage *im);

/* StackWalk Stack (0x1820): 16 + n*P */
size_t scen_stack(uint8_t *out, size_t cap, unsigned P, uint64_t event_ts, uint32_t pid,
                  uint32_t tid, const uint64_t *frames, uint32_t n);
/* StackKeyKernel/User (0x1825/0x1826): 16 + P */
size_t scen_stack_key_ref(uint8_t *out, unsigned P, uint64_t event_ts, uint32_t pid,
                          uint32_t tid, uint64_t key);
/* KeyDelete/KeyRundown (0x1823/0x1824): (n+1)*P */
size_t scen_stack_key_def(uint8_t *out, size_t cap, unsigned P, uint64_t key,
                          const uint64_t *frames, uint32_t n);
/* SystemConfig CPU (0x0B0A) v3 */
size_t scen_sysconfig_cpu(uint8_t *out, size_t cap, unsigned P, uint32_t mhz, uint32_t cpus,
                          uint32_t mem_mb, const char *computer_name, const char *domain_name);
/* KernelTraceControl ImageID (opcode 0, v2) and DbgID_RSDS (opcode 0x24, v2) */
size_t scen_image_id(uint8_t *out, size_t cap, unsigned P, uint64_t base, uint64_t size,
                     uint32_t pid, uint32_t time_date_stamp, const char *original_file_name);
size_t scen_dbgid_rsds(uint8_t *out, size_t cap, unsigned P, uint64_t base, uint32_t pid,
                       const EtlGuid *guid, uint32_t age, const char *pdb_name);

/* Pool tag from its 4 characters ("Leak" -> byte 0 'L'). */
static inline uint32_t scen_tag(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
           (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24;
}

/* ------------------------------------------------------------------------------------------
 * Scenarios
 * ------------------------------------------------------------------------------------------ */
typedef enum { SCEN_POOL_LEAK, SCEN_DPC_STORM, SCEN_LARGE, SCEN_KIND_COUNT_ } ScenKind;

const char *scen_kind_name(ScenKind k);
bool        scen_kind_parse(const char *s, ScenKind *out);

typedef struct {
    ScenKind kind;
    uint64_t seed;
    uint8_t  ptr_size;          /* 4 or 8 (default 8) */
    uint32_t cpus;              /* default 4 */
    uint32_t buffer_size;       /* default 64 KiB */
    uint32_t duration_ms;       /* 0 = scenario default (pool-leak 20 s, dpc-storm 10 s) */
    uint64_t target_bytes;      /* large: approximate file size (default 512 MiB) */
    bool     compress;
    uint64_t circular_bytes;    /* 0 = sequential file */
    bool     no_proc_index;
    bool     header_quirk;      /* Windows 7 header buffer: SavedOffset 0 */
    bool     stack_keys;        /* Win8+ stack caching: StackKeyKernel refs + key definitions */
    bool     ext_stacks;        /* add EVENT_HEADER (TraceLogging) events carrying stack items */
    bool     wpp;               /* add WPP MESSAGE events with every option-flag combination */
    bool     all_headers;       /* add COMPACT, FULL, INSTANCE and EVENT_HEADER events */
    bool     pool_system_header;/* pool events with SYSTEM headers (TID/PID) instead of PERFINFO */
    bool     sampled_profile;   /* SampledProfile at 1 kHz (large: always) */
    bool     stale_fill;        /* stale bytes in alignment gaps, as live loggers leave */
} ScenOptions;

void scen_options_init(ScenOptions *o, ScenKind kind);

/* Kernel modules in the image rundown. */
typedef struct {
    const char *name;           /* "ndis.sys" (case as Windows shows it) */
    const char *path;           /* "\\SystemRoot\\System32\\drivers\\ndis.sys" */
    uint64_t base, size;
    uint32_t checksum, time_date_stamp;
    EtlGuid  pdb_guid;
    uint32_t pdb_age;
    const char *pdb_name;
} ScenModule;

/* One allocation interval (ANALYSES.md §2.1). */
typedef struct {
    int64_t  alloc_ts;          /* raw; INT64_MIN: allocated before the trace (AO) */
    int64_t  free_ts;           /* raw; INT64_MAX: outstanding at the end of the trace */
    uint64_t entry, size;       /* size: the allocation's NumberOfBytes (or the free's) */
    uint32_t tag, type;
    uint16_t cpu_alloc, cpu_free;
    uint32_t session_id;        /* session pool (opcodes 0x21/0x23): 1 or 2, else 0 */
    uint32_t pid, tid;          /* allocating context */
    int32_t  alloc_stack, free_stack; /* index into ScenTruth.stacks, -1 none */
} ScenPoolRecord;

typedef struct {
    uint32_t tag;
    uint32_t type;              /* POOL_TYPE of the tag's allocations */
    uint64_t allocs, alloc_bytes;           /* allocation events, Σ NumberOfBytes */
    uint64_t frees, free_bytes;             /* free events, Σ size of the freed blocks */
    uint64_t aifi, aifi_bytes;              /* whole-trace classes (§2.3) */
    uint64_t aifo, aifo_bytes;              /* = outstanding at the end of the trace */
    uint64_t aofi, aofi_bytes;              /* frees of pre-trace allocations (size from the free) */
    uint64_t aofo, aofo_bytes;              /* only for windows (scen_pool_classify) */
} ScenPoolTag;

typedef struct {
    uint64_t frames[32];        /* innermost first */
    uint32_t n;
    const char *owner;          /* first module that is not nt/hal ("responsible driver") */
} ScenStack;

/* DPC/ISR per (module, opcode): ANALYSES.md §3 (durations in raw ticks). */
typedef struct {
    const char *module;
    uint8_t  opcode;            /* 0x44 DPC, 0x45 TimerDPC, 0x42 ThreadedDPC, 0x43 ISR, 0x32 ISR-MSI */
    uint64_t routine;
    uint64_t count;
    uint64_t total_ticks, max_ticks, exclusive_ticks;
    uint64_t cpu_count[8], cpu_ticks[8];    /* per CPU (first 8) */
    int64_t  max_ts;            /* exit timestamp of the longest one */
    uint16_t max_cpu;
} ScenDpcRow;

enum { SCEN_MAX_TAGS = 16, SCEN_MAX_STACKS = 64, SCEN_MAX_DPC_ROWS = 32 };

typedef struct {
    ScenOptions opts;
    /* header */
    uint32_t cpus;
    uint8_t  ptr_size;
    int64_t  perf_freq, ts0, start_time;
    int64_t  first_ts, last_ts;             /* over all events except the header buffer's */
    uint64_t file_bytes, buffers, buffers_overwritten;
    uint64_t events;                        /* events written, header buffer excluded */
    uint64_t events_by_header[8];           /* EtlHeaderKind */
    uint64_t events_by_kind[ETL_K_COUNT_];  /* kernel kinds (header buffer excluded) */
    uint64_t stack_events, stack_key_refs, stack_key_defs, ext_stack_events, wpp_events;
    /* modules (image rundown, process 0) */
    ScenModule modules[16];
    uint32_t n_modules;
    uint32_t n_processes, n_threads;
    /* pool */
    ScenPoolTag tags[SCEN_MAX_TAGS];
    uint32_t n_tags;
    ScenStack stacks[SCEN_MAX_STACKS];
    uint32_t n_stacks;
    ScenPoolRecord *records;                /* every allocation interval (not for large) */
    uint32_t n_records;
    uint32_t leak_tag;                      /* 'Leak' */
    const char *leak_module;                /* "leakydrv.sys" */
    int32_t  leak_stack;                    /* index of the leaking stack */
    uint64_t leak_count, leak_bytes;        /* AIFO through leak_stack */
    uint32_t leak2_tag;                     /* the smaller leak */
    int32_t  leak2_stack;
    uint64_t leak2_count, leak2_bytes;
    /* DPC/ISR */
    ScenDpcRow dpc[SCEN_MAX_DPC_ROWS];
    uint32_t n_dpc;
    const char *storm_module;               /* "stormdrv.sys" */
    uint16_t storm_cpu;
    uint64_t storm_count, storm_min_ticks, storm_max_ticks;
    uint64_t nested_isrs;                   /* ISRs inside a DPC (exclusive-time test) */
} ScenTruth;

void scen_truth_clear(ScenTruth *t);

/* Generate into w (already created from scen_writer_config()); fills truth. */
bool scen_generate(const ScenOptions *o, EtlWriter *w, ScenTruth *truth, GError **error);
/* The writer configuration a scenario uses. */
void scen_writer_config(const ScenOptions *o, EtlWriterConfig *cfg);
/* Convenience: generate to a file / to memory (g_free the bytes). */
bool scen_generate_file(const ScenOptions *o, const char *path, ScenTruth *truth, GError **error);
uint8_t *scen_generate_memory(const ScenOptions *o, size_t *len, ScenTruth *truth, GError **error);

/* Classify the pool records for the selection [t1, t2] (raw, closed; ANALYSES §2.3) into
 * per-tag AIFI/AIFO/AOFI/AOFO counts and bytes (out: SCEN_MAX_TAGS entries in truth->tags
 * order; only the class fields are set). */
void scen_pool_classify(const ScenTruth *t, int64_t t1, int64_t t2, ScenPoolTag *out);

/* Ground truth as JSON (deterministic). */
char *scen_truth_json(const ScenTruth *t);

const ScenDpcRow *scen_truth_dpc_row(const ScenTruth *t, const char *module, uint8_t opcode);
const ScenPoolTag *scen_truth_tag(const ScenTruth *t, uint32_t tag);

G_END_DECLS
