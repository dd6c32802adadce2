/* AF_UNIX data paths: half-close with shutdown, EPIPE with and without SIGPIPE
 * (MSG_NOSIGNAL; none for seqpacket), ECONNRESET when unread data is dropped,
 * MSG_PEEK / MSG_TRUNC / MSG_WAITALL / MSG_DONTWAIT, EAGAIN on full buffers and
 * queues, SO_RCVTIMEO, epoll level- and edge-triggered on a socket, FIONREAD, a
 * blocked writer woken by the reader, and 64 MiB between two processes. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

static volatile int g_sigpipes;
static void on_sigpipe(int sig) { (void)sig; g_sigpipes++; }

static unsigned long checksum(const unsigned char *p, size_t n, unsigned long h)
{
    for (size_t i = 0; i < n; i++)
        h = h * 31 + p[i];
    return h;
}

static void big_transfer(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    const size_t total = 64u << 20;
    static unsigned char buf[1 << 16];
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(sv[0]);
        unsigned long h = 0;
        size_t sent = 0;
        while (sent < total) {
            size_t n = sizeof(buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)((sent + i) * 7 + 3);
            h = checksum(buf, n, h);
            ssize_t w = write(sv[1], buf, n);
            CHECK(w == (ssize_t)n);
            sent += n;
        }
        CHECK(write(sv[1], &h, sizeof(h)) == sizeof(h));
        _exit(0);
    }
    close(sv[1]);
    unsigned long h = 0;
    size_t got = 0;
    while (got < total) {
        size_t want = total - got < sizeof(buf) ? total - got : sizeof(buf);
        ssize_t r = read(sv[0], buf, want);
        CHECK(r > 0);
        h = checksum(buf, (size_t)r, h);
        got += (size_t)r;
    }
    unsigned long theirs;
    CHECK(recv(sv[0], &theirs, sizeof(theirs), MSG_WAITALL) == sizeof(theirs));
    char c;
    say("64 MiB: checksum match %d, then EOF %zd\n", h == theirs, read(sv[0], &c, 1));
    int st;
    CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(sv[0]);
}

int main(void)
{
    int sv[2];
    char buf[256];
    CHECK(signal(SIGPIPE, on_sigpipe) != SIG_ERR);

    /* half-close: shutdown(SHUT_WR) gives the peer EOF after the data, and the peer
     * can still answer */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "req", 3) == 3);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    struct pollfd p = { sv[1], POLLIN | POLLRDHUP, 0 };
    CHECK(poll(&p, 1, 0) == 1);
    say("after peer SHUT_WR revents %#x\n", p.revents);
    CHECK(read(sv[1], buf, sizeof(buf)) == 3);
    say("then read %zd\n", read(sv[1], buf, sizeof(buf)));
    CHECK(write(sv[1], "resp", 4) == 4);
    CHECK(read(sv[0], buf, sizeof(buf)) == 4);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE);
    say("sigpipes after write on shut socket %d\n", g_sigpipes);
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    say("sigpipes after MSG_NOSIGNAL %d\n", g_sigpipes);
    CHECK(shutdown(sv[1], SHUT_RD) == 0);
    p.fd = sv[0];
    p.events = POLLIN | POLLOUT | POLLRDHUP;
    CHECK(poll(&p, 1, 0) == 1);
    say("both directions shut revents %#x\n", p.revents);
    close(sv[0]);
    close(sv[1]);

    /* the peer closes with our data unread: ECONNRESET, then EOF, writes EPIPE */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "lost", 4) == 4);
    close(sv[1]);
    CHECK_ERR(read(sv[0], buf, sizeof(buf)), ECONNRESET);
    say("after reset: read %zd\n", read(sv[0], buf, sizeof(buf)));
    CHECK_ERR(write(sv[0], "x", 1), EPIPE);
    say("sigpipes %d\n", g_sigpipes);
    close(sv[0]);

    /* seqpacket: EPIPE without SIGPIPE, EOF after the peer goes */
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    close(sv[1]);
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
    say("seqpacket: sigpipes %d read %zd\n", g_sigpipes, read(sv[0], buf, 1));
    close(sv[0]);

    /* MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT on a stream */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "abc", 3) == 3);
    CHECK(write(sv[0], "def", 3) == 3);
    int avail = -1;
    CHECK(ioctl(sv[1], FIONREAD, &avail) == 0);
    say("FIONREAD %d\n", avail);
    ssize_t n = recv(sv[1], buf, 4, MSG_PEEK);
    say("peek %zd %.4s\n", n, buf);
    n = recv(sv[1], buf, sizeof(buf), MSG_PEEK);
    say("peek all %zd %.6s\n", n, buf);
    n = recv(sv[1], buf, 2, 0);
    say("read %zd %.2s\n", n, buf);
    n = recv(sv[1], buf, sizeof(buf), 0);
    say("read %zd %.4s\n", n, buf);
    CHECK_ERR(recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        for (int i = 0; i < 4; i++) {
            usleep(20000);
            CHECK(write(sv[0], "ww", 2) == 2);
        }
        _exit(0);
    }
    n = recv(sv[1], buf, 8, MSG_WAITALL);
    say("waitall %zd %.8s\n", n, buf);
    CHECK(waitpid(child, NULL, 0) == child);

    /* SO_RCVTIMEO: EAGAIN after the timeout */
    struct timeval tv = { 0, 50000 };
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    CHECK_ERR(read(sv[1], buf, 1), EAGAIN);
    say("rcvtimeo ok\n");

    /* a full send buffer: EAGAIN when non-blocking, and a blocked writer resumes
     * when the reader drains */
    int fl = fcntl(sv[0], F_GETFL);
    CHECK(fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) == 0);
    static char chunk[65536];
    size_t filled = 0;
    for (;;) {
        n = write(sv[0], chunk, sizeof(chunk));
        if (n < 0)
            break;
        filled += (size_t)n;
    }
    say("filled: EAGAIN %d, more than 100k %d\n", errno == EAGAIN, filled > 100000);
    p.fd = sv[0];
    p.events = POLLOUT;
    say("full: poll %d\n", poll(&p, 1, 0));
    CHECK(fcntl(sv[0], F_SETFL, fl) == 0);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        usleep(50000);
        size_t got = 0;
        while (got < filled + sizeof(chunk)) {
            ssize_t r = read(sv[1], chunk, sizeof(chunk));
            CHECK(r > 0);
            got += (size_t)r;
        }
        _exit(0);
    }
    CHECK(write(sv[0], chunk, sizeof(chunk)) == sizeof(chunk));
    int st;
    CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    say("blocked writer resumed\n");
    close(sv[0]);
    close(sv[1]);

    /* datagrams: MSG_TRUNC, boundaries, a full receiver queue */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(send(sv[0], "0123456789", 10, 0) == 10);
    struct iovec iov = { buf, 4 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    n = recvmsg(sv[1], &m, 0);
    say("dgram short read %zd trunc %d\n", n, (m.msg_flags & MSG_TRUNC) != 0);
    CHECK(send(sv[0], "0123456789", 10, 0) == 10);
    n = recv(sv[1], buf, 4, MSG_TRUNC);
    say("dgram MSG_TRUNC returns %zd\n", n);
    CHECK(send(sv[0], "", 0, 0) == 0);
    say("empty datagram read %zd\n", recv(sv[1], buf, sizeof(buf), 0));
    int big = 300000;
    CHECK_ERR(send(sv[0], chunk, (size_t)big, 0), EMSGSIZE);
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0);
    int d2 = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    CHECK(bind(d1, (struct sockaddr *)&a, sizeof(sa_family_t)) == 0);
    socklen_t al = sizeof(a);
    CHECK(getsockname(d1, (struct sockaddr *)&a, &al) == 0);
    int queued = 0;
    while (sendto(d2, "q", 1, 0, (struct sockaddr *)&a, al) == 1)
        queued++;
    say("dgram queue holds %d, then %s\n", queued, errno_name(errno));
    CHECK(recv(d1, buf, 1, 0) == 1);
    CHECK(sendto(d2, "q", 1, 0, (struct sockaddr *)&a, al) == 1);
    close(d1);
    close(d2);
    close(sv[0]);
    close(sv[1]);

    /* epoll: level-triggered reports again, edge-triggered once per arrival */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int lt = epoll_create1(0), et = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = sv[1] };
    CHECK(epoll_ctl(lt, EPOLL_CTL_ADD, sv[1], &ev) == 0);
    ev.events = EPOLLIN | EPOLLET;
    CHECK(epoll_ctl(et, EPOLL_CTL_ADD, sv[1], &ev) == 0);
    struct epoll_event out[4];
    say("epoll empty: lt %d et %d\n", epoll_wait(lt, out, 4, 0), epoll_wait(et, out, 4, 0));
    CHECK(write(sv[0], "e1", 2) == 2);
    say("epoll data: lt %d et %d\n", epoll_wait(lt, out, 4, 0), epoll_wait(et, out, 4, 0));
    say("epoll again: lt %d et %d\n", epoll_wait(lt, out, 4, 0), epoll_wait(et, out, 4, 0));
    CHECK(write(sv[0], "e2", 2) == 2);
    say("epoll more data: et %d\n", epoll_wait(et, out, 4, 0));
    CHECK(read(sv[1], buf, sizeof(buf)) == 4);
    say("epoll drained: lt %d\n", epoll_wait(lt, out, 4, 0));
    /* a blocking epoll_wait woken by a write from another process */
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        usleep(30000);
        CHECK(write(sv[0], "e3", 2) == 2);
        _exit(0);
    }
    n = epoll_wait(et, out, 4, 5000);
    say("epoll woken %zd events %#x\n", n, n == 1 ? out[0].events : 0);
    CHECK(waitpid(child, NULL, 0) == child);
    close(sv[0]);
    n = epoll_wait(lt, out, 4, 0);
    say("epoll after peer close %zd events %#x\n", n, n == 1 ? out[0].events : 0);
    close(lt);
    close(et);
    close(sv[1]);

    big_transfer();
    say("ok\n");
    return 0;
}
