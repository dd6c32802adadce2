/* AF_NETLINK sockets (Linux's net/netlink/af_netlink.c), NETLINK_ROUTE only: the
 * Sentry plays the kernel end. A request sent to port 0 is answered at once from the
 * interface table (netlink_route.c); the replies wait in the socket's queue, one
 * datagram per recvmsg, with Linux's MSG_PEEK and MSG_TRUNC rules, which glibc's
 * getifaddrs and iproute2 rely on. No multicast events are ever delivered (groups
 * may be joined; nothing is sent to them), and messages to other ports than the
 * kernel are refused. Other netlink protocols are EPROTONOSUPPORT. */
#include "sentry/socket/netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/util.h"
#include "sentry/kernel/cred.h"
#include "sentry/kernel/task.h"
#include "sentry/socket/netlink_priv.h"
#include "sentry/socket/socket.h"
#include "sentry/vfs/file.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Groups NETLINK_ROUTE has (RTNLGRP_MAX): NETLINK_ADD_MEMBERSHIP's bound. */
#define NL_ROUTE_GROUPS 36

struct nl_sock {
    struct socket *s;              /* immutable */
    pthread_mutex_t mu;            /* the fields below */
    int bound;
    uint32_t portid;               /* when bound */
    uint32_t groups;               /* joined multicast groups 1-32, as a mask */
    uint32_t dst_portid, dst_groups;   /* connect's */
    int pktinfo, cap_ack, ext_ack, strict_chk, no_enobufs, broadcast_error,
        listen_all_nsid;           /* SOL_NETLINK flags */
    struct nl_dgram *qhead, *qtail;    /* replies waiting to be read */
    size_t qbytes;
    struct nl_sock *next_bound;    /* g_ports_mu: the bound sockets */
};

/* ---- port ids (netlink_insert, netlink_autobind) ---- */

static pthread_mutex_t g_ports_mu = PTHREAD_MUTEX_INITIALIZER;   /* after nl_sock.mu */
static struct nl_sock *g_bound;                                   /* g_ports_mu */
static int32_t g_rover = -4096;                                   /* g_ports_mu */

static int port_taken(uint32_t portid)
{
    for (struct nl_sock *n = g_bound; n; n = n->next_bound)
        if (n->portid == portid)
            return 1;
    return 0;
}

/* port_insert: binds nl (mu held, not bound) to portid, or when portid is 0 to a free
 * one: the caller's thread-group id first, then negative numbers from -4096 down,
 * as Linux's netlink_autobind. -EADDRINUSE for a taken explicit portid. */
static int port_insert(struct nl_sock *nl, struct task *t, uint32_t portid)
{
    pthread_mutex_lock(&g_ports_mu);
    if (portid == 0) {
        portid = t ? (uint32_t)t->tg->tgid : 0;
        while (portid == 0 || port_taken(portid)) {
            portid = (uint32_t)g_rover;
            g_rover = g_rover == INT32_MIN + 4096 ? -4096 : g_rover - 1;
        }
    } else if (port_taken(portid)) {
        pthread_mutex_unlock(&g_ports_mu);
        return -EADDRINUSE;
    }
    nl->portid = portid;
    nl->bound = 1;
    nl->next_bound = g_bound;
    g_bound = nl;
    pthread_mutex_unlock(&g_ports_mu);
    return 0;
}

static void port_remove(struct nl_sock *nl)
{
    pthread_mutex_lock(&g_ports_mu);
    for (struct nl_sock **pp = &g_bound; *pp; pp = &(*pp)->next_bound)
        if (*pp == nl) {
            *pp = nl->next_bound;
            break;
        }
    pthread_mutex_unlock(&g_ports_mu);
}

/* ---- building replies (netlink_priv.h) ---- */

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, uint32_t seq,
                 uint32_t portid)
{
    struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq,
                          .nlmsg_pid = portid };
    memcpy(m->buf, &h, sizeof(h));
    m->len = NLMSG_HDRLEN;
    m->overflow = 0;
}

void *nl_msg_reserve(struct nl_msg *m, size_t size)
{
    size_t need = NLMSG_ALIGN(size);
    if (m->overflow || need > NL_MSG_MAX - m->len) {
        m->overflow = 1;
        return NULL;
    }
    void *p = m->buf + m->len;
    memset(p, 0, need);
    m->len += need;
    return p;
}

void nla_put(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
    struct rtattr *a = nl_msg_reserve(m, RTA_LENGTH(len));
    if (!a)
        return;
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
}

void nla_put_u8(struct nl_msg *m, uint16_t type, uint8_t v) { nla_put(m, type, &v, 1); }
void nla_put_u32(struct nl_msg *m, uint16_t type, uint32_t v) { nla_put(m, type, &v, 4); }
void nla_put_str(struct nl_msg *m, uint16_t type, const char *s)
{
    nla_put(m, type, s, strlen(s) + 1);
}

void nl_reply_add(struct nl_reply *r, struct nl_msg *m)
{
    if (m->overflow || r->err || r->overrun)
        return;
    if (r->bytes + m->len > r->limit) {
        r->overrun = 1;
        return;
    }
    ((struct nlmsghdr *)m->buf)->nlmsg_len = (uint32_t)m->len;
    struct nl_dgram *d = r->tail;
    if (!d || r->tail_closed || d->len + m->len > NL_DGRAM_SIZE) {
        d = malloc(sizeof(*d));
        if (!d) {
            r->err = -ENOMEM;
            return;
        }
        d->next = NULL;
        d->len = 0;
        if (r->tail)
            r->tail->next = d;
        else
            r->head = d;
        r->tail = d;
        r->tail_closed = 0;
    }
    memcpy(d->data + d->len, m->buf, m->len);
    d->len += m->len;
    r->bytes += m->len;
}

void nl_reply_done(struct nl_reply *r, uint32_t seq, uint32_t portid)
{
    static _Thread_local struct nl_msg m;
    /* a datagram of its own: Linux's netlink_dump delivers what the dump callback
     * filled, and only its next, empty round carries NLMSG_DONE */
    r->tail_closed = 1;
    nl_msg_init(&m, NLMSG_DONE, NLM_F_MULTI, seq, portid);
    int32_t *err = nl_msg_reserve(&m, sizeof(*err));
    if (err)
        *err = 0;
    nl_reply_add(r, &m);
    r->tail_closed = 1;
}

void nl_reply_free(struct nl_reply *r)
{
    for (struct nl_dgram *d = r->head, *next; d; d = next) {
        next = d->next;
        free(d);
    }
    memset(r, 0, sizeof(*r));
}

/* reply_ack: netlink_ack: NLMSG_ERROR with err (0: an acknowledgement) and the
 * request's header; an error carries the whole request unless NETLINK_CAP_ACK. */
static void reply_ack(struct nl_reply *r, const struct nlmsghdr *req, int err,
                      uint32_t portid, int cap_ack)
{
    static _Thread_local struct nl_msg m;
    int whole = err && !cap_ack;
    if (req->nlmsg_len > NL_MSG_MAX - NLMSG_HDRLEN - sizeof(int32_t))
        whole = 0;   /* too big to echo here: the header only */
    size_t echo = whole ? req->nlmsg_len : sizeof(*req);
    nl_msg_init(&m, NLMSG_ERROR, whole ? 0 : NLM_F_CAPPED, req->nlmsg_seq, portid);
    char *p = nl_msg_reserve(&m, sizeof(int32_t) + echo);
    if (!p)
        return;
    int32_t e = err;
    memcpy(p, &e, sizeof(e));
    memcpy(p + sizeof(e), req, echo);
    r->tail_closed = 1;
    nl_reply_add(r, &m);
    r->tail_closed = 1;
}

/* ---- the socket ---- */

static struct nl_sock *nls(struct socket *s) { return s->priv; }

static int nl_bind(struct socket *s, struct task *t, const void *addr, size_t len)
{
    struct sockaddr_nl a;
    if (len < sizeof(a))
        return -EINVAL;
    memcpy(&a, addr, sizeof(a));
    if (a.nl_family != AF_NETLINK)
        return -EINVAL;
    struct nl_sock *nl = nls(s);
    pthread_mutex_lock(&nl->mu);
    int err = 0;
    if (nl->bound) {
        if (a.nl_pid != nl->portid)
            err = -EINVAL;
    } else {
        err = port_insert(nl, t, a.nl_pid);
    }
    if (err == 0 && a.nl_groups)
        nl->groups = a.nl_groups;
    pthread_mutex_unlock(&nl->mu);
    return err;
}

static int nl_connect(struct socket *s, struct task *t, const void *addr, size_t len,
                      const struct sock_block *blk)
{
    (void)blk;
    struct sockaddr_nl a;
    if (len < sizeof(sa_family_t))
        return -EINVAL;
    memset(&a, 0, sizeof(a));
    memcpy(&a, addr, MIN(len, sizeof(a)));
    struct nl_sock *nl = nls(s);
    if (a.nl_family == AF_UNSPEC) {
        pthread_mutex_lock(&nl->mu);
        nl->dst_portid = nl->dst_groups = 0;
        pthread_mutex_unlock(&nl->mu);
        return 0;
    }
    if (a.nl_family != AF_NETLINK || len < sizeof(a))
        return -EINVAL;
    /* NETLINK_ROUTE lets only CAP_NET_ADMIN send to anyone but the kernel */
    if ((a.nl_groups || a.nl_pid) && !cred_capable(&t->cred, CAP_NET_ADMIN))
        return -EPERM;
    pthread_mutex_lock(&nl->mu);
    int err = nl->bound ? 0 : port_insert(nl, t, 0);
    if (err == 0) {
        nl->dst_portid = a.nl_pid;
        nl->dst_groups = a.nl_groups;
    }
    pthread_mutex_unlock(&nl->mu);
    return err;
}

static int nl_getname(struct socket *s, void *buf, int peer)
{
    struct nl_sock *nl = nls(s);
    struct sockaddr_nl a = { .nl_family = AF_NETLINK };
    pthread_mutex_lock(&nl->mu);
    a.nl_pid = peer ? nl->dst_portid : (nl->bound ? nl->portid : 0);
    a.nl_groups = peer ? nl->dst_groups : nl->groups;
    pthread_mutex_unlock(&nl->mu);
    memcpy(buf, &a, sizeof(a));
    return sizeof(a);
}

/* process: netlink_rcv_skb over the len bytes at buf: each whole request message is
 * handled; a message whose length does not fit ends the batch silently. */
static void process(struct nl_sock *nl, struct task *t, const char *buf, size_t len,
                    uint32_t portid, int cap_ack, struct nl_reply *r)
{
    while (len >= NLMSG_HDRLEN && !r->overrun && !r->err) {
        struct nlmsghdr h;
        memcpy(&h, buf, sizeof(h));
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
            return;
        int err = 0;
        /* each answer and each acknowledgement is a datagram (an skb) of its own */
        r->tail_closed = 1;
        /* only requests are handled; control messages (below NLMSG_MIN_TYPE) are not */
        if ((h.nlmsg_flags & NLM_F_REQUEST) && h.nlmsg_type >= NLMSG_MIN_TYPE)
            err = nlroute_request(t, (const struct nlmsghdr *)buf, portid, r);
        if (err != NL_DUMPED && ((h.nlmsg_flags & NLM_F_ACK) || err))
            reply_ack(r, (const struct nlmsghdr *)buf, err, portid, cap_ack);
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        if (step > len)
            step = len;
        buf += step;
        len -= step;
    }
    (void)nl;
}

static ssize_t nl_sendmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct nl_sock *nl = nls(s);
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    uint32_t dst = 0, groups = 0;
    if (m->namelen) {
        struct sockaddr_nl a;
        if (m->namelen < sizeof(a))
            return -EINVAL;
        memcpy(&a, m->name, sizeof(a));
        if (a.nl_family != AF_NETLINK)
            return -EINVAL;
        dst = a.nl_pid;
        groups = a.nl_groups;
        if ((dst || groups) && !cred_capable(&t->cred, CAP_NET_ADMIN))
            return -EPERM;
    } else {
        pthread_mutex_lock(&nl->mu);
        dst = nl->dst_portid;
        groups = nl->dst_groups;
        pthread_mutex_unlock(&nl->mu);
    }
    pthread_mutex_lock(&nl->mu);
    int err = nl->bound ? 0 : port_insert(nl, t, 0);
    uint32_t portid = nl->portid;
    int cap_ack = nl->cap_ack;
    pthread_mutex_unlock(&nl->mu);
    if (err < 0)
        return err;
    size_t len = m->data->size;
    if (len > (size_t)__atomic_load_n(&s->sndbuf, __ATOMIC_RELAXED) - 32)
        return -EMSGSIZE;
    if (groups && !dst)
        return (ssize_t)len;   /* to a multicast group: nobody listens */
    if (dst)
        return -ECONNREFUSED;  /* no other ports are reachable */
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return -ENOBUFS;
    ssize_t got = uio_copy_in(m->data, 0, buf, len);
    if (got < 0 || (size_t)got != len) {
        free(buf);
        return -EFAULT;
    }
    /* the answers may fill the receive queue's room, no more */
    pthread_mutex_lock(&nl->mu);
    size_t rcvbuf = (size_t)__atomic_load_n(&s->rcvbuf, __ATOMIC_RELAXED);
    struct nl_reply r = { .limit = rcvbuf > nl->qbytes ? rcvbuf - nl->qbytes : 0 };
    pthread_mutex_unlock(&nl->mu);
    process(nl, t, buf, len, portid, cap_ack, &r);
    free(buf);
    if (r.err) {
        int err = r.err;
        nl_reply_free(&r);
        return err;
    }
    if (!r.head && !r.overrun)
        return (ssize_t)len;
    pthread_mutex_lock(&nl->mu);
    /* what fit is queued; the rest was dropped, which the reader learns as ENOBUFS
     * (Linux's netlink_overrun) */
    if (r.overrun && !nl->no_enobufs)
        __atomic_store_n(&s->so_error, ENOBUFS, __ATOMIC_RELAXED);
    if (r.head) {
        if (nl->qtail)
            nl->qtail->next = r.head;
        else
            nl->qhead = r.head;
        nl->qtail = r.tail;
        nl->qbytes += r.bytes;
    }
    pthread_mutex_unlock(&nl->mu);
    waitq_wake(&s->wq, POLLIN | POLLRDNORM | (r.overrun ? POLLERR : 0));
    return (ssize_t)len;
}

static ssize_t nl_recvmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    (void)t;
    struct nl_sock *nl = nls(s);
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (flags & MSG_ERRQUEUE)
        return -EAGAIN;   /* nothing is ever queued there */
    pthread_mutex_lock(&nl->mu);
    struct nl_dgram *d;
    for (;;) {
        int e = __atomic_exchange_n(&s->so_error, 0, __ATOMIC_RELAXED);
        if (e) {
            pthread_mutex_unlock(&nl->mu);
            return -e;
        }
        d = nl->qhead;
        if (d)
            break;
        int err = sock_wait_locked(&m->blk, &s->wq, &nl->mu, POLLIN | POLLRDNORM | POLLERR);
        if (err < 0) {
            pthread_mutex_unlock(&nl->mu);
            return err;
        }
    }
    size_t n = MIN(d->len, m->data->size);
    if (n < d->len)
        m->flags_out |= MSG_TRUNC;
    ssize_t copied = n ? uio_copy_out(m->data, 0, d->data, n) : 0;
    if (copied < 0 || (size_t)copied != n) {
        pthread_mutex_unlock(&nl->mu);
        return -EFAULT;   /* the datagram stays, as a failed skb copy leaves it */
    }
    size_t full = d->len;
    if (!(flags & MSG_PEEK)) {
        nl->qhead = d->next;
        if (!nl->qhead)
            nl->qtail = NULL;
        nl->qbytes -= d->len;
        free(d);
    }
    int pktinfo = nl->pktinfo;
    pthread_mutex_unlock(&nl->mu);
    if (m->name) {
        struct sockaddr_nl from = { .nl_family = AF_NETLINK };   /* the kernel */
        memcpy(m->name, &from, sizeof(from));
        m->namelen = sizeof(from);
    }
    if (pktinfo) {
        struct nl_pktinfo info = { .group = 0 };
        sock_cmsg_put(m, SOL_NETLINK, NETLINK_PKTINFO, &info, sizeof(info));
    }
    return (flags & MSG_TRUNC) ? (ssize_t)full : (ssize_t)n;
}

/* flag_opt: the SOL_NETLINK options that are flags. */
static int *flag_opt(struct nl_sock *nl, int name)
{
    switch (name) {
    case NETLINK_PKTINFO:         return &nl->pktinfo;
    case NETLINK_BROADCAST_ERROR: return &nl->broadcast_error;
    case NETLINK_NO_ENOBUFS:      return &nl->no_enobufs;
    case NETLINK_LISTEN_ALL_NSID: return &nl->listen_all_nsid;
    case NETLINK_CAP_ACK:         return &nl->cap_ack;
    case NETLINK_EXT_ACK:         return &nl->ext_ack;
    case NETLINK_GET_STRICT_CHK:  return &nl->strict_chk;
    }
    return NULL;
}

static int nl_setsockopt(struct socket *s, struct task *t, int level, int name,
                         const void *val, size_t len)
{
    (void)t;
    struct nl_sock *nl = nls(s);
    if (level != SOL_NETLINK)
        return -ENOPROTOOPT;
    int v = 0;
    if (len >= sizeof(int))
        memcpy(&v, val, sizeof(v));
    pthread_mutex_lock(&nl->mu);
    int err = 0;
    int *flag = flag_opt(nl, name);
    if (flag) {
        *flag = v != 0;
    } else if (name == NETLINK_ADD_MEMBERSHIP || name == NETLINK_DROP_MEMBERSHIP) {
        if (v <= 0 || v > NL_ROUTE_GROUPS)
            err = -EINVAL;
        else if (v <= 32 && name == NETLINK_ADD_MEMBERSHIP)
            nl->groups |= 1u << (v - 1);
        else if (v <= 32)
            nl->groups &= ~(1u << (v - 1));
    } else {
        err = -ENOPROTOOPT;
    }
    pthread_mutex_unlock(&nl->mu);
    return err;
}

static int nl_getsockopt(struct socket *s, struct task *t, int level, int name, void *val,
                         size_t *len)
{
    (void)t;
    struct nl_sock *nl = nls(s);
    if (level != SOL_NETLINK)
        return -ENOPROTOOPT;
    pthread_mutex_lock(&nl->mu);
    int *flag = flag_opt(nl, name);
    int v = flag ? *flag : 0;
    pthread_mutex_unlock(&nl->mu);
    if (!flag)
        return -ENOPROTOOPT;
    if (*len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(v));
    *len = sizeof(int);
    return 0;
}

static unsigned nl_poll(struct socket *s)
{
    struct nl_sock *nl = nls(s);
    pthread_mutex_lock(&nl->mu);
    unsigned ev = POLLOUT | POLLWRNORM;
    if (nl->qhead)
        ev |= POLLIN | POLLRDNORM;
    pthread_mutex_unlock(&nl->mu);
    if (__atomic_load_n(&s->so_error, __ATOMIC_RELAXED))
        ev |= POLLERR;
    return ev;
}

static void nl_release(struct socket *s)
{
    struct nl_sock *nl = nls(s);
    if (!nl)
        return;
    if (nl->bound)
        port_remove(nl);
    for (struct nl_dgram *d = nl->qhead, *next; d; d = next) {
        next = d->next;
        free(d);
    }
    pthread_mutex_destroy(&nl->mu);
    free(nl);
    s->priv = NULL;
}

static const struct socket_ops g_netlink_ops = {
    .bind = nl_bind,
    .connect = nl_connect,
    .getname = nl_getname,
    .sendmsg = nl_sendmsg,
    .recvmsg = nl_recvmsg,
    .getsockopt = nl_getsockopt,
    .setsockopt = nl_setsockopt,
    .poll = nl_poll,
    .release = nl_release,
};

static int netlink_create(struct socket *s, struct task *t, int protocol)
{
    (void)t;
    if (s->type != SOCK_RAW && s->type != SOCK_DGRAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != NETLINK_ROUTE)
        return -EPROTONOSUPPORT;
    struct nl_sock *nl = calloc(1, sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    nl->s = s;
    pthread_mutex_init(&nl->mu, NULL);
    s->ops = &g_netlink_ops;
    s->priv = nl;
    return 0;
}

void netlink_register(void)
{
    socket_family_register(AF_NETLINK, netlink_create);
}
