/* test-reader.c — event iteration: per-CPU k-way merge and its tie-break, file order,
 * circular and compressed files, 32-bit producers, every header kind through the reader,
 * WPP messages without time, and resynchronisation after corrupt events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "etl-writer.h"
#include "etl.h"
#include "testutil.h"

#include <stdio.h>

typedef struct {
    int64_t  ts;
    uint16_t cpu;
    uint32_t seq; /* our own counter, carried in the payload */
} Rec;

static EtlWriter *new_writer(EtlWriterConfig *cfg)
{
    GError *err = NULL;
    EtlWriter *w = etl_writer_new_memory(cfg, &err);
    if (!w) fprintf(stderr, "writer: %s\n", err->message);
    assert_non_null(w);
    return w;
}

static void put_dpc(EtlWriter *w, uint16_t cpu, int64_t ts, uint32_t seq, uint8_t psize)
{
    uint8_t payload[16] = { 0 };
    memcpy(payload, &seq, 4); /* InitialTime low bytes carry the sequence for checking */
    EtlWriterKernel k = { .header = ETL_WRITER_PERFINFO, .group = 0x0F, .opcode = 0x44, .version = 2,
                          .cpu = cpu, .timestamp = ts, .pointer_size = psize };
    GError *err = NULL;
    assert_true(etl_writer_kernel(w, &k, payload, 8u + psize, &err));
}

static EtlTrace *finish_open(EtlWriter *w)
{
    GError *err = NULL;
    assert_true(etl_writer_finish(w, &err));
    size_t len;
    uint8_t *b = etl_writer_steal_memory(w, &len);
    etl_writer_free(w);
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(b, len, "mem"), NULL, &err);
    assert_non_null(t);
    return t;
}

/* Read every DPC event (our payload) in the given order. */
static GArray *read_recs(EtlTrace *t, EtlOrder order)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(Rec));
    EtlReader *r = etl_reader_new(t, order);
    const EtlEvent *ev;
    while ((ev = etl_reader_next(r))) {
        if (ev->group != 0x0F || ev->opcode != 0x44) continue;
        Rec x;
        memset(&x, 0, sizeof x); /* padding too: arrays of Rec are compared with memcmp */
        x.ts = ev->timestamp;
        x.cpu = ev->cpu;
        x.seq = etl_rd32(ev->payload);
        g_array_append_val(a, x);
    }
    etl_reader_free(r);
    return a;
}

static void test_merge_order(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.cpus = 4;
    cfg.buffer_size = 8192;
    cfg.sequence_at_start = true; /* file order != sequence order, as in real files */
    EtlWriter *w = new_writer(&cfg);
    /* Events spread over the CPUs; every 4 consecutive events share one timestamp, so ties
     * across CPUs are frequent; each CPU's own stream stays in time order. */
    uint32_t seq = 0;
    int n = 6000;
    for (int i = 0; i < n; i++) {
        uint16_t cpu = (uint16_t)((i * 7919 + i / 5) % 4);
        int64_t ts = cfg.ts0 + 1000 + (int64_t)(i / 4) * 3;
        put_dpc(w, cpu, ts, seq++, 8);
    }
    EtlTrace *t = finish_open(w);
    GArray *a = read_recs(t, ETL_ORDER_TIME);
    assert_int_equal(a->len, (guint)n);
    for (guint i = 1; i < a->len; i++) {
        Rec *p = &g_array_index(a, Rec, i - 1), *q = &g_array_index(a, Rec, i);
        /* total order: timestamp, then CPU, then position within the CPU */
        assert_true(p->ts < q->ts || (p->ts == q->ts && p->cpu < q->cpu) ||
                    (p->ts == q->ts && p->cpu == q->cpu && p->seq < q->seq));
    }
    assert_int_equal(etl_trace_stats(t)->time_inversions, 0);
    /* a second reader gives the identical sequence (deterministic) */
    GArray *b = read_recs(t, ETL_ORDER_TIME);
    assert_int_equal(b->len, a->len);
    assert_memory_equal(a->data, b->data, a->len * sizeof(Rec));
    /* CPU order: the same events, CPU by CPU, each CPU's events in time order */
    GArray *c = read_recs(t, ETL_ORDER_CPU);
    assert_int_equal(c->len, a->len);
    uint64_t seen_sum = 0;
    for (guint i = 0; i < c->len; i++) {
        Rec *q = &g_array_index(c, Rec, i);
        seen_sum += q->seq;
        if (i == 0) continue;
        Rec *p = &g_array_index(c, Rec, i - 1);
        assert_true(p->cpu <= q->cpu);
        if (p->cpu == q->cpu) assert_true(p->ts < q->ts || (p->ts == q->ts && p->seq < q->seq));
    }
    assert_true(seen_sum == (uint64_t)n * (n - 1) / 2); /* each event exactly once */
    g_array_free(c, TRUE);
    /* file order: same multiset, buffer by buffer */
    GArray *f = read_recs(t, ETL_ORDER_FILE);
    assert_int_equal(f->len, a->len);
    bool differs = false;
    for (guint i = 0; i < f->len; i++)
        if (g_array_index(f, Rec, i).seq != g_array_index(a, Rec, i).seq) differs = true;
    assert_true(differs); /* the file really is out of time order */
    g_array_free(a, TRUE);
    g_array_free(b, TRUE);
    g_array_free(f, TRUE);
    etl_trace_free(t);
}

static void check_variant(bool compress, uint8_t psize, bool proc_index, uint64_t circular)
{
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.cpus = 3;
    cfg.buffer_size = 8192;
    cfg.compress = compress;
    cfg.pointer_size = psize;
    cfg.proc_index = proc_index;
    cfg.circular_max_bytes = circular;
    EtlWriter *w = new_writer(&cfg);
    int n = 9000;
    for (int i = 0; i < n; i++) put_dpc(w, (uint16_t)(i % 3), cfg.ts0 + 10 + i, (uint32_t)i, psize);
    const EtlWriterStats *ws = etl_writer_stats(w);
    (void)ws;
    GError *err = NULL;
    assert_true(etl_writer_finish(w, &err));
    uint64_t overwritten = etl_writer_stats(w)->buffers_overwritten;
    size_t len;
    uint8_t *bytes = etl_writer_steal_memory(w, &len);
    etl_writer_free(w);
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(bytes, len, "v"), NULL, &err);
    assert_non_null(t);
    const EtlStats *st = etl_trace_stats(t);
    GArray *a = read_recs(t, ETL_ORDER_TIME);
    assert_int_equal(st->diagnostics, 0);
    assert_int_equal(etl_trace_header(t)->header_is64, psize == 8);
    if (compress) assert_true(st->compressed_buffers > 0);
    if (!circular) {
        assert_int_equal(a->len, (guint)n);
        assert_int_equal(overwritten, 0);
    } else {
        /* the oldest buffers were overwritten: what is left is a contiguous tail per CPU */
        assert_true(overwritten > 0);
        assert_true(a->len < (guint)n && a->len > 0);
        assert_int_equal(g_array_index(a, Rec, a->len - 1).seq, (uint32_t)(n - 1));
    }
    for (guint i = 0; i < a->len; i++) {
        Rec *x = &g_array_index(a, Rec, i);
        assert_int_equal(x->cpu, x->seq % 3);
        assert_true(x->ts == cfg.ts0 + 10 + x->seq);
        if (i) assert_true(g_array_index(a, Rec, i - 1).seq < x->seq);
    }
    g_array_free(a, TRUE);
    etl_trace_free(t);
}

static void test_plain(void **state) { (void)state; check_variant(false, 8, true, 0); }
static void test_compressed(void **state) { (void)state; check_variant(true, 8, true, 0); }
static void test_32bit(void **state) { (void)state; check_variant(false, 4, true, 0); }
static void test_32bit_compressed(void **state) { (void)state; check_variant(true, 4, true, 0); }
static void test_no_proc_index(void **state) { (void)state; check_variant(false, 8, false, 0); }
static void test_circular(void **state) { (void)state; check_variant(false, 8, true, 8192 * 6); }

static void test_every_header_kind(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.cpus = 2;
    EtlWriter *w = new_writer(&cfg);
    GError *err = NULL;
    int64_t ts = cfg.ts0 + 100;
    uint8_t pl[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
    EtlWriterKernel sys = { .header = ETL_WRITER_SYSTEM, .group = 0x05, .opcode = 0x01, .version = 3, .cpu = 0,
                            .timestamp = ts++, .tid = 11, .pid = 22 };
    assert_true(etl_writer_kernel(w, &sys, pl, 8, &err));
    EtlWriterKernel cmp = { .header = ETL_WRITER_COMPACT, .group = 0x0E, .opcode = 0x20, .version = 2, .cpu = 1,
                            .timestamp = ts++, .tid = 33, .pid = 44 };
    assert_true(etl_writer_kernel(w, &cmp, pl, 24, &err));
    uint64_t pmc[2] = { 3896, 9400 };
    EtlWriterKernel pf = { .header = ETL_WRITER_PERFINFO, .group = 0x05, .opcode = 0x24, .version = 4, .cpu = 0,
                           .timestamp = ts++, .n_pmc = 2, .pmc = pmc, .has_pebs = true, .pebs_index = 77 };
    assert_true(etl_writer_kernel(w, &pf, pl, 24, &err));
    EtlWriterClassic cl = { .cpu = 1, .timestamp = ts++, .tid = 5, .pid = 6, .type = 0x24, .level = 4, .version = 2 };
    etl_guid_parse("b3e675d7-2554-4f18-830b-2762732560de", &cl.guid);
    assert_true(etl_writer_classic(w, &cl, pl, 20, &err));
    EtlWriterClassic in = cl;
    in.instance = true;
    in.instance_id = 5;
    in.timestamp = ts++;
    assert_true(etl_writer_classic(w, &in, pl, 4, &err));
    uint8_t stack[8 + 3 * 8];
    uint64_t frames[3] = { 0xfffff80000001000ull, 0xfffff80000002000ull, 0x7ff000001000ull };
    size_t sl = etl_writer_ext_stack(stack, sizeof stack, 1, frames, 3, 8);
    assert_int_equal(sl, 32);
    EtlWriterExt ext[1] = { { ETL_EXT_STACK_TRACE64, (uint16_t)sl, stack } };
    EtlWriterEvent eh = { .cpu = 0, .timestamp = ts++, .tid = 7, .pid = 8, .id = 99, .opcode = 1, .ext = ext, .n_ext = 1 };
    etl_guid_parse("e13c0d23-ccbc-4e12-931b-d9cc2eee27e4", &eh.provider);
    assert_true(etl_writer_event(w, &eh, pl, 5, &err));
    EtlWriterMessage m = { .cpu = 1, .message_number = 12, .flags = ETL_MSG_SEQUENCE | ETL_MSG_SYSTEMINFO, .sequence = 3,
                           .tid = 70, .pid = 80 };
    assert_true(etl_writer_message(w, &m, pl, 3, &err));
    EtlTrace *t = finish_open(w);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    int seen[8] = { 0 };
    while ((ev = etl_reader_next(r))) {
        seen[ev->kind]++;
        switch (ev->kind) {
        case ETL_HDR_COMPACT:
            assert_int_equal(ev->tid, 33);
            assert_int_equal(ev->payload_len, 24);
            break;
        case ETL_HDR_PERFINFO:
            assert_int_equal(ev->n_pmc, 2);
            assert_true(ev->has_pebs);
            assert_true(ev->pebs_index == 77);
            assert_true(etl_rd64(ev->pmc + 8) == 9400);
            assert_int_equal(ev->payload_len, 24);
            break;
        case ETL_HDR_FULL:
            assert_int_equal(ev->opcode, 0x24);
            assert_int_equal(ev->level, 4);
            assert_int_equal(ev->payload_len, 20);
            break;
        case ETL_HDR_INSTANCE:
            assert_int_equal(ev->instance_id, 5);
            break;
        case ETL_HDR_EVENT: {
            assert_int_equal(ev->event_id, 99);
            const EtlExtItem *it = etl_event_ext(ev, ETL_EXT_STACK_TRACE64);
            assert_non_null(it);
            assert_int_equal(it->size, 32);
            assert_true(etl_rd64(it->data + 8 + 16) == 0x7ff000001000ull);
            assert_int_equal(ev->payload_len, 5);
            break;
        }
        case ETL_HDR_MESSAGE:
            /* no timestamp: it takes its predecessor's on the same CPU */
            assert_false(ev->has_timestamp);
            assert_true(ev->timestamp == cl.timestamp + 1);
            assert_int_equal(ev->tid, 70);
            assert_int_equal(ev->message_sequence, 3);
            break;
        default: break;
        }
    }
    etl_reader_free(r);
    assert_int_equal(seen[ETL_HDR_SYSTEM], 3); /* header, extension, thread start */
    assert_int_equal(seen[ETL_HDR_COMPACT], 1);
    assert_int_equal(seen[ETL_HDR_PERFINFO], 1);
    assert_int_equal(seen[ETL_HDR_FULL], 1);
    assert_int_equal(seen[ETL_HDR_INSTANCE], 1);
    assert_int_equal(seen[ETL_HDR_EVENT], 1);
    assert_int_equal(seen[ETL_HDR_MESSAGE], 1);
    assert_int_equal(etl_trace_stats(t)->messages_without_time, 1);
    assert_int_equal(etl_trace_stats(t)->diagnostics, 0);
    etl_trace_free(t);
}

/* n DPC events (payload: their sequence number) on CPU 0 of a trace with 8 KiB buffers: data
 * buffer 1 holds events of 0x20 bytes from offset 0x48. */
static uint8_t *one_cpu_dpcs(int n, bool compress, size_t *len)
{
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.cpus = 1;
    cfg.buffer_size = 8192;
    cfg.compress = compress;
    EtlWriter *w = new_writer(&cfg);
    for (int i = 0; i < n; i++) put_dpc(w, 0, cfg.ts0 + 10 + i, (uint32_t)i, 8);
    GError *err = NULL;
    assert_true(etl_writer_finish(w, &err));
    uint8_t *b = etl_writer_steal_memory(w, len);
    etl_writer_free(w);
    return b;
}

static void test_resync_after_corrupt_event(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = one_cpu_dpcs(100, false, &len);
    /* Data buffer 1: DPC events of 0x20 bytes from 0x48.  Corrupt the marker of event 10 and
     * make event 50 claim a size running past the buffer. */
    uint8_t *buf = b + 8192;
    assert_int_equal(buf[0x48 + 3], 0xc0);
    assert_int_equal(etl_rd16(buf + 0x48 + 4), 0x20);
    memset(buf + 0x48 + 10 * 0x20, 0x33, 4);
    buf[0x48 + 50 * 0x20 + 4] = 0xff;
    buf[0x48 + 50 * 0x20 + 5] = 0x7f;
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    GArray *a = read_recs(t, ETL_ORDER_TIME);
    /* events 10 and 50 are lost, everything else is read */
    assert_int_equal(a->len, 98);
    for (guint i = 0; i < a->len; i++) {
        uint32_t s = g_array_index(a, Rec, i).seq;
        assert_true(s != 10 && s != 50);
    }
    const EtlStats *st = etl_trace_stats(t);
    assert_int_equal(st->diagnostics, 2);
    assert_int_equal(st->events_skipped, 2);
    assert_int_equal(st->bytes_skipped, 2 * 0x20);
    assert_int_equal(c.msgs->len, 2);
    char want[160];
    g_snprintf(want, sizeof want,
               "0x33333333 is not a trace header marker; resynchronised after 32 bytes: offset=0x%x, buffer=1, cpu=0",
               8192 + 0x48 + 10 * 0x20);
    assert_string_equal(c.msgs->pdata[0], want);
    g_snprintf(want, sizeof want,
               "event size 32767 overruns the buffer (%d bytes left); resynchronised after 32 bytes: offset=0x%x, buffer=1, cpu=0",
               50 * 0x20, 8192 + 0x48 + 50 * 0x20);
    assert_string_equal(c.msgs->pdata[1], want);
    g_array_free(a, TRUE);
    g_ptr_array_free(c.msgs, TRUE);
    etl_trace_free(t);
}

static void test_fill_marker_inside_events(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = one_cpu_dpcs(100, false, &len);
    /* a zeroed marker at event 20 and a 0xFFFFFFFF one at event 60 of data buffer 1: both look
     * like the end-of-events fill but events follow, so they are corruption, not the end */
    uint8_t *buf = b + 8192;
    memset(buf + 0x48 + 20 * 0x20, 0, 4);
    memset(buf + 0x48 + 60 * 0x20, 0xff, 4);
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    GArray *a = read_recs(t, ETL_ORDER_TIME);
    assert_int_equal(a->len, 98);
    assert_int_equal(g_array_index(a, Rec, a->len - 1).seq, 99);
    assert_int_equal(etl_trace_stats(t)->diagnostics, 2);
    assert_int_equal(etl_trace_stats(t)->bytes_skipped, 2 * 0x20);
    char want[200];
    g_snprintf(want, sizeof want,
               "end-of-events marker 0x00000000 %d bytes before the end of the buffer's events; resynchronised "
               "after 32 bytes: offset=0x%x, buffer=1, cpu=0",
               80 * 0x20, 8192 + 0x48 + 20 * 0x20);
    assert_string_equal(c.msgs->pdata[0], want);
    assert_non_null(strstr(c.msgs->pdata[1], "end-of-events marker 0xffffffff"));
    g_array_free(a, TRUE);
    g_ptr_array_free(c.msgs, TRUE);
    etl_trace_free(t);
}

static void test_corrupt_compressed_buffer(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = one_cpu_dpcs(1000, true, &len);
    /* find the first data buffer and truncate its compressed stream by lying about its size */
    uint32_t hsz = etl_rd32(b);
    uint8_t *db = b + hsz;
    assert_true(etl_rd16(db + 0x34) & ETL_BUFFER_FLAG_COMPRESSED);
    uint32_t bs = etl_rd32(db);
    /* corrupt bytes in the middle of the stream */
    memset(db + 0x48 + (bs - 0x48) / 2, 0xff, 16);
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    GArray *a = read_recs(t, ETL_ORDER_TIME);
    const EtlStats *st = etl_trace_stats(t);
    /* a diagnostic names the buffer; reading went on into later buffers */
    assert_true(st->diagnostics >= 1);
    bool named = false;
    for (guint i = 0; i < c.msgs->len; i++)
        if (strstr(c.msgs->pdata[i], ", buffer=1, cpu=0")) named = true;
    assert_true(named);
    assert_true(a->len > 500);
    assert_int_equal(g_array_index(a, Rec, a->len - 1).seq, 999);
    g_array_free(a, TRUE);
    g_ptr_array_free(c.msgs, TRUE);
    etl_trace_free(t);
}

static void test_time_inversions(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.cpus = 2;
    EtlWriter *w = new_writer(&cfg);
    put_dpc(w, 0, cfg.ts0 + 100, 0, 8);
    put_dpc(w, 0, cfg.ts0 + 90, 1, 8); /* backwards on CPU 0 */
    put_dpc(w, 0, cfg.ts0 + 110, 2, 8);
    put_dpc(w, 1, cfg.ts0 + 50, 3, 8);
    EtlTrace *t = finish_open(w);
    GArray *a = read_recs(t, ETL_ORDER_TIME);
    assert_int_equal(a->len, 4);
    assert_int_equal(etl_trace_stats(t)->time_inversions, 1);
    g_array_free(a, TRUE);
    etl_trace_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_order),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_32bit),
        cmocka_unit_test(test_32bit_compressed),
        cmocka_unit_test(test_no_proc_index),
        cmocka_unit_test(test_circular),
        cmocka_unit_test(test_every_header_kind),
        cmocka_unit_test(test_resync_after_corrupt_event),
        cmocka_unit_test(test_fill_marker_inside_events),
        cmocka_unit_test(test_corrupt_compressed_buffer),
        cmocka_unit_test(test_time_inversions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
