/*
 * test_lock.c - one writer per log: a second writer, in another process or
 * in the same one, gets EVLOG_ELOCKED; the lock goes with its holder, even
 * one that dies without closing; read-only handles open alongside a writer
 * and see its synced and closed data.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(lock, .init = evt_setup, .fini = evt_teardown, .timeout = 60);

static int open_flags(evlog **log, unsigned flags, char *err, size_t err_len)
{
    evlog_options o;
    evlog_options_init(&o);
    o.segment_bytes = 64 << 10;
    o.flags = flags;
    if (err_len)
        err[0] = 0;
    return evlog_open_ex(log, evt_log, &o, err, err_len);
}

static evlog *open_ok(unsigned flags)
{
    evlog *log = NULL;
    char err[512];
    int rc = open_flags(&log, flags, err, sizeof err);
    cr_assert_eq(rc, 0, "evlog_open(flags %u): %d (%s): %s", flags, rc, evlog_strerror(rc), err);
    return log;
}

/* Exit status of a child: the negated evlog result, or 100+ for failures
 * of the child's own checks. */
static int child_status(pid_t pid)
{
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "the child died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

Test(lock, second_writer_same_process)
{
    evlog *a = open_ok(0), *b = (evlog *)(uintptr_t)1;
    char err[512];
    int rc = open_flags(&b, 0, err, sizeof err);
    cr_assert_eq(rc, EVLOG_ELOCKED, "second writer in the same process: %d (%s)", rc,
                 evlog_strerror(rc));
    cr_assert_null(b);
    cr_assert_neq(err[0], 0, "no detail for EVLOG_ELOCKED");
    /* still refused on a retry, and the first one still works */
    cr_assert_eq(open_flags(&b, 0, err, sizeof err), EVLOG_ELOCKED);
    {
        evlog_record r = {0, 5, "k", 1, "v", 1};
        cr_assert_eq(evlog_append(a, &r, 1, NULL), 0);
    }
    cr_assert_eq(evlog_close(a), 0);
    /* released on close */
    b = open_ok(0);
    cr_assert_eq(evlog_end_offset(b), 1);
    cr_assert_eq(evlog_close(b), 0);
}

Test(lock, second_writer_other_process)
{
    evlog *a = open_ok(0);
    pid_t pid;
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        evlog *b = NULL;
        char err[512];
        int rc = open_flags(&b, 0, err, sizeof err);
        if (rc == 0)
            evlog_close(b);
        _exit(-rc);
    }
    cr_assert_eq(child_status(pid), -EVLOG_ELOCKED,
                 "a second writer in another process was not refused with EVLOG_ELOCKED");
    cr_assert_eq(evlog_close(a), 0);

    /* once closed, another process may write */
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        evlog *b = NULL;
        char err[512];
        int rc = open_flags(&b, 0, err, sizeof err);
        if (rc == 0)
            rc = evlog_close(b);
        _exit(-rc);
    }
    cr_assert_eq(child_status(pid), 0, "a writer after the first closed was refused");
}

Test(lock, holder_dies_without_closing)
{
    int ready[2], go[2];
    pid_t pid;
    char c;
    evlog *b = NULL;
    char err[512];
    int rc;

    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(go), 0);
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        evlog *a = NULL;
        evlog_record r = {0, 5, "k", 1, "v", 1};
        close(ready[0]);
        close(go[1]);
        rc = open_flags(&a, 0, err, sizeof err);
        if (rc != 0)
            _exit(-rc);
        if (evlog_append(a, &r, 1, NULL) != 0 || evlog_sync(a) != 0)
            _exit(101);
        if (write(ready[1], "r", 1) != 1)
            _exit(102);
        if (read(go[0], &c, 1) != 1)
            _exit(103);
        _exit(0); /* a crash: no evlog_close */
    }
    close(ready[1]);
    close(go[0]);
    cr_assert_eq(read(ready[0], &c, 1), 1, "the child did not get the writer");

    rc = open_flags(&b, 0, err, sizeof err);
    cr_assert_eq(rc, EVLOG_ELOCKED, "a writer while another process writes: %d (%s)", rc,
                 evlog_strerror(rc));
    /* a reader is fine meanwhile, and sees the synced record */
    b = open_ok(EVLOG_READ_ONLY);
    cr_assert_eq(evlog_end_offset(b), 1);
    cr_assert_eq(evlog_close(b), 0);

    cr_assert_eq(write(go[1], "g", 1), 1);
    cr_assert_eq(child_status(pid), 0);
    close(ready[0]);
    close(go[1]);

    /* the lock died with its holder */
    b = open_ok(0);
    cr_assert_eq(evlog_end_offset(b), 1, "the synced record of the dead writer");
    cr_assert_eq(evlog_close(b), 0);
}

Test(lock, readers_alongside_writer)
{
    uint64_t seed = evt_seed("lock.readers_alongside_writer");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    evt_rng brng;
    evt_append_plan plan;
    evlog *w, *r1, *r2, *r3;
    char why[512];
    pid_t pid;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 10;
    plan.max_batch_bytes = 4096;
    evt_rng_init(&brng, seed);

    w = open_ok(0);
    cr_assert_eq(evt_append_gen(w, &g, 0, 3000, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(evlog_sync(w), 0);

    /* several read-only handles in this process see the synced records */
    r1 = open_ok(EVLOG_READ_ONLY);
    r2 = open_ok(EVLOG_READ_ONLY);
    cr_assert_eq(evlog_end_offset(r1), 3000, "a reader sees the synced end");
    cr_assert_eq(evt_verify_log(r1, &g, 0, 0, 3000, 0, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evt_verify_log(r2, &g, 0, 2000, 3000, 0, why, sizeof why), 0, "%s", why);
    {
        evlog_record rec = {0, 1, NULL, 0, "x", 1};
        cr_assert_eq(evlog_append(r1, &rec, 1, NULL), EVLOG_EREADONLY);
    }

    /* and one in another process, while this one writes */
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        evlog *r = NULL;
        char err[512];
        int rc = open_flags(&r, EVLOG_READ_ONLY, err, sizeof err);
        if (rc != 0)
            _exit(-rc);
        if (evlog_end_offset(r) < 3000)
            _exit(101);
        if (evt_verify_log(r, &g, 0, 0, 3000, 0, err, sizeof err) != 0) {
            fprintf(stderr, "child reader: %s\n", err);
            _exit(102);
        }
        _exit(evlog_close(r) == 0 ? 0 : 103);
    }
    cr_assert_eq(evt_append_gen(w, &g, 3000, 2000, &brng, &plan), 0, "%s", plan.why);
    cr_assert_eq(child_status(pid), 0, "the reader in another process failed");
    cr_assert_eq(evlog_close(w), 0);

    /* after the writer closed, a new reader sees everything */
    r3 = open_ok(EVLOG_READ_ONLY);
    cr_assert_eq(evlog_end_offset(r3), 5000);
    cr_assert_eq(evt_verify_log(r3, &g, 0, 0, 5000, 1, why, sizeof why), 0, "%s", why);
    /* a writer opens while readers are open: they take no lock */
    w = open_ok(0);
    cr_assert_eq(evlog_end_offset(w), 5000);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(evlog_close(r1), 0);
    cr_assert_eq(evlog_close(r2), 0);
    cr_assert_eq(evlog_close(r3), 0);
}

Test(lock, many_processes_race_for_the_writer)
{
    enum { N = 6 };
    pid_t pids[N];
    int go[2], i, winners = 0, locked = 0;
    char c;
    evlog *log;

    /* create the log first so that the race is only for the lock */
    log = open_ok(0);
    cr_assert_eq(evlog_close(log), 0);
    cr_assert_eq(pipe(go), 0);
    fflush(NULL);
    for (i = 0; i < N; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) {
            evlog *l = NULL;
            char err[512];
            int rc;
            close(go[1]);
            if (read(go[0], &c, 1) != 0) /* wait for the close of the pipe */
                _exit(110);
            rc = open_flags(&l, 0, err, sizeof err);
            if (rc == 0) {
                usleep(300000); /* hold it while the others try */
                rc = evlog_close(l);
                _exit(rc == 0 ? 0 : 111);
            }
            _exit(-rc);
        }
    }
    close(go[0]);
    close(go[1]); /* start them all */
    for (i = 0; i < N; i++) {
        int st = child_status(pids[i]);
        if (st == 0)
            winners++;
        else if (st == -EVLOG_ELOCKED)
            locked++;
        else
            cr_assert_fail("child %d exited with %d", i, st);
    }
    cr_assert_geq(winners, 1);
    cr_assert_eq(winners + locked, N);
    fprintf(stderr, "writer race: %d won, %d locked out\n", winners, locked);
}

/* A read-only handle opened before the writer's appends follows them: once
 * synced, its iterator returns them, across segment rolls, and after the
 * writer closes. */
static int read_until(evlog *r, evlog_iter *it, const evt_gen *g, uint64_t *next, uint64_t to,
                      char *why, size_t why_len)
{
    uint64_t t0 = evt_mono_ms();
    while (*next < to) {
        evlog_record rec;
        uint8_t scratch[256];
        int rc = evlog_iter_next(it, &rec);
        if (rc == 0) {
            if (evt_mono_ms() - t0 > 20000) {
                snprintf(why, why_len, "the reader stayed at offset %llu (writer synced up to "
                         "%llu) for 20 s", (unsigned long long)*next, (unsigned long long)to);
                return -1;
            }
            usleep(1000);
            continue;
        }
        if (rc != 1) {
            snprintf(why, why_len, "reader at %llu: %d (%s): %s", (unsigned long long)*next, rc,
                     evlog_strerror(rc), evlog_errmsg(r));
            return -1;
        }
        if (evt_check_record(g, *next, *next, &rec, scratch, why, why_len) != 0)
            return -1;
        (*next)++;
    }
    return 0;
}

Test(lock, reader_follows_writer)
{
    uint64_t seed = evt_seed("lock.reader_follows_writer");
    evt_gen g = {seed, EVT_TINY, 0, 0};
    evt_rng brng;
    evt_append_plan plan;
    evlog *w, *r;
    evlog_iter *it = NULL;
    uint64_t next = 0, bases[256];
    char why[512];
    int round;

    memset(&plan, 0, sizeof plan);
    plan.max_batch = 10;
    plan.max_batch_bytes = 1024;
    evt_rng_init(&brng, seed);
    w = open_ok(0);
    r = open_ok(EVLOG_READ_ONLY);
    cr_assert_eq(evlog_iter_new(&it, r, 0), 0);
    for (round = 0; round < 6; round++) {
        uint64_t end;
        cr_assert_eq(evt_append_gen(w, &g, evlog_end_offset(w), 1500, &brng, &plan), 0, "%s",
                     plan.why);
        cr_assert_eq(evlog_sync(w), 0);
        end = evlog_end_offset(w);
        cr_assert_eq(read_until(r, it, &g, &next, end, why, sizeof why), 0, "round %d: %s",
                     round, why);
    }
    cr_assert_gt(evt_segments(evt_log, bases, 256), 2, "the writer should have rolled");
    cr_assert_eq(evt_append_gen(w, &g, evlog_end_offset(w), 777, &brng, &plan), 0, "%s",
                 plan.why);
    cr_assert_eq(evlog_close(w), 0);
    cr_assert_eq(read_until(r, it, &g, &next, 6 * 1500 + 777, why, sizeof why), 0,
                 "after the writer closed: %s", why);
    evlog_iter_free(it);
    cr_assert_eq(evlog_close(r), 0);
}
