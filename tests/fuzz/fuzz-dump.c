/* fuzz-dump.c — libFuzzer harness over crash-dump extraction (etl/etl-dump.h): container
 * detection and parsing (full, bitmap, raw; 64- and 32-bit headers), the page-table walk and
 * translations (x64, PAE, x86; large pages), logger discovery (KDBG → EtwpDebuggerData →
 * logger array → GlobalList), carving, grouping, de-duplication and the writing of every
 * logger found, on arbitrary bytes.  Seeds: corpus/dump/ (small generated dumps, see
 * make-dump-seeds.c).
 *
 * Properties checked besides "no crash, no leak, no UB":
 *  - an input that cannot be opened says why in one line;
 *  - every diagnostic names a file offset;
 *  - every .etl written opens, and the reader reads it without a single diagnostic (what is
 *    written was validated event by event with the reader's own parser), with the event count
 *    the extraction reported.
 */
#include "etl-dump.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_diag(const EtlDumpDiag *d, void *user)
{
    uint64_t *n = user;
    (*n)++;
    char *s = etl_dump_diag_format(d);
    if (!strstr(s, "offset=0x") || (unsigned)d->code >= ETL_DUMP_DIAG_COUNT_ || !memchr(d->detail, 0, sizeof d->detail)) {
        fprintf(stderr, "fuzz-dump: bad diagnostic: %s\n", s);
        abort();
    }
    (void)etl_dump_diag_code_name(d->code);
    g_free(s);
}

static void check_etl(const uint8_t *etl, size_t len, const EtlDumpWriteStats *ws)
{
    GError *err = NULL;
    EtlTrace *t = etl_trace_open(etl_source_new_memory(etl, len, "extracted"), NULL, &err);
    if (!t) {
        fprintf(stderr, "fuzz-dump: the extracted trace does not open: %s\n", err->message);
        abort();
    }
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    uint64_t events = 0;
    const EtlEvent *ev;
    while ((ev = etl_reader_next(r)))
        if (ev->buffer_index) events++;
    etl_reader_free(r);
    const EtlStats *st = etl_trace_stats(t);
    if (st->diagnostics || events != ws->events) {
        uint32_t nd;
        const EtlDiag *d = etl_trace_diags(t, &nd);
        char *s = nd ? etl_diag_format(&d[0]) : g_strdup("");
        fprintf(stderr, "fuzz-dump: extracted trace: %" G_GUINT64_FORMAT " diagnostics (%s), %" G_GUINT64_FORMAT
                        " events read, %" G_GUINT64_FORMAT " written\n", st->diagnostics, s, events, ws->events);
        abort();
    }
    etl_trace_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t ndiag = 0;
    EtlDumpOptions o = { .diag_fn = on_diag, .diag_user = &ndiag, .max_diags = 4 };
    GError *err = NULL;
    EtlDump *d = etl_dump_open(etl_source_new_memory(data, size, "fuzz.dmp"), &o, &err);
    if (!d) {
        if (!err || !err->message[0] || strchr(err->message, '\n')) abort();
        g_error_free(err);
        return 0;
    }
    const EtlDumpInfo *in = etl_dump_info(d);
    (void)etl_dump_container_name(d);
    /* a few translations and physical reads before the scan */
    uint8_t buf[64];
    uint64_t pa, ps;
    const uint64_t probes[] = { UINT64_C(0xFFFFF78000000000), 0xFFDF0000u, in->kdbg_va, UINT64_C(0xFFFFA88000000000),
                                0x84000000u };
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++)
        if (etl_dump_virt_to_phys(d, probes[i], &pa, &ps)) (void)etl_dump_read_phys(d, pa, buf, sizeof buf);
    (void)etl_dump_read_virt(d, in->kdbg_va, buf, sizeof buf);
    if (!etl_dump_scan(d, &err)) abort();
    for (uint32_t i = 0; i < etl_dump_logger_count(d) && i < 4; i++) {
        const EtlDumpLogger *L = etl_dump_logger(d, i);
        if (!L->buffers || L->buffer_size < 0x400) abort();
        size_t len = 0;
        EtlDumpWriteStats ws;
        uint8_t *etl = etl_dump_write_logger_memory(d, i, &len, &ws, &err);
        if (!etl) {
            fprintf(stderr, "fuzz-dump: cannot write logger %u: %s\n", L->logger_id, err->message);
            abort();
        }
        if (ws.buffers + ws.skipped != L->buffers) abort();
        check_etl(etl, len, &ws);
        g_free(etl);
    }
    (void)etl_dump_default_logger(d);
    (void)etl_dump_find_logger(d, "2");
    (void)etl_dump_find_logger(d, "Circular Kernel Context Logger");
    uint32_t nd;
    const EtlDumpDiag *dg = etl_dump_diags(d, &nd);
    if (nd > 4 || etl_dump_stats(d)->diagnostics != ndiag) abort();
    for (uint32_t i = 0; i < nd; i++) g_free(etl_dump_diag_format(&dg[i]));
    etl_dump_free(d);
    return 0;
}
