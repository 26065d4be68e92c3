/*
 * workload.h - evlog's benchmark workloads and the libc limit loops they are
 * compared with. Shared by bench/evlog_bench.c (the full comparison, with
 * peers) and tools/cmd_bench.c (`evlog bench`). Includes only evlog.h and
 * libc headers (through bench_util.h).
 *
 * Every workload writes its results through a bu_sink (JSON lines and/or a
 * terminal table); ratios between figures are measured within one run,
 * with the repetitions of the two sides interleaved, because the machine
 * is shared and its speed drifts.
 */
#ifndef EVLOG_BENCH_WORKLOAD_H
#define EVLOG_BENCH_WORKLOAD_H

#include "bench_util.h"
#include "evlog.h"

/*-******************* limit loops (limits.c) *******************/
typedef struct bl_copy_out {
    uint64_t records;
    uint64_t bytes;        /* payload: key + value */
    uint64_t framed_bytes; /* with the 8-byte lengths */
    double secs;
    double cpu_secs;       /* process CPU time of the copy */
    int prefault_ok;       /* MADV_POPULATE_WRITE worked */
} bl_copy_out;

/* The big-endian 8-byte key of record `seq`, as every engine gets it. */
void wl_key(unsigned char key[8], uint64_t seq);

/* Frame records (u64 length, 8-byte key, value of `value_size` bytes from
 * `pool`) into a fresh file of `file_bytes`, preallocated with
 * posix_fallocate and mapped MAP_SHARED, until it is full. `prefault`:
 * populate with MADV_POPULATE_WRITE 4 MiB ahead of the copy, 1 MiB at a
 * time. The file is removed unless `keep`. Returns 0 or -1 (errno). */
int bl_copy(const char *path, uint64_t file_bytes, int value_size, int prefault,
            const bu_pool *pool, int keep, bl_copy_out *out);
/* Read every 8-byte word of the file at `path` through a fresh read-only
 * mapping, summing them. Returns 0 or -1. */
int bl_scan(const char *path, uint64_t *bytes, double *secs, double *cpu_secs,
            uint64_t *sum);
/* The same framed records through write(2) of `chunk`-byte buffers into a
 * new file (removed after). Returns 0 or -1. */
int bl_write(const char *path, uint64_t records, int value_size, const bu_pool *pool,
             size_t chunk, double *secs);
/* `n` times: pwrite 4 KiB at the end of the file then fdatasync; latencies
 * in ns into lat_ns[n]. `preallocated`: the blocks are written and synced
 * first, so that each sync carries no metadata. Returns 0 or -1. */
int bl_fdatasync(const char *path, int n, int preallocated, double *lat_ns);

typedef struct bl_random_read_out {
    uint64_t records;         /* framed records found in the file */
    uint64_t framed_bytes;    /* their bytes, lengths included */
    uint64_t bulk_ops;        /* operations of the untimed loop */
    double bulk_secs;         /* its seconds */
    double timer_overhead_ns; /* subtracted from every latency */
} bl_random_read_out;

/* Random reads by position, the limit of evlog's seek + read: over a fresh
 * read-only MAP_SHARED mapping of the file bl_copy wrote at `path` (kept),
 * record every record's position first (a walk over the whole mapping,
 * after an fdatasync, both untimed: the file is clean and warm), then
 * `nops` times draw a record uniformly with bu_rng from `seed` and copy it
 * (u64 length, key, value) into a buffer, each copy between two
 * bu_now_ns() calls: lat_ns[nops] receives the latencies minus the
 * timer's median cost (at least 0). Then `nops` more copies, the generator
 * going on, timed as a whole (bulk_secs). The file is left in place.
 * Returns 0 or -1 (errno; EINVAL: no framed record at the start). */
int bl_random_read(const char *path, uint64_t nops, uint64_t seed, double *lat_ns,
                   bl_random_read_out *out);

/*-******************* evlog workloads (workload.c) *******************/
/* The caller timestamps' base, 2025-01-01T00:00:00Z in ns since the epoch:
 * with caller timestamps, record i of a run carries WL_TS_BASE + i, as a
 * service passing its events' own times would (and evlog reads no clock). */
#define WL_TS_BASE 1735689600000000000ll
/* The linger of the lingering single appends unless the caller sets one. */
#define WL_DEFAULT_LINGER_US 1000u

typedef struct wl_config {
    const char *dir;  /* scratch directory; created; removed at the end */
    int quick;        /* the < 2 minute mode */
    int reps;         /* repetitions; 0: 2 in quick mode, 3 in full mode */
    uint64_t seed;    /* data and offsets; printed with the results */
    double open_max_gib; /* largest log of the kill -9 test; 0: default */
    int skip_open;    /* skip the kill -9 test */
    /* `evlog bench --linger-us N`: the linger of the lingering single
     * appends (0: WL_DEFAULT_LINGER_US) and of the other EVLOG_SYNC_NONE
     * append workloads: batched appends, JSON events, append-to-read (0:
     * none). The plain single appends, whose log the seek and read tests
     * use, never linger; the EVLOG_SYNC_ALWAYS workloads (where evlog
     * ignores linger) and the kill -9 test keep their settings. */
    uint32_t linger_us;
    /* `evlog bench --caller-ts`: those same other workloads give every
     * record its own timestamp (WL_TS_BASE + its index) instead of 0. */
    int caller_ts;
} wl_config;

/* The figures the comparison program needs for its ratios with peers. */
typedef struct wl_summary {
    double single_rps;
    double batch_rps[2];      /* 100 B and 1 KiB values, no sync */
    double batch_sync_rps;    /* 100 B, EVLOG_SYNC_ALWAYS, 1000 per batch */
    double read_bps;          /* sequential read of the 1 KiB log */
    double seek_p50_ns;
    double seek_mean_ns;
} wl_summary;

/* How an append workload writes its records, beyond their sizes and
 * batching. All zero: evlog's defaults. */
typedef struct wl_append_mode {
    uint32_t linger_us; /* evlog_options.linger_us (options version 2); 0: none.
                           The timed loop ends with evlog_flush(), so that
                           every record counted is visible to readers. */
    int caller_ts;      /* 1: record i gets timestamp WL_TS_BASE + i;
                           0: timestamp 0 (evlog reads the clock) */
    unsigned flags;     /* evlog_options.flags: 0 or EVLOG_UNCACHE_SEALED */
} wl_append_mode;

/* Append `records` records (8-byte key, value of `value_size` bytes) in
 * appends of `batch` records to a new log in `dir` with `sync_mode` and
 * `mode` (NULL: the defaults), and fill `r` with one run (adding to its
 * runs; its settings say how the run was made; its extras give the
 * batches the log holds). Leaves the log in place when `keep`. Returns 0
 * or a negative evlog error. */
int wl_append_fixed(const char *dir, const bu_pool *pool, int value_size, uint64_t records,
                    int batch, int sync_mode, const wl_append_mode *mode, int keep,
                    bu_result *r);

/* Run every evlog workload with its limit loops and ratios into `s`;
 * `sum` (may be NULL) receives the key figures. Returns 0, or -1 when a
 * workload failed (the others still ran; the failure is reported). */
int wl_run_suite(const wl_config *c, bu_sink *s, wl_summary *sum);

#endif /* EVLOG_BENCH_WORKLOAD_H */
