/*
 * test_batch.c - white-box tests of lib/format.h: batch size, encode, check
 * and decode; every single-bit flip and every truncation of an encoded batch
 * is rejected; the fixed structures (segment header, footer, index header,
 * checkpoint) round-trip and reject damage; file names.
 */
#include <criterion/criterion.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "helpers.h"

TestSuite(batch, .timeout = 60);

/* A batch of records drawn from `g`, encoded at `base` with `now`. */
typedef struct enc {
    evlog_record recs[64];
    uint8_t data[64 * 64];
    size_t n;
    uint8_t *buf;
    uint64_t size;
    uint32_t len;
} enc;

static void enc_make(enc *e, const evt_gen *g, uint64_t first_idx, size_t n, uint64_t base,
                     int64_t now)
{
    size_t used = 0, i;
    cr_assert_leq(n, 64);
    e->n = n;
    for (i = 0; i < n; i++) {
        cr_assert_leq(used + evt_gen_bytes(g, first_idx + i), sizeof e->data);
        evt_gen_record(g, first_idx + i, &e->recs[i], e->data + used);
        used += evt_gen_bytes(g, first_idx + i);
    }
    e->size = evl_batch_size(e->recs, n);
    cr_assert_gt(e->size, EVL_BATCH_HEADER_SIZE, "evl_batch_size of %zu valid records", n);
    e->buf = calloc(1, (size_t)e->size + 256);
    cr_assert_not_null(e->buf);
    {
        evl_batch hdr, parsed;
        memset(&hdr, 0xee, sizeof hdr);
        e->len = evl_batch_encode(e->buf, &hdr, e->recs, n, base, now);
        cr_assert_leq(e->len, e->size, "encoded %u bytes, more than evl_batch_size %llu",
                      e->len, (unsigned long long)e->size);
        /* the header handed back is the one written */
        cr_assert_eq(evl_batch_parse(&parsed, e->buf, e->len), EVL_OK);
        cr_assert_eq(hdr.checksum, parsed.checksum);
        cr_assert_eq(hdr.length, parsed.length);
        cr_assert_eq(hdr.base_offset, parsed.base_offset);
        cr_assert_eq(hdr.count, parsed.count);
        cr_assert_eq(hdr.last_delta, parsed.last_delta);
        cr_assert_eq(hdr.first_ts, parsed.first_ts);
        cr_assert_eq(hdr.max_ts, parsed.max_ts);
    }
    cr_assert_geq(e->len, EVL_BATCH_HEADER_SIZE + 2);
}

static void enc_free(enc *e) { free(e->buf); }

/* Decodes e's batch with the cursor and compares every record. */
static void enc_verify(const enc *e, uint64_t base, int64_t now)
{
    evl_batch h;
    evl_rec_cursor c;
    evlog_record r;
    size_t i;
    int64_t first_ts = e->recs[0].timestamp ? e->recs[0].timestamp : now, max_ts = first_ts;

    cr_assert_eq(evl_batch_check(&h, e->buf, e->len), EVL_OK);
    cr_assert_eq(h.length, e->len);
    cr_assert_eq(h.version, EVL_BATCH_VERSION);
    cr_assert_eq(h.attributes & EVL_ATTR_COMPRESSION_MASK, EVL_COMP_NONE);
    cr_assert_eq(h.base_offset, base);
    cr_assert_eq(h.count, e->n);
    cr_assert_eq(h.last_delta, e->n - 1);
    for (i = 0; i < e->n; i++) {
        int64_t ts = e->recs[i].timestamp ? e->recs[i].timestamp : now;
        if (ts > max_ts)
            max_ts = ts;
    }
    cr_assert_eq(h.first_ts, first_ts);
    cr_assert_eq(h.max_ts, max_ts);
    cr_assert_eq(evl_records_check(&h, e->buf + EVL_BATCH_HEADER_SIZE,
                                   e->len - EVL_BATCH_HEADER_SIZE), EVL_OK);

    evl_cursor_init(&c, &h, e->buf + EVL_BATCH_HEADER_SIZE, e->len - EVL_BATCH_HEADER_SIZE);
    for (i = 0; i < e->n; i++) {
        const evlog_record *w = &e->recs[i];
        cr_assert_eq(evl_cursor_next(&c, &r), 1, "record %zu of %zu", i, e->n);
        cr_assert_eq(r.offset, base + i);
        cr_assert_eq(r.timestamp, w->timestamp ? w->timestamp : now);
        if (w->key) {
            cr_assert_not_null(r.key, "record %zu: a key (possibly empty) reads back non-NULL", i);
            cr_assert_eq(r.key_len, w->key_len);
            cr_assert_arr_eq(r.key, w->key, w->key_len);
        } else {
            cr_assert_null(r.key);
            cr_assert_eq(r.key_len, 0);
        }
        if (w->value) {
            cr_assert_not_null(r.value, "record %zu: a value (possibly empty) reads back non-NULL", i);
            cr_assert_eq(r.value_len, w->value_len);
            cr_assert_arr_eq(r.value, w->value, w->value_len);
        } else if (w->key) {
            cr_assert_null(r.value, "record %zu: a tombstone reads back NULL", i);
            cr_assert_eq(r.value_len, 0);
        } else {
            /* no key and no value: stored as an empty value */
            cr_assert_eq(r.value_len, 0);
        }
    }
    cr_assert_eq(evl_cursor_next(&c, &r), 0, "cursor past the last record");
}

Test(batch, size_rejects_invalid)
{
    evlog_record r;
    memset(&r, 0, sizeof r);
    cr_expect_eq(evl_batch_size(&r, 0), 0, "n == 0");
    r.key = NULL;
    r.key_len = 3;
    cr_expect_eq(evl_batch_size(&r, 1), 0, "NULL key with key_len 3");
    r.key_len = 0;
    r.value = NULL;
    r.value_len = 5;
    cr_expect_eq(evl_batch_size(&r, 1), 0, "NULL value with value_len 5");
    r.value_len = 0;
    cr_expect_gt(evl_batch_size(&r, 1), EVL_BATCH_HEADER_SIZE, "an empty record is valid");
    /* too big is told apart from invalid: more than the maximum, not 0 */
    r.value = "x";
    r.value_len = (size_t)EVLOG_MAX_BATCH_BYTES + 1;
    cr_expect_gt(evl_batch_size(&r, 1), EVLOG_MAX_BATCH_BYTES, "a value over the maximum");
    r.value_len = SIZE_MAX;
    cr_expect_gt(evl_batch_size(&r, 1), EVLOG_MAX_BATCH_BYTES, "a value of SIZE_MAX bytes");
    r.key = "k";
    r.key_len = SIZE_MAX;
    r.value_len = 1;
    cr_expect_gt(evl_batch_size(&r, 1), EVLOG_MAX_BATCH_BYTES, "a key of SIZE_MAX bytes");
    r.value_len = (size_t)EVLOG_MAX_BATCH_BYTES - 100;
    r.key_len = 200;
    cr_expect_gt(evl_batch_size(&r, 1), EVLOG_MAX_BATCH_BYTES, "key and value together");
    r.key_len = 1;
    r.value_len = (size_t)EVLOG_MAX_BATCH_BYTES - 200;
    cr_expect_leq(evl_batch_size(&r, 1), EVLOG_MAX_BATCH_BYTES, "just under the maximum");
}

Test(batch, size_grows_with_payload)
{
    evlog_record r[2];
    uint64_t a, b;
    memset(r, 0, sizeof r);
    r[0].value = "abc";
    r[0].value_len = 3;
    a = evl_batch_size(r, 1);
    r[0].value_len = 1000;
    r[0].value = calloc(1, 1000);
    b = evl_batch_size(r, 1);
    cr_expect_geq(b - a, 997, "1000-byte value vs 3-byte value: %llu vs %llu",
                  (unsigned long long)b, (unsigned long long)a);
    r[1] = r[0];
    cr_expect_gt(evl_batch_size(r, 2), b + 1000);
    free((void *)r[0].value);
}

Test(batch, encode_decode_round_trip)
{
    uint64_t seed = evt_seed("batch.encode_decode_round_trip");
    evt_gen g = {seed, EVT_TINY, 0, 0};
    evt_rng r;
    int iter;
    evt_rng_init(&r, seed);
    for (iter = 0; iter < 2000; iter++) {
        enc e;
        size_t n = (size_t)evt_rng_range(&r, 1, 64);
        uint64_t base = evt_rng_next(&r) >> (evt_rng_below(&r, 64));
        int64_t now = 1700000000000000000LL + (int64_t)evt_rng_below(&r, 1000000000);
        if (base > UINT64_MAX - 64)
            base = UINT64_MAX - 64;
        enc_make(&e, &g, (uint64_t)iter * 64, n, base, now);
        enc_verify(&e, base, now);
        enc_free(&e);
    }
}

Test(batch, encode_special_records)
{
    /* explicit edge cases: empty key, tombstone, keyless empty value,
     * keyless NULL value (an empty value), decreasing and negative
     * timestamps, a large value */
    static uint8_t big[100000];
    evlog_record recs[7];
    enc e;
    memset(recs, 0, sizeof recs);
    memset(big, 0xab, sizeof big);
    recs[0].timestamp = 5000;
    recs[0].key = "";
    recs[0].key_len = 0;
    recs[0].value = "v";
    recs[0].value_len = 1;
    recs[1].timestamp = 4000; /* lower than the first */
    recs[1].key = "tomb";
    recs[1].key_len = 4;
    recs[2].timestamp = -7; /* before the epoch */
    recs[2].value = "";
    recs[3].timestamp = 0; /* now */
    recs[4].timestamp = INT64_MAX / 2;
    recs[4].key = "k";
    recs[4].key_len = 1;
    recs[4].value = big;
    recs[4].value_len = sizeof big;
    recs[5].timestamp = 1;
    recs[5].value = "x";
    recs[5].value_len = 1;
    recs[6].timestamp = 6000;
    recs[6].key = "kk";
    recs[6].key_len = 2;
    recs[6].value = "";
    memset(&e, 0, sizeof e);
    memcpy(e.recs, recs, sizeof recs);
    e.n = 7;
    e.size = evl_batch_size(e.recs, e.n);
    cr_assert_gt(e.size, sizeof big);
    e.buf = calloc(1, (size_t)e.size);
    e.len = evl_batch_encode(e.buf, NULL, e.recs, e.n, 1234567, 99999);
    cr_assert_leq(e.len, e.size);
    enc_verify(&e, 1234567, 99999);
    enc_free(&e);
}

Test(batch, every_bit_flip_is_rejected)
{
    uint64_t seed = evt_seed("batch.every_bit_flip_is_rejected");
    evt_gen g = {seed, EVT_TINY, 0, 0};
    evt_rng r;
    int iter;
    evt_rng_init(&r, seed ^ 1);
    for (iter = 0; iter < 6; iter++) {
        enc e;
        size_t n = iter == 0 ? 1 : (size_t)evt_rng_range(&r, 1, 12), bit;
        /* slack after the batch: zeros, as in a preallocated segment, or
         * none at all */
        uint64_t avail_extra = (iter & 1) ? 0 : 200;
        enc_make(&e, &g, 1000 + (uint64_t)iter * 64, n, 77 + (uint64_t)iter, 123);
        for (bit = 0; bit < (size_t)e.len * 8; bit++) {
            evl_batch h;
            evl_check c;
            e.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            c = evl_batch_check(&h, e.buf, e.len + avail_extra);
            e.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            cr_assert_neq(c, EVL_OK, "flip of bit %zu (byte %zu) of a %u-byte batch passed "
                          "evl_batch_check", bit % 8, bit / 8, e.len);
        }
        cr_assert_eq(evl_batch_check(&(evl_batch){0}, e.buf, e.len + avail_extra), EVL_OK);
        enc_free(&e);
    }
}

Test(batch, truncated_buffers_are_rejected)
{
    uint64_t seed = evt_seed("batch.truncated_buffers_are_rejected");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    enc e;
    uint64_t avail;
    enc_make(&e, &g, 0, 10, 0, 1);
    for (avail = 0; avail < e.len; avail++) {
        evl_batch h;
        evl_check c = evl_batch_check(&h, e.buf, avail);
        cr_assert_neq(c, EVL_OK, "a batch of %u bytes passed with only %llu available", e.len,
                      (unsigned long long)avail);
        if (avail >= EVL_BATCH_HEADER_SIZE)
            cr_assert_eq(c, EVL_BAD_SHORT, "avail %llu of %u: %s", (unsigned long long)avail,
                         e.len, evl_check_str(c));
    }
    cr_assert_eq(evl_batch_check(&(evl_batch){0}, e.buf, e.len), EVL_OK);
    enc_free(&e);
}

Test(batch, zero_header_is_end_of_data)
{
    uint8_t z[256];
    evl_batch h;
    memset(z, 0, sizeof z);
    cr_expect_eq(evl_batch_check(&h, z, sizeof z), EVL_BAD_ZERO);
    cr_expect_eq(evl_batch_check(&h, z, 10), EVL_BAD_ZERO);
    cr_expect_eq(evl_batch_check(&h, z, 0), EVL_BAD_ZERO);
    z[100] = 1; /* non-zero bytes after a zero header are still zero header */
    cr_expect_eq(evl_batch_check(&h, z, sizeof z), EVL_BAD_ZERO);
}

Test(batch, header_limits)
{
    uint64_t seed = evt_seed("batch.header_limits");
    evt_gen g = {seed, EVT_TINY, 0, 0};
    evl_batch h;
    enc e;
    enc_make(&e, &g, 0, 5, 10, 1);

    /* length below the minimum, above the maximum: EVL_BAD_LENGTH even
     * before the checksum is looked at */
    evl_st32(e.buf + 8, EVL_BATCH_HEADER_SIZE - 1);
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_LENGTH);
    evl_st32(e.buf + 8, EVLOG_MAX_BATCH_BYTES + 1);
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_LENGTH);
    evl_st32(e.buf + 8, e.len);
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_OK);

    /* a resealed header with invalid fields is EVL_BAD_HEADER */
    e.buf[12] = 2; /* version */
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_HEADER, "version 2");
    e.buf[12] = EVL_BATCH_VERSION;
    e.buf[13] = 0x08; /* unknown attribute bit */
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_HEADER, "attribute 0x08");
    e.buf[13] = 2; /* compression 2 is not defined */
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_HEADER, "compression 2");
    e.buf[13] = 0;
    evl_st32(e.buf + 24, 0); /* count 0 */
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_HEADER, "count 0");
    evl_st32(e.buf + 24, 5);
    evl_st32(e.buf + 28, 3); /* last delta below count - 1 */
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_BAD_HEADER, "last_delta 3, count 5");
    evl_st32(e.buf + 28, 4);
    cr_expect_eq(evl_batch_parse(&h, e.buf, e.len), EVL_OK);
    enc_free(&e);
}

/* Reseals a payload under a modified header with evl_batch_seal, so that
 * the checksum is right and only evl_records_check can see the lie. */
Test(batch, records_check_catches_lies)
{
    uint64_t seed = evt_seed("batch.records_check_catches_lies");
    evt_gen g = {seed, EVT_TINY, 0, 1};
    evl_batch h, h2;
    enc e;
    uint8_t *buf2;
    uint32_t plen;

    enc_make(&e, &g, 0, 6, 500, 1);
    cr_assert_eq(evl_batch_check(&h, e.buf, e.len), EVL_OK);
    plen = e.len - EVL_BATCH_HEADER_SIZE;
    buf2 = calloc(1, e.len + 64);

    /* more records announced than stored */
    h2 = h;
    h2.count = 7;
    h2.last_delta = 6;
    evl_batch_seal(buf2, &h2, e.buf + EVL_BATCH_HEADER_SIZE, plen, EVL_COMP_NONE);
    cr_expect_eq(evl_batch_check(&h2, buf2, h2.length), EVL_OK);
    cr_expect_eq(evl_records_check(&h2, buf2 + EVL_BATCH_HEADER_SIZE, plen), EVL_BAD_RECORDS,
                 "count 7 over 6 records");

    /* fewer records announced: bytes left over */
    h2 = h;
    h2.count = 5;
    h2.last_delta = 4;
    evl_batch_seal(buf2, &h2, e.buf + EVL_BATCH_HEADER_SIZE, plen, EVL_COMP_NONE);
    cr_expect_eq(evl_records_check(&h2, buf2 + EVL_BATCH_HEADER_SIZE, plen), EVL_BAD_RECORDS,
                 "count 5 over 6 records");

    /* last delta beyond the last record's */
    h2 = h;
    h2.last_delta = 9;
    evl_batch_seal(buf2, &h2, e.buf + EVL_BATCH_HEADER_SIZE, plen, EVL_COMP_NONE);
    cr_expect_eq(evl_records_check(&h2, buf2 + EVL_BATCH_HEADER_SIZE, plen), EVL_BAD_RECORDS,
                 "last_delta 9 over deltas 0..5");

    /* max timestamp below a record's */
    h2 = h;
    h2.max_ts = h.first_ts;
    {
        int higher = 0;
        size_t i;
        for (i = 0; i < e.n; i++)
            higher |= e.recs[i].timestamp > h.first_ts;
        if (higher) {
            evl_batch_seal(buf2, &h2, e.buf + EVL_BATCH_HEADER_SIZE, plen, EVL_COMP_NONE);
            cr_expect_eq(evl_records_check(&h2, buf2 + EVL_BATCH_HEADER_SIZE, plen),
                         EVL_BAD_RECORDS, "max_ts below a record's timestamp");
        }
    }

    /* one trailing byte */
    h2 = h;
    memcpy(buf2 + EVL_BATCH_HEADER_SIZE, e.buf + EVL_BATCH_HEADER_SIZE, plen);
    buf2[EVL_BATCH_HEADER_SIZE + plen] = 0;
    evl_batch_seal(buf2, &h2, NULL, plen + 1, EVL_COMP_NONE);
    cr_expect_eq(evl_batch_check(&h2, buf2, h2.length), EVL_OK);
    cr_expect_eq(evl_records_check(&h2, buf2 + EVL_BATCH_HEADER_SIZE, plen + 1), EVL_BAD_RECORDS,
                 "a trailing byte after the records");

    /* the payload cut short: the cursor reports it, never reads past */
    {
        uint32_t cut;
        for (cut = 0; cut < plen; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, e.buf + EVL_BATCH_HEADER_SIZE, cut);
            cr_expect_eq(evl_records_check(&h, copy, cut), EVL_BAD_RECORDS,
                         "payload cut at %u of %u", cut, plen);
            free(copy);
        }
    }
    cr_expect_eq(evl_records_check(&h, e.buf + EVL_BATCH_HEADER_SIZE, plen), EVL_OK);
    free(buf2);
    enc_free(&e);
}

Test(batch, cursor_rejects_unknown_attribute)
{
    evlog_record rec = {0, 10, "k", 1, "v", 1};
    evl_batch h;
    evl_rec_cursor c;
    evlog_record r;
    uint8_t buf[128];
    uint32_t len = evl_batch_encode(buf, NULL, &rec, 1, 0, 1);
    cr_assert_eq(evl_batch_check(&h, buf, len), EVL_OK);
    buf[EVL_BATCH_HEADER_SIZE] |= 0x04; /* record attribute bit not defined */
    evl_cursor_init(&c, &h, buf + EVL_BATCH_HEADER_SIZE, len - EVL_BATCH_HEADER_SIZE);
    cr_expect_eq(evl_cursor_next(&c, &r), -1);
}

Test(batch, lz4_unpack)
{
    uint64_t seed = evt_seed("batch.lz4_unpack");
    evt_gen g = {seed, EVT_SMALL, 0, 0};
    enc e;
    uint32_t plen;
    int bound, clen;
    uint8_t *packed, *out;
    long got;
    size_t i;

    /* compressible payload: a batch of pattern values */
    enc_make(&e, &g, 0, 40, 0, 1);
    plen = e.len - EVL_BATCH_HEADER_SIZE;
    bound = LZ4_compressBound((int)plen);
    packed = malloc((size_t)bound + 4);
    out = malloc(plen + 16);
    evl_st32(packed, plen);
    clen = LZ4_compress_default((const char *)e.buf + EVL_BATCH_HEADER_SIZE, (char *)packed + 4,
                                (int)plen, bound);
    cr_assert_gt(clen, 0);
    cr_expect_eq(evl_lz4_raw_len(packed, (size_t)clen + 4), plen);
    cr_expect_eq(evl_lz4_raw_len(packed, 3), 0, "too short for the length");
    got = evl_lz4_unpack(out, plen + 16, packed, (size_t)clen + 4);
    cr_assert_eq(got, (long)plen);
    cr_assert_arr_eq(out, e.buf + EVL_BATCH_HEADER_SIZE, plen);

    /* capacity too small, wrong announced length, truncated input */
    cr_expect_eq(evl_lz4_unpack(out, plen - 1, packed, (size_t)clen + 4), -1);
    evl_st32(packed, plen + 1);
    cr_expect_eq(evl_lz4_unpack(out, plen + 16, packed, (size_t)clen + 4), -1);
    evl_st32(packed, plen - 1);
    cr_expect_eq(evl_lz4_unpack(out, plen + 16, packed, (size_t)clen + 4), -1);
    evl_st32(packed, plen);
    cr_expect_eq(evl_lz4_unpack(out, plen + 16, packed, (size_t)clen + 4 - 1), -1);
    cr_expect_eq(evl_lz4_unpack(out, plen + 16, packed, 2), -1, "shorter than its length field");
    evl_st32(packed, 0);
    cr_expect_eq(evl_lz4_unpack(out, plen + 16, packed, (size_t)clen + 4), -1, "raw length 0");

    /* a compressed batch sealed with the LZ4 attribute checks and unpacks */
    evl_st32(packed, plen);
    {
        evl_batch h, h2;
        uint8_t *b = calloc(1, EVL_BATCH_HEADER_SIZE + (size_t)clen + 4);
        cr_assert_eq(evl_batch_check(&h, e.buf, e.len), EVL_OK);
        h2 = h;
        evl_batch_seal(b, &h2, packed, (uint32_t)clen + 4, EVL_COMP_LZ4);
        cr_expect_eq(evl_batch_check(&h2, b, h2.length), EVL_OK);
        cr_expect_eq(h2.attributes & EVL_ATTR_COMPRESSION_MASK, EVL_COMP_LZ4);
        memset(out, 0, plen);
        cr_expect_eq(evl_lz4_unpack(out, plen, b + EVL_BATCH_HEADER_SIZE, (size_t)clen + 4),
                     (long)plen);
        cr_expect_eq(evl_records_check(&h2, out, plen), EVL_OK);
        for (i = 0; i < (size_t)(clen + 4) * 8; i += 7) {
            evl_batch h3;
            b[EVL_BATCH_HEADER_SIZE + i / 8] ^= (uint8_t)(1u << (i % 8));
            cr_expect_neq(evl_batch_check(&h3, b, h2.length), EVL_OK);
            b[EVL_BATCH_HEADER_SIZE + i / 8] ^= (uint8_t)(1u << (i % 8));
        }
        free(b);
    }
    free(packed);
    free(out);
    enc_free(&e);
}

/* Flips every bit of an encoded structure of `size` bytes and expects
 * `decode` to reject each. */
#define EXPECT_ALL_FLIPS_REJECTED(buf, size, decode_call)                                   \
    do {                                                                                  \
        size_t bit_;                                                                      \
        for (bit_ = 0; bit_ < (size_t)(size) * 8; bit_++) {                               \
            evl_check c_;                                                                 \
            (buf)[bit_ / 8] ^= (uint8_t)(1u << (bit_ % 8));                               \
            c_ = (decode_call);                                                           \
            (buf)[bit_ / 8] ^= (uint8_t)(1u << (bit_ % 8));                               \
            cr_assert_neq(c_, EVL_OK, "flip of bit %zu of byte %zu accepted", bit_ % 8,   \
                          bit_ / 8);                                                      \
        }                                                                                 \
    } while (0)

Test(batch, segment_header_round_trip)
{
    evl_seg_header h = {EVL_FORMAT_VERSION, 123456789012ull, 1u << 20, 1700000000123456789LL}, d;
    uint8_t buf[EVL_SEG_HEADER_SIZE], zero[EVL_SEG_HEADER_SIZE];
    evl_seg_header_encode(buf, &h);
    cr_assert_arr_eq(buf, EVL_SEG_MAGIC, 8);
    memset(&d, 0, sizeof d);
    cr_assert_eq(evl_seg_header_decode(&d, buf), EVL_OK);
    cr_expect_eq(d.version, h.version);
    cr_expect_eq(d.base_offset, h.base_offset);
    cr_expect_eq(d.capacity, h.capacity);
    cr_expect_eq(d.created, h.created);
    EXPECT_ALL_FLIPS_REJECTED(buf, sizeof buf, evl_seg_header_decode(&d, buf));
    memset(zero, 0, sizeof zero);
    cr_expect_eq(evl_seg_header_decode(&d, zero), EVL_BAD_ZERO);
    buf[0] = 'X';
    cr_expect_eq(evl_seg_header_decode(&d, buf), EVL_BAD_HEADER, "bad magic");
}

Test(batch, footer_round_trip)
{
    evl_footer f = {1000, 2000, 900, 40, -5, 1700000000000000000LL, 12345}, d;
    uint8_t buf[EVL_FOOTER_SIZE], zero[EVL_FOOTER_SIZE];
    evl_footer_encode(buf, &f);
    cr_assert_arr_eq(buf, EVL_FOOTER_MAGIC, 8);
    memset(&d, 0, sizeof d);
    cr_assert_eq(evl_footer_decode(&d, buf), EVL_OK);
    cr_expect_eq(d.base_offset, f.base_offset);
    cr_expect_eq(d.next_offset, f.next_offset);
    cr_expect_eq(d.records, f.records);
    cr_expect_eq(d.batches, f.batches);
    cr_expect_eq(d.min_ts, f.min_ts);
    cr_expect_eq(d.max_ts, f.max_ts);
    cr_expect_eq(d.data_end, f.data_end);
    EXPECT_ALL_FLIPS_REJECTED(buf, sizeof buf, evl_footer_decode(&d, buf));
    memset(zero, 0, sizeof zero);
    cr_expect_eq(evl_footer_decode(&d, zero), EVL_BAD_ZERO);

    /* inconsistent fields under a valid checksum */
    f.next_offset = f.base_offset - 1;
    evl_footer_encode(buf, &f);
    cr_expect_eq(evl_footer_decode(&d, buf), EVL_BAD_HEADER, "next below base");
    f.next_offset = 2000;
    f.records = 1001;
    evl_footer_encode(buf, &f);
    cr_expect_eq(evl_footer_decode(&d, buf), EVL_BAD_HEADER, "more records than offsets");
    f.records = 900;
    f.batches = 901;
    evl_footer_encode(buf, &f);
    cr_expect_eq(evl_footer_decode(&d, buf), EVL_BAD_HEADER, "more batches than records");
    f.batches = 40;
    f.data_end = EVL_SEG_HEADER_SIZE - 1;
    evl_footer_encode(buf, &f);
    cr_expect_eq(evl_footer_decode(&d, buf), EVL_BAD_HEADER, "data end inside the header");
}

Test(batch, index_header_round_trip)
{
    evl_index_header h = {4096, 77, 1234, 999999, 0x1122334455667788ull}, d;
    uint8_t buf[EVL_INDEX_HEADER_SIZE];
    evl_index_header_encode(buf, &h);
    cr_assert_arr_eq(buf, EVL_INDEX_MAGIC, 8);
    memset(&d, 0, sizeof d);
    cr_assert_eq(evl_index_header_decode(&d, buf), EVL_OK);
    cr_expect_eq(d.interval, h.interval);
    cr_expect_eq(d.base_offset, h.base_offset);
    cr_expect_eq(d.count, h.count);
    cr_expect_eq(d.covered_end, h.covered_end);
    cr_expect_eq(d.entries_checksum, h.entries_checksum);
    EXPECT_ALL_FLIPS_REJECTED(buf, sizeof buf, evl_index_header_decode(&d, buf));
}

Test(batch, checkpoint_round_trip)
{
    evl_ckpt c = {42, 1000, 900, 4096 + 64, 10, EVL_NO_TRUNCATE}, d;
    uint8_t buf[EVL_CKPT_SLOT_SIZE], zero[EVL_CKPT_SLOT_SIZE];
    evl_ckpt_encode(buf, &c);
    cr_assert_arr_eq(buf, EVL_CKPT_MAGIC, 8);
    memset(&d, 0, sizeof d);
    cr_assert_eq(evl_ckpt_decode(&d, buf), EVL_OK);
    cr_expect_eq(d.seq, c.seq);
    cr_expect_eq(d.durable_offset, c.durable_offset);
    cr_expect_eq(d.durable_segment, c.durable_segment);
    cr_expect_eq(d.durable_pos, c.durable_pos);
    cr_expect_eq(d.start_offset, c.start_offset);
    cr_expect_eq(d.truncate_to, c.truncate_to);
    EXPECT_ALL_FLIPS_REJECTED(buf, sizeof buf, evl_ckpt_decode(&d, buf));
    memset(zero, 0, sizeof zero);
    cr_expect_eq(evl_ckpt_decode(&d, zero), EVL_BAD_ZERO);
    c.truncate_to = 950;
    evl_ckpt_encode(buf, &c);
    cr_assert_eq(evl_ckpt_decode(&d, buf), EVL_OK);
    cr_expect_eq(d.truncate_to, 950);
}

Test(batch, structures_do_not_pass_as_each_other)
{
    /* the same bytes under another kind's magic do not decode: the
     * checksum seeds differ */
    evl_seg_header sh = {EVL_FORMAT_VERSION, 1, 2, 3}, sd;
    evl_index_header ih;
    uint8_t buf[EVL_SEG_HEADER_SIZE];
    evl_seg_header_encode(buf, &sh);
    memcpy(buf, EVL_INDEX_MAGIC, 8);
    cr_expect_neq(evl_index_header_decode(&ih, buf), EVL_OK);
    memcpy(buf, EVL_SEG_MAGIC, 8);
    cr_expect_eq(evl_seg_header_decode(&sd, buf), EVL_OK);
}

Test(batch, names)
{
    char name[EVL_NAME_MAX];
    uint64_t base = 12345;
    evl_name(name, 0, EVL_SEG_SUFFIX);
    cr_expect_str_eq(name, "00000000000000000000.log");
    evl_name(name, 42, EVL_INDEX_SUFFIX);
    cr_expect_str_eq(name, "00000000000000000042.index");
    evl_name(name, UINT64_MAX, EVL_SEG_SUFFIX);
    cr_expect_str_eq(name, "18446744073709551615.log");
    cr_expect_eq(evl_parse_name(name, EVL_SEG_SUFFIX, &base), 1);
    cr_expect_eq(base, UINT64_MAX);
    cr_expect_eq(evl_parse_name("00000000000000001000.log", EVL_SEG_SUFFIX, &base), 1);
    cr_expect_eq(base, 1000);
    cr_expect_eq(evl_parse_name("00000000000000001000.index", EVL_INDEX_SUFFIX, &base), 1);
    cr_expect_eq(base, 1000);

    base = 7;
    cr_expect_eq(evl_parse_name("00000000000000001000.log", EVL_INDEX_SUFFIX, &base), 0);
    cr_expect_eq(evl_parse_name("00000000000000001000.logx", EVL_SEG_SUFFIX, &base), 0);
    cr_expect_eq(evl_parse_name("0000000000000001000.log", EVL_SEG_SUFFIX, &base), 0,
                 "19 digits");
    cr_expect_eq(evl_parse_name("000000000000000001000.log", EVL_SEG_SUFFIX, &base), 0,
                 "21 digits");
    cr_expect_eq(evl_parse_name("0000000000000000100a.log", EVL_SEG_SUFFIX, &base), 0);
    cr_expect_eq(evl_parse_name("18446744073709551616.log", EVL_SEG_SUFFIX, &base), 0,
                 "UINT64_MAX + 1");
    cr_expect_eq(evl_parse_name("99999999999999999999.log", EVL_SEG_SUFFIX, &base), 0);
    cr_expect_eq(evl_parse_name("checkpoint", EVL_SEG_SUFFIX, &base), 0);
    cr_expect_eq(evl_parse_name("", EVL_SEG_SUFFIX, &base), 0);
    cr_expect_eq(evl_parse_name("-0000000000000001000.log", EVL_SEG_SUFFIX, &base), 0);
    cr_expect_eq(base, 7, "a rejected name leaves *base alone");
}

Test(batch, check_str_names_every_result)
{
    enum { N = EVL_BAD_VERSION + 1 };
    const char *s[N];
    int i, j;
    for (i = 0; i < N; i++) {
        s[i] = evl_check_str((evl_check)i);
        cr_assert_not_null(s[i]);
        cr_expect_neq(strlen(s[i]), 0);
    }
    for (i = 0; i < N; i++)
        for (j = i + 1; j < N; j++)
            cr_expect_str_neq(s[i], s[j], "results %d and %d share a name", i, j);
    cr_expect_not_null(evl_check_str((evl_check)99));
}
