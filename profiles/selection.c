/* selection.c — what a profile selects (for --profile) and the "did my recording work"
 * comparison of a profile with the facts of a trace. */
#include "profile.h"

#include <stdarg.h>
#include <string.h>

typedef struct {
    ProfileProviderSel sel;
    bool        has_guid;
    ProfileGuid guid;
    ProfileGuid name_guid;   /* EventSource/TraceLogging GUID of a provider given by name */
    char       *name;        /* provider given by name (not a GUID) */
    char       *label;       /* sel.name: the Name as written (owned) */
    uint64_t    seen, seen_stack; /* for profile_compare */
} ProvEntry;

struct ProfileSelection {
    GPtrArray *keywords;      /* char * */
    GArray    *hooks;         /* uint16_t stack hooks */
    GPtrArray *pool_tags;     /* char * */
    GArray    *providers;     /* ProvEntry */
    uint32_t   masks[8];
    bool       any_stack;
};

static bool guid_eq(const ProfileGuid *a, const ProfileGuid *b)
{
    return !memcmp(a, b, sizeof *a);
}

ProfileSelection *profile_selection_new(const Profile *p)
{
    ProfileSelection *s = g_new0(ProfileSelection, 1);
    s->keywords = g_ptr_array_new_with_free_func(g_free);
    s->hooks = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    s->pool_tags = g_ptr_array_new_with_free_func(g_free);
    s->providers = g_array_new(FALSE, TRUE, sizeof(ProvEntry));
    if (!p) return s;
    const ProfileSystemProvider *sp = p->system;
    if (sp) {
        for (guint i = 0; i < sp->keywords->len; i++) g_ptr_array_add(s->keywords, g_strdup(sp->keywords->pdata[i]));
        for (guint i = 0; i < sp->stacks->len; i++) {
            const ProfileStackInfo *si = profile_stack_lookup(sp->stacks->pdata[i]);
            s->any_stack = true;
            if (si && si->hook) g_array_append_val(s->hooks, si->hook);
        }
        for (guint i = 0; i < sp->custom_stacks->len; i++) {
            s->any_stack = true;
            g_array_append_val(s->hooks, g_array_index(sp->custom_stacks, uint16_t, i));
        }
        for (guint i = 0; i < sp->pool_tags->len; i++) g_ptr_array_add(s->pool_tags, g_strdup(sp->pool_tags->pdata[i]));
        profile_group_masks(sp, s->masks);
    }
    for (guint i = 0; p->event_providers && i < p->event_providers->len; i++) {
        const ProfileEventProvider *ep = p->event_providers->pdata[i];
        if (!ep->name) continue;
        bool by_name = !ep->has_guid;
        ProvEntry *found = NULL;
        for (guint j = 0; j < s->providers->len; j++) {
            ProvEntry *e = &g_array_index(s->providers, ProvEntry, j);
            if ((!by_name && e->has_guid && guid_eq(&e->guid, &ep->guid)) ||
                (by_name && e->name && !g_ascii_strcasecmp(e->name, ep->name))) {
                found = e;
                break;
            }
        }
        if (!found) {
            ProvEntry e;
            memset(&e, 0, sizeof e);
            e.label = g_strdup(ep->name);
            e.sel.name = e.label;
            e.sel.keywords = ep->keywords;
            e.sel.level = ep->level;
            e.sel.stack = ep->stack;
            e.has_guid = ep->has_guid;
            e.guid = ep->guid;
            if (by_name) {
                e.name = g_strdup(ep->name);
                profile_eventsource_guid(ep->name, &e.name_guid);
            }
            g_array_append_val(s->providers, e);
            continue;
        }
        /* The same provider twice: the session enables the union. */
        found->sel.keywords = found->sel.keywords && ep->keywords ? (found->sel.keywords | ep->keywords) : 0;
        if (ep->level > found->sel.level) found->sel.level = ep->level;
        found->sel.stack = found->sel.stack || ep->stack;
    }
    return s;
}

void profile_selection_free(ProfileSelection *s)
{
    if (!s) return;
    g_ptr_array_unref(s->keywords);
    g_array_unref(s->hooks);
    g_ptr_array_unref(s->pool_tags);
    for (guint i = 0; i < s->providers->len; i++) {
        g_free(g_array_index(s->providers, ProvEntry, i).name);
        g_free(g_array_index(s->providers, ProvEntry, i).label);
    }
    g_array_unref(s->providers);
    g_free(s);
}

bool profile_selection_has_kernel(const ProfileSelection *s)
{
    return s->keywords->len > 0;
}

bool profile_selection_kernel_keyword(const ProfileSelection *s, const char *keyword)
{
    for (guint i = 0; keyword && i < s->keywords->len; i++)
        if (!strcmp(s->keywords->pdata[i], keyword)) return true;
    return false;
}

bool profile_selection_kernel_event(const ProfileSelection *s, uint8_t group, uint8_t opcode)
{
    if (!profile_selection_has_kernel(s) && !s->any_stack) return false;
    if (group == 0x00 || group == 0x0B) return true; /* EventTrace, SystemConfig: every kernel session */
    if (group == 0x18) return s->any_stack;
    return profile_selection_kernel_keyword(s, profile_kernel_event_keyword(group, opcode));
}

static ProvEntry *find_provider(const ProfileSelection *s, const ProfileGuid *guid, const char *name)
{
    for (guint i = 0; i < s->providers->len; i++) {
        ProvEntry *e = &g_array_index(s->providers, ProvEntry, i);
        if (guid && e->has_guid && guid_eq(&e->guid, guid)) return e;
        if (name && e->name && !g_ascii_strcasecmp(e->name, name)) return e;
        if (guid && e->name && guid_eq(&e->name_guid, guid)) return e;
    }
    return NULL;
}

const ProfileProviderSel *profile_selection_provider(const ProfileSelection *s, const ProfileGuid *guid,
                                                     const char *name)
{
    ProvEntry *e = find_provider(s, guid, name);
    return e ? &e->sel : NULL;
}

bool profile_provider_sel_passes(const ProfileProviderSel *ps, uint64_t event_keywords, uint8_t event_level)
{
    if (!ps) return false;
    if (event_level && ps->level && event_level > ps->level) return false;
    if (event_keywords && ps->keywords && !(event_keywords & ps->keywords)) return false;
    return true;
}

const char *const *profile_selection_pool_tags(const ProfileSelection *s, size_t *n)
{
    *n = s->pool_tags->len;
    return (const char *const *)s->pool_tags->pdata;
}

static bool tag_match(const char *pat, const uint8_t t[4])
{
    for (int i = 0; i < 4; i++) {
        char p = pat[i];
        if (p == '*') return true;
        if (!p) {
            /* short tag: the rest is padding (spaces, or NUL) */
            for (int j = i; j < 4; j++)
                if (t[j] != ' ' && t[j] != 0) return false;
            return true;
        }
        if (p != '?' && (uint8_t)p != t[i]) return false;
    }
    return true;
}

bool profile_selection_pool_tag(const ProfileSelection *s, uint32_t tag)
{
    if (!s->pool_tags->len) return true;
    uint8_t t[4] = { (uint8_t)(tag & 0xFF), (uint8_t)(tag >> 8 & 0xFF), (uint8_t)(tag >> 16 & 0xFF),
                     (uint8_t)(tag >> 24 & 0x7F) };
    for (guint i = 0; i < s->pool_tags->len; i++)
        if (tag_match(s->pool_tags->pdata[i], t)) return true;
    return false;
}

bool profile_selection_stack(const ProfileSelection *s, uint16_t hook)
{
    for (guint i = 0; i < s->hooks->len; i++)
        if (g_array_index(s->hooks, uint16_t, i) == hook) return true;
    return false;
}

void profile_selection_group_masks(const ProfileSelection *s, uint32_t masks[8])
{
    memcpy(masks, s->masks, sizeof s->masks);
}

/* ------------------------------------------------------------------ profile_compare */

const char *profile_finding_level_name(ProfileFindingLevel l)
{
    switch (l) {
    case PROFILE_FINDING_OK: return "ok";
    case PROFILE_FINDING_INFO: return "info";
    case PROFILE_FINDING_WARNING: return "warning";
    case PROFILE_FINDING_PROBLEM: return "problem";
    }
    return "?";
}

static void finding_free(gpointer p)
{
    ProfileFinding *f = p;
    g_free(f->subject);
    g_free(f->message);
    g_free(f);
}

static void add_finding(GPtrArray *out, ProfileFindingLevel level, const char *kind, const char *subject,
                        const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static void add_finding(GPtrArray *out, ProfileFindingLevel level, const char *kind, const char *subject,
                        const char *fmt, ...)
{
    ProfileFinding *f = g_new0(ProfileFinding, 1);
    f->level = level;
    f->kind = kind;
    f->subject = g_strdup(subject);
    va_list ap;
    va_start(ap, fmt);
    f->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(out, f);
}

static gint finding_cmp(gconstpointer a, gconstpointer b)
{
    const ProfileFinding *x = *(const ProfileFinding *const *)a, *y = *(const ProfileFinding *const *)b;
    return (int)y->level - (int)x->level;
}

static const ProfileSeenKernel *seen_kernel(const ProfileTraceFacts *t, uint16_t hook)
{
    for (size_t i = 0; i < t->n_kernel; i++)
        if (t->kernel[i].group == hook >> 8 && t->kernel[i].opcode == (hook & 0xFF)) return &t->kernel[i];
    return NULL;
}

static void describe_ranges(GString *s, const char *keyword)
{
    ProfileEventRange r[16];
    size_t n = profile_keyword_events(keyword, r, G_N_ELEMENTS(r));
    for (size_t i = 0; i < n; i++) {
        if (i) g_string_append(s, ", ");
        if (r[i].op_first == 0 && r[i].op_last == 255) g_string_append_printf(s, "group 0x%02X", r[i].group);
        else if (r[i].op_first == r[i].op_last) g_string_append_printf(s, "hook 0x%02X%02X", r[i].group, r[i].op_first);
        else g_string_append_printf(s, "hooks 0x%02X%02X-0x%02X%02X", r[i].group, r[i].op_first, r[i].group, r[i].op_last);
    }
}

static void compare_stack(GPtrArray *out, const ProfileTraceFacts *t, const char *label, uint16_t hook)
{
    const ProfileSeenKernel *k = seen_kernel(t, hook);
    if (!k || !k->count) return; /* reported with the keyword */
    if (!k->with_stack) {
        add_finding(out, PROFILE_FINDING_PROBLEM, "no-stacks", label,
                    "Stack %s was asked for, but none of the %" G_GUINT64_FORMAT " events of hook 0x%04X carries a "
                    "stack: stack walking was off for it when recording", label, k->count, hook);
    } else if (k->with_stack < k->count - k->count / 10) {
        add_finding(out, PROFILE_FINDING_INFO, "partial-stacks", label,
                    "Stack %s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " events of hook 0x%04X carry a stack "
                    "(%.0f%%)", label, k->with_stack, k->count, hook, 100.0 * (double)k->with_stack / (double)k->count);
    }
}

GPtrArray *profile_compare(const Profile *p, const ProfileTraceFacts *t)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(finding_free);
    ProfileSelection *s = profile_selection_new(p);
    uint64_t kernel_total = 0;
    for (size_t i = 0; i < t->n_kernel; i++) {
        uint8_t g = t->kernel[i].group;
        if (g != 0x00 && g != 0x18) kernel_total += t->kernel[i].count;
    }

    if (profile_selection_has_kernel(s) && !kernel_total) {
        GString *kw = g_string_new(NULL);
        for (guint i = 0; i < s->keywords->len; i++) {
            if (i) g_string_append(kw, ", ");
            g_string_append(kw, s->keywords->pdata[i]);
        }
        add_finding(out, PROFILE_FINDING_PROBLEM, "no-kernel-session", NULL,
                    "The profile asks the kernel for %s, but the trace holds no kernel events: the system collector's "
                    "session was not recorded, or its file was not merged into this one", kw->str);
        g_string_free(kw, TRUE);
    } else if (profile_selection_has_kernel(s)) {
        for (guint i = 0; i < s->keywords->len; i++) {
            const char *kw = s->keywords->pdata[i];
            const ProfileKeywordInfo *ki = profile_keyword_lookup(kw);
            ProfileEventRange r[16];
            bool known = profile_keyword_events(kw, r, G_N_ELEMENTS(r)) > 0;
            uint64_t n = 0;
            for (size_t j = 0; known && j < t->n_kernel; j++) {
                const char *pk = profile_kernel_event_keyword(t->kernel[j].group, t->kernel[j].opcode);
                if (pk && !strcmp(pk, kw)) n += t->kernel[j].count;
            }
            if (t->have_group_masks && ki && ki->perf_mask) {
                uint32_t bits = ki->perf_mask & 0x1FFFFFFF, idx = ki->perf_mask >> 29;
                if ((t->group_masks[idx] & bits) != bits) {
                    /* the keyword's events are there all the same: the mask record is what is off
                     * (another session's, or a relogger's); say so, without calling it a failure */
                    if (n)
                        add_finding(out, PROFILE_FINDING_INFO, "keyword-not-enabled", kw,
                                    "Keyword %s (%s, group mask 0x%08X) is not in the trace's group-mask record, yet "
                                    "%" G_GUINT64_FORMAT " of its events are there (merged or relogged trace?)",
                                    kw, ki->xperf ? ki->xperf : "no xperf flag", ki->perf_mask, n);
                    else
                        add_finding(out, PROFILE_FINDING_PROBLEM, "keyword-not-enabled", kw,
                                    "Keyword %s (%s, group mask 0x%08X) was not enabled in the kernel session that "
                                    "recorded the trace", kw, ki->xperf ? ki->xperf : "no xperf flag", ki->perf_mask);
                    continue;
                }
            }
            if (!known) continue; /* events not known to etla */
            if (!n) {
                GString *d = g_string_new(NULL);
                describe_ranges(d, kw);
                add_finding(out, PROFILE_FINDING_WARNING, "missing-keyword", kw,
                            "Keyword %s was asked for, but the trace holds none of its events (%s): the session did "
                            "not enable it, or nothing of the kind happened", kw, d->str);
                g_string_free(d, TRUE);
            }
        }
        const ProfileSystemProvider *sp = p->system;
        for (guint i = 0; sp && i < sp->stacks->len; i++) {
            const ProfileStackInfo *si = profile_stack_lookup(sp->stacks->pdata[i]);
            if (si && si->hook) compare_stack(out, t, si->name, si->hook);
        }
        for (guint i = 0; sp && i < sp->custom_stacks->len; i++) {
            uint16_t h = g_array_index(sp->custom_stacks, uint16_t, i);
            char *label = g_strdup_printf("0x%04X", h);
            compare_stack(out, t, label, h);
            g_free(label);
        }
    }

    /* Kernel events the profile did not ask for. */
    uint64_t extra = 0;
    GPtrArray *extra_kw = g_ptr_array_new();
    for (size_t i = 0; i < t->n_kernel; i++) {
        const ProfileSeenKernel *k = &t->kernel[i];
        if (!k->count || k->group == 0x00 || k->group == 0x18 || k->group == 0x0B) continue;
        if (profile_selection_kernel_event(s, k->group, k->opcode)) continue;
        extra += k->count;
        const char *kw = profile_kernel_event_keyword(k->group, k->opcode);
        bool have = false;
        for (guint j = 0; j < extra_kw->len; j++)
            if (!g_strcmp0(extra_kw->pdata[j], kw ? kw : "(unmapped)")) have = true;
        if (!have) g_ptr_array_add(extra_kw, (gpointer)(kw ? kw : "(unmapped)"));
    }
    if (extra) {
        GString *kw = g_string_new(NULL);
        for (guint j = 0; j < extra_kw->len && j < 6; j++) {
            if (j) g_string_append(kw, ", ");
            g_string_append(kw, extra_kw->pdata[j]);
        }
        if (extra_kw->len > 6) g_string_append(kw, ", ...");
        add_finding(out, PROFILE_FINDING_INFO, "unrequested-events", NULL,
                    "The trace also holds %" G_GUINT64_FORMAT " kernel events the profile does not select (%s): "
                    "recorded with more than this profile, or merged with another session; --profile leaves them out",
                    extra, kw->str);
        g_string_free(kw, TRUE);
    }
    g_ptr_array_unref(extra_kw);

    /* User-mode providers. */
    for (guint i = 0; i < s->providers->len; i++) {
        ProvEntry *e = &g_array_index(s->providers, ProvEntry, i);
        for (size_t j = 0; j < t->n_providers; j++) {
            const ProfileSeenProvider *sp = &t->providers[j];
            if ((e->has_guid && guid_eq(&e->guid, &sp->guid)) || (e->name && guid_eq(&e->name_guid, &sp->guid)) ||
                (e->name && sp->name && !g_ascii_strcasecmp(e->name, sp->name))) {
                e->seen += sp->count;
                e->seen_stack += sp->with_stack;
            }
        }
        if (!e->seen) {
            add_finding(out, PROFILE_FINDING_WARNING, "missing-provider", e->sel.name,
                        "Provider %s was asked for, but the trace holds none of its events: it did not fire, or its "
                        "session was not merged into this file", e->sel.name);
        } else if (e->sel.stack && !e->seen_stack) {
            add_finding(out, PROFILE_FINDING_WARNING, "provider-no-stacks", e->sel.name,
                        "Provider %s was asked for with stacks, but none of its %" G_GUINT64_FORMAT " events carries "
                        "one", e->sel.name, e->seen);
        }
    }

    /* Lost events. */
    if (t->events_lost || t->buffers_lost || t->lost_event_records) {
        GString *buf = g_string_new(NULL);
        const ProfileCollector *sc = p->system_collector;
        if (sc && (sc->buffer_size_kb || sc->buffers))
            g_string_append_printf(buf, " (the profile's system collector: %" G_GUINT64_FORMAT " KB x %" G_GUINT64_FORMAT
                                   " buffers%s)", sc->buffer_size_kb, sc->buffers, sc->buffers_percent ? " %" : "");
        add_finding(out, PROFILE_FINDING_PROBLEM, "lost-events", NULL,
                    "%" G_GUINT64_FORMAT " events and %" G_GUINT64_FORMAT " buffers were lost and %" G_GUINT64_FORMAT
                    " lost-event records written: the buffers were too small for the event rate%s; raise Buffers or "
                    "BufferSize, or record fewer keywords and stacks", t->events_lost, t->buffers_lost,
                    t->lost_event_records, buf->str);
        g_string_free(buf, TRUE);
    }

    bool bad = false;
    for (guint i = 0; i < out->len; i++)
        if (((ProfileFinding *)out->pdata[i])->level >= PROFILE_FINDING_WARNING) bad = true;
    if (!bad)
        add_finding(out, PROFILE_FINDING_OK, "ok", NULL,
                    "The trace holds what the profile asked for: every keyword's events, the stacks, the providers, "
                    "and nothing was lost");
    g_ptr_array_sort(out, finding_cmp);
    profile_selection_free(s);
    return out;
}
