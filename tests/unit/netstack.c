/* netstack: TCP, UDP and ping endpoints over the loopback interface, through the
 * endpoint API alone (no Sentry). Loopback packets are processed before each call
 * returns, so no test needs to wait except where a timer is involved. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netstack/netstack.h"

static ssize_t copy_from(void *ctx, size_t off, void *buf, size_t n)
{
    memcpy(buf, (char *)ctx + off, n);
    return (ssize_t)n;
}

static ssize_t copy_to(void *ctx, size_t off, void *buf, size_t n)
{
    memcpy((char *)ctx + off, buf, n);
    return (ssize_t)n;
}

static ssize_t send_buf(struct ns_ep *ep, const void *buf, size_t n)
{
    struct ns_data d = { .size = n, .copy = copy_from, .ctx = (void *)buf };
    return ns_send(ep, &d, 0, NULL, 0);
}

static ssize_t recv_buf(struct ns_ep *ep, void *buf, size_t n, int flags)
{
    struct ns_data d = { .size = n, .copy = copy_to, .ctx = buf };
    int mf = 0;
    return ns_recv(ep, &d, flags, NULL, 0, NULL, &mf);
}

static struct sockaddr_in sin4(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int port_of(struct ns_ep *ep)
{
    struct sockaddr_in6 a;
    cr_assert_gt(ns_getname(ep, &a, 0), 0);
    return ntohs(a.sin6_port);
}

/* A connected pair: listener l, client c, server end s. */
static void tcp_pair(int domain, struct ns_ep **l, struct ns_ep **c, struct ns_ep **s)
{
    cr_assert_eq(ns_socket(domain, SOCK_STREAM, 0, l), 0);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
    struct sockaddr_in a4 = sin4("127.0.0.1", 0);
    const void *a = domain == AF_INET ? (const void *)&a4 : (const void *)&a6;
    size_t alen = domain == AF_INET ? sizeof(a4) : sizeof(a6);
    cr_assert_eq(ns_bind(*l, a, alen), 0);
    cr_assert_eq(ns_listen(*l, 16), 0);
    int port = port_of(*l);
    cr_assert(port >= 32768 && port <= 60999, "ephemeral port %d", port);
    a4.sin_port = htons((uint16_t)port);
    a6.sin6_port = htons((uint16_t)port);
    cr_assert_eq(ns_socket(domain, SOCK_STREAM, 0, c), 0);
    cr_assert_eq(ns_connect(*c, a, alen), -EINPROGRESS);
    cr_assert_eq(ns_connect_result(*c), 0);
    cr_assert_eq(ns_accept(*l, s), 0);
}

Test(netstack, tcp_connect_send_recv_close)
{
    struct ns_ep *l, *c, *s;
    tcp_pair(AF_INET, &l, &c, &s);
    cr_assert(ns_poll(c) & POLLOUT);
    cr_assert_eq(send_buf(c, "hello", 5), 5);
    cr_assert(ns_poll(s) & POLLIN);
    char buf[16] = { 0 };
    cr_assert_eq(recv_buf(s, buf, 2, MSG_PEEK), 2);
    cr_assert_eq(recv_buf(s, buf, sizeof(buf), 0), 5);
    cr_assert_str_eq(buf, "hello");
    cr_assert_eq(recv_buf(s, buf, sizeof(buf), 0), -EAGAIN);
    /* half-close: the server sees EOF, can still answer */
    cr_assert_eq(ns_shutdown(c, SHUT_WR), 0);
    cr_assert_eq(recv_buf(s, buf, sizeof(buf), 0), 0);
    cr_assert(ns_poll(s) & POLLRDHUP);
    cr_assert_eq(send_buf(s, "bye", 3), 3);
    cr_assert_eq(recv_buf(c, buf, sizeof(buf), 0), 3);
    cr_assert_eq(send_buf(c, "x", 1), -EPIPE);
    ns_close(s);
    cr_assert_eq(recv_buf(c, buf, sizeof(buf), 0), 0);
    ns_close(c);
    ns_close(l);
}

static void bulk(int domain)
{
    struct ns_ep *l, *c, *s;
    tcp_pair(domain, &l, &c, &s);
    size_t total = 4 << 20;
    char *src = malloc(total), *dst = malloc(total);
    for (size_t i = 0; i < total; i++)
        src[i] = (char)(i * 31 + (i >> 12));
    size_t sent = 0, got = 0;
    int full = 0;
    while (got < total) {
        while (sent < total) {
            ssize_t n = send_buf(c, src + sent, total - sent);
            if (n == -EAGAIN) {
                full = 1;
                cr_assert(!(ns_poll(c) & POLLOUT));
                break;
            }
            cr_assert_gt(n, 0);
            sent += (size_t)n;
        }
        ssize_t n = recv_buf(s, dst + got, total - got, 0);
        cr_assert_gt(n, 0, "recv %zd at %zu", n, got);
        got += (size_t)n;
    }
    cr_assert(full, "the sender never saw a full buffer");
    cr_assert_eq(memcmp(src, dst, total), 0);
    free(src);
    free(dst);
    ns_close(c);
    ns_close(s);
    ns_close(l);
}

Test(netstack, tcp_bulk_and_backpressure_v4)
{
    bulk(AF_INET);
}

Test(netstack, tcp_bulk_and_backpressure_v6)
{
    bulk(AF_INET6);
}

Test(netstack, tcp_refused_and_reset)
{
    struct ns_ep *c;
    cr_assert_eq(ns_socket(AF_INET, SOCK_STREAM, 0, &c), 0);
    struct sockaddr_in a = sin4("127.0.0.1", 1);
    cr_assert_eq(ns_connect(c, &a, sizeof(a)), -EINPROGRESS);
    cr_assert(ns_poll(c) & POLLERR);
    cr_assert_eq(ns_connect_result(c), -ECONNREFUSED);
    ns_close(c);

    /* unread data at close: the peer gets a reset */
    struct ns_ep *l, *s;
    tcp_pair(AF_INET, &l, &c, &s);
    cr_assert_eq(send_buf(c, "data", 4), 4);
    ns_close(s);
    char buf[8];
    cr_assert_eq(recv_buf(c, buf, sizeof(buf), 0), -ECONNRESET);
    cr_assert_eq(send_buf(c, "x", 1), -EPIPE);
    ns_close(c);
    ns_close(l);
}

Test(netstack, tcp_addrinuse_and_dual_stack)
{
    struct ns_ep *a, *b;
    cr_assert_eq(ns_socket(AF_INET6, SOCK_STREAM, 0, &a), 0);
    struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
    cr_assert_eq(ns_bind(a, &any, sizeof(any)), 0);
    cr_assert_eq(ns_listen(a, 4), 0);
    int port = port_of(a);
    cr_assert_eq(ns_socket(AF_INET, SOCK_STREAM, 0, &b), 0);
    struct sockaddr_in a4 = sin4("127.0.0.1", port);
    cr_assert_eq(ns_bind(b, &a4, sizeof(a4)), -EADDRINUSE);
    /* an IPv4 client reaches the :: listener; the server sees ::ffff:127.0.0.1 */
    cr_assert_eq(ns_connect(b, &a4, sizeof(a4)), -EINPROGRESS);
    cr_assert_eq(ns_connect_result(b), 0);
    struct ns_ep *s;
    cr_assert_eq(ns_accept(a, &s), 0);
    struct sockaddr_in6 peer;
    cr_assert_eq(ns_getname(s, &peer, 1), (int)sizeof(peer));
    cr_assert(IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr));
    ns_close(s);
    ns_close(b);
    ns_close(a);
}

Test(netstack, udp_send_recv_truncate)
{
    struct ns_ep *a, *b;
    cr_assert_eq(ns_socket(AF_INET, SOCK_DGRAM, 0, &a), 0);
    cr_assert_eq(ns_socket(AF_INET, SOCK_DGRAM, 0, &b), 0);
    struct sockaddr_in addr = sin4("127.0.0.1", 0);
    cr_assert_eq(ns_bind(a, &addr, sizeof(addr)), 0);
    addr.sin_port = htons((uint16_t)port_of(a));
    struct ns_data d = { .size = 10, .copy = copy_from, .ctx = "0123456789" };
    cr_assert_eq(ns_send(b, &d, 0, &addr, sizeof(addr)), 10);
    cr_assert(ns_poll(a) & POLLIN);
    char buf[16] = { 0 };
    struct ns_data r = { .size = 4, .copy = copy_to, .ctx = buf };
    struct sockaddr_in from;
    size_t fromlen = 0;
    int mf = 0;
    cr_assert_eq(ns_recv(a, &r, 0, &from, sizeof(from), &fromlen, &mf), 4);
    cr_assert(mf & MSG_TRUNC);
    cr_assert_eq(fromlen, sizeof(from));
    cr_assert_eq(ntohs(from.sin_port), port_of(b));
    cr_assert_eq(ns_recv(a, &r, 0, NULL, 0, NULL, &mf), -EAGAIN);
    ns_close(a);
    ns_close(b);
}

Test(netstack, ping_loopback)
{
    struct ns_ep *p;
    cr_assert_eq(ns_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP, &p), 0);
    unsigned char echo[16] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g' };
    struct sockaddr_in to = sin4("127.0.0.1", 0);
    struct ns_data d = { .size = sizeof(echo), .copy = copy_from, .ctx = echo };
    cr_assert_eq(ns_send(p, &d, 0, &to, sizeof(to)), (ssize_t)sizeof(echo));
    unsigned char reply[64];
    struct ns_data r = { .size = sizeof(reply), .copy = copy_to, .ctx = reply };
    int mf = 0;
    cr_assert_eq(ns_recv(p, &r, 0, NULL, 0, NULL, &mf), (ssize_t)sizeof(echo));
    cr_assert_eq(reply[0], 0);
    cr_assert_eq(memcmp(reply + 8, "ping", 4), 0);
    ns_close(p);
}
