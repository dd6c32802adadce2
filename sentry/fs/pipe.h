/* Pipes and FIFOs: anonymous pipes (pipe, pipe2) and the pipe behind a named FIFO
 * (fifo_open in special.h). Linux semantics: 64 KiB in 16 page slots by default,
 * F_SETPIPE_SZ/F_GETPIPE_SZ, PIPE_BUF atomic writes, packet mode (O_DIRECT), EOF once
 * every writer is gone, EPIPE and SIGPIPE once every reader is, FIONREAD.
 *
 * Every pipe has one wait queue; blocked readers wait there for POLLIN|POLLHUP and
 * blocked writers for POLLOUT|POLLERR, and poll/epoll can add their waiters to it
 * (pipe_waitq) and ask pipe_poll what is ready. */
#ifndef SENTRY_FS_PIPE_H
#define SENTRY_FS_PIPE_H

struct file;
struct task;
struct waitq;

/* pipe_create: a new anonymous pipe: out[0] the read end, out[1] the write end, each
 * with one reference. flags: O_NONBLOCK (both ends), O_DIRECT (packet mode: the write
 * end). 0 or -ENOMEM. */
int pipe_create(unsigned flags, struct file *out[2]);

/* is_pipe_file: true if f is an end of a pipe or FIFO. */
int is_pipe_file(const struct file *f);

/* pipe_poll: the POLL* events ready on f (an end of a pipe or FIFO), as Linux's
 * pipe_poll: POLLIN|POLLRDNORM (data), POLLOUT|POLLWRNORM (a free slot), POLLHUP (no
 * writer, once one has been seen), POLLERR (no reader), each for the directions f was
 * opened for. */
unsigned pipe_poll(struct file *f);

/* pipe_waitq: the wait queue where f's pipe reports changes (see above). */
struct waitq *pipe_waitq(struct file *f);

#endif
