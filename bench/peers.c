/*
 * peers.c - LMDB, RocksDB, LevelDB and SQLite behind bench_peer (peers.h),
 * each with the settings its own documentation recommends for an
 * append-only, sequential-key workload; the settings strings say which.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

#define PEER_ERR(...) fprintf(stderr, "bench: " __VA_ARGS__)

/*-******************* LMDB *******************/
#ifdef BENCH_HAVE_LMDB
#include <lmdb.h>

typedef struct lmdb_h {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    MDB_cursor *cur;
} lmdb_h;

static void lmdb_version(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", mdb_version(NULL, NULL, NULL));
}

/* 64 GiB of address space: more than any run writes. */
#define LMDB_MAP (64ull << 30)

static int lmdb_open(void **out, const char *dir, int sync)
{
    lmdb_h *h = calloc(1, sizeof *h);
    MDB_txn *txn;
    int rc;
    if (!h)
        return -1;
    bu_mkdirs(dir);
    if ((rc = mdb_env_create(&h->env)) != 0 ||
        (rc = mdb_env_set_mapsize(h->env, LMDB_MAP)) != 0 ||
        (rc = mdb_env_open(h->env, dir, MDB_WRITEMAP | (sync ? 0 : MDB_NOSYNC), 0644)) != 0 ||
        (rc = mdb_txn_begin(h->env, NULL, 0, &txn)) != 0) {
        PEER_ERR("lmdb open: %s\n", mdb_strerror(rc));
        if (h->env)
            mdb_env_close(h->env);
        free(h);
        return -1;
    }
    if ((rc = mdb_dbi_open(txn, NULL, 0, &h->dbi)) != 0 || (rc = mdb_txn_commit(txn)) != 0) {
        PEER_ERR("lmdb dbi: %s\n", mdb_strerror(rc));
        mdb_env_close(h->env);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

static int lmdb_begin(void *p)
{
    lmdb_h *h = p;
    int rc = mdb_txn_begin(h->env, NULL, 0, &h->txn);
    if (rc == 0)
        rc = mdb_cursor_open(h->txn, h->dbi, &h->cur);
    if (rc)
        PEER_ERR("lmdb begin: %s\n", mdb_strerror(rc));
    return rc ? -1 : 0;
}

static int lmdb_put(void *p, const unsigned char key[8], uint64_t seq, const void *v, size_t n)
{
    lmdb_h *h = p;
    MDB_val k = {8, (void *)key}, d = {n, (void *)v};
    int rc = mdb_cursor_put(h->cur, &k, &d, MDB_APPEND);
    (void)seq;
    if (rc)
        PEER_ERR("lmdb put: %s\n", mdb_strerror(rc));
    return rc ? -1 : 0;
}

static int lmdb_commit(void *p)
{
    lmdb_h *h = p;
    int rc;
    mdb_cursor_close(h->cur);
    rc = mdb_txn_commit(h->txn);
    h->txn = NULL;
    if (rc)
        PEER_ERR("lmdb commit: %s\n", mdb_strerror(rc));
    return rc ? -1 : 0;
}

static int lmdb_close(void *p)
{
    lmdb_h *h = p;
    mdb_env_close(h->env); /* with MDB_NOSYNC this does not sync */
    free(h);
    return 0;
}

static const bench_peer peer_lmdb = {
    "lmdb", lmdb_version,
    "MDB_WRITEMAP (lmdb.h: faster for a database that fits in RAM) | MDB_NOSYNC; "
    "mdb_cursor_put with MDB_APPEND (lmdb.h: fast bulk load of sorted keys); one write "
    "transaction per batch; 8-byte big-endian keys; map size 64 GiB",
    "MDB_WRITEMAP; a durable (synced) commit per transaction; mdb_cursor_put with "
    "MDB_APPEND; one write transaction per batch; 8-byte big-endian keys; map size 64 GiB",
    lmdb_open, lmdb_begin, lmdb_put, lmdb_commit, lmdb_close};

int bench_lmdb_reads(const char *dir, uint64_t records, uint64_t n, uint64_t seed,
                     double *lat_ns, double *bulk_secs, double *scan_secs,
                     uint64_t *scan_bytes)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, d;
    unsigned char key[8];
    uint64_t i, x = 0, t0, bytes = 0;
    bu_rng rng;
    int rc, j;
    if ((rc = mdb_env_create(&env)) != 0)
        return -1;
    mdb_env_set_mapsize(env, LMDB_MAP);
    if ((rc = mdb_env_open(env, dir, MDB_RDONLY, 0644)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
        PEER_ERR("lmdb read open: %s\n", mdb_strerror(rc));
        mdb_env_close(env);
        return -1;
    }
    bu_rng_seed(&rng, seed);
    for (i = 0; i < n; i++) {
        uint64_t seq = bu_rng_below(&rng, records), a;
        for (j = 7; j >= 0; j--, seq >>= 8)
            key[j] = (unsigned char)seq;
        k.mv_size = 8;
        k.mv_data = key;
        a = bu_now_ns();
        rc = mdb_get(txn, dbi, &k, &d);
        if (rc == 0)
            x += ((const unsigned char *)d.mv_data)[0];
        lat_ns[i] = (double)(bu_now_ns() - a);
        if (rc) {
            PEER_ERR("lmdb get: %s\n", mdb_strerror(rc));
            break;
        }
    }
    t0 = bu_now_ns();
    for (i = 0; i < n && rc == 0; i++) {
        uint64_t seq = bu_rng_below(&rng, records);
        for (j = 7; j >= 0; j--, seq >>= 8)
            key[j] = (unsigned char)seq;
        k.mv_size = 8;
        k.mv_data = key;
        rc = mdb_get(txn, dbi, &k, &d);
        if (rc == 0)
            x += ((const unsigned char *)d.mv_data)[0];
    }
    *bulk_secs = (double)(bu_now_ns() - t0) / 1e9;
    t0 = bu_now_ns();
    if (rc == 0 && (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
            uint64_t w = 0;
            bytes += k.mv_size + d.mv_size;
            if (d.mv_size >= 8)
                memcpy(&w, d.mv_data, 8);
            x += w;
        }
        mdb_cursor_close(cur);
    }
    *scan_secs = (double)(bu_now_ns() - t0) / 1e9;
    *scan_bytes = bytes;
    __asm__ volatile("" : : "r"(x));
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc ? -1 : 0;
}
#else
int bench_lmdb_reads(const char *dir, uint64_t records, uint64_t n, uint64_t seed,
                     double *lat_ns, double *bulk_secs, double *scan_secs,
                     uint64_t *scan_bytes)
{
    (void)dir; (void)records; (void)n; (void)seed; (void)lat_ns;
    (void)bulk_secs; (void)scan_secs; (void)scan_bytes;
    return -2;
}
#endif

/*-******************* RocksDB *******************/
#ifdef BENCH_HAVE_ROCKSDB
#include <rocksdb/c.h>

typedef struct rocks_h {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_writebatch_t *wb;
} rocks_h;

static void rocks_version(char *buf, size_t cap)
{
#ifdef BENCH_ROCKSDB_VERSION
    snprintf(buf, cap, "%s", BENCH_ROCKSDB_VERSION);
#else
    snprintf(buf, cap, "unknown");
#endif
}

static int rocks_open(void **out, const char *dir, int sync)
{
    rocks_h *h = calloc(1, sizeof *h);
    char *err = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!h)
        return -1;
    h->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(h->opts, 1);
    /* the "Setup Options and Basic Tuning" page of the RocksDB wiki */
    rocksdb_options_increase_parallelism(h->opts, (int)(ncpu > 1 ? ncpu : 2));
    rocksdb_options_optimize_level_style_compaction(h->opts, 512ull << 20);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(h->opts, 1);
    rocksdb_options_set_bytes_per_sync(h->opts, 1 << 20);
    h->db = rocksdb_open(h->opts, dir, &err);
    if (err) {
        PEER_ERR("rocksdb open: %s\n", err);
        rocksdb_free(err);
        rocksdb_options_destroy(h->opts);
        free(h);
        return -1;
    }
    h->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(h->wo, sync ? 1 : 0);
    h->wb = rocksdb_writebatch_create();
    *out = h;
    return 0;
}

static int rocks_begin(void *p)
{
    rocks_h *h = p;
    rocksdb_writebatch_clear(h->wb);
    return 0;
}

static int rocks_put(void *p, const unsigned char key[8], uint64_t seq, const void *v, size_t n)
{
    rocks_h *h = p;
    (void)seq;
    rocksdb_writebatch_put(h->wb, (const char *)key, 8, v, n);
    return 0;
}

static int rocks_commit(void *p)
{
    rocks_h *h = p;
    char *err = NULL;
    rocksdb_write(h->db, h->wo, h->wb, &err);
    if (err) {
        PEER_ERR("rocksdb write: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    return 0;
}

static int rocks_close(void *p)
{
    rocks_h *h = p;
    rocksdb_close(h->db);
    rocksdb_writebatch_destroy(h->wb);
    rocksdb_writeoptions_destroy(h->wo);
    rocksdb_options_destroy(h->opts);
    free(h);
    return 0;
}

static const bench_peer peer_rocksdb = {
    "rocksdb", rocks_version,
    "RocksDB wiki 'Setup Options and Basic Tuning': IncreaseParallelism(#cores), "
    "OptimizeLevelStyleCompaction(512 MiB), level_compaction_dynamic_level_bytes, "
    "bytes_per_sync 1 MiB; default compression (Snappy); WAL on, WriteOptions.sync=false; "
    "one WriteBatch per batch",
    "as no-sync, with WriteOptions.sync=true: the WAL is synced at each batch write",
    rocks_open, rocks_begin, rocks_put, rocks_commit, rocks_close};
#endif

/*-******************* LevelDB *******************/
#ifdef BENCH_HAVE_LEVELDB
#include <leveldb/c.h>

typedef struct level_h {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_writeoptions_t *wo;
    leveldb_writebatch_t *wb;
} level_h;

static void level_version(char *buf, size_t cap)
{
    snprintf(buf, cap, "%d.%d", leveldb_major_version(), leveldb_minor_version());
}

static int level_open(void **out, const char *dir, int sync)
{
    level_h *h = calloc(1, sizeof *h);
    char *err = NULL;
    if (!h)
        return -1;
    h->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(h->opts, 1);
    /* options.h: "Larger values increase performance, especially during
     * bulk loads." */
    leveldb_options_set_write_buffer_size(h->opts, 64u << 20);
    h->db = leveldb_open(h->opts, dir, &err);
    if (err) {
        PEER_ERR("leveldb open: %s\n", err);
        leveldb_free(err);
        leveldb_options_destroy(h->opts);
        free(h);
        return -1;
    }
    h->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(h->wo, (unsigned char)(sync ? 1 : 0));
    h->wb = leveldb_writebatch_create();
    *out = h;
    return 0;
}

static int level_begin(void *p)
{
    level_h *h = p;
    leveldb_writebatch_clear(h->wb);
    return 0;
}

static int level_put(void *p, const unsigned char key[8], uint64_t seq, const void *v, size_t n)
{
    level_h *h = p;
    (void)seq;
    leveldb_writebatch_put(h->wb, (const char *)key, 8, v, n);
    return 0;
}

static int level_commit(void *p)
{
    level_h *h = p;
    char *err = NULL;
    leveldb_write(h->db, h->wo, h->wb, &err);
    if (err) {
        PEER_ERR("leveldb write: %s\n", err);
        leveldb_free(err);
        return -1;
    }
    return 0;
}

static int level_close(void *p)
{
    level_h *h = p;
    leveldb_close(h->db);
    leveldb_writebatch_destroy(h->wb);
    leveldb_writeoptions_destroy(h->wo);
    leveldb_options_destroy(h->opts);
    free(h);
    return 0;
}

static const bench_peer peer_leveldb = {
    "leveldb", level_version,
    "write_buffer_size 64 MiB (options.h: larger values increase performance, especially "
    "during bulk loads); other options default (Snappy, 4 KiB blocks); log (WAL) on, "
    "WriteOptions.sync=false; one WriteBatch per batch",
    "as no-sync, with WriteOptions.sync=true: the log is synced at each batch write",
    level_open, level_begin, level_put, level_commit, level_close};
#endif

/*-******************* SQLite *******************/
#ifdef BENCH_HAVE_SQLITE
#include <sqlite3.h>

typedef struct sql_h {
    sqlite3 *db;
    sqlite3_stmt *ins, *begin, *commit;
} sql_h;

static void sql_version(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", sqlite3_libversion());
}

static int sql_exec(sqlite3 *db, const char *q)
{
    char *err = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) {
        PEER_ERR("sqlite %s: %s\n", q, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static int sql_open(void **out, const char *dir, int sync)
{
    sql_h *h = calloc(1, sizeof *h);
    char path[4096];
    if (!h)
        return -1;
    bu_mkdirs(dir);
    snprintf(path, sizeof path, "%s/events.db", dir);
    if (sqlite3_open(path, &h->db) != SQLITE_OK)
        goto fail;
    if (sql_exec(h->db, "PRAGMA journal_mode=WAL") ||
        sql_exec(h->db, sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
        sql_exec(h->db, "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, "
                        "value BLOB NOT NULL)"))
        goto fail;
    if (sqlite3_prepare_v2(h->db, "INSERT INTO events(seq, value) VALUES (?, ?)", -1, &h->ins,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h->db, "BEGIN", -1, &h->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h->db, "COMMIT", -1, &h->commit, NULL) != SQLITE_OK)
        goto fail;
    *out = h;
    return 0;
fail:
    PEER_ERR("sqlite open: %s\n", h->db ? sqlite3_errmsg(h->db) : "?");
    sqlite3_finalize(h->ins);
    sqlite3_finalize(h->begin);
    sqlite3_finalize(h->commit);
    sqlite3_close(h->db);
    free(h);
    return -1;
}

static int sql_step(sql_h *h, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        PEER_ERR("sqlite step: %s\n", sqlite3_errmsg(h->db));
        return -1;
    }
    return 0;
}

static int sql_begin(void *p)
{
    sql_h *h = p;
    return sql_step(h, h->begin);
}

static int sql_put(void *p, const unsigned char key[8], uint64_t seq, const void *v, size_t n)
{
    sql_h *h = p;
    (void)key;
    sqlite3_bind_int64(h->ins, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(h->ins, 2, v, (int)n, SQLITE_STATIC);
    return sql_step(h, h->ins);
}

static int sql_commit(void *p)
{
    sql_h *h = p;
    return sql_step(h, h->commit);
}

static int sql_close(void *p)
{
    sql_h *h = p;
    sqlite3_finalize(h->ins);
    sqlite3_finalize(h->begin);
    sqlite3_finalize(h->commit);
    sqlite3_close(h->db);
    free(h);
    return 0;
}

static const bench_peer peer_sqlite = {
    "sqlite", sql_version,
    "journal_mode=WAL, synchronous=NORMAL (the SQLite docs' choice for WAL: syncs only at "
    "checkpoints, like evlog syncing at a segment roll); table events(seq INTEGER PRIMARY "
    "KEY, value BLOB); prepared INSERT inside BEGIN/COMMIT per batch; other pragmas default",
    "journal_mode=WAL, synchronous=FULL (the WAL is synced at each commit); prepared "
    "INSERT inside BEGIN/COMMIT per batch",
    sql_open, sql_begin, sql_put, sql_commit, sql_close};
#endif

const bench_peer *const bench_peers[] = {
#ifdef BENCH_HAVE_LMDB
    &peer_lmdb,
#endif
#ifdef BENCH_HAVE_ROCKSDB
    &peer_rocksdb,
#endif
#ifdef BENCH_HAVE_LEVELDB
    &peer_leveldb,
#endif
#ifdef BENCH_HAVE_SQLITE
    &peer_sqlite,
#endif
    NULL};
