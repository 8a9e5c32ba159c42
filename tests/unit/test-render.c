/* test-render.c — render/: JSON writer (nesting, escaping, numbers), CSV quoting, text helpers,
 * and the one-table-three-renderings model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static char *capture_json(void (*fn)(JsonWriter *), bool pretty)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    JsonWriter *w = json_writer_new(f, pretty);
    fn(w);
    json_writer_free(w);
    fclose(f);
    return buf;
}

static void doc(JsonWriter *w)
{
    json_begin_object(w);
    json_key(w, "s");
    json_string(w, "a\"b\\c\n\t\x01\x7f");
    json_key(w, "n");
    json_null(w);
    json_key(w, "u");
    json_uint(w, UINT64_MAX);
    json_key(w, "i");
    json_int(w, INT64_MIN);
    json_key(w, "d");
    json_double(w, 0.1234567, 3);
    json_key(w, "nan");
    json_double(w, NAN, 3);
    json_key(w, "b");
    json_bool(w, true);
    json_key(w, "a");
    json_begin_array(w);
    json_begin_array(w);
    json_end_array(w);
    json_begin_object(w);
    json_end_object(w);
    json_string(w, NULL);
    json_end_array(w);
    json_key(w, "bad");
    json_string_len(w, "x\xff\xfey", 4); /* invalid UTF-8 is repaired */
    json_key(w, "lit");
    json_number_literal(w, "12.5");
    json_key(w, "notlit");
    json_number_literal(w, "12abc");
    json_end_object(w);
}

static void test_json_compact(void **state)
{
    (void)state;
    char *s = capture_json(doc, false);
    assert_string_equal(s, "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\",\"n\":null,\"u\":18446744073709551615,"
                           "\"i\":-9223372036854775808,\"d\":0.123,\"nan\":null,\"b\":true,\"a\":[[],{},null],"
                           "\"bad\":\"x\xef\xbf\xbd\xef\xbf\xbdy\",\"lit\":12.5,\"notlit\":\"12abc\"}");
    free(s);
}

static void lines(JsonWriter *w)
{
    for (int i = 0; i < 2; i++) {
        json_begin_object(w);
        json_key(w, "k");
        json_int(w, i);
        json_end_object(w);
        json_newline(w);
    }
}

static void test_json_lines_and_pretty(void **state)
{
    (void)state;
    char *s = capture_json(lines, false);
    assert_string_equal(s, "{\"k\":0}\n{\"k\":1}\n");
    free(s);
    char *p = capture_json(doc, true);
    assert_non_null(strstr(p, "{\n  \"s\": \"a"));
    assert_non_null(strstr(p, "\"a\": [\n    [],\n    {},\n    null\n  ],"));
    free(p);
}

static void test_csv_quoting(void **state)
{
    (void)state;
    GString *g = g_string_new(NULL);
    csv_field_append(g, "plain", 5);
    g_string_append_c(g, '|');
    csv_field_append(g, "a,b", 3);
    g_string_append_c(g, '|');
    csv_field_append(g, "say \"hi\"", 8);
    g_string_append_c(g, '|');
    csv_field_append(g, "two\nlines", 9);
    assert_string_equal(g->str, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
    g_string_free(g, TRUE);
}

static void test_text_helpers(void **state)
{
    (void)state;
    char *a = text_uint(0), *b = text_uint(999), *c = text_uint(1000), *d = text_uint(18446744073709551615ull);
    assert_string_equal(a, "0");
    assert_string_equal(b, "999");
    assert_string_equal(c, "1,000");
    assert_string_equal(d, "18,446,744,073,709,551,615");
    g_free(a); g_free(b); g_free(c); g_free(d);
    char *e = text_bytes(512), *f = text_bytes(1536), *h = text_bytes(33554432), *i = text_bytes(200ull << 30);
    assert_string_equal(e, "512 B");
    assert_string_equal(f, "1.50 KiB");
    assert_string_equal(h, "32.0 MiB");
    assert_string_equal(i, "200 GiB");
    g_free(e); g_free(f); g_free(h); g_free(i);
    char *sf = text_safe("ok\x1b[31m\nred");
    assert_string_equal(sf, "ok\\x1b[31m\\x0ared");
    g_free(sf);
    RenderFormat fm;
    assert_true(render_format_parse("JSON", &fm) && fm == RENDER_JSON);
    assert_true(render_format_parse("csv", &fm) && fm == RENDER_CSV);
    assert_false(render_format_parse("xml", &fm));
}

static void test_table(void **state)
{
    (void)state;
    Table *t = table_new();
    table_add_column(t, "Name", "name", TABLE_LEFT);
    table_add_column(t, "Count", "count", TABLE_RIGHT);
    table_begin_row(t);
    table_cell_str(t, "Pool/PoolAlloc");
    table_cell_uint(t, 1524);
    table_begin_row(t);
    table_cell_str(t, "x,\"y\"\n");
    table_cell_uint(t, 7);
    table_begin_row(t);
    table_cell_str(t, NULL);
    table_cell(t, "", "", 'z');
    GString *text = g_string_new(NULL), *csv = g_string_new(NULL);
    table_render_text(t, text, 2);
    assert_string_equal(text->str, "  Name            Count\n"
                                   "  Pool/PoolAlloc  1,524\n"
                                   "  x,\"y\"\\x0a           7\n"
                                   "\n");
    table_render_csv(t, csv);
    assert_string_equal(csv->str, "name,count\nPool/PoolAlloc,1524\n\"x,\"\"y\"\"\n\",7\n,\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    JsonWriter *w = json_writer_new(f, false);
    table_render_json(t, w);
    json_writer_free(w);
    fclose(f);
    assert_string_equal(buf, "[{\"name\":\"Pool/PoolAlloc\",\"count\":1524},{\"name\":\"x,\\\"y\\\"\\n\",\"count\":7},"
                             "{\"name\":null,\"count\":null}]");
    free(buf);
    assert_int_equal(table_rows(t), 3);
    g_string_free(text, TRUE);
    g_string_free(csv, TRUE);
    table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_compact),
        cmocka_unit_test(test_json_lines_and_pretty),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_text_helpers),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
