/*
 * helpers.c - the shared helpers of the Criterion suite (see helpers.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format.h"

char evt_dir[4096];
char evt_log[4200];
int64_t evt_t0;

/*-******************* fixture *******************/
static void paths_free(void);

void evt_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(evt_dir, sizeof evt_dir, "%s/evlog-test-XXXXXX", tmp);
    if (!mkdtemp(evt_dir)) {
        fprintf(stderr, "mkdtemp(%s): %s\n", evt_dir, strerror(errno));
        abort();
    }
    snprintf(evt_log, sizeof evt_log, "%s/log", evt_dir);
    /* one second of slack for a clock that is read by the library a
     * little differently (coarse clocks) */
    evt_t0 = evt_now_ns() - 1000000000LL;
}

void evt_teardown(void)
{
    if (!evt_dir[0])
        return;
    if (getenv("EVLOG_TEST_KEEP"))
        fprintf(stderr, "kept test directory %s\n", evt_dir);
    else
        evt_rm_rf(evt_dir);
    paths_free();
}

/* Every string evt_path returns stays valid until evt_teardown. */
static pthread_mutex_t paths_mu = PTHREAD_MUTEX_INITIALIZER;
static char **paths;
static size_t npaths, paths_cap;

const char *evt_path(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s/%s", a, b);
    pthread_mutex_lock(&paths_mu);
    if (npaths == paths_cap) {
        paths_cap = paths_cap ? paths_cap * 2 : 64;
        paths = realloc(paths, paths_cap * sizeof *paths);
        if (!paths)
            abort();
    }
    paths[npaths++] = p;
    pthread_mutex_unlock(&paths_mu);
    return p;
}

static void paths_free(void)
{
    size_t i;
    pthread_mutex_lock(&paths_mu);
    for (i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    paths = NULL;
    npaths = paths_cap = 0;
    pthread_mutex_unlock(&paths_mu);
}

/*-******************* seeds and PRNG *******************/
uint64_t evt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t evt_seed(const char *label)
{
    const char *env = getenv("EVLOG_TEST_SEED");
    uint64_t seed;
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = evt_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                       ((uint64_t)getpid() << 12));
        seed &= 0xffffffffffffull; /* short enough to copy by hand */
    }
    fprintf(stderr, "seed %s: EVLOG_TEST_SEED=%llu\n", label, (unsigned long long)seed);
    return seed;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void evt_rng_init(evt_rng *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++) {
        seed = evt_mix(seed + (uint64_t)i);
        r->s[i] = seed;
    }
}

uint64_t evt_rng_next(evt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t evt_rng_below(evt_rng *r, uint64_t n)
{
    return n ? evt_rng_next(r) % n : 0;
}

uint64_t evt_rng_range(evt_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + evt_rng_below(r, hi - lo + 1);
}

void evt_rng_fill(evt_rng *r, void *dst, size_t n)
{
    uint8_t *p = dst;
    while (n >= 8) {
        uint64_t v = evt_rng_next(r);
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = evt_rng_next(r);
        memcpy(p, &v, n);
    }
}

int64_t evt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t evt_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*-******************* record generator *******************/
static void rec_rng(const evt_gen *g, uint64_t idx, evt_rng *r)
{
    evt_rng_init(r, g->seed ^ evt_mix(idx * 0x9e3779b97f4a7c15ull + 0x5151));
}

void evt_gen_shape(const evt_gen *g, uint64_t idx, evt_shape *s)
{
    evt_rng r;
    uint64_t x, p;
    size_t cap = g->max_value ? g->max_value : (1u << 20);

    rec_rng(g, idx, &r);
    x = evt_rng_next(&r);
    memset(s, 0, sizeof *s);
    switch (g->profile) {
    case EVT_TINY:
        s->has_key = (x & 7) != 0;
        s->key_len = s->has_key ? (size_t)evt_rng_range(&r, 1, 8) : 0;
        s->value_len = (size_t)evt_rng_below(&r, 17);
        break;
    case EVT_SMALL:
        s->has_key = (x & 3) != 0;
        s->key_len = s->has_key && ((x >> 8) & 15) ? (size_t)evt_rng_range(&r, 1, 32) : 0;
        s->value_len = (size_t)evt_rng_below(&r, 101);
        break;
    default:
        s->has_key = (x & 3) != 0;
        s->key_len = s->has_key && ((x >> 8) & 15) ? (size_t)evt_rng_range(&r, 1, 64) : 0;
        p = evt_rng_below(&r, 10000);
        if (p < 7000)
            s->value_len = (size_t)evt_rng_below(&r, 101);
        else if (p < 9500)
            s->value_len = (size_t)evt_rng_range(&r, 101, 4096);
        else if (p < 9985)
            s->value_len = (size_t)evt_rng_range(&r, 4097, 65536);
        else
            s->value_len = (size_t)evt_rng_range(&r, 65537, 1u << 20);
        if (idx % 7919 == 7918) /* now and then a value of exactly the cap */
            s->value_len = cap;
        break;
    }
    if (s->value_len > cap)
        s->value_len = cap;
    /* a tenth of the keyed records are tombstones */
    if (s->has_key && ((x >> 16) % 10) == 0 && s->value_len != cap) {
        s->tombstone = 1;
        s->value_len = 0;
    }
    if (!g->no_zero_ts && ((x >> 24) & 7) == 0)
        s->timestamp = 0;
    else
        s->timestamp = 1600000000000000000LL + (int64_t)evt_rng_below(&r, 100000000000000000ull);
    s->pattern = (int)((x >> 32) & 1);
}

size_t evt_gen_bytes(const evt_gen *g, uint64_t idx)
{
    evt_shape s;
    evt_gen_shape(g, idx, &s);
    return s.key_len + s.value_len;
}

void evt_gen_record(const evt_gen *g, uint64_t idx, evlog_record *rec, uint8_t *buf)
{
    evt_shape s;
    evt_rng r;
    uint8_t *v = buf + 0;

    evt_gen_shape(g, idx, &s);
    evt_rng_init(&r, g->seed ^ evt_mix(idx + 0x77777777ull));
    memset(rec, 0, sizeof *rec);
    rec->timestamp = s.timestamp;
    if (s.has_key) {
        evt_rng_fill(&r, buf, s.key_len);
        rec->key = buf;
        rec->key_len = s.key_len;
    }
    v = buf + s.key_len;
    if (!s.tombstone) {
        if (s.pattern) {
            char unit[48];
            int ul = snprintf(unit, sizeof unit, "event %llu of the log; ",
                              (unsigned long long)idx);
            size_t i;
            for (i = 0; i < s.value_len; i++)
                v[i] = (uint8_t)unit[i % (size_t)ul];
        } else {
            evt_rng_fill(&r, v, s.value_len);
        }
        rec->value = v;
        rec->value_len = s.value_len;
    }
}

static void whyf(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!why || !n)
        return;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

int evt_check_record(const evt_gen *g, uint64_t idx, uint64_t want_offset,
                     const evlog_record *got, uint8_t *scratch, char *why, size_t why_len)
{
    evlog_record want;
    unsigned long long o = (unsigned long long)want_offset;

    evt_gen_record(g, idx, &want, scratch);
    if (got->offset != want_offset) {
        whyf(why, why_len, "record offset %llu, expected %llu",
             (unsigned long long)got->offset, o);
        return -1;
    }
    if (want.timestamp == 0) {
        int64_t hi = evt_now_ns() + 1000000000LL;
        if (got->timestamp < evt_t0 || got->timestamp > hi) {
            whyf(why, why_len, "offset %llu: timestamp 0 (now) read back as %lld, outside "
                 "[%lld, %lld]", o, (long long)got->timestamp, (long long)evt_t0,
                 (long long)hi);
            return -1;
        }
    } else if (got->timestamp != want.timestamp) {
        whyf(why, why_len, "offset %llu: timestamp %lld, expected %lld", o,
             (long long)got->timestamp, (long long)want.timestamp);
        return -1;
    }
    if (!want.key) {
        if (got->key || got->key_len) {
            whyf(why, why_len, "offset %llu: key %p/%zu, expected no key (NULL)", o,
                 got->key, got->key_len);
            return -1;
        }
    } else if (!got->key || got->key_len != want.key_len ||
               memcmp(got->key, want.key, want.key_len) != 0) {
        whyf(why, why_len, "offset %llu: key %p/%zu differs from the one appended (%zu bytes)",
             o, got->key, got->key_len, want.key_len);
        return -1;
    }
    if (!want.value) {
        if (got->value || got->value_len) {
            whyf(why, why_len, "offset %llu: value %p/%zu, expected a tombstone (NULL)", o,
                 got->value, got->value_len);
            return -1;
        }
    } else if (!got->value || got->value_len != want.value_len ||
               memcmp(got->value, want.value, want.value_len) != 0) {
        whyf(why, why_len, "offset %llu: value %p/%zu differs from the one appended (%zu bytes)",
             o, got->value, got->value_len, want.value_len);
        return -1;
    }
    return 0;
}

int evt_verify_iter(evlog_iter *it, const evt_gen *g, uint64_t idx_base, uint64_t from,
                    uint64_t to, char *why, size_t why_len)
{
    size_t cap = 0;
    uint8_t *scratch = NULL;
    uint64_t o;
    int ret = 0;

    for (o = from; o < to; o++) {
        evlog_record rec;
        size_t need = evt_gen_bytes(g, o - idx_base) + 1;
        int rc;
        if (need > cap) {
            uint8_t *n = realloc(scratch, need > 65536 ? need : 65536);
            if (!n) {
                whyf(why, why_len, "out of memory");
                ret = -1;
                break;
            }
            scratch = n;
            cap = need > 65536 ? need : 65536;
        }
        rc = evlog_iter_next(it, &rec);
        if (rc != 1) {
            whyf(why, why_len, "evlog_iter_next at offset %llu (reading [%llu, %llu)) returned "
                 "%d (%s)", (unsigned long long)o, (unsigned long long)from,
                 (unsigned long long)to, rc, rc < 0 ? evlog_strerror(rc) : "end");
            ret = -1;
            break;
        }
        if (evt_check_record(g, o - idx_base, o, &rec, scratch, why, why_len) != 0) {
            ret = -1;
            break;
        }
    }
    free(scratch);
    return ret;
}

int evt_verify_log(evlog *log, const evt_gen *g, uint64_t idx_base, uint64_t from,
                   uint64_t to, int expect_end, char *why, size_t why_len)
{
    evlog_iter *it = NULL;
    evlog_record rec;
    int rc = evlog_iter_new(&it, log, from);
    if (rc != 0) {
        whyf(why, why_len, "evlog_iter_new(%llu) returned %d (%s): %s",
             (unsigned long long)from, rc, evlog_strerror(rc), evlog_errmsg(log));
        return -1;
    }
    rc = evt_verify_iter(it, g, idx_base, from, to, why, why_len);
    if (rc == 0 && expect_end) {
        int n = evlog_iter_next(it, &rec);
        if (n != 0) {
            whyf(why, why_len, "evlog_iter_next past the last record %llu returned %d, "
                 "expected 0 (end)", (unsigned long long)to, n);
            rc = -1;
        }
    }
    evlog_iter_free(it);
    return rc;
}

int evt_append_gen(evlog *log, const evt_gen *g, uint64_t idx_first, uint64_t count,
                   evt_rng *brng, evt_append_plan *plan)
{
    size_t arena_cap = plan->max_batch_bytes + (g->max_value ? g->max_value : (1u << 20)) + 256;
    uint8_t *arena = malloc(arena_cap);
    evlog_record *recs = malloc(sizeof *recs * (plan->max_batch ? plan->max_batch : 1));
    uint64_t idx = idx_first, end = idx_first + count;
    int rc = 0;

    plan->n_batches = 0;
    plan->appended = 0;
    plan->why[0] = 0;
    if (!arena || !recs) {
        rc = EVLOG_ENOMEM;
        goto out;
    }
    while (idx < end) {
        unsigned want = (unsigned)evt_rng_range(brng, 1, plan->max_batch ? plan->max_batch : 1);
        size_t used = 0, n = 0;
        uint64_t first, expect;
        while (n < want && idx + n < end) {
            size_t b = evt_gen_bytes(g, idx + n);
            if (n > 0 && used + b > plan->max_batch_bytes)
                break;
            evt_gen_record(g, idx + n, &recs[n], arena + used);
            used += b;
            n++;
        }
        expect = evlog_end_offset(log);
        first = UINT64_MAX;
        rc = evlog_append(log, recs, n, &first);
        if (rc != 0) {
            whyf(plan->why, sizeof plan->why, "evlog_append of %zu records at offset %llu: "
                 "%d (%s): %s", n, (unsigned long long)expect, rc, evlog_strerror(rc),
                 evlog_errmsg(log));
            break;
        }
        if (first != expect || evlog_end_offset(log) != expect + n) {
            whyf(plan->why, sizeof plan->why, "evlog_append of %zu records: first offset "
                 "%llu, end before %llu, end after %llu", n, (unsigned long long)first,
                 (unsigned long long)expect, (unsigned long long)evlog_end_offset(log));
            rc = EVT_EOFFSET;
            break;
        }
        idx += n;
        plan->appended += n;
        if (plan->batch_ends && plan->n_batches < plan->batch_ends_cap)
            plan->batch_ends[plan->n_batches] = first + n;
        plan->n_batches++;
    }
out:
    free(arena);
    free(recs);
    return rc;
}

int evt_append_one(evlog *log, const evt_gen *g, uint64_t idx, uint64_t *first_offset)
{
    evlog_record rec;
    uint8_t *buf = malloc(evt_gen_bytes(g, idx) + 1);
    int rc;
    if (!buf)
        return EVLOG_ENOMEM;
    evt_gen_record(g, idx, &rec, buf);
    rc = evlog_append(log, &rec, 1, first_offset);
    free(buf);
    return rc;
}

/*-******************* files *******************/
static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int evt_rm_rf(const char *path)
{
    return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int evt_copy_dir(const char *from, const char *to)
{
    DIR *d = opendir(from);
    struct dirent *de;
    int rc = 0;
    if (!d)
        return -1;
    if (mkdir(to, 0755) != 0) {
        closedir(d);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char src[8192], dst[8192];
        struct stat st;
        uint8_t *buf;
        size_t len;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(src, sizeof src, "%s/%s", from, de->d_name);
        if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        buf = evt_file_read(src, &len);
        snprintf(dst, sizeof dst, "%s/%s", to, de->d_name);
        if (!buf || evt_file_write(dst, buf, len) != 0)
            rc = -1;
        free(buf);
    }
    closedir(d);
    return rc;
}

uint8_t *evt_file_read(const char *path, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    buf = malloc((size_t)st.st_size + 1);
    while (buf && done < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
        if (r <= 0) {
            free(buf);
            buf = NULL;
            break;
        }
        done += (size_t)r;
    }
    close(fd);
    if (buf)
        *len = done;
    return buf;
}

int evt_file_write(const char *path, const void *buf, size_t len)
{
    size_t done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (done < len) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

int evt_file_pwrite(const char *path, uint64_t off, const void *buf, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t w;
    if (fd < 0)
        return -1;
    w = pwrite(fd, buf, n, (off_t)off);
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

int evt_file_truncate(const char *path, uint64_t len)
{
    return truncate(path, (off_t)len);
}

long long evt_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int evt_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int evt_file_flip(const char *path, uint64_t off, uint8_t mask)
{
    uint8_t b;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (pread(fd, &b, 1, (off_t)off) != 1) {
        close(fd);
        return -1;
    }
    b ^= mask;
    if (pwrite(fd, &b, 1, (off_t)off) != 1) {
        close(fd);
        return -1;
    }
    return close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

long evt_segments(const char *dir, uint64_t *bases, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    long n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        uint64_t base;
        if (strlen(de->d_name) == EVL_NAME_DIGITS + strlen(EVL_SEG_SUFFIX) &&
            evl_parse_name(de->d_name, EVL_SEG_SUFFIX, &base)) {
            if ((size_t)n < cap)
                bases[n] = base;
            n++;
        }
    }
    closedir(d);
    qsort(bases, (size_t)n < cap ? (size_t)n : cap, sizeof *bases, cmp_u64);
    return n;
}

const char *evt_seg_path(const char *dir, uint64_t base)
{
    char name[EVL_NAME_MAX];
    evl_name(name, base, EVL_SEG_SUFFIX);
    return evt_path(dir, name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

char *evt_dir_digest(const char *dir)
{
    return evt_dir_digest_suffix(dir, "");
}

char *evt_dir_digest_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **lines = NULL;
    size_t n = 0, cap = 0, total = 1, i;
    char *out;

    if (!d)
        return strdup("");
    while ((de = readdir(d)) != NULL) {
        char line[512], p[8192];
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !ends_with(de->d_name, suffix))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            size_t len = 0;
            uint8_t *buf = evt_file_read(p, &len);
            snprintf(line, sizeof line, "%s size=%lld hash=%016llx\n", de->d_name,
                     (long long)st.st_size,
                     buf ? (unsigned long long)evl_hash(buf, len, 0) : 0ull);
            free(buf);
        } else {
            snprintf(line, sizeof line, "%s mode=%o\n", de->d_name, (unsigned)st.st_mode);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            lines = realloc(lines, cap * sizeof *lines);
        }
        lines[n++] = strdup(line);
        total += strlen(line);
    }
    closedir(d);
    qsort(lines, n, sizeof *lines, cmp_str);
    out = malloc(total);
    out[0] = 0;
    for (i = 0; i < n; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out;
}

long evt_seg_batches(const char *path, uint64_t *pos, uint32_t *len, uint64_t *base,
                     uint32_t *count, size_t cap)
{
    size_t flen;
    uint8_t *buf = evt_file_read(path, &flen);
    uint64_t p = EVL_SEG_HEADER_SIZE;
    long n = 0;
    if (!buf)
        return -1;
    while (p < flen && (size_t)n < cap) {
        evl_batch h;
        if (evl_batch_check(&h, buf + p, flen - p) != EVL_OK)
            break;
        if (pos)
            pos[n] = p;
        if (len)
            len[n] = h.length;
        if (base)
            base[n] = h.base_offset;
        if (count)
            count[n] = h.count;
        n++;
        p += h.length;
    }
    free(buf);
    return n;
}

int evt_contains(const char *s, const char *sub)
{
    return s && sub && strstr(s, sub) != NULL;
}
