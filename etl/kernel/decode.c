/* decode.c — typed decoding of NT Kernel Logger and KernelTraceControl payloads.
 *
 * Table-driven: a (group, opcode) table picks the decoder, the decoder checks the version and
 * the layout's minimum length, then reads fixed offsets.  No allocation, no string conversion:
 * strings are borrowed views found with bounded scans.  Layouts: KERNEL_PAYLOADS.md (cited as
 * "KP §n"); header events: ETL_CONTAINER.md §2.2/§2.5.  P is the event's pointer size.
 *
 * Version policy: only documented versions decode; a newer version decodes with the newest
 * known layout only where the layout is an append-only extension (Pool v2+, Process v5+,
 * Thread v4+, KernelTraceControl v2+).  Every other unknown version is ETL_DECODE_UNKNOWN.
 */
#include "etl.h"
#include "kernel/kernel-private.h"

/* ------------------------------------------------------------------------------------------
 * (group, opcode) -> decoder.  8 KiB of read-only data; one load per event.
 * ------------------------------------------------------------------------------------------ */
static const uint8_t k_decoders[0x20][256] = {
    [0x00] = {
        [0x00] = ETL_KD_LOGFILE_HEADER,
        [0x05] = ETL_KD_HEADER_EXT, [0x20] = ETL_KD_HEADER_EXT,
    },
    [0x03] = {
        [0x01] = ETL_KD_PROCESS, [0x02] = ETL_KD_PROCESS, [0x03] = ETL_KD_PROCESS,
        [0x04] = ETL_KD_PROCESS, [0x27] = ETL_KD_PROCESS,
        [0x0A] = ETL_KD_IMAGE,   /* hook 0x030A = Image/Load (KP §0.2) */
    },
    [0x05] = {
        [0x01] = ETL_KD_THREAD, [0x02] = ETL_KD_THREAD, [0x03] = ETL_KD_THREAD,
        [0x04] = ETL_KD_THREAD,
        [0x24] = ETL_KD_CSWITCH, [0x32] = ETL_KD_READY_THREAD,
    },
    [0x0B] = {
        [0x0A] = ETL_KD_SYSCONFIG_CPU,
    },
    [0x0E] = {
        [0x20] = ETL_KD_POOL, [0x21] = ETL_KD_POOL, [0x22] = ETL_KD_POOL, [0x23] = ETL_KD_POOL,
        [0x24] = ETL_KD_POOL_OTHER, [0x25] = ETL_KD_POOL_OTHER, [0x26] = ETL_KD_POOL_OTHER,
        [0x27] = ETL_KD_POOL_OTHER, [0x28] = ETL_KD_POOL_OTHER, [0x29] = ETL_KD_POOL_OTHER,
        [0x2A] = ETL_KD_POOL_OTHER, [0x2B] = ETL_KD_POOL_OTHER, [0x2C] = ETL_KD_POOL_OTHER,
        [0x2D] = ETL_KD_POOL_OTHER, [0x2E] = ETL_KD_POOL_OTHER, [0x2F] = ETL_KD_POOL_OTHER,
    },
    [0x0F] = {
        [0x2E] = ETL_KD_SAMPLED_PROFILE,
        [0x32] = ETL_KD_ISR_MSI,
        [0x42] = ETL_KD_DPC, [0x44] = ETL_KD_DPC, [0x45] = ETL_KD_DPC,
        [0x43] = ETL_KD_ISR, [0x5F] = ETL_KD_ISR,
    },
    [0x14] = {
        /* 0x1401 is WMI_LOG_TYPE_IMAGE_LOAD in NTWMI.H ("reserved for future", same
         * WMI_IMAGELOAD_INFORMATION payload); never seen, decoded like the others. */
        [0x01] = ETL_KD_IMAGE, [0x02] = ETL_KD_IMAGE, [0x03] = ETL_KD_IMAGE,
        [0x04] = ETL_KD_IMAGE, [0x0A] = ETL_KD_IMAGE,
    },
    [0x18] = {
        [0x20] = ETL_KD_STACK,
        [0x22] = ETL_KD_STACK_KEY_DEF, [0x23] = ETL_KD_STACK_KEY_DEF, [0x24] = ETL_KD_STACK_KEY_DEF,
        [0x25] = ETL_KD_STACK_KEY_REF, [0x26] = ETL_KD_STACK_KEY_REF,
    },
};

static inline EtlKernelDecoderId decoder_for(uint8_t group, uint8_t opcode)
{
    return group < 0x20 ? (EtlKernelDecoderId)k_decoders[group][opcode] : ETL_KD_NONE;
}

EtlKernelDecoderId etl_kernel_decoder_for(uint8_t group, uint8_t opcode)
{
    return decoder_for(group, opcode);
}

/* ------------------------------------------------------------------------------------------
 * Helpers.  Decoders of rare, long events (process, image, thread, rundown) are kept out of
 * line so that the entry point stays small for the per-event ones (pool, DPC, stacks...).
 * ------------------------------------------------------------------------------------------ */
#define OK        ETL_DECODE_OK
#define UNKNOWN   ETL_DECODE_UNKNOWN
#define TOO_SHORT ETL_DECODE_TOO_SHORT

/* Strings that run to the end of the payload: an absent field is an empty view. */
static inline EtlWStr wstr_at(const uint8_t *p, uint32_t n, uint32_t off, uint32_t *next)
{
    size_t used = 0;
    if (off >= n) {
        *next = n;
        return (EtlWStr){ p ? p + n : NULL, 0 };
    }
    EtlWStr s = etl_wstr_scan(p + off, n - off, &used);
    *next = off + (uint32_t)used;
    return s;
}

static inline EtlAStr astr_at(const uint8_t *p, uint32_t n, uint32_t off, uint32_t *next)
{
    size_t used = 0;
    if (off >= n) {
        *next = n;
        return (EtlAStr){ p ? (const char *)p + n : NULL, 0 };
    }
    EtlAStr s = etl_astr_scan(p + off, n - off, &used);
    *next = off + (uint32_t)used;
    return s;
}

/* ------------------------------------------------------------------------------------------
 * Pool (KP §1.2): Type u32, Tag u32, NumberOfBytes SIZE_T, Entry ptr [, SessionId u32]
 * ------------------------------------------------------------------------------------------ */
static EtlDecodeStatus dec_pool(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                                EtlKernelEvent *out)
{
    if (ev->version < 2)
        return UNKNOWN;
    bool session = (ev->opcode & 1) != 0;          /* 0x21, 0x23 */
    if (n < 8 + 2 * P + (session ? 4u : 0u))
        return TOO_SHORT;
    EtlPool *o = &out->u.pool;
    o->type = etl_rd32(p);
    o->tag = etl_rd32(p + 4);
    o->size = etl_rdptr(p + 8, P);
    o->entry = etl_rdptr(p + 8 + P, P);
    o->session_id = session ? etl_rd32(p + 8 + 2 * P) : 0;
    o->has_session = session;
    o->is_free = (ev->opcode & 2) != 0;            /* 0x22, 0x23 */
    out->kind = ETL_K_POOL;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * PerfInfo (KP §2): DPC/TimerDPC/ThreadedDPC, ISR/ISR-PASS, ISR-MSI, SampledProfile
 * InitialTime is always 8 bytes whatever P is (KP §0.1).
 * ------------------------------------------------------------------------------------------ */
static EtlDecodeStatus dec_dpc(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                               EtlKernelEvent *out)
{
    if (ev->version < 1 || ev->version > 2)
        return UNKNOWN;
    if (n < 8 + P)
        return TOO_SHORT;
    out->u.dpc.initial_time = etl_rd64(p);
    out->u.dpc.routine = etl_rdptr(p + 8, P);
    out->kind = ETL_K_DPC;
    return OK;
}

static EtlDecodeStatus dec_isr(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                               bool msi, EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    if (msi ? v != 2 : (v < 1 || v > 2))
        return UNKNOWN;
    if (n < (msi ? 16 + P : 12 + P))
        return TOO_SHORT;
    EtlIsr *o = &out->u.isr;
    o->initial_time = etl_rd64(p);
    o->routine = etl_rdptr(p + 8, P);
    if (v == 1) {
        /* Vista layout: ReturnValue u32, no vector (DX template 0xce58b455). */
        o->return_value = etl_rd32(p + 8 + P) != 0;
        o->vector = 0;
        o->vector_hi = 0;
    } else {
        /* MOF reading: u8 ReturnValue, u8 Vector, u16 Reserved; the TDH reading makes
         * Vector a u16, whose high byte is @10+P (KP §2.3). */
        o->return_value = p[8 + P];
        o->vector = p[9 + P];
        o->vector_hi = p[10 + P];
    }
    o->has_message = msi;
    o->message_number = msi ? etl_rd32(p + 12 + P) : 0;
    out->kind = ETL_K_ISR;
    return OK;
}

static EtlDecodeStatus dec_sampled_profile(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                           unsigned P, EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    if (v < 1 || v > 2)
        return UNKNOWN;
    if (n < (v == 1 ? P + 6 : P + 8))
        return TOO_SHORT;
    EtlSampledProfile *o = &out->u.sample;
    o->ip = etl_rdptr(p, P);
    o->thread_id = etl_rd32(p + P);
    o->count = etl_rd16(p + P + 4);
    o->reserved = v >= 2 ? etl_rd16(p + P + 6) : 0;
    out->kind = ETL_K_SAMPLED_PROFILE;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * Thread (KP §3)
 * ------------------------------------------------------------------------------------------ */
static G_GNUC_NO_INLINE EtlDecodeStatus dec_thread(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                                  EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    EtlThread *o = &out->u.thread;
    memset(o, 0, sizeof *o);
    if (n < 8)
        return TOO_SHORT;
    if (v == 0) {
        /* v0 has the ids the other way round: TThreadId, then ProcessId. */
        o->tid = etl_rd32(p);
        o->pid = etl_rd32(p + 4);
        o->fields = 0;
        out->kind = ETL_K_THREAD;
        return OK;
    }
    o->pid = etl_rd32(p);
    o->tid = etl_rd32(p + 4);
    if (v == 1) {
        /* End v1 is the 8-byte short form (DX Thread_V1_TypeGroup2); take the long form
         * if one is there anyway. */
        if (n < 9 + 6 * P) {
            if (ev->opcode != 2)
                return TOO_SHORT;
            o->fields = 0;
            out->kind = ETL_K_THREAD;
            return OK;
        }
    } else if (n < (v == 2 ? 12 + 7 * P : 16 + 7 * P)) {
        return TOO_SHORT;
    }
    const uint8_t *q = p + 8;
    o->stack_base = etl_rdptr(q, P);
    o->stack_limit = etl_rdptr(q + P, P);
    o->user_stack_base = etl_rdptr(q + 2 * P, P);
    o->user_stack_limit = etl_rdptr(q + 3 * P, P);
    o->start_addr = etl_rdptr(q + 4 * P, P);      /* "Affinity" in the v3+ TDH templates */
    o->win32_start_addr = etl_rdptr(q + 5 * P, P);
    if (v == 1) {
        o->fields = 1;                             /* WaitMode s8 @8+6P: see fields.c */
        out->kind = ETL_K_THREAD;
        return OK;
    }
    o->teb_base = etl_rdptr(q + 6 * P, P);
    o->sub_process_tag = etl_rd32(q + 7 * P);
    o->fields = 2;
    if (v >= 3) {
        const uint8_t *r = p + 12 + 7 * P;
        o->base_priority = r[0];
        o->page_priority = r[1];
        o->io_priority = r[2];
        o->thread_flags = r[3];
        o->fields = 3;
        /* ThreadName follows in v4, and in v3 too on Windows 10 1903 (real trace:
         * win10-x64-shutdown-perfdiag.etl, every v3 Thread event is 74+ bytes). */
        uint32_t off = 16 + 7 * P, next;
        if (v >= 4 || n > off) {
            o->name = wstr_at(p, n, off, &next);
            o->fields = 4;
        }
    }
    out->kind = ETL_K_THREAD;
    return OK;
}

static EtlDecodeStatus dec_cswitch(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                   EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    if (v < 1 || v > 4)
        return UNKNOWN;
    if (n < (v == 1 ? 16u : 24u))
        return TOO_SHORT;
    EtlCSwitch *o = &out->u.cswitch;
    o->new_tid = etl_rd32(p);
    o->old_tid = etl_rd32(p + 4);
    o->new_priority = (int8_t)p[8];
    o->old_priority = (int8_t)p[9];
    o->previous_cstate = p[10];                   /* v1: NewThreadQuantum */
    o->spare = (int8_t)p[11];                     /* v1: OldThreadQuantum */
    o->old_wait_reason = p[12];
    o->old_wait_mode = p[13] & 1;                 /* v3+: bit 0 of ThreadFlags (KP §3.2) */
    o->old_state = p[14];
    o->old_ideal_processor = p[15];
    o->new_wait_time = v >= 2 ? etl_rd32(p + 16) : 0;
    o->reserved = v >= 2 ? etl_rd32(p + 20) : 0;
    out->kind = ETL_K_CSWITCH;
    return OK;
}

static EtlDecodeStatus dec_ready_thread(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                        EtlKernelEvent *out)
{
    if (ev->version != 2)
        return UNKNOWN;
    if (n < 8)
        return TOO_SHORT;
    out->u.ready.tid = etl_rd32(p);
    out->u.ready.adjust_reason = (int8_t)p[4];
    out->u.ready.adjust_increment = (int8_t)p[5];
    out->u.ready.flag = (int8_t)p[6];
    out->kind = ETL_K_READY_THREAD;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * Process (KP §4).  The SID is variable-length (KP §0.4): a u32 0 is the whole field (4
 * bytes); otherwise a TOKEN_USER of 2P bytes, then a SID of 8 + 4*SubAuthorityCount bytes.
 * ------------------------------------------------------------------------------------------ */
static G_GNUC_NO_INLINE EtlDecodeStatus dec_process(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                                   EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    EtlProcess *o = &out->u.process;
    memset(o, 0, sizeof *o);
    uint32_t sid_off;
    switch (v) {
    case 0:
        sid_off = 2 * P;
        break;
    case 1:
    case 2:
        sid_off = P + 16;
        break;
    case 3:
        sid_off = 2 * P + 16;
        break;
    default: /* 4, 5 and later: v5 appends ExitTime after the strings */
        sid_off = 2 * P + 20;
        break;
    }
    if (n < sid_off + 4)
        return TOO_SHORT;
    if (v == 0) {
        o->pid = (uint32_t)etl_rdptr(p, P);
        o->parent_pid = (uint32_t)etl_rdptr(p + P, P);
    } else {
        uint64_t first = etl_rdptr(p, P);
        if (v == 1)
            o->directory_table_base = first;       /* PageDirectoryBase */
        else
            o->unique_key = first;
        o->pid = etl_rd32(p + P);
        o->parent_pid = etl_rd32(p + P + 4);
        o->session_id = etl_rd32(p + P + 8);
        o->exit_status = (int32_t)etl_rd32(p + P + 12);
        if (v >= 3)
            o->directory_table_base = etl_rdptr(p + P + 16, P);
        if (v >= 4)
            o->flags = etl_rd32(p + 2 * P + 16);
    }
    uint32_t off = sid_off;
    if (etl_rd32(p + off) == 0) {
        off += 4;
    } else {
        uint32_t body = off + 2 * P;
        if (n < body + 8)
            return TOO_SHORT;
        uint32_t sid_len = 8 + 4u * p[body + 1];
        if (n - body < sid_len)
            return TOO_SHORT;
        o->sid = p + body;
        o->sid_len = sid_len;
        off = body + sid_len;
    }
    o->image_name = astr_at(p, n, off, &off);
    if (v >= 2)
        o->command_line = wstr_at(p, n, off, &off);
    if (v >= 4) {
        o->package_full_name = wstr_at(p, n, off, &off);
        o->application_id = wstr_at(p, n, off, &off);
    }
    if (v >= 5 && n - off >= 8)
        o->exit_time = etl_rd64(p + off);
    out->kind = ETL_K_PROCESS;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * Image (KP §5.2)
 * ------------------------------------------------------------------------------------------ */
static G_GNUC_NO_INLINE EtlDecodeStatus dec_image(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                                 EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    EtlImage *o = &out->u.image;
    memset(o, 0, sizeof *o);
    uint32_t name_off, next;
    switch (v) {
    case 0:
        name_off = P + 4;
        if (n < name_off)
            return TOO_SHORT;
        o->base = etl_rdptr(p, P);
        o->size = etl_rd32(p + P);
        break;
    case 1:
        name_off = 2 * P + 4;
        if (n < name_off)
            return TOO_SHORT;
        o->base = etl_rdptr(p, P);
        o->size = etl_rdptr(p + P, P);
        o->pid = etl_rd32(p + 2 * P);
        break;
    case 2:
    case 3:
        name_off = 3 * P + 32;
        if (n < name_off)
            return TOO_SHORT;
        o->base = etl_rdptr(p, P);
        o->size = etl_rdptr(p + P, P);
        o->pid = etl_rd32(p + 2 * P);
        o->checksum = etl_rd32(p + 2 * P + 4);
        o->time_date_stamp = etl_rd32(p + 2 * P + 8);
        if (v == 3) {
            o->signature_level = p[2 * P + 12];
            o->signature_type = p[2 * P + 13];
        }
        o->default_base = etl_rdptr(p + 2 * P + 16, P);
        break;
    default:
        return UNKNOWN;
    }
    o->file_name = wstr_at(p, n, name_off, &next);
    out->kind = ETL_K_IMAGE;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * StackWalk (KP §6)
 * ------------------------------------------------------------------------------------------ */
static EtlDecodeStatus dec_stack(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                                 EtlKernelEvent *out)
{
    if (ev->version != 2)
        return UNKNOWN;
    if (n < 16)
        return TOO_SHORT;
    EtlStack *o = &out->u.stack;
    o->event_timestamp = etl_rd64(p);
    o->pid = etl_rd32(p + 8);
    o->tid = etl_rd32(p + 12);
    o->frames = p + 16;
    o->n_frames = (n - 16) >> (P == 8 ? 3 : 2);   /* / P; a partial trailing frame is ignored */
    o->frame_size = (uint8_t)P;
    out->kind = ETL_K_STACK;
    return OK;
}

static EtlDecodeStatus dec_stack_key_def(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                         unsigned P, EtlKernelEvent *out)
{
    if (ev->version != 2)
        return UNKNOWN;
    if (n < P)
        return TOO_SHORT;
    EtlStackKeyDef *o = &out->u.stack_key_def;
    o->key = etl_rdptr(p, P);
    o->frames = p + P;
    o->n_frames = (n - P) >> (P == 8 ? 3 : 2);    /* / P (4 or 8), without a divide */
    o->frame_size = (uint8_t)P;
    out->kind = ETL_K_STACK_KEY_DEF;
    return OK;
}

static EtlDecodeStatus dec_stack_key_ref(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                         unsigned P, EtlKernelEvent *out)
{
    if (ev->version != 2)
        return UNKNOWN;
    if (n < 16 + P)
        return TOO_SHORT;
    EtlStackKeyRef *o = &out->u.stack_key_ref;
    o->event_timestamp = etl_rd64(p);
    o->pid = etl_rd32(p + 8);
    o->tid = etl_rd32(p + 12);
    o->key = etl_rdptr(p + 16, P);
    o->user = ev->opcode == 0x26;
    out->kind = ETL_K_STACK_KEY_REF;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * SystemConfig CPU (KP §7): ComputerName WChar[256] @20, DomainName WChar[132|134] @532,
 * HyperThreadingFlag ptr @796 (v0/v1) or @800 (v2/v3); v3 adds fields after it.
 * ------------------------------------------------------------------------------------------ */
static G_GNUC_NO_INLINE EtlDecodeStatus dec_sysconfig_cpu(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                         unsigned P, EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    if (v > 3)
        return UNKNOWN;
    uint32_t ht_off = v <= 1 ? 796 : 800;
    uint32_t need = v == 3 ? ht_off + 2 * P + 12 : ht_off + P;
    if (n < need)
        return TOO_SHORT;
    EtlSysConfigCpu *o = &out->u.cpu;
    o->mhz = etl_rd32(p);
    o->cpus = etl_rd32(p + 4);
    o->mem_mb = etl_rd32(p + 8);
    o->page_size = etl_rd32(p + 12);
    o->allocation_granularity = etl_rd32(p + 16);
    o->computer_name = etl_wstr_scan(p + 20, 512, NULL);
    o->domain_name = etl_wstr_scan(p + 532, ht_off - 532, NULL);
    o->hyperthreading_flag = etl_rdptr(p + ht_off, P);
    out->kind = ETL_K_SYSCONFIG_CPU;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * EventTrace (ETL_CONTAINER.md §2.2, §2.5)
 * ------------------------------------------------------------------------------------------ */
static EtlDecodeStatus dec_header_ext(const EtlEvent *ev, const uint8_t *p, uint32_t n,
                                      EtlKernelEvent *out)
{
    uint16_t v = ev->version;
    if (v > 2)
        return UNKNOWN;
    /* v0/v1: 8 group masks; v2 adds KernelEventVersion (DX Header_Extension_TypeGroup). */
    if (n < (v == 2 ? 36u : 32u))
        return TOO_SHORT;
    EtlHeaderExtension *o = &out->u.header_ext;
    for (int i = 0; i < 8; i++)
        o->group_masks[i] = etl_rd32(p + 4 * i);
    o->kernel_event_version = v == 2 ? etl_rd32(p + 32) : 0;
    out->kind = ETL_K_HEADER_EXTENSION;
    return OK;
}

static EtlDecodeStatus dec_logfile_header(const EtlEvent *ev, uint32_t n, unsigned P,
                                          EtlKernelEvent *out)
{
    if (ev->version > 2)
        return UNKNOWN;
    /* TRACE_LOGFILE_HEADER32 is 0x110 bytes, TRACE_LOGFILE_HEADER64 0x118 (two pointers). */
    if (n < (P == 8 ? 0x118u : 0x110u))
        return TOO_SHORT;
    out->kind = ETL_K_LOGFILE_HEADER;
    return OK;
}

/* ------------------------------------------------------------------------------------------
 * KernelTraceControl ImageID / DbgID (KP §5.4), classic events with class GUID b3e675d7-…
 * ------------------------------------------------------------------------------------------ */
static G_GNUC_NO_INLINE EtlDecodeStatus dec_ktc(const EtlEvent *ev, const uint8_t *p, uint32_t n, unsigned P,
                               EtlKernelEvent *out)
{
    uint32_t next;
    switch (ev->opcode) {
    case 0x00: {
        if (ev->version < 2)
            return UNKNOWN;
        if (n < 2 * P + 8)
            return TOO_SHORT;
        EtlImageId *o = &out->u.image_id;
        o->base = etl_rdptr(p, P);
        o->size = etl_rdptr(p + P, P);
        o->pid = etl_rd32(p + 2 * P);
        o->time_date_stamp = etl_rd32(p + 2 * P + 4);
        o->original_file_name = wstr_at(p, n, 2 * P + 8, &next);
        out->kind = ETL_K_IMAGE_ID;
        return OK;
    }
    case 0x24:   /* DbgID_RSDS   */
    case 0x25: { /* DbgID_ILRSDS */
        if (ev->version < 2)
            return UNKNOWN;
        if (n < P + 24)
            return TOO_SHORT;
        EtlDbgIdRsds *o = &out->u.rsds;
        o->base = etl_rdptr(p, P);
        o->pid = etl_rd32(p + P);
        o->guid = etl_guid_read(p + P + 4);
        o->age = etl_rd32(p + P + 20);
        o->pdb_name = astr_at(p, n, P + 24, &next);
        out->kind = ETL_K_DBGID_RSDS;
        return OK;
    }
    default:
        return UNKNOWN;
    }
}

/* ------------------------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------------------------ */
EtlDecodeStatus etl_kernel_decode(const EtlEvent *ev, EtlKernelEvent *out)
{
    out->kind = ETL_K_UNKNOWN;
    const unsigned P = ev->pointer_size;
    if (G_UNLIKELY(P != 4 && P != 8))
        return UNKNOWN;
    const uint8_t *p = ev->payload;
    const uint32_t n = p ? ev->payload_len : 0;

    if (G_LIKELY(etl_header_kind_is_kernel(ev->kind))) {
        switch (decoder_for(ev->group, ev->opcode)) {
        case ETL_KD_NONE:            return UNKNOWN;
        case ETL_KD_POOL:            return dec_pool(ev, p, n, P, out);
        case ETL_KD_POOL_OTHER:      out->kind = ETL_K_POOL_OTHER; return OK;
        case ETL_KD_DPC:             return dec_dpc(ev, p, n, P, out);
        case ETL_KD_ISR:             return dec_isr(ev, p, n, P, false, out);
        case ETL_KD_ISR_MSI:         return dec_isr(ev, p, n, P, true, out);
        case ETL_KD_SAMPLED_PROFILE: return dec_sampled_profile(ev, p, n, P, out);
        case ETL_KD_CSWITCH:         return dec_cswitch(ev, p, n, out);
        case ETL_KD_THREAD:          return dec_thread(ev, p, n, P, out);
        case ETL_KD_READY_THREAD:    return dec_ready_thread(ev, p, n, out);
        case ETL_KD_PROCESS:         return dec_process(ev, p, n, P, out);
        case ETL_KD_IMAGE:           return dec_image(ev, p, n, P, out);
        case ETL_KD_STACK:           return dec_stack(ev, p, n, P, out);
        case ETL_KD_STACK_KEY_DEF:   return dec_stack_key_def(ev, p, n, P, out);
        case ETL_KD_STACK_KEY_REF:   return dec_stack_key_ref(ev, p, n, P, out);
        case ETL_KD_SYSCONFIG_CPU:   return dec_sysconfig_cpu(ev, p, n, P, out);
        case ETL_KD_HEADER_EXT:      return dec_header_ext(ev, p, n, out);
        case ETL_KD_LOGFILE_HEADER:  return dec_logfile_header(ev, n, P, out);
        }
        return UNKNOWN;
    }
    if ((ev->kind == ETL_HDR_FULL || ev->kind == ETL_HDR_INSTANCE) &&
        etl_guid_equal(&ev->provider, &ETL_GUID_KTC_IMAGEID))
        return dec_ktc(ev, p, n, P, out);
    return UNKNOWN;
}

const char *etl_kernel_kind_name(EtlKernelKind k)
{
    static const char *const names[ETL_K_COUNT_] = {
        [ETL_K_UNKNOWN] = "Unknown",
        [ETL_K_POOL] = "Pool",
        [ETL_K_POOL_OTHER] = "PoolOther",
        [ETL_K_DPC] = "DPC",
        [ETL_K_ISR] = "ISR",
        [ETL_K_SAMPLED_PROFILE] = "SampledProfile",
        [ETL_K_CSWITCH] = "CSwitch",
        [ETL_K_THREAD] = "Thread",
        [ETL_K_READY_THREAD] = "ReadyThread",
        [ETL_K_PROCESS] = "Process",
        [ETL_K_IMAGE] = "Image",
        [ETL_K_STACK] = "Stack",
        [ETL_K_STACK_KEY_REF] = "StackKeyRef",
        [ETL_K_STACK_KEY_DEF] = "StackKeyDef",
        [ETL_K_SYSCONFIG_CPU] = "SysConfigCPU",
        [ETL_K_IMAGE_ID] = "ImageID",
        [ETL_K_DBGID_RSDS] = "DbgID_RSDS",
        [ETL_K_HEADER_EXTENSION] = "HeaderExtension",
        [ETL_K_LOGFILE_HEADER] = "LogfileHeader",
    };
    return (unsigned)k < ETL_K_COUNT_ ? names[k] : "Unknown";
}
