/*
 * relwork.c - the model, the checks and the workload of the reliability
 * loops (relwork.h).
 */
#include "relwork.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*-******************* seeds *******************/
uint64_t rw_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t rw_rand(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ull;
    return rw_mix(*state);
}

uint64_t rw_env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

uint64_t rw_seed(const char *label, uint64_t dflt)
{
    uint64_t s = rw_env_u64("EVLOG_SEED", dflt);
    fprintf(stderr, "seed %s: EVLOG_SEED=%" PRIu64 "\n", label, s);
    return s;
}

/*-******************* records *******************/
void rw_record(uint64_t seed, uint32_t gen, uint64_t offset, evlog_record *rec, uint8_t *buf)
{
    uint64_t h = rw_mix(seed ^ rw_mix(((uint64_t)gen << 40) ^ offset));
    uint64_t st = h;
    unsigned r = (unsigned)((h >> 16) % 100);
    size_t klen = 0, vlen, i;
    int keyed = (h & 3) != 0, tomb = keyed && ((h >> 4) & 15) == 0;
    uint8_t *p = buf;

    if (r < 60)
        vlen = (size_t)((h >> 24) % 41);
    else if (r < 92)
        vlen = 41 + (size_t)((h >> 24) % 360);
    else
        vlen = 401 + (size_t)((h >> 24) % 4600);
    memset(rec, 0, sizeof *rec);
    rec->timestamp = (int64_t)(1600000000000000000ull + offset * 1000 + gen);
    if (keyed) {
        klen = 1 + (size_t)((h >> 8) % 24);
        for (i = 0; i < klen; i++)
            p[i] = (uint8_t)('a' + (rw_rand(&st) % 26));
        rec->key = p;
        rec->key_len = klen;
        p += klen;
    }
    if (tomb)
        return;
    if ((h >> 40) & 1) { /* compressible */
        for (i = 0; i < vlen; i++)
            p[i] = (uint8_t)("evlog reliability "[(i + offset) % 18]);
    } else {
        for (i = 0; i + 8 <= vlen; i += 8) {
            uint64_t w = rw_rand(&st);
            memcpy(p + i, &w, 8);
        }
        for (; i < vlen; i++)
            p[i] = (uint8_t)rw_rand(&st);
    }
    rec->value = p;
    rec->value_len = vlen;
}

/*-******************* the model *******************/
#define MLOCK(m) pthread_mutex_lock(&(m)->mu)
#define MUNLOCK(m) pthread_mutex_unlock(&(m)->mu)

void rw_model_init(rw_model *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->seed = seed;
    m->gen = 1;
    pthread_mutex_init(&m->mu, NULL);
}

void rw_model_free(rw_model *m)
{
    free(m->gens);
    free(m->bstart);
    pthread_mutex_destroy(&m->mu);
    memset(m, 0, sizeof *m);
}

void rw_model_lock(rw_model *m) { MLOCK(m); }
void rw_model_unlock(rw_model *m) { MUNLOCK(m); }

int rw_model_copy(rw_model *dst, const rw_model *src)
{
    rw_model *s = (rw_model *)src;
    int rc;
    MLOCK(s);
    rc = rw_model_copy_locked(dst, src);
    MUNLOCK(s);
    return rc;
}

int rw_model_copy_locked(rw_model *dst, const rw_model *src)
{
    int rc = 0;
    memcpy(dst, src, sizeof *dst);
    pthread_mutex_init(&dst->mu, NULL);
    dst->gens = malloc((size_t)(src->cap ? src->cap : 1) * sizeof *dst->gens);
    dst->bstart = malloc((size_t)(src->cap ? src->cap : 1) * sizeof *dst->bstart);
    if (!dst->gens || !dst->bstart) {
        free(dst->gens);
        free(dst->bstart);
        dst->gens = NULL;
        dst->bstart = NULL;
        dst->cap = 0;
        rc = -1;
    } else if (src->cap) {
        memcpy(dst->gens, src->gens, (size_t)src->cap * sizeof *dst->gens);
        memcpy(dst->bstart, src->bstart, (size_t)src->cap * sizeof *dst->bstart);
    }
    return rc;
}

static int model_append_locked(rw_model *m, uint64_t first, size_t n);

int rw_model_append(rw_model *m, uint64_t first, size_t n)
{
    int rc;
    MLOCK(m);
    rc = model_append_locked(m, first, n);
    MUNLOCK(m);
    return rc;
}

static int model_append_locked(rw_model *m, uint64_t first, size_t n)
{
    uint64_t o;
    if (first + n > m->cap) {
        uint64_t c = m->cap ? m->cap : 1024;
        uint32_t *g;
        uint64_t *b;
        while (c < first + n)
            c *= 2;
        if (!(g = realloc(m->gens, (size_t)c * sizeof *g)))
            return -1;
        m->gens = g;
        if (!(b = realloc(m->bstart, (size_t)c * sizeof *b)))
            return -1;
        m->bstart = b;
        memset(m->gens + m->cap, 0, (size_t)(c - m->cap) * sizeof *g);
        memset(m->bstart + m->cap, 0, (size_t)(c - m->cap) * sizeof *b);
        m->cap = c;
    }
    for (o = first; o < first + n; o++) {
        m->gens[o] = m->gen;
        m->bstart[o] = first;
    }
    if (first + n > m->end)
        m->end = first + n;
    return 0;
}

static int fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return RW_EBROKEN;
}

static int same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    if ((a == NULL) != (b == NULL) || alen != blen)
        return 0;
    return alen == 0 || memcmp(a, b, alen) == 0;
}

/* Compare what the log returned at `o` with the model's record. */
static int check_record(const rw_model *m, uint64_t o, const evlog_record *got, char *why,
                        size_t len)
{
    static _Thread_local uint8_t buf[RW_REC_MAX];
    evlog_record want;
    if (got->offset != o)
        return fail(why, len, "iteration returned offset %" PRIu64 " where %" PRIu64
                    " was expected", got->offset, o);
    rw_record(m->seed, m->gens[o], o, &want, buf);
    if (got->timestamp != want.timestamp || !same_bytes(got->key, got->key_len, want.key, want.key_len) ||
        !same_bytes(got->value, got->value_len, want.value, want.value_len)) {
        /* which generation wrote it, if any: a record that came back */
        uint32_t g;
        for (g = 1; g <= m->gen + 1; g++) {
            evlog_record other;
            static _Thread_local uint8_t b2[RW_REC_MAX];
            rw_record(m->seed, g, o, &other, b2);
            if (got->timestamp == other.timestamp &&
                same_bytes(got->value, got->value_len, other.value, other.value_len))
                return fail(why, len, "record %" PRIu64 " is generation %u's, expected "
                            "generation %u's: a record that was truncated or lost came back", o,
                            g, m->gens[o]);
        }
        return fail(why, len, "record %" PRIu64 " differs from what was appended (gen %u; "
                    "value %zu bytes, expected %zu)", o, m->gens[o], got->value_len,
                    want.value_len);
    }
    return 0;
}

int rw_check_log(rw_model *m, evlog *log, rw_counts *c, char *why, size_t why_len)
{
    uint64_t start = evlog_start_offset(log), end = evlog_end_offset(log), o;
    uint64_t durable = evlog_durable_offset(log);
    evlog_iter *it = NULL;
    evlog_record rec;
    int rc;

    if (start < m->start_lo || start > m->start_hi)
        return fail(why, why_len, "start offset %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "]",
                    start, m->start_lo, m->start_hi);
    if (end < m->acked)
        return fail(why, why_len, "acknowledged records lost: end offset %" PRIu64
                    " below the acknowledged durable offset %" PRIu64, end, m->acked);
    if (end > m->end)
        return fail(why, why_len, "end offset %" PRIu64 " past anything ever appended (%" PRIu64
                    "): records that were never appended (or truncated away)", end, m->end);
    if (end > start && end < m->end && m->bstart[end] != end)
        return fail(why, why_len, "end offset %" PRIu64 " inside the batch starting at %" PRIu64
                    ": a batch was not atomic", end, m->bstart[end]);
    if (durable > end || durable < start)
        return fail(why, why_len, "durable offset %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "]",
                    durable, start, end);
    if (start == end) /* nothing to read (an empty log: see test_regressions.c) */
        goto adopt;
    if ((rc = evlog_iter_new(&it, log, start)) != 0) {
        fail(why, why_len, "evlog_iter_new(%" PRIu64 "): %s: %s", start, evlog_strerror(rc),
             evlog_errmsg(log));
        return rc < 0 ? rc : RW_EBROKEN;
    }
    for (o = start; o < end; o++) {
        rc = evlog_iter_next(it, &rec);
        if (rc != 1) {
            fail(why, why_len, "evlog_iter_next at %" PRIu64 " of [%" PRIu64 ", %" PRIu64
                 "): %d %s: %s", o, start, end, rc, rc < 0 ? evlog_strerror(rc) : "end",
                 evlog_errmsg(log));
            evlog_iter_free(it);
            return rc < 0 ? rc : RW_EBROKEN;
        }
        if (check_record(m, o, &rec, why, why_len)) {
            evlog_iter_free(it);
            return RW_EBROKEN;
        }
        if (c)
            c->records_checked++;
    }
    rc = evlog_iter_next(it, &rec);
    evlog_iter_free(it);
    if (rc != 0) {
        fail(why, why_len, "a record past the end offset %" PRIu64 " (%d)", end, rc);
        return rc < 0 ? rc : RW_EBROKEN;
    }
adopt:
    /* adopt what the log holds */
    MLOCK(m);
    m->end = end;
    if (durable > m->acked)
        m->acked = durable;
    m->start_lo = m->start_hi = start;
    m->gen++;
    MUNLOCK(m);
    return 0;
}

struct verify_ctx {
    char *why;
    size_t len;
    uint64_t errors;
};

static int verify_cb(const evlog_scan_event *ev, void *payload)
{
    struct verify_ctx *v = payload;
    if (ev->kind == EVLOG_EV_PROBLEM && ev->problem->severity == EVLOG_SEV_ERROR &&
        v->errors++ == 0)
        snprintf(v->why, v->len, "verify: %s in %s at %" PRIu64 ": %s", ev->problem->name,
                 ev->problem->file ? ev->problem->file : "-", ev->problem->pos,
                 ev->problem->reason ? ev->problem->reason : "");
    return 0;
}

int rw_verify_dir(const char *dir, char *why, size_t why_len)
{
    struct verify_ctx v = {why, why_len, 0};
    int rc = evlog_scan(dir, EVLOG_SCAN_RECORDS | EVLOG_SCAN_ENTRIES, verify_cb, &v);
    if (rc != 0)
        return fail(why, why_len, "evlog_scan(%s): %s", dir, evlog_strerror(rc));
    return v.errors ? -1 : 0;
}

/*-******************* the workload *******************/
#define MAX_BATCH 40

static int call_failed(rw_result *res, evlog *log, const char *call, unsigned step, int rc)
{
    res->rc = rc;
    res->call = call;
    res->step = step;
    snprintf(res->errmsg, sizeof res->errmsg, "%s", log ? evlog_errmsg(log) : "");
    return rc;
}

static void note_durable(rw_model *m, evlog *log)
{
    uint64_t d = evlog_durable_offset(log);
    MLOCK(m);
    if (d > m->acked)
        m->acked = d;
    MUNLOCK(m);
}

/* m->acked = max(m->acked, v) */
static void set_acked(rw_model *m, uint64_t v)
{
    MLOCK(m);
    if (v > m->acked)
        m->acked = v;
    MUNLOCK(m);
}

static int open_log(rw_model *m, evlog **log, const char *dir, const evlog_options *o,
                    rw_counts *c, rw_result *res, unsigned step)
{
    int rc = evlog_open_ex(log, dir, o, res->errmsg, sizeof res->errmsg);
    if (rc) {
        res->rc = rc;
        res->call = "evlog_open";
        res->step = step;
        return rc;
    }
    if (c)
        c->reopens++;
    if ((rc = rw_check_log(m, *log, c, res->why, sizeof res->why)) != 0) {
        /* RW_EBROKEN: a broken promise; else reading failed (an I/O
         * error the caller may have injected) */
        snprintf(res->errmsg, sizeof res->errmsg, "%s", evlog_errmsg(*log));
        evlog_close(*log);
        *log = NULL;
        res->rc = rc;
        res->call = rc == RW_EBROKEN ? "check after open" : "reading after open";
        res->step = step;
        return rc;
    }
    return 0;
}

static void pick_options(evlog_options *o, const rw_cfg *cfg, uint64_t *rs)
{
    evlog_options_init(o);
    o->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : 16384;
    o->index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o->sync_mode = cfg->sync_mode ? cfg->sync_mode
                                  : (rw_rand(rs) & 1 ? EVLOG_SYNC_ALWAYS : EVLOG_SYNC_NONE);
    o->compression = cfg->compression ? cfg->compression
                                      : (rw_rand(rs) % 3 == 0 ? EVLOG_COMPRESS_LZ4
                                                              : EVLOG_COMPRESS_NONE);
    o->linger_us = cfg->linger_us && (rw_rand(rs) & 1) ? cfg->linger_us : 0;
    /* a quarter of the opens drop sealed segments from the page cache,
     * drawn aside so that the seeds of the other choices keep their runs */
    o->flags = (rw_mix(*rs ^ 0x0ca7c4e5u) & 3) == 0 ? EVLOG_UNCACHE_SEALED : 0;
    o->io = cfg->io;
}

/* Read [from, end) back through a fresh iterator: the in-process view. */
static int read_back(rw_model *m, evlog *log, uint64_t from, rw_counts *c, rw_result *res,
                     unsigned step)
{
    uint64_t end = evlog_end_offset(log), o;
    evlog_iter *it = NULL;
    evlog_record rec;
    int rc = evlog_iter_new(&it, log, from);
    if (rc)
        return call_failed(res, log, "evlog_iter_new", step, rc);
    for (o = from; o < end; o++) {
        rc = evlog_iter_next(it, &rec);
        if (rc != 1) {
            evlog_iter_free(it);
            if (rc < 0)
                return call_failed(res, log, "evlog_iter_next", step, rc);
            snprintf(res->why, sizeof res->why, "iteration ended at %" PRIu64 " before the end %"
                     PRIu64, o, end);
            return call_failed(res, log, "read back", step, RW_EBROKEN);
        }
        if (check_record(m, o, &rec, res->why, sizeof res->why)) {
            evlog_iter_free(it);
            return call_failed(res, log, "read back", step, RW_EBROKEN);
        }
        if (c)
            c->records_checked++;
    }
    evlog_iter_free(it);
    return 0;
}

int rw_run(rw_model *m, const char *dir, const rw_cfg *cfg, rw_counts *c, rw_result *res,
           void (*after_call)(void *payload), void *payload)
{
    static _Thread_local uint8_t bufs[MAX_BATCH][RW_REC_MAX];
    evlog_record recs[MAX_BATCH];
    evlog_options o;
    evlog *log = NULL;
    uint64_t rs = rw_mix(cfg->seed ^ 0x72756e);
    unsigned step;
    int rc;

#define AFTER()                                                               \
    do {                                                                      \
        if (after_call)                                                       \
            after_call(payload);                                              \
    } while (0)

    memset(res, 0, sizeof *res);
    pick_options(&o, cfg, &rs);
    rc = open_log(m, &log, dir, &o, c, res, 0);
    AFTER();
    if (rc)
        return rc;
    note_durable(m, log);

    for (step = 1; step <= cfg->steps; step++) {
        unsigned r = (unsigned)(rw_rand(&rs) % 100);
        uint64_t start = evlog_start_offset(log), end = evlog_end_offset(log);

        if (r < 62 || r >= 97) { /* append a batch; now and then a big one */
            size_t n = r < 62 ? 1 + (size_t)(rw_rand(&rs) % 6) : 10 + (size_t)(rw_rand(&rs) % 30);
            uint64_t first = UINT64_MAX, bytes = 0;
            size_t i;
            for (i = 0; i < n; i++) {
                rw_record(m->seed, m->gen, end + i, &recs[i], bufs[i]);
                /* keep a batch well inside a segment */
                bytes += 24 + recs[i].key_len + recs[i].value_len;
                if (i > 0 && bytes > o.segment_bytes / 3) {
                    n = i;
                    break;
                }
            }
            /* noted before the call: a crash during it may keep the batch */
            if (rw_model_append(m, end, n))
                return call_failed(res, log, "model", step, EVLOG_ENOMEM);
            rc = evlog_append(log, recs, n, &first);
            AFTER();
            if (rc) {
                call_failed(res, log, "evlog_append", step, rc);
                break;
            }
            if (first != end || evlog_end_offset(log) != end + n) {
                snprintf(res->why, sizeof res->why, "append at %" PRIu64 " got first offset %"
                         PRIu64 " and end %" PRIu64, end, first, evlog_end_offset(log));
                call_failed(res, log, "evlog_append", step, RW_EBROKEN);
                break;
            }
            if (c) {
                c->batches_appended++;
                c->records_appended += n;
            }
            if (o.sync_mode == EVLOG_SYNC_ALWAYS)
                set_acked(m, end + n);
        } else if (r < 74) {
            rc = evlog_sync(log);
            AFTER();
            if (rc) {
                call_failed(res, log, "evlog_sync", step, rc);
                break;
            }
            set_acked(m, end);
        } else if (r < 80) {
            uint64_t from = end - (end - start > 50 ? 50 : end - start);
            if ((rc = read_back(m, log, from, c, res, step)) != 0)
                break;
        } else if (r < 85 && cfg->truncations) {
            uint64_t span = end - start, x = end - rw_rand(&rs) % (span < 25 ? span + 1 : 25);
            /* EVLOG_REL_TRUNC_AT_BATCH=1 keeps cuts between batches (to
             * look past a defect of cuts inside one) */
            if (x < m->end && x > start && rw_env_u64("EVLOG_REL_TRUNC_AT_BATCH", 0) &&
                m->bstart[x] >= start)
                x = m->bstart[x];
            /* records at and above x may vanish from now on, and those
             * appended after it must not be mistaken for the old ones */
            MLOCK(m);
            if (m->acked > x)
                m->acked = x;
            if (x < m->end) /* a batch cut at x ends there */
                m->bstart[x] = x;
            m->gen++;
            MUNLOCK(m);
            rc = evlog_truncate_back(log, x);
            AFTER();
            if (rc) {
                call_failed(res, log, "evlog_truncate_back", step, rc);
                break;
            }
            if (evlog_end_offset(log) != x) {
                snprintf(res->why, sizeof res->why, "truncate_back(%" PRIu64 ") left end %" PRIu64,
                         x, evlog_end_offset(log));
                call_failed(res, log, "evlog_truncate_back", step, RW_EBROKEN);
                break;
            }
            MLOCK(m);
            m->end = x;
            MUNLOCK(m);
        } else if (r < 88 && cfg->truncations) {
            uint64_t y = start + rw_rand(&rs) % ((end - start) / 2 + 1);
            MLOCK(m);
            if (y > m->start_hi)
                m->start_hi = y;
            MUNLOCK(m);
            rc = evlog_truncate_front(log, y);
            AFTER();
            if (rc) {
                call_failed(res, log, "evlog_truncate_front", step, rc);
                break;
            }
            if (evlog_start_offset(log) != y) {
                snprintf(res->why, sizeof res->why, "truncate_front(%" PRIu64 ") left start %"
                         PRIu64, y, evlog_start_offset(log));
                call_failed(res, log, "evlog_truncate_front", step, RW_EBROKEN);
                break;
            }
        } else if (cfg->reopen_every && rw_rand(&rs) % cfg->reopen_every < 10) {
            rc = evlog_close(log);
            log = NULL;
            AFTER();
            if (rc) {
                call_failed(res, NULL, "evlog_close", step, rc);
                return rc;
            }
            set_acked(m, end); /* close makes everything durable */
            pick_options(&o, cfg, &rs);
            rc = open_log(m, &log, dir, &o, c, res, step);
            AFTER();
            if (rc)
                return rc;
        } else {
            continue;
        }
        note_durable(m, log);
    }
    if (res->rc) {
        /* the failing handle must still close and free everything */
        (void)evlog_close(log);
        AFTER();
        return res->rc;
    }
    {
        uint64_t end = evlog_end_offset(log);
        rc = evlog_close(log);
        AFTER();
        if (rc)
            return call_failed(res, NULL, "evlog_close", step, rc);
        set_acked(m, end);
    }
#undef AFTER
    return 0;
}

int rw_recover_check(rw_model *m, const char *dir, const struct evlog_io *io, rw_counts *c,
                     rw_result *res)
{
    static _Thread_local uint8_t bufs[4][RW_REC_MAX];
    evlog_record recs[4];
    evlog_options o;
    evlog *log = NULL;
    rw_model ro;
    uint64_t end, first;
    size_t i, n;
    int rc;

    memset(res, 0, sizeof *res);
    evlog_options_init(&o);
    o.io = io;
    o.segment_bytes = 16384;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;

    /* a reader first, before any writer repaired anything */
    o.flags = EVLOG_READ_ONLY;
    if (rw_model_copy(&ro, m))
        return call_failed(res, NULL, "model", 0, EVLOG_ENOMEM);
    rc = open_log(&ro, &log, dir, &o, c, res, 0);
    rw_model_free(&ro);
    if (rc) {
        res->call = rc == RW_EBROKEN ? "check after read-only open" : "evlog_open(READ_ONLY)";
        return rc;
    }
    evlog_close(log);

    /* the writer: it recovers, and must take appends */
    o.flags = 0;
    if ((rc = open_log(m, &log, dir, &o, c, res, 0)) != 0)
        return rc;
    end = evlog_end_offset(log);
    n = 1 + (size_t)(rw_mix(m->seed ^ end) % 4);
    for (i = 0; i < n; i++)
        rw_record(m->seed, m->gen, end + i, &recs[i], bufs[i]);
    if (rw_model_append(m, end, n)) {
        evlog_close(log);
        return call_failed(res, NULL, "model", 0, EVLOG_ENOMEM);
    }
    if ((rc = evlog_append(log, recs, n, &first)) != 0 || (rc = evlog_sync(log)) != 0) {
        call_failed(res, log, "append after recovery", 0, rc);
        evlog_close(log);
        return rc;
    }
    set_acked(m, end + n);
    if ((rc = evlog_close(log)) != 0)
        return call_failed(res, NULL, "evlog_close after recovery", 0, rc);
    if ((rc = open_log(m, &log, dir, &o, c, res, 1)) != 0)
        return rc;
    if (c)
        c->verifies++;
    return evlog_close(log) ? call_failed(res, NULL, "evlog_close", 1, EVLOG_EIO) : 0;
}
