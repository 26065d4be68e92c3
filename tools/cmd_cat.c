/*
 * cmd_cat.c - `evlog cat DIR`: print the values of a log, one per line (or
 * records as JSON, or length-prefixed values), from an offset or a time;
 * with -f, follow new records as a writer appends them, like `tail -f`.
 * Reads through the public iterator of a read-only handle, which follows a
 * writer in another process by itself: at the end, evlog_iter_next looks
 * for batches appended since and segments rolled to. What it cannot see is
 * a writer's truncate_back; -f checks for one while idle and reopens the
 * log then (see follow_check).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* -f: the pause between looks at the end of the log; and the time without
 * new records after which it checks whether the handle still sees the log
 * the writer has (a truncate_back). */
#define FOLLOW_POLL_MS 50
#define FOLLOW_CHECK_MS 1000

static const char cat_usage[] =
    "usage: evlog cat [OPTIONS] DIR\n\n"
    "Print the records of the log in DIR: each value on its own line, or with\n"
    "--json one JSON object per record. The log is opened read-only.\n\n"
    "  --from-offset N     start at offset N (default: the log's start)\n"
    "  --from-time T       start at the first record at or after time T (ISO 8601\n"
    "                      such as 2024-05-01T12:00:00Z, or nanoseconds)\n"
    "  -n, --count N       stop after N records\n"
    "  -f, --follow        at the end, wait for new records and print them\n"
    "  --key-sep C         print KEY, C and the value for records with a key\n"
    "  --length-prefixed   print each value as a 4-byte little-endian length and\n"
    "                      its bytes (the input format of 'evlog append\n"
    "                      --length-prefixed': round trips any bytes)\n"
    "  --json              {\"offset\",\"timestamp\",\"time\",\"key\",\"value\"} per line;\n"
    "                      bytes that are not UTF-8 as \"key_hex\"/\"value_hex\"\n"
    "  -h, --help          this help\n\n"
    "A tombstone prints as an empty value (null in JSON).\n"
    "Exit status: 0 ok, 1 the log is damaged where it was read, 2 bad usage or\n"
    "I/O error.\n";

typedef struct cat_opts {
    int json, lp, follow, has_sep, has_time;
    char sep;
    uint64_t from, count;
    int64_t from_time;
} cat_opts;

/* The first offset worth reading for --from-time: the base of the first
 * segment whose newest record is at or after t (footers tell for sealed
 * segments). */
typedef struct time_find {
    int64_t t;
    uint64_t found;
} time_find;

static int time_cb(const evlog_scan_event *ev, void *payload)
{
    time_find *f = payload;
    if (ev->kind == EVLOG_EV_SEGMENT_END && ev->segment->records &&
        ev->segment->max_timestamp >= f->t) {
        f->found = ev->segment->base_offset;
        return EVLOG_SCAN_STOP;
    }
    return 0;
}

static void print_record(const cat_opts *o, const evlog_record *r)
{
    if (o->json) {
        char t[48];
        printf("{\"offset\":%llu,\"timestamp\":%lld,\"time\":\"%s\",", (unsigned long long)r->offset,
               (long long)r->timestamp, util_iso8601(t, sizeof t, r->timestamp));
        util_json_bytes(stdout, "key", r->key, r->key_len, 0);
        putchar(',');
        util_json_bytes(stdout, "value", r->value, r->value_len, 0);
        fputs("}\n", stdout);
    } else if (o->lp) {
        unsigned char len[4];
        uint32_t n = (uint32_t)r->value_len;
        len[0] = (unsigned char)n;
        len[1] = (unsigned char)(n >> 8);
        len[2] = (unsigned char)(n >> 16);
        len[3] = (unsigned char)(n >> 24);
        fwrite(len, 1, 4, stdout);
        if (r->value_len)
            fwrite(r->value, 1, r->value_len, stdout);
    } else {
        if (o->has_sep && r->key) {
            fwrite(r->key, 1, r->key_len, stdout);
            putchar(o->sep);
        }
        if (r->value_len)
            fwrite(r->value, 1, r->value_len, stdout);
        putchar('\n');
    }
}

/* Open `dir` read-only with an iterator at *pos, clamped to the log's
 * offsets (an empty log gets one too: it waits at the end, and sees the
 * records a writer appends). On failure, nothing is left open, and the
 * reason is printed unless `quiet`. */
static int open_at(evlog **log, evlog_iter **it, const char *dir, uint64_t *pos, int quiet)
{
    evlog_options opts;
    char err[512] = "";
    int rc;
    evlog_options_init(&opts);
    opts.flags = EVLOG_READ_ONLY;
    if ((rc = evlog_open_ex(log, dir, &opts, err, sizeof err)) != 0) {
        if (!quiet)
            util_error("cat", "%s: %s%s%s", dir, evlog_strerror(rc), *err ? ": " : "", err);
        return rc;
    }
    if (*pos < evlog_start_offset(*log))
        *pos = evlog_start_offset(*log);
    if (*pos > evlog_end_offset(*log))
        *pos = evlog_end_offset(*log);
    if ((rc = evlog_iter_new(it, *log, *pos)) != 0) {
        if (!quiet)
            util_error("cat", "%s: %s: %s", dir, evlog_strerror(rc), evlog_errmsg(*log));
        evlog_close(*log);
        *log = NULL;
    }
    return rc;
}

static void nap(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Close the handle and open the log again at *pos (clamped to its new
 * end after a truncation), retrying each second until it opens. */
static void reopen(evlog **log, evlog_iter **it, const char *dir, uint64_t *pos)
{
    evlog_iter_free(*it);
    evlog_close(*log);
    *it = NULL;
    *log = NULL;
    while (open_at(log, it, dir, pos, 1) != 0)
        nap(1000);
}

/* What the checkpoint said at the last check of -f. */
typedef struct follow_state {
    int known;
    uint64_t durable;
} follow_state;

static int follow_cb(const evlog_scan_event *ev, void *payload)
{
    if (ev->kind != EVLOG_EV_LOG)
        return 0;
    *(evlog_scan_log *)payload = *ev->log;
    return EVLOG_SCAN_STOP; /* the directory and the checkpoint are enough */
}

/*
 * The check of -f, made after FOLLOW_CHECK_MS without new records. A
 * read-only handle sees appends and rolls, but not a writer's truncate_back:
 * it would wait for ever at an end the writer has left. The checkpoint
 * tells: a truncation under way names its target, and one done lowered the
 * durable offset, which nothing else moves back. Returns 1 when the handle
 * is to be reopened at once. Else *durable gets the checkpoint's durable
 * offset: once the caller has read all its handle sees, its position must
 * have reached it, or the handle has lost the writer (records appended
 * between the end of the iterator and this check are no reason to reopen).
 * A directory that cannot be read is no reason either: the next check
 * tries again.
 */
static int follow_check(const char *dir, follow_state *f, uint64_t *durable)
{
    evlog_scan_log l;
    int back;
    memset(&l, 0, sizeof l);
    if (evlog_scan(dir, 0, follow_cb, &l) != EVLOG_SCAN_STOP)
        return 0;
    back = l.pending_truncate != EVLOG_NO_OFFSET || (f->known && l.durable_offset < f->durable);
    f->known = 1;
    f->durable = l.durable_offset;
    *durable = l.durable_offset;
    return back;
}

int cmd_cat(int argc, char **argv)
{
    enum { O_FROM = 256, O_TIME, O_SEP, O_LP, O_JSON };
    static const struct option opts[] = {
        {"from-offset", required_argument, NULL, O_FROM}, {"from-time", required_argument, NULL, O_TIME},
        {"count", required_argument, NULL, 'n'},          {"follow", no_argument, NULL, 'f'},
        {"key-sep", required_argument, NULL, O_SEP},      {"length-prefixed", no_argument, NULL, O_LP},
        {"json", no_argument, NULL, O_JSON},              {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cat_opts o;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_record r;
    uint64_t pos, printed = 0;
    const char *dir;
    int c, rc, from_set = 0, reached = 0, retried = 0, checked = 0;
    follow_state fs;
    uint64_t durable = 0;
    long idle = 0;

    memset(&o, 0, sizeof o);
    memset(&fs, 0, sizeof fs);
    while ((c = getopt_long(argc, argv, "n:fh", opts, NULL)) != -1) {
        switch (c) {
        case O_FROM:
            if (util_parse_u64(optarg, &o.from))
                return util_usage_error("cat", "not an offset: '%s'", optarg);
            from_set = 1;
            break;
        case O_TIME:
            if (util_parse_time(optarg, &o.from_time))
                return util_usage_error("cat", "not a time: '%s'", optarg);
            o.has_time = 1;
            break;
        case 'n':
            if (util_parse_u64(optarg, &o.count))
                return util_usage_error("cat", "not a count: '%s'", optarg);
            if (o.count == 0)
                return EXIT_CLEAN;
            break;
        case 'f': o.follow = 1; break;
        case O_SEP:
            if (strlen(optarg) != 1)
                return util_usage_error("cat", "--key-sep takes one character");
            o.sep = optarg[0];
            o.has_sep = 1;
            break;
        case O_LP: o.lp = 1; break;
        case O_JSON: o.json = 1; break;
        case 'h': fputs(cat_usage, stdout); return EXIT_CLEAN;
        default: return util_usage_error("cat", "bad option");
        }
    }
    if (optind != argc - 1)
        return util_usage_error("cat", "expects one log directory");
    if (o.json + o.lp + o.has_sep > 1)
        return util_usage_error("cat", "--json, --length-prefixed and --key-sep exclude each other");
    if (from_set && o.has_time)
        return util_usage_error("cat", "--from-offset and --from-time exclude each other");
    dir = argv[optind];
    pos = o.from;
    if (o.has_time) {
        time_find f;
        f.t = o.from_time;
        f.found = EVLOG_NO_OFFSET;
        rc = evlog_scan(dir, EVLOG_SCAN_QUICK, time_cb, &f);
        if (rc != 0 && rc != EVLOG_SCAN_STOP)
            return util_scan_error("cat", dir, rc);
        pos = f.found; /* past the end when no record is that recent: open_at clamps */
    }
    if ((rc = open_at(&log, &it, dir, &pos, 0)) != 0)
        return rc == EVLOG_ECORRUPT ? EXIT_PROBLEMS : EXIT_USAGE;
    if (o.follow)
        (void)follow_check(dir, &fs, &durable); /* what a truncation would lower */
    for (;;) {
        rc = evlog_iter_next(it, &r);
        if (rc == 1) {
            idle = 0;
            retried = 0;
            pos = r.offset + 1;
            if (o.has_time && !reached) {
                if (r.timestamp < o.from_time)
                    continue;
                reached = 1;
            }
            print_record(&o, &r);
            if (o.count && ++printed == o.count)
                break;
            continue;
        }
        if (rc < 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: %s: %s", dir, evlog_strerror(rc), evlog_errmsg(log));
            /* following, the records the iterator stood on may have been
             * truncated away by the writer: reopen once, and give up only
             * when the error comes back before any new record */
            if (o.follow && !retried) {
                evlog_iter_free(it);
                evlog_close(log);
                it = NULL;
                log = NULL;
                if (open_at(&log, &it, dir, &pos, 1) == 0) {
                    retried = 1;
                    continue;
                }
            }
            util_error("cat", "%s", msg);
            rc = rc == EVLOG_ECORRUPT || rc == EVLOG_ERANGE ? EXIT_PROBLEMS : EXIT_USAGE;
            goto out;
        }
        if (!o.follow)
            break;
        if (checked) {
            /* all the handle sees was read since the check */
            checked = 0;
            if (pos < durable) {
                reopen(&log, &it, dir, &pos);
                continue;
            }
        }
        fflush(stdout);
        nap(FOLLOW_POLL_MS);
        if ((idle += FOLLOW_POLL_MS) >= FOLLOW_CHECK_MS) {
            idle = 0;
            if (follow_check(dir, &fs, &durable))
                reopen(&log, &it, dir, &pos);
            else
                checked = 1;
        }
    }
    rc = EXIT_CLEAN;
out:
    evlog_iter_free(it);
    evlog_close(log);
    if (fflush(stdout) != 0)
        return EXIT_USAGE;
    return rc;
}
