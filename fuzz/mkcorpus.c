/*
 * mkcorpus.c - writes the seed corpora of the fuzzers (fuzz/corpus/) from
 * real logs made by the library: clean and LZ4 logs, the states a process
 * crash and power losses leave (tests/reliability/plsim.h), a log with a
 * truncation, single batches of both kinds and the fixed structures.
 *
 *   fuzz_mkcorpus fuzz/corpus
 *
 * Deterministic: the same library writes the same corpora.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format.h"
#include "plsim.h"

#define DIR_ "/corpus/log"

static const char *out;

static void put(const char *sub, const char *name, const void *data, size_t len)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out, sub, name);
    if (!(f = fopen(path, "wb")) || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* The image in the container form of fuzz_container.h. */
static void put_dir(const char *name, const pl_image *img)
{
    size_t i, len = 0, cap = 0;
    uint8_t *buf = NULL;
    for (i = 0; i < img->n; i++)
        cap += 9 + (size_t)img->files[i].len;
    buf = malloc(cap + 1);
    for (i = 0; i < img->n; i++) {
        const pl_file *f = &img->files[i];
        uint64_t base = 0;
        uint32_t b32, l32 = (uint32_t)f->len;
        uint8_t kind = 3;
        if (evl_parse_name(f->name, EVL_SEG_SUFFIX, &base))
            kind = 0;
        else if (evl_parse_name(f->name, EVL_INDEX_SUFFIX, &base))
            kind = 1;
        else if (strcmp(f->name, EVL_CKPT_NAME) == 0)
            kind = 2;
        b32 = (uint32_t)base;
        buf[len] = kind;
        memcpy(buf + len + 1, &b32, 4);
        memcpy(buf + len + 5, &l32, 4);
        memcpy(buf + len + 9, f->data, (size_t)f->len);
        len += 9 + (size_t)f->len;
    }
    put("open", name, buf, len);
    put("cli", name, buf, len);
    free(buf);
}

static void append(evlog *log, uint64_t seed, unsigned batches)
{
    uint8_t bufs[4][96];
    evlog_record r[4];
    unsigned b;
    for (b = 0; b < batches; b++) {
        uint64_t end = evlog_end_offset(log);
        size_t n = 1 + (end + seed) % 4, i;
        for (i = 0; i < n; i++) {
            size_t k = (end + i) % 7, v = (end * 13 + i) % 80, j;
            for (j = 0; j < k + v; j++)
                bufs[i][j] = (uint8_t)((seed + end + i) % 3 ? 'a' + j % 5 : (end * 31 + j * 7) & 0xff);
            memset(&r[i], 0, sizeof r[i]);
            r[i].timestamp = (int64_t)(1700000000000000000ull + (end + i) * 1000);
            r[i].key = k ? bufs[i] : NULL;
            r[i].key_len = k;
            r[i].value = (end + i) % 9 == 4 && k ? NULL : bufs[i] + k;
            r[i].value_len = r[i].value ? v : 0;
        }
        if (evlog_append(log, r, n, NULL) != 0) {
            fprintf(stderr, "append: %s\n", evlog_errmsg(log));
            exit(1);
        }
    }
}

/* Each batch of a segment file, and its fixed structures. */
static void put_pieces(const pl_image *img, const char *tag)
{
    size_t i;
    unsigned nb = 0;
    for (i = 0; i < img->n; i++) {
        const pl_file *f = &img->files[i];
        char name[128];
        uint8_t one[1 + 4096];
        if (strstr(f->name, ".log")) {
            uint64_t pos = EVL_SEG_HEADER_SIZE;
            evl_batch b;
            one[0] = 0;
            memcpy(one + 1, f->data, EVL_SEG_HEADER_SIZE);
            snprintf(name, sizeof name, "%s-seghdr-%zu", tag, i);
            put("batch", name, one, 1 + EVL_SEG_HEADER_SIZE);
            while (pos < f->len && evl_batch_check(&b, f->data + pos, f->len - pos) == EVL_OK) {
                if (nb < 12 && b.length < sizeof one - 1) {
                    one[0] = (uint8_t)(nb & 1); /* both checksum modes */
                    memcpy(one + 1, f->data + pos, b.length);
                    snprintf(name, sizeof name, "%s-batch-%u", tag, nb);
                    put("batch", name, one, 1 + b.length);
                }
                nb++;
                pos += b.length;
            }
            if (f->len >= pos + EVL_FOOTER_SIZE) {
                memcpy(one + 1, f->data + pos, EVL_FOOTER_SIZE);
                snprintf(name, sizeof name, "%s-footer-%zu", tag, i);
                put("batch", name, one, 1 + EVL_FOOTER_SIZE);
            }
        } else if (strstr(f->name, ".index") && f->len >= EVL_INDEX_HEADER_SIZE) {
            one[0] = 0;
            memcpy(one + 1, f->data, EVL_INDEX_HEADER_SIZE);
            snprintf(name, sizeof name, "%s-idxhdr-%zu", tag, i);
            put("batch", name, one, 1 + EVL_INDEX_HEADER_SIZE);
        } else if (strcmp(f->name, EVL_CKPT_NAME) == 0 && f->len >= EVL_CKPT_SLOT_SIZE) {
            one[0] = 0;
            memcpy(one + 1, f->data, EVL_CKPT_SLOT_SIZE);
            snprintf(name, sizeof name, "%s-ckpt", tag);
            put("batch", name, one, 1 + EVL_CKPT_SLOT_SIZE);
        }
    }
}

static evlog *open_sim(plsim *s, int compression, int sync_mode)
{
    evlog_options o;
    evlog *log = NULL;
    evlog_options_init(&o);
    o.segment_bytes = 4096;
    o.index_interval_bytes = EVLOG_MIN_INDEX_INTERVAL;
    o.compression = compression;
    o.sync_mode = sync_mode;
    o.io = plsim_io(s);
    if (evlog_open(&log, DIR_, &o) != 0) {
        fprintf(stderr, "open failed\n");
        exit(1);
    }
    return log;
}

int main(int argc, char **argv)
{
    pl_image *img = NULL;
    plsim *s;
    evlog *log;
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_mkcorpus OUTDIR\n");
        return 2;
    }
    out = argv[1];
    mkdir(out, 0755);

    /* a clean log of a few segments, closed */
    s = plsim_new();
    log = open_sim(s, EVLOG_COMPRESS_NONE, EVLOG_SYNC_NONE);
    append(log, 1, 40);
    evlog_close(log);
    plsim_crash(s, DIR_, PL_CRASH_KEEP_ALL, 0, &img, NULL);
    put_dir("clean", img);
    put_pieces(img, "clean");
    pl_image_free(img);

    /* LZ4, then truncated at both ends */
    log = open_sim(s, EVLOG_COMPRESS_LZ4, EVLOG_SYNC_ALWAYS);
    append(log, 2, 30);
    evlog_truncate_back(log, evlog_end_offset(log) - 3);
    evlog_truncate_front(log, evlog_start_offset(log) + 20);
    evlog_close(log);
    plsim_crash(s, DIR_, PL_CRASH_KEEP_ALL, 0, &img, NULL);
    put_dir("lz4-truncated", img);
    put_pieces(img, "lz4");
    pl_image_free(img);
    plsim_free(s);

    /* a process crash and power losses after unsynced appends */
    s = plsim_new();
    log = open_sim(s, EVLOG_COMPRESS_NONE, EVLOG_SYNC_NONE);
    append(log, 3, 25);
    evlog_sync(log);
    append(log, 4, 9);
    plsim_crash(s, DIR_, PL_CRASH_KEEP_ALL, 0, &img, NULL);
    put_dir("process-crash", img);
    pl_image_free(img);
    plsim_crash(s, DIR_, PL_CRASH_LOSE_ALL, 0, &img, NULL);
    put_dir("power-loss-lose-all", img);
    pl_image_free(img);
    plsim_crash(s, DIR_, PL_CRASH_RANDOM, 7, &img, NULL);
    put_dir("power-loss-random", img);
    pl_image_free(img);
    evlog_close(log);
    plsim_free(s);

    /* an empty log */
    s = plsim_new();
    log = open_sim(s, EVLOG_COMPRESS_NONE, EVLOG_SYNC_NONE);
    evlog_close(log);
    plsim_crash(s, DIR_, PL_CRASH_KEEP_ALL, 0, &img, NULL);
    put_dir("empty", img);
    pl_image_free(img);
    plsim_free(s);
    return 0;
}
