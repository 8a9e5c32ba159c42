/* etl-private.h — internals shared by trace.c and reader.c.  Not for other layers. */
#pragma once

#include "etl.h"

struct EtlTrace {
    EtlSource       *src;
    EtlLogfileHeader hdr;
    GArray          *buffers;     /* EtlBufferInfo, file order */
    uint32_t         cpu_slots;   /* max CPU index seen + 1 */
    bool             file_compressed; /* some buffer has the COMPRESSED flag */
    uint16_t         data_logger_id;  /* logger id of the first data buffer */
    bool             have_data_logger_id;
    EtlStats         stats;
    EtlDiag         *diags;       /* kept diagnostics */
    uint32_t         n_diags, max_diags;
    EtlDiagFn        diag_fn;
    void            *diag_user_data;
};

/* Record a diagnostic (kept if there is room, always counted and passed to diag_fn). */
void etl_trace_diag(EtlTrace *t, EtlDiagCode code, uint64_t file_offset, uint32_t buffer_index,
                    int32_t cpu, const char *fmt, ...) G_GNUC_PRINTF(6, 7);
