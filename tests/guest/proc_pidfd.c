/* pidfds: pidfd_open, pidfd_send_signal, waitid(P_PIDFD), clone's and clone3's
 * CLONE_PIDFD, PIDFD_NONBLOCK, /proc/self/fdinfo's Pid line, and ESRCH once the
 * process is reaped. Pids are compared, never printed. */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

/* The ABI by hand: musl's headers have no <linux/sched.h> or pidfd wrappers. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define PIDFD_NONBLOCK_ O_NONBLOCK
#define CLONE_PIDFD_ 0x1000
#define CLONE_THREAD_ 0x10000
#define CLONE_PARENT_SETTID_ 0x100000
#define P_PIDFD_ 3

struct clone_args_ {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int pidfd_open(pid_t pid, unsigned flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send(int fd, int sig, siginfo_t *si, unsigned flags)
{
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, si, flags);
}

/* wait_pidfd: waitid(P_PIDFD, fd, ...); prints what it reports about the child
 * (whose pid is pid). */
static void wait_pidfd(int fd, pid_t pid, int options)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int r = waitid((idtype_t)P_PIDFD_, (id_t)fd, &si, options);
    if (r < 0) {
        say("waitid(P_PIDFD): %s\n", errno_name(errno));
        return;
    }
    const char *code = si.si_code == CLD_EXITED ? "CLD_EXITED" :
                       si.si_code == CLD_KILLED ? "CLD_KILLED" : "other";
    say("waitid(P_PIDFD): the child: %d, %s, status %d\n", si.si_pid == pid, code,
        si.si_status);
}

/* sleeper: a child that waits to be killed. */
static pid_t sleeper(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

/* fdinfo_pid: the Pid line of fd's fdinfo compared with pid: "same", "-1" or
 * something else. */
static const char *fdinfo_pid(int fd, pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    const char *what = "none";
    while (fgets(line, sizeof(line), f)) {
        int v;
        if (sscanf(line, "Pid:\t%d", &v) == 1)
            what = v == pid ? "same" : v == -1 ? "-1" : "other";
    }
    fclose(f);
    return what;
}

struct live_thread { int go[2]; pid_t tid; int r, err; };

/* live_thread: reports its tid, then waits until the main thread has tried it. */
static void *live_thread(void *p)
{
    struct live_thread *lt = p;
    lt->tid = (pid_t)syscall(SYS_gettid);
    char b;
    CHECK(read(lt->go[0], &b, 1) == 1);
    return NULL;
}

static void open_errors(void)
{
    CHECK_ERR(pidfd_open(-1, 0), EINVAL);
    CHECK_ERR(pidfd_open(0, 0), EINVAL);
    CHECK_ERR(pidfd_open(getpid(), 1), EINVAL);
    CHECK_ERR(pidfd_open(0x7ffffff0, 0), ESRCH);
    /* a thread that is not its process's leader has no pidfd */
    struct live_thread lt = { .tid = 0 };
    CHECK(pipe(lt.go) == 0);
    pthread_t lth;
    CHECK(pthread_create(&lth, NULL, live_thread, &lt) == 0);
    while (!__atomic_load_n(&lt.tid, __ATOMIC_ACQUIRE))
        usleep(100);
    /* Linux 6.1 (the sandbox's) says EINVAL; later kernels ENOENT */
    errno = 0;
    int refused = pidfd_open(lt.tid, 0) == -1 && (errno == EINVAL || errno == ENOENT);
    say("pidfd_open(live non-leader thread) refused: %d\n", refused);
    CHECK(write(lt.go[1], "x", 1) == 1);
    CHECK(pthread_join(lth, NULL) == 0);
    close(lt.go[0]);
    close(lt.go[1]);
    say("pidfd_open errors: ok\n");
}

static void self_pidfd(void)
{
    int fd = pidfd_open(getpid(), 0);
    CHECK(fd >= 0);
    say("own pidfd: cloexec %d, access O_RDWR %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
        (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    char b;
    CHECK_ERR(read(fd, &b, 1), EINVAL);
    CHECK_ERR(write(fd, &b, 1), EINVAL);
    CHECK_ERR(lseek(fd, 0, SEEK_SET), ESPIPE);
    say("fdinfo Pid: %s\n", fdinfo_pid(fd, getpid()));
    /* a signal to oneself, with and without a siginfo */
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(pidfd_send(fd, SIGUSR1, NULL, 0) == 0);
    CHECK(sigpending(&pend) == 0);
    say("SIGUSR1 pending: %d\n", sigismember(&pend, SIGUSR1));
    siginfo_t si;
    struct timespec ts = { 1, 0 };
    CHECK(sigtimedwait(&set, &si, &ts) == SIGUSR1);
    say("si_code SI_USER %d, from self %d\n", si.si_code == SI_USER, si.si_pid == getpid());
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 42;
    CHECK(pidfd_send(fd, SIGUSR1, &si, 0) == 0);
    memset(&si, 0, sizeof(si));
    CHECK(sigtimedwait(&set, &si, &ts) == SIGUSR1);
    say("queued info: SI_QUEUE %d value %d\n", si.si_code == SI_QUEUE, si.si_value.sival_int);
    /* the checks */
    CHECK_ERR(pidfd_send(fd, SIGUSR1, NULL, 0x100), EINVAL);
    si.si_signo = SIGUSR2;
    CHECK_ERR(pidfd_send(fd, SIGUSR1, &si, 0), EINVAL);
    CHECK_ERR(pidfd_send(fd, 65, NULL, 0), EINVAL);
    CHECK_ERR(pidfd_send(0x7fff, SIGUSR1, NULL, 0), EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_ERR(pidfd_send(p[0], SIGUSR1, NULL, 0), EBADF);
    CHECK_ERR(waitid((idtype_t)P_PIDFD_, (id_t)p[0], &si, WEXITED), EBADF);
    CHECK_ERR(waitid((idtype_t)P_PIDFD_, (id_t)fd, &si, WEXITED), ECHILD);
    close(p[0]);
    close(p[1]);
    close(fd);
}

static void kill_child(void)
{
    pid_t pid = sleeper();
    int fd = pidfd_open(pid, 0);
    CHECK(fd >= 0);
    say("fdinfo Pid: %s\n", fdinfo_pid(fd, pid));
    /* kernel si_codes are only for oneself */
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGTERM;
    si.si_code = SI_USER;
    CHECK_ERR(pidfd_send(fd, SIGTERM, &si, 0), EPERM);
    CHECK(pidfd_send(fd, 0, NULL, 0) == 0);
    CHECK(pidfd_send(fd, SIGTERM, NULL, 0) == 0);
    wait_pidfd(fd, pid, WEXITED);
    say("fdinfo Pid after reaping: %s\n", fdinfo_pid(fd, pid));
    CHECK_ERR(pidfd_send(fd, SIGTERM, NULL, 0), ESRCH);
    CHECK_ERR(pidfd_send(fd, 0, NULL, 0), ESRCH);
    CHECK_ERR(waitid((idtype_t)P_PIDFD_, (id_t)fd, &si, WEXITED), ECHILD);
    say("after reaping: ESRCH and ECHILD\n");
    close(fd);
}

static void zombie_and_nonblock(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char b;
        read(p[0], &b, 1);
        _exit(9);
    }
    int fd = pidfd_open(pid, PIDFD_NONBLOCK_);
    CHECK(fd >= 0);
    say("nonblocking pidfd O_NONBLOCK %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    siginfo_t si;
    /* still running: a non-blocking pidfd makes waitid EAGAIN, WNOHANG 0 */
    CHECK_ERR(waitid((idtype_t)P_PIDFD_, (id_t)fd, &si, WEXITED), EAGAIN);
    memset(&si, 0, sizeof(si));
    CHECK(waitid((idtype_t)P_PIDFD_, (id_t)fd, &si, WEXITED | WNOHANG) == 0);
    say("WNOHANG while running: si_pid 0 %d\n", si.si_pid == 0);
    CHECK(write(p[1], "x", 1) == 1);
    /* exited, not yet reaped: WNOWAIT sees it and leaves it; a zombie takes
     * signals */
    for (int i = 0; i < 5000; i++) {
        memset(&si, 0, sizeof(si));
        if (waitid((idtype_t)P_PIDFD_, (id_t)fd, &si, WEXITED | WNOWAIT) == 0)
            break;
        CHECK(errno == EAGAIN);
        usleep(1000);
    }
    say("exited: the child %d, status %d\n", si.si_pid == pid, si.si_status);
    CHECK(pidfd_send(fd, SIGKILL, NULL, 0) == 0);
    wait_pidfd(fd, pid, WEXITED);
    close(fd);
    close(p[0]);
    close(p[1]);
}

static void clone_pidfd(void)
{
    /* clone: the pidfd comes back where parent_tid points, so not both */
    int pidfd = -1;
    errno = 0;
    long r = syscall(SYS_clone, CLONE_PIDFD_ | CLONE_PARENT_SETTID_ | SIGCHLD, 0, &pidfd,
                     NULL, 0);
    say("clone(CLONE_PIDFD|CLONE_PARENT_SETTID): %ld %s\n", r, errno_name(errno));
    r = syscall(SYS_clone, CLONE_PIDFD_ | SIGCHLD, 0, &pidfd, NULL, 0);
    CHECK(r >= 0);
    if (r == 0)
        _exit(11);
    say("clone pidfd: cloexec %d\n", pidfd >= 0 && (fcntl(pidfd, F_GETFD) & FD_CLOEXEC));
    wait_pidfd(pidfd, (pid_t)r, WEXITED);
    close(pidfd);

    struct clone_args_ ca;
    memset(&ca, 0, sizeof(ca));
    ca.flags = CLONE_PIDFD_ | CLONE_THREAD_;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    CHECK_ERR(syscall(SYS_clone3, &ca, sizeof(ca)), EINVAL);
    pid_t ptid = 0;
    pidfd = -1;
    ca.flags = CLONE_PIDFD_ | CLONE_PARENT_SETTID_;
    ca.parent_tid = (uint64_t)(uintptr_t)&ptid;
    ca.exit_signal = SIGCHLD;
    r = syscall(SYS_clone3, &ca, sizeof(ca));
    CHECK(r >= 0);
    if (r == 0)
        _exit(12);
    say("clone3: pidfd set %d, parent_tid set %d\n", pidfd >= 0, ptid == (pid_t)r);
    wait_pidfd(pidfd, (pid_t)r, WEXITED);
    close(pidfd);
    /* a bad pidfd pointer fails the clone3 before any child exists */
    ca.pidfd = 8;
    CHECK_ERR(syscall(SYS_clone3, &ca, sizeof(ca)), EFAULT);
    CHECK_ERR(waitpid(-1, NULL, WNOHANG), ECHILD);
    say("clone3 with a bad pidfd pointer: EFAULT, no child\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    open_errors();
    self_pidfd();
    kill_child();
    zombie_and_nonblock();
    clone_pidfd();
    return 0;
}
