/*
 * limits_hash.h - XXH3 and LZ4 throughput over the benchmark's bytes
 * (limits_hash.c); the comparison program only.
 */
#ifndef EVLOG_BENCH_LIMITS_HASH_H
#define EVLOG_BENCH_LIMITS_HASH_H

#include "bench_util.h"

/* XXH3 and LZ4 (compress, decompress) over 64 KiB blocks of framed
 * records of 100 B, 1 KiB and JSON values; `reps` runs each. 0 or -1. */
int bench_hash_limits(bu_sink *s, int quick, int reps, const bu_pool *pool, uint64_t seed);
/* The xxhash and lz4 library versions. */
void bench_hash_versions(char *xxh, size_t xcap, char *lz4, size_t lcap);

#endif /* EVLOG_BENCH_LIMITS_HASH_H */
