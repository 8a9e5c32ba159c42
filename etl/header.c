/* header.c — classify and decode one trace header (ETL_CONTAINER.md §3).
 *
 * The first dword of every event is a marker: byte 3 holds TRACE_HEADER_FLAG (0x80) and
 * TRACE_HEADER_EVENT_TRACE (0x40) or TRACE_MESSAGE (0x10); byte 2 the header type.  For
 * SYSTEM/COMPACT/PERFINFO headers the low word is the payload Version and the size is the
 * u16 at +4; for every other header the low word is the size.
 */
#include "etl-private.h"

#include <stdio.h>

static const char *const kind_names[] = {
    "system", "compact", "perfinfo", "classic", "instance", "event", "message", "other",
};

const char *etl_header_kind_name(EtlHeaderKind k)
{
    return (unsigned)k < G_N_ELEMENTS(kind_names) ? kind_names[k] : "?";
}

const EtlExtItem *etl_event_ext(const EtlEvent *ev, uint16_t type)
{
    for (unsigned i = 0; i < ev->n_ext; i++)
        if (ev->ext[i].type == type) return &ev->ext[i];
    return NULL;
}

#define FAIL(code_, ...)                                                                 \
    do {                                                                                 \
        if (diag_code) *diag_code = (code_);                                             \
        if (detail && detail_len) snprintf(detail, detail_len, __VA_ARGS__);             \
        return -1;                                                                       \
    } while (0)

static const uint16_t min_size[] = {
    [ETL_HDR_SYSTEM] = 0x20, [ETL_HDR_COMPACT] = 0x18, [ETL_HDR_PERFINFO] = 0x10,
    [ETL_HDR_FULL] = 0x30,   [ETL_HDR_INSTANCE] = 0x48, [ETL_HDR_EVENT] = 0x50,
    [ETL_HDR_MESSAGE] = 8,   [ETL_HDR_OTHER] = 8,
};

/* Parse kernel-style headers (SYSTEM, COMPACT, PERFINFO): version word first.  The common
 * case (no PMC/PEBS) never gets here: etl_event_parse_kernel (etl-private.h) takes it. */
static int parse_kernel(const uint8_t *p, uint32_t size, EtlHeaderKind kind, EtlEvent *ev,
                        EtlDiagCode *diag_code, char *detail, size_t detail_len)
{
    uint16_t vword = etl_rd16(p);
    uint32_t hsize = min_size[kind];

    etl_kernel_header_fields(p, kind, ev);
    /* PEBS index and PMC counters sit between header and payload (§3.4). */
    ev->has_pebs = (vword & 0x8000) != 0;
    ev->n_pmc = (vword >> 8) & 7;
    if (G_UNLIKELY(ev->has_pebs || ev->n_pmc)) {
        uint32_t extra = 8u * ev->has_pebs + 8u * ev->n_pmc;
        if (size < hsize + extra)
            FAIL(ETL_DIAG_EVENT_SIZE,
                 "event size %u is smaller than its %s header with %u PMC/PEBS bytes (%u)",
                 size, etl_header_kind_name(kind), extra, hsize + extra);
        const uint8_t *q = p + hsize;
        if (ev->has_pebs) { ev->pebs_index = etl_rd64(q); q += 8; }
        ev->pmc = ev->n_pmc ? q : NULL;
        hsize += extra;
    } else {
        ev->pmc = NULL;
        ev->pebs_index = 0;
    }
    ev->header_size = (uint16_t)hsize;
    return 0;
}

static int parse_event_header(const uint8_t *p, uint32_t size, EtlEvent *ev,
                              EtlDiagCode *diag_code, char *detail, size_t detail_len)
{
    ev->flags = etl_rd16(p + 4);
    ev->event_property = etl_rd16(p + 6);
    ev->tid = etl_rd32(p + 8);
    ev->pid = etl_rd32(p + 12);
    ev->timestamp = (int64_t)etl_rd64(p + 16);
    ev->provider = etl_guid_read(p + 0x18);
    ev->event_id = etl_rd16(p + 0x28);
    ev->version = p[0x2A];
    ev->channel = p[0x2B];
    ev->level = p[0x2C];
    ev->opcode = p[0x2D];
    ev->task = etl_rd16(p + 0x2E);
    ev->keyword = etl_rd64(p + 0x30);
    ev->kernel_time = etl_rd32(p + 0x38);
    ev->user_time = etl_rd32(p + 0x3C);
    ev->activity_id = etl_guid_read(p + 0x40);

    uint32_t pos = 0x50;
    if (ev->flags & ETL_EVENT_FLAG_EXTENDED_INFO) {
        /* In-buffer items: u16 ItemSize (8 + data, rounded to 8), u16 type, u16 linkage,
         * u16 DataSize, data.  Walk while the linkage bit says another follows (§3.8). */
        for (;;) {
            if (size - pos < 8)
                FAIL(ETL_DIAG_EXT_ITEM, "extended data item header at +0x%x overruns the event (size %u)",
                     pos, size);
            uint16_t isz = etl_rd16(p + pos), type = etl_rd16(p + pos + 2);
            uint16_t link = etl_rd16(p + pos + 4), dsz = etl_rd16(p + pos + 6);
            if (isz < 8 || dsz > isz - 8 || isz > size - pos)
                FAIL(ETL_DIAG_EXT_ITEM,
                     "extended data item at +0x%x has size %u, data size %u (event size %u)",
                     pos, isz, dsz, size);
            if (ev->n_ext == ETL_MAX_EXT_ITEMS)
                FAIL(ETL_DIAG_EXT_ITEM, "more than %d extended data items", ETL_MAX_EXT_ITEMS);
            ev->ext[ev->n_ext].type = type;
            ev->ext[ev->n_ext].size = dsz;
            ev->ext[ev->n_ext].data = p + pos + 8;
            ev->n_ext++;
            pos += isz;
            if (!(link & 1)) break;
        }
    }
    ev->header_size = (uint16_t)pos;
    return 0;
}

static int parse_message(const uint8_t *p, uint32_t size, bool file_is64, EtlEvent *ev,
                         EtlDiagCode *diag_code, char *detail, size_t detail_len)
{
    uint16_t opt = etl_rd16(p + 6);
    uint32_t pos = 8;
    ev->event_id = etl_rd16(p + 4);
    ev->flags = opt;
    /* Optional fields, in this order, each only when its flag is set (§3.9). */
    uint32_t need = 8;
    if (opt & ETL_MSG_SEQUENCE) need += 4;
    if (opt & ETL_MSG_COMPONENT_ID) need += 4;
    else if (opt & ETL_MSG_GUID) need += 16;
    if (opt & (ETL_MSG_TIMESTAMP | ETL_MSG_PERF_TIMESTAMP)) need += 8;
    if (opt & ETL_MSG_SYSTEMINFO) need += 8;
    if (size < need)
        FAIL(ETL_DIAG_EVENT_SIZE, "message size %u is smaller than its optional fields (%u, flags 0x%04x)",
             size, need, opt);
    if (opt & ETL_MSG_SEQUENCE) { ev->message_sequence = etl_rd32(p + pos); pos += 4; }
    if (opt & ETL_MSG_COMPONENT_ID) {
        ev->component_id = etl_rd32(p + pos);
        pos += 4;
    } else if (opt & ETL_MSG_GUID) {
        ev->provider = etl_guid_read(p + pos);
        pos += 16;
    }
    if (opt & (ETL_MSG_TIMESTAMP | ETL_MSG_PERF_TIMESTAMP)) {
        if (opt & ETL_MSG_TIMESTAMP) {
            ev->timestamp = (int64_t)etl_rd64(p + pos);
            ev->has_timestamp = true;
        }
        pos += 8;
    }
    if (opt & ETL_MSG_SYSTEMINFO) {
        ev->tid = etl_rd32(p + pos);
        ev->pid = etl_rd32(p + pos + 4);
        pos += 8;
    }
    ev->pointer_size = (opt & ETL_MSG_POINTER64) ? 8 : (opt & ETL_MSG_POINTER32) ? 4 : (file_is64 ? 8 : 4);
    ev->header_size = (uint16_t)pos;
    return 0;
}

int etl_event_parse(const uint8_t *p, size_t avail, bool file_is64, EtlEvent *ev,
                    EtlDiagCode *diag_code, char *detail, size_t detail_len)
{
    int fast = etl_event_parse_kernel(p, avail, ev, NULL);
    if (fast > 0) return fast;
    if (avail < 8) return 0;
    uint32_t marker = etl_rd32(p);
    if (marker == 0xFFFFFFFFu || marker == 0) return 0; /* fill: no more events */

    uint8_t b2 = p[2], b3 = p[3];
    EtlHeaderKind kind;
    uint32_t size;
    uint8_t psize = file_is64 ? 8 : 4;

    etl_event_reset_optional(ev);
    ev->group = 0;

    if ((b3 & 0xC0) == 0xC0) {
        switch (b2) {
        case 0x01: case 0x02: kind = ETL_HDR_SYSTEM;   psize = b2 == 0x02 ? 8 : 4; size = etl_rd16(p + 4); break;
        case 0x03: case 0x04: kind = ETL_HDR_COMPACT;  psize = b2 == 0x04 ? 8 : 4; size = etl_rd16(p + 4); break;
        case 0x10: case 0x11: kind = ETL_HDR_PERFINFO; psize = b2 == 0x11 ? 8 : 4; size = etl_rd16(p + 4); break;
        case 0x0A: case 0x14: kind = ETL_HDR_FULL;     psize = b2 == 0x14 ? 8 : 4; size = etl_rd16(p); break;
        case 0x0B: case 0x15: kind = ETL_HDR_INSTANCE; psize = b2 == 0x15 ? 8 : 4; size = etl_rd16(p); break;
        case 0x12: case 0x13: kind = ETL_HDR_EVENT;    psize = b2 == 0x13 ? 8 : 4; size = etl_rd16(p); break;
        case 0x0C: case 0x0D: case 0x0E: kind = ETL_HDR_OTHER; size = etl_rd16(p); break;
        default:
            FAIL(ETL_DIAG_EVENT_MARKER, "unknown trace header type 0x%02x (marker 0x%08x)", b2, marker);
        }
    } else if ((b3 & 0xF0) == 0x90) {
        kind = ETL_HDR_MESSAGE;
        size = etl_rd16(p);
    } else if ((b3 & 0xF0) == 0xB0) {
        kind = ETL_HDR_OTHER; /* TRACE_HEADER_ULONG32_TIME: sized record, not decoded */
        size = etl_rd16(p);
    } else {
        FAIL(ETL_DIAG_EVENT_MARKER, "0x%08x is not a trace header marker", marker);
    }

    if (size < min_size[kind])
        FAIL(ETL_DIAG_EVENT_SIZE, "event size %u is smaller than its %s header (%u bytes)", size,
             etl_header_kind_name(kind), min_size[kind]);
    if (size > avail)
        FAIL(ETL_DIAG_EVENT_SIZE, "event size %u overruns the buffer (%zu bytes left)", size, avail);

    ev->kind = kind;
    ev->header_type = (kind == ETL_HDR_MESSAGE) ? 0 : b2;
    ev->pointer_size = psize;
    ev->size = (uint16_t)size;
    ev->raw = p;

    int rc;
    switch (kind) {
    case ETL_HDR_SYSTEM:
    case ETL_HDR_COMPACT:
    case ETL_HDR_PERFINFO:
        rc = parse_kernel(p, size, kind, ev, diag_code, detail, detail_len);
        break;
    case ETL_HDR_FULL:
    case ETL_HDR_INSTANCE:
        ev->opcode = p[4];
        ev->level = p[5];
        ev->version = etl_rd16(p + 6);
        ev->flags = 0;
        ev->tid = etl_rd32(p + 8);
        ev->pid = etl_rd32(p + 12);
        ev->timestamp = (int64_t)etl_rd64(p + 16);
        ev->provider = etl_guid_read(p + 0x18);
        ev->kernel_time = etl_rd32(p + 0x28);
        ev->user_time = etl_rd32(p + 0x2C);
        if (kind == ETL_HDR_INSTANCE) {
            ev->instance_id = etl_rd32(p + 0x30);
            ev->parent_instance_id = etl_rd32(p + 0x34);
            ev->parent_guid = etl_guid_read(p + 0x38);
        }
        ev->header_size = min_size[kind];
        rc = 0;
        break;
    case ETL_HDR_EVENT:
        rc = parse_event_header(p, size, ev, diag_code, detail, detail_len);
        break;
    case ETL_HDR_MESSAGE:
    default: /* ETL_HDR_OTHER */
        /* no provider, ids or time unless a WPP message's option flags bring them */
        memset(&ev->provider, 0, sizeof ev->provider);
        ev->tid = ev->pid = ETL_NO_ID;
        ev->has_timestamp = false;
        ev->timestamp = 0;
        ev->opcode = 0;
        ev->version = 0;
        ev->flags = 0;
        ev->kernel_time = ev->user_time = 0;
        ev->header_size = 8;
        rc = kind == ETL_HDR_MESSAGE ? parse_message(p, size, file_is64, ev, diag_code, detail, detail_len) : 0;
        break;
    }
    if (rc < 0) return rc;
    ev->payload = p + ev->header_size;
    ev->payload_len = size - ev->header_size;
    return (int)size;
}
