/* dumpfile.c — crash-dump containers: detection, header, physical page → file offset.
 *
 * DUMP_EXTRACT.md §1: DUMP_HEADER64 (PAGEDU64, 0x2000 bytes) and DUMP_HEADER32 (PAGEDUMP,
 * 0x1000 bytes); full dumps store the pages of PhysicalMemoryBlock's runs one run after the
 * other right after the header; bitmap dumps (SDMP/FDMP after the header) store the pages
 * whose bit is set, in PFN order, from FirstPage.  A file without a dump signature is read as a
 * raw physical image (offset = physical address).
 *
 * Reads: structures (page tables, logger contexts, KUSER_SHARED_DATA) are copied into a small
 * page cache and their mapping pages released at once; the sequential scan releases what it
 * has read as it goes.  Resident memory therefore stays small whatever the dump size.
 */
#include "dump-private.h"

#include <stdarg.h>
#include <stdio.h>

#define SIG_PAGE 0x45474150u /* "PAGE" */
#define SIG_DU64 0x34365544u /* "DU64" */
#define SIG_DUMP 0x504D5544u /* "DUMP" */
#define SIG_SDMP 0x504D4453u /* "SDMP" */
#define SIG_FDMP 0x504D4446u /* "FDMP" */
#define DEFAULT_MAX_DIAGS 64
/* Release granule for random reads: the kernel maps neighbouring cached pages on a fault
 * (64 KiB fault-around), so that is what must be given back. */
#define RELEASE_WINDOW (64u << 10)

/* ------------------------------------------------------------------ diagnostics */

static const char *const diag_names[ETL_DUMP_DIAG_COUNT_] = {
    [ETL_DUMP_DIAG_CONTAINER] = "container",
    [ETL_DUMP_DIAG_PAGE_MISSING] = "page-missing",
    [ETL_DUMP_DIAG_PAGING] = "paging",
    [ETL_DUMP_DIAG_DISCOVERY] = "discovery",
    [ETL_DUMP_DIAG_BUFFER] = "buffer",
    [ETL_DUMP_DIAG_DUPLICATE] = "duplicate",
};

const char *etl_dump_diag_code_name(EtlDumpDiagCode c)
{
    return (unsigned)c < ETL_DUMP_DIAG_COUNT_ ? diag_names[c] : "?";
}

char *etl_dump_diag_format(const EtlDumpDiag *d)
{
    GString *s = g_string_new(d->detail);
    g_string_append_printf(s, ": offset=0x%" G_GINT64_MODIFIER "x", d->file_offset);
    if (d->va) g_string_append_printf(s, ", va=0x%" G_GINT64_MODIFIER "x", d->va);
    if (d->pa != UINT64_MAX) g_string_append_printf(s, ", pa=0x%" G_GINT64_MODIFIER "x", d->pa);
    if (d->logger_id >= 0) g_string_append_printf(s, ", logger=%d", d->logger_id);
    return g_string_free(s, FALSE);
}

void dump_diag(EtlDump *d, EtlDumpDiagCode code, uint64_t file_offset, uint64_t va, uint64_t pa,
               int32_t logger_id, const char *fmt, ...)
{
    EtlDumpDiag g = { .code = code, .file_offset = file_offset, .va = va, .pa = pa, .logger_id = logger_id };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g.detail, sizeof g.detail, fmt, ap);
    va_end(ap);
    d->stats.diagnostics++;
    d->stats.diags_by_code[code]++;
    if (d->n_diags < d->max_diags) d->diags[d->n_diags++] = g;
    if (d->opts.diag_fn) d->opts.diag_fn(&g, d->opts.diag_user);
}

void dump_progress(EtlDump *d, const char *phase, uint64_t done, uint64_t total)
{
    if (d->opts.progress_fn) d->opts.progress_fn(phase, done, total, d->opts.progress_user);
}

const EtlDumpDiag *etl_dump_diags(const EtlDump *d, uint32_t *n)
{
    *n = d->n_diags;
    return d->diags;
}

const EtlDumpStats *etl_dump_stats(const EtlDump *d) { return &d->stats; }
const EtlDumpInfo *etl_dump_info(const EtlDump *d) { return &d->info; }

const char *etl_dump_container_name(const EtlDump *d)
{
    switch (d->info.container) {
    case ETL_DUMP_FULL: return d->info.is64 ? "full dump (PAGEDU64)" : "full dump (PAGEDUMP)";
    case ETL_DUMP_BITMAP:
        if (d->info.bitmap_signature == SIG_FDMP)
            return d->info.is64 ? "bitmap dump (PAGEDU64, FDMP)" : "bitmap dump (PAGEDUMP, FDMP)";
        return d->info.is64 ? "bitmap dump (PAGEDU64, SDMP)" : "bitmap dump (PAGEDUMP, SDMP)";
    default: return "raw physical memory image";
    }
}

/* ------------------------------------------------------------------ physical pages */

static uint64_t popcount64(uint64_t v) { return (uint64_t)__builtin_popcountll(v); }

static uint64_t bitmap_word(const EtlDump *d, uint64_t w)
{
    /* the last word may be partial: read byte by byte within the bitmap's length */
    uint64_t nbytes = (d->bitmap_bits + 7) / 8, v = 0;
    for (unsigned b = 0; b < 8; b++) {
        uint64_t i = w * 8 + b;
        if (i < nbytes) v |= (uint64_t)d->bitmap[i] << (8 * b);
    }
    uint64_t lo = w * 64;
    if (lo + 64 > d->bitmap_bits) {
        uint64_t keep = d->bitmap_bits - lo;
        v &= keep >= 64 ? UINT64_MAX : ((UINT64_C(1) << keep) - 1);
    }
    return v;
}

static inline uint64_t bitmap_word_fast(const EtlDump *d, uint64_t w)
{
    if ((w + 1) * 64 <= d->bitmap_bits) return etl_rd64(d->bitmap + w * 8);
    return bitmap_word(d, w);
}

uint64_t dump_pfn_offset(EtlDump *d, uint64_t pfn, bool *beyond_eof)
{
    uint64_t off = DUMP_NO_OFFSET;
    if (beyond_eof) *beyond_eof = false;
    switch (d->info.container) {
    case ETL_DUMP_RAW:
        if (pfn < DUMP_MAX_PFN) off = pfn << DUMP_PAGE_SHIFT;
        break;
    case ETL_DUMP_FULL: {
        uint32_t lo = 0, hi = d->n_runs;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (d->runs[mid].base + d->runs[mid].count <= pfn) lo = mid + 1;
            else hi = mid;
        }
        if (lo < d->n_runs && d->runs[lo].base <= pfn)
            off = d->pages_off + ((d->runs[lo].index + (pfn - d->runs[lo].base)) << DUMP_PAGE_SHIFT);
        break;
    }
    case ETL_DUMP_BITMAP: {
        if (pfn >= d->bitmap_bits) break;
        uint64_t w = pfn / 64;
        uint64_t word = bitmap_word_fast(d, w);
        if (!(word >> (pfn % 64) & 1)) break;
        uint64_t rank = d->rank[w / 8];
        for (uint64_t k = w / 8 * 8; k < w; k++) rank += popcount64(bitmap_word_fast(d, k));
        rank += popcount64(word & ((UINT64_C(1) << (pfn % 64)) - 1));
        off = d->first_page_off + (rank << DUMP_PAGE_SHIFT);
        break;
    }
    }
    if (off == DUMP_NO_OFFSET) return off;
    uint64_t fsize = d->info.file_size;
    if (off > fsize || fsize - off < DUMP_PAGE) {
        if (beyond_eof && d->info.container != ETL_DUMP_RAW) *beyond_eof = true;
        return DUMP_NO_OFFSET;
    }
    return off;
}

uint64_t etl_dump_phys_to_file(EtlDump *d, uint64_t pa)
{
    uint64_t off = dump_pfn_offset(d, pa >> DUMP_PAGE_SHIFT, NULL);
    return off == DUMP_NO_OFFSET ? off : off + (pa & (DUMP_PAGE - 1));
}

static void release_window(EtlDump *d, uint64_t off)
{
    uint64_t a = off / RELEASE_WINDOW * RELEASE_WINDOW;
    uint64_t len = MIN((uint64_t)RELEASE_WINDOW, d->info.file_size - a);
    etl_source_release(d->src, a, (size_t)len);
}

const uint8_t *dump_page_map(EtlDump *d, uint64_t pfn, uint64_t *file_offset)
{
    uint64_t off = dump_pfn_offset(d, pfn, NULL);
    if (file_offset) *file_offset = off;
    if (off == DUMP_NO_OFFSET) return NULL;
    return etl_source_get(d->src, off, DUMP_PAGE);
}

void dump_page_release(EtlDump *d, uint64_t file_offset)
{
    if (file_offset != DUMP_NO_OFFSET) release_window(d, file_offset);
}

const uint8_t *dump_page_cached(EtlDump *d, uint64_t pfn)
{
    /* direct-mapped, with a second probe to keep two hot pages of colliding PFNs */
    uint32_t h = (uint32_t)((pfn * UINT64_C(0x9E3779B97F4A7C15)) >> 58) % DUMP_CACHE_PAGES;
    DumpCachePage *a = &d->cache[h], *b = &d->cache[(h + 1) % DUMP_CACHE_PAGES];
    if (a->used && a->pfn == pfn) return a->data;
    if (b->used && b->pfn == pfn) return b->data;
    uint64_t off;
    const uint8_t *p = dump_page_map(d, pfn, &off);
    if (!p) return NULL;
    DumpCachePage *slot = !a->used ? a : !b->used ? b : ((pfn & 1) ? b : a);
    memcpy(slot->data, p, DUMP_PAGE);
    slot->pfn = pfn;
    slot->used = true;
    release_window(d, off);
    return slot->data;
}

bool dump_phys_read(EtlDump *d, uint64_t pa, void *out, size_t len)
{
    uint8_t *o = out;
    while (len) {
        uint64_t pfn = pa >> DUMP_PAGE_SHIFT;
        size_t in = DUMP_PAGE - (size_t)(pa & (DUMP_PAGE - 1));
        size_t n = MIN(in, len);
        const uint8_t *p = dump_page_cached(d, pfn);
        if (!p) return false;
        memcpy(o, p + (pa & (DUMP_PAGE - 1)), n);
        o += n;
        pa += n;
        len -= n;
    }
    return true;
}

bool etl_dump_read_phys(EtlDump *d, uint64_t pa, void *out, size_t len)
{
    return dump_phys_read(d, pa, out, len);
}

/* ------------------------------------------------------------------ sequential pass */

/* Give back what the pass has read every so often (the source coalesces and batches it). */
#define PASS_RELEASE (1u << 20)

static void pass_page(EtlDump *d, uint64_t pfn, uint64_t off, DumpPageFn fn, void *user, bool *stop,
                      uint64_t *released)
{
    const uint8_t *p = etl_source_get(d->src, off, DUMP_PAGE);
    if (!p) return;
    if (!fn(d, pfn, off, p, user)) *stop = true;
    if (off + DUMP_PAGE - *released >= PASS_RELEASE) {
        etl_source_release(d->src, *released, (size_t)(off + DUMP_PAGE - *released));
        *released = off + DUMP_PAGE;
    }
}

void dump_for_each_page(EtlDump *d, DumpPageFn fn, void *user)
{
    uint64_t fsize = d->info.file_size, released = 0;
    bool stop = false;
    uint64_t done = 0;
    switch (d->info.container) {
    case ETL_DUMP_RAW: {
        uint64_t n = fsize / DUMP_PAGE;
        released = 0;
        for (uint64_t pfn = 0; pfn < n && !stop; pfn++) {
            pass_page(d, pfn, pfn << DUMP_PAGE_SHIFT, fn, user, &stop, &released);
            if (!(pfn & 0x3FFF)) dump_progress(d, "scanning", pfn << DUMP_PAGE_SHIFT, fsize);
        }
        break;
    }
    case ETL_DUMP_FULL: {
        /* file order = the header's run order */
        DumpRun *order = g_memdup2(d->runs, sizeof(DumpRun) * d->n_runs);
        for (uint32_t i = 1; i < d->n_runs; i++) { /* insertion sort by index (few runs) */
            DumpRun r = order[i];
            uint32_t j = i;
            while (j > 0 && order[j - 1].index > r.index) { order[j] = order[j - 1]; j--; }
            order[j] = r;
        }
        released = d->pages_off;
        for (uint32_t i = 0; i < d->n_runs && !stop; i++) {
            for (uint64_t k = 0; k < order[i].count && !stop; k++) {
                uint64_t off = d->pages_off + ((order[i].index + k) << DUMP_PAGE_SHIFT);
                if (off > fsize || fsize - off < DUMP_PAGE) { stop = true; break; }
                pass_page(d, order[i].base + k, off, fn, user, &stop, &released);
                if (!(++done & 0x3FFF)) dump_progress(d, "scanning", off, fsize);
            }
        }
        g_free(order);
        break;
    }
    case ETL_DUMP_BITMAP: {
        uint64_t words = (d->bitmap_bits + 63) / 64, rank = 0;
        released = d->first_page_off;
        for (uint64_t w = 0; w < words && !stop; w++) {
            uint64_t v = bitmap_word_fast(d, w);
            while (v && !stop) {
                unsigned b = (unsigned)__builtin_ctzll(v);
                v &= v - 1;
                uint64_t off = d->first_page_off + (rank++ << DUMP_PAGE_SHIFT);
                if (off > fsize || fsize - off < DUMP_PAGE) { stop = true; break; }
                pass_page(d, w * 64 + b, off, fn, user, &stop, &released);
                if (!(rank & 0x3FFF)) dump_progress(d, "scanning", off, fsize);
            }
        }
        break;
    }
    }
    if (fsize > released) etl_source_release(d->src, released, (size_t)(fsize - released));
    dump_progress(d, "scanning", fsize, fsize);
}

/* ------------------------------------------------------------------ opening */

static int run_cmp(const void *a, const void *b)
{
    const DumpRun *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

/* Runs of a full dump: n entries of (base, count), u64 or u32 fields. */
static bool parse_runs(EtlDump *d, const uint8_t *h, uint64_t runs_at, uint32_t max_runs, bool wide,
                       GError **error)
{
    const char *name = etl_source_name(d->src);
    uint64_t count_at = runs_at - (wide ? 0x10 : 0x8);
    uint32_t n = etl_rd32(h + count_at);
    uint64_t npages = wide ? etl_rd64(h + count_at + 8) : etl_rd32(h + count_at + 4);
    if (n == 0 || n == SIG_PAGE || n > max_runs) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "%s: full dump with an unusable PhysicalMemoryBlock: NumberOfRuns %u at offset 0x%" G_GINT64_MODIFIER
                    "x (expected 1..%u)", name, n, count_at, max_runs);
        return false;
    }
    d->runs = g_new0(DumpRun, n);
    uint64_t index = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *r = h + runs_at + (uint64_t)i * (wide ? 16 : 8);
        uint64_t base = wide ? etl_rd64(r) : etl_rd32(r);
        uint64_t cnt = wide ? etl_rd64(r + 8) : etl_rd32(r + 4);
        if (cnt == 0) continue;
        if (base >= DUMP_MAX_PFN || cnt > DUMP_MAX_PFN - base) {
            g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                        "%s: physical memory run %u at offset 0x%" G_GINT64_MODIFIER "x is impossible (base page 0x%"
                        G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT " pages)", name, i,
                        (uint64_t)(r - h), base, cnt);
            return false;
        }
        d->runs[d->n_runs++] = (DumpRun){ base, cnt, index };
        index += cnt;
    }
    if (!d->n_runs) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: full dump whose runs hold no page (offset 0x%"
                    G_GINT64_MODIFIER "x)", name, runs_at);
        return false;
    }
    qsort(d->runs, d->n_runs, sizeof(DumpRun), run_cmp);
    for (uint32_t i = 1; i < d->n_runs; i++) {
        if (d->runs[i].base < d->runs[i - 1].base + d->runs[i - 1].count) {
            g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                        "%s: physical memory runs overlap at page 0x%" G_GINT64_MODIFIER "x (PhysicalMemoryBlock at offset 0x%"
                        G_GINT64_MODIFIER "x)", name, d->runs[i].base, count_at);
            return false;
        }
    }
    d->info.pages_stored = index;
    d->info.max_pfn = d->runs[d->n_runs - 1].base + d->runs[d->n_runs - 1].count;
    if (npages != index)
        dump_diag(d, ETL_DUMP_DIAG_CONTAINER, count_at, 0, UINT64_MAX, -1,
                  "PhysicalMemoryBlock says %" G_GUINT64_FORMAT " pages, its runs hold %" G_GUINT64_FORMAT,
                  npages, index);
    return true;
}

static bool parse_bitmap(EtlDump *d, uint64_t at, GError **error)
{
    const char *name = etl_source_name(d->src);
    uint64_t fsize = d->info.file_size;
    const uint8_t *b = etl_source_get(d->src, at, 0x38);
    if (!b) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: bitmap dump truncated in its bitmap header (offset 0x%"
                    G_GINT64_MODIFIER "x, file %" G_GUINT64_FORMAT " bytes)", name, at, fsize);
        return false;
    }
    d->info.bitmap_signature = etl_rd32(b);
    uint64_t first = etl_rd64(b + 0x20), present = etl_rd64(b + 0x28), bits = etl_rd64(b + 0x30);
    if (bits == 0 || bits > DUMP_MAX_PFN) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: bitmap dump with an impossible bitmap size of %"
                    G_GUINT64_FORMAT " pages (offset 0x%" G_GINT64_MODIFIER "x)", name, bits, at + 0x30);
        return false;
    }
    uint64_t nbytes = (bits + 7) / 8;
    if (at + 0x38 > fsize || nbytes > fsize - (at + 0x38)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: bitmap dump truncated inside its bitmap (%" G_GUINT64_FORMAT
                    " bytes from offset 0x%" G_GINT64_MODIFIER "x, file %" G_GUINT64_FORMAT " bytes)",
                    name, nbytes, at + 0x38, fsize);
        return false;
    }
    if (first < at + 0x38 + nbytes || first >= DUMP_MAX_PFN << DUMP_PAGE_SHIFT) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: bitmap dump's first page offset 0x%" G_GINT64_MODIFIER
                    "x (at offset 0x%" G_GINT64_MODIFIER "x) lies inside its bitmap", name, first, at + 0x20);
        return false;
    }
    if (first % DUMP_PAGE)
        dump_diag(d, ETL_DUMP_DIAG_CONTAINER, at + 0x20, 0, UINT64_MAX, -1,
                  "bitmap dump's first page offset 0x%" G_GINT64_MODIFIER "x is not page-aligned", first);
    d->bitmap = etl_source_get(d->src, at + 0x38, (size_t)nbytes);
    d->bitmap_bits = bits;
    d->first_page_off = first;
    uint64_t words = (bits + 63) / 64;
    d->rank = g_new(uint64_t, words / 8 + 1);
    uint64_t total = 0;
    for (uint64_t w = 0; w < words; w++) {
        if (w % 8 == 0) d->rank[w / 8] = total;
        total += popcount64(bitmap_word_fast(d, w));
    }
    if (words % 8 == 0) d->rank[words / 8] = total;
    d->info.pages_stored = total;
    d->info.max_pfn = bits;
    if (present != total)
        dump_diag(d, ETL_DUMP_DIAG_CONTAINER, at + 0x28, 0, UINT64_MAX, -1,
                  "bitmap header says %" G_GUINT64_FORMAT " pages present, the bitmap has %" G_GUINT64_FORMAT,
                  present, total);
    return true;
}

static bool looks_like_etl(const uint8_t *p, uint64_t size)
{
    if (size < 0x48 + 0x20) return false;
    const uint8_t *e = p + 0x48;
    return (e[2] == 0x01 || e[2] == 0x02) && e[3] == 0xC0 && etl_rd16(e + 6) == 0;
}

/* The end of the stored pages; compared with the file size and RequiredDumpSpace. */
static void check_truncation(EtlDump *d, uint64_t req_field_off)
{
    uint64_t end;
    if (d->info.container == ETL_DUMP_FULL) end = d->pages_off + (d->info.pages_stored << DUMP_PAGE_SHIFT);
    else if (d->info.container == ETL_DUMP_BITMAP) end = d->first_page_off + (d->info.pages_stored << DUMP_PAGE_SHIFT);
    else return;
    uint64_t fsize = d->info.file_size;
    if (fsize < end) {
        uint64_t start = d->info.container == ETL_DUMP_FULL ? d->pages_off : d->first_page_off;
        uint64_t held = fsize > start ? (fsize - start) >> DUMP_PAGE_SHIFT : 0;
        d->info.truncated = true;
        d->info.pages_missing = d->info.pages_stored - MIN(held, d->info.pages_stored);
        dump_diag(d, ETL_DUMP_DIAG_CONTAINER, fsize, 0, UINT64_MAX, -1,
                  "dump is truncated: the file ends at %" G_GUINT64_FORMAT " bytes, its pages end at %" G_GUINT64_FORMAT
                  "; %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " pages are missing",
                  fsize, end, d->info.pages_missing, d->info.pages_stored);
    } else if (d->info.required_size && d->info.required_size != (uint64_t)-1 && d->info.required_size > fsize &&
               d->info.required_size != end) {
        d->info.truncated = true;
        dump_diag(d, ETL_DUMP_DIAG_CONTAINER, req_field_off, 0, UINT64_MAX, -1,
                  "file is %" G_GUINT64_FORMAT " bytes, RequiredDumpSpace says %" G_GUINT64_FORMAT,
                  fsize, d->info.required_size);
    }
}

static bool open_header64(EtlDump *d, const uint8_t *h, GError **error)
{
    const char *name = etl_source_name(d->src);
    EtlDumpInfo *in = &d->info;
    in->is64 = true;
    d->psize = 8;
    in->major_version = etl_rd32(h + 0x08);
    in->minor_version = etl_rd32(h + 0x0C);
    d->info.dtb = etl_rd64(h + 0x10);
    in->machine = etl_rd32(h + 0x30);
    in->cpus = etl_rd32(h + 0x34);
    in->bugcheck = etl_rd32(h + 0x38);
    for (int i = 0; i < 4; i++) in->bugcheck_params[i] = etl_rd64(h + 0x40 + 8 * i);
    in->kdbg_va = etl_rd64(h + 0x80);
    in->dump_type = etl_rd32(h + 0xF98);
    in->required_size = etl_rd64(h + 0xFA0);
    in->system_time = (int64_t)etl_rd64(h + 0xFA8);
    in->system_uptime = (int64_t)etl_rd64(h + 0x1030);
    if (in->machine == 0xAA64 || in->machine == 0x1C4 || in->machine == 0x14C) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "%s: 64-bit dump of machine type 0x%x (offset 0x30): only x64 (0x8664) dumps are supported",
                    name, in->machine);
        return false;
    }
    if (in->machine != 0x8664)
        dump_diag(d, ETL_DUMP_DIAG_CONTAINER, 0x30, 0, UINT64_MAX, -1,
                  "unexpected machine type 0x%x in a PAGEDU64 header; read as x64", in->machine);
    if (in->cpus == SIG_PAGE || in->cpus > 4096) in->cpus = 0;
    if (in->system_time == (int64_t)0x4547415045474150ll) in->system_time = 0;
    if (in->system_uptime == (int64_t)0x4547415045474150ll) in->system_uptime = 0;
    if (in->required_size == UINT64_C(0x4547415045474150)) in->required_size = 0;
    if (in->kdbg_va == UINT64_C(0x4547415045474150)) in->kdbg_va = 0;

    const uint8_t *sub = etl_source_get(d->src, 0x2000, 8);
    uint32_t s0 = sub ? etl_rd32(sub) : 0, s1 = sub ? etl_rd32(sub + 4) : 0;
    if ((s0 == SIG_SDMP || s0 == SIG_FDMP) && s1 == SIG_DUMP) {
        in->container = ETL_DUMP_BITMAP;
        if (!parse_bitmap(d, 0x2000, error)) return false;
    } else if (in->dump_type == 1) {
        in->container = ETL_DUMP_FULL;
        d->pages_off = 0x2000;
        if (!parse_runs(d, h, 0x98, 43, true, error)) return false;
    } else {
        const char *what;
        switch (in->dump_type) {
        case 2: what = "a legacy summary dump (DumpType 2), which is not supported"; break;
        case 3: what = "a header-only dump (DumpType 3): it holds no memory"; break;
        case 4: what = "a triage (mini) dump (DumpType 4): it holds no physical memory"; break;
        case 5: case 6: what = "a bitmap dump without its SDMP/FDMP header at offset 0x2000"; break;
        case 8: case 9: case 0xA: what = "an RDMP dump (DumpType 8-10), which is not supported"; break;
        default: what = "a dump of an unknown type"; break;
        }
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: %s (DumpType %u at offset 0xf98)", name, what, in->dump_type);
        return false;
    }
    check_truncation(d, 0xFA0);
    return true;
}

static bool open_header32(EtlDump *d, const uint8_t *h, GError **error)
{
    const char *name = etl_source_name(d->src);
    EtlDumpInfo *in = &d->info;
    in->is64 = false;
    d->psize = 4;
    in->major_version = etl_rd32(h + 0x08);
    in->minor_version = etl_rd32(h + 0x0C);
    d->info.dtb = etl_rd32(h + 0x10);
    in->machine = etl_rd32(h + 0x20);
    in->cpus = etl_rd32(h + 0x24);
    in->bugcheck = etl_rd32(h + 0x28);
    for (int i = 0; i < 4; i++) in->bugcheck_params[i] = etl_rd32(h + 0x2C + 4 * i);
    in->kdbg_va = etl_rd32(h + 0x60);
    in->dump_type = etl_rd32(h + 0xF88);
    in->required_size = etl_rd64(h + 0xFA0);
    in->system_uptime = (int64_t)etl_rd64(h + 0xFB8);
    in->system_time = (int64_t)etl_rd64(h + 0xFC0);
    if (in->machine != 0x14C && in->machine != SIG_PAGE) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "%s: 32-bit dump of machine type 0x%x (offset 0x20): only x86 (0x14c) dumps are supported", name,
                    in->machine);
        return false;
    }
    if (in->cpus == SIG_PAGE || in->cpus > 4096) in->cpus = 0;
    if (in->kdbg_va == SIG_PAGE) in->kdbg_va = 0;
    if (in->system_time == (int64_t)0x4547415045474150ll) in->system_time = 0;
    if (in->system_uptime == (int64_t)0x4547415045474150ll) in->system_uptime = 0;
    if (in->required_size == UINT64_C(0x4547415045474150)) in->required_size = 0;
    d->info.paging = h[0x5C] == 1 ? ETL_DUMP_PAGING_PAE : ETL_DUMP_PAGING_X86;

    const uint8_t *sub = etl_source_get(d->src, 0x1000, 8);
    uint32_t s0 = sub ? etl_rd32(sub) : 0, s1 = sub ? etl_rd32(sub + 4) : 0;
    if ((s0 == SIG_SDMP || s0 == SIG_FDMP) && s1 == SIG_DUMP) {
        in->container = ETL_DUMP_BITMAP;
        if (!parse_bitmap(d, 0x1000, error)) return false;
    } else if (in->dump_type == 1) {
        in->container = ETL_DUMP_FULL;
        d->pages_off = 0x1000;
        if (!parse_runs(d, h, 0x6C, 86, false, error)) return false;
    } else {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "%s: 32-bit dump of type %u (offset 0xf88) holds no physical memory this reader supports "
                    "(full dumps, type 1, and bitmap dumps are)", name, in->dump_type);
        return false;
    }
    check_truncation(d, 0xFA0);
    return true;
}

EtlDump *etl_dump_open(EtlSource *src, const EtlDumpOptions *opts, GError **error)
{
    const char *name = etl_source_name(src);
    uint64_t fsize = etl_source_size(src);
    if (fsize == 0) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_EMPTY, "%s is empty (0 bytes): not a crash dump", name);
        etl_source_free(src);
        return NULL;
    }
    EtlDump *d = g_new0(EtlDump, 1);
    d->src = src;
    if (opts) d->opts = *opts;
    d->max_diags = d->opts.max_diags ? d->opts.max_diags : DEFAULT_MAX_DIAGS;
    d->diags = g_new0(EtlDumpDiag, d->max_diags);
    d->info.file_size = fsize;
    d->selfmap_index = -1;
    d->cache = g_new0(DumpCachePage, DUMP_CACHE_PAGES);
    d->bufs = g_array_new(FALSE, FALSE, sizeof(DumpBuf));
    d->cands = g_array_new(FALSE, FALSE, sizeof(DumpCand));
    d->groups = g_array_new(FALSE, FALSE, sizeof(DumpGroup));

    const uint8_t *h8 = etl_source_get(src, 0, (size_t)MIN(fsize, (uint64_t)8));
    uint32_t sig = fsize >= 8 ? etl_rd32(h8) : 0, valid = fsize >= 8 ? etl_rd32(h8 + 4) : 0;
    bool ok;
    if (sig == SIG_PAGE && valid == SIG_DU64) {
        const uint8_t *h = etl_source_get(src, 0, 0x2000);
        if (!h) {
            g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: 64-bit crash dump truncated inside its 8 KiB header (%"
                        G_GUINT64_FORMAT " bytes)", name, fsize);
            ok = false;
        } else {
            ok = open_header64(d, h, error);
        }
    } else if (sig == SIG_PAGE && valid == SIG_DUMP) {
        const uint8_t *h = etl_source_get(src, 0, 0x1000);
        if (!h) {
            g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT, "%s: 32-bit crash dump truncated inside its 4 KiB header (%"
                        G_GUINT64_FORMAT " bytes)", name, fsize);
            ok = false;
        } else {
            ok = open_header32(d, h, error);
        }
    } else if (sig == SIG_PAGE) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "%s: crash dump header with an unknown ValidDump signature 0x%08x at offset 0x4 (expected DU64 or DUMP)",
                    name, valid);
        ok = false;
    } else if (looks_like_etl(etl_source_get(src, 0, (size_t)MIN(fsize, (uint64_t)0x100)), fsize)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_NOT_ETL,
                    "%s is an ETL trace, not a crash dump (read it with etla info or etla dump)", name);
        ok = false;
    } else if (fsize % DUMP_PAGE || fsize < 16 * DUMP_PAGE) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_NOT_ETL,
                    "%s is not a Windows crash dump (no PAGEDU64/PAGEDUMP signature at offset 0x0) nor a raw memory "
                    "image (%" G_GUINT64_FORMAT " bytes is not a whole number of 4 KiB pages, 64 KiB or more)",
                    name, fsize);
        ok = false;
    } else {
        d->info.container = ETL_DUMP_RAW;
        d->info.is64 = true;
        d->psize = 8;
        d->info.pages_stored = fsize / DUMP_PAGE;
        d->info.max_pfn = fsize / DUMP_PAGE;
        ok = true;
    }
    if (!ok) {
        etl_dump_free(d);
        return NULL;
    }
    dump_paging_init(d);
    return d;
}

EtlDump *etl_dump_open_file(const char *path, const EtlDumpOptions *opts, GError **error)
{
    EtlSource *s = etl_source_open_file(path, error);
    if (!s) {
        /* the source says "not an ETL trace" for empty files */
        if (error && *error && (*error)->code == ETL_ERROR_EMPTY) {
            g_clear_error(error);
            g_set_error(error, ETL_ERROR, ETL_ERROR_EMPTY, "%s is empty (0 bytes): not a crash dump", path);
        }
        return NULL;
    }
    return etl_dump_open(s, opts, error);
}

void etl_dump_free(EtlDump *d)
{
    if (!d) return;
    dump_groups_free(d);
    etl_source_free(d->src);
    g_free(d->runs);
    g_free(d->rank);
    g_free(d->cache);
    g_free(d->diags);
    g_free(d->seen_tables);
    g_free(d->scratch);
    if (d->dtb_cands) g_array_free(d->dtb_cands, TRUE);
    if (d->cands) g_array_free(d->cands, TRUE);
    if (d->bufs) g_array_free(d->bufs, TRUE);
    if (d->groups) g_array_free(d->groups, TRUE);
    g_free(d);
}
