/*
 * evlog - an embedded, persistent, segmented event log.
 *
 * Introduction
 * ------------
 * A log is one directory holding one ordered stream of records. Each record
 * has an offset (assigned by the log, consecutive from the log's start), a
 * timestamp (nanoseconds since the Unix epoch), an optional key and a value.
 * Records are appended in batches; a batch is atomic across a crash: after
 * recovery either all of its records are there or none of them is.
 *
 * On disk a log is a series of segment files, each preallocated and memory
 * mapped while it is written, each batch checksummed with XXH3 and bound to
 * its offset. docs/format.md specifies every byte; docs/design.md explains
 * how the pieces fit.
 *
 * Return values: 0 (or a count) on success, a negative EVLOG_E* code on
 * failure. evlog_strerror() names a code; evlog_errmsg() gives the detail of
 * a handle's last failure (file, byte position, offset).
 *
 * Thread safety: one evlog handle may be shared by threads. Appends, syncs
 * and truncations are serialized inside the handle. Each evlog_iter belongs
 * to one thread at a time; iterators read concurrently with the writer
 * without taking its lock (but for an iterator of the writer's own handle
 * that reaches lingering appends: it closes their batch) and never see a
 * partial batch. Any number of
 * read-only handles, in any process, may open the same log as one writer.
 *
 * There is no global state and no library initialisation call.
 */
#ifndef EVLOG_H
#define EVLOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define EVLOG_API __attribute__((visibility("default")))
#else
#define EVLOG_API
#endif

/*-************************************
 *  Version
 **************************************/
#define EVLOG_VERSION_MAJOR 0
#define EVLOG_VERSION_MINOR 1
#define EVLOG_VERSION_PATCH 0
#define EVLOG_VERSION_NUMBER \
    (EVLOG_VERSION_MAJOR * 10000 + EVLOG_VERSION_MINOR * 100 + EVLOG_VERSION_PATCH)

/* The library's version as "major.minor.patch"; a static string. */
EVLOG_API const char *evlog_version(void);

/*-************************************
 *  Errors
 **************************************/
/* One list, so that the enum and evlog_strerror() cannot drift. The numbers
 * are pinned: they never change meaning between versions. */
#define EVLOG_ERRNO_MAP(X)                                                   \
    X(EINVAL, -1, "invalid argument")                                        \
    X(EIO, -2, "I/O error")                                                  \
    X(ENOSPC, -3, "no space left on device")                                 \
    X(ECORRUPT, -4, "log is corrupt")                                        \
    X(ELOCKED, -5, "log is locked by another writer")                        \
    X(ERANGE, -6, "offset out of range")                                     \
    X(ETOOBIG, -7, "record or batch too big")                                \
    X(EFAILED, -8, "log handle failed earlier; reopen it")                   \
    X(ENOMEM, -9, "out of memory")                                           \
    X(EREADONLY, -10, "log is open read-only")                               \
    X(ENOTLOG, -11, "not an evlog log or segment")                           \
    X(EVERSION, -12, "unsupported format version")

typedef enum evlog_error {
    EVLOG_OK = 0,
#define EVLOG_ERR_ENUM_(name, code, text) EVLOG_##name = (code),
    EVLOG_ERRNO_MAP(EVLOG_ERR_ENUM_)
#undef EVLOG_ERR_ENUM_
    EVLOG_ERR_LAST_ = -13
} evlog_error;

/* A static description of an error code; never NULL, also for unknown codes.
 * Thread-safe. */
EVLOG_API const char *evlog_strerror(int err);

/*-************************************
 *  Basic: options, open, append, sync
 **************************************/
typedef struct evlog evlog;
typedef struct evlog_iter evlog_iter;

/* The I/O layer used for every file operation. Declared here only so that
 * tests can inject faults through evlog_options.io; users leave it NULL. */
struct evlog_io;

#define EVLOG_OPTIONS_VERSION 2 /* 2: linger_us */

/* Sync modes (evlog_options.sync_mode). */
#define EVLOG_SYNC_NONE 1     /* the OS writes back; evlog syncs at roll and close */
#define EVLOG_SYNC_INTERVAL 2 /* a background thread syncs every sync_interval_ms */
#define EVLOG_SYNC_ALWAYS 3   /* evlog_append returns once its records are durable */

/* Open flags (evlog_options.flags). */
#define EVLOG_READ_ONLY 0x1u    /* never write; no lock; the directory must exist */
#define EVLOG_OPEN_DAMAGED 0x2u /* open a corrupt log read-only, up to the damage */
#define EVLOG_UNCACHE_SEALED 0x4u /* a writer drops each segment it sealed from the
                                     page cache once it is durable (see below) */

/* Compression of batches (evlog_options.compression). */
#define EVLOG_COMPRESS_NONE 1
#define EVLOG_COMPRESS_LZ4 2 /* batches are stored LZ4-compressed when it saves space */

/* Defaults and limits of the options. */
#define EVLOG_DEFAULT_SEGMENT_BYTES (128ull << 20)
#define EVLOG_MIN_SEGMENT_BYTES (4096ull)
#define EVLOG_MAX_SEGMENT_BYTES (1ull << 40)
#define EVLOG_DEFAULT_INDEX_INTERVAL 4096u
#define EVLOG_MIN_INDEX_INTERVAL 256u
#define EVLOG_DEFAULT_SYNC_INTERVAL_MS 100u
/* The largest batch, header included, whatever the segment size. */
#define EVLOG_MAX_BATCH_BYTES (1u << 30)
/* Lingering appends (evlog_options.linger_us): the open batch is closed
 * once it holds this many bytes; linger_us is at most EVLOG_MAX_LINGER_US. */
#define EVLOG_LINGER_BYTES (16u << 10)
#define EVLOG_MAX_LINGER_US 1000000u

/*
 * Options of evlog_open. Initialise with evlog_options_init(), then set the
 * fields you need. Zero in a field means its default. Fields are only ever
 * appended; `version` tells the library which ones the caller knows.
 */
typedef struct evlog_options {
    unsigned version;              /* EVLOG_OPTIONS_VERSION */
    uint64_t segment_bytes;        /* segment capacity; default 128 MiB. A writer
                                      that rolls also keeps the next segment's
                                      file preallocated (spare.tmp): up to twice
                                      this on disk beyond the sealed segments */
    uint32_t index_interval_bytes; /* an index entry every this many bytes; default 4096 */
    int sync_mode;                 /* EVLOG_SYNC_*; default EVLOG_SYNC_NONE */
    uint32_t sync_interval_ms;     /* for EVLOG_SYNC_INTERVAL; default 100 */
    unsigned flags;                /* EVLOG_READ_ONLY, EVLOG_OPEN_DAMAGED,
                                      EVLOG_UNCACHE_SEALED */
    int compression;               /* EVLOG_COMPRESS_*; default EVLOG_COMPRESS_NONE */
    const struct evlog_io *io;     /* tests only: the I/O layer; NULL = POSIX */
    /* version 2 */
    uint32_t linger_us;            /* 0 (default): every evlog_append is a batch of
                                      its own; > 0: appends linger (see below) */
} evlog_options;

/*
 * Lingering appends. By default every evlog_append call is one batch, with
 * its own 48-byte header and checksum, visible to readers when the call
 * returns. A service appending one record per call pays that per record.
 * With linger_us > 0 (and sync_mode EVLOG_SYNC_NONE or EVLOG_SYNC_INTERVAL;
 * EVLOG_SYNC_ALWAYS ignores it), consecutive appends gather into one open
 * batch, as a Kafka producer's linger.ms gathers records: each call still
 * gets its offsets at once and stays atomic (all of its records are in one
 * batch), but the batch is checksummed and made visible to readers only
 * when it closes: after linger_us from its first record, at
 * EVLOG_LINGER_BYTES, or at evlog_flush(), evlog_sync(), a roll, a
 * truncation or evlog_close(); in EVLOG_SYNC_INTERVAL mode each background
 * sync closes it too, so the linger is at most sync_interval_ms. An iterator of the writer's own handle that
 * reaches the records of the open batch closes it first, so a thread reads
 * what it appended.
 *
 * The price: a process crash loses the open batch (at most linger_us of
 * appends) as well as what a power loss would lose; without linger a
 * process crash loses nothing in any sync mode. evlog_durable_offset()
 * never counts the open batch. A handle poisoned by a failed sync closes
 * its open batch first, so what it acknowledged stays as it would have
 * without linger.
 */

/*
 * Uncached sealed segments (EVLOG_UNCACHE_SEALED). By default the bytes of
 * sealed segments stay in the page cache, as any file's do, until the
 * kernel needs the memory; readers that fall behind then read them from
 * memory. With this flag a writer asks the kernel to drop a segment's pages
 * as soon as sealing has made it durable (posix_fadvise
 * POSIX_FADV_DONTNEED; pages that a reader has mapped stay). The writer then
 * keeps about one segment of the log in memory, and the memory it frees is
 * what the kernel hands back for the next segment. That saves the kernel
 * from reclaiming other memory to make room, and on a virtual machine that
 * returns free memory to its host it saves the host's work of backing fresh
 * memory at every page: see docs/performance.md for what it changed there.
 * The price: readers of sealed segments read them from the disk. Writers
 * only; a read-only handle ignores it.
 */

/* Fill `opts` with the defaults of this version. Cannot fail. */
EVLOG_API void evlog_options_init(evlog_options *opts);

/*
 * Open the log in directory `dir`, creating the directory if it is absent
 * (unless EVLOG_READ_ONLY), and recover it after a crash: a torn tail of the
 * last segment (a batch that was never made durable) is cut off; damage
 * anywhere else is reported as EVLOG_ECORRUPT, never cut away.
 *
 * `opts` may be NULL for defaults. On success *out is a new handle, to be
 * released with evlog_close(). On failure *out is NULL and nothing on disk
 * was changed but for a torn tail's removal.
 *
 * Returns 0, or EVLOG_EINVAL (bad argument or option), EVLOG_ELOCKED
 * (another handle, in this or another process, writes the log), EVLOG_ENOTLOG
 * (the directory holds other files and no log, or a segment file that is not
 * one; files beside a log are left alone, and `evlog verify` names them),
 * EVLOG_EVERSION,
 * EVLOG_ECORRUPT (damage before the durable point; the detail names the
 * file and byte position; EVLOG_OPEN_DAMAGED opens up to it), EVLOG_EIO,
 * EVLOG_ENOSPC, EVLOG_ENOMEM. Since no handle exists on failure, the
 * detail of a failed open is written to `errbuf` when it is not NULL (see
 * evlog_open_ex); evlog_open itself discards it.
 */
EVLOG_API int evlog_open(evlog **out, const char *dir, const evlog_options *opts);

/* As evlog_open, and on failure writes the detail (file, byte position,
 * offset) as a NUL-terminated string of at most errbuf_len bytes. */
EVLOG_API int evlog_open_ex(evlog **out, const char *dir, const evlog_options *opts,
                            char *errbuf, size_t errbuf_len);

/*
 * Make everything appended durable, seal nothing, release every resource
 * and the writer lock. NULL is a no-op returning 0. Iterators of the log must
 * be freed before. The handle is freed even when this fails; a failure
 * (EVLOG_EIO, or EVLOG_EFAILED on a poisoned handle) means the records
 * after the durable offset may not have reached the disk.
 */
EVLOG_API int evlog_close(evlog *log);

/* A record. On append: `offset` is ignored; `timestamp` 0 means now; `key`
 * NULL means no key; a key with a NULL `value` is a tombstone. On read every
 * pointer borrows the log's memory, valid until the next call on the
 * iterator that returned it. */
typedef struct evlog_record {
    uint64_t offset;
    int64_t timestamp; /* nanoseconds since the Unix epoch */
    const void *key;   /* NULL: no key */
    size_t key_len;
    const void *value; /* NULL: tombstone (value_len must be 0) */
    size_t value_len;
} evlog_record;

/*
 * Append `n` records as one atomic batch, assigning them the consecutive
 * offsets from evlog_end_offset(). The caller keeps ownership of `recs`; its
 * bytes are copied before return. When `first_offset` is not NULL it gets the
 * first assigned offset. In EVLOG_SYNC_ALWAYS mode it returns once the
 * records are durable; concurrent appenders share one sync (group commit).
 * With evlog_options.linger_us the records may wait in the open batch
 * (see "Lingering appends" above) before readers see them.
 *
 * Returns 0, or EVLOG_EINVAL (NULL log or recs, n == 0, a NULL pointer with a
 * non-zero length), EVLOG_ETOOBIG (the batch would not fit in a segment or
 * passes EVLOG_MAX_BATCH_BYTES), EVLOG_EREADONLY, EVLOG_ENOSPC (a new segment
 * could not be allocated; nothing was written, a later call may succeed),
 * EVLOG_EIO or EVLOG_EFAILED (the handle is poisoned by an earlier failed
 * sync: nothing more can be written; reopen the log). On failure nothing is
 * appended, with one exception: in EVLOG_SYNC_ALWAYS mode, EVLOG_EIO means
 * the records were written but their sync failed; they are not acknowledged,
 * may or may not survive a power loss, and the handle is now poisoned.
 * Thread-safe.
 */
EVLOG_API int evlog_append(evlog *log, const evlog_record *recs, size_t n,
                           uint64_t *first_offset);

/*
 * Make every record appended so far durable. Returns 0, EVLOG_EREADONLY,
 * EVLOG_EIO (the sync failed: the handle is now poisoned and every later
 * write fails with EVLOG_EFAILED; a sync is never retried, because the
 * kernel may have dropped the dirty pages it failed to write) or
 * EVLOG_EFAILED. Thread-safe.
 */
EVLOG_API int evlog_sync(evlog *log);

/*
 * Close the open batch of lingering appends (evlog_options.linger_us), so
 * that readers in every process see it; no sync. Without an open batch it
 * does nothing. Returns 0, EVLOG_EINVAL, EVLOG_EREADONLY or EVLOG_EFAILED.
 * Thread-safe.
 */
EVLOG_API int evlog_flush(evlog *log);

/* The first readable offset. Thread-safe, cannot fail (0 for NULL). */
EVLOG_API uint64_t evlog_start_offset(const evlog *log);
/* The next offset to be assigned: one past the last record (for the writer's
 * handle, the open batch of lingering appends included). */
EVLOG_API uint64_t evlog_end_offset(const evlog *log);
/* Every offset below this one is durable: it survives a power loss. */
EVLOG_API uint64_t evlog_durable_offset(const evlog *log);

/*
 * The detail of the handle's last failure: file, byte position, offset and
 * the system's reason, or "" if there was none. Valid until the next call on
 * the handle from any thread; never NULL.
 */
EVLOG_API const char *evlog_errmsg(const evlog *log);

/*-************************************
 *  Iteration
 **************************************/
/*
 * A new iterator positioned at `offset` (start <= offset <= end). The
 * iterator borrows `log`, which must outlive it. Returns 0, EVLOG_EINVAL,
 * EVLOG_ERANGE (offset below the start or past the end), EVLOG_ENOMEM,
 * EVLOG_EIO, EVLOG_ECORRUPT.
 */
EVLOG_API int evlog_iter_new(evlog_iter **out, evlog *log, uint64_t offset);

/*
 * Read the next record into *rec. Returns 1 with a record, 0 at the current
 * end of the log (a later call returns records appended since), or a negative
 * error: EVLOG_ECORRUPT (a batch failed its checksum or its limits; the
 * log's errmsg names the file and byte position; the iterator stays on the
 * damaged batch), EVLOG_ERANGE (the records it stood on were removed by a
 * truncation), EVLOG_EIO, EVLOG_ENOMEM. The record's pointers stay valid
 * until the next call on this iterator. Never returns a partial batch.
 */
EVLOG_API int evlog_iter_next(evlog_iter *it, evlog_record *rec);

/* Move the iterator to `offset`. Returns 0, or the errors of
 * evlog_iter_new; on failure the iterator keeps its position. */
EVLOG_API int evlog_iter_seek(evlog_iter *it, uint64_t offset);

/* Release the iterator. NULL is a no-op. */
EVLOG_API void evlog_iter_free(evlog_iter *it);

/*-************************************
 *  Maintenance
 **************************************/
/*
 * Drop every record at or above `offset` (start <= offset <= end), durably:
 * it survives a crash half-way (the intent is recorded first and finished by
 * the next open). Iterators standing past the new end get EVLOG_ERANGE.
 * Returns 0, EVLOG_ERANGE, EVLOG_EREADONLY, EVLOG_EIO, EVLOG_EFAILED,
 * EVLOG_ECORRUPT.
 */
EVLOG_API int evlog_truncate_back(evlog *log, uint64_t offset);

/*
 * Make `offset` (start <= offset <= end) the new start offset and delete the
 * sealed segments that lie entirely below it. Returns 0, EVLOG_ERANGE,
 * EVLOG_EREADONLY, EVLOG_EIO, EVLOG_EFAILED.
 */
EVLOG_API int evlog_truncate_front(evlog *log, uint64_t offset);

/*-************************************
 *  Inspection
 **************************************/
/* (inspection API: begin) */
/*
 * The inspection API reads a log's files directly, without opening the log,
 * so that it also works on a log too damaged to open. It takes no lock and
 * never writes, with the one exception of evlog_repair(). The command-line
 * tool's `stat`, `dump`, `verify` and `repair` are built on it; an
 * application never needs it to use a log.
 *
 * evlog_scan() walks a log directory, or one segment file, in offset order
 * and reports what it finds to a callback as a series of events:
 *
 *   LOG                         once, first: the directory and its checkpoint
 *   FILE*                       files that are neither segments nor indexes
 *   for each segment:
 *     SEGMENT                   its header, footer and size
 *     BATCH (RECORD*)           each valid batch, then its records
 *     PROBLEM                   damage met between the batches
 *     SEGMENT_END               what the scan of its batches found
 *     INDEX (ENTRY*)            its index file, then each entry and its check
 *   PROBLEM*                    inconsistencies between segments or files
 *   END                         once, last: the totals
 *
 * A PROBLEM event can come at any point; each names a file, a byte range,
 * the offsets it affects and a reason. Damage inside a segment never stops
 * the scan: it goes on at the next valid batch it can find after the
 * damaged bytes. Every length read from a file is bounded by what is left of
 * it, so a scan ends on any input, however broken.
 */

/* An offset or position that is unknown or absent. */
#define EVLOG_NO_OFFSET UINT64_MAX

/* Flags of evlog_scan(). */
#define EVLOG_SCAN_QUICK 0x1u   /* read only the header and footer of sealed segments
                                   whose footer is valid, not their batches */
#define EVLOG_SCAN_RECORDS 0x2u /* report every record (EVLOG_EV_RECORD) */
#define EVLOG_SCAN_ENTRIES 0x4u /* report and check every index entry (EVLOG_EV_ENTRY) */

/* Kinds of scan events (evlog_scan_event.kind). */
#define EVLOG_EV_LOG 1         /* .log: the directory and its checkpoint */
#define EVLOG_EV_FILE 2        /* .file: a file that is not a segment or an index */
#define EVLOG_EV_SEGMENT 3     /* .segment: before the batches of a segment */
#define EVLOG_EV_BATCH 4       /* .segment, .batch: a valid batch */
#define EVLOG_EV_RECORD 5      /* .segment, .batch, .record (EVLOG_SCAN_RECORDS) */
#define EVLOG_EV_PROBLEM 6     /* .problem, and .segment inside a segment's scan */
#define EVLOG_EV_SEGMENT_END 7 /* .segment, with its scan results filled */
#define EVLOG_EV_INDEX 8       /* .segment, .index: the segment's index file */
#define EVLOG_EV_ENTRY 9       /* .segment, .index, .entry (EVLOG_SCAN_ENTRIES) */
#define EVLOG_EV_END 10        /* .log, with the totals filled */

/* Kinds of other files (evlog_scan_file.kind). */
#define EVLOG_FILE_CHECKPOINT 1 /* the checkpoint file */
#define EVLOG_FILE_LOCK 2       /* the writer's lock file */
#define EVLOG_FILE_TMP 3        /* an index being written, or a leftover of one */
#define EVLOG_FILE_BROKEN 4     /* bytes moved out by evlog_repair (name ends ".broken") */
#define EVLOG_FILE_UNKNOWN 5    /* anything else; ignored by the library */
#define EVLOG_FILE_TRUNCATE_PENDING 6 /* truncate.pending: the new batch of a
                                   truncation inside a batch (docs/format.md) */
#define EVLOG_FILE_SPARE 7      /* spare.tmp: the next segment's file, preallocated
                                   by a writer ahead of its roll */

/* The problems a scan reports (evlog_scan_problem.code). Codes and names are
 * stable: the names are what `evlog verify --json` prints. */
#define EVLOG_PROBLEM_MAP(X)                                                  \
    X(BAD_BATCH, 1, "bad_batch")         /* bytes where a valid batch should be */ \
    X(TORN_TAIL, 2, "torn_tail")         /* an unsynced tail past the durable point, and the \
                                            segments after it (warning) */ \
    X(SEQUENCE, 3, "offset_sequence")    /* a valid batch at an unexpected offset */ \
    X(HEADER, 4, "segment_header")       /* a segment header is invalid */    \
    X(FOOTER, 5, "segment_footer")       /* a footer is invalid, or missing before the \
                                            durable segment */ \
    X(FOOTER_MISMATCH, 6, "footer_mismatch") /* a footer disagrees with its batches */ \
    X(GAP, 7, "segment_gap")             /* offsets missing or doubled between segments */ \
    X(INDEX, 8, "index")                 /* an index file is invalid, stale or wrong: \
                                            a cache, rebuilt (warning) */ \
    X(INDEX_MISSING, 9, "index_missing") /* a sealed segment has no index (warning) */ \
    X(INDEX_ORPHAN, 10, "index_orphan")  /* an index without its segment (warning) */ \
    X(CHECKPOINT, 11, "checkpoint")      /* a checkpoint slot is damaged, or the \
                                            checkpoint disagrees with the segments */ \
    X(UNKNOWN_FILE, 12, "unknown_file")  /* a file that is not a log's (warning) */ \
    X(LEFTOVER, 13, "leftover_tmp")      /* a leftover *.tmp file (warning) */ \
    X(IO, 14, "io")                      /* a file could not be read */       \
    X(UNFINISHED, 15, "unfinished_segment") /* a segment whose creation never completed (warning) */ \
    X(NOT_LOG, 16, "not_log")            /* the path holds no log */       \
    X(SEAL_UNFINISHED, 17, "seal_unfinished") /* a footer after the last batch, the \
                                            file not yet cut to it (warning) */ \
    X(TRUNCATE_PENDING, 18, "truncate_pending") /* truncate.pending: a truncation in \
                                            progress, or a stale file (warning) */

typedef enum evlog_problem_code {
#define EVLOG_PROBLEM_ENUM_(name, code, str) EVLOG_PROBLEM_##name = (code),
    EVLOG_PROBLEM_MAP(EVLOG_PROBLEM_ENUM_)
#undef EVLOG_PROBLEM_ENUM_
    EVLOG_PROBLEM_LAST_ = 19
} evlog_problem_code;

/* Severities of problems (evlog_scan_problem.severity). */
#define EVLOG_SEV_WARNING 1 /* the log opens and loses nothing: a cache to rebuild,
                               a torn tail the next writer cuts, a stray file */
#define EVLOG_SEV_ERROR 2   /* damage or inconsistency: records are unreadable or
                               the log does not open */

/* The directory and its checkpoint (EVLOG_EV_LOG), and at EVLOG_EV_END the
 * totals of the scan as well. */
typedef struct evlog_scan_log {
    const char *path;          /* as given to evlog_scan */
    int single_file;           /* 1 when path is one segment file */
    int checkpoint;            /* 1 when the checkpoint has a valid slot */
    uint64_t checkpoint_seq;
    uint64_t start_offset;     /* the checkpoint's, else the first segment's base */
    uint64_t durable_offset;   /* the checkpoint's, else the last segment's base */
    uint64_t durable_segment;  /* base offset of the segment holding the durable end */
    uint64_t durable_pos;      /* byte position of the durable end in it */
    uint64_t pending_truncate; /* an unfinished truncate_back, or EVLOG_NO_OFFSET */
    uint64_t segments;         /* segment files found */
    uint64_t total_bytes;      /* their sizes added up (for progress reports) */
    /* Filled at EVLOG_EV_END: */
    uint64_t end_offset;       /* one past the last record before the first error
                                  or torn tail that stops readers */
    uint64_t batches, records; /* valid ones found (footers' counts for
                                  segments skipped by EVLOG_SCAN_QUICK) */
    int64_t min_timestamp, max_timestamp; /* 0, 0 when there are no records */
    uint64_t errors, warnings; /* problems reported, by severity */
} evlog_scan_log;

/* A file of the directory that is not a segment or an index (EVLOG_EV_FILE). */
typedef struct evlog_scan_file {
    const char *name;
    int kind;                  /* EVLOG_FILE_* */
    uint64_t size;
} evlog_scan_file;

/* A segment (EVLOG_EV_SEGMENT); at EVLOG_EV_SEGMENT_END with the results of
 * the scan filled too. */
typedef struct evlog_scan_segment {
    const char *file;          /* file name, relative to the directory */
    uint64_t base_offset;      /* from the file name (from the header when the
                                  name is not a segment's) */
    uint64_t size;             /* file size in bytes */
    int header_valid;          /* 1 when the 64-byte header is valid */
    uint32_t version;          /* format version in the header (0 if invalid) */
    uint64_t capacity;         /* bytes the segment was created with */
    int sealed;                /* 1 when it ends with a valid footer */
    int last;                  /* 1 for the directory's last segment */
    /* The footer's values, when sealed: */
    uint64_t footer_next_offset, footer_records, footer_batches;
    int64_t footer_min_timestamp, footer_max_timestamp;
    uint64_t data_end;         /* end of the batches: the footer's position when
                                  sealed; else (at SEGMENT_END) where the valid
                                  batches end */
    /* Filled at EVLOG_EV_SEGMENT_END: */
    int scanned;               /* 1 when its batches were read, 0 when the
                                  values below are the footer's (EVLOG_SCAN_QUICK) */
    uint64_t batches, records;
    uint64_t first_offset;     /* first record's offset, EVLOG_NO_OFFSET if none */
    uint64_t next_offset;      /* one past the last valid batch's last offset */
    int64_t min_timestamp, max_timestamp; /* as the footer defines them: the
                                  smallest first timestamp and the largest
                                  max timestamp of the batches; 0, 0 when
                                  there are no records */
    uint64_t problems;         /* problems reported in this segment */
} evlog_scan_segment;

/* A valid batch (EVLOG_EV_BATCH): its checksum, limits, offset sequence and
 * records were checked. */
typedef struct evlog_scan_batch {
    uint64_t pos;              /* byte position in the segment file */
    uint32_t length;           /* bytes, header included */
    uint64_t checksum;         /* the stored XXH3 (it matched) */
    uint64_t base_offset;      /* offset of its first record */
    uint32_t count;            /* records in it */
    uint64_t last_offset;      /* offset of its last record */
    int64_t first_timestamp, max_timestamp; /* from its header */
    int compression;           /* EVLOG_COMPRESS_NONE or EVLOG_COMPRESS_LZ4 */
    uint32_t payload_bytes;    /* records' bytes, uncompressed */
} evlog_scan_batch;

/* An index file (EVLOG_EV_INDEX), reported after its segment's batches. */
typedef struct evlog_scan_index {
    const char *file;
    uint64_t size;
    int valid;                 /* 1 when header, checksums, order and bounds
                                  (and, with EVLOG_SCAN_ENTRIES, every entry)
                                  check */
    uint32_t interval;         /* header fields, when the header is valid */
    uint64_t entries;
    uint64_t covered_end;
} evlog_scan_index;

/* One index entry and its check (EVLOG_EV_ENTRY). */
typedef struct evlog_scan_entry {
    uint64_t number;           /* 0 for the first entry */
    uint64_t offset, pos;      /* as stored */
    int valid;                 /* 1 when a valid batch with that base offset
                                  starts at that position */
    const char *reason;        /* why not, or "ok"; a static string */
} evlog_scan_entry;

/* A problem (EVLOG_EV_PROBLEM). */
typedef struct evlog_scan_problem {
    int code;                  /* EVLOG_PROBLEM_* */
    const char *name;          /* its stable name, e.g. "bad_batch" */
    int severity;              /* EVLOG_SEV_WARNING or EVLOG_SEV_ERROR */
    const char *file;          /* the file, relative to the directory */
    uint64_t pos;              /* first byte of the damaged range */
    uint64_t length;           /* its length; 0 when the problem is no range */
    uint64_t first_offset;     /* offsets affected: [first_offset, end_offset); */
    uint64_t end_offset;       /* equal when none; end EVLOG_NO_OFFSET: unknown */
    const char *reason;        /* a sentence of detail, e.g. "checksum mismatch" */
    const uint8_t *bytes;      /* the range's first bytes (up to 64) */
    size_t bytes_len;
} evlog_scan_problem;

/* One event of a scan: `kind` says which pointers are set (see EVLOG_EV_*);
 * the others are NULL. */
typedef struct evlog_scan_event {
    int kind;
    const evlog_scan_log *log;
    const evlog_scan_file *file;
    const evlog_scan_segment *segment;
    const evlog_scan_batch *batch;
    const evlog_record *record;
    const evlog_scan_index *index;
    const evlog_scan_entry *entry;
    const evlog_scan_problem *problem;
    uint64_t record_pos;       /* RECORD: the record's byte position in the file,
                                  or its batch's when the batch is compressed */
} evlog_scan_event;

/* Return values of an evlog_scan_cb besides 0 (go on). */
#define EVLOG_SCAN_SKIP 1 /* at SEGMENT: skip its batches; at BATCH: skip its records */
#define EVLOG_SCAN_STOP 2 /* end the scan now; evlog_scan returns EVLOG_SCAN_STOP */

/* Called for each event. Everything it points to is valid only during the
 * call. Returns 0, EVLOG_SCAN_SKIP or EVLOG_SCAN_STOP. */
typedef int (*evlog_scan_cb)(const evlog_scan_event *ev, void *payload);

/*
 * Scan the log directory `path`, or the one segment file `path`, reporting
 * every event to `cb` (see above). `flags` is a combination of
 * EVLOG_SCAN_QUICK, EVLOG_SCAN_RECORDS and EVLOG_SCAN_ENTRIES. Files are
 * opened read-only and nothing is written; no lock is taken, so a scan may
 * run beside a writer (it then sees a snapshot, and a batch being written may
 * show as a torn tail). A segment file scanned alone is judged in the
 * context of its directory (its checkpoint, whether it is the last segment).
 *
 * Damage is not an error of the scan: it is reported as EVLOG_EV_PROBLEM
 * events and counted in the END event's errors and warnings. A directory
 * without any file is an empty log; one holding files but no segment and no
 * checkpoint gets a NOT_LOG problem.
 *
 * Returns 0 when the whole path was scanned, EVLOG_SCAN_STOP when the
 * callback stopped it, or EVLOG_EINVAL (NULL argument), EVLOG_EIO (the path
 * cannot be opened or listed), EVLOG_ENOMEM. Thread-safe: it shares nothing
 * between calls.
 */
EVLOG_API int evlog_scan(const char *path, unsigned flags, evlog_scan_cb cb, void *payload);

/* The stable name of a problem code ("bad_batch", ...); "unknown" for others.
 * Thread-safe, cannot fail. */
EVLOG_API const char *evlog_problem_name(int code);

/*-************************************
 *  Repair
 **************************************/
/* Flags of evlog_repair(). */
#define EVLOG_REPAIR_DRY_RUN 0x1u    /* report the actions, perform none */
#define EVLOG_REPAIR_QUARANTINE 0x2u /* also cut damaged ranges out, losing offsets */

/* Kinds of repair actions (evlog_repair_action.kind). */
#define EVLOG_ACT_ZERO_TAIL 1     /* zero a torn tail to the end of the file */
#define EVLOG_ACT_WRITE_INDEX 2   /* rebuild an index file from its segment */
#define EVLOG_ACT_REMOVE_FILE 3   /* delete a leftover *.tmp or an orphan index */
#define EVLOG_ACT_WRITE_FOOTER 4  /* rewrite a footer from the segment's batches */
#define EVLOG_ACT_CUT 5           /* cut a segment at a position, seal it there */
#define EVLOG_ACT_MOVE_SEGMENT 6  /* move a whole segment out of the log */
#define EVLOG_ACT_WRITE_CHECKPOINT 7 /* rewrite the checkpoint to match */
#define EVLOG_ACT_UNREPAIRED 8    /* a problem left as it is (damage without
                                     EVLOG_REPAIR_QUARANTINE) */
#define EVLOG_ACT_WRITE_HEADER 9  /* rewrite a segment header whose batches are whole */
#define EVLOG_ACT_RESTORE_BATCH 10 /* write back, from truncate.pending, the batch a
                                      truncation in progress left torn */

/* One action of a repair, reported before it is performed. */
typedef struct evlog_repair_action {
    int kind;                  /* EVLOG_ACT_* */
    const char *file;          /* the file acted on */
    uint64_t pos, length;      /* the byte range removed or rewritten */
    const char *broken;        /* the file that keeps the removed bytes, or NULL */
    uint64_t first_offset;     /* offsets lost: [first_offset, end_offset); */
    uint64_t end_offset;       /* equal when none */
    const char *reason;        /* a sentence: why */
} evlog_repair_action;

/* Called for each action of a repair; valid only during the call. Cannot
 * stop the repair. */
typedef void (*evlog_repair_cb)(const evlog_repair_action *act, void *payload);

/* What a repair did (or would do, in a dry run). */
typedef struct evlog_repair_result {
    uint64_t actions;          /* actions performed (or planned) */
    uint64_t lost_first;       /* offsets lost, [lost_first, lost_end); */
    uint64_t lost_end;         /* equal when none */
    uint64_t unrepaired;       /* errors left (EVLOG_ACT_UNREPAIRED) */
} evlog_repair_result;

/*
 * Repair the log in directory `dir` so that it opens again: cut a torn tail
 * (zeroing the rest of the active segment, as recovery does), rebuild
 * invalid or missing indexes, rewrite a segment header or footer that its
 * segment's intact batches fully determine, and delete leftover *.tmp files
 * and orphan indexes. None of these loses a record; every byte they remove
 * but zeros and indexes is kept in a `.broken` file too.
 *
 * With EVLOG_REPAIR_QUARANTINE it also cuts damage out, losing offsets: the
 * segment holding the first damage is cut just before it and sealed there;
 * the bytes from the damage on and every later segment move into `.broken`
 * files beside them (NAME.POS.broken holds the bytes of NAME from POS on),
 * so no byte is destroyed; the checkpoint is rewritten to match. The offsets
 * from the first damaged one on are lost, and a writer assigns them again.
 * With EVLOG_REPAIR_DRY_RUN nothing is written.
 *
 * Every action is reported to `cb` (may be NULL) before it is done; `out`
 * (may be NULL) gets the summary. The writer lock is held throughout, so a
 * repair never runs beside a writer.
 *
 * Returns 0 when the log is (or, in a dry run, would be) free of errors,
 * EVLOG_ECORRUPT when errors remain that only EVLOG_REPAIR_QUARANTINE would
 * cut out, or EVLOG_EINVAL, EVLOG_ELOCKED (a writer has the log open),
 * EVLOG_ENOTLOG, EVLOG_EIO, EVLOG_ENOSPC, EVLOG_ENOMEM. A failure half-way
 * leaves every byte either in place or in a .broken file; running the repair
 * again finishes it. Thread-safe with respect to other handles.
 */
EVLOG_API int evlog_repair(evlog_repair_result *out, const char *dir, unsigned flags,
                           evlog_repair_cb cb, void *payload);
/* (inspection API: end) */

#ifdef __cplusplus
}
#endif

#endif /* EVLOG_H */
