/*
 * plsim.h - a power-loss simulator: an I/O table (lib/os.h) over an
 * in-memory file system that knows what was made durable, and that can
 * produce, at any moment, a state a real machine could be left in if the
 * power failed then. It follows the crash models of SQLite's test6.c, of
 * RocksDB's FaultInjectionTestFS and of the ALICE and CrashMonkey studies.
 *
 * The model (Linux on a journalling file system, a device that honours
 * flushes):
 *  - Every file is a memfd: its content is the page cache. Mappings of a
 *    file share it, as MAP_SHARED mappings of a real file do, and reading
 *    past the end of a file through a mapping faults as it would.
 *  - Each file also has a durable content and size. msync of a range makes
 *    the pages of that range durable, fsync the whole file; both make the
 *    size durable (fdatasync keeps the metadata needed to read the data).
 *  - Between syncs the kernel may write a dirty page back at any moment, so
 *    the disk may hold any version the page had since its last sync. The
 *    simulator records the versions it can see: after each write through
 *    the table, and for pages written through a mapping at every call of
 *    the table (the engine's memcpy in between is not a call).
 *  - A crash keeps, for each page whose versions differ: the durable one
 *    (lost), the last one (kept), an intermediate one, or a mix of two at
 *    512-byte sector granularity (torn). The size is one the file had since
 *    its last sync.
 *  - Creating, renaming and deleting files changes the directory in memory;
 *    sync_dir makes the directory durable. A crash keeps a prefix of the
 *    directory operations since the last sync_dir, in order (a journal
 *    commits metadata in order). Creating the log directory itself is
 *    taken as durable: the table has no call to sync its parent.
 *
 * Thread-safe; the hook is called without the simulator's lock.
 */
#ifndef EVLOG_PLSIM_H
#define EVLOG_PLSIM_H

#include <stddef.h>
#include <stdint.h>

#include "relio.h"

typedef struct plsim plsim;

/* A set of files: a directory's content at a crash, or one to load. */
typedef struct pl_file {
    char name[96];
    uint8_t *data;
    uint64_t len;
} pl_file;

typedef struct pl_image {
    size_t n;
    pl_file *files;
} pl_image;

/* How a crash treats what was not made durable. */
#define PL_CRASH_LOSE_ALL 0 /* only what was synced survives */
#define PL_CRASH_KEEP_ALL 1 /* everything survives: what kill -9 leaves */
#define PL_CRASH_RANDOM 2   /* each page, size and directory change at random */

/* What a crash did. */
typedef struct pl_crash_stats {
    uint64_t dirty_pages; /* pages with more than one possible content */
    uint64_t kept, lost, intermediate, torn;
    uint64_t dir_ops_undone; /* directory operations not kept */
    uint64_t sizes_changed;  /* files whose size is not their last one */
} pl_crash_stats;

/* Called around each call of the table, before it (phase 0, rc 0) and
 * after it (phase 1 with its result), from the calling thread. */
typedef void (*plsim_hook)(plsim *s, evrel_op op, int phase, long rc, void *payload);

/* A new, empty file system. NULL on ENOMEM. */
plsim *plsim_new(void);
/* Free everything; NULL is a no-op. Tables, descriptors and mappings
 * handed out become invalid. */
void plsim_free(plsim *s);
/* The table for evlog_options.io; valid until plsim_free. */
const struct evlog_io *plsim_io(plsim *s);
void plsim_set_hook(plsim *s, plsim_hook fn, void *payload);

/* Make directory `path` hold exactly the files of `img`, all durable.
 * Returns 0 or a negative errno. */
int plsim_load(plsim *s, const char *path, const pl_image *img);

/*
 * A state directory `path` could be in after a power loss now, drawn with
 * `seed` in PL_CRASH_RANDOM mode. The simulator is not changed: the
 * workload may go on and crash again later. *out is a new image to free
 * with pl_image_free; `st` may be NULL. Returns 0, -ENOENT or -ENOMEM.
 */
int plsim_crash(plsim *s, const char *path, int mode, uint64_t seed, pl_image **out,
                pl_crash_stats *st);

/* Calls of the table so far, and syncs (msync, fsync, sync_dir) among them. */
uint64_t plsim_calls(const plsim *s);
uint64_t plsim_syncs(const plsim *s);

/* Images. */
void pl_image_free(pl_image *img);
/* A file of the image by name, or NULL. */
pl_file *pl_image_find(const pl_image *img, const char *name);
/* Add a copy of `len` bytes as file `name` (replacing one of that name). */
int pl_image_put(pl_image *img, const char *name, const void *data, uint64_t len);
pl_image *pl_image_new(void);
pl_image *pl_image_dup(const pl_image *img);
/* Write the image into real directory `dir` (created if absent; the files
 * it held before are removed). 0 or a negative errno. */
int pl_image_write_dir(const pl_image *img, const char *dir);
/* Read the regular files of real directory `dir`. 0 or a negative errno. */
int pl_image_read_dir(pl_image **out, const char *dir);

#endif /* EVLOG_PLSIM_H */
