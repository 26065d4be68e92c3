/*
 * recover.c - opening a log directory: list the segments, read the
 * checkpoint, trust sealed segments below the durable point by their
 * footers alone, scan what lies after it batch by batch, and tell a torn
 * tail (cut off) from damage (reported). The rules are docs/format.md's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct listing {
    uint64_t *bases;
    size_t n, cap;
    size_t others;   /* names that are not the log's */
    int has_ckpt;
    int has_side;    /* truncate.pending */
    int cleanup;     /* remove leftovers (a writer's recovery) */
    evlog *log;
} listing;

static int list_cb(const char *name, void *payload)
{
    listing *l = payload;
    uint64_t base;
    size_t len = strlen(name);

    if (evl_parse_name(name, EVL_SEG_SUFFIX, &base)) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            uint64_t *b = realloc(l->bases, cap * sizeof *b);
            if (!b)
                return 1; /* stops the listing: out of memory */
            l->bases = b;
            l->cap = cap;
        }
        l->bases[l->n++] = base;
    } else if (evl_parse_name(name, EVL_INDEX_SUFFIX, &base) || !strcmp(name, EVL_LOCK_NAME)) {
        /* the log's own */
    } else if (!strcmp(name, EVL_CKPT_NAME)) {
        l->has_ckpt = 1;
    } else if (!strcmp(name, EVL_SIDE_NAME)) {
        l->has_side = 1;
    } else if (!strcmp(name, EVL_SPARE_NAME)) {
        /* a spare segment file the last writer made ahead: removed once
         * the open succeeds (a failed one leaves every file as it was) */
        l->log->spare_left = 1;
    } else if (len > 4 && !strcmp(name + len - 4, ".tmp") &&
               evl_parse_name(name, EVL_INDEX_SUFFIX ".tmp", &base)) {
        /* an index rewrite that never finished */
        if (l->cleanup)
            (void)l->log->io->unlink(l->log->io, l->log->dirfd, name);
    } else {
        l->others++;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A writer about to create a log in `dir` checks first that the directory
 * holds nothing but a log's files (or nothing), so that a mistaken path is
 * refused and left as it was. */
int evl_check_foreign(evlog *log)
{
    listing l;
    int rc;
    memset(&l, 0, sizeof l);
    l.log = log;
    rc = log->io->list(log->io, log->dirfd, list_cb, &l);
    free(l.bases);
    if (rc != 0)
        return rc > 0 ? evl_err(log, EVLOG_ENOMEM, "out of memory listing %s", log->dir)
                      : evl_err(log, EVLOG_EIO, "%s: cannot list: %s", log->dir,
                                evl_errno_str(rc));
    if (l.n == 0 && !l.has_ckpt && l.others > 0)
        return evl_err(log, EVLOG_ENOTLOG, "%s: holds %zu files and no log", log->dir,
                       l.others);
    return 0;
}

/* Report damage: EVLOG_ECORRUPT, or with EVLOG_OPEN_DAMAGED, 1 (the caller
 * then ends the log before it). */
static int damage(evlog *log, const char *name, uint64_t pos, uint64_t offset, const char *why)
{
    evl_err(log, EVLOG_ECORRUPT,
            "%s/%s: corrupt at byte %llu (offset %llu): %s; it lies before the durable "
            "point, so it is not a torn write (open with EVLOG_OPEN_DAMAGED to read up to it, "
            "or see `evlog verify`)",
            log->dir, name, (unsigned long long)pos, (unsigned long long)offset, why);
    return (log->flags & EVLOG_OPEN_DAMAGED) ? 1 : EVLOG_ECORRUPT;
}

static int push(evlog *log, evl_seg *s)
{
    int rc;
    pthread_mutex_lock(&log->segs_mu);
    rc = evl_segs_push(log, s);
    pthread_mutex_unlock(&log->segs_mu);
    return rc;
}

/*
 * Read-only: the segments after a gap are left on disk (a writer's open
 * removes them), and the log ends before them. Remember the one among
 * `bases` that bears the name the log would continue with, `next`, by its
 * header's checksum (its creation time makes it unique), so that following
 * a writer (evl_refresh) never takes that stale file for a segment the
 * writer rolled to; one the writer creates under the same name differs.
 */
static void note_stale(evlog *log, const uint64_t *bases, size_t n, uint64_t next)
{
    char name[EVL_NAME_MAX];
    uint8_t h[EVL_SEG_HEADER_SIZE];
    size_t j;
    int fd;

    for (j = 0; j < n && bases[j] != next; j++)
        ;
    if (j == n)
        return;
    evl_name(name, next, EVL_SEG_SUFFIX);
    if ((fd = log->io->open(log->io, log->dirfd, name, EVL_O_RDONLY)) < 0)
        return;
    if (log->io->pread(log->io, fd, h, sizeof h, 0) == (long)sizeof h) {
        log->stale_base = next;
        log->stale_sum = evl_ld64(h + 56);
        log->has_stale = 1;
    }
    (void)log->io->close(log->io, fd);
}

/*
 * Map segment `s`, of `size` bytes, to scan it: read-write at its capacity
 * for a writer when the file has it all (it may become the active segment),
 * read-only at its size otherwise. A file shorter than its capacity is
 * extended only once the scan has found it sound (the torn-tail cut): an
 * open that fails on damage leaves every file as it found it.
 */
static int map_for_scan(evlog *log, evl_seg *s, uint64_t size)
{
    if (log->read_only || size < s->capacity)
        return evl_seg_map_ro(log, s);
    return evl_seg_open_active(log, s);
}

/*-******************* the side copy of a truncation *******************/
/* The side copy's batch sits at byte 64 of truncate.pending, where a
 * segment's first batch sits: a read-only handle maps the file as if it
 * were the segment that follows the cut (side_map). */
_Static_assert(EVL_SIDE_HEADER_SIZE == EVL_SEG_HEADER_SIZE,
               "truncate.pending must put its batch where a segment's first batch is");

/* Whether the `size` bytes of truncate.pending at `p` are whole and belong
 * to the truncation that checkpoint `ck` records as pending (its target
 * and the seq of the checkpoint that recorded it): 1 with the batch in *b,
 * else 0 (torn before it was synced, or left by another truncation). */
static int side_check(const uint8_t *p, uint64_t size, const evl_ckpt *ck, evl_batch *b)
{
    return evl_side_valid(p, size, ck->truncate_to, ck->seq, b);
}

/*
 * At a writer's open with a truncation pending (checkpoint `ck`): put the
 * batch that the truncation was rewriting back in place from
 * truncate.pending, synced, when the file belongs to that truncation and
 * the bytes in place are neither the new batch already nor another valid
 * batch. Returns 0 (also when there is nothing to apply) or a negative
 * evlog code on an I/O error. The file itself stays until the truncation
 * is finished, which removes it.
 */
int evl_side_restore(evlog *log, const evl_ckpt *ck)
{
    const struct evlog_io *io = log->io;
    char name[EVL_NAME_MAX];
    uint8_t *side = NULL, *cur = NULL;
    uint64_t size = 0, pos;
    uint32_t len;
    evl_batch b, cb;
    int fd, sfd, rc = 0;
    long r;

    fd = io->open(io, log->dirfd, EVL_SIDE_NAME, EVL_O_RDONLY);
    if (fd < 0)
        return fd == -ENOENT ? 0 : evl_err(log, EVLOG_EIO, "%s/%s: cannot open: %s", log->dir,
                                           EVL_SIDE_NAME, evl_errno_str(fd));
    if (io->size(io, fd, &size) < 0 || size < EVL_SIDE_HEADER_SIZE ||
        size > EVL_SIDE_HEADER_SIZE + (uint64_t)EVLOG_MAX_BATCH_BYTES ||
        !(side = malloc((size_t)size)) || io->pread(io, fd, side, (size_t)size, 0) != (long)size ||
        !side_check(side, size, ck, &b)) {
        /* torn before it was synced (the batch in place was not touched),
         * or left by another truncation: not applied */
        (void)io->close(io, fd);
        free(side);
        return 0;
    }
    (void)io->close(io, fd);
    len = b.length;
    pos = evl_ld64(side + 24);
    evl_name(name, evl_ld64(side + 16), EVL_SEG_SUFFIX);
    sfd = io->open(io, log->dirfd, name, EVL_O_RDWR);
    if (sfd == -ENOENT) {
        /* the segment is gone: a writer's recovery found the log ending
         * before this batch and removed the segment, then crashed before
         * its checkpoint forgot the truncation. Nothing to put back */
        rc = 0;
    } else if (sfd < 0) {
        rc = sfd;
    } else {
        cur = malloc(len);
        r = cur ? io->pread(io, sfd, cur, len, pos) : -ENOMEM;
        /* written back only where the rewrite was under way: the bytes in
         * place are the new batch already, or no valid batch at all */
        if (r == (long)len && memcmp(cur, side + EVL_SIDE_HEADER_SIZE, len) == 0) {
            rc = 0;
        } else if (r >= 0 && (r < (long)EVL_BATCH_HEADER_SIZE ||
                              evl_batch_check(&cb, cur, (uint64_t)r) != EVL_OK ||
                              cb.base_offset == b.base_offset)) {
            long w = io->pwrite(io, sfd, side + EVL_SIDE_HEADER_SIZE, len, pos);
            rc = w < 0 ? (int)w : io->fsync(io, sfd);
        } else {
            rc = r < 0 ? (int)r : 0;
        }
        free(cur);
        (void)io->close(io, sfd);
    }
    free(side);
    if (rc < 0)
        return evl_err(log, evl_errno_code(rc), "%s/%s: cannot restore the batch cut by a "
                       "truncation: %s", log->dir, name, evl_errno_str(rc));
    return 0;
}

/*
 * For a read-only handle: truncate.pending mapped as a one-batch segment
 * (base offset: its batch's), when it belongs to the truncation that `ck`
 * records as pending; *seg and *pos tell where its batch belongs. NULL when
 * there is none to apply (or on an error: the handle then sees what the
 * segment holds, as without the file).
 *
 * Why: a truncate_back inside a batch moves the durable point to the start
 * of that batch, syncs the new batch here, then overwrites the batch in
 * place. A power loss during the overwrite can leave it torn, and then this
 * file holds the only durable copy of the batch's acknowledged records
 * until a writer's open puts it back. A read-only handle may not write, so
 * it reads the batch from here instead (evl_recover).
 */
static evl_seg *side_map(evlog *log, const evl_ckpt *ck, uint64_t *seg, uint64_t *pos)
{
    uint64_t size = 0;
    evl_batch b;
    evl_seg *s;
    int fd, rc;

    /* a file torn short before it was synced is ignored, as by a writer */
    if ((fd = log->io->open(log->io, log->dirfd, EVL_SIDE_NAME, EVL_O_RDONLY)) < 0)
        return NULL;
    rc = log->io->size(log->io, fd, &size);
    (void)log->io->close(log->io, fd);
    if (rc < 0 || size < EVL_SIDE_HEADER_SIZE + EVL_BATCH_HEADER_SIZE || !(s = evl_seg_new(0)))
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", EVL_SIDE_NAME);
    if (evl_seg_map_ro(log, s) < 0 || !side_check(s->map, s->map_len, ck, &b) ||
        evl_index_alloc(s, s->map_len, log->index_interval) != 0) {
        evl_seg_unref(log, s);
        return NULL;
    }
    /* a segment of its own for the table: it follows the cut segment, and
     * its index is empty (never a foreign NNN.index of that base) */
    s->base = b.base_offset;
    s->idx_state = EVL_IDX_READY;
    atomic_store(&s->end_pos, EVL_SIDE_HEADER_SIZE + (uint64_t)b.length);
    atomic_store(&s->next_offset, b.base_offset + b.last_delta + 1);
    *seg = evl_ld64(s->map + 16);
    *pos = evl_ld64(s->map + 24);
    return s;
}

/*
 * Scan segment `s` from the durable point on: batches are checked one by
 * one from `start` (expected offset `expect`) up to `limit`. Returns the
 * position of the first byte that is not a valid batch (== limit when all
 * were), and sets *next to the offset after the last valid batch and *why.
 */
static uint64_t scan(evlog *log, evl_seg *s, uint64_t start, uint64_t expect, uint64_t limit,
                     uint64_t *next, evl_check *why)
{
    uint64_t pos = start;
    evl_batch b;
    evl_check c = EVL_OK;

    while (pos < limit) {
        c = evl_batch_check(&b, s->map + pos, limit - pos);
        if (c == EVL_OK && b.base_offset != expect)
            c = EVL_BAD_OFFSET;
        if (c != EVL_OK)
            break;
        evl_seg_note_batch(s, &b, pos, log->index_interval);
        expect = b.base_offset + b.last_delta + 1;
        pos += b.length;
    }
    *next = expect;
    *why = pos < limit ? c : EVL_OK;
    return pos;
}

/* Where to start scanning `s`: the last index entry at or below `dpos`
 * whose batch checks out, else the first batch. Sets *expect, and *stale
 * when the index file is missing or invalid or had entries that were not
 * kept: the scan rebuilds them in memory, and the writer then rewrites the
 * file (an index left stale by a truncation or a torn tail whose unsynced
 * rewrite a power loss undid). */
static uint64_t scan_start(evlog *log, evl_seg *s, uint64_t dpos, uint64_t size,
                           uint64_t *expect, int *stale)
{
    uint64_t n, i, keep = 0;
    evl_batch b;
    int loaded;

    *expect = s->base;
    *stale = 1;
    if ((loaded = evl_index_load(log, s, size, 0)) < 0 || !s->idx)
        return EVL_SEG_HEADER_SIZE;
    n = atomic_load(&s->idx_count);
    for (i = n; i > 0; i--) {
        const evl_index_entry *e = &s->idx[i - 1];
        if (e->pos <= dpos && e->pos < size &&
            evl_batch_check(&b, s->map + e->pos, size - e->pos) == EVL_OK &&
            b.base_offset == e->offset) {
            keep = i;
            break;
        }
    }
    atomic_store(&s->idx_count, keep);
    s->idx_last_pos = keep ? s->idx[keep - 1].pos : EVL_SEG_HEADER_SIZE;
    s->idx_written = 0;
    *stale = !loaded || keep < n;
    if (!keep)
        return EVL_SEG_HEADER_SIZE;
    /* the statistics of the skipped batches are recomputed at seal */
    s->stats_known = 0;
    *expect = s->idx[keep - 1].offset;
    return s->idx[keep - 1].pos;
}

/* Remove the segments after index `k` of bases[] from disk (a torn tail that
 * spans a roll). Writer only. */
static int drop_later(evlog *log, const uint64_t *bases, size_t n, size_t k)
{
    size_t i;
    int rc;
    for (i = n; i > k + 1; i--)
        if ((rc = evl_seg_remove_files(log, bases[i - 1])) < 0)
            return rc;
    if (n > k + 1 && (rc = log->io->sync_dir(log->io, log->dirfd)) < 0)
        return evl_err(log, EVLOG_EIO, "%s: cannot sync directory: %s", log->dir,
                       evl_errno_str(rc));
    return 0;
}

/* A writer's new, empty log: the first segment and a checkpoint. */
static int create_first(evlog *log, uint64_t base)
{
    evl_seg *s;
    evl_ckpt c;
    int rc;
    if ((rc = evl_seg_create(log, base, &s)) < 0)
        return rc;
    if ((rc = push(log, s)) < 0) {
        evl_seg_unref(log, s);
        return rc;
    }
    log->active = s;
    atomic_store(&log->end_offset, base);
    atomic_store(&log->durable_offset, base);
    atomic_store(&log->start_offset, base);
    log->durable_seg = base;
    log->durable_pos = EVL_SEG_HEADER_SIZE;
    evl_ckpt_current(log, &c);
    return evl_ckpt_write(log, &c, 1);
}

/* Remove every segment and start the log afresh at `start`. Writer only. */
static int restart_at(evlog *log, uint64_t start)
{
    int rc = 0;
    pthread_mutex_lock(&log->segs_mu);
    while (log->nsegs > 0 && rc == 0) {
        evl_seg *d = log->segs[log->nsegs - 1];
        rc = evl_seg_remove_files(log, d->base);
        if (d == log->active)
            log->active = NULL;
        log->nsegs--;
        evl_seg_drop(log, d);
    }
    pthread_mutex_unlock(&log->segs_mu);
    if (rc == 0 && (rc = log->io->sync_dir(log->io, log->dirfd)) < 0)
        rc = evl_err(log, EVLOG_EIO, "%s: cannot sync directory: %s", log->dir,
                     evl_errno_str(rc));
    return rc < 0 ? rc : create_first(log, start);
}

int evl_recover(evlog *log)
{
    listing l;
    evl_ckpt ck;
    evl_footer f;
    uint64_t dseg = 0, dpos = EVL_SEG_HEADER_SIZE, size = 0, next = 0, end = 0;
    uint64_t side_seg = 0, side_pos = 0;
    evl_seg *side = NULL; /* read-only: truncate.pending, to read a torn batch from */
    evl_seg_header h;
    evl_check hc;
    size_t i, k;
    int have_ckpt, rc, cut_synced = 0;

    memset(&l, 0, sizeof l);
    l.log = log;
    l.cleanup = !log->read_only;
    if ((rc = log->io->list(log->io, log->dirfd, list_cb, &l)) != 0) {
        free(l.bases);
        return rc > 0 ? evl_err(log, EVLOG_ENOMEM, "out of memory listing %s", log->dir)
                      : evl_err(log, EVLOG_EIO, "%s: cannot list: %s", log->dir,
                                evl_errno_str(rc));
    }
    if ((have_ckpt = evl_ckpt_read(log, &ck)) < 0) {
        free(l.bases);
        return have_ckpt;
    }
    if (l.n)
        qsort(l.bases, l.n, sizeof *l.bases, cmp_u64);
    if (l.has_side && !log->read_only) {
        /* a truncation inside a batch may have been cut short while it
         * rewrote that batch: put the synced copy back before scanning */
        rc = 0;
        if (have_ckpt && ck.truncate_to != EVL_NO_TRUNCATE)
            rc = evl_side_restore(log, &ck);
        else
            (void)log->io->unlink(log->io, log->dirfd, EVL_SIDE_NAME);
        if (rc < 0) {
            free(l.bases);
            return rc;
        }
    }

    if (l.n == 0) {
        free(l.bases);
        if (!have_ckpt && l.others > 0)
            return evl_err(log, EVLOG_ENOTLOG, "%s: holds %zu files and no log", log->dir,
                           l.others);
        if (have_ckpt && ck.durable_offset > ck.start_offset)
            return evl_err(log, EVLOG_ECORRUPT,
                           "%s: the checkpoint names durable records up to offset %llu but "
                           "no segment file is left",
                           log->dir, (unsigned long long)ck.durable_offset);
        if (log->read_only) {
            atomic_store(&log->start_offset, have_ckpt ? ck.start_offset : 0);
            atomic_store(&log->end_offset, have_ckpt ? ck.start_offset : 0);
            atomic_store(&log->durable_offset, have_ckpt ? ck.start_offset : 0);
            return 0;
        }
        rc = create_first(log, have_ckpt ? ck.start_offset : 0);
        /* its checkpoint names no truncation now: the side copy is stale,
         * and its removal is synced before any later truncation's intent */
        if (rc == 0 && l.has_side &&
            log->io->unlink(log->io, log->dirfd, EVL_SIDE_NAME) == 0 &&
            (rc = log->io->sync_dir(log->io, log->dirfd)) < 0)
            rc = evl_err(log, EVLOG_EIO, "%s: cannot sync directory: %s", log->dir,
                         evl_errno_str(rc));
        return rc;
    }

    if (l.has_side && log->read_only && have_ckpt && ck.truncate_to != EVL_NO_TRUNCATE)
        side = side_map(log, &ck, &side_seg, &side_pos);

    /* the segment to scan from: the checkpoint's, or without one the first
     * whose footer does not vouch for it */
    k = l.n - 1;
    if (have_ckpt) {
        for (i = 0; i < l.n && l.bases[i] != ck.durable_segment; i++)
            ;
        if (i < l.n) {
            k = i;
            dseg = ck.durable_segment;
            dpos = ck.durable_pos;
        } else if (ck.durable_segment > l.bases[l.n - 1]) {
            free(l.bases);
            return evl_err(log, EVLOG_ECORRUPT,
                           "%s: segment %020llu holding durable records is missing", log->dir,
                           (unsigned long long)ck.durable_segment);
        } else {
            have_ckpt = 0;
        }
    }

    /* below the durable segment: footers only */
    for (i = 0; i < l.n; i++) {
        evl_seg *s = evl_seg_new(l.bases[i]);
        int fr;
        if (!s) {
            rc = evl_err(log, EVLOG_ENOMEM, "out of memory");
            goto out;
        }
        if ((fr = evl_seg_read_footer(log, s, &f, &size, &hc, NULL)) < 0) {
            evl_seg_unref(log, s);
            rc = fr;
            goto out;
        }
        if (hc == EVL_BAD_VERSION) {
            evl_seg_unref(log, s);
            rc = evl_err(log, EVLOG_EVERSION, "%s/%020llu.log: format version unknown to this "
                         "library (%u)", log->dir, (unsigned long long)l.bases[i],
                         EVL_FORMAT_VERSION);
            goto out;
        }
        if (i >= k) {
            evl_seg_unref(log, s);
            break;
        }
        if (hc != EVL_OK || !fr || (i + 1 < l.n && f.next_offset != l.bases[i + 1])) {
            rc = damage(log, s->name,
                        hc != EVL_OK ? 0 : size >= EVL_FOOTER_SIZE ? size - EVL_FOOTER_SIZE : 0,
                        l.bases[i],
                        hc != EVL_OK ? "segment header invalid"
                        : !fr        ? "a sealed segment without a valid footer"
                                     : "its footer's next offset is not the next segment's base");
            evl_seg_unref(log, s);
            if (rc != 1)
                goto out;
            /* EVLOG_OPEN_DAMAGED: the log ends before this segment */
            l.n = i;
            rc = 0;
            goto done;
        }
        atomic_store(&s->end_pos, f.data_end);
        atomic_store(&s->next_offset, f.next_offset);
        atomic_store(&s->sealed, 1);
        s->file_size = size;
        s->batches = f.batches;
        s->min_ts = f.min_ts;
        s->max_ts = f.max_ts;
        if ((rc = push(log, s)) < 0) {
            evl_seg_unref(log, s);
            goto out;
        }
    }

    /* from the durable segment on: scan every batch */
    for (i = k; i < l.n; i++) {
        evl_seg *s = evl_seg_new(l.bases[i]);
        evl_check why;
        uint64_t start, expect, limit, pos;
        int fr, sealed_on_disk, stale;

        if (!s) {
            rc = evl_err(log, EVLOG_ENOMEM, "out of memory");
            goto out;
        }
        if ((fr = evl_seg_read_footer(log, s, &f, &size, &hc, &h)) < 0) {
            evl_seg_unref(log, s);
            rc = fr;
            goto out;
        }
        sealed_on_disk = fr;
        if (i == k && log->nsegs > 0)
            next = atomic_load(&log->segs[log->nsegs - 1]->next_offset);
        if (i > k && s->base != next) {
            /* a gap after the durable segment: nothing there was durable */
            evl_seg_unref(log, s);
            if (!log->read_only && (rc = drop_later(log, l.bases, l.n, i - 1)) < 0)
                goto out;
            if (log->read_only)
                note_stale(log, l.bases + i, l.n - i, next);
            l.n = i;
            break;
        }
        s->capacity = size;
        if (hc == EVL_BAD_VERSION) {
            evl_seg_unref(log, s);
            rc = evl_err(log, EVLOG_EVERSION, "%s/%020llu.log: format version unknown to this "
                         "library (%u)", log->dir, (unsigned long long)l.bases[i],
                         EVL_FORMAT_VERSION);
            goto out;
        }
        if (hc == EVL_OK && h.capacity > size && !fr)
            s->capacity = h.capacity;
        if (hc != EVL_OK) {
            /* a segment whose creation never completed holds nothing
             * durable when it lies past the durable segment */
            if (hc == EVL_BAD_ZERO && i == l.n - 1 && (s->base > dseg || !have_ckpt) &&
                (log->nsegs > 0 || !have_ckpt)) {
                evl_seg_unref(log, s);
                if (!log->read_only && (rc = evl_seg_remove_files(log, l.bases[i])) < 0)
                    goto out;
                l.n = i;
                break;
            }
            rc = damage(log, s->name, 0, s->base, "segment header invalid");
            if (rc == EVLOG_ECORRUPT && log->nsegs == 0 && i == 0 && !have_ckpt)
                rc = evl_err(log, EVLOG_ENOTLOG, "%s/%s: not an evlog segment", log->dir,
                             s->name);
            evl_seg_unref(log, s);
            if (rc == 1) {
                l.n = i;
                rc = 0;
                break;
            }
            goto out;
        }
        if (s->capacity < log->segment_bytes && !fr && !log->read_only)
            s->capacity = log->segment_bytes;
        if ((rc = map_for_scan(log, s, size)) < 0) {
            evl_seg_unref(log, s);
            goto out;
        }
        limit = fr ? f.data_end : size;
        start = scan_start(log, s, s->base == dseg ? dpos : EVL_SEG_HEADER_SIZE, limit, &expect,
                           &stale);
        pos = scan(log, s, start, expect, limit, &next, &why);
        if (!fr && limit - pos >= EVL_FOOTER_SIZE && evl_footer_decode(&f, s->map + pos) == EVL_OK &&
            f.base_offset == s->base && f.data_end == pos && f.next_offset == next) {
            /* sealed, but the cut of the file did not happen: finish it */
            if (!log->read_only && s->fd < 0 &&
                (rc = log->io->open(log->io, log->dirfd, s->name, EVL_O_RDWR)) >= 0)
                s->fd = rc;
            if (!log->read_only && (rc < 0 ||
                                    (rc = log->io->truncate(log->io, s->fd, pos + EVL_FOOTER_SIZE)) < 0 ||
                                    (rc = log->io->fsync(log->io, s->fd)) < 0)) {
                evl_seg_unref(log, s);
                rc = evl_err(log, EVLOG_EIO, "%s/%s: cannot finish sealing: %s", log->dir,
                             s->name, evl_errno_str(rc));
                goto out;
            }
            fr = 1;
            limit = pos;
            size = pos + EVL_FOOTER_SIZE;
        }
        if (fr && pos == limit && next == f.next_offset) {
            /* whole and sealed */
            atomic_store(&s->end_pos, pos);
            atomic_store(&s->next_offset, next);
            atomic_store(&s->sealed, 1);
            s->file_size = size;
            s->batches = f.batches;
            s->min_ts = f.min_ts;
            s->max_ts = f.max_ts;
            s->stats_known = 1;
            /* nothing else rewrites a sealed segment's index */
            if (stale && !log->read_only)
                (void)evl_index_write(log, s);
            if (s->fd >= 0) {
                (void)log->io->close(log->io, s->fd);
                s->fd = -1;
            }
            evl_seg_unmap(log, s);
            if ((rc = push(log, s)) < 0) {
                evl_seg_unref(log, s);
                goto out;
            }
            continue;
        }
        if (fr && pos == limit)
            why = EVL_BAD_OFFSET;
        if (side && s->base == side_seg && pos == side_pos && next == side->base) {
            /* read-only: the batch that a truncation was rewriting when it
             * stopped, torn or not yet there; its synced copy is read from
             * truncate.pending (side_map), which follows this segment in
             * the table. This one is complete for the handle (sealed in
             * memory), so that readers move on to the copy; like any
             * read-only handle, reopen to see what a writer does next */
            atomic_store(&s->end_pos, pos);
            atomic_store(&s->next_offset, next);
            atomic_store(&s->sealed, 1);
            evl_seg_unmap(log, s);
            if ((rc = push(log, s)) < 0) {
                evl_seg_unref(log, s);
                goto out;
            }
            if ((rc = push(log, side)) < 0)
                goto out;
            side = NULL;
            break;
        }
        /* a segment sealed on disk was synced whole before its cut: any
         * failure in it is damage, wherever the checkpoint says */
        if ((s->base == dseg && pos < dpos) || sealed_on_disk) {
            rc = damage(log, s->name, pos, next, evl_check_str(why));
            if (rc != 1) {
                evl_seg_unref(log, s);
                goto out;
            }
            rc = 0;
        } else if (!log->read_only) {
            /* a torn tail: nothing from here on was durable; the cut's sync
             * makes everything before it durable */
            if (s->capacity < log->segment_bytes)
                s->capacity = log->segment_bytes;
            if ((rc = drop_later(log, l.bases, l.n, i)) < 0 ||
                (rc = evl_seg_zero_tail(log, s, pos)) < 0 ||
                (rc = evl_seg_open_active(log, s)) < 0) {
                evl_seg_unref(log, s);
                goto out;
            }
            s->synced_pos = pos;
            evl_touch_restart(log);
            log->active = s;
            cut_synced = 1;
        }
        atomic_store(&s->end_pos, pos);
        atomic_store(&s->next_offset, next);
        /* the index file may name batches past the cut (or be missing):
         * rewrite it now rather than at the next close or seal */
        if (log->active == s && stale)
            (void)evl_index_write(log, s);
        if ((rc = push(log, s)) < 0) {
            if (log->active == s)
                log->active = NULL;
            evl_seg_unref(log, s);
            goto out;
        }
        break;
    }

done:
    if (log->nsegs == 0) {
        if (log->read_only) {
            atomic_store(&log->start_offset, l.n ? l.bases[0] : 0);
            atomic_store(&log->end_offset, l.n ? l.bases[0] : 0);
            rc = 0;
            goto out;
        }
        rc = create_first(log, l.bases[0]);
        goto out;
    }
    {
        evl_seg *last = log->segs[log->nsegs - 1];
        end = atomic_load(&last->next_offset);
        atomic_store(&log->end_offset, end);
        atomic_store(&log->start_offset, log->segs[0]->base);
        if (have_ckpt && ck.start_offset > log->segs[0]->base)
            atomic_store(&log->start_offset, ck.start_offset < end ? ck.start_offset : end);
        atomic_store(&log->durable_offset,
                     have_ckpt ? (ck.durable_offset < end ? ck.durable_offset : end)
                               : log->segs[k < log->nsegs ? k : log->nsegs - 1]->base);
        log->durable_seg = have_ckpt ? dseg : log->segs[0]->base;
        log->durable_pos = have_ckpt ? dpos : EVL_SEG_HEADER_SIZE;
        if (cut_synced) {
            /* the writer synced the segment it cut (fdatasync writes every
             * dirty page of the file), and the segments before it are
             * sealed: all of the log is durable now */
            atomic_store(&log->durable_offset, end);
            log->durable_seg = last->base;
            log->durable_pos = atomic_load(&last->end_pos);
        }
        if (have_ckpt && ck.durable_offset > end && !(log->flags & EVLOG_OPEN_DAMAGED)) {
            rc = evl_err(log, EVLOG_ECORRUPT,
                         "%s: the checkpoint names durable records up to offset %llu but the "
                         "log ends at %llu",
                         log->dir, (unsigned long long)ck.durable_offset,
                         (unsigned long long)end);
            goto out;
        }
    }
    if (have_ckpt && ck.start_offset > end) {
        /* a truncate_front past records that a crash then lost: offsets below
         * the durable start are never given out again (as Kafka keeps its
         * log start offset), so the log goes on, empty, from the start */
        if (log->read_only) {
            atomic_store(&log->start_offset, ck.start_offset);
            atomic_store(&log->end_offset, ck.start_offset);
        } else if ((rc = restart_at(log, ck.start_offset)) < 0) {
            goto out;
        }
        end = ck.start_offset;
    }
    rc = 0;
    /* a read-only handle shows a pending truncation's records: it cannot
     * finish it, and the next writer will */
    if (!log->read_only && have_ckpt && ck.truncate_to != EVL_NO_TRUNCATE)
        rc = evl_finish_truncate(log, ck.truncate_to);
    if (rc == 0 && !log->read_only && (!have_ckpt || cut_synced)) {
        evl_ckpt c;
        evl_ckpt_current(log, &c);
        rc = evl_ckpt_write(log, &c, 1);
    }
out:
    evl_seg_unref(log, side);
    free(l.bases);
    return rc;
}

/*-******************* following a writer *******************/
typedef struct find_ctx {
    uint64_t want;
    int found;
} find_ctx;

static int find_cb(const char *name, void *payload)
{
    find_ctx *f = payload;
    uint64_t base;
    if (evl_parse_name(name, EVL_SEG_SUFFIX, &base) && base == f->want)
        f->found = 1;
    return 0;
}

/* Extend the last segment `s` of a read-only handle with the batches a
 * writer appended since. Caller holds segs_mu. Returns 1 if it grew. */
static int refresh_segment(evlog *log, evl_seg *s)
{
    uint64_t end = atomic_load(&s->end_pos), expect = atomic_load(&s->next_offset);
    uint64_t start = end;
    evl_footer f;
    evl_batch b;

    while (end < s->map_len && evl_batch_check(&b, s->map + end, s->map_len - end) == EVL_OK &&
           b.base_offset == expect) {
        end += b.length;
        expect = b.base_offset + b.last_delta + 1;
    }
    if (end != start) {
        evl_store(&s->next_offset, expect);
        evl_store(&s->end_pos, end);
        evl_store(&log->end_offset, expect);
    }
    if (s->map_len - end >= EVL_FOOTER_SIZE && evl_footer_decode(&f, s->map + end) == EVL_OK &&
        f.base_offset == s->base && f.data_end == end && f.next_offset == expect) {
        atomic_store_explicit(&s->sealed, 1, memory_order_release);
        return 1;
    }
    return end != start;
}

/*
 * For a read-only handle: take in what a writer (in any process) appended
 * since the handle was opened: batches after the last known end, and the
 * segments it rolled to. Returns 1 if the log grew, 0 if not, or an error.
 */
int evl_refresh(evlog *log)
{
    int grew = 0, rc = 0;

    pthread_mutex_lock(&log->segs_mu);
    for (;;) {
        evl_seg *s = log->nsegs ? log->segs[log->nsegs - 1] : NULL, *n;
        evl_seg_header h;
        find_ctx fc;

        if (s && !atomic_load(&s->sealed)) {
            if (!s->map && (rc = evl_seg_map_ro(log, s)) < 0)
                break;
            grew |= refresh_segment(log, s);
            if (!atomic_load(&s->sealed))
                break;
        }
        fc.want = s ? atomic_load(&s->next_offset) : atomic_load(&log->end_offset);
        fc.found = 0;
        if ((rc = log->io->list(log->io, log->dirfd, find_cb, &fc)) != 0 || !fc.found)
            break;
        if (!(n = evl_seg_new(fc.want))) {
            rc = EVLOG_ENOMEM;
            break;
        }
        /* a segment being created may not have its header yet; the stale
         * one that the open found after a gap is no continuation */
        if (evl_seg_map_ro(log, n) < 0 || evl_seg_header_decode(&h, n->map) != EVL_OK ||
            h.base_offset != n->base ||
            (log->has_stale && n->base == log->stale_base &&
             evl_ld64(n->map + 56) == log->stale_sum) ||
            evl_segs_push(log, n) < 0) {
            evl_seg_unref(log, n);
            break;
        }
        grew = 1;
    }
    pthread_mutex_unlock(&log->segs_mu);
    return rc < 0 ? rc : grew;
}
