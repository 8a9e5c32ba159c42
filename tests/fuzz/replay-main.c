/* replay-main.c — run a libFuzzer harness over files and directories without libFuzzer:
 * the committed corpus replays as an ordinary test (under ASan/UBSan in the sanitizer build). */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* g_ptr_array_sort passes pointers to the elements. */
static gint path_cmp(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static int run_file(const char *path)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "replay: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    /* Name the input first: a sanitizer report ends the process. */
    printf("replay: %s\n", path);
    fflush(stdout);
    /* Copy into an exactly-sized allocation so ASan catches any over-read. */
    uint8_t *exact = g_memdup2(data, len);
    LLVMFuzzerTestOneInput(exact, len);
    g_free(exact);
    g_free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failures = 0;
    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            GDir *d = g_dir_open(argv[i], 0, NULL);
            if (!d) { failures++; continue; }
            GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
            const char *n;
            while ((n = g_dir_read_name(d))) g_ptr_array_add(names, g_build_filename(argv[i], n, NULL));
            g_dir_close(d);
            g_ptr_array_sort(names, path_cmp);
            for (guint j = 0; j < names->len; j++) {
                if (!g_file_test(names->pdata[j], G_FILE_TEST_IS_REGULAR)) continue;
                failures += run_file(names->pdata[j]);
                files++;
            }
            g_ptr_array_free(names, TRUE);
        } else {
            failures += run_file(argv[i]);
            files++;
        }
    }
    printf("replayed %d inputs, %d unreadable\n", files, failures);
    if (files == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    return failures ? 1 : 0;
}
