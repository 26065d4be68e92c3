/*
 * segment.c - one segment file: create (preallocate, sync, map), seal
 * (footer, truncate, sync), read a footer, zero a torn tail, and the
 * mappings that iterators pin.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

evl_seg *evl_seg_new(uint64_t base)
{
    evl_seg *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    evl_name(s->name, base, EVL_SEG_SUFFIX);
    atomic_init(&s->end_pos, EVL_SEG_HEADER_SIZE);
    atomic_init(&s->next_offset, base);
    atomic_init(&s->sealed, 0);
    atomic_init(&s->idx_count, 0);
    s->refs = 1;
    s->fd = -1;
    s->idx_last_pos = EVL_SEG_HEADER_SIZE;
    s->stats_known = 1;
    return s;
}

void evl_seg_unmap(evlog *log, evl_seg *s)
{
    if (!s->map)
        return;
    (void)log->io->unmap(log->io, s->map, s->map_len);
    s->map = NULL;
    s->map_len = 0;
    s->map_writable = 0;
    /* a sealed segment's index goes with its mapping; the active one's
     * array stays, since the writer adds to it */
    if (atomic_load(&s->sealed)) {
        free(s->idx);
        s->idx = NULL;
        s->idx_cap = 0;
        atomic_store(&s->idx_count, 0);
        s->idx_state = EVL_IDX_NONE;
    }
}

void evl_seg_unref(evlog *log, evl_seg *s)
{
    if (!s || --s->refs > 0)
        return;
    if (s->map) {
        if (s->pins == 0 && atomic_load(&s->sealed))
            log->idle_maps--;
        (void)log->io->unmap(log->io, s->map, s->map_len);
    }
    if (s->fd >= 0)
        (void)log->io->close(log->io, s->fd);
    free(s->idx);
    free(s);
}

/*
 * The spare: a file preallocated to a segment's capacity and synced, made
 * by the sealer once the active segment is half full (or at a roll), so
 * that the next roll renames it instead of preallocating and syncing on
 * the append path. It holds no record: when
 * it cannot be made (a full disk), *fd is -1 and the next roll creates its
 * segment itself. A failed sync is another matter, as everywhere: the disk
 * failed a write, and the caller fails the handle (EVLOG_EIO returned).
 */
int evl_spare_make(evlog *log, uint64_t capacity, int *fd)
{
    const struct evlog_io *io = log->io;
    int rc;

    *fd = io->open(io, log->dirfd, EVL_SPARE_NAME, EVL_O_RDWR | EVL_O_CREAT);
    if (*fd < 0) {
        *fd = -1;
        return 0;
    }
    if (io->truncate(io, *fd, 0) < 0 || io->allocate(io, *fd, capacity) < 0) {
        evl_spare_drop(log, *fd);
        *fd = -1;
        return 0;
    }
    if ((rc = io->fsync(io, *fd)) < 0) {
        evl_spare_drop(log, *fd);
        *fd = -1;
        return evl_err(log, EVLOG_EIO, "%s/%s: sync failed: %s; the handle is failed", log->dir,
                       EVL_SPARE_NAME, evl_errno_str(rc));
    }
    return 0;
}

void evl_spare_drop(evlog *log, int fd)
{
    (void)log->io->close(log->io, fd);
    (void)log->io->unlink(log->io, log->dirfd, EVL_SPARE_NAME);
}

/* The spare renamed to `s`'s name, or -1 when there is none of its size or
 * the rename fails (the spare goes then). Its blocks and size are durable;
 * the caller writes the header and syncs the file and the directory. mu
 * held. */
static int take_spare(evlog *log, evl_seg *s)
{
    int fd = log->spare_fd;

    if (fd < 0)
        return -1;
    log->spare_fd = -1;
    if (log->spare_cap != s->capacity ||
        log->io->rename(log->io, log->dirfd, EVL_SPARE_NAME, s->name) < 0) {
        evl_spare_drop(log, fd);
        return -1;
    }
    return fd;
}

/*
 * Create segment `base`: preallocate its whole capacity, write its header,
 * and sync the file and the directory before mapping it, so that a full disk
 * is an error here and never a SIGBUS at a later write through the mapping.
 * On failure the file is removed and nothing else changed.
 */
int evl_seg_create(evlog *log, uint64_t base, evl_seg **out)
{
    const struct evlog_io *io = log->io;
    uint8_t hdr[EVL_SEG_HEADER_SIZE];
    evl_seg_header h;
    struct timespec ts;
    evl_seg *s;
    void *map = NULL;
    int fd, rc;
    long w;

    *out = NULL;
    if (!(s = evl_seg_new(base)))
        return evl_err(log, EVLOG_ENOMEM, "out of memory creating segment");
    s->capacity = log->segment_bytes;
    if ((fd = take_spare(log, s)) < 0) {
        fd = io->open(io, log->dirfd, s->name, EVL_O_RDWR | EVL_O_CREAT);
        if (fd < 0) {
            rc = fd;
            goto fail_nofile;
        }
        if ((rc = io->truncate(io, fd, 0)) < 0 || (rc = io->allocate(io, fd, s->capacity)) < 0)
            goto fail;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    h.version = EVL_FORMAT_VERSION;
    h.base_offset = base;
    h.capacity = s->capacity;
    h.created = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    evl_seg_header_encode(hdr, &h);
    if ((w = io->pwrite(io, fd, hdr, sizeof hdr, 0)) < 0) {
        rc = (int)w;
        goto fail;
    }
    /* the file's blocks, its header and its name are durable before any
     * batch is written into it: every segment but a creation cut short has
     * a valid header, and anything durable (a checkpoint, a truncation)
     * may name it. From the spare, the blocks already are: this syncs one
     * page and the directory, a millisecond or so instead of the 5-45 ms
     * of preallocating */
    if ((rc = io->fsync(io, fd)) < 0 || (rc = io->sync_dir(io, log->dirfd)) < 0)
        goto fail;
    if ((rc = io->map(io, fd, s->capacity, 1, &map)) < 0)
        goto fail;
    if (evl_index_alloc(s, s->capacity, log->index_interval) != 0) {
        (void)io->unmap(io, map, s->capacity);
        rc = -ENOMEM;
        goto fail;
    }
    s->fd = fd;
    s->map = map;
    s->map_len = s->capacity;
    s->map_writable = 1;
    s->synced_pos = EVL_SEG_HEADER_SIZE;
    s->idx_state = EVL_IDX_READY;
    *out = s;
    return 0;

fail:
    (void)io->close(io, fd);
    (void)io->unlink(io, log->dirfd, s->name);
fail_nofile:
    evl_err(log, evl_errno_code(rc), "%s/%s: cannot create segment: %s", log->dir, s->name,
            evl_errno_str(rc));
    free(s->idx);
    free(s);
    return evl_errno_code(rc);
}

/*
 * Open the existing file of `s` read-write and map it with its capacity,
 * preallocating up to it (an unsealed segment after recovery, or a sealed
 * one that a truncation makes active again).
 */
int evl_seg_open_active(evlog *log, evl_seg *s)
{
    const struct evlog_io *io = log->io;
    uint64_t size;
    void *map;
    int rc;

    if (s->fd < 0) {
        if ((rc = io->open(io, log->dirfd, s->name, EVL_O_RDWR)) < 0)
            goto fail;
        s->fd = rc;
    }
    if ((rc = io->size(io, s->fd, &size)) < 0)
        goto fail;
    if (s->capacity < size)
        s->capacity = size;
    if (size < s->capacity && ((rc = io->allocate(io, s->fd, s->capacity)) < 0 ||
                               (rc = io->fsync(io, s->fd)) < 0))
        goto fail;
    if (!s->map || !s->map_writable || s->map_len != s->capacity) {
        if ((rc = io->map(io, s->fd, s->capacity, 1, &map)) < 0)
            goto fail;
        if (s->map) {
            if (s->pins == 0 && atomic_load(&s->sealed))
                log->idle_maps--;
            (void)io->unmap(io, s->map, s->map_len);
        }
        s->map = map;
        s->map_len = s->capacity;
        s->map_writable = 1;
    }
    return 0;
fail:
    return evl_err(log, evl_errno_code(rc), "%s/%s: cannot open segment for writing: %s",
                   log->dir, s->name, evl_errno_str(rc));
}

/*
 * Read the header and the footer of segment `s` from its file. Returns 1
 * with *f and *size when a valid footer ends the file, 0 when there is none
 * (or it is damaged: *size is still set), or a negative evlog code on an I/O
 * error. *hc tells the header's state (EVL_BAD_VERSION: a version this
 * library does not know; EVL_BAD_HEADER also for a base offset that is not
 * the file's name) and *h holds it when EVL_OK. With `h` NULL only the
 * footer is read: one read per sealed segment at open.
 */
int evl_seg_read_footer(evlog *log, evl_seg *s, evl_footer *f, uint64_t *size,
                        evl_check *hc, evl_seg_header *h)
{
    evl_check fc = EVL_BAD_ZERO;
    const struct evlog_io *io = log->io;
    uint8_t buf[EVL_FOOTER_SIZE], hb[EVL_SEG_HEADER_SIZE];
    int fd, rc, found = 0;
    long r;

    if ((fd = io->open(io, log->dirfd, s->name, EVL_O_RDONLY)) < 0)
        return evl_err(log, evl_errno_code(fd), "%s/%s: cannot open: %s", log->dir, s->name,
                       evl_errno_str(fd));
    if ((rc = io->size(io, fd, size)) < 0)
        goto io_fail;
    *hc = EVL_BAD_ZERO;
    if (*size >= EVL_SEG_HEADER_SIZE && h) {
        if ((r = io->pread(io, fd, hb, sizeof hb, 0)) < 0) {
            rc = (int)r;
            goto io_fail;
        }
        *hc = r == (long)sizeof hb ? evl_seg_header_decode(h, hb) : EVL_BAD_SHORT;
        if (*hc == EVL_OK && h->version != EVL_FORMAT_VERSION)
            *hc = EVL_BAD_VERSION;
        else if (*hc == EVL_OK && h->base_offset != s->base)
            *hc = EVL_BAD_HEADER;
    }
    if (*size >= EVL_SEG_HEADER_SIZE + EVL_FOOTER_SIZE) {
        if ((r = io->pread(io, fd, buf, sizeof buf, *size - EVL_FOOTER_SIZE)) < 0) {
            rc = (int)r;
            goto io_fail;
        }
        fc = r == (long)sizeof buf ? evl_footer_decode(f, buf) : EVL_BAD_SHORT;
        found = fc == EVL_OK && f->base_offset == s->base &&
                f->data_end == *size - EVL_FOOTER_SIZE;
    }
    if (!h) /* the footer vouches for the segment: its header is not read */
        *hc = fc == EVL_BAD_VERSION ? EVL_BAD_VERSION : EVL_OK;
    else if (fc == EVL_BAD_VERSION)
        *hc = EVL_BAD_VERSION;
    (void)io->close(io, fd);
    return found;
io_fail:
    (void)io->close(io, fd);
    return evl_err(log, evl_errno_code(rc), "%s/%s: cannot read: %s", log->dir, s->name,
                   evl_errno_str(rc));
}

/* Note a batch appended or recovered at `pos`: footer statistics and, every
 * `interval` bytes, an index entry. */
void evl_seg_note_batch(evl_seg *s, const evl_batch *b, uint64_t pos, uint32_t interval)
{
    if (s->batches == 0 || b->first_ts < s->min_ts)
        s->min_ts = b->first_ts;
    if (s->batches == 0 || b->max_ts > s->max_ts)
        s->max_ts = b->max_ts;
    s->batches++;
    if (pos - s->idx_last_pos >= interval)
        evl_index_add(s, b->base_offset, pos);
}

/* Recompute the footer statistics from the batch headers (after a recovery
 * that started in the middle of the segment). */
int evl_seg_scan_stats(evlog *log, evl_seg *s)
{
    uint64_t pos = EVL_SEG_HEADER_SIZE, end = atomic_load(&s->end_pos);
    evl_batch b;
    (void)log;
    s->batches = 0;
    s->min_ts = s->max_ts = 0;
    while (pos < end && evl_batch_parse(&b, s->map + pos, end - pos) == EVL_OK) {
        if (s->batches == 0 || b.first_ts < s->min_ts)
            s->min_ts = b.first_ts;
        if (s->batches == 0 || b.max_ts > s->max_ts)
            s->max_ts = b.max_ts;
        s->batches++;
        pos += b.length;
    }
    s->stats_known = 1;
    return 0;
}

/*
 * Begin sealing the active segment: the footer goes after the last batch in
 * the mapping and readers are told that the segment is complete. Nothing is
 * synced yet; evl_seg_seal_finish does that, off the append path. Cannot
 * fail.
 */
void evl_seg_seal_begin(evlog *log, evl_seg *s)
{
    uint64_t end = atomic_load(&s->end_pos);
    evl_footer f;

    if (!s->stats_known)
        evl_seg_scan_stats(log, s);
    f.base_offset = s->base;
    f.next_offset = atomic_load(&s->next_offset);
    f.records = f.next_offset - s->base;
    f.batches = s->batches;
    f.min_ts = s->batches ? s->min_ts : 0;
    f.max_ts = s->batches ? s->max_ts : 0;
    f.data_end = end;
    evl_footer_encode(s->map + end, &f);
    atomic_store_explicit(&s->sealed, 1, memory_order_release);
}

/*
 * Finish sealing: the batches and the footer are synced, then the file is
 * cut to its used length and synced again, so that once the cut is durable
 * the file never ends without its footer (a reader's mapping is never read
 * past end_pos, so the cut cannot fault one). The caller holds a pin on the
 * mapping. On failure the caller poisons the handle.
 */
int evl_seg_seal_finish(evlog *log, evl_seg *s)
{
    const struct evlog_io *io = log->io;
    uint64_t end = atomic_load(&s->end_pos);
    int rc;

    /* the writer is done with it: without its page-table entries, the
     * sync below has none to write-protect, one shootdown each; and none
     * keeps a page in the cache that the flag drops after the sync */
    uint64_t from = log->flags & EVLOG_UNCACHE_SEALED ? 0 : s->synced_pos;
    io->drop(io, s->map, from, end + EVL_FOOTER_SIZE - from);
    if ((rc = io->msync(io, s->map, s->synced_pos, end + EVL_FOOTER_SIZE - s->synced_pos)) < 0 ||
        (rc = io->truncate(io, s->fd, end + EVL_FOOTER_SIZE)) < 0 ||
        (rc = io->fsync(io, s->fd)) < 0)
        return evl_err(log, EVLOG_EIO, "%s/%s: sealing failed: %s", log->dir, s->name,
                       evl_errno_str(rc));
    s->synced_pos = end;
    s->file_size = end + EVL_FOOTER_SIZE;
    if (log->flags & EVLOG_UNCACHE_SEALED)
        io->uncache(io, s->fd, 0, s->file_size);
    (void)evl_index_write(log, s);
    (void)io->close(io, s->fd);
    s->fd = -1;
    return 0;
}

/*
 * Make everything of `s` from `pos` on read as zeros, preallocated to the
 * segment's capacity and synced: a torn tail or truncated records can then
 * never be mistaken for batches, whatever is appended later.
 */
int evl_seg_zero_tail(evlog *log, evl_seg *s, uint64_t pos)
{
    const struct evlog_io *io = log->io;
    uint64_t size;
    int rc;

    if (s->fd < 0) {
        if ((rc = io->open(io, log->dirfd, s->name, EVL_O_RDWR)) < 0)
            goto fail;
        s->fd = rc;
    }
    if ((rc = io->size(io, s->fd, &size)) < 0)
        goto fail;
    if (size > pos && (rc = io->zero(io, s->fd, pos, size - pos)) < 0)
        goto fail;
    if (s->capacity < size)
        s->capacity = size;
    if ((rc = io->allocate(io, s->fd, s->capacity)) < 0 || (rc = io->fsync(io, s->fd)) < 0)
        goto fail;
    return 0;
fail:
    return evl_err(log, evl_errno_code(rc), "%s/%s: cannot clear the tail at byte %llu: %s",
                   log->dir, s->name, (unsigned long long)pos, evl_errno_str(rc));
}

/* Remove the files of segment `base` (the index may be absent). */
int evl_seg_remove_files(evlog *log, uint64_t base)
{
    char name[EVL_NAME_MAX];
    int rc;
    evl_name(name, base, EVL_INDEX_SUFFIX);
    rc = log->io->unlink(log->io, log->dirfd, name);
    if (rc < 0 && rc != -ENOENT)
        return evl_err(log, EVLOG_EIO, "%s/%s: cannot remove: %s", log->dir, name,
                       evl_errno_str(rc));
    evl_name(name, base, EVL_SEG_SUFFIX);
    rc = log->io->unlink(log->io, log->dirfd, name);
    if (rc < 0 && rc != -ENOENT)
        return evl_err(log, EVLOG_EIO, "%s/%s: cannot remove: %s", log->dir, name,
                       evl_errno_str(rc));
    return 0;
}

/* Unmap the least recently used idle sealed mapping. */
static void evict_idle(evlog *log)
{
    evl_seg *victim = NULL;
    size_t i;
    for (i = 0; i < log->nsegs; i++) {
        evl_seg *s = log->segs[i];
        if (s->map && s->pins == 0 && atomic_load(&s->sealed) &&
            (!victim || s->last_use < victim->last_use))
            victim = s;
    }
    if (victim) {
        evl_seg_unmap(log, victim);
        log->idle_maps--;
    }
}

/* Map the whole file of `s` read-only; its descriptor is closed at once,
 * the mapping is enough. */
int evl_seg_map_ro(evlog *log, evl_seg *s)
{
    const struct evlog_io *io = log->io;
    uint64_t size;
    void *map;
    int fd, rc;

    if ((fd = io->open(io, log->dirfd, s->name, EVL_O_RDONLY)) < 0)
        return evl_err(log, evl_errno_code(fd), "%s/%s: cannot open: %s", log->dir, s->name,
                       evl_errno_str(fd));
    rc = io->size(io, fd, &size);
    if (rc == 0 && size < EVL_SEG_HEADER_SIZE)
        rc = -EIO;
    if (rc == 0)
        rc = io->map(io, fd, size, 0, &map);
    (void)io->close(io, fd);
    if (rc < 0)
        return evl_err(log, evl_errno_code(rc), "%s/%s: cannot map: %s", log->dir, s->name,
                       evl_errno_str(rc));
    s->map = map;
    s->map_len = size;
    s->map_writable = 0;
    return 0;
}

/*
 * Make `s` readable for an iterator: map it (read-only for a sealed
 * segment; its file is closed at once, the mapping is enough) and load its
 * index. Caller holds segs_mu. Returns 0 or a negative evlog code.
 */
int evl_seg_pin(evlog *log, evl_seg *s)
{
    int rc;

    if (!s->map) {
        if ((rc = evl_seg_map_ro(log, s)) < 0)
            return rc;
    } else if (s->pins == 0 && atomic_load(&s->sealed)) {
        log->idle_maps--;
    }
    if (s->idx_state == EVL_IDX_NONE &&
        (rc = evl_index_load(log, s, atomic_load(&s->end_pos), 1)) < 0)
        return rc;
    s->pins++;
    s->refs++;
    return 0;
}

/* Release a pin; caller holds segs_mu. Idle sealed mappings are kept, up to
 * EVL_IDLE_MAPS, so that random reads do not map and unmap each time. */
void evl_seg_unpin(evlog *log, evl_seg *s)
{
    if (--s->pins == 0 && s->map && atomic_load(&s->sealed)) {
        s->last_use = ++log->tick;
        if (s->dead) {
            evl_seg_unmap(log, s);
        } else {
            log->idle_maps++;
            while (log->idle_maps > EVL_IDLE_MAPS)
                evict_idle(log);
        }
    }
    evl_seg_unref(log, s);
}

/* Forget a segment taken out of the table (truncated or retired); caller
 * holds segs_mu. Iterators still pinning it keep its mapping until they
 * move on. */
void evl_seg_drop(evlog *log, evl_seg *s)
{
    s->dead = 1;
    if (s->map && s->pins == 0) {
        if (atomic_load(&s->sealed))
            log->idle_maps--;
        evl_seg_unmap(log, s);
    }
    evl_seg_unref(log, s);
}
