/*
 * test_seek.c - iterator positioning: first, last, inside a segment, exactly
 * on a segment boundary, below the start and past the end (EVLOG_ERANGE),
 * the end then records appended later; and an iterator reading while a
 * writer thread appends sees every record in order and never a partial
 * batch.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(seek, .init = evt_setup, .fini = evt_teardown, .timeout = 120);

static evlog *open_small(uint64_t segment_bytes, int compression)
{
    evlog_options o;
    evlog *log = NULL;
    char err[512] = "";
    int rc;
    evlog_options_init(&o);
    o.segment_bytes = segment_bytes;
    o.compression = compression;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    rc = evlog_open_ex(&log, evt_log, &o, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open: %d (%s): %s", rc, evlog_strerror(rc), err);
    return log;
}

/* Seeks `it` to `off` and checks the records [off, min(off+n, end)) and,
 * when that reaches the end, that next returns 0. */
static void check_at(evlog *log, evlog_iter *it, const evt_gen *g, uint64_t off, uint64_t n)
{
    uint64_t end = evlog_end_offset(log), to = off + n < end ? off + n : end;
    char why[512] = "";
    evlog_record rec;
    int rc = evlog_iter_seek(it, off);
    cr_assert_eq(rc, 0, "seek to %llu (end %llu): %d (%s): %s", (unsigned long long)off,
                 (unsigned long long)end, rc, evlog_strerror(rc), evlog_errmsg(log));
    rc = evt_verify_iter(it, g, 0, off, to, why, sizeof why);
    cr_assert_eq(rc, 0, "after seek to %llu: %s", (unsigned long long)off, why);
    if (to == end)
        cr_assert_eq(evlog_iter_next(it, &rec), 0, "next at the end after seek to %llu",
                     (unsigned long long)off);
}

static void seek_everywhere(int compression)
{
    uint64_t seed = evt_seed(compression == EVLOG_COMPRESS_LZ4 ? "seek.everywhere_lz4"
                                                                : "seek.everywhere");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng, r;
    evt_append_plan plan;
    evlog *log = open_small(64 << 10, compression);
    evlog_iter *it = NULL;
    uint64_t bases[4096], end;
    long nseg, i;
    int pass;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 20;
    plan.max_batch_bytes = 8 << 10;
    evt_rng_init(&brng, seed);
    evt_rng_init(&r, seed ^ 99);
    cr_assert_eq(evt_append_gen(log, &g, 0, 20000, &brng, &plan), 0, "%s", plan.why);
    end = evlog_end_offset(log);
    cr_assert_eq(end, 20000);

    /* twice: on the live writer, then after reopen */
    for (pass = 0; pass < 2; pass++) {
        nseg = evt_segments(evt_log, bases, 4096);
        cr_assert_gt(nseg, 5, "the log should span several segments, has %ld", nseg);
        cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
        check_at(log, it, &g, 0, 50);          /* first */
        check_at(log, it, &g, end - 1, 50);     /* last */
        check_at(log, it, &g, end, 1);          /* the end: next returns 0 */
        check_at(log, it, &g, 0, 3);            /* back to the first from the end */
        for (i = 1; i < nseg; i++) {
            /* exactly on each segment boundary, and the records around it */
            check_at(log, it, &g, bases[i], 30);
            check_at(log, it, &g, bases[i] - 1, 3);
            /* inside the segment before */
            check_at(log, it, &g, bases[i - 1] + (bases[i] - bases[i - 1]) / 2, 5);
        }
        for (i = 0; i < 300; i++) /* random positions, back and forth */
            check_at(log, it, &g, evt_rng_below(&r, end + 1), 1 + evt_rng_below(&r, 40));

        /* past the end: EVLOG_ERANGE, and the iterator keeps its position */
        check_at(log, it, &g, 1234, 1);
        cr_assert_eq(evlog_iter_seek(it, end + 1), EVLOG_ERANGE);
        cr_assert_eq(evlog_iter_seek(it, UINT64_MAX), EVLOG_ERANGE);
        {
            char why[512];
            cr_assert_eq(evt_verify_iter(it, &g, 0, 1235, 1240, why, sizeof why), 0,
                         "a failed seek moved the iterator: %s", why);
        }
        evlog_iter_free(it);
        it = NULL;
        cr_assert_eq(evlog_iter_new(&it, log, end + 1), EVLOG_ERANGE);
        cr_assert_null(it, "*out is NULL on failure");
        cr_assert_eq(evlog_close(log), 0);
        log = open_small(64 << 10, compression);
        cr_assert_eq(evlog_end_offset(log), end);
    }

    /* below the start: make the start non-zero first */
    cr_assert_eq(evlog_truncate_front(log, bases[2] + 7), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(evlog_start_offset(log), bases[2] + 7);
    cr_assert_eq(evlog_iter_new(&it, log, bases[2] + 6), EVLOG_ERANGE);
    cr_assert_eq(evlog_iter_new(&it, log, 0), EVLOG_ERANGE);
    cr_assert_eq(evlog_iter_new(&it, log, bases[2] + 7), 0);
    check_at(log, it, &g, bases[2] + 7, 10);
    cr_assert_eq(evlog_iter_seek(it, bases[2] + 6), EVLOG_ERANGE);
    cr_assert_eq(evlog_iter_seek(it, 0), EVLOG_ERANGE);
    check_at(log, it, &g, end - 5, 10);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
}

Test(seek, everywhere) { seek_everywhere(EVLOG_COMPRESS_NONE); }
Test(seek, everywhere_lz4) { seek_everywhere(EVLOG_COMPRESS_LZ4); }

Test(seek, empty_log)
{
    evlog *log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    evlog_iter *it = NULL;
    evlog_record rec;
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    cr_assert_eq(evlog_iter_next(it, &rec), 0, "an empty log reads nothing");
    cr_assert_eq(evlog_iter_seek(it, 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_iter_seek(it, 0), 0);
    evlog_iter_free(it);
    cr_assert_eq(evlog_iter_new(&it, log, 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_close(log), 0);
}

Test(seek, end_then_append)
{
    uint64_t seed = evt_seed("seek.end_then_append");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    evlog_iter *it = NULL;
    evlog_record rec;
    char why[512];
    uint64_t i, first;

    for (i = 0; i < 10; i++)
        cr_assert_eq(evt_append_one(log, &g, i, NULL), 0);
    cr_assert_eq(evlog_iter_new(&it, log, 10), 0);
    for (i = 0; i < 3; i++)
        cr_assert_eq(evlog_iter_next(it, &rec), 0, "nothing past the end (call %llu)",
                     (unsigned long long)i);
    /* one record, then several, then across a roll: each shows up */
    for (i = 10; i < 3000; i++) {
        cr_assert_eq(evt_append_one(log, &g, i, &first), 0);
        cr_assert_eq(first, i);
        cr_assert_eq(evt_verify_iter(it, &g, 0, i, i + 1, why, sizeof why), 0, "%s", why);
        cr_assert_eq(evlog_iter_next(it, &rec), 0, "offset %llu read twice?",
                     (unsigned long long)i);
    }
    {
        uint64_t bases[64];
        cr_assert_gt(evt_segments(evt_log, bases, 64), 1, "the appends should have rolled");
    }
    /* a seek to the end of a reopened log, then appends */
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
    log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    cr_assert_eq(evlog_iter_seek(it, 3000), 0);
    cr_assert_eq(evlog_iter_next(it, &rec), 0);
    cr_assert_eq(evt_append_one(log, &g, 3000, NULL), 0);
    cr_assert_eq(evt_verify_iter(it, &g, 0, 3000, 3001, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_iter_next(it, &rec), 0);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
}

/*-************ concurrent reader and writer ************/
/* Every record carries its batch in its key: "first offset, count, index"
 * so that the reader can tell a batch boundary without racing the writer,
 * and its value is record (offset) of the generator. */
typedef struct conc {
    evlog *log;
    evt_gen g;
    uint64_t seed;
    uint64_t total;
    atomic_int writer_done;
    atomic_int writer_rc;
    char why[512];
} conc;

typedef struct batch_key {
    uint64_t first;
    uint32_t count;
    uint32_t index;
} batch_key;

static void *writer_main(void *arg)
{
    conc *c = arg;
    evt_rng r;
    evlog_record recs[64];
    batch_key keys[64];
    uint8_t *arena = malloc(64 * 2048);
    uint64_t next = 0;
    evt_rng_init(&r, c->seed ^ 0x3141);
    while (next < c->total) {
        uint32_t n = (uint32_t)evt_rng_range(&r, 1, 64), i;
        size_t used = 0;
        uint64_t first = 0;
        int rc;
        if (next + n > c->total)
            n = (uint32_t)(c->total - next);
        for (i = 0; i < n; i++) {
            evlog_record tmp;
            evt_gen_record(&c->g, next + i, &tmp, arena + used);
            used += evt_gen_bytes(&c->g, next + i);
            keys[i].first = next;
            keys[i].count = n;
            keys[i].index = i;
            recs[i] = tmp;
            recs[i].key = &keys[i];
            recs[i].key_len = sizeof keys[i];
            if (!tmp.value) { /* the generator's tombstone: keep a value */
                recs[i].value = arena;
                recs[i].value_len = 0;
            }
        }
        rc = evlog_append(c->log, recs, n, &first);
        if (rc != 0 || first != next) {
            snprintf(c->why, sizeof c->why, "append at %llu: rc %d (%s) first %llu: %s",
                     (unsigned long long)next, rc, evlog_strerror(rc),
                     (unsigned long long)first, evlog_errmsg(c->log));
            atomic_store(&c->writer_rc, rc ? rc : -1);
            break;
        }
        next += n;
        if ((next & 7) == 0)
            sched_yield();
    }
    free(arena);
    atomic_store(&c->writer_done, 1);
    return NULL;
}

static void concurrent_reader(int compression)
{
    conc c;
    pthread_t th;
    evlog_iter *it = NULL;
    uint64_t expect = 0, ends = 0, mid_batch_ends = 0, t0;
    char fail[600] = "";
    uint8_t *scratch = malloc(1 << 16);

    memset(&c, 0, sizeof c);
    c.seed = evt_seed(compression == EVLOG_COMPRESS_LZ4 ? "seek.concurrent_reader_lz4"
                                                        : "seek.concurrent_reader");
    c.g.seed = c.seed;
    c.g.profile = EVT_SMALL;
    c.total = 300000;
    c.log = open_small(256 << 10, compression);
    cr_assert_eq(evlog_iter_new(&it, c.log, 0), 0);
    cr_assert_eq(pthread_create(&th, NULL, writer_main, &c), 0);

    t0 = evt_mono_ms();
    while (expect < c.total && !fail[0]) {
        evlog_record rec;
        int rc = evlog_iter_next(it, &rec);
        if (rc == 0) {
            ends++;
            if (atomic_load(&c.writer_done) && expect < c.total && evlog_end_offset(c.log) == expect)
                break; /* the writer stopped early: reported below */
            if (evt_mono_ms() - t0 > 100000) {
                snprintf(fail, sizeof fail, "no progress at offset %llu", (unsigned long long)expect);
                break;
            }
            sched_yield();
            continue;
        }
        if (rc != 1) {
            snprintf(fail, sizeof fail, "iter_next at %llu: %d (%s): %s",
                     (unsigned long long)expect, rc, evlog_strerror(rc), evlog_errmsg(c.log));
            break;
        }
        {
            batch_key k;
            evlog_record want;
            if (rec.offset != expect || rec.key_len != sizeof k) {
                snprintf(fail, sizeof fail, "read offset %llu key_len %zu, expected offset %llu",
                         (unsigned long long)rec.offset, rec.key_len, (unsigned long long)expect);
                break;
            }
            memcpy(&k, rec.key, sizeof k);
            if (k.first + k.index != expect || k.index >= k.count) {
                snprintf(fail, sizeof fail, "offset %llu: key says batch %llu+%u of %u",
                         (unsigned long long)expect, (unsigned long long)k.first, k.index, k.count);
                break;
            }
            evt_gen_record(&c.g, expect, &want, scratch);
            if (want.timestamp && rec.timestamp != want.timestamp) {
                snprintf(fail, sizeof fail, "offset %llu: timestamp differs", (unsigned long long)expect);
                break;
            }
            if (!rec.value || rec.value_len != want.value_len ||
                (want.value_len && memcmp(rec.value, want.value, want.value_len) != 0)) {
                snprintf(fail, sizeof fail, "offset %llu: value differs", (unsigned long long)expect);
                break;
            }
            /* the end of the readable log must fall on a batch boundary:
             * peek whether the next call says "end" mid-batch */
            if (k.index + 1 < k.count) {
                evlog_record peek;
                int prc = evlog_iter_next(it, &peek);
                if (prc == 0) {
                    mid_batch_ends++;
                    snprintf(fail, sizeof fail, "the reader saw the end of the log inside a "
                             "batch: after offset %llu, record %u of %u of batch %llu",
                             (unsigned long long)expect, k.index + 1, k.count,
                             (unsigned long long)k.first);
                    break;
                }
                if (prc != 1 || peek.offset != expect + 1) {
                    snprintf(fail, sizeof fail, "peek after %llu: rc %d offset %llu",
                             (unsigned long long)expect, prc, (unsigned long long)peek.offset);
                    break;
                }
                /* peek's pointers are valid until the next call: check
                 * it now, then go on from the record after it */
                memcpy(&k, peek.key, sizeof k);
                if (peek.key_len != sizeof k || k.first + k.index != expect + 1) {
                    snprintf(fail, sizeof fail, "peek at %llu: wrong key", (unsigned long long)expect + 1);
                    break;
                }
                evt_gen_record(&c.g, expect + 1, &want, scratch);
                if (!peek.value || peek.value_len != want.value_len ||
                    (want.value_len && memcmp(peek.value, want.value, want.value_len) != 0)) {
                    snprintf(fail, sizeof fail, "offset %llu: value differs", (unsigned long long)expect + 1);
                    break;
                }
                expect++;
            }
        }
        expect++;
    }
    pthread_join(th, NULL);
    fprintf(stderr, "concurrent reader: %llu records, %llu times at the end\n",
            (unsigned long long)expect, (unsigned long long)ends);
    cr_assert_eq(atomic_load(&c.writer_rc), 0, "writer: %s", c.why);
    cr_assert_str_empty(fail, "%s", fail);
    cr_assert_eq(mid_batch_ends, 0);
    cr_assert_eq(expect, c.total);
    evlog_iter_free(it);
    free(scratch);
    cr_assert_eq(evlog_close(c.log), 0);
}

Test(seek, concurrent_reader) { concurrent_reader(EVLOG_COMPRESS_NONE); }
Test(seek, concurrent_reader_lz4) { concurrent_reader(EVLOG_COMPRESS_LZ4); }

/* Several iterators on one handle, each in its own thread, while the
 * writer appends: each sees the same sequence. */
typedef struct multi_reader {
    evlog *log;
    uint64_t total;
    atomic_int *done;
    uint64_t read;
    char fail[256];
} multi_reader;

static void *multi_reader_main(void *arg)
{
    multi_reader *m = arg;
    evlog_iter *it = NULL;
    uint64_t t0 = evt_mono_ms();
    int rc = evlog_iter_new(&it, m->log, 0);
    if (rc != 0) {
        snprintf(m->fail, sizeof m->fail, "iter_new: %d", rc);
        return NULL;
    }
    while (m->read < m->total) {
        evlog_record rec;
        rc = evlog_iter_next(it, &rec);
        if (rc == 0) {
            if (evt_mono_ms() - t0 > 100000 || (atomic_load(m->done) &&
                                                 evlog_end_offset(m->log) == m->read)) {
                snprintf(m->fail, sizeof m->fail, "stuck at %llu", (unsigned long long)m->read);
                break;
            }
            sched_yield();
            continue;
        }
        if (rc != 1 || rec.offset != m->read || rec.key_len != sizeof(batch_key)) {
            snprintf(m->fail, sizeof m->fail, "at %llu: rc %d offset %llu",
                     (unsigned long long)m->read, rc, (unsigned long long)rec.offset);
            break;
        }
        m->read++;
    }
    evlog_iter_free(it);
    return NULL;
}

Test(seek, several_concurrent_readers)
{
    conc c;
    pthread_t w, rd[3];
    multi_reader m[3];
    int i;

    memset(&c, 0, sizeof c);
    c.seed = evt_seed("seek.several_concurrent_readers");
    c.g.seed = c.seed;
    c.g.profile = EVT_TINY;
    c.total = 100000;
    c.log = open_small(128 << 10, EVLOG_COMPRESS_NONE);
    for (i = 0; i < 3; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].log = c.log;
        m[i].total = c.total;
        m[i].done = &c.writer_done;
        cr_assert_eq(pthread_create(&rd[i], NULL, multi_reader_main, &m[i]), 0);
    }
    cr_assert_eq(pthread_create(&w, NULL, writer_main, &c), 0);
    pthread_join(w, NULL);
    for (i = 0; i < 3; i++)
        pthread_join(rd[i], NULL);
    cr_assert_eq(atomic_load(&c.writer_rc), 0, "writer: %s", c.why);
    for (i = 0; i < 3; i++) {
        cr_expect_str_empty(m[i].fail, "reader %d: %s", i, m[i].fail);
        cr_expect_eq(m[i].read, c.total, "reader %d", i);
    }
    cr_assert_eq(evlog_close(c.log), 0);
}

/* Reading right after many rolls, while the background sealer still has
 * segments to sync: the iterator's pins and unpins must not take a
 * mapping the sealer needs (the log must stay writable and close
 * cleanly). */
Test(seek, read_while_segments_are_sealed)
{
    uint64_t seed = evt_seed("seek.read_while_segments_are_sealed");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evt_append_plan plan;
    evlog *log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    char why[512], msg[1024];
    uint64_t bases[1024];
    long nseg;
    int rc;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 32;
    plan.max_batch_bytes = 8 << 10;
    evt_rng_init(&brng, seed);
    cr_assert_eq(evt_append_gen(log, &g, 0, 150000, &brng, &plan), 0, "%s", plan.why);
    nseg = evt_segments(evt_log, bases, 1024);
    cr_assert_gt(nseg, 100, "%ld segments", nseg);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, 150000, 1, why, sizeof why), 0, "%s", why);
    rc = evt_append_one(log, &g, 150000, NULL);
    cr_assert_eq(rc, 0, "an append after reading the log: %d (%s): %s", rc, evlog_strerror(rc),
                 evlog_errmsg(log));
    cr_assert_eq(evlog_sync(log), 0, "%s", evlog_errmsg(log));
    snprintf(msg, sizeof msg, "%s", evlog_errmsg(log));
    rc = evlog_close(log);
    cr_assert_eq(rc, 0, "evlog_close: %d (%s): %s", rc, evlog_strerror(rc), msg);
    log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_end_offset(log), 150001);
    cr_assert_eq(evlog_close(log), 0);
}

/* The index files are a cache: deleted or garbled, seeks still land on the
 * right records. */
static void damage_indexes(int garble, uint64_t seed)
{
    DIR *d = opendir(evt_log);
    struct dirent *de;
    evt_rng r;
    int n = 0;
    evt_rng_init(&r, seed);
    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        const char *p;
        if (len < 6 || strcmp(de->d_name + len - 6, ".index") != 0)
            continue;
        p = evt_path(evt_log, de->d_name);
        if (garble) {
            long long size = evt_file_size(p);
            uint8_t *buf = malloc((size_t)size + 1);
            evt_rng_fill(&r, buf, (size_t)size);
            /* keep the magic sometimes, so that the checksums must catch it */
            if (n % 2 == 0 && size >= 8)
                memcpy(buf, "EVLOGIDX", 8);
            cr_assert_eq(evt_file_write(p, buf, (size_t)size), 0);
            free(buf);
        } else {
            cr_assert_eq(unlink(p), 0);
        }
        n++;
    }
    closedir(d);
    cr_assert_gt(n, 2, "expected index files beside the segments");
}

static void seek_with_damaged_indexes(int garble)
{
    uint64_t seed = evt_seed(garble ? "seek.garbled_indexes" : "seek.deleted_indexes");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng, r;
    evt_append_plan plan;
    evlog *log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    evlog_iter *it = NULL;
    uint64_t bases[1024];
    long nseg, i;
    char why[512];

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 8;
    plan.max_batch_bytes = 2048;
    evt_rng_init(&brng, seed);
    evt_rng_init(&r, seed ^ 1);
    cr_assert_eq(evt_append_gen(log, &g, 0, 20000, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(evlog_close(log), 0);
    damage_indexes(garble, seed);
    nseg = evt_segments(evt_log, bases, 1024);

    log = open_small(64 << 10, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_end_offset(log), 20000);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0, "%s", evlog_errmsg(log));
    for (i = 1; i < nseg; i++) {
        check_at(log, it, &g, bases[i], 5);
        check_at(log, it, &g, bases[i] - 1, 2);
    }
    for (i = 0; i < 300; i++)
        check_at(log, it, &g, evt_rng_below(&r, 20001), 1 + evt_rng_below(&r, 20));
    evlog_iter_free(it);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, 20000, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
    /* and read-only, which cannot rewrite them */
    damage_indexes(garble, seed ^ 2);
    {
        evlog_options o;
        evlog_options_init(&o);
        o.flags = EVLOG_READ_ONLY;
        cr_assert_eq(evlog_open(&log, evt_log, &o), 0);
        cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
        for (i = 0; i < 200; i++)
            check_at(log, it, &g, evt_rng_below(&r, 20001), 1 + evt_rng_below(&r, 20));
        evlog_iter_free(it);
        cr_assert_eq(evlog_close(log), 0);
    }
}

Test(seek, deleted_indexes) { seek_with_damaged_indexes(0); }
Test(seek, garbled_indexes) { seek_with_damaged_indexes(1); }
