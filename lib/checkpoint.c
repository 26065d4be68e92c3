/*
 * checkpoint.c - the recovery point: where the durable data ends, the
 * log's start offset and a pending truncation, in two checksummed slots
 * written in turn (docs/format.md). It is written only after the data it
 * names was synced, so it is always a lower bound of what is durable.
 */
#include <errno.h>

#include "internal.h"

/*
 * Read the current checkpoint. Returns 1 with *out, 0 when there is no
 * valid slot (or no file), or a negative evlog code on an I/O error.
 */
int evl_ckpt_read(evlog *log, evl_ckpt *out)
{
    const struct evlog_io *io = log->io;
    uint8_t buf[2 * EVL_CKPT_SLOT_SIZE];
    evl_ckpt c[2];
    int ok[2], fd;
    long r;

    fd = io->open(io, log->dirfd, EVL_CKPT_NAME, EVL_O_RDONLY);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return evl_err(log, evl_errno_code(fd), "%s/%s: cannot open: %s", log->dir,
                       EVL_CKPT_NAME, evl_errno_str(fd));
    memset(buf, 0, sizeof buf);
    r = io->pread(io, fd, buf, sizeof buf, 0);
    (void)io->close(io, fd);
    if (r < 0)
        return evl_err(log, evl_errno_code((int)r), "%s/%s: cannot read: %s", log->dir,
                       EVL_CKPT_NAME, evl_errno_str((int)r));
    ok[0] = evl_ckpt_decode(&c[0], buf) == EVL_OK;
    ok[1] = evl_ckpt_decode(&c[1], buf + EVL_CKPT_SLOT_SIZE) == EVL_OK;
    if (!ok[0] && !ok[1])
        return 0;
    *out = (ok[0] && (!ok[1] || c[0].seq > c[1].seq)) ? c[0] : c[1];
    log->ckpt_seq = out->seq;
    return 1;
}

/*
 * Write `c` (its seq is assigned here) into the next slot; with `sync`,
 * make it durable. A torn write damages only the slot being written, and
 * the other still holds the previous checkpoint. Caller holds log->mu.
 */
int evl_ckpt_write(evlog *log, const evl_ckpt *c, int sync)
{
    const struct evlog_io *io = log->io;
    uint8_t buf[EVL_CKPT_SLOT_SIZE];
    evl_ckpt w = *c;
    int rc = 0, created = 0;
    long r;

    if (log->ckpt_fd < 0) {
        rc = io->open(io, log->dirfd, EVL_CKPT_NAME, EVL_O_RDWR);
        if (rc == -ENOENT) {
            rc = io->open(io, log->dirfd, EVL_CKPT_NAME, EVL_O_RDWR | EVL_O_CREAT);
            created = 1;
        }
        if (rc < 0)
            goto fail;
        log->ckpt_fd = rc;
    }
    w.seq = ++log->ckpt_seq;
    evl_ckpt_encode(buf, &w);
    r = io->pwrite(io, log->ckpt_fd, buf, sizeof buf, (w.seq % 2) * EVL_CKPT_SLOT_SIZE);
    if (r < 0) {
        rc = (int)r;
        goto fail;
    }
    if ((sync || created) && (rc = io->fsync(io, log->ckpt_fd)) < 0)
        goto fail;
    if (created && (rc = io->sync_dir(io, log->dirfd)) < 0)
        goto fail;
    return 0;
fail:
    return evl_err(log, evl_errno_code(rc), "%s/%s: cannot write checkpoint: %s", log->dir,
                   EVL_CKPT_NAME, evl_errno_str(rc));
}

void evl_ckpt_current(evlog *log, evl_ckpt *c)
{
    c->seq = 0;
    c->durable_offset = atomic_load(&log->durable_offset);
    c->durable_segment = log->durable_seg;
    c->durable_pos = log->durable_pos;
    c->start_offset = atomic_load(&log->start_offset);
    c->truncate_to = EVL_NO_TRUNCATE;
}
