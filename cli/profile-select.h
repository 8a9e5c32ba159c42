/* profile-select.h — `--profile FILE[!Profile]` on info, dump, pool and dpcisr: what the
 * profile selects (profiles/profile.h), applied to events.  Glue only. */
#pragma once

#include "cli.h"
#include "profile.h"

typedef struct {
    char             *spec;      /* as given, for messages */
    ProfileFile      *file;
    const Profile    *profile;
    ProfileSelection *sel;
} CliProfile;

/* GOptionEntry for --profile (string into *spec). */
#define CLI_PROFILE_ENTRY(spec_ptr)                                                                          \
    { "profile", 0, 0, G_OPTION_ARG_STRING, (spec_ptr),                                                      \
      "Only what this WPR profile records: its kernel events, providers and pool tags (FILE or FILE!Profile)", \
      "FILE[!P]" }

/* Load spec (NULL: nothing to do, true).  On failure prints one line and returns false (exit 1).
 * Profile warnings are printed unless quiet. */
bool cli_profile_load(CliProfile *cp, const char *spec, bool quiet);
void cli_profile_clear(CliProfile *cp);
static inline bool cli_profile_active(const CliProfile *cp) { return cp->sel != NULL; }
/* Does the profile select this event?  (Always true without a profile.) */
bool cli_profile_event(const CliProfile *cp, const EtlEvent *ev);
/* Pool tags: true without a profile or when the profile names none. */
bool cli_profile_pool_tag(const CliProfile *cp, uint32_t tag);
