/* cmd-chart.c — `etla chart TRACE --kind KIND -o FILE.{svg,png,pdf}`. */
#include "charts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *chart_examples =
    "Examples:\n"
    "  etla chart --kind pool-outstanding -o outstanding.png trace.etl\n"
    "  etla chart --kind pool-tags -o leaks.svg trace.etl\n"
    "  etla chart --kind dpc-duration --top 6 -o dpc.pdf trace.etl\n"
    "  etla chart --kind dpcisr-timeline --from 10 --to 12 -o storm.png trace.etl\n"
    "  etla chart --kind cpu-usage --width 1600 --height 600 -o cpu.png trace.etl\n"
    "\n"
    "Kinds: pool-outstanding (outstanding bytes over time, stacked by tag), pool-tags (AIFO\n"
    "bytes by tag and owner module), dpc-duration (DPC/ISR duration histogram by module, with\n"
    "the 25 us ISR and 100 us DPC guidance), dpcisr-timeline (per-CPU lanes of DPC/ISR activity\n"
    "coloured by module), cpu-usage (CPU use by process from context switches).  The format\n"
    "follows the extension of -o: .svg, .png or .pdf.";

int cmd_chart(int argc, char **argv)
{
    CliCommon c;
    cli_common_init(&c);
    char *kind = NULL;
    gint width = 1000, height = 500, top = 8;
    GOptionEntry own[] = {
        { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind,
          "pool-outstanding, pool-tags, dpc-duration, dpcisr-timeline or cpu-usage", "KIND" },
        { "width", 0, 0, G_OPTION_ARG_INT, &width, "Width in pixels (points for PDF), 200-8000 (default 1000)", "N" },
        { "height", 0, 0, G_OPTION_ARG_INT, &height, "Height in pixels, 150-8000 (default 500)", "N" },
        { "top", 'n', 0, G_OPTION_ARG_INT, &top, "Tags, modules or processes named; the rest is \"other\" (default 8)", "N" },
        { NULL },
    };
    GOptionContext *ctx = cli_context_new("chart", "TRACE", "Draw a chart of a trace's pool or DPC/ISR analysis as SVG, PNG or PDF.",
                                          chart_examples);
    g_option_context_add_main_entries(ctx, own, NULL);
    g_option_context_add_main_entries(ctx, cli_common_entries(&c, true), NULL);
    int rc = EXIT_USAGE;
    ChartWhich which = CHART_POOL_OUTSTANDING;
    ChartFormat fmt = CHART_PNG;
    if (!cli_parse(ctx, "chart", &argc, &argv) || !cli_common_validate("chart", &c)) goto out;
    if (argc != 2) {
        cli_usage_error("chart", argc < 2 ? "missing TRACE" : "expected one TRACE, got %d arguments", argc - 1);
        goto out;
    }
    if (!kind || !chart_which_parse(kind, &which)) {
        cli_usage_error("chart", kind ? "--kind %s: expected pool-outstanding, pool-tags, dpc-duration, dpcisr-timeline or cpu-usage"
                                      : "--kind is required (pool-outstanding, pool-tags, dpc-duration, dpcisr-timeline, cpu-usage)",
                        kind);
        goto out;
    }
    if (!c.output || !chart_format_from_path(c.output, &fmt)) {
        cli_usage_error("chart", c.output ? "-o %s: the file name must end in .svg, .png or .pdf"
                                          : "-o FILE is required (.svg, .png or .pdf)", c.output);
        goto out;
    }
    if (width < 200 || width > 8000 || height < 150 || height > 8000 || top < 1 || top > 50) {
        cli_usage_error("chart", "--width 200-8000, --height 150-8000, --top 1-50");
        goto out;
    }
    const char *path = argv[1];
    CliOutput o;
    CliDiagPrinter dp = { .quiet = c.quiet };
    Collected col;
    /* the output is opened first, so that a bad -o fails before the long read */
    if (!cli_output_open(&o, c.output, path)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (!collect_run(&col, path, c.from_s, c.to_s, (guint)MAX(width / 2, 100), c.quiet, c.no_progress, &dp)) {
        cli_output_abort(&o);
        rc = EXIT_RUNTIME;
        goto out;
    }
    Chart *ch = chart_build(&col, which, width, height, (guint)top);
    ChartScene *sc = chart_layout(ch);
    GError *err = NULL;
    /* cairo writes the temporary file by name; the commit renames it into place */
    if (chart_paint_file(sc, fmt, o.tmp_path ? o.tmp_path : c.output, &err)) {
        rc = cli_output_commit(&o) ? EXIT_OK : EXIT_RUNTIME;
        if (rc == EXIT_OK && !c.quiet && chart_is_empty(ch))
            cli_warning("%s: %s", c.output, ch->empty_message ? ch->empty_message : "nothing to draw");
    } else {
        cli_error("%s", err->message);
        g_error_free(err);
        cli_output_abort(&o);
        rc = EXIT_RUNTIME;
    }
    chart_scene_free(sc);
    chart_free(ch);
    cli_diag_summary(&dp);
    collect_clear(&col);
    chart_release_caches();
out:
    g_free(kind);
    g_option_context_free(ctx);
    cli_common_clear(&c);
    return rc;
}
