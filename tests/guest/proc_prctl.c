/* prctl: the parent-death signal (sent when the parent *thread* exits, reset on
 * fork), child subreapers (orphans go to the nearest one instead of init, and it reaps
 * them), no_new_privs, dumpable, keepcaps/securebits and the tid address.
 *
 * Every case runs in its own child process S, which makes itself a subreaper: then
 * orphans land in S both natively and in the sandbox (where this test's first process
 * is init, which would catch them anyway). Pids are compared, never printed. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#define SECBIT_KEEP_CAPS 0x10

/* wait_sig: waits up to 5 s for sig (blocked by the caller); its siginfo in *si.
 * Returns 1 if it came. */
static int wait_sig(int sig, siginfo_t *si)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec ts = { 5, 0 };
    return sigtimedwait(&set, si, &ts) == sig;
}

static void block(int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
}

/* reap: waits for pid and returns its exit code (-1 if it did not exit normally). */
static int reap(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* run_case: runs fn in a subreaper child and checks it exits 0. */
static void run_case(const char *name, void (*fn)(void))
{
    say("-- %s\n", name);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);
        fn();
        _exit(0);
    }
    CHECK(reap(pid) == 0);
}

/* ---- parent-death signal ---- */

/* pdeath_process: S forks M, M forks C; C asks for SIGUSR1 at its parent's death;
 * M exits; C gets the signal and is reparented to S, which reaps it. */
static void pdeath_process(void)
{
    pid_t s = getpid();
    int ready[2], cpid_pipe[2];
    CHECK(pipe(ready) == 0 && pipe(cpid_pipe) == 0);
    pid_t m = fork();
    CHECK(m >= 0);
    if (m == 0) {
        block(SIGUSR1);
        pid_t mpid = getpid();
        pid_t c = fork();
        CHECK(c >= 0);
        if (c == 0) {
            CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0);
            int sig = -1;
            CHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0);
            say("child: pdeathsig is SIGUSR1: %d\n", sig == SIGUSR1);
            CHECK(write(ready[1], "r", 1) == 1);
            siginfo_t si;
            int got = wait_sig(SIGUSR1, &si);
            say("child: SIGUSR1 at the parent's exit: %d\n", got);
            say("child: si_code SI_USER %d, si_pid is the dead parent %d\n",
                got && si.si_code == SI_USER, got && si.si_pid == mpid);
            say("child: reparented to the subreaper: %d\n", getppid() == s);
            _exit(got ? 3 : 1);
        }
        CHECK(write(cpid_pipe[1], &c, sizeof(c)) == sizeof(c));
        char b;
        CHECK(read(ready[0], &b, 1) == 1);
        _exit(0);
    }
    pid_t c;
    CHECK(read(cpid_pipe[0], &c, sizeof(c)) == sizeof(c));
    CHECK(reap(m) == 0);
    say("subreaper reaped the orphan, exit %d\n", reap(c));
}

struct thread_arg { int ready[2]; pid_t c; };

/* forker: a thread that forks C, waits until C is set up, then exits. */
static void *forker(void *p)
{
    struct thread_arg *ta = p;
    pid_t mpid = getpid();
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR2) == 0);
        CHECK(write(ta->ready[1], "r", 1) == 1);
        siginfo_t si;
        int got = wait_sig(SIGUSR2, &si);
        say("child: SIGUSR2 when the forking thread exited: %d\n", got);
        say("child: parent process unchanged: %d\n", getppid() == mpid);
        _exit(got ? 4 : 1);
    }
    ta->c = c;
    char b;
    CHECK(read(ta->ready[0], &b, 1) == 1);
    return NULL;
}

/* pdeath_thread: the parent of a process is the thread that forked it: C's
 * parent-death signal comes when that thread exits, though its process lives on. */
static void pdeath_thread(void)
{
    block(SIGUSR2);
    struct thread_arg ta;
    CHECK(pipe(ta.ready) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, forker, &ta) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    say("process reaped its child, exit %d\n", reap(ta.c));
}

/* pdeath_resets: not inherited by fork; cleared by an effective uid change. */
static void pdeath_resets(void)
{
    CHECK(prctl(PR_SET_PDEATHSIG, SIGTERM) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        int sig = -1;
        CHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0);
        say("forked child's pdeathsig %d\n", sig);
        _exit(0);
    }
    CHECK(reap(c) == 0);
    int sig = -1;
    CHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0);
    say("own pdeathsig is SIGTERM %d\n", sig == SIGTERM);
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, 65), EINVAL);
    if (geteuid() == 0) {
        CHECK(seteuid(1000) == 0);
        CHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0);
        say("pdeathsig after seteuid %d\n", sig);
    } else {
        say("pdeathsig after seteuid 0\n");
    }
}

/* ---- subreaper ---- */

/* subreaper: S forks A, A forks B and exits; B sees S as its parent and S reaps it. */
static void subreaper(void)
{
    int on = -1;
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &on) == 0);
    say("subreaper flag %d\n", on);
    pid_t s = getpid();
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t a = fork();
    CHECK(a >= 0);
    if (a == 0) {
        pid_t apid = getpid();
        pid_t b = fork();
        CHECK(b >= 0);
        if (b == 0) {
            /* wait for A to go */
            for (int i = 0; i < 5000 && getppid() == apid; i++)
                usleep(1000);
            say("grandchild: parent is now the subreaper: %d\n", getppid() == s);
            _exit(7);
        }
        CHECK(write(p[1], &b, sizeof(b)) == sizeof(b));
        _exit(0);
    }
    pid_t b;
    CHECK(read(p[0], &b, sizeof(b)) == sizeof(b));
    CHECK(reap(a) == 0);
    say("subreaper reaped the grandchild, exit %d\n", reap(b));
    CHECK_ERR(waitpid(-1, NULL, WNOHANG), ECHILD);
    /* a child of the subreaper does not inherit the flag */
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        CHECK(prctl(PR_GET_CHILD_SUBREAPER, &on) == 0);
        say("child's subreaper flag %d\n", on);
        _exit(0);
    }
    CHECK(reap(c) == 0);
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &on) == 0);
    say("subreaper flag after clearing %d\n", on);
}

/* ---- flags ---- */

static void no_new_privs(void)
{
    say("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
    CHECK_ERR(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    say("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "NoNewPrivs:", 11))
            say("status %s", line);
    fclose(f);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        say("forked child's no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        _exit(0);
    }
    CHECK(reap(c) == 0);
}

static void dumpable(void)
{
    say("dumpable %d\n", prctl(PR_GET_DUMPABLE));
    CHECK_ERR(prctl(PR_SET_DUMPABLE, 2), EINVAL);
    CHECK(prctl(PR_SET_DUMPABLE, 0) == 0);
    say("dumpable %d\n", prctl(PR_GET_DUMPABLE));
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        say("forked child's dumpable %d\n", prctl(PR_GET_DUMPABLE));
        _exit(0);
    }
    CHECK(reap(c) == 0);
    CHECK(prctl(PR_SET_DUMPABLE, 1) == 0);
    say("dumpable %d\n", prctl(PR_GET_DUMPABLE));
}

static void caps_flags(void)
{
    say("keepcaps %d securebits %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0),
        prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    if (geteuid() != 0) {
        say("securebits KEEP_CAPS: keepcaps 1\n");
        return;
    }
    CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0) == 0);
    say("securebits KEEP_CAPS: keepcaps %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == 0);
    say("keepcaps %d securebits %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0),
        prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    CHECK_ERR(prctl(PR_SET_SECUREBITS, 0x100000, 0, 0, 0), EPERM);
}

static void misc(void)
{
    char name[16] = { 0 };
    CHECK(prctl(PR_SET_NAME, "prctl-case", 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    say("name %s\n", name);
    CHECK_ERR(prctl(0x7fff, 0, 0, 0, 0), EINVAL);
    /* the clear-child-tid address set_tid_address registered */
    int *old = NULL, word = 0, *got = NULL;
    CHECK(prctl(PR_GET_TID_ADDRESS, &old, 0, 0, 0) == 0);
    syscall(SYS_set_tid_address, &word);
    CHECK(prctl(PR_GET_TID_ADDRESS, &got, 0, 0, 0) == 0);
    say("tid address is the one set: %d\n", got == &word);
    syscall(SYS_set_tid_address, old);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    run_case("parent-death signal: process", pdeath_process);
    run_case("parent-death signal: thread", pdeath_thread);
    run_case("parent-death signal: resets", pdeath_resets);
    run_case("child subreaper", subreaper);
    run_case("no_new_privs", no_new_privs);
    run_case("dumpable", dumpable);
    run_case("keepcaps and securebits", caps_flags);
    run_case("name, tid address, unknown option", misc);
    return 0;
}
