/* reader.c — walk events buffer by buffer and merge the per-CPU streams by time.
 *
 * Buffers are flushed per CPU, so file order is flush order, not event order (and circular
 * files wrap).  Each CPU's buffers, sorted by SequenceNumber, form one stream whose events are
 * in time order; a tournament tree over the streams yields events ordered by
 * (timestamp, cpu, sequence, position) — a total, deterministic order (ETL_CONTAINER.md §1.7).
 *
 * Only the current buffer of each stream is live: the mapping pages of finished buffers are
 * released, and compressed buffers are inflated into one scratch buffer per stream.  Memory is
 * therefore bounded by (CPUs x buffer size) whatever the trace size.
 *
 * A corrupt event is a diagnostic; the walker then resynchronises inside the buffer at the next
 * 8-byte position where two events in a row parse and the timestamp is plausible, or gives up
 * the rest of the buffer.  Either way the skipped bytes are counted.
 */
#include "etl-private.h"

#include <stdio.h>

typedef struct {
    uint32_t      *bufs;      /* trace buffer indices, stream order */
    uint32_t       n_bufs, next;
    /* current buffer */
    const uint8_t *base;      /* buffer image: mapping or scratch (header included) */
    uint32_t       pos, end;
    uint32_t       cur;       /* trace buffer index of the current buffer, UINT32_MAX if none */
    uint64_t       cur_off, cur_len; /* file range to release when done */
    int64_t        buf_ts;    /* the buffer's flush timestamp (0 = unknown) */
    bool           have_ts_in_buf; /* an event of this buffer had a timestamp (then last_ts is it) */
    uint16_t       cpu;
    bool           cur_compressed;
    uint8_t       *scratch;
    uint32_t       scratch_cap;
    /* the event returned next */
    EtlEvent       ev;
    bool           ev_constants; /* see etl_event_parse_kernel */
    int64_t        last_ts;   /* previous delivered timestamp in this stream */
    bool           have_last;
} Stream;

/* Merge key of a stream's next event; cpu UINT32_MAX marks an exhausted stream (sorts last). */
typedef struct {
    int64_t  ts;
    uint32_t cpu;
} MergeKey;

static const MergeKey MERGE_DONE = { INT64_MAX, UINT32_MAX };

struct EtlReader {
    EtlTrace *t;
    EtlOrder  order;
    bool      file_is64;
    Stream   *streams;
    uint32_t  n_streams;
    /* The merge is a tournament ("loser") tree: leaves 0..k-1 are the streams (k a power of
     * two; leaves past n_streams are exhausted padding), inner node i (1..k-1) holds the
     * leaf that lost the match played there, and winner the leaf that won them all.  When the
     * winner's stream advances, only the log2(k) matches on its path to the root are
     * replayed, one comparison each (a binary heap needs two per level). */
    uint32_t  k;
    uint32_t *loser;      /* [k], index 0 unused */
    MergeKey *keys;       /* [k] */
    uint32_t  winner;
    bool      delivered;  /* the winner's event was returned: advance it on the next call */
    uint64_t  disk_done;  /* on-disk bytes of buffers opened so far */
    uint32_t  cur_stream; /* ETL_ORDER_CPU: the stream being read */
};

static inline uint32_t align8(uint32_t n) { return (n + 7u) & ~7u; }

/* Bytes ahead of a stream's position that the reader prefetches (measured: 256-512 gain ~7%
 * on a 512 MiB trace read from DRAM; docs/PERFORMANCE.md). */
#define ETL_PREFETCH_AHEAD 512

static void stream_close_buffer(EtlReader *r, Stream *s)
{
    if (s->cur == UINT32_MAX) return;
    etl_source_release(r->t->src, s->cur_off, (size_t)s->cur_len);
    s->cur = UINT32_MAX;
    s->base = NULL;
    s->pos = s->end = 0;
}

/* Open the stream's next usable buffer.  false when the stream has no more buffers. */
static bool stream_open_next(EtlReader *r, Stream *s)
{
    EtlTrace *t = r->t;
    uint64_t fsize = etl_source_size(t->src);
    while (s->next < s->n_bufs) {
        uint32_t bi_idx = s->bufs[s->next++];
        const EtlBufferInfo *bi = &g_array_index(t->buffers, EtlBufferInfo, bi_idx);
        uint64_t len = MIN(bi->span, fsize - bi->file_offset);
        const uint8_t *p = etl_source_get(t->src, bi->file_offset, (size_t)len);
        if (!p) continue;
        r->disk_done += len;
        s->cur = bi_idx;
        s->cur_off = bi->file_offset;
        s->cur_len = len;
        s->cpu = bi->hdr.cpu;
        s->buf_ts = bi->hdr.timestamp;
        s->have_ts_in_buf = false;
        s->cur_compressed = bi->compressed;
        s->pos = ETL_BUFFER_HEADER_SIZE;
        if (!bi->compressed) {
            s->base = p;
            s->end = bi->events_end;
        } else {
            uint32_t want = bi->events_end; /* header + uncompressed events */
            if (want > s->scratch_cap) {
                g_free(s->scratch);
                /* What the stream's buffers decode to (doubling, at most the session size), not the
                 * session size up front: every CPU stream holds one at once, and a file of many
                 * tiny buffers on distinct CPUs would otherwise reserve CPUs x 16 MiB. */
                s->scratch_cap = MAX(want, MIN(2 * s->scratch_cap, t->hdr.buffer_size));
                s->scratch = g_malloc(s->scratch_cap);
            }
            memcpy(s->scratch, p, ETL_BUFFER_HEADER_SIZE);
            size_t produced = 0;
            EtlXpressStatus st = etl_xpress_decompress(p + ETL_BUFFER_HEADER_SIZE, (size_t)len - ETL_BUFFER_HEADER_SIZE,
                                                       s->scratch + ETL_BUFFER_HEADER_SIZE,
                                                       want - ETL_BUFFER_HEADER_SIZE, &produced);
            if (st != ETL_XPRESS_OK || produced != want - ETL_BUFFER_HEADER_SIZE)
                etl_trace_diag(t, ETL_DIAG_DECOMPRESS, bi->file_offset, bi_idx, bi->hdr.cpu,
                               "compressed buffer decodes to %zu of %u bytes (%s); reading what decoded",
                               produced, want - ETL_BUFFER_HEADER_SIZE, etl_xpress_status_name(st));
            s->base = s->scratch;
            s->end = ETL_BUFFER_HEADER_SIZE + (uint32_t)produced;
        }
        if (s->end > ETL_BUFFER_HEADER_SIZE) t->stats.bytes_events += s->end - ETL_BUFFER_HEADER_SIZE;
        return true;
    }
    return false;
}

/* Does the event at pos parse, with a plausible timestamp, and is it followed by another
 * event or the end of events?  Used to resynchronise after a corrupt event. */
static bool resync_candidate(EtlReader *r, Stream *s, uint32_t pos)
{
    EtlEvent tmp;
    int n = etl_event_parse(s->base + pos, s->end - pos, r->file_is64, &tmp, NULL, NULL, 0);
    if (n <= 0) return false;
    if (tmp.has_timestamp) {
        if (s->buf_ts && tmp.timestamp > s->buf_ts) return false;
        if (s->have_ts_in_buf && tmp.timestamp < s->last_ts) return false;
    }
    uint32_t nxt = pos + align8((uint32_t)n);
    if (nxt + 8 > s->end) return true;
    EtlEvent tmp2;
    return etl_event_parse(s->base + nxt, s->end - nxt, r->file_is64, &tmp2, NULL, NULL, 0) >= 0;
}

/* The cases etl_event_parse_kernel leaves to the general parser: other header types, the
 * end-of-events fill, corrupt events (diagnosed, then resynchronised).  Returns the event size,
 * 0 at the end of the buffer's events, or -1 after skipping bytes (parse again at s->pos). */
static G_GNUC_NO_INLINE int stream_parse_general(EtlReader *r, Stream *s)
{
    EtlTrace *t = r->t;
    EtlDiagCode code = 0;
    char detail[128];
    s->ev_constants = false; /* the general parser writes those fields too */
    int n = etl_event_parse(s->base + s->pos, s->end - s->pos, r->file_is64, &s->ev, &code, detail, sizeof detail);
    if (n > 0) return n;
    if (n == 0) {
        /* The end-of-events fill (0xFFFFFFFF or 0).  Legitimate only when what is left of the
         * buffer's declared events is fill too: no real trace has fill before SavedOffset, so
         * fill followed by data is corruption (a zeroed marker would otherwise silently drop the
         * rest of the buffer). */
        const uint8_t *rest = s->base + s->pos;
        uint32_t left = s->end - s->pos;
        uint8_t f = rest[0];
        uint32_t i = 0;
        if (f == 0 || f == 0xFF)
            while (i < left && rest[i] == f) i++;
        if (i == left) return 0;
        code = ETL_DIAG_EVENT_MARKER;
        snprintf(detail, sizeof detail, "end-of-events marker 0x%08x %u bytes before the end of the buffer's events",
                 etl_rd32(rest), left);
    }
    uint32_t bad = s->pos, q = bad + 8;
    while (q + 8 <= s->end && !resync_candidate(r, s, q)) q += 8;
    bool found = q + 8 <= s->end;
    uint32_t skipped = (found ? q : s->end) - bad;
    etl_trace_diag(t, code, s->cur_off + bad, s->cur, s->cpu, "%s%s; %s %u bytes", detail,
                   s->cur_compressed ? " (offset within the decompressed buffer)" : "",
                   found ? "resynchronised after" : "skipped the rest of the buffer,", skipped);
    t->stats.events_skipped++;
    t->stats.bytes_skipped += skipped;
    s->pos = found ? q : s->end;
    return -1;
}

/* On to the stream's next buffer: once per buffer, kept out of the per-event path. */
static G_GNUC_NO_INLINE bool stream_next_buffer(EtlReader *r, Stream *s)
{
    stream_close_buffer(r, s);
    return stream_open_next(r, s);
}

/* Parse the next event of the stream into s->ev.  false at the end of the stream. */
static inline bool stream_advance(EtlReader *r, Stream *s)
{
    EtlTrace *t = r->t;
    EtlEvent *ev = &s->ev;
    int n;
    for (;;) {
        if (G_UNLIKELY(s->pos + 8 > s->end)) {
            /* end of this buffer's events (or no buffer yet) */
            if (!stream_next_buffer(r, s)) return false;
            continue;
        }
        n = etl_event_parse_kernel(s->base + s->pos, s->end - s->pos, ev, &s->ev_constants);
        if (G_LIKELY(n > 0)) break;
        n = stream_parse_general(r, s);
        if (n > 0) break;
        if (n == 0) s->pos = s->end; /* fill: end of events */
    }
    ev->file_offset = s->cur_off + s->pos;
    ev->buffer_index = s->cur;
    ev->buffer_pos = s->pos;
    ev->cpu = s->cpu;
    uint32_t step = align8((uint32_t)n);
    s->pos = step <= s->end - s->pos ? s->pos + step : s->end;
    /* Which stream yields next depends on this event's timestamp, so a load of the next event
     * cannot start early by itself; fetch this stream's bytes ahead of use (a hint: no fault,
     * even past the end of the mapping). */
    __builtin_prefetch(s->base + s->pos + ETL_PREFETCH_AHEAD);

    if (G_LIKELY(ev->has_timestamp)) {
        if (s->have_last && ev->timestamp < s->last_ts && r->order != ETL_ORDER_FILE)
            t->stats.time_inversions++;
        s->last_ts = ev->timestamp;
        s->have_last = true;
        s->have_ts_in_buf = true;
        if (ev->timestamp < t->stats.first_ts) t->stats.first_ts = ev->timestamp;
        if (ev->timestamp > t->stats.last_ts) t->stats.last_ts = ev->timestamp;
    } else {
        /* WPP message without a timestamp: keep its place in the stream. */
        ev->timestamp = s->have_last ? s->last_ts : t->hdr.ts0;
        t->stats.messages_without_time++;
    }
    t->stats.events++;
    t->stats.events_by_header[ev->kind]++;
    if (ev->kind <= ETL_HDR_PERFINFO && ev->group == 0 && ev->opcode == 0) t->stats.header_events++;
    if (ev->cpu > t->stats.max_cpu_seen) t->stats.max_cpu_seen = ev->cpu;
    return true;
}

/* (timestamp, cpu) order.  Only the rare tie branches; merge_replay turns the result into
 * masks, since which stream wins is unpredictable. */
static inline bool key_less(MergeKey a, MergeKey b)
{
    if (G_UNLIKELY(a.ts == b.ts)) return a.cpu < b.cpu;
    return a.ts < b.ts;
}

static inline MergeKey stream_key(const Stream *s)
{
    return (MergeKey){ s->ev.timestamp, s->cpu };
}

/* Play every match bottom-up (at the start). */
static void merge_build(EtlReader *r)
{
    uint32_t *win = g_new(uint32_t, 2 * r->k); /* winner of each subtree */
    for (uint32_t i = 0; i < r->k; i++) win[r->k + i] = i;
    for (uint32_t i = r->k - 1; i >= 1; i--) {
        uint32_t a = win[2 * i], b = win[2 * i + 1];
        bool b_wins = key_less(r->keys[b], r->keys[a]);
        win[i] = b_wins ? b : a;
        r->loser[i] = b_wins ? a : b;
    }
    r->winner = win[1];
    g_free(win);
}

/* Leaf w (the winner) has the new key wk: replay its path to the root and return the new
 * winner.  Branch-free: the running winner's key stays in registers and is selected with masks,
 * so each level costs a compare and a few ALU operations instead of a likely-mispredicted
 * branch. */
static inline uint32_t merge_replay(EtlReader *r, uint32_t w, MergeKey wk)
{
    for (uint32_t node = (w + r->k) >> 1; node; node >>= 1) {
        uint32_t l = r->loser[node];
        MergeKey lk = r->keys[l];
        uint32_t m = 0u - (uint32_t)key_less(lk, wk);  /* all ones when l wins */
        uint64_t m64 = 0u - (uint64_t)(m & 1u);
        uint32_t win = w ^ ((l ^ w) & m);
        r->loser[node] = l ^ w ^ win;                   /* whichever did not win */
        w = win;
        wk.ts = (int64_t)((uint64_t)wk.ts ^ (((uint64_t)lk.ts ^ (uint64_t)wk.ts) & m64));
        wk.cpu ^= (lk.cpu ^ wk.cpu) & m;
    }
    return w;
}

typedef struct { int64_t seq; uint64_t off; uint32_t idx; } SortKey;

static int sortkey_cmp(const void *a, const void *b)
{
    const SortKey *x = a, *y = b;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

EtlReader *etl_reader_new(EtlTrace *t, EtlOrder order)
{
    EtlReader *r = g_new0(EtlReader, 1);
    r->t = t;
    r->order = order;
    r->file_is64 = t->hdr.header_is64;
    uint32_t nb = t->buffers->len;

    if (order == ETL_ORDER_FILE) {
        /* one stream over every usable buffer in file order */
        r->n_streams = 1;
        r->streams = g_new0(Stream, 1);
        Stream *s = &r->streams[0];
        s->bufs = g_new(uint32_t, MAX(nb, 1u));
        for (uint32_t i = 0; i < nb; i++)
            if (g_array_index(t->buffers, EtlBufferInfo, i).usable) s->bufs[s->n_bufs++] = i;
    } else {
        /* Group usable buffers by CPU; order each group by (sequence, file offset). */
        uint32_t slots = t->cpu_slots;
        uint32_t *count = g_new0(uint32_t, slots);
        for (uint32_t i = 0; i < nb; i++) {
            const EtlBufferInfo *bi = &g_array_index(t->buffers, EtlBufferInfo, i);
            if (bi->usable) count[bi->hdr.cpu]++;
        }
        uint32_t *slot_stream = g_new(uint32_t, slots);
        for (uint32_t c = 0; c < slots; c++) {
            slot_stream[c] = count[c] ? r->n_streams++ : UINT32_MAX;
        }
        r->streams = g_new0(Stream, MAX(r->n_streams, 1u));
        SortKey **keys = g_new0(SortKey *, MAX(r->n_streams, 1u));
        for (uint32_t c = 0; c < slots; c++) {
            if (slot_stream[c] == UINT32_MAX) continue;
            keys[slot_stream[c]] = g_new(SortKey, count[c]);
        }
        for (uint32_t i = 0; i < nb; i++) {
            const EtlBufferInfo *bi = &g_array_index(t->buffers, EtlBufferInfo, i);
            if (!bi->usable) continue;
            Stream *s = &r->streams[slot_stream[bi->hdr.cpu]];
            keys[slot_stream[bi->hdr.cpu]][s->n_bufs++] = (SortKey){ bi->hdr.sequence, bi->file_offset, i };
        }
        for (uint32_t k = 0; k < r->n_streams; k++) {
            Stream *s = &r->streams[k];
            qsort(keys[k], s->n_bufs, sizeof(SortKey), sortkey_cmp);
            s->bufs = g_new(uint32_t, s->n_bufs);
            for (uint32_t j = 0; j < s->n_bufs; j++) s->bufs[j] = keys[k][j].idx;
            g_free(keys[k]);
        }
        g_free(keys);
        g_free(slot_stream);
        g_free(count);
    }

    if (order == ETL_ORDER_CPU) {
        for (uint32_t k = 0; k < r->n_streams; k++) r->streams[k].cur = UINT32_MAX;
        return r;
    }

    /* Streams are one per CPU, so keys (timestamp, cpu) never tie: the order is total. */
    r->k = 1;
    while (r->k < r->n_streams) r->k *= 2;
    r->loser = g_new0(uint32_t, r->k);
    r->keys = g_new(MergeKey, r->k);
    for (uint32_t k = 0; k < r->k; k++) {
        r->keys[k] = MERGE_DONE;
        if (k >= r->n_streams) continue;
        Stream *s = &r->streams[k];
        s->cur = UINT32_MAX;
        if (stream_advance(r, s)) r->keys[k] = stream_key(s);
    }
    merge_build(r);
    return r;
}

const EtlEvent *etl_reader_next(EtlReader *r)
{
    if (r->order == ETL_ORDER_CPU) {
        while (r->cur_stream < r->n_streams) {
            Stream *s = &r->streams[r->cur_stream];
            if (stream_advance(r, s)) return &s->ev;
            r->cur_stream++;
        }
        return NULL;
    }
    uint32_t w = r->winner;
    if (r->delivered) {
        Stream *s = &r->streams[w];
        MergeKey key = stream_advance(r, s) ? stream_key(s) : MERGE_DONE;
        r->keys[w] = key;
        w = r->winner = merge_replay(r, w, key);
        r->delivered = false;
    }
    if (r->keys[w].cpu == UINT32_MAX) return NULL; /* every stream is exhausted */
    r->delivered = true;
    return &r->streams[w].ev;
}

void etl_reader_progress(const EtlReader *r, uint64_t *done, uint64_t *total)
{
    *done = r->disk_done;
    *total = etl_source_size(r->t->src);
}

void etl_reader_free(EtlReader *r)
{
    if (!r) return;
    for (uint32_t k = 0; k < r->n_streams; k++) {
        stream_close_buffer(r, &r->streams[k]);
        g_free(r->streams[k].bufs);
        g_free(r->streams[k].scratch);
    }
    g_free(r->streams);
    g_free(r->loser);
    g_free(r->keys);
    g_free(r);
}
