/* `sandbox run`: the standalone use. Runs one program under the Sentry and exits with
 * its status (128+N when a signal N killed it). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "runtime/cli.h"
#include "sentry/kernel/kernel.h"

extern char **environ;

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox run [FLAGS] PROGRAM [ARGS...]\n"
            "\n"
            "Runs PROGRAM (a static x86-64 ELF executable, named by its path on the host)\n"
            "in a new sandbox with this terminal's stdin, stdout and stderr, the current\n"
            "environment and working directory, and exits with its exit status\n"
            "(128+N if signal N killed it).\n"
            "\n"
            "flags:\n"
            "  --platform=NAME     how guest code runs: %s (default: ptrace)\n"
            "  --strace            print every system call of the guest on stderr\n"
            "  --debug-log=FILE    write the Sentry's debug log to FILE\n"
            "  -h, --help          this text\n",
            plat_names());
}

/* flag_value: for "--name=value" or "--name value", the value; NULL if arg is not
 * this flag. *consumed is how many extra argv entries were used. */
static const char *flag_value(const char *name, int argc, char **argv, int i,
                              int *consumed)
{
    size_t n = strlen(name);
    *consumed = 0;
    if (strncmp(argv[i], name, n) != 0)
        return NULL;
    if (argv[i][n] == '=')
        return argv[i] + n + 1;
    if (argv[i][n] == 0 && i + 1 < argc) {
        *consumed = 1;
        return argv[i + 1];
    }
    return NULL;
}

int cmd_run(struct global_opts *g, int argc, char **argv)
{
    (void)g;
    struct boot_config cfg = { .platform = "ptrace", .stdio = { 0, 1, 2 } };
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        int used;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            run_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--strace") == 0) {
            cfg.strace = 1;
        } else if ((v = flag_value("--platform", argc, argv, i, &used))) {
            if (!plat_find(v) || strcmp(v, "null") == 0) {
                cli_error("unknown platform '%s' (have: %s)", v, plat_names());
                return EXIT_USAGE;
            }
            cfg.platform = v;
            i += used;
        } else if ((v = flag_value("--debug-log", argc, argv, i, &used))) {
            cfg.debug_log = v;
            i += used;
        } else {
            cli_error("unknown flag '%s' (try 'sandbox run --help')", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        cli_error("run: no program given (try 'sandbox run --help')");
        return EXIT_USAGE;
    }
    const char *prog = argv[i];
    int fd = open(prog, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("%s: %s", prog, strerror(errno));
        return EXIT_USAGE;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        cli_error("%s: not a regular file", prog);
        close(fd);
        return EXIT_USAGE;
    }
    char cwd[PATH_MAX];
    cfg.exe_fd = fd;
    cfg.exe_path = prog;
    cfg.argv = argv + i;
    cfg.envp = environ;
    cfg.cwd = getcwd(cwd, sizeof(cwd)) ? cwd : "/";

    int status = sentry_boot(&cfg);
    if (status < 0)
        return 126;  /* could not run it, as a shell says for a program it cannot run */
    fflush(stdout);
    if ((status & 0x7f) == 0)
        return (status >> 8) & 0xff;
    return 128 + (status & 0x7f);
}
