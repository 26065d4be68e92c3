/*
 * inspect.c - evlog_scan: read a log's files directly, without opening the
 * log, and report every segment, batch, record, index entry and problem to
 * a callback (include/evlog.h, "Inspection"). It is built for logs too
 * damaged to open: every length read from a file is bounded by what is left
 * of it, every structure goes through the checks of format.h, and damage is
 * stepped over by searching for the next valid batch, within a budget, so
 * that a scan ends on any input. Files are only ever opened read-only.
 */
#include "format.h"
#include "os.h"

#include <errno.h>
#include <stdlib.h>

#define WINDOW_BYTES (1u << 20)
#define PROBLEM_BYTES 64u
/* Bytes of candidate batches a resynchronisation may hash in one segment,
 * besides 4 times the segment's size: bounds the work on crafted input. */
#define RESYNC_BUDGET (64ull << 20)

typedef struct seg_ent {
    char name[EVL_NAME_MAX];
    uint64_t base;
} seg_ent;

typedef struct other_ent {
    char *name;
    int kind;
} other_ent;

typedef struct scan {
    const struct evlog_io *io;
    int dirfd;
    unsigned flags;
    evlog_scan_cb cb;
    void *payload;
    int stopped;            /* the callback asked to stop */
    int err;                /* EVLOG_ENOMEM or EVLOG_EIO that ends the scan */
    const char *only;       /* single-file mode: the file's name */
    int only_named;         /* ... and it is named as a segment */
    evlog_scan_log log;
    int end_frozen;         /* log.end_offset is final: a reader stops there */
    seg_ent *segs;
    size_t nsegs, segcap;
    uint64_t *idx;          /* base offsets of the index files */
    size_t nidx, idxcap;
    other_ent *others;
    size_t nothers, othcap;
    /* the file being read, through a window */
    int fd;
    uint64_t fsize;
    uint8_t *win;
    size_t wcap, wlen;
    uint64_t wpos;
    uint8_t *raw;           /* decompressed payloads */
    size_t rawcap;
    uint64_t budget;        /* resync bytes left in this segment */
    /* the segment being scanned */
    evlog_scan_segment seg;
    uint64_t seg_limit_offset; /* offsets of this segment end before this */
    int seg_damaged;
} scan;

const char *evlog_problem_name(int code)
{
    switch (code) {
#define EVL_PROBLEM_CASE_(name, num, str) case num: return str;
        EVLOG_PROBLEM_MAP(EVL_PROBLEM_CASE_)
#undef EVL_PROBLEM_CASE_
    }
    return "unknown";
}

/*-******************* events *******************/
static int emit(scan *s, evlog_scan_event *ev)
{
    int rc = s->cb(ev, s->payload);
    if (rc == EVLOG_SCAN_STOP)
        s->stopped = 1;
    return rc;
}

static void ev_init(evlog_scan_event *ev, int kind)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
}

/*-******************* reading through a window *******************/
/* The `n` bytes of the current file at `pos`, or NULL on a read error (or
 * when they lie past its end). Valid until the next call. */
static const uint8_t *rd(scan *s, uint64_t pos, size_t n)
{
    size_t want;
    long got;
    if (pos > s->fsize || n > s->fsize - pos)
        return NULL;
    if (pos >= s->wpos && pos + n <= s->wpos + s->wlen)
        return s->win + (pos - s->wpos);
    want = n > WINDOW_BYTES ? n : WINDOW_BYTES;
    if (want > s->fsize - pos)
        want = (size_t)(s->fsize - pos);
    if (want > s->wcap) {
        uint8_t *w = realloc(s->win, want);
        if (!w) {
            s->err = EVLOG_ENOMEM;
            return NULL;
        }
        s->win = w;
        s->wcap = want;
    }
    s->wlen = 0;
    got = s->io->pread(s->io, s->fd, s->win, want, pos);
    if (got < 0 || (size_t)got < n)
        return NULL;
    s->wpos = pos;
    s->wlen = (size_t)got;
    return s->win;
}

/* The first non-zero byte in [pos, limit), or limit; limit on a read error. */
static uint64_t next_nonzero(scan *s, uint64_t pos, uint64_t limit)
{
    while (pos < limit) {
        size_t n = limit - pos < WINDOW_BYTES ? (size_t)(limit - pos) : WINDOW_BYTES, i;
        const uint8_t *p = rd(s, pos, n);
        if (!p)
            return limit;
        for (i = 0; i < n; i++)
            if (p[i])
                return pos + i;
        pos += n;
    }
    return limit;
}

/* One past the last non-zero byte in [pos, limit), or pos. */
static uint64_t end_nonzero(scan *s, uint64_t pos, uint64_t limit)
{
    uint64_t end = pos, z = pos;
    while ((z = next_nonzero(s, z, limit)) < limit) {
        end = z + 1;
        z++;
    }
    return end;
}

/*-******************* problems *******************/
static void problem(scan *s, int code, int severity, const char *file, uint64_t pos,
                    uint64_t len, uint64_t first, uint64_t end, const char *reason)
{
    evlog_scan_event ev;
    evlog_scan_problem p;
    const uint8_t *b = NULL;
    size_t blen = len < PROBLEM_BYTES ? (size_t)len : PROBLEM_BYTES;
    memset(&p, 0, sizeof p);
    if (s->fd < 0 || (blen && (b = rd(s, pos, blen)) == NULL))
        blen = 0;
    p.code = code;
    p.name = evlog_problem_name(code);
    p.severity = severity;
    p.file = file;
    p.pos = pos;
    p.length = len;
    p.first_offset = first;
    p.end_offset = end;
    p.reason = reason;
    p.bytes = blen ? b : NULL;
    p.bytes_len = blen;
    if (severity == EVLOG_SEV_ERROR)
        s->log.errors++;
    else
        s->log.warnings++;
    ev_init(&ev, EVLOG_EV_PROBLEM);
    ev.problem = &p;
    if (s->seg.file && file == s->seg.file) {
        s->seg.problems++;
        ev.segment = &s->seg;
    }
    emit(s, &ev);
}

/*-******************* batches *******************/
/* Where readers stop: the first error or torn tail fixes the log's end. */
static void freeze_end(scan *s, uint64_t offset)
{
    if (!s->end_frozen) {
        s->log.end_offset = offset;
        s->end_frozen = 1;
    }
}

/* Check the records of the batch `b` at `p` and report them; EVL_OK or
 * EVL_BAD_RECORDS (*why says how). Fills *min_ts. */
static evl_check batch_records(scan *s, const evl_batch *b, const uint8_t *p,
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
        if (raw > s->rawcap) {
            uint8_t *n = realloc(s->raw, raw);
            if (!n) {
                s->err = EVLOG_ENOMEM;
                *why = "out of memory";
                return EVL_BAD_RECORDS;
            }
            s->raw = n;
            s->rawcap = raw;
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
    ev_init(&ev, EVLOG_EV_RECORD);
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
        if (report && emit(s, &ev) == EVLOG_SCAN_STOP)
            return EVL_OK;
    }
    if (max_seen != b->max_ts) {
        *why = "max timestamp of the header is not the records' largest";
        return EVL_BAD_RECORDS;
    }
    return EVL_OK;
}

/* Check the batch at `pos` (in [pos, limit)) fully: limits, checksum,
 * expected offset. *b gets its header when it parses. */
static evl_check batch_at(scan *s, uint64_t pos, uint64_t limit, uint64_t expect, evl_batch *b)
{
    const uint8_t *p;
    evl_check c;
    uint64_t avail = limit - pos;
    if (avail < EVL_BATCH_HEADER_SIZE) {
        if (!(p = rd(s, pos, (size_t)avail)))
            return EVL_BAD_SHORT;
        return evl_batch_parse(b, p, avail);
    }
    if (!(p = rd(s, pos, EVL_BATCH_HEADER_SIZE)))
        return EVL_BAD_SHORT;
    if ((c = evl_batch_parse(b, p, avail)) != EVL_OK)
        return c;
    if (!(p = rd(s, pos, b->length)))
        return EVL_BAD_SHORT;
    if ((c = evl_batch_check(b, p, avail)) != EVL_OK)
        return c;
    return b->base_offset == expect ? EVL_OK : EVL_BAD_OFFSET;
}

/* Search (from, limit) for the next batch that checks and whose base offset
 * lies in [expect, bound). Returns 1 and fills *q, *qb; 0 if there is none
 * (or the budget ran out). */
static int resync(scan *s, uint64_t from, uint64_t limit, uint64_t expect, uint64_t bound,
                  uint64_t *q, evl_batch *qb)
{
    uint64_t p = from;
    while (p + EVL_BATCH_HEADER_SIZE + 2 <= limit && !s->err) {
        const uint8_t *h = rd(s, p, EVL_BATCH_HEADER_SIZE);
        evl_batch b;
        if (!h)
            return 0;
        if (!h[8] && !h[9] && !h[10] && !h[11]) {
            /* a batch's length field holds a non-zero byte: skip to 11
             * bytes before the next one */
            uint64_t z = next_nonzero(s, p + 8, limit);
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
            if ((h = rd(s, p, b.length)) && evl_batch_check(&b, h, limit - p) == EVL_OK) {
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
static void seg_account(scan *s, const evl_batch *b)
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

/* Whether position `pos` of the current segment lies before the durable
 * point, where every byte must be a valid batch. */
static int before_durable(const scan *s, uint64_t pos)
{
    return s->seg.base_offset < s->log.durable_segment ||
           (s->seg.base_offset == s->log.durable_segment && pos < s->log.durable_pos);
}

/* A torn tail at `pos`: count what lies beyond, report it, stop. */
static void torn_tail(scan *s, uint64_t pos, uint64_t limit, uint64_t expect, evl_check c)
{
    uint64_t end = end_nonzero(s, pos, limit), q = pos, lost_end = expect;
    evl_batch qb;
    const char *why = c == EVL_BAD_ZERO ? "a partly written batch; never made durable"
                                        : "invalid bytes after the last valid batch; never made durable";
    while (resync(s, q + 1, limit, lost_end, EVLOG_NO_OFFSET, &q, &qb))
        lost_end = qb.base_offset + qb.last_delta + 1;
    if (lost_end != expect)
        why = "valid batches after a gap in the unsynced tail; never made durable";
    freeze_end(s, expect);
    problem(s, EVLOG_PROBLEM_TORN_TAIL, EVLOG_SEV_WARNING, s->seg.file, pos,
            end > pos ? end - pos : 1, expect, lost_end, why);
}

/* Report the batches of the current segment, stepping over damage. */
static void scan_batches(scan *s, uint64_t limit)
{
    evlog_scan_segment *g = &s->seg;
    uint64_t pos = EVL_SEG_HEADER_SIZE, expect = g->base_offset;
    int active = g->last && !g->sealed;

    while (pos < limit && !s->stopped && !s->err) {
        evl_batch b;
        if (!g->sealed && !g->last && limit >= EVL_FOOTER_SIZE && pos == limit - EVL_FOOTER_SIZE &&
            batch_at(s, pos, limit, expect, &b) != EVL_OK)
            break; /* where the missing or invalid footer is: reported already */
        evl_check c = batch_at(s, pos, limit, expect, &b);
        uint64_t q, z;
        evl_batch qb;
        const char *why = evl_check_str(c);

        if (c == EVL_OK) {
            evlog_scan_batch sb;
            evlog_scan_event ev;
            const uint8_t *p = rd(s, pos, b.length);
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
                ev_init(&ev, EVLOG_EV_BATCH);
                ev.segment = g;
                ev.batch = &sb;
                seg_account(s, &b);
                report = emit(s, &ev);
                if (report == 0 && (s->flags & EVLOG_SCAN_RECORDS) && !s->stopped)
                    batch_records(s, &b, rd(s, pos, b.length), &sb, 1, &min_ts, &why);
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
            freeze_end(s, expect);
            problem(s, EVLOG_PROBLEM_SEQUENCE, EVLOG_SEV_ERROR, g->file, pos, 0, expect,
                    b.base_offset, "offsets missing before this batch");
            expect = b.base_offset;
            continue;
        }
        if (c == EVL_BAD_OFFSET) {
            uint64_t e = b.base_offset + b.last_delta + 1;
            s->seg_damaged = 1;
            freeze_end(s, expect);
            problem(s, EVLOG_PROBLEM_SEQUENCE, EVLOG_SEV_ERROR, g->file, pos, b.length,
                    b.base_offset, e < expect ? e : expect,
                    "a valid batch repeats offsets already read; skipped");
            pos += b.length;
            continue;
        }
        z = next_nonzero(s, pos, limit);
        if (z >= limit) {
            /* zeros up to the end: the end of the data of an unsealed
             * segment, unless the durable point or a footer says more */
            if (g->sealed || (active && before_durable(s, pos))) {
                uint64_t end = limit;
                if (!g->sealed && g->base_offset == s->log.durable_segment)
                    end = s->log.durable_pos;
                s->seg_damaged = 1;
                freeze_end(s, expect);
                problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos, end - pos,
                        expect, g->sealed ? s->seg_limit_offset : s->log.durable_offset,
                        g->sealed ? "zero bytes before the footer"
                                  : "zero bytes before the durable point");
            }
            break;
        }
        if (active && !before_durable(s, pos)) {
            torn_tail(s, pos, limit, expect, c);
            break;
        }
        s->seg_damaged = 1;
        freeze_end(s, expect);
        if (c == EVL_OK || c == EVL_BAD_CHECKSUM || c == EVL_BAD_RECORDS) {
            /* the length field may be right: try just after the batch first */
            uint64_t nxt = pos + b.length;
            evl_batch nb;
            if (nxt < limit && batch_at(s, nxt, limit, b.base_offset + b.last_delta + 1, &nb) == EVL_OK &&
                b.base_offset == expect) {
                problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos, b.length, expect,
                        nb.base_offset, why);
                pos = nxt;
                expect = nb.base_offset;
                continue;
            }
        }
        if (resync(s, pos + 1, limit, expect, s->seg_limit_offset, &q, &qb)) {
            problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos, q - pos, expect,
                    qb.base_offset, why);
            pos = q;
            expect = qb.base_offset;
            continue;
        }
        z = g->sealed ? limit : end_nonzero(s, pos, limit);
        /* in the active segment, at least the durable offsets are lost */
        q = s->seg_limit_offset;
        if (q == EVLOG_NO_OFFSET && active && s->log.durable_offset > expect)
            q = s->log.durable_offset;
        problem(s, EVLOG_PROBLEM_BAD_BATCH, EVLOG_SEV_ERROR, g->file, pos, z - pos, expect, q, why);
        break;
    }
    g->data_end = g->sealed ? g->data_end : (pos < limit ? pos : limit);
    g->next_offset = expect;
}

/*-******************* index files *******************/
typedef struct entry_check {
    uint64_t offset, pos;
    const char *why; /* NULL when valid */
} entry_check;

/* Check one entry against the segment (the current file). */
static const char *entry_why(scan *s, const evl_index_header *h, const entry_check *prev,
                             const entry_check *e)
{
    evl_batch b;
    const uint8_t *p;
    uint64_t data_end = s->seg.data_end;
    /* as the library loads it: strictly above the segment's base and header */
    if (e->offset <= (prev ? prev->offset : s->seg.base_offset) ||
        e->pos <= (prev ? prev->pos : EVL_SEG_HEADER_SIZE))
        return "entries out of order";
    if (e->pos >= h->covered_end)
        return "position outside the covered range";
    if (e->pos >= data_end)
        return "position past the segment's data";
    if ((s->flags & EVLOG_SCAN_QUICK) && !s->seg.scanned)
        return NULL; /* a quick scan checks the index's own consistency only */
    if (data_end - e->pos < EVL_BATCH_HEADER_SIZE || !(p = rd(s, e->pos, EVL_BATCH_HEADER_SIZE)) ||
        evl_batch_parse(&b, p, data_end - e->pos) != EVL_OK || !(p = rd(s, e->pos, b.length)) ||
        evl_batch_check(&b, p, data_end - e->pos) != EVL_OK)
        return "no valid batch at the position";
    if (b.base_offset != e->offset)
        return "the batch at the position has another offset";
    return NULL;
}

/* Check the index of the current segment (whose file is still open) and
 * report it; the segment's fd is borrowed for the entries' checks. */
static void scan_index(scan *s)
{
    char name[EVL_NAME_MAX];
    evlog_scan_index si;
    evl_index_header h;
    entry_check *ec = NULL;
    uint8_t hdr[EVL_INDEX_HEADER_SIZE], *raw = NULL;
    const char *why = NULL;
    uint64_t i, bad = 0, first_bad = 0;
    int ahead = 0;
    int fd;
    long got;

    evl_name(name, s->seg.base_offset, EVL_INDEX_SUFFIX);
    memset(&si, 0, sizeof si);
    si.file = name;
    if ((fd = s->io->open(s->io, s->dirfd, name, EVL_O_RDONLY)) < 0) {
        if (fd != -ENOENT)
            problem(s, EVLOG_PROBLEM_IO, EVLOG_SEV_ERROR, name, 0, 0, 0, 0, "cannot open the index");
        else if (s->seg.sealed)
            problem(s, EVLOG_PROBLEM_INDEX_MISSING, EVLOG_SEV_WARNING, name, 0, 0, 0, 0,
                    "a sealed segment has no index; the library rebuilds it");
        return;
    }
    if (s->io->size(s->io, fd, &si.size) != 0)
        why = "cannot read the index";
    else if (si.size < EVL_INDEX_HEADER_SIZE)
        why = "file shorter than an index header";
    else if ((got = s->io->pread(s->io, fd, hdr, sizeof hdr, 0)) != (long)sizeof hdr)
        why = "cannot read the index";
    else if (evl_index_header_decode(&h, hdr) != EVL_OK)
        why = "invalid index header";
    else if (h.base_offset != s->seg.base_offset)
        why = "index of another segment (base offset)";
    else if (h.count > (si.size - EVL_INDEX_HEADER_SIZE) / EVL_INDEX_ENTRY_SIZE ||
             si.size != EVL_INDEX_HEADER_SIZE + h.count * EVL_INDEX_ENTRY_SIZE)
        why = "file size does not match the entry count";
    else if (h.count && !(raw = malloc((size_t)(h.count * EVL_INDEX_ENTRY_SIZE))))
        s->err = EVLOG_ENOMEM;
    else if (h.count && s->io->pread(s->io, fd, raw, (size_t)(h.count * EVL_INDEX_ENTRY_SIZE),
                                     EVL_INDEX_HEADER_SIZE) != (long)(h.count * EVL_INDEX_ENTRY_SIZE))
        why = "cannot read the index";
    else if (evl_hash(raw, (size_t)(h.count * EVL_INDEX_ENTRY_SIZE), EVL_SEED_INDEX) != h.entries_checksum)
        why = "entries checksum mismatch";
    else if (h.covered_end > s->seg.data_end)
        why = "covers more than the segment's data";
    /* an active segment's index saved before a torn tail was cut: the
     * library rebuilds it at open */
    if (why && !strcmp(why, "covers more than the segment's data") && s->seg.last && !s->seg.sealed)
        ahead = 1;
    if (s->err)
        goto done;
    if (!why) {
        si.interval = h.interval;
        si.entries = h.count;
        si.covered_end = h.covered_end;
        if (h.count && !(ec = calloc((size_t)h.count, sizeof *ec))) {
            s->err = EVLOG_ENOMEM;
            goto done;
        }
        for (i = 0; i < h.count; i++) {
            ec[i].offset = evl_ld64(raw + i * EVL_INDEX_ENTRY_SIZE);
            ec[i].pos = evl_ld64(raw + i * EVL_INDEX_ENTRY_SIZE + 8);
            ec[i].why = entry_why(s, &h, i ? &ec[i - 1] : NULL, &ec[i]);
            if (ec[i].why && bad++ == 0)
                first_bad = i;
        }
    }
    si.valid = !why && !bad;
    {
        evlog_scan_event ev;
        evlog_scan_entry se;
        ev_init(&ev, EVLOG_EV_INDEX);
        ev.segment = &s->seg;
        ev.index = &si;
        if (emit(s, &ev) == 0 && (s->flags & EVLOG_SCAN_ENTRIES) && ec) {
            ev.kind = EVLOG_EV_ENTRY;
            ev.entry = &se;
            for (i = 0; i < h.count && !s->stopped; i++) {
                se.number = i;
                se.offset = ec[i].offset;
                se.pos = ec[i].pos;
                se.valid = ec[i].why == NULL;
                se.reason = ec[i].why ? ec[i].why : "ok";
                emit(s, &ev);
            }
        }
    }
    {
        /* the problem's bytes come from the index file, not the segment */
        int segfd = s->fd;
        uint64_t segsize = s->fsize;
        s->fd = fd;
        s->fsize = si.size;
        s->wlen = 0;
        if (why)
            problem(s, EVLOG_PROBLEM_INDEX, ahead ? EVLOG_SEV_WARNING : EVLOG_SEV_ERROR, name, 0,
                    si.size, 0, 0, ahead ? "covers more than the active segment's valid data (a torn tail); rebuilt at open" : why);
        else if (bad)
            problem(s, EVLOG_PROBLEM_INDEX, EVLOG_SEV_ERROR, name,
                    EVL_INDEX_HEADER_SIZE + first_bad * EVL_INDEX_ENTRY_SIZE, EVL_INDEX_ENTRY_SIZE,
                    0, 0, ec[first_bad].why);
        s->fd = segfd;
        s->fsize = segsize;
        s->wlen = 0;
    }
done:
    s->io->close(s->io, fd);
    free(ec);
    free(raw);
}

/*-******************* segments *******************/
static void seg_end_event(scan *s)
{
    evlog_scan_event ev;
    ev_init(&ev, EVLOG_EV_SEGMENT_END);
    ev.segment = &s->seg;
    emit(s, &ev);
}

/* Read the header and footer of segment i, report it and its batches. */
static void scan_segment(scan *s, size_t i)
{
    evlog_scan_segment *g = &s->seg;
    seg_ent *e = &s->segs[i];
    uint8_t buf[EVL_SEG_HEADER_SIZE > EVL_FOOTER_SIZE ? EVL_SEG_HEADER_SIZE : EVL_FOOTER_SIZE];
    const char *hwhy = NULL, *fwhy = NULL;
    evl_seg_header h;
    evl_footer f;
    evl_check c, hc;
    evlog_scan_event ev;
    int rc, skip;

    memset(g, 0, sizeof *g);
    g->file = e->name;
    g->base_offset = e->base;
    g->last = i + 1 == s->nsegs;
    g->first_offset = EVLOG_NO_OFFSET;
    s->seg_damaged = 0;
    s->wlen = 0;
    if ((s->fd = s->io->open(s->io, s->dirfd, e->name, EVL_O_RDONLY)) < 0 ||
        s->io->size(s->io, s->fd, &s->fsize) != 0) {
        if (s->fd >= 0)
            s->io->close(s->io, s->fd);
        s->fd = -1;
        freeze_end(s, e->base);
        problem(s, EVLOG_PROBLEM_IO, EVLOG_SEV_ERROR, e->name, 0, 0, e->base, EVLOG_NO_OFFSET,
                "cannot open the segment");
        return;
    }
    g->size = s->fsize;
    s->budget = RESYNC_BUDGET + 4 * s->fsize;

    /* header */
    if (s->fsize < EVL_SEG_HEADER_SIZE)
        hc = next_nonzero(s, 0, s->fsize) == s->fsize ? EVL_BAD_ZERO : EVL_BAD_SHORT;
    else if (s->io->pread(s->io, s->fd, buf, EVL_SEG_HEADER_SIZE, 0) != EVL_SEG_HEADER_SIZE)
        hc = EVL_BAD_SHORT;
    else
        hc = evl_seg_header_decode(&h, buf);
    if (hc == EVL_OK && h.base_offset != e->base && !s->only)
        hwhy = "the header's base offset is not the file name's";
    else if (hc == EVL_OK && h.version != EVL_FORMAT_VERSION)
        hwhy = "unsupported format version";
    else if (hc == EVL_BAD_SHORT)
        hwhy = "file shorter than a segment header";
    else if (hc == EVL_BAD_HEADER)
        hwhy = "not an evlog segment header";
    else if (hc == EVL_BAD_CHECKSUM)
        hwhy = "segment header checksum mismatch";
    else if (hc == EVL_BAD_ZERO)
        hwhy = "all-zero segment header";
    if (hc == EVL_OK) {
        g->version = h.version;
        g->capacity = h.capacity;
        if (s->only && !evl_parse_name(e->name, EVL_SEG_SUFFIX, &g->base_offset))
            g->base_offset = e->base = h.base_offset;
    }
    g->header_valid = hwhy == NULL;

    /* footer: a sealed segment ends with one that describes it */
    if (s->fsize >= EVL_SEG_HEADER_SIZE + EVL_FOOTER_SIZE &&
        s->io->pread(s->io, s->fd, buf, EVL_FOOTER_SIZE, s->fsize - EVL_FOOTER_SIZE) == EVL_FOOTER_SIZE) {
        c = evl_footer_decode(&f, buf);
        if (c == EVL_OK && f.base_offset != g->base_offset)
            fwhy = "the footer's base offset is not the segment's";
        else if (c == EVL_OK && f.data_end != s->fsize - EVL_FOOTER_SIZE)
            fwhy = "the footer's data end is not its position";
        else if (c == EVL_BAD_CHECKSUM)
            fwhy = "footer checksum mismatch";
        else if (c == EVL_BAD_HEADER && memcmp(buf, EVL_FOOTER_MAGIC, 8) == 0)
            fwhy = "invalid footer";
        else if (c != EVL_OK)
            fwhy = g->last ? NULL : "no footer";
        if (c == EVL_OK && !fwhy) {
            g->sealed = 1;
            g->footer_next_offset = f.next_offset;
            g->footer_records = f.records;
            g->footer_batches = f.batches;
            g->footer_min_timestamp = f.min_ts;
            g->footer_max_timestamp = f.max_ts;
            g->data_end = f.data_end;
        }
    } else if (!g->last) {
        fwhy = "no footer";
    }
    s->seg_limit_offset = g->sealed ? g->footer_next_offset
                          : g->last ? EVLOG_NO_OFFSET : s->segs[i + 1].base;

    ev_init(&ev, EVLOG_EV_SEGMENT);
    ev.segment = g;
    rc = emit(s, &ev);
    if (hwhy) {
        /* an all-zero header of a last segment past the durable point is a
         * creation that never completed: the writer creates it again */
        int unfinished = hc == EVL_BAD_ZERO && g->last && !before_durable(s, EVL_SEG_HEADER_SIZE) &&
                         next_nonzero(s, 0, s->fsize) == s->fsize;
        if (!unfinished)
            freeze_end(s, g->base_offset);
        problem(s, unfinished ? EVLOG_PROBLEM_UNFINISHED : EVLOG_PROBLEM_HEADER,
                unfinished ? EVLOG_SEV_WARNING : EVLOG_SEV_ERROR, g->file, 0,
                s->fsize < EVL_SEG_HEADER_SIZE ? s->fsize : EVL_SEG_HEADER_SIZE, g->base_offset,
                unfinished ? g->base_offset : s->seg_limit_offset,
                unfinished ? "an all-zero segment whose creation never completed" : hwhy);
    }
    if (fwhy) {
        uint64_t fpos = s->fsize >= EVL_FOOTER_SIZE ? s->fsize - EVL_FOOTER_SIZE : 0;
        problem(s, EVLOG_PROBLEM_FOOTER, EVLOG_SEV_ERROR, g->file, fpos, s->fsize - fpos,
                g->base_offset, g->base_offset, fwhy);
    }
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
        scan_batches(s, g->sealed ? g->data_end : s->fsize);
    } else {
        g->scanned = 1;
        g->next_offset = g->base_offset;
        g->data_end = s->fsize;
    }
    if (s->stopped || s->err)
        goto out;
    if (g->scanned && g->sealed && !s->seg_damaged) {
        const char *mwhy = NULL;
        if (g->next_offset != g->footer_next_offset)
            mwhy = "the footer's next offset is not the batches'";
        else if (g->records != g->footer_records || g->batches != g->footer_batches)
            mwhy = "the footer's record or batch count is not the batches'";
        else if (g->records && (g->min_timestamp != g->footer_min_timestamp ||
                                g->max_timestamp != g->footer_max_timestamp))
            mwhy = "the footer's timestamps are not the records'";
        if (mwhy) {
            problem(s, EVLOG_PROBLEM_FOOTER_MISMATCH, EVLOG_SEV_ERROR, g->file, g->data_end,
                    EVL_FOOTER_SIZE, g->next_offset < g->footer_next_offset ? g->next_offset : g->footer_next_offset,
                    g->next_offset < g->footer_next_offset ? g->footer_next_offset : g->next_offset, mwhy);
            freeze_end(s, g->next_offset < g->footer_next_offset ? g->next_offset : g->footer_next_offset);
        }
    }
    s->log.batches += g->batches;
    s->log.records += g->records;
    if (g->records) {
        if (s->log.records == g->records || g->min_timestamp < s->log.min_timestamp)
            s->log.min_timestamp = g->min_timestamp;
        if (s->log.records == g->records || g->max_timestamp > s->log.max_timestamp)
            s->log.max_timestamp = g->max_timestamp;
    }
    seg_end_event(s);
    if (!s->stopped && !s->err && !(skip && !g->sealed) && (!s->only || s->only_named))
        scan_index(s);
out:
    s->io->close(s->io, s->fd);
    s->fd = -1;
}

/*-******************* the directory *******************/
static int classify(const char *name, void *payload)
{
    scan *s = payload;
    uint64_t base;
    size_t len = strlen(name);
    if (evl_parse_name(name, EVL_SEG_SUFFIX, &base)) {
        if (s->nsegs == s->segcap) {
            size_t cap = s->segcap ? 2 * s->segcap : 16;
            seg_ent *n = realloc(s->segs, cap * sizeof *n);
            if (!n)
                return EVLOG_ENOMEM;
            s->segs = n;
            s->segcap = cap;
        }
        memcpy(s->segs[s->nsegs].name, name, len + 1);
        s->segs[s->nsegs++].base = base;
    } else if (evl_parse_name(name, EVL_INDEX_SUFFIX, &base)) {
        if (s->nidx == s->idxcap) {
            size_t cap = s->idxcap ? 2 * s->idxcap : 16;
            uint64_t *n = realloc(s->idx, cap * sizeof *n);
            if (!n)
                return EVLOG_ENOMEM;
            s->idx = n;
            s->idxcap = cap;
        }
        s->idx[s->nidx++] = base;
    } else {
        other_ent o;
        if (s->nothers == s->othcap) {
            size_t cap = s->othcap ? 2 * s->othcap : 8;
            other_ent *n = realloc(s->others, cap * sizeof *n);
            if (!n)
                return EVLOG_ENOMEM;
            s->others = n;
            s->othcap = cap;
        }
        if (!(o.name = malloc(len + 1)))
            return EVLOG_ENOMEM;
        memcpy(o.name, name, len + 1);
        o.kind = strcmp(name, EVL_CKPT_NAME) == 0              ? EVLOG_FILE_CHECKPOINT
                 : strcmp(name, EVL_LOCK_NAME) == 0            ? EVLOG_FILE_LOCK
                 : len > 4 && !strcmp(name + len - 4, ".tmp")  ? EVLOG_FILE_TMP
                 : len > 7 && !strcmp(name + len - 7, ".broken") ? EVLOG_FILE_BROKEN
                                                               : EVLOG_FILE_UNKNOWN;
        s->others[s->nothers++] = o;
    }
    return 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const seg_ent *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

static int cmp_other(const void *a, const void *b)
{
    return strcmp(((const other_ent *)a)->name, ((const other_ent *)b)->name);
}

/* Read the checkpoint: the valid slot with the higher seq. Returns 1 when
 * one was found, 0 when there is none, -1 when the file has no valid slot. */
static int read_checkpoint(scan *s, evl_ckpt *out, uint64_t *size)
{
    uint8_t buf[2 * EVL_CKPT_SLOT_SIZE];
    evl_ckpt c;
    int fd, found = 0, k;
    long got;
    *size = 0;
    if ((fd = s->io->open(s->io, s->dirfd, EVL_CKPT_NAME, EVL_O_RDONLY)) < 0)
        return fd == -ENOENT ? 0 : -1;
    got = s->io->pread(s->io, fd, buf, sizeof buf, 0);
    s->io->size(s->io, fd, size);
    s->io->close(s->io, fd);
    for (k = 0; k < 2 && got > 0; k++) {
        if ((size_t)got < (size_t)(k + 1) * EVL_CKPT_SLOT_SIZE)
            break;
        if (evl_ckpt_decode(&c, buf + k * EVL_CKPT_SLOT_SIZE) == EVL_OK && (!found || c.seq > out->seq)) {
            *out = c;
            found = 1;
        }
    }
    return found ? 1 : -1;
}

static uint64_t file_size(scan *s, const char *name)
{
    uint64_t size = 0;
    int fd = s->io->open(s->io, s->dirfd, name, EVL_O_RDONLY);
    if (fd >= 0) {
        s->io->size(s->io, fd, &size);
        s->io->close(s->io, fd);
    }
    return size;
}

static int has_segment(const scan *s, uint64_t base)
{
    size_t i;
    for (i = 0; i < s->nsegs; i++)
        if (s->segs[i].base == base)
            return 1;
    return 0;
}

/* The directory-wide checks: files, checkpoint, orphans. Before the segments. */
static void scan_files(scan *s, int ckpt, uint64_t ckpt_size)
{
    size_t i;
    evlog_scan_event ev;
    evlog_scan_file f;
    ev_init(&ev, EVLOG_EV_FILE);
    ev.file = &f;
    for (i = 0; i < s->nothers && !s->stopped; i++) {
        f.name = s->others[i].name;
        f.kind = s->others[i].kind;
        f.size = f.kind == EVLOG_FILE_CHECKPOINT ? ckpt_size : file_size(s, f.name);
        emit(s, &ev);
        if (f.kind == EVLOG_FILE_UNKNOWN)
            problem(s, EVLOG_PROBLEM_UNKNOWN_FILE, EVLOG_SEV_WARNING, f.name, 0, 0, 0, 0,
                    "not a file of an evlog log; the library ignores it");
        else if (f.kind == EVLOG_FILE_TMP)
            problem(s, EVLOG_PROBLEM_LEFTOVER, EVLOG_SEV_WARNING, f.name, 0, 0, 0, 0,
                    "a leftover temporary file; a writer deletes it at open");
    }
    if (ckpt < 0)
        problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_WARNING, EVL_CKPT_NAME, 0, ckpt_size, 0, 0,
                "no valid checkpoint slot; recovery starts from the last segment");
    for (i = 0; i < s->nidx; i++)
        if (!has_segment(s, s->idx[i])) {
            char name[EVL_NAME_MAX];
            evl_name(name, s->idx[i], EVL_INDEX_SUFFIX);
            problem(s, EVLOG_PROBLEM_INDEX_ORPHAN, EVLOG_SEV_WARNING, name, 0, 0, 0, 0,
                    "an index without its segment");
        }
    if (s->nsegs == 0 && s->nothers + s->nidx > 0 && ckpt <= 0)
        problem(s, EVLOG_PROBLEM_NOT_LOG, EVLOG_SEV_ERROR, ".", 0, 0, 0, 0,
                "the directory holds no segment and no checkpoint: not an evlog log");
    else if (s->nsegs == 0 && ckpt > 0 && s->log.durable_offset > s->log.start_offset)
        problem(s, EVLOG_PROBLEM_NOT_LOG, EVLOG_SEV_ERROR, ".", 0, 0, s->log.start_offset,
                EVLOG_NO_OFFSET, "a checkpoint but no segment: the segments are missing");
}

/* After the segments: continuity between them and with the checkpoint. */
static void check_sequence(scan *s, size_t i, uint64_t prev_next)
{
    const seg_ent *e = &s->segs[i];
    if (i == 0 && e->base > s->log.start_offset) {
        freeze_end(s, s->log.start_offset);
        problem(s, EVLOG_PROBLEM_GAP, EVLOG_SEV_ERROR, e->name, 0, 0, s->log.start_offset, e->base,
                "the first segment starts after the log's start offset");
    } else if (i > 0 && e->base > prev_next) {
        freeze_end(s, prev_next);
        problem(s, EVLOG_PROBLEM_GAP, EVLOG_SEV_ERROR, e->name, 0, 0, prev_next, e->base,
                "offsets missing between this segment and the previous one");
    } else if (i > 0 && e->base < prev_next) {
        freeze_end(s, e->base);
        problem(s, EVLOG_PROBLEM_GAP, EVLOG_SEV_ERROR, e->name, 0, 0, e->base, prev_next,
                "this segment overlaps the previous one");
    }
}

static void check_checkpoint(scan *s, int ckpt)
{
    if (ckpt <= 0 || s->nsegs == 0)
        return;
    if (!has_segment(s, s->log.durable_segment))
        problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_ERROR, EVL_CKPT_NAME, 0, 0,
                s->log.durable_segment, s->log.durable_offset,
                "the checkpoint's durable segment does not exist");
    else if (s->log.durable_offset > s->log.end_offset && !s->end_frozen)
        problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_ERROR, EVL_CKPT_NAME, 0, 0,
                s->log.end_offset, s->log.durable_offset,
                "the checkpoint's durable offset is past the end of the log");
    if (s->log.start_offset > s->log.end_offset && !s->end_frozen)
        problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_ERROR, EVL_CKPT_NAME, 0, 0,
                s->log.end_offset, s->log.start_offset,
                "the checkpoint's start offset is past the end of the log");
}

/* Split `path` into its directory and its last component (into buf). */
static const char *split_path(const char *path, char *buf, size_t cap, const char **dir)
{
    const char *slash = strrchr(path, '/');
    size_t n;
    if (!slash) {
        *dir = ".";
        return path;
    }
    n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/name" */
    if (n >= cap)
        return NULL;
    memcpy(buf, path, n);
    buf[n] = '\0';
    *dir = buf;
    return slash + 1;
}

static int scan_run(scan *s, const char *path)
{
    char dirbuf[4096];
    const char *dir = path;
    evl_ckpt ck;
    uint64_t ckpt_size, prev_next = 0;
    int ckpt, rc;
    size_t i;
    evlog_scan_event ev;

    s->dirfd = s->io->open_dir(s->io, path, 0);
    if (s->dirfd == -ENOTDIR) {
        if (!(s->only = split_path(path, dirbuf, sizeof dirbuf, &dir)) || !*s->only)
            return EVLOG_EINVAL;
        s->dirfd = s->io->open_dir(s->io, dir, 0);
    }
    if (s->dirfd < 0)
        return EVLOG_EIO;
    if ((rc = s->io->list(s->io, s->dirfd, classify, s)) != 0)
        return rc == EVLOG_ENOMEM ? rc : EVLOG_EIO;
    if (s->nsegs)
        qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
    if (s->nothers)
        qsort(s->others, s->nothers, sizeof *s->others, cmp_other);
    ckpt = read_checkpoint(s, &ck, &ckpt_size);

    s->log.path = path;
    s->log.pending_truncate = EVLOG_NO_OFFSET;
    if (ckpt > 0) {
        s->log.checkpoint = 1;
        s->log.checkpoint_seq = ck.seq;
        s->log.start_offset = ck.start_offset;
        s->log.durable_offset = ck.durable_offset;
        s->log.durable_segment = ck.durable_segment;
        s->log.durable_pos = ck.durable_pos;
        if (ck.truncate_to != EVL_NO_TRUNCATE)
            s->log.pending_truncate = ck.truncate_to;
    } else if (s->nsegs) {
        /* no checkpoint: the durable point is the start of the last segment */
        s->log.start_offset = s->segs[0].base;
        s->log.durable_offset = s->log.durable_segment = s->segs[s->nsegs - 1].base;
        s->log.durable_pos = EVL_SEG_HEADER_SIZE;
    }
    if (s->only) {
        /* one file: judged in the context of its directory */
        seg_ent one;
        size_t n = strlen(s->only);
        int last = 1;
        if (n >= sizeof one.name)
            return EVLOG_ENOTLOG;
        memcpy(one.name, s->only, n + 1);
        if (evl_parse_name(s->only, EVL_SEG_SUFFIX, &one.base))
            last = s->nsegs == 0 || s->segs[s->nsegs - 1].base <= one.base;
        else
            one.base = 0;
        if (!last)
            s->log.durable_segment = UINT64_MAX; /* sealed or damaged: all must be valid */
        if (s->segcap == 0 && !(s->segs = malloc(sizeof *s->segs)))
            return EVLOG_ENOMEM;
        s->segcap = s->segcap ? s->segcap : 1;
        s->nsegs = 1;
        s->segs[0] = one;
        s->only_named = one.base != 0 || evl_parse_name(s->only, EVL_SEG_SUFFIX, &one.base);
        s->nidx = 0;
        s->log.single_file = 1;
    }
    s->log.segments = s->nsegs;
    for (i = 0; i < s->nsegs; i++)
        s->log.total_bytes += file_size(s, s->segs[i].name);
    s->log.end_offset = s->nsegs ? s->segs[0].base : s->log.start_offset;

    ev_init(&ev, EVLOG_EV_LOG);
    ev.log = &s->log;
    emit(s, &ev);
    if (!s->only)
        scan_files(s, ckpt, ckpt_size);
    for (i = 0; i < s->nsegs && !s->stopped && !s->err; i++) {
        if (!s->only)
            check_sequence(s, i, prev_next);
        scan_segment(s, i);
        prev_next = s->seg.next_offset;
        if (!s->end_frozen)
            s->log.end_offset = prev_next;
    }
    memset(&s->seg, 0, sizeof s->seg);
    if (s->stopped)
        return EVLOG_SCAN_STOP;
    if (s->err)
        return s->err;
    if (!s->only)
        check_checkpoint(s, ckpt);
    ev_init(&ev, EVLOG_EV_END);
    ev.log = &s->log;
    emit(s, &ev);
    return s->stopped ? EVLOG_SCAN_STOP : 0;
}

int evlog_scan(const char *path, unsigned flags, evlog_scan_cb cb, void *payload)
{
    scan s;
    int rc;
    size_t i;
    if (!path || !cb)
        return EVLOG_EINVAL;
    memset(&s, 0, sizeof s);
    s.io = &evl_io_posix;
    s.dirfd = -1;
    s.fd = -1;
    s.flags = flags;
    s.cb = cb;
    s.payload = payload;
    rc = scan_run(&s, path);
    if (s.dirfd >= 0)
        s.io->close(s.io, s.dirfd);
    for (i = 0; i < s.nothers; i++)
        free(s.others[i].name);
    free(s.others);
    free(s.segs);
    free(s.idx);
    free(s.win);
    free(s.raw);
    return rc;
}
