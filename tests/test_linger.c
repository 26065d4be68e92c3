/*
 * test_linger.c - lingering appends (evlog_options.linger_us): offsets at
 * once, visibility to read-only handles only once the open batch closes (by
 * evlog_flush, by its linger elapsing, at EVLOG_LINGER_BYTES, by sync, roll,
 * truncation or close), read-your-writes through the writer's own iterator,
 * atomicity of each call (checked against the batches evlog_scan reports),
 * close/reopen across rolls, truncations around the open batch, sync, LZ4,
 * the options' checks and versioning, EVLOG_SYNC_ALWAYS ignoring linger, a
 * process crash losing the open batch only (after a flush, and after a sync
 * so that the open batch starts at the durable point), evlog_flush's errors
 * (a poisoned handle too), and four appending threads followed by a reader,
 * on a read-only handle and on the writer's own handle.
 *
 * No assertion depends on timing: waits for a linger to elapse poll with a
 * cap of several seconds, and the checks that the open batch is still
 * invisible are made only when the clock shows that its linger cannot have
 * elapsed yet (else the test says so on stderr and checks the rest).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "os.h"

TestSuite(linger, .init = evt_setup, .fini = evt_teardown, .timeout = 60);

/* How long a wait for a linger to elapse may take before it is a failure:
 * generous, since it checks that it happens, not how fast. */
#define WAIT_CAP_MS 8000u

/*-******************* opening *******************/
static evlog_options lopts(uint32_t linger_us, int sync_mode, uint64_t segment_bytes)
{
    evlog_options o;
    evlog_options_init(&o);
    o.linger_us = linger_us;
    o.sync_mode = sync_mode;
    o.segment_bytes = segment_bytes;
    return o;
}

static evlog *open_opts(const char *dir, const evlog_options *o)
{
    evlog *log = NULL;
    char err[512] = "";
    int rc = evlog_open_ex(&log, dir, o, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(%s, linger_us %u, sync mode %d, flags %u): %d (%s): %s", dir,
                 o->linger_us, o->sync_mode, o->flags, rc, evlog_strerror(rc), err);
    return log;
}

static evlog *open_writer(uint32_t linger_us, int sync_mode, uint64_t segment_bytes)
{
    evlog_options o = lopts(linger_us, sync_mode, segment_bytes);
    return open_opts(evt_log, &o);
}

static evlog *open_reader(const char *dir)
{
    evlog_options o;
    evlog_options_init(&o);
    o.flags = EVLOG_READ_ONLY;
    return open_opts(dir, &o);
}

/*-******************* appending and reading *******************/
/* Appends records idx = end offset of g one per call, n of them, checking
 * each call's first offset and the end offset after it. */
static void append_singles(evlog *log, const evt_gen *g, uint64_t n)
{
    uint64_t i;
    for (i = 0; i < n; i++) {
        uint64_t end = evlog_end_offset(log), first = UINT64_MAX;
        int rc = evt_append_one(log, g, end, &first);
        cr_assert_eq(rc, 0, "evlog_append at offset %llu: %d (%s): %s", (unsigned long long)end,
                     rc, evlog_strerror(rc), evlog_errmsg(log));
        cr_assert_eq(first, end, "an append got first offset %llu with the end at %llu",
                     (unsigned long long)first, (unsigned long long)end);
        cr_assert_eq(evlog_end_offset(log), end + 1, "evlog_end_offset after one lingering "
                     "append: %llu, expected %llu", (unsigned long long)evlog_end_offset(log),
                     (unsigned long long)(end + 1));
    }
}

/* Reads from `it`, which stands at *next, every record it returns now
 * (until it returns 0), checking record o against record o of g. */
static void drain(evlog *log, evlog_iter *it, const evt_gen *g, uint64_t *next, uint64_t limit)
{
    uint8_t *scratch = NULL;
    size_t cap = 0;
    char why[512];
    for (;;) {
        evlog_record rec;
        size_t need = evt_gen_bytes(g, *next) + 1;
        int rc;
        if (need > cap) {
            free(scratch);
            cap = need < 65536 ? 65536 : need;
            scratch = malloc(cap);
            cr_assert_not_null(scratch);
        }
        rc = evlog_iter_next(it, &rec);
        if (rc == 0)
            break;
        cr_assert_eq(rc, 1, "evlog_iter_next at %llu: %d (%s): %s", (unsigned long long)*next,
                     rc, evlog_strerror(rc), evlog_errmsg(log));
        cr_assert_lt(*next, limit, "a reader got a record at offset %llu, past the %llu appended",
                     (unsigned long long)rec.offset, (unsigned long long)limit);
        cr_assert_eq(evt_check_record(g, *next, *next, &rec, scratch, why, sizeof why), 0, "%s",
                     why);
        (*next)++;
    }
    free(scratch);
}

/* Polls `it` until it has read up to `to` or WAIT_CAP_MS passed; returns
 * the milliseconds it took. */
static uint64_t wait_for(evlog *log, evlog_iter *it, const evt_gen *g, uint64_t *next,
                         uint64_t to)
{
    uint64_t t0 = evt_mono_ms();
    for (;;) {
        drain(log, it, g, next, to);
        if (*next >= to || evt_mono_ms() - t0 > WAIT_CAP_MS)
            break;
        usleep(1000);
    }
    return evt_mono_ms() - t0;
}

/* Generators indexed by offset: owner[o] says which of gens made offset o. */
static void verify_owned(evlog *log, const evt_gen *gens, const uint8_t *owner, uint64_t from,
                         uint64_t to, const char *label)
{
    evlog_iter *it = NULL;
    uint8_t scratch[4096];
    char why[512];
    uint64_t o;
    evlog_record rec;
    int rc = evlog_iter_new(&it, log, from);

    cr_assert_eq(rc, 0, "%s: evlog_iter_new(%llu): %d (%s): %s", label,
                 (unsigned long long)from, rc, evlog_strerror(rc), evlog_errmsg(log));
    for (o = from; o < to; o++) {
        const evt_gen *g = &gens[owner[o]];
        cr_assert_lt(evt_gen_bytes(g, o), sizeof scratch);
        rc = evlog_iter_next(it, &rec);
        cr_assert_eq(rc, 1, "%s: evlog_iter_next at %llu (reading [%llu, %llu)): %d (%s): %s",
                     label, (unsigned long long)o, (unsigned long long)from,
                     (unsigned long long)to, rc, rc < 0 ? evlog_strerror(rc) : "end",
                     evlog_errmsg(log));
        cr_assert_eq(evt_check_record(g, o, o, &rec, scratch, why, sizeof why), 0,
                     "%s: (generator %d) %s", label, owner[o], why);
    }
    rc = evlog_iter_next(it, &rec);
    cr_assert_eq(rc, 0, "%s: evlog_iter_next past the end %llu: %d (%s)%s%llu", label,
                 (unsigned long long)to, rc, rc < 0 ? evlog_strerror(rc) : rc ? "a record" : "end",
                 rc == 1 ? ", offset " : "", rc == 1 ? (unsigned long long)rec.offset : 0ull);
    evlog_iter_free(it);
}

/*-******************* evlog_scan: the batches on disk *******************/
typedef struct bat {
    uint64_t base, last;
    uint32_t count, length;
    int compression;
} bat;

typedef struct scanned {
    bat *b;
    size_t n, cap;
    int oom;
    uint64_t errors, segments, end_offset;
} scanned;

static int scan_cb(const evlog_scan_event *ev, void *payload)
{
    scanned *s = payload;
    if (ev->kind == EVLOG_EV_BATCH) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 256;
            bat *nb = realloc(s->b, nc * sizeof *nb);
            if (!nb) {
                s->oom = 1;
                return EVLOG_SCAN_STOP;
            }
            s->b = nb;
            s->cap = nc;
        }
        s->b[s->n].base = ev->batch->base_offset;
        s->b[s->n].last = ev->batch->last_offset;
        s->b[s->n].count = ev->batch->count;
        s->b[s->n].length = ev->batch->length;
        s->b[s->n].compression = ev->batch->compression;
        s->n++;
    } else if (ev->kind == EVLOG_EV_PROBLEM) {
        fprintf(stderr, "scan problem %s in %s at %llu: %s\n", ev->problem->name,
                ev->problem->file ? ev->problem->file : "-",
                (unsigned long long)ev->problem->pos, ev->problem->reason);
    } else if (ev->kind == EVLOG_EV_END) {
        s->errors = ev->log->errors;
        s->segments = ev->log->segments;
        s->end_offset = ev->log->end_offset;
    }
    return 0;
}

/* Scans a closed log: its batches in offset order, which must tile
 * [first, end) without a gap and without an error. */
static void scan_batches(const char *dir, scanned *s)
{
    size_t i;
    int rc;
    memset(s, 0, sizeof *s);
    rc = evlog_scan(dir, 0, scan_cb, s);
    cr_assert_eq(rc, 0, "evlog_scan(%s): %d (%s)", dir, rc, evlog_strerror(rc));
    cr_assert_eq(s->oom, 0);
    cr_assert_eq(s->errors, 0, "evlog_scan(%s) found %llu errors", dir,
                 (unsigned long long)s->errors);
    for (i = 1; i < s->n; i++)
        cr_assert_eq(s->b[i].base, s->b[i - 1].last + 1, "batch %zu starts at %llu, the one "
                     "before ends at %llu", i, (unsigned long long)s->b[i].base,
                     (unsigned long long)s->b[i - 1].last);
}

static uint64_t scan_total_bytes(const scanned *s)
{
    uint64_t t = 0;
    size_t i;
    for (i = 0; i < s->n; i++)
        t += s->b[i].length;
    return t;
}

/*-******************* 1: offsets and visibility *******************/
Test(linger, offsets_and_visibility)
{
    uint64_t seed = evt_seed("linger.offsets_and_visibility");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    const uint32_t linger_us = 200000;
    evlog *w = open_writer(linger_us, EVLOG_SYNC_NONE, 1 << 20);
    evlog *r = open_reader(evt_log);
    evlog_iter *it = NULL;
    evlog_record rec;
    uint64_t next = 0, t0, elapsed;
    int rc, round;

    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    cr_assert_eq(evlog_iter_next(it, &rec), 0, "a record in an empty log");
    for (round = 0; round < 3; round++) {
        uint64_t before = evlog_end_offset(w);
        t0 = evt_mono_ms();
        append_singles(w, &g, 40);
        cr_assert_eq(evlog_end_offset(w), before + 40);
        cr_assert_leq(evlog_durable_offset(w), before,
                      "the durable offset %llu counts lingering records (closed up to %llu)",
                      (unsigned long long)evlog_durable_offset(w), (unsigned long long)before);
        rc = evlog_iter_next(it, &rec);
        elapsed = evt_mono_ms() - t0;
        if (elapsed < linger_us / 1000 * 9 / 10) {
            cr_assert_eq(rc, 0, "round %d: a read-only handle read %s (offset %llu) of the "
                         "open batch %llu ms after its first append, with linger_us %u and "
                         "no evlog_flush", round, rc == 1 ? "a record" : evlog_strerror(rc),
                         rc == 1 ? (unsigned long long)rec.offset : 0ull,
                         (unsigned long long)elapsed, linger_us);
            cr_assert_eq(evlog_end_offset(r), before, "round %d: the read-only handle's end "
                         "offset moved to %llu before the flush", round,
                         (unsigned long long)evlog_end_offset(r));
            {
                /* a reader that opens now, beside the open batch's bytes */
                evlog *r2 = open_reader(evt_log);
                uint64_t end2 = evlog_end_offset(r2);
                elapsed = evt_mono_ms() - t0;
                if (elapsed < linger_us / 1000 * 9 / 10)
                    cr_assert_eq(end2, before, "round %d: a read-only handle opened beside the "
                                 "open batch has end %llu, expected %llu", round,
                                 (unsigned long long)end2, (unsigned long long)before);
                cr_assert_eq(evlog_close(r2), 0);
            }
        } else {
            fprintf(stderr, "linger.offsets_and_visibility: round %d took %llu ms, the linger "
                    "may have elapsed: invisibility not checked\n", round,
                    (unsigned long long)elapsed);
            cr_assert(rc == 0 || rc == 1, "%d (%s)", rc, evlog_strerror(rc));
            if (rc == 1) { /* the record read is offset `before`: read it again */
                evlog_iter_free(it);
                it = NULL;
                cr_assert_eq(evlog_iter_new(&it, r, before), 0);
            }
        }
        if (round < 2) {
            cr_assert_eq(evlog_flush(w), 0, "%s", evlog_errmsg(w));
            cr_assert_eq(evlog_end_offset(w), before + 40, "evlog_flush changed the end");
        } else {
            /* the last round is closed by evlog_close */
            cr_assert_eq(evlog_close(w), 0);
        }
        /* at once, without waiting: the batch is closed */
        drain(r, it, &g, &next, before + 40);
        cr_assert_eq(next, before + 40, "round %d: after %s the read-only handle sees up to %llu "
                     "of %llu", round, round < 2 ? "evlog_flush" : "evlog_close",
                     (unsigned long long)next, (unsigned long long)(before + 40));
        cr_assert_eq(evlog_end_offset(r), before + 40);
    }
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(r), 0);
}

/*-******************* 2: the linger elapses *******************/
Test(linger, linger_elapses)
{
    uint64_t seed = evt_seed("linger.linger_elapses");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *w = open_writer(2000, EVLOG_SYNC_NONE, 1 << 20);
    evlog *r = open_reader(evt_log);
    evlog_iter *it = NULL;
    uint64_t next = 0, took;
    int round;

    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    for (round = 0; round < 3; round++) {
        append_singles(w, &g, 25);
        /* no call on the writer from here on: only the linger can close it */
        took = wait_for(r, it, &g, &next, evlog_end_offset(w));
        cr_assert_eq(next, evlog_end_offset(w), "round %d: with linger_us 2000 and no flush, a "
                     "read-only handle saw %llu of %llu records after %llu ms", round,
                     (unsigned long long)next, (unsigned long long)evlog_end_offset(w),
                     (unsigned long long)took);
        fprintf(stderr, "linger.linger_elapses: round %d visible after %llu ms\n", round,
                (unsigned long long)took);
    }
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(evlog_close(r), 0);
}

/*-******************* 3: read-your-writes *******************/
Test(linger, read_your_writes)
{
    uint64_t seed = evt_seed("linger.read_your_writes");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    evlog *r = open_reader(evt_log);
    evlog_iter *it = NULL, *it2 = NULL, *rit = NULL;
    evlog_record rec;
    uint64_t next = 0, rnext = 0;
    char why[512];
    int rc;

    cr_assert_eq(evlog_iter_new(&it, w, 0), 0);
    cr_assert_eq(evlog_iter_new(&rit, r, 0), 0);
    cr_assert_eq(evlog_iter_next(it, &rec), 0);

    /* the writer's iterator, created before, reads the open batch */
    append_singles(w, &g, 30);
    drain(w, it, &g, &next, 30);
    cr_assert_eq(next, 30, "the writer's own iterator read %llu of its 30 lingering records",
                 (unsigned long long)next);
    /* reaching the open batch closed it: every handle sees it now */
    drain(r, rit, &g, &rnext, 30);
    cr_assert_eq(rnext, 30, "after the writer's iterator read the open batch, a read-only "
                 "handle sees %llu of 30 records", (unsigned long long)rnext);

    /* a seek into the open batch */
    append_singles(w, &g, 40); /* [30, 70) */
    rc = evlog_iter_seek(it, 50);
    cr_assert_eq(rc, 0, "evlog_iter_seek into the open batch: %d (%s): %s", rc,
                 evlog_strerror(rc), evlog_errmsg(w));
    next = 50;
    drain(w, it, &g, &next, 70);
    cr_assert_eq(next, 70, "after a seek to 50 the iterator read up to %llu of 70",
                 (unsigned long long)next);
    /* and back, below it */
    cr_assert_eq(evlog_iter_seek(it, 5), 0);
    cr_assert_eq(evt_verify_iter(it, &g, 0, 5, 70, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_iter_next(it, &rec), 0);

    /* a new iterator created inside the open batch */
    append_singles(w, &g, 10); /* [70, 80) */
    rc = evlog_iter_new(&it2, w, 75);
    cr_assert_eq(rc, 0, "evlog_iter_new at an offset of the open batch: %d (%s): %s", rc,
                 evlog_strerror(rc), evlog_errmsg(w));
    cr_assert_eq(evt_verify_iter(it2, &g, 0, 75, 80, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_iter_next(it2, &rec), 0);
    /* one at the end, then appends: it follows */
    evlog_iter_free(it2);
    it2 = NULL;
    cr_assert_eq(evlog_iter_new(&it2, w, 80), 0);
    cr_assert_eq(evlog_iter_next(it2, &rec), 0);
    append_singles(w, &g, 7); /* [80, 87) */
    cr_assert_eq(evt_verify_iter(it2, &g, 0, 80, 87, why, sizeof why), 0, "%s", why);
    /* the first iterator, at the end too */
    next = 70;
    drain(w, it, &g, &next, 87);
    cr_assert_eq(next, 87);
    drain(r, rit, &g, &rnext, 87);
    cr_assert_eq(rnext, 87, "the read-only handle after the writer read everything: %llu of 87",
                 (unsigned long long)rnext);

    evlog_iter_free(it);
    evlog_iter_free(it2);
    evlog_iter_free(rit);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(evlog_close(r), 0);
    w = open_writer(0, EVLOG_SYNC_NONE, 1 << 20);
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, 87, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(w), 0);
}

/*-******************* 4: EVLOG_LINGER_BYTES *******************/
/* The most bytes one EVT_SMALL record takes in a batch: a 32-byte key, a
 * 100-byte value, the attributes byte and four varints of at most 10. */
#define SMALL_REC_MAX (32 + 100 + 1 + 4 * 10)

Test(linger, closes_at_linger_bytes)
{
    uint64_t seed = evt_seed("linger.closes_at_linger_bytes");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    evlog *r = open_reader(evt_log);
    evlog_iter *it = NULL;
    uint64_t next = 0, bytes = 0, n = 0, t0, elapsed, end;
    scanned s;
    size_t i;
    int fast, boundary = 0;

    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    t0 = evt_mono_ms();
    while (bytes <= 3 * EVLOG_LINGER_BYTES) {
        bytes += evt_gen_bytes(&g, n);
        append_singles(w, &g, 1);
        n++;
    }
    drain(r, it, &g, &next, n);
    elapsed = evt_mono_ms() - t0;
    fast = elapsed < EVLOG_MAX_LINGER_US / 1000 * 9 / 10;
    fprintf(stderr, "linger.closes_at_linger_bytes: %llu records (%llu bytes of keys and values) "
            "in %llu ms; a read-only handle sees %llu of them without a flush\n",
            (unsigned long long)n, (unsigned long long)bytes, (unsigned long long)elapsed,
            (unsigned long long)next);
    /* more than 3 x 16 KiB appended: whatever the clock did, at least the
     * batch that reached EVLOG_LINGER_BYTES first is closed */
    cr_assert_gt(next, 0, "%llu bytes appended with linger_us %u and no flush: a read-only "
                 "handle sees nothing", (unsigned long long)bytes, EVLOG_MAX_LINGER_US);
    if (fast)
        cr_assert_lt(next, n, "all %llu records visible %llu ms after the first append with "
                     "linger_us %u: the last batch was closed early", (unsigned long long)n,
                     (unsigned long long)elapsed, EVLOG_MAX_LINGER_US);
    end = next;

    cr_assert_eq(evlog_close(w), 0);
    drain(r, it, &g, &next, n);
    cr_assert_eq(next, n, "after evlog_close the read-only handle sees %llu of %llu",
                 (unsigned long long)next, (unsigned long long)n);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(r), 0);

    scan_batches(evt_log, &s);
    cr_assert_geq(s.n, 3, "%llu bytes in %zu batch(es) with EVLOG_LINGER_BYTES %u",
                  (unsigned long long)bytes, s.n, EVLOG_LINGER_BYTES);
    for (i = 0; i < s.n; i++) {
        if (s.b[i].last + 1 == end)
            boundary = 1;
        /* the last batch was closed by evlog_close; the others by their size
         * (when the appends took less than the linger) */
        if (fast && i + 1 < s.n)
            cr_assert(s.b[i].length + SMALL_REC_MAX + 64 >= EVLOG_LINGER_BYTES &&
                      s.b[i].length <= EVLOG_LINGER_BYTES + SMALL_REC_MAX + 64,
                      "batch %zu [%llu, %llu] is %u bytes; it should have closed at about "
                      "EVLOG_LINGER_BYTES (%u)", i, (unsigned long long)s.b[i].base,
                      (unsigned long long)s.b[i].last, s.b[i].length, EVLOG_LINGER_BYTES);
    }
    cr_assert(boundary, "the read-only handle stopped at %llu, which is not a batch boundary",
              (unsigned long long)end);
    free(s.b);
}

/*-******************* 5: each call stays atomic *******************/
Test(linger, calls_are_atomic)
{
    uint64_t seed = evt_seed("linger.calls_are_atomic");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    enum { NREC = 12000 };
    static uint64_t ends[NREC];
    static uint8_t boundary[NREC + 1];
    evt_append_plan plan;
    evt_rng brng;
    evlog *w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 64 << 10);
    scanned s;
    size_t i, multi = 0;
    uint64_t bases[256];
    char why[512];

    memset(&plan, 0, sizeof plan);
    memset(boundary, 0, sizeof boundary);
    plan.max_batch = 7;
    plan.max_batch_bytes = 8192;
    plan.batch_ends = ends;
    plan.batch_ends_cap = NREC;
    evt_rng_init(&brng, seed ^ 0x5151);
    cr_assert_eq(evt_append_gen(w, &g, 0, NREC, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(evlog_end_offset(w), NREC);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_gt(evt_segments(evt_log, bases, 256), 3, "the log should have rolled");

    boundary[0] = 1;
    for (i = 0; i < plan.n_batches; i++)
        boundary[ends[i]] = 1;
    scan_batches(evt_log, &s);
    cr_assert_gt(s.n, 0);
    cr_assert_eq(s.b[0].base, 0);
    cr_assert_eq(s.b[s.n - 1].last + 1, NREC, "the batches end at %llu",
                 (unsigned long long)(s.b[s.n - 1].last + 1));
    for (i = 0; i < s.n; i++) {
        uint64_t o, calls = 0;
        cr_assert(boundary[s.b[i].base] && boundary[s.b[i].last + 1],
                  "batch %zu [%llu, %llu] splits an append call (a call boundary at its "
                  "start: %s; at its end: %s)", i, (unsigned long long)s.b[i].base,
                  (unsigned long long)s.b[i].last, boundary[s.b[i].base] ? "yes" : "no",
                  boundary[s.b[i].last + 1] ? "yes" : "no");
        for (o = s.b[i].base + 1; o <= s.b[i].last; o++)
            calls += boundary[o];
        if (calls > 0)
            multi++;
    }
    fprintf(stderr, "linger.calls_are_atomic: %zu calls in %zu batches, %zu holding several "
            "calls, over %llu segments\n", plan.n_batches, s.n, multi,
            (unsigned long long)s.segments);
    /* lingering did gather calls (1 s of linger, microseconds per call) */
    cr_assert_gt(multi, 0, "no batch holds more than one append call");
    cr_assert_lt(s.n, plan.n_batches);
    free(s.b);

    w = open_writer(0, EVLOG_SYNC_NONE, 64 << 10);
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, NREC, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(w), 0);
}

/*-******************* 6: close and reopen across rolls *******************/
Test(linger, close_reopen_across_rolls)
{
    uint64_t seed = evt_seed("linger.close_reopen_across_rolls");
    evt_gen g = {seed, EVT_MIXED, 20 << 10, 0};
    enum { NREC = 3000 };
    evt_append_plan plan;
    evt_rng brng;
    evlog *w;
    uint64_t i, bases[1024];
    long nseg;
    int keyed = 0, unkeyed = 0, tombs = 0, big = 0;
    scanned s;
    char why[512];

    for (i = 0; i < NREC + 500; i++) {
        evt_shape sh;
        evt_gen_shape(&g, i, &sh);
        keyed += sh.has_key && !sh.tombstone;
        unkeyed += !sh.has_key;
        tombs += sh.tombstone;
        big += sh.value_len > EVLOG_LINGER_BYTES;
    }
    cr_assert(keyed && unkeyed && tombs && big, "the records lack a kind (%d keyed, %d "
              "without key, %d tombstones, %d over EVLOG_LINGER_BYTES)", keyed, unkeyed, tombs,
              big);

    w = open_writer(200000, EVLOG_SYNC_NONE, 64 << 10);
    evt_rng_init(&brng, seed ^ 0x66);
    memset(&plan, 0, sizeof plan);
    plan.max_batch = 1;
    plan.max_batch_bytes = 24 << 10;
    cr_assert_eq(evt_append_gen(w, &g, 0, NREC / 2, &brng, &plan), 0, "%s", plan.why);
    plan.max_batch = 4;
    cr_assert_eq(evt_append_gen(w, &g, NREC / 2, NREC - NREC / 2, &brng, &plan), 0, "%s",
                 plan.why);
    cr_assert_eq(evlog_end_offset(w), NREC);
    cr_assert_eq(evlog_close(w), 0); /* with an open batch */
    nseg = evt_segments(evt_log, bases, 1024);
    cr_assert_gt(nseg, 10, "only %ld segments", nseg);

    w = open_writer(0, EVLOG_SYNC_NONE, 64 << 10);
    cr_assert_eq(evlog_end_offset(w), NREC, "after reopen the end is %llu",
                 (unsigned long long)evlog_end_offset(w));
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, NREC, 1, why, sizeof why), 0, "%s", why);
    {
        /* seeks through the indexes of segments written with linger */
        evlog_iter *it = NULL;
        evt_rng r;
        int k;
        evt_rng_init(&r, seed ^ 0x5eec);
        cr_assert_eq(evlog_iter_new(&it, w, 0), 0);
        for (k = 0; k < 200; k++) {
            uint64_t o = evt_rng_below(&r, NREC - 3);
            cr_assert_eq(evlog_iter_seek(it, o), 0, "seek %llu: %s", (unsigned long long)o,
                         evlog_errmsg(w));
            cr_assert_eq(evt_verify_iter(it, &g, 0, o, o + 3, why, sizeof why), 0,
                         "after a seek to %llu: %s", (unsigned long long)o, why);
        }
        evlog_iter_free(it);
    }
    cr_assert_eq(evlog_close(w), 0);

    /* reopened with linger, more of them, closed again */
    w = open_writer(200000, EVLOG_SYNC_NONE, 64 << 10);
    cr_assert_eq(evlog_end_offset(w), NREC);
    cr_assert_eq(evt_append_gen(w, &g, NREC, 500, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(evlog_close(w), 0);

    w = open_reader(evt_log);
    cr_assert_eq(evlog_end_offset(w), NREC + 500);
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, NREC + 500, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(w), 0);
    scan_batches(evt_log, &s);
    cr_assert_eq(s.n ? s.b[s.n - 1].last + 1 : 0, NREC + 500);
    free(s.b);
}

/*-******************* 7: truncations around the open batch *******************/
Test(linger, truncate_around_open_batch)
{
    uint64_t seed = evt_seed("linger.truncate_around_open_batch");
    evt_gen gens[4];
    static uint8_t owner[4096];
    evt_append_plan plan;
    evt_rng brng;
    evlog *w;
    int i, rc;

    for (i = 0; i < 4; i++) {
        gens[i].seed = seed ^ evt_mix((uint64_t)i + 1);
        gens[i].profile = EVT_SMALL;
        gens[i].max_value = 0;
        gens[i].no_zero_ts = 0;
    }
    memset(owner, 0, sizeof owner);
    w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 64 << 10);

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 5;
    plan.max_batch_bytes = 2048;
    evt_rng_init(&brng, seed);
    cr_assert_eq(evt_append_gen(w, &gens[0], 0, 2000, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(evlog_flush(w), 0);

    /* inside the open batch */
    append_singles(w, &gens[0], 30); /* [2000, 2030) */
    rc = evlog_truncate_back(w, 2015);
    cr_assert_eq(rc, 0, "truncate_back(2015) inside the open batch: %d (%s): %s", rc,
                 evlog_strerror(rc), evlog_errmsg(w));
    cr_assert_eq(evlog_end_offset(w), 2015);
    cr_assert_leq(evlog_durable_offset(w), 2015);
    verify_owned(w, gens, owner, 0, 2015, "after truncate_back(2015)");

    /* at the end, with an open batch: nothing removed */
    append_singles(w, &gens[1], 20); /* [2015, 2035) */
    memset(owner + 2015, 1, 20);
    cr_assert_eq(evlog_truncate_back(w, 2035), 0, "%s", evlog_errmsg(w));
    cr_assert_eq(evlog_end_offset(w), 2035);
    verify_owned(w, gens, owner, 0, 2035, "after truncate_back(end)");

    /* exactly at the open batch's first record */
    append_singles(w, &gens[2], 10); /* [2035, 2045) */
    cr_assert_eq(evlog_truncate_back(w, 2035), 0, "%s", evlog_errmsg(w));
    cr_assert_eq(evlog_end_offset(w), 2035);
    verify_owned(w, gens, owner, 0, 2035, "after truncate_back to the open batch's start");

    /* below the open batch */
    append_singles(w, &gens[2], 25); /* [2035, 2060) */
    rc = evlog_truncate_back(w, 1990);
    cr_assert_eq(rc, 0, "truncate_back(1990) below the open batch: %d (%s): %s", rc,
                 evlog_strerror(rc), evlog_errmsg(w));
    cr_assert_eq(evlog_end_offset(w), 1990);
    cr_assert_leq(evlog_durable_offset(w), 1990);
    verify_owned(w, gens, owner, 0, 1990, "after truncate_back(1990)");

    /* truncate_front with an open batch */
    append_singles(w, &gens[3], 30); /* [1990, 2020) */
    memset(owner + 1990, 3, 30);
    rc = evlog_truncate_front(w, 500);
    cr_assert_eq(rc, 0, "truncate_front(500): %d (%s): %s", rc, evlog_strerror(rc),
                 evlog_errmsg(w));
    cr_assert_eq(evlog_start_offset(w), 500);
    cr_assert_eq(evlog_end_offset(w), 2020);
    verify_owned(w, gens, owner, 500, 2020, "after truncate_front(500)");
    {
        evlog_iter *it = NULL;
        cr_assert_eq(evlog_iter_new(&it, w, 499), EVLOG_ERANGE);
    }

    append_singles(w, &gens[3], 10); /* [2020, 2030) */
    memset(owner + 2020, 3, 10);
    cr_assert_eq(evlog_close(w), 0);

    w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 64 << 10);
    cr_assert_eq(evlog_start_offset(w), 500, "start after reopen: %llu",
                 (unsigned long long)evlog_start_offset(w));
    cr_assert_eq(evlog_end_offset(w), 2030, "end after reopen: %llu",
                 (unsigned long long)evlog_end_offset(w));
    verify_owned(w, gens, owner, 500, 2030, "after reopen");
    cr_assert_eq(evlog_close(w), 0);
    w = open_reader(evt_log);
    cr_assert_eq(evlog_end_offset(w), 2030);
    verify_owned(w, gens, owner, 500, 2030, "read-only after reopen");
    cr_assert_eq(evlog_close(w), 0);
}

/*-******************* 8: evlog_sync *******************/
Test(linger, sync_closes_and_syncs)
{
    uint64_t seed = evt_seed("linger.sync_closes_and_syncs");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    evlog *r = open_reader(evt_log);
    evlog_iter *it = NULL;
    uint64_t next = 0;
    int round;

    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    append_singles(w, &g, 100);
    cr_assert_eq(evlog_flush(w), 0);
    cr_assert_eq(evlog_sync(w), 0);
    cr_assert_eq(evlog_durable_offset(w), 100);
    append_singles(w, &g, 50);
    cr_assert_eq(evlog_durable_offset(w), 100, "EVLOG_SYNC_NONE, no sync, no roll: the durable "
                 "offset moved to %llu", (unsigned long long)evlog_durable_offset(w));
    cr_assert_eq(evlog_sync(w), 0, "%s", evlog_errmsg(w));
    cr_assert_eq(evlog_durable_offset(w), evlog_end_offset(w), "after evlog_sync: durable "
                 "%llu, end %llu", (unsigned long long)evlog_durable_offset(w),
                 (unsigned long long)evlog_end_offset(w));
    cr_assert_eq(evlog_end_offset(w), 150);
    drain(r, it, &g, &next, 150);
    cr_assert_eq(next, 150, "after evlog_sync a read-only handle sees %llu of 150",
                 (unsigned long long)next);
    cr_assert_eq(evlog_close(w), 0);

    evlog_iter_free(it);
    it = NULL;
    cr_assert_eq(evlog_close(r), 0);

    /* EVLOG_SYNC_INTERVAL: the background sync never counts the open batch,
     * so whatever is durable is visible */
    {
        evlog_options o = lopts(EVLOG_MAX_LINGER_US, EVLOG_SYNC_INTERVAL, 1 << 20);
        o.sync_interval_ms = 10;
        w = open_opts(evt_log, &o);
    }
    cr_assert_eq(evlog_end_offset(w), 150);
    r = open_reader(evt_log);
    cr_assert_eq(evlog_iter_new(&it, r, 150), 0);
    for (round = 0; round < 4; round++) {
        uint64_t d;
        append_singles(w, &g, 20);
        if (round & 1)
            usleep(40000); /* several sync intervals */
        d = evlog_durable_offset(w);
        drain(r, it, &g, &next, evlog_end_offset(w));
        cr_assert_geq(next, d, "round %d: the durable offset is %llu but readers see only up "
                      "to %llu: the open batch was counted", round, (unsigned long long)d,
                      (unsigned long long)next);
    }
    cr_assert_eq(evlog_sync(w), 0, "%s", evlog_errmsg(w));
    cr_assert_eq(evlog_durable_offset(w), evlog_end_offset(w));
    cr_assert_eq(evlog_end_offset(w), 230);
    drain(r, it, &g, &next, 230);
    cr_assert_eq(next, 230);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(evlog_close(r), 0);
}

/*-******************* 9: LZ4 *******************/
/* A compressible record: text repeated to 150..199 bytes, a key on every
 * other one, a fixed timestamp. */
static void text_record(uint64_t i, evlog_record *rec, char *key, char *val)
{
    size_t len = 150 + (size_t)(i % 50), p = 0;
    char unit[64];
    int ul = snprintf(unit, sizeof unit, "sensor %05llu reading ok; temperature nominal; ",
                      (unsigned long long)(i % 97));
    while (p < len) {
        val[p] = unit[p % (size_t)ul];
        p++;
    }
    memset(rec, 0, sizeof *rec);
    rec->timestamp = 1700000000000000000LL + (int64_t)i;
    rec->value = val;
    rec->value_len = len;
    if (i & 1) {
        rec->key_len = (size_t)snprintf(key, 32, "sensor-%llu", (unsigned long long)(i % 97));
        rec->key = key;
    }
}

static void check_text_log(const char *dir, uint64_t n)
{
    evlog *log = open_reader(dir);
    evlog_iter *it = NULL;
    evlog_record rec, want;
    char key[32], val[256];
    uint64_t i;

    cr_assert_eq(evlog_end_offset(log), n);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    for (i = 0; i < n; i++) {
        int rc = evlog_iter_next(it, &rec);
        cr_assert_eq(rc, 1, "%s: record %llu: %d (%s): %s", dir, (unsigned long long)i, rc,
                     evlog_strerror(rc), evlog_errmsg(log));
        text_record(i, &want, key, val);
        cr_assert_eq(rec.offset, i);
        cr_assert_eq(rec.timestamp, want.timestamp);
        cr_assert_eq(rec.key_len, want.key_len);
        cr_assert_eq(rec.key == NULL, want.key == NULL, "%s: record %llu: key presence", dir,
                     (unsigned long long)i);
        if (want.key)
            cr_assert_eq(memcmp(rec.key, want.key, want.key_len), 0);
        cr_assert_eq(rec.value_len, want.value_len);
        cr_assert_eq(memcmp(rec.value, want.value, want.value_len), 0, "%s: record %llu: value",
                     dir, (unsigned long long)i);
    }
    cr_assert_eq(evlog_iter_next(it, &rec), 0);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
}

static void write_text_log(const char *dir, int compression, uint64_t n)
{
    evlog_options o = lopts(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    evlog *w;
    uint64_t i;
    char key[32], val[256];

    o.compression = compression;
    w = open_opts(dir, &o);
    for (i = 0; i < n; i++) {
        evlog_record rec;
        uint64_t first = UINT64_MAX;
        text_record(i, &rec, key, val);
        cr_assert_eq(evlog_append(w, &rec, 1, &first), 0, "%s", evlog_errmsg(w));
        cr_assert_eq(first, i);
        if (i == n / 2) {
            /* readers see the first half once flushed, decompressed */
            cr_assert_eq(evlog_flush(w), 0);
            check_text_log(dir, i + 1);
        }
    }
    cr_assert_eq(evlog_close(w), 0);
}

Test(linger, lz4)
{
    const char *dz = evt_path(evt_dir, "lz4"), *dn = evt_path(evt_dir, "none");
    enum { NREC = 3000 };
    scanned sz, sn;
    uint64_t bz, bn;
    size_t i, nlz4 = 0;

    write_text_log(dz, EVLOG_COMPRESS_LZ4, NREC);
    write_text_log(dn, EVLOG_COMPRESS_NONE, NREC);
    check_text_log(dz, NREC);
    check_text_log(dn, NREC);

    scan_batches(dz, &sz);
    scan_batches(dn, &sn);
    for (i = 0; i < sz.n; i++)
        nlz4 += sz.b[i].compression == EVLOG_COMPRESS_LZ4;
    for (i = 0; i < sn.n; i++)
        cr_assert_eq(sn.b[i].compression, EVLOG_COMPRESS_NONE);
    bz = scan_total_bytes(&sz);
    bn = scan_total_bytes(&sn);
    fprintf(stderr, "linger.lz4: %zu batches (%zu LZ4) of %llu bytes; uncompressed %zu batches "
            "of %llu bytes\n", sz.n, nlz4, (unsigned long long)bz, sn.n, (unsigned long long)bn);
    cr_assert_gt(nlz4, 0, "no batch stored LZ4-compressed");
    cr_assert_lt(bz * 2, bn, "compressible text: %llu bytes with LZ4, %llu without",
                 (unsigned long long)bz, (unsigned long long)bn);
    cr_assert_lt(sn.n, NREC, "linger gathered nothing without compression");
    cr_assert_lt(sz.n, NREC, "linger gathered nothing with compression");
    free(sz.b);
    free(sn.b);
}

/*-******************* 10: options *******************/
Test(linger, options)
{
    uint64_t seed = evt_seed("linger.options");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog_options o;
    evlog *w = (evlog *)(uintptr_t)1, *r;
    evlog_iter *it = NULL;
    uint64_t next = 0;
    char err[512] = "";
    scanned s;
    int rc, i;

    evlog_options_init(&o);
    cr_assert_eq(EVLOG_OPTIONS_VERSION, 2);
    cr_assert_eq(o.version, EVLOG_OPTIONS_VERSION);
    cr_assert_eq(o.linger_us, 0, "the default linger_us is %u", o.linger_us);

    o.linger_us = EVLOG_MAX_LINGER_US + 1;
    rc = evlog_open_ex(&w, evt_log, &o, err, sizeof err);
    cr_assert_eq(rc, EVLOG_EINVAL, "linger_us EVLOG_MAX_LINGER_US + 1: %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_null(w);
    o.linger_us = UINT32_MAX;
    cr_assert_eq(evlog_open(&w, evt_log, &o), EVLOG_EINVAL);
    cr_assert_null(w);

    o.linger_us = EVLOG_MAX_LINGER_US;
    w = open_opts(evt_log, &o);
    cr_assert_eq(evlog_close(w), 0);

    /* version 1 does not know linger_us: the garbage there is not read */
    evlog_options_init(&o);
    o.version = 1;
    o.linger_us = UINT32_MAX;
    w = open_opts(evt_log, &o);
    r = open_reader(evt_log);
    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    for (i = 0; i < 10; i++) {
        append_singles(w, &g, 1);
        drain(r, it, &g, &next, evlog_end_offset(w));
        cr_assert_eq(next, evlog_end_offset(w), "options version 1 with linger_us garbage: "
                     "append %d is not visible at once (a read-only handle sees %llu of %llu)",
                     i, (unsigned long long)next, (unsigned long long)evlog_end_offset(w));
    }
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(evlog_close(r), 0);
    /* and each call was a batch of its own */
    scan_batches(evt_log, &s);
    cr_assert_eq(s.n, 10, "options version 1: 10 appends in %zu batches", s.n);
    free(s.b);
}

/*-******************* 11: EVLOG_SYNC_ALWAYS ignores linger *******************/
Test(linger, sync_always_ignores_linger)
{
    uint64_t seed = evt_seed("linger.sync_always_ignores_linger");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_ALWAYS, 1 << 20);
    evlog *r = open_reader(evt_log);
    evlog_iter *it = NULL;
    uint64_t next = 0;
    scanned s;
    int i;

    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    for (i = 0; i < 20; i++) {
        uint64_t first = evlog_end_offset(w);
        append_singles(w, &g, 1);
        cr_assert_gt(evlog_durable_offset(w), first, "EVLOG_SYNC_ALWAYS with linger: append "
                     "at %llu returned with the durable offset at %llu",
                     (unsigned long long)first, (unsigned long long)evlog_durable_offset(w));
        drain(r, it, &g, &next, first + 1);
        cr_assert_eq(next, first + 1, "EVLOG_SYNC_ALWAYS with linger: the record at %llu is "
                     "not visible to a read-only handle on return", (unsigned long long)first);
    }
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(evlog_close(r), 0);
    scan_batches(evt_log, &s);
    cr_assert_eq(s.n, 20, "EVLOG_SYNC_ALWAYS: 20 appends in %zu batches", s.n);
    free(s.b);
}

/*-******************* 12: a process crash loses the open batch only *******************/
/* A child appends N records, closes their batches with evlog_flush (or makes
 * them durable with evlog_sync, so that the open batch starts right at the
 * durable point), appends M more that linger, and dies without closing. */
static void crash_case(const char *label, int sync_first)
{
    uint64_t seed = evt_seed(label);
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    enum { N = 300, M = 20 };
    evlog *w;
    uint64_t end;
    pid_t pid;
    int st;
    char why[512];
    scanned s;

    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        evlog_options o = lopts(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
        evlog *c = NULL;
        uint64_t i;
        int rc = evlog_open(&c, evt_log, &o);
        if (rc != 0)
            _exit(-rc);
        for (i = 0; i < N; i++)
            if (evt_append_one(c, &g, i, NULL) != 0)
                _exit(101);
        if ((sync_first ? evlog_sync(c) : evlog_flush(c)) != 0)
            _exit(102);
        if (sync_first && evlog_durable_offset(c) != N)
            _exit(103);
        for (i = N; i < N + M; i++)
            if (evt_append_one(c, &g, i, NULL) != 0)
                _exit(104);
        if (evlog_end_offset(c) != N + M)
            _exit(105);
        _exit(0); /* a crash: no evlog_close, no flush */
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed: %s %d",
              WIFEXITED(st) ? "exit status" : "signal",
              WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));

    /* what the crash left is a torn tail (a warning), not damage */
    scan_batches(evt_log, &s);
    cr_assert(s.n > 0 && s.b[s.n - 1].last + 1 >= N, "%s: the scan after the crash ends at %llu",
              label, s.n ? (unsigned long long)(s.b[s.n - 1].last + 1) : 0ull);
    free(s.b);

    /* a reader first (it cannot cut the tail), then the writer */
    w = open_reader(evt_log);
    end = evlog_end_offset(w);
    cr_assert(end >= N && end <= N + M, "%s: a read-only handle after the crash: end %llu",
              label, (unsigned long long)end);
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, end, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(w), 0);

    w = open_writer(0, EVLOG_SYNC_NONE, 1 << 20);
    end = evlog_end_offset(w);
    fprintf(stderr, "%s: %u %s + %u lingering appended, %llu after recovery\n", label, N,
            sync_first ? "synced" : "flushed", M, (unsigned long long)end);
    cr_assert_geq(end, N, "%s: closed batches were lost in a process crash: end %llu", label,
                  (unsigned long long)end);
    cr_assert_leq(end, N + M);
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, end, 1, why, sizeof why), 0, "%s", why);
    /* the log goes on from there */
    append_singles(w, &g, 5);
    cr_assert_eq(evlog_close(w), 0);
    scan_batches(evt_log, &s);
    cr_assert_eq(s.n ? s.b[s.n - 1].last + 1 : 0, end + 5);
    free(s.b);
}

Test(linger, process_crash_after_flush)
{
    crash_case("linger.process_crash_after_flush", 0);
}

Test(linger, process_crash_after_sync)
{
    crash_case("linger.process_crash_after_sync", 1);
}

/*-******************* 13: evlog_flush's errors *******************/
static atomic_int fail_syncs;

static int failing_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    if (atomic_load(&fail_syncs))
        return -EIO;
    return evl_io_posix.msync(io, addr, off, len);
}

static int failing_fsync(const struct evlog_io *io, int fd)
{
    if (atomic_load(&fail_syncs))
        return -EIO;
    return evl_io_posix.fsync(io, fd);
}

Test(linger, flush_errors)
{
    uint64_t seed = evt_seed("linger.flush_errors");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    static struct evlog_io failing_io;
    evlog_options o;
    evlog *w, *r;
    char why[512];
    uint64_t end;
    int rc;

    cr_assert_eq(evlog_flush(NULL), EVLOG_EINVAL);

    /* no open batch: without linger, and with linger before and after one */
    w = open_writer(0, EVLOG_SYNC_NONE, 1 << 20);
    cr_assert_eq(evlog_flush(w), 0);
    append_singles(w, &g, 3);
    cr_assert_eq(evlog_flush(w), 0);
    cr_assert_eq(evlog_end_offset(w), 3);
    cr_assert_eq(evlog_close(w), 0);
    w = open_writer(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    cr_assert_eq(evlog_flush(w), 0, "evlog_flush without an open batch");
    append_singles(w, &g, 3);
    cr_assert_eq(evlog_flush(w), 0);
    cr_assert_eq(evlog_flush(w), 0, "a second evlog_flush");
    cr_assert_eq(evlog_end_offset(w), 6);

    r = open_reader(evt_log);
    rc = evlog_flush(r);
    cr_assert_eq(rc, EVLOG_EREADONLY, "evlog_flush of a read-only handle: %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_eq(evt_verify_log(r, &g, 0, 0, 6, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(r), 0);
    cr_assert_eq(evlog_close(w), 0);

    /* a poisoned handle */
    failing_io = evl_io_posix;
    failing_io.msync = failing_msync;
    failing_io.fsync = failing_fsync;
    atomic_store(&fail_syncs, 0);
    o = lopts(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    o.io = &failing_io;
    w = open_opts(evt_log, &o);
    append_singles(w, &g, 10);
    atomic_store(&fail_syncs, 1);
    rc = evlog_sync(w);
    cr_assert_eq(rc, EVLOG_EIO, "evlog_sync with a failing msync/fsync: %d (%s)", rc,
                 evlog_strerror(rc));
    rc = evlog_flush(w);
    cr_assert_eq(rc, EVLOG_EFAILED, "evlog_flush of a poisoned handle: %d (%s)", rc,
                 evlog_strerror(rc));
    rc = evlog_append(w, &(evlog_record){0, 1, "k", 1, "v", 1}, 1, NULL);
    cr_assert_eq(rc, EVLOG_EFAILED);
    rc = evlog_flush(w);
    cr_assert_eq(rc, EVLOG_EFAILED);
    rc = evlog_close(w);
    cr_assert(rc == EVLOG_EFAILED || rc == EVLOG_EIO, "close of a poisoned handle: %d (%s)", rc,
              evlog_strerror(rc));
    atomic_store(&fail_syncs, 0);

    /* the records before the failure that reached the file are a prefix */
    w = open_writer(0, EVLOG_SYNC_NONE, 1 << 20);
    end = evlog_end_offset(w);
    cr_assert(end >= 6 && end <= 16, "end %llu after the poisoned handle",
              (unsigned long long)end);
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, end, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(w), 0);
}

/*
 * A sync that fails while appends linger: the sync releases the writer's
 * lock for its msync, an append opens a batch meanwhile, then the msync
 * fails and poisons the handle. Those appends were acknowledged; the
 * poisoned handle closes their batch, so the writer's iterator reads them
 * (no EVLOG_EFAILED at its end) and a reopen finds them, as without linger.
 * The msync waits for the append, so the order does not depend on timing.
 */
static atomic_int in_msync, appended;

static int slow_failing_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    (void)io;
    (void)addr;
    (void)off;
    (void)len;
    atomic_store(&in_msync, 1);
    while (!atomic_load(&appended))
        usleep(1000);
    return -EIO;
}

static void *sync_main(void *arg)
{
    return (void *)(intptr_t)evlog_sync(arg);
}

Test(linger, poisoned_while_a_batch_is_open)
{
    uint64_t seed = evt_seed("linger.poisoned_while_a_batch_is_open");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    static struct evlog_io io;
    evlog_options o;
    evlog_iter *it = NULL;
    evlog_record rec;
    pthread_t t;
    void *ret;
    evlog *w;
    char why[512];
    uint64_t n = 0;
    int rc;

    io = evl_io_posix;
    io.msync = slow_failing_msync;
    atomic_store(&in_msync, 0);
    atomic_store(&appended, 0);
    o = lopts(EVLOG_MAX_LINGER_US, EVLOG_SYNC_NONE, 1 << 20);
    o.io = &io;
    w = open_opts(evt_log, &o);
    append_singles(w, &g, 5);
    cr_assert_eq(pthread_create(&t, NULL, sync_main, w), 0);
    while (!atomic_load(&in_msync))
        usleep(1000);
    append_singles(w, &g, 7); /* a batch opens while the sync is under way */
    atomic_store(&appended, 1);
    cr_assert_eq(pthread_join(t, &ret), 0);
    cr_assert_eq((int)(intptr_t)ret, EVLOG_EIO, "the failing sync returned %d",
                 (int)(intptr_t)ret);
    cr_assert_eq(evlog_end_offset(w), 12);

    cr_assert_eq(evlog_iter_new(&it, w, 0), 0);
    while ((rc = evlog_iter_next(it, &rec)) == 1)
        n++;
    cr_assert_eq(rc, 0, "the poisoned writer's iterator ended with %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_eq(n, 12, "the poisoned writer's iterator read %llu of 12 acknowledged records",
                 (unsigned long long)n);
    evlog_iter_free(it);
    (void)evlog_close(w);

    w = open_writer(0, EVLOG_SYNC_NONE, 1 << 20);
    cr_assert_eq(evlog_end_offset(w), 12, "after reopen the log ends at %llu, not 12",
                 (unsigned long long)evlog_end_offset(w));
    cr_assert_eq(evt_verify_log(w, &g, 0, 0, 12, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(w), 0);
}

/*-******************* 14: threads and a reader *******************/
#define TH_WRITERS 4
#define TH_APPENDS 50000u
#define TH_TOTAL ((uint64_t)TH_WRITERS * TH_APPENDS)

typedef struct th_val {
    uint32_t thread, seq;
    uint64_t check;
} th_val;

static uint64_t th_check(uint32_t thread, uint32_t seq)
{
    return evt_mix(((uint64_t)thread << 32) | seq);
}

typedef struct th_writer {
    evlog *log;
    uint32_t id;
    uint64_t *offs; /* the offset each append got */
    int rc;
    char why[256];
} th_writer;

static void *th_writer_main(void *arg)
{
    th_writer *a = arg;
    uint32_t s;
    for (s = 0; s < TH_APPENDS; s++) {
        th_val v = {a->id, s, th_check(a->id, s)};
        char key[16];
        evlog_record rec = {0, 1000000 + (int64_t)s, NULL, 0, &v, sizeof v};
        uint64_t first = UINT64_MAX;
        if (s % 3 == 0) {
            rec.key_len = (size_t)snprintf(key, sizeof key, "t%u", a->id);
            rec.key = key;
        }
        a->rc = evlog_append(a->log, &rec, 1, &first);
        if (a->rc != 0) {
            snprintf(a->why, sizeof a->why, "thread %u append %u: %d (%s)", a->id, s, a->rc,
                     evlog_strerror(a->rc));
            return NULL;
        }
        a->offs[s] = first;
    }
    return NULL;
}

typedef struct th_reader {
    evlog *log; /* read-only */
    _Atomic uint64_t target; /* UINT64_MAX until the writers are done */
    uint64_t *seen;          /* thread << 32 | seq of each offset read */
    uint64_t next;
    int failed;
    char why[512];
} th_reader;

static void *th_reader_main(void *arg)
{
    th_reader *rd = arg;
    evlog_iter *it = NULL;
    uint32_t last[TH_WRITERS];
    uint64_t t_target = 0;
    int rc, i;

    for (i = 0; i < TH_WRITERS; i++)
        last[i] = UINT32_MAX;
    if ((rc = evlog_iter_new(&it, rd->log, 0)) != 0) {
        snprintf(rd->why, sizeof rd->why, "evlog_iter_new: %d (%s)", rc, evlog_strerror(rc));
        rd->failed = 1;
        return NULL;
    }
    for (;;) {
        evlog_record rec;
        th_val v;
        rc = evlog_iter_next(it, &rec);
        if (rc == 0) {
            uint64_t tgt = atomic_load(&rd->target);
            if (rd->next >= tgt)
                break;
            if (tgt != UINT64_MAX) {
                if (!t_target)
                    t_target = evt_mono_ms();
                else if (evt_mono_ms() - t_target > WAIT_CAP_MS) {
                    snprintf(rd->why, sizeof rd->why, "the reader stayed at %llu of %llu for "
                             "%u ms after the writers flushed", (unsigned long long)rd->next,
                             (unsigned long long)tgt, WAIT_CAP_MS);
                    rd->failed = 1;
                    break;
                }
            }
            usleep(200);
            continue;
        }
        if (rc != 1) {
            snprintf(rd->why, sizeof rd->why, "reader at %llu: %d (%s): %s",
                     (unsigned long long)rd->next, rc, evlog_strerror(rc),
                     evlog_errmsg(rd->log));
            rd->failed = 1;
            break;
        }
        if (rec.offset != rd->next || rd->next >= TH_TOTAL || rec.value_len != sizeof v) {
            snprintf(rd->why, sizeof rd->why, "reader expected offset %llu, got offset %llu "
                     "with a %zu-byte value", (unsigned long long)rd->next,
                     (unsigned long long)rec.offset, rec.value_len);
            rd->failed = 1;
            break;
        }
        memcpy(&v, rec.value, sizeof v);
        if (v.thread >= TH_WRITERS || v.check != th_check(v.thread, v.seq) ||
            v.seq != last[v.thread] + 1 || rec.timestamp != 1000000 + (int64_t)v.seq ||
            (rec.key != NULL) != (v.seq % 3 == 0)) {
            snprintf(rd->why, sizeof rd->why, "offset %llu holds thread %u seq %u (check %s, "
                     "timestamp %lld, key %s); that thread's last seq read was %u",
                     (unsigned long long)rec.offset, v.thread, v.seq,
                     v.check == th_check(v.thread, v.seq) ? "ok" : "bad",
                     (long long)rec.timestamp, rec.key ? "yes" : "no",
                     v.thread < TH_WRITERS ? last[v.thread] : 0);
            rd->failed = 1;
            break;
        }
        last[v.thread] = v.seq;
        rd->seen[rd->next++] = ((uint64_t)v.thread << 32) | v.seq;
    }
    if (!rd->failed && (rc = evlog_iter_next(it, &(evlog_record){0})) != 0) {
        snprintf(rd->why, sizeof rd->why, "evlog_iter_next after the last record: %d", rc);
        rd->failed = 1;
    }
    evlog_iter_free(it);
    return NULL;
}

/* TH_WRITERS threads append while a reader follows: through a read-only
 * handle, or through the writer's own handle (whose iterator closes the
 * open batch whenever it reaches it, racing the appenders). */
static void threads_case(const char *label, int own_handle)
{
    static th_writer wr[TH_WRITERS];
    static th_reader rd;
    pthread_t th[TH_WRITERS], rt;
    evlog *w = open_writer(500, EVLOG_SYNC_NONE, 1 << 20);
    uint64_t t0, bases[256];
    uint32_t s;
    int t;

    memset(&rd, 0, sizeof rd);
    rd.log = own_handle ? w : open_reader(evt_log);
    atomic_store(&rd.target, UINT64_MAX);
    rd.seen = calloc(TH_TOTAL, sizeof *rd.seen);
    cr_assert_not_null(rd.seen);
    cr_assert_eq(pthread_create(&rt, NULL, th_reader_main, &rd), 0);
    t0 = evt_mono_ms();
    for (t = 0; t < TH_WRITERS; t++) {
        memset(&wr[t], 0, sizeof wr[t]);
        wr[t].log = w;
        wr[t].id = (uint32_t)t;
        wr[t].offs = calloc(TH_APPENDS, sizeof *wr[t].offs);
        cr_assert_not_null(wr[t].offs);
        cr_assert_eq(pthread_create(&th[t], NULL, th_writer_main, &wr[t]), 0);
    }
    for (t = 0; t < TH_WRITERS; t++)
        pthread_join(th[t], NULL);
    fprintf(stderr, "%s: %d x %u appends in %llu ms\n", label, TH_WRITERS, TH_APPENDS,
            (unsigned long long)(evt_mono_ms() - t0));
    for (t = 0; t < TH_WRITERS; t++)
        cr_assert_eq(wr[t].rc, 0, "%s", wr[t].why);
    cr_assert_eq(evlog_end_offset(w), TH_TOTAL);
    cr_assert_eq(evlog_flush(w), 0, "%s", evlog_errmsg(w));
    atomic_store(&rd.target, TH_TOTAL);
    pthread_join(rt, NULL);
    cr_assert_eq(rd.failed, 0, "%s: %s", label, rd.why);
    cr_assert_eq(rd.next, TH_TOTAL);
    /* each offset the reader saw is the one its append got */
    for (t = 0; t < TH_WRITERS; t++) {
        for (s = 0; s < TH_APPENDS; s++) {
            uint64_t o = wr[t].offs[s];
            cr_assert_lt(o, TH_TOTAL);
            cr_assert_eq(rd.seen[o], ((uint64_t)t << 32) | s, "%s: thread %d append %u got "
                         "offset %llu, where the reader found thread %u seq %u", label, t, s,
                         (unsigned long long)o, (unsigned)(rd.seen[o] >> 32),
                         (unsigned)rd.seen[o]);
        }
        free(wr[t].offs);
    }
    free(rd.seen);
    cr_assert_gt(evt_segments(evt_log, bases, 256), 1, "the writers should have rolled");
    cr_assert_eq(evlog_close(w), 0);
    if (!own_handle)
        cr_assert_eq(evlog_close(rd.log), 0);
}

Test(linger, threads_and_reader)
{
    threads_case("linger.threads_and_reader", 0);
}

Test(linger, threads_and_own_reader)
{
    threads_case("linger.threads_and_own_reader", 1);
}
