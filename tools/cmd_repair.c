/*
 * cmd_repair.c - `evlog repair DIR`: the explicit fix for a log that will
 * not open. Cuts a torn tail, rebuilds indexes and footers that the batches
 * determine, removes leftovers; with --quarantine also cuts damage out into
 * .broken files, losing the offsets from the damage on, and says which.
 * --dry-run shows the actions without doing any.
 */
#include <getopt.h>
#include <string.h>

#include "util.h"

static const char repair_usage[] =
    "usage: evlog repair [--dry-run] [--quarantine] [--json] DIR\n\n"
    "Repair the log in DIR so that it opens again. Always, as none of these\n"
    "loses a record: zero a torn tail of the active segment (as a writer's open\n"
    "does), rebuild invalid or missing indexes, rewrite a header or footer that its\n"
    "segment's intact batches determine, delete leftover *.tmp files and\n"
    "indexes without a segment.\n\n"
    "With --quarantine, also cut damage out: the segment holding the first\n"
    "damage is cut just before it and sealed there; the bytes from the damage\n"
    "on, and every later segment, move into .broken files beside them\n"
    "(NAME.POS.broken holds the bytes of NAME from byte POS on). The offsets\n"
    "from the first damaged one on are lost, and printed; a writer assigns\n"
    "them again to new records.\n\n"
    "The writer lock is taken: repair never runs beside a writer.\n\n"
    "  -n, --dry-run   print what would be done; change nothing\n"
    "  --quarantine    cut damaged ranges out (see above)\n"
    "  --json          one JSON object per action, then a \"summary\"\n"
    "  -h, --help      this help\n\n"
    "Exit status: 0 the log is (or would be) free of errors, 1 errors remain\n"
    "(without --quarantine: damage that only a cut removes), 2 bad usage, an\n"
    "I/O error, or the log is open by a writer.\n";

static const char *act_name(int kind)
{
    switch (kind) {
    case EVLOG_ACT_ZERO_TAIL: return "zero_tail";
    case EVLOG_ACT_WRITE_INDEX: return "write_index";
    case EVLOG_ACT_REMOVE_FILE: return "remove_file";
    case EVLOG_ACT_WRITE_FOOTER: return "write_footer";
    case EVLOG_ACT_CUT: return "cut";
    case EVLOG_ACT_MOVE_SEGMENT: return "move_segment";
    case EVLOG_ACT_WRITE_CHECKPOINT: return "write_checkpoint";
    case EVLOG_ACT_UNREPAIRED: return "unrepaired";
    case EVLOG_ACT_WRITE_HEADER: return "write_header";
    case EVLOG_ACT_RESTORE_BATCH: return "restore_batch";
    }
    return "unknown";
}

typedef struct repair_ctx {
    int json, dry;
} repair_ctx;

static void repair_cb(const evlog_repair_action *a, void *payload)
{
    repair_ctx *c = payload;
    if (c->json) {
        printf("{\"type\":\"action\",\"action\":\"%s\",\"done\":%s,\"file\":", act_name(a->kind),
               c->dry || a->kind == EVLOG_ACT_UNREPAIRED ? "false" : "true");
        util_json_string(stdout, a->file, strlen(a->file));
        printf(",\"pos\":%llu,\"length\":%llu,\"broken\":", (unsigned long long)a->pos,
               (unsigned long long)a->length);
        if (a->broken)
            util_json_string(stdout, a->broken, strlen(a->broken));
        else
            fputs("null", stdout);
        printf(",\"first_offset\":%llu,\"end_offset\":", (unsigned long long)a->first_offset);
        util_json_u64(stdout, a->end_offset);
        fputs(",\"reason\":", stdout);
        util_json_string(stdout, a->reason, strlen(a->reason));
        fputs("}\n", stdout);
        return;
    }
    printf("%s%s %s", a->kind == EVLOG_ACT_UNREPAIRED ? "" : c->dry ? "would " : "",
           act_name(a->kind), a->file);
    if (a->length)
        printf(" bytes %llu..%llu", (unsigned long long)a->pos,
               (unsigned long long)(a->pos + a->length - 1));
    printf(": %s", a->reason);
    if (a->broken)
        printf("; bytes kept in %s", a->broken);
    if (a->first_offset != a->end_offset) {
        printf("; offsets %s ", a->kind == EVLOG_ACT_UNREPAIRED ? "affected" : "lost");
        util_print_offsets(stdout, a->first_offset, a->end_offset);
    }
    putchar('\n');
}

int cmd_repair(int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"quarantine", no_argument, NULL, 'Q'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    repair_ctx c;
    evlog_repair_result res;
    unsigned flags = 0;
    int o, rc;

    memset(&c, 0, sizeof c);
    while ((o = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
        if (o == 'n') {
            flags |= EVLOG_REPAIR_DRY_RUN;
            c.dry = 1;
        } else if (o == 'Q')
            flags |= EVLOG_REPAIR_QUARANTINE;
        else if (o == 'j')
            c.json = 1;
        else if (o == 'h') {
            fputs(repair_usage, stdout);
            return EXIT_CLEAN;
        } else
            return util_usage_error("repair", "bad option");
    }
    if (optind != argc - 1)
        return util_usage_error("repair", "expects one log directory");
    rc = evlog_repair(&res, argv[optind], flags, repair_cb, &c);
    if (rc != 0 && rc != EVLOG_ECORRUPT)
        return util_scan_error("repair", argv[optind], rc);
    if (c.json) {
        printf("{\"type\":\"summary\",\"dry_run\":%s,\"ok\":%s,\"actions\":%llu,\"unrepaired\":%llu,"
               "\"lost_first_offset\":%llu,\"lost_end_offset\":%llu}\n",
               c.dry ? "true" : "false", rc == 0 ? "true" : "false",
               (unsigned long long)res.actions, (unsigned long long)res.unrepaired,
               (unsigned long long)res.lost_first, (unsigned long long)res.lost_end);
    } else {
        printf("repair %s: %llu actions%s", argv[optind], (unsigned long long)res.actions,
               c.dry ? " planned (dry run: nothing changed)" : " done");
        if (res.lost_first != res.lost_end) {
            printf("; offsets lost: ");
            util_print_offsets(stdout, res.lost_first, res.lost_end);
        }
        if (rc == EVLOG_ECORRUPT)
            printf("; %llu errors remain%s\n", (unsigned long long)res.unrepaired,
                   flags & EVLOG_REPAIR_QUARANTINE ? "" : " (--quarantine cuts damage out)");
        else if (res.actions == 0)
            printf("; nothing to do: the log is clean\n");
        else
            printf("; the log is %s\n", c.dry ? "repairable" : "clean");
    }
    return rc == 0 ? EXIT_CLEAN : EXIT_PROBLEMS;
}
