/* profile.c — lenient .wprp parser and resolver (Base inheritance, Set/Add/Remove).
 *
 * Two passes over the libxml2 tree: every definition (collectors, providers, hardware counters,
 * profiles, trace-merge properties) is registered by Id, then each Profile is resolved in file
 * order, resolving what it references on demand (memoised, cycles reported).  The tree is never
 * changed; the model is built from scratch.
 *
 * Safety: the document is read with xmlCtxtReadMemory and XML_PARSE_NONET, without
 * XML_PARSE_NOENT/DTDLOAD/DTDATTR, so no external entity, DTD or network resource is loaded and
 * entity references stay unexpanded; attribute values are taken from their text nodes only
 * (an entity reference in an attribute is dropped with a warning), so no entity is ever
 * expanded by this code either.
 */
#include "profile.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(etla-profile-error-quark, profile_error)

/* ------------------------------------------------------------------ model helpers */

static ProfileSystemProvider *sp_new(void)
{
    ProfileSystemProvider *sp = g_new0(ProfileSystemProvider, 1);
    sp->keywords = g_ptr_array_new_with_free_func(g_free);
    sp->custom_keywords = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    sp->stacks = g_ptr_array_new_with_free_func(g_free);
    sp->custom_stacks = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    sp->pool_tags = g_ptr_array_new_with_free_func(g_free);
    return sp;
}

static void sp_free(ProfileSystemProvider *sp)
{
    if (!sp) return;
    g_ptr_array_unref(sp->keywords);
    g_array_unref(sp->custom_keywords);
    g_ptr_array_unref(sp->stacks);
    g_array_unref(sp->custom_stacks);
    g_ptr_array_unref(sp->pool_tags);
    g_free(sp);
}

static bool strv_has(GPtrArray *a, const char *s)
{
    for (guint i = 0; i < a->len; i++)
        if (!strcmp(a->pdata[i], s)) return true;
    return false;
}

static void strv_add(GPtrArray *a, const char *s)
{
    if (!strv_has(a, s)) g_ptr_array_add(a, g_strdup(s));
}

static void strv_remove(GPtrArray *a, const char *s)
{
    for (guint i = 0; i < a->len; i++)
        if (!strcmp(a->pdata[i], s)) {
            g_ptr_array_remove_index(a, i);
            return;
        }
}

static void strv_union(GPtrArray *dst, GPtrArray *src)
{
    for (guint i = 0; i < src->len; i++) strv_add(dst, src->pdata[i]);
}

static void strv_subtract(GPtrArray *dst, GPtrArray *src)
{
    for (guint i = 0; i < src->len; i++) strv_remove(dst, src->pdata[i]);
}

static void strv_set(GPtrArray *dst, GPtrArray *src)
{
    g_ptr_array_set_size(dst, 0);
    strv_union(dst, src);
}

static GPtrArray *strv_copy(GPtrArray *src)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    strv_union(a, src);
    return a;
}

#define DEFINE_ARRAY_OPS(NAME, T)                                                                 \
    static bool NAME##_has(GArray *a, T v)                                                       \
    {                                                                                             \
        for (guint i = 0; i < a->len; i++)                                                        \
            if (g_array_index(a, T, i) == v) return true;                                         \
        return false;                                                                             \
    }                                                                                             \
    static void NAME##_add(GArray *a, T v)                                                       \
    {                                                                                             \
        if (!NAME##_has(a, v)) g_array_append_val(a, v);                                          \
    }                                                                                             \
    static void NAME##_apply(GArray *dst, GArray *src, ProfileOp op)                              \
    {                                                                                             \
        if (op == PROFILE_OP_SET) g_array_set_size(dst, 0);                                       \
        for (guint i = 0; i < src->len; i++) {                                                    \
            T v = g_array_index(src, T, i);                                                       \
            if (op == PROFILE_OP_REMOVE) {                                                        \
                for (guint j = 0; j < dst->len; j++)                                              \
                    if (g_array_index(dst, T, j) == v) {                                          \
                        g_array_remove_index(dst, j);                                             \
                        break;                                                                    \
                    }                                                                             \
            } else {                                                                              \
                NAME##_add(dst, v);                                                               \
            }                                                                                     \
        }                                                                                         \
    }

DEFINE_ARRAY_OPS(u32v, uint32_t)
DEFINE_ARRAY_OPS(u16v, uint16_t)
DEFINE_ARRAY_OPS(u64v, uint64_t)

static GArray *array_copy(GArray *src, guint elt)
{
    GArray *a = g_array_sized_new(FALSE, FALSE, elt, src->len);
    if (src->len) g_array_append_vals(a, src->data, src->len);
    return a;
}

static void strv_apply(GPtrArray *dst, GPtrArray *src, ProfileOp op)
{
    if (op == PROFILE_OP_SET) strv_set(dst, src);
    else if (op == PROFILE_OP_ADD) strv_union(dst, src);
    else strv_subtract(dst, src);
}

static ProfileSystemProvider *sp_copy(const ProfileSystemProvider *s)
{
    ProfileSystemProvider *sp = g_new0(ProfileSystemProvider, 1);
    sp->keywords = strv_copy(s->keywords);
    sp->custom_keywords = array_copy(s->custom_keywords, sizeof(uint32_t));
    sp->stacks = strv_copy(s->stacks);
    sp->custom_stacks = array_copy(s->custom_stacks, sizeof(uint16_t));
    sp->pool_tags = strv_copy(s->pool_tags);
    return sp;
}

/* dst op= src over every collection. */
static void sp_combine(ProfileSystemProvider *dst, const ProfileSystemProvider *src, ProfileOp op)
{
    strv_apply(dst->keywords, src->keywords, op);
    u32v_apply(dst->custom_keywords, src->custom_keywords, op);
    strv_apply(dst->stacks, src->stacks, op);
    u16v_apply(dst->custom_stacks, src->custom_stacks, op);
    strv_apply(dst->pool_tags, src->pool_tags, op);
}

static ProfileEventProvider *ep_new(void)
{
    ProfileEventProvider *ep = g_new0(ProfileEventProvider, 1);
    ep->level = 0xFF;
    ep->event_ids = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    ep->stacks = g_ptr_array_new_with_free_func(g_free);
    ep->custom_stacks = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    return ep;
}

static void ep_free(gpointer p)
{
    ProfileEventProvider *ep = p;
    if (!ep) return;
    g_free(ep->id);
    g_free(ep->name);
    g_array_unref(ep->event_ids);
    g_ptr_array_unref(ep->stacks);
    g_array_unref(ep->custom_stacks);
    g_free(ep);
}

static ProfileEventProvider *ep_copy(const ProfileEventProvider *s)
{
    ProfileEventProvider *ep = g_new0(ProfileEventProvider, 1);
    *ep = *s;
    ep->id = g_strdup(s->id);
    ep->name = g_strdup(s->name);
    ep->event_ids = array_copy(s->event_ids, sizeof(uint16_t));
    ep->stacks = strv_copy(s->stacks);
    ep->custom_stacks = array_copy(s->custom_stacks, sizeof(uint16_t));
    return ep;
}

static ProfileCollector *coll_new(ProfileCollectorKind kind, const char *id)
{
    ProfileCollector *c = g_new0(ProfileCollector, 1);
    c->kind = kind;
    c->id = g_strdup(id);
    if (kind == PROFILE_COLLECTOR_SYSTEM) c->system = sp_new();
    c->providers = g_ptr_array_new_with_free_func(ep_free);
    c->heap_providers = g_ptr_array_new_with_free_func(g_free);
    c->heap_pids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    c->hardware_counters = g_ptr_array_new_with_free_func(g_free);
    return c;
}

static void coll_free(gpointer p)
{
    ProfileCollector *c = p;
    if (!c) return;
    g_free(c->id);
    g_free(c->name);
    sp_free(c->system);
    g_ptr_array_unref(c->providers);
    g_ptr_array_unref(c->heap_providers);
    g_array_unref(c->heap_pids);
    g_ptr_array_unref(c->hardware_counters);
    g_free(c);
}

static ProfileCollector *coll_copy(const ProfileCollector *s)
{
    ProfileCollector *c = g_new0(ProfileCollector, 1);
    *c = *s;
    c->id = g_strdup(s->id);
    c->name = g_strdup(s->name);
    c->system = s->system ? sp_copy(s->system) : NULL;
    c->providers = g_ptr_array_new_with_free_func(ep_free);
    for (guint i = 0; i < s->providers->len; i++) g_ptr_array_add(c->providers, ep_copy(s->providers->pdata[i]));
    c->heap_providers = strv_copy(s->heap_providers);
    c->heap_pids = array_copy(s->heap_pids, sizeof(uint64_t));
    c->hardware_counters = strv_copy(s->hardware_counters);
    return c;
}

static ProfileTraceMerge *tm_new(void)
{
    ProfileTraceMerge *t = g_new0(ProfileTraceMerge, 1);
    t->delete_pre_merged = -1;
    t->file_compression = -1;
    t->custom_events = g_ptr_array_new_with_free_func(g_free);
    return t;
}

static void tm_free(gpointer p)
{
    ProfileTraceMerge *t = p;
    if (!t) return;
    g_free(t->id);
    g_free(t->name);
    g_ptr_array_unref(t->custom_events);
    g_free(t);
}

static ProfileTraceMerge *tm_copy(const ProfileTraceMerge *s)
{
    ProfileTraceMerge *t = g_new0(ProfileTraceMerge, 1);
    *t = *s;
    t->id = g_strdup(s->id);
    t->name = g_strdup(s->name);
    t->custom_events = strv_copy(s->custom_events);
    return t;
}

static void profile_free(gpointer p)
{
    Profile *pr = p;
    if (!pr) return;
    g_free(pr->id);
    g_free(pr->name);
    g_free(pr->description);
    g_free(pr->detail_level);
    g_free(pr->logging_mode);
    g_free(pr->base);
    g_ptr_array_unref(pr->collectors);
    tm_free(pr->trace_merge);
    sp_free(pr->system);
    if (pr->event_providers) g_ptr_array_unref(pr->event_providers);
    g_free(pr);
}

static void warning_free(gpointer p)
{
    ProfileWarning *w = p;
    g_free(w->message);
    g_free(w);
}

void profile_file_free(ProfileFile *f)
{
    if (!f) return;
    g_free(f->path);
    g_free(f->version);
    g_free(f->author);
    g_free(f->comments);
    g_ptr_array_unref(f->profiles);
    g_ptr_array_unref(f->trace_merges);
    g_ptr_array_unref(f->warnings);
    g_free(f);
}

/* ------------------------------------------------------------------ GUIDs */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool profile_guid_parse(const char *s, ProfileGuid *out)
{
    if (!s) return false;
    size_t len = strlen(s);
    bool braces = len == 38 && s[0] == '{' && s[37] == '}';
    if (braces) s++;
    else if (len != 36) return false;
    uint8_t b[16];
    int k = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
            continue;
        }
        int h = hexval(s[i]), l = hexval(s[i + 1]);
        if (h < 0 || l < 0) return false;
        b[k++] = (uint8_t)(h << 4 | l);
        i++;
    }
    out->data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    out->data2 = (uint16_t)(b[4] << 8 | b[5]);
    out->data3 = (uint16_t)(b[6] << 8 | b[7]);
    memcpy(out->data4, b + 8, 8);
    return true;
}

void profile_guid_format(const ProfileGuid *g, char out[PROFILE_GUID_STRLEN])
{
    g_snprintf(out, PROFILE_GUID_STRLEN, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", g->data1, g->data2,
               g->data3, g->data4[0], g->data4[1], g->data4[2], g->data4[3], g->data4[4], g->data4[5], g->data4[6],
               g->data4[7]);
}

void profile_eventsource_guid(const char *name, ProfileGuid *out)
{
    static const uint8_t ns[16] = { 0x48, 0x2C, 0x2D, 0xB2, 0xC3, 0x90, 0x47, 0xC8,
                                    0x87, 0xF8, 0x1A, 0x15, 0xBF, 0xC1, 0x30, 0xFB };
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(ck, ns, sizeof ns);
    /* The name upper-cased (ToUpperInvariant) in UTF-16 big-endian. */
    char *up = g_utf8_validate(name, -1, NULL) ? g_utf8_strup(name, -1) : g_ascii_strup(name, -1);
    glong n = 0;
    gunichar2 *u16 = g_utf8_to_utf16(up, -1, NULL, &n, NULL);
    for (glong i = 0; u16 && i < n; i++) {
        uint8_t be[2] = { (uint8_t)(u16[i] >> 8), (uint8_t)(u16[i] & 0xFF) };
        g_checksum_update(ck, be, 2);
    }
    g_free(u16);
    g_free(up);
    uint8_t h[20];
    gsize hl = sizeof h;
    g_checksum_get_digest(ck, h, &hl);
    g_checksum_free(ck);
    h[7] = (uint8_t)((h[7] & 0x0F) | 0x50);
    /* .NET's Guid(byte[]): the first three fields little-endian. */
    out->data1 = (uint32_t)h[3] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[1] << 8 | h[0];
    out->data2 = (uint16_t)(h[5] << 8 | h[4]);
    out->data3 = (uint16_t)(h[7] << 8 | h[6]);
    memcpy(out->data4, h + 8, 8);
}

/* ------------------------------------------------------------------ parser state */

typedef enum {
    DEF_SYSTEM_COLLECTOR,
    DEF_EVENT_COLLECTOR,
    DEF_HEAP_COLLECTOR,
    DEF_SYSTEM_PROVIDER,
    DEF_EVENT_PROVIDER,
    DEF_HEAP_PROVIDER,
    DEF_HARDWARE_COUNTER,
    DEF_PROFILE,
    DEF_TRACE_MERGE,
    DEF_KINDS
} DefKind;

static const char *const def_kind_name[DEF_KINDS] = {
    "SystemCollector", "EventCollector", "HeapEventCollector", "SystemProvider", "EventProvider",
    "HeapEventProvider", "HardwareCounter", "Profile", "TraceMergeProperty",
};

typedef struct {
    DefKind    kind;
    xmlNodePtr node;
    int        state;     /* 0 not resolved, 1 resolving, 2 resolved */
    void      *resolved;  /* owned: kind-specific */
} Def;

typedef struct {
    ProfileFile *f;
    GHashTable  *defs[DEF_KINDS]; /* Id -> Def * */
    GHashTable  *once;            /* keys of warnings given once per file */
} Parser;

static void def_free(gpointer p)
{
    Def *d = p;
    if (d->resolved) {
        switch (d->kind) {
        case DEF_SYSTEM_COLLECTOR:
        case DEF_EVENT_COLLECTOR:
        case DEF_HEAP_COLLECTOR: coll_free(d->resolved); break;
        case DEF_SYSTEM_PROVIDER: sp_free(d->resolved); break;
        case DEF_EVENT_PROVIDER: ep_free(d->resolved); break;
        case DEF_HEAP_PROVIDER: g_array_unref(d->resolved); break;
        case DEF_TRACE_MERGE: tm_free(d->resolved); break;
        case DEF_PROFILE: break; /* owned by the file */
        default: break;
        }
    }
    g_free(d);
}

static int node_line(xmlNodePtr n)
{
    long l = n ? xmlGetLineNo(n) : 0;
    return l > 0 && l < INT32_MAX ? (int)l : 0;
}

static void warn(Parser *P, xmlNodePtr n, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void warn(Parser *P, xmlNodePtr n, const char *fmt, ...)
{
    ProfileWarning *w = g_new0(ProfileWarning, 1);
    va_list ap;
    va_start(ap, fmt);
    w->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    w->line = node_line(n);
    g_ptr_array_add(P->f->warnings, w);
}

/* A warning given once per file for the same key (schema deviations repeat a lot). */
static void warn_once(Parser *P, xmlNodePtr n, const char *key, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void warn_once(Parser *P, xmlNodePtr n, const char *key, const char *fmt, ...)
{
    if (g_hash_table_contains(P->once, key)) return;
    g_hash_table_add(P->once, g_strdup(key));
    ProfileWarning *w = g_new0(ProfileWarning, 1);
    va_list ap;
    va_start(ap, fmt);
    w->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    w->line = node_line(n);
    g_ptr_array_add(P->f->warnings, w);
}

static bool is_el(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static const char *el_name(xmlNodePtr n)
{
    return (const char *)n->name;
}

/* An attribute's value from its text children only (entity references are never expanded);
 * NULL when absent.  g_free. */
static char *attr_get(Parser *P, xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, name)) continue;
        GString *s = g_string_new(NULL);
        for (xmlNodePtr c = a->children; c; c = c->next) {
            if (c->type == XML_TEXT_NODE && c->content) g_string_append(s, (const char *)c->content);
            else if (c->type == XML_ENTITY_REF_NODE)
                warn(P, n, "entity reference &%s; in attribute %s is not expanded", (const char *)c->name, name);
        }
        return g_string_free(s, FALSE);
    }
    return NULL;
}

/* Warn about attributes not in the list (a NULL-terminated array). */
static void check_attrs(Parser *P, xmlNodePtr n, const char *const *known)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            if (!strcmp(*k, (const char *)a->name)) {
                ok = true;
                break;
            }
        if (!ok) {
            warn(P, n, "unknown attribute %s on <%s> (ignored)", (const char *)a->name, el_name(n));
            continue;
        }
        static const char *const newer[] = { "MaximumBufferSpace", "HostGuestCorrelation", "EventKey", "Timeout" };
        for (size_t i = 0; i < G_N_ELEMENTS(newer); i++)
            if (!strcmp(newer[i], (const char *)a->name)) {
                char *key = g_strdup_printf("attr:%s", newer[i]);
                warn_once(P, n, key, "attribute %s (on <%s>) is newer than the published WPR schema", newer[i],
                          el_name(n));
                g_free(key);
            }
    }
}

static void unknown_child(Parser *P, xmlNodePtr c, xmlNodePtr parent)
{
    warn(P, c, "unknown element <%s> in <%s> (ignored)", el_name(c), el_name(parent));
}

/* Elements of newer WPR versions (and ProblemCategories) that etla accepts without using them;
 * the newer ones are reported once per file. */
static bool is_newer_ignored_(Parser *P, xmlNodePtr c)
{
    static const char *const names[] = {
        "EventNameFilters", "StackFilters", "CaptureStateOnDemand", "SampledCounters", "Counters", "Events",
        "LastBranch", "ProcessorTrace", "SkipMerge",
    };
    if (is_el(c, "ProblemCategories")) return true;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (is_el(c, names[i])) {
            char *key = g_strdup_printf("el:%s", names[i]);
            warn_once(P, c, key, "<%s> is newer than the published WPR schema: etla does not use it", names[i]);
            g_free(key);
            return true;
        }
    return false;
}
#define is_newer_ignored(c) is_newer_ignored_(P, (c))

/* An element newer than the schema that etla reads: reported once per file. */
static void newer_read(Parser *P, xmlNodePtr c)
{
    char *key = g_strdup_printf("el:%s", el_name(c));
    warn_once(P, c, key, "<%s> is newer than the published WPR schema (etla reads it)", el_name(c));
    g_free(key);
}

static bool parse_u64(const char *s, uint64_t *out, bool hex_default)
{
    if (!s) return false;
    while (g_ascii_isspace(*s)) s++;
    if (!*s || *s == '-' || *s == '+') return false;
    int base = hex_default ? 16 : 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
        if (!g_ascii_isxdigit(*s)) return false;
    }
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &end, base);
    if (errno || end == s) return false;
    while (g_ascii_isspace(*end)) end++;
    if (*end) return false;
    *out = v;
    return true;
}

/* Value attribute as a number; warns and returns false when missing or bad. */
static bool value_u64(Parser *P, xmlNodePtr n, const char *attr, uint64_t *out)
{
    char *v = attr_get(P, n, attr);
    bool ok = parse_u64(v, out, false);
    if (!ok) warn(P, n, "<%s> %s=\"%s\" is not a number (ignored)", el_name(n), attr, v ? v : "");
    g_free(v);
    return ok;
}

/* xs:boolean; dflt when absent; warns on a bad value. */
static bool attr_bool(Parser *P, xmlNodePtr n, const char *attr, bool dflt, bool *present)
{
    char *v = attr_get(P, n, attr);
    if (present) *present = v != NULL;
    if (!v) return dflt;
    bool r = dflt;
    if (!strcmp(v, "true") || !strcmp(v, "1")) r = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0")) r = false;
    else if (!g_ascii_strcasecmp(v, "true")) r = true, warn(P, n, "%s=\"%s\": booleans are lower case (read as true)", attr, v);
    else if (!g_ascii_strcasecmp(v, "false")) r = false, warn(P, n, "%s=\"%s\": booleans are lower case (read as false)", attr, v);
    else warn(P, n, "%s=\"%s\" is not true or false (ignored)", attr, v);
    g_free(v);
    return r;
}

static ProfileOp attr_op(Parser *P, xmlNodePtr n)
{
    char *v = attr_get(P, n, "Operation");
    ProfileOp op = PROFILE_OP_SET;
    if (v) {
        if (!strcmp(v, "Set")) op = PROFILE_OP_SET;
        else if (!strcmp(v, "Add")) op = PROFILE_OP_ADD;
        else if (!strcmp(v, "Remove")) op = PROFILE_OP_REMOVE;
        else {
            const char *sug = !g_ascii_strcasecmp(v, "set") ? "Set" : !g_ascii_strcasecmp(v, "add") ? "Add"
                              : !g_ascii_strcasecmp(v, "remove") ? "Remove" : NULL;
            if (sug) warn(P, n, "Operation=\"%s\" is not an operation (did you mean '%s'?); Set assumed", v, sug);
            else warn(P, n, "Operation=\"%s\" is not Set, Add or Remove; Set assumed", v);
        }
    }
    g_free(v);
    return op;
}

/* An Id attribute (Id or Value); warns when it breaks IdType [^:\s]+. */
static char *attr_id(Parser *P, xmlNodePtr n, const char *attr)
{
    char *v = attr_get(P, n, attr);
    if (!v) {
        warn(P, n, "<%s> has no %s attribute (ignored)", el_name(n), attr);
        return NULL;
    }
    if (!*v) {
        warn(P, n, "<%s> has an empty %s (ignored)", el_name(n), attr);
        g_free(v);
        return NULL;
    }
    for (const char *s = v; *s; s++)
        if (*s == ':' || g_ascii_isspace(*s)) {
            warn(P, n, "<%s> %s \"%s\" contains a colon or white space (not allowed in WPR Ids)", el_name(n), attr,
                 v);
            break;
        }
    return v;
}

/* ------------------------------------------------------------------ registration */

static void register_def(Parser *P, DefKind kind, xmlNodePtr n)
{
    char *id = attr_id(P, n, "Id");
    if (!id) return;
    if (g_hash_table_contains(P->defs[kind], id)) {
        Def *old = g_hash_table_lookup(P->defs[kind], id);
        warn(P, n, "%s Id \"%s\" is defined twice (first at line %d; that one is used)", def_kind_name[kind], id,
             node_line(old->node));
        g_free(id);
        return;
    }
    Def *d = g_new0(Def, 1);
    d->kind = kind;
    d->node = n;
    g_hash_table_insert(P->defs[kind], id, d);
}

static Def *find_def(Parser *P, DefKind kind, const char *id)
{
    return id ? g_hash_table_lookup(P->defs[kind], id) : NULL;
}

/* ------------------------------------------------------------------ system providers */

/* Keyword/CustomKeyword/Stack/CustomStack/PoolTag collections of n applied to sp. */
static void sp_apply_children(Parser *P, ProfileSystemProvider *sp, xmlNodePtr n)
{
    static const char *const op_attrs[] = { "Operation", NULL };
    static const char *const val_attrs[] = { "Value", "Strict", NULL };
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, "Keywords")) {
            check_attrs(P, c, op_attrs);
            ProfileOp op = attr_op(P, c);
            ProfileSystemProvider *t = sp_new();
            for (xmlNodePtr k = c->children; k; k = k->next) {
                if (k->type != XML_ELEMENT_NODE) continue;
                check_attrs(P, k, val_attrs);
                if (is_el(k, "Keyword")) {
                    char *v = attr_get(P, k, "Value");
                    if (!v) {
                        warn(P, k, "<Keyword> has no Value (ignored)");
                    } else if (profile_keyword_lookup(v)) {
                        const ProfileKeywordInfo *ki = profile_keyword_lookup(v);
                        if (ki->source == PROFILE_NAME_REAL) {
                            char *key = g_strdup_printf("kw:%s", v);
                            warn_once(P, k, key, "system keyword \"%s\" is not in the published WPR schema (newer WPR "
                                      "versions accept it)%s", v,
                                      ki->perf_mask ? "" : "; its kernel flag is not known to etla, it adds no bit");
                            g_free(key);
                        }
                        strv_add(t->keywords, v);
                    } else {
                        const char *sug = profile_keyword_suggest(v);
                        if (sug) warn(P, k, "unknown system keyword \"%s\" (did you mean '%s'?); ignored", v, sug);
                        else warn(P, k, "unknown system keyword \"%s\" (ignored)", v);
                    }
                    g_free(v);
                } else if (is_el(k, "CustomKeyword")) {
                    uint64_t v;
                    if (value_u64(P, k, "Value", &v)) {
                        if (v > UINT32_MAX) warn(P, k, "<CustomKeyword> value 0x%" G_GINT64_MODIFIER "x is wider than 32 bits (ignored)", v);
                        else u32v_add(t->custom_keywords, (uint32_t)v);
                    }
                } else {
                    unknown_child(P, k, c);
                }
            }
            strv_apply(sp->keywords, t->keywords, op);
            u32v_apply(sp->custom_keywords, t->custom_keywords, op);
            sp_free(t);
        } else if (is_el(c, "Stacks")) {
            check_attrs(P, c, op_attrs);
            ProfileOp op = attr_op(P, c);
            ProfileSystemProvider *t = sp_new();
            for (xmlNodePtr k = c->children; k; k = k->next) {
                if (k->type != XML_ELEMENT_NODE) continue;
                check_attrs(P, k, val_attrs);
                if (is_el(k, "Stack")) {
                    char *v = attr_get(P, k, "Value");
                    if (!v) {
                        warn(P, k, "<Stack> has no Value (ignored)");
                    } else if (profile_stack_lookup(v)) {
                        if (profile_stack_lookup(v)->source == PROFILE_NAME_REAL) {
                            char *key = g_strdup_printf("st:%s", v);
                            warn_once(P, k, key, "stack \"%s\" is not in the published WPR schema (newer WPR versions "
                                      "accept it)", v);
                            g_free(key);
                        }
                        strv_add(t->stacks, v);
                    } else {
                        const char *sug = profile_stack_suggest(v);
                        if (sug) warn(P, k, "unknown stack \"%s\" (did you mean '%s'?); ignored", v, sug);
                        else warn(P, k, "unknown stack \"%s\" (ignored)", v);
                    }
                    g_free(v);
                } else if (is_el(k, "CustomStack")) {
                    uint64_t v;
                    newer_read(P, k);
                    if (value_u64(P, k, "Value", &v)) {
                        if (v > 0xFFFF) warn(P, k, "<CustomStack> hook 0x%" G_GINT64_MODIFIER "x is wider than 16 bits (ignored)", v);
                        else u16v_add(t->custom_stacks, (uint16_t)v);
                    }
                } else {
                    unknown_child(P, k, c);
                }
            }
            strv_apply(sp->stacks, t->stacks, op);
            u16v_apply(sp->custom_stacks, t->custom_stacks, op);
            sp_free(t);
        } else if (is_el(c, "PoolTags")) {
            check_attrs(P, c, op_attrs);
            ProfileOp op = attr_op(P, c);
            GPtrArray *tags = g_ptr_array_new_with_free_func(g_free);
            for (xmlNodePtr k = c->children; k; k = k->next) {
                if (k->type != XML_ELEMENT_NODE) continue;
                if (!is_el(k, "PoolTag")) {
                    unknown_child(P, k, c);
                    continue;
                }
                check_attrs(P, k, val_attrs);
                char *v = attr_get(P, k, "Value");
                size_t len = v ? strlen(v) : 0;
                bool ascii = true;
                for (size_t i = 0; i < len; i++)
                    if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7E) ascii = false;
                if (!v || len < 1 || len > 4 || !ascii)
                    warn(P, k, "pool tag \"%s\" is not 1 to 4 printable ASCII characters (ignored)", v ? v : "");
                else strv_add(tags, v);
                g_free(v);
            }
            if (tags->len > 4)
                warn(P, c, "%u pool tags in one <PoolTags>: the kernel filters on at most 4", tags->len);
            strv_apply(sp->pool_tags, tags, op);
            g_ptr_array_unref(tags);
        } else if (!is_newer_ignored(c)) {
            unknown_child(P, c, n);
        }
    }
}

static const ProfileSystemProvider *resolve_system_provider(Parser *P, const char *id, xmlNodePtr ref);

/* A SystemProvider definition (top level or in place). */
static ProfileSystemProvider *build_system_provider(Parser *P, xmlNodePtr n)
{
    static const char *const attrs[] = { "Id", "Base", "Strict", NULL };
    check_attrs(P, n, attrs);
    char *base = attr_get(P, n, "Base");
    ProfileSystemProvider *sp = NULL;
    if (base && *base) {
        const ProfileSystemProvider *b = resolve_system_provider(P, base, n);
        if (b) sp = sp_copy(b);
    }
    if (!sp) sp = sp_new();
    g_free(base);
    sp_apply_children(P, sp, n);
    return sp;
}

static const ProfileSystemProvider *resolve_system_provider(Parser *P, const char *id, xmlNodePtr ref)
{
    Def *d = find_def(P, DEF_SYSTEM_PROVIDER, id);
    if (!d) {
        warn(P, ref, "SystemProvider \"%s\" is not defined in this file (ignored)", id);
        return NULL;
    }
    if (d->state == 1) {
        warn(P, ref, "SystemProvider \"%s\" inherits from itself (Base cycle; ignored)", id);
        return NULL;
    }
    if (d->state == 0) {
        d->state = 1;
        d->resolved = build_system_provider(P, d->node);
        d->state = 2;
    }
    return d->resolved;
}

/* ------------------------------------------------------------------ event providers */

/* Keyword children of a Keywords / CaptureState* element as a mask. */
static uint64_t ep_keyword_mask(Parser *P, xmlNodePtr c)
{
    static const char *const val_attrs[] = { "Value", NULL };
    uint64_t m = 0;
    for (xmlNodePtr k = c->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE) continue;
        if (!is_el(k, "Keyword")) {
            unknown_child(P, k, c);
            continue;
        }
        check_attrs(P, k, val_attrs);
        char *v = attr_get(P, k, "Value");
        uint64_t x;
        if (!parse_u64(v, &x, true)) {
            warn(P, k, "event provider keyword \"%s\" is not a hexadecimal number (ignored)", v ? v : "");
        } else {
            if (!(v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) && x >= 10)
                warn(P, k, "keyword \"%s\" has no 0x prefix: read as hexadecimal 0x%" G_GINT64_MODIFIER "x", v, x);
            m |= x;
        }
        g_free(v);
    }
    return m;
}

static uint64_t apply_mask(uint64_t cur, uint64_t v, ProfileOp op)
{
    return op == PROFILE_OP_SET ? v : op == PROFILE_OP_ADD ? (cur | v) : (cur & ~v);
}

/* Children of an EventProvider or an EventProviderId (in-place edits). */
static void ep_apply_children(Parser *P, ProfileEventProvider *ep, xmlNodePtr n)
{
    static const char *const op_attrs[] = { "Operation", NULL };
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, "Keywords") || is_el(c, "CaptureStateOnStart") || is_el(c, "CaptureStateOnSave")) {
            check_attrs(P, c, op_attrs);
            ProfileOp op = attr_op(P, c);
            uint64_t m = ep_keyword_mask(P, c);
            if (is_el(c, "Keywords")) ep->keywords = apply_mask(ep->keywords, m, op);
            else if (is_el(c, "CaptureStateOnStart")) ep->capture_on_start = apply_mask(ep->capture_on_start, m, op);
            else ep->capture_on_save = apply_mask(ep->capture_on_save, m, op);
        } else if (is_el(c, "EventFilters")) {
            static const char *const attrs[] = { "FilterIn", "Operation", NULL };
            newer_read(P, c);
            check_attrs(P, c, attrs);
            ep->event_ids_filter_in = attr_bool(P, c, "FilterIn", true, NULL);
            g_array_set_size(ep->event_ids, 0);
            for (xmlNodePtr k = c->children; k; k = k->next) {
                if (k->type != XML_ELEMENT_NODE) continue;
                xmlNodePtr list = is_el(k, "EventIds") ? k->children : k;
                for (xmlNodePtr e = list; e; e = e == k ? NULL : e->next) {
                    if (e->type != XML_ELEMENT_NODE) continue;
                    if (!is_el(e, "EventId")) {
                        unknown_child(P, e, c);
                        continue;
                    }
                    uint64_t v;
                    if (value_u64(P, e, "Value", &v)) {
                        if (v > 0xFFFF) warn(P, e, "event id %" G_GUINT64_FORMAT " is larger than 65535 (ignored)", v);
                        else u16v_add(ep->event_ids, (uint16_t)v);
                    }
                }
            }
        } else if (is_el(c, "Stacks")) {
            check_attrs(P, c, op_attrs);
            warn_once(P, c, "el:EventProvider/Stacks",
                      "<Stacks> in an EventProvider is newer than the published WPR schema (etla reads it)");
            ProfileOp op = attr_op(P, c);
            ProfileSystemProvider *t = sp_new();
            for (xmlNodePtr k = c->children; k; k = k->next) {
                if (k->type != XML_ELEMENT_NODE) continue;
                if (is_el(k, "Stack")) {
                    char *v = attr_get(P, k, "Value");
                    if (v && profile_stack_lookup(v)) strv_add(t->stacks, v);
                    else {
                        const char *sug = profile_stack_suggest(v);
                        if (sug) warn(P, k, "unknown stack \"%s\" (did you mean '%s'?); ignored", v ? v : "", sug);
                        else warn(P, k, "unknown stack \"%s\" (ignored)", v ? v : "");
                    }
                    g_free(v);
                } else if (is_el(k, "CustomStack")) {
                    uint64_t v;
                    newer_read(P, k);
                    if (value_u64(P, k, "Value", &v) && v <= 0xFFFF) u16v_add(t->custom_stacks, (uint16_t)v);
                } else {
                    unknown_child(P, k, c);
                }
            }
            strv_apply(ep->stacks, t->stacks, op);
            u16v_apply(ep->custom_stacks, t->custom_stacks, op);
            sp_free(t);
        } else if (!is_newer_ignored(c)) {
            unknown_child(P, c, n);
        }
    }
}

static void ep_set_name(ProfileEventProvider *ep, const char *name)
{
    g_free(ep->name);
    ep->name = g_strdup(name);
    ep->has_guid = false;
    memset(&ep->guid, 0, sizeof ep->guid);
    if (profile_guid_parse(name, &ep->guid)) ep->has_guid = true;
    else if (name[0] == '*' && name[1]) {
        profile_eventsource_guid(name + 1, &ep->guid);
        ep->has_guid = true;
    }
}

static const ProfileEventProvider *resolve_event_provider(Parser *P, const char *id, xmlNodePtr ref);

static ProfileEventProvider *build_event_provider(Parser *P, xmlNodePtr n)
{
    static const char *const attrs[] = { "Id", "Name", "Base", "NonPagedMemory", "Stack", "SID", "TSID", "Level",
                                         "CaptureStateOnly", "Strict", "EventKey", "Timeout", NULL };
    check_attrs(P, n, attrs);
    ProfileEventProvider *ep = NULL;
    char *base = attr_get(P, n, "Base");
    if (base && *base) {
        const ProfileEventProvider *b = resolve_event_provider(P, base, n);
        if (b) ep = ep_copy(b);
    }
    g_free(base);
    if (!ep) ep = ep_new();
    g_free(ep->id);
    ep->id = attr_get(P, n, "Id");
    char *name = attr_get(P, n, "Name");
    if (name && *name) ep_set_name(ep, name);
    else if (!ep->name) warn(P, n, "EventProvider \"%s\" has no Name: it selects nothing", ep->id ? ep->id : "");
    g_free(name);
    char *lv = attr_get(P, n, "Level");
    if (lv) {
        uint64_t l;
        if (parse_u64(lv, &l, false) && l <= 255) ep->level = (uint8_t)l;
        else warn(P, n, "Level=\"%s\" is not 0 to 255 (ignored)", lv);
        g_free(lv);
    }
    ep->stack = attr_bool(P, n, "Stack", ep->stack, NULL);
    ep->non_paged = attr_bool(P, n, "NonPagedMemory", ep->non_paged, NULL);
    ep->capture_state_only = attr_bool(P, n, "CaptureStateOnly", ep->capture_state_only, NULL);
    ep_apply_children(P, ep, n);
    return ep;
}

static const ProfileEventProvider *resolve_event_provider(Parser *P, const char *id, xmlNodePtr ref)
{
    Def *d = find_def(P, DEF_EVENT_PROVIDER, id);
    if (!d) {
        warn(P, ref, "EventProvider \"%s\" is not defined in this file (ignored)", id);
        return NULL;
    }
    if (d->state == 1) {
        warn(P, ref, "EventProvider \"%s\" inherits from itself (Base cycle; ignored)", id);
        return NULL;
    }
    if (d->state == 0) {
        d->state = 1;
        d->resolved = build_event_provider(P, d->node);
        d->state = 2;
    }
    return d->resolved;
}

/* ------------------------------------------------------------------ heap providers */

static void heap_pids_apply(Parser *P, GArray *pids, xmlNodePtr n)
{
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (!is_el(c, "HeapProcessIds")) {
            if (!is_newer_ignored(c)) unknown_child(P, c, n);
            continue;
        }
        ProfileOp op = attr_op(P, c);
        GArray *t = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        for (xmlNodePtr k = c->children; k; k = k->next) {
            if (k->type != XML_ELEMENT_NODE) continue;
            if (!is_el(k, "HeapProcessId")) {
                unknown_child(P, k, c);
                continue;
            }
            uint64_t v;
            if (value_u64(P, k, "Value", &v)) u64v_add(t, v);
        }
        u64v_apply(pids, t, op);
        g_array_unref(t);
    }
}

static const GArray *resolve_heap_provider(Parser *P, const char *id, xmlNodePtr ref)
{
    Def *d = find_def(P, DEF_HEAP_PROVIDER, id);
    if (!d) {
        warn(P, ref, "HeapEventProvider \"%s\" is not defined in this file (ignored)", id);
        return NULL;
    }
    if (d->state == 1) {
        warn(P, ref, "HeapEventProvider \"%s\" inherits from itself (Base cycle; ignored)", id);
        return NULL;
    }
    if (d->state == 0) {
        d->state = 1;
        GArray *pids = NULL;
        char *base = attr_get(P, d->node, "Base");
        if (base && *base) {
            const GArray *b = resolve_heap_provider(P, base, d->node);
            if (b) pids = array_copy((GArray *)b, sizeof(uint64_t));
        }
        g_free(base);
        if (!pids) pids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        heap_pids_apply(P, pids, d->node);
        d->resolved = pids;
        d->state = 2;
    }
    return d->resolved;
}

/* ------------------------------------------------------------------ collectors */

/* BufferSize / Buffers / StackCaching children (with Operation). true if c was one. */
static bool coll_apply_buffer_child(Parser *P, ProfileCollector *col, xmlNodePtr c)
{
    if (is_el(c, "BufferSize")) {
        static const char *const attrs[] = { "Value", "Operation", NULL };
        check_attrs(P, c, attrs);
        ProfileOp op = attr_op(P, c);
        uint64_t v;
        if (value_u64(P, c, "Value", &v)) {
            if (op == PROFILE_OP_REMOVE) col->buffer_size_kb = 0;
            else if (op == PROFILE_OP_ADD) col->buffer_size_kb += v;
            else col->buffer_size_kb = v;
        }
        return true;
    }
    if (is_el(c, "Buffers")) {
        static const char *const attrs[] = { "Value", "Operation", "PercentageOfTotalMemory", "MaximumBufferSpace", NULL };
        check_attrs(P, c, attrs);
        ProfileOp op = attr_op(P, c);
        uint64_t v;
        if (value_u64(P, c, "Value", &v)) {
            if (op == PROFILE_OP_REMOVE) col->buffers = 0;
            else if (op == PROFILE_OP_ADD) col->buffers += v;
            else col->buffers = v;
            col->buffers_percent = attr_bool(P, c, "PercentageOfTotalMemory", false, NULL);
            if (col->buffers_percent && col->buffers > 100)
                warn(P, c, "Buffers %" G_GUINT64_FORMAT " percent of memory is more than 100", col->buffers);
        }
        char *mbs = attr_get(P, c, "MaximumBufferSpace");
        if (mbs) {
            uint64_t m;
            if (parse_u64(mbs, &m, false)) col->max_buffer_space = m;
            else warn(P, c, "MaximumBufferSpace=\"%s\" is not a number (ignored)", mbs);
            g_free(mbs);
        }
        return true;
    }
    if (is_el(c, "StackCaching")) {
        static const char *const attrs[] = { "BucketCount", "CacheSize", NULL };
        check_attrs(P, c, attrs);
        uint64_t b, s;
        if (value_u64(P, c, "BucketCount", &b) && value_u64(P, c, "CacheSize", &s)) {
            col->stack_cache_buckets = b;
            col->stack_cache_size = s;
        }
        return true;
    }
    return false;
}

static const ProfileCollector *resolve_collector(Parser *P, DefKind kind, const char *id, xmlNodePtr ref);

static ProfileCollector *build_collector(Parser *P, DefKind kind, xmlNodePtr n)
{
    static const char *const attrs[] = { "Id", "Name", "Base", "Realtime", "Private", "ProcessPrivate", "Secure",
                                         "FileName", "HostGuestCorrelation", NULL };
    check_attrs(P, n, attrs);
    ProfileCollectorKind ck = kind == DEF_SYSTEM_COLLECTOR ? PROFILE_COLLECTOR_SYSTEM
                              : kind == DEF_EVENT_COLLECTOR ? PROFILE_COLLECTOR_EVENT : PROFILE_COLLECTOR_HEAP;
    ProfileCollector *col = NULL;
    char *base = attr_get(P, n, "Base");
    if (base && *base) {
        const ProfileCollector *b = resolve_collector(P, kind, base, n);
        if (b) col = coll_copy(b);
    }
    g_free(base);
    char *id = attr_get(P, n, "Id");
    if (!col) col = coll_new(ck, id);
    else {
        g_free(col->id);
        col->id = g_strdup(id);
    }
    g_free(id);
    char *name = attr_get(P, n, "Name");
    if (name) {
        g_free(col->name);
        col->name = name;
        if (kind == DEF_SYSTEM_COLLECTOR && strcmp(name, "NT Kernel Logger") &&
            strcmp(name, "Circular Kernel Context Logger")) {
            char *key = g_strdup_printf("scname:%s", name);
            warn_once(P, n, key, "SystemCollector Name \"%s\" is not NT Kernel Logger or Circular Kernel Context "
                      "Logger (the schema's names): read as a Win8+ system logger session", name);
            g_free(key);
        }
    } else if (!col->name) {
        warn(P, n, "%s \"%s\" has no Name (the schema requires one)", def_kind_name[kind], col->id ? col->id : "");
    }
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (!coll_apply_buffer_child(P, col, c) && !is_newer_ignored(c)) unknown_child(P, c, n);
    }
    return col;
}

static DefKind def_kind_of_collector(ProfileCollectorKind k)
{
    return k == PROFILE_COLLECTOR_SYSTEM ? DEF_SYSTEM_COLLECTOR
           : k == PROFILE_COLLECTOR_EVENT ? DEF_EVENT_COLLECTOR : DEF_HEAP_COLLECTOR;
}

/* Collector Ids WPR defines itself (WPR_PROFILES.md §3.2): referenced without a definition. */
static bool is_builtin_collector(const char *id)
{
    static const char *const ids[] = {
        "SystemCollector_WPRSystemCollectorInFile", "SystemCollector_WPRSystemCollectorInMemory",
        "EventCollector_WPREventCollectorInFile", "EventCollector_WPREventCollectorInMemory",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++)
        if (!strcmp(ids[i], id)) return true;
    return false;
}

static const ProfileCollector *resolve_collector(Parser *P, DefKind kind, const char *id, xmlNodePtr ref)
{
    Def *d = find_def(P, kind, id);
    if (!d) {
        if (!is_builtin_collector(id))
            warn(P, ref, "%s \"%s\" is not defined in this file (a WPR built-in?); its buffer settings are unknown",
                 def_kind_name[kind], id);
        return NULL;
    }
    if (d->state == 1) {
        warn(P, ref, "%s \"%s\" inherits from itself (Base cycle; ignored)", def_kind_name[kind], id);
        return NULL;
    }
    if (d->state == 0) {
        d->state = 1;
        d->resolved = build_collector(P, kind, d->node);
        d->state = 2;
    }
    return d->resolved;
}

/* ------------------------------------------------------------------ profiles */

static ProfileCollector *find_collector(GPtrArray *list, ProfileCollectorKind kind, const char *id, const char *name)
{
    for (guint i = 0; i < list->len; i++) {
        ProfileCollector *c = list->pdata[i];
        if (c->kind == kind && id && c->id && !strcmp(c->id, id)) return c;
    }
    /* Collectors with the same session name merge (WPR merges them across profiles). */
    for (guint i = 0; name && i < list->len; i++) {
        ProfileCollector *c = list->pdata[i];
        if (c->kind == kind && c->name && !strcmp(c->name, name)) return c;
    }
    return NULL;
}

static bool ep_same(const ProfileEventProvider *a, const ProfileEventProvider *b)
{
    if (a->id && b->id && !strcmp(a->id, b->id)) return true;
    return false;
}

/* Event providers listed in an <EventProviders>: resolved copies with in-place edits. */
static GPtrArray *collect_event_providers(Parser *P, xmlNodePtr eps)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(ep_free);
    for (xmlNodePtr c = eps->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        ProfileEventProvider *ep = NULL;
        if (is_el(c, "EventProviderId")) {
            static const char *const attrs[] = { "Value", NULL };
            check_attrs(P, c, attrs);
            char *id = attr_id(P, c, "Value");
            const ProfileEventProvider *def = id ? resolve_event_provider(P, id, c) : NULL;
            if (def) {
                ep = ep_copy(def);
                ep_apply_children(P, ep, c);
            }
            g_free(id);
        } else if (is_el(c, "EventProvider")) {
            char *id = attr_get(P, c, "Id");
            if (id && *id && !find_def(P, DEF_EVENT_PROVIDER, id)) register_def(P, DEF_EVENT_PROVIDER, c);
            Def *d = id ? find_def(P, DEF_EVENT_PROVIDER, id) : NULL;
            if (d && d->node == c) {
                const ProfileEventProvider *def = resolve_event_provider(P, id, c);
                if (def) ep = ep_copy(def);
            } else {
                ep = build_event_provider(P, c); /* an in-place definition without a usable Id */
            }
            g_free(id);
        } else if (!is_newer_ignored(c)) {
            unknown_child(P, c, eps);
        }
        if (ep) {
            bool dup = false;
            for (guint i = 0; i < list->len; i++)
                if (ep_same(list->pdata[i], ep)) {
                    ep_free(list->pdata[i]);
                    list->pdata[i] = ep;
                    dup = true;
                    break;
                }
            if (!dup) g_ptr_array_add(list, ep);
        }
    }
    return list;
}

static void providers_apply(GPtrArray *dst, GPtrArray *src, ProfileOp op)
{
    if (op == PROFILE_OP_SET) g_ptr_array_set_size(dst, 0);
    for (guint i = 0; i < src->len; i++) {
        ProfileEventProvider *ep = src->pdata[i];
        guint j;
        for (j = 0; j < dst->len; j++)
            if (ep_same(dst->pdata[j], ep)) break;
        if (op == PROFILE_OP_REMOVE) {
            if (j < dst->len) g_ptr_array_remove_index(dst, j);
            continue;
        }
        if (j < dst->len) {
            ep_free(dst->pdata[j]);
            dst->pdata[j] = ep_copy(ep);
        } else {
            g_ptr_array_add(dst, ep_copy(ep));
        }
    }
}

/* The system provider of a SystemCollectorId: SystemProviderId (+ in-place edits) or an in-place
 * SystemProvider.  NULL when there is none. */
static ProfileSystemProvider *collector_system_provider(Parser *P, xmlNodePtr c)
{
    if (is_el(c, "SystemProviderId")) {
        static const char *const attrs[] = { "Value", NULL };
        check_attrs(P, c, attrs);
        char *id = attr_id(P, c, "Value");
        const ProfileSystemProvider *def = id ? resolve_system_provider(P, id, c) : NULL;
        g_free(id);
        if (!def) return NULL;
        ProfileSystemProvider *sp = sp_copy(def);
        sp_apply_children(P, sp, c);
        return sp;
    }
    /* <SystemProvider> in place */
    char *id = attr_get(P, c, "Id");
    if (id && *id && !find_def(P, DEF_SYSTEM_PROVIDER, id)) register_def(P, DEF_SYSTEM_PROVIDER, c);
    Def *d = id ? find_def(P, DEF_SYSTEM_PROVIDER, id) : NULL;
    ProfileSystemProvider *sp;
    if (d && d->node == c) {
        const ProfileSystemProvider *def = resolve_system_provider(P, id, c);
        sp = def ? sp_copy(def) : sp_new();
    } else {
        sp = build_system_provider(P, c);
    }
    g_free(id);
    return sp;
}

/* One <SystemCollectorId>/<EventCollectorId>/<HeapEventCollectorId> applied to list. */
static void apply_collector_ref(Parser *P, GPtrArray *list, xmlNodePtr ref, ProfileOp op)
{
    ProfileCollectorKind kind = is_el(ref, "SystemCollectorId") ? PROFILE_COLLECTOR_SYSTEM
                                : is_el(ref, "EventCollectorId") ? PROFILE_COLLECTOR_EVENT : PROFILE_COLLECTOR_HEAP;
    static const char *const attrs[] = { "Value", NULL };
    check_attrs(P, ref, attrs);
    char *id = attr_id(P, ref, "Value");
    if (!id) return;
    const ProfileCollector *def = resolve_collector(P, def_kind_of_collector(kind), id, ref);
    ProfileCollector *col = find_collector(list, kind, id, def ? def->name : NULL);

    if (op == PROFILE_OP_REMOVE) {
        bool has_children = false;
        for (xmlNodePtr c = ref->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE) has_children = true;
        if (col && !has_children) {
            g_ptr_array_remove(list, col);
        } else if (col) {
            for (xmlNodePtr c = ref->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE) continue;
                if ((is_el(c, "SystemProviderId") || is_el(c, "SystemProvider")) && col->system) {
                    ProfileSystemProvider *sp = collector_system_provider(P, c);
                    if (sp) sp_combine(col->system, sp, PROFILE_OP_REMOVE);
                    sp_free(sp);
                } else if (is_el(c, "EventProviders")) {
                    GPtrArray *eps = collect_event_providers(P, c);
                    providers_apply(col->providers, eps, PROFILE_OP_REMOVE);
                    g_ptr_array_unref(eps);
                } else if (is_el(c, "HeapEventProviders")) {
                    for (xmlNodePtr h = c->children; h; h = h->next)
                        if (is_el(h, "HeapEventProviderId") || is_el(h, "HeapEventProvider")) {
                            char *hid = attr_get(P, h, is_el(h, "HeapEventProviderId") ? "Value" : "Id");
                            if (hid) strv_remove(col->heap_providers, hid);
                            g_free(hid);
                        }
                } else if (is_el(c, "HardwareCounterId")) {
                    char *hid = attr_get(P, c, "Value");
                    if (hid) strv_remove(col->hardware_counters, hid);
                    g_free(hid);
                }
            }
        }
        g_free(id);
        return;
    }

    if (!col) {
        col = def ? coll_copy(def) : coll_new(kind, id);
        g_ptr_array_add(list, col);
    }
    for (xmlNodePtr c = ref->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (coll_apply_buffer_child(P, col, c)) continue;
        if (kind == PROFILE_COLLECTOR_SYSTEM && (is_el(c, "SystemProviderId") || is_el(c, "SystemProvider"))) {
            ProfileSystemProvider *sp = collector_system_provider(P, c);
            if (sp) sp_combine(col->system, sp, PROFILE_OP_ADD);
            sp_free(sp);
        } else if (kind == PROFILE_COLLECTOR_SYSTEM && is_el(c, "HardwareCounterId")) {
            newer_read(P, c);
            char *hid = attr_id(P, c, "Value");
            if (hid) {
                if (!find_def(P, DEF_HARDWARE_COUNTER, hid))
                    warn(P, c, "HardwareCounter \"%s\" is not defined in this file", hid);
                strv_add(col->hardware_counters, hid);
            }
            g_free(hid);
        } else if (kind == PROFILE_COLLECTOR_EVENT && is_el(c, "EventProviders")) {
            static const char *const op_attrs[] = { "Operation", NULL };
            check_attrs(P, c, op_attrs);
            ProfileOp eop = attr_op(P, c);
            GPtrArray *eps = collect_event_providers(P, c);
            providers_apply(col->providers, eps, eop);
            g_ptr_array_unref(eps);
        } else if (kind == PROFILE_COLLECTOR_HEAP && is_el(c, "HeapEventProviders")) {
            ProfileOp hop = attr_op(P, c);
            GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
            for (xmlNodePtr h = c->children; h; h = h->next) {
                if (h->type != XML_ELEMENT_NODE) continue;
                char *hid = NULL;
                if (is_el(h, "HeapEventProviderId")) {
                    hid = attr_id(P, h, "Value");
                } else if (is_el(h, "HeapEventProvider")) {
                    hid = attr_get(P, h, "Id");
                    if (hid && *hid && !find_def(P, DEF_HEAP_PROVIDER, hid)) register_def(P, DEF_HEAP_PROVIDER, h);
                } else {
                    unknown_child(P, h, c);
                    continue;
                }
                if (!hid) continue;
                const GArray *pids = resolve_heap_provider(P, hid, h);
                if (pids) {
                    GArray *mine = array_copy((GArray *)pids, sizeof(uint64_t));
                    if (is_el(h, "HeapEventProviderId")) heap_pids_apply(P, mine, h);
                    if (hop != PROFILE_OP_REMOVE) u64v_apply(col->heap_pids, mine, PROFILE_OP_ADD);
                    g_array_unref(mine);
                }
                strv_add(ids, hid);
                g_free(hid);
            }
            strv_apply(col->heap_providers, ids, hop);
            g_ptr_array_unref(ids);
        } else if (!is_newer_ignored(c)) {
            unknown_child(P, c, ref);
        }
    }
    g_free(id);
}

static void apply_collectors(Parser *P, Profile *pr, xmlNodePtr cs)
{
    static const char *const attrs[] = { "Operation", NULL };
    check_attrs(P, cs, attrs);
    ProfileOp op = attr_op(P, cs);
    GPtrArray *target = pr->collectors;
    if (op == PROFILE_OP_SET) target = g_ptr_array_new_with_free_func(coll_free);
    for (xmlNodePtr c = cs->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, "SystemCollectorId") || is_el(c, "EventCollectorId") || is_el(c, "HeapEventCollectorId"))
            apply_collector_ref(P, target, c, op == PROFILE_OP_SET ? PROFILE_OP_ADD : op);
        else if (!is_newer_ignored(c)) unknown_child(P, c, cs);
    }
    if (op == PROFILE_OP_SET) {
        g_ptr_array_unref(pr->collectors);
        pr->collectors = target;
    }
}

static const ProfileTraceMerge *resolve_trace_merge(Parser *P, const char *id, xmlNodePtr ref);

static ProfileTraceMerge *build_trace_merge(Parser *P, xmlNodePtr n)
{
    static const char *const attrs[] = { "Id", "Name", "Base", NULL };
    check_attrs(P, n, attrs);
    ProfileTraceMerge *t = NULL;
    char *base = attr_get(P, n, "Base");
    if (base && *base) {
        const ProfileTraceMerge *b = resolve_trace_merge(P, base, n);
        if (b) t = tm_copy(b);
    }
    g_free(base);
    if (!t) t = tm_new();
    g_free(t->id);
    g_free(t->name);
    t->id = attr_get(P, n, "Id");
    t->name = attr_get(P, n, "Name");
    static const char *const known_events[] = { "None", "ImageId", "BuildInfo", "VolumeMapping", "EventMetadata",
                                                "PerfTrackMetadata", "WinSAT", "NetworkInterface" };
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, "DeletePreMergedTraceFiles")) {
            t->delete_pre_merged = attr_bool(P, c, "Value", true, NULL);
        } else if (is_el(c, "FileCompression")) {
            t->file_compression = attr_bool(P, c, "Value", true, NULL);
        } else if (is_el(c, "CustomEvents")) {
            ProfileOp op = attr_op(P, c);
            GPtrArray *evs = g_ptr_array_new_with_free_func(g_free);
            for (xmlNodePtr e = c->children; e; e = e->next) {
                if (e->type != XML_ELEMENT_NODE) continue;
                if (!is_el(e, "CustomEvent")) {
                    unknown_child(P, e, c);
                    continue;
                }
                char *v = attr_get(P, e, "Value");
                bool known = false;
                for (size_t i = 0; v && i < G_N_ELEMENTS(known_events); i++)
                    if (!strcmp(known_events[i], v)) known = true;
                if (!known) warn(P, e, "unknown CustomEvent \"%s\" (ignored)", v ? v : "");
                else strv_add(evs, v);
                g_free(v);
            }
            strv_apply(t->custom_events, evs, op);
            g_ptr_array_unref(evs);
        } else if (!is_newer_ignored(c)) {
            unknown_child(P, c, n);
        }
    }
    return t;
}

static const ProfileTraceMerge *resolve_trace_merge(Parser *P, const char *id, xmlNodePtr ref)
{
    Def *d = find_def(P, DEF_TRACE_MERGE, id);
    if (!d) {
        warn(P, ref, "TraceMergeProperty \"%s\" is not defined in this file (ignored)", id);
        return NULL;
    }
    if (d->state == 1) {
        warn(P, ref, "TraceMergeProperty \"%s\" inherits from itself (Base cycle; ignored)", id);
        return NULL;
    }
    if (d->state == 0) {
        d->state = 1;
        d->resolved = build_trace_merge(P, d->node);
        d->state = 2;
    }
    return d->resolved;
}

static bool valid_level(const char *s)
{
    return s && (!strcmp(s, "Light") || !strcmp(s, "Verbose"));
}

static bool valid_mode(const char *s)
{
    return s && (!strcmp(s, "File") || !strcmp(s, "Memory"));
}

static void profile_summarise(Profile *pr)
{
    sp_free(pr->system);
    pr->system = sp_new();
    if (pr->event_providers) g_ptr_array_unref(pr->event_providers);
    pr->event_providers = g_ptr_array_new();
    pr->system_collector = NULL;
    for (guint i = 0; i < pr->collectors->len; i++) {
        ProfileCollector *c = pr->collectors->pdata[i];
        if (c->kind == PROFILE_COLLECTOR_SYSTEM) {
            if (!pr->system_collector) pr->system_collector = c;
            sp_combine(pr->system, c->system, PROFILE_OP_ADD);
        }
        for (guint j = 0; j < c->providers->len; j++) g_ptr_array_add(pr->event_providers, c->providers->pdata[j]);
    }
}

static Profile *resolve_profile(Parser *P, const char *id, xmlNodePtr ref);

static Profile *build_profile(Parser *P, xmlNodePtr n)
{
    static const char *const attrs[] = { "Id", "Name", "Description", "Base", "LoggingMode", "DetailLevel",
                                         "Internal", "Default", "Strict", NULL };
    check_attrs(P, n, attrs);
    Profile *pr = g_new0(Profile, 1);
    pr->line = node_line(n);
    pr->id = attr_get(P, n, "Id");
    pr->base = attr_get(P, n, "Base");
    if (pr->base && !*pr->base) g_clear_pointer(&pr->base, g_free);
    const Profile *base = NULL;
    if (pr->base) {
        Def *d = find_def(P, DEF_PROFILE, pr->base);
        if (!d)
            warn(P, n, "Base profile \"%s\" is not in this file (a WPR built-in profile?): what it records is "
                 "unknown to etla", pr->base);
        else base = resolve_profile(P, pr->base, n);
    }
    if (base) {
        pr->collectors = g_ptr_array_new_with_free_func(coll_free);
        for (guint i = 0; i < base->collectors->len; i++)
            g_ptr_array_add(pr->collectors, coll_copy(base->collectors->pdata[i]));
        if (base->trace_merge) pr->trace_merge = tm_copy(base->trace_merge);
    } else {
        pr->collectors = g_ptr_array_new_with_free_func(coll_free);
    }
    pr->name = attr_get(P, n, "Name");
    pr->description = attr_get(P, n, "Description");
    pr->detail_level = attr_get(P, n, "DetailLevel");
    pr->logging_mode = attr_get(P, n, "LoggingMode");
    /* Missing attributes: from the Id (parsed from the right: names may hold dots). */
    if (pr->id) {
        char **parts = g_strsplit(pr->id, ".", -1);
        guint np = g_strv_length(parts);
        if (np >= 3) {
            if (!pr->logging_mode && valid_mode(parts[np - 1])) pr->logging_mode = g_strdup(parts[np - 1]);
            if (!pr->detail_level && valid_level(parts[np - 2])) pr->detail_level = g_strdup(parts[np - 2]);
            if (!pr->name) {
                char *save = parts[np - 2];
                parts[np - 2] = NULL;
                pr->name = g_strjoinv(".", parts);
                parts[np - 2] = save;
            }
        }
        g_strfreev(parts);
    }
    if (!pr->description && base && base->description) pr->description = g_strdup(base->description);
    if (!pr->name) warn(P, n, "Profile \"%s\" has no Name", pr->id ? pr->id : "");
    if (!pr->description) warn(P, n, "Profile \"%s\" has no Description (the schema requires one)", pr->id ? pr->id : "");
    if (pr->detail_level && !valid_level(pr->detail_level))
        warn(P, n, "DetailLevel=\"%s\" is not Light or Verbose", pr->detail_level);
    if (pr->logging_mode && !valid_mode(pr->logging_mode))
        warn(P, n, "LoggingMode=\"%s\" is not File or Memory", pr->logging_mode);
    if (!pr->detail_level) warn(P, n, "Profile \"%s\" has no DetailLevel", pr->id ? pr->id : "");
    if (!pr->logging_mode) warn(P, n, "Profile \"%s\" has no LoggingMode", pr->id ? pr->id : "");
    if (pr->id && pr->name && pr->detail_level && pr->logging_mode) {
        char *want = g_strdup_printf("%s.%s.%s", pr->name, pr->detail_level, pr->logging_mode);
        if (strcmp(want, pr->id))
            warn(P, n, "Profile Id \"%s\" should be Name.DetailLevel.LoggingMode = \"%s\"", pr->id, want);
        g_free(want);
    }
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, "Collectors")) {
            apply_collectors(P, pr, c);
        } else if (is_el(c, "TraceMergeProperties")) {
            for (xmlNodePtr t = c->children; t; t = t->next) {
                if (t->type != XML_ELEMENT_NODE) continue;
                if (!is_el(t, "TraceMergeProperty")) {
                    unknown_child(P, t, c);
                    continue;
                }
                char *tid = attr_get(P, t, "Id");
                if (tid && *tid && !find_def(P, DEF_TRACE_MERGE, tid)) register_def(P, DEF_TRACE_MERGE, t);
                Def *d = tid ? find_def(P, DEF_TRACE_MERGE, tid) : NULL;
                ProfileTraceMerge *tm = d && d->node == t ? tm_copy(resolve_trace_merge(P, tid, t))
                                                          : build_trace_merge(P, t);
                tm_free(pr->trace_merge);
                pr->trace_merge = tm;
                g_free(tid);
            }
        } else if (!is_newer_ignored(c)) {
            unknown_child(P, c, n);
        }
    }
    if (!pr->collectors->len && !(base && base->collectors->len))
        warn(P, n, "Profile \"%s\" has no collectors: it records nothing", pr->id ? pr->id : "");
    profile_summarise(pr);
    return pr;
}

static Profile *resolve_profile(Parser *P, const char *id, xmlNodePtr ref)
{
    Def *d = find_def(P, DEF_PROFILE, id);
    if (!d) return NULL;
    if (d->state == 1) {
        warn(P, ref, "Profile \"%s\" inherits from itself (Base cycle; ignored)", id);
        return NULL;
    }
    if (d->state == 0) {
        d->state = 1;
        Profile *pr = build_profile(P, d->node);
        d->resolved = pr;
        d->state = 2;
    }
    return d->resolved;
}

/* ------------------------------------------------------------------ the document */

static void register_profiles_children(Parser *P, xmlNodePtr profiles)
{
    static const struct {
        const char *el;
        DefKind kind;
    } kinds[] = {
        { "SystemCollector", DEF_SYSTEM_COLLECTOR }, { "EventCollector", DEF_EVENT_COLLECTOR },
        { "HeapEventCollector", DEF_HEAP_COLLECTOR }, { "SystemProvider", DEF_SYSTEM_PROVIDER },
        { "EventProvider", DEF_EVENT_PROVIDER }, { "HeapEventProvider", DEF_HEAP_PROVIDER },
        { "HardwareCounter", DEF_HARDWARE_COUNTER }, { "Profile", DEF_PROFILE },
    };
    for (xmlNodePtr c = profiles->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        bool known = false;
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
            if (is_el(c, kinds[i].el)) {
                if (kinds[i].kind == DEF_HARDWARE_COUNTER) newer_read(P, c);
                register_def(P, kinds[i].kind, c);
                known = true;
                break;
            }
        if (!known && is_el(c, "TraceMergeProperties")) {
            for (xmlNodePtr t = c->children; t; t = t->next)
                if (is_el(t, "TraceMergeProperty")) register_def(P, DEF_TRACE_MERGE, t);
            known = true;
        }
        if (!known) unknown_child(P, c, profiles);
    }
}

/* g_ptr_array_sort passes pointers to the elements; the sort is stable. */
static gint warning_line_cmp(gconstpointer a, gconstpointer b)
{
    const ProfileWarning *x = *(const ProfileWarning *const *)a, *y = *(const ProfileWarning *const *)b;
    return (x->line > y->line) - (x->line < y->line);
}

/* libxml2's message, first line only (it may go on with a quote of the input). */
static char *strip_xml_message(const char *m)
{
    char *s = g_strdup(m ? m : "unknown error");
    char *nl = strchr(s, '\n');
    if (nl) *nl = '\0';
    g_strstrip(s);
    size_t n = strlen(s);
    if (n && s[n - 1] == ':') s[n - 1] = '\0';  /* "...: <quote>" cut at the newline */
    g_strstrip(s);
    return s;
}

/* The first XML error (libxml2 keeps the last; the first says what went wrong). */
typedef struct {
    bool  have;
    int   line;
    char *message;
} FirstXmlError;

static void first_xml_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    FirstXmlError *fe = ctxt ? ctxt->_private : NULL;
    if (!fe || fe->have || !e || e->level < XML_ERR_ERROR) return;
    fe->have = true;
    fe->line = e->line;
    fe->message = g_strdup(e->message);
}

/* libxml2 reports some errors (encoding conversion) through its global generic handler, which
 * prints to stderr: silenced while etla parses. */
static void silent_generic_error(void *ctx, const char *msg, ...) G_GNUC_PRINTF(2, 3);
static void silent_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

ProfileFile *profile_file_parse(const char *data, size_t len, const char *name, GError **err)
{
    if (!name) name = "<memory>";
    /* A UTF-8 byte-order mark (ETWAnalyzer's profiles have one): skip it. */
    if (len >= 3 && (uint8_t)data[0] == 0xEF && (uint8_t)data[1] == 0xBB && (uint8_t)data[2] == 0xBF) {
        data += 3;
        len -= 3;
    }
    size_t ws = 0;
    while (ws < len && g_ascii_isspace(data[ws])) ws++;
    if (ws == len) {
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_XML, "%s: empty file, not a WPR profile", name);
        return NULL;
    }
    if (len > INT32_MAX) {
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_READ, "%s: too large for a WPR profile", name);
        return NULL;
    }
    xmlInitParser();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_XML, "%s: out of memory", name);
        return NULL;
    }
    FirstXmlError fe = { 0 };
    ctxt->_private = &fe;
    if (ctxt->sax) ctxt->sax->serror = first_xml_error;
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    xmlGenericErrorFunc old_generic = xmlGenericError;
    void *old_generic_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, silent_generic_error);
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, opts);
    xmlSetGenericErrorFunc(old_generic_ctx, old_generic);
    if (!doc || !ctxt->wellFormed) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        char *m = strip_xml_message(fe.have ? fe.message : e ? e->message : NULL);
        int line = fe.have ? fe.line : e ? e->line : 0;
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_XML, "%s:%d: malformed XML: %s", name, line, m);
        g_free(m);
        g_free(fe.message);
        if (doc) xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    g_free(fe.message);
    xmlFreeParserCtxt(ctxt);

    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !is_el(root, "WindowsPerformanceRecorder")) {
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_NOT_WPRP,
                    "%s:%d: not a WPR profile: the root element is <%s>, not <WindowsPerformanceRecorder>", name,
                    node_line(root), root ? el_name(root) : "");
        xmlFreeDoc(doc);
        return NULL;
    }

    ProfileFile *f = g_new0(ProfileFile, 1);
    f->path = g_strdup(name);
    f->profiles = g_ptr_array_new_with_free_func(profile_free);
    f->trace_merges = g_ptr_array_new_with_free_func(tm_free);
    f->warnings = g_ptr_array_new_with_free_func(warning_free);
    Parser P = { .f = f };
    P.once = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int k = 0; k < DEF_KINDS; k++) P.defs[k] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, def_free);

    static const char *const root_attrs[] = { "Version", "Author", "Team", "Copyright", "Company", "Comments",
                                              "Tag", NULL };
    check_attrs(&P, root, root_attrs);
    f->version = attr_get(&P, root, "Version");
    f->author = attr_get(&P, root, "Author");
    f->comments = attr_get(&P, root, "Comments");
    if (!f->version) warn(&P, root, "<WindowsPerformanceRecorder> has no Version attribute");

    GPtrArray *profile_nodes = g_ptr_array_new();
    GPtrArray *merge_nodes = g_ptr_array_new();
    int n_profiles_el = 0;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, "Profiles")) {
            if (n_profiles_el++) warn(&P, c, "more than one <Profiles> element");
            register_profiles_children(&P, c);
            for (xmlNodePtr p = c->children; p; p = p->next)
                if (is_el(p, "Profile")) g_ptr_array_add(profile_nodes, p);
        } else if (is_el(c, "TraceMergeProperties")) {
            for (xmlNodePtr t = c->children; t; t = t->next) {
                if (t->type != XML_ELEMENT_NODE) continue;
                if (!is_el(t, "TraceMergeProperty")) {
                    unknown_child(&P, t, c);
                    continue;
                }
                register_def(&P, DEF_TRACE_MERGE, t);
                g_ptr_array_add(merge_nodes, t);
            }
        } else if (!is_el(c, "OnOffTransitionConfigurations")) {
            unknown_child(&P, c, root);
        }
    }
    if (!n_profiles_el) warn(&P, root, "no <Profiles> element: the file defines no profile");
    else if (!profile_nodes->len) warn(&P, root, "<Profiles> holds no <Profile>");

    for (guint i = 0; i < profile_nodes->len; i++) {
        xmlNodePtr pn = profile_nodes->pdata[i];
        char *id = attr_get(&P, pn, "Id");
        Def *d = id ? find_def(&P, DEF_PROFILE, id) : NULL;
        if (d && d->node == pn) {
            Profile *pr = resolve_profile(&P, id, pn);
            if (pr) g_ptr_array_add(f->profiles, pr);
        }
        g_free(id);
    }
    /* Definitions no profile uses: resolve them too, so that their problems are reported. */
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (!is_el(c, "Profiles")) continue;
        for (xmlNodePtr d = c->children; d; d = d->next) {
            if (d->type != XML_ELEMENT_NODE) continue;
            char *id = attr_get(&P, d, "Id");
            if (!id) continue;
            DefKind kind = DEF_KINDS;
            if (is_el(d, "SystemCollector")) kind = DEF_SYSTEM_COLLECTOR;
            else if (is_el(d, "EventCollector")) kind = DEF_EVENT_COLLECTOR;
            else if (is_el(d, "HeapEventCollector")) kind = DEF_HEAP_COLLECTOR;
            else if (is_el(d, "SystemProvider")) kind = DEF_SYSTEM_PROVIDER;
            else if (is_el(d, "EventProvider")) kind = DEF_EVENT_PROVIDER;
            else if (is_el(d, "HeapEventProvider")) kind = DEF_HEAP_PROVIDER;
            Def *def = kind < DEF_KINDS ? find_def(&P, kind, id) : NULL;
            if (def && def->node == d && def->state == 0) {
                if (kind == DEF_SYSTEM_PROVIDER) resolve_system_provider(&P, id, d);
                else if (kind == DEF_EVENT_PROVIDER) resolve_event_provider(&P, id, d);
                else if (kind == DEF_HEAP_PROVIDER) resolve_heap_provider(&P, id, d);
                else resolve_collector(&P, kind, id, d);
            }
            g_free(id);
        }
    }
    /* Profiles that failed to resolve (a Base cycle) were never handed to f: free them. */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, P.defs[DEF_PROFILE]);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        Def *d = v;
        bool owned = false;
        for (guint i = 0; i < f->profiles->len; i++)
            if (f->profiles->pdata[i] == d->resolved) owned = true;
        if (!owned && d->resolved) profile_free(d->resolved);
        d->resolved = NULL;
    }
    for (guint i = 0; i < merge_nodes->len; i++) {
        xmlNodePtr t = merge_nodes->pdata[i];
        char *id = attr_get(&P, t, "Id");
        Def *d = id ? find_def(&P, DEF_TRACE_MERGE, id) : NULL;
        if (d && d->node == t) {
            const ProfileTraceMerge *tm = resolve_trace_merge(&P, id, t);
            if (tm) g_ptr_array_add(f->trace_merges, tm_copy(tm));
        }
        g_free(id);
    }
    /* Warnings in line order (resolution visits definitions out of order). */
    g_ptr_array_sort(f->warnings, warning_line_cmp);
    g_ptr_array_unref(profile_nodes);
    g_ptr_array_unref(merge_nodes);
    for (int kk = 0; kk < DEF_KINDS; kk++) g_hash_table_unref(P.defs[kk]);
    g_hash_table_unref(P.once);
    xmlFreeDoc(doc);
    return f;
}

ProfileFile *profile_file_load(const char *path, GError **err)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(path, &data, &len, &e)) {
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_READ, "cannot read %s: %s", path,
                    e->code == G_FILE_ERROR_NOENT ? "no such file" : e->message);
        g_error_free(e);
        return NULL;
    }
    ProfileFile *f = profile_file_parse(data, len, path, err);
    g_free(data);
    return f;
}

/* ------------------------------------------------------------------ lookups */

void profile_split_spec(const char *spec, char **path, char **profile)
{
    const char *bang = strrchr(spec, '!');
    if (!bang || g_file_test(spec, G_FILE_TEST_EXISTS)) {
        *path = g_strdup(spec);
        *profile = NULL;
        return;
    }
    *path = g_strndup(spec, (gsize)(bang - spec));
    *profile = bang[1] ? g_strdup(bang + 1) : NULL;
}

static const Profile *find_exact(const ProfileFile *f, const char *id)
{
    for (guint i = 0; i < f->profiles->len; i++) {
        const Profile *p = f->profiles->pdata[i];
        if (p->id && !strcmp(p->id, id)) return p;
    }
    return NULL;
}

const Profile *profile_file_find(const ProfileFile *f, const char *spec, GError **err)
{
    if (!f->profiles->len) {
        g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_NO_PROFILE, "%s defines no profile", f->path);
        return NULL;
    }
    if (!spec || !*spec) {
        if (f->profiles->len == 1) return f->profiles->pdata[0];
        /* All profiles share one Name in a proper file: take that Name with WPR's defaults. */
        const Profile *p0 = f->profiles->pdata[0];
        bool one_name = p0->name != NULL;
        for (guint i = 1; one_name && i < f->profiles->len; i++) {
            const Profile *p = f->profiles->pdata[i];
            if (!p->name || strcmp(p->name, p0->name)) one_name = false;
        }
        if (!one_name) {
            GString *names = g_string_new(NULL);
            for (guint i = 0; i < f->profiles->len; i++) {
                const Profile *p = f->profiles->pdata[i];
                if (i) g_string_append(names, ", ");
                g_string_append(names, p->id ? p->id : "?");
            }
            g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_NO_PROFILE,
                        "%s holds several profiles: name one as %s!PROFILE (%s)", f->path, f->path, names->str);
            g_string_free(names, TRUE);
            return NULL;
        }
        spec = p0->name;
    }
    const Profile *p = find_exact(f, spec);
    if (p) return p;
    static const char *const levels[] = { "Verbose", "Light" };
    static const char *const modes[] = { "Memory", "File" };
    /* Name.Level or Name.Mode or Name */
    for (int li = 0; li < 2; li++)
        for (int mi = 0; mi < 2; mi++) {
            char *a = g_strdup_printf("%s.%s", spec, modes[mi]);        /* spec = Name.Level */
            p = find_exact(f, a);
            g_free(a);
            if (p && li == 0) return p;
            char *b = g_strdup_printf("%s.%s.%s", spec, levels[li], modes[mi]);
            p = find_exact(f, b);
            g_free(b);
            if (p) return p;
        }
    /* Case-insensitive Id or Name match as a last resort. */
    for (guint i = 0; i < f->profiles->len; i++) {
        const Profile *q = f->profiles->pdata[i];
        if (q->id && !g_ascii_strcasecmp(q->id, spec)) return q;
    }
    GString *names = g_string_new(NULL);
    for (guint i = 0; i < f->profiles->len; i++) {
        const Profile *q = f->profiles->pdata[i];
        if (i) g_string_append(names, ", ");
        g_string_append(names, q->id ? q->id : "?");
    }
    g_set_error(err, PROFILE_ERROR, PROFILE_ERROR_NO_PROFILE, "%s has no profile \"%s\" (it has: %s)", f->path, spec,
                names->str);
    g_string_free(names, TRUE);
    return NULL;
}

void profile_group_masks(const ProfileSystemProvider *sp, uint32_t masks[8])
{
    memset(masks, 0, 8 * sizeof masks[0]);
    if (!sp) return;
    for (guint i = 0; i < sp->keywords->len; i++) {
        const ProfileKeywordInfo *k = profile_keyword_lookup(sp->keywords->pdata[i]);
        if (!k) continue;
        masks[k->perf_mask >> 29] |= k->perf_mask & 0x1FFFFFFF;
        masks[0] |= k->flags_alias;
    }
    for (guint i = 0; i < sp->custom_keywords->len; i++) {
        uint32_t v = g_array_index(sp->custom_keywords, uint32_t, i);
        masks[v >> 29] |= v & 0x1FFFFFFF;
    }
}
