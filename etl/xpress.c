/* xpress.c — [MS-XCA] "plain LZ77" (LZXPRESS, COMPRESSION_FORMAT_XPRESS) codec.
 *
 * Stream layout (MS-XCA §2.3/§2.4): a 32-bit LE flag word, then up to 32 items whose kinds
 * are given by the flag bits from bit 31 down: 0 = one literal byte, 1 = a match.  A match
 * is a u16 (offset-1)<<3 | L.  L < 7: length L+3.  L == 7: a 4-bit extension follows from
 * a "half byte" shared by two consecutive extended matches (low nibble first; the byte sits
 * where the first of them put it).  Nibble < 15: length nibble+10.  Nibble 15: a u8 follows;
 * u8 < 255: length u8+25.  u8 == 255: a u16 follows holding the whole length-3 (u16 == 0:
 * a u32 follows holding the whole length-3).  There is no end marker: a match flag with
 * the input exhausted ends the stream; the compressor sets the unused flag bits of the last
 * word so that this happens.
 *
 * The decoder is the hot path of reading compressed traces.  While at least XP_FAST_IN
 * input bytes remain it decodes whole flag words without input checks, copying literal runs
 * and matches with fixed 8/16/32-byte moves when the output has XP_SLACK bytes to spare;
 * the rest goes through a loop that checks every access.  Consequence for callers: bytes of
 * out beyond *out_len (but below cap) may have been overwritten.
 */
#include "etl.h"

#include <stdint.h>
#include <string.h>

#define XP_WINDOW     8192u  /* 13-bit offset field */
#define XP_MIN_MATCH  3u
/* Longest match the compressor emits.  The format allows 2^32+2, but libfwnt (the only
 * independent decoder we can test against) rejects matches longer than 32771 and does not
 * implement the u32 form; 32771 costs nothing measurable in ratio. */
#define XP_MAX_MATCH  32771u
/* Wild copies may write this many bytes past the end of an item (always inside cap). */
#define XP_SLACK      32u

#define XP_UNLIKELY(x) __builtin_expect(!!(x), 0)   /* gcc/clang, like the clz builtins */

static inline uint16_t xp_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return GUINT16_FROM_LE(v); }
static inline uint32_t xp_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return GUINT32_FROM_LE(v); }
static inline void xp_wr16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static inline void xp_wr32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }

/* Copy a match of len bytes from dst-off to dst when at least len+XP_SLACK bytes of output
 * remain after dst.  Overlapping matches (off < len) repeat the last off bytes. */
static inline void xp_copy_match_fast(uint8_t *dst, size_t off, size_t len)
{
    const uint8_t *src = dst - off;
    uint8_t *end = dst + len;
    if (off >= 16) {
        /* two 16-byte moves cover most matches without a loop branch */
        memcpy(dst, src, 16);
        memcpy(dst + 16, src + 16, 16);
        if (len > 32) {
            dst += 32; src += 32;
            do { memcpy(dst, src, 16); dst += 16; src += 16; } while (dst < end);
        }
    } else if (off >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + 8, src + 8, 8);
        if (len > 16) {
            dst += 16; src += 16;
            do { memcpy(dst, src, 8); dst += 8; src += 8; } while (dst < end);
        }
    } else if (off == 1) {
        memset(dst, src[0], len);
    } else {
        /* The output is periodic with period off, hence also with period d = k*off >= 8
         * once d-off bytes of the match exist: write those one by one (< 8, inside the
         * slack), then continue with 8-byte moves whose source trails by d.  The source of
         * those moves is the original src again. */
        size_t d = off;
        while (d < 8) d += off;
        size_t pre = d - off;
        for (size_t i = 0; i < pre; i++) dst[i] = src[i];
        dst += pre;
        while (dst < end) { memcpy(dst, src, 8); dst += 8; src += 8; }
    }
}

/* Match length from the u16 already read and the escape bytes at *pp (which advances).
 * Returns 0 for a u16/u32 length field below 15+7, which MS-XCA calls an error.  The caller
 * guarantees the escape bytes are present (up to 8 after the u16). */
static inline uint64_t xp_match_len_unchecked(unsigned v, const uint8_t **pp, const uint8_t **half)
{
    if ((v & 7) != 7)
        return (v & 7) + 3;
    const uint8_t *ip = *pp;
    unsigned nib;
    if (*half) {
        nib = **half >> 4;
        *half = NULL;
    } else {
        *half = ip;
        nib = *ip++ & 15u;
    }
    uint64_t len = nib + 10;
    if (nib == 15) {
        unsigned b = *ip++;
        len = b + 25;
        if (b == 255) {
            /* the u16 (or, when 0, the u32) holds the whole length-3 */
            uint64_t l = xp_rd16(ip);
            ip += 2;
            if (l == 0) {
                l = xp_rd32(ip);
                ip += 4;
            }
            len = l < 22 ? 0 : l + 3;
        }
    }
    *pp = ip;
    return len;
}

/* Worst-case input a flag word's items can touch: the word, 31 items of at most 10 bytes,
 * and a 32-byte literal copy. */
#define XP_FAST_IN 384u

EtlXpressStatus etl_xpress_decompress(const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t cap, size_t *out_len)
{
    if (cap == 0 || in_len == 0) {   /* nothing to do; also keeps NULL+0 arithmetic away */
        *out_len = 0;
        return ETL_XPRESS_OK;
    }
    const uint8_t *ip = in;
    const uint8_t *const iend = in + in_len;
    uint8_t *op = out;
    uint8_t *const oend = out + cap;
    const uint8_t *half = NULL;   /* byte whose high nibble the next extended match uses */
    uint32_t flags = 0;           /* careful loop: remaining flag bits, next one at bit 31 */
    unsigned nflags = 0;          /* how many of them are valid */
    EtlXpressStatus st = ETL_XPRESS_OK;
    uint64_t f;

    /* Fast loop: whole flag words while the input cannot run out inside one.  f holds the
     * word in its high half and a sentinel bit below it, so clz gives the literal run up to
     * the next match (or to the sentinel) and f == 1<<63 means the word is used up.  This
     * replaces the unpredictable literal-or-match branch with a 32-byte literal copy. */
    while ((size_t)(iend - ip) >= XP_FAST_IN) {
        f = (uint64_t)xp_rd32(ip) << 32 | 0x80000000u;
        ip += 4;
        for (;;) {
            if (XP_UNLIKELY((size_t)(oend - op) < 32))
                goto careful_mid_word;
            unsigned run = (unsigned)__builtin_clzll(f);
            memcpy(op, ip, 32);
            op += run;
            ip += run;
            f <<= run;
            if (f == 1ull << 63)
                break;
            f <<= 1;

            unsigned v = xp_rd16(ip);
            ip += 2;
            size_t off = (v >> 3) + 1;
            uint64_t len = xp_match_len_unchecked(v, &ip, &half);
            if (XP_UNLIKELY(len == 0 || off > (size_t)(op - out))) {
                st = len == 0 ? ETL_XPRESS_BAD_LENGTH : ETL_XPRESS_BAD_OFFSET;
                goto done;
            }
            size_t oleft = (size_t)(oend - op);
            if (!XP_UNLIKELY(len + XP_SLACK > oleft)) {
                xp_copy_match_fast(op, off, (size_t)len);
                op += len;
                continue;
            }
            size_t n = len <= oleft ? (size_t)len : oleft;
            const uint8_t *src = op - off;
            for (size_t i = 0; i < n; i++) op[i] = src[i];
            op += n;
            if (n < len) { st = ETL_XPRESS_OUTPUT_FULL; goto done; }
        }
    }
    goto careful;

careful_mid_word:
    flags = (uint32_t)(f >> 32);
    nflags = 63u - (unsigned)__builtin_ctzll(f);   /* the sentinel is the lowest set bit */

careful:
    /* Every access checked: the last XP_FAST_IN input bytes, the last bytes of output. */
    for (;;) {
        if (op == oend)
            break;                                   /* output full: done */
        if (nflags == 0) {
            size_t left = (size_t)(iend - ip);
            if (left < 4) {
                if (left)
                    st = ETL_XPRESS_TRUNCATED_INPUT; /* partial flag word */
                break;
            }
            flags = xp_rd32(ip);
            ip += 4;
            nflags = 32;
        }

        if (!(flags & 0x80000000u)) {
            /* A run of literals: all leading zero flag bits of this word at once. */
            unsigned run = flags ? (unsigned)__builtin_clz(flags) : 32;
            if (run > nflags) run = nflags;
            size_t ileft = (size_t)(iend - ip), oleft = (size_t)(oend - op);
            size_t n = run;
            if (n > ileft) n = ileft;
            if (n > oleft) n = oleft;
            if (n == 0)
                break;                               /* input ended before a literal */
            memcpy(op, ip, n);
            op += n;
            ip += n;
            flags = n < 32 ? flags << n : 0;
            nflags -= (unsigned)n;
            continue;
        }
        flags <<= 1;
        nflags--;

        /* Match. */
        size_t ileft = (size_t)(iend - ip);
        if (ileft < 2) {
            if (ileft)
                st = ETL_XPRESS_TRUNCATED_INPUT;
            break;                                   /* 0 left: the stream's end */
        }
        unsigned v = xp_rd16(ip);
        ip += 2;
        size_t off = (v >> 3) + 1;
        if ((v & 7) == 7) {
            /* make sure the escape bytes are all there before decoding them */
            size_t avail = ileft - 2, k = 0;
            unsigned nib;
            if (half) {
                nib = *half >> 4;
            } else {
                if (avail < 1) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
                nib = ip[k++] & 15u;
            }
            if (nib == 15) {
                if (avail < k + 1) { st = ETL_XPRESS_TRUNCATED_INPUT; break; }
                if (ip[k++] == 255) {
                    if (avail < k + 2 ||
                        (xp_rd16(ip + k) == 0 && avail < k + 2 + 4)) {
                        st = ETL_XPRESS_TRUNCATED_INPUT;
                        break;
                    }
                }
            }
        }
        uint64_t len = xp_match_len_unchecked(v, &ip, &half);
        if (len == 0) { st = ETL_XPRESS_BAD_LENGTH; break; }
        size_t have = (size_t)(op - out);
        if (off > have) { st = ETL_XPRESS_BAD_OFFSET; break; }
        size_t oleft = (size_t)(oend - op);
        if (len + XP_SLACK <= oleft) {
            xp_copy_match_fast(op, off, (size_t)len);
            op += len;
            continue;
        }
        /* Near the end of the output: exact byte copy, truncated at cap. */
        size_t n = len <= oleft ? (size_t)len : oleft;
        const uint8_t *src = op - off;
        for (size_t i = 0; i < n; i++) op[i] = src[i];
        op += n;
        if (n < len) { st = ETL_XPRESS_OUTPUT_FULL; break; }
    }
done:
    *out_len = (size_t)(op - out);
    return st;
}

/* ------------------------------------------------------------------------------------------
 * Compressor: greedy; one candidate per 3-byte hash (the last position seen), no chains.
 * ------------------------------------------------------------------------------------------ */
#define XP_HASH_BITS 12

static inline uint32_t xp_hash3(const uint8_t *p)
{
    uint32_t x = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (x * 2654435761u) >> (32 - XP_HASH_BITS);
}

size_t etl_xpress_bound(size_t in_len)
{
    /* Every match encodes in at most as many bytes as it covers, so the worst case is all
     * literals: in_len bytes plus one flag word per 32 items plus the final flag word. */
    return in_len + (in_len / 32) * 4 + 8;
}

size_t etl_xpress_compress(const uint8_t *in, size_t in_len, uint8_t *out)
{
    size_t table[1u << XP_HASH_BITS];      /* last position with that hash; SIZE_MAX: none */
    memset(table, 0xff, sizeof table);

    size_t ip = 0, op = 4, flag_pos = 0;
    size_t half_pos = SIZE_MAX;            /* output byte holding a free high nibble */
    uint32_t flags = 0;
    unsigned nflags = 0;

    while (ip < in_len) {
        size_t best = 0, off = 0;
        if (in_len - ip >= XP_MIN_MATCH) {
            uint32_t h = xp_hash3(in + ip);
            size_t cand = table[h];
            table[h] = ip;
            if (cand < ip && ip - cand <= XP_WINDOW &&
                in[cand] == in[ip] && in[cand + 1] == in[ip + 1] && in[cand + 2] == in[ip + 2]) {
                size_t max = in_len - ip;
                if (max > XP_MAX_MATCH) max = XP_MAX_MATCH;
                size_t n = 3;
                while (n + 8 <= max) {
                    uint64_t a, b;
                    memcpy(&a, in + cand + n, 8);
                    memcpy(&b, in + ip + n, 8);
                    if (a != b) break;
                    n += 8;
                }
                while (n < max && in[cand + n] == in[ip + n]) n++;
                best = n;
                off = ip - cand;
            }
        }

        if (best < XP_MIN_MATCH) {
            out[op++] = in[ip++];
            flags <<= 1;
        } else {
            size_t m = best - 3;
            uint16_t code = (uint16_t)((off - 1) << 3);
            if (m < 7) {
                xp_wr16(out + op, (uint16_t)(code | m));
                op += 2;
            } else {
                xp_wr16(out + op, (uint16_t)(code | 7));
                op += 2;
                m -= 7;
                unsigned nib = m < 15 ? (unsigned)m : 15;
                if (half_pos == SIZE_MAX) {
                    half_pos = op;
                    out[op++] = (uint8_t)nib;
                } else {
                    out[half_pos] |= (uint8_t)(nib << 4);
                    half_pos = SIZE_MAX;
                }
                if (m >= 15) {
                    m -= 15;
                    if (m < 255) {
                        out[op++] = (uint8_t)m;
                    } else {
                        /* u16 = whole length-3 (fits: XP_MAX_MATCH-3 < 65536, and >= 277,
                         * so never 0, which would announce a u32) */
                        out[op++] = 255;
                        xp_wr16(out + op, (uint16_t)(best - 3));
                        op += 2;
                    }
                }
            }
            /* Index the positions the match covers so later data can refer to them. */
            size_t end = ip + best;
            for (size_t p = ip + 1; p < end && in_len - p >= XP_MIN_MATCH; p++)
                table[xp_hash3(in + p)] = p;
            ip = end;
            flags = flags << 1 | 1;
        }

        if (++nflags == 32) {
            xp_wr32(out + flag_pos, flags);
            flag_pos = op;
            op += 4;
            flags = 0;
            nflags = 0;
        }
    }
    /* The last flag word: unused bits set, so a decoder without a length limit sees a match
     * flag with the input exhausted and stops (MS-XCA §2.3). */
    if (nflags == 0)
        flags = 0xffffffffu;
    else
        flags = flags << (32 - nflags) | ((1u << (32 - nflags)) - 1);
    xp_wr32(out + flag_pos, flags);
    return op;
}

const char *etl_xpress_status_name(EtlXpressStatus s)
{
    switch (s) {
    case ETL_XPRESS_OK:              return "ok";
    case ETL_XPRESS_TRUNCATED_INPUT: return "truncated input";
    case ETL_XPRESS_BAD_OFFSET:      return "bad match offset";
    case ETL_XPRESS_OUTPUT_FULL:     return "output full";
    case ETL_XPRESS_BAD_LENGTH:      return "bad match length";
    }
    return "unknown";
}
