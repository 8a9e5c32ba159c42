/* test-profile.c — WPR profiles (profiles/): name tables, flag computation, inheritance
 * (Set/Add/Remove chains), BOM, malformed XML, unknown names, selection, the trace comparison,
 * our shipped profiles (no warnings; valid against the published schema when ../shared has it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "profile.h"

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

static ProfileFile *parse(const char *xml)
{
    GError *err = NULL;
    ProfileFile *f = profile_file_parse(xml, strlen(xml), "test.wprp", &err);
    if (!f) fail_msg("parse failed: %s", err->message);
    return f;
}

static const Profile *find(const ProfileFile *f, const char *spec)
{
    GError *err = NULL;
    const Profile *p = profile_file_find(f, spec, &err);
    if (!p) fail_msg("%s", err->message);
    return p;
}

/* Space-joined keywords (or stacks) of a provider. */
static char *joined(GPtrArray *a)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < a->len; i++) {
        if (i) g_string_append_c(s, ' ');
        g_string_append(s, a->pdata[i]);
    }
    return g_string_free(s, FALSE);
}

static void assert_strv(GPtrArray *a, const char *want)
{
    char *got = joined(a);
    assert_string_equal(got, want);
    g_free(got);
}

static bool has_warning(const ProfileFile *f, int line, const char *needle)
{
    for (guint i = 0; i < f->warnings->len; i++) {
        const ProfileWarning *w = f->warnings->pdata[i];
        if ((line == 0 || w->line == line) && strstr(w->message, needle)) return true;
    }
    return false;
}

static void dump_warnings(const ProfileFile *f)
{
    for (guint i = 0; i < f->warnings->len; i++) {
        const ProfileWarning *w = f->warnings->pdata[i];
        printf("  %d: %s\n", w->line, w->message);
    }
}

#define HEAD "<?xml version=\"1.0\"?>\n<WindowsPerformanceRecorder Version=\"1.0\">\n<Profiles>\n"
#define TAIL "</Profiles>\n</WindowsPerformanceRecorder>\n"

/* ------------------------------------------------------------------ name tables */

static void test_names(void **state)
{
    (void)state;
    size_t nk, ns;
    const ProfileKeywordInfo *kt = profile_keyword_table(&nk);
    const ProfileStackInfo *st = profile_stack_table(&ns);
    assert_true(nk >= 57);
    assert_true(ns >= 150);
    for (size_t i = 0; i < nk; i++) {
        for (size_t j = i + 1; j < nk; j++) assert_true(strcmp(kt[i].name, kt[j].name) != 0);
        /* A group-mask value's index fits Masks[0..7]; the alias bits live in Masks[0]. */
        assert_true((kt[i].perf_mask >> 29) < 8);
    }
    for (size_t i = 0; i < ns; i++)
        for (size_t j = i + 1; j < ns; j++) {
            assert_true(strcmp(st[i].name, st[j].name) != 0);
            if (st[i].hook) assert_true(st[i].hook != st[j].hook);
        }

    const ProfileKeywordInfo *k = profile_keyword_lookup("Pool");
    assert_non_null(k);
    assert_string_equal(k->xperf, "POOL");
    assert_int_equal(k->perf_mask, 0x20000040);
    assert_int_equal(k->flags_alias, 0);
    k = profile_keyword_lookup("DPC");
    assert_int_equal(k->perf_mask, 0x20000080);
    assert_int_equal(k->flags_alias, 0x20);
    assert_string_equal(profile_keyword_lookup("ReadyThread")->xperf, "DISPATCHER");
    assert_string_equal(profile_keyword_lookup("SampledProfile")->xperf, "PROFILE");
    assert_null(profile_keyword_lookup("pool")); /* WPR names are case-sensitive */
    assert_null(profile_keyword_lookup("Driver"));
    assert_int_equal(profile_keyword_lookup("VAMap")->source, PROFILE_NAME_REAL);

    const ProfileStackInfo *s = profile_stack_lookup("PoolAllocation");
    assert_non_null(s);
    assert_string_equal(s->xperf, "PoolAlloc");
    assert_int_equal(s->hook, 0x0E20);
    assert_string_equal(profile_stack_lookup("SampledProfile")->xperf, "Profile");
    assert_int_equal(profile_stack_lookup("SampledProfile")->hook, 0x0F2E);
    assert_string_equal(profile_stack_lookup("RegistryCreateKey")->xperf, "RegCreateKey");
    assert_string_equal(profile_stack_lookup("TimerPeriodic")->xperf, "TimerSetPeriodic");
    assert_int_equal(profile_stack_lookup("CSwitch")->hook, 0x0524);
    assert_string_equal(profile_stack_by_hook(0x0E22)->name, "PoolFree");
    assert_null(profile_stack_by_hook(0));
}

static void test_did_you_mean(void **state)
{
    (void)state;
    assert_string_equal(profile_keyword_suggest("Driver"), "Drivers");
    assert_string_equal(profile_keyword_suggest("VirtualAlloc"), "VirtualAllocation");
    assert_string_equal(profile_keyword_suggest("ContextSwitch"), "CSwitch");
    assert_string_equal(profile_keyword_suggest("Profile"), "SampledProfile");
    assert_string_equal(profile_keyword_suggest("Cswitch"), "CSwitch");         /* case */
    assert_string_equal(profile_keyword_suggest("PROC_THREAD"), "ProcessThread"); /* xperf name */
    assert_string_equal(profile_keyword_suggest("DISK_IO_INIT"), "DiskIOInit");
    assert_string_equal(profile_keyword_suggest("Pooll"), "Pool");
    assert_string_equal(profile_keyword_suggest("ProcesThread"), "ProcessThread");
    assert_string_equal(profile_keyword_suggest("HardFault"), "HardFaults");
    assert_null(profile_keyword_suggest("Xyzzy"));
    assert_null(profile_keyword_suggest(""));
    assert_null(profile_keyword_suggest(NULL));
    assert_string_equal(profile_stack_suggest("PoolAlloc"), "PoolAllocation");
    assert_string_equal(profile_stack_suggest("Profile"), "SampledProfile");
    assert_string_equal(profile_stack_suggest("RegCreateKey"), "RegistryCreateKey");
    assert_string_equal(profile_stack_suggest("PoolFre"), "PoolFree");
    assert_null(profile_stack_suggest("CompletelyDifferent"));
    assert_int_equal(profile_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(profile_edit_distance("Pool", "pool"), 0);
    assert_int_equal(profile_edit_distance("", "abc"), 3);
}

static void test_kernel_events(void **state)
{
    (void)state;
    assert_string_equal(profile_kernel_event_keyword(0x0E, 0x20), "Pool");
    assert_string_equal(profile_kernel_event_keyword(0x0E, 0x2F), "Pool");
    assert_string_equal(profile_kernel_event_keyword(0x0F, 0x44), "DPC");
    assert_string_equal(profile_kernel_event_keyword(0x0F, 0x45), "DPC");
    assert_string_equal(profile_kernel_event_keyword(0x0F, 0x42), "DPC");
    assert_string_equal(profile_kernel_event_keyword(0x0F, 0x43), "Interrupt");
    assert_string_equal(profile_kernel_event_keyword(0x0F, 0x32), "Interrupt");
    assert_string_equal(profile_kernel_event_keyword(0x05, 0x24), "CSwitch");
    assert_string_equal(profile_kernel_event_keyword(0x05, 0x32), "ReadyThread");
    assert_string_equal(profile_kernel_event_keyword(0x05, 0x01), "ProcessThread");
    assert_string_equal(profile_kernel_event_keyword(0x03, 0x03), "ProcessThread");
    assert_string_equal(profile_kernel_event_keyword(0x14, 0x0A), "Loader");
    assert_string_equal(profile_kernel_event_keyword(0x03, 0x0A), "Loader");
    assert_string_equal(profile_kernel_event_keyword(0x0F, 0x2E), "SampledProfile");
    assert_null(profile_kernel_event_keyword(0x18, 0x20));
    assert_null(profile_kernel_event_keyword(0x00, 0x00));
    ProfileEventRange r[8];
    assert_int_equal(profile_keyword_events("DPC", r, 8), 2);
    assert_int_equal(profile_keyword_events("Pool", r, 8), 1);
    assert_int_equal(r[0].group, 0x0E);
    assert_int_equal(profile_keyword_events("NoSuch", r, 8), 0);
    /* Every keyword with events maps its events back to itself (no overlapping ranges). */
    size_t nk;
    const ProfileKeywordInfo *kt = profile_keyword_table(&nk);
    for (size_t i = 0; i < nk; i++) {
        size_t n = profile_keyword_events(kt[i].name, r, 8);
        for (size_t j = 0; j < n; j++)
            for (unsigned op = r[j].op_first; op <= r[j].op_last; op++)
                assert_string_equal(profile_kernel_event_keyword(r[j].group, (uint8_t)op), kt[i].name);
    }
}

/* Every keyword and stack name of the published schema is in the tables (../shared). */
static void test_schema_names(void **state)
{
    (void)state;
    const char *shared = g_getenv("ETLA_SHARED_DIR");
    char *xsd = g_strdup_printf("%s/wprp/WPRControlProfiles.xsd", shared ? shared : ".");
    gchar *text = NULL;
    if (!g_file_get_contents(xsd, &text, NULL, NULL)) {
        printf("SKIP: %s not found: schema names not compared\n", xsd);
        g_free(xsd);
        return;
    }
    const char *kw = strstr(text, "name=\"SystemKeywordEnumeration\"");
    const char *stk = strstr(text, "name=\"SystemStackEnumeration\"");
    const char *end = strstr(text, "name=\"LoggingModeEnumeration\"");
    assert_non_null(kw);
    assert_non_null(stk);
    assert_non_null(end);
    int nkw = 0, nst = 0;
    for (const char *p = kw; (p = strstr(p, "value=\"")) && p < end; p += 7) {
        const char *q = strchr(p + 7, '"');
        char *name = g_strndup(p + 7, (gsize)(q - p - 7));
        if (p < stk) {
            if (!profile_keyword_lookup(name)) fail_msg("schema keyword %s missing from the table", name);
            assert_int_equal(profile_keyword_lookup(name)->source, PROFILE_NAME_XSD);
            nkw++;
        } else {
            if (!profile_stack_lookup(name)) fail_msg("schema stack %s missing from the table", name);
            assert_int_equal(profile_stack_lookup(name)->source, PROFILE_NAME_XSD);
            nst++;
        }
        g_free(name);
    }
    assert_true(nkw >= 56);
    assert_true(nst >= 150);
    g_free(text);
    g_free(xsd);
}

/* ------------------------------------------------------------------ flags */

static void test_flags(void **state)
{
    (void)state;
    ProfileFile *f = parse(HEAD
        "<SystemCollector Id=\"SC\" Name=\"NT Kernel Logger\"/>\n"
        "<SystemProvider Id=\"SP\"><Keywords>\n"
        "  <Keyword Value=\"ProcessThread\"/><Keyword Value=\"Loader\"/><Keyword Value=\"Pool\"/>\n"
        "  <Keyword Value=\"CSwitch\"/><Keyword Value=\"DPC\"/><Keyword Value=\"Interrupt\"/>\n"
        "  <Keyword Value=\"CpuConfig\"/><Keyword Value=\"Power\"/><Keyword Value=\"ClusterOff\"/>\n"
        "  <CustomKeyword Value=\"0x20000400\"/>\n"
        "</Keywords></SystemProvider>\n"
        "<Profile Id=\"F.Verbose.File\" Name=\"F\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\">\n"
        "<Collectors><SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP\"/></SystemCollectorId></Collectors>\n"
        "</Profile>\n" TAIL);
    dump_warnings(f);
    assert_int_equal(f->warnings->len, 0);
    const Profile *p = find(f, "F");
    uint32_t m[8];
    profile_group_masks(p->system, m);
    /* Masks[0] = EnableFlags: PROCESS|THREAD|IMAGE_LOAD + aliases CSWITCH 0x10, DPC 0x20, INTERRUPT 0x40 */
    assert_int_equal(m[0], 0x00000077);
    /* Masks[1]: CSWITCH 0x4, POOL 0x40, DPC 0x80, PMC_PROFILE 0x400 (custom), INTERRUPT 0x4000 */
    assert_int_equal(m[1], 0x000044C4);
    assert_int_equal(m[2], 0x00010000); /* CPU_CONFIG */
    assert_int_equal(m[4], 0x00008000); /* POWER */
    assert_int_equal(m[7], 0x00000001); /* CLUSTER_OFF */
    assert_int_equal(m[3] | m[5] | m[6], 0);
    ProfileSelection *s = profile_selection_new(p);
    uint32_t sm[8];
    profile_selection_group_masks(s, sm);
    assert_memory_equal(sm, m, sizeof m);
    profile_selection_free(s);
    profile_file_free(f);
}

/* ------------------------------------------------------------------ inheritance */

static const char *INHERIT = HEAD
    "<SystemCollector Id=\"SC\" Name=\"NT Kernel Logger\"><BufferSize Value=\"1024\"/><Buffers Value=\"64\"/></SystemCollector>\n"
    "<SystemCollector Id=\"SC_Big\" Base=\"SC\" Name=\"NT Kernel Logger\"><Buffers Value=\"512\"/></SystemCollector>\n"
    "<EventCollector Id=\"EC\" Name=\"Etla Events\"><BufferSize Value=\"128\"/><Buffers Value=\"32\"/></EventCollector>\n"
    "<SystemProvider Id=\"SP_A\"><Keywords><Keyword Value=\"ProcessThread\"/><Keyword Value=\"Loader\"/>"
    "<Keyword Value=\"CSwitch\"/></Keywords><Stacks><Stack Value=\"CSwitch\"/></Stacks></SystemProvider>\n"
    "<SystemProvider Id=\"SP_B\" Base=\"SP_A\"><Keywords Operation=\"Add\"><Keyword Value=\"Pool\"/></Keywords>"
    "<Stacks Operation=\"Add\"><Stack Value=\"PoolAllocation\"/></Stacks></SystemProvider>\n"
    "<SystemProvider Id=\"SP_C\" Base=\"SP_B\"><Keywords Operation=\"Remove\"><Keyword Value=\"CSwitch\"/></Keywords>"
    "<Stacks Operation=\"Remove\"><Stack Value=\"CSwitch\"/></Stacks><PoolTags><PoolTag Value=\"Leak\"/></PoolTags></SystemProvider>\n"
    "<SystemProvider Id=\"SP_D\" Base=\"SP_C\"><Keywords><Keyword Value=\"DPC\"/></Keywords></SystemProvider>\n"
    "<SystemProvider Id=\"SP_X\"><Keywords><Keyword Value=\"ReadyThread\"/></Keywords></SystemProvider>\n"
    "<EventProvider Id=\"EP_1\" Name=\"Microsoft-Windows-Kernel-EventTracing\" Level=\"4\"><Keywords><Keyword Value=\"0x10\"/></Keywords></EventProvider>\n"
    "<EventProvider Id=\"EP_2\" Name=\"{22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}\" Stack=\"true\"/>\n"
    "<EventProvider Id=\"EP_3\" Name=\"22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716\" Base=\"EP_2\" Stack=\"false\">"
    "<Keywords Operation=\"Add\"><Keyword Value=\"0x200\"/></Keywords></EventProvider>\n"
    /* P1: system + event collector */
    "<Profile Id=\"P1.Verbose.File\" Name=\"P1\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\">\n"
    "<Collectors>\n"
    "  <SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP_B\"/></SystemCollectorId>\n"
    "  <EventCollectorId Value=\"EC\"><EventProviders><EventProviderId Value=\"EP_1\"/><EventProviderId Value=\"EP_2\"/></EventProviders></EventCollectorId>\n"
    "</Collectors></Profile>\n"
    /* P2: Add another provider to the same collector (union), bigger buffers in place */
    "<Profile Id=\"P2.Verbose.File\" Name=\"P2\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"P1.Verbose.File\">\n"
    "<Collectors Operation=\"Add\">\n"
    "  <SystemCollectorId Value=\"SC\"><Buffers Value=\"300\"/><SystemProviderId Value=\"SP_X\"/></SystemCollectorId>\n"
    "</Collectors></Profile>\n"
    /* P3: Remove the event collector */
    "<Profile Id=\"P3.Verbose.File\" Name=\"P3\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"P1.Verbose.File\">\n"
    "<Collectors Operation=\"Remove\"><EventCollectorId Value=\"EC\"/></Collectors></Profile>\n"
    /* P4: Set replaces all collectors */
    "<Profile Id=\"P4.Verbose.File\" Name=\"P4\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"P1.Verbose.File\">\n"
    "<Collectors><EventCollectorId Value=\"EC\"><EventProviders><EventProviderId Value=\"EP_3\"/></EventProviders></EventCollectorId></Collectors></Profile>\n"
    /* P5: remove one provider, in-place keyword edits, an in-place provider definition */
    "<Profile Id=\"P5.Verbose.File\" Name=\"P5\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"P1.Verbose.File\">\n"
    "<Collectors Operation=\"Remove\"><EventCollectorId Value=\"EC\"><EventProviders><EventProviderId Value=\"EP_2\"/></EventProviders></EventCollectorId></Collectors>\n"
    "<Collectors Operation=\"Add\">\n"
    "  <SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP_A\"><Keywords Operation=\"Add\"><Keyword Value=\"Interrupt\"/></Keywords></SystemProviderId></SystemCollectorId>\n"
    "  <EventCollectorId Value=\"EC\"><EventProviders Operation=\"Add\">"
    "<EventProviderId Value=\"EP_1\"><Keywords Operation=\"Add\"><Keyword Value=\"0x40\"/></Keywords></EventProviderId>"
    "<EventProvider Id=\"EP_InPlace\" Name=\"*My-Event-Source\" Level=\"5\"/></EventProviders></EventCollectorId>\n"
    "</Collectors></Profile>\n"
    /* P6: a chain of providers with Set at the end; a derived collector's buffers */
    "<Profile Id=\"P6.Light.Memory\" Name=\"P6\" Description=\"d\" DetailLevel=\"Light\" LoggingMode=\"Memory\">\n"
    "<Collectors><SystemCollectorId Value=\"SC_Big\"><SystemProviderId Value=\"SP_D\"/></SystemCollectorId></Collectors></Profile>\n"
    "<Profile Id=\"P7.Verbose.File\" Name=\"P7\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\">\n"
    "<Collectors><SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP_C\"/></SystemCollectorId></Collectors></Profile>\n"
    TAIL;

static void test_inheritance(void **state)
{
    (void)state;
    ProfileFile *f = parse(INHERIT);
    dump_warnings(f);
    assert_int_equal(f->warnings->len, 0);
    assert_int_equal(f->profiles->len, 7);

    const Profile *p1 = find(f, "P1");
    assert_int_equal(p1->collectors->len, 2);
    assert_strv(p1->system->keywords, "ProcessThread Loader CSwitch Pool");
    assert_strv(p1->system->stacks, "CSwitch PoolAllocation");
    assert_int_equal(p1->event_providers->len, 2);
    assert_int_equal(p1->system_collector->buffer_size_kb, 1024);
    assert_int_equal(p1->system_collector->buffers, 64);

    const Profile *p2 = find(f, "P2.Verbose.File");
    assert_int_equal(p2->collectors->len, 2);
    assert_strv(p2->system->keywords, "ProcessThread Loader CSwitch Pool ReadyThread");
    assert_int_equal(p2->system_collector->buffers, 300);
    assert_string_equal(p2->base, "P1.Verbose.File");
    /* the base is not changed by the derived profile */
    assert_int_equal(p1->system_collector->buffers, 64);
    assert_strv(p1->system->keywords, "ProcessThread Loader CSwitch Pool");

    const Profile *p3 = find(f, "P3");
    assert_int_equal(p3->collectors->len, 1);
    assert_int_equal(p3->event_providers->len, 0);
    assert_non_null(p3->system_collector);

    const Profile *p4 = find(f, "P4");
    assert_int_equal(p4->collectors->len, 1);
    assert_null(p4->system_collector);
    assert_int_equal(p4->system->keywords->len, 0);
    assert_int_equal(p4->event_providers->len, 1);
    const ProfileEventProvider *ep3 = p4->event_providers->pdata[0];
    assert_string_equal(ep3->id, "EP_3");
    assert_false(ep3->stack);                        /* overridden */
    assert_int_equal(ep3->keywords, 0x200);
    char g[PROFILE_GUID_STRLEN];
    profile_guid_format(&ep3->guid, g);
    assert_string_equal(g, "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716");

    const Profile *p5 = find(f, "P5");
    assert_strv(p5->system->keywords, "ProcessThread Loader CSwitch Pool Interrupt");
    assert_int_equal(p5->event_providers->len, 2);
    const ProfileEventProvider *e0 = p5->event_providers->pdata[0], *e1 = p5->event_providers->pdata[1];
    assert_string_equal(e0->id, "EP_1");
    assert_int_equal(e0->keywords, 0x50);
    assert_int_equal(e0->level, 4);
    assert_string_equal(e1->id, "EP_InPlace");
    assert_true(e1->has_guid);
    assert_int_equal(e1->level, 5);
    /* EP_1 in P1 is untouched by P5's in-place edit */
    assert_int_equal(((ProfileEventProvider *)p1->event_providers->pdata[0])->keywords, 0x10);

    const Profile *p6 = find(f, "P6");
    assert_strv(p6->system->keywords, "DPC");           /* Set at the end of the chain */
    assert_strv(p6->system->stacks, "PoolAllocation");  /* stacks inherited: CSwitch removed by SP_C */
    assert_strv(p6->system->pool_tags, "Leak");
    assert_int_equal(p6->system_collector->buffers, 512);
    assert_int_equal(p6->system_collector->buffer_size_kb, 1024); /* from SC via SC_Big */
    assert_string_equal(p6->logging_mode, "Memory");
    assert_string_equal(p6->detail_level, "Light");

    const Profile *p7 = find(f, "P7");
    assert_strv(p7->system->keywords, "ProcessThread Loader Pool");
    profile_file_free(f);
}

static void test_cycles_and_missing(void **state)
{
    (void)state;
    ProfileFile *f = parse(HEAD
        "<SystemProvider Id=\"A\" Base=\"B\"><Keywords Operation=\"Add\"><Keyword Value=\"Pool\"/></Keywords></SystemProvider>\n"
        "<SystemProvider Id=\"B\" Base=\"A\"><Keywords Operation=\"Add\"><Keyword Value=\"DPC\"/></Keywords></SystemProvider>\n"
        "<Profile Id=\"X.Verbose.File\" Name=\"X\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"Y.Verbose.File\">\n"
        "<Collectors><SystemCollectorId Value=\"SystemCollector_WPRSystemCollectorInFile\"><SystemProviderId Value=\"A\"/></SystemCollectorId>\n"
        "<EventCollectorId Value=\"NoSuchCollector\"><EventProviders><EventProviderId Value=\"NoSuchProvider\"/></EventProviders></EventCollectorId>\n"
        "</Collectors></Profile>\n"
        "<Profile Id=\"Y.Verbose.File\" Name=\"Y\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"X.Verbose.File\"/>\n"
        "<Profile Id=\"Z.Verbose.File\" Name=\"Z\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\" Base=\"Builtin.Verbose.File\"/>\n"
        TAIL);
    dump_warnings(f);
    assert_true(has_warning(f, 0, "inherits from itself"));
    assert_true(has_warning(f, 8, "EventCollector \"NoSuchCollector\" is not defined"));
    assert_true(has_warning(f, 8, "EventProvider \"NoSuchProvider\" is not defined"));
    assert_true(has_warning(f, 11, "Base profile \"Builtin.Verbose.File\" is not in this file"));
    assert_false(has_warning(f, 0, "SystemCollector_WPRSystemCollectorInFile")); /* a WPR built-in */
    assert_int_equal(f->profiles->len, 3);
    const Profile *x = find(f, "X");
    assert_strv(x->system->keywords, "DPC Pool");
    profile_file_free(f);
}

/* ------------------------------------------------------------------ lenient parsing */

static void test_bom(void **state)
{
    (void)state;
    const char *xml = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<WindowsPerformanceRecorder Version=\"1.0\">\n<Profiles>\n"
                      "<EventCollector Id=\"EC\" Name=\"E\"/>\n<EventProvider Id=\"EP\" Name=\"*Caf\xC3\xA9Source\"/>\n"
                      "<Profile Id=\"B.Verbose.File\" Name=\"B\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\">"
                      "<Collectors><EventCollectorId Value=\"EC\"><EventProviders><EventProviderId Value=\"EP\"/>"
                      "</EventProviders></EventCollectorId></Collectors></Profile>\n" TAIL;
    ProfileFile *f = parse(xml);
    dump_warnings(f);
    assert_int_equal(f->warnings->len, 0);
    const Profile *p = find(f, "B");
    assert_int_equal(p->event_providers->len, 1);
    assert_string_equal(((ProfileEventProvider *)p->event_providers->pdata[0])->name, "*Caf\xC3\xA9Source");
    profile_file_free(f);
}

static void expect_error(const char *xml, size_t len, int code, const char *needle)
{
    GError *err = NULL;
    ProfileFile *f = profile_file_parse(xml, len, "bad.wprp", &err);
    assert_null(f);
    assert_non_null(err);
    assert_int_equal(err->code, code);
    if (!strstr(err->message, needle)) fail_msg("\"%s\" lacks \"%s\"", err->message, needle);
    assert_null(strchr(err->message, '\n'));
    g_error_free(err);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *unclosed = HEAD "<Profile Id=\"A.Verbose.File\">\n<Collectors>\n</Profile>\n" TAIL;
    expect_error(unclosed, strlen(unclosed), PROFILE_ERROR_XML, "bad.wprp:6: malformed XML");
    expect_error("", 0, PROFILE_ERROR_XML, "empty file");
    expect_error("  \n", 3, PROFILE_ERROR_XML, "empty file");
    expect_error("\xEF\xBB\xBF", 3, PROFILE_ERROR_XML, "empty file");
    const char *notwpr = "<?xml version=\"1.0\"?>\n<Foo/>\n";
    expect_error(notwpr, strlen(notwpr), PROFILE_ERROR_NOT_WPRP, "bad.wprp:2: not a WPR profile");
    const char *garbage = "\x00\x01\x02 not xml";
    expect_error(garbage, 10, PROFILE_ERROR_XML, "malformed XML");
    /* External entities are never loaded: the document is refused. */
    const char *ext = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n"
                      "<WindowsPerformanceRecorder Version=\"&e;\"/>\n";
    expect_error(ext, strlen(ext), PROFILE_ERROR_XML, "malformed XML");
    /* A missing file */
    GError *err = NULL;
    assert_null(profile_file_load("/nonexistent/x.wprp", &err));
    assert_int_equal(err->code, PROFILE_ERROR_READ);
    assert_non_null(strstr(err->message, "cannot read /nonexistent/x.wprp"));
    g_error_free(err);
}

static void test_unknown_names(void **state)
{
    (void)state;
    ProfileFile *f = parse(HEAD                                                         /* lines 1-3 */
        "<SystemCollector Id=\"SC\" Name=\"My Logger\" Colour=\"red\"/>\n"              /* 4 */
        "<SystemProvider Id=\"SP\"><Keywords>\n"                                        /* 5 */
        "  <Keyword Value=\"Driver\"/>\n"                                               /* 6 */
        "  <Keyword Value=\"Xyzzy\"/>\n"                                                /* 7 */
        "  <Keyword Value=\"VAMap\"/>\n"                                                /* 8 */
        "</Keywords><Stacks><Stack Value=\"PoolAlloc\"/></Stacks>\n"                    /* 9 */
        "<PoolTags><PoolTag Value=\"TooLong\"/><PoolTag Value=\"Ok\"/></PoolTags>\n"    /* 10 */
        "<Frobnicate/></SystemProvider>\n"                                              /* 11 */
        "<EventProvider Id=\"EP\" Name=\"x\" Level=\"300\"><Keywords><Keyword Value=\"zz\"/><Keyword Value=\"10\"/></Keywords></EventProvider>\n" /* 12 */
        "<Profile Id=\"U.Verbose.File\" Name=\"U\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\">\n" /* 13 */
        "<Collectors Operation=\"add\"><SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP\"/></SystemCollectorId></Collectors>\n" /* 14 */
        "<EventNameFilters/>\n"                                                         /* 15 */
        "</Profile>\n"                                                                  /* 16 */
        "<Profile Id=\"Wrong.Id\" Name=\"V\" Description=\"d\" DetailLevel=\"Heavy\" LoggingMode=\"File\"/>\n" /* 17 */
        TAIL);
    dump_warnings(f);
    assert_true(has_warning(f, 4, "unknown attribute Colour"));
    assert_true(has_warning(f, 4, "SystemCollector Name \"My Logger\""));
    assert_true(has_warning(f, 6, "unknown system keyword \"Driver\" (did you mean 'Drivers'?)"));
    assert_true(has_warning(f, 7, "unknown system keyword \"Xyzzy\" (ignored)"));
    assert_true(has_warning(f, 8, "\"VAMap\" is not in the published WPR schema"));
    assert_true(has_warning(f, 9, "unknown stack \"PoolAlloc\" (did you mean 'PoolAllocation'?)"));
    assert_true(has_warning(f, 10, "pool tag \"TooLong\""));
    assert_true(has_warning(f, 11, "unknown element <Frobnicate> in <SystemProvider>"));
    assert_true(has_warning(f, 12, "Level=\"300\""));
    assert_true(has_warning(f, 12, "\"zz\" is not a hexadecimal number"));
    assert_true(has_warning(f, 12, "\"10\" has no 0x prefix"));
    assert_true(has_warning(f, 14, "did you mean 'Add'"));
    assert_true(has_warning(f, 15, "<EventNameFilters> is newer than the published WPR schema"));
    assert_true(has_warning(f, 17, "DetailLevel=\"Heavy\""));
    assert_true(has_warning(f, 17, "should be Name.DetailLevel.LoggingMode"));
    /* warnings come in line order */
    for (guint i = 1; i < f->warnings->len; i++)
        assert_true(((ProfileWarning *)f->warnings->pdata[i - 1])->line <= ((ProfileWarning *)f->warnings->pdata[i])->line);
    const Profile *p = find(f, "U");
    assert_strv(p->system->keywords, "VAMap");
    assert_strv(p->system->pool_tags, "Ok");
    assert_strv(p->system->stacks, "");
    profile_file_free(f);
}

static void test_find(void **state)
{
    (void)state;
    ProfileFile *f = parse(HEAD
        "<Profile Id=\"Teams.General.Verbose.File\" Name=\"Teams.General\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\"/>\n"
        "<Profile Id=\"Teams.General.Verbose.Memory\" Name=\"Teams.General\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"Memory\"/>\n"
        "<Profile Id=\"Teams.General.Light.File\" Name=\"Teams.General\" Description=\"d\" DetailLevel=\"Light\" LoggingMode=\"File\"/>\n"
        TAIL);
    assert_string_equal(find(f, "Teams.General")->id, "Teams.General.Verbose.Memory");
    assert_string_equal(find(f, "Teams.General.Verbose")->id, "Teams.General.Verbose.Memory");
    assert_string_equal(find(f, "Teams.General.Light")->id, "Teams.General.Light.File");
    assert_string_equal(find(f, "Teams.General.Verbose.File")->id, "Teams.General.Verbose.File");
    assert_string_equal(find(f, "teams.general.verbose.file")->id, "Teams.General.Verbose.File");
    assert_string_equal(find(f, NULL)->id, "Teams.General.Verbose.Memory");
    GError *err = NULL;
    assert_null(profile_file_find(f, "Other", &err));
    assert_non_null(strstr(err->message, "has no profile \"Other\""));
    g_error_free(err);
    profile_file_free(f);

    char *path, *prof;
    profile_split_spec("dir/x.wprp!Pool.Light", &path, &prof);
    assert_string_equal(path, "dir/x.wprp");
    assert_string_equal(prof, "Pool.Light");
    g_free(path);
    g_free(prof);
    profile_split_spec("x.wprp", &path, &prof);
    assert_string_equal(path, "x.wprp");
    assert_null(prof);
    g_free(path);
}

/* ------------------------------------------------------------------ selection */

static void test_eventsource_guid(void **state)
{
    (void)state;
    /* Known EventSource GUIDs (etl/names.c has them from the PerfView baselines; TplEventSource is
     * not one: it declares its GUID). */
    static const struct {
        const char *name, *guid;
    } cases[] = {
        { "Microsoft-AspNetCore-Hosting", "9e620d2a-55d4-5ade-deb7-c26046d245a8" },
        { "Microsoft-ApplicationInsights-Core", "74af9f20-af6a-5582-9382-f21f674fb271" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ProfileGuid g;
        char s[PROFILE_GUID_STRLEN];
        profile_eventsource_guid(cases[i].name, &g);
        profile_guid_format(&g, s);
        assert_string_equal(s, cases[i].guid);
    }
    ProfileGuid g;
    assert_true(profile_guid_parse("{A669021C-C450-4609-A035-5AF59AF4DF18}", &g));
    assert_int_equal(g.data1, 0xa669021c);
    assert_int_equal(g.data4[7], 0x18);
    assert_false(profile_guid_parse("a669021c-c450-4609-a035-5af59af4df1", &g));
    assert_false(profile_guid_parse("a669021c-c450-4609-a035x5af59af4df18", &g));
    assert_false(profile_guid_parse("{a669021c-c450-4609-a035-5af59af4df18", &g));
}

static uint32_t tag4(const char *t)
{
    return (uint32_t)(uint8_t)t[0] | (uint32_t)(uint8_t)t[1] << 8 | (uint32_t)(uint8_t)t[2] << 16 |
           (uint32_t)(uint8_t)t[3] << 24;
}

static void test_selection(void **state)
{
    (void)state;
    ProfileFile *f = parse(HEAD
        "<SystemCollector Id=\"SC\" Name=\"NT Kernel Logger\"/><EventCollector Id=\"EC\" Name=\"E\"/><EventCollector Id=\"EC2\" Name=\"E2\"/>\n"
        "<SystemProvider Id=\"SP\"><Keywords><Keyword Value=\"ProcessThread\"/><Keyword Value=\"Loader\"/><Keyword Value=\"Pool\"/></Keywords>\n"
        "<Stacks><Stack Value=\"PoolAllocation\"/></Stacks><Stacks Operation=\"Add\"><CustomStack Value=\"0x1C2A\"/></Stacks>\n"
        "<PoolTags><PoolTag Value=\"Leak\"/><PoolTag Value=\"Ab?d\"/><PoolTag Value=\"Nt*\"/><PoolTag Value=\"Irp\"/></PoolTags></SystemProvider>\n"
        "<EventProvider Id=\"EP1\" Name=\"Microsoft-Windows-Kernel-EventTracing\" Level=\"4\"><Keywords><Keyword Value=\"0x10\"/></Keywords></EventProvider>\n"
        "<EventProvider Id=\"EP2\" Name=\"22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716\" Stack=\"true\"/>\n"
        "<EventProvider Id=\"EP3\" Name=\"*Microsoft-AspNetCore-Hosting\" Level=\"5\"><Keywords><Keyword Value=\"0x2\"/></Keywords></EventProvider>\n"
        "<EventProvider Id=\"EP4\" Name=\"microsoft-windows-kernel-eventtracing\" Level=\"5\"><Keywords><Keyword Value=\"0x20\"/></Keywords></EventProvider>\n"
        "<Profile Id=\"S.Verbose.File\" Name=\"S\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\"><Collectors>\n"
        "<SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP\"/></SystemCollectorId>\n"
        "<EventCollectorId Value=\"EC\"><EventProviders><EventProviderId Value=\"EP1\"/><EventProviderId Value=\"EP2\"/><EventProviderId Value=\"EP3\"/></EventProviders></EventCollectorId>\n"
        "<EventCollectorId Value=\"EC2\"><EventProviders><EventProviderId Value=\"EP4\"/></EventProviders></EventCollectorId>\n"
        "</Collectors></Profile>\n" TAIL);
    const Profile *p = find(f, "S");
    ProfileSelection *s = profile_selection_new(p);
    assert_true(profile_selection_has_kernel(s));
    assert_true(profile_selection_kernel_keyword(s, "Pool"));
    assert_false(profile_selection_kernel_keyword(s, "DPC"));
    assert_true(profile_selection_kernel_event(s, 0x0E, 0x20));
    assert_true(profile_selection_kernel_event(s, 0x0E, 0x29)); /* pool rundown */
    assert_true(profile_selection_kernel_event(s, 0x03, 0x03)); /* Process DCStart */
    assert_true(profile_selection_kernel_event(s, 0x14, 0x0A)); /* Image Load */
    assert_true(profile_selection_kernel_event(s, 0x00, 0x00)); /* EventTrace header */
    assert_true(profile_selection_kernel_event(s, 0x18, 0x20)); /* StackWalk: stacks asked for */
    assert_false(profile_selection_kernel_event(s, 0x0F, 0x44)); /* DPC */
    assert_false(profile_selection_kernel_event(s, 0x05, 0x24)); /* CSwitch */
    assert_false(profile_selection_kernel_event(s, 0x1D, 0x01)); /* unmapped */

    assert_true(profile_selection_stack(s, 0x0E20));
    assert_true(profile_selection_stack(s, 0x1C2A));
    assert_false(profile_selection_stack(s, 0x0E22));

    size_t n;
    const char *const *tags = profile_selection_pool_tags(s, &n);
    assert_int_equal(n, 4);
    assert_string_equal(tags[0], "Leak");
    assert_true(profile_selection_pool_tag(s, tag4("Leak")));
    assert_true(profile_selection_pool_tag(s, tag4("Leak") | 0x80000000u)); /* protected bit */
    assert_false(profile_selection_pool_tag(s, tag4("leak")));              /* case-sensitive */
    assert_true(profile_selection_pool_tag(s, tag4("Abcd")));
    assert_true(profile_selection_pool_tag(s, tag4("AbXd")));
    assert_false(profile_selection_pool_tag(s, tag4("Abce")));
    assert_true(profile_selection_pool_tag(s, tag4("NtFs")));
    assert_true(profile_selection_pool_tag(s, tag4("Irp ")));               /* padded */
    assert_true(profile_selection_pool_tag(s, (uint32_t)'I' | 'r' << 8 | 'p' << 16));
    assert_false(profile_selection_pool_tag(s, tag4("IrpX")));
    assert_false(profile_selection_pool_tag(s, tag4("File")));

    ProfileGuid g;
    assert_true(profile_guid_parse("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", &g));
    const ProfileProviderSel *ps = profile_selection_provider(s, &g, NULL);
    assert_non_null(ps);
    assert_true(ps->stack);
    assert_int_equal(ps->keywords, 0);
    assert_int_equal(ps->level, 0xFF);
    assert_true(profile_provider_sel_passes(ps, 0x1234, 5));
    /* by name, merged with the second collector's entry: keywords ORed, highest level */
    ps = profile_selection_provider(s, NULL, "Microsoft-Windows-Kernel-EventTracing");
    assert_non_null(ps);
    assert_int_equal(ps->keywords, 0x30);
    assert_int_equal(ps->level, 5);
    assert_true(profile_provider_sel_passes(ps, 0x10, 4));
    assert_true(profile_provider_sel_passes(ps, 0, 4));
    assert_true(profile_provider_sel_passes(ps, 0x10, 0));
    assert_false(profile_provider_sel_passes(ps, 0x40, 4));
    assert_false(profile_provider_sel_passes(ps, 0x10, 6));
    assert_false(profile_provider_sel_passes(NULL, 0, 0));
    /* *EventSource: by its hashed GUID */
    assert_true(profile_guid_parse("9e620d2a-55d4-5ade-deb7-c26046d245a8", &g));
    ps = profile_selection_provider(s, &g, NULL);
    assert_non_null(ps);
    assert_int_equal(ps->keywords, 2);
    assert_true(profile_guid_parse("b675ec37-bdb6-4648-bc92-f3fdc74d3ca2", &g));
    assert_null(profile_selection_provider(s, &g, NULL));
    assert_non_null(profile_selection_provider(s, &g, "Microsoft-Windows-Kernel-EventTracing"));
    assert_null(profile_selection_provider(s, NULL, NULL));
    profile_selection_free(s);

    /* An empty profile selects nothing, every pool tag passes. */
    s = profile_selection_new(NULL);
    assert_false(profile_selection_has_kernel(s));
    assert_false(profile_selection_kernel_event(s, 0x0E, 0x20));
    assert_false(profile_selection_kernel_event(s, 0x00, 0x00));
    assert_true(profile_selection_pool_tag(s, tag4("Leak")));
    profile_selection_free(s);
    profile_file_free(f);
}

/* ------------------------------------------------------------------ did it record? */

static const ProfileFinding *finding(GPtrArray *a, const char *kind, const char *subject)
{
    for (guint i = 0; i < a->len; i++) {
        const ProfileFinding *x = a->pdata[i];
        if (!strcmp(x->kind, kind) && (!subject || (x->subject && !strcmp(x->subject, subject)))) return x;
    }
    return NULL;
}

static void test_compare(void **state)
{
    (void)state;
    ProfileFile *f = parse(HEAD
        "<SystemCollector Id=\"SC\" Name=\"NT Kernel Logger\"><BufferSize Value=\"1024\"/><Buffers Value=\"64\"/></SystemCollector><EventCollector Id=\"EC\" Name=\"E\"/>\n"
        "<SystemProvider Id=\"SP\"><Keywords><Keyword Value=\"ProcessThread\"/><Keyword Value=\"Pool\"/><Keyword Value=\"DPC\"/></Keywords>\n"
        "<Stacks><Stack Value=\"PoolAllocation\"/><Stack Value=\"PoolFree\"/></Stacks></SystemProvider>\n"
        "<EventProvider Id=\"EP\" Name=\"Microsoft-Windows-Kernel-EventTracing\" Stack=\"true\"/>\n"
        "<Profile Id=\"C.Verbose.File\" Name=\"C\" Description=\"d\" DetailLevel=\"Verbose\" LoggingMode=\"File\"><Collectors>\n"
        "<SystemCollectorId Value=\"SC\"><SystemProviderId Value=\"SP\"/></SystemCollectorId>\n"
        "<EventCollectorId Value=\"EC\"><EventProviders><EventProviderId Value=\"EP\"/></EventProviders></EventCollectorId>\n"
        "</Collectors></Profile>\n" TAIL);
    const Profile *p = find(f, "C");

    /* Pool allocations with stacks, frees without, no DPC events, a CSwitch the profile did not
     * ask for, lost events, the provider absent. */
    const ProfileSeenKernel k[] = {
        { 0x00, 0x00, 1, 0 }, { 0x03, 0x03, 40, 0 }, { 0x05, 0x03, 300, 0 }, { 0x0E, 0x20, 1000, 990 },
        { 0x0E, 0x22, 900, 0 }, { 0x05, 0x24, 50, 0 }, { 0x18, 0x20, 990, 0 },
    };
    ProfileTraceFacts t = { .kernel = k, .n_kernel = G_N_ELEMENTS(k), .events_lost = 12 };
    GPtrArray *fs = profile_compare(p, &t);
    for (guint i = 0; i < fs->len; i++) {
        const ProfileFinding *x = fs->pdata[i];
        printf("  %s %s: %s\n", profile_finding_level_name(x->level), x->kind, x->message);
    }
    assert_non_null(finding(fs, "missing-keyword", "DPC"));
    assert_null(finding(fs, "missing-keyword", "Pool"));
    assert_non_null(finding(fs, "no-stacks", "PoolFree"));
    assert_null(finding(fs, "no-stacks", "PoolAllocation"));
    assert_null(finding(fs, "partial-stacks", "PoolAllocation")); /* 99% is fine */
    assert_non_null(finding(fs, "lost-events", NULL));
    assert_non_null(strstr(finding(fs, "lost-events", NULL)->message, "1024 KB x 64 buffers"));
    assert_non_null(finding(fs, "missing-provider", "Microsoft-Windows-Kernel-EventTracing"));
    assert_non_null(finding(fs, "unrequested-events", NULL));
    assert_null(finding(fs, "ok", NULL));
    /* worst first */
    assert_int_equal(((ProfileFinding *)fs->pdata[0])->level, PROFILE_FINDING_PROBLEM);
    for (guint i = 1; i < fs->len; i++)
        assert_true(((ProfileFinding *)fs->pdata[i - 1])->level >= ((ProfileFinding *)fs->pdata[i])->level);
    g_ptr_array_unref(fs);

    /* Group masks from the trace: DPC not enabled. */
    t.have_group_masks = true;
    t.group_masks[0] = 0x3;
    t.group_masks[1] = 0x40;
    fs = profile_compare(p, &t);
    assert_non_null(finding(fs, "keyword-not-enabled", "DPC"));
    assert_null(finding(fs, "keyword-not-enabled", "Pool"));
    g_ptr_array_unref(fs);

    /* Everything there. */
    const ProfileSeenKernel k2[] = { { 0x03, 0x03, 40, 0 }, { 0x0E, 0x20, 10, 10 }, { 0x0E, 0x22, 10, 10 }, { 0x0F, 0x44, 5, 0 } };
    ProfileSeenProvider pv = { .name = "Microsoft-Windows-Kernel-EventTracing", .count = 3, .with_stack = 3 };
    ProfileTraceFacts t2 = { .kernel = k2, .n_kernel = G_N_ELEMENTS(k2), .providers = &pv, .n_providers = 1 };
    fs = profile_compare(p, &t2);
    assert_int_equal(fs->len, 1);
    assert_string_equal(((ProfileFinding *)fs->pdata[0])->kind, "ok");
    g_ptr_array_unref(fs);

    /* No kernel events at all. */
    ProfileTraceFacts t3 = { .providers = &pv, .n_providers = 1 };
    fs = profile_compare(p, &t3);
    assert_non_null(finding(fs, "no-kernel-session", NULL));
    g_ptr_array_unref(fs);
    profile_file_free(f);
}

/* ------------------------------------------------------------------ shipped profiles */

static void test_shipped_profiles(void **state)
{
    (void)state;
    const char *root = g_getenv("ETLA_SOURCE_ROOT");
    if (!root) root = ".";
    char *dir = g_build_filename(root, "profiles", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    const char *shared = g_getenv("ETLA_SHARED_DIR");
    char *xsd = g_strdup_printf("%s/wprp/WPRControlProfiles.libxml2-patched.xsd", shared ? shared : ".");
    xmlSchemaPtr schema = NULL;
    if (g_file_test(xsd, G_FILE_TEST_IS_REGULAR)) {
        xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(xsd);
        schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
        assert_non_null(schema);
    } else {
        printf("SKIP: %s not found: shipped profiles not validated against the schema\n", xsd);
    }
    int n = 0;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".wprp")) continue;
        char *path = g_build_filename(dir, name, NULL);
        GError *err = NULL;
        ProfileFile *f = profile_file_load(path, &err);
        if (!f) fail_msg("%s", err->message);
        if (f->warnings->len) {
            dump_warnings(f);
            fail_msg("%s has warnings", name);
        }
        assert_true(f->profiles->len >= 1);
        for (guint i = 0; i < f->profiles->len; i++) {
            const Profile *p = f->profiles->pdata[i];
            assert_non_null(p->system_collector);
            assert_true(p->system->keywords->len >= 2);
            /* every keyword of ours has a known flag and an xperf name; every stack an xperf name */
            for (guint k = 0; k < p->system->keywords->len; k++) {
                const ProfileKeywordInfo *ki = profile_keyword_lookup(p->system->keywords->pdata[k]);
                assert_true(ki->perf_mask != 0);
                assert_non_null(ki->xperf);
            }
            for (guint k = 0; k < p->system->stacks->len; k++)
                assert_non_null(profile_stack_lookup(p->system->stacks->pdata[k])->xperf);
            /* the file names its own profile as wpr -start FILE!Name would */
            GError *e2 = NULL;
            assert_non_null(profile_file_find(f, p->name, &e2));
        }
        if (schema) {
            xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
            assert_non_null(doc);
            xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
            int rc = xmlSchemaValidateDoc(vc, doc);
            if (rc != 0) fail_msg("%s does not validate against the published schema", name);
            xmlSchemaFreeValidCtxt(vc);
            xmlFreeDoc(doc);
        }
        profile_file_free(f);
        g_free(path);
        n++;
    }
    assert_int_equal(n, 5);
    if (schema) xmlSchemaFree(schema);
    g_dir_close(d);
    g_free(dir);
    g_free(xsd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_kernel_events),
        cmocka_unit_test(test_schema_names),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_cycles_and_missing),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_eventsource_guid),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_shipped_profiles),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
