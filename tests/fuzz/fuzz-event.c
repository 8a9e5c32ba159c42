/* fuzz-event.c — libFuzzer harness for etl_event_parse (etl/header.c) on its own: the input
 * is one buffer's events region, walked the way the reader walks it, with the parser's
 * contract checked on every event it accepts.
 *
 * Input layout (tests/fuzz/README.md):
 *   byte 0  bit 0: the file is 64-bit (SYSTEM64 header event), else 32-bit
 *   rest    the events region, copied into an exactly-sized heap buffer
 *
 * Walk: parse at pos; 0 ends the region (fill); -1 is a corrupt event, the walk moves on by 8
 * bytes (what the reader's resynchronisation scan does); n > 0 advances by n rounded up to 8.
 * Checked for every accepted event: size == n >= header_size, payload == raw + header_size,
 * payload_len == size - header_size, every extended item and the PMC counters inside the
 * event, pointer size 4 or 8, kind in range.  Kernel payloads are then decoded and emitted.
 * Built with -fsanitize=fuzzer when -Dfuzzing=true (clang); otherwise linked with
 * replay-main.c and run over tests/fuzz/corpus/event/ as an ordinary test. */
#include "etl.h"
#include "fuzz-fields.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, size_t pos)
{
    if (ok) return;
    fprintf(stderr, "fuzz-event: %s (event at +0x%zx)\n", what, pos);
    abort();
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool is64 = data[0] & 1;
    size_t len = size - 1;
    uint8_t *buf = g_memdup2(data + 1, len);
    size_t pos = 0, fields = 0;
    char detail[128];
    while (pos + 8 <= len) {
        EtlEvent ev;
        EtlDiagCode code = ETL_DIAG_COUNT_;
        detail[0] = 0;
        int n = etl_event_parse(buf + pos, len - pos, is64, &ev, &code, detail, sizeof detail);
        if (n == 0) break;
        if (n < 0) {
            check(code < ETL_DIAG_COUNT_, "error without a diagnostic code", pos);
            check(detail[0] != 0 && memchr(detail, 0, sizeof detail), "error without a detail", pos);
            (void)etl_diag_code_name(code);
            /* The parser must also cope without the diagnostic outputs (resync calls it so). */
            check(etl_event_parse(buf + pos, len - pos, is64, &ev, NULL, NULL, 0) < 0, "result depends on detail", pos);
            pos += 8;
            continue;
        }
        const uint8_t *raw = buf + pos;
        check((size_t)n <= len - pos, "event larger than the bytes given", pos);
        check(ev.size == n && ev.raw == raw, "size/raw mismatch", pos);
        check(ev.header_size <= ev.size, "header larger than the event", pos);
        check(ev.payload == raw + ev.header_size, "payload not after the header", pos);
        check(ev.payload_len == (uint32_t)ev.size - ev.header_size, "payload length mismatch", pos);
        check(ev.pointer_size == 4 || ev.pointer_size == 8, "pointer size not 4 or 8", pos);
        check((unsigned)ev.kind <= ETL_HDR_OTHER, "kind out of range", pos);
        check(ev.n_ext <= ETL_MAX_EXT_ITEMS, "too many ext items", pos);
        for (unsigned i = 0; i < ev.n_ext; i++)
            check(ev.ext[i].data >= raw && ev.ext[i].data + ev.ext[i].size <= raw + ev.header_size,
                  "ext item outside the event header", pos);
        if (ev.n_pmc) check(ev.pmc >= raw && ev.pmc + 8u * ev.n_pmc <= raw + ev.header_size, "PMC outside the header", pos);
        (void)etl_header_kind_name(ev.kind);
        (void)etl_provider_name(&ev.provider);
        (void)etl_opcode_name(&ev.provider, ev.opcode);
        EtlAStr a = etl_event_tl_provider_name(&ev), b = etl_event_tl_event_name(&ev);
        fields += a.len + b.len;
        if (ev.kind == ETL_HDR_EVENT) {
            const EtlExtItem *it = etl_event_ext(&ev, ETL_EXT_STACK_TRACE64);
            if (it) fields += it->size;
        }
        EtlKernelEvent k;
        if (etl_kernel_decode(&ev, &k) == ETL_DECODE_OK) etl_kernel_emit_fields(&ev, &k, fuzz_touch_field, &fields);
        pos += ((size_t)n + 7) & ~(size_t)7;
    }
    g_free(buf);
    (void)fields;
    return 0;
}
