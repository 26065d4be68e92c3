/*
 * evlog_bench.c - the full comparison: the machine's limits, evlog's
 * workloads (workload.c) and the peers (peers.c), all in one run, written as
 * JSON lines for scripts/bench.sh to turn into docs/performance.md.
 *
 *   evlog-bench [--quick] [--dir D] [--out FILE] [--reps N] [--seed S]
 *               [--open-max-gib G] [--no-evlog] [--no-peers] [--no-open]
 *
 * Ratios are taken within the run, with the repetitions of the engines
 * interleaved, because the machine is shared and its speed drifts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "limits_hash.h"
#include "peers.h"
#include "workload.h"

#define BATCH 1000

typedef struct opts {
    int quick, reps, no_evlog, no_peers, no_open;
    uint64_t seed;
    double open_max_gib;
    const char *dir, *out;
} opts;

static void usage(void)
{
    fprintf(stderr,
            "usage: evlog-bench [--quick] [--dir D] [--out FILE] [--reps N] [--seed S]\n"
            "                   [--open-max-gib G] [--no-evlog] [--no-peers] [--no-open]\n");
}

static int parse(int argc, char **argv, opts *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->seed = 20250101;
    o->dir = "/var/tmp/evlog-bench";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick"))
            o->quick = 1;
        else if (!strcmp(a, "--no-evlog"))
            o->no_evlog = 1;
        else if (!strcmp(a, "--no-peers"))
            o->no_peers = 1;
        else if (!strcmp(a, "--no-open"))
            o->no_open = 1;
        else if (v && !strcmp(a, "--dir"))
            o->dir = argv[++i];
        else if (v && !strcmp(a, "--out"))
            o->out = argv[++i];
        else if (v && !strcmp(a, "--reps"))
            o->reps = atoi(argv[++i]);
        else if (v && !strcmp(a, "--seed"))
            o->seed = strtoull(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--open-max-gib"))
            o->open_max_gib = atof(argv[++i]);
        else {
            usage();
            return -1;
        }
    }
    if (o->reps <= 0)
        o->reps = o->quick ? 2 : 3;
    return 0;
}

/*-******************* the machine *******************/
static void emit_machine(bu_sink *s, const opts *o)
{
    char cpu[128], kernel[128], fs[32], xxh[32], lz4[32], ncpu[16], mem[32], seed[32],
        reps[16], date[64], load[64], peers[256] = "", pv[64], freeg[32];
    const char *kv[48];
    size_t n = 0;
    struct sysinfo si;
    time_t now = time(NULL);
    double la[3] = {0, 0, 0};
    int i;
    bu_machine(cpu, sizeof cpu, kernel, sizeof kernel, fs, sizeof fs, o->dir);
    bench_hash_versions(xxh, sizeof xxh, lz4, sizeof lz4);
    snprintf(ncpu, sizeof ncpu, "#%ld", sysconf(_SC_NPROCESSORS_ONLN));
    if (sysinfo(&si) == 0)
        snprintf(mem, sizeof mem, "#%.1f", (double)si.totalram * si.mem_unit / 1073741824.0);
    else
        snprintf(mem, sizeof mem, "#0");
    snprintf(freeg, sizeof freeg, "#%.1f", (double)bu_free_bytes(o->dir) / 1073741824.0);
    snprintf(seed, sizeof seed, "#%llu", (unsigned long long)o->seed);
    snprintf(reps, sizeof reps, "#%d", o->reps);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (getloadavg(la, 3) < 0)
        la[0] = la[1] = la[2] = 0;
    snprintf(load, sizeof load, "%.2f %.2f %.2f", la[0], la[1], la[2]);
    for (i = 0; bench_peers[i]; i++) {
        size_t l = strlen(peers);
        bench_peers[i]->version(pv, sizeof pv);
        snprintf(peers + l, sizeof peers - l, "%s%s %s", i ? ", " : "", bench_peers[i]->name, pv);
    }
#define KV(k, v) (kv[n++] = (k), kv[n++] = (v))
    KV("date", date);
    KV("mode", o->quick ? "quick" : "full");
    KV("cpu", cpu);
    KV("cpus", ncpu);
    KV("mem_gib", mem);
    KV("kernel", kernel);
    KV("fs", fs);
    KV("dir", o->dir);
    KV("free_gib", freeg);
    KV("loadavg_start", load);
    KV("compiler", __VERSION__);
    KV("evlog", evlog_version());
    KV("xxhash", xxh);
    KV("lz4", lz4);
    KV("peers", peers);
    KV("seed", seed);
    KV("reps", reps);
#undef KV
    bu_emit_kv(s, "machine", kv, n);
}

/*-******************* peers *******************/
/* Put `n` records (value `vsize` bytes) in commits of `batch` into a new
 * database of `p` in `dir`; one run into r. */
static int peer_run(const bench_peer *p, const char *dir, int sync, const bu_pool *pool,
                    int vsize, uint64_t n, int batch, bu_result *r)
{
    void *h;
    unsigned char key[8];
    uint64_t i = 0, t0, t1, c0, c1;
    int rc = 0, j;
    bu_rmtree(dir);
    if (p->open(&h, dir, sync) != 0)
        return -1;
    c0 = bu_cpu_ns();
    t0 = bu_now_ns();
    while (i < n && rc == 0) {
        uint64_t k = n - i < (uint64_t)batch ? n - i : (uint64_t)batch, e = i + k;
        rc = p->begin(h);
        for (; i < e && rc == 0; i++) {
            uint64_t seq = i;
            for (j = 7; j >= 0; j--, seq >>= 8)
                key[j] = (unsigned char)seq;
            rc = p->put(h, key, i, bu_pool_at(pool, i, (size_t)vsize), (size_t)vsize);
        }
        if (rc == 0)
            rc = p->commit(h);
    }
    t1 = bu_now_ns();
    c1 = bu_cpu_ns();
    p->close(h);
    bu_result_extra(r, "close_secs", (double)(bu_now_ns() - t1) / 1e9);
    bu_result_extra(r, "disk_mb", (double)bu_dir_bytes(dir, 1, NULL, NULL) / 1e6);
    if (rc)
        return -1;
    r->value_size = vsize;
    r->batch = batch;
    r->records = n;
    r->bytes = n * (8 + (uint64_t)vsize);
    /* process CPU time includes the peers' background threads (flushes,
     * compactions) while the loop ran; meaningless with a sync per commit */
    bu_result_add_run_cpu(r, (double)(t1 - t0) / 1e9, sync ? 0 : (double)(c1 - c0) / 1e9);
    snprintf(r->settings, sizeof r->settings, "%s", sync ? p->settings_sync : p->settings_nosync);
    return 0;
}

#define MAX_ENGINES 8

/* One workload over evlog and every peer, repetitions interleaved; emits
 * each engine's result and evlog's ratio to each. */
static void compare(bu_sink *s, const opts *o, const bu_pool *pool, const char *workload,
                    int vsize, uint64_t n, int batch, int sync, int keep_lmdb)
{
    bu_result r[MAX_ENGINES];
    int ok[MAX_ENGINES];
    int np = 0, e, rep;
    char dir[4096];
    while (bench_peers[np] && np < MAX_ENGINES - 1)
        np++;
    for (e = 0; e <= np; e++) {
        bu_result_init(&r[e], workload, e == 0 ? "evlog" : bench_peers[e - 1]->name);
        ok[e] = 1;
    }
    for (rep = 0; rep < o->reps; rep++) {
        for (e = 0; e <= np; e++) {
            if (!ok[e])
                continue;
            bu_progress(s, "%s %d B x %llu, batch %d%s: %s, repetition %d/%d", workload, vsize,
                        (unsigned long long)n, batch, sync ? ", synced" : "", r[e].engine,
                        rep + 1, o->reps);
            snprintf(dir, sizeof dir, "%s/peer-%s", o->dir, r[e].engine);
            if (e == 0)
                ok[e] = wl_append_fixed(dir, pool, vsize, n, batch,
                                        sync ? EVLOG_SYNC_ALWAYS : EVLOG_SYNC_NONE, NULL,
                                        0, &r[e]) == 0;
            else {
                ok[e] = peer_run(bench_peers[e - 1], dir, sync, pool, vsize, n, batch,
                                 &r[e]) == 0;
                if (!(keep_lmdb && rep == o->reps - 1 && !strcmp(r[e].engine, "lmdb")))
                    bu_rmtree(dir);
            }
        }
    }
    for (e = 0; e <= np; e++)
        if (ok[e])
            bu_emit_result(s, &r[e]);
    for (e = 1; e <= np; e++) {
        bu_ratio q;
        double v[BU_MAX_RUNS];
        int i, k = 0;
        if (!ok[0] || !ok[e])
            continue;
        memset(&q, 0, sizeof q);
        snprintf(q.name, sizeof q.name, "%s_%d_b%d%s_evlog_vs_%s", workload, vsize, batch,
                 sync ? "_sync" : "", r[e].engine);
        snprintf(q.what, sizeof q.what, "evlog / %s records/s, %s, %d B values, %d per %s",
                 r[e].engine, workload, vsize, batch, sync ? "durable commit" : "commit");
        q.value = bu_result_best_rps(&r[0]) / bu_result_best_rps(&r[e]);
        for (i = 0; i < r[0].nruns && i < r[e].nruns; i++)
            v[k++] = r[e].secs[i] / r[0].secs[i];
        bu_sort(v, (size_t)k);
        q.paired = k ? v[k / 2] : q.value;
        if (bu_result_best_cpu_rps(&r[0]) > 0 && bu_result_best_cpu_rps(&r[e]) > 0)
            q.cpu = bu_result_best_cpu_rps(&r[0]) / bu_result_best_cpu_rps(&r[e]);
        bu_emit_ratio(s, &q);
    }
}

static void lmdb_reads(bu_sink *s, const opts *o, const bu_pool *pool, const wl_summary *ws)
{
    const bench_peer *lm = NULL;
    char dir[4096];
    int i, pass;
    for (i = 0; bench_peers[i]; i++)
        if (!strcmp(bench_peers[i]->name, "lmdb"))
            lm = bench_peers[i];
    if (!lm)
        return;
    if (snprintf(dir, sizeof dir, "%s/peer-lmdb", o->dir) >= (int)sizeof dir)
        return;
    for (pass = 0; pass < 2; pass++) {
        /* pass 0: 100 B values, random gets; pass 1: 1 KiB values, the scan.
         * The record counts match evlog's logs of the same tests. */
        int v = pass ? 1024 : 100;
        uint64_t file = o->quick ? (256ull << 20) : (1ull << 30);
        uint64_t n = file / (16u + (unsigned)v), nops = o->quick ? 200000 : 1000000;
        double *lat = malloc(sizeof(double) * nops), bulk = 0, scan = 0;
        double ovh = bu_timer_overhead_ns();
        uint64_t sbytes = 0, k;
        bu_result w, g, sc;
        if (!lat)
            return;
        bu_result_init(&w, "lmdb_load", "lmdb");
        bu_progress(s, "lmdb reads: loading %llu x %d B", (unsigned long long)n, v);
        if (peer_run(lm, dir, 0, pool, v, n, BATCH, &w) != 0 ||
            bench_lmdb_reads(dir, n, nops, o->seed ^ 0x5eed, lat, &bulk, &scan, &sbytes) != 0) {
            free(lat);
            bu_rmtree(dir);
            return;
        }
        for (k = 0; k < nops; k++)
            lat[k] = lat[k] > ovh ? lat[k] - ovh : 0;
        if (pass == 0) {
            bu_ratio q;
            bu_result_init(&g, "random_get", "lmdb");
            g.value_size = v;
            g.records = nops;
            bu_result_add_run(&g, bulk);
            bu_result_lat(&g, lat, nops);
            bu_result_extra(&g, "timer_overhead_ns", ovh);
            bu_result_extra(&g, "db_records", (double)n);
            snprintf(g.settings, sizeof g.settings,
                     "one MDB_RDONLY transaction, mdb_get of uniform random 8-byte keys; "
                     "database loaded with MDB_APPEND, page cache warm");
            bu_emit_result(s, &g);
            if (ws && ws->seek_p50_ns > 0) {
                memset(&q, 0, sizeof q);
                snprintf(q.name, sizeof q.name, "seek_p50_evlog_vs_lmdb_get");
                snprintf(q.what, sizeof q.what,
                         "evlog seek+read median / LMDB random get median (lower is faster)");
                q.value = ws->seek_p50_ns / g.lat_p50;
                q.paired = ws->seek_mean_ns / (1e9 / bu_result_best_rps(&g));
                bu_emit_ratio(s, &q);
            }
        } else {
            bu_ratio q;
            bu_result_init(&sc, "read_seq", "lmdb");
            sc.value_size = v;
            sc.batch = BATCH;
            sc.records = n;
            sc.bytes = sbytes;
            bu_result_add_run(&sc, scan);
            snprintf(sc.settings, sizeof sc.settings,
                     "one MDB_RDONLY transaction, cursor MDB_NEXT over every record; page "
                     "cache warm");
            bu_emit_result(s, &sc);
            if (ws && ws->read_bps > 0) {
                memset(&q, 0, sizeof q);
                snprintf(q.name, sizeof q.name, "read_seq_evlog_vs_lmdb");
                snprintf(q.what, sizeof q.what,
                         "evlog sequential read / LMDB cursor scan, bytes/s, 1 KiB values");
                q.value = ws->read_bps / bu_result_best_bps(&sc);
                q.paired = q.value;
                bu_emit_ratio(s, &q);
            }
        }
        free(lat);
        bu_rmtree(dir);
    }
}

int main(int argc, char **argv)
{
    opts o;
    bu_sink s;
    bu_pool pool;
    wl_summary ws;
    FILE *out = stdout;
    char scratch[4096];
    int failed = 0;
    uint64_t t0 = bu_now_ns();

    if (parse(argc, argv, &o) != 0)
        return 2;
    if (o.out && !(out = fopen(o.out, "w"))) {
        fprintf(stderr, "evlog-bench: %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    memset(&s, 0, sizeof s);
    s.json = out;
    s.table = o.out ? stdout : NULL;
    s.progress = isatty(2);
    /* everything goes into a directory of our own, removed at the end */
    snprintf(scratch, sizeof scratch, "%s/evlog-bench.%ld", o.dir, (long)getpid());
    if (bu_mkdirs(scratch) != 0) {
        fprintf(stderr, "evlog-bench: cannot create %s: %s\n", scratch, strerror(errno));
        return 1;
    }
    o.dir = scratch;
    if (bu_pool_init(&pool, 1u << 20, o.seed) != 0)
        return 1;
    memset(&ws, 0, sizeof ws);
    emit_machine(&s, &o);

    bu_progress(&s, "XXH3 and LZ4 limits");
    bench_hash_limits(&s, o.quick, o.reps, &pool, o.seed);

    if (!o.no_evlog) {
        wl_config c;
        memset(&c, 0, sizeof c);
        c.dir = o.dir;
        c.quick = o.quick;
        c.reps = o.reps;
        c.seed = o.seed;
        c.open_max_gib = o.open_max_gib;
        c.skip_open = o.no_open;
        if (wl_run_suite(&c, &s, &ws) != 0)
            failed = 1;
    }

    if (!o.no_peers) {
        static const int quick_sizes[] = {100, 1024};
        static const int full_sizes[] = {16, 100, 256, 1024, 4096};
        const int *sizes = o.quick ? quick_sizes : full_sizes;
        int nsizes = o.quick ? 2 : 5, i;
        uint64_t target = o.quick ? (48ull << 20) : (256ull << 20);
        for (i = 0; i < nsizes; i++) {
            uint64_t n = target / (8u + (unsigned)sizes[i]);
            compare(&s, &o, &pool, "batch_nosync", sizes[i], n, BATCH, 0, 0);
        }
        compare(&s, &o, &pool, "batch_sync", 100, (o.quick ? 30 : 200) * (uint64_t)BATCH,
                BATCH, 1, 0);
        compare(&s, &o, &pool, "single_nosync", 100, o.quick ? 200000 : 1000000, 1, 0, 0);
        lmdb_reads(&s, &o, &pool, o.no_evlog ? NULL : &ws);
    }

    {
        char secs[32], fl[8];
        const char *kv[4];
        snprintf(secs, sizeof secs, "#%.1f", (double)(bu_now_ns() - t0) / 1e9);
        snprintf(fl, sizeof fl, "#%d", failed);
        kv[0] = "secs";
        kv[1] = secs;
        kv[2] = "failed";
        kv[3] = fl;
        bu_emit_kv(&s, "end", kv, 4);
    }
    bu_rmtree(o.dir);
    bu_pool_free(&pool);
    if (out != stdout)
        fclose(out);
    return failed ? 1 : 0;
}
