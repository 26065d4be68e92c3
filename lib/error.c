/*
 * error.c - error codes, their names, and the per-handle detail message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *evlog_version(void)
{
    return "0.1.0";
}

const char *evlog_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define EVLOG_ERR_CASE_(name, code, text) \
    case code:                            \
        return text;
        EVLOG_ERRNO_MAP(EVLOG_ERR_CASE_)
#undef EVLOG_ERR_CASE_
    default:
        return "unknown error";
    }
}

int evl_err(evlog *log, int code, const char *fmt, ...)
{
    va_list ap;
    if (!log)
        return code;
    pthread_mutex_lock(&log->err_mu);
    va_start(ap, fmt);
    vsnprintf(log->errmsg, sizeof log->errmsg, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&log->err_mu);
    return code;
}

int evl_errno_code(int neg_errno)
{
    switch (-neg_errno) {
    case ENOSPC:
    case EDQUOT:
        return EVLOG_ENOSPC;
    case ENOMEM:
        return EVLOG_ENOMEM;
    default:
        return EVLOG_EIO;
    }
}

const char *evl_errno_str(int neg_errno)
{
    return strerror(-neg_errno);
}

const char *evlog_errmsg(const evlog *log)
{
    return log ? log->errmsg : "";
}
