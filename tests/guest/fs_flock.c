/* flock(2): shared and exclusive locks owned by the open file: LOCK_NB fails with
 * EWOULDBLOCK, conversion drops the old lock first, dup and fork share the lock,
 * only the last close (or the owner's LOCK_UN) releases it, exit releases it, a
 * blocked LOCK_EX waits for the holder and is interrupted by a signal; independent
 * of fcntl record locks; the argument errors; locks on stdout (in the sandbox a host
 * file the CLI hands in, with no inode of its own). */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#ifndef LOCK_MAND
#define LOCK_MAND 32
#endif

static char g_dir[64], g_path[96];

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *fl(int fd, int op)
{
    return errno_name(flock(fd, op) == 0 ? 0 : errno);
}

static int open_file(int flags)
{
    int fd = open(g_path, flags);
    CHECK(fd >= 0);
    return fd;
}

/* others: what a fresh open of the file may take without blocking now. */
static void others(const char *tag)
{
    int fd = open_file(O_RDONLY);
    const char *ex = fl(fd, LOCK_EX | LOCK_NB);
    flock(fd, LOCK_UN);
    const char *sh = fl(fd, LOCK_SH | LOCK_NB);
    close(fd);
    say("%s: another open gets EX %s, SH %s\n", tag, ex, sh);
}

static void basics(void)
{
    say("-- basics\n");
    int a = open_file(O_RDWR), b = open_file(O_RDONLY);
    say("a SH: %s\n", fl(a, LOCK_SH));
    say("b SH|NB: %s\n", fl(b, LOCK_SH | LOCK_NB));
    others("two shared");
    say("a EX|NB: %s\n", fl(a, LOCK_EX | LOCK_NB));
    /* the failed conversion dropped a's shared lock (Linux removes it first) */
    say("b EX|NB: %s\n", fl(b, LOCK_EX | LOCK_NB));
    say("a SH|NB: %s\n", fl(a, LOCK_SH | LOCK_NB));
    /* b converts back to shared */
    say("b SH: %s\n", fl(b, LOCK_SH));
    say("a SH|NB: %s\n", fl(a, LOCK_SH | LOCK_NB));
    say("b UN: %s\n", fl(b, LOCK_UN));
    say("a EX|NB: %s\n", fl(a, LOCK_EX | LOCK_NB));
    say("a EX again: %s\n", fl(a, LOCK_EX));
    others("a exclusive");
    /* record locks are a different family */
    struct flock rec;
    memset(&rec, 0, sizeof(rec));
    rec.l_type = F_RDLCK;
    say("b fcntl F_SETLK R: %s\n", errno_name(fcntl(b, F_SETLK, &rec) == 0 ? 0 : errno));
    say("a UN: %s\n", fl(a, LOCK_UN));
    say("a UN again: %s\n", fl(a, LOCK_UN));
    others("after unlock");
    close(a);
    close(b);
}

static void errors(void)
{
    say("-- errors\n");
    int a = open_file(O_RDONLY);
    say("op 0: %s\n", fl(a, 0));
    say("SH|EX: %s\n", fl(a, LOCK_SH | LOCK_EX));
    say("NB alone: %s\n", fl(a, LOCK_NB));
    say("op 16: %s\n", fl(a, 16));
    say("MAND: %s\n", fl(a, LOCK_MAND | LOCK_EX));
    say("UN|NB: %s\n", fl(a, LOCK_UN | LOCK_NB));
    say("bad fd: %s\n", fl(999, LOCK_EX));
    say("bad fd, bad op: %s\n", fl(999, 0));
    int w = open_file(O_WRONLY);
    say("O_WRONLY EX: %s\n", fl(w, LOCK_EX | LOCK_NB));
    close(w);
    int p = open(g_path, O_PATH);
    CHECK(p >= 0);
    say("O_PATH SH: %s\n", fl(p, LOCK_SH | LOCK_NB));
    say("O_PATH UN: %s\n", fl(p, LOCK_UN));
    close(p);
    int d = open(g_dir, O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0);
    say("directory EX: %s\n", fl(d, LOCK_EX | LOCK_NB));
    close(d);
    close(a);
}

static void dup_and_close(void)
{
    say("-- dup and close\n");
    int a = open_file(O_RDWR);
    CHECK(flock(a, LOCK_EX) == 0);
    int d = dup(a);
    CHECK(d >= 0);
    say("dup EX|NB: %s\n", fl(d, LOCK_EX | LOCK_NB));
    close(a);
    others("after closing the original");
    /* another open of the file closed by this process changes nothing */
    close(open_file(O_RDONLY));
    others("after closing another open");
    close(d);
    others("after the last close");
    /* LOCK_UN through a dup releases the shared lock */
    a = open_file(O_RDWR);
    CHECK(flock(a, LOCK_SH) == 0);
    d = dup(a);
    say("UN via dup: %s\n", fl(d, LOCK_UN));
    others("after UN via dup");
    close(a);
    close(d);
}

static void fork_shares(void)
{
    say("-- fork\n");
    int a = open_file(O_RDWR);
    CHECK(flock(a, LOCK_EX) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        say("child: inherited EX|NB: %s\n", fl(a, LOCK_EX | LOCK_NB));
        int own = open_file(O_RDONLY);
        say("child: own open SH|NB: %s\n", fl(own, LOCK_SH | LOCK_NB));
        close(own);
        /* unlocking the shared open file unlocks it for the parent too */
        say("child: UN: %s\n", fl(a, LOCK_UN));
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    others("parent after the child's UN");
    /* a child holding the parent's open file keeps the lock past the parent's close */
    CHECK(flock(a, LOCK_EX) == 0);
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    c = fork();
    CHECK(c >= 0);
    char x;
    if (c == 0) {
        CHECK(write(to_parent[1], "x", 1) == 1);
        CHECK(read(to_child[0], &x, 1) == 1);
        _exit(0);   /* the last reference goes with the child */
    }
    CHECK(read(to_parent[0], &x, 1) == 1);
    close(a);
    others("parent closed, child holds");
    CHECK(write(to_child[1], "x", 1) == 1);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    others("after the child's exit");
    /* a child's own lock goes at its exit */
    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        int own = open_file(O_RDONLY);
        _exit(flock(own, LOCK_EX) == 0 ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    others("after a child locked and exited");
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
}

static volatile int g_alarms;
static void on_alarm(int sig) { (void)sig; g_alarms++; }

static void blocking(void)
{
    say("-- blocking\n");
    int a = open_file(O_RDWR);
    CHECK(flock(a, LOCK_SH) == 0);
    int to_parent[2];
    CHECK(pipe(to_parent) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(a);
        int own = open_file(O_RDWR);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_alarm;
        CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
        struct itimerval it = { { 0, 0 }, { 0, 100 * 1000 } };
        CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
        int r = flock(own, LOCK_EX) == 0 ? 0 : errno;
        say("child: EX with an alarm: %s (alarms %d)\n", errno_name(r), g_alarms);
        /* a shared lock is granted at once */
        say("child: SH|NB: %s\n", fl(own, LOCK_SH | LOCK_NB));
        CHECK(write(to_parent[1], "x", 1) == 1);
        r = flock(own, LOCK_EX) == 0 ? 0 : errno;
        say("child: EX waited: %s\n", errno_name(r));
        _exit(0);
    }
    char x;
    CHECK(read(to_parent[0], &x, 1) == 1);
    sleep_ms(200);
    const char *un = fl(a, LOCK_UN);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    say("parent: UN: %s\n", un);   /* printed late: the child prints as it wakes */
    others("after the waiter's exit");
    close(a);
    close(to_parent[0]);
    close(to_parent[1]);
}

static void stdio(void)
{
    say("-- stdout\n");
    say("EX on stdout: %s\n", fl(1, LOCK_EX | LOCK_NB));
    struct flock rec;
    memset(&rec, 0, sizeof(rec));
    rec.l_type = F_WRLCK;
    rec.l_len = 1;
    say("fcntl W on stdout: %s\n", errno_name(fcntl(1, F_SETLK, &rec) == 0 ? 0 : errno));
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        /* the same open file: its flock lock is the child's too; the record lock is
         * the parent process's */
        say("child: EX on stdout: %s\n", fl(1, LOCK_EX | LOCK_NB));
        memset(&rec, 0, sizeof(rec));
        rec.l_type = F_WRLCK;
        CHECK(fcntl(1, F_GETLK, &rec) == 0);
        say("child: GETLK on stdout: %s start %lld len %lld\n",
            rec.l_type == F_WRLCK ? "W" : rec.l_type == F_UNLCK ? "U" : "?",
            (long long)rec.l_start, (long long)rec.l_len);
        rec.l_type = F_WRLCK;
        say("child: fcntl W on stdout: %s\n",
            errno_name(fcntl(1, F_SETLK, &rec) == 0 ? 0 : errno));
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    rec.l_type = F_UNLCK;
    say("fcntl U on stdout: %s\n", errno_name(fcntl(1, F_SETLK, &rec) == 0 ? 0 : errno));
    say("UN on stdout: %s\n", fl(1, LOCK_UN));
}

int main(void)
{
    strcpy(g_dir, "/tmp/fs_flock.XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    snprintf(g_path, sizeof(g_path), "%s/file", g_dir);
    int fd = open(g_path, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    close(fd);

    basics();
    errors();
    dup_and_close();
    fork_shares();
    blocking();
    stdio();

    CHECK(unlink(g_path) == 0);
    CHECK(rmdir(g_dir) == 0);
    return 0;
}
