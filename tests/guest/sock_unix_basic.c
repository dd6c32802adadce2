/* AF_UNIX basics: socket(2) argument errors, the three types over socketpair with
 * their boundaries, fstat and /proc/self/fd of a socket, generic SOL_SOCKET options,
 * ENOTSOCK, and poll on fresh and connected sockets. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

static int getint(int fd, int name)
{
    int v = -1;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(fd, SOL_SOCKET, name, &v, &l) == 0);
    CHECK(l == sizeof(v));
    return v;
}

static void pair_type(int type, const char *name)
{
    int sv[2];
    char buf[64];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    CHECK(write(sv[0], "hello", 5) == 5);
    CHECK(send(sv[0], "world", 5, 0) == 5);
    ssize_t n = read(sv[1], buf, sizeof(buf));
    say("%s: first read %zd\n", name, n);
    n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
    say("%s: second read %zd\n", name, n);
    /* the other way */
    CHECK(write(sv[1], "x", 1) == 1);
    CHECK(read(sv[0], buf, 1) == 1);
    say("%s: SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d ACCEPTCONN %d\n", name,
        getint(sv[0], SO_TYPE), getint(sv[0], SO_DOMAIN), getint(sv[0], SO_PROTOCOL),
        getint(sv[0], SO_ACCEPTCONN));
    struct pollfd p = { sv[0], POLLIN | POLLOUT | POLLRDHUP, 0 };
    CHECK(poll(&p, 1, 0) == 1);
    say("%s: connected revents %#x\n", name, p.revents);
    close(sv[1]);
    CHECK(poll(&p, 1, 0) == 1);
    say("%s: peer closed revents %#x\n", name, p.revents);
    close(sv[0]);
}

int main(void)
{
    CHECK_ERR(socket(AF_UNIX, 10, 0), ESOCKTNOSUPPORT);
    CHECK_ERR(socket(AF_UNIX, 11, 0), EINVAL);
    CHECK_ERR(socket(AF_UNIX, 99, 0), EINVAL);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM, 5), EPROTONOSUPPORT);
    CHECK_ERR(socket(45, SOCK_STREAM, 0), EAFNOSUPPORT);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
    int s = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
    CHECK(s >= 0);

    struct stat st;
    CHECK(fstat(s, &st) == 0);
    say("fstat: sock %d mode %o nlink %lu size %ld\n", S_ISSOCK(st.st_mode),
        st.st_mode & 07777, (unsigned long)st.st_nlink, (long)st.st_size);
    char path[64], link[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", s);
    ssize_t ln = readlink(path, link, sizeof(link) - 1);
    CHECK(ln > 0);
    link[ln] = 0;
    say("fd link starts socket:[ %d ends ] %d\n", strncmp(link, "socket:[", 8) == 0,
        link[ln - 1] == ']');
    CHECK_ERR(lseek(s, 0, SEEK_SET), ESPIPE);
    CHECK_ERR(pread(s, path, 1, 0), ESPIPE);

    /* a fresh stream socket: writable and hung up, as Linux */
    struct pollfd p = { s, POLLIN | POLLOUT, 0 };
    CHECK(poll(&p, 1, 0) == 1);
    say("fresh stream revents %#x\n", p.revents);
    char c;
    CHECK_ERR(recv(s, &c, 1, MSG_DONTWAIT), EINVAL);
    CHECK_ERR(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    struct ucred uc;
    socklen_t l = sizeof(uc);
    CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0);
    say("unconnected peercred %d %d %d len %u\n", uc.pid, (int)uc.uid, (int)uc.gid, l);

    /* generic options */
    say("sndbuf default %d\n", getint(s, SO_SNDBUF));
    int v = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0);
    say("sndbuf after 1: %d\n", getint(s, SO_SNDBUF));
    v = 10000;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0);
    say("rcvbuf after 10000: %d\n", getint(s, SO_RCVBUF));
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), ENOPROTOOPT);
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
    CHECK_ERR(getsockopt(s, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
    CHECK_ERR(getsockopt(s, 6 /* SOL_TCP */, 1, &v, &l), EOPNOTSUPP);
    struct timeval tv = { 1, 500000 };
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    memset(&tv, 0, sizeof(tv));
    l = sizeof(tv);
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0);
    say("rcvtimeo %ld.%06ld len %u\n", (long)tv.tv_sec, (long)tv.tv_usec, l);
    tv.tv_usec = 2000000;
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
    /* a short getsockopt buffer gets the first bytes */
    short sh = 0;
    l = sizeof(sh);
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &sh, &l) == 0);
    say("short SO_TYPE %d len %u\n", sh, l);
    close(s);

    /* not a socket */
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK_ERR(send(pfd[1], "x", 1, 0), ENOTSOCK);
    CHECK_ERR(listen(pfd[0], 1), ENOTSOCK);
    CHECK_ERR(listen(999, 1), EBADF);

    pair_type(SOCK_STREAM, "stream");
    pair_type(SOCK_DGRAM, "dgram");
    pair_type(SOCK_SEQPACKET, "seqpacket");

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    say("flags nonblock %d cloexec %d\n", (fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0,
        (fcntl(sv[1], F_GETFD) & FD_CLOEXEC) != 0);
    CHECK_ERR(read(sv[0], &c, 1), EAGAIN);
    CHECK_ERR(listen(sv[0], 1), EINVAL);
    CHECK_ERR(accept(sv[0], NULL, NULL), EINVAL);
    CHECK_ERR(accept4(sv[0], NULL, NULL, 0x4), EINVAL);
    CHECK_ERR(shutdown(sv[0], 7), EINVAL);
    say("ok\n");
    return 0;
}
