/*
 * test_corrupt.c - the corruption sweep (issue 4, test 4).
 *
 * flips: a small log (segments of 4 KiB: headers, plain and LZ4 batches,
 * footers, indexes, the checkpoint) is written and closed; then every byte
 * of every file is flipped in turn, on a fresh copy. For each flip:
 *  - no record that differs from the one appended is ever returned, by a
 *    read-only handle or by the writer, from the start or after a seek;
 *  - no record is silently dropped: a handle that ends early said so
 *    (EVLOG_ECORRUPT from open or iteration);
 *  - a flip in a checksummed region (header, batch, footer, index, a
 *    written checkpoint slot) is detected: by open, by iteration, or by
 *    `evlog verify` (evlog_scan reports a problem). An index flip is thus
 *    repaired (the writer rebuilds it) or reported, never believed.
 *
 * cuts: a log whose last segment has batches past the durable point (a
 * process crash after appends that were not synced) is cut at every byte
 * of that segment, by truncating the file and by zeroing its tail: a cut at
 * or past the durable position recovers exactly the longest valid prefix of
 * whole batches; a cut before it is reported (EVLOG_ECORRUPT), and
 * EVLOG_OPEN_DAMAGED then opens the same longest valid prefix. Cuts of
 * sealed segments are reported too.
 *
 * EVLOG_REL_CORRUPT_STRIDE=k tests one byte in k (from a seeded phase; the
 * default keeps CI short); 1 is the full sweep.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "plsim.h"
#include "relwork.h"

static char tmp[256], logdir[300];
static int failed;

/* Broken promises are collected, so that a sweep shows every kind of
 * failure it meets; the test fails at its end. */
static uint64_t nbroken;
static char broken_first[8][1024];

#define BROKEN(...)                                                           \
    do {                                                                      \
        failed = 1;                                                           \
        if (nbroken < 8)                                                      \
            snprintf(broken_first[nbroken], sizeof broken_first[0], __VA_ARGS__); \
        nbroken++;                                                            \
    } while (0)

static void report_broken(const char *what)
{
    uint64_t i;
    for (i = 0; i < nbroken && i < 8; i++)
        fprintf(stderr, "%s: %s\n", what, broken_first[i]);
    cr_assert_eq(nbroken, 0, "%s: %llu broken promises; the first: %s", what,
                 (unsigned long long)nbroken, broken_first[0]);
}

static void setup(void)
{
    /* thousands of opens, each with its syncs: a RAM file system keeps
     * the sweep quick (EVLOG_REL_TMPDIR chooses another) */
    const char *base = getenv("EVLOG_REL_TMPDIR");
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/evrel-corrupt-XXXXXX", base);
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(logdir, sizeof logdir, "%s/log", tmp);
}

static void teardown(void)
{
    char cmd[400];
    if (failed)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    (void)system(cmd);
}

TestSuite(corrupt, .init = setup, .fini = teardown, .timeout = 1800);

/* Small records, so that a 4 KiB segment holds a dozen batches. */
static void small_record(uint64_t seed, uint64_t o, evlog_record *r, uint8_t *buf)
{
    uint64_t h = rw_mix(seed ^ (o * 0x9e37));
    size_t klen = (size_t)(h % 9), vlen = (size_t)((h >> 8) % 70), i;
    memset(r, 0, sizeof *r);
    r->timestamp = (int64_t)(1700000000000000000ull + o * 777);
    for (i = 0; i < klen + vlen; i++)
        buf[i] = (h >> 16) & 1 ? (uint8_t)('a' + (i + o) % 7) : (uint8_t)rw_mix(h + i);
    if (klen) {
        r->key = buf;
        r->key_len = klen;
    }
    if (!klen || (h >> 20) % 5) {
        r->value = buf + klen;
        r->value_len = vlen;
    }
}

static int same(const evlog_record *a, const evlog_record *b)
{
    return a->timestamp == b->timestamp && (a->key == NULL) == (b->key == NULL) &&
           a->key_len == b->key_len && (a->value == NULL) == (b->value == NULL) &&
           a->value_len == b->value_len &&
           (!a->key_len || memcmp(a->key, b->key, a->key_len) == 0) &&
           (!a->value_len || memcmp(a->value, b->value, a->value_len) == 0);
}

/* Append `batches` batches of 1..4 small records; returns the end. */
static uint64_t fill(evlog *log, uint64_t seed, unsigned batches)
{
    uint8_t bufs[4][128];
    evlog_record recs[4];
    unsigned b;
    for (b = 0; b < batches; b++) {
        uint64_t end = evlog_end_offset(log);
        size_t n = 1 + (size_t)(rw_mix(seed + end) % 4), i;
        for (i = 0; i < n; i++)
            small_record(seed, end + i, &recs[i], bufs[i]);
        cr_assert_eq(evlog_append(log, recs, n, NULL), 0, "%s", evlog_errmsg(log));
    }
    return evlog_end_offset(log);
}

/*-******************* reading back *******************/
typedef struct outcome {
    int open_rc;         /* evlog_open's result */
    int iter_rc;         /* the first iteration error, or 0 */
    uint64_t end;        /* records read without error from the start */
    int wrong;           /* a record differed from the one appended */
    char what[300];
} outcome;

/* Open `dir` (read-only or not, with `flags`), read everything from the
 * start and seek to a few offsets. */
static void read_log(const char *dir, unsigned flags, uint64_t seed, uint64_t want_end,
                     outcome *out)
{
    uint8_t buf[128];
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record rec, exp;
    uint64_t off, start;
    int rc;

    memset(out, 0, sizeof *out);
    evlog_options_init(&o);
    o.segment_bytes = 4096;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o.flags = flags;
    out->open_rc = evlog_open(&log, dir, &o);
    if (out->open_rc)
        return;
    start = evlog_start_offset(log);
    if (evlog_end_offset(log) > want_end) {
        out->wrong = 1;
        snprintf(out->what, sizeof out->what, "end offset %" PRIu64 " past the %" PRIu64
                 " records appended", evlog_end_offset(log), want_end);
    }
    if ((rc = evlog_iter_new(&it, log, start)) != 0) {
        out->iter_rc = rc;
    } else {
        for (off = start;; off++) {
            rc = evlog_iter_next(it, &rec);
            if (rc <= 0) {
                if (rc < 0)
                    out->iter_rc = rc;
                break;
            }
            small_record(seed, off, &exp, buf);
            if (rec.offset != off || off >= want_end || !same(&rec, &exp)) {
                out->wrong = 1;
                snprintf(out->what, sizeof out->what, "record at %" PRIu64 " (offset %" PRIu64
                         ") is not the one appended", off, rec.offset);
                break;
            }
        }
        out->end = off;
        evlog_iter_free(it);
    }
    /* seeks go through the index */
    for (off = start + 3; off < evlog_end_offset(log) && !out->wrong; off += 11) {
        if (evlog_iter_new(&it, log, off) != 0)
            continue;
        rc = evlog_iter_next(it, &rec);
        small_record(seed, off, &exp, buf);
        if (rc == 1 && (rec.offset != off || !same(&rec, &exp))) {
            out->wrong = 1;
            snprintf(out->what, sizeof out->what, "a seek to %" PRIu64 " returned offset %" PRIu64
                     " or wrong bytes", off, rec.offset);
        } else if (rc < 0 && !out->iter_rc) {
            out->iter_rc = rc;
        }
        evlog_iter_free(it);
    }
    evlog_close(log);
}

struct scan_count {
    uint64_t errors, warnings;
    char first[300];
};

static int scan_cb(const evlog_scan_event *ev, void *payload)
{
    struct scan_count *c = payload;
    if (ev->kind != EVLOG_EV_PROBLEM)
        return 0;
    if (!c->errors && !c->warnings)
        snprintf(c->first, sizeof c->first, "%s in %s at %" PRIu64, ev->problem->name,
                 ev->problem->file ? ev->problem->file : "-", ev->problem->pos);
    if (ev->problem->severity == EVLOG_SEV_ERROR)
        c->errors++;
    else
        c->warnings++;
    return 0;
}

static void scan_dir(const char *dir, struct scan_count *c)
{
    memset(c, 0, sizeof *c);
    cr_assert_eq(evlog_scan(dir, EVLOG_SCAN_RECORDS | EVLOG_SCAN_ENTRIES, scan_cb, c), 0);
}

/*-******************* the byte flips *******************/
/* The checksummed bytes of a file: [0, *hi) plus, for the checkpoint, the
 * written slots. Returns 1 when byte `pos` is covered. */
static int checksummed(const pl_file *f, uint64_t pos, uint64_t active_end, const char *active)
{
    evl_ckpt c;
    if (strcmp(f->name, EVL_CKPT_NAME) == 0)
        return pos < 2 * EVL_CKPT_SLOT_SIZE && f->len >= (pos / EVL_CKPT_SLOT_SIZE + 1) * 128 &&
               evl_ckpt_decode(&c, f->data + pos / EVL_CKPT_SLOT_SIZE * 128) == EVL_OK;
    if (strcmp(f->name, active) == 0)
        return pos < active_end;
    return strstr(f->name, ".log") || strstr(f->name, ".index");
}

/* The end of the batches of a segment file's bytes. */
static uint64_t data_end(const pl_file *f)
{
    uint64_t pos = EVL_SEG_HEADER_SIZE;
    evl_batch b;
    while (pos < f->len && evl_batch_check(&b, f->data + pos, f->len - pos) == EVL_OK)
        pos += b.length;
    return pos;
}

Test(corrupt, every_byte_flipped)
{
    uint64_t seed = rw_seed("corrupt.every_byte_flipped", 31);
    uint64_t stride = rw_env_u64("EVLOG_REL_CORRUPT_STRIDE", 7), end, active_end = 0;
    uint64_t flips = 0, covered = 0, by_open = 0, by_iter = 0, by_verify_only = 0, repaired = 0,
             harmless = 0;
    uint8_t mask_of[2] = {0x01, 0xff};
    unsigned masks = (unsigned)rw_env_u64("EVLOG_REL_CORRUPT_MASKS", 1), mi;
    char active[100] = "";
    evlog_options o;
    evlog *log = NULL;
    pl_image *pristine = NULL;
    size_t fi;

    evlog_options_init(&o);
    o.segment_bytes = 4096;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    fill(log, seed, 30);
    cr_assert_eq(evlog_close(log), 0);
    o.compression = EVLOG_COMPRESS_LZ4;
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    end = fill(log, seed, 30);
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_eq(pl_image_read_dir(&pristine, logdir), 0);
    for (fi = 0; fi < pristine->n; fi++) { /* the active segment: the last one */
        pl_file *f = &pristine->files[fi];
        if (strstr(f->name, ".log") && strcmp(f->name, active) > 0)
            snprintf(active, sizeof active, "%s", f->name);
    }
    {
        pl_file *f = pl_image_find(pristine, active);
        cr_assert_not_null(f);
        if (f->len < 80 || memcmp(f->data + f->len - 80, EVL_FOOTER_MAGIC, 8) != 0)
            active_end = data_end(f);
        else
            active[0] = '\0'; /* sealed: all of it is covered */
    }

    for (mi = 0; mi < masks && mi < 2; mi++)
        for (fi = 0; fi < pristine->n; fi++) {
            pl_file *f = &pristine->files[fi];
            uint64_t pos;
            for (pos = rw_mix(seed + fi) % stride; pos < f->len; pos += stride) {
                struct scan_count sc;
                outcome ro, rw;
                int cov = checksummed(f, pos, active_end, active), detected;
                uint8_t old = f->data[pos];
                f->data[pos] ^= mask_of[mi];
                cr_assert_eq(pl_image_write_dir(pristine, logdir), 0);
                f->data[pos] = old;
                flips++;
                scan_dir(logdir, &sc);
                read_log(logdir, EVLOG_READ_ONLY, seed, end, &ro);
                read_log(logdir, 0, seed, end, &rw);
                if (ro.wrong || rw.wrong) {
                    BROKEN("%s byte %" PRIu64 " ^ 0x%02x: %s", f->name, pos, mask_of[mi],
                                   ro.wrong ? ro.what : rw.what);
                }
                if ((!ro.open_rc && !ro.iter_rc && ro.end < end) ||
                    (!rw.open_rc && !rw.iter_rc && rw.end < end)) {
                    BROKEN("%s byte %" PRIu64 " ^ 0x%02x: records %" PRIu64 "..%" PRIu64
                                   " silently dropped (read-only %" PRIu64 ", writer %" PRIu64 ")",
                                   f->name, pos, mask_of[mi], ro.end < rw.end ? ro.end : rw.end,
                                   end, ro.end, rw.end);
                }
                detected = ro.open_rc || rw.open_rc || ro.iter_rc || rw.iter_rc ||
                           sc.errors || sc.warnings;
                if (cov) {
                    covered++;
                    if (!detected) {
                        BROKEN("%s byte %" PRIu64 " ^ 0x%02x: a flip in a checksummed "
                                       "region went unnoticed by open, iteration and verify",
                                       f->name, pos, mask_of[mi]);
                    }
                    if (ro.open_rc || rw.open_rc)
                        by_open++;
                    else if (ro.iter_rc || rw.iter_rc)
                        by_iter++;
                    else
                        by_verify_only++;
                    if (!rw.open_rc) { /* the writer's pass: repaired? */
                        struct scan_count after;
                        scan_dir(logdir, &after);
                        repaired += after.errors == 0 && after.warnings == 0;
                    }
                } else {
                    harmless += !detected;
                }
            }
        }
    fprintf(stderr, "corruption sweep: %" PRIu64 " flips (every %" PRIu64 " byte of %zu files), %"
            PRIu64 " in checksummed regions: %" PRIu64 " refused by open, %" PRIu64
            " by iteration, %" PRIu64 " reported by verify alone, %" PRIu64 " repaired by the "
            "writer; %" PRIu64 " elsewhere without effect; no wrong record, nothing dropped "
            "silently\n", flips, stride, pristine->n, covered, by_open, by_iter, by_verify_only,
            repaired, harmless);
    pl_image_free(pristine);
    report_broken("corruption sweep");
}

/*-******************* the tail cuts *******************/
Test(corrupt, every_cut_of_the_tail)
{
    uint64_t seed = rw_seed("corrupt.every_cut_of_the_tail", 32);
    uint64_t stride = rw_env_u64("EVLOG_REL_CORRUPT_STRIDE", 7), cuts = 0, damaged = 0, end;
    plsim *sim = plsim_new();
    pl_image *img = NULL;
    evlog_options o;
    evlog *log = NULL;
    evl_ckpt ck, c2;
    pl_file *ckf, *last = NULL;
    uint64_t lastbase = 0, b, dpos, pos, durable;
    size_t fi;
    int v, have = 0;

    /* a process crash after appends that were not all synced */
    evlog_options_init(&o);
    o.segment_bytes = 16384;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o.io = plsim_io(sim);
    cr_assert_eq(evlog_open(&log, "/c/log", &o), 0);
    fill(log, seed, 50);
    cr_assert_eq(evlog_sync(log), 0);
    durable = evlog_durable_offset(log);
    end = fill(log, seed, 40);
    cr_assert_eq(plsim_crash(sim, "/c/log", PL_CRASH_KEEP_ALL, 0, &img, NULL), 0);
    evlog_close(log);
    plsim_free(sim);

    for (fi = 0; fi < img->n; fi++)
        if (evl_parse_name(img->files[fi].name, EVL_SEG_SUFFIX, &b) && (!last || b > lastbase)) {
            last = &img->files[fi];
            lastbase = b;
        }
    cr_assert_not_null(last);
    cr_assert_not_null(ckf = pl_image_find(img, EVL_CKPT_NAME));
    for (v = 0; v < 2; v++)
        if (evl_ckpt_decode(&c2, ckf->data + v * 128) == EVL_OK && (!have || c2.seq > ck.seq)) {
            ck = c2;
            have = 1;
        }
    cr_assert(have);
    dpos = ck.durable_segment == lastbase ? ck.durable_pos
           : ck.durable_segment > lastbase ? UINT64_MAX : EVL_SEG_HEADER_SIZE;
    cr_assert_lt(durable, end);

    for (pos = EVL_SEG_HEADER_SIZE + rw_mix(seed) % stride; pos <= data_end(last); pos += stride)
        for (v = 0; v < 2; v++) {
            pl_image *cut = pl_image_dup(img);
            pl_file *f = pl_image_find(cut, last->name);
            uint64_t want = lastbase, p = EVL_SEG_HEADER_SIZE;
            evl_batch bt;
            outcome ro, rw, dmg;
            if (v == 0)
                f->len = pos; /* the file cut */
            else
                memset(f->data + pos, 0, (size_t)(f->len - pos)); /* the tail zeroed */
            /*
             * The longest valid prefix: the whole batches of the damaged file.
             * It is read from the file after the cut, not before: zeroing a
             * tail whose bytes were zero already (a record ending in zeros)
             * leaves the batch across the cut whole, and recovery keeps it.
             */
            while (p < f->len && evl_batch_check(&bt, f->data + p, f->len - p) == EVL_OK &&
                   p + bt.length <= f->len) {
                want = bt.base_offset + bt.last_delta + 1;
                p += bt.length;
            }
            cr_assert_eq(pl_image_write_dir(cut, logdir), 0);
            pl_image_free(cut);
            cuts++;
            read_log(logdir, EVLOG_READ_ONLY, seed, end, &ro);
            read_log(logdir, 0, seed, end, &rw);
            if (ro.wrong || rw.wrong) {
                BROKEN("cut at %" PRIu64 " (%s): %s", pos, v ? "zeroed" : "truncated",
                               ro.wrong ? ro.what : rw.what);
            }
            if (p >= dpos) { /* the durable batches are whole */
                if (ro.open_rc || rw.open_rc || ro.iter_rc || rw.iter_rc || ro.end != want ||
                    rw.end != want) {
                    BROKEN("cut at %" PRIu64 " (%s) past the durable position %" PRIu64
                                   ": read-only %s/%s ends at %" PRIu64 ", writer %s/%s at %"
                                   PRIu64 "; the longest valid prefix ends at %" PRIu64, pos,
                                   v ? "zeroed" : "truncated", dpos, evlog_strerror(ro.open_rc),
                                   evlog_strerror(ro.iter_rc), ro.end, evlog_strerror(rw.open_rc),
                                   evlog_strerror(rw.iter_rc), rw.end, want);
                }
            } else {
                damaged++;
                if (ro.open_rc != EVLOG_ECORRUPT || rw.open_rc != EVLOG_ECORRUPT) {
                    BROKEN("cut at %" PRIu64 " (%s) before the durable position %" PRIu64
                                   ": open gave %s (read-only) and %s (writer), not "
                                   "EVLOG_ECORRUPT", pos, v ? "zeroed" : "truncated", dpos,
                                   evlog_strerror(ro.open_rc), evlog_strerror(rw.open_rc));
                }
                read_log(logdir, EVLOG_OPEN_DAMAGED, seed, end, &dmg);
                if (dmg.open_rc || dmg.wrong || dmg.end != want) {
                    BROKEN("cut at %" PRIu64 " (%s): EVLOG_OPEN_DAMAGED gave %s, end %"
                                   PRIu64 " (%s), the longest valid prefix ends at %" PRIu64,
                                   pos, v ? "zeroed" : "truncated", evlog_strerror(dmg.open_rc),
                                   dmg.end, dmg.what, want);
                }
            }
        }

    /* cuts of the sealed segments: reported, never silent */
    for (fi = 0; fi < img->n; fi++) {
        pl_file *sf = &img->files[fi];
        if (!evl_parse_name(sf->name, EVL_SEG_SUFFIX, &b) || b == lastbase)
            continue;
        for (pos = EVL_SEG_HEADER_SIZE + rw_mix(seed + fi) % (stride * 4); pos < sf->len;
             pos += stride * 4) {
            pl_image *cut = pl_image_dup(img);
            struct scan_count sc;
            outcome ro;
            pl_image_find(cut, sf->name)->len = pos;
            cr_assert_eq(pl_image_write_dir(cut, logdir), 0);
            pl_image_free(cut);
            cuts++;
            scan_dir(logdir, &sc);
            read_log(logdir, EVLOG_READ_ONLY, seed, end, &ro);
            if (ro.wrong || (!ro.open_rc && !ro.iter_rc && ro.end < end) || !sc.errors) {
                BROKEN("sealed %s cut at %" PRIu64 ": open %s, iteration %s, end %" PRIu64
                               ", verify errors %" PRIu64 " %s", sf->name, pos,
                               evlog_strerror(ro.open_rc), evlog_strerror(ro.iter_rc), ro.end,
                               sc.errors, ro.what);
            }
        }
    }
    fprintf(stderr, "tail cuts: %" PRIu64 " cuts (every %" PRIu64 " byte, truncated and zeroed; "
            "%" PRIu64 " before the durable point, reported), each recovering the longest valid "
            "prefix\n", cuts, stride, damaged);
    pl_image_free(img);
    report_broken("tail cuts");
}
