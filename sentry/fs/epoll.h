/* epoll instances (epoll(7)), after Linux's fs/eventpoll.c: an interest list of (open
 * file, fd) items, each with a callback waiter on its file's wait queue that puts the
 * item on the ready list; epoll_wait re-polls the ready items and reports them.
 * Level-triggered items go back on the ready list after being reported, EPOLLET ones
 * do not, EPOLLONESHOT ones are disabled until EPOLL_CTL_MOD. An epoll file is itself
 * pollable, so instances nest (at most EP_MAX_NESTS deep, without loops).
 *
 * Registrations belong to the open file, not the fd: an item stays while the file
 * lives (a dup keeps it) and goes when the file's last reference does (epoll_release_file,
 * called by file_put). Items hold no reference on their file.
 *
 * Locks, in order: g_epoll_mu (structure: ctl, file release, instance release) →
 * ep->mtx (an instance's items; held while its targets are polled; nested instances
 * in nesting order) → the targets' own locks → their waitq.mu → ep->lock (ready list,
 * item events; taken by the callback) → ep->wq.mu → task->mu. epoll_wait copies to
 * guest memory with ep->mtx held (as Linux does), so mm->mu comes after ep->mtx: the
 * last file_put of a file in an epoll set must not happen under mm->mu (no pollable
 * file is mappable today). */
#ifndef SENTRY_FS_EPOLL_H
#define SENTRY_FS_EPOLL_H

#include <stdint.h>
#include <time.h>

struct file;
struct task;

/* Maximum nesting of epoll instances (Linux's EP_MAX_NESTS). */
#define EP_MAX_NESTS 4

/* The guest's struct epoll_event (packed on x86-64: 12 bytes). */
struct guest_epoll_event {
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

/* epoll_create_file: a new epoll file (O_RDWR) with one reference. 0 or -ENOMEM. */
int epoll_create_file(struct file **out);

/* is_epoll_file: true if f is an epoll instance. */
int is_epoll_file(const struct file *f);

/* epoll_ctl_file: EPOLL_CTL_ADD/DEL/MOD of (tf, fd) on the epoll file epf, with ev
 * (already copied in; unused for DEL). The checks of Linux's do_epoll_ctl after the
 * fd lookups, in its order: EPERM (tf has no poll), EINVAL (epf not an epoll, epf ==
 * tf, EPOLLEXCLUSIVE misuse, bad op), ELOOP (loops, too deep), EEXIST, ENOENT. */
int epoll_ctl_file(struct file *epf, int op, struct file *tf, int fd,
                   const struct guest_epoll_event *ev);

/* epoll_wait_file: waits on the epoll file epf (checked by the caller) for up to
 * maxevents events, copied to the guest array at events in t's memory. deadline:
 * CLOCK_MONOTONIC, NULL for none; zero_timeout: do not sleep at all. Returns the
 * count, 0 on timeout, -EINTR on a signal, -EFAULT. */
int epoll_wait_file(struct task *t, struct file *epf, uint64_t events, int maxevents,
                    const struct timespec *deadline, int zero_timeout);

/* epoll_release_file: f's last reference is gone: removes it from every epoll
 * instance that watches it. Called by file_put before f's release. */
void epoll_release_file(struct file *f);

#endif
