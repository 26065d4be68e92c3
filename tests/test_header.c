/*
 * test_header.c - not a Criterion test: include/evlog.h must compile alone,
 * as C99 with -Wall -Wextra -pedantic -Werror and as C++ (tests/CMakeLists.txt
 * builds this file both ways into evlog_headertest). It includes nothing
 * else, so a header that leans on an include it does not make fails here.
 */
#include "evlog.h"

int evlog_headertest_use(void);

/* Touch the types and macros so that they are compiled, not only parsed. */
int evlog_headertest_use(void)
{
    evlog_options opts;
    evlog_record rec;
    evlog *log = NULL;
    evlog_iter *it = NULL;
    evlog_error e = EVLOG_ECORRUPT;
    opts.version = EVLOG_OPTIONS_VERSION;
    opts.segment_bytes = EVLOG_DEFAULT_SEGMENT_BYTES;
    opts.io = NULL;
    rec.offset = 0;
    rec.key = NULL;
    rec.key_len = 0;
    (void)log;
    (void)it;
    (void)rec;
    return (int)opts.version + (int)e + EVLOG_VERSION_NUMBER + (int)sizeof(struct evlog_record);
}
