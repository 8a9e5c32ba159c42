/* json.c — a small streaming JSON writer with correct escaping and no locale surprises. */
#include "render.h"

#include <math.h>
#include <string.h>

#define MAX_DEPTH 64

struct JsonWriter {
    FILE   *out;
    bool    pretty;
    int     depth;
    bool    first[MAX_DEPTH]; /* no element yet at this level */
    bool    after_key;
    GString *buf;
};

JsonWriter *json_writer_new(FILE *out, bool pretty)
{
    JsonWriter *w = g_new0(JsonWriter, 1);
    w->out = out;
    w->pretty = pretty;
    w->first[0] = true;
    w->buf = g_string_sized_new(256);
    return w;
}

void json_writer_free(JsonWriter *w)
{
    if (!w) return;
    g_string_free(w->buf, TRUE);
    g_free(w);
}

static void indent(JsonWriter *w)
{
    if (!w->pretty) return;
    fputc('\n', w->out);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->out);
}

/* Separator before a value or key at the current level. */
static void before_value(JsonWriter *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (!w->first[w->depth]) fputc(',', w->out);
        indent(w);
    }
    w->first[w->depth] = false;
}

void json_key(JsonWriter *w, const char *key)
{
    before_value(w);
    g_string_truncate(w->buf, 0);
    json_escape_append(w->buf, key, strlen(key));
    fwrite(w->buf->str, 1, w->buf->len, w->out);
    fputs(w->pretty ? ": " : ":", w->out);
    w->after_key = true;
}

static void open_(JsonWriter *w, char c)
{
    before_value(w);
    fputc(c, w->out);
    if (w->depth + 1 < MAX_DEPTH) w->depth++;
    w->first[w->depth] = true;
}

static void close_(JsonWriter *w, char c)
{
    bool empty = w->first[w->depth];
    if (w->depth > 0) w->depth--;
    if (!empty) indent(w);
    fputc(c, w->out);
}

void json_begin_object(JsonWriter *w) { open_(w, '{'); }
void json_end_object(JsonWriter *w) { close_(w, '}'); }
void json_begin_array(JsonWriter *w) { open_(w, '['); }
void json_end_array(JsonWriter *w) { close_(w, ']'); }

void json_escape_append(GString *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    g_string_append_c(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                g_string_append(out, "\\u00");
                g_string_append_c(out, hex[c >> 4]);
                g_string_append_c(out, hex[c & 15]);
            } else {
                g_string_append_c(out, (char)c);
            }
        }
    }
    g_string_append_c(out, '"');
}

void json_string_len(JsonWriter *w, const char *s, size_t n)
{
    before_value(w);
    g_string_truncate(w->buf, 0);
    /* Invalid UTF-8 would make the document invalid: replace it. */
    if (!g_utf8_validate(s, (gssize)n, NULL)) {
        char *fixed = g_utf8_make_valid(s, (gssize)n);
        json_escape_append(w->buf, fixed, strlen(fixed));
        g_free(fixed);
    } else {
        json_escape_append(w->buf, s, n);
    }
    fwrite(w->buf->str, 1, w->buf->len, w->out);
}

void json_string(JsonWriter *w, const char *s)
{
    if (!s) {
        json_null(w);
        return;
    }
    json_string_len(w, s, strlen(s));
}

void json_int(JsonWriter *w, int64_t v)
{
    before_value(w);
    fprintf(w->out, "%" G_GINT64_FORMAT, v);
}

void json_uint(JsonWriter *w, uint64_t v)
{
    before_value(w);
    fprintf(w->out, "%" G_GUINT64_FORMAT, v);
}

void json_double(JsonWriter *w, double v, int decimals)
{
    if (!isfinite(v)) {
        json_null(w);
        return;
    }
    before_value(w);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    char fmt[16];
    g_snprintf(fmt, sizeof fmt, "%%.%df", decimals);
    g_ascii_formatd(buf, sizeof buf, fmt, v);
    fputs(buf, w->out);
}

void json_number_literal(JsonWriter *w, const char *lit)
{
    /* Only a plain decimal literal is written as a number; anything else becomes a string. */
    const char *p = lit;
    if (*p == '-') p++;
    bool ok = g_ascii_isdigit(*p);
    for (; *p && ok; p++)
        ok = g_ascii_isdigit(*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '-' || *p == '+';
    if (!ok) {
        json_string(w, lit);
        return;
    }
    before_value(w);
    fputs(lit, w->out);
}

void json_bool(JsonWriter *w, bool v)
{
    before_value(w);
    fputs(v ? "true" : "false", w->out);
}

void json_null(JsonWriter *w)
{
    before_value(w);
    fputs("null", w->out);
}

void json_newline(JsonWriter *w)
{
    fputc('\n', w->out);
    w->first[0] = true;
}
