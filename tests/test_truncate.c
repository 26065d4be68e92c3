/*
 * test_truncate.c - evlog_truncate_back into the middle of a batch, on a
 * batch boundary, into an earlier sealed segment, on a segment boundary and
 * to the start; evlog_truncate_front; then appends, close, reopen, and the
 * contents and start/end offsets are checked. Iterators standing past the
 * new end get EVLOG_ERANGE.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "os.h"

TestSuite(truncate, .init = evt_setup, .fini = evt_teardown, .timeout = 120);

#define SEG_BYTES (64u << 10)
#define NREC 20000u
#define NNEW 500u

static evlog *open_dir(const char *dir, int compression)
{
    evlog_options o;
    evlog *log = NULL;
    char err[512] = "";
    int rc;
    evlog_options_init(&o);
    o.segment_bytes = SEG_BYTES;
    o.compression = compression;
    rc = evlog_open_ex(&log, dir, &o, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(%s): %d (%s): %s", dir, rc, evlog_strerror(rc), err);
    return log;
}

typedef struct built {
    uint64_t ends[NREC];  /* end offset of each batch */
    size_t n;
    uint64_t bases[1024]; /* segment bases */
    long nseg;
} built;

static void build(const char *dir, const evt_gen *g, int compression, built *b)
{
    evt_rng brng;
    evt_append_plan plan;
    evlog *log = open_dir(dir, compression);
    memset(&plan, 0, sizeof plan);
    plan.max_batch = 16;
    plan.max_batch_bytes = 4 << 10;
    plan.batch_ends = b->ends;
    plan.batch_ends_cap = NREC;
    evt_rng_init(&brng, g->seed ^ 0x7777);
    cr_assert_eq(evt_append_gen(log, g, 0, NREC, &brng, &plan), 0, "%s", plan.why);
    b->n = plan.n_batches;
    cr_assert_eq(evlog_close(log), 0);
    b->nseg = evt_segments(dir, b->bases, 1024);
    cr_assert_gt(b->nseg, 4, "the log should span several segments");
}

/* The index of the first batch ending after `off` (the batch holding off). */
static size_t batch_of(const built *b, uint64_t off)
{
    size_t i;
    for (i = 0; i < b->n; i++)
        if (b->ends[i] > off)
            return i;
    return b->n;
}

static uint64_t batch_start(const built *b, size_t i) { return i ? b->ends[i - 1] : 0; }

/* A batch of at least 3 records whose start is at or after `from`. */
static size_t batch_with_3_after(const built *b, uint64_t from)
{
    size_t i;
    for (i = batch_of(b, from); i < b->n; i++)
        if (b->ends[i] - batch_start(b, i) >= 3 && batch_start(b, i) >= from)
            return i;
    cr_assert_fail("no batch of 3 records after %llu", (unsigned long long)from);
    return 0;
}

/* Truncates a fresh copy of the log back to `to` and checks everything. */
static void truncate_back_case(const char *label, const char *src, const evt_gen *g,
                               uint64_t to, int compression)
{
    char dir[4200], why[512] = "";
    evt_gen g2 = *g;
    evlog *log;
    evlog_iter *past = NULL, *at = NULL, *before = NULL;
    evlog_record rec;
    uint64_t i;
    int rc;

    g2.seed = g->seed ^ 0xabcdef;
    snprintf(dir, sizeof dir, "%s/%s", evt_dir, label);
    cr_assert_eq(evt_copy_dir(src, dir), 0);
    log = open_dir(dir, compression);
    cr_assert_eq(evlog_end_offset(log), NREC);

    /* iterators: one at the old end (past the new end unless to == end), one
     * a little past the new end, one exactly on it, one just before it */
    cr_assert_eq(evlog_iter_new(&past, log, NREC), 0);
    cr_assert_eq(evlog_iter_new(&at, log, to), 0);
    if (to > 0)
        cr_assert_eq(evlog_iter_new(&before, log, to - 1), 0);

    rc = evlog_truncate_back(log, to);
    cr_assert_eq(rc, 0, "%s: truncate_back(%llu): %d (%s): %s", label, (unsigned long long)to,
                 rc, evlog_strerror(rc), evlog_errmsg(log));
    cr_assert_eq(evlog_end_offset(log), to, "%s: end offset after truncate_back", label);
    cr_assert_eq(evlog_start_offset(log), 0, "%s: start offset after truncate_back", label);
    cr_assert_leq(evlog_durable_offset(log), to, "%s: durable offset past the end", label);

    rc = evlog_iter_next(past, &rec);
    if (to < NREC)
        cr_assert_eq(rc, EVLOG_ERANGE, "%s: an iterator at %u, past the new end %llu, got %d "
                     "(%s) instead of EVLOG_ERANGE", label, NREC, (unsigned long long)to, rc,
                     rc == 1 ? "a record" : evlog_strerror(rc));
    else
        cr_assert_eq(rc, 0, "%s: an iterator at the end got %d (%s) instead of 0 (the end)",
                     label, rc, rc == 1 ? "a record" : evlog_strerror(rc));
    rc = evlog_iter_next(at, &rec);
    cr_assert_eq(rc, 0, "%s: an iterator on the new end %llu got %d (%s) instead of 0 (the "
                 "end)", label, (unsigned long long)to, rc, rc == 1 ? "a record" :
                 evlog_strerror(rc));
    if (before) {
        cr_assert_eq(evt_verify_iter(before, g, 0, to - 1, to, why, sizeof why), 0, "%s: %s",
                     label, why);
        rc = evlog_iter_next(before, &rec);
        cr_assert_eq(rc, 0, "%s: truncate_back(%llu): an iterator that read record %llu "
                     "then got %d (%s) instead of 0 (the end)%s%llu", label,
                     (unsigned long long)to, (unsigned long long)(to - 1), rc,
                     rc < 0 ? evlog_strerror(rc) : rc ? "a record" : "end",
                     rc == 1 ? ": a removed record at offset " : "",
                     rc == 1 ? (unsigned long long)rec.offset : 0ull);
    }
    {
        evlog_iter *it = NULL;
        cr_assert_eq(evlog_iter_new(&it, log, to + 1), EVLOG_ERANGE, "%s", label);
        cr_assert_null(it);
    }
    cr_assert_eq(evt_verify_log(log, g, 0, 0, to, 1, why, sizeof why), 0, "%s: %s", label, why);

    /* append different records after the cut; the iterator standing on the
     * new end sees them */
    for (i = 0; i < NNEW; i++) {
        uint64_t first;
        cr_assert_eq(evt_append_one(log, &g2, i, &first), 0, "%s", label);
        cr_assert_eq(first, to + i, "%s: the first offset after truncate_back", label);
    }
    cr_assert_eq(evt_verify_iter(at, &g2, to, to, to + NNEW, why, sizeof why), 0, "%s: %s",
                 label, why);
    evlog_iter_free(past);
    evlog_iter_free(at);
    evlog_iter_free(before);
    cr_assert_eq(evlog_close(log), 0);

    /* reopen: the cut and the new records survive */
    log = open_dir(dir, compression);
    cr_assert_eq(evlog_start_offset(log), 0, "%s: start after reopen", label);
    cr_assert_eq(evlog_end_offset(log), to + NNEW, "%s: end after reopen", label);
    cr_assert_eq(evt_verify_log(log, g, 0, 0, to, 0, why, sizeof why), 0, "%s: old part: %s",
                 label, why);
    cr_assert_eq(evt_verify_log(log, &g2, to, to, to + NNEW, 1, why, sizeof why), 0,
                 "%s: new part: %s", label, why);
    cr_assert_eq(evlog_truncate_back(log, to + NNEW + 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_end_offset(log), to + NNEW);
    cr_assert_eq(evlog_close(log), 0);

    /* and a second reopen read-only agrees */
    {
        evlog_options o;
        evlog_options_init(&o);
        o.flags = EVLOG_READ_ONLY;
        cr_assert_eq(evlog_open(&log, dir, &o), 0);
        cr_assert_eq(evlog_end_offset(log), to + NNEW);
        cr_assert_eq(evt_verify_log(log, &g2, to, to, to + NNEW, 1, why, sizeof why), 0,
                     "%s: read-only: %s", label, why);
        cr_assert_eq(evlog_close(log), 0);
    }
    evt_rm_rf(dir);
}

/* One case per test, so that one failure (or a memory corruption) cannot
 * hide the others. */
enum {
    ACTIVE_MID_BATCH, ACTIVE_BATCH_BOUNDARY, LAST_RECORD, NOOP_AT_END, SEALED_MID_BATCH,
    SEALED_BATCH_BOUNDARY, SEGMENT_BOUNDARY, SEGMENT_BOUNDARY_MINUS_1, FIRST_SEGMENT, TO_START
};
static const char *const case_names[] = {
    "active_mid_batch", "active_batch_boundary", "last_record", "noop_at_end",
    "sealed_mid_batch", "sealed_batch_boundary", "segment_boundary",
    "segment_boundary_minus_1", "first_segment", "to_start"};

static void truncate_back_one(int which, int compression)
{
    char label[128];
    uint64_t seed, last_base, mid_seg, to = 0;
    evt_gen g;
    static built b;
    const char *src = evt_path(evt_dir, "orig");

    snprintf(label, sizeof label, "truncate.back_%s%s", case_names[which],
             compression == EVLOG_COMPRESS_LZ4 ? "_lz4" : "");
    seed = evt_seed(label);
    g.seed = seed;
    g.profile = EVT_SMALL;
    g.max_value = 0;
    g.no_zero_ts = 0;
    build(src, &g, compression, &b);
    last_base = b.bases[b.nseg - 1];
    mid_seg = b.bases[b.nseg / 2];
    switch (which) {
    case ACTIVE_MID_BATCH:
        to = batch_start(&b, batch_with_3_after(&b, last_base)) + 1;
        break;
    case ACTIVE_BATCH_BOUNDARY:
        to = batch_start(&b, batch_with_3_after(&b, last_base));
        break;
    case LAST_RECORD:
        to = NREC - 1;
        break;
    case NOOP_AT_END:
        to = NREC;
        break;
    case SEALED_MID_BATCH:
        to = batch_start(&b, batch_with_3_after(&b, mid_seg + 5)) + 2;
        break;
    case SEALED_BATCH_BOUNDARY:
        to = batch_start(&b, batch_with_3_after(&b, mid_seg + 5));
        break;
    case SEGMENT_BOUNDARY:
        to = mid_seg;
        break;
    case SEGMENT_BOUNDARY_MINUS_1:
        to = mid_seg - 1;
        break;
    case FIRST_SEGMENT:
        to = 3;
        break;
    case TO_START:
        to = 0;
        break;
    }
    fprintf(stderr, "%s: truncate_back(%llu) of a log of %u records in %ld segments\n", label,
            (unsigned long long)to, NREC, b.nseg);
    truncate_back_case(case_names[which], src, &g, to, compression);
}

#define BACK_TESTS(suffix, comp)                                                          \
    Test(truncate, back_active_mid_batch##suffix) { truncate_back_one(ACTIVE_MID_BATCH, comp); } \
    Test(truncate, back_active_batch_boundary##suffix)                                   \
    {                                                                                     \
        truncate_back_one(ACTIVE_BATCH_BOUNDARY, comp);                                   \
    }                                                                                     \
    Test(truncate, back_last_record##suffix) { truncate_back_one(LAST_RECORD, comp); }    \
    Test(truncate, back_noop_at_end##suffix) { truncate_back_one(NOOP_AT_END, comp); }    \
    Test(truncate, back_sealed_mid_batch##suffix) { truncate_back_one(SEALED_MID_BATCH, comp); } \
    Test(truncate, back_sealed_batch_boundary##suffix)                                   \
    {                                                                                     \
        truncate_back_one(SEALED_BATCH_BOUNDARY, comp);                                   \
    }                                                                                     \
    Test(truncate, back_segment_boundary##suffix) { truncate_back_one(SEGMENT_BOUNDARY, comp); } \
    Test(truncate, back_segment_boundary_minus_1##suffix)                                \
    {                                                                                     \
        truncate_back_one(SEGMENT_BOUNDARY_MINUS_1, comp);                                \
    }                                                                                     \
    Test(truncate, back_first_segment##suffix) { truncate_back_one(FIRST_SEGMENT, comp); } \
    Test(truncate, back_to_start##suffix) { truncate_back_one(TO_START, comp); }

BACK_TESTS(, EVLOG_COMPRESS_NONE)
BACK_TESTS(_lz4, EVLOG_COMPRESS_LZ4)

Test(truncate, back_repeatedly_with_reopens)
{
    uint64_t seed = evt_seed("truncate.back_repeatedly_with_reopens");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng r;
    static built b;
    evlog *log;
    char why[512];
    uint64_t end = NREC;
    int i;

    build(evt_log, &g, EVLOG_COMPRESS_NONE, &b);
    evt_rng_init(&r, seed);
    /* cut a little more each time, reopening in between; the records kept
     * are always a prefix of the original ones */
    for (i = 0; i < 12; i++) {
        uint64_t to = end - evt_rng_below(&r, end / 4 + 1);
        log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
        cr_assert_eq(evlog_end_offset(log), end, "round %d", i);
        cr_assert_eq(evlog_truncate_back(log, to), 0, "round %d: %s", i, evlog_errmsg(log));
        cr_assert_eq(evlog_end_offset(log), to);
        cr_assert_eq(evlog_close(log), 0);
        end = to;
    }
    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_end_offset(log), end);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, end, 1, why, sizeof why), 0, "%s", why);
    /* append the original records again: the log is the same as it was */
    {
        evt_append_plan plan;
        evt_rng brng;
        memset(&plan, 0, sizeof plan);
        plan.max_batch = 16;
        plan.max_batch_bytes = 4 << 10;
        evt_rng_init(&brng, seed ^ 5);
        cr_assert_eq(evt_append_gen(log, &g, end, NREC - end, &brng, &plan), 0, "%s", plan.why);
    }
    cr_assert_eq(evlog_close(log), 0);
    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_end_offset(log), NREC);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, NREC, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
}

Test(truncate, front)
{
    uint64_t seed = evt_seed("truncate.front");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_gen g2 = {seed ^ 0x1234, EVT_SMALL, 0, 0};
    static built b;
    evlog *log;
    evlog_iter *old = NULL, *it = NULL;
    evlog_record rec;
    char why[512];
    uint64_t front, i;
    long k;

    build(evt_log, &g, EVLOG_COMPRESS_NONE, &b);
    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    /* the new start: inside the third segment */
    front = b.bases[2] + (b.bases[3] - b.bases[2]) / 2;
    cr_assert_eq(evlog_iter_new(&old, log, 1), 0);
    cr_assert_eq(evlog_truncate_front(log, NREC + 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_start_offset(log), 0);
    cr_assert_eq(evlog_truncate_front(log, front), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(evlog_start_offset(log), front);
    cr_assert_eq(evlog_end_offset(log), NREC);

    /* the sealed segments entirely below the start are gone, the one
     * holding it stays */
    for (k = 0; k < 2; k++)
        cr_assert(!evt_exists(evt_seg_path(evt_log, b.bases[k])),
                  "segment %llu lies below the start %llu and was not deleted",
                  (unsigned long long)b.bases[k], (unsigned long long)front);
    for (k = 2; k < b.nseg; k++)
        cr_assert(evt_exists(evt_seg_path(evt_log, b.bases[k])), "segment %llu was deleted",
                  (unsigned long long)b.bases[k]);

    {
        int rc = evlog_iter_next(old, &rec);
        cr_assert_eq(rc, EVLOG_ERANGE, "an iterator standing on offset 1, in a segment deleted "
                     "by truncate_front(%llu), must get EVLOG_ERANGE; got %d%s (offset %llu)",
                     (unsigned long long)front, rc, rc == 1 ? ", a record" : "",
                     rc == 1 ? (unsigned long long)rec.offset : 0ull);
    }
    evlog_iter_free(old);
    cr_assert_eq(evlog_iter_new(&it, log, front - 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_iter_new(&it, log, 0), EVLOG_ERANGE);
    cr_assert_eq(evt_verify_log(log, &g, 0, front, NREC, 1, why, sizeof why), 0, "%s", why);

    /* a start can only move forward */
    cr_assert_eq(evlog_truncate_front(log, front - 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_start_offset(log), front);
    cr_assert_eq(evlog_truncate_back(log, front - 1), EVLOG_ERANGE);
    cr_assert_eq(evlog_end_offset(log), NREC);

    for (i = 0; i < NNEW; i++)
        cr_assert_eq(evt_append_one(log, &g2, i, NULL), 0);
    cr_assert_eq(evlog_close(log), 0);

    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_start_offset(log), front, "the start survives a reopen");
    cr_assert_eq(evlog_end_offset(log), NREC + NNEW);
    cr_assert_eq(evlog_iter_new(&it, log, front - 1), EVLOG_ERANGE);
    cr_assert_eq(evt_verify_log(log, &g, 0, front, NREC, 0, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evt_verify_log(log, &g2, NREC, NREC, NREC + NNEW, 1, why, sizeof why), 0, "%s",
                 why);

    /* truncate_back to the start empties the log but keeps the start */
    cr_assert_eq(evlog_truncate_back(log, front), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(evlog_end_offset(log), front);
    cr_assert_eq(evlog_start_offset(log), front);
    cr_assert_eq(evt_append_one(log, &g2, 9999, &i), 0);
    cr_assert_eq(i, front);
    cr_assert_eq(evlog_close(log), 0);
    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_start_offset(log), front);
    cr_assert_eq(evlog_end_offset(log), front + 1);
    cr_assert_eq(evt_verify_log(log, &g2, front - 9999, front, front + 1, 1, why, sizeof why), 0,
                 "%s", why);
    cr_assert_eq(evlog_close(log), 0);
}

Test(truncate, front_to_end_then_append)
{
    uint64_t seed = evt_seed("truncate.front_to_end_then_append");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    static built b;
    evlog *log;
    evlog_iter *it = NULL;
    evlog_record rec;
    char why[512];
    uint64_t first;
    long n;

    build(evt_log, &g, EVLOG_COMPRESS_NONE, &b);
    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_truncate_front(log, NREC), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(evlog_start_offset(log), NREC);
    cr_assert_eq(evlog_end_offset(log), NREC);
    /* every sealed segment is gone; the active one may stay */
    n = evt_segments(evt_log, b.bases, 1024);
    cr_assert_leq(n, 1, "%ld segment files left after truncating the front to the end", n);
    cr_assert_eq(evlog_iter_new(&it, log, NREC), 0);
    {
        int rc = evlog_iter_next(it, &rec);
        cr_assert_eq(rc, 0, "an iterator at the end of a log emptied by truncate_front: %d "
                     "(%s): %s", rc, rc < 0 ? evlog_strerror(rc) : "a record", evlog_errmsg(log));
    }
    cr_assert_eq(evt_append_one(log, &g, NREC, &first), 0);
    cr_assert_eq(first, NREC);
    cr_assert_eq(evt_verify_iter(it, &g, 0, NREC, NREC + 1, why, sizeof why), 0, "%s", why);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_start_offset(log), NREC);
    cr_assert_eq(evlog_end_offset(log), NREC + 1);
    cr_assert_eq(evt_verify_log(log, &g, 0, NREC, NREC + 1, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
}

Test(truncate, back_then_front_interleaved)
{
    uint64_t seed = evt_seed("truncate.back_then_front_interleaved");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng r;
    evlog *log;
    char why[512];
    uint64_t start = 0, end = 0;
    int round;

    /* offset o always holds record o of g: appends after a cut write the
     * records of the offsets they get */
    evt_rng_init(&r, seed);
    for (round = 0; round < 20; round++) {
        uint64_t n = 200 + evt_rng_below(&r, 2000), i;
        log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
        cr_assert_eq(evlog_start_offset(log), start, "round %d", round);
        cr_assert_eq(evlog_end_offset(log), end, "round %d", round);
        for (i = 0; i < n; i++)
            cr_assert_eq(evt_append_one(log, &g, end + i, NULL), 0);
        end += n;
        if (evt_rng_below(&r, 2)) {
            uint64_t to = end - evt_rng_below(&r, end - start + 1);
            cr_assert_eq(evlog_truncate_back(log, to), 0, "%s", evlog_errmsg(log));
            end = to;
        }
        if (evt_rng_below(&r, 2)) {
            uint64_t to = start + evt_rng_below(&r, end - start + 1);
            cr_assert_eq(evlog_truncate_front(log, to), 0, "%s", evlog_errmsg(log));
            start = to;
        }
        cr_assert_eq(evlog_start_offset(log), start);
        cr_assert_eq(evlog_end_offset(log), end);
        cr_assert_eq(evt_verify_log(log, &g, 0, start, end, 1, why, sizeof why), 0,
                     "round %d: %s", round, why);
        cr_assert_eq(evlog_close(log), 0);
    }
}

/*
 * A crash while a truncation rewrites the batch it cuts: the overwrite is
 * torn (simulated by garbling the batch in place after a failed sync), and
 * the next open must put the synced side copy back, so that the records of
 * that batch below the cut survive and the truncation is finished.
 */
static atomic_int fail_msync;

static int failing_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    if (atomic_load(&fail_msync))
        return -EIO;
    return evl_io_posix.msync(io, addr, off, len);
}

Test(truncate, torn_rewrite_is_restored_from_the_side_copy)
{
    uint64_t seed = evt_seed("truncate.torn_rewrite_is_restored_from_the_side_copy");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    static built b;
    struct evlog_io io = evl_io_posix;
    const char *side = evt_path(evt_log, "truncate.pending");
    evlog_options o;
    evlog *log;
    uint64_t cut, seg, pos, bend;
    uint8_t *hdr, junk[16];
    size_t hlen, i;
    char why[256];
    int rc;

    build(evt_log, &g, EVLOG_COMPRESS_NONE, &b);
    /* a batch of the active segment with at least three records: cut after
     * its first */
    for (i = b.n - 1; i > 0 && b.ends[i] - b.ends[i - 1] < 3; i--)
        ;
    cr_assert_gt(i, 0, "no batch of three records to cut");
    cut = b.ends[i - 1] + 1;
    bend = b.ends[i];

    io.msync = failing_msync;
    evlog_options_init(&o);
    o.segment_bytes = SEG_BYTES;
    o.io = &io;
    cr_assert_eq(evlog_open(&log, evt_log, &o), 0);
    atomic_store(&fail_msync, 1);
    rc = evlog_truncate_back(log, cut);
    atomic_store(&fail_msync, 0);
    cr_assert_eq(rc, EVLOG_EIO, "truncate_back with a failing sync: %d (%s)", rc,
                 evlog_strerror(rc));
    (void)evlog_close(log);

    /* the crash tore the rewritten batch: garble it where it stands */
    cr_assert(evt_exists(side), "no side copy was left for the rewrite");
    hdr = evt_file_read(side, &hlen);
    cr_assert_not_null(hdr);
    cr_assert_geq(hlen, 48);
    memcpy(&seg, hdr + 16, 8);
    memcpy(&pos, hdr + 24, 8);
    free(hdr);
    memset(junk, 0xA5, sizeof junk);
    cr_assert_eq(evt_file_pwrite(evt_seg_path(evt_log, seg), pos + 20, junk, sizeof junk), 0);

    log = open_dir(evt_log, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evlog_end_offset(log), cut, "after recovery the end is %llu, not the cut %llu",
                 (unsigned long long)evlog_end_offset(log), (unsigned long long)cut);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, cut, 1, why, sizeof why), 0,
                 "records below the cut: %s", why);
    cr_assert(!evt_exists(side), "the side copy outlived the truncation");
    {
        evt_append_plan plan;
        evt_rng brng;
        memset(&plan, 0, sizeof plan);
        plan.max_batch = 4;
        plan.max_batch_bytes = 1024;
        evt_rng_init(&brng, seed);
        cr_assert_eq(evt_append_gen(log, &g, cut, bend - cut + 5, &brng, &plan), 0, "%s",
                     plan.why);
    }
    cr_assert_eq(evlog_close(log), 0);
}
