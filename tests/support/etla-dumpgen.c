/* etla-dumpgen — write a synthetic Windows crash dump (or raw image) holding ETW buffers.
 *
 * The buffers come from .etl files (--trace FILE[:ID[:NAME]], repeatable) and/or generated
 * traces (--scenario pool-leak|dpc-storm|large).  See tests/support/dumpgen.h.
 * Exit status: 0 ok, 1 I/O error, 2 usage error.
 */
#include "dumpgen.h"
#include "scenario.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static bool parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    if (errno || end == s) return false;
    uint64_t unit = 1;
    switch (*end) {
    case 'k': case 'K': unit = 1024; end++; break;
    case 'm': case 'M': unit = 1024 * 1024; end++; break;
    case 'g': case 'G': unit = 1024ull * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i') end++;
    if (*end == 'B') end++;
    if (*end) return false;
    *out = v * unit;
    return true;
}

int main(int argc, char **argv)
{
    char *container = NULL, *arch = NULL, *ram = NULL, *fill = NULL, *out = NULL, *truncate_to = NULL;
    char *scenario = NULL, *scen_size = NULL, *pages = NULL;
    char **traces = NULL;
    gint64 seed = 1;
    gint cpus = 0, active = 0, free_bufs = 0, scen_ms = 0, filler = 3;
    gboolean fdmp = FALSE, no_kdbg = FALSE, no_kusd = FALSE, win7 = FALSE, decoys = FALSE, partial = FALSE;
    gboolean alias = FALSE, pat = FALSE, quiet = FALSE;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the dump to FILE (required)", "FILE" },
        { "container", 'c', 0, G_OPTION_ARG_STRING, &container, "full (default), bitmap or raw", "KIND" },
        { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "x64 (default), pae or x86", "ARCH" },
        { "ram", 0, 0, G_OPTION_ARG_STRING, &ram, "Physical memory size (default 16M; e.g. 4G)", "SIZE" },
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
        { "trace", 't', 0, G_OPTION_ARG_FILENAME_ARRAY, &traces,
          "An .etl whose data buffers become a logger (ID default 2, then 3, ...)", "FILE[:ID[:NAME]]" },
        { "scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "Also a generated trace: pool-leak, dpc-storm or large", "KIND" },
        { "scenario-size", 0, 0, G_OPTION_ARG_STRING, &scen_size, "large: approximate trace size (default 64M)", "SIZE" },
        { "scenario-ms", 0, 0, G_OPTION_ARG_INT, &scen_ms, "Scenario duration in ms", "MS" },
        { "pages", 0, 0, G_OPTION_ARG_STRING, &pages, "Buffer mappings: 4k (default), large (2M/4M) or 1g (bitmap x64)", "KIND" },
        { "pat", 0, 0, G_OPTION_ARG_NONE, &pat, "Set the PAT bit in large-page entries", NULL },
        { "active", 0, 0, G_OPTION_ARG_INT, &active, "Make each logger's last N buffers active", "N" },
        { "free", 0, 0, G_OPTION_ARG_INT, &free_bufs, "Make each logger's first N buffers free (State 0)", "N" },
        { "cpus", 0, 0, G_OPTION_ARG_INT, &cpus, "NumberProcessors (default: enough for every buffer)", "N" },
        { "fdmp", 0, 0, G_OPTION_ARG_NONE, &fdmp, "Bitmap dumps: FDMP instead of SDMP", NULL },
        { "filler-pct", 0, 0, G_OPTION_ARG_INT, &filler, "Bitmap dumps: percent of unused pages stored (default 3)", "PCT" },
        { "fill", 0, 0, G_OPTION_ARG_STRING, &fill, "Unused pages: zero (default), random or mixed", "KIND" },
        { "no-kdbg", 0, 0, G_OPTION_ARG_NONE, &no_kdbg, "No KDDEBUGGER_DATA64: loggers can only be carved", NULL },
        { "no-kusd", 0, 0, G_OPTION_ARG_NONE, &no_kusd, "No KUSER_SHARED_DATA", NULL },
        { "win7-context", 0, 0, G_OPTION_ARG_NONE, &win7, "Windows 7 WMI_LOGGER_CONTEXT layout", NULL },
        { "decoys", 0, 0, G_OPTION_ARG_NONE, &decoys, "Add buffer-like decoys and stale copies", NULL },
        { "partial-decoy", 0, 0, G_OPTION_ARG_NONE, &partial, "Add a half-mapped buffer of an unlisted logger", NULL },
        { "alias", 0, 0, G_OPTION_ARG_NONE, &alias, "Map every buffer a second time", NULL },
        { "truncate", 0, 0, G_OPTION_ARG_STRING, &truncate_to, "Cut the dump to SIZE bytes", "SIZE" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing", NULL },
        { NULL }
    };
    GOptionContext *ctx = g_option_context_new("- write a synthetic crash dump holding ETW buffers");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Examples:\n"
        "  etla-dumpgen --scenario dpc-storm -o /tmp/storm.dmp\n"
        "  etla-dumpgen -c bitmap --pages large --decoys \\\n"
        "      -t ../shared/traces/win10-x64-amsi-eventslost.etl:40:AMSITrace -o /tmp/b.dmp\n"
        "  etla-dumpgen --ram 4G --fill mixed --scenario large --scenario-size 256M -o /tmp/big.dmp\n");
    GError *err = NULL;
    int rc = 0;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("etla-dumpgen: %s\n", err->message);
        g_error_free(err);
        g_option_context_free(ctx);
        return 2;
    }
    DgOptions o;
    dg_options_init(&o);
    o.seed = (uint64_t)seed;
    o.cpus = (uint32_t)MAX(cpus, 0);
    o.fdmp = fdmp;
    o.no_kdbg = no_kdbg;
    o.no_kusd = no_kusd;
    o.win7_context = win7;
    o.decoys = decoys;
    o.partial_decoy = partial;
    o.alias_mapping = alias;
    o.bitmap_filler_pct = (uint32_t)CLAMP(filler, 0, 100);
    if (container && !strcmp(container, "bitmap")) o.container = DG_BITMAP;
    else if (container && !strcmp(container, "raw")) o.container = DG_RAW;
    else if (container && strcmp(container, "full")) rc = 2;
    if (arch && !strcmp(arch, "pae")) o.arch = DG_PAE;
    else if (arch && !strcmp(arch, "x86")) o.arch = DG_X86;
    else if (arch && strcmp(arch, "x64")) rc = 2;
    if (fill && !strcmp(fill, "random")) o.fill = DG_FILL_RANDOM;
    else if (fill && !strcmp(fill, "mixed")) o.fill = DG_FILL_MIXED;
    else if (fill && strcmp(fill, "zero")) rc = 2;
    if (ram && !parse_size(ram, &o.ram_bytes)) rc = 2;
    DgPages pg = DG_PAGES_4K;
    if (pages && !strcmp(pages, "large")) pg = DG_PAGES_LARGE;
    else if (pages && !strcmp(pages, "1g")) pg = DG_PAGES_1G;
    else if (pages && strcmp(pages, "4k")) rc = 2;
    uint64_t trunc = 0;
    if (truncate_to && !parse_size(truncate_to, &trunc)) rc = 2;
    if (!out || (!traces && !scenario)) rc = 2;
    if (rc) {
        g_printerr("etla-dumpgen: bad or missing option (-o FILE and --trace or --scenario are required)\n");
        g_option_context_free(ctx);
        return rc;
    }
    DumpGen *g = dg_new(&o);
    uint16_t next_id = 2;
    for (int i = 0; traces && traces[i] && !rc; i++) {
        char **parts = g_strsplit(traces[i], ":", 3);
        size_t len = 0;
        uint8_t *etl = tu_read_file(parts[0], &len);
        if (!etl) {
            g_printerr("etla-dumpgen: cannot read %s\n", parts[0]);
            rc = 1;
        } else {
            DgLogger l = { .etl = etl, .etl_len = len, .logger_id = next_id, .pages = pg, .pat = pat,
                           .n_active = (uint32_t)MAX(active, 0), .n_free = (uint32_t)MAX(free_bufs, 0) };
            if (parts[1]) l.logger_id = (uint16_t)g_ascii_strtoull(parts[1], NULL, 0);
            l.name = parts[1] && parts[2] ? parts[2] : NULL;
            if (!dg_add_logger(g, &l, &err)) {
                g_printerr("etla-dumpgen: %s: %s\n", parts[0], err->message);
                g_clear_error(&err);
                rc = 1;
            }
            next_id = (uint16_t)(l.logger_id + 1);
            g_free(etl);
        }
        g_strfreev(parts);
    }
    if (scenario && !rc) {
        ScenKind k;
        if (!scen_kind_parse(scenario, &k)) {
            g_printerr("etla-dumpgen: unknown scenario '%s'\n", scenario);
            rc = 2;
        } else {
            ScenOptions so;
            scen_options_init(&so, k);
            so.seed = (uint64_t)seed;
            so.ptr_size = o.arch == DG_X64 ? 8 : 4;
            so.duration_ms = (uint32_t)MAX(scen_ms, 0);
            so.stale_fill = true;
            if (scen_size) parse_size(scen_size, &so.target_bytes);
            else so.target_bytes = 64u << 20;
            size_t len = 0;
            uint8_t *etl = scen_generate_memory(&so, &len, NULL, &err);
            if (!etl) {
                g_printerr("etla-dumpgen: %s\n", err->message);
                g_clear_error(&err);
                rc = 1;
            } else {
                DgLogger l = { .etl = etl, .etl_len = len, .logger_id = 2, .name = "Circular Kernel Context Logger",
                               .pages = pg, .pat = pat, .n_active = (uint32_t)MAX(active, 0),
                               .n_free = (uint32_t)MAX(free_bufs, 0) };
                if (traces) l.logger_id = next_id, l.name = "NT Kernel Logger";
                if (!dg_add_logger(g, &l, &err)) {
                    g_printerr("etla-dumpgen: %s\n", err->message);
                    g_clear_error(&err);
                    rc = 1;
                }
                g_free(etl);
            }
        }
    }
    if (!rc && !dg_write_file(g, out, &err)) {
        g_printerr("etla-dumpgen: %s\n", err->message);
        g_clear_error(&err);
        rc = 1;
    }
    if (!rc && trunc && truncate(out, (off_t)trunc) != 0) {
        g_printerr("etla-dumpgen: cannot truncate %s: %s\n", out, g_strerror(errno));
        rc = 1;
    }
    if (!rc && !quiet) {
        const DgTruth *t = dg_truth(g);
        printf("%s: %" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " pages stored, DTB 0x%" G_GINT64_MODIFIER "x, KDBG 0x%"
               G_GINT64_MODIFIER "x, %u decoys\n", out, t->file_size, t->pages_stored, t->dtb, t->kdbg_va, t->decoys);
        for (uint32_t i = 0; i < t->n_loggers; i++)
            printf("  logger %u: %u buffers of %u bytes (%u with events), %" G_GUINT64_FORMAT " events\n",
                   t->loggers[i].logger_id, t->loggers[i].buffers, t->loggers[i].buffer_size,
                   t->loggers[i].buffers_with_events, t->loggers[i].events);
    }
    dg_free(g);
    g_strfreev(traces);
    g_free(container); g_free(arch); g_free(ram); g_free(fill); g_free(out); g_free(truncate_to);
    g_free(scenario); g_free(scen_size); g_free(pages);
    g_option_context_free(ctx);
    return rc;
}
