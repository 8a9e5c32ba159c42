/* test-writer.c — byte-exact checks of etl/writer.c and writer -> reader round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "etl-writer.h"
#include "testutil.h"

#include <glib/gstdio.h>
#include <stdio.h>

#define R16(p) etl_rd16(p)
#define R32(p) etl_rd32(p)
#define R64(p) etl_rd64(p)

static const EtlGuid G1 = { 0x11223344, 0x5566, 0x7788, { 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01 } };
static const EtlGuid G2 = { 0xb3e675d7, 0x2554, 0x4f18, { 0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde } };

static uint8_t *finish_mem(EtlWriter *w, size_t *len)
{
    GError *err = NULL;
    assert_true(etl_writer_finish(w, &err));
    assert_null(err);
    uint8_t *d = etl_writer_steal_memory(w, len);
    assert_non_null(d);
    etl_writer_free(w);
    return d;
}

static EtlWriter *mem_writer(const EtlWriterConfig *c)
{
    GError *err = NULL;
    EtlWriter *w = etl_writer_new_memory(c, &err);
    assert_non_null(w);
    assert_null(err);
    return w;
}

static void perfinfo(EtlWriter *w, uint16_t cpu, int64_t ts, uint8_t group, uint8_t op, size_t len)
{
    uint8_t pl[4096];
    for (size_t i = 0; i < len; i++) pl[i] = (uint8_t)(i * 7 + op);
    EtlWriterKernel k = { .header = ETL_WRITER_PERFINFO, .group = group, .opcode = op, .version = 2,
                          .cpu = cpu, .timestamp = ts };
    assert_true(etl_writer_kernel(w, &k, pl, len, NULL));
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF) return false;
    return true;
}

/* ------------------------------------------------------------------------------ header buffer */

static void check_header_buffer(unsigned P)
{
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 16384;
    c.cpus = 3;
    c.pointer_size = (uint8_t)P;
    c.perf_freq = 3117777;
    c.start_time = 131159502220379266ll;
    c.ts0 = 185227195741ll;
    c.boot_time = 131158908134934274ll;
    c.os_major = 6;
    c.os_minor = 1;
    c.os_build = 7601;
    c.cpu_mhz = 2195;
    c.timer_resolution = 156001;
    c.timer_source[0] = 5;
    c.timer_source[1] = 6;
    c.tz_bias = -60;
    c.tz_standard_name = "@tzres.dll,-302";
    c.tz_daylight_name = "@tzres.dll,-301";
    c.logger_name = "MyLogger";
    c.log_file_name = "C:\\x.etl";
    c.log_file_mode = ETL_MODE_SEQUENTIAL;
    c.logger_id = 0x21;
    c.events_lost = 3;
    c.buffers_lost = 1;
    c.header_tid = 0x8d0;
    c.header_pid = 0x82c;
    c.group_masks[0] = 0x1234;
    c.group_masks[7] = 0x80000000u;
    c.kernel_event_version = 0x19;
    EtlWriter *w = mem_writer(&c);
    perfinfo(w, 1, c.ts0 + 3117777, 0x0F, 0x44, 16);     /* one second later */
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    assert_int_equal(len, 2 * 16384);

    /* buffer header */
    assert_int_equal(R32(d + 0x00), 16384);
    uint32_t hsize = 0x20 + (P == 8 ? 0x118 : 0x110) + 18 + 18;
    uint32_t end = 0x48 + ((hsize + 7) & ~7u) + 0x48;
    assert_int_equal(R32(d + 0x04), end);
    assert_int_equal(R32(d + 0x08), end);
    assert_int_equal(R32(d + 0x0C), 0);
    assert_int_equal(R64(d + 0x10), 0);
    assert_int_equal(R64(d + 0x18), 0);
    assert_int_equal(R64(d + 0x20), 0);
    assert_int_equal(R16(d + 0x28), 0);
    assert_int_equal(R16(d + 0x2A), 0x21);
    assert_int_equal(R32(d + 0x2C), 3);
    assert_int_equal(R32(d + 0x30), end);
    assert_int_equal(R16(d + 0x34), ETL_BUFFER_FLAG_FLUSH_MARKER | ETL_BUFFER_FLAG_PROC_INDEX);
    assert_int_equal(R16(d + 0x36), ETL_BUFFER_TYPE_HEADER);
    assert_true(all_ff(d + end, 16384 - end));

    /* SYSTEM header of the log-file header event */
    const uint8_t *e = d + 0x48;
    assert_int_equal(R16(e), 2);
    assert_int_equal(e[2], P == 8 ? 0x02 : 0x01);
    assert_int_equal(e[3], 0xC0);
    assert_int_equal(R16(e + 4), hsize);
    assert_int_equal(R16(e + 6), 0);
    assert_int_equal(R32(e + 8), 0x8d0);
    assert_int_equal(R32(e + 12), 0x82c);
    assert_int_equal(R64(e + 16), (uint64_t)c.ts0);

    /* TRACE_LOGFILE_HEADER32/64 (ETL_CONTAINER.md §2.2) */
    const uint8_t *h = e + 0x20;
    assert_int_equal(R32(h + 0x00), 16384);
    assert_int_equal(h[4], 6);
    assert_int_equal(h[5], 1);
    assert_int_equal(h[6], 1);
    assert_int_equal(h[7], 5);
    assert_int_equal(R32(h + 0x08), 7601);
    assert_int_equal(R32(h + 0x0C), 3);
    assert_int_equal(R64(h + 0x10), (uint64_t)(c.start_time + 10000000));  /* EndTime: +1 s */
    assert_int_equal(R32(h + 0x18), 156001);
    assert_int_equal(R32(h + 0x1C), 0);
    assert_int_equal(R32(h + 0x20), ETL_MODE_SEQUENTIAL);
    assert_int_equal(R32(h + 0x24), 2);                                     /* BuffersWritten */
    assert_int_equal(R32(h + 0x28), 1);
    assert_int_equal(R32(h + 0x2C), P);
    assert_int_equal(R32(h + 0x30), 3);
    assert_int_equal(R32(h + 0x34), 2195);
    assert_int_equal(etl_rdptr(h + 0x38, P), 5);
    assert_int_equal(etl_rdptr(h + 0x38 + P, P), 6);
    const uint8_t *tz = h + (P == 8 ? 0x48 : 0x40);
    assert_int_equal((int32_t)R32(tz), -60);
    assert_int_equal(R16(tz + 4), '@');
    assert_int_equal(R16(tz + 4 + 2 * 14), '2');
    assert_int_equal(R16(tz + 4 + 2 * 15), 0);
    assert_int_equal(R16(tz + 88), '@');
    assert_int_equal((int32_t)R32(tz + 168), -60);
    const uint8_t *t = h + (P == 8 ? 0xF8 : 0xF0);
    assert_int_equal(R64(t), (uint64_t)c.boot_time);
    assert_int_equal(R64(t + 8), 3117777);
    assert_int_equal(R64(t + 16), (uint64_t)c.start_time);
    assert_int_equal(R32(t + 24), ETL_CLOCK_QPC);
    assert_int_equal(R32(t + 28), 1);
    const uint8_t *s = h + (P == 8 ? 0x118 : 0x110);
    const char *names = "MyLogger";
    for (int i = 0; i < 8; i++) assert_int_equal(R16(s + 2 * i), names[i]);
    assert_int_equal(R16(s + 16), 0);
    assert_int_equal(R16(s + 18), 'C');
    assert_int_equal(R16(s + 18 + 16), 0);

    /* EventTrace/Extension */
    const uint8_t *x = d + 0x48 + ((hsize + 7) & ~7u);
    assert_int_equal(R32(x), 0xC0000002u | (P == 8 ? 0x20000u : 0x10000u));
    assert_int_equal(R16(x + 4), 0x44);
    assert_int_equal(R16(x + 6), 0x0005);
    assert_int_equal(R64(x + 16), (uint64_t)c.ts0);
    assert_int_equal(R32(x + 0x20), 0x1234);
    assert_int_equal(R32(x + 0x20 + 28), 0x80000000u);
    assert_int_equal(R32(x + 0x20 + 32), 0x19);
    assert_int_equal(R32(x + 0x44), 0);                       /* alignment gap */

    /* the same through etl_event_parse */
    EtlEvent ev;
    EtlDiagCode dc;
    char detail[128];
    assert_int_equal(etl_event_parse(e, end - 0x48, P == 8, &ev, &dc, detail, sizeof detail), hsize);
    assert_int_equal(ev.kind, ETL_HDR_SYSTEM);
    assert_int_equal(ev.timestamp, c.ts0);
    g_free(d);
}

static void test_header_buffer_64(void **state) { (void)state; check_header_buffer(8); }
static void test_header_buffer_32(void **state) { (void)state; check_header_buffer(4); }

static void test_header_options(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.header_quirk = true;
    c.partition_info = true;
    c.proc_index = false;
    c.clock_type = ETL_CLOCK_SYSTEM_TIME;
    c.ts0 = c.start_time;
    EtlWriter *w = mem_writer(&c);
    perfinfo(w, 2, c.ts0 + 12345, 0x0F, 0x44, 16);
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    uint32_t end = R32(d + 0x30);
    assert_int_equal(R32(d + 0x04), 0);                        /* the Windows 7 quirk */
    assert_int_equal(R32(d + 0x08), end);
    assert_int_equal(d[0x28], 0);
    assert_int_equal(d[0x29], 8);                              /* Alignment byte */
    assert_int_equal(R16(d + 0x34), ETL_BUFFER_FLAG_FLUSH_MARKER);
    /* PartitionInfo after the extension */
    const uint8_t *p = d + end - 0x50;
    assert_int_equal(R16(p + 4), 0x50);
    assert_int_equal(R16(p + 6), 0x0050);
    /* system-time clock: EndTime = the last timestamp itself */
    const uint8_t *h = d + 0x48 + 0x20;
    assert_int_equal(R64(h + 0x10), (uint64_t)(c.start_time + 12345));
    assert_int_equal(R32(h + 0x110), ETL_CLOCK_SYSTEM_TIME);
    /* data buffer context without PROC_INDEX */
    const uint8_t *b = d + 65536;
    assert_int_equal(b[0x28], 2);
    assert_int_equal(b[0x29], 8);
    assert_int_equal(R16(b + 0x34), ETL_BUFFER_FLAG_FLUSH_MARKER);
    g_free(d);
}

/* ------------------------------------------------------------------------------ data buffers */

static void test_buffers(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 8192;
    c.cpus = 2;
    EtlWriter *w = mem_writer(&c);
    /* 100-byte events (104 aligned): 78 fit in 8192 - 72 */
    int64_t ts = c.ts0 + 100;
    for (int i = 0; i < 200; i++, ts += 10) perfinfo(w, (uint16_t)(i % 2), ts, 0x0F, 0x44, 100 - 16);
    const EtlWriterStats *st = etl_writer_stats(w);
    assert_int_equal(st->events, 200);
    assert_int_equal(st->first_ts, c.ts0 + 100);
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    /* cpu0: 100 events -> 78 + 22; cpu1 likewise; flush order: cpu0 full, cpu1 full, then stop */
    assert_int_equal(len, 5 * 8192);
    uint32_t expect_cpu[4] = { 0, 1, 0, 1 };
    uint32_t expect_end[4] = { 0x48 + 78 * 104, 0x48 + 78 * 104, 0x48 + 22 * 104, 0x48 + 22 * 104 };
    for (int i = 0; i < 4; i++) {
        const uint8_t *b = d + (size_t)(i + 1) * 8192;
        assert_int_equal(R32(b), 8192);
        assert_int_equal(R32(b + 4), expect_end[i]);
        assert_int_equal(R32(b + 0x30), expect_end[i]);
        /* CurrentOffset: + the event that did not fit, or + BufferSize at stop */
        assert_int_equal(R32(b + 8), expect_end[i] + (i < 2 ? 104 : 8192));
        assert_int_equal(R64(b + 0x18), (uint64_t)i + 1);        /* flush order */
        assert_int_equal(R16(b + 0x28), expect_cpu[i]);
        assert_int_equal(R16(b + 0x2A), c.logger_id);
        assert_int_equal(R32(b + 0x2C), 3);
        assert_int_equal(R16(b + 0x34), ETL_BUFFER_FLAG_PROC_INDEX | (i == 3 ? ETL_BUFFER_FLAG_FLUSH_MARKER : 0));
        assert_int_equal(R16(b + 0x36), 0);
        assert_true(all_ff(b + expect_end[i], 8192 - expect_end[i]));
        /* TimeStamp: >= every event; events 8-aligned with zero gaps */
        int64_t maxts = 0;
        for (uint32_t o = 0x48; o < expect_end[i]; o += 104) {
            assert_int_equal(R32(b + o), 0xC0110002u);
            assert_int_equal(R16(b + o + 4), 100);
            assert_int_equal(R32(b + o + 100), 0);
            maxts = (int64_t)R64(b + o + 8);
        }
        assert_true((int64_t)R64(b + 0x10) >= maxts);
    }
    /* the full buffers were flushed at the time of the event that did not fit */
    assert_int_equal(R64(d + 8192 + 0x10), (uint64_t)(c.ts0 + 100 + 156 * 10));
    /* stop-time buffers carry the last timestamp */
    assert_int_equal(R64(d + 4 * 8192 + 0x10), (uint64_t)(ts - 10));
    g_free(d);
}

static void test_sequence_at_start(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 8192;
    c.cpus = 2;
    c.sequence_at_start = true;
    EtlWriter *w = mem_writer(&c);
    int64_t ts = c.ts0 + 100;
    perfinfo(w, 0, ts++, 0x0F, 0x44, 84);                 /* cpu0 buffer takes 1 */
    for (int i = 0; i < 80; i++) perfinfo(w, 1, ts++, 0x0F, 0x44, 84); /* cpu1 takes 2, fills, 3 */
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    assert_int_equal(len, 4 * 8192);
    assert_int_equal(R64(d + 1 * 8192 + 0x18), 2);         /* file order 2, 1, 3 */
    assert_int_equal(R64(d + 2 * 8192 + 0x18), 1);
    assert_int_equal(R64(d + 3 * 8192 + 0x18), 3);
    g_free(d);
}

/* ------------------------------------------------------------------------------ event headers */

static const uint8_t *first_event(const uint8_t *d, uint32_t bs, int buf)
{
    return d + (size_t)buf * bs + 0x48;
}

static void test_event_headers(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 8192;
    EtlWriter *w = mem_writer(&c);
    uint8_t pl[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint64_t pmc[3] = { 11, 22, 33 };
    int64_t ts = c.ts0 + 1000;
    EtlWriterKernel k = { .header = ETL_WRITER_SYSTEM, .group = 0x05, .opcode = 0x32, .version = 2,
                          .cpu = 0, .timestamp = ts, .tid = 0x10, .pid = 0x20, .kernel_time = 7,
                          .user_time = 9, .pointer_size = 4 };
    assert_true(etl_writer_kernel(w, &k, pl, 8, NULL));                       /* @0x48 size 0x28 */
    k.header = ETL_WRITER_COMPACT;
    k.pointer_size = 8;
    assert_true(etl_writer_kernel(w, &k, pl, 8, NULL));                       /* @0x70 size 0x20 */
    k.header = ETL_WRITER_PERFINFO;
    k.n_pmc = 3;
    k.pmc = pmc;
    k.has_pebs = true;
    k.pebs_index = 0x55;
    assert_true(etl_writer_kernel(w, &k, pl, 8, NULL));                       /* @0x90 size 0x38 */
    EtlWriterClassic cl = { .cpu = 0, .timestamp = ts, .tid = 1, .pid = 2, .guid = G2, .type = 0x24,
                            .level = 4, .version = 2, .kernel_time = 5, .user_time = 6 };
    assert_true(etl_writer_classic(w, &cl, pl, 5, NULL));                     /* @0xC8 size 0x35 */
    cl.instance = true;
    cl.pointer_size = 4;
    cl.instance_id = 77;
    cl.parent_instance_id = 76;
    cl.parent_guid = G1;
    assert_true(etl_writer_classic(w, &cl, pl, 0, NULL));                     /* @0x100 size 0x48 */
    uint8_t st[64], tr[32];
    uint64_t frames[2] = { 0xfffff80011112222ull, 0x7ff700001000ull };
    EtlWriterExt ext[3] = {
        { ETL_EXT_STACK_TRACE64, (uint16_t)etl_writer_ext_stack(st, sizeof st, 9, frames, 2, 8), st },
        { ETL_EXT_PROV_TRAITS, (uint16_t)etl_writer_ext_prov_traits(tr, sizeof tr, "Prov"), tr },
        { 0x0F, 3, "abc" },
    };
    EtlWriterEvent ev = { .cpu = 0, .timestamp = ts, .tid = 3, .pid = 4, .provider = G1, .id = 0x1234,
                          .version = 1, .channel = 11, .level = 5, .opcode = 2, .task = 0x77,
                          .keyword = 0x8000000000000001ull, .kernel_time = 1, .user_time = 2,
                          .activity_id = G2, .ext = ext, .n_ext = 3, .event_property = 8 };
    assert_true(etl_writer_event(w, &ev, pl, 4, NULL));                       /* @0x148 */
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    const uint8_t *e = first_event(d, 8192, 1);

    /* SYSTEM32 with kernel/user time */
    assert_int_equal(R32(e), 0xC0010002u);
    assert_int_equal(R16(e + 4), 0x28);
    assert_int_equal(R16(e + 6), 0x0532);
    assert_int_equal(R32(e + 8), 0x10);
    assert_int_equal(R32(e + 12), 0x20);
    assert_int_equal(R64(e + 16), (uint64_t)ts);
    assert_int_equal(R32(e + 0x18), 7);
    assert_int_equal(R32(e + 0x1C), 9);
    assert_memory_equal(e + 0x20, pl, 8);
    /* COMPACT64 */
    e += 0x28;
    assert_int_equal(R32(e), 0xC0040002u);
    assert_int_equal(R16(e + 4), 0x20);
    assert_int_equal(R64(e + 16), (uint64_t)ts);
    assert_memory_equal(e + 0x18, pl, 8);
    /* PERFINFO64 with PEBS + 3 PMC counters: Version word 0x8302 */
    e += 0x20;
    assert_int_equal(R32(e), 0xC0118302u);
    assert_int_equal(R16(e + 4), 0x10 + 32 + 8);
    assert_int_equal(R64(e + 8), (uint64_t)ts);
    assert_int_equal(R64(e + 0x10), 0x55);
    assert_int_equal(R64(e + 0x18), 11);
    assert_int_equal(R64(e + 0x28), 33);
    assert_memory_equal(e + 0x30, pl, 8);
    EtlEvent pe;
    EtlDiagCode dc;
    char det[128];
    assert_int_equal(etl_event_parse(e, 256, true, &pe, &dc, det, sizeof det), 0x38);
    assert_int_equal(pe.kind, ETL_HDR_PERFINFO);
    assert_int_equal(pe.n_pmc, 3);
    assert_true(pe.has_pebs);
    assert_int_equal(pe.pebs_index, 0x55);
    assert_int_equal(pe.payload_len, 8);
    assert_memory_equal(pe.payload, pl, 8);
    /* FULL_HEADER64 */
    e += 0x38;
    assert_int_equal(R16(e), 0x35);
    assert_int_equal(e[2], 0x14);
    assert_int_equal(e[3], 0xC0);
    assert_int_equal(e[4], 0x24);
    assert_int_equal(e[5], 4);
    assert_int_equal(R16(e + 6), 2);
    assert_int_equal(R64(e + 16), (uint64_t)ts);
    uint8_t gb[16];
    etl_guid_write(&G2, gb);
    assert_memory_equal(e + 0x18, gb, 16);
    assert_int_equal(R32(e + 0x28), 5);
    assert_int_equal(R32(e + 0x2C), 6);
    assert_int_equal(e[0x35] | e[0x36] | e[0x37], 0);         /* alignment gap */
    /* INSTANCE32 */
    e += 0x38;
    assert_int_equal(R16(e), 0x48);
    assert_int_equal(e[2], 0x0B);
    assert_int_equal(R32(e + 0x30), 77);
    assert_int_equal(R32(e + 0x34), 76);
    etl_guid_write(&G1, gb);
    assert_memory_equal(e + 0x38, gb, 16);
    assert_int_equal(etl_event_parse(e, 256, true, &pe, &dc, det, sizeof det), 0x48);
    assert_int_equal(pe.kind, ETL_HDR_INSTANCE);
    assert_int_equal(pe.instance_id, 77);
    /* EVENT_HEADER64 with 3 ext items */
    e += 0x48;
    uint32_t size = 0x50 + (8 + 24) + (8 + 8) + (8 + 8) + 4;
    assert_int_equal(R16(e), size);
    assert_int_equal(R16(e + 2), 0xC013);
    assert_int_equal(R16(e + 4), ETL_EVENT_FLAG_EXTENDED_INFO);
    assert_int_equal(R16(e + 6), 8);
    assert_int_equal(R16(e + 0x28), 0x1234);
    assert_int_equal(e[0x2A], 1);
    assert_int_equal(e[0x2B], 11);
    assert_int_equal(e[0x2C], 5);
    assert_int_equal(e[0x2D], 2);
    assert_int_equal(R16(e + 0x2E), 0x77);
    assert_int_equal(R64(e + 0x30), 0x8000000000000001ull);
    assert_int_equal(R32(e + 0x38), 1);
    assert_int_equal(R32(e + 0x3C), 2);
    const uint8_t *x = e + 0x50;
    assert_int_equal(R16(x), 32);                              /* ItemSize */
    assert_int_equal(R16(x + 2), ETL_EXT_STACK_TRACE64);
    assert_int_equal(R16(x + 4), 1);                           /* linkage */
    assert_int_equal(R16(x + 6), 24);
    assert_int_equal(R64(x + 8), 9);
    assert_int_equal(R64(x + 16), frames[0]);
    x += 32;
    assert_int_equal(R16(x), 16);
    assert_int_equal(R16(x + 2), ETL_EXT_PROV_TRAITS);
    assert_int_equal(R16(x + 6), 7);
    assert_int_equal(R16(x + 8), 7);                           /* TraitsSize */
    assert_string_equal((const char *)x + 10, "Prov");
    x += 16;
    assert_int_equal(R16(x), 16);
    assert_int_equal(R16(x + 4), 0);                           /* last item */
    assert_int_equal(R16(x + 6), 3);
    assert_memory_equal(x + 8, "abc\0\0\0\0", 8);
    assert_int_equal(etl_event_parse(e, 512, true, &pe, &dc, det, sizeof det), (int)size);
    assert_int_equal(pe.kind, ETL_HDR_EVENT);
    assert_int_equal(pe.n_ext, 3);
    assert_int_equal(pe.ext[0].type, ETL_EXT_STACK_TRACE64);
    assert_int_equal(pe.ext[2].size, 3);
    assert_int_equal(pe.payload_len, 4);
    assert_int_equal(pe.event_id, 0x1234);
    g_free(d);
}

static void test_messages(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    EtlWriter *w = mem_writer(&c);
    static const uint16_t bits[6] = { ETL_MSG_SEQUENCE, ETL_MSG_GUID, ETL_MSG_COMPONENT_ID,
                                      ETL_MSG_TIMESTAMP, ETL_MSG_PERF_TIMESTAMP, ETL_MSG_SYSTEMINFO };
    for (uint32_t combo = 0; combo < 64; combo++) {
        uint16_t f = ETL_MSG_POINTER64;
        for (int i = 0; i < 6; i++)
            if (combo & (1u << i)) f |= bits[i];
        EtlWriterMessage m = { .cpu = 0, .message_number = (uint16_t)combo, .flags = f, .sequence = 1000 + combo,
                               .guid = G1, .component_id = 0x77, .timestamp = c.ts0 + combo, .tid = 5, .pid = 6 };
        assert_true(etl_writer_message(w, &m, "ARGS", 4, NULL));
    }
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    const uint8_t *b = d + 65536, *e = b + 0x48;
    uint32_t end = R32(b + 4);
    for (uint32_t combo = 0; combo < 64; combo++) {
        size_t size = 8 + 4;
        if (combo & 1) size += 4;
        if (combo & 4) size += 4; else if (combo & 2) size += 16;
        if (combo & 0x18) size += 8;
        if (combo & 0x20) size += 8;
        assert_true(e + size <= b + end);
        assert_int_equal(R16(e), size);
        assert_int_equal(e[2], 0);
        assert_int_equal(e[3], 0x90);
        assert_int_equal(R16(e + 4), combo);
        const uint8_t *q = e + 8;
        if (combo & 1) { assert_int_equal(R32(q), 1000 + combo); q += 4; }
        if (combo & 4) { assert_int_equal(R32(q), 0x77); q += 4; }
        else if (combo & 2) { q += 16; }
        if (combo & 0x18) { assert_int_equal(R64(q), (uint64_t)(c.ts0 + combo)); q += 8; }
        if (combo & 0x20) { assert_int_equal(R32(q), 5); assert_int_equal(R32(q + 4), 6); q += 8; }
        assert_memory_equal(q, "ARGS", 4);
        EtlEvent pe;
        EtlDiagCode dc;
        char det[128];
        assert_int_equal(etl_event_parse(e, (size_t)(b + end - e), true, &pe, &dc, det, sizeof det), (int)size);
        assert_int_equal(pe.kind, ETL_HDR_MESSAGE);
        assert_int_equal(pe.event_id, combo);
        assert_int_equal(pe.has_timestamp, (combo & 0x08) != 0);
        assert_int_equal(pe.payload_len, 4);
        e += (size + 7) & ~(size_t)7;
    }
    assert_ptr_equal(e, b + end);
    g_free(d);
}

/* ------------------------------------------------------------------------------ circular */

static void test_circular(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 8192;
    c.circular_max_bytes = 8192 * 5 + 100;           /* header + 4 slots, in KB */
    EtlWriter *w = mem_writer(&c);
    int64_t ts = c.ts0 + 10;
    /* 10 full buffers (78 events of 104 bytes each) + 1 at stop */
    for (int i = 0; i < 78 * 10 + 5; i++) perfinfo(w, 0, ts++, 0x0F, 0x44, 88);
    assert_int_equal(etl_writer_stats(w)->buffers_overwritten, 6);
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    assert_int_equal(len, 5 * 8192);
    const uint8_t *h = d + 0x48 + 0x20;
    assert_int_equal(R32(h + 0x20) & (ETL_MODE_CIRCULAR | ETL_MODE_SEQUENTIAL | 0x2000u), ETL_MODE_CIRCULAR | 0x2000u);
    assert_int_equal(R32(h + 0x1C), (8192 * 5 + 100) / 1024);
    assert_int_equal(R32(h + 0x24), 12);                         /* header + 11 flushed */
    /* 11 data buffers through 4 slots: slot i holds the last sequence s with (s-1)%4 == i */
    int64_t expect[4] = { 9, 10, 11, 8 };
    for (int i = 0; i < 4; i++) assert_int_equal(R64(d + (size_t)(i + 1) * 8192 + 0x18), expect[i]);
    g_free(d);

    /* a whole number of MB is written in MB */
    etl_writer_config_init(&c);
    c.circular_max_bytes = 1024 * 1024;
    w = mem_writer(&c);
    d = finish_mem(w, &len);
    h = d + 0x48 + 0x20;
    assert_int_equal(R32(h + 0x1C), 1);
    assert_int_equal(R32(h + 0x20) & 0x2000u, 0);
    g_free(d);
}

/* ------------------------------------------------------------------------------ compression */

static void emit_mix(EtlWriter *w, int64_t ts0)
{
    for (int i = 0; i < 3000; i++)
        perfinfo(w, (uint16_t)(i % 3), ts0 + 10 + i, 0x0F, (uint8_t)(0x40 + i % 5), 16 + (size_t)(i % 40));
}

static void test_compressed(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 16384;
    c.cpus = 3;
    EtlWriter *plain = mem_writer(&c);
    emit_mix(plain, c.ts0);
    size_t plen;
    uint8_t *p = finish_mem(plain, &plen);
    c.compress = true;
    EtlWriter *w = mem_writer(&c);
    emit_mix(w, c.ts0);
    assert_true(etl_writer_stats(w)->compressed_buffers > 0);
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    assert_true(len < plen / 2);
    /* header buffer: uncompressed, cut to 512 bytes, layout 2.0, COMPRESSED mode */
    uint32_t hs = R32(d);
    assert_int_equal(hs % 512, 0);
    assert_true(hs < 16384);
    assert_int_equal(R16(d + 0x34) & ETL_BUFFER_FLAG_COMPRESSED, 0);
    assert_int_equal(d[0x48 + 0x20 + 6], 2);
    assert_int_equal(d[0x48 + 0x20 + 7], 0);
    assert_true(R32(d + 0x48 + 0x20 + 0x20) & ETL_MODE_COMPRESSED);
    assert_int_equal(R32(d + 0x48 + 0x20), 16384);
    assert_true(all_ff(d + R32(d + 4), hs - R32(d + 4)));
    /* data buffers back to back, no padding; each decompresses to the plain buffer's events */
    size_t off = hs, poff = 16384;
    int n = 0;
    uint8_t *out = g_malloc(16384);
    while (off < len) {
        const uint8_t *b = d + off, *pb = p + poff;
        uint32_t bs = R32(b), saved = R32(b + 4);
        assert_true(R16(b + 0x34) & ETL_BUFFER_FLAG_COMPRESSED);
        assert_int_equal(saved, R32(b + 0x30));
        assert_int_equal(saved, R32(pb + 4));
        assert_int_equal(R64(b + 0x18), R64(pb + 0x18));
        assert_int_equal(R64(b + 0x10), R64(pb + 0x10));
        size_t got = 0;
        assert_int_equal(etl_xpress_decompress(b + 0x48, bs - 0x48, out, saved - 0x48, &got), ETL_XPRESS_OK);
        assert_int_equal(got, saved - 0x48);
        assert_memory_equal(out, pb + 0x48, saved - 0x48);
        off += bs;
        poff += 16384;
        n++;
    }
    assert_int_equal(off, len);
    assert_int_equal(poff, plen);
    assert_true(n >= 4);
    g_free(out);
    g_free(d);
    g_free(p);
}

/* ------------------------------------------------------------------------------ files */

static void test_file_output(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *path = g_build_filename(dir, "t.etl", NULL);
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    GError *err = NULL;
    EtlWriter *w = etl_writer_new_file(path, &c, &err);
    assert_non_null(w);
    emit_mix(w, c.ts0);
    assert_false(g_file_test(path, G_FILE_TEST_EXISTS));      /* only the temporary file */
    assert_int_equal(tu_count_entries(dir), 1);
    assert_true(etl_writer_finish(w, &err));
    etl_writer_free(w);
    assert_int_equal(tu_count_entries(dir), 1);
    size_t flen, mlen;
    uint8_t *f = tu_read_file(path, &flen);
    assert_non_null(f);
    EtlWriter *m = mem_writer(&c);
    emit_mix(m, c.ts0);
    uint8_t *d = finish_mem(m, &mlen);
    assert_int_equal(flen, mlen);
    assert_memory_equal(f, d, flen);                          /* deterministic, file == memory */
    g_free(f);
    g_free(d);

    /* abandoned: nothing is left behind, the old file is untouched */
    w = etl_writer_new_file(path, &c, &err);
    emit_mix(w, c.ts0);
    etl_writer_free(w);
    assert_int_equal(tu_count_entries(dir), 1);
    f = tu_read_file(path, &flen);
    assert_int_equal(flen, mlen);
    g_free(f);

    /* unwritable destination */
    char *bad = g_build_filename(dir, "no-such-dir", "x.etl", NULL);
    w = etl_writer_new_file(bad, &c, &err);
    assert_null(w);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_IO));
    g_clear_error(&err);
    g_free(bad);
    g_free(path);
    tu_rm_rf(dir);
    g_free(dir);
}

static void test_invalid(void **state)
{
    (void)state;
    EtlWriterConfig c;
    GError *err = NULL;
    etl_writer_config_init(&c);
    c.buffer_size = 4096;
    assert_null(etl_writer_new_memory(&c, &err));
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_INVALID));
    g_clear_error(&err);
    etl_writer_config_init(&c);
    c.pointer_size = 2;
    assert_null(etl_writer_new_memory(&c, &err));
    g_clear_error(&err);
    etl_writer_config_init(&c);
    c.cpu_mhz = 0;
    assert_null(etl_writer_new_memory(&c, &err));
    g_clear_error(&err);
    etl_writer_config_init(&c);
    c.compress = true;
    c.circular_max_bytes = 1 << 20;
    assert_null(etl_writer_new_memory(&c, &err));
    g_clear_error(&err);
    etl_writer_config_init(&c);
    c.circular_max_bytes = 70000;                   /* no room for a data slot */
    assert_null(etl_writer_new_memory(&c, &err));
    g_clear_error(&err);

    etl_writer_config_init(&c);
    c.buffer_size = 8192;
    EtlWriter *w = mem_writer(&c);
    static uint8_t big[9000];
    EtlWriterKernel k = { .header = ETL_WRITER_PERFINFO, .cpu = 0, .timestamp = c.ts0 };
    assert_false(etl_writer_kernel(w, &k, big, 8192 - 0x48 - 0x10 + 1, &err));
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_INVALID));
    g_clear_error(&err);
    assert_true(etl_writer_kernel(w, &k, big, 8192 - 0x48 - 0x10, &err));  /* exactly full */
    k.cpu = 2000;
    assert_false(etl_writer_kernel(w, &k, big, 8, &err));
    g_clear_error(&err);
    k.cpu = 7;                                       /* beyond the header's count: allowed */
    assert_true(etl_writer_kernel(w, &k, big, 8, &err));
    assert_true(etl_writer_raw_event(w, 0, c.ts0, "\x01\x02\x03", 3, &err));
    assert_true(etl_writer_flush_cpu(w, 7, ETL_BUFFER_FLAG_EVENTS_LOST, &err));
    assert_true(etl_writer_finish(w, &err));
    assert_false(etl_writer_kernel(w, &k, big, 8, &err));
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_INVALID));
    g_clear_error(&err);
    assert_false(etl_writer_finish(w, &err));
    g_clear_error(&err);
    size_t len;
    uint8_t *d = etl_writer_steal_memory(w, &len);
    etl_writer_free(w);
    /* buffers: header, cpu0 full (flushed when the raw event came), cpu7 (EVENTS_LOST), cpu0 */
    assert_int_equal(len, 4 * 8192);
    assert_int_equal(R32(d + 8192 + 4), 8192);
    assert_int_equal(R16(d + 2 * 8192 + 0x28), 7);
    assert_true(R16(d + 2 * 8192 + 0x34) & ETL_BUFFER_FLAG_EVENTS_LOST);
    assert_memory_equal(d + 3 * 8192 + 0x48, "\x01\x02\x03\0\0\0\0\0", 8);
    g_free(d);
}

static void test_raw_buffer(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = 8192;
    EtlWriter *w = mem_writer(&c);
    /* a buffer formed elsewhere (e.g. carved from a crash dump) goes in verbatim */
    uint8_t raw[8192];
    memset(raw, 0xFF, sizeof raw);
    memset(raw, 0, 0x48);
    raw[0x01] = 0x20;                                          /* BufferSize 0x2000 */
    raw[0x04] = 0x68;                                          /* SavedOffset 0x68 */
    raw[0x30] = 0x68;
    raw[0x10] = 0x10;                                          /* TimeStamp */
    raw[0x15] = 0x10;
    uint8_t ev[0x20] = { 2, 0, 0x11, 0xC0, 0x20, 0, 0x44, 0x0F };
    memcpy(raw + 0x48, ev, sizeof ev);
    GError *err = NULL;
    assert_true(etl_writer_raw_buffer(w, raw, sizeof raw, &err));
    assert_false(etl_writer_raw_buffer(w, raw, 0x20, &err));
    g_clear_error(&err);
    int64_t ts = (int64_t)etl_rd64(raw + 0x10);
    assert_int_equal(etl_writer_stats(w)->last_ts, ts);
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    assert_int_equal(len, 2 * 8192);
    assert_memory_equal(d + 8192, raw, sizeof raw);
    const uint8_t *h = d + 0x48 + 0x20;
    assert_int_equal(R32(h + 0x24), 2);                         /* BuffersWritten */
    assert_int_equal(R64(h + 0x10), (uint64_t)(c.start_time + (ts - c.ts0)));  /* 10 MHz = 100 ns */
    g_free(d);
}

static void test_stale_fill(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.fill = ETL_WRITER_FILL_STALE;
    c.fill_seed = 42;
    EtlWriter *w = mem_writer(&c);
    for (int i = 0; i < 50; i++) perfinfo(w, 0, c.ts0 + i, 0x0F, 0x44, 17);  /* 33 -> 7 gap bytes */
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    const uint8_t *b = d + 65536;
    int nonzero = 0;
    for (int i = 0; i < 50; i++)
        for (int g = 33; g < 40; g++) nonzero += b[0x48 + i * 40 + g] != 0;
    assert_true(nonzero > 200);
    assert_int_equal(R64(b + 0x38) >> 32, 0xffffca86u);
    /* still deterministic */
    EtlWriter *w2 = mem_writer(&c);
    for (int i = 0; i < 50; i++) perfinfo(w2, 0, c.ts0 + i, 0x0F, 0x44, 17);
    size_t len2;
    uint8_t *d2 = finish_mem(w2, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(d, d2, len);
    g_free(d);
    g_free(d2);
}

/* ------------------------------------------------------------------------------ round trips */

typedef struct {
    uint16_t cpu;
    int64_t ts;
    uint8_t op;
    uint32_t len;
} Expect;

static int cmp_expect(const void *a, const void *b)
{
    const Expect *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

static void round_trip(EtlWriterConfig *c)
{
    EtlWriter *w = mem_writer(c);
    enum { N = 4000 };
    Expect *ex = g_new0(Expect, N);
    uint8_t pl[256];
    for (int i = 0; i < N; i++) {
        ex[i].cpu = (uint16_t)(i * 7 % c->cpus);
        ex[i].ts = c->ts0 + 100 + i * 3 + (i * 7 % c->cpus);
        ex[i].op = (uint8_t)(0x40 + i % 6);
        ex[i].len = 8 + (uint32_t)(i % 50);
        for (uint32_t k = 0; k < ex[i].len; k++) pl[k] = (uint8_t)(i + k);
        EtlWriterKernel k = { .header = i % 2 ? ETL_WRITER_PERFINFO : ETL_WRITER_SYSTEM, .group = 0x0F,
                              .opcode = ex[i].op, .version = 2, .cpu = ex[i].cpu, .timestamp = ex[i].ts,
                              .tid = (uint32_t)i, .pid = 4 };
        assert_true(etl_writer_kernel(w, &k, pl, ex[i].len, NULL));
    }
    size_t len;
    uint8_t *d = finish_mem(w, &len);
    GError *err = NULL;
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(d, len, "rt"), NULL, &err);
    assert_non_null(t);
    const EtlLogfileHeader *h = etl_trace_header(t);
    assert_int_equal(h->buffer_size, c->buffer_size);
    assert_int_equal(h->cpus, c->cpus);
    assert_int_equal(h->pointer_size, c->pointer_size);
    assert_int_equal(h->header_is64, c->pointer_size == 8);
    assert_int_equal(h->ts0, c->ts0);
    assert_int_equal(h->perf_freq, c->perf_freq);
    assert_int_equal(h->start_time, c->start_time);
    assert_int_equal(h->cpu_mhz, c->cpu_mhz);
    assert_int_equal(h->clock_type, c->clock_type);
    assert_int_equal(h->logger_id, c->logger_id);
    assert_int_equal(h->os_build, c->os_build);
    assert_string_equal(h->logger_name, c->logger_name);
    assert_string_equal(h->log_file_name, c->log_file_name);
    qsort(ex, N, sizeof *ex, cmp_expect);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    int i = 0;
    while ((ev = etl_reader_next(r))) {
        if (ev->group == 0 && ev->kind == ETL_HDR_SYSTEM) continue;  /* header buffer events */
        assert_true(i < N);
        assert_int_equal(ev->cpu, ex[i].cpu);
        assert_int_equal(ev->timestamp, ex[i].ts);
        assert_int_equal(ev->opcode, ex[i].op);
        assert_int_equal(ev->payload_len, ex[i].len);
        assert_int_equal(ev->pointer_size, c->pointer_size);
        i++;
    }
    assert_int_equal(i, N);
    etl_reader_free(r);
    const EtlStats *st = etl_trace_stats(t);
    assert_int_equal(st->diagnostics, 0);
    assert_int_equal(st->time_inversions, 0);
    etl_trace_free(t);
    g_free(ex);
}

static void test_round_trip(void **state)
{
    (void)state;
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.cpus = 3;
    c.buffer_size = 8192;
    c.sequence_at_start = true;
    round_trip(&c);                                 /* 64-bit, sequence != file order */
    c.pointer_size = 4;
    c.proc_index = false;
    c.header_quirk = true;
    round_trip(&c);                                 /* 32-bit, Windows 7 style */
    etl_writer_config_init(&c);
    c.cpus = 2;
    c.buffer_size = 16384;
    c.compress = true;
    round_trip(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_buffer_64),
        cmocka_unit_test(test_header_buffer_32),
        cmocka_unit_test(test_header_options),
        cmocka_unit_test(test_buffers),
        cmocka_unit_test(test_sequence_at_start),
        cmocka_unit_test(test_event_headers),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_circular),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_file_output),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_raw_buffer),
        cmocka_unit_test(test_stale_fill),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
