/* extract.c — the clock of the output and the writing of one logger as an .etl.
 *
 * Time base (DUMP_EXTRACT.md §4.7), in order of preference: the logger context's ReferenceTime
 * (FILETIME, StartPerfClock) when its offset validates; KUSER_SHARED_DATA (QpcFrequency and the
 * pair BaselineSystemTimeQpc/SystemTime); the dump header (SystemTime − SystemUpTime = boot,
 * QPC counting from boot [⚠ seconds]).  The clock type is the context's when found, else
 * inferred from the largest timestamp (FILETIME-sized → system time; within the QPC count at
 * the crash → QPC; within the cycle count → CPU cycles).
 *
 * The header buffer is the project's writer's (etl/writer.c): buffer size, pointer size, CPUs,
 * clock type and frequency, start time paired with the first event's timestamp, boot time,
 * OS version, CpuSpeedInMHz (never 0: KPRCB MHz through the KDBG, else a nominal 2000), the
 * logger's name, BuffersLost = the buffers found but not recovered.  Data buffers follow in
 * SequenceNumber order: flushed ones byte for byte, the others normalized (§4.5): SavedOffset =
 * Offset = end of the last good event, State Flush, ReferenceCount 0, 0xFF after the events.
 */
#include "dump-private.h"

#include <stdio.h>

#define FT_MIN INT64_C(110000000000000000)   /* 1949 */
#define FT_MAX INT64_C(170000000000000000)   /* 2139 */
#define NOMINAL_MHZ 2000u

static int64_t ksystem_time(const uint8_t *p)
{
    return (int64_t)((uint64_t)(uint32_t)etl_rd32(p + 4) << 32 | etl_rd32(p));
}

void dump_read_kusd(EtlDump *d)
{
    if (d->info.paging == ETL_DUMP_PAGING_NONE) return;
    uint8_t k[0x3C8];
    if (!etl_dump_read_virt(d, dump_kusd_va(d), k, sizeof k)) return;
    d->info.kusd_mapped = true;
    int64_t st = ksystem_time(k + 0x14), it = ksystem_time(k + 0x08), tz = ksystem_time(k + 0x20);
    uint32_t major = etl_rd32(k + 0x26C), minor = etl_rd32(k + 0x270), build = etl_rd32(k + 0x260) & 0xFFFF;
    int64_t freq = (int64_t)etl_rd64(k + 0x300), base = (int64_t)etl_rd64(k + 0x348);
    uint32_t cpus = etl_rd32(k + 0x3C0);
    if (st >= FT_MIN && st <= FT_MAX) {
        d->have_kusd = true;
        d->kusd_system_time = st;
    }
    if (it > 0 && it < INT64_C(36500) * 864000000000) d->kusd_interrupt_time = it;
    if (major >= 5 && major <= 10 && minor <= 3) {
        d->kusd_major = major;
        d->kusd_minor = minor;
    }
    if (build >= 2000) d->kusd_build = build;
    if (freq >= 1000 && freq <= INT64_C(100000000000)) d->kusd_qpc_freq = freq;
    if (base > 0) d->kusd_baseline_qpc = base;
    if (cpus >= 1 && cpus <= 4096) d->kusd_cpus = cpus;
    if (tz > -INT64_C(14) * 36000000000 && tz < INT64_C(14) * 36000000000) d->kusd_tz_bias = tz;
}

/* floor(a * mul / div) without overflow, saturated (a may be a difference of two int64s) */
static int64_t muldiv128(__int128 a, int64_t mul, int64_t div)
{
    if (div <= 0) return 0;
    __int128 r = a * mul, q = r / div;
    if (r % div != 0 && r < 0) q--;
    if (q > INT64_MAX) return INT64_MAX;
    if (q < INT64_MIN) return INT64_MIN;
    return (int64_t)q;
}

static int64_t muldiv(int64_t a, int64_t mul, int64_t div) { return muldiv128(a, mul, div); }

/* "x at most limit + limit/20 + slack" without overflow (all from the file) */
static bool within(int64_t x, int64_t limit, int64_t slack)
{
    return (__int128)x <= (__int128)limit + limit / 20 + slack;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b < 0 ? INT64_MIN : INT64_MAX;
    return r;
}

static int64_t snap_freq(int64_t f)
{
    static const int64_t known[] = { 10000000, 3579545, 14318180, 24000000, 19200000, 1000000000 };
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
        if (f > known[i] - known[i] / 50 && f < known[i] + known[i] / 50) return known[i];
    return f > 1000 ? f / 1000 * 1000 : 10000000;
}

static void os_from_build(uint32_t build, uint32_t *major, uint32_t *minor)
{
    if (build >= 10240) *major = 10, *minor = 0;
    else if (build >= 9600) *major = 6, *minor = 3;
    else if (build >= 9200) *major = 6, *minor = 2;
    else if (build >= 7600) *major = 6, *minor = 1;
    else if (build >= 6000) *major = 6, *minor = 0;
    else *major = 5, *minor = 2;
}

static int64_t crash_filetime(const EtlDump *d)
{
    int64_t t = d->info.system_time;
    if (t >= FT_MIN && t <= FT_MAX) return t;
    return d->have_kusd ? d->kusd_system_time : 0;
}

static int64_t uptime_100ns(const EtlDump *d)
{
    if (d->info.system_uptime > 0 && d->info.system_uptime < INT64_C(36500) * 864000000000) return d->info.system_uptime;
    return d->kusd_interrupt_time;
}

static DumpGroup *group_at(EtlDump *d, uint32_t i) { return &g_array_index(d->groups, DumpGroup, i); }

static int64_t group_filetime(const EtlDump *d, const DumpGroup *g, int64_t ts)
{
    const EtlDumpTimeBase *tb = &d->tb;
    switch (g->pub.clock_type) {
    case ETL_CLOCK_SYSTEM_TIME:
        return ts;
    case ETL_CLOCK_CPU_CYCLES:
        return add_sat(tb->boot_time, muldiv(ts, 10, tb->cpu_mhz ? tb->cpu_mhz : NOMINAL_MHZ));
    default:
        if (g->have_ref) return add_sat(g->ref_filetime, muldiv128((__int128)ts - g->ref_perf, 10000000, tb->perf_freq));
        return add_sat(tb->base_filetime, muldiv128((__int128)ts - tb->base_ts, 10000000, tb->perf_freq));
    }
}

static uint32_t infer_clock(const EtlDump *d, const DumpGroup *g)
{
    int64_t mx = g->pub.last_ts, crash = crash_filetime(d), up = uptime_100ns(d);
    if (mx == INT64_MIN) return ETL_CLOCK_QPC;
    const int64_t day = 864000000000;
    if (crash && mx >= FT_MIN && mx <= crash + day && (!d->tb.boot_time || g->pub.first_ts >= d->tb.boot_time - day))
        return ETL_CLOCK_SYSTEM_TIME;
    if (up && d->tb.perf_freq) {
        int64_t q = muldiv(up, d->tb.perf_freq, 10000000);
        if (within(mx, q, d->tb.perf_freq)) return ETL_CLOCK_QPC;
    }
    if (up && d->prcb_mhz) {
        int64_t c = muldiv(up, d->prcb_mhz, 10);
        if (within(mx, c, (int64_t)d->prcb_mhz * 1000000)) return ETL_CLOCK_CPU_CYCLES;
    }
    return ETL_CLOCK_QPC;
}

void dump_time_base(EtlDump *d)
{
    EtlDumpTimeBase *tb = &d->tb;
    memset(tb, 0, sizeof *tb);
    tb->clock_type = ETL_CLOCK_QPC;
    /* OS version */
    uint32_t build = d->kusd_build ? d->kusd_build
                     : (d->info.minor_version >= 2000 && d->info.minor_version <= 65535 ? d->info.minor_version : 0);
    tb->os_build = build;
    if (d->kusd_major) {
        tb->os_major = d->kusd_major;
        tb->os_minor = d->kusd_minor;
    } else if (build) {
        os_from_build(build, &tb->os_major, &tb->os_minor);
    } else {
        tb->os_major = 10;
    }
    tb->cpu_mhz = d->prcb_mhz ? d->prcb_mhz : NOMINAL_MHZ;
    tb->tz_bias_minutes = (int32_t)(d->kusd_tz_bias / 600000000);
    int64_t crash = crash_filetime(d), up = uptime_100ns(d);
    if (crash && up && up < crash) tb->boot_time = crash - up;

    /* frequency */
    int64_t max_ts = INT64_MIN;
    for (guint i = 0; i < d->groups->len; i++) max_ts = MAX(max_ts, group_at(d, i)->pub.last_ts);
    if (d->kusd_qpc_freq) {
        tb->perf_freq = d->kusd_qpc_freq;
    } else if (up > 0 && max_ts > 0 && max_ts < FT_MIN) {
        tb->perf_freq = snap_freq(muldiv(max_ts, 10000000, up));
    } else {
        tb->perf_freq = 10000000;
    }
    /* the (raw, FILETIME) pair */
    if (d->have_kusd && d->kusd_baseline_qpc) {
        tb->base_ts = d->kusd_baseline_qpc;
        tb->base_filetime = d->kusd_system_time;
        tb->source = "KUSER_SHARED_DATA";
    } else if (tb->boot_time) {
        tb->base_ts = 0;
        tb->base_filetime = tb->boot_time;
        tb->source = "dump header";
    } else {
        tb->source = "none";
    }

    for (guint i = 0; i < d->groups->len; i++) {
        DumpGroup *g = group_at(d, i);
        if (!g->pub.clock_type) g->pub.clock_type = infer_clock(d, g);
        const DumpLoggerCtx *c = g->ctx;
        if (c && g->pub.clock_type == ETL_CLOCK_QPC) {
            int64_t q_crash = up ? muldiv(up, tb->perf_freq, 10000000) : INT64_MAX;
            for (int k = 0; k < 2; k++) {
                int64_t ft = c->ref_ft[k], perf = c->ref_perf[k];
                if (ft < FT_MIN || ft > FT_MAX || perf <= 0) continue;
                if (crash && ft > crash + 600000000) continue;
                if (tb->boot_time && ft < tb->boot_time - 600000000) continue;
                if (g->pub.first_ts != INT64_MAX && perf > g->pub.first_ts) continue;
                if (q_crash != INT64_MAX && !within(perf, q_crash, tb->perf_freq)) continue;
                g->have_ref = true;
                g->ref_filetime = ft;
                g->ref_perf = perf;
                break;
            }
        }
        if (g->pub.first_ts != INT64_MAX) {
            g->pub.first_filetime = group_filetime(d, g, g->pub.first_ts);
            g->pub.last_filetime = group_filetime(d, g, g->pub.last_ts);
        }
    }
}

const EtlDumpTimeBase *etl_dump_time_base(const EtlDump *d) { return &d->tb; }

/* ------------------------------------------------------------------ writing */

static void config_for(EtlDump *d, const DumpGroup *g, EtlWriterConfig *c, char **name, char **file)
{
    etl_writer_config_init(c);
    const EtlDumpTimeBase *tb = &d->tb;
    c->any_buffer_size = true;
    c->buffer_size = g->pub.buffer_size;
    uint32_t cpus = d->info.cpus ? d->info.cpus : d->kusd_cpus;
    c->cpus = CLAMP(MAX(cpus, g->pub.cpus), 1u, 65535u);
    c->pointer_size = (uint8_t)d->psize;
    c->clock_type = g->pub.clock_type ? g->pub.clock_type : ETL_CLOCK_QPC;
    c->perf_freq = tb->perf_freq > 0 ? tb->perf_freq : 10000000;
    int64_t ts0 = g->pub.first_ts != INT64_MAX ? g->pub.first_ts : 0;
    c->ts0 = ts0;
    c->start_time = group_filetime(d, g, ts0);
    c->end_time = g->pub.last_ts != INT64_MIN ? group_filetime(d, g, g->pub.last_ts) : c->start_time;
    if (!c->end_time) c->end_time = 1; /* 0 means "derive at finish" */
    /* never 0, which makes the writer derive it (StartTime − ts0, unchecked arithmetic) */
    c->boot_time = tb->boot_time ? tb->boot_time : group_filetime(d, g, 0);
    if (!c->boot_time) c->boot_time = 1;
    c->os_major = (uint8_t)tb->os_major;
    c->os_minor = (uint8_t)tb->os_minor;
    c->os_build = tb->os_build;
    c->cpu_mhz = tb->cpu_mhz ? tb->cpu_mhz : NOMINAL_MHZ;
    c->tz_bias = tb->tz_bias_minutes;
    *name = g->pub.name ? g_strdup(g->pub.name) : g_strdup_printf("Logger %u", g->pub.logger_id);
    char *base = g_path_get_basename(etl_source_name(d->src));
    *file = g_strdup_printf("%s (etla extract)", base);
    g_free(base);
    c->logger_name = *name;
    c->log_file_name = *file;
    c->log_file_mode = ETL_MODE_SEQUENTIAL;
    c->logger_id = g->pub.logger_id;
    c->buffers_lost = g->pub.buffers_skipped;
}

static bool write_buffers(EtlDump *d, DumpGroup *g, EtlWriter *w, EtlDumpWriteStats *st, GError **error)
{
    uint32_t bs = g->pub.buffer_size, n = g->bufs->len;
    for (uint32_t i = 0; i < n; i++) {
        const DumpBuf *b = &g_array_index(d->bufs, DumpBuf, g_array_index(g->bufs, uint32_t, i));
        uint64_t miss_off = 0, miss_va = 0;
        uint32_t got = dump_read_buffer_image(d, b->va, b->pfn, bs, &miss_off, &miss_va);
        if (got < b->valid) {
            st->skipped++;
            dump_diag(d, ETL_DUMP_DIAG_PAGE_MISSING, miss_off, miss_va, b->pfn << DUMP_PAGE_SHIFT, b->hdr.logger_id,
                      "buffer %" G_GINT64_FORMAT " of logger %u could not be read again", b->hdr.sequence, b->hdr.logger_id);
            continue;
        }
        uint8_t *img = d->scratch;
        uint32_t valid = b->valid;
        bool verbatim = b->hdr.state == 3 && b->hdr.saved_offset == valid && !b->partial && got == bs;
        uint8_t v[4];
        if (!verbatim) {
            memset(img + valid, 0xFF, bs - valid);
            memcpy(v, &(uint32_t){ GUINT32_TO_LE(valid) }, 4);
            memcpy(img + 0x04, v, 4);  /* SavedOffset */
            memcpy(img + 0x08, v, 4);  /* CurrentOffset */
            memset(img + 0x0C, 0, 4);  /* ReferenceCount */
            memcpy(img + 0x2C, &(uint32_t){ GUINT32_TO_LE(3) }, 4); /* State: Flush */
        }
        memcpy(v, &(uint32_t){ GUINT32_TO_LE(valid) }, 4);
        memcpy(img + 0x30, v, 4);      /* Offset = SavedOffset: consumers read either */
        if (!etl_writer_raw_buffer(w, img, bs, error)) return false;
        st->buffers++;
        if (b->partial) st->partial++;
        st->events += b->events;
        if (!(i & 0xFF)) dump_progress(d, "writing", i, n);
    }
    dump_progress(d, "writing", n, n);
    return true;
}

static bool check_logger(EtlDump *d, uint32_t i, GError **error)
{
    if (!d->scanned) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "etl_dump_write_logger before etl_dump_scan");
        return false;
    }
    if (i >= etl_dump_logger_count(d)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID, "no logger %u in %s", i, etl_source_name(d->src));
        return false;
    }
    return true;
}

static uint8_t *write_logger(EtlDump *d, uint32_t i, const char *path, size_t *len, EtlDumpWriteStats *out,
                             GError **error)
{
    EtlDumpWriteStats st = { 0 };
    if (out) *out = st;
    if (!check_logger(d, i, error)) return NULL;
    DumpGroup *g = group_at(d, i);
    EtlWriterConfig cfg;
    char *name, *file;
    config_for(d, g, &cfg, &name, &file);
    EtlWriter *w = path ? etl_writer_new_file(path, &cfg, error) : etl_writer_new_memory(&cfg, error);
    g_free(name);
    g_free(file);
    if (!w) return NULL;
    uint8_t *mem = NULL;
    bool ok = write_buffers(d, g, w, &st, error) && etl_writer_finish(w, error);
    if (ok) {
        st.bytes = etl_writer_stats(w)->bytes;
        if (!path) mem = etl_writer_steal_memory(w, len);
        else mem = (uint8_t *)""; /* success marker */
    }
    etl_writer_free(w);
    if (out) *out = st;
    return mem;
}

bool etl_dump_write_logger(EtlDump *d, uint32_t logger, const char *path, EtlDumpWriteStats *out, GError **error)
{
    return write_logger(d, logger, path, NULL, out, error) != NULL;
}

uint8_t *etl_dump_write_logger_memory(EtlDump *d, uint32_t logger, size_t *len, EtlDumpWriteStats *out,
                                      GError **error)
{
    size_t n = 0;
    uint8_t *p = write_logger(d, logger, NULL, &n, out, error);
    if (len) *len = p ? n : 0;
    return p;
}
