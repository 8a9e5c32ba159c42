/* etl-private.h — internals shared by trace.c and reader.c.  Not for other layers. */
#pragma once

#include "etl.h"
#include "kernel/kernel-private.h"

struct EtlTrace {
    EtlSource       *src;
    EtlLogfileHeader hdr;
    GArray          *buffers;     /* EtlBufferInfo, file order */
    uint32_t         cpu_slots;   /* max CPU index seen + 1 */
    bool             file_compressed; /* some buffer has the COMPRESSED flag */
    uint16_t         data_logger_id;  /* logger id of the first data buffer */
    bool             have_data_logger_id;
    uint8_t         *cpu_diagnosed;   /* bitset: CPUs already reported beyond the header's count */
    EtlStats         stats;
    EtlDiag         *diags;       /* kept diagnostics */
    uint32_t         n_diags, max_diags;
    EtlDiagFn        diag_fn;
    void            *diag_user_data;
    unsigned         quiet;       /* > 0: an extra pass (etl_trace_quiet_begin) */
    EtlStats         quiet_saved; /* stats to restore when it ends */
};

/* Record a diagnostic (kept if there is room, always counted and passed to diag_fn). */
void etl_trace_diag(EtlTrace *t, EtlDiagCode code, uint64_t file_offset, uint32_t buffer_index,
                    int32_t cpu, const char *fmt, ...) G_GNUC_PRINTF(6, 7);

/* ------------------------------------------------------------------------------------------
 * Kernel trace headers (ETL_CONTAINER.md §3), inline: these are most of the events of a kernel
 * trace, and the reader's loop parses them without a call.
 * ------------------------------------------------------------------------------------------ */

/* Fields only some header kinds set: cleared before a header is parsed. */
static inline void etl_event_reset_optional(EtlEvent *ev)
{
    ev->n_ext = 0;
    ev->has_timestamp = true;
    ev->event_id = 0;
    ev->level = ev->channel = 0;
    ev->task = 0;
    ev->keyword = 0;
    ev->event_property = 0;
    ev->n_pmc = 0;
    ev->has_pebs = false;
    ev->pmc = NULL;
    ev->pebs_index = 0;
}

/* The fields of a SYSTEM, COMPACT or PERFINFO header (not size, PMC/PEBS or header size). */
static inline void etl_kernel_header_fields(const uint8_t *p, EtlHeaderKind kind, EtlEvent *ev)
{
    uint16_t vword = etl_rd16(p);
    uint16_t hook = etl_rd16(p + 6);
    ev->flags = vword;
    ev->version = vword & 0xFF;
    ev->opcode = hook & 0xFF;
    ev->group = hook >> 8;
    if (kind == ETL_HDR_PERFINFO) {
        ev->tid = ev->pid = ETL_NO_ID;
        ev->timestamp = (int64_t)etl_rd64(p + 8);
        ev->kernel_time = ev->user_time = 0;
    } else {
        ev->tid = etl_rd32(p + 8);
        ev->pid = etl_rd32(p + 12);
        ev->timestamp = (int64_t)etl_rd64(p + 16);
        if (kind == ETL_HDR_SYSTEM) {
            ev->kernel_time = etl_rd32(p + 0x18);
            ev->user_time = etl_rd32(p + 0x1C);
        } else {
            ev->kernel_time = ev->user_time = 0;
        }
    }
    /* 0x030A (Process group, type 10) is Image/Load (§3.13). */
    if (G_UNLIKELY(hook == 0x030A))
        ev->provider = ETL_GUID_IMAGE;
    else if (G_LIKELY(ev->group < ETL_K_GROUP_GUIDS))
        ev->provider = etl_k_group_guids[ev->group];
    else
        ev->provider = etl_kernel_group_guid_any(ev->group);
}

/* Header type byte -> kind | pointer size << 4 | header size << 8, for the kernel header types
 * etl_event_parse_kernel takes (0: not one of them). */
static const uint16_t etl_kernel_header_class[0x12] = {
    [0x01] = ETL_HDR_SYSTEM | 4 << 4 | 0x20 << 8,   [0x02] = ETL_HDR_SYSTEM | 8 << 4 | 0x20 << 8,
    [0x03] = ETL_HDR_COMPACT | 4 << 4 | 0x18 << 8,  [0x04] = ETL_HDR_COMPACT | 8 << 4 | 0x18 << 8,
    [0x10] = ETL_HDR_PERFINFO | 4 << 4 | 0x10 << 8, [0x11] = ETL_HDR_PERFINFO | 8 << 4 | 0x10 << 8,
};

/* etl_event_parse for a well-formed SYSTEM/COMPACT/PERFINFO header without PMC counters or a
 * PEBS index: fills ev exactly as etl_event_parse does and returns the event size.  Returns 0
 * for anything else (other headers, the end-of-events fill, malformed events): the caller then
 * calls etl_event_parse, which handles and diagnoses those.
 *
 * constants_set: when non-NULL and true, ev already holds what this function stores in the
 * fields that are the same for every such event (the reader's per-stream event, last filled by
 * this function); they are then not stored again.  Set to true on return when ev was filled. */
static inline int etl_event_parse_kernel(const uint8_t *p, size_t avail, EtlEvent *ev, bool *constants_set)
{
    if (avail < 8) return 0;
    uint32_t marker = etl_rd32(p);
    uint8_t b2 = (marker >> 16) & 0xFF;
    /* byte 3: TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE; low word: Version, with the
     * PEBS bit (0x8000) and PMC count (0x0700) that only the general parser handles */
    if ((marker >> 30) != 3 || (marker & 0x8700) || b2 >= G_N_ELEMENTS(etl_kernel_header_class)) return 0;
    uint32_t cls = etl_kernel_header_class[b2];
    if (!cls) return 0;
    EtlHeaderKind kind = (EtlHeaderKind)(cls & 0xF);
    uint32_t hsize = cls >> 8;
    uint32_t size = etl_rd16(p + 4);
    if (G_UNLIKELY(size < hsize || size > avail)) return 0;

    if (!constants_set || !*constants_set) {
        etl_event_reset_optional(ev);
        if (constants_set) *constants_set = true;
    }
    ev->kind = kind;
    ev->header_type = b2;
    ev->pointer_size = (cls >> 4) & 0xF;
    ev->size = (uint16_t)size;
    ev->raw = p;
    etl_kernel_header_fields(p, kind, ev);
    ev->header_size = (uint16_t)hsize;
    ev->payload = p + hsize;
    ev->payload_len = size - hsize;
    return (int)size;
}
