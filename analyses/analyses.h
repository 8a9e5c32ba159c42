/* analyses.h — aggregations over decoded events.  No printing here: results are plain data
 * that render/ and cli/ format. */
#pragma once

#include "etl.h"
#include "model.h"
#include "pool.h"
#include "timeline.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------------------------------
 * Trace summary (`etla info`): events per provider and opcode / event id, payload decoding
 * health, and stack coverage per event type.
 *
 * Stack coverage here is the reader-level view: a kernel event has a stack when a StackWalk
 * event (plain stack or stack-key reference) on the same CPU names its timestamp; an
 * EVENT_HEADER event when it carries a stack extended item.  The system model (issue 3)
 * refines attribution by thread; user-mode halves that arrive after a context switch are
 * counted as unmatched here.
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    SUMMARY_KERNEL,   /* SYSTEM / COMPACT / PERFINFO headers: (group GUID, opcode)   */
    SUMMARY_CLASSIC,  /* EVENT_TRACE_HEADER / INSTANCE: (class GUID, opcode)         */
    SUMMARY_EVENT,    /* EVENT_HEADER: (provider GUID, event id, opcode, TL name)    */
    SUMMARY_MESSAGE,  /* WPP: (GUID if any, message number)                          */
    SUMMARY_OTHER,    /* obsolete header types                                       */
} SummaryClass;

typedef struct {
    SummaryClass cls;
    EtlGuid      provider;
    uint8_t      opcode;
    uint16_t     event_id;       /* EVENT_HEADER / MESSAGE only */
    const char  *provider_name;  /* interned; NULL when unknown */
    const char  *event_name;     /* interned; NULL when unknown */
    uint64_t     count;
    uint64_t     with_stack;     /* events with a stack (see above) */
    uint64_t     undecoded;      /* kernel/classic events with no payload decoder */
    uint64_t     malformed;      /* payload shorter than its layout */
    uint64_t     bytes;          /* total event bytes */
} SummaryRow;

typedef struct Summary Summary;

Summary          *summary_new(EtlTrace *t);
void              summary_free(Summary *s);
/* Count one event (decodes kernel payloads; malformed payloads become diagnostics). */
void              summary_add(Summary *s, const EtlEvent *ev);
/* Sorted rows: count descending, then provider, opcode, event id. Valid until free. */
const SummaryRow *summary_rows(Summary *s, guint *n);

typedef struct {
    uint64_t kernel_events, kernel_decoded, kernel_undecoded, kernel_malformed;
    uint64_t stack_events;          /* StackWalk stacks + stack-key references + ext stacks */
    uint64_t stacks_matched;        /* attributed to an event */
    uint64_t stacks_unmatched;      /* no event with that timestamp on that CPU nearby */
    uint64_t lost_event_records;    /* RT_LostEvent records */
    /* what the system model will have to work with */
    uint64_t process_rundown, thread_rundown, image_rundown; /* DCStart + DCEnd events */
    uint64_t image_events;          /* Image Load/UnLoad/DCStart/DCEnd */
    uint64_t image_id, image_dbgid; /* KernelTraceControl ImageID / DbgID_RSDS (xperf merge) */
    uint64_t stack_key_refs, stack_key_defs; /* StackKeyKernel/User; KeyDelete/KeyRundown/KeyCreate */
    bool     have_group_masks;      /* an EventTrace header extension with non-zero group masks */
    uint32_t group_masks[8];        /* the last such: what the kernel session had enabled */
} SummaryTotals;

const SummaryTotals *summary_totals(const Summary *s);
const char          *summary_class_name(SummaryClass c);

G_END_DECLS
