/*
 * toucher.c - the pretoucher thread: it faults the active segment's pages
 * in ahead of the writer, on another core (as Chronicle Queue's pretoucher
 * does), and closes an open batch of lingering appends once its time is
 * up. It has a lock of its own (touch_mu), so that a writer appending in a
 * loop never starves it of the writer's.
 */
#include <time.h>

#include "internal.h"

/* Release a pin of the pretoucher's; caller holds segs_mu. A segment
 * sealed meanwhile loses its writer's mapping, as the sealer would have
 * done. */
void evl_touch_unpin(evlog *log, evl_seg *s)
{
    if (--s->pins == 0 && atomic_load(&s->sealed))
        evl_seg_unmap(log, s);
    evl_seg_unref(log, s);
}

int64_t evl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Make the pretoucher close the open batch of lingering appends at `due`
 * (CLOCK_MONOTONIC ns), unless it is to look earlier. mu held. */
void evl_linger_due(evlog *log, int64_t due)
{
    pthread_mutex_lock(&log->touch_mu);
    if (!log->touch_due || due < log->touch_due) {
        log->touch_due = due;
        pthread_cond_signal(&log->touch_cv);
    }
    pthread_mutex_unlock(&log->touch_mu);
}

/* The pretoucher's side of lingering: close the open batch if its time is
 * up, else look again when it will be. */
static void close_lingering(evlog *log)
{
    pthread_mutex_lock(&log->mu);
    if (log->pend_n && !log->failed) {
        int64_t due = log->pend_since + log->linger_ns;
        if (evl_mono_ns() >= due)
            (void)evl_flush_locked(log);
        else
            evl_linger_due(log, due);
    }
    pthread_mutex_unlock(&log->mu);
}

/*
 * The pretoucher thread: faults in the pages of the active segment ahead of
 * the writer, so that the writer's copies land on pages already there and
 * the kernel's page work runs on another core. If it falls behind, the
 * writer's own copies fault the pages in: it is only ever a head start.
 * It takes mu only to close a lingering batch.
 */
void *evl_toucher_main(void *arg)
{
    evlog *log = arg;
    pthread_mutex_lock(&log->touch_mu);
    while (!log->touch_stop) {
        evl_seg *s = log->touch_seg;
        uint64_t from, to, gen;
        if (log->touch_due && evl_mono_ns() >= log->touch_due) {
            log->touch_due = 0;
            pthread_mutex_unlock(&log->touch_mu);
            close_lingering(log);
            pthread_mutex_lock(&log->touch_mu);
            continue;
        }
        if (!s || log->touch_done >= log->touch_req) {
            if (log->touch_due) {
                int64_t due = log->touch_due;
                struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
                pthread_cond_timedwait(&log->touch_cv, &log->touch_mu, &ts);
            } else {
                pthread_cond_wait(&log->touch_cv, &log->touch_mu);
            }
            continue;
        }
        from = log->touch_done;
        to = log->touch_req < from + EVL_PREFAULT_STEP ? log->touch_req : from + EVL_PREFAULT_STEP;
        gen = log->touch_gen;
        /* a pin of its own: the writer may move on to the next segment,
         * and the sealer seal this one, while its pages come in */
        pthread_mutex_lock(&log->segs_mu);
        s->pins++;
        s->refs++;
        pthread_mutex_unlock(&log->segs_mu);
        pthread_mutex_unlock(&log->touch_mu);
        log->io->prefault(log->io, s->map, from, to - from);
        pthread_mutex_lock(&log->touch_mu);
        if (s == log->touch_seg && gen == log->touch_gen && log->touch_done < to)
            log->touch_done = to;
        pthread_mutex_lock(&log->segs_mu);
        evl_touch_unpin(log, s);
        pthread_mutex_unlock(&log->segs_mu);
    }
    pthread_mutex_unlock(&log->touch_mu);
    return NULL;
}

/* Point the pretoucher at the pages of `s` up to `want`, from `end` on if
 * it is new to them. mu held; once per EVL_PREFAULT_STEP. */
void evl_ask_pages(evlog *log, evl_seg *s, uint64_t end, uint64_t want)
{
    evl_seg *old = NULL;

    if (s != log->touch_seg) {
        pthread_mutex_lock(&log->segs_mu);
        s->pins++;
        s->refs++;
        pthread_mutex_unlock(&log->segs_mu);
        old = log->touch_seg;
    }
    pthread_mutex_lock(&log->touch_mu);
    if (s != log->touch_seg || log->touch_restart) {
        log->touch_seg = s;
        log->touch_done = end;
        log->touch_gen++;
        log->touch_restart = 0;
    }
    log->touch_req = want;
    pthread_cond_signal(&log->touch_cv);
    pthread_mutex_unlock(&log->touch_mu);
    /* half full: time for the sealer to make the next segment's file */
    if (end > s->capacity / 2 && log->spare_fd < 0 && !log->spare_want) {
        log->spare_want = 1;
        pthread_cond_signal(&log->seal_cv);
    }
    if (old) {
        pthread_mutex_lock(&log->segs_mu);
        evl_touch_unpin(log, old);
        pthread_mutex_unlock(&log->segs_mu);
    }
}

/* The active segment's end moved back (a truncation, a recovered tail):
 * its pages from there on are to be faulted in again. mu held. */
void evl_touch_restart(evlog *log)
{
    log->touch_restart = 1;
}
