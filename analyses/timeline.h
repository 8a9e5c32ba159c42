/* timeline.h — time in columns, for charts: DPC/ISR busy time per CPU and module
 * (dpcisr-timeline) and CPU use per process from context switches (cpu-usage).
 *
 * The span is fixed up front (from the log-file header's start and end times, or set by the
 * caller) and cut into n columns; time after the span is not drawn but counted
 * (timeline_beyond).  DPC/ISR busy time is inclusive: an ISR inside a DPC counts in both.
 * CPU use credits a switched-out thread with the time since the previous switch on its CPU,
 * and the threads still running with the time to the end of the span.
 * Memory: columns × CPUs (× the modules or processes present in each column); never per event. */
#pragma once

#include "model.h"

G_BEGIN_DECLS

typedef struct Timeline Timeline;

typedef struct {
    const char *name;        /* module ("Unknown") or process ("name (pid)") */
    uint64_t    ticks;       /* over the whole span */
} TimelineKey;

/* DPC/ISR: lanes are CPUs, keys are modules.  CPU use: one lane, keys are processes. */
typedef enum { TIMELINE_DPCISR, TIMELINE_CPU } TimelineKind;

Timeline *timeline_new(TimelineKind kind, Model *m, const EtlTrace *t, guint n_cols);
void      timeline_free(Timeline *tl);
/* Restrict to [from, to] (raw); call before the first event. */
void      timeline_set_span(Timeline *tl, int64_t from, int64_t to);
void      timeline_add(Timeline *tl, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx);
void      timeline_finish(Timeline *tl);

guint        timeline_columns(const Timeline *tl);
guint        timeline_lanes(const Timeline *tl);          /* CPUs seen (DPC/ISR), 1 (CPU use) */
int64_t      timeline_t0(const Timeline *tl);
int64_t      timeline_t1(const Timeline *tl);
/* Keys by total time, most first. */
const TimelineKey *timeline_keys(const Timeline *tl, guint *n);
/* Ticks of key k (index into timeline_keys) in a lane's column. */
uint64_t     timeline_ticks(const Timeline *tl, guint lane, guint col, guint key);
/* Ticks of all keys in a lane's column. */
uint64_t     timeline_busy(const Timeline *tl, guint lane, guint col);
uint64_t     timeline_beyond(const Timeline *tl);          /* ticks that fell after the span */
uint32_t     timeline_cpus(const Timeline *tl);            /* CPU use: CPUs that switched */

G_END_DECLS
