/* cmd-profile.c — `etla profile show|check|xperf FILE[!Profile]`: WPR recording profiles. */
#include "cli.h"
#include "profile.h"

static const char *profile_summary_text =
    "Read WPR recording profiles (.wprp): what they record after inheritance, whether they are\n"
    "sound, and the xperf command line that records the same.";

static const char *profile_examples =
    "Subcommands:\n"
    "  show FILE[!Profile]    the effective profile(s) after Base inheritance and Set/Add/Remove:\n"
    "                         collectors, buffers, kernel keywords and their flags, stacks, pool tags,\n"
    "                         providers (what `wpr -status collectors` shows while recording)\n"
    "  check FILE...          parse and report every warning with its line (unknown names with a\n"
    "                         'did you mean', undefined references, bad values)\n"
    "  xperf FILE[!Profile]   the equivalent xperf -on ... -stackwalk ... -pooltag ... commands\n"
    "\n"
    "Examples:\n"
    "  etla profile show profiles/pool-leak.wprp\n"
    "  etla profile show --format json MyProfile.wprp!CPU.Light.File | jq '.profiles[0].kernel_flags'\n"
    "  etla profile check --strict profiles/*.wprp       exit 1 when a file has a warning\n"
    "  etla profile xperf profiles/dpc-isr-latency.wprp!DpcIsrLatency\n"
    "\n"
    "A profile is named as wpr names it: FILE!Name[.Light|.Verbose][.File|.Memory]; without a detail\n"
    "level Verbose is taken, without a logging mode Memory (WPR's defaults).  Without !Profile, show\n"
    "prints every profile of the file.  Exit status: 0 success, 1 unreadable or malformed file (or a\n"
    "warning with check --strict), 2 usage error.  docs/profiles.md describes the model.";

/* ------------------------------------------------------------------ helpers */

static void hex_string(char *buf, size_t n, uint64_t v)
{
    g_snprintf(buf, n, "0x%" G_GINT64_MODIFIER "x", v);
}

static void append_joined(GString *s, GPtrArray *a, const char *sep)
{
    for (guint i = 0; i < a->len; i++) {
        if (i) g_string_append(s, sep);
        text_append_safe(s, a->pdata[i]);
    }
}

static const char *kind_name(ProfileCollectorKind k)
{
    return k == PROFILE_COLLECTOR_SYSTEM ? "system" : k == PROFILE_COLLECTOR_EVENT ? "event" : "heap";
}

static void print_warnings(const ProfileFile *f, bool quiet)
{
    if (quiet) return;
    for (guint i = 0; i < f->warnings->len; i++) {
        const ProfileWarning *w = f->warnings->pdata[i];
        char *m = text_safe(w->message);
        cli_warning("%s:%d: %s", f->path, w->line, m);
        g_free(m);
    }
}

/* Load FILE (with !Profile split off); NULL after printing one clear line. */
static ProfileFile *load(const char *spec, char **profile)
{
    char *path = NULL;
    profile_split_spec(spec, &path, profile);
    GError *err = NULL;
    ProfileFile *f = profile_file_load(path, &err);
    if (!f) {
        cli_error("%s", err->message);
        g_error_free(err);
        g_free(*profile);
        *profile = NULL;
    }
    g_free(path);
    return f;
}

/* ------------------------------------------------------------------ show: text */

static void text_provider_line(GString *out, const ProfileEventProvider *ep)
{
    char g[PROFILE_GUID_STRLEN] = "";
    if (ep->has_guid) profile_guid_format(&ep->guid, g);
    g_string_append(out, "      ");
    text_append_safe(out, ep->name ? ep->name : "(no name)");
    if (ep->has_guid && ep->name && g_ascii_strncasecmp(ep->name, g, 36) && ep->name[0] != '{')
        g_string_append_printf(out, " {%s}", g);
    g_string_append_printf(out, ":0x%" G_GINT64_MODIFIER "x:0x%02x", ep->keywords, ep->level);
    if (ep->stack) g_string_append(out, " : Stack");
    if (ep->capture_state_only) g_string_append(out, " (capture state only)");
    if (ep->capture_on_start) g_string_append_printf(out, " rundown-at-start 0x%" G_GINT64_MODIFIER "x", ep->capture_on_start);
    if (ep->capture_on_save) g_string_append_printf(out, " rundown-at-save 0x%" G_GINT64_MODIFIER "x", ep->capture_on_save);
    if (ep->event_ids->len) {
        g_string_append_printf(out, " events %s", ep->event_ids_filter_in ? "only" : "except");
        for (guint i = 0; i < ep->event_ids->len; i++)
            g_string_append_printf(out, "%s%u", i ? "," : " ", g_array_index(ep->event_ids, uint16_t, i));
    }
    if (ep->stacks->len || ep->custom_stacks->len) {
        g_string_append(out, " stacks ");
        append_joined(out, ep->stacks, "+");
        for (guint i = 0; i < ep->custom_stacks->len; i++)
            g_string_append_printf(out, "%s0x%04X", (i || ep->stacks->len) ? "+" : "",
                                   g_array_index(ep->custom_stacks, uint16_t, i));
    }
    g_string_append_c(out, '\n');
}

static void text_buffers(GString *out, const ProfileCollector *c)
{
    if (c->buffer_size_kb) g_string_append_printf(out, "    Buffer size (KB)  %" G_GUINT64_FORMAT "\n", c->buffer_size_kb);
    else g_string_append(out, "    Buffer size (KB)  (WPR default)\n");
    if (c->buffers)
        g_string_append_printf(out, "    Buffers           %" G_GUINT64_FORMAT "%s\n", c->buffers,
                               c->buffers_percent ? "% of memory" : "");
    else g_string_append(out, "    Buffers           (WPR default)\n");
    if (c->max_buffer_space)
        g_string_append_printf(out, "    Max buffer space  %" G_GUINT64_FORMAT " MB\n", c->max_buffer_space);
    if (c->stack_cache_buckets)
        g_string_append_printf(out, "    Stack caching     %" G_GUINT64_FORMAT " buckets, %" G_GUINT64_FORMAT " entries\n",
                               c->stack_cache_buckets, c->stack_cache_size);
}

static void text_profile(GString *out, const Profile *p)
{
    g_string_append(out, "Profile ");
    text_append_safe(out, p->id ? p->id : "(no Id)");
    g_string_append(out, "\n");
    if (p->description) {
        g_string_append(out, "  Description       ");
        text_append_safe(out, p->description);
        g_string_append_c(out, '\n');
    }
    g_string_append_printf(out, "  Detail level      %s\n  Logging mode      %s\n", p->detail_level ? p->detail_level : "?",
                           p->logging_mode ? p->logging_mode : "?");
    if (p->base) {
        g_string_append(out, "  Base              ");
        text_append_safe(out, p->base);
        g_string_append_c(out, '\n');
    }
    uint32_t m[8];
    profile_group_masks(p->system, m);
    for (guint i = 0; i < p->collectors->len; i++) {
        const ProfileCollector *c = p->collectors->pdata[i];
        g_string_append_printf(out, "  Collector         %s \"", kind_name(c->kind));
        text_append_safe(out, c->name ? c->name : "");
        g_string_append(out, "\" (");
        text_append_safe(out, c->id ? c->id : "");
        g_string_append(out, ")\n");
        text_buffers(out, c);
        if (c->kind == PROFILE_COLLECTOR_SYSTEM) {
            const ProfileSystemProvider *sp = c->system;
            g_string_append(out, "    System keywords   ");
            append_joined(out, sp->keywords, " ");
            for (guint k = 0; k < sp->custom_keywords->len; k++)
                g_string_append_printf(out, "%s0x%08X", (k || sp->keywords->len) ? " " : "",
                                       g_array_index(sp->custom_keywords, uint32_t, k));
            if (!sp->keywords->len && !sp->custom_keywords->len) g_string_append(out, "(none)");
            g_string_append(out, "\n    System stacks     ");
            append_joined(out, sp->stacks, " ");
            for (guint k = 0; k < sp->custom_stacks->len; k++)
                g_string_append_printf(out, "%s0x%04X", (k || sp->stacks->len) ? " " : "",
                                       g_array_index(sp->custom_stacks, uint16_t, k));
            if (!sp->stacks->len && !sp->custom_stacks->len) g_string_append(out, "(none)");
            g_string_append(out, "\n    Pool tags         ");
            if (sp->pool_tags->len) append_joined(out, sp->pool_tags, " ");
            else g_string_append(out, "(all)");
            g_string_append_c(out, '\n');
            uint32_t cm[8];
            profile_group_masks(sp, cm);
            g_string_append_printf(out, "    Kernel flags      0x%08X\n    Group masks      ", cm[0]);
            for (int k = 0; k < 8; k++) g_string_append_printf(out, " 0x%08X", cm[k]);
            g_string_append_c(out, '\n');
            if (c->hardware_counters->len) {
                g_string_append(out, "    Hardware counters ");
                append_joined(out, c->hardware_counters, " ");
                g_string_append_c(out, '\n');
            }
        } else if (c->kind == PROFILE_COLLECTOR_EVENT) {
            g_string_append_printf(out, "    Providers         %u (Name:keywords:level : Stack)\n", c->providers->len);
            for (guint k = 0; k < c->providers->len; k++) text_provider_line(out, c->providers->pdata[k]);
        } else {
            g_string_append(out, "    Heap providers    ");
            if (c->heap_providers->len) append_joined(out, c->heap_providers, " ");
            else g_string_append(out, "(none: processes chosen with wpr -heaptracingconfig)");
            for (guint k = 0; k < c->heap_pids->len; k++)
                g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, k ? "," : " pids ",
                                       g_array_index(c->heap_pids, uint64_t, k));
            g_string_append_c(out, '\n');
        }
    }
    if (!p->collectors->len) g_string_append(out, "  Collectors        (none)\n");
    if (p->trace_merge) {
        g_string_append(out, "  Trace merge       ");
        append_joined(out, p->trace_merge->custom_events, " ");
        g_string_append_c(out, '\n');
    }
    g_string_append_c(out, '\n');
}

/* ------------------------------------------------------------------ show: JSON */

static void json_strv(JsonWriter *w, GPtrArray *a)
{
    json_begin_array(w);
    for (guint i = 0; i < a->len; i++) json_string(w, a->pdata[i]);
    json_end_array(w);
}

static void json_opt_uint(JsonWriter *w, const char *key, uint64_t v)
{
    json_key(w, key);
    if (v) json_uint(w, v);
    else json_null(w);
}

static void json_provider(JsonWriter *w, const ProfileEventProvider *ep)
{
    char buf[24], g[PROFILE_GUID_STRLEN];
    json_begin_object(w);
    json_key(w, "id");
    json_string(w, ep->id);
    json_key(w, "name");
    json_string(w, ep->name);
    json_key(w, "guid");
    if (ep->has_guid) {
        profile_guid_format(&ep->guid, g);
        json_string(w, g);
    } else {
        json_null(w);
    }
    json_key(w, "keywords");
    hex_string(buf, sizeof buf, ep->keywords);
    json_string(w, buf);
    json_key(w, "level");
    json_uint(w, ep->level);
    json_key(w, "stack");
    json_bool(w, ep->stack);
    json_key(w, "non_paged_memory");
    json_bool(w, ep->non_paged);
    json_key(w, "capture_state_only");
    json_bool(w, ep->capture_state_only);
    json_key(w, "capture_state_on_start");
    hex_string(buf, sizeof buf, ep->capture_on_start);
    json_string(w, buf);
    json_key(w, "capture_state_on_save");
    hex_string(buf, sizeof buf, ep->capture_on_save);
    json_string(w, buf);
    json_key(w, "event_ids");
    json_begin_array(w);
    for (guint i = 0; i < ep->event_ids->len; i++) json_uint(w, g_array_index(ep->event_ids, uint16_t, i));
    json_end_array(w);
    json_key(w, "event_ids_filter_in");
    json_bool(w, ep->event_ids_filter_in);
    json_key(w, "stacks");
    json_strv(w, ep->stacks);
    json_end_object(w);
}

static void json_masks(JsonWriter *w, const uint32_t m[8])
{
    char buf[16];
    json_begin_array(w);
    for (int k = 0; k < 8; k++) {
        g_snprintf(buf, sizeof buf, "0x%08x", m[k]);
        json_string(w, buf);
    }
    json_end_array(w);
}

static void json_system_provider(JsonWriter *w, const ProfileSystemProvider *sp, const char *kw_key,
                                 const char *st_key)
{
    char buf[16];
    json_key(w, kw_key);
    json_strv(w, sp->keywords);
    json_key(w, "custom_keywords");
    json_begin_array(w);
    for (guint i = 0; i < sp->custom_keywords->len; i++) {
        g_snprintf(buf, sizeof buf, "0x%08x", g_array_index(sp->custom_keywords, uint32_t, i));
        json_string(w, buf);
    }
    json_end_array(w);
    json_key(w, st_key);
    json_strv(w, sp->stacks);
    json_key(w, "custom_stacks");
    json_begin_array(w);
    for (guint i = 0; i < sp->custom_stacks->len; i++) {
        g_snprintf(buf, sizeof buf, "0x%04x", g_array_index(sp->custom_stacks, uint16_t, i));
        json_string(w, buf);
    }
    json_end_array(w);
    json_key(w, "pool_tags");
    json_strv(w, sp->pool_tags);
}

static void json_trace_merge(JsonWriter *w, const ProfileTraceMerge *t)
{
    if (!t) {
        json_null(w);
        return;
    }
    json_begin_object(w);
    json_key(w, "id");
    json_string(w, t->id);
    json_key(w, "name");
    json_string(w, t->name);
    json_key(w, "delete_pre_merged_trace_files");
    if (t->delete_pre_merged < 0) json_null(w);
    else json_bool(w, t->delete_pre_merged);
    json_key(w, "file_compression");
    if (t->file_compression < 0) json_null(w);
    else json_bool(w, t->file_compression);
    json_key(w, "custom_events");
    json_strv(w, t->custom_events);
    json_end_object(w);
}

static void json_profile(JsonWriter *w, const Profile *p)
{
    char buf[16];
    json_begin_object(w);
    json_key(w, "id");
    json_string(w, p->id);
    json_key(w, "name");
    json_string(w, p->name);
    json_key(w, "description");
    json_string(w, p->description);
    json_key(w, "detail_level");
    json_string(w, p->detail_level);
    json_key(w, "logging_mode");
    json_string(w, p->logging_mode);
    json_key(w, "base");
    json_string(w, p->base);
    json_key(w, "line");
    json_uint(w, (uint64_t)(p->line > 0 ? p->line : 0));
    json_system_provider(w, p->system, "system_keywords", "system_stacks");
    json_key(w, "event_providers");
    json_begin_array(w);
    for (guint i = 0; i < p->event_providers->len; i++) json_provider(w, p->event_providers->pdata[i]);
    json_end_array(w);
    /* The kernel session's buffers (the first event collector's without a system collector). */
    const ProfileCollector *bc = p->system_collector;
    for (guint i = 0; !bc && i < p->collectors->len; i++) bc = p->collectors->pdata[i];
    json_opt_uint(w, "buffer_size_kb", bc ? bc->buffer_size_kb : 0);
    json_opt_uint(w, "buffers", bc ? bc->buffers : 0);
    json_key(w, "buffers_percent_of_memory");
    json_bool(w, bc && bc->buffers_percent);
    uint32_t m[8];
    profile_group_masks(p->system, m);
    json_key(w, "kernel_flags");
    g_snprintf(buf, sizeof buf, "0x%08x", m[0]);
    json_string(w, buf);
    json_key(w, "group_masks");
    json_masks(w, m);
    json_key(w, "collectors");
    json_begin_array(w);
    for (guint i = 0; i < p->collectors->len; i++) {
        const ProfileCollector *c = p->collectors->pdata[i];
        json_begin_object(w);
        json_key(w, "kind");
        json_string(w, kind_name(c->kind));
        json_key(w, "id");
        json_string(w, c->id);
        json_key(w, "name");
        json_string(w, c->name);
        json_opt_uint(w, "buffer_size_kb", c->buffer_size_kb);
        json_opt_uint(w, "buffers", c->buffers);
        json_key(w, "buffers_percent_of_memory");
        json_bool(w, c->buffers_percent);
        json_opt_uint(w, "maximum_buffer_space", c->max_buffer_space);
        json_opt_uint(w, "stack_cache_buckets", c->stack_cache_buckets);
        json_opt_uint(w, "stack_cache_size", c->stack_cache_size);
        if (c->kind == PROFILE_COLLECTOR_SYSTEM) {
            json_system_provider(w, c->system, "keywords", "stacks");
            uint32_t cm[8];
            profile_group_masks(c->system, cm);
            json_key(w, "kernel_flags");
            g_snprintf(buf, sizeof buf, "0x%08x", cm[0]);
            json_string(w, buf);
            json_key(w, "group_masks");
            json_masks(w, cm);
            json_key(w, "hardware_counters");
            json_strv(w, c->hardware_counters);
        } else if (c->kind == PROFILE_COLLECTOR_EVENT) {
            json_key(w, "providers");
            json_begin_array(w);
            for (guint k = 0; k < c->providers->len; k++) {
                const ProfileEventProvider *ep = c->providers->pdata[k];
                json_string(w, ep->id);
            }
            json_end_array(w);
        } else {
            json_key(w, "heap_providers");
            json_strv(w, c->heap_providers);
            json_key(w, "heap_process_ids");
            json_begin_array(w);
            for (guint k = 0; k < c->heap_pids->len; k++) json_uint(w, g_array_index(c->heap_pids, uint64_t, k));
            json_end_array(w);
        }
        json_end_object(w);
    }
    json_end_array(w);
    json_key(w, "trace_merge");
    json_trace_merge(w, p->trace_merge);
    json_end_object(w);
}

static void json_warnings(JsonWriter *w, const ProfileFile *f)
{
    json_key(w, "warnings");
    json_begin_array(w);
    for (guint i = 0; i < f->warnings->len; i++) {
        const ProfileWarning *pw = f->warnings->pdata[i];
        json_begin_object(w);
        json_key(w, "line");
        json_uint(w, (uint64_t)(pw->line > 0 ? pw->line : 0));
        json_key(w, "message");
        json_string(w, pw->message);
        json_end_object(w);
    }
    json_end_array(w);
}

static void json_file(FILE *fp, const ProfileFile *f, const Profile *only)
{
    JsonWriter *w = json_writer_new(fp, true);
    json_begin_object(w);
    char *base = g_path_get_basename(f->path);
    json_key(w, "file");
    json_string(w, base);
    g_free(base);
    json_key(w, "version");
    json_string(w, f->version);
    json_key(w, "profiles");
    json_begin_array(w);
    for (guint i = 0; i < f->profiles->len; i++)
        if (!only || only == f->profiles->pdata[i]) json_profile(w, f->profiles->pdata[i]);
    json_end_array(w);
    json_key(w, "trace_merge_properties");
    json_begin_array(w);
    for (guint i = 0; i < f->trace_merges->len; i++) json_trace_merge(w, f->trace_merges->pdata[i]);
    json_end_array(w);
    json_warnings(w, f);
    json_end_object(w);
    json_newline(w);
    json_writer_free(w);
}

/* ------------------------------------------------------------------ xperf */

static void xperf_quote(GString *out, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("-_.!:+/\\", *p)) plain = false;
    if (plain) g_string_append(out, s);
    else {
        g_string_append_c(out, '"');
        text_append_safe(out, s);
        g_string_append_c(out, '"');
    }
}

static void xperf_buffers(GString *out, const ProfileCollector *c, GString *notes)
{
    if (c->buffer_size_kb) g_string_append_printf(out, " -BufferSize %" G_GUINT64_FORMAT, c->buffer_size_kb);
    if (c->buffers && !c->buffers_percent)
        g_string_append_printf(out, " -MinBuffers %" G_GUINT64_FORMAT " -MaxBuffers %" G_GUINT64_FORMAT, c->buffers,
                               c->buffers);
    else if (c->buffers)
        g_string_append_printf(notes, "# Buffers is %" G_GUINT64_FORMAT "%% of memory in the profile: xperf takes a "
                               "count (-MinBuffers/-MaxBuffers)\n", c->buffers);
}

static void xperf_commands(GString *out, const Profile *p, const char *spec)
{
    GString *notes = g_string_new(NULL);
    bool memory = p->logging_mode && !strcmp(p->logging_mode, "Memory");
    g_string_append(out, "# ");
    text_append_safe(out, spec);
    g_string_append(out, " (");
    text_append_safe(out, p->id ? p->id : "?");
    g_string_append(out, ") as xperf commands, from an elevated prompt\n");
    const ProfileCollector *sc = p->system_collector;
    const ProfileSystemProvider *sp = p->system;
    bool kernel = sp->keywords->len || sp->custom_keywords->len || sp->stacks->len;
    GPtrArray *stops = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    if (kernel) {
        GString *cmd = g_string_new("xperf");
        bool named = sc && sc->name && strcmp(sc->name, "NT Kernel Logger");
        if (named) {
            g_string_append(cmd, " -start ");
            xperf_quote(cmd, sc->name);
        }
        g_string_append(cmd, " -on ");
        int n = 0;
        for (guint i = 0; i < sp->keywords->len; i++) {
            const ProfileKeywordInfo *k = profile_keyword_lookup(sp->keywords->pdata[i]);
            if (k && k->xperf) {
                g_string_append_printf(cmd, "%s%s", n++ ? "+" : "", k->xperf);
            } else {
                g_string_append_printf(notes, "# keyword %s has no xperf kernel flag (group mask 0x%08X): not "
                                       "recorded by this command\n", (const char *)sp->keywords->pdata[i],
                                       k ? k->perf_mask : 0);
            }
        }
        for (guint i = 0; i < sp->custom_keywords->len; i++)
            g_string_append_printf(notes, "# CustomKeyword 0x%08X has no xperf flag name: not recorded by this command\n",
                                   g_array_index(sp->custom_keywords, uint32_t, i));
        if (!n) g_string_append(cmd, "PROC_THREAD+LOADER");
        GString *sw = g_string_new(NULL);
        for (guint i = 0; i < sp->stacks->len; i++) {
            const ProfileStackInfo *s = profile_stack_lookup(sp->stacks->pdata[i]);
            if (s && s->xperf) g_string_append_printf(sw, "%s%s", sw->len ? "+" : "", s->xperf);
            else if (s && s->hook) g_string_append_printf(sw, "%s0x%04X", sw->len ? "+" : "", s->hook);
            else g_string_append_printf(notes, "# stack %s has no xperf -stackwalk name or known hook id: left out\n",
                                        (const char *)sp->stacks->pdata[i]);
        }
        for (guint i = 0; i < sp->custom_stacks->len; i++)
            g_string_append_printf(sw, "%s0x%04X", sw->len ? "+" : "", g_array_index(sp->custom_stacks, uint16_t, i));
        if (sw->len) g_string_append_printf(cmd, " -stackwalk %s", sw->str);
        g_string_free(sw, TRUE);
        if (sp->pool_tags->len) {
            g_string_append(cmd, " -pooltag ");
            GString *tags = g_string_new(NULL);
            append_joined(tags, sp->pool_tags, "+");
            xperf_quote(cmd, tags->str);
            g_string_free(tags, TRUE);
        }
        if (sc) xperf_buffers(cmd, sc, notes);
        if (memory) g_string_append(cmd, " -buffering");
        else g_string_append(cmd, " -f kernel.etl");
        g_string_append_printf(out, "%s\n", cmd->str);
        g_string_free(cmd, TRUE);
        g_ptr_array_add(stops, named ? g_strdup(sc->name) : g_strdup("NT Kernel Logger"));
        g_ptr_array_add(files, g_strdup("kernel.etl"));
    }
    int user_n = 0;
    for (guint i = 0; i < p->collectors->len; i++) {
        const ProfileCollector *c = p->collectors->pdata[i];
        if (c->kind == PROFILE_COLLECTOR_HEAP) {
            g_string_append(notes, "# heap collectors have no xperf equivalent here: use xperf -heap or WPR\n");
            continue;
        }
        if (c->kind != PROFILE_COLLECTOR_EVENT || !c->providers->len) continue;
        user_n++;
        char *session = g_strdup_printf("etla-user%d", user_n);
        GString *cmd = g_string_new("xperf -start ");
        g_string_append(cmd, session);
        g_string_append(cmd, " -on ");
        int n = 0;
        for (guint k = 0; k < c->providers->len; k++) {
            const ProfileEventProvider *ep = c->providers->pdata[k];
            if (!ep->name) continue;
            if (ep->capture_state_only) {
                g_string_append_printf(notes, "# provider %s is capture-state only: run xperf -capturestate %s "
                                       "<provider> before stopping\n", ep->name, session);
                continue;
            }
            char g[PROFILE_GUID_STRLEN];
            const char *id = ep->name;
            if (ep->has_guid) {
                profile_guid_format(&ep->guid, g);
                id = g;
            }
            g_string_append_printf(cmd, "%s", n++ ? "+" : "");
            xperf_quote(cmd, id);
            bool need_level = ep->level != 0xFF || ep->stack;
            if (ep->keywords || need_level)
                g_string_append_printf(cmd, ":0x%" G_GINT64_MODIFIER "x", ep->keywords ? ep->keywords : G_MAXUINT64);
            if (need_level) g_string_append_printf(cmd, ":%u", ep->level);
            if (ep->stack) g_string_append(cmd, ":'stack'");
        }
        if (n) {
            GString *nb = g_string_new(NULL);
            xperf_buffers(cmd, c, nb);
            g_string_free(nb, TRUE);
            if (memory) g_string_append(cmd, " -buffering");
            else g_string_append_printf(cmd, " -f %s.etl", session);
            g_string_append_printf(out, "%s\n", cmd->str);
            g_ptr_array_add(stops, g_strdup(session));
            g_ptr_array_add(files, g_strdup_printf("%s.etl", session));
        }
        g_string_free(cmd, TRUE);
        g_free(session);
    }
    if (!stops->len) {
        g_string_append(out, "# the profile records nothing xperf can express\n");
    } else if (memory) {
        g_string_append(out, "# ... reproduce the problem, then save the in-memory buffers and stop:\n");
        for (guint i = 0; i < stops->len; i++) {
            g_string_append(out, "xperf -flush ");
            xperf_quote(out, stops->pdata[i]);
            g_string_append_printf(out, " -f %s\n", (const char *)files->pdata[i]);
        }
        g_string_append(out, "xperf");
        for (guint i = 0; i < stops->len; i++) {
            g_string_append(out, " -stop ");
            xperf_quote(out, stops->pdata[i]);
        }
        g_string_append(out, "\nxperf -merge");
        for (guint i = 0; i < files->len; i++) g_string_append_printf(out, " %s", (const char *)files->pdata[i]);
        g_string_append(out, " trace.etl\n");
    } else {
        g_string_append(out, "# ... reproduce the problem, then stop and merge (image ids and symbols need the merge):\n");
        g_string_append(out, "xperf");
        for (guint i = 0; i < stops->len; i++) {
            g_string_append(out, " -stop");
            if (strcmp(stops->pdata[i], "NT Kernel Logger")) {
                g_string_append_c(out, ' ');
                xperf_quote(out, stops->pdata[i]);
            }
        }
        g_string_append(out, " -d trace.etl\n");
    }
    g_string_append(out, notes->str);
    g_string_free(notes, TRUE);
    g_ptr_array_unref(stops);
    g_ptr_array_unref(files);
}

/* ------------------------------------------------------------------ subcommands */

typedef struct {
    CliCommon c;
    gboolean  strict;
} ProfileOpts;

static int finish_output(CliOutput *o, GString *text)
{
    if (text) fputs(text->str, o->fp);
    return cli_output_commit(o) ? EXIT_OK : EXIT_RUNTIME;
}

static int run_show(ProfileOpts *o, const char *spec)
{
    char *prof = NULL;
    ProfileFile *f = load(spec, &prof);
    if (!f) return EXIT_RUNTIME;
    const Profile *only = NULL;
    if (prof) {
        GError *err = NULL;
        only = profile_file_find(f, prof, &err);
        if (!only) {
            cli_error("%s", err->message);
            g_error_free(err);
            g_free(prof);
            profile_file_free(f);
            return EXIT_RUNTIME;
        }
    }
    print_warnings(f, o->c.quiet);
    CliOutput out;
    if (!cli_output_open(&out, o->c.output, NULL)) {
        g_free(prof);
        profile_file_free(f);
        return EXIT_RUNTIME;
    }
    int rc;
    if (o->c.format == RENDER_JSON) {
        json_file(out.fp, f, only);
        rc = finish_output(&out, NULL);
    } else {
        GString *s = g_string_new(NULL);
        g_string_append(s, "File              ");
        text_append_safe(s, f->path);
        g_string_append_printf(s, " (%u profile%s, %u warning%s)\n\n", f->profiles->len,
                               f->profiles->len == 1 ? "" : "s", f->warnings->len, f->warnings->len == 1 ? "" : "s");
        for (guint i = 0; i < f->profiles->len; i++)
            if (!only || only == f->profiles->pdata[i]) text_profile(s, f->profiles->pdata[i]);
        rc = finish_output(&out, s);
        g_string_free(s, TRUE);
    }
    g_free(prof);
    profile_file_free(f);
    return rc;
}

static int run_check(ProfileOpts *o, int nfiles, char **files)
{
    int rc = EXIT_OK;
    uint64_t total_warnings = 0;
    CliOutput out;
    if (!cli_output_open(&out, o->c.output, NULL)) return EXIT_RUNTIME;
    JsonWriter *w = NULL;
    if (o->c.format == RENDER_JSON) {
        w = json_writer_new(out.fp, true);
        json_begin_object(w);
        json_key(w, "files");
        json_begin_array(w);
    }
    for (int i = 0; i < nfiles; i++) {
        char *prof = NULL;
        ProfileFile *f = load(files[i], &prof);
        if (!f) {
            rc = EXIT_RUNTIME;
            if (w) {
                json_begin_object(w);
                json_key(w, "file");
                json_string(w, files[i]);
                json_key(w, "error");
                json_bool(w, true);
                json_end_object(w);
            }
            continue;
        }
        if (prof) {
            GError *err = NULL;
            if (!profile_file_find(f, prof, &err)) {
                cli_error("%s", err->message);
                g_error_free(err);
                rc = EXIT_RUNTIME;
            }
        }
        total_warnings += f->warnings->len;
        if (w) {
            json_begin_object(w);
            json_key(w, "file");
            json_string(w, f->path);
            json_key(w, "profiles");
            json_begin_array(w);
            for (guint k = 0; k < f->profiles->len; k++) json_string(w, ((Profile *)f->profiles->pdata[k])->id);
            json_end_array(w);
            json_warnings(w, f);
            json_end_object(w);
        } else {
            for (guint k = 0; k < f->warnings->len; k++) {
                const ProfileWarning *pw = f->warnings->pdata[k];
                GString *s = g_string_new(NULL);
                text_append_safe(s, f->path);
                g_string_append_printf(s, ":%d: warning: ", pw->line);
                text_append_safe(s, pw->message);
                fprintf(out.fp, "%s\n", s->str);
                g_string_free(s, TRUE);
            }
            GString *s = g_string_new(NULL);
            text_append_safe(s, f->path);
            fprintf(out.fp, "%s: %u profile%s, %u warning%s\n", s->str, f->profiles->len,
                    f->profiles->len == 1 ? "" : "s", f->warnings->len, f->warnings->len == 1 ? "" : "s");
            g_string_free(s, TRUE);
        }
        g_free(prof);
        profile_file_free(f);
    }
    if (w) {
        json_end_array(w);
        json_key(w, "warnings");
        json_uint(w, total_warnings);
        json_end_object(w);
        json_newline(w);
        json_writer_free(w);
    }
    if (!cli_output_commit(&out)) return EXIT_RUNTIME;
    if (o->strict && total_warnings && rc == EXIT_OK) rc = EXIT_RUNTIME;
    return rc;
}

static int run_xperf(ProfileOpts *o, const char *spec)
{
    char *prof = NULL;
    ProfileFile *f = load(spec, &prof);
    if (!f) return EXIT_RUNTIME;
    GError *err = NULL;
    const Profile *p = profile_file_find(f, prof, &err);
    if (!p) {
        cli_error("%s", err->message);
        g_error_free(err);
        g_free(prof);
        profile_file_free(f);
        return EXIT_RUNTIME;
    }
    print_warnings(f, o->c.quiet);
    CliOutput out;
    int rc = EXIT_RUNTIME;
    if (cli_output_open(&out, o->c.output, NULL)) {
        GString *s = g_string_new(NULL);
        xperf_commands(s, p, spec);
        rc = finish_output(&out, s);
        g_string_free(s, TRUE);
    }
    g_free(prof);
    profile_file_free(f);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;
    bool help = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help"));
    if (!sub || help || sub[0] == '-') {
        GOptionContext *ctx = cli_context_new("profile", "show|check|xperf FILE[!Profile]", profile_summary_text,
                                              profile_examples);
        char *h = g_option_context_get_help(ctx, TRUE, NULL);
        g_option_context_free(ctx);
        if (help) {
            fputs(h, stdout);
            g_free(h);
            return EXIT_OK;
        }
        g_free(h);
        if (!sub) cli_usage_error("profile", "missing subcommand: show, check or xperf");
        else cli_usage_error("profile", "missing subcommand before %s: show, check or xperf", sub);
        return EXIT_USAGE;
    }
    enum { SHOW, CHECK, XPERF } which;
    if (!strcmp(sub, "show")) which = SHOW;
    else if (!strcmp(sub, "check")) which = CHECK;
    else if (!strcmp(sub, "xperf")) which = XPERF;
    else {
        cli_usage_error("profile", "unknown subcommand '%s' (use show, check or xperf)", sub);
        return EXIT_USAGE;
    }

    ProfileOpts o;
    memset(&o, 0, sizeof o);
    cli_common_init(&o.c);
    static const char *const params[] = { "FILE[!Profile]", "FILE[!Profile]...", "FILE[!Profile]" };
    char *cmdname = g_strdup_printf("profile %s", sub);
    GOptionContext *ctx = cli_context_new(cmdname, params[which], profile_summary_text, profile_examples);
    g_option_context_add_main_entries(ctx, cli_common_entries(&o.c, false), NULL);
    GOptionEntry strict[] = {
        { "strict", 0, 0, G_OPTION_ARG_NONE, &o.strict, "check: exit 1 when any file has a warning", NULL },
        { NULL },
    };
    if (which == CHECK) g_option_context_add_main_entries(ctx, strict, NULL);
    /* argv[0] = "profile", argv[1] = subcommand: parse from the subcommand on. */
    int pargc = argc - 1;
    char **pargv = argv + 1;
    int rc = EXIT_USAGE;
    if (!cli_parse(ctx, "profile", &pargc, &pargv) || !cli_common_validate("profile", &o.c)) goto done;
    if (o.c.format == RENDER_CSV || (which == XPERF && o.c.format == RENDER_JSON)) {
        cli_usage_error("profile", "profile %s writes %s", sub, which == XPERF ? "text only" : "text or json");
        goto done;
    }
    if (pargc < 2) {
        cli_usage_error("profile", "profile %s needs a .wprp file", sub);
        goto done;
    }
    if (which != CHECK && pargc > 2) {
        cli_usage_error("profile", "profile %s takes one FILE[!Profile], got %d", sub, pargc - 1);
        goto done;
    }
    if (which == SHOW) rc = run_show(&o, pargv[1]);
    else if (which == CHECK) rc = run_check(&o, pargc - 1, pargv + 1);
    else rc = run_xperf(&o, pargv[1]);
done:
    g_option_context_free(ctx);
    g_free(cmdname);
    cli_common_clear(&o.c);
    return rc;
}
