/* test-header.c — etl_event_parse on every trace-header type, 32- and 64-bit, and on
 * malformed headers (exact diagnostics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "etl.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static int parse(const uint8_t *p, size_t n, EtlEvent *ev, EtlDiagCode *code, char *detail)
{
    memset(ev, 0xA5, sizeof *ev); /* the parser must set what it reports */
    return etl_event_parse(p, n, true, ev, code, detail, 128);
}

static void guid_is(const EtlGuid *g, const char *want)
{
    char s[ETL_GUID_STRLEN];
    etl_guid_format(g, s);
    assert_string_equal(s, want);
}

static void test_system64_full(void **state)
{
    (void)state;
    /* Thread DCStart as observed in ShutdownPerfDiagLogger.etl (ETL_CONTAINER.md §3.3). */
    uint8_t b[0x70] = { 0x03, 0x00, 0x02, 0xc0, 0x6a, 0x00, 0x03, 0x05 };
    put32(b + 8, 0x1234);
    put32(b + 12, 4);
    put64(b + 16, 0x44bb790263ull);
    put32(b + 0x18, 7);
    put32(b + 0x1c, 9);
    EtlEvent ev;
    EtlDiagCode code;
    char d[128];
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), 0x6a);
    assert_int_equal(ev.kind, ETL_HDR_SYSTEM);
    assert_int_equal(ev.pointer_size, 8);
    assert_int_equal(ev.version, 3);
    assert_int_equal(ev.group, 0x05);
    assert_int_equal(ev.opcode, 0x03);
    assert_int_equal(ev.tid, 0x1234);
    assert_int_equal(ev.pid, 4);
    assert_true(ev.timestamp == 0x44bb790263ll);
    assert_int_equal(ev.kernel_time, 7);
    assert_int_equal(ev.user_time, 9);
    assert_int_equal(ev.header_size, 0x20);
    assert_int_equal(ev.payload_len, 0x6a - 0x20);
    assert_ptr_equal(ev.payload, b + 0x20);
    assert_int_equal(ev.n_pmc, 0);
    assert_false(ev.has_pebs);
    assert_true(ev.has_timestamp);
    guid_is(&ev.provider, "3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c"); /* Thread */
}

static void test_system32_compact(void **state)
{
    (void)state;
    uint8_t b[0x20] = { 0x02, 0x00, 0x03, 0xc0, 0x1c, 0x00, 0x20, 0x0e };
    put32(b + 8, 10);
    put32(b + 12, 20);
    put64(b + 16, 1000);
    EtlEvent ev;
    assert_int_equal(parse(b, sizeof b, &ev, NULL, NULL), 0x1c);
    assert_int_equal(ev.kind, ETL_HDR_COMPACT);
    assert_int_equal(ev.pointer_size, 4);
    assert_int_equal(ev.header_size, 0x18);
    assert_int_equal(ev.payload_len, 4);
    assert_int_equal(ev.group, 0x0e);
    assert_int_equal(ev.opcode, 0x20);
    assert_int_equal(ev.tid, 10);
    assert_int_equal(ev.pid, 20);
    assert_int_equal(ev.kernel_time, 0);
    guid_is(&ev.provider, "0268a8b6-74fd-4302-9dd0-6e8f1795c0cf"); /* Pool */
}

static void test_perfinfo_pmc_pebs(void **state)
{
    (void)state;
    /* CSwitch with two PMC counters (ETL_CONTAINER.md §3.4 example). */
    uint8_t b[0x38] = { 0x04, 0x02, 0x11, 0xc0, 0x38, 0x00, 0x24, 0x05 };
    put64(b + 8, 555);
    put64(b + 16, 3896);
    put64(b + 24, 9400);
    EtlEvent ev;
    assert_int_equal(parse(b, sizeof b, &ev, NULL, NULL), 0x38);
    assert_int_equal(ev.kind, ETL_HDR_PERFINFO);
    assert_int_equal(ev.version, 4);
    assert_int_equal(ev.n_pmc, 2);
    assert_false(ev.has_pebs);
    assert_true(etl_rd64(ev.pmc) == 3896);
    assert_true(etl_rd64(ev.pmc + 8) == 9400);
    assert_int_equal(ev.header_size, 0x20);
    assert_int_equal(ev.payload_len, 0x18);
    assert_int_equal(ev.tid, ETL_NO_ID);
    assert_int_equal(ev.pid, ETL_NO_ID);
    assert_true(ev.timestamp == 555);
    assert_int_equal(ev.group, 5);
    assert_int_equal(ev.opcode, 0x24);

    /* PEBS index then one PMC counter. */
    uint8_t c[0x30] = { 0x04, 0x81, 0x10, 0xc0, 0x30, 0x00, 0x24, 0x05 };
    put64(c + 8, 1);
    put64(c + 16, 0xAB);
    put64(c + 24, 0xCD);
    assert_int_equal(parse(c, sizeof c, &ev, NULL, NULL), 0x30);
    assert_true(ev.has_pebs);
    assert_true(ev.pebs_index == 0xAB);
    assert_int_equal(ev.n_pmc, 1);
    assert_true(etl_rd64(ev.pmc) == 0xCD);
    assert_int_equal(ev.pointer_size, 4);
    assert_int_equal(ev.header_size, 0x20);

    /* extension bytes larger than the event */
    EtlDiagCode code;
    char d[128];
    uint8_t e[0x18] = { 0x02, 0x07, 0x11, 0xc0, 0x18, 0x00, 0x24, 0x05 };
    assert_int_equal(parse(e, sizeof e, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_SIZE);
    assert_non_null(strstr(d, "PMC/PEBS"));
}

static void test_image_load_remap(void **state)
{
    (void)state;
    uint8_t b[0x30] = { 0x03, 0x00, 0x02, 0xc0, 0x30, 0x00, 0x0a, 0x03 };
    EtlEvent ev;
    assert_int_equal(parse(b, sizeof b, &ev, NULL, NULL), 0x30);
    assert_int_equal(ev.group, 3);
    assert_int_equal(ev.opcode, 10);
    guid_is(&ev.provider, "2cb15d1d-5fc1-11d2-abe1-00a0c911f518"); /* Image */
}

static void test_classic_full64(void **state)
{
    (void)state;
    /* Real FULL_HEADER64 ImageID/FileVersion header (ETL_CONTAINER.md §3.5). */
    const uint8_t hdr[0x30] = { 0x84, 0x01, 0x14, 0xc0, 0x40, 0x00, 0x00, 0x00, 0x20, 0x67, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x1c, 0x18, 0x06, 0x42, 0xcb, 0x02, 0x00, 0x00,
                                0xd7, 0x75, 0xe6, 0xb3, 0x54, 0x25, 0x18, 0x4f, 0x83, 0x0b, 0x27, 0x62,
                                0x73, 0x25, 0x60, 0xde, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00 };
    uint8_t b[0x188] = { 0 };
    memcpy(b, hdr, sizeof hdr);
    EtlEvent ev;
    assert_int_equal(parse(b, sizeof b, &ev, NULL, NULL), 0x184);
    assert_int_equal(ev.kind, ETL_HDR_FULL);
    assert_int_equal(ev.pointer_size, 8);
    assert_int_equal(ev.opcode, 0x40);
    assert_int_equal(ev.level, 0);
    assert_int_equal(ev.version, 0);
    assert_int_equal(ev.tid, 0x6720);
    assert_int_equal(ev.pid, 0);
    assert_true(ev.timestamp == 0x2cb4206181cll);
    guid_is(&ev.provider, "b3e675d7-2554-4f18-830b-2762732560de");
    assert_int_equal(ev.kernel_time, 1);
    assert_int_equal(ev.user_time, 2);
    assert_int_equal(ev.header_size, 0x30);
    assert_int_equal(ev.payload_len, 0x184 - 0x30);
}

static void test_classic_full32_and_instance(void **state)
{
    (void)state;
    uint8_t b[0x40] = { 0x34, 0x00, 0x0a, 0xc0, 0x24, 0x05, 0x02, 0x00 };
    EtlEvent ev;
    assert_int_equal(parse(b, sizeof b, &ev, NULL, NULL), 0x34);
    assert_int_equal(ev.kind, ETL_HDR_FULL);
    assert_int_equal(ev.pointer_size, 4);
    assert_int_equal(ev.opcode, 0x24);
    assert_int_equal(ev.level, 5);
    assert_int_equal(ev.version, 2);
    assert_int_equal(ev.payload_len, 4);

    uint8_t i[0x50] = { 0x4c, 0x00, 0x15, 0xc0, 0x01, 0x04, 0x00, 0x00 };
    put32(i + 0x30, 77);
    put32(i + 0x34, 66);
    i[0x38] = 0x11;
    i[0x47] = 0x99;
    assert_int_equal(parse(i, sizeof i, &ev, NULL, NULL), 0x4c);
    assert_int_equal(ev.kind, ETL_HDR_INSTANCE);
    assert_int_equal(ev.pointer_size, 8);
    assert_int_equal(ev.instance_id, 77);
    assert_int_equal(ev.parent_instance_id, 66);
    assert_int_equal(ev.parent_guid.data1, 0x11);
    assert_int_equal(ev.parent_guid.data4[7], 0x99);
    assert_int_equal(ev.header_size, 0x48);
    assert_int_equal(ev.payload_len, 4);
    /* 32-bit instance */
    i[2] = 0x0b;
    assert_int_equal(parse(i, sizeof i, &ev, NULL, NULL), 0x4c);
    assert_int_equal(ev.pointer_size, 4);
}

static void test_event_header_ext(void **state)
{
    (void)state;
    /* EVENT_HEADER64 with a PROV_TRAITS item (linkage 1) and a schema item, then 6 bytes of
     * user data: modelled on the AMSITrace.etl event of ETL_CONTAINER.md §3.7. */
    uint8_t b[0x50 + 0x18 + 0x10 + 8] = { 0 };
    uint16_t size = 0x50 + 0x18 + 0x10 + 6;
    put16(b, size);
    b[2] = 0x13;
    b[3] = 0xc0;
    put16(b + 4, ETL_EVENT_FLAG_EXTENDED_INFO);
    put32(b + 8, 0x6ab8);
    put32(b + 12, 0x74ac);
    put64(b + 16, 0x27f3ebb57a3ull);
    const uint8_t prov[16] = { 0xb3, 0x5e, 0x80, 0x8e, 0x8f, 0x6a, 0x1e, 0x4a,
                               0x90, 0xfa, 0xa8, 0x31, 0xd9, 0x4e, 0x54, 0xa1 };
    memcpy(b + 0x18, prov, 16);
    put16(b + 0x28, 17);
    b[0x2a] = 1;
    b[0x2b] = 11;
    b[0x2c] = 5;
    b[0x2d] = 2;
    put16(b + 0x2e, 3);
    put64(b + 0x30, 0x8000000000000001ull);
    put32(b + 0x38, 2);
    put32(b + 0x3c, 3);
    /* item 1: size 0x18, type PROV_TRAITS, linkage 1, data 12 */
    put16(b + 0x50, 0x18);
    put16(b + 0x52, ETL_EXT_PROV_TRAITS);
    put16(b + 0x54, 1);
    put16(b + 0x56, 12);
    put16(b + 0x58, 12);
    memcpy(b + 0x5a, "AmsiTrace", 10);
    /* item 2: size 0x10, type STACK_TRACE64? no: EVENT_KEY with 8 bytes, linkage 0 */
    put16(b + 0x68, 0x10);
    put16(b + 0x6a, ETL_EXT_EVENT_KEY);
    put16(b + 0x6c, 0);
    put16(b + 0x6e, 8);
    put64(b + 0x70, 0x1122334455667788ull);
    memcpy(b + 0x78, "PowerS", 6);
    EtlEvent ev;
    EtlDiagCode code;
    char d[128];
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), size);
    assert_int_equal(ev.kind, ETL_HDR_EVENT);
    assert_int_equal(ev.pointer_size, 8);
    guid_is(&ev.provider, "8e805eb3-6a8f-4a1e-90fa-a831d94e54a1");
    assert_int_equal(ev.event_id, 17);
    assert_int_equal(ev.version, 1);
    assert_int_equal(ev.channel, 11);
    assert_int_equal(ev.level, 5);
    assert_int_equal(ev.opcode, 2);
    assert_int_equal(ev.task, 3);
    assert_true(ev.keyword == 0x8000000000000001ull);
    assert_int_equal(ev.tid, 0x6ab8);
    assert_int_equal(ev.pid, 0x74ac);
    assert_int_equal(ev.kernel_time, 2);
    assert_int_equal(ev.user_time, 3);
    assert_int_equal(ev.n_ext, 2);
    assert_int_equal(ev.ext[0].type, ETL_EXT_PROV_TRAITS);
    assert_int_equal(ev.ext[0].size, 12);
    assert_ptr_equal(ev.ext[0].data, b + 0x58);
    assert_int_equal(ev.ext[1].type, ETL_EXT_EVENT_KEY);
    assert_true(etl_rd64(ev.ext[1].data) == 0x1122334455667788ull);
    assert_ptr_equal(etl_event_ext(&ev, ETL_EXT_EVENT_KEY), &ev.ext[1]);
    assert_null(etl_event_ext(&ev, ETL_EXT_STACK_TRACE64));
    assert_int_equal(ev.header_size, 0x78);
    assert_int_equal(ev.payload_len, 6);
    assert_memory_equal(ev.payload, "PowerS", 6);

    /* 32-bit producer */
    b[2] = 0x12;
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), size);
    assert_int_equal(ev.pointer_size, 4);

    /* an item that overruns the event */
    b[2] = 0x13;
    put16(b + 0x68, 0x40);
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EXT_ITEM);
    /* data size larger than the item */
    put16(b + 0x68, 0x10);
    put16(b + 0x6e, 9);
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EXT_ITEM);
    /* item size below 8 */
    put16(b + 0x6e, 8);
    put16(b + 0x68, 4);
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EXT_ITEM);
}

static void test_event_header_too_many_items(void **state)
{
    (void)state;
    uint8_t b[0x50 + 8 * 20] = { 0 };
    put16(b, sizeof b);
    b[2] = 0x13;
    b[3] = 0xc0;
    put16(b + 4, ETL_EVENT_FLAG_EXTENDED_INFO);
    for (int i = 0; i < 20; i++) {
        uint8_t *it = b + 0x50 + 8 * i;
        put16(it, 8);
        put16(it + 2, ETL_EXT_TS_ID);
        put16(it + 4, i < 19);
        put16(it + 6, 0);
    }
    EtlEvent ev;
    EtlDiagCode code;
    char d[128];
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EXT_ITEM);
    assert_non_null(strstr(d, "more than 16"));
}

static void test_message(void **state)
{
    (void)state;
    EtlEvent ev;
    EtlDiagCode code;
    char d[128];
    /* SEQUENCE | GUID | TIMESTAMP | SYSTEMINFO | POINTER64: timestamp unaligned after seq */
    uint8_t b[8 + 4 + 16 + 8 + 8 + 4] = { 0 };
    put16(b, sizeof b);
    b[3] = 0x90;
    put16(b + 4, 42);
    put16(b + 6, ETL_MSG_SEQUENCE | ETL_MSG_GUID | ETL_MSG_TIMESTAMP | ETL_MSG_SYSTEMINFO | ETL_MSG_POINTER64);
    put32(b + 8, 7);
    b[12] = 0x44;
    put64(b + 28, 123456789);
    put32(b + 36, 900);
    put32(b + 40, 800);
    put32(b + 44, 0xdeadbeef);
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), (int)sizeof b);
    assert_int_equal(ev.kind, ETL_HDR_MESSAGE);
    assert_int_equal(ev.event_id, 42);
    assert_int_equal(ev.message_sequence, 7);
    assert_int_equal(ev.provider.data1, 0x44);
    assert_true(ev.has_timestamp);
    assert_true(ev.timestamp == 123456789);
    assert_int_equal(ev.tid, 900);
    assert_int_equal(ev.pid, 800);
    assert_int_equal(ev.pointer_size, 8);
    assert_int_equal(ev.header_size, 44);
    assert_int_equal(ev.payload_len, 4);

    /* COMPONENT_ID wins over GUID; PERFORMANCE_TIMESTAMP alone reserves 8 bytes but gives no
     * time; POINTER32. */
    uint8_t c[8 + 4 + 8 + 2] = { 0 };
    put16(c, sizeof c);
    c[3] = 0x90;
    put16(c + 6, ETL_MSG_GUID | ETL_MSG_COMPONENT_ID | ETL_MSG_PERF_TIMESTAMP | ETL_MSG_POINTER32);
    put32(c + 8, 0x55);
    assert_int_equal(parse(c, sizeof c, &ev, &code, d), (int)sizeof c);
    assert_int_equal(ev.component_id, 0x55);
    assert_true(etl_guid_is_null(&ev.provider));
    assert_false(ev.has_timestamp);
    assert_int_equal(ev.tid, ETL_NO_ID);
    assert_int_equal(ev.pointer_size, 4);
    assert_int_equal(ev.header_size, 20);
    assert_int_equal(ev.payload_len, 2);

    /* options larger than the message */
    uint8_t e[12] = { 12, 0, 0, 0x90, 0, 0, ETL_MSG_GUID, 0 };
    assert_int_equal(parse(e, sizeof e, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_SIZE);
}

static void test_other_and_fill(void **state)
{
    (void)state;
    EtlEvent ev;
    uint8_t err_hdr[0x58] = { 0x58, 0x00, 0x0d, 0xc0 };
    assert_int_equal(parse(err_hdr, sizeof err_hdr, &ev, NULL, NULL), 0x58);
    assert_int_equal(ev.kind, ETL_HDR_OTHER);
    assert_false(ev.has_timestamp);
    uint8_t ulong32[16] = { 0x10, 0x00, 0x00, 0xb0 };
    assert_int_equal(parse(ulong32, sizeof ulong32, &ev, NULL, NULL), 0x10);
    assert_int_equal(ev.kind, ETL_HDR_OTHER);

    uint8_t ff[16];
    memset(ff, 0xff, sizeof ff);
    assert_int_equal(parse(ff, sizeof ff, &ev, NULL, NULL), 0);
    uint8_t zero[16] = { 0 };
    assert_int_equal(parse(zero, sizeof zero, &ev, NULL, NULL), 0);
    /* fewer than 8 bytes left: end of events */
    uint8_t sys[8] = { 0x02, 0x00, 0x02, 0xc0, 0x20, 0x00, 0x00, 0x00 };
    assert_int_equal(parse(sys, 7, &ev, NULL, NULL), 0);
}

static void test_malformed(void **state)
{
    (void)state;
    EtlEvent ev;
    EtlDiagCode code;
    char d[128];
    uint8_t b[0x40] = { 0x02, 0x00, 0x20, 0xc0, 0x20, 0x00, 0x00, 0x00 };
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_MARKER);
    assert_non_null(strstr(d, "unknown trace header type 0x20"));

    b[2] = 0x02;
    b[3] = 0x40; /* TRACE_HEADER_FLAG missing */
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_MARKER);
    assert_non_null(strstr(d, "not a trace header marker"));

    b[3] = 0xc0;
    put16(b + 4, 0x1c); /* SYSTEM header needs 0x20 */
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_SIZE);
    assert_non_null(strstr(d, "smaller than its system header (32 bytes)"));

    put16(b + 4, 0x41); /* one byte more than available */
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_SIZE);
    assert_non_null(strstr(d, "overruns the buffer (64 bytes left)"));

    put16(b + 4, 0x40); /* exactly fits */
    assert_int_equal(parse(b, sizeof b, &ev, &code, d), 0x40);

    /* EVENT_HEADER smaller than 0x50 */
    uint8_t e[0x50] = { 0x48, 0x00, 0x13, 0xc0 };
    assert_int_equal(parse(e, sizeof e, &ev, &code, d), -1);
    assert_int_equal(code, ETL_DIAG_EVENT_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system64_full),
        cmocka_unit_test(test_system32_compact),
        cmocka_unit_test(test_perfinfo_pmc_pebs),
        cmocka_unit_test(test_image_load_remap),
        cmocka_unit_test(test_classic_full64),
        cmocka_unit_test(test_classic_full32_and_instance),
        cmocka_unit_test(test_event_header_ext),
        cmocka_unit_test(test_event_header_too_many_items),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_other_and_fill),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
