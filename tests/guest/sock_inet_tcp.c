/* TCP over loopback, IPv4 and IPv6: bind/listen/accept4/connect, names, EADDRINUSE,
 * ECONNREFUSED, non-blocking connect with SO_ERROR, half-close, SO_LINGER reset,
 * unread data at close, poll bits, epoll level vs edge, MSG_PEEK/MSG_WAITALL,
 * socket options, a dual-stack :: listener with an IPv4 client. */
#include "guest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define R(x) do { int r_ = (x); printf("%-44s %s\n", #x, r_ < 0 ? errno_name(errno) : "ok"); } while (0)

/* prints "what: result errno" with errno read after the call */
#define SHOW(what, call) do { long r_ = (long)(call); \
        printf("%s: %ld %s\n", what, r_, r_ < 0 ? errno_name(errno) : "-"); } while (0)

static socklen_t addr_of(int fam, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof(*a);
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((unsigned short)port);
    a->sin6_addr = in6addr_loopback;
    return sizeof(*a);
}

static int port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static const char *pollbits(short r)
{
    static char buf[128];
    buf[0] = 0;
    if (r & POLLIN) strcat(buf, "IN ");
    if (r & POLLOUT) strcat(buf, "OUT ");
    if (r & POLLERR) strcat(buf, "ERR ");
    if (r & POLLHUP) strcat(buf, "HUP ");
    if (r & POLLRDHUP) strcat(buf, "RDHUP ");
    return buf;
}

static short pollfd1(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    CHECK(poll(&p, 1, 0) >= 0);
    return p.revents;
}

/* listener on loopback, connected client c and server end s */
static int pair(int fam, int *c, int *s)
{
    struct sockaddr_storage ss;
    int l = socket(fam, SOCK_STREAM, 0);
    CHECK(l >= 0);
    socklen_t len = addr_of(fam, 0, &ss);
    CHECK(bind(l, (struct sockaddr *)&ss, len) == 0);
    CHECK(listen(l, 8) == 0);
    len = addr_of(fam, port_of(l), &ss);
    *c = socket(fam, SOCK_STREAM, 0);
    CHECK(connect(*c, (struct sockaddr *)&ss, len) == 0);
    *s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    CHECK(*s >= 0);
    return l;
}

static void basics(int fam)
{
    printf("== basics %s\n", fam == AF_INET ? "v4" : "v6");
    int c, s, l = pair(fam, &c, &s);
    struct sockaddr_storage a, b;
    socklen_t al = sizeof(a), bl = sizeof(b);
    CHECK(getpeername(c, (struct sockaddr *)&a, &al) == 0);
    CHECK(getsockname(s, (struct sockaddr *)&b, &bl) == 0);
    printf("peer of client is server's name: %d\n", al == bl && memcmp(&a, &b, al) == 0);
    al = sizeof(a);
    CHECK(getsockname(c, (struct sockaddr *)&a, &al) == 0);
    int p = ntohs(((struct sockaddr_in *)&a)->sin_port);
    printf("client port ephemeral: %d\n", p >= 32768 && p <= 60999);
    al = sizeof(a);
    R(getpeername(l, (struct sockaddr *)&a, &al));

    /* EADDRINUSE on the listener's port */
    int x = socket(fam, SOCK_STREAM, 0);
    socklen_t len = addr_of(fam, port_of(l), &a);
    R(bind(x, (struct sockaddr *)&a, len));
    R(bind(x, (struct sockaddr *)&a, 3));
    close(x);

    /* data both ways, peek, waitall */
    char buf[64] = { 0 };
    CHECK(write(c, "hello world", 11) == 11);
    printf("peek %zd\n", recv(s, buf, 5, MSG_PEEK));
    int n;
    CHECK(ioctl(s, FIONREAD, &n) == 0);
    printf("FIONREAD %d\n", n);
    printf("waitall %zd %.11s\n", recv(s, buf, 11, MSG_WAITALL), buf);
    printf("poll server idle: %s\n", pollbits(pollfd1(s)));
    SHOW("nonblock recv", recv(s, buf, 1, MSG_DONTWAIT));

    /* half-close */
    R(shutdown(c, SHUT_WR));
    printf("server read after FIN: %zd\n", read(s, buf, sizeof(buf)));
    printf("poll server after FIN: %s\n", pollbits(pollfd1(s)));
    CHECK(write(s, "reply", 5) == 5);
    printf("client reads reply: %zd\n", read(c, buf, sizeof(buf)));
    signal(SIGPIPE, SIG_IGN);
    SHOW("client write after SHUT_WR", write(c, "x", 1));
    close(s);
    printf("client read at end: %zd\n", read(c, buf, sizeof(buf)));
    close(c);
    close(l);
}

static void resets(int fam)
{
    printf("== resets %s\n", fam == AF_INET ? "v4" : "v6");
    char buf[16];
    /* SO_LINGER 0: close sends RST */
    int c, s, l = pair(fam, &c, &s);
    struct linger lg = { 1, 0 };
    R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
    close(s);
    printf("poll after RST: %s\n", pollbits(pollfd1(c)));
    SHOW("read after RST", read(c, buf, sizeof(buf)));
    SHOW("read again", read(c, buf, sizeof(buf)));
    SHOW("write after RST", write(c, "x", 1));
    SHOW("write again", write(c, "x", 1));
    close(c);
    /* unread data at close: RST too */
    close(l);
    l = pair(fam, &c, &s);
    CHECK(write(c, "data", 4) == 4);
    close(s);
    printf("poll after unread-data close: %s\n", pollbits(pollfd1(c)));
    SHOW("write after peer's close with unread data", write(c, "x", 1));
    SHOW("write again", write(c, "x", 1));
    close(c);
    close(l);
}

static void connect_nonblock(int fam)
{
    printf("== non-blocking connect %s\n", fam == AF_INET ? "v4" : "v6");
    struct sockaddr_storage a;
    int l = socket(fam, SOCK_STREAM, 0);
    socklen_t len = addr_of(fam, 0, &a);
    CHECK(bind(l, (struct sockaddr *)&a, len) == 0);
    int port = port_of(l);
    /* bound but not listening: refused */
    int c = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    len = addr_of(fam, port, &a);
    R(connect(c, (struct sockaddr *)&a, len));
    struct pollfd p = { .fd = c, .events = POLLOUT };
    CHECK(poll(&p, 1, 5000) == 1);
    printf("refused poll: %s\n", pollbits(p.revents));
    int err = 0;
    socklen_t el = sizeof(err);
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0);
    printf("SO_ERROR %s\n", errno_name(err));
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0);
    printf("SO_ERROR again %s\n", errno_name(err));
    close(c);
    /* blocking refused */
    c = socket(fam, SOCK_STREAM, 0);
    R(connect(c, (struct sockaddr *)&a, len));
    close(c);
    /* listening: completes */
    CHECK(listen(l, 4) == 0);
    c = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    R(connect(c, (struct sockaddr *)&a, len));
    CHECK(poll(&p, 1, 5000) == 1);
    p.fd = c;
    CHECK(poll(&p, 1, 5000) == 1);
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0);
    printf("SO_ERROR %s\n", errno_name(err));
    R(connect(c, (struct sockaddr *)&a, len));
    int s = accept(l, NULL, NULL);
    printf("accepted %d\n", s >= 0);
    int fl = fcntl(s, F_GETFL);
    printf("accepted nonblock: %d\n", (fl & O_NONBLOCK) != 0);
    R(connect(c, (struct sockaddr *)&a, len));
    fcntl(l, F_SETFL, O_NONBLOCK);
    SHOW("accept on empty nonblock listener", accept(l, NULL, NULL));
    close(s);
    close(c);
    close(l);
}

static void epoll_modes(void)
{
    printf("== epoll\n");
    int c, s, l = pair(AF_INET, &c, &s);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 1 };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
    struct epoll_event ev2 = { .events = EPOLLIN, .data.u32 = 2 };
    int s2 = dup(s);
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s2, &ev2) == 0);
    struct epoll_event out[4];
    printf("idle: %d\n", epoll_wait(ep, out, 4, 0));
    CHECK(write(c, "ab", 2) == 2);
    int n = epoll_wait(ep, out, 4, 1000);
    printf("after write: %d\n", n);
    n = epoll_wait(ep, out, 4, 0);
    printf("again (edge gone, level stays): %d data %u\n", n, n == 1 ? out[0].data.u32 : 0);
    CHECK(write(c, "c", 1) == 1);
    n = epoll_wait(ep, out, 4, 0);
    printf("new data: %d\n", n);
    char buf[8];
    CHECK(read(s, buf, sizeof(buf)) == 3);
    printf("drained: %d\n", epoll_wait(ep, out, 4, 0));
    close(ep);
    close(s2);
    close(s);
    close(c);
    close(l);
}

static void options(void)
{
    printf("== options\n");
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int v = 1;
    socklen_t vl = sizeof(v);
#define GET(level, name) do { v = -1; vl = sizeof(v); \
        int r_ = getsockopt(fd, level, name, &v, &vl); \
        printf("%-24s %s %d\n", #name, r_ < 0 ? errno_name(errno) : "ok", v); } while (0)
    GET(SOL_SOCKET, SO_TYPE);
    GET(SOL_SOCKET, SO_DOMAIN);
    GET(SOL_SOCKET, SO_PROTOCOL);
    GET(SOL_SOCKET, SO_ACCEPTCONN);
    GET(SOL_SOCKET, SO_RCVBUF);
    GET(SOL_SOCKET, SO_SNDBUF);
    GET(IPPROTO_TCP, TCP_NODELAY);
    GET(IPPROTO_TCP, TCP_KEEPIDLE);
    GET(IPPROTO_TCP, TCP_KEEPINTVL);
    GET(IPPROTO_TCP, TCP_KEEPCNT);
    GET(IPPROTO_IPV6, IPV6_V6ONLY);
    GET(IPPROTO_IP, IP_TTL);
    v = 1;
    R(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
    v = 30;
    R(setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)));
    v = 0;
    R(setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)));
    v = 1;
    R(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
    R(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
    R(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, sizeof(v)));
    R(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)));
    v = 77;
    R(setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
    v = 0x10;
    R(setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v)));
    R(setsockopt(fd, IPPROTO_TCP, 9999, &v, sizeof(v)));
    GET(IPPROTO_TCP, TCP_NODELAY);
    GET(IPPROTO_TCP, TCP_KEEPIDLE);
    GET(SOL_SOCKET, SO_KEEPALIVE);
    GET(IPPROTO_IPV6, IPV6_V6ONLY);
    GET(IPPROTO_IP, IP_TTL);
    GET(IPPROTO_IP, IP_TOS);
    struct tcp_info ti;
    vl = sizeof(ti);
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &vl) == 0);
    printf("TCP_INFO state %d\n", ti.tcpi_state);
    struct timeval tv = { 0, 100000 };
    R(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    close(fd);

    /* IPV6_V6ONLY listener refuses IPv4 clients; without it they come in mapped */
    for (int only = 0; only < 2; only++) {
        int l = socket(AF_INET6, SOCK_STREAM, 0);
        CHECK(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only)) == 0);
        struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
        CHECK(bind(l, (struct sockaddr *)&any, sizeof(any)) == 0);
        CHECK(listen(l, 4) == 0);
        struct sockaddr_storage a;
        socklen_t len = addr_of(AF_INET, port_of(l), &a);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        printf("v6only=%d ", only);
        R(connect(c, (struct sockaddr *)&a, len));
        if (!only) {
            struct sockaddr_in6 peer;
            socklen_t pl = sizeof(peer);
            int s = accept(l, (struct sockaddr *)&peer, &pl);
            char txt[64];
            inet_ntop(AF_INET6, &peer.sin6_addr, txt, sizeof(txt));
            printf("accepted from %s len %d\n", txt, (int)pl);
            /* the timeout on a blocking read */
            struct timeval t2 = { 0, 50000 };
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t2, sizeof(t2));
            char b;
            SHOW("timed-out read", read(s, &b, 1));
            close(s);
        }
        close(c);
        close(l);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    basics(AF_INET);
    basics(AF_INET6);
    resets(AF_INET);
    resets(AF_INET6);
    connect_nonblock(AF_INET);
    connect_nonblock(AF_INET6);
    epoll_modes();
    options();
    return 0;
}
