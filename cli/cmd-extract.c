/* cmd-extract.c — `etla extract DUMP`: ETW trace buffers out of a crash dump, as .etl files.
 *
 * What `!wmitrace.strdump` + `!wmitrace.logsave` do in WinDbg, without WinDbg or symbols
 * (etl/etl-dump.h, docs/dump-extract.md).  Exit status: 0 written (or listed); 1 the dump
 * cannot be read, holds no ETW buffer, is truncated or corrupt (what could be recovered is
 * still written, and the output says what was skipped), or an output cannot be written;
 * 2 usage error.
 */
#include "cli.h"
#include "etl-dump.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

static const char *extract_examples =
    "Examples:\n"
    "  etla extract MEMORY.DMP --list\n"
    "      The loggers whose buffers are in the dump: id, name, buffer size, buffers, CPUs,\n"
    "      time span, and how each was found (discovered through the kernel's logger array,\n"
    "      or carved from buffer-shaped pages).\n"
    "  etla extract MEMORY.DMP -o ckcl.etl\n"
    "      The kernel logger with the most buffers (usually the Circular Kernel Context\n"
    "      Logger after a 0x133 or a hang) as an .etl; then: etla dpcisr ckcl.etl\n"
    "  etla extract MEMORY.DMP --logger \"NT Kernel Logger\" -o kernel.etl\n"
    "  etla extract MEMORY.DMP --logger 2 -o ckcl.etl\n"
    "  etla extract MEMORY.DMP --all -o loggers/       every logger, one .etl each\n"
    "  etla extract --list --format json MEMORY.DMP | jq '.loggers[] | {logger_id, name, buffers}'\n"
    "\n"
    "DUMP: a 64-bit kernel, automatic, complete or active dump (PAGEDU64: full or bitmap),\n"
    "a 32-bit one (PAGEDUMP), or a raw physical memory image.  No symbols are needed.\n"
    "Buffers are read through the dump's page tables, validated event by event, ordered by\n"
    "sequence number and de-duplicated; buffers found only in part, stale copies and\n"
    "duplicates are reported.  docs/dump-extract.md explains how.";

typedef struct {
    CliCommon c;
    gboolean  list;
    gboolean  all;
    char     *logger;
    gboolean  carve_only;
} ExtractOpts;

typedef struct {
    const char *path;
    bool        quiet;
    uint32_t    shown, max_shown;
    uint64_t    suppressed;
    CliProgress progress;
} ExtractRun;

static void on_diag(const EtlDumpDiag *d, void *user)
{
    ExtractRun *x = user;
    if (x->quiet || x->shown >= x->max_shown) {
        x->suppressed++;
        return;
    }
    x->shown++;
    cli_progress_done(&x->progress);
    char *s = etl_dump_diag_format(d);
    cli_warning("%s: %s", x->path, s);
    g_free(s);
}

static void on_progress(const char *phase, uint64_t done, uint64_t total, void *user)
{
    ExtractRun *x = user;
    if (!x->progress.enabled || strcmp(phase, "scanning") != 0) return;
    cli_progress_update(&x->progress, done, total);
}

static const char *method_name(const EtlDumpLogger *L) { return L->discovered ? "discovered" : "carved"; }

static double span_s(const EtlDumpLogger *L)
{
    if (L->first_filetime && L->last_filetime) return (double)(L->last_filetime - L->first_filetime) / 1e7;
    return 0;
}

/* ------------------------------------------------------------------ --list */

static void list_text(EtlDump *d, const char *path, RenderFormat fmt, GString *out)
{
    const EtlDumpInfo *in = etl_dump_info(d);
    const EtlDumpTimeBase *tb = etl_dump_time_base(d);
    uint32_t n = etl_dump_logger_count(d);
    if (fmt == RENDER_TEXT) {
        char *sz = text_bytes(in->file_size);
        g_string_append_printf(out, "%s: %s, %s", path, etl_dump_container_name(d), sz);
        g_free(sz);
        if (in->container != ETL_DUMP_RAW)
            g_string_append_printf(out, ", Windows %u.%u build %u, %u CPUs, bug check 0x%x", tb->os_major, tb->os_minor,
                                   tb->os_build, in->cpus, in->bugcheck);
        g_string_append(out, in->truncated ? " — TRUNCATED\n" : "\n");
        g_string_append_printf(out, "Clock: %s at %" G_GINT64_FORMAT " Hz, from %s\n\n",
                               etl_clock_type_name(tb->clock_type), tb->perf_freq, tb->source);
        g_string_append_printf(out, "Loggers (%u)\n", n);
    }
    Table *t = table_new();
    table_add_column(t, "Id", "logger_id", TABLE_RIGHT);
    table_add_column(t, "Name", "name", TABLE_LEFT);
    table_add_column(t, "Buffers", "buffers", TABLE_RIGHT);
    table_add_column(t, "Size", "buffer_size", TABLE_RIGHT);
    table_add_column(t, "CPUs", "cpus", TABLE_RIGHT);
    table_add_column(t, "Events", "events", TABLE_RIGHT);
    table_add_column(t, "First event", "first_time", TABLE_LEFT);
    table_add_column(t, "Span (s)", "span_s", TABLE_RIGHT);
    table_add_column(t, "Found", "method", TABLE_LEFT);
    table_add_column(t, "Notes", "notes", TABLE_LEFT);
    for (uint32_t i = 0; i < n; i++) {
        const EtlDumpLogger *L = etl_dump_logger(d, i);
        char num[32], iso[40];
        table_begin_row(t);
        g_snprintf(num, sizeof num, "%u", L->logger_id);
        table_cell(t, num, num, 'n');
        table_cell_str(t, L->name ? L->name : "");
        table_cell_uint(t, L->buffers);
        if (fmt == RENDER_TEXT) {
            char *b = text_bytes(L->buffer_size);
            g_snprintf(num, sizeof num, "%u", L->buffer_size);
            table_cell(t, b, num, 'n');
            g_free(b);
        } else {
            table_cell_uint(t, L->buffer_size);
        }
        table_cell_uint(t, L->cpus);
        table_cell_uint(t, L->events);
        if (L->first_filetime) etl_filetime_format_iso8601(L->first_filetime, iso);
        else g_strlcpy(iso, "", sizeof iso);
        table_cell_str(t, iso);
        g_snprintf(num, sizeof num, "%.3f", span_s(L));
        table_cell(t, num, num, 'n');
        table_cell_str(t, method_name(L));
        GString *notes = g_string_new(NULL);
        if (L->kernel) g_string_append(notes, "kernel");
        if (L->buffers_partial) g_string_append_printf(notes, "%s%u partial", notes->len ? ", " : "", L->buffers_partial);
        if (L->buffers_stale) g_string_append_printf(notes, "%s%u free (stale)", notes->len ? ", " : "", L->buffers_stale);
        if (L->duplicates) g_string_append_printf(notes, "%s%u copies dropped", notes->len ? ", " : "", L->duplicates);
        if (L->buffers_skipped) g_string_append_printf(notes, "%s%u skipped", notes->len ? ", " : "", L->buffers_skipped);
        table_cell_str(t, notes->str);
        g_string_free(notes, TRUE);
    }
    if (fmt == RENDER_CSV) table_render_csv(t, out);
    else table_render_text(t, out, 2);
    table_free(t);
    if (fmt == RENDER_TEXT) {
        const EtlDumpStats *st = etl_dump_stats(d);
        g_string_append_printf(out, "\nScanned %" G_GUINT64_FORMAT " pages: %" G_GUINT64_FORMAT " buffer-like, %"
                                    G_GUINT64_FORMAT " rejected, %" G_GUINT64_FORMAT " unmapped, %" G_GUINT64_FORMAT
                                    " empty, %" G_GUINT64_FORMAT " copies dropped, %" G_GUINT64_FORMAT " partial\n",
                               st->pages_scanned, st->candidates, st->rejected, st->unmapped, st->empty, st->duplicates,
                               st->partial);
        int def = etl_dump_default_logger(d);
        if (def >= 0)
            g_string_append_printf(out, "Default for -o: logger %u%s%s%s\n", etl_dump_logger(d, (uint32_t)def)->logger_id,
                                   etl_dump_logger(d, (uint32_t)def)->name ? " (" : "",
                                   etl_dump_logger(d, (uint32_t)def)->name ? etl_dump_logger(d, (uint32_t)def)->name : "",
                                   etl_dump_logger(d, (uint32_t)def)->name ? ")" : "");
    }
}

static void list_json(EtlDump *d, const char *path, FILE *fp)
{
    const EtlDumpInfo *in = etl_dump_info(d);
    const EtlDumpTimeBase *tb = etl_dump_time_base(d);
    const EtlDumpStats *st = etl_dump_stats(d);
    JsonWriter *w = json_writer_new(fp, true);
    char iso[40];
    json_begin_object(w);
    json_key(w, "dump");
    json_begin_object(w);
    json_key(w, "file"); json_string(w, path);
    json_key(w, "file_size"); json_uint(w, in->file_size);
    json_key(w, "container"); json_string(w, etl_dump_container_name(d));
    json_key(w, "pointer_size"); json_uint(w, in->is64 ? 8 : 4);
    json_key(w, "dump_type"); json_uint(w, in->dump_type);
    json_key(w, "cpus"); json_uint(w, in->cpus);
    json_key(w, "os_build"); json_uint(w, tb->os_build);
    json_key(w, "bugcheck"); json_uint(w, in->bugcheck);
    json_key(w, "truncated"); json_bool(w, in->truncated);
    json_key(w, "pages_missing"); json_uint(w, in->pages_missing);
    json_key(w, "clock_source"); json_string(w, tb->source);
    json_key(w, "perf_freq"); json_int(w, tb->perf_freq);
    json_end_object(w);
    json_key(w, "loggers");
    json_begin_array(w);
    for (uint32_t i = 0; i < etl_dump_logger_count(d); i++) {
        const EtlDumpLogger *L = etl_dump_logger(d, i);
        json_begin_object(w);
        json_key(w, "logger_id"); json_uint(w, L->logger_id);
        json_key(w, "name"); json_string(w, L->name);
        json_key(w, "buffers"); json_uint(w, L->buffers);
        json_key(w, "buffer_size"); json_uint(w, L->buffer_size);
        json_key(w, "first_time");
        if (L->first_filetime) { etl_filetime_format_iso8601(L->first_filetime, iso); json_string(w, iso); }
        else json_null(w);
        json_key(w, "last_time");
        if (L->last_filetime) { etl_filetime_format_iso8601(L->last_filetime, iso); json_string(w, iso); }
        else json_null(w);
        json_key(w, "method"); json_string(w, method_name(L));
        json_key(w, "cpus"); json_uint(w, L->cpus);
        json_key(w, "events"); json_uint(w, L->events);
        json_key(w, "kernel"); json_bool(w, L->kernel);
        json_key(w, "clock_type"); json_string(w, etl_clock_type_name(L->clock_type));
        json_key(w, "buffers_partial"); json_uint(w, L->buffers_partial);
        json_key(w, "buffers_stale"); json_uint(w, L->buffers_stale);
        json_key(w, "buffers_skipped"); json_uint(w, L->buffers_skipped);
        json_key(w, "copies_dropped"); json_uint(w, L->duplicates);
        json_end_object(w);
    }
    json_end_array(w);
    json_key(w, "scan");
    json_begin_object(w);
    json_key(w, "pages_scanned"); json_uint(w, st->pages_scanned);
    json_key(w, "candidates"); json_uint(w, st->candidates);
    json_key(w, "rejected"); json_uint(w, st->rejected);
    json_key(w, "unmapped"); json_uint(w, st->unmapped);
    json_key(w, "empty"); json_uint(w, st->empty);
    json_key(w, "copies_dropped"); json_uint(w, st->duplicates);
    json_key(w, "partial"); json_uint(w, st->partial);
    json_key(w, "diagnostics"); json_uint(w, st->diagnostics);
    json_end_object(w);
    json_end_object(w);
    json_newline(w);
    json_writer_free(w);
}

/* ------------------------------------------------------------------ writing */

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Write logger i to out; prints one summary line (and what was skipped).  false on error. */
static bool write_one(EtlDump *d, uint32_t i, const char *out, bool quiet)
{
    cli_watch_writer_outputs(); /* an interrupt removes the writer's temporary file */
    const EtlDumpLogger *L = etl_dump_logger(d, i);
    EtlDumpWriteStats ws;
    GError *err = NULL;
    if (!etl_dump_write_logger(d, i, out, &ws, &err)) {
        cli_error("%s", err->message);
        g_error_free(err);
        return false;
    }
    if (quiet) return true;
    char *ev = text_uint(ws.events), *bsz = text_bytes(L->buffer_size), first[40] = "", last[40] = "";
    if (L->first_filetime) etl_filetime_format_iso8601(L->first_filetime, first);
    if (L->last_filetime) etl_filetime_format_iso8601(L->last_filetime, last);
    printf("wrote %s: logger %u%s%s%s (%s), %" G_GUINT64_FORMAT " buffers of %s, %s events, %u CPUs", out,
           L->logger_id, L->name ? " \"" : "", L->name ? L->name : "", L->name ? "\"" : "", method_name(L), ws.buffers,
           bsz, ev, L->cpus);
    if (*first) printf(", %s to %s (%.3f s)", first, last, span_s(L));
    printf("\n");
    if (ws.partial || L->duplicates || L->buffers_skipped || ws.skipped || L->buffers_stale) {
        GString *s = g_string_new(NULL);
        if (ws.partial) g_string_append_printf(s, "%" G_GUINT64_FORMAT " buffers recovered in part", ws.partial);
        if (L->buffers_skipped + ws.skipped)
            g_string_append_printf(s, "%s%" G_GUINT64_FORMAT " buffers not recoverable (counted as BuffersLost)",
                                   s->len ? "; " : "", (uint64_t)L->buffers_skipped + ws.skipped);
        if (L->duplicates)
            g_string_append_printf(s, "%s%u duplicate or stale copies dropped", s->len ? "; " : "", L->duplicates);
        if (L->buffers_stale)
            g_string_append_printf(s, "%s%u free buffers kept (events from before the buffer's last reuse)",
                                   s->len ? "; " : "", L->buffers_stale);
        printf("  skipped: %s\n", s->str);
        g_string_free(s, TRUE);
    }
    g_free(ev);
    g_free(bsz);
    return true;
}

static char *file_name_for(const EtlDumpLogger *L, bool size_suffix)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "logger-%u", L->logger_id);
    if (size_suffix) g_string_append_printf(s, "-%u", L->buffer_size);
    if (L->name) {
        g_string_append_c(s, '-');
        for (const char *p = L->name; *p; p++)
            g_string_append_c(s, g_ascii_isalnum(*p) || *p == '-' || *p == '_' ? *p : '_');
    }
    g_string_append(s, ".etl");
    return g_string_free(s, FALSE);
}

int cmd_extract(int argc, char **argv)
{
    ExtractOpts o;
    memset(&o, 0, sizeof o);
    cli_common_init(&o.c);
    GOptionContext *ctx = cli_context_new("extract", "DUMP",
                                          "Extract ETW trace buffers from a Windows crash dump (MEMORY.DMP) or a raw\n"
                                          "memory image as .etl files: list the loggers found, write one (by default the\n"
                                          "kernel logger with the most buffers) or all of them.  No symbols needed.",
                                          extract_examples);
    GOptionEntry entries[] = {
        { "list", 'l', 0, G_OPTION_ARG_NONE, &o.list, "List the loggers found (text, csv or json with --format)", NULL },
        { "logger", 0, 0, G_OPTION_ARG_STRING, &o.logger,
          "Logger to write: its id (decimal or 0x hex) or its name (default: the kernel logger with the most buffers)",
          "ID|NAME" },
        { "all", 'a', 0, G_OPTION_ARG_NONE, &o.all, "Write every logger into the directory given with -o", NULL },
        { "carve-only", 0, 0, G_OPTION_ARG_NONE, &o.carve_only,
          "Do not follow the kernel's logger array: find buffers by carving only", NULL },
        { NULL }
    };
    g_option_context_add_main_entries(ctx, entries, NULL);
    GOptionEntry *common = cli_common_entries(&o.c, false);
    for (GOptionEntry *e = common; e->long_name; e++)
        if (!strcmp(e->long_name, "output")) {
            e->description = "Write the logger to OUT.etl (with --all: into the directory OUT; with --list: the "
                             "listing), through a temporary file renamed at the end";
            e->arg_description = "OUT";
        }
    g_option_context_add_main_entries(ctx, common, NULL);
    int rc = EXIT_USAGE;
    EtlDump *d = NULL;
    if (!cli_parse(ctx, "extract", &argc, &argv) || !cli_common_validate("extract", &o.c)) goto out;
    if (argc != 2) {
        cli_usage_error("extract", argc < 2 ? "missing DUMP" : "expected one DUMP, got %d arguments", argc - 1);
        goto out;
    }
    if (!o.list && !o.c.output) {
        cli_usage_error("extract", "say what to do: --list, -o OUT.etl (one logger) or --all -o DIR");
        goto out;
    }
    if (o.all && o.logger) {
        cli_usage_error("extract", "--all and --logger exclude each other");
        goto out;
    }
    if (o.all && !o.c.output) {
        cli_usage_error("extract", "--all needs -o DIR");
        goto out;
    }
    const char *path = argv[1];
    ExtractRun x = { .path = path, .quiet = o.c.quiet, .max_shown = 10 };
    cli_progress_init(&x.progress, "scanning", !o.c.quiet && !o.c.no_progress);
    EtlDumpOptions dopts = { .diag_fn = on_diag, .diag_user = &x, .progress_fn = on_progress, .progress_user = &x,
                             .no_discovery = o.carve_only };
    GError *err = NULL;
    rc = EXIT_RUNTIME;
    d = etl_dump_open_file(path, &dopts, &err);
    if (!d) {
        cli_error("%s", err->message);
        g_error_free(err);
        goto out;
    }
    if (!etl_dump_scan(d, &err)) {
        cli_progress_done(&x.progress);
        cli_error("%s", err->message);
        g_error_free(err);
        goto out;
    }
    cli_progress_done(&x.progress);
    const EtlDumpInfo *in = etl_dump_info(d);
    uint32_t n = etl_dump_logger_count(d);
    if (x.suppressed && !o.c.quiet)
        cli_warning("%s: %" G_GUINT64_FORMAT " more problems not shown (etla extract --list --format json counts them)",
                    path, x.suppressed);
    if (n == 0) {
        const EtlDumpStats *st = etl_dump_stats(d);
        cli_error("%s: no ETW buffers found (%s; %" G_GUINT64_FORMAT " pages scanned, %" G_GUINT64_FORMAT
                  " buffer-like pages, %" G_GUINT64_FORMAT " rejected, %" G_GUINT64_FORMAT " not mapped)%s",
                  path, etl_dump_container_name(d), st->pages_scanned, st->candidates, st->rejected, st->unmapped,
                  in->truncated ? "; the dump is truncated" : "");
        goto out;
    }

    bool ok = true;
    if (o.list) {
        CliOutput co;
        if (!cli_output_open(&co, o.all ? NULL : o.c.output, path)) goto out;
        if (o.c.format == RENDER_JSON) {
            list_json(d, path, co.fp);
        } else {
            GString *s = g_string_new(NULL);
            list_text(d, path, o.c.format, s);
            fwrite(s->str, 1, s->len, co.fp);
            g_string_free(s, TRUE);
        }
        ok = cli_output_commit(&co);
    } else if (o.all) {
        const char *dir = o.c.output;
        if (g_mkdir_with_parents(dir, 0777) != 0 || !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
            cli_error("cannot create the directory %s: %s", dir, g_strerror(errno));
            goto out;
        }
        for (uint32_t i = 0; i < n && ok; i++) {
            const EtlDumpLogger *L = etl_dump_logger(d, i);
            bool dup_id = (i > 0 && etl_dump_logger(d, i - 1)->logger_id == L->logger_id) ||
                          (i + 1 < n && etl_dump_logger(d, i + 1)->logger_id == L->logger_id);
            char *name = file_name_for(L, dup_id);
            char *file = g_build_filename(dir, name, NULL);
            ok = write_one(d, i, file, o.c.quiet);
            g_free(file);
            g_free(name);
        }
    } else {
        int which;
        if (o.logger) {
            which = etl_dump_find_logger(d, o.logger);
            if (which == -2) {
                cli_error("%s: logger id %s has buffers of several sizes; use --all", path, o.logger);
                goto out;
            }
            if (which < 0) {
                GString *s = g_string_new(NULL);
                for (uint32_t i = 0; i < n; i++) {
                    const EtlDumpLogger *L = etl_dump_logger(d, i);
                    g_string_append_printf(s, "%s%u%s%s%s", i ? ", " : "", L->logger_id, L->name ? " (" : "",
                                           L->name ? L->name : "", L->name ? ")" : "");
                }
                cli_error("%s: no logger '%s' in the dump (found: %s)", path, o.logger, s->str);
                g_string_free(s, TRUE);
                goto out;
            }
        } else {
            which = etl_dump_default_logger(d);
        }
        if (same_file(o.c.output, path)) {
            cli_error("refusing to write %s: it is the dump being read", o.c.output);
            goto out;
        }
        ok = write_one(d, (uint32_t)which, o.c.output, o.c.quiet);
    }
    if (!ok) goto out;
    if (in->truncated) {
        cli_error("%s is truncated (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " stored pages missing): %s", path,
                  in->pages_missing, in->pages_stored,
                  o.list ? "the list holds what could be read" : "what could be recovered was written");
        goto out;
    }
    rc = EXIT_OK;
out:
    etl_dump_free(d);
    g_option_context_free(ctx);
    cli_common_clear(&o.c);
    g_free(o.logger);
    return rc;
}
