/*
 * repair.c - evlog_repair: make a log that will not open openable again
 * (include/evlog.h, "Repair"). It is built on evlog_scan: a scan collects
 * the segments, their batches and the problems; a plan is made from them;
 * each action is reported, then done through the I/O table, under the
 * writer lock. Fixes that lose nothing (a torn tail, which recovery would
 * cut anyway; an index; a footer the batches fully determine; leftovers)
 * are always made. Damage is cut out only with EVLOG_REPAIR_QUARANTINE,
 * and then every byte removed is first copied into a .broken file beside
 * its segment and synced, so that nothing is destroyed.
 */
#include "format.h"
#include "os.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A valid batch found by the scan. */
typedef struct rbatch {
    uint64_t pos, base, next;
    int64_t first_ts, max_ts;
} rbatch;

typedef struct rseg {
    char name[EVL_NAME_MAX];
    uint64_t base, size, data_end, next_offset;
    int sealed, last;
    rbatch *b;
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
} rseg;

typedef struct rctx {
    const struct evlog_io *io;
    int dirfd;
    unsigned flags;
    evlog_repair_cb cb;
    void *payload;
    evlog_repair_result *res;
    rseg *segs;
    size_t n, cap;
    char **remove;          /* leftovers and orphan indexes */
    size_t nremove;
    evlog_scan_log log;
    uint32_t interval;
    int fatal;              /* EVLOG_ENOTLOG, EVLOG_EIO, EVLOG_ENOMEM from the scan */
    int first_gap;          /* a GAP was reported for the segment to come */
    int start_gap;          /* the first segment starts after the start offset */
    int ckpt_bad;           /* the checkpoint disagrees with the segments */
} rctx;

static rseg *find_seg(rctx *c, const char *name)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        if (!strcmp(c->segs[i].name, name))
            return &c->segs[i];
    return NULL;
}

static int add_remove(rctx *c, const char *name)
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
static void note_problem(rctx *c, const evlog_scan_problem *p)
{
    rseg *g = find_seg(c, p->file);
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
        g->torn = 1;
        g->torn_pos = p->pos;
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

static int collect_cb(const evlog_scan_event *ev, void *payload)
{
    rctx *c = payload;
    rseg *g;
    switch (ev->kind) {
    case EVLOG_EV_SEGMENT:
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            rseg *n = realloc(c->segs, cap * sizeof *n);
            if (!n) {
                c->fatal = EVLOG_ENOMEM;
                return EVLOG_SCAN_STOP;
            }
            c->segs = n;
            c->cap = cap;
        }
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
        if (g->nb == g->cb) {
            size_t cap = g->cb ? 2 * g->cb : 64;
            rbatch *n = realloc(g->b, cap * sizeof *n);
            if (!n) {
                c->fatal = EVLOG_ENOMEM;
                return EVLOG_SCAN_STOP;
            }
            g->b = n;
            g->cb = cap;
        }
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
    case EVLOG_EV_END:
        c->log = *ev->log;
        break;
    }
    return 0;
}

/*-******************* actions *******************/
static int act(rctx *c, int kind, const char *file, uint64_t pos, uint64_t len, const char *broken,
               uint64_t first, uint64_t end, const char *reason)
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

static int io_code(int neg)
{
    return neg == -ENOSPC ? EVLOG_ENOSPC : neg == -ENOMEM ? EVLOG_ENOMEM : EVLOG_EIO;
}

/* One past the last non-zero byte of [from, to) of fd, or from. */
static int end_nonzero(rctx *c, int fd, uint64_t from, uint64_t to, uint64_t *out)
{
    uint8_t buf[65536];
    uint64_t pos = from;
    *out = from;
    while (pos < to) {
        size_t n = to - pos < sizeof buf ? (size_t)(to - pos) : sizeof buf, i;
        long got = c->io->pread(c->io, fd, buf, n, pos);
        if (got <= 0)
            return got < 0 ? io_code((int)got) : 0;
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
static void broken_name(rctx *c, char *out, size_t cap, const char *name, uint64_t pos)
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
static int keep_bytes(rctx *c, const char *name, uint64_t from, uint64_t to, const char *broken)
{
    uint8_t *buf = malloc(1u << 20);
    int in = -1, out = -1, rc = 0;
    uint64_t pos = from;
    if (!buf)
        return EVLOG_ENOMEM;
    if ((in = c->io->open(c->io, c->dirfd, name, EVL_O_RDONLY)) < 0 ||
        (out = c->io->open(c->io, c->dirfd, broken, EVL_O_RDWR | EVL_O_CREAT | EVL_O_EXCL)) < 0) {
        rc = io_code(in < 0 ? in : out);
        goto done;
    }
    while (pos < to) {
        size_t n = to - pos < (1u << 20) ? (size_t)(to - pos) : (1u << 20);
        long got = c->io->pread(c->io, in, buf, n, pos), w;
        if (got <= 0) {
            rc = got < 0 ? io_code((int)got) : EVLOG_EIO;
            goto done;
        }
        if ((w = c->io->pwrite(c->io, out, buf, (size_t)got, pos - from)) < 0) {
            rc = io_code((int)w);
            goto done;
        }
        pos += (uint64_t)got;
    }
    /* the copy is durable before the original bytes go */
    if ((rc = c->io->fsync(c->io, out)) < 0 || (rc = c->io->sync_dir(c->io, c->dirfd)) < 0)
        rc = io_code(rc);
done:
    if (in >= 0)
        c->io->close(c->io, in);
    if (out >= 0)
        c->io->close(c->io, out);
    free(buf);
    return rc;
}

/* Write the index of `g` from its batches below `end`, through NNN.index.tmp. */
static int write_index(rctx *c, const rseg *g, uint64_t end)
{
    char name[EVL_NAME_MAX], tmp[EVL_NAME_MAX + 8];
    uint32_t interval = c->interval ? c->interval : EVLOG_DEFAULT_INDEX_INTERVAL;
    uint64_t last = EVL_SEG_HEADER_SIZE, n = 0;
    evl_index_header h;
    uint8_t *buf;
    size_t i;
    long w;
    int fd, rc = 0;

    if (!(buf = malloc(EVL_INDEX_HEADER_SIZE + (g->nb + 1) * EVL_INDEX_ENTRY_SIZE)))
        return EVLOG_ENOMEM;
    /* the rule of the library: an entry for the first batch at least
     * `interval` bytes after the previous entry's (or the header) */
    for (i = 0; i < g->nb && g->b[i].pos < end; i++)
        if (g->b[i].pos - last >= interval) {
            evl_st64(buf + EVL_INDEX_HEADER_SIZE + n * 16, g->b[i].base);
            evl_st64(buf + EVL_INDEX_HEADER_SIZE + n * 16 + 8, g->b[i].pos);
            last = g->b[i].pos;
            n++;
        }
    h.interval = interval;
    h.base_offset = g->base;
    h.count = n;
    h.covered_end = end;
    h.entries_checksum = evl_hash(buf + EVL_INDEX_HEADER_SIZE, (size_t)(n * 16), EVL_SEED_INDEX);
    evl_index_header_encode(buf, &h);
    evl_name(name, g->base, EVL_INDEX_SUFFIX);
    evl_name(tmp, g->base, EVL_INDEX_SUFFIX ".tmp");
    if ((fd = c->io->open(c->io, c->dirfd, tmp, EVL_O_RDWR | EVL_O_CREAT)) < 0) {
        rc = io_code(fd);
    } else {
        if ((rc = c->io->truncate(c->io, fd, 0)) == 0 &&
            (w = c->io->pwrite(c->io, fd, buf, EVL_INDEX_HEADER_SIZE + n * 16, 0)) < 0)
            rc = (int)w;
        c->io->close(c->io, fd);
        if (rc == 0)
            rc = c->io->rename(c->io, c->dirfd, tmp, name);
        if (rc < 0) {
            c->io->unlink(c->io, c->dirfd, tmp);
            rc = io_code(rc);
        }
    }
    free(buf);
    return rc;
}

/* The footer of `g` for its batches below `end`. */
static void make_footer(const rseg *g, uint64_t end, evl_footer *f)
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
static int seal_at(rctx *c, const rseg *g, uint64_t end)
{
    uint8_t buf[EVL_FOOTER_SIZE];
    evl_footer f;
    long w;
    int fd, rc;
    make_footer(g, end, &f);
    evl_footer_encode(buf, &f);
    if ((fd = c->io->open(c->io, c->dirfd, g->name, EVL_O_RDWR)) < 0)
        return io_code(fd);
    if ((w = c->io->pwrite(c->io, fd, buf, sizeof buf, end)) < 0)
        rc = (int)w;
    else if ((rc = c->io->truncate(c->io, fd, end + EVL_FOOTER_SIZE)) == 0)
        rc = c->io->fsync(c->io, fd);
    c->io->close(c->io, fd);
    return rc < 0 ? io_code(rc) : 0;
}

/* Zero `g` from `pos` to its end, keeping its size (as recovery does). */
static int zero_from(rctx *c, const rseg *g, uint64_t pos)
{
    int fd, rc;
    if ((fd = c->io->open(c->io, c->dirfd, g->name, EVL_O_RDWR)) < 0)
        return io_code(fd);
    if ((rc = c->io->zero(c->io, fd, pos, g->size - pos)) == 0)
        rc = c->io->fsync(c->io, fd);
    c->io->close(c->io, fd);
    return rc < 0 ? io_code(rc) : 0;
}

/*-******************* the plan *******************/
/* The offset after the batches of `g` below `pos`. */
static uint64_t offset_at(const rseg *g, uint64_t pos)
{
    uint64_t next = g->base;
    size_t i;
    for (i = 0; i < g->nb && g->b[i].pos < pos; i++)
        next = g->b[i].next;
    return next;
}

static uint64_t seg_end(const rseg *g)
{
    uint64_t e = g->next_offset > g->damage_end ? g->next_offset : g->damage_end;
    if (g->nb && g->b[g->nb - 1].next > e)
        e = g->b[g->nb - 1].next;
    return e;
}

/* Move segment `g` whole into a .broken file, with its index gone. */
static int move_out(rctx *c, const rseg *g, const char *why)
{
    char broken[EVL_NAME_MAX + 48], idx[EVL_NAME_MAX];
    int rc;
    broken_name(c, broken, sizeof broken, g->name, 0);
    if (!act(c, EVLOG_ACT_MOVE_SEGMENT, g->name, 0, g->size, broken, g->base, seg_end(g), why))
        return 0;
    if ((rc = c->io->rename(c->io, c->dirfd, g->name, broken)) < 0)
        return io_code(rc);
    evl_name(idx, g->base, EVL_INDEX_SUFFIX);
    rc = c->io->unlink(c->io, c->dirfd, idx);
    return rc < 0 && rc != -ENOENT ? io_code(rc) : 0;
}

/* Keep the non-zero bytes of `g` from `pos` on in a .broken file; *kept
 * gets its name ("" when there was nothing to keep). */
static int keep_tail(rctx *c, const rseg *g, uint64_t pos, char *kept, size_t cap)
{
    uint64_t end = pos;
    int fd, rc;
    kept[0] = '\0';
    if ((fd = c->io->open(c->io, c->dirfd, g->name, EVL_O_RDONLY)) < 0)
        return io_code(fd);
    rc = end_nonzero(c, fd, pos, g->size, &end);
    c->io->close(c->io, fd);
    if (rc || end <= pos)
        return rc;
    broken_name(c, kept, cap, g->name, pos);
    if (c->flags & EVLOG_REPAIR_DRY_RUN)
        return 0;
    return keep_bytes(c, g->name, pos, end, kept);
}

/* Cut segment k at its first damage: keep the bytes from there on, then
 * seal it there (or zero them when it is the active segment). */
static int cut(rctx *c, size_t k, uint64_t lost_end)
{
    rseg *g = &c->segs[k];
    char kept[EVL_NAME_MAX + 48];
    uint64_t pos = g->damage_pos, from = offset_at(g, pos);
    int active = g->last && !g->sealed, rc;
    if ((rc = keep_tail(c, g, pos, kept, sizeof kept)) != 0)
        return rc;
    if (!act(c, EVLOG_ACT_CUT, g->name, pos, g->size - pos, kept[0] ? kept : NULL, from, lost_end,
             active ? "damage in the active segment: zeroed from it on"
                    : "damage in a sealed segment: sealed just before it"))
        return 0;
    if ((rc = active ? zero_from(c, g, pos) : seal_at(c, g, pos)) != 0)
        return rc;
    g->data_end = pos;
    g->next_offset = from;
    g->last = 1;
    g->sealed = !active;
    if (!act(c, EVLOG_ACT_WRITE_INDEX, g->name, 0, 0, NULL, 0, 0, "index of the cut segment"))
        return 0;
    return write_index(c, g, pos);
}

/* Rewrite the checkpoint to name the end of the log as it now is, synced. */
static int write_checkpoint(rctx *c, size_t nsegs, const char *why)
{
    uint8_t buf[EVL_CKPT_SLOT_SIZE];
    evl_ckpt ck;
    uint64_t end;
    long w;
    int fd, rc;
    const rseg *last = nsegs ? &c->segs[nsegs - 1] : NULL;

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
    if (!act(c, EVLOG_ACT_WRITE_CHECKPOINT, EVL_CKPT_NAME, (ck.seq % 2) * EVL_CKPT_SLOT_SIZE,
             EVL_CKPT_SLOT_SIZE, NULL, 0, 0, why))
        return 0;
    if (last && last->last && !last->sealed) {
        /* the durable point now claims the whole active segment: sync it */
        if ((fd = c->io->open(c->io, c->dirfd, last->name, EVL_O_RDWR)) < 0)
            return io_code(fd);
        rc = c->io->fsync(c->io, fd);
        c->io->close(c->io, fd);
        if (rc < 0)
            return io_code(rc);
    }
    evl_ckpt_encode(buf, &ck);
    if ((fd = c->io->open(c->io, c->dirfd, EVL_CKPT_NAME, EVL_O_RDWR | EVL_O_CREAT)) < 0)
        return io_code(fd);
    if ((w = c->io->pwrite(c->io, fd, buf, sizeof buf, (ck.seq % 2) * EVL_CKPT_SLOT_SIZE)) < 0)
        rc = (int)w;
    else
        rc = c->io->fsync(c->io, fd);
    c->io->close(c->io, fd);
    return rc < 0 ? io_code(rc) : 0;
}

/* Write a new header for `g`, whose batches are whole, keeping the old one. */
static int write_header(rctx *c, const rseg *g)
{
    char kept[EVL_NAME_MAX + 48];
    uint8_t buf[EVL_SEG_HEADER_SIZE];
    evl_seg_header h;
    long w;
    int fd, rc;
    broken_name(c, kept, sizeof kept, g->name, 0);
    if (!act(c, EVLOG_ACT_WRITE_HEADER, g->name, 0, EVL_SEG_HEADER_SIZE, kept, 0, 0,
             "invalid segment header; the batches after it are whole: rewritten"))
        return 0;
    if ((rc = keep_bytes(c, g->name, 0, EVL_SEG_HEADER_SIZE, kept)) != 0)
        return rc;
    h.version = EVL_FORMAT_VERSION;
    h.base_offset = g->base;
    h.capacity = g->size; /* the size it has; an active segment grows as it needs */
    h.created = 0;        /* unknown; informational */
    evl_seg_header_encode(buf, &h);
    if ((fd = c->io->open(c->io, c->dirfd, g->name, EVL_O_RDWR)) < 0)
        return io_code(fd);
    rc = (w = c->io->pwrite(c->io, fd, buf, sizeof buf, 0)) < 0 ? (int)w : c->io->fsync(c->io, fd);
    c->io->close(c->io, fd);
    return rc < 0 ? io_code(rc) : 0;
}

static int fix_segment(rctx *c, rseg *g)
{
    char kept[EVL_NAME_MAX + 48];
    int rc;
    if (g->header_bad && (rc = write_header(c, g)) != 0)
        return rc;
    if (g->footer_bad) {
        /* the batches are whole: the footer they determine is written again */
        if ((rc = keep_tail(c, g, g->data_end, kept, sizeof kept)) != 0)
            return rc;
        if (act(c, EVLOG_ACT_WRITE_FOOTER, g->name, g->data_end, g->size - g->data_end,
                kept[0] ? kept : NULL, 0, 0, "footer missing, invalid or wrong; rewritten from the batches") &&
            (rc = seal_at(c, g, g->data_end)) != 0)
            return rc;
        g->sealed = 1;
        g->index_bad = 1;
    }
    if (g->index_bad && act(c, EVLOG_ACT_WRITE_INDEX, g->name, 0, 0, NULL, 0, 0,
                            "index invalid or missing; rebuilt from the segment"))
        return write_index(c, g, g->data_end);
    return 0;
}

static int plan(rctx *c)
{
    size_t i, k, nsegs = c->n;
    uint64_t lost_end = 0;
    int rc, changed = 0;

    for (i = 0; i < c->nremove; i++)
        if (act(c, EVLOG_ACT_REMOVE_FILE, c->remove[i], 0, 0, NULL, 0, 0,
                "a leftover temporary file or an index without its segment") &&
            (rc = c->io->unlink(c->io, c->dirfd, c->remove[i])) < 0 && rc != -ENOENT)
            return io_code(rc);
    for (i = 0; i < c->n; i++) {
        /* a header is rewritten when the batches after it are whole; else
         * the segment is damaged from its start */
        rseg *g = &c->segs[i];
        if (g->header_bad && !(g->nb && g->b[0].pos == EVL_SEG_HEADER_SIZE && !g->damaged)) {
            g->damaged = 1;
            g->damage_pos = 0;
            g->damage_why = "invalid segment header";
        }
    }
    for (k = 0; k < c->n && !c->segs[k].damaged; k++)
        ;
    for (i = 0; i < k; i++) {
        rseg *g = &c->segs[i];
        if (g->unfinished) {
            char idx[EVL_NAME_MAX];
            nsegs = i;
            changed = 1;
            if (act(c, EVLOG_ACT_REMOVE_FILE, g->name, 0, g->size, NULL, 0, 0,
                    "an all-zero segment whose creation never completed")) {
                if ((rc = c->io->unlink(c->io, c->dirfd, g->name)) < 0)
                    return io_code(rc);
                evl_name(idx, g->base, EVL_INDEX_SUFFIX);
                (void)c->io->unlink(c->io, c->dirfd, idx);
            }
            continue;
        }
        if ((rc = fix_segment(c, g)) != 0)
            return rc;
        if (g->torn && g->last) {
            char kept[EVL_NAME_MAX + 48];
            if ((rc = keep_tail(c, g, g->torn_pos, kept, sizeof kept)) != 0)
                return rc;
            if (act(c, EVLOG_ACT_ZERO_TAIL, g->name, g->torn_pos, g->size - g->torn_pos,
                    kept[0] ? kept : NULL, 0, 0, "a torn tail: bytes never made durable") &&
                (rc = zero_from(c, g, g->torn_pos)) != 0)
                return rc;
            g->data_end = g->torn_pos;
            changed = 1;
            if (act(c, EVLOG_ACT_WRITE_INDEX, g->name, 0, 0, NULL, 0, 0,
                    "index of the segment whose tail was cut") &&
                (rc = write_index(c, g, g->data_end)) != 0)
                return rc;
        }
    }
    if (k < c->n) {
        if (!(c->flags & EVLOG_REPAIR_QUARANTINE)) {
            for (i = k; i < c->n; i++)
                if (c->segs[i].damaged)
                    act(c, EVLOG_ACT_UNREPAIRED, c->segs[i].name, c->segs[i].damage_pos, 0, NULL,
                        offset_at(&c->segs[i], c->segs[i].damage_pos), seg_end(&c->segs[i]),
                        c->segs[i].damage_why);
            return EVLOG_ECORRUPT;
        }
        for (i = k; i < c->n; i++)
            if (seg_end(&c->segs[i]) > lost_end)
                lost_end = seg_end(&c->segs[i]);
        /* the later segments first, so that a crash half-way leaves a log
         * whose segments still follow one another */
        for (i = c->n; i > k + 1; i--)
            if ((rc = move_out(c, &c->segs[i - 1], "a segment after damage: moved out")) != 0)
                return rc;
        if (c->segs[k].damage_pos < EVL_SEG_HEADER_SIZE) {
            if ((rc = move_out(c, &c->segs[k], c->segs[k].damage_why)) != 0)
                return rc;
            nsegs = k;
            if (k > 0)
                c->segs[k - 1].last = 1;
        } else {
            if ((rc = cut(c, k, lost_end)) != 0)
                return rc;
            nsegs = k + 1;
        }
        changed = 1;
    }
    if (changed || c->ckpt_bad || c->start_gap)
        if ((rc = write_checkpoint(c, nsegs, "the checkpoint must name the log's new end")) != 0)
            return rc;
    if (!(c->flags & EVLOG_REPAIR_DRY_RUN) && (rc = c->io->sync_dir(c->io, c->dirfd)) < 0)
        return io_code(rc);
    return 0;
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
    rctx c;
    int lockfd = -1, rc;
    size_t i;
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
    for (i = 0; i < c.n; i++)
        free(c.segs[i].b);
    free(c.segs);
    for (i = 0; i < c.nremove; i++)
        free(c.remove[i]);
    free(c.remove);
    return rc;
}
