/* fork and wait: copy-on-write memory, exit statuses and signal deaths as wait
 * reports them, WNOHANG, ECHILD, waitid, SIGCHLD, getppid, process groups. */
#include "guest.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static volatile int g_chld;

static void on_chld(int sig) { (void)sig; g_chld++; }

/* child_status: forks a child that runs fn(arg), waits, returns the status. */
static int child_status(void (*fn)(int), int arg)
{
    pid_t p = fork();
    CHECK(p >= 0);
    if (p == 0) {
        fn(arg);
        _exit(99);
    }
    int st;
    CHECK(waitpid(p, &st, 0) == p);
    return st;
}

static void do_exit(int code) { _exit(code); }
static void do_kill(int sig) { signal(sig, SIG_DFL); kill(getpid(), sig); for (;;) pause(); }
static void do_segv(int unused) { (void)unused; *(volatile int *)8 = 0; }

static void describe(const char *what, int st)
{
    if (WIFEXITED(st))
        say("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        say("%s: killed by signal %d\n", what, WTERMSIG(st));
    else
        say("%s: other %#x\n", what, st);
}

int main(void)
{
    /* memory is copied: each side sees only its own writes */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    int priv = 1;
    *shared = 1;
    pid_t p = fork();
    CHECK(p >= 0);
    if (p == 0) {
        priv = 2;
        *shared = 2;
        _exit(getppid() > 0 ? 0 : 1);
    }
    int st;
    CHECK(waitpid(p, &st, 0) == p);
    say("after child: private=%d shared=%d child-ok=%d\n", priv, *shared,
        WIFEXITED(st) && WEXITSTATUS(st) == 0);

    describe("exit 0", child_status(do_exit, 0));
    describe("exit 7", child_status(do_exit, 7));
    describe("exit 255", child_status(do_exit, 255));
    describe("SIGTERM", child_status(do_kill, SIGTERM));
    describe("SIGKILL", child_status(do_kill, SIGKILL));
    describe("SIGSEGV", child_status(do_segv, 0));

    /* WNOHANG before the child is done, ECHILD with no children */
    p = fork();
    if (p == 0) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        _exit(5);
    }
    say("WNOHANG early: %d\n", waitpid(p, &st, WNOHANG));
    CHECK(waitpid(p, &st, 0) == p);
    CHECK_ERR(waitpid(-1, &st, WNOHANG), ECHILD);
    say("ECHILD: ok\n");

    /* waitid with WNOWAIT leaves the zombie for a later wait */
    p = fork();
    if (p == 0)
        _exit(9);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, p, &si, WEXITED | WNOWAIT) == 0);
    say("waitid: code=%s status=%d pid-ok=%d\n", si.si_code == CLD_EXITED ? "CLD_EXITED" : "?",
        si.si_status, si.si_pid == p);
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 9);

    /* SIGCHLD reaches the parent */
    signal(SIGCHLD, on_chld);
    p = fork();
    if (p == 0)
        _exit(0);
    CHECK(waitpid(p, &st, 0) == p);
    say("SIGCHLD seen: %d\n", g_chld >= 1);

    /* a child's own process group */
    p = fork();
    if (p == 0) {
        CHECK(setpgid(0, 0) == 0);
        _exit(getpgrp() == getpid() ? 0 : 1);
    }
    CHECK(waitpid(p, &st, 0) == p);
    say("setpgid in child: %s\n", WEXITSTATUS(st) == 0 ? "ok" : "wrong");
    return 0;
}
