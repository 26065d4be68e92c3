/*
 * util.h - what the subcommands of the evlog tool share: exit codes,
 * option values, ISO 8601 times, JSON and text output of byte strings,
 * hexdumps, problem reports and a progress bar. Tools include only evlog.h
 * of the library; this header adds nothing of its internals.
 */
#ifndef EVLOG_TOOL_UTIL_H
#define EVLOG_TOOL_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "evlog.h"

/* Exit statuses of every subcommand. */
#define EXIT_CLEAN 0    /* all is well */
#define EXIT_PROBLEMS 1 /* problems were found in the log */
#define EXIT_USAGE 2    /* bad usage or an I/O error */

/* The subcommands; each parses its own options and returns an exit status. */
int cmd_stat(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_append(int argc, char **argv);
#ifdef EVLOG_HAVE_BENCH
int cmd_bench(int argc, char **argv);
#endif

/* Print "evlog CMD: " and the message to stderr. Returns EXIT_USAGE. */
int util_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For a bad command line: the message, then "try 'evlog CMD --help'". */
int util_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Explain why `path` cannot be inspected (it does not exist, ...), for an
 * evlog_scan that returned `rc`. Returns EXIT_USAGE. */
int util_scan_error(const char *cmd, const char *path, int rc);

/* Option values. Return 0, or -1 when the text is not one. */
int util_parse_u64(const char *s, uint64_t *out);
/* A time: ISO 8601 UTC ("2024-05-01T12:00:00Z", fractions and a "+hh:mm"
 * offset allowed, a date alone means its midnight) or raw nanoseconds since
 * the epoch (digits, optionally signed). */
int util_parse_time(const char *s, int64_t *ns);

/* "2024-05-01T12:00:00.000000000Z" into buf (at least 40 bytes). */
const char *util_iso8601(char *buf, size_t cap, int64_t ns);

/* Byte strings. */
int util_is_text(const void *p, size_t n);  /* valid UTF-8 without control bytes but tab */
int util_is_utf8(const void *p, size_t n);  /* valid UTF-8 */
void util_json_string(FILE *f, const void *p, size_t n); /* a quoted, escaped JSON string */
void util_hex(FILE *f, const void *p, size_t n);
/* Print `"name":...` for a key or value: a JSON string when the bytes are
 * valid UTF-8 (and not `hex`), else `"name_hex":"..."`; null for NULL. */
void util_json_bytes(FILE *f, const char *name, const void *p, size_t n, int hex);
/* For text output: the bytes quoted when text, else as hex (0x...); at
 * most `max` bytes (0: all), then "...(N bytes)". */
void util_text_bytes(FILE *f, const void *p, size_t n, int hex, size_t max);
/* A classic hexdump of `n` bytes that lay at file position `pos`, each line
 * prefixed by `indent`. */
void util_hexdump(FILE *f, const void *p, size_t n, uint64_t pos, const char *indent);

/* Problems of a scan, in text ("error: FILE: byte ...") or as JSON. */
void util_print_problem(FILE *f, const evlog_scan_problem *p, int json, int dump_bytes);
/* "12..19" / "none" / "12.. (end unknown)" */
void util_print_offsets(FILE *f, uint64_t first, uint64_t end);
/* A JSON number, or null for EVLOG_NO_OFFSET. */
void util_json_u64(FILE *f, uint64_t v);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct util_progress {
    int on;
    uint64_t total, done;
    long long last_ms;
    const char *what;
} util_progress;
void util_progress_start(util_progress *p, const char *what, uint64_t total);
void util_progress_update(util_progress *p, uint64_t done);
void util_progress_clear(util_progress *p); /* erase the bar before other output */
void util_progress_end(util_progress *p);

#endif /* EVLOG_TOOL_UTIL_H */
