/* cmd-dump.c — `etla dump TRACE`: one line per event in time order. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static const char *dump_examples =
    "Examples:\n"
    "  etla dump trace.etl | less -S\n"
    "  etla dump --provider PerfInfo --event DPC --limit 20 trace.etl\n"
    "  etla dump --event Pool/PoolAlloc --from 5 --to 6 trace.etl\n"
    "  etla dump --pid 4 --format json trace.etl | jq -c 'select(.event == \"DCStart\")'\n"
    "  etla dump --format csv -o events.csv trace.etl\n"
    "\n"
    "Each line: time in seconds from the trace start, CPU, process and thread ids ('-' when\n"
    "the event header has none: PerfInfo-header events such as DPC, ISR and CSwitch),\n"
    "Provider/Event, then the decoded fields.  Events without a decoder show their payload\n"
    "in hex.  --format json writes JSON lines (one object per event).";

typedef struct {
    CliCommon  c;
    char      *provider;
    char      *event;
    gint64     pid, tid;
    gint64     limit;
    gint64     max_hex;
    gboolean   raw;
    /* resolved filters */
    EtlGuid    provider_guid;
    bool       provider_is_guid;
    char      *event_provider;   /* "Provider/Event" form: provider part */
    char      *event_name;
    long       event_num;        /* numeric --event: opcode or event id */
    bool       event_is_num;
} DumpOpts;

typedef struct {
    DumpOpts               *o;
    const EtlLogfileHeader *h;
    GString                *line;
    JsonWriter             *jw;   /* json */
    GString                *tmp;
    bool                    first_field;
} DumpCtx;

/* ------------------------------------------------------------------ filters */

static bool ascii_eq_astr(const char *want, EtlAStr a)
{
    return strlen(want) == a.len && g_ascii_strncasecmp(want, a.p, a.len) == 0;
}

static bool provider_matches(const DumpOpts *o, const EtlEvent *ev, const char *want)
{
    if (o->provider_is_guid && want == o->provider) return etl_guid_equal(&ev->provider, &o->provider_guid);
    EtlGuid g;
    if (etl_guid_parse(want, &g)) return etl_guid_equal(&ev->provider, &g);
    const char *n = etl_provider_name(&ev->provider);
    if (n) return g_ascii_strcasecmp(n, want) == 0;
    if (ev->kind == ETL_HDR_EVENT) return ascii_eq_astr(want, etl_event_tl_provider_name(ev));
    return false;
}

static bool event_matches(const DumpOpts *o, const EtlEvent *ev)
{
    if (o->event_provider && !provider_matches(o, ev, o->event_provider)) return false;
    bool kernelish = etl_header_kind_is_opcode_keyed(ev->kind);
    if (o->event_is_num) return kernelish ? ev->opcode == o->event_num : ev->event_id == o->event_num;
    if (kernelish) {
        const char *n = etl_opcode_name(&ev->provider, ev->opcode);
        return n && g_ascii_strcasecmp(n, o->event_name) == 0;
    }
    if (ev->kind == ETL_HDR_EVENT) return ascii_eq_astr(o->event_name, etl_event_tl_event_name(ev));
    return false;
}

static bool passes(const DumpOpts *o, const EtlEvent *ev)
{
    if (o->pid >= 0 && (ev->pid == ETL_NO_ID || ev->pid != (uint64_t)o->pid)) return false;
    if (o->tid >= 0 && (ev->tid == ETL_NO_ID || ev->tid != (uint64_t)o->tid)) return false;
    if (o->provider && !provider_matches(o, ev, o->provider)) return false;
    if (o->event && !event_matches(o, ev)) return false;
    return true;
}

/* ------------------------------------------------------------------ field formatting */

static void append_tag(GString *s, uint32_t tag)
{
    for (int i = 0; i < 4; i++) {
        uint8_t c = (uint8_t)(tag >> (8 * i));
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') g_string_append_c(s, (char)c);
        else g_string_append_printf(s, "\\x%02x", c);
    }
}

static void append_hex(GString *s, const uint8_t *p, uint32_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (uint32_t i = 0; i < n; i++) {
        g_string_append_c(s, hx[p[i] >> 4]);
        g_string_append_c(s, hx[p[i] & 15]);
    }
}

/* Text value of a field (no quoting). */
static void field_text(DumpCtx *x, GString *s, EtlFieldType type, const EtlFieldValue *v)
{
    char g[ETL_GUID_STRLEN];
    switch (type) {
    case ETL_FIELD_U64: g_string_append_printf(s, "%" G_GUINT64_FORMAT, v->u); break;
    case ETL_FIELD_I64: g_string_append_printf(s, "%" G_GINT64_FORMAT, v->i); break;
    case ETL_FIELD_HEX: g_string_append_printf(s, "0x%" G_GINT64_MODIFIER "x", v->u); break;
    case ETL_FIELD_BOOL: g_string_append(s, v->u ? "true" : "false"); break;
    case ETL_FIELD_ASTR: etl_astr_append_utf8(s, v->astr); break;
    case ETL_FIELD_WSTR: etl_wstr_append_utf8(s, v->wstr); break;
    case ETL_FIELD_GUID: etl_guid_format(&v->guid, g); g_string_append(s, g); break;
    case ETL_FIELD_TAG: append_tag(s, (uint32_t)v->u); break;
    case ETL_FIELD_BYTES: append_hex(s, v->bytes.p, v->bytes.len); break;
    case ETL_FIELD_TIME: {
        char b[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(b, sizeof b, "%.9f", etl_time_rel_s(x->h, v->i));
        g_string_append(s, b);
        break;
    }
    case ETL_FIELD_DURATION: {
        char b[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(b, sizeof b, "%.3f", (double)etl_ticks_to_ns(x->h, v->i) / 1000.0);
        g_string_append(s, b);
        break;
    }
    }
}

static bool needs_quotes(EtlFieldType t) { return t == ETL_FIELD_ASTR || t == ETL_FIELD_WSTR || t == ETL_FIELD_TAG; }

static void emit_text_field(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    DumpCtx *x = ctx;
    GString *s = x->line;
    g_string_append_c(s, ' ');
    g_string_append(s, name);
    g_string_append_c(s, '=');
    if (needs_quotes(type)) {
        g_string_truncate(x->tmp, 0);
        field_text(x, x->tmp, type, v);
        g_string_append_c(s, '"');
        for (gsize i = 0; i < x->tmp->len; i++) {
            char c = x->tmp->str[i];
            /* Text is for people: Windows paths keep their backslashes; only quotes are escaped. */
            if (c == '"') g_string_append_c(s, '\\');
            if ((unsigned char)c < 0x20) g_string_append_printf(s, "\\x%02x", (unsigned char)c);
            else g_string_append_c(s, c);
        }
        g_string_append_c(s, '"');
    } else {
        field_text(x, s, type, v);
    }
}

static void emit_json_field(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    DumpCtx *x = ctx;
    json_key(x->jw, name);
    switch (type) {
    case ETL_FIELD_U64: json_uint(x->jw, v->u); break;
    case ETL_FIELD_I64: json_int(x->jw, v->i); break;
    case ETL_FIELD_BOOL: json_bool(x->jw, v->u != 0); break;
    case ETL_FIELD_TIME: json_double(x->jw, etl_time_rel_s(x->h, v->i), 9); break;
    case ETL_FIELD_DURATION: json_double(x->jw, (double)etl_ticks_to_ns(x->h, v->i) / 1000.0, 3); break;
    default:
        g_string_truncate(x->tmp, 0);
        field_text(x, x->tmp, type, v);
        json_string_len(x->jw, x->tmp->str, x->tmp->len);
        break;
    }
}

/* ------------------------------------------------------------------ one event */

static void format_id(GString *s, uint32_t id)
{
    if (id == ETL_NO_ID) g_string_append_c(s, '-');
    else g_string_append_printf(s, "%u", id);
}

static void dump_text(DumpCtx *x, const EtlEvent *ev, FILE *fp)
{
    GString *s = x->line;
    g_string_truncate(s, 0);
    char tbuf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(tbuf, sizeof tbuf, "%.9f", etl_time_rel_s(x->h, ev->timestamp));
    g_string_append_printf(s, "%14s %3u ", tbuf, ev->cpu);
    GString *id = x->tmp;
    g_string_truncate(id, 0);
    format_id(id, ev->pid);
    g_string_append_printf(s, "%6s ", id->str);
    g_string_truncate(id, 0);
    format_id(id, ev->tid);
    g_string_append_printf(s, "%6s ", id->str);
    char *pl = cli_provider_label(ev), *el = cli_event_label(ev);
    text_append_safe(s, pl); /* TraceLogging names come from the trace */
    g_string_append_c(s, '/');
    text_append_safe(s, el);
    g_free(pl);
    g_free(el);
    EtlKernelEvent k;
    bool decoded = etl_kernel_decode(ev, &k) == ETL_DECODE_OK; /* UNKNOWN for event-id kinds */
    if (decoded) etl_kernel_emit_fields(ev, &k, emit_text_field, x);
    if ((!decoded || x->o->raw) && ev->payload_len) {
        uint32_t n = ev->payload_len;
        uint32_t shown = x->o->max_hex > 0 && n > (uint64_t)x->o->max_hex ? (uint32_t)x->o->max_hex : n;
        g_string_append_printf(s, " payload[%u]=", n);
        append_hex(s, ev->payload, shown);
        if (shown < n) g_string_append(s, "…");
    }
    g_string_append_c(s, '\n');
    fwrite(s->str, 1, s->len, fp);
}

static void dump_csv_header(FILE *fp)
{
    fputs("time_s,timestamp,cpu,pid,tid,provider,provider_guid,event,opcode,event_id,version,header,fields,payload_hex\n",
          fp);
}

static void dump_csv(DumpCtx *x, const EtlEvent *ev, FILE *fp)
{
    GString *s = x->line;
    g_string_truncate(s, 0);
    char tbuf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(tbuf, sizeof tbuf, "%.9f", etl_time_rel_s(x->h, ev->timestamp));
    g_string_append_printf(s, "%s,%" G_GINT64_FORMAT ",%u,", tbuf, ev->timestamp, ev->cpu);
    if (ev->pid != ETL_NO_ID) g_string_append_printf(s, "%u", ev->pid);
    g_string_append_c(s, ',');
    if (ev->tid != ETL_NO_ID) g_string_append_printf(s, "%u", ev->tid);
    g_string_append_c(s, ',');
    char *pl = cli_provider_label(ev), *el = cli_event_label(ev);
    char g[ETL_GUID_STRLEN];
    etl_guid_format(&ev->provider, g);
    csv_field_append(s, pl, strlen(pl));
    g_string_append_printf(s, ",%s,", g);
    csv_field_append(s, el, strlen(el));
    g_free(pl);
    g_free(el);
    bool idful = ev->kind == ETL_HDR_EVENT || ev->kind == ETL_HDR_MESSAGE;
    g_string_append_printf(s, ",%u,", ev->opcode);
    if (idful) g_string_append_printf(s, "%u", ev->event_id);
    g_string_append_printf(s, ",%u,%s,", ev->version, etl_header_kind_name(ev->kind));
    EtlKernelEvent k;
    bool decoded = etl_kernel_decode(ev, &k) == ETL_DECODE_OK; /* UNKNOWN for event-id kinds */
    if (decoded) {
        GString *saved = x->line;
        GString *f = g_string_new(NULL);
        x->line = f;
        etl_kernel_emit_fields(ev, &k, emit_text_field, x);
        x->line = saved;
        const char *fs = f->len && f->str[0] == ' ' ? f->str + 1 : f->str;
        csv_field_append(s, fs, strlen(fs));
        g_string_free(f, TRUE);
    }
    g_string_append_c(s, ',');
    if (!decoded || x->o->raw) append_hex(s, ev->payload, ev->payload_len);
    g_string_append_c(s, '\n');
    fwrite(s->str, 1, s->len, fp);
}

static void dump_json(DumpCtx *x, const EtlEvent *ev)
{
    JsonWriter *w = x->jw;
    char g[ETL_GUID_STRLEN];
    json_begin_object(w);
    json_key(w, "time_s"); json_double(w, etl_time_rel_s(x->h, ev->timestamp), 9);
    json_key(w, "timestamp"); json_int(w, ev->timestamp);
    json_key(w, "cpu"); json_uint(w, ev->cpu);
    json_key(w, "pid"); if (ev->pid != ETL_NO_ID) json_uint(w, ev->pid); else json_null(w);
    json_key(w, "tid"); if (ev->tid != ETL_NO_ID) json_uint(w, ev->tid); else json_null(w);
    char *pl = cli_provider_label(ev), *el = cli_event_label(ev);
    json_key(w, "provider"); json_string(w, pl);
    etl_guid_format(&ev->provider, g);
    json_key(w, "provider_guid"); json_string(w, g);
    json_key(w, "event"); json_string(w, el);
    g_free(pl);
    g_free(el);
    json_key(w, "opcode"); json_uint(w, ev->opcode);
    json_key(w, "event_id");
    if (ev->kind == ETL_HDR_EVENT || ev->kind == ETL_HDR_MESSAGE) json_uint(w, ev->event_id); else json_null(w);
    json_key(w, "version"); json_uint(w, ev->version);
    json_key(w, "header"); json_string(w, etl_header_kind_name(ev->kind));
    json_key(w, "offset"); json_uint(w, ev->file_offset);
    EtlKernelEvent k;
    bool decoded = etl_kernel_decode(ev, &k) == ETL_DECODE_OK; /* UNKNOWN for event-id kinds */
    if (decoded) {
        json_key(w, "fields");
        json_begin_object(w);
        etl_kernel_emit_fields(ev, &k, emit_json_field, x);
        json_end_object(w);
    }
    if (!decoded || x->o->raw) {
        g_string_truncate(x->tmp, 0);
        append_hex(x->tmp, ev->payload, ev->payload_len);
        json_key(w, "payload_hex"); json_string_len(w, x->tmp->str, x->tmp->len);
    }
    json_end_object(w);
    json_newline(w);
}

/* ------------------------------------------------------------------ command */

static bool resolve_filters(DumpOpts *o)
{
    if (o->provider) o->provider_is_guid = etl_guid_parse(o->provider, &o->provider_guid);
    if (o->event) {
        const char *slash = strrchr(o->event, '/');
        if (slash) {
            o->event_provider = g_strndup(o->event, slash - o->event);
            o->event_name = g_strdup(slash + 1);
        } else {
            o->event_name = g_strdup(o->event);
        }
        /* decimal, or hex with an explicit 0x (never octal: "010" is ten) */
        char *end = NULL;
        errno = 0;
        bool hex = g_str_has_prefix(o->event_name, "0x") || g_str_has_prefix(o->event_name, "0X");
        long v = strtol(o->event_name + (hex ? 2 : 0), &end, hex ? 16 : 10);
        if (end && *end == 0 && end != o->event_name + (hex ? 2 : 0) && errno == 0) {
            if (v < 0 || v > 65535) {
                cli_usage_error("dump", "--event %s: a numeric event must be an opcode or event id (0-65535)", o->event);
                return false;
            }
            o->event_is_num = true;
            o->event_num = v;
        }
        if (!*o->event_name) {
            cli_usage_error("dump", "--event '%s' names no event", o->event);
            return false;
        }
    }
    return true;
}

int cmd_dump(int argc, char **argv)
{
    /* INT64_MIN = not given, so that a typed negative id is a usage error, not "no filter" */
    DumpOpts o = { .pid = INT64_MIN, .tid = INT64_MIN, .limit = -1, .max_hex = 64 };
    cli_common_init(&o.c);
    GOptionEntry own[] = {
        { "provider", 'p', 0, G_OPTION_ARG_STRING, &o.provider,
          "Only events of this provider: a name as shown (PerfInfo, Image, Pool, a TraceLogging name) or a GUID",
          "NAME|GUID" },
        { "event", 'e', 0, G_OPTION_ARG_STRING, &o.event,
          "Only this event: a name (DPC), Provider/Event (PerfInfo/DPC), or a number (opcode of kernel and "
          "classic events, event id of manifest events)",
          "EVENT" },
        { "pid", 0, 0, G_OPTION_ARG_INT64, &o.pid, "Only events whose header carries this process id", "PID" },
        { "tid", 0, 0, G_OPTION_ARG_INT64, &o.tid, "Only events whose header carries this thread id", "TID" },
        { "limit", 'n', 0, G_OPTION_ARG_INT64, &o.limit, "Stop after N events", "N" },
        { "raw", 0, 0, G_OPTION_ARG_NONE, &o.raw,
          "Also show the payload bytes of decoded events (hex), to check a decoder against the bytes", NULL },
        { "max-hex", 0, 0, G_OPTION_ARG_INT64, &o.max_hex,
          "Text format: show at most N payload bytes of undecoded events (0 = all; default 64)", "N" },
        { NULL },
    };
    GOptionContext *ctx = cli_context_new("dump", "TRACE",
                                          "Print every event in time order with its decoded fields.", dump_examples);
    g_option_context_add_main_entries(ctx, own, NULL);
    g_option_context_add_main_entries(ctx, cli_common_entries(&o.c, true), NULL);
    int rc = EXIT_USAGE;
    if (!cli_parse(ctx, "dump", &argc, &argv) || !cli_common_validate("dump", &o.c) || !resolve_filters(&o)) goto out;
    if (argc != 2) {
        cli_usage_error("dump", argc < 2 ? "missing TRACE" : "expected one TRACE, got %d arguments", argc - 1);
        goto out;
    }
    if (o.limit < -1 || o.max_hex < 0) {
        cli_usage_error("dump", "--limit and --max-hex must not be negative");
        goto out;
    }
    if ((o.pid != INT64_MIN && (o.pid < 0 || o.pid > UINT32_MAX)) ||
        (o.tid != INT64_MIN && (o.tid < 0 || o.tid > UINT32_MAX))) {
        cli_usage_error("dump", "--pid and --tid take a process or thread id (0 to 4294967295)");
        goto out;
    }
    if (o.pid == INT64_MIN) o.pid = -1;
    if (o.tid == INT64_MIN) o.tid = -1;
    CliDiagPrinter dp = { .quiet = o.c.quiet };
    EtlTrace *t = cli_open_trace(argv[1], &dp);
    if (!t) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    const EtlLogfileHeader *h = etl_trace_header(t);
    int64_t from = isnan(o.c.from_s) ? INT64_MIN : etl_time_from_rel_s(h, o.c.from_s);
    int64_t to = isnan(o.c.to_s) ? INT64_MAX : etl_time_from_rel_s(h, o.c.to_s);
    CliOutput out;
    if (!cli_output_open(&out, o.c.output, argv[1])) {
        etl_trace_free(t);
        rc = EXIT_RUNTIME;
        goto out;
    }
    static char iobuf[1 << 16];
    if (out.fp == stdout) setvbuf(stdout, iobuf, _IOFBF, sizeof iobuf);
    DumpCtx x = { .o = &o, .h = h, .line = g_string_sized_new(512), .tmp = g_string_sized_new(256) };
    if (o.c.format == RENDER_JSON) x.jw = json_writer_new(out.fp, false);
    if (o.c.format == RENDER_CSV) dump_csv_header(out.fp);
    if (o.c.format == RENDER_TEXT) fprintf(out.fp, "%14s %3s %6s %6s %s\n", "time_s", "cpu", "pid", "tid", "event and fields");

    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    CliProgress pr;
    cli_progress_init(&pr, "reading", !o.c.quiet && !o.c.no_progress && out.fp != stdout);
    const EtlEvent *ev;
    int64_t printed = 0;
    uint64_t n = 0;
    while ((o.limit < 0 || printed < o.limit) && (ev = etl_reader_next(r))) {
        if (G_UNLIKELY((++n & 0xFFFF) == 0) && pr.enabled) {
            uint64_t done, all;
            etl_reader_progress(r, &done, &all);
            cli_progress_update(&pr, done, all);
        }
        /* Filter, do not stop at the first event past --to: a CPU stream with a time inversion
         * can still hold events inside the window after it (the merge is only as ordered as
         * each stream is). */
        if (ev->timestamp < from || ev->timestamp > to) continue;
        if (!passes(&o, ev)) continue;
        if (o.c.format == RENDER_JSON) dump_json(&x, ev);
        else if (o.c.format == RENDER_CSV) dump_csv(&x, ev, out.fp);
        else dump_text(&x, ev, out.fp);
        printed++;
        if (G_UNLIKELY(ferror(out.fp))) break;
    }
    cli_progress_done(&pr);
    etl_reader_free(r);
    json_writer_free(x.jw);
    g_string_free(x.line, TRUE);
    g_string_free(x.tmp, TRUE);
    rc = cli_output_commit(&out) ? EXIT_OK : EXIT_RUNTIME;
    cli_diag_summary(&dp);
    etl_trace_free(t);
out:
    g_option_context_free(ctx);
    cli_common_clear(&o.c);
    g_free(o.provider);
    g_free(o.event);
    g_free(o.event_provider);
    g_free(o.event_name);
    return rc;
}
