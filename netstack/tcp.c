/* TCP endpoints on lwIP's raw API.
 *
 * Receiving: lwIP's recv callback queues the segment's pbufs on the endpoint. The
 * window is given back to lwIP at once (tcp_recved) while the queue is within
 * SO_RCVBUF, so the peer sees lwIP's 64 KiB window plus the receive buffer; past
 * it the bytes are held back until the reader catches up (ep->rx_held). A reader
 * takes the queue under ep->mu and copies without the core lock, so a receiver
 * and a sender run side by side.
 *
 * Sending: tcp_write copies the caller's data into segments, straight from the
 * windows its map hook gives (guest pages) or else from a bounce buffer, bounded by
 * lwIP's send buffer (tcp_sndbuf); the sent callback wakes writers that found it
 * full. The copy also sums the data, except on loopback connections (chksum.c).
 *
 * Loopback connections use segments of half the window (lwIP's limit) instead of
 * 1460 bytes: both ends are this stack, so the MSS needs no negotiation. */
#include "netstack/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

/* The biggest chunk tcp_write takes in one call (its length is 16 bits). */
#define SEND_CHUNK 65535
/* Segment size on loopback: lwIP caps segments at half the peer's window anyway. */
#define LOOPBACK_MSS 32768

static err_t recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len);
static void err_cb(void *arg, err_t err);

static void attach(struct ns_ep *ep, struct tcp_pcb *pcb)
{
    ep->pcb.tcp = pcb;
    tcp_arg(pcb, ep);
    tcp_recv(pcb, recv_cb);
    tcp_sent(pcb, sent_cb);
    tcp_err(pcb, err_cb);
}

/* detach: lwIP forgets the endpoint (its default recv callback takes over). */
static struct tcp_pcb *detach(struct ns_ep *ep)
{
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (pcb) {
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_sent(pcb, NULL);
        tcp_err(pcb, NULL);
    }
    ep->pcb.tcp = NULL;
    return pcb;
}

/* Free room in lwIP's send buffer, counting its segment-queue limit. */
static size_t send_space(const struct tcp_pcb *pcb)
{
    if (!pcb || pcb->snd_queuelen >= TCP_SND_QUEUELEN - 1)
        return 0;
    return tcp_sndbuf(pcb);
}

/* The options that live in the pcb, from the endpoint (core lock). */
static void apply_opts(struct ns_ep *ep, struct tcp_pcb *pcb)
{
    if (!pcb || pcb->state == LISTEN)
        return;
    if (ep->so.reuseaddr || ep->so.reuseport)
        ip_set_option(pcb, SOF_REUSEADDR);
    else
        ip_reset_option(pcb, SOF_REUSEADDR);
    if (ep->so.keepalive)
        ip_set_option(pcb, SOF_KEEPALIVE);
    else
        ip_reset_option(pcb, SOF_KEEPALIVE);
    pcb->keep_idle = (u32_t)ep->keep_idle * 1000;
    pcb->keep_intvl = (u32_t)ep->keep_intvl * 1000;
    pcb->keep_cnt = (u32_t)ep->keep_cnt;
    if (ep->nodelay)
        tcp_nagle_disable(pcb);
    else
        tcp_nagle_enable(pcb);
    if (ep->ttl >= 0)
        pcb->ttl = (u8_t)ep->ttl;
    pcb->tos = (u8_t)ep->tos;
}

void ns_tcp_apply_opts(struct ns_ep *ep)
{
    apply_opts(ep, ep->pcb.tcp);
}

/* established: a connection is up (either end): loopback tuning, state, room. */
static void established(struct ns_ep *ep, struct tcp_pcb *pcb)
{
    struct netif *n = ip_route(&pcb->local_ip, &pcb->remote_ip);
    ep->loopback = n && ns_netif_is_loopback(n);
    if (ep->loopback) {
        /* the window, not congestion, is the limit on loopback: a segment bigger
         * than cwnd would wait for the persist timer */
        pcb->mss = LOOPBACK_MSS;
        pcb->cwnd = 4 * TCP_WND;
        pcb->ssthresh = 4 * TCP_WND;
    }
    apply_opts(ep, pcb);
    ip_addr_copy(ep->peer_ip, pcb->remote_ip);
    ep->peer_port = pcb->remote_port;
    pthread_mutex_lock(&ep->mu);
    ep->state = NS_CONNECTED;
    ep->snd_space = send_space(pcb);
    pthread_mutex_unlock(&ep->mu);
}

int ns_tcp_open(struct ns_ep *ep)
{
    u8_t type = ep->domain == AF_INET6 ? (ep->v6only ? IPADDR_TYPE_V6 : IPADDR_TYPE_ANY)
                                       : IPADDR_TYPE_V4;
    struct tcp_pcb *pcb = tcp_new_ip_type(type);
    if (!pcb)
        return -ENOMEM;
    attach(ep, pcb);
    ep->state = NS_CLOSED;
    ep->snd_space = send_space(pcb);
    return 0;
}

static const ip_addr_t g_lo4 = IPADDR4_INIT(PP_HTONL(0x7f000001UL));
static const ip_addr_t g_lo6 = IPADDR6_INIT(0, 0, 0, PP_HTONL(1UL));

/* Ephemeral ports: a rotating cursor over Linux's range. */
static uint16_t g_port_cursor;

static uint16_t next_port(void)
{
    if (!g_port_cursor)
        g_port_cursor = (uint16_t)(NS_PORT_FIRST + (unsigned)rand() % 1000);
    uint16_t p = g_port_cursor;
    g_port_cursor = p >= NS_PORT_LAST ? NS_PORT_FIRST : (uint16_t)(p + 1);
    return p;
}

/* bind_any_port: binds pcb to ip and a free ephemeral port. */
static int bind_any_port(struct tcp_pcb *pcb, const ip_addr_t *ip)
{
    for (int i = 0; i <= NS_PORT_LAST - NS_PORT_FIRST; i++) {
        err_t e = tcp_bind(pcb, ip, next_port());
        if (e != ERR_USE)
            return ns_err(e);
    }
    return -EADDRINUSE;
}

int ns_tcp_bind(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port)
{
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (!pcb || ep->state != NS_CLOSED)
        return -EINVAL;
    if (ep->domain == AF_INET6 && ep->v6only && IP_IS_V4(ip))
        return -EINVAL;
    apply_opts(ep, pcb);
    int r = port ? ns_err(tcp_bind(pcb, ip, port)) : bind_any_port(pcb, ip);
    if (r == 0)
        ep->bound = 1;
    return r;
}

static err_t accept_cb(void *arg, struct tcp_pcb *newpcb, err_t err)
{
    struct ns_ep *l = arg;
    if (err != ERR_OK || !newpcb)
        return ERR_VAL;
    if (!l || l->closed) {
        tcp_abort(newpcb);
        return ERR_ABRT;
    }
    struct ns_ep *c = ns_ep_alloc(NS_TCP, l->domain, l->protocol);
    if (!c) {
        tcp_abort(newpcb);
        return ERR_ABRT;
    }
    c->so = l->so;
    c->v6only = l->v6only;
    c->nodelay = l->nodelay;
    c->keep_idle = l->keep_idle;
    c->keep_intvl = l->keep_intvl;
    c->keep_cnt = l->keep_cnt;
    c->ttl = l->ttl;
    c->tos = l->tos;
    c->bound = 1;
    attach(c, newpcb);
    established(c, newpcb);
    pthread_mutex_lock(&l->mu);
    if (l->acc_tail)
        l->acc_tail->acc_next = c;
    else
        l->acc_head = c;
    l->acc_tail = c;
    l->acc_count++;
    pthread_mutex_unlock(&l->mu);
    ns_notify(l, POLLIN | POLLRDNORM);
    return ERR_OK;
}

int ns_tcp_listen(struct ns_ep *ep, int backlog)
{
    if (backlog < 0)
        backlog = 0;
    if (ep->state == NS_LISTEN) {
        ep->backlog = backlog;
        return 0;
    }
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (!pcb || ep->state != NS_CLOSED)
        return -EINVAL;
    apply_opts(ep, pcb);
    if (!ep->bound) {
        int r = bind_any_port(pcb, ep->domain == AF_INET6 && !ep->v6only ? IP_ANY_TYPE
                                   : ep->domain == AF_INET6 ? IP6_ADDR_ANY : IP4_ADDR_ANY);
        if (r < 0)
            return r;
        ep->bound = 1;
    }
    err_t e = ERR_OK;
    struct tcp_pcb *l = tcp_listen_with_backlog_and_err(pcb, 255, &e);
    if (!l)
        return ns_err(e);
    ep->pcb.tcp = l;               /* pcb is freed; l keeps the callback arg */
    tcp_accept(l, accept_cb);
    ep->backlog = backlog;
    pthread_mutex_lock(&ep->mu);
    ep->state = NS_LISTEN;
    pthread_mutex_unlock(&ep->mu);
    return 0;
}

static err_t connected_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct ns_ep *ep = arg;
    if (!ep || err != ERR_OK)
        return ERR_OK;
    established(ep, pcb);
    ns_notify(ep, POLLOUT | POLLWRNORM);
    return ERR_OK;
}

/* connect_any_port: binds an ephemeral port and connects; a port whose
 * (local, remote) pair is still in TIME-WAIT is skipped, others' TIME-WAIT is not
 * in the way (Linux's tcp_tw_reuse on loopback has the same effect). */
static int connect_any_port(struct ns_ep *ep, struct tcp_pcb *pcb, const ip_addr_t *ip,
                            uint16_t port)
{
    int reuse = ip_get_option(pcb, SOF_REUSEADDR);
    ip_set_option(pcb, SOF_REUSEADDR);
    int r = -EADDRNOTAVAIL;
    for (int i = 0; i <= NS_PORT_LAST - NS_PORT_FIRST; i++) {
        err_t e = tcp_bind(pcb, IP_ANY_TYPE, next_port());
        if (e == ERR_USE)
            continue;
        if (e != ERR_OK) {
            r = ns_err(e);
            break;
        }
        e = tcp_connect(pcb, ip, port, connected_cb);
        if (e == ERR_OK) {
            r = 0;
            break;
        }
        /* still on the bound list: take it off before the next try */
        TCP_RMV(&tcp_bound_pcbs, pcb);
        pcb->local_port = 0;
        if (e != ERR_USE) {
            r = ns_err(e);
            break;
        }
    }
    if (!reuse)
        ip_reset_option(pcb, SOF_REUSEADDR);
    (void)ep;
    return r;
}

int ns_tcp_connect(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port)
{
    switch (ep->state) {
    case NS_CONNECTING: return -EALREADY;
    case NS_CONNECTED:
        if (__atomic_exchange_n(&ep->connect_unreported, 0, __ATOMIC_RELAXED))
            return 0;
        return -EISCONN;
    case NS_LISTEN:     return -EISCONN;
    case NS_CLOSED:     break;
    }
    if (ep->domain == AF_INET6 && ep->v6only && IP_IS_V4(ip))
        return -ENETUNREACH;
    if (!ep->pcb.tcp) {
        /* a failed or reset connection: Linux lets the socket try again */
        int r = ns_tcp_open(ep);
        if (r < 0)
            return r;
        ep->bound = 0;
    }
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (ip_addr_isany(ip))         /* 0.0.0.0 and :: reach this host, as on Linux */
        ip = IP_IS_V4_VAL(*ip) ? &g_lo4 : &g_lo6;
    if (!IP_ADDR_PCB_VERSION_MATCH(pcb, ip))
        return -EAFNOSUPPORT;
    apply_opts(ep, pcb);
    pthread_mutex_lock(&ep->mu);
    ep->err = 0;
    ep->rcv_shut = ep->snd_shut = 0;
    ep->state = NS_CONNECTING;
    pthread_mutex_unlock(&ep->mu);
    int r;
    if (ep->bound) {
        err_t e = tcp_connect(pcb, ip, port, connected_cb);
        r = e == ERR_USE ? -EADDRNOTAVAIL : ns_err(e);
    } else {
        r = connect_any_port(ep, pcb, ip, port);
    }
    if (r < 0) {
        pthread_mutex_lock(&ep->mu);
        ep->state = NS_CLOSED;
        pthread_mutex_unlock(&ep->mu);
        return r;
    }
    ep->bound = 1;
    __atomic_store_n(&ep->connect_unreported, 1, __ATOMIC_RELAXED);
    ip_addr_copy(ep->peer_ip, *ip);
    ep->peer_port = port;
    return -EINPROGRESS;
}

static err_t recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct ns_ep *ep = arg;
    (void)err;
    if (!ep) {
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {                      /* the peer's FIN */
        pthread_mutex_lock(&ep->mu);
        ep->rcv_shut = 1;
        unsigned ev = POLLIN | POLLRDNORM | POLLRDHUP | (ep->snd_shut ? POLLHUP : 0);
        pthread_mutex_unlock(&ep->mu);
        ns_notify(ep, ev);
        return ERR_OK;
    }
    struct ns_rx *rx = malloc(sizeof(*rx));
    if (!rx)
        return ERR_MEM;            /* lwIP keeps it and offers it again */
    rx->next = NULL;
    rx->p = p;
    rx->off = 0;
    size_t n = p->tot_len, credit = n;
    size_t limit = (size_t)ep->so.rcvbuf;
    pthread_mutex_lock(&ep->mu);
    if (ep->rx_tail)
        ep->rx_tail->next = rx;
    else
        ep->rx_head = rx;
    ep->rx_tail = rx;
    ep->rx_bytes += n;
    if (ep->rx_bytes > limit) {
        size_t hold = ep->rx_bytes - limit;
        if (hold > n)
            hold = n;
        credit -= hold;
        ep->rx_held += hold;
    }
    pthread_mutex_unlock(&ep->mu);
    if (credit)
        tcp_recved(pcb, (u16_t)credit);
    ns_ack_soon(ep);
    ns_notify(ep, POLLIN | POLLRDNORM);
    return ERR_OK;
}

static err_t sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct ns_ep *ep = arg;
    (void)len;
    if (!ep)
        return ERR_OK;
    size_t space = send_space(pcb);
    pthread_mutex_lock(&ep->mu);
    ep->snd_space = space;
    int wake = ep->snd_nospace && (space >= TCP_SND_BUF / 4 || pcb->unacked == NULL);
    if (wake)
        ep->snd_nospace = 0;
    pthread_mutex_unlock(&ep->mu);
    if (wake)
        ns_notify(ep, POLLOUT | POLLWRNORM);
    return ERR_OK;
}

/* err_cb: lwIP has freed the pcb: a reset, a timeout, or the end of a closed
 * connection (ERR_CLSD). */
static void err_cb(void *arg, err_t err)
{
    struct ns_ep *ep = arg;
    if (!ep)
        return;
    ep->pcb.tcp = NULL;
    pthread_mutex_lock(&ep->mu);
    int e = 0;
    if (err == ERR_RST)
        e = ep->state == NS_CONNECTING ? ECONNREFUSED : ECONNRESET;
    else if (err == ERR_ABRT || err == ERR_TIMEOUT)
        e = ETIMEDOUT;
    else if (err != ERR_CLSD)
        e = ECONNRESET;
    if (e)
        ep->err = e;
    ep->state = NS_CLOSED;
    ep->rcv_shut = ep->snd_shut = 1;
    pthread_mutex_unlock(&ep->mu);
    ns_notify(ep, POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLHUP |
                      (e ? POLLERR : 0));
}

void ns_tcp_close(struct ns_ep *ep)
{
    if (ep->state == NS_LISTEN) {
        struct tcp_pcb *l = ep->pcb.tcp;
        if (l) {
            tcp_arg(l, NULL);
            tcp_close(l);          /* frees a listener at once */
        }
        ep->pcb.tcp = NULL;
        pthread_mutex_lock(&ep->mu);
        struct ns_ep *c = ep->acc_head;
        ep->acc_head = ep->acc_tail = NULL;
        ep->acc_count = 0;
        pthread_mutex_unlock(&ep->mu);
        while (c) {                /* unaccepted connections are reset, as Linux */
            struct ns_ep *next = c->acc_next;
            c->closed = 1;
            struct tcp_pcb *pcb = detach(c);
            if (pcb)
                tcp_abort(pcb);
            ns_ep_put(c);
            c = next;
        }
        return;
    }
    pthread_mutex_lock(&ep->mu);
    int unread = ep->rx_bytes > 0;
    struct ns_rx *rx = ep->rx_head;
    ep->rx_head = ep->rx_tail = NULL;
    ep->rx_bytes = 0;
    pthread_mutex_unlock(&ep->mu);
    ns_rx_free_all(rx);
    struct tcp_pcb *pcb = detach(ep);
    if (!pcb)
        return;
    /* Linux resets instead of closing when unread data is thrown away, and for
     * SO_LINGER with a zero time */
    if (unread || (ep->so.linger_onoff && ep->so.linger_secs == 0))
        tcp_abort(pcb);
    else if (tcp_close(pcb) != ERR_OK)
        tcp_abort(pcb);
}

/* queue_iov: tcp_write of the first n bytes of iov (core lock held). Returns the
 * bytes queued; *err is lwIP's error when it stopped short. */
static size_t queue_iov(struct ns_ep *ep, struct tcp_pcb *pcb, const struct iovec *iov,
                        int niov, size_t n, int more, err_t *err)
{
    size_t done = 0;
    *err = ERR_OK;
    ns_copy_chksum_skip(ep->loopback);
    for (int i = 0; i < niov && done < n; i++) {
        size_t len = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;
        int last = done + len == n;
        *err = tcp_write(pcb, iov[i].iov_base, (u16_t)len,
                         TCP_WRITE_FLAG_COPY | (more || !last ? TCP_WRITE_FLAG_MORE : 0));
        if (*err != ERR_OK)
            break;
        done += len;
    }
    ns_copy_chksum_skip(0);
    return done;
}

ssize_t ns_tcp_send(struct ns_ep *ep, const struct ns_data *d, int flags)
{
    pthread_mutex_lock(&ep->wr_mu);
    size_t want = d->size;
    char *buf = NULL;              /* the bounce buffer, when d is not mapped */
    ssize_t sent = 0, r = 0;
    do {
        size_t chunk = want - (size_t)sent < SEND_CHUNK ? want - (size_t)sent : SEND_CHUNK;
        struct iovec iov[NS_MAP_MAX];
        int niov = 0, mapped = 0, fault = 0;
        ssize_t got = 0;
        if (chunk && d->map) {
            /* short: a fault (the next map says so), out of iovecs, or the end of
             * one of the caller's pieces */
            got = d->map(d->ctx, (size_t)sent, chunk, iov, &niov);
            mapped = got > 0;
        }
        if (chunk && got == 0) {
            if (!buf && !(buf = malloc(want < SEND_CHUNK ? want : SEND_CHUNK))) {
                r = -ENOMEM;
                break;
            }
            got = d->copy(d->ctx, (size_t)sent, buf, chunk);
            iov[0] = (struct iovec){ buf, got > 0 ? (size_t)got : 0 };
            niov = 1;
            fault = got >= 0 && (size_t)got < chunk;   /* copy is short only there */
        }
        if (got < 0) {
            r = got;
            break;
        }
        ns_lock();
        pthread_mutex_lock(&ep->mu);
        struct tcp_pcb *pcb = ep->pcb.tcp;
        if (ep->err && ep->state == NS_CLOSED) {
            r = -ep->err;          /* the reset, reported once; then EPIPE */
            ep->err = 0;
        } else if (ep->snd_shut) {
            r = -EPIPE;
        } else if (ep->state == NS_CONNECTING) {
            r = -EAGAIN;
        } else if (ep->state != NS_CONNECTED || !pcb) {
            r = ep->state == NS_LISTEN || !ep->bound ? -ENOTCONN : -EPIPE;
        }
        size_t space = r ? 0 : send_space(pcb);
        size_t n = (size_t)got < space ? (size_t)got : space;
        if (!r && n == 0 && got > 0) {
            ep->snd_nospace = 1;
            ep->snd_space = 0;
            r = -EAGAIN;
        }
        pthread_mutex_unlock(&ep->mu);
        if (!r && n > 0) {
            int more = (flags & MSG_MORE) || (size_t)sent + n < want;
            err_t e;
            size_t q = queue_iov(ep, pcb, iov, niov, n, more, &e);
            if (q)
                tcp_output(pcb);
            sent += (ssize_t)q;
            if (e != ERR_OK)
                r = e == ERR_MEM ? -EAGAIN : ns_err(e);
            pthread_mutex_lock(&ep->mu);
            ep->snd_space = send_space(pcb);
            if (r == -EAGAIN)
                ep->snd_nospace = 1;
            pthread_mutex_unlock(&ep->mu);
        }
        ns_unlock();
        if (mapped)
            d->unmap(d->ctx);
        if (r || fault)
            break;
    } while ((size_t)sent < want);
    free(buf);
    pthread_mutex_unlock(&ep->wr_mu);
    return sent > 0 ? sent : r;
}

ssize_t ns_tcp_recv(struct ns_ep *ep, const struct ns_data *d, int flags)
{
    if (flags & MSG_OOB)
        return -EINVAL;
    pthread_mutex_lock(&ep->rd_mu);
    pthread_mutex_lock(&ep->mu);
    ssize_t r = 0;
    if (ep->state == NS_LISTEN) {
        r = -ENOTCONN;
    } else if (ep->rx_bytes == 0) {
        if (ep->err) {
            r = -ep->err;
            ep->err = 0;
        } else if (ep->rcv_shut) {
            r = 0;
        } else if (ep->state == NS_CLOSED) {
            r = -ENOTCONN;
        } else {
            r = -EAGAIN;
        }
    } else if (d->size == 0) {
        r = 0;
    } else {
        r = 1;
    }
    if (r != 1) {
        pthread_mutex_unlock(&ep->mu);
        pthread_mutex_unlock(&ep->rd_mu);
        return r;
    }
    /* take the queue; new segments queue behind it meanwhile */
    struct ns_rx *q = ep->rx_head;
    ep->rx_head = ep->rx_tail = NULL;
    pthread_mutex_unlock(&ep->mu);

    int peek = flags & MSG_PEEK, discard = flags & MSG_TRUNC;
    size_t done = 0;
    int fault = 0;
    struct ns_rx *used = NULL, **used_tail = &used;
    struct ns_rx *cur = q;
    while (cur && done < d->size && !fault) {
        size_t skip = cur->off, took = 0;
        for (struct pbuf *b = cur->p; b && done < d->size; b = b->next) {
            if (skip >= b->len) {
                skip -= b->len;
                continue;
            }
            size_t n = b->len - skip;
            if (n > d->size - done)
                n = d->size - done;
            ssize_t c = discard ? (ssize_t)n
                                : d->copy(d->ctx, done, (char *)b->payload + skip, n);
            if (c < 0) {
                fault = 1;
                break;
            }
            done += (size_t)c;
            took += (size_t)c;
            if ((size_t)c < n) {
                fault = 1;
                break;
            }
            skip = 0;
        }
        if (peek) {                /* MSG_PEEK reads across segments, takes none */
            cur = cur->next;
            continue;
        }
        cur->off += took;
        if (cur->off < cur->p->tot_len)
            break;
        struct ns_rx *next = cur->next;
        cur->next = NULL;
        *used_tail = cur;
        used_tail = &cur->next;
        cur = next;
    }
    if (peek)
        cur = q;
    /* put back what is left, in front of what arrived meanwhile */
    pthread_mutex_lock(&ep->mu);
    if (cur) {
        struct ns_rx *last = cur;
        while (last->next)
            last = last->next;
        last->next = ep->rx_head;
        if (!ep->rx_tail)
            ep->rx_tail = last;
        ep->rx_head = cur;
    }
    size_t release = 0;
    if (!peek) {
        ep->rx_bytes -= done;
        size_t limit = (size_t)ep->so.rcvbuf;
        if (ep->rx_held && ep->rx_bytes < limit) {
            release = limit - ep->rx_bytes;
            if (release > ep->rx_held)
                release = ep->rx_held;
            ep->rx_held -= release;
        }
    }
    pthread_mutex_unlock(&ep->mu);
    if (release) {
        ns_lock();
        struct tcp_pcb *pcb = ep->pcb.tcp;
        while (pcb && release) {
            u16_t n = release > 0xffff ? 0xffff : (u16_t)release;
            tcp_recved(pcb, n);
            release -= n;
        }
        ns_unlock();
    }
    pthread_mutex_unlock(&ep->rd_mu);
    ns_rx_free_all(used);
    if (done == 0 && fault)
        return -EFAULT;
    return (ssize_t)done;
}

int ns_tcp_shutdown(struct ns_ep *ep, int how)
{
    ns_lock();
    pthread_mutex_lock(&ep->mu);
    int r = 0, fin = 0;
    if (ep->state == NS_LISTEN) {
        /* Linux: shutdown of a listener stops it only for SHUT_RD; both are 0 */
        r = 0;
    } else if (ep->state != NS_CONNECTED && ep->state != NS_CONNECTING) {
        r = -ENOTCONN;
    } else {
        if (how == SHUT_RD || how == SHUT_RDWR)
            ep->rcv_shut = 1;
        if ((how == SHUT_WR || how == SHUT_RDWR) && !ep->snd_shut) {
            ep->snd_shut = 1;
            fin = 1;
        }
    }
    unsigned ev = POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM |
                  (ep->rcv_shut && ep->snd_shut ? POLLHUP : 0);
    pthread_mutex_unlock(&ep->mu);
    if (fin && ep->pcb.tcp && ep->state == NS_CONNECTED)
        tcp_shutdown(ep->pcb.tcp, 0, 1);
    if (!r)
        ns_notify(ep, ev);
    ns_unlock();
    return r;
}

unsigned ns_tcp_poll(struct ns_ep *ep)
{
    pthread_mutex_lock(&ep->mu);
    unsigned m = 0;
    if (ep->state == NS_LISTEN) {
        m = ep->acc_head ? POLLIN | POLLRDNORM : 0;
        pthread_mutex_unlock(&ep->mu);
        return m;
    }
    if ((ep->rcv_shut && ep->snd_shut) || ep->state == NS_CLOSED)
        m |= POLLHUP;
    if (ep->rcv_shut)
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (ep->state != NS_CONNECTING) {
        if (ep->rx_bytes > 0)
            m |= POLLIN | POLLRDNORM;
        if (ep->snd_shut || ep->snd_space > 0)
            m |= POLLOUT | POLLWRNORM;
        else
            ep->snd_nospace = 1;
    }
    if (ep->err)
        m |= POLLERR;
    pthread_mutex_unlock(&ep->mu);
    return m;
}

int ns_tcp_name(struct ns_ep *ep, int peer, ip_addr_t *ip, uint16_t *port)
{
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (peer) {
        if (ep->state != NS_CONNECTED)
            return -ENOTCONN;
        *ip = ep->peer_ip;
        *port = ep->peer_port;
        return 0;
    }
    if (pcb) {
        *ip = pcb->local_ip;
        *port = pcb->local_port;
    }
    return 0;
}

int ns_tcp_outq(struct ns_ep *ep)
{
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (!pcb || ep->state != NS_CONNECTED)
        return 0;
    return (int)(TCP_SND_BUF - pcb->snd_buf);
}

static int get_int(const void *val, size_t len, int *out)
{
    if (len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int put_int(void *val, size_t *len, int v)
{
    size_t n = *len < sizeof(int) ? *len : sizeof(int);
    memcpy(val, &v, n);
    *len = n;
    return 0;
}

/* Linux's TCP state numbers for tcp_info. */
static int linux_state(const struct tcp_pcb *pcb, const struct ns_ep *ep)
{
    if (!pcb)
        return TCP_CLOSE;
    switch (pcb->state) {
    case LISTEN:      return TCP_LISTEN;
    case SYN_SENT:    return TCP_SYN_SENT;
    case SYN_RCVD:    return TCP_SYN_RECV;
    case ESTABLISHED: return TCP_ESTABLISHED;
    case FIN_WAIT_1:  return TCP_FIN_WAIT1;
    case FIN_WAIT_2:  return TCP_FIN_WAIT2;
    case CLOSE_WAIT:  return TCP_CLOSE_WAIT;
    case CLOSING:     return TCP_CLOSING;
    case LAST_ACK:    return TCP_LAST_ACK;
    case TIME_WAIT:   return TCP_TIME_WAIT;
    default:          return ep->state == NS_LISTEN ? TCP_LISTEN : TCP_CLOSE;
    }
}

int ns_tcp_getsockopt(struct ns_ep *ep, int name, void *val, size_t *len)
{
    ns_lock();
    struct tcp_pcb *pcb = ep->pcb.tcp;
    int r = 0;
    switch (name) {
    case TCP_NODELAY:   r = put_int(val, len, ep->nodelay); break;
    case TCP_KEEPIDLE:  r = put_int(val, len, ep->keep_idle); break;
    case TCP_KEEPINTVL: r = put_int(val, len, ep->keep_intvl); break;
    case TCP_KEEPCNT:   r = put_int(val, len, ep->keep_cnt); break;
    case TCP_MAXSEG:
        r = put_int(val, len, pcb && ep->state == NS_CONNECTED ? pcb->mss : 536);
        break;
    case TCP_INFO: {
        struct tcp_info ti;
        memset(&ti, 0, sizeof(ti));
        ti.tcpi_state = (uint8_t)linux_state(pcb, ep);
        if (pcb && ep->state != NS_LISTEN) {
            ti.tcpi_snd_mss = pcb->mss;
            ti.tcpi_rcv_mss = pcb->mss;
            ti.tcpi_rto = (uint32_t)pcb->rto * TCP_SLOW_INTERVAL * 1000;
            ti.tcpi_rtt = (uint32_t)(pcb->sa >> 3) * TCP_SLOW_INTERVAL * 1000;
            ti.tcpi_rttvar = (uint32_t)(pcb->sv >> 2) * TCP_SLOW_INTERVAL * 1000;
            ti.tcpi_snd_cwnd = pcb->cwnd / (pcb->mss ? pcb->mss : 1);
            ti.tcpi_snd_ssthresh = pcb->ssthresh / (pcb->mss ? pcb->mss : 1);
            ti.tcpi_rcv_space = pcb->rcv_wnd;
            ti.tcpi_unacked = pcb->snd_queuelen;
            ti.tcpi_pmtu = 65535;
        }
        size_t n = *len < sizeof(ti) ? *len : sizeof(ti);
        memcpy(val, &ti, n);
        *len = n;
        break;
    }
    default:
        r = -ENOPROTOOPT;
    }
    ns_unlock();
    return r;
}

int ns_tcp_setsockopt(struct ns_ep *ep, int name, const void *val, size_t len)
{
    int v, r;
    switch (name) {
    case TCP_NODELAY: case TCP_KEEPIDLE: case TCP_KEEPINTVL: case TCP_KEEPCNT:
    case TCP_MAXSEG: case TCP_QUICKACK: case TCP_CORK: case TCP_USER_TIMEOUT:
    case TCP_DEFER_ACCEPT: case TCP_LINGER2: case TCP_SYNCNT: case TCP_WINDOW_CLAMP:
        if ((r = get_int(val, len, &v)) < 0)
            return r;
        break;
    default:
        return -ENOPROTOOPT;
    }
    ns_lock();
    r = 0;
    switch (name) {
    case TCP_NODELAY:
        ep->nodelay = v != 0;
        break;
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
        if (v < 1 || v > 32767)
            r = -EINVAL;
        else if (name == TCP_KEEPIDLE)
            ep->keep_idle = v;
        else
            ep->keep_intvl = v;
        break;
    case TCP_KEEPCNT:
        if (v < 1 || v > 127)
            r = -EINVAL;
        else
            ep->keep_cnt = v;
        break;
    case TCP_MAXSEG:
        if (v != 0 && (v < 88 || v > 65535 - 40))
            r = -EINVAL;
        break;
    default:
        break;                     /* accepted; the stack has no use for them */
    }
    if (!r)
        apply_opts(ep, ep->pcb.tcp);
    if (!r && name == TCP_NODELAY && v && ep->pcb.tcp && ep->state == NS_CONNECTED)
        tcp_output(ep->pcb.tcp);   /* Linux pushes what Nagle held back */
    ns_unlock();
    return r;
}
