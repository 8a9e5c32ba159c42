/* cmd-dump.c — `etla dump TRACE`: one line per event in time order. */
#include "cli.h"
#include "profile-select.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static const char *dump_examples =
    "Examples:\n"
    "  etla dump trace.etl | less -S\n"
    "  etla dump --provider PerfInfo --event DPC --limit 20 trace.etl\n"
    "  etla dump --event Pool/PoolAlloc --from 5 --to 6 trace.etl\n"
    "  etla dump --pid 4 --format json trace.etl | jq -c 'select(.event == \"DCStart\")'\n"
    "  etla dump --stacks --event Pool/PoolAlloc --from 10 --limit 5 trace.etl\n"
    "  etla dump --format csv -o events.csv trace.etl\n"
    "\n"
    "Each line: time in seconds from the trace start, CPU, the owner's process id, thread id\n"
    "and process name (from the header, the payload, or for PerfInfo-header events such as\n"
    "DPC and ISR the thread running on that CPU; '-' when unknown), Provider/Event, then the\n"
    "decoded fields.  Events without a decoder show their payload in hex.  --stacks adds the\n"
    "call stack under each event, innermost frame first, as module+offset.  --format json\n"
    "writes JSON lines (one object per event).";

typedef struct {
    CliCommon  c;
    char      *provider;
    char      *event;
    gint64     pid, tid;
    gint64     limit;
    gint64     max_hex;
    gboolean   raw;
    gboolean   stacks;
    char      *profile;
    CliProfile prof;
    /* resolved filters */
    EtlGuid    provider_guid;
    bool       provider_is_guid;
    char      *event_provider;   /* "Provider/Event" form: provider part */
    char      *event_name;
    long       event_num;        /* numeric --event: opcode or event id */
    bool       event_is_num;
} DumpOpts;

/* An event formatted but held back until its stack is in (--stacks). */
typedef struct {
    char          *text;  /* text: the line; csv: the row without its newline; json: the object */
    size_t         len;
    ModelStackRef  ref;
    ModelProcess  *process;
    int64_t        ts;
} Held;

typedef struct {
    DumpOpts               *o;
    const EtlLogfileHeader *h;
    GString                *line;
    JsonWriter             *jw;   /* json */
    GString                *tmp;
    FILE                   *fp;   /* where events are formatted: the output, or mem with --stacks */
    Model                  *model;
    ModelCtx                mc;   /* the current event's owner */
    /* --stacks */
    FILE                   *mem;
    char                   *mem_buf;
    size_t                  mem_len;
    GQueue                 *held; /* Held*, oldest first */
    FILE                   *out;
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

static bool passes(const DumpOpts *o, const EtlEvent *ev, const ModelCtx *mc)
{
    if (!cli_profile_event(&o->prof, ev)) return false;
    if (o->pid >= 0 && (mc->pid == ETL_NO_ID || mc->pid != (uint64_t)o->pid)) return false;
    if (o->tid >= 0 && (mc->tid == ETL_NO_ID || mc->tid != (uint64_t)o->tid)) return false;
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

/* The owner's image name; "Idle"/"System" for 0/4; "-" when unknown. */
static const char *process_label(const DumpCtx *x)
{
    const char *n = x->mc.process ? x->mc.process->image_name : NULL;
    if (n) return n;
    if (x->mc.pid == 0) return "Idle";
    if (x->mc.pid == 4) return "System";
    return "-";
}

static const char *owner_source(ModelAttr a)
{
    switch (a) {
    case MODEL_ATTR_HEADER: return "header";
    case MODEL_ATTR_PAYLOAD: return "payload";
    case MODEL_ATTR_CPU: return "cpu";
    default: return NULL;
    }
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
    format_id(id, x->mc.pid);
    g_string_append_printf(s, "%6s ", id->str);
    g_string_truncate(id, 0);
    format_id(id, x->mc.tid);
    g_string_append_printf(s, "%6s ", id->str);
    g_string_truncate(id, 0);
    text_append_safe(id, process_label(x));
    g_string_append_printf(s, "%-16s ", id->str);
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

static void dump_csv_header(FILE *fp, bool stacks)
{
    fputs("time_s,timestamp,cpu,pid,tid,owner_pid,owner_tid,owner_source,process,provider,provider_guid,event,opcode,"
          "event_id,version,header,fields,payload_hex",
          fp);
    fputs(stacks ? ",stack_pid,stack_tid,stack\n" : "\n", fp);
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
    if (x->mc.pid != ETL_NO_ID) g_string_append_printf(s, "%u", x->mc.pid);
    g_string_append_c(s, ',');
    if (x->mc.tid != ETL_NO_ID) g_string_append_printf(s, "%u", x->mc.tid);
    g_string_append_c(s, ',');
    const char *os = owner_source(x->mc.attr);
    if (os) g_string_append(s, os);
    g_string_append_c(s, ',');
    const char *pn = x->mc.process ? x->mc.process->image_name : NULL;
    if (pn) csv_field_append(s, pn, strlen(pn));
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
    json_key(w, "owner_pid"); if (x->mc.pid != ETL_NO_ID) json_uint(w, x->mc.pid); else json_null(w);
    json_key(w, "owner_tid"); if (x->mc.tid != ETL_NO_ID) json_uint(w, x->mc.tid); else json_null(w);
    json_key(w, "owner_source"); json_string(w, owner_source(x->mc.attr));
    json_key(w, "process"); json_string(w, x->mc.process ? x->mc.process->image_name : NULL);
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

/* ------------------------------------------------------------------ stacks */

/* The frames of a held event's stack, formatted for its output format. */
static void stack_append(DumpCtx *x, const Held *hd, GString *s)
{
    ModelStackId id = model_stack_get(x->model, hd->ref);
    ModelStackId canon = model_stack_canonical(x->model, id);
    uint32_t n = 0;
    const uint64_t *f = model_stack_frames(x->model, canon, &n, NULL);
    bool user = false;
    uint64_t key = model_stack_pending_key(x->model, canon, &user);
    GString *fr = x->tmp;
    RenderFormat fmt = x->o->c.format;
    uint32_t spid, stid;
    model_stack_ref_thread(x->model, hd->ref, &spid, &stid);
    if (fmt == RENDER_TEXT && stid != ETL_NO_ID && (n || key)) {
        /* the thread the stack was walked on: the owner when the header names none */
        g_string_truncate(fr, 0);
        model_format_process(model_process_at(x->model, spid, hd->ts), spid, fr);
        g_string_append_printf(s, "%18sstack of thread %u in ", "", stid);
        text_append_safe(s, fr->str);
        g_string_append_c(s, '\n');
    } else if (fmt == RENDER_JSON) {
        g_string_append(s, ",\"stack_pid\":");
        if (spid != ETL_NO_ID) g_string_append_printf(s, "%u", spid); else g_string_append(s, "null");
        g_string_append(s, ",\"stack_tid\":");
        if (stid != ETL_NO_ID) g_string_append_printf(s, "%u", stid); else g_string_append(s, "null");
    } else if (fmt == RENDER_CSV) {
        if (spid != ETL_NO_ID) g_string_append_printf(s, "%u", spid);
        g_string_append_c(s, ',');
        if (stid != ETL_NO_ID) g_string_append_printf(s, "%u", stid);
        g_string_append_c(s, ',');
    }
    if (fmt == RENDER_JSON) g_string_append(s, ",\"stack\":[");
    for (uint32_t i = 0; i < n; i++) {
        g_string_truncate(fr, 0);
        model_format_frame(x->model, hd->process, f[i], hd->ts, fr);
        if (fmt == RENDER_TEXT) {
            g_string_append_printf(s, "%18s#%-3u ", "", i);
            text_append_safe(s, fr->str);
            g_string_append_c(s, '\n');
        } else if (fmt == RENDER_JSON) {
            if (i) g_string_append_c(s, ',');
            json_escape_append(s, fr->str, fr->len);
        } else {
            if (i) g_string_append_c(s, ';');
            g_string_append(s, fr->str);
        }
    }
    if (key) {
        g_string_truncate(fr, 0);
        g_string_append_printf(fr, "%s stack key 0x%" G_GINT64_MODIFIER "x: not defined in the trace",
                               user ? "user" : "kernel", key);
        if (fmt == RENDER_TEXT) g_string_append_printf(s, "%18s(%s)\n", "", fr->str);
        else if (fmt == RENDER_JSON) {
            if (n) g_string_append_c(s, ',');
            json_escape_append(s, fr->str, fr->len);
        } else {
            if (n) g_string_append_c(s, ';');
            g_string_append_printf(s, "(%s)", fr->str);
        }
    }
    if (fmt == RENDER_JSON) g_string_append(s, "]}\n");
}

static void held_write(DumpCtx *x, Held *hd)
{
    GString *s = x->line;
    g_string_truncate(s, 0);
    size_t keep = hd->len;
    RenderFormat fmt = x->o->c.format;
    if (fmt == RENDER_CSV && keep) keep -= 1;                  /* the newline */
    else if (fmt == RENDER_JSON && keep >= 2) keep -= 2;       /* the closing brace and newline */
    g_string_append_len(s, hd->text, (gssize)keep);
    if (fmt == RENDER_CSV) g_string_append_c(s, ',');
    if (hd->ref) {
        GString *st = g_string_new(NULL);
        stack_append(x, hd, st);
        if (fmt == RENDER_CSV) { /* "pid,tid," then the frames as one field */
            const char *c2 = strchr(st->str, ',');
            c2 = c2 ? strchr(c2 + 1, ',') : NULL;
            size_t head = c2 ? (size_t)(c2 - st->str) + 1 : 0;
            g_string_append_len(s, st->str, (gssize)head);
            csv_field_append(s, st->str + head, st->len - head);
        } else {
            g_string_append_len(s, st->str, (gssize)st->len);
        }
        g_string_free(st, TRUE);
    } else if (fmt == RENDER_JSON) {
        g_string_append(s, ",\"stack_pid\":null,\"stack_tid\":null,\"stack\":null}\n");
    } else if (fmt == RENDER_CSV) {
        g_string_append(s, ",,");
    }
    if (fmt == RENDER_CSV) g_string_append_c(s, '\n');
    fwrite(s->str, 1, s->len, x->out);
    model_stack_unref(x->model, hd->ref);
    g_free(hd->text);
    g_free(hd);
}

#define HELD_MAX 4096 /* events held back at most: a user half later than that is not waited for */

/* Write the held events whose stacks can change no more (all of them when all is set). */
static void flush_held(DumpCtx *x, bool all)
{
    Held *hd;
    while ((hd = g_queue_peek_head(x->held)) &&
           (all || x->held->length > HELD_MAX || model_stack_settled(x->model, hd->ref)))
        held_write(x, g_queue_pop_head(x->held));
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
        { "stacks", 's', 0, G_OPTION_ARG_NONE, &o.stacks,
          "Show each event's call stack (module+offset frames, innermost first), kernel and user "
          "halves joined and stack keys resolved (reads the trace twice when it uses stack keys)",
          NULL },
        CLI_PROFILE_ENTRY(&o.profile),
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
    if (!cli_profile_load(&o.prof, o.profile, o.c.quiet)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
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
    DumpCtx x = { .o = &o, .h = h, .line = g_string_sized_new(512), .tmp = g_string_sized_new(256), .out = out.fp };
    x.model = model_new(t, o.stacks ? MODEL_PRESCAN_STACK_KEYS : 0);
    x.fp = out.fp;
    if (o.stacks) {
        x.mem = open_memstream(&x.mem_buf, &x.mem_len);
        x.held = g_queue_new();
        if (!x.mem) {
            cli_error("cannot allocate memory for --stacks");
            rc = EXIT_RUNTIME;
            goto done;
        }
        x.fp = x.mem;
    }
    if (o.c.format == RENDER_JSON) x.jw = json_writer_new(x.fp, false);
    if (o.c.format == RENDER_CSV) dump_csv_header(out.fp, o.stacks);
    if (o.c.format == RENDER_TEXT)
        fprintf(out.fp, "%14s %3s %6s %6s %-16s %s\n", "time_s", "cpu", "pid", "tid", "process", "event and fields");

    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    CliProgress pr;
    cli_progress_init(&pr, "reading", !o.c.quiet && !o.c.no_progress && out.fp != stdout);
    const EtlEvent *ev;
    int64_t printed = 0;
    uint64_t n = 0;
    while ((ev = etl_reader_next(r))) {
        bool full = o.limit >= 0 && printed >= o.limit;
        /* past --limit, read on only while held events wait for their stacks */
        if (full && (!x.held || g_queue_is_empty(x.held))) break;
        if (G_UNLIKELY((++n & 0xFFFF) == 0) && pr.enabled) {
            uint64_t done, all;
            etl_reader_progress(r, &done, &all);
            cli_progress_update(&pr, done, all);
        }
        /* Every event goes to the model (ownership, images and stacks need the whole history). */
        EtlKernelEvent k;
        bool decoded = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        bool stackable = model_event(x.model, ev, decoded ? &k : NULL, &x.mc);
        if (x.held) flush_held(&x, false);
        if (full) continue;
        /* Filter, do not stop at the first event past --to: a CPU stream with a time inversion
         * can still hold events inside the window after it (the merge is only as ordered as
         * each stream is). */
        if (ev->timestamp < from || ev->timestamp > to) continue;
        if (!passes(&o, ev, &x.mc)) continue;
        if (o.c.format == RENDER_JSON) dump_json(&x, ev);
        else if (o.c.format == RENDER_CSV) dump_csv(&x, ev, x.fp);
        else dump_text(&x, ev, x.fp);
        printed++;
        if (x.held) {
            fflush(x.mem);
            Held *hd = g_new0(Held, 1);
            hd->text = g_memdup2(x.mem_buf, x.mem_len);
            hd->len = x.mem_len;
            hd->ref = stackable ? model_stack_ref(x.model) : 0;
            hd->process = x.mc.process;
            hd->ts = ev->timestamp;
            g_queue_push_tail(x.held, hd);
            rewind(x.mem);
            x.mem_len = 0;
        }
        if (G_UNLIKELY(ferror(out.fp))) break;
    }
    model_finish(x.model);
    if (x.held) flush_held(&x, true);
    cli_progress_done(&pr);
    etl_reader_free(r);
done:
    json_writer_free(x.jw);
    if (x.mem) fclose(x.mem);
    free(x.mem_buf);
    if (x.held) g_queue_free(x.held);
    model_free(x.model);
    g_string_free(x.line, TRUE);
    g_string_free(x.tmp, TRUE);
    if (rc == EXIT_RUNTIME) {
        cli_output_abort(&out);
        etl_trace_free(t);
        goto out;
    }
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
    g_free(o.profile);
    cli_profile_clear(&o.prof);
    return rc;
}
