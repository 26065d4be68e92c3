/*
 * fuzz_cli.c - libFuzzer harness of the command-line tool's `dump` and
 * `verify` (tools/cmd_dump.c, tools/cmd_verify.c, both over evlog_scan) on
 * arbitrary files: the input is a directory (fuzz_container.h) written to
 * a private directory under /dev/shm (or $TMPDIR), then
 *   evlog verify DIR, evlog verify --json DIR, evlog dump DIR,
 *   evlog dump SEGMENT-FILE (the first segment, scanned alone)
 * run in-process with their output thrown away. None may crash, leak, read
 * out of bounds or hang; their exit status is 0, 1 or 2.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_container.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void cleanup(void)
{
    pl_image *none = pl_image_new();
    if (none && pl_image_write_dir(none, dir) == 0) /* empties it */
        rmdir(dir);
    pl_image_free(none);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s/evlog-fuzz-cli-%d", base, (int)getpid());
    atexit(cleanup);
    /* the tools print; the fuzzer does not need to see it */
    if (!freopen("/dev/null", "w", stdout))
        return 0;
    return 0;
}

static int run(int (*cmd)(int, char **), int argc, const char **argv)
{
    int rc;
    optind = 0; /* a fresh getopt for each run */
    rc = cmd(argc, (char **)argv);
    fflush(stdout);
    if (rc < 0 || rc > 2)
        abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_image *img = fuzz_unpack(data, size);
    char seg[400] = "";
    size_t i;
    FILE *saved_err = stderr;
    if (!img)
        return 0;
    if (pl_image_write_dir(img, dir) != 0) {
        pl_image_free(img);
        return 0;
    }
    for (i = 0; i < img->n; i++)
        if (strstr(img->files[i].name, ".log") && !strstr(img->files[i].name, ".broken")) {
            snprintf(seg, sizeof seg, "%s/%s", dir, img->files[i].name);
            break;
        }
    stderr = stdout; /* messages too go to /dev/null */
    {
        const char *v1[] = {"verify", dir, NULL};
        const char *v2[] = {"verify", "--json", dir, NULL};
        const char *d1[] = {"dump", dir, NULL};
        const char *d2[] = {"dump", seg, NULL};
        run(cmd_verify, 2, v1);
        run(cmd_verify, 3, v2);
        run(cmd_dump, 2, d1);
        if (seg[0])
            run(cmd_dump, 2, d2);
    }
    stderr = saved_err;
    pl_image_free(img);
    return 0;
}
