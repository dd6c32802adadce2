/* Endpoints: creation, references, and the ns_* entry points, which decode
 * addresses and hand each call to its kind (tcp.c, udp.c, ping.c). */
#include "netstack/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lwip/pbuf.h"

struct ns_ep *ns_ep_alloc(enum ns_kind kind, int domain, int protocol)
{
    struct ns_ep *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return NULL;
    ep->refs = 1;
    ep->kind = kind;
    ep->domain = domain;
    ep->protocol = protocol;
    pthread_mutex_init(&ep->rd_mu, NULL);
    pthread_mutex_init(&ep->wr_mu, NULL);
    pthread_mutex_init(&ep->mu, NULL);
    pthread_mutex_init(&ep->notify_mu, NULL);
    ep->keep_idle = 7200;          /* Linux's tcp_keepalive_time/intvl/probes */
    ep->keep_intvl = 75;
    ep->keep_cnt = 9;
    ep->ttl = -1;                  /* -1: the route's default (64) */
    ep->mcast_ttl = 1;
    ep->mcast_loop = 1;
    ep->so.rcvbuf = kind == NS_TCP ? 131072 : 212992;
    ep->so.sndbuf = kind == NS_TCP ? 16384 : 212992;
    return ep;
}

void ns_rx_free_all(struct ns_rx *rx)
{
    while (rx) {
        struct ns_rx *next = rx->next;
        pbuf_free(rx->p);
        free(rx);
        rx = next;
    }
}

void ns_ep_get(struct ns_ep *ep)
{
    atomic_fetch_add_explicit(&ep->refs, 1, memory_order_relaxed);
}

void ns_ep_put(struct ns_ep *ep)
{
    if (atomic_fetch_sub_explicit(&ep->refs, 1, memory_order_acq_rel) != 1)
        return;
    ns_rx_free_all(ep->rx_head);
    pthread_mutex_destroy(&ep->rd_mu);
    pthread_mutex_destroy(&ep->wr_mu);
    pthread_mutex_destroy(&ep->mu);
    pthread_mutex_destroy(&ep->notify_mu);
    free(ep);
}

int ns_socket(int domain, int type, int protocol, struct ns_ep **out)
{
    enum ns_kind kind;
    if (domain != AF_INET && domain != AF_INET6)
        return -EAFNOSUPPORT;
    int r = ns_init();
    if (r < 0)
        return r;
    if (type == SOCK_STREAM) {
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return -EPROTONOSUPPORT;
        kind = NS_TCP;
        protocol = IPPROTO_TCP;
    } else if (type == SOCK_DGRAM) {
        if (protocol == 0 || protocol == IPPROTO_UDP) {
            kind = NS_UDP;
            protocol = IPPROTO_UDP;
        } else if ((domain == AF_INET && protocol == IPPROTO_ICMP) ||
                   (domain == AF_INET6 && protocol == IPPROTO_ICMPV6)) {
            kind = NS_PING;
        } else {
            return -EPROTONOSUPPORT;
        }
    } else if (type == SOCK_RAW) {
        return -EPERM;             /* raw sockets need CAP_NET_RAW, which we refuse */
    } else {
        return -ESOCKTNOSUPPORT;
    }
    struct ns_ep *ep = ns_ep_alloc(kind, domain, protocol);
    if (!ep)
        return -ENOMEM;
    ns_lock();
    r = kind == NS_TCP ? ns_tcp_open(ep) : kind == NS_UDP ? ns_udp_open(ep)
                                                          : ns_ping_open(ep);
    ns_unlock();
    if (r < 0) {
        ns_ep_put(ep);
        return r;
    }
    *out = ep;
    return 0;
}

void ns_set_notify(struct ns_ep *ep, ns_notify_fn fn, void *arg)
{
    pthread_mutex_lock(&ep->notify_mu);
    ep->notify = fn;
    ep->notify_arg = arg;
    pthread_mutex_unlock(&ep->notify_mu);
}

void ns_close(struct ns_ep *ep)
{
    /* no hook runs after this: one running now finishes first */
    ns_set_notify(ep, NULL, NULL);
    ns_lock();
    ep->closed = 1;
    if (ep->kind == NS_TCP)
        ns_tcp_close(ep);
    else if (ep->kind == NS_UDP)
        ns_udp_close(ep);
    else
        ns_ping_close(ep);
    ns_unlock();
    ns_ep_put(ep);
}

int ns_bind(struct ns_ep *ep, const void *addr, size_t len)
{
    ip_addr_t ip;
    uint16_t port;
    int unspec;
    int r = ns_addr_in(ep, addr, len, 1, &ip, &port, &unspec);
    if (r < 0)
        return r;
    ns_lock();
    if (ep->bound || ep->closed)
        r = -EINVAL;
    else if (!ns_addr_is_local(&ip, ep->kind != NS_TCP))
        r = -EADDRNOTAVAIL;
    else if (ep->kind == NS_TCP)
        r = ns_tcp_bind(ep, &ip, port);
    else if (ep->kind == NS_UDP)
        r = ns_udp_bind(ep, &ip, port);
    else
        r = ns_ping_bind(ep, &ip, port);
    ns_unlock();
    return r;
}

int ns_listen(struct ns_ep *ep, int backlog)
{
    if (ep->kind != NS_TCP)
        return -EOPNOTSUPP;
    ns_lock();
    int r = ns_tcp_listen(ep, backlog);
    ns_unlock();
    return r;
}

int ns_accept(struct ns_ep *ep, struct ns_ep **out)
{
    if (ep->kind != NS_TCP)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&ep->mu);
    int r = 0;
    if (ep->state != NS_LISTEN) {
        r = -EINVAL;
    } else if (!ep->acc_head) {
        r = -EAGAIN;
    } else {
        struct ns_ep *c = ep->acc_head;
        ep->acc_head = c->acc_next;
        if (!ep->acc_head)
            ep->acc_tail = NULL;
        c->acc_next = NULL;
        ep->acc_count--;
        *out = c;                  /* the queue's reference moves to the caller */
    }
    pthread_mutex_unlock(&ep->mu);
    return r;
}

int ns_connect(struct ns_ep *ep, const void *addr, size_t len)
{
    ip_addr_t ip;
    uint16_t port;
    int unspec;
    int r = ns_addr_in(ep, addr, len, 0, &ip, &port, &unspec);
    if (r < 0)
        return r;
    ns_lock();
    if (ep->closed)
        r = -EBADF;
    else if (ep->kind == NS_TCP)
        r = unspec ? -EAFNOSUPPORT : ns_tcp_connect(ep, &ip, port);
    else if (ep->kind == NS_UDP)
        r = ns_udp_connect(ep, &ip, port, unspec);
    else
        r = ns_ping_connect(ep, &ip, unspec);
    ns_unlock();
    return r;
}

int ns_connect_result(struct ns_ep *ep)
{
    /* a blocking connect reports it itself (atomic: no core lock here) */
    __atomic_store_n(&ep->connect_unreported, 0, __ATOMIC_RELAXED);
    pthread_mutex_lock(&ep->mu);
    int r;
    if (ep->state == NS_CONNECTING) {
        r = -EINPROGRESS;
    } else if (ep->err) {
        r = -ep->err;
        ep->err = 0;
    } else if (ep->state == NS_CONNECTED) {
        r = 0;
    } else {
        r = -ECONNABORTED;
    }
    pthread_mutex_unlock(&ep->mu);
    return r;
}

unsigned ns_poll(struct ns_ep *ep)
{
    return ep->kind == NS_TCP ? ns_tcp_poll(ep) : ns_dgram_poll(ep);
}

ssize_t ns_send(struct ns_ep *ep, const struct ns_data *d, int flags, const void *to,
                size_t tolen)
{
    if (ep->kind == NS_TCP) {
        /* Linux's TCP ignores a destination on a connected socket (EISCONN only
         * for Fast Open); unconnected ones fail below */
        return ns_tcp_send(ep, d, flags);
    }
    ip_addr_t ip;
    uint16_t port = 0;
    int unspec = 0;
    if (to) {
        int r = ns_addr_in(ep, to, tolen, 0, &ip, &port, &unspec);
        if (r < 0)
            return r;
    }
    return ns_dgram_send(ep, d, &ip, port, to && !unspec);
}

ssize_t ns_recv(struct ns_ep *ep, const struct ns_data *d, int flags, void *from,
                size_t fromcap, size_t *fromlen, int *msg_flags)
{
    if (fromlen)
        *fromlen = 0;
    if (ep->kind == NS_TCP)
        return ns_tcp_recv(ep, d, flags);
    return ns_dgram_recv(ep, d, flags, from, fromcap, fromlen, msg_flags);
}

int ns_shutdown(struct ns_ep *ep, int how)
{
    if (ep->kind == NS_TCP)
        return ns_tcp_shutdown(ep, how);
    /* datagram sockets: Linux's udp_disconnect path marks the shutdown bits and
     * wakes readers; an unconnected one is ENOTCONN */
    ns_lock();
    pthread_mutex_lock(&ep->mu);
    int r = 0;
    if (!ep->has_peer) {
        r = -ENOTCONN;
    } else {
        if (how == SHUT_RD || how == SHUT_RDWR)
            ep->rcv_shut = 1;
        if (how == SHUT_WR || how == SHUT_RDWR)
            ep->snd_shut = 1;
    }
    pthread_mutex_unlock(&ep->mu);
    if (!r)
        ns_notify(ep, POLLIN | POLLRDNORM | POLLOUT | POLLHUP | POLLRDHUP);
    ns_unlock();
    /* Linux answers ENOTCONN but still marks an unconnected UDP socket shut */
    return r;
}

int ns_getname(struct ns_ep *ep, void *buf, int peer)
{
    ip_addr_t ip;
    uint16_t port = 0;
    int r = 0;
    ip_addr_set_zero(&ip);
    ns_lock();
    if (ep->kind == NS_TCP) {
        r = ns_tcp_name(ep, peer, &ip, &port);
    } else if (peer) {
        if (!ep->has_peer)
            r = -ENOTCONN;
        ip = ep->peer_ip;
        port = ep->peer_port;
    } else {
        ns_dgram_local(ep, &ip, &port);
    }
    ns_unlock();
    if (r < 0)
        return r;
    return ns_addr_out(ep, &ip, port, buf);
}

void ns_set_sockopts(struct ns_ep *ep, const struct ns_sockopts *o)
{
    ns_lock();
    ep->so = *o;
    if (ep->kind == NS_TCP)
        ns_tcp_apply_opts(ep);
    ns_unlock();
}

int ns_getsockopt(struct ns_ep *ep, int level, int name, void *val, size_t *len)
{
    if (level == IPPROTO_TCP)
        return ep->kind == NS_TCP ? ns_tcp_getsockopt(ep, name, val, len) : -EOPNOTSUPP;
    return ns_ip_getsockopt(ep, level, name, val, len);
}

int ns_setsockopt(struct ns_ep *ep, int level, int name, const void *val, size_t len)
{
    if (level == IPPROTO_TCP)
        return ep->kind == NS_TCP ? ns_tcp_setsockopt(ep, name, val, len) : -EOPNOTSUPP;
    return ns_ip_setsockopt(ep, level, name, val, len);
}

int ns_pending_error(struct ns_ep *ep)
{
    pthread_mutex_lock(&ep->mu);
    int e = ep->err;
    ep->err = 0;
    pthread_mutex_unlock(&ep->mu);
    return e;
}

int ns_inq(struct ns_ep *ep)
{
    pthread_mutex_lock(&ep->mu);
    int n;
    if (ep->kind == NS_TCP)
        n = (int)ep->rx_bytes;
    else
        n = ep->rx_head ? ep->rx_head->p->tot_len : 0;
    pthread_mutex_unlock(&ep->mu);
    return n;
}

int ns_outq(struct ns_ep *ep)
{
    if (ep->kind != NS_TCP)
        return 0;
    ns_lock();
    int n = ns_tcp_outq(ep);
    ns_unlock();
    return n;
}
