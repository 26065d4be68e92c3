/*
 * peers.h - the engines evlog is compared with, behind one small table of
 * functions so that the comparison program drives them all the same way:
 * begin a batch, put records with sequential 8-byte big-endian keys (the
 * rowid for SQLite), commit. Each peer is compiled only when its library
 * was found (BENCH_HAVE_LMDB, _ROCKSDB, _LEVELDB, _SQLITE).
 */
#ifndef EVLOG_BENCH_PEERS_H
#define EVLOG_BENCH_PEERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_peer {
    const char *name;
    /* library version as a string, into buf */
    void (*version)(char *buf, size_t cap);
    /* the settings used, by mode (sync = a sync per commit), with the
     * documentation that recommends them */
    const char *settings_nosync;
    const char *settings_sync;
    int (*open)(void **h, const char *dir, int sync);
    int (*begin)(void *h);
    int (*put)(void *h, const unsigned char key[8], uint64_t seq, const void *v, size_t n);
    int (*commit)(void *h);
    /* closes and frees; returns 0 or -1 */
    int (*close)(void *h);
} bench_peer;

/* The peers compiled in, NULL-terminated. */
extern const bench_peer *const bench_peers[];

/* LMDB reads on a database written by the LMDB peer in `dir`: `n` gets of
 * uniform random keys below `records` (latency of each in lat_ns, minus
 * nothing: the caller subtracts the timer), then the seconds of a cursor
 * walk over every record. Returns 0, -1 on failure, -2 without LMDB. */
int bench_lmdb_reads(const char *dir, uint64_t records, uint64_t n, uint64_t seed,
                     double *lat_ns, double *bulk_secs, double *scan_secs,
                     uint64_t *scan_bytes);

#endif /* EVLOG_BENCH_PEERS_H */
