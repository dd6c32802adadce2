/* The Gofer: the one process of a sandbox that touches host files. It serves a
 * directory tree to the Sentry over a SOCK_SEQPACKET socket (protocol: proto.h), from
 * inside a chroot, under a seccomp allowlist. See README.md. */
#ifndef GOFER_GOFER_H
#define GOFER_GOFER_H

#include <stdint.h>
#include <sys/types.h>

/* gofer_main: serves the tree at root on sock until the Sentry closes its end. Opens
 * root and /proc/self/fd, chroots into root, raises RLIMIT_NOFILE, installs the
 * seccomp filter, then loops. readonly: every change is refused with EROFS. Returns
 * the process exit status: 0 when the peer went away, 1 if setup failed. Must run in
 * a process of its own (it chroots and installs a filter that kills on anything else). */
int gofer_main(const char *root, int sock, int readonly);

/* gofer_spawn: starts `/proc/self/exe gofer --root ROOT --fd N [--readonly]` as a
 * child that dies with its parent (PR_SET_PDEATHSIG), with no fd but its socket end
 * inherited. rootless: in a user namespace of its own whose root is the caller's
 * uid/gid (lib/userns.h), told so with --root-is. *sentry_sock gets the Sentry's end
 * (close-on-exec), *pid the child. 0 or -errno. */
int gofer_spawn(const char *root, int readonly, int rootless, int *sentry_sock, pid_t *pid);

/* gofer_set_root_ids: in a rootless Gofer, root of its user namespace is uid/gid
 * outside: owners cross that map on the way to the Sentry and back. */
void gofer_set_root_ids(uint32_t uid, uint32_t gid);

#endif
