/* names.c — provider, kernel task and opcode names; TraceLogging names from ext items.
 *
 * Kernel group providers use the task names engineers know from xperf/WPA/PerfView (the GUID
 * table is ETL_CONTAINER.md §3.13).  Names not given by a public source were chosen here:
 * "Lbr" for group 0x0C (PerfView's name for EventTraceSpare1), "CacheManager" for 0x16 (CcGuid;
 * the TDH manifest of that GUID has no task name), "Dpc", "Ums", "Wnf", "ModBound", "CritSec",
 * "Hypervisor", "HypervisorX", "Job", "DbgPrint", "Heap", "Object", "Power", "ThreadPool" from
 * the NTWMI group names.  Classic and manifest provider names were confirmed against the
 * PerfView baselines and recording logs in ../shared/expected (GUID and event counts).
 *
 * Opcode names: PerfView's KernelTraceEventParser registrations and the TDH-derived manifests
 * of fox-it/dissect.etl; where they differ the TDH name wins (e.g. Image 2 "UnLoad").  For
 * kernel groups the common types 0 Info, 1 Start, 2 End, 3 DCStart, 4 DCEnd apply when the
 * group has no name of its own for the opcode.
 *
 * Lookups: providers are sorted by GUID (as text, which is the field order data1, data2,
 * data3, data4) and found with a binary search; each provider's opcodes likewise.
 */
#include "etl.h"
#include "kernel/kernel-private.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------------------------
 * Well-known GUIDs
 * ------------------------------------------------------------------------------------------ */
const EtlGuid ETL_GUID_EVENTTRACE =
    { 0x68fdd900, 0x4a3e, 0x11d1, { 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3 } };
const EtlGuid ETL_GUID_IMAGE =
    { 0x2cb15d1d, 0x5fc1, 0x11d2, { 0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18 } };
const EtlGuid ETL_GUID_KTC_IMAGEID =
    { 0xb3e675d7, 0x2554, 0x4f18, { 0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde } };
const EtlGuid ETL_GUID_KTC_EVENTMETADATA =
    { 0xbbccf6c1, 0x6cd1, 0x48c4, { 0x80, 0xff, 0x83, 0x94, 0x82, 0xe3, 0x76, 0x71 } };
const EtlGuid ETL_GUID_SYSCONFIGEX =
    { 0x9b79ee91, 0xb5fd, 0x41c0, { 0xa2, 0x43, 0x42, 0x48, 0xe2, 0x66, 0xe9, 0xd0 } };

/* Kernel group byte -> task GUID (ETL_CONTAINER.md §3.13).  Shared with the header parser. */
const EtlGuid etl_k_group_guids[ETL_K_GROUP_GUIDS] = {
    [0x00] = { 0x68fdd900, 0x4a3e, 0x11d1, { 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3 } }, /* EventTrace */
    [0x01] = { 0x3d6fa8d4, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, /* DiskIo */
    [0x02] = { 0x3d6fa8d3, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, /* PageFault */
    [0x03] = { 0x3d6fa8d0, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, /* Process */
    [0x04] = { 0x90cbdc39, 0x4a3e, 0x11d1, { 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3 } }, /* FileIo */
    [0x05] = { 0x3d6fa8d1, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, /* Thread */
    [0x06] = { 0x9a280ac0, 0xc8e0, 0x11d1, { 0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2 } }, /* TcpIp */
    [0x07] = { 0x3282fc76, 0xfeed, 0x498e, { 0x8a, 0xa7, 0xe7, 0x0f, 0x45, 0x9d, 0x43, 0x0e } }, /* Job */
    [0x08] = { 0xbf3a50c5, 0xa9c9, 0x4988, { 0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80 } }, /* UdpIp */
    [0x09] = { 0xae53722e, 0xc863, 0x11d2, { 0x86, 0x59, 0x00, 0xc0, 0x4f, 0xa3, 0x21, 0xa1 } }, /* Registry */
    [0x0A] = { 0x13976d09, 0xa327, 0x438c, { 0x95, 0x0b, 0x7f, 0x03, 0x19, 0x28, 0x15, 0xc7 } }, /* DbgPrint */
    [0x0B] = { 0x01853a65, 0x418f, 0x4f36, { 0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35 } }, /* SystemConfig */
    [0x0C] = { 0x99134383, 0x5248, 0x43fc, { 0x83, 0x4b, 0x52, 0x94, 0x54, 0xe7, 0x5d, 0xf3 } }, /* Lbr */
    [0x0D] = { 0x42695762, 0xea50, 0x497a, { 0x90, 0x68, 0x5c, 0xbb, 0xb3, 0x5e, 0x0b, 0x95 } }, /* Wnf */
    [0x0E] = { 0x0268a8b6, 0x74fd, 0x4302, { 0x9d, 0xd0, 0x6e, 0x8f, 0x17, 0x95, 0xc0, 0xcf } }, /* Pool */
    [0x0F] = { 0xce1dbfb4, 0x137e, 0x4da6, { 0x87, 0xb0, 0x3f, 0x59, 0xaa, 0x10, 0x2c, 0xbc } }, /* PerfInfo */
    [0x10] = { 0x222962ab, 0x6180, 0x4b88, { 0xa8, 0x25, 0x34, 0x6b, 0x75, 0xf2, 0xa2, 0x4a } }, /* Heap */
    [0x11] = { 0x89497f50, 0xeffe, 0x4440, { 0x8c, 0xf2, 0xce, 0x6b, 0x1c, 0xdc, 0xac, 0xa7 } }, /* Object */
    [0x12] = { 0xe43445e0, 0x0903, 0x48c3, { 0xb8, 0x78, 0xff, 0x0f, 0xcc, 0xeb, 0xdd, 0x04 } }, /* Power */
    [0x13] = { 0xa9152f00, 0x3f58, 0x4bee, { 0x92, 0xa1, 0x70, 0xc7, 0xd0, 0x79, 0xd5, 0xdd } }, /* ModBound */
    [0x14] = { 0x2cb15d1d, 0x5fc1, 0x11d2, { 0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18 } }, /* Image */
    [0x15] = { 0xb2d14872, 0x7c5b, 0x463d, { 0x84, 0x19, 0xee, 0x9b, 0xf7, 0xd2, 0x3e, 0x04 } }, /* Dpc */
    [0x16] = { 0x7687a439, 0xf752, 0x45b8, { 0xb7, 0x41, 0x32, 0x1a, 0xec, 0x0f, 0x8d, 0xf9 } }, /* CacheManager */
    [0x17] = { 0x3ac66736, 0xcc59, 0x4cff, { 0x81, 0x15, 0x8d, 0xf5, 0x0e, 0x39, 0x81, 0x6b } }, /* CritSec */
    [0x18] = { 0xdef2fe46, 0x7bd6, 0x4b80, { 0xbd, 0x94, 0xf5, 0x7f, 0xe2, 0x0d, 0x0c, 0xe3 } }, /* StackWalk */
    [0x19] = { 0x9aec974b, 0x5b8e, 0x4118, { 0x9b, 0x92, 0x31, 0x86, 0xd8, 0x00, 0x2c, 0xe5 } }, /* Ums */
    [0x1A] = { 0x45d8cccd, 0x539f, 0x4b72, { 0xa8, 0xb7, 0x5c, 0x68, 0x31, 0x42, 0x60, 0x9a } }, /* ALPC */
    [0x1B] = { 0xd837ca92, 0x12b9, 0x44a5, { 0xad, 0x6a, 0x3a, 0x65, 0xb3, 0x57, 0x8a, 0xa8 } }, /* SplitIo */
    [0x1C] = { 0xc861d0e2, 0xa2c1, 0x4d36, { 0x9f, 0x9c, 0x97, 0x0b, 0xab, 0x94, 0x3a, 0x12 } }, /* ThreadPool */
    [0x1D] = { 0x7f2a405c, 0x69b5, 0x4bf9, { 0xa1, 0xf5, 0x30, 0xe8, 0xf1, 0xaf, 0xab, 0x5e } }, /* Hypervisor */
    [0x1E] = { 0x2ce9a149, 0xeffe, 0x42f0, { 0xa6, 0x35, 0xa1, 0xd3, 0x9e, 0x26, 0xc8, 0xf2 } }, /* HypervisorX */
};

const EtlGuid *etl_kernel_group_guid(uint8_t group)
{
    return group < G_N_ELEMENTS(etl_k_group_guids) ? &etl_k_group_guids[group] : NULL;
}

EtlGuid etl_kernel_group_guid_any(uint8_t group)
{
    if (group < G_N_ELEMENTS(etl_k_group_guids))
        return etl_k_group_guids[group];
    EtlGuid g;
    memset(&g, 0, sizeof g);
    g.data4[7] = group;            /* {00000000-0000-0000-0000-0000000000GG} */
    return g;
}

/* ------------------------------------------------------------------------------------------
 * Opcode tables (sorted by opcode)
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    uint8_t opcode;
    const char *name;
} OpName;

/* EventTrace: PerfView (0, 5, 8, 32), TDH manifest (64, 66, 67, 80), NTWMI.H (48, 49, 65). */
static const OpName op_eventtrace[] = {
    { 0, "Header" }, { 5, "Extension" }, { 8, "RundownComplete" }, { 32, "EndExtension" },
    { 48, "RundownBegin" }, { 49, "RundownEnd" }, { 64, "DbgIdRSDS" }, { 65, "DbgIdNB10" },
    { 66, "BuildInfo" }, { 67, "ProviderBinaryPath" }, { 80, "PartitionInfoExtension" },
};
static const OpName op_diskio[] = {
    { 10, "Read" }, { 11, "Write" }, { 12, "ReadInit" }, { 13, "WriteInit" },
    { 14, "FlushBuffers" }, { 15, "FlushInit" }, { 34, "DriverMajorFunctionCall" },
    { 35, "DriverMajorFunctionReturn" }, { 37, "DriverCompletionRoutine" },
    { 52, "DriverCompleteRequest" }, { 53, "DriverCompleteRequestReturn" },
};
static const OpName op_pagefault[] = {
    { 10, "TransitionFault" }, { 11, "DemandZeroFault" }, { 12, "CopyOnWrite" },
    { 13, "GuardPageFault" }, { 14, "HardPageFault" }, { 15, "AccessViolation" },
    { 32, "HardFault" }, { 98, "VirtualAlloc" }, { 99, "VirtualFree" }, { 100, "HRRundown" },
    { 101, "HRCreate" }, { 102, "HRReserve" }, { 103, "HRRelease" }, { 104, "HRDestroy" },
    { 105, "ImageLoadBacked" }, { 112, "MemInfo" },
};
static const OpName op_process[] = {
    { 1, "Start" }, { 2, "End" }, { 3, "DCStart" }, { 4, "DCEnd" }, { 11, "Terminate" },
    { 32, "PerfCtr" }, { 33, "PerfCtrRundown" }, { 35, "InSwap" }, { 39, "Defunct" },
    { 48, "WakeChargeUser" }, { 49, "WakeChargeExecution" }, { 50, "WakeChargeKernel" },
    { 51, "WakeChargeInstrumentation" }, { 52, "WakeChargePreserveProcess" },
    { 64, "WakeReleaseUser" }, { 65, "WakeReleaseExecution" }, { 66, "WakeReleaseKernel" },
    { 67, "WakeReleaseInstrumentation" }, { 68, "WakeReleasePreserveProcess" },
    { 80, "WakeDropUser" }, { 81, "WakeDropExecution" }, { 82, "WakeDropKernel" },
    { 83, "WakeDropInstrumentation" }, { 84, "WakeDropPreserveProcess" },
    { 96, "WakeEventUser" }, { 97, "WakeEventExecution" }, { 98, "WakeEventKernel" },
    { 99, "WakeEventInstrumentation" },
};
static const OpName op_fileio[] = {
    { 0, "Name" }, { 32, "FileCreate" }, { 35, "FileDelete" }, { 36, "FileRundown" },
    { 64, "Create" }, { 65, "Cleanup" }, { 66, "Close" }, { 67, "Read" }, { 68, "Write" },
    { 69, "SetInfo" }, { 70, "Delete" }, { 71, "Rename" }, { 72, "DirEnum" }, { 73, "Flush" },
    { 74, "QueryInfo" }, { 75, "FSControl" }, { 76, "OperationEnd" }, { 77, "DirNotify" },
};
static const OpName op_thread[] = {
    { 1, "Start" }, { 2, "End" }, { 3, "DCStart" }, { 4, "DCEnd" }, { 36, "CSwitch" },
    { 37, "CompCS" }, { 41, "SpinLock" }, { 48, "SetPriority" }, { 49, "SetBasePriority" },
    { 50, "ReadyThread" }, { 51, "SetPagePriority" }, { 52, "SetIoPriority" },
    { 53, "ThreadAffinity" }, { 57, "WorkerThread" }, { 60, "AntiStarvationBoost" },
    { 61, "Thread Migration" }, { 62, "Kernel Queue Enqueue" }, { 63, "Kernel Queue Dequeue" },
    { 66, "AutoBoost Set Floor" }, { 67, "AutoBoost Clear Floor" },
    { 68, "AutoBoost Entry Exhaustion" }, { 69, "SubProcessTag Changed" }, { 72, "SetName" },
};
static const OpName op_tcpip[] = {
    { 10, "Send" }, { 11, "Recv" }, { 12, "Connect" }, { 13, "Disconnect" },
    { 14, "Retransmit" }, { 15, "Accept" }, { 16, "Reconnect" }, { 17, "Fail" },
    { 18, "TCPCopy" }, { 19, "ARPCopy" }, { 20, "FullACK" }, { 21, "PartACK" },
    { 22, "DupACK" }, { 26, "SendIPV6" }, { 27, "RecvIPV6" }, { 28, "ConnectIPV6" },
    { 29, "DisconnectIPV6" }, { 30, "RetransmitIPV6" }, { 31, "AcceptIPV6" },
    { 32, "ReconnectIPV6" }, { 34, "TCPCopyIPV6" },
};
static const OpName op_udpip[] = {
    { 10, "Send" }, { 11, "Recv" }, { 17, "Fail" }, { 26, "SendIPV6" }, { 27, "RecvIPV6" },
};
static const OpName op_registry[] = {
    { 10, "Create" }, { 11, "Open" }, { 12, "Delete" }, { 13, "Query" }, { 14, "SetValue" },
    { 15, "DeleteValue" }, { 16, "QueryValue" }, { 17, "EnumerateKey" },
    { 18, "EnumerateValueKey" }, { 19, "QueryMultipleValue" }, { 20, "SetInformation" },
    { 21, "Flush" }, { 22, "KCBCreate" }, { 23, "KCBDelete" }, { 24, "KCBRundownBegin" },
    { 25, "KCBRundownEnd" }, { 26, "Virtualize" }, { 27, "Close" },
};
static const OpName op_sysconfig[] = {
    { 10, "CPU" }, { 11, "PhyDisk" }, { 12, "LogDisk" }, { 13, "NIC" }, { 14, "Video" },
    { 15, "Services" }, { 16, "Power" }, { 17, "Network" }, { 18, "OpticalDisk" },
    { 21, "IRQ" }, { 22, "PnP" }, { 23, "IDEChannel" }, { 24, "NumaNode" }, { 25, "Platform" },
    { 26, "ProcessorGroup" }, { 27, "ProcessorNumber" }, { 28, "DPI" }, { 29, "CodeIntegrity" },
    { 30, "TelemetryConfiguration" }, { 31, "Defragmentation" }, { 32, "MobilePlatform" },
    { 33, "DeviceFamily" }, { 34, "FlightIds" }, { 35, "Processors" },
};
/* Pool: xperf stack-walk names for 32-35 (xperf -help stackwalk), NTWMI/TDH for the rest. */
static const OpName op_pool[] = {
    { 32, "PoolAlloc" }, { 33, "PoolAllocSession" }, { 34, "PoolFree" },
    { 35, "PoolFreeSession" }, { 36, "AddPoolPage" }, { 37, "AddPoolPageSession" },
    { 38, "BigPoolPage" }, { 39, "BigPoolPageSession" }, { 40, "PoolSnapDCStart" },
    { 41, "PoolSnapDCEnd" }, { 42, "BigPoolSnapDCStart" }, { 43, "BigPoolSnapDCEnd" },
    { 44, "SessionPoolSnapDCStart" }, { 45, "SessionPoolSnapDCEnd" },
    { 46, "SessionBigPoolSnapDCStart" }, { 47, "SessionBigPoolSnapDCEnd" },
};
static const OpName op_perfinfo[] = {
    { 34, "Mark" }, { 46, "SampleProf" }, { 47, "PmcCounterProf" }, { 48, "PmcCtrConfig" },
    { 50, "ISR-MSI" }, { 51, "SysClEnter" }, { 52, "SysClExit" }, { 55, "SampleProfBatched" },
    { 58, "DebuggerEnabled" }, { 66, "ThreadedDPC" }, { 67, "ISR" }, { 68, "DPC" },
    { 69, "TimerDPC" }, { 70, "IOTimer" }, { 72, "SetInterval" }, { 73, "CollectionStart" },
    { 74, "CollectionEnd" }, { 92, "ISR-Unexpected" }, { 93, "IoStartTimer" },
    { 94, "IoStopTimer" }, { 95, "ISR-PASS" }, { 96, "WdfISR" }, { 97, "WdfPassiveISR" },
    { 98, "WdfDPC" }, { 103, "WdfWorkItem" }, { 104, "SetKTimer2" }, { 105, "ExpireKTimer2" },
    { 106, "CancelKTimer2" }, { 107, "DisableKTimer2" }, { 108, "FinalizeKTimer2" },
};
/* Image: 1 is WMI_LOG_TYPE_IMAGE_LOAD in NTWMI.H ("reserved for future"; never seen). */
static const OpName op_image[] = {
    { 1, "Load" }, { 2, "UnLoad" }, { 3, "DCStart" }, { 4, "DCEnd" }, { 10, "Load" },
    { 32, "Relocation" }, { 33, "KernelBase" }, { 34, "HypercallPage" },
    { 128, "LoaderLockAttempt" }, { 129, "LoaderLockAcquire" },
    { 130, "LoaderLockTriedAndFailed" }, { 131, "LoaderLockWait" }, { 132, "ProcessInitDone" },
    { 133, "CreateSectionBegin" }, { 134, "CreateSectionEnd" }, { 135, "MapViewBegin" },
    { 144, "RelocateImageBegin" }, { 145, "RelocateImageEnd" }, { 146, "HandleOldDescsBegin" },
    { 147, "HandleOldDescsEnd" }, { 148, "HandleNewDescsBegin" }, { 149, "HandleNewDescsEnd" },
    { 150, "DllMainExit" }, { 160, "FindDllByName" }, { 161, "MapViewEnd" },
    { 162, "LoaderLockRelease" }, { 163, "DllMainEnter" }, { 164, "LoaderError" },
    { 165, "MapViewStart" }, { 166, "SnappingStart" }, { 167, "SnappingEnd" },
    { 168, "LoadingStart" }, { 169, "LoadingEnd" }, { 170, "FoundKnownDll" },
    { 171, "AbnormalTermination" }, { 172, "ModulePlaceHolder" }, { 173, "ReadyToInit" },
    { 174, "ReadyToRun" }, { 176, "NewDllLoad" }, { 177, "NewDllLoadAsData" },
    { 192, "DllSearchPathExternal" }, { 193, "DllSearchPathInternal" },
    { 208, "ApiSetResolving" }, { 209, "ApiSetHosted" }, { 210, "ApiSetUnhosted" },
    { 211, "ApiSetUnresolved" }, { 212, "DllSearchResults" }, { 213, "DllPathSearchResults" },
};
static const OpName op_stackwalk[] = {
    { 32, "Stack" }, { 34, "KeyCreate" }, { 35, "KeyDelete" }, { 36, "KeyRundown" },
    { 37, "StackKeyKernel" }, { 38, "StackKeyUser" },
};
static const OpName op_alpc[] = {
    { 33, "ALPCSendMessage" }, { 34, "ALPCReceiveMessage" }, { 35, "ALPCWaitForReply" },
    { 36, "ALPCWaitForNewMessage" }, { 37, "ALPCUnwait" },
};
static const OpName op_splitio[] = {
    { 32, "VolMgr" },
};
/* KernelTraceControl ImageID task (KERNEL_PAYLOADS.md §5.4).  Opcode 35 occurs in
 * win7-x64-latency-ppt.etl (an NB10-style record) but no public source names it. */
static const OpName op_ktc_imageid[] = {
    { 0, "ImageID" }, { 32, "None" }, { 36, "DbgID_RSDS" }, { 37, "DbgID_ILRSDS" },
    { 38, "DbgPPDB" }, { 40, "DbgDeterm" }, { 64, "FileVersion" },
};
/* KernelTraceControl WinSat task (PerfView SymbolTraceEventParser): compressed XML blobs. */
static const OpName op_ktc_winsat[] = {
    { 33, "WinSPR" }, { 35, "Metrics" }, { 37, "SystemConfig" },
};
static const OpName op_ktc_metadata[] = {
    { 32, "EventInfo" }, { 33, "EventMapInfo" },
};
/* SystemConfigEx: PerfView registrations, confirmed by the payloads in the traces (33 holds
 * two UTF-16 system paths, 35 NT/DOS path pairs).  36 and 37 occur but have no public name. */
static const OpName op_sysconfigex[] = {
    { 32, "BuildInfo" }, { 33, "SystemPaths" }, { 34, "UnknownVolume" }, { 35, "VolumeMapping" },
};
static const OpName op_lostevent[] = {
    { 32, "LostEvent" },
};

/* ------------------------------------------------------------------------------------------
 * Providers (sorted by GUID text)
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    EtlGuid guid;
    const char *name;
    const OpName *ops;
    uint32_t n_ops;
    bool kernel_group;      /* common kernel types 0-4 apply */
} ProviderEntry;

#define OPS(t) t, G_N_ELEMENTS(t)
#define NO_OPS NULL, 0

static const ProviderEntry k_providers[] = {
    { { 0x01853a65, 0x418f, 0x4f36, { 0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35 } }, "SystemConfig", OPS(op_sysconfig), true },
    { { 0x0268a8b6, 0x74fd, 0x4302, { 0x9d, 0xd0, 0x6e, 0x8f, 0x17, 0x95, 0xc0, 0xcf } }, "Pool", OPS(op_pool), true },
    { { 0x0f67e49f, 0xfe51, 0x4e9f, { 0xb4, 0x90, 0x6f, 0x29, 0x48, 0xcc, 0x60, 0x27 } }, "Microsoft-Windows-Kernel-Processor-Power", NO_OPS, false },
    { { 0x13976d09, 0xa327, 0x438c, { 0x95, 0x0b, 0x7f, 0x03, 0x19, 0x28, 0x15, 0xc7 } }, "DbgPrint", NO_OPS, true },
    { { 0x1c95126e, 0x7eea, 0x49a9, { 0xa3, 0xfe, 0xa3, 0x78, 0xb0, 0x3d, 0xdb, 0x4d } }, "Microsoft-Windows-DNS-Client", NO_OPS, false },
    { { 0x222962ab, 0x6180, 0x4b88, { 0xa8, 0x25, 0x34, 0x6b, 0x75, 0xf2, 0xa2, 0x4a } }, "Heap", NO_OPS, true },
    { { 0x22fb2cd6, 0x0e7b, 0x422b, { 0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16 } }, "Microsoft-Windows-Kernel-Process", NO_OPS, false },
    { { 0x28ad2447, 0x105b, 0x4fe2, { 0x95, 0x99, 0xe5, 0x9b, 0x2a, 0xa9, 0xa6, 0x34 } }, "KernelTraceControl", NO_OPS, false },
    { { 0x2cb15d1d, 0x5fc1, 0x11d2, { 0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18 } }, "Image", OPS(op_image), true },
    { { 0x2ce9a149, 0xeffe, 0x42f0, { 0xa6, 0x35, 0xa1, 0xd3, 0x9e, 0x26, 0xc8, 0xf2 } }, "HypervisorX", NO_OPS, true },
    { { 0x2e5dba47, 0xa3d2, 0x4d16, { 0x8e, 0xe0, 0x66, 0x71, 0xff, 0xdc, 0xd7, 0xb5 } }, "System.Threading.Tasks.TplEventSource", NO_OPS, false },
    { { 0x315a8872, 0x923e, 0x4ea2, { 0x98, 0x89, 0x33, 0xcd, 0x47, 0x54, 0xbf, 0x64 } }, "Microsoft-Windows-Immersive-Shell", NO_OPS, false },
    { { 0x3282fc76, 0xfeed, 0x498e, { 0x8a, 0xa7, 0xe7, 0x0f, 0x45, 0x9d, 0x43, 0x0e } }, "Job", NO_OPS, true },
    { { 0x331c3b3a, 0x2005, 0x44c2, { 0xac, 0x5e, 0x77, 0x22, 0x0c, 0x37, 0xd6, 0xb4 } }, "Microsoft-Windows-Kernel-Power", NO_OPS, false },
    { { 0x3ac66736, 0xcc59, 0x4cff, { 0x81, 0x15, 0x8d, 0xf5, 0x0e, 0x39, 0x81, 0x6b } }, "CritSec", NO_OPS, true },
    { { 0x3d6fa8d0, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, "Process", OPS(op_process), true },
    { { 0x3d6fa8d1, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, "Thread", OPS(op_thread), true },
    { { 0x3d6fa8d3, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, "PageFault", OPS(op_pagefault), true },
    { { 0x3d6fa8d4, 0xfe05, 0x11d0, { 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c } }, "DiskIo", OPS(op_diskio), true },
    { { 0x42695762, 0xea50, 0x497a, { 0x90, 0x68, 0x5c, 0xbb, 0xb3, 0x5e, 0x0b, 0x95 } }, "Wnf", NO_OPS, true },
    { { 0x43d1a55c, 0x76d6, 0x4f7e, { 0x99, 0x5c, 0x64, 0xc7, 0x11, 0xe5, 0xca, 0xfe } }, "Microsoft-Windows-WinINet", NO_OPS, false },
    { { 0x45d8cccd, 0x539f, 0x4b72, { 0xa8, 0xb7, 0x5c, 0x68, 0x31, 0x42, 0x60, 0x9a } }, "ALPC", OPS(op_alpc), true },
    { { 0x531a35ab, 0x63ce, 0x4bcf, { 0xaa, 0x98, 0xf8, 0x8c, 0x7a, 0x89, 0xe4, 0x55 } }, "Microsoft-Windows-XAML", NO_OPS, false },
    { { 0x57277741, 0x3638, 0x4a4b, { 0xbd, 0xba, 0x0a, 0xc6, 0xe4, 0x5d, 0xa5, 0x6c } }, "Microsoft-JScript", NO_OPS, false },
    { { 0x68fdd900, 0x4a3e, 0x11d1, { 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3 } }, "EventTrace", OPS(op_eventtrace), true },
    { { 0x6a399ae0, 0x4bc6, 0x4de9, { 0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e } }, "RT_LostEvent", OPS(op_lostevent), false },
    { { 0x6a4dfe53, 0xeb50, 0x5332, { 0x84, 0x73, 0x7b, 0x7e, 0x10, 0xa9, 0x4f, 0xd1 } }, "Microsoft-AdoNet-SystemData", NO_OPS, false },
    { { 0x74af9f20, 0xaf6a, 0x5582, { 0x93, 0x82, 0xf2, 0x1f, 0x67, 0x4f, 0xb2, 0x71 } }, "Microsoft-ApplicationInsights-Core", NO_OPS, false },
    { { 0x763fd754, 0x7086, 0x4dfe, { 0x95, 0xeb, 0xc0, 0x1a, 0x46, 0xfa, 0xf4, 0xca } }, "Microsoft-Windows-DotNETRuntimePrivate", NO_OPS, false },
    { { 0x7687a439, 0xf752, 0x45b8, { 0xb7, 0x41, 0x32, 0x1a, 0xec, 0x0f, 0x8d, 0xf9 } }, "CacheManager", NO_OPS, true },
    { { 0x7f2a405c, 0x69b5, 0x4bf9, { 0xa1, 0xf5, 0x30, 0xe8, 0xf1, 0xaf, 0xab, 0x5e } }, "Hypervisor", NO_OPS, true },
    { { 0x89497f50, 0xeffe, 0x4440, { 0x8c, 0xf2, 0xce, 0x6b, 0x1c, 0xdc, 0xac, 0xa7 } }, "Object", NO_OPS, true },
    { { 0x8e9f5090, 0x2d75, 0x4d03, { 0x8a, 0x81, 0xe5, 0xaf, 0xbf, 0x85, 0xda, 0xf1 } }, "System.Diagnostics.Eventing.FrameworkEventSource", NO_OPS, false },
    { { 0x90cbdc39, 0x4a3e, 0x11d1, { 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3 } }, "FileIo", OPS(op_fileio), true },
    { { 0x99134383, 0x5248, 0x43fc, { 0x83, 0x4b, 0x52, 0x94, 0x54, 0xe7, 0x5d, 0xf3 } }, "Lbr", NO_OPS, true },
    { { 0x9a280ac0, 0xc8e0, 0x11d1, { 0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2 } }, "TcpIp", OPS(op_tcpip), true },
    { { 0x9aec974b, 0x5b8e, 0x4118, { 0x9b, 0x92, 0x31, 0x86, 0xd8, 0x00, 0x2c, 0xe5 } }, "Ums", NO_OPS, true },
    { { 0x9b79ee91, 0xb5fd, 0x41c0, { 0xa2, 0x43, 0x42, 0x48, 0xe2, 0x66, 0xe9, 0xd0 } }, "SysConfig", OPS(op_sysconfigex), false },
    { { 0x9e3b3947, 0xca5d, 0x4614, { 0x91, 0xa2, 0x7b, 0x62, 0x4e, 0x0e, 0x72, 0x44 } }, "Microsoft-IE", NO_OPS, false },
    { { 0x9e620d2a, 0x55d4, 0x5ade, { 0xde, 0xb7, 0xc2, 0x60, 0x46, 0xd2, 0x45, 0xa8 } }, "Microsoft-AspNetCore-Hosting", NO_OPS, false },
    { { 0x9e814aad, 0x3204, 0x11d2, { 0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39 } }, "Windows Kernel", NO_OPS, false },
    { { 0x9f0c4ea8, 0xec01, 0x4200, { 0xa0, 0x0d, 0xb9, 0x70, 0x1c, 0xbe, 0xa5, 0xd8 } }, "Microsoft-Windows-PowerCfg", NO_OPS, false },
    { { 0xa669021c, 0xc450, 0x4609, { 0xa0, 0x35, 0x5a, 0xf5, 0x9a, 0xf4, 0xdf, 0x18 } }, "Microsoft-Windows-DotNETRuntimeRundown", NO_OPS, false },
    { { 0xa8a71ac1, 0x040f, 0x54a2, { 0x07, 0xca, 0x00, 0xa8, 0x9b, 0x5a, 0xb7, 0x61 } }, "PerfView", NO_OPS, false },
    { { 0xa9152f00, 0x3f58, 0x4bee, { 0x92, 0xa1, 0x70, 0xc7, 0xd0, 0x79, 0xd5, 0xdd } }, "ModBound", NO_OPS, true },
    { { 0xae53722e, 0xc863, 0x11d2, { 0x86, 0x59, 0x00, 0xc0, 0x4f, 0xa3, 0x21, 0xa1 } }, "Registry", OPS(op_registry), true },
    { { 0xb1f90b27, 0x4551, 0x49d6, { 0xb2, 0xbd, 0xdf, 0xc6, 0x45, 0x37, 0x62, 0xa6 } }, "Microsoft-Windows-PowerCpl", NO_OPS, false },
    { { 0xb2a40f1f, 0xa05a, 0x4dfd, { 0x88, 0x6a, 0x4c, 0x4f, 0x18, 0xc4, 0x33, 0x4c } }, "Microsoft-PerfTrack-IEFRAME", NO_OPS, false },
    { { 0xb2d14872, 0x7c5b, 0x463d, { 0x84, 0x19, 0xee, 0x9b, 0xf7, 0xd2, 0x3e, 0x04 } }, "Dpc", NO_OPS, true },
    { { 0xb3e675d7, 0x2554, 0x4f18, { 0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde } }, "KernelTraceControl/ImageID", OPS(op_ktc_imageid), false },
    { { 0xb675ec37, 0xbdb6, 0x4648, { 0xbc, 0x92, 0xf3, 0xfd, 0xc7, 0x4d, 0x3c, 0xa2 } }, "Microsoft-Windows-Kernel-EventTracing", NO_OPS, false },
    { { 0xbbccf6c1, 0x6cd1, 0x48c4, { 0x80, 0xff, 0x83, 0x94, 0x82, 0xe3, 0x76, 0x71 } }, "KernelTraceControl/MetaData", OPS(op_ktc_metadata), false },
    { { 0xbf3a50c5, 0xa9c9, 0x4988, { 0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80 } }, "UdpIp", OPS(op_udpip), true },
    { { 0xc44219d0, 0xf344, 0x11df, { 0xa5, 0xe2, 0xb3, 0x07, 0xdf, 0xd7, 0x20, 0x85 } }, "Microsoft-Windows-DirectComposition", NO_OPS, false },
    { { 0xc651f5f6, 0x1c0d, 0x492e, { 0x8a, 0xe1, 0xb4, 0xef, 0xd7, 0xc9, 0xd5, 0x03 } }, "Microsoft-Windows-Application Server-Applications", NO_OPS, false },
    { { 0xc861d0e2, 0xa2c1, 0x4d36, { 0x9f, 0x9c, 0x97, 0x0b, 0xab, 0x94, 0x3a, 0x12 } }, "ThreadPool", NO_OPS, true },
    { { 0xce1dbfb4, 0x137e, 0x4da6, { 0x87, 0xb0, 0x3f, 0x59, 0xaa, 0x10, 0x2c, 0xbc } }, "PerfInfo", OPS(op_perfinfo), true },
    { { 0xd837ca92, 0x12b9, 0x44a5, { 0xad, 0x6a, 0x3a, 0x65, 0xb3, 0x57, 0x8a, 0xa8 } }, "SplitIo", OPS(op_splitio), true },
    { { 0xde4649c9, 0x15e8, 0x4fea, { 0x9d, 0x85, 0x1c, 0xdd, 0xa5, 0x20, 0xc3, 0x34 } }, "Microsoft-Windows-IIS", NO_OPS, false },
    { { 0xdef2fe46, 0x7bd6, 0x4b80, { 0xbd, 0x94, 0xf5, 0x7f, 0xe2, 0x0d, 0x0c, 0xe3 } }, "StackWalk", OPS(op_stackwalk), true },
    { { 0xe13c0d23, 0xccbc, 0x4e12, { 0x93, 0x1b, 0xd9, 0xcc, 0x2e, 0xee, 0x27, 0xe4 } }, "Microsoft-Windows-DotNETRuntime", NO_OPS, false },
    { { 0xe43445e0, 0x0903, 0x48c3, { 0xb8, 0x78, 0xff, 0x0f, 0xcc, 0xeb, 0xdd, 0x04 } }, "Power", NO_OPS, true },
    { { 0xed54dff8, 0xc409, 0x4cf6, { 0xbf, 0x83, 0x05, 0xe1, 0xe6, 0x1a, 0x09, 0xc4 } }, "KernelTraceControl/WinSat", OPS(op_ktc_winsat), false },
    { { 0xedd08927, 0x9cc4, 0x4e65, { 0xb9, 0x70, 0xc2, 0x56, 0x0f, 0xb5, 0xc2, 0x89 } }, "Microsoft-Windows-Kernel-File", NO_OPS, false },
    { { 0xee799f41, 0xcfa5, 0x550b, { 0xbf, 0x2c, 0x34, 0x47, 0x47, 0xc1, 0xc6, 0x68 } }, "Microsoft-Windows-ASPNET", NO_OPS, false },
    { { 0xffdb9886, 0x80f3, 0x4540, { 0xaa, 0x8b, 0xb8, 0x51, 0x92, 0x21, 0x7d, 0xdf } }, "Microsoft-PerfTrack-MSHTML", NO_OPS, false },
};

static int guid_cmp(const EtlGuid *a, const EtlGuid *b)
{
    if (a->data1 != b->data1) return a->data1 < b->data1 ? -1 : 1;
    if (a->data2 != b->data2) return a->data2 < b->data2 ? -1 : 1;
    if (a->data3 != b->data3) return a->data3 < b->data3 ? -1 : 1;
    return memcmp(a->data4, b->data4, 8);
}

static int provider_key_cmp(const void *key, const void *elem)
{
    return guid_cmp(key, &((const ProviderEntry *)elem)->guid);
}

static const ProviderEntry *provider_lookup(const EtlGuid *g)
{
    if (!g)
        return NULL;
    return bsearch(g, k_providers, G_N_ELEMENTS(k_providers), sizeof k_providers[0],
                   provider_key_cmp);
}

static int opcode_key_cmp(const void *key, const void *elem)
{
    return (int)*(const uint8_t *)key - (int)((const OpName *)elem)->opcode;
}

const char *etl_provider_name(const EtlGuid *provider)
{
    const ProviderEntry *e = provider_lookup(provider);
    return e ? e->name : NULL;
}

const char *etl_opcode_name(const EtlGuid *provider, uint8_t opcode)
{
    static const char *const common[5] = { "Info", "Start", "End", "DCStart", "DCEnd" };
    const ProviderEntry *e = provider_lookup(provider);
    if (!e)
        return NULL;
    if (e->n_ops) {
        const OpName *o = bsearch(&opcode, e->ops, e->n_ops, sizeof *e->ops, opcode_key_cmp);
        if (o)
            return o->name;
    }
    if (e->kernel_group && opcode < G_N_ELEMENTS(common))
        return common[opcode];
    return NULL;
}

bool etl_names_tables_sorted(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(k_providers); i++) {
        const ProviderEntry *e = &k_providers[i];
        if (i > 0 && guid_cmp(&k_providers[i - 1].guid, &e->guid) >= 0)
            return false;
        for (uint32_t j = 1; j < e->n_ops; j++)
            if (e->ops[j - 1].opcode >= e->ops[j].opcode)
                return false;
    }
    return true;
}

/* ------------------------------------------------------------------------------------------
 * TraceLogging names (borrowed views into the ext items)
 * ------------------------------------------------------------------------------------------ */

/* PROV_TRAITS: u16 TraitsSize (whole blob), then the NUL-terminated UTF-8 provider name. */
EtlAStr etl_event_tl_provider_name(const EtlEvent *ev)
{
    EtlAStr none = { NULL, 0 };
    const EtlExtItem *it = etl_event_ext(ev, ETL_EXT_PROV_TRAITS);
    if (!it || !it->data || it->size < 3)
        return none;
    uint32_t lim = MIN((uint32_t)it->size, (uint32_t)etl_rd16(it->data));
    if (lim < 3)
        return none;
    return etl_astr_scan(it->data + 2, lim - 2, NULL);
}

/* EVENT_SCHEMA_TL: u16 size, then tag bytes (a byte with bit 0x80 set means another tag
 * byte follows), then the NUL-terminated UTF-8 event name, then the field descriptions. */
EtlAStr etl_event_tl_event_name(const EtlEvent *ev)
{
    EtlAStr none = { NULL, 0 };
    const EtlExtItem *it = etl_event_ext(ev, ETL_EXT_EVENT_SCHEMA_TL);
    if (!it || !it->data || it->size < 3)
        return none;
    uint32_t lim = MIN((uint32_t)it->size, (uint32_t)etl_rd16(it->data));
    uint32_t off = 2;
    while (off < lim && (it->data[off] & 0x80))
        off++;
    off++;                          /* the last tag byte */
    if (off >= lim)
        return none;
    return etl_astr_scan(it->data + off, lim - off, NULL);
}
