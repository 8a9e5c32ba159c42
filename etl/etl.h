/* etl.h — the one header other layers include.
 *
 * etl/ reads Windows ETW trace files (.etl) byte by byte: buffers, the log-file header,
 * every trace-header type, compressed buffers, the per-CPU k-way merge, and typed decoding
 * of the kernel payloads the analyses need.  It knows nothing about pools or charts.
 *
 * Ownership: trace bytes are never copied.  An EtlEvent returned by etl_reader_next() is a
 * borrowed view valid until the next call on that reader; every pointer inside it points into
 * the file mapping or into the reader's decompression buffer.  Sinks that keep data copy it.
 *
 * Specs: ../shared/docs/ETL_CONTAINER.md and KERNEL_PAYLOADS.md; where a real trace
 * disagreed, docs/format-notes.md says what the trace showed and what the code does.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

G_BEGIN_DECLS

/* ------------------------------------------------------------------------------------------
 * Little-endian readers (unaligned-safe; the mapped data is never byte-swapped in place)
 * ------------------------------------------------------------------------------------------ */
static inline uint16_t etl_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return GUINT16_FROM_LE(v); }
static inline uint32_t etl_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return GUINT32_FROM_LE(v); }
static inline uint64_t etl_rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return GUINT64_FROM_LE(v); }
/* Pointer-sized read: 4 or 8 bytes. */
static inline uint64_t etl_rdptr(const uint8_t *p, unsigned psize) { return psize == 8 ? etl_rd64(p) : etl_rd32(p); }

/* ------------------------------------------------------------------------------------------
 * GUIDs (Windows in-memory layout: Data1..3 little-endian, Data4 as bytes)
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    uint32_t data1;
    uint16_t data2, data3;
    uint8_t  data4[8];
} EtlGuid;

#define ETL_GUID_STRLEN 37 /* 36 chars + NUL, lowercase, no braces */

EtlGuid etl_guid_read(const uint8_t *p);
void    etl_guid_write(const EtlGuid *g, uint8_t out[16]);
void    etl_guid_format(const EtlGuid *g, char out[ETL_GUID_STRLEN]);
bool    etl_guid_parse(const char *s, EtlGuid *out); /* accepts optional braces, any case */
static inline bool etl_guid_equal(const EtlGuid *a, const EtlGuid *b) { return memcmp(a, b, sizeof *a) == 0; }
bool    etl_guid_is_null(const EtlGuid *g);
guint   etl_guid_hash(gconstpointer g);
gboolean etl_guid_equal_func(gconstpointer a, gconstpointer b);

/* ------------------------------------------------------------------------------------------
 * Errors at boundaries (open a trace, write a file): GError in domain ETL_ERROR
 * ------------------------------------------------------------------------------------------ */
#define ETL_ERROR (etl_error_quark())
GQuark etl_error_quark(void);
typedef enum {
    ETL_ERROR_IO,        /* cannot open/read/map/write                         */
    ETL_ERROR_EMPTY,     /* zero-length file                                   */
    ETL_ERROR_NOT_ETL,   /* the first buffer is not an ETL header buffer       */
    ETL_ERROR_CORRUPT,   /* header present but unusable                        */
    ETL_ERROR_INVALID,   /* invalid argument from the caller                   */
} EtlErrorCode;

/* ------------------------------------------------------------------------------------------
 * Sources: "give me bytes at (offset, len)".  A file (mapped) or a memory range (fuzzing,
 * tests, dump extraction).  The decoder never does I/O itself.
 * ------------------------------------------------------------------------------------------ */
typedef struct EtlSource EtlSource;

EtlSource     *etl_source_open_file(const char *path, GError **error);
/* Borrowed memory: data must outlive the source. */
EtlSource     *etl_source_new_memory(const uint8_t *data, size_t size, const char *name);
/* Owned memory: the source g_free()s data. */
EtlSource     *etl_source_new_memory_take(uint8_t *data, size_t size, const char *name);
void           etl_source_free(EtlSource *src);
uint64_t       etl_source_size(const EtlSource *src);
const char    *etl_source_name(const EtlSource *src);
/* Pointer to [off, off+len) or NULL when out of range.  Valid until the source is freed
 * (pages may be released by etl_source_release and transparently faulted in again). */
const uint8_t *etl_source_get(EtlSource *src, uint64_t off, size_t len);
/* Hint: [off, off+len) will not be read again soon.  File sources drop those pages from
 * the process's resident set in batches, so resident memory does not grow with the file. */
void           etl_source_release(EtlSource *src, uint64_t off, size_t len);

/* ------------------------------------------------------------------------------------------
 * Log-file header (TRACE_LOGFILE_HEADER, first event of the first buffer)
 * ------------------------------------------------------------------------------------------ */
enum {
    ETL_CLOCK_RAW = 0,
    ETL_CLOCK_QPC = 1,
    ETL_CLOCK_SYSTEM_TIME = 2,
    ETL_CLOCK_CPU_CYCLES = 3,
};

/* LogFileMode bits the reader cares about */
#define ETL_MODE_SEQUENTIAL   0x00000001u
#define ETL_MODE_CIRCULAR     0x00000002u
#define ETL_MODE_APPEND       0x00000004u
#define ETL_MODE_NEWFILE      0x00000008u
#define ETL_MODE_PREALLOCATE  0x00000020u
#define ETL_MODE_RELOG        0x00010000u
#define ETL_MODE_SYSTEM_LOGGER 0x02000000u
#define ETL_MODE_COMPRESSED   0x04000000u
#define ETL_MODE_NO_PER_PROCESSOR_BUFFERING 0x10000000u

typedef struct {
    uint32_t buffer_size;        /* session buffer size, bytes */
    uint8_t  os_major, os_minor; /* e.g. 10.0 */
    uint8_t  layout_major, layout_minor; /* SubVersion.SubMinorVersion, e.g. 1.5, 2.0 */
    uint32_t os_build;           /* ProviderVersion */
    uint32_t cpus;               /* NumberOfProcessors */
    int64_t  end_time;           /* FILETIME */
    uint32_t timer_resolution;   /* 100 ns units */
    uint32_t max_file_size;      /* MB (KB with USE_KBYTES_FOR_SIZE) */
    uint32_t log_file_mode;
    uint32_t buffers_written;
    uint32_t start_buffers;
    uint32_t pointer_size;       /* field value (4/8); see header_is64 */
    uint32_t events_lost;
    uint32_t cpu_mhz;
    uint64_t timer_source[2];    /* LoggerName/LogFileName slots: HAL timer sources in 6.1+ */
    int32_t  tz_bias_minutes;    /* UTC = local + bias */
    char     tz_standard_name[96]; /* UTF-8 */
    int64_t  boot_time;          /* FILETIME */
    int64_t  perf_freq;          /* Hz */
    int64_t  start_time;         /* FILETIME */
    uint32_t clock_type;         /* ReservedFlags: ETL_CLOCK_* */
    uint32_t buffers_lost;
    char    *logger_name;        /* UTF-8, owned, never NULL ("" when absent) */
    char    *log_file_name;      /* UTF-8, owned, never NULL */
    /* derived */
    bool     header_is64;        /* from the header event's type (0x02 SYSTEM64) */
    int64_t  ts0;                /* raw timestamp of the header event: the sync point */
    int64_t  ticks_per_second;   /* clock frequency used for conversions (never 0) */
    uint16_t logger_id;          /* from the header buffer's context */
} EtlLogfileHeader;

/* Time conversion (exact 128-bit arithmetic; ts may precede ts0). */
int64_t etl_ticks_to_ns(const EtlLogfileHeader *h, int64_t ticks);     /* duration */
int64_t etl_time_rel_ns(const EtlLogfileHeader *h, int64_t ts);         /* since trace start */
double  etl_time_rel_s(const EtlLogfileHeader *h, int64_t ts);
int64_t etl_time_filetime(const EtlLogfileHeader *h, int64_t ts);       /* absolute, UTC */
/* Inverse: seconds since trace start -> raw timestamp (for --from/--to). */
int64_t etl_time_from_rel_s(const EtlLogfileHeader *h, double seconds);
/* "2011-08-29T04:12:33.1234567Z" (7 fractional digits = FILETIME resolution). */
void    etl_filetime_format_iso8601(int64_t filetime, char out[40]);
const char *etl_clock_type_name(uint32_t clock_type);

/* ------------------------------------------------------------------------------------------
 * Buffers
 * ------------------------------------------------------------------------------------------ */
#define ETL_BUFFER_HEADER_SIZE 0x48u
#define ETL_MAX_BUFFER_SIZE (16u * 1024u * 1024u) /* MAX_ETW_BUFFER_SIZE since Windows 8 */

/* BufferFlag bits */
#define ETL_BUFFER_FLAG_FLUSH_MARKER 0x0001u
#define ETL_BUFFER_FLAG_EVENTS_LOST  0x0002u
#define ETL_BUFFER_FLAG_BUFFER_LOST  0x0004u
#define ETL_BUFFER_FLAG_RTBACKUP_CORRUPT 0x0008u
#define ETL_BUFFER_FLAG_RTBACKUP     0x0010u
#define ETL_BUFFER_FLAG_PROC_INDEX   0x0020u
#define ETL_BUFFER_FLAG_COMPRESSED   0x0040u

/* BufferType values */
enum {
    ETL_BUFFER_TYPE_GENERIC = 0, ETL_BUFFER_TYPE_RUNDOWN = 1, ETL_BUFFER_TYPE_CTX_SWAP = 2,
    ETL_BUFFER_TYPE_REFTIME = 3, ETL_BUFFER_TYPE_HEADER = 4, ETL_BUFFER_TYPE_BATCHED = 5,
    ETL_BUFFER_TYPE_EMPTY_MARKER = 6, ETL_BUFFER_TYPE_DBG_INFO = 7,
};

/* Raw WMI_BUFFER_HEADER fields. */
typedef struct {
    uint32_t buffer_size, saved_offset, current_offset;
    int64_t  timestamp, sequence;
    uint16_t cpu;              /* ProcessorIndex or ProcessorNumber per PROC_INDEX flag */
    uint16_t logger_id;
    uint32_t state, offset;
    uint16_t flags, type;
} EtlBufferHeader;

/* Parse the 0x48-byte header at p (caller guarantees 0x48 readable bytes). */
void etl_buffer_header_parse(const uint8_t *p, EtlBufferHeader *out);

typedef struct {
    uint64_t file_offset;
    uint64_t span;             /* bytes of the file this entry covers: the buffer, or a whole run of
                                  unusable (unwritten or garbage) slots */
    EtlBufferHeader hdr;
    uint32_t events_end;       /* end of events in the (decompressed) buffer image */
    uint32_t index;            /* position in file order, 0-based (runs of unusable slots are one entry) */
    bool     compressed;
    bool     usable;           /* false: skipped (unwritten, or diagnosed as corrupt) */
    bool     unwritten;        /* zero-filled slot (preallocated or never written) */
} EtlBufferInfo;

/* ------------------------------------------------------------------------------------------
 * Diagnostics: problems in the input.  Never fatal; reading resynchronises and goes on.
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_DIAG_BUFFER_HEADER,      /* implausible buffer header                       */
    ETL_DIAG_BUFFER_TRUNCATED,   /* buffer runs past the end of the file            */
    ETL_DIAG_BUFFER_SIZE,        /* BufferSize differs from the session buffer size */
    ETL_DIAG_DECOMPRESS,         /* compressed payload does not decode              */
    ETL_DIAG_EVENT_MARKER,       /* unknown/invalid trace-header marker             */
    ETL_DIAG_EVENT_SIZE,         /* event size smaller than its header / overruns   */
    ETL_DIAG_EXT_ITEM,           /* malformed EVENT_HEADER extended data item       */
    ETL_DIAG_LOGGER_ID,          /* buffer from another logger                      */
    ETL_DIAG_CPU_RANGE,          /* CPU index beyond the header's CPU count         */
    ETL_DIAG_FILE_TRUNCATED,     /* trailing bytes shorter than a buffer header     */
    ETL_DIAG_PAYLOAD,            /* kernel payload shorter than its layout          */
    ETL_DIAG_COUNT_
} EtlDiagCode;

typedef struct {
    EtlDiagCode code;
    uint64_t    file_offset;   /* of the buffer or the event */
    uint32_t    buffer_index;  /* UINT32_MAX when not in a buffer */
    int32_t     cpu;           /* -1 when unknown */
    char        detail[160];
} EtlDiag;

const char *etl_diag_code_name(EtlDiagCode code);
/* "corrupt event marker 0x12345678: offset=0x1f0048, buffer=31, cpu=2" */
char *etl_diag_format(const EtlDiag *d); /* g_free */

typedef void (*EtlDiagFn)(const EtlDiag *diag, void *user_data);

/* ------------------------------------------------------------------------------------------
 * Opening a trace: validates the header buffer, parses the log-file header, indexes every
 * buffer (one pass over buffer headers, no event bytes read).
 * ------------------------------------------------------------------------------------------ */
typedef struct EtlTrace EtlTrace;
typedef struct EtlEvent EtlEvent;

typedef struct {
    EtlDiagFn diag_fn;           /* called for each diagnostic as it happens (may be NULL) */
    void     *diag_user_data;
    uint32_t  max_kept_diags;    /* diagnostics kept for etl_trace_diags(); 0 = default 64 */
} EtlOpenOptions;

/* Takes ownership of src (freed on error too). */
EtlTrace *etl_trace_open(EtlSource *src, const EtlOpenOptions *opts, GError **error);
EtlTrace *etl_trace_open_file(const char *path, const EtlOpenOptions *opts, GError **error);
void      etl_trace_free(EtlTrace *t);

const EtlLogfileHeader *etl_trace_header(const EtlTrace *t);
EtlSource              *etl_trace_source(EtlTrace *t);
uint32_t                etl_trace_buffer_count(const EtlTrace *t);
const EtlBufferInfo    *etl_trace_buffer(const EtlTrace *t, uint32_t i);
/* Highest CPU index seen in a buffer + 1 (may exceed header cpus in >64-CPU traces). */
uint32_t                etl_trace_cpu_slots(const EtlTrace *t);

/* Trace statistics and health.  Buffer counts are set when the trace is opened; event counts
 * and diagnostics accumulate as readers read, so they describe one full pass when one reader
 * has read the trace to its end (a second reader adds to them and re-reports problems). */
typedef struct {
    uint64_t buffers, buffers_skipped, compressed_buffers;
    uint64_t buffers_unwritten;        /* zero-filled slots of preallocated/circular files */
    uint64_t bytes_file;               /* file size */
    uint64_t bytes_events;             /* bytes of events walked (decompressed size) */
    uint64_t events;                   /* events delivered */
    uint64_t events_by_header[8];      /* index: EtlHeaderKind */
    uint64_t events_skipped;           /* unparseable events (diagnosed) */
    uint64_t bytes_skipped;            /* bytes abandoned after corrupt events/buffers */
    uint64_t time_inversions;          /* per-CPU stream: ts below the previous event's */
    uint64_t diagnostics;              /* total diagnostics (kept + dropped) */
    uint64_t diags_by_code[ETL_DIAG_COUNT_];
    uint64_t header_events;            /* log-file header events (several in merged files) */
    uint64_t messages_without_time;    /* WPP messages with no timestamp */
    int64_t  first_ts, last_ts;        /* raw; INT64_MAX/INT64_MIN when no events */
    uint32_t max_cpu_seen;
} EtlStats;

const EtlStats *etl_trace_stats(const EtlTrace *t);
/* Report a problem found above the container layer (e.g. a kernel payload shorter than its
 * layout) against the event it concerns; counted and kept like the reader's own. */
void etl_trace_add_diag(EtlTrace *t, EtlDiagCode code, const EtlEvent *ev, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* An extra pass over the trace (a pre-scan) must not count events or report problems twice:
 * between begin and end, diagnostics are dropped and the statistics are restored at the end. */
void etl_trace_quiet_begin(EtlTrace *t);
void etl_trace_quiet_end(EtlTrace *t);

/* The diagnostics kept (the first max_kept_diags); stats->diagnostics counts them all. */
const EtlDiag  *etl_trace_diags(const EtlTrace *t, uint32_t *n);

/* ------------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_HDR_SYSTEM = 0,      /* SYSTEM_TRACE_HEADER full (0x01/0x02)                        */
    ETL_HDR_COMPACT = 1,     /* compact SYSTEM_TRACE_HEADER (0x03/0x04)                     */
    ETL_HDR_PERFINFO = 2,    /* PERFINFO_TRACE_HEADER (0x10/0x11)                           */
    ETL_HDR_FULL = 3,        /* EVENT_TRACE_HEADER, classic (0x0A/0x14)                     */
    ETL_HDR_INSTANCE = 4,    /* EVENT_INSTANCE_GUID_HEADER (0x0B/0x15)                      */
    ETL_HDR_EVENT = 5,       /* EVENT_HEADER: manifest, EventSource, TraceLogging (0x12/0x13) */
    ETL_HDR_MESSAGE = 6,     /* MESSAGE_TRACE_HEADER: WPP                                   */
    ETL_HDR_OTHER = 7,       /* TIMED/ERROR/WNODE/ULONG32_TIME: sized, skipped by consumers */
} EtlHeaderKind;

const char *etl_header_kind_name(EtlHeaderKind k);
/* Kernel "system" events: group/opcode identify them (SYSTEM, COMPACT, PERFINFO). */
static inline bool etl_header_kind_is_kernel(EtlHeaderKind k) { return k <= ETL_HDR_PERFINFO; }
/* Events identified by (provider, opcode) — kernel and classic headers — as opposed to event
 * ids (EVENT_HEADER, WPP): named by etl_opcode_name(), decoded by etl_kernel_decode(). */
static inline bool etl_header_kind_is_opcode_keyed(EtlHeaderKind k)
{
    return k <= ETL_HDR_PERFINFO || k == ETL_HDR_FULL || k == ETL_HDR_INSTANCE;
}

#define ETL_NO_ID 0xFFFFFFFFu     /* thread/process id absent from the header */
#define ETL_MAX_EXT_ITEMS 16

/* EVENT_HEADER extended data item types */
enum {
    ETL_EXT_RELATED_ACTIVITYID = 1, ETL_EXT_SID = 2, ETL_EXT_TS_ID = 3, ETL_EXT_INSTANCE_INFO = 4,
    ETL_EXT_STACK_TRACE32 = 5, ETL_EXT_STACK_TRACE64 = 6, ETL_EXT_PEBS_INDEX = 7,
    ETL_EXT_PMC_COUNTERS = 8, ETL_EXT_PSM_KEY = 9, ETL_EXT_EVENT_KEY = 10,
    ETL_EXT_EVENT_SCHEMA_TL = 11, ETL_EXT_PROV_TRAITS = 12, ETL_EXT_PROCESS_START_KEY = 13,
    ETL_EXT_CONTROL_GUID = 14, ETL_EXT_QPC_DELTA = 15, ETL_EXT_CONTAINER_ID = 16,
    ETL_EXT_STACK_KEY32 = 17, ETL_EXT_STACK_KEY64 = 18,
};

typedef struct {
    uint16_t       type;
    uint16_t       size;    /* data bytes */
    const uint8_t *data;
} EtlExtItem;

/* EVENT_HEADER flags (in-buffer) */
#define ETL_EVENT_FLAG_EXTENDED_INFO   0x0001u
#define ETL_EVENT_FLAG_PRIVATE_SESSION 0x0002u
#define ETL_EVENT_FLAG_STRING_ONLY     0x0004u
#define ETL_EVENT_FLAG_TRACE_MESSAGE   0x0008u
#define ETL_EVENT_FLAG_NO_CPUTIME      0x0010u

/* MESSAGE_TRACE_HEADER option flags */
#define ETL_MSG_SEQUENCE     0x0001u
#define ETL_MSG_GUID         0x0002u
#define ETL_MSG_COMPONENT_ID 0x0004u
#define ETL_MSG_TIMESTAMP    0x0008u
#define ETL_MSG_PERF_TIMESTAMP 0x0010u
#define ETL_MSG_SYSTEMINFO   0x0020u
#define ETL_MSG_POINTER32    0x0040u
#define ETL_MSG_POINTER64    0x0080u

struct EtlEvent {
    /* where */
    uint64_t file_offset;      /* of the event in the file; for compressed buffers the offset of
                                  the buffer plus the event's offset in the decompressed image */
    uint32_t buffer_index;     /* file-order index of its buffer */
    uint32_t buffer_pos;       /* offset of the event inside its (decompressed) buffer */
    uint16_t cpu;
    /* header */
    EtlHeaderKind kind;
    uint8_t  header_type;      /* raw byte 2 of the marker (0 for MESSAGE) */
    uint8_t  pointer_size;     /* 4 or 8: from the header type (MESSAGE: option flags / file) */
    uint16_t size;             /* total event size, unaligned */
    uint16_t header_size;      /* bytes before the payload (incl. PEBS/PMC and ext items) */
    int64_t  timestamp;        /* raw, session clock; MESSAGE without time: previous event's */
    bool     has_timestamp;
    uint32_t tid, pid;         /* ETL_NO_ID when absent */
    uint32_t kernel_time, user_time;
    /* identity */
    EtlGuid  provider;         /* kernel: group GUID (0x030A remapped to Image); classic: class GUID */
    uint8_t  group;            /* kernel group (SYSTEM/COMPACT/PERFINFO), else 0 */
    uint8_t  opcode;           /* kernel Type / classic Class.Type / EVENT_HEADER Opcode */
    uint16_t event_id;         /* EVENT_HEADER Id, MESSAGE MessageNumber; else 0 */
    uint16_t version;          /* payload version (kernel: low byte of Version word) */
    uint8_t  level, channel;
    uint16_t task;
    uint64_t keyword;
    uint16_t flags;            /* EVENT_HEADER Flags / MESSAGE OptionFlags / SYSTEM raw Version word */
    uint16_t event_property;   /* EVENT_HEADER */
    EtlGuid  activity_id;      /* EVENT_HEADER */
    uint32_t instance_id, parent_instance_id; /* INSTANCE */
    EtlGuid  parent_guid;                     /* INSTANCE */
    uint32_t message_sequence; /* MESSAGE */
    uint32_t component_id;     /* MESSAGE with COMPONENT_ID */
    /* PEBS/PMC extension (kernel headers) */
    uint8_t  n_pmc;
    bool     has_pebs;
    const uint8_t *pmc;        /* n_pmc u64 values, then nothing */
    uint64_t pebs_index;
    /* EVENT_HEADER extended data items */
    uint8_t  n_ext;
    EtlExtItem ext[ETL_MAX_EXT_ITEMS];
    /* bytes */
    const uint8_t *raw;        /* the whole event (size bytes) */
    const uint8_t *payload;    /* user data */
    uint32_t payload_len;
};

/* The first extended item of a type, or NULL. */
const EtlExtItem *etl_event_ext(const EtlEvent *ev, uint16_t type);

/* Classify and decode one trace header at p with avail bytes left in the buffer.
 * Fills ev's header fields (not file_offset/buffer/cpu).  Returns the event size on
 * success, 0 at the end-of-events fill (0xFFFFFFFF or 0), or -1 on a malformed event
 * with *diag_code and *detail set.  Pure: used by the reader, the writer's tests and fuzzers. */
int etl_event_parse(const uint8_t *p, size_t avail, bool file_is64, EtlEvent *ev,
                    EtlDiagCode *diag_code, char *detail, size_t detail_len);

/* Kernel group -> provider GUID (NULL for groups >= 0x1F; see etl_kernel_group_guid_any). */
const EtlGuid *etl_kernel_group_guid(uint8_t group);
/* Always a GUID: unknown groups get a synthetic {00000000-0000-0000-0000-0000000000GG}. */
EtlGuid        etl_kernel_group_guid_any(uint8_t group);

/* ------------------------------------------------------------------------------------------
 * Reading events
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_ORDER_TIME, /* k-way merge of per-CPU streams by (timestamp, cpu, sequence, position) */
    ETL_ORDER_FILE, /* buffers in file order, events in buffer order (no merge)              */
    ETL_ORDER_CPU,  /* one CPU stream after another, each in (sequence, position) order: every
                       per-CPU property holds (time inversions, stack-walk adjacency) without the
                       cost of the merge; for consumers that aggregate (etla info)            */
} EtlOrder;

typedef struct EtlReader EtlReader;

EtlReader      *etl_reader_new(EtlTrace *t, EtlOrder order);
/* NULL at the end.  The view is valid until the next call or etl_reader_free(). */
const EtlEvent *etl_reader_next(EtlReader *r);
void            etl_reader_free(EtlReader *r);
/* Progress for long reads: on-disk bytes of the buffers opened so far, and the file size. */
void            etl_reader_progress(const EtlReader *r, uint64_t *done, uint64_t *total);

/* ------------------------------------------------------------------------------------------
 * Compression: MS-XCA plain LZ77 ("LZXPRESS"), as used by compressed ETL buffers.
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_XPRESS_OK = 0,
    ETL_XPRESS_TRUNCATED_INPUT,  /* input ended inside a match/length encoding */
    ETL_XPRESS_BAD_OFFSET,       /* match refers before the start of the output */
    ETL_XPRESS_OUTPUT_FULL,      /* a match would write past capacity */
    ETL_XPRESS_BAD_LENGTH,       /* a long-length field below its legal minimum (MS-XCA 2.4) */
} EtlXpressStatus;

/* Decode in[0..in_len) into out[0..cap).  Stops when the output is full or the input ends;
 * *out_len receives the bytes produced.  Never reads or writes out of bounds. */
EtlXpressStatus etl_xpress_decompress(const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t cap, size_t *out_len);
/* Compress (used by the writer and tests).  out must hold etl_xpress_bound(in_len) bytes.
 * Returns the compressed size. */
size_t etl_xpress_bound(size_t in_len);
size_t etl_xpress_compress(const uint8_t *in, size_t in_len, uint8_t *out);
const char *etl_xpress_status_name(EtlXpressStatus s);

/* ------------------------------------------------------------------------------------------
 * Strings in payloads
 * ------------------------------------------------------------------------------------------ */
/* Borrowed, unterminated strings inside a payload. */
typedef struct { const uint8_t *p; uint32_t nbytes; } EtlWStr; /* UTF-16LE, no NUL */
typedef struct { const char *p; uint32_t len; } EtlAStr;       /* 8-bit, no NUL */

/* Bounded scans: the string starting at p (max bytes available).  *consumed includes the
 * NUL terminator when one was found within max.  */
EtlWStr etl_wstr_scan(const uint8_t *p, size_t max, size_t *consumed);
EtlAStr etl_astr_scan(const uint8_t *p, size_t max, size_t *consumed);
/* Append UTF-8 (invalid UTF-16 becomes U+FFFD). */
void    etl_wstr_append_utf8(GString *out, EtlWStr s);
/* Append 8-bit text: valid UTF-8 kept, other bytes taken as Latin-1. */
void    etl_astr_append_utf8(GString *out, EtlAStr s);
char   *etl_wstr_dup_utf8(EtlWStr s);

/* ------------------------------------------------------------------------------------------
 * Kernel payload decoding (etl/kernel/).  Table-driven by (group, opcode, version).
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_K_UNKNOWN = 0,      /* no decoder for this (provider, opcode, version)       */
    ETL_K_POOL,             /* Pool 0x20-0x23 alloc/free (+session)                   */
    ETL_K_POOL_OTHER,       /* Pool 0x24-0x2F: page/snapshot events (raw, counted)    */
    ETL_K_DPC,              /* PerfInfo DPC 0x44, TimerDPC 0x45, ThreadedDPC 0x42      */
    ETL_K_ISR,              /* PerfInfo ISR 0x43, ISR-MSI 0x32, ISR-PASS 0x5F          */
    ETL_K_SAMPLED_PROFILE,  /* PerfInfo 0x2E                                          */
    ETL_K_CSWITCH,          /* Thread 0x24                                            */
    ETL_K_THREAD,           /* Thread Start/End/DCStart/DCEnd 1-4                     */
    ETL_K_READY_THREAD,     /* Thread 0x32                                            */
    ETL_K_PROCESS,          /* Process Start/End/DCStart/DCEnd/Defunct 1-4, 39        */
    ETL_K_IMAGE,            /* Image Load(0x030A/0x140A)/UnLoad/DCStart/DCEnd          */
    ETL_K_STACK,            /* StackWalk 0x20                                         */
    ETL_K_STACK_KEY_REF,    /* StackWalk 0x25 kernel / 0x26 user                      */
    ETL_K_STACK_KEY_DEF,    /* StackWalk 0x22 create / 0x23 delete / 0x24 rundown     */
    ETL_K_SYSCONFIG_CPU,    /* SystemConfig 0x0A                                      */
    ETL_K_IMAGE_ID,         /* KernelTraceControl ImageID (opcode 0)                  */
    ETL_K_DBGID_RSDS,       /* KernelTraceControl DbgID_RSDS 0x24, ILRSDS 0x25        */
    ETL_K_HEADER_EXTENSION, /* EventTrace 0x05 / 0x20 group masks                     */
    ETL_K_LOGFILE_HEADER,   /* EventTrace 0x00 (payload decoded by the trace layer)   */
    ETL_K_COUNT_
} EtlKernelKind;

typedef struct {
    uint32_t type;          /* POOL_TYPE */
    uint32_t tag;           /* byte 0 = first character */
    uint64_t size;          /* NumberOfBytes */
    uint64_t entry;         /* block address */
    uint32_t session_id;
    bool     has_session;   /* opcodes 0x21/0x23 */
    bool     is_free;       /* opcodes 0x22/0x23 */
} EtlPool;

typedef struct {
    uint64_t initial_time;  /* entry time, raw clock; event timestamp is the exit time */
    uint64_t routine;
} EtlDpc;

typedef struct {
    uint64_t initial_time;
    uint64_t routine;
    uint8_t  return_value;
    uint8_t  vector;        /* u8 at @9+P (MOF reading) */
    uint8_t  vector_hi;     /* byte at @10+P: non-zero only under the TDH u16 reading */
    uint32_t message_number;
    bool     has_message;   /* ISR-MSI */
} EtlIsr;

typedef struct {
    uint64_t ip;
    uint32_t thread_id;
    uint16_t count;
    uint16_t reserved;      /* Win8+: low byte bit0 ExecutingDPC, bit1 ExecutingISR */
} EtlSampledProfile;

typedef struct {
    uint32_t new_tid, old_tid;
    int8_t   new_priority, old_priority;
    uint8_t  previous_cstate;
    int8_t   spare;
    uint8_t  old_wait_reason;   /* KWAIT_REASON */
    uint8_t  old_wait_mode;     /* byte13 & 1 */
    uint8_t  old_state;         /* KTHREAD_STATE */
    uint8_t  old_ideal_processor;
    uint32_t new_wait_time;     /* v2+ */
    uint32_t reserved;
} EtlCSwitch;

typedef struct {
    uint32_t pid, tid;
    uint64_t stack_base, stack_limit, user_stack_base, user_stack_limit;
    uint64_t start_addr, win32_start_addr, teb_base;
    uint32_t sub_process_tag;
    uint8_t  base_priority, page_priority, io_priority, thread_flags;
    EtlWStr  name;          /* v4 */
    uint8_t  fields;        /* how many optional groups were present: 0 ids only, 1 v1, 2 v2, 3 v3, 4 v4 */
} EtlThread;

typedef struct {
    uint64_t unique_key;
    uint32_t pid, parent_pid, session_id;
    int32_t  exit_status;
    uint64_t directory_table_base;
    uint32_t flags;
    const uint8_t *sid;     /* SID body (after TOKEN_USER), or NULL */
    uint32_t sid_len;
    EtlAStr  image_name;
    EtlWStr  command_line, package_full_name, application_id;
    uint64_t exit_time;     /* v5 */
} EtlProcess;

typedef struct {
    uint64_t base, size;
    uint32_t pid;
    uint32_t checksum, time_date_stamp;
    uint8_t  signature_level, signature_type;
    uint64_t default_base;
    EtlWStr  file_name;
} EtlImage;

typedef struct {
    uint64_t event_timestamp;   /* raw timestamp of the event this stack belongs to */
    uint32_t pid, tid;
    const uint8_t *frames;      /* n_frames * frame_size bytes, innermost first */
    uint32_t n_frames;
    uint8_t  frame_size;        /* 4 or 8 */
} EtlStack;

typedef struct {
    uint64_t event_timestamp;
    uint32_t pid, tid;
    uint64_t key;
    bool     user;              /* opcode 0x26 */
} EtlStackKeyRef;

typedef struct {
    uint64_t key;
    const uint8_t *frames;
    uint32_t n_frames;
    uint8_t  frame_size;
} EtlStackKeyDef;

static inline uint64_t etl_frame_at(const uint8_t *frames, uint8_t frame_size, uint32_t i)
{
    return etl_rdptr(frames + (size_t)i * frame_size, frame_size);
}

typedef struct {
    uint32_t mhz, cpus, mem_mb, page_size, allocation_granularity;
    EtlWStr  computer_name, domain_name;
    uint64_t hyperthreading_flag;
} EtlSysConfigCpu;

typedef struct {
    uint64_t base, size;
    uint32_t pid, time_date_stamp;
    EtlWStr  original_file_name;
} EtlImageId;

typedef struct {
    uint64_t base;
    uint32_t pid;
    EtlGuid  guid;
    uint32_t age;
    EtlAStr  pdb_name;
} EtlDbgIdRsds;

typedef struct {
    uint32_t tid;
    int8_t   adjust_reason, adjust_increment, flag;
} EtlReadyThread;

typedef struct {
    uint32_t group_masks[8];
    uint32_t kernel_event_version;
} EtlHeaderExtension;

typedef struct {
    EtlKernelKind kind;
    union {
        EtlPool pool;
        EtlDpc dpc;
        EtlIsr isr;
        EtlSampledProfile sample;
        EtlCSwitch cswitch;
        EtlThread thread;
        EtlReadyThread ready;
        EtlProcess process;
        EtlImage image;
        EtlStack stack;
        EtlStackKeyRef stack_key_ref;
        EtlStackKeyDef stack_key_def;
        EtlSysConfigCpu cpu;
        EtlImageId image_id;
        EtlDbgIdRsds rsds;
        EtlHeaderExtension header_ext;
    } u;
} EtlKernelEvent;

typedef enum {
    ETL_DECODE_OK = 0,
    ETL_DECODE_UNKNOWN,     /* no decoder: provider/opcode/version not handled (counted) */
    ETL_DECODE_TOO_SHORT,   /* payload shorter than the layout needs (malformed)        */
} EtlDecodeStatus;

EtlDecodeStatus etl_kernel_decode(const EtlEvent *ev, EtlKernelEvent *out);
const char     *etl_kernel_kind_name(EtlKernelKind k);

/* Well-known GUIDs */
extern const EtlGuid ETL_GUID_EVENTTRACE;         /* 68fdd900-4a3e-11d1-84f4-0000f80464e3 */
extern const EtlGuid ETL_GUID_IMAGE;              /* 2cb15d1d-5fc1-11d2-abe1-00a0c911f518 */
extern const EtlGuid ETL_GUID_KTC_IMAGEID;        /* b3e675d7-2554-4f18-830b-2762732560de */
extern const EtlGuid ETL_GUID_KTC_EVENTMETADATA;  /* bbccf6c1-6cd1-48c4-80ff-839482e37671 */
extern const EtlGuid ETL_GUID_SYSCONFIGEX;        /* 9b79ee91-b5fd-41c0-a243-4248e266e9d0 */

/* Kernel groups used by the analyses */
enum {
    ETL_GROUP_HEADER = 0x00, ETL_GROUP_IO = 0x01, ETL_GROUP_MEMORY = 0x02, ETL_GROUP_PROCESS = 0x03,
    ETL_GROUP_FILE = 0x04, ETL_GROUP_THREAD = 0x05, ETL_GROUP_CONFIG = 0x0B, ETL_GROUP_POOL = 0x0E,
    ETL_GROUP_PERFINFO = 0x0F, ETL_GROUP_IMAGE = 0x14, ETL_GROUP_STACKWALK = 0x18,
};

/* ------------------------------------------------------------------------------------------
 * Names (etl/names.c): providers, kernel tasks and opcodes.  NULL when unknown.
 * ------------------------------------------------------------------------------------------ */
/* Provider name of an event: kernel task name ("Image", "PerfInfo"), a known classic or
 * manifest provider, or the TraceLogging provider name from the event's traits item. */
const char *etl_provider_name(const EtlGuid *provider);
/* Event name: kernel/classic opcode name ("DCStart", "DPC", "DbgID_RSDS"); NULL if unknown. */
const char *etl_opcode_name(const EtlGuid *provider, uint8_t opcode);
/* TraceLogging: provider name from PROV_TRAITS and event name from EVENT_SCHEMA_TL
 * (borrowed views into the event; len 0 when absent). */
EtlAStr     etl_event_tl_provider_name(const EtlEvent *ev);
EtlAStr     etl_event_tl_event_name(const EtlEvent *ev);

/* ------------------------------------------------------------------------------------------
 * Field emission for dump: the decoder names and types the fields; cli/ formats them.
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_FIELD_U64,   /* v.u */
    ETL_FIELD_I64,   /* v.i */
    ETL_FIELD_HEX,   /* v.u, shown as 0x... */
    ETL_FIELD_BOOL,  /* v.u != 0 */
    ETL_FIELD_ASTR,  /* v.astr */
    ETL_FIELD_WSTR,  /* v.wstr */
    ETL_FIELD_GUID,  /* v.guid */
    ETL_FIELD_TAG,   /* v.u: 4 tag characters, byte 0 first */
    ETL_FIELD_BYTES, /* v.bytes: raw hex */
    ETL_FIELD_TIME,  /* v.i: raw timestamp, shown relative to trace start */
    ETL_FIELD_DURATION, /* v.i: clock ticks, shown in microseconds (name ends in "Us") */
} EtlFieldType;

typedef struct {
    uint64_t u;
    int64_t  i;
    EtlAStr  astr;
    EtlWStr  wstr;
    EtlGuid  guid;
    struct { const uint8_t *p; uint32_t len; } bytes;
} EtlFieldValue;

/* name is valid during the call only (most are static; "FrameN" for large N is formatted). */
typedef void (*EtlFieldFn)(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v);

/* Display name of a POOL_TYPE value ("NonPagedPoolNx", "PagedPoolSession", ...); modifier bits
 * (must-succeed, cache-aligned, quota, ...) are named too, joined with '|'.  Written into buf, which is returned. */
const char *etl_pool_type_name(uint32_t type, char buf[96]);

/* Emit the decoded fields of a kernel event (kind != UNKNOWN). */
void etl_kernel_emit_fields(const EtlEvent *ev, const EtlKernelEvent *k, EtlFieldFn fn, void *ctx);

G_END_DECLS
