/*
 * truncate_back.c - `truncate_back DIR OFFSET`: open the log in DIR as its
 * writer and drop every record at or above OFFSET (evlog_truncate_back),
 * for the tests of `evlog cat -f`, which has no such command. Exit status
 * 0, or 1 with the library's message.
 */
#include <stdio.h>
#include <stdlib.h>

#include "evlog.h"

int main(int argc, char **argv)
{
    evlog *log;
    char *end;
    unsigned long long offset;
    int rc;

    if (argc != 3 || !*argv[2] || (offset = strtoull(argv[2], &end, 10), *end)) {
        fprintf(stderr, "usage: truncate_back DIR OFFSET\n");
        return 1;
    }
    if ((rc = evlog_open(&log, argv[1], NULL)) != 0) {
        fprintf(stderr, "truncate_back: %s: %s\n", argv[1], evlog_strerror(rc));
        return 1;
    }
    if ((rc = evlog_truncate_back(log, offset)) != 0)
        fprintf(stderr, "truncate_back: %s: %s: %s\n", argv[1], evlog_strerror(rc),
                evlog_errmsg(log));
    if (evlog_close(log) != 0 && rc == 0)
        rc = EVLOG_EIO;
    return rc != 0;
}
