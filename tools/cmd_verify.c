/*
 * cmd_verify.c - `evlog verify DIR`: check every batch (limits, checksum,
 * records), the offset sequence within and between segments, timestamps,
 * segment headers and footers, index files and the checkpoint; print each
 * problem with its file, byte position and the offsets it affects, then a
 * summary. Read-only; never crashes or hangs, whatever the files hold.
 */
#include <getopt.h>
#include <string.h>

#include "util.h"

static const char verify_usage[] =
    "usage: evlog verify [--json] [--strict] [--quiet] DIR|SEGMENT-FILE\n\n"
    "Check the whole log in DIR (or one segment file): every batch's checksum,\n"
    "limits and records, offset continuity inside and between segments,\n"
    "timestamps, segment headers and footers, index files and the checkpoint.\n"
    "Each problem is printed with its file, byte range, the offsets it affects\n"
    "and a reason; then a summary. The log is opened read-only.\n\n"
    "Errors are damage or inconsistencies (records unreadable or the log will\n"
    "not open). Warnings lose nothing: a torn tail the next writer cuts, a\n"
    "missing index, a stray file.\n\n"
    "  --json     one JSON object per line: \"problem\" objects, then a \"summary\"\n"
    "  --strict   count warnings as problems for the exit status\n"
    "  -q, --quiet print the summary only\n"
    "  -h, --help this help\n\n"
    "Exit status: 0 no error (no warning either with --strict), 1 problems were\n"
    "found, 2 bad usage or I/O error.\n";

typedef struct verify_ctx {
    int json, quiet;
    evlog_scan_log log;
    util_progress prog;
    uint64_t done_before;
} verify_ctx;

static int verify_cb(const evlog_scan_event *ev, void *payload)
{
    verify_ctx *c = payload;
    switch (ev->kind) {
    case EVLOG_EV_LOG:
        util_progress_start(&c->prog, "verify", ev->log->total_bytes);
        break;
    case EVLOG_EV_BATCH:
        util_progress_update(&c->prog, c->done_before + ev->batch->pos);
        break;
    case EVLOG_EV_SEGMENT_END:
        c->done_before += ev->segment->size;
        break;
    case EVLOG_EV_PROBLEM:
        if (!c->quiet) {
            util_progress_clear(&c->prog);
            util_print_problem(stdout, ev->problem, c->json, !c->json);
        }
        break;
    case EVLOG_EV_END:
        c->log = *ev->log;
        break;
    }
    return 0;
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"strict", no_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    verify_ctx c;
    int o, rc, strict = 0, bad;

    memset(&c, 0, sizeof c);
    while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        if (o == 'j')
            c.json = 1;
        else if (o == 's')
            strict = 1;
        else if (o == 'q')
            c.quiet = 1;
        else if (o == 'h') {
            fputs(verify_usage, stdout);
            return EXIT_CLEAN;
        } else
            return util_usage_error("verify", "bad option");
    }
    if (optind != argc - 1)
        return util_usage_error("verify", "expects one log directory or segment file");
    rc = evlog_scan(argv[optind], 0, verify_cb, &c);
    util_progress_end(&c.prog);
    if (rc != 0)
        return util_scan_error("verify", argv[optind], rc);
    bad = c.log.errors > 0 || (strict && c.log.warnings > 0);
    if (c.json) {
        printf("{\"type\":\"summary\",\"path\":");
        util_json_string(stdout, argv[optind], strlen(argv[optind]));
        printf(",\"ok\":%s,\"segments\":%llu,\"batches\":%llu,\"records\":%llu,\"bytes\":%llu,"
               "\"start_offset\":%llu,\"end_offset\":%llu,\"durable_offset\":%llu,"
               "\"errors\":%llu,\"warnings\":%llu}\n",
               bad ? "false" : "true", (unsigned long long)c.log.segments,
               (unsigned long long)c.log.batches, (unsigned long long)c.log.records,
               (unsigned long long)c.log.total_bytes, (unsigned long long)c.log.start_offset,
               (unsigned long long)c.log.end_offset, (unsigned long long)c.log.durable_offset,
               (unsigned long long)c.log.errors, (unsigned long long)c.log.warnings);
    } else {
        printf("verify %s: %llu segments, %llu batches, %llu records, start offset %llu, end "
               "offset %llu: ",
               argv[optind], (unsigned long long)c.log.segments, (unsigned long long)c.log.batches,
               (unsigned long long)c.log.records, (unsigned long long)c.log.start_offset,
               (unsigned long long)c.log.end_offset);
        if (!c.log.errors && !c.log.warnings)
            printf("ok\n");
        else
            printf("%llu errors, %llu warnings%s\n", (unsigned long long)c.log.errors,
                   (unsigned long long)c.log.warnings, bad ? "" : " (ok)");
    }
    return bad ? EXIT_PROBLEMS : EXIT_CLEAN;
}
