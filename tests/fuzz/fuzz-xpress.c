/* fuzz-xpress.c — libFuzzer harness for the MS-XCA plain LZ77 codec (etl/xpress.c).
 *
 * 1. The input as a compressed stream, decoded into exactly-sized heap buffers of several
 *    capacities (0, tiny, odd, a typical ETL buffer, larger than any input can need, and one
 *    chosen by the input), so that ASan sees any write past cap and any read past in_len.
 *    The decoder's contract is checked: *out_len <= cap, OUTPUT_FULL only when out_len == cap,
 *    and the same prefix whatever the capacity (decoding is deterministic).
 * 2. The input as plain data: compress into an exactly-sized etl_xpress_bound() buffer and
 *    decompress again with cap = in_len and cap = in_len + 64; both must give the input back.
 *
 * Built with -fsanitize=fuzzer when -Dfuzzing=true (clang); otherwise linked with
 * replay-main.c and run over tests/fuzz/corpus/xpress/ as an ordinary test. */
#include "etl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CAP ((size_t)1 << 20)

static void fail(const char *what, size_t in_len, size_t cap, size_t got)
{
    fprintf(stderr, "fuzz-xpress: %s (in_len %zu, cap %zu, out_len %zu)\n", what, in_len, cap, got);
    abort();
}

/* Decode into an exactly-sized buffer; returns the output (g_free), status and length. */
static uint8_t *decode(const uint8_t *in, size_t in_len, size_t cap, EtlXpressStatus *st, size_t *len)
{
    /* g_malloc(0) returns NULL: the decoder must not touch out when cap is 0. */
    uint8_t *out = g_malloc(cap);
    *len = (size_t)-1;
    *st = etl_xpress_decompress(in, in_len, out, cap, len);
    if (*len > cap) fail("out_len beyond cap", in_len, cap, *len);
    if (*st == ETL_XPRESS_OUTPUT_FULL && *len != cap) fail("OUTPUT_FULL with room left", in_len, cap, *len);
    if (*st > ETL_XPRESS_BAD_LENGTH) fail("unknown status", in_len, cap, *len);
    (void)etl_xpress_status_name(*st);
    return out;
}

static void decompress_caps(const uint8_t *data, size_t size)
{
    /* The input bytes themselves are the stream; the first two also pick one capacity. */
    size_t chosen = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) * 16 + (data[0] & 15) : 5;
    size_t caps[] = { 0, 1, 2, 3, 7, 8, 31, 33, 255, 4097, 0x2000 - 0x48, 65521,
                      size, size * 3 + 1, chosen, MAX_CAP };
    /* The largest decode is the reference: every smaller capacity must give its prefix. */
    EtlXpressStatus ref_st;
    size_t ref_len;
    uint8_t *ref = decode(data, size, MAX_CAP, &ref_st, &ref_len);
    for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
        size_t cap = MIN(caps[i], MAX_CAP);
        EtlXpressStatus st;
        size_t len;
        uint8_t *out = decode(data, size, cap, &st, &len);
        if (len > ref_len) fail("smaller capacity decoded more", size, cap, len);
        if (len && memcmp(out, ref, len) != 0) fail("output differs from the larger capacity", size, cap, len);
        /* Stopping short of cap is not about cap: it must be where and how the reference stopped
         * (this also checks that the fast and the careful decoding loops agree). */
        if (len < cap && (len != ref_len || st != ref_st)) fail("stopped early, unlike the reference", size, cap, len);
        g_free(out);
    }
    g_free(ref);
}

static void round_trip(const uint8_t *data, size_t size)
{
    size_t bound = etl_xpress_bound(size);
    uint8_t *z = g_malloc(bound);
    size_t zlen = etl_xpress_compress(data, size, z);
    if (zlen > bound) fail("compressed size beyond etl_xpress_bound", size, bound, zlen);
    /* Decode from an exactly-sized copy so a read past the compressed end is caught. */
    uint8_t *zexact = g_memdup2(z, zlen);
    g_free(z);
    size_t extra[] = { 0, 64 };
    for (size_t i = 0; i < G_N_ELEMENTS(extra); i++) {
        EtlXpressStatus st;
        size_t len;
        uint8_t *out = decode(zexact, zlen, size + extra[i], &st, &len);
        if (st != ETL_XPRESS_OK) fail("round trip: decoder error", zlen, size + extra[i], len);
        if (len != size) fail("round trip: wrong length", zlen, size + extra[i], len);
        if (size && memcmp(out, data, size) != 0) fail("round trip: bytes differ", zlen, size + extra[i], len);
        g_free(out);
    }
    g_free(zexact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decompress_caps(data, size);
    round_trip(data, size);
    return 0;
}
