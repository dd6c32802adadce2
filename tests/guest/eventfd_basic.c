/* eventfd: the counter, semaphore mode, EFD_NONBLOCK and EAGAIN both ways, short and
 * bad buffers, the 0xffffffffffffffff rule, blocking across fork, flags and fstat. */
#include "guest.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static uint64_t rd(int fd)
{
    uint64_t v = 0;
    CHECK(read(fd, &v, sizeof(v)) == sizeof(v));
    return v;
}

static void wr(int fd, uint64_t v) { CHECK(write(fd, &v, sizeof(v)) == sizeof(v)); }

int main(void)
{
    int e = eventfd(5, 0);
    CHECK(e >= 0);
    wr(e, 3);
    say("counter: %llu\n", (unsigned long long)rd(e));
    say("getfl %#x getfd %d\n", fcntl(e, F_GETFL), fcntl(e, F_GETFD));
    uint64_t v;
    char small[4];
    CHECK_ERR(read(e, small, sizeof(small)), EINVAL);
    CHECK_ERR(write(e, small, sizeof(small)), EINVAL);
    v = UINT64_MAX;
    CHECK_ERR(write(e, &v, sizeof(v)), EINVAL);
    CHECK_ERR(syscall(SYS_write, e, 8L, sizeof(v)), EFAULT);
    say("short buffers EINVAL, all-ones EINVAL, bad pointer EFAULT\n");
    char big[16];
    wr(e, 9);
    say("16-byte read: %zd\n", read(e, big, sizeof(big)));
    CHECK_ERR(pread(e, &v, sizeof(v), 0), ESPIPE);
    say("lseek: %ld\n", (long)lseek(e, 10, SEEK_SET));
    close(e);

    /* non-blocking: EAGAIN on an empty read and on a write that would overflow */
    e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    say("nonblock getfl %#x getfd %d\n", fcntl(e, F_GETFL), fcntl(e, F_GETFD));
    CHECK_ERR(read(e, &v, sizeof(v)), EAGAIN);
    wr(e, UINT64_MAX - 1);
    v = 1;
    CHECK_ERR(write(e, &v, sizeof(v)), EAGAIN);
    wr(e, 0);   /* adding 0 always fits */
    say("full counter: %llx\n", (unsigned long long)rd(e));
    say("EAGAIN both ways\n");
    close(e);

    /* semaphore mode: each read takes 1 */
    e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    int reads = 0;
    while (read(e, &v, sizeof(v)) == sizeof(v)) {
        CHECK(v == 1);
        reads++;
    }
    say("semaphore reads: %d, then %s\n", reads, errno_name(errno));
    close(e);

    CHECK_ERR(syscall(SYS_eventfd2, 0, O_APPEND), EINVAL);
    CHECK_ERR(eventfd(0, O_APPEND), EINVAL);
    say("bad flags: EINVAL\n");

    /* a blocked read wakes when a child writes */
    e = eventfd(0, 0);
    pid_t c = fork();
    if (c == 0) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        wr(e, 42);
        _exit(0);
    }
    say("blocked read: %llu\n", (unsigned long long)rd(e));
    int st;
    CHECK(waitpid(c, &st, 0) == c);

    /* a blocked write wakes when the counter is read */
    wr(e, UINT64_MAX - 1);
    c = fork();
    if (c == 0) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        rd(e);
        _exit(0);
    }
    wr(e, 7);
    say("blocked write done: %llu\n", (unsigned long long)rd(e));
    CHECK(waitpid(c, &st, 0) == c);

    /* fstat: an anonymous inode, shared by every eventfd */
    int e2 = eventfd(0, 0);
    struct stat a, b;
    CHECK(fstat(e, &a) == 0 && fstat(e2, &b) == 0);
    say("fstat: mode %o type bits %o nlink %lu size %ld same inode %d\n",
        (unsigned)a.st_mode, (unsigned)(a.st_mode & S_IFMT), (unsigned long)a.st_nlink,
        (long)a.st_size, a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    return 0;
}
