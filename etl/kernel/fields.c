/* fields.c — names and types of the decoded kernel fields, for `etla dump` (text and JSON).
 *
 * Names follow the MOF/TDH/PerfView property names so that a dump reads like xperf or
 * PerfView output.  Every field of a layout version is emitted, in payload order, and only
 * the fields that version has (a v1 Image event has no TimeDateStamp).  A few derived fields
 * are added where they are exact and cheap: the SampledProfile flag bits, the Pool session
 * flag.  Durations are computed by the analyses, not here.
 *
 * Stacks: one HEX field per frame, "Frame0" (innermost) … "FrameN", after "FrameCount".
 * That reads naturally in a one-line dump (Frame0=0xfffff80002e1e9b0 …) and becomes plain
 * keys in JSON; a single BYTES field would show little-endian bytes nobody can read.
 *
 * Field names are static strings, except "FrameN" for N >= 256, which is formatted into a
 * buffer that is valid only during the callback (kernel stack walks stop well below that).
 */
#include "etl.h"
#include "kernel/kernel-private.h"

#include <stdio.h>

typedef struct {
    EtlFieldFn fn;
    void *ctx;
} Sink;

static void put_u(const Sink *s, const char *name, EtlFieldType t, uint64_t u)
{
    EtlFieldValue v;
    memset(&v, 0, sizeof v);
    v.u = u;
    v.i = (int64_t)u;
    s->fn(s->ctx, name, t, &v);
}

static void put_i(const Sink *s, const char *name, EtlFieldType t, int64_t i)
{
    EtlFieldValue v;
    memset(&v, 0, sizeof v);
    v.i = i;
    v.u = (uint64_t)i;
    s->fn(s->ctx, name, t, &v);
}

static void put_w(const Sink *s, const char *name, EtlWStr w)
{
    EtlFieldValue v;
    memset(&v, 0, sizeof v);
    v.wstr = w;
    s->fn(s->ctx, name, ETL_FIELD_WSTR, &v);
}

static void put_a(const Sink *s, const char *name, EtlAStr a)
{
    EtlFieldValue v;
    memset(&v, 0, sizeof v);
    v.astr = a;
    s->fn(s->ctx, name, ETL_FIELD_ASTR, &v);
}

static void put_guid(const Sink *s, const char *name, const EtlGuid *g)
{
    EtlFieldValue v;
    memset(&v, 0, sizeof v);
    v.guid = *g;
    s->fn(s->ctx, name, ETL_FIELD_GUID, &v);
}

static void put_bytes(const Sink *s, const char *name, const uint8_t *p, uint32_t len)
{
    EtlFieldValue v;
    memset(&v, 0, sizeof v);
    v.bytes.p = p;
    v.bytes.len = len;
    s->fn(s->ctx, name, ETL_FIELD_BYTES, &v);
}

#define U(name, x)    put_u(s, name, ETL_FIELD_U64, (uint64_t)(x))
#define I(name, x)    put_i(s, name, ETL_FIELD_I64, (int64_t)(x))
#define HEX(name, x)  put_u(s, name, ETL_FIELD_HEX, (uint64_t)(x))
#define BOOL(name, x) put_u(s, name, ETL_FIELD_BOOL, (x) ? 1u : 0u)
#define TIME(name, x) put_i(s, name, ETL_FIELD_TIME, (int64_t)(x))

static const char *const frame_names[256] = {
    "Frame0", "Frame1", "Frame2", "Frame3", "Frame4", "Frame5", "Frame6", "Frame7",
    "Frame8", "Frame9", "Frame10", "Frame11", "Frame12", "Frame13", "Frame14", "Frame15",
    "Frame16", "Frame17", "Frame18", "Frame19", "Frame20", "Frame21", "Frame22", "Frame23",
    "Frame24", "Frame25", "Frame26", "Frame27", "Frame28", "Frame29", "Frame30", "Frame31",
    "Frame32", "Frame33", "Frame34", "Frame35", "Frame36", "Frame37", "Frame38", "Frame39",
    "Frame40", "Frame41", "Frame42", "Frame43", "Frame44", "Frame45", "Frame46", "Frame47",
    "Frame48", "Frame49", "Frame50", "Frame51", "Frame52", "Frame53", "Frame54", "Frame55",
    "Frame56", "Frame57", "Frame58", "Frame59", "Frame60", "Frame61", "Frame62", "Frame63",
    "Frame64", "Frame65", "Frame66", "Frame67", "Frame68", "Frame69", "Frame70", "Frame71",
    "Frame72", "Frame73", "Frame74", "Frame75", "Frame76", "Frame77", "Frame78", "Frame79",
    "Frame80", "Frame81", "Frame82", "Frame83", "Frame84", "Frame85", "Frame86", "Frame87",
    "Frame88", "Frame89", "Frame90", "Frame91", "Frame92", "Frame93", "Frame94", "Frame95",
    "Frame96", "Frame97", "Frame98", "Frame99", "Frame100", "Frame101", "Frame102", "Frame103",
    "Frame104", "Frame105", "Frame106", "Frame107", "Frame108", "Frame109", "Frame110", "Frame111",
    "Frame112", "Frame113", "Frame114", "Frame115", "Frame116", "Frame117", "Frame118", "Frame119",
    "Frame120", "Frame121", "Frame122", "Frame123", "Frame124", "Frame125", "Frame126", "Frame127",
    "Frame128", "Frame129", "Frame130", "Frame131", "Frame132", "Frame133", "Frame134", "Frame135",
    "Frame136", "Frame137", "Frame138", "Frame139", "Frame140", "Frame141", "Frame142", "Frame143",
    "Frame144", "Frame145", "Frame146", "Frame147", "Frame148", "Frame149", "Frame150", "Frame151",
    "Frame152", "Frame153", "Frame154", "Frame155", "Frame156", "Frame157", "Frame158", "Frame159",
    "Frame160", "Frame161", "Frame162", "Frame163", "Frame164", "Frame165", "Frame166", "Frame167",
    "Frame168", "Frame169", "Frame170", "Frame171", "Frame172", "Frame173", "Frame174", "Frame175",
    "Frame176", "Frame177", "Frame178", "Frame179", "Frame180", "Frame181", "Frame182", "Frame183",
    "Frame184", "Frame185", "Frame186", "Frame187", "Frame188", "Frame189", "Frame190", "Frame191",
    "Frame192", "Frame193", "Frame194", "Frame195", "Frame196", "Frame197", "Frame198", "Frame199",
    "Frame200", "Frame201", "Frame202", "Frame203", "Frame204", "Frame205", "Frame206", "Frame207",
    "Frame208", "Frame209", "Frame210", "Frame211", "Frame212", "Frame213", "Frame214", "Frame215",
    "Frame216", "Frame217", "Frame218", "Frame219", "Frame220", "Frame221", "Frame222", "Frame223",
    "Frame224", "Frame225", "Frame226", "Frame227", "Frame228", "Frame229", "Frame230", "Frame231",
    "Frame232", "Frame233", "Frame234", "Frame235", "Frame236", "Frame237", "Frame238", "Frame239",
    "Frame240", "Frame241", "Frame242", "Frame243", "Frame244", "Frame245", "Frame246", "Frame247",
    "Frame248", "Frame249", "Frame250", "Frame251", "Frame252", "Frame253", "Frame254", "Frame255",
};

static void put_frames(const Sink *s, const uint8_t *frames, uint32_t n, uint8_t frame_size)
{
    U("FrameCount", n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = etl_frame_at(frames, frame_size, i);
        if (i < G_N_ELEMENTS(frame_names)) {
            HEX(frame_names[i], a);
        } else {
            char name[24];
            snprintf(name, sizeof name, "Frame%u", i);
            HEX(name, a);
        }
    }
}

/* The emitters below read a few fields the typed structs do not carry straight from the
 * payload; the decoder has already checked the length those offsets need. */
static void emit_logfile_header(const Sink *s, const EtlEvent *ev)
{
    /* ETL_CONTAINER.md §2.2; offsets after the two pointer-sized slots move by 2(P-4). */
    const uint8_t *p = ev->payload;
    uint32_t n = ev->payload_len, d = ev->pointer_size == 8 ? 8 : 0, next;
    U("BufferSize", etl_rd32(p));
    HEX("Version", etl_rd32(p + 4));
    U("ProviderVersion", etl_rd32(p + 8));
    U("NumberOfProcessors", etl_rd32(p + 12));
    U("EndTime", etl_rd64(p + 16));
    U("TimerResolution", etl_rd32(p + 24));
    U("MaxFileSize", etl_rd32(p + 28));
    HEX("LogFileMode", etl_rd32(p + 32));
    U("BuffersWritten", etl_rd32(p + 36));
    U("StartBuffers", etl_rd32(p + 40));
    U("PointerSize", etl_rd32(p + 44));
    U("EventsLost", etl_rd32(p + 48));
    U("CPUSpeed", etl_rd32(p + 52));
    U("BootTime", etl_rd64(p + 0xF0 + d));
    U("PerfFreq", etl_rd64(p + 0xF8 + d));
    U("StartTime", etl_rd64(p + 0x100 + d));
    U("ReservedFlags", etl_rd32(p + 0x108 + d));
    U("BuffersLost", etl_rd32(p + 0x10C + d));
    uint32_t off = 0x110 + d;
    size_t used = 0;
    EtlWStr w = etl_wstr_scan(p + off, n - off, &used);
    put_w(s, "SessionName", w);
    next = off + (uint32_t)used;
    w = next < n ? etl_wstr_scan(p + next, n - next, NULL) : (EtlWStr){ p + n, 0 };
    put_w(s, "LogFileName", w);
}

static void emit_thread(const Sink *s, const EtlEvent *ev, const EtlThread *t)
{
    unsigned P = ev->pointer_size;
    U("ProcessId", t->pid);
    U("TThreadId", t->tid);
    if (t->fields < 1)
        return;
    HEX("StackBase", t->stack_base);
    HEX("StackLimit", t->stack_limit);
    HEX("UserStackBase", t->user_stack_base);
    HEX("UserStackLimit", t->user_stack_limit);
    /* PerfView calls this slot StartAddr in every version; the v3+ TDH templates call it
     * Affinity, and real v3 values are affinity masks (0xf on a 4-CPU machine). */
    HEX(ev->version >= 3 ? "Affinity" : "StartAddr", t->start_addr);
    HEX("Win32StartAddr", t->win32_start_addr);
    if (t->fields == 1) {
        I("WaitMode", (int8_t)ev->payload[8 + 6 * P]);
        return;
    }
    HEX("TebBase", t->teb_base);
    HEX("SubProcessTag", t->sub_process_tag);
    if (t->fields < 3)
        return;
    U("BasePriority", t->base_priority);
    U("PagePriority", t->page_priority);
    U("IoPriority", t->io_priority);
    HEX("ThreadFlags", t->thread_flags);
    if (t->fields >= 4)
        put_w(s, "ThreadName", t->name);
}

static void emit_process(const Sink *s, const EtlEvent *ev, const EtlProcess *p)
{
    uint16_t v = ev->version;
    if (v == 1)
        HEX("PageDirectoryBase", p->directory_table_base);
    else if (v >= 2)
        HEX("UniqueProcessKey", p->unique_key);
    U("ProcessId", p->pid);
    U("ParentId", p->parent_pid);
    if (v >= 1) {
        U("SessionId", p->session_id);
        I("ExitStatus", p->exit_status);
    }
    if (v >= 3)
        HEX("DirectoryTableBase", p->directory_table_base);
    if (v >= 4)
        HEX("Flags", p->flags);
    if (p->sid)
        put_bytes(s, "UserSID", p->sid, p->sid_len);
    put_a(s, "ImageFileName", p->image_name);
    if (v >= 2)
        put_w(s, "CommandLine", p->command_line);
    if (v >= 4) {
        put_w(s, "PackageFullName", p->package_full_name);
        put_w(s, "ApplicationId", p->application_id);
    }
    if (v >= 5)
        U("ExitTime", p->exit_time);       /* FILETIME */
}

static void emit_image(const Sink *s, const EtlEvent *ev, const EtlImage *im)
{
    uint16_t v = ev->version;
    HEX("ImageBase", im->base);
    U("ImageSize", im->size);
    if (v >= 1)
        U("ProcessId", im->pid);
    if (v >= 2) {
        HEX("ImageChecksum", im->checksum);
        U("TimeDateStamp", im->time_date_stamp);
        if (v >= 3) {
            U("SignatureLevel", im->signature_level);
            U("SignatureType", im->signature_type);
        }
        HEX("DefaultBase", im->default_base);
    }
    put_w(s, "FileName", im->file_name);
}

static void emit_cswitch(const Sink *s, const EtlEvent *ev, const EtlCSwitch *c)
{
    uint16_t v = ev->version;
    U("NewThreadId", c->new_tid);
    U("OldThreadId", c->old_tid);
    I("NewThreadPriority", c->new_priority);
    I("OldThreadPriority", c->old_priority);
    if (v == 1) {
        I("NewThreadQuantum", (int8_t)c->previous_cstate);
        I("OldThreadQuantum", c->spare);
    } else {
        U("PreviousCState", c->previous_cstate);
        I("SpareByte", c->spare);
    }
    U("OldThreadWaitReason", c->old_wait_reason);
    U("OldThreadWaitMode", c->old_wait_mode);
    if (v >= 3)
        HEX("ThreadFlags", ev->payload[13]);
    U("OldThreadState", c->old_state);
    U("OldThreadWaitIdealProcessor", c->old_ideal_processor);
    if (v >= 2)
        U("NewThreadWaitTime", c->new_wait_time);
}

static void emit_sysconfig_cpu(const Sink *s, const EtlEvent *ev, const EtlSysConfigCpu *c)
{
    unsigned P = ev->pointer_size;
    U("MHz", c->mhz);
    U("NumberOfProcessors", c->cpus);
    U("MemSize", c->mem_mb);
    U("PageSize", c->page_size);
    U("AllocationGranularity", c->allocation_granularity);
    put_w(s, "ComputerName", c->computer_name);
    put_w(s, "DomainName", c->domain_name);
    HEX("HyperThreadingFlag", c->hyperthreading_flag);
    if (ev->version >= 3) {
        /* KP §7: HighestUserAddress ptr, then u16 ×3, u8 ×2, u32. */
        const uint8_t *q = ev->payload + 800 + P;
        HEX("HighestUserAddress", etl_rdptr(q, P));
        q += P;
        U("ProcessorArchitecture", etl_rd16(q));
        U("ProcessorLevel", etl_rd16(q + 2));
        U("ProcessorRevision", etl_rd16(q + 4));
        BOOL("PaeEnabled", q[6]);
        BOOL("NxEnabled", q[7]);
        U("MemorySpeed", etl_rd32(q + 8));
    }
}

void etl_kernel_emit_fields(const EtlEvent *ev, const EtlKernelEvent *k, EtlFieldFn fn, void *ctx)
{
    const Sink sink = { fn, ctx }, *s = &sink;
    switch (k->kind) {
    case ETL_K_UNKNOWN:
    case ETL_K_POOL_OTHER:
    case ETL_K_COUNT_:
        return;
    case ETL_K_POOL: {
        const EtlPool *p = &k->u.pool;
        char tbuf[96];
        U("Type", p->type);
        put_a(s, "PoolType", (EtlAStr){ etl_pool_type_name(p->type, tbuf), (uint32_t)strlen(tbuf) });
        put_u(s, "Tag", ETL_FIELD_TAG, p->tag);
        U("NumberOfBytes", p->size);
        HEX("Entry", p->entry);
        if (p->has_session)
            U("SessionId", p->session_id);
        return;
    }
    case ETL_K_DPC:
        TIME("InitialTime", k->u.dpc.initial_time);
        HEX("Routine", k->u.dpc.routine);
        /* The event is written when the routine returns: header time - InitialTime (KP §2.4). */
        /* (both come from the file: wrap like the time code rather than overflow) */
        put_i(s, "DurationUs", ETL_FIELD_DURATION, (int64_t)((uint64_t)ev->timestamp - k->u.dpc.initial_time));
        return;
    case ETL_K_ISR: {
        const EtlIsr *i = &k->u.isr;
        TIME("InitialTime", i->initial_time);
        HEX("Routine", i->routine);
        put_i(s, "DurationUs", ETL_FIELD_DURATION, (int64_t)((uint64_t)ev->timestamp - i->initial_time));
        BOOL("ReturnValue", i->return_value);
        if (ev->version >= 2) {
            U("Vector", i->vector);
            /* Only non-zero under the TDH u16 reading of Vector (KP §2.3): shown when set. */
            if (i->vector_hi)
                U("VectorHigh", i->vector_hi);
        }
        if (i->has_message)
            U("MessageNumber", i->message_number);
        return;
    }
    case ETL_K_SAMPLED_PROFILE: {
        const EtlSampledProfile *p = &k->u.sample;
        HEX("InstructionPointer", p->ip);
        U("ThreadId", p->thread_id);
        U("Count", p->count);
        if (ev->version >= 2) {
            /* Win8+: low byte of Reserved = bit0 ExecutingDPC, bit1 ExecutingISR,
             * bits 3-7 thread priority (KP §2.5; PerfView shows Priority=14 for 0x70). */
            HEX("Reserved", p->reserved);
            BOOL("ExecutingDPC", p->reserved & 1);
            BOOL("ExecutingISR", p->reserved & 2);
            U("Priority", (p->reserved & 0xFF) >> 3);
        }
        return;
    }
    case ETL_K_CSWITCH:
        emit_cswitch(s, ev, &k->u.cswitch);
        return;
    case ETL_K_THREAD:
        emit_thread(s, ev, &k->u.thread);
        return;
    case ETL_K_READY_THREAD:
        U("TThreadId", k->u.ready.tid);
        I("AdjustReason", k->u.ready.adjust_reason);
        I("AdjustIncrement", k->u.ready.adjust_increment);
        HEX("Flag", (uint8_t)k->u.ready.flag);
        return;
    case ETL_K_PROCESS:
        emit_process(s, ev, &k->u.process);
        return;
    case ETL_K_IMAGE:
        emit_image(s, ev, &k->u.image);
        return;
    case ETL_K_STACK: {
        const EtlStack *st = &k->u.stack;
        TIME("EventTimeStamp", st->event_timestamp);
        U("StackProcess", st->pid);
        U("StackThread", st->tid);
        put_frames(s, st->frames, st->n_frames, st->frame_size);
        return;
    }
    case ETL_K_STACK_KEY_REF: {
        const EtlStackKeyRef *r = &k->u.stack_key_ref;
        TIME("EventTimeStamp", r->event_timestamp);
        U("StackProcess", r->pid);
        U("StackThread", r->tid);
        HEX("StackKey", r->key);
        return;
    }
    case ETL_K_STACK_KEY_DEF: {
        const EtlStackKeyDef *d = &k->u.stack_key_def;
        HEX("StackKey", d->key);
        put_frames(s, d->frames, d->n_frames, d->frame_size);
        return;
    }
    case ETL_K_SYSCONFIG_CPU:
        emit_sysconfig_cpu(s, ev, &k->u.cpu);
        return;
    case ETL_K_IMAGE_ID: {
        const EtlImageId *i = &k->u.image_id;
        HEX("ImageBase", i->base);
        U("ImageSize", i->size);
        U("ProcessId", i->pid);
        U("TimeDateStamp", i->time_date_stamp);
        put_w(s, "OriginalFileName", i->original_file_name);
        return;
    }
    case ETL_K_DBGID_RSDS: {
        const EtlDbgIdRsds *r = &k->u.rsds;
        HEX("ImageBase", r->base);
        U("ProcessId", r->pid);
        put_guid(s, "GuidSig", &r->guid);
        U("Age", r->age);
        put_a(s, "PDBFileName", r->pdb_name);
        return;
    }
    case ETL_K_HEADER_EXTENSION: {
        static const char *const masks[8] = {
            "GroupMask1", "GroupMask2", "GroupMask3", "GroupMask4",
            "GroupMask5", "GroupMask6", "GroupMask7", "GroupMask8",
        };
        for (int i = 0; i < 8; i++)
            HEX(masks[i], k->u.header_ext.group_masks[i]);
        if (ev->version >= 2)
            U("KernelEventVersion", k->u.header_ext.kernel_event_version);
        return;
    }
    case ETL_K_LOGFILE_HEADER:
        emit_logfile_header(s, ev);
        return;
    }
}

const char *etl_pool_type_name(uint32_t type, char buf[96])
{
    /* WDK POOL_TYPE: base type in the low 3 bits (with bit 2 cache-aligned), 0x20 session,
     * 0x200 NX; 8/16/256 are caller modifier flags (KERNEL_PAYLOADS.md §1.3). */
    static const char *const base[] = { "NonPagedPool", "PagedPool", "NonPagedPoolMustSucceed", "DontUseThisType",
                                        "NonPagedPoolCacheAligned", "PagedPoolCacheAligned",
                                        "NonPagedPoolCacheAlignedMustS", "DontUseThisType" };
    GString *g = g_string_new(base[type & 7]);
    if (type & 0x20) g_string_append(g, "Session");
    if (type & 0x200) g_string_append(g, "Nx");
    if (type & 0x8) g_string_append(g, "|QuotaFailInsteadOfRaise");
    if (type & 0x10) g_string_append(g, "|RaiseIfAllocationFailure");
    if (type & 0x100) g_string_append(g, "|ColdAllocation");
    uint32_t other = type & ~0x33Fu;
    if (other) g_string_append_printf(g, "|0x%x", other);
    g_strlcpy(buf, g->str, 96);
    g_string_free(g, TRUE);
    return buf;
}
