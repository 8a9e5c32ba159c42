/* test-perfview.c — golden test against PerfView's baselines of the public traces.
 *
 * For each ../shared/expected/NAME.perfview-baseline.txt with its trace ../shared/traces/NAME.etl:
 *  1. every `COUNT Provider/Event:N` line of a kernel or KernelTraceControl event type must
 *     map to a (provider GUID, opcode) in perfview-kernel-names.tsv, and etla's count of that
 *     type must equal N exactly — with the baseline's own documented filtering applied
 *     (SampledProfile samples of the idle thread are dropped unless taken in a DPC or ISR);
 *  2. every `EVENT t: Provider/Event ... field=value;` line of such a type must match one of
 *     etla's events: same type, same time (PerfView prints ms rounded to 3 decimals), same CPU
 *     (ProceNum), same payload length (DataLen), and every field etla decodes under the same
 *     name (or a known alias) equal in value (PerfView truncates strings to 20 characters).
 * When ../shared is absent the test says so and is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyses.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    char    name[96];
    EtlGuid guid;
    uint8_t opcode;
} NameMap;

typedef struct {
    char  *key, *value;
} Field;

typedef struct {
    const NameMap *map;
    double         t_ms;
    GPtrArray     *fields; /* Field* */
    int            proc, datalen;
    bool           matched;
    char          *line;
    long           pid, tid;   /* PerfView's owner; -1 none */
    char          *pname;      /* "" when PerfView names none */
    long           got_pid, got_tid;          /* etla's, at the event */
    const ModelProcess *got_process;          /* named by the end of the trace */
} Expect;

static GArray *load_names(const char *path)
{
    gchar *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) fail_msg("%s", err->message);
    GArray *a = g_array_new(FALSE, TRUE, sizeof(NameMap));
    gchar **lines = g_strsplit(text, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        if (!**l || **l == '#') continue;
        gchar **f = g_strsplit(*l, "\t", -1);
        assert_true(g_strv_length(f) == 3);
        NameMap m = { 0 };
        g_strlcpy(m.name, f[0], sizeof m.name);
        assert_true(etl_guid_parse(f[1], &m.guid));
        m.opcode = (uint8_t)atoi(f[2]);
        g_array_append_val(a, m);
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(text);
    return a;
}

static const NameMap *find_name(GArray *names, const char *n)
{
    for (guint i = 0; i < names->len; i++)
        if (!strcmp(g_array_index(names, NameMap, i).name, n)) return &g_array_index(names, NameMap, i);
    return NULL;
}

static bool is_checked_name(const char *n)
{
    return g_str_has_prefix(n, "Windows Kernel/") || g_str_has_prefix(n, "MSNT_SystemTrace/") ||
           g_str_has_prefix(n, "KernelTraceControl/");
}

static double parse_num_commas(const char *s)
{
    char buf[64];
    size_t j = 0;
    for (; *s && j + 1 < sizeof buf; s++)
        if (*s != ',') buf[j++] = *s;
    buf[j] = 0;
    return g_ascii_strtod(buf, NULL);
}

/* ------------------------------------------------------------------ our events' fields */

typedef struct {
    GPtrArray *names, *values; /* char* */
    const EtlLogfileHeader *h;
} Got;

static void got_field(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    Got *g = ctx;
    GString *s = g_string_new(NULL);
    char guid[ETL_GUID_STRLEN];
    switch (type) {
    case ETL_FIELD_U64: case ETL_FIELD_HEX: case ETL_FIELD_TAG: case ETL_FIELD_BOOL:
        g_string_printf(s, "%" G_GUINT64_FORMAT, v->u);
        break;
    case ETL_FIELD_I64: case ETL_FIELD_TIME: case ETL_FIELD_DURATION: g_string_printf(s, "%" G_GINT64_FORMAT, v->i); break;
    case ETL_FIELD_ASTR: etl_astr_append_utf8(s, v->astr); break;
    case ETL_FIELD_WSTR: etl_wstr_append_utf8(s, v->wstr); break;
    case ETL_FIELD_GUID: etl_guid_format(&v->guid, guid); g_string_append(s, guid); break;
    case ETL_FIELD_BYTES: g_string_append(s, "(bytes)"); break;
    }
    g_ptr_array_add(g->names, g_strdup(name));
    g_ptr_array_add(g->values, g_string_free(s, FALSE));
}

/* PerfView's field name -> etla's, where they differ. */
static const char *alias(const char *pv)
{
    static const char *const a[][2] = {
        { "ProcessID", "ProcessId" },  { "ParentID", "ParentId" },       { "SessionID", "SessionId" },
        { "PageDirectoryBase", "DirectoryTableBase" }, { "ApplicationID", "ApplicationId" },
        { "StartAddr", "Affinity" }, /* Thread v3: the slot PerfView calls StartAddr is Affinity */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(a); i++)
        if (!strcmp(pv, a[i][0])) return a[i][1];
    return NULL;
}

/* Fields PerfView derives or formats differently (dates, symbolic flags, fixed-up paths). */
static bool skipped_field(const char *k)
{
    static const char *const skip[] = { "PID", "TID", "PName", "ProceNum", "DataLen", "BuildTime", "EndTime",
                                        "BootTime", "StartTime", "Flags", "FileName", "ParentThreadID",
                                        "ParentProcessID", "UtcOffsetMinutes", "SessionName", "LogFileName",
                                        "ProcessorNumber", "Rank", "IrpFlags" };
    for (size_t i = 0; i < G_N_ELEMENTS(skip); i++)
        if (!strcmp(k, skip[i])) return true;
    return false;
}

static bool value_matches(const char *pv, const char *ours)
{
    size_t n = strlen(pv);
    if (n > 3 && !strcmp(pv + n - 3, "...")) return strncmp(ours, pv, n - 3) == 0;
    if (!strcmp(pv, "True")) return !strcmp(ours, "1");
    if (!strcmp(pv, "False")) return !strcmp(ours, "0");
    char *end;
    if (g_str_has_prefix(pv, "0x")) {
        uint64_t a = g_ascii_strtoull(pv + 2, &end, 16);
        if (*end) return !strcmp(pv, ours);
        return a == g_ascii_strtoull(ours, NULL, 10);
    }
    /* integer, possibly with thousands separators or negative */
    bool numeric = *pv != 0;
    for (const char *p = pv; *p; p++)
        if (!(g_ascii_isdigit(*p) || *p == ',' || (*p == '-' && p == pv))) numeric = false;
    if (numeric) {
        char buf[64];
        size_t j = 0;
        for (const char *p = pv; *p && j + 1 < sizeof buf; p++)
            if (*p != ',') buf[j++] = *p;
        buf[j] = 0;
        int64_t v = g_ascii_strtoll(buf, NULL, 10);
        uint64_t o = g_ascii_strtoull(ours, &end, 10);
        if (*end || end == ours) {
            int64_t os = g_ascii_strtoll(ours, NULL, 10);
            return os == v;
        }
        return o == (uint64_t)v || (v < 0 && o == (uint32_t)v);
    }
    return !strcmp(pv, ours);
}

/* Where PerfView's printed value disagrees with the payload bytes, the bytes win
 * (docs/format-notes.md): KernelTraceControl ImageID's ProcessId u32 at @2P holds 4 for the
 * WOW64 ntdll images of win8-x64-compressed-net452 (`etla dump --raw` shows 04000000), PerfView
 * prints ProcessID=0 for every ImageID event ("seems to always be 0" in its source). */
static bool perfview_disagrees(const Expect *x, const char *field)
{
    return !strcmp(x->map->name, "KernelTraceControl/ImageID") && !strcmp(field, "ProcessID");
}

static int check_event(const Expect *x, const EtlEvent *ev, const EtlLogfileHeader *h, GString *why)
{
    if (x->proc >= 0 && ev->cpu != x->proc) return 0;
    if (x->datalen >= 0 && ev->payload_len != (uint32_t)x->datalen) {
        g_string_printf(why, "DataLen %d vs etla %u", x->datalen, ev->payload_len);
        return 0;
    }
    EtlKernelEvent k;
    EtlDecodeStatus st = etl_kernel_decode(ev, &k);
    if (st == ETL_DECODE_UNKNOWN) return 1; /* framing matched; etla has no decoder for this type */
    if (st != ETL_DECODE_OK) {
        g_string_printf(why, "etla finds the payload malformed (%u bytes)", ev->payload_len);
        return 0;
    }
    Got g = { g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free), h };
    etl_kernel_emit_fields(ev, &k, got_field, &g);
    int ok = 1;
    for (guint i = 0; i < x->fields->len && ok; i++) {
        const Field *f = x->fields->pdata[i];
        if (skipped_field(f->key) || perfview_disagrees(x, f->key)) continue;
        const char *want_names[2] = { f->key, alias(f->key) };
        for (int w = 0; w < 2 && want_names[w]; w++) {
            for (guint j = 0; j < g.names->len; j++) {
                if (strcmp(g.names->pdata[j], want_names[w])) continue;
                if (!value_matches(f->value, g.values->pdata[j])) {
                    g_string_printf(why, "%s=%s vs etla %s", f->key, f->value, (char *)g.values->pdata[j]);
                    ok = 0;
                }
                goto next;
            }
        }
        /* A field PerfView decodes that etla's decoder does not emit (or emits under another
         * name) is a failure: a renamed or dropped field must not pass unnoticed.  PerfView
         * prints an empty value for fields the event's version does not carry (ThreadName
         * before v4, PackageFullName before Process v4): etla emits no field for those. */
        if (!*f->value) continue;
        g_string_printf(why, "etla emits no field %s (PerfView: %s=%s)", f->key, f->key, f->value);
        ok = 0;
    next:;
    }
    g_ptr_array_free(g.names, TRUE);
    g_ptr_array_free(g.values, TRUE);
    return ok;
}

/* PerfView moves ids from the payloads of these types into PID/TID (TraceEvent FixupData);
 * etla does not decode those payloads, so their owners are not compared. */
static bool owner_from_undecoded_payload(const char *type)
{
    static const char *const pfx[] = { "Windows Kernel/TcpIp/", "Windows Kernel/UdpIp/", "Windows Kernel/DiskIO/",
                                       "Windows Kernel/Memory/HardFault", "Windows Kernel/Process/PerfCtr",
                                       "Windows Kernel/SystemConfig/Services", "KernelTraceControl/" };
    for (size_t i = 0; i < G_N_ELEMENTS(pfx); i++)
        if (g_str_has_prefix(type, pfx[i])) return true;
    return false;
}

/* The system model's owner of an event against PerfView's PID/TID/PName: 1 agree, 0 differ,
 * -1 nothing to compare.  Ids are compared as known at the event; the name as known at the end
 * of the trace (PerfView's TraceLog reads the whole trace first, so it names a process for
 * events before its rundown; "Process(N)" is its "unnamed").  PerfView drops ".exe". */
static int check_owner(const Expect *x)
{
    if ((x->pid < 0 && x->tid < 0) || owner_from_undecoded_payload(x->map->name)) return -1;
    bool ok = x->got_pid == x->pid && (x->tid < 0 || x->got_tid == x->tid);
    const ModelProcess *p = x->got_process;
    const char *n = p && p->image_name ? p->image_name : x->got_pid == 0 ? "Idle" : x->got_pid == 4 ? "System" : "";
    if (ok && x->pname && *x->pname && !g_str_has_prefix(x->pname, "Process(")) {
        size_t nl = strlen(n);
        if (nl > 4 && !g_ascii_strcasecmp(n + nl - 4, ".exe")) nl -= 4;
        ok = strlen(x->pname) == nl && !g_ascii_strncasecmp(n, x->pname, nl);
    }
    if (!ok)
        fprintf(stderr, "%s: owner differs: PerfView PID=%ld TID=%ld PName=%s, etla pid=%ld tid=%ld process=%s\n",
                x->line, x->pid, x->tid, x->pname ? x->pname : "", x->got_pid, x->got_tid, *n ? n : "-");
    return ok;
}

static bool sample_counted(const EtlEvent *ev)
{
    /* TraceLog drops idle-thread samples unless taken inside a DPC or ISR (expected/README.md). */
    unsigned P = ev->pointer_size;
    if (ev->payload_len < P + 8) return true;
    uint32_t tid = etl_rd32(ev->payload + P);
    uint8_t flags = ev->payload[P + 6];
    return tid != 0 || (flags & 3);
}

/* tl_names: the trace's events are TraceLogging; compare their "provider/event" counts too. */
static void check_trace(const char *shared, const char *name, GArray *names, bool tl_names)
{
    GHashTable *tl_want = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *tl_got = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *bpath = g_strdup_printf("%s/expected/%s.perfview-baseline.txt", shared, name);
    char *tpath = g_strdup_printf("%s/traces/%s.etl", shared, name);
    gchar *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(bpath, &text, NULL, &err)) fail_msg("%s", err->message);

    GHashTable *want_counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *expects = g_ptr_array_new();
    gchar **lines = g_strsplit(text, "\n", -1);
    int n_count_lines = 0;
    for (gchar **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, "COUNT ")) {
            char *c = *l + 6, *colon = strrchr(c, ':');
            if (!colon) continue;
            *colon = 0;
            if (!is_checked_name(c)) {
                /* TraceLogging events name themselves: "provider/event" is comparable as is. */
                if (tl_names && strchr(c, '/') == strrchr(c, '/'))
                    g_hash_table_insert(tl_want, g_strdup(c), GINT_TO_POINTER(atoi(colon + 1)));
                continue;
            }
            if (!find_name(names, c)) fail_msg("%s: baseline type '%s' has no row in perfview-kernel-names.tsv", name, c);
            g_hash_table_insert(want_counts, g_strdup(c), GINT_TO_POINTER(atoi(colon + 1)));
            n_count_lines++;
        } else if (g_str_has_prefix(*l, "EVENT ")) {
            char *p = *l + 6, *colon = strstr(p, ": ");
            if (!colon) continue;
            *colon = 0;
            double t = parse_num_commas(p);
            /* names contain spaces ("Windows Kernel/Image/DCStart"): the fields start at " PID=" */
            char *rest = colon + 2, *sp = strstr(rest, " PID=");
            if (!sp) fail_msg("%s: cannot parse EVENT line at %s", name, p);
            *sp = 0;
            const NameMap *m = find_name(names, rest);
            if (!m) continue;
            Expect *x = g_new0(Expect, 1);
            x->map = m;
            x->t_ms = t;
            x->proc = -1;
            x->datalen = -1;
            x->pid = x->tid = -1;
            x->fields = g_ptr_array_new();
            x->line = g_strdup_printf("%s at %.3f ms", rest, t);
            gchar **kv = g_strsplit(sp + 1, "; ", -1);
            for (gchar **q = kv; *q; q++) {
                char *eq = strchr(*q, '=');
                if (!eq) continue;
                *eq = 0;
                char *v = eq + 1;
                size_t vl = strlen(v);
                if (vl && v[vl - 1] == ';') v[vl - 1] = 0;
                if (!strcmp(*q, "ProceNum")) x->proc = atoi(v);
                else if (!strcmp(*q, "PID")) x->pid = atol(v);
                else if (!strcmp(*q, "TID")) x->tid = atol(v);
                else if (!strcmp(*q, "PName")) x->pname = g_strdup(v);
                else if (!strcmp(*q, "DataLen")) x->datalen = (int)parse_num_commas(v);
                Field *f = g_new(Field, 1);
                f->key = g_strdup(*q);
                f->value = g_strdup(v);
                g_ptr_array_add(x->fields, f);
            }
            g_strfreev(kv);
            g_ptr_array_add(expects, x);
        }
    }
    g_strfreev(lines);
    g_free(text);
    assert_true(n_count_lines > 0);

    EtlTrace *t = etl_trace_open_file(tpath, NULL, &err);
    if (!t) fail_msg("%s", err->message);
    const EtlLogfileHeader *h = etl_trace_header(t);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    Model *model = model_new(t, 0);
    int owners_checked = 0, owners_bad = 0;
    GHashTable *got_counts = g_hash_table_new(g_str_hash, g_str_equal);
    GString *why = g_string_new(NULL);
    GHashTable *last_why = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    const EtlEvent *ev;
    int bad = 0;
    while ((ev = etl_reader_next(r))) {
        if (ev->kind == ETL_HDR_EVENT && tl_names) {
            EtlAStr pn = etl_event_tl_provider_name(ev), en = etl_event_tl_event_name(ev);
            char *key = g_strdup_printf("%.*s/%.*s", (int)pn.len, pn.p, (int)en.len, en.p);
            gpointer old = g_hash_table_lookup(tl_got, key);
            g_hash_table_replace(tl_got, key, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
        }
        EtlKernelEvent mk;
        bool mdec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &mk) == ETL_DECODE_OK;
        ModelCtx mc;
        model_event(model, ev, mdec ? &mk : NULL, &mc);
        if (!etl_header_kind_is_opcode_keyed(ev->kind))
            continue;
        double ms = (double)etl_time_rel_ns(h, ev->timestamp) / 1e6;
        for (guint i = 0; i < names->len; i++) {
            const NameMap *m = &g_array_index(names, NameMap, i);
            if (m->opcode != ev->opcode || !etl_guid_equal(&m->guid, &ev->provider)) continue;
            if (!strcmp(m->name, "Windows Kernel/PerfInfo/Sample") && !sample_counted(ev)) continue;
            gpointer old = g_hash_table_lookup(got_counts, m->name);
            g_hash_table_insert(got_counts, (gpointer)m->name, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
            for (guint j = 0; j < expects->len; j++) {
                Expect *x = expects->pdata[j];
                if (x->matched || x->map != m || fabs(x->t_ms - ms) > 0.0006) continue;
                g_string_truncate(why, 0);
                if (check_event(x, ev, h, why)) {
                    x->matched = true;
                    x->got_pid = mc.pid == ETL_NO_ID ? -1 : (long)mc.pid;
                    x->got_tid = mc.tid == ETL_NO_ID ? -1 : (long)mc.tid;
                    x->got_process = mc.process;
                } else if (why->len) g_hash_table_insert(last_why, x, g_strdup(why->str));
            }
        }
    }
    etl_reader_free(r);
    for (guint j = 0; j < expects->len; j++) {
        Expect *x = expects->pdata[j];
        if (!x->matched) continue;
        int o = check_owner(x);
        if (o >= 0) owners_checked++;
        if (o == 0) owners_bad++;
    }
    model_free(model);
    printf("%s: owner (process id, thread id, process name) of %d baseline events compared with PerfView's, "
           "%d differ\n", name, owners_checked, owners_bad);
    bad += owners_bad;
    assert_int_equal(etl_trace_stats(t)->diagnostics, 0);
    etl_trace_free(t);

    int compared = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, want_counts);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        int want = GPOINTER_TO_INT(v), got = GPOINTER_TO_INT(g_hash_table_lookup(got_counts, k));
        compared++;
        if (want != got) {
            fprintf(stderr, "%s: %s: PerfView counts %d, etla %d\n", name, (char *)k, want, got);
            bad++;
        }
    }
    int tl_compared = 0;
    if (tl_names) {
        assert_true(g_hash_table_size(tl_want) > 0);
        g_hash_table_iter_init(&it, tl_want);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            int want = GPOINTER_TO_INT(v), got = GPOINTER_TO_INT(g_hash_table_lookup(tl_got, k));
            tl_compared++;
            if (want != got) {
                fprintf(stderr, "%s: %s: PerfView counts %d, etla %d\n", name, (char *)k, want, got);
                bad++;
            }
        }
        printf("%s: %d TraceLogging event types counted against PerfView\n", name, tl_compared);
    }
    int matched = 0;
    for (guint j = 0; j < expects->len; j++) {
        Expect *x = expects->pdata[j];
        if (x->matched) {
            matched++;
        } else {
            const char *w = g_hash_table_lookup(last_why, x);
            fprintf(stderr, "%s: no etla event matches %s%s%s\n", name, x->line, w ? ": " : "", w ? w : "");
            bad++;
        }
    }
    printf("%s: %d event types counted against PerfView; %d of %d baseline events matched "
           "(time, CPU, payload length, decoded fields)\n",
           name, compared, matched, (int)expects->len);
    for (guint j = 0; j < expects->len; j++) {
        Expect *x = expects->pdata[j];
        for (guint i = 0; i < x->fields->len; i++) {
            Field *f = x->fields->pdata[i];
            g_free(f->key);
            g_free(f->value);
            g_free(f);
        }
        g_ptr_array_free(x->fields, TRUE);
        g_free(x->line);
        g_free(x->pname);
        g_free(x);
    }
    g_ptr_array_free(expects, TRUE);
    g_hash_table_destroy(want_counts);
    g_hash_table_destroy(got_counts);
    g_hash_table_destroy(last_why);
    g_hash_table_destroy(tl_want);
    g_hash_table_destroy(tl_got);
    g_string_free(why, TRUE);
    g_free(bpath);
    g_free(tpath);
    assert_int_equal(bad, 0);
}

static const char *shared_dir(void)
{
    const char *s = g_getenv("ETLA_SHARED_DIR");
    return s && g_file_test(s, G_FILE_TEST_IS_DIR) ? s : NULL;
}

static GArray *names_table(void)
{
    char *p = g_build_filename(g_getenv("ETLA_SOURCE_ROOT") ? g_getenv("ETLA_SOURCE_ROOT") : "..", "tests", "golden",
                               "perfview-kernel-names.tsv", NULL);
    GArray *a = load_names(p);
    g_free(p);
    return a;
}

#define BASELINE_TEST(fn, trace, tl)                                                             \
    static void fn(void **state)                                                                 \
    {                                                                                            \
        (void)state;                                                                             \
        const char *sd = shared_dir();                                                           \
        if (!sd) {                                                                               \
            printf("# SKIP: ETLA_SHARED_DIR (%s) is not a directory: no public traces here\n",  \
                   g_getenv("ETLA_SHARED_DIR") ? g_getenv("ETLA_SHARED_DIR") : "unset");         \
            skip();                                                                              \
        }                                                                                        \
        GArray *names = names_table();                                                           \
        check_trace(sd, trace, names, tl);                                                       \
        g_array_free(names, TRUE);                                                               \
    }

BASELINE_TEST(test_win7_net45_x86proc, "win7-x64-net45-x86proc", false)
BASELINE_TEST(test_win8_compressed_net452, "win8-x64-compressed-net452", false)
BASELINE_TEST(test_win10_circular_gcevents, "win10-x64-circular-gcevents", false)
BASELINE_TEST(test_win10_tracelogging_primitives, "win10-x64-tracelogging-primitives", true)

int main(void)
{
    if (!shared_dir()) {
        /* 77: meson reports the test as skipped, not passed */
        printf("SKIP: ETLA_SHARED_DIR (%s) is not a directory: no public traces, no PerfView baselines\n",
               g_getenv("ETLA_SHARED_DIR") ? g_getenv("ETLA_SHARED_DIR") : "unset");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_win7_net45_x86proc),
        cmocka_unit_test(test_win8_compressed_net452),
        cmocka_unit_test(test_win10_circular_gcevents),
        cmocka_unit_test(test_win10_tracelogging_primitives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
