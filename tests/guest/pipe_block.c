/* Blocking pipes: a reader sleeps until a child writes; a writer sleeps until the
 * reader makes room; a blocked read interrupted by a handler is restarted with
 * SA_RESTART and fails with EINTR without; a partly done write returns its count. */
#include "guest.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile int g_alarms;

static void on_alarm(int sig) { (void)sig; g_alarms++; }

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void arm_alarm(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 0 }, { 0, 50 * 1000 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void reader_waits_for_child(void)
{
    int p[2];
    char buf[16];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        sleep_ms(100);
        write(p[1], "late", 4);
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], buf, sizeof(buf));
    say("blocked read got: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    say("then EOF: %zd\n", read(p[0], buf, sizeof(buf)));
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    close(p[0]);
}

static void writer_waits_for_room(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        /* drain slowly, counting */
        close(p[1]);
        static char buf[8192];
        size_t total = 0;
        ssize_t n;
        sleep_ms(100);
        while ((n = read(p[0], buf, sizeof(buf))) > 0)
            total += (size_t)n;
        _exit(total == 300000 ? 0 : 1);
    }
    close(p[0]);
    static char big[300000];
    memset(big, 'w', sizeof(big));
    /* one blocking write larger than the pipe completes once the reader drains it */
    say("big blocking write: %zd\n", write(p[1], big, sizeof(big)));
    close(p[1]);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    say("reader saw every byte: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void interrupted_read(int restart)
{
    int p[2];
    char buf[16];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        sleep_ms(300);
        write(p[1], "after", 5);
        sleep_ms(100);
        _exit(0);
    }
    close(p[1]);
    g_alarms = 0;
    arm_alarm(restart);
    errno = 0;
    ssize_t n = read(p[0], buf, sizeof(buf));
    int e = errno;
    say("%s: read %zd errno %s, alarms %d\n", restart ? "SA_RESTART" : "no SA_RESTART", n,
        errno_name(n < 0 ? e : 0), g_alarms);
    if (n < 0) {
        n = read(p[0], buf, sizeof(buf));
        say("  read again: %zd\n", n);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    close(p[0]);
}

static void interrupted_partial_write(void)
{
    /* the pipe holds 64 KiB; nobody reads: the write blocks after a partial transfer,
     * and the signal makes it return what it wrote */
    int p[2];
    CHECK(pipe(p) == 0);
    static char big[100000];
    g_alarms = 0;
    arm_alarm(1);
    ssize_t n = write(p[1], big, sizeof(big));
    say("interrupted partial write: %zd, alarms %d\n", n, g_alarms);
    /* nothing written at all: EINTR */
    arm_alarm(0);
    errno = 0;
    n = write(p[1], big, 4096);
    say("interrupted write into a full pipe: %zd %s\n", n, errno_name(errno));
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    reader_waits_for_child();
    writer_waits_for_room();
    interrupted_read(1);
    interrupted_read(0);
    interrupted_partial_write();
    return 0;
}
