/* `sandbox boot`: the Sentry's process (DESIGN.md). Not for people: launch.c starts
 * it in new namespaces with the Gofer's socket on an inherited fd, the guest's stdio
 * as its own, and the guest's environment as its environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cli.h"
#include "sentry/kernel/kernel.h"
#include "sentry/socket/ifaces.h"

extern char **environ;

static void boot_usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox boot --gofer-fd N --platform NAME --cwd DIR [--ids UID:GID]\n"
            "                    [--readonly] [--strace] [--debug-log FILE] [--probe-confinement]\n"
            "                    [--network none|host|sandbox] [--net-io uring|plain]\n"
            "                    -- PROGRAM [ARGS...]\n"
            "\n"
            "Runs the Sentry: confines itself, then runs PROGRAM from the tree the Gofer\n"
            "on fd N serves, and exits with its status. Started by 'sandbox run'.\n");
}

int cmd_boot(struct global_opts *g, int argc, char **argv)
{
    (void)g;
    struct boot_config cfg = { .platform = "auto", .stdio = { 0, 1, 2 }, .gofer_sock = -1,
                               .cwd = "/" };
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            boot_usage(stdout);
            return 0;
        } else if (strcmp(a, "--readonly") == 0) {
            cfg.root_readonly = 1;
        } else if (strcmp(a, "--strace") == 0) {
            cfg.strace = 1;
        } else if (strcmp(a, "--probe-confinement") == 0) {
            cfg.probe_confinement = 1;
        } else if (strcmp(a, "--gofer-fd") == 0 && has_value) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 3 || v > 1 << 20) {
                cli_error("boot: bad --gofer-fd '%s'", argv[i]);
                return EXIT_USAGE;
            }
            cfg.gofer_sock = (int)v;
        } else if (strcmp(a, "--platform") == 0 && has_value) {
            cfg.platform = argv[++i];
        } else if (strcmp(a, "--ids") == 0 && has_value) {
            char extra;
            if (sscanf(argv[++i], "%u:%u%c", &cfg.uid, &cfg.gid, &extra) != 2) {
                cli_error("boot: bad --ids '%s'", argv[i]);
                return EXIT_USAGE;
            }
            cfg.ids_given = 1;
        } else if (strcmp(a, "--cwd") == 0 && has_value) {
            cfg.cwd = argv[++i];
        } else if (strcmp(a, "--network") == 0 && has_value) {
            const char *v = argv[++i];
            if (strcmp(v, "none") == 0)
                cfg.network = NET_NONE;
            else if (strcmp(v, "host") == 0)
                cfg.network = NET_HOST;
            else if (strcmp(v, "sandbox") == 0)
                cfg.network = NET_SANDBOX;
            else {
                cli_error("boot: bad --network '%s'", v);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--net-io") == 0 && has_value) {
            const char *v = argv[++i];
            if (strcmp(v, "plain") != 0 && strcmp(v, "uring") != 0) {
                cli_error("boot: bad --net-io '%s'", v);
                return EXIT_USAGE;
            }
            cfg.net_plain_io = strcmp(v, "plain") == 0;
        } else if (strcmp(a, "--debug-log") == 0 && has_value) {
            cfg.debug_log = argv[++i];
        } else {
            cli_error("boot: unknown flag '%s'", a);
            boot_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cfg.gofer_sock < 0 || i >= argc) {
        boot_usage(stderr);
        return EXIT_USAGE;
    }
    cfg.exe_path = argv[i];
    cfg.argv = argv + i;
    cfg.envp = environ;
    int status = sentry_boot(&cfg);
    fflush(stdout);
    if (status < 0)
        _exit(127);  /* could not run it, as a shell says for a program it cannot find */
    /* _exit: nothing is left to clean up, and exit handlers could need calls the
     * seccomp filter does not allow */
    if ((status & 0x7f) == 0)
        _exit((status >> 8) & 0xff);
    _exit(128 + (status & 0x7f));
}
