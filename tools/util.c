/*
 * util.c - the helpers the evlog subcommands share (see util.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*-******************* errors *******************/
int util_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "evlog %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int util_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "evlog %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'evlog %s --help'\n", cmd);
    return EXIT_USAGE;
}

int util_scan_error(const char *cmd, const char *path, int rc)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return util_error(cmd, "%s: %s", path, strerror(errno));
    return util_error(cmd, "%s: %s", path, evlog_strerror(rc));
}

/*-******************* option values *******************/
int util_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **s, int n, unsigned *out)
{
    unsigned v = 0;
    int i;
    for (i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return -1;
        v = v * 10 + (unsigned)((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

int util_parse_time(const char *s, int64_t *ns)
{
    unsigned Y, M, D, h = 0, m = 0, sec = 0, oh = 0, om = 0;
    int64_t frac = 0, scale = 100000000, t;
    int sign = 0;
    const char *p = s;
    if (!s || !*s)
        return -1;
    if (strchr(s, '-') == NULL || (s[0] == '-' && strchr(s + 1, '-') == NULL)) {
        /* raw nanoseconds */
        char *end;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end)
            return -1;
        *ns = v;
        return 0;
    }
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D) || M < 1 || M > 12 || D < 1 || D > 31)
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m))
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -1;
            if (*p == '.' || *p == ',') {
                p++;
                if (*p < '0' || *p > '9')
                    return -1;
                while (*p >= '0' && *p <= '9') {
                    frac += scale * (*p - '0');
                    scale /= 10;
                    p++;
                }
            }
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (digits(&p, 2, &oh))
            return -1;
        if (*p == ':')
            p++;
        if (digits(&p, 2, &om))
            return -1;
    }
    if (*p || h > 23 || m > 59 || sec > 60)
        return -1;
    t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
    t -= sign * (int64_t)(oh * 3600 + om * 60);
    if (t > INT64_MAX / 1000000000 - 1 || t < INT64_MIN / 1000000000 + 1)
        return -1;
    *ns = t * 1000000000 + frac;
    return 0;
}

const char *util_iso8601(char *buf, size_t cap, int64_t ns)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    struct tm tm;
    time_t t;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "?");
        return buf;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return buf;
}

/*-******************* byte strings *******************/
/* Length of the UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len, i;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

int util_is_utf8(const void *v, size_t n)
{
    const unsigned char *p = v;
    size_t i = 0, l;
    while (i < n) {
        if (!(l = utf8_len(p + i, n - i)))
            return 0;
        i += l;
    }
    return 1;
}

int util_is_text(const void *v, size_t n)
{
    const unsigned char *p = v;
    size_t i;
    for (i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
            return 0;
    return util_is_utf8(v, n);
}

void util_json_string(FILE *f, const void *v, size_t n)
{
    const unsigned char *p = v;
    size_t i;
    fputc('"', f);
    for (i = 0; i < n; i++) {
        unsigned c = p[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc((int)c, f);
        }
    }
    fputc('"', f);
}

void util_hex(FILE *f, const void *v, size_t n)
{
    const unsigned char *p = v;
    size_t i;
    for (i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

void util_json_bytes(FILE *f, const char *name, const void *p, size_t n, int hex)
{
    if (!p) {
        fprintf(f, "\"%s\":null", name);
    } else if (!hex && util_is_utf8(p, n)) {
        fprintf(f, "\"%s\":", name);
        util_json_string(f, p, n);
    } else {
        fprintf(f, "\"%s_hex\":\"", name);
        util_hex(f, p, n);
        fputc('"', f);
    }
}

void util_text_bytes(FILE *f, const void *p, size_t n, int hex, size_t max)
{
    size_t shown = max && n > max ? max : n;
    if (!p) {
        fputs("(none)", f);
        return;
    }
    if (!hex && util_is_text(p, n)) {
        while (shown < n && shown > 0 && (((const unsigned char *)p)[shown] & 0xc0) == 0x80)
            shown--; /* do not cut a UTF-8 sequence */
        util_json_string(f, p, shown);
    } else {
        fputs("0x", f);
        util_hex(f, p, shown);
    }
    if (shown < n)
        fprintf(f, "...(%zu bytes)", n);
}

void util_hexdump(FILE *f, const void *v, size_t n, uint64_t pos, const char *indent)
{
    const unsigned char *p = v;
    size_t i, j;
    for (i = 0; i < n; i += 16) {
        fprintf(f, "%s%08llx ", indent, (unsigned long long)(pos + i));
        for (j = 0; j < 16; j++) {
            if (j == 8)
                fputc(' ', f);
            if (i + j < n)
                fprintf(f, " %02x", p[i + j]);
            else
                fputs("   ", f);
        }
        fputs("  |", f);
        for (j = 0; j < 16 && i + j < n; j++)
            fputc(p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j] : '.', f);
        fputs("|\n", f);
    }
}

/*-******************* problems *******************/
void util_json_u64(FILE *f, uint64_t v)
{
    if (v == EVLOG_NO_OFFSET)
        fputs("null", f);
    else
        fprintf(f, "%llu", (unsigned long long)v);
}

void util_print_offsets(FILE *f, uint64_t first, uint64_t end)
{
    if (first == end)
        fputs("none", f);
    else if (end == EVLOG_NO_OFFSET)
        fprintf(f, "%llu.. (end unknown)", (unsigned long long)first);
    else if (end == first + 1)
        fprintf(f, "%llu", (unsigned long long)first);
    else
        fprintf(f, "%llu..%llu", (unsigned long long)first, (unsigned long long)(end - 1));
}

void util_print_problem(FILE *f, const evlog_scan_problem *p, int json, int dump_bytes)
{
    const char *sev = p->severity == EVLOG_SEV_ERROR ? "error" : "warning";
    if (json) {
        fprintf(f, "{\"type\":\"problem\",\"severity\":\"%s\",\"problem\":\"%s\",\"file\":", sev,
                p->name);
        util_json_string(f, p->file, strlen(p->file));
        fprintf(f, ",\"pos\":%llu,\"length\":%llu,\"first_offset\":%llu,\"end_offset\":",
                (unsigned long long)p->pos, (unsigned long long)p->length,
                (unsigned long long)p->first_offset);
        util_json_u64(f, p->end_offset);
        fputs(",\"reason\":", f);
        util_json_string(f, p->reason, strlen(p->reason));
        fputs(",\"bytes\":\"", f);
        util_hex(f, p->bytes, p->bytes_len);
        fputs("\"}\n", f);
        return;
    }
    fprintf(f, "%s: %s: ", sev, p->file);
    if (p->length)
        fprintf(f, "bytes %llu..%llu (%llu bytes): ", (unsigned long long)p->pos,
                (unsigned long long)(p->pos + p->length - 1), (unsigned long long)p->length);
    else if (p->pos)
        fprintf(f, "byte %llu: ", (unsigned long long)p->pos);
    fprintf(f, "%s [%s]; offsets affected: ", p->reason, p->name);
    util_print_offsets(f, p->first_offset, p->end_offset);
    fputc('\n', f);
    if (dump_bytes && p->bytes_len)
        util_hexdump(f, p->bytes, p->bytes_len, p->pos, "    ");
}

/*-******************* progress *******************/
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_progress_start(util_progress *p, const char *what, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(2) && total > 0 && !getenv("EVLOG_NO_PROGRESS");
    p->total = total;
    p->what = what;
    p->last_ms = now_ms();
}

void util_progress_update(util_progress *p, uint64_t done)
{
    long long t;
    int i, width = 30, fill;
    if (!p->on)
        return;
    p->done = done;
    /* a bar only for work that lasts: first after half a second, then 10 per second */
    if ((t = now_ms()) - p->last_ms < 100 || (p->done == 0))
        return;
    p->last_ms = t;
    fill = p->total ? (int)((double)done / (double)p->total * width) : 0;
    if (fill > width)
        fill = width;
    fprintf(stderr, "\r%s [", p->what);
    for (i = 0; i < width; i++)
        fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%% %llu MiB", p->total ? (int)((double)done * 100 / (double)p->total) : 0,
            (unsigned long long)(done >> 20));
    fflush(stderr);
}

void util_progress_clear(util_progress *p)
{
    if (p->on)
        fputs("\r\033[K", stderr);
}

void util_progress_end(util_progress *p)
{
    if (p->on)
        fputs("\r\033[K", stderr);
    p->on = 0;
}
