/* etla-bench — throughput and memory of the `etla info` or `etla pool` workload beside the
 * read ceiling.
 *
 * Not a test: it prints numbers and never fails on them.  tests/bench/run builds a release
 * tree, generates the large traces and runs this over them; docs/PERFORMANCE.md holds the
 * results and the command.
 *
 * For each FILE, in a child process of its own (so that peak-memory figures are per file):
 *   ceiling  mmap the file and sum every 64-bit word, from the page cache (warmed first), in
 *            this process; best of --runs.  "cold map" maps afresh each run (page faults
 *            included, as etla pays them); "hot" rescans a mapping already resident.
 *   etla     what `etla info` does between argument parsing and rendering: etl_trace_open_file,
 *            etl_reader_new(ETL_ORDER_CPU), summary_add() per event (every event header and
 *            every kernel payload decoded), summary_rows(), free; best of --runs.  Memory is
 *            sampled from /proc/self/status after opening and every 64K events.
 *   --workload pool: what `etla pool` does instead: time-ordered merge, system model
 *            (owners, images, stack matching) and the pool sink per event, the default view.
 * With --cli ETLA, also runs `ETLA WORKLOAD -q FILE >/dev/null` --runs times and reports the
 * best wall time and the child's peak RSS (getrusage RUSAGE_CHILDREN) as a cross-check.
 */
#include "analyses.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    uint64_t rss, anon, file;   /* kB */
} Mem;

typedef struct {
    /* ceiling */
    double   cold_gbs, hot_gbs;
    /* etla */
    double   best_s;
    uint64_t events, event_bytes, file_size;
    uint64_t compressed_buffers;
    Mem      peak;              /* max of the samples, per column */
    uint64_t hwm_kb;            /* VmHWM at the end: peak RSS of the whole child */
    /* cli cross-check */
    double   cli_s;
    uint64_t cli_maxrss_kb;
    int      cli_status;
    bool     ok;
    char     error[200];
} Result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* /proc/self/status: VmHWM, VmRSS, RssAnon, RssFile (kB).  One read(), no stdio. */
static void mem_read(Mem *m, uint64_t *hwm)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    static const struct { const char *key; size_t off; } keys[] = {
        { "\nVmRSS:", offsetof(Mem, rss) },
        { "\nRssAnon:", offsetof(Mem, anon) },
        { "\nRssFile:", offsetof(Mem, file) },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        const char *p = strstr(buf, keys[i].key);
        if (p) *(uint64_t *)((char *)m + keys[i].off) = g_ascii_strtoull(p + strlen(keys[i].key), NULL, 10);
    }
    if (hwm) {
        const char *p = strstr(buf, "\nVmHWM:");
        if (p) *hwm = g_ascii_strtoull(p + 7, NULL, 10);
    }
}

static void mem_sample(Mem *peak)
{
    Mem m = { 0 };
    mem_read(&m, NULL);
    if (m.rss > peak->rss) peak->rss = m.rss;
    if (m.anon > peak->anon) peak->anon = m.anon;
    if (m.file > peak->file) peak->file = m.file;
}

/* ------------------------------------------------------------------------------ ceiling */

/* Sum every u64 word; four accumulators so the loop is bound by loads, not by one add chain. */
static uint64_t scan_words(const uint8_t *p, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        a += w[0];
        b += w[1];
        c += w[2];
        d += w[3];
    }
    for (; i < n; i++) a += p[i];
    return a + b + c + d;
}

static volatile uint64_t sink;

static bool ceiling(const char *path, unsigned runs, Result *res)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return false;
    }
    size_t n = (size_t)st.st_size;
    /* warm the page cache */
    {
        char *buf = g_malloc(1 << 20);
        while (read(fd, buf, 1 << 20) > 0) {}
        g_free(buf);
    }
    double best_cold = 1e30, best_hot = 1e30;
    for (unsigned r = 0; r < runs; r++) {
        double t0 = now_s();
        void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            return false;
        }
        sink += scan_words(m, n);
        double t1 = now_s();
        sink += scan_words(m, n); /* now every page is mapped */
        double t2 = now_s();
        munmap(m, n);
        if (t1 - t0 < best_cold) best_cold = t1 - t0;
        if (t2 - t1 < best_hot) best_hot = t2 - t1;
    }
    close(fd);
    res->cold_gbs = (double)n / best_cold / 1e9;
    res->hot_gbs = (double)n / best_hot / 1e9;
    return true;
}

/* ------------------------------------------------------------------------------ etla info */

static void quiet_diag(const EtlDiag *d, void *u) { (void)d; (void)u; }

/* One `etla info` pass.  false if the trace does not open. */
static bool info_once(const char *path, Result *res, Mem *peak)
{
    EtlOpenOptions o = { .diag_fn = quiet_diag };
    GError *err = NULL;
    EtlTrace *t = etl_trace_open_file(path, &o, &err);
    if (!t) {
        g_strlcpy(res->error, err ? err->message : "cannot open", sizeof res->error);
        g_clear_error(&err);
        return false;
    }
    mem_sample(peak);
    const int64_t from = INT64_MIN, to = INT64_MAX; /* cmd-info.c's window, unset */
    Summary *sum = summary_new(t);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_CPU); /* as cmd-info.c */
    mem_sample(peak);
    const EtlEvent *ev;
    uint64_t n = 0, in_window = 0;
    while ((ev = etl_reader_next(r))) {
        if (G_UNLIKELY((++n & 0xFFFF) == 0)) mem_sample(peak); /* where cmd-info.c updates progress */
        if (ev->timestamp < from || ev->timestamp > to) continue;
        in_window++;
        summary_add(sum, ev);
    }
    mem_sample(peak);
    etl_reader_free(r);
    guint n_rows;
    (void)summary_rows(sum, &n_rows);
    const EtlStats *st = etl_trace_stats(t);
    res->events = st->events;
    res->event_bytes = st->bytes_events;
    res->compressed_buffers = st->compressed_buffers;
    res->file_size = st->bytes_file;
    sink += in_window + n_rows;
    summary_free(sum);
    etl_trace_free(t);
    return true;
}

/* One `etla pool` pass: what cmd-pool.c does between option parsing and rendering (time
 * order, system model, pool sink, the default view). */
static bool pool_once(const char *path, Result *res, Mem *peak)
{
    EtlOpenOptions o = { .diag_fn = quiet_diag };
    GError *err = NULL;
    EtlTrace *t = etl_trace_open_file(path, &o, &err);
    if (!t) {
        g_strlcpy(res->error, err ? err->message : "cannot open", sizeof res->error);
        g_clear_error(&err);
        return false;
    }
    mem_sample(peak);
    PoolOptions po;
    pool_options_init(&po);
    Model *m = model_new(t, 0);
    Pool *p = pool_new(m, t, &po);
    EtlReader *r = etl_reader_new(t, ETL_ORDER_TIME);
    mem_sample(peak);
    const EtlEvent *ev;
    uint64_t n = 0;
    while ((ev = etl_reader_next(r))) {
        if (G_UNLIKELY((++n & 0xFFFF) == 0)) mem_sample(peak);
        EtlKernelEvent k;
        bool dec = etl_header_kind_is_opcode_keyed(ev->kind) && etl_kernel_decode(ev, &k) == ETL_DECODE_OK;
        ModelCtx mc;
        model_event(m, ev, dec ? &k : NULL, &mc);
        if (ev->group == ETL_GROUP_POOL) pool_add(p, ev, dec ? &k : NULL, &mc);
    }
    mem_sample(peak);
    etl_reader_free(r);
    model_finish(m);
    pool_finish(p);
    PoolViewSpec v = { .keys = { POOL_BY_CLASS, POOL_BY_PAGED, POOL_BY_TAG }, .n_keys = 3 };
    GArray *rows = pool_view(p, &v);
    mem_sample(peak);
    const EtlStats *st = etl_trace_stats(t);
    res->events = st->events;
    res->event_bytes = st->bytes_events;
    res->compressed_buffers = st->compressed_buffers;
    res->file_size = st->bytes_file;
    sink += rows->len + pool_health(p)->allocs;
    g_array_free(rows, TRUE);
    pool_free(p);
    model_free(m);
    etl_trace_free(t);
    return true;
}

static const char *workload = "info";

static void bench_info(const char *path, unsigned runs, Result *res)
{
    res->best_s = 1e30;
    bool pool = !strcmp(workload, "pool");
    for (unsigned i = 0; i < runs; i++) {
        double t0 = now_s();
        if (!(pool ? pool_once(path, res, &res->peak) : info_once(path, res, &res->peak))) return;
        double dt = now_s() - t0;
        if (dt < res->best_s) res->best_s = dt;
    }
    mem_read(&(Mem){ 0 }, &res->hwm_kb);
    res->ok = true;
}

/* ------------------------------------------------------------------------------ cli */

static void bench_cli(const char *cli, const char *path, unsigned runs, Result *res)
{
    res->cli_s = 1e30;
    for (unsigned i = 0; i < runs; i++) {
        double t0 = now_s();
        pid_t pid = fork();
        if (pid < 0) return;
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) dup2(devnull, 1);
            execl(cli, cli, workload, "-q", path, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) return;
        double dt = now_s() - t0;
        res->cli_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (dt < res->cli_s) res->cli_s = dt;
        if ((uint64_t)ru.ru_maxrss > res->cli_maxrss_kb) res->cli_maxrss_kb = (uint64_t)ru.ru_maxrss;
    }
}

/* ------------------------------------------------------------------------------ driver */

/* Run one measurement in a child of its own, so that VmHWM and the resident set are that
 * measurement's alone (the ceiling maps the whole file; the etla run must not inherit it). */
static bool run_child(const char *path, unsigned runs, bool is_ceiling, Result *out)
{
    int pfd[2];
    if (pipe(pfd) != 0) return false;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        close(pfd[0]);
        Result r = *out;
        if (is_ceiling) {
            if (!ceiling(path, runs, &r)) g_strlcpy(r.error, "cannot map", sizeof r.error);
        } else {
            bench_info(path, runs, &r);
        }
        ssize_t w = write(pfd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(pfd[1]);
    ssize_t got = read(pfd[0], out, sizeof *out);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    return got == (ssize_t)sizeof *out;
}

static bool run_file(const char *path, unsigned runs, const char *cli, Result *out)
{
    if (!run_child(path, runs, true, out) || out->error[0]) return false;
    if (!run_child(path, runs, false, out) || !out->ok) return false;
    if (cli) bench_cli(cli, path, runs, out);
    return true;
}

static char *human_size(uint64_t b)
{
    if (b >= 1u << 30) return g_strdup_printf("%.2f GiB", (double)b / (1u << 30));
    if (b >= 1u << 20) return g_strdup_printf("%.1f MiB", (double)b / (1u << 20));
    if (b >= 1u << 10) return g_strdup_printf("%.1f KiB", (double)b / (1u << 10));
    return g_strdup_printf("%" G_GUINT64_FORMAT " B", b);
}

int main(int argc, char **argv)
{
    gint runs = 5;
    gchar *cli = NULL;
    gboolean markdown = FALSE;
    GOptionEntry entries[] = {
        { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Timed runs per file; the best is reported (default 5)", "N" },
        { "cli", 0, 0, G_OPTION_ARG_FILENAME, &cli, "Also time ETLA info -q FILE as a child process", "ETLA" },
        { "markdown", 0, 0, G_OPTION_ARG_NONE, &markdown, "Print the table as Markdown", NULL },
        { "workload", 'w', 0, G_OPTION_ARG_STRING, &workload, "info (default) or pool: what is measured", "W" },
        { NULL }
    };
    GOptionContext *ctx = g_option_context_new("FILE... - etla info throughput and memory beside the read ceiling");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2 || runs < 1 ||
        (strcmp(workload, "info") && strcmp(workload, "pool"))) {
        g_printerr("etla-bench: %s\n", err ? err->message : "expected --runs >= 1, --workload info|pool and at least one FILE");
        g_clear_error(&err);
        g_option_context_free(ctx);
        return 2;
    }
    g_option_context_free(ctx);

    const char *sep = markdown ? " | " : "  ";
    if (markdown) {
        printf("| file | size | events | ceiling GB/s (cold map / hot) | etla MB/s (file) | MB/s (events) "
               "| Mevents/s | peak RSS MiB | anon MiB | file-backed MiB |%s\n",
               cli ? (!strcmp(workload, "pool") ? " etla pool s | etla pool RSS MiB |" : " etla info s | etla info RSS MiB |") : "");
        printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|%s\n", cli ? "--:|--:|" : "");
    } else {
        printf("%-50s%s%10s%s%11s%s%13s%s%9s%s%9s%s%9s%s%8s%s%8s%s%9s%s",
               "file", sep, "size", sep, "events", sep, "ceil cold/hot", sep, "MB/s file", sep, "MB/s ev", sep,
               "Mev/s", sep, "RSS MiB", sep, "anon MiB", sep, "file MiB", cli ? sep : "\n");
        if (cli) printf("%8s%s%11s\n", "cli s", sep, "cli RSS MiB");
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *path = argv[i];
        Result r = { 0 };
        char *base = g_path_get_basename(path);
        if (!run_file(path, (unsigned)runs, cli, &r)) {
            printf("%s%s(%s)\n", base, sep, r.error[0] ? r.error : "failed");
            g_free(base);
            rc = 1;
            continue;
        }
        char *size = human_size(r.file_size);
        char ceil_s[48];
        g_snprintf(ceil_s, sizeof ceil_s, "%.1f / %.1f", r.cold_gbs, r.hot_gbs);
        double mbs_file = (double)r.file_size / r.best_s / 1e6;
        double mbs_ev = (double)r.event_bytes / r.best_s / 1e6;
        double mevs = (double)r.events / r.best_s / 1e6;
        char evname[64];
        g_snprintf(evname, sizeof evname, "%s%s", base, r.compressed_buffers ? " (xpress)" : "");
        if (markdown) {
            printf("| %s | %s | %" G_GUINT64_FORMAT " | %s | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f |", evname, size,
                   r.events, ceil_s, mbs_file, mbs_ev, mevs, r.hwm_kb / 1024.0, r.peak.anon / 1024.0,
                   r.peak.file / 1024.0);
            if (cli) printf(" %.3f | %.1f |", r.cli_s, r.cli_maxrss_kb / 1024.0);
            printf("\n");
        } else {
            printf("%-50s%s%10s%s%11" G_GUINT64_FORMAT "%s%13s%s%9.0f%s%9.0f%s%9.2f%s%8.1f%s%8.1f%s%9.1f", evname, sep,
                   size, sep, r.events, sep, ceil_s, sep, mbs_file, sep, mbs_ev, sep, mevs, sep, r.hwm_kb / 1024.0, sep,
                   r.peak.anon / 1024.0, sep, r.peak.file / 1024.0);
            if (cli) printf("%s%8.3f%s%11.1f%s", sep, r.cli_s, sep, r.cli_maxrss_kb / 1024.0,
                            r.cli_status ? " (exit status != 0)" : "");
            printf("\n");
        }
        fflush(stdout);
        g_free(size);
        g_free(base);
    }
    g_free(cli);
    return rc;
}
