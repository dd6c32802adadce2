/* Controlling terminals: a session leader acquires its pty slave by opening it (or
 * with TIOCSCTTY) and reopens it as /dev/tty; typed ^C ^\ ^Z, TIOCSIG and window
 * changes signal the foreground group; tcsetpgrp, and the SIGTTOU/SIGTTIN/EIO a
 * background group gets; TIOCNOTTY and closing the master (SIGHUP to the session
 * leader). Children run the sessions; the parent types on the master. Each step is
 * handed over through pipes, so only one process prints at a time. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

static volatile sig_atomic_t g_count[65];
static int g_up[2], g_down[2];     /* child → parent, parent → child */

static void on_sig(int sig) { g_count[sig]++; }

/* catch: sig runs on_sig, without SA_RESTART (interrupted calls fail with EINTR). */
static void catch(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void ignore(int sig) { CHECK(signal(sig, SIG_IGN) != SIG_ERR); }

/* wait_for: sleeps until sig has been handled (the signals the test waits for are
 * blocked otherwise, so none is missed between check and sleep). */
static void wait_for(int sig)
{
    sigset_t none;
    sigemptyset(&none);
    while (!g_count[sig])
        sigsuspend(&none);
}

static void block_waited(void)
{
    sigset_t s;
    sigemptyset(&s);
    int sigs[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGHUP, SIGCONT };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&s, sigs[i]);
    CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
}

static void tell(int fd, char c) { CHECK(write(fd, &c, 1) == 1); }

static char hear(int fd)
{
    char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
        ;
    CHECK(n == 1);
    return c;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* drain: reads what the master has (typed input is processed asynchronously in
 * Linux), waiting up to 2 s for expect bytes. */
static ssize_t drain(int fd, char *buf, size_t size, size_t expect)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    size_t got = 0;
    for (int tries = 0; tries < 400 && got < expect; tries++) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n > 0)
            got += (size_t)n;
        else
            sleep_ms(5);
    }
    fcntl(fd, F_SETFL, fl);
    return (ssize_t)got;
}

static void show_echo(int m, const char *label, size_t expect)
{
    char buf[64];
    ssize_t n = drain(m, buf, sizeof(buf), expect);
    char out[128];
    size_t o = 0;
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r' || c == '\n')
            o += (size_t)snprintf(out + o, sizeof(out) - o, c == '\r' ? "\\r" : "\\n");
        else
            out[o++] = (char)c;
    }
    out[o] = 0;
    say("%s: '%s'\n", label, out);
}

static int open_master(char *name, size_t size)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0);
    CHECK(grantpt(m) == 0 && unlockpt(m) == 0);
    CHECK(ptsname_r(m, name, size) == 0);
    return m;
}

static void result(const char *what, int r)
{
    int e = errno;
    say("%s: %s\n", what, r == 0 ? "0" : r > 0 ? "positive" : errno_name(e));
}

/* stat_tty: tty_nr and tpgid of /proc/self/stat. */
static void stat_tty(int *tty_nr, int *tpgid)
{
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(n > 0);
    buf[n] = 0;
    close(fd);
    char *p = strrchr(buf, ')');
    CHECK(p != NULL);
    char state;
    int ppid, pgrp, sid;
    CHECK(sscanf(p + 2, "%c %d %d %d %d %d", &state, &ppid, &pgrp, &sid, tty_nr,
                 tpgid) == 6);
}

/* ---- a session with its terminal, and a background job in it ---- */

static void background_job(int s, pid_t outsider)
{
    say("job: background %d\n", tcgetpgrp(s) != getpgrp());
    catch(SIGTTOU);
    errno = 0;
    int r = tcsetpgrp(s, getpid());
    say("job: tcsetpgrp from the background: %d %s, SIGTTOU %d\n", r, errno_name(errno),
        g_count[SIGTTOU]);
    ignore(SIGTTOU);
    result("job: with SIGTTOU ignored", tcsetpgrp(s, getpid()));
    say("job: now foreground %d\n", tcgetpgrp(s) == getpgrp());
    result("job: gives it back", tcsetpgrp(s, getppid()));

    char buf[16];
    catch(SIGTTIN);
    errno = 0;
    ssize_t n = read(s, buf, sizeof(buf));
    say("job: read in the background: %zd %s, SIGTTIN %d\n", n, errno_name(errno),
        g_count[SIGTTIN]);
    ignore(SIGTTIN);
    errno = 0;
    n = read(s, buf, sizeof(buf));
    say("job: read with SIGTTIN ignored: %zd %s\n", n, errno_name(errno));

    say("job: write without TOSTOP: %zd\n", write(s, "bg\n", 3));
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    t.c_lflag |= TOSTOP;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);   /* SIGTTOU is ignored */
    catch(SIGTTOU);
    g_count[SIGTTOU] = 0;
    errno = 0;
    n = write(s, "bg\n", 3);
    say("job: write with TOSTOP: %zd %s, SIGTTOU %d\n", n, errno_name(errno),
        g_count[SIGTTOU]);
    ignore(SIGTTOU);
    t.c_lflag &= ~(tcflag_t)TOSTOP;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);

    result("job: tcsetpgrp to another session's process", tcsetpgrp(s, outsider));
    result("job: tcsetpgrp(-1)", tcsetpgrp(s, -1));
    _exit(0);
}

/* orphaned_job: a background group whose members have no parent in another group of
 * the session cannot be stopped, so its terminal calls fail with EIO instead. */
static void orphaned_job(int s)
{
    int done[2];
    CHECK(pipe(done) == 0);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t me = getpid();
        if (fork() == 0) {
            setpgid(0, 0);
            while (getppid() == me)   /* until the middle process is gone */
                sleep_ms(5);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            char buf[8];
            errno = 0;
            ssize_t n = read(s, buf, sizeof(buf));
            say("orphan: read: %zd %s\n", n, errno_name(errno));
            errno = 0;
            int r = tcsetpgrp(s, getpid());
            say("orphan: tcsetpgrp: %d %s\n", r, errno_name(errno));
            struct termios t;
            CHECK(tcgetattr(s, &t) == 0);
            errno = 0;
            r = tcsetattr(s, TCSANOW, &t);
            say("orphan: tcsetattr: %d %s\n", r, errno_name(errno));
            tell(done[1], 'D');
            _exit(0);
        }
        _exit(0);
    }
    CHECK(waitpid(mid, NULL, 0) == mid);
    CHECK(hear(done[0]) == 'D');
    close(done[0]);
    close(done[1]);
}

static void session_leader(int m, const char *name)
{
    close(m);
    close(g_up[0]);
    close(g_down[1]);
    block_waited();
    int sigs[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGHUP, SIGCONT };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        catch(sigs[i]);
    pid_t outsider = getppid();

    say("leader: setsid is own pid %d\n", setsid() == getpid());
    int t = open("/dev/tty", O_RDWR);
    say("leader: /dev/tty before: %s\n", t < 0 ? errno_name(errno) : "opened");
    int s = open(name, O_RDWR);
    CHECK(s >= 0);
    say("leader: tcgetsid is mine %d, tcgetpgrp is mine %d\n", tcgetsid(s) == getsid(0),
        tcgetpgrp(s) == getpgrp());
    t = open("/dev/tty", O_RDWR);
    CHECK(t >= 0);
    char tn[64];
    CHECK(ttyname_r(t, tn, sizeof(tn)) == 0);
    struct termios tio;
    say("leader: /dev/tty opens: isatty %d ttyname %s tcgetattr %d\n", isatty(t), tn,
        tcgetattr(t, &tio));
    int tty_nr, tpgid;
    stat_tty(&tty_nr, &tpgid);
    struct stat st;
    CHECK(fstat(s, &st) == 0);
    unsigned mi = minor(st.st_rdev);
    int expect_nr = (int)((mi & 0xff) | (major(st.st_rdev) << 8) | ((mi & ~0xffu) << 12));
    say("leader: /proc/self/stat tty_nr %d tpgid %d\n", tty_nr == expect_nr,
        tpgid == getpgrp());
    result("leader: TIOCSCTTY on its own terminal", ioctl(s, TIOCSCTTY, 0));
    tell(g_up[1], 'R');

    wait_for(SIGINT);
    say("leader: ^C gave SIGINT\n");
    tell(g_up[1], '1');
    wait_for(SIGQUIT);
    say("leader: ^\\ gave SIGQUIT\n");
    tell(g_up[1], '2');
    wait_for(SIGTSTP);
    say("leader: ^Z gave SIGTSTP\n");
    tell(g_up[1], '3');
    wait_for(SIGWINCH);
    say("leader: TIOCSWINSZ gave SIGWINCH\n");
    tell(g_up[1], '4');
    g_count[SIGINT] = 0;
    wait_for(SIGINT);
    say("leader: TIOCSIG gave SIGINT\n");

    /* a background job of the session */
    pid_t job = fork();
    if (job == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        background_job(s, outsider);
    }
    setpgid(job, job);
    int wst;
    CHECK(waitpid(job, &wst, 0) == job);
    say("leader: job exited %d, foreground is mine again %d\n",
        WIFEXITED(wst) ? WEXITSTATUS(wst) : -1, tcgetpgrp(s) == getpgrp());
    orphaned_job(s);
    tell(g_up[1], '5');
    hear(g_down[0]);

    /* giving the terminal up as session leader hangs up the foreground group */
    result("leader: TIOCNOTTY", ioctl(s, TIOCNOTTY));
    wait_for(SIGHUP);
    wait_for(SIGCONT);
    say("leader: TIOCNOTTY gave SIGHUP %d SIGCONT %d\n", g_count[SIGHUP], g_count[SIGCONT]);
    t = open("/dev/tty", O_RDWR);
    say("leader: /dev/tty after: %s\n", t < 0 ? errno_name(errno) : "opened");
    errno = 0;
    pid_t pg = tcgetpgrp(s);
    say("leader: tcgetpgrp after: %d %s\n", (int)pg, errno_name(errno));
    _exit(0);
}

static void signals_and_jobs(void)
{
    char name[64];
    int m = open_master(name, sizeof(name));
    CHECK(pipe(g_up) == 0 && pipe(g_down) == 0);
    pid_t c = fork();
    if (c == 0)
        session_leader(m, name);
    close(g_up[1]);
    close(g_down[0]);
    CHECK(hear(g_up[0]) == 'R');

    int v = -1;
    CHECK(ioctl(m, TIOCGPGRP, &v) == 0);
    say("parent: the master's TIOCGPGRP is the leader %d\n", v == c);
    CHECK(ioctl(m, TIOCGSID, &v) == 0);
    say("parent: the master's TIOCGSID is the leader %d\n", v == c);
    errno = 0;
    int r = tcsetpgrp(m, getpgrp());
    say("parent: tcsetpgrp on the master from outside: %d %s\n", r, errno_name(errno));

    CHECK(write(m, "\x03", 1) == 1);
    CHECK(hear(g_up[0]) == '1');
    show_echo(m, "parent: echo of ^C", 2);
    CHECK(write(m, "\x1c", 1) == 1);
    CHECK(hear(g_up[0]) == '2');
    show_echo(m, "parent: echo of ^\\", 2);
    CHECK(write(m, "\x1a", 1) == 1);
    CHECK(hear(g_up[0]) == '3');
    show_echo(m, "parent: echo of ^Z", 2);
    struct winsize ws = { 40, 120, 0, 0 };
    CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0);
    CHECK(hear(g_up[0]) == '4');
    CHECK(ioctl(m, TIOCSIG, SIGINT) == 0);
    CHECK(hear(g_up[0]) == '5');
    show_echo(m, "parent: the job's output", 4);
    CHECK_ERR(ioctl(m, TIOCSIG, SIGKILL), EINVAL);
    say("parent: TIOCSIG SIGKILL: EINVAL\n");
    tell(g_down[1], 'N');

    int st;
    CHECK(waitpid(c, &st, 0) == c);
    say("parent: leader exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    CHECK_ERR(ioctl(m, TIOCGSID, &v), ENOTTY);
    CHECK(ioctl(m, TIOCGPGRP, &v) == 0);
    say("parent: no session any more: TIOCGSID ENOTTY, TIOCGPGRP %d\n", v);
    close(g_up[0]);
    close(g_down[1]);
    close(m);
}

/* ---- the master closes under a session ---- */

static void hangup(void)
{
    char name[64];
    int m = open_master(name, sizeof(name));
    CHECK(pipe(g_up) == 0);
    pid_t c = fork();
    if (c == 0) {
        close(m);
        close(g_up[0]);
        block_waited();
        catch(SIGHUP);
        catch(SIGCONT);
        setsid();
        int s = open(name, O_RDWR);
        CHECK(s >= 0);
        tell(g_up[1], 'R');
        wait_for(SIGHUP);
        wait_for(SIGCONT);
        say("leader: hangup gave SIGHUP %d SIGCONT %d\n", g_count[SIGHUP],
            g_count[SIGCONT]);
        char buf[8];
        say("leader: read after hangup: %zd\n", read(s, buf, sizeof(buf)));
        CHECK_ERR(write(s, "x", 1), EIO);
        int t = open("/dev/tty", O_RDWR);
        say("leader: write EIO, /dev/tty: %s\n", t < 0 ? errno_name(errno) : "opened");
        _exit(0);
    }
    close(g_up[1]);
    CHECK(hear(g_up[0]) == 'R');
    close(m);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    say("parent: leader exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(g_up[0]);
}

/* ---- TIOCSCTTY and who may acquire a terminal ---- */

static void acquiring(void)
{
    char name[64];
    int m = open_master(name, sizeof(name));
    pid_t c = fork();
    if (c == 0) {
        close(m);
        setsid();
        int w = open(name, O_WRONLY);
        CHECK(w >= 0);
        int t = open("/dev/tty", O_RDWR);
        say("leader: after a write-only open, /dev/tty: %s\n",
            t < 0 ? errno_name(errno) : "opened");
        int s = open(name, O_RDWR | O_NOCTTY);
        CHECK(s >= 0);
        t = open("/dev/tty", O_RDWR);
        say("leader: after O_NOCTTY, /dev/tty: %s\n", t < 0 ? errno_name(errno) : "opened");
        result("leader: TIOCSCTTY", ioctl(s, TIOCSCTTY, 0));
        t = open("/dev/tty", O_RDWR);
        say("leader: then /dev/tty: %s\n", t < 0 ? errno_name(errno) : "opened");
        pid_t k = fork();
        if (k == 0) {
            result("member: TIOCSCTTY", ioctl(s, TIOCSCTTY, 0));
            say("member: inherited /dev/tty: %s\n",
                open("/dev/tty", O_RDWR) < 0 ? errno_name(errno) : "opened");
            setsid();
            say("member: after setsid, /dev/tty: %s\n",
                open("/dev/tty", O_RDWR) < 0 ? errno_name(errno) : "opened");
            result("other leader: TIOCSCTTY on a taken terminal", ioctl(s, TIOCSCTTY, 0));
            int s2 = open(name, O_RDWR);
            CHECK(s2 >= 0);
            say("other leader: opening it does not take it: %s\n",
                open("/dev/tty", O_RDWR) < 0 ? errno_name(errno) : "opened");
            _exit(0);
        }
        CHECK(waitpid(k, NULL, 0) == k);
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    say("parent: leader exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(m);
}

int main(void)
{
    alarm(30);
    signals_and_jobs();
    hangup();
    acquiring();
    return 0;
}
