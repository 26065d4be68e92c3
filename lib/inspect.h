/*
 * inspect.h - the state of one evlog_scan (include/evlog.h, "Inspection")
 * and the functions its files share. Not installed. The scan reads a log's
 * files directly, read-only, without opening the log, and is built for logs
 * too damaged to open: every length read from a file is bounded by what is
 * left of it, every structure goes through the checks of format.h, and
 * damage is stepped over by searching for the next valid batch, within a
 * budget, so that a scan ends on any input.
 *
 *   inspect.c          evlog_scan; reading through a window; events, problems
 *   inspect_dir.c      the directory: listing, checkpoint, other files, the
 *                      order of the segments, single-file mode
 *   inspect_segment.c  one segment: header, footer, totals against the footer
 *   inspect_batch.c    the batches of a segment, stepping over damage
 *   inspect_index.c    a segment's index file and its entries
 *
 * The growable-array helper at the end is shared with repair.c.
 */
#ifndef EVLOG_INSPECT_H
#define EVLOG_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "format.h"
#include "os.h"

/* Bytes read from a file at once. */
#define EVL_SCAN_WINDOW_BYTES (1u << 20)
/* Bytes of a damaged range a problem event shows. */
#define EVL_SCAN_PROBLEM_BYTES 64u
/* Bytes of candidate batches a resynchronisation may hash in one segment,
 * besides 4 times the segment's size: bounds the work on crafted input. */
#define EVL_SCAN_RESYNC_BUDGET (64ull << 20)

/* A segment file of the directory. */
typedef struct evl_scan_ent {
    char name[EVL_NAME_MAX];
    uint64_t base;
} evl_scan_ent;

/* A file that is neither a segment nor an index. */
typedef struct evl_scan_other {
    char *name;
    int kind;               /* EVLOG_FILE_* */
} evl_scan_other;

typedef struct evl_scan {
    const struct evlog_io *io;
    int dirfd;
    unsigned flags;
    evlog_scan_cb cb;
    void *payload;
    int stopped;            /* the callback asked to stop */
    int err;                /* EVLOG_ENOMEM or EVLOG_EIO that ends the scan */
    const char *only;       /* single-file mode: the file's name */
    int only_named;         /* ... and it is named as a segment */
    int only_last;          /* ... and it is the directory's last segment */
    uint64_t only_next;     /* ... else the base offset of the segment after it */
    evlog_scan_log log;
    int end_frozen;         /* log.end_offset is final: a reader stops there */
    int end_torn;           /* ... and what fixed it is a torn tail, not damage */
    /* Recovery trusts the footers of the segments below this base offset
     * (the checkpoint's durable segment, else the last segment) and scans
     * the others batch by batch, footer or not (docs/format.md, "Recovery
     * rules"); UINT64_MAX when the checkpoint names a segment past the last. */
    uint64_t scan_from;
    /* A torn tail was met before the last segment (a seal that never
     * became durable), or the batch of a truncation in progress: the
     * segments from here on were never durable, and a writer's open
     * removes them; tail_why says why. */
    int tail_seen;
    const char *tail_why;
    /* truncate.pending, when it is whole and belongs to the checkpoint's
     * pending truncation: the next writer's open writes its batch back at
     * side_pos of segment side_seg, offsets [side_first, side_next). */
    int side_live;
    uint64_t side_seg, side_pos, side_first, side_next;
    evl_scan_ent *segs;
    size_t nsegs, segcap;
    uint64_t *idx;          /* base offsets of the index files */
    size_t nidx, idxcap;
    evl_scan_other *others;
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
    int seg_open;           /* unsealed, and scanned by recovery batch by batch:
                               the last segment, or one from scan_from on whose
                               file ends without a footer */
} evl_scan;

/*-******************* inspect.c *******************/
/* Report `ev` to the callback; notes a stop. Returns the callback's answer. */
int evl_scan_emit(evl_scan *s, evlog_scan_event *ev);
/* A zeroed event of `kind`. Cannot fail. */
void evl_scan_event_init(evlog_scan_event *ev, int kind);
/* Make the buffer *buf (of *cap bytes) hold at least `want` bytes. Returns
 * 0, or -1 with s->err set to EVLOG_ENOMEM (the buffer is then unchanged). */
int evl_scan_reserve(evl_scan *s, uint8_t **buf, size_t *cap, size_t want);
/* The `n` bytes of the current file at `pos`, or NULL on a read error (or
 * when they lie past its end; s->err is set when memory ran out). Valid
 * until the next call. */
const uint8_t *evl_scan_read(evl_scan *s, uint64_t pos, size_t n);
/* The first non-zero byte in [pos, limit), or limit; limit on a read error. */
uint64_t evl_scan_next_nonzero(evl_scan *s, uint64_t pos, uint64_t limit);
/* One past the last non-zero byte in [pos, limit), or pos. */
uint64_t evl_scan_end_nonzero(evl_scan *s, uint64_t pos, uint64_t limit);
/* Report a problem: counted by severity, and in the current segment's
 * problems when `file` is the segment's; its first bytes are read from the
 * current file when one is open. */
void evl_scan_problem(evl_scan *s, int code, int severity, const char *file, uint64_t pos,
                      uint64_t len, uint64_t first, uint64_t end, const char *reason);

/*-******************* inspect_dir.c *******************/
/* The whole scan of `path` once `s` is initialised: EVLOG_SCAN_STOP, 0 or
 * an error. The caller frees what `s` holds. */
int evl_scan_run(evl_scan *s, const char *path);

/*-******************* inspect_segment.c *******************/
/* Read the header and footer of segment i of s->segs, report it, its
 * batches and its index. The file is closed again before it returns. */
void evl_scan_segment(evl_scan *s, size_t i);

/*-******************* inspect_batch.c *******************/
/* Check the batch at `pos` (in [pos, limit)) of the current file fully:
 * limits, checksum, and base offset `expect` (EVL_BAD_OFFSET when it has
 * another). *b gets its header when it parses. */
evl_check evl_scan_batch_at(evl_scan *s, uint64_t pos, uint64_t limit, uint64_t expect,
                            evl_batch *b);
/* Report the batches of the current segment up to `limit`, stepping over
 * damage; fills s->seg's data_end, next_offset and totals. */
void evl_scan_batches(evl_scan *s, uint64_t limit);

/*-******************* inspect_index.c *******************/
/* Check the index of the current segment (whose file is still open: its
 * descriptor is borrowed for the entries' checks) and report it. */
void evl_scan_index(evl_scan *s);

/*-******************* shared judgments *******************/
/* Where readers stop: the first error or torn tail fixes the log's end. */
static inline void evl_scan_freeze_end(evl_scan *s, uint64_t offset)
{
    if (!s->end_frozen) {
        s->log.end_offset = offset;
        s->end_frozen = 1;
    }
}

/* Where readers stop, because of a torn tail (bytes never made durable, a
 * warning): the checkpoint's durable offset must still lie before it. */
static inline void evl_scan_freeze_torn(evl_scan *s, uint64_t offset)
{
    if (!s->end_frozen)
        s->end_torn = 1;
    evl_scan_freeze_end(s, offset);
}

/* Whether position `pos` of the current segment lies before the durable
 * point, where every byte must be a valid batch. */
static inline int evl_scan_before_durable(const evl_scan *s, uint64_t pos)
{
    return s->seg.base_offset < s->log.durable_segment ||
           (s->seg.base_offset == s->log.durable_segment && pos < s->log.durable_pos);
}

/*-******************* growable arrays *******************/
/* Room for one more element in the array `arr` of `size`-byte elements, `n`
 * of *cap used: `arr` itself when there is room, else a copy twice as large
 * (or of `first` elements), *cap updated. NULL when out of memory, and then
 * `arr` is unchanged and still the caller's. */
static inline void *evl_grow(void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
    size_t c;
    void *q;
    if (n < *cap)
        return arr;
    c = *cap ? 2 * *cap : first;
    if (!(q = realloc(arr, c * size)))
        return NULL;
    *cap = c;
    return q;
}

/* A segment event takes a valid footer's figures: the segment is sealed. */
static inline void evl_scan_take_footer(evlog_scan_segment *g, const evl_footer *f)
{
    g->sealed = 1;
    g->footer_next_offset = f->next_offset;
    g->footer_records = f->records;
    g->footer_batches = f->batches;
    g->footer_min_timestamp = f->min_ts;
    g->footer_max_timestamp = f->max_ts;
    g->data_end = f->data_end;
}

#endif /* EVLOG_INSPECT_H */
