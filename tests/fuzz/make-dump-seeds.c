/* make-dump-seeds.c — the seed corpus of fuzz-dump (corpus/dump/seed-*): small synthetic dumps
 * from tests/support/dumpgen.c, each with one 8 KiB-buffer logger.  Real page tables cost a
 * page per level, so the seeds are 20-130 KiB.  Rewrites the seed-* files byte for byte; leaves
 * every other file alone.  Usage: fuzz-make-dump-seeds tests/fuzz/corpus/dump
 */
#include "dumpgen.h"
#include "scenario.h"

#include <stdio.h>

typedef struct {
    const char *name;
    DgContainer container;
    DgArch      arch;
    DgPages     pages;
    uint64_t    ram;
    bool        no_kdbg, no_kusd, fdmp, decoys, partial, win7, alias;
    uint32_t    n_active;
    size_t      cut_tail;   /* bytes cut off the end (a truncated dump) */
} Seed;

static const Seed seeds[] = {
    { "seed-x64-bitmap", DG_BITMAP, DG_X64, DG_PAGES_4K, 8u << 20, .n_active = 1 },
    { "seed-x64-bitmap-large-fdmp", DG_BITMAP, DG_X64, DG_PAGES_LARGE, 16u << 20, .fdmp = true, .no_kusd = true },
    { "seed-x64-bitmap-1g-carved", DG_BITMAP, DG_X64, DG_PAGES_1G, 16u << 20, .no_kdbg = true, .no_kusd = true },
    { "seed-x64-bitmap-decoys", DG_BITMAP, DG_X64, DG_PAGES_4K, 8u << 20, .decoys = true, .partial = true, .no_kusd = true },
    { "seed-x64-bitmap-win7-alias", DG_BITMAP, DG_X64, DG_PAGES_4K, 8u << 20, .win7 = true, .alias = true, .no_kusd = true },
    { "seed-x64-bitmap-truncated", DG_BITMAP, DG_X64, DG_PAGES_4K, 8u << 20, .no_kusd = true, .cut_tail = 0x1100 },
    { "seed-pae-bitmap-large", DG_BITMAP, DG_PAE, DG_PAGES_LARGE, 16u << 20 },
    { "seed-x86-bitmap-large", DG_BITMAP, DG_X86, DG_PAGES_LARGE, 16u << 20, .no_kusd = true },
    { "seed-x86-full", DG_FULL, DG_X86, DG_PAGES_4K, 16 * 4096, .no_kusd = true },
    { "seed-pae-full", DG_FULL, DG_PAE, DG_PAGES_4K, 20 * 4096, .no_kusd = true },
    { "seed-x64-full", DG_FULL, DG_X64, DG_PAGES_4K, 16 * 4096, .no_kusd = true, .no_kdbg = true },
    { "seed-x64-raw", DG_RAW, DG_X64, DG_PAGES_4K, 12 * 4096, .no_kdbg = true },
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    GError *err = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
        const Seed *s = &seeds[i];
        uint8_t ptr = s->arch == DG_X64 ? 8 : 4;
        size_t tlen;
        ScenOptions so;
        scen_options_init(&so, SCEN_DPC_STORM);
        so.seed = 100 + i;
        so.ptr_size = ptr;
        so.cpus = 2;
        so.buffer_size = 8192;
        so.duration_ms = 40;
        uint8_t *trace = scen_generate_memory(&so, &tlen, NULL, &err);
        if (!trace) {
            fprintf(stderr, "%s\n", err->message);
            return 1;
        }
        DgOptions o;
        dg_options_init(&o);
        o.seed = 7 + i;
        o.container = s->container;
        o.arch = s->arch;
        o.ram_bytes = s->ram;
        o.bitmap_filler_pct = 0;
        o.no_kdbg = s->no_kdbg;
        o.no_kusd = s->no_kusd;
        o.fdmp = s->fdmp;
        o.decoys = s->decoys;
        o.partial_decoy = s->partial;
        o.win7_context = s->win7;
        o.alias_mapping = s->alias;
        DumpGen *g = dg_new(&o);
        DgLogger l = { .etl = trace, .etl_len = tlen, .logger_id = 2, .name = "Circular Kernel Context Logger",
                       .pages = s->pages, .pat = s->pages != DG_PAGES_4K, .n_active = s->n_active, .max_buffers = 2 };
        if (!dg_add_logger(g, &l, &err)) {
            fprintf(stderr, "%s: %s\n", s->name, err->message);
            return 1;
        }
        size_t len;
        uint8_t *dump = dg_write_memory(g, &len, &err);
        if (!dump) {
            fprintf(stderr, "%s: %s\n", s->name, err->message);
            return 1;
        }
        if (s->cut_tail && s->cut_tail < len) len -= s->cut_tail;
        char *path = g_build_filename(argv[1], s->name, NULL);
        if (!g_file_set_contents(path, (const char *)dump, (gssize)len, &err)) {
            fprintf(stderr, "%s\n", err->message);
            return 1;
        }
        printf("%s: %zu bytes\n", path, len);
        g_free(path);
        g_free(dump);
        dg_free(g);
        g_free(trace);
    }
    return 0;
}
