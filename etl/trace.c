/* trace.c — open a trace: header buffer, log-file header, buffer index, diagnostics, time.
 *
 * There is no file magic.  A trace is recognised by its first buffer: a SYSTEM32/64 header
 * (marker 0xC001xxxx/0xC002xxxx) with HookId 0 at 0x48, i.e. the log-file header event
 * (ETL_CONTAINER.md §2.1).  The index walks buffer headers by file offset (never trusting
 * BuffersWritten, which is wrong for circular and truncated files) and reads no event bytes.
 */
#include "etl-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define DEFAULT_MAX_DIAGS 64
/* Largest uncompressed/compressed ratio a compressed buffer may claim.  Real traces stay below 14
 * (win8-x64-compressed-net452.etl, 359 buffers); MS-XCA itself allows a few bytes to expand to
 * 16 MiB, and time-order reading holds one decoded buffer per CPU at once, so without a bound a
 * small file of such buffers would dictate gigabytes of memory.  With it, decoded bytes in
 * memory stay below MAX_XPRESS_RATIO times the file size. */
#define MAX_XPRESS_RATIO 1024u

/* ------------------------------------------------------------------------ diagnostics */

static const char *const diag_names[ETL_DIAG_COUNT_] = {
    [ETL_DIAG_BUFFER_HEADER] = "buffer-header",
    [ETL_DIAG_BUFFER_TRUNCATED] = "buffer-truncated",
    [ETL_DIAG_BUFFER_SIZE] = "buffer-size",
    [ETL_DIAG_DECOMPRESS] = "decompress",
    [ETL_DIAG_EVENT_MARKER] = "event-marker",
    [ETL_DIAG_EVENT_SIZE] = "event-size",
    [ETL_DIAG_EXT_ITEM] = "ext-item",
    [ETL_DIAG_LOGGER_ID] = "logger-id",
    [ETL_DIAG_CPU_RANGE] = "cpu-range",
    [ETL_DIAG_FILE_TRUNCATED] = "file-truncated",
    [ETL_DIAG_PAYLOAD] = "payload",
};

const char *etl_diag_code_name(EtlDiagCode code)
{
    return (unsigned)code < ETL_DIAG_COUNT_ ? diag_names[code] : "?";
}

char *etl_diag_format(const EtlDiag *d)
{
    GString *s = g_string_new(d->detail);
    g_string_append_printf(s, ": offset=0x%" G_GINT64_MODIFIER "x", d->file_offset);
    if (d->buffer_index != UINT32_MAX) g_string_append_printf(s, ", buffer=%u", d->buffer_index);
    if (d->cpu >= 0) g_string_append_printf(s, ", cpu=%d", d->cpu);
    return g_string_free(s, FALSE);
}

void etl_trace_diag(EtlTrace *t, EtlDiagCode code, uint64_t file_offset, uint32_t buffer_index,
                    int32_t cpu, const char *fmt, ...)
{
    EtlDiag d = { .code = code, .file_offset = file_offset, .buffer_index = buffer_index, .cpu = cpu };
    if (t->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d.detail, sizeof d.detail, fmt, ap);
    va_end(ap);
    t->stats.diagnostics++;
    t->stats.diags_by_code[code]++;
    if (t->n_diags < t->max_diags) t->diags[t->n_diags++] = d;
    if (t->diag_fn) t->diag_fn(&d, t->diag_user_data);
}

void etl_trace_quiet_begin(EtlTrace *t)
{
    if (t->quiet++ == 0) t->quiet_saved = t->stats;
}

void etl_trace_quiet_end(EtlTrace *t)
{
    if (t->quiet && --t->quiet == 0) t->stats = t->quiet_saved;
}

void etl_trace_add_diag(EtlTrace *t, EtlDiagCode code, const EtlEvent *ev, const char *fmt, ...)
{
    char detail[sizeof(((EtlDiag *)0)->detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    etl_trace_diag(t, code, ev ? ev->file_offset : 0, ev ? ev->buffer_index : UINT32_MAX, ev ? ev->cpu : -1,
                   "%s", detail);
}

const EtlDiag *etl_trace_diags(const EtlTrace *t, uint32_t *n)
{
    *n = t->n_diags;
    return t->diags;
}

/* ------------------------------------------------------------------------ buffer headers */

void etl_buffer_header_parse(const uint8_t *p, EtlBufferHeader *h)
{
    h->buffer_size = etl_rd32(p + 0x00);
    h->saved_offset = etl_rd32(p + 0x04);
    h->current_offset = etl_rd32(p + 0x08);
    h->timestamp = (int64_t)etl_rd64(p + 0x10);
    h->sequence = (int64_t)etl_rd64(p + 0x18);
    h->state = etl_rd32(p + 0x2C);
    h->offset = etl_rd32(p + 0x30);
    h->flags = etl_rd16(p + 0x34);
    h->type = etl_rd16(p + 0x36);
    /* ETW_BUFFER_CONTEXT: u16 ProcessorIndex when PROC_INDEX, else u8 ProcessorNumber. */
    h->cpu = (h->flags & ETL_BUFFER_FLAG_PROC_INDEX) ? etl_rd16(p + 0x28) : p[0x28];
    h->logger_id = etl_rd16(p + 0x2A);
}

/* ------------------------------------------------------------------------ time */

static int64_t muldiv(int64_t a, int64_t mul, int64_t div)
{
    __int128 r = (__int128)a * mul;
    /* round toward negative infinity so that ordering is preserved for negative deltas */
    __int128 q = r / div;
    if ((r % div != 0) && ((r < 0) != (div < 0))) q--;
    if (q > INT64_MAX) return INT64_MAX;
    if (q < INT64_MIN) return INT64_MIN;
    return (int64_t)q;
}

int64_t etl_ticks_to_ns(const EtlLogfileHeader *h, int64_t ticks)
{
    return muldiv(ticks, 1000000000, h->ticks_per_second);
}

int64_t etl_time_rel_ns(const EtlLogfileHeader *h, int64_t ts)
{
    return etl_ticks_to_ns(h, (int64_t)((uint64_t)ts - (uint64_t)h->ts0));
}

double etl_time_rel_s(const EtlLogfileHeader *h, int64_t ts)
{
    return (double)etl_time_rel_ns(h, ts) / 1e9;
}

/* a + b, saturated: StartTime and ts0 come from the file and can be anything. */
static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b < 0 ? INT64_MIN : INT64_MAX;
    return r;
}

int64_t etl_time_filetime(const EtlLogfileHeader *h, int64_t ts)
{
    return add_sat(h->start_time, muldiv((int64_t)((uint64_t)ts - (uint64_t)h->ts0), 10000000, h->ticks_per_second));
}

int64_t etl_time_from_rel_s(const EtlLogfileHeader *h, double seconds)
{
    double ticks = seconds * (double)h->ticks_per_second;
    if (ticks > 9.2e18) return INT64_MAX;
    if (ticks < -9.2e18) return INT64_MIN;
    return add_sat(h->ts0, (int64_t)ticks);
}

void etl_filetime_format_iso8601(int64_t ft, char out[40])
{
    /* FILETIME: 100 ns since 1601-01-01; Unix epoch is 11644473600 s later. */
    int64_t secs = ft / 10000000 - INT64_C(11644473600);
    int64_t frac = ft % 10000000;
    if (frac < 0) { frac += 10000000; secs--; }
    time_t tt = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, 40, "invalid");
        return;
    }
    /* years are clamped to 4 digits so the result always fits */
    int year = CLAMP(tm.tm_year + 1900, 0, 9999);
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%07dZ", year, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
             tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)frac);
}

const char *etl_clock_type_name(uint32_t c)
{
    switch (c) {
    case ETL_CLOCK_RAW: return "raw";
    case ETL_CLOCK_QPC: return "QPC";
    case ETL_CLOCK_SYSTEM_TIME: return "system-time";
    case ETL_CLOCK_CPU_CYCLES: return "cpu-cycles";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------------------ log-file header */

static char *utf16_field(const uint8_t *p, size_t max, size_t *consumed)
{
    EtlWStr w = etl_wstr_scan(p, max, consumed);
    return etl_wstr_dup_utf8(w);
}

/* Parse the SYSTEM header + TRACE_LOGFILE_HEADER32/64 at ev (size bytes). */
static bool parse_logfile_header(const uint8_t *ev, uint32_t size, EtlLogfileHeader *h, GError **error)
{
    bool is64 = ev[2] == 0x02;
    unsigned P = is64 ? 8 : 4;
    uint32_t fixed = is64 ? 0x118 : 0x110;
    if (size < 0x20 + fixed) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "log-file header event is %u bytes, expected at least %u", size, 0x20 + fixed);
        return false;
    }
    const uint8_t *p = ev + 0x20;
    h->header_is64 = is64;
    h->ts0 = (int64_t)etl_rd64(ev + 0x10);
    h->buffer_size = etl_rd32(p + 0x00);
    h->os_major = p[4];
    h->os_minor = p[5];
    h->layout_major = p[6];
    h->layout_minor = p[7];
    h->os_build = etl_rd32(p + 0x08);
    h->cpus = etl_rd32(p + 0x0C);
    h->end_time = (int64_t)etl_rd64(p + 0x10);
    h->timer_resolution = etl_rd32(p + 0x18);
    h->max_file_size = etl_rd32(p + 0x1C);
    h->log_file_mode = etl_rd32(p + 0x20);
    h->buffers_written = etl_rd32(p + 0x24);
    h->start_buffers = etl_rd32(p + 0x28);
    h->pointer_size = etl_rd32(p + 0x2C);
    h->events_lost = etl_rd32(p + 0x30);
    h->cpu_mhz = etl_rd32(p + 0x34);
    h->timer_source[0] = etl_rdptr(p + 0x38, P);
    h->timer_source[1] = etl_rdptr(p + 0x38 + P, P);
    const uint8_t *tz = p + 0x38 + 2 * P;
    h->tz_bias_minutes = (int32_t)etl_rd32(tz);
    {
        size_t used;
        char *name = utf16_field(tz + 4, 64, &used);
        g_strlcpy(h->tz_standard_name, name, sizeof h->tz_standard_name);
        g_free(name);
    }
    const uint8_t *q = tz + 176; /* 172-byte TIME_ZONE_INFORMATION + 4 bytes padding */
    h->boot_time = (int64_t)etl_rd64(q);
    h->perf_freq = (int64_t)etl_rd64(q + 8);
    h->start_time = (int64_t)etl_rd64(q + 16);
    h->clock_type = etl_rd32(q + 24);
    h->buffers_lost = etl_rd32(q + 28);
    const uint8_t *s = p + fixed, *end = ev + size;
    size_t used = 0;
    h->logger_name = utf16_field(s, (size_t)(end - s), &used);
    s += used;
    h->log_file_name = utf16_field(s, (size_t)(end - s), &used);

    /* Ticks per second of the session clock (§2.6). */
    switch (h->clock_type) {
    case ETL_CLOCK_SYSTEM_TIME: h->ticks_per_second = 10000000; break;
    case ETL_CLOCK_CPU_CYCLES:
        h->ticks_per_second = h->cpu_mhz ? (int64_t)h->cpu_mhz * 1000000 : (h->perf_freq > 0 ? h->perf_freq : 10000000);
        break;
    case ETL_CLOCK_QPC:
    default: /* raw (0) and unknown: QPC when a frequency is given, else 100 ns */
        h->ticks_per_second = h->perf_freq > 0 ? h->perf_freq : 10000000;
        break;
    }
    return true;
}

/* ------------------------------------------------------------------------ open + index */

static bool looks_like_header_buffer(const uint8_t *p, uint64_t avail)
{
    if (avail < ETL_BUFFER_HEADER_SIZE + 0x20) return false;
    const uint8_t *e = p + ETL_BUFFER_HEADER_SIZE;
    return (e[2] == 0x01 || e[2] == 0x02) && e[3] == 0xC0 && etl_rd16(e + 6) == 0x0000;
}

/* A plausible buffer header: sizes within bounds, a known type, the trace's logger.  A buffer
 * that runs past the end of the file (a truncated last buffer) still counts as one. */
static bool plausible_buffer(const EtlTrace *t, const EtlBufferHeader *h, uint64_t off, uint64_t fsize)
{
    (void)off;
    (void)fsize;
    if (h->buffer_size < ETL_BUFFER_HEADER_SIZE + 8 || h->buffer_size > ETL_MAX_BUFFER_SIZE) return false;
    if (h->type > 8) return false;
    if (t->have_data_logger_id && h->logger_id != t->data_logger_id) return false;
    uint32_t ext = MAX(h->saved_offset, h->offset);
    if (ext < ETL_BUFFER_HEADER_SIZE || ext > t->hdr.buffer_size) return false;
    if (!(h->flags & ETL_BUFFER_FLAG_COMPRESSED) && h->buffer_size != t->hdr.buffer_size) return false;
    return true;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

/* Does a buffer start at o: a plausible buffer header, unwritten (zero) space, the end of the
 * file, or a tail too short for a header (diagnosed on its own)? */
static bool buffer_starts_at(const EtlTrace *t, uint64_t o, uint64_t fsize)
{
    if (o > fsize) return false;
    if (fsize - o < ETL_BUFFER_HEADER_SIZE) return true;
    const uint8_t *p = etl_source_get(t->src, o, ETL_BUFFER_HEADER_SIZE);
    if (all_bytes(p, ETL_BUFFER_HEADER_SIZE, 0)) return true;
    EtlBufferHeader c;
    etl_buffer_header_parse(p, &c);
    return plausible_buffer(t, &c, o, fsize);
}

/* Strict enough to resynchronise on in the middle of garbage (compressed files, where the next
 * buffer can start at any byte): known flag bits and states, a sane CPU and sequence number,
 * and — two in a row — the next buffer (or the end of the file) where this one says it ends.
 * A single plausible-looking header in compressed data is not enough: it once swallowed 4 MB. */
static bool resync_buffer_at(const EtlTrace *t, uint64_t o, uint64_t fsize)
{
    if (o > fsize || fsize - o < ETL_BUFFER_HEADER_SIZE) return false;
    EtlBufferHeader c;
    etl_buffer_header_parse(etl_source_get(t->src, o, ETL_BUFFER_HEADER_SIZE), &c);
    if (!plausible_buffer(t, &c, o, fsize)) return false;
    if ((c.flags & ~0x7Fu) || c.state > 7 || c.cpu > 0x7FF || c.sequence < 0 || c.sequence > (INT64_C(1) << 40))
        return false;
    /* a buffer cut by the end of the file has nothing to chain to: it is the last thing read */
    return c.buffer_size > fsize - o || buffer_starts_at(t, o + c.buffer_size, fsize);
}

static void release_behind(EtlTrace *t, uint64_t *released, uint64_t pos);

static uint64_t next_resync(EtlTrace *t, uint64_t from, uint64_t fsize)
{
    uint64_t released = from;
    for (uint64_t o = from; o + ETL_BUFFER_HEADER_SIZE <= fsize; o++) {
        if (resync_buffer_at(t, o, fsize)) return o;
        if (!(o & 0xFFFFF)) release_behind(t, &released, o);
    }
    return fsize;
}

/* Long scans over unusable space touch every page: hand them back as the scan goes, so that
 * resident memory stays bounded (the scan of a 200 MB run of zeros must not keep 200 MB). */
static void release_behind(EtlTrace *t, uint64_t *released, uint64_t pos)
{
    if (pos - *released < (16u << 20)) return;
    etl_source_release(t->src, *released, (size_t)(pos - *released));
    *released = pos;
}

/* Record a run of unusable bytes [off, end) as one index entry: a stretch of unwritten space
 * or of garbage costs one entry and one diagnostic, not one per slot (a file of zeros with a
 * tiny session size must not grow the index and the diagnostics with the file). */
static void add_unusable(EtlTrace *t, const EtlBufferInfo *first, uint64_t end, bool unwritten)
{
    EtlBufferInfo bi = *first;
    bi.span = end - first->file_offset;
    bi.usable = false;
    bi.unwritten = unwritten;
    t->stats.bytes_skipped += bi.span;
    t->stats.buffers_skipped++;
    g_array_append_val(t->buffers, bi);
    etl_source_release(t->src, first->file_offset, (size_t)MIN(bi.span, (uint64_t)SIZE_MAX));
}

/* First CPU index above the header's CPU count: diagnosed once per CPU.  Traces of machines with
 * 64 or more CPUs (processor groups) can use indexes beyond NumberOfProcessors, so only smaller
 * machines are checked. */
static void check_cpu(EtlTrace *t, const EtlBufferInfo *bi)
{
    uint16_t cpu = bi->hdr.cpu;
    if (!t->hdr.cpus || t->hdr.cpus >= 64 || cpu < t->hdr.cpus) return;
    if (!t->cpu_diagnosed) t->cpu_diagnosed = g_new0(uint8_t, 65536 / 8);
    if (t->cpu_diagnosed[cpu / 8] & (1u << (cpu % 8))) return;
    t->cpu_diagnosed[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
    etl_trace_diag(t, ETL_DIAG_CPU_RANGE, bi->file_offset, bi->index, cpu,
                   "buffer CPU %u is beyond the %u CPUs of the header", cpu, t->hdr.cpus);
}

static void index_buffers(EtlTrace *t)
{
    uint64_t fsize = etl_source_size(t->src);
    uint32_t session = t->hdr.buffer_size;
    bool compressed_mode = (t->hdr.log_file_mode & ETL_MODE_COMPRESSED) != 0;
    uint64_t off = 0;

    while (off < fsize) {
        uint32_t idx = t->buffers->len;
        bool compressed_file = compressed_mode || t->file_compressed;
        if (fsize - off < ETL_BUFFER_HEADER_SIZE) {
            const uint8_t *rest = etl_source_get(t->src, off, (size_t)(fsize - off));
            if (!all_bytes(rest, (size_t)(fsize - off), 0) && !all_bytes(rest, (size_t)(fsize - off), 0xFF))
                etl_trace_diag(t, ETL_DIAG_FILE_TRUNCATED, off, UINT32_MAX, -1,
                               "file ends with %" G_GUINT64_FORMAT " bytes, too short for a buffer header",
                               fsize - off);
            t->stats.bytes_skipped += fsize - off;
            break;
        }
        const uint8_t *p = etl_source_get(t->src, off, ETL_BUFFER_HEADER_SIZE);
        EtlBufferInfo bi = { .file_offset = off, .index = idx };
        etl_buffer_header_parse(p, &bi.hdr);
        const EtlBufferHeader *h = &bi.hdr;

        /* Unwritten (zero) space: preallocated files and unwritten circular slots; the whole
         * run is one entry. */
        if (all_bytes(p, ETL_BUFFER_HEADER_SIZE, 0)) {
            uint64_t end = off, released = off;
            if (!compressed_file && session) {
                do {
                    end += MIN((uint64_t)session, fsize - end);
                    release_behind(t, &released, end);
                } while (end + ETL_BUFFER_HEADER_SIZE <= fsize &&
                         all_bytes(etl_source_get(t->src, end, ETL_BUFFER_HEADER_SIZE), ETL_BUFFER_HEADER_SIZE, 0));
            } else {
                /* compressed buffers can start anywhere: the run ends at the next non-zero byte */
                const uint8_t *q = etl_source_get(t->src, off, (size_t)(fsize - off));
                end = off;
                while (end < fsize && q[end - off] == 0) {
                    end++;
                    if (!(end & 0xFFFFF)) release_behind(t, &released, end);
                }
            }
            if (!(t->hdr.log_file_mode & (ETL_MODE_PREALLOCATE | ETL_MODE_CIRCULAR)))
                etl_trace_diag(t, ETL_DIAG_BUFFER_HEADER, off, idx, -1,
                               "zero-filled buffer (unwritten space), %" G_GUINT64_FORMAT " bytes skipped", end - off);
            else
                t->stats.buffers_unwritten++;
            add_unusable(t, &bi, end, true);
            off = end;
            continue;
        }

        bool comp = (h->flags & ETL_BUFFER_FLAG_COMPRESSED) != 0;
        bool header_ok = h->buffer_size >= ETL_BUFFER_HEADER_SIZE + 8 && h->buffer_size <= ETL_MAX_BUFFER_SIZE &&
                         h->type <= 8;
        if (!header_ok) {
            /* Resynchronise: uncompressed buffers all have the session size, so step slot by slot
             * over the garbage; compressed ones are variable, so scan for a header that chains. */
            uint64_t end;
            if (!compressed_file && session) {
                end = off;
                uint64_t released = off;
                do {
                    end += MIN((uint64_t)session, fsize - end);
                    release_behind(t, &released, end);
                } while (end + ETL_BUFFER_HEADER_SIZE <= fsize && !buffer_starts_at(t, end, fsize));
            } else {
                end = next_resync(t, off + 1, fsize);
            }
            etl_trace_diag(t, ETL_DIAG_BUFFER_HEADER, off, idx, -1,
                           "implausible buffer header (BufferSize 0x%x, type %u, flags 0x%x); %" G_GUINT64_FORMAT
                           " bytes skipped to the next buffer",
                           h->buffer_size, h->type, h->flags, end - off);
            add_unusable(t, &bi, end, false);
            off = end;
            continue;
        }

        if (comp) t->file_compressed = true;
        uint64_t stride = h->buffer_size;
        uint32_t extent = MAX(h->saved_offset, h->offset); /* §1.5: header buffers may have SavedOffset 0 */
        bi.compressed = comp;
        bi.usable = true;

        /* A BufferSize that differs from the session size and leads nowhere (past the end of the
         * file, or to no buffer) while the session size leads to a buffer is a corrupt field:
         * uncompressed buffers all have the session size (ETL_CONTAINER.md §6.3), so step by
         * that; otherwise every buffer after this one would be lost. */
        bool resized = false;
        if (!comp && !compressed_file && h->buffer_size != session &&
            !buffer_starts_at(t, off + stride, fsize) && buffer_starts_at(t, off + session, fsize)) {
            etl_trace_diag(t, ETL_DIAG_BUFFER_SIZE, off, idx, h->cpu,
                           "buffer size 0x%x %s; read as the session buffer size 0x%x", h->buffer_size,
                           stride > fsize - off ? "runs past the end of the file" : "is not followed by a buffer",
                           session);
            stride = session;
            resized = true;
        }
        /* A compressed buffer's size is its only link to the next one: when it leads to neither a
         * buffer nor the end of the file, the field (or the buffer) is corrupt.  Skip to the next
         * buffer that chains instead of trusting it (which could swallow megabytes). */
        if (comp && idx > 0 && stride <= fsize - off && !buffer_starts_at(t, off + stride, fsize)) {
            uint64_t end = next_resync(t, off + 1, fsize);
            etl_trace_diag(t, ETL_DIAG_BUFFER_SIZE, off, idx, h->cpu,
                           "compressed buffer of 0x%x bytes is not followed by a buffer; %" G_GUINT64_FORMAT
                           " bytes skipped to the next buffer",
                           h->buffer_size, end - off);
            add_unusable(t, &bi, end, false);
            off = end;
            continue;
        }
        if (stride > fsize - off) {
            etl_trace_diag(t, ETL_DIAG_BUFFER_TRUNCATED, off, idx, h->cpu,
                           "buffer of %u bytes runs past the end of the file (%" G_GUINT64_FORMAT " bytes left)",
                           h->buffer_size, fsize - off);
            stride = fsize - off;
            if (comp) bi.usable = false;
        }
        if (comp) {
            if (extent < ETL_BUFFER_HEADER_SIZE || extent > MAX(session, (uint32_t)ETL_BUFFER_HEADER_SIZE) ||
                idx == 0) {
                if (bi.usable)
                    etl_trace_diag(t, ETL_DIAG_BUFFER_HEADER, off, idx, h->cpu,
                                   "compressed buffer with implausible uncompressed size 0x%x (session buffers are 0x%x)",
                                   extent, session);
                bi.usable = false;
            } else if (bi.usable && extent - ETL_BUFFER_HEADER_SIZE >
                                         MAX((uint64_t)4096, MAX_XPRESS_RATIO * (stride - ETL_BUFFER_HEADER_SIZE))) {
                etl_trace_diag(t, ETL_DIAG_BUFFER_HEADER, off, idx, h->cpu,
                               "compressed buffer of %" G_GUINT64_FORMAT " bytes claims an uncompressed size of 0x%x, "
                               "over %u times as much",
                               stride, extent, MAX_XPRESS_RATIO);
                bi.usable = false;
            }
            bi.events_end = extent;
        } else {
            if (h->buffer_size != session && idx > 0 && !resized)
                etl_trace_diag(t, ETL_DIAG_BUFFER_SIZE, off, idx, h->cpu,
                               "buffer size 0x%x differs from the session buffer size 0x%x", h->buffer_size, session);
            bi.events_end = (uint32_t)MIN((uint64_t)extent, stride);
        }
        /* Relogged Windows 7 traces carry logger id 0 in the header buffer and 0x8001 in every
         * data buffer (docs/format-notes.md), so data buffers are compared with each other. */
        if (idx > 0) {
            if (!t->have_data_logger_id) {
                t->data_logger_id = h->logger_id;
                t->have_data_logger_id = true;
            } else if (h->logger_id != t->data_logger_id) {
                etl_trace_diag(t, ETL_DIAG_LOGGER_ID, off, idx, h->cpu,
                               "buffer belongs to logger %u, the trace's other buffers to logger %u",
                               h->logger_id, t->data_logger_id);
            }
        }
        check_cpu(t, &bi);
        bi.span = stride;
        if (bi.usable) {
            if ((uint32_t)h->cpu + 1 > t->cpu_slots) t->cpu_slots = h->cpu + 1u;
            if (comp) t->stats.compressed_buffers++;
            t->stats.buffers++;
        } else {
            t->stats.buffers_skipped++;
            t->stats.bytes_skipped += stride;
        }
        g_array_append_val(t->buffers, bi);
        /* Reading the header faulted in the pages around it (the kernel maps neighbouring
         * cached pages too): let them go, or indexing alone would make the whole file resident. */
        etl_source_release(t->src, off, (size_t)stride);
        off += stride;
    }
}

EtlTrace *etl_trace_open(EtlSource *src, const EtlOpenOptions *opts, GError **error)
{
    uint64_t fsize = etl_source_size(src);
    const char *name = etl_source_name(src);
    if (fsize == 0) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_EMPTY, "%s is empty (0 bytes): not an ETL trace", name);
        etl_source_free(src);
        return NULL;
    }
    const uint8_t *p = etl_source_get(src, 0, (size_t)MIN(fsize, (uint64_t)0x200));
    if (!looks_like_header_buffer(p, fsize)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_NOT_ETL,
                    "%s is not an ETL trace (no log-file header at offset 0x48)", name);
        etl_source_free(src);
        return NULL;
    }
    EtlBufferHeader bh;
    etl_buffer_header_parse(p, &bh);
    uint32_t hsize = etl_rd16(p + ETL_BUFFER_HEADER_SIZE + 4);
    uint64_t buf_end = MIN((uint64_t)bh.buffer_size, fsize);
    if (bh.buffer_size < ETL_BUFFER_HEADER_SIZE + 0x20 || ETL_BUFFER_HEADER_SIZE + (uint64_t)hsize > buf_end) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_CORRUPT,
                    "%s: corrupt header buffer (BufferSize 0x%x, log-file header event of %u bytes, file %" G_GUINT64_FORMAT
                    " bytes)",
                    name, bh.buffer_size, hsize, fsize);
        etl_source_free(src);
        return NULL;
    }
    const uint8_t *ev = etl_source_get(src, ETL_BUFFER_HEADER_SIZE, hsize);

    EtlTrace *t = g_new0(EtlTrace, 1);
    t->src = src;
    t->max_diags = opts && opts->max_kept_diags ? opts->max_kept_diags : DEFAULT_MAX_DIAGS;
    t->diags = g_new0(EtlDiag, t->max_diags);
    if (opts) {
        t->diag_fn = opts->diag_fn;
        t->diag_user_data = opts->diag_user_data;
    }
    t->buffers = g_array_new(FALSE, FALSE, sizeof(EtlBufferInfo));
    t->stats.bytes_file = fsize;
    t->stats.first_ts = INT64_MAX;
    t->stats.last_ts = INT64_MIN;
    if (!parse_logfile_header(ev, hsize, &t->hdr, error)) {
        g_prefix_error(error, "%s: ", name);
        etl_trace_free(t);
        return NULL;
    }
    t->hdr.logger_id = bh.logger_id;
    if (t->hdr.buffer_size < ETL_BUFFER_HEADER_SIZE + 8 || t->hdr.buffer_size > ETL_MAX_BUFFER_SIZE) {
        /* The header's session size is only a reference; fall back to the first buffer's, within
         * the format's limit: compressed buffers are decoded into session-sized scratch buffers,
         * so an unchecked size here (up to 4 GiB) would be an allocation the file dictates. */
        uint32_t fallback = MIN(bh.buffer_size, ETL_MAX_BUFFER_SIZE);
        etl_trace_diag(t, ETL_DIAG_BUFFER_SIZE, ETL_BUFFER_HEADER_SIZE + 0x20, 0, 0,
                       "log-file header gives an implausible buffer size 0x%x; using 0x%x", t->hdr.buffer_size,
                       fallback);
        t->hdr.buffer_size = fallback;
    }
    index_buffers(t);
    if (t->cpu_slots == 0) t->cpu_slots = 1;
    return t;
}

EtlTrace *etl_trace_open_file(const char *path, const EtlOpenOptions *opts, GError **error)
{
    EtlSource *s = etl_source_open_file(path, error);
    return s ? etl_trace_open(s, opts, error) : NULL;
}

void etl_trace_free(EtlTrace *t)
{
    if (!t) return;
    etl_source_free(t->src);
    if (t->buffers) g_array_free(t->buffers, TRUE);
    g_free(t->hdr.logger_name);
    g_free(t->hdr.log_file_name);
    g_free(t->diags);
    g_free(t->cpu_diagnosed);
    g_free(t);
}

const EtlLogfileHeader *etl_trace_header(const EtlTrace *t) { return &t->hdr; }
EtlSource *etl_trace_source(EtlTrace *t) { return t->src; }
uint32_t etl_trace_buffer_count(const EtlTrace *t) { return t->buffers->len; }
const EtlBufferInfo *etl_trace_buffer(const EtlTrace *t, uint32_t i)
{
    return i < t->buffers->len ? &g_array_index(t->buffers, EtlBufferInfo, i) : NULL;
}
uint32_t etl_trace_cpu_slots(const EtlTrace *t) { return t->cpu_slots; }
const EtlStats *etl_trace_stats(const EtlTrace *t) { return &t->stats; }
