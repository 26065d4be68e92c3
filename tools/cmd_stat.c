/*
 * cmd_stat.c - `evlog stat DIR`: every segment (file, base offset, size,
 * batches, records, first and last offset, timestamps, sealed or active,
 * index entries), the totals and the start, end and durable offsets. It
 * trusts the footers of sealed segments and scans only the active one, so
 * it is quick on large logs; `evlog verify` checks everything.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char stat_usage[] =
    "usage: evlog stat [--json] DIR\n\n"
    "Show the segments of the log in DIR and its totals. Sealed segments are\n"
    "described by their footers, the active one by a scan of its batches.\n"
    "The log is opened read-only and never modified.\n\n"
    "  --json     one JSON object per line: a \"segment\" object per segment,\n"
    "             \"problem\" objects, then one \"log\" object with the totals\n"
    "  -h, --help this help\n\n"
    "Exit status: 0 all is well, 1 problems were found (see 'evlog verify'),\n"
    "2 bad usage or I/O error.\n";

typedef struct stat_row {
    evlog_scan_segment seg;
    char file[64];
    int has_index;
    uint64_t index_entries;
} stat_row;

typedef struct stat_ctx {
    int json;
    stat_row *rows;
    size_t n, cap;
    evlog_scan_log log;
    int oom;
} stat_ctx;

static int stat_cb(const evlog_scan_event *ev, void *payload)
{
    stat_ctx *c = payload;
    switch (ev->kind) {
    case EVLOG_EV_SEGMENT_END:
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            stat_row *r = realloc(c->rows, cap * sizeof *r);
            if (!r) {
                c->oom = 1;
                return EVLOG_SCAN_STOP;
            }
            c->rows = r;
            c->cap = cap;
        }
        memset(&c->rows[c->n], 0, sizeof c->rows[c->n]);
        c->rows[c->n].seg = *ev->segment;
        snprintf(c->rows[c->n].file, sizeof c->rows[c->n].file, "%s", ev->segment->file);
        c->rows[c->n].seg.file = c->rows[c->n].file;
        c->n++;
        break;
    case EVLOG_EV_INDEX:
        if (c->n && ev->index->valid) {
            c->rows[c->n - 1].has_index = 1;
            c->rows[c->n - 1].index_entries = ev->index->entries;
        }
        break;
    case EVLOG_EV_PROBLEM:
        util_print_problem(c->json ? stdout : stderr, ev->problem, c->json, 0);
        break;
    case EVLOG_EV_END:
        c->log = *ev->log;
        break;
    }
    return 0;
}

static void print_row_json(const stat_row *r)
{
    const evlog_scan_segment *g = &r->seg;
    int any = g->records > 0;
    printf("{\"type\":\"segment\",\"file\":");
    util_json_string(stdout, g->file, strlen(g->file));
    printf(",\"base_offset\":%llu,\"size\":%llu,\"state\":\"%s\",\"batches\":%llu,\"records\":%llu,"
           "\"first_offset\":",
           (unsigned long long)g->base_offset, (unsigned long long)g->size,
           g->sealed ? "sealed" : "active", (unsigned long long)g->batches,
           (unsigned long long)g->records);
    util_json_u64(stdout, any ? g->first_offset : EVLOG_NO_OFFSET);
    printf(",\"last_offset\":");
    util_json_u64(stdout, any ? g->next_offset - 1 : EVLOG_NO_OFFSET);
    if (any)
        printf(",\"min_timestamp\":%lld,\"max_timestamp\":%lld", (long long)g->min_timestamp,
               (long long)g->max_timestamp);
    else
        printf(",\"min_timestamp\":null,\"max_timestamp\":null");
    printf(",\"data_end\":%llu,\"index_entries\":", (unsigned long long)g->data_end);
    util_json_u64(stdout, r->has_index ? r->index_entries : EVLOG_NO_OFFSET);
    printf("}\n");
}

static void print_row_text(const stat_row *r)
{
    const evlog_scan_segment *g = &r->seg;
    char a[48], b[48];
    printf("%-26s %12llu %12llu %8llu %10llu ", g->file, (unsigned long long)g->base_offset,
           (unsigned long long)g->size, (unsigned long long)g->batches,
           (unsigned long long)g->records);
    if (g->records)
        printf("%12llu %12llu ", (unsigned long long)g->first_offset,
               (unsigned long long)(g->next_offset - 1));
    else
        printf("%12s %12s ", "-", "-");
    printf("%-6s ", g->sealed ? "sealed" : "active");
    if (r->has_index)
        printf("%7llu  ", (unsigned long long)r->index_entries);
    else
        printf("%7s  ", "-");
    if (g->records)
        printf("%s  %s", util_iso8601(a, sizeof a, g->min_timestamp),
               util_iso8601(b, sizeof b, g->max_timestamp));
    printf("\n");
}

int cmd_stat(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    stat_ctx c;
    size_t i;
    int o, rc;
    char a[48], b[48];

    memset(&c, 0, sizeof c);
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'j')
            c.json = 1;
        else if (o == 'h') {
            fputs(stat_usage, stdout);
            return EXIT_CLEAN;
        } else
            return util_usage_error("stat", "bad option");
    }
    if (optind != argc - 1)
        return util_usage_error("stat", "expects one log directory");
    rc = evlog_scan(argv[optind], EVLOG_SCAN_QUICK, stat_cb, &c);
    if (rc != 0 || c.oom) {
        free(c.rows);
        return util_scan_error("stat", argv[optind], c.oom ? EVLOG_ENOMEM : rc);
    }
    if (c.json) {
        for (i = 0; i < c.n; i++)
            print_row_json(&c.rows[i]);
        printf("{\"type\":\"log\",\"path\":");
        util_json_string(stdout, argv[optind], strlen(argv[optind]));
        printf(",\"segments\":%llu,\"bytes\":%llu,\"batches\":%llu,\"records\":%llu,"
               "\"start_offset\":%llu,\"end_offset\":%llu,\"durable_offset\":%llu,"
               "\"checkpoint\":%s,\"pending_truncate\":",
               (unsigned long long)c.log.segments, (unsigned long long)c.log.total_bytes,
               (unsigned long long)c.log.batches, (unsigned long long)c.log.records,
               (unsigned long long)c.log.start_offset, (unsigned long long)c.log.end_offset,
               (unsigned long long)c.log.durable_offset, c.log.checkpoint ? "true" : "false");
        util_json_u64(stdout, c.log.pending_truncate);
        if (c.log.records)
            printf(",\"min_timestamp\":%lld,\"max_timestamp\":%lld",
                   (long long)c.log.min_timestamp, (long long)c.log.max_timestamp);
        else
            printf(",\"min_timestamp\":null,\"max_timestamp\":null");
        printf(",\"errors\":%llu,\"warnings\":%llu}\n", (unsigned long long)c.log.errors,
               (unsigned long long)c.log.warnings);
    } else {
        printf("log %s: %llu segments, %llu bytes, %llu batches, %llu records\n", argv[optind],
               (unsigned long long)c.log.segments, (unsigned long long)c.log.total_bytes,
               (unsigned long long)c.log.batches, (unsigned long long)c.log.records);
        printf("offsets: start %llu, end %llu, durable %llu%s\n",
               (unsigned long long)c.log.start_offset, (unsigned long long)c.log.end_offset,
               (unsigned long long)c.log.durable_offset,
               c.log.checkpoint ? "" : " (no checkpoint)");
        if (c.log.pending_truncate != EVLOG_NO_OFFSET)
            printf("pending truncation to offset %llu (finished by the next writer)\n",
                   (unsigned long long)c.log.pending_truncate);
        if (c.log.records)
            printf("timestamps: %s .. %s\n", util_iso8601(a, sizeof a, c.log.min_timestamp),
                   util_iso8601(b, sizeof b, c.log.max_timestamp));
        if (c.n) {
            printf("\n%-26s %12s %12s %8s %10s %12s %12s %-6s %7s  %s\n", "segment", "base", "size",
                   "batches", "records", "first", "last", "state", "index", "min time .. max time");
            for (i = 0; i < c.n; i++)
                print_row_text(&c.rows[i]);
        }
        if (c.log.errors || c.log.warnings)
            printf("\n%llu errors, %llu warnings (run 'evlog verify' for a full check)\n",
                   (unsigned long long)c.log.errors, (unsigned long long)c.log.warnings);
    }
    free(c.rows);
    return c.log.errors ? EXIT_PROBLEMS : EXIT_CLEAN;
}
