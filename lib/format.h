/*
 * format.h - the on-disk layout of evlog files (docs/format.md) and the pure
 * functions that encode, check and decode it. Nothing here does I/O, so it
 * can be fuzzed alone. All integers are little-endian.
 */
#ifndef EVLOG_FORMAT_H
#define EVLOG_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evlog.h"

#define EVL_FORMAT_VERSION 1u

/* Segment file: header, batches, and once sealed a footer. */
#define EVL_SEG_MAGIC "EVLOGSEG"
#define EVL_SEG_HEADER_SIZE 64u
#define EVL_FOOTER_MAGIC "EVLOGEND"
#define EVL_FOOTER_SIZE 80u

/* Batch: a 48-byte header, then the payload. */
#define EVL_BATCH_HEADER_SIZE 48u
#define EVL_BATCH_VERSION 1u
#define EVL_ATTR_COMPRESSION_MASK 0x07u
#define EVL_COMP_NONE 0u
#define EVL_COMP_LZ4 1u

/* Index file: header, then 16-byte entries. */
#define EVL_INDEX_MAGIC "EVLOGIDX"
#define EVL_INDEX_HEADER_SIZE 64u
#define EVL_INDEX_ENTRY_SIZE 16u

/* Checkpoint file: two slots written in turn. */
#define EVL_CKPT_MAGIC "EVLOGCKP"
#define EVL_CKPT_SLOT_SIZE 128u
#define EVL_NO_TRUNCATE UINT64_MAX

/* Side copy of a batch being rewritten by a truncation inside it. */
#define EVL_SIDE_NAME "truncate.pending"
#define EVL_SIDE_MAGIC "EVLOGTRP"
#define EVL_SIDE_HEADER_SIZE 64u

/* Seeds of the XXH3 checksums, one per kind of structure, so that bytes of
 * one kind never pass as another. */
#define EVL_SEED_BATCH 0x6576626174636831ull  /* "evbatch1" */
#define EVL_SEED_SEGHDR 0x65767365676831ull   /* "evsegh1" */
#define EVL_SEED_FOOTER 0x657666747231ull     /* "evftr1" */
#define EVL_SEED_INDEX 0x657669647831ull      /* "evidx1" */
#define EVL_SEED_CKPT 0x6576636b7031ull       /* "evckp1" */
#define EVL_SEED_SIDE 0x6576747270ull         /* "evtrp" */

/* Record attribute bits (first byte of each record). */
#define EVL_REC_HAS_KEY 0x01u
#define EVL_REC_HAS_VALUE 0x02u
#define EVL_REC_ATTR_KNOWN 0x03u

/* File names: 20 decimal digits of the base offset plus a suffix. */
#define EVL_NAME_DIGITS 20
#define EVL_SEG_SUFFIX ".log"
#define EVL_INDEX_SUFFIX ".index"
#define EVL_CKPT_NAME "checkpoint"
#define EVL_LOCK_NAME "lock"
/* a preallocated segment file that the next roll renames (docs/format.md) */
#define EVL_SPARE_NAME "spare.tmp"
#define EVL_NAME_MAX 40

/*-******************* little-endian access *******************/
static inline uint32_t evl_ld32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t evl_ld64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint16_t evl_ld16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void evl_st16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void evl_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void evl_st64(void *p, uint64_t v) { memcpy(p, &v, 8); }

uint64_t evl_hash(const void *p, size_t n, uint64_t seed);

/*-******************* batch *******************/
/* A decoded batch header. */
typedef struct evl_batch {
    uint64_t checksum;
    uint32_t length;       /* whole batch, header included */
    uint8_t version;
    uint8_t attributes;
    uint64_t base_offset;
    uint32_t count;        /* records in the batch */
    uint32_t last_delta;   /* last offset - base offset */
    int64_t first_ts;
    int64_t max_ts;
} evl_batch;

/* The batch check results. */
typedef enum evl_check {
    EVL_OK = 0,
    EVL_BAD_ZERO,      /* the header is all zero bytes: preallocated space */
    EVL_BAD_SHORT,     /* fewer bytes left than the header or its length says */
    EVL_BAD_LENGTH,    /* the length field is outside its limits */
    EVL_BAD_HEADER,    /* version, attributes or counts are invalid */
    EVL_BAD_CHECKSUM,  /* the checksum does not match */
    EVL_BAD_OFFSET,    /* a valid batch, but not at the offset expected */
    EVL_BAD_RECORDS,   /* the payload does not decode into its records */
    EVL_BAD_VERSION    /* a format version this library does not know */
} evl_check;

const char *evl_check_str(evl_check c);

/* A bound of the bytes needed to frame `n` records into one uncompressed
 * batch, in one cheap pass; 0 when n is 0 or a record is invalid (a NULL
 * pointer with a length); UINT64_MAX when a record is too big.
 * evl_batch_size_exact() counts closer (still at most 10 bytes of
 * timestamp a record), for a batch whose bound does not fit. */
uint64_t evl_batch_size(const evlog_record *recs, size_t n);
uint64_t evl_batch_size_exact(const evlog_record *recs, size_t n);

/* Encode `n` records as the payload of a batch at `dst`, the first with
 * offset delta `first_delta`, timestamps relative to the batch's first,
 * `first_ts` (0 in a record's timestamp means `now`); *max_ts is raised to
 * the largest timestamp. At most evl_batch_size() - EVL_BATCH_HEADER_SIZE
 * bytes; returns the bytes written. */
uint32_t evl_records_encode(uint8_t *dst, const evlog_record *recs, size_t n, uint32_t first_delta,
                            int64_t first_ts, int64_t now, int64_t *max_ts);

/* Encode `n` records as a batch at `dst` (evl_batch_size() bytes), with base
 * offset `base` and `now` for zero timestamps, checksum included; its header
 * goes to *hdr when not NULL. Returns the batch length. Cannot fail when the
 * size was computed by evl_batch_size. */
uint32_t evl_batch_encode(uint8_t *dst, evl_batch *hdr, const evlog_record *recs, size_t n,
                          uint64_t base, int64_t now);

/* Re-encode the payload bytes `raw` (records in their stored form) as a
 * batch with header `h` (base_offset, count, last_delta, timestamps filled);
 * sets length, attributes, version and checksum. */
uint32_t evl_batch_seal(uint8_t *dst, evl_batch *h, const uint8_t *payload,
                        uint32_t payload_len, uint8_t attributes);

/* Parse the header at p (with `avail` bytes readable) without checking the
 * checksum. Returns EVL_OK, EVL_BAD_ZERO, EVL_BAD_SHORT, EVL_BAD_LENGTH or
 * EVL_BAD_HEADER. */
evl_check evl_batch_parse(evl_batch *out, const uint8_t *p, uint64_t avail);

/* Verify the checksum of the batch at p, whose header parsed into *b. */
evl_check evl_batch_verify(const evl_batch *b, const uint8_t *p);

/* Parse and verify the batch at p: header limits and checksum. */
evl_check evl_batch_check(evl_batch *out, const uint8_t *p, uint64_t avail);

/* Whether the `size` bytes of truncate.pending at `p` are whole (magic,
 * length, checksums, a valid batch) and name the truncation to `target`
 * recorded by the checkpoint of seq `seq`; its batch then in *b. */
int evl_side_valid(const uint8_t *p, uint64_t size, uint64_t target, uint64_t seq,
                   evl_batch *b);

/* A cursor over the records of one batch's uncompressed payload. */
typedef struct evl_rec_cursor {
    const uint8_t *p, *end;
    uint64_t base;
    int64_t first_ts;
    uint32_t left;
} evl_rec_cursor;

void evl_cursor_init(evl_rec_cursor *c, const evl_batch *h, const uint8_t *payload,
                     size_t payload_len);

/* Decode the next record. Returns 1 with a record, 0 when all were read and
 * the payload was consumed exactly, -1 when the payload is malformed. */
int evl_cursor_next(evl_rec_cursor *c, evlog_record *rec);

/* Check that a payload decodes into exactly h->count records with offset
 * deltas rising up to h->last_delta and timestamps within the header's. */
evl_check evl_records_check(const evl_batch *h, const uint8_t *payload, size_t len);

/* LZ4 payloads: a u32 raw length then the compressed bytes. The raw
 * payload is written to `dst` of capacity `cap`. Returns the raw length or
 * -1 when the bytes do not decompress to exactly that length. */
long evl_lz4_unpack(uint8_t *dst, size_t cap, const uint8_t *src, size_t len);
/* The raw length an LZ4 payload announces, or 0 if it is too short. */
uint32_t evl_lz4_raw_len(const uint8_t *src, size_t len);

/*-******************* segment header and footer *******************/
typedef struct evl_seg_header {
    uint32_t version;
    uint64_t base_offset;
    uint64_t capacity;
    int64_t created;
} evl_seg_header;

void evl_seg_header_encode(uint8_t *dst, const evl_seg_header *h);
/* EVL_OK, EVL_BAD_ZERO (all zero: never written), EVL_BAD_HEADER (not a
 * segment or wrong version) or EVL_BAD_CHECKSUM. */
evl_check evl_seg_header_decode(evl_seg_header *h, const uint8_t *src);

typedef struct evl_footer {
    uint64_t base_offset;
    uint64_t next_offset;
    uint64_t records;
    uint64_t batches;
    int64_t min_ts;
    int64_t max_ts;
    uint64_t data_end;
} evl_footer;

void evl_footer_encode(uint8_t *dst, const evl_footer *f);
evl_check evl_footer_decode(evl_footer *f, const uint8_t *src);

/*-******************* index *******************/
typedef struct evl_index_header {
    uint32_t interval;
    uint64_t base_offset;
    uint64_t count;
    uint64_t covered_end;     /* segment bytes the entries describe */
    uint64_t entries_checksum;
} evl_index_header;

typedef struct evl_index_entry {
    uint64_t offset;
    uint64_t pos;
} evl_index_entry;

void evl_index_header_encode(uint8_t *dst, const evl_index_header *h);
evl_check evl_index_header_decode(evl_index_header *h, const uint8_t *src);

/*-******************* checkpoint *******************/
typedef struct evl_ckpt {
    uint64_t seq;
    uint64_t durable_offset;
    uint64_t durable_segment;  /* base offset of the segment holding it */
    uint64_t durable_pos;      /* byte position of the durable end in it */
    uint64_t start_offset;
    uint64_t truncate_to;      /* EVL_NO_TRUNCATE, or a pending truncate_back */
} evl_ckpt;

void evl_ckpt_encode(uint8_t *dst, const evl_ckpt *c);
evl_check evl_ckpt_decode(evl_ckpt *c, const uint8_t *src);

/*-******************* names *******************/
/* "<20 digits><suffix>" into dst (EVL_NAME_MAX bytes). */
void evl_name(char *dst, uint64_t base, const char *suffix);
/* 1 and *base when `name` is "<20 digits><suffix>", else 0. */
int evl_parse_name(const char *name, const char *suffix, uint64_t *base);

#endif /* EVLOG_FORMAT_H */
