/*
 * concurrency.c - threads against one handle, without Criterion so that it
 * also runs under ThreadSanitizer (scripts/sanitize.sh tsan): appenders
 * rolling small segments (sealer and pretoucher at work), readers following
 * the tail without the writer's lock, a thread syncing, then group commit
 * in EVLOG_SYNC_ALWAYS. Every record read must be whole and in order.
 *
 *   concurrency DIR
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evlog.h"

enum { APPENDERS = 2, READERS = 2, PER_THREAD = 20000, ALWAYS_THREADS = 4, ALWAYS_EACH = 40 };

static evlog *g_log;
static atomic_int g_writers_done;
static atomic_int g_failures;

#define FAIL(...)                                                                        \
    do {                                                                                 \
        fprintf(stderr, "concurrency: " __VA_ARGS__);                                    \
        fputc('\n', stderr);                                                             \
        atomic_fetch_add(&g_failures, 1);                                                \
    } while (0)

/* A value tells its own length and a check byte: a reader can tell a whole
 * record from a torn one without knowing who wrote it. */
static size_t make_value(unsigned char *buf, unsigned thread, unsigned i)
{
    size_t len = 16 + (size_t)((thread * 131u + i * 17u) % 200u), k;
    unsigned char sum = 0;
    memcpy(buf, &len, sizeof len);
    for (k = sizeof len; k + 1 < len; k++) {
        buf[k] = (unsigned char)(thread + i + k);
        sum = (unsigned char)(sum + buf[k]);
    }
    buf[len - 1] = sum;
    return len;
}

static int value_ok(const unsigned char *v, size_t n)
{
    size_t len, k;
    unsigned char sum = 0;
    if (n < 16)
        return 0;
    memcpy(&len, v, sizeof len);
    if (len != n)
        return 0;
    for (k = sizeof len; k + 1 < n; k++)
        sum = (unsigned char)(sum + v[k]);
    return sum == v[n - 1];
}

static void *appender(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg, i;
    unsigned char buf[256];
    for (i = 0; i < PER_THREAD; i++) {
        evlog_record rec;
        int rc;
        memset(&rec, 0, sizeof rec);
        rec.value = buf;
        rec.value_len = make_value(buf, t, i);
        if ((rc = evlog_append(g_log, &rec, 1, NULL)) != 0) {
            FAIL("append: %s: %s", evlog_strerror(rc), evlog_errmsg(g_log));
            break;
        }
    }
    atomic_fetch_add(&g_writers_done, 1);
    return NULL;
}

static void *syncer(void *arg)
{
    (void)arg;
    while (atomic_load(&g_writers_done) < APPENDERS) {
        struct timespec ts = {0, 2000000};
        int rc = evlog_sync(g_log);
        if (rc != 0)
            FAIL("sync: %s", evlog_strerror(rc));
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *reader(void *arg)
{
    evlog_iter *it;
    evlog_record rec;
    uint64_t next = 0, total = (uint64_t)APPENDERS * PER_THREAD;
    int rc;
    (void)arg;
    if ((rc = evlog_iter_new(&it, g_log, 0)) != 0) {
        FAIL("iter_new: %s", evlog_strerror(rc));
        return NULL;
    }
    while (next < total) {
        rc = evlog_iter_next(it, &rec);
        if (rc < 0) {
            FAIL("iter_next at %llu: %s: %s", (unsigned long long)next, evlog_strerror(rc),
                 evlog_errmsg(g_log));
            break;
        }
        if (rc == 0) {
            if (atomic_load(&g_writers_done) == APPENDERS && next >= evlog_end_offset(g_log))
                break;
            continue;
        }
        if (rec.offset != next || !value_ok(rec.value, rec.value_len)) {
            FAIL("record %llu read as offset %llu, %s", (unsigned long long)next,
                 (unsigned long long)rec.offset, value_ok(rec.value, rec.value_len) ? "whole" : "torn");
            break;
        }
        next++;
    }
    if (next != total)
        FAIL("a reader saw %llu records of %llu", (unsigned long long)next,
             (unsigned long long)total);
    evlog_iter_free(it);
    return NULL;
}

static void *always_appender(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg, i;
    unsigned char buf[256];
    for (i = 0; i < ALWAYS_EACH; i++) {
        evlog_record rec;
        uint64_t off;
        int rc;
        memset(&rec, 0, sizeof rec);
        rec.value = buf;
        rec.value_len = make_value(buf, t, i);
        if ((rc = evlog_append(g_log, &rec, 1, &off)) != 0) {
            FAIL("always append: %s", evlog_strerror(rc));
            break;
        }
        if (evlog_durable_offset(g_log) <= off)
            FAIL("EVLOG_SYNC_ALWAYS returned before offset %llu was durable",
                 (unsigned long long)off);
    }
    return NULL;
}

static int run_threads(void *(*fn)(void *), int n, pthread_t *th)
{
    int i;
    for (i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, (void *)(uintptr_t)i) != 0)
            return -1;
    return 0;
}

/* Appenders, readers on the writer's handle and a syncer, at once; with
 * `linger_us`, the appends linger and the readers close their batches. */
static int run_pass(const char *dir, uint32_t linger_us)
{
    pthread_t app[APPENDERS], rd[READERS], sy;
    evlog_options o;
    int i, rc;

    atomic_store(&g_failures, 0);
    atomic_store(&g_writers_done, 0);
    evlog_options_init(&o);
    o.segment_bytes = 256 << 10;
    o.linger_us = linger_us;
    if ((rc = evlog_open(&g_log, dir, &o)) != 0) {
        fprintf(stderr, "concurrency: open %s: %s\n", dir, evlog_strerror(rc));
        return -1;
    }
    if (run_threads(reader, READERS, rd) || run_threads(appender, APPENDERS, app) ||
        pthread_create(&sy, NULL, syncer, NULL) != 0) {
        fprintf(stderr, "concurrency: cannot start threads\n");
        return -1;
    }
    for (i = 0; i < APPENDERS; i++)
        pthread_join(app[i], NULL);
    pthread_join(sy, NULL);
    for (i = 0; i < READERS; i++)
        pthread_join(rd[i], NULL);
    if (evlog_end_offset(g_log) != (uint64_t)APPENDERS * PER_THREAD)
        FAIL("end offset %llu", (unsigned long long)evlog_end_offset(g_log));
    if ((rc = evlog_close(g_log)) != 0)
        FAIL("close: %s", evlog_strerror(rc));
    return atomic_load(&g_failures) ? 1 : 0;
}

int main(int argc, char **argv)
{
    pthread_t al[ALWAYS_THREADS];
    evlog_options o;
    char dir2[4096];
    int i, rc, passed = 0, failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: concurrency DIR\n");
        return 2;
    }
    snprintf(dir2, sizeof dir2, "%s-linger", argv[1]);
    for (i = 0; i < 2; i++) {
        rc = run_pass(i ? dir2 : argv[1], i ? 200 : 0);
        if (rc < 0)
            return 1;
        rc ? failed++ : passed++;
    }
    evlog_options_init(&o);
    o.segment_bytes = 256 << 10;

    /* group commit */
    atomic_store(&g_failures, 0);
    o.sync_mode = EVLOG_SYNC_ALWAYS;
    if ((rc = evlog_open(&g_log, argv[1], &o)) != 0) {
        fprintf(stderr, "concurrency: reopen: %s\n", evlog_strerror(rc));
        return 1;
    }
    if (run_threads(always_appender, ALWAYS_THREADS, al) != 0)
        return 1;
    for (i = 0; i < ALWAYS_THREADS; i++)
        pthread_join(al[i], NULL);
    if (evlog_durable_offset(g_log) != evlog_end_offset(g_log))
        FAIL("durable %llu, end %llu", (unsigned long long)evlog_durable_offset(g_log),
             (unsigned long long)evlog_end_offset(g_log));
    if ((rc = evlog_close(g_log)) != 0)
        FAIL("close: %s", evlog_strerror(rc));
    atomic_load(&g_failures) ? failed++ : passed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
