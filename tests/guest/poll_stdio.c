/* Readiness of the stdio files, which are host files: with a host pipe as stdin
 * (tests/e2e/stdio_poll.sh runs `{ sleep 1; echo hello; sleep 1; } | this`), a
 * blocking poll wakes when the host writes, a zero-timeout poll sees nothing between
 * writes, a blocked read is interrupted by a handler (EINTR), O_NONBLOCK gives
 * EAGAIN, epoll accepts stdin and reports the hang-up when the writer exits. With
 * any other stdin (the guest runner gives /dev/null) it only checks that stdin is
 * always ready and that epoll refuses it when it is not a pipe. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/time.h>

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
    struct stat st;
    CHECK(fstat(0, &st) == 0);
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.u64 = 5 };
    struct pollfd pf = { 0, POLLIN, 0 };
    if (!S_ISFIFO(st.st_mode)) {
        int n = poll(&pf, 1, 0);
        say("stdin not a pipe: poll %d %#x\n", n, pf.revents);
        errno = 0;
        int r = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
        say("epoll_ctl: %s\n", r == 0 ? "0" : errno_name(errno));
        return 0;
    }

    /* the writer sleeps a second before "hello": a blocking poll waits for it */
    int n = poll(&pf, 1, -1);
    say("blocking poll: %d %#x\n", n, pf.revents);
    char buf[64];
    ssize_t got = read(0, buf, sizeof(buf));
    say("read: %zd '%.*s'\n", got, (int)(got > 0 ? got - 1 : 0), buf);
    n = poll(&pf, 1, 0);
    say("poll between writes: %d %#x\n", n, pf.revents);

    /* O_NONBLOCK on the guest's file: EAGAIN instead of blocking */
    int fl = fcntl(0, F_GETFL);
    CHECK(fcntl(0, F_SETFL, fl | O_NONBLOCK) == 0);
    errno = 0;
    got = read(0, buf, sizeof(buf));
    say("non-blocking read: %zd %s\n", got, errno_name(errno));
    CHECK(fcntl(0, F_SETFL, fl) == 0);

    /* a read blocked on the host pipe is interrupted by a handler */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 0 }, { 0, 100 * 1000 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    errno = 0;
    got = read(0, buf, sizeof(buf));
    say("blocked read and a handler: %zd %s\n", got, errno_name(errno));

    /* epoll takes a host pipe; the writer's exit is a hang-up */
    errno = 0;
    int r = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    say("epoll_ctl: %s\n", r == 0 ? "0" : errno_name(errno));
    struct epoll_event out;
    n = epoll_wait(ep, &out, 1, 10000);
    say("epoll_wait: %d events %#x data %llu\n", n, n > 0 ? out.events : 0,
        n > 0 ? (unsigned long long)out.data.u64 : 0ULL);
    say("then EOF: %zd\n", read(0, buf, sizeof(buf)));
    return 0;
}
