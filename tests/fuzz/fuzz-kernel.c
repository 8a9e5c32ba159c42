/* fuzz-kernel.c — libFuzzer harness for the kernel payload decoders (etl/kernel/) and the
 * name lookups, without a container: the EtlEvent is built directly from the input, so every
 * decoder and every version is one mutation away.
 *
 * Input layout (tests/fuzz/README.md):
 *   byte 0  header kind: low 3 bits = EtlHeaderKind (SYSTEM .. OTHER)
 *   byte 1  group (kernel kinds)
 *   byte 2  opcode
 *   byte 3  version (low byte)
 *   byte 4  bit 0: pointer size 8 (else 4); bit 1: classic provider = KernelTraceControl
 *           ImageID GUID (else the kernel group's GUID); bit 2: hook 0x030A remap (Image);
 *           bit 3: bogus pointer size (neither 4 nor 8); bits 4-7: version high byte
 *   rest    the payload, copied into an exactly-sized heap buffer (ASan sees every
 *           read past payload_len).  For EVENT_HEADER kinds the rest is instead a list of
 *           extended items: u16 type, u16 size, size data bytes (each item in its own
 *           exactly-sized allocation), for the TraceLogging name lookups.
 *
 * Every decoded event is emitted field by field and each field formatted the way dump does.
 * Built with -fsanitize=fuzzer when -Dfuzzing=true (clang); otherwise linked with
 * replay-main.c and run over tests/fuzz/corpus/kernel/ as an ordinary test. */
#include "etl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void format_field(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    GString *s = ctx;
    g_string_append(s, name);
    g_string_append_c(s, '=');
    char g[ETL_GUID_STRLEN];
    switch (type) {
    case ETL_FIELD_U64:
    case ETL_FIELD_HEX:
    case ETL_FIELD_BOOL:
    case ETL_FIELD_TAG:
        g_string_append_printf(s, "%" G_GINT64_MODIFIER "x", v->u);
        break;
    case ETL_FIELD_I64:
    case ETL_FIELD_TIME:
    case ETL_FIELD_DURATION:
        g_string_append_printf(s, "%" G_GINT64_FORMAT, v->i);
        break;
    case ETL_FIELD_ASTR:
        etl_astr_append_utf8(s, v->astr);
        break;
    case ETL_FIELD_WSTR: {
        char *u = etl_wstr_dup_utf8(v->wstr);
        g_string_append(s, u);
        g_free(u);
        break;
    }
    case ETL_FIELD_GUID:
        etl_guid_format(&v->guid, g);
        g_string_append(s, g);
        break;
    case ETL_FIELD_BYTES:
        for (uint32_t i = 0; i < v->bytes.len; i++) g_string_append_printf(s, "%02x", v->bytes.p[i]);
        break;
    default: /* a type added later: its value is in u and i like the numeric ones */
        g_string_append_printf(s, "?%" G_GINT64_MODIFIER "x", v->u);
        break;
    }
    g_string_append_c(s, ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    EtlEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = (EtlHeaderKind)(data[0] & 7);
    ev.group = etl_header_kind_is_kernel(ev.kind) ? data[1] : 0;
    ev.opcode = data[2];
    ev.version = (uint16_t)(data[3] | (etl_header_kind_is_kernel(ev.kind) ? 0 : (data[4] >> 4) << 8));
    ev.pointer_size = (data[4] & 8) ? (uint8_t)(data[1] & 15) : (data[4] & 1) ? 8 : 4;
    ev.has_timestamp = true;
    ev.timestamp = 36000000000;
    ev.tid = ev.pid = ETL_NO_ID;
    if (etl_header_kind_is_kernel(ev.kind)) {
        /* As header.c: hook 0x030A is Image/Load; other groups get their (synthetic) GUID. */
        bool remap = (data[4] & 4) != 0;
        if (remap) { ev.group = ETL_GROUP_PROCESS; ev.opcode = 0x0A; }
        ev.provider = remap ? ETL_GUID_IMAGE : etl_kernel_group_guid_any(ev.group);
    } else if (data[4] & 2) {
        ev.provider = ETL_GUID_KTC_IMAGEID;
    } else {
        ev.provider = etl_kernel_group_guid_any(data[1]);
    }
    (void)etl_kernel_group_guid(data[1]);
    (void)etl_header_kind_name(ev.kind);

    const uint8_t *rest = data + 5;
    size_t n = size - 5;
    uint8_t *payload = NULL;
    uint8_t *items[ETL_MAX_EXT_ITEMS] = { NULL };
    if (ev.kind == ETL_HDR_EVENT) {
        /* Extended items from the rest; the payload stays empty. */
        size_t pos = 0;
        while (pos + 4 <= n && ev.n_ext < ETL_MAX_EXT_ITEMS) {
            uint16_t type = etl_rd16(rest + pos), isz = etl_rd16(rest + pos + 2);
            pos += 4;
            if (isz > n - pos) isz = (uint16_t)(n - pos);
            items[ev.n_ext] = g_memdup2(rest + pos, isz);
            ev.ext[ev.n_ext] = (EtlExtItem){ .type = type, .size = isz, .data = items[ev.n_ext] };
            ev.n_ext++;
            pos += isz;
        }
    } else {
        if (n > 0xFFFF) n = 0xFFFF; /* payload_len of a real event always fits a u16 size */
        payload = g_memdup2(rest, n);
        ev.payload = payload;
        ev.payload_len = (uint32_t)n;
    }
    ev.size = (uint16_t)MIN((size_t)0xFFFF, ev.payload_len + 0x10u);

    GString *s = g_string_new(NULL);
    EtlKernelEvent k;
    memset(&k, 0xA5, sizeof k); /* decoders must set what emit reads */
    EtlDecodeStatus st = etl_kernel_decode(&ev, &k);
    if (st == ETL_DECODE_OK) {
        if (k.kind == ETL_K_UNKNOWN || k.kind >= ETL_K_COUNT_) {
            fprintf(stderr, "fuzz-kernel: decode OK with kind %d\n", (int)k.kind);
            abort();
        }
        etl_kernel_emit_fields(&ev, &k, format_field, s);
    } else if (st != ETL_DECODE_UNKNOWN && st != ETL_DECODE_TOO_SHORT) {
        fprintf(stderr, "fuzz-kernel: unknown decode status %d\n", (int)st);
        abort();
    }
    (void)etl_kernel_kind_name(k.kind);
    const char *pn = etl_provider_name(&ev.provider), *on = etl_opcode_name(&ev.provider, ev.opcode);
    if (pn) g_string_append(s, pn);
    if (on) g_string_append(s, on);

    /* TraceLogging names and ext lookups (EVENT_HEADER only has items). */
    EtlAStr a = etl_event_tl_provider_name(&ev), b = etl_event_tl_event_name(&ev);
    etl_astr_append_utf8(s, a);
    etl_astr_append_utf8(s, b);
    for (uint16_t t = 0; t <= ETL_EXT_STACK_KEY64 + 1; t++) {
        const EtlExtItem *it = etl_event_ext(&ev, t);
        if (it && it->size) g_string_append_printf(s, "%02x", it->data[it->size - 1]);
    }

    g_string_free(s, TRUE);
    for (unsigned i = 0; i < ETL_MAX_EXT_ITEMS; i++) g_free(items[i]);
    g_free(payload);
    return 0;
}
