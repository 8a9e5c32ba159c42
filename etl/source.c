/* source.c — byte sources: a mapped file or a memory range.
 *
 * A file is mapped once, read-only.  Virtual address space is cheap on 64-bit hosts; what
 * must stay bounded is the resident set.  Readers call etl_source_release() for each buffer
 * they are done with; released ranges are collected and dropped from the resident set with
 * madvise(MADV_DONTNEED) in batches (one syscall per coalesced run, not per buffer), so a
 * multi-GB trace is read with a resident footprint of a few tens of MB.  The page cache keeps
 * the data; a later access simply faults the page in again.
 */
#include "etl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Release in batches of at least this many bytes. */
#define RELEASE_BATCH_BYTES (4u << 20)
#define RELEASE_MAX_RANGES 4096
/* fault-around window (/sys/kernel/mm/transparent_hugepage/... aside, 64 KiB on x86-64) */
#define RELEASE_ALIGN (64u << 10)

typedef struct { uint64_t off, len; } Range;

struct EtlSource {
    char          *name;
    const uint8_t *data;
    uint64_t       size;
    /* file mapping */
    void          *map;
    size_t         map_len;
    /* owned memory */
    uint8_t       *owned;
    /* pending releases */
    Range         *pending;
    uint32_t       n_pending;
    uint64_t       pending_bytes;
    long           page_size;
};

static EtlSource *source_alloc(const char *name)
{
    EtlSource *s = g_new0(EtlSource, 1);
    s->name = g_strdup(name ? name : "(memory)");
    s->page_size = sysconf(_SC_PAGESIZE);
    if (s->page_size <= 0) s->page_size = 4096;
    return s;
}

EtlSource *etl_source_open_file(const char *path, GError **error)
{
    /* Look before opening: open() blocks on a FIFO with no writer. */
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot read %s: %s", path,
                    S_ISDIR(pre.st_mode) ? "is a directory"
                                         : "not a regular file (etla maps traces; save the stream to a file first)");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot open %s: %s", path, g_strerror(e));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot stat %s: %s", path, g_strerror(e));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot read %s: is a directory", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO,
                    "cannot read %s: not a regular file (etla maps traces; save the stream to a file first)",
                    path);
        return NULL;
    }
    if (st.st_size == 0) {
        close(fd);
        g_set_error(error, ETL_ERROR, ETL_ERROR_EMPTY, "%s is empty (0 bytes): not an ETL trace", path);
        return NULL;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot map %s: too large for this host", path);
        return NULL;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        g_set_error(error, ETL_ERROR, ETL_ERROR_IO, "cannot map %s: %s", path, g_strerror(e));
        return NULL;
    }
    EtlSource *s = source_alloc(path);
    s->map = map;
    s->map_len = (size_t)st.st_size;
    s->data = map;
    s->size = (uint64_t)st.st_size;
    return s;
}

EtlSource *etl_source_new_memory(const uint8_t *data, size_t size, const char *name)
{
    EtlSource *s = source_alloc(name);
    s->data = data;
    s->size = size;
    return s;
}

EtlSource *etl_source_new_memory_take(uint8_t *data, size_t size, const char *name)
{
    EtlSource *s = etl_source_new_memory(data, size, name);
    s->owned = data;
    return s;
}

void etl_source_free(EtlSource *s)
{
    if (!s) return;
    if (s->map) munmap(s->map, s->map_len);
    g_free(s->owned);
    g_free(s->pending);
    g_free(s->name);
    g_free(s);
}

uint64_t etl_source_size(const EtlSource *s) { return s->size; }
const char *etl_source_name(const EtlSource *s) { return s->name; }

const uint8_t *etl_source_get(EtlSource *s, uint64_t off, size_t len)
{
    if (off > s->size || s->size - off < len) return NULL;
    return s->data + off;
}

static int range_cmp(const void *a, const void *b)
{
    const Range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static void flush_releases(EtlSource *s)
{
    if (!s->n_pending) return;
    qsort(s->pending, s->n_pending, sizeof(Range), range_cmp);
    uint64_t ps = (uint64_t)s->page_size;
    uint32_t i = 0;
    while (i < s->n_pending) {
        uint64_t start = s->pending[i].off, end = start + s->pending[i].len;
        uint32_t j = i + 1;
        while (j < s->n_pending && s->pending[j].off <= end) {
            uint64_t e = s->pending[j].off + s->pending[j].len;
            if (e > end) end = e;
            j++;
        }
        /* Round outwards to the kernel's fault-around window: touching one page maps the
         * cached pages around it too (64 KiB by default), so releasing only the buffer's own
         * pages leaves its neighbours resident — in CPU order with small compressed buffers
         * that made the whole file resident.  Dropping a neighbour's pages is always safe: the
         * mapping is private and read-only, and a later access refaults them from the page cache
         * (borrowed pointers stay valid). */
        uint64_t a = start / RELEASE_ALIGN * RELEASE_ALIGN;
        uint64_t b = (end + RELEASE_ALIGN - 1) / RELEASE_ALIGN * RELEASE_ALIGN;
        if (b > s->map_len) b = s->map_len / ps * ps;
        if (b > a) madvise((uint8_t *)s->map + a, (size_t)(b - a), MADV_DONTNEED);
        i = j;
    }
    s->n_pending = 0;
    s->pending_bytes = 0;
}

void etl_source_release(EtlSource *s, uint64_t off, size_t len)
{
    if (!s->map || len == 0 || off >= s->size) return;
    if (s->size - off < len) len = (size_t)(s->size - off);
    if (!s->pending) s->pending = g_new(Range, RELEASE_MAX_RANGES);
    if (s->n_pending && s->pending[s->n_pending - 1].off + s->pending[s->n_pending - 1].len == off) {
        s->pending[s->n_pending - 1].len += len; /* extend the last range: the common case */
    } else {
        s->pending[s->n_pending++] = (Range){ off, len };
    }
    s->pending_bytes += len;
    if (s->pending_bytes >= RELEASE_BATCH_BYTES || s->n_pending == RELEASE_MAX_RANGES)
        flush_releases(s);
}
