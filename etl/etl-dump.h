/* etl-dump.h — ETW trace buffers out of Windows crash dumps and raw memory images.
 *
 * What `!wmitrace.strdump` + `!wmitrace.logsave` do in WinDbg, without WinDbg and without
 * symbols: find the buffers of the kernel loggers (Circular Kernel Context Logger, NT Kernel
 * Logger, any other logger) in MEMORY.DMP or a raw physical image and write each logger as a
 * valid .etl.  Spec: ../shared/docs/DUMP_EXTRACT.md; what the code does and why: docs/dump-extract.md.
 *
 *     EtlDump *d = etl_dump_open_file("MEMORY.DMP", &opts, &error);
 *     etl_dump_scan(d, &error);                        // one sequential pass + page-table walk
 *     int i = etl_dump_default_logger(d);              // the kernel logger with the most buffers
 *     etl_dump_write_logger(d, i, "out.etl", &ws, &error);
 *     etl_dump_free(d);
 *
 * Containers: 64-bit PAGEDU64 and 32-bit PAGEDUMP headers with a full dump (DumpType 1,
 * PhysicalMemoryBlock runs) or a bitmap dump (DumpType 5/6, SDMP or FDMP), and raw physical
 * images (file offset = physical address; the x64 page directory is found by its self-map).
 * Paging: x64 4-level (4 KiB, 2 MiB, 1 GiB pages), x86 PAE and x86 non-PAE.
 *
 * Memory: the dump is mapped and read once in file order; pages are handed back to the kernel
 * as the scan goes (etl_source_release), so the resident set stays at a few MB whatever the
 * dump size.  What is kept is one record per buffer found (about 128 bytes), the page-table
 * pages already visited (a bit set, one bit per page-table page) and, for bitmap dumps, a rank
 * index of the bitmap (8 bytes per 512 physical pages).
 *
 * Every diagnostic names a file offset ("offset=0x…"): of the buffer's first page, of the
 * page-table entry that led to a missing page, or of the header field concerned.
 */
#pragma once

#include "etl.h"

G_BEGIN_DECLS

typedef struct EtlDump EtlDump;

typedef enum {
    ETL_DUMP_RAW = 0,     /* raw physical image: file offset = physical address        */
    ETL_DUMP_FULL,        /* DumpType 1: pages stored run after run                    */
    ETL_DUMP_BITMAP,      /* DumpType 5/6: SDMP/FDMP bitmap of the stored pages         */
} EtlDumpContainer;

typedef enum {
    ETL_DUMP_PAGING_NONE = 0, /* no usable page tables: physical carving only */
    ETL_DUMP_PAGING_X64,
    ETL_DUMP_PAGING_PAE,
    ETL_DUMP_PAGING_X86,
} EtlDumpPaging;

typedef struct {
    EtlDumpContainer container;
    bool     is64;             /* 64-bit kernel (PAGEDU64 or raw x64); pointers are 8 bytes */
    uint32_t dump_type;        /* header DumpType (0 for raw images) */
    uint32_t bitmap_signature; /* 'SDMP' 0x504D4453 or 'FDMP' 0x504D4446 (bitmap dumps) */
    uint32_t major_version;    /* 0xF free build, 0xC checked */
    uint32_t minor_version;    /* NT build number */
    uint32_t machine;          /* 0x8664, 0x14C (0 unknown) */
    uint32_t cpus;             /* NumberProcessors (0 unknown) */
    uint32_t bugcheck;
    uint64_t bugcheck_params[4];
    uint64_t kdbg_va;          /* KdDebuggerDataBlock (0 unknown) */
    int64_t  system_time;      /* FILETIME at dump time (0 unknown) */
    int64_t  system_uptime;    /* 100 ns since boot (0 unknown) */
    uint64_t required_size;    /* RequiredDumpSpace: expected file size (0 unknown) */
    uint64_t file_size;
    uint64_t pages_stored;     /* pages the container says it holds */
    uint64_t pages_missing;    /* of those, beyond the end of the file (truncated dump) */
    uint64_t max_pfn;          /* highest physical page number + 1 */
    bool     truncated;        /* file shorter than the header says */
    /* paging (set by etl_dump_open) */
    EtlDumpPaging paging;
    uint64_t dtb;              /* directory table base in use */
    bool     kusd_mapped;      /* KUSER_SHARED_DATA translates: the page tables work */
} EtlDumpInfo;

/* ------------------------------------------------------------------------------------------
 * Diagnostics (never fatal)
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    ETL_DUMP_DIAG_CONTAINER,    /* header, runs or bitmap inconsistent; truncated file        */
    ETL_DUMP_DIAG_PAGE_MISSING, /* a page needed is not in the dump                           */
    ETL_DUMP_DIAG_PAGING,       /* directory table base, page tables                          */
    ETL_DUMP_DIAG_DISCOVERY,    /* KDBG, EtwpDebuggerData, logger array, logger contexts      */
    ETL_DUMP_DIAG_BUFFER,       /* a buffer rejected, or recovered only in part               */
    ETL_DUMP_DIAG_DUPLICATE,    /* a second copy of a buffer dropped                          */
    ETL_DUMP_DIAG_COUNT_
} EtlDumpDiagCode;

typedef struct {
    EtlDumpDiagCode code;
    uint64_t file_offset;      /* always set: see the header comment */
    uint64_t va;               /* virtual address concerned, 0 when none */
    uint64_t pa;               /* physical address concerned, UINT64_MAX when none */
    int32_t  logger_id;        /* -1 when none */
    char     detail[200];
} EtlDumpDiag;

const char *etl_dump_diag_code_name(EtlDumpDiagCode c);
/* "buffer of logger 2 rejected: first event malformed: offset=0x1f000, va=0x…, pa=0x…" (g_free) */
char       *etl_dump_diag_format(const EtlDumpDiag *d);

typedef void (*EtlDumpDiagFn)(const EtlDumpDiag *d, void *user);
/* phase: "scanning" (sequential pass), "page tables", "buffers", "writing" */
typedef void (*EtlDumpProgressFn)(const char *phase, uint64_t done, uint64_t total, void *user);

typedef struct {
    EtlDumpDiagFn     diag_fn;
    void             *diag_user;
    EtlDumpProgressFn progress_fn;
    void             *progress_user;
    bool              no_discovery; /* skip the logger-array path: carving only           */
    bool              no_carving;   /* discovery only: buffers on the loggers' GlobalLists */
    uint32_t          max_diags;    /* kept for etl_dump_diags(); 0 = 64 */
} EtlDumpOptions;

/* ------------------------------------------------------------------------------------------
 * Opening: the container and the page tables.  Fails (ETL_ERROR_NOT_ETL / _CORRUPT / _IO /
 * _EMPTY) with one clear message for a file that is neither a dump nor a memory image, or a
 * dump whose header is unusable.  A truncated dump opens (info->truncated) and is reported.
 * ------------------------------------------------------------------------------------------ */
/* Takes ownership of src (freed on error too). */
EtlDump           *etl_dump_open(EtlSource *src, const EtlDumpOptions *opts, GError **error);
EtlDump           *etl_dump_open_file(const char *path, const EtlDumpOptions *opts, GError **error);
void               etl_dump_free(EtlDump *d);
const EtlDumpInfo *etl_dump_info(const EtlDump *d);
const char        *etl_dump_container_name(const EtlDump *d); /* "full", "bitmap (SDMP)", "raw", ... */

/* Physical and virtual access (tests, tools).  Reads copy; false when a page is missing. */
bool     etl_dump_read_phys(EtlDump *d, uint64_t pa, void *out, size_t len);
/* File offset of physical address pa, or UINT64_MAX when the dump does not hold its page. */
uint64_t etl_dump_phys_to_file(EtlDump *d, uint64_t pa);
/* Translate through the page tables; *page_size gets 4 KiB, 2 MiB, 4 MiB or 1 GiB. */
bool     etl_dump_virt_to_phys(EtlDump *d, uint64_t va, uint64_t *pa, uint64_t *page_size);
bool     etl_dump_read_virt(EtlDump *d, uint64_t va, void *out, size_t len);

/* ------------------------------------------------------------------------------------------
 * Scanning: logger discovery (KDBG → EtwpDebuggerData → logger array → GlobalList) and
 * carving (buffer-header predicates on every stored page, then event-level validation),
 * grouping by (LoggerId, BufferSize), ordering by SequenceNumber, de-duplication.
 * Returns false (with a message) only on an I/O problem; "no buffers" is logger_count 0.
 * ------------------------------------------------------------------------------------------ */
bool etl_dump_scan(EtlDump *d, GError **error);

typedef struct {
    uint16_t logger_id;
    uint32_t buffer_size;
    char    *name;             /* UTF-8; NULL when unknown */
    bool     discovered;       /* found in the logger array; else carved */
    bool     kernel;           /* a kernel logger (name, mode, or mostly kernel events) */
    uint64_t context_va;       /* WMI_LOGGER_CONTEXT (0 unknown) */
    uint32_t clock_type;       /* from the logger context when found (0 unknown) */
    uint32_t buffers;          /* buffers that will be written */
    uint32_t buffers_partial;  /* of those, recovered only in part */
    uint32_t buffers_stale;    /* of those, free (State 0) buffers holding earlier events */
    uint32_t buffers_skipped;  /* found but not recoverable (pages missing, corrupt) */
    uint32_t duplicates;       /* second copies dropped */
    uint32_t cpus;             /* highest CPU index + 1 */
    uint64_t events, kernel_events;
    int64_t  first_ts, last_ts;  /* raw clock, over the events (INT64_MAX/MIN when none) */
    int64_t  first_filetime, last_filetime; /* through the time base (0 unknown) */
} EtlDumpLogger;

uint32_t             etl_dump_logger_count(const EtlDump *d);
const EtlDumpLogger *etl_dump_logger(const EtlDump *d, uint32_t i);
/* A decimal/hex logger id or a (case-insensitive) logger name; -1 when none matches and -2
 * when an id matches several groups (different buffer sizes). */
int                  etl_dump_find_logger(const EtlDump *d, const char *id_or_name);
/* The kernel logger with the most buffers (else the logger with the most buffers); -1 none. */
int                  etl_dump_default_logger(const EtlDump *d);

typedef struct {
    uint64_t pages_scanned;    /* stored pages looked at */
    uint64_t candidates;       /* pages passing the buffer-header predicates */
    uint64_t rejected;         /* candidates failing event validation or reassembly */
    uint64_t unmapped;         /* candidates not mapped in the kernel page tables (ignored) */
    uint64_t empty;            /* valid buffers holding no event */
    uint64_t duplicates;
    uint64_t partial;
    uint64_t discovered_loggers, discovered_buffers; /* through the logger array */
    uint64_t table_pages;      /* page-table pages walked */
    uint64_t diagnostics;
    uint64_t diags_by_code[ETL_DUMP_DIAG_COUNT_];
} EtlDumpStats;

const EtlDumpStats *etl_dump_stats(const EtlDump *d);
const EtlDumpDiag  *etl_dump_diags(const EtlDump *d, uint32_t *n);

/* The clock of the output: FILETIME(ts) = base_filetime + (ts - base_ts) * 1e7 / perf_freq
 * (QPC); source says where it came from. */
typedef struct {
    uint32_t    clock_type;    /* ETL_CLOCK_* */
    int64_t     perf_freq;
    int64_t     base_ts, base_filetime;
    int64_t     boot_time;     /* FILETIME, 0 unknown */
    uint32_t    cpu_mhz;
    uint32_t    os_major, os_minor, os_build;
    int32_t     tz_bias_minutes;
    const char *source;        /* "KUSER_SHARED_DATA", "logger context", "dump header", "none" */
} EtlDumpTimeBase;

const EtlDumpTimeBase *etl_dump_time_base(const EtlDump *d);

/* ------------------------------------------------------------------------------------------
 * Writing one logger as an .etl: a synthesized header buffer (buffer size, pointer size,
 * CPUs, clock type and frequency, start time; SavedOffset and Offset both set, CpuSpeedInMHz
 * non-zero) then the buffers, flushed ones verbatim, active/free ones normalized.
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    uint64_t buffers;          /* data buffers written */
    uint64_t partial;          /* written in part */
    uint64_t skipped;          /* could not be read again */
    uint64_t events;
    uint64_t bytes;            /* file size */
} EtlDumpWriteStats;

bool     etl_dump_write_logger(EtlDump *d, uint32_t logger, const char *path,
                               EtlDumpWriteStats *out, GError **error);
/* The same into memory (g_free the bytes); NULL on error. */
uint8_t *etl_dump_write_logger_memory(EtlDump *d, uint32_t logger, size_t *len,
                                      EtlDumpWriteStats *out, GError **error);

G_END_DECLS
