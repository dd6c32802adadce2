/* netstack: the Sentry's TCP/IP, lwIP (Debian's liblwip) behind an endpoint API.
 *
 * An endpoint (struct ns_ep) is one TCP, UDP or ping (ICMP echo) socket's state in
 * the stack. Its calls never sleep: a call that would block returns -EAGAIN and the
 * caller waits for the endpoint's notify hook (which reports POLL* events that may
 * have changed) and retries; ns_poll says what the endpoint is ready for. So the
 * Sentry keeps its own wait queues, signals and timeouts, and the stack knows
 * nothing of tasks.
 *
 * Threads: every lwIP call runs under lwIP's core lock, on the calling thread (no
 * message to lwIP's tcpip thread, which only runs lwIP's timers). Loopback packets
 * are processed inline before the lock is dropped, so a send on 127.0.0.1 has
 * reached the peer's receive queue when ns_send returns. Notify hooks run after the
 * core lock is dropped, from whichever thread changed the state (a task's, or the
 * timer thread's), with no netstack lock held.
 *
 * Addresses are Linux's struct sockaddr_in / sockaddr_in6 as bytes plus a length,
 * checked here as Linux's inet_bind/inet_stream_connect/... check them (EINVAL,
 * EAFNOSUPPORT). An AF_INET6 endpoint is dual-stack unless IPV6_V6ONLY: IPv4 peers
 * appear as ::ffff:a.b.c.d. Errors are -errno as Linux gives them. */
#ifndef NETSTACK_NETSTACK_H
#define NETSTACK_NETSTACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ns_ep;

/* The caller's data for a send or receive (guest memory, say): copy moves n bytes
 * between buf and the caller's data at offset off (ns_send: from the data into buf;
 * ns_recv: from buf into the data). It returns the bytes moved (short on a fault) or
 * -EFAULT when none moved. */
typedef ssize_t (*ns_copy_fn)(void *ctx, size_t off, void *buf, size_t n);
/* Optional, for TCP sends: host windows onto the caller's data, which the stack then
 * reads in place instead of copying it into a bounce buffer first. map covers up to n
 * bytes from offset off with at most NS_MAP_MAX iovecs (*niov set to how many) and
 * returns the bytes covered (short at a fault, when out of iovecs, or at the end of
 * one of the caller's pieces), 0 to decline (the stack then uses copy for this part:
 * small pieces are cheaper gathered by a copy), or -EFAULT. The windows stay valid
 * until unmap, which comes before the next map. */
#define NS_MAP_MAX 64
struct iovec;
typedef ssize_t (*ns_map_fn)(void *ctx, size_t off, size_t n, struct iovec *iov,
                             int *niov);
typedef void (*ns_unmap_fn)(void *ctx);
struct ns_data {
    size_t size;                   /* bytes to send / room to receive into */
    ns_copy_fn copy;
    void *ctx;
    ns_map_fn map;                 /* NULL: copy only */
    ns_unmap_fn unmap;
};

/* Readiness changes: called with the POLL* events that may have changed. */
typedef void (*ns_notify_fn)(void *arg, unsigned events);

/* ns_init: starts the stack (its timer thread and the loopback interface with
 * 127.0.0.1/8 and ::1) once; later calls return at once. 0 or -errno. */
int ns_init(void);

/* ns_socket: a new endpoint for socket(domain, type, protocol): domain AF_INET or
 * AF_INET6; type SOCK_STREAM (protocol 0 or IPPROTO_TCP), SOCK_DGRAM (0 or
 * IPPROTO_UDP; IPPROTO_ICMP/IPPROTO_ICMPV6 for a ping socket). One reference in
 * *out. -EPROTONOSUPPORT, -ESOCKTNOSUPPORT or -ENOMEM. */
int ns_socket(int domain, int type, int protocol, struct ns_ep **out);

/* ns_set_notify: the hook called when the endpoint's readiness may have changed.
 * Set it before the endpoint is used (accepted endpoints start without one: events
 * before it is set are seen by ns_poll). */
void ns_set_notify(struct ns_ep *ep, ns_notify_fn fn, void *arg);

/* ns_ep_get/ns_ep_put: references; the last put frees the endpoint (after ns_close). */
void ns_ep_get(struct ns_ep *ep);
void ns_ep_put(struct ns_ep *ep);

/* ns_close: the socket's last file reference is gone: a TCP connection closes
 * (FIN; RST if unread data is left or SO_LINGER is on with time 0), a listener resets
 * its unaccepted connections. The hook is never called after this returns. Drops
 * the caller's reference. */
void ns_close(struct ns_ep *ep);

/* ns_bind: bind(2). Port 0 picks an ephemeral port in Linux's range 32768-60999.
 * -EINVAL (already bound, short address), -EAFNOSUPPORT, -EADDRINUSE,
 * -EADDRNOTAVAIL (not a local address). */
int ns_bind(struct ns_ep *ep, const void *addr, size_t len);

/* ns_listen: listen(2) on a TCP endpoint (binds an ephemeral port if unbound).
 * backlog bounds the unaccepted connections. -EINVAL if connected. */
int ns_listen(struct ns_ep *ep, int backlog);

/* ns_accept: the oldest established connection as a new endpoint (one reference),
 * or -EAGAIN; -EINVAL if not listening. */
int ns_accept(struct ns_ep *ep, struct ns_ep **out);

/* ns_connect: connect(2). TCP: starts the handshake and returns -EINPROGRESS (wait
 * for POLLOUT, then ns_connect_result), -EALREADY while one is in progress, -EISCONN.
 * UDP/ping: sets the default peer (AF_UNSPEC dissolves it) and returns 0. */
int ns_connect(struct ns_ep *ep, const void *addr, size_t len);

/* ns_connect_result: after ns_connect's -EINPROGRESS: 0 once connected,
 * -EINPROGRESS still connecting, or the failure (-ECONNREFUSED, -ETIMEDOUT...),
 * which this consumes as reading SO_ERROR does. */
int ns_connect_result(struct ns_ep *ep);

/* ns_poll: POLLIN POLLOUT POLLERR POLLHUP POLLRDHUP and the NORM twins, as Linux's
 * tcp_poll / datagram_poll compute them. */
unsigned ns_poll(struct ns_ep *ep);

/* ns_send: sends up to d->size bytes (MSG_* flags: MSG_MORE; the caller handles
 * MSG_DONTWAIT/MSG_NOSIGNAL). to/tolen: a destination for UDP and ping (NULL: the
 * connected peer). Returns bytes queued (a TCP send may be partial), -EAGAIN when no
 * room, -EPIPE (TCP after shutdown or close; the caller raises SIGPIPE),
 * -ENOTCONN, -EDESTADDRREQ, -EMSGSIZE, -ECONNRESET, -EFAULT. */
ssize_t ns_send(struct ns_ep *ep, const struct ns_data *d, int flags, const void *to,
                size_t tolen);

/* ns_recv: receives into d (MSG_PEEK, MSG_TRUNC). Returns bytes received; 0 at end of
 * stream; -EAGAIN when nothing is queued; a pending error (-ECONNRESET ...), consumed.
 * A datagram larger than d->size is cut and *msg_flags gets MSG_TRUNC (with MSG_TRUNC
 * in flags the full length is returned). from (room fromcap bytes, may be NULL):
 * the source address, its full length in *fromlen (0 for TCP). */
ssize_t ns_recv(struct ns_ep *ep, const struct ns_data *d, int flags, void *from,
                size_t fromcap, size_t *fromlen, int *msg_flags);

/* ns_shutdown: how is SHUT_RD, SHUT_WR or SHUT_RDWR. -ENOTCONN if not connected. */
int ns_shutdown(struct ns_ep *ep, int how);

/* ns_getname: the local (peer 0) or peer address into buf (room for a
 * sockaddr_in6); returns its length, or -ENOTCONN for a missing peer. */
int ns_getname(struct ns_ep *ep, void *buf, int peer);

/* Options Linux keeps in the socket that the stack must know: the caller's generic
 * SOL_SOCKET values are passed down with these. */
struct ns_sockopts {
    int reuseaddr, reuseport, keepalive, broadcast;
    int linger_onoff, linger_secs;
    int rcvbuf, sndbuf;            /* as Linux reports them (doubled) */
};
/* ns_set_sockopts: copies the SOL_SOCKET values that matter (call after each change
 * and before bind/connect/listen). */
void ns_set_sockopts(struct ns_ep *ep, const struct ns_sockopts *o);

/* ns_getsockopt/ns_setsockopt: levels IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP,
 * IPPROTO_UDP (TCP_NODELAY, TCP_KEEPIDLE/INTVL/CNT, TCP_INFO, TCP_MAXSEG, IP_TTL,
 * IP_TOS, IP_MULTICAST_*, IP_ADD/DROP_MEMBERSHIP, IPV6_V6ONLY, IPV6_UNICAST_HOPS,
 * IPV6_MULTICAST_*, IPV6_TCLASS ...). getsockopt: room *len bytes in val, sets *len.
 * -ENOPROTOOPT for an unknown option, -EINVAL for a bad value. */
int ns_getsockopt(struct ns_ep *ep, int level, int name, void *val, size_t *len);
int ns_setsockopt(struct ns_ep *ep, int level, int name, const void *val, size_t len);

/* ns_pending_error: takes the pending asynchronous error (SO_ERROR): a positive
 * errno or 0. */
int ns_pending_error(struct ns_ep *ep);

/* ns_inq/ns_outq: bytes queued to read (FIONREAD; UDP: the next datagram's size)
 * and bytes sent but not yet acknowledged (SIOCOUTQ). */
int ns_inq(struct ns_ep *ep);
int ns_outq(struct ns_ep *ep);

/* --network=sandbox: ethernet interfaces on host packet sockets (netif_eth.c). */

/* How a device's frames reach the host (netdev.h). */
enum ns_netdev_io {
    NS_NETDEV_URING,               /* io_uring (the default: see bench/README.md) */
    NS_NETDEV_PLAIN,               /* recvmmsg/sendmmsg */
};

#define NS_ETH_MAX 8               /* interfaces */
#define NS_ETH_IP6_MAX 6           /* IPv6 addresses per interface (lwIP's
                                    * LWIP_IPV6_NUM_ADDRESSES in Debian's build) */

/* One interface as the namespace had it, reduced to what lwIP can hold. */
struct ns_eth_config {
    int fd;                        /* AF_PACKET SOCK_RAW socket bound to the link,
                                    * with PACKET_VNET_HDR; the netstack owns it */
    enum ns_netdev_io io;
    uint8_t mac[6];
    unsigned mtu;
    int has_ip4;
    uint8_t ip4[4], prefix4;
    int has_gw4;
    uint8_t gw4[4];                /* in the address's subnet */
    int nip6;
    uint8_t ip6[NS_ETH_IP6_MAX][16];   /* link-local ones included */
    int has_gw6;
    uint8_t gw6[16];               /* link-local as a rule */
    int is_default;                /* lwIP's default interface (default routes) */
};

/* ns_eth_add: starts the stack if needed and adds the interface, up, with its
 * receive thread running. Called at boot before confinement. 0 or -errno (the fd is
 * closed then). */
int ns_eth_add(const struct ns_eth_config *c);

/* ns_eth_host_fds: the host fds the interfaces use after boot, for the seccomp
 * allowlist: packet sockets (recvmmsg/sendmmsg) into socks, io_uring fds
 * (io_uring_enter) into rings, each up to max. Sets *nsocks and *nrings. */
void ns_eth_host_fds(int *socks, int *nsocks, int *rings, int *nrings, int max);

#endif
