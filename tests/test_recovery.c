/*
 * test_recovery.c - opening a log after a crash.
 *
 * Torn tail: a log is written, synced, then a few more batches are appended
 * without a sync and the directory is copied while the writer is still open
 * (the copy is the disk as a crash would leave it: the mapping's bytes are
 * in the page cache, the checkpoint says where the durable point is). For
 * every byte of the batches after the durable point, a copy has the tail of
 * its active segment zeroed, garbled or cut off from that byte; reopening it
 * must keep exactly the batches wholly before the cut, and appends go on.
 *
 * Damage before the durable point (a sealed segment, or the active segment
 * after a sync) is EVLOG_ECORRUPT naming the file and byte position, never
 * cut away; EVLOG_OPEN_DAMAGED opens it read-only up to the damage. A
 * directory holding something that is not a log is refused untouched.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "helpers.h"

TestSuite(recovery, .init = evt_setup, .fini = evt_teardown, .timeout = 240);

#define SEG_BYTES (64u << 10)
#define BODY_RECS 3000u
#define MAXB 4096

static int open_dir(evlog **log, const char *dir, unsigned flags, int compression, char *err,
                    size_t err_len)
{
    evlog_options o;
    evlog_options_init(&o);
    o.segment_bytes = SEG_BYTES;
    o.flags = flags;
    o.compression = compression;
    o.sync_mode = EVLOG_SYNC_NONE;
    if (err && err_len)
        err[0] = 0;
    *log = (evlog *)(uintptr_t)1; /* must be set to NULL on failure */
    return evlog_open_ex(log, dir, &o, err, err_len);
}

static evlog *open_ok(const char *dir, unsigned flags, int compression)
{
    evlog *log;
    char err[512];
    int rc = open_dir(&log, dir, flags, compression, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(%s): %d (%s): %s", dir, rc, evlog_strerror(rc), err);
    return log;
}

/* Appends records [idx, idx + n) of g as one batch. */
static void append_batch(evlog *log, const evt_gen *g, uint64_t idx, unsigned n)
{
    evlog_record recs[16];
    uint8_t arena[16 * 64];
    size_t used = 0;
    unsigned i;
    uint64_t first;
    int rc;
    cr_assert_leq(n, 16);
    for (i = 0; i < n; i++) {
        cr_assert_leq(used + evt_gen_bytes(g, idx + i), sizeof arena);
        evt_gen_record(g, idx + i, &recs[i], arena + used);
        used += evt_gen_bytes(g, idx + i);
    }
    rc = evlog_append(log, recs, n, &first);
    cr_assert_eq(rc, 0, "append at %llu: %d (%s): %s", (unsigned long long)idx, rc,
                 evlog_strerror(rc), evlog_errmsg(log));
    cr_assert_eq(first, idx);
}

/* The state of a crashed copy of a log. */
typedef struct crash {
    uint64_t durable;   /* offset synced before the tail */
    uint64_t end;       /* end offset at the crash */
    uint64_t seg_base;  /* base of the active segment */
    const char *seg;    /* its path in the crashed copy */
    long long file_size;
    long nb;            /* batches in the active segment */
    uint64_t pos[MAXB], base[MAXB];
    uint32_t len[MAXB], cnt[MAXB];
    long first_torn;    /* first batch after the durable point */
} crash;

/* Writes a log in `src` and leaves its crashed copy in `dst`: BODY_RECS
 * records, a sync, then `ntail` unsynced batches of 1..3 records. */
static void make_crash(const char *src, const char *dst, const evt_gen *g, int compression,
                       unsigned ntail, crash *c)
{
    evlog *log = open_ok(src, 0, compression);
    evt_rng brng;
    evt_append_plan plan;
    uint64_t bases[256];
    static char seg_path[4200];
    long nseg, tries;
    unsigned i;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 4;
    plan.max_batch_bytes = 1024;
    evt_rng_init(&brng, g->seed ^ 0xc4a5);
    cr_assert_eq(evt_append_gen(log, g, 0, BODY_RECS, &brng, &plan), 0, "%s", plan.why);
    for (tries = 0;; tries++) {
        cr_assert_lt(tries, 10);
        cr_assert_eq(evlog_sync(log), 0, "%s", evlog_errmsg(log));
        c->durable = evlog_end_offset(log);
        cr_assert_eq(evlog_durable_offset(log), c->durable, "durable offset after evlog_sync");
        nseg = evt_segments(src, bases, 256);
        for (i = 0; i < ntail; i++)
            append_batch(log, g, evlog_end_offset(log), (unsigned)evt_rng_range(&brng, 1, 3));
        if (evt_segments(src, bases, 256) == nseg)
            break; /* no roll among the tail batches */
    }
    c->end = evlog_end_offset(log);
    /* EVLOG_SYNC_NONE: nothing but a roll or close syncs */
    cr_assert_eq(evlog_durable_offset(log), c->durable,
                 "the durable offset moved without a sync, roll or close in EVLOG_SYNC_NONE "
                 "mode (%llu, synced %llu)", (unsigned long long)evlog_durable_offset(log),
                 (unsigned long long)c->durable);
    cr_assert_eq(evt_copy_dir(src, dst), 0, "copy %s -> %s", src, dst);
    cr_assert_eq(evlog_close(log), 0);

    nseg = evt_segments(dst, bases, 256);
    cr_assert_geq(nseg, 2, "the log should have rolled at least once");
    c->seg_base = bases[nseg - 1];
    snprintf(seg_path, sizeof seg_path, "%s", evt_seg_path(dst, c->seg_base));
    c->seg = seg_path;
    c->file_size = evt_file_size(c->seg);
    c->nb = evt_seg_batches(c->seg, c->pos, c->len, c->base, c->cnt, MAXB);
    cr_assert_gt(c->nb, (long)ntail, "active segment %s: %ld batches found", c->seg, c->nb);
    cr_assert_eq(c->base[c->nb - 1] + c->cnt[c->nb - 1], c->end,
                 "the last batch of the active segment does not end at the end offset");
    for (c->first_torn = 0; c->first_torn < c->nb; c->first_torn++)
        if (c->base[c->first_torn] >= c->durable)
            break;
    cr_assert_eq(c->nb - c->first_torn, (long)ntail);
    cr_assert_eq(c->base[c->first_torn], c->durable);
}

enum { CUT_ZERO, CUT_GARBAGE, CUT_TRUNCATE };
static const char *const cut_names[] = {"zeroed", "garbled", "truncated"};

/* The damage of mode at byte `cut`, applied to the in-memory image `img` of
 * the segment (size bytes): zeros or garbage from cut on; for a truncation
 * the image reads as zeros past the cut, as a file extended again would. */
static void damage_image(uint8_t *img, size_t size, uint64_t cut, int mode, uint64_t seed)
{
    if (mode == CUT_GARBAGE) {
        evt_rng r;
        evt_rng_init(&r, seed ^ cut);
        evt_rng_fill(&r, img + cut, size - (size_t)cut);
    } else {
        memset(img + cut, 0, size - (size_t)cut);
    }
}

/* The end offset of the longest prefix of tail batches whose bytes the
 * damage left as they were written: what recovery must keep. (A cut that
 * only zeroes bytes that were zero already leaves its batch whole.) */
static uint64_t expected_end(const crash *c, const uint8_t *orig, const uint8_t *img)
{
    uint64_t e = c->durable;
    long i;
    for (i = c->first_torn; i < c->nb; i++) {
        if (memcmp(orig + c->pos[i], img + c->pos[i], c->len[i]) != 0)
            break;
        e = c->base[i] + c->cnt[i];
    }
    return e;
}

/* For a truncation, the stricter reading: only the batches that end at or
 * before the cut. */
static uint64_t expected_end_strict(const crash *c, uint64_t cut)
{
    uint64_t e = c->durable;
    long i;
    for (i = c->first_torn; i < c->nb && c->pos[i] + c->len[i] <= cut; i++)
        e = c->base[i] + c->cnt[i];
    return e;
}

static void torn_tail(const char *label, int mode, int compression, unsigned step)
{
    uint64_t seed = evt_seed(label);
    evt_gen g = {seed, EVT_TINY, 0, 0};
    static crash c;
    const char *src = evt_path(evt_dir, "src");
    char crashed[4200], work[4200], seg[8500], why[512];
    uint64_t cut, last, tested = 0, t0 = evt_mono_ms();
    uint8_t *orig, *img;
    size_t size;

    snprintf(crashed, sizeof crashed, "%s/crashed", evt_dir);
    snprintf(work, sizeof work, "%s/work", evt_dir);
    make_crash(src, crashed, &g, compression, 3, &c);
    last = c.pos[c.nb - 1] + c.len[c.nb - 1];
    snprintf(seg, sizeof seg, "%s/%s", work, strrchr(c.seg, '/') + 1);
    orig = evt_file_read(c.seg, &size);
    cr_assert_not_null(orig);
    cr_assert_eq((long long)size, c.file_size);
    img = malloc(size);

    for (cut = c.pos[c.first_torn]; cut <= last; cut += (cut + step > last && cut < last) ?
                                                        last - cut : step) {
        uint64_t want, want2;
        evlog *log;
        char err[512];
        int rc;

        memcpy(img, orig, size);
        damage_image(img, size, cut, mode, seed);
        want = want2 = expected_end(&c, orig, img);
        if (mode == CUT_TRUNCATE)
            want2 = expected_end_strict(&c, cut);

        evt_rm_rf(work);
        cr_assert_eq(evt_copy_dir(crashed, work), 0);
        if (mode == CUT_TRUNCATE)
            cr_assert_eq(evt_file_truncate(seg, cut), 0);
        else
            cr_assert_eq(evt_file_pwrite(seg, cut, img + cut, size - (size_t)cut), 0);

        rc = open_dir(&log, work, 0, compression, err, sizeof err);
        cr_assert_eq(rc, 0, "%s tail at byte %llu of %s (tail batches at %llu..%llu): open: "
                     "%d (%s): %s", cut_names[mode], (unsigned long long)cut, seg,
                     (unsigned long long)c.pos[c.first_torn], (unsigned long long)last, rc,
                     evlog_strerror(rc), err);
        if (evlog_end_offset(log) == want2)
            want = want2;
        cr_assert_eq(evlog_end_offset(log), want, "%s tail at byte %llu: end offset %llu, "
                     "expected %llu (the batches left whole by the cut; durable up to %llu)",
                     cut_names[mode], (unsigned long long)cut,
                     (unsigned long long)evlog_end_offset(log), (unsigned long long)want,
                     (unsigned long long)c.durable);
        cr_assert_eq(evt_verify_log(log, &g, 0, 0, want, 1, why, sizeof why), 0,
                     "%s tail at byte %llu: %s", cut_names[mode], (unsigned long long)cut, why);

        /* appends go on from the recovered end (the same records again, so
         * that offset o always holds record o of g) */
        append_batch(log, &g, want, 2);
        append_batch(log, &g, want + 2, 1);
        cr_assert_eq(evlog_close(log), 0, "%s tail at byte %llu: close", cut_names[mode],
                     (unsigned long long)cut);
        log = open_ok(work, 0, compression);
        cr_assert_eq(evlog_end_offset(log), want + 3, "%s tail at byte %llu: end after the "
                     "appends and a reopen", cut_names[mode], (unsigned long long)cut);
        cr_assert_eq(evt_verify_log(log, &g, 0, want > 500 ? want - 500 : 0, want + 3, 1, why,
                                    sizeof why), 0,
                     "%s tail at byte %llu, after reopen: %s", cut_names[mode],
                     (unsigned long long)cut, why);
        cr_assert_eq(evlog_close(log), 0);
        tested++;
        if (cut == last)
            break;
    }
    fprintf(stderr, "%s: %llu cut points over %llu bytes in %llu ms\n", label,
            (unsigned long long)tested, (unsigned long long)(last - c.pos[c.first_torn]),
            (unsigned long long)(evt_mono_ms() - t0));
    free(orig);
    free(img);
    evt_rm_rf(work);
}

Test(recovery, torn_tail_zeroed) { torn_tail("recovery.torn_tail_zeroed", CUT_ZERO, EVLOG_COMPRESS_NONE, 1); }
Test(recovery, torn_tail_garbled) { torn_tail("recovery.torn_tail_garbled", CUT_GARBAGE, EVLOG_COMPRESS_NONE, 1); }
Test(recovery, torn_tail_truncated) { torn_tail("recovery.torn_tail_truncated", CUT_TRUNCATE, EVLOG_COMPRESS_NONE, 5); }
Test(recovery, torn_tail_zeroed_lz4) { torn_tail("recovery.torn_tail_zeroed_lz4", CUT_ZERO, EVLOG_COMPRESS_LZ4, 3); }
Test(recovery, torn_tail_garbled_lz4) { torn_tail("recovery.torn_tail_garbled_lz4", CUT_GARBAGE, EVLOG_COMPRESS_LZ4, 3); }

/*-************ damage before the durable point ************/
static void expect_names_position(const char *msg, const char *seg_path, uint64_t batch_pos,
                                  uint64_t byte_pos, const char *what)
{
    const char *name = strrchr(seg_path, '/') + 1;
    char a[32], b[32], ah[32], bh[32];
    snprintf(a, sizeof a, "%llu", (unsigned long long)batch_pos);
    snprintf(b, sizeof b, "%llu", (unsigned long long)byte_pos);
    snprintf(ah, sizeof ah, "%llx", (unsigned long long)batch_pos);
    snprintf(bh, sizeof bh, "%llx", (unsigned long long)byte_pos);
    cr_assert(evt_contains(msg, name), "%s: the message \"%s\" does not name the file %s", what,
              msg, name);
    cr_assert(evt_contains(msg, a) || evt_contains(msg, b) || evt_contains(msg, ah) ||
              evt_contains(msg, bh),
              "%s: the message \"%s\" names neither the damaged batch's position %s nor the "
              "damaged byte's %s", what, msg, a, b);
}

/* Flips byte `byte_pos` (inside the batch at batch_pos holding offsets from
 * `batch_base`) of segment `seg_base` of the log in `dir`, and checks that
 * the damage is reported, at open (EVLOG_ECORRUPT, the directory untouched)
 * or when the batch is read (EVLOG_ECORRUPT, the end offset unchanged), and
 * never cut away; then that EVLOG_OPEN_DAMAGED reads up to it. */
static void check_damage(const char *dir, const evt_gen *g, uint64_t end, uint64_t seg_base,
                         uint64_t batch_pos, uint64_t batch_base, uint64_t byte_pos,
                         int compression, const char *what)
{
    char seg[4200], err[512], why[512];
    char *before, *before_logs, *after;
    evlog *log;
    evlog_iter *it = NULL;
    evlog_record rec;
    int rc, failed_open;

    snprintf(seg, sizeof seg, "%s", evt_seg_path(dir, seg_base));
    if (byte_pos != UINT64_MAX)
        cr_assert_eq(evt_file_flip(seg, byte_pos, 0x10), 0);
    else
        byte_pos = batch_pos;
    before = evt_dir_digest(dir);
    before_logs = evt_dir_digest_suffix(dir, ".log");

    rc = open_dir(&log, dir, 0, compression, err, sizeof err);
    failed_open = rc != 0;
    if (rc != 0) {
        cr_assert_eq(rc, EVLOG_ECORRUPT, "%s: open: %d (%s): %s", what, rc, evlog_strerror(rc),
                     err);
        cr_assert_null(log, "%s: *out must be NULL on failure", what);
        expect_names_position(err, seg, batch_pos, byte_pos, what);
        after = evt_dir_digest(dir);
        cr_assert_str_eq(after, before, "%s: a failed open changed the directory", what);
        free(after);
    } else {
        /* not found at open: then nothing was cut away, and reading finds it */
        cr_assert_eq(evlog_end_offset(log), end, "%s: the open succeeded with the end offset "
                     "at %llu instead of %llu: damage before the durable point was cut away",
                     what, (unsigned long long)evlog_end_offset(log), (unsigned long long)end);
        /* reading up to the damage works, then EVLOG_ECORRUPT, again and
         * again: the iterator stays on the damaged batch */
        cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
        cr_assert_eq(evt_verify_iter(it, g, 0, 0, batch_base, why, sizeof why), 0, "%s: %s",
                     what, why);
        rc = evlog_iter_next(it, &rec);
        cr_assert_eq(rc, EVLOG_ECORRUPT, "%s: reading the damaged batch at offset %llu gave %d",
                     what, (unsigned long long)batch_base, rc);
        expect_names_position(evlog_errmsg(log), seg, batch_pos, byte_pos, what);
        cr_assert_eq(evlog_iter_next(it, &rec), EVLOG_ECORRUPT, "%s: second read", what);
        evlog_iter_free(it);
        it = NULL;
        /* an iterator placed on it directly reports it too */
        rc = evlog_iter_new(&it, log, batch_base);
        if (rc == 0) {
            rc = evlog_iter_next(it, &rec);
            evlog_iter_free(it);
        }
        cr_assert_eq(rc, EVLOG_ECORRUPT, "%s: iterator placed on the damaged batch: %d", what, rc);
        cr_assert_eq(evlog_close(log), 0);
        after = evt_dir_digest_suffix(dir, ".log");
        cr_assert_str_eq(after, before_logs, "%s: the segment files changed", what);
        free(after);
        free(before);
        before = evt_dir_digest(dir);
    }

    /* EVLOG_OPEN_DAMAGED: read-only, up to the damage */
    rc = open_dir(&log, dir, EVLOG_OPEN_DAMAGED, compression, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: EVLOG_OPEN_DAMAGED: %d (%s): %s", what, rc, evlog_strerror(rc), err);
    {
        evlog_record r1 = {0, 1, NULL, 0, "x", 1};
        cr_assert_eq(evlog_append(log, &r1, 1, NULL), EVLOG_EREADONLY,
                     "%s: a damaged open must be read-only", what);
    }
    if (failed_open)
        cr_assert_eq(evlog_end_offset(log), batch_base,
                     "%s: EVLOG_OPEN_DAMAGED end offset %llu, expected the damage at %llu", what,
                     (unsigned long long)evlog_end_offset(log), (unsigned long long)batch_base);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    cr_assert_eq(evt_verify_iter(it, g, 0, 0, batch_base, why, sizeof why), 0,
                 "%s: EVLOG_OPEN_DAMAGED read: %s", what, why);
    rc = evlog_iter_next(it, &rec);
    cr_assert_neq(rc, 1, "%s: EVLOG_OPEN_DAMAGED returned a record at or past the damage "
                  "(offset %llu)", what, (unsigned long long)rec.offset);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
    after = evt_dir_digest(dir);
    cr_assert_str_eq(after, before, "%s: EVLOG_OPEN_DAMAGED changed the directory", what);
    free(after);
    free(before);
    free(before_logs);
}

/* A closed log of several 64 KiB segments in `dir`. */
static uint64_t build_closed(const char *dir, const evt_gen *g, int compression)
{
    evlog *log = open_ok(dir, 0, compression);
    evt_rng brng;
    evt_append_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.max_batch = 8;
    plan.max_batch_bytes = 2048;
    evt_rng_init(&brng, g->seed ^ 0xd00d);
    cr_assert_eq(evt_append_gen(log, g, 0, 8000, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(evlog_close(log), 0);
    return 8000;
}

static void sealed_damage(int compression)
{
    uint64_t seed = evt_seed(compression == EVLOG_COMPRESS_LZ4 ? "recovery.sealed_damage_lz4"
                                                                : "recovery.sealed_damage");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    const char *src = evt_path(evt_dir, "src");
    uint64_t bases[256], end = 0, pos[MAXB], base[MAXB];
    uint32_t len[MAXB], cnt[MAXB];
    long nseg, nb, picks[4], i;
    int k;

    end = build_closed(src, &g, compression);
    nseg = evt_segments(src, bases, 256);
    cr_assert_geq(nseg, 3);
    nb = evt_seg_batches(evt_seg_path(src, bases[1]), pos, len, base, cnt, MAXB);
    cr_assert_gt(nb, 4);
    picks[0] = 0;
    picks[1] = nb / 2;
    picks[2] = nb - 1;
    picks[3] = nb / 3;
    for (k = 0; k < 4; k++) {
        char dir[4200], what[256];
        uint64_t byte;
        i = picks[k];
        /* a header byte, the middle of the payload, the last byte, the
         * checksum */
        byte = k == 0 ? pos[i] + 20 : k == 1 ? pos[i] + len[i] / 2 + 24 : k == 2 ? pos[i] + len[i] - 1 : pos[i] + 3;
        snprintf(dir, sizeof dir, "%s/case%d", evt_dir, k);
        snprintf(what, sizeof what, "sealed segment %llu, batch %ld at byte %llu, flip at %llu",
                 (unsigned long long)bases[1], i, (unsigned long long)pos[i],
                 (unsigned long long)byte);
        cr_assert_eq(evt_copy_dir(src, dir), 0);
        check_damage(dir, &g, end, bases[1], pos[i], base[i], byte, compression, what);
        evt_rm_rf(dir);
    }
}

Test(recovery, sealed_damage) { sealed_damage(EVLOG_COMPRESS_NONE); }
Test(recovery, sealed_damage_lz4) { sealed_damage(EVLOG_COMPRESS_LZ4); }

/* Damage in the active segment of a cleanly closed log: everything there
 * was durable, so it is corruption, not a torn tail. */
Test(recovery, active_damage_after_close)
{
    uint64_t seed = evt_seed("recovery.active_damage_after_close");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    const char *src = evt_path(evt_dir, "src");
    uint64_t bases[256], end, pos[MAXB], base[MAXB];
    uint32_t len[MAXB], cnt[MAXB];
    long nseg, nb, picks[4];
    int k;

    end = build_closed(src, &g, EVLOG_COMPRESS_NONE);
    nseg = evt_segments(src, bases, 256);
    nb = evt_seg_batches(evt_seg_path(src, bases[nseg - 1]), pos, len, base, cnt, MAXB);
    cr_assert_gt(nb, 3, "the active segment should hold a few batches");
    picks[0] = nb - 1; /* the last batch: durable, so not a torn tail */
    picks[1] = nb / 2;
    picks[2] = 0;
    picks[3] = nb - 1;
    for (k = 0; k < 4; k++) {
        char dir[4200], what[256];
        long i = picks[k];
        uint64_t byte = k == 3 ? pos[i] + len[i] - 1 : pos[i] + 9 + (uint64_t)k * 11;
        snprintf(dir, sizeof dir, "%s/case%d", evt_dir, k);
        snprintf(what, sizeof what, "active segment %llu after close, batch %ld at byte %llu, "
                 "flip at %llu", (unsigned long long)bases[nseg - 1], i,
                 (unsigned long long)pos[i], (unsigned long long)byte);
        cr_assert_eq(evt_copy_dir(src, dir), 0);
        check_damage(dir, &g, end, bases[nseg - 1], pos[i], base[i], byte,
                     EVLOG_COMPRESS_NONE, what);
        evt_rm_rf(dir);
    }
}

/* Damage in the active segment before the durable point of a crashed
 * writer: the batches up to the last evlog_sync must be there. */
Test(recovery, active_damage_before_durable_point)
{
    uint64_t seed = evt_seed("recovery.active_damage_before_durable_point");
    evt_gen g = {seed, EVT_TINY, 0, 0};
    static crash c;
    const char *src = evt_path(evt_dir, "src"), *crashed = evt_path(evt_dir, "crashed");
    long picks[3];
    int k;

    make_crash(src, crashed, &g, EVLOG_COMPRESS_NONE, 3, &c);
    cr_assert_gt(c.first_torn, 2, "the active segment should hold durable batches");
    picks[0] = c.first_torn - 1; /* the last durable batch */
    picks[1] = c.first_torn / 2;
    picks[2] = 0;
    for (k = 0; k < 3; k++) {
        char dir[4200], what[256];
        long i = picks[k];
        uint64_t byte = c.pos[i] + c.len[i] - 1 - (uint64_t)k;
        snprintf(dir, sizeof dir, "%s/case%d", evt_dir, k);
        snprintf(what, sizeof what, "crashed active segment, durable batch %ld at byte %llu, "
                 "flip at %llu", i, (unsigned long long)c.pos[i], (unsigned long long)byte);
        cr_assert_eq(evt_copy_dir(crashed, dir), 0);
        check_damage(dir, &g, c.end, c.seg_base, c.pos[i], c.base[i], byte,
                     EVLOG_COMPRESS_NONE, what);
        evt_rm_rf(dir);
    }
}

/* The last durable batch zeroed, and everything after it: it looks like
 * the end of the written data, but the checkpoint says it was durable, so
 * it is damage, not a torn tail. */
Test(recovery, durable_batch_zeroed_is_corruption)
{
    uint64_t seed = evt_seed("recovery.durable_batch_zeroed_is_corruption");
    evt_gen g = {seed, EVT_TINY, 0, 0};
    static crash c;
    const char *src = evt_path(evt_dir, "src"), *crashed = evt_path(evt_dir, "crashed");
    long i;
    uint8_t *zeros;

    make_crash(src, crashed, &g, EVLOG_COMPRESS_NONE, 3, &c);
    i = c.first_torn - 1;
    zeros = calloc(1, (size_t)(c.file_size - (long long)c.pos[i]));
    cr_assert_eq(evt_file_pwrite(c.seg, c.pos[i], zeros,
                                 (size_t)(c.file_size - (long long)c.pos[i])), 0);
    free(zeros);
    /* the records of the torn batches are gone with them: the log ends at
     * the durable point if the damage is not found at open */
    check_damage(crashed, &g, c.durable, c.seg_base, c.pos[i], c.base[i], UINT64_MAX,
                 EVLOG_COMPRESS_NONE, "the last durable batch zeroed with the tail after it");
}

/*-************ not a log ************/
static void expect_refused(const char *dir, const char *what, int want)
{
    char *before = evt_dir_digest(dir), *after, err[512];
    evlog *log;
    unsigned flags[2] = {0, EVLOG_READ_ONLY};
    int i, rc;
    for (i = 0; i < 2; i++) {
        rc = open_dir(&log, dir, flags[i], EVLOG_COMPRESS_NONE, err, sizeof err);
        if (rc == 0)
            evlog_close(log);
        if (want)
            cr_assert_eq(rc, want, "%s (flags %u): open gave %d (%s), expected %d (%s): %s",
                         what, flags[i], rc, evlog_strerror(rc), want, evlog_strerror(want), err);
        else
            cr_assert(rc == EVLOG_ENOTLOG || rc == EVLOG_ECORRUPT,
                      "%s (flags %u): open gave %d (%s): %s", what, flags[i], rc,
                      evlog_strerror(rc), err);
        cr_assert_null(log);
        cr_assert_neq(err[0], 0, "%s: no detail in errbuf", what);
        after = evt_dir_digest(dir);
        cr_assert_str_eq(after, before, "%s (flags %u): the directory changed:\nbefore:\n%s"
                         "after:\n%s", what, flags[i], before, after);
        free(after);
    }
    free(before);
}

Test(recovery, foreign_file_in_empty_dir)
{
    cr_assert_eq(mkdir(evt_log, 0755), 0);
    cr_assert_eq(evt_file_write(evt_path(evt_log, "notes.txt"), "hello\n", 6), 0);
    expect_refused(evt_log, "a directory holding notes.txt", EVLOG_ENOTLOG);
}

/* A refused directory is left exactly as it was, even the leftovers that
 * recovery would clean up in a real log (an unfinished index rewrite). */
Test(recovery, foreign_dir_with_log_like_leftovers)
{
    cr_assert_eq(mkdir(evt_log, 0755), 0);
    cr_assert_eq(evt_file_write(evt_path(evt_log, "notes.txt"), "hello\n", 6), 0);
    cr_assert_eq(evt_file_write(evt_path(evt_log, "00000000000000000000.index.tmp"), "x", 1), 0);
    expect_refused(evt_log, "a directory holding notes.txt and an .index.tmp", EVLOG_ENOTLOG);
}

Test(recovery, garbage_segment_file)
{
    uint64_t seed = evt_seed("recovery.garbage_segment_file");
    evt_rng r;
    uint8_t *buf = malloc(SEG_BYTES);
    evt_rng_init(&r, seed);
    evt_rng_fill(&r, buf, SEG_BYTES);
    cr_assert_eq(mkdir(evt_log, 0755), 0);
    cr_assert_eq(evt_file_write(evt_seg_path(evt_log, 0), buf, SEG_BYTES), 0);
    expect_refused(evt_log, "a segment file of random bytes", 0);
    free(buf);
}

Test(recovery, garbage_file_beside_a_log)
{
    uint64_t seed = evt_seed("recovery.garbage_file_beside_a_log");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    uint64_t end = build_closed(evt_log, &g, EVLOG_COMPRESS_NONE);
    cr_assert_eq(evt_file_write(evt_path(evt_log, "junk.bin"), "\x01\x02\x03", 3), 0);
    /* a stray file beside a log does not stop the log from opening (an
     * operator's note must not take a service down); it is left untouched,
     * and `evlog verify` reports it (tests/cli) */
    {
        char *before = evt_dir_digest(evt_log), *after;
        evlog *log = open_ok(evt_log, EVLOG_READ_ONLY, EVLOG_COMPRESS_NONE);
        cr_assert_eq(evlog_end_offset(log), end, "the log beside junk.bin lost records");
        evlog_close(log);
        after = evt_dir_digest(evt_log);
        cr_assert_str_eq(before, after, "a read-only open changed the directory");
        free(before);
        free(after);
        log = open_ok(evt_log, 0, EVLOG_COMPRESS_NONE);
        evlog_close(log);
        cr_assert_eq(evt_file_size(evt_path(evt_log, "junk.bin")), 3, "junk.bin was touched");
    }
}

static void garbage_replaces_segment(const char *label, int which)
{
    uint64_t seed = evt_seed(label);
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    uint64_t bases[256];
    evt_rng r;
    uint8_t *buf = malloc(SEG_BYTES);
    build_closed(evt_log, &g, EVLOG_COMPRESS_NONE);
    cr_assert_geq(evt_segments(evt_log, bases, 256), 3);
    evt_rng_init(&r, seed);
    evt_rng_fill(&r, buf, SEG_BYTES);
    cr_assert_eq(evt_file_write(evt_seg_path(evt_log, bases[which]), buf, SEG_BYTES), 0);
    expect_refused(evt_log, which ? "the second (sealed) segment overwritten with random bytes"
                                  : "the first (sealed) segment overwritten with random bytes",
                   0);
    free(buf);
}

Test(recovery, garbage_replaces_a_sealed_segment)
{
    garbage_replaces_segment("recovery.garbage_replaces_a_sealed_segment", 1);
}

Test(recovery, garbage_replaces_the_first_segment)
{
    garbage_replaces_segment("recovery.garbage_replaces_the_first_segment", 0);
}

/* A flipped byte in the footer of a sealed segment: ECORRUPT at open (the
 * footers are what open reads of sealed segments), nothing changed. */
static void footer_flip(const char *label, int which)
{
    uint64_t seed = evt_seed(label);
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    uint64_t bases[256];
    const char *path;
    char what[128];
    long long size;
    build_closed(evt_log, &g, EVLOG_COMPRESS_NONE);
    cr_assert_geq(evt_segments(evt_log, bases, 256), 3);
    path = evt_seg_path(evt_log, bases[which]);
    size = evt_file_size(path);
    cr_assert_eq(evt_file_flip(path, (uint64_t)size - EVL_FOOTER_SIZE + 30, 0x04), 0);
    snprintf(what, sizeof what, "a flipped byte in the footer of sealed segment %d", which);
    expect_refused(evt_log, what, EVLOG_ECORRUPT);
}

Test(recovery, footer_damage_first_segment)
{
    footer_flip("recovery.footer_damage_first_segment", 0);
}

Test(recovery, footer_damage_second_segment)
{
    footer_flip("recovery.footer_damage_second_segment", 1);
}

/* Rewrites the segment header of `path` with format version `version`,
 * checksum and all. */
static void set_header_version(const char *path, uint32_t version)
{
    uint8_t hdr[EVL_SEG_HEADER_SIZE];
    evl_seg_header h;
    size_t len;
    uint8_t *seg = evt_file_read(path, &len);
    cr_assert_not_null(seg);
    cr_assert_eq(evl_seg_header_decode(&h, seg), EVL_OK, "%s: header", path);
    h.version = version;
    evl_seg_header_encode(hdr, &h);
    cr_assert_eq(evt_file_pwrite(path, 0, hdr, sizeof hdr), 0);
    free(seg);
}

/* A segment written by a newer library (header and footer of format version
 * 2) is refused with EVLOG_EVERSION, not taken for damage, not written. */
Test(recovery, newer_format_version_sealed)
{
    uint64_t seed = evt_seed("recovery.newer_format_version_sealed");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    uint64_t bases[256];
    const char *path;
    uint8_t *seg, ftr[EVL_FOOTER_SIZE];
    evl_footer f;
    size_t len;

    build_closed(evt_log, &g, EVLOG_COMPRESS_NONE);
    cr_assert_geq(evt_segments(evt_log, bases, 256), 2);
    path = evt_seg_path(evt_log, bases[0]);
    set_header_version(path, EVL_FORMAT_VERSION + 1);
    /* the footer of a sealed segment ends its file */
    seg = evt_file_read(path, &len);
    cr_assert_not_null(seg);
    cr_assert_eq(evl_footer_decode(&f, seg + len - EVL_FOOTER_SIZE), EVL_OK,
                 "no footer at the end of sealed segment %s", path);
    memcpy(ftr, seg + len - EVL_FOOTER_SIZE, sizeof ftr);
    evl_st32(ftr + 8, EVL_FORMAT_VERSION + 1);
    evl_st64(ftr + 72, evl_hash(ftr, 72, EVL_SEED_FOOTER));
    cr_assert_eq(evt_file_pwrite(path, len - EVL_FOOTER_SIZE, ftr, sizeof ftr), 0);
    free(seg);
    expect_refused(evt_log, "a sealed segment of format version 2", EVLOG_EVERSION);
}

Test(recovery, newer_format_version_active)
{
    uint64_t seed = evt_seed("recovery.newer_format_version_active");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    uint64_t bases[256];
    long n;
    build_closed(evt_log, &g, EVLOG_COMPRESS_NONE);
    n = evt_segments(evt_log, bases, 256);
    cr_assert_geq(n, 2);
    set_header_version(evt_seg_path(evt_log, bases[n - 1]), EVL_FORMAT_VERSION + 1);
    expect_refused(evt_log, "an active segment of format version 2", EVLOG_EVERSION);
}

/*-******************* the spare segment file *******************/
/* Opens `dir` with `flags`, checks that it holds records [0, end) of g and
 * nothing more, and closes it. */
static void expect_records(const char *dir, unsigned flags, const evt_gen *g, uint64_t end)
{
    evlog *log = open_ok(dir, flags, EVLOG_COMPRESS_NONE);
    char why[256];
    cr_assert_eq(evlog_end_offset(log), end);
    cr_assert_eq(evt_verify_log(log, g, 0, 0, end, 1, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evlog_close(log), 0);
}

/* The inode of `path`, 0 when it does not exist. */
static uint64_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* A writer that rolls makes the next segment's file ahead (spare.tmp), the
 * next roll takes that very file for its segment, and close removes the
 * spare; everything reads back after a reopen. */
Test(recovery, spare_segment_made_ahead_and_taken_by_the_roll)
{
    uint64_t seed = evt_seed("recovery.spare_segment_made_ahead_and_taken_by_the_roll");
    evt_gen g = {seed, EVT_SMALL, 0, 1};
    const char *spare = evt_path(evt_log, "spare.tmp");
    evlog *log = open_ok(evt_log, 0, EVLOG_COMPRESS_NONE);
    uint64_t idx = 0, first, ino, t0 = evt_mono_ms();
    int rolls = 0, taken = 0;

    while (!taken && evt_mono_ms() - t0 < 20000) {
        ino = inode_of(spare); /* before the append that may roll */
        cr_assert_eq(evt_append_one(log, &g, idx, &first), 0);
        idx++;
        /* a segment is named by its first record's offset */
        if (first == 0 || !evt_exists(evt_seg_path(evt_log, first)))
            continue;
        rolls++;
        if (ino && inode_of(evt_seg_path(evt_log, first)) == ino)
            taken = 1;
        else
            usleep(20000); /* time for the sealer to seal and make one */
    }
    cr_assert(taken, "no roll took the spare file for its segment in 20 s (%d rolls)", rolls);
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_not(evt_exists(spare), "close left spare.tmp behind");
    expect_records(evt_log, EVLOG_READ_ONLY, &g, idx);
}

/* A spare left by a crashed writer is ignored by readers and removed by
 * the next writer's open; the log is untouched. */
Test(recovery, spare_left_by_a_crash)
{
    uint64_t seed = evt_seed("recovery.spare_left_by_a_crash");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    uint64_t end = build_closed(evt_log, &g, EVLOG_COMPRESS_NONE);
    const char *spare = evt_path(evt_log, "spare.tmp");
    uint8_t junk[8192];
    evlog *log;

    memset(junk, 0xa5, sizeof junk);
    cr_assert_eq(evt_file_write(spare, junk, sizeof junk), 0);
    expect_records(evt_log, EVLOG_READ_ONLY, &g, end);
    cr_assert(evt_exists(spare), "a read-only open removed spare.tmp");

    log = open_ok(evt_log, 0, EVLOG_COMPRESS_NONE);
    cr_assert_not(evt_exists(spare), "the writer's open left spare.tmp");
    cr_assert_eq(evlog_close(log), 0);
    expect_records(evt_log, EVLOG_READ_ONLY, &g, end);
}
