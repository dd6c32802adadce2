/* Readiness of open files, and one task sleeping on the wait queues of many files at
 * once: the pieces poll, select and epoll share (file_ops.poll is the per-file half).
 *
 * A poll table registers one callback waiter per file queue; any wake-up of a queue
 * sets the table's trigger and wakes the task. The caller scans its files, sleeps with
 * poll_table_wait, and scans again:
 *
 *     poll_table_init(&pt, t);
 *     n = scan(registering each not-ready file: poll_table_add);
 *     while (!n && !timed out && no signal) {
 *         r = poll_table_wait(&pt, deadline);   // returns at once the first time
 *         n = scan(without registering);
 *     }
 *     poll_table_free(&pt);
 *
 * The first wait does not sleep (the table starts triggered): a file that became
 * ready between its check and its registration is caught by the second scan, and any
 * change after registration wakes the table. */
#ifndef SENTRY_VFS_POLL_H
#define SENTRY_VFS_POLL_H

#include <poll.h>
#include <time.h>

#include "sentry/kernel/waitq.h"

struct file;
struct task;

/* What a file without a poll op reports (Linux's DEFAULT_POLLMASK). */
#define POLL_DEFAULT_MASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/* vfs_poll: the events f is ready for now (f->ops->poll, or POLL_DEFAULT_MASK without
 * one). With wq, also the queue to wait on for changes (NULL: f never changes). */
unsigned vfs_poll(struct file *f, struct waitq **wq);

/* vfs_can_poll: whether f has a poll op of its own (epoll refuses the others). */
int vfs_can_poll(const struct file *f);

/* One registration of a poll table: a waiter on one file's queue. */
struct poll_entry {
    struct file *f;              /* a reference, so wq stays alive while registered */
    struct waitq *wq;
    struct waiter w;
};

#define POLL_BLOCK_ENTRIES 16

/* Registrations in fixed blocks (waiters are linked into queues, so they never move). */
struct poll_block {
    struct poll_block *next;
    int n;
    struct poll_entry e[POLL_BLOCK_ENTRIES];
};

/* One task's wait on many queues; lives on the waiting call's stack. */
struct poll_table {
    struct task *t;              /* the sleeper */
    int triggered;               /* atomic: a queue woke since the last wait */
    int err;                     /* -ENOMEM once a registration failed */
    struct poll_block first;     /* inline: small polls allocate nothing */
    struct poll_block *last;
};

/* poll_table_init: an empty table for t, triggered (see above). */
void poll_table_init(struct poll_table *pt, struct task *t);

/* poll_table_add: waits on wq (f's queue) for events until poll_table_free; takes a
 * reference on f. On allocation failure it records -ENOMEM in pt->err. */
void poll_table_add(struct poll_table *pt, struct file *f, struct waitq *wq,
                    unsigned events);

/* poll_table_wait: sleeps until a registered queue has woken since the last call
 * (0), the CLOCK_MONOTONIC deadline passes (-ETIMEDOUT; NULL: none), or a signal t
 * does not block is pending (-EINTR). Clears the trigger. */
int poll_table_wait(struct poll_table *pt, const struct timespec *deadline);

/* poll_table_free: removes every waiter and drops the file references. */
void poll_table_free(struct poll_table *pt);

#endif
