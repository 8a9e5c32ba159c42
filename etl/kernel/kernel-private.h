/* kernel-private.h — internal declarations of etl/kernel/ and etl/names.c (not for other layers). */
#pragma once

#include "etl.h"

G_BEGIN_DECLS

/* Decoder selected by (group, opcode) for kernel headers; index into the switch in decode.c. */
typedef enum {
    ETL_KD_NONE = 0,
    ETL_KD_LOGFILE_HEADER,  /* EventTrace 0x00                                    */
    ETL_KD_HEADER_EXT,      /* EventTrace 0x05 Extension / 0x20 EndExtension       */
    ETL_KD_PROCESS,         /* Process 1/2/3/4/39                                 */
    ETL_KD_IMAGE,           /* 0x030A, Image 0x01/0x02/0x03/0x04/0x0A             */
    ETL_KD_THREAD,          /* Thread 1-4                                         */
    ETL_KD_CSWITCH,         /* Thread 0x24                                        */
    ETL_KD_READY_THREAD,    /* Thread 0x32                                        */
    ETL_KD_SYSCONFIG_CPU,   /* SystemConfig 0x0A                                  */
    ETL_KD_POOL,            /* Pool 0x20-0x23                                     */
    ETL_KD_POOL_OTHER,      /* Pool 0x24-0x2F                                     */
    ETL_KD_DPC,             /* PerfInfo 0x42/0x44/0x45                            */
    ETL_KD_ISR,             /* PerfInfo 0x43/0x5F                                 */
    ETL_KD_ISR_MSI,         /* PerfInfo 0x32                                      */
    ETL_KD_SAMPLED_PROFILE, /* PerfInfo 0x2E                                      */
    ETL_KD_STACK,           /* StackWalk 0x20                                     */
    ETL_KD_STACK_KEY_DEF,   /* StackWalk 0x22/0x23/0x24                           */
    ETL_KD_STACK_KEY_REF,   /* StackWalk 0x25/0x26                                */
} EtlKernelDecoderId;

/* Decoder for a kernel (group, opcode); ETL_KD_NONE when none.  Exposed for tests. */
EtlKernelDecoderId etl_kernel_decoder_for(uint8_t group, uint8_t opcode);

/* Kernel group byte (< 0x1F) -> task GUID (names.c); etl_kernel_group_guid_any for the rest. */
#define ETL_K_GROUP_GUIDS 0x1F
extern const EtlGuid etl_k_group_guids[ETL_K_GROUP_GUIDS];

/* names.c self-check (tests): the provider and opcode tables are sorted for bsearch. */
bool etl_names_tables_sorted(void);

G_END_DECLS
