/*
 * faultio.c - the fail-Nth I/O layer (faultio.h).
 */
#include "faultio.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct faultio {
    struct evlog_io io; /* first: io.ctx points back here */
    const struct evlog_io *base;
    pthread_mutex_t mu;
    uint64_t calls, fail_at, fired;
    unsigned mask;
    int err, persistent, first_op, trace;
};

#define F(io) ((faultio *)(io)->ctx)
#define B(io) (F(io)->base)

/* Count a call of `op`; returns the negative errno to inject, or 0. */
static int hit(const struct evlog_io *io, evrel_op op)
{
    faultio *f = F(io);
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (f->mask & EVREL_OP_BIT(op)) {
        f->calls++;
        if (f->fail_at && (f->calls == f->fail_at || (f->persistent && f->calls > f->fail_at))) {
            if (f->fired++ == 0)
                f->first_op = (int)op;
            rc = -f->err;
        }
    }
    if (f->trace)
        fprintf(stderr, "faultio: call %llu %s%s\n", (unsigned long long)f->calls,
                evrel_op_name((int)op), rc ? " <- injected failure" : "");
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int f_open_dir(const struct evlog_io *io, const char *path, int create)
{
    int rc = hit(io, EVREL_OP_OPEN_DIR);
    return rc ? rc : B(io)->open_dir(B(io), path, create);
}

static int f_list(const struct evlog_io *io, int dirfd, evl_list_cb cb, void *payload)
{
    int rc = hit(io, EVREL_OP_LIST);
    return rc ? rc : B(io)->list(B(io), dirfd, cb, payload);
}

static int f_open(const struct evlog_io *io, int dirfd, const char *name, int flags)
{
    int rc = hit(io, EVREL_OP_OPEN);
    return rc ? rc : B(io)->open(B(io), dirfd, name, flags);
}

static int f_close(const struct evlog_io *io, int fd)
{
    int rc = hit(io, EVREL_OP_CLOSE);
    int rc2 = B(io)->close(B(io), fd); /* Linux: the descriptor is gone anyway */
    return rc ? rc : rc2;
}

static long f_pread(const struct evlog_io *io, int fd, void *buf, size_t n, uint64_t off)
{
    int rc = hit(io, EVREL_OP_PREAD);
    return rc ? rc : B(io)->pread(B(io), fd, buf, n, off);
}

static long f_pwrite(const struct evlog_io *io, int fd, const void *buf, size_t n, uint64_t off)
{
    int rc = hit(io, EVREL_OP_PWRITE);
    return rc ? rc : B(io)->pwrite(B(io), fd, buf, n, off);
}

static int f_size(const struct evlog_io *io, int fd, uint64_t *out)
{
    int rc = hit(io, EVREL_OP_SIZE);
    return rc ? rc : B(io)->size(B(io), fd, out);
}

static int f_allocate(const struct evlog_io *io, int fd, uint64_t len)
{
    int rc = hit(io, EVREL_OP_ALLOCATE);
    return rc ? rc : B(io)->allocate(B(io), fd, len);
}

static int f_truncate(const struct evlog_io *io, int fd, uint64_t len)
{
    int rc = hit(io, EVREL_OP_TRUNCATE);
    return rc ? rc : B(io)->truncate(B(io), fd, len);
}

static int f_zero(const struct evlog_io *io, int fd, uint64_t off, uint64_t len)
{
    int rc = hit(io, EVREL_OP_ZERO);
    return rc ? rc : B(io)->zero(B(io), fd, off, len);
}

static int f_map(const struct evlog_io *io, int fd, uint64_t len, int writable, void **out)
{
    int rc = hit(io, EVREL_OP_MAP);
    return rc ? rc : B(io)->map(B(io), fd, len, writable, out);
}

static int f_unmap(const struct evlog_io *io, void *addr, uint64_t len)
{
    int rc = hit(io, EVREL_OP_UNMAP);
    int rc2 = B(io)->unmap(B(io), addr, len); /* released anyway, see faultio.h */
    return rc ? rc : rc2;
}

static int f_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    int rc = hit(io, EVREL_OP_MSYNC);
    return rc ? rc : B(io)->msync(B(io), addr, off, len);
}

static void f_prefault(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    (void)hit(io, EVREL_OP_PREFAULT); /* a hint: it cannot fail */
    B(io)->prefault(B(io), addr, off, len);
}

static void f_drop(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    (void)hit(io, EVREL_OP_DROP); /* a hint: it cannot fail */
    B(io)->drop(B(io), addr, off, len);
}

static void f_uncache(const struct evlog_io *io, int fd, uint64_t off, uint64_t len)
{
    (void)hit(io, EVREL_OP_UNCACHE); /* a hint: it cannot fail */
    B(io)->uncache(B(io), fd, off, len);
}

static int f_fsync(const struct evlog_io *io, int fd)
{
    int rc = hit(io, EVREL_OP_FSYNC);
    return rc ? rc : B(io)->fsync(B(io), fd);
}

static int f_sync_dir(const struct evlog_io *io, int dirfd)
{
    int rc = hit(io, EVREL_OP_SYNC_DIR);
    return rc ? rc : B(io)->sync_dir(B(io), dirfd);
}

static int f_rename(const struct evlog_io *io, int dirfd, const char *from, const char *to)
{
    int rc = hit(io, EVREL_OP_RENAME);
    return rc ? rc : B(io)->rename(B(io), dirfd, from, to);
}

static int f_unlink(const struct evlog_io *io, int dirfd, const char *name)
{
    int rc = hit(io, EVREL_OP_UNLINK);
    return rc ? rc : B(io)->unlink(B(io), dirfd, name);
}

static int f_lock(const struct evlog_io *io, int fd)
{
    int rc = hit(io, EVREL_OP_LOCK);
    return rc ? rc : B(io)->lock(B(io), fd);
}

faultio *faultio_new(const struct evlog_io *base)
{
    static const struct evlog_io table = {
        f_open_dir, f_list, f_open, f_close, f_pread, f_pwrite, f_size,
        f_allocate, f_truncate, f_zero, f_map, f_unmap, f_msync, f_prefault, f_drop,
        f_uncache, f_fsync, f_sync_dir, f_rename, f_unlink, f_lock, NULL,
    };
    faultio *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->io = table;
    f->io.ctx = f;
    f->base = base;
    f->mask = FAULTIO_OPS_EIO;
    f->first_op = -1;
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

void faultio_free(faultio *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

const struct evlog_io *faultio_io(faultio *f) { return &f->io; }

void faultio_arm(faultio *f, uint64_t n, int err, int persistent, unsigned mask)
{
    pthread_mutex_lock(&f->mu);
    f->calls = 0;
    f->fired = 0;
    f->first_op = -1;
    f->fail_at = n;
    f->err = err ? err : EIO;
    f->persistent = persistent;
    f->mask = mask;
    pthread_mutex_unlock(&f->mu);
}

void faultio_disarm(faultio *f)
{
    pthread_mutex_lock(&f->mu);
    f->fail_at = 0;
    pthread_mutex_unlock(&f->mu);
}

uint64_t faultio_calls(const faultio *f)
{
    uint64_t n;
    pthread_mutex_lock((pthread_mutex_t *)&f->mu);
    n = f->calls;
    pthread_mutex_unlock((pthread_mutex_t *)&f->mu);
    return n;
}

uint64_t faultio_fired(const faultio *f)
{
    uint64_t n;
    pthread_mutex_lock((pthread_mutex_t *)&f->mu);
    n = f->fired;
    pthread_mutex_unlock((pthread_mutex_t *)&f->mu);
    return n;
}

int faultio_first_op(const faultio *f)
{
    int op;
    pthread_mutex_lock((pthread_mutex_t *)&f->mu);
    op = f->first_op;
    pthread_mutex_unlock((pthread_mutex_t *)&f->mu);
    return op;
}

void faultio_trace(faultio *f, int on)
{
    pthread_mutex_lock(&f->mu);
    f->trace = on;
    pthread_mutex_unlock(&f->mu);
}
