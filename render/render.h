/* render.h — output for humans (aligned text) and scripts (CSV, JSON).
 *
 * No analysis here and no trace reading: callers hand over plain values.  Numbers are
 * formatted locale-independently; JSON and CSV carry raw values, text adds thousands
 * separators and units.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

G_BEGIN_DECLS

typedef enum { RENDER_TEXT, RENDER_CSV, RENDER_JSON } RenderFormat;

bool        render_format_parse(const char *s, RenderFormat *out);
const char *render_format_name(RenderFormat f);

/* ------------------------------------------------------------------ JSON (streaming) */
typedef struct JsonWriter JsonWriter;

JsonWriter *json_writer_new(FILE *out, bool pretty);
void        json_writer_free(JsonWriter *w);     /* does not close out */
void        json_begin_object(JsonWriter *w);
void        json_end_object(JsonWriter *w);
void        json_begin_array(JsonWriter *w);
void        json_end_array(JsonWriter *w);
void        json_key(JsonWriter *w, const char *key);
void        json_string(JsonWriter *w, const char *s);           /* NULL -> null */
void        json_string_len(JsonWriter *w, const char *s, size_t n);
void        json_int(JsonWriter *w, int64_t v);
void        json_uint(JsonWriter *w, uint64_t v);
void        json_double(JsonWriter *w, double v, int decimals); /* non-finite -> null */
void        json_bool(JsonWriter *w, bool v);
void        json_number_literal(JsonWriter *w, const char *literal); /* e.g. "12.5" */
void        json_null(JsonWriter *w);
/* Finish a JSON-lines record: newline after the top-level value. */
void        json_newline(JsonWriter *w);

/* Escape s as a JSON string (with quotes) into out. */
void        json_escape_append(GString *out, const char *s, size_t n);

/* ------------------------------------------------------------------ CSV */
/* Append one CSV field (RFC 4180 quoting when needed). */
void        csv_field_append(GString *out, const char *s, size_t n);

/* ------------------------------------------------------------------ text helpers */
/* Control characters (newline, escape, ...) written as \xNN: for trace-supplied names. */
void        text_append_safe(GString *out, const char *s);
char       *text_safe(const char *s);                             /* g_free */
/* "1,234,567" */
void        text_append_uint(GString *out, uint64_t v);
char       *text_uint(uint64_t v);                               /* g_free */
/* "12.0 MiB", "512 B" */
char       *text_bytes(uint64_t v);                              /* g_free */

/* ------------------------------------------------------------------ tables */
typedef enum { TABLE_LEFT, TABLE_RIGHT } TableAlign;

typedef struct Table Table;

/* Columns: name shown in text headers, key used by CSV headers and JSON objects. */
Table      *table_new(void);
void        table_free(Table *t);
void        table_add_column(Table *t, const char *title, const char *key, TableAlign align);
/* Cells: one row at a time; text is what text output shows, raw what CSV/JSON carry.
 * json_kind: 's' string, 'n' number (raw is a decimal literal), 'b' bool, 'z' null. */
void        table_begin_row(Table *t);
void        table_cell(Table *t, const char *text, const char *raw, char json_kind);
void        table_cell_uint(Table *t, uint64_t v);                /* text "1,234", raw "1234" */
void        table_cell_str(Table *t, const char *s);              /* NULL -> "" / null */
guint       table_rows(const Table *t);
/* Render: text (aligned, indent spaces before each line), CSV (header + rows), or JSON
 * (an array of objects, written at the writer's current position). */
void        table_render_text(const Table *t, GString *out, int indent);
void        table_render_csv(const Table *t, GString *out);
void        table_render_json(const Table *t, JsonWriter *w);

G_END_DECLS
