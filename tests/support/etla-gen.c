/* etla-gen — write a synthetic ETW kernel trace with known ground truth.
 *
 * Exit status: 0 ok, 1 I/O error, 2 usage error.
 */
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static bool parse_size(const char *s, uint64_t unit, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    if (errno || end == s) return false;
    switch (*end) {
    case 'k': case 'K': unit = 1024; end++; break;
    case 'm': case 'M': unit = 1024 * 1024; end++; break;
    case 'g': case 'G': unit = 1024ull * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B') end++;
    if (*end == 'B') end++;
    if (*end) return false;
    *out = v * unit;
    return true;
}

int main(int argc, char **argv)
{
    gint64 seed = 1;
    gint ptr = 8, cpus = 4, duration_ms = 0;
    char *circular = NULL, *size = NULL, *buffer = NULL, *out = NULL, *truth_file = NULL;
    gboolean compress = FALSE, no_proc_index = FALSE, header_quirk = FALSE, stack_keys = FALSE;
    gboolean ext_stacks = FALSE, wpp = FALSE, all_headers = FALSE, pool_system = FALSE;
    gboolean profile = FALSE, stale = FALSE, truth = FALSE, everything = FALSE;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the trace to FILE (required)", "FILE" },
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
        { "compress", 0, 0, G_OPTION_ARG_NONE, &compress, "XPRESS-compress the data buffers", NULL },
        { "circular", 0, 0, G_OPTION_ARG_STRING, &circular, "Circular file of at most SIZE (MB, or with K/M suffix)", "SIZE" },
        { "ptr", 0, 0, G_OPTION_ARG_INT, &ptr, "Producer pointer size: 4 or 8 (default 8)", "4|8" },
        { "cpus", 0, 0, G_OPTION_ARG_INT, &cpus, "Number of CPUs (default 4)", "N" },
        { "buffer-size", 0, 0, G_OPTION_ARG_STRING, &buffer, "Buffer size, 8K..1M (default 64K)", "SIZE" },
        { "duration-ms", 0, 0, G_OPTION_ARG_INT, &duration_ms, "Trace length (default 20000 pool-leak, 10000 dpc-storm)", "MS" },
        { "size", 0, 0, G_OPTION_ARG_STRING, &size, "large: approximate file size (default 512M)", "SIZE" },
        { "no-proc-index", 0, 0, G_OPTION_ARG_NONE, &no_proc_index, "8-bit ProcessorNumber in buffer contexts (Windows 7)", NULL },
        { "header-quirk", 0, 0, G_OPTION_ARG_NONE, &header_quirk, "Header buffer with SavedOffset 0 (Windows 7)", NULL },
        { "stack-keys", 0, 0, G_OPTION_ARG_NONE, &stack_keys, "Win8+ stack caching (StackKeyKernel + key definitions)", NULL },
        { "ext-stacks", 0, 0, G_OPTION_ARG_NONE, &ext_stacks, "Add TraceLogging events with stack ext items", NULL },
        { "wpp", 0, 0, G_OPTION_ARG_NONE, &wpp, "Add WPP messages (every option-flag combination)", NULL },
        { "all-headers", 0, 0, G_OPTION_ARG_NONE, &all_headers, "Add COMPACT, FULL, INSTANCE, EVENT_HEADER events and PMC/PEBS", NULL },
        { "pool-system-header", 0, 0, G_OPTION_ARG_NONE, &pool_system, "Pool events with SYSTEM headers (TID/PID) instead of PERFINFO", NULL },
        { "profile", 0, 0, G_OPTION_ARG_NONE, &profile, "SampledProfile at 1 kHz per CPU", NULL },
        { "stale-fill", 0, 0, G_OPTION_ARG_NONE, &stale, "Stale bytes in alignment gaps (as live loggers)", NULL },
        { "everything", 0, 0, G_OPTION_ARG_NONE, &everything, "--stack-keys --ext-stacks --wpp --all-headers --profile", NULL },
        { "truth", 0, 0, G_OPTION_ARG_NONE, &truth, "Print the ground truth as JSON on stdout", NULL },
        { "truth-file", 0, 0, G_OPTION_ARG_FILENAME, &truth_file, "Write the ground truth JSON to FILE", "FILE" },
        { NULL }
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO - write a synthetic ETW kernel trace");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx,
        "Scenarios:\n"
        "  pool-leak   4 CPUs, 20 s: rundown, CSwitch, balanced pool traffic, leakydrv.sys leaking\n"
        "              tag 'Leak' (NonPagedPoolNx) through one stack and 'LkPg' (PagedPool)\n"
        "  dpc-storm   4 CPUs, 10 s: DPC/TimerDPC/ThreadedDPC/ISR/ISR-MSI from several drivers,\n"
        "              stormdrv.sys's DPC running 300-3000 us on CPU 2\n"
        "  large       everything at high rates until --size is reached (benchmarks)");
    g_option_context_set_description(ctx,
        "Examples:\n"
        "  etla-gen pool-leak -o traces/pool-leak.etl\n"
        "  etla-gen dpc-storm --seed 7 --compress --truth -o /tmp/storm.etl > truth.json\n"
        "  etla-gen pool-leak --circular 512K --ptr 4 --stack-keys -o /tmp/wrap.etl\n"
        "  etla-gen large --size 512M -o /tmp/big.etl\n");
    GError *err = NULL;
    int rc = 0;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("etla-gen: %s\n", err->message);
        g_error_free(err);
        g_option_context_free(ctx);
        return 2;
    }
    ScenKind kind;
    if (argc != 2 || !scen_kind_parse(argv[1], &kind)) {
        g_printerr("etla-gen: %s (pool-leak, dpc-storm or large)\n",
                   argc < 2 ? "missing SCENARIO" : argc > 2 ? "too many arguments" : "unknown scenario");
        rc = 2;
        goto out;
    }
    if (!out) {
        g_printerr("etla-gen: -o FILE is required\n");
        rc = 2;
        goto out;
    }
    ScenOptions o;
    scen_options_init(&o, kind);
    o.seed = (uint64_t)seed;
    o.ptr_size = (uint8_t)ptr;
    o.cpus = (uint32_t)cpus;
    o.duration_ms = (uint32_t)duration_ms;
    o.compress = compress;
    o.no_proc_index = no_proc_index;
    o.header_quirk = header_quirk;
    o.stack_keys = stack_keys || everything;
    o.ext_stacks = ext_stacks || everything;
    o.wpp = wpp || everything;
    o.all_headers = all_headers || everything;
    o.sampled_profile = profile || everything;
    o.pool_system_header = pool_system;
    o.stale_fill = stale;
    uint64_t v;
    if ((ptr != 4 && ptr != 8) || cpus < 1 || cpus > 64 || duration_ms < 0) {
        g_printerr("etla-gen: --ptr must be 4 or 8, --cpus 1..64\n");
        rc = 2;
        goto out;
    }
    if (circular) {
        if (!parse_size(circular, 1024 * 1024, &v) || v == 0) {
            g_printerr("etla-gen: bad --circular size '%s'\n", circular);
            rc = 2;
            goto out;
        }
        o.circular_bytes = v;
    }
    if (size) {
        if (!parse_size(size, 1, &v) || v == 0) {
            g_printerr("etla-gen: bad --size '%s'\n", size);
            rc = 2;
            goto out;
        }
        o.target_bytes = v;
    }
    if (buffer) {
        if (!parse_size(buffer, 1, &v) || v < 8192 || v > 1024 * 1024) {
            g_printerr("etla-gen: bad --buffer-size '%s' (8K..1M)\n", buffer);
            rc = 2;
            goto out;
        }
        o.buffer_size = (uint32_t)v;
    }
    ScenTruth t;
    if (!scen_generate_file(&o, out, &t, &err)) {
        g_printerr("etla-gen: %s\n", err->message);
        rc = err->code == ETL_ERROR_INVALID ? 2 : 1;
        g_error_free(err);
        scen_truth_clear(&t);
        goto out;
    }
    if (truth || truth_file) {
        char *json = scen_truth_json(&t);
        if (truth) fputs(json, stdout);
        if (truth_file && !g_file_set_contents(truth_file, json, -1, &err)) {
            g_printerr("etla-gen: %s\n", err->message);
            g_error_free(err);
            rc = 1;
        }
        g_free(json);
    }
    scen_truth_clear(&t);
out:
    g_option_context_free(ctx);
    g_free(out);
    g_free(circular);
    g_free(size);
    g_free(buffer);
    g_free(truth_file);
    return rc;
}
