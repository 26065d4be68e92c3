/*
 * log.c - the handle: options, open and close, append (batches, offsets,
 * rolls), sync modes and group commit, poisoning.
 */
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void evlog_options_init(evlog_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->version = EVLOG_OPTIONS_VERSION;
    opts->segment_bytes = EVLOG_DEFAULT_SEGMENT_BYTES;
    opts->index_interval_bytes = EVLOG_DEFAULT_INDEX_INTERVAL;
    opts->sync_mode = EVLOG_SYNC_NONE;
    opts->sync_interval_ms = EVLOG_DEFAULT_SYNC_INTERVAL_MS;
    opts->compression = EVLOG_COMPRESS_NONE;
}

/* Copy the options into the handle, applying defaults; EVLOG_EINVAL with a
 * message for any value out of its range. */
static int apply_options(evlog *log, const evlog_options *o)
{
    evlog_options d;
    evlog_options_init(&d);
    if (!o)
        o = &d;
    if (o->version == 0 || o->version > EVLOG_OPTIONS_VERSION)
        return evl_err(log, EVLOG_EINVAL, "options version %u unknown (this library: %u)",
                       o->version, EVLOG_OPTIONS_VERSION);
    log->segment_bytes = o->segment_bytes ? o->segment_bytes : d.segment_bytes;
    log->index_interval = o->index_interval_bytes ? o->index_interval_bytes
                                                  : d.index_interval_bytes;
    log->sync_mode = o->sync_mode ? o->sync_mode : d.sync_mode;
    log->sync_interval_ms = o->sync_interval_ms ? o->sync_interval_ms : d.sync_interval_ms;
    log->compression = o->compression ? o->compression : d.compression;
    log->flags = o->flags;
    log->io = o->io ? o->io : &evl_io_posix;
    if (o->version >= 2 && o->linger_us > EVLOG_MAX_LINGER_US)
        return evl_err(log, EVLOG_EINVAL, "linger_us %u above %u", o->linger_us,
                       EVLOG_MAX_LINGER_US);
    if (o->version >= 2 && log->sync_mode != EVLOG_SYNC_ALWAYS)
        log->linger_ns = (int64_t)o->linger_us * 1000;
    if (log->segment_bytes < EVLOG_MIN_SEGMENT_BYTES ||
        log->segment_bytes > EVLOG_MAX_SEGMENT_BYTES)
        return evl_err(log, EVLOG_EINVAL, "segment_bytes %llu outside %llu..%llu",
                       (unsigned long long)log->segment_bytes,
                       (unsigned long long)EVLOG_MIN_SEGMENT_BYTES,
                       (unsigned long long)EVLOG_MAX_SEGMENT_BYTES);
    if (log->index_interval < EVLOG_MIN_INDEX_INTERVAL)
        return evl_err(log, EVLOG_EINVAL, "index_interval_bytes %u below %u",
                       log->index_interval, EVLOG_MIN_INDEX_INTERVAL);
    if (log->sync_mode < EVLOG_SYNC_NONE || log->sync_mode > EVLOG_SYNC_ALWAYS)
        return evl_err(log, EVLOG_EINVAL, "unknown sync_mode %d", log->sync_mode);
    if (log->compression < EVLOG_COMPRESS_NONE || log->compression > EVLOG_COMPRESS_LZ4)
        return evl_err(log, EVLOG_EINVAL, "unknown compression %d", log->compression);
    if (log->flags & ~(EVLOG_READ_ONLY | EVLOG_OPEN_DAMAGED | EVLOG_UNCACHE_SEALED))
        return evl_err(log, EVLOG_EINVAL, "unknown flags 0x%x", log->flags);
    log->read_only = (log->flags & (EVLOG_READ_ONLY | EVLOG_OPEN_DAMAGED)) != 0;
    return 0;
}

static void *syncer_main(void *arg);
static void *sealer_main(void *arg);

static void log_free(evlog *log)
{
    size_t i;
    pthread_mutex_lock(&log->segs_mu);
    if (log->touch_seg)
        evl_touch_unpin(log, log->touch_seg);
    for (i = 0; i < log->nsegs; i++)
        evl_seg_unref(log, log->segs[i]);
    pthread_mutex_unlock(&log->segs_mu);
    free(log->segs);
    if (log->spare_fd >= 0)
        evl_spare_drop(log, log->spare_fd);
    if (log->ckpt_fd >= 0)
        (void)log->io->close(log->io, log->ckpt_fd);
    if (log->lockfd >= 0)
        (void)log->io->close(log->io, log->lockfd);
    if (log->dirfd >= 0)
        (void)log->io->close(log->io, log->dirfd);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->segs_mu);
    pthread_mutex_destroy(&log->err_mu);
    pthread_mutex_destroy(&log->touch_mu);
    pthread_cond_destroy(&log->cv);
    pthread_cond_destroy(&log->seal_cv);
    pthread_cond_destroy(&log->touch_cv);
    free(log->scratch);
    free(log->dir);
    free(log);
}

int evlog_open_ex(evlog **out, const char *dir, const evlog_options *opts, char *errbuf,
                  size_t errbuf_len)
{
    evlog *log;
    int rc, created_lock = 0;

    if (errbuf && errbuf_len)
        errbuf[0] = '\0';
    if (!out)
        return EVLOG_EINVAL;
    *out = NULL;
    if (!(log = calloc(1, sizeof *log)))
        return EVLOG_ENOMEM;
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->segs_mu, NULL);
    pthread_mutex_init(&log->err_mu, NULL);
    pthread_mutex_init(&log->touch_mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    pthread_cond_init(&log->seal_cv, NULL);
    {
        /* the pretoucher also closes lingering batches on time: a clock
         * that the wall clock's steps do not move */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&log->touch_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    log->dirfd = log->lockfd = log->ckpt_fd = log->spare_fd = -1;
    if (!dir || !*dir) {
        rc = evl_err(log, EVLOG_EINVAL, "no directory given");
        goto fail;
    }
    if (!(log->dir = strdup(dir))) {
        rc = EVLOG_ENOMEM;
        goto fail;
    }
    if ((rc = apply_options(log, opts)) < 0)
        goto fail;
    log->dirfd = log->io->open_dir(log->io, dir, !log->read_only);
    if (log->dirfd < 0) {
        rc = log->dirfd == -ENOTDIR ? EVLOG_ENOTLOG : evl_errno_code(log->dirfd);
        evl_err(log, rc, "%s: cannot open directory: %s", dir, evl_errno_str(log->dirfd));
        goto fail;
    }
    if (!log->read_only) {
        /* one writer per log, across processes: the lock goes with the
         * descriptor, so a crashed writer never leaves it held */
        rc = log->io->open(log->io, log->dirfd, EVL_LOCK_NAME, EVL_O_RDWR);
        if (rc == -ENOENT) {
            /* a directory that is not a log is left as it was */
            if ((rc = evl_check_foreign(log)) < 0)
                goto fail;
            rc = log->io->open(log->io, log->dirfd, EVL_LOCK_NAME, EVL_O_RDWR | EVL_O_CREAT);
            created_lock = rc >= 0;
        }
        if (rc < 0) {
            rc = evl_err(log, evl_errno_code(rc), "%s/%s: cannot open: %s", dir,
                         EVL_LOCK_NAME, evl_errno_str(rc));
            goto fail;
        }
        log->lockfd = rc;
        if ((rc = log->io->lock(log->io, log->lockfd)) < 0) {
            rc = rc == -EWOULDBLOCK
                     ? evl_err(log, EVLOG_ELOCKED, "%s: another handle writes this log", dir)
                     : evl_err(log, EVLOG_EIO, "%s/%s: cannot lock: %s", dir, EVL_LOCK_NAME,
                               evl_errno_str(rc));
            goto fail;
        }
    }
    if ((rc = evl_recover(log)) < 0) {
        if (rc == EVLOG_ENOTLOG && created_lock)
            (void)log->io->unlink(log->io, log->dirfd, EVL_LOCK_NAME);
        goto fail;
    }
    atomic_store(&log->append_end, atomic_load(&log->end_offset));
    if (!log->read_only && log->spare_left)
        (void)log->io->unlink(log->io, log->dirfd, EVL_SPARE_NAME);
    if (!log->read_only) {
        if (pthread_create(&log->sealer, NULL, sealer_main, log) != 0) {
            rc = evl_err(log, EVLOG_ENOMEM, "cannot start the sealing thread");
            goto fail;
        }
        log->sealer_running = 1;
        if (pthread_create(&log->toucher, NULL, evl_toucher_main, log) != 0) {
            rc = evl_err(log, EVLOG_ENOMEM, "cannot start the pretouch thread");
            goto fail;
        }
        log->toucher_running = 1;
    }
    if (!log->read_only && log->sync_mode == EVLOG_SYNC_INTERVAL) {
        if (pthread_create(&log->syncer, NULL, syncer_main, log) != 0) {
            rc = evl_err(log, EVLOG_ENOMEM, "cannot start the sync thread");
            goto fail;
        }
        log->syncer_running = 1;
    }
    *out = log;
    return 0;
fail:
    if (errbuf && errbuf_len) {
        strncpy(errbuf, log->errmsg[0] ? log->errmsg : evlog_strerror(rc), errbuf_len - 1);
        errbuf[errbuf_len - 1] = '\0';
    }
    log_free(log);
    return rc;
}

int evlog_open(evlog **out, const char *dir, const evlog_options *opts)
{
    return evlog_open_ex(out, dir, opts, NULL, 0);
}

/*-******************* segment table *******************/
evl_seg *evl_segs_find(evlog *log, uint64_t offset)
{
    size_t lo = 0, hi = log->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? log->segs[lo - 1] : NULL;
}

int evl_segs_push(evlog *log, evl_seg *s)
{
    if (log->nsegs == log->segs_cap) {
        size_t cap = log->segs_cap ? log->segs_cap * 2 : 16;
        evl_seg **n = realloc(log->segs, cap * sizeof *n);
        if (!n)
            return evl_err(log, EVLOG_ENOMEM, "out of memory for the segment table");
        log->segs = n;
        log->segs_cap = cap;
    }
    log->segs[log->nsegs++] = s;
    return 0;
}

/*-******************* sync *******************/
/* Poison the handle: after a failed sync the kernel may have dropped the
 * dirty pages it could not write, so a later sync could succeed without
 * the data; nothing more is written through this handle. mu held. */
static int poison(evlog *log, int rc)
{
    /* lingering appends were acknowledged: they stay, published, as
     * appends without linger would have */
    if (!log->failed)
        (void)evl_flush_locked(log);
    pthread_mutex_lock(&log->err_mu);
    memcpy(log->failmsg, log->errmsg, sizeof log->failmsg);
    pthread_mutex_unlock(&log->err_mu);
    log->failed = 1;
    pthread_cond_broadcast(&log->cv);
    return rc;
}

/*
 * Make everything appended so far durable. Caller holds mu, which is
 * released during the sync itself, so that appends go on meanwhile and the
 * next sync takes them all at once (group commit).
 */
static int sync_once(evlog *log)
{
    evl_seg *s = log->active;
    uint64_t end, from, off;
    evl_ckpt c;
    int rc;

    if (!s) {
        atomic_store(&log->durable_offset, atomic_load(&log->end_offset));
        return 0;
    }
    log->syncing = 1;
    end = atomic_load(&s->end_pos);
    off = atomic_load(&s->next_offset);
    from = s->synced_pos;
    pthread_mutex_unlock(&log->mu);
    rc = end > from ? log->io->msync(log->io, s->map, from, end - from) : 0;
    pthread_mutex_lock(&log->mu);
    log->syncing = 0;
    if (rc < 0) {
        evl_err(log, EVLOG_EIO,
                "%s/%s: sync of bytes %llu..%llu failed: %s; the handle is failed, records "
                "from offset %llu on may be lost",
                log->dir, s->name, (unsigned long long)from, (unsigned long long)end,
                evl_errno_str(rc), (unsigned long long)atomic_load(&log->durable_offset));
        return poison(log, EVLOG_EIO);
    }
    if (end > s->synced_pos)
        s->synced_pos = end;
    if (off > atomic_load(&log->durable_offset)) {
        atomic_store(&log->durable_offset, off);
        log->durable_seg = s->base;
        log->durable_pos = end;
        /* the recovery point follows each sync, without a sync of its own:
         * it stays a lower bound whatever reaches the disk */
        evl_ckpt_current(log, &c);
        (void)evl_ckpt_write(log, &c, 0);
    }
    pthread_cond_broadcast(&log->cv);
    return 0;
}

void evl_poison(evlog *log)
{
    (void)poison(log, 0);
}

/* Wait until offset `target` is durable, syncing if no one else does.
 * Caller holds mu. Segments still being sealed go first: the durable
 * offset never passes bytes that are not on disk. */
static int wait_durable(evlog *log, uint64_t target)
{
    int rc;
    while (atomic_load(&log->durable_offset) < target) {
        if (log->failed)
            return evl_failed(log);
        if (log->syncing || log->seal_head) {
            pthread_cond_wait(&log->cv, &log->mu);
            continue;
        }
        if ((rc = sync_once(log)) < 0)
            return rc;
    }
    return 0;
}

/* EVLOG_EFAILED, with the reason the handle failed. */
int evl_failed(evlog *log)
{
    char why[EVL_ERRMSG_MAX];
    pthread_mutex_lock(&log->err_mu);
    memcpy(why, log->failmsg, sizeof why);
    pthread_mutex_unlock(&log->err_mu);
    return evl_err(log, EVLOG_EFAILED, "the handle failed earlier, nothing more is written; "
                   "reopen the log. The failure: %s", why);
}

int evl_sync_locked(evlog *log)
{
    int rc;
    if (log->failed)
        return evl_failed(log);
    if ((rc = evl_flush_locked(log)) < 0)
        return rc;
    return wait_durable(log, atomic_load(&log->end_offset));
}

/* A public call of a writer's handle: `fn` under the writer's lock, unless
 * the handle is read-only or failed. */
static int writer_call(evlog *log, int (*fn)(evlog *log))
{
    int rc;
    if (!log)
        return EVLOG_EINVAL;
    if (log->read_only)
        return evl_err(log, EVLOG_EREADONLY, "%s: the log is open read-only", log->dir);
    pthread_mutex_lock(&log->mu);
    rc = log->failed ? evl_failed(log) : fn(log);
    pthread_mutex_unlock(&log->mu);
    return rc;
}

int evlog_sync(evlog *log)
{
    return writer_call(log, evl_sync_locked);
}

static void *syncer_main(void *arg)
{
    evlog *log = arg;
    struct timespec ts;
    pthread_mutex_lock(&log->mu);
    while (!log->syncer_stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += log->sync_interval_ms / 1000;
        ts.tv_nsec += (long)(log->sync_interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!log->syncer_stop && pthread_cond_timedwait(&log->cv, &log->mu, &ts) == 0)
            ;
        if (!log->syncer_stop && !log->failed)
            (void)evl_sync_locked(log);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

/*
 * The sealer thread: syncs and cuts the segments that rolls handed over,
 * oldest first, and moves the durable point past each. Sealing in the
 * background keeps the sync of a whole segment (as Kafka flushes a rolled
 * segment asynchronously) off the append path.
 */
static void *sealer_main(void *arg)
{
    evlog *log = arg;
    evl_ckpt c;
    int rc;

    pthread_mutex_lock(&log->mu);
    for (;;) {
        evl_seg *s = log->seal_head;
        /* the spare first: it takes a few ms, and the writer may need it
         * before the seal (a 128 MiB writeback) is done */
        if (log->spare_want && log->spare_fd < 0 && !log->failed && !log->syncer_stop) {
            uint64_t cap = log->segment_bytes;
            int fd;
            log->spare_want = 0;
            pthread_mutex_unlock(&log->mu);
            rc = evl_spare_make(log, cap, &fd);
            pthread_mutex_lock(&log->mu);
            if (rc < 0)
                poison(log, rc);
            if (fd >= 0) {
                log->spare_fd = fd;
                log->spare_cap = cap;
            }
            continue;
        }
        if (!s) {
            if (log->syncer_stop)
                break;
            pthread_cond_wait(&log->seal_cv, &log->mu);
            continue;
        }
        pthread_mutex_unlock(&log->mu);
        rc = log->failed ? EVLOG_EFAILED : evl_seg_seal_finish(log, s);
        pthread_mutex_lock(&log->mu);
        log->seal_head = s->seal_next;
        if (!log->seal_head)
            log->seal_tail = NULL;
        s->seal_next = NULL;
        if (rc < 0) {
            poison(log, rc);
        } else if (atomic_load(&log->durable_offset) < atomic_load(&s->next_offset)) {
            atomic_store(&log->durable_offset, atomic_load(&s->next_offset));
            log->durable_seg = s->base;
            log->durable_pos = atomic_load(&s->end_pos);
            evl_ckpt_current(log, &c);
            if ((rc = evl_ckpt_write(log, &c, 1)) < 0)
                poison(log, rc);
        }
        pthread_mutex_lock(&log->segs_mu);
        /* the sealer's pin goes; with no reader left, so does the mapping,
         * which bounds the writer's memory to the unsealed segments */
        if (--s->pins == 0)
            evl_seg_unmap(log, s);
        evl_seg_unref(log, s);
        pthread_mutex_unlock(&log->segs_mu);
        pthread_cond_broadcast(&log->cv);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

/* Wait until the sealer has finished every rolled segment. mu held. */
void evl_wait_sealed(evlog *log)
{
    while (log->seal_head || log->syncing)
        pthread_cond_wait(&log->cv, &log->mu);
}

/*-******************* append *******************/
/* Make room for a batch of `size` bytes: hand the active segment (if any)
 * to the sealer and create the next one. mu held. On a failed creation
 * nothing is lost and the next append tries again. */
static int roll(evlog *log, uint64_t size)
{
    evl_seg *s, *n;
    int rc;

    while (log->syncing)
        pthread_cond_wait(&log->cv, &log->mu);
    /* a lingering batch opened during the wait goes with its segment */
    (void)evl_flush_locked(log);
    /* read after the wait: another appender may have rolled meanwhile */
    s = log->active;
    if (s && atomic_load(&s->end_pos) + size + EVL_FOOTER_SIZE <= s->capacity)
        return 0;
    if (log->failed)
        return evl_failed(log);
    if (s) {
        evl_seg_seal_begin(log, s);
        log->active = NULL;
        /* the sealer pins the mapping it syncs, so that readers passing by
         * never unmap it under the sync */
        pthread_mutex_lock(&log->segs_mu);
        s->pins++;
        s->refs++;
        pthread_mutex_unlock(&log->segs_mu);
        if (log->seal_tail)
            log->seal_tail->seal_next = s;
        else
            log->seal_head = s;
        log->seal_tail = s;
        pthread_cond_signal(&log->seal_cv);
    }
    if ((rc = evl_seg_create(log, atomic_load(&log->end_offset), &n)) < 0) {
        /* a disk that refuses a new file may have refused the sealer too:
         * let its outcome be known before the caller decides to retry */
        evl_wait_sealed(log);
        return rc;
    }
    pthread_mutex_lock(&log->segs_mu);
    rc = evl_segs_push(log, n);
    pthread_mutex_unlock(&log->segs_mu);
    if (rc < 0) {
        evl_seg_unref(log, n);
        return rc;
    }
    log->active = n;
    evl_want_pages(log, n, EVL_SEG_HEADER_SIZE);
    /* a log that fills segments gets the next one's file made ahead
     * (evl_ask_pages asks for one sooner, once a segment is half full; a
     * handle that fills none never makes one) */
    if (s && log->spare_fd < 0)
        log->spare_want = 1;
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Make the compression buffer hold `size` bytes; 0 on no memory. */
static int scratch_fit(evlog *log, uint64_t size)
{
    uint8_t *p;
    if (log->scratch_cap >= size)
        return 1;
    if (!(p = realloc(log->scratch, (size_t)size)))
        return 0;
    log->scratch = p;
    log->scratch_cap = (size_t)size;
    return 1;
}

/* Frame the records at `dst` LZ4-compressed when that is smaller; falls
 * back to the plain batch. Returns the batch length or 0 on no memory. */
static uint32_t encode_lz4(evlog *log, uint8_t *dst, evl_batch *h, const evlog_record *recs,
                           size_t n, uint64_t size, uint64_t base, int64_t now)
{
    uint32_t len, raw;
    int got = 0;

    if (!scratch_fit(log, size))
        return 0;
    len = evl_batch_encode(log->scratch, h, recs, n, base, now);
    raw = len - EVL_BATCH_HEADER_SIZE;
    /* a destination smaller than the raw payload: LZ4 gives up (0) when
     * compressing would not save space, and never writes past it */
    if (raw >= 64)
        got = LZ4_compress_default((const char *)log->scratch + EVL_BATCH_HEADER_SIZE,
                                   (char *)dst + EVL_BATCH_HEADER_SIZE + 4, (int)raw,
                                   (int)raw - 8);
    if (got <= 0) {
        memcpy(dst, log->scratch, len);
        return len;
    }
    evl_st32(dst + EVL_BATCH_HEADER_SIZE, raw);
    return evl_batch_seal(dst, h, dst + EVL_BATCH_HEADER_SIZE, (uint32_t)got + 4, EVL_COMP_LZ4);
}

/* Make the batch of `len` bytes at `pos` of the active segment `s`, whose
 * header is `b`, visible to readers. mu held. */
static void publish(evlog *log, evl_seg *s, const evl_batch *b, uint64_t pos, uint32_t len)
{
    uint64_t next = b->base_offset + b->last_delta + 1;
    evl_seg_note_batch(s, b, pos, log->index_interval);
    evl_want_pages(log, s, pos + len);
    /* the bytes first, then the end that makes them visible */
    evl_store(&s->end_pos, pos + len);
    evl_store(&s->next_offset, next);
    evl_store(&log->end_offset, next);
}

/*-******************* lingering appends *******************/
/*
 * Close the open batch: its records are already in place after its header's
 * room; seal it there (LZ4-compressed when that is smaller) and publish it.
 * mu held.
 */
int evl_flush_locked(evlog *log)
{
    evl_seg *s = log->active;
    uint32_t raw = log->pend_len - EVL_BATCH_HEADER_SIZE, len = 0;
    uint8_t *dst;
    evl_batch b;

    if (!log->pend_n)
        return 0;
    dst = s->map + log->pend_pos;
    b.base_offset = atomic_load_explicit(&log->end_offset, memory_order_relaxed);
    b.count = log->pend_n;
    b.last_delta = log->pend_n - 1;
    b.first_ts = log->pend_first_ts;
    b.max_ts = log->pend_max_ts;
    if (log->compression == EVLOG_COMPRESS_LZ4 && raw >= 64 && scratch_fit(log, raw)) {
        int got = LZ4_compress_default((const char *)dst + EVL_BATCH_HEADER_SIZE,
                                   (char *)log->scratch, (int)raw, (int)raw - 8);
        if (got > 0) {
            evl_st32(dst + EVL_BATCH_HEADER_SIZE, raw);
            memcpy(dst + EVL_BATCH_HEADER_SIZE + 4, log->scratch, (size_t)got);
            len = evl_batch_seal(dst, &b, dst + EVL_BATCH_HEADER_SIZE, (uint32_t)got + 4,
                                 EVL_COMP_LZ4);
            /* past the end stays zero, as everywhere else */
            memset(dst + len, 0, log->pend_len - len);
        }
    }
    if (!len)
        len = evl_batch_seal(dst, &b, NULL, raw, EVL_COMP_NONE);
    log->pend_n = 0;
    log->pend_len = 0;
    atomic_store_explicit(&log->pending, 0, memory_order_relaxed);
    publish(log, s, &b, log->pend_pos, len);
    return 0;
}

/*
 * Append `n` records of at most `size` batch bytes (header included, no
 * more than EVLOG_LINGER_BYTES) to the open batch, opening one if there is
 * none. mu held.
 */
static int linger_append(evlog *log, const evlog_record *recs, size_t n, uint64_t size,
                         int64_t now, uint64_t *first)
{
    uint64_t need = size - EVL_BATCH_HEADER_SIZE, base;
    evl_seg *s = log->active;
    int rc;

    if (log->pend_n && (log->pend_len + need > EVLOG_LINGER_BYTES ||
                        log->pend_pos + log->pend_len + need + EVL_FOOTER_SIZE > s->capacity))
        (void)evl_flush_locked(log);
    if (!log->pend_n) {
        if (!s || atomic_load_explicit(&s->end_pos, memory_order_relaxed) + size +
                          EVL_FOOTER_SIZE > s->capacity) {
            if ((rc = roll(log, size)) < 0)
                return rc;
            s = log->active;
        }
        log->pend_pos = atomic_load_explicit(&s->end_pos, memory_order_relaxed);
        log->pend_len = EVL_BATCH_HEADER_SIZE;
        log->pend_first_ts = log->pend_max_ts = recs[0].timestamp ? recs[0].timestamp : now;
        log->pend_since = evl_mono_ns();
        atomic_store_explicit(&log->pending, 1, memory_order_relaxed);
        evl_linger_due(log, log->pend_since + log->linger_ns);
    }
    base = atomic_load_explicit(&log->end_offset, memory_order_relaxed) + log->pend_n;
    log->pend_len += evl_records_encode(s->map + log->pend_pos + log->pend_len, recs, n,
                                        log->pend_n, log->pend_first_ts, now, &log->pend_max_ts);
    log->pend_n += (uint32_t)n;
    evl_store(&log->append_end, base + n);
    if (log->pend_len >= EVLOG_LINGER_BYTES)
        (void)evl_flush_locked(log);
    else
        evl_want_pages(log, s, log->pend_pos + log->pend_len);
    *first = base;
    return 0;
}

int evlog_append(evlog *log, const evlog_record *recs, size_t n, uint64_t *first_offset)
{
    uint64_t size, pos, base;
    int64_t now = 0;
    uint32_t len;
    evl_batch b;
    evl_seg *s;
    size_t i;
    int rc = 0;

    if (!log || !recs || n == 0)
        return log ? evl_err(log, EVLOG_EINVAL, "append: no records") : EVLOG_EINVAL;
    if (log->read_only)
        return evl_err(log, EVLOG_EREADONLY, "%s: the log is open read-only", log->dir);
    size = evl_batch_size(recs, n);
    if (size == 0)
        return evl_err(log, EVLOG_EINVAL, "append: a record has a NULL pointer with a length");
    if (size != UINT64_MAX && (size > EVLOG_MAX_BATCH_BYTES ||
                               size + EVL_SEG_HEADER_SIZE + EVL_FOOTER_SIZE > log->segment_bytes))
        size = evl_batch_size_exact(recs, n); /* the bound was loose: count */
    if (size > EVLOG_MAX_BATCH_BYTES ||
        size + EVL_SEG_HEADER_SIZE + EVL_FOOTER_SIZE > log->segment_bytes)
        return evl_err(log, EVLOG_ETOOBIG,
                       "append: a batch of %llu bytes does not fit in a segment of %llu",
                       (unsigned long long)size, (unsigned long long)log->segment_bytes);
    for (i = 0; i < n; i++)
        if (recs[i].timestamp == 0) {
            now = now_ns();
            break;
        }

    pthread_mutex_lock(&log->mu);
    if (log->failed) {
        pthread_mutex_unlock(&log->mu);
        return evl_failed(log);
    }
    if (log->linger_ns && size <= EVLOG_LINGER_BYTES) {
        rc = linger_append(log, recs, n, size, now, &base);
        pthread_mutex_unlock(&log->mu);
        if (first_offset && rc == 0)
            *first_offset = base;
        return rc;
    }
    (void)evl_flush_locked(log);
    s = log->active;
    if (!s || atomic_load_explicit(&s->end_pos, memory_order_relaxed) + size + EVL_FOOTER_SIZE >
                  s->capacity) {
        if ((rc = roll(log, size)) < 0) {
            pthread_mutex_unlock(&log->mu);
            return rc;
        }
        s = log->active;
    }
    pos = atomic_load_explicit(&s->end_pos, memory_order_relaxed);
    base = atomic_load_explicit(&log->end_offset, memory_order_relaxed);
    if (log->compression == EVLOG_COMPRESS_LZ4) {
        if (!(len = encode_lz4(log, s->map + pos, &b, recs, n, size, base, now))) {
            pthread_mutex_unlock(&log->mu);
            return evl_err(log, EVLOG_ENOMEM, "append: out of memory for compression");
        }
    } else {
        len = evl_batch_encode(s->map + pos, &b, recs, n, base, now);
    }
    publish(log, s, &b, pos, len);
    evl_store(&log->append_end, base + n);
    if (log->sync_mode == EVLOG_SYNC_ALWAYS)
        rc = wait_durable(log, base + n);
    pthread_mutex_unlock(&log->mu);
    if (first_offset && rc == 0)
        *first_offset = base;
    return rc;
}

int evlog_flush(evlog *log)
{
    return writer_call(log, evl_flush_locked);
}

uint64_t evlog_start_offset(const evlog *log)
{
    return log ? atomic_load(&((evlog *)log)->start_offset) : 0;
}

uint64_t evlog_end_offset(const evlog *log)
{
    if (!log)
        return 0;
    return log->read_only ? atomic_load(&((evlog *)log)->end_offset)
                          : atomic_load(&((evlog *)log)->append_end);
}

uint64_t evlog_durable_offset(const evlog *log)
{
    uint64_t d, start;
    if (!log)
        return 0;
    /* nothing below the start is readable, so the durable offset reported
     * is at least the start; the one kept (and checkpointed) stays the
     * point truly synced, which a truncate_front does not move */
    d = atomic_load(&((evlog *)log)->durable_offset);
    start = atomic_load(&((evlog *)log)->start_offset);
    return d < start ? start : d;
}

/*-******************* close *******************/
int evlog_close(evlog *log)
{
    evl_ckpt c;
    int rc = 0;

    if (!log)
        return 0;
    pthread_mutex_lock(&log->mu);
    log->syncer_stop = 1;
    pthread_cond_broadcast(&log->cv);
    pthread_cond_broadcast(&log->seal_cv);
    pthread_mutex_unlock(&log->mu);
    pthread_mutex_lock(&log->touch_mu);
    log->touch_stop = 1;
    pthread_cond_broadcast(&log->touch_cv);
    pthread_mutex_unlock(&log->touch_mu);
    if (log->toucher_running)
        pthread_join(log->toucher, NULL);
    if (log->syncer_running)
        pthread_join(log->syncer, NULL);
    if (log->sealer_running)
        pthread_join(log->sealer, NULL);
    if (!log->read_only) {
        pthread_mutex_lock(&log->mu);
        if (log->failed) {
            rc = evl_failed(log);
        } else {
            rc = evl_sync_locked(log);
            if (rc == 0 && log->active)
                (void)evl_index_write(log, log->active);
            if (rc == 0) {
                evl_ckpt_current(log, &c);
                rc = evl_ckpt_write(log, &c, 1);
            }
        }
        pthread_mutex_unlock(&log->mu);
    }
    log_free(log);
    return rc;
}
