/* `sandbox gofer`: the Gofer process (gofer/gofer.h). Not for people: `run` starts
 * it with gofer_spawn and talks to it over the inherited socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gofer/gofer.h"
#include "runtime/cli.h"

static void gofer_usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox gofer --root DIR --fd N [--readonly] [--root-is UID:GID]\n"
            "\n"
            "Serves the tree at DIR to a Sentry over the SOCK_SEQPACKET socket on fd N,\n"
            "chrooted into DIR, until the Sentry closes it. Started by 'sandbox run'.\n"
            "--root-is: it runs as root of a user namespace that is UID:GID outside.\n");
}

int cmd_gofer(struct global_opts *g, int argc, char **argv)
{
    (void)g;
    const char *root = NULL;
    int fd = -1, readonly = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            gofer_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--readonly") == 0) {
            readonly = 1;
        } else if (strcmp(argv[i], "--root-is") == 0 && i + 1 < argc) {
            unsigned uid, gid;
            char extra;
            if (sscanf(argv[++i], "%u:%u%c", &uid, &gid, &extra) != 2) {
                cli_error("gofer: bad --root-is '%s'", argv[i]);
                return EXIT_USAGE;
            }
            gofer_set_root_ids(uid, gid);
        } else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 1 << 20) {
                cli_error("gofer: bad --fd '%s'", argv[i]);
                return EXIT_USAGE;
            }
            fd = (int)v;
        } else {
            cli_error("gofer: unknown flag '%s'", argv[i]);
            gofer_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!root || fd < 0) {
        gofer_usage(stderr);
        return EXIT_USAGE;
    }
    /* _exit, not return: under the Gofer's seccomp filter, exit handlers (the leak
     * check of ASan builds) would need syscalls it does not allow */
    _exit(gofer_main(root, fd, readonly));
}
