/*
 * test_args.c - every bad argument gets its error code and changes nothing:
 * NULL pointers, n == 0, NULL key or value with a length, oversize records,
 * offsets out of range, bad options, writes through a read-only handle,
 * read-only open of a missing directory, a regular file as the directory;
 * evlog_strerror of every code; the NULL no-ops.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "helpers.h"

TestSuite(args, .init = evt_setup, .fini = evt_teardown, .timeout = 60);

static evlog *open_seg(const char *dir, uint64_t segment_bytes, unsigned flags)
{
    evlog_options o;
    evlog *log = NULL;
    char err[512] = "";
    int rc;
    evlog_options_init(&o);
    o.segment_bytes = segment_bytes;
    o.flags = flags;
    rc = evlog_open_ex(&log, dir, &o, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(%s): %d (%s): %s", dir, rc, evlog_strerror(rc), err);
    return log;
}

/* A log of 100 known records. */
static evlog *small_log(const evt_gen *g)
{
    evlog *log = open_seg(evt_log, 64 << 10, 0);
    uint64_t i;
    for (i = 0; i < 100; i++)
        cr_assert_eq(evt_append_one(log, g, i, NULL), 0);
    return log;
}

static void expect_unchanged(evlog *log, const evt_gen *g, const char *what)
{
    char why[512];
    cr_assert_eq(evlog_end_offset(log), 100, "%s changed the end offset to %llu", what,
                 (unsigned long long)evlog_end_offset(log));
    cr_assert_eq(evlog_start_offset(log), 0, "%s changed the start offset", what);
    cr_assert_eq(evt_verify_log(log, g, 0, 0, 100, 1, why, sizeof why), 0, "after %s: %s", what,
                 why);
}

Test(args, version)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", EVLOG_VERSION_MAJOR, EVLOG_VERSION_MINOR,
             EVLOG_VERSION_PATCH);
    cr_assert_not_null(evlog_version());
    cr_assert_str_eq(evlog_version(), want);
}

Test(args, options_init)
{
    evlog_options o;
    memset(&o, 0xa5, sizeof o);
    evlog_options_init(&o);
    cr_assert_eq(o.version, EVLOG_OPTIONS_VERSION);
    cr_assert_eq(o.flags, 0);
    cr_assert_null(o.io);
    cr_assert(o.segment_bytes == 0 || o.segment_bytes == EVLOG_DEFAULT_SEGMENT_BYTES);
    cr_assert(o.sync_mode == 0 || o.sync_mode == EVLOG_SYNC_NONE);
    cr_assert(o.compression == 0 || o.compression == EVLOG_COMPRESS_NONE);
}

Test(args, open_null_arguments)
{
    evlog *log = (evlog *)(uintptr_t)1;
    char err[256];
    cr_assert_eq(evlog_open(NULL, evt_log, NULL), EVLOG_EINVAL);
    cr_assert(!evt_exists(evt_log), "evlog_open(NULL out) created the directory");
    cr_assert_eq(evlog_open(&log, NULL, NULL), EVLOG_EINVAL);
    cr_assert_null(log);
    log = (evlog *)(uintptr_t)1;
    cr_assert_eq(evlog_open_ex(&log, NULL, NULL, err, sizeof err), EVLOG_EINVAL);
    cr_assert_null(log);
    log = (evlog *)(uintptr_t)1;
    cr_assert_lt(evlog_open(&log, "", NULL), 0, "an empty path");
    cr_assert_null(log);
    /* NULL options are the defaults */
    cr_assert_eq(evlog_open(&log, evt_log, NULL), 0);
    cr_assert_not_null(log);
    cr_assert_eq(evlog_close(log), 0);
}

#define SETTER(name, stmt) static void name(evlog_options *o) { stmt; }
SETTER(v0, o->version = 0)
SETTER(vnew, o->version = EVLOG_OPTIONS_VERSION + 1)
SETTER(seg1, o->segment_bytes = 1)
SETTER(segmin, o->segment_bytes = EVLOG_MIN_SEGMENT_BYTES - 1)
SETTER(segmax, o->segment_bytes = EVLOG_MAX_SEGMENT_BYTES + 1)
SETTER(idx1, o->index_interval_bytes = 1)
SETTER(idxmin, o->index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL - 1)
SETTER(sync4, o->sync_mode = EVLOG_SYNC_ALWAYS + 1)
SETTER(syncneg, o->sync_mode = -1)
SETTER(flags80, o->flags = 0x80)
SETTER(flagsall, o->flags = ~0u)
SETTER(comp3, o->compression = EVLOG_COMPRESS_LZ4 + 1)
SETTER(compneg, o->compression = -1)
#undef SETTER

Test(args, bad_options)
{
    struct bad {
        const char *what;
        void (*set)(evlog_options *);
    };
    static const struct bad bads[] = {
        {"version 0", v0},
        {"version too new", vnew},
        {"segment_bytes 1", seg1},
        {"segment_bytes below the minimum", segmin},
        {"segment_bytes above the maximum", segmax},
        {"index_interval_bytes 1", idx1},
        {"index_interval_bytes below the minimum", idxmin},
        {"sync_mode unknown", sync4},
        {"sync_mode -1", syncneg},
        {"flags 0x80", flags80},
        {"flags ~0", flagsall},
        {"compression unknown", comp3},
        {"compression -1", compneg},
    };
    uint64_t seed = evt_seed("args.bad_options");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    const char *missing = evt_path(evt_dir, "missing");
    char *before;
    size_t i;
    evlog *log = small_log(&g);
    cr_assert_eq(evlog_close(log), 0);
    before = evt_dir_digest(evt_log);

    for (i = 0; i < sizeof bads / sizeof *bads; i++) {
        evlog_options o;
        char err[512] = "", *after;
        int rc;
        evlog_options_init(&o);
        bads[i].set(&o);
        /* on a missing directory: refused, and not created */
        log = (evlog *)(uintptr_t)1;
        rc = evlog_open_ex(&log, missing, &o, err, sizeof err);
        cr_assert_eq(rc, EVLOG_EINVAL, "%s: %d (%s)", bads[i].what, rc, evlog_strerror(rc));
        cr_assert_null(log, "%s", bads[i].what);
        cr_assert(!evt_exists(missing), "%s: the refused open created the directory",
                  bads[i].what);
        cr_assert_neq(err[0], 0, "%s: no detail in errbuf", bads[i].what);
        /* on an existing log: refused, untouched */
        rc = evlog_open(&log, evt_log, &o);
        cr_assert_eq(rc, EVLOG_EINVAL, "%s on an existing log: %d (%s)", bads[i].what, rc,
                     evlog_strerror(rc));
        after = evt_dir_digest(evt_log);
        cr_assert_str_eq(after, before, "%s: the refused open changed the log", bads[i].what);
        free(after);
    }
    /* the limits themselves are accepted */
    {
        evlog_options o;
        evlog_options_init(&o);
        o.segment_bytes = EVLOG_MIN_SEGMENT_BYTES;
        o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
        cr_assert_eq(evlog_open(&log, missing, &o), 0, "the minimum segment size is accepted");
        cr_assert_eq(evlog_close(log), 0);
    }
    free(before);
}

Test(args, append_bad_arguments)
{
    uint64_t seed = evt_seed("args.append_bad_arguments");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *log = small_log(&g);
    evlog_record recs[5];
    uint64_t first = 777;
    int i;

    for (i = 0; i < 5; i++) {
        recs[i].offset = 0;
        recs[i].timestamp = 1000 + i;
        recs[i].key = "key";
        recs[i].key_len = 3;
        recs[i].value = "value";
        recs[i].value_len = 5;
    }
    cr_assert_eq(evlog_append(NULL, recs, 1, &first), EVLOG_EINVAL);
    cr_assert_eq(evlog_append(log, NULL, 1, &first), EVLOG_EINVAL);
    expect_unchanged(log, &g, "recs NULL");
    cr_assert_eq(evlog_append(log, recs, 0, &first), EVLOG_EINVAL);
    expect_unchanged(log, &g, "n == 0");
    recs[2].key = NULL; /* key NULL, key_len 3, in the middle of a batch */
    cr_assert_eq(evlog_append(log, recs, 5, &first), EVLOG_EINVAL);
    expect_unchanged(log, &g, "a NULL key with key_len 3");
    recs[2].key = "key";
    recs[4].value = NULL; /* value NULL, value_len 5, last of the batch */
    cr_assert_eq(evlog_append(log, recs, 5, &first), EVLOG_EINVAL);
    expect_unchanged(log, &g, "a NULL value with value_len 5");
    recs[4].value = "value";
    recs[0].key = NULL; /* first record */
    recs[0].key_len = 1;
    cr_assert_eq(evlog_append(log, recs, 5, &first), EVLOG_EINVAL);
    expect_unchanged(log, &g, "a NULL key with key_len 1 first in the batch");
    cr_assert_eq(first, 777, "a failed append wrote *first_offset");
    recs[0].key_len = 0;
    /* the handle is fine: a good append goes through at the same offset */
    cr_assert_eq(evlog_append(log, recs, 5, &first), 0);
    cr_assert_eq(first, 100);
    cr_assert_eq(evlog_append(log, recs, 1, NULL), 0, "first_offset NULL is allowed");
    cr_assert_eq(evlog_end_offset(log), 106);
    cr_assert_eq(evlog_close(log), 0);
}

Test(args, too_big)
{
    uint64_t seed = evt_seed("args.too_big");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *log = small_log(&g);
    size_t big = 64 << 10;
    uint8_t *buf = calloc(1, 200 << 10);
    evlog_record r = {0, 1, "k", 1, buf, big}, many[100];
    uint64_t first;
    int i, rc;

    /* one record as large as the segment */
    rc = evlog_append(log, &r, 1, &first);
    cr_assert_eq(rc, EVLOG_ETOOBIG, "a 64 KiB value in 64 KiB segments: %d (%s)", rc,
                 evlog_strerror(rc));
    expect_unchanged(log, &g, "a too big record");
    /* a batch of small records that together exceed a segment */
    for (i = 0; i < 100; i++) {
        many[i] = r;
        many[i].value_len = 1024;
    }
    rc = evlog_append(log, many, 100, &first);
    cr_assert_eq(rc, EVLOG_ETOOBIG, "a 100 KiB batch in 64 KiB segments: %d (%s)", rc,
                 evlog_strerror(rc));
    expect_unchanged(log, &g, "a too big batch");
    {
        uint64_t bases[16];
        cr_assert_eq(evt_segments(evt_log, bases, 16), 1, "a refused append rolled the segment");
    }
    /* the handle goes on; batches that fit in a segment but not in what is
     * left of the active one roll instead of failing */
    r.value_len = 40 << 10;
    cr_assert_eq(evlog_append(log, &r, 1, &first), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(first, 100);
    cr_assert_eq(evlog_append(log, &r, 1, &first), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(evlog_append(log, many, 40, &first), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(evlog_end_offset(log), 142);
    cr_assert_eq(evlog_close(log), 0);
    free(buf);
}

Test(args, larger_than_max_batch_bytes)
{
    /* a value over EVLOG_MAX_BATCH_BYTES, backed by untouched, unreserved
     * memory: the size must be refused before a byte is read */
    size_t len = (size_t)EVLOG_MAX_BATCH_BYTES + 1;
    void *mem = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    evlog_options o;
    evlog *log = NULL;
    evlog_record r = {0, 1, NULL, 0, NULL, 0};
    int rc;
    cr_assert_neq(mem, MAP_FAILED);
    evlog_options_init(&o);
    o.segment_bytes = 1 << 20;
    cr_assert_eq(evlog_open(&log, evt_log, &o), 0);
    r.value = mem;
    r.value_len = len;
    rc = evlog_append(log, &r, 1, NULL);
    cr_assert_eq(rc, EVLOG_ETOOBIG, "a value of EVLOG_MAX_BATCH_BYTES + 1: %d (%s)", rc,
                 evlog_strerror(rc));
    r.value_len = SIZE_MAX;
    rc = evlog_append(log, &r, 1, NULL);
    cr_assert_eq(rc, EVLOG_ETOOBIG, "a value of SIZE_MAX bytes: %d (%s)", rc, evlog_strerror(rc));
    r.key = mem;
    r.key_len = len;
    r.value_len = 1;
    rc = evlog_append(log, &r, 1, NULL);
    cr_assert_eq(rc, EVLOG_ETOOBIG, "a key of EVLOG_MAX_BATCH_BYTES + 1: %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_eq(evlog_end_offset(log), 0);
    cr_assert_eq(evlog_close(log), 0);
    munmap(mem, len);
}

Test(args, offsets_out_of_range)
{
    uint64_t seed = evt_seed("args.offsets_out_of_range");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *log = small_log(&g);
    evlog_iter *it = (evlog_iter *)(uintptr_t)1;
    uint64_t bad[] = {101, 102, 1000, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(evlog_iter_new(&it, log, bad[i]), EVLOG_ERANGE, "iter_new(%llu)",
                     (unsigned long long)bad[i]);
        cr_assert_null(it);
        it = (evlog_iter *)(uintptr_t)1;
        cr_assert_eq(evlog_truncate_back(log, bad[i]), EVLOG_ERANGE);
        cr_assert_eq(evlog_truncate_front(log, bad[i]), EVLOG_ERANGE);
        expect_unchanged(log, &g, "an out of range offset");
    }
    cr_assert_eq(evlog_iter_new(&it, log, 100), 0, "the end itself is in range");
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(evlog_iter_seek(it, bad[i]), EVLOG_ERANGE);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
}

Test(args, null_handles)
{
    uint64_t seed = evt_seed("args.null_handles");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *log = small_log(&g);
    evlog_iter *it = (evlog_iter *)(uintptr_t)1;
    evlog_record rec;

    cr_assert_eq(evlog_sync(NULL), EVLOG_EINVAL);
    cr_assert_eq(evlog_truncate_back(NULL, 0), EVLOG_EINVAL);
    cr_assert_eq(evlog_truncate_front(NULL, 0), EVLOG_EINVAL);
    cr_assert_eq(evlog_start_offset(NULL), 0);
    cr_assert_eq(evlog_end_offset(NULL), 0);
    cr_assert_eq(evlog_durable_offset(NULL), 0);
    cr_assert_not_null(evlog_errmsg(NULL));
    cr_assert_not_null(evlog_errmsg(log));
    cr_assert_str_empty(evlog_errmsg(log), "a fresh handle has no failure: \"%s\"",
                        evlog_errmsg(log));

    cr_assert_eq(evlog_iter_new(NULL, log, 0), EVLOG_EINVAL);
    cr_assert_eq(evlog_iter_new(&it, NULL, 0), EVLOG_EINVAL);
    cr_assert_null(it);
    cr_assert_eq(evlog_iter_next(NULL, &rec), EVLOG_EINVAL);
    cr_assert_eq(evlog_iter_seek(NULL, 0), EVLOG_EINVAL);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    cr_assert_eq(evlog_iter_next(it, NULL), EVLOG_EINVAL);
    /* the iterator did not move */
    {
        char why[512];
        cr_assert_eq(evt_verify_iter(it, &g, 0, 0, 100, why, sizeof why), 0, "%s", why);
    }
    evlog_iter_free(it);
    evlog_iter_free(NULL);
    cr_assert_eq(evlog_close(NULL), 0);
    expect_unchanged(log, &g, "NULL arguments");
    cr_assert_eq(evlog_close(log), 0);
}

Test(args, read_only_handle_refuses_writes)
{
    uint64_t seed = evt_seed("args.read_only_handle_refuses_writes");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evlog *log = small_log(&g);
    evlog_record r = {0, 1, "k", 1, "v", 1};
    char *before, *after, why[512];
    cr_assert_eq(evlog_close(log), 0);
    before = evt_dir_digest(evt_log);

    log = open_seg(evt_log, 64 << 10, EVLOG_READ_ONLY);
    cr_assert_eq(evlog_append(log, &r, 1, NULL), EVLOG_EREADONLY);
    cr_assert_eq(evlog_sync(log), EVLOG_EREADONLY);
    cr_assert_eq(evlog_truncate_back(log, 50), EVLOG_EREADONLY);
    cr_assert_eq(evlog_truncate_front(log, 50), EVLOG_EREADONLY);
    cr_assert_eq(evlog_end_offset(log), 100);
    cr_assert_eq(evlog_start_offset(log), 0);
    cr_assert_eq(evt_verify_log(log, &g, 0, 0, 100, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
    after = evt_dir_digest(evt_log);
    cr_assert_str_eq(after, before, "a read-only open changed the directory");
    free(before);
    free(after);
}

Test(args, read_only_open_of_missing_dir)
{
    evlog_options o;
    evlog *log = (evlog *)(uintptr_t)1;
    char err[512] = "";
    int rc;
    evlog_options_init(&o);
    o.flags = EVLOG_READ_ONLY;
    rc = evlog_open_ex(&log, evt_log, &o, err, sizeof err);
    cr_assert_lt(rc, 0, "a read-only open of a missing directory succeeded");
    cr_assert_null(log);
    cr_assert_neq(err[0], 0, "no detail in errbuf");
    cr_assert(!evt_exists(evt_log), "a read-only open created the directory");
}

Test(args, regular_file_as_dir)
{
    const char *file = evt_path(evt_dir, "plain");
    unsigned flags[3] = {0, EVLOG_READ_ONLY, EVLOG_OPEN_DAMAGED};
    int i;
    cr_assert_eq(evt_file_write(file, "not a directory\n", 16), 0);
    for (i = 0; i < 3; i++) {
        evlog_options o;
        evlog *log = (evlog *)(uintptr_t)1;
        char err[512] = "";
        int rc;
        size_t len;
        uint8_t *data;
        evlog_options_init(&o);
        o.flags = flags[i];
        rc = evlog_open_ex(&log, file, &o, err, sizeof err);
        cr_assert_lt(rc, 0, "a regular file opened as a log (flags %u)", flags[i]);
        cr_assert_null(log);
        cr_assert_neq(err[0], 0);
        data = evt_file_read(file, &len);
        cr_assert_not_null(data);
        cr_assert_eq(len, 16);
        cr_assert_arr_eq(data, "not a directory\n", 16, "the file was changed");
        free(data);
    }
    /* a path below a regular file */
    {
        evlog *log = (evlog *)(uintptr_t)1;
        cr_assert_lt(evlog_open(&log, evt_path(file, "log"), NULL), 0);
        cr_assert_null(log);
    }
}

Test(args, missing_parent_dir)
{
    char path[4200];
    evlog *log = (evlog *)(uintptr_t)1;
    snprintf(path, sizeof path, "%s/no/such/parent", evt_dir);
    cr_assert_lt(evlog_open(&log, path, NULL), 0);
    cr_assert_null(log);
    cr_assert(!evt_exists(evt_path(evt_dir, "no")), "a failed open created a parent");
}

Test(args, errbuf_is_bounded)
{
    const char *file = evt_path(evt_dir, "plain");
    char buf[64];
    evlog *log = NULL;
    cr_assert_eq(evt_file_write(file, "x", 1), 0);
    memset(buf, 'Z', sizeof buf);
    cr_assert_lt(evlog_open_ex(&log, file, NULL, buf, 5), 0);
    cr_assert_leq(strnlen(buf, 5), 4, "errbuf is not NUL-terminated within errbuf_len");
    cr_assert_eq(buf[5], 'Z', "errbuf written past errbuf_len");
    cr_assert_eq(buf[63], 'Z');
    memset(buf, 'Z', sizeof buf);
    cr_assert_lt(evlog_open_ex(&log, file, NULL, buf, 0), 0);
    cr_assert_eq(buf[0], 'Z', "errbuf_len 0 must not be written");
    cr_assert_lt(evlog_open_ex(&log, file, NULL, NULL, 100), 0, "a NULL errbuf is allowed");
}

Test(args, strerror_of_every_code)
{
    struct code {
        int code;
        const char *text;
    };
#define EVT_CODE_(name, code, text) {code, text},
    static const struct code codes[] = {EVLOG_ERRNO_MAP(EVT_CODE_)};
#undef EVT_CODE_
    size_t n = sizeof codes / sizeof *codes, i, j;
    int unknown[] = {EVLOG_ERR_LAST_, -100, 1, 42, INT_MIN, INT_MAX};
    const char *ok = evlog_strerror(0);

    cr_assert_eq(n, (size_t)-(EVLOG_ERR_LAST_ + 1), "the list and EVLOG_ERR_LAST_ disagree");
    cr_assert_not_null(ok);
    for (i = 0; i < n; i++) {
        const char *s = evlog_strerror(codes[i].code);
        cr_assert_eq(codes[i].code, -(int)(i + 1), "codes are pinned -1, -2, ...");
        cr_assert_not_null(s, "code %d", codes[i].code);
        cr_assert_str_eq(s, codes[i].text, "evlog_strerror(%d)", codes[i].code);
        cr_assert_str_neq(s, ok, "code %d reads like success", codes[i].code);
        for (j = 0; j < i; j++)
            cr_assert_str_neq(s, evlog_strerror(codes[j].code), "codes %d and %d share a text",
                              codes[i].code, codes[j].code);
    }
    for (i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        const char *s = evlog_strerror(unknown[i]);
        cr_assert_not_null(s, "unknown code %d", unknown[i]);
        cr_assert_str_neq(s, ok, "unknown code %d reads like success", unknown[i]);
        for (j = 0; j < n; j++)
            cr_assert_str_neq(s, codes[j].text, "unknown code %d reads like code %d", unknown[i],
                              codes[j].code);
    }
}
