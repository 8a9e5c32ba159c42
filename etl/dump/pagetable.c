/* pagetable.c — virtual → physical through the page tables of the dump (DUMP_EXTRACT.md §2).
 *
 * x64 4-level paging from the header's DirectoryTableBase (PCID bits dropped): 4 KiB pages,
 * 2 MiB (PDE.PS) and 1 GiB (PDPTE.PS) large pages.  Large-page frames are masked with their own
 * masks, so the PAT bit (bit 12 of a large entry) is never taken as an address bit; bits 52-63
 * (software, NX) are masked off too.  x86: PAE (CR3 → 4 PDPT entries, 2 MiB large pages, 8-byte
 * entries) and non-PAE (4-byte entries, 4 MiB large pages, PSE-36 high bits).
 *
 * Raw images have no header: the x64 page directory is found during the scan as a page whose
 * kernel half holds exactly one entry pointing at the page itself (the self-map, §2.5), and
 * confirmed by KUSER_SHARED_DATA translating to a plausible page.
 */
#include "dump-private.h"

#define MASK_4K UINT64_C(0x000FFFFFFFFFF000)
#define MASK_2M UINT64_C(0x000FFFFFFFE00000)
#define MASK_1G UINT64_C(0x000FFFFFC0000000)
#define PTE_P 0x1u
#define PTE_PS 0x80u
#define MAX_TABLE_PAGES (1u << 21) /* page-table pages walked at most (8 GiB of tables) */
#define MAX_DTB_CANDS 4096

uint64_t dump_kusd_va(const EtlDump *d)
{
    return d->info.is64 ? DUMP_KUSD_VA64 : DUMP_KUSD_VA32;
}

bool dump_is_kernel_ptr(const EtlDump *d, uint64_t p)
{
    if (d->info.is64) return p >= UINT64_C(0xFFFF800000000000);
    return p >= 0x80000000u && p <= 0xFFFFFFFFu;
}

static bool read_entry(EtlDump *d, uint64_t pa, bool wide, uint64_t *e)
{
    if (wide) {
        uint8_t b[8];
        if (!dump_phys_read(d, pa, b, 8)) return false;
        *e = etl_rd64(b);
    } else {
        uint8_t b[4];
        if (!dump_phys_read(d, pa, b, 4)) return false;
        *e = etl_rd32(b);
    }
    return true;
}

/* File offset of the table entry at pa; without one (no entry read yet, or its page not
 * stored), the header's DirectoryTableBase field (0x10), or for raw images the DTB itself. */
static uint64_t entry_offset(EtlDump *d, uint64_t pa)
{
    uint64_t off = pa == UINT64_MAX ? DUMP_NO_OFFSET : etl_dump_phys_to_file(d, pa);
    if (off != DUMP_NO_OFFSET) return off;
    return d->info.container == ETL_DUMP_RAW ? d->info.dtb : 0x10;
}

bool dump_translate(EtlDump *d, uint64_t va, uint64_t *pa, uint64_t *page_size, uint64_t *entry_off)
{
    return dump_translate_ex(d, va, pa, page_size, entry_off, NULL);
}

/* One level of a page walk: the table index is va >> shift (bits wide); large: an entry with
 * PS set maps a page of 1 << shift bytes. */
typedef struct {
    uint8_t shift, bits;
    bool    large;
} Level;

static const Level LEVELS_X64[] = { { 39, 9, false }, { 30, 9, true }, { 21, 9, true }, { 12, 9, false } };
static const Level LEVELS_PAE[] = { { 30, 2, false }, { 21, 9, true }, { 12, 9, false } };
static const Level LEVELS_X86[] = { { 22, 10, true }, { 12, 10, false } };

bool dump_translate_ex(EtlDump *d, uint64_t va, uint64_t *pa, uint64_t *page_size, uint64_t *entry_off,
                       bool *table_missing)
{
    const Level *lv;
    size_t n_lv;
    uint64_t table, frame_mask; /* frame bits of a table or 4 KiB entry */
    bool wide = true;
    switch (d->info.paging) {
    case ETL_DUMP_PAGING_X64:
        lv = LEVELS_X64, n_lv = G_N_ELEMENTS(LEVELS_X64);
        table = d->info.dtb & MASK_4K;
        frame_mask = MASK_4K;
        break;
    case ETL_DUMP_PAGING_PAE:
        lv = LEVELS_PAE, n_lv = G_N_ELEMENTS(LEVELS_PAE);
        table = d->info.dtb & ~UINT64_C(0x1F); /* CR3 points at a 32-byte PDPT */
        frame_mask = MASK_4K;
        break;
    case ETL_DUMP_PAGING_X86:
        lv = LEVELS_X86, n_lv = G_N_ELEMENTS(LEVELS_X86);
        table = d->info.dtb & ~UINT64_C(0xFFF);
        frame_mask = 0xFFFFF000u;
        wide = false;
        break;
    default:
        lv = NULL, n_lv = 0, table = 0, frame_mask = 0;
        break;
    }
    bool miss = false, ok = false;
    uint64_t e = 0, ps = DUMP_PAGE;
    uint64_t last = UINT64_MAX; /* physical address of the last entry read */
    if (d->info.paging != ETL_DUMP_PAGING_X64 && va > 0xFFFFFFFFu) n_lv = 0; /* 32-bit address space */
    for (size_t k = 0; k < n_lv; k++) {
        uint64_t at = table + ((va >> lv[k].shift) & ((UINT64_C(1) << lv[k].bits) - 1)) * (wide ? 8 : 4);
        if ((miss = !read_entry(d, at, wide, &e)) || !(e & PTE_P)) break;
        last = at;
        ps = UINT64_C(1) << lv[k].shift;
        if (k + 1 == n_lv || (lv[k].large && (e & PTE_PS))) {
            if (k + 1 == n_lv) *pa = (e & frame_mask) | (va & (ps - 1));
            else if (wide) /* the large frame's own mask: the PAT bit (12) is not an address bit */
                *pa = (e & MASK_4K & ~(ps - 1)) | (va & (ps - 1));
            else /* 4 MiB page: PSE-36 keeps address bits 32-39 in entry bits 13-20 */
                *pa = (e & 0xFFC00000u) | (((e >> 13) & 0xFF) << 32) | (va & (ps - 1));
            ok = true;
            break;
        }
        table = e & frame_mask;
    }
    if (!ok) ps = DUMP_PAGE;
    if (page_size) *page_size = ps;
    if (entry_off) *entry_off = entry_offset(d, last);
    if (table_missing) *table_missing = !ok && miss;
    return ok;
}

bool etl_dump_virt_to_phys(EtlDump *d, uint64_t va, uint64_t *pa, uint64_t *page_size)
{
    uint64_t p = 0;
    bool ok = dump_translate(d, va, &p, page_size, NULL);
    if (ok && pa) *pa = p;
    return ok;
}

bool etl_dump_read_virt(EtlDump *d, uint64_t va, void *out, size_t len)
{
    uint8_t *o = out;
    while (len) {
        uint64_t pa;
        if (!dump_translate(d, va, &pa, NULL, NULL)) return false;
        size_t n = MIN(len, (size_t)(DUMP_PAGE - (va & (DUMP_PAGE - 1))));
        if (!dump_phys_read(d, pa, o, n)) return false;
        o += n;
        va += n;
        len -= n;
    }
    return true;
}

bool dump_vread64(EtlDump *d, uint64_t va, uint64_t *out)
{
    uint8_t b[8];
    if (!etl_dump_read_virt(d, va, b, 8)) return false;
    *out = etl_rd64(b);
    return true;
}

bool dump_vread32(EtlDump *d, uint64_t va, uint32_t *out)
{
    uint8_t b[4];
    if (!etl_dump_read_virt(d, va, b, 4)) return false;
    *out = etl_rd32(b);
    return true;
}

bool dump_vread_ptr(EtlDump *d, uint64_t va, uint64_t *out)
{
    if (d->psize == 8) return dump_vread64(d, va, out);
    uint32_t v;
    if (!dump_vread32(d, va, &v)) return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ choosing the DTB */

/* The PML4 slot that points back at the PML4 (x64), or -1. */
static int find_selfmap(EtlDump *d, uint64_t dtb_pfn)
{
    const uint8_t *p = dump_page_cached(d, dtb_pfn);
    if (!p) return -1;
    int idx = -1;
    for (int i = 256; i < 512; i++) {
        uint64_t e = etl_rd64(p + 8 * i);
        if ((e & (PTE_P | PTE_PS)) == PTE_P && ((e & MASK_4K) >> DUMP_PAGE_SHIFT) == dtb_pfn) {
            if (idx >= 0) return -1;
            idx = i;
        }
    }
    return idx;
}

/* KUSER_SHARED_DATA translates and looks like it: NtMajorVersion 5..10 (0x26C). */
static bool probe_kusd(EtlDump *d, bool *plausible)
{
    uint64_t pa;
    *plausible = false;
    if (!dump_translate(d, dump_kusd_va(d), &pa, NULL, NULL)) return false;
    uint8_t b[4];
    if (!dump_phys_read(d, pa + 0x26C, b, 4)) return false;
    uint32_t major = etl_rd32(b);
    *plausible = major >= 5 && major <= 10;
    return true;
}

void dump_paging_init(EtlDump *d)
{
    EtlDumpInfo *in = &d->info;
    if (in->container == ETL_DUMP_RAW) {
        in->paging = ETL_DUMP_PAGING_NONE; /* found during the scan */
        return;
    }
    if (in->is64) {
        in->paging = ETL_DUMP_PAGING_X64;
        in->dtb &= MASK_4K;
        d->selfmap_index = find_selfmap(d, in->dtb >> DUMP_PAGE_SHIFT);
    } else if (in->paging == ETL_DUMP_PAGING_PAE) {
        in->dtb &= ~UINT64_C(0x1F);
    } else {
        in->dtb &= ~UINT64_C(0xFFF);
    }
    bool plausible;
    in->kusd_mapped = probe_kusd(d, &plausible);
    if (!in->kusd_mapped) {
        bool beyond;
        uint64_t off = dump_pfn_offset(d, in->dtb >> DUMP_PAGE_SHIFT, &beyond);
        if (off == DUMP_NO_OFFSET) {
            dump_diag(d, ETL_DUMP_DIAG_PAGING, 0x10, 0, in->dtb, -1,
                      "the page directory (DirectoryTableBase 0x%" G_GINT64_MODIFIER "x) is %s: buffers can only be "
                      "carved from physical pages, first page only",
                      in->dtb, beyond ? "beyond the end of the file" : "not in the dump");
            in->paging = ETL_DUMP_PAGING_NONE;
        } else {
            dump_diag(d, ETL_DUMP_DIAG_PAGING, off, dump_kusd_va(d), in->dtb, -1,
                      "KUSER_SHARED_DATA is not mapped through the header's page directory (0x%" G_GINT64_MODIFIER
                      "x): the clock comes from the dump header", in->dtb);
        }
    } else if (!plausible) {
        dump_diag(d, ETL_DUMP_DIAG_PAGING, 0x10, dump_kusd_va(d), in->dtb, -1,
                  "KUSER_SHARED_DATA translates but does not look like it (NtMajorVersion not 5..10)");
    }
}

void dump_selfmap_check(EtlDump *d, uint64_t pfn, const uint8_t *page)
{
    int hits = 0, present = 0;
    for (int i = 256; i < 512; i++) {
        uint64_t e = etl_rd64(page + 8 * i);
        if (!(e & PTE_P)) continue;
        present++;
        if (!(e & PTE_PS) && ((e & MASK_4K) >> DUMP_PAGE_SHIFT) == pfn && ++hits > 1) return;
    }
    if (hits != 1 || present < 2) return;
    if (!d->dtb_cands) d->dtb_cands = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (d->dtb_cands->len < MAX_DTB_CANDS) g_array_append_val(d->dtb_cands, pfn);
}

void dump_paging_from_cands(EtlDump *d)
{
    EtlDumpInfo *in = &d->info;
    guint n = d->dtb_cands ? d->dtb_cands->len : 0;
    int64_t fallback = -1;
    for (guint i = 0; i < n; i++) {
        uint64_t pfn = g_array_index(d->dtb_cands, uint64_t, i);
        in->paging = ETL_DUMP_PAGING_X64;
        in->dtb = pfn << DUMP_PAGE_SHIFT;
        bool plausible;
        if (probe_kusd(d, &plausible)) {
            if (plausible) {
                in->kusd_mapped = true;
                d->selfmap_index = find_selfmap(d, pfn);
                return;
            }
            if (fallback < 0) fallback = (int64_t)pfn;
        }
    }
    if (fallback >= 0) {
        in->paging = ETL_DUMP_PAGING_X64;
        in->dtb = (uint64_t)fallback << DUMP_PAGE_SHIFT;
        in->kusd_mapped = true;
        d->selfmap_index = find_selfmap(d, (uint64_t)fallback);
        dump_diag(d, ETL_DUMP_DIAG_PAGING, in->dtb, dump_kusd_va(d), in->dtb, -1,
                  "page directory chosen by its self-map, but KUSER_SHARED_DATA does not look like it");
        return;
    }
    in->paging = ETL_DUMP_PAGING_NONE;
    in->dtb = 0;
    dump_diag(d, ETL_DUMP_DIAG_PAGING, 0, 0, UINT64_MAX, -1,
              "no x64 page directory found in the image (%u self-mapping candidates, none maps KUSER_SHARED_DATA): "
              "buffers can only be carved from physical pages, first page only", n);
}

/* ------------------------------------------------------------------ walking the kernel half */

typedef struct {
    DumpMapFn fn;
    void     *user;
    uint64_t  va, pfn, n;  /* pending run of contiguous 4 KiB leaves */
    GHashTable *seen;
    uint64_t  tables;
    bool      capped;
} Walk;

static void emit(EtlDump *d, Walk *w, uint64_t va, uint64_t pfn, uint64_t n)
{
    if (w->n && w->va + (w->n << DUMP_PAGE_SHIFT) == va && w->pfn + w->n == pfn) {
        w->n += n;
        return;
    }
    if (w->n) w->fn(d, w->va, w->pfn, w->n, w->user);
    w->va = va;
    w->pfn = pfn;
    w->n = n;
}

/* Copy a table page (the cache slot may be reused by deeper levels); false if missing, seen
 * before (loops, shared tables) or over the cap. */
static bool table(EtlDump *d, Walk *w, uint64_t pfn, uint8_t *out)
{
    if (w->tables >= MAX_TABLE_PAGES) {
        w->capped = true;
        return false;
    }
    if (!g_hash_table_add(w->seen, GSIZE_TO_POINTER((gsize)pfn + 1))) return false;
    const uint8_t *p = dump_page_cached(d, pfn);
    if (!p) return false;
    memcpy(out, p, DUMP_PAGE);
    w->tables++;
    d->stats.table_pages++;
    if (!(w->tables & 0x3FF)) dump_progress(d, "page tables", w->tables, 0);
    return true;
}

static void walk_x64(EtlDump *d, Walk *w)
{
    uint8_t *t4 = g_malloc(4 * DUMP_PAGE), *t3 = t4 + DUMP_PAGE, *t2 = t3 + DUMP_PAGE, *t1 = t2 + DUMP_PAGE;
    if (table(d, w, d->info.dtb >> DUMP_PAGE_SHIFT, t4)) {
        for (int i4 = 256; i4 < 512; i4++) {
            uint64_t e4 = etl_rd64(t4 + 8 * i4);
            if (!(e4 & PTE_P) || i4 == d->selfmap_index) continue;
            if (!table(d, w, (e4 & MASK_4K) >> DUMP_PAGE_SHIFT, t3)) continue;
            uint64_t va4 = UINT64_C(0xFFFF000000000000) | (uint64_t)i4 << 39;
            for (int i3 = 0; i3 < 512; i3++) {
                uint64_t e3 = etl_rd64(t3 + 8 * i3), va3 = va4 | (uint64_t)i3 << 30;
                if (!(e3 & PTE_P)) continue;
                if (e3 & PTE_PS) {
                    emit(d, w, va3, (e3 & MASK_1G) >> DUMP_PAGE_SHIFT, UINT64_C(1) << 18);
                    continue;
                }
                if (!table(d, w, (e3 & MASK_4K) >> DUMP_PAGE_SHIFT, t2)) continue;
                for (int i2 = 0; i2 < 512; i2++) {
                    uint64_t e2 = etl_rd64(t2 + 8 * i2), va2 = va3 | (uint64_t)i2 << 21;
                    if (!(e2 & PTE_P)) continue;
                    if (e2 & PTE_PS) {
                        emit(d, w, va2, (e2 & MASK_2M) >> DUMP_PAGE_SHIFT, 512);
                        continue;
                    }
                    if (!table(d, w, (e2 & MASK_4K) >> DUMP_PAGE_SHIFT, t1)) continue;
                    for (int i1 = 0; i1 < 512; i1++) {
                        uint64_t e1 = etl_rd64(t1 + 8 * i1);
                        if (e1 & PTE_P) emit(d, w, va2 | (uint64_t)i1 << 12, (e1 & MASK_4K) >> DUMP_PAGE_SHIFT, 1);
                    }
                }
            }
        }
    }
    g_free(t4);
}

static void walk_pae(EtlDump *d, Walk *w)
{
    uint8_t *t2 = g_malloc(2 * DUMP_PAGE), *t1 = t2 + DUMP_PAGE;
    uint8_t pdpt[32];
    if (dump_phys_read(d, d->info.dtb, pdpt, 32)) {
        for (int i3 = 2; i3 < 4; i3++) {
            uint64_t e3 = etl_rd64(pdpt + 8 * i3);
            if (!(e3 & PTE_P) || !table(d, w, (e3 & MASK_4K) >> DUMP_PAGE_SHIFT, t2)) continue;
            for (int i2 = 0; i2 < 512; i2++) {
                uint64_t e2 = etl_rd64(t2 + 8 * i2), va2 = (uint64_t)i3 << 30 | (uint64_t)i2 << 21;
                if (!(e2 & PTE_P)) continue;
                if (va2 >= 0xC0000000u && va2 < 0xC0800000u) continue; /* the page-table self-map */
                if (e2 & PTE_PS) {
                    emit(d, w, va2, (e2 & MASK_2M) >> DUMP_PAGE_SHIFT, 512);
                    continue;
                }
                if (!table(d, w, (e2 & MASK_4K) >> DUMP_PAGE_SHIFT, t1)) continue;
                for (int i1 = 0; i1 < 512; i1++) {
                    uint64_t e1 = etl_rd64(t1 + 8 * i1);
                    if (e1 & PTE_P) emit(d, w, va2 | (uint64_t)i1 << 12, (e1 & MASK_4K) >> DUMP_PAGE_SHIFT, 1);
                }
            }
        }
    }
    g_free(t2);
}

static void walk_x86(EtlDump *d, Walk *w)
{
    uint8_t *t2 = g_malloc(2 * DUMP_PAGE), *t1 = t2 + DUMP_PAGE;
    if (table(d, w, d->info.dtb >> DUMP_PAGE_SHIFT, t2)) {
        for (int i2 = 512; i2 < 1024; i2++) {
            uint64_t e2 = etl_rd32(t2 + 4 * i2), va2 = (uint64_t)i2 << 22;
            if (!(e2 & PTE_P)) continue;
            if (va2 == 0xC0000000u) continue; /* the page-table self-map */
            if (e2 & PTE_PS) {
                uint64_t pa = (e2 & 0xFFC00000u) | (((e2 >> 13) & 0xFF) << 32);
                emit(d, w, va2, pa >> DUMP_PAGE_SHIFT, 1024);
                continue;
            }
            if (!table(d, w, (e2 & 0xFFFFF000u) >> DUMP_PAGE_SHIFT, t1)) continue;
            for (int i1 = 0; i1 < 1024; i1++) {
                uint64_t e1 = etl_rd32(t1 + 4 * i1);
                if (e1 & PTE_P) emit(d, w, va2 | (uint64_t)i1 << 12, (e1 & 0xFFFFF000u) >> DUMP_PAGE_SHIFT, 1);
            }
        }
    }
    g_free(t2);
}

void dump_walk_kernel(EtlDump *d, DumpMapFn fn, void *user)
{
    Walk w = { .fn = fn, .user = user, .seen = g_hash_table_new(g_direct_hash, g_direct_equal) };
    switch (d->info.paging) {
    case ETL_DUMP_PAGING_X64: walk_x64(d, &w); break;
    case ETL_DUMP_PAGING_PAE: walk_pae(d, &w); break;
    case ETL_DUMP_PAGING_X86: walk_x86(d, &w); break;
    default: break;
    }
    if (w.n) fn(d, w.va, w.pfn, w.n, user);
    if (w.capped)
        dump_diag(d, ETL_DUMP_DIAG_PAGING, 0x10, 0, d->info.dtb, -1,
                  "page-table walk stopped after %u table pages; the rest of the kernel address space is not searched",
                  MAX_TABLE_PAGES);
    g_hash_table_destroy(w.seen);
}
