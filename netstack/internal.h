/* netstack internals shared by its files (not for the Sentry: use netstack.h).
 *
 * Locks, in order: ep->rd_mu / ep->wr_mu (one reader, one writer at a time) → the
 * lwIP core lock (ns_lock; every lwIP call and every pcb field) → ep->mu (the
 * endpoint state ns_poll reads: queues, state, error) → ep->notify_mu (the hook
 * pointer; held while the hook runs, so ns_close can wait it out). lwIP callbacks
 * run with the core lock held; they only queue data, update state under ep->mu and
 * queue a notification (ns_notify) that runs after the core lock is dropped. */
#ifndef NETSTACK_INTERNAL_H
#define NETSTACK_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"

#include "netstack/netstack.h"

enum ns_kind { NS_TCP, NS_UDP, NS_PING };

/* TCP states as the socket sees them (Linux's, collapsed). */
enum ns_state {
    NS_CLOSED,                     /* fresh, bound, or reset/closed */
    NS_LISTEN,
    NS_CONNECTING,                 /* SYN sent */
    NS_CONNECTED,                  /* established (and its FIN states) */
};

/* One received segment chain (TCP) or datagram (UDP, ping). */
struct ns_rx {
    struct ns_rx *next;
    struct pbuf *p;                /* the data; one reference */
    size_t off;                    /* bytes of p already read (TCP) */
    ip_addr_t addr;                /* datagrams: the source */
    uint16_t port;
};

struct ns_ep {
    int refs;                      /* atomic */
    enum ns_kind kind;
    int domain;                    /* AF_INET or AF_INET6; immutable */
    int protocol;                  /* immutable */
    pthread_mutex_t rd_mu, wr_mu;
    pthread_mutex_t mu;
    pthread_mutex_t notify_mu;

    /* core lock */
    union {
        struct tcp_pcb *tcp;
        struct udp_pcb *udp;
        struct raw_pcb *raw;
    } pcb;                         /* NULL once lwIP freed it or we let it go */
    int bound;                     /* has a local port (explicit or ephemeral) */
    int closed;                    /* ns_close ran */
    int v6only;                    /* IPV6_V6ONLY */
    int nodelay;
    int loopback;                  /* TCP: connected over the loopback interface */
    int connect_unreported;        /* a non-blocking connect completed that no
                                    * connect call has reported yet (Linux answers
                                    * the next connect with 0 once) */
    int backlog;
    int keep_idle, keep_intvl, keep_cnt;   /* seconds, seconds, probes */
    int ttl, tos, mcast_ttl, mcast_loop;
    int ipflags[12];               /* options only remembered (sockopt.c) */
    struct ns_sockopts so;
    unsigned notify_ev;            /* events to report at unlock */
    int notify_queued, ack_queued;
    uint16_t ping_id;              /* ping sockets: the echo identifier (the "port") */
    int has_peer;                  /* UDP/ping: connected */
    ip_addr_t peer_ip;
    uint16_t peer_port;

    /* mu */
    enum ns_state state;
    int err;                       /* pending error (positive errno), SO_ERROR */
    int rcv_shut, snd_shut;        /* Linux's RCV_SHUTDOWN / SEND_SHUTDOWN */
    struct ns_rx *rx_head, *rx_tail;
    size_t rx_bytes;               /* queued bytes (TCP) / payload bytes (UDP) */
    size_t rx_count;               /* queued datagrams */
    size_t rx_held;                /* TCP bytes received but not yet given back to
                                    * lwIP's window (the receive buffer is full) */
    struct ns_ep *acc_head, *acc_tail, *acc_next;   /* accept queue / its link */
    int acc_count;
    size_t snd_space;              /* lwIP's free send buffer, for ns_poll */
    int snd_nospace;               /* a writer found no room: wake it on ACKs */

    /* notify_mu */
    ns_notify_fn notify;
    void *notify_arg;
};

/* Linux's ephemeral port range (net.ipv4.ip_local_port_range). */
#define NS_PORT_FIRST 32768
#define NS_PORT_LAST 60999

/* ns_lock/ns_unlock: the lwIP core lock. Unlocking first runs the loopback packets
 * queued meanwhile, flushes delayed ACKs, then (after the lock is free) the queued
 * notifications. */
void ns_lock(void);
void ns_unlock(void);

/* ns_notify: queues events for ep's hook (core lock held). */
void ns_notify(struct ns_ep *ep, unsigned events);
/* ns_ack_soon: ep's pcb got data: send its delayed ACK when this round ends, as
 * Linux's quick-ACK mode does on loopback (core lock held). */
void ns_ack_soon(struct ns_ep *ep);

/* ns_loop_flush: runs the queued loopback packets through the stack until none is
 * left (core lock held). Returns the number processed. */
int ns_loop_flush(void);
/* A pbuf flag lwIP does not use (its own end at 0x20): the head of a packet our
 * loopback path queued. The receive check of its transport checksum is skipped
 * (chksum.c). ns_pbuf_mark_looped sets it. */
#define NS_PBUF_FLAG_LOOPED 0x80U
void ns_pbuf_mark_looped(struct pbuf *p);
/* ns_copy_chksum_skip: while on (this thread), tcp_write copies data without summing
 * it: only for a pcb whose packets go through the loopback interface alone. */
void ns_copy_chksum_skip(int skip);

/* ns_mem_cached: bytes of freed lwIP blocks mem.c keeps for reuse. */
size_t ns_mem_cached(void);

/* ns_netif_setup: adds the loopback interface (core lock held). 0 or -errno. */
int ns_netif_setup(void);
/* ns_eth_flush: sends the frames the ethernet interfaces queued (netif_eth.c; core
 * lock held, called as it is dropped). Returns how many. */
int ns_eth_flush(void);
/* ns_netif_is_loopback: whether pcbs routed via netif use loopback tuning. */
struct netif;
int ns_netif_is_loopback(const struct netif *netif);

/* ns_err: lwIP's err_t as a negative Linux errno. */
int ns_err(int lwip_err);

/* Addresses (addr.c). */
/* ns_addr_in: decodes a guest sockaddr for ep's domain into ip/port. for_bind picks
 * Linux's bind checks (AF_UNSPEC with INADDR_ANY allowed) over connect's.
 * -EINVAL, -EAFNOSUPPORT; *unspec set for an AF_UNSPEC connect. */
int ns_addr_in(const struct ns_ep *ep, const void *addr, size_t len, int for_bind,
               ip_addr_t *ip, uint16_t *port, int *unspec);
/* ns_addr_out: encodes ip/port for ep's domain (v4-mapped for AF_INET6); returns the
 * length written to buf (room for a sockaddr_in6). */
int ns_addr_out(const struct ns_ep *ep, const ip_addr_t *ip, uint16_t port, void *buf);
/* ns_addr_is_local: whether ip may be bound (any, loopback, an interface address,
 * multicast for datagrams). */
int ns_addr_is_local(const ip_addr_t *ip, int datagram);

/* ns_ep_alloc: a new endpoint with one reference and Linux's defaults. */
struct ns_ep *ns_ep_alloc(enum ns_kind kind, int domain, int protocol);
/* ns_rx_free_all: frees a receive queue. */
void ns_rx_free_all(struct ns_rx *rx);

/* Per-kind operations (tcp.c, udp.c, ping.c); the ns_* entry points dispatch. */
int ns_tcp_open(struct ns_ep *ep);
void ns_tcp_close(struct ns_ep *ep);
int ns_tcp_bind(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port);
int ns_tcp_listen(struct ns_ep *ep, int backlog);
int ns_tcp_connect(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port);
ssize_t ns_tcp_send(struct ns_ep *ep, const struct ns_data *d, int flags);
ssize_t ns_tcp_recv(struct ns_ep *ep, const struct ns_data *d, int flags);
int ns_tcp_shutdown(struct ns_ep *ep, int how);
unsigned ns_tcp_poll(struct ns_ep *ep);
void ns_tcp_apply_opts(struct ns_ep *ep);
int ns_tcp_getsockopt(struct ns_ep *ep, int name, void *val, size_t *len);
int ns_tcp_setsockopt(struct ns_ep *ep, int name, const void *val, size_t len);
int ns_tcp_outq(struct ns_ep *ep);
/* ns_tcp_name: the local (peer 0) or peer address; -ENOTCONN without a peer. */
int ns_tcp_name(struct ns_ep *ep, int peer, ip_addr_t *ip, uint16_t *port);

int ns_udp_open(struct ns_ep *ep);
void ns_udp_close(struct ns_ep *ep);
int ns_udp_bind(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port);
int ns_udp_connect(struct ns_ep *ep, const ip_addr_t *ip, uint16_t port, int unspec);
ssize_t ns_dgram_send(struct ns_ep *ep, const struct ns_data *d, const ip_addr_t *ip,
                      uint16_t port, int has_to);
ssize_t ns_dgram_recv(struct ns_ep *ep, const struct ns_data *d, int flags, void *from,
                      size_t fromcap, size_t *fromlen, int *msg_flags);
unsigned ns_dgram_poll(struct ns_ep *ep);
/* ns_dgram_local: a datagram endpoint's local address and port. */
void ns_dgram_local(struct ns_ep *ep, ip_addr_t *ip, uint16_t *port);

int ns_ping_open(struct ns_ep *ep);
void ns_ping_close(struct ns_ep *ep);
int ns_ping_bind(struct ns_ep *ep, const ip_addr_t *ip, uint16_t id);
int ns_ping_connect(struct ns_ep *ep, const ip_addr_t *ip, int unspec);
/* ns_ping_sendto: sends the echo request in p (ICMP header first) to dst, with the
 * endpoint's identifier and a fresh checksum (core lock held). */
int ns_ping_sendto(struct ns_ep *ep, struct pbuf *p, const ip_addr_t *dst);
/* ns_dgram_queue: appends a received datagram to ep (core lock held); takes p. */
void ns_dgram_queue(struct ns_ep *ep, struct pbuf *p, const ip_addr_t *addr,
                    uint16_t port);

/* The IP-level options common to every kind (sockopt.c). */
int ns_ip_getsockopt(struct ns_ep *ep, int level, int name, void *val, size_t *len);
int ns_ip_setsockopt(struct ns_ep *ep, int level, int name, const void *val, size_t len);

#endif
