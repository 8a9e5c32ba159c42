/* dumpgen.h — synthetic Windows crash dumps and raw memory images holding real ETW buffers.
 *
 * No public dump holds ETW buffers, so the tests of `etla extract` build their own
 * (../shared/docs/DUMP_EXTRACT.md §6.2): the data buffers of .etl traces (generated ones and
 * the public ones in ../shared/traces) are placed in a simulated physical memory, each buffer
 * at a page-aligned kernel VA whose pages sit on scattered physical pages (or inside 2 MiB /
 * 1 GiB large pages), mapped through real page tables (x64 4-level with a self-map, x86 PAE,
 * x86); the loggers are reachable as Windows keeps them (KDDEBUGGER_DATA64 → EtwpDebuggerData
 * → logger array → WMI_LOGGER_CONTEXT → GlobalList through every buffer's GlobalEntry), with
 * KUSER_SHARED_DATA holding a clock consistent with the first trace's header.  The memory is
 * then written as a full dump (PAGEDU64/PAGEDUMP with PhysicalMemoryBlock runs and a hole), a
 * bitmap dump (SDMP/FDMP: only used pages, plus some filler), or a raw image.
 *
 * Decoys: buffer-like headers with wrong sizes or inconsistent fields, a page with a valid
 * header but a corrupt first event, unmapped and mapped stale copies of real buffers (exact and
 * older), so that carving must reject them.  The same options give byte-identical output.
 */
#pragma once

#include "etl.h"

G_BEGIN_DECLS

typedef enum { DG_FULL = 0, DG_BITMAP, DG_RAW } DgContainer;
typedef enum { DG_X64 = 0, DG_PAE, DG_X86 } DgArch;
typedef enum { DG_FILL_ZERO = 0, DG_FILL_RANDOM, DG_FILL_MIXED } DgFill;
typedef enum { DG_PAGES_4K = 0, DG_PAGES_LARGE, DG_PAGES_1G } DgPages;

typedef struct {
    DgContainer container;
    DgArch   arch;
    uint64_t seed;
    uint64_t ram_bytes;        /* physical memory (default 16 MiB); full dumps and raw images are
                                  about this size, bitmap dumps hold only the used pages */
    uint32_t cpus;             /* NumberProcessors; 0 = enough for every buffer's CPU */
    uint32_t build;            /* NT build (default 19041; 7601 with win7_context) */
    bool     fdmp;             /* bitmap dumps: FDMP signature instead of SDMP */
    bool     no_kdbg;          /* no KDDEBUGGER_DATA64 (header KdDebuggerDataBlock 0): carving only */
    bool     no_kusd;          /* KUSER_SHARED_DATA not mapped: the clock comes from the header */
    bool     win7_context;     /* Windows 7 WMI_LOGGER_CONTEXT layout (name at 0x78) */
    DgFill   fill;             /* content of pages nobody uses (default zero) */
    uint32_t bitmap_filler_pct;/* bitmap dumps: percentage of unused pages stored anyway */
    bool     decoys;           /* buffer-like decoys and stale copies (see the header comment) */
    bool     partial_decoy;    /* a buffer of a logger that is not listed, whose second page is
                                  unmapped: recoverable only in part */
    bool     alias_mapping;    /* map every buffer a second time at another kernel VA */
    uint32_t bugcheck;         /* default 0x133 */
} DgOptions;

void dg_options_init(DgOptions *o);

typedef struct {
    const uint8_t *etl;        /* a whole .etl file (borrowed during dg_add_logger) */
    size_t   etl_len;
    uint16_t logger_id;
    const char *name;          /* logger name in the context; NULL: no name */
    DgPages  pages;            /* DG_PAGES_LARGE: 2 MiB (x64, PAE) or 4 MiB (x86) pages */
    bool     pat;              /* set the PAT bit (bit 12) in the large-page entries */
    uint32_t n_active;         /* the last n buffers are active (State 1, SavedOffset 0) */
    uint32_t n_free;           /* the first n buffers are free (State 0, stale contents) */
    bool     unlisted;         /* not in the logger array (only carving finds it) */
    uint32_t max_buffers;      /* place at most this many data buffers (0 = all) */
} DgLogger;

typedef struct {
    uint16_t logger_id;
    uint32_t buffer_size;
    uint32_t buffers;          /* data buffers placed */
    uint32_t buffers_with_events;
    uint64_t events;           /* events in the placed buffers */
    uint64_t first_buffer_va;
    uint64_t context_va;
    int64_t  start_time, ts0, perf_freq; /* the source's clock */
} DgLoggerTruth;

typedef struct {
    DgLoggerTruth loggers[16];
    uint32_t n_loggers;
    uint32_t decoys;           /* decoy pages placed (none of them may be extracted) */
    uint64_t dtb;
    uint64_t kdbg_va;
    uint64_t file_size;        /* of the written dump */
    uint64_t pages_stored;
    int64_t  crash_qpc, crash_filetime, uptime;
    uint64_t large_pages;      /* large-page mappings made */
} DgTruth;

typedef struct DumpGen DumpGen;

DumpGen       *dg_new(const DgOptions *o);
void           dg_free(DumpGen *g);
/* Place the data buffers of one trace as one logger (compressed buffers are stored
 * decompressed, as they are in memory). */
bool           dg_add_logger(DumpGen *g, const DgLogger *l, GError **error);
/* Write the dump (streaming: bounded memory apart from the pages in use). */
bool           dg_write_file(DumpGen *g, const char *path, GError **error);
uint8_t       *dg_write_memory(DumpGen *g, size_t *len, GError **error);
const DgTruth *dg_truth(const DumpGen *g);

/* Convenience: the data buffers of a trace generated with tests/support/scenario.h. */
uint8_t *dg_scenario_trace(int kind, uint64_t seed, uint8_t ptr_size, uint32_t buffer_size,
                           uint32_t duration_ms, size_t *len, GError **error);

G_END_DECLS
