/*
 * batch.c - encode, check and decode batches and the other fixed structures
 * of docs/format.md. No I/O here: every function works on bytes in memory,
 * so that this file can be fuzzed alone.
 */
#include "format.h"

#include <lz4.h>
#include <stdio.h>
/* xxhash's own header offers its functions inline: the checksum of a small
 * batch is then a few dozen instructions instead of a call through the PLT.
 * Long inputs go to the library's dispatching variant, which picks the
 * widest vector unit of the machine at run time (AVX2 hashes a batch of a
 * few KiB half again as fast as the SSE2 code inlined here); both compute
 * the same XXH3. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#if defined(__x86_64__)
/* libxxhash's export (xxh_x86dispatch.h, whose declarations XXH_INLINE_ALL
 * turns static, so it is declared here) */
extern unsigned long long XXH3_64bits_withSeed_dispatch(const void *input, size_t len,
                                                        unsigned long long seed);
#define EVL_HASH_INLINE_MAX 1024
#else
#define EVL_HASH_INLINE_MAX SIZE_MAX
#define XXH3_64bits_withSeed_dispatch XXH3_64bits_withSeed
#endif

uint64_t evl_hash(const void *p, size_t n, uint64_t seed)
{
    if (n > EVL_HASH_INLINE_MAX)
        return XXH3_64bits_withSeed_dispatch(p, n, seed);
    return XXH3_64bits_withSeed(p, n, seed);
}

const char *evl_check_str(evl_check c)
{
    switch (c) {
    case EVL_OK: return "valid";
    case EVL_BAD_ZERO: return "zero bytes (end of written data)";
    case EVL_BAD_SHORT: return "truncated batch";
    case EVL_BAD_LENGTH: return "batch length out of limits";
    case EVL_BAD_HEADER: return "invalid batch header";
    case EVL_BAD_CHECKSUM: return "checksum mismatch";
    case EVL_BAD_OFFSET: return "batch offset out of sequence";
    case EVL_BAD_RECORDS: return "records do not decode";
    case EVL_BAD_VERSION: return "unknown format version";
    }
    return "unknown";
}

/*-******************* varints *******************/
static inline unsigned varint_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static inline uint8_t *varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) { *p++ = (uint8_t)(v | 0x80); v >>= 7; }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads a varint of at most 10 bytes; NULL when it runs past `end` or
 * is longer than a uint64_t. */
static inline const uint8_t *varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    if (p < end && *p < 0x80) { /* most lengths and deltas take one byte */
        *v = *p;
        return p + 1;
    }
    unsigned shift = 0;
    while (p < end) {
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return NULL;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = r; return p; }
        shift += 7;
        if (shift > 63)
            return NULL;
    }
    return NULL;
}

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/*-******************* batch encoding *******************/
/* A record without a key always has a value (an empty one for NULL); a
 * keyed record with a NULL value is a tombstone. */
static inline unsigned rec_attr(const evlog_record *r)
{
    unsigned a = 0;
    if (r->key)
        a |= EVL_REC_HAS_KEY;
    if (r->value || !r->key)
        a |= EVL_REC_HAS_VALUE;
    return a;
}

/* The most bytes one record's framing can take besides its key and value:
 * attributes, offset delta (< 2^32), timestamp delta and two lengths. */
#define EVL_REC_OVERHEAD_MAX (1 + 5 + 10 + 10 + 10)

uint64_t evl_batch_size(const evlog_record *recs, size_t n)
{
    uint64_t data = 0;
    int too_big = n > UINT32_MAX;
    size_t i;

    if (n == 0)
        return 0;
    /* one cheap pass: validity, and the sum of the payload bytes; the
     * framing is bounded per record rather than counted */
    for (i = 0; i < n; i++) {
        const evlog_record *r = &recs[i];
        if ((!r->key && r->key_len) || (!r->value && r->value_len))
            return 0;
        too_big |= r->key_len > EVLOG_MAX_BATCH_BYTES || r->value_len > EVLOG_MAX_BATCH_BYTES;
        data += (uint64_t)r->key_len + r->value_len;
    }
    if (too_big)
        return UINT64_MAX;
    return EVL_BATCH_HEADER_SIZE + data + (uint64_t)n * EVL_REC_OVERHEAD_MAX;
}

uint64_t evl_batch_size_exact(const evlog_record *recs, size_t n)
{
    uint64_t size = EVL_BATCH_HEADER_SIZE;
    size_t i;
    for (i = 0; i < n; i++) {
        const evlog_record *r = &recs[i];
        size += 1 + varint_len(i) + 10;
        if (r->key)
            size += varint_len(r->key_len) + r->key_len;
        if (r->value || !r->key)
            size += varint_len(r->value_len) + r->value_len;
    }
    return size;
}

uint32_t evl_batch_seal(uint8_t *dst, evl_batch *h, const uint8_t *payload,
                        uint32_t payload_len, uint8_t attributes)
{
    h->length = EVL_BATCH_HEADER_SIZE + payload_len;
    h->version = EVL_BATCH_VERSION;
    h->attributes = attributes;
    if (payload && payload != dst + EVL_BATCH_HEADER_SIZE)
        memmove(dst + EVL_BATCH_HEADER_SIZE, payload, payload_len);
    evl_st32(dst + 8, h->length);
    dst[12] = h->version;
    dst[13] = h->attributes;
    evl_st16(dst + 14, 0);
    evl_st64(dst + 16, h->base_offset);
    evl_st32(dst + 24, h->count);
    evl_st32(dst + 28, h->last_delta);
    evl_st64(dst + 32, (uint64_t)h->first_ts);
    evl_st64(dst + 40, (uint64_t)h->max_ts);
    h->checksum = evl_hash(dst + 8, h->length - 8, EVL_SEED_BATCH);
    evl_st64(dst, h->checksum);
    return h->length;
}

uint32_t evl_records_encode(uint8_t *dst, const evlog_record *recs, size_t n, uint32_t first_delta,
                            int64_t first_ts, int64_t now, int64_t *max_ts)
{
    uint8_t *p = dst;
    int64_t max = *max_ts;
    size_t i;

    for (i = 0; i < n; i++) {
        const evlog_record *r = &recs[i];
        int64_t ts = r->timestamp ? r->timestamp : now;
        unsigned attr = rec_attr(r);
        if (ts > max)
            max = ts;
        *p++ = (uint8_t)attr;
        p = varint_put(p, first_delta + i);
        p = varint_put(p, zigzag((int64_t)((uint64_t)ts - (uint64_t)first_ts)));
        if (attr & EVL_REC_HAS_KEY) {
            p = varint_put(p, r->key_len);
            if (r->key_len)
                memcpy(p, r->key, r->key_len);
            p += r->key_len;
        }
        if (attr & EVL_REC_HAS_VALUE) {
            p = varint_put(p, r->value_len);
            if (r->value_len)
                memcpy(p, r->value, r->value_len);
            p += r->value_len;
        }
    }
    *max_ts = max;
    return (uint32_t)(p - dst);
}

uint32_t evl_batch_encode(uint8_t *dst, evl_batch *hdr, const evlog_record *recs, size_t n,
                          uint64_t base, int64_t now)
{
    evl_batch local, *h2 = hdr ? hdr : &local;
    int64_t first = recs[0].timestamp ? recs[0].timestamp : now;
    int64_t max = first;
    uint32_t len = evl_records_encode(dst + EVL_BATCH_HEADER_SIZE, recs, n, 0, first, now, &max);

    h2->base_offset = base;
    h2->count = (uint32_t)n;
    h2->last_delta = (uint32_t)(n - 1);
    h2->first_ts = first;
    h2->max_ts = max;
    return evl_batch_seal(dst, h2, NULL, len, EVL_COMP_NONE);
}

/*-******************* truncate.pending *******************/
int evl_side_valid(const uint8_t *p, uint64_t size, uint64_t target, uint64_t seq,
                   evl_batch *b)
{
    uint32_t len;
    if (size < EVL_SIDE_HEADER_SIZE || memcmp(p, EVL_SIDE_MAGIC, 8) != 0)
        return 0;
    len = evl_ld32(p + 12);
    return size == EVL_SIDE_HEADER_SIZE + (uint64_t)len &&
           evl_hash(p + EVL_SIDE_HEADER_SIZE, len, evl_hash(p, 56, EVL_SEED_SIDE)) ==
               evl_ld64(p + 56) &&
           evl_batch_check(b, p + EVL_SIDE_HEADER_SIZE, len) == EVL_OK && b->length == len &&
           evl_ld64(p + 32) == target && evl_ld64(p + 40) == seq;
}

/*-******************* batch checking *******************/
static int all_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

evl_check evl_batch_parse(evl_batch *out, const uint8_t *p, uint64_t avail)
{
    if (avail < EVL_BATCH_HEADER_SIZE)
        return avail && !all_zero(p, (size_t)avail) ? EVL_BAD_SHORT : EVL_BAD_ZERO;
    out->checksum = evl_ld64(p);
    out->length = evl_ld32(p + 8);
    out->version = p[12];
    out->attributes = p[13];
    out->base_offset = evl_ld64(p + 16);
    out->count = evl_ld32(p + 24);
    out->last_delta = evl_ld32(p + 28);
    out->first_ts = (int64_t)evl_ld64(p + 32);
    out->max_ts = (int64_t)evl_ld64(p + 40);
    if (out->length == 0 && out->checksum == 0 && all_zero(p, EVL_BATCH_HEADER_SIZE))
        return EVL_BAD_ZERO;
    if (out->length < EVL_BATCH_HEADER_SIZE + 2 || out->length > EVLOG_MAX_BATCH_BYTES)
        return EVL_BAD_LENGTH;
    if (out->length > avail)
        return EVL_BAD_SHORT;
    if (out->version != EVL_BATCH_VERSION ||
        (out->attributes & ~EVL_ATTR_COMPRESSION_MASK) ||
        (out->attributes & EVL_ATTR_COMPRESSION_MASK) > EVL_COMP_LZ4 ||
        evl_ld16(p + 14) != 0 || out->count == 0 ||
        out->last_delta < out->count - 1 || out->max_ts < out->first_ts)
        return EVL_BAD_HEADER;
    return EVL_OK;
}

evl_check evl_batch_verify(const evl_batch *b, const uint8_t *p)
{
    return evl_hash(p + 8, b->length - 8, EVL_SEED_BATCH) == b->checksum ? EVL_OK
                                                                          : EVL_BAD_CHECKSUM;
}

evl_check evl_batch_check(evl_batch *out, const uint8_t *p, uint64_t avail)
{
    evl_check c = evl_batch_parse(out, p, avail);
    return c != EVL_OK ? c : evl_batch_verify(out, p);
}

/*-******************* record decoding *******************/
void evl_cursor_init(evl_rec_cursor *c, const evl_batch *h, const uint8_t *payload,
                     size_t payload_len)
{
    c->p = payload;
    c->end = payload + payload_len;
    c->base = h->base_offset;
    c->first_ts = h->first_ts;
    c->left = h->count;
}

int evl_cursor_next(evl_rec_cursor *c, evlog_record *rec)
{
    const uint8_t *p = c->p, *end = c->end;
    uint64_t delta, tsz, len;
    unsigned attr;

    if (c->left == 0)
        return p == end ? 0 : -1;
    if (p >= end)
        return -1;
    attr = *p++;
    if ((attr & ~EVL_REC_ATTR_KNOWN) || attr == 0) /* a record has a key, a value or both */
        return -1;
    if (!(p = varint_get(p, end, &delta)) || !(p = varint_get(p, end, &tsz)))
        return -1;
    rec->offset = c->base + delta;
    rec->timestamp = (int64_t)((uint64_t)c->first_ts + (uint64_t)unzigzag(tsz));
    rec->key = NULL;
    rec->key_len = 0;
    rec->value = NULL;
    rec->value_len = 0;
    if (attr & EVL_REC_HAS_KEY) {
        if (!(p = varint_get(p, end, &len)) || len > (uint64_t)(end - p))
            return -1;
        rec->key = p;
        rec->key_len = (size_t)len;
        p += len;
    }
    if (attr & EVL_REC_HAS_VALUE) {
        if (!(p = varint_get(p, end, &len)) || len > (uint64_t)(end - p))
            return -1;
        rec->value = p;
        rec->value_len = (size_t)len;
        p += len;
    }
    c->p = p;
    c->left--;
    return 1;
}

evl_check evl_records_check(const evl_batch *h, const uint8_t *payload, size_t len)
{
    evl_rec_cursor c;
    evlog_record r;
    uint64_t prev = 0;
    uint32_t i = 0;
    int rc;

    evl_cursor_init(&c, h, payload, len);
    while ((rc = evl_cursor_next(&c, &r)) == 1) {
        uint64_t delta = r.offset - h->base_offset;
        if ((i > 0 && delta <= prev) || delta > h->last_delta ||
            r.timestamp > h->max_ts)
            return EVL_BAD_RECORDS;
        if (i == 0 && r.timestamp != h->first_ts)
            return EVL_BAD_RECORDS;
        prev = delta;
        i++;
    }
    if (rc < 0 || prev != h->last_delta)
        return EVL_BAD_RECORDS;
    return EVL_OK;
}

/*-******************* LZ4 payloads *******************/
uint32_t evl_lz4_raw_len(const uint8_t *src, size_t len)
{
    return len < 4 ? 0 : evl_ld32(src);
}

long evl_lz4_unpack(uint8_t *dst, size_t cap, const uint8_t *src, size_t len)
{
    uint32_t raw = evl_lz4_raw_len(src, len);
    int got;
    if (raw == 0 || raw > cap || raw > EVLOG_MAX_BATCH_BYTES || len - 4 > INT32_MAX)
        return -1;
    got = LZ4_decompress_safe((const char *)src + 4, (char *)dst, (int)(len - 4), (int)raw);
    return got == (int)raw ? (long)raw : -1;
}

/*-******************* segment header and footer *******************/
void evl_seg_header_encode(uint8_t *dst, const evl_seg_header *h)
{
    memset(dst, 0, EVL_SEG_HEADER_SIZE);
    memcpy(dst, EVL_SEG_MAGIC, 8);
    evl_st32(dst + 8, h->version);
    evl_st32(dst + 12, EVL_SEG_HEADER_SIZE);
    evl_st64(dst + 16, h->base_offset);
    evl_st64(dst + 24, h->capacity);
    evl_st64(dst + 32, (uint64_t)h->created);
    evl_st64(dst + 56, evl_hash(dst, 56, EVL_SEED_SEGHDR));
}

evl_check evl_seg_header_decode(evl_seg_header *h, const uint8_t *src)
{
    if (all_zero(src, EVL_SEG_HEADER_SIZE))
        return EVL_BAD_ZERO;
    if (memcmp(src, EVL_SEG_MAGIC, 8) != 0)
        return EVL_BAD_HEADER;
    if (evl_ld64(src + 56) != evl_hash(src, 56, EVL_SEED_SEGHDR))
        return EVL_BAD_CHECKSUM;
    h->version = evl_ld32(src + 8);
    h->base_offset = evl_ld64(src + 16);
    h->capacity = evl_ld64(src + 24);
    h->created = (int64_t)evl_ld64(src + 32);
    if (evl_ld32(src + 12) != EVL_SEG_HEADER_SIZE)
        return EVL_BAD_HEADER;
    return EVL_OK;
}

void evl_footer_encode(uint8_t *dst, const evl_footer *f)
{
    memset(dst, 0, EVL_FOOTER_SIZE);
    memcpy(dst, EVL_FOOTER_MAGIC, 8);
    evl_st32(dst + 8, EVL_FORMAT_VERSION);
    evl_st32(dst + 12, EVL_FOOTER_SIZE);
    evl_st64(dst + 16, f->base_offset);
    evl_st64(dst + 24, f->next_offset);
    evl_st64(dst + 32, f->records);
    evl_st64(dst + 40, f->batches);
    evl_st64(dst + 48, (uint64_t)f->min_ts);
    evl_st64(dst + 56, (uint64_t)f->max_ts);
    evl_st64(dst + 64, f->data_end);
    evl_st64(dst + 72, evl_hash(dst, 72, EVL_SEED_FOOTER));
}

evl_check evl_footer_decode(evl_footer *f, const uint8_t *src)
{
    if (memcmp(src, EVL_FOOTER_MAGIC, 8) != 0)
        return all_zero(src, EVL_FOOTER_SIZE) ? EVL_BAD_ZERO : EVL_BAD_HEADER;
    if (evl_ld64(src + 72) != evl_hash(src, 72, EVL_SEED_FOOTER))
        return EVL_BAD_CHECKSUM;
    if (evl_ld32(src + 8) != EVL_FORMAT_VERSION)
        return EVL_BAD_VERSION;
    if (evl_ld32(src + 12) != EVL_FOOTER_SIZE)
        return EVL_BAD_HEADER;
    f->base_offset = evl_ld64(src + 16);
    f->next_offset = evl_ld64(src + 24);
    f->records = evl_ld64(src + 32);
    f->batches = evl_ld64(src + 40);
    f->min_ts = (int64_t)evl_ld64(src + 48);
    f->max_ts = (int64_t)evl_ld64(src + 56);
    f->data_end = evl_ld64(src + 64);
    if (f->next_offset < f->base_offset || f->data_end < EVL_SEG_HEADER_SIZE ||
        f->records > f->next_offset - f->base_offset || f->batches > f->records)
        return EVL_BAD_HEADER;
    return EVL_OK;
}

/*-******************* index header *******************/
void evl_index_header_encode(uint8_t *dst, const evl_index_header *h)
{
    memset(dst, 0, EVL_INDEX_HEADER_SIZE);
    memcpy(dst, EVL_INDEX_MAGIC, 8);
    evl_st32(dst + 8, EVL_FORMAT_VERSION);
    evl_st32(dst + 12, h->interval);
    evl_st64(dst + 16, h->base_offset);
    evl_st64(dst + 24, h->count);
    evl_st64(dst + 32, h->covered_end);
    evl_st64(dst + 40, h->entries_checksum);
    evl_st64(dst + 56, evl_hash(dst, 56, EVL_SEED_INDEX));
}

evl_check evl_index_header_decode(evl_index_header *h, const uint8_t *src)
{
    if (memcmp(src, EVL_INDEX_MAGIC, 8) != 0)
        return EVL_BAD_HEADER;
    if (evl_ld64(src + 56) != evl_hash(src, 56, EVL_SEED_INDEX))
        return EVL_BAD_CHECKSUM;
    if (evl_ld32(src + 8) != EVL_FORMAT_VERSION)
        return EVL_BAD_HEADER;
    h->interval = evl_ld32(src + 12);
    h->base_offset = evl_ld64(src + 16);
    h->count = evl_ld64(src + 24);
    h->covered_end = evl_ld64(src + 32);
    h->entries_checksum = evl_ld64(src + 40);
    return EVL_OK;
}

/*-******************* checkpoint *******************/
void evl_ckpt_encode(uint8_t *dst, const evl_ckpt *c)
{
    memset(dst, 0, EVL_CKPT_SLOT_SIZE);
    memcpy(dst, EVL_CKPT_MAGIC, 8);
    evl_st32(dst + 8, EVL_FORMAT_VERSION);
    evl_st32(dst + 12, EVL_CKPT_SLOT_SIZE);
    evl_st64(dst + 16, c->seq);
    evl_st64(dst + 24, c->durable_offset);
    evl_st64(dst + 32, c->durable_segment);
    evl_st64(dst + 40, c->durable_pos);
    evl_st64(dst + 48, c->start_offset);
    evl_st64(dst + 56, c->truncate_to);
    evl_st64(dst + 120, evl_hash(dst, 120, EVL_SEED_CKPT));
}

evl_check evl_ckpt_decode(evl_ckpt *c, const uint8_t *src)
{
    if (memcmp(src, EVL_CKPT_MAGIC, 8) != 0)
        return all_zero(src, EVL_CKPT_SLOT_SIZE) ? EVL_BAD_ZERO : EVL_BAD_HEADER;
    if (evl_ld64(src + 120) != evl_hash(src, 120, EVL_SEED_CKPT))
        return EVL_BAD_CHECKSUM;
    if (evl_ld32(src + 8) != EVL_FORMAT_VERSION || evl_ld32(src + 12) != EVL_CKPT_SLOT_SIZE)
        return EVL_BAD_HEADER;
    c->seq = evl_ld64(src + 16);
    c->durable_offset = evl_ld64(src + 24);
    c->durable_segment = evl_ld64(src + 32);
    c->durable_pos = evl_ld64(src + 40);
    c->start_offset = evl_ld64(src + 48);
    c->truncate_to = evl_ld64(src + 56);
    return EVL_OK;
}

/*-******************* names *******************/
void evl_name(char *dst, uint64_t base, const char *suffix)
{
    snprintf(dst, EVL_NAME_MAX, "%020llu%s", (unsigned long long)base, suffix);
}

int evl_parse_name(const char *name, const char *suffix, uint64_t *base)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < EVL_NAME_DIGITS; i++) {
        unsigned d;
        if (name[i] < '0' || name[i] > '9')
            return 0;
        d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (strcmp(name + EVL_NAME_DIGITS, suffix) != 0)
        return 0;
    *base = v;
    return 1;
}
