/* splice, tee and vmsplice on pipes (see pipe.h), following Linux's fs/splice.c: the
 * same waits (wait_for_space, splice_from_pipe_next, ipipe_prep/opipe_prep), the same
 * partial results, and the same slot layout (one non-mergeable slot per file page or
 * user page), so pipe capacity runs out where it does on Linux.
 *
 * File data moves through a bounded Sentry buffer with the file's own read and write
 * (a uio over Sentry memory), never through guest memory. As Linux holds the pipe
 * mutex across splice_read and splice_write, p->mu is held while the file is read or
 * written: what is taken from a pipe is consumed only once the file took it, and what
 * a file gives goes into slots that were free when it was read, so nothing is lost or
 * duplicated between the two halves. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/fs/pipe.h"
#include "sentry/fs/pipe_priv.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/file.h"

/* How much file data one read or write moves (the Sentry buffer's size). */
#define SPLICE_CHUNK (64 * 1024)

/* ---- waiting, with p->mu held ---- */

/* wait_space: Linux's wait_for_space: a free slot in p. -EPIPE with no reader (the
 * caller sends SIGPIPE), -EAGAIN, -ERESTARTSYS. */
static int wait_space(struct pipe *p, int nonblock)
{
    for (;;) {
        if (!p->readers)
            return -EPIPE;
        if (!pipe_buf_full(&p->buf))
            return 0;
        if (nonblock)
            return -EAGAIN;
        if (pipe_wait_locked(p, WRITE_EVENTS) < 0)
            return -ERESTARTSYS;
    }
}

/* wait_data: Linux's ipipe_prep: data in p, or no writer left (0 either way);
 * -EAGAIN, -ERESTARTSYS. */
static int wait_data(struct pipe *p, int nonblock)
{
    while (pipe_buf_empty(&p->buf) && p->writers) {
        if (nonblock)
            return -EAGAIN;
        if (pipe_wait_locked(p, READ_EVENTS) < 0)
            return -ERESTARTSYS;
    }
    return 0;
}

/* lock2/unlock2: two different pipes' mutexes, in address order (Linux's
 * pipe_double_lock), so tee A→B and tee B→A cannot deadlock. */
static void lock2(struct pipe *a, struct pipe *b)
{
    if (a > b) {
        struct pipe *t = a; a = b; b = t;
    }
    pthread_mutex_lock(&a->mu);
    pthread_mutex_lock(&b->mu);
}

static void unlock2(struct pipe *a, struct pipe *b)
{
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_unlock(&b->mu);
}

/* ---- file → pipe ---- */

static ssize_t copy_from_buf(void *ctx, size_t skip, void *p, size_t n)
{
    memcpy(p, (const char *)ctx + skip, n);
    return (ssize_t)n;
}

/* push_pieces: puts n bytes of buf into new slots, the first holding at most first
 * bytes and the others a page each. Returns the bytes put (short only on -ENOMEM). */
static size_t push_pieces(struct pipe_buf *b, char *buf, size_t n, size_t first)
{
    size_t done = 0;
    while (done < n) {
        size_t piece = MIN(n - done, done ? PAGE_SIZE : first);
        ssize_t got = pipe_buf_push(b, piece, PIPE_SLOT_NOMERGE, copy_from_buf, buf, done);
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    return done;
}

ssize_t pipe_splice_from_file(struct file *out, struct file *in, int64_t *pos, size_t len,
                              int nonblock)
{
    struct pipe *p = pipe_of(out);
    char *buf = malloc(MIN(len, (size_t)SPLICE_CHUNK));
    if (!buf)
        return -ENOMEM;
    /* a page-cache file fills one slot per file page (filemap_splice_read), others
     * whole pages from the start (copy_splice_read) */
    int paged = pos && in->inode && S_ISREG(in->inode->mode);
    size_t done = 0;
    pthread_mutex_lock(&p->mu);
    ssize_t ret = wait_space(p, nonblock);
    while (ret == 0 && done < len) {
        size_t room = (size_t)pipe_buf_free_slots(&p->buf) * PAGE_SIZE;
        size_t lead = paged ? (size_t)(*pos & (int64_t)(PAGE_SIZE - 1)) : 0;
        if (room <= lead)
            break;
        size_t want = MIN(MIN(len - done, room - lead), (size_t)SPLICE_CHUNK);
        struct uio u = uio_kernel(buf, want);
        ssize_t n = vfs_read(in, &u, pos);
        if (n <= 0) {
            ret = n;
            break;
        }
        size_t put = push_pieces(&p->buf, buf, (size_t)n, PAGE_SIZE - lead);
        if (pos)
            *pos += (int64_t)put;   /* what did not fit is read again next time */
        done += put;
        if (put < (size_t)n) {
            ret = -ENOMEM;
            break;
        }
        /* a short read is the end for now; a stream gets one read (another could
         * block with data already in hand) */
        if ((size_t)n < want || !pos)
            break;
    }
    if (done)
        waitq_wake(&p->wq, DATA_EVENTS);
    pthread_mutex_unlock(&p->mu);
    free(buf);
    if (ret == -EPIPE && current_task)
        pipe_send_sigpipe(current_task);
    return done ? (ssize_t)done : ret;
}

/* ---- pipe → file, pipe → user memory ---- */

/* A destination for data taken from a pipe: accepts up to n bytes of buf and returns
 * how many it took (short: stop there), or -errno if none. */
struct sink {
    ssize_t (*take)(struct sink *s, const char *buf, size_t n, size_t done);
};

struct file_sink { struct sink s; struct file *f; int64_t *pos; };

static ssize_t take_file(struct sink *s, const char *buf, size_t n, size_t done)
{
    (void)done;
    struct file_sink *fs = (struct file_sink *)s;
    struct uio u = uio_kernel((void *)buf, n);
    ssize_t w = vfs_write(fs->f, &u, fs->pos);
    if (w > 0 && fs->pos)
        *fs->pos += w;
    return w;
}

struct user_sink { struct sink s; const struct uio *u; };

static ssize_t take_user(struct sink *s, const char *buf, size_t n, size_t done)
{
    return uio_copy_out(((struct user_sink *)s)->u, done, buf, n);
}

/* drain: Linux's __splice_from_pipe: waits for data (splice_from_pipe_next), then
 * offers up to len bytes to sink, consuming what it takes. Returns the bytes taken,
 * 0 when the pipe is empty with no writer, or -errno. */
static ssize_t drain(struct file *in, struct sink *sink, size_t len, int nonblock)
{
    struct pipe *p = pipe_of(in);
    char *buf = malloc(MIN(len, (size_t)SPLICE_CHUNK));
    if (!buf)
        return -ENOMEM;
    size_t done = 0;
    ssize_t ret = 0;
    pthread_mutex_lock(&p->mu);
    while (done < len) {
        if (pipe_buf_empty(&p->buf)) {
            if (!p->writers || done)
                break;
            if (nonblock) {
                ret = -EAGAIN;
                break;
            }
            if (pipe_wait_locked(p, READ_EVENTS) < 0) {
                ret = -ERESTARTSYS;
                break;
            }
            continue;
        }
        size_t n = pipe_buf_peek(&p->buf, buf, MIN(len - done, (size_t)SPLICE_CHUNK));
        ssize_t took = sink->take(sink, buf, n, done);
        if (took <= 0) {
            ret = took;
            break;
        }
        pipe_buf_consume(&p->buf, (size_t)took);
        waitq_wake(&p->wq, ROOM_EVENTS);
        done += (size_t)took;
        if ((size_t)took < n)
            break;
    }
    pthread_mutex_unlock(&p->mu);
    free(buf);
    return done ? (ssize_t)done : ret;
}

ssize_t pipe_splice_to_file(struct file *in, struct file *out, int64_t *pos, size_t len,
                            int nonblock)
{
    struct file_sink fs = { { take_file }, out, pos };
    return drain(in, &fs.s, len, nonblock);
}

ssize_t pipe_vmsplice_from(struct file *in, const struct uio *u, int nonblock)
{
    struct user_sink us = { { take_user }, u };
    return drain(in, &us.s, u->size, nonblock);
}

/* ---- user memory → pipe ---- */

static ssize_t copy_in_uio(void *ctx, size_t skip, void *p, size_t n)
{
    return uio_copy_in(ctx, skip, p, n);
}

ssize_t pipe_vmsplice_to(struct file *out, const struct uio *u, int nonblock)
{
    struct pipe *p = pipe_of(out);
    size_t done = 0;
    pthread_mutex_lock(&p->mu);
    ssize_t ret = wait_space(p, nonblock);
    /* one slot per piece of a user page, as iter_to_pipe adds them; a full pipe or a
     * fault ends it with what is in */
    int stop = ret != 0;
    for (int i = 0; !stop && i < u->iovcnt && done < u->size; i++) {
        uint64_t base = u->iov[i].base.v;
        size_t len = MIN(u->iov[i].len, u->size - done);
        for (size_t at = 0; at < len;) {
            size_t piece = MIN(len - at, PAGE_SIZE - ((base + at) & (PAGE_SIZE - 1)));
            ssize_t got = pipe_buf_push(&p->buf, piece, PIPE_SLOT_NOMERGE, copy_in_uio,
                                        (void *)u, done);
            if (got <= 0) {
                ret = got;
                stop = 1;
                break;
            }
            at += (size_t)got;
            done += (size_t)got;
        }
    }
    if (done)
        waitq_wake(&p->wq, DATA_EVENTS);
    pthread_mutex_unlock(&p->mu);
    if (ret == -EPIPE && current_task)
        pipe_send_sigpipe(current_task);
    return done ? (ssize_t)done : ret;
}

/* ---- pipe → pipe ---- */

/* prep: Linux's ipipe_prep then opipe_prep, each under its own pipe's lock: data in
 * ip (or no writer), then room in op. 0 or -errno (-EPIPE: send SIGPIPE). */
static int prep(struct pipe *ip, struct pipe *op, int nonblock)
{
    pthread_mutex_lock(&ip->mu);
    int ret = wait_data(ip, nonblock);
    pthread_mutex_unlock(&ip->mu);
    if (ret)
        return ret;
    pthread_mutex_lock(&op->mu);
    while (pipe_buf_full(&op->buf)) {
        if (!op->readers) {
            ret = -EPIPE;
            break;
        }
        if (nonblock) {
            ret = -EAGAIN;
            break;
        }
        if (pipe_wait_locked(op, WRITE_EVENTS) < 0) {
            ret = -ERESTARTSYS;
            break;
        }
    }
    pthread_mutex_unlock(&op->mu);
    return ret;
}

/* wake_both: after data went from ip to op (moved or copied). */
static void wake_both(struct pipe *ip, struct pipe *op, int consumed)
{
    waitq_wake(&op->wq, DATA_EVENTS);
    if (consumed)
        waitq_wake(&ip->wq, ROOM_EVENTS);
}

ssize_t pipe_splice_pipe(struct file *in, struct file *out, size_t len, int nonblock)
{
    struct pipe *ip = pipe_of(in), *op = pipe_of(out);
    if (ip == op)
        return -EINVAL;
    ssize_t ret;
    for (;;) {
        ret = prep(ip, op, nonblock);
        if (ret)
            break;
        lock2(ip, op);
        if (!op->readers) {
            ret = -EPIPE;
        } else if (pipe_buf_empty(&ip->buf) && !ip->writers) {
            ret = 0;
        } else if (pipe_buf_empty(&ip->buf) || pipe_buf_full(&op->buf)) {
            /* raced with another reader or writer: 0 would mean EOF, so again */
            unlock2(ip, op);
            if (nonblock)
                return -EAGAIN;
            continue;
        } else {
            ret = pipe_buf_move(&op->buf, &ip->buf, len);
            if (ret > 0)
                wake_both(ip, op, 1);
        }
        unlock2(ip, op);
        break;
    }
    if (ret == -EPIPE && current_task)
        pipe_send_sigpipe(current_task);
    return ret;
}

ssize_t pipe_tee(struct file *in, struct file *out, size_t len, int nonblock)
{
    struct pipe *ip = pipe_of(in), *op = pipe_of(out);
    if (ip == op)
        return -EINVAL;
    ssize_t ret = prep(ip, op, nonblock);
    if (ret == 0) {
        lock2(ip, op);
        if (!op->readers)
            ret = -EPIPE;
        else if (!pipe_buf_empty(&ip->buf) && !pipe_buf_full(&op->buf))
            ret = pipe_buf_dup(&op->buf, &ip->buf, len);
        if (ret > 0)
            wake_both(ip, op, 0);
        unlock2(ip, op);
    }
    if (ret == -EPIPE && current_task)
        pipe_send_sigpipe(current_task);
    return ret;
}
