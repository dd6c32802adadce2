/* UDP over loopback, IPv4 and IPv6: sendto/recvfrom with source addresses,
 * truncation (MSG_TRUNC both ways), MSG_PEEK, connect and AF_UNSPEC disconnect,
 * EDESTADDRREQ, EMSGSIZE, sendmmsg/recvmmsg, EADDRINUSE and SO_REUSEADDR, poll,
 * the timeout of a blocking recv. */
#include "guest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

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

static void run(int fam)
{
    printf("== udp %s\n", fam == AF_INET ? "v4" : "v6");
    struct sockaddr_storage a, from;
    int r = socket(fam, SOCK_DGRAM, 0), s = socket(fam, SOCK_DGRAM, 0);
    socklen_t len = addr_of(fam, 0, &a);
    CHECK(bind(r, (struct sockaddr *)&a, len) == 0);
    int rport = port_of(r);
    len = addr_of(fam, rport, &a);
    struct pollfd p = { .fd = r, .events = POLLIN | POLLOUT };
    poll(&p, 1, 0);
    printf("poll idle: in %d out %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
    SHOW("send unconnected", send(s, "x", 1, 0));
    SHOW("sendto", sendto(s, "0123456789", 10, 0, (struct sockaddr *)&a, len));
    SHOW("sendto 2", sendto(s, "abc", 3, 0, (struct sockaddr *)&a, len));
    poll(&p, 1, 0);
    printf("poll: in %d\n", !!(p.revents & POLLIN));
    int n;
    CHECK(ioctl(r, FIONREAD, &n) == 0);
    printf("FIONREAD %d\n", n);
    char buf[64] = { 0 };
    socklen_t fl = sizeof(from);
    SHOW("peek", recvfrom(r, buf, 4, MSG_PEEK, (struct sockaddr *)&from, &fl));
    printf("from port is sender's: %d, len %d\n",
           ntohs(((struct sockaddr_in *)&from)->sin_port) == port_of(s), (int)fl);
    struct iovec iov = { buf, 4 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    SHOW("recvmsg truncated", recvmsg(r, &mh, 0));
    printf("MSG_TRUNC %d data %.4s\n", !!(mh.msg_flags & MSG_TRUNC), buf);
    SHOW("recv MSG_TRUNC", recv(r, buf, 1, MSG_TRUNC));
    SHOW("recv empty", recv(r, buf, sizeof(buf), MSG_DONTWAIT));

    /* connect, then send without an address; AF_UNSPEC dissolves it */
    CHECK(connect(s, (struct sockaddr *)&a, len) == 0);
    struct sockaddr_storage peer;
    socklen_t pl = sizeof(peer);
    SHOW("getpeername", getpeername(s, (struct sockaddr *)&peer, &pl));
    SHOW("send connected", send(s, "hi", 2, 0));
    SHOW("recv", recv(r, buf, sizeof(buf), 0));
    struct sockaddr un = { .sa_family = AF_UNSPEC };
    SHOW("disconnect", connect(s, &un, sizeof(un)));
    pl = sizeof(peer);
    SHOW("getpeername after", getpeername(s, (struct sockaddr *)&peer, &pl));
    SHOW("send after", send(s, "x", 1, 0));

    /* sizes */
    static char big[70000];
    /* the IPv4 maximum (IPv6's 65527 is beyond the sandbox's 64 KiB packets) */
    size_t most = fam == AF_INET ? 65507 : 65000;
    SHOW("sendto the most", sendto(s, big, most, 0, (struct sockaddr *)&a, len));
    SHOW("recv big", recv(r, big, sizeof(big), 0));
    SHOW("sendto too big", sendto(s, big, fam == AF_INET ? 65508 : 65528, 0, (struct sockaddr *)&a, len));
    SHOW("sendto empty", sendto(s, big, 0, 0, (struct sockaddr *)&a, len));
    SHOW("recv empty datagram", recv(r, buf, sizeof(buf), 0));

    /* sendmmsg / recvmmsg */
    struct mmsghdr mm[3];
    struct iovec iv[3];
    char bufs[3][8];
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = bufs[i];
        iv[i].iov_len = 3;
        snprintf(bufs[i], 8, "m%d", i);
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &a;
        mm[i].msg_hdr.msg_namelen = len;
    }
    SHOW("sendmmsg", sendmmsg(s, mm, 3, 0));
    memset(bufs, 0, sizeof(bufs));
    for (int i = 0; i < 3; i++) {
        iv[i].iov_len = 8;
        mm[i].msg_hdr.msg_name = NULL;
        mm[i].msg_hdr.msg_namelen = 0;
    }
    SHOW("recvmmsg", recvmmsg(r, mm, 3, MSG_DONTWAIT, NULL));
    printf("got %s %s %s lens %u %u %u\n", bufs[0], bufs[1], bufs[2], mm[0].msg_len,
           mm[1].msg_len, mm[2].msg_len);

    /* EADDRINUSE, then SO_REUSEADDR on both */
    int x = socket(fam, SOCK_DGRAM, 0);
    SHOW("bind taken", bind(x, (struct sockaddr *)&a, len));
    close(x);
    int on = 1;
    int y = socket(fam, SOCK_DGRAM, 0), z = socket(fam, SOCK_DGRAM, 0);
    setsockopt(y, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(z, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    socklen_t l2 = addr_of(fam, 0, &from);
    CHECK(bind(y, (struct sockaddr *)&from, l2) == 0);
    l2 = addr_of(fam, port_of(y), &from);
    SHOW("bind reuseaddr", bind(z, (struct sockaddr *)&from, l2));
    close(y);
    close(z);

    /* a blocking recv times out */
    struct timeval tv = { 0, 50000 };
    setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SHOW("recv timeout", recv(r, buf, sizeof(buf), 0));
    SHOW("sendto unreachable", sendto(s, "x", 1, 0, (struct sockaddr *)&a, 3));
    close(r);
    close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    run(AF_INET);
    run(AF_INET6);
    /* an unreachable network with only loopback: in the sandbox (network none) and
     * natively in any namespace without a route there */
    return 0;
}
