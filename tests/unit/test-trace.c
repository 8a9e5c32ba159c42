/* test-trace.c — opening traces: log-file header (32/64-bit), buffer index, time, and the
 * errors and diagnostics for files that are not (quite) ETL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "etl-writer.h"
#include "etl.h"
#include "testutil.h"

static uint8_t *build(EtlWriterConfig *cfg, int n_events, size_t *len)
{
    GError *err = NULL;
    EtlWriter *w = etl_writer_new_memory(cfg, &err);
    assert_non_null(w);
    uint8_t payload[24] = { 1, 2, 3 };
    for (int i = 0; i < n_events; i++) {
        EtlWriterKernel k = { .header = ETL_WRITER_PERFINFO, .group = 0x0F, .opcode = 0x44, .version = 2,
                              .cpu = (uint16_t)(i % cfg->cpus), .timestamp = cfg->ts0 + 1000 + i * 10 };
        assert_true(etl_writer_kernel(w, &k, payload, 8 + cfg->pointer_size, &err));
    }
    assert_true(etl_writer_finish(w, &err));
    uint8_t *b = etl_writer_steal_memory(w, len);
    etl_writer_free(w);
    return b;
}

/* Writer defaults with 8 KiB buffers: small traces of many buffers. */
static void config_8k(EtlWriterConfig *cfg, uint32_t cpus)
{
    etl_writer_config_init(cfg);
    cfg->buffer_size = 8192;
    cfg->cpus = cpus;
}

static EtlTrace *open_mem(uint8_t *b, size_t len, GError **err)
{
    return etl_trace_open(etl_source_new_memory_take(b, len, "mem"), NULL, err);
}

static void check_header(uint8_t ptr)
{
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.pointer_size = ptr;
    cfg.cpus = 3;
    cfg.buffer_size = 8192;
    cfg.perf_freq = 3117777;
    cfg.start_time = 132264173104203138; /* 2020-02-17T12:48:30.4203138Z */
    cfg.ts0 = 1996631531759;
    cfg.os_major = 6;
    cfg.os_minor = 2;
    cfg.os_build = 9200;
    cfg.cpu_mhz = 3592;
    cfg.timer_resolution = 156250;
    cfg.tz_bias = -480;
    cfg.logger_name = "Relogger";
    cfg.log_file_name = "C:\\x\\ünïcode.etl";
    cfg.events_lost = 3;
    cfg.buffers_lost = 2;
    size_t len;
    uint8_t *b = build(&cfg, 100, &len);
    GError *err = NULL;
    EtlTrace *t = open_mem(b, len, &err);
    assert_non_null(t);
    const EtlLogfileHeader *h = etl_trace_header(t);
    assert_int_equal(h->header_is64, ptr == 8);
    assert_int_equal(h->pointer_size, ptr);
    assert_int_equal(h->buffer_size, 8192);
    assert_int_equal(h->cpus, 3);
    assert_int_equal(h->os_major, 6);
    assert_int_equal(h->os_minor, 2);
    assert_int_equal(h->os_build, 9200);
    assert_int_equal(h->layout_major, 1);
    assert_int_equal(h->layout_minor, 5);
    assert_int_equal(h->cpu_mhz, 3592);
    assert_int_equal(h->timer_resolution, 156250);
    assert_int_equal(h->clock_type, ETL_CLOCK_QPC);
    assert_true(h->perf_freq == 3117777);
    assert_true(h->ticks_per_second == 3117777);
    assert_true(h->start_time == 132264173104203138);
    assert_true(h->ts0 == 1996631531759);
    assert_int_equal(h->events_lost, 3);
    assert_int_equal(h->buffers_lost, 2);
    assert_int_equal(h->tz_bias_minutes, -480);
    assert_string_equal(h->logger_name, "Relogger");
    assert_string_equal(h->log_file_name, "C:\\x\\ünïcode.etl");
    assert_string_equal(h->tz_standard_name, "@tzres.dll,-932");
    assert_int_equal(h->logger_id, 0x1c);
    assert_true(h->end_time > h->start_time);
    /* buffers: header + data buffers, all usable, 100 events */
    uint32_t nb = etl_trace_buffer_count(t);
    assert_true(nb >= 2);
    for (uint32_t i = 0; i < nb; i++) {
        const EtlBufferInfo *bi = etl_trace_buffer(t, i);
        assert_true(bi->usable);
        assert_int_equal(bi->index, i);
        assert_true(bi->file_offset == (uint64_t)i * 8192);
        assert_int_equal(bi->hdr.buffer_size, 8192);
        assert_int_equal(bi->hdr.type, i == 0 ? ETL_BUFFER_TYPE_HEADER : ETL_BUFFER_TYPE_GENERIC);
    }
    assert_int_equal(h->buffers_written, nb);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    int n = 0;
    const EtlEvent *ev;
    while ((ev = etl_reader_next(r))) n++;
    etl_reader_free(r);
    assert_int_equal(n, 100 + 2); /* + header event + EventTrace/Extension */
    const EtlStats *st = etl_trace_stats(t);
    assert_int_equal(st->events, 102);
    assert_int_equal(st->diagnostics, 0);
    assert_int_equal(st->header_events, 1);
    /* time: last event at ts0 + 1000 + 99*10 ticks */
    assert_true(st->last_ts == cfg.ts0 + 1990);
    assert_true(etl_time_rel_ns(h, st->last_ts) == 1990 * INT64_C(1000000000) / 3117777);
    etl_trace_free(t);
}

static void test_header_64(void **state) { (void)state; check_header(8); }
static void test_header_32(void **state) { (void)state; check_header(4); }

static void test_header_quirk(void **state)
{
    (void)state;
    /* Windows 7 header buffers: SavedOffset 0, Offset = end of events (§1.5). */
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.header_quirk = true;
    size_t len;
    uint8_t *b = build(&cfg, 5, &len);
    assert_int_equal(etl_rd32(b + 4), 0);
    GError *err = NULL;
    EtlTrace *t = open_mem(b, len, &err);
    assert_non_null(t);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev = etl_reader_next(r);
    assert_non_null(ev);
    assert_int_equal(ev->group, 0);
    assert_int_equal(ev->opcode, 0); /* the log-file header event itself */
    int n = 1;
    while (etl_reader_next(r)) n++;
    assert_int_equal(n, 5 + 2);
    etl_reader_free(r);
    assert_int_equal(etl_trace_stats(t)->diagnostics, 0);
    etl_trace_free(t);
}

static void test_not_etl(void **state)
{
    (void)state;
    GError *err = NULL;
    /* empty */
    EtlTrace *t = etl_trace_open(etl_source_new_memory((const uint8_t *)"", 0, "empty.etl"), NULL, &err);
    assert_null(t);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_EMPTY));
    assert_non_null(strstr(err->message, "empty.etl is empty"));
    g_clear_error(&err);
    /* garbage */
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 131 + 7);
    t = etl_trace_open(etl_source_new_memory(junk, sizeof junk, "junk.bin"), NULL, &err);
    assert_null(t);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_NOT_ETL));
    assert_non_null(strstr(err->message, "junk.bin is not an ETL trace"));
    g_clear_error(&err);
    /* tiny */
    t = etl_trace_open(etl_source_new_memory(junk, 10, "tiny"), NULL, &err);
    assert_null(t);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_NOT_ETL));
    g_clear_error(&err);
    /* a header buffer cut inside the log-file header event */
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    size_t len;
    uint8_t *b = build(&cfg, 1, &len);
    t = etl_trace_open(etl_source_new_memory(b, 0x100, "cut.etl"), NULL, &err);
    assert_null(t);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_CORRUPT));
    assert_non_null(strstr(err->message, "corrupt header buffer"));
    g_clear_error(&err);
    g_free(b);
    /* missing file */
    t = etl_trace_open_file("/nonexistent/dir/x.etl", NULL, &err);
    assert_null(t);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_IO));
    assert_non_null(strstr(err->message, "cannot open /nonexistent/dir/x.etl"));
    g_clear_error(&err);
    /* a directory */
    t = etl_trace_open_file("/", NULL, &err);
    assert_null(t);
    assert_true(g_error_matches(err, ETL_ERROR, ETL_ERROR_IO));
    g_clear_error(&err);
}

static void test_truncated_file(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    etl_writer_config_init(&cfg);
    cfg.buffer_size = 8192;
    size_t len;
    uint8_t *b = build(&cfg, 2000, &len);
    assert_true(len > 4 * 8192);
    /* cut the last buffer in half: its events up to the cut are still read */
    size_t cut = len - 4096;
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, cut, &c);
    assert_non_null(t);
    const EtlStats *st = etl_trace_stats(t);
    assert_int_equal(st->diags_by_code[ETL_DIAG_BUFFER_TRUNCATED], 1);
    char want[128];
    g_snprintf(want, sizeof want, "buffer of 8192 bytes runs past the end of the file (4096 bytes left): offset=0x%zx, buffer=%zu",
               len - 8192, len / 8192 - 1);
    assert_true(tu_has_msg(&c, want));
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    int n = 0;
    while (etl_reader_next(r)) n++;
    etl_reader_free(r);
    assert_true(n > 1000 && n < 2002);
    /* short tail: fewer bytes than a buffer header */
    etl_trace_free(t);
    g_ptr_array_free(c.msgs, TRUE);

    b = build(&cfg, 10, &len);
    uint8_t *longer = g_malloc(len + 20);
    memcpy(longer, b, len);
    memset(longer + len, 0x5a, 20);
    g_free(b);
    t = tu_open_collecting(longer, len + 20, &c);
    assert_non_null(t);
    assert_int_equal(etl_trace_stats(t)->diags_by_code[ETL_DIAG_FILE_TRUNCATED], 1);
    assert_true(tu_has_msg(&c, "file ends with 20 bytes, too short for a buffer header"));
    assert_int_equal(etl_trace_stats(t)->bytes_skipped, 20);
    etl_trace_free(t);
    g_ptr_array_free(c.msgs, TRUE);
}

static void test_zero_and_corrupt_buffers(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    config_8k(&cfg, 1);
    size_t len;
    uint8_t *b = build(&cfg, 3000, &len);
    size_t nb = len / 8192;
    assert_true(nb >= 5);
    /* buffer 2 zero-filled, buffer 3 header garbage */
    memset(b + 2 * 8192, 0, 8192);
    memset(b + 3 * 8192, 0x77, 0x48);
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    const EtlStats *st = etl_trace_stats(t);
    assert_true(tu_has_msg(&c, "zero-filled buffer (unwritten space), 8192 bytes skipped: offset=0x4000, buffer=2"));
    assert_true(tu_has_msg(&c, "implausible buffer header (BufferSize 0x77777777, type 30583, flags 0x7777); 8192 bytes "
                            "skipped to the next buffer: offset=0x6000, buffer=3"));
    assert_int_equal(st->diags_by_code[ETL_DIAG_BUFFER_HEADER], 2);
    assert_int_equal(etl_trace_buffer_count(t), nb);
    assert_false(etl_trace_buffer(t, 2)->usable);
    assert_true(etl_trace_buffer(t, 2)->unwritten);
    assert_false(etl_trace_buffer(t, 3)->usable);
    assert_true(etl_trace_buffer(t, 4)->usable);
    assert_int_equal(st->buffers_skipped, 2);
    assert_true(st->bytes_skipped == 2 * 8192);
    /* the remaining buffers are all read */
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    int n = 0;
    while (etl_reader_next(r)) n++;
    etl_reader_free(r);
    assert_true(n > 1000);
    etl_trace_free(t);
    g_ptr_array_free(c.msgs, TRUE);
}

static void test_unusable_runs_are_one_entry(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    config_8k(&cfg, 1);
    size_t len;
    uint8_t *b = build(&cfg, 4000, &len);
    size_t nb = len / 8192;
    assert_true(nb >= 9);
    /* buffers 2-5 zero-filled: one entry, one diagnostic, whatever the run's length */
    memset(b + 2 * 8192, 0, 4 * 8192);
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    const EtlStats *st = etl_trace_stats(t);
    assert_int_equal(st->diagnostics, 1);
    assert_true(tu_has_msg(&c, "zero-filled buffer (unwritten space), 32768 bytes skipped: offset=0x4000, buffer=2"));
    assert_int_equal(etl_trace_buffer_count(t), nb - 3);
    const EtlBufferInfo *run = etl_trace_buffer(t, 2);
    assert_true(run->unwritten && !run->usable);
    assert_true(run->span == 4 * 8192);
    assert_true(etl_trace_buffer(t, 3)->file_offset == 6 * 8192);
    assert_true(etl_trace_buffer(t, 3)->usable);
    assert_true(st->bytes_skipped == 4 * 8192);
    etl_trace_free(t);
    g_ptr_array_free(c.msgs, TRUE);
}

static void test_compressed_size_that_leads_nowhere(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    config_8k(&cfg, 1);
    cfg.compress = true;
    size_t len;
    uint8_t *b = build(&cfg, 3000, &len);
    /* walk to compressed buffer 2 and make its BufferSize point into the middle of buffer 3 */
    uint64_t off1 = etl_rd32(b), off2 = off1 + etl_rd32(b + off1), off3 = off2 + etl_rd32(b + off2);
    assert_true(etl_rd16(b + off2 + 0x34) & ETL_BUFFER_FLAG_COMPRESSED);
    uint32_t bs2 = etl_rd32(b + off2), bad = bs2 + 24;
    memcpy(b + off2, &bad, 4);
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    const EtlStats *st = etl_trace_stats(t);
    char want[160];
    g_snprintf(want, sizeof want,
               "compressed buffer of 0x%x bytes is not followed by a buffer; %u bytes skipped to the next buffer: "
               "offset=0x%x, buffer=2",
               bad, (unsigned)(off3 - off2), (unsigned)off2);
    assert_true(tu_has_msg(&c, want));
    assert_int_equal(st->diagnostics, 1);
    assert_true(st->bytes_skipped == off3 - off2);
    /* everything from buffer 3 on is read */
    assert_true(etl_trace_buffer(t, 3)->file_offset == off3);
    assert_true(etl_trace_buffer(t, 3)->usable);
    etl_trace_free(t);
    g_ptr_array_free(c.msgs, TRUE);
}

static void test_logger_and_cpu_checks(void **state)
{
    (void)state;
    EtlWriterConfig cfg;
    config_8k(&cfg, 2);
    size_t len;
    uint8_t *b = build(&cfg, 2000, &len);
    /* buffer 2: another logger; buffer 3: CPU 9 of 2 */
    b[2 * 8192 + 0x2A] = 0x99;
    b[3 * 8192 + 0x28] = 9;
    TuDiags c;
    EtlTrace *t = tu_open_collecting(b, len, &c);
    assert_non_null(t);
    assert_true(tu_has_msg(&c, "buffer belongs to logger 153, the trace's other buffers to logger 28: offset=0x4000, buffer=2"));
    assert_true(tu_has_msg(&c, "buffer CPU 9 is beyond the 2 CPUs of the header: offset=0x6000, buffer=3, cpu=9"));
    assert_int_equal(etl_trace_cpu_slots(t), 10);
    etl_trace_free(t);
    g_ptr_array_free(c.msgs, TRUE);
}

static void test_buffer_header_parse(void **state)
{
    (void)state;
    /* AMSITrace.etl's header buffer, as quoted in ETL_CONTAINER.md §1.2 */
    uint8_t b[0x48] = { 0x00, 0x00, 0x01, 0x00, 0x20, 0x02, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00 };
    b[0x2A] = 0x28;
    b[0x2C] = 0x03;
    b[0x30] = 0x20;
    b[0x31] = 0x02;
    b[0x34] = 0x21;
    b[0x36] = 0x04;
    EtlBufferHeader h;
    etl_buffer_header_parse(b, &h);
    assert_int_equal(h.buffer_size, 0x10000);
    assert_int_equal(h.saved_offset, 0x220);
    assert_int_equal(h.current_offset, 0x220);
    assert_true(h.timestamp == 0 && h.sequence == 0);
    assert_int_equal(h.cpu, 0);
    assert_int_equal(h.logger_id, 0x28);
    assert_int_equal(h.state, 3);
    assert_int_equal(h.offset, 0x220);
    assert_int_equal(h.flags, ETL_BUFFER_FLAG_FLUSH_MARKER | ETL_BUFFER_FLAG_PROC_INDEX);
    assert_int_equal(h.type, ETL_BUFFER_TYPE_HEADER);
    /* Windows 7 buffer context: no PROC_INDEX, CPU 3 in the low byte, Alignment 8 above it */
    b[0x28] = 3;
    b[0x29] = 8;
    b[0x34] = 0;
    etl_buffer_header_parse(b, &h);
    assert_int_equal(h.cpu, 3);
    /* with PROC_INDEX the same two bytes are one u16 index */
    b[0x34] = ETL_BUFFER_FLAG_PROC_INDEX;
    etl_buffer_header_parse(b, &h);
    assert_int_equal(h.cpu, 0x0803);
    /* 64-bit fields */
    uint64_t ts = 0x0123456789abcdefull, seq = 404;
    memcpy(b + 0x10, &ts, 8);
    memcpy(b + 0x18, &seq, 8);
    etl_buffer_header_parse(b, &h);
    assert_true(h.timestamp == (int64_t)ts);
    assert_true(h.sequence == 404);
}

static void test_diag_format_and_cap(void **state)
{
    (void)state;
    EtlDiag d = { .code = ETL_DIAG_EVENT_SIZE, .file_offset = 0x1f0048, .buffer_index = 31, .cpu = 2 };
    g_strlcpy(d.detail, "event size 4 is smaller than its system header (32 bytes)", sizeof d.detail);
    char *s = etl_diag_format(&d);
    assert_string_equal(s, "event size 4 is smaller than its system header (32 bytes): offset=0x1f0048, buffer=31, cpu=2");
    g_free(s);
    d.buffer_index = UINT32_MAX;
    d.cpu = -1;
    s = etl_diag_format(&d);
    assert_string_equal(s, "event size 4 is smaller than its system header (32 bytes): offset=0x1f0048");
    g_free(s);
    assert_string_equal(etl_diag_code_name(ETL_DIAG_DECOMPRESS), "decompress");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_64),
        cmocka_unit_test(test_header_32),
        cmocka_unit_test(test_header_quirk),
        cmocka_unit_test(test_not_etl),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_zero_and_corrupt_buffers),
        cmocka_unit_test(test_unusable_runs_are_one_entry),
        cmocka_unit_test(test_compressed_size_that_leads_nowhere),
        cmocka_unit_test(test_logger_and_cpu_checks),
        cmocka_unit_test(test_buffer_header_parse),
        cmocka_unit_test(test_diag_format_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
