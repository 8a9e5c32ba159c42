/* test-util.c — GUIDs, payload strings, time conversion helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "etl.h"

static void test_guid_read_format(void **state)
{
    (void)state;
    /* Test vector from ETL_CONTAINER.md: Windows in-memory layout. */
    const uint8_t b[16] = { 0xd7, 0x75, 0xe6, 0xb3, 0x54, 0x25, 0x18, 0x4f,
                            0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde };
    EtlGuid g = etl_guid_read(b);
    assert_int_equal(g.data1, 0xb3e675d7);
    assert_int_equal(g.data2, 0x2554);
    assert_int_equal(g.data3, 0x4f18);
    char s[ETL_GUID_STRLEN];
    etl_guid_format(&g, s);
    assert_string_equal(s, "b3e675d7-2554-4f18-830b-2762732560de");
    uint8_t back[16];
    etl_guid_write(&g, back);
    assert_memory_equal(back, b, 16);
}

static void test_guid_parse(void **state)
{
    (void)state;
    EtlGuid g, h;
    assert_true(etl_guid_parse("b3e675d7-2554-4f18-830b-2762732560de", &g));
    assert_true(etl_guid_parse("{B3E675D7-2554-4F18-830B-2762732560DE}", &h));
    assert_true(etl_guid_equal(&g, &h));
    assert_int_equal(g.data4[0], 0x83);
    assert_int_equal(g.data4[7], 0xde);
    assert_false(etl_guid_parse("b3e675d7-2554-4f18-830b-2762732560d", &g));
    assert_false(etl_guid_parse("b3e675d7x2554-4f18-830b-2762732560de", &g));
    assert_false(etl_guid_parse("g3e675d7-2554-4f18-830b-2762732560de", &g));
    assert_false(etl_guid_parse("{b3e675d7-2554-4f18-830b-2762732560de", &g));
    assert_false(etl_guid_parse("", &g));
    assert_false(etl_guid_parse(NULL, &g));
    EtlGuid z = { 0 };
    assert_true(etl_guid_is_null(&z));
    assert_false(etl_guid_is_null(&h));
    assert_int_equal(etl_guid_hash(&g), etl_guid_hash(&h));
}

static void test_wstr(void **state)
{
    (void)state;
    /* "Ab" NUL "x" */
    const uint8_t w[] = { 'A', 0, 'b', 0, 0, 0, 'x', 0 };
    size_t used = 0;
    EtlWStr s = etl_wstr_scan(w, sizeof w, &used);
    assert_int_equal(s.nbytes, 4);
    assert_int_equal(used, 6);
    char *u = etl_wstr_dup_utf8(s);
    assert_string_equal(u, "Ab");
    g_free(u);
    /* unterminated: runs to the end of the field, odd byte dropped */
    s = etl_wstr_scan(w + 6, 3, &used);
    assert_int_equal(s.nbytes, 2);
    assert_int_equal(used, 2);
    /* empty field */
    s = etl_wstr_scan(w, 0, &used);
    assert_int_equal(s.nbytes, 0);
    assert_int_equal(used, 0);
    /* non-ASCII, surrogate pair, lone surrogate */
    const uint8_t x[] = { 0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x00, 0xd8, 'z', 0 };
    GString *g = g_string_new(NULL);
    etl_wstr_append_utf8(g, (EtlWStr){ x, sizeof x });
    assert_string_equal(g->str, "\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdz");
    g_string_free(g, TRUE);
}

static void test_astr(void **state)
{
    (void)state;
    const uint8_t a[] = { 's', 'm', 's', 's', '.', 'e', 'x', 'e', 0, 'Q' };
    size_t used = 0;
    EtlAStr s = etl_astr_scan(a, sizeof a, &used);
    assert_int_equal(s.len, 8);
    assert_int_equal(used, 9);
    s = etl_astr_scan(a + 9, 1, &used);
    assert_int_equal(s.len, 1);
    assert_int_equal(used, 1);
    /* Latin-1 byte mixed with valid UTF-8 */
    const char mixed[] = { 'a', (char)0xe9, 'b', (char)0xc3, (char)0xa9 };
    GString *g = g_string_new(NULL);
    etl_astr_append_utf8(g, (EtlAStr){ mixed, sizeof mixed });
    assert_string_equal(g->str, "a\xc3\xa9" "b\xc3\xa9");
    g_string_free(g, TRUE);
}

static void test_le_readers(void **state)
{
    (void)state;
    const uint8_t b[9] = { 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    assert_int_equal(etl_rd16(b + 1), 0x0201);
    assert_int_equal(etl_rd32(b + 1), 0x04030201);
    assert_true(etl_rd64(b + 1) == 0x0807060504030201ull);
    assert_true(etl_rdptr(b + 1, 4) == 0x04030201u);
    assert_true(etl_rdptr(b + 1, 8) == 0x0807060504030201ull);
}

static void test_time_conversion(void **state)
{
    (void)state;
    EtlLogfileHeader h = { 0 };
    h.ts0 = 1996631531759;
    h.ticks_per_second = 10000000; /* 10 MHz QPC */
    h.start_time = 132264173104203138; /* 2020-02-17T12:48:30.4203138Z */
    assert_int_equal(etl_time_rel_ns(&h, h.ts0 + 27), 2700);
    assert_int_equal(etl_ticks_to_ns(&h, 27), 2700);
    assert_int_equal(etl_time_rel_ns(&h, h.ts0 - 1), -100);
    assert_true(etl_time_filetime(&h, h.ts0 + 10000000) == h.start_time + 10000000);
    char iso[40];
    etl_filetime_format_iso8601(h.start_time, iso);
    assert_string_equal(iso, "2020-02-17T12:48:30.4203138Z");
    /* A QPC frequency that does not divide 10^9 and a large delta (no overflow). */
    h.ticks_per_second = 2143632;
    int64_t day = (int64_t)2143632 * 86400 * 400; /* 400 days of ticks */
    assert_true(etl_time_rel_ns(&h, h.ts0 + day) == (int64_t)86400 * 400 * 1000000000);
    assert_int_equal(etl_ticks_to_ns(&h, 1), 466); /* floor(10^9 / 2143632) */
    assert_true(etl_time_from_rel_s(&h, 2.0) == h.ts0 + 2 * 2143632);
    assert_string_equal(etl_clock_type_name(ETL_CLOCK_QPC), "QPC");
    assert_string_equal(etl_clock_type_name(ETL_CLOCK_SYSTEM_TIME), "system-time");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guid_read_format),
        cmocka_unit_test(test_guid_parse),
        cmocka_unit_test(test_wstr),
        cmocka_unit_test(test_astr),
        cmocka_unit_test(test_le_readers),
        cmocka_unit_test(test_time_conversion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
