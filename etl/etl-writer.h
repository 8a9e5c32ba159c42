/* etl-writer.h — writes .etl files byte for byte as the Windows kernel logger does.
 *
 * Used by the tests (traces with known ground truth), the scenario generator, benchmarks and
 * crash-dump extraction.  Layouts follow ../shared/docs/ETL_CONTAINER.md; where real traces
 * showed a detail the spec leaves open, the comment says what the trace showed.
 *
 * Usage:
 *     EtlWriterConfig cfg;
 *     etl_writer_config_init(&cfg);            // defaults: 64 KiB buffers, 1 CPU, 64-bit, QPC 10 MHz
 *     cfg.cpus = 4;
 *     EtlWriter *w = etl_writer_new_file("out.etl", &cfg, &error);
 *     EtlWriterKernel k = { .header = ETL_WRITER_PERFINFO, .group = 0x0F, .opcode = 0x44,
 *                           .version = 2, .cpu = 1, .timestamp = ts };
 *     etl_writer_kernel(w, &k, payload, len, &error);
 *     etl_writer_finish(w, &error);             // flushes, patches the header, renames
 *     etl_writer_free(w);
 *
 * Memory is bounded: one open buffer per CPU that has events, the header buffer and a
 * compression scratch buffer.  Full buffers are written out as they fill (file writers write
 * to "<dir>/.<name>.XXXXXX" and rename at finish; nothing half-written is left behind).
 * Output is deterministic: the same configuration and calls give byte-identical files.
 */
#pragma once

#include "etl.h"

G_BEGIN_DECLS

typedef struct EtlWriter EtlWriter;

/* Bytes written into alignment gaps and unused header fields. */
typedef enum {
    ETL_WRITER_FILL_ZERO = 0,   /* zeros (seen in compressed/relogged files)                */
    ETL_WRITER_FILL_STALE,      /* deterministic pseudo-random bytes in alignment gaps and
                                   kernel-pointer-like values in the buffer header's list
                                   fields (0x20, 0x38): what live kernel loggers leave     */
} EtlWriterFill;

typedef struct {
    uint32_t buffer_size;       /* 8 KiB .. 1 MiB, multiple of 8 (default 64 KiB) */
    uint32_t cpus;              /* NumberOfProcessors (default 1) */
    uint8_t  pointer_size;      /* 4 or 8: SYSTEM32/64 header event, TRACE_LOGFILE_HEADER32/64,
                                   and the default for every event (default 8) */
    uint32_t clock_type;        /* ReservedFlags: ETL_CLOCK_* (default QPC) */
    int64_t  perf_freq;         /* Hz (default 10 000 000) */
    int64_t  start_time;        /* FILETIME of session start (default 2024-01-15T10:00:00Z) */
    int64_t  ts0;               /* raw timestamp of the header event (default 1 h at 10 MHz) */
    int64_t  boot_time;         /* FILETIME; 0 = derived from start_time and ts0 */
    int64_t  end_time;          /* FILETIME; 0 = derived at finish from the last timestamp */
    uint8_t  os_major, os_minor;        /* default 10.0 */
    uint32_t os_build;          /* ProviderVersion (default 19041) */
    uint8_t  layout_major, layout_minor; /* 0.0 = automatic: 2.0 when compressed, buffers
                                            > 1 MiB or > 256 CPUs, else 1.5 */
    uint32_t cpu_mhz;           /* CpuSpeedInMHz, must be non-zero (default 2995) */
    uint32_t timer_resolution;  /* 100 ns units (default 156250) */
    uint64_t timer_source[2];   /* the LoggerName/LogFileName slots (default 10, 7) */
    int32_t  tz_bias;           /* minutes, UTC = local + bias (default 0) */
    const char *tz_standard_name; /* default "@tzres.dll,-932" */
    const char *tz_daylight_name; /* default "@tzres.dll,-931" */
    const char *logger_name;    /* default "NT Kernel Logger" */
    const char *log_file_name;  /* default "C:\\etla\\trace.etl" */
    uint32_t log_file_mode;     /* default SEQUENTIAL|SYSTEM_LOGGER; CIRCULAR and COMPRESSED
                                   are added by circular_max_bytes and compress */
    uint32_t max_file_size;     /* header MaximumFileSize for non-circular files (MB) */
    uint16_t logger_id;         /* ClientContext.LoggerId (default 0x1c) */
    uint32_t events_lost;       /* reported in the header */
    uint32_t buffers_lost;
    uint32_t header_tid, header_pid;  /* header event's ThreadId/ProcessId */
    uint32_t group_masks[8];    /* EventTrace/Extension payload */
    uint32_t kernel_event_version; /* default 0x46 (Windows 10 traces) */
    bool     partition_info;    /* also write EventTrace/PartitionInfo (0x0050, v0, 48 zero
                                   bytes) in the header buffer, as Windows 10 kernel loggers do */
    bool     proc_index;        /* BufferFlag PROC_INDEX: u16 ProcessorIndex (default true);
                                   off: u8 ProcessorNumber + Alignment byte 8 (Windows 7) */
    bool     compress;          /* XPRESS data buffers (header buffer stays plain) */
    bool     full_header_buffer;/* compressed files: keep the header buffer at the session
                                   size (default: cut to a multiple of 512 bytes, as all three
                                   real compressed files are) */
    bool     header_quirk;      /* header buffer SavedOffset = 0, Offset = end (Windows 7) */
    bool     sequence_at_start; /* SequenceNumber taken when a buffer receives its first event
                                   instead of when it is flushed: file order then differs from
                                   sequence order (1,3,2,...) as in real files */
    uint64_t circular_max_bytes;/* 0 = sequential; else circular file of at most this many
                                   bytes (header buffer + whole data slots, at least 1 slot);
                                   header MaximumFileSize in MB, or KB (USE_KBYTES_FOR_SIZE)
                                   when not a whole number of MB */
    EtlWriterFill fill;
    uint64_t fill_seed;         /* seed of the stale bytes */
    bool     any_buffer_size;   /* accept any buffer size a kernel logger can have, 1 KiB to
                                   16 MiB (multiple of 8): for files of raw buffers (dump
                                   extraction); events need the 8 KiB..1 MiB of the default */
} EtlWriterConfig;

void etl_writer_config_init(EtlWriterConfig *cfg);

/* Create a writer.  The header buffer is built now (from cfg; strings are copied) and
 * written at finish with EndTime and BuffersWritten filled in. */
EtlWriter *etl_writer_new_file(const char *path, const EtlWriterConfig *cfg, GError **error);
/* File writers write a temporary file beside the target and rename it at finish.  A program
 * that removes partial outputs when a signal ends it (etla's CLI) is told the temporary's
 * path when it is created (path) and when it is gone or renamed (NULL).  One observer per
 * process; NULL to stop. */
typedef void (*EtlWriterTmpObserver)(const char *tmp_path);
void       etl_writer_set_tmp_observer(EtlWriterTmpObserver fn);
EtlWriter *etl_writer_new_memory(const EtlWriterConfig *cfg, GError **error);
/* Flush every CPU's buffer (the last one written gets FLUSH_MARKER, as in real files),
 * patch and write the header buffer, rename the temporary file into place.  After finish
 * no more events can be written. */
bool       etl_writer_finish(EtlWriter *w, GError **error);
/* Memory writers, after finish: the file bytes (g_free).  The writer gives them up. */
uint8_t   *etl_writer_steal_memory(EtlWriter *w, size_t *len);
/* Frees; an unfinished file writer removes its temporary file. */
void       etl_writer_free(EtlWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtlWriter, etl_writer_free)

const EtlWriterConfig *etl_writer_config(const EtlWriter *w);

typedef struct {
    uint64_t events;            /* events written (not counting the header buffer's) */
    uint64_t buffers;           /* buffers flushed, header buffer included */
    uint64_t buffers_overwritten; /* circular: data buffers lost to wrap-around */
    uint64_t bytes;             /* file size so far */
    uint64_t compressed_buffers;
    int64_t  first_ts, last_ts; /* over all events; INT64_MAX/INT64_MIN before any */
} EtlWriterStats;
const EtlWriterStats *etl_writer_stats(const EtlWriter *w);

/* ------------------------------------------------------------------------------------------
 * Events.  Each goes into the open buffer of its CPU, 8-byte aligned; an event that does not
 * fit flushes that buffer first.  Timestamps are raw session-clock values; the writer does
 * not reorder or check them (bad-input tests need inversions).  Every emitter returns false
 * with ETL_ERROR_INVALID for an event that cannot be represented (size > 0xFFFF or larger
 * than a buffer) and ETL_ERROR_IO when a flush fails.  pointer_size 0 = the writer's.
 * ------------------------------------------------------------------------------------------ */

typedef enum {
    ETL_WRITER_SYSTEM = 0,      /* SYSTEM_TRACE_HEADER full, 0x20 bytes (0x01/0x02)  */
    ETL_WRITER_COMPACT,         /* compact SYSTEM_TRACE_HEADER, 0x18 bytes (0x03/0x04) */
    ETL_WRITER_PERFINFO,        /* PERFINFO_TRACE_HEADER, 0x10 bytes (0x10/0x11)     */
} EtlWriterKernelHeader;

typedef struct {
    EtlWriterKernelHeader header;
    uint8_t  group, opcode;
    uint8_t  version;           /* low byte of the Version word */
    uint8_t  pointer_size;
    uint16_t cpu;
    int64_t  timestamp;
    uint32_t tid, pid;          /* SYSTEM/COMPACT only */
    uint32_t kernel_time, user_time; /* SYSTEM only */
    uint8_t  n_pmc;             /* 0..7 PMC counters (Version bits 8-10) */
    const uint64_t *pmc;
    bool     has_pebs;          /* Version bit 15; the PEBS index precedes the counters */
    uint64_t pebs_index;
} EtlWriterKernel;

bool etl_writer_kernel(EtlWriter *w, const EtlWriterKernel *ev, const void *payload,
                       size_t len, GError **error);

/* Classic EVENT_TRACE_HEADER (FULL_HEADER32/64) or, with instance set, the 0x48-byte
 * EVENT_INSTANCE_GUID_HEADER (INSTANCE32/64). */
typedef struct {
    uint8_t  pointer_size;
    uint16_t cpu;
    int64_t  timestamp;
    uint32_t tid, pid;
    uint32_t kernel_time, user_time;
    EtlGuid  guid;              /* event class GUID */
    uint8_t  type, level;       /* Class.Type (opcode), Class.Level */
    uint16_t version;
    bool     instance;
    uint32_t instance_id, parent_instance_id;
    EtlGuid  parent_guid;
} EtlWriterClassic;

bool etl_writer_classic(EtlWriter *w, const EtlWriterClassic *ev, const void *payload,
                        size_t len, GError **error);

/* EVENT_HEADER extended data item (written as u16 ItemSize rounded to 8, u16 type,
 * u16 linkage, u16 DataSize, data, zero padding). */
typedef struct {
    uint16_t type;
    uint16_t size;
    const void *data;
} EtlWriterExt;

typedef struct {
    uint8_t  pointer_size;      /* 4/8 -> 0xC012/0xC013 */
    uint16_t cpu;
    int64_t  timestamp;
    uint32_t tid, pid;
    uint16_t flags;             /* EXTENDED_INFO is added when n_ext > 0 */
    uint16_t event_property;
    EtlGuid  provider;
    uint16_t id;
    uint8_t  version, channel, level, opcode;
    uint16_t task;
    uint64_t keyword;
    uint32_t kernel_time, user_time;
    uint64_t processor_time;    /* used instead when flags has PRIVATE_SESSION or NO_CPUTIME */
    EtlGuid  activity_id;
    const EtlWriterExt *ext;
    uint32_t n_ext;
} EtlWriterEvent;

bool etl_writer_event(EtlWriter *w, const EtlWriterEvent *ev, const void *payload,
                      size_t len, GError **error);

/* Builders for extended-item data; each writes into out (cap bytes) and returns the data
 * size, or 0 when it does not fit. */
size_t etl_writer_ext_stack(uint8_t *out, size_t cap, uint64_t match_id,
                            const uint64_t *frames, uint32_t n_frames, uint8_t frame_size);
size_t etl_writer_ext_stack_key(uint8_t *out, size_t cap, uint64_t match_id, uint64_t key,
                                uint8_t key_size);
/* PROV_TRAITS: u16 total size, provider name (UTF-8, NUL), no traits. */
size_t etl_writer_ext_prov_traits(uint8_t *out, size_t cap, const char *provider_name);
/* EVENT_SCHEMA_TL: u16 size, one tag byte 0, event name, then for each field its name and
 * in-type byte (TlgIn*).  n_fields may be 0. */
size_t etl_writer_ext_schema_tl(uint8_t *out, size_t cap, const char *event_name,
                                const char *const *field_names, const uint8_t *in_types,
                                uint32_t n_fields);

/* MESSAGE_TRACE_HEADER (WPP).  flags are the OptionFlags (ETL_MSG_*); exactly the fields
 * they call for are written, in order: sequence u32; component id u32 (COMPONENT_ID wins
 * over GUID) or GUID; timestamp i64 when TIMESTAMP or PERF_TIMESTAMP; tid, pid when
 * SYSTEMINFO. */
typedef struct {
    uint16_t cpu;
    uint16_t message_number;
    uint16_t flags;
    uint32_t sequence;
    EtlGuid  guid;
    uint32_t component_id;
    int64_t  timestamp;
    uint32_t tid, pid;
} EtlWriterMessage;

bool etl_writer_message(EtlWriter *w, const EtlWriterMessage *ev, const void *args,
                        size_t len, GError **error);

/* Raw bytes as one "event" (for bad-input tests): copied as is at the next 8-aligned
 * position of the CPU's buffer; the buffer's flush time takes timestamp into account. */
bool etl_writer_raw_event(EtlWriter *w, uint16_t cpu, int64_t timestamp, const void *bytes,
                          size_t len, GError **error);

/* A complete buffer (WMI_BUFFER_HEADER + data), written verbatim as the next buffer of the
 * file (or the next circular slot): for dump extraction, which carves buffers the kernel
 * already formed, and for bad-input tests.  len >= 0x48.  It counts in BuffersWritten and its
 * TimeStamp (0x10), if positive, in the trace's last timestamp (EndTime). */
bool etl_writer_raw_buffer(EtlWriter *w, const void *buf, size_t len, GError **error);

/* Flush one CPU's open buffer now (e.g. a flush timer), OR-ing extra BufferFlag bits
 * (e.g. ETL_BUFFER_FLAG_EVENTS_LOST).  No-op when the CPU has no open buffer. */
bool etl_writer_flush_cpu(EtlWriter *w, uint16_t cpu, uint16_t extra_flags, GError **error);

G_END_DECLS
