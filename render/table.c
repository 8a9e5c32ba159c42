/* table.c — one table model, three renderings: aligned text, CSV, JSON. */
#include "render.h"

#include <string.h>

bool render_format_parse(const char *s, RenderFormat *out)
{
    if (!g_ascii_strcasecmp(s, "text")) *out = RENDER_TEXT;
    else if (!g_ascii_strcasecmp(s, "csv")) *out = RENDER_CSV;
    else if (!g_ascii_strcasecmp(s, "json")) *out = RENDER_JSON;
    else return false;
    return true;
}

const char *render_format_name(RenderFormat f)
{
    return f == RENDER_CSV ? "csv" : f == RENDER_JSON ? "json" : "text";
}

void csv_field_append(GString *out, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\n' || c == '\r') {
            quote = true;
            break;
        }
    }
    if (!quote) {
        g_string_append_len(out, s, (gssize)n);
        return;
    }
    g_string_append_c(out, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') g_string_append_c(out, '"');
        g_string_append_c(out, s[i]);
    }
    g_string_append_c(out, '"');
}

void text_append_safe(GString *out, const char *s)
{
    /* Names come from the trace: a newline or an escape sequence must not reach the terminal. */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) g_string_append_printf(out, "\\x%02x", *p);
        else g_string_append_c(out, (char)*p);
    }
}

char *text_safe(const char *s)
{
    GString *g = g_string_new(NULL);
    text_append_safe(g, s ? s : "");
    return g_string_free(g, FALSE);
}

void text_append_uint(GString *out, uint64_t v)
{
    char digits[32];
    int n = g_snprintf(digits, sizeof digits, "%" G_GUINT64_FORMAT, v);
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) g_string_append_c(out, ',');
        g_string_append_c(out, digits[i]);
    }
}

char *text_uint(uint64_t v)
{
    GString *s = g_string_new(NULL);
    text_append_uint(s, v);
    return g_string_free(s, FALSE);
}

char *text_bytes(uint64_t v)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    if (v < 1024) return g_strdup_printf("%" G_GUINT64_FORMAT " B", v);
    double x = (double)v / 1024.0;
    int u = 0;
    while (x >= 1024.0 && u < 3) {
        x /= 1024.0;
        u++;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, x < 10 ? "%.2f" : x < 100 ? "%.1f" : "%.0f", x);
    return g_strdup_printf("%s %s", buf, units[u]);
}

typedef struct {
    char *text, *raw;
    char  kind;
} Cell;

typedef struct {
    char      *title, *key;
    TableAlign align;
} Column;

struct Table {
    GArray    *cols;   /* Column */
    GPtrArray *rows;   /* GArray of Cell */
};

static void cell_clear(gpointer p)
{
    Cell *c = p;
    g_free(c->text);
    g_free(c->raw);
}

static void row_free(gpointer p) { g_array_free(p, TRUE); }

Table *table_new(void)
{
    Table *t = g_new0(Table, 1);
    t->cols = g_array_new(FALSE, FALSE, sizeof(Column));
    t->rows = g_ptr_array_new_with_free_func(row_free);
    return t;
}

void table_free(Table *t)
{
    if (!t) return;
    for (guint i = 0; i < t->cols->len; i++) {
        Column *c = &g_array_index(t->cols, Column, i);
        g_free(c->title);
        g_free(c->key);
    }
    g_array_free(t->cols, TRUE);
    g_ptr_array_free(t->rows, TRUE);
    g_free(t);
}

void table_add_column(Table *t, const char *title, const char *key, TableAlign align)
{
    Column c = { g_strdup(title), g_strdup(key), align };
    g_array_append_val(t->cols, c);
}

void table_begin_row(Table *t)
{
    GArray *row = g_array_new(FALSE, FALSE, sizeof(Cell));
    g_array_set_clear_func(row, cell_clear);
    g_ptr_array_add(t->rows, row);
}

void table_cell(Table *t, const char *text, const char *raw, char kind)
{
    GArray *row = g_ptr_array_index(t->rows, t->rows->len - 1);
    /* the text form is escaped for terminals; CSV and JSON escape the raw form themselves */
    Cell c = { text_safe(text), g_strdup(raw ? raw : (text ? text : "")), kind };
    g_array_append_val(row, c);
}

void table_cell_uint(Table *t, uint64_t v)
{
    char raw[32];
    g_snprintf(raw, sizeof raw, "%" G_GUINT64_FORMAT, v);
    char *text = text_uint(v);
    table_cell(t, text, raw, 'n');
    g_free(text);
}

void table_cell_str(Table *t, const char *s)
{
    table_cell(t, s ? s : "", s ? s : "", s ? 's' : 'z');
}

guint table_rows(const Table *t) { return t->rows->len; }

void table_render_text(const Table *t, GString *out, int indent)
{
    guint nc = t->cols->len;
    gsize *w = g_new0(gsize, nc);
    for (guint c = 0; c < nc; c++) w[c] = g_utf8_strlen(g_array_index(t->cols, Column, c).title, -1);
    for (guint r = 0; r < t->rows->len; r++) {
        GArray *row = g_ptr_array_index(t->rows, r);
        for (guint c = 0; c < nc && c < row->len; c++) {
            gsize l = g_utf8_strlen(g_array_index(row, Cell, c).text, -1);
            if (l > w[c]) w[c] = l;
        }
    }
    for (int pass = -1; pass < (int)t->rows->len; pass++) {
        GArray *row = pass >= 0 ? g_ptr_array_index(t->rows, pass) : NULL;
        GString *line = g_string_new(NULL);
        for (int i = 0; i < indent; i++) g_string_append_c(line, ' ');
        for (guint c = 0; c < nc; c++) {
            const Column *col = &g_array_index(t->cols, Column, c);
            const char *s = row ? (c < row->len ? g_array_index(row, Cell, c).text : "") : col->title;
            gsize l = g_utf8_strlen(s, -1), pad = w[c] > l ? w[c] - l : 0;
            if (c) g_string_append(line, "  ");
            if (col->align == TABLE_RIGHT)
                for (gsize i = 0; i < pad; i++) g_string_append_c(line, ' ');
            g_string_append(line, s);
            if (col->align == TABLE_LEFT && c + 1 < nc)
                for (gsize i = 0; i < pad; i++) g_string_append_c(line, ' ');
        }
        while (line->len && line->str[line->len - 1] == ' ') g_string_truncate(line, line->len - 1);
        g_string_append_c(line, '\n');
        g_string_append(out, line->str);
        g_string_free(line, TRUE);
    }
    g_free(w);
}

void table_render_csv(const Table *t, GString *out)
{
    guint nc = t->cols->len;
    for (guint c = 0; c < nc; c++) {
        const char *k = g_array_index(t->cols, Column, c).key;
        if (c) g_string_append_c(out, ',');
        csv_field_append(out, k, strlen(k));
    }
    g_string_append_c(out, '\n');
    for (guint r = 0; r < t->rows->len; r++) {
        GArray *row = g_ptr_array_index(t->rows, r);
        for (guint c = 0; c < nc; c++) {
            if (c) g_string_append_c(out, ',');
            if (c < row->len) {
                const Cell *cell = &g_array_index(row, Cell, c);
                if (cell->kind != 'z') csv_field_append(out, cell->raw, strlen(cell->raw));
            }
        }
        g_string_append_c(out, '\n');
    }
}

void table_render_json(const Table *t, JsonWriter *w)
{
    json_begin_array(w);
    for (guint r = 0; r < t->rows->len; r++) {
        GArray *row = g_ptr_array_index(t->rows, r);
        json_begin_object(w);
        for (guint c = 0; c < t->cols->len && c < row->len; c++) {
            const Cell *cell = &g_array_index(row, Cell, c);
            json_key(w, g_array_index(t->cols, Column, c).key);
            switch (cell->kind) {
            case 'n': json_number_literal(w, cell->raw); break;
            case 'b': json_bool(w, !strcmp(cell->raw, "true")); break;
            case 'z': json_null(w); break;
            default: json_string(w, cell->raw); break;
            }
        }
        json_end_object(w);
    }
    json_end_array(w);
}
