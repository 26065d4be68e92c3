/*
 * limits_hash.c - the CPU limits of evlog's per-byte work: XXH3 (every
 * batch is checksummed when written and checked when read) and LZ4 (the
 * optional batch compression), over the same framed bytes as the copy
 * loop and over the JSON play events. Part of the comparison program only:
 * it needs xxhash and lz4, which `evlog bench` does not link.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "limits_hash.h"

#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define BLOCK (64u << 10)

/* Frame records of `v`-byte values (u64 length, 8-byte key, value) into
 * buf[size]; returns the bytes used. */
static size_t frame(unsigned char *buf, size_t size, const bu_pool *pool, size_t v)
{
    size_t used = 0;
    uint64_t i;
    for (i = 0; used + 16 + v <= size; i++) {
        uint64_t len = 8 + v;
        int j;
        memcpy(buf + used, &len, 8);
        for (j = 0; j < 8; j++)
            buf[used + 8 + (size_t)j] = (unsigned char)(i >> (56 - 8 * j));
        memcpy(buf + used + 16, bu_pool_at(pool, i, v), v);
        used += 16 + v;
    }
    return used;
}

static size_t frame_events(unsigned char *buf, size_t size, uint64_t seed)
{
    bu_events g;
    char ev[640];
    size_t used = 0;
    uint64_t i;
    bu_events_init(&g, seed);
    for (i = 0;; i++) {
        size_t n = bu_events_next(&g, ev, sizeof ev);
        uint64_t len = 8 + n;
        int j;
        if (used + 16 + n > size)
            break;
        memcpy(buf + used, &len, 8);
        for (j = 0; j < 8; j++)
            buf[used + 8 + (size_t)j] = (unsigned char)(i >> (56 - 8 * j));
        memcpy(buf + used + 16, ev, n);
        used += 16 + n;
    }
    return used;
}

int bench_hash_limits(bu_sink *s, int quick, int reps, const bu_pool *pool, uint64_t seed)
{
    size_t size = quick ? (64u << 20) : (256u << 20);
    unsigned char *buf = malloc(size);
    char *dst = malloc((size_t)LZ4_compressBound(BLOCK));
    char *back = malloc(BLOCK);
    static const struct {
        const char *what;
        int v;
    } data[3] = {{"100 B values", 100}, {"1 KiB values", 1024}, {"JSON events", -1}};
    int d, rep;
    if (!buf || !dst || !back) {
        free(buf);
        free(dst);
        free(back);
        return -1;
    }
    for (d = 0; d < 3; d++) {
        size_t used = data[d].v > 0 ? frame(buf, size, pool, (size_t)data[d].v)
                                    : frame_events(buf, size, seed);
        bu_result xh, lc, ld;
        uint64_t comp = 0;
        volatile uint64_t sink = 0;
        bu_result_init(&xh, "xxh3_64k", "limit");
        bu_result_init(&lc, "lz4_compress_64k", "limit");
        bu_result_init(&ld, "lz4_decompress_64k", "limit");
        xh.value_size = lc.value_size = ld.value_size = data[d].v;
        xh.key_size = lc.key_size = ld.key_size = 8;
        xh.bytes = lc.bytes = ld.bytes = used;
        for (rep = 0; rep < reps; rep++) {
            size_t off;
            uint64_t t0 = bu_now_ns();
            for (off = 0; off < used; off += BLOCK) {
                size_t n = used - off < BLOCK ? used - off : BLOCK;
                sink += XXH3_64bits_withSeed(buf + off, n, 0x6576626174636831ull);
            }
            bu_result_add_run(&xh, (double)(bu_now_ns() - t0) / 1e9);

            comp = 0;
            t0 = bu_now_ns();
            for (off = 0; off < used; off += BLOCK) {
                int n = (int)(used - off < BLOCK ? used - off : BLOCK);
                comp += (uint64_t)LZ4_compress_default((const char *)buf + off, dst, n,
                                                       LZ4_compressBound(BLOCK));
            }
            bu_result_add_run(&lc, (double)(bu_now_ns() - t0) / 1e9);

            /* decompression: compress one block per step untimed would
             * distort; decompress the first block repeatedly instead */
            {
                int clen = LZ4_compress_default((const char *)buf, dst, BLOCK,
                                                LZ4_compressBound(BLOCK));
                uint64_t k, nblk = used / BLOCK;
                t0 = bu_now_ns();
                for (k = 0; k < nblk; k++)
                    sink += (uint64_t)LZ4_decompress_safe(dst, back, clen, BLOCK);
                ld.bytes = nblk * BLOCK;
                bu_result_add_run(&ld, (double)(bu_now_ns() - t0) / 1e9);
            }
        }
        snprintf(xh.settings, sizeof xh.settings,
                 "XXH3_64bits_withSeed over 64 KiB blocks of framed records (%s), %zu MiB in "
                 "memory",
                 data[d].what, size >> 20);
        snprintf(lc.settings, sizeof lc.settings,
                 "LZ4_compress_default over 64 KiB blocks of framed records (%s)", data[d].what);
        snprintf(ld.settings, sizeof ld.settings,
                 "LZ4_decompress_safe of a 64 KiB block of framed records (%s), repeated",
                 data[d].what);
        bu_result_extra(&lc, "ratio", (double)used / (double)(comp ? comp : 1));
        bu_emit_result(s, &xh);
        bu_emit_result(s, &lc);
        bu_emit_result(s, &ld);
        (void)sink;
    }
    free(buf);
    free(dst);
    free(back);
    return 0;
}

void bench_hash_versions(char *xxh, size_t xcap, char *lz4, size_t lcap)
{
    unsigned v = XXH_versionNumber();
    snprintf(xxh, xcap, "%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
    snprintf(lz4, lcap, "%s", LZ4_versionString());
}
