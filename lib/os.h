/*
 * os.h - the I/O table: every file system call the engine makes goes
 * through one of these functions, so that tests can fail the Nth call or
 * simulate a power loss (tests/io_fault.c). The default table, in
 * os_posix.c, is the only code that calls the operating system for files.
 *
 * Every function returns 0 (or a count, or a descriptor) on success and a
 * negative errno value on failure; none of them retries a failed sync.
 */
#ifndef EVLOG_OS_H
#define EVLOG_OS_H

#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

/* Flags of evlog_io.open. */
#define EVL_O_RDONLY 0x0
#define EVL_O_RDWR 0x1
#define EVL_O_CREAT 0x2  /* create if absent */
#define EVL_O_EXCL 0x4   /* fail with -EEXIST if present */

/* Called by evlog_io.list for each name in a directory; a non-zero return
 * stops the listing and is returned by it. */
typedef int (*evl_list_cb)(const char *name, void *payload);

struct evlog_io {
    /* files are named relative to an open directory descriptor */
    int (*open_dir)(const struct evlog_io *io, const char *path, int create);
    int (*list)(const struct evlog_io *io, int dirfd, evl_list_cb cb, void *payload);
    int (*open)(const struct evlog_io *io, int dirfd, const char *name, int flags);
    int (*close)(const struct evlog_io *io, int fd);
    long (*pread)(const struct evlog_io *io, int fd, void *buf, size_t n, uint64_t off);
    long (*pwrite)(const struct evlog_io *io, int fd, const void *buf, size_t n, uint64_t off);
    int (*size)(const struct evlog_io *io, int fd, uint64_t *out);
    /* reserve blocks for [0, len) so that writes through a mapping cannot
     * meet a full disk; grows the file to len */
    int (*allocate)(const struct evlog_io *io, int fd, uint64_t len);
    int (*truncate)(const struct evlog_io *io, int fd, uint64_t len);
    /* make [off, off+len) read as zeros, keeping the size */
    int (*zero)(const struct evlog_io *io, int fd, uint64_t off, uint64_t len);
    int (*map)(const struct evlog_io *io, int fd, uint64_t len, int writable, void **out);
    int (*unmap)(const struct evlog_io *io, void *addr, uint64_t len);
    /* make [off, off+len) of a writable mapping durable */
    int (*msync)(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len);
    /* fault in [off, off+len) of a writable mapping ahead of writes; a hint */
    void (*prefault)(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len);
    /* drop the page-table entries of [off, off+len) of a mapping that is
     * written no more, before it is synced: its bytes stay in the file (and
     * read back on the next touch), and the sync need not write-protect it
     * page by page, each page a TLB shootdown on the writer's core; a hint */
    void (*drop)(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len);
    /* drop the clean pages of [off, off+len) of a synced file that no
     * mapping holds from the page cache; its bytes stay in the file; a
     * hint */
    void (*uncache)(const struct evlog_io *io, int fd, uint64_t off, uint64_t len);
    int (*fsync)(const struct evlog_io *io, int fd);
    int (*sync_dir)(const struct evlog_io *io, int dirfd);
    int (*rename)(const struct evlog_io *io, int dirfd, const char *from, const char *to);
    int (*unlink)(const struct evlog_io *io, int dirfd, const char *name);
    /* exclusive, non-blocking, released when fd is closed: -EWOULDBLOCK
     * when another holder has it */
    int (*lock)(const struct evlog_io *io, int fd);
    void *ctx; /* for the implementation */
};

/* The POSIX table. */
extern const struct evlog_io evl_io_posix;

#endif /* EVLOG_OS_H */
