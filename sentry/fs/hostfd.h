/* Files backed by a host fd. By design (DESIGN.md) this is only for the stdio files the
 * CLI hands in and, later, for data I/O on files the Gofer opened: their data moves
 * with host read/write calls straight between the host fd and guest pages. */
#ifndef SENTRY_FS_HOSTFD_H
#define SENTRY_FS_HOSTFD_H

#include <stdint.h>
#include <sys/types.h>

struct file;
struct uio;

/* hostfd_open: a file owning host fd (closed on release), with open flags taken from
 * the host; NULL with *err = -errno. */
struct file *hostfd_open(int fd, int *err);

/* hostfd_transfer: moves the vector between guest memory and host fd through pinned
 * guest pages (no bounce copy): at *pos (advanced) with pread/pwrite, or at the fd's
 * own position when pos is NULL. Returns the bytes moved (short when the host's call
 * was), or -errno if none. Also used for the files the Gofer opened. */
ssize_t hostfd_transfer(int fd, const struct uio *u, int64_t *pos, int to_guest);

#endif
