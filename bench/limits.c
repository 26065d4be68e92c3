/*
 * limits.c - the physical limits of this machine for evlog's work, measured
 * with plain libc loops over the same bytes the engines get (workload.h):
 *
 *   copy   frame each record (8-byte length, key, value) into a
 *          preallocated, MAP_SHARED file, faulting page by page or with
 *          MADV_POPULATE_WRITE a few MiB ahead of the copy;
 *   scan   read every byte of that file through a fresh mapping;
 *   write  the same framed bytes through buffered write(2);
 *   sync   the latency of write + fdatasync of a 4 KiB append;
 *   random read
 *          the latency of copying one framed record out of that file at a
 *          position known in advance, for records drawn at random.
 *
 * libc only, like bench_util.c, so that `evlog bench` can report its ratios.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PF_AHEAD (4u << 20) /* keep this much populated ahead of the copy */
#define PF_CHUNK (1u << 20) /* populated per madvise call */

static inline void store_be64(unsigned char *p, uint64_t v)
{
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#else
    int i;
    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
#endif
}

void wl_key(unsigned char key[8], uint64_t seq) { store_be64(key, seq); }

int bl_copy(const char *path, uint64_t file_bytes, int value_size, int prefault,
            const bu_pool *pool, int keep, bl_copy_out *out)
{
    unsigned char *map, *p, *end;
    uint64_t i, t0, t1, c0, pf_end = 0;
    size_t v = (size_t)value_size;
    size_t rec = 16 + v;
    int fd, rc = -1, pf_ok = 1;

    memset(out, 0, sizeof *out);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    if ((errno = posix_fallocate(fd, 0, (off_t)file_bytes)) != 0)
        goto fail_fd;
    map = mmap(NULL, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        goto fail_fd;
    p = map;
    end = map + file_bytes;

    c0 = bu_cpu_ns();
    t0 = bu_now_ns();
    if (prefault) {
        pf_end = file_bytes < PF_AHEAD ? file_bytes : PF_AHEAD;
        if (madvise(map, pf_end, MADV_POPULATE_WRITE) != 0)
            pf_ok = 0;
    }
    for (i = 0; p + rec <= end; i++) {
        uint64_t len = 8 + v;
        if (prefault && (uint64_t)(p - map) + PF_AHEAD > pf_end && pf_end < file_bytes) {
            uint64_t n = file_bytes - pf_end < PF_CHUNK ? file_bytes - pf_end : PF_CHUNK;
            if (madvise(map + pf_end, n, MADV_POPULATE_WRITE) != 0)
                pf_ok = 0;
            pf_end += n;
        }
        memcpy(p, &len, 8);
        store_be64(p + 8, i);
        memcpy(p + 16, bu_pool_at(pool, i, v), v);
        p += rec;
    }
    t1 = bu_now_ns();
    out->cpu_secs = (double)(bu_cpu_ns() - c0) / 1e9;

    out->records = i;
    out->bytes = i * (8 + v);
    out->framed_bytes = (uint64_t)(p - map);
    out->secs = (double)(t1 - t0) / 1e9;
    out->prefault_ok = prefault ? pf_ok : 0;
    munmap(map, file_bytes);
    rc = 0;
fail_fd:
    close(fd);
    if (!keep || rc)
        unlink(path);
    return rc;
}

int bl_scan(const char *path, uint64_t *bytes, double *secs, double *cpu_secs,
            uint64_t *sum_out)
{
    struct stat st;
    const uint64_t *w;
    uint64_t n, i, sum = 0, t0, t1, c0;
    void *map;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return -1;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -1;
    (void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    w = map;
    n = (uint64_t)st.st_size / 8;
    c0 = bu_cpu_ns();
    t0 = bu_now_ns();
    for (i = 0; i < n; i++)
        sum += w[i];
    t1 = bu_now_ns();
    *cpu_secs = (double)(bu_cpu_ns() - c0) / 1e9;
    munmap(map, (size_t)st.st_size);
    *bytes = n * 8;
    *secs = (double)(t1 - t0) / 1e9;
    if (sum_out)
        *sum_out = sum;
    return 0;
}

int bl_write(const char *path, uint64_t records, int value_size, const bu_pool *pool,
             size_t chunk, double *secs)
{
    unsigned char *buf = malloc(chunk);
    size_t v = (size_t)value_size, rec = 16 + v, used = 0;
    uint64_t i, t0, t1;
    int fd, rc = -1;
    if (!buf || rec > chunk) {
        free(buf);
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(buf);
        return -1;
    }
    t0 = bu_now_ns();
    for (i = 0; i < records; i++) {
        uint64_t len = 8 + v;
        if (used + rec > chunk) {
            if (write(fd, buf, used) != (ssize_t)used)
                goto out;
            used = 0;
        }
        memcpy(buf + used, &len, 8);
        store_be64(buf + used + 8, i);
        memcpy(buf + used + 16, bu_pool_at(pool, i, v), v);
        used += rec;
    }
    if (used && write(fd, buf, used) != (ssize_t)used)
        goto out;
    t1 = bu_now_ns();
    *secs = (double)(t1 - t0) / 1e9;
    rc = 0;
out:
    close(fd);
    unlink(path);
    free(buf);
    return rc;
}

int bl_fdatasync(const char *path, int n, int preallocated, double *lat_ns)
{
    unsigned char block[4096];
    int fd, i;
    memset(block, 'e', sizeof block);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    if (preallocated) {
        /* written and synced once, so later overwrites change no metadata */
        for (i = 0; i < n; i++)
            if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != (ssize_t)sizeof block)
                goto fail;
        if (fsync(fd) != 0)
            goto fail;
    }
    for (i = 0; i < n; i++) {
        uint64_t t0 = bu_now_ns();
        block[0] = (unsigned char)i;
        if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != (ssize_t)sizeof block)
            goto fail;
        if (fdatasync(fd) != 0)
            goto fail;
        lat_ns[i] = (double)(bu_now_ns() - t0);
    }
    close(fd);
    unlink(path);
    return 0;
fail:
    close(fd);
    unlink(path);
    return -1;
}

/* The byte positions of the framed records from the start of `map` (the
 * copy loop's framing: a native u64 length L, then L bytes of key and
 * value), up to the first length that is zero (the preallocated tail) or
 * that runs past `size`. Stores them in pos[] unless NULL; returns the
 * count, the largest framed record (8 + L) in *max_rec and the end of the
 * last record in *end. Cannot fail. */
static uint64_t frame_walk(const unsigned char *map, uint64_t size, uint64_t *pos,
                           uint64_t *max_rec, uint64_t *end)
{
    uint64_t off = 0, n = 0, len;
    *max_rec = 0;
    while (size - off >= 8) {
        memcpy(&len, map + off, 8);
        if (len == 0 || len > size - off - 8)
            break;
        if (pos)
            pos[n] = off;
        n++;
        if (8 + len > *max_rec)
            *max_rec = 8 + len;
        off += 8 + len;
    }
    *end = off;
    return n;
}

/* One operation of the random read: copy the framed record at `p` (its
 * length, key and value) into `buf` and return its last byte. */
static inline unsigned char copy_record(unsigned char *buf, const unsigned char *p)
{
    uint64_t len;
    memcpy(&len, p, 8);
    memcpy(buf, p, (size_t)(8 + len));
    __asm__ volatile("" : : "r"(buf) : "memory"); /* the copy must happen */
    return buf[7 + len];
}

int bl_random_read(const char *path, uint64_t nops, uint64_t seed, double *lat_ns,
                   bl_random_read_out *out)
{
    struct stat st;
    unsigned char *map = MAP_FAILED, *buf = NULL;
    uint64_t *pos = NULL, n, max_rec, end, i, x = 0, t0, size = 0;
    double ovh = bu_timer_overhead_ns();
    bu_rng rng;
    int fd, rc = -1;

    memset(out, 0, sizeof *out);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0)
        goto out;
    if (st.st_size <= 0) {
        errno = EINVAL;
        goto out;
    }
    size = (uint64_t)st.st_size;
    /* the file was just written through a shared mapping: write its pages
     * back now, so that the flusher does not run during the timing (the
     * seek test's log was synced by evlog_close long before) */
    if (fdatasync(fd) != 0)
        goto out;
    map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        goto out;
    /* outside the timing: every record's position, found by a walk over
     * the whole mapping, which also reads the file once (page cache warm) */
    n = frame_walk(map, size, NULL, &max_rec, &end);
    if (n == 0) {
        errno = EINVAL;
        goto out;
    }
    pos = malloc(sizeof *pos * (size_t)n);
    buf = malloc((size_t)max_rec);
    if (!pos || !buf) {
        errno = ENOMEM;
        goto out;
    }
    (void)frame_walk(map, size, pos, &max_rec, &end);

    bu_rng_seed(&rng, seed);
    /* per-operation timing, as the seek test's: the record is drawn, then
     * clock_gettime around the copy */
    for (i = 0; i < nops; i++) {
        const unsigned char *p = map + pos[bu_rng_below(&rng, n)];
        uint64_t a, b;
        a = bu_now_ns();
        x += copy_record(buf, p);
        b = bu_now_ns();
        lat_ns[i] = (double)(b - a) - ovh;
        if (lat_ns[i] < 0)
            lat_ns[i] = 0;
    }
    /* the same without per-operation clocks, the generator going on */
    t0 = bu_now_ns();
    for (i = 0; i < nops; i++)
        x += copy_record(buf, map + pos[bu_rng_below(&rng, n)]);
    out->bulk_secs = (double)(bu_now_ns() - t0) / 1e9;
    __asm__ volatile("" : : "r"(x));
    out->records = n;
    out->framed_bytes = end;
    out->bulk_ops = nops;
    out->timer_overhead_ns = ovh;
    rc = 0;
out:
    if (map != MAP_FAILED)
        munmap(map, (size_t)size);
    close(fd);
    free(pos);
    free(buf);
    return rc;
}
