/*
 * faultio.h - an I/O table (lib/os.h) that fails the Nth call, once or from
 * then on, with a chosen errno, and passes every other call to a base table
 * (evl_io_posix or the power-loss simulator of plsim.h). SQLite's
 * test_vfs.c and RocksDB's FaultInjectionTestFS do the same.
 *
 * Only the operations in the armed mask are counted and may fail; the
 * others pass through uncounted. A failed close or unmap still releases the
 * descriptor or the mapping, as Linux does for close, so that a loop of
 * thousands of failures leaks nothing. Thread-safe.
 */
#ifndef EVLOG_FAULTIO_H
#define EVLOG_FAULTIO_H

#include <stdint.h>

#include "relio.h"

typedef struct faultio faultio;

/* The operations at which an errno can come from the system. */
#define FAULTIO_OPS_EIO \
    (EVREL_OPS_ALL & ~(EVREL_OP_BIT(EVREL_OP_PREFAULT) | EVREL_OP_BIT(EVREL_OP_DROP) | \
                       EVREL_OP_BIT(EVREL_OP_UNCACHE)))
#define FAULTIO_OPS_ENOSPC                                                    \
    (EVREL_OP_BIT(EVREL_OP_OPEN) | EVREL_OP_BIT(EVREL_OP_OPEN_DIR) |           \
     EVREL_OP_BIT(EVREL_OP_PWRITE) | EVREL_OP_BIT(EVREL_OP_ALLOCATE) |         \
     EVREL_OP_BIT(EVREL_OP_TRUNCATE) | EVREL_OP_BIT(EVREL_OP_ZERO) |           \
     EVREL_OP_BIT(EVREL_OP_MSYNC) | EVREL_OP_BIT(EVREL_OP_FSYNC) |             \
     EVREL_OP_BIT(EVREL_OP_SYNC_DIR) | EVREL_OP_BIT(EVREL_OP_RENAME))
/* EINTR: the calls that may block interruptibly (the POSIX table retries
 * most of them; a table that does not must not break the engine). */
#define FAULTIO_OPS_EINTR                                                     \
    (EVREL_OP_BIT(EVREL_OP_OPEN) | EVREL_OP_BIT(EVREL_OP_CLOSE) |              \
     EVREL_OP_BIT(EVREL_OP_PREAD) | EVREL_OP_BIT(EVREL_OP_PWRITE) |            \
     EVREL_OP_BIT(EVREL_OP_ALLOCATE) | EVREL_OP_BIT(EVREL_OP_TRUNCATE) |       \
     EVREL_OP_BIT(EVREL_OP_FSYNC) | EVREL_OP_BIT(EVREL_OP_LOCK))

/* A new layer over `base` (kept borrowed), disarmed. NULL on ENOMEM. */
faultio *faultio_new(const struct evlog_io *base);
/* Free the layer; NULL is a no-op. Tables handed out become invalid. */
void faultio_free(faultio *f);
/* The table to put in evlog_options.io; valid until faultio_free. */
const struct evlog_io *faultio_io(faultio *f);

/*
 * Arm the layer and reset its counters: the nth call (from 1) of an
 * operation in `mask` returns -err; with `persistent`, so does every later
 * call in `mask`. n == 0 disarms (calls are still counted).
 */
void faultio_arm(faultio *f, uint64_t n, int err, int persistent, unsigned mask);
/* Stop failing, keep the counters. */
void faultio_disarm(faultio *f);
/* Print each call to stderr (its number, its operation, an injection). */
void faultio_trace(faultio *f, int on);
/* Calls in the mask so far. */
uint64_t faultio_calls(const faultio *f);
/* Failures injected so far. */
uint64_t faultio_fired(const faultio *f);
/* The operation of the first injected failure, or -1. */
int faultio_first_op(const faultio *f);

#endif /* EVLOG_FAULTIO_H */
