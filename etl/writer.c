/* writer.c — an ETL writer that emits buffers and events as the Windows kernel logger does.
 *
 * Layouts: ../shared/docs/ETL_CONTAINER.md §1–3.  Details the spec leaves open were taken
 * from the real traces in ../shared/traces:
 *  - compressed buffers are stored back to back with no padding: BufferSize = 0x48 + the
 *    compressed size, which decodes to exactly SavedOffset - 0x48 bytes (the 0xFF fill is not
 *    compressed); the header buffer of a compressed file is cut to a multiple of 512 bytes;
 *  - SavedOffset is always 8-aligned (the last event's alignment gap is included);
 *  - CurrentOffset is SavedOffset plus the aligned size of the event that did not fit, or
 *    plus BufferSize for the buffers flushed when the session stops;
 *  - only the last buffer written at stop carries FLUSH_MARKER (besides the header buffer);
 *  - without PROC_INDEX the ClientContext Alignment byte is 8.
 */
#include "etl-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 0x48u

typedef struct {
    uint8_t *buf;          /* buffer_size bytes once the CPU has had an event */
    uint32_t pos;          /* next event offset; 0 = no open buffer */
    int64_t  max_ts;       /* largest event timestamp in the open buffer */
    int64_t  seq;          /* sequence_at_start: number taken by the open buffer */
    uint16_t extra_flags;
} CpuBuf;

struct EtlWriter {
    EtlWriterConfig cfg;
    char *logger_name, *log_file_name, *tz_std, *tz_dl; /* owned copies of cfg strings */

    /* sink */
    GByteArray *mem;       /* memory writer */
    int   fd;              /* file writer */
    char *path, *tmp_path;
    bool  finished, failed;

    CpuBuf  *cpu;
    uint32_t n_cpu;

    uint8_t *hdr;          /* header buffer image (hdr_size bytes) */
    uint32_t hdr_size, hdr_end;
    uint32_t off_end_time, off_buffers_written; /* within hdr */

    uint8_t *zbuf;         /* compression output */
    size_t   zcap;

    int64_t  next_seq;
    uint64_t file_off;     /* sequential: where the next buffer goes */
    uint64_t n_slots;      /* circular: data slots */
    uint64_t data_buffers; /* data buffers flushed */
    uint64_t file_size;
    uint64_t rng;
    EtlWriterStats stats;
};

/* ------------------------------------------------------------------------------ helpers */

static inline void wr16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static inline void wr32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }
static inline void wr64(uint8_t *p, uint64_t v) { v = GUINT64_TO_LE(v); memcpy(p, &v, 8); }
static inline void wrptr(uint8_t *p, uint64_t v, unsigned psize)
{
    if (psize == 8) wr64(p, v); else wr32(p, (uint32_t)v);
}

static uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* UTF-8 -> UTF-16LE into out (cap bytes, NUL included); returns bytes written. */
static size_t put_utf16(uint8_t *out, size_t cap, const char *s)
{
    glong n = 0;
    gunichar2 *u = g_utf8_to_utf16(s ? s : "", -1, NULL, &n, NULL);
    size_t w = 0;
    for (glong i = 0; u && i < n && w + 4 <= cap; i++, w += 2) wr16(out + w, u[i]);
    if (w + 2 <= cap) { wr16(out + w, 0); w += 2; }
    g_free(u);
    return w;
}

static size_t utf16_size(const char *s)
{
    glong n = 0;
    gunichar2 *u = g_utf8_to_utf16(s ? s : "", -1, NULL, &n, NULL);
    g_free(u);
    return ((size_t)n + 1) * 2;
}

static void fill_gap(EtlWriter *w, uint8_t *p, size_t n)
{
    if (!n) return;
    if (w->cfg.fill == ETL_WRITER_FILL_STALE) {
        uint64_t r = rng_next(&w->rng);
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(r >> (8 * (i & 7)));
    } else {
        memset(p, 0, n);
    }
}

static uint64_t stale_pointer(EtlWriter *w)
{
    /* looks like the kernel list pointers real buffers carry (e.g. 0xffffca868ac52038) */
    return 0xffffca8600000000ull | (rng_next(&w->rng) & 0xfffff000ull) | 0x38u;
}

/* ticks since ts0 -> 100 ns units, per clock type (exact for the common cases) */
static int64_t ticks_to_100ns(const EtlWriterConfig *c, int64_t d)
{
    switch (c->clock_type) {
    case ETL_CLOCK_SYSTEM_TIME:
        return d;
    case ETL_CLOCK_CPU_CYCLES:
        return (int64_t)((__int128)d * 10 / (c->cpu_mhz ? c->cpu_mhz : 1));
    default: {
        int64_t f = c->perf_freq > 0 ? c->perf_freq : 10000000;
        return (int64_t)((__int128)d * 10000000 / f);
    }
    }
}

/* ------------------------------------------------------------------------------ sink */

static bool sink_write(EtlWriter *w, uint64_t off, const void *data, size_t len, GError **error)
{
    if (w->mem) {
        if (off + len > w->mem->len) g_byte_array_set_size(w->mem, (guint)(off + len));
        memcpy(w->mem->data + off, data, len);
    } else {
        const uint8_t *p = data;
        while (len) {
            ssize_t n = pwrite(w->fd, p, len, (off_t)off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                int e = errno;
                g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "Cannot write %s: %s",
                            w->tmp_path, n < 0 ? g_strerror(e) : "short write");
                w->failed = true;
                return false;
            }
            p += n; len -= (size_t)n; off += (uint64_t)n;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------------ config */

void etl_writer_config_init(EtlWriterConfig *c)
{
    memset(c, 0, sizeof *c);
    c->buffer_size = 64 * 1024;
    c->cpus = 1;
    c->pointer_size = 8;
    c->clock_type = ETL_CLOCK_QPC;
    c->perf_freq = 10000000;
    c->start_time = 133497864000000000ll;     /* 2024-01-15T10:00:00Z */
    c->ts0 = 36000000000ll;                    /* 1 h of uptime at 10 MHz */
    c->os_major = 10;
    c->os_build = 19041;
    c->cpu_mhz = 2995;
    c->timer_resolution = 156250;
    c->timer_source[0] = 10;
    c->timer_source[1] = 7;
    c->tz_standard_name = "@tzres.dll,-932";
    c->tz_daylight_name = "@tzres.dll,-931";
    c->logger_name = "NT Kernel Logger";
    c->log_file_name = "C:\\etla\\trace.etl";
    c->log_file_mode = ETL_MODE_SEQUENTIAL | ETL_MODE_SYSTEM_LOGGER;
    c->logger_id = 0x1c;
    c->kernel_event_version = 0x46;
    c->proc_index = true;
}

const EtlWriterConfig *etl_writer_config(const EtlWriter *w) { return &w->cfg; }
const EtlWriterStats *etl_writer_stats(const EtlWriter *w) { return &w->stats; }

static bool check_config(const EtlWriterConfig *c, GError **error)
{
    const char *why = NULL;
    if (c->any_buffer_size && (c->buffer_size < 1024 || c->buffer_size > ETL_MAX_BUFFER_SIZE || c->buffer_size % 8))
        why = "buffer size must be a multiple of 8 from 1 KiB to 16 MiB";
    else if (!c->any_buffer_size && (c->buffer_size < 8 * 1024 || c->buffer_size > 1024 * 1024 || c->buffer_size % 8))
        why = "buffer size must be a multiple of 8 from 8 KiB to 1 MiB";
    else if (c->cpus == 0 || c->cpus > 65535 || (!c->proc_index && c->cpus > 256))
        why = "CPU count out of range";
    else if (c->pointer_size != 4 && c->pointer_size != 8)
        why = "pointer size must be 4 or 8";
    else if (c->cpu_mhz == 0)
        why = "CpuSpeedInMHz must be non-zero";
    else if ((c->clock_type == ETL_CLOCK_QPC || c->clock_type == ETL_CLOCK_RAW) && c->perf_freq <= 0)
        why = "PerfFreq must be positive for a QPC clock";
    else if (c->clock_type > ETL_CLOCK_CPU_CYCLES)
        why = "unknown clock type";
    else if (c->circular_max_bytes && c->compress)
        why = "circular files cannot be compressed (fixed-size slots)";
    if (why) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "Invalid writer configuration: %s", why);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------------ header */

static void put_buffer_header(EtlWriter *w, uint8_t *b, uint32_t buffer_size, uint32_t saved,
                              uint32_t current, int64_t ts, int64_t seq, uint16_t cpu,
                              uint32_t offset, uint16_t flags, uint16_t type, bool stale)
{
    memset(b, 0, HDR);
    wr32(b + 0x00, buffer_size);
    wr32(b + 0x04, saved);
    wr32(b + 0x08, current);
    wr64(b + 0x10, (uint64_t)ts);
    wr64(b + 0x18, (uint64_t)seq);
    if (w->cfg.proc_index) {
        wr16(b + 0x28, cpu);
        flags |= ETL_BUFFER_FLAG_PROC_INDEX;
    } else {
        b[0x28] = (uint8_t)cpu;
        b[0x29] = 8;             /* Alignment: "always eight" (Windows 7 files: 0x0800) */
    }
    wr16(b + 0x2a, w->cfg.logger_id);
    wr32(b + 0x2c, 3);           /* State: Flush */
    wr32(b + 0x30, offset);
    wr16(b + 0x34, flags);
    wr16(b + 0x36, type);
    if (stale) {
        wr64(b + 0x38, stale_pointer(w));
        wr64(b + 0x40, stale_pointer(w));
    }
}

/* Builds the header buffer: SYSTEM header + TRACE_LOGFILE_HEADER + names, EventTrace/Extension,
 * optionally PartitionInfo. */
static void build_header_buffer(EtlWriter *w)
{
    const EtlWriterConfig *c = &w->cfg;
    unsigned P = c->pointer_size;
    uint32_t bs = c->buffer_size;
    uint8_t *b = w->hdr = g_malloc(bs);
    memset(b, 0xFF, bs);

    size_t fixed = P == 8 ? 0x118 : 0x110;
    size_t names = utf16_size(w->logger_name) + utf16_size(w->log_file_name);
    size_t size = 0x20 + fixed + names;
    if (size > 0xFFFF || HDR + size + 0x100 > bs) size = 0; /* absurd names: truncated below */
    if (!size) names = 0, size = 0x20 + fixed;

    uint8_t *e = b + HDR;
    memset(e, 0, size);
    wr16(e + 0, 2);                       /* Version 2 */
    e[2] = P == 8 ? 0x02 : 0x01;
    e[3] = 0xC0;
    wr16(e + 4, (uint16_t)size);
    wr16(e + 6, 0x0000);                  /* HookId: EventTrace/Header */
    wr32(e + 8, c->header_tid);
    wr32(e + 12, c->header_pid);
    wr64(e + 16, (uint64_t)c->ts0);

    uint8_t *h = e + 0x20;
    uint8_t lmaj = c->layout_major, lmin = c->layout_minor;
    if (!lmaj && !lmin) {
        bool v2 = c->compress || bs > 1024 * 1024 || c->cpus > 256;
        lmaj = v2 ? 2 : 1;
        lmin = v2 ? 0 : 5;
    }
    uint32_t mode = c->log_file_mode, maxfs = c->max_file_size;
    if (c->circular_max_bytes) {
        mode = (mode & ~ETL_MODE_SEQUENTIAL) | ETL_MODE_CIRCULAR;
        if (c->circular_max_bytes % (1024 * 1024) == 0) {
            maxfs = (uint32_t)(c->circular_max_bytes / (1024 * 1024));
            mode &= ~0x2000u;
        } else {
            maxfs = (uint32_t)(c->circular_max_bytes / 1024);
            mode |= 0x2000u;          /* USE_KBYTES_FOR_SIZE */
        }
    }
    if (c->compress) mode |= ETL_MODE_COMPRESSED;

    wr32(h + 0x00, bs);
    h[0x04] = c->os_major;
    h[0x05] = c->os_minor;
    h[0x06] = lmaj;
    h[0x07] = lmin;
    wr32(h + 0x08, c->os_build);
    wr32(h + 0x0C, c->cpus);
    /* 0x10 EndTime: patched at finish */
    wr32(h + 0x18, c->timer_resolution);
    wr32(h + 0x1C, maxfs);
    wr32(h + 0x20, mode);
    /* 0x24 BuffersWritten: patched at finish */
    wr32(h + 0x28, 1);                    /* StartBuffers */
    wr32(h + 0x2C, P);
    wr32(h + 0x30, c->events_lost);
    wr32(h + 0x34, c->cpu_mhz);
    wrptr(h + 0x38, c->timer_source[0], P);
    wrptr(h + 0x38 + P, c->timer_source[1], P);
    uint8_t *tz = h + 0x38 + 2 * P;
    wr32(tz + 0, (uint32_t)c->tz_bias);
    put_utf16(tz + 4, 64, w->tz_std);
    wr32(tz + 84, 0);                     /* StandardBias */
    put_utf16(tz + 88, 64, w->tz_dl);
    wr32(tz + 168, (uint32_t)-60);        /* DaylightBias, as in every real sample */
    uint8_t *t = tz + 176;                /* 172 bytes + 4 padding */
    int64_t boot = c->boot_time;
    if (!boot) boot = c->start_time - ticks_to_100ns(c, c->ts0);
    wr64(t + 0, (uint64_t)boot);
    wr64(t + 8, (uint64_t)c->perf_freq);
    wr64(t + 16, (uint64_t)c->start_time);
    wr32(t + 24, c->clock_type);
    wr32(t + 28, c->buffers_lost);
    if (names) {
        size_t n1 = put_utf16(t + 32, names, w->logger_name);
        put_utf16(t + 32 + n1, names - n1, w->log_file_name);
    }
    w->off_end_time = (uint32_t)(h + 0x10 - b);
    w->off_buffers_written = (uint32_t)(h + 0x24 - b);

    uint32_t pos = HDR + (uint32_t)((size + 7) & ~(size_t)7);
    memset(e + size, 0, (pos - HDR) - size);

    /* EventTrace/Extension: 8 group masks + KernelEventVersion, same identity as the header */
    e = b + pos;
    memset(e, 0, 0x20 + 36);
    wr16(e + 0, 2);
    e[2] = P == 8 ? 0x02 : 0x01;
    e[3] = 0xC0;
    wr16(e + 4, 0x20 + 36);
    wr16(e + 6, 0x0005);
    wr32(e + 8, c->header_tid);
    wr32(e + 12, c->header_pid);
    wr64(e + 16, (uint64_t)c->ts0);
    for (int i = 0; i < 8; i++) wr32(e + 0x20 + 4 * i, c->group_masks[i]);
    wr32(e + 0x20 + 32, c->kernel_event_version);
    pos += 0x48;                          /* 0x44 aligned */
    memset(b + pos - 4, 0, 4);

    if (c->partition_info) {              /* v0: u16 ver, u16 res, u32 type, i64, 2 GUIDs */
        e = b + pos;
        memset(e, 0, 0x50);
        wr16(e + 0, 2);
        e[2] = P == 8 ? 0x02 : 0x01;
        e[3] = 0xC0;
        wr16(e + 4, 0x50);
        wr16(e + 6, 0x0050);
        wr32(e + 8, c->header_tid);
        wr32(e + 12, c->header_pid);
        wr64(e + 16, (uint64_t)c->ts0);
        pos += 0x50;
    }
    w->hdr_end = pos;

    bool compact = c->compress && !c->full_header_buffer;
    w->hdr_size = compact ? ((pos + 511) & ~511u) : bs;
    uint32_t saved = c->header_quirk ? 0 : pos;
    put_buffer_header(w, b, w->hdr_size, saved, pos, 0, 0, 0, pos,
                      ETL_BUFFER_FLAG_FLUSH_MARKER, ETL_BUFFER_TYPE_HEADER, false);
}

/* ------------------------------------------------------------------------------ lifecycle */

static EtlWriter *writer_new(const EtlWriterConfig *cfg, GError **error)
{
    if (!check_config(cfg, error)) return NULL;
    EtlWriter *w = g_new0(EtlWriter, 1);
    w->cfg = *cfg;
    w->fd = -1;
    w->logger_name = g_strdup(cfg->logger_name ? cfg->logger_name : "");
    w->log_file_name = g_strdup(cfg->log_file_name ? cfg->log_file_name : "");
    w->tz_std = g_strdup(cfg->tz_standard_name ? cfg->tz_standard_name : "");
    w->tz_dl = g_strdup(cfg->tz_daylight_name ? cfg->tz_daylight_name : "");
    w->cfg.logger_name = w->logger_name;
    w->cfg.log_file_name = w->log_file_name;
    w->cfg.tz_standard_name = w->tz_std;
    w->cfg.tz_daylight_name = w->tz_dl;
    w->rng = cfg->fill_seed ^ 0x5eed5eed5eedull;
    /* CPU slots beyond the header's count are allowed (bad-input tests, >64-CPU traces) */
    w->n_cpu = cfg->proc_index ? MAX(cfg->cpus, 1024u) : 256;
    w->cpu = g_new0(CpuBuf, w->n_cpu);
    if (cfg->compress) {
        w->zcap = etl_xpress_bound(cfg->buffer_size);
        w->zbuf = g_malloc(w->zcap);
    }
    build_header_buffer(w);
    w->next_seq = 1;
    w->file_off = w->hdr_size;
    w->file_size = w->hdr_size;
    if (cfg->circular_max_bytes) {
        uint64_t room = cfg->circular_max_bytes > w->hdr_size ? cfg->circular_max_bytes - w->hdr_size : 0;
        w->n_slots = room / cfg->buffer_size;
        if (w->n_slots == 0) {
            g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID,
                        "Invalid writer configuration: circular size %" G_GUINT64_FORMAT
                        " holds no data buffer", cfg->circular_max_bytes);
            etl_writer_free(w);
            return NULL;
        }
    }
    w->stats.first_ts = INT64_MAX;
    w->stats.last_ts = INT64_MIN;
    w->stats.buffers = 1;
    w->stats.bytes = w->hdr_size;
    return w;
}

EtlWriter *etl_writer_new_memory(const EtlWriterConfig *cfg, GError **error)
{
    EtlWriter *w = writer_new(cfg, error);
    if (!w) return NULL;
    w->mem = g_byte_array_new();
    g_byte_array_set_size(w->mem, w->hdr_size);
    memset(w->mem->data, 0, w->hdr_size);
    return w;
}

static EtlWriterTmpObserver tmp_observer;

void etl_writer_set_tmp_observer(EtlWriterTmpObserver fn) { tmp_observer = fn; }

EtlWriter *etl_writer_new_file(const char *path, const EtlWriterConfig *cfg, GError **error)
{
    EtlWriter *w = writer_new(cfg, error);
    if (!w) return NULL;
    w->path = g_strdup(path);
    char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
    char *tmpl = g_strdup_printf(".%s.XXXXXX", base);
    w->tmp_path = g_build_filename(dir, tmpl, NULL);
    g_free(dir);
    g_free(base);
    g_free(tmpl);
    w->fd = g_mkstemp_full(w->tmp_path, O_RDWR | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int e = errno;
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "Cannot create %s (temporary file %s): %s",
                    path, w->tmp_path, g_strerror(e));
        g_free(w->tmp_path);
        w->tmp_path = NULL;
        etl_writer_free(w);
        return NULL;
    }
    if (tmp_observer) tmp_observer(w->tmp_path);
    return w;
}

void etl_writer_free(EtlWriter *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (w->tmp_path && !w->finished) g_unlink(w->tmp_path);
    if (w->tmp_path && tmp_observer) tmp_observer(NULL);
    for (uint32_t i = 0; i < w->n_cpu; i++) g_free(w->cpu[i].buf);
    g_free(w->cpu);
    g_free(w->hdr);
    g_free(w->zbuf);
    if (w->mem) g_byte_array_unref(w->mem);
    g_free(w->path);
    g_free(w->tmp_path);
    g_free(w->logger_name);
    g_free(w->log_file_name);
    g_free(w->tz_std);
    g_free(w->tz_dl);
    g_free(w);
}

uint8_t *etl_writer_steal_memory(EtlWriter *w, size_t *len)
{
    if (!w->mem || !w->finished) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = w->mem->len;
    uint8_t *d = g_byte_array_free(w->mem, FALSE);
    w->mem = NULL;
    return d;
}

/* ------------------------------------------------------------------------------ buffers */

/* Write CPU c's open buffer.  reserve: aligned size of the event that did not fit (0 when
 * flushed at stop or on request, which mark the buffer full by advancing CurrentOffset by a
 * whole BufferSize, as real stop-time buffers show). */
static bool flush_cpu(EtlWriter *w, uint16_t cpu, int64_t flush_ts, uint32_t reserve,
                      uint16_t flags, GError **error)
{
    CpuBuf *c = &w->cpu[cpu];
    if (!c->pos) return true;
    uint32_t bs = w->cfg.buffer_size, end = c->pos;
    uint8_t *b = c->buf;
    int64_t seq = w->cfg.sequence_at_start ? c->seq : w->next_seq++;
    int64_t ts = c->max_ts > flush_ts ? c->max_ts : flush_ts;
    if (ts == INT64_MIN) ts = w->stats.last_ts != INT64_MIN ? w->stats.last_ts : w->cfg.ts0;
    uint32_t cur = end + (reserve ? reserve : bs);
    bool stale = w->cfg.fill == ETL_WRITER_FILL_STALE;
    flags |= c->extra_flags;

    uint32_t ondisk = bs;
    size_t clen = 0;
    if (w->cfg.compress && end > HDR) {
        clen = etl_xpress_compress(b + HDR, end - HDR, w->zbuf);
        if (clen > 0 && clen < end - HDR) {
            ondisk = HDR + (uint32_t)clen;
            flags |= ETL_BUFFER_FLAG_COMPRESSED;
        } else {
            clen = 0; /* incompressible: stored plain at full size */
        }
    }
    put_buffer_header(w, b, ondisk, end, cur, ts, seq, cpu, end, flags, ETL_BUFFER_TYPE_GENERIC,
                      stale);

    uint64_t off;
    if (w->n_slots) {
        off = w->hdr_size + (w->data_buffers % w->n_slots) * (uint64_t)bs;
        if (w->data_buffers >= w->n_slots) w->stats.buffers_overwritten++;
    } else {
        off = w->file_off;
        w->file_off += ondisk;
    }
    bool ok;
    if (clen) {
        ok = sink_write(w, off, b, HDR, error) && sink_write(w, off + HDR, w->zbuf, clen, error);
        w->stats.compressed_buffers++;
    } else {
        memset(b + end, 0xFF, bs - end);
        ok = sink_write(w, off, b, bs, error);
    }
    if (off + ondisk > w->file_size) w->file_size = off + ondisk;
    w->stats.bytes = w->file_size;
    w->data_buffers++;
    w->stats.buffers++;
    c->pos = 0;
    c->extra_flags = 0;
    return ok;
}

static bool usable(EtlWriter *w, GError **error)
{
    if (w->finished || w->failed) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "Writer is %s",
                    w->finished ? "finished" : "in error");
        return false;
    }
    return true;
}

/* Room for an event of size bytes on cpu; returns where to write it (size bytes, the
 * alignment gap is filled here). */
static uint8_t *reserve(EtlWriter *w, uint16_t cpu, size_t size, int64_t ts, bool has_ts,
                        GError **error)
{
    if (!usable(w, error)) return NULL;
    uint32_t bs = w->cfg.buffer_size;
    size_t aligned = (size + 7) & ~(size_t)7;
    if (size < 8 || size > 0xFFFF || aligned > bs - HDR) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID,
                    "Cannot write an event of %zu bytes in %u-byte buffers", size, bs);
        return NULL;
    }
    if (cpu >= w->n_cpu) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "CPU %u cannot be represented", cpu);
        return NULL;
    }
    CpuBuf *c = &w->cpu[cpu];
    if (c->pos && c->pos + aligned > bs) {
        if (!flush_cpu(w, cpu, has_ts ? ts : c->max_ts, (uint32_t)aligned, 0, error)) return NULL;
    }
    if (!c->pos) {
        if (!c->buf) c->buf = g_malloc(bs);
        c->pos = HDR;
        c->max_ts = INT64_MIN;
        if (w->cfg.sequence_at_start) c->seq = w->next_seq++;
    }
    uint8_t *p = c->buf + c->pos;
    fill_gap(w, p + size, aligned - size);
    c->pos += (uint32_t)aligned;
    if (has_ts) {
        if (ts > c->max_ts) c->max_ts = ts;
        if (ts < w->stats.first_ts) w->stats.first_ts = ts;
        if (ts > w->stats.last_ts) w->stats.last_ts = ts;
    }
    w->stats.events++;
    return p;
}

bool etl_writer_raw_buffer(EtlWriter *w, const void *buf, size_t len, GError **error)
{
    if (!usable(w, error)) return false;
    if (len < HDR || len > ETL_MAX_BUFFER_SIZE || (w->n_slots && len != w->cfg.buffer_size)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "Cannot write a raw buffer of %zu bytes", len);
        return false;
    }
    uint64_t off;
    if (w->n_slots) {
        off = w->hdr_size + (w->data_buffers % w->n_slots) * (uint64_t)w->cfg.buffer_size;
        if (w->data_buffers >= w->n_slots) w->stats.buffers_overwritten++;
    } else {
        off = w->file_off;
        w->file_off += len;
    }
    if (!sink_write(w, off, buf, len, error)) return false;
    int64_t ts = (int64_t)etl_rd64((const uint8_t *)buf + 0x10);
    if (ts > 0 && ts > w->stats.last_ts) w->stats.last_ts = ts;
    if (off + len > w->file_size) w->file_size = off + len;
    w->stats.bytes = w->file_size;
    w->data_buffers++;
    w->stats.buffers++;
    return true;
}

bool etl_writer_flush_cpu(EtlWriter *w, uint16_t cpu, uint16_t extra_flags, GError **error)
{
    if (!usable(w, error)) return false;
    if (cpu >= w->n_cpu) return true;
    CpuBuf *c = &w->cpu[cpu];
    return flush_cpu(w, cpu, c->max_ts, 0, extra_flags, error);
}

bool etl_writer_finish(EtlWriter *w, GError **error)
{
    if (!usable(w, error)) return false;
    int64_t stop = w->stats.last_ts != INT64_MIN ? w->stats.last_ts : w->cfg.ts0;
    int last = -1;
    for (uint32_t i = 0; i < w->n_cpu; i++)
        if (w->cpu[i].pos) last = (int)i;
    for (int i = 0; i <= last; i++) {
        if (!w->cpu[i].pos) continue;
        uint16_t f = i == last ? ETL_BUFFER_FLAG_FLUSH_MARKER : 0;
        if (!flush_cpu(w, (uint16_t)i, stop, 0, f, error)) return false;
    }
    int64_t end = w->cfg.end_time;
    if (!end) end = w->cfg.start_time + ticks_to_100ns(&w->cfg, stop - w->cfg.ts0);
    wr64(w->hdr + w->off_end_time, (uint64_t)end);
    wr32(w->hdr + w->off_buffers_written, (uint32_t)w->stats.buffers);
    if (!sink_write(w, 0, w->hdr, w->hdr_size, error)) return false;
    if (!w->mem) {
        if (fsync(w->fd) != 0 || close(w->fd) != 0) {
            int e = errno;
            w->fd = -1;
            w->failed = true;
            g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "Cannot write %s: %s", w->tmp_path,
                        g_strerror(e));
            return false;
        }
        w->fd = -1;
        if (g_rename(w->tmp_path, w->path) != 0) {
            int e = errno;
            w->failed = true;
            g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "Cannot rename %s to %s: %s",
                        w->tmp_path, w->path, g_strerror(e));
            return false;
        }
    }
    w->finished = true;
    if (w->tmp_path && tmp_observer) tmp_observer(NULL); /* renamed: nothing to remove any more */
    return true;
}

/* ------------------------------------------------------------------------------ events */

bool etl_writer_kernel(EtlWriter *w, const EtlWriterKernel *ev, const void *payload,
                       size_t len, GError **error)
{
    unsigned P = ev->pointer_size ? ev->pointer_size : w->cfg.pointer_size;
    size_t hsz = ev->header == ETL_WRITER_SYSTEM ? 0x20 : ev->header == ETL_WRITER_COMPACT ? 0x18 : 0x10;
    unsigned n_pmc = ev->n_pmc & 7;
    size_t extra = (ev->has_pebs ? 8 : 0) + 8 * (size_t)n_pmc;
    size_t size = hsz + extra + len;
    uint8_t *p = reserve(w, ev->cpu, size, ev->timestamp, true, error);
    if (!p) return false;
    uint16_t ver = (uint16_t)(ev->version | n_pmc << 8 | (ev->has_pebs ? 0x8000u : 0));
    uint8_t type;
    switch (ev->header) {
    case ETL_WRITER_SYSTEM: type = P == 8 ? 0x02 : 0x01; break;
    case ETL_WRITER_COMPACT: type = P == 8 ? 0x04 : 0x03; break;
    default: type = P == 8 ? 0x11 : 0x10; break;
    }
    wr16(p, ver);
    p[2] = type;
    p[3] = 0xC0;
    wr16(p + 4, (uint16_t)size);
    p[6] = ev->opcode;
    p[7] = ev->group;
    uint8_t *q;
    if (ev->header == ETL_WRITER_PERFINFO) {
        wr64(p + 8, (uint64_t)ev->timestamp);
        q = p + 0x10;
    } else {
        wr32(p + 8, ev->tid);
        wr32(p + 12, ev->pid);
        wr64(p + 16, (uint64_t)ev->timestamp);
        if (ev->header == ETL_WRITER_SYSTEM) {
            wr32(p + 0x18, ev->kernel_time);
            wr32(p + 0x1C, ev->user_time);
        }
        q = p + hsz;
    }
    if (ev->has_pebs) { wr64(q, ev->pebs_index); q += 8; }
    for (unsigned i = 0; i < n_pmc; i++, q += 8) wr64(q, ev->pmc ? ev->pmc[i] : 0);
    if (len) memcpy(q, payload, len);
    return true;
}

bool etl_writer_classic(EtlWriter *w, const EtlWriterClassic *ev, const void *payload,
                        size_t len, GError **error)
{
    unsigned P = ev->pointer_size ? ev->pointer_size : w->cfg.pointer_size;
    size_t hsz = ev->instance ? 0x48 : 0x30;
    size_t size = hsz + len;
    uint8_t *p = reserve(w, ev->cpu, size, ev->timestamp, true, error);
    if (!p) return false;
    wr16(p, (uint16_t)size);
    p[2] = ev->instance ? (P == 8 ? 0x15 : 0x0B) : (P == 8 ? 0x14 : 0x0A);
    p[3] = 0xC0;
    p[4] = ev->type;
    p[5] = ev->level;
    wr16(p + 6, ev->version);
    wr32(p + 8, ev->tid);
    wr32(p + 12, ev->pid);
    wr64(p + 16, (uint64_t)ev->timestamp);
    etl_guid_write(&ev->guid, p + 0x18);
    wr32(p + 0x28, ev->kernel_time);
    wr32(p + 0x2C, ev->user_time);
    if (ev->instance) {
        wr32(p + 0x30, ev->instance_id);
        wr32(p + 0x34, ev->parent_instance_id);
        etl_guid_write(&ev->parent_guid, p + 0x38);
    }
    if (len) memcpy(p + hsz, payload, len);
    return true;
}

bool etl_writer_event(EtlWriter *w, const EtlWriterEvent *ev, const void *payload, size_t len,
                      GError **error)
{
    unsigned P = ev->pointer_size ? ev->pointer_size : w->cfg.pointer_size;
    size_t ext = 0;
    for (uint32_t i = 0; i < ev->n_ext; i++) ext += 8 + (((size_t)ev->ext[i].size + 7) & ~(size_t)7);
    size_t size = 0x50 + ext + len;
    if (ev->n_ext > ETL_MAX_EXT_ITEMS * 4 || size > 0xFFFF) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "EVENT_HEADER event too large");
        return false;
    }
    uint8_t *p = reserve(w, ev->cpu, size, ev->timestamp, true, error);
    if (!p) return false;
    uint16_t flags = ev->flags | (ev->n_ext ? ETL_EVENT_FLAG_EXTENDED_INFO : 0);
    wr16(p, (uint16_t)size);
    p[2] = P == 8 ? 0x13 : 0x12;
    p[3] = 0xC0;
    wr16(p + 4, flags);
    wr16(p + 6, ev->event_property);
    wr32(p + 8, ev->tid);
    wr32(p + 12, ev->pid);
    wr64(p + 16, (uint64_t)ev->timestamp);
    etl_guid_write(&ev->provider, p + 0x18);
    wr16(p + 0x28, ev->id);
    p[0x2A] = ev->version;
    p[0x2B] = ev->channel;
    p[0x2C] = ev->level;
    p[0x2D] = ev->opcode;
    wr16(p + 0x2E, ev->task);
    wr64(p + 0x30, ev->keyword);
    if (flags & (ETL_EVENT_FLAG_PRIVATE_SESSION | ETL_EVENT_FLAG_NO_CPUTIME)) {
        wr64(p + 0x38, ev->processor_time);
    } else {
        wr32(p + 0x38, ev->kernel_time);
        wr32(p + 0x3C, ev->user_time);
    }
    etl_guid_write(&ev->activity_id, p + 0x40);
    uint8_t *q = p + 0x50;
    for (uint32_t i = 0; i < ev->n_ext; i++) {
        size_t item = 8 + (((size_t)ev->ext[i].size + 7) & ~(size_t)7);
        wr16(q, (uint16_t)item);
        wr16(q + 2, ev->ext[i].type);
        wr16(q + 4, i + 1 < ev->n_ext ? 1 : 0);
        wr16(q + 6, ev->ext[i].size);
        if (ev->ext[i].size) memcpy(q + 8, ev->ext[i].data, ev->ext[i].size);
        memset(q + 8 + ev->ext[i].size, 0, item - 8 - ev->ext[i].size);
        q += item;
    }
    if (len) memcpy(q, payload, len);
    return true;
}

bool etl_writer_message(EtlWriter *w, const EtlWriterMessage *ev, const void *args, size_t len,
                        GError **error)
{
    uint16_t f = ev->flags;
    size_t hsz = 8;
    if (f & ETL_MSG_SEQUENCE) hsz += 4;
    if (f & ETL_MSG_COMPONENT_ID) hsz += 4;
    else if (f & ETL_MSG_GUID) hsz += 16;
    bool has_ts = (f & (ETL_MSG_TIMESTAMP | ETL_MSG_PERF_TIMESTAMP)) != 0;
    if (has_ts) hsz += 8;
    if (f & ETL_MSG_SYSTEMINFO) hsz += 8;
    size_t size = hsz + len;
    uint8_t *p = reserve(w, ev->cpu, size, ev->timestamp, has_ts, error);
    if (!p) return false;
    wr16(p, (uint16_t)size);
    p[2] = 0;
    p[3] = 0x90;
    wr16(p + 4, ev->message_number);
    wr16(p + 6, f);
    uint8_t *q = p + 8;
    if (f & ETL_MSG_SEQUENCE) { wr32(q, ev->sequence); q += 4; }
    if (f & ETL_MSG_COMPONENT_ID) { wr32(q, ev->component_id); q += 4; }
    else if (f & ETL_MSG_GUID) { etl_guid_write(&ev->guid, q); q += 16; }
    if (has_ts) { wr64(q, (uint64_t)ev->timestamp); q += 8; }
    if (f & ETL_MSG_SYSTEMINFO) { wr32(q, ev->tid); wr32(q + 4, ev->pid); q += 8; }
    if (len) memcpy(q, args, len);
    return true;
}

bool etl_writer_raw_event(EtlWriter *w, uint16_t cpu, int64_t timestamp, const void *bytes,
                          size_t len, GError **error)
{
    uint8_t *p = reserve(w, cpu, len < 8 ? 8 : len, timestamp, true, error);
    if (!p) return false;
    memset(p, 0, 8);
    memcpy(p, bytes, len);
    return true;
}

/* ------------------------------------------------------------------------------ ext items */

size_t etl_writer_ext_stack(uint8_t *out, size_t cap, uint64_t match_id, const uint64_t *frames,
                            uint32_t n_frames, uint8_t frame_size)
{
    size_t need = 8 + (size_t)n_frames * frame_size;
    if ((frame_size != 4 && frame_size != 8) || need > cap || need > 0xFFF0) return 0;
    wr64(out, match_id);
    for (uint32_t i = 0; i < n_frames; i++) wrptr(out + 8 + (size_t)i * frame_size, frames[i], frame_size);
    return need;
}

size_t etl_writer_ext_stack_key(uint8_t *out, size_t cap, uint64_t match_id, uint64_t key,
                                uint8_t key_size)
{
    if (cap < 16 || (key_size != 4 && key_size != 8)) return 0;
    wr64(out, match_id);
    if (key_size == 8) {
        wr64(out + 8, key);
    } else {
        wr32(out + 8, (uint32_t)key);
        wr32(out + 12, 0);       /* Padding */
    }
    return 16;
}

size_t etl_writer_ext_prov_traits(uint8_t *out, size_t cap, const char *name)
{
    size_t n = strlen(name) + 1, need = 2 + n;
    if (need > cap || need > 0xFFFF) return 0;
    wr16(out, (uint16_t)need);
    memcpy(out + 2, name, n);
    return need;
}

size_t etl_writer_ext_schema_tl(uint8_t *out, size_t cap, const char *event_name,
                                const char *const *field_names, const uint8_t *in_types,
                                uint32_t n_fields)
{
    size_t need = 2 + 1 + strlen(event_name) + 1;
    for (uint32_t i = 0; i < n_fields; i++) need += strlen(field_names[i]) + 1 + 1;
    if (need > cap || need > 0xFFFF) return 0;
    wr16(out, (uint16_t)need);
    out[2] = 0;                  /* event tags: none */
    size_t o = 3, n = strlen(event_name) + 1;
    memcpy(out + o, event_name, n);
    o += n;
    for (uint32_t i = 0; i < n_fields; i++) {
        n = strlen(field_names[i]) + 1;
        memcpy(out + o, field_names[i], n);
        o += n;
        out[o++] = in_types[i] & 0x7F;
    }
    return need;
}
