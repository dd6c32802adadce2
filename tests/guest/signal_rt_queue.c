/* Queued signals: real-time signals queue every instance with its own siginfo
 * (lowest number first, FIFO within one), a standard signal keeps one instance;
 * sigpending and /proc/self/status show them; a POSIX timer's signal is queued once
 * with its overruns, beside other instances of its number; RLIMIT_SIGPENDING bounds
 * the queue per user: sigqueue and tgkill of a real-time signal then fail with EAGAIN,
 * kill() still succeeds, a standard signal comes without its siginfo. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

/* sig_name: a signal as the same text with glibc and musl (their SIGRTMIN differ). */
static const char *sig_name(int sig)
{
    static char buf[32];
    if (sig == SIGUSR1)
        return "SIGUSR1";
    if (sig == SIGUSR2)
        return "SIGUSR2";
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    snprintf(buf, sizeof(buf), "signal %d", sig);
    return buf;
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_TIMER: return "SI_TIMER";
    default: return "other";
    }
}

/* status_line: the value of key in /proc/self/status into out. */
static void status_line(const char *key, char *out, size_t size)
{
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(n > 0);
    close(fd);
    buf[n] = 0;
    char *p = strstr(buf, key);
    CHECK(p);
    p += strlen(key) + 2;   /* ":\t" */
    size_t len = strcspn(p, "\n");
    CHECK(len < size);
    memcpy(out, p, len);
    out[len] = 0;
}

static uint64_t sigbit(int sig) { return 1ULL << (sig - 1); }

/* drain: takes every pending signal of set at once, printing each (the system call
 * itself: glibc's sigtimedwait reports SI_TKILL as SI_USER). */
static int drain(const sigset_t *set)
{
    struct timespec zero = { 0, 0 };
    int n = 0;
    for (;;) {
        siginfo_t si;
        int sig = (int)syscall(SYS_rt_sigtimedwait, set, &si, &zero, 8);
        if (sig < 0) {
            CHECK(errno == EAGAIN);
            return n;
        }
        n++;
        say("  %s %s value=%d own_pid=%d own_uid=%d", sig_name(sig), code_name(si.si_code),
            si.si_code == SI_QUEUE || si.si_code == SI_TIMER ? si.si_value.sival_int : -1,
            si.si_pid == getpid(), si.si_uid == getuid());
        if (si.si_code == SI_TIMER)
            say(" overrun>0=%d", si.si_overrun > 0);
        say("\n");
    }
}

static void queue(int sig, int value)
{
    union sigval v = { .sival_int = value };
    CHECK(sigqueue(getpid(), sig, v) == 0);
}

/* limit_test: in a child with a user of its own, RLIMIT_SIGPENDING 4. */
static void limit_test(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    if (setresgid(4321, 4321, 4321) < 0 || setresuid(4321, 4321, 4321) < 0) {
        say("cannot change user: %s\n", errno_name(errno));
        _exit(0);
    }
    struct rlimit rl = { 4, 4 };
    CHECK(setrlimit(RLIMIT_SIGPENDING, &rl) == 0);
    CHECK(getrlimit(RLIMIT_SIGPENDING, &rl) == 0);
    say("limit: %llu/%llu\n", (unsigned long long)rl.rlim_cur,
        (unsigned long long)rl.rlim_max);
    for (int i = 0; i < 4; i++)
        queue(SIGRTMIN, 10 + i);
    char q[64];
    status_line("SigQ", q, sizeof(q));
    say("SigQ at the limit: %s\n", q);
    union sigval v = { .sival_int = 99 };
    errno = 0;
    int r = sigqueue(getpid(), SIGRTMIN, v);
    say("sigqueue over the limit: %d %s\n", r, errno_name(r < 0 ? errno : 0));
    errno = 0;
    r = (int)syscall(SYS_tgkill, getpid(), (int)syscall(SYS_gettid), SIGRTMIN);
    say("tgkill over the limit: %d %s\n", r, errno_name(r < 0 ? errno : 0));
    say("kill over the limit: %d\n", kill(getpid(), SIGRTMIN));
    errno = 0;
    r = sigqueue(getpid(), SIGUSR2, v);
    say("sigqueue of a standard signal over the limit: %d %s\n", r,
        errno_name(r < 0 ? errno : 0));
    say("drained:\n");
    int n = drain(&set);
    say("%d taken\n", n);
    status_line("SigQ", q, sizeof(q));
    say("SigQ after: %s\n", q);
    _exit(0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int r1 = SIGRTMIN, r2 = SIGRTMIN + 1, r3 = SIGRTMIN + 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, r1);
    sigaddset(&set, r2);
    sigaddset(&set, r3);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

    /* 5 of SIGRTMIN+1, 3 of SIGRTMIN, SIGUSR1 twice, interleaved */
    for (int i = 0; i < 5; i++) {
        queue(r2, 100 + i);
        if (i < 3)
            queue(r1, 200 + i);
        if (i < 2)
            queue(SIGUSR1, 300 + i);
    }
    sigset_t pend;
    CHECK(sigpending(&pend) == 0);
    say("sigpending: USR1=%d RTMIN=%d RTMIN+1=%d RTMIN+2=%d\n", sigismember(&pend, SIGUSR1),
        sigismember(&pend, r1), sigismember(&pend, r2), sigismember(&pend, r3));
    char line[64];
    status_line("ShdPnd", line, sizeof(line));
    uint64_t want = sigbit(SIGUSR1) | sigbit(r1) | sigbit(r2);
    say("ShdPnd has them: %d\n", (strtoull(line, NULL, 16) & want) == want);
    status_line("SigPnd", line, sizeof(line));
    say("SigPnd (the thread's own) has none: %d\n", (strtoull(line, NULL, 16) & want) == 0);
    status_line("SigQ", line, sizeof(line));
    say("SigQ counts at least 9: %d\n", strtoull(line, NULL, 10) >= 9);
    say("sigwaitinfo order:\n");
    for (int i = 0; i < 9; i++) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        CHECK(sig > 0);
        say("  %s %s value=%d own_pid=%d own_uid=%d\n", sig_name(sig), code_name(si.si_code),
            si.si_value.sival_int, si.si_pid == getpid(), si.si_uid == getuid());
    }
    say("left: %d\n", drain(&set));

    /* thread-directed: tgkill queues too, and shows in SigPnd */
    for (int i = 0; i < 3; i++)
        CHECK(syscall(SYS_tgkill, getpid(), (int)syscall(SYS_gettid), r1) == 0);
    CHECK(kill(getpid(), r2) == 0);
    CHECK(kill(getpid(), r2) == 0);
    status_line("SigPnd", line, sizeof(line));
    say("SigPnd has the tgkill'd one: %d\n", (strtoull(line, NULL, 16) & sigbit(r1)) != 0);
    say("tgkill and kill:\n");
    say("%d taken\n", drain(&set));

    /* a timer's signal: once, with overruns, beside another instance */
    timer_t tm;
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = r3;
    ev.sigev_value.sival_int = 77;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tm) == 0);
    struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
    CHECK(timer_settime(tm, 0, &its, NULL) == 0);
    struct timespec nap = { 0, 30000000 };
    nanosleep(&nap, NULL);
    queue(r3, 7);
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    say("timer first: %s %s value=%d overrun>0=%d\n", sig_name(sig), code_name(si.si_code),
        si.si_value.sival_int, si.si_overrun > 0);
    sig = sigwaitinfo(&set, &si);
    say("then: %s %s value=%d\n", sig_name(sig), code_name(si.si_code),
        si.si_value.sival_int);
    CHECK(timer_delete(tm) == 0);
    say("after timer_delete: %d left\n", drain(&set));

    /* the limit, for a user of its own */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        limit_test();
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}
