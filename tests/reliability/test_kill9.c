/*
 * test_kill9.c - the kill -9 loop (issue 4, test 3).
 *
 * Each cycle forks a child that opens the log (real files, the POSIX I/O
 * table) and appends seeded, recomputable batches as fast as it can, in one
 * of the three sync modes, writing evlog_durable_offset() to a pipe after
 * each call. The parent kills it with SIGKILL after a random delay (from
 * none at all, which lands in the open and its recovery, to a few dozen
 * milliseconds, which lands in appends, rolls, syncs and seals), then:
 * `evlog verify` (evlog_scan) must find no error; the reopened log must hold
 * every record below the last durable offset the child reported, intact,
 * and only records that were appended, ending between batches; then it
 * trims the log's front now and then, and the next cycle appends to the
 * same log.
 *
 * EVLOG_REL_KILL_CYCLES cycles (default 30), delays up to
 * EVLOG_REL_KILL_MAX_MS; EVLOG_SEED replays the batch sizes and the delays
 * (not the scheduler).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relwork.h"

static char tmp[256], logdir[300];
static int failed;

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/evrel-kill-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(logdir, sizeof logdir, "%s/log", tmp);
}

static void teardown(void)
{
    char cmd[400];
    if (failed) {
        fprintf(stderr, "kill9: the log is kept in %s\n", logdir);
        return;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    (void)system(cmd);
}

TestSuite(kill9, .init = setup, .fini = teardown, .timeout = 900);

/* Messages of the child: a kind and a value. */
enum { MSG_START = 1, MSG_DURABLE = 2, MSG_ERROR = 3 };
typedef struct msg {
    uint32_t kind;
    int32_t code;
    uint64_t value;
} msg;

static void say(int fd, uint32_t kind, int32_t code, uint64_t value)
{
    msg m = {kind, code, value};
    ssize_t w = write(fd, &m, sizeof m);
    (void)w;
}

/* The size of the child's i-th batch of cycle `k`. */
static size_t batch_size(uint64_t seed, uint64_t k, uint64_t i)
{
    uint64_t h = rw_mix(seed ^ rw_mix(k * 1000003 + i));
    return h % 8 == 0 ? 8 + (size_t)(h >> 8) % 24 : 1 + (size_t)(h >> 8) % 5;
}

static int sync_mode_of(uint64_t k)
{
    return k % 3 == 0 ? EVLOG_SYNC_ALWAYS : k % 3 == 1 ? EVLOG_SYNC_NONE : EVLOG_SYNC_INTERVAL;
}

static void options(evlog_options *o, uint64_t k)
{
    evlog_options_init(o);
    o->segment_bytes = 65536;
    o->index_interval_bytes = 1024;
    o->sync_mode = sync_mode_of(k);
    o->sync_interval_ms = 5;
    o->compression = k % 4 == 3 ? EVLOG_COMPRESS_LZ4 : EVLOG_COMPRESS_NONE;
    o->linger_us = k % 5 >= 3 ? 300 : 0; /* lingering appends in two cycles of five */
}

static void child(int fd, uint64_t seed, uint64_t k)
{
    static uint8_t bufs[32][RW_REC_MAX];
    evlog_record recs[32];
    evlog_options o;
    evlog *log = NULL;
    uint64_t i, end, first;
    int rc;

    options(&o, k);
    if ((rc = evlog_open(&log, logdir, &o)) != 0) {
        say(fd, MSG_ERROR, rc, 0);
        _exit(3);
    }
    first = end = evlog_end_offset(log);
    say(fd, MSG_START, 0, end);
    say(fd, MSG_DURABLE, 0, evlog_durable_offset(log));
    for (i = 0;; i++) {
        size_t n = batch_size(seed, k, i), j;
        for (j = 0; j < n; j++)
            rw_record(seed, (uint32_t)(k + 1), end + j, &recs[j], bufs[j]);
        if ((rc = evlog_append(log, recs, n, NULL)) != 0) {
            say(fd, MSG_ERROR, rc, end);
            _exit(4);
        }
        end += n;
        if (o.sync_mode == EVLOG_SYNC_NONE && i % 4 == 3 && (rc = evlog_sync(log)) != 0) {
            say(fd, MSG_ERROR, rc, end);
            _exit(5);
        }
        say(fd, MSG_DURABLE, 0, evlog_durable_offset(log));
        if (end - first > 2000000) /* a child that was never killed */
            _exit(0);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read what the child said: its start, the largest durable offset, an
 * error. Returns 0 at EOF, 1 after a read. */
static int hear(int fd, uint64_t *start, int *have_start, uint64_t *durable, int *err)
{
    msg m[256];
    ssize_t r = read(fd, m, sizeof m);
    ssize_t i;
    if (r <= 0)
        return 0;
    for (i = 0; i < r / (ssize_t)sizeof(msg); i++) {
        if (m[i].kind == MSG_START) {
            *start = m[i].value;
            *have_start = 1;
        } else if (m[i].kind == MSG_DURABLE && m[i].value > *durable) {
            *durable = m[i].value;
        } else if (m[i].kind == MSG_ERROR) {
            *err = m[i].code;
        }
    }
    return 1;
}

Test(kill9, append_kill_verify_reopen)
{
    uint64_t seed = rw_seed("kill9.append_kill_verify_reopen", 21);
    uint64_t cycles = rw_env_u64("EVLOG_REL_KILL_CYCLES", 30);
    uint64_t max_ms = rw_env_u64("EVLOG_REL_KILL_MAX_MS", 40);
    uint64_t rs = rw_mix(seed ^ 0x6b696c6c), k, killed_early = 0, records = 0, durable_total = 0;
    rw_model m;
    rw_counts c;
    char why[600];

    memset(&c, 0, sizeof c);
    rw_model_init(&m, seed);
    for (k = 0; k < cycles; k++) {
        uint64_t start = 0, durable = 0, deadline, delay, o, i;
        int p[2], have_start = 0, err = 0, status = 0;
        evlog_options opt;
        evlog *log = NULL;
        pid_t pid;
        int rc;

        cr_assert_eq(pipe(p), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            close(p[0]);
            child(p[1], seed, k);
            _exit(0);
        }
        close(p[1]);
        delay = rw_rand(&rs) % 8 == 0 ? 0 : rw_rand(&rs) % (max_ms + 1);
        deadline = now_ms() + delay;
        for (;;) {
            struct pollfd pf = {p[0], POLLIN, 0};
            uint64_t t = now_ms();
            if (t >= deadline)
                break;
            if (poll(&pf, 1, (int)(deadline - t)) > 0 &&
                !hear(p[0], &start, &have_start, &durable, &err))
                break;
        }
        kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        while (hear(p[0], &start, &have_start, &durable, &err))
            ;
        close(p[0]);
        if (err) {
            failed = 1;
            cr_assert_fail("cycle %" PRIu64 ": the child failed: %s", k, evlog_strerror(err));
        }
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "cycle %" PRIu64 ": the child ended by itself (status %d)", k, status);
        /* `evlog verify` on what the kill left (EVLOG_REL_SKIP_RAW_VERIFY=1
         * looks past a defect of verify alone) */
        /* (a child killed before its evlog_open made the directory left
         * nothing to verify) */
        if (!rw_env_u64("EVLOG_REL_SKIP_RAW_VERIFY", 0) && access(logdir, F_OK) == 0 &&
            rw_verify_dir(logdir, why, sizeof why) != 0) {
            failed = 1;
            cr_assert_fail("cycle %" PRIu64 " (killed after %" PRIu64 " ms): %s", k, delay, why);
        }
        /* the verifier: reopen */
        options(&opt, k + 1);
        opt.sync_mode = EVLOG_SYNC_NONE;
        rc = evlog_open_ex(&log, logdir, &opt, why, sizeof why);
        if (rc) {
            failed = 1;
            cr_assert_fail("cycle %" PRIu64 " (killed after %" PRIu64 " ms): open: %s: %s", k,
                           delay, evlog_strerror(rc), why);
        }
        if (!have_start) {
            killed_early++; /* killed in the open: nothing appended */
        } else {
            /* the batches the child may have appended, recomputed up to
             * the end the log has now (the check then looks at each) */
            uint64_t e = evlog_end_offset(log);
            m.gen = (uint32_t)(k + 1);
            for (o = start, i = 0; o < e || o < durable; i++) {
                size_t n = batch_size(seed, k, i);
                cr_assert_eq(rw_model_append(&m, o, n), 0);
                o += n;
            }
            if (durable > m.acked)
                m.acked = durable;
            durable_total += durable > start ? durable - start : 0;
        }
        rc = rw_check_log(&m, log, &c, why, sizeof why);
        if (rc) {
            failed = 1;
            evlog_close(log);
            cr_assert_fail("cycle %" PRIu64 " (killed after %" PRIu64 " ms, durable %" PRIu64
                           "): %s", k, delay, durable, why);
        }
        /* keep the log small: drop the front now and then */
        if (evlog_end_offset(log) - evlog_start_offset(log) > 6000) {
            uint64_t y = evlog_end_offset(log) - 2000;
            cr_assert_eq(evlog_truncate_front(log, y), 0, "%s", evlog_errmsg(log));
            m.start_lo = m.start_hi = y;
        }
        records = evlog_end_offset(log);
        cr_assert_eq(evlog_close(log), 0);
        /* and once the writer recovered it, verify finds nothing at all */
        if (rw_verify_dir(logdir, why, sizeof why) != 0) {
            failed = 1;
            cr_assert_fail("cycle %" PRIu64 ": after recovery, %s", k, why);
        }
    }
    fprintf(stderr, "kill9: %" PRIu64 " cycles (%" PRIu64 " killed in the open), %" PRIu64
            " records acknowledged durable by the children, end offset %" PRIu64 ", %" PRIu64
            " records checked: nothing lost\n", cycles, killed_early, durable_total, records,
            c.records_checked);
    rw_model_free(&m);
}
