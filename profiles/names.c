/* names.c — WPR SystemProvider keyword and stack names: kernel flags, group masks, stack hook
 * ids, xperf names, the kernel events each keyword produces, and "did you mean".
 *
 * Sources (docs/profiles.md has the details; ../shared/docs/WPR_PROFILES.md §3.3-3.4):
 *  - names: the 2018 WPRControlProfiles.xsd enums, plus names seen in real profiles that the
 *    schema lacks (source PROFILE_NAME_REAL);
 *  - keyword -> xperf flag -> group mask: the WPR keyword docs joined by name and description
 *    with `xperf -providers K` and the PERFINFO group-mask constants of ntwmi.h;
 *  - stack -> xperf -stackwalk name: `xperf -help stackwalk` and the WPR/xperf renames;
 *  - stack -> hook id: ntwmi/TraceEvent where known; ids derived from etla's own opcode tables
 *    (etl/names.c: the event a stack belongs to) are marked verify;
 *  - keyword -> kernel events: etla's own table, from the same opcode tables and the xperf
 *    flag descriptions.  Keywords with verify set have an unconfirmed bit.
 */
#include "profile.h"

#include <stddef.h>
#include <string.h>

/* Shorthands for the table columns. */
#define X PROFILE_NAME_XSD
#define R PROFILE_NAME_REAL

static const ProfileKeywordInfo keywords[] = {
    /* name, xperf, perf_mask, flags_alias, source, verify, description */
    { "AllFaults", "ALL_FAULTS", 0x00001000, 0, X, false, "All page faults: hard, copy-on-write, demand-zero, transition" },
    { "Alpc", "ALPC", 0x00100000, 0, X, false, "Advanced local procedure calls" },
    { "AntiStarvation", NULL, 0x40000001, 0, X, false, "Anti-starvation priority boosts" },
    { "CC", "CC", 0x80020000, 0, X, false, "Cache manager" },
    { "ClockInterrupt", "CLOCKINT", 0x40040000, 0, X, false, "Clock interrupts" },
    { "ClusterOff", NULL, 0xE0000001, 0, X, false, "Control flag: no event clustering" },
    { "CompactCSwitch", "COMPACT_CSWITCH", 0x20000100, 0, X, false, "Compact (batched, differential) context switches" },
    { "ContiguousMemorygeneration", "CONTMEMGEN", 0x20100000, 0, X, false, "Contiguous memory generation" },
    { "CpuConfig", "CPU_CONFIG", 0x40010000, 0, X, false, "NUMA topology and processor numbering (always on in xperf)" },
    { "CSwitch", "CSWITCH", 0x20000004, 0x00000010, X, false, "Context switches" },
    { "DiskIO", "DISK_IO", 0x00000300, 0, X, false, "Disk I/O completions" },
    { "DiskIOInit", "DISK_IO_INIT", 0x00000400, 0, X, false, "Disk I/O initiation" },
    { "DPC", "DPC", 0x20000080, 0x00000020, X, false, "Deferred procedure calls (DPC, TimerDPC, ThreadedDPC)" },
    { "Drivers", "DRIVERS", 0x20000010, 0x00800000, X, false, "Driver IRP dispatch and completion" },
    { "FileIO", "FILE_IO", 0x02000000, 0, X, false, "File system operation end times and results" },
    { "FileIOInit", "FILE_IO_INIT", 0x04000000, 0, X, false, "File system operations (create, read, write, ...)" },
    { "Filename", "FILENAME", 0x00000200, 0, X, false, "File names (create, delete, rundown)" },
    { "FilterIO", "FLT_IO", 0x80100000, 0, X, true, "Minifilter callback completion" },
    { "FilterIOFailure", "FLT_IO_FAILURE", 0x80400000, 0, X, true, "Minifilter callback completion with failure" },
    { "FilterIOFastIO", "FLT_FASTIO", 0x80200000, 0, X, true, "Minifilter fast I/O callback completion" },
    { "FilterIOInit", "FLT_IO_INIT", 0x80080000, 0, X, true, "Minifilter callback initiation" },
    { "FootPrint", "FOOTPRINT", 0x20000008, 0, X, false, "Footprint analysis" },
    { "HalClock", "KE_CLOCK", 0x40100000, 0, X, true, "Clock configuration" },
    { "Handle", NULL, 0x80000040, 0, X, false, "Kernel handle create, close, duplicate" },
    { "HardFaults", "HARD_FAULTS", 0x00002000, 0, X, false, "Hard page faults" },
    { "IdealProcessor", NULL, 0, 0, R, true, "Ideal processor changes (kernel flag not known to etla)" },
    { "IdleStates", "IDLE_STATES", 0x40200000, 0, X, true, "CPU idle states" },
    { "InterProcessorInterrupt", "IPI", 0x40400000, 0, X, false, "Inter-processor interrupts" },
    { "Interrupt", "INTERRUPT", 0x20004000, 0x00000040, X, false, "Interrupt service routines (ISR, ISR-MSI, passive ISR)" },
    { "KernelQueue", "KQUEUE", 0x21000000, 0, X, false, "Kernel queue enqueue and dequeue" },
    { "Loader", "LOADER", 0x00000004, 0, X, false, "Image load and unload (needed for symbols)" },
    { "LoadBalancer", NULL, 0x40080000, 0, X, false, "Scheduler load balancer" },
    { "Memory", "MEMORY", 0x20000001, 0, X, false, "Memory manager tracing" },
    { "MemoryInfo", "MEMINFO", 0x20080000, 0, X, false, "Memory list information" },
    { "MemoryInfoWS", "MEMINFO_WS", 0x20800000, 0, X, false, "Working set information" },
    { "NetworkTrace", "NETWORKTRACE", 0x00010000, 0, X, false, "TCP/UDP send and receive" },
    { "Object", NULL, 0x80000080, 0, X, false, "Kernel object create, delete, reference" },
    { "OpticalIO", "OPTICAL_IO", 0x80000001, 0, X, false, "Optical I/O" },
    { "OpticalIOInit", "OPTICAL_IO_INIT", 0x80000002, 0, X, false, "Optical I/O initiation" },
    { "PmcProfile", "PMC_PROFILE", 0x20000400, 0, R, false, "Hardware counter (PMC) sampling" },
    { "Pool", "POOL", 0x20000040, 0, X, false, "Kernel pool allocations and frees (and the pool rundown)" },
    { "Power", "POWER", 0x80008000, 0, X, false, "Power management" },
    { "ProcessCounter", "PERF_COUNTER", 0x00000008, 0, X, false, "Process performance counters" },
    { "ProcessFreeze", NULL, 0x40000002, 0, X, false, "Process freeze and resume" },
    { "ProcessThread", "PROC_THREAD", 0x00000003, 0, X, false, "Process and thread create, exit and rundown (needed for attribution)" },
    { "ReadyThread", "DISPATCHER", 0x20000200, 0x00000800, X, false, "Ready thread (who readied whom)" },
    { "ReferenceSet", "REFSET", 0x20000020, 0, X, false, "Reference set (footprint analysis)" },
    { "Registry", "REGISTRY", 0x00020000, 0, X, false, "Registry operations" },
    { "RegistryHive", "REG_HIVE", 0x41000000, 0, X, false, "Registry hive tracing" },
    { "RegistryNotify", NULL, 0x42000000, 0, R, false, "Registry change notifications" },
    { "SampledProfile", "PROFILE", 0x20000002, 0x01000000, X, false, "CPU sampling (1 kHz by default)" },
    { "Session", "SESSION", 0x20400000, 0, R, false, "Session create, delete and rundown" },
    { "SpinLock", "SPINLOCK", 0x20010000, 0, X, false, "Spin lock collisions" },
    { "SplitIO", "SPLIT_IO", 0x00200000, 0, X, false, "Split I/O" },
    { "SynchronizationObjects", NULL, 0x20020000, 0, X, false, "Synchronization objects" },
    { "SystemCall", "SYSCALL", 0x40000040, 0x00000080, X, false, "System call enter and exit" },
    { "ThreadPriority", "PRIORITY", 0x20002000, 0, X, false, "Thread priority changes" },
    { "Timer", "TIMER", 0x40020000, 0, X, false, "Timer settings and expirations" },
    { "VAMap", "VAMAP", 0x00008000, 0, R, false, "Mapped file information" },
    { "VirtualAllocation", "VIRT_ALLOC", 0x20008000, 0x00004000, X, false, "Virtual allocation reserve and release" },
    { "WakeCounter", NULL, 0x80002000, 0, X, false, "Wake counters" },
    { "WDFDPC", "WDF_DPC", 0x81000000, 0, R, false, "KMDF driver DPCs (per-driver DPC attribution)" },
    { "WDFInterrupt", "WDF_INTERRUPT", 0x82000000, 0, R, false, "KMDF driver interrupts" },
};

static const ProfileStackInfo stacks[] = {
    /* name, xperf, hook, source, verify */
    { "AlpcClosePort", "AlpcClosePort", 0x1A29, X, true },
    { "AlpcConnectFail", "AlpcConnectFail", 0x1A28, X, true },
    { "AlpcConnectRequest", "AlpcConnectRequest", 0x1A26, X, true },
    { "AlpcConnectSuccess", "AlpcConnectSuccess", 0x1A27, X, true },
    { "AlpcReceiveMessage", "AlpcReceiveMessage", 0x1A22, X, true },
    { "AlpcSendMessage", "AlpcSendMessage", 0x1A21, X, true },
    { "AlpcUnwait", "AlpcUnwait", 0x1A25, X, true },
    { "AlpcWaitForNewMessage", "AlpcWaitForNewMessage", 0x1A24, X, true },
    { "AlpcWaitForReply", "AlpcWaitForReply", 0x1A23, X, true },
    { "CcCanIWriteFail", "CcCanIWriteFail", 0, X, false },
    { "CcFlushCache", "CcFlushCache", 0, X, false },
    { "CcFlushSection", "CcFlushSection", 0, X, false },
    { "CcLazyWriteScan", "CcLazyWriteScan", 0, X, false },
    { "CcReadAhead", "CcReadAhead", 0, X, false },
    { "CcWorkitemComplete", "CcWorkitemComplete", 0, X, false },
    { "CcWorkitemDequeue", "CcWorkitemDequeue", 0, X, false },
    { "CcWorkitemEnqueue", "CcWorkitemEnqueue", 0, X, false },
    { "CcWriteBehind", "CcWriteBehind", 0, X, false },
    { "ChargeWakeCounterDevice", NULL, 0, X, false },
    { "ChargeWakeCounterKernel", NULL, 0, X, false },
    { "ChargeWakeCounterPower", NULL, 0, X, false },
    { "ChargeWakeCounterUser", NULL, 0, X, false },
    { "ContiguousMemoryGeneration", "ContiguousMemoryGeneration", 0, X, false },
    { "CSwitch", "CSwitch", 0x0524, X, false },
    { "DiskFlushInit", "DiskFlushInit", 0x010F, X, false },
    { "DiskReadInit", "DiskReadInit", 0x010C, X, false },
    { "DiskWriteInit", "DiskWriteInit", 0x010D, X, false },
    { "ExecutiveResource", "ExecutiveResource", 0, X, false },
    { "FileCleanup", "FileCleanup", 0x0441, X, true },
    { "FileClose", "FileClose", 0x0442, X, true },
    { "FileCreate", "FileCreate", 0x0440, X, true },
    { "FileDelete", "FileDelete", 0x0446, X, true },
    { "FileDirEnum", "FileDirEnum", 0x0448, X, true },
    { "FileDirNotify", "FileDirNotify", 0x044D, X, true },
    { "FileFlush", "FileFlush", 0x0449, X, true },
    { "FileFSCTL", "FileFSCTL", 0x044B, X, true },
    { "FileOpEnd", "FileOpEnd", 0x044C, X, true },
    { "FileQueryInformation", "FileQueryInformation", 0x044A, X, true },
    { "FileRead", "FileRead", 0x0443, X, true },
    { "FileRename", "FileRename", 0x0447, X, true },
    { "FileSetInformation", "FileSetInformation", 0x0445, X, true },
    { "FileWrite", "FileWrite", 0x0444, X, true },
    { "HandleClose", NULL, 0x1121, X, false },
    { "HandleCreate", NULL, 0x1120, X, false },
    { "HandleDuplicate", NULL, 0x1122, X, false },
    { "HardFault", "HardFault", 0x0220, X, true },
    { "HeapAllocation", "HeapAlloc", 0x1021, X, false },
    { "HeapCreate", "HeapCreate", 0x1020, X, false },
    { "HeapDestroy", "HeapDestroy", 0x1023, X, false },
    { "HeapFree", "HeapFree", 0x1024, X, false },
    { "HeapRangeCreate", "HeapRangeCreate", 0x0265, X, true },
    { "HeapRangeDestroy", "HeapRangeDestroy", 0x0268, X, true },
    { "HeapRangeRelease", "HeapRangeRelease", 0x0267, X, true },
    { "HeapRangeReserve", "HeapRangeReserve", 0x0266, X, true },
    { "HeapReallocation", "HeapRealloc", 0x1022, X, false },
    { "ImageLoad", "ImageLoad", 0x140A, X, true },
    { "ImageUnload", "ImageUnload", 0x1402, X, true },
    { "KernelQueueDequeue", "KernelQueueDequeue", 0x053F, X, false },
    { "KernelQueueEnqueue", "KernelQueueEnqueue", 0x053E, X, false },
    { "KernelSignal", NULL, 0, X, false },
    { "KernelSignalInit", NULL, 0, X, false },
    { "KernelSync", NULL, 0, X, false },
    { "KernelSyncAll", NULL, 0, X, false },
    { "KernelWaitSync", NULL, 0, X, false },
    { "KernelWaitSyncAll", NULL, 0, X, false },
    { "MapFile", "MapFile", 0, X, false },
    { "Mark", "Mark", 0x0F22, X, true },
    { "MiniFilterPostOpInit", "MiniFilterPostOpInit", 0, X, false },
    { "MiniFilterPreOpInit", "MiniFilterPreOpInit", 0, X, false },
    { "ObjectCreate", NULL, 0, X, false },
    { "ObjectDelete", NULL, 0, X, false },
    { "ObjectReference", NULL, 0, X, false },
    { "PageAccess", "PageAccess", 0, X, false },
    { "PageAccessEx", "PageAccessEx", 0, R, false },
    { "PagefaultAV", "PagefaultAV", 0x020F, X, true },
    { "PagefaultCopyOnWrite", "PagefaultCopyOnWrite", 0x020C, X, true },
    { "PagefaultDemandZero", "PagefaultDemandZero", 0x020B, X, true },
    { "PagefaultGuard", "PagefaultGuard", 0x020D, X, true },
    { "PagefaultHard", "PagefaultHard", 0x020E, X, true },
    { "PagefaultTransition", "PagefaultTransition", 0x020A, X, true },
    { "PagefileBackedImageMapping", "PagefileBackedImageMapping", 0, X, false },
    { "PagefileMappedSectionCreate", "PagefileMappedSectionCreate", 0, X, false },
    { "PagefileMappedSectionDelete", "PagefileMappedSectionDelete", 0, X, false },
    { "PageRangeAccess", "PageRangeAccess", 0, X, false },
    { "PageRangeRelease", "PageRangeRelease", 0, X, false },
    { "PageRelease", "PageRelease", 0, X, false },
    { "PmcInterrupt", "PmcInterrupt", 0x0F2F, R, false },
    { "PoolAllocation", "PoolAlloc", 0x0E20, X, false },
    { "PoolAllocationSession", "PoolAllocSession", 0x0E21, X, false },
    { "PoolFree", "PoolFree", 0x0E22, X, false },
    { "PoolFreeSession", "PoolFreeSession", 0x0E23, X, false },
    { "PowerDeviceNotify", "PowerDeviceNotify", 0, X, false },
    { "PowerDeviceNotifyComplete", "PowerDeviceNotifyComplete", 0, X, false },
    { "PowerIdleStateChange", "PowerIdleStateChange", 0, X, false },
    { "PowerPerfStateChange", "PowerPerfStateChange", 0, X, false },
    { "PowerPostSleep", "PowerPostSleep", 0, X, false },
    { "PowerPreSleep", "PowerPreSleep", 0, X, false },
    { "PowerSessionCallout", "PowerSessionCallout", 0, X, false },
    { "PowerSessionCalloutReturn", "PowerSessionCalloutReturn", 0, X, false },
    { "PowerSetDevicesState", "PowerSetDevicesState", 0, X, false },
    { "PowerSetDevicesStateReturn", "PowerSetDevicesStateReturn", 0, X, false },
    { "PowerSetPowerAction", "PowerSetPowerAction", 0, X, false },
    { "PowerSetPowerActionReturn", "PowerSetPowerActionReturn", 0, X, false },
    { "PowerThermalConstraint", "PowerThermalConstraint", 0, X, false },
    { "ProcessCreate", "ProcessCreate", 0x0301, X, false },
    { "ProcessDelete", "ProcessDelete", 0x0302, X, true },
    { "ProcessFreeze", NULL, 0, X, false },
    { "ProcessResume", NULL, 0, X, false },
    { "ReadyThread", "ReadyThread", 0x0532, X, false },
    { "RegHiveDestroy", "RegHiveDestroy", 0, X, false },
    { "RegHiveDirty", "RegHiveDirty", 0, X, false },
    { "RegHiveInit", "RegHiveInit", 0, X, false },
    { "RegHiveLink", "RegHiveLink", 0, X, false },
    { "RegistryChangeNotify", NULL, 0, R, false },
    { "RegistryCloseKey", "RegCloseKey", 0x091B, X, true },
    { "RegistryCreateKey", "RegCreateKey", 0x090A, X, true },
    { "RegistryDeleteKey", "RegDeleteKey", 0x090C, X, true },
    { "RegistryDeleteValue", "RegDeleteValue", 0x090F, X, true },
    { "RegistryEnumerateKey", "RegEnumerateKey", 0x0911, X, true },
    { "RegistryEnumerateValueKey", "RegEnumerateValueKey", 0x0912, X, true },
    { "RegistryFlush", "RegFlush", 0x0915, X, true },
    { "RegistryKcbCreate", "RegKcbCreate", 0x0916, X, true },
    { "RegistryKcbDelete", "RegKcbDelete", 0x0917, X, true },
    { "RegistryOpenKey", "RegOpenKey", 0x090B, X, true },
    { "RegistryQueryKey", "RegQueryKey", 0x090D, X, true },
    { "RegistryQueryMultipleValue", "RegQueryMultipleValue", 0x0913, X, true },
    { "RegistryQuerySecurity", NULL, 0, X, false },
    { "RegistryQueryValue", "RegQueryValue", 0x0910, X, true },
    { "RegistrySetInformation", "RegSetInformation", 0x0914, X, true },
    { "RegistrySetSecurity", NULL, 0, X, false },
    { "RegistrySetValue", "RegSetValue", 0x090E, X, true },
    { "RegistryVirtualize", "RegVirtualize", 0x091A, X, true },
    { "ReleaseWakeCounterDevice", NULL, 0, X, false },
    { "ReleaseWakeCounterKernel", NULL, 0, X, false },
    { "ReleaseWakeCounterPower", NULL, 0, X, false },
    { "ReleaseWakeCounterUser", NULL, 0, X, false },
    { "SampledProfile", "Profile", 0x0F2E, X, false },
    { "SampledProfileSetInterval", "ProfileSetInterval", 0x0F48, X, true },
    { "SplitIO", "SplitIO", 0x1B20, X, true },
    { "SystemCallEnter", "SyscallEnter", 0x0F33, X, false },
    { "SystemCallExit", "SyscallExit", 0x0F34, X, false },
    { "ThreadCreate", "ThreadCreate", 0x0501, X, false },
    { "ThreadDCEnd", NULL, 0x0504, X, true },
    { "ThreadDCStart", NULL, 0x0503, X, true },
    { "ThreadDelete", "ThreadDelete", 0x0502, X, false },
    { "ThreadPoolCallbackCancel", "ThreadPoolCallbackCancel", 0x1C24, X, true },
    { "ThreadPoolCallbackDequeue", "ThreadPoolCallbackDequeue", 0x1C21, X, true },
    { "ThreadPoolCallbackEnqueue", "ThreadPoolCallbackEnqueue", 0x1C20, X, true },
    { "ThreadPoolCallbackStart", "ThreadPoolCallbackStart", 0x1C22, X, true },
    { "ThreadPoolCallbackStop", "ThreadPoolCallbackStop", 0x1C23, X, true },
    { "ThreadPoolClose", "ThreadPoolClose", 0x1C26, X, true },
    { "ThreadPoolCreate", "ThreadPoolCreate", 0x1C25, X, true },
    { "ThreadPoolSetMaxThreads", "ThreadPoolSetMaxThreads", 0x1C28, X, true },
    { "ThreadPoolSetMinThreads", "ThreadPoolSetMinThreads", 0x1C27, X, true },
    { "ThreadSetBasePriority", "ThreadSetBasePriority", 0x0531, X, false },
    { "ThreadSetPriority", "ThreadSetPriority", 0x0530, X, false },
    { "TimerOneShot", "TimerSetOneShot", 0, X, false },
    { "TimerPeriodic", "TimerSetPeriodic", 0, X, false },
    { "UnMapFile", "UnMapFile", 0, X, false },
    { "VirtualAllocation", "VirtualAlloc", 0x0262, X, true },
    { "VirtualFree", "VirtualFree", 0x0263, X, true },
};

#undef X
#undef R

/* Keyword -> kernel events (group, first opcode, last opcode).  One keyword per range; the
 * ranges of different keywords do not overlap. */
typedef struct {
    const char *keyword;
    ProfileEventRange r;
} KeywordEvents;

static const KeywordEvents keyword_events[] = {
    { "DiskIO", { 0x01, 10, 11 } },  { "DiskIO", { 0x01, 14, 14 } },
    { "DiskIOInit", { 0x01, 12, 13 } }, { "DiskIOInit", { 0x01, 15, 15 } },
    { "Drivers", { 0x01, 34, 37 } }, { "Drivers", { 0x01, 52, 53 } },
    { "AllFaults", { 0x02, 10, 15 } },
    { "HardFaults", { 0x02, 32, 32 } },
    { "VirtualAllocation", { 0x02, 98, 99 } },
    { "MemoryInfo", { 0x02, 112, 112 } },
    { "ProcessThread", { 0x03, 1, 4 } }, { "ProcessThread", { 0x03, 11, 11 } },
    { "ProcessThread", { 0x03, 39, 39 } },
    { "Loader", { 0x03, 10, 10 } },  /* hook 0x030A: the old image-load hook */
    { "ProcessCounter", { 0x03, 32, 33 } },
    { "Filename", { 0x04, 0, 0 } }, { "Filename", { 0x04, 32, 36 } },
    { "FileIOInit", { 0x04, 64, 75 } }, { "FileIOInit", { 0x04, 77, 77 } },
    { "FileIO", { 0x04, 76, 76 } },
    { "ProcessThread", { 0x05, 1, 4 } },
    { "CSwitch", { 0x05, 36, 36 } },
    { "CompactCSwitch", { 0x05, 37, 37 } },
    { "SpinLock", { 0x05, 41, 41 } },
    { "ThreadPriority", { 0x05, 48, 49 } }, { "ThreadPriority", { 0x05, 51, 52 } },
    { "ReadyThread", { 0x05, 50, 50 } },
    { "AntiStarvation", { 0x05, 60, 60 } },
    { "KernelQueue", { 0x05, 62, 63 } },
    { "NetworkTrace", { 0x06, 0, 255 } }, { "NetworkTrace", { 0x08, 0, 255 } },
    { "Registry", { 0x09, 10, 27 } },
    { "CpuConfig", { 0x0B, 0, 255 } },
    { "Pool", { 0x0E, 0, 255 } },
    { "SampledProfile", { 0x0F, 46, 46 } }, { "SampledProfile", { 0x0F, 55, 55 } },
    { "SampledProfile", { 0x0F, 72, 74 } },
    { "PmcProfile", { 0x0F, 47, 48 } },
    { "Interrupt", { 0x0F, 50, 50 } }, { "Interrupt", { 0x0F, 67, 67 } },
    { "Interrupt", { 0x0F, 92, 92 } }, { "Interrupt", { 0x0F, 95, 95 } },
    { "SystemCall", { 0x0F, 51, 52 } },
    { "DPC", { 0x0F, 66, 66 } }, { "DPC", { 0x0F, 68, 69 } },
    { "Timer", { 0x0F, 70, 70 } }, { "Timer", { 0x0F, 93, 94 } }, { "Timer", { 0x0F, 104, 108 } },
    { "WDFInterrupt", { 0x0F, 96, 97 } },
    { "WDFDPC", { 0x0F, 98, 98 } },
    { "Handle", { 0x11, 32, 36 } },
    { "Object", { 0x11, 48, 255 } },
    { "Power", { 0x12, 0, 255 } },
    { "Loader", { 0x14, 0, 255 } },
    { "CC", { 0x16, 0, 255 } },
    { "Alpc", { 0x1A, 0, 255 } },
    { "SplitIO", { 0x1B, 0, 255 } },
};

/* Misspellings seen in real files (WPR_PROFILES.md §3.3) and WPR/xperf confusions. */
static const char *const keyword_aliases[][2] = {
    { "Driver", "Drivers" }, { "VirtualAlloc", "VirtualAllocation" }, { "ContextSwitch", "CSwitch" },
    { "Profile", "SampledProfile" }, { "Dispatcher", "ReadyThread" }, { "ImageLoad", "Loader" },
    { "Process", "ProcessThread" }, { "Thread", "ProcessThread" }, { "Syscall", "SystemCall" },
    { "Isr", "Interrupt" }, { "Dpcs", "DPC" },
};
static const char *const stack_aliases[][2] = {
    { "PoolAlloc", "PoolAllocation" }, { "PoolAllocSession", "PoolAllocationSession" },
    { "Profile", "SampledProfile" }, { "ProfileSetInterval", "SampledProfileSetInterval" },
    { "HeapAlloc", "HeapAllocation" }, { "HeapRealloc", "HeapReallocation" },
    { "VirtualAlloc", "VirtualAllocation" }, { "SyscallEnter", "SystemCallEnter" },
    { "SyscallExit", "SystemCallExit" }, { "TimerSetPeriodic", "TimerPeriodic" },
    { "TimerSetOneShot", "TimerOneShot" }, { "ContextSwitch", "CSwitch" },
};

const ProfileKeywordInfo *profile_keyword_table(size_t *n)
{
    *n = G_N_ELEMENTS(keywords);
    return keywords;
}

const ProfileStackInfo *profile_stack_table(size_t *n)
{
    *n = G_N_ELEMENTS(stacks);
    return stacks;
}

const ProfileKeywordInfo *profile_keyword_lookup(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(keywords); i++)
        if (!strcmp(keywords[i].name, name)) return &keywords[i];
    return NULL;
}

const ProfileStackInfo *profile_stack_lookup(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(stacks); i++)
        if (!strcmp(stacks[i].name, name)) return &stacks[i];
    return NULL;
}

const ProfileStackInfo *profile_stack_by_hook(uint16_t hook)
{
    if (!hook) return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(stacks); i++)
        if (stacks[i].hook == hook) return &stacks[i];
    return NULL;
}

unsigned profile_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000; /* names are short */
    unsigned row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned cost = g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
            unsigned v = diag + cost;
            if (row[j] + 1 < v) v = row[j] + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return row[lb];
}

/* Compare ignoring case and the underscores of xperf names ("DISK_IO" ~ "DiskIO"). */
static bool loose_equal(const char *a, const char *b)
{
    while (*a || *b) {
        if (*a == '_') { a++; continue; }
        if (*b == '_') { b++; continue; }
        if (g_ascii_tolower(*a) != g_ascii_tolower(*b)) return false;
        a++;
        b++;
    }
    return true;
}

/* The closest of n names (stride bytes apart, name first), alias table first. */
static const char *suggest(const char *name, const void *table, size_t n, size_t stride, size_t xperf_off,
                           const char *const (*aliases)[2], size_t n_aliases)
{
    if (!name || !*name) return NULL;
    for (size_t i = 0; i < n_aliases; i++)
        if (!g_ascii_strcasecmp(aliases[i][0], name)) return aliases[i][1];
    const char *best = NULL;
    unsigned best_d = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *const *entry = (const char *const *)((const char *)table + i * stride);
        const char *cand = entry[0];
        const char *xp = *(const char *const *)((const char *)entry + xperf_off);
        if (loose_equal(cand, name) || (xp && loose_equal(xp, name))) return cand;
        unsigned d = profile_edit_distance(cand, name);
        if (d < best_d) {
            best_d = d;
            best = cand;
        }
    }
    size_t len = strlen(name);
    unsigned limit = len <= 4 ? 1 : len <= 9 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}

const char *profile_keyword_suggest(const char *name)
{
    return suggest(name, keywords, G_N_ELEMENTS(keywords), sizeof keywords[0],
                   offsetof(ProfileKeywordInfo, xperf), keyword_aliases,
                   G_N_ELEMENTS(keyword_aliases));
}

const char *profile_stack_suggest(const char *name)
{
    return suggest(name, stacks, G_N_ELEMENTS(stacks), sizeof stacks[0], offsetof(ProfileStackInfo, xperf),
                   stack_aliases, G_N_ELEMENTS(stack_aliases));
}

const char *profile_kernel_event_keyword(uint8_t group, uint8_t opcode)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keyword_events); i++) {
        const ProfileEventRange *r = &keyword_events[i].r;
        if (r->group == group && opcode >= r->op_first && opcode <= r->op_last) return keyword_events[i].keyword;
    }
    return NULL;
}

size_t profile_keyword_events(const char *keyword, ProfileEventRange *out, size_t max)
{
    size_t n = 0;
    if (!keyword) return 0;
    for (size_t i = 0; i < G_N_ELEMENTS(keyword_events); i++) {
        if (strcmp(keyword_events[i].keyword, keyword)) continue;
        if (n < max && out) out[n] = keyword_events[i].r;
        n++;
    }
    return n < max ? n : max;
}
