/*
 * test_power_loss.c - power-loss states at every sync point of a workload
 * (issue 4, test 2; docs/reliability.md).
 *
 * A seeded workload (relwork.c) runs over the power-loss simulator
 * (plsim.h). Just before and just after each msync, fsync, sync_dir, rename
 * and unlink, the simulator draws crash states: the one where everything
 * not synced is lost, the one where all of it reached the disk (a process
 * crash), and random ones where each dirty page is kept, lost, torn or an
 * intermediate version, the file sizes and the directory operations since
 * the last sync_dir kept or not. Each state is loaded into a fresh
 * simulator and must keep the promise: every record acknowledged as durable
 * is present and intact, every record present is one that was appended at
 * its offset, the end falls between batches, a read-only open and the
 * recovering writer agree, the log takes appends, and `evlog verify`
 * finds no error in the recovered directory. A share of the states are
 * crashed again during their own recovery.
 *
 * Counts: EVLOG_REL_PL_RUNS workloads of EVLOG_REL_PL_STEPS steps,
 * EVLOG_REL_PL_VARIANTS states per crash point, and a stop after
 * EVLOG_REL_PL_STATES states. EVLOG_SEED replays a run.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plsim.h"
#include "relwork.h"

#define LOGDIR "/pl/log"

typedef struct item {
    pl_image *img;
    rw_model m;
    uint64_t point;
    unsigned variant;
    int op, phase;
} item;

typedef struct plrun {
    plsim *sim;
    rw_model *m;       /* the model as the workload keeps it */
    uint64_t seed;
    unsigned variants;
    int depth;         /* 1: the workload; 2: a recovery being crashed */
    unsigned nest_every; /* crash the recovery of one state in this many */
    item *q;
    size_t nq, capq;
    uint64_t points;
    int oom;
} plrun;

/* Totals over the whole test, for the report. */
static struct {
    uint64_t points, states, nested_states, records, verifies, dirty_pages, torn,
        dir_ops_undone, state_limit;
    char tmp[256];
    int failed;
} tot;

/* The hook runs in the engine's threads too (the sealer, the syncer). */
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;

static void hook(plsim *s, evrel_op op, int phase, long rc, void *payload)
{
    plrun *r = payload;
    uint64_t point;
    unsigned v;
    if (!(EVREL_OP_BIT(op) & (EVREL_OPS_SYNC | EVREL_OPS_DIR)) || (phase == 1 && rc < 0))
        return;
    pthread_mutex_lock(&hook_mu);
    point = ++r->points;
    pthread_mutex_unlock(&hook_mu);
    for (v = 0; v < r->variants; v++) {
        item it;
        pl_crash_stats st;
        int mode = v == 0 ? PL_CRASH_LOSE_ALL : v == 1 ? PL_CRASH_KEEP_ALL : PL_CRASH_RANDOM;
        int oom = 0;
        memset(&it, 0, sizeof it);
        /* the state and the model as of one moment: in a hook of the
         * sealer's, the workload's thread could otherwise acknowledge a sync
         * between the two (its own sync waits on the simulator meanwhile,
         * then returns before the copy) */
        rw_model_lock(r->m);
        if (plsim_crash(s, LOGDIR, mode, rw_mix(r->seed ^ rw_mix(point * 131 + v)), &it.img,
                        &st) != 0) {
            rw_model_unlock(r->m);
            continue; /* the directory does not exist yet: nothing to crash */
        }
        if (rw_model_copy_locked(&it.m, r->m) != 0) {
            pl_image_free(it.img);
            oom = 1;
        }
        rw_model_unlock(r->m);
        it.point = point;
        it.variant = v;
        it.op = (int)op;
        it.phase = phase;
        pthread_mutex_lock(&hook_mu);
        tot.dirty_pages += st.dirty_pages;
        tot.torn += st.torn;
        tot.dir_ops_undone += st.dir_ops_undone;
        if (!oom && r->nq == r->capq) {
            size_t c = r->capq ? 2 * r->capq : 16;
            item *q = realloc(r->q, c * sizeof *q);
            if (q) {
                r->q = q;
                r->capq = c;
            } else {
                pl_image_free(it.img);
                rw_model_free(&it.m);
                oom = 1;
            }
        }
        if (!oom)
            r->q[r->nq++] = it;
        r->oom |= oom;
        pthread_mutex_unlock(&hook_mu);
    }
}

static void save_failure(const item *it, const char *what)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fail-%" PRIu64 "-%u", tot.tmp, it->point, it->variant);
    if (pl_image_write_dir(it->img, dir) == 0)
        fprintf(stderr, "power-loss: %s; the crash state is kept in %s\n", what, dir);
}

static void check_state(plrun *parent, item *it);

/* After each call of the workload: check the states drawn during it. */
static void drain(void *payload)
{
    plrun *r = payload;
    item *q;
    size_t i, n;
    pthread_mutex_lock(&hook_mu);
    cr_assert(!r->oom, "out of memory drawing crash states");
    q = r->q;
    n = r->nq;
    r->q = NULL;
    r->nq = r->capq = 0;
    pthread_mutex_unlock(&hook_mu);
    for (i = 0; i < n; i++) {
        if (!tot.failed && (!tot.state_limit || tot.states < tot.state_limit))
            check_state(r, &q[i]);
        pl_image_free(q[i].img);
        rw_model_free(&q[i].m);
    }
    free(q);
}

static void check_state(plrun *parent, item *it)
{
    plrun nested;
    rw_counts c;
    rw_result res;
    plsim *s = plsim_new();
    char why[600];
    int rc, nest = parent->depth == 1 && parent->nest_every &&
                   (it->point * 7 + it->variant) % parent->nest_every == 0;

    cr_assert_not_null(s);
    memset(&c, 0, sizeof c);
    cr_assert_eq(plsim_load(s, LOGDIR, it->img), 0);
    if (parent->depth == 1)
        tot.states++;
    else
        tot.nested_states++;
    if (nest) {
        memset(&nested, 0, sizeof nested);
        nested.sim = s;
        nested.m = &it->m;
        nested.seed = rw_mix(parent->seed ^ it->point ^ ((uint64_t)it->variant << 32));
        nested.variants = 2;
        nested.depth = 2;

        plsim_set_hook(s, hook, &nested);
    }
    /* the model of the check is the item's copy: hooks of a nested run see
     * it as the recovery changes it */
    {
        rc = rw_recover_check(&it->m, LOGDIR, plsim_io(s), &c, &res);
        if (nest) {
            plsim_set_hook(s, NULL, NULL);
            drain(&nested);
            tot.points += nested.points;
        }
        if (rc) {
            tot.failed = 1;
            save_failure(it, "broken promise");
            plsim_free(s);
            cr_assert_fail("seed %" PRIu64 ", crash point %" PRIu64 " (%s %s), variant %u, depth %d: "
                     "%s failed: %s (%s) %s", parent->seed, it->point, it->phase ? "after" : "before",
                     evrel_op_name(it->op), it->variant, parent->depth, res.call,
                     rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc), res.errmsg, res.why);
        }
    }
    tot.records += c.records_checked;

    /* `evlog verify` on the recovered directory: no error */
    if (parent->depth == 1 && (it->point + it->variant) % 4 == 0) {
        pl_image *after = NULL;
        char dir[512];
        snprintf(dir, sizeof dir, "%s/verify", tot.tmp);
        cr_assert_eq(plsim_crash(s, LOGDIR, PL_CRASH_KEEP_ALL, 0, &after, NULL), 0);
        cr_assert_eq(pl_image_write_dir(after, dir), 0);
        pl_image_free(after);
        if (rw_verify_dir(dir, why, sizeof why) != 0) {
            tot.failed = 1;
            save_failure(it, "verify failed after recovery");
            plsim_free(s);
            cr_assert_fail("seed %" PRIu64 ", crash point %" PRIu64 " variant %u: after recovery, %s",
                     parent->seed, it->point, it->variant, why);
        }
        tot.verifies++;
    }
    plsim_free(s);
}

static void tmp_init(void)
{
    snprintf(tot.tmp, sizeof tot.tmp, "/tmp/evrel-pl-XXXXXX");
    cr_assert_not_null(mkdtemp(tot.tmp));
}

static void tmp_fini(void)
{
    char cmd[300];
    if (!tot.failed) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tot.tmp);
        (void)system(cmd);
    }
}

static void run_workloads(const char *label, rw_cfg base, uint64_t default_seed)
{
    uint64_t seed = rw_seed(label, default_seed);
    uint64_t runs = rw_env_u64("EVLOG_REL_PL_RUNS", 2);
    uint64_t i;
    tot.state_limit = rw_env_u64("EVLOG_REL_PL_STATES", 0);
    for (i = 0; i < runs && !(tot.state_limit && tot.states >= tot.state_limit); i++) {
        plsim *sim = plsim_new();
        rw_model m;
        rw_counts c;
        rw_result res;
        plrun r;
        rw_cfg cfg = base;
        int rc;
        memset(&c, 0, sizeof c);
        memset(&r, 0, sizeof r);
        rw_model_init(&m, rw_mix(seed + i));
        r.sim = sim;
        r.m = &m;
        r.seed = rw_mix(seed + i);
        r.variants = (unsigned)rw_env_u64("EVLOG_REL_PL_VARIANTS", 4);
        r.depth = 1;

        r.nest_every = (unsigned)rw_env_u64("EVLOG_REL_PL_NEST_EVERY", 32);
        cfg.seed = r.seed;
        cfg.steps = (unsigned)rw_env_u64("EVLOG_REL_PL_STEPS", base.steps);
        cfg.io = plsim_io(sim);
        plsim_set_hook(sim, hook, &r);
        rc = rw_run(&m, LOGDIR, &cfg, &c, &res, drain, &r);
        plsim_set_hook(sim, NULL, NULL);
        drain(&r);
        tot.points += r.points;
        cr_assert_eq(rc, 0, "seed %" PRIu64 " run %" PRIu64 ": the workload itself failed at step "
                     "%u: %s: %s (%s) %s", seed, i, res.step, res.call,
                     rc == RW_EBROKEN ? "broken promise" : evlog_strerror(rc), res.errmsg, res.why);
        rw_model_free(&m);
        plsim_free(sim);
    }
    fprintf(stderr, "power-loss %s: %" PRIu64 " crash points, %" PRIu64 " states (+%" PRIu64
            " crashed again in recovery), %" PRIu64 " dirty pages drawn (%" PRIu64 " torn), %"
            PRIu64 " directory operations undone, %" PRIu64 " records checked, %" PRIu64
            " verifies: nothing lost\n", label, tot.points, tot.states, tot.nested_states,
            tot.dirty_pages, tot.torn, tot.dir_ops_undone, tot.records, tot.verifies);
}

TestSuite(power_loss, .init = tmp_init, .fini = tmp_fini, .timeout = 900);

Test(power_loss, appends_and_rolls)
{
    rw_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.steps = 90;
    cfg.reopen_every = 40;
    run_workloads("power_loss.appends_and_rolls", cfg, 1);
}

Test(power_loss, truncations)
{
    rw_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.steps = 70;
    cfg.truncations = 1;
    cfg.reopen_every = 30;
    run_workloads("power_loss.truncations", cfg, 2);
}

Test(power_loss, always_sync_lz4)
{
    rw_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.steps = 60;
    cfg.sync_mode = EVLOG_SYNC_ALWAYS;
    cfg.compression = EVLOG_COMPRESS_LZ4;
    cfg.truncations = 1;
    run_workloads("power_loss.always_sync_lz4", cfg, 3);
}

/* Lingering appends: batches that gather many appends, closed by size, by
 * a read of the writer's own, a sync, a truncation, a roll or the close
 * (the linger itself is long enough never to run out: the crash points
 * stay those of the seed). */
Test(power_loss, lingering_appends)
{
    rw_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.steps = 70;
    cfg.truncations = 1;
    cfg.reopen_every = 30;
    cfg.linger_us = EVLOG_MAX_LINGER_US;
    run_workloads("power_loss.lingering_appends", cfg, 4);
}
