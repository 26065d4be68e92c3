/*
 * inspect_index.c - the index check of evlog_scan (inspect.h): a segment's
 * index file is read and checked the way the library loads it (header,
 * entries checksum, order, bounds), and with EVLOG_SCAN_ENTRIES each entry
 * is checked against the segment: a valid batch with the entry's offset
 * must start at the entry's position. An index is a cache: it is never
 * synced (after a crash it may be stale: entries past a tail that was cut,
 * or at batches a truncation rewrote), the library checks every entry it
 * uses and rebuilds an invalid one, and `evlog repair` rewrites it, so a
 * problem here never loses a record: it is a warning.
 */
#include "inspect.h"

#include <errno.h>
#include <stdlib.h>

typedef struct entry_check {
    uint64_t offset, pos;
    const char *why; /* NULL when valid */
} entry_check;

/* Check one entry against the segment (the current file). */
static const char *entry_why(evl_scan *s, const evl_index_header *h, const entry_check *prev,
                             const entry_check *e)
{
    evl_batch b;
    evl_check c;
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
    if ((c = evl_scan_batch_at(s, e->pos, data_end, e->offset, &b)) == EVL_BAD_OFFSET)
        return "the batch at the position has another offset";
    if (c != EVL_OK)
        return "no valid batch at the position";
    return NULL;
}

/* Read and check index file `fd` of the current segment as the library
 * loads it: header, size, entries checksum, coverage. Returns NULL with
 * *raw holding the header's count of entries (malloc'ed; NULL for none),
 * or why the index is invalid. Out of memory, it returns NULL with s->err
 * set. */
static const char *load_index(evl_scan *s, int fd, evlog_scan_index *si, evl_index_header *h,
                              uint8_t **raw)
{
    uint8_t hdr[EVL_INDEX_HEADER_SIZE];
    size_t bytes;

    if (s->io->size(s->io, fd, &si->size) != 0)
        return "cannot read the index";
    if (si->size < EVL_INDEX_HEADER_SIZE)
        return "file shorter than an index header";
    if (s->io->pread(s->io, fd, hdr, sizeof hdr, 0) != (long)sizeof hdr)
        return "cannot read the index";
    if (evl_index_header_decode(h, hdr) != EVL_OK)
        return "invalid index header";
    if (h->base_offset != s->seg.base_offset)
        return "index of another segment (base offset)";
    if (h->count > (si->size - EVL_INDEX_HEADER_SIZE) / EVL_INDEX_ENTRY_SIZE ||
        si->size != EVL_INDEX_HEADER_SIZE + h->count * EVL_INDEX_ENTRY_SIZE)
        return "file size does not match the entry count";
    bytes = (size_t)(h->count * EVL_INDEX_ENTRY_SIZE);
    if (bytes && !(*raw = malloc(bytes))) {
        s->err = EVLOG_ENOMEM;
        return NULL;
    }
    if (bytes && s->io->pread(s->io, fd, *raw, bytes, EVL_INDEX_HEADER_SIZE) != (long)bytes)
        return "cannot read the index";
    if (evl_hash(*raw, bytes, EVL_SEED_INDEX) != h->entries_checksum)
        return "entries checksum mismatch";
    if (h->covered_end > s->seg.data_end) {
        /* saved before a torn tail or a truncation cut the segment: stale */
        if (s->seg.last && !s->seg.sealed)
            return "covers more than the active segment's valid data (stale: saved before a "
                   "torn tail or a truncation cut it); rebuilt at open";
        return "covers more than the segment's data (stale: saved before a truncation cut "
               "it); rebuilt when used";
    }
    return NULL;
}

/* The INDEX event comes first, then (EVLOG_SCAN_ENTRIES) an ENTRY per
 * entry, then at most one problem: the index's own, or its first bad
 * entry's. */
void evl_scan_index(evl_scan *s)
{
    char name[EVL_NAME_MAX];
    evlog_scan_index si;
    evl_index_header h;
    entry_check *ec = NULL;
    uint8_t *raw = NULL;
    const char *why;
    uint64_t i, bad = 0, first_bad = 0;
    int fd;

    evl_name(name, s->seg.base_offset, EVL_INDEX_SUFFIX);
    memset(&si, 0, sizeof si);
    si.file = name;
    if ((fd = s->io->open(s->io, s->dirfd, name, EVL_O_RDONLY)) < 0) {
        if (fd != -ENOENT)
            evl_scan_problem(s, EVLOG_PROBLEM_IO, EVLOG_SEV_ERROR, name, 0, 0, 0, 0,
                             "cannot open the index");
        else if (s->seg.sealed)
            evl_scan_problem(s, EVLOG_PROBLEM_INDEX_MISSING, EVLOG_SEV_WARNING, name, 0, 0, 0, 0,
                             "a sealed segment has no index; the library rebuilds it");
        return;
    }
    why = load_index(s, fd, &si, &h, &raw);
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
        evl_scan_event_init(&ev, EVLOG_EV_INDEX);
        ev.segment = &s->seg;
        ev.index = &si;
        if (evl_scan_emit(s, &ev) == 0 && (s->flags & EVLOG_SCAN_ENTRIES) && ec) {
            ev.kind = EVLOG_EV_ENTRY;
            ev.entry = &se;
            for (i = 0; i < h.count && !s->stopped; i++) {
                se.number = i;
                se.offset = ec[i].offset;
                se.pos = ec[i].pos;
                se.valid = ec[i].why == NULL;
                se.reason = ec[i].why ? ec[i].why : "ok";
                evl_scan_emit(s, &ev);
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
        /* a cache, stale or damaged: the library does not believe it, and
         * rebuilds it; `evlog repair` rewrites it */
        if (why)
            evl_scan_problem(s, EVLOG_PROBLEM_INDEX, EVLOG_SEV_WARNING, name, 0, si.size, 0, 0,
                             why);
        else if (bad)
            evl_scan_problem(s, EVLOG_PROBLEM_INDEX, EVLOG_SEV_WARNING, name,
                             EVL_INDEX_HEADER_SIZE + first_bad * EVL_INDEX_ENTRY_SIZE,
                             EVL_INDEX_ENTRY_SIZE, 0, 0, ec[first_bad].why);
        s->fd = segfd;
        s->fsize = segsize;
        s->wlen = 0;
    }
done:
    s->io->close(s->io, fd);
    free(ec);
    free(raw);
}
