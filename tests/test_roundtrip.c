/*
 * test_roundtrip.c - millions of records of mixed sizes across many segment
 * rolls: append, check the end offset, close, reopen, read everything back
 * and compare byte for byte. Payloads are regenerated from the seed, never
 * kept in memory. Also with LZ4 compression.
 *
 * EVLOG_TEST_SCALE (a float, default 1) scales the record counts.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "helpers.h"

TestSuite(roundtrip, .init = evt_setup, .fini = evt_teardown, .timeout = 240);

static uint64_t scaled(uint64_t n)
{
    const char *s = getenv("EVLOG_TEST_SCALE");
    double f = s && *s ? atof(s) : 1.0;
    uint64_t r = (uint64_t)((double)n * f);
    return r ? r : 1;
}

typedef struct rt_cfg {
    const char *label;
    uint64_t count;
    int profile;
    size_t max_value;
    uint64_t segment_bytes;
    int compression;
    unsigned max_batch;
    size_t max_batch_bytes;
    long min_segments;   /* the rolls the data must have caused */
    int verify_live;     /* also read back through the writing handle */
} rt_cfg;

/* Counts the batches of a segment file stored LZ4-compressed. */
static long lz4_batches(const char *path, long *total)
{
    size_t len;
    uint8_t *buf = evt_file_read(path, &len);
    uint64_t p = EVL_SEG_HEADER_SIZE;
    long n = 0;
    *total = 0;
    if (!buf)
        return -1;
    while (p < len) {
        evl_batch h;
        if (evl_batch_check(&h, buf + p, len - p) != EVL_OK)
            break;
        if ((h.attributes & EVL_ATTR_COMPRESSION_MASK) == EVL_COMP_LZ4)
            n++;
        (*total)++;
        p += h.length;
    }
    free(buf);
    return n;
}

static void open_log(evlog **log, const rt_cfg *c, unsigned flags)
{
    evlog_options o;
    char err[512] = "";
    int rc;
    evlog_options_init(&o);
    o.segment_bytes = c->segment_bytes;
    o.compression = c->compression;
    o.flags = flags;
    rc = evlog_open_ex(log, evt_log, &o, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(%s, flags %u): %d (%s): %s", evt_log, flags, rc,
                 evlog_strerror(rc), err);
    cr_assert_not_null(*log);
}

static void roundtrip(const rt_cfg *c)
{
    uint64_t seed = evt_seed(c->label);
    evt_gen g = {seed, c->profile, c->max_value, 0};
    evt_rng brng;
    evt_append_plan plan;
    evlog *log = NULL;
    char why[512] = "";
    uint64_t count = scaled(c->count), t;
    long nseg;
    static uint64_t bases[1 << 16];
    int rc;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = c->max_batch;
    plan.max_batch_bytes = c->max_batch_bytes;
    evt_rng_init(&brng, seed ^ 0xba7c4e5ull);

    open_log(&log, c, 0);
    cr_assert_eq(evlog_start_offset(log), 0, "a new log starts at offset 0");
    cr_assert_eq(evlog_end_offset(log), 0, "a new log is empty");

    t = evt_mono_ms();
    rc = evt_append_gen(log, &g, 0, count, &brng, &plan);
    cr_assert_eq(rc, 0, "appending %llu records stopped after %llu: %s",
                 (unsigned long long)count, (unsigned long long)plan.appended, plan.why);
    cr_assert_eq(evlog_end_offset(log), count);
    cr_assert_eq(evlog_start_offset(log), 0);
    fprintf(stderr, "%s: appended %llu records in %zu batches in %llu ms\n", c->label,
            (unsigned long long)count, plan.n_batches, (unsigned long long)(evt_mono_ms() - t));

    if (c->verify_live) {
        rc = evt_verify_log(log, &g, 0, 0, count, 1, why, sizeof why);
        cr_assert_eq(rc, 0, "read back before close: %s", why);
    }
    {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", evlog_errmsg(log));
        rc = evlog_close(log);
        cr_assert_eq(rc, 0, "evlog_close: %d (%s); the handle's message before close: \"%s\"",
                     rc, evlog_strerror(rc), msg);
    }

    nseg = evt_segments(evt_log, bases, sizeof bases / sizeof *bases);
    fprintf(stderr, "%s: %ld segments of %llu bytes\n", c->label, nseg,
            (unsigned long long)c->segment_bytes);
    cr_assert_geq(nseg, c->min_segments < 1 ? 1 : (long)scaled((uint64_t)c->min_segments),
                  "only %ld segment files: the test was meant to roll many times", nseg);
    cr_assert_eq(bases[0], 0, "the first segment's base is the log's start");

    if (c->compression == EVLOG_COMPRESS_LZ4) {
        /* half the values are repetitive text: some batches must have been
         * stored compressed (white-box: the batch attributes) */
        long total = 0, lz = 0, k, n = nseg < 64 ? nseg : 64;
        for (k = 0; k < n; k++) {
            long t, z = lz4_batches(evt_seg_path(evt_log, bases[k]), &t);
            cr_assert_geq(z, 0);
            if (k == 0)
                fprintf(stderr, "%s: first segment: %ld of %ld batches LZ4-compressed\n",
                        c->label, z, t);
            lz += z;
            total += t;
        }
        fprintf(stderr, "%s: %ld of %ld batches in the first %ld segments LZ4-compressed\n",
                c->label, lz, total, n);
        cr_assert_gt(total, 0, "no valid batch found in the segments");
        cr_assert_gt(lz, 0, "none of the %ld batches of the first %ld segments is LZ4 "
                     "compressed, though half the values are repetitive text", total, n);
    }

    /* reopen as the writer: everything is there, durable, and in order */
    t = evt_mono_ms();
    open_log(&log, c, 0);
    cr_assert_eq(evlog_start_offset(log), 0);
    cr_assert_eq(evlog_end_offset(log), count, "end offset after reopen");
    cr_assert_eq(evlog_durable_offset(log), count, "durable offset after a clean close");
    rc = evt_verify_log(log, &g, 0, 0, count, 1, why, sizeof why);
    cr_assert_eq(rc, 0, "read back after reopen: %s", why);
    fprintf(stderr, "%s: reopened and verified in %llu ms\n", c->label,
            (unsigned long long)(evt_mono_ms() - t));

    /* the log goes on from there: a few more batches, closed, then read
     * back read-only */
    rc = evt_append_gen(log, &g, count, 100, &brng, &plan);
    cr_assert_eq(rc, 0, "appending after reopen: %s", plan.why);
    cr_assert_eq(evlog_close(log), 0);

    open_log(&log, c, EVLOG_READ_ONLY);
    cr_assert_eq(evlog_end_offset(log), count + 100, "end offset read-only");
    /* the tail only, and a stretch from the middle: the whole was read above */
    rc = evt_verify_log(log, &g, 0, count > 5000 ? count - 5000 : 0, count + 100, 1, why,
                        sizeof why);
    cr_assert_eq(rc, 0, "read-only read back: %s", why);
    rc = evt_verify_log(log, &g, 0, count / 2, count / 2 + 1000 < count ? count / 2 + 1000 : count,
                        0, why, sizeof why);
    cr_assert_eq(rc, 0, "read-only read back of the middle: %s", why);
    cr_assert_eq(evlog_close(log), 0);
}

Test(roundtrip, two_million_small_records, .timeout = 240)
{
    rt_cfg c = {"roundtrip.two_million_small_records", 2000000, EVT_SMALL, 0, 1u << 20,
                EVLOG_COMPRESS_NONE, 64, 64 << 10, 60, 0};
    roundtrip(&c);
}

Test(roundtrip, mixed_sizes_up_to_1mib)
{
    rt_cfg c = {"roundtrip.mixed_sizes_up_to_1mib", 20000, EVT_MIXED, 1u << 20, 4u << 20,
                EVLOG_COMPRESS_NONE, 32, 1u << 20, 10, 1};
    roundtrip(&c);
}

Test(roundtrip, tiny_segments_64k)
{
    rt_cfg c = {"roundtrip.tiny_segments_64k", 20000, EVT_MIXED, 16u << 10, 64u << 10,
                EVLOG_COMPRESS_NONE, 16, 24u << 10, 100, 1};
    roundtrip(&c);
}

Test(roundtrip, lz4_small_records)
{
    rt_cfg c = {"roundtrip.lz4_small_records", 500000, EVT_SMALL, 0, 1u << 20,
                EVLOG_COMPRESS_LZ4, 64, 64 << 10, 10, 1};
    roundtrip(&c);
}

Test(roundtrip, lz4_mixed_sizes_up_to_1mib)
{
    rt_cfg c = {"roundtrip.lz4_mixed_sizes_up_to_1mib", 20000, EVT_MIXED, 1u << 20, 4u << 20,
                EVLOG_COMPRESS_LZ4, 32, 1u << 20, 5, 1};
    roundtrip(&c);
}

Test(roundtrip, lz4_tiny_segments_64k)
{
    rt_cfg c = {"roundtrip.lz4_tiny_segments_64k", 20000, EVT_MIXED, 16u << 10, 64u << 10,
                EVLOG_COMPRESS_LZ4, 16, 24u << 10, 50, 1};
    roundtrip(&c);
}

/* A log written with LZ4 reads back when reopened without it, and one
 * written without reads back when reopened with it: compression is a
 * property of each batch, not of the log. */
Test(roundtrip, compression_switch_between_opens)
{
    uint64_t seed = evt_seed("roundtrip.compression_switch_between_opens");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evt_append_plan plan;
    rt_cfg c = {"", 0, EVT_SMALL, 0, 256u << 10, EVLOG_COMPRESS_LZ4, 32, 16 << 10, 0, 0};
    evlog *log;
    char why[512];
    int i;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 32;
    plan.max_batch_bytes = 16 << 10;
    evt_rng_init(&brng, seed);
    for (i = 0; i < 4; i++) {
        c.compression = (i & 1) ? EVLOG_COMPRESS_NONE : EVLOG_COMPRESS_LZ4;
        open_log(&log, &c, 0);
        cr_assert_eq(evlog_end_offset(log), (uint64_t)i * 20000);
        cr_assert_eq(evt_append_gen(log, &g, (uint64_t)i * 20000, 20000, &brng, &plan), 0, "%s",
                     plan.why);
        cr_assert_eq(evt_verify_log(log, &g, 0, 0, (uint64_t)(i + 1) * 20000, 1, why, sizeof why),
                     0, "open %d: %s", i, why);
        cr_assert_eq(evlog_close(log), 0);
    }
}
