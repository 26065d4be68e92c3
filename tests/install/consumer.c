/* A program built against an installed evlog, by find_package and by
 * pkg-config: it appends a record and reads it back. */
#include <evlog.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    evlog_record rec;
    evlog_iter *it;
    evlog *log;
    int rc;

    if (argc < 2)
        return 2;
    memset(&rec, 0, sizeof rec);
    rec.value = "installed";
    rec.value_len = 9;
    if ((rc = evlog_open(&log, argv[1], NULL)) < 0 || (rc = evlog_append(log, &rec, 1, NULL)) < 0 ||
        (rc = evlog_iter_new(&it, log, 0)) < 0) {
        fprintf(stderr, "consumer: %s\n", evlog_strerror(rc));
        return 1;
    }
    rc = evlog_iter_next(it, &rec);
    /* the record borrows the log's memory: compare before closing */
    if (rc != 1 || rec.value_len != 9 || memcmp(rec.value, "installed", 9) != 0) {
        fprintf(stderr, "consumer: read back failed (%d)\n", rc);
        return 1;
    }
    evlog_iter_free(it);
    if ((rc = evlog_close(log)) < 0) {
        fprintf(stderr, "consumer: close: %s\n", evlog_strerror(rc));
        return 1;
    }
    printf("consumer: evlog %s ok\n", evlog_version());
    return 0;
}
