/* dumpgen.c — synthetic crash dumps holding real ETW buffers (see dumpgen.h).
 *
 * Layouts written: DUMP_EXTRACT.md §1 (DUMP_HEADER64/32, PhysicalMemoryBlock, the SDMP/FDMP
 * bitmap header), §2 (x64 4-level paging with a self-map at a random PML4 slot 0x100..0x1FE,
 * PAE, x86; large pages with the PAT bit optionally set), §2.6 (KUSER_SHARED_DATA), §3
 * (KDDEBUGGER_DATA64, EtwpDebuggerData with its 2C 08 04 38 0C bytes, the logger array,
 * WMI_LOGGER_CONTEXT in the 1709-20H2 or the Windows 7 x64 layout, GlobalList through
 * GlobalEntry).  This is a test oracle written from the spec, independently of etl/dump/.
 */
#include "dumpgen.h"

#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG 4096u
#define SIG_PAGE 0x45474150u

static inline void w16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static inline void w32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }
static inline void w64(uint8_t *p, uint64_t v) { v = GUINT64_TO_LE(v); memcpy(p, &v, 8); }

typedef struct { uint64_t base, count; } Run;

typedef struct {
    uint64_t va, pfn;          /* first page (GlobalEntry lives there) */
} Placed;

struct DumpGen {
    DgOptions o;
    DgTruth   truth;
    uint64_t  rng;
    unsigned  P;               /* pointer size */
    /* physical memory */
    Run       runs[3];
    uint64_t  ram_max_pfn, max_pfn;
    uint64_t *free_list;
    uint64_t  n_free, free_pos;
    uint64_t  reserve_base;    /* run pages from here on are handed out last */
    uint8_t  *used;            /* bit per PFN below ram_max_pfn */
    GHashTable *pages;         /* pfn + 1 -> uint8_t[PG] */
    uint64_t  gig_pfn, gig_va, gig_used; /* the 1 GiB region (x64 bitmap dumps) */
    /* paging */
    uint64_t  dtb_pfn;
    uint64_t  pae_pd[4];
    int       selfmap;
    /* VA allocators */
    uint64_t  va_pool, va_large, va_alias, va_nt;
    uint64_t  large_cur, large_end, large_pfn, large_base;
    /* kernel structures */
    uint64_t  kdbg_va, edd_va, array_va, kusd_va;
    uint32_t  max_cpu;
    /* clock: the first logger's */
    bool      have_clock;
    int64_t   start_time, ts0, freq, max_ts;
    uint32_t  clock_type;
    /* decoy material: a flushed buffer with events, as placed */
    uint64_t  sample_va;
    uint32_t  sample_size;
    bool      finalized;
};

static uint64_t rnd(DumpGen *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void dg_options_init(DgOptions *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->ram_bytes = 16u << 20;
    o->bitmap_filler_pct = 3;
    o->bugcheck = 0x133;
}

/* ------------------------------------------------------------------ physical pages */

static uint8_t *ppage(DumpGen *g, uint64_t pfn)
{
    uint8_t *p = g_hash_table_lookup(g->pages, GSIZE_TO_POINTER((gsize)pfn + 1));
    if (!p) {
        p = g_malloc0(PG);
        g_hash_table_insert(g->pages, GSIZE_TO_POINTER((gsize)pfn + 1), p);
    }
    return p;
}

static bool is_used(const DumpGen *g, uint64_t pfn)
{
    return pfn < g->ram_max_pfn && (g->used[pfn / 8] >> (pfn % 8) & 1);
}

static void set_used(DumpGen *g, uint64_t pfn)
{
    if (pfn < g->ram_max_pfn) g->used[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
}

static uint64_t alloc4k(DumpGen *g)
{
    while (g->free_pos < g->n_free) {
        uint64_t pfn = g->free_list[g->free_pos++];
        if (is_used(g, pfn)) continue;
        set_used(g, pfn);
        return pfn;
    }
    g_error("dumpgen: out of physical memory (ram_bytes too small)");
}

/* npages contiguous free pages aligned to npages (large pages): the highest free block of the
 * reserve first, then anywhere. */
static uint64_t alloc_contig(DumpGen *g, uint64_t npages)
{
    const Run *top = &g->runs[2];
    uint64_t end = top->base + top->count;
    for (uint64_t start = end / npages * npages; start >= npages && start - npages >= top->base;) {
        start -= npages;
        bool ok = true;
        for (uint64_t k = 0; k < npages && ok; k++) ok = !is_used(g, start + k);
        if (!ok) continue;
        for (uint64_t k = 0; k < npages; k++) set_used(g, start + k);
        return start;
    }
    for (int tries = 0; tries < 10000; tries++) {
        const Run *r = &g->runs[1 + (rnd(g) & 1)];
        uint64_t first = (r->base + npages - 1) / npages * npages;
        if (first + npages > r->base + r->count) continue;
        uint64_t slots = (r->base + r->count - first) / npages;
        uint64_t start = first + (rnd(g) % slots) * npages;
        bool ok = true;
        for (uint64_t k = 0; k < npages && ok; k++) ok = !is_used(g, start + k);
        if (!ok) continue;
        for (uint64_t k = 0; k < npages; k++) set_used(g, start + k);
        return start;
    }
    g_error("dumpgen: no free large page (ram_bytes too small)");
}

/* ------------------------------------------------------------------ page tables */

#define PTE_FLAGS 0x63u    /* present, writable, accessed, dirty */
#define PTE_LARGE 0xE3u    /* + PS */
#define PTE_NX (UINT64_C(1) << 63)

static uint64_t *entry64(DumpGen *g, uint64_t table_pfn, unsigned index)
{
    return (uint64_t *)(void *)(ppage(g, table_pfn) + 8 * index);
}

static uint64_t rd_entry(const uint64_t *e) { uint64_t v; memcpy(&v, e, 8); return GUINT64_FROM_LE(v); }
static void wr_entry(uint64_t *e, uint64_t v) { v = GUINT64_TO_LE(v); memcpy(e, &v, 8); }

/* The next-level table under entry e, created when absent. */
static uint64_t sub_table(DumpGen *g, uint64_t *e)
{
    uint64_t v = rd_entry(e);
    if (v & 1) return (v & UINT64_C(0x000FFFFFFFFFF000)) >> 12;
    uint64_t pfn = alloc4k(g);
    ppage(g, pfn);
    wr_entry(e, pfn << 12 | PTE_FLAGS);
    return pfn;
}

static void map4k(DumpGen *g, uint64_t va, uint64_t pfn)
{
    switch (g->o.arch) {
    case DG_X64: {
        uint64_t t3 = sub_table(g, entry64(g, g->dtb_pfn, (va >> 39) & 511));
        uint64_t t2 = sub_table(g, entry64(g, t3, (va >> 30) & 511));
        uint64_t t1 = sub_table(g, entry64(g, t2, (va >> 21) & 511));
        wr_entry(entry64(g, t1, (va >> 12) & 511), pfn << 12 | PTE_FLAGS | PTE_NX);
        break;
    }
    case DG_PAE: {
        uint64_t t1 = sub_table(g, entry64(g, g->pae_pd[(va >> 30) & 3], (va >> 21) & 511));
        wr_entry(entry64(g, t1, (va >> 12) & 511), pfn << 12 | PTE_FLAGS | PTE_NX);
        break;
    }
    case DG_X86: {
        uint8_t *pd = ppage(g, g->dtb_pfn) + 4 * (va >> 22);
        uint32_t e = (uint32_t)pd[0] | (uint32_t)pd[1] << 8 | (uint32_t)pd[2] << 16 | (uint32_t)pd[3] << 24;
        uint64_t t1;
        if (e & 1) {
            t1 = e >> 12;
        } else {
            t1 = alloc4k(g);
            ppage(g, t1);
            w32(pd, (uint32_t)(t1 << 12 | PTE_FLAGS));
        }
        w32(ppage(g, t1) + 4 * ((va >> 12) & 1023), (uint32_t)(pfn << 12 | PTE_FLAGS));
        break;
    }
    }
}

/* A large page at va (2 MiB on x64/PAE, 4 MiB on x86) of pfn.. */
static void map_large(DumpGen *g, uint64_t va, uint64_t pfn, bool pat)
{
    uint64_t patb = pat ? 0x1000u : 0;
    switch (g->o.arch) {
    case DG_X64: {
        uint64_t t3 = sub_table(g, entry64(g, g->dtb_pfn, (va >> 39) & 511));
        uint64_t t2 = sub_table(g, entry64(g, t3, (va >> 30) & 511));
        wr_entry(entry64(g, t2, (va >> 21) & 511), pfn << 12 | PTE_LARGE | patb | PTE_NX);
        break;
    }
    case DG_PAE:
        wr_entry(entry64(g, g->pae_pd[(va >> 30) & 3], (va >> 21) & 511), pfn << 12 | PTE_LARGE | patb | PTE_NX);
        break;
    case DG_X86: {
        uint64_t pa = pfn << 12;
        w32(ppage(g, g->dtb_pfn) + 4 * (va >> 22),
            (uint32_t)((pa & 0xFFC00000u) | ((pa >> 32) & 0xFF) << 13 | PTE_LARGE | patb));
        break;
    }
    }
    g->truth.large_pages++;
}

static void map_1g(DumpGen *g, uint64_t va, uint64_t pfn, bool pat)
{
    uint64_t t3 = sub_table(g, entry64(g, g->dtb_pfn, (va >> 39) & 511));
    wr_entry(entry64(g, t3, (va >> 30) & 511), pfn << 12 | PTE_LARGE | (pat ? 0x1000u : 0) | PTE_NX);
    g->truth.large_pages++;
}

/* Our own translation (to write structures through their VAs). */
static bool gen_translate(DumpGen *g, uint64_t va, uint64_t *pfn_out, uint32_t *in_page)
{
    const uint64_t M = UINT64_C(0x000FFFFFFFFFF000);
    uint64_t e;
    *in_page = (uint32_t)(va & 0xFFF);
    switch (g->o.arch) {
    case DG_X64: {
        e = rd_entry(entry64(g, g->dtb_pfn, (va >> 39) & 511));
        if (!(e & 1)) return false;
        e = rd_entry(entry64(g, (e & M) >> 12, (va >> 30) & 511));
        if (!(e & 1)) return false;
        if (e & 0x80) { *pfn_out = ((e & UINT64_C(0x000FFFFFC0000000)) >> 12) + ((va >> 12) & 0x3FFFF); return true; }
        e = rd_entry(entry64(g, (e & M) >> 12, (va >> 21) & 511));
        if (!(e & 1)) return false;
        if (e & 0x80) { *pfn_out = ((e & UINT64_C(0x000FFFFFFFE00000)) >> 12) + ((va >> 12) & 511); return true; }
        e = rd_entry(entry64(g, (e & M) >> 12, (va >> 12) & 511));
        if (!(e & 1)) return false;
        *pfn_out = (e & M) >> 12;
        return true;
    }
    case DG_PAE:
        e = rd_entry(entry64(g, g->pae_pd[(va >> 30) & 3], (va >> 21) & 511));
        if (!(e & 1)) return false;
        if (e & 0x80) { *pfn_out = ((e & UINT64_C(0x000FFFFFFFE00000)) >> 12) + ((va >> 12) & 511); return true; }
        e = rd_entry(entry64(g, (e & M) >> 12, (va >> 12) & 511));
        if (!(e & 1)) return false;
        *pfn_out = (e & M) >> 12;
        return true;
    case DG_X86: {
        const uint8_t *pd = ppage(g, g->dtb_pfn) + 4 * (va >> 22);
        uint32_t v = (uint32_t)pd[0] | (uint32_t)pd[1] << 8 | (uint32_t)pd[2] << 16 | (uint32_t)pd[3] << 24;
        if (!(v & 1)) return false;
        if (v & 0x80) { *pfn_out = ((v & 0xFFC00000u) >> 12) + ((va >> 12) & 1023); return true; }
        const uint8_t *pt = ppage(g, v >> 12) + 4 * ((va >> 12) & 1023);
        v = (uint32_t)pt[0] | (uint32_t)pt[1] << 8 | (uint32_t)pt[2] << 16 | (uint32_t)pt[3] << 24;
        if (!(v & 1)) return false;
        *pfn_out = v >> 12;
        return true;
    }
    }
    return false;
}

static void vwrite(DumpGen *g, uint64_t va, const void *data, size_t len)
{
    const uint8_t *s = data;
    while (len) {
        uint64_t pfn;
        uint32_t off;
        if (!gen_translate(g, va, &pfn, &off)) g_error("dumpgen: write to unmapped VA 0x%" G_GINT64_MODIFIER "x", va);
        size_t n = MIN(len, (size_t)(PG - off));
        memcpy(ppage(g, pfn) + off, s, n);
        s += n;
        va += n;
        len -= n;
    }
}

static void vwrite_ptr(DumpGen *g, uint64_t va, uint64_t v)
{
    uint8_t b[8];
    w64(b, v);
    vwrite(g, va, b, g->P);
}

static void vwrite32(DumpGen *g, uint64_t va, uint32_t v)
{
    uint8_t b[4];
    w32(b, v);
    vwrite(g, va, b, 4);
}

static void vwrite64(DumpGen *g, uint64_t va, uint64_t v)
{
    uint8_t b[8];
    w64(b, v);
    vwrite(g, va, b, 8);
}

/* npages fresh 4 KiB pages mapped at a new pool VA (with a random guard gap). */
static uint64_t alloc_pool(DumpGen *g, uint64_t *va_cursor, uint32_t npages, uint64_t *first_pfn)
{
    *va_cursor += (rnd(g) % 4) * PG;
    uint64_t va = *va_cursor;
    for (uint32_t k = 0; k < npages; k++) {
        uint64_t pfn = alloc4k(g);
        ppage(g, pfn);
        map4k(g, va + (uint64_t)k * PG, pfn);
        if (k == 0 && first_pfn) *first_pfn = pfn;
    }
    *va_cursor += (uint64_t)npages * PG;
    return va;
}

/* ------------------------------------------------------------------ setup */

DumpGen *dg_new(const DgOptions *o)
{
    DumpGen *g = g_new0(DumpGen, 1);
    g->o = *o;
    if (!g->o.ram_bytes) g->o.ram_bytes = 16u << 20;
    if (!g->o.build) g->o.build = g->o.win7_context ? 7601 : 19041;
    if (!g->o.bugcheck) g->o.bugcheck = 0x133;
    if (g->o.arch != DG_X64 && g->o.container == DG_RAW) g->o.container = DG_FULL; /* raw: x64 only */
    g->rng = o->seed * 0x9E3779B97F4A7C15ull + 12345;
    g->P = o->arch == DG_X64 ? 8 : 4;
    g->pages = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);

    uint64_t n = MAX(g->o.ram_bytes / PG, (uint64_t)16);
    if (n >= 2048) { /* a PC: low memory below the 640 KiB hole, then two runs around a hole */
        uint64_t m = n - 0x9E;
        g->runs[0] = (Run){ 1, 0x9E };
        g->runs[1] = (Run){ 0x100, m / 2 };
        g->runs[2] = (Run){ 0x100 + m / 2 + 0x300, m - m / 2 };
    } else {         /* tiny memories (fuzz seeds): the same shape, scaled down */
        g->runs[0] = (Run){ 1, n / 4 };
        g->runs[1] = (Run){ 1 + n / 4 + 8, n / 4 };
        g->runs[2] = (Run){ 1 + 2 * (n / 4) + 16, n - 2 * (n / 4) };
    }
    g->ram_max_pfn = g->max_pfn = g->runs[2].base + g->runs[2].count;
    g->used = g_malloc0(g->ram_max_pfn / 8 + 1);
    /* 4 KiB pages come from a shuffled list of every run page; the top half of the last run
     * goes last, so that large pages (taken from the top) still find free aligned blocks */
    g->free_list = g_new(uint64_t, n);
    uint64_t top_end = g->runs[2].base + g->runs[2].count;
    g->reserve_base = MAX(g->runs[2].base, (top_end - g->runs[2].count / 2) / 1024 * 1024);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t from = g->n_free;
        for (int r = 0; r < 3; r++)
            for (uint64_t k = 0; k < g->runs[r].count; k++) {
                uint64_t pfn = g->runs[r].base + k;
                if ((pfn >= g->reserve_base) == (pass == 1)) g->free_list[g->n_free++] = pfn;
            }
        for (uint64_t i = g->n_free - 1; i > from; i--) {
            uint64_t j = from + rnd(g) % (i - from + 1), t = g->free_list[i];
            g->free_list[i] = g->free_list[j];
            g->free_list[j] = t;
        }
    }

    /* top-level table and self-map */
    switch (g->o.arch) {
    case DG_X64:
        g->dtb_pfn = alloc4k(g);
        ppage(g, g->dtb_pfn);
        g->selfmap = 0x100 + (int)(rnd(g) % 0xFF);
        wr_entry(entry64(g, g->dtb_pfn, (unsigned)g->selfmap), g->dtb_pfn << 12 | PTE_FLAGS | PTE_NX);
        g->va_pool = UINT64_C(0xFFFFA88000000000);
        g->va_large = UINT64_C(0xFFFFB20000000000);
        g->va_alias = UINT64_C(0xFFFF980000000000); /* below the pool: the walk meets aliases first */
        g->va_nt = UINT64_C(0xFFFFF80231400000);
        g->kusd_va = UINT64_C(0xFFFFF78000000000);
        g->gig_va = UINT64_C(0xFFFFC00000000000);
        break;
    case DG_PAE:
        g->dtb_pfn = alloc4k(g);
        ppage(g, g->dtb_pfn);
        for (int i = 0; i < 4; i++) {
            g->pae_pd[i] = alloc4k(g);
            ppage(g, g->pae_pd[i]);
            wr_entry(entry64(g, g->dtb_pfn, (unsigned)i), g->pae_pd[i] << 12 | 1);
        }
        for (int i = 0; i < 4; i++) /* PTE_BASE 0xC0000000: PD 3's first entries map the 4 PDs */
            wr_entry(entry64(g, g->pae_pd[3], (unsigned)i), g->pae_pd[i] << 12 | PTE_FLAGS);
        goto x86_vas;
    case DG_X86:
        g->dtb_pfn = alloc4k(g);
        ppage(g, g->dtb_pfn);
        w32(ppage(g, g->dtb_pfn) + 4 * 0x300, (uint32_t)(g->dtb_pfn << 12 | PTE_FLAGS));
    x86_vas:
        g->va_pool = 0x84000000u;
        g->va_large = 0x88000000u;
        g->va_alias = 0x83000000u;
        g->va_nt = 0x82A00000u;
        g->kusd_va = 0xFFDF0000u;
        break;
    }

    /* KUSER_SHARED_DATA (filled at write time) */
    if (!g->o.no_kusd) {
        uint64_t pfn = alloc4k(g);
        ppage(g, pfn);
        map4k(g, g->kusd_va, pfn);
    }
    /* nt data: KDDEBUGGER_DATA64 at +0x100, KiProcessorBlock at +0x800, EtwpDebuggerData at +0xA00,
     * the logger array at +0xC00; a KPRCB in the second page */
    if (!g->o.no_kdbg) {
        for (int k = 0; k < 2; k++) {
            uint64_t pfn = alloc4k(g);
            ppage(g, pfn);
            map4k(g, g->va_nt + (uint64_t)k * PG, pfn);
        }
        uint64_t nt = g->va_nt;
        g->kdbg_va = nt + 0x100;
        g->edd_va = nt + 0xA00;
        g->array_va = nt + 0xC00;
        uint64_t kpb = nt + 0x800, prcb = nt + PG;
        vwrite64(g, g->kdbg_va + 0x00, nt + 0x100);          /* List */
        vwrite32(g, g->kdbg_va + 0x10, 0x4742444Bu);         /* 'KDBG' */
        vwrite32(g, g->kdbg_va + 0x14, 0x368);               /* Size */
        vwrite64(g, g->kdbg_va + 0x18, g->va_nt & ~UINT64_C(0xFFFFF)); /* KernBase */
        vwrite64(g, g->kdbg_va + 0x218, kpb);                /* KiProcessorBlock */
        uint8_t mo[2];
        w16(mo, 0x3C4);
        vwrite(g, g->kdbg_va + 0x2B6, mo, 2);                /* OffsetPrcbMhz */
        vwrite64(g, g->kdbg_va + 0x330, g->edd_va);          /* EtwpDebuggerData */
        vwrite_ptr(g, kpb, prcb);
        vwrite32(g, prcb + 0x3C4, 2995);                     /* KPRCB MHz */
        static const uint8_t sig[8] = { 0x00, 0x00, 0x2C, 0x08, 0x04, 0x38, 0x0C, 0x00 };
        vwrite(g, g->edd_va, sig, 8);
        vwrite_ptr(g, g->edd_va + 0x10, g->array_va);
        for (uint32_t i = 0; i < 64; i++) vwrite_ptr(g, g->array_va + i * g->P, g->o.win7_context ? 1 : 0);
    }
    return g;
}

void dg_free(DumpGen *g)
{
    if (!g) return;
    g_hash_table_destroy(g->pages);
    g_free(g->used);
    g_free(g->free_list);
    g_free(g);
}

const DgTruth *dg_truth(const DumpGen *g) { return &g->truth; }

/* ------------------------------------------------------------------ loggers */

/* Where the next buffer of size bytes goes: returns its VA, and the PFN of each page in pfns. */
static uint64_t place(DumpGen *g, DgPages mode, bool pat, uint32_t size, uint64_t *pfns)
{
    uint32_t npages = (size + PG - 1) / PG;
    if (mode == DG_PAGES_1G && !(g->o.arch == DG_X64 && g->o.container == DG_BITMAP)) mode = DG_PAGES_LARGE;
    if (mode == DG_PAGES_1G) {
        if (!g->gig_pfn) {
            g->gig_pfn = (g->max_pfn + (UINT64_C(1) << 18) - 1) >> 18 << 18;
            g->max_pfn = g->gig_pfn + (UINT64_C(1) << 18);
            map_1g(g, g->gig_va, g->gig_pfn, pat);
        }
        if ((g->gig_used + npages) > (UINT64_C(1) << 18)) g_error("dumpgen: 1 GiB page full");
        uint64_t va = g->gig_va + (g->gig_used << 12);
        for (uint32_t k = 0; k < npages; k++) pfns[k] = g->gig_pfn + g->gig_used + k;
        g->gig_used += npages;
        return va;
    }
    uint64_t lp = g->o.arch == DG_X86 ? 1024 : 512;
    if (mode == DG_PAGES_LARGE && npages <= lp) {
        if (!g->large_end || g->large_cur + (uint64_t)npages * PG > g->large_end) {
            uint64_t pfn = alloc_contig(g, lp);
            uint64_t va = (g->va_large + lp * PG - 1) / (lp * PG) * (lp * PG);
            g->va_large = va + lp * PG;
            map_large(g, va, pfn, pat);
            g->large_base = va;
            g->large_cur = va;
            g->large_end = va + lp * PG;
            g->large_pfn = pfn;
        }
        uint64_t va = g->large_cur;
        for (uint32_t k = 0; k < npages; k++) pfns[k] = g->large_pfn + ((va - g->large_base) >> 12) + k;
        g->large_cur += (uint64_t)npages * PG;
        return va;
    }
    g->va_pool += (rnd(g) % 3) * PG;
    uint64_t va = g->va_pool;
    for (uint32_t k = 0; k < npages; k++) {
        pfns[k] = alloc4k(g);
        map4k(g, va + (uint64_t)k * PG, pfns[k]);
    }
    g->va_pool += (uint64_t)npages * PG;
    return va;
}

static void store(DumpGen *g, const uint64_t *pfns, const uint8_t *img, uint32_t size)
{
    for (uint32_t k = 0; k * PG < size; k++) memcpy(ppage(g, pfns[k]), img + (size_t)k * PG, MIN(PG, size - k * PG));
}

static uint32_t count_events(const uint8_t *b, uint32_t end, bool is64)
{
    uint32_t pos = 0x48, n = 0;
    EtlEvent ev;
    while (pos + 8 <= end) {
        EtlDiagCode code;
        char why[64];
        int s = etl_event_parse(b + pos, end - pos, is64, &ev, &code, why, sizeof why);
        if (s <= 0) break;
        n++;
        pos += ((uint32_t)s + 7u) & ~7u;
    }
    return n;
}

bool dg_add_logger(DumpGen *g, const DgLogger *l, GError **error)
{
    if (g->truth.n_loggers >= G_N_ELEMENTS(g->truth.loggers)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "dumpgen: too many loggers");
        return false;
    }
    EtlTrace *t = etl_trace_open(etl_source_new_memory(l->etl, l->etl_len, "dumpgen-source"), NULL, error);
    if (!t) return false;
    const EtlLogfileHeader *hp = etl_trace_header(t);
    struct { uint32_t clock_type; int64_t start_time, ts0, ticks_per_second; } hv = {
        hp->clock_type, hp->start_time, hp->ts0, hp->ticks_per_second };
    const __typeof__(hv) *h = &hv;
    uint32_t bs = hp->buffer_size;
    if (bs < 0x400 || bs % 0x400 || bs > ETL_MAX_BUFFER_SIZE) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "dumpgen: buffer size 0x%x cannot be carved", bs);
        etl_trace_free(t);
        return false;
    }
    bool is64 = hp->pointer_size == 8 || hp->header_is64;
    if (!g->have_clock) {
        g->have_clock = true;
        g->clock_type = h->clock_type;
        g->start_time = h->start_time;
        g->ts0 = h->ts0;
        g->freq = h->ticks_per_second;
    }
    /* only a trace on the first one's clock moves the crash time (traces from other machines
     * keep their own timestamps; their FILETIMEs then come out shifted, as they would) */
    bool same_clock = h->clock_type == g->clock_type && h->ticks_per_second == g->freq &&
                      llabs(h->start_time - g->start_time) < INT64_C(864000000000);
    int64_t max_ts = INT64_MIN;
    /* the data buffers, decompressed, in file order */
    GPtrArray *imgs = g_ptr_array_new_with_free_func(g_free);
    EtlSource *src = etl_trace_source(t);
    for (uint32_t i = 1; i < etl_trace_buffer_count(t); i++) {
        const EtlBufferInfo *bi = etl_trace_buffer(t, i);
        if (!bi->usable || bi->file_offset + bi->span > etl_source_size(src)) continue;
        if (l->max_buffers && imgs->len >= l->max_buffers) break;
        const uint8_t *raw = etl_source_get(src, bi->file_offset, (size_t)bi->span);
        uint8_t *img = g_malloc(bs);
        memset(img, 0xFF, bs);
        if (bi->compressed) {
            memcpy(img, raw, 0x48);
            size_t out = 0;
            uint32_t want = MIN(bi->events_end, bs) - 0x48;
            etl_xpress_decompress(raw + 0x48, (size_t)bi->span - 0x48, img + 0x48, want, &out);
            w32(img + 0x00, bs);
            w16(img + 0x34, (uint16_t)(bi->hdr.flags & ~ETL_BUFFER_FLAG_COMPRESSED));
            w32(img + 0x04, 0x48 + (uint32_t)out);
            w32(img + 0x30, 0x48 + (uint32_t)out);
        } else {
            if (bi->hdr.buffer_size != bs) { g_free(img); continue; }
            memcpy(img, raw, bs);
        }
        w16(img + 0x2A, l->logger_id);
        w32(img + 0x0C, 0);
        g_ptr_array_add(imgs, img);
    }
    etl_trace_free(t);

    DgLoggerTruth *lt = &g->truth.loggers[g->truth.n_loggers++];
    memset(lt, 0, sizeof *lt);
    lt->logger_id = l->logger_id;
    lt->buffer_size = bs;
    uint32_t n = imgs->len;
    Placed *pl = g_new0(Placed, n ? n : 1);
    uint32_t npages = (bs + PG - 1) / PG;
    uint64_t *pfns = g_new(uint64_t, npages);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *img = imgs->pdata[i];
        uint32_t saved = etl_rd32(img + 4), cur = etl_rd32(img + 8);
        uint32_t end = MAX(saved, etl_rd32(img + 0x30));
        if (end < 0x48 || end > bs) end = MIN(MAX(cur, 0x48u), bs);
        uint32_t nev = count_events(img, end, is64);
        lt->events += nev;
        if (nev) lt->buffers_with_events++;
        int64_t bts = (int64_t)etl_rd64(img + 0x10);
        if (bts > max_ts) max_ts = bts;
        uint16_t flags = etl_rd16(img + 0x34);
        uint16_t cpu = (flags & ETL_BUFFER_FLAG_PROC_INDEX) ? etl_rd16(img + 0x28) : img[0x28];
        if (cpu + 1u > g->max_cpu) g->max_cpu = cpu + 1u;
        bool active = i >= n - MIN(l->n_active, n);
        if (active) {
            /* active: SavedOffset 0 while logging, CurrentOffset the write cursor, stale tail */
            w32(img + 0x04, 0);
            w32(img + 0x30, 0);
            w32(img + 0x08, end);
            w32(img + 0x2C, 1);
            for (uint32_t k = end; k < bs; k++) img[k] = (uint8_t)rnd(g);
        } else if (i < l->n_free) {
            w32(img + 0x2C, 0);           /* free, its last contents still there */
        }
        pl[i].va = place(g, l->pages, l->pat, bs, pfns);
        if (!g->sample_va && !active && i >= l->n_free && nev >= 4 && end > 0x400) {
            g->sample_va = pl[i].va;
            g->sample_size = bs;
        }
        pl[i].pfn = pfns[0];
        if (i == 0) lt->first_buffer_va = pl[i].va;
        store(g, pfns, img, bs);
        if (g->o.alias_mapping && l->pages == DG_PAGES_4K) {
            g->va_alias += PG;
            for (uint32_t k = 0; k < npages; k++) map4k(g, g->va_alias + (uint64_t)k * PG, pfns[k]);
            g->va_alias += (uint64_t)npages * PG;
        }
    }
    lt->buffers = n;
    /* timestamps of events for the crash clock */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *img = imgs->pdata[i];
        uint32_t pos = 0x48, end = MAX(etl_rd32(img + 4), etl_rd32(img + 8));
        if (end > bs) end = bs;
        EtlEvent ev;
        while (pos + 8 <= end) {
            EtlDiagCode code;
            char why[64];
            int s = etl_event_parse(img + pos, end - pos, is64, &ev, &code, why, sizeof why);
            if (s <= 0) break;
            if (ev.has_timestamp && ev.timestamp > max_ts) max_ts = ev.timestamp;
            pos += ((uint32_t)s + 7u) & ~7u;
        }
    }
    g_free(pfns);
    if (same_clock && max_ts > g->max_ts) g->max_ts = max_ts;

    /* the logger context: two pages, the context at a random 0x40 boundary of the first, the name
     * in the second */
    uint64_t ctx_page = alloc_pool(g, &g->va_pool, 2, NULL);
    uint64_t ctx = ctx_page + 0x40 * (rnd(g) % 8);
    lt->context_va = ctx;
    uint32_t list_off, name_off, clock_off, ref_off, mode_off;
    if (g->P == 4) {
        list_off = 0x50, name_off = 0x6C, clock_off = 0x8C, ref_off = 0xB0, mode_off = 0x0C;
    } else if (g->o.win7_context) {
        list_off = 0x60, name_off = 0x78, clock_off = 0xB8, ref_off = 0x130, mode_off = 0x10;
    } else {
        list_off = 0x60, name_off = 0x98, clock_off = 0xD8, ref_off = 0x140, mode_off = 0x0C;
    }
    vwrite32(g, ctx + 0x00, l->logger_id);
    vwrite32(g, ctx + 0x04, bs);
    vwrite32(g, ctx + mode_off, 0x02000100u | 0x400);  /* system logger, real time, buffering */
    vwrite_ptr(g, ctx + 0x28, g->va_nt + 0x1234);       /* GetCpuClock-like */
    vwrite_ptr(g, ctx + 0x40, ctx + 0x48);              /* a queue-like pair (not ending in 038) */
    vwrite_ptr(g, ctx + 0x40 + g->P, ctx + 0x40);
    if (l->name) {
        glong nu = 0;
        gunichar2 *u = g_utf8_to_utf16(l->name, -1, NULL, &nu, NULL);
        uint64_t sbuf = ctx_page + PG + 0x100;
        for (glong i = 0; i < nu && i < 200; i++) {
            uint8_t c[2];
            w16(c, u[i]);
            vwrite(g, sbuf + 2 * (uint64_t)i, c, 2);
        }
        g_free(u);
        uint8_t us[4];
        w16(us, (uint16_t)(MIN(nu, 200) * 2));
        w16(us + 2, (uint16_t)(MIN(nu, 200) * 2 + 2));
        vwrite(g, ctx + name_off, us, 4);
        vwrite_ptr(g, ctx + name_off + (g->P == 8 ? 8 : 4), sbuf);
    }
    vwrite32(g, ctx + clock_off, h->clock_type ? h->clock_type : 1);
    if (g->P == 8) {
        vwrite64(g, ctx + ref_off, (uint64_t)h->start_time);
        vwrite64(g, ctx + ref_off + 8, (uint64_t)h->ts0);
    }
    lt->start_time = h->start_time;
    lt->ts0 = h->ts0;
    lt->perf_freq = h->ticks_per_second;
    /* GlobalList: head -> buffer 0 -> ... -> buffer n-1 -> head */
    uint64_t head = ctx + list_off;
    uint64_t prev = head;
    for (uint32_t i = 0; i <= n; i++) {
        uint64_t node = i < n ? pl[i].va + 0x38 : head;
        /* prev.Flink = node, node.Blink = prev */
        if (prev == head) vwrite_ptr(g, head, node);
        else {
            uint8_t b[8];
            w64(b, node);
            memcpy(ppage(g, pl[i - 1].pfn) + 0x38, b, g->P);
        }
        if (node == head) vwrite_ptr(g, head + g->P, prev);
        else {
            uint8_t b[8];
            w64(b, prev);
            memcpy(ppage(g, pl[i].pfn) + 0x38 + g->P, b, g->P);
        }
        prev = node;
    }
    if (n == 0) {
        vwrite_ptr(g, head, head);
        vwrite_ptr(g, head + g->P, head);
    }
    if (!l->unlisted && !g->o.no_kdbg && l->logger_id < 64) vwrite_ptr(g, g->array_va + l->logger_id * g->P, ctx);
    g_free(pl);
    g_ptr_array_free(imgs, TRUE);
    return true;
}

/* ------------------------------------------------------------------ decoys, clock */

/* The sample buffer as placed (its GlobalEntry links into its logger's list). */
static uint8_t *read_sample(DumpGen *g)
{
    uint8_t *b = g_malloc(g->sample_size);
    for (uint32_t o = 0; o < g->sample_size; o += PG) {
        uint64_t pfn;
        uint32_t off;
        if (!gen_translate(g, g->sample_va + o, &pfn, &off)) g_error("dumpgen: sample not mapped");
        memcpy(b + o, ppage(g, pfn), MIN(PG, g->sample_size - o));
    }
    return b;
}

static void add_decoys(DumpGen *g)
{
    if (!g->sample_va) return;
    uint32_t bs = g->sample_size, npages = (bs + PG - 1) / PG;
    uint8_t *sample = read_sample(g);
    uint64_t pfn;
    /* 1-3: one page each, mapped: wrong BufferSize, SavedOffset past the buffer, bad State */
    for (int k = 0; k < 3; k++) {
        uint64_t va = alloc_pool(g, &g->va_pool, 1, &pfn);
        (void)va;
        uint8_t *p = ppage(g, pfn);
        memcpy(p, sample, PG);
        if (k == 0) w32(p, bs + 0x234);
        if (k == 1) w32(p + 4, bs + 8);
        if (k == 2) w32(p + 0x2C, 9);
        g->truth.decoys++;
    }
    /* 4: valid header, corrupt first event (unknown header type 0x77) */
    alloc_pool(g, &g->va_pool, 1, &pfn);
    uint8_t *p = ppage(g, pfn);
    memcpy(p, sample, PG);
    p[0x48 + 2] = 0x77;
    g->truth.decoys++;
    /* 5: an exact copy of the buffer on unmapped pages (freed memory) */
    for (uint32_t k = 0; k < npages; k++) {
        uint64_t f = alloc4k(g);
        memcpy(ppage(g, f), sample + (size_t)k * PG, MIN(PG, bs - k * PG));
    }
    g->truth.decoys++;
    /* 6: an exact copy, mapped (its GlobalEntry still names the live buffer's neighbours) */
    uint64_t va = g->va_pool;
    for (uint32_t k = 0; k < npages; k++) {
        uint64_t f = alloc4k(g);
        map4k(g, va + (uint64_t)k * PG, f);
        memcpy(ppage(g, f), sample + (size_t)k * PG, MIN(PG, bs - k * PG));
    }
    g->va_pool += (uint64_t)(npages + 1) * PG;
    g->truth.decoys++;
    /* 7: an older copy, mapped: the same sequence number, half the events */
    uint8_t *old = g_memdup2(sample, bs);
    uint32_t end = etl_rd32(old + 4) ? etl_rd32(old + 4) : etl_rd32(old + 0x30), pos = 0x48, half = 0x48;
    EtlEvent ev;
    while (pos + 8 <= end) {
        EtlDiagCode code;
        char why[64];
        int s = etl_event_parse(old + pos, end - pos, g->P == 8, &ev, &code, why, sizeof why);
        if (s <= 0) break;
        pos += ((uint32_t)s + 7u) & ~7u;
        if (pos <= 0x48 + (end - 0x48) / 2) half = pos;
    }
    if (half > 0x48) {
        memset(old + half, 0xFF, bs - half);
        w32(old + 4, half);
        w32(old + 0x30, half);
        va = g->va_pool;
        for (uint32_t k = 0; k < npages; k++) {
            uint64_t f = alloc4k(g);
            map4k(g, va + (uint64_t)k * PG, f);
            memcpy(ppage(g, f), old + (size_t)k * PG, MIN(PG, bs - k * PG));
        }
        g->va_pool += (uint64_t)(npages + 1) * PG;
        g->truth.decoys++;
    }
    g_free(old);
    g_free(sample);
}

/* A buffer of an unlisted logger (id 0x3F0) whose second page is not mapped. */
static void add_partial_decoy(DumpGen *g)
{
    if (!g->sample_va || g->sample_size <= PG) return;
    uint8_t *sample = read_sample(g);
    uint64_t pfn;
    uint64_t va = alloc_pool(g, &g->va_pool, 1, &pfn);
    g->va_pool += 4 * PG;
    uint8_t *p = ppage(g, pfn);
    memcpy(p, sample, PG);
    w16(p + 0x2A, 0x3F0);
    uint64_t nowhere = g->P == 8 ? UINT64_C(0xFFFFE12300000038) : 0xE1230038u;
    uint8_t b[8];
    w64(b, nowhere);
    memcpy(p + 0x38, b, g->P);
    memcpy(p + 0x38 + g->P, b, g->P);
    (void)va;
    g_free(sample);
}

static void write_kusd(DumpGen *g)
{
    if (g->o.no_kusd) return;
    uint64_t pfn;
    uint32_t off;
    if (!gen_translate(g, g->kusd_va, &pfn, &off)) return;
    uint8_t *k = ppage(g, pfn);
    const DgTruth *t = &g->truth;
    w32(k + 0x08, (uint32_t)t->uptime);
    w32(k + 0x0C, (uint32_t)(t->uptime >> 32));
    w32(k + 0x10, (uint32_t)(t->uptime >> 32));
    w32(k + 0x14, (uint32_t)t->crash_filetime);
    w32(k + 0x18, (uint32_t)(t->crash_filetime >> 32));
    w32(k + 0x1C, (uint32_t)(t->crash_filetime >> 32));
    w32(k + 0x260, 0xF0000000u | g->o.build);
    w32(k + 0x264, 1);
    w32(k + 0x26C, g->o.build >= 10240 ? 10 : 6);
    w32(k + 0x270, g->o.build >= 10240 ? 0 : g->o.build >= 9600 ? 3 : g->o.build >= 9200 ? 2 : 1);
    w32(k + 0x2C4, 42);
    w64(k + 0x300, (uint64_t)g->freq);
    w64(k + 0x348, (uint64_t)t->crash_qpc);
    w32(k + 0x3C0, g->o.cpus ? g->o.cpus : MAX(g->max_cpu, 1u));
}

static void finalize(DumpGen *g)
{
    if (g->finalized) return;
    g->finalized = true;
    if (g->o.decoys) add_decoys(g);
    if (g->o.partial_decoy) add_partial_decoy(g);
    DgTruth *t = &g->truth;
    if (!g->have_clock) {
        g->freq = 10000000;
        g->start_time = 133497864000000000ll;
        g->ts0 = 36000000000ll;
    }
    int64_t f = g->freq > 0 ? g->freq : 10000000;
    t->crash_qpc = MAX(g->max_ts, g->ts0) + f;
    t->crash_filetime = g->start_time + (int64_t)((__int128)(t->crash_qpc - g->ts0) * 10000000 / f);
    t->uptime = (int64_t)((__int128)t->crash_qpc * 10000000 / f);
    write_kusd(g);
    t->dtb = g->dtb_pfn << 12;
    t->kdbg_va = g->kdbg_va;
}

/* ------------------------------------------------------------------ writing the container */

typedef struct {
    FILE       *fp;
    GByteArray *mem;
    uint64_t    off;
    bool        failed;
} Sink;

static void sink_put(Sink *s, const void *p, size_t n)
{
    if (s->failed) return;
    if (s->mem) g_byte_array_append(s->mem, p, (guint)n);
    else if (fwrite(p, 1, n, s->fp) != n) s->failed = true;
    s->off += n;
}

static bool in_runs(const DumpGen *g, uint64_t pfn)
{
    for (int r = 0; r < 3; r++)
        if (pfn >= g->runs[r].base && pfn < g->runs[r].base + g->runs[r].count) return true;
    return false;
}

static void filler(const DumpGen *g, uint64_t pfn, uint8_t *out)
{
    DgFill f = g->o.fill;
    if (f == DG_FILL_MIXED) {
        uint64_t h = mix(pfn ^ g->o.seed) % 10;
        f = h < 5 ? DG_FILL_ZERO : DG_FILL_RANDOM;
        if (h == 9) { /* pointer-ish data */
            for (unsigned i = 0; i < PG; i += 8) w64(out + i, UINT64_C(0xFFFFA88000000000) | (mix(pfn * 512 + i) & 0xFFFFFFF8u));
            return;
        }
    }
    if (f == DG_FILL_ZERO) {
        memset(out, 0, PG);
        return;
    }
    uint64_t s = mix(pfn * 0x9E3779B97F4A7C15ull ^ g->o.seed);
    for (unsigned i = 0; i < PG; i += 8) {
        s += 0x9e3779b97f4a7c15ull;
        w64(out + i, mix(s));
    }
}

/* Is pfn stored in a bitmap dump? */
static bool bitmap_stored(const DumpGen *g, uint64_t pfn)
{
    if (g_hash_table_contains(g->pages, GSIZE_TO_POINTER((gsize)pfn + 1))) return true;
    return in_runs(g, pfn) && mix(pfn ^ (g->o.seed << 20)) % 100 < g->o.bitmap_filler_pct;
}

static void page_content(const DumpGen *g, uint64_t pfn, uint8_t *buf)
{
    const uint8_t *p = g_hash_table_lookup(g->pages, GSIZE_TO_POINTER((gsize)pfn + 1));
    if (p) memcpy(buf, p, PG);
    else filler(g, pfn, buf);
}

static void header64(DumpGen *g, uint8_t *h, uint32_t dump_type, uint64_t file_size)
{
    for (unsigned i = 0; i < 0x2000; i += 4) w32(h + i, SIG_PAGE);
    w32(h + 0x04, 0x34365544u);
    w32(h + 0x08, 0xF);
    w32(h + 0x0C, g->o.build);
    w64(h + 0x10, g->dtb_pfn << 12);
    w64(h + 0x18, UINT64_C(0xFFFFFA8000000000));
    w64(h + 0x20, g->va_nt + 0x2000);
    w64(h + 0x28, g->va_nt + 0x3000);
    w32(h + 0x30, 0x8664);
    w32(h + 0x34, g->o.cpus ? g->o.cpus : MAX(g->max_cpu, 1u));
    w32(h + 0x38, g->o.bugcheck);
    w32(h + 0x3C, 0);
    w64(h + 0x40, 1);
    w64(h + 0x48, 0x1E00);
    w64(h + 0x50, g->va_nt + 0x5000);
    w64(h + 0x58, 0);
    memset(h + 0x60, 0, 32);
    w64(h + 0x80, g->kdbg_va);
    if (dump_type == 1) {
        w32(h + 0x88, 3);
        w32(h + 0x8C, 0);
        w64(h + 0x90, g->runs[0].count + g->runs[1].count + g->runs[2].count);
        for (int r = 0; r < 3; r++) {
            w64(h + 0x98 + 16 * r, g->runs[r].base);
            w64(h + 0xA0 + 16 * r, g->runs[r].count);
        }
    }
    memset(h + 0x348, 0, 0xF00 - 0x348);
    w32(h + 0x348 + 0x34, 0x1F80);        /* MxCsr == FltSave.MxCsr */
    w32(h + 0x348 + 0x118, 0x1F80);
    memset(h + 0xF00, 0, 0x98);
    w32(h + 0xF00, 0x80000003u);
    w32(h + 0xF98, dump_type);
    w32(h + 0xF9C, 0);
    w64(h + 0xFA0, file_size);
    w64(h + 0xFA8, (uint64_t)g->truth.crash_filetime);
    memset(h + 0xFB0, 0, 128);
    w64(h + 0x1030, (uint64_t)g->truth.uptime);
    w32(h + 0x1038, 0);
    w32(h + 0x103C, 0);
    w32(h + 0x1040, 1);
    w32(h + 0x1044, 0x110);
    w32(h + 0x1048, 0);
    w32(h + 0x1050, 0);
    w32(h + 0x1054, 42);
}

static void header32(DumpGen *g, uint8_t *h, uint32_t dump_type, uint64_t file_size)
{
    for (unsigned i = 0; i < 0x1000; i += 4) w32(h + i, SIG_PAGE);
    w32(h + 0x04, 0x504D5544u);
    w32(h + 0x08, 0xF);
    w32(h + 0x0C, g->o.build);
    w32(h + 0x10, (uint32_t)(g->dtb_pfn << 12));
    w32(h + 0x14, 0x84800000u);
    w32(h + 0x18, (uint32_t)g->va_nt + 0x2000);
    w32(h + 0x1C, (uint32_t)g->va_nt + 0x3000);
    w32(h + 0x20, 0x14C);
    w32(h + 0x24, g->o.cpus ? g->o.cpus : MAX(g->max_cpu, 1u));
    w32(h + 0x28, g->o.bugcheck);
    w32(h + 0x2C, 1);
    w32(h + 0x30, 0x1E00);
    w32(h + 0x34, 0);
    w32(h + 0x38, 0);
    memset(h + 0x3C, 0, 32);
    h[0x5C] = g->o.arch == DG_PAE;
    h[0x5D] = 0;
    h[0x5E] = h[0x5F] = 0;
    w32(h + 0x60, (uint32_t)g->kdbg_va);
    if (dump_type == 1) {
        w32(h + 0x64, 3);
        w32(h + 0x68, (uint32_t)(g->runs[0].count + g->runs[1].count + g->runs[2].count));
        for (int r = 0; r < 3; r++) {
            w32(h + 0x6C + 8 * r, (uint32_t)g->runs[r].base);
            w32(h + 0x70 + 8 * r, (uint32_t)g->runs[r].count);
        }
    }
    memset(h + 0x320, 0, 1200);
    memset(h + 0x7D0, 0, 0x50);
    memset(h + 0x820, 0, 128);
    w32(h + 0xF88, dump_type);
    w64(h + 0xFA0, file_size);
    w64(h + 0xFB8, (uint64_t)g->truth.uptime);
    w64(h + 0xFC0, (uint64_t)g->truth.crash_filetime);
}

static bool write_dump(DumpGen *g, Sink *s)
{
    finalize(g);
    bool is64 = g->o.arch == DG_X64;
    uint32_t hsize = is64 ? 0x2000 : 0x1000;
    uint8_t *buf = g_malloc(PG);
    uint64_t stored = 0;
    switch (g->o.container) {
    case DG_FULL: {
        for (int r = 0; r < 3; r++) stored += g->runs[r].count;
        uint64_t size = hsize + stored * PG;
        uint8_t *h = g_malloc(hsize);
        if (is64) header64(g, h, 1, size);
        else header32(g, h, 1, size);
        sink_put(s, h, hsize);
        g_free(h);
        for (int r = 0; r < 3 && !s->failed; r++)
            for (uint64_t k = 0; k < g->runs[r].count && !s->failed; k++) {
                page_content(g, g->runs[r].base + k, buf);
                sink_put(s, buf, PG);
            }
        break;
    }
    case DG_BITMAP: {
        uint64_t bits = g->max_pfn, nbytes = (bits + 7) / 8;
        uint8_t *bm = g_malloc0(nbytes);
        for (uint64_t pfn = 0; pfn < bits; pfn++)
            if (bitmap_stored(g, pfn)) {
                bm[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
                stored++;
            }
        uint64_t first = (hsize + 0x38 + nbytes + PG - 1) / PG * PG;
        uint64_t size = first + stored * PG;
        uint8_t *h = g_malloc(hsize);
        if (is64) header64(g, h, 5, size);
        else header32(g, h, 5, size);
        sink_put(s, h, hsize);
        g_free(h);
        uint8_t bh[0x38];
        memset(bh, 0, sizeof bh);
        w32(bh, g->o.fdmp ? 0x504D4446u : 0x504D4453u);
        w32(bh + 4, 0x504D5544u);
        w32(bh + 8, 1);
        w64(bh + 0x20, first);
        w64(bh + 0x28, stored);
        w64(bh + 0x30, bits);
        sink_put(s, bh, sizeof bh);
        sink_put(s, bm, (size_t)nbytes);
        uint64_t pad = first - (hsize + 0x38 + nbytes);
        memset(buf, 0, PG);
        sink_put(s, buf, (size_t)pad);
        for (uint64_t pfn = 0; pfn < bits && !s->failed; pfn++) {
            if (!(bm[pfn / 8] >> (pfn % 8) & 1)) continue;
            page_content(g, pfn, buf);
            sink_put(s, buf, PG);
        }
        g_free(bm);
        break;
    }
    case DG_RAW:
        for (uint64_t pfn = 0; pfn < g->max_pfn && !s->failed; pfn++) {
            if (in_runs(g, pfn)) page_content(g, pfn, buf);
            else memset(buf, 0, PG);
            sink_put(s, buf, PG);
            stored++;
        }
        break;
    }
    g_free(buf);
    g->truth.pages_stored = stored;
    g->truth.file_size = s->off;
    return !s->failed;
}

bool dg_write_file(DumpGen *g, const char *path, GError **error)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot create %s: %s", path, g_strerror(errno));
        return false;
    }
    setvbuf(fp, NULL, _IOFBF, 1u << 20);
    Sink s = { .fp = fp };
    bool ok = write_dump(g, &s);
    if (fclose(fp) != 0) ok = false;
    if (!ok) g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot write %s", path);
    return ok;
}

uint8_t *dg_write_memory(DumpGen *g, size_t *len, GError **error)
{
    Sink s = { .mem = g_byte_array_new() };
    if (!write_dump(g, &s)) {
        g_byte_array_unref(s.mem);
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot build the dump in memory");
        return NULL;
    }
    *len = s.mem->len;
    return g_byte_array_free(s.mem, FALSE);
}

uint8_t *dg_scenario_trace(int kind, uint64_t seed, uint8_t ptr_size, uint32_t buffer_size, uint32_t duration_ms,
                           size_t *len, GError **error)
{
    ScenOptions o;
    scen_options_init(&o, (ScenKind)kind);
    o.seed = seed;
    o.ptr_size = ptr_size;
    if (buffer_size) o.buffer_size = buffer_size;
    o.duration_ms = duration_ms;
    o.stale_fill = true;
    return scen_generate_memory(&o, len, NULL, error);
}
