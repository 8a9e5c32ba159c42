/* reader.c — walk events buffer by buffer and merge the per-CPU streams by time.
 *
 * Buffers are flushed per CPU, so file order is flush order, not event order (and circular
 * files wrap).  Each CPU's buffers, sorted by SequenceNumber, form one stream whose events are
 * in time order; a binary heap over the streams yields events ordered by
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
    int64_t        last_ts_in_buf;
    bool           have_ts_in_buf;
    uint16_t       cpu;
    bool           cur_compressed;
    uint8_t       *scratch;
    uint32_t       scratch_cap;
    /* the event returned next */
    EtlEvent       ev;
    int64_t        last_ts;   /* previous delivered timestamp in this stream */
    bool           have_last;
} Stream;

struct EtlReader {
    EtlTrace *t;
    EtlOrder  order;
    bool      file_is64;
    Stream   *streams;
    uint32_t  n_streams;
    Stream  **heap;
    uint32_t  heap_n;
    Stream   *current;
    uint64_t  disk_done;  /* on-disk bytes of buffers opened so far */
};

static inline uint32_t align8(uint32_t n) { return (n + 7u) & ~7u; }

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
        uint64_t len = MIN((uint64_t)bi->hdr.buffer_size, fsize - bi->file_offset);
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
                s->scratch_cap = MAX(want, t->hdr.buffer_size);
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
        if (s->have_ts_in_buf && tmp.timestamp < s->last_ts_in_buf) return false;
    }
    uint32_t nxt = pos + align8((uint32_t)n);
    if (nxt + 8 > s->end) return true;
    EtlEvent tmp2;
    return etl_event_parse(s->base + nxt, s->end - nxt, r->file_is64, &tmp2, NULL, NULL, 0) >= 0;
}

/* Parse the next event of the stream into s->ev.  false at the end of the stream. */
static bool stream_advance(EtlReader *r, Stream *s)
{
    EtlTrace *t = r->t;
    for (;;) {
        if (s->cur == UINT32_MAX) {
            if (!stream_open_next(r, s)) return false;
        }
        while (s->pos + 8 <= s->end) {
            EtlDiagCode code = 0;
            char detail[128];
            EtlEvent *ev = &s->ev;
            int n = etl_event_parse(s->base + s->pos, s->end - s->pos, r->file_is64, ev, &code, detail,
                                    sizeof detail);
            if (n == 0) break; /* fill: end of events */
            if (G_UNLIKELY(n < 0)) {
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
                continue;
            }
            ev->file_offset = s->cur_off + s->pos;
            ev->buffer_index = s->cur;
            ev->buffer_pos = s->pos;
            ev->cpu = s->cpu;
            uint32_t step = align8((uint32_t)n);
            s->pos = step <= s->end - s->pos ? s->pos + step : s->end;

            if (G_LIKELY(ev->has_timestamp)) {
                if (s->have_last && ev->timestamp < s->last_ts && r->order == ETL_ORDER_TIME)
                    t->stats.time_inversions++;
                s->last_ts = ev->timestamp;
                s->have_last = true;
                s->last_ts_in_buf = ev->timestamp;
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
        stream_close_buffer(r, s);
    }
}

static inline bool stream_less(const Stream *a, const Stream *b)
{
    if (a->ev.timestamp != b->ev.timestamp) return a->ev.timestamp < b->ev.timestamp;
    return a->cpu < b->cpu;
}

static void sift_down(EtlReader *r, uint32_t i)
{
    Stream **h = r->heap;
    uint32_t n = r->heap_n;
    Stream *x = h[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && stream_less(h[c + 1], h[c])) c++;
        if (!stream_less(h[c], x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
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

    r->heap = g_new(Stream *, MAX(r->n_streams, 1u));
    for (uint32_t k = 0; k < r->n_streams; k++) {
        Stream *s = &r->streams[k];
        s->cur = UINT32_MAX;
        if (stream_advance(r, s)) r->heap[r->heap_n++] = s;
    }
    for (uint32_t i = r->heap_n / 2; i-- > 0;) sift_down(r, i);
    return r;
}

const EtlEvent *etl_reader_next(EtlReader *r)
{
    if (r->current) {
        if (stream_advance(r, r->current)) {
            sift_down(r, 0);
        } else {
            r->heap[0] = r->heap[--r->heap_n];
            if (r->heap_n) sift_down(r, 0);
        }
        r->current = NULL;
    }
    if (r->heap_n == 0) return NULL;
    r->current = r->heap[0];
    return &r->current->ev;
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
    g_free(r->heap);
    g_free(r);
}
