/* util.c — GUIDs, payload strings, error domain. */
#include "etl.h"

#include <stdio.h>

G_DEFINE_QUARK(etl-error-quark, etl_error)

/* ---------------------------------------------------------------------------- GUIDs */

EtlGuid etl_guid_read(const uint8_t *p)
{
    EtlGuid g;
    g.data1 = etl_rd32(p);
    g.data2 = etl_rd16(p + 4);
    g.data3 = etl_rd16(p + 6);
    memcpy(g.data4, p + 8, 8);
    return g;
}

void etl_guid_write(const EtlGuid *g, uint8_t out[16])
{
    uint32_t d1 = GUINT32_TO_LE(g->data1);
    uint16_t d2 = GUINT16_TO_LE(g->data2), d3 = GUINT16_TO_LE(g->data3);
    memcpy(out, &d1, 4);
    memcpy(out + 4, &d2, 2);
    memcpy(out + 6, &d3, 2);
    memcpy(out + 8, g->data4, 8);
}

void etl_guid_format(const EtlGuid *g, char out[ETL_GUID_STRLEN])
{
    snprintf(out, ETL_GUID_STRLEN, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             g->data1, g->data2, g->data3, g->data4[0], g->data4[1], g->data4[2],
             g->data4[3], g->data4[4], g->data4[5], g->data4[6], g->data4[7]);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool etl_guid_parse(const char *s, EtlGuid *out)
{
    if (!s) return false;
    size_t n = strlen(s);
    bool braces = n == 38 && s[0] == '{' && s[37] == '}';
    if (braces) { s++; n = 36; }
    if (n != 36) return false;
    uint8_t b[16];
    int bi = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
            i++;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) return false;
        b[bi++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    out->data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    out->data2 = (uint16_t)(b[4] << 8 | b[5]);
    out->data3 = (uint16_t)(b[6] << 8 | b[7]);
    memcpy(out->data4, b + 8, 8);
    return true;
}

bool etl_guid_is_null(const EtlGuid *g)
{
    static const EtlGuid zero;
    return etl_guid_equal(g, &zero);
}

guint etl_guid_hash(gconstpointer p)
{
    const EtlGuid *g = p;
    uint32_t w[4];
    memcpy(w, g, 16);
    return w[0] ^ (w[1] * 0x9e3779b1u) ^ (w[2] * 0x85ebca77u) ^ (w[3] * 0xc2b2ae3du);
}

gboolean etl_guid_equal_func(gconstpointer a, gconstpointer b)
{
    return etl_guid_equal(a, b);
}

/* ---------------------------------------------------------------------------- strings */

EtlWStr etl_wstr_scan(const uint8_t *p, size_t max, size_t *consumed)
{
    EtlWStr s = { p, 0 };
    size_t i = 0;
    max &= ~(size_t)1;
    while (i < max) {
        if (p[i] == 0 && p[i + 1] == 0) {
            s.nbytes = (uint32_t)i;
            if (consumed) *consumed = i + 2;
            return s;
        }
        i += 2;
    }
    /* unterminated: the string runs to the end of the field */
    s.nbytes = (uint32_t)max;
    if (consumed) *consumed = max;
    return s;
}

EtlAStr etl_astr_scan(const uint8_t *p, size_t max, size_t *consumed)
{
    EtlAStr s = { (const char *)p, 0 };
    const uint8_t *z = max ? memchr(p, 0, max) : NULL;
    if (z) {
        s.len = (uint32_t)(z - p);
        if (consumed) *consumed = s.len + 1;
    } else {
        s.len = (uint32_t)max;
        if (consumed) *consumed = max;
    }
    return s;
}

static void append_codepoint(GString *out, gunichar c)
{
    char buf[8];
    int n = g_unichar_to_utf8(c, buf);
    g_string_append_len(out, buf, n);
}

void etl_wstr_append_utf8(GString *out, EtlWStr s)
{
    uint32_t n = s.nbytes / 2;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t u = etl_rd16(s.p + 2 * i);
        if (u < 0x80) {
            g_string_append_c(out, (char)u);
        } else if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n) {
            uint16_t l = etl_rd16(s.p + 2 * (i + 1));
            if (l >= 0xDC00 && l <= 0xDFFF) {
                append_codepoint(out, 0x10000 + (((gunichar)u - 0xD800) << 10) + (l - 0xDC00));
                i++;
            } else {
                append_codepoint(out, 0xFFFD);
            }
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            append_codepoint(out, 0xFFFD);
        } else {
            append_codepoint(out, u);
        }
    }
}

void etl_astr_append_utf8(GString *out, EtlAStr s)
{
    const char *end = NULL;
    if (g_utf8_validate(s.p, s.len, &end)) {
        g_string_append_len(out, s.p, s.len);
        return;
    }
    /* Mixed: keep valid UTF-8 runs, map other bytes as Latin-1. */
    const char *p = s.p, *e = s.p + s.len;
    while (p < e) {
        if (g_utf8_validate(p, e - p, &end)) {
            g_string_append_len(out, p, e - p);
            break;
        }
        g_string_append_len(out, p, end - p);
        append_codepoint(out, (uint8_t)*end);
        p = end + 1;
    }
}

char *etl_wstr_dup_utf8(EtlWStr s)
{
    GString *g = g_string_sized_new(s.nbytes / 2 + 1);
    etl_wstr_append_utf8(g, s);
    return g_string_free(g, FALSE);
}
