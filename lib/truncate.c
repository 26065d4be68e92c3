/*
 * truncate.c - dropping records: truncate_back removes the newest records
 * (down to any offset, also inside a batch), truncate_front retires whole
 * segments below a new start offset. Both record their intent in the
 * checkpoint first, so that a crash half-way is finished by the next open.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/* Replace sealed segment `s` (index k of the table) by a new object for the
 * same file opened for appending, with room for at least `need` bytes.
 * Iterators pinning the old object keep its mapping until they notice the
 * truncation. */
static int reopen_sealed(evlog *log, size_t k, uint64_t need, evl_seg **out)
{
    evl_seg *s = log->segs[k], *n;
    int rc;

    if (!(n = evl_seg_new(s->base)))
        return evl_err(log, EVLOG_ENOMEM, "out of memory");
    n->capacity = s->file_size > log->segment_bytes ? s->file_size : log->segment_bytes;
    if (n->capacity < need)
        n->capacity = need;
    /* the footer goes, durably, before anything in the segment changes: a
     * file still ending with it is sealed to recovery, which then takes a
     * batch being rewritten (or put back from truncate.pending) for damage.
     * The capacity alone does not move it when the file is as large */
    if ((rc = evl_seg_open_active(log, n)) < 0 ||
        (rc = evl_seg_zero_tail(log, n, atomic_load(&s->end_pos))) < 0) {
        evl_seg_unref(log, n);
        return rc;
    }
    atomic_store(&n->end_pos, atomic_load(&s->end_pos));
    atomic_store(&n->next_offset, atomic_load(&s->next_offset));
    n->stats_known = 0;
    n->synced_pos = atomic_load(&s->end_pos);
    if ((rc = evl_index_rebuild(log, n, atomic_load(&s->end_pos))) < 0) {
        evl_seg_unref(log, n);
        return rc;
    }
    pthread_mutex_lock(&log->segs_mu);
    log->segs[k] = n;
    evl_seg_drop(log, s);
    pthread_mutex_unlock(&log->segs_mu);
    *out = n;
    return 0;
}

/*
 * Find where the records below `offset` end in segment `s`: *batch_pos is
 * the position of the batch holding `offset` (or starting at it), and when
 * the cut falls inside that batch, *rewrite is a malloc'ed new batch holding
 * only the records below `offset` (else NULL).
 */
static int find_cut(evlog *log, evl_seg *s, uint64_t offset, uint64_t *batch_pos,
                    uint64_t *batch_base, uint8_t **rewrite, uint32_t *rewrite_len)
{
    uint64_t eoff, pos = evl_index_lookup(s, offset, &eoff), end = atomic_load(&s->end_pos);
    evl_batch b;
    evl_check c;

    *rewrite = NULL;
    *batch_base = offset;
    while (pos < end) {
        if ((c = evl_batch_check(&b, s->map + pos, end - pos)) != EVL_OK)
            return evl_err(log, EVLOG_ECORRUPT, "%s/%s: corrupt at byte %llu: %s", log->dir,
                           s->name, (unsigned long long)pos, evl_check_str(c));
        if (b.base_offset >= offset)
            break;
        if (offset <= b.base_offset + b.last_delta) {
            /* inside this batch: frame its first records anew */
            const uint8_t *payload = s->map + pos + EVL_BATCH_HEADER_SIZE;
            size_t plen = b.length - EVL_BATCH_HEADER_SIZE;
            uint8_t *raw = NULL, *nb = NULL;
            evlog_record *recs = NULL;
            evl_rec_cursor cur;
            size_t n = 0;
            int rc = 0;

            if ((b.attributes & EVL_ATTR_COMPRESSION_MASK) == EVL_COMP_LZ4) {
                uint32_t rl = evl_lz4_raw_len(payload, plen);
                long got;
                if (!(raw = malloc(rl ? rl : 1)))
                    return evl_err(log, EVLOG_ENOMEM, "out of memory");
                got = evl_lz4_unpack(raw, rl, payload, plen);
                if (got < 0) {
                    free(raw);
                    return evl_err(log, EVLOG_ECORRUPT, "%s/%s: batch at byte %llu does not "
                                   "decompress", log->dir, s->name, (unsigned long long)pos);
                }
                payload = raw;
                plen = (size_t)got;
            }
            recs = malloc(sizeof *recs * (offset - b.base_offset + 1));
            evl_cursor_init(&cur, &b, payload, plen);
            while (recs && evl_cursor_next(&cur, &recs[n]) == 1 && recs[n].offset < offset)
                n++;
            if (recs && n > 0) {
                uint64_t size = evl_batch_size(recs, n);
                if ((nb = malloc((size_t)size)) != NULL)
                    *rewrite_len = evl_batch_encode(nb, NULL, recs, n, b.base_offset, 0);
            }
            if (!recs || (n > 0 && !nb))
                rc = evl_err(log, EVLOG_ENOMEM, "out of memory");
            free(recs);
            free(raw);
            *batch_pos = pos;
            *batch_base = b.base_offset;
            *rewrite = nb;
            return rc;
        }
        pos += b.length;
    }
    *batch_pos = pos;
    return 0;
}

/*
 * The rewrite of a batch cut in the middle is made crash-safe by a side
 * file holding the new batch, synced before the batch is overwritten in
 * place: a crash during the overwrite is mended from it at the next open
 * (evl_side_restore in recover.c; a read-only open reads the batch from it).
 * Format in docs/format.md.
 */
static int side_write(evlog *log, uint64_t seg, uint64_t pos, uint64_t truncate_to,
                      const uint8_t *batch, uint32_t len)
{
    const struct evlog_io *io = log->io;
    uint8_t *buf = malloc(EVL_SIDE_HEADER_SIZE + (size_t)len);
    int fd, rc = 0;
    long w;

    if (!buf)
        return evl_err(log, EVLOG_ENOMEM, "out of memory");
    memset(buf, 0, EVL_SIDE_HEADER_SIZE);
    memcpy(buf, EVL_SIDE_MAGIC, 8);
    evl_st32(buf + 8, EVL_FORMAT_VERSION);
    evl_st32(buf + 12, len);
    evl_st64(buf + 16, seg);
    evl_st64(buf + 24, pos);
    /* the truncation it belongs to: its target and the sequence number of
     * the checkpoint that recorded it, so a stale copy is never applied */
    evl_st64(buf + 32, truncate_to);
    evl_st64(buf + 40, log->ckpt_seq);
    memcpy(buf + EVL_SIDE_HEADER_SIZE, batch, len);
    evl_st64(buf + 56, evl_hash(buf + EVL_SIDE_HEADER_SIZE, len,
                                evl_hash(buf, 56, EVL_SEED_SIDE)));
    fd = io->open(io, log->dirfd, EVL_SIDE_NAME, EVL_O_RDWR | EVL_O_CREAT);
    if (fd < 0) {
        rc = fd;
    } else {
        if ((rc = io->truncate(io, fd, 0)) == 0) {
            w = io->pwrite(io, fd, buf, EVL_SIDE_HEADER_SIZE + (size_t)len, 0);
            rc = w < 0 ? (int)w : 0;
        }
        if (rc == 0)
            rc = io->fsync(io, fd);
        (void)io->close(io, fd);
        if (rc == 0)
            rc = io->sync_dir(io, log->dirfd);
    }
    free(buf);
    if (rc < 0)
        return evl_err(log, evl_errno_code(rc), "%s/%s: cannot write: %s", log->dir,
                       EVL_SIDE_NAME, evl_errno_str(rc));
    return 0;
}

int evl_finish_truncate(evlog *log, uint64_t offset)
{
    const struct evlog_io *io = log->io;
    uint64_t end = atomic_load(&log->end_offset), bpos = 0, bbase = offset, cut;
    uint8_t *rewrite = NULL;
    uint32_t rlen = 0;
    size_t k, removed = 0;
    evl_seg *s;
    evl_ckpt c;
    int rc, intent = 0;

    if (offset < end && log->nsegs > 0) {
        pthread_mutex_lock(&log->segs_mu);
        s = evl_segs_find(log, offset);
        pthread_mutex_unlock(&log->segs_mu);
        if (!s)
            s = log->segs[0];
        for (k = 0; log->segs[k] != s; k++)
            ;
        if (!s->map) {
            pthread_mutex_lock(&log->segs_mu);
            if ((rc = evl_seg_map_ro(log, s)) == 0 && s->pins == 0)
                log->idle_maps++; /* a sealed segment's idle mapping */
            pthread_mutex_unlock(&log->segs_mu);
            if (rc < 0)
                return rc;
        }
        if ((rc = find_cut(log, s, offset, &bpos, &bbase, &rewrite, &rlen)) < 0)
            return rc;
        /* intent first: the durable point moves to the start of the batch
         * that is cut, so that a crash from here on leaves a tail that
         * recovery may cut (and a rewrite torn by it, the side copy mends) */
        if (atomic_load(&log->durable_offset) > bbase)
            atomic_store(&log->durable_offset, bbase);
        if (log->durable_seg > s->base || (log->durable_seg == s->base && log->durable_pos > bpos)) {
            log->durable_seg = s->base;
            log->durable_pos = bpos;
        }
        evl_ckpt_current(log, &c);
        c.truncate_to = offset;
        if ((rc = evl_ckpt_write(log, &c, 1)) < 0)
            goto out;
        intent = 1;

        /* drop the later segments, newest first */
        pthread_mutex_lock(&log->segs_mu);
        while (log->nsegs > k + 1) {
            evl_seg *d = log->segs[--log->nsegs];
            if (d == log->active)
                log->active = NULL;
            rc = evl_seg_remove_files(log, d->base);
            evl_seg_drop(log, d);
            removed++;
            if (rc < 0)
                break;
        }
        pthread_mutex_unlock(&log->segs_mu);
        if (rc < 0)
            goto out;
        if (removed && (rc = io->sync_dir(io, log->dirfd)) < 0) {
            rc = evl_err(log, EVLOG_EIO, "%s: cannot sync directory: %s", log->dir,
                         evl_errno_str(rc));
            goto out;
        }
        /* a batch re-framed uncompressed may be longer than the LZ4 one it
         * replaces: room for it, in a segment created larger than now */
        if (atomic_load(&s->sealed) &&
            (rc = reopen_sealed(log, k, rewrite ? bpos + rlen + EVL_FOOTER_SIZE : 0, &s)) < 0)
            goto out;
        if (s->fd < 0 && (rc = evl_seg_open_active(log, s)) < 0)
            goto out;
        cut = bpos;
        if (rewrite) {
            if ((rc = side_write(log, s->base, bpos, offset, rewrite, rlen)) < 0)
                goto out;
            memcpy(s->map + bpos, rewrite, rlen);
            cut = bpos + rlen;
            if ((rc = io->msync(io, s->map, bpos, rlen)) < 0) {
                rc = evl_err(log, EVLOG_EIO, "%s/%s: sync failed: %s", log->dir, s->name,
                             evl_errno_str(rc));
                evl_poison(log);
                goto out;
            }
        }
        evl_store(&s->end_pos, cut);
        evl_store(&s->next_offset, offset);
        evl_store(&log->end_offset, offset);
        /* entries past the start of the cut batch go: a batch re-framed
         * uncompressed may be longer than the LZ4 one it replaces, over
         * batches that had entries; its own entry keeps its offset */
        evl_index_truncate(s, rewrite ? bpos + 1 : cut);
        if ((rc = evl_seg_zero_tail(log, s, cut)) < 0)
            goto out;
        if (s->synced_pos > cut)
            s->synced_pos = cut;
        evl_touch_restart(log);
        s->stats_known = 0;
        log->active = s;
        /* the index file may name batches past the cut: rewrite it now, so
         * that a clean shutdown never leaves it stale. Not synced, as
         * always (a cache): after a power loss the old one may be back,
         * and the writer's open, which scans this segment (the durable
         * point stays at or before the cut until a sync moves it on),
         * rewrites an index that disagrees with it (recover.c) */
        s->idx_written = 0;
        (void)evl_index_write(log, s);
    }
    evl_ckpt_current(log, &c);
    rc = evl_ckpt_write(log, &c, 1);
    /* with the truncation done and recorded, the side copy is stale; left
     * behind by a crash, the next open finds no pending truncation and
     * removes it */
    if (rc == 0) {
        int u = io->unlink(io, log->dirfd, EVL_SIDE_NAME);
        if (u == 0)
            u = io->sync_dir(io, log->dirfd);
        if (u < 0 && u != -ENOENT)
            rc = evl_err(log, EVLOG_EIO, "%s/%s: cannot remove: %s", log->dir,
                         EVL_SIDE_NAME, evl_errno_str(u));
    }
out:
    /* failed half-way, the files no longer match the handle: nothing more
     * is written through it, and the intent stays for the next open */
    if (rc < 0 && intent)
        evl_poison(log);
    free(rewrite);
    atomic_fetch_add(&log->truncations, 1);
    return rc;
}

int evlog_truncate_back(evlog *log, uint64_t offset)
{
    int rc;
    if (!log)
        return EVLOG_EINVAL;
    if (log->read_only)
        return evl_err(log, EVLOG_EREADONLY, "%s: the log is open read-only", log->dir);
    pthread_mutex_lock(&log->mu);
    evl_wait_sealed(log);
    if (!log->failed)
        (void)evl_flush_locked(log); /* lingering appends are cut like the others */
    if (log->failed)
        rc = evl_failed(log);
    else if (offset < atomic_load(&log->start_offset) || offset > atomic_load(&log->end_offset))
        rc = evl_err(log, EVLOG_ERANGE, "truncate_back: offset %llu outside %llu..%llu",
                     (unsigned long long)offset,
                     (unsigned long long)atomic_load(&log->start_offset),
                     (unsigned long long)atomic_load(&log->end_offset));
    else if (offset == atomic_load(&log->end_offset))
        rc = 0;
    else
        rc = evl_finish_truncate(log, offset);
    atomic_store(&log->append_end, atomic_load(&log->end_offset));
    pthread_mutex_unlock(&log->mu);
    return rc;
}

int evlog_truncate_front(evlog *log, uint64_t offset)
{
    const struct evlog_io *io = log ? log->io : NULL;
    size_t n = 0, i;
    evl_ckpt c;
    int rc = 0;

    if (!log)
        return EVLOG_EINVAL;
    if (log->read_only)
        return evl_err(log, EVLOG_EREADONLY, "%s: the log is open read-only", log->dir);
    pthread_mutex_lock(&log->mu);
    evl_wait_sealed(log);
    if (!log->failed)
        (void)evl_flush_locked(log);
    if (log->failed) {
        rc = evl_failed(log);
        goto out;
    }
    if (offset < atomic_load(&log->start_offset) || offset > atomic_load(&log->end_offset)) {
        rc = evl_err(log, EVLOG_ERANGE, "truncate_front: offset %llu outside %llu..%llu",
                     (unsigned long long)offset,
                     (unsigned long long)atomic_load(&log->start_offset),
                     (unsigned long long)atomic_load(&log->end_offset));
        goto out;
    }
    /* the new start is durable before any file goes */
    atomic_store(&log->start_offset, offset);
    evl_ckpt_current(log, &c);
    if ((rc = evl_ckpt_write(log, &c, 1)) < 0)
        goto out;
    pthread_mutex_lock(&log->segs_mu);
    while (n < log->nsegs && log->segs[n] != log->active && atomic_load(&log->segs[n]->sealed) &&
           atomic_load(&log->segs[n]->next_offset) <= offset && n + 1 < log->nsegs)
        n++;
    for (i = 0; i < n && rc == 0; i++)
        rc = evl_seg_remove_files(log, log->segs[i]->base);
    n = i;
    for (i = 0; i < n; i++) {
        if (log->segs[i]->base == log->durable_seg) {
            log->durable_seg = log->segs[n]->base;
            log->durable_pos = EVL_SEG_HEADER_SIZE;
        }
        evl_seg_drop(log, log->segs[i]);
    }
    memmove(log->segs, log->segs + n, (log->nsegs - n) * sizeof *log->segs);
    log->nsegs -= n;
    pthread_mutex_unlock(&log->segs_mu);
    if (n && rc == 0 && (rc = io->sync_dir(io, log->dirfd)) < 0)
        rc = evl_err(log, EVLOG_EIO, "%s: cannot sync directory: %s", log->dir,
                     evl_errno_str(rc));
    if (n && rc == 0) {
        evl_ckpt_current(log, &c);
        rc = evl_ckpt_write(log, &c, 1);
    }
out:
    pthread_mutex_unlock(&log->mu);
    return rc;
}
