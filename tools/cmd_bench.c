/*
 * cmd_bench.c - `evlog bench [--quick] [--json] [--dir D] [--linger-us N]
 * [--caller-ts]`: run evlog's own workloads (bench/workload.c) with the
 * machine's limit loops they are measured against, and print a summary
 * table, or JSON lines with --json. Progress goes to stderr when it is a
 * terminal.
 *
 * The full comparison with peers (LMDB, RocksDB, LevelDB, SQLite) is
 * bench/evlog-bench, run by scripts/bench.sh; see docs/performance.md.
 *
 * Writes only inside a directory of its own under D (default $TMPDIR or
 * /var/tmp), removed at the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "workload.h"

int cmd_bench(int argc, char **argv);

static void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: evlog bench [--quick] [--json] [--dir D] [--reps N] [--seed S] [--no-open]\n"
            "                   [--linger-us N] [--caller-ts]\n"
            "  --quick    a run of about a minute (default: the full run, ~10 minutes, up to\n"
            "             a 16 GiB log for the open-after-kill test)\n"
            "  --json     JSON lines on stdout instead of the table\n"
            "  --dir D    scratch directory (default $TMPDIR or /var/tmp); a subdirectory\n"
            "             of it is used and removed\n"
            "  --reps N   repetitions of each measurement (default 2 quick, 3 full)\n"
            "  --seed S   seed of the data and of the random offsets\n"
            "  --no-open  skip the open-after-kill -9 test (the one that needs disk)\n"
            "  --linger-us N\n"
            "             lingering appends (evlog_options.linger_us, 1 to %u): the linger\n"
            "             of the append_single_linger* runs (default %u) and of the batched\n"
            "             appends, JSON events and append-to-read (default none). The\n"
            "             plain single appends, whose log the seek and read tests use, the\n"
            "             synced workloads and the kill -9 test never linger\n"
            "  --caller-ts\n"
            "             the batched appends, JSON events and append-to-read give each\n"
            "             record its own timestamp, not 0 (the single appends run both ways)\n",
            EVLOG_MAX_LINGER_US, WL_DEFAULT_LINGER_US);
}

/* N of --linger-us: a whole decimal number from 1 to EVLOG_MAX_LINGER_US.
 * Returns 0, or -1 (nothing stored). */
static int parse_linger(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > EVLOG_MAX_LINGER_US)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/*
 * Returns 0 when every workload ran, 1 when one failed (the others still
 * ran and were reported), 2 on a usage error.
 */
int cmd_bench(int argc, char **argv)
{
    wl_config c;
    bu_sink s;
    const char *base = getenv("TMPDIR");
    char dir[4096];
    int json = 0, i, rc;

    memset(&c, 0, sizeof c);
    c.seed = 20250101;
    if (!base || !*base)
        base = "/var/tmp";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--quick"))
            c.quick = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--no-open"))
            c.skip_open = 1;
        else if (!strcmp(a, "--caller-ts"))
            c.caller_ts = 1;
        else if (!strcmp(a, "--linger-us") && has_value) {
            if (parse_linger(argv[++i], &c.linger_us) != 0) {
                fprintf(stderr, "evlog bench: --linger-us wants 1 to %u, not '%s'\n",
                        EVLOG_MAX_LINGER_US, argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--dir") && has_value)
            base = argv[++i];
        else if (!strcmp(a, "--reps") && has_value)
            c.reps = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && has_value)
            c.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "evlog bench: unknown or incomplete option '%s'\n", a);
            bench_usage(stderr);
            return 2;
        }
    }
    if (snprintf(dir, sizeof dir, "%s/evlog-bench.%ld", base, (long)getpid()) >=
        (int)sizeof dir) {
        fprintf(stderr, "evlog bench: directory name too long\n");
        return 2;
    }
    c.dir = dir;

    memset(&s, 0, sizeof s);
    s.json = json ? stdout : NULL;
    s.table = json ? NULL : stdout;
    s.progress = isatty(2);
    if (!json) {
        printf("evlog %s bench, %s mode, seed %llu, scratch %s", evlog_version(),
               c.quick ? "quick" : "full", (unsigned long long)c.seed, dir);
        if (c.linger_us)
            printf(", linger %u us", c.linger_us);
        if (c.caller_ts)
            printf(", caller timestamps");
        printf("\n");
    }

    rc = wl_run_suite(&c, &s, NULL);
    bu_rmtree(dir);
    if (!json)
        printf("%s\n", rc ? "some workloads failed (see stderr)" : "done");
    return rc ? 1 : 0;
}
