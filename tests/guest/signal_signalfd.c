/* signalfd: blocked signals read as struct signalfd_siginfo (raise, kill, sigqueue, a
 * child's kill, SIGCHLD, a POSIX timer's signal), several records in one read, a mask
 * changed on an existing signalfd, non-blocking EAGAIN, a blocking read woken by a
 * signal from another process and one interrupted by a handler, and the error cases. */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TIMER: return "SI_TIMER";
    case CLD_EXITED: return "CLD_EXITED";
    default: return "?";
    }
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGCHLD: return "SIGCHLD";
    default: return "?";
    }
}

static void read_one(int fd, struct signalfd_siginfo *ssi)
{
    CHECK(read(fd, ssi, sizeof(*ssi)) == (ssize_t)sizeof(*ssi));
}

static void *idle_main(void *arg)
{
    volatile int *stop = arg;
    while (!*stop)
        usleep(1000);
    return NULL;
}

static volatile int g_alarms;
static void on_alarm(int sig) { (void)sig; g_alarms++; }

int main(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);

    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    int fd = signalfd(-1, &only1, 0);
    CHECK(fd >= 0);
    struct signalfd_siginfo ssi;

    /* raise: tgkill to this thread */
    CHECK(raise(SIGUSR1) == 0);
    read_one(fd, &ssi);
    say("raise: %s %s pid-match=%d uid-match=%d\n", sig_name((int)ssi.ssi_signo),
        code_name(ssi.ssi_code), ssi.ssi_pid == (uint32_t)getpid(),
        ssi.ssi_uid == (uint32_t)getuid());

    /* kill: to the process */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    read_one(fd, &ssi);
    say("kill: %s %s pid-match=%d\n", sig_name((int)ssi.ssi_signo), code_name(ssi.ssi_code),
        ssi.ssi_pid == (uint32_t)getpid());

    /* a signal outside the mask stays pending */
    int nfd = signalfd(-1, &only1, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(nfd >= 0);
    say("SFD_CLOEXEC: %d\n", (fcntl(nfd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK_ERR(read(nfd, &ssi, sizeof(ssi)), EAGAIN);
    CHECK(raise(SIGUSR2) == 0);
    CHECK_ERR(read(nfd, &ssi, sizeof(ssi)), EAGAIN);
    sigset_t pend;
    CHECK(sigpending(&pend) == 0);
    say("not in the mask: EAGAIN, SIGUSR2 still pending %d\n", sigismember(&pend, SIGUSR2));

    /* the mask of an existing signalfd changes; sigqueue's value comes through */
    sigset_t both = only1;
    sigaddset(&both, SIGUSR2);
    CHECK(signalfd(nfd, &both, 0) == nfd);
    read_one(nfd, &ssi);
    say("new mask: %s %s\n", sig_name((int)ssi.ssi_signo), code_name(ssi.ssi_code));
    union sigval sv = { .sival_int = 99 };
    CHECK(sigqueue(getpid(), SIGUSR2, sv) == 0);
    read_one(nfd, &ssi);
    say("sigqueue: %s %s int=%d pid-match=%d\n", sig_name((int)ssi.ssi_signo),
        code_name(ssi.ssi_code), ssi.ssi_int, ssi.ssi_pid == (uint32_t)getpid());

    /* several records in one read, lowest signal first */
    CHECK(raise(SIGUSR2) == 0);
    CHECK(raise(SIGUSR1) == 0);
    struct signalfd_siginfo recs[3];
    ssize_t got = read(nfd, recs, sizeof(recs));
    say("one read: %ld bytes, %s then %s\n", (long)got, sig_name((int)recs[0].ssi_signo),
        sig_name((int)recs[1].ssi_signo));
    CHECK_ERR(read(nfd, &ssi, sizeof(ssi)), EAGAIN);

    /* a process-directed signal is the process's, whichever thread it waits on:
     * read by this thread while another lives, and after that one has exited */
    pthread_t th;
    volatile int stop = 0;
    CHECK(pthread_create(&th, NULL, idle_main, (void *)&stop) == 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    read_one(fd, &ssi);
    say("with another thread: %s %s\n", sig_name((int)ssi.ssi_signo), code_name(ssi.ssi_code));
    CHECK(kill(getpid(), SIGUSR1) == 0);
    stop = 1;
    CHECK(pthread_join(th, NULL) == 0);
    read_one(fd, &ssi);
    say("after the thread exited: %s %s\n", sig_name((int)ssi.ssi_signo),
        code_name(ssi.ssi_code));

    /* a child's signal wakes a blocking read */
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        usleep(30000);
        kill(getppid(), SIGUSR1);
        _exit(3);
    }
    read_one(fd, &ssi);
    say("from the child: %s %s pid-match=%d\n", sig_name((int)ssi.ssi_signo),
        code_name(ssi.ssi_code), ssi.ssi_pid == (uint32_t)child);

    /* SIGCHLD as a record */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int cfd = signalfd(-1, &chld, 0);
    CHECK(cfd >= 0);
    read_one(cfd, &ssi);
    say("SIGCHLD: %s status=%d pid-match=%d\n", code_name(ssi.ssi_code), ssi.ssi_status,
        ssi.ssi_pid == (uint32_t)child);
    CHECK(waitpid(child, NULL, 0) == child);

    /* a POSIX timer's signal */
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_value.sival_int = 5;
    int kid;
    CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &kid) == 0);
    struct itimerspec its = { { 0, 0 }, { 0, 10000000 } };
    CHECK(syscall(SYS_timer_settime, kid, 0, &its, NULL) == 0);
    CHECK(fcntl(nfd, F_SETFL, 0) == 0);   /* blocking from now on */
    read_one(nfd, &ssi);
    say("timer: %s %s tid-match=%d overrun=%u int=%d\n", sig_name((int)ssi.ssi_signo),
        code_name(ssi.ssi_code), ssi.ssi_tid == (uint32_t)kid, ssi.ssi_overrun, ssi.ssi_int);
    CHECK(syscall(SYS_timer_delete, kid) == 0);

    /* a handled signal interrupts a blocking read */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval al = { { 0, 0 }, { 0, 20000 } };
    CHECK(setitimer(ITIMER_REAL, &al, NULL) == 0);
    CHECK_ERR(read(fd, &ssi, sizeof(ssi)), EINTR);
    say("blocking read and a handler: EINTR (alarms %d)\n", g_alarms);

    /* errors */
    char small[64];
    CHECK_ERR(read(fd, small, sizeof(small)), EINVAL);
    CHECK_ERR(write(fd, &ssi, sizeof(ssi)), EINVAL);
    CHECK_ERR(syscall(SYS_signalfd4, -1, &only1, 8, 0x1), EINVAL);
    CHECK_ERR(syscall(SYS_signalfd4, -1, &only1, 4, 0), EINVAL);
    CHECK_ERR(syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
    CHECK_ERR(signalfd(1000, &only1, 0), EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_ERR(signalfd(p[0], &only1, 0), EINVAL);
    say("errors: short read EINVAL, write EINVAL, flags EINVAL, mask size EINVAL, "
        "EFAULT, EBADF, not a signalfd EINVAL\n");
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("fstat: mode %o\n", (unsigned)st.st_mode);
    return 0;
}
