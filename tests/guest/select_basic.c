/* select and pselect6: read and write sets on pipes, exception sets, EBADF for a
 * closed fd, EINVAL for nfds < 0 and bad timeouts, a zero timeout, the raw select
 * call writing the time left back (Linux does, glibc's wrapper hides it), a blocking
 * select woken by a thread, eventfd. glibc's select() is pselect6 underneath and
 * musl's is the select call, so both are used. */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <time.h>

struct kernel_timeval { long sec, usec; };

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* show: which of fds are set in s */
static const char *show(const fd_set *s, const int *fds, int n)
{
    static char bufs[3][64];
    static int next;
    char *b = bufs[next++ % 3];
    b[0] = 0;
    for (int i = 0; i < n; i++)
        strcat(b, FD_ISSET(fds[i], s) ? "1" : "0");
    return b;
}

static void sets(void)
{
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    int fds[4] = { a[0], a[1], b[0], b[1] };
    int maxfd = b[1] > a[1] ? b[1] : a[1];
    CHECK(write(b[1], "x", 1) == 1);

    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    for (int i = 0; i < 4; i++) {
        FD_SET(fds[i], &r);
        FD_SET(fds[i], &w);
        FD_SET(fds[i], &e);
    }
    struct timeval tv = { 0, 0 };
    int n = select(maxfd + 1, &r, &w, &e, &tv);
    /* readable: b[0] (data); writable: both write ends */
    say("all sets: n=%d read=%s write=%s except=%s\n", n, show(&r, fds, 4),
        show(&w, fds, 4), show(&e, fds, 4));
    say("zero timeout stays zero: %ld %ld\n", (long)tv.tv_sec, (long)tv.tv_usec);

    /* NULL sets are fine; nothing ready with a zero timeout is 0 and clears the set */
    FD_ZERO(&r);
    FD_SET(a[0], &r);
    tv.tv_sec = tv.tv_usec = 0;
    n = select(a[0] + 1, &r, NULL, NULL, &tv);
    say("nothing ready: n=%d still set=%d\n", n, FD_ISSET(a[0], &r));

    /* the writer goes: the read end is readable (EOF) */
    close(a[1]);
    FD_ZERO(&r);
    FD_SET(a[0], &r);
    n = select(a[0] + 1, &r, NULL, NULL, &tv);
    say("writer closed: n=%d readable=%d\n", n, FD_ISSET(a[0], &r));
    /* the reader goes: the write end is writable (EPIPE awaits) */
    close(b[0]);
    FD_ZERO(&w);
    FD_SET(b[1], &w);
    n = select(b[1] + 1, NULL, &w, NULL, &tv);
    say("reader closed: n=%d writable=%d\n", n, FD_ISSET(b[1], &w));

    /* a closed fd in any set: EBADF, even if another one is ready */
    FD_ZERO(&r);
    FD_SET(a[0], &r);
    FD_SET(a[1], &r);   /* closed above */
    CHECK_ERR(select(a[1] + 1, &r, NULL, NULL, &tv), EBADF);
    FD_ZERO(&e);
    FD_SET(a[1], &e);
    CHECK_ERR(select(a[1] + 1, NULL, NULL, &e, &tv), EBADF);
    say("closed fd in a set: EBADF\n");
    /* ... but not when nfds leaves it out */
    FD_ZERO(&r);
    FD_SET(a[0], &r);
    FD_SET(a[1], &r);
    n = a[1] > a[0] ? a[0] + 1 : a[1];
    say("closed fd above nfds: %d\n", select(n, &r, NULL, NULL, &tv) >= 0);
    close(a[0]);
    close(b[1]);

    CHECK_ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL);
    tv.tv_usec = -1;
    CHECK_ERR(select(0, NULL, NULL, NULL, &tv), EINVAL);
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    CHECK_ERR(select(0, NULL, NULL, NULL, &tv), EINVAL);
    say("nfds < 0, negative timeouts: EINVAL\n");
}

static void raw_timeouts(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    /* the raw call: 50 ms pass, the time left (0) is written back */
    struct kernel_timeval tv = { 0, 50000 };
    long n = syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv);
    say("raw select 50ms: %ld, left %ld.%06ld, set cleared: %d\n", n, tv.sec, tv.usec,
        !FD_ISSET(p[0], &r));
    /* microseconds past a second carry over; ready at once, so most is left */
    CHECK(write(p[1], "x", 1) == 1);
    FD_SET(p[0], &r);
    tv.sec = 0;
    tv.usec = 2500000;
    n = syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv);
    say("raw select 2.5s, ready: %ld, left between 2s and 2.5s: %d\n", n,
        tv.sec == 2 && tv.usec > 0);
    /* pselect6 writes back a timespec */
    struct timespec ts = { 3, 0 };
    n = syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL);
    say("raw pselect6 3s, ready: %ld, left between 2s and 3s: %d\n", n, ts.tv_sec == 2);
    ts.tv_nsec = 1000000000;
    CHECK_ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL), EINVAL);
    say("pselect6 bad timespec: EINVAL\n");
    /* the sigmask argument pack: a bad pointer to it, a bad size in it */
    ts.tv_sec = ts.tv_nsec = 0;
    CHECK_ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, 8L), EFAULT);
    sigset_t ss;
    sigemptyset(&ss);
    struct { sigset_t *p; size_t size; } pack = { &ss, 4 };
    CHECK_ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, &pack), EINVAL);
    pack.size = 8;
    FD_SET(p[0], &r);
    say("pselect6 with a mask: %ld\n",
        syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, &pack));
    CHECK_ERR(syscall(SYS_select, p[0] + 1, 8L, NULL, NULL, &tv), EFAULT);
    say("pselect6 bad argument pack: EFAULT, bad size: EINVAL; bad fd_set: EFAULT\n");
    close(p[0]);
    close(p[1]);
}

static int g_wfd;

static void *late_writer(void *arg)
{
    (void)arg;
    sleep_ms(50);
    uint64_t one = 1;
    CHECK(write(g_wfd, &one, 8) == 8);
    return NULL;
}

static void blocking(void)
{
    int e = eventfd(0, 0);
    CHECK(e >= 0);
    g_wfd = e;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, late_writer, NULL) == 0);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(e, &r);
    int n = select(e + 1, &r, NULL, NULL, NULL);
    say("blocking select woken by a thread: n=%d set=%d\n", n, FD_ISSET(e, &r));
    CHECK(pthread_join(th, NULL) == 0);
    /* pselect with a timeout that expires: 0 */
    uint64_t v;
    CHECK(read(e, &v, 8) == 8);
    FD_SET(e, &r);
    struct timespec ts = { 0, 30 * 1000000 };
    n = pselect(e + 1, &r, NULL, NULL, &ts, NULL);
    say("pselect 30ms on an empty eventfd: n=%d\n", n);
    close(e);
}

int main(void)
{
    sets();
    raw_timeouts();
    blocking();
    return 0;
}
