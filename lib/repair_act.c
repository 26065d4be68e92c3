/*
 * repair_act.c - the actions of evlog_repair (repair.h). Each one reports
 * itself first (evl_repair_act), does nothing more in a dry run, and then
 * works through the I/O table only. Bytes that an action removes, but for
 * zeros and indexes, are first copied into a .broken file and synced, so
 * that a failure half-way leaves every byte in place or kept; every file
 * written is synced before the action returns, and the checkpoint is
 * written last, once what it names is durable.
 */
#include "repair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for "NAME.POS.K.broken". */
#define BROKEN_NAME_MAX (EVL_NAME_MAX + 48)
/* Bytes copied into a .broken file at once. */
#define COPY_BYTES (1u << 20)

/*-******************* reporting *******************/
int evl_repair_act(evl_rctx *c, int kind, const char *file, uint64_t pos, uint64_t len,
                   const char *broken, uint64_t first, uint64_t end, const char *reason)
{
    evlog_repair_action a;
    a.kind = kind;
    a.file = file;
    a.pos = pos;
    a.length = len;
    a.broken = broken;
    a.first_offset = first;
    a.end_offset = end;
    a.reason = reason;
    if (kind == EVLOG_ACT_UNREPAIRED)
        c->res->unrepaired++;
    else
        c->res->actions++;
    if (first != end && kind != EVLOG_ACT_UNREPAIRED) {
        if (c->res->lost_first == c->res->lost_end || first < c->res->lost_first)
            c->res->lost_first = first;
        if (end > c->res->lost_end)
            c->res->lost_end = end;
    }
    if (c->cb)
        c->cb(&a, c->payload);
    return !(c->flags & EVLOG_REPAIR_DRY_RUN);
}

int evl_repair_io_code(int neg)
{
    return neg == -ENOSPC ? EVLOG_ENOSPC : neg == -ENOMEM ? EVLOG_ENOMEM : EVLOG_EIO;
}

/*-******************* files *******************/
/* Write `len` bytes of `buf` at `pos` of file `name` (created if absent
 * when `create`), cut the file to `size` unless it is EVLOG_NO_OFFSET, and
 * sync it: a rewritten header, footer or checkpoint slot is durable when
 * this returns 0. */
static int write_synced(evl_rctx *c, const char *name, int create, const void *buf, size_t len,
                        uint64_t pos, uint64_t size)
{
    long w;
    int fd, rc;
    if ((fd = c->io->open(c->io, c->dirfd, name, EVL_O_RDWR | (create ? EVL_O_CREAT : 0))) < 0)
        return evl_repair_io_code(fd);
    if ((w = c->io->pwrite(c->io, fd, buf, len, pos)) < 0)
        rc = (int)w;
    else if (size == EVLOG_NO_OFFSET || (rc = c->io->truncate(c->io, fd, size)) == 0)
        rc = c->io->fsync(c->io, fd);
    c->io->close(c->io, fd);
    return rc < 0 ? evl_repair_io_code(rc) : 0;
}

/*-******************* a truncation in progress *******************/
/*
 * The scan found the batch that a truncation in progress was rewriting torn
 * in place; truncate.pending holds its new copy (whole, and naming the
 * checkpoint's pending truncation and seq, or the scan would not have said
 * so). It goes back in place before anything else: whatever the plan then
 * does (a cut, a checkpoint written anew, which no longer names this file)
 * can no longer lose the records below the truncation point.
 */
int evl_repair_restore_side(evl_rctx *c)
{
    char name[EVL_NAME_MAX];
    uint8_t *p = NULL;
    uint64_t size = 0;
    uint32_t len;
    evl_batch b;
    long r = 0;
    int fd, rc;

    if ((fd = c->io->open(c->io, c->dirfd, EVL_SIDE_NAME, EVL_O_RDONLY)) < 0)
        return evl_repair_io_code(fd);
    if ((rc = c->io->size(c->io, fd, &size)) == 0 &&
        (size < EVL_SIDE_HEADER_SIZE || size > EVL_SIDE_HEADER_SIZE + (uint64_t)EVLOG_MAX_BATCH_BYTES))
        rc = -EIO;
    if (rc == 0 && !(p = malloc((size_t)size)))
        rc = -ENOMEM;
    if (rc == 0 && (r = c->io->pread(c->io, fd, p, (size_t)size, 0)) != (long)size)
        rc = r < 0 ? (int)r : -EIO;
    c->io->close(c->io, fd);
    if (rc < 0) {
        free(p);
        return evl_repair_io_code(rc);
    }
    if (!evl_side_valid(p, size, c->log.pending_truncate, c->log.checkpoint_seq, &b)) {
        /* changed since the scan: leave everything to the writer's open */
        free(p);
        return EVLOG_ECORRUPT;
    }
    len = b.length;
    evl_name(name, evl_ld64(p + 16), EVL_SEG_SUFFIX);
    rc = 0;
    if (evl_repair_act(c, EVLOG_ACT_RESTORE_BATCH, name, evl_ld64(p + 24), len, NULL, 0, 0,
                       "a truncation in progress left the batch it was rewriting torn: its new "
                       "copy is written back from truncate.pending"))
        rc = write_synced(c, name, 0, p + EVL_SIDE_HEADER_SIZE, len, evl_ld64(p + 24),
                          EVLOG_NO_OFFSET);
    free(p);
    return rc;
}

/* One past the last non-zero byte of [from, to) of fd into *out, or from. */
static int end_nonzero(evl_rctx *c, int fd, uint64_t from, uint64_t to, uint64_t *out)
{
    uint8_t buf[65536];
    uint64_t pos = from;
    *out = from;
    while (pos < to) {
        size_t n = to - pos < sizeof buf ? (size_t)(to - pos) : sizeof buf, i;
        long got = c->io->pread(c->io, fd, buf, n, pos);
        if (got <= 0)
            return got < 0 ? evl_repair_io_code((int)got) : 0;
        for (i = (size_t)got; i > 0; i--)
            if (buf[i - 1]) {
                *out = pos + i;
                break;
            }
        pos += (uint64_t)got;
    }
    return 0;
}

/* The name of the .broken file for bytes of `name` from `pos` on: a new one. */
static void broken_name(evl_rctx *c, char *out, size_t cap, const char *name, uint64_t pos)
{
    int fd, k;
    for (k = 0; k < 1000; k++) {
        if (k == 0)
            snprintf(out, cap, "%s.%llu.broken", name, (unsigned long long)pos);
        else
            snprintf(out, cap, "%s.%llu.%d.broken", name, (unsigned long long)pos, k);
        fd = c->io->open(c->io, c->dirfd, out, EVL_O_RDONLY);
        if (fd < 0)
            return;
        c->io->close(c->io, fd);
    }
}

/* Copy [from, to) of segment `name` into the new file `broken`, synced. */
static int keep_bytes(evl_rctx *c, const char *name, uint64_t from, uint64_t to,
                      const char *broken)
{
    uint8_t *buf = malloc(COPY_BYTES);
    int in = -1, out = -1, rc = 0;
    uint64_t pos = from;
    if (!buf)
        return EVLOG_ENOMEM;
    if ((in = c->io->open(c->io, c->dirfd, name, EVL_O_RDONLY)) < 0 ||
        (out = c->io->open(c->io, c->dirfd, broken, EVL_O_RDWR | EVL_O_CREAT | EVL_O_EXCL)) < 0) {
        rc = evl_repair_io_code(in < 0 ? in : out);
        goto done;
    }
    while (pos < to) {
        size_t n = to - pos < COPY_BYTES ? (size_t)(to - pos) : COPY_BYTES;
        long got = c->io->pread(c->io, in, buf, n, pos), w;
        if (got <= 0) {
            rc = got < 0 ? evl_repair_io_code((int)got) : EVLOG_EIO;
            goto done;
        }
        if ((w = c->io->pwrite(c->io, out, buf, (size_t)got, pos - from)) < 0) {
            rc = evl_repair_io_code((int)w);
            goto done;
        }
        pos += (uint64_t)got;
    }
    /* the copy is durable before the original bytes go */
    if ((rc = c->io->fsync(c->io, out)) < 0 || (rc = c->io->sync_dir(c->io, c->dirfd)) < 0)
        rc = evl_repair_io_code(rc);
done:
    if (in >= 0)
        c->io->close(c->io, in);
    if (out >= 0)
        c->io->close(c->io, out);
    free(buf);
    return rc;
}

/* Keep the non-zero bytes of `g` from `pos` on in a .broken file; *kept
 * gets its name ("" when there was nothing to keep). In a dry run only the
 * name is chosen. */
static int keep_tail(evl_rctx *c, const evl_rseg *g, uint64_t pos, char *kept, size_t cap)
{
    uint64_t end = pos;
    int fd, rc;
    kept[0] = '\0';
    if ((fd = c->io->open(c->io, c->dirfd, g->name, EVL_O_RDONLY)) < 0)
        return evl_repair_io_code(fd);
    rc = end_nonzero(c, fd, pos, g->size, &end);
    c->io->close(c->io, fd);
    if (rc || end <= pos)
        return rc;
    broken_name(c, kept, cap, g->name, pos);
    if (c->flags & EVLOG_REPAIR_DRY_RUN)
        return 0;
    return keep_bytes(c, g->name, pos, end, kept);
}

/*-******************* what the batches determine *******************/
/* Write the index of `g` from its batches below `end`, through NNN.index.tmp
 * renamed over the old one, so that a crash leaves one or the other. */
static int write_index(evl_rctx *c, const evl_rseg *g, uint64_t end)
{
    char name[EVL_NAME_MAX], tmp[EVL_NAME_MAX + 8];
    uint32_t interval = c->interval ? c->interval : EVLOG_DEFAULT_INDEX_INTERVAL;
    uint64_t last = EVL_SEG_HEADER_SIZE, n = 0;
    evl_index_header h;
    uint8_t *buf, *e;
    size_t i;
    long w;
    int fd, rc = 0;

    if (!(buf = malloc(EVL_INDEX_HEADER_SIZE + (g->nb + 1) * EVL_INDEX_ENTRY_SIZE)))
        return EVLOG_ENOMEM;
    /* the rule of the library: an entry for the first batch at least
     * `interval` bytes after the previous entry's (or the header) */
    for (i = 0; i < g->nb && g->b[i].pos < end; i++)
        if (g->b[i].pos - last >= interval) {
            e = buf + EVL_INDEX_HEADER_SIZE + n * EVL_INDEX_ENTRY_SIZE;
            evl_st64(e, g->b[i].base);
            evl_st64(e + 8, g->b[i].pos);
            last = g->b[i].pos;
            n++;
        }
    h.interval = interval;
    h.base_offset = g->base;
    h.count = n;
    h.covered_end = end;
    h.entries_checksum = evl_hash(buf + EVL_INDEX_HEADER_SIZE, (size_t)(n * EVL_INDEX_ENTRY_SIZE),
                                  EVL_SEED_INDEX);
    evl_index_header_encode(buf, &h);
    evl_name(name, g->base, EVL_INDEX_SUFFIX);
    evl_name(tmp, g->base, EVL_INDEX_SUFFIX ".tmp");
    if ((fd = c->io->open(c->io, c->dirfd, tmp, EVL_O_RDWR | EVL_O_CREAT)) < 0) {
        rc = evl_repair_io_code(fd);
    } else {
        if ((rc = c->io->truncate(c->io, fd, 0)) == 0 &&
            (w = c->io->pwrite(c->io, fd, buf, EVL_INDEX_HEADER_SIZE + n * EVL_INDEX_ENTRY_SIZE,
                               0)) < 0)
            rc = (int)w;
        c->io->close(c->io, fd);
        if (rc == 0)
            rc = c->io->rename(c->io, c->dirfd, tmp, name);
        if (rc < 0) {
            c->io->unlink(c->io, c->dirfd, tmp);
            rc = evl_repair_io_code(rc);
        }
    }
    free(buf);
    return rc;
}

/* The footer of `g` for its batches below `end`. */
static void make_footer(const evl_rseg *g, uint64_t end, evl_footer *f)
{
    size_t i;
    memset(f, 0, sizeof *f);
    f->base_offset = g->base;
    f->next_offset = g->base;
    f->data_end = end;
    for (i = 0; i < g->nb && g->b[i].pos < end; i++) {
        if (f->batches == 0 || g->b[i].first_ts < f->min_ts)
            f->min_ts = g->b[i].first_ts;
        if (f->batches == 0 || g->b[i].max_ts > f->max_ts)
            f->max_ts = g->b[i].max_ts;
        f->batches++;
        f->next_offset = g->b[i].next;
    }
    /* as the library writes it: every offset of the range is a record */
    f->records = f->next_offset - f->base_offset;
}

/* Seal `g` at `end`: its footer there, the file cut after it, synced. */
static int seal_at(evl_rctx *c, const evl_rseg *g, uint64_t end)
{
    uint8_t buf[EVL_FOOTER_SIZE];
    evl_footer f;
    make_footer(g, end, &f);
    evl_footer_encode(buf, &f);
    return write_synced(c, g->name, 0, buf, sizeof buf, end, end + EVL_FOOTER_SIZE);
}

/* Zero `g` from `pos` to its end, keeping its size (as recovery does). */
static int zero_from(evl_rctx *c, const evl_rseg *g, uint64_t pos)
{
    int fd, rc;
    if ((fd = c->io->open(c->io, c->dirfd, g->name, EVL_O_RDWR)) < 0)
        return evl_repair_io_code(fd);
    if ((rc = c->io->zero(c->io, fd, pos, g->size - pos)) == 0)
        rc = c->io->fsync(c->io, fd);
    c->io->close(c->io, fd);
    return rc < 0 ? evl_repair_io_code(rc) : 0;
}

/* Write a new header for `g`, whose batches are whole, keeping the old one. */
static int write_header(evl_rctx *c, const evl_rseg *g)
{
    char kept[BROKEN_NAME_MAX];
    uint8_t buf[EVL_SEG_HEADER_SIZE];
    evl_seg_header h;
    int rc;
    broken_name(c, kept, sizeof kept, g->name, 0);
    if (!evl_repair_act(c, EVLOG_ACT_WRITE_HEADER, g->name, 0, EVL_SEG_HEADER_SIZE, kept, 0, 0,
                        "invalid segment header; the batches after it are whole: rewritten"))
        return 0;
    if ((rc = keep_bytes(c, g->name, 0, EVL_SEG_HEADER_SIZE, kept)) != 0)
        return rc;
    h.version = EVL_FORMAT_VERSION;
    h.base_offset = g->base;
    h.capacity = g->size; /* the size it has; an active segment grows as it needs */
    h.created = 0;        /* unknown; informational */
    evl_seg_header_encode(buf, &h);
    return write_synced(c, g->name, 0, buf, sizeof buf, 0, EVLOG_NO_OFFSET);
}

/*-******************* the actions of the plan *******************/
int evl_repair_remove_file(evl_rctx *c, const char *name)
{
    int rc;
    if (evl_repair_act(c, EVLOG_ACT_REMOVE_FILE, name, 0, 0, NULL, 0, 0,
                       strcmp(name, EVL_SIDE_NAME) == 0
                           ? "a stale truncate.pending: its truncation is finished"
                           : "a leftover temporary file or an index without its segment") &&
        (rc = c->io->unlink(c->io, c->dirfd, name)) < 0 && rc != -ENOENT)
        return evl_repair_io_code(rc);
    return 0;
}

int evl_repair_remove_unfinished(evl_rctx *c, const evl_rseg *g)
{
    char idx[EVL_NAME_MAX];
    int rc;
    if (!evl_repair_act(c, EVLOG_ACT_REMOVE_FILE, g->name, 0, g->size, NULL, 0, 0,
                        "an all-zero segment whose creation never completed"))
        return 0;
    if ((rc = c->io->unlink(c->io, c->dirfd, g->name)) < 0)
        return evl_repair_io_code(rc);
    /* an index of an empty segment holds nothing: a failure is harmless */
    evl_name(idx, g->base, EVL_INDEX_SUFFIX);
    (void)c->io->unlink(c->io, c->dirfd, idx);
    return 0;
}

int evl_repair_fix_segment(evl_rctx *c, evl_rseg *g)
{
    char kept[BROKEN_NAME_MAX];
    int rc;
    if (g->header_bad && (rc = write_header(c, g)) != 0)
        return rc;
    if (g->seal_unfinished && !g->footer_bad) {
        /* the footer after the last batch is the one the batches determine
         * (the scan compared them): finish the seal as a writer's open
         * does, cutting the file after it; anything but zeros past it is
         * kept */
        if ((rc = keep_tail(c, g, g->data_end + EVL_FOOTER_SIZE, kept, sizeof kept)) != 0)
            return rc;
        if (evl_repair_act(c, EVLOG_ACT_WRITE_FOOTER, g->name, g->data_end, g->size - g->data_end,
                           kept[0] ? kept : NULL, 0, 0,
                           "seal not finished (the file was not cut after its footer): "
                           "footer written again, the file cut after it") &&
            (rc = seal_at(c, g, g->data_end)) != 0)
            return rc;
        g->sealed = 1;
    }
    if (g->footer_bad) {
        /* the batches are whole: the footer they determine is written again */
        if ((rc = keep_tail(c, g, g->data_end, kept, sizeof kept)) != 0)
            return rc;
        if (evl_repair_act(c, EVLOG_ACT_WRITE_FOOTER, g->name, g->data_end, g->size - g->data_end,
                           kept[0] ? kept : NULL, 0, 0,
                           "footer missing, invalid or wrong; rewritten from the batches") &&
            (rc = seal_at(c, g, g->data_end)) != 0)
            return rc;
        g->sealed = 1;
        g->index_bad = 1;
    }
    if (g->index_bad && evl_repair_act(c, EVLOG_ACT_WRITE_INDEX, g->name, 0, 0, NULL, 0, 0,
                                       "index invalid or missing; rebuilt from the segment"))
        return write_index(c, g, g->data_end);
    return 0;
}

int evl_repair_zero_torn_tail(evl_rctx *c, evl_rseg *g)
{
    char kept[BROKEN_NAME_MAX];
    int rc;
    if ((rc = keep_tail(c, g, g->torn_pos, kept, sizeof kept)) != 0)
        return rc;
    if (evl_repair_act(c, EVLOG_ACT_ZERO_TAIL, g->name, g->torn_pos, g->size - g->torn_pos,
                       kept[0] ? kept : NULL, 0, 0, "a torn tail: bytes never made durable") &&
        (rc = zero_from(c, g, g->torn_pos)) != 0)
        return rc;
    g->data_end = g->torn_pos;
    if (evl_repair_act(c, EVLOG_ACT_WRITE_INDEX, g->name, 0, 0, NULL, 0, 0,
                       "index of the segment whose tail was cut") &&
        (rc = write_index(c, g, g->data_end)) != 0)
        return rc;
    return 0;
}

int evl_repair_move_out(evl_rctx *c, const evl_rseg *g, const char *why)
{
    char broken[BROKEN_NAME_MAX], idx[EVL_NAME_MAX];
    int rc;
    broken_name(c, broken, sizeof broken, g->name, 0);
    if (!evl_repair_act(c, EVLOG_ACT_MOVE_SEGMENT, g->name, 0, g->size, broken, g->base,
                        evl_repair_seg_end(g), why))
        return 0;
    if ((rc = c->io->rename(c->io, c->dirfd, g->name, broken)) < 0)
        return evl_repair_io_code(rc);
    evl_name(idx, g->base, EVL_INDEX_SUFFIX);
    rc = c->io->unlink(c->io, c->dirfd, idx);
    return rc < 0 && rc != -ENOENT ? evl_repair_io_code(rc) : 0;
}

int evl_repair_cut(evl_rctx *c, size_t k, uint64_t lost_end)
{
    evl_rseg *g = &c->segs[k];
    char kept[BROKEN_NAME_MAX];
    uint64_t pos = g->damage_pos, from = evl_repair_offset_at(g, pos);
    int active = g->last && !g->sealed, rc;
    if ((rc = keep_tail(c, g, pos, kept, sizeof kept)) != 0)
        return rc;
    if (!evl_repair_act(c, EVLOG_ACT_CUT, g->name, pos, g->size - pos, kept[0] ? kept : NULL,
                        from, lost_end,
                        active ? "damage in the active segment: zeroed from it on"
                               : "damage in a sealed segment: sealed just before it"))
        return 0;
    if ((rc = active ? zero_from(c, g, pos) : seal_at(c, g, pos)) != 0)
        return rc;
    g->data_end = pos;
    g->next_offset = from;
    g->last = 1;
    g->sealed = !active;
    if (!evl_repair_act(c, EVLOG_ACT_WRITE_INDEX, g->name, 0, 0, NULL, 0, 0,
                        "index of the cut segment"))
        return 0;
    return write_index(c, g, pos);
}

/* Whether truncate.pending is there. */
static int side_exists(evl_rctx *c)
{
    int fd = c->io->open(c->io, c->dirfd, EVL_SIDE_NAME, EVL_O_RDONLY);
    if (fd < 0)
        return 0;
    c->io->close(c->io, fd);
    return 1;
}

int evl_repair_write_checkpoint(evl_rctx *c, size_t nsegs, const char *why)
{
    uint8_t buf[EVL_CKPT_SLOT_SIZE];
    evl_ckpt ck;
    uint64_t end;
    int fd, rc, k;
    const evl_rseg *last = nsegs ? &c->segs[nsegs - 1] : NULL;

    end = last ? last->next_offset : c->n ? c->segs[0].base : c->log.start_offset;
    memset(&ck, 0, sizeof ck);
    ck.seq = c->log.checkpoint ? c->log.checkpoint_seq + 1 : 1;
    ck.start_offset = c->log.start_offset < end ? c->log.start_offset : end;
    if (c->start_gap && c->n)
        ck.start_offset = c->segs[0].base;
    /* every segment left was synced by the repair or before it */
    ck.durable_offset = end;
    ck.durable_segment = last ? last->base : end;
    ck.durable_pos = last ? last->data_end : EVL_SEG_HEADER_SIZE;
    ck.truncate_to = c->log.pending_truncate != EVLOG_NO_OFFSET && c->log.pending_truncate < end
                         ? c->log.pending_truncate : EVL_NO_TRUNCATE;
    if (!evl_repair_act(c, EVLOG_ACT_WRITE_CHECKPOINT, EVL_CKPT_NAME,
                        (ck.seq % 2) * EVL_CKPT_SLOT_SIZE, EVL_CKPT_SLOT_SIZE, NULL, 0, 0, why))
        return 0;
    if (last && last->last && !last->sealed) {
        /* the durable point now claims the whole active segment: sync it */
        if ((fd = c->io->open(c->io, c->dirfd, last->name, EVL_O_RDWR)) < 0)
            return evl_repair_io_code(fd);
        rc = c->io->fsync(c->io, fd);
        c->io->close(c->io, fd);
        if (rc < 0)
            return evl_repair_io_code(rc);
    }
    for (k = 0;; k++) {
        evl_ckpt_encode(buf, &ck);
        if ((rc = write_synced(c, EVL_CKPT_NAME, 1, buf, sizeof buf,
                               (ck.seq % 2) * EVL_CKPT_SLOT_SIZE, EVLOG_NO_OFFSET)) != 0)
            return rc;
        /* the truncation in progress ended with the log's new end: its
         * truncate.pending is stale now, and goes as a writer's open would
         * remove it */
        if (k == 0 && c->log.pending_truncate != EVLOG_NO_OFFSET &&
            ck.truncate_to == EVL_NO_TRUNCATE && side_exists(c) &&
            (rc = evl_repair_remove_file(c, EVL_SIDE_NAME)) != 0)
            return rc;
        /* the other slot held no valid checkpoint either: the same, once more */
        if (k > 0 || !(c->slot_bad & (1u << ((ck.seq + 1) % 2))))
            return 0;
        ck.seq++;
        if (!evl_repair_act(c, EVLOG_ACT_WRITE_CHECKPOINT, EVL_CKPT_NAME,
                            (ck.seq % 2) * EVL_CKPT_SLOT_SIZE, EVL_CKPT_SLOT_SIZE, NULL, 0, 0,
                            "the other checkpoint slot is damaged too: written again"))
            return 0;
    }
}
