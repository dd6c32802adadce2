/* Path system calls on a scratch directory in /tmp: create, stat, links, rename,
 * directories and their errors, as Linux reports them. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>

/* renameat2 flags (<linux/fs.h> is not in musl's headers) */
#define RENAME_NOREPLACE_ (1 << 0)
#define RENAME_EXCHANGE_ (1 << 1)

static char dir[64];

static const char *p(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

/* err: the errno name of a call that returned r. */
static const char *err(long r)
{
    return r < 0 ? errno_name(errno) : "ok";
}

static void list_sorted(const char *path)
{
    DIR *d = opendir(path);
    CHECK(d != NULL);
    char names[64][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
    printf("ls:");
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fs_paths.%d", getpid());
    umask(022);
    CHECK(mkdir(dir, 0755) == 0);

    /* create, write, stat */
    int fd = open(p("a"), O_CREAT | O_EXCL | O_RDWR, 0666);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello world\n", 12) == 12);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("a: mode %o size %lld nlink %ld\n", st.st_mode, (long long)st.st_size,
           (long)st.st_nlink);
    printf("excl again: %s\n", err(open(p("a"), O_CREAT | O_EXCL | O_RDWR, 0666)));
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    char buf[64] = { 0 };
    CHECK(read(fd, buf, sizeof(buf)) == 12);
    printf("read: %s", buf);
    printf("pread 6: %zd\n", pread(fd, buf, 5, 6));
    close(fd);

    /* opening errors */
    printf("missing: %s\n", err(open(p("nope"), O_RDONLY)));
    printf("missing dir: %s\n", err(open(p("nope/x"), O_RDONLY)));
    printf("file as dir: %s\n", err(open(p("a/x"), O_RDONLY)));
    printf("dir for write: %s\n", err(open(dir, O_WRONLY)));
    printf("O_DIRECTORY on file: %s\n", err(open(p("a"), O_RDONLY | O_DIRECTORY)));
    printf("trailing slash on file: %s\n", err(open(p("a/"), O_RDONLY)));
    printf("create with slash: %s\n", err(open(p("b/"), O_CREAT | O_RDWR, 0644)));
    printf("empty path: %s\n", err(open("", O_RDONLY)));

    /* truncate and O_TRUNC, O_APPEND */
    CHECK(truncate(p("a"), 5) == 0);
    CHECK(stat(p("a"), &st) == 0);
    printf("truncated: %lld\n", (long long)st.st_size);
    fd = open(p("a"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, "!", 1) == 1);
    close(fd);
    fd = open(p("a"), O_RDONLY);
    memset(buf, 0, sizeof(buf));
    CHECK(read(fd, buf, sizeof(buf)) == 6);
    printf("appended: %s\n", buf);
    close(fd);
    fd = open(p("a"), O_RDWR | O_TRUNC);
    CHECK(fstat(fd, &st) == 0);
    printf("O_TRUNC: %lld\n", (long long)st.st_size);
    CHECK(ftruncate(fd, 10000) == 0);
    CHECK(pread(fd, buf, 4, 9000) == 4);
    printf("hole reads zero: %d\n", buf[0] == 0 && buf[3] == 0);
    close(fd);

    /* directories */
    CHECK(mkdir(p("d"), 0700) == 0);
    printf("mkdir again: %s\n", err(mkdir(p("d"), 0700)));
    printf("mkdir under file: %s\n", err(mkdir(p("a/d"), 0700)));
    CHECK(stat(p("d"), &st) == 0);
    printf("d: mode %o nlink %ld\n", st.st_mode, (long)st.st_nlink);
    CHECK(stat(dir, &st) == 0);
    printf("parent nlink %ld\n", (long)st.st_nlink);
    CHECK(close(open(p("d/f"), O_CREAT | O_WRONLY, 0600)) == 0);
    printf("rmdir non-empty: %s\n", err(rmdir(p("d"))));
    printf("rmdir file: %s\n", err(rmdir(p("a"))));
    printf("unlink dir: %s\n", err(unlink(p("d"))));
    printf("rmdir dot: %s\n", err(rmdir(p("d/."))));

    /* symlinks */
    CHECK(symlink("a", p("s")) == 0);
    CHECK(symlink("nowhere", p("dangling")) == 0);
    CHECK(symlink("loop2", p("loop1")) == 0);
    CHECK(symlink("loop1", p("loop2")) == 0);
    ssize_t n = readlink(p("s"), buf, sizeof(buf));
    printf("readlink: %.*s\n", (int)n, buf);
    printf("readlink on file: %s\n", err(readlink(p("a"), buf, sizeof(buf))));
    CHECK(stat(p("s"), &st) == 0);
    printf("stat through link: %s\n", S_ISREG(st.st_mode) ? "file" : "other");
    CHECK(lstat(p("s"), &st) == 0);
    printf("lstat link: %s size %lld\n", S_ISLNK(st.st_mode) ? "link" : "other",
           (long long)st.st_size);
    printf("dangling: %s\n", err(open(p("dangling"), O_RDONLY)));
    printf("loop: %s\n", err(open(p("loop1"), O_RDONLY)));
    printf("O_NOFOLLOW: %s\n", err(open(p("s"), O_RDONLY | O_NOFOLLOW)));
    fd = open(p("s"), O_PATH | O_NOFOLLOW);
    printf("O_PATH|O_NOFOLLOW: %s\n", err(fd));
    if (fd >= 0) {
        printf("read O_PATH: %s\n", err(read(fd, buf, 1)));
        CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0);
        printf("fstatat empty: %s\n", S_ISLNK(st.st_mode) ? "link" : "other");
        close(fd);
    }
    fd = open(p("dangling"), O_CREAT | O_WRONLY, 0644);
    printf("create through dangling: %s\n", err(fd));
    if (fd >= 0)
        close(fd);

    /* hard links */
    CHECK(link(p("a"), p("h")) == 0);
    CHECK(stat(p("a"), &st) == 0);
    printf("nlink after link: %ld\n", (long)st.st_nlink);
    printf("link exists: %s\n", err(link(p("a"), p("h"))));
    printf("link dir: %s\n", err(link(p("d"), p("d2"))));

    /* rename */
    CHECK(rename(p("h"), p("h2")) == 0);
    printf("old name: %s\n", err(access(p("h"), F_OK)));
    printf("rename dir over file: %s\n", err(rename(p("d"), p("a"))));
    printf("rename file over dir: %s\n", err(rename(p("a"), p("d"))));
    printf("rename into itself: %s\n", err(rename(p("d"), p("d/sub"))));
    printf("rename missing: %s\n", err(rename(p("zz"), p("yy"))));
    printf("noreplace: %s\n",
           err(syscall(SYS_renameat2, AT_FDCWD, p("a"), AT_FDCWD, p("h2"),
                       RENAME_NOREPLACE_)));
    CHECK(mkdir(p("e"), 0755) == 0);
    printf("exchange: %s\n", err(syscall(SYS_renameat2, AT_FDCWD, p("e"), AT_FDCWD,
                                         p("h2"), RENAME_EXCHANGE_)));
    CHECK(lstat(p("e"), &st) == 0);
    printf("after exchange e is %s\n", S_ISREG(st.st_mode) ? "file" : "dir");
    CHECK(mkdir(p("empty"), 0755) == 0);
    printf("rename dir over empty dir: %s\n", err(rename(p("h2"), p("empty"))));

    /* *at with a directory fd, chdir */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(fstatat(dfd, "a", &st, 0) == 0);
    printf("fstatat: %lld\n", (long long)st.st_size);
    printf("openat on file fd: %s\n", err(openat(open(p("a"), O_RDONLY), "x", O_RDONLY)));
    CHECK(chdir(p("d")) == 0);
    char cwd[256];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    printf("cwd ends with /d: %d\n", strcmp(cwd + strlen(cwd) - 2, "/d") == 0);
    CHECK(access("f", F_OK) == 0);
    CHECK(access("../a", R_OK) == 0);
    CHECK(chdir("..") == 0);
    CHECK(fchdir(dfd) == 0);
    printf("getcwd small: %s\n", err(getcwd(cwd, 2) ? 0 : -1));

    /* attributes */
    CHECK(chmod(p("a"), 0640) == 0);
    CHECK(stat(p("a"), &st) == 0);
    printf("chmod: %o\n", st.st_mode & 07777);
    struct timespec ts[2] = { { 1000000000, 5 }, { 1200000000, 7 } };
    CHECK(utimensat(AT_FDCWD, p("a"), ts, 0) == 0);
    CHECK(stat(p("a"), &st) == 0);
    printf("times: %lld.%ld %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = 1300000000;
    CHECK(utimensat(AT_FDCWD, p("a"), ts, 0) == 0);
    CHECK(stat(p("a"), &st) == 0);
    printf("omit atime: %lld %lld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec);
    CHECK(chown(p("a"), 123, 456) == 0);
    CHECK(stat(p("a"), &st) == 0);
    printf("chown: %u %u\n", st.st_uid, st.st_gid);
#ifdef STATX_BASIC_STATS
    struct statx sx;
    CHECK(statx(AT_FDCWD, p("a"), 0, STATX_BASIC_STATS, &sx) == 0);
    printf("statx: size %llu mode %o\n", (unsigned long long)sx.stx_size, sx.stx_mode);
#endif

    /* mknod of a FIFO, getdents */
    CHECK(mknod(p("fifo"), S_IFIFO | 0600, 0) == 0);
    CHECK(stat(p("fifo"), &st) == 0);
    printf("fifo: %s\n", S_ISFIFO(st.st_mode) ? "yes" : "no");
    list_sorted(dir);

    /* clean up, checking unlink and rmdir */
    const char *files[] = { "a", "s", "dangling", "nowhere", "loop1", "loop2", "e",
                            "fifo", "d/f" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        CHECK(unlink(p(files[i])) == 0);
    CHECK(rmdir(p("d")) == 0);
    CHECK(rmdir(p("empty")) == 0);
    list_sorted(dir);
    CHECK(rmdir(dir) == 0);
    printf("gone: %s\n", err(access(dir, F_OK)));
    return 0;
}
