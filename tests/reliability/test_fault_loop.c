/*
 * test_fault_loop.c - the fail-Nth loop (issue 4, test 1; SQLite's I/O
 * error loop, RocksDB's fault-injection file system).
 *
 * A seeded workload (relwork.c: open and recovery of a log of several
 * segments, appends across rolls, syncs, truncations at both ends, close
 * and reopen) runs over faultio.h over the power-loss simulator, once per
 * I/O call N: call N fails with EIO, ENOSPC or EINTR, once or from then on.
 * Each run must:
 *  - report the failure with a clear error: an evlog code that says I/O
 *    (EVLOG_EIO, EVLOG_ENOSPC or EVLOG_EFAILED), never one that blames the
 *    data or another writer, and a message;
 *  - never swallow a failed sync (a workload that completes although an
 *    msync, fsync or sync_dir failed has lied about durability);
 *  - lose nothing acknowledged: the process going on (the page cache as
 *    it is) and a power loss right after the failure both recover every
 *    record acknowledged as durable, and only records that were appended;
 *  - leave a log that reopens, takes appends and passes `evlog verify`.
 *
 * EVLOG_REL_FAULT_MAX bounds the runs of each mode (the calls are then
 * sampled evenly, from a seeded phase); 0 runs every call.
 * EVLOG_REL_FAULT_N=n replays the run that fails call n alone.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultio.h"
#include "plsim.h"
#include "relwork.h"

#define LOGDIR "/fault/log"

static char tmp[256];
static int failed;

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/evrel-fault-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[400];
    if (failed)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    (void)system(cmd);
}

TestSuite(fault_loop, .init = setup, .fini = teardown, .timeout = 900);

static int clear_code(int rc)
{
    return rc == EVLOG_EIO || rc == EVLOG_ENOSPC || rc == EVLOG_EFAILED;
}

/* A log of a few segments to start from, and its model. */
static pl_image *initial_log(rw_model *m, uint64_t seed)
{
    plsim *sim = plsim_new();
    pl_image *img = NULL;
    rw_cfg cfg;
    rw_result res;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = seed;
    cfg.steps = 50;
    cfg.io = plsim_io(sim);
    rc = rw_run(m, LOGDIR, &cfg, NULL, &res, NULL, NULL);
    cr_assert_eq(rc, 0, "the initial workload failed: %s %s %s", res.call, res.errmsg, res.why);
    cr_assert_eq(plsim_crash(sim, LOGDIR, PL_CRASH_KEEP_ALL, 0, &img, NULL), 0);
    plsim_free(sim);
    return img;
}

static void fault_loop(const char *label, int err, unsigned mask, int persistent, uint64_t dflt)
{
    uint64_t seed = rw_seed(label, dflt);
    uint64_t max_runs = rw_env_u64("EVLOG_REL_FAULT_MAX", 150);
    uint64_t total, n, stride, only, runs = 0, errors = 0, swallowed = 0, states = 0, verifies = 0;
    uint64_t by_code[16] = {0}, absorbed_op[EVREL_OP_COUNT] = {0};
    char absorbed[512] = "";
    size_t alen = 0;
    int op;
    rw_model m0;
    rw_cfg cfg;
    pl_image *init;
    char why[600];

    rw_model_init(&m0, seed);
    init = initial_log(&m0, rw_mix(seed ^ 1));
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = rw_mix(seed ^ 2);
    cfg.steps = (unsigned)rw_env_u64("EVLOG_REL_FAULT_STEPS", 60);
    cfg.truncations = 1;
    cfg.reopen_every = 20;
    cfg.linger_us = EVLOG_MAX_LINGER_US; /* about half the opens */

    /* how many calls the workload makes */
    {
        plsim *sim = plsim_new();
        faultio *f = faultio_new(plsim_io(sim));
        rw_model m;
        rw_result res;
        cr_assert_eq(plsim_load(sim, LOGDIR, init), 0);
        cr_assert_eq(rw_model_copy(&m, &m0), 0);
        faultio_arm(f, 0, err, persistent, mask);
        cfg.io = faultio_io(f);
        cr_assert_eq(rw_run(&m, LOGDIR, &cfg, NULL, &res, NULL, NULL), 0,
                     "the workload fails without faults: %s %s %s", res.call, res.errmsg, res.why);
        total = faultio_calls(f);
        rw_model_free(&m);
        faultio_free(f);
        plsim_free(sim);
    }
    stride = max_runs && total > max_runs ? (total + max_runs - 1) / max_runs : 1;
    only = rw_env_u64("EVLOG_REL_FAULT_N", 0); /* replay one call */

    for (n = only ? only : 1 + rw_mix(seed) % stride; n <= total; n += only ? total : stride) {
        plsim *sim = plsim_new(), *after;
        faultio *f = faultio_new(plsim_io(sim));
        pl_image *img = NULL;
        rw_model m, mc;
        rw_result res, res2;
        int rc, first_op;

        cr_assert_eq(plsim_load(sim, LOGDIR, init), 0);
        cr_assert_eq(rw_model_copy(&m, &m0), 0);
        faultio_arm(f, n, err, persistent, mask);
        faultio_trace(f, only && rw_env_u64("EVLOG_REL_TRACE", 0));
        cfg.io = faultio_io(f);
        rc = rw_run(&m, LOGDIR, &cfg, NULL, &res, NULL, NULL);
        faultio_trace(f, 0);
        faultio_disarm(f);
        first_op = faultio_first_op(f);
        runs++;
        if (rc == RW_EBROKEN) {
            failed = 1;
            cr_assert_fail("%s: call %" PRIu64 " (%s) failed with %s: then %s broke the promise: %s",
                           label, n, evrel_op_name(first_op), strerror(err), res.call, res.why);
        }
        if (rc) {
            errors++;
            by_code[-rc < 16 ? -rc : 0]++;
            if (!clear_code(rc)) {
                failed = 1;
                cr_assert_fail("%s: call %" PRIu64 " (%s) failed with %s, and %s returned %s (%d), "
                               "which does not say I/O: %s", label, n, evrel_op_name(first_op),
                               strerror(err), res.call, evlog_strerror(rc), rc, res.errmsg);
            }
            if (strcmp(res.call, "evlog_close") != 0 && !res.errmsg[0]) {
                failed = 1;
                cr_assert_fail("%s: call %" PRIu64 " (%s): %s returned %s with no message", label,
                               n, evrel_op_name(first_op), res.call, evlog_strerror(rc));
            }
        } else if (faultio_fired(f)) {
            swallowed++;
            if (first_op >= 0)
                absorbed_op[first_op]++;
            if (EVREL_OP_BIT(first_op) & EVREL_OPS_SYNC) {
                failed = 1;
                cr_assert_fail("%s: call %" PRIu64 " (%s) failed with %s and the workload went on as "
                               "if it had not: a failed sync was swallowed", label, n,
                               evrel_op_name(first_op), strerror(err));
            }
        }

        /* a power loss right after the failure */
        cr_assert_eq(plsim_crash(sim, LOGDIR, PL_CRASH_RANDOM, rw_mix(seed ^ n), &img, NULL), 0);
        after = plsim_new();
        cr_assert_eq(plsim_load(after, LOGDIR, img), 0);
        cr_assert_eq(rw_model_copy(&mc, &m), 0);
        rc = rw_recover_check(&mc, LOGDIR, plsim_io(after), NULL, &res2);
        if (rc) {
            failed = 1;
            pl_image_write_dir(img, tmp);
            cr_assert_fail("%s: call %" PRIu64 " (%s) failed with %s (%s returned %d); after a "
                           "power loss then, %s: %s %s %s (state in %s)", label, n,
                           evrel_op_name(first_op), strerror(err), res.call ? res.call : "-",
                           res.rc, res2.call, rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc),
                           res2.errmsg, res2.why, tmp);
        }
        states++;
        rw_model_free(&mc);
        pl_image_free(img);
        plsim_free(after);

        /* the process going on: reopen, append, verify */
        rc = rw_recover_check(&m, LOGDIR, plsim_io(sim), NULL, &res2);
        if (rc) {
            failed = 1;
            cr_assert_fail("%s: call %" PRIu64 " (%s) failed with %s; the reopen then: %s: %s %s %s",
                           label, n, evrel_op_name(first_op), strerror(err), res2.call,
                           rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc), res2.errmsg,
                           res2.why);
        }
        if (n % (4 * stride) < stride) {
            char dir[512];
            snprintf(dir, sizeof dir, "%s/verify", tmp);
            cr_assert_eq(plsim_crash(sim, LOGDIR, PL_CRASH_KEEP_ALL, 0, &img, NULL), 0);
            cr_assert_eq(pl_image_write_dir(img, dir), 0);
            pl_image_free(img);
            if (rw_verify_dir(dir, why, sizeof why) != 0) {
                failed = 1;
                cr_assert_fail("%s: call %" PRIu64 " (%s) failed with %s; after the reopen, %s",
                               label, n, evrel_op_name(first_op), strerror(err), why);
            }
            verifies++;
        }
        rw_model_free(&m);
        faultio_free(f);
        plsim_free(sim);
    }
    for (op = 0; op < EVREL_OP_COUNT; op++)
        if (absorbed_op[op] && alen < sizeof absorbed - 32)
            alen += (size_t)snprintf(absorbed + alen, sizeof absorbed - alen, " %s:%" PRIu64,
                                     evrel_op_name(op), absorbed_op[op]);
    fprintf(stderr, "fault loop %s: %" PRIu64 " I/O calls, %" PRIu64 " runs (every %" PRIu64
            "), %" PRIu64 " failed with an error (EIO %" PRIu64 ", ENOSPC %" PRIu64 ", EFAILED %"
            PRIu64 "), %" PRIu64 " absorbed (%s), %" PRIu64 " power-loss states after the "
            "failure, %" PRIu64 " verifies: nothing lost\n", label, total, runs, stride, errors,
            by_code[-EVLOG_EIO], by_code[-EVLOG_ENOSPC], by_code[-EVLOG_EFAILED], swallowed,
            alen ? absorbed + 1 : "none", states, verifies);
    rw_model_free(&m0);
    pl_image_free(init);
}

Test(fault_loop, eio_once) { fault_loop("fault_loop.eio_once", EIO, FAULTIO_OPS_EIO, 0, 11); }
Test(fault_loop, eio_persistent) { fault_loop("fault_loop.eio_persistent", EIO, FAULTIO_OPS_EIO, 1, 12); }
Test(fault_loop, enospc_once) { fault_loop("fault_loop.enospc_once", ENOSPC, FAULTIO_OPS_ENOSPC, 0, 13); }
Test(fault_loop, enospc_persistent)
{
    fault_loop("fault_loop.enospc_persistent", ENOSPC, FAULTIO_OPS_ENOSPC, 1, 14);
}
Test(fault_loop, eintr_once) { fault_loop("fault_loop.eintr_once", EINTR, FAULTIO_OPS_EINTR, 0, 15); }
Test(fault_loop, eintr_persistent)
{
    fault_loop("fault_loop.eintr_persistent", EINTR, FAULTIO_OPS_EINTR, 1, 16);
}
