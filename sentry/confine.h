/* Confining the Sentry (DESIGN.md, "Processes of one sandbox"): before the first
 * guest instruction runs, the Sentry moves into an empty root, gives up every
 * capability and installs its seccomp allowlist (seccomp.c). From then on it cannot
 * open a host file, execute a program or make a network connection: files come from
 * the Gofer's socket, whose host fds the Sentry only reads and writes. */
#ifndef SENTRY_CONFINE_H
#define SENTRY_CONFINE_H

/* sentry_confine: all three steps, in order. 0 or -errno (logged). The caller must be
 * in a mount namespace of its own (the CLI starts `sandbox boot` in one).
 * host_network: --network=host, whose guest INET sockets are host sockets: the
 * allowlist then admits the socket calls they need (sentry_seccomp_install). */
int sentry_confine(int host_network);

/* sentry_seccomp_install: the allowlist, applied to every thread of the process; with
 * host_network also socket(AF_INET/AF_INET6) and the calls on such sockets. */
int sentry_seccomp_install(int host_network);

/* sentry_confinement_probe: after sentry_confine, tries what the confinement must
 * prevent (opening host files, executing a program, creating AF_INET, AF_UNIX and
 * AF_NETLINK sockets, mounting) and writes
 * one line per attempt to fd, e.g. "confinement: openat /etc/passwd: refused
 * (Operation not permitted)". For `sandbox run --probe-confinement` and its test. */
void sentry_confinement_probe(int fd);

#endif
