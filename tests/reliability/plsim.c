/*
 * plsim.c - the power-loss simulator (plsim.h).
 *
 * Layout: inodes (a memfd for the page cache, a durable copy, the page
 * versions seen since the last sync), directories (a durable namespace and
 * the log of operations since the last sync_dir; the volatile namespace is
 * kept applied), and tables from descriptor and mapping address to inode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "plsim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096u
#define SECTOR 512u
#define MAX_VERSIONS_PER_PAGE 48

typedef struct pl_ver {
    uint64_t page;
    uint8_t *bytes; /* PAGE bytes */
} pl_ver;

typedef struct pl_inode {
    int memfd;
    uint8_t *dur;        /* durable content, dsize bytes */
    uint64_t dsize;
    uint64_t *sizes;     /* sizes since the last sync, the current one last */
    size_t nsizes, capsizes;
    pl_ver *vers;        /* versions since the last sync, oldest first */
    size_t nvers, capvers;
    int maps_w;          /* writable mappings alive */
    int lock_fd;         /* descriptor holding the lock, or -1 */
    struct pl_inode *next;
} pl_inode;

typedef struct pl_dent {
    char name[96];
    pl_inode *ino;
} pl_dent;

typedef struct pl_ns {
    pl_dent *v;
    size_t n, cap;
} pl_ns;

enum { DOP_CREATE, DOP_RENAME, DOP_UNLINK };
typedef struct pl_dirop {
    int kind;
    char a[96], b[96];
    pl_inode *ino;
} pl_dirop;

typedef struct pl_dir {
    char *path;
    int memfd; /* what directory descriptors are dups of */
    pl_ns dur, vol;
    pl_dirop *ops;
    size_t nops, capops;
    struct pl_dir *next;
} pl_dir;

typedef struct pl_fd {
    int used, writable;
    pl_inode *ino; /* a file, or */
    pl_dir *dir;   /* a directory */
} pl_fd;

typedef struct pl_map {
    void *addr;
    uint64_t len;
    pl_inode *ino;
    int writable;
} pl_map;

struct plsim {
    struct evlog_io io; /* io.ctx points back here */
    pthread_mutex_t mu;
    pl_inode *inodes;
    pl_dir *dirs;
    pl_fd *fds;
    size_t nfds;
    pl_map *maps;
    size_t nmaps, capmaps;
    plsim_hook hook;
    void *hook_payload;
    uint64_t calls, syncs;
    uint8_t *scratch;
    size_t scratch_cap;
};

#define S(io) ((plsim *)(io)->ctx)

/*-******************* small helpers *******************/
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 8;
    void *q;
    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    if (!(q = realloc(*p, c * elem)))
        return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static uint64_t rnd(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t vsize_of(const pl_inode *ino)
{
    struct stat st;
    return fstat(ino->memfd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The current content of `ino` in s->scratch; its size in *len. */
static int read_cur(plsim *s, pl_inode *ino, uint64_t *len)
{
    uint64_t n = vsize_of(ino), done = 0;
    if (grow((void **)&s->scratch, &s->scratch_cap, (size_t)n + 1, 1))
        return -ENOMEM;
    while (done < n) {
        ssize_t r = pread(ino->memfd, s->scratch + done, (size_t)(n - done), (off_t)done);
        if (r <= 0)
            return -EIO;
        done += (uint64_t)r;
    }
    *len = n;
    return 0;
}

/* Page `p` of content `c` of `len` bytes into dst, zero past the end. */
static void page_of(uint8_t *dst, const uint8_t *c, uint64_t len, uint64_t p)
{
    uint64_t off = p * PAGE;
    memset(dst, 0, PAGE);
    if (off < len)
        memcpy(dst, c + off, (size_t)(len - off < PAGE ? len - off : PAGE));
}

/* The latest version of page p: the last recorded one, else the durable. */
static void latest_of(const pl_inode *ino, uint64_t p, uint8_t *dst)
{
    size_t i = ino->nvers;
    while (i-- > 0)
        if (ino->vers[i].page == p) {
            memcpy(dst, ino->vers[i].bytes, PAGE);
            return;
        }
    page_of(dst, ino->dur, ino->dsize, p);
}

static void drop_version(pl_inode *ino, size_t i)
{
    free(ino->vers[i].bytes);
    memmove(&ino->vers[i], &ino->vers[i + 1], (ino->nvers - i - 1) * sizeof *ino->vers);
    ino->nvers--;
}

/* Record the pages of `ino` that changed since their latest version, and
 * its size if it changed. */
static int sample(plsim *s, pl_inode *ino)
{
    uint8_t cur[PAGE], last[PAGE];
    uint64_t len, p, np, maxlen;
    size_t i;
    int rc = read_cur(s, ino, &len);
    if (rc)
        return rc;
    if (ino->nsizes == 0 || ino->sizes[ino->nsizes - 1] != len) {
        if (grow((void **)&ino->sizes, &ino->capsizes, ino->nsizes + 1, sizeof *ino->sizes))
            return -ENOMEM;
        ino->sizes[ino->nsizes++] = len;
    }
    /* pages past the end read as zeros now; compare them too so that a
     * truncation followed by a growth is seen */
    maxlen = len > ino->dsize ? len : ino->dsize;
    for (i = 0; i < ino->nvers; i++)
        if ((ino->vers[i].page + 1) * PAGE > maxlen)
            maxlen = (ino->vers[i].page + 1) * PAGE;
    np = (maxlen + PAGE - 1) / PAGE;
    for (p = 0; p < np; p++) {
        size_t cnt = 0;
        page_of(cur, s->scratch, len, p);
        latest_of(ino, p, last);
        if (memcmp(cur, last, PAGE) == 0)
            continue;
        for (i = 0; i < ino->nvers; i++)
            cnt += ino->vers[i].page == p;
        if (cnt >= MAX_VERSIONS_PER_PAGE) /* bound memory: forget the oldest */
            for (i = 0; i < ino->nvers; i++)
                if (ino->vers[i].page == p) {
                    drop_version(ino, i);
                    break;
                }
        if (grow((void **)&ino->vers, &ino->capvers, ino->nvers + 1, sizeof *ino->vers))
            return -ENOMEM;
        if (!(ino->vers[ino->nvers].bytes = malloc(PAGE)))
            return -ENOMEM;
        memcpy(ino->vers[ino->nvers].bytes, cur, PAGE);
        ino->vers[ino->nvers].page = p;
        ino->nvers++;
    }
    return 0;
}

/* Make pages [p0, p1) of `ino` durable, and its size. */
static int make_durable(plsim *s, pl_inode *ino, uint64_t p0, uint64_t p1)
{
    uint64_t len, p;
    size_t i;
    int rc = read_cur(s, ino, &len);
    uint8_t *d;
    if (rc)
        return rc;
    if (!(d = calloc(1, (size_t)len + 1)))
        return -ENOMEM;
    if (ino->dsize && len)
        memcpy(d, ino->dur, (size_t)(ino->dsize < len ? ino->dsize : len));
    for (p = p0; p < p1 && p * PAGE < len; p++) {
        uint64_t off = p * PAGE, n = len - off < PAGE ? len - off : PAGE;
        memcpy(d + off, s->scratch + off, (size_t)n);
    }
    free(ino->dur);
    ino->dur = d;
    ino->dsize = len;
    for (i = 0; i < ino->nvers;)
        if (ino->vers[i].page >= p0 && ino->vers[i].page < p1)
            drop_version(ino, i);
        else
            i++;
    ino->nsizes = 0;
    return sample(s, ino); /* the size history restarts at the durable size */
}

/*-******************* namespaces *******************/
static pl_dent *ns_find(pl_ns *ns, const char *name)
{
    size_t i;
    for (i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i].name, name) == 0)
            return &ns->v[i];
    return NULL;
}

static int ns_put(pl_ns *ns, const char *name, pl_inode *ino)
{
    pl_dent *d = ns_find(ns, name);
    if (d) {
        d->ino = ino;
        return 0;
    }
    if (grow((void **)&ns->v, &ns->cap, ns->n + 1, sizeof *ns->v))
        return -ENOMEM;
    d = &ns->v[ns->n++];
    snprintf(d->name, sizeof d->name, "%s", name);
    d->ino = ino;
    return 0;
}

static void ns_del(pl_ns *ns, const char *name)
{
    pl_dent *d = ns_find(ns, name);
    if (d)
        *d = ns->v[--ns->n];
}

static int ns_copy(pl_ns *dst, const pl_ns *src)
{
    dst->n = 0;
    if (grow((void **)&dst->v, &dst->cap, src->n ? src->n : 1, sizeof *dst->v))
        return -ENOMEM;
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof *src->v);
    dst->n = src->n;
    return 0;
}

static int ns_apply(pl_ns *ns, const pl_dirop *op)
{
    pl_dent *d;
    switch (op->kind) {
    case DOP_CREATE:
        return ns_put(ns, op->a, op->ino);
    case DOP_RENAME:
        if (!(d = ns_find(ns, op->a)))
            return 0;
        {
            pl_inode *ino = d->ino;
            ns_del(ns, op->a);
            return ns_put(ns, op->b, ino);
        }
    case DOP_UNLINK:
        ns_del(ns, op->a);
        return 0;
    }
    return 0;
}

static int dir_log(pl_dir *d, int kind, const char *a, const char *b, pl_inode *ino)
{
    pl_dirop *op;
    if (grow((void **)&d->ops, &d->capops, d->nops + 1, sizeof *d->ops))
        return -ENOMEM;
    op = &d->ops[d->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    snprintf(op->a, sizeof op->a, "%s", a);
    if (b)
        snprintf(op->b, sizeof op->b, "%s", b);
    op->ino = ino;
    return ns_apply(&d->vol, op);
}

/*-******************* objects *******************/
static pl_inode *inode_new(plsim *s)
{
    pl_inode *ino = calloc(1, sizeof *ino);
    if (!ino)
        return NULL;
    ino->memfd = memfd_create("plsim", MFD_CLOEXEC);
    if (ino->memfd < 0) {
        free(ino);
        return NULL;
    }
    ino->lock_fd = -1;
    ino->next = s->inodes;
    s->inodes = ino;
    return ino;
}

static pl_dir *dir_find(plsim *s, const char *path)
{
    pl_dir *d;
    for (d = s->dirs; d; d = d->next)
        if (strcmp(d->path, path) == 0)
            return d;
    return NULL;
}

static pl_dir *dir_new(plsim *s, const char *path)
{
    pl_dir *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->path = strdup(path);
    d->memfd = memfd_create("plsim-dir", MFD_CLOEXEC);
    if (!d->path || d->memfd < 0) {
        free(d->path);
        if (d->memfd >= 0)
            close(d->memfd);
        free(d);
        return NULL;
    }
    d->next = s->dirs;
    s->dirs = d;
    return d;
}

static int fd_add(plsim *s, int base, pl_inode *ino, pl_dir *dir, int writable)
{
    int fd = fcntl(base, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    if ((size_t)fd >= s->nfds) {
        size_t n = (size_t)fd + 64;
        pl_fd *t = realloc(s->fds, n * sizeof *t);
        if (!t) {
            close(fd);
            return -ENOMEM;
        }
        memset(t + s->nfds, 0, (n - s->nfds) * sizeof *t);
        s->fds = t;
        s->nfds = n;
    }
    s->fds[fd].used = 1;
    s->fds[fd].writable = writable;
    s->fds[fd].ino = ino;
    s->fds[fd].dir = dir;
    return fd;
}

static pl_fd *fd_get(plsim *s, int fd)
{
    if (fd < 0 || (size_t)fd >= s->nfds || !s->fds[fd].used)
        return NULL;
    return &s->fds[fd];
}

static pl_inode *fd_ino(plsim *s, int fd)
{
    pl_fd *f = fd_get(s, fd);
    return f ? f->ino : NULL;
}

static pl_dir *fd_dir(plsim *s, int fd)
{
    pl_fd *f = fd_get(s, fd);
    return f ? f->dir : NULL;
}

static pl_map *map_get(plsim *s, void *addr)
{
    size_t i;
    for (i = 0; i < s->nmaps; i++)
        if (s->maps[i].addr == addr)
            return &s->maps[i];
    return NULL;
}

/* Before each call: the versions written through mappings since the last. */
static void sample_mapped(plsim *s)
{
    pl_inode *ino;
    for (ino = s->inodes; ino; ino = ino->next)
        if (ino->maps_w > 0)
            (void)sample(s, ino);
}

/*-******************* the table *******************/
#define ENTER(op)                                                             \
    plsim *s = S(io);                                                         \
    long rc_ = 0;                                                             \
    if (s->hook)                                                              \
        s->hook(s, (op), 0, 0, s->hook_payload);                              \
    pthread_mutex_lock(&s->mu);                                               \
    s->calls++;                                                               \
    sample_mapped(s)

#define LEAVE_AS(type, op, rc)                                                \
    do {                                                                      \
        rc_ = (long)(rc);                                                     \
        pthread_mutex_unlock(&s->mu);                                         \
        if (s->hook)                                                          \
            s->hook(s, (op), 1, rc_, s->hook_payload);                        \
        return (type)rc_;                                                     \
    } while (0)
#define LEAVE(op, rc) LEAVE_AS(int, op, rc)
#define LEAVEL(op, rc) LEAVE_AS(long, op, rc)

static int sim_open_dir(const struct evlog_io *io, const char *path, int create)
{
    pl_dir *d;
    int rc;
    ENTER(EVREL_OP_OPEN_DIR);
    d = dir_find(s, path);
    if (!d && !create)
        LEAVE(EVREL_OP_OPEN_DIR, -ENOENT);
    if (!d && !(d = dir_new(s, path)))
        LEAVE(EVREL_OP_OPEN_DIR, -ENOMEM);
    rc = fd_add(s, d->memfd, NULL, d, 0);
    LEAVE(EVREL_OP_OPEN_DIR, rc);
}

static int sim_list(const struct evlog_io *io, int dirfd, evl_list_cb cb, void *payload)
{
    pl_dir *d;
    char (*names)[96] = NULL;
    size_t n = 0, i;
    int rc = 0;
    ENTER(EVREL_OP_LIST);
    if (!(d = fd_dir(s, dirfd)))
        LEAVE(EVREL_OP_LIST, -EBADF);
    if (d->vol.n && !(names = malloc(d->vol.n * sizeof *names)))
        LEAVE(EVREL_OP_LIST, -ENOMEM);
    for (i = 0; i < d->vol.n; i++)
        memcpy(names[n++], d->vol.v[i].name, sizeof names[0]);
    pthread_mutex_unlock(&s->mu); /* the callback may call the table */
    for (i = 0; i < n && rc == 0; i++)
        rc = cb(names[i], payload);
    free(names);
    pthread_mutex_lock(&s->mu);
    LEAVE(EVREL_OP_LIST, rc);
}

static int sim_open(const struct evlog_io *io, int dirfd, const char *name, int flags)
{
    pl_dir *d;
    pl_dent *e;
    pl_inode *ino;
    int rc;
    ENTER(EVREL_OP_OPEN);
    if (!(d = fd_dir(s, dirfd)))
        LEAVE(EVREL_OP_OPEN, -EBADF);
    if (strlen(name) >= sizeof e->name || strchr(name, '/'))
        LEAVE(EVREL_OP_OPEN, -ENAMETOOLONG);
    e = ns_find(&d->vol, name);
    if (e && (flags & EVL_O_CREAT) && (flags & EVL_O_EXCL))
        LEAVE(EVREL_OP_OPEN, -EEXIST);
    if (!e && !(flags & EVL_O_CREAT))
        LEAVE(EVREL_OP_OPEN, -ENOENT);
    if (e) {
        ino = e->ino;
    } else {
        if (!(ino = inode_new(s)))
            LEAVE(EVREL_OP_OPEN, -ENOMEM);
        if ((rc = sample(s, ino)) != 0 || (rc = dir_log(d, DOP_CREATE, name, NULL, ino)) != 0)
            LEAVE(EVREL_OP_OPEN, rc);
    }
    rc = fd_add(s, ino->memfd, ino, NULL, (flags & EVL_O_RDWR) != 0);
    LEAVE(EVREL_OP_OPEN, rc);
}

static int sim_close(const struct evlog_io *io, int fd)
{
    pl_fd *f;
    ENTER(EVREL_OP_CLOSE);
    if (!(f = fd_get(s, fd)))
        LEAVE(EVREL_OP_CLOSE, -EBADF);
    if (f->ino && f->ino->lock_fd == fd)
        f->ino->lock_fd = -1;
    memset(f, 0, sizeof *f);
    close(fd);
    LEAVE(EVREL_OP_CLOSE, 0);
}

static long sim_pread(const struct evlog_io *io, int fd, void *buf, size_t n, uint64_t off)
{
    pl_inode *ino;
    size_t done = 0;
    ENTER(EVREL_OP_PREAD);
    if (!(ino = fd_ino(s, fd)))
        LEAVEL(EVREL_OP_PREAD, -EBADF);
    while (done < n) {
        ssize_t r = pread(ino->memfd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0)
            LEAVEL(EVREL_OP_PREAD, -errno);
        if (r == 0)
            break;
        done += (size_t)r;
    }
    LEAVEL(EVREL_OP_PREAD, done);
}

static long sim_pwrite(const struct evlog_io *io, int fd, const void *buf, size_t n, uint64_t off)
{
    pl_fd *f;
    size_t done = 0;
    ENTER(EVREL_OP_PWRITE);
    if (!(f = fd_get(s, fd)) || !f->ino || !f->writable)
        LEAVEL(EVREL_OP_PWRITE, -EBADF);
    while (done < n) {
        ssize_t r = pwrite(f->ino->memfd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0)
            LEAVEL(EVREL_OP_PWRITE, -errno);
        done += (size_t)r;
    }
    (void)sample(s, f->ino);
    LEAVEL(EVREL_OP_PWRITE, done);
}

static int sim_size(const struct evlog_io *io, int fd, uint64_t *out)
{
    pl_inode *ino;
    ENTER(EVREL_OP_SIZE);
    if (!(ino = fd_ino(s, fd)))
        LEAVE(EVREL_OP_SIZE, -EBADF);
    *out = vsize_of(ino);
    LEAVE(EVREL_OP_SIZE, 0);
}

static int sim_allocate(const struct evlog_io *io, int fd, uint64_t len)
{
    pl_fd *f;
    ENTER(EVREL_OP_ALLOCATE);
    if (!(f = fd_get(s, fd)) || !f->ino || !f->writable)
        LEAVE(EVREL_OP_ALLOCATE, -EBADF);
    if (len > vsize_of(f->ino) && ftruncate(f->ino->memfd, (off_t)len) != 0)
        LEAVE(EVREL_OP_ALLOCATE, -errno);
    (void)sample(s, f->ino);
    LEAVE(EVREL_OP_ALLOCATE, 0);
}

static int sim_truncate(const struct evlog_io *io, int fd, uint64_t len)
{
    pl_fd *f;
    ENTER(EVREL_OP_TRUNCATE);
    if (!(f = fd_get(s, fd)) || !f->ino || !f->writable)
        LEAVE(EVREL_OP_TRUNCATE, -EBADF);
    if (ftruncate(f->ino->memfd, (off_t)len) != 0)
        LEAVE(EVREL_OP_TRUNCATE, -errno);
    (void)sample(s, f->ino);
    LEAVE(EVREL_OP_TRUNCATE, 0);
}

static int sim_zero(const struct evlog_io *io, int fd, uint64_t off, uint64_t len)
{
    pl_fd *f;
    ENTER(EVREL_OP_ZERO);
    if (!(f = fd_get(s, fd)) || !f->ino || !f->writable)
        LEAVE(EVREL_OP_ZERO, -EBADF);
    if (len && fallocate(f->ino->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                         (off_t)len) != 0)
        LEAVE(EVREL_OP_ZERO, -errno);
    (void)sample(s, f->ino);
    LEAVE(EVREL_OP_ZERO, 0);
}

static int sim_map(const struct evlog_io *io, int fd, uint64_t len, int writable, void **out)
{
    pl_fd *f;
    void *p;
    ENTER(EVREL_OP_MAP);
    if (!(f = fd_get(s, fd)) || !f->ino)
        LEAVE(EVREL_OP_MAP, -EBADF);
    if (writable && !f->writable)
        LEAVE(EVREL_OP_MAP, -EACCES);
    if (len == 0)
        LEAVE(EVREL_OP_MAP, -EINVAL);
    if (grow((void **)&s->maps, &s->capmaps, s->nmaps + 1, sizeof *s->maps))
        LEAVE(EVREL_OP_MAP, -ENOMEM);
    p = mmap(NULL, (size_t)len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
             f->ino->memfd, 0);
    if (p == MAP_FAILED)
        LEAVE(EVREL_OP_MAP, -errno);
    s->maps[s->nmaps].addr = p;
    s->maps[s->nmaps].len = len;
    s->maps[s->nmaps].ino = f->ino;
    s->maps[s->nmaps].writable = writable;
    s->nmaps++;
    if (writable)
        f->ino->maps_w++;
    *out = p;
    LEAVE(EVREL_OP_MAP, 0);
}

static int sim_unmap(const struct evlog_io *io, void *addr, uint64_t len)
{
    pl_map *m;
    ENTER(EVREL_OP_UNMAP);
    if (!(m = map_get(s, addr)) || m->len != len)
        LEAVE(EVREL_OP_UNMAP, -EINVAL);
    /* what was written through the mapping stays in the page cache, dirty,
     * as with munmap of a real file (sample_mapped recorded it) */
    if (m->writable)
        m->ino->maps_w--;
    munmap(addr, (size_t)len);
    *m = s->maps[--s->nmaps];
    LEAVE(EVREL_OP_UNMAP, 0);
}

static int sim_msync(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    pl_map *m;
    int rc;
    ENTER(EVREL_OP_MSYNC);
    s->syncs++;
    if (!(m = map_get(s, addr)))
        LEAVE(EVREL_OP_MSYNC, -EINVAL);
    if (off > m->len || len > m->len - off)
        LEAVE(EVREL_OP_MSYNC, -ENOMEM);
    if (len == 0)
        LEAVE(EVREL_OP_MSYNC, 0);
    rc = make_durable(s, m->ino, off / PAGE, (off + len + PAGE - 1) / PAGE);
    LEAVE(EVREL_OP_MSYNC, rc);
}

static void sim_prefault(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    ENTER(EVREL_OP_PREFAULT);
    (void)addr; (void)off; (void)len; (void)rc_;
    pthread_mutex_unlock(&s->mu);
    if (s->hook)
        s->hook(s, EVREL_OP_PREFAULT, 1, 0, s->hook_payload);
}

/* The page cache keeps the bytes either way: nothing to simulate. */
static void sim_drop(const struct evlog_io *io, void *addr, uint64_t off, uint64_t len)
{
    ENTER(EVREL_OP_DROP);
    (void)addr; (void)off; (void)len; (void)rc_;
    pthread_mutex_unlock(&s->mu);
    if (s->hook)
        s->hook(s, EVREL_OP_DROP, 1, 0, s->hook_payload);
}

/* Called on a file synced whole: what a read gets is what the disk holds
 * either way. */
static void sim_uncache(const struct evlog_io *io, int fd, uint64_t off, uint64_t len)
{
    ENTER(EVREL_OP_UNCACHE);
    (void)fd; (void)off; (void)len; (void)rc_;
    pthread_mutex_unlock(&s->mu);
    if (s->hook)
        s->hook(s, EVREL_OP_UNCACHE, 1, 0, s->hook_payload);
}

static int sim_sync_dir_locked(pl_dir *d)
{
    int rc = ns_copy(&d->dur, &d->vol);
    if (rc == 0)
        d->nops = 0;
    return rc;
}

static int sim_fsync(const struct evlog_io *io, int fd)
{
    pl_fd *f;
    int rc;
    ENTER(EVREL_OP_FSYNC);
    s->syncs++;
    if (!(f = fd_get(s, fd)))
        LEAVE(EVREL_OP_FSYNC, -EBADF);
    if (f->dir)
        rc = sim_sync_dir_locked(f->dir);
    else
        rc = make_durable(s, f->ino, 0, UINT64_MAX / PAGE);
    LEAVE(EVREL_OP_FSYNC, rc);
}

static int sim_sync_dir(const struct evlog_io *io, int dirfd)
{
    pl_dir *d;
    ENTER(EVREL_OP_SYNC_DIR);
    s->syncs++;
    if (!(d = fd_dir(s, dirfd)))
        LEAVE(EVREL_OP_SYNC_DIR, -EBADF);
    LEAVE(EVREL_OP_SYNC_DIR, sim_sync_dir_locked(d));
}

static int sim_rename(const struct evlog_io *io, int dirfd, const char *from, const char *to)
{
    pl_dir *d;
    ENTER(EVREL_OP_RENAME);
    if (!(d = fd_dir(s, dirfd)))
        LEAVE(EVREL_OP_RENAME, -EBADF);
    if (!ns_find(&d->vol, from))
        LEAVE(EVREL_OP_RENAME, -ENOENT);
    if (strlen(to) >= sizeof d->ops[0].b || strchr(to, '/'))
        LEAVE(EVREL_OP_RENAME, -ENAMETOOLONG);
    if (strcmp(from, to) == 0)
        LEAVE(EVREL_OP_RENAME, 0);
    LEAVE(EVREL_OP_RENAME, dir_log(d, DOP_RENAME, from, to, NULL));
}

static int sim_unlink(const struct evlog_io *io, int dirfd, const char *name)
{
    pl_dir *d;
    ENTER(EVREL_OP_UNLINK);
    if (!(d = fd_dir(s, dirfd)))
        LEAVE(EVREL_OP_UNLINK, -EBADF);
    if (!ns_find(&d->vol, name))
        LEAVE(EVREL_OP_UNLINK, -ENOENT);
    LEAVE(EVREL_OP_UNLINK, dir_log(d, DOP_UNLINK, name, NULL, NULL));
}

static int sim_lock(const struct evlog_io *io, int fd)
{
    pl_inode *ino;
    ENTER(EVREL_OP_LOCK);
    if (!(ino = fd_ino(s, fd)))
        LEAVE(EVREL_OP_LOCK, -EBADF);
    if (ino->lock_fd >= 0 && ino->lock_fd != fd)
        LEAVE(EVREL_OP_LOCK, -EWOULDBLOCK);
    ino->lock_fd = fd;
    LEAVE(EVREL_OP_LOCK, 0);
}

/*-******************* life cycle *******************/
plsim *plsim_new(void)
{
    static const struct evlog_io table = {
        sim_open_dir, sim_list, sim_open, sim_close, sim_pread, sim_pwrite, sim_size,
        sim_allocate, sim_truncate, sim_zero, sim_map, sim_unmap, sim_msync, sim_prefault, sim_drop,
        sim_uncache, sim_fsync, sim_sync_dir, sim_rename, sim_unlink, sim_lock, NULL,
    };
    plsim *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->io = table;
    s->io.ctx = s;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void plsim_free(plsim *s)
{
    size_t i;
    if (!s)
        return;
    for (i = 0; i < s->nmaps; i++)
        munmap(s->maps[i].addr, (size_t)s->maps[i].len);
    for (i = 0; i < s->nfds; i++)
        if (s->fds[i].used)
            close((int)i);
    while (s->inodes) {
        pl_inode *ino = s->inodes;
        s->inodes = ino->next;
        close(ino->memfd);
        while (ino->nvers)
            drop_version(ino, ino->nvers - 1);
        free(ino->vers);
        free(ino->sizes);
        free(ino->dur);
        free(ino);
    }
    while (s->dirs) {
        pl_dir *d = s->dirs;
        s->dirs = d->next;
        close(d->memfd);
        free(d->path);
        free(d->dur.v);
        free(d->vol.v);
        free(d->ops);
        free(d);
    }
    free(s->fds);
    free(s->maps);
    free(s->scratch);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const struct evlog_io *plsim_io(plsim *s) { return &s->io; }

void plsim_set_hook(plsim *s, plsim_hook fn, void *payload)
{
    pthread_mutex_lock(&s->mu);
    s->hook = fn;
    s->hook_payload = payload;
    pthread_mutex_unlock(&s->mu);
}

uint64_t plsim_calls(const plsim *s) { return s->calls; }
uint64_t plsim_syncs(const plsim *s) { return s->syncs; }

int plsim_load(plsim *s, const char *path, const pl_image *img)
{
    pl_dir *d;
    size_t i;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (!(d = dir_find(s, path)) && !(d = dir_new(s, path))) {
        rc = -ENOMEM;
        goto out;
    }
    for (i = 0; i < img->n && rc == 0; i++) {
        const pl_file *f = &img->files[i];
        pl_inode *ino = inode_new(s);
        if (!ino || !(ino->dur = malloc((size_t)f->len + 1))) {
            rc = -ENOMEM;
            break;
        }
        if (f->len)
            memcpy(ino->dur, f->data, (size_t)f->len);
        ino->dsize = f->len;
        if (f->len && pwrite(ino->memfd, f->data, (size_t)f->len, 0) != (ssize_t)f->len)
            rc = -EIO;
        if (rc == 0)
            rc = sample(s, ino);
        if (rc == 0)
            rc = ns_put(&d->vol, f->name, ino);
    }
    if (rc == 0)
        rc = sim_sync_dir_locked(d);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/*-******************* crashes *******************/
/* The content `ino` may have after the crash, into a new buffer. */
static int crash_file(plsim *s, pl_inode *ino, int mode, uint64_t *rs, uint8_t **out,
                      uint64_t *outlen, pl_crash_stats *st)
{
    uint64_t len, size, p, np;
    uint8_t *buf, *cand[MAX_VERSIONS_PER_PAGE + 2];
    uint8_t old[PAGE], cur[PAGE];
    size_t i, nc;
    int rc = read_cur(s, ino, &len);
    if (rc)
        return rc;
    if (mode == PL_CRASH_KEEP_ALL) {
        size = len;
    } else if (mode == PL_CRASH_LOSE_ALL) {
        size = ino->dsize;
    } else {
        /* the durable size or any size seen since */
        uint64_t k = rnd(rs) % (ino->nsizes + 1);
        size = k == ino->nsizes ? ino->dsize : ino->sizes[k];
    }
    if (size != len)
        st->sizes_changed++;
    if (!(buf = calloc(1, (size_t)size + 1)))
        return -ENOMEM;
    np = (size + PAGE - 1) / PAGE;
    for (p = 0; p < np; p++) {
        uint8_t page[PAGE];
        int differs = 0;
        page_of(old, ino->dur, ino->dsize, p);
        page_of(cur, s->scratch, len, p);
        nc = 0;
        cand[nc++] = old;
        for (i = 0; i < ino->nvers; i++)
            if (ino->vers[i].page == p)
                cand[nc++] = ino->vers[i].bytes;
        cand[nc++] = cur;
        for (i = 1; i < nc; i++)
            differs |= memcmp(cand[i], old, PAGE) != 0;
        if (!differs || mode == PL_CRASH_LOSE_ALL) {
            memcpy(page, old, PAGE);
        } else if (mode == PL_CRASH_KEEP_ALL) {
            memcpy(page, cur, PAGE);
        } else {
            unsigned r = (unsigned)(rnd(rs) % 4);
            st->dirty_pages++;
            if (r == 2 && nc == 2)
                r = 1; /* no intermediate version: keep the last */
            if (r == 0) {
                memcpy(page, old, PAGE);
                st->lost++;
            } else if (r == 1) {
                memcpy(page, cur, PAGE);
                st->kept++;
            } else if (r == 2) {
                memcpy(page, cand[1 + rnd(rs) % (nc - 2)], PAGE);
                st->intermediate++;
            } else {
                /* two different versions, mixed sector by sector */
                size_t a = (size_t)(rnd(rs) % nc), b = (size_t)(rnd(rs) % nc);
                unsigned sct;
                if (a == b)
                    b = (a + 1) % nc;
                for (sct = 0; sct < PAGE / SECTOR; sct++)
                    memcpy(page + sct * SECTOR, (rnd(rs) & 1 ? cand[a] : cand[b]) + sct * SECTOR,
                           SECTOR);
                st->torn++;
            }
        }
        memcpy(buf + p * PAGE, page, (size_t)(size - p * PAGE < PAGE ? size - p * PAGE : PAGE));
    }
    *out = buf;
    *outlen = size;
    return 0;
}

int plsim_crash(plsim *s, const char *path, int mode, uint64_t seed, pl_image **out,
                pl_crash_stats *st)
{
    pl_crash_stats dummy;
    pl_ns ns = {0};
    pl_image *img = NULL;
    pl_dir *d;
    uint64_t rs = seed * 0x2545f4914f6cdd1dull + 1;
    size_t keep, i;
    int rc = 0;

    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    sample_mapped(s);
    if (!(d = dir_find(s, path))) {
        rc = -ENOENT;
        goto out;
    }
    if (mode == PL_CRASH_KEEP_ALL)
        keep = d->nops;
    else if (mode == PL_CRASH_LOSE_ALL)
        keep = 0;
    else
        keep = (size_t)(rnd(&rs) % (d->nops + 1));
    st->dir_ops_undone = d->nops - keep;
    if ((rc = ns_copy(&ns, &d->dur)) != 0)
        goto out;
    for (i = 0; i < keep && rc == 0; i++)
        rc = ns_apply(&ns, &d->ops[i]);
    if (rc || !(img = pl_image_new())) {
        rc = rc ? rc : -ENOMEM;
        goto out;
    }
    for (i = 0; i < ns.n && rc == 0; i++) {
        uint8_t *data = NULL;
        uint64_t len = 0;
        if ((rc = crash_file(s, ns.v[i].ino, mode, &rs, &data, &len, st)) == 0) {
            rc = pl_image_put(img, ns.v[i].name, data, len);
            free(data);
        }
    }
out:
    pthread_mutex_unlock(&s->mu);
    free(ns.v);
    if (rc) {
        pl_image_free(img);
        return rc;
    }
    *out = img;
    return 0;
}

/*-******************* images *******************/
pl_image *pl_image_new(void) { return calloc(1, sizeof(pl_image)); }

void pl_image_free(pl_image *img)
{
    size_t i;
    if (!img)
        return;
    for (i = 0; i < img->n; i++)
        free(img->files[i].data);
    free(img->files);
    free(img);
}

pl_file *pl_image_find(const pl_image *img, const char *name)
{
    size_t i;
    for (i = 0; i < img->n; i++)
        if (strcmp(img->files[i].name, name) == 0)
            return &img->files[i];
    return NULL;
}

int pl_image_put(pl_image *img, const char *name, const void *data, uint64_t len)
{
    pl_file *f = pl_image_find(img, name);
    uint8_t *copy = malloc((size_t)len + 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, (size_t)len);
    if (!f) {
        pl_file *t = realloc(img->files, (img->n + 1) * sizeof *t);
        if (!t) {
            free(copy);
            return -ENOMEM;
        }
        img->files = t;
        f = &img->files[img->n++];
        snprintf(f->name, sizeof f->name, "%s", name);
    } else {
        free(f->data);
    }
    f->data = copy;
    f->len = len;
    return 0;
}

pl_image *pl_image_dup(const pl_image *img)
{
    pl_image *c = pl_image_new();
    size_t i;
    for (i = 0; c && i < img->n; i++)
        if (pl_image_put(c, img->files[i].name, img->files[i].data, img->files[i].len) != 0) {
            pl_image_free(c);
            return NULL;
        }
    return c;
}

int pl_image_write_dir(const pl_image *img, const char *dir)
{
    DIR *dp;
    struct dirent *de;
    size_t i;
    int dfd;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    if (!(dp = opendir(dir)))
        return -errno;
    dfd = dirfd(dp);
    while ((de = readdir(dp)) != NULL)
        if (de->d_name[0] != '.' || (de->d_name[1] && strcmp(de->d_name, "..") != 0))
            (void)unlinkat(dfd, de->d_name, 0);
    for (i = 0; i < img->n; i++) {
        const pl_file *f = &img->files[i];
        int fd = openat(dfd, f->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        uint64_t done = 0;
        if (fd < 0) {
            int e = -errno;
            closedir(dp);
            return e;
        }
        while (done < f->len) {
            ssize_t w = write(fd, f->data + done, (size_t)(f->len - done));
            if (w <= 0) {
                close(fd);
                closedir(dp);
                return -EIO;
            }
            done += (uint64_t)w;
        }
        close(fd);
    }
    closedir(dp);
    return 0;
}

int pl_image_read_dir(pl_image **out, const char *dir)
{
    DIR *dp;
    struct dirent *de;
    pl_image *img;
    int rc = 0;
    *out = NULL;
    if (!(dp = opendir(dir)))
        return -errno;
    if (!(img = pl_image_new())) {
        closedir(dp);
        return -ENOMEM;
    }
    while (rc == 0 && (de = readdir(dp)) != NULL) {
        struct stat st;
        uint8_t *data;
        int fd;
        if (fstatat(dirfd(dp), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if ((fd = openat(dirfd(dp), de->d_name, O_RDONLY | O_CLOEXEC)) < 0) {
            rc = -errno;
            break;
        }
        data = malloc((size_t)st.st_size + 1);
        if (!data || pread(fd, data, (size_t)st.st_size, 0) != st.st_size)
            rc = data ? -EIO : -ENOMEM;
        else
            rc = pl_image_put(img, de->d_name, data, (uint64_t)st.st_size);
        free(data);
        close(fd);
    }
    closedir(dp);
    if (rc) {
        pl_image_free(img);
        return rc;
    }
    *out = img;
    return 0;
}
