/* CPU times in /proc: /proc/self/stat's utime/stime (fields 14, 15) follow the process
 * CPU clock, a thread's task/TID/stat shows its own share, cutime/cstime (16, 17) a
 * reaped child's; minflt (10) counts page faults; /proc/self/status counts voluntary
 * context switches; getrusage's ru_maxrss, ru_minflt and ru_nvcsw are set. Times are
 * compared with generous bounds and only the verdicts are printed. */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define HZ 100.0

static volatile uint64_t g_sink;

static double clock_s(clockid_t c)
{
    struct timespec ts;
    CHECK(clock_gettime(c, &ts) == 0);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* burn: computes until clock c has advanced by secs (or 30 s of wall time passed). */
static void burn(clockid_t c, double secs)
{
    double start = clock_s(c), wall = clock_s(CLOCK_MONOTONIC);
    while (clock_s(c) - start < secs && clock_s(CLOCK_MONOTONIC) - wall < 30)
        for (int i = 0; i < 200000; i++)
            g_sink += (uint64_t)i * (uint64_t)i;
}

/* read_file: the text of path (NUL-terminated) in buf. */
static void read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, size - 1);
    CHECK(n > 0);
    buf[n] = 0;
    close(fd);
}

/* stat_fields: fields 1.. of a stat file into f[1..52] (comm has no blanks here). */
static void stat_fields(const char *path, unsigned long long *f)
{
    char buf[2048];
    read_file(path, buf, sizeof(buf));
    char *p = strrchr(buf, ')');
    CHECK(p);
    p += 2;   /* ") " */
    /* field 3 (state) is a letter; the rest from 4 are numbers */
    p += 2;
    for (int i = 4; i <= 52; i++) {
        char *end;
        f[i] = strtoull(p, &end, 10);
        CHECK(end != p);
        p = end;
    }
}

/* status_value: the number after "key:" in /proc/self/status. */
static unsigned long long status_value(const char *key)
{
    char buf[8192];
    read_file("/proc/self/status", buf, sizeof(buf));
    char *p = strstr(buf, key);
    CHECK(p);
    return strtoull(p + strlen(key) + 1, NULL, 10);
}

struct burner { clockid_t clock; volatile int done, go_on; volatile pid_t tid; };

static void *burner_main(void *arg)
{
    struct burner *b = arg;
    b->tid = (pid_t)syscall(SYS_gettid);
    CHECK(pthread_getcpuclockid(pthread_self(), &b->clock) == 0);
    burn(CLOCK_THREAD_CPUTIME_ID, 0.3);
    b->done = 1;
    while (!b->go_on)
        usleep(1000);
    return NULL;
}

int main(void)
{
    unsigned long long f[53];

    /* before any work the process has used little */
    burn(CLOCK_PROCESS_CPUTIME_ID, 0.3);
    double c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    stat_fields("/proc/self/stat", f);
    double c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    double ticks = (f[14] + f[15]) / HZ;
    say("stat utime > 0: %d\n", f[14] > 0);
    say("stat utime+stime near the CPU clock: %d\n", ticks >= c1 - 0.1 && ticks <= c2 + 0.05);
    say("stat utime+stime at least 0.25 s: %d\n", ticks >= 0.25);
    say("stat cutime+cstime 0 before a child: %d\n", f[16] + f[17] == 0);

    /* page faults: touching fresh memory counts minor faults */
    char *mem = malloc(4 << 20);
    CHECK(mem);
    for (size_t i = 0; i < (4u << 20); i += 4096)
        mem[i] = 1;
    stat_fields("/proc/self/stat", f);
    say("stat minflt > 0: %d\n", f[10] > 0);
    free(mem);

    /* a thread's own share under task/TID/stat; the process's includes it */
    struct burner b = { 0 };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, burner_main, &b) == 0);
    while (!b.done)
        usleep(1000);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)b.tid);
    double tc = clock_s(b.clock);
    stat_fields(path, f);
    double tticks = (f[14] + f[15]) / HZ;
    say("thread stat near its CPU clock: %d\n", tticks >= tc - 0.1 && tticks <= tc + 0.05);
    unsigned long long thread_ticks = f[14] + f[15];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", getpid());
    stat_fields(path, f);
    unsigned long long main_ticks = f[14] + f[15];
    stat_fields("/proc/self/stat", f);
    unsigned long long proc_ticks = f[14] + f[15];
    say("main thread stat below the process's: %d\n", main_ticks + thread_ticks / 2 <= proc_ticks);
    say("process stat covers both threads: %d\n",
        proc_ticks + 3 >= main_ticks + thread_ticks);
    b.go_on = 1;
    CHECK(pthread_join(th, NULL) == 0);

    /* a reaped child's time: cutime/cstime */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        burn(CLOCK_PROCESS_CPUTIME_ID, 0.3);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    stat_fields("/proc/self/stat", f);
    double cticks = (f[16] + f[17]) / HZ;
    say("stat cutime+cstime after the child: %d\n", cticks >= 0.25 && cticks < 5);

    /* blocking waits are voluntary context switches */
    for (int i = 0; i < 3; i++)
        usleep(2000);
    say("status voluntary_ctxt_switches > 0: %d\n",
        status_value("voluntary_ctxt_switches") > 0);

    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    say("rusage maxrss > 0: %d\n", ru.ru_maxrss > 0);
    say("rusage minflt > 0: %d\n", ru.ru_minflt > 0);
    say("rusage nvcsw > 0: %d\n", ru.ru_nvcsw > 0);
    return 0;
}
