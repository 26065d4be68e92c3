/*
 * iter.c - readers: seek (segment table, then index, then a short walk over
 * batch headers) and next (check a batch whole, then hand out its records
 * in place). Iterators never take the writer's lock: they read the end a
 * segment publishes and never look past it.
 */
#include <stdlib.h>

#include "internal.h"

struct evlog_iter {
    evlog *log;
    evl_seg *seg;          /* pinned, or NULL */
    uint64_t pos;          /* position of the next batch in seg */
    uint64_t expect;       /* base offset the batch at pos must have */
    uint64_t next;         /* offset of the next record to return */
    uint64_t gen;          /* log->truncations when positioned */
    int in_batch;          /* records of a batch are being handed out */
    int from_index;        /* pos came from an index entry, not yet seen */
    evl_rec_cursor cur;
    uint8_t *buf;          /* decompressed payload */
    size_t buf_cap;
};

static void iter_release(evlog_iter *it)
{
    if (!it->seg)
        return;
    pthread_mutex_lock(&it->log->segs_mu);
    evl_seg_unpin(it->log, it->seg);
    pthread_mutex_unlock(&it->log->segs_mu);
    it->seg = NULL;
}

static int iter_position(evlog_iter *it, uint64_t offset)
{
    evlog *log = it->log;
    uint64_t start = atomic_load(&log->start_offset), end = atomic_load(&log->end_offset);
    uint64_t eoff;
    evl_seg *s;
    int rc;

    if (offset > end && atomic_load_explicit(&log->pending, memory_order_relaxed) &&
        offset <= atomic_load(&log->append_end)) {
        /* into the writer's own lingering appends: close their batch */
        if ((rc = evlog_flush(log)) < 0)
            return rc;
        end = atomic_load(&log->end_offset);
    }
    if (offset < start || offset > end)
        return evl_err(log, EVLOG_ERANGE, "offset %llu outside %llu..%llu",
                       (unsigned long long)offset, (unsigned long long)start,
                       (unsigned long long)end);
    pthread_mutex_lock(&log->segs_mu);
    s = evl_segs_find(log, offset);
    if (!s && log->nsegs == 0) {
        /* an empty log (read-only: no segment yet): wait at its end */
        pthread_mutex_unlock(&log->segs_mu);
        iter_release(it);
        it->next = offset;
        it->in_batch = 0;
        it->gen = atomic_load(&log->truncations);
        return 0;
    }
    if (!s) {
        pthread_mutex_unlock(&log->segs_mu);
        return evl_err(log, EVLOG_ERANGE, "offset %llu is in no segment",
                       (unsigned long long)offset);
    }
    if (s != it->seg) {
        if ((rc = evl_seg_pin(log, s)) < 0) {
            pthread_mutex_unlock(&log->segs_mu);
            return rc;
        }
        if (it->seg)
            evl_seg_unpin(log, it->seg);
        it->seg = s;
    }
    pthread_mutex_unlock(&log->segs_mu);
    it->pos = evl_index_lookup(s, offset, &eoff);
    it->expect = eoff;
    it->from_index = it->pos != EVL_SEG_HEADER_SIZE;
    it->next = offset;
    it->in_batch = 0;
    it->gen = atomic_load(&log->truncations);
    return 0;
}

int evlog_iter_new(evlog_iter **out, evlog *log, uint64_t offset)
{
    evlog_iter *it;
    int rc;
    if (!out)
        return EVLOG_EINVAL;
    *out = NULL;
    if (!log)
        return EVLOG_EINVAL;
    if (!(it = calloc(1, sizeof *it)))
        return evl_err(log, EVLOG_ENOMEM, "out of memory for an iterator");
    it->log = log;
    if ((rc = iter_position(it, offset)) < 0) {
        evlog_iter_free(it);
        return rc;
    }
    *out = it;
    return 0;
}

int evlog_iter_seek(evlog_iter *it, uint64_t offset)
{
    evlog_iter saved;
    int rc;
    if (!it)
        return EVLOG_EINVAL;
    saved = *it;
    if ((rc = iter_position(it, offset)) < 0) {
        /* keep the old position; the pinned segment did not change */
        it->pos = saved.pos;
        it->expect = saved.expect;
        it->next = saved.next;
    }
    return rc;
}

void evlog_iter_free(evlog_iter *it)
{
    if (!it)
        return;
    iter_release(it);
    free(it->buf);
    free(it);
}

/* Move to the segment after the current one, if the table has it yet.
 * Returns 1 when moved, 0 when there is none yet, or an error. */
static int next_segment(evlog_iter *it)
{
    evlog *log = it->log;
    uint64_t want = atomic_load(&it->seg->next_offset);
    evl_seg *s;
    int rc = 0;

    pthread_mutex_lock(&log->segs_mu);
    s = evl_segs_find(log, want);
    if (s && s != it->seg && s->base == want) {
        if ((rc = evl_seg_pin(log, s)) == 0) {
            evl_seg_unpin(log, it->seg);
            it->seg = s;
            it->pos = EVL_SEG_HEADER_SIZE;
            it->expect = s->base;
            it->from_index = 0;
            rc = 1;
        }
    }
    pthread_mutex_unlock(&log->segs_mu);
    return rc;
}

static int corrupt(evlog_iter *it, uint64_t pos, const char *why)
{
    return evl_err(it->log, EVLOG_ECORRUPT,
                   "%s/%s: corrupt batch at byte %llu (offset %llu expected): %s", it->log->dir,
                   it->seg->name, (unsigned long long)pos, (unsigned long long)it->expect, why);
}

int evlog_iter_next(evlog_iter *it, evlog_record *rec)
{
    evlog *log;
    evl_batch b;
    evl_check c;
    int r;

    if (!it || !rec)
        return EVLOG_EINVAL;
    log = it->log;
    if (it->next < atomic_load(&log->start_offset))
        return evl_err(log, EVLOG_ERANGE, "offset %llu is below the start of the log, %llu",
                       (unsigned long long)it->next,
                       (unsigned long long)atomic_load(&log->start_offset));
    if (atomic_load(&log->truncations) != it->gen) {
        /* records this iterator stood on may be gone: find its place again */
        if (it->next > atomic_load(&log->end_offset))
            return evl_err(log, EVLOG_ERANGE, "offset %llu was truncated away",
                           (unsigned long long)it->next);
        if ((r = iter_position(it, it->next)) < 0)
            return r;
    }
    if (!it->seg) {
        if (log->read_only && !(log->flags & EVLOG_OPEN_DAMAGED) && (r = evl_refresh(log)) < 0)
            return r;
        if (!log->nsegs)
            return 0;
        if ((r = iter_position(it, it->next)) < 0)
            return r;
        if (!it->seg)
            return 0;
    }
    for (;;) {
        evl_seg *s = it->seg;
        const uint8_t *payload;
        uint64_t end;
        size_t plen;

        if (it->in_batch) {
            r = evl_cursor_next(&it->cur, rec);
            if (r == 1) {
                if (rec->offset < it->next)
                    continue;
                it->next = rec->offset + 1;
                return 1;
            }
            it->in_batch = 0;
            if (r < 0)
                return corrupt(it, it->pos, evl_check_str(EVL_BAD_RECORDS));
        }
        end = evl_load(&s->end_pos);
        if (it->pos >= end) {
            if (atomic_load_explicit(&s->sealed, memory_order_acquire)) {
                if (it->pos < evl_load(&s->end_pos))
                    continue;
                if ((r = next_segment(it)) < 0)
                    return r;
                if (r > 0)
                    continue;
            }
            /* a read-only handle follows a writer in another process by
             * looking for what it appended since */
            /* (not past damage that the handle was opened up to) */
            if (!log->read_only) {
                /* the writer's own lingering appends are read by closing
                 * their batch */
                if (!atomic_load_explicit(&log->pending, memory_order_relaxed) ||
                    evlog_flush(log) < 0) /* a failed handle has none to close */
                    return 0;
                continue;
            }
            if (log->flags & EVLOG_OPEN_DAMAGED)
                return 0;
            if ((r = evl_refresh(log)) <= 0)
                return r;
            continue;
        }
        if (it->expect < it->next) {
            /* walking to the target of a seek: a batch wholly before it is
             * stepped over by a peek at its length and offsets; it is
             * neither returned nor trusted further */
            const uint8_t *map = s->map;
            uint64_t pos = it->pos, expect = it->expect, target = it->next;
            while (end - pos >= EVL_BATCH_HEADER_SIZE) {
                uint32_t blen = evl_ld32(map + pos + 8);
                uint64_t bbase = evl_ld64(map + pos + 16);
                uint64_t blast = bbase + evl_ld32(map + pos + 28);
                if (bbase != expect || blast >= target || blen < EVL_BATCH_HEADER_SIZE + 2 ||
                    blen > end - pos)
                    break;
                expect = blast + 1;
                pos += blen;
            }
            if (pos != it->pos) {
                it->from_index = 0;
                it->pos = pos;
                it->expect = expect;
                continue;
            }
        }
        c = evl_batch_parse(&b, s->map + it->pos, end - it->pos);
        if (c == EVL_OK)
            c = evl_batch_verify(&b, s->map + it->pos);
        if (c == EVL_OK && b.base_offset != it->expect)
            c = EVL_BAD_OFFSET;
        if (c != EVL_OK) {
            if (it->from_index) {
                /* the index was wrong: it is a cache, walk from the start */
                it->from_index = 0;
                it->pos = EVL_SEG_HEADER_SIZE;
                it->expect = s->base;
                continue;
            }
            if (atomic_load(&log->truncations) != it->gen)
                return evlog_iter_next(it, rec);
            return corrupt(it, it->pos, evl_check_str(c));
        }
        it->from_index = 0;
        payload = s->map + it->pos + EVL_BATCH_HEADER_SIZE;
        plen = b.length - EVL_BATCH_HEADER_SIZE;
        if ((b.attributes & EVL_ATTR_COMPRESSION_MASK) == EVL_COMP_LZ4) {
            uint32_t raw = evl_lz4_raw_len(payload, plen);
            long got;
            if (raw > it->buf_cap) {
                uint8_t *nb = realloc(it->buf, raw);
                if (!nb)
                    return evl_err(log, EVLOG_ENOMEM, "out of memory decompressing a batch");
                it->buf = nb;
                it->buf_cap = raw;
            }
            if ((got = evl_lz4_unpack(it->buf, it->buf_cap, payload, plen)) < 0)
                return corrupt(it, it->pos, "LZ4 payload does not decompress");
            payload = it->buf;
            plen = (size_t)got;
        }
        evl_cursor_init(&it->cur, &b, payload, plen);
        it->in_batch = 1;
        it->expect = b.base_offset + b.last_delta + 1;
        it->pos += b.length;
    }
}
