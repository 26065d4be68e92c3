/*
 * demo.c - the README's main job: append a million events to a log, close
 * it, reopen it, read everything back, seek to random offsets, and say what
 * it did and how fast.
 *
 *   evlog_demo [DIR] [RECORDS]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evlog.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A play event: its bytes follow from its number alone, so that reading
 * back can check every byte without keeping them. */
static int make_event(char *buf, size_t cap, uint64_t i)
{
    static const char *platforms[] = {"ios", "android", "web", "desktop", "tv"};
    return snprintf(buf, cap,
                    "{\"event\":\"play\",\"user\":%llu,\"track\":%llu,\"ms_played\":%llu,"
                    "\"platform\":\"%s\"}",
                    (unsigned long long)(i * 2654435761u % 1000000),
                    (unsigned long long)(i * 40503u % 5000000), (unsigned long long)(i % 300000),
                    platforms[i % 5]);
}

static int fail(const char *what, int rc, evlog *log)
{
    fprintf(stderr, "evlog_demo: %s: %s%s%s\n", what, evlog_strerror(rc), log ? ": " : "",
            log ? evlog_errmsg(log) : "");
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "demo-log";
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000, i, first, seed = 42;
    enum { BATCH = 100, SEEKS = 100000 };
    evlog_record recs[BATCH];
    char bufs[BATCH][160], expect[160];
    evlog_record rec;
    evlog_iter *it;
    evlog *log;
    double t0, t_append, t_open, t_read, t_seek;
    uint64_t base, bytes = 0;
    int rc;

    if ((rc = evlog_open(&log, dir, NULL)) < 0)
        return fail("open", rc, NULL);
    base = evlog_end_offset(log);
    printf("evlog %s: log in %s/, starting at offset %llu\n", evlog_version(), dir,
           (unsigned long long)base);

    t0 = now_s();
    for (i = 0; i < n; i += BATCH) {
        size_t k, m = n - i < BATCH ? (size_t)(n - i) : BATCH;
        for (k = 0; k < m; k++) {
            int len = make_event(bufs[k], sizeof bufs[k], base + i + k);
            memset(&recs[k], 0, sizeof recs[k]);
            recs[k].value = bufs[k];
            recs[k].value_len = (size_t)len;
            bytes += (uint64_t)len;
        }
        if ((rc = evlog_append(log, recs, m, &first)) < 0)
            return fail("append", rc, log);
    }
    if ((rc = evlog_close(log)) < 0)
        return fail("close", rc, NULL);
    t_append = now_s() - t0;
    printf("appended %llu events (%.1f MB) in batches of %d, closed (synced): %.3f s, "
           "%.2f M events/s\n",
           (unsigned long long)n, (double)bytes / 1e6, BATCH, t_append, (double)n / t_append / 1e6);

    t0 = now_s();
    if ((rc = evlog_open(&log, dir, NULL)) < 0)
        return fail("reopen", rc, NULL);
    t_open = now_s() - t0;
    printf("reopened: %.2f ms; offsets %llu..%llu, durable up to %llu\n", t_open * 1e3,
           (unsigned long long)evlog_start_offset(log), (unsigned long long)evlog_end_offset(log),
           (unsigned long long)evlog_durable_offset(log));

    t0 = now_s();
    if ((rc = evlog_iter_new(&it, log, base)) < 0)
        return fail("iterator", rc, log);
    for (i = 0; (rc = evlog_iter_next(it, &rec)) == 1; i++) {
        int len = make_event(expect, sizeof expect, base + i);
        if (rec.offset != base + i || rec.value_len != (size_t)len ||
            memcmp(rec.value, expect, (size_t)len) != 0) {
            fprintf(stderr, "evlog_demo: record %llu differs from what was appended\n",
                    (unsigned long long)(base + i));
            return 1;
        }
    }
    if (rc < 0)
        return fail("read", rc, log);
    if (i != n) {
        fprintf(stderr, "evlog_demo: read %llu events, expected %llu\n", (unsigned long long)i,
                (unsigned long long)n);
        return 1;
    }
    t_read = now_s() - t0;
    printf("read back and checked all %llu events: %.3f s, %.2f M events/s\n",
           (unsigned long long)i, t_read, (double)i / t_read / 1e6);

    t0 = now_s();
    for (i = 0; i < SEEKS; i++) {
        uint64_t off = base + rnd(&seed) % n;
        if ((rc = evlog_iter_seek(it, off)) < 0 || (rc = evlog_iter_next(it, &rec)) != 1 ||
            rec.offset != off)
            return fail("seek", rc < 0 ? rc : EVLOG_ECORRUPT, log);
    }
    t_seek = now_s() - t0;
    printf("%d random seeks + reads: %.0f ns each\n", SEEKS, t_seek / SEEKS * 1e9);
    evlog_iter_free(it);
    if ((rc = evlog_close(log)) < 0)
        return fail("close", rc, NULL);
    printf("ok: run `build/tools/evlog stat %s` to look inside\n", dir);
    return 0;
}
