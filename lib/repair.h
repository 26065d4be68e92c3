/*
 * repair.h - the state of one evlog_repair (include/evlog.h, "Repair") and
 * the actions its plan calls. Not installed.
 *
 *   repair.c      evlog_repair: a scan's events collected into what is
 *                 wrong with each segment, and the plan made from them
 *   repair_act.c  the actions: each is reported to the callback, then, but
 *                 in a dry run, done through the I/O table and synced
 */
#ifndef EVLOG_REPAIR_H
#define EVLOG_REPAIR_H

#include "inspect.h"

/* A valid batch found by the scan. */
typedef struct evl_rbatch {
    uint64_t pos, base, next;
    int64_t first_ts, max_ts;
} evl_rbatch;

/* A segment as the scan found it, and what the plan decided for it. */
typedef struct evl_rseg {
    char name[EVL_NAME_MAX];
    uint64_t base, size, data_end, next_offset;
    int sealed, last;
    evl_rbatch *b;
    size_t nb, cb;
    int index_bad;          /* the index must be rewritten */
    int footer_bad;         /* no valid footer where one is needed, or it disagrees */
    int unfinished;         /* an all-zero segment whose creation never completed */
    int header_bad;         /* its header is invalid */
    int damaged;            /* an error that only a cut can remove */
    uint64_t damage_pos;    /* its position (0: the whole segment) */
    const char *damage_why;
    uint64_t damage_end;    /* the largest known offset end of its damage */
    int torn;
    uint64_t torn_pos;
    int seal_unfinished;    /* its footer follows its last batch, the file not cut to it */
    int after_tail;         /* a whole segment after a torn tail: never durable */
} evl_rseg;

typedef struct evl_rctx {
    const struct evlog_io *io;
    int dirfd;
    unsigned flags;
    evlog_repair_cb cb;
    void *payload;
    evlog_repair_result *res;
    evl_rseg *segs;
    size_t n, cap;
    char **remove;          /* leftovers and orphan indexes */
    size_t nremove;
    evlog_scan_log log;
    uint32_t interval;
    int fatal;              /* EVLOG_ENOTLOG, EVLOG_EIO, EVLOG_ENOMEM from the scan */
    int first_gap;          /* a GAP was reported for the segment to come */
    int start_gap;          /* the first segment starts after the start offset */
    int ckpt_bad;           /* the checkpoint disagrees with the segments */
    unsigned slot_bad;      /* bit k: checkpoint slot k is damaged */
    int side_torn;          /* a truncation in progress left its batch torn in place */
} evl_rctx;

/*-******************* repair.c *******************/
/* The offset after the batches of `g` below position `pos`. */
uint64_t evl_repair_offset_at(const evl_rseg *g, uint64_t pos);
/* The largest offset end known of `g`: its batches' or its damage's. */
uint64_t evl_repair_seg_end(const evl_rseg *g);

/*-******************* repair_act.c *******************/
/* Each action below reports itself (evl_repair_act) before it is done, does
 * nothing more in a dry run, and returns 0 or an evlog error code: a
 * failure half-way leaves every byte in place or in a .broken file. */

/* Report an action and count it in the result (the offsets it loses, too).
 * Returns 1 when it is to be done, 0 in a dry run. */
int evl_repair_act(evl_rctx *c, int kind, const char *file, uint64_t pos, uint64_t len,
                   const char *broken, uint64_t first, uint64_t end, const char *reason);
/* An evlog code for a negative errno of the I/O table. */
int evl_repair_io_code(int neg);
/* Write back the batch that a truncation in progress left torn, from its
 * copy in truncate.pending, as a writer's open does first. */
int evl_repair_restore_side(evl_rctx *c);
/* Delete a leftover temporary file, an orphan index or a stale
 * truncate.pending. */
int evl_repair_remove_file(evl_rctx *c, const char *name);
/* Delete an all-zero segment whose creation never completed, and its index. */
int evl_repair_remove_unfinished(evl_rctx *c, const evl_rseg *g);
/* Rewrite what the intact batches of `g` determine: its header, its footer,
 * its index. */
int evl_repair_fix_segment(evl_rctx *c, evl_rseg *g);
/* Zero the torn tail of the last segment `g` (its bytes kept in a .broken
 * file first) and rewrite its index. */
int evl_repair_zero_torn_tail(evl_rctx *c, evl_rseg *g);
/* Move segment `g` whole into a .broken file, with its index gone. */
int evl_repair_move_out(evl_rctx *c, const evl_rseg *g, const char *why);
/* Cut segment k at its first damage: keep the bytes from there on, then
 * seal it there (or zero them when it is the active segment). */
int evl_repair_cut(evl_rctx *c, size_t k, uint64_t lost_end);
/* Rewrite the checkpoint to name the end of the log as the first `nsegs`
 * segments now leave it, synced; twice when the other slot is damaged too
 * (c->slot_bad), so that both hold it. */
int evl_repair_write_checkpoint(evl_rctx *c, size_t nsegs, const char *why);

#endif /* EVLOG_REPAIR_H */
