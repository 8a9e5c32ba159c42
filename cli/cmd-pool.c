/* cmd-pool.c — `etla pool TRACE`: pool allocations classified AIFI/AIFO/AOFI/AOFO, leak
 * suspects first, then the table by the requested keys. */
#include "cli.h"
#include "profile-select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *pool_examples =
    "Examples:\n"
    "  etla pool trace.etl                          leak suspects, then bytes by type, pool and tag\n"
    "  etla pool --type AIFO --by tag,module trace.etl\n"
    "  etla pool --type AIFO --tag Leak --by stack trace.etl     the leaking stacks as a tree\n"
    "  etla pool --from 5 --to 15 --by type,tag trace.etl       a window: AIFO = still held at 15 s\n"
    "  etla pool --format json --by tag,stack trace.etl | jq '.rows[0]'\n"
    "  etla pool --series --format csv -o outstanding.csv trace.etl\n"
    "  etla pool --pooltag-file pooltag.txt trace.etl\n"
    "\n"
    "Classes for the window [--from, --to] (default the whole trace): AIFI allocated and freed\n"
    "inside it; AIFO allocated inside and still outstanding at its end (leak candidates); AOFI\n"
    "allocated before it (or before the trace: a free with no allocation) and freed inside; AOFO\n"
    "allocated before and still outstanding.  Bytes are the requested sizes of the allocations.\n"
    "Keys for --by: type, paged, tag, stack, module (owner: first frame outside the kernel and\n"
    "HAL), process.  Definitions: docs/analyses-pool.md.";

typedef struct {
    CliCommon c;
    char     *by;
    char    **types;
    char     *tag;
    char     *pooltag_file;
    gboolean  series;
    double    interval_s;
    gint64    top;
    char     *stack_from;
    gboolean  no_implicit_free;
    char     *profile;
} PoolOpts;

typedef struct {
    PoolOpts   *o;
    Model      *m;
    Pool       *pool;
    EtlTrace   *t;
    const EtlLogfileHeader *h;
    const char *path;
    PoolViewSpec spec;
    PoolTagDb  *tagdb;
    int64_t     from, to;   /* raw window; INT64_MIN/MAX open */
    bool        from_root;  /* stack trees start at the outermost frame */
} PoolRun;

/* ------------------------------------------------------------------ formatting helpers */

static char *tag_text(uint32_t tag)
{
    GString *s = g_string_new(NULL);
    pool_tag_format(tag, s);
    return g_string_free(s, FALSE);
}

static const char *paged_text(const PoolCell *r) { return r->paged ? "Paged" : "NonPaged"; }

static char *process_text(const PoolCell *r)
{
    GString *s = g_string_new(NULL);
    model_format_process(r->process, r->pid, s);
    return g_string_free(s, FALSE);
}

/* Frames of a row's stack as strings (innermost first); NULL when it has none. */
static GPtrArray *stack_frames(PoolRun *x, const PoolCell *r)
{
    if (!r->stack) return NULL;
    uint32_t n = 0;
    const uint64_t *f = model_stack_frames(x->m, r->stack, &n, NULL);
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    GString *s = g_string_new(NULL);
    for (uint32_t i = 0; i < n; i++) {
        g_string_truncate(s, 0);
        model_format_frame(x->m, r->process, f[i], r->example_ts, s);
        g_ptr_array_add(a, g_strdup(s->str));
    }
    bool user = false;
    uint64_t key = model_stack_pending_key(x->m, r->stack, &user);
    if (key) g_ptr_array_add(a, g_strdup_printf("(%s stack key 0x%" G_GINT64_MODIFIER "x: not defined in the trace)",
                                                user ? "user" : "kernel", key));
    g_string_free(s, TRUE);
    return a;
}

static double window_seconds(const PoolRun *x)
{
    const EtlStats *st = etl_trace_stats(x->t);
    int64_t a = x->from != INT64_MIN ? x->from : x->h->ts0;
    int64_t b = x->to != INT64_MAX ? x->to : (st->last_ts != INT64_MIN ? st->last_ts : a);
    double s = ((double)b - (double)a) / (double)x->h->ticks_per_second; /* no int64 overflow on wild times */
    return s > 0 ? s : 0;
}

static double rel_s(const PoolRun *x, int64_t ts)
{
    return etl_time_rel_s(x->h, ts);
}

static bool spec_has(const PoolViewSpec *v, PoolKey k)
{
    for (guint i = 0; i < v->n_keys; i++)
        if (v->keys[i] == k) return true;
    return false;
}

/* ------------------------------------------------------------------ text */

typedef struct Node {
    char        *frame;
    uint64_t     count, bytes;
    GPtrArray   *kids;   /* Node* */
} Node;

static Node *node_new(const char *frame)
{
    Node *n = g_new0(Node, 1);
    n->frame = g_strdup(frame);
    n->kids = g_ptr_array_new();
    return n;
}

static void node_free(Node *n)
{
    for (guint i = 0; i < n->kids->len; i++) node_free(g_ptr_array_index(n->kids, i));
    g_ptr_array_free(n->kids, TRUE);
    g_free(n->frame);
    g_free(n);
}

static gint node_cmp(gconstpointer a, gconstpointer b)
{
    const Node *x = *(Node *const *)a, *y = *(Node *const *)b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return strcmp(x->frame, y->frame);
}

static void node_print(const Node *n, GString *out, int depth)
{
    char *c = text_uint(n->count), *b = text_uint(n->bytes);
    g_string_append_printf(out, "  %10s %14s  %*s", c, b, depth * 2, "");
    text_append_safe(out, n->frame);
    g_string_append_c(out, '\n');
    g_free(c);
    g_free(b);
    g_ptr_array_sort(n->kids, node_cmp);
    /* a chain of single children is printed at one depth: stacks are long */
    for (guint i = 0; i < n->kids->len; i++)
        node_print(g_ptr_array_index(n->kids, i), out, n->kids->len > 1 ? depth + 1 : depth);
}

/* The stacks of rows sharing the other keys, merged into a tree. */
static void print_stack_tree(PoolRun *x, GArray *rows, guint from, guint to, GString *out)
{
    Node *root = node_new("");
    for (guint i = from; i < to; i++) {
        const PoolCell *r = &g_array_index(rows, PoolCell, i);
        GPtrArray *fr = stack_frames(x, r);
        Node *cur = root;
        root->count += r->count;
        root->bytes += r->bytes;
        guint n = fr ? fr->len : 0;
        if (!n) {
            fr = fr ? fr : g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(fr, g_strdup("(no stack)"));
            n = 1;
        }
        for (guint k = 0; k < n; k++) {
            const char *f = g_ptr_array_index(fr, x->from_root ? n - 1 - k : k);
            Node *child = NULL;
            for (guint c = 0; c < cur->kids->len && !child; c++) {
                Node *kid = g_ptr_array_index(cur->kids, c);
                if (!strcmp(kid->frame, f)) child = kid;
            }
            if (!child) {
                child = node_new(f);
                g_ptr_array_add(cur->kids, child);
            }
            child->count += r->count;
            child->bytes += r->bytes;
            cur = child;
        }
        g_ptr_array_free(fr, TRUE);
    }
    g_string_append_printf(out, "  %10s %14s  stack (%s)\n", "Count", "Bytes",
                           x->from_root ? "from the outermost frame" : "from the allocating frame");
    g_ptr_array_sort(root->kids, node_cmp);
    for (guint i = 0; i < root->kids->len; i++) node_print(g_ptr_array_index(root->kids, i), out, 0);
    node_free(root);
}

static void add_key_cells(PoolRun *x, Table *tb, const PoolCell *r)
{
    for (guint k = 0; k < x->spec.n_keys; k++) {
        switch (x->spec.keys[k]) {
        case POOL_BY_CLASS: table_cell_str(tb, pool_class_name(r->cls)); break;
        case POOL_BY_PAGED: {
            char *s = g_strdup_printf("%s%s", paged_text(r), r->session ? " session" : "");
            table_cell_str(tb, s);
            g_free(s);
            break;
        }
        case POOL_BY_TAG: {
            char *s = tag_text(r->tag);
            table_cell_str(tb, s);
            g_free(s);
            break;
        }
        case POOL_BY_MODULE: table_cell_str(tb, r->module); break;
        case POOL_BY_PROCESS: {
            char *s = process_text(r);
            table_cell_str(tb, s);
            g_free(s);
            break;
        }
        case POOL_BY_STACK: break; /* printed as a tree */
        default: break;
        }
    }
}

static void text_suspects(PoolRun *x, GString *out)
{
    PoolViewSpec sv = { .keys = { POOL_BY_TAG, POOL_BY_MODULE }, .n_keys = 2, .class_mask = 1u << POOL_AIFO,
                        .tag_pattern = x->o->tag };
    GArray *sus = pool_view(x->pool, &sv);
    double secs = window_seconds(x);
    if (!sus->len) {
        g_string_append(out, "Leak suspects: none — every allocation made in the window was freed in it.\n\n");
        g_array_free(sus, TRUE);
        return;
    }
    g_string_append(out, "Leak suspects (allocated in the window, still outstanding at its end: AIFO)\n");
    Table *tb = table_new();
    table_add_column(tb, "Tag", "tag", TABLE_LEFT);
    table_add_column(tb, "Owner module", "module", TABLE_LEFT);
    table_add_column(tb, "Count", "count", TABLE_RIGHT);
    table_add_column(tb, "Bytes", "bytes", TABLE_RIGHT);
    table_add_column(tb, "Rate", "rate", TABLE_RIGHT);
    if (x->tagdb) table_add_column(tb, "Description", "description", TABLE_LEFT);
    guint shown = MIN(sus->len, 5u);
    for (guint i = 0; i < shown; i++) {
        const PoolCell *r = &g_array_index(sus, PoolCell, i);
        table_begin_row(tb);
        char *t = tag_text(r->tag);
        table_cell_str(tb, t);
        g_free(t);
        table_cell_str(tb, r->module);
        table_cell_uint(tb, r->count);
        table_cell_uint(tb, r->bytes);
        char *rn = text_uint((uint64_t)((double)r->bytes / (secs > 0 ? secs : 1) + 0.5));
        char *rate = secs > 0 ? g_strdup_printf("%s B/s", rn) : g_strdup("-");
        g_free(rn);
        table_cell_str(tb, rate);
        g_free(rate);
        if (x->tagdb) table_cell_str(tb, pool_tagdb_lookup(x->tagdb, r->tag));
    }
    table_render_text(tb, out, 2);
    table_free(tb);
    if (sus->len > shown) g_string_append_printf(out, "  (%u more)\n", sus->len - shown);

    /* the leading stack of the top suspect */
    const PoolCell *top = &g_array_index(sus, PoolCell, 0);
    PoolViewSpec ss = { .keys = { POOL_BY_TAG, POOL_BY_MODULE, POOL_BY_STACK }, .n_keys = 3,
                        .class_mask = 1u << POOL_AIFO };
    GArray *stacks = pool_view(x->pool, &ss);
    for (guint i = 0; i < stacks->len; i++) {
        const PoolCell *r = &g_array_index(stacks, PoolCell, i);
        if (r->tag != top->tag || r->module != top->module) continue;
        char *t = tag_text(top->tag), *c = text_uint(r->count), *b = text_uint(r->bytes);
        g_string_append_printf(out, "\nLeading stack of %s in %s: %s allocations, %s bytes outstanding\n", t,
                               top->module, c, b);
        g_free(t);
        g_free(c);
        g_free(b);
        GPtrArray *fr = stack_frames(x, r);
        if (!fr || !fr->len) g_string_append(out, "  (no stack: record with -stackwalk PoolAlloc)\n");
        for (guint k = 0; fr && k < fr->len; k++) {
            g_string_append_printf(out, "  #%-3u ", k);
            text_append_safe(out, g_ptr_array_index(fr, k));
            g_string_append_c(out, '\n');
        }
        if (fr) g_ptr_array_free(fr, TRUE);
        break;
    }
    g_array_free(stacks, TRUE);
    g_array_free(sus, TRUE);
    g_string_append_c(out, '\n');
}

static void text_health(PoolRun *x, GString *out)
{
    const PoolHealth *h = pool_health(x->pool);
    const ModelHealth *mh = model_health(x->m);
    char *a = text_uint(h->allocs), *f = text_uint(h->frees), *mt = text_uint(h->matched);
    g_string_append(out, "Health\n");
    g_string_append_printf(out, "  %-22s %s allocations, %s frees (%s matched to their allocation)\n", "Events", a, f, mt);
    g_free(a);
    g_free(f);
    g_free(mt);
    if (h->frees_unmatched)
        g_string_append_printf(out, "  %-22s %" G_GUINT64_FORMAT " frees of blocks allocated before the trace "
                               "(AOFI rows, sized by the free event)\n", "Unmatched frees", h->frees_unmatched);
    if (h->implicit_frees)
        g_string_append_printf(out, "  %-22s %" G_GUINT64_FORMAT " allocations at an address still outstanding "
                               "(a free was lost; %s)\n", "Reused addresses", h->implicit_frees,
                               x->o->no_implicit_free ? "the old block is kept outstanding"
                                                      : "the old block counts as freed there");
    if (h->tag_mismatch || h->type_mismatch)
        g_string_append_printf(out, "  %-22s %" G_GUINT64_FORMAT " tag, %" G_GUINT64_FORMAT
                               " type differences between a free and its allocation (matched by address)\n",
                               "Mismatches", h->tag_mismatch, h->type_mismatch);
    if (h->protected_tags)
        g_string_append_printf(out, "  %-22s %" G_GUINT64_FORMAT " events with the protected-tag bit (masked off)\n",
                               "Protected tags", h->protected_tags);
    if (h->other_events || h->malformed)
        g_string_append_printf(out, "  %-22s %" G_GUINT64_FORMAT " pool page/snapshot events not analysed, %"
                               G_GUINT64_FORMAT " malformed\n", "Skipped", h->other_events, h->malformed);
    char *ws = text_uint(h->allocs_with_stack), *al = text_uint(h->allocs);
    g_string_append_printf(out, "  %-22s %s of %s allocations have their stack%s", "Stacks", ws, al,
                           h->allocs_with_stack ? "" : " (record with -stackwalk PoolAlloc+PoolAllocSession)");
    g_free(ws);
    g_free(al);
    if (mh->key_refs_undefined)
        g_string_append_printf(out, "; %" G_GUINT64_FORMAT " stack keys never defined", mh->key_refs_undefined);
    g_string_append_c(out, '\n');
    if (h->owner_from_stack)
        g_string_append_printf(out, "  %-22s %" G_GUINT64_FORMAT " allocations attributed by their stack's thread\n",
                               "Owner", h->owner_from_stack);
    const EtlStats *st = etl_trace_stats(x->t);
    if (x->h->events_lost || x->h->buffers_lost || st->diagnostics)
        g_string_append_printf(out, "  %-22s %u events and %u buffers lost, %" G_GUINT64_FORMAT
                               " problems in the file: counts can be short\n", "WARNING", x->h->events_lost,
                               x->h->buffers_lost, st->diagnostics);
    g_string_append_c(out, '\n');
}

static void render_text(PoolRun *x, GArray *rows, GString *out)
{
    char *name = g_path_get_basename(x->path);
    const EtlStats *st = etl_trace_stats(x->t);
    double a = x->from != INT64_MIN ? rel_s(x, x->from) : 0;
    double b = x->to != INT64_MAX ? rel_s(x, x->to) : (st->last_ts != INT64_MIN ? rel_s(x, st->last_ts) : 0);
    g_string_append_printf(out, "%s: pool allocations, window %.3f s to %.3f s%s\n\n", name, a, b,
                           x->from == INT64_MIN && x->to == INT64_MAX ? " (whole trace)" : "");
    g_free(name);
    text_suspects(x, out);
    text_health(x, out);

    GString *title = g_string_new(NULL);
    for (guint k = 0; k < x->spec.n_keys; k++)
        g_string_append_printf(title, "%s%s", k ? ", " : "", pool_key_name(x->spec.keys[k]));
    g_string_append_printf(out, "By %s (bytes requested; sorted by bytes)\n", title->str);
    g_string_free(title, TRUE);
    bool stack = spec_has(&x->spec, POOL_BY_STACK);
    guint limit = x->o->top > 0 ? (guint)x->o->top : rows->len;
    if (!stack) {
        Table *tb = table_new();
        for (guint k = 0; k < x->spec.n_keys; k++)
            table_add_column(tb, x->spec.keys[k] == POOL_BY_CLASS ? "Type"
                                 : x->spec.keys[k] == POOL_BY_PAGED ? "Pool"
                                 : x->spec.keys[k] == POOL_BY_TAG ? "Tag"
                                 : x->spec.keys[k] == POOL_BY_MODULE ? "Module" : "Process",
                             pool_key_name(x->spec.keys[k]), TABLE_LEFT);
        table_add_column(tb, "Count", "count", TABLE_RIGHT);
        table_add_column(tb, "Bytes", "bytes", TABLE_RIGHT);
        if (x->tagdb && spec_has(&x->spec, POOL_BY_TAG)) table_add_column(tb, "Description", "description", TABLE_LEFT);
        for (guint i = 0; i < rows->len && i < limit; i++) {
            const PoolCell *r = &g_array_index(rows, PoolCell, i);
            table_begin_row(tb);
            add_key_cells(x, tb, r);
            table_cell_uint(tb, r->count);
            table_cell_uint(tb, r->bytes);
            if (x->tagdb && spec_has(&x->spec, POOL_BY_TAG)) table_cell_str(tb, pool_tagdb_lookup(x->tagdb, r->tag));
        }
        table_render_text(tb, out, 2);
        table_free(tb);
        if (rows->len > limit) g_string_append_printf(out, "  (%u more rows; --top 0 shows all)\n", rows->len - limit);
        return;
    }
    /* With stacks: one tree per group of the other keys, groups by bytes. */
    PoolViewSpec groups = x->spec;
    groups.n_keys = 0;
    for (guint k = 0; k < x->spec.n_keys; k++)
        if (x->spec.keys[k] != POOL_BY_STACK) groups.keys[groups.n_keys++] = x->spec.keys[k];
    GArray *g = pool_view(x->pool, &groups);
    for (guint i = 0; i < g->len && i < limit; i++) {
        const PoolCell *gr = &g_array_index(g, PoolCell, i);
        GArray *members = g_array_new(FALSE, FALSE, sizeof(PoolCell));
        for (guint j = 0; j < rows->len; j++) {
            const PoolCell *r = &g_array_index(rows, PoolCell, j);
            bool same = true;
            for (guint k = 0; k < groups.n_keys && same; k++) {
                switch (groups.keys[k]) {
                case POOL_BY_CLASS: same = r->cls == gr->cls; break;
                case POOL_BY_PAGED: same = r->paged == gr->paged && r->session == gr->session; break;
                case POOL_BY_TAG: same = r->tag == gr->tag; break;
                case POOL_BY_MODULE: same = r->module == gr->module; break;
                case POOL_BY_PROCESS: same = r->pid == gr->pid && r->process == gr->process; break;
                default: break;
                }
            }
            if (same) g_array_append_val(members, *r);
        }
        GString *head = g_string_new(NULL);
        for (guint k = 0; k < groups.n_keys; k++) {
            char *v = NULL;
            switch (groups.keys[k]) {
            case POOL_BY_CLASS: v = g_strdup(pool_class_name(gr->cls)); break;
            case POOL_BY_PAGED: v = g_strdup_printf("%s%s", paged_text(gr), gr->session ? " session" : ""); break;
            case POOL_BY_TAG: v = tag_text(gr->tag); break;
            case POOL_BY_MODULE: v = g_strdup(gr->module); break;
            case POOL_BY_PROCESS: v = process_text(gr); break;
            default: break;
            }
            g_string_append_printf(head, "%s%s %s", k ? ", " : "", pool_key_name(groups.keys[k]), v ? v : "");
            g_free(v);
        }
        char *c = text_uint(gr->count), *bb = text_uint(gr->bytes);
        g_string_append_printf(out, "\n%s%s%s allocations, %s bytes\n", head->str, head->len ? ": " : "", c, bb);
        g_free(c);
        g_free(bb);
        g_string_free(head, TRUE);
        print_stack_tree(x, members, 0, members->len, out);
        g_array_free(members, TRUE);
    }
    if (g->len > limit) g_string_append_printf(out, "\n(%u more groups; --top 0 shows all)\n", g->len - limit);
    g_array_free(g, TRUE);
}

/* ------------------------------------------------------------------ json / csv */

static void json_row(PoolRun *x, JsonWriter *w, const PoolCell *r)
{
    json_begin_object(w);
    for (guint k = 0; k < x->spec.n_keys; k++) {
        switch (x->spec.keys[k]) {
        case POOL_BY_CLASS: json_key(w, "type"); json_string(w, pool_class_name(r->cls)); break;
        case POOL_BY_PAGED:
            json_key(w, "paged"); json_string(w, paged_text(r));
            json_key(w, "session"); json_bool(w, r->session);
            break;
        case POOL_BY_TAG: {
            char *t = tag_text(r->tag);
            json_key(w, "tag"); json_string(w, t);
            g_free(t);
            if (x->tagdb) { json_key(w, "description"); json_string(w, pool_tagdb_lookup(x->tagdb, r->tag)); }
            break;
        }
        case POOL_BY_STACK: {
            json_key(w, "stack");
            GPtrArray *fr = stack_frames(x, r);
            json_begin_array(w);
            for (guint i = 0; fr && i < fr->len; i++) json_string(w, g_ptr_array_index(fr, i));
            json_end_array(w);
            if (fr) g_ptr_array_free(fr, TRUE);
            break;
        }
        case POOL_BY_MODULE: json_key(w, "module"); json_string(w, r->module); break;
        case POOL_BY_PROCESS: {
            char *p = process_text(r);
            json_key(w, "process"); json_string(w, p);
            json_key(w, "pid"); if (r->pid != ETL_NO_ID) json_uint(w, r->pid); else json_null(w);
            g_free(p);
            break;
        }
        default: break;
        }
    }
    json_key(w, "count"); json_uint(w, r->count);
    json_key(w, "bytes"); json_uint(w, r->bytes);
    json_end_object(w);
}

static void render_json(PoolRun *x, GArray *rows, FILE *fp)
{
    JsonWriter *w = json_writer_new(fp, true);
    const EtlStats *st = etl_trace_stats(x->t);
    const PoolHealth *h = pool_health(x->pool);
    json_begin_object(w);
    json_key(w, "file"); json_string(w, x->path);
    json_key(w, "window");
    json_begin_object(w);
    json_key(w, "from_s"); json_double(w, x->from != INT64_MIN ? rel_s(x, x->from) : 0, 9);
    json_key(w, "to_s");
    json_double(w, x->to != INT64_MAX ? rel_s(x, x->to) : st->last_ts != INT64_MIN ? rel_s(x, st->last_ts) : 0, 9);
    json_end_object(w);
    json_key(w, "by");
    json_begin_array(w);
    for (guint k = 0; k < x->spec.n_keys; k++) json_string(w, pool_key_name(x->spec.keys[k]));
    json_end_array(w);
    json_key(w, "health");
    json_begin_object(w);
    json_key(w, "allocs"); json_uint(w, h->allocs);
    json_key(w, "frees"); json_uint(w, h->frees);
    json_key(w, "matched"); json_uint(w, h->matched);
    json_key(w, "frees_unmatched"); json_uint(w, h->frees_unmatched);
    json_key(w, "implicit_frees"); json_uint(w, h->implicit_frees);
    json_key(w, "tag_mismatch"); json_uint(w, h->tag_mismatch);
    json_key(w, "type_mismatch"); json_uint(w, h->type_mismatch);
    json_key(w, "protected_tags"); json_uint(w, h->protected_tags);
    json_key(w, "other_events"); json_uint(w, h->other_events);
    json_key(w, "malformed"); json_uint(w, h->malformed);
    json_key(w, "allocs_with_stack"); json_uint(w, h->allocs_with_stack);
    json_key(w, "outstanding_at_end"); json_uint(w, h->outstanding_end);
    json_key(w, "events_lost"); json_uint(w, x->h->events_lost);
    json_key(w, "diagnostics"); json_uint(w, st->diagnostics);
    json_end_object(w);
    json_key(w, "rows");
    json_begin_array(w);
    guint limit = x->o->top > 0 ? (guint)x->o->top : rows->len;
    for (guint i = 0; i < rows->len && i < limit; i++) json_row(x, w, &g_array_index(rows, PoolCell, i));
    json_end_array(w);
    json_end_object(w);
    json_newline(w);
    json_writer_free(w);
}

static void render_csv(PoolRun *x, GArray *rows, GString *out)
{
    for (guint k = 0; k < x->spec.n_keys; k++) {
        PoolKey key = x->spec.keys[k];
        g_string_append(out, key == POOL_BY_CLASS ? "type" : pool_key_name(key));
        if (key == POOL_BY_PAGED) g_string_append(out, ",session");
        if (key == POOL_BY_PROCESS) g_string_append(out, ",pid");
        if (key == POOL_BY_TAG && x->tagdb) g_string_append(out, ",description");
        g_string_append_c(out, ',');
    }
    g_string_append(out, "count,bytes\n");
    guint limit = x->o->top > 0 ? (guint)x->o->top : rows->len;
    for (guint i = 0; i < rows->len && i < limit; i++) {
        const PoolCell *r = &g_array_index(rows, PoolCell, i);
        for (guint k = 0; k < x->spec.n_keys; k++) {
            switch (x->spec.keys[k]) {
            case POOL_BY_CLASS: g_string_append(out, pool_class_name(r->cls)); break;
            case POOL_BY_PAGED: g_string_append_printf(out, "%s,%s", paged_text(r), r->session ? "true" : "false"); break;
            case POOL_BY_TAG: {
                char *t = tag_text(r->tag);
                csv_field_append(out, t, strlen(t));
                g_free(t);
                if (x->tagdb) {
                    const char *d = pool_tagdb_lookup(x->tagdb, r->tag);
                    g_string_append_c(out, ',');
                    if (d) csv_field_append(out, d, strlen(d));
                }
                break;
            }
            case POOL_BY_STACK: {
                GPtrArray *fr = stack_frames(x, r);
                GString *s = g_string_new(NULL);
                for (guint j = 0; fr && j < fr->len; j++)
                    g_string_append_printf(s, "%s%s", j ? ";" : "", (char *)g_ptr_array_index(fr, j));
                csv_field_append(out, s->str, s->len);
                g_string_free(s, TRUE);
                if (fr) g_ptr_array_free(fr, TRUE);
                break;
            }
            case POOL_BY_MODULE: csv_field_append(out, r->module, strlen(r->module)); break;
            case POOL_BY_PROCESS: {
                char *p = process_text(r);
                csv_field_append(out, p, strlen(p));
                g_free(p);
                g_string_append_c(out, ',');
                if (r->pid != ETL_NO_ID) g_string_append_printf(out, "%u", r->pid);
                break;
            }
            default: break;
            }
            g_string_append_c(out, ',');
        }
        g_string_append_printf(out, "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "\n", r->count, r->bytes);
    }
}

/* ------------------------------------------------------------------ series */

static void render_series(PoolRun *x, FILE *fp)
{
    guint nt, ns;
    const int64_t *times;
    const PoolSeries *s = pool_series(x->pool, &nt, &times, &ns);
    GString *out = g_string_new(NULL);
    guint shown_tags = nt;
    if (x->o->tag) {
        shown_tags = 0;
        for (guint i = 0; i < nt; i++) shown_tags += pool_tag_match(x->o->tag, s[i].tag);
    }
    if (x->o->c.format == RENDER_JSON) {
        JsonWriter *w = json_writer_new(fp, false);
        json_begin_object(w);
        json_key(w, "interval_s"); json_double(w, x->o->interval_s, 6);
        json_key(w, "times_s");
        json_begin_array(w);
        for (guint j = 0; j < ns; j++) json_double(w, rel_s(x, times[j]), 6);
        json_end_array(w);
        json_key(w, "series");
        json_begin_array(w);
        for (guint i = 0; i < nt; i++) {
            if (x->o->tag && !pool_tag_match(x->o->tag, s[i].tag)) continue;
            json_begin_object(w);
            char *t = tag_text(s[i].tag);
            json_key(w, "tag"); json_string(w, t);
            g_free(t);
            json_key(w, "paged"); json_string(w, s[i].paged ? "Paged" : "NonPaged");
            json_key(w, "peak_bytes"); json_uint(w, s[i].peak);
            json_key(w, "outstanding_bytes");
            json_begin_array(w);
            for (guint j = 0; j < ns; j++) json_uint(w, s[i].bytes[j]);
            json_end_array(w);
            json_end_object(w);
        }
        json_end_array(w);
        json_end_object(w);
        json_newline(w);
        json_writer_free(w);
        g_string_free(out, TRUE);
        return;
    }
    if (x->o->c.format == RENDER_CSV) {
        g_string_append(out, "time_s,tag,paged,outstanding_bytes\n");
        for (guint j = 0; j < ns; j++)
            for (guint i = 0; i < nt; i++) {
                if (x->o->tag && !pool_tag_match(x->o->tag, s[i].tag)) continue;
                char *t = tag_text(s[i].tag);
                g_string_append_printf(out, "%.6f,", rel_s(x, times[j]));
                csv_field_append(out, t, strlen(t));
                g_string_append_printf(out, ",%s,%" G_GUINT64_FORMAT "\n", s[i].paged ? "Paged" : "NonPaged",
                                       s[i].bytes[j]);
                g_free(t);
            }
    } else {
        /* text: the eight tags with the highest peaks, one row per sample */
        Table *tb = table_new();
        table_add_column(tb, "time_s", "time_s", TABLE_RIGHT);
        guint cols[8], nc = 0;
        for (guint i = 0; i < nt && nc < 8; i++) {
            if (x->o->tag && !pool_tag_match(x->o->tag, s[i].tag)) continue;
            char *t = tag_text(s[i].tag);
            char *title = g_strdup_printf("%s%s", t, s[i].paged ? " (P)" : "");
            table_add_column(tb, title, title, TABLE_RIGHT);
            g_free(title);
            g_free(t);
            cols[nc++] = i;
        }
        for (guint j = 0; j < ns; j++) {
            table_begin_row(tb);
            char *ts = g_strdup_printf("%.3f", rel_s(x, times[j]));
            table_cell_str(tb, ts);
            g_free(ts);
            for (guint c = 0; c < nc; c++) table_cell_uint(tb, s[cols[c]].bytes[j]);
        }
        g_string_append_printf(out, "Outstanding bytes by tag every %.3f s (the %u tags with the highest peaks of %u; "
                               "(P) paged; CSV or JSON for all)\n", x->o->interval_s, nc, shown_tags);
        table_render_text(tb, out, 2);
        table_free(tb);
    }
    fwrite(out->str, 1, out->len, fp);
    g_string_free(out, TRUE);
}

/* ------------------------------------------------------------------ command */

static bool parse_opts(PoolOpts *o, PoolRun *x)
{
    const char *by = o->by ? o->by : "type,paged,tag";
    gchar **parts = g_strsplit(by, ",", -1);
    bool ok = true;
    for (gchar **p = parts; *p && ok; p++) {
        char *k = g_strstrip(*p);
        PoolKey key;
        if (!pool_key_parse(k, &key)) {
            cli_usage_error("pool", "--by %s: unknown key '%s' (type, paged, tag, stack, module, process)", by, k);
            ok = false;
        } else if (spec_has(&x->spec, key)) {
            cli_usage_error("pool", "--by %s: '%s' given twice", by, k);
            ok = false;
        } else {
            x->spec.keys[x->spec.n_keys++] = key;
        }
    }
    g_strfreev(parts);
    if (!ok) return false;
    for (char **t = o->types; t && *t; t++) {
        gchar **cl = g_strsplit(*t, ",", -1);
        for (gchar **c = cl; *c && ok; c++) {
            PoolClass pc;
            if (!pool_class_parse(g_strstrip(*c), &pc)) {
                cli_usage_error("pool", "--type %s: expected AIFI, AIFO, AOFI or AOFO", *c);
                ok = false;
            } else {
                x->spec.class_mask |= 1u << pc;
            }
        }
        g_strfreev(cl);
    }
    if (!ok) return false;
    x->spec.tag_pattern = o->tag;
    if (o->tag && (!*o->tag || strlen(o->tag) > 16)) {
        cli_usage_error("pool", "--tag '%s': a tag is up to 4 characters, '?' and '*' as wildcards", o->tag);
        return false;
    }
    if (o->stack_from && strcmp(o->stack_from, "root") && strcmp(o->stack_from, "leaf")) {
        cli_usage_error("pool", "--stack-from %s: expected root or leaf", o->stack_from);
        return false;
    }
    x->from_root = o->stack_from && !strcmp(o->stack_from, "root");
    if (!isnan(o->interval_s) && !(o->interval_s > 0 && o->interval_s < 1e7)) {
        cli_usage_error("pool", "--interval must be a positive number of seconds");
        return false;
    }
    if (o->top < -1) { /* -1: not given */
        cli_usage_error("pool", "--top must not be negative");
        return false;
    }
    return true;
}

typedef struct {
    Pool             *pool;
    const CliProfile *prof;
} PoolFeed;

static void pool_feed(void *user, const EtlEvent *ev, const EtlKernelEvent *k, const ModelCtx *ctx)
{
    PoolFeed *f = user;
    if (ev->group != ETL_GROUP_POOL) return;
    /* with a profile: only the pool events (and tags) it records */
    if (cli_profile_active(f->prof) &&
        (!cli_profile_event(f->prof, ev) || (k && k->kind == ETL_K_POOL && !cli_profile_pool_tag(f->prof, k->u.pool.tag))))
        return;
    pool_add(f->pool, ev, k, ctx);
}

int cmd_pool(int argc, char **argv)
{
    PoolOpts o = { .interval_s = NAN, .top = -1 };
    cli_common_init(&o.c);
    GOptionEntry own[] = {
        { "by", 'b', 0, G_OPTION_ARG_STRING, &o.by,
          "Group by these keys, in order: type, paged, tag, stack, module, process (default type,paged,tag)",
          "KEYS" },
        { "type", 't', 0, G_OPTION_ARG_STRING_ARRAY, &o.types, "Only these classes: AIFI, AIFO, AOFI, AOFO (repeat or comma-separate)",
          "CLASS" },
        { "tag", 0, 0, G_OPTION_ARG_STRING, &o.tag, "Only tags matching this pattern ('?' one character, '*' any)", "TAG" },
        { "stack-from", 0, 0, G_OPTION_ARG_STRING, &o.stack_from,
          "Stack trees start at the allocating frame (leaf, default) or the outermost frame (root)", "leaf|root" },
        { "top", 'n', 0, G_OPTION_ARG_INT64, &o.top, "Rows (or stack groups) shown: text 25 by default, CSV/JSON all; 0 = all", "N" },
        { "series", 0, 0, G_OPTION_ARG_NONE, &o.series,
          "Print outstanding bytes over time per tag instead of the table (for charts)", NULL },
        { "interval", 0, 0, G_OPTION_ARG_DOUBLE, &o.interval_s, "Series: seconds between samples (default: 100 samples over the trace)", "S" },
        { "pooltag-file", 0, 0, G_OPTION_ARG_FILENAME, &o.pooltag_file,
          "Describe tags from a pooltag.txt-format file (TAG - binary - description)", "FILE" },
        CLI_PROFILE_ENTRY(&o.profile),
        { "no-implicit-free", 0, 0, G_OPTION_ARG_NONE, &o.no_implicit_free,
          "An allocation at an address still outstanding leaves the old block outstanding (default: the old block counts as freed there)",
          NULL },
        { NULL },
    };
    GOptionContext *ctx = cli_context_new("pool", "TRACE",
                                          "Which tag, stack and driver hold pool: allocations and frees matched by\n"
                                          "address, classified AIFI/AIFO/AOFI/AOFO for a window, leak suspects first.",
                                          pool_examples);
    g_option_context_add_main_entries(ctx, own, NULL);
    g_option_context_add_main_entries(ctx, cli_common_entries(&o.c, true), NULL);
    int rc = EXIT_USAGE;
    PoolRun x = { .o = &o };
    if (!cli_parse(ctx, "pool", &argc, &argv) || !cli_common_validate("pool", &o.c) || !parse_opts(&o, &x)) goto out;
    if (argc != 2) {
        cli_usage_error("pool", argc < 2 ? "missing TRACE" : "expected one TRACE, got %d arguments", argc - 1);
        goto out;
    }
    if (o.top < 0) o.top = o.c.format == RENDER_TEXT ? 25 : 0;
    x.path = argv[1];
    if (o.pooltag_file) {
        GError *err = NULL;
        x.tagdb = pool_tagdb_load(o.pooltag_file, &err);
        if (!x.tagdb) {
            cli_error("cannot read the pool tag file %s: %s", o.pooltag_file, err->message);
            g_error_free(err);
            rc = EXIT_RUNTIME;
            goto out;
        }
    }
    CliProfile prof;
    if (!cli_profile_load(&prof, o.profile, o.c.quiet)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    CliDiagPrinter dp = { .quiet = o.c.quiet };
    x.t = cli_open_trace(x.path, &dp);
    if (!x.t) {
        cli_profile_clear(&prof);
        rc = EXIT_RUNTIME;
        goto out;
    }
    x.h = etl_trace_header(x.t);
    x.from = isnan(o.c.from_s) ? INT64_MIN : etl_time_from_rel_s(x.h, o.c.from_s);
    x.to = isnan(o.c.to_s) ? INT64_MAX : etl_time_from_rel_s(x.h, o.c.to_s);
    CliOutput out;
    if (!cli_output_open(&out, o.c.output, x.path)) {
        etl_trace_free(x.t);
        cli_profile_clear(&prof);
        rc = EXIT_RUNTIME;
        goto out;
    }
    PoolOptions po;
    pool_options_init(&po);
    po.from = x.from;
    po.to = x.to;
    po.no_implicit_free = o.no_implicit_free;
    if (o.series) {
        if (isnan(o.interval_s)) {
            /* 100 samples over the recorded span (header times), at least 1 ms apart */
            double span = ((double)x.h->end_time - (double)x.h->start_time) / 1e7; /* corrupt headers: no overflow */
            o.interval_s = span > 0.1 && span < 1e7 ? span / 100.0 : 1.0;
        }
        po.series_interval = MAX((int64_t)(o.interval_s * (double)x.h->ticks_per_second), 1);
    }
    x.m = model_new(x.t, 0);
    x.pool = pool_new(x.m, x.t, &po);
    PoolFeed feed = { x.pool, &prof };
    cli_read_model(x.t, x.m, !o.c.quiet && !o.c.no_progress, pool_feed, &feed);
    pool_finish(x.pool);

    if (o.series) {
        render_series(&x, out.fp);
    } else {
        GArray *rows = pool_view(x.pool, &x.spec);
        if (o.c.format == RENDER_JSON) {
            render_json(&x, rows, out.fp);
        } else {
            GString *s = g_string_new(NULL);
            if (o.c.format == RENDER_CSV) render_csv(&x, rows, s);
            else render_text(&x, rows, s);
            fwrite(s->str, 1, s->len, out.fp);
            g_string_free(s, TRUE);
        }
        g_array_free(rows, TRUE);
    }
    rc = cli_output_commit(&out) ? EXIT_OK : EXIT_RUNTIME;
    cli_diag_summary(&dp);
    pool_free(x.pool);
    model_free(x.m);
    etl_trace_free(x.t);
    cli_profile_clear(&prof);
out:
    pool_tagdb_free(x.tagdb);
    g_option_context_free(ctx);
    cli_common_clear(&o.c);
    g_free(o.by);
    g_strfreev(o.types);
    g_free(o.tag);
    g_free(o.pooltag_file);
    g_free(o.stack_from);
    g_free(o.profile);
    return rc;
}
