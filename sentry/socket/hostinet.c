/* --network=host: AF_INET and AF_INET6 sockets that are host sockets (gVisor's
 * hostinet). The one place DESIGN.md lets the Sentry forward guest calls to the host:
 * each guest socket holds one non-blocking host socket, and bind, listen, accept,
 * connect, send, receive, shutdown, names and an allowlist of options go to it.
 *
 * Blocking stays in the Sentry: a call that would block waits on the socket's queue,
 * which the host fd notifier (sentry/fs/host_notify.h) wakes when the host reports
 * readiness, so signals, SO_RCVTIMEO/SO_SNDTIMEO, poll and epoll behave as for every
 * other file. Data moves between guest memory and the host socket directly when the
 * buffer is one range (read, write, send, recv), else through a Sentry buffer.
 * Control messages are not sent; received ones pass only for IP/IPv6 levels and
 * timestamps (never SCM_RIGHTS). Options outside the allowlist are ENOPROTOOPT. */
#include "sentry/socket/hostinet.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/fs/host_notify.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/socket.h"
#include "sentry/vfs/file.h"

/* The most one datagram can be (IPv4/IPv6 without jumbograms). */
#define DGRAM_MAX 65536
/* A stream transfer through a Sentry buffer moves at most this per host call. */
#define STREAM_CHUNK (256 * 1024)
/* Room for the control messages of one receive. */
#define CONTROL_ROOM 1024

/* The MSG_* flags a guest may pass on to the host. */
#define SEND_FLAGS (MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_MORE | MSG_CONFIRM)
#define RECV_FLAGS (MSG_OOB | MSG_PEEK | MSG_TRUNC | MSG_ERRQUEUE)

struct hostsock {
    int fd;                        /* the host socket: O_NONBLOCK, owned; immutable */
    int notified;                  /* registered with the host notifier; immutable */
};

static struct hostsock *hs(struct socket *s) { return s->priv; }

/* wait_host: sleeps until the host says fd is ready for events (or an error or
 * hang-up). 0 to retry; -EAGAIN (non-blocking or the deadline passed); -ERESTARTSYS
 * or -EINTR (with a deadline) on a signal. */
static int wait_host(struct socket *s, struct task *t, const struct sock_block *blk,
                     unsigned events)
{
    struct hostsock *h = hs(s);
    if (blk->nonblock || !h->notified)
        return -EAGAIN;
    unsigned want = events | POLLERR | POLLHUP;
    host_notify_arm(h->fd);
    struct waiter w;
    waiter_init(&w, t, want);
    waitq_add(&s->wq, &w);
    int ready = (host_poll_now(h->fd) & want) != 0;   /* after registering */
    int r = ready ? 0 : waiter_sleep(&w, blk->has_deadline ? &blk->deadline : NULL);
    waitq_remove(&s->wq, &w);
    if (r == -ETIMEDOUT)
        return -EAGAIN;
    if (r < 0)
        return blk->has_deadline ? -EINTR : -ERESTARTSYS;
    return 0;
}

/* ---- moving data ---- */

/* One host transfer's buffers: straight into guest memory (io) or a Sentry buffer. */
struct xfer {
    struct mm_io io;
    int direct;                    /* io holds references to release */
    char *bounce;                  /* malloc'd, or NULL */
    struct iovec one;              /* the bounce buffer or a Sentry uio's kbuf */
    struct iovec *iov;
    int iovcnt;
    size_t size;
};

/* xfer_setup: buffers for up to max bytes of u starting at skip, for a host send
 * (to_host: guest memory is read) or receive. whole: the bytes must be covered in
 * one go (a datagram). 0 or -EFAULT / -ENOMEM. */
static int xfer_setup(struct xfer *x, const struct uio *u, size_t skip, size_t max,
                      int to_host, int whole)
{
    memset(x, 0, sizeof(*x));
    size_t want = MIN(u->size - skip, max);
    if (u->kbuf) {
        x->one = (struct iovec){ u->kbuf + skip, want };
        x->iov = &x->one;
        x->iovcnt = 1;
        x->size = want;
        return 0;
    }
    if (u->iovcnt == 1 && want) {
        long got = mm_io_acquire(u->mm, u->iov[0].base.v + skip, want,
                                 to_host ? FAULT_READ : FAULT_WRITE, &x->io);
        if (got < 0)
            return -EFAULT;
        if ((size_t)got == want || !whole) {
            x->direct = 1;
            x->iov = x->io.iov;
            x->iovcnt = x->io.n;
            x->size = (size_t)got;
            return 0;
        }
        mm_io_release(&x->io);
    }
    x->bounce = malloc(want ? want : 1);
    if (!x->bounce)
        return -ENOMEM;
    if (to_host && want) {
        ssize_t n = uio_copy_in(u, skip, x->bounce, want);
        if (n <= 0) {
            free(x->bounce);
            return -EFAULT;
        }
        want = (size_t)n;   /* up to a fault: send what could be read */
    }
    x->one = (struct iovec){ x->bounce, want };
    x->iov = &x->one;
    x->iovcnt = 1;
    x->size = want;
    return 0;
}

/* xfer_finish: after a receive of n bytes, copies a bounce buffer out to u at skip;
 * then frees. The bytes delivered, or -EFAULT if none could be. */
static ssize_t xfer_finish(struct xfer *x, const struct uio *u, size_t skip, ssize_t n,
                           int to_host)
{
    if (x->direct)
        mm_io_release(&x->io);
    if (x->bounce) {
        if (!to_host && n > 0) {
            ssize_t c = uio_copy_out(u, skip, x->bounce, (size_t)n);
            n = c < 0 ? -EFAULT : c;
        }
        free(x->bounce);
    }
    return n;
}

static int is_stream(struct socket *s) { return s->type == SOCK_STREAM; }

static ssize_t hi_sendmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct hostsock *h = hs(s);
    const struct uio *u = m->data;
    int stream = is_stream(s);
    size_t done = 0;
    for (;;) {
        struct xfer x;
        int err = xfer_setup(&x, u, done, stream ? STREAM_CHUNK : DGRAM_MAX + 1,
                             1, !stream);
        if (err < 0)
            return done ? (ssize_t)done : err;
        struct msghdr mh = { .msg_name = m->namelen ? m->name : NULL,
                             .msg_namelen = (socklen_t)m->namelen,
                             .msg_iov = x.iov, .msg_iovlen = (size_t)x.iovcnt };
        ssize_t n = sendmsg(h->fd, &mh, (flags & SEND_FLAGS) | MSG_DONTWAIT | MSG_NOSIGNAL);
        int e = errno;
        xfer_finish(&x, u, done, n, 1);
        if (n >= 0) {
            done += (size_t)n;
            /* a blocking stream send goes on until everything is sent */
            if (!stream || done >= u->size || m->blk.nonblock)
                return (ssize_t)done;
            continue;
        }
        if (e != EAGAIN && e != EWOULDBLOCK)
            return done ? (ssize_t)done : -e;
        err = wait_host(s, t, &m->blk, POLLOUT);
        if (err < 0)
            return done ? (ssize_t)done : err;
    }
}

/* pass_control: the host's control messages the guest may see, appended to m. */
static void pass_control(struct sock_msg *m, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        int ok = c->cmsg_level == IPPROTO_IP || c->cmsg_level == IPPROTO_IPV6 ||
                 (c->cmsg_level == SOL_SOCKET &&
                  (c->cmsg_type == SO_TIMESTAMP_OLD || c->cmsg_type == SO_TIMESTAMPNS_OLD));
        if (ok && c->cmsg_len >= CMSG_LEN(0))
            sock_cmsg_put(m, c->cmsg_level, c->cmsg_type, CMSG_DATA(c),
                          c->cmsg_len - CMSG_LEN(0));
    }
    if (mh->msg_flags & MSG_CTRUNC)
        m->flags_out |= MSG_CTRUNC;
}

static ssize_t hi_recvmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct hostsock *h = hs(s);
    const struct uio *u = m->data;
    int stream = is_stream(s);
    int waitall = stream && (flags & MSG_WAITALL) && !(flags & (MSG_PEEK | MSG_TRUNC));
    size_t done = 0;
    char control[CONTROL_ROOM] __attribute__((aligned(8)));
    for (;;) {
        struct xfer x;
        int err = xfer_setup(&x, u, done, stream ? STREAM_CHUNK : DGRAM_MAX, 0, 0);
        if (err < 0)
            return done ? (ssize_t)done : err;
        struct msghdr mh = { .msg_name = m->name, .msg_namelen = (socklen_t)m->namecap,
                             .msg_iov = x.iov, .msg_iovlen = (size_t)x.iovcnt,
                             .msg_control = m->control ? control : NULL,
                             .msg_controllen = m->control ? MIN(m->controllen,
                                                                sizeof(control)) : 0 };
        ssize_t n = recvmsg(h->fd, &mh, (flags & RECV_FLAGS) | MSG_DONTWAIT);
        int e = errno;
        /* MSG_TRUNC: n may be more than the buffer held; only that much was stored */
        ssize_t stored = n > 0 ? (ssize_t)MIN((size_t)n, x.size) : n;
        ssize_t c = xfer_finish(&x, u, done, stored, 0);
        if (n >= 0) {
            if (c < 0)
                return done ? (ssize_t)done : c;
            if (m->name)
                m->namelen = mh.msg_namelen;
            m->flags_out |= mh.msg_flags & (MSG_TRUNC | MSG_EOR | MSG_OOB);
            if (m->control)
                pass_control(m, &mh);
            if (!stream || (flags & MSG_TRUNC))
                return n;   /* a datagram's real length with MSG_TRUNC */
            done += (size_t)c;
            if (!waitall || n == 0 || done >= u->size)
                return (ssize_t)done;
            continue;
        }
        /* the error queue never waits (Linux's ip_recv_error) */
        if ((e != EAGAIN && e != EWOULDBLOCK) || (flags & MSG_ERRQUEUE))
            return done ? (ssize_t)done : -e;
        err = wait_host(s, t, &m->blk, POLLIN);
        if (err < 0)
            return done ? (ssize_t)done : err;
    }
}

/* ---- connections ---- */

static int hi_bind(struct socket *s, struct task *t, const void *addr, size_t len)
{
    (void)t;
    return bind(hs(s)->fd, addr, (socklen_t)len) < 0 ? -errno : 0;
}

static int hi_listen(struct socket *s, struct task *t, int backlog)
{
    (void)t;
    return listen(hs(s)->fd, backlog) < 0 ? -errno : 0;
}

static int hi_connect(struct socket *s, struct task *t, const void *addr, size_t len,
                      const struct sock_block *blk)
{
    struct hostsock *h = hs(s);
    if (connect(h->fd, addr, (socklen_t)len) == 0)
        return 0;
    int e = errno;
    if (e != EINPROGRESS || blk->nonblock)
        return -e;
    /* inet_stream_connect: wait for the handshake; a timeout leaves it going */
    for (;;) {
        int err = wait_host(s, t, blk, POLLOUT);
        if (err == -EAGAIN)
            return -EINPROGRESS;
        if (err < 0)
            return err;
        if (host_poll_now(h->fd) & (POLLOUT | POLLERR | POLLHUP))
            break;
    }
    int soerr = 0;
    socklen_t n = sizeof(soerr);
    if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr, &n) < 0)
        return -errno;
    return -soerr;
}

static int hi_create_from_fd(struct socket *s, int fd);

static int hi_accept(struct socket *s, struct task *t, struct socket **out,
                     const struct sock_block *blk)
{
    struct hostsock *h = hs(s);
    for (;;) {
        int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            struct socket *ns = socket_alloc(s->family, s->type, s->protocol);
            if (!ns) {
                close(fd);
                return -ENOMEM;
            }
            int err = hi_create_from_fd(ns, fd);
            if (err < 0) {
                socket_free(ns);
                return err;
            }
            *out = ns;
            return 0;
        }
        int e = errno;
        /* errors a pending connection left behind are retried, as Linux's accept
         * does not report them to the listener (man 2 accept) */
        if (e != EAGAIN && e != EWOULDBLOCK)
            return -e;
        int err = wait_host(s, t, blk, POLLIN);
        if (err < 0)
            return err;
    }
}

static int hi_shutdown(struct socket *s, int how)
{
    return shutdown(hs(s)->fd, how) < 0 ? -errno : 0;
}

static int hi_getname(struct socket *s, void *buf, int peer)
{
    socklen_t len = SOCK_ADDR_MAX;
    int r = peer ? getpeername(hs(s)->fd, buf, &len) : getsockname(hs(s)->fd, buf, &len);
    return r < 0 ? -errno : (int)MIN(len, (socklen_t)SOCK_ADDR_MAX);
}

/* ---- options ---- */

/* option_allowed: the options that reach the host socket (gVisor's hostinet list,
 * trimmed to what a guest can use safely). set: for setsockopt. */
static int option_allowed(int level, int name, int set)
{
    switch (level) {
    case SOL_SOCKET:
        switch (name) {
        case SO_ERROR: case SO_ACCEPTCONN:
            return !set;
        case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE: case SO_BROADCAST:
        case SO_OOBINLINE: case SO_LINGER: case SO_SNDBUF: case SO_RCVBUF:
        case SO_RCVLOWAT: case SO_DONTROUTE: case SO_TIMESTAMP_OLD:
        case SO_TIMESTAMPNS_OLD:
            return 1;
        }
        return 0;
    case IPPROTO_TCP:
        switch (name) {
        case TCP_INFO:
            return !set;
        case TCP_NODELAY: case TCP_CORK: case TCP_MAXSEG: case TCP_KEEPIDLE:
        case TCP_KEEPINTVL: case TCP_KEEPCNT: case TCP_QUICKACK: case TCP_USER_TIMEOUT:
        case TCP_DEFER_ACCEPT: case TCP_LINGER2: case TCP_SYNCNT: case TCP_WINDOW_CLAMP:
        case TCP_NOTSENT_LOWAT: case TCP_CONGESTION:
            return 1;
        }
        return 0;
    case IPPROTO_IP:
        switch (name) {
        case IP_TOS: case IP_TTL: case IP_RECVTOS: case IP_RECVTTL: case IP_PKTINFO:
        case IP_RECVERR: case IP_MTU_DISCOVER: case IP_MULTICAST_TTL:
        case IP_MULTICAST_LOOP: case IP_MULTICAST_IF: case IP_ADD_MEMBERSHIP:
        case IP_DROP_MEMBERSHIP: case IP_FREEBIND:
            return 1;
        }
        return 0;
    case IPPROTO_IPV6:
        switch (name) {
        case IPV6_V6ONLY: case IPV6_TCLASS: case IPV6_RECVTCLASS: case IPV6_RECVPKTINFO:
        case IPV6_UNICAST_HOPS: case IPV6_MULTICAST_HOPS: case IPV6_MULTICAST_LOOP:
        case IPV6_MULTICAST_IF: case IPV6_JOIN_GROUP: case IPV6_LEAVE_GROUP:
        case IPV6_RECVERR: case IPV6_MTU_DISCOVER:
            return 1;
        }
        return 0;
    }
    return 0;
}

static int hi_getsockopt(struct socket *s, struct task *t, int level, int name, void *val,
                         size_t *len)
{
    (void)t;
    if (!option_allowed(level, name, 0))
        return -ENOPROTOOPT;
    socklen_t n = (socklen_t)*len;
    if (getsockopt(hs(s)->fd, level, name, val, &n) < 0)
        return -errno;
    *len = MIN((size_t)n, *len);
    return 0;
}

static int hi_setsockopt(struct socket *s, struct task *t, int level, int name,
                         const void *val, size_t len)
{
    (void)t;
    if (!option_allowed(level, name, 1))
        return -ENOPROTOOPT;
    if (setsockopt(hs(s)->fd, level, name, val, (socklen_t)len) < 0)
        return -errno;
    if (level == SOL_SOCKET)   /* the generic layer's copy, for what it reports */
        socket_setsockopt_generic(s, t, name, val, len);
    return 0;
}

/* ---- the rest ---- */

static unsigned hi_poll(struct socket *s)
{
    struct hostsock *h = hs(s);
    if (h->notified)
        host_notify_arm(h->fd);   /* before the check, so no change is missed */
    return host_poll_now(h->fd);
}

static long hi_ioctl(struct socket *s, struct task *t, unsigned cmd, uint64_t arg)
{
    int v;
    switch (cmd) {
    case SIOCINQ:     /* FIONREAD */
    case SIOCOUTQ:
    case SIOCATMARK:
        if (ioctl(hs(s)->fd, cmd, &v) < 0)
            return -errno;
        return mm_copy_out(t->mm, arg, &v, sizeof(v), 0) < 0 ? -EFAULT : 0;
    }
    return -ENOTTY;   /* the generic layer answers the interface ioctls */
}

static void hi_release(struct socket *s)
{
    struct hostsock *h = hs(s);
    if (!h)
        return;
    if (h->notified)
        host_notify_remove(h->fd);
    close(h->fd);
    free(h);
    s->priv = NULL;
}

static const struct socket_ops g_hostinet_ops = {
    .bind = hi_bind,
    .connect = hi_connect,
    .listen = hi_listen,
    .accept = hi_accept,
    .sendmsg = hi_sendmsg,
    .recvmsg = hi_recvmsg,
    .shutdown = hi_shutdown,
    .getname = hi_getname,
    .getsockopt = hi_getsockopt,
    .setsockopt = hi_setsockopt,
    .poll = hi_poll,
    .ioctl = hi_ioctl,
    .release = hi_release,
    .sol_socket_first = 1,
};

/* hi_create_from_fd: makes s the guest side of host socket fd (which moves in). */
static int hi_create_from_fd(struct socket *s, int fd)
{
    struct hostsock *h = calloc(1, sizeof(*h));
    if (!h) {
        close(fd);
        return -ENOMEM;
    }
    h->fd = fd;
    h->notified = host_notify_add(fd, &s->wq) == 0;
    s->ops = &g_hostinet_ops;
    s->priv = h;
    return 0;
}

static int hostinet_create(struct socket *s, struct task *t, int protocol)
{
    (void)t;
    int fd = socket(s->family, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return -errno;
    return hi_create_from_fd(s, fd);
}

void hostinet_register(void)
{
    socket_family_register(AF_INET, hostinet_create);
    socket_family_register(AF_INET6, hostinet_create);
}
