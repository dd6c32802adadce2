/* Files backed by a host fd. By design (DESIGN.md) this is only for the stdio files the
 * CLI hands in and, later, for data I/O on files the Gofer opened: their data moves
 * with host read/write calls straight between the host fd and guest pages. */
#ifndef SENTRY_FS_HOSTFD_H
#define SENTRY_FS_HOSTFD_H

struct file;

/* hostfd_open: a file owning host fd (closed on release), with open flags taken from
 * the host; NULL with *err = -errno. */
struct file *hostfd_open(int fd, int *err);

#endif
