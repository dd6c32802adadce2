/* Signals and the waiting calls: ppoll, pselect6, epoll_pwait and epoll_pwait2 with a
 * mask that unblocks a signal the caller blocks (sent by a child, or by a timer): the
 * handler runs, the call fails with EINTR, and the old mask is back afterwards. A
 * signal already pending is taken at once even with a zero timeout. A call that finds
 * a file ready returns it and restores the mask at once, so the pending signal is not
 * handled until the program unblocks it. poll, select and epoll_wait fail with EINTR
 * after a handler even with SA_RESTART, and the raw select writes the time left. */
#include "guest.h"

#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t g_handled;
static volatile sig_atomic_t g_blocked_in_handler;

static void on_signal(int sig)
{
    g_handled++;
    /* the handler runs with the old mask plus itself: check that the wait mask did
     * not leak into it (SIGUSR2 is blocked by the caller, unblocked by no wait) */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    g_blocked_in_handler = sigismember(&cur, sig) && sigismember(&cur, SIGUSR2);
}

static void handle(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void block(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
}

static int is_blocked(int sig)
{
    sigset_t cur;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
    return sigismember(&cur, sig);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* kill_later: a child that sends sig to us after ms */
static pid_t kill_later(int sig, long ms)
{
    pid_t parent = getpid();
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        sleep_ms(ms);
        kill(parent, sig);
        _exit(0);
    }
    return c;
}

static void reap(pid_t c)
{
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR)
        ;
}

/* unblock_mask: the current mask without sig */
static sigset_t unblock_mask(int sig)
{
    sigset_t m;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &m) == 0);
    sigdelset(&m, sig);
    return m;
}

enum { PPOLL, PSELECT, EPOLL_PWAIT, EPOLL_PWAIT2 };
static const char *const g_call_names[] = { "ppoll", "pselect", "epoll_pwait",
                                            "epoll_pwait2" };

/* wait_with_mask: one call on an empty pipe with the given mask and timeout (ms, -1
 * forever); returns its result, errno kept */
static int wait_with_mask(int call, int rfd, int ep, const sigset_t *mask, long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }, *tsp = ms < 0 ? NULL : &ts;
    struct pollfd pf = { rfd, POLLIN, 0 };
    fd_set r;
    struct epoll_event ev;
    switch (call) {
    case PPOLL:
        return ppoll(&pf, 1, tsp, mask);
    case PSELECT:
        FD_ZERO(&r);
        FD_SET(rfd, &r);
        return pselect(rfd + 1, &r, NULL, NULL, tsp, mask);
    case EPOLL_PWAIT:
        return epoll_pwait(ep, &ev, 1, (int)ms, mask);
    default:
        return (int)syscall(SYS_epoll_pwait2, ep, &ev, 1, tsp, mask, 8);
    }
}

static void masked_waits(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN };
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    handle(SIGUSR1, 0);
    block(SIGUSR1);
    block(SIGUSR2);
    for (int call = 0; call < 4; call++) {
        /* sent by a child while we wait */
        g_handled = 0;
        sigset_t m = unblock_mask(SIGUSR1);
        pid_t c = kill_later(SIGUSR1, 50);
        errno = 0;
        int r = wait_with_mask(call, p[0], ep, &m, -1);
        say("%-12s child's signal: r=%d %s handled=%d mask in handler ok=%d, blocked "
            "after=%d\n", g_call_names[call], r, errno_name(errno), (int)g_handled,
            (int)g_blocked_in_handler, is_blocked(SIGUSR1));
        reap(c);

        /* already pending: taken at once, even with a zero timeout */
        g_handled = 0;
        raise(SIGUSR1);
        errno = 0;
        r = wait_with_mask(call, p[0], ep, &m, 0);
        say("%-12s pending signal, timeout 0: r=%d %s handled=%d blocked after=%d\n",
            g_call_names[call], r, errno_name(errno), (int)g_handled, is_blocked(SIGUSR1));

        /* a ready file wins: the mask is restored at once, the signal stays pending */
        g_handled = 0;
        CHECK(write(p[1], "x", 1) == 1);
        raise(SIGUSR1);
        errno = 0;
        r = wait_with_mask(call, p[0], ep, &m, -1);
        int handled_now = g_handled;
        sigset_t pend;
        sigpending(&pend);
        say("%-12s ready file, signal pending: r=%d handled=%d still pending=%d\n",
            g_call_names[call], r, handled_now, sigismember(&pend, SIGUSR1));
        char ch;
        CHECK(read(p[0], &ch, 1) == 1);
        sigset_t u;
        sigemptyset(&u);
        sigaddset(&u, SIGUSR1);
        CHECK(sigprocmask(SIG_UNBLOCK, &u, NULL) == 0);
        say("%-12s after unblocking: handled=%d\n", g_call_names[call], (int)g_handled);
        block(SIGUSR1);
    }
    close(ep);
    close(p[0]);
    close(p[1]);
}

/* a timer's SIGALRM, blocked, let in only by ppoll's mask */
static void timer_signal(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    handle(SIGALRM, 0);
    block(SIGALRM);
    g_handled = 0;
    struct itimerval it = { { 0, 0 }, { 0, 50 * 1000 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    sigset_t m = unblock_mask(SIGALRM);
    struct pollfd pf = { p[0], POLLIN, 0 };
    struct timespec ts = { 10, 0 };
    errno = 0;
    int r = ppoll(&pf, 1, &ts, &m);
    say("ppoll and a timer: r=%d %s handled=%d blocked after=%d\n", r, errno_name(errno),
        (int)g_handled, is_blocked(SIGALRM));

    /* the longest timeout there is: the deadline saturates, the time left is less */
    g_handled = 0;
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    ts.tv_sec = INT64_MAX;
    ts.tv_nsec = 0;
    errno = 0;
    r = (int)syscall(SYS_ppoll, &pf, 1, &ts, &m, 8);
    say("ppoll forever and a day: r=%d %s handled=%d time left changed=%d\n", r,
        errno_name(errno), (int)g_handled, ts.tv_sec != INT64_MAX);
    close(p[0]);
    close(p[1]);
}

/* without a mask argument: a handler makes poll, select and epoll_wait fail with
 * EINTR even with SA_RESTART; the raw select reports the time left */
static void plain_calls(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN };
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    handle(SIGUSR2, SA_RESTART);
    sigset_t u;
    sigemptyset(&u);
    sigaddset(&u, SIGUSR2);
    CHECK(sigprocmask(SIG_UNBLOCK, &u, NULL) == 0);
    for (int call = 0; call < 5; call++) {
        g_handled = 0;
        pid_t c = kill_later(SIGUSR2, 50);
        struct pollfd pf = { p[0], POLLIN, 0 };
        fd_set r;
        FD_ZERO(&r);
        FD_SET(p[0], &r);
        struct { long sec, usec; } tv = { 10, 0 };
        errno = 0;
        int n;
        const char *name;
        switch (call) {
        case 0: name = "poll forever"; n = poll(&pf, 1, -1); break;
        case 1: name = "poll 10s"; n = poll(&pf, 1, 10000); break;
        case 2: name = "select"; n = select(p[0] + 1, &r, NULL, NULL, NULL); break;
        case 3:
            name = "raw select 10s";
            n = (int)syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv);
            break;
        default: name = "epoll_wait"; n = epoll_wait(ep, &ev, 1, -1); break;
        }
        say("%-16s SA_RESTART handler: r=%d %s handled=%d\n", name, n, errno_name(errno),
            (int)g_handled);
        if (call == 3)
            say("raw select time left between 5s and 10s: %d\n", tv.sec >= 5 && tv.sec < 10);
        reap(c);
    }
    close(ep);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    masked_waits();
    timer_signal();
    plain_calls();
    return 0;
}
