/* profile.h — WPR recording profiles (.wprp): parse, resolve, explain, select.
 *
 * profiles/ stands apart from the trace reader: it needs only glib and libxml2, and the CLI
 * consults it.  Everything here is plain C over numbers and strings, so that cli/ can hand
 * over what a trace holds without profiles/ knowing any etl/ type.
 *
 *   ProfileFile *f = profile_file_load("pool.wprp", &err);      // lenient: warnings, not failures
 *   const Profile *p = profile_file_find(f, "PoolLeak", &err);  // "Name[.Detail[.Mode]]" or an Id
 *   ProfileSelection *s = profile_selection_new(p);             // what the profile collects
 *   if (profile_selection_kernel_event(s, 0x0E, 0x20)) ...      // Pool/PoolAlloc selected?
 *
 * The model is the *effective* profile: Base inheritance and every Set/Add/Remove applied, the
 * same view `wpr -status collectors` gives of a running recording.  docs/profiles.md has the
 * rules and the sources of every table.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* ============================================================================ name tables */

/* Where a name comes from: the published schema (2018 WPRControlProfiles.xsd), or real
 * profiles only (newer WPR versions accept it; the schema does not list it). */
typedef enum { PROFILE_NAME_XSD = 0, PROFILE_NAME_REAL = 1 } ProfileNameSource;

/* A SystemProvider <Keyword>: the kernel flags it turns on.  perf_mask is a PERFINFO group
 * mask value, index << 29 | bits (index selects Masks[0..7]); Masks[0] is the EnableFlags
 * word of EVENT_TRACE_PROPERTIES.  flags_alias holds the EVENT_TRACE_FLAG_* alias bits that
 * Vista+ also sets in Masks[0] for CSWITCH, DPC, INTERRUPT, SYSCALL, DRIVER and PROFILE. */
typedef struct {
    const char *name;        /* WPR spelling */
    const char *xperf;       /* xperf -on kernel flag; NULL when xperf has none */
    uint32_t    perf_mask;   /* 0 when no bit is known */
    uint32_t    flags_alias; /* extra Masks[0] bits, 0 if none */
    ProfileNameSource source;
    bool        verify;      /* the bit is not confirmed first-hand ([verify] in the docs) */
    const char *description;
} ProfileKeywordInfo;

/* A SystemProvider <Stack>: the kernel event whose stack is walked.  hook = group << 8 |
 * opcode (the xperf -stackwalk 0xmmnn form); 0 when not known. */
typedef struct {
    const char *name;        /* WPR spelling */
    const char *xperf;       /* xperf -stackwalk name; NULL when xperf has none */
    uint16_t    hook;
    ProfileNameSource source;
    bool        verify;      /* hook id not confirmed first-hand */
} ProfileStackInfo;

const ProfileKeywordInfo *profile_keyword_table(size_t *n);
const ProfileStackInfo   *profile_stack_table(size_t *n);
/* Exact (case-sensitive, as WPR) lookups; NULL when unknown. */
const ProfileKeywordInfo *profile_keyword_lookup(const char *name);
const ProfileStackInfo   *profile_stack_lookup(const char *name);
const ProfileStackInfo   *profile_stack_by_hook(uint16_t hook);
/* "Did you mean": the closest known name (common misspellings, xperf names, case, then
 * Levenshtein distance), or NULL when nothing is close. */
const char *profile_keyword_suggest(const char *name);
const char *profile_stack_suggest(const char *name);
/* Levenshtein distance, ASCII case-insensitive (exposed for tests). */
unsigned    profile_edit_distance(const char *a, const char *b);

/* Which WPR keyword makes the kernel log this event (group byte, opcode); NULL when etla's
 * table has no keyword for it.  Group 0x00 (EventTrace) and 0x18 (StackWalk) have none: the
 * session itself writes them. */
const char *profile_kernel_event_keyword(uint8_t group, uint8_t opcode);
/* The (group, opcode) ranges a keyword produces.  Returns how many ranges were written to out
 * (at most max); each range is group, first opcode, last opcode. */
typedef struct {
    uint8_t group, op_first, op_last;
} ProfileEventRange;
size_t profile_keyword_events(const char *keyword, ProfileEventRange *out, size_t max);

/* ============================================================================ the model */

typedef struct {
    uint32_t data1;
    uint16_t data2, data3;
    uint8_t  data4[8];
} ProfileGuid; /* the layout of a Windows GUID (and of EtlGuid) */

#define PROFILE_GUID_STRLEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
/* Parse "xxxxxxxx-xxxx-…", with or without braces.  false when it is not a GUID. */
bool profile_guid_parse(const char *s, ProfileGuid *out);
void profile_guid_format(const ProfileGuid *g, char out[PROFILE_GUID_STRLEN]); /* lower case */
/* The GUID .NET EventSource (and TraceLogging) derive from a provider name: SHA-1 over a fixed
 * namespace and the upper-cased name in UTF-16BE (name-based GUID, version 5). */
void profile_eventsource_guid(const char *name, ProfileGuid *out);

typedef enum { PROFILE_OP_SET = 0, PROFILE_OP_ADD, PROFILE_OP_REMOVE } ProfileOp;

typedef struct {
    int   line;     /* 1-based; 0 when not tied to a line */
    char *message;  /* one sentence, without the file name */
} ProfileWarning;

/* Kernel (system) provider: what a SystemProvider and its in-place edits add up to. */
typedef struct {
    GPtrArray *keywords;        /* char *, canonical names, unique, in order of first appearance */
    GArray    *custom_keywords; /* uint32_t raw group-mask values from <CustomKeyword> */
    GPtrArray *stacks;          /* char *, canonical names, unique */
    GArray    *custom_stacks;   /* uint16_t hook ids from <CustomStack> */
    GPtrArray *pool_tags;       /* char *, 1-4 characters as written (may hold ? and *) */
} ProfileSystemProvider;

/* User-mode (event) provider. */
typedef struct {
    char       *id;
    char       *name;               /* as written: a name, a GUID, or "*EventSourceName" */
    bool        has_guid;           /* guid is known: Name is a GUID or a *EventSource name */
    ProfileGuid guid;
    uint64_t    keywords;           /* OR of the <Keyword> values; 0 = none listed (every event) */
    uint8_t     level;              /* default 0xFF */
    bool        stack;
    bool        non_paged;
    bool        capture_state_only;
    uint64_t    capture_on_start;   /* keywords of the rundown at start (0 = none) */
    uint64_t    capture_on_save;    /* ... at save */
    GArray     *event_ids;          /* uint16_t from <EventFilters>; empty = no filter */
    bool        event_ids_filter_in;/* true: only these ids; false: all but these */
    GPtrArray  *stacks;             /* char *, <Stacks> of an EventProvider (WPR 10.0.15002+) */
    GArray     *custom_stacks;      /* uint16_t */
} ProfileEventProvider;

typedef enum { PROFILE_COLLECTOR_SYSTEM = 0, PROFILE_COLLECTOR_EVENT, PROFILE_COLLECTOR_HEAP } ProfileCollectorKind;

typedef struct {
    ProfileCollectorKind kind;
    char    *id;
    char    *name;             /* session name; NULL when the file gives none */
    uint64_t buffer_size_kb;   /* 0 = not set (WPR's default applies) */
    uint64_t buffers;          /* 0 = not set */
    bool     buffers_percent;  /* buffers is a percentage of physical memory */
    uint64_t max_buffer_space; /* MaximumBufferSpace (newer WPR), 0 = not set */
    uint64_t stack_cache_buckets, stack_cache_size; /* <StackCaching>, 0 = not set */
    ProfileSystemProvider *system;   /* SYSTEM collectors; NULL otherwise */
    GPtrArray *providers;            /* EVENT collectors: ProfileEventProvider * */
    GPtrArray *heap_providers;       /* HEAP collectors: char * provider ids */
    GArray    *heap_pids;            /* HEAP collectors: uint64_t process ids */
    GPtrArray *hardware_counters;    /* char * HardwareCounter ids (newer WPR) */
} ProfileCollector;

typedef struct {
    char      *id;
    char      *name;
    int        delete_pre_merged;    /* -1 unset, 0, 1 */
    int        file_compression;     /* -1 unset, 0, 1 */
    GPtrArray *custom_events;        /* char * */
} ProfileTraceMerge;

typedef struct {
    char *id;             /* Name.DetailLevel.LoggingMode */
    char *name;
    char *description;
    char *detail_level;   /* Light | Verbose */
    char *logging_mode;   /* File | Memory */
    char *base;           /* Base attribute, NULL if none */
    int   line;
    GPtrArray *collectors;            /* ProfileCollector *, effective */
    ProfileTraceMerge *trace_merge;   /* inside the profile (or inherited); NULL if none */
    /* Summaries of the collectors: */
    ProfileSystemProvider *system;    /* union of the system collectors' providers (never NULL) */
    GPtrArray *event_providers;       /* ProfileEventProvider * of every event collector (borrowed) */
    const ProfileCollector *system_collector; /* first system collector, NULL if none */
} Profile;

typedef struct {
    char      *path;          /* as given */
    char      *version;       /* WindowsPerformanceRecorder Version, NULL if absent */
    char      *author;
    char      *comments;
    GPtrArray *profiles;      /* Profile *, in file order */
    GPtrArray *trace_merges;  /* ProfileTraceMerge *, root-level TraceMergeProperties */
    GPtrArray *warnings;      /* ProfileWarning *, in the order found */
} ProfileFile;

/* Parse a .wprp.  Unknown elements, attributes and names, missing references and bad values
 * become warnings (with the line); only unreadable files and malformed XML fail, with a
 * GError naming the file and line (domain PROFILE_ERROR).  No external entity, DTD or network
 * access ever happens.  name labels messages (a path or "<memory>"). */
ProfileFile *profile_file_load(const char *path, GError **err);
ProfileFile *profile_file_parse(const char *data, size_t len, const char *name, GError **err);
void         profile_file_free(ProfileFile *f);

#define PROFILE_ERROR (profile_error_quark())
GQuark profile_error_quark(void);
typedef enum { PROFILE_ERROR_READ, PROFILE_ERROR_XML, PROFILE_ERROR_NOT_WPRP, PROFILE_ERROR_NO_PROFILE } ProfileErrorCode;

/* Split "FILE!Profile" at the last '!' (unless FILE!… names an existing file as a whole).
 * *profile is NULL when no '!' is given.  Both g_free. */
void profile_split_spec(const char *spec, char **path, char **profile);
/* Find a profile as `wpr -start file!Name` does: an exact Id; or Name[.Light|.Verbose]
 * [.File|.Memory], where a missing detail level means Verbose (Light if there is no Verbose)
 * and a missing logging mode means Memory (File if there is no Memory), as WPR's defaults. */
const Profile *profile_file_find(const ProfileFile *f, const char *spec, GError **err);

/* Kernel group masks of a system provider: Masks[0..7] of PERFINFO_GROUPMASK; masks[0] is the
 * EnableFlags word (with the alias bits). */
void profile_group_masks(const ProfileSystemProvider *sp, uint32_t masks[8]);

/* ============================================================================ selection */

/* What a profile selects, for decoding and aggregation (`--profile` on info/dump/pool/dpcisr).
 *
 *  - Kernel events: selected when a keyword of the profile produces them (see
 *    profile_kernel_event_keyword), plus what every kernel session writes: EventTrace (group
 *    0x00: header, rundown markers), SystemConfig (0x0B, "always enabled"), and StackWalk (0x18)
 *    when the profile asks for any stack.  A (group, opcode) no keyword is known to produce
 *    is not selected.
 *  - User-mode providers: by GUID, or by name (ASCII case-insensitive) when the caller knows
 *    the event's provider name (a manifest name or a TraceLogging provider name).  Providers
 *    given as "*Name" match the EventSource GUID of Name.  The same provider listed twice
 *    (several collectors) is merged: keywords ORed, highest level, stack if any asks.
 *  - Pool tags: the profile's PoolTags, empty = every tag.
 *  - Stacks: hook ids (group << 8 | opcode) of the stacks asked for.
 */
typedef struct ProfileSelection ProfileSelection;

typedef struct {
    uint64_t keywords;   /* 0 = every keyword */
    uint8_t  level;
    bool     stack;
    const char *name;    /* as the profile wrote it */
} ProfileProviderSel;

ProfileSelection *profile_selection_new(const Profile *p);
void              profile_selection_free(ProfileSelection *s);

bool profile_selection_has_kernel(const ProfileSelection *s);       /* any kernel keyword at all */
bool profile_selection_kernel_keyword(const ProfileSelection *s, const char *keyword);
bool profile_selection_kernel_event(const ProfileSelection *s, uint8_t group, uint8_t opcode);
/* guid and name may each be NULL.  NULL result: the provider is not selected. */
const ProfileProviderSel *profile_selection_provider(const ProfileSelection *s, const ProfileGuid *guid,
                                                     const char *name);
/* ETW's filter for one event of a selected provider: level 0 events and keyword 0 events
 * always pass; otherwise level <= the provider's level and (keywords & the provider's) != 0. */
bool profile_provider_sel_passes(const ProfileProviderSel *ps, uint64_t event_keywords, uint8_t event_level);
/* Pool tags: n = 0 means every tag. */
const char *const *profile_selection_pool_tags(const ProfileSelection *s, size_t *n);
/* tag as pool events carry it: 4 bytes, first character in the low byte.  The protected-pool
 * bit (0x80 of the last byte) is ignored; '?' in the profile matches one character, '*' the rest;
 * a tag shorter than 4 characters is padded with spaces. */
bool profile_selection_pool_tag(const ProfileSelection *s, uint32_t tag);
bool profile_selection_stack(const ProfileSelection *s, uint16_t hook);
/* Masks the profile asks the kernel for. */
void profile_selection_group_masks(const ProfileSelection *s, uint32_t masks[8]);

/* ============================================================================ did it record? */

/* Facts about a trace, gathered by the caller (cmd-info.c) in one pass. */
typedef struct {
    uint8_t  group, opcode;  /* kernel events (SYSTEM/COMPACT/PERFINFO headers) */
    uint64_t count;
    uint64_t with_stack;     /* events a stack walk was matched to */
} ProfileSeenKernel;

typedef struct {
    ProfileGuid guid;
    const char *name;        /* provider name if known, else NULL */
    uint64_t    count;
    uint64_t    with_stack;
} ProfileSeenProvider;

typedef struct {
    const ProfileSeenKernel   *kernel;
    size_t                     n_kernel;
    const ProfileSeenProvider *providers;
    size_t                     n_providers;
    uint64_t events_lost;          /* log-file header EventsLost */
    uint64_t buffers_lost;         /* log-file header BuffersLost */
    uint64_t lost_event_records;   /* RT_LostEvent records */
    bool     have_group_masks;     /* the kernel session's group masks were found in the trace */
    uint32_t group_masks[8];
} ProfileTraceFacts;

typedef enum { PROFILE_FINDING_OK = 0, PROFILE_FINDING_INFO, PROFILE_FINDING_WARNING, PROFILE_FINDING_PROBLEM } ProfileFindingLevel;

typedef struct {
    ProfileFindingLevel level;
    const char *kind;   /* static: "ok", "missing-keyword", "keyword-not-enabled", "no-stacks",
                           "partial-stacks", "missing-provider", "provider-no-stacks", "lost-events",
                           "unrequested-events", "no-kernel-session" */
    char *subject;      /* keyword, stack, provider or NULL */
    char *message;      /* one sentence for people */
} ProfileFinding;

/* Compare what the profile asked for with what the trace holds.  Returns ProfileFinding *
 * (g_ptr_array_unref frees), worst first, then in profile order; one "ok" finding when nothing
 * is wrong. */
GPtrArray  *profile_compare(const Profile *p, const ProfileTraceFacts *facts);
const char *profile_finding_level_name(ProfileFindingLevel l); /* "ok", "info", "warning", "problem" */

G_END_DECLS
