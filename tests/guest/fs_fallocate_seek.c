/* fallocate (allocate and extend, KEEP_SIZE, PUNCH_HOLE) and lseek SEEK_DATA/SEEK_HOLE.
 * In /tmp (ext4 natively, the root overlay's tmpfs upper in the sandbox) results that
 * filesystems may legitimately report differently (hole granularity, preallocated
 * space) are checked against what any Linux filesystem may answer and printed as
 * OK/FAIL; /dev/shm is tmpfs on both sides, so there the exact offsets are printed.
 * Also the errors of fallocate in Linux's order, and O_TMPFILE. */
#include "guest.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* musl's headers stop at PUNCH_HOLE */
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif

#define MIB (1024L * 1024L)

static void res(const char *what, long r)
{
    if (r < 0)
        say("%s: -1 %s\n", what, errno == EFBIG ? "EFBIG" : errno_name(errno));
    else
        say("%s: %ld\n", what, r);
}

static void ok(const char *what, int cond) { say("%s: %s\n", what, cond ? "OK" : "FAIL"); }

/* seek: lseek's result, or -errno. */
static long seek(int fd, long off, int whence)
{
    long r = (long)lseek(fd, off, whence);
    return r < 0 ? -errno : r;
}

/* all_are: whether n bytes at off are all c. */
static int all_are(int fd, long off, long n, char c)
{
    static char buf[65536];
    while (n > 0) {
        long take = n < (long)sizeof(buf) ? n : (long)sizeof(buf);
        if (pread(fd, buf, take, off) != take)
            return 0;
        for (long i = 0; i < take; i++)
            if (buf[i] != c)
                return 0;
        off += take;
        n -= take;
    }
    return 1;
}

static int filled(const char *path, long size, char c)
{
    static char buf[65536];
    memset(buf, c, sizeof(buf));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    for (long at = 0; at < size; at += sizeof(buf))
        CHECK(write(fd, buf, sizeof(buf)) == sizeof(buf));
    return fd;
}

/* holes: a 3 MiB file with its middle MiB punched out. exact: print offsets. */
static void holes(const char *dir, int exact)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/fs_fallocate.%d", dir, (int)getpid());
    say("-- %s\n", dir);
    int fd = filled(path, 3 * MIB, 'x');
    res("punch 1 MiB at 1 MiB", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                          MIB, MIB));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("size %ld, hole reads zeroes %d, data around it kept %d\n", (long)st.st_size,
        all_are(fd, MIB, MIB, 0), all_are(fd, 0, MIB, 'x') && all_are(fd, 2 * MIB, MIB, 'x'));
    long h = seek(fd, 0, SEEK_HOLE), d = seek(fd, MIB, SEEK_DATA);
    if (exact) {
        say("SEEK_HOLE from 0: %ld\n", h);
        say("SEEK_DATA from 1 MiB: %ld\n", d);
    } else {
        /* a filesystem without holes reports the end and the offset itself */
        ok("SEEK_HOLE from 0 finds the hole (or the end)", h == MIB || h == 3 * MIB);
        ok("SEEK_DATA from 1 MiB finds the data after it", d == 2 * MIB || d == MIB);
    }
    say("SEEK_DATA from 2.5 MiB: %ld\n", seek(fd, 5 * MIB / 2, SEEK_DATA));
    say("SEEK_HOLE from 2 MiB: %ld\n", seek(fd, 2 * MIB, SEEK_HOLE));
    say("SEEK_HOLE from the last byte: %ld\n", seek(fd, 3 * MIB - 1, SEEK_HOLE));
    say("SEEK_DATA at the end: %s\n", errno_name((int)-seek(fd, 3 * MIB, SEEK_DATA)));
    say("SEEK_HOLE at the end: %s\n", errno_name((int)-seek(fd, 3 * MIB, SEEK_HOLE)));
    say("SEEK_DATA past the end: %s\n", errno_name((int)-seek(fd, 4 * MIB, SEEK_DATA)));
    say("SEEK_DATA from -1: %s\n", errno_name((int)-seek(fd, -1, SEEK_DATA)));
    say("file position after the seeks: %ld\n", seek(fd, 0, SEEK_CUR));

    /* an unaligned punch zeroes exactly its bytes */
    CHECK(ftruncate(fd, 0) == 0);
    close(fd);
    fd = filled(path, 65536, 'y');
    res("punch [100, 5000)", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100,
                                       4900));
    say("zeroes %d, around %d\n", all_are(fd, 100, 4900, 0),
        all_are(fd, 0, 100, 'y') && all_are(fd, 5000, 65536 - 5000, 'y'));
    if (exact)
        say("SEEK_HOLE from 0: %ld\n", seek(fd, 0, SEEK_HOLE));
    else
        ok("SEEK_HOLE from 0: no whole block was freed", seek(fd, 0, SEEK_HOLE) == 65536);
    res("punch past the end", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                        60000, 100000));
    CHECK(fstat(fd, &st) == 0);
    say("size %ld, tail zeroes %d\n", (long)st.st_size, all_are(fd, 60000, 65536 - 60000, 0));
    close(fd);

    /* allocate: extends and reads zeroes; unwritten space is a hole (or data on a
     * filesystem that cannot tell) */
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    res("fallocate 1 MiB", fallocate(fd, 0, 0, MIB));
    CHECK(fstat(fd, &st) == 0);
    say("size %ld, zeroes %d\n", (long)st.st_size, all_are(fd, 0, MIB, 0));
    d = seek(fd, 0, SEEK_DATA);
    if (exact)
        say("SEEK_DATA from 0: %s\n", d < 0 ? errno_name((int)-d) : "data");
    else
        ok("SEEK_DATA from 0: a hole or data", d == -ENXIO || d == 0);
    CHECK(pwrite(fd, "data", 4, MIB / 2) == 4);
    d = seek(fd, 0, SEEK_DATA);
    if (exact)
        say("SEEK_DATA from 0 after a write at 512 KiB: %ld\n", d);
    else
        ok("SEEK_DATA from 0 after a write at 512 KiB", d == MIB / 2 || d == 0);
    res("fallocate KEEP_SIZE beyond the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, MIB, MIB));
    CHECK(fstat(fd, &st) == 0);
    say("size %ld\n", (long)st.st_size);
    res("fallocate over the end", fallocate(fd, 0, MIB - 10, 20));
    CHECK(fstat(fd, &st) == 0);
    say("size %ld, written bytes kept %d\n", (long)st.st_size, all_are(fd, MIB / 2, 1, 'd'));
    res("fallocate inside", fallocate(fd, 0, 10, 10));
    CHECK(fstat(fd, &st) == 0);
    say("size %ld\n", (long)st.st_size);
    close(fd);
    unlink(path);
}

/* tmpfs_only: what tmpfs does that other filesystems do differently. */
static void tmpfs_only(void)
{
    char path[96];
    snprintf(path, sizeof(path), "/dev/shm/fs_fallocate_m.%d", (int)getpid());
    int fd = filled(path, 3 * 4096, 'm');
    res("tmpfs FALLOC_FL_ZERO_RANGE", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096));
    res("tmpfs FALLOC_FL_COLLAPSE_RANGE", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
    res("tmpfs FALLOC_FL_INSERT_RANGE", fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096));
    res("tmpfs FALLOC_FL_UNSHARE_RANGE", fallocate(fd, 0x40, 0, 4096));
    /* a punched page that is mapped: the mapping and the file stay one */
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    res("punch the mapped middle page",
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
    say("mapping reads zeroes %d\n", m[4096] == 0 && m[8191] == 0 && m[0] == 'm');
    memcpy(m + 5000, "again", 5);
    char buf[8] = { 0 };
    CHECK(pread(fd, buf, 5, 5000) == 5);
    say("write through the mapping, read: '%s'\n", buf);
    munmap(m, 3 * 4096);
    close(fd);
    unlink(path);
}

static void errors(void)
{
    char path[96];
    snprintf(path, sizeof(path), "/tmp/fs_fallocate_e.%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int ro = open(path, O_RDONLY), p[2], e = eventfd(0, 0);
    int d = open("/tmp", O_RDONLY | O_DIRECTORY), null = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0 && ro >= 0 && pipe(p) == 0 && e >= 0 && d >= 0 && null >= 0);
    res("len 0", fallocate(fd, 0, 0, 0));
    res("negative len", fallocate(fd, 0, 0, -1));
    res("negative offset", fallocate(fd, 0, -1, 10));
    res("PUNCH_HOLE without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10));
    res("unknown mode", fallocate(fd, 0x100, 0, 10));
    res("COLLAPSE_RANGE with KEEP_SIZE", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE |
                                                       FALLOC_FL_KEEP_SIZE, 0, 4096));
    res("read-only file", fallocate(ro, 0, 0, 10));
    res("bad mode before read-only", fallocate(ro, 0x100, 0, 10));
    res("pipe write end", fallocate(p[1], 0, 0, 10));
    res("pipe read end", fallocate(p[0], 0, 0, 10));
    res("eventfd", fallocate(e, 0, 0, 10));
    res("directory", fallocate(d, 0, 0, 10));
    res("/dev/null", fallocate(null, 0, 0, 10));
    res("offset + len overflows", fallocate(fd, 0, 0x7fffffffffff0000L, 0x20000));
    res("bad fd", fallocate(999, 0, 0, 10));
    res("seek on a pipe", lseek(p[0], 0, SEEK_DATA));
    res("SEEK_DATA on an empty file", lseek(fd, 0, SEEK_DATA));
    close(fd);
    close(ro);
    close(p[0]);
    close(p[1]);
    close(e);
    close(d);
    close(null);
    unlink(path);
}

/* tmpfile_in: O_TMPFILE in dir, then a name for it with linkat. */
static void tmpfile_in(const char *dir)
{
    say("-- O_TMPFILE in %s\n", dir);
    int fd = open(dir, O_TMPFILE | O_RDWR, 0640);
    if (fd < 0) {
        say("open: -1 %s\n", errno_name(errno));
        return;
    }
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("mode %o nlink %ld\n", (unsigned)st.st_mode & ~022u, (long)st.st_nlink);
    char p[64], link[256];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, link, sizeof(link) - 1);
    CHECK(n > 0);
    link[n] = 0;
    size_t dl = strlen(dir);
    say("fd link is DIR/#... (deleted): %d\n", !strncmp(link, dir, dl) && link[dl] == '/' &&
                                                    link[dl + 1] == '#' &&
                                                    strstr(link, " (deleted)"));
    CHECK(write(fd, "temporary", 9) == 9);
    char name[96];
    snprintf(name, sizeof(name), "%s/fs_tmpfile.%d", dir, (int)getpid());
    res("linkat through /proc/self/fd", linkat(AT_FDCWD, p, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
    CHECK(fstat(fd, &st) == 0);
    say("nlink %ld\n", (long)st.st_nlink);
    int fd2 = open(name, O_RDONLY);
    char buf[16] = { 0 };
    CHECK(fd2 >= 0 && read(fd2, buf, sizeof(buf)) == 9);
    say("named file holds '%s'\n", buf);
    close(fd2);
    unlink(name);
    res("linkat again after the name went", linkat(AT_FDCWD, p, AT_FDCWD, name,
                                                   AT_SYMLINK_FOLLOW));
    unlink(name);
    close(fd);

    fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
    CHECK(fd >= 0);
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    res("linkat of an O_EXCL one", linkat(AT_FDCWD, p, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
    close(fd);

    fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
    CHECK(fd >= 0);
    res("linkat with AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    CHECK(fstat(fd, &st) == 0);
    say("nlink %ld\n", (long)st.st_nlink);
    unlink(name);
    close(fd);

    res("O_TMPFILE read-only", open(dir, O_TMPFILE | O_RDONLY, 0600));
    res("O_TMPFILE with O_CREAT", open(dir, O_TMPFILE | O_RDWR | O_CREAT, 0600));
    res("O_TMPFILE of a file", open("/proc/self/exe", O_TMPFILE | O_RDWR, 0600));
    res("O_TMPFILE in a missing directory", open("/tmp/no/such", O_TMPFILE | O_RDWR, 0600));
}

/* host_file: a file the host serves (the sandbox's Gofer, under the overlay): its
 * holes are the host's to report */
static void host_file(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("-- the program file\n");
    ok("SEEK_DATA from 0", seek(fd, 0, SEEK_DATA) == 0);
    ok("SEEK_HOLE from 0 is the end", seek(fd, 0, SEEK_HOLE) == st.st_size);
    ok("SEEK_HOLE from 100 is the end", seek(fd, 100, SEEK_HOLE) == st.st_size);
    say("SEEK_DATA at the end: %s\n", errno_name((int)-seek(fd, st.st_size, SEEK_DATA)));
    res("fallocate on a read-only open", fallocate(fd, 0, 0, 10));
    close(fd);
}

int main(void)
{
    holes("/tmp", 0);
    holes("/dev/shm", 1);
    host_file();
    tmpfs_only();
    errors();
    umask(022);
    tmpfile_in("/tmp");
    tmpfile_in("/dev/shm");
    res("O_TMPFILE in /proc", open("/proc", O_TMPFILE | O_RDWR, 0600));
    return 0;
}
