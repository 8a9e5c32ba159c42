/* fuzz-fields.h — shared by the harnesses: an EtlFieldFn that reads every byte a field value
 * points at (strings converted, byte runs summed), so ASan sees any view past its payload. */
#pragma once

#include "etl.h"

static inline void fuzz_touch_field(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    size_t *n = ctx;
    *n += strlen(name);
    if (type == ETL_FIELD_WSTR) {
        char *s = etl_wstr_dup_utf8(v->wstr);
        *n += strlen(s);
        g_free(s);
    } else if (type == ETL_FIELD_ASTR) {
        GString *g = g_string_new(NULL);
        etl_astr_append_utf8(g, v->astr);
        *n += g->len;
        g_string_free(g, TRUE);
    } else if (type == ETL_FIELD_BYTES) {
        for (uint32_t i = 0; i < v->bytes.len; i++) *n += v->bytes.p[i];
    } else if (type == ETL_FIELD_GUID) {
        char g[ETL_GUID_STRLEN];
        etl_guid_format(&v->guid, g);
        *n += strlen(g);
    }
}
