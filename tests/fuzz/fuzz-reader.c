/* fuzz-reader.c — libFuzzer harness over the in-memory reader: open, index, merge, decode
 * every kernel payload, emit every field, and run the trace summary, on arbitrary bytes.
 * Built with -fsanitize=fuzzer when -Dfuzzing=true (clang); otherwise linked with
 * replay-main.c and run over the committed corpus as an ordinary test. */
#include "analyses.h"
#include "etl.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_field(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    size_t *n = ctx;
    (void)name;
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
    }
    (*n)++;
}

static void run(const uint8_t *data, size_t size, EtlOrder order)
{
    /* The source borrows data; the trace owns the source. */
    EtlSource *src = etl_source_new_memory(data, size, "fuzz");
    EtlTrace *t = etl_trace_open(src, NULL, NULL);
    if (!t) return;
    Summary *sum = summary_new(t);
    EtlReader *r = etl_reader_new(t, order);
    const EtlEvent *ev;
    size_t fields = 0;
    uint64_t n = 0;
    while ((ev = etl_reader_next(r)) && n++ < 2000000) {
        summary_add(sum, ev);
        EtlKernelEvent k;
        if (etl_kernel_decode(ev, &k) == ETL_DECODE_OK) etl_kernel_emit_fields(ev, &k, count_field, &fields);
        EtlAStr a = etl_event_tl_provider_name(ev), b = etl_event_tl_event_name(ev);
        fields += a.len + b.len;
        (void)etl_provider_name(&ev->provider);
        (void)etl_opcode_name(&ev->provider, ev->opcode);
    }
    guint nrows;
    summary_rows(sum, &nrows);
    uint32_t nd;
    const EtlDiag *d = etl_trace_diags(t, &nd);
    for (uint32_t i = 0; i < nd; i++) g_free(etl_diag_format(&d[i]));
    etl_reader_free(r);
    summary_free(sum);
    etl_trace_free(t);
    (void)fields;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, ETL_ORDER_TIME);
    run(data, size, ETL_ORDER_FILE);
    return 0;
}
