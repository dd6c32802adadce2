/* Starting one sandbox's processes (DESIGN.md): the Gofer, then the Sentry as
 * `sandbox boot` in new namespaces, joined by a socket; then waiting for the Sentry
 * and turning its end into the CLI's exit status. */
#ifndef RUNTIME_LAUNCH_H
#define RUNTIME_LAUNCH_H

struct launch_spec {
    const char *root;              /* the tree the Gofer serves */
    int readonly;                  /* ... read-only, under an in-memory overlay */
    const char *platform;
    int strace;
    const char *debug_log;         /* NULL: none */
    int probe_confinement;         /* report what the confined Sentry is refused */
    const char *network;           /* "none" (its own empty network namespace),
                                    * "host" (the host's: INET sockets are host
                                    * sockets) or "sandbox" (the namespace we are in,
                                    * or netns: its links taken over); NULL: none */
    const char *netns;             /* "sandbox": the namespace to join first (a path
                                    * like /var/run/netns/NAME); NULL: ours */
    const char *net_io;            /* "sandbox": "uring" or "plain"; NULL: default */
    const char *cwd;               /* the first process's working directory */
    char *const *argv;             /* the program, found inside the sandbox */
    char *const *envp;
};

/* launch_sandbox: runs the sandbox to its end. Returns the exit status for the CLI:
 * the guest's exit code, 128+N when signal N killed it, 127 when the program could
 * not be started, 126 when the sandbox itself could not be set up. */
int launch_sandbox(const struct launch_spec *s);

#endif
