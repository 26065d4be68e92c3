/*
 * test_sync.c - the durability API: evlog_sync and the durable offset, the
 * three sync modes (always with concurrent appenders and group commit,
 * interval with its background thread), and an injected sync failure
 * through a copy of the POSIX I/O table whose msync and fsync fail with
 * -EIO once a switch is set: the handle is poisoned, never retries a sync,
 * says why, and a reopen with the normal I/O shows every acknowledged
 * record.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "os.h"

TestSuite(sync, .init = evt_setup, .fini = evt_teardown, .timeout = 120);

static evlog *open_mode(int sync_mode, uint32_t interval_ms, uint64_t segment_bytes,
                        const struct evlog_io *io)
{
    evlog_options o;
    evlog *log = NULL;
    char err[512] = "";
    int rc;
    evlog_options_init(&o);
    o.sync_mode = sync_mode;
    o.sync_interval_ms = interval_ms;
    o.segment_bytes = segment_bytes;
    o.io = io;
    rc = evlog_open_ex(&log, evt_log, &o, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(sync mode %d): %d (%s): %s", sync_mode, rc,
                 evlog_strerror(rc), err);
    return log;
}

static void append_n(evlog *log, const evt_gen *g, uint64_t idx, uint64_t n, evt_rng *brng)
{
    evt_append_plan plan;
    int rc;
    memset(&plan, 0, sizeof plan);
    plan.max_batch = 8;
    plan.max_batch_bytes = 4096;
    rc = evt_append_gen(log, g, idx, n, brng, &plan);
    cr_assert_eq(rc, 0, "%s", plan.why);
}

Test(sync, sync_makes_everything_durable)
{
    uint64_t seed = evt_seed("sync.sync_makes_everything_durable");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log = open_mode(EVLOG_SYNC_NONE, 0, 256 << 10, NULL);
    char why[512];
    int i;

    evt_rng_init(&brng, seed);
    cr_assert_eq(evlog_durable_offset(log), 0);
    cr_assert_eq(evlog_sync(log), 0, "sync of an empty log");
    cr_assert_eq(evlog_durable_offset(log), 0);
    for (i = 0; i < 20; i++) {
        uint64_t end;
        append_n(log, &g, evlog_end_offset(log), 1 + (uint64_t)i * 97, &brng);
        end = evlog_end_offset(log);
        cr_assert_leq(evlog_durable_offset(log), end, "durable past the end");
        cr_assert_eq(evlog_sync(log), 0, "%s", evlog_errmsg(log));
        cr_assert_eq(evlog_durable_offset(log), end, "round %d: durable %llu after sync, end %llu",
                     i, (unsigned long long)evlog_durable_offset(log), (unsigned long long)end);
        cr_assert_eq(evlog_sync(log), 0, "a second sync with nothing new");
        cr_assert_eq(evlog_durable_offset(log), end);
    }
    {
        uint64_t end = evlog_end_offset(log);
        cr_assert_eq(evlog_close(log), 0);
        log = open_mode(EVLOG_SYNC_NONE, 0, 256 << 10, NULL);
        cr_assert_eq(evlog_end_offset(log), end);
        cr_assert_eq(evlog_durable_offset(log), end, "after reopen");
        cr_assert_eq(evt_verify_log(log, &g, 0, 0, end, 1, why, sizeof why), 0, "%s", why);
        cr_assert_eq(evlog_close(log), 0);
    }
}

/*-************ EVLOG_SYNC_ALWAYS with concurrent appenders ************/
#define T_THREADS 4
#define T_APPENDS 150

typedef struct ack {
    uint64_t first;
    uint32_t n;
} ack;

typedef struct appender {
    evlog *log;
    int id;
    uint64_t seed;
    ack acks[T_APPENDS];
    int bad_durable;
    int rc;
    char why[256];
} appender;

/* Each record's key: thread id, append number, index in the batch. */
typedef struct tkey {
    uint32_t thread, seq, index, count;
} tkey;

static void *appender_main(void *arg)
{
    appender *a = arg;
    evt_rng r;
    int s;
    evt_rng_init(&r, a->seed ^ (uint64_t)a->id);
    for (s = 0; s < T_APPENDS; s++) {
        evlog_record recs[5];
        tkey keys[5];
        uint32_t n = (uint32_t)evt_rng_range(&r, 1, 5), i;
        uint64_t first = UINT64_MAX, durable;
        for (i = 0; i < n; i++) {
            keys[i].thread = (uint32_t)a->id;
            keys[i].seq = (uint32_t)s;
            keys[i].index = i;
            keys[i].count = n;
            recs[i].offset = 0;
            recs[i].timestamp = 1000 + s;
            recs[i].key = &keys[i];
            recs[i].key_len = sizeof keys[i];
            recs[i].value = &keys[i];
            recs[i].value_len = sizeof keys[i];
        }
        a->rc = evlog_append(a->log, recs, n, &first);
        if (a->rc != 0) {
            snprintf(a->why, sizeof a->why, "thread %d append %d: %d (%s)", a->id, s, a->rc,
                     evlog_strerror(a->rc));
            return NULL;
        }
        durable = evlog_durable_offset(a->log);
        if (durable < first + n) {
            a->bad_durable++;
            snprintf(a->why, sizeof a->why, "thread %d append %d: acknowledged [%llu, %llu) "
                     "with the durable offset at %llu", a->id, s, (unsigned long long)first,
                     (unsigned long long)(first + n), (unsigned long long)durable);
        }
        a->acks[s].first = first;
        a->acks[s].n = n;
    }
    return NULL;
}

static int cmp_ack(const void *x, const void *y)
{
    const ack *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

Test(sync, always_with_concurrent_appenders)
{
    static appender ap[T_THREADS];
    static ack all[T_THREADS * T_APPENDS];
    pthread_t th[T_THREADS];
    uint64_t seed = evt_seed("sync.always_with_concurrent_appenders"), next = 0, t0;
    evlog *log = open_mode(EVLOG_SYNC_ALWAYS, 0, 256 << 10, NULL);
    evlog_iter *it = NULL;
    size_t i, k = 0;
    int t;

    t0 = evt_mono_ms();
    for (t = 0; t < T_THREADS; t++) {
        memset(&ap[t], 0, sizeof ap[t]);
        ap[t].log = log;
        ap[t].id = t;
        ap[t].seed = seed;
        cr_assert_eq(pthread_create(&th[t], NULL, appender_main, &ap[t]), 0);
    }
    for (t = 0; t < T_THREADS; t++)
        pthread_join(th[t], NULL);
    fprintf(stderr, "sync always: %d x %d appends in %llu ms\n", T_THREADS, T_APPENDS,
            (unsigned long long)(evt_mono_ms() - t0));
    for (t = 0; t < T_THREADS; t++) {
        cr_assert_eq(ap[t].rc, 0, "%s", ap[t].why);
        cr_assert_eq(ap[t].bad_durable, 0, "%s", ap[t].why);
        memcpy(all + k, ap[t].acks, sizeof ap[t].acks);
        k += T_APPENDS;
    }
    /* the acknowledged ranges tile [0, end) exactly: unique, consecutive */
    qsort(all, k, sizeof *all, cmp_ack);
    for (i = 0; i < k; i++) {
        cr_assert_eq(all[i].first, next, "range %zu starts at %llu, expected %llu", i,
                     (unsigned long long)all[i].first, (unsigned long long)next);
        next += all[i].n;
    }
    cr_assert_eq(evlog_end_offset(log), next);
    cr_assert_geq(evlog_durable_offset(log), next);

    /* every record is where its append said, each batch whole */
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    for (t = 0; t < T_THREADS; t++) {
        int s;
        for (s = 0; s < T_APPENDS; s++) {
            const ack *a = &ap[t].acks[s];
            uint32_t j;
            cr_assert_eq(evlog_iter_seek(it, a->first), 0);
            for (j = 0; j < a->n; j++) {
                evlog_record rec;
                tkey kk;
                cr_assert_eq(evlog_iter_next(it, &rec), 1);
                cr_assert_eq(rec.offset, a->first + j);
                cr_assert_eq(rec.key_len, sizeof kk);
                memcpy(&kk, rec.key, sizeof kk);
                cr_assert(kk.thread == (uint32_t)t && kk.seq == (uint32_t)s && kk.index == j &&
                          kk.count == a->n, "offset %llu holds thread %u append %u index %u, "
                          "expected thread %d append %d index %u", (unsigned long long)rec.offset,
                          kk.thread, kk.seq, kk.index, t, s, j);
                cr_assert_eq(rec.timestamp, 1000 + s);
            }
        }
    }
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
    log = open_mode(EVLOG_SYNC_NONE, 0, 256 << 10, NULL);
    cr_assert_eq(evlog_end_offset(log), next);
    cr_assert_eq(evlog_close(log), 0);
}

Test(sync, interval_syncs_on_its_own)
{
    uint64_t seed = evt_seed("sync.interval_syncs_on_its_own");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log = open_mode(EVLOG_SYNC_INTERVAL, 20, 256 << 10, NULL);
    int round;

    evt_rng_init(&brng, seed);
    for (round = 0; round < 3; round++) {
        uint64_t end, t0;
        append_n(log, &g, evlog_end_offset(log), 500, &brng);
        end = evlog_end_offset(log);
        t0 = evt_mono_ms();
        /* a generous deadline: this checks that it happens, not how fast */
        while (evlog_durable_offset(log) < end && evt_mono_ms() - t0 < 20000)
            usleep(5000);
        cr_assert_eq(evlog_durable_offset(log), end,
                     "round %d: the durable offset stayed at %llu (end %llu) for %llu ms with "
                     "sync_interval_ms 20 and no evlog_sync", round,
                     (unsigned long long)evlog_durable_offset(log), (unsigned long long)end,
                     (unsigned long long)(evt_mono_ms() - t0));
        fprintf(stderr, "sync interval: durable after %llu ms\n",
                (unsigned long long)(evt_mono_ms() - t0));
    }
    cr_assert_eq(evlog_close(log), 0);
}

Test(sync, none_mode_leaves_durable_behind_until_sync)
{
    uint64_t seed = evt_seed("sync.none_mode_leaves_durable_behind_until_sync");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log = open_mode(EVLOG_SYNC_NONE, 0, 1 << 20, NULL);
    evt_rng_init(&brng, seed);
    append_n(log, &g, 0, 100, &brng);
    cr_assert_eq(evlog_sync(log), 0);
    append_n(log, &g, 100, 100, &brng);
    usleep(300000);
    /* SYNC_NONE: no background sync, no roll happened */
    cr_assert_eq(evlog_durable_offset(log), 100, "durable %llu: something synced in "
                 "EVLOG_SYNC_NONE mode without a roll", (unsigned long long)evlog_durable_offset(log));
    cr_assert_eq(evlog_close(log), 0);
}

/*-************ injected sync failure ************/
static atomic_int fail_syncs;       /* the switch */
static atomic_int syncs_after_fail; /* msync/fsync calls made while failing */

static int failing_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    if (atomic_load(&fail_syncs)) {
        atomic_fetch_add(&syncs_after_fail, 1);
        return -EIO;
    }
    return evl_io_posix.msync(io, addr, off, len);
}

static int failing_fsync(const struct evlog_io *io, int fd)
{
    if (atomic_load(&fail_syncs)) {
        atomic_fetch_add(&syncs_after_fail, 1);
        return -EIO;
    }
    return evl_io_posix.fsync(io, fd);
}

static struct evlog_io failing_io;

static void failing_io_init(void)
{
    failing_io = evl_io_posix;
    failing_io.msync = failing_msync;
    failing_io.fsync = failing_fsync;
    atomic_store(&fail_syncs, 0);
    atomic_store(&syncs_after_fail, 0);
}

static int says_why(const char *msg)
{
    return msg && (strcasestr(msg, "sync") || strcasestr(msg, "I/O") ||
                   strcasestr(msg, strerror(EIO)));
}

/* After the failure: every write is EVLOG_EFAILED, no sync is retried, the
 * message says why; close fails; a reopen with the normal I/O shows every
 * record acknowledged durable before. */
static void after_failure(evlog *log, const evt_gen *g, uint64_t durable_before,
                          uint64_t segment_bytes)
{
    evlog_record r = {0, 1, "k", 1, "v", 1};
    uint64_t end = evlog_end_offset(log), end2;
    int calls = atomic_load(&syncs_after_fail), rc, i;
    char why[512];

    for (i = 0; i < 3; i++) {
        rc = evlog_append(log, &r, 1, NULL);
        cr_assert_eq(rc, EVLOG_EFAILED, "append %d after a failed sync: %d (%s)", i, rc,
                     evlog_strerror(rc));
        cr_assert(says_why(evlog_errmsg(log)), "evlog_errmsg after EVLOG_EFAILED: \"%s\"",
                  evlog_errmsg(log));
    }
    cr_assert_eq(evlog_end_offset(log), end, "a failed append changed the end offset");
    rc = evlog_sync(log);
    cr_assert_eq(rc, EVLOG_EFAILED, "evlog_sync after a failed sync: %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_eq(evlog_truncate_back(log, end), EVLOG_EFAILED);
    cr_assert_eq(evlog_truncate_front(log, 0), EVLOG_EFAILED);
    cr_assert_leq(evlog_durable_offset(log), end);
    cr_assert_geq(evlog_durable_offset(log), durable_before);
    /* reading what is there still works */
    cr_assert_eq(evt_verify_log(log, g, 0, 0, durable_before, 0, why, sizeof why), 0,
                 "reading a poisoned handle: %s", why);
    rc = evlog_close(log);
    cr_assert(rc == EVLOG_EFAILED || rc == EVLOG_EIO, "close of a poisoned handle: %d (%s)", rc,
              evlog_strerror(rc));
    cr_assert_eq(atomic_load(&syncs_after_fail), calls,
                 "a sync was retried after it failed (%d more msync/fsync calls)",
                 atomic_load(&syncs_after_fail) - calls);

    atomic_store(&fail_syncs, 0);
    log = open_mode(EVLOG_SYNC_NONE, 0, segment_bytes, NULL);
    end2 = evlog_end_offset(log);
    cr_assert_geq(end2, durable_before, "records acknowledged durable were lost: end %llu, "
                  "durable before the failure %llu", (unsigned long long)end2,
                  (unsigned long long)durable_before);
    /* more may be there (the failure was injected: the bytes did reach the
     * file), but only the records appended, in order */
    cr_assert_eq(evt_verify_log(log, g, 0, 0, end2, 1, why, sizeof why), 0, "%s", why);
    /* and the log is writable again */
    cr_assert_eq(evt_append_one(log, g, end2, NULL), 0);
    cr_assert_eq(evlog_close(log), 0);
}

Test(sync, injected_failure_on_evlog_sync)
{
    uint64_t seed = evt_seed("sync.injected_failure_on_evlog_sync");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log;
    uint64_t durable;
    int rc;

    failing_io_init();
    evt_rng_init(&brng, seed);
    log = open_mode(EVLOG_SYNC_NONE, 0, 1 << 20, &failing_io);
    append_n(log, &g, 0, 300, &brng);
    cr_assert_eq(evlog_sync(log), 0);
    durable = evlog_durable_offset(log);
    cr_assert_eq(durable, 300);
    append_n(log, &g, 300, 200, &brng);

    atomic_store(&fail_syncs, 1);
    rc = evlog_sync(log);
    cr_assert_eq(rc, EVLOG_EIO, "evlog_sync with failing msync/fsync: %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_gt(atomic_load(&syncs_after_fail), 0, "the failing io was not used");
    cr_assert(says_why(evlog_errmsg(log)), "evlog_errmsg after EVLOG_EIO: \"%s\"",
              evlog_errmsg(log));
    cr_assert_eq(evlog_durable_offset(log), durable, "a failed sync moved the durable offset");
    after_failure(log, &g, durable, 1 << 20);
}

Test(sync, injected_failure_in_always_mode)
{
    uint64_t seed = evt_seed("sync.injected_failure_in_always_mode");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log;
    uint64_t durable, end;
    int rc;

    failing_io_init();
    evt_rng_init(&brng, seed);
    log = open_mode(EVLOG_SYNC_ALWAYS, 0, 1 << 20, &failing_io);
    append_n(log, &g, 0, 100, &brng);
    durable = evlog_durable_offset(log);
    cr_assert_eq(durable, 100);
    end = evlog_end_offset(log);
    atomic_store(&fail_syncs, 1);
    {
        uint64_t first = 777;
        rc = evt_append_one(log, &g, 100, &first);
        cr_assert_eq(rc, EVLOG_EIO, "an append whose sync fails in EVLOG_SYNC_ALWAYS: %d (%s)",
                     rc, evlog_strerror(rc));
        cr_expect_eq(first, 777, "a failed append wrote *first_offset (%llu)",
                     (unsigned long long)first);
    }
    cr_assert(says_why(evlog_errmsg(log)), "evlog_errmsg: \"%s\"", evlog_errmsg(log));
    cr_assert_eq(evlog_durable_offset(log), durable);
    /* the documented exception of EVLOG_SYNC_ALWAYS: the record was written
     * before its sync failed, so it may be there, unacknowledged */
    cr_expect(evlog_end_offset(log) == end || evlog_end_offset(log) == end + 1,
              "the end offset moved from %llu to %llu", (unsigned long long)end,
              (unsigned long long)evlog_end_offset(log));
    after_failure(log, &g, durable, 1 << 20);
}

Test(sync, injected_failure_in_interval_mode)
{
    uint64_t seed = evt_seed("sync.injected_failure_in_interval_mode");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log;
    uint64_t durable, t0, idx;
    int rc = 0;

    failing_io_init();
    evt_rng_init(&brng, seed);
    log = open_mode(EVLOG_SYNC_INTERVAL, 10, 1 << 20, &failing_io);
    append_n(log, &g, 0, 100, &brng);
    cr_assert_eq(evlog_sync(log), 0);
    durable = evlog_durable_offset(log);
    atomic_store(&fail_syncs, 1);
    /* the background sync fails; appends report it within a few intervals */
    t0 = evt_mono_ms();
    for (idx = 100; evt_mono_ms() - t0 < 20000; idx++) {
        rc = evt_append_one(log, &g, idx, NULL);
        if (rc != 0)
            break;
        usleep(2000);
    }
    cr_assert(rc == EVLOG_EFAILED || rc == EVLOG_EIO,
              "appends went on for %llu ms after the background sync started failing: %d",
              (unsigned long long)(evt_mono_ms() - t0), rc);
    cr_assert(says_why(evlog_errmsg(log)), "evlog_errmsg: \"%s\"", evlog_errmsg(log));
    after_failure(log, &g, durable, 1 << 20);
}

Test(sync, injected_failure_at_roll)
{
    uint64_t seed = evt_seed("sync.injected_failure_at_roll");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog *log;
    uint64_t durable, bases[16], idx, end_before = 0;
    long nseg;
    int rc = 0;

    failing_io_init();
    evt_rng_init(&brng, seed);
    log = open_mode(EVLOG_SYNC_NONE, 0, 64 << 10, &failing_io);
    append_n(log, &g, 0, 50, &brng);
    cr_assert_eq(evlog_sync(log), 0);
    durable = evlog_durable_offset(log);
    nseg = evt_segments(evt_log, bases, 16);
    atomic_store(&fail_syncs, 1);
    /* in EVLOG_SYNC_NONE the roll syncs the full segment: that fails */
    for (idx = 50; idx < 100000; idx++) {
        end_before = evlog_end_offset(log);
        rc = evt_append_one(log, &g, idx, NULL);
        if (rc != 0)
            break;
    }
    cr_assert_eq(rc, EVLOG_EIO, "appending across a roll whose sync fails: %d (%s) at %llu", rc,
                 evlog_strerror(rc), (unsigned long long)idx);
    cr_assert_eq(evlog_end_offset(log), end_before, "the failed append changed the end");
    cr_assert(says_why(evlog_errmsg(log)), "evlog_errmsg: \"%s\"", evlog_errmsg(log));
    cr_assert_geq(evt_segments(evt_log, bases, 16), nseg);
    after_failure(log, &g, durable, 64 << 10);
}

/* Pages of the file at `path` that are in the page cache (mincore over a
 * fresh mapping of it), and its pages in all. */
static long cached_pages(const char *path, long *total)
{
    long page = sysconf(_SC_PAGESIZE), n, i, in = 0;
    long long size = evt_file_size(path);
    unsigned char *vec;
    void *map;
    int fd;

    cr_assert_gt(size, 0, "%s is missing or empty", path);
    n = (long)((size + page - 1) / page);
    fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "open %s", path);
    map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    cr_assert_neq(map, MAP_FAILED, "mmap %s", path);
    vec = malloc((size_t)n);
    cr_assert_not_null(vec);
    cr_assert_eq(mincore(map, (size_t)size, vec), 0, "mincore %s", path);
    for (i = 0; i < n; i++)
        in += vec[i] & 1;
    free(vec);
    munmap(map, (size_t)size);
    close(fd);
    *total = n;
    return in;
}

/* Append across several rolls with `flags`, sync (which waits for the
 * sealer), and count the pages of the sealed segments still cached. */
static void uncache_case(const char *label, unsigned flags, long *cached, long *total)
{
    uint64_t seed = evt_seed(label), bases[64];
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evlog_options o;
    evlog *log = NULL;
    char why[512];
    long nseg, i, t;
    uint64_t n = 0;

    evt_rm_rf(evt_log);
    evt_rng_init(&brng, seed);
    evlog_options_init(&o);
    o.segment_bytes = 256 << 10;
    o.flags = flags;
    cr_assert_eq(evlog_open(&log, evt_log, &o), 0);
    while ((nseg = evt_segments(evt_log, bases, 64)) < 4) {
        append_n(log, &g, n, 100, &brng);
        n += 100;
        /* syncs inside a segment too, before its seal */
        cr_assert_eq(evlog_sync(log), 0);
    }
    cr_assert_eq(evlog_sync(log), 0);
    nseg = evt_segments(evt_log, bases, 64);
    *cached = *total = 0;
    for (i = 0; i + 1 < nseg; i++) {
        *cached += cached_pages(evt_seg_path(evt_log, bases[i]), &t);
        *total += t;
    }
    /* everything reads back, from the disk where it must */
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, n, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
    o.flags = EVLOG_READ_ONLY;
    cr_assert_eq(evlog_open(&log, evt_log, &o), 0);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, n, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
}

/* EVLOG_UNCACHE_SEALED: a segment the writer sealed leaves the page cache
 * once it is durable; without the flag it stays, as any written file. */
Test(sync, uncache_sealed_drops_sealed_segments_from_the_page_cache)
{
    long cached, total;

    uncache_case("sync.uncache_sealed.without", 0, &cached, &total);
    cr_assert_gt(total, 0);
    cr_assert_gt(cached * 2, total, "without the flag only %ld of %ld pages of sealed "
                 "segments are cached: the check below would prove nothing", cached, total);
    uncache_case("sync.uncache_sealed.with", EVLOG_UNCACHE_SEALED, &cached, &total);
    cr_assert_gt(total, 0);
    cr_assert_eq(cached, 0, "%ld of %ld pages of sealed segments are still cached", cached,
                 total);
}
