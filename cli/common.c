/* common.c — options, errors, trace opening, atomic output and progress for all commands. */
#include "cli.h"
#include "etl-writer.h"

#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ messages */

static void vmsg(const char *prefix, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("etla: ", stderr);
    if (prefix) fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(NULL, fmt, ap);
    va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fprintf(stderr, "etla %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'etla help %s' for usage and examples.\n", cmd);
    va_end(ap);
}

/* ------------------------------------------------------------------ options */

void cli_common_init(CliCommon *c)
{
    memset(c, 0, sizeof *c);
    c->format = RENDER_TEXT;
    c->from_s = NAN;
    c->to_s = NAN;
}

void cli_common_clear(CliCommon *c)
{
    g_free(c->format_str);
    g_free(c->output);
}

GOptionEntry *cli_common_entries(CliCommon *c, bool with_window)
{
    static GOptionEntry e[8];
    int i = 0;
    e[i++] = (GOptionEntry){ "format", 'f', 0, G_OPTION_ARG_STRING, &c->format_str,
                             "Output format: text (aligned, default), csv or json", "FORMAT" };
    if (with_window) {
        e[i++] = (GOptionEntry){ "from", 0, 0, G_OPTION_ARG_DOUBLE, &c->from_s,
                                 "Start of the time window, in seconds from the trace start", "SECONDS" };
        e[i++] = (GOptionEntry){ "to", 0, 0, G_OPTION_ARG_DOUBLE, &c->to_s,
                                 "End of the time window, in seconds from the trace start", "SECONDS" };
    }
    e[i++] = (GOptionEntry){ "output", 'o', 0, G_OPTION_ARG_FILENAME, &c->output,
                             "Write to FILE (via a temporary file renamed at the end) instead of standard output",
                             "FILE" };
    e[i++] = (GOptionEntry){ "quiet", 'q', 0, G_OPTION_ARG_NONE, &c->quiet,
                             "Print no progress and no per-problem warnings (counts are still reported)", NULL };
    e[i++] = (GOptionEntry){ "no-progress", 0, 0, G_OPTION_ARG_NONE, &c->no_progress,
                             "Never show progress on stderr (it is shown only on a terminal anyway)", NULL };
    e[i] = (GOptionEntry){ NULL };
    return e;
}

bool cli_common_validate(const char *cmd, CliCommon *c)
{
    if (c->format_str && !render_format_parse(c->format_str, &c->format)) {
        cli_usage_error(cmd, "unknown format '%s' (use text, csv or json)", c->format_str);
        return false;
    }
    if ((!isnan(c->from_s) && (c->from_s < 0 || !isfinite(c->from_s))) ||
        (!isnan(c->to_s) && (c->to_s < 0 || !isfinite(c->to_s)))) {
        cli_usage_error(cmd, "--from and --to are seconds from the trace start (0 or more)");
        return false;
    }
    if (!isnan(c->from_s) && !isnan(c->to_s) && c->to_s < c->from_s) {
        cli_usage_error(cmd, "--to (%g s) is before --from (%g s)", c->to_s, c->from_s);
        return false;
    }
    return true;
}

GOptionContext *cli_context_new(const char *cmd, const char *params, const char *summary, const char *examples)
{
    GOptionContext *ctx = g_option_context_new(params);
    char *prg = g_strdup_printf("etla %s", cmd);
    g_set_prgname(prg);
    g_free(prg);
    g_option_context_set_summary(ctx, summary);
    if (examples) g_option_context_set_description(ctx, examples);
    return ctx;
}

bool cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv)
{
    GError *err = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        cli_usage_error(cmd, "%s", err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ opening traces */

static void print_diag(const EtlDiag *d, void *user)
{
    CliDiagPrinter *dp = user;
    if (dp->quiet || dp->shown >= dp->max_shown) {
        dp->suppressed++;
        return;
    }
    dp->shown++;
    char *s = etl_diag_format(d);
    cli_warning("%s: %s", dp->path, s);
    g_free(s);
}

EtlTrace *cli_open_trace(const char *path, CliDiagPrinter *dp)
{
    dp->path = path;
    if (!dp->max_shown) dp->max_shown = 10;
    EtlOpenOptions o = { .diag_fn = print_diag, .diag_user_data = dp };
    GError *err = NULL;
    EtlTrace *t = etl_trace_open_file(path, &o, &err);
    if (!t) {
        cli_error("%s", err->message);
        g_error_free(err);
    }
    return t;
}

void cli_diag_summary(CliDiagPrinter *dp)
{
    if (dp->suppressed && !dp->quiet)
        cli_warning("%s: %" G_GUINT64_FORMAT " more problems not shown ('etla info' lists them by kind)", dp->path,
                    dp->suppressed);
}

/* ------------------------------------------------------------------ output */

/* The temporary file of the output being written, removed if a signal ends the run: an
 * interrupted `etla dump -o big.txt` leaves nothing behind.  One output at a time. */
static char *volatile pending_tmp;
/* and the ETL writer's own temporary file (etla extract writes .etl files through it) */
static char *volatile pending_writer_tmp;

static void remove_pending_and_reraise(int sig)
{
    char *p = pending_tmp, *q = pending_writer_tmp;
    if (p) unlink(p); /* async-signal-safe */
    if (q) unlink(q);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void watch_signals(void)
{
    static bool installed;
    if (installed) return;
    installed = true;
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_pending_and_reraise;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static void writer_tmp_changed(const char *tmp_path)
{
    char *old = pending_writer_tmp;
    pending_writer_tmp = tmp_path ? g_strdup(tmp_path) : NULL;
    g_free(old);
}

void cli_watch_writer_outputs(void)
{
    watch_signals();
    etl_writer_set_tmp_observer(writer_tmp_changed);
}

bool cli_output_open(CliOutput *o, const char *path, const char *input)
{
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) {
        o->fp = stdout;
        return true;
    }
    struct stat so, si;
    if (input && stat(path, &so) == 0 && stat(input, &si) == 0 && so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
        cli_error("refusing to write %s: it is the trace being read", path);
        return false;
    }
    o->path = g_strdup(path);
    o->tmp_path = g_strdup_printf("%s.tmp-XXXXXX", path);
    int fd = g_mkstemp(o->tmp_path);
    if (fd < 0) {
        cli_error("cannot write %s: %s", path, g_strerror(errno));
        g_clear_pointer(&o->path, g_free);
        g_clear_pointer(&o->tmp_path, g_free);
        return false;
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) { /* mkstemp creates 0600; outputs are ordinary files */
    }
    watch_signals();
    pending_tmp = o->tmp_path;
    o->fp = fdopen(fd, "w");
    if (!o->fp) {
        cli_error("cannot write %s: %s", path, g_strerror(errno));
        close(fd);
        unlink(o->tmp_path);
        g_clear_pointer(&o->path, g_free);
        g_clear_pointer(&o->tmp_path, g_free);
        return false;
    }
    return true;
}

bool cli_output_commit(CliOutput *o)
{
    if (!o->fp) return false;
    if (!o->path) {
        bool ok = fflush(o->fp) == 0 && !ferror(o->fp);
        if (!ok && errno != EPIPE) cli_error("cannot write standard output: %s", g_strerror(errno));
        o->fp = NULL;
        return ok;
    }
    bool ok = fflush(o->fp) == 0 && !ferror(o->fp);
    int e = errno;
    pending_tmp = NULL;
    if (fclose(o->fp) != 0 && ok) {
        ok = false;
        e = errno;
    }
    o->fp = NULL;
    if (ok && rename(o->tmp_path, o->path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        cli_error("cannot write %s: %s", o->path, g_strerror(e));
        unlink(o->tmp_path);
    }
    g_clear_pointer(&o->path, g_free);
    g_clear_pointer(&o->tmp_path, g_free);
    return ok;
}

void cli_output_abort(CliOutput *o)
{
    pending_tmp = NULL;
    if (o->fp && o->path) {
        fclose(o->fp);
        unlink(o->tmp_path);
    }
    o->fp = NULL;
    g_clear_pointer(&o->path, g_free);
    g_clear_pointer(&o->tmp_path, g_free);
}

/* ------------------------------------------------------------------ progress */

void cli_progress_init(CliProgress *p, const char *what, bool allowed)
{
    memset(p, 0, sizeof *p);
    p->what = what;
    p->enabled = allowed && isatty(STDERR_FILENO);
    p->last_us = g_get_monotonic_time();
}

void cli_progress_update(CliProgress *p, uint64_t done, uint64_t total)
{
    if (!p->enabled || !total) return;
    int64_t now = g_get_monotonic_time();
    if (now - p->last_us < 200000) return;
    p->last_us = now;
    char *a = text_bytes(done), *b = text_bytes(total);
    unsigned pct = (unsigned)(done >= total ? 100 : done * 100 / total);
    fprintf(stderr, "\r\033[K%s %3u%% (%s of %s)", p->what, pct, a, b);
    fflush(stderr);
    p->drawn = true;
    g_free(a);
    g_free(b);
}

void cli_progress_done(CliProgress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}

/* ------------------------------------------------------------------ labels */

char *cli_provider_label(const EtlEvent *ev)
{
    const char *n = etl_provider_name(&ev->provider);
    if (n) return g_strdup(n);
    if (ev->kind == ETL_HDR_EVENT) {
        EtlAStr tl = etl_event_tl_provider_name(ev);
        if (tl.len) {
            GString *s = g_string_new(NULL);
            etl_astr_append_utf8(s, tl);
            return g_string_free(s, FALSE);
        }
    }
    if (ev->kind == ETL_HDR_MESSAGE && etl_guid_is_null(&ev->provider)) return g_strdup("WPP");
    if (ev->kind == ETL_HDR_OTHER) return g_strdup("(obsolete header)");
    char g[ETL_GUID_STRLEN];
    etl_guid_format(&ev->provider, g);
    return g_strdup(g);
}

char *cli_event_label(const EtlEvent *ev)
{
    if (etl_header_kind_is_opcode_keyed(ev->kind)) {
        const char *n = etl_opcode_name(&ev->provider, ev->opcode);
        return n ? g_strdup(n) : g_strdup_printf("Opcode(%u)", ev->opcode);
    }
    if (ev->kind == ETL_HDR_EVENT) {
        EtlAStr tl = etl_event_tl_event_name(ev);
        if (tl.len) {
            GString *s = g_string_new(NULL);
            etl_astr_append_utf8(s, tl);
            return g_string_free(s, FALSE);
        }
        return g_strdup_printf("EventID(%u)", ev->event_id);
    }
    if (ev->kind == ETL_HDR_MESSAGE) return g_strdup_printf("Message(%u)", ev->event_id);
    return g_strdup_printf("Header(0x%02x)", ev->header_type);
}

void cli_read_model(EtlTrace *t, Model *m, bool show_progress, CliEventFn fn, void *user)
{
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    CliProgress pr;
    cli_progress_init(&pr, "reading", show_progress);
    const EtlEvent *ev;
    uint64_t n = 0;
    while ((ev = etl_reader_next(r))) {
        if (G_UNLIKELY((++n & 0xFFFF) == 0) && pr.enabled) {
            uint64_t done, all;
            etl_reader_progress(r, &done, &all);
            cli_progress_update(&pr, done, all);
        }
        EtlKernelEvent k;
        bool dec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        ModelCtx mc;
        model_event(m, ev, dec ? &k : NULL, &mc);
        fn(user, ev, dec ? &k : NULL, &mc);
    }
    cli_progress_done(&pr);
    etl_reader_free(r);
    model_finish(m);
}
