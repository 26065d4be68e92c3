/*
 * test_relio.c - the self-tests of the two test I/O layers: faultio (fail
 * the Nth call) and plsim (power loss). The engine's proofs are only as good
 * as these layers, so each promise of faultio.h and plsim.h is checked here
 * without the engine.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultio.h"
#include "plsim.h"

#define PG 4096u
#define DIR_ "/sim/log"

static char tmpdir[256];

static void tmp_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/evrel-io-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void tmp_fini(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    (void)system(cmd);
}

/*-******************* faultio *******************/
TestSuite(faultio, .init = tmp_init, .fini = tmp_fini);

Test(faultio, fails_the_nth_call_once)
{
    faultio *f = faultio_new(&evl_io_posix);
    const struct evlog_io *io = faultio_io(f);
    int dfd, fd, i, fails = 0;
    char buf[8];
    faultio_arm(f, 3, EIO, 0, FAULTIO_OPS_EIO);
    dfd = io->open_dir(io, tmpdir, 0); /* call 1 */
    cr_assert_geq(dfd, 0);
    fd = io->open(io, dfd, "a", EVL_O_RDWR | EVL_O_CREAT); /* call 2 */
    cr_assert_geq(fd, 0);
    for (i = 0; i < 5; i++) /* calls 3..7: only the first fails */
        fails += io->pwrite(io, fd, "abcdefgh", 8, 0) == -EIO;
    cr_assert_eq(fails, 1);
    cr_assert_eq(faultio_fired(f), 1);
    cr_assert_eq(faultio_first_op(f), EVREL_OP_PWRITE);
    cr_assert_eq(io->pread(io, fd, buf, 8, 0), 8);
    cr_assert_eq(memcmp(buf, "abcdefgh", 8), 0);
    cr_assert_eq(faultio_calls(f), 8);
    io->close(io, fd);
    io->close(io, dfd);
    faultio_free(f);
}

Test(faultio, persistent_failure_and_mask)
{
    faultio *f = faultio_new(&evl_io_posix);
    const struct evlog_io *io = faultio_io(f);
    int dfd, fd, i;
    /* only pwrite is counted; from the 2nd on, all fail with ENOSPC */
    faultio_arm(f, 2, ENOSPC, 1, EVREL_OP_BIT(EVREL_OP_PWRITE));
    dfd = io->open_dir(io, tmpdir, 0);
    fd = io->open(io, dfd, "a", EVL_O_RDWR | EVL_O_CREAT);
    cr_assert_geq(fd, 0);
    cr_assert_eq(io->pwrite(io, fd, "x", 1, 0), 1);
    for (i = 0; i < 4; i++)
        cr_assert_eq(io->pwrite(io, fd, "x", 1, 0), -ENOSPC);
    cr_assert_eq(io->fsync(io, fd), 0);
    cr_assert_eq(faultio_calls(f), 5);
    cr_assert_eq(faultio_fired(f), 4);
    faultio_disarm(f);
    cr_assert_eq(io->pwrite(io, fd, "x", 1, 0), 1);
    /* a failed close still closes */
    faultio_arm(f, 1, EINTR, 0, FAULTIO_OPS_EINTR);
    cr_assert_eq(io->close(io, fd), -EINTR);
    cr_assert_eq(evl_io_posix.close(&evl_io_posix, fd), -EBADF);
    io->close(io, dfd);
    faultio_free(f);
}

/*-******************* plsim *******************/
static plsim *sim;
static const struct evlog_io *io;
static int dfd;

static void sim_init(void)
{
    sim = plsim_new();
    cr_assert_not_null(sim);
    io = plsim_io(sim);
    dfd = io->open_dir(io, DIR_, 1);
    cr_assert_geq(dfd, 0);
}

static void sim_fini(void)
{
    plsim_free(sim);
}

TestSuite(plsim, .init = sim_init, .fini = sim_fini);

static int wfile(const char *name, const void *data, size_t n)
{
    int fd = io->open(io, dfd, name, EVL_O_RDWR | EVL_O_CREAT);
    cr_assert_geq(fd, 0);
    cr_assert_eq(io->pwrite(io, fd, data, n, 0), (long)n);
    return fd;
}

static pl_image *crash(int mode, uint64_t seed)
{
    pl_image *img = NULL;
    cr_assert_eq(plsim_crash(sim, DIR_, mode, seed, &img, NULL), 0);
    return img;
}

Test(plsim, create_needs_sync_dir_and_data_needs_fsync)
{
    pl_image *img;
    int fd = wfile("a", "hello", 5);
    img = crash(PL_CRASH_LOSE_ALL, 1);
    cr_assert_null(pl_image_find(img, "a"), "a file never synced in its directory survived");
    pl_image_free(img);
    img = crash(PL_CRASH_KEEP_ALL, 1);
    cr_assert_eq(pl_image_find(img, "a")->len, 5);
    pl_image_free(img);

    cr_assert_eq(io->sync_dir(io, dfd), 0);
    img = crash(PL_CRASH_LOSE_ALL, 1);
    cr_assert_not_null(pl_image_find(img, "a"));
    cr_assert_eq(pl_image_find(img, "a")->len, 0, "data never fsynced survived");
    pl_image_free(img);

    cr_assert_eq(io->fsync(io, fd), 0);
    img = crash(PL_CRASH_LOSE_ALL, 1);
    cr_assert_eq(pl_image_find(img, "a")->len, 5);
    cr_assert_eq(memcmp(pl_image_find(img, "a")->data, "hello", 5), 0);
    pl_image_free(img);
    io->close(io, fd);
}

Test(plsim, msync_makes_only_its_pages_durable)
{
    uint8_t *m;
    pl_image *img;
    pl_file *f;
    int fd = io->open(io, dfd, "seg", EVL_O_RDWR | EVL_O_CREAT);
    cr_assert_eq(io->allocate(io, fd, 3 * PG), 0);
    cr_assert_eq(io->fsync(io, fd), 0);
    cr_assert_eq(io->sync_dir(io, dfd), 0);
    cr_assert_eq(io->map(io, fd, 3 * PG, 1, (void **)&m), 0);
    memset(m, 'a', 3 * PG);
    cr_assert_eq(io->msync(io, m, PG + 10, 20), 0); /* page 1 only */
    img = crash(PL_CRASH_LOSE_ALL, 1);
    f = pl_image_find(img, "seg");
    cr_assert_eq(f->len, 3 * PG);
    cr_assert_eq(f->data[0], 0);
    cr_assert_eq(f->data[PG], 'a');
    cr_assert_eq(f->data[2 * PG - 1], 'a');
    cr_assert_eq(f->data[2 * PG], 0);
    pl_image_free(img);
    /* a mapping and pread see the same page cache */
    {
        char c;
        uint8_t *m2;
        cr_assert_eq(io->pread(io, fd, &c, 1, 2 * PG), 1);
        cr_assert_eq(c, 'a');
        cr_assert_eq(io->map(io, fd, 3 * PG, 0, (void **)&m2), 0);
        m[5] = 'z';
        cr_assert_eq(m2[5], 'z');
        cr_assert_eq(io->unmap(io, m2, 3 * PG), 0);
    }
    /* after unmap the writes stay in the page cache, not durable */
    cr_assert_eq(io->unmap(io, m, 3 * PG), 0);
    img = crash(PL_CRASH_KEEP_ALL, 1);
    cr_assert_eq(pl_image_find(img, "seg")->data[5], 'z');
    pl_image_free(img);
    img = crash(PL_CRASH_LOSE_ALL, 1);
    cr_assert_eq(pl_image_find(img, "seg")->data[5], 0);
    pl_image_free(img);
    io->close(io, fd);
}

/* Every sector of every page after a random crash is the same sector of a
 * version the page had; all four outcomes appear over many seeds. */
Test(plsim, random_crashes_only_mix_real_versions)
{
    uint8_t *m, vers[4][PG];
    uint64_t seed, lost = 0, kept = 0, inter = 0, torn = 0;
    int fd = io->open(io, dfd, "seg", EVL_O_RDWR | EVL_O_CREAT);
    size_t size;
    int v;
    cr_assert_eq(io->allocate(io, fd, 2 * PG), 0);
    cr_assert_eq(io->map(io, fd, 2 * PG, 1, (void **)&m), 0);
    memset(vers[0], 0, PG);
    for (v = 1; v < 4; v++)
        memset(vers[v], 'a' + v, PG);
    memset(m, 0, 2 * PG);
    cr_assert_eq(io->fsync(io, fd), 0);
    cr_assert_eq(io->sync_dir(io, dfd), 0);
    for (v = 1; v < 4; v++) {
        memcpy(m + PG, vers[v], PG);
        (void)io->size(io, fd, &(uint64_t){0}); /* any call samples the mapping */
    }
    for (seed = 0; seed < 400; seed++) {
        pl_crash_stats st;
        pl_image *img = NULL;
        pl_file *f;
        unsigned s;
        cr_assert_eq(plsim_crash(sim, DIR_, PL_CRASH_RANDOM, seed, &img, &st), 0);
        f = pl_image_find(img, "seg");
        cr_assert_eq(f->len, 2 * PG);
        cr_assert_eq(st.dir_ops_undone, 0);
        cr_assert_eq(st.dirty_pages, 1, "only page 1 is dirty");
        for (s = 0; s < PG / 512; s++) {
            int ok = 0;
            for (v = 0; v < 4; v++)
                ok |= memcmp(f->data + PG + s * 512, vers[v] + s * 512, 512) == 0;
            cr_assert(ok, "seed %llu sector %u is no version's", (unsigned long long)seed, s);
        }
        lost += st.lost;
        kept += st.kept;
        inter += st.intermediate;
        torn += st.torn;
        pl_image_free(img);
    }
    cr_assert(lost && kept && inter && torn, "%llu %llu %llu %llu", (unsigned long long)lost,
              (unsigned long long)kept, (unsigned long long)inter, (unsigned long long)torn);
    size = 2 * PG;
    cr_assert_eq(io->unmap(io, m, size), 0);
    io->close(io, fd);
}

Test(plsim, rename_is_atomic_and_needs_sync_dir)
{
    uint64_t seed;
    int fd = wfile("idx", "old", 3), fd2, saw_old = 0, saw_new = 0;
    cr_assert_eq(io->fsync(io, fd), 0);
    cr_assert_eq(io->sync_dir(io, dfd), 0);
    fd2 = wfile("idx.tmp", "new", 3);
    cr_assert_eq(io->fsync(io, fd2), 0);
    cr_assert_eq(io->rename(io, dfd, "idx.tmp", "idx"), 0);
    for (seed = 0; seed < 64; seed++) {
        pl_image *img = crash(PL_CRASH_RANDOM, seed);
        pl_file *f = pl_image_find(img, "idx");
        cr_assert_not_null(f);
        cr_assert_eq(f->len, 3);
        if (memcmp(f->data, "old", 3) == 0) {
            saw_old++;
        } else {
            cr_assert_eq(memcmp(f->data, "new", 3), 0);
            cr_assert_null(pl_image_find(img, "idx.tmp"));
            saw_new++;
        }
        pl_image_free(img);
    }
    cr_assert(saw_old && saw_new);
    cr_assert_eq(io->sync_dir(io, dfd), 0);
    for (seed = 0; seed < 16; seed++) {
        pl_image *img = crash(PL_CRASH_RANDOM, seed);
        cr_assert_eq(memcmp(pl_image_find(img, "idx")->data, "new", 3), 0);
        cr_assert_eq(img->n, 1);
        pl_image_free(img);
    }
    cr_assert_eq(io->unlink(io, dfd, "idx"), 0);
    cr_assert_eq(io->open(io, dfd, "idx", EVL_O_RDWR), -ENOENT);
    {
        pl_image *img = crash(PL_CRASH_LOSE_ALL, 0);
        cr_assert_not_null(pl_image_find(img, "idx"), "unlink undone by the crash");
        pl_image_free(img);
    }
    io->close(io, fd);
    io->close(io, fd2);
}

Test(plsim, truncation_may_be_lost)
{
    uint8_t buf[2 * PG];
    uint64_t seed;
    int fd, saw[2] = {0, 0};
    memset(buf, 'q', sizeof buf);
    fd = wfile("f", buf, sizeof buf);
    cr_assert_eq(io->fsync(io, fd), 0);
    cr_assert_eq(io->sync_dir(io, dfd), 0);
    cr_assert_eq(io->truncate(io, fd, PG), 0);
    for (seed = 0; seed < 64; seed++) {
        pl_image *img = crash(PL_CRASH_RANDOM, seed);
        pl_file *f = pl_image_find(img, "f");
        cr_assert(f->len == PG || f->len == 2 * PG);
        saw[f->len == PG]++;
        cr_assert_eq(f->data[PG - 1], 'q');
        pl_image_free(img);
    }
    cr_assert(saw[0] && saw[1]);
    cr_assert_eq(io->fsync(io, fd), 0);
    {
        pl_image *img = crash(PL_CRASH_RANDOM, 7);
        cr_assert_eq(pl_image_find(img, "f")->len, PG);
        pl_image_free(img);
    }
    io->close(io, fd);
}

Test(plsim, lock_excludes_a_second_descriptor)
{
    int a = io->open(io, dfd, "lock", EVL_O_RDWR | EVL_O_CREAT);
    int b = io->open(io, dfd, "lock", EVL_O_RDWR | EVL_O_CREAT);
    cr_assert_eq(io->lock(io, a), 0);
    cr_assert_eq(io->lock(io, b), -EWOULDBLOCK);
    io->close(io, a);
    cr_assert_eq(io->lock(io, b), 0);
    io->close(io, b);
    cr_assert_eq(io->open(io, dfd, "lock", EVL_O_RDWR | EVL_O_CREAT | EVL_O_EXCL), -EEXIST);
    cr_assert_eq(io->open_dir(io, "/sim/absent", 0), -ENOENT);
}

Test(plsim, read_only_descriptors_refuse_writes)
{
    int fd = wfile("f", "x", 1), ro;
    void *m;
    io->close(io, fd);
    ro = io->open(io, dfd, "f", EVL_O_RDONLY);
    cr_assert_eq(io->pwrite(io, ro, "y", 1, 0), -EBADF);
    cr_assert_eq(io->map(io, ro, PG, 1, &m), -EACCES);
    io->close(io, ro);
}

static int names_cb(const char *name, void *payload)
{
    (*(int *)payload)++;
    cr_assert(strcmp(name, "a") == 0 || strcmp(name, "b") == 0);
    return 0;
}

Test(plsim, list_and_load_and_images)
{
    pl_image *img = pl_image_new(), *back = NULL;
    plsim *s2 = plsim_new();
    const struct evlog_io *io2 = plsim_io(s2);
    char dir[300];
    int n = 0, d2, fd;
    pl_image_put(img, "a", "aaa", 3);
    pl_image_put(img, "b", "bb", 2);
    cr_assert_eq(plsim_load(s2, "/x", img), 0);
    d2 = io2->open_dir(io2, "/x", 0);
    cr_assert_eq(io2->list(io2, d2, names_cb, &n), 0);
    cr_assert_eq(n, 2);
    fd = io2->open(io2, d2, "a", EVL_O_RDWR);
    cr_assert_eq(io2->pwrite(io2, fd, "zzz", 3, 0), 3);
    {
        pl_image *c = NULL;
        cr_assert_eq(plsim_crash(s2, "/x", PL_CRASH_LOSE_ALL, 0, &c, NULL), 0);
        cr_assert_eq(memcmp(pl_image_find(c, "a")->data, "aaa", 3), 0, "loaded files are durable");
        pl_image_free(c);
    }
    snprintf(dir, sizeof dir, "%s/img", tmpdir);
    cr_assert_eq(pl_image_write_dir(img, dir), 0);
    cr_assert_eq(pl_image_read_dir(&back, dir), 0);
    cr_assert_eq(back->n, 2);
    cr_assert_eq(memcmp(pl_image_find(back, "b")->data, "bb", 2), 0);
    pl_image_free(back);
    pl_image_free(img);
    plsim_free(s2);
}

TestSuite(plsim_tmp, .init = tmp_init, .fini = tmp_fini);

struct hook_count {
    int before, after, last_op;
};

static void count_hook(plsim *s, evrel_op op, int phase, long rc, void *payload)
{
    struct hook_count *h = payload;
    (void)s;
    (void)rc;
    if (phase == 0)
        h->before++;
    else
        h->after++;
    h->last_op = (int)op;
}

Test(plsim_tmp, hook_sees_every_call)
{
    plsim *s = plsim_new();
    const struct evlog_io *i = plsim_io(s);
    struct hook_count h = {0, 0, -1};
    int d;
    plsim_set_hook(s, count_hook, &h);
    d = i->open_dir(i, "/h", 1);
    i->sync_dir(i, d);
    i->close(i, d);
    cr_assert_eq(h.before, 3);
    cr_assert_eq(h.after, 3);
    cr_assert_eq(h.last_op, EVREL_OP_CLOSE);
    cr_assert_eq(plsim_calls(s), 3);
    cr_assert_eq(plsim_syncs(s), 1);
    plsim_free(s);
}
