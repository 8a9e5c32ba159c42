/* test-xpress.c — the MS-XCA plain LZ77 codec (etl/xpress.c).
 *
 * Oracles: the MS-XCA §3 example vectors, a slow spec-transcription decoder written here
 * (differential tests on random and mutated streams), an independent stream builder that
 * knows where every item starts and ends (exact status for every truncation and every
 * capacity), and libfwnt_lzxpress_decompress() when built with HAVE_LIBFWNT (real compressed
 * ETL buffers from ../shared/traces and every compressed round trip).
 *
 * ETLA_XPRESS_BENCH=1 runs a throughput measurement (printed, never asserted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "etl.h"

#ifdef HAVE_LIBFWNT
#include <libfwnt.h>
#endif

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------ */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    /* xorshift64*: deterministic, so failures reproduce */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(uint32_t n) { return n ? (uint32_t)(rng_next() % n) : 0; }

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static bool libfwnt_available(void)
{
#ifdef HAVE_LIBFWNT
    return true;
#else
    return false;
#endif
}

/* libfwnt: returns true and sets *produced when it decodes; cap is its capacity. */
static bool fwnt_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, size_t *produced)
{
#ifdef HAVE_LIBFWNT
    libfwnt_error_t *err = NULL;
    size_t sz = cap;
    int r = libfwnt_lzxpress_decompress(in, in_len, out, &sz, &err);
    if (r != 1) {
        if (err) {
            libfwnt_error_fprint(err, stderr);
            libfwnt_error_free(&err);
        }
        return false;
    }
    *produced = sz;
    return true;
#else
    (void)in; (void)in_len; (void)out; (void)cap; (void)produced;
    return false;
#endif
}

/* A direct, slow transcription of MS-XCA §2.4 with this project's status conventions. */
static EtlXpressStatus ref_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    size_t ip = 0, op = 0, half = SIZE_MAX;
    uint32_t flags = 0;
    int nflags = 0;
    EtlXpressStatus st = ETL_XPRESS_OK;
    for (;;) {
        if (op == cap) break;
        if (nflags == 0) {
            if (in_len - ip < 4) { if (ip != in_len) st = ETL_XPRESS_TRUNCATED_INPUT; break; }
            flags = (uint32_t)in[ip] | (uint32_t)in[ip + 1] << 8 | (uint32_t)in[ip + 2] << 16 |
                    (uint32_t)in[ip + 3] << 24;
            ip += 4;
            nflags = 32;
        }
        nflags--;
        if (!((flags >> nflags) & 1)) {
            if (ip == in_len) break;
            out[op++] = in[ip++];
            continue;
        }
        if (ip == in_len) break;
        if (in_len - ip < 2) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
        uint32_t v = in[ip] | (uint32_t)in[ip + 1] << 8;
        ip += 2;
        uint64_t len = v % 8;
        size_t off = v / 8 + 1;
        if (len == 7) {
            if (half == SIZE_MAX) {
                if (ip == in_len) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
                len = in[ip] % 16;
                half = ip++;
            } else {
                len = in[half] / 16;
                half = SIZE_MAX;
            }
            if (len == 15) {
                if (ip == in_len) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
                len = in[ip++];
                if (len == 255) {
                    if (in_len - ip < 2) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
                    len = in[ip] | (uint32_t)in[ip + 1] << 8;
                    ip += 2;
                    if (len == 0) {
                        if (in_len - ip < 4) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
                        len = (uint32_t)in[ip] | (uint32_t)in[ip + 1] << 8 |
                              (uint32_t)in[ip + 2] << 16 | (uint32_t)in[ip + 3] << 24;
                        ip += 4;
                    }
                    if (len < 15 + 7) { st = ETL_XPRESS_BAD_LENGTH; break; }
                    len -= 15 + 7;
                }
                len += 15;
            }
            len += 7;
        }
        len += 3;
        if (off > op) { st = ETL_XPRESS_BAD_OFFSET; break; }
        for (uint64_t i = 0; i < len; i++) {
            if (op == cap) { st = ETL_XPRESS_OUTPUT_FULL; goto done; }
            out[op] = out[op - off];
            op++;
        }
    }
done:
    *out_len = op;
    return st;
}

/* ------------------------------------------------------------------------------------------
 * Stream builder: encodes items per MS-XCA §2.3 independently of etl_xpress_compress (no
 * length cap, so it also makes the u32 form), records where each item lies, and keeps the
 * expected output.
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    size_t flag_word;   /* offset of the flag word this item opens, or SIZE_MAX */
    size_t in_start, in_end;
    uint64_t len;       /* output bytes */
} Item;

typedef struct {
    GByteArray *s;      /* stream */
    GByteArray *want;   /* expected output (not kept when a match is too long) */
    GArray *items;
    size_t flag_pos, half;
    uint32_t flags;
    unsigned nflags;
    size_t final_fw;    /* set by finish: the trailing empty flag word, or SIZE_MAX */
    bool track_output;
} Builder;

static void b_init(Builder *b)
{
    b->s = g_byte_array_new();
    b->want = g_byte_array_new();
    b->items = g_array_new(FALSE, FALSE, sizeof(Item));
    static const uint8_t z[4] = {0};
    g_byte_array_append(b->s, z, 4);
    b->flag_pos = 0;
    b->half = SIZE_MAX;
    b->flags = 0;
    b->nflags = 0;
    b->final_fw = SIZE_MAX;
    b->track_output = true;
}

static void b_free(Builder *b)
{
    g_byte_array_unref(b->s);
    g_byte_array_unref(b->want);
    g_array_unref(b->items);
}

static void b_put(Builder *b, const void *p, size_t n) { g_byte_array_append(b->s, p, (guint)n); }

static void b_end_item(Builder *b, Item *it, unsigned bit)
{
    it->in_end = b->s->len;
    g_array_append_val(b->items, *it);
    b->flags = b->flags << 1 | bit;
    if (++b->nflags == 32) {
        wr32(b->s->data + b->flag_pos, b->flags);
        b->flag_pos = b->s->len;
        static const uint8_t z[4] = {0};
        b_put(b, z, 4);
        b->flags = 0;
        b->nflags = 0;
    }
}

static Item b_begin_item(Builder *b)
{
    Item it = { .flag_word = b->nflags == 0 ? b->flag_pos : SIZE_MAX, .in_start = b->s->len };
    return it;
}

static void b_lit(Builder *b, uint8_t c)
{
    Item it = b_begin_item(b);
    it.len = 1;
    b_put(b, &c, 1);
    if (b->track_output) g_byte_array_append(b->want, &c, 1);
    b_end_item(b, &it, 0);
}

static void b_lits(Builder *b, const char *s)
{
    while (*s) b_lit(b, (uint8_t)*s++);
}

/* force_u32: use the u32 length form even for short lengths (legal for length-3 >= 22):
 * the longest encoding of a match, 9 or 10 bytes. */
static void b_match_form(Builder *b, uint32_t off, uint64_t len, bool force_u32)
{
    assert_true(off >= 1 && off <= 8192);
    assert_true(len >= 3 && len <= 0xffffffffull + 3);
    Item it = b_begin_item(b);
    it.len = len;
    uint64_t m = len - 3;
    uint8_t t[4];
    uint16_t code = (uint16_t)((off - 1) << 3);
    if (force_u32) assert_true(m >= 22);
    if (m < 7) {
        wr16(t, (uint16_t)(code | m));
        b_put(b, t, 2);
    } else {
        wr16(t, code | 7);
        b_put(b, t, 2);
        uint64_t r = force_u32 ? 15 + 255 : m - 7;
        uint8_t nib = r < 15 ? (uint8_t)r : 15;
        if (b->half == SIZE_MAX) {
            b->half = b->s->len;
            b_put(b, &nib, 1);
        } else {
            b->s->data[b->half] |= (uint8_t)(nib << 4);
            b->half = SIZE_MAX;
        }
        if (r >= 15) {
            r -= 15;
            if (r < 255) {
                uint8_t c = (uint8_t)r;
                b_put(b, &c, 1);
            } else {
                uint8_t c = 255;
                b_put(b, &c, 1);
                if (m < 65536 && !force_u32) {   /* m >= 277 here, so never 0 */
                    wr16(t, (uint16_t)m);
                    b_put(b, t, 2);
                } else {
                    wr16(t, 0);
                    b_put(b, t, 2);
                    wr32(t, (uint32_t)m);
                    b_put(b, t, 4);
                }
            }
        }
    }
    if (b->track_output) {
        assert_true(off <= b->want->len);
        for (uint64_t i = 0; i < len; i++) {
            uint8_t c = b->want->data[b->want->len - off];
            g_byte_array_append(b->want, &c, 1);
        }
    }
    b_end_item(b, &it, 1);
}

static void b_match(Builder *b, uint32_t off, uint64_t len) { b_match_form(b, off, len, false); }

/* Terminate like MS-XCA: the unused flag bits of the last word are set. */
static void b_finish(Builder *b)
{
    uint32_t f;
    if (b->nflags == 0) {
        f = 0xffffffffu;
        b->final_fw = b->flag_pos;
    } else {
        f = b->flags << (32 - b->nflags) | ((1u << (32 - b->nflags)) - 1);
    }
    wr32(b->s->data + b->flag_pos, f);
}

/* What the decoder must report for the stream cut to its first k bytes (cap is ample). */
static EtlXpressStatus b_expect_prefix(const Builder *b, size_t k, size_t *out)
{
    uint64_t o = 0;
    for (guint i = 0; i < b->items->len; i++) {
        const Item *it = &g_array_index(b->items, Item, i);
        if (it->flag_word != SIZE_MAX) {
            if (k == it->flag_word) { *out = (size_t)o; return ETL_XPRESS_OK; }
            if (k < it->flag_word + 4) { *out = (size_t)o; return ETL_XPRESS_TRUNCATED_INPUT; }
        }
        if (k == it->in_start) { *out = (size_t)o; return ETL_XPRESS_OK; }
        if (k < it->in_end) { *out = (size_t)o; return ETL_XPRESS_TRUNCATED_INPUT; }
        o += it->len;
    }
    *out = (size_t)o;
    if (b->final_fw != SIZE_MAX && k > b->final_fw && k < b->final_fw + 4)
        return ETL_XPRESS_TRUNCATED_INPUT;
    return ETL_XPRESS_OK;
}

/* What the decoder must report for the whole stream decoded into cap bytes. */
static EtlXpressStatus b_expect_cap(const Builder *b, size_t cap, size_t *out)
{
    uint64_t o = 0;
    for (guint i = 0; i < b->items->len; i++) {
        const Item *it = &g_array_index(b->items, Item, i);
        if (o == cap) { *out = cap; return ETL_XPRESS_OK; }
        if (o + it->len > cap) { *out = cap; return ETL_XPRESS_OUTPUT_FULL; }
        o += it->len;
    }
    *out = (size_t)o;
    return ETL_XPRESS_OK;
}

/* A stream exercising every length form, both nibble halves, and flag-word boundaries.
 * reps > 1 repeats the short items so that the stream is long enough for the decoder's
 * whole-flag-word fast loop; the long matches come last so most prefixes stay cheap. */
static void build_feature_stream(Builder *b, int reps)
{
    b_init(b);
    b_lits(b, "ETW event data!");
    static const uint64_t lens[] = {3, 9, 10, 11, 24, 25, 26, 279, 280, 281, 4, 10, 24};
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
            b_match(b, (uint32_t)(1 + (i + r) % 15), lens[i]);
            if ((i + r) % 3 == 0) b_lit(b, (uint8_t)('a' + i));
            if ((i + r) % 5 == 0) b_lits(b, "xyz");
        }
    }
    static const uint64_t long_lens[] = {1000, 65538, 65539, 70000};
    for (size_t i = 0; i < G_N_ELEMENTS(long_lens); i++) {
        b_match(b, (uint32_t)(1 + i * 3), long_lens[i]);
        b_lit(b, (uint8_t)i);
    }
    for (int i = 0; i < 40; i++) b_lit(b, (uint8_t)i);
    b_match(b, 8192, 12);
    b_finish(b);
}

/* ------------------------------------------------------------------------------------------
 * Inputs
 * ------------------------------------------------------------------------------------------ */
typedef enum { IN_RANDOM, IN_REPETITIVE, IN_ZERO, IN_TRACE, IN_KINDS_ } InputKind;
static const char *const kind_names[] = {"random", "repetitive", "zero", "trace-like"};

/* Something like a kernel ETW buffer: 8-byte aligned events with SYSTEM/PERFINFO-style
 * headers, increasing timestamps, a handful of thread ids and kernel-looking pointers. */
static void fill_trace_like(uint8_t *p, size_t n)
{
    static const uint32_t tids[] = {4, 1024, 1048, 2236, 7780};
    uint64_t ts = 0x1d0a4c2b3e5f00ull;
    size_t o = 0;
    memset(p, 0, n);
    while (o < n) {
        uint8_t ev[128];
        uint32_t payload = 8 * (1 + rng_below(8));
        uint16_t size = (uint16_t)(16 + payload);
        memset(ev, 0, sizeof ev);
        wr16(ev, size);
        ev[2] = rng_below(4) ? 0x11 : 0x13;   /* header type */
        ev[3] = 0xc0;                         /* marker */
        wr16(ev + 4, (uint16_t)(0x0f00 | rng_below(3)));
        ts += 100 + rng_below(3000);
        wr32(ev + 8, (uint32_t)ts);
        wr32(ev + 12, (uint32_t)(ts >> 32));
        for (uint32_t i = 0; i < payload; i += 8) {
            uint64_t v;
            switch (rng_below(4)) {
            case 0: v = 0xfffff80000000000ull | (rng_next() & 0x3fffff0ull); break;
            case 1: v = tids[rng_below(5)]; break;
            case 2: v = 0; break;
            default: v = rng_below(1000); break;
            }
            wr32(ev + 16 + i, (uint32_t)v);
            wr32(ev + 20 + i, (uint32_t)(v >> 32));
        }
        size_t take = MIN((size_t)size, n - o);
        memcpy(p + o, ev, take);
        o += take;
    }
}

static void fill_input(uint8_t *p, size_t n, InputKind k)
{
    switch (k) {
    case IN_RANDOM:
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next();
        break;
    case IN_REPETITIVE: {
        static const char text[] = "GenuineIntel Family 6 Model 158 Stepping 10, ";
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)text[i % (sizeof text - 1)];
        /* sprinkle a few changes so matches of many lengths occur */
        for (size_t i = 0; n && i < n / 97; i++) p[rng_below((uint32_t)n)] = (uint8_t)rng_next();
        break;
    }
    case IN_ZERO:
        memset(p, 0, n);
        break;
    default:
        fill_trace_like(p, n);
        break;
    }
}

/* Compress, check the bound, decode with cap = n and cap = n + 100 (both must give exactly
 * the input: the terminating flag bits stop a decoder that has room for more), and with
 * libfwnt.  Returns the compressed size. */
static size_t round_trip(const uint8_t *data, size_t n)
{
    size_t bound = etl_xpress_bound(n);
    uint8_t *comp = g_malloc(bound + 16);
    memset(comp + bound, 0xa5, 16);
    size_t clen = etl_xpress_compress(data, n, comp);
    assert_true(clen >= 4);
    assert_true(clen <= bound);
    for (int i = 0; i < 16; i++) assert_int_equal(comp[bound + i], 0xa5);

    uint8_t *exact = g_malloc(n ? n : 1);   /* exact size: ASan catches overruns */
    size_t got = SIZE_MAX;
    assert_int_equal(etl_xpress_decompress(comp, clen, exact, n, &got), ETL_XPRESS_OK);
    assert_int_equal(got, n);
    assert_memory_equal(exact, data, n);
    g_free(exact);

    uint8_t *out = g_malloc(n + 100);
    got = SIZE_MAX;
    assert_int_equal(etl_xpress_decompress(comp, clen, out, n + 100, &got), ETL_XPRESS_OK);
    assert_int_equal(got, n);
    assert_memory_equal(out, data, n);

    if (libfwnt_available()) {
        uint8_t *fo = g_malloc(n + 100);
        size_t fgot = 0;
        assert_true(fwnt_decode(comp, clen, fo, n + 100, &fgot));
        assert_int_equal(fgot, n);
        assert_memory_equal(fo, data, n);
        g_free(fo);
    }
    g_free(out);
    g_free(comp);
    return clen;
}

/* ------------------------------------------------------------------------------------------
 * Tests: spec vectors
 * ------------------------------------------------------------------------------------------ */

/* MS-XCA §3.1 example 1: 26 literals, flag word 0x0000003f (26 zero bits, 6 set). */
static void test_spec_literals(void **state)
{
    (void)state;
    const char *abc = "abcdefghijklmnopqrstuvwxyz";
    uint8_t vec[30] = {0x3f, 0x00, 0x00, 0x00};
    memcpy(vec + 4, abc, 26);

    uint8_t out[64];
    size_t got = 0;
    assert_int_equal(etl_xpress_decompress(vec, sizeof vec, out, 26, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 26);
    assert_memory_equal(out, abc, 26);
    /* with room to spare the set flag bits end the stream */
    assert_int_equal(etl_xpress_decompress(vec, sizeof vec, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 26);

    uint8_t comp[64];
    assert_true(etl_xpress_bound(26) <= sizeof comp);
    size_t clen = etl_xpress_compress((const uint8_t *)abc, 26, comp);
    assert_int_equal(clen, sizeof vec);
    assert_memory_equal(comp, vec, sizeof vec);

    if (libfwnt_available()) {
        size_t fgot = 0;
        assert_true(fwnt_decode(vec, sizeof vec, out, sizeof out, &fgot));
        assert_int_equal(fgot, 26);
        assert_memory_equal(out, abc, 26);
    }
}

/* MS-XCA §3.1 example 2: "abc" x 100 (300 bytes) -> ff ff ff 1f 61 62 63 17 00 0f ff 26 01:
 * three literals, then one match offset 3 length 297: u16 0x0017 (offset-1 = 2, L = 7),
 * nibble 15, u8 255, u16 0x0126 = 294 = length-3. */
static void test_spec_match(void **state)
{
    (void)state;
    static const uint8_t vec[] = {0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63,
                                  0x17, 0x00, 0x0f, 0xff, 0x26, 0x01};
    uint8_t want[300];
    for (int i = 0; i < 300; i++) want[i] = (uint8_t)("abc"[i % 3]);

    uint8_t out[400];
    size_t got = 0;
    assert_int_equal(etl_xpress_decompress(vec, sizeof vec, out, 300, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 300);
    assert_memory_equal(out, want, 300);
    assert_int_equal(etl_xpress_decompress(vec, sizeof vec, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 300);
    /* one byte short of the match: copy what fits */
    assert_int_equal(etl_xpress_decompress(vec, sizeof vec, out, 299, &got), ETL_XPRESS_OUTPUT_FULL);
    assert_int_equal(got, 299);
    assert_memory_equal(out, want, 299);

    uint8_t comp[400];
    size_t clen = etl_xpress_compress(want, 300, comp);
    assert_int_equal(clen, sizeof vec);
    assert_memory_equal(comp, vec, sizeof vec);

    if (libfwnt_available()) {
        size_t fgot = 0;
        assert_true(fwnt_decode(vec, sizeof vec, out, sizeof out, &fgot));
        assert_int_equal(fgot, 300);
        assert_memory_equal(out, want, 300);
    }
}

/* Exact encodings at every length-form boundary (hand-derived from MS-XCA §2.3). */
static void test_length_escapes_exact(void **state)
{
    (void)state;
    static const struct {
        uint32_t len;
        uint8_t bytes[10];
        size_t n;
    } cases[] = {
        {3,      {0x00, 0x00}, 2},                                  /* L = 0 */
        {9,      {0x06, 0x00}, 2},                                  /* L = 6 */
        {10,     {0x07, 0x00, 0x00}, 3},                            /* nibble 0 */
        {24,     {0x07, 0x00, 0x0e}, 3},                            /* nibble 14 */
        {25,     {0x07, 0x00, 0x0f, 0x00}, 4},                      /* nibble 15, u8 0 */
        {279,    {0x07, 0x00, 0x0f, 0xfe}, 4},                      /* u8 254 */
        {280,    {0x07, 0x00, 0x0f, 0xff, 0x15, 0x01}, 6},          /* u16 277 = len-3 */
        {65538,  {0x07, 0x00, 0x0f, 0xff, 0xff, 0xff}, 6},          /* u16 65535 */
        {65539,  {0x07, 0x00, 0x0f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}, 10}, /* u32 65536 */
    };
    for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
        Builder b;
        b_init(&b);
        b_lit(&b, 'x');
        b_match(&b, 1, cases[c].len);
        b_finish(&b);
        /* flag word: literal, match, then 30 set terminator bits = 0x7fffffff */
        assert_int_equal(b.s->len, 4 + 1 + cases[c].n);
        assert_int_equal(b.s->data[0] | b.s->data[1] << 8 | b.s->data[2] << 16 | (uint32_t)b.s->data[3] << 24,
                         0x7fffffffu);
        assert_memory_equal(b.s->data + 5, cases[c].bytes, cases[c].n);

        size_t n = cases[c].len + 1;
        uint8_t *out = g_malloc(n + 64);
        size_t got = 0;
        assert_int_equal(etl_xpress_decompress(b.s->data, b.s->len, out, n + 64, &got), ETL_XPRESS_OK);
        assert_int_equal(got, n);
        for (size_t i = 0; i < n; i++) assert_int_equal(out[i], 'x');
        if (libfwnt_available() && cases[c].len <= 32771) {
            size_t fgot = 0;
            assert_true(fwnt_decode(b.s->data, b.s->len, out, n + 64, &fgot));
            assert_int_equal(fgot, n);
            for (size_t i = 0; i < n; i++) assert_int_equal(out[i], 'x');
        }
        /* the compressor picks the same encoding */
        uint8_t *data = g_malloc(n);
        memset(data, 'x', n);
        uint8_t *comp = g_malloc(etl_xpress_bound(n));
        size_t clen = etl_xpress_compress(data, n, comp);
        if (cases[c].len <= 32771) {
            assert_int_equal(clen, b.s->len);
            assert_memory_equal(comp, b.s->data, clen);
        }
        g_free(comp);
        g_free(data);
        g_free(out);
        b_free(&b);
    }
}

/* Two extended matches share one byte: low nibble for the first, high for the second. */
static void test_shared_half_byte(void **state)
{
    (void)state;
    Builder b;
    b_init(&b);
    b_lits(&b, "0123456789");
    b_match(&b, 10, 12);   /* nibble 2, new byte */
    b_lit(&b, '!');
    b_match(&b, 5, 20);    /* nibble 10, high half of the same byte */
    b_match(&b, 3, 40);    /* nibble 15 + u8 15, new byte */
    b_match(&b, 7, 9);     /* no nibble */
    b_match(&b, 2, 10);    /* nibble 0 in the high half of the previous byte */
    b_finish(&b);
    /* 16 items: 10 literals, match, literal, 4 matches */
    uint32_t flags = b.s->data[0] | b.s->data[1] << 8 | b.s->data[2] << 16 | (uint32_t)b.s->data[3] << 24;
    assert_int_equal(flags, 0x002fffffu);  /* 10 zeros, 1, 0, 1 1 1 1, then 16 set bits */
    static const uint8_t tail[] = {
        0x4f, 0x00, 0xa2,                   /* match off 10 (9<<3|7), shared byte: 2 | 10<<4 */
        '!',
        0x27, 0x00,                         /* off 5: (4<<3)|7, uses the high nibble */
        0x17, 0x00, 0x0f, 0x0f,             /* off 3, new shared byte (15), u8 40-25 = 15 */
        0x36, 0x00,                         /* off 7 len 9: (6<<3)|6 */
        0x0f, 0x00,                         /* off 2 len 10: (1<<3)|7, high nibble 0 */
    };
    assert_int_equal(b.s->len, 4 + 10 + sizeof tail);
    assert_memory_equal(b.s->data + 14, tail, sizeof tail);

    uint8_t out[256];
    size_t got = 0;
    assert_int_equal(etl_xpress_decompress(b.s->data, b.s->len, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, b.want->len);
    assert_memory_equal(out, b.want->data, got);
    assert_int_equal(got, 10 + 12 + 1 + 20 + 40 + 9 + 10);
    if (libfwnt_available()) {
        size_t fgot = 0;
        assert_true(fwnt_decode(b.s->data, b.s->len, out, sizeof out, &fgot));
        assert_int_equal(fgot, b.want->len);
        assert_memory_equal(out, b.want->data, fgot);
    }
    /* the compressor reproduces the same shared-byte layout on the same data */
    uint8_t comp[256];
    size_t clen = etl_xpress_compress(b.want->data, b.want->len, comp);
    size_t rgot = 0;
    assert_int_equal(etl_xpress_decompress(comp, clen, out, b.want->len, &rgot), ETL_XPRESS_OK);
    assert_int_equal(rgot, b.want->len);
    assert_memory_equal(out, b.want->data, rgot);
    b_free(&b);
}

/* ------------------------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------------------------ */
static void test_round_trips(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 8191, 8192, 65536, 1u << 20};
    for (int k = 0; k < IN_KINDS_; k++) {
        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
            size_t n = sizes[i];
            uint8_t *data = g_malloc(n + 1);
            fill_input(data, n, (InputKind)k);
            size_t clen = round_trip(data, n);
            if (n == (1u << 20))
                printf("# %-10s 1 MiB -> %zu bytes (%.1f%%)\n", kind_names[k], clen, 100.0 * clen / n);
            if (n >= 8192 && k == IN_ZERO) assert_true(clen < n / 100);
            if (n >= 8192 && k == IN_REPETITIVE) assert_true(clen < n / 4);
            if (n >= 8192 && k == IN_TRACE) assert_true(clen < n * 3 / 4);
            if (k == IN_RANDOM) assert_true(clen <= etl_xpress_bound(n));
            g_free(data);
        }
    }
}

/* Runs of every length around the escape boundaries, at several offsets, plus long runs
 * that need the longest matches (and several of them in a row). */
static void test_round_trip_long_matches(void **state)
{
    (void)state;
    static const size_t lens[] = {3, 4, 7, 9, 10, 11, 21, 22, 23, 24, 25, 26, 277, 278, 279, 280,
                                  281, 282, 1000, 32770, 32771, 32772, 65535, 65536, 65537,
                                  65538, 65539, 65540, 100000, 300000};
    static const size_t periods[] = {1, 2, 3, 7, 8, 15, 16, 17, 100, 8192};
    for (size_t p = 0; p < G_N_ELEMENTS(periods); p++) {
        for (size_t l = 0; l < G_N_ELEMENTS(lens); l++) {
            size_t per = periods[p], n = per + lens[l] + 5;
            uint8_t *d = g_malloc(n);
            for (size_t i = 0; i < per; i++) d[i] = (uint8_t)rng_next();
            for (size_t i = per; i < per + lens[l]; i++) d[i] = d[i - per];
            for (size_t i = per + lens[l]; i < n; i++) d[i] = (uint8_t)rng_next();
            round_trip(d, n);
            g_free(d);
        }
    }
}

/* The decoder on builder streams with lengths beyond what the compressor emits (u32). */
static void test_decode_u32_lengths(void **state)
{
    (void)state;
    static const uint64_t lens[] = {65539, 70000, 1u << 20, (1u << 24) + 7};
    for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
        Builder b;
        b_init(&b);
        b_lits(&b, "pattern-");
        b_match(&b, 8, lens[i]);
        b_match(&b, 3, 30);
        b_lit(&b, 'Z');
        b_finish(&b);
        size_t n = b.want->len;
        uint8_t *out = g_malloc(n + 64);
        size_t got = 0;
        assert_int_equal(etl_xpress_decompress(b.s->data, b.s->len, out, n, &got), ETL_XPRESS_OK);
        assert_int_equal(got, n);
        assert_memory_equal(out, b.want->data, n);
        assert_int_equal(etl_xpress_decompress(b.s->data, b.s->len, out, n + 64, &got), ETL_XPRESS_OK);
        assert_int_equal(got, n);
        g_free(out);
        b_free(&b);
    }
}

/* ------------------------------------------------------------------------------------------
 * Real traces: every compressed buffer through both decoders, then recompressed.
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    const char *file;
    unsigned compressed_buffers;   /* counted by walking the file (python, at authoring) */
} TraceCase;

static const TraceCase trace_cases[] = {
    {"win8-x64-compressed-net452.etl", 359},
    {"win11-x64-selfdescribing-compressed.etl", 2},
    {"win10-x86-small-32bit-compressed.etl", 1},
};

static char *traces_dir(void)
{
    const char *shared = g_getenv("ETLA_SHARED_DIR");
    if (!shared || !*shared) return NULL;
    char *dir = g_build_filename(shared, "traces", NULL);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_free(dir);
        return NULL;
    }
    return dir;
}

typedef void (*BufferFn)(const uint8_t *comp, size_t clen, size_t expect, void *ctx);

/* Walk a trace by BufferSize; call fn for each compressed buffer; return their count. */
static unsigned walk_compressed(const uint8_t *d, size_t size, BufferFn fn, void *ctx)
{
    size_t off = 0;
    unsigned nc = 0;
    while (size - off >= ETL_BUFFER_HEADER_SIZE) {
        const uint8_t *h = d + off;
        uint32_t bsize = etl_rd32(h), saved = etl_rd32(h + 4), used = etl_rd32(h + 0x30);
        uint16_t flag = etl_rd16(h + 0x34);
        assert_true(bsize >= ETL_BUFFER_HEADER_SIZE);
        assert_true(bsize <= size - off);
        if (flag & ETL_BUFFER_FLAG_COMPRESSED) {
            uint32_t ext = MAX(saved, used);
            assert_true(ext > ETL_BUFFER_HEADER_SIZE && ext <= ETL_MAX_BUFFER_SIZE);
            fn(h + ETL_BUFFER_HEADER_SIZE, bsize - ETL_BUFFER_HEADER_SIZE, ext - ETL_BUFFER_HEADER_SIZE, ctx);
            nc++;
        }
        off += bsize;
    }
    assert_int_equal(off, size);   /* the walk lands exactly on the end of the file */
    return nc;
}

typedef struct { uint64_t bytes_in, bytes_out, bytes_ours; unsigned exact_end; } RealStats;

static void check_real_buffer(const uint8_t *comp, size_t clen, size_t expect, void *ctx)
{
    RealStats *rs = ctx;
    uint8_t *out = g_malloc(expect + 64);
    size_t got = 0;
    EtlXpressStatus st = etl_xpress_decompress(comp, clen, out, expect, &got);
    assert_int_equal(st, ETL_XPRESS_OK);
    assert_int_equal(got, expect);
    assert_true(out[3] == 0xc0 || out[3] == 0x90);

    /* Given more room the stream still ends at the buffer's size: Windows terminates it like
     * MS-XCA §2.3 (unused flag bits set; a trailing all-ones word when the last word was
     * full), and the compressed bytes run exactly to BufferSize. */
    uint8_t *big = g_malloc(expect + 4096);
    size_t bgot = 0;
    assert_int_equal(etl_xpress_decompress(comp, clen, big, expect + 4096, &bgot), ETL_XPRESS_OK);
    assert_int_equal(bgot, expect);
    assert_memory_equal(big, out, expect);
    rs->exact_end++;
    g_free(big);

    if (libfwnt_available()) {
        uint8_t *fo = g_malloc(expect + 64);
        size_t fgot = 0;
        assert_true(fwnt_decode(comp, clen, fo, expect, &fgot));
        assert_int_equal(fgot, expect);
        assert_memory_equal(fo, out, expect);
        g_free(fo);
    }
    /* recompress the image and round-trip it through both decoders */
    rs->bytes_ours += round_trip(out, expect);
    rs->bytes_in += clen;
    rs->bytes_out += expect;
    g_free(out);
}

static void test_real_traces(void **state)
{
    (void)state;
    char *dir = traces_dir();
    if (!dir) {
        printf("# SKIP: no traces directory (ETLA_SHARED_DIR=%s); the real-trace oracle did not run\n",
               g_getenv("ETLA_SHARED_DIR") ? g_getenv("ETLA_SHARED_DIR") : "(unset)");
        skip();
    }
    if (!libfwnt_available())
        printf("# libfwnt not available: real buffers checked against sizes/markers only\n");
    for (size_t i = 0; i < G_N_ELEMENTS(trace_cases); i++) {
        char *path = g_build_filename(dir, trace_cases[i].file, NULL);
        gchar *data = NULL;
        gsize size = 0;
        GError *err = NULL;
        if (!g_file_get_contents(path, &data, &size, &err))
            fail_msg("%s: %s", path, err->message);
        RealStats rs = {0};
        unsigned nc = walk_compressed((const uint8_t *)data, size, check_real_buffer, &rs);
        assert_int_equal(nc, trace_cases[i].compressed_buffers);
        printf("# %s: %u compressed buffers, %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
               " bytes (etl_xpress_compress: %" G_GUINT64_FORMAT "), %u end exactly with room"
               " to spare%s\n", trace_cases[i].file, nc, rs.bytes_in, rs.bytes_out,
               rs.bytes_ours, rs.exact_end, libfwnt_available() ? ", identical to libfwnt" : "");
        g_free(data);
        g_free(path);
    }
    g_free(dir);
}

/* ------------------------------------------------------------------------------------------
 * Adversarial inputs
 * ------------------------------------------------------------------------------------------ */

/* Every prefix of a stream with every feature: exact status and output.  The short
 * stream runs the decoder's careful loop only, the long one also its fast loop and every
 * hand-over between the two. */
static void test_truncation_every_byte(void **state)
{
    (void)state;
    static const int reps[] = {1, 40, 0};
    for (size_t r = 0; r < G_N_ELEMENTS(reps); r++) {
        Builder b;
        if (reps[r]) {
            build_feature_stream(&b, reps[r]);
        } else {
            /* whole flag words of the longest match encoding: the fast loop's input
             * margin must cover 32 of them */
            b_init(&b);
            b_lits(&b, "0123456789");
            for (int i = 0; i < 32 * 4; i++) b_match_form(&b, 1 + i % 10, 25 + i % 7, true);
            b_lits(&b, "end");
            b_finish(&b);
            assert_true(b.s->len > 4 * 32 * 9);
        }
        if (reps[r] != 1) assert_true(b.s->len > 1000);
        size_t total = b.want->len;
        uint8_t *out = g_malloc(total + 64), *rout = g_malloc(total + 64);
        for (size_t k = 0; k <= b.s->len; k++) {
            /* the prefix in an exact-size allocation so ASan catches any over-read */
            uint8_t *in = g_malloc(k ? k : 1);
            memcpy(in, b.s->data, k);
            size_t want_out = 0, got = SIZE_MAX;
            EtlXpressStatus want = b_expect_prefix(&b, k, &want_out);
            EtlXpressStatus st = etl_xpress_decompress(in, k, out, total + 64, &got);
            if (st != want || got != want_out)
                fail_msg("reps %d prefix %zu: status %s (want %s), out %zu (want %zu)", reps[r], k,
                         etl_xpress_status_name(st), etl_xpress_status_name(want), got, want_out);
            assert_memory_equal(out, b.want->data, got);
            size_t rgot = 0;
            assert_int_equal(ref_decode(in, k, rout, total + 64, &rgot), want);
            assert_int_equal(rgot, want_out);
            g_free(in);
        }
        size_t all = 0;
        assert_int_equal(b_expect_prefix(&b, b.s->len, &all), ETL_XPRESS_OK);
        assert_int_equal(all, total);
        g_free(out);
        g_free(rout);
        b_free(&b);
    }
}

static void check_cap(const Builder *b, size_t cap)
{
    uint8_t *out = g_malloc(cap ? cap : 1);   /* exact size: ASan catches overruns */
    size_t want_out = 0, got = SIZE_MAX;
    EtlXpressStatus want = b_expect_cap(b, cap, &want_out);
    EtlXpressStatus st = etl_xpress_decompress(b->s->data, b->s->len, out, cap, &got);
    if (st != want || got != want_out)
        fail_msg("cap %zu: status %s (want %s), out %zu (want %zu)", cap,
                 etl_xpress_status_name(st), etl_xpress_status_name(want), got, want_out);
    assert_memory_equal(out, b->want->data, got);
    g_free(out);
}

/* Capacities from 0 up: OK at item boundaries, OUTPUT_FULL inside a match, output always
 * the exact prefix, nothing written past cap (exact-size allocations). */
static void test_every_capacity(void **state)
{
    (void)state;
    static const int reps[] = {1, 40};
    for (size_t r = 0; r < G_N_ELEMENTS(reps); r++) {
        Builder b;
        build_feature_stream(&b, reps[r]);
        size_t total = b.want->len;
        /* every cap up to 3000, then around every item boundary, then a coarse sweep */
        for (size_t cap = 0; cap <= MIN(total, (size_t)3000); cap++) check_cap(&b, cap);
        uint64_t o = 0;
        for (guint i = 0; i < b.items->len; i++) {
            o += g_array_index(b.items, Item, i).len;
            for (size_t c = o > 3 ? (size_t)o - 3 : 0; c <= o + 3 && c <= total + 1; c++)
                if (c > 3000) check_cap(&b, c);
        }
        for (size_t cap = 3001; cap <= total; cap += 1009) check_cap(&b, cap);
        b_free(&b);
    }
}

static void test_bad_offsets(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t got;
    /* a match first: nothing to refer to */
    static const uint8_t m0[] = {0x00, 0x00, 0x00, 0x80, 0x00, 0x00};
    got = SIZE_MAX;
    assert_int_equal(etl_xpress_decompress(m0, sizeof m0, out, sizeof out, &got), ETL_XPRESS_BAD_OFFSET);
    assert_int_equal(got, 0);
    /* one literal, then offset 2 */
    static const uint8_t m1[] = {0x00, 0x00, 0x00, 0x40, 'a', 0x08, 0x00};
    assert_int_equal(etl_xpress_decompress(m1, sizeof m1, out, sizeof out, &got), ETL_XPRESS_BAD_OFFSET);
    assert_int_equal(got, 1);
    /* offset == bytes produced is fine */
    static const uint8_t m2[] = {0x00, 0x00, 0x00, 0x20, 'a', 'b', 0x08, 0x00};
    assert_int_equal(etl_xpress_decompress(m2, sizeof m2, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(out, "ababa", 5);
    /* the largest offset, 8192, one byte too far: 8191 literals then a match */
    Builder b;
    b_init(&b);
    for (int i = 0; i < 8191; i++) b_lit(&b, (uint8_t)i);
    b_finish(&b);
    /* the last flag word holds 8191 % 32 = 31 literals; b_finish set its last bit, so the
     * decoder reads a match next: append offset 8192, length 3 */
    uint8_t m[2];
    wr16(m, 8191u << 3);
    g_byte_array_append(b.s, m, 2);
    uint8_t *o = g_malloc(9000);
    assert_int_equal(etl_xpress_decompress(b.s->data, b.s->len, o, 9000, &got), ETL_XPRESS_BAD_OFFSET);
    assert_int_equal(got, 8191);
    /* one more literal first makes it valid */
    b_free(&b);
    b_init(&b);
    for (int i = 0; i < 8192; i++) b_lit(&b, (uint8_t)(i * 7));
    b_match(&b, 8192, 5);
    b_finish(&b);
    assert_int_equal(etl_xpress_decompress(b.s->data, b.s->len, o, 9000, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 8197);
    assert_memory_equal(o, b.want->data, got);
    g_free(o);
    b_free(&b);
}

static void test_huge_and_bad_lengths(void **state)
{
    (void)state;
    uint8_t out[4096];
    size_t got;
    /* literal, then a match of u32 0xffffffff + 3 bytes: copies what fits */
    static const uint8_t h[] = {0xff, 0xff, 0xff, 0x7f, 'q', 0x07, 0x00, 0x0f, 0xff, 0x00, 0x00,
                                0xff, 0xff, 0xff, 0xff};
    got = 0;
    assert_int_equal(etl_xpress_decompress(h, sizeof h, out, sizeof out, &got), ETL_XPRESS_OUTPUT_FULL);
    assert_int_equal(got, sizeof out);
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(out[i], 'q');
    /* u16 length field below 15+7: MS-XCA says error */
    static const uint8_t s16[] = {0xff, 0xff, 0xff, 0x7f, 'q', 0x07, 0x00, 0x0f, 0xff, 0x15, 0x00};
    assert_int_equal(etl_xpress_decompress(s16, sizeof s16, out, sizeof out, &got), ETL_XPRESS_BAD_LENGTH);
    assert_int_equal(got, 1);
    /* 22 is the smallest legal value: length 25 */
    static const uint8_t ok16[] = {0xff, 0xff, 0xff, 0x7f, 'q', 0x07, 0x00, 0x0f, 0xff, 0x16, 0x00};
    assert_int_equal(etl_xpress_decompress(ok16, sizeof ok16, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 26);
    /* u32 below 22 */
    static const uint8_t s32[] = {0xff, 0xff, 0xff, 0x7f, 'q', 0x07, 0x00, 0x0f, 0xff, 0x00, 0x00,
                                  0x05, 0x00, 0x00, 0x00};
    assert_int_equal(etl_xpress_decompress(s32, sizeof s32, out, sizeof out, &got), ETL_XPRESS_BAD_LENGTH);
    assert_int_equal(got, 1);
    /* a huge match at a bad offset: the offset is checked first */
    static const uint8_t hb[] = {0xff, 0xff, 0xff, 0x7f, 'q', 0x0f, 0x00, 0x0f, 0xff, 0x00, 0x00,
                                 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(etl_xpress_decompress(hb, sizeof hb, out, sizeof out, &got), ETL_XPRESS_BAD_OFFSET);
    assert_int_equal(got, 1);
}

static void test_empty_and_zero_cap(void **state)
{
    (void)state;
    uint8_t out[16] = {0};
    size_t got = SIZE_MAX;
    static const uint8_t v[] = {0x3f, 0x00, 0x00, 0x00, 'a', 'b'};
    /* cap 0: nothing produced, whatever the input */
    assert_int_equal(etl_xpress_decompress(v, sizeof v, out, 0, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 0);
    assert_int_equal(etl_xpress_decompress(v, sizeof v, NULL, 0, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 0);
    /* empty input: ends at an item boundary */
    got = SIZE_MAX;
    assert_int_equal(etl_xpress_decompress(v, 0, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 0);
    assert_int_equal(etl_xpress_decompress(NULL, 0, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 0);
    /* 1..3 bytes: a partial flag word */
    for (size_t k = 1; k < 4; k++) {
        assert_int_equal(etl_xpress_decompress(v, k, out, sizeof out, &got), ETL_XPRESS_TRUNCATED_INPUT);
        assert_int_equal(got, 0);
    }
    /* a flag word alone: a literal with no byte ends the stream */
    assert_int_equal(etl_xpress_decompress(v, 4, out, sizeof out, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 0);
    /* trailing zero bytes after a stream decode as literals (no end marker) */
    uint8_t pad[30 + 8] = {0x3f, 0x00, 0x00, 0x00};
    memcpy(pad + 4, "abcdefghijklmnopqrstuvwxyz", 26);
    uint8_t big[64];
    /* the 6 set flag bits now read the zeros as matches (offset 1, length 3): 26 + 4*3 */
    assert_int_equal(etl_xpress_decompress(pad, sizeof pad, big, sizeof big, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 38);
    for (int i = 26; i < 38; i++) assert_int_equal(big[i], 'z');
    if (libfwnt_available()) {
        size_t fgot = 0;
        assert_true(fwnt_decode(pad, sizeof pad, big, sizeof big, &fgot));
        assert_int_equal(fgot, 38);
    }
    /* which is why callers cap the output at the known size */
    assert_int_equal(etl_xpress_decompress(pad, sizeof pad, big, 26, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 26);
    /* ... unless the padding is where a flag word is read */
    uint8_t pad2[4 + 32 + 8];
    memset(pad2, 0, sizeof pad2);
    for (int i = 0; i < 32; i++) pad2[4 + i] = (uint8_t)('A' + i);
    assert_int_equal(etl_xpress_decompress(pad2, sizeof pad2, big, sizeof big, &got), ETL_XPRESS_OK);
    assert_int_equal(got, 36);   /* 32 literals, then a zero flag word: 4 zero literals */
    /* the compressor on empty input: a single all-ones flag word */
    uint8_t comp[16];
    assert_int_equal(etl_xpress_compress(NULL, 0, comp), 4);
    static const uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(comp, ones, 4);
}

/* Differential test against the spec transcription on random and mutated streams. */
static void test_differential_random(void **state)
{
    (void)state;
    enum { ROUNDS = 20000 };
    uint8_t *src = g_malloc(4096), *comp = g_malloc(etl_xpress_bound(4096));
    uint8_t *b = g_malloc(70000);
    for (int r = 0; r < ROUNDS; r++) {
        size_t in_len, cap;
        uint8_t *in;
        if (r % 2 == 0) {
            in_len = rng_below(300);
            in = g_malloc(in_len ? in_len : 1);
            for (size_t i = 0; i < in_len; i++) in[i] = (uint8_t)rng_next();
            /* bias towards match flags and short offsets now and then */
            if (r % 4 == 0)
                for (size_t i = 0; i < in_len; i++)
                    if (rng_below(3) == 0) in[i] = (uint8_t)(rng_below(8) ? rng_below(0x30) : 0xff);
            cap = rng_below(3) == 0 ? rng_below(70000) : rng_below(2000);
        } else {
            size_t n = 1 + rng_below(4096);
            fill_input(src, n, rng_below(2) ? IN_TRACE : IN_REPETITIVE);
            size_t clen = etl_xpress_compress(src, n, comp);
            in_len = rng_below(4) == 0 ? rng_below((uint32_t)clen + 1) : clen;
            in = g_malloc(in_len ? in_len : 1);
            memcpy(in, comp, in_len);
            for (unsigned m = rng_below(4); m > 0 && in_len; m--)
                in[rng_below((uint32_t)in_len)] ^= (uint8_t)(1u << rng_below(8));
            cap = rng_below(2) ? n : rng_below(8000);
        }
        size_t ga = SIZE_MAX, gb = SIZE_MAX;
        uint8_t *a = g_malloc(cap ? cap : 1);   /* exact size: ASan catches overruns */
        EtlXpressStatus sa = etl_xpress_decompress(in, in_len, a, cap, &ga);
        EtlXpressStatus sb = ref_decode(in, in_len, b, cap, &gb);
        if (sa != sb || ga != gb)
            fail_msg("round %d: status %s/%s out %zu/%zu (in %zu cap %zu)", r,
                     etl_xpress_status_name(sa), etl_xpress_status_name(sb), ga, gb, in_len, cap);
        assert_true(ga <= cap);
        assert_memory_equal(a, b, ga);
        g_free(a);
        g_free(in);
    }
    g_free(b);
    g_free(src);
    g_free(comp);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(etl_xpress_status_name(ETL_XPRESS_OK), "ok");
    assert_string_equal(etl_xpress_status_name(ETL_XPRESS_TRUNCATED_INPUT), "truncated input");
    assert_string_equal(etl_xpress_status_name(ETL_XPRESS_BAD_OFFSET), "bad match offset");
    assert_string_equal(etl_xpress_status_name(ETL_XPRESS_BAD_LENGTH), "bad match length");
    assert_string_equal(etl_xpress_status_name(ETL_XPRESS_OUTPUT_FULL), "output full");
    assert_string_equal(etl_xpress_status_name((EtlXpressStatus)99), "unknown");
}

static void test_bound(void **state)
{
    (void)state;
    /* all-literal worst case: n + 4 per 32 items + the last flag word */
    for (size_t n = 0; n < 200; n++) {
        uint8_t d[200], c[300];
        for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(i * 37 + 11);  /* no 3-byte repeats */
        size_t clen = etl_xpress_compress(d, n, c);
        assert_int_equal(clen, n + 4 * (n / 32) + 4);
        assert_true(clen <= etl_xpress_bound(n));
    }
}

/* ------------------------------------------------------------------------------------------
 * Throughput (ETLA_XPRESS_BENCH=1): printed, never asserted.
 * ------------------------------------------------------------------------------------------ */
static double bench_decode(const uint8_t *comp, size_t clen, size_t n, uint8_t *out)
{
    size_t got = 0;
    gint64 t0 = g_get_monotonic_time(), t1;
    uint64_t bytes = 0;
    do {
        for (int i = 0; i < 8; i++) {
            etl_xpress_decompress(comp, clen, out, n, &got);
            bytes += got;
        }
        t1 = g_get_monotonic_time();
    } while (t1 - t0 < 500000);
    return bytes / ((t1 - t0) / 1e6) / 1e6;
}

typedef struct { GPtrArray *bufs; } BenchCtx;
typedef struct { uint8_t *comp; size_t clen, n; } BenchBuf;

static void collect_buffer(const uint8_t *comp, size_t clen, size_t expect, void *ctx)
{
    BenchCtx *bc = ctx;
    BenchBuf *bb = g_new0(BenchBuf, 1);
    bb->comp = g_malloc(clen);
    memcpy(bb->comp, comp, clen);
    bb->clen = clen;
    bb->n = expect;
    g_ptr_array_add(bc->bufs, bb);
}

static void test_bench(void **state)
{
    (void)state;
    /* real buffers */
    char *dir = traces_dir();
    if (dir) {
        char *path = g_build_filename(dir, trace_cases[0].file, NULL);
        gchar *data = NULL;
        gsize size = 0;
        if (g_file_get_contents(path, &data, &size, NULL)) {
            BenchCtx bc = { g_ptr_array_new() };
            walk_compressed((const uint8_t *)data, size, collect_buffer, &bc);
            uint8_t *out = g_malloc(ETL_MAX_BUFFER_SIZE);
            uint64_t total = 0, cin = 0;
            gint64 t0 = g_get_monotonic_time(), t1;
            int reps = 0;
            do {
                for (guint i = 0; i < bc.bufs->len; i++) {
                    BenchBuf *bb = bc.bufs->pdata[i];
                    size_t got = 0;
                    etl_xpress_decompress(bb->comp, bb->clen, out, bb->n, &got);
                    total += got;
                    cin += bb->clen;
                }
                reps++;
                t1 = g_get_monotonic_time();
            } while (t1 - t0 < 1000000);
            printf("# bench decode real %s (%u buffers, ratio %.1f%%): %.0f MB/s of output\n",
                   trace_cases[0].file, bc.bufs->len, 100.0 * cin / total,
                   total / ((t1 - t0) / 1e6) / 1e6);
            for (guint i = 0; i < bc.bufs->len; i++) {
                BenchBuf *bb = bc.bufs->pdata[i];
                g_free(bb->comp);
                g_free(bb);
            }
            g_ptr_array_unref(bc.bufs);
            g_free(out);
            g_free(data);
        }
        g_free(path);
        g_free(dir);
    } else {
        printf("# bench: no traces directory, real-buffer measurement not run\n");
    }
    /* synthetic, 1 MiB each, compressed by etl_xpress_compress */
    size_t n = 1u << 20;
    uint8_t *d = g_malloc(n), *c = g_malloc(etl_xpress_bound(n)), *o = g_malloc(n);
    for (int k = 0; k < IN_KINDS_; k++) {
        fill_input(d, n, (InputKind)k);
        gint64 t0 = g_get_monotonic_time();
        size_t clen = etl_xpress_compress(d, n, c);
        gint64 t1 = g_get_monotonic_time();
        double mbs = bench_decode(c, clen, n, o);
        printf("# bench %-10s 1 MiB: ratio %5.1f%%, decode %6.0f MB/s, compress %5.0f MB/s\n",
               kind_names[k], 100.0 * clen / n, mbs, n / ((t1 - t0 + 1) / 1e6) / 1e6);
    }
    g_free(d);
    g_free(c);
    g_free(o);
}

int main(void)
{
    /* ETLA_XPRESS_BENCH=1: the throughput measurement only (a benchmark, not a test) */
    if (g_getenv("ETLA_XPRESS_BENCH")) {
        const struct CMUnitTest bench[] = { cmocka_unit_test(test_bench) };
        return cmocka_run_group_tests_name("xpress-bench", bench, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_literals),
        cmocka_unit_test(test_spec_match),
        cmocka_unit_test(test_length_escapes_exact),
        cmocka_unit_test(test_shared_half_byte),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_round_trip_long_matches),
        cmocka_unit_test(test_decode_u32_lengths),
        cmocka_unit_test(test_real_traces),
        cmocka_unit_test(test_truncation_every_byte),
        cmocka_unit_test(test_every_capacity),
        cmocka_unit_test(test_bad_offsets),
        cmocka_unit_test(test_huge_and_bad_lengths),
        cmocka_unit_test(test_empty_and_zero_cap),
        cmocka_unit_test(test_differential_random),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests_name("xpress", tests, NULL, NULL);
}
