/* discover.c — symbol-free logger discovery (DUMP_EXTRACT.md §3).
 *
 *   dump header +0x80 KdDebuggerDataBlock → KDDEBUGGER_DATA64 ('KDBG' at +0x10, decoded in
 *   place at bug check) → +0x330 EtwpDebuggerData (bytes +2..+6 = 2C 08 04 38 0C) → +0x10 the
 *   array of WMI_LOGGER_CONTEXT pointers indexed by LoggerId (64 slots, 0 or 1 when empty) →
 *   each context: LoggerId at +0, BufferSize at +4, and GlobalList — the list of every buffer
 *   the logger owns, linked through WMI_BUFFER_HEADER.GlobalEntry (+0x38) — found by pointer
 *   matching, not by a per-build offset table.  The logger name is the first UNICODE_STRING-
 *   shaped field after the list; ClockType and ReferenceTime sit at fixed distances from the
 *   name in every x64 layout of the spec's table [⚠ Windows 11 unverified].
 *
 * The same context search serves carved buffers: the GlobalEntry ring of a carved buffer leads
 * to the list head inside its logger's context, which gives the logger's name.
 */
#include "dump-private.h"

#define KDBG_TAG 0x4742444Bu  /* "KDBG" */
#define MAX_LOGGERS 64
#define MAX_LIST_NODES (1u << 20)
#define CTX_READ 0x400        /* bytes of a logger context examined */

/* File offset of a kernel VA's byte, for diagnostics (fallback: the header field given). */
uint64_t dump_va_file_offset(EtlDump *d, uint64_t va, uint64_t fallback)
{
    uint64_t pa;
    if (!dump_translate(d, va, &pa, NULL, NULL)) return fallback;
    uint64_t off = etl_dump_phys_to_file(d, pa);
    return off == DUMP_NO_OFFSET ? fallback : off;
}

void dump_logger_ctx_clear(DumpLoggerCtx *c)
{
    g_free(c->name);
    if (c->vas) g_array_free(c->vas, TRUE);
    memset(c, 0, sizeof *c);
}

static bool printable_utf16(const uint8_t *p, uint32_t nbytes)
{
    for (uint32_t i = 0; i + 1 < nbytes; i += 2) {
        uint16_t c = etl_rd16(p + i);
        if (c < 0x20 || c == 0x7F || (c >= 0xD800 && c <= 0xDFFF)) return false;
    }
    return true;
}

/* Name, clock type and reference-time candidates of the context at ctx whose GlobalList is at
 * list_off; blk holds CTX_READ bytes of the context. */
static void describe(EtlDump *d, DumpLoggerCtx *c, const uint8_t *blk)
{
    unsigned P = d->psize;
    uint32_t us_size = P == 8 ? 16 : 8;
    for (uint32_t o = c->list_off + 2 * P; o + us_size <= CTX_READ; o += P) {
        uint16_t len = etl_rd16(blk + o), max = etl_rd16(blk + o + 2);
        uint64_t buf = etl_rdptr(blk + o + (P == 8 ? 8 : 4), P);
        if (len == 0 || len % 2 || len > max || max > 512 || !dump_is_kernel_ptr(d, buf)) continue;
        uint8_t s[512];
        if (!etl_dump_read_virt(d, buf, s, len) || !printable_utf16(s, len)) continue;
        c->name = etl_wstr_dup_utf8((EtlWStr){ s, len });
        c->name_off = o;
        break;
    }
    if (!c->name || P != 8) return;
    /* x64 layouts of the table (6.1, 6.2-1511, 1607-1703, 1709-20H2): ClockType = name + 0x40;
     * ReferenceTime = name + 0xA8 (6.2+) or + 0xB8 (6.1). */
    uint32_t ct = c->name_off + 0x40;
    if (ct + 4 <= CTX_READ) {
        uint32_t v = etl_rd32(blk + ct);
        if (v >= 1 && v <= 3) c->clock_type = v;
    }
    const uint32_t ref[2] = { c->name_off + 0xA8, c->name_off + 0xB8 };
    for (int i = 0; i < 2; i++) {
        if (ref[i] + 16 > CTX_READ) continue;
        c->ref_ft[i] = (int64_t)etl_rd64(blk + ref[i]);
        c->ref_perf[i] = (int64_t)etl_rd64(blk + ref[i] + 8);
    }
}

/* GlobalList offset in the context (§3.6 step 2): Flink to a buffer's GlobalEntry (…038) whose
 * header has the context's BufferSize and LoggerId, and whose Blink comes back to the head. */
static bool find_list(EtlDump *d, DumpLoggerCtx *c, const uint8_t *blk)
{
    unsigned P = d->psize;
    for (uint32_t o = 0x40; o + 2 * P <= 0x200 && o + 2 * P <= CTX_READ; o += P) {
        uint64_t fl = etl_rdptr(blk + o, P);
        if (!dump_is_kernel_ptr(d, fl) || (fl & 0xFFF) != 0x38) continue;
        uint8_t h[8];
        uint64_t back;
        if (!etl_dump_read_virt(d, fl - 0x38, h, 8)) continue;
        if (etl_rd32(h) != c->buffer_size) continue;
        uint8_t cc[4];
        if (!etl_dump_read_virt(d, fl - 0x38 + 0x28, cc, 4) || etl_rd16(cc + 2) != c->id) continue;
        if (!dump_vread_ptr(d, fl + P, &back) || back != c->ctx + o) continue;
        c->list_off = o;
        return true;
    }
    return false;
}

/* Walk the GlobalList from its head, collecting buffer VAs. */
static void walk_list(EtlDump *d, DumpLoggerCtx *c)
{
    unsigned P = d->psize;
    uint64_t head = c->ctx + c->list_off, node, prev = head;
    c->vas = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (!dump_vread_ptr(d, head, &node)) return;
    GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    bool warned = false;
    while (node != head && c->vas->len < MAX_LIST_NODES) {
        if (!dump_is_kernel_ptr(d, node) || g_hash_table_contains(seen, GSIZE_TO_POINTER((gsize)node))) {
            dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, prev, 0x80), prev, UINT64_MAX, c->id,
                      "GlobalList of logger %u %s after %u buffers", c->id,
                      dump_is_kernel_ptr(d, node) ? "loops back on itself" : "leaves kernel space", c->vas->len);
            break;
        }
        uint64_t va = node - 0x38, next, back;
        g_array_append_val(c->vas, va);
        g_hash_table_add(seen, GSIZE_TO_POINTER((gsize)node));
        if (!dump_vread_ptr(d, node, &next) || !dump_vread_ptr(d, node + P, &back)) {
            uint64_t pa = UINT64_MAX, eo = 0x80;
            if (!dump_translate(d, node, &pa, NULL, &eo)) pa = UINT64_MAX;
            dump_diag(d, ETL_DUMP_DIAG_PAGE_MISSING, eo, node, pa, c->id,
                      "GlobalList of logger %u broken after %u buffers: a list entry's page is not in the dump",
                      c->id, c->vas->len);
            break;
        }
        if (back != prev && !warned) {
            warned = true;
            dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, node, 0x80), node, UINT64_MAX, c->id,
                      "GlobalList of logger %u: an entry's Blink does not point back to the previous entry", c->id);
        }
        prev = node;
        node = next;
    }
    g_hash_table_destroy(seen);
}

bool dump_context_probe(EtlDump *d, uint64_t ctx, uint16_t id, uint32_t buffer_size, DumpLoggerCtx *out)
{
    uint8_t *blk = g_malloc0(CTX_READ);
    bool ok = false;
    memset(out, 0, sizeof *out);
    out->ctx = ctx;
    out->id = id;
    out->buffer_size = buffer_size;
    if (etl_dump_read_virt(d, ctx, blk, CTX_READ) && etl_rd32(blk) == id && etl_rd32(blk + 4) == buffer_size &&
        find_list(d, out, blk)) {
        describe(d, out, blk);
        ok = true;
    }
    g_free(blk);
    return ok;
}

bool dump_context_from_head(EtlDump *d, uint64_t head, uint16_t id, uint32_t buffer_size, DumpLoggerCtx *out)
{
    unsigned P = d->psize;
    for (uint32_t o = 0x40; o <= 0x200; o += P) {
        uint32_t v[2];
        if (!dump_vread32(d, head - o, &v[0]) || v[0] != id) continue;
        if (!dump_vread32(d, head - o + 4, &v[1]) || v[1] != buffer_size) continue;
        if (dump_context_probe(d, head - o, id, buffer_size, out) && out->list_off == o) return true;
        dump_logger_ctx_clear(out);
    }
    return false;
}

static bool plausible_buffer_size(uint32_t bs)
{
    return bs >= 0x400 && bs <= DUMP_MAX_BUFFER && bs % 0x400 == 0;
}

void dump_discover(EtlDump *d, GArray *out)
{
    unsigned P = d->psize;
    uint64_t kdbg = d->info.kdbg_va;
    if (d->info.container == ETL_DUMP_RAW || d->info.paging == ETL_DUMP_PAGING_NONE) return;
    if (!dump_is_kernel_ptr(d, kdbg)) {
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, d->info.is64 ? 0x80 : 0x60, kdbg, UINT64_MAX, -1,
                  "no usable KdDebuggerDataBlock in the dump header (0x%" G_GINT64_MODIFIER "x): loggers are only carved",
                  kdbg);
        return;
    }
    uint64_t hdr_field = d->info.is64 ? 0x80 : 0x60;
    uint8_t k[0x340];
    if (!etl_dump_read_virt(d, kdbg, k, sizeof k)) {
        uint64_t pa = UINT64_MAX, eo = hdr_field;
        if (!dump_translate(d, kdbg, &pa, NULL, &eo)) pa = UINT64_MAX;
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, eo, kdbg, pa, -1,
                  "KDDEBUGGER_DATA64 is not readable (page not in the dump): loggers are only carved");
        return;
    }
    uint64_t koff = dump_va_file_offset(d, kdbg, hdr_field);
    if (etl_rd32(k + 0x10) != KDBG_TAG || etl_rd32(k + 0x14) < 0x338) {
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, koff, kdbg, UINT64_MAX, -1,
                  "KDDEBUGGER_DATA64 has no 'KDBG' tag or is too short (encoded, or not a bug-check dump): loggers are "
                  "only carved");
        return;
    }
    /* CPU speed, for the header's CpuSpeedInMHz: KiProcessorBlock[0] + OffsetPrcbMhz */
    uint64_t kpb = etl_rd64(k + 0x218);
    uint16_t mhz_off = etl_rd16(k + 0x2B6);
    if (P == 4) kpb &= 0xFFFFFFFFu;
    uint64_t prcb;
    uint32_t mhz;
    if (dump_is_kernel_ptr(d, kpb) && mhz_off && dump_vread_ptr(d, kpb, &prcb) && dump_is_kernel_ptr(d, prcb) &&
        dump_vread32(d, prcb + mhz_off, &mhz) && mhz >= 100 && mhz <= 20000)
        d->prcb_mhz = mhz;

    uint64_t edd = etl_rd64(k + 0x330);
    if (P == 4) edd &= 0xFFFFFFFFu;
    uint8_t e[0x20];
    if (!dump_is_kernel_ptr(d, edd) || !etl_dump_read_virt(d, edd, e, sizeof e)) {
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, koff + 0x330, edd, UINT64_MAX, -1,
                  "EtwpDebuggerData (KDBG+0x330) is not readable: loggers are only carved");
        return;
    }
    static const uint8_t sig[5] = { 0x2C, 0x08, 0x04, 0x38, 0x0C };
    if (memcmp(e + 2, sig, 5) != 0)
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, edd, koff + 0x330), edd, UINT64_MAX, -1,
                  "EtwpDebuggerData lacks its signature bytes 2C 08 04 38 0C; trying its logger array anyway");
    uint64_t arr = etl_rdptr(e + 0x10, P);
    if (!dump_is_kernel_ptr(d, arr)) {
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, edd + 0x10, koff + 0x330), arr, UINT64_MAX, -1,
                  "EtwpDebuggerData+0x10 is not a kernel pointer: loggers are only carved");
        return;
    }
    uint8_t slots[MAX_LOGGERS * 8];
    if (!etl_dump_read_virt(d, arr, slots, (size_t)MAX_LOGGERS * P)) {
        dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, edd + 0x10, koff + 0x330), arr, UINT64_MAX, -1,
                  "the logger array is not readable: loggers are only carved");
        return;
    }
    uint64_t arr_off = dump_va_file_offset(d, arr, koff + 0x330);
    for (uint32_t i = 0; i < MAX_LOGGERS; i++) {
        uint64_t p = etl_rdptr(slots + i * P, P);
        if (p <= 1) continue;
        if (!dump_is_kernel_ptr(d, p)) {
            dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, arr_off + i * P, p, UINT64_MAX, (int32_t)i,
                      "logger array slot %u holds 0x%" G_GINT64_MODIFIER "x, not a kernel pointer", i, p);
            continue;
        }
        uint32_t id, bs;
        if (!dump_vread32(d, p, &id) || !dump_vread32(d, p + 4, &bs) || id != i || !plausible_buffer_size(bs)) {
            dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, p, arr_off + i * P), p, UINT64_MAX, (int32_t)i,
                      "logger array slot %u does not lead to a logger context (LoggerId/BufferSize)", i);
            continue;
        }
        DumpLoggerCtx c;
        if (!dump_context_probe(d, p, (uint16_t)i, bs, &c)) {
            dump_diag(d, ETL_DUMP_DIAG_DISCOVERY, dump_va_file_offset(d, p, arr_off + i * P), p, UINT64_MAX, (int32_t)i,
                      "logger %u: no GlobalList leading to its buffers found in its context (no buffers, or an "
                      "unknown layout)", i);
            continue;
        }
        walk_list(d, &c);
        d->stats.discovered_loggers++;
        d->stats.discovered_buffers += c.vas->len;
        g_array_append_val(out, c);
    }
}
