/* testutil.c — see testutil.h. */
#include "testutil.h"

#include "etl.h"
#include "etl-writer.h"

#include <glib/gstdio.h>
#include <stdio.h>

const char *tu_source_root(void)
{
    const char *s = g_getenv("ETLA_SOURCE_ROOT");
    return s && *s ? s : ".";
}

const char *tu_shared_dir(void)
{
    static char *dir;
    if (dir) return dir;
    const char *s = g_getenv("ETLA_SHARED_DIR");
    char *cand = s && *s ? g_strdup(s) : g_build_filename(tu_source_root(), "..", "shared", NULL);
    if (g_file_test(cand, G_FILE_TEST_IS_DIR)) {
        dir = cand;
        return dir;
    }
    g_free(cand);
    return NULL;
}

char *tu_make_tmpdir(void)
{
    GError *err = NULL;
    char *d = g_dir_make_tmp("etla-test-XXXXXX", &err);
    if (!d) {
        g_printerr("cannot create a temporary directory: %s\n", err->message);
        g_error_free(err);
    }
    return d;
}

void tu_rm_rf(const char *dir)
{
    if (!dir) return;
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *p = g_build_filename(dir, name, NULL);
            if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
                tu_rm_rf(p);
            else
                g_unlink(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    g_rmdir(dir);
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    char *data = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, &data, &n, NULL)) return NULL;
    if (len) *len = n;
    return (uint8_t *)data;
}

unsigned tu_count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    unsigned n = 0;
    if (!d) return 0;
    while (g_dir_read_name(d)) n++;
    g_dir_close(d);
    return n;
}

static void tu_collect(const EtlDiag *d, void *user)
{
    TuDiags *c = user;
    g_ptr_array_add(c->msgs, etl_diag_format(d));
}

EtlTrace *tu_open_collecting(uint8_t *bytes, size_t len, TuDiags *d)
{
    d->msgs = g_ptr_array_new_with_free_func(g_free);
    EtlOpenOptions o = { .diag_fn = tu_collect, .diag_user_data = d };
    return etl_trace_open(etl_source_new_memory_take(bytes, len, "mem"), &o, NULL);
}

bool tu_has_msg(const TuDiags *d, const char *needle)
{
    for (guint i = 0; i < d->msgs->len; i++)
        if (strstr(d->msgs->pdata[i], needle)) return true;
    return false;
}

EtlTrace *tu_finish_open(EtlWriter *w)
{
    GError *err = NULL;
    if (!etl_writer_finish(w, &err)) {
        fprintf(stderr, "tu_finish_open: writer: %s\n", err ? err->message : "?");
        g_clear_error(&err);
        etl_writer_free(w);
        return NULL;
    }
    size_t len;
    uint8_t *b = etl_writer_steal_memory(w, &len);
    etl_writer_free(w);
    EtlTrace *t = etl_trace_open(etl_source_new_memory_take(b, len, "mem"), NULL, &err);
    if (!t) fprintf(stderr, "tu_finish_open: open: %s\n", err ? err->message : "?");
    g_clear_error(&err);
    return t;
}
