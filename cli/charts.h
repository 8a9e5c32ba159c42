/* charts.h — one pass over a trace feeding every analysis a chart or the report needs, and
 * the charts built from their results (glue between analyses/ and render/chart.h). */
#pragma once

#include "chart.h"
#include "cli.h"
#include "dpcisr.h"

typedef enum {
    CHART_POOL_OUTSTANDING,
    CHART_POOL_TAGS,
    CHART_DPC_DURATION,
    CHART_DPCISR_TIMELINE,
    CHART_CPU_USAGE,
    CHART_KIND_COUNT_
} ChartWhich;

const char *chart_which_name(ChartWhich w);
bool        chart_which_parse(const char *s, ChartWhich *out);

typedef struct {
    const char *path;
    EtlTrace   *t;
    Model      *m;
    Summary    *sum;
    Pool       *pool;
    DpcIsr     *dpc;
    Timeline   *tl_dpc, *tl_cpu;
    int64_t     from, to;      /* raw window; INT64_MIN/MAX open */
    guint       columns;       /* timeline columns */
} Collected;

/* Open the trace and run everything over it (progress on a terminal unless quiet).  false
 * after printing one clear line (the trace could not be opened). */
bool collect_run(Collected *c, const char *path, double from_s, double to_s, guint columns, bool quiet,
                 bool no_progress, CliDiagPrinter *dp);
void collect_clear(Collected *c);

/* A chart of the collected results.  top: how many tags/modules/processes by name (rest
 * "other").  The title names the trace and the window. */
Chart *chart_build(const Collected *c, ChartWhich which, int width, int height, guint top);
