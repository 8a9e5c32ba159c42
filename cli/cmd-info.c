/* cmd-info.c — `etla info TRACE`: the first check a user runs. */
#include "cli.h"
#include "profile-select.h"

#include <math.h>

static const char *info_examples =
    "Examples:\n"
    "  etla info trace.etl\n"
    "      What the trace holds: OS, CPUs, clock, time span, lost events, problems, and\n"
    "      every event type with its count and how many carry a stack.\n"
    "  etla info --format json trace.etl | jq '.counts[] | select(.provider_name == \"Pool\")'\n"
    "  etla info --from 10 --to 20 trace.etl       count only events between 10 s and 20 s\n"
    "\n"
    "The text output starts with a one-line verdict; JSON carries the same facts for scripts\n"
    "(see docs/cli.md for every field).";

typedef struct {
    const EtlLogfileHeader *h;
    const EtlStats         *st;
    const SummaryTotals    *tot;
    const SummaryRow       *rows;
    guint                   n_rows;
    uint64_t                events_in_window;
    const char             *path;
    uint64_t                file_size;
    uint64_t                lost_events_total;
    GPtrArray              *findings;   /* ProfileFinding*, with --profile */
    const char             *profile_spec;
} InfoData;

/* --profile: what the profile asked for against what the trace holds (profile_compare). */
static GPtrArray *compare_profile(const CliProfile *cp, const InfoData *d)
{
    GArray *kern = g_array_new(FALSE, TRUE, sizeof(ProfileSeenKernel));
    GArray *prov = g_array_new(FALSE, TRUE, sizeof(ProfileSeenProvider));
    for (guint i = 0; i < d->n_rows; i++) {
        const SummaryRow *r = &d->rows[i];
        int group = -1;
        for (int g = 0; g < 0x1F && r->cls <= SUMMARY_CLASSIC; g++) {
            const EtlGuid *gg = etl_kernel_group_guid((uint8_t)g);
            if (gg && etl_guid_equal(gg, &r->provider)) group = g;
        }
        if (group >= 0) {
            ProfileSeenKernel k = { (uint8_t)group, r->opcode, r->count, r->with_stack };
            g_array_append_val(kern, k);
        } else {
            ProfileSeenProvider p = { .name = r->provider_name, .count = r->count, .with_stack = r->with_stack };
            memcpy(&p.guid, &r->provider, sizeof p.guid);
            g_array_append_val(prov, p);
        }
    }
    ProfileTraceFacts f = { .kernel = (const ProfileSeenKernel *)kern->data, .n_kernel = kern->len,
                            .providers = (const ProfileSeenProvider *)prov->data, .n_providers = prov->len,
                            .events_lost = d->h->events_lost, .buffers_lost = d->h->buffers_lost,
                            .lost_event_records = d->tot->lost_event_records,
                            .have_group_masks = d->tot->have_group_masks };
    memcpy(f.group_masks, d->tot->group_masks, sizeof f.group_masks);
    GPtrArray *out = profile_compare(cp->profile, &f);
    g_array_free(kern, TRUE);
    g_array_free(prov, TRUE);
    return out;
}

static void append_mode(GString *s, uint32_t mode)
{
    static const struct { uint32_t bit; const char *name; } bits[] = {
        { ETL_MODE_SEQUENTIAL, "sequential" }, { ETL_MODE_CIRCULAR, "circular" }, { ETL_MODE_APPEND, "append" },
        { ETL_MODE_NEWFILE, "newfile" }, { ETL_MODE_PREALLOCATE, "preallocate" }, { 0x80, "secure" },
        { 0x400, "buffering" }, { 0x800, "private" }, { ETL_MODE_RELOG, "relog" },
        { ETL_MODE_SYSTEM_LOGGER, "system-logger" }, { ETL_MODE_COMPRESSED, "compressed" },
        { 0x08000000, "independent-session" }, { ETL_MODE_NO_PER_PROCESSOR_BUFFERING, "no-per-processor-buffering" },
    };
    g_string_append_printf(s, "0x%08x", mode);
    bool any = false;
    for (size_t i = 0; i < G_N_ELEMENTS(bits); i++) {
        if (!(mode & bits[i].bit)) continue;
        g_string_append(s, any ? ", " : " (");
        g_string_append(s, bits[i].name);
        any = true;
    }
    if (any) g_string_append_c(s, ')');
}

static double duration_s(const InfoData *d)
{
    if (d->st->last_ts == INT64_MIN) return 0;
    double end = etl_time_rel_s(d->h, d->st->last_ts);
    return end > 0 ? end : 0;
}

/* Thousands-separated number in a small rotating set of static buffers (for one printf). */
static const char *N(uint64_t v)
{
    static char bufs[8][32];
    static unsigned k;
    char *b = bufs[k++ % 8];
    char *t = text_uint(v);
    g_strlcpy(b, t, 32);
    g_free(t);
    return b;
}

static void label_row(GString *out, const char *label, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void label_row(GString *out, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_string_append_printf(out, "  %-17s", label);
    g_string_append_vprintf(out, fmt, ap);
    g_string_append_c(out, '\n');
    va_end(ap);
}

static void render_text(const InfoData *d, EtlTrace *t, GString *out)
{
    const EtlLogfileHeader *h = d->h;
    const EtlStats *st = d->st;
    const SummaryTotals *tot = d->tot;
    char *evs = text_uint(st->events), *fsz = text_bytes(d->file_size);
    char *base = g_path_get_basename(d->path);

    /* Verdict first. */
    GString *problems = g_string_new(NULL);
#define PROBLEM(...) do { if (problems->len) g_string_append(problems, ", "); g_string_append_printf(problems, __VA_ARGS__); } while (0)
    if (h->events_lost) PROBLEM("%u events lost", h->events_lost);
    if (h->buffers_lost) PROBLEM("%u buffers lost", h->buffers_lost);
    if (tot->lost_event_records) PROBLEM("%" G_GUINT64_FORMAT " lost-event records", tot->lost_event_records);
    if (st->diagnostics) PROBLEM("%" G_GUINT64_FORMAT " problems in the file", st->diagnostics);
    if (st->time_inversions) PROBLEM("%" G_GUINT64_FORMAT " time inversions", st->time_inversions);
    if (st->bytes_skipped) PROBLEM("%" G_GUINT64_FORMAT " bytes skipped", st->bytes_skipped);
    g_string_append_printf(out, "%s: %s events over %.3f s on %u CPUs, Windows %u.%u build %u — %s%s\n\n", base, evs,
                           duration_s(d), h->cpus, h->os_major, h->os_minor, h->os_build,
                           problems->len ? "" : "healthy: nothing lost, no problems found",
                           problems->str);
    g_string_free(problems, TRUE);

    char start[40], end[40];
    etl_filetime_format_iso8601(h->start_time, start);
    etl_filetime_format_iso8601(st->last_ts != INT64_MIN ? etl_time_filetime(h, st->last_ts) : h->end_time, end);
    g_string_append(out, "Trace\n");
    label_row(out, "File", "%s (%s)", d->path, fsz);
    label_row(out, "Recorded", "%s to %s", start, end);
    if (st->first_ts != INT64_MAX)
        label_row(out, "Events span", "%.6f s to %.6f s after the trace start", etl_time_rel_s(h, st->first_ts),
                  etl_time_rel_s(h, st->last_ts));
    char *mhz = text_uint(h->cpu_mhz);
    label_row(out, "System", "Windows %u.%u build %u, %u CPUs at %s MHz, %u-bit producer", h->os_major, h->os_minor,
              h->os_build, h->cpus, mhz, h->header_is64 ? 64 : 32);
    g_free(mhz);
    char *hz = text_uint((uint64_t)h->ticks_per_second);
    label_row(out, "Clock", "%s, %s Hz (one tick = %.3f µs)", etl_clock_type_name(h->clock_type), hz,
              1e6 / (double)h->ticks_per_second);
    g_free(hz);
    char *ln = text_safe(h->logger_name), *lf = text_safe(h->log_file_name);
    label_row(out, "Session", "\"%s\" writing \"%s\"", ln, lf);
    g_free(ln);
    g_free(lf);
    GString *mode = g_string_new(NULL);
    append_mode(mode, h->log_file_mode);
    label_row(out, "Log file mode", "%s", mode->str);
    g_string_free(mode, TRUE);
    char *bsz = text_bytes(h->buffer_size), *evb = text_bytes(st->bytes_events);
    label_row(out, "Buffers", "%s of %s (%s compressed), %s of events, format %u.%u", N(st->buffers), bsz,
              N(st->compressed_buffers), evb, h->layout_major, h->layout_minor);
    g_free(bsz);
    g_free(evb);
    label_row(out, "Events", "%s (%s system, %s compact, %s perfinfo, %s classic, %s instance, %s event-header, %s WPP)",
              evs, N(st->events_by_header[ETL_HDR_SYSTEM]), N(st->events_by_header[ETL_HDR_COMPACT]),
              N(st->events_by_header[ETL_HDR_PERFINFO]), N(st->events_by_header[ETL_HDR_FULL]),
              N(st->events_by_header[ETL_HDR_INSTANCE]), N(st->events_by_header[ETL_HDR_EVENT]),
              N(st->events_by_header[ETL_HDR_MESSAGE]));
    if (d->events_in_window != st->events)
        label_row(out, "In window", "%" G_GUINT64_FORMAT " events", d->events_in_window);

    g_string_append(out, "\nHealth\n");
    label_row(out, "Lost", "%u events, %u buffers (log-file header); %" G_GUINT64_FORMAT " lost-event records",
              h->events_lost, h->buffers_lost, tot->lost_event_records);
    label_row(out, "Problems", "%s (corrupt or implausible data; reading went on)", N(st->diagnostics));
    for (int c = 0; c < ETL_DIAG_COUNT_; c++)
        if (st->diags_by_code[c])
            g_string_append_printf(out, "  %17s%" G_GUINT64_FORMAT " %s\n", "", st->diags_by_code[c],
                                   etl_diag_code_name(c));
    uint32_t nd;
    const EtlDiag *dg = etl_trace_diags(t, &nd);
    for (uint32_t i = 0; i < nd && i < 5; i++) {
        char *s = etl_diag_format(&dg[i]);
        g_string_append_printf(out, "  %17s- %s\n", "", s);
        g_free(s);
    }
    if (st->diagnostics > 5)
        g_string_append_printf(out, "  %17s(%" G_GUINT64_FORMAT " more)\n", "", st->diagnostics - MIN(nd, 5u));
    label_row(out, "Skipped", "%s buffers, %s events, %s bytes", N(st->buffers_skipped), N(st->events_skipped),
              N(st->bytes_skipped));
    label_row(out, "Time inversions", "%s", N(st->time_inversions));
    if (st->header_events > 1)
        label_row(out, "Merged", "%" G_GUINT64_FORMAT " log-file header events (merged or relogged trace)",
                  st->header_events);
    label_row(out, "Kernel payloads", "%s of %s decoded, %s without a decoder, %s malformed", N(tot->kernel_decoded),
              N(tot->kernel_events), N(tot->kernel_undecoded), N(tot->kernel_malformed));
    if (tot->stack_events)
        label_row(out, "Stacks", "%s stack records, %s matched to an event on the same CPU, %s with no event of that time among the CPU's last 32",
                  N(tot->stack_events), N(tot->stacks_matched), N(tot->stacks_unmatched));
    else
        label_row(out, "Stacks", "none (record with stack walking to see who allocates)");
    if (tot->stack_key_refs || tot->stack_key_defs)
        label_row(out, "Stack keys", "%s references, %s definitions (Win8+ stack caching: a reference takes the "
                  "first definition of its key after it; etla dump --stacks shows them resolved)",
                  N(tot->stack_key_refs), N(tot->stack_key_defs));
    if (tot->kernel_events) {
        if (tot->process_rundown + tot->thread_rundown + tot->image_rundown)
            label_row(out, "Rundown", "%s process, %s thread, %s image DCStart/DCEnd events (names and modules of "
                      "what ran before the trace are known)",
                      N(tot->process_rundown), N(tot->thread_rundown), N(tot->image_rundown));
        else
            label_row(out, "Rundown", "none: processes and modules loaded before the trace stay unnamed "
                      "(addresses in them resolve to Unknown); record with the kernel's process and image "
                      "events (PROC_THREAD+LOADER) so that rundown is written");
    }
    if (tot->image_events) {
        if (tot->image_id || tot->image_dbgid)
            label_row(out, "Symbols", "merged: %s ImageID and %s DbgID_RSDS records (each module's PDB name, "
                      "GUID and age)", N(tot->image_id), N(tot->image_dbgid));
        else
            label_row(out, "Symbols", "not merged: no ImageID/DbgID_RSDS records, so symbols cannot be "
                      "found for this trace's modules. Merge on the machine that recorded it: "
                      "xperf -merge raw.etl merged.etl (WPR and xperf -d merge when they stop)");
    }

    if (d->findings) {
        char *spec = text_safe(d->profile_spec);
        g_string_append_printf(out, "\nProfile %s: what it asks for against what the trace holds\n", spec);
        g_free(spec);
        for (guint i = 0; i < d->findings->len; i++) {
            const ProfileFinding *f = g_ptr_array_index(d->findings, i);
            char *m = text_safe(f->message);
            g_string_append_printf(out, "  %-8s %s\n", profile_finding_level_name(f->level), m);
            g_free(m);
        }
    }
    g_string_append(out, "\nEvents by type\n");
    Table *tb = table_new();
    table_add_column(tb, "Provider", "provider_name", TABLE_LEFT);
    table_add_column(tb, "Event", "event_name", TABLE_LEFT);
    table_add_column(tb, "Op/Id", "id", TABLE_RIGHT);
    table_add_column(tb, "Count", "count", TABLE_RIGHT);
    table_add_column(tb, "Stacks", "with_stack", TABLE_RIGHT);
    table_add_column(tb, "Decoded", "decoded", TABLE_LEFT);
    for (guint i = 0; i < d->n_rows; i++) {
        const SummaryRow *r = &d->rows[i];
        if (!r->count) continue;
        char g[ETL_GUID_STRLEN];
        etl_guid_format(&r->provider, g);
        table_begin_row(tb);
        table_cell_str(tb, r->provider_name ? r->provider_name : g);
        char *ev = r->event_name ? g_strdup(r->event_name)
                                 : (r->cls == SUMMARY_EVENT ? g_strdup_printf("EventID(%u)", r->event_id)
                                                            : r->cls == SUMMARY_MESSAGE ? g_strdup_printf("Message(%u)", r->event_id)
                                                                                        : g_strdup_printf("Opcode(%u)", r->opcode));
        table_cell_str(tb, ev);
        g_free(ev);
        char *id = (r->cls == SUMMARY_EVENT) ? g_strdup_printf("%u/%u", r->opcode, r->event_id)
                   : (r->cls == SUMMARY_MESSAGE) ? g_strdup_printf("%u", r->event_id)
                                                 : g_strdup_printf("%u", r->opcode);
        table_cell_str(tb, id);
        g_free(id);
        table_cell_uint(tb, r->count);
        if (r->with_stack) {
            char *ws = g_strdup_printf("%.0f%%", 100.0 * (double)r->with_stack / (double)r->count);
            table_cell_str(tb, ws);
            g_free(ws);
        } else {
            table_cell_str(tb, "-");
        }
        const char *dec = (r->cls == SUMMARY_KERNEL || r->cls == SUMMARY_CLASSIC)
                              ? (r->malformed ? "malformed" : r->undecoded == r->count ? "-" : r->undecoded ? "partly" : "yes")
                              : "-";
        table_cell_str(tb, dec);
    }
    table_render_text(tb, out, 2);
    table_free(tb);
    g_string_append(out, "\nOp/Id is the opcode (kernel and classic events) or opcode/event id (manifest and\n"
                         "TraceLogging events); Stacks is the share of events carrying a call stack.\n");
    g_free(evs);
    g_free(fsz);
    g_free(base);
}

static void write_counts_json(const InfoData *d, JsonWriter *w)
{
    json_begin_array(w);
    for (guint i = 0; i < d->n_rows; i++) {
        const SummaryRow *r = &d->rows[i];
        if (!r->count) continue;
        char g[ETL_GUID_STRLEN];
        etl_guid_format(&r->provider, g);
        json_begin_object(w);
        json_key(w, "provider_guid");
        json_string(w, g);
        json_key(w, "provider_name");
        json_string(w, r->provider_name);
        json_key(w, "class");
        json_string(w, summary_class_name(r->cls));
        json_key(w, "opcode");
        json_uint(w, r->opcode);
        json_key(w, "event_id");
        if (r->cls == SUMMARY_EVENT || r->cls == SUMMARY_MESSAGE) json_uint(w, r->event_id);
        else json_null(w);
        json_key(w, "event_name");
        json_string(w, r->event_name);
        json_key(w, "count");
        json_uint(w, r->count);
        json_key(w, "with_stack");
        json_uint(w, r->with_stack);
        json_key(w, "undecoded");
        json_uint(w, r->undecoded);
        json_key(w, "malformed");
        json_uint(w, r->malformed);
        json_key(w, "bytes");
        json_uint(w, r->bytes);
        json_end_object(w);
    }
    json_end_array(w);
}

static void render_json(const InfoData *d, EtlTrace *t, FILE *fp)
{
    const EtlLogfileHeader *h = d->h;
    const EtlStats *st = d->st;
    JsonWriter *w = json_writer_new(fp, true);
    char buf[40], g[ETL_GUID_STRLEN];
    (void)g;
    json_begin_object(w);
    json_key(w, "file"); json_string(w, d->path);
    json_key(w, "file_size"); json_uint(w, d->file_size);
    json_key(w, "pointer_size"); json_uint(w, h->header_is64 ? 8 : 4);
    json_key(w, "cpus"); json_uint(w, h->cpus);
    g_snprintf(buf, sizeof buf, "%u.%u", h->os_major, h->os_minor);
    json_key(w, "os_version"); json_string(w, buf);
    json_key(w, "os_build"); json_uint(w, h->os_build);
    json_key(w, "clock_type"); json_string(w, etl_clock_type_name(h->clock_type));
    json_key(w, "clock_type_raw"); json_uint(w, h->clock_type);
    json_key(w, "frequency"); json_int(w, h->ticks_per_second);
    json_key(w, "perf_freq"); json_int(w, h->perf_freq);
    json_key(w, "cpu_mhz"); json_uint(w, h->cpu_mhz);
    etl_filetime_format_iso8601(h->start_time, buf);
    json_key(w, "start_time"); json_string(w, buf);
    etl_filetime_format_iso8601(h->end_time, buf);
    json_key(w, "end_time"); json_string(w, buf);
    json_key(w, "duration_s"); json_double(w, duration_s(d), 9);
    json_key(w, "first_event_s");
    if (st->first_ts != INT64_MAX) json_double(w, etl_time_rel_s(h, st->first_ts), 9); else json_null(w);
    json_key(w, "last_event_s");
    if (st->last_ts != INT64_MIN) json_double(w, etl_time_rel_s(h, st->last_ts), 9); else json_null(w);
    json_key(w, "logger_name"); json_string(w, h->logger_name);
    json_key(w, "log_file_name"); json_string(w, h->log_file_name);
    json_key(w, "log_file_mode"); json_uint(w, h->log_file_mode);
    g_snprintf(buf, sizeof buf, "%u.%u", h->layout_major, h->layout_minor);
    json_key(w, "format_version"); json_string(w, buf);
    json_key(w, "buffer_size"); json_uint(w, h->buffer_size);
    json_key(w, "buffers"); json_uint(w, st->buffers);
    json_key(w, "buffers_written"); json_uint(w, h->buffers_written);
    json_key(w, "compressed_buffers"); json_uint(w, st->compressed_buffers);
    json_key(w, "events"); json_uint(w, st->events);
    json_key(w, "events_in_window"); json_uint(w, d->events_in_window);
    json_key(w, "event_bytes"); json_uint(w, st->bytes_events);
    json_key(w, "events_lost"); json_uint(w, h->events_lost);
    json_key(w, "buffers_lost"); json_uint(w, h->buffers_lost);
    json_key(w, "lost_event_records"); json_uint(w, d->tot->lost_event_records);
    json_key(w, "diagnostics"); json_uint(w, st->diagnostics);
    json_key(w, "diagnostics_by_kind");
    json_begin_object(w);
    for (int c = 0; c < ETL_DIAG_COUNT_; c++)
        if (st->diags_by_code[c]) {
            json_key(w, etl_diag_code_name(c));
            json_uint(w, st->diags_by_code[c]);
        }
    json_end_object(w);
    json_key(w, "diagnostics_first");
    json_begin_array(w);
    uint32_t nd;
    const EtlDiag *dg = etl_trace_diags(t, &nd);
    for (uint32_t i = 0; i < nd; i++) {
        json_begin_object(w);
        json_key(w, "kind"); json_string(w, etl_diag_code_name(dg[i].code));
        json_key(w, "offset"); json_uint(w, dg[i].file_offset);
        json_key(w, "buffer");
        if (dg[i].buffer_index != UINT32_MAX) json_uint(w, dg[i].buffer_index); else json_null(w);
        json_key(w, "cpu");
        if (dg[i].cpu >= 0) json_int(w, dg[i].cpu); else json_null(w);
        json_key(w, "detail"); json_string(w, dg[i].detail);
        json_end_object(w);
    }
    json_end_array(w);
    json_key(w, "skipped_buffers"); json_uint(w, st->buffers_skipped);
    json_key(w, "skipped_events"); json_uint(w, st->events_skipped);
    json_key(w, "skipped_bytes"); json_uint(w, st->bytes_skipped);
    json_key(w, "time_inversions"); json_uint(w, st->time_inversions);
    json_key(w, "header_events"); json_uint(w, st->header_events);
    json_key(w, "events_by_header");
    json_begin_object(w);
    for (int k = 0; k < 8; k++) {
        json_key(w, etl_header_kind_name(k));
        json_uint(w, st->events_by_header[k]);
    }
    json_end_object(w);
    json_key(w, "kernel_payloads");
    json_begin_object(w);
    json_key(w, "events"); json_uint(w, d->tot->kernel_events);
    json_key(w, "decoded"); json_uint(w, d->tot->kernel_decoded);
    json_key(w, "undecoded"); json_uint(w, d->tot->kernel_undecoded);
    json_key(w, "malformed"); json_uint(w, d->tot->kernel_malformed);
    json_end_object(w);
    json_key(w, "stacks");
    json_begin_object(w);
    json_key(w, "records"); json_uint(w, d->tot->stack_events);
    json_key(w, "matched"); json_uint(w, d->tot->stacks_matched);
    json_key(w, "unmatched"); json_uint(w, d->tot->stacks_unmatched);
    json_key(w, "key_references"); json_uint(w, d->tot->stack_key_refs);
    json_key(w, "key_definitions"); json_uint(w, d->tot->stack_key_defs);
    json_end_object(w);
    json_key(w, "rundown");
    json_begin_object(w);
    json_key(w, "process"); json_uint(w, d->tot->process_rundown);
    json_key(w, "thread"); json_uint(w, d->tot->thread_rundown);
    json_key(w, "image"); json_uint(w, d->tot->image_rundown);
    json_end_object(w);
    json_key(w, "symbols");
    json_begin_object(w);
    json_key(w, "image_events"); json_uint(w, d->tot->image_events);
    json_key(w, "image_id"); json_uint(w, d->tot->image_id);
    json_key(w, "dbgid_rsds"); json_uint(w, d->tot->image_dbgid);
    json_key(w, "merged"); json_bool(w, d->tot->image_id + d->tot->image_dbgid > 0);
    json_end_object(w);
    if (d->findings) {
        json_key(w, "profile");
        json_begin_object(w);
        json_key(w, "spec"); json_string(w, d->profile_spec);
        json_key(w, "findings");
        json_begin_array(w);
        for (guint i = 0; i < d->findings->len; i++) {
            const ProfileFinding *f = g_ptr_array_index(d->findings, i);
            json_begin_object(w);
            json_key(w, "level"); json_string(w, profile_finding_level_name(f->level));
            json_key(w, "kind"); json_string(w, f->kind);
            json_key(w, "subject"); json_string(w, f->subject);
            json_key(w, "message"); json_string(w, f->message);
            json_end_object(w);
        }
        json_end_array(w);
        json_end_object(w);
    }
    json_key(w, "counts");
    write_counts_json(d, w);
    json_end_object(w);
    json_newline(w);
    json_writer_free(w);
}

static void render_csv(const InfoData *d, GString *out)
{
    Table *tb = table_new();
    const char *cols[] = { "provider_guid", "provider_name", "class", "opcode", "event_id", "event_name",
                           "count", "with_stack", "undecoded", "malformed", "bytes" };
    for (size_t i = 0; i < G_N_ELEMENTS(cols); i++) table_add_column(tb, cols[i], cols[i], TABLE_LEFT);
    for (guint i = 0; i < d->n_rows; i++) {
        const SummaryRow *r = &d->rows[i];
        if (!r->count) continue;
        char g[ETL_GUID_STRLEN], num[32];
        etl_guid_format(&r->provider, g);
        table_begin_row(tb);
        table_cell_str(tb, g);
        table_cell_str(tb, r->provider_name);
        table_cell_str(tb, summary_class_name(r->cls));
        g_snprintf(num, sizeof num, "%u", r->opcode);
        table_cell(tb, num, num, 'n');
        if (r->cls == SUMMARY_EVENT || r->cls == SUMMARY_MESSAGE) {
            g_snprintf(num, sizeof num, "%u", r->event_id);
            table_cell(tb, num, num, 'n');
        } else {
            table_cell(tb, "", "", 'z');
        }
        table_cell_str(tb, r->event_name);
        table_cell_uint(tb, r->count);
        table_cell_uint(tb, r->with_stack);
        table_cell_uint(tb, r->undecoded);
        table_cell_uint(tb, r->malformed);
        table_cell_uint(tb, r->bytes);
    }
    table_render_csv(tb, out);
    table_free(tb);
}

int cmd_info(int argc, char **argv)
{
    CliCommon c;
    cli_common_init(&c);
    GOptionContext *ctx = cli_context_new("info", "TRACE",
                                          "Show what a trace holds and whether it is healthy: header facts, lost\n"
                                          "events and buffers, problems found while reading, time inversions,\n"
                                          "compressed buffers, and event counts per provider and event type with\n"
                                          "stack coverage.  Run it first on any trace.",
                                          info_examples);
    char *profile_spec = NULL;
    CliProfile prof = { 0 };
    GOptionEntry own[] = { CLI_PROFILE_ENTRY(&profile_spec), { NULL } };
    g_option_context_add_main_entries(ctx, own, NULL);
    g_option_context_add_main_entries(ctx, cli_common_entries(&c, true), NULL);
    int rc = EXIT_USAGE;
    if (!cli_parse(ctx, "info", &argc, &argv) || !cli_common_validate("info", &c)) goto out;
    if (argc != 2) {
        cli_usage_error("info", argc < 2 ? "missing TRACE" : "expected one TRACE, got %d arguments", argc - 1);
        goto out;
    }
    const char *path = argv[1];
    if (!cli_profile_load(&prof, profile_spec, c.quiet)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    CliDiagPrinter dp = { .quiet = c.quiet };
    EtlTrace *t = cli_open_trace(path, &dp);
    if (!t) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    const EtlLogfileHeader *h = etl_trace_header(t);
    int64_t from = isnan(c.from_s) ? INT64_MIN : etl_time_from_rel_s(h, c.from_s);
    int64_t to = isnan(c.to_s) ? INT64_MAX : etl_time_from_rel_s(h, c.to_s);

    /* Open the output before the long read, so a bad -o fails at once. */
    CliOutput o;
    if (!cli_output_open(&o, c.output, path)) {
        etl_trace_free(t);
        rc = EXIT_RUNTIME;
        goto out;
    }
    Summary *sum = summary_new(t);
    /* Per-type counts, stack matching and time inversions are per-CPU properties: no merge. */
    EtlReader *r = etl_reader_new(t, ETL_ORDER_CPU);
    CliProgress pr;
    cli_progress_init(&pr, "reading", !c.quiet && !c.no_progress);
    const EtlEvent *ev;
    uint64_t n = 0, in_window = 0;
    const EtlStats *st = etl_trace_stats(t);
    uint64_t total = etl_source_size(etl_trace_source(t));
    while ((ev = etl_reader_next(r))) {
        if (G_UNLIKELY((++n & 0xFFFF) == 0) && pr.enabled) {
            uint64_t done, all;
            etl_reader_progress(r, &done, &all);
            cli_progress_update(&pr, done, all);
        }
        if (ev->timestamp < from || ev->timestamp > to) continue;
        in_window++;
        summary_add(sum, ev);
    }
    cli_progress_done(&pr);
    etl_reader_free(r);

    InfoData d = { .h = h, .st = st, .tot = summary_totals(sum), .path = path, .file_size = total,
                   .events_in_window = in_window };
    d.rows = summary_rows(sum, &d.n_rows);
    if (cli_profile_active(&prof)) {
        d.findings = compare_profile(&prof, &d);
        d.profile_spec = prof.spec;
    }

    {
        if (c.format == RENDER_JSON) {
            render_json(&d, t, o.fp);
        } else {
            GString *s = g_string_new(NULL);
            if (c.format == RENDER_CSV) render_csv(&d, s);
            else render_text(&d, t, s);
            fwrite(s->str, 1, s->len, o.fp);
            g_string_free(s, TRUE);
        }
        rc = cli_output_commit(&o) ? EXIT_OK : EXIT_RUNTIME;
    }
    cli_diag_summary(&dp);
    if (d.findings) g_ptr_array_unref(d.findings);
    summary_free(sum);
    etl_trace_free(t);
out:
    cli_profile_clear(&prof);
    g_free(profile_spec);
    g_option_context_free(ctx);
    cli_common_clear(&c);
    return rc;
}
