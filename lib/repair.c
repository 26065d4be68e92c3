/*
 * repair.c - evlog_repair: make a log that will not open openable again
 * (include/evlog.h, "Repair"). It is built on evlog_scan: a scan collects
 * the segments, their batches and the problems; a plan is made from them;
 * each action is reported, then done through the I/O table, under the
 * writer lock. Fixes that lose nothing (a torn tail, which recovery would
 * cut anyway; an index; a footer the batches fully determine; leftovers)
 * are always made. Damage is cut out only with EVLOG_REPAIR_QUARANTINE,
 * and then every byte removed is first copied into a .broken file beside
 * its segment and synced, so that nothing is destroyed. This file collects
 * the scan and makes the plan; the actions are in repair_act.c (repair.h).
 */
#include "repair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/*-******************* collecting the scan *******************/
static evl_rseg *find_seg(evl_rctx *c, const char *name)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        if (!strcmp(c->segs[i].name, name))
            return &c->segs[i];
    return NULL;
}

/* Queue file `name` for removal. Returns 0, or -1 when out of memory. */
static int add_remove(evl_rctx *c, const char *name)
{
    char **r = realloc(c->remove, (c->nremove + 1) * sizeof *r);
    size_t len = strlen(name);
    if (!r)
        return -1;
    c->remove = r;
    if (!(r[c->nremove] = malloc(len + 1)))
        return -1;
    memcpy(r[c->nremove++], name, len + 1);
    return 0;
}

/* The scan's problems, sorted into the plan's flags. */
static void note_problem(evl_rctx *c, const evlog_scan_problem *p)
{
    evl_rseg *g = find_seg(c, p->file);
    switch (p->code) {
    case EVLOG_PROBLEM_NOT_LOG:
        c->fatal = EVLOG_ENOTLOG;
        return;
    case EVLOG_PROBLEM_IO:
        c->fatal = EVLOG_EIO;
        return;
    case EVLOG_PROBLEM_LEFTOVER:
    case EVLOG_PROBLEM_INDEX_ORPHAN:
        if (add_remove(c, p->file))
            c->fatal = EVLOG_ENOMEM;
        return;
    case EVLOG_PROBLEM_INDEX:
    case EVLOG_PROBLEM_INDEX_MISSING:
        if (c->n)
            c->segs[c->n - 1].index_bad = 1;
        return;
    case EVLOG_PROBLEM_CHECKPOINT:
        if (p->severity == EVLOG_SEV_ERROR)
            c->ckpt_bad = 1;
        /* a damaged slot (the problem names its bytes) is written again */
        if (p->length > 0 && p->length <= EVL_CKPT_SLOT_SIZE &&
            p->pos % EVL_CKPT_SLOT_SIZE == 0 && p->pos < 2 * EVL_CKPT_SLOT_SIZE)
            c->slot_bad |= 1u << (p->pos / EVL_CKPT_SLOT_SIZE);
        return;
    case EVLOG_PROBLEM_TRUNCATE_PENDING:
        /* a stale truncate.pending goes, as a writer's open removes it; a
         * truncation in progress is the next writer's to finish (its batch
         * in place may be torn, and this file holds its durable copy) */
        if (!strcmp(p->file, EVL_SIDE_NAME) && c->log.pending_truncate == EVLOG_NO_OFFSET &&
            add_remove(c, p->file))
            c->fatal = EVLOG_ENOMEM;
        /* reported at a segment: the batch it was rewriting there is torn */
        if (strcmp(p->file, EVL_SIDE_NAME) != 0)
            c->side_torn = 1;
        return;
    case EVLOG_PROBLEM_GAP:
        if (!g) {
            /* reported before the segment's own events: it is the next one */
            c->first_gap = 1;
            return;
        }
        break;
    default:
        break;
    }
    if (!g)
        return;
    switch (p->code) {
    case EVLOG_PROBLEM_TORN_TAIL:
        if (p->pos == 0 && p->length == g->size) {
            g->after_tail = 1; /* the whole segment: after a torn tail */
        } else {
            g->torn = 1;
            g->torn_pos = p->pos;
        }
        break;
    case EVLOG_PROBLEM_SEAL_UNFINISHED:
        g->seal_unfinished = 1;
        break;
    case EVLOG_PROBLEM_UNFINISHED:
        g->unfinished = 1;
        break;
    case EVLOG_PROBLEM_FOOTER:
    case EVLOG_PROBLEM_FOOTER_MISMATCH:
        g->footer_bad = 1;
        break;
    case EVLOG_PROBLEM_HEADER:
        g->header_bad = 1;
        break;
    case EVLOG_PROBLEM_BAD_BATCH:
    case EVLOG_PROBLEM_SEQUENCE:
        if (p->end_offset != EVLOG_NO_OFFSET && p->end_offset > g->damage_end)
            g->damage_end = p->end_offset;
        if (!g->damaged || p->pos < g->damage_pos) {
            g->damaged = 1;
            g->damage_pos = p->code == EVLOG_PROBLEM_HEADER ? 0 : p->pos;
            g->damage_why = p->reason;
        }
        break;
    }
}

/* The scan's callback: a segment, its valid batches (their records are not
 * needed: the scan checked them), its results, the index interval in use,
 * the problems and the log's totals. Stops the scan when memory runs out. */
static int collect_cb(const evlog_scan_event *ev, void *payload)
{
    evl_rctx *c = payload;
    evl_rseg *g;
    void *grown;
    switch (ev->kind) {
    case EVLOG_EV_SEGMENT:
        if (!(grown = evl_grow(c->segs, c->n, &c->cap, sizeof *c->segs, 16))) {
            c->fatal = EVLOG_ENOMEM;
            return EVLOG_SCAN_STOP;
        }
        c->segs = grown;
        g = &c->segs[c->n++];
        memset(g, 0, sizeof *g);
        snprintf(g->name, sizeof g->name, "%s", ev->segment->file);
        g->base = ev->segment->base_offset;
        g->size = ev->segment->size;
        g->sealed = ev->segment->sealed;
        g->last = ev->segment->last;
        if (c->first_gap && c->n > 1) {
            g->damaged = 1;
            g->damage_pos = 0;
            g->damage_why = "offsets missing before this segment, or doubled";
        } else if (c->first_gap) {
            c->start_gap = 1;
        }
        c->first_gap = 0;
        break;
    case EVLOG_EV_BATCH:
        g = &c->segs[c->n - 1];
        if (!(grown = evl_grow(g->b, g->nb, &g->cb, sizeof *g->b, 64))) {
            c->fatal = EVLOG_ENOMEM;
            return EVLOG_SCAN_STOP;
        }
        g->b = grown;
        g->b[g->nb].pos = ev->batch->pos;
        g->b[g->nb].base = ev->batch->base_offset;
        g->b[g->nb].next = ev->batch->last_offset + 1;
        g->b[g->nb].first_ts = ev->batch->first_timestamp;
        g->b[g->nb].max_ts = ev->batch->max_timestamp;
        g->nb++;
        return EVLOG_SCAN_SKIP; /* its records were checked; no need to see them */
    case EVLOG_EV_SEGMENT_END:
        g = &c->segs[c->n - 1];
        g->data_end = ev->segment->data_end;
        g->next_offset = ev->segment->next_offset;
        break;
    case EVLOG_EV_INDEX:
        if (ev->index->valid && !c->interval)
            c->interval = ev->index->interval;
        break;
    case EVLOG_EV_PROBLEM:
        note_problem(c, ev->problem);
        break;
    case EVLOG_EV_LOG: /* the checkpoint's, for the problems to come */
    case EVLOG_EV_END:
        c->log = *ev->log;
        break;
    }
    return 0;
}

/*-******************* the plan *******************/
uint64_t evl_repair_offset_at(const evl_rseg *g, uint64_t pos)
{
    uint64_t next = g->base;
    size_t i;
    for (i = 0; i < g->nb && g->b[i].pos < pos; i++)
        next = g->b[i].next;
    return next;
}

uint64_t evl_repair_seg_end(const evl_rseg *g)
{
    uint64_t e = g->next_offset > g->damage_end ? g->next_offset : g->damage_end;
    if (g->nb && g->b[g->nb - 1].next > e)
        e = g->b[g->nb - 1].next;
    return e;
}

/* The plan: leftovers go; a header whose batches are not whole makes its
 * segment damaged from the start; the segments before the first damage
 * are fixed where that loses nothing, as a writer's open would (unfinished
 * ones removed, unfinished seals finished, torn tails zeroed, and the
 * segments after a torn tail that spans a roll moved out: never durable);
 * then the first damage is cut out with EVLOG_REPAIR_QUARANTINE, or
 * reported as unrepaired (EVLOG_ECORRUPT); last, the checkpoint is
 * rewritten when the end of the log moved, it disagreed, or a slot of it
 * is damaged (not while a truncation is in progress: its truncate.pending
 * names the checkpoint that recorded it). */
static int plan(evl_rctx *c)
{
    size_t i, k, t, fix, nsegs = c->n;
    uint64_t lost_end = 0;
    int rc, changed = 0;

    for (i = 0; i < c->nremove; i++)
        if ((rc = evl_repair_remove_file(c, c->remove[i])) != 0)
            return rc;
    for (i = 0; i < c->n; i++) {
        /* a header is rewritten when the batches after it are whole; else
         * the segment is damaged from its start */
        evl_rseg *g = &c->segs[i];
        if (g->header_bad && !(g->nb && g->b[0].pos == EVL_SEG_HEADER_SIZE && !g->damaged)) {
            g->damaged = 1;
            g->damage_pos = 0;
            g->damage_why = "invalid segment header";
        }
    }
    for (k = 0; k < c->n && !c->segs[k].damaged; k++)
        ;
    fix = k;
    for (t = 0; t < k && !c->segs[t].after_tail; t++)
        ;
    if (t > 0 && t < k) {
        /* a torn tail that spans a roll: the later segments go, newest
         * first, so that a crash half-way leaves segments that follow one
         * another; the torn one becomes the last, and its tail is zeroed */
        for (i = c->n; i > t; i--)
            if ((rc = evl_repair_move_out(c, &c->segs[i - 1],
                                          "a segment after a torn tail: never made durable; "
                                          "moved out, as a writer's open removes it")) != 0)
                return rc;
        c->segs[t - 1].last = 1;
        fix = nsegs = t;
        changed = 1;
    }
    for (i = 0; i < fix; i++) {
        evl_rseg *g = &c->segs[i];
        if (g->unfinished) {
            nsegs = i;
            changed = 1;
            if ((rc = evl_repair_remove_unfinished(c, g)) != 0)
                return rc;
            continue;
        }
        if ((rc = evl_repair_fix_segment(c, g)) != 0)
            return rc;
        if (g->torn && g->last) {
            changed = 1;
            if ((rc = evl_repair_zero_torn_tail(c, g)) != 0)
                return rc;
        }
    }
    if (k < c->n) {
        if (!(c->flags & EVLOG_REPAIR_QUARANTINE)) {
            for (i = k; i < c->n; i++) {
                const evl_rseg *d = &c->segs[i];
                if (d->damaged)
                    evl_repair_act(c, EVLOG_ACT_UNREPAIRED, d->name, d->damage_pos, 0, NULL,
                                   evl_repair_offset_at(d, d->damage_pos),
                                   evl_repair_seg_end(d), d->damage_why);
            }
            return EVLOG_ECORRUPT;
        }
        for (i = k; i < c->n; i++)
            if (evl_repair_seg_end(&c->segs[i]) > lost_end)
                lost_end = evl_repair_seg_end(&c->segs[i]);
        /* the later segments first, so that a crash half-way leaves a log
         * whose segments still follow one another */
        for (i = c->n; i > k + 1; i--)
            if ((rc = evl_repair_move_out(c, &c->segs[i - 1],
                                          "a segment after damage: moved out")) != 0)
                return rc;
        if (c->segs[k].damage_pos < EVL_SEG_HEADER_SIZE) {
            if ((rc = evl_repair_move_out(c, &c->segs[k], c->segs[k].damage_why)) != 0)
                return rc;
            nsegs = k;
            if (k > 0)
                c->segs[k - 1].last = 1;
        } else {
            if ((rc = evl_repair_cut(c, k, lost_end)) != 0)
                return rc;
            nsegs = k + 1;
        }
        changed = 1;
    }
    if ((changed || c->ckpt_bad || c->start_gap ||
         (c->slot_bad && c->log.pending_truncate == EVLOG_NO_OFFSET)) &&
        (rc = evl_repair_write_checkpoint(c, nsegs,
                                          changed || c->ckpt_bad || c->start_gap
                                              ? "the checkpoint must name the log's new end"
                                              : "a checkpoint slot is damaged: written "
                                                "again")) != 0)
        return rc;
    if (!(c->flags & EVLOG_REPAIR_DRY_RUN) && (rc = c->io->sync_dir(c->io, c->dirfd)) < 0)
        return evl_repair_io_code(rc);
    return 0;
}

/*-******************* the entry point *******************/
/* Forget what a scan collected, for another scan. */
static void ctx_reset(evl_rctx *c)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        free(c->segs[i].b);
    free(c->segs);
    for (i = 0; i < c->nremove; i++)
        free(c->remove[i]);
    free(c->remove);
    c->segs = NULL;
    c->n = c->cap = 0;
    c->remove = NULL;
    c->nremove = 0;
    memset(&c->log, 0, sizeof c->log);
    c->interval = 0;
    c->fatal = c->first_gap = c->start_gap = c->ckpt_bad = c->side_torn = 0;
    c->slot_bad = 0;
}
/* After a repair: the errors a new scan still finds. */
static int count_cb(const evlog_scan_event *ev, void *payload)
{
    if (ev->kind == EVLOG_EV_END)
        *(uint64_t *)payload = ev->log->errors;
    return 0;
}

int evlog_repair(evlog_repair_result *out, const char *dir, unsigned flags, evlog_repair_cb cb,
                 void *payload)
{
    evlog_repair_result res;
    evl_rctx c;
    int lockfd = -1, rc;
    uint64_t left = 0;

    memset(&res, 0, sizeof res);
    if (out)
        *out = res;
    if (!dir)
        return EVLOG_EINVAL;
    memset(&c, 0, sizeof c);
    c.io = &evl_io_posix;
    c.flags = flags;
    c.cb = cb;
    c.payload = payload;
    c.res = &res;
    if ((c.dirfd = c.io->open_dir(c.io, dir, 0)) < 0)
        return c.dirfd == -ENOTDIR ? EVLOG_ENOTLOG : EVLOG_EIO;
    /* the writer lock, so that no writer runs beside the repair; a dry run
     * takes it too when the file exists, and creates nothing */
    lockfd = c.io->open(c.io, c.dirfd, EVL_LOCK_NAME,
                        (flags & EVLOG_REPAIR_DRY_RUN) ? EVL_O_RDONLY : EVL_O_RDWR | EVL_O_CREAT);
    if (lockfd < 0 && !(flags & EVLOG_REPAIR_DRY_RUN)) {
        rc = EVLOG_EIO;
        goto out;
    }
    if (lockfd >= 0 && (rc = c.io->lock(c.io, lockfd)) < 0) {
        rc = rc == -EWOULDBLOCK ? EVLOG_ELOCKED : EVLOG_EIO;
        goto out;
    }
    if ((rc = evlog_scan(dir, 0, collect_cb, &c)) != 0)
        goto out;
    if ((rc = c.fatal) != 0)
        goto out;
    if (c.side_torn) {
        /* the torn batch of a truncation in progress goes back in place
         * first; the log is then scanned again, as it now is */
        if ((rc = evl_repair_restore_side(&c)) != 0)
            goto out;
        if (!(flags & EVLOG_REPAIR_DRY_RUN)) {
            ctx_reset(&c);
            if ((rc = evlog_scan(dir, 0, collect_cb, &c)) != 0)
                goto out;
            if ((rc = c.fatal) != 0)
                goto out;
        }
    }
    rc = plan(&c);
    if (rc == 0 && !(flags & EVLOG_REPAIR_DRY_RUN) && evlog_scan(dir, 0, count_cb, &left) == 0 &&
        left > 0) {
        res.unrepaired += left;
        rc = EVLOG_ECORRUPT;
    }
out:
    if (out)
        *out = res;
    if (lockfd >= 0)
        c.io->close(c.io, lockfd);
    c.io->close(c.io, c.dirfd);
    ctx_reset(&c);
    return rc;
}
