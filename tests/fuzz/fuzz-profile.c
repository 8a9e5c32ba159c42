/* fuzz-profile.c — libFuzzer harness for the WPR profile parser (profiles/).
 *
 * The input is a .wprp file: profile_file_parse (lenient: warnings, never a crash), then for every
 * profile the whole read-only API: lookups by Id and by Name, group masks, the selection (kernel
 * events, providers by GUID and name, pool tags, stacks) and profile_compare on facts built from
 * the input's bytes.  Also the name tables' "did you mean" on a prefix of the input.  Checks: a
 * failed parse sets an error with a one-line message; warnings carry a message; every profile has
 * its summaries.
 *
 * Built with -fsanitize=fuzzer when -Dfuzzing=true (clang); otherwise linked with replay-main.c
 * and run over tests/fuzz/corpus/profile/ as an ordinary test. */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz-profile: %s\n", what);
    abort();
}

static void exercise(const ProfileFile *f, const Profile *p, const uint8_t *data, size_t size)
{
    if (!p->collectors || !p->system || !p->event_providers) fail("profile without summaries");
    GError *err = NULL;
    if (p->id && profile_file_find(f, p->id, &err) == NULL) fail("profile not found by its own Id");
    if (p->name) {
        const Profile *q = profile_file_find(f, p->name, &err);
        if (!q) g_clear_error(&err);
    }
    uint32_t m[8];
    profile_group_masks(p->system, m);
    ProfileSelection *s = profile_selection_new(p);
    for (unsigned g = 0; g < 0x20; g++)
        for (unsigned op = 0; op < 256; op += 7) (void)profile_selection_kernel_event(s, (uint8_t)g, (uint8_t)op);
    for (guint i = 0; i < p->event_providers->len; i++) {
        const ProfileEventProvider *ep = p->event_providers->pdata[i];
        const ProfileProviderSel *ps = profile_selection_provider(s, ep->has_guid ? &ep->guid : NULL, ep->name);
        if (ep->name && !ps) fail("a provider of the profile is not selected");
        (void)profile_provider_sel_passes(ps, size, (uint8_t)size);
    }
    size_t n;
    (void)profile_selection_pool_tags(s, &n);
    uint32_t tag = 0;
    memcpy(&tag, data, size < 4 ? size : 4);
    (void)profile_selection_pool_tag(s, tag);
    (void)profile_selection_stack(s, (uint16_t)tag);
    profile_selection_free(s);

    /* facts from the input's bytes: (group, opcode, count, with_stack) quadruples */
    ProfileSeenKernel k[16];
    size_t nk = 0;
    for (size_t i = 0; i + 4 <= size && nk < G_N_ELEMENTS(k); i += 4, nk++) {
        k[nk].group = data[i] & 0x1F;
        k[nk].opcode = data[i + 1];
        k[nk].count = data[i + 2];
        k[nk].with_stack = data[i + 3];
    }
    ProfileSeenProvider pv = { .name = p->name, .count = size, .with_stack = size / 2 };
    ProfileTraceFacts t = { .kernel = k, .n_kernel = nk, .providers = &pv, .n_providers = 1,
                            .events_lost = size & 1, .have_group_masks = (size & 2) != 0 };
    memcpy(t.group_masks, m, sizeof m);
    GPtrArray *fs = profile_compare(p, &t);
    if (!fs->len) fail("profile_compare returned nothing");
    for (guint i = 0; i < fs->len; i++) {
        const ProfileFinding *x = fs->pdata[i];
        if (!x->message || !x->kind) fail("finding without message");
        (void)profile_finding_level_name(x->level);
    }
    g_ptr_array_unref(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;
    ProfileFile *f = profile_file_parse((const char *)data, size, "fuzz.wprp", &err);
    if (!f) {
        if (!err || !err->message || strchr(err->message, '\n')) fail("parse failed without a one-line error");
        g_error_free(err);
    } else {
        for (guint i = 0; i < f->warnings->len; i++)
            if (!((ProfileWarning *)f->warnings->pdata[i])->message) fail("warning without message");
        for (guint i = 0; i < f->profiles->len; i++) exercise(f, f->profiles->pdata[i], data, size);
        const Profile *p = profile_file_find(f, NULL, &err);
        if (!p) g_clear_error(&err);
        profile_file_free(f);
    }
    /* name tables on a NUL-terminated prefix */
    char name[48];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    (void)profile_keyword_suggest(name);
    (void)profile_stack_suggest(name);
    (void)profile_keyword_lookup(name);
    ProfileGuid g;
    if (profile_guid_parse(name, &g)) {
        char s[PROFILE_GUID_STRLEN];
        profile_guid_format(&g, s);
    }
    if (g_utf8_validate(name, -1, NULL)) profile_eventsource_guid(name, &g);
    return 0;
}
