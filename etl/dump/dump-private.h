/* dump-private.h — internals shared by the files of etl/dump/.  Not for other layers. */
#pragma once

#include "etl-dump.h"
#include "etl-writer.h"

#define DUMP_PAGE 4096u
#define DUMP_PAGE_SHIFT 12
/* Physical addresses are at most 52 bits: page numbers below 2^40. */
#define DUMP_MAX_PFN (UINT64_C(1) << 40)
/* Largest buffer read (ETW's own limit since Windows 8). */
#define DUMP_MAX_BUFFER ETL_MAX_BUFFER_SIZE
#define DUMP_NO_OFFSET UINT64_MAX

#define DUMP_KUSD_VA64 UINT64_C(0xFFFFF78000000000)
#define DUMP_KUSD_VA32 UINT64_C(0xFFDF0000)

typedef struct {
    uint64_t base, count;   /* first PFN, pages */
    uint64_t index;         /* pages stored before this run (file order) */
} DumpRun;

/* One buffer found (carved or listed).  Its bytes are not kept: they are read again when
 * written. */
typedef struct {
    uint64_t va;            /* 0: read physically (no page tables) */
    uint64_t pfn;           /* first page */
    uint64_t file_offset;   /* of the first page */
    EtlBufferHeader hdr;
    uint64_t flink, blink;  /* GlobalEntry */
    uint32_t valid;         /* bytes kept, header included (end of the last good event) */
    uint32_t limit;         /* where events should end per the header */
    uint32_t events, kernel_events;
    int64_t  first_ts, last_ts;
    uint64_t hash;          /* of bytes [0x48, valid) */
    uint32_t group;
    uint8_t  on_list;       /* reached through a logger's GlobalList */
    uint8_t  carved;        /* found by the page scan */
    uint8_t  link;          /* DUMP_LINK_*: do the GlobalEntry neighbours point back at it? */
    uint8_t  partial;
    uint8_t  dropped;       /* duplicate (kept in the array for the record) */
    uint8_t  compressed;
} DumpBuf;

enum { DUMP_LINK_BAD = 0, DUMP_LINK_UNKNOWN = 1, DUMP_LINK_OK = 2 };

/* Physical page that passed the header predicates during the scan. */
typedef struct {
    uint64_t pfn, file_offset;
    uint64_t va;            /* first kernel VA mapping it (0 none) */
    uint32_t n_va;          /* how many VAs map it */
} DumpCand;

typedef struct DumpGroupS {
    EtlDumpLogger pub;
    GArray  *bufs;          /* uint32_t indices into d->bufs, output order */
    void    *ctx;           /* DumpLoggerCtx (discover.c), NULL when the context is unknown */
    int64_t  ref_filetime, ref_perf;   /* logger context ReferenceTime, when validated */
    bool     have_ref;
} DumpGroup;

typedef struct {
    uint64_t pfn;
    bool     used;
    uint8_t  data[DUMP_PAGE];
} DumpCachePage;

#define DUMP_CACHE_PAGES 64

struct EtlDump {
    EtlSource     *src;
    EtlDumpInfo    info;
    EtlDumpOptions opts;
    unsigned       psize;          /* pointer size: 8 or 4 */

    /* container */
    uint64_t       pages_off;      /* full: file offset of the first page */
    DumpRun       *runs;           /* sorted by base */
    uint32_t       n_runs;
    const uint8_t *bitmap;         /* bitmap dumps: into the source */
    uint64_t       bitmap_bits;
    uint64_t      *rank;           /* set bits before each 512-bit block */
    uint64_t       first_page_off;

    DumpCachePage *cache;          /* structure reads (page tables, contexts) */

    /* paging */
    int            selfmap_index;  /* x64: PML4 self-map slot (-1 unknown) */
    GArray        *dtb_cands;      /* raw images: uint64_t PFNs of self-mapping PML4s */
    uint8_t       *seen_tables;    /* bit set of PFNs of table pages walked */
    uint64_t       seen_tables_bits;

    /* scan */
    bool           scanned;
    GArray        *cands;          /* DumpCand, by pfn */
    GArray        *bufs;           /* DumpBuf */
    GArray        *groups;         /* DumpGroup */
    EtlDumpStats   stats;
    EtlDumpDiag   *diags;
    uint32_t       n_diags, max_diags;
    EtlDumpTimeBase tb;
    /* KUSER_SHARED_DATA facts */
    bool           have_kusd;
    int64_t        kusd_system_time, kusd_interrupt_time, kusd_qpc_freq, kusd_baseline_qpc;
    int64_t        kusd_tz_bias;
    uint32_t       kusd_build, kusd_major, kusd_minor, kusd_cpus;
    uint32_t       prcb_mhz;

    uint8_t       *scratch;        /* one buffer image */
    uint32_t       scratch_cap;
    uint64_t       progress_done, progress_total;
};

/* ---- dumpfile.c ---- */
void dump_diag(EtlDump *d, EtlDumpDiagCode code, uint64_t file_offset, uint64_t va, uint64_t pa,
               int32_t logger_id, const char *fmt, ...) G_GNUC_PRINTF(7, 8);
void dump_progress(EtlDump *d, const char *phase, uint64_t done, uint64_t total);
/* File offset of pfn's page; UINT64_MAX when the dump does not store it.  *beyond_eof is set
 * when the container stores it but the file ends before it (truncated dump). */
uint64_t dump_pfn_offset(EtlDump *d, uint64_t pfn, bool *beyond_eof);
/* A copy of a physical page in the structure cache (valid until the next DUMP_CACHE_PAGES
 * cached reads of other pages); NULL when missing. */
const uint8_t *dump_page_cached(EtlDump *d, uint64_t pfn);
/* Copy physical bytes (may cross pages); false when a page is missing. */
bool dump_phys_read(EtlDump *d, uint64_t pa, void *out, size_t len);
/* The page in the mapping (no copy); release with dump_page_release. */
const uint8_t *dump_page_map(EtlDump *d, uint64_t pfn, uint64_t *file_offset);
void dump_page_release(EtlDump *d, uint64_t file_offset);

typedef bool (*DumpPageFn)(EtlDump *d, uint64_t pfn, uint64_t file_offset, const uint8_t *page, void *user);
/* Every stored page present in the file, in file order (a sequential read); the callback
 * returns false to stop. */
void dump_for_each_page(EtlDump *d, DumpPageFn fn, void *user);

/* ---- pagetable.c ---- */
/* Sets info.paging/dtb from the header (dumps).  Raw images: see dump_paging_from_cands. */
void dump_paging_init(EtlDump *d);
/* Raw images: the self-map check of one page during the scan (records candidates). */
void dump_selfmap_check(EtlDump *d, uint64_t pfn, const uint8_t *page);
void dump_paging_from_cands(EtlDump *d);
/* Translate va; *entry_off gets the file offset of the last table entry read (for
 * diagnostics; the DTB header field when nothing was read). */
bool dump_translate(EtlDump *d, uint64_t va, uint64_t *pa, uint64_t *page_size, uint64_t *entry_off);
/* The same; *table_missing: it failed because a table page is not in the dump (truncated),
 * not because an entry is not present. */
bool dump_translate_ex(EtlDump *d, uint64_t va, uint64_t *pa, uint64_t *page_size, uint64_t *entry_off,
                       bool *table_missing);
/* Leaf mappings of the kernel half (self-map skipped): npages physically contiguous pages
 * from pfn mapped at va. */
typedef void (*DumpMapFn)(EtlDump *d, uint64_t va, uint64_t pfn, uint64_t npages, void *user);
void dump_walk_kernel(EtlDump *d, DumpMapFn fn, void *user);
bool dump_is_kernel_ptr(const EtlDump *d, uint64_t p);
uint64_t dump_kusd_va(const EtlDump *d);
/* Read a pointer/u32/u64 at a kernel VA. */
bool dump_vread_ptr(EtlDump *d, uint64_t va, uint64_t *out);
bool dump_vread32(EtlDump *d, uint64_t va, uint32_t *out);
bool dump_vread64(EtlDump *d, uint64_t va, uint64_t *out);

/* ---- discover.c ---- */
typedef struct {
    uint16_t id;
    uint32_t buffer_size;
    uint64_t ctx;             /* WMI_LOGGER_CONTEXT VA */
    uint32_t list_off;        /* GlobalList offset in it */
    uint32_t name_off;
    char    *name;            /* UTF-8 or NULL */
    uint32_t clock_type;      /* 0 unknown */
    int64_t  ref_ft[2], ref_perf[2]; /* ReferenceTime candidates (validated later) */
    GArray  *vas;             /* uint64_t: buffer VAs on the GlobalList */
} DumpLoggerCtx;

/* Loggers of the logger array (appends DumpLoggerCtx to out). */
void dump_discover(EtlDump *d, GArray *out);
/* The context whose GlobalList head is at head (found from carved buffers). */
bool dump_context_from_head(EtlDump *d, uint64_t head, uint16_t id, uint32_t buffer_size, DumpLoggerCtx *out);
bool dump_context_probe(EtlDump *d, uint64_t ctx, uint16_t id, uint32_t buffer_size, DumpLoggerCtx *out);
void dump_logger_ctx_clear(DumpLoggerCtx *c);
uint64_t dump_va_file_offset(EtlDump *d, uint64_t va, uint64_t fallback);

/* ---- carve.c ---- */
/* Header predicates of §4.1 on a page-aligned candidate (first 0x48 bytes + first event). */
bool dump_buffer_predicates(const EtlDump *d, const uint8_t *p, size_t avail, EtlBufferHeader *out);
void dump_groups_free(EtlDump *d);
/* Read a buffer into d->scratch through its VA (physically, first page only, when va is 0);
 * returns the bytes readable from its start. */
uint32_t dump_read_buffer_image(EtlDump *d, uint64_t va, uint64_t pfn, uint32_t size, uint64_t *miss_off,
                                uint64_t *miss_va);

/* ---- extract.c ---- */
void dump_time_base(EtlDump *d);
void dump_read_kusd(EtlDump *d);
