/* poll and ppoll: both ends of a pipe (empty, data, full), POLLHUP once the writer
 * is gone, POLLERR once the reader is, POLLNVAL, negative fds, events 0, regular
 * files and directories, eventfd, timeouts 0 and 50 ms returning 0, a blocking poll
 * woken by a child, the nfds limit, EFAULT, the stdio files; FIONBIO and FIONREAD. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* names: the revents bits as text, in a fixed order (four buffers in turn, so one
 * say() may show several) */
static const char *names(int ev)
{
    static char bufs[4][128];
    static int next;
    char *buf = bufs[next++ % 4];
    static const struct { int bit; const char *name; } tab[] = {
        { POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" }, { POLLERR, "ERR" },
        { POLLHUP, "HUP" }, { POLLNVAL, "NVAL" }, { POLLRDNORM, "RDNORM" },
        { POLLRDBAND, "RDBAND" }, { POLLWRNORM, "WRNORM" }, { POLLWRBAND, "WRBAND" },
        { POLLRDHUP, "RDHUP" },
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

/* poll1: polls one fd for events with timeout 0 and prints what came back */
static void poll1(const char *what, int fd, short events)
{
    struct pollfd p = { fd, events, 0x7777 };
    int n = poll(&p, 1, 0);
    say("%-34s n=%d revents=%s\n", what, n, names(p.revents));
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void pipes(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    short all = POLLIN | POLLOUT | POLLPRI | POLLRDNORM | POLLWRNORM | POLLRDHUP;
    poll1("empty pipe, read end:", p[0], all);
    poll1("empty pipe, write end:", p[1], all);
    CHECK(write(p[1], "abc", 3) == 3);
    poll1("data, read end:", p[0], all);
    poll1("data, read end, POLLOUT only:", p[0], POLLOUT);

    /* fill it: the write end is no longer writable */
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    static char junk[4096];
    while (write(p[1], junk, sizeof(junk)) > 0)
        ;
    CHECK(errno == EAGAIN);
    poll1("full pipe, write end:", p[1], all);
    char buf[65536];
    while (read(p[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf))
        ;
    CHECK(write(p[1], "xy", 2) == 2);

    /* the writer goes: data then POLLHUP, and POLLHUP alone once drained */
    close(p[1]);
    poll1("writer closed, data left:", p[0], all);
    poll1("writer closed, events 0:", p[0], 0);
    CHECK(read(p[0], buf, sizeof(buf)) >= 2);
    poll1("writer closed, drained:", p[0], all);
    close(p[0]);

    /* the reader goes: POLLERR on the write end */
    CHECK(pipe(p) == 0);
    close(p[0]);
    poll1("reader closed, write end:", p[1], all);
    poll1("reader closed, events 0:", p[1], 0);
    close(p[1]);
}

static void bad_fds(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int closed = p[1];
    close(closed);
    struct pollfd fds[4] = {
        { closed, POLLIN, 0x7777 },     /* not open: POLLNVAL, counted */
        { -1, POLLIN, 0x7777 },         /* negative: ignored, revents 0 */
        { 100000, POLLIN, 0x7777 },     /* far beyond the table */
        { p[0], POLLIN, 0x7777 },       /* writer gone: POLLHUP */
    };
    int n = poll(fds, 4, 0);
    say("bad fds: n=%d closed=%s negative=%s huge=%s empty=%s\n", n,
        names(fds[0].revents), names(fds[1].revents), names(fds[2].revents),
        names(fds[3].revents));
    close(p[0]);
    say("nfds 0, timeout 0: %d\n", poll(NULL, 0, 0));
}

static void files(void)
{
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    poll1("directory:", dir, POLLIN | POLLOUT | POLLPRI);
    close(dir);
    int reg = open("/proc/self/exe", O_RDONLY);
    CHECK(reg >= 0);
    poll1("regular file:", reg, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
    close(reg);
    int mi = open("/proc/meminfo", O_RDONLY);
    CHECK(mi >= 0);
    poll1("/proc/meminfo:", mi, POLLIN | POLLOUT);
    close(mi);
    int mounts = open("/proc/self/mounts", O_RDONLY);
    CHECK(mounts >= 0);
    poll1("/proc/self/mounts:", mounts, POLLIN | POLLOUT);
    close(mounts);
    int null = open("/dev/null", O_RDWR);
    CHECK(null >= 0);
    poll1("/dev/null:", null, POLLIN | POLLOUT);
    close(null);
    /* stdin is /dev/null under the test runner, stdout a file or a pipe */
    poll1("stdin, POLLIN:", 0, POLLIN);
    poll1("stdout, POLLOUT:", 1, POLLOUT);
}

static void eventfds(void)
{
    int e = eventfd(0, EFD_NONBLOCK);
    CHECK(e >= 0);
    poll1("eventfd 0:", e, POLLIN | POLLOUT);
    uint64_t v = 2;
    CHECK(write(e, &v, 8) == 8);
    poll1("eventfd 2:", e, POLLIN | POLLOUT);
    v = UINT64_MAX - 3;
    CHECK(write(e, &v, 8) == 8);
    poll1("eventfd at the maximum:", e, POLLIN | POLLOUT);
    CHECK(read(e, &v, 8) == 8);
    poll1("eventfd read back to 0:", e, POLLIN | POLLOUT);
    close(e);
}

static void timeouts(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd fd = { p[0], POLLIN, 0 };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    say("timeout 0: %d\n", poll(&fd, 1, 0));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = poll(&fd, 1, 50);
    long ms = ms_since(&t0);
    say("timeout 50ms: %d, waited at least 45ms: %d, less than 2s: %d\n", n, ms >= 45,
        ms < 2000);
    struct timespec ts = { 0, 50 * 1000000 };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = ppoll(&fd, 1, &ts, NULL);
    ms = ms_since(&t0);
    say("ppoll 50ms: %d, waited at least 45ms: %d\n", n, ms >= 45);
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    say("ppoll zero timespec: %d\n", ppoll(&fd, 1, &ts, NULL));
    ts.tv_nsec = 1000000000;
    CHECK_ERR(ppoll(&fd, 1, &ts, NULL), EINVAL);
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    CHECK_ERR(ppoll(&fd, 1, &ts, NULL), EINVAL);
    say("ppoll bad timespecs: EINVAL\n");
    sigset_t ss;
    sigemptyset(&ss);
    CHECK_ERR(syscall(SYS_ppoll, &fd, 1, NULL, &ss, 4), EINVAL);
    say("ppoll sigsetsize 4: EINVAL\n");
    close(p[0]);
    close(p[1]);
}

/* blocking: a poll with no timeout sleeps until a child writes; then one on two
 * pipes reports the one that became ready */
static void blocking(void)
{
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    pid_t c = fork();
    if (c == 0) {
        sleep_ms(50);
        write(b[1], "z", 1);
        sleep_ms(50);
        close(a[1]);
        _exit(0);
    }
    struct pollfd fds[2] = { { a[0], POLLIN, 0 }, { b[0], POLLIN, 0 } };
    int n = poll(fds, 2, -1);
    say("woken by a child: n=%d a=%s b=%s\n", n, names(fds[0].revents),
        names(fds[1].revents));
    close(b[0]);
    close(a[1]);
    fds[1].fd = -1;
    n = poll(fds, 2, 5000);
    say("woken by the last writer's close: n=%d a=%s\n", n, names(fds[0].revents));
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    close(a[0]);
    close(b[1]);
}

static void limits(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    struct pollfd *fds = calloc(rl.rlim_cur + 1, sizeof(*fds));
    CHECK(fds);
    for (rlim_t i = 0; i <= rl.rlim_cur; i++)
        fds[i].fd = -1;
    say("nfds == RLIMIT_NOFILE: %d\n", poll(fds, rl.rlim_cur, 0));
    CHECK_ERR(poll(fds, rl.rlim_cur + 1, 0), EINVAL);
    say("nfds > RLIMIT_NOFILE: EINVAL\n");
    free(fds);
    CHECK_ERR(syscall(SYS_poll, 8L, 1L, 0L), EFAULT);
    say("bad array: EFAULT\n");
}

/* FIONBIO sets O_NONBLOCK; FIONREAD counts what a read would get */
static void ioctls(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int on = 1, n = -1;
    CHECK(ioctl(p[0], FIONBIO, &on) == 0);
    char c;
    errno = 0;
    ssize_t r = read(p[0], &c, 1);
    say("FIONBIO on: O_NONBLOCK=%d, read %zd %s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0,
        r, errno_name(errno));
    on = 0;
    CHECK(ioctl(p[0], FIONBIO, &on) == 0);
    say("FIONBIO off: O_NONBLOCK=%d\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    CHECK_ERR(ioctl(p[0], FIONBIO, (int *)8), EFAULT);
    CHECK(write(p[1], "hello", 5) == 5);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0);
    say("FIONREAD pipe: %d\n", n);
    int reg = open("/proc/self/exe", O_RDONLY);
    CHECK(reg >= 0);
    struct stat st;
    CHECK(fstat(reg, &st) == 0);
    CHECK(lseek(reg, 100, SEEK_SET) == 100);
    CHECK(ioctl(reg, FIONREAD, &n) == 0);
    say("FIONREAD regular file: size - position: %d\n", n == st.st_size - 100);
    int e = eventfd(0, 0), ep = epoll_create1(0);
    CHECK(e >= 0 && ep >= 0);
    CHECK_ERR(ioctl(e, FIONREAD, &n), ENOTTY);
    CHECK_ERR(ioctl(ep, FIONREAD, &n), EINVAL);
    say("FIONREAD eventfd: ENOTTY, epoll: EINVAL\n");
    close(reg);
    close(e);
    close(ep);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    pipes();
    bad_fds();
    files();
    eventfds();
    timeouts();
    blocking();
    limits();
    ioctls();
    return 0;
}
