/* test-dpcisr-real.c — the DPC/ISR analysis on the public Windows 7 trace in ../shared
 * (win7-x64-latency-ppt: 8 CPUs, QPC at 2,143,632 Hz, 138,599 ISRs + 1,118 MSI-ISRs, 13,487
 * DPCs + 1,772 TimerDPCs + 8 ThreadedDPCs).  Skipped when ETLA_SHARED_DIR is not a directory.
 *
 * Expected values were computed outside etla's analysis code, by a throwaway Python script over
 * `etla dump --format csv --raw -q win7-x64-latency-ppt.etl` (2026, this commit's etla):
 *   - InitialTime and Routine read from the raw payload bytes (u64 LE at 0 and 8), the end from
 *     the CSV's raw `timestamp`, the CPU from the `cpu` column;
 *   - kernel modules from the Image DCStart/DCEnd/Load/UnLoad rows with ProcessId 0, kept as
 *     [start, end) lifetimes, looked up by (Routine, timestamp) with a linear scan;
 *   - nesting by the textbook sweep of ANALYSES.md §3.2 (per CPU, sort by start ascending and
 *     end descending, stack; exclusive = inclusive − direct children), not etla's streaming
 *     adoption;
 *   - "over threshold" compared exactly in integers: ticks × 10^6 > threshold_µs × 2,143,632.
 * All figures are in raw QPC ticks (1 tick = 0.4665 µs), so they compare exactly.  The script
 * found no negative durations and no partial overlaps.
 * Hand-checked events (etla dump lines): the longest DPC of the trace is ndis.sys's routine
 * 0xfffff88001463a00 on CPU 0 from 14.354581383 s to 14.355072605 s (491.222 µs, 1,053 ticks),
 * interrupted by one clock ISR (hal.dll 0xfffff800030075d0, vector 253, 14.354827227 s to
 * 14.354916328 s, 89.101 µs = 191 ticks): exclusive 862 ticks.  The longest ISR is dxgkrnl.sys's
 * MSI ISR 0xfffff880042f75f0 (vector 163) on CPU 0 from 1.074322458 s, 134.351 µs (288 ticks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyses.h"
#include "dpcisr.h"

#include <stdio.h>
#include <string.h>

static const char *shared;

typedef struct {
    DpcIsrKind  kind;
    const char *module;
    uint64_t    count;
    int64_t     total, exclusive, max;   /* ticks */
    uint32_t    max_cpu;
    int64_t     max_start;               /* raw InitialTime of the longest */
    uint64_t    over;                    /* DPC > 100 µs, ISR > 25 µs */
} Want;

/* every (kind, module) row of the trace, by total inclusive time */
static const Want WANT[] = {
    { DPCISR_KIND_ISR, "hal.dll", 137463, 5492886, 5492557, 209, 2, 1321742339999, 52060 },
    { DPCISR_KIND_DPC, "ndis.sys", 749, 97977, 92912, 1053, 0, 1321771676152, 191 },
    { DPCISR_KIND_DPC, "ntoskrnl.exe", 11923, 38152, 36360, 226, 0, 1321759493918, 1 },
    { DPCISR_KIND_ISR, "dxgkrnl.sys", 539, 34510, 33111, 288, 0, 1321743208164, 324 },
    { DPCISR_KIND_DPC, "ACPI.sys", 219, 29306, 28390, 573, 0, 1321743525038, 59 },
    { DPCISR_KIND_ISR, "ataport.SYS", 869, 25582, 24688, 187, 0, 1321746653129, 88 },
    { DPCISR_KIND_DPC, "dxgkrnl.sys", 533, 15130, 14121, 281, 0, 1321769843748, 1 },
    { DPCISR_KIND_DPC, "ataport.SYS", 1063, 15078, 14196, 223, 0, 1321742558087, 1 },
    { DPCISR_KIND_DPC, "tcpip.sys", 131, 5289, 5274, 330, 0, 1321763974829, 1 },
    { DPCISR_KIND_ISR, "ACPI.sys", 111, 3919, 3919, 89, 0, 1321760050826, 9 },
    { DPCISR_KIND_ISR, "ndis.sys", 579, 3192, 3192, 17, 0, 1321745214405, 0 },
    { DPCISR_KIND_ISR, "HDAudBus.sys", 102, 2009, 2009, 44, 0, 1321760129299, 0 },
    { DPCISR_KIND_ISR, "i8042prt.sys", 54, 1714, 1622, 136, 0, 1321765166189, 1 },
    { DPCISR_KIND_DPC, "i8042prt.sys", 54, 1554, 1554, 59, 0, 1321765166335, 0 },
    { DPCISR_KIND_DPC, "HDAudBus.sys", 102, 1446, 1378, 99, 0, 1321770864198, 0 },
    { DPCISR_KIND_DPC, "Wdf01000.sys", 17, 1018, 972, 100, 0, 1321751033655, 0 },
    { DPCISR_KIND_DPC, "nvlddmkm.sys", 188, 944, 944, 21, 0, 1321758323592, 0 },
    { DPCISR_KIND_DPC, "NETIO.SYS", 80, 829, 631, 102, 0, 1321764743913, 0 },
    { DPCISR_KIND_DPC, "srv.sys", 26, 775, 134, 146, 5, 1321746653129, 0 },
    { DPCISR_KIND_DPC, "afd.sys", 40, 596, 551, 50, 0, 1321763774200, 0 },
    { DPCISR_KIND_DPC, "netbt.sys", 6, 504, 375, 250, 0, 1321745315454, 1 },
    { DPCISR_KIND_DPC, "vpchbus.sys", 34, 370, 286, 109, 0, 1321744646621, 0 },
    { DPCISR_KIND_DPC, "igdkmd64.sys", 30, 356, 356, 22, 0, 1321772769389, 0 },
    { DPCISR_KIND_DPC, "tunnel.sys", 34, 277, 277, 15, 0, 1321762837878, 0 },
    { DPCISR_KIND_DPC, "usbccgp.sys", 5, 98, 98, 26, 0, 1321742439743, 0 },
    { DPCISR_KIND_DPC, "HECIx64.sys", 17, 49, 49, 5, 0, 1321775043320, 0 },
    { DPCISR_KIND_DPC, "HTTP.sys", 4, 39, 39, 14, 0, 1321771364986, 0 },
    { DPCISR_KIND_DPC, "rdbss.sys", 3, 17, 17, 6, 0, 1321757454254, 0 },
    { DPCISR_KIND_DPC, "Ntfs.sys", 3, 17, 17, 8, 0, 1321745883884, 0 },
    { DPCISR_KIND_DPC, "luafv.sys", 3, 13, 13, 6, 0, 1321744613405, 0 },
    { DPCISR_KIND_DPC, "srvnet.sys", 1, 5, 5, 5, 0, 1321764509856, 0 },
    { DPCISR_KIND_DPC, "cng.sys", 1, 2, 2, 2, 0, 1321761767728, 0 },
    { DPCISR_KIND_DPC, "fltmgr.sys", 1, 0, 0, 0, 0, 1321765947593, 0 },
};

static void test_ppt_dpcisr(void **state)
{
    (void)state;
    char *path = g_strdup_printf("%s/traces/win7-x64-latency-ppt.etl", shared);
    GError *err = NULL;
    EtlTrace *t = etl_trace_open_file(path, NULL, &err);
    if (!t) fail_msg("%s: %s", path, err->message);
    Model *m = model_new(t, 0);
    DpcIsr *d = dpcisr_new(m, t, NULL);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    const EtlEvent *ev;
    while ((ev = etl_reader_next(r))) {
        EtlKernelEvent k;
        bool dec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        ModelCtx mc;
        model_event(m, ev, dec ? &k : NULL, &mc);
        dpcisr_add(d, ev, dec ? &k : NULL, &mc);
    }
    etl_reader_free(r);
    model_finish(m);
    dpcisr_finish(d);

    const DpcIsrTotals *tot = dpcisr_totals(d);
    assert_int_equal(tot->intervals, 154984);
    assert_int_equal(tot->by_type[DPCISR_DPC], 13487);
    assert_int_equal(tot->by_type[DPCISR_TIMER_DPC], 1772);
    assert_int_equal(tot->by_type[DPCISR_THREADED_DPC], 8);
    assert_int_equal(tot->by_type[DPCISR_ISR], 138599);
    assert_int_equal(tot->by_type[DPCISR_MSI_ISR], 1118);
    assert_int_equal(tot->cpus, 8);
    const DpcIsrAnomalies *a = &tot->anomalies;
    assert_int_equal(a->negative + a->too_long + a->overlaps + a->nesting_lost + a->undecoded + a->unknown_module +
                         a->cpu_beyond_header,
                     0);

    GArray *rows = dpcisr_group(d, DPCISR_BY_KIND | DPCISR_BY_MODULE);
    printf("win7-x64-latency-ppt: DPC/ISR by kind and module (%u rows)\n", rows->len);
    for (guint i = 0; i < rows->len && i < 10; i++) {
        const DpcIsrRow *row = &g_array_index(rows, DpcIsrRow, i);
        printf("  %-3s %-14s %7" G_GUINT64_FORMAT " %12.1f us total %12.1f us excl  max %6.1f us on CPU %u  over %" G_GUINT64_FORMAT "\n",
               dpcisr_kind_name(row->kind), row->module, row->count, row->total_us, row->exclusive_us, row->max_us,
               row->max_cpu, row->over_threshold);
    }
    assert_int_equal(rows->len, G_N_ELEMENTS(WANT));
    for (size_t i = 0; i < G_N_ELEMENTS(WANT); i++) {
        const Want *w = &WANT[i];
        const DpcIsrRow *row = NULL;
        for (guint j = 0; j < rows->len; j++) {
            const DpcIsrRow *q = &g_array_index(rows, DpcIsrRow, j);
            if (q->kind == w->kind && !strcmp(q->module, w->module)) row = q;
        }
        if (!row) fail_msg("no row %s %s", dpcisr_kind_name(w->kind), w->module);
        /* sorted by total inclusive time, descending */
        if (i) assert_true(g_array_index(rows, DpcIsrRow, i).total_ticks <= g_array_index(rows, DpcIsrRow, i - 1).total_ticks);
        assert_int_equal(row->count, w->count);
        assert_int_equal(row->total_ticks, w->total);
        assert_int_equal(row->exclusive_ticks, w->exclusive);
        assert_int_equal(row->max_ticks, w->max);
        assert_int_equal(row->max_cpu, w->max_cpu);
        assert_int_equal(row->max_start_ts, w->max_start);
        assert_int_equal(row->over_threshold, w->over);
    }
    /* µs as printed: hal.dll's clock ISR, 5,492,886 ticks = 2,562,420.228 µs */
    assert_true(g_array_index(rows, DpcIsrRow, 0).total_us > 2562420.227 &&
                g_array_index(rows, DpcIsrRow, 0).total_us < 2562420.229);
    g_array_unref(rows);

    /* the hand-checked events */
    guint n;
    const DpcIsrInterval *lg = dpcisr_longest(d, &n);
    assert_int_equal(n, DPCISR_LONGEST_MAX);
    assert_string_equal(lg[0].module, "ndis.sys");
    assert_int_equal(lg[0].type, DPCISR_DPC);
    assert_int_equal(lg[0].routine, UINT64_C(0xfffff88001463a00));
    assert_int_equal(lg[0].cpu, 0);
    assert_int_equal(lg[0].start_ts, 1321771676152);
    assert_int_equal(lg[0].end_ts, 1321771677205);
    assert_int_equal(lg[0].ticks, 1053);
    assert_int_equal(lg[0].exclusive_ticks, 1053 - 191);
    GArray *rr = dpcisr_group(d, DPCISR_BY_TYPE | DPCISR_BY_ROUTINE);
    bool seen_msi = false;
    for (guint i = 0; i < rr->len; i++) {
        const DpcIsrRow *q = &g_array_index(rr, DpcIsrRow, i);
        if (q->type != DPCISR_MSI_ISR || q->routine != UINT64_C(0xfffff880042f75f0)) continue;
        seen_msi = true;
        assert_string_equal(q->module, "dxgkrnl.sys");
        assert_int_equal(q->max_ticks, 288);
        assert_int_equal(q->max_start_ts, 1321743208164);
        assert_int_equal(q->max_cpu, 0);
    }
    assert_true(seen_msi);
    g_array_unref(rr);

    dpcisr_free(d);
    model_free(m);
    etl_trace_free(t);
    g_free(path);
}

int main(void)
{
    shared = g_getenv("ETLA_SHARED_DIR");
    if (!shared || !g_file_test(shared, G_FILE_TEST_IS_DIR)) {
        printf("SKIP: ETLA_SHARED_DIR (%s) is not a directory: no public traces\n", shared ? shared : "unset");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ppt_dpcisr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
