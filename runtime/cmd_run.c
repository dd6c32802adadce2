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
#include "runtime/launch.h"

extern char **environ;

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox run [FLAGS] PROGRAM [ARGS...]\n"
            "\n"
            "Runs PROGRAM (an x86-64 ELF executable or #! script, static or dynamically\n"
            "linked, found inside the sandbox: a path, or a name searched in $PATH) in a\n"
            "new sandbox with this terminal's stdin, stdout and stderr, the current\n"
            "environment and working directory, and exits with its exit status\n"
            "(128+N if signal N killed it; 127 if it cannot be found or started).\n"
            "\n"
            "The sandbox's root is the host's / read-only (served by a separate Gofer\n"
            "process) under an in-memory overlay: the program may write anywhere, and\n"
            "nothing it writes reaches the host.\n"
            "\n"
            "Started by a user other than root, the sandbox runs rootless: its processes\n"
            "get user namespaces of their own, and host files of other owners show\n"
            "as uid/gid 65534.\n"
            "\n"
            "flags:\n"
            "  --root=DIR          serve DIR as the root instead of /\n"
            "  --platform=NAME     how guest code runs: %s, or auto (the default):\n"
            "                      the first of the platforms auto trusts that works on\n"
            "                      this host (now only ptrace: on PVM hosts kvm works but\n"
            "                      is much slower); --debug-log records the choice\n"
            "  --network=MODE      the guest's network (default: none):\n"
            "                        none     loopback only, inside the sandbox\n"
            "                        host     the host's network: the guest's INET\n"
            "                                 sockets are host sockets; LESS ISOLATED\n"
            "                                 (the Sentry may then make host socket\n"
            "                                 calls, and the guest reaches whatever\n"
            "                                 the host can)\n"
            "                        sandbox  the network namespace this runs in (or\n"
            "                                 --netns): the Sentry takes its ethernet\n"
            "                                 links (veth, TAP) over with their\n"
            "                                 addresses, routes and MTU, as runsc does;\n"
            "                                 the sandbox's own TCP/IP (lwIP) answers\n"
            "                                 on them and the host's side of the\n"
            "                                 links loses its addresses. Needs root;\n"
            "                                 refused in the host's initial namespace\n"
            "  --netns=PATH        with --network=sandbox (implied): join this network\n"
            "                      namespace first (e.g. /var/run/netns/NAME)\n"
            "  --net-io=KIND       --network=sandbox's host I/O for frames: uring\n"
            "                      (io_uring, the default) or plain (recvmmsg/sendmmsg)\n"
            "  --strace            print every system call of the guest on stderr\n"
            "  --debug-log=FILE    write the Sentry's debug log to FILE\n"
            "  --probe-confinement before the program starts, report on stderr what the\n"
            "                      confined Sentry is refused (host files, exec, sockets)\n"
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
    struct launch_spec spec = { .platform = "auto", .root = "/", .readonly = 1 };
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
            spec.strace = 1;
        } else if (strcmp(argv[i], "--probe-confinement") == 0) {
            spec.probe_confinement = 1;
        } else if ((v = flag_value("--platform", argc, argv, i, &used))) {
            if ((!plat_find(v) && strcmp(v, "auto") != 0) || strcmp(v, "null") == 0) {
                cli_error("unknown platform '%s' (have: %s)", v, plat_names());
                return EXIT_USAGE;
            }
            spec.platform = v;
            i += used;
        } else if ((v = flag_value("--network", argc, argv, i, &used))) {
            if (strcmp(v, "none") != 0 && strcmp(v, "host") != 0 &&
                strcmp(v, "sandbox") != 0) {
                cli_error("unknown network mode '%s' (have: none, host, sandbox)", v);
                return EXIT_USAGE;
            }
            spec.network = v;
            i += used;
        } else if ((v = flag_value("--netns", argc, argv, i, &used))) {
            spec.netns = v;
            i += used;
        } else if ((v = flag_value("--net-io", argc, argv, i, &used))) {
            if (strcmp(v, "uring") != 0 && strcmp(v, "plain") != 0) {
                cli_error("unknown --net-io '%s' (have: uring, plain)", v);
                return EXIT_USAGE;
            }
            spec.net_io = v;
            i += used;
        } else if ((v = flag_value("--root", argc, argv, i, &used))) {
            spec.root = v;
            i += used;
        } else if ((v = flag_value("--debug-log", argc, argv, i, &used))) {
            spec.debug_log = v;
            i += used;
        } else {
            cli_error("unknown flag '%s' (try 'sandbox run --help')", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (spec.netns && !spec.network)
        spec.network = "sandbox";
    if ((spec.netns || spec.net_io) &&
        (!spec.network || strcmp(spec.network, "sandbox") != 0)) {
        cli_error("--netns and --net-io go with --network=sandbox only");
        return EXIT_USAGE;
    }
    if (i >= argc) {
        cli_error("run: no program given (try 'sandbox run --help')");
        return EXIT_USAGE;
    }
    struct stat st;
    if (stat(spec.root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--root %s: not a directory", spec.root);
        return EXIT_USAGE;
    }
    char cwd[PATH_MAX];
    /* the working directory is kept when the served root is the host's own */
    spec.cwd = strcmp(spec.root, "/") == 0 && getcwd(cwd, sizeof(cwd)) ? cwd : "/";
    spec.argv = argv + i;
    spec.envp = environ;
    fflush(stdout);
    return launch_sandbox(&spec);
}
