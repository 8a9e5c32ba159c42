/* make-seeds.c — writes the seed corpora of the fuzz harnesses with the ETL writer, so that
 * the committed seeds are reproducible (tests/fuzz/README.md):
 *
 *     build/tests/fuzz/fuzz-make-seeds tests/fuzz/corpus
 *
 * writes corpus/reader/seed-*.etl (tiny traces with 8 KiB buffers: every header kind, 32- and
 * 64-bit, compressed, circular, Windows 7 buffer contexts, header quirk, stack keys, extended
 * item stacks, WPP, and every payload version etl/kernel/decode.c knows), corpus/kernel/
 * seed-* (one payload per decoder, version and pointer size, in fuzz-kernel's input layout),
 * corpus/event/seed-* (events regions cut from those traces, fuzz-event's layout) and
 * corpus/xpress/seed-* (compressed ETL buffers and hand-made streams using every length
 * encoding of MS-XCA).  Same program, same bytes.  Existing seed-* files are overwritten;
 * other files (crash-*, regression inputs, minimised finds) are left alone.
 */
#include "etl-writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define BUF 8192u
#define TS0 INT64_C(36000000000)

static const char *out_root;
static unsigned n_written;
static uint64_t bytes_written;

static void die(const char *what, GError *err)
{
    fprintf(stderr, "fuzz-make-seeds: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
    exit(1);
}

static void save(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char *d = g_build_filename(out_root, dir, NULL);
    if (g_mkdir_with_parents(d, 0777) != 0) die("cannot create the output directory", NULL);
    char *path = g_build_filename(d, name, NULL);
    GError *err = NULL;
    if (!g_file_set_contents(path, (const char *)data, (gssize)len, &err)) die(path, err);
    n_written++;
    bytes_written += len;
    g_free(path);
    g_free(d);
}

/* ------------------------------------------------------------------------ byte builder */

typedef struct {
    uint8_t b[4096];
    size_t  n;
} Bytes;

static void put8(Bytes *o, uint8_t v) { o->b[o->n++] = v; }
static void put16(Bytes *o, uint16_t v) { put8(o, (uint8_t)v); put8(o, (uint8_t)(v >> 8)); }
static void put32(Bytes *o, uint32_t v) { put16(o, (uint16_t)v); put16(o, (uint16_t)(v >> 16)); }
static void put64(Bytes *o, uint64_t v) { put32(o, (uint32_t)v); put32(o, (uint32_t)(v >> 32)); }
static void putptr(Bytes *o, uint64_t v, unsigned P) { if (P == 8) put64(o, v); else put32(o, (uint32_t)v); }
static void putzero(Bytes *o, size_t n) { memset(o->b + o->n, 0, n); o->n += n; }
static void putastr(Bytes *o, const char *s) { size_t l = strlen(s) + 1; memcpy(o->b + o->n, s, l); o->n += l; }
static void putwstr(Bytes *o, const char *s)
{
    for (; *s; s++) put16(o, (uint8_t)*s);
    put16(o, 0);
}
/* Fixed-size UTF-16 field (SystemConfig names). */
static void putwfixed(Bytes *o, const char *s, size_t chars)
{
    size_t start = o->n;
    for (; *s && (o->n - start) / 2 + 1 < chars; s++) put16(o, (uint8_t)*s);
    putzero(o, chars * 2 - (o->n - start));
}
static void putguid(Bytes *o, const EtlGuid *g)
{
    etl_guid_write(g, o->b + o->n);
    o->n += 16;
}

/* ------------------------------------------------------------------------ payloads */

typedef enum {
    B_POOL, B_POOL_OTHER, B_DPC, B_ISR1, B_ISR2, B_ISR_MSI, B_PROFILE1, B_PROFILE2,
    B_CSWITCH1, B_CSWITCH, B_THREAD0, B_THREAD1, B_THREAD1_END, B_THREAD2, B_THREAD3,
    B_THREAD3_NAME, B_THREAD4, B_READY, B_PROCESS, B_PROCESS_SID, B_IMAGE, B_STACK,
    B_KEY_REF, B_KEY_DEF, B_SYSCONFIG, B_HEADER_EXT, B_LOGFILE, B_IMAGE_ID, B_RSDS,
} Builder;

typedef struct {
    const char *name;
    EtlHeaderKind kind;     /* SYSTEM, COMPACT, PERFINFO or FULL (KernelTraceControl) */
    uint8_t group, opcode, version;
    Builder b;
} Spec;

/* One entry per decoder, opcode family and version known to etl/kernel/decode.c. */
static const Spec specs[] = {
    { "pool-alloc", ETL_HDR_PERFINFO, 0x0E, 0x20, 2, B_POOL },
    { "pool-alloc-session", ETL_HDR_PERFINFO, 0x0E, 0x21, 2, B_POOL },
    { "pool-free", ETL_HDR_PERFINFO, 0x0E, 0x22, 2, B_POOL },
    { "pool-free-session", ETL_HDR_SYSTEM, 0x0E, 0x23, 2, B_POOL },
    { "pool-alloc-v3", ETL_HDR_SYSTEM, 0x0E, 0x20, 3, B_POOL },
    { "pool-snapshot", ETL_HDR_PERFINFO, 0x0E, 0x24, 2, B_POOL_OTHER },
    { "dpc-v1", ETL_HDR_PERFINFO, 0x0F, 0x44, 1, B_DPC },
    { "dpc-v2", ETL_HDR_PERFINFO, 0x0F, 0x44, 2, B_DPC },
    { "timer-dpc", ETL_HDR_PERFINFO, 0x0F, 0x45, 2, B_DPC },
    { "threaded-dpc", ETL_HDR_PERFINFO, 0x0F, 0x42, 2, B_DPC },
    { "isr-v1", ETL_HDR_PERFINFO, 0x0F, 0x43, 1, B_ISR1 },
    { "isr-v2", ETL_HDR_PERFINFO, 0x0F, 0x43, 2, B_ISR2 },
    { "isr-pass", ETL_HDR_PERFINFO, 0x0F, 0x5F, 2, B_ISR2 },
    { "isr-msi", ETL_HDR_PERFINFO, 0x0F, 0x32, 2, B_ISR_MSI },
    { "profile-v1", ETL_HDR_PERFINFO, 0x0F, 0x2E, 1, B_PROFILE1 },
    { "profile-v2", ETL_HDR_PERFINFO, 0x0F, 0x2E, 2, B_PROFILE2 },
    { "cswitch-v1", ETL_HDR_PERFINFO, 0x05, 0x24, 1, B_CSWITCH1 },
    { "cswitch-v2", ETL_HDR_PERFINFO, 0x05, 0x24, 2, B_CSWITCH },
    { "cswitch-v3", ETL_HDR_PERFINFO, 0x05, 0x24, 3, B_CSWITCH },
    { "cswitch-v4", ETL_HDR_PERFINFO, 0x05, 0x24, 4, B_CSWITCH },
    { "ready-thread", ETL_HDR_PERFINFO, 0x05, 0x32, 2, B_READY },
    { "thread-v0", ETL_HDR_SYSTEM, 0x05, 0x01, 0, B_THREAD0 },
    { "thread-v1", ETL_HDR_SYSTEM, 0x05, 0x03, 1, B_THREAD1 },
    { "thread-v1-end", ETL_HDR_SYSTEM, 0x05, 0x02, 1, B_THREAD1_END },
    { "thread-v2", ETL_HDR_SYSTEM, 0x05, 0x01, 2, B_THREAD2 },
    { "thread-v3", ETL_HDR_SYSTEM, 0x05, 0x03, 3, B_THREAD3 },
    { "thread-v3-name", ETL_HDR_SYSTEM, 0x05, 0x04, 3, B_THREAD3_NAME },
    { "thread-v4", ETL_HDR_COMPACT, 0x05, 0x01, 4, B_THREAD4 },
    { "process-v0", ETL_HDR_SYSTEM, 0x03, 0x01, 0, B_PROCESS },
    { "process-v1", ETL_HDR_SYSTEM, 0x03, 0x02, 1, B_PROCESS_SID },
    { "process-v2", ETL_HDR_SYSTEM, 0x03, 0x03, 2, B_PROCESS },
    { "process-v3", ETL_HDR_SYSTEM, 0x03, 0x04, 3, B_PROCESS_SID },
    { "process-v4", ETL_HDR_PERFINFO, 0x03, 0x03, 4, B_PROCESS_SID },
    { "process-v4-nosid", ETL_HDR_SYSTEM, 0x03, 0x01, 4, B_PROCESS },
    { "process-v5", ETL_HDR_SYSTEM, 0x03, 0x27, 5, B_PROCESS_SID },
    { "image-v0", ETL_HDR_SYSTEM, 0x14, 0x0A, 0, B_IMAGE },
    { "image-v1", ETL_HDR_SYSTEM, 0x14, 0x02, 1, B_IMAGE },
    { "image-v2", ETL_HDR_SYSTEM, 0x14, 0x03, 2, B_IMAGE },
    { "image-v3", ETL_HDR_SYSTEM, 0x14, 0x04, 3, B_IMAGE },
    { "image-load-030a", ETL_HDR_SYSTEM, 0x03, 0x0A, 3, B_IMAGE },
    { "image-1401", ETL_HDR_SYSTEM, 0x14, 0x01, 2, B_IMAGE },
    { "stack", ETL_HDR_PERFINFO, 0x18, 0x20, 2, B_STACK },
    { "stack-key-kernel", ETL_HDR_PERFINFO, 0x18, 0x25, 2, B_KEY_REF },
    { "stack-key-user", ETL_HDR_PERFINFO, 0x18, 0x26, 2, B_KEY_REF },
    { "stack-key-create", ETL_HDR_PERFINFO, 0x18, 0x22, 2, B_KEY_DEF },
    { "stack-key-delete", ETL_HDR_PERFINFO, 0x18, 0x23, 2, B_KEY_DEF },
    { "stack-key-rundown", ETL_HDR_PERFINFO, 0x18, 0x24, 2, B_KEY_DEF },
    { "sysconfig-cpu-v0", ETL_HDR_SYSTEM, 0x0B, 0x0A, 0, B_SYSCONFIG },
    { "sysconfig-cpu-v1", ETL_HDR_SYSTEM, 0x0B, 0x0A, 1, B_SYSCONFIG },
    { "sysconfig-cpu-v2", ETL_HDR_SYSTEM, 0x0B, 0x0A, 2, B_SYSCONFIG },
    { "sysconfig-cpu-v3", ETL_HDR_SYSTEM, 0x0B, 0x0A, 3, B_SYSCONFIG },
    { "header-extension-v0", ETL_HDR_SYSTEM, 0x00, 0x05, 0, B_HEADER_EXT },
    { "header-extension-v1", ETL_HDR_SYSTEM, 0x00, 0x05, 1, B_HEADER_EXT },
    { "header-end-extension-v2", ETL_HDR_SYSTEM, 0x00, 0x20, 2, B_HEADER_EXT },
    { "logfile-header", ETL_HDR_SYSTEM, 0x00, 0x00, 2, B_LOGFILE },
    { "ktc-imageid", ETL_HDR_FULL, 0, 0x00, 2, B_IMAGE_ID },
    { "ktc-dbgid-rsds", ETL_HDR_FULL, 0, 0x24, 2, B_RSDS },
    { "ktc-dbgid-ilrsds", ETL_HDR_FULL, 0, 0x25, 2, B_RSDS },
};

static const EtlGuid PDB_GUID = { 0xfbf6de70, 0xedbc, 0x4fb6, { 0xce, 0xdb, 0x7e, 0x70, 0xf3, 0xfb, 0x5a, 0x00 } };

static void put_sid(Bytes *o, unsigned P, bool with_sid)
{
    if (!with_sid) {
        put32(o, 0);
        return;
    }
    /* TOKEN_USER (Sid pointer + Attributes, 2P bytes), then S-1-5-21-…-1001 */
    putptr(o, UINT64_C(0xffffc38a15d2e9a0), P);
    put32(o, 0);
    if (P == 8) put32(o, 0);
    put8(o, 1);
    put8(o, 5);
    put8(o, 0); put8(o, 0); put8(o, 0); put8(o, 0); put8(o, 0); put8(o, 5);
    put32(o, 21);
    put32(o, 1177238915);
    put32(o, 1060284298);
    put32(o, 682003330);
    put32(o, 1001);
}

static void build(const Spec *s, unsigned P, int64_t ts, Bytes *o)
{
    o->n = 0;
    unsigned v = s->version;
    switch (s->b) {
    case B_POOL:
        put32(o, 512);
        put32(o, 0x6b61654c); /* "Leak" */
        putptr(o, 0x230, P);
        putptr(o, P == 8 ? UINT64_C(0xffffc38a12001010) : 0x8a121010u, P);
        if (s->opcode & 1) put32(o, 1);
        return;
    case B_POOL_OTHER:
        put32(o, 1);
        put32(o, 0x20206f4e);
        putptr(o, 0x1000, P);
        putptr(o, 0x40, P);
        return;
    case B_DPC:
        put64(o, (uint64_t)(ts - 1200));
        putptr(o, P == 8 ? UINT64_C(0xfffff8026d202c40) : 0x8d202c40u, P);
        return;
    case B_ISR1:
    case B_ISR2:
    case B_ISR_MSI:
        put64(o, (uint64_t)(ts - 40));
        putptr(o, P == 8 ? UINT64_C(0xfffff80271a41010) : 0x91a41010u, P);
        if (s->b == B_ISR1) {
            put32(o, 1);
            return;
        }
        put8(o, 1);
        put8(o, 0xc1);
        put16(o, 0);
        if (s->b == B_ISR_MSI) put32(o, 3);
        return;
    case B_PROFILE1:
    case B_PROFILE2:
        putptr(o, P == 8 ? UINT64_C(0xfffff8026a6f1a20) : 0x8a6f1a20u, P);
        put32(o, 1288);
        put16(o, 1);
        if (s->b == B_PROFILE2) put16(o, 0x71);
        return;
    case B_CSWITCH1:
    case B_CSWITCH:
        put32(o, 1300);
        put32(o, 0);
        put8(o, 9); put8(o, 0); put8(o, 1); put8(o, 0);
        put8(o, 6); put8(o, 1); put8(o, 5); put8(o, 2);
        if (s->b == B_CSWITCH) {
            put32(o, 15);
            put32(o, 0);
        }
        return;
    case B_THREAD0:
        put32(o, 1300);
        put32(o, 1024);
        return;
    case B_THREAD1_END:
        put32(o, 1024);
        put32(o, 1300);
        return;
    case B_THREAD1:
    case B_THREAD2:
    case B_THREAD3:
    case B_THREAD3_NAME:
    case B_THREAD4:
        put32(o, 1024);
        put32(o, 1300);
        putptr(o, UINT64_C(0xffffa18c40a06000), P);
        putptr(o, UINT64_C(0xffffa18c40a00000), P);
        putptr(o, 0x7ff7a000, P);
        putptr(o, 0x7ff70000, P);
        putptr(o, s->b >= B_THREAD3 ? 0xf : UINT64_C(0xfffff8026a6b8c10), P);
        putptr(o, 0x7ffb12341000, P);
        if (s->b == B_THREAD1) {
            put8(o, 1);   /* WaitMode */
            putzero(o, 3);
            return;
        }
        putptr(o, 0x7ff5ff000, P);
        put32(o, 0);
        if (s->b == B_THREAD2) return;
        put8(o, 8); put8(o, 5); put8(o, 2); put8(o, 0);
        if (s->b != B_THREAD3) putwstr(o, "etla worker");
        return;
    case B_READY:
        put32(o, 1300);
        put8(o, 1); put8(o, 2); put8(o, 0); put8(o, 0);
        return;
    case B_PROCESS:
    case B_PROCESS_SID: {
        bool sid = s->b == B_PROCESS_SID;
        if (v == 0) {
            putptr(o, 4412, P);
            putptr(o, 700, P);
        } else {
            putptr(o, v == 1 ? 0x1aa000 : UINT64_C(0xffffc38a15e4c080), P);
            put32(o, 4412);
            put32(o, 700);
            put32(o, 1);
            put32(o, v == 2 ? 259 : 0);
            if (v >= 3) putptr(o, 0x1aa002, P);
            if (v >= 4) put32(o, 0);
        }
        put_sid(o, P, sid);
        putastr(o, "explorer.exe");
        if (v >= 2) putwstr(o, "C:\\Windows\\explorer.exe /factory");
        if (v >= 4) {
            putwstr(o, "");
            putwstr(o, "");
        }
        if (v >= 5) put64(o, UINT64_C(133497864200000000));
        return;
    }
    case B_IMAGE:
        putptr(o, P == 8 ? UINT64_C(0xfffff8026d200000) : 0x8d200000u, P);
        if (v == 0) {
            put32(o, 0x16c000);
        } else {
            putptr(o, 0x16c000, P);
            put32(o, 0);
        }
        if (v >= 2) {
            put32(o, 0x170a5d);
            put32(o, 0x5f1a2b3c);
            if (v >= 3) { put8(o, 12); put8(o, 1); put16(o, 0); }
            else put32(o, 0);
            putptr(o, P == 8 ? UINT64_C(0xfffff8026d200000) : 0x8d200000u, P);
            putzero(o, 16);
        }
        putwstr(o, "\\SystemRoot\\System32\\drivers\\ndis.sys");
        return;
    case B_STACK:
        put64(o, (uint64_t)(ts - 2));
        put32(o, 4);
        put32(o, 1300);
        for (unsigned i = 0; i < 5; i++) putptr(o, UINT64_C(0xfffff8026a6f1a20) + 0x100 * i, P);
        return;
    case B_KEY_REF:
        put64(o, (uint64_t)(ts - 2));
        put32(o, 4);
        put32(o, 1300);
        putptr(o, UINT64_C(0xffffc38a1000a7c0), P);
        return;
    case B_KEY_DEF:
        putptr(o, UINT64_C(0xffffc38a1000a7c0), P);
        for (unsigned i = 0; i < 4; i++) putptr(o, UINT64_C(0xfffff80271a21a40) + 0x10 * i, P);
        return;
    case B_SYSCONFIG:
        put32(o, 2995);
        put32(o, 4);
        put32(o, 16384);
        put32(o, 4096);
        put32(o, 65536);
        putwfixed(o, "ETLA-TEST", 256);
        putwfixed(o, "WORKGROUP", v <= 1 ? 132 : 134);
        putptr(o, 1, P);
        if (v == 3) {
            putptr(o, UINT64_C(0x7ffffffeffff), P);
            put16(o, 9);
            put16(o, 6);
            put16(o, 0x9e0a);
            put8(o, 1);
            put8(o, 1);
            put32(o, 2666);
        }
        return;
    case B_HEADER_EXT:
        for (unsigned i = 0; i < 8; i++) put32(o, i == 0 ? 0x00000207u : i == 3 ? 0x00200000u : 0);
        if (v == 2) put32(o, 0x46);
        return;
    case B_LOGFILE:
        put32(o, BUF);
        put8(o, 10); put8(o, 0); put8(o, 1); put8(o, 5);
        put32(o, 19041);
        put32(o, 1);
        put64(o, UINT64_C(133497864200000000));
        put32(o, 156250);
        put32(o, 0);
        put32(o, ETL_MODE_SEQUENTIAL | ETL_MODE_SYSTEM_LOGGER);
        put32(o, 2);
        put32(o, 0);
        put32(o, P);
        put32(o, 0);
        put32(o, 2995);
        putptr(o, 10, P);
        putptr(o, 7, P);
        put32(o, 0);
        putwfixed(o, "@tzres.dll,-932", 32);
        putzero(o, 172 - 4 - 64 + 4);
        put64(o, UINT64_C(133497828000000000));
        put64(o, 10000000);
        put64(o, UINT64_C(133497864000000000));
        put32(o, ETL_CLOCK_QPC);
        put32(o, 0);
        putwstr(o, "Relogger");
        putwstr(o, "C:\\etla\\merged.etl");
        return;
    case B_IMAGE_ID:
        putptr(o, P == 8 ? UINT64_C(0xfffff8026a400000) : 0x8a400000u, P);
        putptr(o, 0x1046000, P);
        put32(o, 0);
        put32(o, 0x5f1a2b3c);
        putwstr(o, "ntkrnlmp.exe");
        return;
    case B_RSDS:
        putptr(o, P == 8 ? UINT64_C(0xfffff8026a400000) : 0x8a400000u, P);
        put32(o, 0);
        putguid(o, &PDB_GUID);
        put32(o, 1);
        putastr(o, "ntkrnlmp.pdb");
        return;
    }
}

/* ------------------------------------------------------------------------ trace writing */

static EtlWriterConfig base_config(unsigned P)
{
    EtlWriterConfig c;
    etl_writer_config_init(&c);
    c.buffer_size = BUF;
    c.pointer_size = (uint8_t)P;
    c.cpus = 2;
    c.ts0 = TS0;
    c.logger_name = "NT Kernel Logger";
    c.log_file_name = "C:\\etla\\seed.etl";
    return c;
}

typedef struct {
    EtlWriter *w;
    unsigned   P;
    int64_t    ts;
    uint16_t   cpu;
} Out;

static Out out_new(const EtlWriterConfig *c)
{
    GError *err = NULL;
    Out o = { .w = etl_writer_new_memory(c, &err), .P = c->pointer_size, .ts = TS0 + 50 };
    if (!o.w) die("writer", err);
    return o;
}

static void out_save(Out *o, const char *name)
{
    GError *err = NULL;
    if (!etl_writer_finish(o->w, &err)) die("finish", err);
    size_t len;
    uint8_t *bytes = etl_writer_steal_memory(o->w, &len);
    char *fname = g_strdup_printf("seed-%s.etl", name);
    save("reader", fname, bytes, len);
    if (len > 32 * 1024) fprintf(stderr, "fuzz-make-seeds: note: %s is %zu bytes\n", fname, len);
    g_free(fname);
    g_free(bytes);
    etl_writer_free(o->w);
    o->w = NULL;
}

static EtlWriterKernelHeader writer_header(EtlHeaderKind k)
{
    return k == ETL_HDR_PERFINFO ? ETL_WRITER_PERFINFO : k == ETL_HDR_COMPACT ? ETL_WRITER_COMPACT : ETL_WRITER_SYSTEM;
}

/* Write one spec as an event (and a stack walk after pool events). */
static void write_spec(Out *o, const Spec *s)
{
    GError *err = NULL;
    Bytes b;
    o->ts += 137;
    build(s, o->P, o->ts, &b);
    bool ok;
    if (s->kind == ETL_HDR_FULL) {
        EtlWriterClassic c = { .cpu = o->cpu, .timestamp = o->ts, .tid = 4, .pid = 4,
                               .guid = ETL_GUID_KTC_IMAGEID, .type = s->opcode, .version = s->version };
        ok = etl_writer_classic(o->w, &c, b.b, b.n, &err);
    } else {
        EtlWriterKernel k = { .header = writer_header(s->kind), .group = s->group, .opcode = s->opcode,
                              .version = s->version, .cpu = o->cpu, .timestamp = o->ts, .tid = 1300, .pid = 1024 };
        ok = etl_writer_kernel(o->w, &k, b.b, b.n, &err);
        if (ok && s->group == 0x0E && s->opcode <= 0x23) {
            Bytes st;
            static const Spec stack = { "stack", ETL_HDR_PERFINFO, 0x18, 0x20, 2, B_STACK };
            build(&stack, o->P, o->ts + 2, &st);
            EtlWriterKernel sk = { .header = ETL_WRITER_PERFINFO, .group = 0x18, .opcode = 0x20, .version = 2,
                                   .cpu = o->cpu, .timestamp = o->ts + 2 };
            ok = etl_writer_kernel(o->w, &sk, st.b, st.n, &err);
        }
    }
    if (!ok) die(s->name, err);
}

static bool spec_in(const Spec *s, const char *const *prefixes)
{
    for (; *prefixes; prefixes++)
        if (g_str_has_prefix(s->name, *prefixes)) return true;
    return false;
}

/* A trace of the specs whose names start with one of prefixes, alternating CPUs. */
static void trace_of(const char *name, unsigned P, const char *const *prefixes, void (*tweak)(EtlWriterConfig *))
{
    EtlWriterConfig c = base_config(P);
    if (tweak) tweak(&c);
    Out o = out_new(&c);
    for (size_t i = 0; i < G_N_ELEMENTS(specs); i++) {
        if (!spec_in(&specs[i], prefixes)) continue;
        write_spec(&o, &specs[i]);
        o.cpu = (uint16_t)((o.cpu + 1) % c.cpus);
    }
    out_save(&o, name);
}

static void tweak_compress(EtlWriterConfig *c) { c->compress = true; }
static void tweak_win7(EtlWriterConfig *c)
{
    c->proc_index = false;
    c->header_quirk = true;
    c->os_major = 6;
    c->os_minor = 1;
    c->os_build = 7601;
}
static void tweak_stale(EtlWriterConfig *c)
{
    c->fill = ETL_WRITER_FILL_STALE;
    c->fill_seed = 7;
    c->partition_info = true;
    c->sequence_at_start = true;
}

/* Every header kind, PMC/PEBS extensions, classic and instance events, EVENT_HEADER with
 * every extended item type, WPP messages with a spread of option flags, obsolete headers. */
static void trace_headers(const char *name, unsigned P)
{
    EtlWriterConfig c = base_config(P);
    c.cpus = 1;
    Out o = out_new(&c);
    GError *err = NULL;
    Bytes b;
    bool ok = true;
    static const EtlGuid prov = { 0x2a9c1f5d, 0x04e1, 0x5d8b, { 0x9e, 0x6a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60 } };

    /* Kernel headers, both pointer sizes, with PMC counters and a PEBS index. */
    static const uint64_t pmc[7] = { 1111, 2222, 3333, 4444, 5555, 6666, 7777 };
    for (unsigned h = 0; h < 3 && ok; h++) {
        for (unsigned ps = 4; ps <= 8 && ok; ps += 4) {
            o.ts += 100;
            const Spec *s = &specs[0];
            build(s, ps, o.ts, &b);
            EtlWriterKernel k = { .header = (EtlWriterKernelHeader)h, .group = 0x0E, .opcode = 0x20, .version = 2,
                                  .pointer_size = (uint8_t)ps, .timestamp = o.ts, .tid = 1300, .pid = 4,
                                  .n_pmc = (uint8_t)(h * 3 + ps / 4 - 1), .pmc = pmc, .has_pebs = h == 2,
                                  .pebs_index = 77 };
            ok = etl_writer_kernel(o.w, &k, b.b, b.n, &err);
        }
    }
    /* Classic FULL and INSTANCE headers, 32- and 64-bit. */
    for (unsigned i = 0; i < 4 && ok; i++) {
        o.ts += 100;
        build(&specs[G_N_ELEMENTS(specs) - 3], i & 1 ? 8 : 4, o.ts, &b);
        EtlWriterClassic cl = { .pointer_size = i & 1 ? 8 : 4, .timestamp = o.ts, .tid = 8, .pid = 4,
                                .guid = i < 2 ? ETL_GUID_KTC_IMAGEID : prov, .type = 0, .version = 2,
                                .instance = i >= 2, .instance_id = 5, .parent_instance_id = 3, .parent_guid = prov };
        ok = etl_writer_classic(o.w, &cl, b.b, b.n, &err);
    }
    /* EVENT_HEADER: extended items of every type, split over events of at most 16 items. */
    uint8_t stack64[512], stack32[512], key64[64], key32[64], traits[64], schema[128], blob[16];
    static const uint64_t frames[3] = { UINT64_C(0xfffff8026a6f1a20), UINT64_C(0xfffff80271a21a40), 0x7ffb12345678 };
    static const char *const fnames[2] = { "Tag", "Bytes" };
    static const uint8_t in_types[2] = { 8, 10 };
    for (unsigned i = 0; i < 16; i++) blob[i] = (uint8_t)(0x10 + i);
    EtlWriterExt ext[18];
    unsigned n = 0;
    ext[n++] = (EtlWriterExt){ ETL_EXT_STACK_TRACE64, (uint16_t)etl_writer_ext_stack(stack64, sizeof stack64, 9, frames, 3, 8), stack64 };
    ext[n++] = (EtlWriterExt){ ETL_EXT_STACK_TRACE32, (uint16_t)etl_writer_ext_stack(stack32, sizeof stack32, 9, frames, 3, 4), stack32 };
    ext[n++] = (EtlWriterExt){ ETL_EXT_STACK_KEY64, (uint16_t)etl_writer_ext_stack_key(key64, sizeof key64, 9, 0xabcdef, 8), key64 };
    ext[n++] = (EtlWriterExt){ ETL_EXT_STACK_KEY32, (uint16_t)etl_writer_ext_stack_key(key32, sizeof key32, 9, 0xabcdef, 4), key32 };
    ext[n++] = (EtlWriterExt){ ETL_EXT_PROV_TRAITS, (uint16_t)etl_writer_ext_prov_traits(traits, sizeof traits, "Etla.Seed"), traits };
    ext[n++] = (EtlWriterExt){ ETL_EXT_EVENT_SCHEMA_TL,
                               (uint16_t)etl_writer_ext_schema_tl(schema, sizeof schema, "PoolRequest", fnames, in_types, 2), schema };
    ext[n++] = (EtlWriterExt){ ETL_EXT_RELATED_ACTIVITYID, 16, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_SID, 12, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_TS_ID, 4, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_INSTANCE_INFO, 16, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_PEBS_INDEX, 8, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_PMC_COUNTERS, 16, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_PSM_KEY, 8, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_EVENT_KEY, 8, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_PROCESS_START_KEY, 8, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_CONTROL_GUID, 16, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_QPC_DELTA, 8, blob };
    ext[n++] = (EtlWriterExt){ ETL_EXT_CONTAINER_ID, 16, blob };
    static const uint16_t evflags[4] = { 0, ETL_EVENT_FLAG_PRIVATE_SESSION, ETL_EVENT_FLAG_NO_CPUTIME | ETL_EVENT_FLAG_STRING_ONLY,
                                         ETL_EVENT_FLAG_TRACE_MESSAGE };
    for (unsigned i = 0; i < 4 && ok; i++) {
        o.ts += 100;
        uint32_t first = i == 0 ? 0 : i == 1 ? 6 : i == 2 ? 12 : 4;
        uint32_t cnt = i == 3 ? 2 : 6;
        uint8_t pl[12] = { 'L', 'e', 'a', 'k', 0x30, 0x02, 0, 0, 0, 0, 0, 0 };
        EtlWriterEvent e = { .pointer_size = i & 1 ? 4 : 8, .timestamp = o.ts, .tid = 1300, .pid = 1024,
                             .flags = evflags[i], .provider = prov, .id = (uint16_t)(10 + i), .version = 1,
                             .level = 4, .opcode = (uint8_t)i, .task = 7, .keyword = 0x8000000000000001ull,
                             .processor_time = 12345, .ext = ext + first, .n_ext = cnt };
        ok = etl_writer_event(o.w, &e, pl, i == 2 ? 0 : sizeof pl, &err);
    }
    /* WPP messages. */
    static const uint16_t mflags[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x08, 0x10, 0x18, 0x20,
                                       0x2B, 0x2D, 0x3F, 0x6B, 0xAB, 0xFF };
    for (unsigned i = 0; i < G_N_ELEMENTS(mflags) && ok; i++) {
        o.ts += 100;
        uint8_t args[12] = { 1, 0, 0, 0, 0x68, 0x69, 0, 0, 2, 0, 0, 0 };
        EtlWriterMessage m = { .message_number = (uint16_t)(20 + i), .flags = mflags[i], .sequence = i, .guid = prov,
                               .component_id = 3, .timestamp = o.ts, .tid = 1300, .pid = 1024 };
        ok = etl_writer_message(o.w, &m, args, i % 3 == 0 ? 0 : sizeof args, &err);
    }
    /* Obsolete sized headers: TIMED/ERROR/WNODE (0x0C-0x0E) and ULONG32_TIME (0xB0). */
    static const uint8_t other[4][4] = { { 0x18, 0, 0x0C, 0xC0 }, { 0x10, 0, 0x0D, 0xC0 }, { 0x20, 0, 0x0E, 0xC0 },
                                         { 0x18, 0, 0x00, 0xB0 } };
    for (unsigned i = 0; i < 4 && ok; i++) {
        uint8_t raw[32];
        memset(raw, 0x5A, sizeof raw);
        memcpy(raw, other[i], 4);
        o.ts += 100;
        ok = etl_writer_raw_event(o.w, 0, o.ts, raw, other[i][0], &err);
    }
    if (!ok) die(name, err);
    out_save(&o, name);
}

/* Many small events on several CPUs: several buffers, sequence numbers out of file order,
 * time inversions across CPUs, EVENTS_LOST flags; compressed or circular. */
static void trace_traffic(const char *name, unsigned P, bool compress, uint64_t circular, unsigned events)
{
    EtlWriterConfig c = base_config(P);
    c.cpus = compress || circular ? 3 : 2; /* 2: four buffers stay under the fuzzers' max_len */
    c.compress = compress;
    c.circular_max_bytes = circular;
    c.sequence_at_start = true;
    c.events_lost = 3;
    Out o = out_new(&c);
    GError *err = NULL;
    static const int dpc = 7, pool = 0, free_ = 2, cs = 19;
    for (unsigned i = 0; i < events; i++) {
        o.cpu = (uint16_t)(i % c.cpus);
        const Spec *s = &specs[i % 4 == 0 ? dpc : i % 4 == 1 ? pool : i % 4 == 2 ? free_ : cs];
        write_spec(&o, s);
        if (i % 97 == 50) o.ts -= 500; /* a time inversion */
        if (i == events / 2 && !etl_writer_flush_cpu(o.w, 1, ETL_BUFFER_FLAG_EVENTS_LOST, &err)) die(name, err);
    }
    out_save(&o, name);
}

static void trace_header_only(void)
{
    EtlWriterConfig c = base_config(8);
    Out o = out_new(&c);
    out_save(&o, "header-only");
}

static void trace_clock(const char *name, uint32_t clock, int64_t freq, uint32_t mhz)
{
    EtlWriterConfig c = base_config(8);
    c.clock_type = clock;
    c.perf_freq = freq;
    c.cpu_mhz = mhz;
    c.cpus = 1;
    c.tz_bias = -60;
    Out o = out_new(&c);
    for (unsigned i = 0; i < 6; i++) write_spec(&o, &specs[6 + i]);
    out_save(&o, name);
}

/* ------------------------------------------------------------------------ kernel / event seeds */

static void kernel_seeds(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(specs); i++) {
        const Spec *s = &specs[i];
        for (unsigned P = 4; P <= 8; P += 4) {
            Bytes b;
            build(s, P, TS0 + 1000, &b);
            uint8_t in[8 + sizeof b.b];
            in[0] = (uint8_t)s->kind;
            in[1] = s->group;
            in[2] = s->opcode;
            in[3] = s->version;
            in[4] = (uint8_t)((P == 8 ? 1 : 0) | (s->kind == ETL_HDR_FULL ? 2 : 0));
            memcpy(in + 5, b.b, b.n);
            char *name = g_strdup_printf("seed-%s-%u", s->name, P * 8);
            save("kernel", name, in, 5 + b.n);
            g_free(name);
        }
    }
    /* EVENT_HEADER: TraceLogging provider and event names as extended items. */
    Bytes e = { .n = 0 };
    put8(&e, ETL_HDR_EVENT); put8(&e, 0); put8(&e, 1); put8(&e, 1); put8(&e, 1);
    uint8_t traits[64], schema[128];
    static const char *const fnames[1] = { "Bytes" };
    static const uint8_t in_types[1] = { 10 };
    size_t tn = etl_writer_ext_prov_traits(traits, sizeof traits, "Etla.Seed");
    size_t sn = etl_writer_ext_schema_tl(schema, sizeof schema, "PoolRequest", fnames, in_types, 1);
    put16(&e, ETL_EXT_PROV_TRAITS); put16(&e, (uint16_t)tn); memcpy(e.b + e.n, traits, tn); e.n += tn;
    put16(&e, ETL_EXT_EVENT_SCHEMA_TL); put16(&e, (uint16_t)sn); memcpy(e.b + e.n, schema, sn); e.n += sn;
    put16(&e, ETL_EXT_STACK_TRACE64); put16(&e, 8); put64(&e, UINT64_C(0xfffff8026a6f1a20));
    save("kernel", "seed-event-tracelogging", e.b, e.n);
}

/* Events regions of the uncompressed data buffers of a trace, in fuzz-event's layout. */
static void event_seeds_from(const char *name, const uint8_t *f, size_t len, bool is64)
{
    unsigned k = 0;
    for (size_t off = BUF; off + BUF <= len; off += BUF) {
        uint32_t bsize = etl_rd32(f + off), saved = etl_rd32(f + off + 4);
        uint16_t flags = etl_rd16(f + off + 0x34);
        if (bsize != BUF || (flags & ETL_BUFFER_FLAG_COMPRESSED) || saved <= ETL_BUFFER_HEADER_SIZE || saved > BUF) continue;
        size_t n = saved - ETL_BUFFER_HEADER_SIZE;
        uint8_t *in = g_malloc(n + 1);
        in[0] = is64 ? 1 : 0;
        memcpy(in + 1, f + off + ETL_BUFFER_HEADER_SIZE, n);
        char *fname = g_strdup_printf("seed-%s-%u", name, k++);
        save("event", fname, in, n + 1);
        g_free(fname);
        g_free(in);
        if (k == 2) break;
    }
}

static uint8_t *read_seed(const char *name, size_t *len)
{
    char *path = g_strdup_printf("%s/reader/seed-%s.etl", out_root, name);
    gchar *data = NULL;
    gsize n = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &n, &err)) die(path, err);
    g_free(path);
    *len = n;
    return (uint8_t *)data;
}

/* ------------------------------------------------------------------------ xpress seeds */

/* A stream writer that chooses each item's encoding, so every MS-XCA length form appears. */
typedef struct {
    uint8_t b[8192];
    size_t  n, flag_pos, half;
    size_t  out;        /* bytes the stream decodes to so far */
    uint32_t flags;
    unsigned nflags;
} Xp;

static void xp_init(Xp *x)
{
    memset(x, 0, sizeof *x);
    x->n = 4;
    x->half = SIZE_MAX;
}

static void xp_w16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static void xp_w32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }

static void xp_item(Xp *x, bool match)
{
    x->flags = x->flags << 1 | (match ? 1u : 0u);
    if (++x->nflags == 32) {
        xp_w32(x->b + x->flag_pos, x->flags);
        x->flag_pos = x->n;
        x->n += 4;
        x->flags = 0;
        x->nflags = 0;
    }
}

static void xp_lit(Xp *x, const char *s)
{
    for (; *s; s++) {
        x->b[x->n++] = (uint8_t)*s;
        x->out++;
        xp_item(x, false);
    }
}

enum { XP_AUTO, XP_FORCE_U16, XP_FORCE_U32 };

static void xp_match(Xp *x, size_t off, size_t len, int form)
{
    size_t m = len - 3;
    if (m < 22) form = XP_AUTO;  /* a u16/u32 length below 22 is an error (MS-XCA) */
    x->out += len;
    uint16_t code = (uint16_t)((off - 1) << 3);
    if (m < 7 && form == XP_AUTO) {
        code |= (uint16_t)m;
        xp_w16(x->b + x->n, code);
        x->n += 2;
    } else {
        code |= 7;
        xp_w16(x->b + x->n, code);
        x->n += 2;
        size_t r = m >= 7 ? m - 7 : 0;
        unsigned nib = form != XP_AUTO || r >= 15 ? 15 : (unsigned)r;
        if (x->half == SIZE_MAX) {
            x->half = x->n;
            x->b[x->n++] = (uint8_t)nib;
        } else {
            x->b[x->half] |= (uint8_t)(nib << 4);
            x->half = SIZE_MAX;
        }
        if (nib == 15) {
            size_t r2 = r - 15;
            if (form == XP_AUTO && r2 < 255) {
                x->b[x->n++] = (uint8_t)r2;
            } else {
                x->b[x->n++] = 255;
                if (form == XP_FORCE_U32 || m > 0xFFFF) {
                    xp_w16(x->b + x->n, 0);
                    xp_w32(x->b + x->n + 2, (uint32_t)m);
                    x->n += 6;
                } else {
                    xp_w16(x->b + x->n, (uint16_t)m);
                    x->n += 2;
                }
            }
        }
    }
    xp_item(x, true);
}

static void xp_save(Xp *x, const char *name, bool end_marker)
{
    uint32_t f = x->nflags ? x->flags << (32 - x->nflags) : 0;
    if (end_marker) f |= x->nflags ? (1u << (32 - x->nflags)) - 1 : 0xffffffffu;
    xp_w32(x->b + x->flag_pos, f);
    char *fname = g_strdup_printf("seed-%s", name);
    save("xpress", fname, x->b, x->n);
    g_free(fname);
}

static void xpress_seeds(void)
{
    Xp x;
    /* Short: literals, every short length, overlapping offsets 1..9. */
    xp_init(&x);
    xp_lit(&x, "PoolAlloc Leak ");
    for (size_t off = 1; off <= 9; off++) xp_match(&x, off, 3 + off % 7, XP_AUTO);
    xp_save(&x, "short-matches", true);
    /* Every long-length form, nibble pairs sharing a byte, without and with end marker. */
    for (int marker = 0; marker < 2; marker++) {
        xp_init(&x);
        xp_lit(&x, "abcdefghijklmnopqrstuvwxyz0123456789");
        xp_match(&x, 26, 12, XP_AUTO);       /* nibble */
        xp_match(&x, 3, 20, XP_AUTO);        /* nibble, shares the byte */
        xp_match(&x, 1, 200, XP_AUTO);       /* u8 */
        xp_match(&x, 17, 1000, XP_AUTO);     /* u16 */
        xp_match(&x, 8, 70000, XP_AUTO);     /* u32 */
        xp_match(&x, 5, 40, XP_FORCE_U16);
        xp_match(&x, 2, 30, XP_FORCE_U32);
        xp_lit(&x, "end");
        xp_save(&x, marker ? "long-lengths-marker" : "long-lengths", marker != 0);
    }
    /* Errors: offset before the start; u16 length below its minimum; truncated escapes. */
    xp_init(&x);
    xp_lit(&x, "ab");
    xp_match(&x, 3, 4, XP_AUTO);
    xp_save(&x, "bad-offset", true);
    xp_init(&x);
    xp_lit(&x, "ab");
    {
        xp_w16(x.b + x.n, 7);
        x.b[x.n + 2] = 15;
        x.b[x.n + 3] = 255;
        xp_w16(x.b + x.n + 4, 5);
        x.n += 6;
        xp_item(&x, true);
    }
    xp_save(&x, "bad-length", true);
    xp_init(&x);
    xp_lit(&x, "xyz");
    xp_match(&x, 2, 5000, XP_FORCE_U32);
    x.n -= 3;                                /* cut inside the u32 */
    xp_save(&x, "truncated-escape", false);
    /* Long enough for the fast loop (>= 384 input bytes), matches of every offset class. */
    xp_init(&x);
    for (unsigned i = 0; i < 40; i++) {
        char lit[12];
        snprintf(lit, sizeof lit, "e%03u;", i * 7);
        xp_lit(&x, lit);
        xp_match(&x, MIN(1 + (i * 5) % 40, x.out), 3 + (i * 11) % 60, i % 9 == 0 ? XP_FORCE_U16 : XP_AUTO);
    }
    xp_match(&x, 4, 66000, XP_AUTO);
    xp_lit(&x, "tail of the stream, literals only, to finish");
    xp_save(&x, "fast-path", true);

    /* Compressed ETL buffers from the compressed seeds, and a plain buffer image for the round
     * trip (the harness compresses every input too). */
    const char *traces[] = { "traffic-compressed-64", "traffic-compressed-32" };
    for (size_t t = 0; t < G_N_ELEMENTS(traces); t++) {
        size_t len;
        uint8_t *f = read_seed(traces[t], &len);
        unsigned k = 0;
        size_t off = etl_rd32(f);          /* the header buffer is not compressed */
        if (off < 0x200) off = 0x200;
        /* compressed buffers: variable size, walk by BufferSize */
        while (off + ETL_BUFFER_HEADER_SIZE <= len && k < 2) {
            uint32_t bsize = etl_rd32(f + off);
            if (bsize < ETL_BUFFER_HEADER_SIZE || off + bsize > len) break;
            if (etl_rd16(f + off + 0x34) & ETL_BUFFER_FLAG_COMPRESSED) {
                char *name = g_strdup_printf("seed-etl-buffer-%s-%u", traces[t] + 19, k++);
                save("xpress", name, f + off + ETL_BUFFER_HEADER_SIZE, bsize - ETL_BUFFER_HEADER_SIZE);
                g_free(name);
            }
            off += bsize;
        }
        g_free(f);
    }
    size_t len;
    uint8_t *f = read_seed("pool-dpc-isr-64", &len);
    if (len >= 2 * BUF) save("xpress", "seed-plain-buffer", f + BUF + ETL_BUFFER_HEADER_SIZE, 3000);
    g_free(f);
}

/* ------------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "Usage: fuzz-make-seeds CORPUS-DIR   (e.g. tests/fuzz/corpus)\n");
        return 2;
    }
    out_root = argv[1];

    static const char *const hot[] = { "pool", "dpc", "timer", "threaded", "isr", "profile", "cswitch", "ready", "stack", NULL };
    static const char *const rundown[] = { "process", "thread", "image", "ktc", NULL };
    static const char *const config[] = { "sysconfig", "header", "logfile", NULL };
    for (unsigned P = 4; P <= 8; P += 4) {
        char name[64];
        snprintf(name, sizeof name, "pool-dpc-isr-%u", P * 8);
        trace_of(name, P, hot, NULL);
        snprintf(name, sizeof name, "rundown-%u", P * 8);
        trace_of(name, P, rundown, NULL);
        snprintf(name, sizeof name, "sysconfig-header-%u", P * 8);
        trace_of(name, P, config, NULL);
        snprintf(name, sizeof name, "headers-%u", P * 8);
        trace_headers(name, P);
        snprintf(name, sizeof name, "traffic-compressed-%u", P * 8);
        trace_traffic(name, P, true, 0, 400);
    }
    trace_of("rundown-compressed", 8, rundown, tweak_compress);
    trace_of("win7-no-proc-index-quirk", 8, hot, tweak_win7);
    trace_of("stale-fill-partition", 8, rundown, tweak_stale);
    trace_traffic("traffic-64", 8, false, 0, 150);
    trace_traffic("circular-64", 8, false, 3 * BUF, 500);
    trace_traffic("circular-32", 4, false, 3 * BUF, 600);
    trace_header_only();
    trace_clock("clock-system-time", ETL_CLOCK_SYSTEM_TIME, 0, 2995);
    trace_clock("clock-cpu-cycles", ETL_CLOCK_CPU_CYCLES, 0, 3400);
    trace_clock("clock-raw", ETL_CLOCK_RAW, 14318180, 2995);

    kernel_seeds();
    static const char *const ev_from[] = { "headers-64", "headers-32", "pool-dpc-isr-64", "rundown-32", "win7-no-proc-index-quirk" };
    for (size_t i = 0; i < G_N_ELEMENTS(ev_from); i++) {
        size_t len;
        uint8_t *f = read_seed(ev_from[i], &len);
        event_seeds_from(ev_from[i], f, len, !g_str_has_suffix(ev_from[i], "32"));
        g_free(f);
    }
    xpress_seeds();
    printf("fuzz-make-seeds: %u files, %" G_GUINT64_FORMAT " bytes under %s\n", n_written, bytes_written, out_root);
    return 0;
}
