/* Datagram endpoints: UDP on lwIP's udp pcbs, and the receive queue, send path and
 * readiness they share with ping sockets (ping.c).
 *
 * A datagram is sent from one pbuf the caller's data is copied into directly (no
 * bounce buffer); received ones queue with their source until read. The receive
 * queue holds at most SO_RCVBUF bytes of payload; more are dropped, as Linux drops
 * datagrams for a full socket. */
#include "netstack/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lwip/ip.h"
#include "lwip/raw.h"
#include "lwip/udp.h"

static const ip_addr_t g_lo4 = IPADDR4_INIT(PP_HTONL(0x7f000001UL));
static const ip_addr_t g_lo6 = IPADDR6_INIT(0, 0, 0, PP_HTONL(1UL));

static uint16_t g_udp_cursor;

static uint16_t next_port(void)
{
    if (!g_udp_cursor)
        g_udp_cursor = (uint16_t)(NS_PORT_FIRST + (unsigned)rand() % 1000);
    uint16_t p = g_udp_cursor;
    g_udp_cursor = p >= NS_PORT_LAST ? NS_PORT_FIRST : (uint16_t)(p + 1);
    return p;
}

void ns_dgram_queue(struct ns_ep *ep, struct pbuf *p, const ip_addr_t *addr,
                    uint16_t port)
{
    struct ns_rx *rx = malloc(sizeof(*rx));
    pthread_mutex_lock(&ep->mu);
    if (!rx || ep->rx_bytes + p->tot_len > (size_t)ep->so.rcvbuf) {
        pthread_mutex_unlock(&ep->mu);
        free(rx);
        pbuf_free(p);              /* the socket is full: dropped */
        return;
    }
    rx->next = NULL;
    rx->p = p;
    rx->off = 0;
    ip_addr_copy(rx->addr, *addr);
    rx->port = port;
    if (ep->rx_tail)
        ep->rx_tail->next = rx;
    else
        ep->rx_head = rx;
    ep->rx_tail = rx;
    ep->rx_bytes += p->tot_len;
    ep->rx_count++;
    pthread_mutex_unlock(&ep->mu);
    ns_notify(ep, POLLIN | POLLRDNORM);
}

static void udp_recv_cb(void *arg, struct udp_pcb *pcb, struct pbuf *p,
                        const ip_addr_t *addr, u16_t port)
{
    struct ns_ep *ep = arg;
    (void)pcb;
    if (!ep || ep->closed) {
        pbuf_free(p);
        return;
    }
    ns_dgram_queue(ep, p, addr, port);
}

static void apply_udp_opts(struct ns_ep *ep)
{
    struct udp_pcb *pcb = ep->pcb.udp;
    if (!pcb)
        return;
    if (ep->so.reuseaddr || ep->so.reuseport)
        ip_set_option(pcb, SOF_REUSEADDR);
    else
        ip_reset_option(pcb, SOF_REUSEADDR);
    pcb->ttl = (u8_t)(ep->ttl >= 0 ? ep->ttl : 64);
    pcb->tos = (u8_t)ep->tos;
    udp_set_multicast_ttl(pcb, (u8_t)ep->mcast_ttl);
    if (ep->mcast_loop)
        udp_setflags(pcb, udp_flags(pcb) | UDP_FLAGS_MULTICAST_LOOP);
    else
        udp_setflags(pcb, udp_flags(pcb) & ~UDP_FLAGS_MULTICAST_LOOP);
}

int ns_udp_open(struct ns_ep *ep)
{
    u8_t type = ep->domain == AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4;
    struct udp_pcb *pcb = udp_new_ip_type(type);
    if (!pcb)
        return -ENOMEM;
    ep->pcb.udp = pcb;
    udp_recv(pcb, udp_recv_cb, ep);
    apply_udp_opts(ep);
    return 0;
}

void ns_udp_close(struct ns_ep *ep)
{
    if (ep->pcb.udp)
        udp_remove(ep->pcb.udp);
    ep->pcb.udp = NULL;
}

int ns_udp_bind(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port)
{
    struct udp_pcb *pcb = ep->pcb.udp;
    if (!pcb)
        return -EINVAL;
    apply_udp_opts(ep);
    if (port) {
        int r = ns_err(udp_bind(pcb, ip, port));
        if (!r)
            ep->bound = 1;
        return r;
    }
    for (int i = 0; i <= NS_PORT_LAST - NS_PORT_FIRST; i++) {
        err_t e = udp_bind(pcb, ip, next_port());
        if (e == ERR_USE)
            continue;
        if (e == ERR_OK)
            ep->bound = 1;
        return ns_err(e);
    }
    return -EADDRINUSE;
}

/* ensure_bound: a datagram endpoint sends from an ephemeral port if unbound. */
static int ensure_bound(struct ns_ep *ep)
{
    if (ep->bound)
        return 0;
    if (ep->kind == NS_PING)
        return ns_ping_bind(ep, IP_ANY_TYPE, 0);
    const ip_addr_t *any = ep->domain == AF_INET ? IP4_ADDR_ANY
                           : ep->v6only ? IP6_ADDR_ANY : IP_ANY_TYPE;
    return ns_udp_bind(ep, any, 0);
}

int ns_udp_connect(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port, int unspec)
{
    struct udp_pcb *pcb = ep->pcb.udp;
    if (!pcb)
        return -EINVAL;
    if (unspec) {
        udp_disconnect(pcb);
        ep->has_peer = 0;
        return 0;
    }
    if (ip_addr_isany(ip))
        ip = IP_IS_V4_VAL(*ip) ? &g_lo4 : &g_lo6;
    int r = ensure_bound(ep);
    if (r < 0)
        return r;
    r = ns_err(udp_connect(pcb, ip, port));
    if (r < 0)
        return r;
    ep->has_peer = 1;
    ip_addr_copy(ep->peer_ip, *ip);
    ep->peer_port = port;
    return 0;
}

void ns_dgram_local(struct ns_ep *ep, ip_addr_t *ip, uint16_t *port)
{
    if (ep->kind == NS_PING) {
        if (ep->pcb.raw)
            *ip = ep->pcb.raw->local_ip;
        *port = ep->ping_id;
        return;
    }
    struct udp_pcb *pcb = ep->pcb.udp;
    if (!pcb)
        return;
    *ip = pcb->local_ip;
    *port = pcb->local_port;
    if (ip_addr_isany(ip) && ep->has_peer) {
        /* Linux shows the source address the route picks once connected */
        struct netif *n = ip_route(&pcb->local_ip, &ep->peer_ip);
        const ip_addr_t *src = n ? ip_netif_get_local_ip(n, &ep->peer_ip) : NULL;
        if (src)
            *ip = *src;
    }
}

ssize_t ns_dgram_send(struct ns_ep *ep, const struct ns_data *d, const ip_addr_t *to,
                      uint16_t port, int has_to)
{
    size_t len = d->size;
    int v4 = has_to ? IP_IS_V4(to) : ep->domain == AF_INET;
    /* Linux's limits, except IPv6's 65527: lwIP's packets are at most 64 KiB with
     * the IPv6 header, so 65487 is the most it can carry */
    size_t max = ep->kind == NS_PING ? 65535 - 20 : v4 ? 65507 : 65535 - 48;
    if (len > max)
        return -EMSGSIZE;
    if (ep->kind == NS_PING && len < 8)
        return -EINVAL;
    /* room for the headers in front when it fits in lwIP's 16-bit sizes */
    pbuf_layer layer = len <= 60000 ? (ep->kind == NS_PING ? PBUF_IP : PBUF_TRANSPORT)
                                    : PBUF_RAW;
    struct pbuf *p = pbuf_alloc(layer, (u16_t)len, PBUF_RAM);
    if (!p)
        return -ENOBUFS;
    if (len) {
        ssize_t got = d->copy(d->ctx, 0, p->payload, len);
        if (got < 0 || (size_t)got < len) {
            pbuf_free(p);
            return -EFAULT;
        }
    }
    ssize_t r = 0;
    ns_lock();
    ip_addr_t dst;
    pthread_mutex_lock(&ep->mu);
    int shut = ep->snd_shut;
    pthread_mutex_unlock(&ep->mu);
    if (shut) {
        r = -EPIPE;
    } else if (has_to) {
        dst = *to;
    } else if (ep->has_peer) {
        dst = ep->peer_ip;
        port = ep->peer_port;
    } else {
        r = -EDESTADDRREQ;
    }
    if (!r && ip_addr_isany(&dst))
        dst = IP_IS_V4_VAL(dst) ? g_lo4 : g_lo6;
    if (!r && ep->kind == NS_UDP && port == 0)
        r = -EINVAL;
    if (!r && IP_IS_V4(&dst) && ip4_addr_get_u32(ip_2_ip4(&dst)) == IPADDR_BROADCAST &&
        !ep->so.broadcast)
        r = -EACCES;
    if (!r)
        r = ensure_bound(ep);
    if (!r && ep->kind == NS_UDP) {
        apply_udp_opts(ep);
        if (!ep->pcb.udp)
            r = -EBADF;
        else if (!IP_ADDR_PCB_VERSION_MATCH(ep->pcb.udp, &dst))
            r = -ENETUNREACH;
        else
            r = ns_err(udp_sendto(ep->pcb.udp, p, &dst, port));
    } else if (!r) {
        r = ns_ping_sendto(ep, p, &dst);
    }
    ns_unlock();
    pbuf_free(p);
    return r < 0 ? r : (ssize_t)len;
}

/* copy_chain: copies up to n bytes of p to the caller's data. */
static ssize_t copy_chain(const struct ns_data *d, struct pbuf *p, size_t n)
{
    size_t done = 0;
    for (struct pbuf *b = p; b && done < n; b = b->next) {
        size_t k = b->len < n - done ? b->len : n - done;
        ssize_t c = d->copy(d->ctx, done, b->payload, k);
        if (c < 0)
            return done ? (ssize_t)done : c;
        done += (size_t)c;
        if ((size_t)c < k)
            break;
    }
    return (ssize_t)done;
}

ssize_t ns_dgram_recv(struct ns_ep *ep, const struct ns_data *d, int flags, void *from,
                      size_t fromcap, size_t *fromlen, int *msg_flags)
{
    pthread_mutex_lock(&ep->rd_mu);
    pthread_mutex_lock(&ep->mu);
    struct ns_rx *rx = ep->rx_head;
    ssize_t r = 0;
    if (!rx) {
        if (ep->err) {
            r = -ep->err;
            ep->err = 0;
        } else if (ep->rcv_shut) {
            r = 0;
        } else {
            r = -EAGAIN;
        }
        pthread_mutex_unlock(&ep->mu);
        pthread_mutex_unlock(&ep->rd_mu);
        return r;
    }
    if (!(flags & MSG_PEEK)) {
        ep->rx_head = rx->next;
        if (!ep->rx_head)
            ep->rx_tail = NULL;
        ep->rx_bytes -= rx->p->tot_len;
        ep->rx_count--;
        rx->next = NULL;
    }
    pthread_mutex_unlock(&ep->mu);
    size_t len = rx->p->tot_len;
    size_t n = len < d->size ? len : d->size;
    r = n ? copy_chain(d, rx->p, n) : 0;
    if (r >= 0 && (size_t)r < n)
        r = -EFAULT;
    if (n < len && msg_flags)
        *msg_flags |= MSG_TRUNC;
    if (from || fromlen) {
        unsigned char sa[sizeof(struct sockaddr_in6)];
        int sl = ns_addr_out(ep, &rx->addr, ep->kind == NS_PING ? 0 : rx->port, sa);
        if (from)
            memcpy(from, sa, (size_t)sl < fromcap ? (size_t)sl : fromcap);
        if (fromlen)
            *fromlen = (size_t)sl;
    }
    if (!(flags & MSG_PEEK))
        ns_rx_free_all(rx);
    pthread_mutex_unlock(&ep->rd_mu);
    if (r >= 0 && (flags & MSG_TRUNC))
        r = (ssize_t)len;
    return r;
}

unsigned ns_dgram_poll(struct ns_ep *ep)
{
    pthread_mutex_lock(&ep->mu);
    unsigned m = POLLOUT | POLLWRNORM;
    if (ep->rx_head)
        m |= POLLIN | POLLRDNORM;
    if (ep->err)
        m |= POLLERR;
    if (ep->rcv_shut)
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (ep->rcv_shut && ep->snd_shut)
        m |= POLLHUP;
    pthread_mutex_unlock(&ep->mu);
    return m;
}
