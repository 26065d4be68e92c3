/*
 * fuzz_container.h - how the directory fuzzers (fuzz_open, fuzz_cli) read
 * a log directory out of one input: a series of files, each
 *
 *   kind (1 byte) | base offset (u32 LE) | length (u32 LE) | bytes
 *
 * kind % 4: 0 a segment "<base>.log", 1 an index "<base>.index",
 * 2 the checkpoint, 3 another file ("lock", "<base>.index.tmp", "junk",
 * "<base>.log.broken", "spare.tmp", "truncate.pending").
 * A length past the input's end takes what is left. fuzz_mkcorpus writes
 * real logs in this form as the seed corpora.
 */
#ifndef EVLOG_FUZZ_CONTAINER_H
#define EVLOG_FUZZ_CONTAINER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plsim.h"

#define FUZZ_MAX_FILES 16

static inline void fuzz_name(char *dst, size_t cap, unsigned kind, uint32_t base)
{
    static const char *const other[] = {"lock",      "%020u.index.tmp", "junk",
                                        "%020u.log.broken", "spare.tmp", "truncate.pending",
                                        "lock",      "junk"};
    switch (kind % 4) {
    case 0: snprintf(dst, cap, "%020u.log", base); break;
    case 1: snprintf(dst, cap, "%020u.index", base); break;
    case 2: snprintf(dst, cap, "checkpoint"); break;
    default: snprintf(dst, cap, other[(kind >> 2) % 8], base); break;
    }
}

/* The files of `data` as an image (NULL on ENOMEM). */
static inline pl_image *fuzz_unpack(const uint8_t *data, size_t size)
{
    pl_image *img = pl_image_new();
    size_t pos = 0, nfiles = 0;
    while (img && pos + 9 <= size && nfiles < FUZZ_MAX_FILES) {
        unsigned kind = data[pos];
        uint32_t base, len;
        char name[96];
        memcpy(&base, data + pos + 1, 4);
        memcpy(&len, data + pos + 5, 4);
        pos += 9;
        if (len > size - pos)
            len = (uint32_t)(size - pos);
        fuzz_name(name, sizeof name, kind, base);
        if (pl_image_put(img, name, data + pos, len) != 0) {
            pl_image_free(img);
            return NULL;
        }
        pos += len;
        nfiles++;
    }
    return img;
}

#endif /* EVLOG_FUZZ_CONTAINER_H */
