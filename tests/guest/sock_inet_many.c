/* 1,000 concurrent TCP connections through one epoll loop: non-blocking connects,
 * accepts, one echo each, then every connection closed by its client while the
 * others are still open. */
#include "guest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define CONNS 1000

int main(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_max < 2 * CONNS + 64)
        return 77;
    rl.rlim_cur = 2 * CONNS + 64;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);

    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(l, 4096) == 0);
    socklen_t al = sizeof(a);
    CHECK(getsockname(l, (struct sockaddr *)&a, &al) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)l << 32 };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) == 0);

    /* clients: tagged 1 in the high bits; server ends 2 */
    int inprogress = 0;
    for (int i = 0; i < CONNS; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        CHECK(c >= 0);
        int r = connect(c, (struct sockaddr *)&a, sizeof(a));
        CHECK(r == 0 || errno == EINPROGRESS);
        inprogress += r < 0;
        ev.events = EPOLLOUT | EPOLLIN | EPOLLET;
        ev.data.u64 = (uint64_t)c << 32 | 1;
        CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
    }
    printf("connects in progress: %d\n", inprogress == CONNS);

    int accepted = 0, sent = 0, echoed = 0, answered = 0, closed = 0;
    struct epoll_event out[64];
    while (closed < CONNS) {
        int n = epoll_wait(ep, out, 64, 10000);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            int fd = (int)(out[i].data.u64 >> 32), kind = (int)(out[i].data.u64 & 3);
            char buf[16];
            if (fd == l) {
                int s;
                while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    accepted++;
                    ev.events = EPOLLIN | EPOLLRDHUP;
                    ev.data.u64 = (uint64_t)s << 32 | 2;
                    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
                }
                CHECK(errno == EAGAIN);
            } else if (kind == 1) {
                if (out[i].events & EPOLLOUT) {
                    int err;
                    socklen_t el = sizeof(err);
                    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0);
                    if (write(fd, "ping", 4) == 4)
                        sent++;
                    ev.events = EPOLLIN;
                    ev.data.u64 = out[i].data.u64;
                    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0);
                }
                if (out[i].events & EPOLLIN) {
                    ssize_t r = read(fd, buf, sizeof(buf));
                    if (r == 4 && memcmp(buf, "pong", 4) == 0) {
                        answered++;
                        close(fd);         /* leaves the epoll set by itself */
                    }
                }
            } else {
                ssize_t r = read(fd, buf, sizeof(buf));
                if (r == 4) {
                    CHECK(write(fd, "pong", 4) == 4);
                    echoed++;
                } else if (r == 0) {
                    close(fd);
                    closed++;
                }
            }
        }
    }
    printf("accepted %d sent %d echoed %d answered %d closed %d\n", accepted, sent, echoed,
           answered, closed);
    close(ep);
    close(l);
    return 0;
}
