/* profile-select.c — applying a WPR profile's selection to events. */
#include "profile-select.h"

#include <string.h>

bool cli_profile_load(CliProfile *cp, const char *spec, bool quiet)
{
    memset(cp, 0, sizeof *cp);
    if (!spec) return true;
    cp->spec = g_strdup(spec);
    char *path = NULL, *name = NULL;
    profile_split_spec(spec, &path, &name);
    GError *err = NULL;
    cp->file = profile_file_load(path, &err);
    if (cp->file) cp->profile = profile_file_find(cp->file, name, &err);
    if (!cp->profile) {
        cli_error("--profile %s: %s", spec, err ? err->message : "no such profile");
        g_clear_error(&err);
        g_free(path);
        g_free(name);
        cli_profile_clear(cp);
        return false;
    }
    if (!quiet)
        for (guint i = 0; i < cp->file->warnings->len; i++) {
            const ProfileWarning *w = g_ptr_array_index(cp->file->warnings, i);
            cli_warning("%s:%d: %s", path, w->line, w->message);
        }
    cp->sel = profile_selection_new(cp->profile);
    g_free(path);
    g_free(name);
    return true;
}

void cli_profile_clear(CliProfile *cp)
{
    if (cp->sel) profile_selection_free(cp->sel);
    if (cp->file) profile_file_free(cp->file);
    g_free(cp->spec);
    memset(cp, 0, sizeof *cp);
}

static int kernel_group_of(const EtlEvent *ev)
{
    if (etl_header_kind_is_kernel(ev->kind)) return ev->group;
    /* classic events of a kernel group (Image/Load from hook 0x030A, rundown on some systems) */
    for (int g = 0; g < 0x1F; g++) {
        const EtlGuid *gg = etl_kernel_group_guid((uint8_t)g);
        if (gg && etl_guid_equal(gg, &ev->provider)) return g;
    }
    return -1;
}

bool cli_profile_event(const CliProfile *cp, const EtlEvent *ev)
{
    if (!cp->sel) return true;
    int g = etl_header_kind_is_opcode_keyed(ev->kind) ? kernel_group_of(ev) : -1;
    if (g >= 0) return profile_selection_kernel_event(cp->sel, (uint8_t)g, ev->opcode);
    const char *name = etl_provider_name(&ev->provider);
    char *tl = NULL;
    if (!name && ev->kind == ETL_HDR_EVENT) {
        EtlAStr a = etl_event_tl_provider_name(ev);
        if (a.len) name = tl = g_strndup(a.p, a.len);
    }
    const ProfileProviderSel *ps = profile_selection_provider(cp->sel, (const ProfileGuid *)&ev->provider, name);
    g_free(tl);
    return ps && profile_provider_sel_passes(ps, ev->keyword, ev->level);
}

bool cli_profile_pool_tag(const CliProfile *cp, uint32_t tag)
{
    return !cp->sel || profile_selection_pool_tag(cp->sel, tag);
}
