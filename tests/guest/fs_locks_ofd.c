/* Open file description locks (F_OFD_GETLK/F_OFD_SETLK/F_OFD_SETLKW): owned by the
 * open file, so two opens in one process conflict, dup and fork share the lock, a
 * close of another fd does not release it and the last close does; l_pid must be 0;
 * they conflict with POSIX locks both ways and F_GETLK shows them with l_pid -1;
 * F_OFD_SETLKW waits for a POSIX holder; /proc/locks lists all three kinds. */
#include "guest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char g_dir[64], g_path[96];
static pid_t g_parent, g_child;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* lkp: fcntl(fd, cmd) with a struct flock whose l_pid is pid; 0 or the errno. */
static int lkp(int fd, int cmd, int type, off_t start, off_t len, pid_t pid)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = (short)type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    fl.l_pid = pid;
    return fcntl(fd, cmd, &fl) == 0 ? 0 : errno;
}

static int lk(int fd, int cmd, int type, off_t start, off_t len)
{
    return lkp(fd, cmd, type, start, len, 0);
}

static const char *tname(int type)
{
    return type == F_RDLCK ? "R" : type == F_WRLCK ? "W" : type == F_UNLCK ? "U" : "?";
}

static const char *who(pid_t pid)
{
    return pid == g_parent ? "parent" : pid == g_child ? "child" : pid == -1 ? "-1" : "other";
}

/* probe: F_GETLK or F_OFD_GETLK for type over start/len, printed. */
static void probe(const char *tag, int fd, int cmd, int type, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = (short)type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    const char *name = cmd == F_GETLK ? "GETLK" : "OFD_GETLK";
    if (fcntl(fd, cmd, &fl) < 0) {
        say("%s: %s %s %lld+%lld: %s\n", tag, name, tname(type), (long long)start,
            (long long)len, errno_name(errno));
        return;
    }
    if (fl.l_type == F_UNLCK)
        say("%s: %s %s %lld+%lld: free\n", tag, name, tname(type), (long long)start,
            (long long)len);
    else
        say("%s: %s %s %lld+%lld: %s start %lld len %lld pid %s\n", tag, name, tname(type),
            (long long)start, (long long)len, tname(fl.l_type), (long long)fl.l_start,
            (long long)fl.l_len, who(fl.l_pid));
}

static int open_file(void)
{
    int fd = open(g_path, O_RDWR);
    CHECK(fd >= 0);
    return fd;
}

static void same_process(void)
{
    say("-- one process, two opens\n");
    int a = open_file(), b = open_file();
    say("a: OFD W 0+10: %s\n", errno_name(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10)));
    say("b: OFD W 5+1: %s\n", errno_name(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1)));
    say("b: OFD R 10+1: %s\n", errno_name(lk(b, F_OFD_SETLK, F_RDLCK, 10, 1)));
    probe("b", b, F_OFD_GETLK, F_RDLCK, 0, 0);
    probe("a", a, F_OFD_GETLK, F_WRLCK, 0, 0);
    /* F_OFD_GETLK with F_UNLCK reports the caller's own lock (Linux 6.x) */
    probe("a", a, F_OFD_GETLK, F_UNLCK, 3, 1);
    probe("a", a, F_OFD_GETLK, F_UNLCK, 20, 1);
    /* a POSIX lock of this very process conflicts with the OFD lock, and F_GETLK
     * shows the OFD lock with l_pid -1 */
    say("b: POSIX W 0+1: %s\n", errno_name(lk(b, F_SETLK, F_WRLCK, 0, 1)));
    probe("b", b, F_GETLK, F_WRLCK, 0, 0);
    /* l_pid must be 0 */
    say("OFD_SETLK pid 1: %s\n", errno_name(lkp(a, F_OFD_SETLK, F_WRLCK, 0, 1, 1)));
    say("OFD_SETLKW pid 1: %s\n", errno_name(lkp(a, F_OFD_SETLKW, F_WRLCK, 0, 1, 1)));
    say("OFD_GETLK pid 1: %s\n", errno_name(lkp(a, F_OFD_GETLK, F_WRLCK, 0, 1, 1)));
    say("OFD_GETLK type 7: %s\n", errno_name(lk(a, F_OFD_GETLK, 7, 0, 1)));
    /* a dup is the same open file: the same owner */
    int d = dup(a);
    CHECK(d >= 0);
    say("dup: OFD W 5+1: %s\n", errno_name(lk(d, F_OFD_SETLK, F_WRLCK, 5, 1)));
    /* closing b (the same inode) or the dup does not release the OFD lock */
    close(d);
    close(b);
    b = open_file();
    say("after closing others: b OFD W 0+1: %s\n",
        errno_name(lk(b, F_OFD_SETLK, F_WRLCK, 0, 1)));
    /* unlocking the middle splits it, as for POSIX locks */
    CHECK(lk(a, F_OFD_SETLK, F_UNLCK, 3, 4) == 0);
    probe("b", b, F_OFD_GETLK, F_WRLCK, 0, 10);
    probe("b", b, F_OFD_GETLK, F_WRLCK, 3, 4);
    probe("b", b, F_OFD_GETLK, F_WRLCK, 5, 10);
    /* the last close releases it */
    close(a);
    say("after closing a: b OFD W 0+0: %s\n", errno_name(lk(b, F_OFD_SETLK, F_WRLCK, 0, 0)));
    close(b);
}

static void across_fork(void)
{
    say("-- fork\n");
    int a = open_file();
    CHECK(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10) == 0);
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    char x;
    if (c == 0) {
        g_child = getpid();
        /* the inherited fd is the same open file: the lock is the child's too */
        say("child: inherited OFD W 0+20: %s\n", errno_name(lk(a, F_OFD_SETLK, F_WRLCK, 0, 20)));
        int own = open_file();
        probe("child", own, F_OFD_GETLK, F_RDLCK, 0, 0);
        probe("child", own, F_GETLK, F_RDLCK, 0, 0);
        close(own);
        /* the parent closes its fd; the child's reference keeps the lock */
        CHECK(write(to_parent[1], "x", 1) == 1);
        CHECK(read(to_child[0], &x, 1) == 1);
        _exit(0);
    }
    g_child = c;
    CHECK(read(to_parent[0], &x, 1) == 1);
    close(a);
    int b = open_file();
    say("parent after its close: OFD W 0+1: %s\n", errno_name(lk(b, F_OFD_SETLK, F_WRLCK, 0, 1)));
    probe("parent", b, F_OFD_GETLK, F_WRLCK, 0, 0);
    CHECK(write(to_child[1], "x", 1) == 1);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the child's exit dropped the last reference */
    say("parent after the child's exit: OFD W 0+1: %s\n",
        errno_name(lk(b, F_OFD_SETLK, F_WRLCK, 0, 1)));
    close(b);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
}

static void with_posix(void)
{
    say("-- POSIX holder, OFD waiter\n");
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    char x;
    if (c == 0) {
        g_child = getpid();
        int fd = open_file();
        CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 1) == 0);
        CHECK(write(to_parent[1], "x", 1) == 1);
        CHECK(read(to_child[0], &x, 1) == 1);
        sleep_ms(200);
        CHECK(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0);
        CHECK(read(to_child[0], &x, 1) == 1);
        _exit(0);
    }
    g_child = c;
    int fd = open_file();
    CHECK(read(to_parent[0], &x, 1) == 1);
    probe("parent", fd, F_OFD_GETLK, F_RDLCK, 0, 0);
    say("parent: OFD_SETLK: %s\n", errno_name(lk(fd, F_OFD_SETLK, F_RDLCK, 0, 1)));
    CHECK(write(to_child[1], "x", 1) == 1);
    say("parent: OFD_SETLKW: %s\n", errno_name(lk(fd, F_OFD_SETLKW, F_RDLCK, 0, 1)));
    probe("parent", fd, F_GETLK, F_WRLCK, 0, 0);
    CHECK(write(to_child[1], "x", 1) == 1);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* proc_locks: the /proc/locks lines of the test file, without the ordinal and with
 * the pid named, sorted (Linux lists the newest first, the sandbox by inode). */
static void proc_locks(void)
{
    say("-- /proc/locks\n");
    int a = open_file(), b = open_file();
    CHECK(lk(a, F_SETLK, F_WRLCK, 0, 10) == 0);
    CHECK(lk(b, F_OFD_SETLK, F_RDLCK, 20, 0) == 0);
    CHECK(flock(b, LOCK_SH) == 0);
    struct stat st;
    CHECK(fstat(a, &st) == 0);
    char id[64];
    snprintf(id, sizeof(id), " %02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
             (unsigned long long)st.st_ino);
    FILE *f = fopen("/proc/locks", "r");
    CHECK(f != NULL);
    char line[256], *lines[16];
    int n = 0;
    while (fgets(line, sizeof(line), f) && n < 16) {
        char *at = strstr(line, id);
        char *rest = strchr(line, ' ');
        if (!at || !rest || strstr(line, "->"))
            continue;
        /* "POSIX  ADVISORY  WRITE PID" + id + range */
        char head[128], pid[16];
        int hl = (int)(at - rest - 1);
        CHECK(hl > 0 && hl < (int)sizeof(head));
        memcpy(head, rest + 1, (size_t)hl);
        head[hl] = 0;
        char *sp = strrchr(head, ' ');
        CHECK(sp != NULL);
        snprintf(pid, sizeof(pid), "%s", sp + 1);
        *sp = 0;
        char out[256];
        snprintf(out, sizeof(out), "%s %s %s", head, who((pid_t)atoi(pid)),
                 at + strlen(id));
        lines[n++] = strdup(out);
    }
    fclose(f);
    qsort(lines, (size_t)n, sizeof(lines[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        say("%s", lines[i]);
        free(lines[i]);
    }
    close(a);
    close(b);
}

int main(void)
{
    g_parent = getpid();
    strcpy(g_dir, "/tmp/fs_locks_ofd.XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    snprintf(g_path, sizeof(g_path), "%s/file", g_dir);
    int fd = open(g_path, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    close(fd);

    same_process();
    across_fork();
    with_posix();
    proc_locks();

    CHECK(unlink(g_path) == 0);
    CHECK(rmdir(g_dir) == 0);
    return 0;
}
