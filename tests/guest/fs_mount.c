/* mount(2) and umount2(2): tmpfs with options, statfs, bind mounts (files,
 * directories, recursive), read-only remounts, nosuid/nodev/noexec/nosymfollow,
 * MNT_DETACH with a file still open, EBUSY, MS_MOVE, MNT_EXPIRE, propagation flags,
 * proc and sysfs, and what /proc/self/mountinfo says about the test's own mounts.
 *
 * Natively this needs root and runs in a private mount namespace (unshare +
 * MS_REC|MS_PRIVATE on /) so nothing leaks to the host; in the sandbox unshare may
 * be missing (ENOSYS), which is fine: the mounts are the Sentry's anyway. Everything
 * happens under a tmpfs mounted on a fresh directory in /tmp, so paths inside it
 * print the same everywhere. */
#include "guest.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 8
#endif
#ifndef MNT_EXPIRE
#define MNT_EXPIRE 4
#endif
#define TMPFS_MAGIC_ 0x01021994

static char base[64];

/* P: base + "/" + name, in one of a few rotating buffers. */
static const char *P(const char *name)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", base, name);
    return buf[k];
}

static const char *res(long r) { return r < 0 ? errno_name(errno) : "ok"; }

static void put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(close(fd) == 0);
}

/* get_file: the text of path, or the errno name. */
static const char *get_file(const char *path)
{
    static char buf[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno_name(errno);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return errno_name(errno);
    buf[n] = 0;
    return buf;
}

static const char *creat_res(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return errno_name(errno);
    close(fd);
    return "ok";
}

/* keep_opt: the super options worth comparing (others, like inode64, vary by host
 * kernel). */
static int keep_opt(const char *o)
{
    static const char *const keep[] = { "ro", "rw", "size=", "nr_inodes=", "mode=",
                                        "uid=", "gid=" };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (strncmp(o, keep[i], strlen(keep[i])) == 0)
            return 1;
    return 0;
}

/* show_mounts: the mountinfo lines of mounts under base, without ids, device
 * numbers and optional fields: mountpoint (relative), root, options, type, source,
 * super options (filtered). */
static void show_mounts(const char *title)
{
    printf("mountinfo %s:\n", title);
    FILE *f = fopen("/proc/self/mountinfo", "r");
    CHECK(f != NULL);
    char line[1024];
    size_t blen = strlen(base);
    while (fgets(line, sizeof(line), f)) {
        char *fld[32];
        int n = 0;
        for (char *s = strtok(line, " \n"); s && n < 32; s = strtok(NULL, " \n"))
            fld[n++] = s;
        if (n < 10 || strncmp(fld[4], base, blen) != 0)
            continue;
        int dash = 6;
        while (dash < n && strcmp(fld[dash], "-") != 0)
            dash++;
        if (dash + 3 >= n)
            continue;
        const char *mp = fld[4][blen] ? fld[4] + blen : "/";
        printf("  %s root=%s %s %s %s ", mp, fld[3], fld[5], fld[dash + 1], fld[dash + 2]);
        char *save = NULL;
        int first = 1;
        for (char *o = strtok_r(fld[dash + 3], ",", &save); o; o = strtok_r(NULL, ",", &save))
            if (keep_opt(o)) {
                printf("%s%s", first ? "" : ",", o);
                first = 0;
            }
        printf("\n");
    }
    fclose(f);
}

/* in_proc_mounts: whether /proc/self/mounts lists the mount point path. */
static int in_proc_mounts(const char *path)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    CHECK(f != NULL);
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof(line), f)) {
        char src[512], mp[512];
        if (sscanf(line, "%511s %511s", src, mp) == 2 && strcmp(mp, path) == 0)
            found = 1;
    }
    fclose(f);
    return found;
}

static void tmpfs_basics(void)
{
    CHECK(mkdir(P("t"), 0755) == 0);
    printf("mount tmpfs: %s\n", res(mount("tmpfs", P("t"), "tmpfs", 0, "size=1m,mode=750")));
    struct stat st;
    CHECK(stat(P("t"), &st) == 0);
    printf("root mode %o\n", st.st_mode & 07777);
    put_file(P("t/f"), "hello");
    struct statfs sf;
    CHECK(statfs(P("t"), &sf) == 0);
    printf("statfs: tmpfs %d bsize %ld blocks %ld\n", sf.f_type == TMPFS_MAGIC_,
           (long)sf.f_bsize, (long)sf.f_blocks);
    printf("in /proc/self/mounts: %d\n", in_proc_mounts(P("t")));
    show_mounts("after tmpfs");

    /* not mount points, bad flags, missing */
    printf("umount base: %s\n", res(umount2(base, 0)));
    printf("umount file: %s\n", res(umount2(P("t/f"), 0)));
    printf("umount bad flags: %s\n", res(umount2(P("t"), 0x100)));
    printf("umount missing: %s\n", res(umount2(P("nope"), 0)));

    /* busy: an open file, a cwd */
    int fd = open(P("t/f"), O_RDONLY);
    CHECK(fd >= 0);
    printf("umount with open fd: %s\n", res(umount2(P("t"), 0)));
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(cwd >= 0);
    CHECK(chdir(P("t")) == 0);
    printf("umount with cwd inside: %s\n", res(umount2(P("t"), MNT_FORCE)));
    CHECK(fchdir(cwd) == 0);
    close(cwd);

    /* lazy: gone from the tree now, the open file still works */
    printf("umount MNT_DETACH: %s\n", res(umount2(P("t"), MNT_DETACH)));
    printf("after detach: path %s, ", get_file(P("t/f")));
    char buf[16] = { 0 };
    printf("fd reads %s\n", pread(fd, buf, sizeof(buf) - 1, 0) >= 0 ? buf : errno_name(errno));
    printf("in /proc/self/mounts: %d\n", in_proc_mounts(P("t")));
    printf("umount again: %s\n", res(umount2(P("t"), 0)));
    close(fd);
}

static void tmpfs_limits(void)
{
    CHECK(mkdir(P("small"), 0755) == 0);
    printf("mount size=16k: %s\n", res(mount("none", P("small"), "tmpfs", 0, "size=16k")));
    int fd = open(P("small/big"), O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    static char data[20480];
    memset(data, 'x', sizeof(data));
    ssize_t n = write(fd, data, sizeof(data));
    printf("write 20480: %zd\n", n);
    printf("write more: %s\n", res(write(fd, data, 10)));
    close(fd);
    struct statfs sf;
    CHECK(statfs(P("small"), &sf) == 0);
    printf("statfs: blocks %ld free %ld\n", (long)sf.f_blocks, (long)sf.f_bfree);
    printf("remount below use: %s\n",
           res(mount(NULL, P("small"), NULL, MS_REMOUNT, "size=8k")));
    printf("remount size=32k: %s\n",
           res(mount(NULL, P("small"), NULL, MS_REMOUNT, "size=32k")));
    CHECK(statfs(P("small"), &sf) == 0);
    printf("statfs: blocks %ld\n", (long)sf.f_blocks);
    show_mounts("size");
    CHECK(umount2(P("small"), 0) == 0);

    /* option and type errors */
    printf("bad size: %s\n", res(mount("none", P("small"), "tmpfs", 0, "size=abc")));
    printf("unknown option: %s\n", res(mount("none", P("small"), "tmpfs", 0, "bogus=1")));
    printf("unknown type: %s\n", res(mount("none", P("small"), "nosuchfs", 0, NULL)));
    printf("no type: %s\n", res(mount("none", P("small"), NULL, 0, NULL)));
    printf("missing target: %s\n", res(mount("none", P("nope"), "tmpfs", 0, NULL)));
    put_file(P("afile"), "x");
    printf("tmpfs on a file: %s\n", res(mount("none", P("afile"), "tmpfs", 0, NULL)));
    printf("bad target pointer: %s\n",
           res(syscall(SYS_mount, "none", (char *)8, "tmpfs", 0L, NULL)));
    printf("bad type pointer: %s\n",
           res(syscall(SYS_mount, "none", P("small"), (char *)8, 0L, NULL)));
    printf("bad data pointer: %s\n",
           res(syscall(SYS_mount, "none", P("small"), "tmpfs", 0L, (char *)8)));
}

static void bind_mounts(void)
{
    CHECK(mkdir(P("src"), 0755) == 0 && mkdir(P("dst"), 0755) == 0);
    put_file(P("src/a"), "A");
    printf("bind: %s\n", res(mount(P("src"), P("dst"), NULL, MS_BIND, NULL)));
    printf("dst/a: %s\n", get_file(P("dst/a")));
    put_file(P("dst/b"), "B");
    printf("src/b: %s\n", get_file(P("src/b")));
    struct stat s1, s2;
    CHECK(stat(P("src/a"), &s1) == 0 && stat(P("dst/a"), &s2) == 0);
    printf("same inode: %d\n", s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
    /* ".." at a mount's root goes to the mountpoint's parent */
    CHECK(stat(P("dst/.."), &s1) == 0 && stat(base, &s2) == 0);
    printf("dst/.. is base: %d\n", s1.st_ino == s2.st_ino);

    /* read-only per mount: the other place stays writable */
    printf("remount bind ro: %s\n",
           res(mount(NULL, P("dst"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    printf("create in dst: %s\n", creat_res(P("dst/c")));
    printf("create in src: %s\n", creat_res(P("src/c")));
    printf("write-open in dst: %s\n", res(open(P("dst/a"), O_WRONLY)));
    printf("mkdir in dst: %s\n", res(mkdir(P("dst/d"), 0755)));
    printf("unlink in dst: %s\n", res(unlink(P("dst/a"))));
    printf("chmod in dst: %s\n", res(chmod(P("dst/a"), 0600)));
    struct statvfs sv;
    CHECK(statvfs(P("dst"), &sv) == 0);
    printf("statvfs ST_RDONLY: %d\n", (sv.f_flag & ST_RDONLY) != 0);
    show_mounts("bind ro");
    printf("remount bind rw: %s\n",
           res(mount(NULL, P("dst"), NULL, MS_REMOUNT | MS_BIND, NULL)));
    int fd = open(P("dst/a"), O_WRONLY);
    CHECK(fd >= 0);
    printf("remount ro with a writer: %s\n",
           res(mount(NULL, P("dst"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    close(fd);
    printf("remount ro after close: %s\n",
           res(mount(NULL, P("dst"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    printf("remount not a mount root: %s\n",
           res(mount(NULL, P("src"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    /* a bind of a read-only mount keeps its flags */
    CHECK(mkdir(P("dst2"), 0755) == 0);
    printf("bind of ro mount: %s\n", res(mount(P("dst"), P("dst2"), NULL, MS_BIND, NULL)));
    printf("create in dst2: %s\n", creat_res(P("dst2/e")));
    CHECK(umount2(P("dst2"), 0) == 0);
    printf("umount dst: %s\n", res(umount2(P("dst"), 0)));
    printf("dst/a after umount: %s\n", get_file(P("dst/a")));
    printf("bind missing source: %s\n", res(mount(P("nope"), P("dst"), NULL, MS_BIND, NULL)));
    printf("bind empty source: %s\n", res(mount("", P("dst"), NULL, MS_BIND, NULL)));

    /* files on files; a directory on a file is ENOTDIR */
    put_file(P("f1"), "one");
    put_file(P("f2"), "two");
    printf("bind file: %s\n", res(mount(P("f1"), P("f2"), NULL, MS_BIND, NULL)));
    printf("f2: %s\n", get_file(P("f2")));
    printf("umount file: %s\n", res(umount2(P("f2"), 0)));
    printf("f2: %s\n", get_file(P("f2")));
    printf("bind dir on file: %s\n", res(mount(P("src"), P("f2"), NULL, MS_BIND, NULL)));
}

static void recursive_and_move(void)
{
    CHECK(mkdir(P("r"), 0755) == 0 && mkdir(P("r/sub"), 0755) == 0);
    CHECK(mkdir(P("rb"), 0755) == 0 && mkdir(P("rr"), 0755) == 0);
    CHECK(mount("sub", P("r/sub"), "tmpfs", 0, NULL) == 0);
    put_file(P("r/sub/x"), "X");
    printf("bind: %s\n", res(mount(P("r"), P("rb"), NULL, MS_BIND, NULL)));
    printf("rb/sub/x: %s\n", get_file(P("rb/sub/x")));
    printf("rbind: %s\n", res(mount(P("r"), P("rr"), NULL, MS_BIND | MS_REC, NULL)));
    printf("rr/sub/x: %s\n", get_file(P("rr/sub/x")));
    show_mounts("recursive");
    printf("umount rr with a child: %s\n", res(umount2(P("rr"), 0)));
    printf("umount rr detach: %s\n", res(umount2(P("rr"), MNT_DETACH)));
    printf("rr/sub/x: %s\n", get_file(P("rr/sub/x")));
    CHECK(umount2(P("rb"), 0) == 0);

    /* unbindable: refused as a bind source, and left out of a recursive copy */
    printf("make unbindable: %s\n", res(mount(NULL, P("r/sub"), NULL, MS_UNBINDABLE, NULL)));
    printf("bind unbindable: %s\n", res(mount(P("r/sub"), P("rb"), NULL, MS_BIND, NULL)));
    printf("rbind around it: %s\n", res(mount(P("r"), P("rr"), NULL, MS_BIND | MS_REC, NULL)));
    printf("rr/sub/x: %s\n", get_file(P("rr/sub/x")));
    CHECK(umount2(P("rr"), 0) == 0);
    printf("make private: %s\n", res(mount(NULL, P("r/sub"), NULL, MS_PRIVATE, NULL)));
    printf("make rshared: %s\n",
           res(mount(NULL, P("r/sub"), NULL, MS_SHARED | MS_REC, NULL)));
    printf("make private again: %s\n", res(mount(NULL, P("r/sub"), NULL, MS_PRIVATE, NULL)));
    printf("two types: %s\n",
           res(mount(NULL, P("r/sub"), NULL, MS_PRIVATE | MS_SHARED, NULL)));
    printf("type of non-root: %s\n", res(mount(NULL, P("r"), NULL, MS_PRIVATE, NULL)));
    printf("private + nosuid: %s\n",
           res(mount(NULL, P("r/sub"), NULL, MS_PRIVATE | MS_NOSUID, NULL)));

    /* MS_MOVE */
    CHECK(mkdir(P("m2"), 0755) == 0);
    printf("move: %s\n", res(mount(P("r/sub"), P("m2"), NULL, MS_MOVE, NULL)));
    printf("m2/x: %s, r/sub/x: %s\n", get_file(P("m2/x")), get_file(P("r/sub/x")));
    printf("move into itself: %s\n", res(mount(P("m2"), P("m2"), NULL, MS_MOVE, NULL)));
    printf("move non-root: %s\n", res(mount(P("r"), P("m2"), NULL, MS_MOVE, NULL)));
    show_mounts("moved");

    /* MNT_EXPIRE: the first call marks, the second unmounts */
    printf("expire 1: %s\n", res(umount2(P("m2"), MNT_EXPIRE)));
    printf("expire 2: %s\n", res(umount2(P("m2"), MNT_EXPIRE)));
    printf("expire + detach: %s\n", res(umount2(base, MNT_EXPIRE | MNT_DETACH)));

    /* UMOUNT_NOFOLLOW: a symlink to a mount point is not one */
    CHECK(mount("none", P("m2"), "tmpfs", 0, NULL) == 0);
    CHECK(symlink("m2", P("lnk")) == 0);
    printf("umount symlink nofollow: %s\n", res(umount2(P("lnk"), UMOUNT_NOFOLLOW)));
    printf("umount symlink: %s\n", res(umount2(P("lnk"), 0)));
}

static void mount_flags(void)
{
    char self[4096];
    CHECK(mkdir(P("ne"), 0755) == 0);
    printf("mount noexec,nodev,nosymfollow: %s\n",
           res(mount("none", P("ne"), "tmpfs", MS_NOEXEC | MS_NODEV | MS_NOSYMFOLLOW,
                     NULL)));
    /* a copy of this program cannot run from there */
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(P("ne/prog"), O_WRONLY | O_CREAT, 0755);
    CHECK(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, self, sizeof(self))) > 0)
        CHECK(write(out, self, (size_t)n) == n);
    close(in);
    close(out);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char *argv[] = { "prog", NULL };
        execve(P("ne/prog"), argv, argv + 1);
        _exit(errno == EACCES ? 3 : 4);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    printf("exec from noexec: %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 3 ? "EACCES" : "other");
    printf("access X_OK: %s\n", res(access(P("ne/prog"), X_OK)));
    CHECK(mknod(P("ne/null"), S_IFCHR | 0666, makedev(1, 3)) == 0);
    printf("open device on nodev: %s\n", res(open(P("ne/null"), O_RDONLY)));
    put_file(P("ne/target"), "T");
    CHECK(symlink("target", P("ne/link")) == 0);
    printf("follow on nosymfollow: %s\n", get_file(P("ne/link")));
    char lbuf[64];
    ssize_t ln = readlink(P("ne/link"), lbuf, sizeof(lbuf));
    printf("readlink: %.*s\n", (int)(ln > 0 ? ln : 0), lbuf);
    struct statvfs sv;
    CHECK(statvfs(P("ne"), &sv) == 0);
    printf("statvfs noexec %d nodev %d\n", (sv.f_flag & ST_NOEXEC) != 0,
           (sv.f_flag & ST_NODEV) != 0);
    show_mounts("flags");
    CHECK(umount2(P("ne"), 0) == 0);

    /* a whole-filesystem read-only remount, then back */
    CHECK(mkdir(P("w"), 0755) == 0);
    CHECK(mount("none", P("w"), "tmpfs", 0, NULL) == 0);
    printf("remount ro: %s\n", res(mount(NULL, P("w"), NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    printf("create: %s\n", creat_res(P("w/x")));
    show_mounts("remount ro");
    printf("remount rw: %s\n", res(mount(NULL, P("w"), NULL, MS_REMOUNT, NULL)));
    printf("create: %s\n", creat_res(P("w/x")));
    printf("remount non-root: %s\n", res(mount(NULL, P("r"), NULL, MS_REMOUNT, NULL)));
    CHECK(umount2(P("w"), 0) == 0);
    printf("mount ro: %s\n", res(mount("none", P("w"), "tmpfs", MS_RDONLY, NULL)));
    printf("create: %s\n", creat_res(P("w/x")));
    show_mounts("mount ro");
    CHECK(umount2(P("w"), 0) == 0);
}

static void proc_and_sys(void)
{
    CHECK(mkdir(P("p"), 0755) == 0 && mkdir(P("s"), 0755) == 0);
    printf("mount proc: %s\n", res(mount("proc", P("p"), "proc", MS_NOSUID, NULL)));
    printf("p/meminfo: %s\n", res(access(P("p/meminfo"), R_OK)));
    printf("p/self/status: %s\n", res(access(P("p/self/status"), R_OK)));
    printf("mount sysfs: %s\n", res(mount("sysfs", P("s"), "sysfs", 0, NULL)));
    printf("s/devices: %s\n", res(access(P("s/devices"), F_OK)));
    struct statfs sf;
    CHECK(statfs(P("p"), &sf) == 0);
    printf("proc magic: %d\n", sf.f_type == 0x9fa0);
    printf("bad proc option: %s\n", res(mount("proc", P("s"), "proc", 0, "bogus")));
    CHECK(umount2(P("p"), 0) == 0 && umount2(P("s"), 0) == 0);
}

int main(void)
{
    if (geteuid() != 0)
        guest_skip("needs root");
    if (unshare(CLONE_NEWNS) == 0) {
        /* natively: keep every mount below in this namespace */
        CHECK(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    } else if (errno != ENOSYS && errno != EINVAL) {
        guest_skip("unshare(CLONE_NEWNS) refused");
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(base, sizeof(base), "/tmp/fs_mount.%d", getpid());
    CHECK(mkdir(base, 0755) == 0);
    printf("mount base: %s\n", res(mount("testbase", base, "tmpfs", 0, "mode=755")));

    tmpfs_basics();
    tmpfs_limits();
    bind_mounts();
    recursive_and_move();
    mount_flags();
    proc_and_sys();

    CHECK(mkdir(P("keep"), 0755) == 0);
    CHECK(mount("none", P("keep"), "tmpfs", 0, NULL) == 0);
    show_mounts("at the end");
    printf("umount base busy: %s\n", res(umount2(base, 0)));
    printf("umount base detach: %s\n", res(umount2(base, MNT_DETACH)));
    CHECK(rmdir(base) == 0);
    return 0;
}
