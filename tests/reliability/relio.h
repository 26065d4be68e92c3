/*
 * relio.h - what the two test I/O layers of tests/reliability share: the
 * list of operations of the I/O table (lib/os.h), so that a fault can be
 * aimed at one kind of call and a report can name the call that failed.
 */
#ifndef EVLOG_RELIO_H
#define EVLOG_RELIO_H

#include "os.h"

/* One X-macro list, in the order of struct evlog_io. */
#define EVREL_OP_MAP(X)                                                      \
    X(OPEN_DIR, "open_dir") X(LIST, "list") X(OPEN, "open")                  \
    X(CLOSE, "close") X(PREAD, "pread") X(PWRITE, "pwrite") X(SIZE, "size")  \
    X(ALLOCATE, "allocate") X(TRUNCATE, "truncate") X(ZERO, "zero")          \
    X(MAP, "map") X(UNMAP, "unmap") X(MSYNC, "msync")                        \
    X(PREFAULT, "prefault") X(DROP, "drop") X(UNCACHE, "uncache")            \
    X(FSYNC, "fsync") X(SYNC_DIR, "sync_dir") X(RENAME, "rename")            \
    X(UNLINK, "unlink") X(LOCK, "lock")

typedef enum evrel_op {
#define EVREL_OP_ENUM_(name, str) EVREL_OP_##name,
    EVREL_OP_MAP(EVREL_OP_ENUM_)
#undef EVREL_OP_ENUM_
    EVREL_OP_COUNT
} evrel_op;

#define EVREL_OP_BIT(op) (1u << (op))
#define EVREL_OPS_ALL ((1u << EVREL_OP_COUNT) - 1u)
/* The operations that make something durable: the crash points of a
 * workload are just before and just after each of them. */
#define EVREL_OPS_SYNC (EVREL_OP_BIT(EVREL_OP_MSYNC) | EVREL_OP_BIT(EVREL_OP_FSYNC) | \
                        EVREL_OP_BIT(EVREL_OP_SYNC_DIR))
/* The operations that change the directory: crash points too. */
#define EVREL_OPS_DIR (EVREL_OP_BIT(EVREL_OP_RENAME) | EVREL_OP_BIT(EVREL_OP_UNLINK))

/* The name of an operation ("msync"); "?" for an unknown one. */
static inline const char *evrel_op_name(int op)
{
    static const char *const names[] = {
#define EVREL_OP_STR_(name, str) str,
        EVREL_OP_MAP(EVREL_OP_STR_)
#undef EVREL_OP_STR_
    };
    return op >= 0 && op < EVREL_OP_COUNT ? names[op] : "?";
}

#endif /* EVLOG_RELIO_H */
