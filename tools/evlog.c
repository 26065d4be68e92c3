/*
 * evlog.c - the evlog command-line tool: argument dispatch only. Each
 * subcommand lives in its own cmd_*.c and parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "util.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"stat", cmd_stat, "show the segments, offsets and totals of a log"},
    {"dump", cmd_dump, "print every batch and record of a log or a segment file"},
    {"verify", cmd_verify, "check every checksum, offset, footer and index of a log"},
    {"repair", cmd_repair, "fix a log that will not open (torn tail, indexes, damage)"},
    {"cat", cmd_cat, "print the values of a log, and follow it with -f"},
    {"append", cmd_append, "append records read from standard input"},
#ifdef EVLOG_HAVE_BENCH
    {"bench", cmd_bench, "measure the library's performance"},
#endif
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "usage: evlog COMMAND [OPTIONS] [ARGS]\n"
               "       evlog help [COMMAND]\n"
               "       evlog --version\n\n"
               "An inspection and maintenance tool for evlog logs.\n\ncommands:\n");
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'evlog COMMAND --help' describes a command's options.\n"
               "Exit status: 0 all is well, 1 problems were found, 2 bad usage or I/O error.\n");
}

static const command *find(const char *name)
{
    size_t i;
    for (i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    const command *c;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        char *help_argv[3];
        if (argc < 3 || argv[1][0] == '-') {
            usage(stdout);
            return EXIT_CLEAN;
        }
        if (!(c = find(argv[2]))) {
            fprintf(stderr, "evlog: no command '%s'; try 'evlog help'\n", argv[2]);
            return EXIT_USAGE;
        }
        help_argv[0] = argv[2];
        help_argv[1] = "--help";
        help_argv[2] = NULL;
        return c->run(2, help_argv);
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("evlog %s\n", evlog_version());
        return EXIT_CLEAN;
    }
    if (!(c = find(argv[1]))) {
        fprintf(stderr, "evlog: no command '%s'; try 'evlog help'\n", argv[1]);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
