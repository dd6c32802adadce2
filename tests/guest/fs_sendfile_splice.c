/* sendfile, splice, tee, vmsplice and copy_file_range: data and positions (with and
 * without offset pointers), file↔pipe and pipe↔pipe, Linux's slot layout (an
 * unaligned file splice and one slot per vmsplice piece), blocking, EAGAIN, EOF,
 * EINTR, and the errors in Linux's order. Files live in /tmp. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define FSIZE 100000

static char g_path[64], g_path2[64];

/* pat: the byte at offset i of the pattern file. */
static char pat(long i) { return (char)('a' + (i * 7 + i / 4096) % 26); }

/* res: prints a call's result: the value, or -1 and the errno name. */
static void res(const char *what, long r)
{
    if (r < 0)
        say("%s: -1 %s\n", what, errno_name(errno));
    else
        say("%s: %ld\n", what, r);
}

/* same_as_pattern: whether n bytes of buf are the pattern from offset off. */
static int same_as_pattern(const char *buf, long n, long off)
{
    for (long i = 0; i < n; i++)
        if (buf[i] != pat(off + i))
            return 0;
    return 1;
}

static int make_pattern_file(const char *path)
{
    static char buf[FSIZE];
    for (long i = 0; i < FSIZE; i++)
        buf[i] = pat(i);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, buf, FSIZE) == FSIZE);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    return fd;
}

static long pos_of(int fd) { return (long)lseek(fd, 0, SEEK_CUR); }

/* drain: reads what the pipe holds (O_NONBLOCK set on it) into buf; the count. */
static long drain(int rfd, char *buf, long max)
{
    long got = 0;
    for (;;) {
        ssize_t n = read(rfd, buf + got, max - got);
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

static void sendfile_to_pipe(int f)
{
    int p[2];
    char buf[128];
    CHECK(pipe(p) == 0);
    res("sendfile file->pipe, no offset", sendfile(p[1], f, NULL, 10));
    say("  file position %ld, data ok %d\n", pos_of(f),
        read(p[0], buf, sizeof(buf)) == 10 && same_as_pattern(buf, 10, 0));
    off_t off = 1000;
    res("sendfile file->pipe, offset 1000", sendfile(p[1], f, &off, 20));
    say("  offset %ld, file position %ld, data ok %d\n", (long)off, pos_of(f),
        read(p[0], buf, sizeof(buf)) == 20 && same_as_pattern(buf, 20, 1000));
    off = FSIZE;
    res("sendfile at end of file", sendfile(p[1], f, &off, 20));
    off = FSIZE - 5;
    res("sendfile across the end", sendfile(p[1], f, &off, 20));
    say("  offset %ld\n", (long)off);
    CHECK(read(p[0], buf, sizeof(buf)) == 5);

    /* a full non-blocking pipe */
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    off = 0;
    res("sendfile 100000 into an empty pipe", sendfile(p[1], f, &off, FSIZE));
    res("sendfile into the full pipe", sendfile(p[1], f, &off, 10));
    static char big[FSIZE];
    long n = drain(p[0], big, sizeof(big));
    say("  drained %ld, data ok %d\n", n, same_as_pattern(big, n, 0));
    close(p[0]);
    close(p[1]);
}

static void sendfile_to_file(int f)
{
    int g = open(g_path2, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(g >= 0);
    CHECK(lseek(f, 0, SEEK_SET) == 0);
    res("sendfile file->file, no offset", sendfile(g, f, NULL, 5000));
    say("  in position %ld, out position %ld\n", pos_of(f), pos_of(g));
    off_t off = 50000;
    res("sendfile file->file, offset 50000, count 100000", sendfile(g, f, &off, FSIZE));
    say("  offset %ld, in position %ld, out position %ld\n", (long)off, pos_of(f), pos_of(g));
    static char buf[FSIZE];
    CHECK(pread(g, buf, sizeof(buf), 0) == 55000);
    say("  out data ok %d\n", same_as_pattern(buf, 5000, 0) &&
                              same_as_pattern(buf + 5000, 50000, 50000));
    res("sendfile count 0", sendfile(g, f, NULL, 0));

    /* stdin is /dev/null (run.sh), which has no splice_read */
    res("sendfile from stdin", sendfile(g, 0, NULL, 10));

    /* to stdout (a host file natively and in the sandbox) */
    off = 0;
    say("stdout: ");
    res("\nsendfile to stdout", sendfile(1, f, &off, 26));
    close(g);
}

static void sendfile_errors(int f)
{
    int p[2], e = eventfd(0, 0), d = open("/tmp", O_RDONLY | O_DIRECTORY);
    int ro = open(g_path2, O_RDONLY), wo = open(g_path, O_WRONLY);
    int ap = open(g_path2, O_WRONLY | O_APPEND);
    CHECK(pipe(p) == 0 && e >= 0 && d >= 0 && ro >= 0 && wo >= 0 && ap >= 0);
    off_t off = -1;
    res("sendfile from a pipe", sendfile(wo, p[0], NULL, 5));
    res("sendfile from a pipe with offset", sendfile(wo, p[0], &off, 5));
    res("sendfile from a write-only file", sendfile(p[1], wo, NULL, 5));
    res("sendfile to a read-only file", sendfile(ro, f, NULL, 5));
    res("sendfile negative offset", sendfile(p[1], f, &off, 5));
    res("sendfile to an O_APPEND file", sendfile(ap, f, NULL, 5));
    res("sendfile from a directory", sendfile(p[1], d, NULL, 5));
    res("sendfile to an eventfd", sendfile(e, f, NULL, 5));
    res("sendfile from an eventfd", sendfile(p[1], e, NULL, 5));
    res("sendfile bad in fd", sendfile(p[1], 999, NULL, 5));
    res("sendfile bad out fd", sendfile(999, f, NULL, 5));
    res("sendfile bad offset pointer", sendfile(p[1], f, (off_t *)8, 5));
    close(p[0]);
    close(p[1]);
    close(e);
    close(d);
    close(ro);
    close(wo);
    close(ap);
}

/* devices: /dev/zero gives, /dev/null takes; Linux's /dev/null cannot be spliced
 * from nor /dev/full into */
static void devices(int f)
{
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    static const char *names[] = { "/dev/null", "/dev/zero", "/dev/full" };
    char buf[64];
    for (int i = 0; i < 3; i++) {
        int d = open(names[i], O_RDWR);
        CHECK(d >= 0);
        say("%s:\n", names[i]);
        res("  sendfile from it into a pipe", sendfile(p[1], d, NULL, 10));
        int g = open(g_path2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(g >= 0);
        res("  sendfile from it into a file", sendfile(g, d, NULL, 10));
        res("  sendfile 0 bytes from it into a file", sendfile(g, d, NULL, 0));
        close(g);
        off_t off = 0;
        res("  sendfile into it", sendfile(d, f, &off, 10));
        CHECK(write(p[1], "abc", 3) == 3);
        res("  splice a pipe into it", splice(p[0], NULL, d, NULL, 3, 0));
        while (read(p[0], buf, sizeof(buf)) > 0)
            ;
        close(d);
    }
    close(p[0]);
    close(p[1]);
}

static void splice_file_pipe(int f)
{
    int p[2];
    static char buf[FSIZE];
    CHECK(pipe(p) == 0);
    /* an unaligned start: one slot per file page, so 16 slots hold 100 bytes less */
    loff_t off = 100;
    res("splice file->pipe at 100, 65536", splice(f, &off, p[1], NULL, 65536, 0));
    say("  offset %ld, file position %ld\n", (long)off, pos_of(f));
    res("splice into the full pipe, SPLICE_F_NONBLOCK",
        splice(f, &off, p[1], NULL, 10, SPLICE_F_NONBLOCK));
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    long n = drain(p[0], buf, sizeof(buf));
    say("  drained %ld, data ok %d\n", n, same_as_pattern(buf, n, 100));

    /* without off_in: the file position moves */
    CHECK(lseek(f, 4000, SEEK_SET) == 4000);
    res("splice file->pipe, no offset, 200", splice(f, NULL, p[1], NULL, 200, SPLICE_F_MORE));
    say("  file position %ld\n", pos_of(f));
    n = drain(p[0], buf, sizeof(buf));
    say("  data ok %d\n", n == 200 && same_as_pattern(buf, 200, 4000));
    off = FSIZE;
    res("splice file->pipe at the end", splice(f, &off, p[1], NULL, 10, 0));

    /* pipe -> file, with and without off_out */
    int g = open(g_path2, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(g >= 0);
    CHECK(write(p[1], "hello world", 11) == 11);
    off = 3;
    res("splice pipe->file, off_out 3, len 100", splice(p[0], NULL, g, &off, 100, 0));
    say("  offset %ld, out position %ld\n", (long)off, pos_of(g));
    CHECK(write(p[1], "abc", 3) == 3);
    res("splice pipe->file, no offset, len 2", splice(p[0], NULL, g, NULL, 2, 0));
    say("  out position %ld, left in pipe %d\n", pos_of(g),
        (ioctl(p[0], FIONREAD, &(int){0}), (int)read(p[0], buf, 10)));
    memset(buf, 0, 32);
    CHECK(pread(g, buf, 32, 0) == 14);
    say("  file: %c%c%c%s\n", buf[0] ? buf[0] : '.', buf[1] ? buf[1] : '.',
        buf[2] ? buf[2] : '.', buf + 3);
    res("splice from the empty pipe, O_NONBLOCK", splice(p[0], NULL, g, NULL, 10, 0));
    close(p[1]);
    res("splice from the empty pipe, no writer", splice(p[0], NULL, g, NULL, 10, 0));
    close(p[0]);
    close(g);
}

static void splice_pipe_pipe(void)
{
    int a[2], b[2], n;
    static char buf[20000];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    for (int i = 0; i < 10000; i++)
        buf[i] = pat(i);
    CHECK(write(a[1], buf, 10000) == 10000);
    res("splice pipe->pipe 5000", splice(a[0], NULL, b[1], NULL, 5000, 0));
    CHECK(ioctl(a[0], FIONREAD, &n) == 0);
    say("  left in the first: %d\n", n);
    CHECK(ioctl(b[0], FIONREAD, &n) == 0);
    say("  in the second: %d, data ok %d\n", n,
        read(b[0], buf + 10000, 10000) == 5000 && same_as_pattern(buf + 10000, 5000, 0));
    res("splice pipe->pipe rest", splice(a[0], NULL, b[1], NULL, 100000, 0));
    CHECK(read(b[0], buf + 10000, 10000) == 5000);
    say("  data ok %d\n", same_as_pattern(buf + 10000, 5000, 5000));
    res("splice a pipe into itself", splice(a[0], NULL, a[1], NULL, 10, 0));
    loff_t off = 0;
    res("splice pipe with off_in", splice(a[0], &off, b[1], NULL, 10, 0));
    res("splice pipe with off_out", splice(a[0], NULL, b[1], &off, 10, 0));
    res("splice empty pipe, SPLICE_F_NONBLOCK",
        splice(a[0], NULL, b[1], NULL, 10, SPLICE_F_NONBLOCK));
    res("splice bad flags", splice(a[0], NULL, b[1], NULL, 10, 0x100));
    res("splice len 0", splice(a[0], NULL, b[1], NULL, 0, 0));
    res("splice wrong ends", splice(a[1], NULL, b[0], NULL, 10, 0));
    res("splice bad fd", splice(999, NULL, b[1], NULL, 10, 0));
    close(a[1]);
    res("splice pipe->pipe, no writer", splice(a[0], NULL, b[1], NULL, 10, 0));
    /* no reader on the output */
    CHECK(pipe(a) == 0);
    CHECK(write(a[1], "x", 1) == 1);
    close(b[0]);
    signal(SIGPIPE, SIG_IGN);
    res("splice into a pipe without reader", splice(a[0], NULL, b[1], NULL, 10, 0));
    signal(SIGPIPE, SIG_DFL);
    close(a[0]);
    close(a[1]);
    close(b[1]);
}

static void splice_errors(int f)
{
    int p[2], g = open(g_path2, O_WRONLY | O_APPEND), e = eventfd(0, 0);
    CHECK(pipe(p) == 0 && g >= 0 && e >= 0);
    loff_t off = 0;
    res("splice file->file", splice(f, &off, g, NULL, 10, 0));
    CHECK(write(p[1], "x", 1) == 1);
    res("splice pipe->O_APPEND file", splice(p[0], NULL, g, NULL, 10, 0));
    res("splice pipe->eventfd", splice(p[0], NULL, e, NULL, 10, 0));
    res("splice eventfd->pipe", splice(e, NULL, p[1], NULL, 10, 0));
    off = -5;
    res("splice negative off_in", splice(f, &off, p[1], NULL, 10, 0));
    res("splice bad off_in pointer", splice(f, (loff_t *)8, p[1], NULL, 10, 0));
    close(p[0]);
    close(p[1]);
    close(g);
    close(e);
}

static void tee_calls(int f)
{
    int a[2], b[2], n;
    char buf[64];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    CHECK(write(a[1], "tee data", 8) == 8);
    res("tee 100", tee(a[0], b[1], 100, 0));
    CHECK(ioctl(a[0], FIONREAD, &n) == 0);
    say("  still in the first: %d\n", n);
    memset(buf, 0, sizeof(buf));
    say("  second: %zd '%s'\n", read(b[0], buf, sizeof(buf)), buf);
    res("tee 3", tee(a[0], b[1], 3, 0));
    memset(buf, 0, sizeof(buf));
    say("  second: %zd '%s'\n", read(b[0], buf, sizeof(buf)), buf);
    CHECK(read(a[0], buf, sizeof(buf)) == 8);
    res("tee from an empty pipe, SPLICE_F_NONBLOCK", tee(a[0], b[1], 10, SPLICE_F_NONBLOCK));
    res("tee a pipe to itself", tee(a[0], a[1], 10, 0));
    res("tee from a file", tee(f, b[1], 10, 0));
    res("tee wrong ends", tee(a[1], b[0], 10, 0));
    res("tee bad flags", tee(a[0], b[1], 10, 0x40));
    res("tee len 0", tee(a[0], b[1], 0, 0));
    close(a[1]);
    res("tee from an empty pipe, no writer", tee(a[0], b[1], 10, 0));
    close(a[0]);
    close(b[0]);
    close(b[1]);
}

static void vmsplice_calls(int f)
{
    int p[2];
    char buf[64];
    CHECK(pipe(p) == 0);
    char s1[] = "vm", s2[] = "splice";
    struct iovec iov[2] = { { s1, 2 }, { s2, 6 } };
    res("vmsplice to pipe", vmsplice(p[1], iov, 2, 0));
    memset(buf, 0, sizeof(buf));
    say("  read: %zd '%s'\n", read(p[0], buf, sizeof(buf)), buf);
    CHECK(write(p[1], "gather", 6) == 6);
    char d1[3], d2[10];
    memset(d2, 0, sizeof(d2));
    struct iovec out[2] = { { d1, 3 }, { d2, 10 } };
    res("vmsplice from pipe", vmsplice(p[0], out, 2, 0));
    say("  got '%.3s' '%s'\n", d1, d2);
    /* each piece is a slot that later writes do not merge into */
    static char page[GUEST_PAGE_SIZE * 2];
    struct iovec one[17];
    for (int i = 0; i < 17; i++)
        one[i] = (struct iovec){ page + 100 + i * 3, 1 };
    res("vmsplice 17 one-byte pieces", vmsplice(p[1], one, 17, 0));
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    res("write into the pipe after them", write(p[1], "y", 1));
    res("vmsplice into the full pipe, SPLICE_F_NONBLOCK",
        vmsplice(p[1], one, 1, SPLICE_F_NONBLOCK));
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    static char big[70000];
    say("  drained %ld\n", drain(p[0], big, sizeof(big)));
    res("vmsplice from the empty pipe, SPLICE_F_NONBLOCK",
        vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK));
    res("vmsplice zero segments", vmsplice(p[1], out, 0, 0));
    res("vmsplice on a file", vmsplice(f, out, 1, 0));
    res("vmsplice bad flags", vmsplice(p[1], out, 1, 0x20));
    res("vmsplice too many segments", vmsplice(p[1], out, 1025, 0));
    struct iovec bad = { (void *)8, 4 };
    res("vmsplice from a bad address", vmsplice(p[1], &bad, 1, 0));
    CHECK(write(p[1], "z", 1) == 1);
    res("vmsplice to a bad address", vmsplice(p[0], &bad, 1, 0));
    close(p[0]);
    close(p[1]);
}

static void copy_range(int f)
{
    int g = open(g_path2, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(g >= 0);
    static char buf[FSIZE];
    loff_t oi = 10, oo = 0;
    CHECK(lseek(f, 7, SEEK_SET) == 7);
    res("copy_file_range with offsets", copy_file_range(f, &oi, g, &oo, 100, 0));
    say("  offsets %ld %ld, positions %ld %ld\n", (long)oi, (long)oo, pos_of(f), pos_of(g));
    res("copy_file_range without offsets", copy_file_range(f, NULL, g, NULL, 50, 0));
    say("  positions %ld %ld\n", pos_of(f), pos_of(g));
    CHECK(pread(g, buf, sizeof(buf), 0) == 100);
    say("  data ok %d\n", same_as_pattern(buf, 50, 7) && same_as_pattern(buf + 50, 50, 60));
    oi = FSIZE - 30;
    oo = 1000;
    res("copy_file_range past the end of input", copy_file_range(f, &oi, g, &oo, 100, 0));
    say("  offsets %ld %ld, size %ld\n", (long)oi, (long)oo, (long)lseek(g, 0, SEEK_END));
    oi = FSIZE;
    res("copy_file_range at the end of input", copy_file_range(f, &oi, g, &oo, 100, 0));
    oi = 0;
    oo = 90000;
    res("copy_file_range whole file onto itself later",
        copy_file_range(f, &oi, f, &oo, 5000, 0));
    oi = 0;
    oo = 50;
    res("copy_file_range overlapping", copy_file_range(f, &oi, f, &oo, 100, 0));
    res("copy_file_range flags 1", copy_file_range(f, &oi, g, NULL, 10, 1));
    oi = -1;
    res("copy_file_range negative offset", copy_file_range(f, &oi, g, NULL, 10, 0));

    int p[2], d = open("/tmp", O_RDONLY | O_DIRECTORY), ro = open(g_path2, O_RDONLY);
    int ap = open(g_path2, O_WRONLY | O_APPEND);
    int shm = open("/dev/shm", O_TMPFILE | O_RDWR, 0600);
    CHECK(pipe(p) == 0 && d >= 0 && ro >= 0 && ap >= 0);
    res("copy_file_range from a directory", copy_file_range(d, NULL, g, NULL, 10, 0));
    res("copy_file_range from a pipe", copy_file_range(p[0], NULL, g, NULL, 10, 0));
    res("copy_file_range to a read-only file", copy_file_range(f, NULL, ro, NULL, 10, 0));
    res("copy_file_range to an O_APPEND file", copy_file_range(f, NULL, ap, NULL, 10, 0));
    res("copy_file_range bad fd", copy_file_range(999, NULL, g, NULL, 10, 0));
    if (shm >= 0) {
        res("copy_file_range across filesystems", copy_file_range(f, NULL, shm, NULL, 10, 0));
        close(shm);
    }
    close(p[0]);
    close(p[1]);
    close(d);
    close(ro);
    close(ap);
    close(g);
}

static void on_alarm(int sig) { (void)sig; }

/* arm: a SIGALRM in 50 ms with a handler that does not restart calls. */
static void arm(void)
{
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { 0, 50000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void blocking(int f)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int g = open(g_path2, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(g >= 0);
    arm();
    res("splice from an empty pipe, interrupted", splice(p[0], NULL, g, NULL, 10, 0));
    /* fill, then block writing more */
    loff_t off = 0;
    CHECK(sendfile(p[1], f, &off, 65536) == 65536);
    arm();
    res("sendfile into a full pipe, interrupted", sendfile(p[1], f, &off, 10));
    int b[2];
    CHECK(pipe(b) == 0);
    arm();
    res("tee into a full pipe, interrupted", tee(b[0], p[1], 10, 0));
    static char big[70000];
    CHECK(read(p[0], big, sizeof(big)) == 65536);

    /* woken by a late writer */
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        usleep(50000);
        write(b[1], "late", 4);
        _exit(0);
    }
    res("splice waits for a late writer", splice(b[0], NULL, g, NULL, 10, 0));
    CHECK(waitpid(c, NULL, 0) == c);
    close(p[0]);
    close(p[1]);
    close(b[0]);
    close(b[1]);
    close(g);
}

static void big_copies(int f)
{
    int g = open(g_path2, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(g >= 0);
    /* several chunks each way */
    for (int i = 0; i < 5; i++) {
        loff_t off = 0;
        CHECK(sendfile(g, f, &off, FSIZE) == FSIZE);
    }
    static char buf[FSIZE];
    int ok = 1;
    for (int i = 0; i < 5; i++)
        ok &= pread(g, buf, FSIZE, (off_t)i * FSIZE) == FSIZE && same_as_pattern(buf, FSIZE, 0);
    say("sendfile 5 x 100000: size %ld, data ok %d\n", (long)lseek(g, 0, SEEK_END), ok);
    loff_t oi = 0, oo = 0;
    int h = open(g_path, O_RDWR);
    CHECK(h >= 0 && ftruncate(h, 0) == 0);
    res("copy_file_range 500000", copy_file_range(g, &oi, h, &oo, 500000, 0));
    ok = 1;
    for (int i = 0; i < 5; i++)
        ok &= pread(h, buf, FSIZE, (off_t)i * FSIZE) == FSIZE && same_as_pattern(buf, FSIZE, 0);
    say("  data ok %d\n", ok);
    close(h);
    close(g);
}

int main(void)
{
    snprintf(g_path, sizeof(g_path), "/tmp/fs_splice_a.%d", (int)getpid());
    snprintf(g_path2, sizeof(g_path2), "/tmp/fs_splice_b.%d", (int)getpid());
    int f = make_pattern_file(g_path);
    sendfile_to_pipe(f);
    sendfile_to_file(f);
    sendfile_errors(f);
    devices(f);
    splice_file_pipe(f);
    splice_pipe_pipe();
    splice_errors(f);
    tee_calls(f);
    vmsplice_calls(f);
    copy_range(f);
    blocking(f);
    close(f);
    f = make_pattern_file(g_path);
    big_copies(f);
    close(f);
    unlink(g_path);
    unlink(g_path2);
    return 0;
}
