/*
 * cmd_dump.c - `evlog dump DIR|SEGMENT-FILE`: every batch and record with
 * its offset, byte position, timestamp, key and value; with --batches the
 * batch boundaries, sizes and checksums; with --index the index entries and
 * their checks. Damaged ranges are marked with a hexdump of their first
 * bytes, and the dump goes on past them.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char dump_usage[] =
    "usage: evlog dump [OPTIONS] DIR|SEGMENT-FILE\n\n"
    "Print every record of the log in DIR, or of one segment file, with its\n"
    "offset, byte position, timestamp (ISO 8601 and raw nanoseconds), key and\n"
    "value. Damaged byte ranges are marked (file, position, length, offsets\n"
    "affected, first bytes) and the dump goes on after them. The files are\n"
    "opened read-only and never modified.\n\n"
    "  --batches          also print each batch: position, length, checksum,\n"
    "                     offsets, timestamps, compression\n"
    "  --index            also print each index entry and its check\n"
    "  --no-records       print no records (with --batches or --index)\n"
    "  --from-offset N    start at the batch holding offset N\n"
    "  --to-offset N      stop after offset N\n"
    "  --from-time T      start at the first record at or after T (ISO 8601,\n"
    "                     e.g. 2024-05-01T12:00:00Z, or nanoseconds)\n"
    "  --max-bytes N      stop once N bytes of batches were printed\n"
    "  --hex              print keys and values in hex, even when text\n"
    "  --max-value N      print at most N bytes of a key or value (default 256\n"
    "                     in text, all in JSON; 0: all)\n"
    "  --json             one JSON object per line (see docs/cli.md)\n"
    "  -h, --help         this help\n\n"
    "Exit status: 0 no damage, 1 damage was found, 2 bad usage or I/O error.\n";

typedef struct dump_ctx {
    int json, hex, batches, index, records;
    size_t max_value;
    uint64_t from, to, max_bytes, bytes;
    int64_t from_time;
    int has_from_time, time_reached;
    evlog_scan_log log;
    util_progress prog;
    uint64_t done_before; /* bytes of the segments before the current one */
    uint64_t errors;
} dump_ctx;

static void json_file(const char *name, const char *file)
{
    printf(",\"%s\":", name);
    util_json_string(stdout, file, strlen(file));
}

static void print_segment(dump_ctx *c, const evlog_scan_segment *g)
{
    if (c->json) {
        printf("{\"type\":\"segment\"");
        json_file("file", g->file);
        printf(",\"base_offset\":%llu,\"size\":%llu,\"state\":\"%s\",\"header_valid\":%s,"
               "\"capacity\":%llu",
               (unsigned long long)g->base_offset, (unsigned long long)g->size,
               g->sealed ? "sealed" : "active", g->header_valid ? "true" : "false",
               (unsigned long long)g->capacity);
        if (g->sealed)
            printf(",\"data_end\":%llu,\"footer_next_offset\":%llu,\"footer_records\":%llu,"
                   "\"footer_batches\":%llu,\"footer_min_timestamp\":%lld,"
                   "\"footer_max_timestamp\":%lld",
                   (unsigned long long)g->data_end, (unsigned long long)g->footer_next_offset,
                   (unsigned long long)g->footer_records, (unsigned long long)g->footer_batches,
                   (long long)g->footer_min_timestamp, (long long)g->footer_max_timestamp);
        printf("}\n");
        return;
    }
    printf("segment %s: base offset %llu, %llu bytes, %s", g->file,
           (unsigned long long)g->base_offset, (unsigned long long)g->size,
           g->sealed ? "sealed" : "active");
    if (g->header_valid)
        printf(", capacity %llu", (unsigned long long)g->capacity);
    if (g->sealed)
        printf(", data end %llu, footer: offsets %llu..%llu, %llu records in %llu batches",
               (unsigned long long)g->data_end, (unsigned long long)g->base_offset,
               (unsigned long long)g->footer_next_offset, (unsigned long long)g->footer_records,
               (unsigned long long)g->footer_batches);
    printf("\n");
}

static void print_batch(dump_ctx *c, const evlog_scan_segment *g, const evlog_scan_batch *b)
{
    char t1[48], t2[48];
    const char *comp = b->compression == EVLOG_COMPRESS_LZ4 ? "lz4" : "none";
    if (c->json) {
        printf("{\"type\":\"batch\"");
        json_file("file", g->file);
        printf(",\"pos\":%llu,\"length\":%u,\"checksum\":\"%016llx\",\"base_offset\":%llu,"
               "\"last_offset\":%llu,\"count\":%u,\"first_timestamp\":%lld,\"max_timestamp\":%lld,"
               "\"compression\":\"%s\",\"payload_bytes\":%u}\n",
               (unsigned long long)b->pos, b->length, (unsigned long long)b->checksum,
               (unsigned long long)b->base_offset, (unsigned long long)b->last_offset, b->count,
               (long long)b->first_timestamp, (long long)b->max_timestamp, comp, b->payload_bytes);
        return;
    }
    printf("  batch @%llu: %u bytes, offsets %llu..%llu (%u records), checksum %016llx, %s .. %s,"
           " compression %s (%u payload bytes)\n",
           (unsigned long long)b->pos, b->length, (unsigned long long)b->base_offset,
           (unsigned long long)b->last_offset, b->count, (unsigned long long)b->checksum,
           util_iso8601(t1, sizeof t1, b->first_timestamp),
           util_iso8601(t2, sizeof t2, b->max_timestamp), comp, b->payload_bytes);
}

static void print_record(dump_ctx *c, const evlog_scan_event *ev)
{
    const evlog_record *r = ev->record;
    char t[48];
    util_iso8601(t, sizeof t, r->timestamp);
    if (c->json) {
        printf("{\"type\":\"record\",\"offset\":%llu,\"pos\":%llu,\"batch_pos\":%llu,"
               "\"timestamp\":%lld,\"time\":\"%s\",",
               (unsigned long long)r->offset, (unsigned long long)ev->record_pos,
               (unsigned long long)ev->batch->pos, (long long)r->timestamp, t);
        util_json_bytes(stdout, "key", r->key, r->key_len, c->hex);
        putchar(',');
        util_json_bytes(stdout, "value", r->value, r->value_len, c->hex);
        printf("}\n");
        return;
    }
    printf("  %llu @%llu %s (%lld)", (unsigned long long)r->offset,
           (unsigned long long)ev->record_pos, t, (long long)r->timestamp);
    if (r->key) {
        printf(" key ");
        util_text_bytes(stdout, r->key, r->key_len, c->hex, c->max_value);
    }
    if (r->value) {
        printf(" value ");
        util_text_bytes(stdout, r->value, r->value_len, c->hex, c->max_value);
    } else {
        printf(" tombstone");
    }
    putchar('\n');
}

static void print_index(dump_ctx *c, const evlog_scan_event *ev)
{
    const evlog_scan_index *x = ev->index;
    if (c->json) {
        printf("{\"type\":\"index\"");
        json_file("file", x->file);
        printf(",\"size\":%llu,\"valid\":%s,\"interval\":%u,\"entries\":%llu,\"covered_end\":%llu}\n",
               (unsigned long long)x->size, x->valid ? "true" : "false", x->interval,
               (unsigned long long)x->entries, (unsigned long long)x->covered_end);
        return;
    }
    printf("index %s: %llu bytes, %llu entries, interval %u, covers bytes below %llu: %s\n",
           x->file, (unsigned long long)x->size, (unsigned long long)x->entries, x->interval,
           (unsigned long long)x->covered_end, x->valid ? "valid" : "INVALID");
}

static void print_entry(dump_ctx *c, const evlog_scan_entry *e)
{
    if (c->json) {
        printf("{\"type\":\"entry\",\"number\":%llu,\"offset\":%llu,\"pos\":%llu,\"valid\":%s,"
               "\"reason\":",
               (unsigned long long)e->number, (unsigned long long)e->offset,
               (unsigned long long)e->pos, e->valid ? "true" : "false");
        util_json_string(stdout, e->reason, strlen(e->reason));
        printf("}\n");
        return;
    }
    printf("  entry %llu: offset %llu @%llu: %s\n", (unsigned long long)e->number,
           (unsigned long long)e->offset, (unsigned long long)e->pos, e->reason);
}

static int dump_cb(const evlog_scan_event *ev, void *payload)
{
    dump_ctx *c = payload;
    switch (ev->kind) {
    case EVLOG_EV_LOG:
        util_progress_start(&c->prog, "dump", ev->log->total_bytes);
        break;
    case EVLOG_EV_SEGMENT:
        print_segment(c, ev->segment);
        /* a sealed segment's footer tells whether the range can be in it */
        if (ev->segment->sealed && (ev->segment->footer_next_offset <= c->from ||
                                    ev->segment->base_offset > c->to ||
                                    (c->has_from_time && !c->time_reached &&
                                     ev->segment->footer_max_timestamp < c->from_time)))
            return EVLOG_SCAN_SKIP;
        break;
    case EVLOG_EV_BATCH:
        util_progress_update(&c->prog, c->done_before + ev->batch->pos);
        if (ev->batch->base_offset > c->to)
            return EVLOG_SCAN_STOP;
        if (c->max_bytes && c->bytes >= c->max_bytes)
            return EVLOG_SCAN_STOP;
        if (ev->batch->last_offset < c->from ||
            (c->has_from_time && !c->time_reached && ev->batch->max_timestamp < c->from_time))
            return EVLOG_SCAN_SKIP;
        c->bytes += ev->batch->length;
        if (c->batches)
            print_batch(c, ev->segment, ev->batch);
        return c->records ? 0 : EVLOG_SCAN_SKIP;
    case EVLOG_EV_RECORD:
        if (ev->record->offset < c->from || ev->record->offset > c->to)
            break;
        if (c->has_from_time && !c->time_reached) {
            if (ev->record->timestamp < c->from_time)
                break;
            c->time_reached = 1;
        }
        print_record(c, ev);
        break;
    case EVLOG_EV_PROBLEM:
        util_progress_clear(&c->prog);
        util_print_problem(stdout, ev->problem, c->json, 1);
        if (ev->problem->severity == EVLOG_SEV_ERROR)
            c->errors++;
        break;
    case EVLOG_EV_SEGMENT_END:
        c->done_before += ev->segment->size;
        break;
    case EVLOG_EV_INDEX:
        if (c->index)
            print_index(c, ev);
        break;
    case EVLOG_EV_ENTRY:
        print_entry(c, ev->entry);
        break;
    case EVLOG_EV_FILE:
        if (c->json) {
            static const char *kinds[] = {"",       "checkpoint", "lock",
                                          "tmp",    "broken",     "unknown",
                                          "truncate_pending", "spare"};
            printf("{\"type\":\"file\"");
            json_file("file", ev->file->name);
            printf(",\"kind\":\"%s\",\"size\":%llu}\n",
                   kinds[ev->file->kind >= 1 && ev->file->kind <= 7 ? ev->file->kind : 5],
                   (unsigned long long)ev->file->size);
        } else {
            printf("file %s: %llu bytes\n", ev->file->name, (unsigned long long)ev->file->size);
        }
        break;
    case EVLOG_EV_END:
        c->log = *ev->log;
        break;
    }
    return 0;
}

int cmd_dump(int argc, char **argv)
{
    enum { O_BATCHES = 256, O_INDEX, O_NORECORDS, O_FROM, O_TO, O_FROMTIME, O_MAXBYTES, O_HEX,
           O_MAXVALUE, O_JSON };
    static const struct option opts[] = {
        {"batches", no_argument, NULL, O_BATCHES},     {"index", no_argument, NULL, O_INDEX},
        {"no-records", no_argument, NULL, O_NORECORDS}, {"from-offset", required_argument, NULL, O_FROM},
        {"to-offset", required_argument, NULL, O_TO},   {"from-time", required_argument, NULL, O_FROMTIME},
        {"max-bytes", required_argument, NULL, O_MAXBYTES}, {"hex", no_argument, NULL, O_HEX},
        {"max-value", required_argument, NULL, O_MAXVALUE}, {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    dump_ctx c;
    uint64_t v;
    int o, rc, max_value_set = 0;
    unsigned flags = EVLOG_SCAN_RECORDS;

    memset(&c, 0, sizeof c);
    c.records = 1;
    c.to = EVLOG_NO_OFFSET;
    c.max_value = 256;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_BATCHES: c.batches = 1; break;
        case O_INDEX: c.index = 1; flags |= EVLOG_SCAN_ENTRIES; break;
        case O_NORECORDS: c.records = 0; break;
        case O_HEX: c.hex = 1; break;
        case O_JSON: c.json = 1; break;
        case O_FROM:
        case O_TO:
        case O_MAXBYTES:
        case O_MAXVALUE:
            if (util_parse_u64(optarg, &v))
                return util_usage_error("dump", "not a number: '%s'", optarg);
            if (o == O_FROM)
                c.from = v;
            else if (o == O_TO)
                c.to = v;
            else if (o == O_MAXBYTES)
                c.max_bytes = v;
            else {
                c.max_value = (size_t)v;
                max_value_set = 1;
            }
            break;
        case O_FROMTIME:
            if (util_parse_time(optarg, &c.from_time))
                return util_usage_error("dump", "not a time: '%s'", optarg);
            c.has_from_time = 1;
            break;
        case 'h':
            fputs(dump_usage, stdout);
            return EXIT_CLEAN;
        default:
            return util_usage_error("dump", "bad option");
        }
    }
    if (optind != argc - 1)
        return util_usage_error("dump", "expects one log directory or segment file");
    if (c.json && !max_value_set)
        c.max_value = 0;
    if (!c.records)
        flags &= ~EVLOG_SCAN_RECORDS;
    rc = evlog_scan(argv[optind], flags, dump_cb, &c);
    util_progress_end(&c.prog);
    if (rc == EVLOG_SCAN_STOP)
        return c.errors ? EXIT_PROBLEMS : EXIT_CLEAN; /* the range ended */
    if (rc != 0)
        return util_scan_error("dump", argv[optind], rc);
    if (c.json) {
        printf("{\"type\":\"end\",\"batches\":%llu,\"records\":%llu,\"end_offset\":%llu,"
               "\"errors\":%llu,\"warnings\":%llu}\n",
               (unsigned long long)c.log.batches, (unsigned long long)c.log.records,
               (unsigned long long)c.log.end_offset, (unsigned long long)c.log.errors,
               (unsigned long long)c.log.warnings);
    } else {
        printf("end: %llu batches, %llu records; end offset %llu; %llu errors, %llu warnings\n",
               (unsigned long long)c.log.batches, (unsigned long long)c.log.records,
               (unsigned long long)c.log.end_offset, (unsigned long long)c.log.errors,
               (unsigned long long)c.log.warnings);
    }
    return c.log.errors ? EXIT_PROBLEMS : EXIT_CLEAN;
}
