/*
 * inspect.c - evlog_scan: read a log's files directly, without opening the
 * log, and report every segment, batch, record, index entry and problem to
 * a callback (include/evlog.h, "Inspection"). This file holds the entry
 * point and what every part of the scan uses: reading the current file
 * through a window, events, and problems. The directory walk is in
 * inspect_dir.c, a segment's header and footer in inspect_segment.c, its
 * batches in inspect_batch.c and its index in inspect_index.c (inspect.h).
 * Files are only ever opened read-only.
 */
#include "inspect.h"

#include <stdlib.h>

/*-******************* the entry point *******************/
/* The scan state is the caller's, on its stack: nothing is shared between
 * calls. Everything it allocated is freed here, whatever the outcome. */
int evlog_scan(const char *path, unsigned flags, evlog_scan_cb cb, void *payload)
{
    evl_scan s;
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
    rc = evl_scan_run(&s, path);
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

/* The names come from the same X-macro list as the codes, so they cannot
 * drift apart. */
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
/* Every event goes through here, so that a stop asked at any of them ends
 * the scan: each loop of the scan checks s->stopped. */
int evl_scan_emit(evl_scan *s, evlog_scan_event *ev)
{
    int rc = s->cb(ev, s->payload);
    if (rc == EVLOG_SCAN_STOP)
        s->stopped = 1;
    return rc;
}

void evl_scan_event_init(evlog_scan_event *ev, int kind)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
}

/*-******************* buffers *******************/
int evl_scan_reserve(evl_scan *s, uint8_t **buf, size_t *cap, size_t want)
{
    uint8_t *b;
    if (want <= *cap)
        return 0;
    if (!(b = realloc(*buf, want))) {
        s->err = EVLOG_ENOMEM;
        return -1;
    }
    *buf = b;
    *cap = want;
    return 0;
}

/*-******************* reading through a window *******************/
/* A read larger than the window grows it to the read's size; a read error
 * or a short read gives NULL and leaves the window empty. */
const uint8_t *evl_scan_read(evl_scan *s, uint64_t pos, size_t n)
{
    size_t want;
    long got;
    if (pos > s->fsize || n > s->fsize - pos)
        return NULL;
    if (pos >= s->wpos && pos + n <= s->wpos + s->wlen)
        return s->win + (pos - s->wpos);
    want = n > EVL_SCAN_WINDOW_BYTES ? n : EVL_SCAN_WINDOW_BYTES;
    if (want > s->fsize - pos)
        want = (size_t)(s->fsize - pos);
    if (evl_scan_reserve(s, &s->win, &s->wcap, want) < 0)
        return NULL;
    s->wlen = 0;
    got = s->io->pread(s->io, s->fd, s->win, want, pos);
    if (got < 0 || (size_t)got < n)
        return NULL;
    s->wpos = pos;
    s->wlen = (size_t)got;
    return s->win;
}

uint64_t evl_scan_next_nonzero(evl_scan *s, uint64_t pos, uint64_t limit)
{
    while (pos < limit) {
        size_t n = limit - pos < EVL_SCAN_WINDOW_BYTES ? (size_t)(limit - pos)
                                                       : EVL_SCAN_WINDOW_BYTES, i;
        const uint8_t *p = evl_scan_read(s, pos, n);
        if (!p)
            return limit;
        for (i = 0; i < n; i++)
            if (p[i])
                return pos + i;
        pos += n;
    }
    return limit;
}

uint64_t evl_scan_end_nonzero(evl_scan *s, uint64_t pos, uint64_t limit)
{
    uint64_t end = pos, z = pos;
    while ((z = evl_scan_next_nonzero(s, z, limit)) < limit) {
        end = z + 1;
        z++;
    }
    return end;
}

/*-******************* problems *******************/
void evl_scan_problem(evl_scan *s, int code, int severity, const char *file, uint64_t pos,
                      uint64_t len, uint64_t first, uint64_t end, const char *reason)
{
    evlog_scan_event ev;
    evlog_scan_problem p;
    const uint8_t *b = NULL;
    size_t blen = len < EVL_SCAN_PROBLEM_BYTES ? (size_t)len : EVL_SCAN_PROBLEM_BYTES;
    memset(&p, 0, sizeof p);
    if (s->fd < 0 || (blen && (b = evl_scan_read(s, pos, blen)) == NULL))
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
    evl_scan_event_init(&ev, EVLOG_EV_PROBLEM);
    ev.problem = &p;
    if (s->seg.file && file == s->seg.file) {
        s->seg.problems++;
        ev.segment = &s->seg;
    }
    evl_scan_emit(s, &ev);
}
