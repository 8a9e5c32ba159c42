/* main.c — etla's command table: `etla <command> [options] TRACE`. */
#include "cli.h"
#include "etla-config.h"

#include <signal.h>
#include <stdlib.h>

static const CliCommand commands[] = {
    { "report", "One self-contained HTML page: health, pool leak suspects, DPC/ISR tables, charts", cmd_report },
    { "pool", "Pool leaks: AIFI/AIFO/AOFI/AOFO by type, tag, stack, owner module, process", cmd_pool },
    { "dpcisr", "DPC/ISR durations by module and CPU: the driver behind 0x133, histograms, xperf layout", cmd_dpcisr },
    { "chart", "Draw a chart (SVG, PNG, PDF): pool outstanding/tags, DPC durations/timeline, CPU use", cmd_chart },
    { "extract", "ETW traces out of a crash dump (MEMORY.DMP) or memory image: list loggers, write .etl", cmd_extract },
    { "info", "Trace facts and health: header, lost events, problems, events by type", cmd_info },
    { "dump", "One line per event in time order, decoded (text, CSV or JSON lines)", cmd_dump },
    { "profile", "WPR recording profiles (.wprp): show the effective profile, check it, xperf equivalent", cmd_profile },
};

static void usage(FILE *out)
{
    fprintf(out,
            "etla %s — ETW trace analyzer for pool leaks and DPC/ISR latency\n"
            "\n"
            "Usage: etla <command> [options] TRACE\n"
            "       etla help <command>\n"
            "       etla --version\n"
            "\n"
            "Commands:\n",
            ETLA_VERSION);
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Examples:\n"
            "  etla report trace.etl               one HTML page: the findings, tables and charts\n"
            "  etla pool --type AIFO --by tag,stack trace.etl      which tag and stack leak pool\n"
            "  etla dpcisr --watchdog trace.etl    the 0x133 view: longest DPCs/ISRs, busiest CPU\n"
            "  etla extract MEMORY.DMP -o ckcl.etl the kernel logger's buffers out of a crash dump\n"
            "  etla info trace.etl                 check a trace first: what it holds, what was lost\n"
            "  etla dump --stacks --event Pool/PoolAlloc --limit 5 trace.etl\n"
            "\n"
            "Exit status: 0 success, 1 the trace or an output could not be read or written,\n"
            "2 usage error.\n");
}

static const CliCommand *find_command(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    /* Numbers must not depend on the user's locale: stay in the C locale for LC_NUMERIC. */
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        printf("etla %s\n", ETLA_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_OK;
        }
        const CliCommand *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "etla: unknown command '%s'\n\n", argv[2]);
            usage(stderr);
            return EXIT_USAGE;
        }
        char *hargv[] = { argv[2], (char *)"--help", NULL };
        return c->run(2, hargv);
    }
    const CliCommand *c = find_command(cmd);
    if (!c) {
        fprintf(stderr, "etla: unknown command '%s'\n\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
