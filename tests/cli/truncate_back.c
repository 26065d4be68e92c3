/*
 * truncate_back.c - `truncate_back [--torn] [--segment-bytes N] DIR OFFSET`:
 * open the log in DIR as its writer (with segment_bytes N) and drop every
 * record at or above OFFSET (evlog_truncate_back), for the tests of `evlog
 * cat -f` and `evlog verify`, which have no such command. Exit status 0,
 * or 1 with the library's message.
 *
 * --torn stops a truncation inside a batch half-way, in the state a power
 * loss can leave: once truncate.pending is written (the new batch, synced),
 * the library overwrites the batch in place and syncs it; at that sync the
 * second half of the new batch is zeroed in the file (a torn write) and the
 * process ends at once (exit status 9), as if killed. The next writer's
 * open finishes the truncation from truncate.pending. Test-only: it goes
 * through the library's private I/O table (lib/os.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "os.h"

static int side_written; /* truncate.pending was opened for writing */

static int torn_open(const struct evlog_io *io, int dirfd, const char *name, int flags)
{
    (void)io;
    if (strcmp(name, "truncate.pending") == 0 && (flags & EVL_O_CREAT))
        side_written = 1;
    return evl_io_posix.open(&evl_io_posix, dirfd, name, flags);
}

static int torn_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    (void)io;
    if (side_written && len > 1) {
        /* the rewrite in place, torn: its second half never reached the disk */
        memset((char *)addr + off + len / 2, 0, (size_t)(len - len / 2));
        _exit(9);
    }
    return evl_io_posix.msync(&evl_io_posix, addr, off, len);
}

int main(int argc, char **argv)
{
    static struct evlog_io torn;
    evlog_options o;
    evlog *log;
    char *end;
    unsigned long long offset;
    int rc, a = 1;

    evlog_options_init(&o);
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--torn") == 0) {
            torn = evl_io_posix;
            torn.open = torn_open;
            torn.msync = torn_msync;
            o.io = &torn;
        } else if (strcmp(argv[a], "--segment-bytes") == 0 && a + 1 < argc) {
            o.segment_bytes = strtoull(argv[++a], &end, 10);
            if (*end)
                a = argc; /* usage */
        } else {
            a = argc; /* usage */
        }
    }
    if (argc != a + 2 || !*argv[a + 1] || (offset = strtoull(argv[a + 1], &end, 10), *end)) {
        fprintf(stderr, "usage: truncate_back [--torn] [--segment-bytes N] DIR OFFSET\n");
        return 1;
    }
    if ((rc = evlog_open(&log, argv[a], &o)) != 0) {
        fprintf(stderr, "truncate_back: %s: %s\n", argv[a], evlog_strerror(rc));
        return 1;
    }
    if ((rc = evlog_truncate_back(log, offset)) != 0)
        fprintf(stderr, "truncate_back: %s: %s: %s\n", argv[a], evlog_strerror(rc),
                evlog_errmsg(log));
    if (evlog_close(log) != 0 && rc == 0)
        rc = EVLOG_EIO;
    return rc != 0;
}
