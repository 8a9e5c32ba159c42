/* test-kernel.c — kernel payload decoders (etl/kernel/decode.c) and field emission (fields.c).
 *
 * Synthetic payloads are built field by field for both pointer sizes and every version; the
 * real payloads at the end were copied from the traces in ../shared/traces and are checked
 * against the values PerfView prints for the same events in ../shared/expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "etl.h"
#include "kernel/kernel-private.h"

/* ------------------------------------------------------------------------------------------
 * Builders
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    uint8_t b[2048];
    uint32_t n;
} Buf;

static void b8(Buf *b, uint8_t v) { b->b[b->n++] = v; }
static void b16(Buf *b, uint16_t v) { b8(b, v & 0xFF); b8(b, v >> 8); }
static void b32(Buf *b, uint32_t v) { b16(b, v & 0xFFFF); b16(b, v >> 16); }
static void b64(Buf *b, uint64_t v) { b32(b, (uint32_t)v); b32(b, (uint32_t)(v >> 32)); }
static void bptr(Buf *b, uint64_t v, unsigned P) { if (P == 8) b64(b, v); else b32(b, (uint32_t)v); }
static void bzero_(Buf *b, uint32_t n) { while (n--) b8(b, 0); }
static void bastr(Buf *b, const char *s) { while (*s) b8(b, (uint8_t)*s++); b8(b, 0); }
static void bwstr_noz(Buf *b, const char *s) { while (*s) b16(b, (uint8_t)*s++); }
static void bwstr(Buf *b, const char *s) { bwstr_noz(b, s); b16(b, 0); }
static void bhex(Buf *b, const char *hex)
{
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        b8(b, (uint8_t)v);
    }
}

static EtlEvent kev(EtlHeaderKind kind, uint8_t group, uint8_t opcode, uint16_t version,
                    unsigned P, const Buf *b)
{
    EtlEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.group = group;
    ev.opcode = opcode;
    ev.version = version;
    ev.pointer_size = (uint8_t)P;
    ev.provider = (group == 0x03 && opcode == 0x0A) ? ETL_GUID_IMAGE : etl_kernel_group_guid_any(group);
    ev.payload = b ? b->b : NULL;
    ev.payload_len = b ? b->n : 0;
    ev.tid = ev.pid = ETL_NO_ID;
    return ev;
}

static EtlEvent ktc(uint8_t opcode, uint16_t version, unsigned P, const Buf *b)
{
    EtlEvent ev = kev(ETL_HDR_FULL, 0, opcode, version, P, b);
    ev.group = 0;
    ev.provider = ETL_GUID_KTC_IMAGEID;
    return ev;
}

static EtlDecodeStatus dec(const EtlEvent *ev, EtlKernelEvent *k)
{
    memset(k, 0xA5, sizeof *k);   /* decoders must not rely on a zeroed output */
    return etl_kernel_decode(ev, k);
}

/* Every strictly shorter prefix of the payload must be TOO_SHORT. */
static void assert_prefixes_too_short(EtlEvent ev, uint32_t min)
{
    EtlKernelEvent k;
    for (uint32_t n = 0; n < min; n++) {
        ev.payload_len = n;
        EtlDecodeStatus st = dec(&ev, &k);
        if (st != ETL_DECODE_TOO_SHORT)
            fail_msg("length %u of minimum %u: status %d", n, min, st);
        assert_int_equal(k.kind, ETL_K_UNKNOWN);
    }
    ev.payload_len = min;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
}

static bool wstr_is(EtlWStr w, const char *s)
{
    size_t n = strlen(s);
    if (w.nbytes != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (etl_rd16(w.p + 2 * i) != (uint8_t)s[i])
            return false;
    return true;
}

static bool astr_is(EtlAStr a, const char *s)
{
    return a.len == strlen(s) && memcmp(a.p, s, a.len) == 0;
}

static const unsigned PSIZES[2] = { 4, 8 };

/* ------------------------------------------------------------------------------------------
 * Pool
 * ------------------------------------------------------------------------------------------ */
static void test_pool(void **state)
{
    (void)state;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        for (uint8_t op = 0x20; op <= 0x23; op++) {
            bool session = op & 1, is_free = op & 2;
            Buf b = { .n = 0 };
            b32(&b, 0x201);                       /* NonPagedPoolNx | PagedPool bit */
            b32(&b, 0x20707249);                  /* "Irp " */
            bptr(&b, P == 8 ? 0x123456789aULL : 0x12345678u, P);
            bptr(&b, P == 8 ? 0xffffe00012345670ULL : 0x81234560u, P);
            if (session)
                b32(&b, 7);
            EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0E, op, 2, P, &b);
            EtlKernelEvent k;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_POOL);
            assert_int_equal(k.u.pool.type, 0x201);
            assert_int_equal(k.u.pool.tag, 0x20707249);
            assert_true(k.u.pool.size == (P == 8 ? 0x123456789aULL : 0x12345678u));
            assert_true(k.u.pool.entry == (P == 8 ? 0xffffe00012345670ULL : 0x81234560u));
            assert_int_equal(k.u.pool.has_session, session);
            assert_int_equal(k.u.pool.is_free, is_free);
            assert_int_equal(k.u.pool.session_id, session ? 7 : 0);
            assert_prefixes_too_short(ev, 8 + 2 * P + (session ? 4 : 0));

            /* newer version with appended bytes: accepted (KP §1.2) */
            b32(&b, 0xdeadbeef);
            ev = kev(ETL_HDR_PERFINFO, 0x0E, op, 3, P, &b);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.u.pool.tag, 0x20707249);
            /* versions before 2 are not documented */
            ev.version = 1;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
            assert_int_equal(k.kind, ETL_K_UNKNOWN);
        }
    }
    /* 0x24-0x2F are recognised without fields, whatever their length */
    for (unsigned op = 0x24; op <= 0x2F; op++) {
        EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x0E, (uint8_t)op, 2, 8, NULL);
        EtlKernelEvent k;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_POOL_OTHER);
    }
    EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x0E, 0x30, 2, 8, NULL);
    EtlKernelEvent k;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev.opcode = 0x1F;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
}

/* ------------------------------------------------------------------------------------------
 * PerfInfo
 * ------------------------------------------------------------------------------------------ */
static void test_dpc(void **state)
{
    (void)state;
    static const uint8_t ops[] = { 0x42, 0x44, 0x45 };
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        for (size_t i = 0; i < sizeof ops; i++) {
            for (uint16_t v = 1; v <= 2; v++) {
                Buf b = { .n = 0 };
                b64(&b, 0x0000013300001234ULL);   /* InitialTime: 8 bytes whatever P is */
                bptr(&b, P == 8 ? 0xfffff80003177e00ULL : 0x82a4b000u, P);
                EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0F, ops[i], v, P, &b);
                EtlKernelEvent k;
                assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
                assert_int_equal(k.kind, ETL_K_DPC);
                assert_true(k.u.dpc.initial_time == 0x0000013300001234ULL);
                assert_true(k.u.dpc.routine == (P == 8 ? 0xfffff80003177e00ULL : 0x82a4b000u));
                assert_prefixes_too_short(ev, 8 + P);
            }
            Buf b = { .n = 16 };
            EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0F, ops[i], 0, P, &b);
            EtlKernelEvent k;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
            ev.version = 3;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        }
    }
}

static void test_isr(void **state)
{
    (void)state;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        uint64_t routine = P == 8 ? 0xfffff880042f75f0ULL : 0x8b2f75f0u;
        /* v2 ISR and ISR-PASS: u8 ReturnValue, u8 Vector, u8 (TDH: Vector high), u8 */
        static const uint8_t ops[] = { 0x43, 0x5F };
        for (size_t i = 0; i < sizeof ops; i++) {
            Buf b = { .n = 0 };
            b64(&b, 1996631531759ULL);
            bptr(&b, routine, P);
            b8(&b, 1); b8(&b, 0x61); b8(&b, 0x02); b8(&b, 0);
            EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0F, ops[i], 2, P, &b);
            EtlKernelEvent k;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_ISR);
            assert_true(k.u.isr.initial_time == 1996631531759ULL);
            assert_true(k.u.isr.routine == routine);
            assert_int_equal(k.u.isr.return_value, 1);
            assert_int_equal(k.u.isr.vector, 0x61);
            assert_int_equal(k.u.isr.vector_hi, 0x02);
            assert_false(k.u.isr.has_message);
            assert_int_equal(k.u.isr.message_number, 0);
            assert_prefixes_too_short(ev, 12 + P);

            /* v1 (Vista): u32 ReturnValue, no vector */
            Buf b1 = { .n = 0 };
            b64(&b1, 5);
            bptr(&b1, routine, P);
            b32(&b1, 0x100);
            ev = kev(ETL_HDR_PERFINFO, 0x0F, ops[i], 1, P, &b1);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.u.isr.return_value, 1);
            assert_int_equal(k.u.isr.vector, 0);
            assert_int_equal(k.u.isr.vector_hi, 0);
            assert_prefixes_too_short(ev, 12 + P);
            ev.version = 3;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        }
        /* ISR-MSI v2: + MessageNumber @12+P */
        Buf b = { .n = 0 };
        b64(&b, 77);
        bptr(&b, routine, P);
        b8(&b, 0); b8(&b, 0xa3); b8(&b, 0); b8(&b, 0);
        b32(&b, 3);
        EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x32, 2, P, &b);
        EtlKernelEvent k;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_ISR);
        assert_int_equal(k.u.isr.return_value, 0);
        assert_int_equal(k.u.isr.vector, 0xa3);
        assert_true(k.u.isr.has_message);
        assert_int_equal(k.u.isr.message_number, 3);
        assert_prefixes_too_short(ev, 16 + P);
        ev.version = 1;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    }
}

static void test_sampled_profile(void **state)
{
    (void)state;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        Buf b = { .n = 0 };
        bptr(&b, P == 8 ? 0xfffff80002e1e9b0ULL : 0x77a85c71u, P);
        b32(&b, 584);
        b16(&b, 1);
        b16(&b, 0x0071);
        EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x2E, 2, P, &b);
        EtlKernelEvent k;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_SAMPLED_PROFILE);
        assert_true(k.u.sample.ip == (P == 8 ? 0xfffff80002e1e9b0ULL : 0x77a85c71u));
        assert_int_equal(k.u.sample.thread_id, 584);
        assert_int_equal(k.u.sample.count, 1);
        assert_int_equal(k.u.sample.reserved, 0x71);
        assert_prefixes_too_short(ev, P + 8);
        /* v1: IP, ThreadId, Count */
        ev.version = 1;
        ev.payload_len = P + 6;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.u.sample.count, 1);
        assert_int_equal(k.u.sample.reserved, 0);
        assert_prefixes_too_short(ev, P + 6);
        ev.version = 3;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    }
}

/* ------------------------------------------------------------------------------------------
 * Thread group
 * ------------------------------------------------------------------------------------------ */
static void test_cswitch(void **state)
{
    (void)state;
    Buf b = { .n = 0 };
    b32(&b, 0x1bb4); b32(&b, 0);
    b8(&b, 0x10); b8(&b, 0xfe); b8(&b, 2); b8(&b, 0xff);
    b8(&b, 0x17); b8(&b, 0x0b); b8(&b, 5); b8(&b, 6);
    b32(&b, 0x0229ee55); b32(&b, 0x9b60);
    for (uint16_t v = 1; v <= 4; v++) {
        EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x05, 0x24, v, v == 2 ? 4 : 8, &b);
        EtlKernelEvent k;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_CSWITCH);
        assert_int_equal(k.u.cswitch.new_tid, 0x1bb4);
        assert_int_equal(k.u.cswitch.old_tid, 0);
        assert_int_equal(k.u.cswitch.new_priority, 16);
        assert_int_equal(k.u.cswitch.old_priority, -2);
        assert_int_equal(k.u.cswitch.previous_cstate, 2);
        assert_int_equal(k.u.cswitch.spare, -1);
        assert_int_equal(k.u.cswitch.old_wait_reason, 0x17);
        assert_int_equal(k.u.cswitch.old_wait_mode, 1);    /* 0x0b & 1: flag bits ignored */
        assert_int_equal(k.u.cswitch.old_state, 5);
        assert_int_equal(k.u.cswitch.old_ideal_processor, 6);
        assert_int_equal(k.u.cswitch.new_wait_time, v == 1 ? 0 : 0x0229ee55);
        assert_prefixes_too_short(ev, v == 1 ? 16 : 24);
    }
    EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x05, 0x24, 0, 8, &b);
    EtlKernelEvent k;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev.version = 5;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
}

static void test_ready_thread(void **state)
{
    (void)state;
    Buf b = { .n = 0 };
    b32(&b, 4242); b8(&b, 1); b8(&b, 0xfe); b8(&b, 5); b8(&b, 0);
    EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x05, 0x32, 2, 8, &b);
    EtlKernelEvent k;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.kind, ETL_K_READY_THREAD);
    assert_int_equal(k.u.ready.tid, 4242);
    assert_int_equal(k.u.ready.adjust_reason, 1);
    assert_int_equal(k.u.ready.adjust_increment, -2);
    assert_int_equal(k.u.ready.flag, 5);
    assert_prefixes_too_short(ev, 8);
    ev.version = 1;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
}

/* Thread v1+ body: pid, tid, 6 pointers (v1) or 7 pointers + SubProcessTag (v2+). */
static void thread_body(Buf *b, unsigned P, uint16_t v)
{
    b32(b, 4); b32(b, 3668);
    bptr(b, 0x1000, P); bptr(b, 0x2000, P); bptr(b, 0x3000, P); bptr(b, 0x4000, P);
    bptr(b, 0xff, P); bptr(b, P == 8 ? 0xfffff8002185916cULL : 0x8185916cu, P);
    if (v == 1) {
        b8(b, 1);                                  /* WaitMode */
        return;
    }
    bptr(b, 0x7ffde000, P);
    b32(b, 0x55);
    if (v >= 3) {
        b8(b, 8); b8(b, 5); b8(b, 2); b8(b, 0x10);
    }
}

static void assert_thread_common(const EtlThread *t, unsigned P)
{
    assert_int_equal(t->pid, 4);
    assert_int_equal(t->tid, 3668);
    assert_true(t->stack_base == 0x1000);
    assert_true(t->stack_limit == 0x2000);
    assert_true(t->user_stack_base == 0x3000);
    assert_true(t->user_stack_limit == 0x4000);
    assert_true(t->start_addr == 0xff);
    assert_true(t->win32_start_addr == (P == 8 ? 0xfffff8002185916cULL : 0x8185916cu));
}

static void test_thread(void **state)
{
    (void)state;
    EtlKernelEvent k;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        /* v0: TThreadId first, then ProcessId */
        Buf b0 = { .n = 0 };
        b32(&b0, 3668); b32(&b0, 4);
        for (uint8_t op = 1; op <= 4; op++) {
            EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x05, op, 0, P, &b0);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_THREAD);
            assert_int_equal(k.u.thread.tid, 3668);
            assert_int_equal(k.u.thread.pid, 4);
            assert_int_equal(k.u.thread.fields, 0);
            assert_prefixes_too_short(ev, 8);
        }
        /* v1 Start/DCStart/DCEnd: 9+6P */
        Buf b1 = { .n = 0 };
        thread_body(&b1, P, 1);
        assert_int_equal(b1.n, 9 + 6 * P);
        for (uint8_t op = 1; op <= 4; op++) {
            EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x05, op, 1, P, &b1);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_thread_common(&k.u.thread, P);
            assert_int_equal(k.u.thread.fields, 1);
            if (op != 2) {
                assert_prefixes_too_short(ev, 9 + 6 * P);
            } else {
                /* End v1 is the 8-byte short form */
                ev.payload_len = 8;
                assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
                assert_int_equal(k.u.thread.pid, 4);
                assert_int_equal(k.u.thread.tid, 3668);
                assert_int_equal(k.u.thread.fields, 0);
                assert_true(k.u.thread.stack_base == 0);
                assert_prefixes_too_short(ev, 8);
            }
        }
        /* v2: 12+7P */
        Buf b2 = { .n = 0 };
        thread_body(&b2, P, 2);
        assert_int_equal(b2.n, 12 + 7 * P);
        EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x05, 1, 2, P, &b2);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_thread_common(&k.u.thread, P);
        assert_true(k.u.thread.teb_base == 0x7ffde000);
        assert_int_equal(k.u.thread.sub_process_tag, 0x55);
        assert_int_equal(k.u.thread.fields, 2);
        assert_prefixes_too_short(ev, 12 + 7 * P);
        /* v3 without a name (Win7/Win8 real events are exactly 16+7P) */
        Buf b3 = { .n = 0 };
        thread_body(&b3, P, 3);
        assert_int_equal(b3.n, 16 + 7 * P);
        ev = kev(ETL_HDR_SYSTEM, 0x05, 3, 3, P, &b3);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_thread_common(&k.u.thread, P);
        assert_int_equal(k.u.thread.base_priority, 8);
        assert_int_equal(k.u.thread.page_priority, 5);
        assert_int_equal(k.u.thread.io_priority, 2);
        assert_int_equal(k.u.thread.thread_flags, 0x10);
        assert_int_equal(k.u.thread.fields, 3);
        assert_int_equal(k.u.thread.name.nbytes, 0);
        assert_prefixes_too_short(ev, 16 + 7 * P);
        /* v3 with a name (Windows 10 1903) and v4 */
        for (uint16_t v = 3; v <= 5; v++) {
            Buf b4 = { .n = 0 };
            thread_body(&b4, P, 4);
            bwstr(&b4, "Worker");
            ev = kev(ETL_HDR_SYSTEM, 0x05, 1, v, P, &b4);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_thread_common(&k.u.thread, P);
            assert_int_equal(k.u.thread.fields, 4);
            assert_true(wstr_is(k.u.thread.name, "Worker"));
            assert_prefixes_too_short(ev, 16 + 7 * P);
            /* v4 with nothing after the fixed part: an empty name */
            ev.payload_len = 16 + 7 * P;
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.u.thread.fields, v >= 4 ? 4 : 3);
            assert_int_equal(k.u.thread.name.nbytes, 0);
            /* unterminated name: the view stops at the payload end */
            Buf b5 = { .n = 0 };
            thread_body(&b5, P, 4);
            bwstr_noz(&b5, "Abc");
            b8(&b5, 'x');                          /* odd trailing byte */
            ev = kev(ETL_HDR_SYSTEM, 0x05, 1, v, P, &b5);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_true(wstr_is(k.u.thread.name, "Abc"));
            assert_true(k.u.thread.name.p + k.u.thread.name.nbytes <= b5.b + b5.n);
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Process
 * ------------------------------------------------------------------------------------------ */
/* Appends the SID field: the 4-byte zero form, or TOKEN_USER (2P bytes) + S-1-5-21-a-b-c. */
static void process_sid(Buf *b, unsigned P, bool present)
{
    if (!present) {
        b32(b, 0);
        return;
    }
    bptr(b, P == 8 ? 0xfffff8a000123450ULL : 0x9a123450u, P);  /* TOKEN_USER.Sid pointer */
    b32(b, 0);                                                 /* Attributes */
    if (P == 8)
        b32(b, 0);                                             /* padding */
    b8(b, 1); b8(b, 4);                                        /* Revision, SubAuthorityCount */
    b8(b, 0); b8(b, 0); b8(b, 0); b8(b, 0); b8(b, 0); b8(b, 5);
    b32(b, 21); b32(b, 111); b32(b, 222); b32(b, 333);
}

static uint32_t process_fixed(Buf *b, unsigned P, uint16_t v)
{
    if (v == 0) {
        bptr(b, 0x1f0, P);
        bptr(b, 0x258, P);
        return 2 * P;
    }
    bptr(b, P == 8 ? 0xfffffa8302e37080ULL : 0x85e37080u, P);
    b32(b, 0x1f0); b32(b, 0x258); b32(b, 1); b32(b, 259);
    if (v >= 3)
        bptr(b, 0x06861000, P);
    if (v >= 4)
        b32(b, 2);
    return b->n;
}

static void test_process(void **state)
{
    (void)state;
    EtlKernelEvent k;
    static const uint8_t ops[] = { 1, 2, 3, 4, 39 };
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        for (uint16_t v = 0; v <= 6; v++) {
            for (int sid = 0; sid < 2; sid++) {
                Buf b = { .n = 0 };
                uint32_t sid_off = process_fixed(&b, P, v);
                process_sid(&b, P, sid);
                uint32_t sid_end = b.n;
                bastr(&b, "csrss.exe");
                if (v >= 2)
                    bwstr(&b, "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows");
                if (v >= 4) {
                    bwstr(&b, "Pkg");
                    bwstr(&b, "App");
                }
                if (v >= 5)
                    b64(&b, 0x01d5ee5aba25fc67ULL);
                for (size_t oi = 0; oi < sizeof ops; oi++) {
                    EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x03, ops[oi], v, P, &b);
                    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
                    assert_int_equal(k.kind, ETL_K_PROCESS);
                    const EtlProcess *p = &k.u.process;
                    assert_int_equal(p->pid, 0x1f0);
                    assert_int_equal(p->parent_pid, 0x258);
                    if (v >= 1) {
                        assert_int_equal(p->session_id, 1);
                        assert_int_equal(p->exit_status, 259);
                    }
                    uint64_t key = P == 8 ? 0xfffffa8302e37080ULL : 0x85e37080u;
                    assert_true(p->unique_key == (v >= 2 ? key : 0));
                    assert_true(p->directory_table_base ==
                                (v == 1 ? key : v >= 3 ? 0x06861000u : 0));
                    assert_int_equal(p->flags, v >= 4 ? 2 : 0);
                    if (sid) {
                        assert_non_null(p->sid);
                        assert_ptr_equal(p->sid, b.b + sid_off + 2 * P);
                        assert_int_equal(p->sid_len, 8 + 4 * 4);
                        assert_int_equal(p->sid[1], 4);
                    } else {
                        assert_null(p->sid);
                        assert_int_equal(p->sid_len, 0);
                    }
                    assert_true(astr_is(p->image_name, "csrss.exe"));
                    assert_ptr_equal(p->image_name.p, (const char *)b.b + sid_end);
                    if (v >= 2)
                        assert_true(wstr_is(p->command_line,
                                            "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows"));
                    else
                        assert_int_equal(p->command_line.nbytes, 0);
                    if (v >= 4) {
                        assert_true(wstr_is(p->package_full_name, "Pkg"));
                        assert_true(wstr_is(p->application_id, "App"));
                    }
                    assert_true(p->exit_time == (v >= 5 ? 0x01d5ee5aba25fc67ULL : 0));
                }
                /* Too short: the fixed part, the SID field, or a SID cut short */
                EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x03, 3, v, P, &b);
                assert_prefixes_too_short(ev, sid_end);
                (void)sid_off;
            }
        }
        /* Strings cut off: views stay inside the payload */
        Buf b = { .n = 0 };
        process_fixed(&b, P, 4);
        process_sid(&b, P, true);
        uint32_t name_off = b.n;
        b8(&b, 'A'); b8(&b, 'B');                   /* unterminated ImageFileName */
        EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x03, 1, 4, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_true(astr_is(k.u.process.image_name, "AB"));
        assert_int_equal(k.u.process.command_line.nbytes, 0);
        assert_true(k.u.process.command_line.p == b.b + b.n);
        assert_int_equal(k.u.process.package_full_name.nbytes, 0);
        assert_int_equal(k.u.process.application_id.nbytes, 0);
        b.n = name_off;
        bastr(&b, "x.exe");
        bwstr_noz(&b, "cmd");                       /* unterminated CommandLine */
        ev = kev(ETL_HDR_SYSTEM, 0x03, 1, 5, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_true(astr_is(k.u.process.image_name, "x.exe"));
        assert_true(wstr_is(k.u.process.command_line, "cmd"));
        assert_true(k.u.process.exit_time == 0);    /* no room for ExitTime */
        /* SubAuthorityCount larger than the payload */
        b.n = 0;
        process_fixed(&b, P, 3);
        bptr(&b, 1, P); bptr(&b, 0, P);
        b8(&b, 1); b8(&b, 15); bzero_(&b, 6 + 4 * 14);
        ev = kev(ETL_HDR_SYSTEM, 0x03, 3, 3, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_TOO_SHORT);
        bzero_(&b, 4);
        ev = kev(ETL_HDR_SYSTEM, 0x03, 3, 3, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.u.process.sid_len, 8 + 60);
        assert_int_equal(k.u.process.image_name.len, 0);
    }
    /* opcodes without a Process decoder */
    Buf b = { .n = 64 };
    EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x03, 11, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev.opcode = 32;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
}

/* ------------------------------------------------------------------------------------------
 * Image
 * ------------------------------------------------------------------------------------------ */
static void test_image(void **state)
{
    (void)state;
    EtlKernelEvent k;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        uint64_t base = P == 8 ? 0xfffff80003049000ULL : 0x82a0b000u;
        for (uint16_t v = 0; v <= 3; v++) {
            Buf b = { .n = 0 };
            bptr(&b, base, P);
            uint32_t name_off;
            if (v == 0) {
                b32(&b, 0x5e9000);
                name_off = P + 4;
            } else {
                bptr(&b, 0x5e9000, P);
                b32(&b, v == 1 ? 0 : 1234);
                if (v >= 2) {
                    b32(&b, 0x5c4e3a);
                    b32(&b, 0x4ce7951a);
                    if (v == 3) { b8(&b, 0x0c); b8(&b, 1); b16(&b, 0); }
                    else b32(&b, 0);
                    bptr(&b, 0x140000000ULL & (P == 8 ? ~0ULL : 0xffffffffu), P);
                    bzero_(&b, 16);
                }
                name_off = v == 1 ? 2 * P + 4 : 3 * P + 32;
            }
            assert_int_equal(b.n, name_off);
            bwstr(&b, "\\SystemRoot\\system32\\ntoskrnl.exe");
            static const struct { uint8_t group, opcode; } hooks[] = {
                { 0x03, 0x0A }, { 0x14, 0x0A }, { 0x14, 0x01 }, { 0x14, 0x02 },
                { 0x14, 0x03 }, { 0x14, 0x04 },
            };
            for (size_t h = 0; h < G_N_ELEMENTS(hooks); h++) {
                EtlEvent ev = kev(ETL_HDR_SYSTEM, hooks[h].group, hooks[h].opcode, v, P, &b);
                assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
                assert_int_equal(k.kind, ETL_K_IMAGE);
                const EtlImage *im = &k.u.image;
                assert_true(im->base == base);
                assert_true(im->size == 0x5e9000);
                assert_int_equal(im->pid, v >= 2 ? 1234 : 0);
                assert_int_equal(im->checksum, v >= 2 ? 0x5c4e3a : 0);
                assert_int_equal(im->time_date_stamp, v >= 2 ? 0x4ce7951a : 0);
                assert_int_equal(im->signature_level, v == 3 ? 0x0c : 0);
                assert_int_equal(im->signature_type, v == 3 ? 1 : 0);
                assert_true(im->default_base == (v >= 2 ? (P == 8 ? 0x140000000ULL : 0x40000000u) : 0));
                assert_true(wstr_is(im->file_name, "\\SystemRoot\\system32\\ntoskrnl.exe"));
                assert_ptr_equal(im->file_name.p, b.b + name_off);
                assert_prefixes_too_short(ev, name_off);
            }
        }
        Buf b = { .n = 200 };
        EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x14, 0x03, 4, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        ev.opcode = 0x21;                           /* KernelBase: no decoder */
        ev.version = 2;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    }
}

/* ------------------------------------------------------------------------------------------
 * StackWalk
 * ------------------------------------------------------------------------------------------ */
static void test_stackwalk(void **state)
{
    (void)state;
    EtlKernelEvent k;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        Buf b = { .n = 0 };
        b64(&b, 1321740963736ULL);
        b32(&b, 2452); b32(&b, 7092);
        for (unsigned i = 0; i < 5; i++)
            bptr(&b, 0xfffff80003000000ULL + i, P);
        b8(&b, 0xee);                               /* partial trailing frame */
        EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x18, 0x20, 2, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_STACK);
        assert_true(k.u.stack.event_timestamp == 1321740963736ULL);
        assert_int_equal(k.u.stack.pid, 2452);
        assert_int_equal(k.u.stack.tid, 7092);
        assert_int_equal(k.u.stack.n_frames, 5);
        assert_int_equal(k.u.stack.frame_size, P);
        assert_ptr_equal(k.u.stack.frames, b.b + 16);
        for (unsigned i = 0; i < 5; i++)
            assert_true(etl_frame_at(k.u.stack.frames, k.u.stack.frame_size, i) ==
                        ((0xfffff80003000000ULL + i) & (P == 8 ? ~0ULL : 0xffffffffULL)));
        assert_prefixes_too_short(ev, 16);
        ev.payload_len = 16;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.u.stack.n_frames, 0);
        ev.version = 1;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);

        /* key definitions 0x22-0x24: key, then frames */
        for (uint8_t op = 0x22; op <= 0x24; op++) {
            Buf d = { .n = 0 };
            bptr(&d, 0x9a00 + op, P);
            bptr(&d, 0x7ff61234, P);
            bptr(&d, 0x7ff65678, P);
            ev = kev(ETL_HDR_PERFINFO, 0x18, op, 2, P, &d);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_STACK_KEY_DEF);
            assert_true(k.u.stack_key_def.key == 0x9a00u + op);
            assert_int_equal(k.u.stack_key_def.n_frames, 2);
            assert_true(etl_frame_at(k.u.stack_key_def.frames, k.u.stack_key_def.frame_size, 1) ==
                        0x7ff65678);
            assert_prefixes_too_short(ev, P);
        }
        /* key references 0x25 kernel / 0x26 user */
        for (uint8_t op = 0x25; op <= 0x26; op++) {
            Buf r = { .n = 0 };
            b64(&r, 1942893712);
            b32(&r, 3988); b32(&r, 3780);
            bptr(&r, P == 8 ? 0xffffe0000a1b2c3dULL : 0x8a1b2c3du, P);
            ev = kev(ETL_HDR_PERFINFO, 0x18, op, 2, P, &r);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_STACK_KEY_REF);
            assert_true(k.u.stack_key_ref.event_timestamp == 1942893712);
            assert_int_equal(k.u.stack_key_ref.pid, 3988);
            assert_int_equal(k.u.stack_key_ref.tid, 3780);
            assert_true(k.u.stack_key_ref.key == (P == 8 ? 0xffffe0000a1b2c3dULL : 0x8a1b2c3du));
            assert_int_equal(k.u.stack_key_ref.user, op == 0x26);
            assert_prefixes_too_short(ev, 16 + P);
        }
    }
    Buf b = { .n = 64 };
    EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x18, 0x21, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
}

/* ------------------------------------------------------------------------------------------
 * SystemConfig CPU, EventTrace, KernelTraceControl
 * ------------------------------------------------------------------------------------------ */
static void test_sysconfig_cpu(void **state)
{
    (void)state;
    EtlKernelEvent k;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        for (uint16_t v = 0; v <= 3; v++) {
            Buf b = { .n = 0 };
            b32(&b, 3592); b32(&b, 8); b32(&b, 4096); b32(&b, 4096); b32(&b, 65536);
            bwstr(&b, "BRIANROB-W8");
            bzero_(&b, 532 - b.n);
            bwstr(&b, "redmond.corp.microsoft.com");
            uint32_t ht = v <= 1 ? 796 : 800;
            bzero_(&b, ht - b.n);
            bptr(&b, 1, P);
            if (v == 3) {
                bptr(&b, 0x7fffffeffffULL & (P == 8 ? ~0ULL : 0x7ffeffffULL), P);
                b16(&b, 9); b16(&b, 6); b16(&b, 0x3a09); b8(&b, 1); b8(&b, 1); b32(&b, 1600);
            }
            EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x0B, 0x0A, v, P, &b);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_SYSCONFIG_CPU);
            assert_int_equal(k.u.cpu.mhz, 3592);
            assert_int_equal(k.u.cpu.cpus, 8);
            assert_int_equal(k.u.cpu.mem_mb, 4096);
            assert_int_equal(k.u.cpu.page_size, 4096);
            assert_int_equal(k.u.cpu.allocation_granularity, 65536);
            assert_true(wstr_is(k.u.cpu.computer_name, "BRIANROB-W8"));
            assert_true(wstr_is(k.u.cpu.domain_name, "redmond.corp.microsoft.com"));
            assert_true(k.u.cpu.hyperthreading_flag == 1);
            assert_prefixes_too_short(ev, v == 3 ? 812 + 2 * P : ht + P);
        }
        Buf b = { .n = 900 };
        EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x0B, 0x0A, 4, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        ev.opcode = 0x0B;                           /* PhyDisk: no decoder */
        ev.version = 2;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    }
    /* full-width names without NUL stay inside their fields */
    Buf b = { .n = 0 };
    bzero_(&b, 20);
    for (int i = 0; i < 256; i++) b16(&b, 'C');
    for (int i = 0; i < 134; i++) b16(&b, 'D');
    bptr(&b, 0, 8);
    EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x0B, 0x0A, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.u.cpu.computer_name.nbytes, 512);
    assert_int_equal(k.u.cpu.domain_name.nbytes, 268);
}

static void test_eventtrace(void **state)
{
    (void)state;
    EtlKernelEvent k;
    Buf b = { .n = 0 };
    for (uint32_t i = 0; i < 8; i++)
        b32(&b, 0x100u * (i + 1));
    b32(&b, 0x46);
    for (uint16_t v = 0; v <= 2; v++) {
        EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x00, v == 1 ? 0x20 : 0x05, v, 8, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_HEADER_EXTENSION);
        for (uint32_t i = 0; i < 8; i++)
            assert_int_equal(k.u.header_ext.group_masks[i], 0x100u * (i + 1));
        assert_int_equal(k.u.header_ext.kernel_event_version, v == 2 ? 0x46 : 0);
        assert_prefixes_too_short(ev, v == 2 ? 36 : 32);
    }
    EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x00, 0x05, 3, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);

    /* the log-file header is recognised; its payload belongs to the trace layer */
    Buf h = { .n = 0x118 };
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        ev = kev(ETL_HDR_SYSTEM, 0x00, 0x00, 2, P, &h);
        ev.payload_len = P == 8 ? 0x118 : 0x110;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_LOGFILE_HEADER);
        assert_prefixes_too_short(ev, P == 8 ? 0x118 : 0x110);
    }
    ev = kev(ETL_HDR_SYSTEM, 0x00, 0x08, 2, 8, NULL);   /* RundownComplete: no fields */
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev.opcode = 0x50;                                   /* PartitionInfo */
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
}

static void test_ktc(void **state)
{
    (void)state;
    EtlKernelEvent k;
    for (int pi = 0; pi < 2; pi++) {
        unsigned P = PSIZES[pi];
        uint64_t base = P == 8 ? 0x7f9d02f0000ULL : 0x77710000u;
        Buf b = { .n = 0 };
        bptr(&b, base, P); bptr(&b, 1826816, P); b32(&b, 0); b32(&b, 1343270098);
        bwstr(&b, "ntdll.dll");
        EtlEvent ev = ktc(0x00, 2, P, &b);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        assert_int_equal(k.kind, ETL_K_IMAGE_ID);
        assert_true(k.u.image_id.base == base);
        assert_true(k.u.image_id.size == 1826816);
        assert_int_equal(k.u.image_id.pid, 0);
        assert_int_equal(k.u.image_id.time_date_stamp, 1343270098);
        assert_true(wstr_is(k.u.image_id.original_file_name, "ntdll.dll"));
        assert_prefixes_too_short(ev, 2 * P + 8);
        ev.version = 1;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);

        for (uint8_t op = 0x24; op <= 0x25; op++) {
            Buf r = { .n = 0 };
            bptr(&r, base, P); b32(&r, 3988);
            bhex(&r, "b6fd4860cd2dc1418a6b0e5e3f5ac9a1");
            b32(&r, 2);
            bastr(&r, "ntdll.pdb");
            ev = ktc(op, 2, P, &r);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_int_equal(k.kind, ETL_K_DBGID_RSDS);
            assert_true(k.u.rsds.base == base);
            assert_int_equal(k.u.rsds.pid, 3988);
            char g[ETL_GUID_STRLEN];
            etl_guid_format(&k.u.rsds.guid, g);
            assert_string_equal(g, "6048fdb6-2dcd-41c1-8a6b-0e5e3f5ac9a1");
            assert_int_equal(k.u.rsds.age, 2);
            assert_true(astr_is(k.u.rsds.pdb_name, "ntdll.pdb"));
            assert_prefixes_too_short(ev, P + 24);
            /* unterminated PDB name */
            r.n -= 1;
            ev = ktc(op, 2, P, &r);
            assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
            assert_true(astr_is(k.u.rsds.pdb_name, "ntdll.pdb"));
        }
        /* None, FileVersion, MetaData, other class GUIDs: no decoder */
        Buf any = { .n = 128 };
        ev = ktc(0x20, 2, P, &any);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        ev = ktc(0x40, 0, P, &any);
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        ev = ktc(0x00, 2, P, &any);
        ev.provider = ETL_GUID_KTC_EVENTMETADATA;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
        ev = ktc(0x00, 2, P, &any);
        ev.kind = ETL_HDR_INSTANCE;
        assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
        ev.kind = ETL_HDR_EVENT;                    /* manifest events are never kernel */
        assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    }
}

static void test_unknown(void **state)
{
    (void)state;
    EtlKernelEvent k;
    Buf b = { .n = 64 };
    /* groups and opcodes without decoders */
    EtlEvent ev = kev(ETL_HDR_SYSTEM, 0x01, 0x0A, 2, 8, &b);          /* DiskIo Read */
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    assert_int_equal(k.kind, ETL_K_UNKNOWN);
    ev = kev(ETL_HDR_SYSTEM, 0x25, 0x20, 2, 8, &b);                  /* group >= 0x1F */
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev = kev(ETL_HDR_SYSTEM, 0xFF, 0xFF, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    /* a pointer size that no header type gives */
    ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x44, 2, 0, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev.pointer_size = 2;
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    /* the same hook in a non-kernel header is not a kernel event */
    ev = kev(ETL_HDR_EVENT, 0x0F, 0x44, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    ev = kev(ETL_HDR_MESSAGE, 0x0F, 0x44, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_UNKNOWN);
    /* COMPACT headers decode like SYSTEM ones */
    ev = kev(ETL_HDR_COMPACT, 0x0F, 0x44, 2, 8, &b);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    /* NULL payload */
    ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x44, 2, 8, NULL);
    ev.payload_len = 16;                       /* inconsistent: treated as empty */
    assert_int_equal(dec(&ev, &k), ETL_DECODE_TOO_SHORT);

    assert_int_equal(etl_kernel_decoder_for(0x0F, 0x44), ETL_KD_DPC);
    assert_int_equal(etl_kernel_decoder_for(0x03, 0x0A), ETL_KD_IMAGE);
    assert_int_equal(etl_kernel_decoder_for(0x1F, 0x0A), ETL_KD_NONE);
    assert_int_equal(etl_kernel_decoder_for(0xFF, 0x0A), ETL_KD_NONE);

    for (int i = 0; i < ETL_K_COUNT_; i++)
        assert_non_null(etl_kernel_kind_name((EtlKernelKind)i));
    assert_string_equal(etl_kernel_kind_name(ETL_K_DPC), "DPC");
    assert_string_equal(etl_kernel_kind_name(ETL_K_POOL), "Pool");
    assert_string_equal(etl_kernel_kind_name((EtlKernelKind)999), "Unknown");
}

/* ------------------------------------------------------------------------------------------
 * Real payloads (bytes copied from ../shared/traces; expected values from ../shared/expected)
 * ------------------------------------------------------------------------------------------ */
static EtlEvent real(Buf *b, const char *hex, EtlHeaderKind kind, uint8_t group, uint8_t op,
                     uint16_t v)
{
    b->n = 0;
    bhex(b, hex);
    return kev(kind, group, op, v, 8, b);
}

static void test_real_win8(void **state)
{
    (void)state;
    Buf b;
    EtlKernelEvent k;
    char g[ETL_GUID_STRLEN];

    /* win8-x64-compressed-net452.etl, Image DCStart (SYSTEM64 v2), buffer 1 +0x5420:
     * baseline "Image/DCStart ... ImageBase=0xfffff80021489000; ImageSize=7,634,944;
     * ImageChecksum=6,989,512; TimeDateStamp=1,343,269,963; DefaultBase=0x00000000" */
    EtlEvent ev = real(&b,
        "0090482100f8ffff008074000000000000000000c8a66a004bac1050000000000000000000000000"
        "000000000000000000000000000000005c00530079007300740065006d0052006f006f0074005c00"
        "730079007300740065006d00330032005c006e0074006f0073006b0072006e006c002e0065007800"
        "65000000", ETL_HDR_SYSTEM, 0x14, 3, 2);
    assert_int_equal(b.n, 124);                             /* DataLen=124 */
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_true(k.u.image.base == 0xfffff80021489000ULL);
    assert_true(k.u.image.size == 7634944);
    assert_int_equal(k.u.image.pid, 0);
    assert_int_equal(k.u.image.checksum, 6989512);
    assert_int_equal(k.u.image.time_date_stamp, 1343269963);
    assert_true(k.u.image.default_base == 0);
    assert_true(wstr_is(k.u.image.file_name, "\\SystemRoot\\system32\\ntoskrnl.exe"));

    /* same trace, KernelTraceControl ImageID (FULL64 v2) for the same image:
     * "ImageBase=0xfffff80021489000; ImageSize=7,634,944; ProcessID=0;
     * TimeDateStamp=1,343,269,963; OriginalFileName=ntkrnlmp.exe" (DataLen=50) */
    ev = real(&b, "0090482100f8ffff0080740000000000000000004bac10506e0074006b0072006e006c006d00"
                  "70002e006500780065000000", ETL_HDR_FULL, 0, 0, 2);
    ev.provider = ETL_GUID_KTC_IMAGEID;
    assert_int_equal(b.n, 50);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.kind, ETL_K_IMAGE_ID);
    assert_true(k.u.image_id.base == 0xfffff80021489000ULL);
    assert_true(k.u.image_id.size == 7634944);
    assert_int_equal(k.u.image_id.pid, 0);
    assert_int_equal(k.u.image_id.time_date_stamp, 1343269963);
    assert_true(wstr_is(k.u.image_id.original_file_name, "ntkrnlmp.exe"));

    /* DbgID_RSDS (FULL64 v2): "GuidSig=72482100-1c1c-4a03-a...; Age=2;
     * PDBFileName=ntkrnlmp.pdb" (DataLen=45) */
    ev = real(&b, "0090482100f8ffff00000000002148721c1c034aaed8c4c71c2e8d1d020000006e746b726e6c"
                  "6d702e70646200", ETL_HDR_FULL, 0, 0x24, 2);
    ev.provider = ETL_GUID_KTC_IMAGEID;
    assert_int_equal(b.n, 45);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.kind, ETL_K_DBGID_RSDS);
    assert_true(k.u.rsds.base == 0xfffff80021489000ULL);
    etl_guid_format(&k.u.rsds.guid, g);
    assert_string_equal(g, "72482100-1c1c-4a03-aed8-c4c71c2e8d1d");
    assert_int_equal(k.u.rsds.age, 2);
    assert_true(astr_is(k.u.rsds.pdb_name, "ntkrnlmp.pdb"));

    /* Process DCStart v4 (PERFINFO64), the System process: "ProcessID=4; ParentID=0;
     * ImageFileName=System; PageDirectoryBase=0x00187000; Flags=Protected; SessionID=-1;
     * ExitStatus=259; UniqueProcessKey=0xfffffa830007e4c0; CommandLine=;" (DataLen=77) */
    ev = real(&b, "c0e4070083faffff0400000000000000ffffffff03010000007018000000000004000000502b"
                  "ed01a0f8ffff0000000049004e0001010000000000051200000053797374656d00000000000000",
              ETL_HDR_PERFINFO, 0x03, 3, 4);
    assert_int_equal(b.n, 77);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    const EtlProcess *p = &k.u.process;
    assert_true(p->unique_key == 0xfffffa830007e4c0ULL);
    assert_int_equal(p->pid, 4);
    assert_int_equal(p->parent_pid, 0);
    assert_int_equal(p->session_id, 0xffffffffu);
    assert_int_equal(p->exit_status, 259);
    assert_true(p->directory_table_base == 0x187000);
    assert_int_equal(p->flags, 4);                          /* Protected */
    assert_int_equal(p->sid_len, 12);                       /* S-1-5-18 */
    static const uint8_t local_system[12] = { 1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0 };
    assert_memory_equal(p->sid, local_system, 12);
    assert_true(astr_is(p->image_name, "System"));
    assert_int_equal(p->command_line.nbytes, 0);
    assert_int_equal(p->package_full_name.nbytes, 0);
    assert_int_equal(p->application_id.nbytes, 0);

    /* Thread Start v3 (SYSTEM64): "TID=3668; StackBase=0xfffff880057f1000;
     * StackLimit=0xfffff880057eb000; UserStackBase=0x00000000; StartAddr=0x000000ff;
     * Win32StartAddr=0xfffff8002185916c; TebBase=0x00000000; SubProcessTag=0;
     * BasePriority=8; PagePriority=5; IoPriority=2; ThreadFlags=0" (DataLen=72) */
    ev = real(&b, "04000000540e000000107f0580f8ffff00b07e0580f8ffff0000000000000000000000000000"
                  "0000ff000000000000006c91852100f8ffff00000000000000000000000008050200",
              ETL_HDR_SYSTEM, 0x05, 1, 3);
    assert_int_equal(b.n, 72);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.u.thread.pid, 4);
    assert_int_equal(k.u.thread.tid, 3668);
    assert_true(k.u.thread.stack_base == 0xfffff880057f1000ULL);
    assert_true(k.u.thread.stack_limit == 0xfffff880057eb000ULL);
    assert_true(k.u.thread.start_addr == 0xff);
    assert_true(k.u.thread.win32_start_addr == 0xfffff8002185916cULL);
    assert_int_equal(k.u.thread.base_priority, 8);
    assert_int_equal(k.u.thread.page_priority, 5);
    assert_int_equal(k.u.thread.io_priority, 2);
    assert_int_equal(k.u.thread.thread_flags, 0);
    assert_int_equal(k.u.thread.fields, 3);

    /* SampledProfile v2 (PERFINFO64): "InstructionPointer=0xffffffffffd03003; Priority=14;
     * ExecutingDPC=False; ExecutingISR=False; Count=1", TID 584 */
    ev = real(&b, "0330d0ffffffffff4802000001007000", ETL_HDR_PERFINFO, 0x0F, 0x2E, 2);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_true(k.u.sample.ip == 0xffffffffffd03003ULL);
    assert_int_equal(k.u.sample.thread_id, 584);
    assert_int_equal(k.u.sample.count, 1);
    assert_int_equal((k.u.sample.reserved & 0xFF) >> 3, 14);
    assert_int_equal(k.u.sample.reserved & 3, 0);

    /* EventTrace Extension v2 (PERFINFO64): "GroupMask1=75,535; GroupMask2=2; ...
     * KernelEventVersion=42" */
    ev = real(&b, "0f270100020000000000000000000000000000000000000000000000000000002a000000",
              ETL_HDR_PERFINFO, 0x00, 0x05, 2);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.u.header_ext.group_masks[0], 75535);
    assert_int_equal(k.u.header_ext.group_masks[1], 2);
    assert_int_equal(k.u.header_ext.group_masks[7], 0);
    assert_int_equal(k.u.header_ext.kernel_event_version, 42);
}

static void test_real_win7_latency(void **state)
{
    (void)state;
    Buf b;
    EtlKernelEvent k;
    /* win7-x64-latency-ppt.etl has no baseline; values decoded by hand and cross-checked:
     * the ISR routine lies in hal.dll [0xfffff80003000000, +0x49000) and the DPC routine in
     * ntoskrnl.exe [0xfffff80003049000, +0x5e9000) per the trace's Image DCStart events, and
     * InitialTime precedes the event timestamp by a few ticks.
     *
     * ISR v2 (PERFINFO64) at file offset 0x131640, timestamp 1321740963790: */
    EtlEvent ev = real(&b, "978fe6bd33010000d075000300f8ffff01fd0000", ETL_HDR_PERFINFO,
                       0x0F, 0x43, 2);
    assert_int_equal(b.n, 20);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_true(k.u.isr.initial_time == 1321740963735ULL);
    assert_true(1321740963790LL - (int64_t)k.u.isr.initial_time == 55);
    assert_true(k.u.isr.routine == 0xfffff800030075d0ULL);
    assert_int_equal(k.u.isr.return_value, 1);
    assert_int_equal(k.u.isr.vector, 0xfd);
    assert_int_equal(k.u.isr.vector_hi, 0);

    /* ISR-MSI v2 at 0x300960: vector 0xa3, message 0 */
    ev = real(&b, "6de5e6bd33010000f0752f0480f8ffff01a3000000000000", ETL_HDR_PERFINFO, 0x0F, 0x32, 2);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_true(k.u.isr.routine == 0xfffff880042f75f0ULL);
    assert_int_equal(k.u.isr.vector, 0xa3);
    assert_true(k.u.isr.has_message);
    assert_int_equal(k.u.isr.message_number, 0);

    /* DPC v2 at 0x131668, timestamp 1321740963793 */
    ev = real(&b, "cf8fe6bd33010000e075170300f8ffff", ETL_HDR_PERFINFO, 0x0F, 0x44, 2);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_true(k.u.dpc.initial_time == 1321740963791ULL);
    assert_true(k.u.dpc.routine == 0xfffff800031775e0ULL);

    /* CSwitch v2 at 0x12a818: thread 0x1bb4 (preempted, Ready) -> the idle thread 0 */
    ev = real(&b, "00000000b41b0000100802001700010655ee2902609b0000", ETL_HDR_PERFINFO,
              0x05, 0x24, 2);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.u.cswitch.new_tid, 0);
    assert_int_equal(k.u.cswitch.old_tid, 0x1bb4);
    assert_int_equal(k.u.cswitch.new_priority, 16);
    assert_int_equal(k.u.cswitch.old_priority, 8);
    assert_int_equal(k.u.cswitch.previous_cstate, 2);
    assert_int_equal(k.u.cswitch.old_wait_reason, 23);
    assert_int_equal(k.u.cswitch.old_wait_mode, 0);         /* KernelMode */
    assert_int_equal(k.u.cswitch.old_state, 1);             /* Ready */
    assert_int_equal(k.u.cswitch.old_ideal_processor, 6);
    assert_int_equal(k.u.cswitch.new_wait_time, 0x0229ee55);

    /* Windows 10 1903 (win10-x64-shutdown-perfdiag.etl, buffer 1): Thread DCStart v3 carrying
     * a ThreadName, which the specs put in v4 only. */
    ev = real(&b,
        "ac010000300200000000c3f680f5ffff0090c2f680f5ffff0000e01cb90000000080df1cb9000000"
        "0300000000000000c0329c90f97f000000b0ba1cb90000000000000010050200570069006e003300"
        "32006b002000520061007700200049006e0070007500740020005400680072006500610064000000",
        ETL_HDR_SYSTEM, 0x05, 3, 3);
    assert_int_equal(b.n, 120);
    assert_int_equal(dec(&ev, &k), ETL_DECODE_OK);
    assert_int_equal(k.u.thread.pid, 0x1ac);
    assert_int_equal(k.u.thread.tid, 0x230);
    assert_true(k.u.thread.start_addr == 3);                /* Affinity mask, 2 CPUs */
    assert_int_equal(k.u.thread.fields, 4);
    assert_true(wstr_is(k.u.thread.name, "Win32k Raw Input Thread"));
}

/* ------------------------------------------------------------------------------------------
 * fields.c
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    char name[32];
    EtlFieldType type;
    EtlFieldValue v;
} Rec;

typedef struct {
    Rec r[300];
    int n;
} Recs;

static void record(void *ctx, const char *name, EtlFieldType type, const EtlFieldValue *v)
{
    Recs *rs = ctx;
    assert_true(rs->n < (int)G_N_ELEMENTS(rs->r));
    Rec *r = &rs->r[rs->n++];
    g_strlcpy(r->name, name, sizeof r->name);
    r->type = type;
    r->v = *v;
}

static const Rec *field(const Recs *rs, const char *name)
{
    for (int i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].name, name) == 0)
            return &rs->r[i];
    fail_msg("no field %s", name);
    return NULL;
}

static void emit(const EtlEvent *ev, Recs *rs)
{
    EtlKernelEvent k;
    assert_int_equal(etl_kernel_decode(ev, &k), ETL_DECODE_OK);
    memset(rs, 0, sizeof *rs);
    etl_kernel_emit_fields(ev, &k, record, rs);
}

static void assert_names(const Recs *rs, const char *const *names)
{
    int i = 0;
    for (; names[i]; i++) {
        assert_true(i < rs->n);
        assert_string_equal(rs->r[i].name, names[i]);
    }
    assert_int_equal(rs->n, i);
}

static void test_pool_type_names(void **state)
{
    (void)state;
    char b[96];
    assert_string_equal(etl_pool_type_name(0, b), "NonPagedPool");
    assert_string_equal(etl_pool_type_name(1, b), "PagedPool");
    assert_string_equal(etl_pool_type_name(512, b), "NonPagedPoolNx");
    assert_string_equal(etl_pool_type_name(33, b), "PagedPoolSession");
    assert_string_equal(etl_pool_type_name(544, b), "NonPagedPoolSessionNx");
    assert_string_equal(etl_pool_type_name(4, b), "NonPagedPoolCacheAligned");
    assert_string_equal(etl_pool_type_name(516, b), "NonPagedPoolCacheAlignedNx");
    assert_string_equal(etl_pool_type_name(1 | 8, b), "PagedPool|QuotaFailInsteadOfRaise");
    assert_string_equal(etl_pool_type_name(0x10 | 0x100, b), "NonPagedPool|RaiseIfAllocationFailure|ColdAllocation");
    assert_string_equal(etl_pool_type_name(0x80000000u, b), "NonPagedPool|0x80000000");
}

static void test_fields(void **state)
{
    (void)state;
    static Recs rs;
    Buf b;

    /* Pool session alloc */
    b.n = 0;
    b32(&b, 33); b32(&b, 0x6c6d744e); bptr(&b, 0x90, 8); bptr(&b, 0xfffff8a001234560ULL, 8);
    b32(&b, 1);
    EtlEvent ev = kev(ETL_HDR_PERFINFO, 0x0E, 0x21, 2, 8, &b);
    emit(&ev, &rs);
    static const char *const pool_names[] = { "Type", "PoolType", "Tag", "NumberOfBytes", "Entry",
                                              "SessionId", NULL };
    assert_names(&rs, pool_names);
    assert_int_equal(field(&rs, "PoolType")->type, ETL_FIELD_ASTR);
    assert_int_equal(field(&rs, "Type")->type, ETL_FIELD_U64);
    assert_int_equal(field(&rs, "Type")->v.u, 33);
    assert_int_equal(field(&rs, "Tag")->type, ETL_FIELD_TAG);
    assert_int_equal(field(&rs, "Tag")->v.u, 0x6c6d744e);    /* "Ntml" */
    assert_int_equal(field(&rs, "NumberOfBytes")->v.u, 0x90);
    assert_int_equal(field(&rs, "Entry")->type, ETL_FIELD_HEX);
    assert_true(field(&rs, "Entry")->v.u == 0xfffff8a001234560ULL);
    assert_int_equal(field(&rs, "SessionId")->v.u, 1);
    ev.opcode = 0x20;
    ev.payload_len -= 4;
    emit(&ev, &rs);
    assert_int_equal(rs.n, 5);                               /* no SessionId */

    /* DPC and ISR-MSI */
    b.n = 0;
    b64(&b, 1321740963791ULL); bptr(&b, 0xfffff800031775e0ULL, 8);
    ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x44, 2, 8, &b);
    emit(&ev, &rs);
    static const char *const dpc_names[] = { "InitialTime", "Routine", "DurationUs", NULL };
    assert_names(&rs, dpc_names);
    assert_int_equal(rs.r[0].type, ETL_FIELD_TIME);
    assert_true(rs.r[0].v.i == 1321740963791LL);
    assert_int_equal(rs.r[1].type, ETL_FIELD_HEX);
    assert_true(rs.r[1].v.u == 0xfffff800031775e0ULL);
    /* duration in ticks: the event (exit) timestamp minus InitialTime */
    assert_int_equal(rs.r[2].type, ETL_FIELD_DURATION);
    assert_true(rs.r[2].v.i == ev.timestamp - 1321740963791LL);

    b.n = 0;
    b64(&b, 5); bptr(&b, 0x1234, 4); b8(&b, 1); b8(&b, 0x61); b8(&b, 0); b8(&b, 0); b32(&b, 9);
    ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x32, 2, 4, &b);
    emit(&ev, &rs);
    static const char *const msi_names[] = { "InitialTime", "Routine", "DurationUs", "ReturnValue", "Vector",
                                             "MessageNumber", NULL };
    assert_names(&rs, msi_names);
    assert_int_equal(field(&rs, "ReturnValue")->type, ETL_FIELD_BOOL);
    assert_int_equal(field(&rs, "ReturnValue")->v.u, 1);
    assert_int_equal(field(&rs, "Vector")->v.u, 0x61);
    assert_int_equal(field(&rs, "MessageNumber")->v.u, 9);
    b.b[14] = 1;                                             /* TDH high byte of Vector */
    emit(&ev, &rs);
    assert_int_equal(field(&rs, "VectorHigh")->v.u, 1);

    /* Stack: FrameCount then Frame0..N */
    b.n = 0;
    b64(&b, 42); b32(&b, 4); b32(&b, 8);
    for (unsigned i = 0; i < 3; i++)
        bptr(&b, 0xfffff80003000010ULL + i, 8);
    ev = kev(ETL_HDR_PERFINFO, 0x18, 0x20, 2, 8, &b);
    emit(&ev, &rs);
    static const char *const stack_names[] = { "EventTimeStamp", "StackProcess", "StackThread",
                                               "FrameCount", "Frame0", "Frame1", "Frame2", NULL };
    assert_names(&rs, stack_names);
    assert_int_equal(field(&rs, "EventTimeStamp")->type, ETL_FIELD_TIME);
    assert_int_equal(field(&rs, "FrameCount")->v.u, 3);
    assert_int_equal(field(&rs, "Frame2")->type, ETL_FIELD_HEX);
    assert_true(field(&rs, "Frame2")->v.u == 0xfffff80003000012ULL);
    /* deep stack: names past the static table */
    b.n = 16;
    for (unsigned i = 0; i < 260; i++)
        bptr(&b, i, 4);
    ev = kev(ETL_HDR_PERFINFO, 0x18, 0x20, 2, 4, &b);
    emit(&ev, &rs);
    assert_int_equal(rs.n, 4 + 260);
    assert_string_equal(rs.r[4 + 259].name, "Frame259");
    assert_int_equal(rs.r[4 + 259].v.u, 259);

    /* Process v4 (real, from the win8 trace) */
    b.n = 0;
    bhex(&b, "c0e4070083faffff0400000000000000ffffffff03010000007018000000000004000000502b"
             "ed01a0f8ffff0000000049004e0001010000000000051200000053797374656d00000000000000");
    ev = kev(ETL_HDR_PERFINFO, 0x03, 3, 4, 8, &b);
    emit(&ev, &rs);
    static const char *const proc_names[] = { "UniqueProcessKey", "ProcessId", "ParentId",
        "SessionId", "ExitStatus", "DirectoryTableBase", "Flags", "UserSID", "ImageFileName",
        "CommandLine", "PackageFullName", "ApplicationId", NULL };
    assert_names(&rs, proc_names);
    assert_int_equal(field(&rs, "ExitStatus")->type, ETL_FIELD_I64);
    assert_int_equal(field(&rs, "ExitStatus")->v.i, 259);
    assert_int_equal(field(&rs, "UserSID")->type, ETL_FIELD_BYTES);
    assert_int_equal(field(&rs, "UserSID")->v.bytes.len, 12);
    assert_int_equal(field(&rs, "ImageFileName")->type, ETL_FIELD_ASTR);
    assert_true(astr_is(field(&rs, "ImageFileName")->v.astr, "System"));
    assert_int_equal(field(&rs, "CommandLine")->type, ETL_FIELD_WSTR);

    /* Image v3 and Thread v3 name the v3-only fields */
    b.n = 0;
    bptr(&b, 0x10000, 8); bptr(&b, 0x2000, 8); b32(&b, 7); b32(&b, 1); b32(&b, 2);
    b8(&b, 12); b8(&b, 1); b16(&b, 0); bptr(&b, 0x10000, 8); bzero_(&b, 16);
    bwstr(&b, "a.dll");
    ev = kev(ETL_HDR_SYSTEM, 0x14, 0x02, 3, 8, &b);
    emit(&ev, &rs);
    static const char *const image_names[] = { "ImageBase", "ImageSize", "ProcessId",
        "ImageChecksum", "TimeDateStamp", "SignatureLevel", "SignatureType", "DefaultBase",
        "FileName", NULL };
    assert_names(&rs, image_names);
    assert_true(wstr_is(field(&rs, "FileName")->v.wstr, "a.dll"));

    b.n = 0;
    thread_body(&b, 8, 4);
    bwstr(&b, "T");
    ev = kev(ETL_HDR_SYSTEM, 0x05, 0x01, 4, 8, &b);
    emit(&ev, &rs);
    static const char *const thread_names[] = { "ProcessId", "TThreadId", "StackBase",
        "StackLimit", "UserStackBase", "UserStackLimit", "Affinity", "Win32StartAddr",
        "TebBase", "SubProcessTag", "BasePriority", "PagePriority", "IoPriority",
        "ThreadFlags", "ThreadName", NULL };
    assert_names(&rs, thread_names);
    b.n = 0;
    thread_body(&b, 4, 1);
    ev = kev(ETL_HDR_SYSTEM, 0x05, 0x03, 1, 4, &b);
    emit(&ev, &rs);
    assert_string_equal(rs.r[6].name, "StartAddr");
    assert_string_equal(rs.r[rs.n - 1].name, "WaitMode");
    assert_int_equal(rs.r[rs.n - 1].v.i, 1);

    /* DbgID_RSDS */
    b.n = 0;
    bptr(&b, 0x77710000, 4); b32(&b, 0); bhex(&b, "dfd883ec5955e046b0f1a2b3c4d5e6f7");
    b32(&b, 2); bastr(&b, "wntdll.pdb");
    ev = ktc(0x24, 2, 4, &b);
    emit(&ev, &rs);
    static const char *const rsds_names[] = { "ImageBase", "ProcessId", "GuidSig", "Age",
                                              "PDBFileName", NULL };
    assert_names(&rs, rsds_names);
    assert_int_equal(field(&rs, "GuidSig")->type, ETL_FIELD_GUID);
    assert_int_equal(field(&rs, "GuidSig")->v.guid.data1, 0xec83d8df);
    assert_true(astr_is(field(&rs, "PDBFileName")->v.astr, "wntdll.pdb"));

    /* SampledProfile derived flags */
    b.n = 0;
    bptr(&b, 0x1000, 8); b32(&b, 0); b16(&b, 1); b16(&b, 0x0072);
    ev = kev(ETL_HDR_PERFINFO, 0x0F, 0x2E, 2, 8, &b);
    emit(&ev, &rs);
    assert_int_equal(field(&rs, "ExecutingDPC")->v.u, 0);
    assert_int_equal(field(&rs, "ExecutingISR")->v.u, 1);
    assert_int_equal(field(&rs, "Priority")->v.u, 14);

    /* CSwitch v1 names its bytes 10/11 as quanta */
    b.n = 0;
    bzero_(&b, 16);
    ev = kev(ETL_HDR_PERFINFO, 0x05, 0x24, 1, 8, &b);
    emit(&ev, &rs);
    assert_string_equal(rs.r[4].name, "NewThreadQuantum");
    assert_int_equal(rs.n, 10);

    /* POOL_OTHER and UNKNOWN emit nothing */
    EtlKernelEvent k;
    memset(&k, 0, sizeof k);
    memset(&rs, 0, sizeof rs);
    k.kind = ETL_K_POOL_OTHER;
    etl_kernel_emit_fields(&ev, &k, record, &rs);
    k.kind = ETL_K_UNKNOWN;
    etl_kernel_emit_fields(&ev, &k, record, &rs);
    assert_int_equal(rs.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_dpc),
        cmocka_unit_test(test_isr),
        cmocka_unit_test(test_sampled_profile),
        cmocka_unit_test(test_cswitch),
        cmocka_unit_test(test_ready_thread),
        cmocka_unit_test(test_thread),
        cmocka_unit_test(test_process),
        cmocka_unit_test(test_image),
        cmocka_unit_test(test_stackwalk),
        cmocka_unit_test(test_sysconfig_cpu),
        cmocka_unit_test(test_eventtrace),
        cmocka_unit_test(test_ktc),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_real_win8),
        cmocka_unit_test(test_real_win7_latency),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_pool_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
