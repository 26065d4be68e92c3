/*
 * bench_util.c - clocks, statistics, data generators, result output and
 * /proc probes for the benchmarks (bench_util.h). libc only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/*-******************* clocks *******************/
uint64_t bu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bu_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bu_timer_overhead_ns(void)
{
    static double cached = -1;
    double v[201];
    int i;
    if (cached >= 0)
        return cached;
    for (i = 0; i < 201; i++) {
        uint64_t a = bu_now_ns(), b = bu_now_ns();
        v[i] = (double)(b - a);
    }
    bu_sort(v, 201);
    cached = v[100];
    return cached;
}

/*-******************* statistics *******************/
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bu_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bu_pct_sorted(const double *v, size_t n, double p)
{
    size_t k;
    if (n == 0)
        return 0;
    /* nearest rank: the smallest value with at least p% at or below it */
    k = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/*-******************* random and data *******************/
void bu_rng_seed(bu_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
    (void)bu_rng_next(r);
}

int bu_pool_init(bu_pool *p, size_t size, uint64_t seed)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    bu_rng r;
    size_t i;
    p->bytes = malloc(size);
    p->size = size;
    if (!p->bytes)
        return -1;
    bu_rng_seed(&r, seed);
    for (i = 0; i < size; i += 8) {
        uint64_t x = bu_rng_next(&r);
        size_t j;
        for (j = 0; j < 8 && i + j < size; j++)
            p->bytes[i + j] = (unsigned char)alphabet[(x >> (j * 6)) & 63];
    }
    return 0;
}

void bu_pool_free(bu_pool *p)
{
    free(p->bytes);
    p->bytes = NULL;
}

void bu_events_init(bu_events *g, uint64_t seed)
{
    bu_rng_seed(&g->rng, seed);
    g->n = 0;
    g->ts_ms = 1735689600000ll; /* 2025-01-01T00:00:00Z */
}

size_t bu_events_next(bu_events *g, char *dst, size_t cap)
{
    static const char *const kinds[] = {"play", "play", "play", "pause", "skip",
                                        "seek", "complete", "like"};
    static const char *const devices[] = {"ios", "android", "web", "desktop-mac",
                                          "desktop-win", "smart-tv", "car"};
    static const char *const countries[] = {"FR", "DE", "US", "GB", "BR", "JP",
                                            "SE", "IN", "MX", "ES", "IT", "NL"};
    static const char *const genres[] = {"rock", "pop", "jazz", "classical",
                                         "hip-hop", "electronic", "folk", "metal"};
    static const char *const words[] = {"love", "night", "blue", "river", "fire",
                                        "dream", "city", "summer", "heart", "road",
                                        "light", "rain", "gold", "wild", "echo"};
    bu_rng *r = &g->rng;
    char title[160];
    size_t tl = 0, n;
    int nwords, i, with_ctx;

    g->n++;
    g->ts_ms += (int64_t)bu_rng_below(r, 40);
    nwords = 1 + (int)bu_rng_below(r, 6);
    for (i = 0; i < nwords; i++)
        tl += (size_t)snprintf(title + tl, sizeof title - tl, "%s%s", i ? " " : "",
                               words[bu_rng_below(r, 15)]);
    with_ctx = (int)bu_rng_below(r, 4);
    n = (size_t)snprintf(
        dst, cap,
        "{\"type\":\"%s\",\"ts\":%lld,\"user_id\":\"u%08llu\",\"session\":"
        "\"%016llx\",\"track\":{\"id\":\"t%07llu\",\"title\":\"%s\",\"artist\":"
        "\"a%05llu\",\"genre\":\"%s\",\"duration_ms\":%llu},\"position_ms\":%llu,"
        "\"device\":\"%s\",\"country\":\"%s\",\"app_version\":\"8.%llu.%llu\","
        "\"offline\":%s",
        kinds[bu_rng_below(r, 8)], (long long)g->ts_ms,
        (unsigned long long)bu_rng_below(r, 50000000),
        (unsigned long long)bu_rng_next(r),
        (unsigned long long)bu_rng_below(r, 9000000), title,
        (unsigned long long)bu_rng_below(r, 90000), genres[bu_rng_below(r, 8)],
        (unsigned long long)(90000 + bu_rng_below(r, 300000)),
        (unsigned long long)bu_rng_below(r, 300000), devices[bu_rng_below(r, 7)],
        countries[bu_rng_below(r, 12)], (unsigned long long)bu_rng_below(r, 40),
        (unsigned long long)bu_rng_below(r, 10), bu_rng_below(r, 5) ? "false" : "true");
    if (n >= cap)
        n = cap - 1;
    if (with_ctx) {
        /* a context block of variable size: playlist, recommendation reason,
         * a few feature flags */
        int flags = (int)bu_rng_below(r, 9);
        n += (size_t)snprintf(dst + n, cap - n,
                              ",\"context\":{\"source\":\"%s\",\"playlist\":\"pl%010llu\","
                              "\"reason\":\"%s\",\"flags\":[",
                              bu_rng_below(r, 2) ? "playlist" : "radio",
                              (unsigned long long)bu_rng_next(r) % 10000000000ull,
                              bu_rng_below(r, 2) ? "because-you-listened" : "editorial");
        for (i = 0; i < flags && n < cap; i++)
            n += (size_t)snprintf(dst + n, cap - n, "%s\"exp_%llu\"", i ? "," : "",
                                  (unsigned long long)bu_rng_below(r, 1000));
        if (n < cap)
            n += (size_t)snprintf(dst + n, cap - n, "]}");
    }
    if (n < cap)
        n += (size_t)snprintf(dst + n, cap - n, "}");
    if (n >= cap)
        n = cap - 1;
    /* pad up to the 150-byte floor; the longest draw stays under 600 */
    if (n < 150) {
        static const char pad[] = ",\"pad\":\"";
        size_t k;
        n--; /* before the closing brace */
        memcpy(dst + n, pad, sizeof pad - 1);
        n += sizeof pad - 1;
        for (k = n; k < 148; k++)
            dst[k] = 'x';
        n = 148;
        dst[n++] = '"';
        dst[n++] = '}';
    }
    return n;
}

/*-******************* results *******************/
void bu_result_init(bu_result *r, const char *workload, const char *engine)
{
    memset(r, 0, sizeof *r);
    snprintf(r->workload, sizeof r->workload, "%s", workload);
    snprintf(r->engine, sizeof r->engine, "%s", engine);
    r->key_size = 8;
    r->batch = 1;
}

void bu_result_add_run(bu_result *r, double secs)
{
    if (r->nruns < BU_MAX_RUNS)
        r->secs[r->nruns++] = secs;
}

void bu_result_add_run_cpu(bu_result *r, double secs, double cpu_secs)
{
    if (r->nruns < BU_MAX_RUNS)
        r->cpu[r->nruns] = cpu_secs;
    bu_result_add_run(r, secs);
}

static double min_cpu(const bu_result *r)
{
    double m = 0;
    int i;
    for (i = 0; i < r->nruns; i++)
        if (r->cpu[i] > 0 && (m == 0 || r->cpu[i] < m))
            m = r->cpu[i];
    return m;
}

double bu_result_best_cpu_rps(const bu_result *r)
{
    double m = min_cpu(r);
    return m > 0 ? (double)r->records / m : 0;
}

double bu_result_best_cpu_bps(const bu_result *r)
{
    double m = min_cpu(r);
    return m > 0 ? (double)r->bytes / m : 0;
}

void bu_result_extra(bu_result *r, const char *key, double val)
{
    int i;
    for (i = 0; i < r->nextra; i++)
        if (!strcmp(r->extra[i].key, key)) {
            r->extra[i].val = val;
            return;
        }
    if (r->nextra < BU_MAX_EXTRA) {
        snprintf(r->extra[r->nextra].key, sizeof r->extra[0].key, "%s", key);
        r->extra[r->nextra++].val = val;
    }
}

void bu_result_lat(bu_result *r, double *ns, size_t n)
{
    double sum = 0;
    size_t i;
    bu_sort(ns, n);
    for (i = 0; i < n; i++)
        sum += ns[i];
    r->has_lat = 1;
    r->lat_n = n;
    r->lat_p50 = bu_pct_sorted(ns, n, 50);
    r->lat_p90 = bu_pct_sorted(ns, n, 90);
    r->lat_p99 = bu_pct_sorted(ns, n, 99);
    r->lat_p999 = bu_pct_sorted(ns, n, 99.9);
    r->lat_max = n ? ns[n - 1] : 0;
    r->lat_mean = n ? sum / (double)n : 0;
}

static void sorted_secs(const bu_result *r, double *v)
{
    memcpy(v, r->secs, sizeof(double) * (size_t)r->nruns);
    bu_sort(v, (size_t)r->nruns);
}

/* seconds of the fastest, median and slowest run */
static double secs_rank(const bu_result *r, int which)
{
    double v[BU_MAX_RUNS];
    if (r->nruns == 0)
        return 0;
    sorted_secs(r, v);
    if (which == 0)
        return v[0];
    if (which == 2)
        return v[r->nruns - 1];
    return (r->nruns & 1) ? v[r->nruns / 2] : (v[r->nruns / 2 - 1] + v[r->nruns / 2]) / 2;
}

static double per_sec(double amount, double secs) { return secs > 0 ? amount / secs : 0; }

double bu_result_best_rps(const bu_result *r) { return per_sec((double)r->records, secs_rank(r, 0)); }
double bu_result_median_rps(const bu_result *r) { return per_sec((double)r->records, secs_rank(r, 1)); }
double bu_result_worst_rps(const bu_result *r) { return per_sec((double)r->records, secs_rank(r, 2)); }
double bu_result_best_bps(const bu_result *r) { return per_sec((double)r->bytes, secs_rank(r, 0)); }
double bu_result_median_bps(const bu_result *r) { return per_sec((double)r->bytes, secs_rank(r, 1)); }

/*-******************* output *******************/
void bu_json_escape(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in && o + 7 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

static void jnum(FILE *f, const char *k, double v)
{
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        fprintf(f, ",\"%s\":%lld", k, (long long)v);
    else
        fprintf(f, ",\"%s\":%.6g", k, v);
}

static void jstr(FILE *f, const char *k, const char *v)
{
    char esc[1024];
    bu_json_escape(esc, sizeof esc, v);
    fprintf(f, ",\"%s\":\"%s\"", k, esc);
}

static void human(char *dst, size_t cap, double v, const char *unit)
{
    if (v >= 1e9)
        snprintf(dst, cap, "%.2f G%s", v / 1e9, unit);
    else if (v >= 1e6)
        snprintf(dst, cap, "%.2f M%s", v / 1e6, unit);
    else if (v >= 1e3)
        snprintf(dst, cap, "%.1f k%s", v / 1e3, unit);
    else
        snprintf(dst, cap, "%.1f %s", v, unit);
}

static void human_ns(char *dst, size_t cap, double ns)
{
    if (ns >= 1e9)
        snprintf(dst, cap, "%.2f s", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(dst, cap, "%.2f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(dst, cap, "%.1f us", ns / 1e3);
    else
        snprintf(dst, cap, "%.0f ns", ns);
}

void bu_emit_result(bu_sink *s, const bu_result *r)
{
    int i;
    if (s->json) {
        FILE *f = s->json;
        fprintf(f, "{\"type\":\"result\"");
        jstr(f, "workload", r->workload);
        jstr(f, "engine", r->engine);
        jnum(f, "value_size", r->value_size);
        jnum(f, "key_size", r->key_size);
        jnum(f, "batch", r->batch);
        jnum(f, "records", (double)r->records);
        jnum(f, "bytes", (double)r->bytes);
        jnum(f, "runs", r->nruns);
        if (r->nruns) {
            fprintf(f, ",\"secs\":[");
            for (i = 0; i < r->nruns; i++)
                fprintf(f, "%s%.6f", i ? "," : "", r->secs[i]);
            fprintf(f, "]");
            if (min_cpu(r) > 0) {
                fprintf(f, ",\"cpu_secs\":[");
                for (i = 0; i < r->nruns; i++)
                    fprintf(f, "%s%.6f", i ? "," : "", r->cpu[i]);
                fprintf(f, "]");
                if (r->records)
                    jnum(f, "cpu_rps_best", bu_result_best_cpu_rps(r));
                if (r->bytes)
                    jnum(f, "cpu_mbps_best", bu_result_best_cpu_bps(r) / 1e6);
            }
            if (r->records) {
                jnum(f, "rps_best", bu_result_best_rps(r));
                jnum(f, "rps_median", bu_result_median_rps(r));
                jnum(f, "rps_worst", bu_result_worst_rps(r));
            }
            if (r->bytes) {
                jnum(f, "mbps_best", bu_result_best_bps(r) / 1e6);
                jnum(f, "mbps_median", bu_result_median_bps(r) / 1e6);
            }
            if (r->records && r->nruns > 1)
                jnum(f, "spread_pct",
                     100.0 * (1.0 - bu_result_worst_rps(r) / bu_result_best_rps(r)));
        }
        if (r->has_lat) {
            jnum(f, "lat_n", (double)r->lat_n);
            jnum(f, "lat_p50_ns", r->lat_p50);
            jnum(f, "lat_p90_ns", r->lat_p90);
            jnum(f, "lat_p99_ns", r->lat_p99);
            jnum(f, "lat_p999_ns", r->lat_p999);
            jnum(f, "lat_max_ns", r->lat_max);
            jnum(f, "lat_mean_ns", r->lat_mean);
        }
        for (i = 0; i < r->nextra; i++)
            jnum(f, r->extra[i].key, r->extra[i].val);
        if (r->settings[0])
            jstr(f, "settings", r->settings);
        if (r->note[0])
            jstr(f, "note", r->note);
        fprintf(f, "}\n");
        fflush(f);
    }
    if (s->table) {
        FILE *t = s->table;
        char a[32] = "-", b[32] = "-", c[32] = "-", d[32] = "-", e[32] = "-", name[64],
             cp[32] = "-";
        if (!s->table_header_done) {
            fprintf(t, "%-26s %-9s %6s %5s %11s %8s %7s %11s %10s %10s\n", "workload", "engine",
                    "value", "batch", "records/s", "MB/s", "spread", "rec/cpu-s", "p50", "p99");
            s->table_header_done = 1;
        }
        if (r->nruns && r->records)
            human(a, sizeof a, bu_result_best_rps(r), "");
        if (r->nruns && r->bytes)
            snprintf(b, sizeof b, "%.0f", bu_result_best_bps(r) / 1e6);
        if (r->nruns > 1 && r->records)
            snprintf(c, sizeof c, "%.0f%%",
                     100.0 * (1.0 - bu_result_worst_rps(r) / bu_result_best_rps(r)));
        if (r->nruns && r->records && min_cpu(r) > 0)
            human(cp, sizeof cp, bu_result_best_cpu_rps(r), "");
        if (r->has_lat) {
            human_ns(d, sizeof d, r->lat_p50);
            human_ns(e, sizeof e, r->lat_p99);
        }
        snprintf(name, sizeof name, "%s", r->workload);
        for (i = 0; i < r->nextra; i++)
            if (!strcmp(r->extra[i].key, "threads"))
                snprintf(name, sizeof name, "%s x%.0f", r->workload, r->extra[i].val);
        if (r->value_size >= 0)
            fprintf(t, "%-26s %-9s %6d %5d %11s %8s %7s %11s %10s %10s\n", name, r->engine,
                    r->value_size, r->batch, a, b, c, cp, d, e);
        else
            fprintf(t, "%-26s %-9s %6s %5d %11s %8s %7s %11s %10s %10s\n", name, r->engine,
                    "var", r->batch, a, b, c, cp, d, e);
        for (i = 0; i < r->nextra; i++)
            if (!strcmp(r->extra[i].key, "open_ms") || !strcmp(r->extra[i].key, "rss_mb") ||
                !strcmp(r->extra[i].key, "segments") || !strcmp(r->extra[i].key, "fds") ||
                !strcmp(r->extra[i].key, "maps") || !strcmp(r->extra[i].key, "log_gib"))
                fprintf(t, "%-26s %s=%.6g\n", "", r->extra[i].key, r->extra[i].val);
        fflush(t);
    }
}

void bu_emit_ratio(bu_sink *s, const bu_ratio *q)
{
    int met = q->higher_better ? q->value >= q->target : q->value <= q->target;
    if (s->json) {
        FILE *f = s->json;
        fprintf(f, "{\"type\":\"ratio\"");
        jstr(f, "name", q->name);
        jstr(f, "what", q->what);
        jnum(f, "value", q->value);
        jnum(f, "paired", q->paired);
        if (q->cpu > 0)
            jnum(f, "cpu", q->cpu);
        if (q->has_target) {
            jnum(f, "target", q->target);
            jstr(f, "direction", q->higher_better ? ">=" : "<=");
            fprintf(f, ",\"met\":%s", met ? "true" : "false");
        }
        fprintf(f, "}\n");
        fflush(f);
    }
    if (s->table) {
        if (q->has_target)
            fprintf(s->table, "  %-40s %10.3f (paired %.3f, cpu %.3f)  target %s %g  %s\n",
                    q->name, q->value, q->paired, q->cpu, q->higher_better ? ">=" : "<=",
                    q->target, met ? "MET" : "MISSED");
        else
            fprintf(s->table, "  %-40s %10.3f (paired %.3f, cpu %.3f)\n", q->name, q->value,
                    q->paired, q->cpu);
        fflush(s->table);
    }
}

void bu_emit_kv(bu_sink *s, const char *type, const char *const *kv, size_t n)
{
    size_t i;
    if (!s->json)
        return;
    fprintf(s->json, "{\"type\":\"%s\"", type);
    for (i = 0; i + 1 < n; i += 2) {
        if (kv[i + 1][0] == '#')
            fprintf(s->json, ",\"%s\":%s", kv[i], kv[i + 1] + 1);
        else
            jstr(s->json, kv[i], kv[i + 1]);
    }
    fprintf(s->json, "}\n");
    fflush(s->json);
}

void bu_progress(bu_sink *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->progress)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "[bench] ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/*-******************* system *******************/
int bu_mkdirs(const char *path)
{
    char buf[4096];
    size_t i, n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

int bu_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

uint64_t bu_dir_bytes(const char *dir, int allocated, const char *suffix, unsigned *nfiles)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;
    unsigned n = 0;
    char path[4096];
    if (!d) {
        if (nfiles)
            *nfiles = 0;
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        size_t l = strlen(e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        total += allocated ? (uint64_t)st.st_blocks * 512u : (uint64_t)st.st_size;
        if (!suffix || (l >= strlen(suffix) && !strcmp(e->d_name + l - strlen(suffix), suffix)))
            n++;
    }
    closedir(d);
    if (nfiles)
        *nfiles = n;
    return total;
}

uint64_t bu_free_bytes(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return 0;
    return (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
}

long bu_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t fl = strlen(field);
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

int bu_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

int bu_count_maps(const char *match)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!match || strstr(line, match))
            n++;
    fclose(f);
    return n;
}

void bu_machine(char *cpu, size_t cpucap, char *kernel, size_t kcap, char *fstype,
                size_t fscap, const char *path)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    struct utsname u;
    struct statfs sf;
    snprintf(cpu, cpucap, "unknown");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    p += 2;
                    p[strcspn(p, "\n")] = 0;
                    snprintf(cpu, cpucap, "%s", p);
                }
                break;
            }
        fclose(f);
    }
    if (uname(&u) == 0)
        snprintf(kernel, kcap, "%s %s", u.sysname, u.release);
    else
        snprintf(kernel, kcap, "unknown");
    snprintf(fstype, fscap, "unknown");
    if (statfs(path, &sf) == 0) {
        switch ((unsigned long)sf.f_type) {
        case 0xEF53: snprintf(fstype, fscap, "ext4"); break;
        case 0x58465342: snprintf(fstype, fscap, "xfs"); break;
        case 0x9123683E: snprintf(fstype, fscap, "btrfs"); break;
        case 0x01021994: snprintf(fstype, fscap, "tmpfs"); break;
        default: snprintf(fstype, fscap, "0x%lx", (unsigned long)sf.f_type); break;
        }
    }
}
