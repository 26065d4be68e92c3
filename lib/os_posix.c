/*
 * os_posix.c - the default I/O table: the only place that calls the
 * operating system for files, directories and mappings.
 */

#include "os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEG_ERRNO() (errno ? -errno : -EIO)

static int px_open_dir(const struct evlog_io *io, const char *path, int create)
{
    int fd;
    (void)io;
    if (create && mkdir(path, 0755) != 0 && errno != EEXIST)
        return NEG_ERRNO();
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? NEG_ERRNO() : fd;
}

static int px_list(const struct evlog_io *io, int dirfd, evl_list_cb cb, void *payload)
{
    struct dirent *de;
    DIR *d;
    int fd, rc = 0;
    (void)io;
    fd = dup(dirfd);
    if (fd < 0)
        return NEG_ERRNO();
    if (!(d = fdopendir(fd))) {
        rc = NEG_ERRNO();
        close(fd);
        return rc;
    }
    rewinddir(d);
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        if ((rc = cb(de->d_name, payload)) != 0)
            break;
        errno = 0;
    }
    if (!de && errno)
        rc = NEG_ERRNO();
    closedir(d);
    return rc;
}

static int px_open(const struct evlog_io *io, int dirfd, const char *name, int flags)
{
    int f = O_CLOEXEC, fd;
    (void)io;
    f |= (flags & EVL_O_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & EVL_O_CREAT)
        f |= O_CREAT;
    if (flags & EVL_O_EXCL)
        f |= O_EXCL;
    do
        fd = openat(dirfd, name, f, 0644);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? NEG_ERRNO() : fd;
}

static int px_close(const struct evlog_io *io, int fd)
{
    (void)io;
    /* no retry on EINTR: on Linux the descriptor is gone either way */
    return close(fd) == 0 ? 0 : NEG_ERRNO();
}

static long px_pread(const struct evlog_io *io, int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    (void)io;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return NEG_ERRNO();
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (long)done;
}

static long px_pwrite(const struct evlog_io *io, int fd, const void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    (void)io;
    while (done < n) {
        ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return NEG_ERRNO();
        done += (size_t)r;
    }
    return (long)done;
}

static int px_size(const struct evlog_io *io, int fd, uint64_t *out)
{
    struct stat st;
    (void)io;
    if (fstat(fd, &st) != 0)
        return NEG_ERRNO();
    *out = (uint64_t)st.st_size;
    return 0;
}

static int px_allocate(const struct evlog_io *io, int fd, uint64_t len)
{
    int rc;
    (void)io;
    do
        rc = posix_fallocate(fd, 0, (off_t)len);
    while (rc == EINTR);
    return -rc;
}

static int px_truncate(const struct evlog_io *io, int fd, uint64_t len)
{
    int rc;
    (void)io;
    do
        rc = ftruncate(fd, (off_t)len);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : NEG_ERRNO();
}

static int px_zero(const struct evlog_io *io, int fd, uint64_t off, uint64_t len)
{
    static const char zeros[4096];
    (void)io;
    if (len == 0)
        return 0;
    /* punching a hole keeps the size, so a reader's mapping never sees the
     * file shrink; the blocks are allocated again by allocate() */
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
        return NEG_ERRNO();
    while (len) {
        size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
        long w = px_pwrite(io, fd, zeros, n, off);
        if (w < 0)
            return (int)w;
        off += n;
        len -= n;
    }
    return 0;
}

static int px_map(const struct evlog_io *io, int fd, uint64_t len, int writable, void **out)
{
    void *p;
    (void)io;
    p = mmap(NULL, (size_t)len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return NEG_ERRNO();
    *out = p;
    return 0;
}

static int px_unmap(const struct evlog_io *io, void *addr, uint64_t len)
{
    (void)io;
    return munmap(addr, (size_t)len) == 0 ? 0 : NEG_ERRNO();
}

/* The start of the page holding byte `off`: madvise and msync take
 * page-aligned addresses. */
static uint64_t page_start(uint64_t off)
{
    return off & ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
}

static int px_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    uint64_t start = page_start(off);
    (void)io;
    if (msync((char *)addr + start, (size_t)(off + len - start), MS_SYNC) != 0)
        return NEG_ERRNO();
    return 0;
}

static void px_prefault(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    (void)io;
#ifdef MADV_POPULATE_WRITE
    uint64_t start = page_start(off);
    (void)madvise((char *)addr + start, (size_t)(off + len - start), MADV_POPULATE_WRITE);
#else
    (void)addr; (void)off; (void)len;
#endif
}

static void px_drop(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    uint64_t start = page_start(off);
    (void)io;
    /* on a shared file mapping the data stays in the page cache, dirty */
    (void)madvise((char *)addr + start, (size_t)(off + len - start), MADV_DONTNEED);
}

static void px_uncache(const struct evlog_io *io, int fd, uint64_t off, uint64_t len)
{
    (void)io;
    (void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
}

static int px_fsync(const struct evlog_io *io, int fd)
{
    (void)io;
    return fdatasync(fd) == 0 ? 0 : NEG_ERRNO();
}

static int px_sync_dir(const struct evlog_io *io, int dirfd)
{
    (void)io;
    return fsync(dirfd) == 0 ? 0 : NEG_ERRNO();
}

static int px_rename(const struct evlog_io *io, int dirfd, const char *from, const char *to)
{
    (void)io;
    return renameat(dirfd, from, dirfd, to) == 0 ? 0 : NEG_ERRNO();
}

static int px_unlink(const struct evlog_io *io, int dirfd, const char *name)
{
    (void)io;
    return unlinkat(dirfd, name, 0) == 0 ? 0 : NEG_ERRNO();
}

static int px_lock(const struct evlog_io *io, int fd)
{
    (void)io;
    /* flock locks belong to the open file description, so a second open
     * in the same process is refused like one in another process */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    return errno == EWOULDBLOCK ? -EWOULDBLOCK : NEG_ERRNO();
}

const struct evlog_io evl_io_posix = {
    px_open_dir, px_list, px_open, px_close, px_pread, px_pwrite, px_size,
    px_allocate, px_truncate, px_zero, px_map, px_unmap, px_msync, px_prefault, px_drop,
    px_uncache, px_fsync, px_sync_dir, px_rename, px_unlink, px_lock, NULL,
};
