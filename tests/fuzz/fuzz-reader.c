/* fuzz-reader.c — libFuzzer harness over the in-memory reader: open, index, merge, decode
 * every kernel payload, emit every field, and run the trace summary, on arbitrary bytes.
 * Built with -fsanitize=fuzzer when -Dfuzzing=true (clang); otherwise linked with
 * replay-main.c and run over the committed corpus as an ordinary test.
 *
 * Besides the events, it touches what `etla info` and `etla dump` compute from a trace: the
 * buffer index, every diagnostic (formatted as it happens, with only a few kept), the time
 * conversions of every timestamp (relative seconds, FILETIME, ISO 8601), reader progress and
 * the TraceLogging names and stack items of EVENT_HEADER events.  In time order it also runs
 * the system model (with its stack-key pre-scan) and resolves and formats every stack, and the
 * analyses fed by it — pool (with a series), DPC/ISR, the chart timelines — to their views:
 * wild header times and timestamps must not overflow anything there (UBSan in the sanitizer
 * build). */
#include "analyses.h"
#include "dpcisr.h"
#include "etl.h"
#include "fuzz-fields.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    EtlTrace *t;     /* set after open: diagnostics reported during open have no trace yet */
    uint64_t  seen;
} DiagCtx;

static void on_diag(const EtlDiag *d, void *user)
{
    DiagCtx *c = user;
    c->seen++;
    char *s = etl_diag_format(d);
    /* The project standard: every diagnostic names its file offset. */
    if (!strstr(s, "offset=0x")) {
        fprintf(stderr, "fuzz-reader: diagnostic without an offset: %s\n", s);
        abort();
    }
    if ((unsigned)d->code >= ETL_DIAG_COUNT_ || !memchr(d->detail, 0, sizeof d->detail)) abort();
    (void)etl_diag_code_name(d->code);
    g_free(s);
}

static void times(const EtlLogfileHeader *h, int64_t ts, size_t *acc)
{
    char iso[40];
    double s = etl_time_rel_s(h, ts);
    etl_filetime_format_iso8601(etl_time_filetime(h, ts), iso);
    *acc += strlen(iso) + (s > 0);
    if (isfinite(s)) (void)etl_time_from_rel_s(h, s);
    (void)etl_ticks_to_ns(h, ts);
}

/* What a read delivered, independent of order: time order and file order must deliver the
 * same events (the merge neither drops nor repeats one). */
typedef struct {
    uint64_t n, sum, x;
} Delivered;

#define HELD 64 /* stack handles held back, as etla dump --stacks does */

static void stack_out(Model *m, ModelStackRef ref, const ModelProcess *p, int64_t ts, GString *s)
{
    ModelStackId id = model_stack_canonical(m, model_stack_get(m, ref));
    uint32_t n = 0, nk = 0;
    const uint64_t *f = model_stack_frames(m, id, &n, &nk);
    if (nk > n || (n && !f)) {
        fprintf(stderr, "fuzz-reader: stack of %u frames, %u kernel, frames %p\n", n, nk, (const void *)f);
        abort();
    }
    for (uint32_t i = 0; i < n; i++) model_format_frame(m, p, f[i], ts, s);
    bool user;
    (void)model_stack_pending_key(m, id, &user);
    (void)model_stack_state(m, id);
    uint32_t spid, stid;
    model_stack_ref_thread(m, ref, &spid, &stid);
    model_format_process(model_process_at(m, spid, ts), spid, s);
    model_stack_unref(m, ref);
    g_string_truncate(s, 0);
}

static void run(const uint8_t *data, size_t size, EtlOrder order, uint32_t keep, Delivered *out)
{
    /* The source borrows data; the trace owns the source. */
    DiagCtx dc = { 0 };
    EtlOpenOptions opts = { .diag_fn = on_diag, .diag_user_data = &dc, .max_kept_diags = keep };
    GError *err = NULL;
    EtlSource *src = etl_source_new_memory(data, size, "fuzz");
    EtlTrace *t = etl_trace_open(src, &opts, &err);
    if (!t) {
        /* A trace that cannot be opened must say why, in one message. */
        if (!err || !err->message[0] || strchr(err->message, '\n')) abort();
        g_error_free(err);
        return;
    }
    dc.t = t;
    size_t acc = 0;
    const EtlLogfileHeader *h = etl_trace_header(t);
    char iso[40];
    etl_filetime_format_iso8601(h->start_time, iso);
    etl_filetime_format_iso8601(h->end_time, iso);
    etl_filetime_format_iso8601(h->boot_time, iso);
    acc += strlen(h->logger_name) + strlen(h->log_file_name) + strlen(h->tz_standard_name);
    (void)etl_clock_type_name(h->clock_type);
    uint32_t nb = etl_trace_buffer_count(t);
    for (uint32_t i = 0; i < nb; i++) {
        const EtlBufferInfo *bi = etl_trace_buffer(t, i);
        if (!bi || bi->index != i) abort();
        if (bi->usable && bi->hdr.cpu >= etl_trace_cpu_slots(t)) abort();
    }
    if (etl_trace_buffer(t, nb)) abort();

    Summary *sum = summary_new(t);
    Model *model = order == ETL_ORDER_TIME ? model_new(t, MODEL_PRESCAN_STACK_KEYS) : NULL;
    Pool *pool = NULL;
    DpcIsr *dpc = NULL;
    Timeline *tl_dpc = NULL, *tl_cpu = NULL;
    if (model) {
        PoolOptions po;
        pool_options_init(&po);
        po.series_interval = MAX(h->ticks_per_second / 10, 1);
        pool = pool_new(model, t, &po);
        DpcIsrOptions dopt;
        dpcisr_options_init(&dopt);
        dpc = dpcisr_new(model, t, &dopt);
        tl_dpc = timeline_new(TIMELINE_DPCISR, model, t, 64);
        tl_cpu = timeline_new(TIMELINE_CPU, model, t, 64);
    }
    struct { ModelStackRef ref; const ModelProcess *p; int64_t ts; } held[HELD] = { { 0 } };
    uint32_t nheld = 0;
    GString *fs = g_string_new(NULL);
    EtlReader *r = etl_reader_new(t, order);
    const EtlEvent *ev;
    size_t fields = 0;
    uint64_t n = 0, decreases = 0, stream_decreases = 0;
    int64_t prev = INT64_MIN;
    GHashTable *last = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free); /* cpu -> ts */
    while ((ev = etl_reader_next(r)) && n++ < 2000000) {
        summary_add(sum, ev);
        EtlKernelEvent k;
        bool dec = etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        if (dec) etl_kernel_emit_fields(ev, &k, fuzz_touch_field, &fields);
        if (model) {
            ModelCtx mc;
            bool stackable = model_event(model, ev, dec ? &k : NULL, &mc);
            if (ev->group == ETL_GROUP_POOL) pool_add(pool, ev, dec ? &k : NULL, &mc);
            dpcisr_add(dpc, ev, dec ? &k : NULL, &mc);
            if (dec && (k.kind == ETL_K_DPC || k.kind == ETL_K_ISR)) timeline_add(tl_dpc, ev, &k, &mc);
            if (dec && k.kind == ETL_K_CSWITCH) timeline_add(tl_cpu, ev, &k, &mc);
            if (mc.thread && mc.thread->tid != mc.tid) {
                fprintf(stderr, "fuzz-reader: owner thread %u is not the thread object's %u\n", mc.tid, mc.thread->tid);
                abort();
            }
            model_format_process(mc.process, mc.pid, fs);
            g_string_truncate(fs, 0);
            if (stackable) {
                uint32_t slot = nheld++ % HELD;
                if (held[slot].ref) stack_out(model, held[slot].ref, held[slot].p, held[slot].ts, fs);
                held[slot].ref = model_stack_ref(model);
                held[slot].p = mc.process;
                held[slot].ts = ev->timestamp;
                (void)model_stack_settled(model, held[slot].ref);
            }
        }
        EtlAStr a = etl_event_tl_provider_name(ev), b = etl_event_tl_event_name(ev);
        fields += a.len + b.len;
        if (ev->n_ext) {
            const EtlExtItem *it = etl_event_ext(ev, ETL_EXT_STACK_TRACE64);
            if (it) fields += it->size;
        }
        (void)etl_provider_name(&ev->provider);
        (void)etl_opcode_name(&ev->provider, ev->opcode);
        times(h, ev->timestamp, &acc);
        uint64_t id = (uint64_t)ev->buffer_index << 32 | ev->buffer_pos;
        uint64_t mix = (id + 0x9e3779b97f4a7c15u) * 0xbf58476d1ce4e5b9u;
        if (ev->timestamp < prev) decreases++;
        prev = ev->timestamp;
        int64_t *l = g_hash_table_lookup(last, GUINT_TO_POINTER(ev->cpu));
        if (!l) g_hash_table_insert(last, GUINT_TO_POINTER(ev->cpu), l = g_new(int64_t, 1));
        else if (ev->timestamp < *l) stream_decreases++;
        *l = ev->timestamp;
        out->n++;
        out->sum += mix ^ ev->size;
        /* (a message without a timestamp takes its stream's previous one: order-dependent) */
        out->x ^= mix * 31 + (ev->has_timestamp ? (uint64_t)ev->timestamp : 0);
        if ((n & 255) == 0) {
            uint64_t done, total;
            etl_reader_progress(r, &done, &total);
            if (total != size) abort();
        }
    }
    etl_reader_free(r);
    if (model) {
        model_finish(model);
        for (uint32_t i = 0; i < HELD; i++)
            if (held[i].ref) stack_out(model, held[i].ref, held[i].p, held[i].ts, fs);
        guint ni, np;
        const ModelImage *const *ims = model_images(model, &ni);
        for (guint i = 0; i < ni; i++) {
            if (ims[i]->load_ts > ims[i]->unload_ts) {
                fprintf(stderr, "fuzz-reader: image %s ends before it begins\n", ims[i]->name);
                abort();
            }
            fields += strlen(ims[i]->name);
        }
        const ModelProcess *const *ps = model_processes(model, &np);
        for (guint i = 0; i < np; i++) model_format_process(ps[i], ps[i]->pid, fs);
        (void)model_health(model);
        pool_finish(pool);
        PoolViewSpec v = { .keys = { POOL_BY_CLASS, POOL_BY_TAG, POOL_BY_STACK, POOL_BY_MODULE }, .n_keys = 4 };
        GArray *rows = pool_view(pool, &v);
        fields += rows->len;
        g_array_free(rows, TRUE);
        guint nt, nsamp;
        const int64_t *times;
        (void)pool_series(pool, &nt, &times, &nsamp);
        dpcisr_finish(dpc);
        GArray *dr = dpcisr_group(dpc, DPCISR_BY_KIND | DPCISR_BY_MODULE | DPCISR_BY_CPU);
        fields += dr->len;
        g_array_unref(dr);
        guint nl, nsp;
        (void)dpcisr_longest(dpc, &nl);
        (void)dpcisr_watchdog_spans(dpc, &nsp);
        timeline_finish(tl_dpc);
        timeline_finish(tl_cpu);
        guint nk;
        (void)timeline_keys(tl_cpu, &nk);
        for (guint c = 0; c < timeline_columns(tl_cpu); c++) fields += timeline_busy(tl_cpu, 0, c) != 0;
        timeline_free(tl_cpu);
        timeline_free(tl_dpc);
        dpcisr_free(dpc);
        pool_free(pool);
        model_free(model);
    }
    g_string_free(fs, TRUE);
    guint nrows;
    const SummaryRow *rows = summary_rows(sum, &nrows);
    for (guint i = 0; i < nrows; i++) acc += rows[i].count + (rows[i].provider_name ? 1 : 0);
    (void)summary_totals(sum);
    const EtlStats *st = etl_trace_stats(t);
    /* Every per-CPU stream in order (as delivered, untimed events included): then the merge
     * must be in order too. */
    g_hash_table_destroy(last);
    if (order == ETL_ORDER_TIME && stream_decreases == 0 && decreases) {
        fprintf(stderr, "fuzz-reader: time order went back %" G_GUINT64_FORMAT " times with every CPU stream in order\n",
                decreases);
        abort();
    }
    if (st->first_ts != INT64_MAX) times(h, st->first_ts, &acc);
    if (st->last_ts != INT64_MIN) times(h, st->last_ts, &acc);
    uint32_t nd;
    const EtlDiag *d = etl_trace_diags(t, &nd);
    if (nd > (keep ? keep : 64) || st->diagnostics < nd || dc.seen != st->diagnostics) abort();
    for (uint32_t i = 0; i < nd; i++) g_free(etl_diag_format(&d[i]));
    summary_free(sum);
    etl_trace_free(t);
    (void)fields;
    (void)acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Delivered a = { 0 }, b = { 0 };
    run(data, size, ETL_ORDER_TIME, 0, &a);
    run(data, size, ETL_ORDER_FILE, 1, &b);
    if (a.n != b.n || a.sum != b.sum || a.x != b.x) {
        fprintf(stderr, "fuzz-reader: time order delivered %" G_GUINT64_FORMAT " events, file order %" G_GUINT64_FORMAT
                        " (or different ones)\n", a.n, b.n);
        abort();
    }
    return 0;
}
