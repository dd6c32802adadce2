/* memfd_create: flags and name rules, the file (mode, links, /proc/self/fd and maps
 * names), data through read/write and shared mappings (also across fork), and seals:
 * F_ADD_SEALS/F_GET_SEALS, EPERM for sealed writes, truncates, fallocate and mmap,
 * EBUSY for F_SEAL_WRITE while a shared writable mapping exists, F_SEAL_FUTURE_WRITE,
 * MFD_NOEXEC_SEAL. */
#include "guest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static int mfd(const char *name, unsigned flags)
{
    return (int)syscall(SYS_memfd_create, name, flags);
}

static void res(const char *what, long r)
{
    if (r < 0)
        say("%s: -1 %s\n", what, errno_name(errno));
    else
        say("%s: %ld\n", what, r);
}

static void fd_link(int fd, char *out, size_t size)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, out, size - 1);
    out[n < 0 ? 0 : n] = 0;
}

/* in_maps: whether /proc/self/maps has a line naming text. */
static int in_maps(const char *text)
{
    static char buf[65536];
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n, got = 0;
    while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += n;
    close(fd);
    buf[got] = 0;
    return strstr(buf, text) != NULL;
}

static void basics(void)
{
    int fd = mfd("hello", MFD_CLOEXEC);
    CHECK(fd >= 0);
    say("FD_CLOEXEC: %d, access mode O_RDWR: %d\n", fcntl(fd, F_GETFD) == FD_CLOEXEC,
        (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("mode %o nlink %ld size %ld\n", (unsigned)st.st_mode, (long)st.st_nlink,
        (long)st.st_size);
    char link[256];
    fd_link(fd, link, sizeof(link));
    say("fd link: %s\n", link);
    CHECK(write(fd, "abc", 3) == 3);
    res("ftruncate 8192", ftruncate(fd, 8192));
    res("size by SEEK_END", lseek(fd, 0, SEEK_END));
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    say("mapping sees '%.3s'\n", m);
    memcpy(m + 4096, "from the mapping", 16);
    char buf[32] = { 0 };
    CHECK(pread(fd, buf, 16, 4096) == 16);
    say("read sees '%s'\n", buf);
    CHECK(pwrite(fd, "XY", 2, 1) == 2);
    say("mapping sees '%.3s' after pwrite\n", m);
    say("maps names it: %d\n", in_maps("/memfd:hello (deleted)"));
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        memcpy(m + 100, "child", 5);
        _exit(0);
    }
    CHECK(waitpid(c, NULL, 0) == c);
    CHECK(pread(fd, buf, 5, 100) == 5);
    say("child's write through the shared mapping: '%.5s'\n", buf);
    CHECK(munmap(m, 8192) == 0);

    /* reopen through /proc: the same file */
    char p[64];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    int fd2 = open(p, O_RDWR);
    CHECK(fd2 >= 0);
    struct stat st2;
    CHECK(fstat(fd2, &st2) == 0);
    say("reopened: same inode %d, size %ld\n", st.st_ino == st2.st_ino, (long)st2.st_size);
    close(fd2);
    res("no sealing: F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    res("no sealing: F_ADD_SEALS", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    close(fd);
}

static void names_and_flags(void)
{
    char name[300];
    memset(name, 'n', sizeof(name));
    name[249] = 0;
    int fd = mfd(name, 0);
    res("name of 249 bytes", fd >= 0 ? 0 : -1);
    char link[512];
    if (fd >= 0) {
        fd_link(fd, link, sizeof(link));
        say("  link length %zu\n", strlen(link));
        close(fd);
    }
    name[249] = 'n';
    name[250] = 0;
    res("name of 250 bytes", mfd(name, 0));
    res("empty name", (fd = mfd("", 0)));
    fd_link(fd, link, sizeof(link));
    say("  link: %s\n", link);
    close(fd);
    res("bad name pointer", mfd((const char *)8, 0));
    res("unknown flag", mfd("x", 0x100));
    res("MFD_EXEC with MFD_NOEXEC_SEAL", mfd("x", MFD_EXEC | MFD_NOEXEC_SEAL));
    res("huge page size bits without MFD_HUGETLB", mfd("x", 21U << 26));
}

static void seals(void)
{
    int fd = mfd("sealed", MFD_ALLOW_SEALING);
    CHECK(fd >= 0);
    res("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    CHECK(ftruncate(fd, 8192) == 0);

    res("F_ADD_SEALS F_SEAL_SHRINK", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    res("  shrink", ftruncate(fd, 4096));
    res("  grow", ftruncate(fd, 12288));
    res("F_ADD_SEALS F_SEAL_GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    res("  grow", ftruncate(fd, 16384));
    res("  same size", ftruncate(fd, 12288));
    res("  write inside", pwrite(fd, "in", 2, 100));
    res("  write past the end", pwrite(fd, "out", 3, 12288));
    res("  write across the end", pwrite(fd, "0123456789", 10, 12283));
    static char two[8192];
    res("  write of two pages, the second across the end", pwrite(fd, two, 8192, 8000));
    res("  fallocate past the end", fallocate(fd, 0, 12000, 1000));
    res("  fallocate KEEP_SIZE past the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, 12000, 1000));
    res("  fallocate inside", fallocate(fd, 0, 0, 4096));

    /* F_SEAL_WRITE waits for shared writable mappings to go */
    char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(w != MAP_FAILED);
    res("F_SEAL_WRITE with a shared writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    char *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(pr != MAP_FAILED);
    CHECK(munmap(w, 4096) == 0);
    res("F_SEAL_WRITE with only a private mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    res("  write", write(fd, "x", 1));
    res("  pwrite", pwrite(fd, "x", 1, 0));
    res("  shared writable mmap", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
                                      MAP_FAILED ? -1 : 0);
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    res("  shared read-only mmap", r == MAP_FAILED ? -1 : 0);
    res("  mprotect it writable", mprotect(r, 4096, PROT_READ | PROT_WRITE));
    memcpy(pr, "private", 7);
    say("  private copy written: '%.7s', file: '%.2s'\n", pr, r + 100);
    res("  punch a hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    res("  shrink", ftruncate(fd, 4096));
    res("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    res("F_ADD_SEALS unknown bit", fcntl(fd, F_ADD_SEALS, 0x40));
    res("F_ADD_SEALS F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    res("F_ADD_SEALS after F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    res("F_GET_SEALS", fcntl(fd, F_GET_SEALS));

    char p[64];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    int ro = open(p, O_RDONLY);
    CHECK(ro >= 0);
    res("F_GET_SEALS on a read-only reopen", fcntl(ro, F_GET_SEALS));
    close(ro);
    munmap(r, 4096);
    munmap(pr, 4096);
    close(fd);

    /* a read-only shared mapping of a writable memfd may still become writable */
    fd = mfd("ro-map", MFD_ALLOW_SEALING);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(r != MAP_FAILED);
    res("F_SEAL_WRITE with a read-only shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(r, 4096);
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    ro = open(p, O_RDONLY);
    CHECK(ro >= 0);
    res("F_ADD_SEALS through a read-only fd", fcntl(ro, F_ADD_SEALS, F_SEAL_GROW));
    close(ro);
    close(fd);
}

static void future_write(void)
{
    int fd = mfd("future", MFD_ALLOW_SEALING);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(w != MAP_FAILED);
    res("F_SEAL_FUTURE_WRITE with a writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    memcpy(w, "old mapping", 11);
    char buf[16] = { 0 };
    CHECK(pread(fd, buf, 11, 0) == 11);
    say("  the old mapping still writes: '%s'\n", buf);
    res("  write", pwrite(fd, "x", 1, 0));
    res("  new shared writable mmap", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                                           0) == MAP_FAILED ? -1 : 0);
    res("  ftruncate", ftruncate(fd, 8192));
    munmap(w, 4096);
    close(fd);
}

static void noexec(void)
{
    int fd = mfd("noexec", MFD_NOEXEC_SEAL);
    if (fd < 0 && errno == EINVAL)
        guest_skip("MFD_NOEXEC_SEAL needs Linux 6.3");
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("MFD_NOEXEC_SEAL: mode %o\n", (unsigned)st.st_mode);
    res("  F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    res("  chmod +x", fchmod(fd, 0777));
    res("  chmod -w", fchmod(fd, 0444));
    res("  write", write(fd, "ok", 2));
    close(fd);

    fd = mfd("exec", MFD_ALLOW_SEALING);
    CHECK(fd >= 0);
    res("F_SEAL_EXEC on an executable memfd", fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC));
    res("  F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    res("  write", write(fd, "no", 2));
    close(fd);
}

static void other_files(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/fs_memfd.%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    res("F_GET_SEALS on a /tmp file", fcntl(fd, F_GET_SEALS));
    close(fd);
    unlink(path);
    snprintf(path, sizeof(path), "/dev/shm/fs_memfd.%d", (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    res("F_GET_SEALS on a tmpfs file", fcntl(fd, F_GET_SEALS));
    res("F_ADD_SEALS on a tmpfs file", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    close(fd);
    unlink(path);
    int p[2];
    CHECK(pipe(p) == 0);
    res("F_GET_SEALS on a pipe", fcntl(p[0], F_GET_SEALS));
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    basics();
    names_and_flags();
    seals();
    future_write();
    other_files();
    noexec();
    return 0;
}
