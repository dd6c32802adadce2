/* POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) between a parent and a child
 * sequenced by pipes: conflicts and what F_GETLK reports, ranges (whence, negative
 * and zero lengths, splitting by unlocking the middle), upgrade and downgrade, the
 * access-mode and argument errors, release when any fd of the file is closed and
 * when the process exits, F_SETLKW waiting for the holder and interrupted by a
 * signal, EDEADLK for a two-process cycle; a thread's lock is its process's, and
 * exec keeps the locks but for those on close-on-exec fds. */
#include "guest.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static char g_dir[64], g_path[96];
static pid_t g_parent, g_child;
static int g_to_child[2], g_to_parent[2];

static const char *ename(int e)
{
    if (e == EDEADLK)
        return "EDEADLK";
    if (e == ENOLCK)
        return "ENOLCK";
    return errno_name(e);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* post/await: one step of the parent/child dance over the pipes. */
static void post(int fd) { CHECK(write(fd, "x", 1) == 1); }
static void await(int fd)
{
    char c;
    CHECK(read(fd, &c, 1) == 1);
}
#define TELL_CHILD() post(g_to_child[1])
#define WAIT_PARENT() await(g_to_child[0])
#define TELL_PARENT() post(g_to_parent[1])
#define WAIT_CHILD() await(g_to_parent[0])

/* lk: fcntl(fd, cmd) with a struct flock; returns 0 or the errno. */
static int lk(int fd, int cmd, int type, int whence, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = (short)type;
    fl.l_whence = (short)whence;
    fl.l_start = start;
    fl.l_len = len;
    return fcntl(fd, cmd, &fl) == 0 ? 0 : errno;
}

static const char *tname(int type)
{
    return type == F_RDLCK ? "R" : type == F_WRLCK ? "W" : type == F_UNLCK ? "U" : "?";
}

static const char *who(pid_t pid)
{
    static char buf[32];
    if (pid == g_parent)
        return "parent";
    if (pid == g_child)
        return "child";
    snprintf(buf, sizeof(buf), "%s", pid == 0 ? "0" : "other");
    return buf;
}

/* probe: F_GETLK for type over start/len (SEEK_SET), printed. */
static void probe(const char *tag, int fd, int type, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = (short)type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    fl.l_pid = 12345;
    if (fcntl(fd, F_GETLK, &fl) < 0) {
        say("%s: GETLK %s %lld+%lld: %s\n", tag, tname(type), (long long)start,
            (long long)len, ename(errno));
        return;
    }
    if (fl.l_type == F_UNLCK)
        say("%s: GETLK %s %lld+%lld: free (whence %d start %lld len %lld pid %s)\n", tag,
            tname(type), (long long)start, (long long)len, fl.l_whence,
            (long long)fl.l_start, (long long)fl.l_len, fl.l_pid == 12345 ? "kept" : "?");
    else
        say("%s: GETLK %s %lld+%lld: %s whence %d start %lld len %lld pid %s\n", tag,
            tname(type), (long long)start, (long long)len, tname(fl.l_type), fl.l_whence,
            (long long)fl.l_start, (long long)fl.l_len, who(fl.l_pid));
}

/* map: which of bytes from..to another process could not write-lock ("W" held for
 * writing, "R" for reading, "-" free). */
static void map(const char *tag, int fd, int from, int to)
{
    char buf[128];
    int n = 0;
    for (int b = from; b <= to && n < (int)sizeof(buf) - 1; b++) {
        struct flock fl;
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_start = b;
        fl.l_len = 1;
        CHECK(fcntl(fd, F_GETLK, &fl) == 0);
        buf[n++] = fl.l_type == F_UNLCK ? '-' : fl.l_type == F_WRLCK ? 'W' : 'R';
    }
    buf[n] = 0;
    say("%s: bytes %d..%d: %s\n", tag, from, to, buf);
}

static int open_file(int flags)
{
    int fd = open(g_path, flags);
    CHECK(fd >= 0);
    return fd;
}

/* start_child: forks; the child runs fn with its own fd of the file and exits. */
static void start_child(void (*fn)(void))
{
    CHECK(pipe(g_to_child) == 0 && pipe(g_to_parent) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        g_child = getpid();
        fn();
        _exit(0);
    }
    g_child = c;
}

static void end_child(void)
{
    int st;
    CHECK(waitpid(g_child, &st, 0) == g_child);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(g_to_child[0]);
    close(g_to_child[1]);
    close(g_to_parent[0]);
    close(g_to_parent[1]);
}

/* ---- conflicts and F_GETLK ---- */

static void conflicts_child(void)
{
    int fd = open_file(O_RDWR);
    WAIT_PARENT();
    probe("child", fd, F_WRLCK, 0, 0);
    probe("child", fd, F_RDLCK, 5, 1);
    probe("child", fd, F_RDLCK, 20, 10);
    probe("child", fd, F_WRLCK, 25, 0);
    probe("child", fd, F_WRLCK, 10, 10);
    say("child: SETLK W 5+1: %s\n", ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 1)));
    say("child: SETLK R 20+1: %s\n", ename(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 1)));
    say("child: SETLK W 20+1: %s\n", ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 1)));
    say("child: SETLK W 10+10: %s\n", ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10)));
    /* its own locks never conflict with itself */
    probe("child", fd, F_WRLCK, 10, 10);
    TELL_PARENT();
    WAIT_PARENT();
    /* exit with the locks held: they go with the process */
}

static void conflicts(void)
{
    say("-- conflicts\n");
    int fd = open_file(O_RDWR);
    start_child(conflicts_child);
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0);
    CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10) == 0);
    TELL_CHILD();
    WAIT_CHILD();
    probe("parent", fd, F_WRLCK, 10, 10);
    probe("parent", fd, F_WRLCK, 15, 10);
    /* upgrade the read lock: blocked by the child's read lock on byte 20 */
    say("parent: upgrade 20+10: %s\n", ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 10)));
    say("parent: upgrade 21+9: %s\n", ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 21, 9)));
    TELL_CHILD();
    end_child();
    /* the child exited: its locks went with it */
    probe("parent", fd, F_WRLCK, 0, 0);
    say("parent: upgrade 20+10 after exit: %s\n",
        ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 10)));
    close(fd);
}

/* ---- ranges: split, whence, lengths ---- */

static void ranges_child(void)
{
    int fd = open_file(O_RDONLY);
    for (;;) {
        char c;
        CHECK(read(g_to_child[0], &c, 1) == 1);
        if (c == 'q')
            break;
        switch (c) {
        case 'm': map("child", fd, 0, 12); break;
        case 'n': map("child", fd, 36, 66); break;
        case 'e': probe("child", fd, F_RDLCK, 0, 0); map("child", fd, 86, 100); break;
        case 'g': probe("child", fd, F_RDLCK, 0, 10); break;
        }
        TELL_PARENT();
    }
}

static void ask(char c)
{
    CHECK(write(g_to_child[1], &c, 1) == 1);
    if (c != 'q')
        WAIT_CHILD();
}

static void ranges(void)
{
    say("-- ranges\n");
    int fd = open_file(O_RDWR);
    start_child(ranges_child);
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0);
    ask('m');
    /* unlock the middle: two pieces remain */
    CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 3, 4) == 0);
    ask('m');
    ask('g');
    /* downgrade one piece, then merge everything into one read lock */
    CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 8, 1) == 0);
    ask('m');
    CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 12) == 0);
    ask('m');
    ask('g');
    CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);
    /* negative length: the bytes before l_start */
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, -10) == 0);
    /* SEEK_CUR: from the file position */
    CHECK(lseek(fd, 60, SEEK_SET) == 60);
    CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_CUR, 2, 3) == 0);
    ask('n');
    CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_CUR, -20, 0) == 0);   /* 40.. to EOF */
    ask('n');
    /* SEEK_END: the file is 100 bytes; from 90 to EOF, even past it */
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_END, -10, 0) == 0);
    ask('e');
    CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_END, 0, -5) == 0);    /* 95..99 */
    ask('e');
    ask('q');
    end_child();
    close(fd);
}

/* ---- errors ---- */

static void errors(void)
{
    say("-- errors\n");
    int rd = open_file(O_RDONLY), wr = open_file(O_WRONLY), rw = open_file(O_RDWR);
    say("W on O_RDONLY: %s\n", ename(lk(rd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    say("R on O_WRONLY: %s\n", ename(lk(wr, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
    say("R on O_RDONLY: %s\n", ename(lk(rd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
    say("W on O_WRONLY: %s\n", ename(lk(wr, F_SETLK, F_WRLCK, SEEK_SET, 2, 1)));
    say("U on O_RDONLY: %s\n", ename(lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0)));
    say("W on O_RDONLY via SETLKW: %s\n", ename(lk(rd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1)));
    say("GETLK W on O_RDONLY: %s\n", ename(lk(rd, F_GETLK, F_WRLCK, SEEK_SET, 0, 1)));
    say("GETLK U: %s\n", ename(lk(rw, F_GETLK, F_UNLCK, SEEK_SET, 0, 1)));
    say("SETLK type 7: %s\n", ename(lk(rw, F_SETLK, 7, SEEK_SET, 0, 1)));
    say("GETLK type 7: %s\n", ename(lk(rw, F_GETLK, 7, SEEK_SET, 0, 1)));
    say("whence 3: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, 3, 0, 1)));
    say("start -1: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, SEEK_SET, -1, 1)));
    say("len -6 at 5: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, SEEK_SET, 5, -6)));
    say("len -5 at 5: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, SEEK_SET, 5, -5)));
    say("start max, len 2: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 2)));
    say("start max, len 1: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 1)));
    say("SEEK_END + max: %s\n", ename(lk(rw, F_SETLK, F_WRLCK, SEEK_END, LLONG_MAX, 1)));
    say("bad type and overflow: %s\n", ename(lk(rw, F_SETLK, 7, SEEK_SET, LLONG_MAX, 2)));
    say("bad fd: %s\n", ename(lk(999, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    CHECK_ERR(fcntl(rw, F_SETLK, (struct flock *)16), EFAULT);
    CHECK_ERR(fcntl(rw, F_GETLK, (struct flock *)16), EFAULT);
    say("bad pointers: EFAULT\n");
    int dir = open(g_dir, O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    say("R on a directory: %s\n", ename(lk(dir, F_SETLK, F_RDLCK, SEEK_SET, 0, 0)));
    int path = open(g_path, O_PATH);
    CHECK(path >= 0);
    say("GETLK on O_PATH: %s\n", ename(lk(path, F_GETLK, F_RDLCK, SEEK_SET, 0, 0)));
    say("U on O_PATH: %s\n", ename(lk(path, F_SETLK, F_UNLCK, SEEK_SET, 0, 0)));
    close(path);
    close(dir);
    close(rd);
    close(wr);
    close(rw);
}

/* ---- release on close of any fd ---- */

static void close_child(void)
{
    int fd = open_file(O_RDONLY);
    for (;;) {
        char c;
        CHECK(read(g_to_child[0], &c, 1) == 1);
        if (c == 'q')
            break;
        map("child", fd, 0, 5);
        TELL_PARENT();
    }
}

static void release_on_close(void)
{
    say("-- release on close\n");
    int fd = open_file(O_RDWR);
    start_child(close_child);
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 3) == 0);
    ask('m');
    /* closing a dup of the fd releases it */
    int d = dup(fd);
    CHECK(d >= 0);
    close(d);
    ask('m');
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 3) == 0);
    /* so does closing another open of the same file, even read-only */
    int other = open_file(O_RDONLY);
    close(other);
    ask('m');
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 3) == 0);
    /* and dup2 over an fd of the file */
    int other2 = open_file(O_RDONLY);
    CHECK(dup2(g_to_child[0], other2) == other2);
    ask('m');
    close(other2);
    /* closing an fd of another file does not */
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 3) == 0);
    int unrelated = open(g_dir, O_RDONLY);
    CHECK(unrelated >= 0);
    close(unrelated);
    ask('m');
    /* nor does a child process (no POSIX locks are inherited, and its close is its
     * own) */
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(fd);
        _exit(lk(fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0) == EBADF ? 0 : 1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ask('m');
    ask('q');
    end_child();
    close(fd);
}

/* ---- F_SETLKW ---- */

static volatile int g_alarms;
static void on_alarm(int sig) { (void)sig; g_alarms++; }

static void wait_child(void)
{
    int fd = open_file(O_RDWR);
    WAIT_PARENT();
    /* interrupted by a handler without SA_RESTART: EINTR */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 0 }, { 0, 100 * 1000 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
    say("child: SETLKW with an alarm: %s (alarms %d)\n", ename(r), g_alarms);
    /* with SA_RESTART the wait goes on until the parent unlocks */
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    TELL_PARENT();
    r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
    say("child: SETLKW waited: %s (alarms %d)\n", ename(r), g_alarms);
    TELL_PARENT();
    WAIT_PARENT();
}

static void setlkw(void)
{
    say("-- F_SETLKW\n");
    int fd = open_file(O_RDWR);
    start_child(wait_child);
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);
    TELL_CHILD();
    WAIT_CHILD();
    /* long enough for the alarm to fire in the child's restarted wait */
    sleep_ms(300);
    CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0);
    WAIT_CHILD();
    probe("parent", fd, F_RDLCK, 0, 0);
    TELL_CHILD();
    end_child();
    close(fd);
}

/* ---- EDEADLK ---- */

static void deadlock_child(void)
{
    int fd = open_file(O_RDWR);
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1) == 0);
    TELL_PARENT();
    WAIT_PARENT();
    TELL_PARENT();
    /* waits for the parent's byte 0 */
    say("child: SETLKW 0: %s\n", ename(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1)));
    TELL_PARENT();
    WAIT_PARENT();
}

static void deadlock(void)
{
    say("-- EDEADLK\n");
    int fd = open_file(O_RDWR);
    start_child(deadlock_child);
    CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);
    WAIT_CHILD();
    TELL_CHILD();
    WAIT_CHILD();
    sleep_ms(300);   /* the child is asleep in F_SETLKW by now */
    /* the parent would wait for the child, which waits for the parent */
    say("parent: SETLKW 1: %s\n", ename(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1)));
    /* F_SETLK is never a deadlock, only busy */
    say("parent: SETLK 1: %s\n", ename(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1)));
    /* a request that does not conflict is fine */
    say("parent: SETLKW 2: %s\n", ename(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 2, 1)));
    CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);
    WAIT_CHILD();
    probe("parent", fd, F_WRLCK, 0, 0);
    TELL_CHILD();
    end_child();
    close(fd);
}

/* ---- threads ---- */

static int g_thread_fd;

static void *thread_locks(void *arg)
{
    (void)arg;
    CHECK(lk(g_thread_fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);
    return NULL;
}

static void threads_child(void)
{
    int fd = open_file(O_RDONLY);
    probe("child", fd, F_RDLCK, 0, 0);
}

static void threads(void)
{
    say("-- threads\n");
    g_thread_fd = open_file(O_RDWR);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_locks, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    /* the process owns it: no conflict for the main thread, and it outlived the
     * thread; another process sees the process's pid */
    probe("main", g_thread_fd, F_WRLCK, 0, 0);
    start_child(threads_child);
    end_child();
    close(g_thread_fd);
}

/* ---- exec ---- */

static void exec_prober(const char *path2)
{
    int a = open_file(O_RDONLY), b = open(path2, O_RDONLY);
    CHECK(b >= 0);
    WAIT_PARENT();
    probe("prober: kept fd", a, F_RDLCK, 0, 0);
    probe("prober: cloexec fd", b, F_RDLCK, 0, 0);
}

/* exec_keeps_locks: locks two files, one through a close-on-exec fd, then execs this
 * program again (main goes on in after_exec). Does not return. */
static void exec_keeps_locks(void)
{
    say("-- exec\n");
    static char path2[112];
    snprintf(path2, sizeof(path2), "%s/file2", g_dir);
    int kept = open_file(O_RDWR);
    int dropped = open(path2, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CHECK(dropped >= 0);
    CHECK(lk(kept, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);
    CHECK(lk(dropped, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);
    CHECK(pipe(g_to_child) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        g_child = getpid();
        exec_prober(path2);
        _exit(0);
    }
    char fdarg[16], pidarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", g_to_child[1]);
    snprintf(pidarg, sizeof(pidarg), "%d", (int)c);
    char *argv[] = { "fs_locks_posix", "after-exec", fdarg, pidarg, g_dir, NULL };
    execv("/proc/self/exe", argv);
    guest_fail(__FILE__, __LINE__, "execv");
}

/* after_exec: the exec'd image: lets the prober look, then cleans up. */
static int after_exec(char **argv)
{
    g_parent = getpid();
    g_child = atoi(argv[3]);
    snprintf(g_dir, sizeof(g_dir), "%s", argv[4]);
    snprintf(g_path, sizeof(g_path), "%s/file", g_dir);
    CHECK(write(atoi(argv[2]), "x", 1) == 1);
    int st;
    CHECK(waitpid(g_child, &st, 0) == g_child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char path2[112];
    snprintf(path2, sizeof(path2), "%s/file2", g_dir);
    CHECK(unlink(g_path) == 0);
    CHECK(unlink(path2) == 0);
    CHECK(rmdir(g_dir) == 0);
    say("exec'd image done\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "after-exec") == 0)
        return after_exec(argv);
    g_parent = getpid();
    strcpy(g_dir, "/tmp/fs_locks_posix.XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    snprintf(g_path, sizeof(g_path), "%s/file", g_dir);
    int fd = open(g_path, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    char buf[100];
    memset(buf, 'a', sizeof(buf));
    CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
    close(fd);

    conflicts();
    ranges();
    errors();
    release_on_close();
    setlkw();
    deadlock();
    threads();
    exec_keeps_locks();   /* cleans up in the exec'd image */
    return 1;
}
