/* AF_UNIX names: pathname sockets are socket files in the tree (EADDRINUSE while the
 * file exists, unlink removes the name but not the socket, ECONNREFUSED once the
 * listener is gone, open is ENXIO), abstract names, autobind, the exact lengths
 * getsockname/getpeername/accept/recvfrom report, EPROTOTYPE, backlog and EAGAIN. */
#include "guest.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
}

static socklen_t mkabstract(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static char g_dir[] = "/tmp/sock_unix_names.XXXXXX";

static void show_name(const char *what, int fd, int peer)
{
    struct sockaddr_un a;
    memset(&a, 0x55, sizeof(a));
    socklen_t l = sizeof(a);
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &l)
                 : getsockname(fd, (struct sockaddr *)&a, &l);
    if (r < 0) {
        say("%s: %s\n", what, errno_name(errno));
        return;
    }
    if (l <= offsetof(struct sockaddr_un, sun_path))
        say("%s: len %u unnamed\n", what, l);
    else if (a.sun_path[0] && strncmp(a.sun_path, g_dir, strlen(g_dir)) == 0)
        say("%s: len %u path DIR%s\n", what, l, a.sun_path + strlen(g_dir));
    else if (a.sun_path[0])
        say("%s: len %u path %s\n", what, l, a.sun_path);
    else
        say("%s: len %u abstract %.*s\n", what, l,
            (int)(l - offsetof(struct sockaddr_un, sun_path) - 1), a.sun_path + 1);
}

int main(void)
{
    char *dir = g_dir;
    CHECK(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/srv", dir);
    struct sockaddr_un a, b;
    socklen_t al = mkaddr(&a, path);

    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(srv >= 0);
    CHECK_ERR(listen(srv, 1), EINVAL);   /* not bound */
    CHECK_ERR(bind(srv, (struct sockaddr *)&a, 1), EINVAL);
    CHECK_ERR(bind(srv, (struct sockaddr *)&a, sizeof(a) + 1), EINVAL);
    umask(022);
    CHECK(bind(srv, (struct sockaddr *)&a, al) == 0);
    /* bound already: the same path exists (EADDRINUSE, the node is made first), a
     * new one is EINVAL and is not left behind */
    CHECK_ERR(bind(srv, (struct sockaddr *)&a, al), EADDRINUSE);
    char path2[140];
    snprintf(path2, sizeof(path2), "%s/second", dir);
    socklen_t al2 = mkaddr(&b, path2);
    CHECK_ERR(bind(srv, (struct sockaddr *)&b, al2), EINVAL);
    CHECK_ERR(access(path2, F_OK), ENOENT);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    say("socket file: sock %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
    CHECK_ERR(open(path, O_RDWR), ENXIO);
    show_name("server name", srv, 0);
    show_name("server peer", srv, 1);

    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(other, (struct sockaddr *)&a, al), EADDRINUSE);
    close(other);

    /* nobody listens yet */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, al), ECONNREFUSED);
    CHECK(listen(srv, 1) == 0);
    int v = 0;
    socklen_t vl = sizeof(v);
    CHECK(getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0);
    say("acceptconn %d\n", v);
    CHECK(connect(c, (struct sockaddr *)&a, al) == 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, al), EISCONN);
    show_name("client name", c, 0);
    show_name("client peer", c, 1);
    /* connected before accept: data waits in the new socket */
    CHECK(write(c, "early", 5) == 5);
    memset(&b, 0, sizeof(b));
    socklen_t bl = sizeof(b);
    int acc = accept(srv, (struct sockaddr *)&b, &bl);
    CHECK(acc >= 0);
    say("accept addrlen %u\n", bl);
    show_name("accepted name", acc, 0);
    show_name("accepted peer", acc, 1);
    char buf[64];
    CHECK(read(acc, buf, sizeof(buf)) == 5);

    /* the wrong type */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(connect(d, (struct sockaddr *)&a, al), EPROTOTYPE);
    close(d);

    /* backlog: listen(0) holds one pending connection */
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c4 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(listen(srv, 0) == 0);
    CHECK(connect(c2, (struct sockaddr *)&a, al) == 0);
    errno = 0;
    int r3 = connect(c3, (struct sockaddr *)&a, al);
    say("second pending connect %d %s\n", r3, r3 < 0 ? errno_name(errno) : "");
    if (r3 == 0) {
        CHECK_ERR(connect(c4, (struct sockaddr *)&a, al), EAGAIN);
    }
    int a2 = accept4(srv, NULL, NULL, SOCK_NONBLOCK);
    CHECK(a2 >= 0);
    close(a2);

    /* unlink removes the name, not the socket */
    CHECK(unlink(path) == 0);
    CHECK(write(c, "after", 5) == 5);
    CHECK(read(acc, buf, sizeof(buf)) == 5);
    int c5 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c5, (struct sockaddr *)&a, al), ENOENT);
    show_name("server name after unlink", srv, 0);
    /* a new socket can take the name again; the old listener closes */
    int srv2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(srv2, (struct sockaddr *)&a, al) == 0);
    close(srv2);
    CHECK_ERR(connect(c5, (struct sockaddr *)&a, al), ECONNREFUSED);
    close(srv);
    CHECK(unlink(path) == 0);

    /* abstract names: no file; the name goes with the socket */
    socklen_t xl = mkabstract(&a, "sock_unix_names_test");
    int x = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(x, (struct sockaddr *)&a, xl) == 0);
    show_name("abstract name", x, 0);
    int y = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(bind(y, (struct sockaddr *)&a, xl), EADDRINUSE);
    /* unbound sender: recvfrom reports an unnamed source */
    CHECK(sendto(y, "d1", 2, 0, (struct sockaddr *)&a, xl) == 2);
    memset(&b, 0, sizeof(b));
    bl = sizeof(b);
    CHECK(recvfrom(x, buf, sizeof(buf), 0, (struct sockaddr *)&b, &bl) == 2);
    say("recvfrom unbound sender: addrlen %u\n", bl);
    /* autobind with a bare family */
    CHECK(bind(y, (struct sockaddr *)&a, sizeof(sa_family_t)) == 0);
    struct sockaddr_un yn;
    socklen_t yl = sizeof(yn);
    CHECK(getsockname(y, (struct sockaddr *)&yn, &yl) == 0);
    say("autobind: len %u abstract %d digits %d\n", yl, yn.sun_path[0] == 0,
        (int)strspn(yn.sun_path + 1, "0123456789abcdef") >= 5);
    CHECK(sendto(y, "d2", 2, 0, (struct sockaddr *)&a, xl) == 2);
    bl = sizeof(b);
    CHECK(recvfrom(x, buf, sizeof(buf), 0, (struct sockaddr *)&b, &bl) == 2);
    say("recvfrom autobound sender: addrlen %u same %d\n", bl,
        bl == yl && memcmp(&b, &yn, yl) == 0);
    /* a short address room is cut but the length is the full one */
    CHECK(sendto(y, "d3", 2, 0, (struct sockaddr *)&a, xl) == 2);
    bl = 4;
    CHECK(recvfrom(x, buf, sizeof(buf), 0, (struct sockaddr *)&b, &bl) == 2);
    say("short room addrlen %u\n", bl);
    /* the name is free again once the socket closes */
    close(x);
    CHECK_ERR(sendto(y, "d4", 2, 0, (struct sockaddr *)&a, xl), ECONNREFUSED);
    x = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(x, (struct sockaddr *)&a, xl) == 0);
    /* connected dgram: getpeername, and EPERM for a third party */
    CHECK(connect(y, (struct sockaddr *)&a, xl) == 0);
    show_name("dgram peer", y, 1);
    CHECK(connect(x, (struct sockaddr *)&yn, yl) == 0);
    int z = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(sendto(z, "z", 1, 0, (struct sockaddr *)&a, xl), EPERM);
    /* AF_UNSPEC disconnects */
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    CHECK(connect(y, &unspec, sizeof(unspec)) == 0);
    CHECK_ERR(send(y, "u", 1, 0), ENOTCONN);
    CHECK_ERR(getpeername(y, (struct sockaddr *)&b, &bl), ENOTCONN);

    /* pathname dgram with a relative path */
    CHECK(chdir(dir) == 0);
    int p1 = socket(AF_UNIX, SOCK_DGRAM, 0);
    socklen_t pl = mkaddr(&a, "rel");
    CHECK(bind(p1, (struct sockaddr *)&a, pl) == 0);
    show_name("relative name", p1, 0);
    int p2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(sendto(p2, "r", 1, 0, (struct sockaddr *)&a, pl) == 1);
    CHECK(recv(p1, buf, 1, 0) == 1);
    CHECK(unlink("rel") == 0);
    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
    say("ok\n");
    return 0;
}
