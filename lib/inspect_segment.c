/*
 * inspect_segment.c - one segment of evlog_scan (inspect.h): its header and
 * footer are read and judged first (a sealed segment ends with a footer
 * that describes it; the segments before the durable one must be sealed),
 * the SEGMENT event is reported, then its batches are scanned (or, for
 * EVLOG_SCAN_QUICK and a valid footer, taken from the footer), compared
 * with the footer, added to the log's totals, and its index is checked.
 *
 * From the durable segment on, recovery scans every segment batch by
 * batch, footer or not: a crash during a roll can leave one whose seal is
 * in its mapping but not yet cut (the footer right after its last batch),
 * or, after a power loss, with no footer at all (a torn tail: it and the
 * later segments were never durable). inspect_batch.c tells which.
 */
#include "inspect.h"

/* Read and judge the segment header; *hc gets its check. Returns NULL when
 * it is valid, else why not. In single-file mode, a file not named as a
 * segment takes its base offset from a valid header. */
static const char *read_header(evl_scan *s, evl_scan_ent *e, evl_check *hc)
{
    evlog_scan_segment *g = &s->seg;
    uint8_t buf[EVL_SEG_HEADER_SIZE];
    const char *why = NULL;
    evl_seg_header h;

    if (s->fsize < EVL_SEG_HEADER_SIZE)
        *hc = evl_scan_next_nonzero(s, 0, s->fsize) == s->fsize ? EVL_BAD_ZERO : EVL_BAD_SHORT;
    else if (s->io->pread(s->io, s->fd, buf, EVL_SEG_HEADER_SIZE, 0) != EVL_SEG_HEADER_SIZE)
        *hc = EVL_BAD_SHORT;
    else
        *hc = evl_seg_header_decode(&h, buf);
    if (*hc == EVL_OK && h.base_offset != e->base && !s->only)
        why = "the header's base offset is not the file name's";
    else if (*hc == EVL_OK && h.version != EVL_FORMAT_VERSION)
        why = "unsupported format version";
    else if (*hc == EVL_BAD_SHORT)
        why = "file shorter than a segment header";
    else if (*hc == EVL_BAD_HEADER)
        why = "not an evlog segment header";
    else if (*hc == EVL_BAD_CHECKSUM)
        why = "segment header checksum mismatch";
    else if (*hc == EVL_BAD_ZERO)
        why = "all-zero segment header";
    if (*hc == EVL_OK) {
        g->version = h.version;
        g->capacity = h.capacity;
        if (s->only && !evl_parse_name(e->name, EVL_SEG_SUFFIX, &g->base_offset))
            g->base_offset = e->base = h.base_offset;
    }
    g->header_valid = why == NULL;
    return why;
}

/* Read and judge the footer: a sealed segment ends with one that describes
 * it, and a segment that recovery trusts by its footer alone (`required`:
 * one before the durable segment) must be sealed. Fills the segment's
 * footer fields and `sealed` when it is valid. Returns NULL, or why the
 * footer wanted is not there. A footer that is damaged is reported
 * wherever it is: a seal writes it whole and syncs it before the file is
 * cut to it. */
static const char *read_footer(evl_scan *s, int required)
{
    evlog_scan_segment *g = &s->seg;
    uint8_t buf[EVL_FOOTER_SIZE];
    const char *why = NULL;
    evl_footer f;
    evl_check c;

    if (s->fsize < EVL_SEG_HEADER_SIZE + EVL_FOOTER_SIZE ||
        s->io->pread(s->io, s->fd, buf, EVL_FOOTER_SIZE, s->fsize - EVL_FOOTER_SIZE) !=
            EVL_FOOTER_SIZE)
        return required ? "no footer" : NULL;
    c = evl_footer_decode(&f, buf);
    if (c == EVL_OK && f.base_offset != g->base_offset)
        why = "the footer's base offset is not the segment's";
    else if (c == EVL_OK && f.data_end != s->fsize - EVL_FOOTER_SIZE)
        why = "the footer's data end is not its position";
    else if (c == EVL_BAD_CHECKSUM)
        why = "footer checksum mismatch";
    else if (c == EVL_BAD_HEADER && memcmp(buf, EVL_FOOTER_MAGIC, 8) == 0)
        why = "invalid footer";
    else if (c != EVL_OK)
        why = required ? "no footer" : NULL;
    if (c == EVL_OK && !why)
        evl_scan_take_footer(g, &f);
    return why;
}

/* Report the header and footer problems found by read_header/read_footer. */
static void header_footer_problems(evl_scan *s, evl_check hc, const char *hwhy, const char *fwhy)
{
    evlog_scan_segment *g = &s->seg;
    if (hwhy) {
        /* an all-zero header of a last segment past the durable point is a
         * creation that never completed: the writer creates it again */
        int unfinished = hc == EVL_BAD_ZERO && g->last &&
                         !evl_scan_before_durable(s, EVL_SEG_HEADER_SIZE) &&
                         evl_scan_next_nonzero(s, 0, s->fsize) == s->fsize;
        if (!unfinished)
            evl_scan_freeze_end(s, g->base_offset);
        evl_scan_problem(s, unfinished ? EVLOG_PROBLEM_UNFINISHED : EVLOG_PROBLEM_HEADER,
                         unfinished ? EVLOG_SEV_WARNING : EVLOG_SEV_ERROR, g->file, 0,
                         s->fsize < EVL_SEG_HEADER_SIZE ? s->fsize : EVL_SEG_HEADER_SIZE,
                         g->base_offset, unfinished ? g->base_offset : s->seg_limit_offset,
                         unfinished ? "an all-zero segment whose creation never completed" : hwhy);
    }
    if (fwhy) {
        uint64_t fpos = s->fsize >= EVL_FOOTER_SIZE ? s->fsize - EVL_FOOTER_SIZE : 0;
        evl_scan_problem(s, EVLOG_PROBLEM_FOOTER, EVLOG_SEV_ERROR, g->file, fpos, s->fsize - fpos,
                         g->base_offset, g->base_offset, fwhy);
    }
}

/* A sealed segment whose batches were all read without damage: its footer
 * must say what they say. */
static void check_footer_totals(evl_scan *s)
{
    evlog_scan_segment *g = &s->seg;
    uint64_t lo = g->next_offset < g->footer_next_offset ? g->next_offset : g->footer_next_offset;
    uint64_t hi = g->next_offset < g->footer_next_offset ? g->footer_next_offset : g->next_offset;
    const char *why = NULL;

    if (g->next_offset != g->footer_next_offset)
        why = "the footer's next offset is not the batches'";
    else if (g->records != g->footer_records || g->batches != g->footer_batches)
        why = "the footer's record or batch count is not the batches'";
    else if (g->records && (g->min_timestamp != g->footer_min_timestamp ||
                            g->max_timestamp != g->footer_max_timestamp))
        why = "the footer's timestamps are not the records'";
    if (why) {
        evl_scan_problem(s, EVLOG_PROBLEM_FOOTER_MISMATCH, EVLOG_SEV_ERROR, g->file, g->data_end,
                         EVL_FOOTER_SIZE, lo, hi, why);
        evl_scan_freeze_end(s, lo);
    }
}

/* Add the segment's results to the log's totals. */
static void add_totals(evl_scan *s)
{
    const evlog_scan_segment *g = &s->seg;
    s->log.batches += g->batches;
    s->log.records += g->records;
    if (g->records) {
        if (s->log.records == g->records || g->min_timestamp < s->log.min_timestamp)
            s->log.min_timestamp = g->min_timestamp;
        if (s->log.records == g->records || g->max_timestamp > s->log.max_timestamp)
            s->log.max_timestamp = g->max_timestamp;
    }
}

/* A segment after a torn tail that spans a roll (s->tail_seen): never
 * durable, and removed by a writer's open. It is reported whole as part of
 * the torn tail; its batches are not read. */
static void after_tail(evl_scan *s)
{
    evlog_scan_segment *g = &s->seg;
    evlog_scan_event ev;
    g->next_offset = g->base_offset;
    if (!g->sealed) /* no batch read: they end where they start */
        g->data_end = EVL_SEG_HEADER_SIZE < s->fsize ? EVL_SEG_HEADER_SIZE : s->fsize;
    evl_scan_problem(s, EVLOG_PROBLEM_TORN_TAIL, EVLOG_SEV_WARNING, g->file, 0, s->fsize,
                     g->base_offset, g->sealed ? g->footer_next_offset : EVLOG_NO_OFFSET,
                     s->tail_why);
    if (s->stopped || s->err)
        return;
    evl_scan_event_init(&ev, EVLOG_EV_SEGMENT_END);
    ev.segment = g;
    evl_scan_emit(s, &ev);
}

/* A segment that cannot be opened is one IO problem and ends the log for
 * readers; its header and footer problems are reported after its SEGMENT
 * event, so that a callback knows the file they speak of. */
void evl_scan_segment(evl_scan *s, size_t i)
{
    evlog_scan_segment *g = &s->seg;
    evl_scan_ent *e = &s->segs[i];
    const char *hwhy, *fwhy;
    evl_check hc;
    evlog_scan_event ev;
    int rc, skip;

    memset(g, 0, sizeof *g);
    g->file = e->name;
    g->base_offset = e->base;
    g->last = s->only ? s->only_last : i + 1 == s->nsegs;
    g->first_offset = EVLOG_NO_OFFSET;
    s->seg_damaged = 0;
    s->seg_open = 0;
    s->wlen = 0;
    if ((s->fd = s->io->open(s->io, s->dirfd, e->name, EVL_O_RDONLY)) < 0 ||
        s->io->size(s->io, s->fd, &s->fsize) != 0) {
        if (s->fd >= 0)
            s->io->close(s->io, s->fd);
        s->fd = -1;
        evl_scan_freeze_end(s, e->base);
        evl_scan_problem(s, EVLOG_PROBLEM_IO, EVLOG_SEV_ERROR, e->name, 0, 0, e->base,
                         EVLOG_NO_OFFSET, "cannot open the segment");
        return;
    }
    g->size = s->fsize;
    s->budget = EVL_SCAN_RESYNC_BUDGET + 4 * s->fsize;
    hwhy = read_header(s, e, &hc);
    fwhy = read_footer(s, !g->last && g->base_offset < s->scan_from && !s->tail_seen);
    s->seg_limit_offset = g->sealed ? g->footer_next_offset
                          : g->last ? EVLOG_NO_OFFSET
                          : s->only ? s->only_next : s->segs[i + 1].base;
    s->seg_open = !g->sealed && (g->last || (g->base_offset >= s->scan_from && !fwhy));

    evl_scan_event_init(&ev, EVLOG_EV_SEGMENT);
    ev.segment = g;
    rc = evl_scan_emit(s, &ev);
    if (s->tail_seen) {
        if (!s->stopped)
            after_tail(s);
        goto out;
    }
    header_footer_problems(s, hc, hwhy, fwhy);
    /* a file that is not a segment at all (no magic) is one problem, not a
     * series of damaged batches */
    skip = rc == EVLOG_SCAN_SKIP || ((s->flags & EVLOG_SCAN_QUICK) && g->sealed) ||
           (hwhy && (hc == EVL_BAD_HEADER || hc == EVL_BAD_SHORT) && !g->sealed);
    if (s->stopped)
        goto out;
    if (skip && g->sealed) {
        g->batches = g->footer_batches;
        g->records = g->footer_records;
        g->first_offset = g->records ? g->base_offset : EVLOG_NO_OFFSET;
        g->next_offset = g->footer_next_offset;
        g->min_timestamp = g->footer_min_timestamp;
        g->max_timestamp = g->footer_max_timestamp;
    } else if (skip) {
        g->next_offset = g->base_offset;
    } else if (s->fsize > EVL_SEG_HEADER_SIZE) {
        g->scanned = 1;
        evl_scan_batches(s, g->sealed ? g->data_end : s->fsize);
    } else {
        g->scanned = 1;
        g->next_offset = g->base_offset;
        g->data_end = s->fsize;
    }
    if (s->stopped || s->err)
        goto out;
    if (g->scanned && g->sealed && !s->seg_damaged)
        check_footer_totals(s);
    add_totals(s);
    evl_scan_event_init(&ev, EVLOG_EV_SEGMENT_END);
    ev.segment = g;
    evl_scan_emit(s, &ev);
    if (!s->stopped && !s->err && !(skip && !g->sealed) && (!s->only || s->only_named))
        evl_scan_index(s);
out:
    s->io->close(s->io, s->fd);
    s->fd = -1;
}
