/*
 * fuzz_batch.c - libFuzzer harness of the pure decoding of lib/batch.c:
 * a batch (header limits, checksum, LZ4 payload, records), and the segment
 * header, footer, index header and checkpoint slot decoders. Nothing here
 * may crash, read out of bounds or hang, whatever the bytes; a batch that
 * passes its checks decodes into exactly its records, and re-encoding those
 * records gives a batch that checks and decodes to the same records.
 *
 * The first input byte picks the checksum mode: odd inputs get a valid
 * checksum patched in, so that the fuzzer reaches the record decoding
 * without forging XXH3.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define MAX_RAW (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void records(const evl_batch *h, const uint8_t *payload, size_t plen)
{
    evl_rec_cursor c;
    evlog_record r[64];
    uint8_t *re;
    uint64_t need;
    size_t n = 0;
    int rc;

    if (evl_records_check(h, payload, plen) != EVL_OK)
        return;
    evl_cursor_init(&c, h, payload, plen);
    while ((rc = evl_cursor_next(&c, &r[n < 63 ? n : 63])) == 1) {
        const evlog_record *x = &r[n < 63 ? n : 63];
        if (x->key_len && ((const uint8_t *)x->key < payload ||
                           (const uint8_t *)x->key + x->key_len > payload + plen))
            abort();
        if (x->value_len && ((const uint8_t *)x->value < payload ||
                             (const uint8_t *)x->value + x->value_len > payload + plen))
            abort();
        n++;
    }
    if (rc != 0 || n != h->count)
        abort(); /* evl_records_check passed: the cursor must agree */
    if (n > 63 || h->last_delta != n - 1)
        return;
    /* re-encode: a batch of the same records checks and decodes the same */
    need = evl_batch_size(r, n);
    if (!need || need > EVLOG_MAX_BATCH_BYTES || need > MAX_RAW || !(re = malloc((size_t)need)))
        return;
    {
        uint32_t len = evl_batch_encode(re, NULL, r, n, h->base_offset, 0);
        evl_batch h2;
        evl_rec_cursor c2;
        evlog_record y;
        size_t i = 0;
        if (evl_batch_check(&h2, re, len) != EVL_OK || h2.count != n)
            abort();
        evl_cursor_init(&c2, &h2, re + EVL_BATCH_HEADER_SIZE, len - EVL_BATCH_HEADER_SIZE);
        while (evl_cursor_next(&c2, &y) == 1) {
            if (y.offset != r[i].offset || y.timestamp != r[i].timestamp ||
                y.key_len != r[i].key_len || y.value_len != r[i].value_len ||
                (y.key == NULL) != (r[i].key == NULL) || (y.value == NULL) != (r[i].value == NULL) ||
                (y.key_len && memcmp(y.key, r[i].key, y.key_len)) ||
                (y.value_len && memcmp(y.value, r[i].value, y.value_len)))
                abort();
            i++;
        }
        if (i != n)
            abort();
    }
    free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    evl_batch h;
    evl_seg_header sh;
    evl_footer f;
    evl_index_header ih;
    evl_ckpt ck;
    uint8_t *buf;
    int patch;

    if (size < 1)
        return 0;
    patch = data[0] & 1;
    data++;
    size--;
    if (size >= EVL_SEG_HEADER_SIZE) {
        (void)evl_seg_header_decode(&sh, data);
        (void)evl_index_header_decode(&ih, data);
    }
    if (size >= EVL_FOOTER_SIZE)
        (void)evl_footer_decode(&f, data);
    if (size >= EVL_CKPT_SLOT_SIZE)
        (void)evl_ckpt_decode(&ck, data);

    /* a copy, exactly sized, so that ASan sees any read past it */
    if (!(buf = malloc(size ? size : 1)))
        return 0;
    memcpy(buf, data, size);
    if (patch && size >= EVL_BATCH_HEADER_SIZE) {
        uint32_t len = evl_ld32(buf + 8);
        if (len >= EVL_BATCH_HEADER_SIZE && len <= size)
            evl_st64(buf, evl_hash(buf + 8, len - 8, EVL_SEED_BATCH));
    }
    if (evl_batch_check(&h, buf, size) == EVL_OK) {
        const uint8_t *payload = buf + EVL_BATCH_HEADER_SIZE;
        size_t plen = h.length - EVL_BATCH_HEADER_SIZE;
        if ((h.attributes & EVL_ATTR_COMPRESSION_MASK) == EVL_COMP_LZ4) {
            uint32_t raw = evl_lz4_raw_len(payload, plen);
            uint8_t *out;
            long got;
            if (raw && raw <= MAX_RAW && (out = malloc(raw))) {
                got = evl_lz4_unpack(out, raw, payload, plen);
                if (got > 0)
                    records(&h, out, (size_t)got);
                free(out);
            }
        } else {
            records(&h, payload, plen);
        }
    }
    free(buf);
    return 0;
}
