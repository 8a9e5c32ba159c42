/* carve.c — finding ETW buffers in a dump: the scan, validation, grouping, ordering, de-dup.
 *
 * DUMP_EXTRACT.md §4.  One sequential pass over the stored pages tests the WMI_BUFFER_HEADER
 * predicates of §4.1 at offset 0 of every page (buffers are page-aligned nonpaged pool) and
 * keeps the pages that pass.  One walk of the kernel page tables then tells which kernel VA maps
 * each of them, and every candidate is read through the page tables — buffers are virtually,
 * not physically, contiguous — and validated event by event with the reader's own parser
 * (etl_event_parse).  Buffers listed by a discovered logger (discover.c) go through the same
 * validation.  The sequential pass keeps the I/O sequential even for a dump larger than RAM;
 * only candidate buffers and page-table pages are read at random.
 *
 * A candidate whose GlobalEntry neighbours point back at it ("linked") is a live buffer of its
 * logger; one whose neighbours point elsewhere is a stale copy (freed pool, an old buffer of a
 * stopped session that had the same logger id).  Stale copies are dropped when their group has
 * live buffers.  Physical pages no kernel VA maps are ignored when page tables are usable
 * (they are free memory); without page tables (a raw image whose page directory was not found)
 * they are all there is, and only their first page can be trusted.
 */
#include "dump-private.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ predicates (§4.1) */

bool dump_buffer_predicates(const EtlDump *d, const uint8_t *p, size_t avail, EtlBufferHeader *h)
{
    if (avail < ETL_BUFFER_HEADER_SIZE + 8) return false;
    uint32_t bs = etl_rd32(p);
    /* cheapest rejections first: most pages fail here */
    if (bs < 0x400 || bs > DUMP_MAX_BUFFER || (bs & 0x3FF)) return false;
    uint32_t state = etl_rd32(p + 0x2C);
    if (state > 6) return false;
    etl_buffer_header_parse(p, h);
    if (h->type > 7 || (h->flags & ~0x7Fu)) return false;
    if (h->saved_offset && (h->saved_offset < ETL_BUFFER_HEADER_SIZE || h->saved_offset > bs || (h->saved_offset & 7)))
        return false;
    if (h->current_offset < ETL_BUFFER_HEADER_SIZE || h->current_offset > 2 * bs + 0x10000) return false;
    if (h->offset > bs) return false;
    int32_t refs = (int32_t)etl_rd32(p + 0x0C);
    uint32_t cpus = d->info.cpus ? d->info.cpus : 0;
    if (refs < 0 || refs > (int32_t)MAX(cpus, 64u)) return false;
    if (h->timestamp < 0 || h->sequence < 0 || h->sequence >= (INT64_C(1) << 40)) return false;
    if (h->logger_id >= 0x400) return false;
    if (cpus && cpus < 64 ? h->cpu >= cpus : h->cpu >= 0x800) return false;
    unsigned P = d->psize;
    if (!dump_is_kernel_ptr(d, etl_rdptr(p + 0x38, P)) || !dump_is_kernel_ptr(d, etl_rdptr(p + 0x38 + P, P)))
        return false;
    /* the first event's marker: TRACE_HEADER_FLAG set, unless the buffer is empty */
    uint32_t end = h->saved_offset ? h->saved_offset : MIN(h->current_offset, bs);
    if (end > ETL_BUFFER_HEADER_SIZE && !(p[ETL_BUFFER_HEADER_SIZE + 3] & 0x80)) return false;
    return true;
}

/* ------------------------------------------------------------------ reading a buffer */

static void ensure_scratch(EtlDump *d, uint32_t size)
{
    if (d->scratch_cap >= size) return;
    g_free(d->scratch);
    d->scratch_cap = MAX(size, 64u * 1024);
    d->scratch = g_malloc(d->scratch_cap);
}

/* Read size bytes of the buffer at va (physically from pfn when va is 0: first page only) into
 * d->scratch.  Returns how many bytes could be read from the start; on a missing page,
 * *miss_off is the file offset of the table entry that led to it and *miss_va its VA. */
uint32_t dump_read_buffer_image(EtlDump *d, uint64_t va, uint64_t pfn, uint32_t size, uint64_t *miss_off,
                                uint64_t *miss_va)
{
    ensure_scratch(d, size);
    if (!va) {
        uint64_t off;
        const uint8_t *p = dump_page_map(d, pfn, &off);
        if (!p) {
            *miss_off = 0;
            *miss_va = 0;
            return 0;
        }
        uint32_t n = MIN(size, DUMP_PAGE);
        memcpy(d->scratch, p, n);
        dump_page_release(d, off);
        return n;
    }
    uint32_t done = 0;
    while (done < size) {
        uint64_t v = va + done, pa, eo;
        uint32_t n = MIN(size - done, (uint32_t)(DUMP_PAGE - (v & (DUMP_PAGE - 1))));
        if (!dump_translate(d, v, &pa, NULL, &eo)) {
            *miss_off = eo;
            *miss_va = v;
            return done;
        }
        uint64_t off;
        const uint8_t *p = dump_page_map(d, pa >> DUMP_PAGE_SHIFT, &off);
        if (!p) {
            *miss_off = eo;
            *miss_va = v;
            return done;
        }
        memcpy(d->scratch + done, p + (pa & (DUMP_PAGE - 1)), n);
        dump_page_release(d, off);
        done += n;
    }
    return size;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        h ^= etl_rd64(p + i);
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ n;
}

/* Event walk (§4.2) over [0x48, limit): fills valid/events/timestamps.  *bad set when it stopped
 * at a malformed event (detail in why). */
static void walk_events(EtlDump *d, const uint8_t *b, uint32_t limit, DumpBuf *out, bool *bad, char *why, size_t whylen)
{
    uint32_t pos = ETL_BUFFER_HEADER_SIZE;
    EtlEvent ev;
    *bad = false;
    out->events = out->kernel_events = 0;
    out->first_ts = INT64_MAX;
    out->last_ts = INT64_MIN;
    while (pos + 8 <= limit) {
        EtlDiagCode code;
        int n = etl_event_parse(b + pos, limit - pos, d->psize == 8, &ev, &code, why, whylen);
        if (n == 0) break;
        if (n < 0) {
            *bad = true;
            break;
        }
        out->events++;
        if (etl_header_kind_is_kernel(ev.kind)) out->kernel_events++;
        if (ev.has_timestamp) {
            if (ev.timestamp < out->first_ts) out->first_ts = ev.timestamp;
            if (ev.timestamp > out->last_ts) out->last_ts = ev.timestamp;
        }
        pos += ((uint32_t)n + 7u) & ~7u;
    }
    out->valid = MIN(pos, limit);
}

static bool maps_to(EtlDump *d, uint64_t va, uint64_t pa)
{
    uint64_t p;
    return dump_translate(d, va, &p, NULL, NULL) && p == pa;
}

/* GlobalEntry check: the next entry's Blink and the previous entry's Flink must lead back to
 * this buffer (compared by physical address, so that an alias VA of the buffer also passes).
 * *self_va: the VA the list knows the buffer by. */
static uint8_t check_links(EtlDump *d, uint64_t first_pa, uint64_t flink, uint64_t blink, uint64_t *self_va)
{
    unsigned P = d->psize;
    if (!dump_is_kernel_ptr(d, flink) || !dump_is_kernel_ptr(d, blink)) return DUMP_LINK_BAD;
    uint64_t back = 0, fwd = 0;
    bool rb = dump_vread_ptr(d, flink + P, &back);
    bool rf = dump_vread_ptr(d, blink, &fwd);
    if (!rb && !rf) return DUMP_LINK_UNKNOWN;
    if (rb && !maps_to(d, back - 0x38, first_pa)) return DUMP_LINK_BAD;
    if (rf && !maps_to(d, fwd - 0x38, first_pa)) return DUMP_LINK_BAD;
    *self_va = (rb ? back : fwd) - 0x38;
    return rb && rf ? DUMP_LINK_OK : DUMP_LINK_UNKNOWN;
}

typedef struct {
    GHashTable *by_va;      /* buffer VA -> index + 1 in d->bufs */
    GHashTable *group_of;   /* (id << 32 | size) -> group index + 1 */
    GArray     *ctxs;       /* DumpLoggerCtx */
} ScanState;

static uint32_t group_for(EtlDump *d, ScanState *s, uint16_t id, uint32_t bs)
{
    gsize key = (gsize)id << 32 | bs;
    gpointer v = g_hash_table_lookup(s->group_of, GSIZE_TO_POINTER(key));
    if (v) return (uint32_t)(GPOINTER_TO_SIZE(v) - 1);
    DumpGroup g;
    memset(&g, 0, sizeof g);
    g.pub.logger_id = id;
    g.pub.buffer_size = bs;
    g.pub.first_ts = INT64_MAX;
    g.pub.last_ts = INT64_MIN;
    g.bufs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_val(d->groups, g);
    g_hash_table_insert(s->group_of, GSIZE_TO_POINTER(key), GSIZE_TO_POINTER((gsize)d->groups->len));
    return d->groups->len - 1;
}

static DumpGroup *group_at(EtlDump *d, uint32_t i) { return &g_array_index(d->groups, DumpGroup, i); }

/* A buffer its logger's list names that cannot be recovered: counted against the logger
 * (and written as BuffersLost). */
static void listed_lost(EtlDump *d, ScanState *s, bool listed, int32_t id, uint32_t bs)
{
    d->stats.rejected++;
    if (listed && id >= 0) group_at(d, group_for(d, s, (uint16_t)id, bs))->pub.buffers_skipped++;
}

/* Read and validate the buffer at va (listed: from a GlobalList; else carved from pfn).
 * Appends a DumpBuf when it holds events. */
static void validate(EtlDump *d, ScanState *s, uint64_t va, uint64_t pfn, uint64_t file_offset, bool listed,
                     int32_t expect_id, uint32_t expect_bs)
{
    uint64_t pa0 = pfn << DUMP_PAGE_SHIFT;
    if (va) {
        uint64_t eo;
        if (!dump_translate(d, va, &pa0, NULL, &eo)) {
            dump_diag(d, ETL_DUMP_DIAG_PAGE_MISSING, eo, va, UINT64_MAX, expect_id,
                      "listed buffer of logger %d is not mapped (its page-table entry is not present)", expect_id);
            listed_lost(d, s, listed, expect_id, expect_bs);
            return;
        }
        pfn = pa0 >> DUMP_PAGE_SHIFT;
        file_offset = etl_dump_phys_to_file(d, pa0);
        if (file_offset == DUMP_NO_OFFSET) {
            bool beyond;
            dump_pfn_offset(d, pfn, &beyond);
            dump_diag(d, ETL_DUMP_DIAG_PAGE_MISSING, eo, va, pa0, expect_id,
                      "listed buffer of logger %d: its first page is %s", expect_id,
                      beyond ? "beyond the end of the (truncated) file" : "not in the dump");
            listed_lost(d, s, listed, expect_id, expect_bs);
            return;
        }
    }
    /* header first (one page), then the whole buffer */
    uint64_t miss_off = 0, miss_va = 0;
    uint32_t got = dump_read_buffer_image(d, va, pfn, DUMP_PAGE, &miss_off, &miss_va);
    EtlBufferHeader h;
    if (got < ETL_BUFFER_HEADER_SIZE + 8 || !dump_buffer_predicates(d, d->scratch, got, &h)) {
        if (listed)
            dump_diag(d, ETL_DUMP_DIAG_BUFFER, file_offset, va, pa0, expect_id,
                      "listed buffer of logger %d rejected: implausible buffer header", expect_id);
        listed_lost(d, s, listed, expect_id, expect_bs);
        return;
    }
    if (listed && (h.logger_id != expect_id || h.buffer_size != expect_bs)) {
        dump_diag(d, ETL_DUMP_DIAG_BUFFER, file_offset, va, pa0, expect_id,
                  "listed buffer of logger %d rejected: its header says logger %u, %u bytes (context: %u bytes)",
                  expect_id, h.logger_id, h.buffer_size, expect_bs);
        listed_lost(d, s, listed, expect_id, expect_bs);
        return;
    }
    unsigned P = d->psize;
    uint64_t flink = etl_rdptr(d->scratch + 0x38, P), blink = etl_rdptr(d->scratch + 0x38 + P, P);
    uint64_t self_va = 0;
    uint8_t link = va ? check_links(d, pa0, flink, blink, &self_va) : DUMP_LINK_UNKNOWN;
    if (!listed && link == DUMP_LINK_OK && self_va != va) {
        /* an alias mapping of a listed buffer: use the VA its list knows */
        gpointer known = g_hash_table_lookup(s->by_va, GSIZE_TO_POINTER((gsize)self_va));
        if (known) {
            g_array_index(d->bufs, DumpBuf, GPOINTER_TO_SIZE(known) - 1).carved = 1;
            return;
        }
        va = self_va;
    }
    uint32_t group = group_for(d, s, h.logger_id, h.buffer_size);
    uint32_t bs = h.buffer_size;
    uint32_t limit = h.saved_offset ? h.saved_offset : MIN(h.current_offset, bs);
    got = dump_read_buffer_image(d, va, pfn, bs, &miss_off, &miss_va);
    if (h.flags & ETL_BUFFER_FLAG_COMPRESSED) {
        dump_diag(d, ETL_DUMP_DIAG_BUFFER, file_offset, va, pa0, h.logger_id,
                  "compressed buffer of logger %u skipped (in-memory compressed buffers are not supported)",
                  h.logger_id);
        group_at(d, group)->pub.buffers_skipped++;
        d->stats.rejected++;
        return;
    }
    DumpBuf b;
    memset(&b, 0, sizeof b);
    b.va = va;
    b.pfn = pfn;
    b.file_offset = file_offset;
    b.hdr = h;
    b.flink = flink;
    b.blink = blink;
    b.limit = limit;
    b.link = link;
    b.on_list = listed;
    b.carved = !listed;
    b.group = group;
    bool bad;
    char why[160] = "";
    uint32_t avail = MIN(limit, got);
    walk_events(d, d->scratch, avail, &b, &bad, why, sizeof why);
    if (b.events == 0) {
        if (bad) {
            dump_diag(d, ETL_DUMP_DIAG_BUFFER, file_offset, va, pa0, h.logger_id,
                      "buffer-like page rejected (logger %u): first event malformed: %s", h.logger_id, why);
            if (listed) group_at(d, group)->pub.buffers_skipped++;
            d->stats.rejected++;
        } else if (got < limit && got <= ETL_BUFFER_HEADER_SIZE + 8) {
            d->stats.rejected++;
        } else {
            d->stats.empty++;
        }
        return;
    }
    if (got < limit) {
        b.partial = 1;
        if (va)
            dump_diag(d, ETL_DUMP_DIAG_PAGE_MISSING, miss_off, miss_va, pa0, h.logger_id,
                      "buffer of logger %u recovered in part: %u of %u bytes readable (page at +0x%x not in the dump); "
                      "%u events kept", h.logger_id, got, limit, got, b.events);
        else
            dump_diag(d, ETL_DUMP_DIAG_BUFFER, file_offset, 0, pa0, h.logger_id,
                      "buffer of logger %u recovered in part: %s, only its first page (%u of %u bytes) is known to "
                      "belong to it; %u events kept", h.logger_id,
                      d->info.paging == ETL_DUMP_PAGING_NONE ? "no page tables" : "its page tables are not in the dump",
                      got, limit, b.events);
    } else if (bad && h.state == 3 && b.valid < limit) {
        b.partial = 1;
        /* the file offset of the bad event: its page is wherever the page tables put it */
        uint64_t at = file_offset + b.valid, epa;
        if (va && dump_translate(d, va + b.valid, &epa, NULL, NULL)) at = etl_dump_phys_to_file(d, epa);
        dump_diag(d, ETL_DUMP_DIAG_BUFFER, at == DUMP_NO_OFFSET ? file_offset : at, va ? va + b.valid : 0, pa0,
                  h.logger_id,
                  "buffer of logger %u recovered in part: malformed event at +0x%x (%s); %u events kept, %u bytes dropped",
                  h.logger_id, b.valid, why, b.events, limit - b.valid);
    }
    b.hash = hash_bytes(d->scratch + ETL_BUFFER_HEADER_SIZE, b.valid - ETL_BUFFER_HEADER_SIZE);
    g_array_append_val(d->bufs, b);
    if (va) g_hash_table_insert(s->by_va, GSIZE_TO_POINTER((gsize)va), GSIZE_TO_POINTER((gsize)d->bufs->len));
}

/* ------------------------------------------------------------------ the sequential pass */

static bool scan_page(EtlDump *d, uint64_t pfn, uint64_t off, const uint8_t *page, void *user)
{
    (void)user;
    d->stats.pages_scanned++;
    if (d->info.container == ETL_DUMP_RAW) dump_selfmap_check(d, pfn, page);
    EtlBufferHeader h;
    if (!d->opts.no_carving && dump_buffer_predicates(d, page, DUMP_PAGE, &h)) {
        DumpCand c = { .pfn = pfn, .file_offset = off };
        g_array_append_val(d->cands, c);
        d->stats.candidates++;
    }
    return true;
}

/* A candidate no kernel VA maps: is it a live buffer whose page tables are missing from a
 * truncated dump?  Its list neighbours (when readable) name its VA; if translating that VA fails
 * for want of a table page, rather than because an entry is not present, it is. */
static bool tables_missing_for(EtlDump *d, const DumpCand *k)
{
    uint64_t off;
    const uint8_t *p = dump_page_map(d, k->pfn, &off);
    if (!p) return false;
    unsigned P = d->psize;
    uint64_t flink = etl_rdptr(p + 0x38, P), blink = etl_rdptr(p + 0x38 + P, P);
    dump_page_release(d, off);
    uint64_t self[2] = { 0, 0 }, v, pa;
    bool missing = false;
    if (!dump_is_kernel_ptr(d, flink) || !dump_is_kernel_ptr(d, blink)) return false;
    if (dump_vread_ptr(d, flink + P, &v)) self[0] = v - 0x38;
    else if (!dump_translate_ex(d, flink, &pa, NULL, NULL, &missing) && missing) return true; /* neighbours lost too */
    if (dump_vread_ptr(d, blink, &v)) self[1] = v - 0x38;
    else if (!dump_translate_ex(d, blink, &pa, NULL, NULL, &missing) && missing) return true;
    for (int i = 0; i < 2; i++)
        if (self[i] && dump_is_kernel_ptr(d, self[i]) && !dump_translate_ex(d, self[i], &pa, NULL, NULL, &missing) &&
            missing)
            return true;
    return false;
}

static int cand_cmp(const void *a, const void *b)
{
    const DumpCand *x = a, *y = b;
    return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static void map_cands(EtlDump *d, uint64_t va, uint64_t pfn, uint64_t n, void *user)
{
    (void)user;
    GArray *c = d->cands;
    guint lo = 0, hi = c->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(c, DumpCand, mid).pfn < pfn) lo = mid + 1;
        else hi = mid;
    }
    for (guint i = lo; i < c->len; i++) {
        DumpCand *k = &g_array_index(c, DumpCand, i);
        if (k->pfn >= pfn + n) break;
        if (!k->n_va++) k->va = va + ((k->pfn - pfn) << DUMP_PAGE_SHIFT);
    }
}

/* ------------------------------------------------------------------ grouping */

static DumpBuf *buf_at(EtlDump *d, uint32_t i) { return &g_array_index(d->bufs, DumpBuf, i); }

/* Better copy first: listed, linked, unknown link, bad link; then more valid bytes; then VA. */
static int pref_cmp(const DumpBuf *x, const DumpBuf *y)
{
    if (x->on_list != y->on_list) return x->on_list ? -1 : 1;
    if (x->link != y->link) return x->link > y->link ? -1 : 1;
    if (x->partial != y->partial) return x->partial ? 1 : -1;
    if (x->valid != y->valid) return x->valid > y->valid ? -1 : 1;
    return x->va < y->va ? -1 : x->va > y->va;
}

static int dedup_cmp(const void *a, const void *b, void *dump)
{
    const DumpBuf *x = buf_at(dump, *(const uint32_t *)a), *y = buf_at(dump, *(const uint32_t *)b);
    if (x->hdr.sequence != y->hdr.sequence) return x->hdr.sequence < y->hdr.sequence ? -1 : 1;
    return pref_cmp(x, y);
}

static int order_cmp(const void *a, const void *b, void *dump)
{
    const DumpBuf *x = buf_at(dump, *(const uint32_t *)a), *y = buf_at(dump, *(const uint32_t *)b);
    if (x->hdr.sequence != y->hdr.sequence) return x->hdr.sequence < y->hdr.sequence ? -1 : 1;
    if (x->hdr.timestamp != y->hdr.timestamp) return x->hdr.timestamp < y->hdr.timestamp ? -1 : 1;
    if (x->hdr.cpu != y->hdr.cpu) return x->hdr.cpu < y->hdr.cpu ? -1 : 1;
    return x->va < y->va ? -1 : x->va > y->va;
}

static void drop(EtlDump *d, DumpGroup *g, DumpBuf *b, const char *why)
{
    b->dropped = 1;
    g->pub.duplicates++;
    d->stats.duplicates++;
    dump_diag(d, ETL_DUMP_DIAG_DUPLICATE, b->file_offset, b->va, b->pfn << DUMP_PAGE_SHIFT, b->hdr.logger_id,
              "buffer %" G_GINT64_FORMAT " of logger %u dropped: %s", b->hdr.sequence, b->hdr.logger_id, why);
}

static void finish_group(EtlDump *d, DumpGroup *g)
{
    GArray *all = g->bufs;
    uint32_t n = all->len;
    uint32_t *ix = (uint32_t *)(void *)all->data;
    if (n > 1) qsort_r(ix, n, sizeof(uint32_t), dedup_cmp, d);
    bool live = false;
    for (uint32_t i = 0; i < n; i++) {
        DumpBuf *b = buf_at(d, ix[i]);
        if (b->on_list || b->link == DUMP_LINK_OK) live = true;
    }
    for (uint32_t i = 0; i < n; i++) {
        DumpBuf *b = buf_at(d, ix[i]);
        if (b->dropped) continue;
        if (live && !b->on_list && b->link == DUMP_LINK_BAD) {
            drop(d, g, b, "not on its logger's buffer list (a stale copy)");
            continue;
        }
        /* later copies with the same sequence number: the same bytes, or a conflicting copy */
        for (uint32_t j = i + 1; j < n; j++) {
            DumpBuf *o = buf_at(d, ix[j]);
            if (o->hdr.sequence != b->hdr.sequence) break;
            if (o->dropped) continue;
            bool same = o->hash == b->hash && o->valid == b->valid;
            if (same) drop(d, g, o, "a second copy of the same buffer");
            else if (b->hdr.sequence != 0 && !(o->on_list || o->link == DUMP_LINK_OK))
                drop(d, g, o, "conflicting copy with the same sequence number (the listed or linked one is kept)");
        }
    }
    GArray *kept = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++)
        if (!buf_at(d, ix[i])->dropped) g_array_append_val(kept, ix[i]);
    g_array_free(all, TRUE);
    g->bufs = kept;
    if (kept->len > 1) qsort_r(kept->data, kept->len, sizeof(uint32_t), order_cmp, d);

    EtlDumpLogger *L = &g->pub;
    for (uint32_t i = 0; i < kept->len; i++) {
        DumpBuf *b = buf_at(d, g_array_index(kept, uint32_t, i));
        L->buffers++;
        if (b->partial) L->buffers_partial++;
        if (b->hdr.state == 0) L->buffers_stale++;
        if ((uint32_t)b->hdr.cpu + 1 > L->cpus) L->cpus = b->hdr.cpu + 1u;
        L->events += b->events;
        L->kernel_events += b->kernel_events;
        if (b->first_ts < L->first_ts) L->first_ts = b->first_ts;
        if (b->last_ts > L->last_ts) L->last_ts = b->last_ts;
        if (b->partial) d->stats.partial++;
    }
}

/* The logger context of a carved group: follow the GlobalEntry ring from a linked buffer to the
 * first entry that is not one of the group's buffers — the list head in the context. */
static void find_context(EtlDump *d, DumpGroup *g)
{
    GHashTable *entries = g_hash_table_new(g_direct_hash, g_direct_equal);
    const DumpBuf *start = NULL;
    for (guint i = 0; i < g->bufs->len; i++) {
        const DumpBuf *b = buf_at(d, g_array_index(g->bufs, uint32_t, i));
        g_hash_table_insert(entries, GSIZE_TO_POINTER((gsize)(b->va + 0x38)), (gpointer)b);
        if (!start && b->link == DUMP_LINK_OK) start = b;
    }
    uint64_t node = start ? start->flink : 0;
    for (guint steps = 0; start && steps <= g->bufs->len + 64; steps++) {
        const DumpBuf *b = g_hash_table_lookup(entries, GSIZE_TO_POINTER((gsize)node));
        if (b) {
            node = b->flink;
            continue;
        }
        /* a buffer of the group we did not keep (empty, rejected) is still a buffer */
        uint8_t hb[0x30];
        if ((node & 0xFFF) == 0x38 && etl_dump_read_virt(d, node - 0x38, hb, sizeof hb) && etl_rd32(hb) == g->pub.buffer_size &&
            etl_rd16(hb + 0x2A) == g->pub.logger_id) {
            if (!dump_vread_ptr(d, node, &node)) break;
            continue;
        }
        DumpLoggerCtx *c = g_new0(DumpLoggerCtx, 1);
        if (dump_context_from_head(d, node, g->pub.logger_id, g->pub.buffer_size, c)) {
            g->ctx = c;
            g->pub.context_va = c->ctx;
            g->pub.name = g_strdup(c->name);
            g->pub.clock_type = c->clock_type;
        } else {
            g_free(c);
        }
        break;
    }
    g_hash_table_destroy(entries);
}

static bool is_kernel_name(const char *n)
{
    return n && (!g_ascii_strcasecmp(n, "NT Kernel Logger") || !g_ascii_strcasecmp(n, "Circular Kernel Context Logger") ||
                 strstr(n, "Kernel Logger") || strstr(n, "Kernel Context Logger"));
}

static int group_cmp(const void *a, const void *b)
{
    const DumpGroup *x = a, *y = b;
    if (x->pub.logger_id != y->pub.logger_id) return x->pub.logger_id < y->pub.logger_id ? -1 : 1;
    return x->pub.buffer_size < y->pub.buffer_size ? -1 : x->pub.buffer_size > y->pub.buffer_size;
}

void dump_groups_free(EtlDump *d)
{
    if (!d->groups) return;
    for (guint i = 0; i < d->groups->len; i++) {
        DumpGroup *g = group_at(d, i);
        if (g->bufs) g_array_free(g->bufs, TRUE);
        if (g->ctx) {
            dump_logger_ctx_clear(g->ctx);
            g_free(g->ctx);
        }
        g_free(g->pub.name);
    }
    g_array_set_size(d->groups, 0);
}

/* ------------------------------------------------------------------ the scan */

bool etl_dump_scan(EtlDump *d, GError **error)
{
    (void)error;
    if (d->scanned) return true;
    d->scanned = true;

    /* 1. every stored page, in file order */
    dump_for_each_page(d, scan_page, NULL);
    if (d->info.container == ETL_DUMP_RAW) dump_paging_from_cands(d);
    g_array_sort(d->cands, cand_cmp);

    /* 2. KUSER_SHARED_DATA (clock, version, CPUs) */
    dump_read_kusd(d);

    ScanState s = {
        .by_va = g_hash_table_new(g_direct_hash, g_direct_equal),
        .group_of = g_hash_table_new(g_direct_hash, g_direct_equal),
        .ctxs = g_array_new(FALSE, FALSE, sizeof(DumpLoggerCtx)),
    };

    /* 3. loggers of the logger array and their GlobalLists */
    if (!d->opts.no_discovery) dump_discover(d, s.ctxs);
    uint64_t nlisted = 0, ndone = 0;
    for (guint i = 0; i < s.ctxs->len; i++) nlisted += g_array_index(s.ctxs, DumpLoggerCtx, i).vas->len;
    for (guint i = 0; i < s.ctxs->len; i++) {
        DumpLoggerCtx *c = &g_array_index(s.ctxs, DumpLoggerCtx, i);
        uint32_t gi = group_for(d, &s, c->id, c->buffer_size);
        DumpGroup *g = group_at(d, gi);
        g->pub.discovered = true;
        g->pub.context_va = c->ctx;
        if (c->name && !g->pub.name) g->pub.name = g_strdup(c->name);
        g->pub.clock_type = c->clock_type;
        if (!g->ctx) {
            g->ctx = g_memdup2(c, sizeof *c);
            ((DumpLoggerCtx *)g->ctx)->name = c->name ? g_strdup(c->name) : NULL;
            ((DumpLoggerCtx *)g->ctx)->vas = NULL;
        }
        for (guint k = 0; k < c->vas->len; k++) {
            uint64_t va = g_array_index(c->vas, uint64_t, k);
            if (!g_hash_table_contains(s.by_va, GSIZE_TO_POINTER((gsize)va)))
                validate(d, &s, va, 0, DUMP_NO_OFFSET, true, c->id, c->buffer_size);
            if (!(++ndone & 0xFF)) dump_progress(d, "buffers", ndone, nlisted + d->cands->len);
        }
    }

    /* 4. carved candidates: which kernel VA maps each, then read them through it */
    bool paging = d->info.paging != ETL_DUMP_PAGING_NONE;
    if (paging && d->cands->len) dump_walk_kernel(d, map_cands, NULL);
    for (guint i = 0; i < d->cands->len; i++) {
        DumpCand *k = &g_array_index(d->cands, DumpCand, i);
        if (!(++ndone & 0xFF)) dump_progress(d, "buffers", ndone, nlisted + d->cands->len);
        if (k->va) {
            gpointer known = g_hash_table_lookup(s.by_va, GSIZE_TO_POINTER((gsize)k->va));
            if (known) {
                g_array_index(d->bufs, DumpBuf, GPOINTER_TO_SIZE(known) - 1).carved = 1;
                continue;
            }
            validate(d, &s, k->va, k->pfn, k->file_offset, false, -1, 0);
        } else if (!paging || (d->info.truncated && tables_missing_for(d, k))) {
            validate(d, &s, 0, k->pfn, k->file_offset, false, -1, 0);
        } else {
            d->stats.unmapped++;
        }
    }
    if (d->stats.unmapped)
        dump_diag(d, ETL_DUMP_DIAG_BUFFER, g_array_index(d->cands, DumpCand, 0).file_offset, 0, UINT64_MAX, -1,
                  "%" G_GUINT64_FORMAT " buffer-like pages are not mapped in the kernel address space (free memory, "
                  "stale copies): ignored", d->stats.unmapped);

    /* 5. group, de-duplicate, order */
    for (guint i = 0; i < d->bufs->len; i++) {
        DumpBuf *b = buf_at(d, i);
        g_array_append_val(group_at(d, b->group)->bufs, i);
    }
    for (guint i = 0; i < d->groups->len; i++) {
        DumpGroup *g = group_at(d, i);
        finish_group(d, g);
        if (!g->ctx && g->bufs->len && paging) find_context(d, g);
        g->pub.kernel = is_kernel_name(g->pub.name) ||
                        (g->pub.events && g->pub.kernel_events * 2 > g->pub.events);
    }
    /* groups with nothing to write are not loggers to list (their rejections are reported) */
    for (guint i = d->groups->len; i-- > 0;) {
        DumpGroup *g = group_at(d, i);
        if (g->pub.buffers) continue;
        if (g->pub.discovered)
            dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, g->pub.context_va, 0x80), g->pub.context_va,
                      UINT64_MAX, g->pub.logger_id, "logger %u (%s) has no buffer with events to write (%u listed "
                      "buffers not recoverable)", g->pub.logger_id, g->pub.name ? g->pub.name : "unnamed",
                      g->pub.buffers_skipped);
        g_array_free(g->bufs, TRUE);
        if (g->ctx) {
            dump_logger_ctx_clear(g->ctx);
            g_free(g->ctx);
        }
        g_free(g->pub.name);
        g_array_remove_index(d->groups, i);
    }
    /* buffer records point at their group by index: renumber after sorting */
    if (d->groups->len > 1) qsort(d->groups->data, d->groups->len, sizeof(DumpGroup), group_cmp);
    for (guint i = 0; i < d->groups->len; i++) {
        DumpGroup *g = group_at(d, i);
        for (guint k = 0; k < g->bufs->len; k++) buf_at(d, g_array_index(g->bufs, uint32_t, k))->group = i;
    }

    for (guint i = 0; i < s.ctxs->len; i++) dump_logger_ctx_clear(&g_array_index(s.ctxs, DumpLoggerCtx, i));
    g_array_free(s.ctxs, TRUE);
    g_hash_table_destroy(s.by_va);
    g_hash_table_destroy(s.group_of);
    /* the candidates are not needed any more */
    g_array_set_size(d->cands, 0);

    /* 6. the clock of each logger */
    dump_time_base(d);
    dump_progress(d, "buffers", 1, 1);
    return true;
}

/* ------------------------------------------------------------------ queries */

uint32_t etl_dump_logger_count(const EtlDump *d) { return d->groups ? d->groups->len : 0; }

const EtlDumpLogger *etl_dump_logger(const EtlDump *d, uint32_t i)
{
    return i < etl_dump_logger_count(d) ? &g_array_index(d->groups, DumpGroup, i).pub : NULL;
}

int etl_dump_find_logger(const EtlDump *d, const char *s)
{
    uint32_t n = etl_dump_logger_count(d);
    char *end = NULL;
    guint64 id = g_ascii_strtoull(s, &end, 0);
    if (*s && end && !*end) {
        int found = -1;
        for (uint32_t i = 0; i < n; i++) {
            if (etl_dump_logger(d, i)->logger_id != id) continue;
            if (found >= 0) return -2;
            found = (int)i;
        }
        return found;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *name = etl_dump_logger(d, i)->name;
        if (name && !g_ascii_strcasecmp(name, s)) return (int)i;
    }
    return -1;
}

int etl_dump_default_logger(const EtlDump *d)
{
    int best = -1, best_any = -1;
    for (uint32_t i = 0; i < etl_dump_logger_count(d); i++) {
        const EtlDumpLogger *L = etl_dump_logger(d, i);
        if (best_any < 0 || L->buffers > etl_dump_logger(d, (uint32_t)best_any)->buffers) best_any = (int)i;
        if (L->kernel && (best < 0 || L->buffers > etl_dump_logger(d, (uint32_t)best)->buffers)) best = (int)i;
    }
    return best >= 0 ? best : best_any;
}
