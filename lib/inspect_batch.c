/*
 * inspect_batch.c - the batch scanner of evlog_scan (inspect.h): walk the
 * batches of one segment, check each fully (limits, checksum, offset
 * sequence, records) before reporting it, and step over damage by
 * searching for the next valid batch within the segment's resync budget.
 * A torn tail (invalid bytes past the durable point of a segment that
 * recovery scans: the last one, or one from the durable segment on whose
 * seal never became durable) is told apart from damage, and a seal whose
 * cut did not happen from both, as recovery does (docs/format.md,
 * "Recovery rules"; lib/recover.c).
 */
#include "inspect.h"

#include <stdlib.h>

/* Check the records of the batch `b` at `p` and report them; EVL_OK or
 * EVL_BAD_RECORDS (*why says how). Fills *min_ts. */
static evl_check batch_records(evl_scan *s, const evl_batch *b, const uint8_t *p,
                               evlog_scan_batch *sb, int report, int64_t *min_ts,
                               const char **why)
{
    const uint8_t *payload = p + EVL_BATCH_HEADER_SIZE;
    size_t plen = b->length - EVL_BATCH_HEADER_SIZE;
    evl_rec_cursor c;
    evlog_record r;
    int64_t max_seen;
    evlog_scan_event ev;

    int compressed = (b->attributes & EVL_ATTR_COMPRESSION_MASK) == EVL_COMP_LZ4;

    if (compressed) {
        uint32_t raw = evl_lz4_raw_len(payload, plen);
        long got;
        /* LZ4 expands at most 255 times: bounds the memory a crafted length asks */
        if (raw == 0 || raw > EVLOG_MAX_BATCH_BYTES || raw > (uint64_t)plen * 255u + 64u) {
            *why = "LZ4 payload announces an impossible length";
            return EVL_BAD_RECORDS;
        }
        if (evl_scan_reserve(s, &s->raw, &s->rawcap, raw) < 0) {
            *why = "out of memory";
            return EVL_BAD_RECORDS;
        }
        if ((got = evl_lz4_unpack(s->raw, raw, payload, plen)) < 0) {
            *why = "LZ4 payload does not decompress";
            return EVL_BAD_RECORDS;
        }
        payload = s->raw;
        plen = (size_t)got;
    }
    sb->payload_bytes = (uint32_t)plen;
    if (evl_records_check(b, payload, plen) != EVL_OK) {
        *why = "records do not decode";
        return EVL_BAD_RECORDS;
    }
    evl_cursor_init(&c, b, payload, plen);
    *min_ts = b->first_ts;
    max_seen = b->first_ts;
    evl_scan_event_init(&ev, EVLOG_EV_RECORD);
    ev.segment = &s->seg;
    ev.batch = sb;
    ev.record = &r;
    while (ev.record_pos = compressed ? sb->pos : sb->pos + EVL_BATCH_HEADER_SIZE +
                                                    (uint64_t)(c.p - payload),
           evl_cursor_next(&c, &r) == 1) {
        if (r.timestamp < *min_ts)
            *min_ts = r.timestamp;
        if (r.timestamp > max_seen)
            max_seen = r.timestamp;
        if (report && evl_scan_emit(s, &ev) == EVLOG_SCAN_STOP)
            return EVL_OK;
    }
    if (max_seen != b->max_ts) {
        *why = "max timestamp of the header is not the records' largest";
        return EVL_BAD_RECORDS;
    }
    return EVL_OK;
}

/* The header is read first, then the length it announces (bounded by
 * `limit`), so that no more is read than the batch claims. */
evl_check evl_scan_batch_at(evl_scan *s, uint64_t pos, uint64_t limit, uint64_t expect,
                            evl_batch *b)
{
    const uint8_t *p;
    evl_check c;
    uint64_t avail = limit - pos;
    if (avail < EVL_BATCH_HEADER_SIZE) {
        if (!(p = evl_scan_read(s, pos, (size_t)avail)))
            return EVL_BAD_SHORT;
        return evl_batch_parse(b, p, avail);
    }
    if (!(p = evl_scan_read(s, pos, EVL_BATCH_HEADER_SIZE)))
        return EVL_BAD_SHORT;
    if ((c = evl_batch_parse(b, p, avail)) != EVL_OK)
        return c;
    if (!(p = evl_scan_read(s, pos, b->length)))
        return EVL_BAD_SHORT;
    if ((c = evl_batch_verify(b, p)) != EVL_OK)
        return c;
    return b->base_offset == expect ? EVL_OK : EVL_BAD_OFFSET;
}

/* Search (from, limit) for the next batch that checks and whose base offset
 * lies in [expect, bound). Returns 1 and fills *q, *qb; 0 if there is none
 * (or the budget ran out). */
static int resync(evl_scan *s, uint64_t from, uint64_t limit, uint64_t expect, uint64_t bound,
                  uint64_t *q, evl_batch *qb)
{
    uint64_t p = from;
    while (p + EVL_BATCH_HEADER_SIZE + 2 <= limit && !s->err) {
        const uint8_t *h = evl_scan_read(s, p, EVL_BATCH_HEADER_SIZE);
        evl_batch b;
        if (!h)
            return 0;
        if (!h[8] && !h[9] && !h[10] && !h[11]) {
            /* a batch's length field holds a non-zero byte: skip to 11
             * bytes before the next one */
            uint64_t z = evl_scan_next_nonzero(s, p + 8, limit);
            if (z >= limit)
                return 0;
            p = z - 11 > p ? z - 11 : p + 1;
            continue;
        }
        if (evl_batch_parse(&b, h, limit - p) == EVL_OK && b.base_offset >= expect &&
            b.base_offset < bound) {
            if (s->budget < b.length)
                return 0;
            s->budget -= b.length;
            if ((h = evl_scan_read(s, p, b.length)) && evl_batch_verify(&b, h) == EVL_OK) {
                *q = p;
                *qb = b;
                return 1;
            }
        }
        p++;
    }
    return 0;
}

/* Count a valid batch in the segment's results. The minimum timestamp is
 * the smallest first timestamp of the batches, as the footer defines it (a
 * later record of a batch may be older than its first). */
static void seg_account(evl_scan *s, const evl_batch *b)
{
    evlog_scan_segment *g = &s->seg;
    if (g->batches == 0) {
        g->first_offset = b->base_offset;
        g->min_timestamp = b->first_ts;
        g->max_timestamp = b->max_ts;
    }
    if (b->first_ts < g->min_timestamp)
        g->min_timestamp = b->first_ts;
    if (b->max_ts > g->max_timestamp)
        g->max_timestamp = b->max_ts;
    g->batches++;
    g->records += b->count;
}

/* A torn tail at `pos`: count what lies beyond, report it, stop. In a
 * segment that is not the last, the footer that a seal writes after the
 * last batch is not there either: the seal never became durable, so
 * neither did anything after it, and the later segments are part of the
 * tail (a writer's open removes them: recover.c, drop_later). */
static void torn_tail(evl_scan *s, uint64_t pos, uint64_t limit, uint64_t expect, evl_check c)
{
    uint64_t end = evl_scan_end_nonzero(s, pos, limit), q = pos, lost_end = expect;
    evl_batch qb;
    int last = s->seg.last;
    const char *why = !last && end <= pos
                          ? "no footer after the last valid batch of a segment that is not the "
                            "last, past the durable point: its seal never became durable; "
                            "this tail and the later segments were never made durable"
                      : !last ? "invalid bytes after the last valid batch of a segment that is "
                                "not the last, past the durable point, and no footer: its seal "
                                "never became durable; this tail and the later segments were "
                                "never made durable"
                      : c == EVL_BAD_ZERO
                          ? "a partly written batch; never made durable"
                          : "invalid bytes after the last valid batch; never made durable";
    while (resync(s, q + 1, limit, lost_end, EVLOG_NO_OFFSET, &q, &qb))
        lost_end = qb.base_offset + qb.last_delta + 1;
    if (lost_end != expect)
        why = last ? "valid batches after a gap in the unsynced tail; never made durable"
                   : "valid batches after a gap in the unsynced tail of a segment that is not "
                     "the last, and no footer: this tail and the later segments were never "
                     "made durable";
    if (!last && !s->tail_seen) {
        s->tail_seen = 1;
        s->tail_why = "a segment after a torn tail (the previous segment's seal never became "
                      "durable): never made durable; a writer's open removes it";
    }
    /* a segment that is not the last loses its offsets up to the next one */
    if (!last && s->seg_limit_offset != EVLOG_NO_OFFSET && s->seg_limit_offset > lost_end)
        lost_end = s->seg_limit_offset;
    evl_scan_freeze_torn(s, expect);
    evl_scan_problem(s, EVLOG_PROBLEM_TORN_TAIL, EVLOG_SEV_WARNING, s->seg.file, pos,
                     end > pos ? end - pos : 0, expect, lost_end, why);
}

/* Whether a footer that describes the batches before `pos` (its base
 * offset, its position and `expect`, the offset after them) lies at `pos`
 * of a segment whose file does not end with one: a seal whose cut of the
 * file did not happen (a crash during a roll, before the sealer cut the
 * file). Recovery finishes it; the segment is sealed at `pos`. Fills the
 * segment's footer fields and reports it then. */
static int seal_not_cut(evl_scan *s, uint64_t pos, uint64_t limit, uint64_t expect)
{
    evlog_scan_segment *g = &s->seg;
    const uint8_t *p;
    evl_footer f;
    if (limit - pos < EVL_FOOTER_SIZE || !(p = evl_scan_read(s, pos, EVL_FOOTER_SIZE)) ||
        evl_footer_decode(&f, p) != EVL_OK || f.base_offset != g->base_offset ||
        f.data_end != pos || f.next_offset != expect)
        return 0;
    evl_scan_take_footer(g, &f); /* f.data_end == pos */
    s->seg_limit_offset = f.next_offset;
    evl_scan_problem(s, EVLOG_PROBLEM_SEAL_UNFINISHED, EVLOG_SEV_WARNING, g->file, pos,
                     EVL_FOOTER_SIZE, expect, expect,
                     "seal not finished: the footer follows the last batch but the file was "
                     "not cut to it (a crash during a roll); the next writer's open finishes it");
    return 1;
}

/* Whether `pos` is where truncate.pending's batch goes (s->side_live): the
 * batch that a truncation in progress was rewriting in place, torn when it
 * stopped. Its new copy is durable in truncate.pending: the next writer's
 * open writes it back, a read-only open reads it from there. Reported as
 * part of the truncation in progress; readers end after that copy. */
static int side_batch(evl_scan *s, uint64_t pos, uint64_t expect)
{
    if (!s->side_live || s->seg.base_offset != s->side_seg || pos != s->side_pos ||
        expect != s->side_first)
        return 0;
    evl_scan_freeze_torn(s, s->side_next);
    if (!s->tail_seen) {
        s->tail_seen = 1;
        s->tail_why = "a segment after the batch that a truncation in progress cuts: its "
                      "records are truncated away; the next writer's open removes it";
    }
    evl_scan_problem(s, EVLOG_PROBLEM_TRUNCATE_PENDING, EVLOG_SEV_WARNING, s->seg.file, pos,
                     EVL_BATCH_HEADER_SIZE, s->side_first, s->side_next,
                     "truncation in progress: the batch it was rewriting here is torn; "
                     "truncate.pending holds its new copy, which the next writer's open writes "
                     "back (a read-only open reads it from there)");
    return 1;
}

/* A valid batch is reported and counted; a batch after missing offsets is
 * a SEQUENCE problem and the walk goes on from it; zeros up to the limit
 * end the data of an unsealed segment; anything else is a torn tail past
 * the durable point of the active segment, or damage that the walk steps
 * over (just after the batch when its length field is right, else at the
 * next batch a resync finds). */
void evl_scan_batches(evl_scan *s, uint64_t limit)
{
    evlog_scan_segment *g = &s->seg;
    uint64_t pos = EVL_SEG_HEADER_SIZE, expect = g->base_offset;
    int open = s->seg_open;

    while (pos < limit && !s->stopped && !s->err) {
        evl_batch b;
        if (!g->sealed && !open && limit >= EVL_FOOTER_SIZE && pos == limit - EVL_FOOTER_SIZE &&
            evl_scan_batch_at(s, pos, limit, expect, &b) != EVL_OK)
            break; /* where the missing or invalid footer is: reported already */
        evl_check c = evl_scan_batch_at(s, pos, limit, expect, &b);
        uint64_t q, z;
        evl_batch qb;
        const char *why = evl_check_str(c);

        if (c == EVL_OK) {
            evlog_scan_batch sb;
            evlog_scan_event ev;
            const uint8_t *p = evl_scan_read(s, pos, b.length);
            int64_t min_ts = b.first_ts;
            int report;
            memset(&sb, 0, sizeof sb);
            sb.pos = pos;
            sb.length = b.length;
            sb.checksum = b.checksum;
            sb.base_offset = b.base_offset;
            sb.count = b.count;
            sb.last_offset = b.base_offset + b.last_delta;
            sb.first_timestamp = b.first_ts;
            sb.max_timestamp = b.max_ts;
            sb.compression = (b.attributes & EVL_ATTR_COMPRESSION_MASK) == EVL_COMP_LZ4
                                 ? EVLOG_COMPRESS_LZ4 : EVLOG_COMPRESS_NONE;
            /* the records are checked before the batch is reported valid */
            if (!p) {
                s->err = EVLOG_EIO;
                break;
            }
            if ((c = batch_records(s, &b, p, &sb, 0, &min_ts, &why)) == EVL_OK) {
                evl_scan_event_init(&ev, EVLOG_EV_BATCH);
                ev.segment = g;
                ev.batch = &sb;
                seg_account(s, &b);
                report = evl_scan_emit(s, &ev);
                if (report == 0 && (s->flags & EVLOG_SCAN_RECORDS) && !s->stopped)
                    batch_records(s, &b, evl_scan_read(s, pos, b.length), &sb, 1, &min_ts, &why);
                pos += b.length;
                expect = b.base_offset + b.last_delta + 1;
                continue;
            }
        }
        if (s->err)
            break;
        if (c == EVL_BAD_OFFSET && b.base_offset > expect) {
            /* a valid batch after missing offsets: report the gap, go on */
            s->seg_damaged = 1;
            evl_scan_freeze_end(s, expect);
            evl_scan_problem(s, EVLOG_PROBLEM_SEQUENCE, EVLOG_SEV_ERROR, g->file, pos, 0, expect,
                             b.base_offset, "offsets missing before this batch");
            expect = b.base_offset;
            continue;
        }
        if (c == EVL_BAD_OFFSET) {
            uint64_t e = b.base_offset + b.last_delta + 1;
            s->seg_damaged = 1;
            evl_scan_freeze_end(s, expect);
            evl_scan_problem(s, EVLOG_PROBLEM_SEQUENCE, EVLOG_SEV_ERROR, g->file, pos, b.length,
                             b.base_offset, e < expect ? e : expect,
                             "a valid batch repeats offsets already read; skipped");
            pos += b.length;
            continue;
        }
        if (side_batch(s, pos, expect))
            break;
        if (open && seal_not_cut(s, pos, limit, expect))
            break;
        z = evl_scan_next_nonzero(s, pos, limit);
        if (z >= limit) {
            /* zeros up to the end: the end of the data of an unsealed
             * segment, unless the durable point or a footer says more */
            if (g->sealed || (open && evl_scan_before_durable(s, pos))) {
                uint64_t end = limit;
                if (!g->sealed && g->base_offset == s->log.durable_segment)
                    end = s->log.durable_pos;
                s->seg_damaged = 1;
                evl_scan_freeze_end(s, expect);
                evl_scan_problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos,
                                 end - pos, expect,
                                 g->sealed ? s->seg_limit_offset : s->log.durable_offset,
                                 g->sealed ? "zero bytes before the footer"
                                           : "zero bytes before the durable point");
            } else if (open && !g->last) {
                torn_tail(s, pos, limit, expect, c); /* and no footer */
            }
            break;
        }
        if (open && !evl_scan_before_durable(s, pos)) {
            torn_tail(s, pos, limit, expect, c);
            break;
        }
        s->seg_damaged = 1;
        evl_scan_freeze_end(s, expect);
        if (c == EVL_OK || c == EVL_BAD_CHECKSUM || c == EVL_BAD_RECORDS) {
            /* the length field may be right: try just after the batch first */
            uint64_t nxt = pos + b.length;
            evl_batch nb;
            if (nxt < limit &&
                evl_scan_batch_at(s, nxt, limit, b.base_offset + b.last_delta + 1, &nb) == EVL_OK &&
                b.base_offset == expect) {
                evl_scan_problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos,
                                 b.length, expect, nb.base_offset, why);
                pos = nxt;
                expect = nb.base_offset;
                continue;
            }
        }
        if (resync(s, pos + 1, limit, expect, s->seg_limit_offset, &q, &qb)) {
            evl_scan_problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos, q - pos,
                             expect, qb.base_offset, why);
            pos = q;
            expect = qb.base_offset;
            continue;
        }
        z = g->sealed ? limit : evl_scan_end_nonzero(s, pos, limit);
        /* in the active segment, at least the durable offsets are lost */
        q = s->seg_limit_offset;
        if (q == EVLOG_NO_OFFSET && open && s->log.durable_offset > expect)
            q = s->log.durable_offset;
        evl_scan_problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos, z - pos, expect,
                         q, why);
        break;
    }
    /* batches up to the end of a segment that is not the last, and no
     * footer after them: its seal never became durable either */
    if (open && !g->last && !g->sealed && pos >= limit && !s->stopped && !s->err)
        torn_tail(s, limit, limit, expect, EVL_BAD_SHORT);
    g->data_end = g->sealed ? g->data_end : (pos < limit ? pos : limit);
    g->next_offset = expect;
}
