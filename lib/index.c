/*
 * index.c - the sparse offset index of a segment: an in-memory array of
 * (offset, position) pairs, one per `interval` bytes of batches, saved to
 * NNN.index as a cache. Nothing in it is believed without a check: the file
 * is validated whole when loaded, and a reader checks the batch an entry
 * points at before using it.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

static int index_alloc_n(evl_seg *s, uint64_t cap)
{
    evl_index_entry *e = calloc((size_t)cap, sizeof *e);
    if (!e)
        return -1;
    free(s->idx);
    s->idx = e;
    s->idx_cap = cap;
    atomic_store(&s->idx_count, 0);
    s->idx_last_pos = EVL_SEG_HEADER_SIZE;
    return 0;
}

int evl_index_alloc(evl_seg *s, uint64_t capacity, uint32_t interval)
{
    /* an entry needs `interval` bytes of batches after the previous one, so
     * this bound is never passed and the array never moves under a reader */
    return index_alloc_n(s, capacity / interval + 2);
}

void evl_index_add(evl_seg *s, uint64_t offset, uint64_t pos)
{
    uint64_t n = atomic_load_explicit(&s->idx_count, memory_order_relaxed);
    if (n >= s->idx_cap)
        return;
    s->idx[n].offset = offset;
    s->idx[n].pos = pos;
    s->idx_last_pos = pos;
    evl_store(&s->idx_count, n + 1);
}

/* Fetch the lines where the batch of `offset` lies if the batches of `s`
 * are all alike: its bytes per offset so far put it there. The misses then
 * overlap the index's own; batches of mixed sizes only waste a prefetch. */
static void prefetch_guess(const evl_seg *s, uint64_t offset)
{
    uint64_t end = evl_load((_Atomic uint64_t *)&s->end_pos);
    uint64_t next = evl_load((_Atomic uint64_t *)&s->next_offset);
    double per;
    uint64_t p, stop, step;

    if (offset < s->base || offset >= next || end <= EVL_SEG_HEADER_SIZE)
        return;
    per = (double)(end - EVL_SEG_HEADER_SIZE) / (double)(next - s->base);
    p = EVL_SEG_HEADER_SIZE + (uint64_t)((double)(offset - s->base) * per);
    step = per < 64 ? 64 : (uint64_t)per;
    stop = p + 256 < end ? p + 256 : end;
    for (; p < stop; p += step)
        __builtin_prefetch(s->map + p);
}

uint64_t evl_index_lookup(const evl_seg *s, uint64_t offset, uint64_t *entry_off)
{
    const evl_index_entry *e = s->idx;
    uint64_t n = evl_load((_Atomic uint64_t *)&s->idx_count), lo = 0, hi = n;

    if (s->map)
        prefetch_guess(s, offset);

    /* offsets grow about evenly with entries: guess the place, then
     * narrow it by doubling steps around the guess; a random seek costs a
     * few cache misses instead of one per level of a binary search */
    if (n > 16 && offset > e[0].offset && offset < e[n - 1].offset) {
        uint64_t step = 1, g = (uint64_t)((double)(offset - e[0].offset) /
                                          (double)(e[n - 1].offset - e[0].offset) * (double)(n - 1));
        if (e[g].offset <= offset) {
            lo = g;
            while (lo + step < n && e[lo + step].offset <= offset) {
                lo += step;
                step *= 2;
            }
            hi = lo + step < n ? lo + step : n;
        } else {
            hi = g;
            while (hi >= step && e[hi - step].offset > offset) {
                hi -= step;
                step *= 2;
            }
            lo = hi >= step ? hi - step : 0;
        }
    }
    /* the last entry in [lo, hi) with entry.offset <= offset */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (e[mid].offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        *entry_off = s->base;
        return EVL_SEG_HEADER_SIZE;
    }
    *entry_off = e[lo - 1].offset;
    if (lo < n && s->map) {
        /* the walk from this entry to the batch of `offset` is a chain of
         * dependent loads, a cache miss each: fetch at once the headers it
         * will read, one per `step` bytes if the batches between the two
         * entries are alike, then the lines where the next entry's figures
         * put that batch */
        const evl_index_entry *a = &e[lo - 1], *b = &e[lo];
        uint64_t step = (b->pos - a->pos) / (b->offset - a->offset);
        uint64_t est = a->pos + (uint64_t)((double)(offset - a->offset) /
                                           (double)(b->offset - a->offset) *
                                           (double)(b->pos - a->pos));
        uint64_t p, near = est > a->pos + 128 ? est - 128 : a->pos;
        uint64_t stop = est + 256 < b->pos ? est + 256 : b->pos;
        if (step < 64)
            step = 64;
        for (p = a->pos + 16; p < near; p += step)
            __builtin_prefetch(s->map + p);
        for (p = near & ~(uint64_t)63; p < stop; p += 64)
            __builtin_prefetch(s->map + p);
    }
    return e[lo - 1].pos;
}

void evl_index_truncate(evl_seg *s, uint64_t pos)
{
    uint64_t n = atomic_load(&s->idx_count);
    while (n > 0 && s->idx[n - 1].pos >= pos)
        n--;
    evl_store(&s->idx_count, n);
    s->idx_last_pos = n ? s->idx[n - 1].pos : EVL_SEG_HEADER_SIZE;
    if (s->idx_written > n)
        s->idx_written = 0;
}

/*
 * Save the index of `s` to NNN.index, through a temporary file renamed over
 * the old one. Not synced: losing it costs a rebuild, never data. Returns 0
 * or a negative evlog code (the caller may ignore it).
 */
int evl_index_write(evlog *log, evl_seg *s)
{
    const struct evlog_io *io = log->io;
    char name[EVL_NAME_MAX], tmp[EVL_NAME_MAX + 8];
    uint64_t n = atomic_load(&s->idx_count);
    size_t bytes = (size_t)n * EVL_INDEX_ENTRY_SIZE;
    uint8_t *buf;
    evl_index_header h;
    uint64_t i;
    long w;
    int fd, rc = 0;

    if (log->read_only || !s->idx || (n == s->idx_written && n > 0))
        return 0;
    if (!(buf = malloc(EVL_INDEX_HEADER_SIZE + bytes)))
        return EVLOG_ENOMEM;
    for (i = 0; i < n; i++) {
        evl_st64(buf + EVL_INDEX_HEADER_SIZE + i * 16, s->idx[i].offset);
        evl_st64(buf + EVL_INDEX_HEADER_SIZE + i * 16 + 8, s->idx[i].pos);
    }
    h.interval = log->index_interval;
    h.base_offset = s->base;
    h.count = n;
    h.covered_end = atomic_load(&s->end_pos);
    h.entries_checksum = evl_hash(buf + EVL_INDEX_HEADER_SIZE, bytes, EVL_SEED_INDEX);
    evl_index_header_encode(buf, &h);
    evl_name(name, s->base, EVL_INDEX_SUFFIX);
    evl_name(tmp, s->base, EVL_INDEX_SUFFIX ".tmp");
    fd = io->open(io, log->dirfd, tmp, EVL_O_RDWR | EVL_O_CREAT);
    if (fd < 0) {
        rc = fd;
    } else {
        if ((rc = io->truncate(io, fd, 0)) == 0) {
            w = io->pwrite(io, fd, buf, EVL_INDEX_HEADER_SIZE + bytes, 0);
            rc = w < 0 ? (int)w : 0;
        }
        (void)io->close(io, fd);
        if (rc == 0)
            rc = io->rename(io, log->dirfd, tmp, name);
        if (rc < 0)
            (void)io->unlink(io, log->dirfd, tmp);
    }
    free(buf);
    if (rc < 0)
        return evl_err(log, evl_errno_code(rc), "%s/%s: cannot write index: %s", log->dir,
                       name, evl_errno_str(rc));
    s->idx_written = n;
    return 0;
}

/*
 * Rebuild the index of the mapped segment `s` from its batch headers up to
 * `data_end`. Stops at the first header that does not parse or continue the
 * offsets: readers check every batch anyway, and report the damage there.
 */
int evl_index_rebuild(evlog *log, evl_seg *s, uint64_t data_end)
{
    uint64_t pos = EVL_SEG_HEADER_SIZE, expect = s->base;
    evl_batch b;

    if (!s->idx || s->idx_cap < s->map_len / log->index_interval + 2) {
        if (evl_index_alloc(s, s->map_len, log->index_interval) != 0)
            return evl_err(log, EVLOG_ENOMEM, "out of memory for an index");
    }
    atomic_store(&s->idx_count, 0);
    s->idx_last_pos = EVL_SEG_HEADER_SIZE;
    while (pos < data_end && evl_batch_parse(&b, s->map + pos, data_end - pos) == EVL_OK &&
           b.base_offset == expect) {
        if (pos - s->idx_last_pos >= log->index_interval)
            evl_index_add(s, b.base_offset, pos);
        expect = b.base_offset + b.last_delta + 1;
        pos += b.length;
    }
    s->idx_state = EVL_IDX_READY;
    s->idx_written = 0;
    if (atomic_load(&s->sealed))
        (void)evl_index_write(log, s);
    return 0;
}

/* Validate index file bytes against segment `s`: header, checksum, order
 * and bounds. Returns the entry count or -1. */
static int64_t index_validate(const evl_seg *s, const uint8_t *buf, uint64_t size,
                              uint64_t data_end)
{
    evl_index_header h;
    uint64_t i, prev_off = s->base, prev_pos = EVL_SEG_HEADER_SIZE;

    if (size < EVL_INDEX_HEADER_SIZE || evl_index_header_decode(&h, buf) != EVL_OK)
        return -1;
    if (h.base_offset != s->base || h.count != (size - EVL_INDEX_HEADER_SIZE) / 16 ||
        (size - EVL_INDEX_HEADER_SIZE) % 16 != 0 || h.covered_end > data_end ||
        evl_hash(buf + EVL_INDEX_HEADER_SIZE, size - EVL_INDEX_HEADER_SIZE, EVL_SEED_INDEX) !=
            h.entries_checksum)
        return -1;
    for (i = 0; i < h.count; i++) {
        uint64_t off = evl_ld64(buf + EVL_INDEX_HEADER_SIZE + i * 16);
        uint64_t pos = evl_ld64(buf + EVL_INDEX_HEADER_SIZE + i * 16 + 8);
        if (off <= prev_off || pos <= prev_pos || pos >= h.covered_end)
            return -1;
        prev_off = off;
        prev_pos = pos;
    }
    return (int64_t)h.count;
}

/*
 * Load NNN.index for the mapped segment `s`, whose batches end at or before
 * `data_end`. A missing or invalid file is rebuilt from the segment when
 * `rebuild_ok`; otherwise the index is left empty (lookups then start at
 * the segment's first batch). Returns 1 when the file was valid and
 * loaded, 0 when it was missing or invalid, or a negative evlog code.
 */
int evl_index_load(evlog *log, evl_seg *s, uint64_t data_end, int rebuild_ok)
{
    const struct evlog_io *io = log->io;
    char name[EVL_NAME_MAX];
    uint8_t *buf = NULL;
    uint64_t size = 0, i;
    int64_t n = -1;
    int fd;

    evl_name(name, s->base, EVL_INDEX_SUFFIX);
    fd = io->open(io, log->dirfd, name, EVL_O_RDONLY);
    if (fd >= 0) {
        if (io->size(io, fd, &size) == 0 && size <= EVL_INDEX_HEADER_SIZE + s->map_len &&
            (buf = malloc(size ? size : 1)) != NULL &&
            io->pread(io, fd, buf, size, 0) == (long)size)
            n = index_validate(s, buf, size, data_end);
        (void)io->close(io, fd);
    }
    if (n < 0) {
        free(buf);
        if (rebuild_ok)
            return evl_index_rebuild(log, s, data_end);
        if (evl_index_alloc(s, s->map_len, log->index_interval) != 0)
            return evl_err(log, EVLOG_ENOMEM, "out of memory for an index");
        s->idx_state = EVL_IDX_READY;
        return 0;
    }
    if (index_alloc_n(s, s->map_len / log->index_interval + 2 + (uint64_t)n) != 0) {
        free(buf);
        return evl_err(log, EVLOG_ENOMEM, "out of memory for an index");
    }
    for (i = 0; i < (uint64_t)n; i++) {
        s->idx[i].offset = evl_ld64(buf + EVL_INDEX_HEADER_SIZE + i * 16);
        s->idx[i].pos = evl_ld64(buf + EVL_INDEX_HEADER_SIZE + i * 16 + 8);
    }
    free(buf);
    atomic_store(&s->idx_count, (uint64_t)n);
    s->idx_last_pos = n ? s->idx[n - 1].pos : EVL_SEG_HEADER_SIZE;
    s->idx_written = (uint64_t)n;
    s->idx_state = EVL_IDX_READY;
    return 1;
}
