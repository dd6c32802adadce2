/* Pipe internals shared by pipe.c (read, write, FIFOs) and pipe_splice.c (splice,
 * tee, vmsplice). Not for other components: use pipe.h. */
#ifndef SENTRY_FS_PIPE_PRIV_H
#define SENTRY_FS_PIPE_PRIV_H

#include <poll.h>
#include <pthread.h>

#include "sentry/fs/pipe_buf.h"
#include "sentry/kernel/waitq.h"

struct file;
struct inode;
struct task;

/* What blocked readers and writers wait for on the pipe's queue. */
#define READ_EVENTS  (POLLIN | POLLRDNORM | POLLHUP)
#define WRITE_EVENTS (POLLOUT | POLLWRNORM | POLLERR)
/* What a transfer changes, as Linux's keyed wake-ups say it: data for readers, room
 * for writers. A hang-up wakes with everything (READ/WRITE_EVENTS), so that an
 * edge-triggered epoll item sees no event its file did not have. */
#define DATA_EVENTS  (POLLIN | POLLRDNORM)
#define ROOM_EVENTS  (POLLOUT | POLLWRNORM)

struct pipe {
    pthread_mutex_t mu;
    struct pipe_buf buf;           /* mu */
    unsigned readers, writers;     /* open ends (mu); the pipe lives while either is > 0 */
    unsigned r_counter, w_counter; /* ends ever opened (mu): FIFO opens wait for these
                                    * to move, and POLLHUP waits for a first writer */
    struct waitq wq;
    struct inode *fifo;            /* the FIFO whose ->fifo is this pipe, or NULL;
                                    * not a reference: every open end holds one */
};

/* One open end: its pipe, and the writer count it saw at open (Linux's f_version
 * trick: a FIFO reader that opened before any writer sees no POLLHUP). */
struct pipe_end {
    struct pipe *p;
    unsigned w_seen;
};

/* pipe_of: the pipe of f, an end of a pipe or FIFO (is_pipe_file). */
struct pipe *pipe_of(struct file *f);
/* pipe_wait_locked: sleeps on p's queue for events, dropping p->mu meanwhile (the
 * waiter is registered first, so no wake-up is lost). 0 when woken, -EINTR on a
 * signal. */
int pipe_wait_locked(struct pipe *p, unsigned events);
/* pipe_send_sigpipe: SIGPIPE to the writing thread, as Linux's send_sig(SIGPIPE,
 * current, 0) makes it: SI_USER from the writer itself. Call without p->mu. */
void pipe_send_sigpipe(struct task *t);

#endif
