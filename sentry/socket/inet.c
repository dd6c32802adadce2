/* AF_INET and AF_INET6 sockets: TCP, UDP and ping sockets on netstack's endpoints
 * (netstack/netstack.h). The endpoint never sleeps; this file adds the waiting
 * (O_NONBLOCK, MSG_DONTWAIT, SO_RCVTIMEO/SO_SNDTIMEO through struct sock_block), the
 * socket's wait queue (the endpoint's notify hook wakes s->wq), and SO_ERROR.
 *
 * Pending errors: the hook moves an endpoint's asynchronous error into s->so_error,
 * which the generic layer's getsockopt(SO_ERROR) reads and clears; a call that
 * finds nothing to do (EOF, EAGAIN, EPIPE) takes it from there as Linux's
 * sock_error does. */
#include "sentry/socket/inet.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netstack/netstack.h"
#include "platform/platform.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/socket.h"
#include "sentry/vfs/file.h"

/* Linux's tcp_rmem: the default and the most autotuning reaches. */
#define TCP_DEFAULT_RCVBUF 131072
#define TCP_AUTOTUNE_RCVBUF (6 << 20)

static struct ns_ep *ep_of(struct socket *s)
{
    return s->priv;
}

/* The endpoint's hook: wake the socket's waiters; keep the error for SO_ERROR. */
static void inet_notify(void *arg, unsigned events)
{
    struct socket *s = arg;
    if (events & POLLERR) {
        int e = ns_pending_error(ep_of(s));
        if (e)
            __atomic_store_n(&s->so_error, e, __ATOMIC_RELAXED);
    }
    waitq_wake(&s->wq, events);
}

/* take_error: the pending error (positive errno), consumed; 0 if none. */
static int take_error(struct socket *s)
{
    int e = __atomic_exchange_n(&s->so_error, 0, __ATOMIC_RELAXED);
    return e ? e : ns_pending_error(ep_of(s));
}

/* inet_wait: sleeps until the endpoint is ready for any of events (or has an error
 * or hang-up), following blk. 0 (re-check), -EAGAIN (non-blocking, timed out),
 * -ERESTARTSYS or -EINTR (a signal). */
static int inet_wait(struct socket *s, const struct sock_block *blk, unsigned events)
{
    if (blk->nonblock)
        return -EAGAIN;
    struct waiter w;
    unsigned want = events | POLLERR | POLLHUP;
    waiter_init(&w, current_task, want);
    waitq_add(&s->wq, &w);
    int r = 0;
    if (!(ns_poll(ep_of(s)) & want) && !__atomic_load_n(&s->so_error, __ATOMIC_RELAXED))
        r = waiter_sleep(&w, blk->has_deadline ? &blk->deadline : NULL);
    waitq_remove(&s->wq, &w);
    if (r == -ETIMEDOUT)
        return -EAGAIN;
    if (r < 0)
        return blk->has_deadline ? -EINTR : -ERESTARTSYS;
    return 0;
}

/* The SOL_SOCKET values the stack needs, from the generic layer's copies. */
static void sync_opts(struct socket *s)
{
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
    struct ns_sockopts o = {
        .reuseaddr = LD(s->reuseaddr), .reuseport = LD(s->reuseport),
        .keepalive = LD(s->keepalive), .broadcast = LD(s->broadcast),
        .linger_onoff = LD(s->linger_onoff), .linger_secs = LD(s->linger_secs),
        .rcvbuf = LD(s->rcvbuf), .sndbuf = LD(s->sndbuf),
    };
    /* Linux grows a TCP receive buffer nobody sized (up to tcp_rmem[2], 6 MiB);
     * an explicit SO_RCVBUF stays as set */
    if (s->type == SOCK_STREAM && o.rcvbuf == TCP_DEFAULT_RCVBUF)
        o.rcvbuf = TCP_AUTOTUNE_RCVBUF;
#undef LD
    ns_set_sockopts(ep_of(s), &o);
}

/* Guest data through a uio, from an offset (a blocking call resumes part-way). */
struct uio_at {
    const struct uio *u;
    size_t base;
    int mapped;                    /* io holds page references */
    struct mm_io io;               /* uio_map's window (1.5 KiB: left uninitialized
                                    * until mapped) */
};

#define SMALL_COPY 4096

/* pinned_copy: uio_copy_in/out (out: into guest memory) through mm_io windows. The
 * mm's lock is held only while the pages are found and pinned, not during the copy:
 * a sender and a receiver thread of one process (the usual loopback pair) would
 * otherwise take turns on it for every segment, with a futex wake-up each time. */
static ssize_t pinned_copy(const struct uio *u, size_t skip, void *buf, size_t n, int out)
{
    /* a small copy is over before the lock is wanted again: skip the pinning */
    if (u->kbuf || n <= SMALL_COPY)
        return out ? uio_copy_out(u, skip, buf, n) : uio_copy_in(u, skip, buf, n);
    size_t done = 0;
    for (int i = 0; i < u->iovcnt && done < n; i++) {
        size_t len = u->iov[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        uint64_t at = u->iov[i].base.v + skip;
        size_t take = MIN(len - skip, n - done);
        skip = 0;
        while (take) {
            struct mm_io io;
            long got = mm_io_acquire(u->mm, at, take, out ? FAULT_WRITE : FAULT_READ,
                                     &io);
            if (got < 0)
                return done ? (ssize_t)done : -EFAULT;
            char *b = (char *)buf + done;
            for (int k = 0; k < io.n; k++) {
                if (out)
                    memcpy(io.iov[k].iov_base, b, io.iov[k].iov_len);
                else
                    memcpy(b, io.iov[k].iov_base, io.iov[k].iov_len);
                b += io.iov[k].iov_len;
            }
            mm_io_release(&io);
            done += (size_t)got;
            at += (uint64_t)got;
            take -= (size_t)got;
        }
    }
    return (ssize_t)done;
}

static ssize_t uio_in(void *ctx, size_t off, void *buf, size_t n)
{
    struct uio_at *a = ctx;
    return pinned_copy(a->u, a->base + off, buf, n, 0);
}

static ssize_t uio_out(void *ctx, size_t off, void *buf, size_t n)
{
    struct uio_at *a = ctx;
    return pinned_copy(a->u, a->base + off, buf, n, 1);
}

_Static_assert(NS_MAP_MAX == MM_IO_MAXIOV, "ns_map_fn windows are mm_io windows");

/* uio_map: the netstack's map hook for sends (netstack.h): pinned windows onto the
 * guest's data from off, within one of its iovecs; declined (0) for a piece of
 * SMALL_COPY bytes or less, which a copy gathers with its neighbours more cheaply. */
static ssize_t uio_map(void *ctx, size_t off, size_t n, struct iovec *iov, int *niov)
{
    struct uio_at *a = ctx;
    const struct uio *u = a->u;
    size_t skip = a->base + off;
    *niov = 0;
    if (u->kbuf) {
        if (skip >= u->size)
            return 0;
        iov[0] = (struct iovec){ u->kbuf + skip, MIN(n, u->size - skip) };
        *niov = 1;
        return (ssize_t)iov[0].iov_len;
    }
    for (int i = 0; i < u->iovcnt; i++) {
        size_t len = u->iov[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        if (MIN(len - skip, n) <= SMALL_COPY)
            return 0;
        long got = mm_io_acquire(u->mm, u->iov[i].base.v + skip, MIN(len - skip, n),
                                 FAULT_READ, &a->io);
        if (got < 0)
            return -EFAULT;
        a->mapped = 1;
        memcpy(iov, a->io.iov, (size_t)a->io.n * sizeof(*iov));
        *niov = a->io.n;
        return got;
    }
    return 0;
}

static void uio_unmap(void *ctx)
{
    struct uio_at *a = ctx;
    if (a->mapped)
        mm_io_release(&a->io);
    a->mapped = 0;
}

static int inet_bind(struct socket *s, struct task *t, const void *addr, size_t len)
{
    (void)t;
    sync_opts(s);
    return ns_bind(ep_of(s), addr, len);
}

static int inet_connect(struct socket *s, struct task *t, const void *addr, size_t len,
                        const struct sock_block *blk)
{
    (void)t;
    sync_opts(s);
    int r = ns_connect(ep_of(s), addr, len);
    if (r != -EINPROGRESS || blk->nonblock)
        return r;
    for (;;) {
        int w = inet_wait(s, blk, POLLOUT);
        if (w == -EAGAIN)
            return -EINPROGRESS;   /* SO_SNDTIMEO ran out: still connecting */
        if (w < 0)
            return w;
        r = ns_connect_result(ep_of(s));
        if (r != -EINPROGRESS) {
            int e = take_error(s);
            return e ? -e : r;
        }
    }
}

static int inet_listen(struct socket *s, struct task *t, int backlog)
{
    (void)t;
    sync_opts(s);
    return ns_listen(ep_of(s), backlog);
}

static const struct socket_ops g_inet_ops;

static int inet_accept(struct socket *s, struct task *t, struct socket **out,
                       const struct sock_block *blk)
{
    (void)t;
    struct ns_ep *c;
    for (;;) {
        int r = ns_accept(ep_of(s), &c);
        if (r == 0)
            break;
        if (r != -EAGAIN)
            return r;
        if ((r = inet_wait(s, blk, POLLIN)) < 0)
            return r;
    }
    struct socket *ns = socket_alloc(s->family, s->type, s->protocol);
    if (!ns) {
        ns_close(c);
        return -ENOMEM;
    }
    /* an accepted socket starts with its listener's socket options */
#define CP(x) __atomic_store_n(&ns->x, __atomic_load_n(&s->x, __ATOMIC_RELAXED), __ATOMIC_RELAXED)
    CP(reuseaddr); CP(reuseport); CP(keepalive); CP(linger_onoff); CP(linger_secs);
    CP(rcvbuf); CP(sndbuf); CP(rcvtimeo_ns); CP(sndtimeo_ns); CP(priority);
#undef CP
    ns->ops = &g_inet_ops;
    ns->priv = c;
    ns_set_notify(c, inet_notify, ns);
    *out = ns;
    return 0;
}

static ssize_t inet_sendmsg(struct socket *s, struct task *t, struct sock_msg *m,
                            int flags)
{
    (void)t;
    struct ns_ep *ep = ep_of(s);
    struct uio_at at;
    at.u = m->data;
    at.base = 0;
    at.mapped = 0;
    size_t size = m->data->size;
    const void *to = m->namelen ? m->name : NULL;
    ssize_t total = 0;
    for (;;) {
        struct ns_data d = { .size = size - (size_t)total, .copy = uio_in, .ctx = &at,
                             .map = uio_map, .unmap = uio_unmap };
        ssize_t r = ns_send(ep, &d, flags, to, m->namelen);
        if (r >= 0) {
            total += r;
            at.base += (size_t)r;
            if ((size_t)total == size || s->type != SOCK_STREAM)
                return s->type == SOCK_STREAM ? total : r;
            continue;              /* a stream send blocks until all is queued */
        }
        if (r == -EPIPE) {
            int e = take_error(s);
            r = e ? -e : r;
        }
        if (r != -EAGAIN)
            return total ? total : r;
        int w = inet_wait(s, &m->blk, POLLOUT);
        if (w < 0)
            return total ? total : w;
    }
}

static ssize_t inet_recvmsg(struct socket *s, struct task *t, struct sock_msg *m,
                            int flags)
{
    (void)t;
    struct ns_ep *ep = ep_of(s);
    struct uio_at at;
    at.u = m->data;
    at.base = 0;
    at.mapped = 0;
    size_t size = m->data->size;
    int waitall = (flags & MSG_WAITALL) && s->type == SOCK_STREAM &&
                  !(flags & (MSG_PEEK | MSG_TRUNC));
    ssize_t total = 0;
    for (;;) {
        struct ns_data d = { .size = size - (size_t)total, .copy = uio_out, .ctx = &at };
        size_t fromlen = 0;
        ssize_t r = ns_recv(ep, &d, flags & (MSG_PEEK | MSG_TRUNC | MSG_OOB),
                            m->name, m->name ? m->namecap : 0, &fromlen, &m->flags_out);
        if (r > 0 || (r == 0 && size == 0)) {
            if (s->type != SOCK_STREAM)
                m->namelen = fromlen;
            total += r;
            at.base += (size_t)r;
            if (!waitall || (size_t)total == size)
                return total;
            continue;
        }
        if (r == 0 || r == -EAGAIN) {
            int e = take_error(s);
            if (e)
                return total ? total : -e;
        }
        if (r == 0)
            return total;
        if (r != -EAGAIN)
            return total ? total : r;
        int w = inet_wait(s, &m->blk, POLLIN);
        if (w < 0)
            return total ? total : w;
    }
}

static int inet_shutdown(struct socket *s, int how)
{
    return ns_shutdown(ep_of(s), how);
}

static int inet_getname(struct socket *s, void *buf, int peer)
{
    return ns_getname(ep_of(s), buf, peer);
}

static int inet_getsockopt(struct socket *s, struct task *t, int level, int name,
                           void *val, size_t *len)
{
    (void)t;
    if (level == SOL_SOCKET)
        return -ENOPROTOOPT;
    return ns_getsockopt(ep_of(s), level, name, val, len);
}

static int inet_setsockopt(struct socket *s, struct task *t, int level, int name,
                           const void *val, size_t len)
{
    (void)t;
    if (level == SOL_SOCKET)
        return -ENOPROTOOPT;
    return ns_setsockopt(ep_of(s), level, name, val, len);
}

static unsigned inet_poll(struct socket *s)
{
    unsigned m = ns_poll(ep_of(s));
    if (__atomic_load_n(&s->so_error, __ATOMIC_RELAXED))
        m |= POLLERR;
    return m;
}

static long inet_ioctl(struct socket *s, struct task *t, unsigned cmd, uint64_t arg)
{
    int amount;
    switch (cmd) {
    case SIOCINQ:
        amount = ns_inq(ep_of(s));
        break;
    case SIOCOUTQ:
        amount = ns_outq(ep_of(s));
        break;
    default:
        return -ENOTTY;
    }
    return mm_copy_out(t->mm, arg, &amount, sizeof(amount), 0) < 0 ? -EFAULT : 0;
}

static void inet_release(struct socket *s)
{
    if (s->priv) {
        sync_opts(s);              /* SO_LINGER decides how the connection ends */
        ns_close(ep_of(s));
    }
    s->priv = NULL;
}

static const struct socket_ops g_inet_ops = {
    .bind = inet_bind,
    .connect = inet_connect,
    .listen = inet_listen,
    .accept = inet_accept,
    .sendmsg = inet_sendmsg,
    .recvmsg = inet_recvmsg,
    .shutdown = inet_shutdown,
    .getname = inet_getname,
    .getsockopt = inet_getsockopt,
    .setsockopt = inet_setsockopt,
    .poll = inet_poll,
    .ioctl = inet_ioctl,
    .release = inet_release,
};

static int inet_create(struct socket *s, struct task *t, int protocol)
{
    (void)t;
    struct ns_ep *ep;
    int r = ns_socket(s->family, s->type, protocol, &ep);
    if (r < 0)
        return r;
    if (protocol == 0)
        s->protocol = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    if (s->type == SOCK_STREAM) {
        /* Linux's TCP starts from tcp_rmem[1] and tcp_wmem[1] */
        __atomic_store_n(&s->rcvbuf, TCP_DEFAULT_RCVBUF, __ATOMIC_RELAXED);
        __atomic_store_n(&s->sndbuf, 16384, __ATOMIC_RELAXED);
    }
    s->ops = &g_inet_ops;
    s->priv = ep;
    ns_set_notify(ep, inet_notify, s);
    return 0;
}

void inet_family_init(void)
{
    socket_family_register(AF_INET, inet_create);
    socket_family_register(AF_INET6, inet_create);
}
