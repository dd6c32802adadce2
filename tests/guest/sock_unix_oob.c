/* AF_UNIX MSG_OOB (Linux >= 5.15, CONFIG_AF_UNIX_OOB): on a stream socket the last
 * byte of a MSG_OOB send is out-of-band: recv(MSG_OOB) takes it, a normal read stops
 * at the mark and then skips it (or reads it with SO_OOBINLINE), SIOCATMARK, POLLPRI,
 * FIONREAD, SIGURG to the F_SETOWN owner; datagram and seqpacket sockets refuse
 * MSG_OOB. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static volatile sig_atomic_t g_urg;

static void on_urg(int sig)
{
    (void)sig;
    g_urg++;
}

static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
}

/* rd: one recv of up to n bytes with flags, printed with the msg_flags MSG_OOB. */
static void rd(const char *what, int s, size_t n, int flags)
{
    char buf[64];
    struct iovec iov = { buf, n };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    errno = 0;
    ssize_t r = recvmsg(s, &m, flags | MSG_DONTWAIT);
    if (r < 0)
        say("  %s: %s\n", what, errno_name(errno));
    else if (n == 0)
        say("  %s: %zd%s\n", what, r, (m.msg_flags & MSG_OOB) ? " MSG_OOB" : "");
    else
        say("  %s: %zd \"%.*s\"%s\n", what, r, (int)r, buf,
            (m.msg_flags & MSG_OOB) ? " MSG_OOB" : "");
}

/* show_state: SIOCATMARK, FIONREAD (unless !inq) and poll's IN and PRI. */
static void show_state(int s, int inq)
{
    int mark = -1, n = -1;
    CHECK(ioctl(s, SIOCATMARK, &mark) == 0);
    CHECK(ioctl(s, FIONREAD, &n) == 0);
    struct pollfd p = { s, POLLIN | POLLPRI, 0 };
    CHECK(poll(&p, 1, 0) >= 0);
    char q[32] = "";
    if (inq)
        snprintf(q, sizeof(q), " inq %d", n);
    say("  atmark %d%s poll%s%s\n", mark, q, p.revents & POLLIN ? " IN" : "",
        p.revents & POLLPRI ? " PRI" : "");
}

static void state(int s) { show_state(s, 1); }

static void snd(int s, const char *data, int flags)
{
    errno = 0;
    ssize_t r = send(s, data, strlen(data), flags | MSG_DONTWAIT);
    say("  send \"%s\"%s: %zd %s\n", data, flags & MSG_OOB ? " OOB" : "", r,
        errno_name(r < 0 ? errno : 0));
}

int main(void)
{
    int sv[2];

    say("oob then normal\n");
    pair(sv);
    state(sv[1]);
    snd(sv[0], "abc", MSG_OOB);
    state(sv[1]);
    rd("read", sv[1], 10, 0);
    state(sv[1]);
    rd("oob", sv[1], 10, MSG_OOB);
    state(sv[1]);
    rd("oob again", sv[1], 10, MSG_OOB);
    rd("read", sv[1], 10, 0);
    close(sv[0]);
    close(sv[1]);

    say("oob first\n");
    pair(sv);
    snd(sv[0], "abc", MSG_OOB);
    snd(sv[0], "de", 0);
    rd("peek oob", sv[1], 10, MSG_OOB | MSG_PEEK);
    rd("oob", sv[1], 10, MSG_OOB);
    state(sv[1]);
    rd("read", sv[1], 10, 0);
    state(sv[1]);
    rd("read", sv[1], 10, 0);
    close(sv[0]);
    close(sv[1]);

    say("skipped byte\n");
    pair(sv);
    snd(sv[0], "abc", MSG_OOB);
    snd(sv[0], "de", 0);
    rd("read", sv[1], 10, 0);
    state(sv[1]);
    rd("peek", sv[1], 10, MSG_PEEK);
    rd("read", sv[1], 10, 0);
    /* Linux 6.18's FIONREAD still counts a byte dropped this way (earlier kernels,
     * summing the queue, do not): not compared */
    show_state(sv[1], 0);
    rd("oob", sv[1], 10, MSG_OOB);
    close(sv[0]);
    close(sv[1]);

    say("two oob sends\n");
    pair(sv);
    snd(sv[0], "ab", MSG_OOB);
    snd(sv[0], "cd", MSG_OOB);
    state(sv[1]);
    rd("read", sv[1], 10, 0);
    rd("read", sv[1], 10, 0);
    rd("oob", sv[1], 10, MSG_OOB);
    rd("read", sv[1], 10, 0);
    close(sv[0]);
    close(sv[1]);

    say("one byte oob, then read across\n");
    pair(sv);
    snd(sv[0], "x", MSG_OOB);
    state(sv[1]);
    snd(sv[0], "yz", 0);
    rd("read", sv[1], 10, 0);
    rd("read", sv[1], 10, 0);
    close(sv[0]);
    close(sv[1]);

    say("oob taken, then read\n");
    pair(sv);
    snd(sv[0], "ab", MSG_OOB);
    snd(sv[0], "cd", 0);
    rd("oob", sv[1], 10, MSG_OOB);
    rd("read", sv[1], 10, 0);
    rd("read", sv[1], 10, 0);
    close(sv[0]);
    close(sv[1]);

    say("SO_OOBINLINE\n");
    pair(sv);
    int one = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)) == 0);
    snd(sv[0], "abc", MSG_OOB);
    snd(sv[0], "de", 0);
    state(sv[1]);
    rd("oob", sv[1], 10, MSG_OOB);
    rd("read", sv[1], 10, 0);
    state(sv[1]);
    rd("read", sv[1], 10, 0);
    state(sv[1]);
    close(sv[0]);
    close(sv[1]);

    say("empty and errors\n");
    pair(sv);
    rd("oob none", sv[1], 10, MSG_OOB);
    snd(sv[0], "", MSG_OOB);
    state(sv[1]);
    rd("oob", sv[1], 10, MSG_OOB);
    snd(sv[0], "q", MSG_OOB);
    rd("oob zero room", sv[1], 0, MSG_OOB);
    state(sv[1]);
    shutdown(sv[1], SHUT_RD);
    snd(sv[0], "r", MSG_OOB | MSG_NOSIGNAL);
    close(sv[0]);
    close(sv[1]);

    say("SIGURG\n");
    signal(SIGURG, on_urg);
    pair(sv);
    snd(sv[0], "a", MSG_OOB);
    say("  urg without owner: %d\n", (int)g_urg);
    CHECK(fcntl(sv[1], F_SETOWN, getpid()) == 0);
    say("  owner is me: %d\n", fcntl(sv[1], F_GETOWN) == getpid());
    int who = 0;
    CHECK(ioctl(sv[1], SIOCGPGRP, &who) == 0);
    say("  SIOCGPGRP is me: %d\n", who == getpid());
    snd(sv[0], "b", MSG_OOB);
    say("  urg: %d\n", (int)g_urg);
    snd(sv[0], "c", 0);
    say("  urg after normal send: %d\n", (int)g_urg);
    CHECK(fcntl(sv[1], F_SETOWN, 0) == 0);
    snd(sv[0], "d", MSG_OOB);
    say("  urg after owner cleared: %d\n", (int)g_urg);
    close(sv[0]);
    close(sv[1]);

    say("other types\n");
    int types[] = { SOCK_DGRAM, SOCK_SEQPACKET };
    for (int i = 0; i < 2; i++) {
        CHECK(socketpair(AF_UNIX, types[i], 0, sv) == 0);
        snd(sv[0], "a", MSG_OOB);
        snd(sv[0], "b", 0);
        rd("oob", sv[1], 10, MSG_OOB);
        rd("read", sv[1], 10, 0);
        close(sv[0]);
        close(sv[1]);
    }
    return 0;
}
