/* AF_UNIX datagram writability, as Linux's unix_dgram_poll: a socket connected to a
 * peer that is not connected back is writable only while the peer's queue has room
 * (max_dgram_qlen 10: the 12th datagram waits). poll with a zero timeout, epoll
 * (woken when the reader makes room) and a poll that sleeps until a child reads. */
#include "guest.h"

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

static int writable(int s)
{
    struct pollfd p = { s, POLLOUT, 0 };
    CHECK(poll(&p, 1, 0) >= 0);
    return (p.revents & POLLOUT) != 0;
}

static int epoll_out(int ep)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, 0);
    CHECK(n >= 0);
    return n == 1 && (ev.events & EPOLLOUT);
}

int main(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, "\0dgram-poll-test", 16);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 16;
    int b = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(b >= 0);
    CHECK(bind(b, (struct sockaddr *)&sa, len) == 0);
    int a = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(a >= 0);
    CHECK(connect(a, (struct sockaddr *)&sa, len) == 0);

    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.fd = a };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) == 0);
    say("empty: writable %d epoll %d\n", writable(a), epoll_out(ep));

    int sent = 0;
    while (send(a, "d", 1, MSG_DONTWAIT) == 1)
        sent++;
    say("queued %d then %s\n", sent, errno_name(errno));
    say("full: writable %d epoll %d\n", writable(a), epoll_out(ep));

    char c;
    CHECK(recv(b, &c, 1, 0) == 1);
    say("one read: writable %d epoll %d\n", writable(a), epoll_out(ep));
    CHECK(send(a, "d", 1, MSG_DONTWAIT) == 1);
    say("full again: writable %d\n", writable(a));

    /* a sleeping poll is woken when another process makes room, even when what is
     * read came from someone else */
    int drained = 0;
    while (recv(b, &c, 1, MSG_DONTWAIT) == 1)
        drained++;
    say("drained %d: writable %d\n", drained, writable(a));
    int other = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(other >= 0);
    for (int i = 0; i < 11; i++)
        CHECK(sendto(other, "o", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, len) == 1);
    say("filled by another: writable %d\n", writable(a));
    int hold[2];   /* the child stays until the poll is over (its exit would wake) */
    CHECK(pipe(hold) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(hold[1]);
        usleep(100000);
        CHECK(recv(b, &c, 1, 0) == 1);
        CHECK(read(hold[0], &c, 1) == 0);
        _exit(0);
    }
    close(hold[0]);
    struct pollfd p = { a, POLLOUT, 0 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = poll(&p, 1, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    say("slept: poll %d out %d, woken by the read %s\n", r, (p.revents & POLLOUT) != 0,
        ms < 2500 ? "yes" : "no");
    close(hold[1]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* connected back: the peer's queue no longer limits the writer */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    sent = 0;
    while (sent < 100 && send(sv[0], "d", 1, MSG_DONTWAIT) == 1)
        sent++;
    say("pair: queued %d writable %d\n", sent, writable(sv[0]));

    /* disconnecting (AF_UNSPEC) makes it writable again */
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    CHECK(connect(a, &unspec, sizeof(unspec)) == 0);
    say("disconnected: writable %d\n", writable(a));
    return 0;
}
