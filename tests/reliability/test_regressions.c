/*
 * test_regressions.c - one test per engine defect the reliability loops
 * found, reduced to the shortest sequence of calls that shows it. Each
 * names the loop and the seed that found it; docs/reliability.md lists them.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultio.h"
#include "format.h"
#include "plsim.h"
#include "relwork.h"

static char tmp[256], logdir[300];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/evrel-reg-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(logdir, sizeof logdir, "%s/log", tmp);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    (void)system(cmd);
}

TestSuite(regressions, .init = setup, .fini = teardown, .timeout = 60);

static void append_n(evlog *log, uint64_t seed, uint32_t gen, size_t n)
{
    static uint8_t bufs[16][RW_REC_MAX];
    evlog_record recs[16];
    uint64_t end = evlog_end_offset(log), first;
    size_t i;
    cr_assert_leq(n, 16);
    for (i = 0; i < n; i++)
        rw_record(seed, gen, end + i, &recs[i], bufs[i]);
    cr_assert_eq(evlog_append(log, recs, n, &first), 0, "%s", evlog_errmsg(log));
    cr_assert_eq(first, end);
}

/*
 * Found by power_loss (seed 1, crash point 1): a power loss before the
 * first segment reached the disk leaves an empty directory. A read-only
 * handle opens it (start = end = 0) but evlog_iter_new(log, 0) failed with
 * EVLOG_ERANGE "offset 0 is in no segment", although 0 <= 0 <= 0.
 */
Test(regressions, iterator_on_an_empty_read_only_log)
{
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record rec;
    cr_assert_eq(mkdir(logdir, 0755), 0);
    evlog_options_init(&o);
    o.flags = EVLOG_READ_ONLY;
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    cr_assert_eq(evlog_end_offset(log), 0);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0, "iter_new(0) on an empty log: %s",
                 evlog_errmsg(log));
    cr_assert_eq(evlog_iter_next(it, &rec), 0);
    evlog_iter_free(it);
    evlog_close(log);
}

/*
 * Found by power_loss.truncations under ASan (seed 2): truncate_back to an
 * offset inside a batch (not its first record) re-frames the batch's first
 * records. find_cut() in lib/truncate.c allocates room for
 * (offset - base) records but decodes one more record into that array
 * before it sees that the record is past the cut: a heap overflow of one
 * evlog_record, then a corrupted heap.
 */
Test(regressions, truncate_back_inside_a_batch)
{
    evlog_options o;
    evlog *log = NULL;
    rw_model m;
    char why[512];
    uint64_t x;
    evlog_options_init(&o);
    o.segment_bytes = 16384;
    for (x = 1; x < 6; x++) {
        teardown();
        setup();
        rw_model_init(&m, 7);
        cr_assert_eq(evlog_open(&log, logdir, &o), 0);
        m.gen = 1;
        append_n(log, 7, 1, 6); /* one batch, offsets 0..5 */
        rw_model_append(&m, 0, 6);
        cr_assert_eq(evlog_truncate_back(log, x), 0, "%s", evlog_errmsg(log));
        cr_assert_eq(evlog_end_offset(log), x);
        m.end = x;
        m.bstart[x] = x;
        m.acked = 0;
        cr_assert_eq(rw_check_log(&m, log, NULL, why, sizeof why), 0, "cut at %llu: %s",
                     (unsigned long long)x, why);
        cr_assert_eq(evlog_close(log), 0);
        cr_assert_eq(evlog_open(&log, logdir, &o), 0);
        m.start_lo = m.start_hi = 0;
        cr_assert_eq(rw_check_log(&m, log, NULL, why, sizeof why), 0, "after reopen: %s", why);
        evlog_close(log);
        rw_model_free(&m);
    }
}

/*-******************* over the simulators *******************/
/* 1 and *base for "<20 digits>.log". */
static int evl_parse_name_(const char *name, uint64_t *base)
{
    char *end;
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return 0;
    *base = strtoull(name, &end, 10);
    return end == name + 20;
}

#define SIMDIR "/reg/log"

/* The engine's sealer and pretoucher threads call the I/O layer too:
 * hooks take their captures one at a time. */
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct capture {
    plsim *sim;
    int armed;
    evrel_op op;
    pl_image *imgs[64];
    size_t n;
} capture;

/* At each call of `op` while armed, draw random crash states. */
static void capture_hook(plsim *s, evrel_op op, int phase, long rc, void *payload)
{
    capture *c = payload;
    (void)rc;
    if (op != c->op || phase != 0)
        return;
    pthread_mutex_lock(&hook_mu);
    while (c->armed && c->n < 64) {
        if (plsim_crash(s, SIMDIR, PL_CRASH_RANDOM, c->n * 7919 + 1, &c->imgs[c->n], NULL) != 0)
            break;
        c->n++;
        if (c->n % 32 == 0)
            break;
    }
    pthread_mutex_unlock(&hook_mu);
}

/*
 * Found by power_loss.always_sync_lz4 (seed 3, crash point 29, variant 2):
 * truncate_back to an offset inside a batch re-frames the batch's first
 * records in place (evl_finish_truncate, lib/truncate.c). A power loss
 * during that overwrite tears the batch. Commit c3592e5 journals the new
 * batch in truncate.pending first, and the writer's open now puts it back;
 * but a READ-ONLY open of the same state still fails with EVLOG_ECORRUPT
 * ("the checkpoint names durable records up to offset 7 but the log ends
 * at 3"), and `evlog verify` calls truncate.pending an unknown file and the
 * torn batch a torn tail "never made durable", though it holds durable
 * records [3, 7) that the next writer restores. Every crash state at that
 * overwrite must open, read-only and as the writer, with records [0, 7).
 */
Test(regressions, power_loss_while_truncate_back_reframes_a_batch)
{
    capture cap;
    plsim *sim = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    rw_model m;
    size_t i;
    memset(&cap, 0, sizeof cap);
    cap.op = EVREL_OP_MSYNC;
    plsim_set_hook(sim, capture_hook, &cap);
    evlog_options_init(&o);
    o.segment_bytes = 16384;
    o.sync_mode = EVLOG_SYNC_ALWAYS;
    o.io = plsim_io(sim);
    rw_model_init(&m, 9);
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    append_n(log, 9, 1, 3); /* 0..2 */
    append_n(log, 9, 1, 8); /* 3..10: the batch to cut */
    rw_model_append(&m, 0, 3);
    rw_model_append(&m, 3, 8);
    m.bstart[7] = 7;
    m.acked = 7; /* truncate_back(7) keeps 0..6 */
    m.gen = 2;
    cap.armed = 1;
    cr_assert_eq(evlog_truncate_back(log, 7), 0, "%s", evlog_errmsg(log));
    cap.armed = 0;
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_gt(cap.n, 0, "no msync during truncate_back");
    for (i = 0; i < cap.n; i++) {
        plsim *s2 = plsim_new();
        rw_model mc;
        rw_result res;
        int rc;
        cr_assert_eq(plsim_load(s2, SIMDIR, cap.imgs[i]), 0);
        cr_assert_eq(rw_model_copy(&mc, &m), 0);
        rc = rw_recover_check(&mc, SIMDIR, plsim_io(s2), NULL, &res);
        if (rc && getenv("EVLOG_REL_KEEP")) {
            char d[400];
            snprintf(d, sizeof d, "%s-%zu", getenv("EVLOG_REL_KEEP"), i);
            pl_image_write_dir(cap.imgs[i], d);
        }
        cr_expect_eq(rc, 0, "crash state %zu during truncate_back(7): %s: %s %s %s", i, res.call,
                     rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc), res.errmsg, res.why);
        rw_model_free(&mc);
        plsim_free(s2);
        pl_image_free(cap.imgs[i]);
    }
    rw_model_free(&m);
    plsim_free(sim);
}

/*
 * Found by fault_loop.enospc_once (seed 13, call 176): truncate_back into
 * an earlier (sealed) segment records its intent in the checkpoint, deletes
 * the later segments, then reopens the sealed segment for writing. When
 * that open fails (ENOSPC, EIO), truncate_back returns the error but the
 * handle goes on with its old end offset; evlog_close then syncs and writes
 * a checkpoint with no pending truncation and a durable offset past the
 * segments already deleted. The next open fails with EVLOG_ECORRUPT ("the
 * checkpoint names durable records up to offset N but the log ends at M"):
 * the log no longer opens. A failed truncation must leave a log that
 * opens: poison the handle, or keep the intent until it is finished.
 */
Test(regressions, truncate_back_failing_half_way_then_close)
{
    unsigned nth;
    for (nth = 1; nth <= 3; nth++) {
        plsim *sim = plsim_new();
        faultio *f = faultio_new(plsim_io(sim));
        evlog_options o;
        evlog *log = NULL;
        rw_model m;
        rw_result res;
        uint64_t end, x, seed;
        int rc, k;
        evlog_options_init(&o);
        o.segment_bytes = 16384;
        o.io = faultio_io(f);
        rw_model_init(&m, 10);
        cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
        for (k = 0; k < 40; k++) { /* several segments */
            end = evlog_end_offset(log);
            append_n(log, 10, 1, 4);
            rw_model_append(&m, end, 4);
        }
        cr_assert_eq(evlog_sync(log), 0);
        {
            /* the last batch of the last sealed segment: the cut deletes
             * the active segment and reopens the sealed one */
            pl_image *img = NULL;
            uint64_t last = 0, b;
            size_t i;
            cr_assert_eq(plsim_crash(sim, SIMDIR, PL_CRASH_KEEP_ALL, 0, &img, NULL), 0);
            for (i = 0; i < img->n; i++)
                if (evl_parse_name_(img->files[i].name, &b) && b > last)
                    last = b;
            pl_image_free(img);
            cr_assert_gt(last, 8, "no second segment");
            x = m.bstart[last - 1];
        }
        m.acked = x;
        m.gen = 2;
        /* the nth open of a file during the truncation fails */
        faultio_arm(f, nth, ENOSPC, 0, EVREL_OP_BIT(EVREL_OP_OPEN));
        rc = evlog_truncate_back(log, x);
        faultio_disarm(f);
        (void)evlog_close(log);
        if (rc == 0) {
            m.end = x;
            m.acked = x;
        }
        for (seed = 0; seed < 16; seed++) { /* a power loss after the close */
            plsim *s2 = plsim_new();
            pl_image *img = NULL;
            rw_model mc;
            cr_assert_eq(plsim_crash(sim, SIMDIR, seed ? PL_CRASH_RANDOM : PL_CRASH_KEEP_ALL,
                                     seed, &img, NULL), 0);
            cr_assert_eq(plsim_load(s2, SIMDIR, img), 0);
            cr_assert_eq(rw_model_copy(&mc, &m), 0);
            rc = rw_recover_check(&mc, SIMDIR, plsim_io(s2), NULL, &res);
            cr_expect_eq(rc, 0, "open %u of truncate_back(%llu) failed, then close; crash %llu: "
                         "%s: %s %s %s", nth, (unsigned long long)x, (unsigned long long)seed,
                         res.call, rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc),
                         res.errmsg, res.why);
            rw_model_free(&mc);
            pl_image_free(img);
            plsim_free(s2);
        }
        rw_model_free(&m);
        faultio_free(f);
        plsim_free(sim);
    }
}

/* At each sync or directory call, the state a process crash leaves. */
static void keep_all_hook(plsim *s, evrel_op op, int phase, long rc, void *payload)
{
    capture *c = payload;
    (void)rc;
    (void)phase;
    if (!(EVREL_OP_BIT(op) & (EVREL_OPS_SYNC | EVREL_OPS_DIR | EVREL_OP_BIT(EVREL_OP_OPEN))))
        return;
    pthread_mutex_lock(&hook_mu);
    if (c->armed && c->n < 64 &&
        plsim_crash(s, SIMDIR, PL_CRASH_KEEP_ALL, 0, &c->imgs[c->n], NULL) == 0)
        c->n++;
    pthread_mutex_unlock(&hook_mu);
}

/*
 * Found by kill9 (seed 21, cycle 1): a kill -9 during a roll. A roll
 * creates the next segment and hands the previous one to the sealer thread,
 * which writes its footer later; a crash in between leaves a non-last
 * segment without a footer, followed by the new segment (valid, or not yet
 * written: empty or with an all-zero header). The writer's open handles
 * both (recover.c seals the previous segment, or removes the unfinished
 * one), and loses nothing. But evlog_scan (lib/inspect_segment.c, the
 * footer check of each segment) reports "segment_footer: no footer" with
 * EVLOG_SEV_ERROR, so `evlog verify` calls corrupt a state every kill
 * during a roll can leave. docs/format.md's recovery rule 2 says the same
 * and needs the same update.
 */
Test(regressions, verify_after_a_kill_during_a_roll)
{
    capture cap;
    plsim *sim = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    size_t i, bad = 0;
    char why[600], first[700] = "";
    int k;
    memset(&cap, 0, sizeof cap);
    plsim_set_hook(sim, keep_all_hook, &cap);
    evlog_options_init(&o);
    o.segment_bytes = 16384;
    o.io = plsim_io(sim);
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    for (k = 0; k < 14; k++)
        append_n(log, 11, 1, 4);
    cap.armed = 1;
    for (k = 0; k < 14; k++) /* the roll happens among these */
        append_n(log, 11, 1, 4);
    cap.armed = 0;
    cr_assert_eq(evlog_close(log), 0);
    for (i = 0; i < cap.n; i++) {
        cr_assert_eq(pl_image_write_dir(cap.imgs[i], logdir), 0);
        if (rw_verify_dir(logdir, why, sizeof why) != 0) {
            evlog_options ro;
            evlog *l2 = NULL;
            evlog_options_init(&ro);
            ro.flags = EVLOG_READ_ONLY;
            if (evlog_open(&l2, logdir, &ro) == 0) { /* the library has no complaint */
                if (!bad++)
                    snprintf(first, sizeof first, "state %zu: %s", i, why);
                evlog_close(l2);
            }
        }
        pl_image_free(cap.imgs[i]);
    }
    cr_assert_eq(bad, 0, "%zu of %zu process-crash states during a roll open fine but verify "
                 "reports an error; first: %s", bad, cap.n, first);
    plsim_free(sim);
}

struct problems {
    uint64_t n;
};

static int count_problems(const evlog_scan_event *ev, void *payload)
{
    if (ev->kind == EVLOG_EV_PROBLEM)
        ((struct problems *)payload)->n++;
    return 0;
}

/*
 * Found by corrupt.every_byte_flipped (seed 31): a byte flipped anywhere in
 * a written checkpoint slot (magic, seq, offsets, checksum) goes unnoticed:
 * evlog_open falls back to the other slot, as designed, but evlog_scan
 * (lib/inspect.c) reports no problem either, so `evlog verify` passes a
 * log whose checkpoint is damaged. A slot that fails its checksum should be
 * reported (a CHECKPOINT warning: a torn write of a slot is also what a
 * power loss during a checkpoint write leaves).
 */
Test(regressions, verify_reports_a_damaged_checkpoint_slot)
{
    evlog_options o;
    evlog *log = NULL;
    char path[400];
    unsigned slot, missed = 0, tried = 0;
    evlog_options_init(&o);
    o.segment_bytes = 16384;
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    append_n(log, 12, 1, 3);
    cr_assert_eq(evlog_sync(log), 0);
    append_n(log, 12, 1, 3);
    cr_assert_eq(evlog_close(log), 0); /* both slots written by now */
    snprintf(path, sizeof path, "%s/checkpoint", logdir);
    for (slot = 0; slot < 2; slot++) {
        static const unsigned at[] = {0, 17, 30, 121};
        unsigned i;
        for (i = 0; i < 4; i++) {
            struct problems p = {0};
            int fd = open(path, O_RDWR);
            uint8_t b;
            off_t off = (off_t)(slot * 128 + at[i]);
            cr_assert_geq(fd, 0);
            cr_assert_eq(pread(fd, &b, 1, off), 1);
            b ^= 0x10;
            cr_assert_eq(pwrite(fd, &b, 1, off), 1);
            cr_assert_eq(evlog_scan(logdir, 0, count_problems, &p), 0);
            tried++;
            missed += p.n == 0;
            b ^= 0x10;
            cr_assert_eq(pwrite(fd, &b, 1, off), 1);
            close(fd);
        }
    }
    cr_assert_eq(missed, 0, "%u of %u checkpoint flips not reported by evlog_scan", missed, tried);
}

/*
 * Found by fuzz_batch: a record whose attribute byte says neither key nor
 * value (0). docs/format.md: "A record without a key always has a value";
 * the encoder never writes one, but evl_records_check and evl_cursor_next
 * (lib/batch.c) accept it, and the iterator hands it out with key NULL and
 * value NULL, which the public API reserves for... nothing (a tombstone has
 * a key). A batch holding one must fail its records check
 * (fuzz/regressions/batch-record-without-key-or-value).
 */
Test(regressions, record_without_key_or_value_is_invalid)
{
    uint8_t payload[] = {0x00, 0x00, 0x00,          /* attr 0, delta 0, ts 0 */
                         0x02, 0x01, 0x00, 0x00};   /* attr value, delta 1, ts 0, len 0 */
    uint8_t batch[EVL_BATCH_HEADER_SIZE + sizeof payload];
    evl_batch h, chk;
    memset(&h, 0, sizeof h);
    h.base_offset = 0;
    h.count = 2;
    h.last_delta = 1;
    h.first_ts = h.max_ts = 5;
    evl_batch_seal(batch, &h, payload, sizeof payload, 0);
    cr_assert_eq(evl_batch_check(&chk, batch, sizeof batch), EVL_OK);
    cr_assert_neq(evl_records_check(&chk, batch + EVL_BATCH_HEADER_SIZE, sizeof payload), EVL_OK,
                  "a record with neither key nor value passed the records check");
}

/*
 * Found by fuzz_open (fuzz/regressions/open-damaged-refresh-past-damage): a
 * log whose first segment's footer disagrees with the next segment's base.
 * evlog_open fails with EVLOG_ECORRUPT as it should; EVLOG_OPEN_DAMAGED
 * opens "up to the damage" with end offset 0, but the first evlog_iter_next
 * refreshes the read-only view (evl_refresh, lib/iter.c) and the end moves
 * to 131: the damaged handle returns records past the damage it reported.
 */
/* The image of fuzz/regressions/`name`, in the container of
 * fuzz/fuzz_container.h. */
static pl_image *fuzz_image(const char *name)
{
    char path[512];
    FILE *f;
    static uint8_t d[1 << 20];
    size_t n, pos = 0;
    pl_image *img = pl_image_new();
    snprintf(path, sizeof path, "%s/fuzz/regressions/%s", EVREL_SOURCE_ROOT, name);
    cr_assert_not_null(f = fopen(path, "rb"));
    n = fread(d, 1, sizeof d, f);
    fclose(f);
    while (pos + 9 <= n) {
        uint32_t base, len;
        char fname[96];
        unsigned kind = d[pos];
        memcpy(&base, d + pos + 1, 4);
        memcpy(&len, d + pos + 5, 4);
        pos += 9;
        if (len > n - pos)
            len = (uint32_t)(n - pos);
        if (kind % 4 == 0)
            snprintf(fname, sizeof fname, "%020u.log", base);
        else if (kind % 4 == 1)
            snprintf(fname, sizeof fname, "%020u.index", base);
        else if (kind % 4 == 2)
            snprintf(fname, sizeof fname, "checkpoint");
        else
            snprintf(fname, sizeof fname, "lock");
        pl_image_put(img, fname, d + pos, len);
        pos += len;
    }
    return img;
}

Test(regressions, open_damaged_stays_before_the_damage)
{
    pl_image *img = fuzz_image("open-damaged-refresh-past-damage");
    plsim *sim = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record r;
    uint64_t end;
    int rc, k = 0;
    cr_assert_eq(plsim_load(sim, SIMDIR, img), 0);
    evlog_options_init(&o);
    o.segment_bytes = 4096;
    o.io = plsim_io(sim);
    o.flags = EVLOG_OPEN_DAMAGED;
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    end = evlog_end_offset(log);
    cr_assert_eq(evlog_iter_new(&it, log, evlog_start_offset(log)), 0);
    while ((rc = evlog_iter_next(it, &r)) == 1 && k++ < 1000)
        cr_expect_lt(r.offset, end, "record %llu returned past the end %llu of a damaged open",
                     (unsigned long long)r.offset, (unsigned long long)end);
    evlog_iter_free(it);
    evlog_close(log);
    pl_image_free(img);
    plsim_free(sim);
}

/* The records of a log read from its start, as one digest; the count in
 * *n. Returns 0, or the error that stopped the reading. */
static int digest_log(const char *dir, unsigned flags, uint64_t *n, uint64_t *digest,
                      uint64_t *end)
{
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record r;
    int rc;
    *n = *digest = *end = 0;
    evlog_options_init(&o);
    o.flags = flags;
    o.segment_bytes = 16384;
    if ((rc = evlog_open(&log, dir, &o)) != 0)
        return rc;
    *end = evlog_end_offset(log);
    if ((rc = evlog_iter_new(&it, log, evlog_start_offset(log))) == 0) {
        while ((rc = evlog_iter_next(it, &r)) == 1) {
            uint64_t h = r.offset * 31 + (uint64_t)r.timestamp, i;
            for (i = 0; i < r.value_len; i++)
                h = h * 131 + ((const uint8_t *)r.value)[i];
            *digest = rw_mix(*digest ^ h);
            (*n)++;
        }
        evlog_iter_free(it);
    }
    evlog_close(log);
    return rc;
}

/* Put the crash state kept in tests/reliability/states/`name` in logdir. */
static void load_state(const char *name)
{
    pl_image *img = NULL;
    char src[512];
    snprintf(src, sizeof src, "%s/tests/reliability/states/%s", EVREL_SOURCE_ROOT, name);
    cr_assert_eq(pl_image_read_dir(&img, src), 0, "cannot read %s", src);
    cr_assert_eq(pl_image_write_dir(img, logdir), 0);
    pl_image_free(img);
}

/*
 * Found by power_loss.truncations (seed 4109721661, crash point 131, after
 * an fsync, the state where nothing unsynced survived); the state is kept
 * in tests/reliability/states/stale-truncate-pending. Its checkpoint holds a
 * pending truncation to 64 (the log's durable end is 63), and a
 * truncate.pending left by an EARLIER truncation inside a batch (segment 0,
 * position 12060: a batch of offset 50 alone; its removal was never made
 * durable by a directory sync). A read-only open reads offsets 17..62
 * fine. The writer's open (c3592e5: "with a truncation pending, a writer
 * whose side file is whole writes its batch back at its position") writes
 * that stale batch over the live batches at 12060: durable records 51..62
 * are destroyed on disk, and the open fails with EVLOG_ECORRUPT ("corrupt
 * at byte 12523 (offset 51): batch length out of limits"). The side file
 * must name the truncation it belongs to and be checked against the
 * checkpoint (and its removal be synced before a later intent).
 */
Test(regressions, stale_truncate_pending_is_not_written_back)
{
    uint64_t n0, d0, e0, n1, d1, e1;
    int rc;
    load_state("stale-truncate-pending");
    cr_assert_eq(digest_log(logdir, EVLOG_READ_ONLY, &n0, &d0, &e0), 0);
    cr_assert_eq(e0, 63);
    rc = digest_log(logdir, 0, &n1, &d1, &e1);
    cr_assert_eq(rc, 0, "the writer's open: %s", evlog_strerror(rc));
    cr_assert_eq(e1, e0, "the writer lost offsets %llu..%llu", (unsigned long long)e1,
                 (unsigned long long)e0);
    cr_assert(n1 == n0 && d1 == d0, "the writer's recovery changed the durable records");
}

/*
 * Found by power_loss.truncations in the long run of the fourth session
 * (seed 20261201): a state crashed again during its own recovery, at the
 * recovery's eighth crash point (after an unlink, everything written
 * kept); the state is kept in tests/reliability/states/
 * truncation-segment-removed. The recovery had found the log ending below
 * its start offset, 19, so it was starting the log afresh there (rule 7 of
 * docs/format.md): it had removed every segment, and crashed before the
 * checkpoint of the new log was written. Left: a checkpoint with a
 * truncation pending to 42, the truncate.pending of that truncation
 * (segment 0, byte 7822, offsets 21..41), and no segment at all. Every
 * writer's open then failed with EVLOG_EIO ("cannot restore the batch cut
 * by a truncation: No such file or directory"): the log could never be
 * written again. Nothing in the side copy was durable (the checkpoint's
 * durable offset is 0). A segment that is gone now means there is nothing
 * to put back: the open starts the log at 19 and removes the stale copy.
 */
Test(regressions, truncation_pending_on_a_segment_a_recovery_removed)
{
    char side[600];
    uint64_t n0, d0, e0, n1, d1, e1;
    int rc;
    load_state("truncation-segment-removed");
    cr_assert_eq(digest_log(logdir, EVLOG_READ_ONLY, &n0, &d0, &e0), 0);
    cr_assert(n0 == 0 && e0 == 19, "read-only: %llu records, end %llu", (unsigned long long)n0,
              (unsigned long long)e0);
    rc = digest_log(logdir, 0, &n1, &d1, &e1);
    cr_assert_eq(rc, 0, "the writer's open: %s", evlog_strerror(rc));
    cr_assert(n1 == 0 && e1 == 19, "writer: %llu records, end %llu", (unsigned long long)n1,
              (unsigned long long)e1);
    snprintf(side, sizeof side, "%s/truncate.pending", logdir);
    cr_assert_neq(access(side, F_OK), 0, "the stale truncate.pending is still there");
    /* and the log takes appends at 19 */
    {
        evlog_options o;
        evlog *log = NULL;
        evlog_record r;
        uint64_t first = 0;
        memset(&r, 0, sizeof r);
        r.value = "after";
        r.value_len = 5;
        evlog_options_init(&o);
        cr_assert_eq(evlog_open(&log, logdir, &o), 0);
        cr_assert_eq(evlog_append(log, &r, 1, &first), 0);
        cr_assert_eq(first, 19);
        cr_assert_eq(evlog_close(log), 0);
    }
    cr_assert_eq(digest_log(logdir, EVLOG_READ_ONLY, &n1, &d1, &e1), 0);
    cr_assert(n1 == 1 && e1 == 20, "after an append: %llu records, end %llu",
              (unsigned long long)n1, (unsigned long long)e1);
}

/* `evlog verify` of `dir` (rw_verify_dir) finds no error, and no index
 * problem of any severity either: an index is a cache, so verify calls a
 * stale one a warning, but the engine must leave none after a clean
 * shutdown. 0, or -1 with the first problem in `why`. */
struct index_check {
    char *why;
    size_t len;
    uint64_t problems;
};

static int index_problem_cb(const evlog_scan_event *ev, void *payload)
{
    struct index_check *c = payload;
    if (ev->kind == EVLOG_EV_PROBLEM && ev->problem->code == EVLOG_PROBLEM_INDEX &&
        c->problems++ == 0)
        snprintf(c->why, c->len, "index problem in %s at %llu: %s",
                 ev->problem->file ? ev->problem->file : "-",
                 (unsigned long long)ev->problem->pos,
                 ev->problem->reason ? ev->problem->reason : "");
    return 0;
}

static int verify_no_stale_index(const char *dir, char *why, size_t len)
{
    struct index_check c = {why, len, 0};
    if (rw_verify_dir(dir, why, len) != 0)
        return -1;
    if (evlog_scan(dir, EVLOG_SCAN_RECORDS | EVLOG_SCAN_ENTRIES, index_problem_cb, &c) != 0) {
        snprintf(why, len, "evlog_scan(%s) failed", dir);
        return -1;
    }
    return c.problems ? -1 : 0;
}

/*
 * Found by power_loss.truncations (seed 2, run 1, crash point 123): a
 * truncate_back inside an LZ4 batch re-frames its first records
 * uncompressed (find_cut), and the new batch may be longer than the old
 * one: it covers batches that had index entries. evl_finish_truncate cut
 * the index in memory at the end of the new batch, so those entries stayed
 * (pointing inside it), and the index file, never rewritten after a cut,
 * kept them too: `evlog verify` of the closed log reported "no valid batch
 * at the position". After a cut, no index may name a position inside or
 * past it.
 */
Test(regressions, truncate_back_reframing_an_lz4_batch_keeps_the_index_valid)
{
    static uint8_t keys[12][40], zeros[1024], other[300];
    evlog_record recs[12];
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record r;
    uint64_t st = 77, o0, n = 0;
    char why[600];
    size_t i, j;

    for (i = 0; i < 12; i++)
        for (j = 0; j < sizeof keys[i]; j++)
            keys[i][j] = (uint8_t)rw_rand(&st);
    for (j = 0; j < sizeof other; j++)
        other[j] = (uint8_t)rw_rand(&st);
    evlog_options_init(&o);
    o.segment_bytes = 65536;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o.compression = EVLOG_COMPRESS_LZ4;
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    /* 0..11: about 12 KiB of records that LZ4 takes to a few hundred bytes */
    memset(recs, 0, sizeof recs);
    for (i = 0; i < 12; i++) {
        recs[i].key = keys[i];
        recs[i].key_len = sizeof keys[i];
        recs[i].value = zeros;
        recs[i].value_len = sizeof zeros;
        recs[i].timestamp = 1000 + (int64_t)i;
    }
    cr_assert_eq(evlog_append(log, recs, 12, &o0), 0, "%s", evlog_errmsg(log));
    /* 12..14: incompressible, one batch each; the first lies more than an
     * index interval after the first batch, so it has an entry */
    for (i = 0; i < 3; i++) {
        recs[0].key = NULL;
        recs[0].key_len = 0;
        recs[0].value = other;
        recs[0].value_len = sizeof other;
        cr_assert_eq(evlog_append(log, recs, 1, &o0), 0, "%s", evlog_errmsg(log));
    }
    /* the index file names 12's batch */
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    /* keep 0..5: six records re-framed uncompressed, over 12..14 */
    cr_assert_eq(evlog_truncate_back(log, 6), 0, "%s", evlog_errmsg(log));
    /* what a process crash now would leave, then a clean close */
    cr_assert_eq(verify_no_stale_index(logdir, why, sizeof why), 0, "after the cut: %s", why);
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_eq(verify_no_stale_index(logdir, why, sizeof why), 0, "after the cut and a close: %s",
                 why);

    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    cr_assert_eq(evlog_end_offset(log), 6);
    cr_assert_eq(evlog_iter_new(&it, log, 5), 0); /* a seek uses the index */
    while (evlog_iter_next(it, &r) == 1)
        n++;
    cr_assert_eq(n, 1);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_eq(verify_no_stale_index(logdir, why, sizeof why), 0, "after a reopen: %s", why);
}

/*
 * The crash state of the same run (the one a process crash leaves, during
 * the roll from segment 159 to 192), kept in
 * tests/reliability/states/stale-index-after-truncation: 159.index is the
 * one written before the truncation above, with an entry (180, 4611) that
 * now points inside the re-framed batch at 4300. An index is a cache and is
 * not synced, so a power loss can leave one like this whatever the engine
 * wrote after the cut. The writer's open finishes sealing 159 and read the
 * index to start its scan, but kept the file: after a clean close `evlog
 * verify` still reported "no valid batch at the position". A writer's
 * recovery must rewrite an index that disagrees with the segment it scans.
 */
Test(regressions, recovery_rewrites_a_stale_index)
{
    char why[600];
    uint64_t n0, d0, e0, n1, d1, e1;
    int rc;
    load_state("stale-index-after-truncation");
    cr_assert_eq(digest_log(logdir, EVLOG_READ_ONLY, &n0, &d0, &e0), 0);
    rc = digest_log(logdir, 0, &n1, &d1, &e1);
    cr_assert_eq(rc, 0, "the writer's open: %s", evlog_strerror(rc));
    cr_assert(n1 == n0 && d1 == d0 && e1 == e0, "the writer's recovery changed the records");
    cr_assert_eq(verify_no_stale_index(logdir, why, sizeof why), 0,
                 "after recovery and a close: %s", why);
}

/*
 * Found while checking the truncation's rewrite for the defects above (a
 * probe, not a loop): truncate_back into a sealed segment that was created
 * with a larger segment_bytes than the handle has now. reopen_sealed gave
 * the segment the capacity max(its size, segment_bytes), its sealed size,
 * so (1) the file still ended with its footer while its batch was
 * rewritten: in every crash state from the sync of truncate.pending to the
 * end of the cut, recovery saw a sealed segment, put the batch back from
 * truncate.pending and took the rest of the old batch for damage
 * (EVLOG_ECORRUPT "truncated batch ... before the durable point"): the log
 * no longer opened; (2) an LZ4 batch re-framed uncompressed may need more
 * room than is left: the copy ran past the mapping (SIGSEGV, or a failed
 * msync and a truncation that every later open failed to finish).
 */
typedef struct every_sync {
    int armed;
    pl_image *imgs[256];
    size_t n;
} every_sync;

/* At each sync or directory call while armed: the states where nothing
 * unsynced survived, all of it did, and one drawn at random. */
static void every_sync_hook(plsim *s, evrel_op op, int phase, long rc, void *payload)
{
    every_sync *c = payload;
    int mode;
    (void)rc;
    if (!(EVREL_OP_BIT(op) & (EVREL_OPS_SYNC | EVREL_OPS_DIR)))
        return;
    pthread_mutex_lock(&hook_mu);
    for (mode = PL_CRASH_LOSE_ALL; c->armed && mode <= PL_CRASH_RANDOM && c->n < 256; mode++)
        if (plsim_crash(s, SIMDIR, mode, c->n * 7 + (unsigned)phase, &c->imgs[c->n], NULL) == 0)
            c->n++;
    pthread_mutex_unlock(&hook_mu);
}

/* Record `o` of this test: a random key of 40 bytes and 400 zero bytes,
 * which LZ4 takes to about a quarter. */
static void big_cut_record(uint64_t o, evlog_record *r, uint8_t key[40])
{
    static const uint8_t zeros[400];
    uint64_t st = o * 2654435761u + 1;
    size_t j;
    for (j = 0; j < 40; j++)
        key[j] = (uint8_t)rw_rand(&st);
    memset(r, 0, sizeof *r);
    r->key = key;
    r->key_len = 40;
    r->value = zeros;
    r->value_len = sizeof zeros;
    r->timestamp = (int64_t)o + 1;
}

/* Open `img` with `flags`: every record from 0 to the end must be the one
 * appended, and the end at least `keep`. Returns the end, or -1 after a
 * failed expectation. */
static int64_t big_cut_check(const pl_image *img, unsigned flags, uint64_t keep, size_t state)
{
    plsim *s2 = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record r, want;
    uint8_t key[40];
    uint64_t n = 0, end;
    char eb[512] = "";
    int rc;
    cr_assert_eq(plsim_load(s2, SIMDIR, img), 0);
    evlog_options_init(&o);
    o.io = plsim_io(s2);
    o.segment_bytes = 16384;
    o.flags = flags;
    rc = evlog_open_ex(&log, SIMDIR, &o, eb, sizeof eb);
    cr_expect_eq(rc, 0, "state %zu, %s open: %s %s", state, flags ? "read-only" : "writer's",
                 evlog_strerror(rc), eb);
    if (rc) {
        plsim_free(s2);
        return -1;
    }
    end = evlog_end_offset(log);
    cr_assert_eq(evlog_iter_new(&it, log, 0), 0);
    while ((rc = evlog_iter_next(it, &r)) == 1) {
        big_cut_record(n, &want, key);
        cr_assert(r.offset == n && r.key_len == 40 && !memcmp(r.key, want.key, 40) &&
                      r.value_len == want.value_len && r.timestamp == want.timestamp,
                  "state %zu: record %llu is not the one appended", state, (unsigned long long)n);
        n++;
    }
    cr_expect(rc == 0 && n == end && end >= keep, "state %zu, %s open: %llu records to the end "
              "%llu (%d), %llu kept by the cut", state, flags ? "read-only" : "writer's",
              (unsigned long long)n, (unsigned long long)end, rc, (unsigned long long)keep);
    evlog_iter_free(it);
    evlog_close(log);
    plsim_free(s2);
    return (int64_t)end;
}

static void truncate_into_a_larger_segment(int compression)
{
    static every_sync cap;
    evlog_record recs[30];
    uint8_t keys[30][40];
    plsim *sim = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    uint64_t last = 0, first, x;
    size_t i;
    int k;

    memset(&cap, 0, sizeof cap);
    plsim_set_hook(sim, every_sync_hook, &cap);
    evlog_options_init(&o);
    o.io = plsim_io(sim);
    o.segment_bytes = 65536;
    o.sync_mode = EVLOG_SYNC_ALWAYS;
    o.compression = compression;
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    for (k = 0; k < 400; k++) { /* batches of 30 until one goes to a second segment */
        uint64_t end = evlog_end_offset(log), b;
        pl_image *img = NULL;
        size_t segs = 0;
        for (i = 0; i < 30; i++)
            big_cut_record(end + i, &recs[i], keys[i]);
        cr_assert_eq(evlog_append(log, recs, 30, &first), 0, "%s", evlog_errmsg(log));
        cr_assert_eq(plsim_crash(sim, SIMDIR, PL_CRASH_KEEP_ALL, 0, &img, NULL), 0);
        for (i = 0; i < img->n; i++)
            segs += evl_parse_name_(img->files[i].name, &b);
        pl_image_free(img);
        if (segs > 1)
            break;
        last = end; /* the last batch of segment 0 so far */
    }
    cr_assert_eq(evlog_close(log), 0);
    /* the same log, opened with a smaller segment_bytes */
    o.segment_bytes = 16384;
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    x = last + 10; /* inside segment 0's last batch */
    cap.armed = 1;
    cr_assert_eq(evlog_truncate_back(log, x), 0, "%s", evlog_errmsg(log));
    cap.armed = 0;
    cr_assert_eq(evlog_end_offset(log), x);
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_gt(cap.n, 20);
    for (i = 0; i < cap.n; i++) {
        (void)big_cut_check(cap.imgs[i], EVLOG_READ_ONLY, x, i);
        (void)big_cut_check(cap.imgs[i], 0, x, i);
        pl_image_free(cap.imgs[i]);
    }
    plsim_free(sim);
}

Test(regressions, truncate_back_into_a_segment_created_larger)
{
    truncate_into_a_larger_segment(EVLOG_COMPRESS_NONE);
}

Test(regressions, truncate_back_into_a_segment_created_larger_lz4)
{
    truncate_into_a_larger_segment(EVLOG_COMPRESS_LZ4);
}

/* The bytes of file `name` of the log, read whole; its size in *n. */
static uint8_t *slurp(const char *name, size_t *n)
{
    char path[600];
    struct stat st;
    uint8_t *buf;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", logdir, name);
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    cr_assert_not_null(buf = malloc((size_t)st.st_size + 1));
    cr_assert_not_null(f = fopen(path, "rb"));
    *n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    cr_assert_eq(*n, (size_t)st.st_size);
    return buf;
}

/*
 * Found by corrupt.every_cut_of_the_tail (CI, stride 13): the active
 * segment cut short before its durable point. The writer's open mapped it
 * for the scan at its capacity, which preallocated the file back to full
 * size (and synced it) before the scan found the damage: the open failed
 * with EVLOG_ECORRUPT as it should, but had changed the file. The cut was
 * then seen as zeros instead of as a short file, and a batch whose last
 * byte was a zero came back whole. An open that fails must leave every
 * file as it found it.
 */
Test(regressions, failed_open_leaves_a_cut_segment_as_it_was)
{
    static const char seg[] = "00000000000000000000.log";
    char path[600];
    evlog_options o;
    evlog *log = NULL;
    uint8_t *before, *after;
    size_t nb, na;
    int i;

    evlog_options_init(&o);
    o.segment_bytes = 65536;
    cr_assert_eq(evlog_open(&log, logdir, &o), 0);
    for (i = 0; i < 8; i++)
        append_n(log, 17, 1, 10);
    cr_assert_eq(evlog_sync(log), 0);
    evlog_close(log);

    /* cut the file in the middle of its durable batches */
    snprintf(path, sizeof path, "%s/%s", logdir, seg);
    free(before = slurp(seg, &nb));
    cr_assert_eq(nb, 65536, "the active segment is preallocated to its capacity");
    cr_assert_eq(truncate(path, 2000), 0);
    before = slurp(seg, &nb);

    for (i = 0; i < 2; i++) { /* the writer, then a read-only handle */
        o.flags = i ? EVLOG_READ_ONLY : 0;
        cr_assert_eq(evlog_open(&log, logdir, &o), EVLOG_ECORRUPT,
                     "a segment cut before its durable point opened");
        evlog_close(log);
        log = NULL;
        after = slurp(seg, &na);
        cr_assert_eq(na, nb, "a failed open changed the size of the segment from %zu to %zu",
                     nb, na);
        cr_assert(memcmp(before, after, nb) == 0, "a failed open changed the segment's bytes");
        free(after);
    }
    free(before);
}

/* evlog_repair callback: counts the batches written back from
 * truncate.pending. */
static void count_restores(const evlog_repair_action *a, void *payload)
{
    if (a->kind == EVLOG_ACT_RESTORE_BATCH)
        (*(int *)payload)++;
}

/*
 * Not a defect a loop found, but the repair side of defect 5: a power loss
 * while truncate_back rewrites a batch in place leaves that batch torn and
 * its new copy in truncate.pending, bound to the checkpoint that recorded
 * the truncation (its seq). `evlog repair` left that copy to the next
 * writer's open, so a repaired log still depended on it, and a checkpoint
 * repair wrote anew (whose seq no longer names the file) would have
 * orphaned it. Repair now writes the batch back first, as a writer's open
 * does, and scans the log again. Every crash state of the rewrite, with its
 * batch torn and a sealed segment's footer zeroed besides, must repair and
 * then open with records [0, cut), nothing lost.
 */
Test(regressions, repair_during_a_truncation_keeps_its_batch)
{
    capture cap;
    plsim *sim = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    rw_model m;
    uint64_t end = 0, cut;
    size_t i, restored_states = 0;
    memset(&cap, 0, sizeof cap);
    cap.op = EVREL_OP_MSYNC;
    plsim_set_hook(sim, capture_hook, &cap);
    evlog_options_init(&o);
    o.segment_bytes = 16384;
    o.sync_mode = EVLOG_SYNC_ALWAYS;
    o.io = plsim_io(sim);
    rw_model_init(&m, 17);
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    while (end < 600) { /* rolls: sealed segments with footers */
        append_n(log, 17, 1, 4);
        rw_model_append(&m, end, 4);
        end += 4;
    }
    append_n(log, 17, 1, 8); /* the batch to cut, in the active segment */
    rw_model_append(&m, end, 8);
    cut = end + 5;
    m.bstart[cut] = cut;
    m.acked = cut;
    m.gen = 2;
    cap.armed = 1;
    cr_assert_eq(evlog_truncate_back(log, cut), 0, "%s", evlog_errmsg(log));
    cap.armed = 0;
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_gt(cap.n, 0, "no msync during truncate_back");
    for (i = 0; i < cap.n; i++) {
        pl_image *img = cap.imgs[i];
        pl_file *first = pl_image_find(img, "00000000000000000000.log");
        evlog_repair_result rr;
        rw_model mc;
        rw_result res;
        int rc, restores = 0;
        cr_assert_not_null(first);
        cr_assert_not_null(pl_image_find(img, EVL_SIDE_NAME),
                           "state %zu: no truncate.pending during the rewrite", i);
        /* the rewrite torn, whatever this state drew for its page: the
         * batch's checksum half old, half new, as a torn sector leaves it */
        {
            pl_file *side = pl_image_find(img, EVL_SIDE_NAME), *seg;
            char name[EVL_NAME_MAX];
            uint64_t pos;
            cr_assert_geq(side->len, EVL_SIDE_HEADER_SIZE);
            evl_name(name, evl_ld64(side->data + 16), EVL_SEG_SUFFIX);
            pos = evl_ld64(side->data + 24);
            cr_assert_not_null(seg = pl_image_find(img, name));
            cr_assert_lt(pos + 8, seg->len);
            seg->data[pos + 3] ^= 0x5a;
        }
        /* something else for repair to fix: the first segment's footer */
        cr_assert_gt(first->len, EVL_FOOTER_SIZE);
        memset(first->data + first->len - EVL_FOOTER_SIZE, 0, EVL_FOOTER_SIZE);
        cr_assert_eq(pl_image_write_dir(img, logdir), 0);
        if (i == 0 && getenv("EVLOG_REL_KEEP"))
            pl_image_write_dir(img, getenv("EVLOG_REL_KEEP"));
        rc = evlog_repair(&rr, logdir, 0, count_restores, &restores);
        cr_expect_eq(rc, 0, "crash state %zu: evlog_repair: %s", i, evlog_strerror(rc));
        restored_states += restores > 0;
        cr_assert_eq(rw_model_copy(&mc, &m), 0);
        rc = rw_recover_check(&mc, logdir, NULL, NULL, &res);
        cr_expect_eq(rc, 0, "crash state %zu during truncate_back(%llu), then repair: %s: %s %s %s",
                     i, (unsigned long long)cut, res.call,
                     rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc), res.errmsg, res.why);
        rw_model_free(&mc);
        pl_image_free(img);
    }
    /* the states include a torn batch to write back, or this proves nothing */
    cr_assert_gt(restored_states, 0, "none of %zu crash states had a torn batch to restore",
                 cap.n);
    rw_model_free(&m);
    plsim_free(sim);
}

/*
 * Found by fuzz_open in the long run (30 minutes, seed 20261127): a log
 * whose sealed segment 0 ends at offset 68 is followed by a stray segment 1
 * (its header invalid) and by a segment 68. A read-only open stops at the
 * gap after segment 0, as a writer's open would (it removes what follows:
 * never durable), and reports the end 68. But its iterator then followed
 * "a writer" (evl_refresh) into the stale segment 68 and returned records
 * 68..87, past the end it had reported, from a file the next writer
 * deletes. The read-only open now remembers that file by its header's
 * checksum and never follows into it; a segment a writer creates under the
 * same name has another creation time, so another checksum.
 */
Test(regressions, read_only_handle_never_follows_into_a_stale_segment)
{
    pl_image *img = fuzz_image("read-only-refresh-into-stale-segment");
    plsim *sim = plsim_new();
    evlog_options o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record r;
    uint64_t end, next = 0;
    int rc;
    cr_assert_eq(plsim_load(sim, SIMDIR, img), 0);
    evlog_options_init(&o);
    o.segment_bytes = 4096;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o.io = plsim_io(sim);
    o.flags = EVLOG_READ_ONLY;
    cr_assert_eq(evlog_open(&log, SIMDIR, &o), 0);
    end = evlog_end_offset(log);
    cr_assert_eq(end, 68, "the read-only open ends at %llu", (unsigned long long)end);
    cr_assert_eq(evlog_iter_new(&it, log, evlog_start_offset(log)), 0);
    while ((rc = evlog_iter_next(it, &r)) == 1) {
        cr_assert_eq(r.offset, next, "record %llu where %llu was due", (unsigned long long)r.offset,
                     (unsigned long long)next);
        cr_assert_lt(r.offset, end, "record %llu returned past the end %llu reported at open",
                     (unsigned long long)r.offset, (unsigned long long)end);
        next++;
    }
    cr_assert_eq(rc, 0);
    cr_assert_eq(next, end, "read %llu records of %llu", (unsigned long long)next,
                 (unsigned long long)end);
    evlog_iter_free(it);
    evlog_close(log);
    pl_image_free(img);
    plsim_free(sim);
}
