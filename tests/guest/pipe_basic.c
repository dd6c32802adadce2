/* Pipes: data and EOF, EPIPE with SIGPIPE ignored and fatal, pipe2 flags, O_NONBLOCK,
 * FIONREAD, F_GETPIPE_SZ/F_SETPIPE_SZ with Linux's slot rounding, packet mode
 * (O_DIRECT), fstat. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void basic_io(void)
{
    int p[2];
    char buf[64];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "hello", 5) == 5);
    CHECK(write(p[1], " world", 6) == 6);
    ssize_t n = read(p[0], buf, 3);
    say("read 3: %zd '%.*s'\n", n, (int)n, buf);
    n = read(p[0], buf, sizeof(buf));
    say("read rest: %zd '%.*s'\n", n, (int)n, buf);
    say("zero-length read: %zd\n", read(p[0], buf, 0));
    say("zero-length write: %zd\n", write(p[1], buf, 0));
    CHECK(close(p[1]) == 0);
    say("read after writer closed: %zd\n", read(p[0], buf, sizeof(buf)));
    CHECK(close(p[0]) == 0);

    /* the wrong direction */
    CHECK(pipe(p) == 0);
    CHECK_ERR(write(p[0], "x", 1), EBADF);
    CHECK_ERR(read(p[1], buf, 1), EBADF);
    CHECK_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
    CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE);
    say("wrong direction, seek: EBADF, ESPIPE\n");
    close(p[0]);
    close(p[1]);
}

static void epipe(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    say("zero-length write without reader: %zd\n", write(p[1], "x", 0));
    signal(SIGPIPE, SIG_DFL);
    say("EPIPE with SIGPIPE ignored: ok\n");

    /* default action: the writer dies of SIGPIPE */
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        write(p[1], "x", 1);
        _exit(3);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    say("writer without reader: %s %d\n", WIFSIGNALED(st) ? "killed by" : "exited",
        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));

    /* blocked SIGPIPE stays pending, the write still fails */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, &old);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    sigset_t pend;
    sigpending(&pend);
    say("blocked SIGPIPE pending: %d\n", sigismember(&pend, SIGPIPE));
    signal(SIGPIPE, SIG_IGN);   /* discard it before unblocking */
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
}

static void flags(void)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
    say("pipe2(O_CLOEXEC|O_NONBLOCK): getfl %#x %#x getfd %d %d\n",
        fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL), fcntl(p[0], F_GETFD),
        fcntl(p[1], F_GETFD));
    char buf[8];
    CHECK_ERR(read(p[0], buf, sizeof(buf)), EAGAIN);
    say("empty non-blocking read: EAGAIN\n");
    close(p[0]);
    close(p[1]);

    CHECK(pipe2(p, 0) == 0);
    say("pipe2(0): getfl %#x %#x getfd %d %d\n", fcntl(p[0], F_GETFL),
        fcntl(p[1], F_GETFL), fcntl(p[0], F_GETFD), fcntl(p[1], F_GETFD));
    close(p[0]);
    close(p[1]);
    CHECK(pipe2(p, O_DIRECT) == 0);
    say("pipe2(O_DIRECT): getfl %#x %#x\n", fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL));
    close(p[0]);
    close(p[1]);
    CHECK_ERR(pipe2(p, O_APPEND), EINVAL);
    CHECK_ERR(syscall(SYS_pipe2, (int *)8, 0), EFAULT);
    say("pipe2 bad flags EINVAL, bad pointer EFAULT\n");
}

static void nonblocking_full(void)
{
    int p[2];
    static char big[70000];
    CHECK(pipe(p) == 0);
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    say("F_GETPIPE_SZ: %d\n", fcntl(p[1], F_GETPIPE_SZ));
    /* 1000-byte writes: four fit in a page, 16 pages */
    int writes = 0;
    while (write(p[1], big, 1000) == 1000)
        writes++;
    CHECK(errno == EAGAIN);
    int avail;
    CHECK(ioctl(p[0], FIONREAD, &avail) == 0);
    say("1000-byte writes until EAGAIN: %d, FIONREAD %d\n", writes, avail);
    CHECK_ERR(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    say("shrink below the data: EBUSY\n");
    /* a big write takes what fits, a PIPE_BUF one all or nothing */
    char tmp[4096];
    CHECK(read(p[0], tmp, 1000) == 1000);
    CHECK_ERR(write(p[1], big, 4096), EAGAIN);
    CHECK(read(p[0], tmp, 4096) == 4096);
    say("after freeing a page: 4096-byte write %zd\n", write(p[1], big, 4096));
    CHECK(read(p[0], tmp, 4096) == 4096);
    CHECK(read(p[0], tmp, 4096) == 4096);
    say("after freeing two pages: 70000-byte write %zd\n", write(p[1], big, sizeof(big)));
    close(p[0]);
    close(p[1]);

    /* sizes round up to a power of two pages; limits */
    CHECK(pipe(p) == 0);
    say("F_SETPIPE_SZ 0: %d\n", fcntl(p[0], F_SETPIPE_SZ, 0));
    say("F_SETPIPE_SZ 5000: %d\n", fcntl(p[0], F_SETPIPE_SZ, 5000));
    say("F_SETPIPE_SZ 100000: %d\n", fcntl(p[1], F_SETPIPE_SZ, 100000));
    say("F_SETPIPE_SZ 1MiB: %d\n", fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
    say("F_GETPIPE_SZ: %d\n", fcntl(p[0], F_GETPIPE_SZ));
    CHECK_ERR(fcntl(p[1], F_SETPIPE_SZ, (1 << 20) + 1), EPERM);
    CHECK_ERR(fcntl(1 + p[1] + 100, F_GETPIPE_SZ), EBADF);
    say("above pipe-max-size: EPERM\n");
    /* a one-page pipe holds one page of 1-byte writes */
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) == 4096);
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    writes = 0;
    while (write(p[1], "z", 1) == 1)
        writes++;
    say("one-page pipe, 1-byte writes: %d\n", writes);
    close(p[0]);
    close(p[1]);
}

static void packets(void)
{
    int p[2];
    char buf[16];
    CHECK(pipe2(p, O_DIRECT) == 0);
    CHECK(write(p[1], "abc", 3) == 3);
    CHECK(write(p[1], "defgh", 5) == 5);
    CHECK(write(p[1], "ij", 2) == 2);
    ssize_t n = read(p[0], buf, sizeof(buf));
    say("packet 1: %zd '%.*s'\n", n, (int)n, buf);
    n = read(p[0], buf, 2);
    say("packet 2 into 2 bytes: %zd '%.*s'\n", n, (int)n, buf);
    n = read(p[0], buf, sizeof(buf));
    say("packet 3: %zd '%.*s'\n", n, (int)n, buf);
    /* F_SETFL O_DIRECT turns it off */
    CHECK(fcntl(p[1], F_SETFL, 0) == 0);
    CHECK(write(p[1], "kl", 2) == 2);
    CHECK(write(p[1], "mn", 2) == 2);
    n = read(p[0], buf, sizeof(buf));
    say("stream again: %zd '%.*s'\n", n, (int)n, buf);
    close(p[0]);
    close(p[1]);
}

static void stat_pipe(void)
{
    int p[2], q[2];
    struct stat a, b, c;
    CHECK(pipe(p) == 0 && pipe(q) == 0);
    CHECK(fstat(p[0], &a) == 0 && fstat(p[1], &b) == 0 && fstat(q[0], &c) == 0);
    say("fstat: fifo %d mode %o nlink %lu size %ld blksize %ld\n", S_ISFIFO(a.st_mode),
        (unsigned)a.st_mode, (unsigned long)a.st_nlink, (long)a.st_size, (long)a.st_blksize);
    say("ends share an inode: %d, pipes differ: %d, same dev: %d, uid ok: %d\n",
        a.st_ino == b.st_ino && a.st_dev == b.st_dev, a.st_ino != c.st_ino,
        a.st_dev == c.st_dev, a.st_uid == geteuid());
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

static void dup_and_fork_ends(void)
{
    /* EOF needs every writer gone, dups and a child's copies included */
    int p[2];
    char buf[8];
    CHECK(pipe(p) == 0);
    int w2 = dup(p[1]);
    close(p[1]);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        write(w2, "kid", 3);
        _exit(0);
    }
    close(w2);
    ssize_t n, total = 0;
    while ((n = read(p[0], buf, sizeof(buf))) > 0)
        total += n;
    say("read until EOF through dup+fork: %zd bytes, last %zd\n", total, n);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    close(p[0]);
}

int main(void)
{
    basic_io();
    epipe();
    flags();
    nonblocking_full();
    packets();
    stat_pipe();
    dup_and_fork_ends();
    return 0;
}
