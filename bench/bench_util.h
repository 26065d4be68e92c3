/*
 * bench_util.h - the plumbing every benchmark shares: clocks, statistics,
 * result records and their JSON-lines and table forms, deterministic data
 * (value pools, JSON play events), directories and /proc probes.
 *
 * This file and bench_util.c use only libc, so that tools/cmd_bench.c can
 * build them into the `evlog` tool without the benchmark's other libraries.
 */
#ifndef EVLOG_BENCH_UTIL_H
#define EVLOG_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*-******************* clocks *******************/
/* CLOCK_MONOTONIC in nanoseconds. Cannot fail. */
uint64_t bu_now_ns(void);
/* CPU time of the whole process (user + system, all threads) in ns: a
 * figure that other processes on a shared machine disturb far less than
 * the wall clock. Cannot fail. */
uint64_t bu_cpu_ns(void);
/* The median cost of one bu_now_ns() call, measured once; subtract it from
 * per-operation timings (it is also reported). */
double bu_timer_overhead_ns(void);

/*-******************* statistics *******************/
/* Sort `v` in place and return its p-th percentile (0 <= p <= 100) by
 * nearest rank; 0 for n == 0. */
void bu_sort(double *v, size_t n);
double bu_pct_sorted(const double *v, size_t n, double p);

/*-******************* random *******************/
/* xorshift64*: deterministic from the seed, never 0. */
typedef struct bu_rng { uint64_t s; } bu_rng;
void bu_rng_seed(bu_rng *r, uint64_t seed);
static inline uint64_t bu_rng_next(bu_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
/* Uniform in [0, n). */
static inline uint64_t bu_rng_below(bu_rng *r, uint64_t n)
{
    return n ? bu_rng_next(r) % n : 0;
}

/*-******************* data *******************/
/* A pool of printable pseudo-random bytes; value i of size v is the slice
 * at bu_pool_at(pool, i, v). Values overlap, which keeps the pool in cache
 * the same way for every engine. */
typedef struct bu_pool {
    unsigned char *bytes;
    size_t size;
} bu_pool;
int bu_pool_init(bu_pool *p, size_t size, uint64_t seed);
void bu_pool_free(bu_pool *p);
static inline const unsigned char *bu_pool_at(const bu_pool *p, uint64_t i, size_t v)
{
    return p->bytes + (size_t)((i * 7919u) % (uint64_t)(p->size - v));
}

/* A realistic JSON "play" event of 150 to 600 bytes, deterministic from the
 * generator's seed. Writes at most `cap` (>= 640) bytes into dst, no NUL;
 * returns the length. */
typedef struct bu_events {
    bu_rng rng;
    uint64_t n;
    int64_t ts_ms;
} bu_events;
void bu_events_init(bu_events *g, uint64_t seed);
size_t bu_events_next(bu_events *g, char *dst, size_t cap);

/*-******************* results *******************/
#define BU_MAX_RUNS 16
#define BU_MAX_EXTRA 24

/* One measured figure: a workload on an engine, repeated `nruns` times.
 * Throughput figures are records/s and bytes/s derived from `records`,
 * `bytes` and each run's seconds; latency figures fill the lat_* fields. */
typedef struct bu_result {
    char workload[48];
    char engine[24];
    char settings[320];
    char note[320];
    int value_size;   /* -1: variable */
    int key_size;
    int batch;        /* records per append/commit */
    uint64_t records; /* per run */
    uint64_t bytes;   /* payload (key + value) bytes per run */
    int nruns;
    double secs[BU_MAX_RUNS];
    double cpu[BU_MAX_RUNS]; /* process CPU seconds of each run; 0: not measured */
    int has_lat;
    uint64_t lat_n;
    double lat_p50, lat_p90, lat_p99, lat_p999, lat_max, lat_mean; /* ns */
    int nextra;
    struct { char key[40]; double val; } extra[BU_MAX_EXTRA];
} bu_result;

void bu_result_init(bu_result *r, const char *workload, const char *engine);
void bu_result_add_run(bu_result *r, double secs);
/* A run with its process CPU seconds too. */
void bu_result_add_run_cpu(bu_result *r, double secs, double cpu_secs);
/* Best records/s and bytes/s by CPU time; 0 when not measured. */
double bu_result_best_cpu_rps(const bu_result *r);
double bu_result_best_cpu_bps(const bu_result *r);
void bu_result_extra(bu_result *r, const char *key, double val);
/* Fill the lat_* fields from `n` latencies in ns (sorted in place). */
void bu_result_lat(bu_result *r, double *ns, size_t n);
/* Best (highest) and median records/s, bytes/s over the runs. */
double bu_result_best_rps(const bu_result *r);
double bu_result_median_rps(const bu_result *r);
double bu_result_worst_rps(const bu_result *r);
double bu_result_best_bps(const bu_result *r);
double bu_result_median_bps(const bu_result *r);

/* A target check: `value` of `name` against `target` (higher is better
 * when `higher_better`). */
typedef struct bu_ratio {
    char name[64];
    char what[200];
    double value;      /* from the best runs */
    double paired;     /* median of the per-repetition ratios, or value */
    double cpu;        /* the same ratio by CPU time (0: not measured) */
    double target;
    int higher_better;
    int has_target;
} bu_ratio;

/*-******************* output *******************/
/* Where results go: a JSON-lines stream (may be NULL), the terminal table
 * (may be NULL), progress on stderr when `progress`. */
typedef struct bu_sink {
    FILE *json;
    FILE *table;
    int progress;
    int table_header_done;
} bu_sink;

void bu_emit_result(bu_sink *s, const bu_result *r);
void bu_emit_ratio(bu_sink *s, const bu_ratio *q);
/* A free-form JSON line: `kv` holds pairs key, value as strings; a value
 * starting with '#' is written as a number (without the '#'). */
void bu_emit_kv(bu_sink *s, const char *type, const char *const *kv, size_t n);
void bu_progress(bu_sink *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Writes `in` into `out` (cap bytes) escaped for a JSON string. */
void bu_json_escape(char *out, size_t cap, const char *in);

/*-******************* system *******************/
/* Creates `path` and its parents; 0 or -1. */
int bu_mkdirs(const char *path);
/* Removes a directory tree; 0 or -1. */
int bu_rmtree(const char *path);
/* Bytes of regular files under `dir` (st_blocks * 512 when `allocated`),
 * and how many end in `suffix` (NULL: all). */
uint64_t bu_dir_bytes(const char *dir, int allocated, const char *suffix, unsigned *nfiles);
/* Free bytes for an unprivileged user on the file system of `path`. */
uint64_t bu_free_bytes(const char *path);
/* A field of /proc/self/status in kB (VmRSS, VmHWM, RssFile...), or -1. */
long bu_status_kb(const char *field);
/* Open descriptors of this process and lines of /proc/self/maps; when
 * `match` is not NULL only the maps lines containing it are counted. */
int bu_count_fds(void);
int bu_count_maps(const char *match);
/* "model name" of /proc/cpuinfo, the kernel release, the file system type
 * of `path`. */
void bu_machine(char *cpu, size_t cpucap, char *kernel, size_t kcap, char *fstype,
                size_t fscap, const char *path);

#endif /* EVLOG_BENCH_UTIL_H */
