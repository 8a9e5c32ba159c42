/* test-names.c — provider/opcode names, kernel group GUIDs, TraceLogging names (etl/names.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "etl.h"
#include "kernel/kernel-private.h"

static EtlGuid G(const char *s)
{
    EtlGuid g;
    assert_true(etl_guid_parse(s, &g));
    return g;
}

static void assert_guid_is(const EtlGuid *g, const char *s)
{
    char buf[ETL_GUID_STRLEN];
    etl_guid_format(g, buf);
    assert_string_equal(buf, s);
}

/* ETL_CONTAINER.md §3.13, all 31 groups, with the task names etla reports. */
static const struct {
    const char *guid, *name;
} GROUPS[0x1F] = {
    { "68fdd900-4a3e-11d1-84f4-0000f80464e3", "EventTrace" },
    { "3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c", "DiskIo" },
    { "3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c", "PageFault" },
    { "3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c", "Process" },
    { "90cbdc39-4a3e-11d1-84f4-0000f80464e3", "FileIo" },
    { "3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c", "Thread" },
    { "9a280ac0-c8e0-11d1-84e2-00c04fb998a2", "TcpIp" },
    { "3282fc76-feed-498e-8aa7-e70f459d430e", "Job" },
    { "bf3a50c5-a9c9-4988-a005-2df0b7c80f80", "UdpIp" },
    { "ae53722e-c863-11d2-8659-00c04fa321a1", "Registry" },
    { "13976d09-a327-438c-950b-7f03192815c7", "DbgPrint" },
    { "01853a65-418f-4f36-aefc-dc0f1d2fd235", "SystemConfig" },
    { "99134383-5248-43fc-834b-529454e75df3", "Lbr" },
    { "42695762-ea50-497a-9068-5cbbb35e0b95", "Wnf" },
    { "0268a8b6-74fd-4302-9dd0-6e8f1795c0cf", "Pool" },
    { "ce1dbfb4-137e-4da6-87b0-3f59aa102cbc", "PerfInfo" },
    { "222962ab-6180-4b88-a825-346b75f2a24a", "Heap" },
    { "89497f50-effe-4440-8cf2-ce6b1cdcaca7", "Object" },
    { "e43445e0-0903-48c3-b878-ff0fccebdd04", "Power" },
    { "a9152f00-3f58-4bee-92a1-70c7d079d5dd", "ModBound" },
    { "2cb15d1d-5fc1-11d2-abe1-00a0c911f518", "Image" },
    { "b2d14872-7c5b-463d-8419-ee9bf7d23e04", "Dpc" },
    { "7687a439-f752-45b8-b741-321aec0f8df9", "CacheManager" },
    { "3ac66736-cc59-4cff-8115-8df50e39816b", "CritSec" },
    { "def2fe46-7bd6-4b80-bd94-f57fe20d0ce3", "StackWalk" },
    { "9aec974b-5b8e-4118-9b92-3186d8002ce5", "Ums" },
    { "45d8cccd-539f-4b72-a8b7-5c683142609a", "ALPC" },
    { "d837ca92-12b9-44a5-ad6a-3a65b3578aa8", "SplitIo" },
    { "c861d0e2-a2c1-4d36-9f9c-970bab943a12", "ThreadPool" },
    { "7f2a405c-69b5-4bf9-a1f5-30e8f1afab5e", "Hypervisor" },
    { "2ce9a149-effe-42f0-a635-a1d39e26c8f2", "HypervisorX" },
};

static void test_group_guids(void **state)
{
    (void)state;
    for (unsigned g = 0; g < 0x1F; g++) {
        const EtlGuid *p = etl_kernel_group_guid((uint8_t)g);
        assert_non_null(p);
        assert_guid_is(p, GROUPS[g].guid);
        EtlGuid any = etl_kernel_group_guid_any((uint8_t)g);
        assert_true(etl_guid_equal(&any, p));
        assert_string_equal(etl_provider_name(p), GROUPS[g].name);
        /* every group knows the common types */
        assert_non_null(etl_opcode_name(p, 1));
    }
    for (unsigned g = 0x1F; g < 0x100; g++) {
        assert_null(etl_kernel_group_guid((uint8_t)g));
        EtlGuid any = etl_kernel_group_guid_any((uint8_t)g);
        char want[ETL_GUID_STRLEN];
        snprintf(want, sizeof want, "00000000-0000-0000-0000-0000000000%02x", g);
        assert_guid_is(&any, want);
        assert_null(etl_provider_name(&any));
        assert_null(etl_opcode_name(&any, 1));
    }
}

static void test_constants(void **state)
{
    (void)state;
    assert_guid_is(&ETL_GUID_EVENTTRACE, "68fdd900-4a3e-11d1-84f4-0000f80464e3");
    assert_guid_is(&ETL_GUID_IMAGE, "2cb15d1d-5fc1-11d2-abe1-00a0c911f518");
    assert_guid_is(&ETL_GUID_KTC_IMAGEID, "b3e675d7-2554-4f18-830b-2762732560de");
    assert_guid_is(&ETL_GUID_KTC_EVENTMETADATA, "bbccf6c1-6cd1-48c4-80ff-839482e37671");
    assert_guid_is(&ETL_GUID_SYSCONFIGEX, "9b79ee91-b5fd-41c0-a243-4248e266e9d0");
    assert_true(etl_guid_equal(etl_kernel_group_guid(ETL_GROUP_IMAGE), &ETL_GUID_IMAGE));
    assert_true(etl_guid_equal(etl_kernel_group_guid(ETL_GROUP_HEADER), &ETL_GUID_EVENTTRACE));
    assert_true(etl_names_tables_sorted());
}

static void test_opcode_names(void **state)
{
    (void)state;
    static const struct {
        uint8_t group, opcode;
        const char *name;
    } K[] = {
        { 0x00, 0, "Header" }, { 0x00, 5, "Extension" }, { 0x00, 8, "RundownComplete" },
        { 0x00, 32, "EndExtension" }, { 0x00, 80, "PartitionInfoExtension" },
        { 0x01, 10, "Read" }, { 0x01, 11, "Write" }, { 0x01, 12, "ReadInit" },
        { 0x01, 13, "WriteInit" }, { 0x01, 14, "FlushBuffers" }, { 0x01, 15, "FlushInit" },
        { 0x02, 32, "HardFault" },
        { 0x03, 1, "Start" }, { 0x03, 2, "End" }, { 0x03, 3, "DCStart" }, { 0x03, 4, "DCEnd" },
        { 0x03, 32, "PerfCtr" }, { 0x03, 33, "PerfCtrRundown" }, { 0x03, 39, "Defunct" },
        { 0x03, 11, "Terminate" },
        { 0x04, 0, "Name" }, { 0x04, 36, "FileRundown" },
        { 0x05, 1, "Start" }, { 0x05, 36, "CSwitch" }, { 0x05, 50, "ReadyThread" },
        { 0x05, 72, "SetName" },
        { 0x06, 26, "SendIPV6" }, { 0x06, 27, "RecvIPV6" }, { 0x06, 29, "DisconnectIPV6" },
        { 0x06, 31, "AcceptIPV6" }, { 0x06, 34, "TCPCopyIPV6" },
        { 0x08, 10, "Send" }, { 0x08, 11, "Recv" }, { 0x08, 26, "SendIPV6" },
        { 0x08, 27, "RecvIPV6" },
        { 0x0B, 10, "CPU" }, { 0x0B, 15, "Services" }, { 0x0B, 17, "Network" },
        { 0x0B, 21, "IRQ" }, { 0x0B, 22, "PnP" }, { 0x0B, 23, "IDEChannel" },
        { 0x0B, 25, "Platform" },
        { 0x0E, 32, "PoolAlloc" }, { 0x0E, 33, "PoolAllocSession" }, { 0x0E, 34, "PoolFree" },
        { 0x0E, 35, "PoolFreeSession" }, { 0x0E, 47, "SessionBigPoolSnapDCEnd" },
        { 0x0F, 46, "SampleProf" }, { 0x0F, 50, "ISR-MSI" }, { 0x0F, 66, "ThreadedDPC" },
        { 0x0F, 67, "ISR" }, { 0x0F, 68, "DPC" }, { 0x0F, 69, "TimerDPC" },
        { 0x0F, 73, "CollectionStart" }, { 0x0F, 74, "CollectionEnd" }, { 0x0F, 95, "ISR-PASS" },
        { 0x14, 2, "UnLoad" }, { 0x14, 3, "DCStart" }, { 0x14, 4, "DCEnd" }, { 0x14, 10, "Load" },
        { 0x14, 33, "KernelBase" }, { 0x14, 34, "HypercallPage" },
        { 0x18, 32, "Stack" }, { 0x18, 34, "KeyCreate" }, { 0x18, 35, "KeyDelete" },
        { 0x18, 36, "KeyRundown" }, { 0x18, 37, "StackKeyKernel" }, { 0x18, 38, "StackKeyUser" },
        /* common types fall back for groups without their own name */
        { 0x07, 0, "Info" }, { 0x10, 3, "DCStart" }, { 0x0E, 4, "DCEnd" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(K); i++) {
        const char *n = etl_opcode_name(etl_kernel_group_guid(K[i].group), K[i].opcode);
        if (!n || strcmp(n, K[i].name) != 0)
            fail_msg("group 0x%02x opcode %u: got %s, want %s", K[i].group, K[i].opcode,
                     n ? n : "(null)", K[i].name);
    }
    /* 0x030A: the reader hands out the Image GUID with opcode 10 */
    assert_string_equal(etl_opcode_name(&ETL_GUID_IMAGE, 10), "Load");
    assert_null(etl_opcode_name(etl_kernel_group_guid(0x0F), 200));
    assert_null(etl_opcode_name(etl_kernel_group_guid(0x0F), 5));
    assert_null(etl_opcode_name(NULL, 1));
    assert_null(etl_provider_name(NULL));

    assert_string_equal(etl_provider_name(&ETL_GUID_KTC_IMAGEID), "KernelTraceControl/ImageID");
    static const struct { uint8_t op; const char *name; } ktc[] = {
        { 0, "ImageID" }, { 32, "None" }, { 36, "DbgID_RSDS" }, { 37, "DbgID_ILRSDS" },
        { 38, "DbgPPDB" }, { 40, "DbgDeterm" }, { 64, "FileVersion" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ktc); i++)
        assert_string_equal(etl_opcode_name(&ETL_GUID_KTC_IMAGEID, ktc[i].op), ktc[i].name);
    assert_null(etl_opcode_name(&ETL_GUID_KTC_IMAGEID, 1));   /* classic: no common types */
    assert_string_equal(etl_provider_name(&ETL_GUID_KTC_EVENTMETADATA), "KernelTraceControl/MetaData");
    assert_string_equal(etl_opcode_name(&ETL_GUID_KTC_EVENTMETADATA, 32), "EventInfo");
    assert_string_equal(etl_opcode_name(&ETL_GUID_KTC_EVENTMETADATA, 33), "EventMapInfo");
    assert_string_equal(etl_provider_name(&ETL_GUID_SYSCONFIGEX), "SysConfig");
    assert_string_equal(etl_opcode_name(&ETL_GUID_SYSCONFIGEX, 32), "BuildInfo");
    assert_string_equal(etl_opcode_name(&ETL_GUID_SYSCONFIGEX, 33), "SystemPaths");
    assert_string_equal(etl_opcode_name(&ETL_GUID_SYSCONFIGEX, 34), "UnknownVolume");
    assert_string_equal(etl_opcode_name(&ETL_GUID_SYSCONFIGEX, 35), "VolumeMapping");
    assert_null(etl_opcode_name(&ETL_GUID_SYSCONFIGEX, 37));
    EtlGuid winsat = G("ed54dff8-c409-4cf6-bf83-05e1e61a09c4");
    assert_string_equal(etl_provider_name(&winsat), "KernelTraceControl/WinSat");
    assert_string_equal(etl_opcode_name(&winsat, 33), "WinSPR");
    assert_string_equal(etl_opcode_name(&winsat, 35), "Metrics");
    assert_string_equal(etl_opcode_name(&winsat, 37), "SystemConfig");
    EtlGuid lost = G("6a399ae0-4bc6-4de9-870b-3657f8947e7e");
    assert_string_equal(etl_provider_name(&lost), "RT_LostEvent");
    assert_string_equal(etl_opcode_name(&lost, 32), "LostEvent");
}

static void test_provider_names(void **state)
{
    (void)state;
    /* each confirmed from ../shared/expected (recording log GUID + baseline event counts) */
    static const struct { const char *guid, *name; } P[] = {
        { "e13c0d23-ccbc-4e12-931b-d9cc2eee27e4", "Microsoft-Windows-DotNETRuntime" },
        { "a669021c-c450-4609-a035-5af59af4df18", "Microsoft-Windows-DotNETRuntimeRundown" },
        { "763fd754-7086-4dfe-95eb-c01a46faf4ca", "Microsoft-Windows-DotNETRuntimePrivate" },
        { "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", "Microsoft-Windows-Kernel-Process" },
        { "edd08927-9cc4-4e65-b970-c2560fb5c289", "Microsoft-Windows-Kernel-File" },
        { "b675ec37-bdb6-4648-bc92-f3fdc74d3ca2", "Microsoft-Windows-Kernel-EventTracing" },
        { "1c95126e-7eea-49a9-a3fe-a378b03ddb4d", "Microsoft-Windows-DNS-Client" },
        { "315a8872-923e-4ea2-9889-33cd4754bf64", "Microsoft-Windows-Immersive-Shell" },
        { "a8a71ac1-040f-54a2-07ca-00a89b5ab761", "PerfView" },
        { "8e9f5090-2d75-4d03-8a81-e5afbf85daf1", "System.Diagnostics.Eventing.FrameworkEventSource" },
        { "2e5dba47-a3d2-4d16-8ee0-6671ffdcd7b5", "System.Threading.Tasks.TplEventSource" },
        { "9e814aad-3204-11d2-9a82-006008a86939", "Windows Kernel" },
        { "28ad2447-105b-4fe2-9599-e59b2aa9a634", "KernelTraceControl" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(P); i++) {
        EtlGuid g = G(P[i].guid);
        const char *n = etl_provider_name(&g);
        assert_non_null(n);
        assert_string_equal(n, P[i].name);
        assert_null(etl_opcode_name(&g, 1));
    }
    EtlGuid unknown = G("e7ef96be-969f-414f-97d7-3ddb7b558ccc");
    assert_null(etl_provider_name(&unknown));
    EtlGuid zero;
    memset(&zero, 0, sizeof zero);
    assert_null(etl_provider_name(&zero));
}

/* ------------------------------------------------------------------------------------------
 * TraceLogging names from real ext items
 * ------------------------------------------------------------------------------------------ */
static void hexbytes(const char *hex, uint8_t *out, size_t *n)
{
    *n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[(*n)++] = (uint8_t)v;
    }
}

static EtlEvent tl_event(const uint8_t *traits, size_t ntraits, const uint8_t *schema,
                         size_t nschema)
{
    EtlEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ETL_HDR_EVENT;
    if (schema) {
        ev.ext[ev.n_ext].type = ETL_EXT_EVENT_SCHEMA_TL;
        ev.ext[ev.n_ext].size = (uint16_t)nschema;
        ev.ext[ev.n_ext].data = schema;
        ev.n_ext++;
    }
    if (traits) {
        ev.ext[ev.n_ext].type = ETL_EXT_PROV_TRAITS;
        ev.ext[ev.n_ext].size = (uint16_t)ntraits;
        ev.ext[ev.n_ext].data = traits;
        ev.n_ext++;
    }
    return ev;
}

static bool astr_is(EtlAStr a, const char *s)
{
    return a.len == strlen(s) && memcmp(a.p, s, a.len) == 0;
}

static void test_tracelogging(void **state)
{
    (void)state;
    uint8_t t[256], s[256];
    size_t nt, ns;

    /* win10-x64-tracelogging-primitives.etl, event at 0x2048: baseline
     * "solar_system/PrimitiveTypesTest" (the schema item is cut after the event name here) */
    hexbytes("0f00736f6c61725f73797374656d00", t, &nt);
    hexbytes("b600005072696d69746976655479706573546573740073747269", s, &ns);
    EtlEvent ev = tl_event(t, nt, s, ns);
    assert_true(astr_is(etl_event_tl_provider_name(&ev), "solar_system"));
    assert_true(astr_is(etl_event_tl_event_name(&ev), "PrimitiveTypesTest"));

    /* win10-x64-amsi-eventslost.etl, event at 0x10048: "AmsiTrace" / "AmsiScript" */
    hexbytes("0c00416d7369547261636500", t, &nt);
    hexbytes("2b0000416d736953637269707400456e67696e6500015363726970740001526177205363726970"
             "7400c602", s, &ns);
    ev = tl_event(t, nt, s, ns);
    assert_true(astr_is(etl_event_tl_provider_name(&ev), "AmsiTrace"));
    assert_true(astr_is(etl_event_tl_event_name(&ev), "AmsiScript"));

    /* win11-x64-selfdescribing-compressed.etl: "MySource" / "TestEvent" */
    hexbytes("0b004d79536f7572636500", t, &nt);
    hexbytes("170000546573744576656e740061009802620001630001", s, &ns);
    ev = tl_event(t, nt, s, ns);
    assert_true(astr_is(etl_event_tl_provider_name(&ev), "MySource"));
    assert_true(astr_is(etl_event_tl_event_name(&ev), "TestEvent"));

    /* multi-byte tags: 0x80 means another tag byte follows */
    hexbytes("0d008180024e616d6500", s, &ns);
    ev = tl_event(NULL, 0, s, ns);
    assert_true(astr_is(etl_event_tl_event_name(&ev), "Name"));
    assert_int_equal(etl_event_tl_provider_name(&ev).len, 0);

    /* bounded: the item's size wins over the u16 size inside, and vice versa */
    hexbytes("ff00414243", s, &ns);                  /* inner size 255, item 5 bytes */
    ev = tl_event(NULL, 0, s, ns);
    EtlAStr a = etl_event_tl_event_name(&ev);
    assert_int_equal(a.len, 2);                      /* tag 0x41, then "BC" unterminated */
    assert_true(a.p + a.len <= (const char *)s + ns);
    hexbytes("0500736f6c61725f73797374656d00", t, &nt);   /* inner size 5: "sol" */
    ev = tl_event(t, nt, NULL, 0);
    assert_true(astr_is(etl_event_tl_provider_name(&ev), "sol"));
    /* degenerate items */
    hexbytes("0200", t, &nt);
    hexbytes("030080", s, &ns);
    ev = tl_event(t, nt, s, ns);
    assert_int_equal(etl_event_tl_provider_name(&ev).len, 0);
    assert_int_equal(etl_event_tl_event_name(&ev).len, 0);
    ev = tl_event(NULL, 0, NULL, 0);
    assert_int_equal(etl_event_tl_provider_name(&ev).len, 0);
    assert_int_equal(etl_event_tl_event_name(&ev).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_guids),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_opcode_names),
        cmocka_unit_test(test_provider_names),
        cmocka_unit_test(test_tracelogging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
