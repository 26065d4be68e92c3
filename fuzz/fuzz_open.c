/*
 * fuzz_open.c - libFuzzer harness of opening and recovering a log
 * directory of arbitrary segment, index and checkpoint bytes
 * (fuzz_container.h), in memory through the power-loss simulator's file
 * system (tests/reliability/plsim.h): a read-only open, an
 * EVLOG_OPEN_DAMAGED open and a writer's open (which recovers: cuts torn
 * tails, rebuilds indexes, finishes truncations), each followed by reading
 * every record and a few seeks; the writer then appends, syncs, closes and
 * the log is opened once more.
 *
 * Nothing may crash, leak, read out of bounds or hang; iteration returns
 * consecutive offsets from the start, never past the end, and ends or
 * fails; after the writer's open, the log takes an append.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_container.h"
#include "plsim.h"

#define DIR_ "/fuzz/log"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(evlog *log)
{
    evlog_iter *it = NULL;
    evlog_record r;
    uint64_t start = evlog_start_offset(log), end = evlog_end_offset(log), o = start;
    int rc;
    if (start > end)
        abort();
    if (evlog_iter_new(&it, log, start) == 0) {
        while (o - start < 200000 && (rc = evlog_iter_next(it, &r)) == 1) {
            if (r.offset < o || r.offset >= end)
                abort(); /* out of order, or past the end */
            o = r.offset + 1;
        }
        evlog_iter_free(it);
    }
    for (o = start; o < end && o < start + 64; o += 7)
        if (evlog_iter_new(&it, log, o) == 0) {
            if (evlog_iter_next(it, &r) == 1 && r.offset < o)
                abort(); /* a seek went backwards */
            evlog_iter_free(it);
        }
}

static int open_with(plsim *s, unsigned flags, evlog **out)
{
    evlog_options o;
    evlog_options_init(&o);
    o.segment_bytes = 4096;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o.flags = flags;
    o.io = plsim_io(s);
    return evlog_open(out, DIR_, &o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_image *img = fuzz_unpack(data, size);
    plsim *s;
    evlog *log = NULL;
    if (!img)
        return 0;
    if (!(s = plsim_new()) || plsim_load(s, DIR_, img) != 0) {
        plsim_free(s);
        pl_image_free(img);
        return 0;
    }
    if (open_with(s, EVLOG_READ_ONLY, &log) == 0) {
        read_all(log);
        evlog_close(log);
    }
    if (open_with(s, EVLOG_OPEN_DAMAGED, &log) == 0) {
        read_all(log);
        evlog_close(log);
    }
    if (open_with(s, 0, &log) == 0) {
        evlog_record r;
        uint64_t end = evlog_end_offset(log), first = 0;
        read_all(log);
        memset(&r, 0, sizeof r);
        r.value = "fuzz";
        r.value_len = 4;
        r.timestamp = 1;
        if (evlog_append(log, &r, 1, &first) == 0 && first != end)
            abort(); /* the append went elsewhere than the end */
        (void)evlog_sync(log);
        read_all(log);
        evlog_close(log);
        if (open_with(s, 0, &log) == 0) {
            read_all(log);
            evlog_close(log);
        }
    }
    plsim_free(s);
    pl_image_free(img);
    return 0;
}
