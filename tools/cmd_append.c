/*
 * cmd_append.c - `evlog append DIR`: append records read from standard
 * input, one per line, or split into key and value at a separator, or
 * length-prefixed (any bytes); in batches, with the sync mode asked for.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char append_usage[] =
    "usage: evlog append [OPTIONS] DIR\n\n"
    "Append the records read from standard input to the log in DIR (created if\n"
    "absent): one record per line, the newline removed.\n\n"
    "  --key-sep C          split each line at its first C into key and value\n"
    "                       (a line without C has no key)\n"
    "  --length-prefixed    read values as a 4-byte little-endian length and\n"
    "                       that many bytes (any bytes; see 'evlog cat')\n"
    "  --batch N            records per batch, at most (default 100); a batch\n"
    "                       is also cut at 1 MiB\n"
    "  --sync MODE          none, interval or always (default none; all records\n"
    "                       are synced when the log is closed at the end)\n"
    "  --timestamp T        give every record time T (ISO 8601 or nanoseconds;\n"
    "                       default: the time of the append)\n"
    "  --segment-bytes N    segment size for a new segment (default 128 MiB)\n"
    "  --index-interval N   bytes between index entries (default 4096)\n"
    "  --compress ALG       none or lz4 (default none)\n"
    "  -v, --verbose        print the offsets assigned, one line per batch\n"
    "  --json               with -v: {\"type\":\"append\",\"first_offset\",\n"
    "                       \"last_offset\",\"records\"} per batch\n"
    "  -h, --help           this help\n\n"
    "Exit status: 0 all appended, 2 bad usage or an error (the records of the\n"
    "batches printed with -v were appended).\n";

typedef struct pending {
    size_t key_off, key_len, val_off, val_len;
    int has_key;
} pending;

typedef struct append_ctx {
    evlog *log;
    const char *dir;
    int verbose, json;
    int64_t ts;
    uint64_t max_batch;
    char *data;
    size_t len, cap;
    pending *recs;
    size_t n, rcap;
    evlog_record *out;
} append_ctx;

static int put(append_ctx *c, const void *p, size_t n, size_t *off)
{
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        char *d;
        while (cap < c->len + n)
            cap *= 2;
        if (!(d = realloc(c->data, cap)))
            return -1;
        c->data = d;
        c->cap = cap;
    }
    if (n)
        memcpy(c->data + c->len, p, n);
    *off = c->len;
    c->len += n;
    return 0;
}

static int flush(append_ctx *c)
{
    uint64_t first;
    size_t i;
    int rc;
    if (c->n == 0)
        return 0;
    for (i = 0; i < c->n; i++) {
        const pending *p = &c->recs[i];
        c->out[i].offset = 0;
        c->out[i].timestamp = c->ts;
        c->out[i].key = p->has_key ? c->data + p->key_off : NULL;
        c->out[i].key_len = p->has_key ? p->key_len : 0;
        c->out[i].value = c->data + p->val_off;
        c->out[i].value_len = p->val_len;
    }
    if ((rc = evlog_append(c->log, c->out, c->n, &first)) != 0)
        return util_error("append", "%s: %s: %s", c->dir, evlog_strerror(rc), evlog_errmsg(c->log));
    if (c->verbose && c->json)
        printf("{\"type\":\"append\",\"first_offset\":%llu,\"last_offset\":%llu,\"records\":%zu}\n",
               (unsigned long long)first, (unsigned long long)(first + c->n - 1), c->n);
    else if (c->verbose)
        printf("appended %zu records at offsets %llu..%llu\n", c->n, (unsigned long long)first,
               (unsigned long long)(first + c->n - 1));
    c->n = 0;
    c->len = 0;
    return 0;
}

/* Queue one record (key may be NULL); flushes full batches. */
static int add(append_ctx *c, const char *key, size_t klen, const char *val, size_t vlen)
{
    pending *p;
    if (c->n == c->rcap) {
        size_t cap = c->rcap ? 2 * c->rcap : 64;
        pending *r = realloc(c->recs, cap * sizeof *r);
        evlog_record *o = r ? realloc(c->out, cap * sizeof *o) : NULL;
        if (r)
            c->recs = r;
        if (!r || !o)
            return util_error("append", "out of memory");
        c->out = o;
        c->rcap = cap;
    }
    p = &c->recs[c->n];
    p->has_key = key != NULL;
    p->key_len = klen;
    p->val_len = vlen;
    if ((key && put(c, key, klen, &p->key_off)) || put(c, val, vlen, &p->val_off))
        return util_error("append", "out of memory");
    c->n++;
    if (c->n >= c->max_batch || c->len >= (1u << 20))
        return flush(c);
    return 0;
}

static int read_lines(append_ctx *c, int has_sep, char sep)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        char *s;
        if (len && line[len - 1] == '\n')
            len--;
        if (has_sep && (s = memchr(line, sep, len)) != NULL)
            rc = add(c, line, (size_t)(s - line), s + 1, len - (size_t)(s - line) - 1);
        else
            rc = add(c, NULL, 0, line, len);
    }
    free(line);
    if (rc == 0 && ferror(stdin))
        rc = util_error("append", "cannot read standard input");
    return rc;
}

static int read_prefixed(append_ctx *c)
{
    unsigned char h[4];
    char *buf = NULL;
    size_t got;
    int rc = 0;
    while (rc == 0 && (got = fread(h, 1, 4, stdin)) > 0) {
        uint32_t n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        char *b;
        if (got < 4)
            return util_error("append", "standard input ends inside a length prefix");
        if (n > EVLOG_MAX_BATCH_BYTES)
            return util_error("append", "a record of %u bytes is larger than a batch can be", n);
        if (!(b = realloc(buf, n ? n : 1))) {
            free(buf);
            return util_error("append", "out of memory");
        }
        buf = b;
        if (fread(buf, 1, n, stdin) != n) {
            free(buf);
            return util_error("append", "standard input ends inside a record");
        }
        rc = add(c, NULL, 0, buf, n);
    }
    free(buf);
    if (rc == 0 && ferror(stdin))
        rc = util_error("append", "cannot read standard input");
    return rc;
}

int cmd_append(int argc, char **argv)
{
    enum { O_SEP = 256, O_LP, O_BATCH, O_SYNC, O_TS, O_SEG, O_IDX, O_COMP, O_JSON };
    static const struct option opts[] = {
        {"key-sep", required_argument, NULL, O_SEP}, {"length-prefixed", no_argument, NULL, O_LP},
        {"batch", required_argument, NULL, O_BATCH}, {"sync", required_argument, NULL, O_SYNC},
        {"timestamp", required_argument, NULL, O_TS}, {"segment-bytes", required_argument, NULL, O_SEG},
        {"index-interval", required_argument, NULL, O_IDX}, {"compress", required_argument, NULL, O_COMP},
        {"verbose", no_argument, NULL, 'v'},        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    append_ctx c;
    evlog_options eo;
    char err[512] = "";
    uint64_t v;
    int o, rc, lp = 0, has_sep = 0, crc;
    char sep = 0;

    memset(&c, 0, sizeof c);
    c.max_batch = 100;
    evlog_options_init(&eo);
    while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (o) {
        case O_SEP:
            if (strlen(optarg) != 1)
                return util_usage_error("append", "--key-sep takes one character");
            sep = optarg[0];
            has_sep = 1;
            break;
        case O_LP: lp = 1; break;
        case O_BATCH:
        case O_SEG:
        case O_IDX:
            if (util_parse_u64(optarg, &v) || v == 0 || (o != O_SEG && v > UINT32_MAX))
                return util_usage_error("append", "not a positive number: '%s'", optarg);
            if (o == O_BATCH)
                c.max_batch = v;
            else if (o == O_SEG)
                eo.segment_bytes = v;
            else
                eo.index_interval_bytes = (uint32_t)v;
            break;
        case O_SYNC:
            if (!strcmp(optarg, "none"))
                eo.sync_mode = EVLOG_SYNC_NONE;
            else if (!strcmp(optarg, "interval"))
                eo.sync_mode = EVLOG_SYNC_INTERVAL;
            else if (!strcmp(optarg, "always"))
                eo.sync_mode = EVLOG_SYNC_ALWAYS;
            else
                return util_usage_error("append", "--sync is none, interval or always");
            break;
        case O_TS:
            if (util_parse_time(optarg, &c.ts) || c.ts == 0)
                return util_usage_error("append", "not a time: '%s'", optarg);
            break;
        case O_COMP:
            if (!strcmp(optarg, "none"))
                eo.compression = EVLOG_COMPRESS_NONE;
            else if (!strcmp(optarg, "lz4"))
                eo.compression = EVLOG_COMPRESS_LZ4;
            else
                return util_usage_error("append", "--compress is none or lz4");
            break;
        case 'v': c.verbose = 1; break;
        case O_JSON: c.json = 1; break;
        case 'h': fputs(append_usage, stdout); return EXIT_CLEAN;
        default: return util_usage_error("append", "bad option");
        }
    }
    if (optind != argc - 1)
        return util_usage_error("append", "expects one log directory");
    if (lp && has_sep)
        return util_usage_error("append", "--length-prefixed and --key-sep exclude each other");
    c.dir = argv[optind];
    if ((rc = evlog_open_ex(&c.log, c.dir, &eo, err, sizeof err)) != 0)
        return util_error("append", "%s: %s%s%s", c.dir, evlog_strerror(rc), *err ? ": " : "", err);
    rc = lp ? read_prefixed(&c) : read_lines(&c, has_sep, sep);
    if (rc == 0)
        rc = flush(&c);
    if ((crc = evlog_close(c.log)) != 0 && rc == 0)
        rc = util_error("append", "%s: closing: %s", c.dir, evlog_strerror(crc));
    free(c.data);
    free(c.recs);
    free(c.out);
    return rc ? EXIT_USAGE : EXIT_CLEAN;
}
