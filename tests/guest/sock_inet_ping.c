/* Ping sockets (SOCK_DGRAM, IPPROTO_ICMP / IPPROTO_ICMPV6) to the loopback: the echo
 * reply comes back with the socket's identifier and the payload. Skipped natively
 * where net.ipv4.ping_group_range leaves them out (EACCES). */
#include "guest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static int ping(int fam)
{
    int fd = socket(fam, SOCK_DGRAM, fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
    if (fd < 0 && (errno == EACCES || errno == EPERM))
        return 77;
    CHECK(fd >= 0);
    struct sockaddr_storage to;
    socklen_t len;
    memset(&to, 0, sizeof(to));
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&to;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    unsigned char req[16] = { fam == AF_INET ? 8 : 128, 0, 0, 0, 0, 0, 0, 7,
                              'h', 'e', 'l', 'l', 'o', '!', '!', '!' };
    printf("send: %zd\n", sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&to, len));
    struct pollfd p = { .fd = fd, .events = POLLIN };
    printf("poll: %d\n", poll(&p, 1, 5000));
    unsigned char rep[64];
    ssize_t n = recv(fd, rep, sizeof(rep), 0);
    printf("reply: %zd type %d seq %d data %.8s\n", n, rep[0], rep[7], (char *)rep + 8);
    unsigned char bad[8] = { 3, 0 };
    ssize_t r = sendto(fd, bad, sizeof(bad), 0, (struct sockaddr *)&to, len);
    printf("non-echo: %zd %s\n", r, r < 0 ? errno_name(errno) : "-");
    close(fd);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int r = ping(AF_INET);
    if (r)
        return r;
    return ping(AF_INET6);
}
