/* inotify: the events of create, open, read, write, close, attribute changes,
 * renames (MOVED_FROM/MOVED_TO with one cookie, MOVE_SELF), links, unlink and rmdir
 * (DELETE, DELETE_SELF, IGNORED), for a watched directory and a watched file at
 * once, in Linux's order; coalescing, IN_ONESHOT, IN_MASK_ADD/IN_MASK_CREATE,
 * IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, rm_watch, FIONREAD, short buffers,
 * non-blocking and blocking reads, and the queue overflow at 16384 events. With the
 * argument "tmpfs" all of it runs on a tmpfs mounted there (root only natively),
 * and unmounting it sends IN_UNMOUNT. */
// runs: | tmpfs
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

static char dir[64];
static int wds[64];
static const char *wd_names[64];
static int nwds;

static const char *P(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

static const char *res(long r) { return r < 0 ? errno_name(errno) : "ok"; }

static void name_wd(int wd, const char *name)
{
    for (int i = 0; i < nwds; i++)
        if (wds[i] == wd) {
            wd_names[i] = name;
            return;
        }
    CHECK(nwds < 64);
    wds[nwds] = wd;
    wd_names[nwds++] = name;
}

static const char *wd_name(int wd)
{
    if (wd == -1)
        return "-1";
    for (int i = 0; i < nwds; i++)
        if (wds[i] == wd)
            return wd_names[i];
    return "?";
}

static void put_mask(uint32_t m)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        { IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
        { IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
        { IN_OPEN, "OPEN" }, { IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" },
        { IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" },
        { IN_MOVE_SELF, "MOVE_SELF" }, { IN_UNMOUNT, "UNMOUNT" },
        { IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
    };
    int first = 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (m & names[i].bit) {
            printf("%s%s", first ? "" : "|", names[i].name);
            first = 0;
            m &= ~names[i].bit;
        }
    if (m)
        printf("%s0x%x", first ? "" : "|", m);
}

static uint32_t last_cookie;

/* drain: reads and prints every queued event (fd is non-blocking). Move events
 * print "cookie" when the cookie equals the previous move event's. */
static void drain(int fd, const char *title)
{
    printf("%s:\n", title);
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno != EAGAIN)
                printf("  read: %s\n", errno_name(errno));
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf("  %s ", wd_name(e->wd));
            put_mask(e->mask);
            if (e->len)
                printf(" %s", e->name);
            if (e->mask & (IN_MOVED_FROM | IN_MOVED_TO)) {
                printf(e->cookie && e->cookie == last_cookie ? " same-cookie" : " cookie");
                last_cookie = e->cookie;
            } else if (e->cookie) {
                printf(" cookie?");
            }
            printf(" len=%u\n", e->len);
            p += sizeof(*e) + e->len;
        }
    }
}

static void put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(close(fd) == 0);
}

static void basics(int fd)
{
    int wdd = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    CHECK(wdd > 0);
    name_wd(wdd, "dir");
    printf("watch again, same wd: %d\n", inotify_add_watch(fd, dir, IN_ALL_EVENTS) == wdd);
    drain(fd, "nothing yet");

    int f = open(P("a"), O_WRONLY | O_CREAT, 0644);
    CHECK(f >= 0);
    CHECK(write(f, "abc", 3) == 3);
    CHECK(write(f, "def", 3) == 3);
    CHECK(close(f) == 0);
    drain(fd, "create, two writes, close");

    int wdf = inotify_add_watch(fd, P("a"), IN_ALL_EVENTS);
    CHECK(wdf > 0 && wdf != wdd);
    name_wd(wdf, "file");
    char buf[8];
    f = open(P("a"), O_RDONLY);
    CHECK(f >= 0);
    CHECK(read(f, buf, 2) == 2);
    CHECK(read(f, buf, 2) == 2);
    CHECK(read(f, buf, 8) == 2);
    CHECK(read(f, buf, 8) == 0);
    CHECK(close(f) == 0);
    drain(fd, "open, reads, close (dir and file watched)");

    CHECK(chmod(P("a"), 0600) == 0);
    CHECK(truncate(P("a"), 1) == 0);
    struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
    CHECK(utimensat(AT_FDCWD, P("a"), ts, 0) == 0);
    f = open(P("a"), O_WRONLY | O_TRUNC);
    CHECK(f >= 0);
    CHECK(close(f) == 0);
    drain(fd, "chmod, truncate, utimensat, open O_TRUNC");

    int pending = -1;
    CHECK(rename(P("a"), P("b")) == 0);
    CHECK(ioctl(fd, FIONREAD, &pending) == 0);
    printf("FIONREAD after rename: %d\n", pending);
    drain(fd, "rename a b");

    CHECK(link(P("b"), P("c")) == 0);
    CHECK(unlink(P("c")) == 0);
    drain(fd, "link b c, unlink c");

    CHECK(unlink(P("b")) == 0);
    drain(fd, "unlink b");
    CHECK(ioctl(fd, FIONREAD, &pending) == 0);
    printf("FIONREAD empty: %d\n", pending);

    CHECK(mkdir(P("sub"), 0755) == 0);
    CHECK(symlink("b", P("sym")) == 0);
    CHECK(rename(P("sym"), P("sub/sym")) == 0);
    CHECK(unlink(P("sub/sym")) == 0);
    CHECK(rmdir(P("sub")) == 0);
    drain(fd, "mkdir, symlink, rename into sub, unlink there, rmdir");

    DIR *d = opendir(dir);
    CHECK(d != NULL);
    while (readdir(d))
        ;
    closedir(d);
    drain(fd, "opendir, readdir, closedir");

    /* a watched directory of its own: its events carry IN_ISDIR, but not the two
     * self events */
    CHECK(mkdir(P("sub2"), 0755) == 0);
    name_wd(inotify_add_watch(fd, P("sub2"), IN_ALL_EVENTS), "sub");
    CHECK(chmod(P("sub2"), 0700) == 0);
    CHECK(rename(P("sub2"), P("sub3")) == 0);
    put_file(P("sub3/inner"), "");
    CHECK(unlink(P("sub3/inner")) == 0);
    CHECK(rmdir(P("sub3")) == 0);
    drain(fd, "watched subdirectory: chmod, rename, a file in it, rmdir");

    /* a file unlinked while open is deleted at its last close */
    put_file(P("open"), "x");
    int wdo = inotify_add_watch(fd, P("open"), IN_ALL_EVENTS);
    name_wd(wdo, "open");
    f = open(P("open"), O_RDONLY);
    CHECK(f >= 0);
    drain(fd, "create open, watch it, open it");
    CHECK(unlink(P("open")) == 0);
    drain(fd, "unlink while open");
    CHECK(close(f) == 0);
    drain(fd, "last close");

    /* rm_watch */
    printf("rm_watch dir: %s\n", res(inotify_rm_watch(fd, wdd)));
    printf("rm_watch again: %s\n", res(inotify_rm_watch(fd, wdd)));
    drain(fd, "after rm_watch");
    put_file(P("quiet"), "q");
    drain(fd, "nothing watched");
    CHECK(unlink(P("quiet")) == 0);
}

static void flags(int fd)
{
    put_file(P("f"), "data");
    CHECK(symlink("f", P("l")) == 0);
    printf("mask 0: %s\n", res(inotify_add_watch(fd, P("f"), 0)));
    printf("only flags: %s\n", res(inotify_add_watch(fd, P("f"), IN_ONESHOT)));
    printf("unknown bit: %s\n", res(inotify_add_watch(fd, P("f"), IN_OPEN | 0x00800000)));
    printf("ONLYDIR on a file: %s\n",
           res(inotify_add_watch(fd, P("f"), IN_ONLYDIR | IN_OPEN)));
    printf("missing: %s\n", res(inotify_add_watch(fd, P("nope"), IN_OPEN)));
    printf("MASK_ADD|MASK_CREATE: %s\n",
           res(inotify_add_watch(fd, P("f"), IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE)));
    printf("not inotify fd: %s\n", res(inotify_add_watch(1, P("f"), IN_OPEN)));
    printf("bad fd: %s\n", res(inotify_add_watch(-1, P("f"), IN_OPEN)));
    printf("rm_watch not inotify: %s\n", res(inotify_rm_watch(1, 1)));
    printf("rm_watch bad fd: %s\n", res(inotify_rm_watch(-1, 1)));
    printf("rm_watch bad wd: %s\n", res(inotify_rm_watch(fd, 12345)));
    printf("bad path pointer: %s\n",
           res(syscall(SYS_inotify_add_watch, fd, (char *)8, (long)IN_OPEN)));

    /* IN_DONT_FOLLOW watches the link itself: opening through it is not its event */
    int wl = inotify_add_watch(fd, P("l"), IN_OPEN | IN_ATTRIB | IN_DONT_FOLLOW);
    CHECK(wl > 0);
    name_wd(wl, "link");
    int w = inotify_add_watch(fd, P("l"), IN_OPEN);   /* follows: the file */
    CHECK(w > 0 && w != wl);
    name_wd(w, "f");
    close(open(P("l"), O_RDONLY));
    drain(fd, "open through the link");

    /* replace, add to, and refuse to change a mask */
    printf("replace mask: same wd %d\n",
           inotify_add_watch(fd, P("f"), IN_CLOSE_NOWRITE) == w);
    close(open(P("f"), O_RDONLY));
    drain(fd, "only CLOSE_NOWRITE");
    printf("MASK_ADD: same wd %d\n",
           inotify_add_watch(fd, P("f"), IN_OPEN | IN_MASK_ADD) == w);
    close(open(P("f"), O_RDONLY));
    drain(fd, "OPEN and CLOSE_NOWRITE");
    printf("MASK_CREATE on watched: %s\n",
           res(inotify_add_watch(fd, P("f"), IN_OPEN | IN_MASK_CREATE)));

    /* ONESHOT: the first event, then IGNORED */
    CHECK(inotify_rm_watch(fd, w) == 0);
    CHECK(inotify_rm_watch(fd, wl) == 0);
    drain(fd, "two rm_watch");
    w = inotify_add_watch(fd, P("f"), IN_OPEN | IN_CLOSE_NOWRITE | IN_ONESHOT);
    name_wd(w, "oneshot");
    close(open(P("f"), O_RDONLY));
    close(open(P("f"), O_RDONLY));
    drain(fd, "ONESHOT, two opens");
    printf("rm_watch after oneshot: %s\n", res(inotify_rm_watch(fd, w)));

    /* IN_EXCL_UNLINK: no more events about a child once it is unlinked */
    int wd = inotify_add_watch(fd, dir, IN_ALL_EVENTS | IN_EXCL_UNLINK);
    name_wd(wd, "dir");
    int f = open(P("f"), O_RDWR);
    CHECK(f >= 0);
    CHECK(unlink(P("f")) == 0);
    CHECK(write(f, "x", 1) == 1);
    CHECK(close(f) == 0);
    CHECK(unlink(P("l")) == 0);
    drain(fd, "EXCL_UNLINK: open, unlink, write, close");
    CHECK(inotify_rm_watch(fd, wd) == 0);
    drain(fd, "rm_watch");
}

static void reads(int fd)
{
    int wd = inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE);
    name_wd(wd, "dir");
    put_file(P("a-long-name-of-twenty"), "");
    char small[sizeof(struct inotify_event) + 4];
    printf("read 0 bytes: %s\n", res(read(fd, small, 0)));
    printf("read too small: %s\n", res(read(fd, small, sizeof(small))));
    int pending = 0;
    CHECK(ioctl(fd, FIONREAD, &pending) == 0);
    printf("FIONREAD: %d\n", pending);
    printf("read bad buffer: %s\n", res(syscall(SYS_read, fd, (char *)8, 4096L)));
    drain(fd, "after a faulting read");
    CHECK(unlink(P("a-long-name-of-twenty")) == 0);
    /* two events and room for one and a half */
    put_file(P("x"), "");
    char buf[sizeof(struct inotify_event) * 2 + 47];
    ssize_t n = read(fd, buf, sizeof(buf));
    printf("read with room for one of two: %zd\n", n);
    drain(fd, "the rest");
    CHECK(unlink(P("x")) == 0);
    drain(fd, "unlink x");

    /* blocking: a child makes the event a moment later */
    int bfd = inotify_init();
    CHECK(bfd >= 0);
    CHECK(inotify_add_watch(bfd, dir, IN_CREATE) > 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct timespec t = { 0, 100 * 1000 * 1000 };
        nanosleep(&t, NULL);
        put_file(P("late"), "");
        _exit(0);
    }
    char ebuf[256] __attribute__((aligned(8)));
    n = read(bfd, ebuf, sizeof(ebuf));
    struct inotify_event *e = (struct inotify_event *)ebuf;
    printf("blocking read: %s", n > 0 ? "" : errno_name(errno));
    if (n > 0) {
        put_mask(e->mask);
        printf(" %s\n", e->name);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(close(bfd) == 0);
    CHECK(unlink(P("late")) == 0);
    CHECK(inotify_rm_watch(fd, wd) == 0);
    drain(fd, "rm_watch");
}

static void overflow(int fd)
{
    put_file(P("o"), "");
    int wd = inotify_add_watch(fd, P("o"), IN_OPEN | IN_CLOSE_NOWRITE);
    name_wd(wd, "o");
    /* open and close alternate, so nothing coalesces: 16600 events */
    for (int i = 0; i < 8300; i++) {
        int f = open(P("o"), O_RDONLY);
        if (f < 0) { printf("open %d: %s\n", i, errno_name(errno)); break; }
        CHECK(close(f) == 0);
    }
    int pending = 0;
    CHECK(ioctl(fd, FIONREAD, &pending) == 0);
    printf("overflow: FIONREAD %d\n", pending);
    static char buf[65536] __attribute__((aligned(8)));
    long events = 0, last_wd = 0;
    uint32_t last_mask = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            events++;
            last_wd = e->wd;
            last_mask = e->mask;
            p += sizeof(*e) + e->len;
        }
    printf("overflow: %ld events, last wd %ld mask ", events, last_wd);
    put_mask(last_mask);
    printf("\n");
    close(open(P("o"), O_RDONLY));
    drain(fd, "after the overflow was read");
    CHECK(unlink(P("o")) == 0);
    drain(fd, "unlink o");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(dir, sizeof(dir), "/tmp/fs_inotify.%d", getpid());
    CHECK(mkdir(dir, 0755) == 0);
    int on_tmpfs = argc > 1 && strcmp(argv[1], "tmpfs") == 0;
    if (on_tmpfs) {
        /* the same on a tmpfs of its own (natively: root, private mount namespace) */
        if (geteuid() != 0) {
            rmdir(dir);
            guest_skip("needs root");
        }
        if (unshare(CLONE_NEWNS) == 0)
            CHECK(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        CHECK(mount("none", dir, "tmpfs", 0, NULL) == 0);
    }

    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(fd >= 0);
    printf("flags: nonblock %d cloexec %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0,
           (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    printf("init1 bad flags: %s\n", res(inotify_init1(IN_ONESHOT)));
    char link[64], path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t ln = readlink(path, link, sizeof(link) - 1);
    printf("fd link: %.*s\n", (int)(ln > 0 ? ln : 0), link);
    printf("empty read: %s\n", res(read(fd, link, sizeof(link))));

    basics(fd);
    flags(fd);
    reads(fd);
    overflow(fd);

    /* the watched directory itself goes */
    int wd = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    name_wd(wd, "dir");
    if (on_tmpfs) {
        CHECK(umount2(dir, 0) == 0);
        put_file(P("after-umount"), "");
        CHECK(unlink(P("after-umount")) == 0);
        drain(fd, "the mount's root was watched; the directory below it was not");
    }
    CHECK(rmdir(dir) == 0);
    drain(fd, "rmdir of the watched directory");
    CHECK(close(fd) == 0);
    return 0;
}
