/* AF_UNIX garbage collection of sockets in flight: a socket sent over itself and
 * closed (stream, seqpacket, datagram), two sockets inside each other's queues, a
 * pipe carried by such a cycle, a listener inside its own embryo's queue, many
 * cycles in a row; and what must survive: a socket whose queue a process still
 * holds gives the passed socket back intact.
 *
 * Linux runs the collector when a unix socket is released (from 6.10 in a worker,
 * so natively it comes a few milliseconds later): each case closes an unrelated
 * socket to trigger it, then waits (with a timeout) for what the collection
 * shows: the peer's end of file, a refused datagram, a pipe's hang-up. */
#include "guest.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static int send_fd(int s, int fd, const char *data)
{
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof(ctl));
    struct iovec iov = { (void *)data, strlen(data) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(fd));
    return (int)sendmsg(s, &m, MSG_DONTWAIT);
}

/* recv_fd: one message's data into buf and its passed fd (-1: none). */
static int recv_fd(int s, char *buf, size_t len, int *fd)
{
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { buf, len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl) };
    ssize_t r = recvmsg(s, &m, MSG_DONTWAIT);
    *fd = -1;
    struct cmsghdr *c = r >= 0 ? CMSG_FIRSTHDR(&m) : NULL;
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof(int));
    return (int)r;
}

/* trigger: closes an unrelated unix socket, which runs the collector. */
static void trigger(void)
{
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    close(s);
}

/* wait_events: poll(fd, events) for up to 5 s; the events seen. */
static int wait_events(int fd, short events)
{
    struct pollfd p = { fd, events, 0 };
    int r = poll(&p, 1, 5000);
    CHECK(r >= 0);
    return p.revents;
}

static const char *type_name(int type)
{
    return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "seqpacket";
}

/* show_end: what the surviving end b of a collected pair sees. */
static void show_end(const char *what, int b)
{
    int ev = wait_events(b, POLLIN);
    char buf[8];
    errno = 0;
    ssize_t n = recv(b, buf, sizeof(buf), MSG_DONTWAIT);
    int rerr = n < 0 ? errno : 0;
    errno = 0;
    ssize_t w = send(b, "z", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    say("%s: poll%s%s recv %zd %s send %zd %s\n", what, ev & POLLIN ? " IN" : "",
        ev & POLLHUP ? " HUP" : "", n, errno_name(rerr), w, errno_name(w < 0 ? errno : 0));
}

/* self_cycle: a socket sent over its peer into its own queue, then closed. */
static void self_cycle(int type, int extra_data)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    if (extra_data)
        CHECK(send(sv[1], "data", 4, 0) == 4);
    CHECK(send_fd(sv[1], sv[0], "x") == 1);
    close(sv[0]);
    trigger();
    char what[64];
    snprintf(what, sizeof(what), "self %s%s", type_name(type), extra_data ? "+data" : "");
    if (type != SOCK_DGRAM) {
        show_end(what, sv[1]);
    } else {
        /* a datagram socket shows nothing by poll: its sends fail once the peer
         * is gone */
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int e = 0;
        do {
            errno = 0;
            if (send(sv[1], "z", 1, MSG_DONTWAIT) < 0 && errno != EAGAIN) {
                e = errno;
                break;
            }
            usleep(1000);
            clock_gettime(CLOCK_MONOTONIC, &t);
        } while (t.tv_sec - t0.tv_sec < 5);
        say("%s: send %s\n", what, errno_name(e));
    }
    close(sv[1]);
}

/* pair_cycle: a1 inside a2's queue and a2 inside a1's, both closed. */
static void pair_cycle(void)
{
    int p1[2], p2[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, p1) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, p2) == 0);
    CHECK(send_fd(p2[1], p1[0], "1") == 1);
    CHECK(send_fd(p1[1], p2[0], "2") == 1);
    close(p1[0]);
    close(p2[0]);
    trigger();
    show_end("pair 1", p1[1]);
    show_end("pair 2", p2[1]);
    close(p1[1]);
    close(p2[1]);
}

/* carried_pipe: a pipe's write end inside a self cycle goes with it. */
static void carried_pipe(void)
{
    int sv[2], p[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(pipe(p) == 0);
    CHECK(send_fd(sv[1], p[1], "p") == 1);
    CHECK(send_fd(sv[1], sv[0], "s") == 1);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);   /* this close triggers it */
    int ev = wait_events(p[0], POLLIN);
    char c;
    say("pipe: poll%s read %zd\n", ev & POLLHUP ? " HUP" : "", read(p[0], &c, 1));
    close(p[0]);
}

/* listener: a listener sent into the queue of its own embryo (the server end of a
 * connection not yet accepted), then closed: the connecting side loses its peer and
 * the name goes. */
static void listener(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, "\0gc-listener-test", 17);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 17;
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(l >= 0);
    CHECK(bind(l, (struct sockaddr *)&sa, len) == 0);
    CHECK(listen(l, 4) == 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(c >= 0);
    CHECK(connect(c, (struct sockaddr *)&sa, len) == 0);
    CHECK(send_fd(c, l, "l") == 1);
    close(l);
    trigger();
    show_end("listener", c);
    close(c);
    int d = socket(AF_UNIX, SOCK_STREAM, 0);
    errno = 0;
    int r = connect(d, (struct sockaddr *)&sa, len);
    say("listener: connect again %d %s\n", r, errno_name(r < 0 ? errno : 0));
    close(d);
}

/* reachable: a closed socket inside the queue of one still open is not garbage:
 * received back, it still works. */
static void reachable(void)
{
    int holder[2], x[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, holder) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, x) == 0);
    CHECK(send(x[1], "kept", 4, 0) == 4);      /* data in x[0]'s queue */
    CHECK(send_fd(x[1], x[0], "s") == 1);      /* x[0] inside its own queue ... */
    CHECK(send_fd(holder[1], x[0], "h") == 1); /* ... and inside holder[0]'s */
    close(x[0]);
    trigger();
    usleep(50000);   /* natively the collector runs meanwhile */
    trigger();
    usleep(50000);
    char buf[8];
    int fd;
    int n = recv_fd(holder[0], buf, sizeof(buf), &fd);
    say("reachable: got %d fd %s\n", n, fd >= 0 ? "yes" : "no");
    CHECK(fd >= 0);
    n = (int)recv(fd, buf, 4, MSG_DONTWAIT);
    say("reachable: data %.*s\n", n > 0 ? n : 0, buf);
    int inner;
    n = recv_fd(fd, buf, sizeof(buf), &inner);
    say("reachable: self %d fd %s\n", n, inner >= 0 ? "yes" : "no");
    CHECK(send(x[1], "more", 4, 0) == 4);
    n = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    say("reachable: then %.*s\n", n > 0 ? n : 0, buf);
    close(inner);
    close(fd);
    close(x[1]);
    close(holder[0]);
    close(holder[1]);
}

/* many: cycles made and dropped in a row (each released by the next close). */
static void many(void)
{
    int last = -1;
    for (int i = 0; i < 2000; i++) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0, sv) == 0);
        CHECK(send_fd(sv[1], sv[0], "x") == 1);
        CHECK(send_fd(sv[0], sv[1], "y") == 1);
        close(sv[0]);
        close(sv[1]);
        last = sv[1];
    }
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    say("many: fds reused %s\n", s <= last ? "yes" : "no");
    close(s);
}

int main(void)
{
    self_cycle(SOCK_STREAM, 0);
    self_cycle(SOCK_STREAM, 1);
    self_cycle(SOCK_SEQPACKET, 0);
    self_cycle(SOCK_DGRAM, 0);
    pair_cycle();
    carried_pipe();
    listener();
    reachable();
    many();
    return 0;
}
