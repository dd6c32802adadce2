/* epoll: create and ctl errors (EPERM for files without poll, EEXIST, ENOENT, EBADF,
 * EINVAL on itself and for EPOLLEXCLUSIVE misuse), level- vs edge-triggered after a
 * partial read, EPOLLONESHOT needing EPOLL_CTL_MOD, EPOLLHUP/EPOLLRDHUP and EPOLLERR
 * on pipes, the data field, nested instances (readiness, ELOOP, the depth limit),
 * registrations that live as long as the open file (dup, close), maxevents smaller
 * than the ready set, timeouts, and 1000 pipes served by one epoll set while a thread
 * writes to them. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>

static const char *evnames(uint32_t ev)
{
    static char bufs[4][128];
    static int next;
    char *buf = bufs[next++ % 4];
    static const struct { uint32_t bit; const char *name; } tab[] = {
        { EPOLLIN, "IN" }, { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" }, { EPOLLERR, "ERR" },
        { EPOLLHUP, "HUP" }, { EPOLLRDNORM, "RDNORM" }, { EPOLLWRNORM, "WRNORM" },
        { EPOLLRDHUP, "RDHUP" },
    };
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (ev & tab[i].bit) {
            if (buf[0])
                strcat(buf, "|");
            strcat(buf, tab[i].name);
        }
    return buf[0] ? buf : "0";
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* wait0: one epoll_wait with timeout 0 for at most max events; prints them */
static int wait0(const char *what, int ep, int max)
{
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, max, 0);
    say("%-36s n=%d", what, n);
    for (int i = 0; i < n; i++)
        say(" [%llu %s]", (unsigned long long)evs[i].data.u64, evnames(evs[i].events));
    say("\n");
    return n;
}

static const char *err_of(int r)
{
    return r == 0 ? "0" : errno_name(errno);
}

static void errors(void)
{
    /* the raw call: musl's epoll_create() ignores the size */
    CHECK_ERR(syscall(SYS_epoll_create, 0), EINVAL);
    CHECK_ERR(syscall(SYS_epoll_create, -1), EINVAL);
    CHECK_ERR(epoll_create1(1), EINVAL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    say("epoll_create1(EPOLL_CLOEXEC): cloexec=%d, O_RDWR=%d\n",
        fcntl(ep, F_GETFD) == FD_CLOEXEC, (fcntl(ep, F_GETFL) & O_ACCMODE) == O_RDWR);
    int ep2 = (int)syscall(SYS_epoll_create, 1);
    CHECK(ep2 >= 0);

    /* files without a poll method are refused, files with one are not */
    static const char *paths[] = { "/proc/self/exe", "/", "/dev/null", "/proc/meminfo",
                                   "/proc/self/status", "/proc/self/mounts" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int fd = open(paths[i], O_RDONLY);
        CHECK(fd >= 0);
        errno = 0;
        int r = add(ep, fd, EPOLLIN, 0);
        say("add %-20s %s\n", paths[i], err_of(r));
        close(fd);
    }

    int p[2];
    CHECK(pipe(p) == 0);
    errno = 0;
    say("add itself: %s\n", err_of(add(ep, ep, EPOLLIN, 0)));
    say("epfd not an epoll: %s\n", err_of(add(p[0], p[1], EPOLLIN, 0)));
    say("bad epfd: %s\n", err_of(add(999, p[0], EPOLLIN, 0)));
    say("bad fd: %s\n", err_of(add(ep, 999, EPOLLIN, 0)));
    say("add: %s\n", err_of(add(ep, p[0], EPOLLIN, 1)));
    say("add again: %s\n", err_of(add(ep, p[0], EPOLLIN, 1)));
    say("mod unknown: %s\n", err_of(mod(ep, p[1], EPOLLOUT, 2)));
    say("del unknown: %s\n", err_of(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    say("bad op: %s\n", err_of(epoll_ctl(ep, 99, p[0], &(struct epoll_event){ 0 })));
    say("add with NULL event: %s\n", err_of(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], NULL)));
    say("del with NULL event: %s\n", err_of(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));

    /* EPOLLEXCLUSIVE: only at ADD, only with in/out/err/hup/et, not on an epoll */
    say("exclusive mod: %s\n", err_of(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0)));
    say("exclusive + oneshot: %s\n",
        err_of(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)));
    say("exclusive on an epoll: %s\n", err_of(add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 0)));
    say("exclusive add: %s\n", err_of(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, 3)));
    say("mod of an exclusive item: %s\n", err_of(mod(ep, p[0], EPOLLIN, 3)));

    /* epoll_wait's checks */
    struct epoll_event evs[2];
    say("wait maxevents 0: %s\n", err_of(epoll_wait(ep, evs, 0, 0)));
    say("wait maxevents -1: %s\n", err_of((int)syscall(SYS_epoll_wait, ep, evs, -1, 0)));
    say("wait on a pipe: %s\n", err_of(epoll_wait(p[0], evs, 2, 0)));
    say("wait on a bad fd: %s\n", err_of(epoll_wait(999, evs, 2, 0)));
    say("wait into kernel space: %s\n",
        err_of((int)syscall(SYS_epoll_wait, ep, 0xffff800000000000UL, 2, 0)));
    CHECK(write(p[1], "x", 1) == 1);
    say("wait into an unmapped page: %s\n",
        err_of((int)syscall(SYS_epoll_wait, ep, 8L, 2, 0)));
    say("then still there: n=%d\n", epoll_wait(ep, evs, 2, 0));

    /* the epoll file itself */
    char c;
    say("read an epoll fd: %s\n", err_of((int)read(ep, &c, 1)));
    say("lseek an epoll fd: %ld\n", (long)lseek(ep, 0, SEEK_SET));
    close(p[0]);
    close(p[1]);
    close(ep);
    close(ep2);
}

/* level- vs edge-triggered: after a partial read the fd is reported again only in
 * level mode; new data makes an edge */
static void level_edge(void)
{
    for (int et = 0; et < 2; et++) {
        int ep = epoll_create1(0), p[2];
        CHECK(ep >= 0 && pipe(p) == 0);
        CHECK(add(ep, p[0], EPOLLIN | (et ? EPOLLET : 0), 7) == 0);
        const char *m = et ? "edge" : "level";
        say("%s: ", m);
        wait0("empty", ep, 8);
        CHECK(write(p[1], "ab", 2) == 2);
        say("%s: ", m);
        wait0("2 bytes written", ep, 8);
        char c;
        CHECK(read(p[0], &c, 1) == 1);
        say("%s: ", m);
        wait0("after reading 1 of 2", ep, 8);
        say("%s: ", m);
        wait0("again", ep, 8);
        CHECK(write(p[1], "c", 1) == 1);
        say("%s: ", m);
        wait0("1 more byte written", ep, 8);
        close(p[0]);
        close(p[1]);
        close(ep);
    }
}

static void oneshot(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0 && pipe(p) == 0);
    CHECK(add(ep, p[0], EPOLLIN | EPOLLONESHOT, 11) == 0);
    CHECK(write(p[1], "a", 1) == 1);
    wait0("oneshot: ready", ep, 8);
    wait0("oneshot: disabled", ep, 8);
    CHECK(write(p[1], "b", 1) == 1);
    wait0("oneshot: disabled, more data", ep, 8);
    CHECK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 12) == 0);
    wait0("oneshot: re-armed by MOD", ep, 8);
    wait0("oneshot: disabled again", ep, 8);
    close(p[1]);
    wait0("oneshot: disabled, writer gone", ep, 8);
    close(p[0]);
    close(ep);
}

static void hangups(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0 && pipe(p) == 0);
    CHECK(add(ep, p[0], EPOLLIN | EPOLLRDHUP, 21) == 0);
    CHECK(add(ep, p[1], EPOLLOUT, 22) == 0);
    wait0("pipe, both ends", ep, 8);
    CHECK(close(p[1]) == 0);
    wait0("writer closed", ep, 8);
    close(p[0]);
    close(ep);

    ep = epoll_create1(0);
    CHECK(ep >= 0 && pipe(p) == 0);
    CHECK(add(ep, p[1], EPOLLOUT | EPOLLET, 23) == 0);
    wait0("write end", ep, 8);
    wait0("write end, edge consumed", ep, 8);
    close(p[0]);
    wait0("reader closed", ep, 8);
    close(p[1]);
    close(ep);

    /* data: all 64 bits come back */
    ep = epoll_create1(0);
    int e = eventfd(1, 0);
    CHECK(ep >= 0 && e >= 0);
    CHECK(add(ep, e, EPOLLIN | EPOLLOUT, 0x8123456789abcdefULL) == 0);
    wait0("eventfd, 64-bit data", ep, 8);
    close(e);
    close(ep);
}

static void nested(void)
{
    int inner = epoll_create1(0), outer = epoll_create1(0), p[2];
    CHECK(inner >= 0 && outer >= 0 && pipe(p) == 0);
    CHECK(add(inner, p[0], EPOLLIN, 31) == 0);
    CHECK(add(outer, inner, EPOLLIN, 32) == 0);
    wait0("nested: nothing", outer, 8);
    struct pollfd pf = { inner, POLLIN | POLLOUT, 0 };
    int n = poll(&pf, 1, 0);
    say("poll on the inner epoll: %d %#x\n", n, pf.revents);
    CHECK(write(p[1], "x", 1) == 1);
    wait0("nested: pipe written", outer, 8);
    n = poll(&pf, 1, 0);
    say("poll on the inner epoll: %d %#x\n", n, pf.revents);
    wait0("nested: inner", inner, 8);
    errno = 0;
    say("outer into inner (a loop): %s\n", err_of(add(inner, outer, EPOLLIN, 0)));
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    wait0("nested: pipe drained", outer, 8);
    close(p[0]);
    close(p[1]);
    close(inner);
    close(outer);

    /* a chain: e[i] watches e[i-1], e[0] a pipe; too deep is ELOOP */
    int e[8];
    CHECK(pipe(p) == 0);
    for (int i = 0; i < 8; i++)
        CHECK((e[i] = epoll_create1(0)) >= 0);
    CHECK(add(e[0], p[0], EPOLLIN, 0) == 0);
    say("chain:");
    for (int i = 1; i < 8; i++) {
        errno = 0;
        say(" %d:%s", i, err_of(add(e[i], e[i - 1], EPOLLIN, 0)));
    }
    say("\n");
    /* and from the top: adding a new one above the deepest link that took */
    int top = epoll_create1(0);
    say("above e[3]: %s\n", err_of(add(top, e[3], EPOLLIN, 0)));
    say("above e[4]: %s\n", err_of(add(top, e[4], EPOLLIN, 0)));
    close(top);
    for (int i = 0; i < 8; i++)
        close(e[i]);
    close(p[0]);
    close(p[1]);
}

/* the registration belongs to the open file: a dup keeps it alive after the fd it
 * was made with is closed; it goes with the last reference */
static void closing(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0 && pipe(p) == 0);
    CHECK(add(ep, p[0], EPOLLIN, 41) == 0);
    CHECK(write(p[1], "x", 1) == 1);
    int d = dup(p[0]);
    CHECK(d >= 0);
    close(p[0]);
    wait0("closed, a dup remains", ep, 8);
    say("del by the closed fd: %s\n", err_of(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    say("del by the dup: %s\n", err_of(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL)));
    say("re-add by the dup: %s\n", err_of(add(ep, d, EPOLLIN, 42)));
    close(d);
    wait0("last reference closed", ep, 8);
    /* a new file at the same number is a new registration */
    int q[2];
    CHECK(pipe(q) == 0);
    say("add a new pipe: %s\n", err_of(add(ep, q[0], EPOLLIN, 43)));
    CHECK(write(q[1], "y", 1) == 1);
    wait0("new pipe", ep, 8);
    close(q[0]);
    close(q[1]);
    close(p[1]);
    /* closing the epoll itself with items left is fine */
    CHECK(pipe(q) == 0);
    CHECK(add(ep, q[0], EPOLLIN, 44) == 0);
    CHECK(close(ep) == 0);
    close(q[0]);
    close(q[1]);
    say("closed an epoll with items\n");
}

static void many_ready(void)
{
    int ep = epoll_create1(0), p[4][2];
    CHECK(ep >= 0);
    for (int i = 0; i < 4; i++) {
        CHECK(pipe(p[i]) == 0);
        CHECK(add(ep, p[i][0], EPOLLIN, 50 + i) == 0);
        CHECK(write(p[i][1], "x", 1) == 1);
    }
    struct epoll_event evs[4];
    int seen = 0;
    /* level-triggered items go to the back: two calls of 2 see all four */
    for (int k = 0; k < 2; k++) {
        int n = epoll_wait(ep, evs, 2, 0);
        CHECK(n == 2);
        for (int i = 0; i < n; i++)
            seen |= 1 << (evs[i].data.u64 - 50);
    }
    say("maxevents 2 of 4 ready, twice: saw %#x\n", seen);
    for (int i = 0; i < 4; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
    close(ep);
}

static void timeouts(void)
{
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    struct epoll_event ev;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = epoll_wait(ep, &ev, 1, 50);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    say("epoll_wait 50ms: %d, waited at least 45ms: %d\n", n, ms >= 45);
    struct timespec ts = { 0, 0 };
    say("epoll_pwait2 zero: %ld\n", syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8));
    ts.tv_nsec = 20 * 1000000;
    say("epoll_pwait2 20ms: %ld\n", syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8));
    ts.tv_nsec = -1;
    errno = 0;
    say("epoll_pwait2 bad timespec: %s\n",
        err_of((int)syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8)));
    sigset_t ss;
    sigemptyset(&ss);
    say("epoll_pwait sigsetsize 4: %s\n",
        err_of((int)syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &ss, 4)));
    close(ep);
}

/* 1000 pipes in one set; a thread writes to each in turn; the main thread serves
 * them all through epoll_wait */
#define NPIPES 1000
static int g_pipes[NPIPES][2];

static void *writer(void *arg)
{
    (void)arg;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < NPIPES; i++) {
            char c = (char)('a' + round);
            CHECK(write(g_pipes[(i * 7 + round) % NPIPES][1], &c, 1) == 1);
        }
    for (int i = 0; i < NPIPES; i++)
        close(g_pipes[i][1]);
    return NULL;
}

static void thousand(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < 2 * NPIPES + 64) {
        if (rl.rlim_max < 2 * NPIPES + 64) {
            say("1000 pipes: RLIMIT_NOFILE too low, skipped\n");
            return;
        }
        rl.rlim_cur = 2 * NPIPES + 64;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    for (int i = 0; i < NPIPES; i++) {
        CHECK(pipe(g_pipes[i]) == 0);
        CHECK(add(ep, g_pipes[i][0], EPOLLIN, (uint64_t)i) == 0);
    }
    pthread_t th;
    CHECK(pthread_create(&th, NULL, writer, NULL) == 0);
    long bytes = 0, sum = 0;
    int hups = 0;
    static struct epoll_event evs[64];
    while (hups < NPIPES) {
        int n = epoll_wait(ep, evs, 64, 10000);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            int k = (int)evs[i].data.u64;
            char buf[16];
            ssize_t r = read(g_pipes[k][0], buf, sizeof(buf));
            CHECK(r >= 0);
            for (ssize_t j = 0; j < r; j++)
                sum += buf[j];
            bytes += r;
            if (r == 0) {
                /* end of file: drop it, by closing (the last reference) */
                close(g_pipes[k][0]);
                hups++;
            }
        }
    }
    CHECK(pthread_join(th, NULL) == 0);
    say("1000 pipes: %ld bytes, sum %ld, %d hang-ups\n", bytes, sum, hups);
    wait0("all closed", ep, 8);
    close(ep);
}

int main(void)
{
    errors();
    level_edge();
    oneshot();
    hangups();
    nested();
    closing();
    many_ready();
    timeouts();
    thousand();
    return 0;
}
