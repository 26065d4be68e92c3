/*
 * relwork.h - what the reliability loops share: a model of what a log must
 * hold, the check of a log against it, and a seeded workload that drives a
 * log through the calls that write (appends across rolls, syncs,
 * truncations at both ends, close and reopen).
 *
 * Payloads are recomputable: record `offset` written by generation `gen` is
 * a pure function of (seed, gen, offset). The generation changes at each
 * open and each truncate_back, so that a record that comes back after it was
 * truncated away or lost, and one that was never appended, both differ from
 * what the model expects at its offset.
 *
 * The promise checked (docs/reliability.md): after a crash or a failure,
 * every record acknowledged as durable is present and intact; every record
 * present is one that was appended at its offset; the end falls between
 * batches (a batch is atomic); the log opens and takes appends.
 *
 * Nothing here uses Criterion: the functions report by return value and a
 * reason string, so that they run in forked children too.
 */
#ifndef EVLOG_RELWORK_H
#define EVLOG_RELWORK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

/*-******************* seeds *******************/
/* The seed of a run: EVLOG_SEED when set, else `dflt`; printed to stderr as
 * "seed <label>: EVLOG_SEED=<n>" either way, so that a failure replays. */
uint64_t rw_seed(const char *label, uint64_t dflt);
/* An integer from the environment variable `name`, else `dflt`. */
uint64_t rw_env_u64(const char *name, uint64_t dflt);
uint64_t rw_mix(uint64_t x);
/* A splitmix64 step. */
uint64_t rw_rand(uint64_t *state);

/*-******************* records *******************/
/* Record `offset` of generation `gen`: key, value and timestamp, written
 * into buf (at least RW_REC_MAX bytes); the record's pointers point into
 * it. Sizes vary from empty to a few KiB so that batches cross pages. */
#define RW_REC_MAX 6000
void rw_record(uint64_t seed, uint32_t gen, uint64_t offset, evlog_record *rec, uint8_t *buf);

/*-******************* the model *******************/
typedef struct rw_model {
    uint64_t seed;
    uint32_t gen;        /* generation of the next appends */
    uint64_t end;        /* offsets [0, end) were appended at some point */
    uint32_t *gens;      /* gens[o]: generation of the last append at o */
    uint64_t *bstart;    /* bstart[o]: first offset of o's batch */
    uint64_t cap;
    uint64_t acked;      /* every offset below was acknowledged durable */
    uint64_t start_lo;   /* the start offset may be any in [start_lo, start_hi] */
    uint64_t start_hi;
    /* Guards the fields above: the engine's own threads (the sealer, the
     * interval syncer) make I/O calls, so a test's hooks may copy the model
     * while the workload changes it. */
    pthread_mutex_t mu;
} rw_model;

void rw_model_init(rw_model *m, uint64_t seed);
void rw_model_free(rw_model *m);
/* A deep copy, taken under src's lock; 0 or -1 (ENOMEM). */
int rw_model_copy(rw_model *dst, const rw_model *src);
/* The same with the lock held by the caller: a hook that draws a crash
 * state and copies the model holds it across both, so that the copy is the
 * model as of that state (the workload acknowledges nothing meanwhile). */
int rw_model_copy_locked(rw_model *dst, const rw_model *src);
void rw_model_lock(rw_model *m);
void rw_model_unlock(rw_model *m);
/* Note an append of `n` records at `first` by the current generation. */
int rw_model_append(rw_model *m, uint64_t first, size_t n);

/* The result of a check that failed: a broken promise. */
#define RW_EBROKEN (-1000)

/* Counts gathered by checks, for the reports. */
typedef struct rw_counts {
    uint64_t records_checked;
    uint64_t batches_appended, records_appended;
    uint64_t reopens, verifies;
} rw_counts;

/*
 * Check an open log against the model: start and end within bounds, the
 * end on a batch boundary and not below the acknowledged point, every
 * record from the start to the end the one the model holds. Then adopt
 * what the log holds: the model's end becomes the log's, the durable point
 * is at least the log's, and the generation moves on. Returns 0,
 * RW_EBROKEN for a broken promise, or the negative evlog code with which
 * reading failed; the reason is in `why`.
 */
int rw_check_log(rw_model *m, evlog *log, rw_counts *c, char *why, size_t why_len);

/* evlog_scan of directory `dir` (what `evlog verify` runs): 0 when it
 * reports no error, else -1 with the first error in `why`. */
int rw_verify_dir(const char *dir, char *why, size_t why_len);

/*-******************* the workload *******************/
typedef struct rw_cfg {
    uint64_t seed;
    unsigned steps;          /* calls after the open */
    int sync_mode;           /* EVLOG_SYNC_*; 0: a different one per open */
    int compression;         /* EVLOG_COMPRESS_*; 0: varies */
    uint64_t segment_bytes;  /* 0: 16 KiB */
    unsigned reopen_every;   /* close and reopen about every this many steps; 0: never */
    int truncations;         /* 1: truncate_back and truncate_front now and then */
    uint32_t linger_us;      /* > 0: about half the opens let appends linger this long */
    const struct evlog_io *io; /* NULL: POSIX */
} rw_cfg;

typedef struct rw_result {
    int rc;                  /* 0, or the first failing call's result */
    const char *call;        /* that call's name */
    unsigned step;           /* its step */
    char errmsg[512];        /* evlog_errmsg or the open's detail */
    char why[512];           /* a broken promise, when rc is RW_EBROKEN */
} rw_result;


/*
 * Open the log in `dir` with cfg->io, check it against the model, then run
 * cfg->steps seeded steps, keeping the model up to date. Stops at the first
 * call that fails and returns its code (0 when all succeeded); the handle
 * is closed in every case (a failure of the close itself is reported like
 * any other). `after_call` (may be NULL) is called after each call of the
 * API returns, so that a test can look at the crash states it collected
 * during the call.
 */
int rw_run(rw_model *m, const char *dir, const rw_cfg *cfg, rw_counts *c, rw_result *res,
           void (*after_call)(void *payload), void *payload);

/*
 * The check after a crash or a failure: open `dir` with `io` (NULL: POSIX),
 * check it against the model, append one batch, sync, close, reopen, check
 * again, close. Returns 0, or the failing call's code, or RW_EBROKEN with
 * the reason in res->why.
 */
int rw_recover_check(rw_model *m, const char *dir, const struct evlog_io *io, rw_counts *c,
                     rw_result *res);

#endif /* EVLOG_RELWORK_H */
