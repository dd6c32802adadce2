/* Job control: SIGSTOP/SIGCONT stop and resume a whole process (every thread), the
 * parent's SIGCHLD (CLD_STOPPED, CLD_CONTINUED, none with SA_NOCLDSTOP), waitpid's
 * WUNTRACED/WCONTINUED and waitid's WSTOPPED/WCONTINUED/WNOWAIT (each state reported
 * once), /proc's 'T' state, SIGTSTP with a handler, SIGKILL of a stopped process, the
 * rule that SIGCONT discards pending stop signals and a stop signal discards a
 * pending SIGCONT, SIGTSTP discarded in an orphaned process group, and SIGHUP+SIGCONT
 * to a stopped group that its last outside link's exit orphans. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- the SIGCHLD handler's record ---- */

#define MAX_CHLD 16
static volatile int g_nchld;
static volatile int g_chld_code[MAX_CHLD], g_chld_status[MAX_CHLD];

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    int n = g_nchld;
    if (n < MAX_CHLD) {
        g_chld_code[n] = si->si_code;
        g_chld_status[n] = si->si_status;
        g_nchld = n + 1;
    }
}

static void set_chld_handler(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
}

/* wait_chld: waits (up to 2 s) until the handler has run n times in all. */
static void wait_chld(int n)
{
    for (int i = 0; i < 2000 && g_nchld < n; i++)
        sleep_ms(1);
}

static const char *code_name(int code)
{
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    default: return "CLD_?";
    }
}

static void print_chld(int from)
{
    for (int i = from; i < g_nchld; i++)
        say("  SIGCHLD %s status %d\n", code_name(g_chld_code[i]), g_chld_status[i]);
}

static void describe(const char *what, int st)
{
    if (WIFEXITED(st))
        say("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        say("%s: killed by signal %d\n", what, WTERMSIG(st));
    else if (WIFSTOPPED(st))
        say("%s: stopped by signal %d (status %#x)\n", what, WSTOPSIG(st), st);
    else if (WIFCONTINUED(st))
        say("%s: continued (status %#x)\n", what, st);
    else
        say("%s: other %#x\n", what, st);
}

/* proc_state: the state letter of /proc/PID/stat (after the parenthesised name). */
static char proc_state(const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    CHECK(n > 0);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    CHECK(p && p[1] == ' ');
    return p[2];
}

/* status_state: the State: line of /proc/PID/status. */
static void status_state(pid_t pid, char *out, size_t len)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    CHECK(n > 0);
    buf[n] = '\0';
    char *s = strstr(buf, "State:\t");
    CHECK(s);
    s += 7;
    size_t i = 0;
    while (s[i] && s[i] != '\n' && i + 1 < len) {
        out[i] = s[i];
        i++;
    }
    out[i] = '\0';
}

static pid_t fork_sleeper(void)
{
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        for (;;)
            usleep(10000);
    }
    return c;
}

/* ---- one single-threaded child, stopped and continued ---- */

static void stop_and_continue(void)
{
    say("-- SIGSTOP / SIGCONT with waitpid\n");
    g_nchld = 0;
    set_chld_handler(0);
    pid_t c = fork_sleeper();
    int st;
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    describe("waitpid WUNTRACED", st);
    say("WIFSTOPPED %d WSTOPSIG is SIGSTOP %d\n", WIFSTOPPED(st), WSTOPSIG(st) == SIGSTOP);
    say("again (WNOHANG|WUNTRACED): %d\n", (int)waitpid(c, &st, WNOHANG | WUNTRACED));
    char path[64], state[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)c);
    say("/proc stat state: %c\n", proc_state(path));
    status_state(c, state, sizeof(state));
    say("/proc status State: %s\n", state);
    wait_chld(1);

    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, WCONTINUED) == c);
    describe("waitpid WCONTINUED", st);
    say("again (WNOHANG|WCONTINUED): %d\n", (int)waitpid(c, &st, WNOHANG | WCONTINUED));
    /* WUNTRACED alone sees nothing of a continue */
    say("WNOHANG|WUNTRACED after the continue: %d\n",
        (int)waitpid(c, &st, WNOHANG | WUNTRACED));
    wait_chld(2);

    /* a second SIGCONT to a running process is no event */
    CHECK(kill(c, SIGCONT) == 0);
    sleep_ms(20);
    say("SIGCONT to a running child, WNOHANG|WCONTINUED: %d\n",
        (int)waitpid(c, &st, WNOHANG | WCONTINUED));

    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    describe("after SIGKILL", st);
    wait_chld(3);
    say("SIGCHLD seen by the handler:\n");
    print_chld(0);
}

static void nocldstop(void)
{
    say("-- SA_NOCLDSTOP\n");
    g_nchld = 0;
    set_chld_handler(SA_NOCLDSTOP);
    pid_t c = fork_sleeper();
    int st;
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    describe("waitpid WUNTRACED", st);
    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, WCONTINUED) == c);
    describe("waitpid WCONTINUED", st);
    sleep_ms(50);
    say("SIGCHLD for stop and continue: %d\n", g_nchld);
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    wait_chld(1);
    say("after the kill:\n");
    print_chld(0);
    signal(SIGCHLD, SIG_DFL);
}

/* ---- a threaded child stops as a whole ---- */

struct counters { volatile unsigned long n[2]; };
static struct counters *g_ctr;

static void *spin(void *arg)
{
    volatile unsigned long *n = &g_ctr->n[(long)arg];
    for (;;)
        (*n)++;
    return NULL;
}

static int advanced(const unsigned long before[2])
{
    return g_ctr->n[0] != before[0] && g_ctr->n[1] != before[1];
}

static int count_stopped_threads(pid_t c)
{
    char dir[64], path[400];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)c);
    DIR *d = opendir(dir);
    CHECK(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
        n += proc_state(path) == 'T';
    }
    closedir(d);
    return n;
}

static void threaded_child(void)
{
    say("-- a threaded child\n");
    g_ctr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(g_ctr != MAP_FAILED);
    memset((void *)g_ctr, 0, sizeof(*g_ctr));
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        pthread_t th[2];
        for (long i = 0; i < 2; i++)
            if (pthread_create(&th[i], NULL, spin, (void *)i) != 0)
                _exit(3);
        pthread_join(th[0], NULL);  /* the main thread sleeps in a futex wait */
        _exit(4);
    }
    for (int i = 0; i < 2000 && !(g_ctr->n[0] && g_ctr->n[1]); i++)
        sleep_ms(1);
    say("both threads running: %d\n", g_ctr->n[0] && g_ctr->n[1]);

    CHECK(kill(c, SIGSTOP) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, c, &si, WSTOPPED | WNOWAIT) == 0);
    say("waitid WSTOPPED|WNOWAIT: pid ok %d %s status %d\n", si.si_pid == c,
        code_name(si.si_code), si.si_status);
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, c, &si, WSTOPPED) == 0);
    say("waitid WSTOPPED: pid ok %d %s status %d\n", si.si_pid == c, code_name(si.si_code),
        si.si_status);
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, c, &si, WSTOPPED | WNOHANG) == 0);
    say("waitid WSTOPPED|WNOHANG again: pid %d\n", (int)si.si_pid);
    say("threads in state T: %d\n", count_stopped_threads(c));

    unsigned long a[2] = { g_ctr->n[0], g_ctr->n[1] };
    sleep_ms(50);
    unsigned long b[2] = { g_ctr->n[0], g_ctr->n[1] };
    say("counters moved while stopped: %d\n", a[0] != b[0] || a[1] != b[1]);

    CHECK(kill(c, SIGCONT) == 0);
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, c, &si, WCONTINUED) == 0);
    say("waitid WCONTINUED: %s status %d\n", code_name(si.si_code), si.si_status);
    int moved = 0;
    for (int i = 0; i < 2000 && !(moved = advanced(b)); i++)
        sleep_ms(1);
    say("both counters moved after SIGCONT: %d\n", moved);

    /* stopped again, then killed: the kill ends the stop */
    int st;
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    describe("stopped again", st);
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    describe("SIGKILL while stopped", st);
    munmap(g_ctr, 4096);
}

/* ---- SIGTSTP ---- */

static int g_tstp_pipe;

static void on_tstp(int sig)
{
    (void)sig;
    write(g_tstp_pipe, "h", 1);
}

static void tstp(void)
{
    say("-- SIGTSTP\n");
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(p[0]);
        g_tstp_pipe = p[1];
        signal(SIGTSTP, on_tstp);
        write(p[1], "r", 1);
        for (;;)
            usleep(10000);
    }
    close(p[1]);
    char ch;
    CHECK(read(p[0], &ch, 1) == 1 && ch == 'r');
    CHECK(kill(c, SIGTSTP) == 0);
    CHECK(read(p[0], &ch, 1) == 1);
    say("with a handler: the handler ran: %d\n", ch == 'h');
    int st;
    sleep_ms(20);
    say("  stopped? waitpid WNOHANG|WUNTRACED: %d\n", (int)waitpid(c, &st, WNOHANG | WUNTRACED));
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    close(p[0]);

    /* default action, in a process group of its own whose parent is in another
     * group of the same session (not orphaned): it stops */
    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        for (;;)
            usleep(10000);
    }
    CHECK(setpgid(c, c) == 0);
    CHECK(kill(c, SIGTSTP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    describe("default action, own group", st);
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);

    /* a new session's group is orphaned: SIGTSTP is discarded, SIGSTOP is not */
    CHECK(pipe(p) == 0);
    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(p[0]);
        if (setsid() < 0)
            _exit(5);
        raise(SIGTSTP);
        write(p[1], "s", 1);
        raise(SIGSTOP);
        _exit(0);
    }
    close(p[1]);
    ch = 0;
    CHECK(read(p[0], &ch, 1) == 1);
    say("orphaned group: went on after SIGTSTP: %d\n", ch == 's');
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    describe("  then", st);
    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    describe("  after SIGCONT", st);
    close(p[0]);
}

/* ---- pending stop signals and SIGCONT discard each other ---- */

static void discard_rules(void)
{
    say("-- SIGCONT and stop signals discard each other\n");
    int cmd[2], rep[2];
    CHECK(pipe(cmd) == 0 && pipe(rep) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(cmd[1]);
        close(rep[0]);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTSTP);
        sigaddset(&set, SIGCONT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        write(rep[1], "r", 1);
        char ch;
        while (read(cmd[0], &ch, 1) == 1) {
            sigset_t pend;
            sigpending(&pend);
            char r[2] = { (char)('0' + sigismember(&pend, SIGTSTP)),
                          (char)('0' + sigismember(&pend, SIGCONT)) };
            write(rep[1], r, 2);
        }
        _exit(0);
    }
    close(cmd[0]);
    close(rep[1]);
    char r[2];
    CHECK(read(rep[0], r, 1) == 1);
    static const struct { int sig; const char *name; } steps[] = {
        { SIGTSTP, "SIGTSTP" }, { SIGCONT, "SIGCONT" }, { SIGTSTP, "SIGTSTP" },
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        CHECK(kill(c, steps[i].sig) == 0);
        CHECK(write(cmd[1], "?", 1) == 1);
        CHECK(read(rep[0], r, 2) == 2);
        say("after %s: pending TSTP %c CONT %c\n", steps[i].name, r[0], r[1]);
    }
    close(cmd[1]);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    describe("child", st);
    close(rep[0]);
}

/* ---- a stopped group orphaned by an exit gets SIGHUP and SIGCONT ---- */

static int g_hup_pipe;

static void on_hup(int sig)
{
    (void)sig;
    write(g_hup_pipe, "hup\n", 4);
}

static void orphaned_by_exit(void)
{
    say("-- orphaned by an exit while stopped\n");
    /* the grandchild comes to us when its parent dies (in the sandbox we are init) */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(p[0]);
        if (setsid() < 0)
            _exit(5);
        pid_t g = fork();
        if (g < 0)
            _exit(6);
        if (g == 0) {
            g_hup_pipe = p[1];
            signal(SIGHUP, on_hup);
            setpgid(0, 0);
            raise(SIGSTOP);
            write(p[1], "cont\n", 5);
            _exit(7);
        }
        close(p[1]);
        int st;
        if (waitpid(g, &st, WUNTRACED) != g || !WIFSTOPPED(st))
            _exit(8);
        _exit(0);  /* g's group loses its link to the session */
    }
    close(p[1]);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    describe("middle child", st);
    char buf[64];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    say("grandchild wrote:\n%s", buf);
    pid_t g = waitpid(-1, &st, 0);
    say("reaped the grandchild: %d\n", g > 0);
    describe("grandchild", st);
    close(p[0]);
}

/* ---- a stop does not interrupt a sleep; sigtimedwait takes a stop signal ---- */

static void sleeps(void)
{
    say("-- sleeping across a stop\n");
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        struct timespec ts = { 0, 300 * 1000000L };
        errno = 0;
        int r = nanosleep(&ts, NULL);
        char out = r == 0 ? '0' : errno == EINTR ? 'I' : '?';
        write(p[1], &out, 1);
        _exit(0);
    }
    sleep_ms(50);
    int st;
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    CHECK(kill(c, SIGCONT) == 0);
    char ch = 0;
    CHECK(read(p[0], &ch, 1) == 1);
    say("nanosleep through SIGSTOP+SIGCONT: %s\n",
        ch == '0' ? "0" : ch == 'I' ? "EINTR" : "?");
    CHECK(waitpid(c, &st, 0) == c);
    close(p[0]);
    close(p[1]);

    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTSTP);
        sigprocmask(SIG_BLOCK, &set, NULL);
        struct timespec ts = { 5, 0 };
        int sig = sigtimedwait(&set, NULL, &ts);
        _exit(sig);
    }
    sleep_ms(50);
    CHECK(kill(c, SIGTSTP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    describe("sigtimedwait for SIGTSTP", st);
}

int main(void)
{
    alarm(30);  /* a hang fails the test instead of stalling the run */
    stop_and_continue();
    nocldstop();
    threaded_child();
    tstp();
    discard_rules();
    orphaned_by_exit();
    sleeps();
    return 0;
}
