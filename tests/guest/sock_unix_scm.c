/* AF_UNIX control messages: SCM_RIGHTS (a pipe end, the socket itself, many fds,
 * MSG_CMSG_CLOEXEC, MSG_CTRUNC when the room is short, a stream read stopping after
 * the message that carried files, MSG_PEEK duplicating them), SCM_CREDENTIALS with
 * SO_PASSCRED, SO_PEERCRED after socketpair and connect, and bad control data. */
#include "guest.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static ssize_t send_fds(int s, const int *fds, int n, const char *data)
{
    char ctl[CMSG_SPACE(sizeof(int) * 256)];
    memset(ctl, 0, sizeof(ctl));
    struct iovec iov = { (void *)data, strlen(data) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return syscall(SYS_sendmsg, s, &m, 0);   /* musl's sendmsg caps control at 1 KiB */
}

/* recv_fds: receives into buf with control room for room fds; returns the count of
 * fds received in *nfds and the data length. */
static ssize_t recv_fds(int s, char *buf, size_t len, int *fds, int room, int *nfds,
                        int flags, int *mflags)
{
    char ctl[CMSG_SPACE(sizeof(int) * 256)];
    struct iovec iov = { buf, len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = room ? CMSG_SPACE(sizeof(int) * room) : 0 };
    if (room < 0)
        m.msg_controllen = sizeof(struct cmsghdr) + 2;
    ssize_t r = recvmsg(s, &m, flags);
    *nfds = 0;
    if (r < 0)
        return r;
    *mflags = m.msg_flags;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds + *nfds, CMSG_DATA(c), sizeof(int) * n);
            *nfds += n;
        }
    }
    return r;
}

int main(void)
{
    int sv[2], p[2], fds[256], n, mf;
    char buf[64];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(pipe(p) == 0);

    /* a pipe's write end crosses; writing through the received fd reaches the pipe */
    CHECK(send_fds(sv[0], &p[1], 1, "A") == 1);
    ssize_t r = recv_fds(sv[1], buf, sizeof(buf), fds, 4, &n, 0, &mf);
    say("rights: data %zd fds %d flags %#x cloexec %d\n", r, n, mf,
        (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(n == 1 && fds[0] != p[1]);
    CHECK(write(fds[0], "via", 3) == 3);
    CHECK(read(p[0], buf, 3) == 3);
    close(fds[0]);

    /* MSG_CMSG_CLOEXEC */
    CHECK(send_fds(sv[0], &p[1], 1, "B") == 1);
    recv_fds(sv[1], buf, sizeof(buf), fds, 4, &n, MSG_CMSG_CLOEXEC, &mf);
    say("cmsg_cloexec: fds %d cloexec %d\n", n, (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0);
    close(fds[0]);

    /* short room: MSG_CTRUNC, the ones that fit arrive */
    int three[3] = { p[0], p[1], sv[0] };
    CHECK(send_fds(sv[0], three, 3, "C") == 1);
    recv_fds(sv[1], buf, sizeof(buf), fds, 2, &n, 0, &mf);
    say("short room: fds %d ctrunc %d\n", n, (mf & MSG_CTRUNC) != 0);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    CHECK(send_fds(sv[0], three, 3, "D") == 1);
    recv_fds(sv[1], buf, sizeof(buf), fds, 0, &n, 0, &mf);
    say("no room: fds %d ctrunc %d\n", n, (mf & MSG_CTRUNC) != 0);

    /* a stream read stops after the piece that carried files */
    CHECK(write(sv[0], "xx", 2) == 2);
    CHECK(send_fds(sv[0], &p[0], 1, "yy") == 2);
    CHECK(write(sv[0], "zz", 2) == 2);
    r = recv_fds(sv[1], buf, sizeof(buf), fds, 4, &n, 0, &mf);
    say("stream stop: data %zd fds %d\n", r, n);
    close(fds[0]);
    r = recv_fds(sv[1], buf, sizeof(buf), fds, 4, &n, 0, &mf);
    say("stream rest: data %zd fds %d\n", r, n);

    /* MSG_PEEK duplicates the files; the real read gets them again */
    CHECK(send_fds(sv[0], &p[0], 1, "P") == 1);
    recv_fds(sv[1], buf, sizeof(buf), fds, 4, &n, MSG_PEEK, &mf);
    say("peek: fds %d\n", n);
    close(fds[0]);
    recv_fds(sv[1], buf, sizeof(buf), fds, 4, &n, 0, &mf);
    say("after peek: fds %d\n", n);
    close(fds[0]);

    /* 253 fds is the most; 254 is EINVAL; a closed fd is EBADF */
    for (int i = 0; i < 254; i++)
        fds[i] = p[0];
    CHECK(send_fds(sv[0], fds, 253, "M") == 1);
    int got[256];
    recv_fds(sv[1], buf, sizeof(buf), got, 253, &n, 0, &mf);
    say("max: fds %d ctrunc %d\n", n, (mf & MSG_CTRUNC) != 0);
    for (int i = 0; i < n; i++)
        close(got[i]);
    CHECK_ERR(send_fds(sv[0], fds, 254, "M"), EINVAL);
    int bad = 1000;
    CHECK_ERR(send_fds(sv[0], &bad, 1, "M"), EBADF);
    /* malformed control data */
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof(ctl));
    struct iovec iov = { "m", 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_len = sizeof(ctl) + 8;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_type = 77;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_level = 99;   /* other levels are skipped */
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    CHECK(read(sv[1], buf, 1) == 1);

    /* the socket passes itself, then closes its own fds: no crash, no hang */
    int s2[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, s2) == 0);
    CHECK(send_fds(s2[0], &s2[0], 1, "self") == 4);
    CHECK(send_fds(s2[0], &s2[1], 1, "peer") == 4);
    recv_fds(s2[1], buf, sizeof(buf), fds, 4, &n, 0, &mf);
    say("self pass: fds %d\n", n);
    CHECK(write(fds[0], "back", 4) == 4);   /* the received s2[0] still works */
    CHECK(read(s2[1], buf, sizeof(buf)) == 4);
    close(fds[0]);
    close(s2[0]);
    close(s2[1]);

    /* credentials */
    int on = 1;
    int cs[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, cs) == 0);
    CHECK(setsockopt(cs[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0);
    CHECK(write(cs[0], "c", 1) == 1);
    char cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec ci = { buf, sizeof(buf) };
    struct msghdr cm = { .msg_iov = &ci, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof(cbuf) };
    CHECK(recvmsg(cs[1], &cm, 0) == 1);
    c = CMSG_FIRSTHDR(&cm);
    CHECK(c && c->cmsg_type == SCM_CREDENTIALS);
    struct ucred uc;
    memcpy(&uc, CMSG_DATA(c), sizeof(uc));
    say("creds: len ok %d pid %d uid %d gid %d\n", c->cmsg_len == CMSG_LEN(sizeof(uc)),
        uc.pid == getpid(), uc.uid == getuid(), uc.gid == getgid());
    /* explicit creds: our own are accepted */
    memset(cbuf, 0, sizeof(cbuf));
    cm.msg_controllen = sizeof(cbuf);
    c = CMSG_FIRSTHDR(&cm);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(uc));
    uc = (struct ucred){ getpid(), getuid(), getgid() };
    memcpy(CMSG_DATA(c), &uc, sizeof(uc));
    ci.iov_len = 1;
    CHECK(sendmsg(cs[0], &cm, 0) == 1);
    c->cmsg_len = CMSG_LEN(sizeof(uc)) - 1;
    CHECK_ERR(sendmsg(cs[0], &cm, 0), EINVAL);
    ci.iov_len = sizeof(buf);
    cm.msg_controllen = sizeof(cbuf);
    CHECK(recvmsg(cs[1], &cm, 0) == 1);
    say("explicit creds received %d\n", CMSG_FIRSTHDR(&cm) != NULL);
    /* a short room: MSG_CTRUNC */
    CHECK(write(cs[0], "c", 1) == 1);
    cm.msg_controllen = sizeof(struct cmsghdr) + 4;
    CHECK(recvmsg(cs[1], &cm, 0) == 1);
    say("short creds room ctrunc %d\n", (cm.msg_flags & MSG_CTRUNC) != 0);

    /* SO_PEERCRED: socketpair, and both ends of a connection */
    socklen_t l = sizeof(uc);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0);
    say("peercred pair: pid %d uid %d gid %d\n", uc.pid == getpid(), uc.uid == geteuid(),
        uc.gid == getegid());
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path + 1, "sock_unix_scm");
    socklen_t al = offsetof(struct sockaddr_un, sun_path) + 1 + strlen("sock_unix_scm");
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(srv, (struct sockaddr *)&a, al) == 0);
    CHECK(listen(srv, 4) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        int cl = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(connect(cl, (struct sockaddr *)&a, al) == 0);
        struct ucred pc;
        socklen_t pl = sizeof(pc);
        CHECK(getsockopt(cl, SOL_SOCKET, SO_PEERCRED, &pc, &pl) == 0);
        char b = pc.pid == getppid();   /* the listener's creds */
        CHECK(write(cl, &b, 1) == 1);
        CHECK(read(cl, &b, 1) == 1);
        _exit(0);
    }
    int acc = accept(srv, NULL, NULL);
    CHECK(acc >= 0);
    l = sizeof(uc);
    CHECK(getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0);
    char cb;
    CHECK(read(acc, &cb, 1) == 1);
    say("peercred connect: server sees child %d, child sees server %d\n", uc.pid == child,
        cb);
    CHECK(write(acc, "q", 1) == 1);
    int st;
    CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    say("ok\n");
    return 0;
}
