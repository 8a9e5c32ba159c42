/* make-bad.c — writes the bad-input corpus tests/bad/cases/NAME.etl (tests/bad/README.md).
 *
 *     build/tests/bad/make-bad tests/bad/cases
 *
 * Every case starts from a small, valid trace made with the ETL writer (8 KiB buffers, two
 * CPUs) and breaks one thing by patching bytes, so that the .expect files can name exact
 * offsets.  The base trace has three buffers:
 *
 *     0x0000  header buffer (log-file header, EventTrace/Extension)
 *     0x2000  buffer 1, CPU 0: 7 events (pool alloc + stack, DPC, ISR, pool free + stack, CSwitch)
 *     0x4000  buffer 2, CPU 1: 8 events (the same and a TraceLogging event with a stack item)
 *
 * The compressed base has the same events; its buffers are variable-sized.  Same program,
 * same bytes: a test (bad-corpus-fresh) regenerates the cases and compares them.  The .expect
 * files are written by hand; they are the assertions.
 */
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>

#define BUF 0x2000u
#define TS0 INT64_C(36000000000)

static const char *out_dir;
static unsigned n_cases;

static void die(const char *what, GError *err)
{
    fprintf(stderr, "make-bad: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
    exit(1);
}

static void save(const char *name, const uint8_t *data, size_t len)
{
    if (g_mkdir_with_parents(out_dir, 0777) != 0) die("cannot create the output directory", NULL);
    char *path = g_strdup_printf("%s/%s.etl", out_dir, name);
    GError *err = NULL;
    if (!g_file_set_contents(path, (const char *)data, (gssize)len, &err)) die(path, err);
    g_free(path);
    n_cases++;
}

static void wr16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static void wr32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }

/* ------------------------------------------------------------------------ base traces */

typedef struct {
    bool     compress;
    unsigned P;
    bool     short_pool;     /* the first pool alloc has an 12-byte payload */
    unsigned ext_items;      /* items on the TraceLogging event (1 = a stack) */
    bool     wpp_short;      /* add a WPP message whose size misses its optional fields */
    bool     no_events;
    uint32_t buffer_size;    /* 0: 8 KiB */
} Base;

static bool kev(EtlWriter *w, EtlWriterKernelHeader h, uint8_t group, uint8_t opcode, uint16_t cpu, int64_t ts,
                const uint8_t *pl, size_t len, GError **err)
{
    EtlWriterKernel k = { .header = h, .group = group, .opcode = opcode, .version = 2, .cpu = cpu,
                          .timestamp = ts, .tid = 1300, .pid = 1024 };
    return etl_writer_kernel(w, &k, pl, len, err);
}

static bool cpu_events(EtlWriter *w, const Base *b, uint16_t cpu, int64_t ts, GError **err)
{
    unsigned P = b->P;
    uint8_t pl[SCEN_PAYLOAD_MAX];
    static const uint64_t frames[5] = { UINT64_C(0xfffff8026a6f1a20), UINT64_C(0xfffff80271a21a40),
                                        UINT64_C(0xfffff80271a22b78), UINT64_C(0xfffff8026a67f3c0),
                                        UINT64_C(0xfffff8026a80fc35) };
    uint64_t entry = UINT64_C(0xffffc38a12001010) + cpu * 0x1000u;
    size_t n = scen_pool(pl, P, 512, scen_tag("Leak"), 0x230, entry, false, 0);
    if (b->short_pool && cpu == 0) n = 12;
    if (!kev(w, ETL_WRITER_PERFINFO, 0x0E, 0x20, cpu, ts, pl, n, err)) return false;
    n = scen_stack(pl, sizeof pl, P, (uint64_t)ts, 4, 1300, frames, 5);
    if (!kev(w, ETL_WRITER_PERFINFO, 0x18, 0x20, cpu, ts + 2, pl, n, err)) return false;
    n = scen_dpc(pl, P, (uint64_t)ts + 100, UINT64_C(0xfffff8026d202c40));
    if (!kev(w, ETL_WRITER_PERFINFO, 0x0F, 0x44, cpu, ts + 500, pl, n, err)) return false;
    n = scen_isr(pl, P, (uint64_t)ts + 600, UINT64_C(0xfffff80271a41010), 1, 0xc1, true, 3);
    if (!kev(w, ETL_WRITER_PERFINFO, 0x0F, 0x32, cpu, ts + 640, pl, n, err)) return false;
    n = scen_pool(pl, P, 512, scen_tag("Leak"), 0x230, entry, false, 0);
    if (!kev(w, ETL_WRITER_PERFINFO, 0x0E, 0x22, cpu, ts + 900, pl, n, err)) return false;
    n = scen_stack(pl, sizeof pl, P, (uint64_t)ts + 900, 4, 1300, frames, 3);
    if (!kev(w, ETL_WRITER_PERFINFO, 0x18, 0x20, cpu, ts + 902, pl, n, err)) return false;
    ScenCSwitch cs = { .new_tid = 1300, .old_tid = 0, .new_priority = 9, .old_wait_reason = 6, .old_state = 5 };
    n = scen_cswitch(pl, &cs);
    if (!kev(w, ETL_WRITER_PERFINFO, 0x05, 0x24, cpu, ts + 1000, pl, n, err)) return false;
    if (cpu == 1 && b->ext_items) {
        static const EtlGuid prov = { 0x2a9c1f5d, 0x04e1, 0x5d8b, { 0x9e, 0x6a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60 } };
        uint8_t stack[128];
        size_t sn = etl_writer_ext_stack(stack, sizeof stack, 1, frames, 2, 8);
        EtlWriterExt ext[17];
        for (unsigned i = 0; i < b->ext_items && i < G_N_ELEMENTS(ext); i++)
            ext[i] = (EtlWriterExt){ ETL_EXT_STACK_TRACE64, (uint16_t)sn, stack };
        uint8_t tl[8] = { 'L', 'e', 'a', 'k', 0x30, 0x02, 0, 0 };
        EtlWriterEvent e = { .cpu = cpu, .timestamp = ts + 1100, .tid = 1300, .pid = 1024, .provider = prov, .id = 7,
                             .version = 1, .level = 4, .ext = ext, .n_ext = b->ext_items };
        if (!etl_writer_event(w, &e, tl, sizeof tl, err)) return false;
    }
    if (cpu == 1 && b->wpp_short) {
        uint8_t args[4] = { 1, 2, 3, 4 };
        EtlWriterMessage m = { .cpu = cpu, .message_number = 9, .flags = ETL_MSG_SEQUENCE | ETL_MSG_TIMESTAMP,
                               .sequence = 1, .timestamp = ts + 1200 };
        if (!etl_writer_message(w, &m, args, sizeof args, err)) return false;
    }
    return true;
}

static uint8_t *base_trace(const Base *b, size_t *len)
{
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = b->buffer_size ? b->buffer_size : BUF;
    c.cpus = 2;
    c.pointer_size = (uint8_t)b->P;
    c.compress = b->compress;
    c.ts0 = TS0;
    c.log_file_name = "C:\\etla\\bad.etl";
    GError *err = NULL;
    EtlWriter *w = etl_writer_new_memory(&c, &err);
    if (!w) die("writer", err);
    if (!b->no_events) {
        /* CPU 0's buffer is flushed first, so it is buffer 1. */
        if (!cpu_events(w, b, 0, TS0 + 10000, &err) || !etl_writer_flush_cpu(w, 0, 0, &err) ||
            !cpu_events(w, b, 1, TS0 + 20000, &err))
            die("events", err);
    }
    if (!etl_writer_finish(w, &err)) die("finish", err);
    uint8_t *bytes = etl_writer_steal_memory(w, len);
    etl_writer_free(w);
    return bytes;
}

static uint8_t *base64(size_t *len)
{
    Base b = { .P = 8, .ext_items = 1 };
    return base_trace(&b, len);
}

/* File offset of the k-th event (0-based) of the uncompressed buffer at buf_off. */
static size_t event_at(const uint8_t *f, size_t buf_off, unsigned k)
{
    uint32_t end = etl_rd32(f + buf_off + 4);
    size_t pos = ETL_BUFFER_HEADER_SIZE;
    for (unsigned i = 0;; i++) {
        EtlEvent ev;
        int n = etl_event_parse(f + buf_off + pos, end - pos, true, &ev, NULL, NULL, 0);
        if (n <= 0) die("event_at: no such event", NULL);
        if (i == k) return buf_off + pos;
        pos += ((size_t)n + 7) & ~(size_t)7;
    }
}

/* Offsets of the buffers of a compressed file (walked by BufferSize). */
static size_t buffer_at(const uint8_t *f, size_t len, unsigned k)
{
    size_t off = 0;
    for (unsigned i = 0; i < k; i++) {
        off += etl_rd32(f + off);
        if (off + ETL_BUFFER_HEADER_SIZE > len) die("buffer_at: no such buffer", NULL);
    }
    return off;
}

/* ------------------------------------------------------------------------ cases */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "Usage: make-bad DIR   (e.g. tests/bad/cases)\n");
        return 2;
    }
    out_dir = argv[1];
    size_t len;
    uint8_t *f;

    /* Files that cannot be read at all. */
    save("empty", (const uint8_t *)"", 0);
    static const char text[] = "Windows Performance Recorder\r\nThis is a text file that merely mentions trace.etl;\r\n"
                               "it is not an ETW trace.  etla must say so in one line and exit 1.\r\n";
    save("text-file", (const uint8_t *)text, sizeof text - 1);
    {
        uint8_t g[4096];
        uint64_t x = 0x9e3779b97f4a7c15u;
        for (size_t i = 0; i < sizeof g; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            g[i] = (uint8_t)(x >> 24);
        }
        save("garbage", g, sizeof g);
    }
    f = base64(&len);
    save("truncated-in-header-event", f, 0x100);

    /* The valid base, for reference, and a file that is only a header buffer. */
    save("valid-base", f, len);
    {
        Base b = { .P = 8, .no_events = true };
        size_t l2;
        uint8_t *h = base_trace(&b, &l2);
        save("header-only", h, l2);
        g_free(h);
    }

    /* Truncation. */
    save("truncated-in-header-buffer", f, 0x1000);
    save("truncated-in-data-buffer", f, event_at(f, 2 * BUF, 3) + 12);
    {
        Base b = { .P = 4, .ext_items = 0 };
        size_t l2;
        uint8_t *g = base_trace(&b, &l2);
        size_t cut = 2 * BUF + 0x100;
        save("truncated-in-data-buffer-32bit", g, cut);
        g_free(g);
    }
    {
        uint8_t *g = g_malloc(len + 0x30);
        memcpy(g, f, len);
        memset(g + len, 0xAB, 0x30);
        save("trailing-junk", g, len + 0x30);
        g_free(g);
    }

    /* Buffer headers. */
    uint8_t *g = g_memdup2(f, len);
    wr32(g + 2 * BUF, 0x100000);
    save("buffer-size-beyond-file", g, len);
    memcpy(g, f, len);
    wr32(g + BUF, 0x100000);
    save("buffer-size-beyond-file-middle", g, len);
    memcpy(g, f, len);
    wr32(g, 0x200000);
    save("header-buffer-size-beyond-file", g, len);
    wr32(g + ETL_BUFFER_HEADER_SIZE + 0x20, 0x200000); /* and the session size agrees */
    save("header-and-session-size-beyond-file", g, len);
    memcpy(g, f, len);
    memset(g + BUF, 0, BUF);
    save("zero-filled-buffer", g, len);
    memcpy(g, f, len);
    memset(g + BUF, 0xFF, BUF);
    save("ff-filled-buffer", g, len);
    memcpy(g, f, len);
    wr16(g + BUF + 0x36, 0x1234);
    save("implausible-buffer-type", g, len);
    memcpy(g, f, len);
    wr16(g + 2 * BUF + 0x2A, 0x1d);
    save("other-logger", g, len);
    memcpy(g, f, len);
    wr16(g + 2 * BUF + 0x28, 5);
    save("cpu-beyond-header", g, len);
    memcpy(g, f, len);
    wr32(g + ETL_BUFFER_HEADER_SIZE + 0x20, 0);
    save("logfile-header-buffer-size-zero", g, len);

    /* Events. */
    size_t e2 = event_at(f, BUF, 2);
    memcpy(g, f, len);
    wr16(g + e2 + 4, 0x1000);
    save("event-overruns-buffer", g, len);
    memcpy(g, f, len);
    g[e2 + 2] = 0x77;
    save("unknown-header-type", g, len);
    memcpy(g, f, len);
    wr16(g + e2 + 4, 8);
    save("event-size-below-header", g, len);
    memcpy(g, f, len);
    wr16(g + e2 + 4, 0);
    save("event-size-zero", g, len);
    memcpy(g, f, len);
    g[e2 + 1] |= 0x07;                     /* 7 PMC counters announced, none there */
    save("pmc-overrun", g, len);
    memcpy(g, f, len);
    size_t tl = event_at(f, 2 * BUF, 7);   /* the TraceLogging event: ext item at +0x50 */
    wr16(g + tl + 0x50, 4);                /* ItemSize below the item header */
    save("bad-ext-item", g, len);
    g_free(g);
    {
        Base b = { .P = 8, .ext_items = 17 };
        size_t l2;
        uint8_t *h = base_trace(&b, &l2);
        save("too-many-ext-items", h, l2);
        g_free(h);
    }
    {
        Base b = { .P = 8, .wpp_short = true };
        size_t l2;
        uint8_t *h = base_trace(&b, &l2);
        size_t m = event_at(h, 2 * BUF, 7);
        wr16(h + m, 12);                   /* size 12: sequence fits, timestamp does not */
        save("wpp-message-short", h, l2);
        g_free(h);
    }
    {
        Base b = { .P = 8, .short_pool = true, .ext_items = 1 };
        size_t l2;
        uint8_t *h = base_trace(&b, &l2);
        save("short-pool-payload", h, l2);
        g_free(h);
    }

    /* Compressed files. */
    {
        Base b = { .P = 8, .compress = true, .ext_items = 1 };
        size_t cl;
        uint8_t *c = base_trace(&b, &cl);
        save("valid-compressed", c, cl);
        size_t b1 = buffer_at(c, cl, 1), b2 = buffer_at(c, cl, 2);
        uint8_t *h = g_memdup2(c, cl);
        /* First item a match at output position 0: MS-XCA "bad offset". */
        wr32(h + b1 + ETL_BUFFER_HEADER_SIZE, 0x80000000u);
        wr16(h + b1 + ETL_BUFFER_HEADER_SIZE + 4, 0x0000);
        save("corrupt-compressed", h, cl);
        memcpy(h, c, cl);
        wr32(h + b1, 0xFFFFFFF0u);
        save("compressed-implausible-header", h, cl);
        save("truncated-in-compressed-buffer", c, b2 + (cl - b2) / 2);
        g_free(h);
        g_free(c);
    }
    {
        /* A decompression bomb: 1 MiB session buffers, and a 15-byte stream (a literal and one
         * match with a u32 length) claiming 1 MiB, inserted as buffer 1. */
        Base b = { .P = 8, .compress = true, .ext_items = 1, .buffer_size = 0x100000 };
        size_t cl;
        uint8_t *c = base_trace(&b, &cl);
        size_t b1 = buffer_at(c, cl, 1);
        static const uint8_t bomb[15] = { 0xff, 0xff, 0xff, 0x7f, 'A', 0x07, 0x00, 0x0f, 0xff, 0x00, 0x00,
                                          0xb4, 0xff, 0x0f, 0x00 };
        size_t bl = ETL_BUFFER_HEADER_SIZE + sizeof bomb;
        uint8_t *h = g_malloc(cl + bl);
        memcpy(h, c, b1);
        memcpy(h + b1, c + b1, ETL_BUFFER_HEADER_SIZE);
        wr32(h + b1, (uint32_t)bl);
        wr32(h + b1 + 4, 0x100000);
        wr32(h + b1 + 0x30, 0x100000);
        memcpy(h + b1 + ETL_BUFFER_HEADER_SIZE, bomb, sizeof bomb);
        memcpy(h + b1 + bl, c + b1, cl - b1);
        save("compressed-bomb", h, cl + bl);
        g_free(h);
        g_free(c);
    }
    g_free(f);
    printf("make-bad: %u cases written to %s\n", n_cases, out_dir);
    return 0;
}
