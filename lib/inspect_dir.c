/*
 * inspect_dir.c - the directory walk of evlog_scan (inspect.h): list the
 * directory and sort its files into segments, indexes and others; read the
 * checkpoint; report the other files and the problems that concern the
 * directory as a whole (leftovers, orphan indexes, no log at all); scan the
 * segments in offset order, checking that each follows the previous one;
 * last, check the checkpoint against what the segments hold. A path that
 * is a file is scanned alone, judged in the context of its directory.
 *
 * The judgments are recovery's (lib/recover.c, docs/format.md "Recovery
 * rules"): what a crash can leave and the next open mends without losing
 * a durable record (a torn tail, an unfinished seal, a torn checkpoint
 * slot, a stale index, truncate.pending) is a warning; an error is what
 * makes records unreadable or the log fail to open.
 */
#include "inspect.h"

#include <errno.h>
#include <stdlib.h>

/* The listing's callback: sorts each name into s->segs, s->idx or
 * s->others. Returns EVLOG_ENOMEM, which stops the listing, or 0. */
static int classify(const char *name, void *payload)
{
    evl_scan *s = payload;
    uint64_t base;
    size_t len = strlen(name);
    void *grown;
    if (evl_parse_name(name, EVL_SEG_SUFFIX, &base)) {
        if (!(grown = evl_grow(s->segs, s->nsegs, &s->segcap, sizeof *s->segs, 16)))
            return EVLOG_ENOMEM;
        s->segs = grown;
        memcpy(s->segs[s->nsegs].name, name, len + 1);
        s->segs[s->nsegs++].base = base;
    } else if (evl_parse_name(name, EVL_INDEX_SUFFIX, &base)) {
        if (!(grown = evl_grow(s->idx, s->nidx, &s->idxcap, sizeof *s->idx, 16)))
            return EVLOG_ENOMEM;
        s->idx = grown;
        s->idx[s->nidx++] = base;
    } else {
        evl_scan_other o;
        if (!(grown = evl_grow(s->others, s->nothers, &s->othcap, sizeof *s->others, 8)))
            return EVLOG_ENOMEM;
        s->others = grown;
        if (!(o.name = malloc(len + 1)))
            return EVLOG_ENOMEM;
        memcpy(o.name, name, len + 1);
        o.kind = strcmp(name, EVL_CKPT_NAME) == 0              ? EVLOG_FILE_CHECKPOINT
                 : strcmp(name, EVL_LOCK_NAME) == 0            ? EVLOG_FILE_LOCK
                 : strcmp(name, EVL_SIDE_NAME) == 0            ? EVLOG_FILE_TRUNCATE_PENDING
                 : strcmp(name, EVL_SPARE_NAME) == 0           ? EVLOG_FILE_SPARE
                 : len > 4 && !strcmp(name + len - 4, ".tmp")  ? EVLOG_FILE_TMP
                 : len > 7 && !strcmp(name + len - 7, ".broken") ? EVLOG_FILE_BROKEN
                                                               : EVLOG_FILE_UNKNOWN;
        s->others[s->nothers++] = o;
    }
    return 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const evl_scan_ent *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

static int cmp_other(const void *a, const void *b)
{
    return strcmp(((const evl_scan_other *)a)->name, ((const evl_scan_other *)b)->name);
}

/* The state of a checkpoint slot (read_checkpoint). */
enum {
    SLOT_EMPTY,      /* all zeros, or past the end of the file: never written */
    SLOT_VALID,
    SLOT_SHORT,      /* the file ends inside it, after non-zero bytes */
    SLOT_MAGIC,      /* not zero, and no checkpoint magic */
    SLOT_CHECKSUM,   /* the magic, and a checksum that does not match */
    SLOT_FIELDS,     /* the checksum matches, the version or slot size does not */
    SLOT_STATES_
};

/* The state of the `avail` bytes of slot `p` (at most a slot's). */
static int slot_state(const uint8_t *p, size_t avail, evl_ckpt *c)
{
    size_t i;
    for (i = 0; i < avail && !p[i]; i++)
        ;
    if (i == avail)
        return SLOT_EMPTY;
    if (avail < EVL_CKPT_SLOT_SIZE)
        return SLOT_SHORT;
    switch (evl_ckpt_decode(c, p)) {
    case EVL_OK: return SLOT_VALID;
    case EVL_BAD_CHECKSUM: return SLOT_CHECKSUM;
    default: return memcmp(p, EVL_CKPT_MAGIC, 8) == 0 ? SLOT_FIELDS : SLOT_MAGIC;
    }
}

/* Read the checkpoint: the valid slot with the higher seq, as the library
 * takes it; slot[k] gets the state of slot k. Returns 1 when one was found,
 * 0 when there is no checkpoint file, -1 when the file has no valid slot. */
static int read_checkpoint(evl_scan *s, evl_ckpt *out, uint64_t *size, int slot[2])
{
    uint8_t buf[2 * EVL_CKPT_SLOT_SIZE];
    evl_ckpt c;
    int fd, found = 0, k;
    long got;
    *size = 0;
    slot[0] = slot[1] = SLOT_EMPTY;
    if ((fd = s->io->open(s->io, s->dirfd, EVL_CKPT_NAME, EVL_O_RDONLY)) < 0)
        return fd == -ENOENT ? 0 : -1;
    got = s->io->pread(s->io, fd, buf, sizeof buf, 0);
    s->io->size(s->io, fd, size);
    s->io->close(s->io, fd);
    for (k = 0; k < 2 && got > 0; k++) {
        size_t at = (size_t)k * EVL_CKPT_SLOT_SIZE, avail;
        if ((size_t)got <= at)
            break;
        avail = (size_t)got - at < EVL_CKPT_SLOT_SIZE ? (size_t)got - at : EVL_CKPT_SLOT_SIZE;
        slot[k] = slot_state(buf + at, avail, &c);
        if (slot[k] == SLOT_VALID && (!found || c.seq > out->seq)) {
            *out = c;
            found = 1;
        }
    }
    return found ? 1 : -1;
}

/* Report the damaged slots of the checkpoint (`slot`, from read_checkpoint):
 * a warning while the other slot is valid (it is a lower bound of what is
 * durable; a torn write of a slot is what a power loss during a checkpoint
 * write leaves), an error when no valid slot remains. An all-zero slot was
 * never written and is no problem. The bytes shown are the slot's. */
static void checkpoint_slots(evl_scan *s, const int slot[2], uint64_t size)
{
    static const char *const with_other[SLOT_STATES_] = {
        NULL, NULL,
        "checkpoint slot cut short by the end of the file; the other slot is used",
        "checkpoint slot damaged (no checkpoint magic); the other slot is used",
        "checkpoint slot damaged (checksum mismatch); the other slot is used",
        "checkpoint slot damaged (version or slot size wrong); the other slot is used"};
    static const char *const alone[SLOT_STATES_] = {
        NULL, NULL,
        "checkpoint slot cut short by the end of the file, and no valid slot remains: "
        "recovery starts from the last segment",
        "checkpoint slot damaged (no checkpoint magic), and no valid slot remains: "
        "recovery starts from the last segment",
        "checkpoint slot damaged (checksum mismatch), and no valid slot remains: "
        "recovery starts from the last segment",
        "checkpoint slot damaged (version or slot size wrong), and no valid slot remains: "
        "recovery starts from the last segment"};
    int valid = slot[0] == SLOT_VALID || slot[1] == SLOT_VALID, k;
    if (slot[0] <= SLOT_VALID && slot[1] <= SLOT_VALID)
        return;
    if ((s->fd = s->io->open(s->io, s->dirfd, EVL_CKPT_NAME, EVL_O_RDONLY)) < 0)
        s->fd = -1;
    s->fsize = size;
    s->wlen = 0;
    for (k = 0; k < 2; k++) {
        uint64_t at = (uint64_t)k * EVL_CKPT_SLOT_SIZE;
        uint64_t len = size <= at ? 0 : size - at < EVL_CKPT_SLOT_SIZE ? size - at
                                                                      : EVL_CKPT_SLOT_SIZE;
        if (slot[k] <= SLOT_VALID)
            continue;
        evl_scan_problem(s, EVLOG_PROBLEM_CHECKPOINT, valid ? EVLOG_SEV_WARNING : EVLOG_SEV_ERROR,
                         EVL_CKPT_NAME, at, len, 0, 0,
                         valid ? with_other[slot[k]] : alone[slot[k]]);
    }
    if (s->fd >= 0)
        s->io->close(s->io, s->fd);
    s->fd = -1;
    s->fsize = 0;
    s->wlen = 0;
}

/* Read truncate.pending and judge it as a writer's open does (recover.c,
 * side_check): it is applied only when whole and of the checkpoint's
 * pending truncation (its target and the seq of the checkpoint that
 * recorded it). Sets s->side_live and where its batch goes, and reports
 * the file: a truncation in progress, or stale. */
static void truncate_pending(evl_scan *s, const evl_ckpt *ck, const char *name, uint64_t size)
{
    uint64_t pending = s->log.pending_truncate;
    const uint8_t *p = NULL;
    evl_batch b;
    int fd;

    s->wlen = 0;
    s->fsize = size;
    if ((fd = s->io->open(s->io, s->dirfd, name, EVL_O_RDONLY)) >= 0 && ck &&
        pending != EVLOG_NO_OFFSET && size >= EVL_SIDE_HEADER_SIZE &&
        size <= EVL_SIDE_HEADER_SIZE + (uint64_t)EVLOG_MAX_BATCH_BYTES) {
        s->fd = fd;
        if ((p = evl_scan_read(s, 0, (size_t)size)) != NULL) {
            s->side_live = evl_side_valid(p, size, ck->truncate_to, ck->seq, &b);
        }
        if (s->side_live) {
            s->side_seg = evl_ld64(p + 16);
            s->side_pos = evl_ld64(p + 24);
            s->side_first = b.base_offset;
            s->side_next = b.base_offset + b.last_delta + 1;
        }
    }
    s->fd = fd;
    if (pending == EVLOG_NO_OFFSET)
        evl_scan_problem(s, EVLOG_PROBLEM_TRUNCATE_PENDING, EVLOG_SEV_WARNING, name, 0, size, 0, 0,
                         "stale: left by a truncation that is finished (the checkpoint has "
                         "none pending); a writer's open removes it");
    else if (s->side_live)
        evl_scan_problem(s, EVLOG_PROBLEM_TRUNCATE_PENDING, EVLOG_SEV_WARNING, name, 0, size,
                         s->side_first, s->side_next,
                         "truncation in progress: this file holds the new batch of the batch it "
                         "cuts; the next writer's open writes it back and finishes the "
                         "truncation");
    else
        evl_scan_problem(s, EVLOG_PROBLEM_TRUNCATE_PENDING, EVLOG_SEV_WARNING, name, 0, size,
                         pending, pending,
                         "truncation in progress, but this file is not its own (torn before it "
                         "was synced, or left by an earlier truncation): not applied; the next "
                         "writer's open finishes the truncation and removes it");
    if (fd >= 0)
        s->io->close(s->io, fd);
    s->fd = -1;
    s->fsize = 0;
    s->wlen = 0;
}

/* The size of file `name`, or 0 when it cannot be opened. */
static uint64_t file_size(evl_scan *s, const char *name)
{
    uint64_t size = 0;
    int fd = s->io->open(s->io, s->dirfd, name, EVL_O_RDONLY);
    if (fd >= 0) {
        s->io->size(s->io, fd, &size);
        s->io->close(s->io, fd);
    }
    return size;
}

static int has_segment(const evl_scan *s, uint64_t base)
{
    size_t i;
    for (i = 0; i < s->nsegs; i++)
        if (s->segs[i].base == base)
            return 1;
    return 0;
}

/* The directory-wide checks: files, checkpoint, orphans. Before the segments. */
static void scan_files(evl_scan *s, int ckpt, const evl_ckpt *ck, uint64_t ckpt_size,
                       const int slot[2])
{
    size_t i;
    evlog_scan_event ev;
    evlog_scan_file f;
    evl_scan_event_init(&ev, EVLOG_EV_FILE);
    ev.file = &f;
    for (i = 0; i < s->nothers && !s->stopped && !s->err; i++) {
        f.name = s->others[i].name;
        f.kind = s->others[i].kind;
        f.size = f.kind == EVLOG_FILE_CHECKPOINT ? ckpt_size : file_size(s, f.name);
        evl_scan_emit(s, &ev);
        if (f.kind == EVLOG_FILE_UNKNOWN)
            evl_scan_problem(s, EVLOG_PROBLEM_UNKNOWN_FILE, EVLOG_SEV_WARNING, f.name, 0, 0, 0, 0,
                             "not a file of an evlog log; the library ignores it");
        else if (f.kind == EVLOG_FILE_TMP)
            evl_scan_problem(s, EVLOG_PROBLEM_LEFTOVER, EVLOG_SEV_WARNING, f.name, 0, 0, 0, 0,
                             "a leftover temporary file; a writer deletes it at open");
        else if (f.kind == EVLOG_FILE_TRUNCATE_PENDING)
            truncate_pending(s, ckpt > 0 ? ck : NULL, f.name, f.size);
    }
    checkpoint_slots(s, slot, ckpt_size);
    if (ckpt < 0 && slot[0] <= SLOT_VALID && slot[1] <= SLOT_VALID)
        evl_scan_problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_WARNING, EVL_CKPT_NAME, 0,
                         ckpt_size, 0, 0,
                         "no valid checkpoint slot; recovery starts from the last segment");
    for (i = 0; i < s->nidx; i++)
        if (!has_segment(s, s->idx[i])) {
            char name[EVL_NAME_MAX];
            evl_name(name, s->idx[i], EVL_INDEX_SUFFIX);
            evl_scan_problem(s, EVLOG_PROBLEM_INDEX_ORPHAN, EVLOG_SEV_WARNING, name, 0, 0, 0, 0,
                             "an index without its segment");
        }
    if (s->nsegs == 0 && s->nothers + s->nidx > 0 && ckpt <= 0)
        evl_scan_problem(s, EVLOG_PROBLEM_NOT_LOG, EVLOG_SEV_ERROR, ".", 0, 0, 0, 0,
                         "the directory holds no segment and no checkpoint: not an evlog log");
    else if (s->nsegs == 0 && ckpt > 0 && s->log.durable_offset > s->log.start_offset)
        evl_scan_problem(s, EVLOG_PROBLEM_NOT_LOG, EVLOG_SEV_ERROR, ".", 0, 0, s->log.start_offset,
                         EVLOG_NO_OFFSET, "a checkpoint but no segment: the segments are missing");
}

/* Before each segment: continuity with the previous one and with the
 * checkpoint; not after a torn tail that spans a roll (s->tail_seen), where
 * nothing was durable. Segments are created in offset order and removed
 * newest first, so no crash leaves offsets missing or doubled between
 * them: that is damage (a file lost), also past the durable point, where a
 * writer's open would drop the later segments. */
static void check_sequence(evl_scan *s, size_t i, uint64_t prev_next)
{
    const evl_scan_ent *e = &s->segs[i];
    if (s->tail_seen)
        return;
    if (i == 0 && e->base > s->log.start_offset) {
        evl_scan_freeze_end(s, s->log.start_offset);
        evl_scan_problem(s, EVLOG_PROBLEM_GAP, EVLOG_SEV_ERROR, e->name, 0, 0, s->log.start_offset,
                         e->base, "the first segment starts after the log's start offset");
    } else if (i > 0 && e->base > prev_next) {
        evl_scan_freeze_end(s, prev_next);
        evl_scan_problem(s, EVLOG_PROBLEM_GAP, EVLOG_SEV_ERROR, e->name, 0, 0, prev_next, e->base,
                         "offsets missing between this segment and the previous one");
    } else if (i > 0 && e->base < prev_next) {
        evl_scan_freeze_end(s, e->base);
        evl_scan_problem(s, EVLOG_PROBLEM_GAP, EVLOG_SEV_ERROR, e->name, 0, 0, e->base, prev_next,
                         "this segment overlaps the previous one");
    }
}

/* After the segments: the checkpoint must name an existing segment and
 * offsets the segments hold. */
static void check_checkpoint(evl_scan *s, int ckpt)
{
    if (ckpt <= 0 || s->nsegs == 0)
        return;
    if (!has_segment(s, s->log.durable_segment))
        evl_scan_problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_ERROR, EVL_CKPT_NAME, 0, 0,
                         s->log.durable_segment, s->log.durable_offset,
                         "the checkpoint's durable segment does not exist");
    else if (s->log.durable_offset > s->log.end_offset && (!s->end_frozen || s->end_torn))
        evl_scan_problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_ERROR, EVL_CKPT_NAME, 0, 0,
                         s->log.end_offset, s->log.durable_offset,
                         "the checkpoint's durable offset is past the end of the log");
    if (s->log.start_offset > s->log.end_offset && !s->end_frozen)
        evl_scan_problem(s, EVLOG_PROBLEM_CHECKPOINT, EVLOG_SEV_ERROR, EVL_CKPT_NAME, 0, 0,
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

/* The log's start and durable point: the checkpoint's (`ck`), or without
 * one, the start of the last segment. */
static void durable_point(evl_scan *s, const evl_ckpt *ck)
{
    s->log.pending_truncate = EVLOG_NO_OFFSET;
    if (ck) {
        s->log.checkpoint = 1;
        s->log.checkpoint_seq = ck->seq;
        s->log.start_offset = ck->start_offset;
        s->log.durable_offset = ck->durable_offset;
        s->log.durable_segment = ck->durable_segment;
        s->log.durable_pos = ck->durable_pos;
        if (ck->truncate_to != EVL_NO_TRUNCATE)
            s->log.pending_truncate = ck->truncate_to;
    } else if (s->nsegs) {
        s->log.start_offset = s->segs[0].base;
        s->log.durable_offset = s->log.durable_segment = s->segs[s->nsegs - 1].base;
        s->log.durable_pos = EVL_SEG_HEADER_SIZE;
    }
}

/* Single-file mode: the segment table becomes the one file s->only, judged
 * in the context of its directory (whether it is the last segment, where
 * the durable point is). Returns 0, EVLOG_ENOTLOG (a name too long to be a
 * log's) or EVLOG_ENOMEM. */
static int only_file(evl_scan *s)
{
    evl_scan_ent one;
    size_t n = strlen(s->only), i;
    if (n >= sizeof one.name)
        return EVLOG_ENOTLOG;
    memcpy(one.name, s->only, n + 1);
    s->only_last = 1;
    if (evl_parse_name(s->only, EVL_SEG_SUFFIX, &one.base)) {
        for (i = 0; i < s->nsegs; i++)
            if (s->segs[i].base > one.base) {
                s->only_last = 0;
                s->only_next = s->segs[i].base;
                break;
            }
    } else {
        one.base = 0;
    }
    if (s->segcap == 0 && !(s->segs = malloc(sizeof *s->segs)))
        return EVLOG_ENOMEM;
    s->segcap = s->segcap ? s->segcap : 1;
    s->nsegs = 1;
    s->segs[0] = one;
    s->only_named = one.base != 0 || evl_parse_name(s->only, EVL_SEG_SUFFIX, &one.base);
    s->nidx = 0;
    s->log.single_file = 1;
    return 0;
}

/* The base offset from which recovery scans segments batch by batch
 * (s->scan_from): the checkpoint's durable segment when it exists, else the
 * last segment (recovery then takes no checkpoint); past every segment
 * when the checkpoint names one beyond the last (the log does not open). */
static uint64_t scan_from(const evl_scan *s, int ckpt)
{
    if (s->nsegs == 0)
        return 0;
    if (ckpt > 0 && has_segment(s, s->log.durable_segment))
        return s->log.durable_segment;
    if (ckpt > 0 && s->log.durable_segment > s->segs[s->nsegs - 1].base)
        return UINT64_MAX;
    return s->segs[s->nsegs - 1].base;
}

/* Events in the order include/evlog.h gives: LOG, FILE*, the segments,
 * the checkpoint's problems, END. */
int evl_scan_run(evl_scan *s, const char *path)
{
    char dirbuf[4096];
    const char *dir = path;
    evl_ckpt ck;
    uint64_t ckpt_size, prev_next = 0;
    int ckpt, rc, slot[2];
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
    ckpt = read_checkpoint(s, &ck, &ckpt_size, slot);

    s->log.path = path;
    durable_point(s, ckpt > 0 ? &ck : NULL);
    s->scan_from = scan_from(s, ckpt);
    if (s->only && (rc = only_file(s)) != 0)
        return rc;
    s->log.segments = s->nsegs;
    for (i = 0; i < s->nsegs; i++)
        s->log.total_bytes += file_size(s, s->segs[i].name);
    s->log.end_offset = s->nsegs ? s->segs[0].base : s->log.start_offset;

    evl_scan_event_init(&ev, EVLOG_EV_LOG);
    ev.log = &s->log;
    evl_scan_emit(s, &ev);
    if (!s->only)
        scan_files(s, ckpt, &ck, ckpt_size, slot);
    for (i = 0; i < s->nsegs && !s->stopped && !s->err; i++) {
        if (!s->only)
            check_sequence(s, i, prev_next);
        evl_scan_segment(s, i);
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
    evl_scan_event_init(&ev, EVLOG_EV_END);
    ev.log = &s->log;
    evl_scan_emit(s, &ev);
    return s->stopped ? EVLOG_SCAN_STOP : 0;
}
