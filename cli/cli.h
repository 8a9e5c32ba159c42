/* cli.h — shared glue for etla's subcommands. */
#pragma once

#include "analyses.h"
#include "etl.h"
#include "render.h"

#include <stdio.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Options every trace command accepts. */
typedef struct {
    char        *format_str;
    RenderFormat format;
    double       from_s, to_s;   /* NaN when not given */
    char        *output;         /* -o FILE; NULL = stdout */
    gboolean     quiet;          /* no progress, no diagnostic lines */
    gboolean     no_progress;
} CliCommon;

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} CliCommand;

/* GOptionEntry array for CliCommon (static storage inside c). */
GOptionEntry *cli_common_entries(CliCommon *c, bool with_window);
void          cli_common_init(CliCommon *c);
void          cli_common_clear(CliCommon *c);
/* Validate common options after parsing; prints the error and returns false on misuse. */
bool          cli_common_validate(const char *cmd, CliCommon *c);

/* Build the option context of a command: "etla CMD [OPTIONS] TRACE", with summary and
 * examples shown by --help. */
GOptionContext *cli_context_new(const char *cmd, const char *params, const char *summary, const char *examples);
/* Parse; on a usage error print "etla CMD: message" + a hint and return false. */
bool            cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv);

void cli_usage_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void cli_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void cli_warning(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Open a trace; diagnostics are printed to stderr as "etla: warning: ..." (the first few,
 * then a count), unless quiet.  NULL after printing one clear line on failure. */
typedef struct {
    const char *path;
    bool        quiet;
    uint32_t    shown;
    uint32_t    max_shown;
    uint64_t    suppressed;
} CliDiagPrinter;

EtlTrace *cli_open_trace(const char *path, CliDiagPrinter *dp);
/* Say how many diagnostics were not shown. */
void      cli_diag_summary(CliDiagPrinter *dp);

/* Output: stdout, or a temporary file renamed onto -o FILE when everything was written. */
typedef struct {
    FILE *fp;
    char *path;      /* final path, NULL for stdout */
    char *tmp_path;
} CliOutput;

/* input: the trace path, so that -o cannot overwrite the trace being read. */
bool cli_output_open(CliOutput *o, const char *path, const char *input);
/* Flush and (for files) rename into place; false after printing an error. */
bool cli_output_commit(CliOutput *o);
/* Commands that write .etl files through the ETL writer (extract): remove the writer's
 * temporary file too when a signal ends the run. */
void cli_watch_writer_outputs(void);
/* Drop a partial output (removes the temporary file). */
void cli_output_abort(CliOutput *o);

/* Progress on stderr, only when stderr is a terminal and not quiet. */
typedef struct {
    bool    enabled;
    int64_t last_us;
    bool    drawn;
    const char *what;
} CliProgress;

void cli_progress_init(CliProgress *p, const char *what, bool allowed);
void cli_progress_update(CliProgress *p, uint64_t done, uint64_t total);
void cli_progress_done(CliProgress *p);

/* The analyses' read loop: every event in time order, decoded once, fed to the system model,
 * then to fn (k NULL when the event did not decode).  Progress on a terminal unless quiet;
 * model_finish() at the end. */
typedef void (*CliEventFn)(void *user, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx);
void cli_read_model(EtlTrace *t, Model *m, bool show_progress, CliEventFn fn, void *user);

/* Name helpers shared by info and dump. */
char *cli_provider_label(const EtlEvent *ev);       /* g_free */
char *cli_event_label(const EtlEvent *ev);          /* g_free */

/* Commands */
int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_pool(int argc, char **argv);
int cmd_chart(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dpcisr(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_extract(int argc, char **argv);
