/* scenario.c — kernel payload builders and the pool-leak / dpc-storm / large scenarios.
 *
 * Header choices follow the real kernel traces in ../shared/traces: PerfInfo-style events
 * (DPC, ISR, CSwitch, SampledProfile, StackWalk, Process rundown on Windows 10) carry
 * PERFINFO headers; Thread and kernel Image rundown, SystemConfig and the log-file header
 * carry SYSTEM headers; KernelTraceControl ImageID/DbgID are classic FULL_HEADER events with
 * the timestamp and thread of their Image event.  Pool events default to PERFINFO: their hook
 * names are PERFINFO_LOG_TYPE_* like every other PERFINFO-header event seen (DPC, ISR,
 * CSwitch, FileIo), whereas SYSTEM-header events are the WMI_LOG_TYPE_* ones (process,
 * thread, image load, disk I/O).  ScenOptions.pool_system_header switches.
 */
#include "scenario.h"

#include <stdio.h>

/* ------------------------------------------------------------------------------ bytes */

static inline void wr16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static inline void wr32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }
static inline void wr64(uint8_t *p, uint64_t v) { v = GUINT64_TO_LE(v); memcpy(p, &v, 8); }
static inline void wrp(uint8_t *p, uint64_t v, unsigned P)
{
    if (P == 8) wr64(p, v); else wr32(p, (uint32_t)v);
}

/* NUL-terminated UTF-16LE; returns bytes written (0 if it does not fit). */
static size_t put_wstr(uint8_t *out, size_t cap, const char *s)
{
    size_t n = strlen(s ? s : "");
    if ((n + 1) * 2 > cap) return 0;
    for (size_t i = 0; i < n; i++) wr16(out + 2 * i, (uint8_t)s[i]); /* ASCII names only */
    wr16(out + 2 * n, 0);
    return (n + 1) * 2;
}

static size_t put_astr(uint8_t *out, size_t cap, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    if (n > cap) return 0;
    memcpy(out, s ? s : "", n);
    return n;
}

/* ------------------------------------------------------------------------------ payloads */

size_t scen_pool(uint8_t *out, unsigned P, uint32_t type, uint32_t tag, uint64_t size,
                 uint64_t entry, bool session, uint32_t session_id)
{
    wr32(out, type);
    wr32(out + 4, tag);
    wrp(out + 8, size, P);
    wrp(out + 8 + P, entry, P);
    if (!session) return 8 + 2 * P;
    wr32(out + 8 + 2 * P, session_id);
    return 12 + 2 * P;
}

size_t scen_dpc(uint8_t *out, unsigned P, uint64_t initial_time, uint64_t routine)
{
    wr64(out, initial_time);
    wrp(out + 8, routine, P);
    return 8 + P;
}

size_t scen_isr(uint8_t *out, unsigned P, uint64_t initial_time, uint64_t routine,
                uint8_t return_value, uint8_t vector, bool msi, uint32_t message_number)
{
    wr64(out, initial_time);
    wrp(out + 8, routine, P);
    out[8 + P] = return_value;
    out[9 + P] = vector;
    wr16(out + 10 + P, 0);
    if (!msi) return 12 + P;
    wr32(out + 12 + P, message_number);
    return 16 + P;
}

size_t scen_sampled_profile(uint8_t *out, unsigned P, uint64_t ip, uint32_t tid, uint16_t count,
                            uint16_t reserved)
{
    wrp(out, ip, P);
    wr32(out + P, tid);
    wr16(out + P + 4, count);
    wr16(out + P + 6, reserved);
    return P + 8;
}

size_t scen_cswitch(uint8_t *out, const ScenCSwitch *c)
{
    wr32(out, c->new_tid);
    wr32(out + 4, c->old_tid);
    out[8] = (uint8_t)c->new_priority;
    out[9] = (uint8_t)c->old_priority;
    out[10] = c->previous_cstate;
    out[11] = (uint8_t)c->spare;
    out[12] = c->old_wait_reason;
    out[13] = c->old_wait_mode;
    out[14] = c->old_state;
    out[15] = c->old_ideal_processor;
    wr32(out + 16, c->new_wait_time);
    wr32(out + 20, c->reserved);
    return 24;
}

size_t scen_thread(uint8_t *out, unsigned P, unsigned version, const ScenThread *t)
{
    wr32(out, t->pid);
    wr32(out + 4, t->tid);
    uint64_t v[7] = { t->stack_base, t->stack_limit, t->user_stack_base, t->user_stack_limit,
                      t->start_addr, t->win32_start_addr, t->teb_base };
    for (int i = 0; i < 7; i++) wrp(out + 8 + i * P, v[i], P);
    wr32(out + 8 + 7 * P, t->sub_process_tag);
    if (version < 3) return 12 + 7 * P;
    out[12 + 7 * P] = t->base_priority;
    out[13 + 7 * P] = t->page_priority;
    out[14 + 7 * P] = t->io_priority;
    out[15 + 7 * P] = t->thread_flags;
    return 16 + 7 * P;
}

static size_t put_sid(uint8_t *out, size_t cap, unsigned P, ScenSid sid, uint64_t token_ptr)
{
    static const uint32_t user_sub[5] = { 21, 1177238915u, 1060284298u, 682003330u, 1001 };
    if (sid == SCEN_SID_NONE) {
        if (cap < 4) return 0;
        wr32(out, 0);
        return 4;
    }
    uint32_t n = sid == SCEN_SID_USER ? 5 : 1;
    size_t need = 2 * P + 8 + 4 * n;
    if (need > cap) return 0;
    memset(out, 0, 2 * P);
    wrp(out, token_ptr, P);         /* TOKEN_USER: Sid pointer, Attributes (0), padding */
    uint8_t *s = out + 2 * P;
    s[0] = 1;                       /* Revision */
    s[1] = (uint8_t)n;
    memcpy(s + 2, "\0\0\0\0\0\x05", 6); /* SECURITY_NT_AUTHORITY */
    if (sid == SCEN_SID_USER) {
        for (uint32_t i = 0; i < 5; i++) wr32(s + 8 + 4 * i, user_sub[i]);
    } else {
        wr32(s + 8, sid == SCEN_SID_LOCAL_SYSTEM ? 18 : sid == SCEN_SID_LOCAL_SERVICE ? 19 : 20);
    }
    return need;
}

size_t scen_process(uint8_t *out, size_t cap, unsigned P, unsigned version, const ScenProcess *p)
{
    size_t o = 0;
    if (cap < 40) return 0;
    wrp(out, p->unique_key, P);
    wr32(out + P, p->pid);
    wr32(out + P + 4, p->parent_pid);
    wr32(out + P + 8, p->session_id);
    wr32(out + P + 12, (uint32_t)p->exit_status);
    wrp(out + P + 16, p->directory_table_base, P);
    o = 2 * P + 16;
    if (version >= 4) {
        wr32(out + o, p->flags);
        o += 4;
    }
    size_t n = put_sid(out + o, cap - o, P, p->sid, p->token_pointer);
    if (!n) return 0;
    o += n;
    if (!(n = put_astr(out + o, cap - o, p->image_name))) return 0;
    o += n;
    if (!(n = put_wstr(out + o, cap - o, p->command_line))) return 0;
    o += n;
    if (version >= 4) {
        if (!(n = put_wstr(out + o, cap - o, p->package_full_name))) return 0;
        o += n;
        if (!(n = put_wstr(out + o, cap - o, p->application_id))) return 0;
        o += n;
    }
    return o;
}

size_t scen_image(uint8_t *out, size_t cap, unsigned P, unsigned version, const ScenImage *im)
{
    size_t fixed = 3 * P + 32;
    if (cap < fixed) return 0;
    memset(out, 0, fixed);
    wrp(out, im->base, P);
    wrp(out + P, im->size, P);
    wr32(out + 2 * P, im->pid);
    wr32(out + 2 * P + 4, im->checksum);
    wr32(out + 2 * P + 8, im->time_date_stamp);
    if (version >= 3) {
        out[2 * P + 12] = im->signature_level;
        out[2 * P + 13] = im->signature_type;
    }
    wrp(out + 2 * P + 16, im->default_base, P);
    size_t n = put_wstr(out + fixed, cap - fixed, im->file_name);
    return n ? fixed + n : 0;
}

size_t scen_stack(uint8_t *out, size_t cap, unsigned P, uint64_t event_ts, uint32_t pid,
                  uint32_t tid, const uint64_t *frames, uint32_t n)
{
    if (16 + (size_t)n * P > cap) return 0;
    wr64(out, event_ts);
    wr32(out + 8, pid);
    wr32(out + 12, tid);
    for (uint32_t i = 0; i < n; i++) wrp(out + 16 + i * P, frames[i], P);
    return 16 + (size_t)n * P;
}

size_t scen_stack_key_ref(uint8_t *out, unsigned P, uint64_t event_ts, uint32_t pid, uint32_t tid,
                          uint64_t key)
{
    wr64(out, event_ts);
    wr32(out + 8, pid);
    wr32(out + 12, tid);
    wrp(out + 16, key, P);
    return 16 + P;
}

size_t scen_stack_key_def(uint8_t *out, size_t cap, unsigned P, uint64_t key,
                          const uint64_t *frames, uint32_t n)
{
    if ((size_t)(n + 1) * P > cap) return 0;
    wrp(out, key, P);
    for (uint32_t i = 0; i < n; i++) wrp(out + (i + 1) * P, frames[i], P);
    return (size_t)(n + 1) * P;
}

size_t scen_sysconfig_cpu(uint8_t *out, size_t cap, unsigned P, uint32_t mhz, uint32_t cpus,
                          uint32_t mem_mb, const char *computer_name, const char *domain_name)
{
    size_t len = 800 + 2 * P + 12;
    if (len > cap) return 0;
    memset(out, 0, len);
    wr32(out, mhz);
    wr32(out + 4, cpus);
    wr32(out + 8, mem_mb);
    wr32(out + 12, 4096);
    wr32(out + 16, 65536);
    put_wstr(out + 20, 512, computer_name);
    put_wstr(out + 532, 268, domain_name);
    wrp(out + 800, 0, P);                                   /* HyperThreadingFlag */
    wrp(out + 800 + P, P == 8 ? 0x7ffffffeffffull : 0x7ffeffffu, P); /* HighestUserAddress */
    wr16(out + 800 + 2 * P, P == 8 ? 9 : 0);                /* PROCESSOR_ARCHITECTURE_AMD64/INTEL */
    wr16(out + 802 + 2 * P, 6);
    wr16(out + 804 + 2 * P, 0x9e0a);
    out[806 + 2 * P] = 1;                                   /* PaeEnabled */
    out[807 + 2 * P] = 1;                                   /* NxEnabled */
    wr32(out + 808 + 2 * P, 2667);                          /* MemorySpeed */
    return len;
}

size_t scen_image_id(uint8_t *out, size_t cap, unsigned P, uint64_t base, uint64_t size,
                     uint32_t pid, uint32_t time_date_stamp, const char *original_file_name)
{
    size_t fixed = 2 * P + 8;
    if (cap < fixed) return 0;
    wrp(out, base, P);
    wrp(out + P, size, P);
    wr32(out + 2 * P, pid);
    wr32(out + 2 * P + 4, time_date_stamp);
    size_t n = put_wstr(out + fixed, cap - fixed, original_file_name);
    return n ? fixed + n : 0;
}

size_t scen_dbgid_rsds(uint8_t *out, size_t cap, unsigned P, uint64_t base, uint32_t pid,
                       const EtlGuid *guid, uint32_t age, const char *pdb_name)
{
    size_t fixed = P + 24;
    if (cap < fixed) return 0;
    wrp(out, base, P);
    wr32(out + P, pid);
    etl_guid_write(guid, out + P + 4);
    wr32(out + P + 20, age);
    size_t n = put_astr(out + fixed, cap - fixed, pdb_name);
    return n ? fixed + n : 0;
}

/* ------------------------------------------------------------------------------ modules */

enum { M_NT, M_HAL, M_ACPI, M_WDF, M_STORPORT, M_NDIS, M_TCPIP, M_USBPORT, M_DXGKRNL,
       M_LEAKY, M_STORM, M_COUNT };

static const struct {
    const char *name, *path, *pdb;
    uint64_t base64;
    uint32_t base32, size;
} MODS[M_COUNT] = {
    { "ntoskrnl.exe", "\\SystemRoot\\system32\\ntoskrnl.exe", "ntkrnlmp.pdb", 0xfffff8026a400000ull, 0x82a00000u, 0x1046000 },
    { "hal.dll", "\\SystemRoot\\system32\\hal.dll", "hal.pdb", 0xfffff80269e00000ull, 0x82900000u, 0x96000 },
    { "ACPI.sys", "\\SystemRoot\\System32\\drivers\\ACPI.sys", "acpi.pdb", 0xfffff8026c800000ull, 0x8a600000u, 0xd6000 },
    { "Wdf01000.sys", "\\SystemRoot\\system32\\drivers\\Wdf01000.sys", "Wdf01000.pdb", 0xfffff8026c400000ull, 0x8a400000u, 0xe1000 },
    { "storport.sys", "\\SystemRoot\\System32\\drivers\\storport.sys", "storport.pdb", 0xfffff8026cc00000ull, 0x8a800000u, 0xf4000 },
    { "ndis.sys", "\\SystemRoot\\system32\\drivers\\ndis.sys", "ndis.pdb", 0xfffff8026d200000ull, 0x8ac00000u, 0x16c000 },
    { "tcpip.sys", "\\SystemRoot\\System32\\drivers\\tcpip.sys", "tcpip.pdb", 0xfffff8026d400000ull, 0x8ae00000u, 0x2c4000 },
    { "USBPORT.SYS", "\\SystemRoot\\System32\\drivers\\USBPORT.SYS", "usbport.pdb", 0xfffff8026e600000ull, 0x8b200000u, 0x7d000 },
    { "dxgkrnl.sys", "\\SystemRoot\\System32\\drivers\\dxgkrnl.sys", "dxgkrnl.pdb", 0xfffff8026e800000ull, 0x8b400000u, 0x3d5000 },
    { "leakydrv.sys", "\\SystemRoot\\System32\\drivers\\leakydrv.sys", "leakydrv.pdb", 0xfffff80271a20000ull, 0x8d020000u, 0x12000 },
    { "stormdrv.sys", "\\SystemRoot\\System32\\drivers\\stormdrv.sys", "stormdrv.pdb", 0xfffff80271a40000ull, 0x8d040000u, 0x9000 },
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* ------------------------------------------------------------------------------ processes */

static const struct {
    uint32_t pid, ppid, session;
    const char *name, *cmd;
    ScenSid sid;
    uint32_t n_threads, first_tid;
    int8_t prio;
} PROCS[] = {
    { 4, 0, 0xFFFFFFFFu, "System", "", SCEN_SID_LOCAL_SYSTEM, 6, 8, 13 },
    { 392, 4, 0xFFFFFFFFu, "smss.exe", "\\SystemRoot\\System32\\smss.exe", SCEN_SID_LOCAL_SYSTEM, 2, 396, 11 },
    { 512, 500, 0, "csrss.exe", "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows", SCEN_SID_LOCAL_SYSTEM, 3, 516, 13 },
    { 700, 604, 0, "services.exe", "C:\\Windows\\system32\\services.exe", SCEN_SID_LOCAL_SYSTEM, 3, 704, 9 },
    { 1024, 700, 0, "svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p", SCEN_SID_LOCAL_SYSTEM, 4, 1028, 8 },
    { 1288, 700, 0, "svchost.exe", "C:\\Windows\\System32\\svchost.exe -k LocalService -p", SCEN_SID_LOCAL_SERVICE, 2, 1292, 8 },
    { 1540, 700, 0, "svchost.exe", "C:\\Windows\\System32\\svchost.exe -k NetworkService -p", SCEN_SID_NETWORK_SERVICE, 2, 1544, 8 },
    { 4412, 4380, 1, "explorer.exe", "C:\\Windows\\Explorer.EXE", SCEN_SID_USER, 4, 4416, 8 },
};
#define N_PROCS (sizeof PROCS / sizeof PROCS[0])

/* ------------------------------------------------------------------------------ pool sites */

typedef struct {
    const char *tag;
    uint32_t type;
    uint32_t min_size, max_size;
    uint32_t life_min_us, life_max_us;
    uint32_t weight;
    int mod;                 /* caller module (stack) */
    uint32_t rva[3];         /* caller frames inside mod */
    uint32_t leak_per_mille; /* allocations taking the leaking path (never freed) */
    bool session;            /* session pool: opcodes 0x21/0x23, SessionId 1 or 2 */
} Site;

enum { TAG_IRP, TAG_NDNB, TAG_MMST, TAG_FILE, TAG_WDF, TAG_LEAK, TAG_LKPG, TAG_GLA5, N_SITES };

static const Site SITES[N_SITES] = {
    { "Irp ", 512, 0x118, 0x1f0, 20, 2000, 30, M_NT, { 0x2a5c10, 0x5c3e1c, 0x5c2b40 }, 0 },
    { "NDnb", 512, 0x200, 0x800, 50, 5000, 20, M_NDIS, { 0x1e4f0, 0x2c310, 0x1a890 }, 0 },
    { "MmSt", 1, 0x40, 0x400, 1000, 800000, 15, M_NT, { 0x3a1b40, 0x3a0c10, 0x5f9000 }, 0 },
    { "File", 512, 0x158, 0x158, 100000, 3000000, 10, M_NT, { 0x5d1a00, 0x5ce330, 0x5cd010 }, 0 },
    { "Wdf ", 512, 0x50, 0x200, 10, 1000, 10, M_WDF, { 0x4c1b0, 0x2a330, 0x1c450 }, 0 },
    { "Leak", 512, 0x100, 0x400, 50, 3000, 12, M_LEAKY, { 0x1a40, 0x2210, 0x2400 }, 400 },
    { "LkPg", 1, 0x38, 0x38, 0, 0, 2, M_LEAKY, { 0x3100, 0x10e0, 0x1150 }, 1000 },
    { "Gla5", 33, 0x80, 0x300, 100000, 2000000, 8, M_DXGKRNL, { 0x6a310, 0x6b020, 0x51c40 }, 0, true },
};

/* ------------------------------------------------------------------------------ DPC sources */

typedef struct {
    int mod;
    uint8_t isr_op;          /* 0x43 ISR, 0x32 ISR-MSI, 0 none */
    uint8_t vector;
    uint8_t dpc_op;          /* 0x44 DPC, 0x45 TimerDPC, 0x42 ThreadedDPC */
    uint32_t isr_rva, dpc_rva;
    uint32_t per_s;          /* per CPU */
    uint32_t cpu_mask;
    uint32_t isr_min_us, isr_max_us, dpc_min_us, dpc_max_us;
} Src;

static const Src SRCS[] = {
    { M_NDIS, 0x32, 0x91, 0x44, 0x2b10, 0x2c40, 40, 0xFFFFFFFFu, 1, 4, 5, 40 },
    { M_STORPORT, 0x32, 0xa1, 0x44, 0x13c0, 0x15d0, 25, 0xFFFFFFFFu, 1, 3, 8, 60 },
    { M_USBPORT, 0x43, 0x71, 0x44, 0x8a20, 0x8c70, 10, 0x1, 2, 6, 10, 80 },
    { M_DXGKRNL, 0x32, 0xb0, 0x44, 0x41a30, 0x41f80, 30, 0x3, 1, 5, 15, 120 },
    { M_ACPI, 0x43, 0x51, 0x44, 0x3e10, 0x3f40, 1, 0x1, 3, 9, 20, 90 },
    { M_WDF, 0, 0, 0x42, 0, 0x5a90, 5, 0xFFFFFFFFu, 0, 0, 20, 200 },
    { M_USBPORT, 0, 0, 0x45, 0, 0x9120, 4, 0x2, 0, 0, 5, 30 },
};
#define N_SRCS (sizeof SRCS / sizeof SRCS[0])

/* ------------------------------------------------------------------------------ generator */

typedef struct {
    uint32_t tid, pid;
    int8_t prio;
} Thr;

enum { PE_CSWITCH, PE_ALLOC, PE_FREE, PE_INTR, PE_PROFILE, PE_TLG, PE_WPP, PE_MISC };

typedef struct {
    int64_t  ts;
    uint64_t order;
    uint16_t cpu;
    uint8_t  kind, opcode;
    uint32_t a, b;
    uint64_t x, y;
    int32_t  s;
} Pend;

typedef struct {
    ScenOptions o;
    EtlWriter *w;
    ScenTruth *t;
    GError **error;
    bool ok;
    unsigned P;
    uint32_t cpus;
    uint64_t rng;
    int64_t ts0, freq, t_begin, t_end, t_leak;
    uint64_t base[M_COUNT];
    Thr thr[128];
    uint32_t n_thr;
    uint32_t cur[64];          /* running thread per CPU (index into thr) */
    int64_t busy[64];          /* DPC/ISR timeline per CPU */
    Pend *heap;
    uint32_t hn, hcap;
    uint64_t order;
    /* stack caching */
    struct { uint64_t key; int32_t stack; int64_t last_ref; } ks[32];
    uint32_t n_ks, ks_rr;
    int32_t stack_slot[SCEN_MAX_STACKS];
    /* pool */
    int32_t site_stack[N_SITES], site_free_stack[N_SITES], site_leak_stack[N_SITES];
    uint64_t region[4];        /* nonpaged, paged, session 1, session 2 (same VAs) */
    uint32_t next_slot[4];
    uint32_t *free_slots[4];
    uint32_t n_free[4], cap_free[4];
    int32_t tag_index[N_SITES];
    uint32_t cap_records;
    /* DPC rows per (source, isr?) */
    int32_t row_isr[N_SRCS + 2], row_dpc[N_SRCS + 2];
    int32_t storm_row, storm_isr_row;
    uint32_t wpp_combo, misc_n;
    uint8_t pl[SCEN_PAYLOAD_MAX];
    uint8_t pl2[SCEN_PAYLOAD_MAX];
} Gen;

static uint64_t rnd(Gen *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [lo, hi] */
static uint64_t rr(Gen *g, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + rnd(g) % (hi - lo + 1);
}
static bool chance(Gen *g, uint32_t per_million) { return rnd(g) % 1000000 < per_million; }

static int64_t us(const Gen *g, int64_t v) { return v * g->freq / 1000000; }

static uint64_t maddr(const Gen *g, int mod, uint32_t rva) { return g->base[mod] + rva; }

/* heap of pending events ordered by (ts, order) */
static bool pend_less(const Pend *a, const Pend *b)
{
    return a->ts != b->ts ? a->ts < b->ts : a->order < b->order;
}

static void push(Gen *g, Pend p)
{
    if (g->hn == g->hcap) {
        g->hcap = g->hcap ? g->hcap * 2 : 1024;
        g->heap = g_renew(Pend, g->heap, g->hcap);
    }
    p.order = g->order++;
    uint32_t i = g->hn++;
    while (i) {
        uint32_t up = (i - 1) / 2;
        if (!pend_less(&p, &g->heap[up])) break;
        g->heap[i] = g->heap[up];
        i = up;
    }
    g->heap[i] = p;
}

static Pend pop(Gen *g)
{
    Pend top = g->heap[0], last = g->heap[--g->hn];
    uint32_t i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        const Pend *best = &last;
        if (l < g->hn && pend_less(&g->heap[l], best)) { m = l; best = &g->heap[l]; }
        if (r < g->hn && pend_less(&g->heap[r], best)) { m = r; }
        if (m == i) break;
        g->heap[i] = g->heap[m];
        i = m;
    }
    if (g->hn) g->heap[i] = last;
    return top;
}

/* ------------------------------------------------------------------------------ emitting */

static void count_kernel(Gen *g, EtlHeaderKind hk, EtlKernelKind kk)
{
    g->t->events_by_header[hk]++;
    g->t->events_by_kind[kk]++;
}

static void kev(Gen *g, EtlWriterKernelHeader h, uint8_t group, uint8_t opcode, uint8_t version,
                uint16_t cpu, int64_t ts, uint32_t tid, uint32_t pid, const void *pl, size_t len,
                EtlKernelKind kk)
{
    if (!g->ok) return;
    EtlWriterKernel k = { .header = h, .group = group, .opcode = opcode, .version = version,
                          .cpu = cpu, .timestamp = ts, .tid = tid, .pid = pid };
    if (!etl_writer_kernel(g->w, &k, pl, len, g->error)) { g->ok = false; return; }
    count_kernel(g, h == ETL_WRITER_SYSTEM ? ETL_HDR_SYSTEM : h == ETL_WRITER_COMPACT ? ETL_HDR_COMPACT
                                                                              : ETL_HDR_PERFINFO, kk);
}

static void classic(Gen *g, uint16_t cpu, int64_t ts, uint32_t tid, uint32_t pid, const EtlGuid *guid,
                    uint8_t type, uint16_t version, const void *pl, size_t len, EtlKernelKind kk)
{
    if (!g->ok) return;
    EtlWriterClassic c = { .cpu = cpu, .timestamp = ts, .tid = tid, .pid = pid, .guid = *guid,
                           .type = type, .version = version };
    if (!etl_writer_classic(g->w, &c, pl, len, g->error)) { g->ok = false; return; }
    g->t->events_by_header[ETL_HDR_FULL]++;
    g->t->events_by_kind[kk]++;
}

/* ------------------------------------------------------------------------------ stacks */

static int32_t add_stack(Gen *g, const uint64_t *frames, uint32_t n, const char *owner)
{
    ScenTruth *t = g->t;
    g_assert(t->n_stacks < SCEN_MAX_STACKS && n <= 32);
    ScenStack *s = &t->stacks[t->n_stacks];
    memcpy(s->frames, frames, n * sizeof *frames);
    s->n = n;
    s->owner = owner;
    g->stack_slot[t->n_stacks] = -1;
    return (int32_t)t->n_stacks++;
}

/* Key of a stack in the stack cache; evicting (KeyDelete) when the cache is full. */
static uint64_t stack_key(Gen *g, int32_t stack, uint16_t cpu, int64_t ts)
{
    int32_t slot = g->stack_slot[stack];
    if (slot < 0) {
        uint32_t n_slots = 8;
        if (g->n_ks < n_slots) {
            slot = (int32_t)g->n_ks++;
            g->ks[slot].key = g->P == 8 ? 0xffffca8690a4d000ull + (uint64_t)slot * 0x40
                                        : 0x8f4a0000u + (uint32_t)slot * 0x40;
        } else {
            /* evict the next slot not referenced at this very timestamp */
            for (uint32_t k = 0; k < g->n_ks; k++) {
                uint32_t c = (g->ks_rr + k) % g->n_ks;
                if (g->ks[c].last_ref < ts) { slot = (int32_t)c; break; }
            }
            if (slot < 0) slot = (int32_t)g->ks_rr % (int32_t)g->n_ks;
            g->ks_rr = (uint32_t)slot + 1;
            int32_t old = g->ks[slot].stack;
            const ScenStack *s = &g->t->stacks[old];
            size_t len = scen_stack_key_def(g->pl2, sizeof g->pl2, g->P, g->ks[slot].key, s->frames, s->n);
            kev(g, ETL_WRITER_PERFINFO, 0x18, 0x23, 2, cpu, ts, 0, 0, g->pl2, len, ETL_K_STACK_KEY_DEF);
            g->t->stack_key_defs++;
            g->stack_slot[old] = -1;
        }
        g->ks[slot].stack = stack;
        g->stack_slot[stack] = slot;
    }
    g->ks[slot].last_ref = ts;
    return g->ks[slot].key;
}

/* StackWalk event(s) for the event at (cpu, ts) that ran in thread th. */
static void emit_stack(Gen *g, int32_t stack, uint16_t cpu, int64_t ev_ts, int64_t st_ts, const Thr *th)
{
    if (stack < 0) return;
    if (g->o.stack_keys) {
        uint64_t key = stack_key(g, stack, cpu, st_ts);
        size_t len = scen_stack_key_ref(g->pl2, g->P, (uint64_t)ev_ts, th->pid, th->tid, key);
        kev(g, ETL_WRITER_PERFINFO, 0x18, 0x25, 2, cpu, st_ts, 0, 0, g->pl2, len, ETL_K_STACK_KEY_REF);
        g->t->stack_key_refs++;
    } else {
        const ScenStack *s = &g->t->stacks[stack];
        size_t len = scen_stack(g->pl2, sizeof g->pl2, g->P, (uint64_t)ev_ts, th->pid, th->tid, s->frames, s->n);
        kev(g, ETL_WRITER_PERFINFO, 0x18, 0x20, 2, cpu, st_ts, 0, 0, g->pl2, len, ETL_K_STACK);
        g->t->stack_events++;
    }
}

/* ------------------------------------------------------------------------------ rundown */

static const EtlGuid KTC_GUID = { 0xb3e675d7, 0x2554, 0x4f18, { 0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde } };

static void rundown(Gen *g, bool end, int64_t *ts)
{
    uint8_t op = end ? 4 : 3;
    unsigned P = g->P;
    const uint32_t rd_tid = g->thr[g->cpus].tid, rd_pid = 4; /* a System thread runs it */
    /* processes: Idle + table (v4, PERFINFO as Windows 10 does) */
    for (int i = -1; i < (int)N_PROCS; i++) {
        ScenProcess p = { 0 };
        if (i < 0) {
            p.image_name = "Idle";
            p.session_id = 0xFFFFFFFFu;
            p.sid = SCEN_SID_LOCAL_SYSTEM;
            p.directory_table_base = 0x1ad000;
        } else {
            p.pid = PROCS[i].pid;
            p.parent_pid = PROCS[i].ppid;
            p.session_id = PROCS[i].session;
            p.image_name = PROCS[i].name;
            p.command_line = PROCS[i].cmd;
            p.sid = PROCS[i].sid;
            p.directory_table_base = 0x1ad000 + (uint64_t)(i + 1) * 0x3b1000;
            p.exit_status = end ? 259 : 0;   /* STILL_ACTIVE at DCEnd */
        }
        p.unique_key = P == 8 ? 0xffffb488fc9c0080ull + (uint64_t)(i + 1) * 0x3c0 : 0x86a1c080u + (uint32_t)(i + 1) * 0x2c0;
        p.token_pointer = P == 8 ? 0xffffb488fc9cdc20ull + (uint64_t)(i + 1) * 0x70 : 0x8c1ad220u + (uint32_t)(i + 1) * 0x50;
        size_t len = scen_process(g->pl, sizeof g->pl, P, 4, &p);
        kev(g, ETL_WRITER_PERFINFO, 0x03, op, 4, 0, (*ts)++, 0, 0, g->pl, len, ETL_K_PROCESS);
    }
    /* threads (v3, SYSTEM header with zero ids as in real rundowns) */
    for (uint32_t i = 0; i < g->n_thr; i++) {
        const Thr *th = &g->thr[i];
        ScenThread t = { .pid = th->pid, .tid = th->tid, .base_priority = (uint8_t)th->prio,
                         .page_priority = 5, .io_priority = 2 };
        uint64_t kstack = P == 8 ? 0xffff8a0c3e600000ull + (uint64_t)i * 0x8000 : 0x9e600000u + i * 0x4000u;
        t.stack_base = kstack;
        t.stack_limit = kstack - (P == 8 ? 0x6000 : 0x3000);
        if (th->pid > 4) {
            t.user_stack_base = 0x2c0000 + (uint64_t)i * 0x100000;
            t.user_stack_limit = t.user_stack_base - 0x4000;
            t.teb_base = P == 8 ? 0x7ff5ff000000ull + i * 0x2000ull : 0x7ffde000u - i * 0x1000u;
            t.win32_start_addr = P == 8 ? 0x7ff8a1c41230ull : 0x77c41230u;
        }
        t.start_addr = maddr(g, M_NT, 0x1e3a40);
        size_t len = scen_thread(g->pl, P, 3, &t);
        kev(g, ETL_WRITER_SYSTEM, 0x05, op, 3, 0, (*ts)++, 0, 0, g->pl, len, ETL_K_THREAD);
    }
    /* kernel images (v3, SYSTEM), each with ImageID + DbgID_RSDS at the same timestamp */
    for (uint32_t m = 0; m < M_COUNT; m++) {
        const ScenModule *sm = &g->t->modules[m];
        int64_t t0 = (*ts)++;
        ScenImage im = { .base = sm->base, .size = sm->size, .checksum = sm->checksum,
                         .time_date_stamp = sm->time_date_stamp, .signature_level = 0x0c,
                         .signature_type = 1, .file_name = sm->path };
        size_t len = scen_image(g->pl, sizeof g->pl, P, 3, &im);
        kev(g, ETL_WRITER_SYSTEM, 0x14, op, 3, 0, t0, rd_tid, rd_pid, g->pl, len, ETL_K_IMAGE);
        if (end) continue;  /* xperf adds the KernelTraceControl records once */
        len = scen_image_id(g->pl, sizeof g->pl, P, sm->base, sm->size, 0, sm->time_date_stamp, sm->name);
        classic(g, 0, t0, rd_tid, 0, &KTC_GUID, 0x00, 2, g->pl, len, ETL_K_IMAGE_ID);
        len = scen_dbgid_rsds(g->pl, sizeof g->pl, P, sm->base, 0, &sm->pdb_guid, sm->pdb_age, sm->pdb_name);
        classic(g, 0, t0, rd_tid, 0, &KTC_GUID, 0x24, 2, g->pl, len, ETL_K_DBGID_RSDS);
    }
    if (end) {
        size_t len = scen_sysconfig_cpu(g->pl, sizeof g->pl, P, etl_writer_config(g->w)->cpu_mhz, g->cpus,
                                        16384, "ETLA-TEST", "WORKGROUP");
        kev(g, ETL_WRITER_SYSTEM, 0x0B, 0x0A, 3, 0, (*ts)++, rd_tid, rd_pid, g->pl, len, ETL_K_SYSCONFIG_CPU);
        kev(g, ETL_WRITER_PERFINFO, 0x00, 0x08, 2, 0, (*ts)++, 0, 0, NULL, 0, ETL_K_UNKNOWN); /* RundownComplete */
    }
}

/* ------------------------------------------------------------------------------ pool */

static uint32_t tag_slot(Gen *g, int site)
{
    if (g->tag_index[site] < 0) {
        ScenPoolTag *pt = &g->t->tags[g->t->n_tags];
        memset(pt, 0, sizeof *pt);
        pt->tag = scen_tag(SITES[site].tag);
        pt->type = SITES[site].type;
        g->tag_index[site] = (int32_t)g->t->n_tags++;
    }
    return (uint32_t)g->tag_index[site];
}

static uint64_t take_entry(Gen *g, int paged)
{
    uint32_t slot;
    if (g->n_free[paged] && chance(g, 500000)) {
        slot = g->free_slots[paged][--g->n_free[paged]];
    } else {
        slot = g->next_slot[paged]++;
    }
    return g->region[paged] + (uint64_t)slot * 0x1000 + 0x10;   /* past the pool header */
}

static void give_entry(Gen *g, int paged, uint64_t entry)
{
    if (entry < g->region[paged]) return;   /* pre-trace block */
    if (g->n_free[paged] == g->cap_free[paged]) {
        g->cap_free[paged] = g->cap_free[paged] ? 2 * g->cap_free[paged] : 256;
        g->free_slots[paged] = g_renew(uint32_t, g->free_slots[paged], g->cap_free[paged]);
    }
    g->free_slots[paged][g->n_free[paged]++] = (uint32_t)((entry - 0x10 - g->region[paged]) / 0x1000);
}

static uint32_t new_record(Gen *g)
{
    ScenTruth *t = g->t;
    if (g->o.kind == SCEN_LARGE) return UINT32_MAX;
    if (t->n_records == g->cap_records) {
        g->cap_records = g->cap_records ? 2 * g->cap_records : 1024;
        t->records = g_renew(ScenPoolRecord, t->records, g->cap_records);
    }
    ScenPoolRecord *r = &t->records[t->n_records];
    memset(r, 0, sizeof *r);
    r->alloc_stack = r->free_stack = -1;
    return t->n_records++;
}

/* Schedule one allocation (and its free) at ts on cpu. */
static void gen_alloc(Gen *g, uint16_t cpu, int64_t ts)
{
    uint32_t total = 0, pick;
    for (int i = 0; i < N_SITES; i++) total += SITES[i].weight;
    pick = (uint32_t)rr(g, 0, total - 1);
    int site = 0;
    while (pick >= SITES[site].weight) pick -= SITES[site++].weight;
    const Site *s = &SITES[site];
    bool leak = s->leak_per_mille && ts >= g->t_leak && rr(g, 0, 999) < s->leak_per_mille;
    if (s->leak_per_mille == 1000 && ts < g->t_leak) return;
    uint64_t size = rr(g, s->min_size / 16, s->max_size / 16) * 16;
    if (s->min_size % 16) size = s->min_size;
    uint8_t sid = s->session ? (uint8_t)rr(g, 1, 2) : 0;
    int paged = s->session ? 1 + sid : (int)(s->type & 1);
    uint64_t entry = take_entry(g, paged);
    int64_t free_ts = INT64_MAX;
    if (!leak && s->life_max_us) {
        free_ts = ts + us(g, (int64_t)rr(g, s->life_min_us, s->life_max_us));
        if (free_ts >= g->t_end) free_ts = g->t_end - (int64_t)rr(g, 1, 1000);
        if (free_ts <= ts) free_ts = ts + 1;
    }
    uint16_t fcpu = chance(g, 700000) ? cpu : (uint16_t)rr(g, 0, g->cpus - 1);
    uint32_t ti = tag_slot(g, site);
    ScenPoolTag *pt = &g->t->tags[ti];
    pt->allocs++;
    pt->alloc_bytes += size;
    if (free_ts == INT64_MAX) {
        pt->aifo++;
        pt->aifo_bytes += size;
    } else {
        pt->frees++;
        pt->free_bytes += size;
        pt->aifi++;
        pt->aifi_bytes += size;
    }
    int32_t st = leak ? g->site_leak_stack[site] : g->site_stack[site];
    if (leak && site == TAG_LEAK) { g->t->leak_count++; g->t->leak_bytes += size; }
    if (leak && site == TAG_LKPG) { g->t->leak2_count++; g->t->leak2_bytes += size; }
    uint32_t rec = new_record(g);
    if (rec != UINT32_MAX) {
        ScenPoolRecord *r = &g->t->records[rec];
        r->alloc_ts = ts;
        r->free_ts = free_ts;
        r->entry = entry;
        r->size = size;
        r->tag = pt->tag;
        r->type = s->type;
        r->cpu_alloc = cpu;
        r->cpu_free = fcpu;
        r->session_id = sid;
        r->alloc_stack = st;
        r->free_stack = free_ts == INT64_MAX ? -1 : g->site_free_stack[site];
    }
    push(g, (Pend){ .ts = ts, .cpu = cpu, .kind = PE_ALLOC, .opcode = sid, .a = (uint32_t)site, .b = rec,
                    .x = entry, .y = size, .s = st });
    if (free_ts != INT64_MAX)
        push(g, (Pend){ .ts = free_ts, .cpu = fcpu, .kind = PE_FREE, .opcode = sid, .a = (uint32_t)site,
                        .b = rec, .x = entry, .y = size, .s = g->site_free_stack[site] });
}

/* Frees of blocks allocated before the trace started (AOFI over the whole trace). */
static void gen_pretrace_frees(Gen *g)
{
    for (int i = 0; i < 24; i++) {
        int site = i % 2 ? TAG_FILE : TAG_MMST;
        const Site *s = &SITES[site];
        int64_t ts = g->t_begin + us(g, (int64_t)rr(g, 1000, 400000));
        uint64_t size = s->min_size == s->max_size ? s->min_size : rr(g, s->min_size / 16, s->max_size / 16) * 16;
        int paged = s->type & 1;
        uint64_t entry = g->region[paged] - 0x100000 + (uint64_t)i * 0x1000 + 0x10;
        uint16_t cpu = (uint16_t)rr(g, 0, g->cpus - 1);
        ScenPoolTag *pt = &g->t->tags[tag_slot(g, site)];
        pt->frees++;
        pt->free_bytes += size;
        pt->aofi++;
        pt->aofi_bytes += size;
        uint32_t rec = new_record(g);
        if (rec != UINT32_MAX) {
            ScenPoolRecord *r = &g->t->records[rec];
            r->alloc_ts = INT64_MIN;
            r->free_ts = ts;
            r->entry = entry;
            r->size = size;
            r->tag = pt->tag;
            r->type = s->type;
            r->cpu_alloc = cpu;
            r->cpu_free = cpu;
            r->free_stack = g->site_free_stack[site];
        }
        push(g, (Pend){ .ts = ts, .cpu = cpu, .kind = PE_FREE, .a = (uint32_t)site, .b = rec,
                        .x = entry, .y = size, .s = g->site_free_stack[site] });
    }
}

static void setup_pool(Gen *g)
{
    bool p8 = g->P == 8;
    g->region[0] = p8 ? 0xffffc38a12000000ull : 0x85000000u;
    g->region[1] = p8 ? 0xffffa18c34000000ull : 0x9a000000u;
    /* session pool lives in per-session address space: both sessions use the same VAs */
    g->region[2] = g->region[3] = p8 ? 0xffffd28a40000000ull : 0xbd000000u;
    for (int i = 0; i < N_SITES; i++) {
        const Site *s = &SITES[i];
        uint64_t f[12];
        uint32_t n = 0;
        f[n++] = maddr(g, M_NT, 0x2f1a20);                 /* nt!ExAllocatePoolWithTag */
        for (int k = 0; k < 3; k++) f[n++] = maddr(g, s->mod, s->rva[k]);
        f[n++] = maddr(g, M_NT, 0x27f3c0);                 /* nt!IofCallDriver */
        f[n++] = maddr(g, M_NT, 0x40fc35);                 /* nt!KiSystemServiceCopyEnd */
        g->site_stack[i] = add_stack(g, f, n, MODS[s->mod].name);
        if (s->leak_per_mille) {
            /* the leaking path: an error branch in the driver */
            uint64_t lf[12];
            uint32_t ln = 0;
            lf[ln++] = f[0];
            lf[ln++] = f[1];
            lf[ln++] = maddr(g, s->mod, s->rva[0] + 0x1138);
            for (uint32_t k = 2; k < n; k++) lf[ln++] = f[k];
            g->site_leak_stack[i] = s->leak_per_mille == 1000 ? g->site_stack[i]
                                                               : add_stack(g, lf, ln, MODS[s->mod].name);
        } else {
            g->site_leak_stack[i] = -1;
        }
        f[0] = maddr(g, M_NT, 0x2f3b90);                   /* nt!ExFreePoolWithTag */
        f[1] = maddr(g, s->mod, s->rva[0] + 0x200);
        g->site_free_stack[i] = add_stack(g, f, n, MODS[s->mod].name);
        g->tag_index[i] = -1;
    }
    g->t->leak_tag = scen_tag("Leak");
    g->t->leak_stack = g->site_leak_stack[TAG_LEAK];
    g->t->leak2_tag = scen_tag("LkPg");
    g->t->leak2_stack = g->site_leak_stack[TAG_LKPG];
    if (g->o.kind == SCEN_POOL_LEAK) g->t->leak_module = MODS[M_LEAKY].name;
}

/* ------------------------------------------------------------------------------ DPC/ISR */

static int32_t dpc_row(Gen *g, int mod, uint8_t opcode, uint64_t routine)
{
    ScenTruth *t = g->t;
    for (uint32_t i = 0; i < t->n_dpc; i++)
        if (t->dpc[i].routine == routine && t->dpc[i].opcode == opcode) return (int32_t)i;
    g_assert(t->n_dpc < SCEN_MAX_DPC_ROWS);
    ScenDpcRow *r = &t->dpc[t->n_dpc];
    memset(r, 0, sizeof *r);
    r->module = MODS[mod].name;
    r->opcode = opcode;
    r->routine = routine;
    return (int32_t)t->n_dpc++;
}

static void add_interval(Gen *g, int32_t row, uint16_t cpu, int64_t start, int64_t end,
                         uint8_t vector, uint32_t msg, int64_t child_ticks)
{
    ScenDpcRow *r = &g->t->dpc[row];
    uint64_t d = (uint64_t)(end - start);
    r->count++;
    r->total_ticks += d;
    r->exclusive_ticks += d - (uint64_t)child_ticks;
    if (d > r->max_ticks) { r->max_ticks = d; r->max_ts = end; r->max_cpu = cpu; }
    if (cpu < 8) { r->cpu_count[cpu]++; r->cpu_ticks[cpu] += d; }
    push(g, (Pend){ .ts = end, .cpu = cpu, .kind = PE_INTR, .opcode = r->opcode, .a = vector, .b = msg,
                    .x = r->routine, .y = (uint64_t)start });
}

static void gen_source(Gen *g, uint32_t si, uint16_t cpu, int64_t slice)
{
    const Src *s = &SRCS[si];
    int64_t t = slice + us(g, (int64_t)rr(g, 0, 900));
    if (t <= g->busy[cpu]) t = g->busy[cpu] + us(g, 1);
    if (s->isr_op) {
        int64_t d = us(g, (int64_t)rr(g, s->isr_min_us, s->isr_max_us)) + (int64_t)rr(g, 0, 9);
        add_interval(g, g->row_isr[si], cpu, t, t + d, s->vector, cpu, 0);
        t += d + us(g, (int64_t)rr(g, 1, 3));
    }
    int64_t d = us(g, (int64_t)rr(g, s->dpc_min_us, s->dpc_max_us)) + (int64_t)rr(g, 0, 9);
    add_interval(g, g->row_dpc[si], cpu, t, t + d, 0, 0, 0);
    g->busy[cpu] = t + d;
}

static void gen_storm(Gen *g, uint16_t cpu, int64_t slice)
{
    int64_t t = slice + us(g, (int64_t)rr(g, 0, 500));
    if (t <= g->busy[cpu]) t = g->busy[cpu] + us(g, 1);
    int64_t di = us(g, (int64_t)rr(g, 2, 5));
    add_interval(g, g->storm_isr_row, cpu, t, t + di, 0xc1, 0, 0);
    t += di + us(g, 2);
    int64_t d = us(g, (int64_t)rr(g, 300, 3000)) + (int64_t)rr(g, 0, 9);
    int64_t child = 0;
    if (chance(g, 300000)) {   /* an ndis interrupt preempts the long DPC */
        int64_t a = t + d / 3, dd = us(g, (int64_t)rr(g, 2, 6));
        add_interval(g, g->row_isr[0], cpu, a, a + dd, SRCS[0].vector, cpu, 0);
        child = dd;
        g->t->nested_isrs++;
    }
    add_interval(g, g->storm_row, cpu, t, t + d, 0, 0, child);
    ScenTruth *tr = g->t;
    tr->storm_count++;
    if (!tr->storm_min_ticks || (uint64_t)d < tr->storm_min_ticks) tr->storm_min_ticks = (uint64_t)d;
    if ((uint64_t)d > tr->storm_max_ticks) tr->storm_max_ticks = (uint64_t)d;
    g->busy[cpu] = t + d;
}

static void setup_dpc(Gen *g)
{
    for (uint32_t i = 0; i < N_SRCS; i++) {
        const Src *s = &SRCS[i];
        g->row_isr[i] = s->isr_op ? dpc_row(g, s->mod, s->isr_op, maddr(g, s->mod, s->isr_rva)) : -1;
        g->row_dpc[i] = dpc_row(g, s->mod, s->dpc_op, maddr(g, s->mod, s->dpc_rva));
    }
    /* clock-tick timer DPC in nt on every CPU */
    g->row_dpc[N_SRCS] = dpc_row(g, M_NT, 0x45, maddr(g, M_NT, 0x2b8c10));
    if (g->o.kind == SCEN_DPC_STORM) {
        g->storm_isr_row = dpc_row(g, M_STORM, 0x32, maddr(g, M_STORM, 0x1010));
        g->storm_row = dpc_row(g, M_STORM, 0x44, maddr(g, M_STORM, 0x1230));
        g->t->storm_module = MODS[M_STORM].name;
        g->t->storm_cpu = (uint16_t)(g->cpus > 2 ? 2 : g->cpus - 1);
    }
}

/* ------------------------------------------------------------------------------ extras */

static const EtlGuid TLG_PROVIDER = { 0x6c3a8f2e, 0x51b0, 0x5f3d, { 0x9a, 0x47, 0x1e, 0x0c, 0x6b, 0x2d, 0x88, 0x41 } };
static const EtlGuid WPP_GUID = { 0x4e4a1b60, 0x0d39, 0x4c2f, { 0xa1, 0x5f, 0x33, 0x7e, 0x90, 0x12, 0xc4, 0x5b } };
static const EtlGuid MOF_GUID = { 0xe9e3d9c1, 0x7a02, 0x4b5e, { 0x8c, 0x11, 0x5d, 0x2a, 0x0f, 0x63, 0x94, 0xa7 } };
static const EtlGuid MANIFEST_GUID = { 0x22fb2cd6, 0x0e7b, 0x422b, { 0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16 } };

static void emit_tlg(Gen *g, uint16_t cpu, int64_t ts, const Thr *th)
{
    static const char *const fields[] = { "Size" };
    static const uint8_t in_types[] = { 7 };               /* TlgInUINT32 */
    uint8_t traits[64], schema[64], stack[8 + 32 * 8];
    int32_t st = g->site_stack[rr(g, 0, N_SITES - 1)];
    EtlWriterExt ext[3];
    ext[0] = (EtlWriterExt){ ETL_EXT_PROV_TRAITS, 0, traits };
    ext[0].size = (uint16_t)etl_writer_ext_prov_traits(traits, sizeof traits, "Etla.TestDriver");
    ext[1] = (EtlWriterExt){ ETL_EXT_EVENT_SCHEMA_TL, 0, schema };
    ext[1].size = (uint16_t)etl_writer_ext_schema_tl(schema, sizeof schema, "PoolRequest", fields, in_types, 1);
    if (g->o.stack_keys) {
        uint64_t key = stack_key(g, st, cpu, ts);
        ext[2] = (EtlWriterExt){ (uint16_t)(g->P == 8 ? ETL_EXT_STACK_KEY64 : ETL_EXT_STACK_KEY32), 0, stack };
        ext[2].size = (uint16_t)etl_writer_ext_stack_key(stack, sizeof stack, 0, key, (uint8_t)g->P);
    } else {
        const ScenStack *s = &g->t->stacks[st];
        ext[2] = (EtlWriterExt){ (uint16_t)(g->P == 8 ? ETL_EXT_STACK_TRACE64 : ETL_EXT_STACK_TRACE32), 0, stack };
        ext[2].size = (uint16_t)etl_writer_ext_stack(stack, sizeof stack, 0, s->frames, s->n, (uint8_t)g->P);
    }
    uint8_t pl[4];
    wr32(pl, (uint32_t)rr(g, 16, 4096));
    EtlWriterEvent e = { .cpu = cpu, .timestamp = ts, .tid = th->tid, .pid = th->pid,
                         .provider = TLG_PROVIDER, .channel = 11, .level = 5, .keyword = 0x1,
                         .kernel_time = 2, .user_time = 3, .ext = ext, .n_ext = 3 };
    if (!g->ok) return;
    if (!etl_writer_event(g->w, &e, pl, sizeof pl, g->error)) { g->ok = false; return; }
    g->t->events_by_header[ETL_HDR_EVENT]++;
    g->t->events_by_kind[ETL_K_UNKNOWN]++;
    g->t->ext_stack_events++;
}

static void emit_wpp(Gen *g, uint16_t cpu, int64_t ts, const Thr *th)
{
    static const uint16_t bits[6] = { ETL_MSG_SEQUENCE, ETL_MSG_GUID, ETL_MSG_COMPONENT_ID,
                                      ETL_MSG_TIMESTAMP, ETL_MSG_PERF_TIMESTAMP, ETL_MSG_SYSTEMINFO };
    uint32_t combo = g->wpp_combo++ % 64;
    uint16_t f = g->P == 8 ? ETL_MSG_POINTER64 : ETL_MSG_POINTER32;
    for (int i = 0; i < 6; i++)
        if (combo & (1u << i)) f |= bits[i];
    EtlWriterMessage m = { .cpu = cpu, .message_number = (uint16_t)(10 + combo % 7), .flags = f,
                           .sequence = (uint32_t)g->t->wpp_events + 1, .guid = WPP_GUID,
                           .component_id = 0x2a, .timestamp = ts, .tid = th->tid, .pid = th->pid };
    uint8_t args[12];
    wr32(args, combo);
    wr64(args + 4, g->P == 8 ? 0xffffca8600001000ull + combo : 0x86001000u + combo);
    if (!g->ok) return;
    if (!etl_writer_message(g->w, &m, args, g->P == 8 ? 12 : 8, g->error)) { g->ok = false; return; }
    g->t->events_by_header[ETL_HDR_MESSAGE]++;
    g->t->events_by_kind[ETL_K_UNKNOWN]++;
    g->t->wpp_events++;
}

/* COMPACT, SYSTEM with PMC, FULL, INSTANCE and EVENT_HEADER events: every header kind. */
static void emit_misc(Gen *g, uint16_t cpu, int64_t ts, const Thr *th)
{
    uint8_t pl[16];
    uint32_t which = g->misc_n++ % 6;
    if (!g->ok) return;
    if (which == 0 || which == 1) {              /* ReadyThread: COMPACT, or SYSTEM + 1 PMC */
        const Thr *rt = &g->thr[rr(g, g->cpus, g->n_thr - 1)];
        wr32(pl, rt->tid);
        pl[4] = 1; pl[5] = 1; pl[6] = 0; pl[7] = 0;
        uint64_t pmc = 0x1234567 + g->misc_n;
        EtlWriterKernel k = { .header = which ? ETL_WRITER_SYSTEM : ETL_WRITER_COMPACT, .group = 0x05,
                              .opcode = 0x32, .version = 2, .cpu = cpu, .timestamp = ts, .tid = th->tid,
                              .pid = th->pid, .n_pmc = which ? 1 : 0, .pmc = &pmc };
        if (!etl_writer_kernel(g->w, &k, pl, 8, g->error)) { g->ok = false; return; }
        count_kernel(g, which ? ETL_HDR_SYSTEM : ETL_HDR_COMPACT, ETL_K_READY_THREAD);
        return;
    }
    if (which == 2 || which == 3) {              /* classic MOF event, plain and instance */
        wr32(pl, g->misc_n);
        wr64(pl + 4, (uint64_t)ts);
        EtlWriterClassic c = { .cpu = cpu, .timestamp = ts, .tid = th->tid, .pid = th->pid,
                               .guid = MOF_GUID, .type = (uint8_t)(which == 2 ? 1 : 2), .level = 4,
                               .instance = which == 3, .instance_id = g->misc_n,
                               .parent_instance_id = g->misc_n - 1, .parent_guid = MOF_GUID };
        if (!etl_writer_classic(g->w, &c, pl, 12, g->error)) { g->ok = false; return; }
        g->t->events_by_header[which == 2 ? ETL_HDR_FULL : ETL_HDR_INSTANCE]++;
        g->t->events_by_kind[ETL_K_UNKNOWN]++;
        return;
    }
    /* manifest event; the second form carries raw ext items and a ProcessorTime */
    uint8_t act[16], tsid[4], psk[8];
    etl_guid_write(&WPP_GUID, act);
    wr32(tsid, 1);
    wr64(psk, 0x2000000000a4ull);
    EtlWriterExt ext[3] = { { ETL_EXT_RELATED_ACTIVITYID, 16, act }, { ETL_EXT_TS_ID, 4, tsid },
                            { ETL_EXT_PROCESS_START_KEY, 8, psk } };
    wr32(pl, g->misc_n);
    EtlWriterEvent e = { .cpu = cpu, .timestamp = ts, .tid = th->tid, .pid = th->pid,
                         .provider = MANIFEST_GUID, .id = (uint16_t)(100 + which), .version = 1,
                         .channel = 16, .level = 4, .opcode = 0, .task = 7, .keyword = 0x8000000000000010ull,
                         .kernel_time = 1, .user_time = 0, .processor_time = 0x51,
                         .flags = which == 5 ? ETL_EVENT_FLAG_NO_CPUTIME : 0,
                         .ext = which == 5 ? ext : NULL, .n_ext = which == 5 ? 3 : 0 };
    if (!etl_writer_event(g->w, &e, pl, 4, g->error)) { g->ok = false; return; }
    g->t->events_by_header[ETL_HDR_EVENT]++;
    g->t->events_by_kind[ETL_K_UNKNOWN]++;
}

/* ------------------------------------------------------------------------------ emit */

static void emit(Gen *g, const Pend *p, int64_t limit)
{
    uint16_t cpu = p->cpu;
    const Thr *th = &g->thr[g->cur[cpu]];
    unsigned P = g->P;
    size_t len;
    switch (p->kind) {
    case PE_CSWITCH: {
        const Thr *nt = &g->thr[p->a];
        bool idle = th->pid == 0;
        ScenCSwitch cs = { .new_tid = nt->tid, .old_tid = th->tid, .new_priority = nt->prio,
                           .old_priority = th->prio, .previous_cstate = idle ? 1 : 0,
                           .old_wait_reason = idle ? 0 : (uint8_t)(p->b % 2 ? 6 : 15),
                           .old_wait_mode = idle ? 0 : (uint8_t)(p->b % 3 == 0),
                           .old_state = idle ? 2 : 5, .old_ideal_processor = (uint8_t)cpu,
                           .new_wait_time = p->b % 200 };
        len = scen_cswitch(g->pl, &cs);
        uint64_t pmc[2] = { 0x10000 + p->b, 0x20000 + p->b };
        bool extra = g->o.all_headers && p->b % 16 == 0;
        EtlWriterKernel k = { .header = ETL_WRITER_PERFINFO, .group = 0x05, .opcode = 0x24,
                              .version = 4, .cpu = cpu, .timestamp = p->ts,
                              .n_pmc = extra ? 2 : 0, .pmc = pmc, .has_pebs = extra && p->b % 32 == 0,
                              .pebs_index = p->b };
        if (g->ok && !etl_writer_kernel(g->w, &k, g->pl, len, g->error)) g->ok = false;
        if (g->ok) count_kernel(g, ETL_HDR_PERFINFO, ETL_K_CSWITCH);
        g->cur[cpu] = p->a;
        break;
    }
    case PE_ALLOC:
    case PE_FREE: {
        const Site *s = &SITES[p->a];
        len = scen_pool(g->pl, P, s->type, scen_tag(s->tag), p->y, p->x, s->session, p->opcode);
        uint8_t op = (uint8_t)((p->kind == PE_ALLOC ? 0x20 : 0x22) + (s->session ? 1 : 0));
        if (g->o.pool_system_header)
            kev(g, ETL_WRITER_SYSTEM, 0x0E, op, 2, cpu, p->ts, th->tid, th->pid, g->pl, len, ETL_K_POOL);
        else
            kev(g, ETL_WRITER_PERFINFO, 0x0E, op, 2, cpu, p->ts, 0, 0, g->pl, len, ETL_K_POOL);
        if (p->b != UINT32_MAX && p->kind == PE_ALLOC) {
            g->t->records[p->b].pid = th->pid;
            g->t->records[p->b].tid = th->tid;
        }
        if (p->kind == PE_FREE) give_entry(g, s->session ? 1 + p->opcode : (int)(s->type & 1), p->x);
        int64_t st = p->ts + 2 < limit ? p->ts + 2 : (limit > p->ts ? limit : p->ts);
        emit_stack(g, p->s, cpu, p->ts, st, th);
        break;
    }
    case PE_INTR:
        if (p->opcode == 0x43 || p->opcode == 0x32)
            len = scen_isr(g->pl, P, p->y, p->x, 1, (uint8_t)p->a, p->opcode == 0x32, p->b);
        else
            len = scen_dpc(g->pl, P, p->y, p->x);
        kev(g, ETL_WRITER_PERFINFO, 0x0F, p->opcode, 2, cpu, p->ts, 0, 0, g->pl, len,
            p->opcode == 0x43 || p->opcode == 0x32 ? ETL_K_ISR : ETL_K_DPC);
        break;
    case PE_PROFILE: {
        bool in_dpc = g->busy[cpu] > p->ts;
        uint64_t ip = th->pid > 4 ? (P == 8 ? 0x7ff8a1c40000ull : 0x77c40000u) + (p->b & 0xfff0)
                                  : maddr(g, in_dpc ? M_NDIS : M_NT, 0x1000 + (p->b & 0xfff0));
        len = scen_sampled_profile(g->pl, P, ip, th->tid, 1, in_dpc ? 1 : 0);
        kev(g, ETL_WRITER_PERFINFO, 0x0F, 0x2E, 2, cpu, p->ts, 0, 0, g->pl, len, ETL_K_SAMPLED_PROFILE);
        break;
    }
    case PE_TLG: emit_tlg(g, cpu, p->ts, th); break;
    case PE_WPP: emit_wpp(g, cpu, p->ts, th); break;
    case PE_MISC: emit_misc(g, cpu, p->ts, th); break;
    default: break;
    }
}

static void drain(Gen *g, int64_t bound, int64_t *last)
{
    while (g->ok && g->hn && g->heap[0].ts < bound) {
        Pend p = pop(g);
        int64_t limit = g->hn ? g->heap[0].ts : INT64_MAX;
        if (bound != INT64_MAX && limit > bound - 1) limit = bound - 1;
        emit(g, &p, limit);
        if (p.ts > *last) *last = p.ts;
    }
}

/* ------------------------------------------------------------------------------ slices */

static void gen_slice(Gen *g, int64_t s, uint64_t idx)
{
    ScenKind k = g->o.kind;
    bool large = k == SCEN_LARGE;
    for (uint16_t cpu = 0; cpu < g->cpus; cpu++) {
        /* context switch at the start of the slice (thread affinity: tid index % cpus) */
        if (chance(g, large ? 300000 : 30000)) {
            uint32_t n_grp = 0, grp[64];
            grp[n_grp++] = cpu;                       /* its idle thread */
            for (uint32_t i = g->cpus; i < g->n_thr; i++)
                if (i % g->cpus == cpu) grp[n_grp++] = i;
            uint32_t ni = grp[rr(g, 0, n_grp - 1)];
            int64_t ts = s + (int64_t)rr(g, 1, 50);
            if (ts <= g->busy[cpu]) ts = g->busy[cpu] + 1;
            if (ni != g->cur[cpu])
                push(g, (Pend){ .ts = ts, .cpu = cpu, .kind = PE_CSWITCH, .a = ni, .b = (uint32_t)rnd(g) });
        }
        if (k == SCEN_POOL_LEAK || large) {
            uint32_t n = large ? (uint32_t)rr(g, 0, 1) : chance(g, 19000);
            for (uint32_t i = 0; i < n; i++) gen_alloc(g, cpu, s + us(g, (int64_t)rr(g, 60, 990)));
        }
        if (k == SCEN_DPC_STORM || large) {
            for (uint32_t si = 0; si < N_SRCS; si++)
                if ((SRCS[si].cpu_mask >> (cpu % 32)) & 1 && chance(g, SRCS[si].per_s * 1000))
                    gen_source(g, si, cpu, s);
            if (idx % 16 == cpu % 16) {               /* 62.5 Hz clock: nt timer DPC */
                int64_t t = s + us(g, 2);
                if (t <= g->busy[cpu]) t = g->busy[cpu] + us(g, 1);
                int64_t d = us(g, (int64_t)rr(g, 1, 10)) + (int64_t)rr(g, 0, 9);
                add_interval(g, g->row_dpc[N_SRCS], cpu, t, t + d, 0, 0, 0);
                g->busy[cpu] = t + d;
            }
        }
        if (k == SCEN_DPC_STORM && cpu == g->t->storm_cpu && idx % 32 == 7 && chance(g, 900000))
            gen_storm(g, cpu, s);
        if (g->o.sampled_profile || large)
            push(g, (Pend){ .ts = s + us(g, 500) + (int64_t)rr(g, 0, 99), .cpu = cpu, .kind = PE_PROFILE,
                            .b = (uint32_t)rnd(g) });
        if (g->o.ext_stacks && chance(g, 20000))
            push(g, (Pend){ .ts = s + us(g, (int64_t)rr(g, 10, 990)), .cpu = cpu, .kind = PE_TLG });
        if (g->o.wpp && chance(g, 6000))
            push(g, (Pend){ .ts = s + us(g, (int64_t)rr(g, 10, 990)), .cpu = cpu, .kind = PE_WPP });
        if (g->o.all_headers && chance(g, 6000))
            push(g, (Pend){ .ts = s + us(g, (int64_t)rr(g, 10, 990)), .cpu = cpu, .kind = PE_MISC });
    }
}

/* ------------------------------------------------------------------------------ truth */

void scen_truth_clear(ScenTruth *t)
{
    if (!t) return;
    g_free(t->records);
    memset(t, 0, sizeof *t);
}

const ScenDpcRow *scen_truth_dpc_row(const ScenTruth *t, const char *module, uint8_t opcode)
{
    for (uint32_t i = 0; i < t->n_dpc; i++)
        if (t->dpc[i].opcode == opcode && strcmp(t->dpc[i].module, module) == 0) return &t->dpc[i];
    return NULL;
}

const ScenPoolTag *scen_truth_tag(const ScenTruth *t, uint32_t tag)
{
    for (uint32_t i = 0; i < t->n_tags; i++)
        if (t->tags[i].tag == tag) return &t->tags[i];
    return NULL;
}

void scen_pool_classify(const ScenTruth *t, int64_t t1, int64_t t2, ScenPoolTag *out)
{
    for (uint32_t i = 0; i < t->n_tags; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].tag = t->tags[i].tag;
        out[i].type = t->tags[i].type;
    }
    for (uint32_t i = 0; i < t->n_records; i++) {
        const ScenPoolRecord *r = &t->records[i];
        if (!(r->alloc_ts <= t2 && r->free_ts >= t1)) continue;
        uint32_t k = 0;
        while (k < t->n_tags && t->tags[k].tag != r->tag) k++;
        if (k == t->n_tags) continue;
        bool ai = r->alloc_ts != INT64_MIN && r->alloc_ts >= t1;
        bool fi = r->free_ts != INT64_MAX && r->free_ts <= t2;
        ScenPoolTag *o = &out[k];
        if (ai && fi) { o->aifi++; o->aifi_bytes += r->size; }
        else if (ai) { o->aifo++; o->aifo_bytes += r->size; }
        else if (fi) { o->aofi++; o->aofi_bytes += r->size; }
        else { o->aofo++; o->aofo_bytes += r->size; }
    }
}

static void tag_str(uint32_t tag, char out[5])
{
    for (int i = 0; i < 4; i++) out[i] = (char)(tag >> (8 * i));
    out[4] = 0;
}

static const char *hdr_names[8] = { "system", "compact", "perfinfo", "full", "instance", "event", "message", "other" };

char *scen_truth_json(const ScenTruth *t)
{
    GString *s = g_string_new("{\n");
    double f = (double)t->perf_freq;
    g_string_append_printf(s, "  \"scenario\": \"%s\",\n  \"seed\": %" G_GUINT64_FORMAT ",\n",
                           scen_kind_name(t->opts.kind), t->opts.seed);
    g_string_append_printf(s, "  \"cpus\": %u,\n  \"pointer_size\": %u,\n  \"perf_freq\": %" G_GINT64_FORMAT
                           ",\n  \"ts0\": %" G_GINT64_FORMAT ",\n  \"start_time\": %" G_GINT64_FORMAT
                           ",\n  \"first_ts\": %" G_GINT64_FORMAT ",\n  \"last_ts\": %" G_GINT64_FORMAT ",\n",
                           t->cpus, t->ptr_size, t->perf_freq, t->ts0, t->start_time, t->first_ts, t->last_ts);
    g_string_append_printf(s, "  \"file_bytes\": %" G_GUINT64_FORMAT ",\n  \"buffers\": %" G_GUINT64_FORMAT
                           ",\n  \"buffers_overwritten\": %" G_GUINT64_FORMAT ",\n  \"events\": %" G_GUINT64_FORMAT ",\n",
                           t->file_bytes, t->buffers, t->buffers_overwritten, t->events);
    g_string_append(s, "  \"events_by_header\": {");
    for (int i = 0; i < 8; i++)
        g_string_append_printf(s, "%s\"%s\": %" G_GUINT64_FORMAT, i ? ", " : "", hdr_names[i], t->events_by_header[i]);
    g_string_append(s, "},\n  \"events_by_kind\": {");
    for (int i = 0; i < ETL_K_COUNT_; i++)
        if (t->events_by_kind[i])
            g_string_append_printf(s, "%s\"%s\": %" G_GUINT64_FORMAT, s->str[s->len - 1] == '{' ? "" : ", ",
                                   etl_kernel_kind_name((EtlKernelKind)i), t->events_by_kind[i]);
    g_string_append_printf(s, "},\n  \"stack_events\": %" G_GUINT64_FORMAT ",\n  \"stack_key_refs\": %" G_GUINT64_FORMAT
                           ",\n  \"stack_key_defs\": %" G_GUINT64_FORMAT ",\n  \"ext_stack_events\": %" G_GUINT64_FORMAT
                           ",\n  \"wpp_events\": %" G_GUINT64_FORMAT ",\n",
                           t->stack_events, t->stack_key_refs, t->stack_key_defs, t->ext_stack_events, t->wpp_events);
    g_string_append(s, "  \"modules\": [\n");
    for (uint32_t i = 0; i < t->n_modules; i++) {
        const ScenModule *m = &t->modules[i];
        char gs[ETL_GUID_STRLEN];
        etl_guid_format(&m->pdb_guid, gs);
        g_string_append_printf(s, "    {\"name\": \"%s\", \"base\": \"0x%" G_GINT64_MODIFIER "x\", \"size\": \"0x%"
                               G_GINT64_MODIFIER "x\", \"pdb\": \"%s\", \"pdb_guid\": \"%s\", \"pdb_age\": %u}%s\n",
                               m->name, m->base, m->size, m->pdb_name, gs, m->pdb_age, i + 1 < t->n_modules ? "," : "");
    }
    g_string_append(s, "  ],\n  \"pool_tags\": [\n");
    for (uint32_t i = 0; i < t->n_tags; i++) {
        const ScenPoolTag *p = &t->tags[i];
        char tg[5];
        tag_str(p->tag, tg);
        g_string_append_printf(s, "    {\"tag\": \"%s\", \"pool_type\": %u, \"allocs\": %" G_GUINT64_FORMAT
                               ", \"alloc_bytes\": %" G_GUINT64_FORMAT ", \"frees\": %" G_GUINT64_FORMAT
                               ", \"free_bytes\": %" G_GUINT64_FORMAT ", \"aifi\": %" G_GUINT64_FORMAT
                               ", \"aifi_bytes\": %" G_GUINT64_FORMAT ", \"aifo\": %" G_GUINT64_FORMAT
                               ", \"aifo_bytes\": %" G_GUINT64_FORMAT ", \"aofi\": %" G_GUINT64_FORMAT
                               ", \"aofi_bytes\": %" G_GUINT64_FORMAT "}%s\n",
                               tg, p->type, p->allocs, p->alloc_bytes, p->frees, p->free_bytes, p->aifi,
                               p->aifi_bytes, p->aifo, p->aifo_bytes, p->aofi, p->aofi_bytes,
                               i + 1 < t->n_tags ? "," : "");
    }
    g_string_append(s, "  ],\n");
    if (t->leak_module) {
        char tg[5];
        tag_str(t->leak_tag, tg);
        g_string_append_printf(s, "  \"leak\": {\"tag\": \"%s\", \"module\": \"%s\", \"count\": %" G_GUINT64_FORMAT
                               ", \"bytes\": %" G_GUINT64_FORMAT ", \"stack\": [", tg, t->leak_module,
                               t->leak_count, t->leak_bytes);
        const ScenStack *st = &t->stacks[t->leak_stack];
        for (uint32_t i = 0; i < st->n; i++)
            g_string_append_printf(s, "%s\"0x%" G_GINT64_MODIFIER "x\"", i ? ", " : "", st->frames[i]);
        tag_str(t->leak2_tag, tg);
        g_string_append_printf(s, "]},\n  \"leak2\": {\"tag\": \"%s\", \"module\": \"%s\", \"count\": %"
                               G_GUINT64_FORMAT ", \"bytes\": %" G_GUINT64_FORMAT "},\n",
                               tg, t->leak_module, t->leak2_count, t->leak2_bytes);
    }
    g_string_append(s, "  \"dpc_isr\": [\n");
    for (uint32_t i = 0; i < t->n_dpc; i++) {
        const ScenDpcRow *r = &t->dpc[i];
        g_string_append_printf(s, "    {\"module\": \"%s\", \"opcode\": %u, \"routine\": \"0x%" G_GINT64_MODIFIER
                               "x\", \"count\": %" G_GUINT64_FORMAT ", \"total_us\": %.1f, \"max_us\": %.1f"
                               ", \"exclusive_us\": %.1f, \"total_ticks\": %" G_GUINT64_FORMAT ", \"max_ticks\": %"
                               G_GUINT64_FORMAT ", \"cpu_us\": [",
                               r->module, r->opcode, r->routine, r->count, r->total_ticks * 1e6 / f,
                               r->max_ticks * 1e6 / f, r->exclusive_ticks * 1e6 / f, r->total_ticks, r->max_ticks);
        for (uint32_t c = 0; c < t->cpus && c < 8; c++)
            g_string_append_printf(s, "%s%.1f", c ? ", " : "", r->cpu_ticks[c] * 1e6 / f);
        g_string_append_printf(s, "]}%s\n", i + 1 < t->n_dpc ? "," : "");
    }
    g_string_append(s, "  ]");
    if (t->storm_module)
        g_string_append_printf(s, ",\n  \"storm\": {\"module\": \"%s\", \"cpu\": %u, \"count\": %" G_GUINT64_FORMAT
                               ", \"min_us\": %.1f, \"max_us\": %.1f, \"nested_isrs\": %" G_GUINT64_FORMAT "}",
                               t->storm_module, t->storm_cpu, t->storm_count, t->storm_min_ticks * 1e6 / f,
                               t->storm_max_ticks * 1e6 / f, t->nested_isrs);
    g_string_append(s, "\n}\n");
    return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------------------------ options */

static const char *const KIND_NAMES[SCEN_KIND_COUNT_] = { "pool-leak", "dpc-storm", "large" };

const char *scen_kind_name(ScenKind k) { return k < SCEN_KIND_COUNT_ ? KIND_NAMES[k] : "?"; }

bool scen_kind_parse(const char *s, ScenKind *out)
{
    for (int i = 0; i < SCEN_KIND_COUNT_; i++)
        if (s && strcmp(s, KIND_NAMES[i]) == 0) { *out = (ScenKind)i; return true; }
    return false;
}

void scen_options_init(ScenOptions *o, ScenKind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->seed = 1;
    o->ptr_size = 8;
    o->cpus = 4;
    o->buffer_size = 64 * 1024;
    o->target_bytes = 512ull * 1024 * 1024;
}

void scen_writer_config(const ScenOptions *o, EtlWriterConfig *c)
{
    etl_writer_config_init(c);
    c->cpus = o->cpus;
    c->pointer_size = o->ptr_size;
    c->buffer_size = o->buffer_size;
    c->compress = o->compress;
    c->circular_max_bytes = o->circular_bytes;
    c->proc_index = !o->no_proc_index;
    c->header_quirk = o->header_quirk;
    c->sequence_at_start = true;
    c->partition_info = true;
    c->fill = o->stale_fill ? ETL_WRITER_FILL_STALE : ETL_WRITER_FILL_ZERO;
    c->fill_seed = o->seed;
    c->header_tid = 0x103c;
    c->header_pid = 4;
    /* EVENT_TRACE_FLAG_PROCESS|THREAD|IMAGE_LOAD|CSWITCH|DPC|INTERRUPT (+PROFILE) */
    c->group_masks[0] = 0x1 | 0x2 | 0x4 | 0x10 | 0x20 | 0x40 | (o->sampled_profile ? 0x01000000u : 0);
    c->log_file_name = o->kind == SCEN_POOL_LEAK ? "C:\\etla\\pool-leak.etl"
                     : o->kind == SCEN_DPC_STORM ? "C:\\etla\\dpc-storm.etl" : "C:\\etla\\large.etl";
}

/* ------------------------------------------------------------------------------ driver */

bool scen_generate(const ScenOptions *o, EtlWriter *w, ScenTruth *t, GError **error)
{
    const EtlWriterConfig *wc = etl_writer_config(w);
    if (o->cpus == 0 || o->cpus > 64 || (o->ptr_size != 4 && o->ptr_size != 8) || o->kind >= SCEN_KIND_COUNT_ ||
        wc->pointer_size != o->ptr_size || wc->cpus != o->cpus) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_INVALID,
                    "Invalid scenario options (use scen_writer_config() for the writer)");
        return false;
    }
    Gen *g = g_new0(Gen, 1);
    g->o = *o;
    g->w = w;
    g->t = t;
    g->error = error;
    g->ok = true;
    g->P = o->ptr_size;
    g->cpus = o->cpus;
    g->rng = o->seed * 0x2545f4914f6cdd1dull + (uint64_t)o->kind;
    g->freq = wc->perf_freq;
    g->ts0 = wc->ts0;

    memset(t, 0, sizeof *t);
    t->opts = *o;
    t->cpus = o->cpus;
    t->ptr_size = o->ptr_size;
    t->perf_freq = wc->perf_freq;
    t->ts0 = wc->ts0;
    t->start_time = wc->start_time;
    for (int m = 0; m < M_COUNT; m++) {
        ScenModule *sm = &t->modules[m];
        uint32_t h = fnv1a(MODS[m].name);
        g->base[m] = g->P == 8 ? MODS[m].base64 : MODS[m].base32;
        sm->name = MODS[m].name;
        sm->path = MODS[m].path;
        sm->base = g->base[m];
        sm->size = MODS[m].size;
        sm->checksum = (h & 0x00ffffffu) | 0x10000;
        sm->time_date_stamp = 0x5f000000u + (h % 0x03000000u);
        sm->pdb_guid = (EtlGuid){ h, (uint16_t)(h >> 7), (uint16_t)(0x4000 | (h >> 13 & 0x0fff)),
                                  { 0x80 | (uint8_t)(h >> 3), (uint8_t)(h >> 11), (uint8_t)(h >> 19), (uint8_t)h,
                                    (uint8_t)(h >> 5), (uint8_t)(h >> 17), 0x5a, (uint8_t)m } };
        sm->pdb_age = 1 + (uint32_t)m % 3;
        sm->pdb_name = MODS[m].pdb;
    }
    t->n_modules = M_COUNT;

    /* threads: idle per CPU (TID 0), then the processes' */
    for (uint32_t c = 0; c < g->cpus; c++) g->thr[g->n_thr++] = (Thr){ 0, 0, 0 };
    for (size_t i = 0; i < N_PROCS; i++)
        for (uint32_t k = 0; k < PROCS[i].n_threads && g->n_thr < 128; k++)
            g->thr[g->n_thr++] = (Thr){ PROCS[i].first_tid + 4 * k, PROCS[i].pid, PROCS[i].prio };
    for (uint32_t c = 0; c < g->cpus; c++) g->cur[c] = c;
    t->n_processes = N_PROCS + 1;
    t->n_threads = g->n_thr;

    setup_pool(g);
    if (o->kind != SCEN_POOL_LEAK) setup_dpc(g);

    int64_t ts = g->ts0 + us(g, 50);
    rundown(g, false, &ts);
    uint32_t dur_ms = o->duration_ms ? o->duration_ms : o->kind == SCEN_POOL_LEAK ? 20000 : 10000;
    g->t_begin = g->ts0 + us(g, 5000);
    g->t_end = o->kind == SCEN_LARGE ? INT64_MAX / 4 : g->t_begin + us(g, (int64_t)dur_ms * 1000);
    g->t_leak = g->t_begin + (o->kind == SCEN_LARGE ? 0 : us(g, (int64_t)dur_ms * 150));
    for (uint32_t c = 0; c < g->cpus; c++) g->busy[c] = g->t_begin;
    if (o->kind == SCEN_POOL_LEAK) gen_pretrace_frees(g);

    int64_t last = ts, slice = us(g, 1000);
    uint64_t idx = 0;
    for (int64_t s = g->t_begin; g->ok && s < g->t_end; s += slice, idx++) {
        gen_slice(g, s, idx);
        drain(g, s + slice, &last);
        if (o->kind == SCEN_LARGE && etl_writer_stats(w)->bytes >= o->target_bytes) break;
    }
    drain(g, INT64_MAX, &last);

    ts = last + us(g, 200);
    if (ts < g->t_end && o->kind != SCEN_LARGE) ts = g->t_end + us(g, 200);
    /* stack cache rundown: the keys still cached are defined at stop (KeyRundown) */
    for (uint32_t i = 0; i < g->n_ks; i++) {
        const ScenStack *st = &t->stacks[g->ks[i].stack];
        size_t len = scen_stack_key_def(g->pl2, sizeof g->pl2, g->P, g->ks[i].key, st->frames, st->n);
        kev(g, ETL_WRITER_PERFINFO, 0x18, 0x24, 2, 0, ts++, 0, 0, g->pl2, len, ETL_K_STACK_KEY_DEF);
        t->stack_key_defs++;
    }
    rundown(g, true, &ts);
    /* EventTrace/EndExtension with the group masks, as kernel loggers log at stop */
    uint8_t ext[36] = { 0 };
    for (int i = 0; i < 8; i++) wr32(ext + 4 * i, wc->group_masks[i]);
    wr32(ext + 32, wc->kernel_event_version);
    kev(g, ETL_WRITER_PERFINFO, 0x00, 0x20, 2, 0, ts, 0, 0, ext, sizeof ext, ETL_K_HEADER_EXTENSION);

    const EtlWriterStats *ws = etl_writer_stats(w);
    t->events = ws->events;
    t->first_ts = ws->first_ts;
    t->last_ts = ws->last_ts;
    bool ok = g->ok;
    g_free(g->heap);
    for (int i = 0; i < 4; i++) g_free(g->free_slots[i]);
    g_free(g);
    return ok;
}

static void fill_file_truth(ScenTruth *t, EtlWriter *w)
{
    const EtlWriterStats *ws = etl_writer_stats(w);
    t->file_bytes = ws->bytes;
    t->buffers = ws->buffers;
    t->buffers_overwritten = ws->buffers_overwritten;
}

bool scen_generate_file(const ScenOptions *o, const char *path, ScenTruth *truth, GError **error)
{
    EtlWriterConfig c;
    scen_writer_config(o, &c);
    EtlWriter *w = etl_writer_new_file(path, &c, error);
    if (!w) return false;
    ScenTruth local;
    ScenTruth *t = truth ? truth : &local;
    bool ok = scen_generate(o, w, t, error) && etl_writer_finish(w, error);
    if (ok) fill_file_truth(t, w);
    etl_writer_free(w);
    if (!truth) scen_truth_clear(&local);
    return ok;
}

uint8_t *scen_generate_memory(const ScenOptions *o, size_t *len, ScenTruth *truth, GError **error)
{
    EtlWriterConfig c;
    scen_writer_config(o, &c);
    EtlWriter *w = etl_writer_new_memory(&c, error);
    if (!w) return NULL;
    ScenTruth local;
    ScenTruth *t = truth ? truth : &local;
    uint8_t *d = NULL;
    if (scen_generate(o, w, t, error) && etl_writer_finish(w, error)) {
        fill_file_truth(t, w);
        d = etl_writer_steal_memory(w, len);
    }
    etl_writer_free(w);
    if (!truth) scen_truth_clear(&local);
    return d;
}
