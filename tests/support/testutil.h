/* testutil.h — small helpers shared by the unit tests and tools. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* ETLA_SHARED_DIR, else <source root>/../shared; NULL when neither exists. */
const char *tu_shared_dir(void);
/* ETLA_SOURCE_ROOT, else the current directory. */
const char *tu_source_root(void);
/* A new empty directory under $TMPDIR (g_free); tu_rm_rf removes it with its files. */
char *tu_make_tmpdir(void);
void  tu_rm_rf(const char *dir);
/* Whole file into memory (g_free); NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Number of entries in dir (0 when it does not exist). */
unsigned tu_count_entries(const char *dir);

/* Diagnostics collected as formatted messages ("detail: offset=0x…, buffer=N, cpu=C"). */
typedef struct EtlTrace EtlTrace;
typedef struct { GPtrArray *msgs; } TuDiags;
typedef struct EtlWriter EtlWriter;
/* Finish an in-memory writer, free it and open what it wrote; NULL (with the reason on
 * stderr) when either fails. */
EtlTrace *tu_finish_open(EtlWriter *w);
/* Open bytes (ownership taken) as a trace whose diagnostics go to d->msgs; NULL if it cannot be
 * opened.  Free d->msgs with g_ptr_array_free(d->msgs, TRUE). */
EtlTrace *tu_open_collecting(uint8_t *bytes, size_t len, TuDiags *d);
/* Does a collected message contain needle? */
bool      tu_has_msg(const TuDiags *d, const char *needle);

G_END_DECLS
