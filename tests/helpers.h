/*
 * helpers.h - small shared helpers of the Criterion suite: a temporary
 * directory fixture, a seeded PRNG whose seed replays from EVLOG_TEST_SEED,
 * a deterministic record generator (record i is a pure function of the seed
 * and i, so a test never keeps payloads in memory: it regenerates them to
 * compare), and a few file helpers for white-box damage.
 *
 * Nothing here uses Criterion's assertions, so the helpers may be called
 * from any thread or from a forked child; they report by return value.
 */
#ifndef EVLOG_TEST_HELPERS_H
#define EVLOG_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

/*-******************* temporary directory fixture *******************/
/* evt_dir: a fresh mkdtemp directory made by evt_setup() and removed with
 * everything below it by evt_teardown() (kept when EVLOG_TEST_KEEP is set).
 * evt_log: "<evt_dir>/log", not created: the usual log directory. */
extern char evt_dir[4096];
extern char evt_log[4200];

void evt_setup(void);
void evt_teardown(void);

/* "<a>/<b>", valid until evt_teardown(). Thread-safe. */
const char *evt_path(const char *a, const char *b);

/*-******************* seeds and PRNG *******************/
/* The seed of a randomised test: EVLOG_TEST_SEED when set, else a fresh
 * one. Prints "seed <label>: EVLOG_TEST_SEED=<n>" to stderr either way. */
uint64_t evt_seed(const char *label);

typedef struct evt_rng {
    uint64_t s[4];
} evt_rng;

uint64_t evt_mix(uint64_t x); /* splitmix64 finaliser */
void evt_rng_init(evt_rng *r, uint64_t seed);
uint64_t evt_rng_next(evt_rng *r);
/* Uniform in [0, n); 0 when n == 0. */
uint64_t evt_rng_below(evt_rng *r, uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t evt_rng_range(evt_rng *r, uint64_t lo, uint64_t hi);
void evt_rng_fill(evt_rng *r, void *dst, size_t n);

/* Wall clock in nanoseconds since the epoch. */
int64_t evt_now_ns(void);
/* Monotonic clock in milliseconds. */
uint64_t evt_mono_ms(void);

/*-******************* record generator *******************/
/* Profiles of record sizes. */
#define EVT_TINY 0  /* values 0..16 bytes, mostly keyed: for byte-level tests */
#define EVT_SMALL 1 /* values 0..100 bytes */
#define EVT_MIXED 2 /* mostly small, some KiB, rare ones up to max_value */

typedef struct evt_gen {
    uint64_t seed;
    int profile;
    size_t max_value; /* cap of value sizes (EVT_MIXED); 0 = 1 MiB */
    int no_zero_ts;   /* never generate timestamp 0 ("now") */
} evt_gen;

/* The shape of record idx, without its bytes. */
typedef struct evt_shape {
    int has_key;
    int tombstone; /* key with a NULL value */
    size_t key_len;
    size_t value_len;
    int64_t timestamp; /* 0: "now" */
    int pattern;       /* value bytes: 1 compressible text, 0 random */
} evt_shape;

void evt_gen_shape(const evt_gen *g, uint64_t idx, evt_shape *s);
/* key_len + value_len of record idx. */
size_t evt_gen_bytes(const evt_gen *g, uint64_t idx);
/* Record idx, its bytes written to buf (evt_gen_bytes(idx) bytes), its
 * pointers into buf (a zero-length key or value still points into buf). */
void evt_gen_record(const evt_gen *g, uint64_t idx, evlog_record *rec, uint8_t *buf);

/* The window that timestamp 0 ("now") must fall in when read back: set by
 * evt_setup() to the fixture's start; the upper bound is taken at check. */
extern int64_t evt_t0;

/* Compare `got` with record idx of g; `scratch` holds evt_gen_bytes(idx).
 * Returns 0, or -1 with the reason in why. */
int evt_check_record(const evt_gen *g, uint64_t idx, uint64_t want_offset,
                     const evlog_record *got, uint8_t *scratch, char *why, size_t why_len);

/* Reads records [from, to) from `it` and checks record at offset o against
 * record (o - idx_base) of g. Returns 0, or -1 with the reason in why. */
int evt_verify_iter(evlog_iter *it, const evt_gen *g, uint64_t idx_base, uint64_t from,
                    uint64_t to, char *why, size_t why_len);

/* A new iterator at `from`, evt_verify_iter up to `to`, and (when
 * expect_end) iter_next returning 0 after it. */
int evt_verify_log(evlog *log, const evt_gen *g, uint64_t idx_base, uint64_t from,
                   uint64_t to, int expect_end, char *why, size_t why_len);

/* Appends records idx_first.. of g until `count` were appended, in batches
 * of 1..max_batch records (sizes drawn from `brng`) holding at most
 * max_batch_bytes of keys and values (a single bigger record goes alone).
 * When batch_ends is not NULL it gets the end offset of each batch (up to
 * batch_ends_cap entries) and *n_batches their number. Returns 0 or the
 * first append error (plan->why says more), or EVT_EOFFSET when an append
 * returned a first offset other than the end offset before it, or the end
 * offset did not grow by the batch's count. plan->appended counts the
 * records appended. */
typedef struct evt_append_plan {
    unsigned max_batch;
    size_t max_batch_bytes;
    uint64_t *batch_ends;
    size_t batch_ends_cap;
    size_t n_batches;
    uint64_t appended;
    char why[256]; /* the reason of a failure */
} evt_append_plan;

/* evt_append_gen's return when an append succeeded but its first offset
 * or the end offset after it is not the one expected. */
#define EVT_EOFFSET (-1000)

int evt_append_gen(evlog *log, const evt_gen *g, uint64_t idx_first, uint64_t count,
                   evt_rng *brng, evt_append_plan *plan);

/* Appends one record idx of g alone; returns evlog_append's result. */
int evt_append_one(evlog *log, const evt_gen *g, uint64_t idx, uint64_t *first_offset);

/*-******************* files *******************/
int evt_rm_rf(const char *path);
/* Copies the regular files of directory `from` into a new directory `to`. */
int evt_copy_dir(const char *from, const char *to);
/* Whole file into a malloc'd buffer; NULL on error. */
uint8_t *evt_file_read(const char *path, size_t *len);
int evt_file_write(const char *path, const void *buf, size_t len); /* create/replace */
int evt_file_pwrite(const char *path, uint64_t off, const void *buf, size_t n);
int evt_file_truncate(const char *path, uint64_t len);
/* Size of a file, or -1. */
long long evt_file_size(const char *path);
int evt_exists(const char *path);
/* XORs byte `off` of the file with `mask`. */
int evt_file_flip(const char *path, uint64_t off, uint8_t mask);

/* Sorted base offsets of the "<20 digits>.log" segment files of dir;
 * returns their number (at most cap stored), or -1. */
long evt_segments(const char *dir, uint64_t *bases, size_t cap);
/* "<dir>/<20 digits>.log" of a base offset, valid until evt_teardown(). */
const char *evt_seg_path(const char *dir, uint64_t base);

/* A digest of a directory: "name size hash\n" of each entry, sorted; a
 * malloc'd string to compare with strcmp; "" for a missing directory. */
char *evt_dir_digest(const char *dir);
/* The same over the entries whose name ends with `suffix` only. */
char *evt_dir_digest_suffix(const char *dir, const char *suffix);

/* Walks the batches of a segment file (white-box, lib/format.h): fills
 * pos[i], len[i], base[i], count[i] of up to cap batches from the header
 * on, stopping at the first position that does not hold a valid batch.
 * Returns the number of batches, or -1 if the file cannot be read. */
long evt_seg_batches(const char *path, uint64_t *pos, uint32_t *len, uint64_t *base,
                     uint32_t *count, size_t cap);

/* Does `s` contain `sub`? */
int evt_contains(const char *s, const char *sub);

#endif /* EVLOG_TEST_HELPERS_H */
