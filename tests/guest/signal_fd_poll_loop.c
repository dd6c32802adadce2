/* An event loop as servers write it: a periodic timerfd and a signalfd in one epoll
 * set (and again with poll), signals sent by a child process while the loop runs.
 * Counts are checked for what must hold everywhere, not printed raw. */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static int run(int use_epoll)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } };   /* every 20 ms */
    timerfd_settime(tfd, 0, &its, NULL);
    int ep = -1;
    if (use_epoll) {
        ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = sfd };
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
        ev.data.fd = tfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 3; i++) {
            usleep(30000);
            kill(parent, SIGUSR1);
        }
        usleep(30000);
        kill(parent, SIGUSR2);   /* the end */
        _exit(0);
    }
    uint64_t ticks = 0;
    int usr1 = 0, usr2 = 0, from_child = 1, loops = 0;
    while (!usr2 && loops++ < 1000) {
        int ready[2], n = 0;
        if (use_epoll) {
            struct epoll_event evs[2];
            int k = epoll_wait(ep, evs, 2, 2000);
            for (int i = 0; i < k; i++)
                ready[n++] = evs[i].data.fd;
        } else {
            struct pollfd p[2] = { { sfd, POLLIN, 0 }, { tfd, POLLIN, 0 } };
            if (poll(p, 2, 2000) > 0)
                for (int i = 0; i < 2; i++)
                    if (p[i].revents & POLLIN)
                        ready[n++] = p[i].fd;
        }
        if (n == 0)
            break;   /* a 2 s timeout: nothing came */
        for (int i = 0; i < n; i++) {
            if (ready[i] == tfd) {
                uint64_t c;
                if (read(tfd, &c, sizeof(c)) == sizeof(c))
                    ticks += c;
            } else {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                    from_child &= si.ssi_pid == (uint32_t)child;
                    if (si.ssi_signo == SIGUSR1)
                        usr1++;
                    else if (si.ssi_signo == SIGUSR2)
                        usr2++;
                }
            }
        }
    }
    int st;
    waitpid(child, &st, 0);
    /* SIGUSR1s may merge while one is pending, so at least 1 and at most 3 */
    printf("%s: SIGUSR1 seen %s, SIGUSR2 seen %d, sender is the child: %s, "
           "timer ticked during the loop: %s\n",
           use_epoll ? "epoll" : "poll", usr1 >= 1 && usr1 <= 3 ? "1..3 times" : "WRONG",
           usr2, from_child ? "yes" : "no", ticks >= 3 ? "yes" : "no");
    close(sfd);
    close(tfd);
    if (ep >= 0)
        close(ep);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    return 0;
}

int main(void)
{
    run(1);
    run(0);
    return 0;
}
