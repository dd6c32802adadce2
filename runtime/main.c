/* sandbox: the command-line front end. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/cli.h"

static const struct command {
    const char *name;
    int (*fn)(struct global_opts *g, int argc, char **argv);
    const char *help;
} g_commands[] = {
    { "run", cmd_run, "run a program in a new sandbox" },
    { "gofer", cmd_gofer, "serve a host directory to a Sentry (internal)" },
    { "boot", cmd_boot, "the Sentry of one sandbox (internal)" },
};

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sandbox: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox COMMAND [ARGS...]\n"
            "\n"
            "Runs untrusted Linux x86-64 programs under the sandbox's own implementation\n"
            "of the Linux system-call interface.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof(g_commands) / sizeof(g_commands[0]); i++)
        fprintf(out, "  %-10s %s\n", g_commands[i].name, g_commands[i].help);
    fprintf(out, "\nRun 'sandbox COMMAND --help' for a command's flags.\n");
}

int main(int argc, char **argv)
{
    struct global_opts g = { .argv0 = argv[0] };
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(g_commands) / sizeof(g_commands[0]); i++)
        if (strcmp(argv[1], g_commands[i].name) == 0)
            return g_commands[i].fn(&g, argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'sandbox --help')", argv[1]);
    return EXIT_USAGE;
}
