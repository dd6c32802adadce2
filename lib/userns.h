/* Rootless sandboxes: a process started by a user without root gets a user namespace
 * of its own in which it is root, with that one user mapped (root inside = the user
 * outside). Its capabilities then cover the namespaces it creates with it, enough to
 * chroot (the Gofer) or pivot_root and mount tmpfs (the Sentry), and nothing on the
 * host: files it reaches keep their host permissions for that user. */
#ifndef LIB_USERNS_H
#define LIB_USERNS_H

#include <sys/types.h>

/* userns_map_root: writes pid's uid_map and gid_map so that root inside is uid/gid
 * outside (setgroups denied first, as an unprivileged writer must). 0 or -errno. */
int userns_map_root(pid_t pid, uid_t uid, gid_t gid);

#endif
