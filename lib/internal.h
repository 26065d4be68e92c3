/*
 * internal.h - the handle, the segment object and the functions the
 * library's rooms share. Not installed; tools and users never see it.
 */
#ifndef EVLOG_INTERNAL_H
#define EVLOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "evlog.h"
#include "format.h"
#include "os.h"

#define EVL_ERRMSG_MAX 512
/* Sealed segments kept mapped while no iterator uses them: a bound that
 * does not grow with the log, large enough that random reads over a few
 * GiB do not map and unmap at each seek. */
#define EVL_IDLE_MAPS 64
/* How far ahead of the write position pages are faulted in, and in what
 * steps. */
#define EVL_PREFAULT_BYTES (8u << 20)
#define EVL_PREFAULT_STEP (1u << 20)

/*
 * One segment file. Fields marked (pub) are published by the writer with
 * release stores and read by iterators with acquire loads, without a lock;
 * fields marked (segs) are guarded by evlog.segs_mu; (w) only by the writer
 * under evlog.mu; (fixed) never change after creation.
 */
typedef struct evl_seg {
    uint64_t base;                 /* (fixed) base offset */
    char name[EVL_NAME_MAX];       /* (fixed) file name */
    _Atomic uint64_t end_pos;      /* (pub) header plus whole batches */
    _Atomic uint64_t next_offset;  /* (pub) one past the last record */
    _Atomic int sealed;            /* (pub) no more appends; end_pos final */

    int refs;                      /* (segs) table + iterators + syncer */
    int pins;                      /* (segs) users of the mapping */
    int dead;                      /* (segs) removed from the table */
    struct evl_seg *seal_next;     /* (w) queue of segments being sealed */
    uint64_t last_use;             /* (segs) tick of the last unpin */
    uint8_t *map;                  /* (segs) mapping, or NULL */
    uint64_t map_len;              /* (segs) */
    int map_writable;              /* (segs) */

    int fd;                        /* (w) the active segment's descriptor, or -1 */
    uint64_t capacity;             /* (w) preallocated size of the active file */
    uint64_t synced_pos;           /* (w) bytes known durable */
    uint64_t batches;              /* (w) stats for the footer */
    int64_t min_ts, max_ts;        /* (w) */
    int stats_known;               /* (w) batches/min/max cover the segment */
    uint64_t file_size;            /* (segs) size of a sealed file */

    /* The sparse index. For the active segment the array is allocated for
     * its largest possible size so that it never moves under a reader. */
    evl_index_entry *idx;          /* (segs) */
    uint64_t idx_cap;              /* (segs) */
    _Atomic uint64_t idx_count;    /* (pub) */
    uint64_t idx_last_pos;         /* (w) position of the last entry's batch */
    uint64_t idx_written;          /* (w) entries in the index file */
    int idx_state;                 /* (segs) EVL_IDX_* */
} evl_seg;

#define EVL_IDX_NONE 0    /* not loaded */
#define EVL_IDX_READY 1   /* usable */

struct evlog {
    const struct evlog_io *io;
    char *dir;
    int dirfd;
    int lockfd;
    unsigned flags;
    int read_only;
    int sync_mode;
    int compression;
    uint64_t segment_bytes;
    uint32_t index_interval;
    uint32_t sync_interval_ms;

    /* the writer: appends, syncs, rolls, truncations */
    pthread_mutex_t mu;
    pthread_cond_t cv;             /* a sync finished */
    evl_seg *active;               /* (w) the segment appended to, or NULL */
    int failed;                    /* (w) poisoned by a failed sync */
    int syncing;                   /* (w) a sync is under way */
    uint64_t ckpt_seq;             /* (w) */
    uint64_t durable_seg;          /* (w) checkpoint: segment of the durable end */
    uint64_t durable_pos;          /* (w) checkpoint: its byte position */
    uint8_t *scratch;              /* (w) compression buffer */
    size_t scratch_cap;
    int ckpt_fd;                   /* (w) */

    /* lingering appends (evlog_options.linger_us): the open batch, written
     * in place in the active segment at pend_pos but not yet sealed nor
     * published; readers see it when evl_flush_locked closes it */
    int64_t linger_ns;             /* 0: appends do not linger */
    uint64_t pend_pos;             /* (w) its header's position */
    uint32_t pend_len;             /* (w) its bytes, header included */
    uint32_t pend_n;               /* (w) its records; 0: no open batch */
    int64_t pend_first_ts;         /* (w) */
    int64_t pend_max_ts;           /* (w) */
    int64_t pend_since;            /* (w) CLOCK_MONOTONIC ns of its first record */
    _Atomic int pending;           /* pend_n != 0, for iterators of this handle */
    _Atomic uint64_t append_end;   /* the writer's end, the open batch included */

    /* read-only: the segment file after a gap that the open left out
     * (base and header checksum), never to be followed into (evl_refresh) */
    int has_stale;
    uint64_t stale_base;
    uint64_t stale_sum;

    _Atomic uint64_t end_offset;
    _Atomic uint64_t durable_offset;
    _Atomic uint64_t start_offset;
    _Atomic uint64_t truncations;  /* bumped by each truncate_back */

    /* the segment table, for readers */
    pthread_mutex_t segs_mu;
    evl_seg **segs;                /* (segs) ordered by base offset */
    size_t nsegs, segs_cap;        /* (segs) */
    uint64_t tick;                 /* (segs) */
    int idle_maps;                 /* (segs) sealed, mapped, unpinned */

    /* the sealer: finishes sealing rolled segments off the append path */
    pthread_cond_t seal_cv;        /* work for the sealer */
    evl_seg *seal_head, *seal_tail;/* (w) */
    /* the spare: the next segment's file, preallocated and synced by the
     * sealer, so that a roll only renames it (EVL_SPARE_NAME) */
    int spare_fd;                  /* (w) or -1 */
    uint64_t spare_cap;            /* (w) its size */
    int spare_want;                /* (w) the sealer is to make one */
    int spare_left;                /* recovery found one left by an earlier writer */
    pthread_t sealer;
    int sealer_running;

    /* the pretoucher: faults the active segment's pages in ahead of the
     * writer, on another core (as Chronicle Queue's pretoucher does), and
     * closes lingering batches on time. It has a lock of its own, so that
     * a writer appending in a loop never starves it of mu. Fields marked
     * (t) are guarded by touch_mu; (w,t) are written under both locks. */
    pthread_mutex_t touch_mu;
    pthread_cond_t touch_cv;       /* work for the pretoucher */
    evl_seg *touch_seg;            /* (w,t) the segment to fault in; pinned for it */
    uint64_t touch_req;            /* (w,t) the writer asked for its pages up to this */
    uint64_t touch_done;           /* (t) pages below this are in */
    uint64_t touch_gen;            /* (t) moves when touch_done restarts */
    int touch_restart;             /* (w) the next request restarts touch_done */
    int64_t touch_due;             /* (t) CLOCK_MONOTONIC ns a lingering batch is due, or 0 */
    int touch_stop;                /* (t) */
    pthread_t toucher;
    int toucher_running;

    /* the interval syncer */
    pthread_t syncer;
    int syncer_running;
    int syncer_stop;               /* (w) */

    pthread_mutex_t err_mu;
    char errmsg[EVL_ERRMSG_MAX];
    char failmsg[EVL_ERRMSG_MAX];  /* why the handle was poisoned */
};

/*-******************* error.c *******************/
/* Record the detail of a failure on the handle (printf-style) and return
 * `code`, so that a failing path reads `return evl_err(log, rc, ...)`. */
int evl_err(evlog *log, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An evlog code for a negative errno from the I/O table. */
int evl_errno_code(int neg_errno);
/* The system's text for a negative errno. */
const char *evl_errno_str(int neg_errno);

/*-******************* segment.c *******************/
evl_seg *evl_seg_new(uint64_t base);
void evl_seg_unref(evlog *log, evl_seg *s);        /* caller holds segs_mu */
int evl_spare_make(evlog *log, uint64_t capacity, int *fd);
void evl_spare_drop(evlog *log, int fd);
int evl_seg_create(evlog *log, uint64_t base, evl_seg **out);
int evl_seg_open_active(evlog *log, evl_seg *s);    /* map an existing file rw */
int evl_seg_read_footer(evlog *log, evl_seg *s, evl_footer *f, uint64_t *size,
                        evl_check *hc, evl_seg_header *h);
void evl_seg_seal_begin(evlog *log, evl_seg *s);
int evl_seg_seal_finish(evlog *log, evl_seg *s);
int evl_seg_zero_tail(evlog *log, evl_seg *s, uint64_t pos);
int evl_seg_remove_files(evlog *log, uint64_t base);
void evl_seg_note_batch(evl_seg *s, const evl_batch *b, uint64_t pos, uint32_t interval);
int evl_seg_pin(evlog *log, evl_seg *s);            /* caller holds segs_mu */
void evl_seg_unpin(evlog *log, evl_seg *s);         /* caller holds segs_mu */
void evl_seg_drop(evlog *log, evl_seg *s);          /* caller holds segs_mu */
void evl_seg_unmap(evlog *log, evl_seg *s);
int evl_seg_map_ro(evlog *log, evl_seg *s);
int evl_seg_scan_stats(evlog *log, evl_seg *s);

/*-******************* index.c *******************/
int evl_index_alloc(evl_seg *s, uint64_t capacity, uint32_t interval);
void evl_index_add(evl_seg *s, uint64_t offset, uint64_t pos);
/* Position of the last indexed batch with offset <= `offset`, or the end of
 * the segment header when there is none. *entry_off gets its offset. */
uint64_t evl_index_lookup(const evl_seg *s, uint64_t offset, uint64_t *entry_off);
int evl_index_write(evlog *log, evl_seg *s);
int evl_index_load(evlog *log, evl_seg *s, uint64_t data_end, int rebuild_ok);
int evl_index_rebuild(evlog *log, evl_seg *s, uint64_t data_end);
void evl_index_truncate(evl_seg *s, uint64_t pos);

/*-******************* checkpoint.c *******************/
int evl_ckpt_read(evlog *log, evl_ckpt *out);   /* 1 found, 0 none, <0 error */
int evl_ckpt_write(evlog *log, const evl_ckpt *c, int sync);
/* The checkpoint for the writer's current durable point. */
void evl_ckpt_current(evlog *log, evl_ckpt *c);

/*-******************* recover.c *******************/
int evl_recover(evlog *log);
int evl_finish_truncate(evlog *log, uint64_t offset);
int evl_side_restore(evlog *log, const evl_ckpt *ck); /* writer, at open */
int evl_refresh(evlog *log);
int evl_check_foreign(evlog *log);  /* EVLOG_ENOTLOG for a directory of other files */

/*-******************* log.c *******************/
int evl_sync_locked(evlog *log);
int evl_flush_locked(evlog *log);      /* mu held: close the open batch, if any */
int evl_failed(evlog *log);            /* EVLOG_EFAILED with the reason */
void evl_poison(evlog *log);           /* mu held; errmsg holds the reason */
void evl_wait_sealed(evlog *log);     /* mu held */

/*-******************* toucher.c *******************/
void *evl_toucher_main(void *arg);    /* the pretoucher thread */
int64_t evl_mono_ns(void);            /* CLOCK_MONOTONIC, ns */
void evl_linger_due(evlog *log, int64_t due); /* mu held: close the open batch then */
void evl_ask_pages(evlog *log, evl_seg *s, uint64_t end, uint64_t want); /* mu held */
void evl_touch_restart(evlog *log);   /* mu held: the active segment's end moved back */
void evl_touch_unpin(evlog *log, evl_seg *s); /* caller holds segs_mu */

/* Ask the pretoucher for the pages after `end` of the active segment `s`.
 * mu held; cheap unless a new step is due. */
static inline void evl_want_pages(evlog *log, evl_seg *s, uint64_t end)
{
    uint64_t want = end + EVL_PREFAULT_BYTES;
    if (want > s->capacity)
        want = s->capacity;
    if (s != log->touch_seg || log->touch_restart || want >= log->touch_req + EVL_PREFAULT_STEP ||
        (want == s->capacity && want > log->touch_req))
        evl_ask_pages(log, s, end, want);
}
evl_seg *evl_segs_find(evlog *log, uint64_t offset); /* caller holds segs_mu */
int evl_segs_push(evlog *log, evl_seg *s);           /* caller holds segs_mu */

static inline uint64_t evl_load(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_acquire);
}
static inline void evl_store(_Atomic uint64_t *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_release);
}

#endif /* EVLOG_INTERNAL_H */
