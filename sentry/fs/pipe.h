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

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct file;
struct task;
struct uio;
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

/* ---- splice, tee, vmsplice (pipe_splice.c) ----
 * Pipe arguments are ends of pipes or FIFOs opened in the direction used (the system
 * call checks). nonblock is SPLICE_F_NONBLOCK with the ends' O_NONBLOCK folded in where
 * Linux folds it (the caller does that). Waits are interruptible (-ERESTARTSYS); a
 * write end with no reader gives -EPIPE and SIGPIPE. Results are Linux's: the bytes
 * moved (possibly short), 0 at end of input, or -errno when nothing moved. */

/* pipe_splice_from_file: in's data into the pipe of out (splice, sendfile): waits
 * for a free slot, then reads up to len bytes of in at *pos (advanced), or at in's
 * stream position when pos is NULL (one read, for files without positions), into
 * free slots. */
ssize_t pipe_splice_from_file(struct file *out, struct file *in, int64_t *pos, size_t len,
                              int nonblock);
/* pipe_splice_to_file: the pipe of in into out at *pos (advanced; NULL: out's own
 * position): waits for data, then writes up to len bytes, consuming what out took. */
ssize_t pipe_splice_to_file(struct file *in, struct file *out, int64_t *pos, size_t len,
                            int nonblock);
/* pipe_splice_pipe: moves up to len bytes from in's pipe to out's (-EINVAL if the
 * same pipe). */
ssize_t pipe_splice_pipe(struct file *in, struct file *out, size_t len, int nonblock);
/* pipe_tee: copies up to len bytes of in's pipe to out's without consuming them. */
ssize_t pipe_tee(struct file *in, struct file *out, size_t len, int nonblock);
/* pipe_vmsplice_to: vmsplice of the guest vector u into out's pipe, as far as there is
 * room; pipe_vmsplice_from: the pipe of in into the vector (-EFAULT if nothing could
 * be copied). */
ssize_t pipe_vmsplice_to(struct file *out, const struct uio *u, int nonblock);
ssize_t pipe_vmsplice_from(struct file *in, const struct uio *u, int nonblock);

#endif
