/* goferfs: a real Gofer (gofer_main in a forked child, chrooted into a temporary
 * directory under its seccomp filter) driven through goferfs's inode operations, with
 * the results checked against the host. Also: escapes are refused, read-only mode,
 * malformed messages on the raw socket, and a Gofer that dies. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gofer/gofer.h"
#include "gofer/proto.h"
#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/fs/goferfs.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

static char g_dir[64];
static pid_t g_pid;
static struct superblock *g_sb;
static struct inode *g_root;

static const char HELLO[] = "hello world\n";

static void host_path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", g_dir, rel);
}

static void write_host(const char *rel, const void *data, size_t len)
{
    char p[256];
    host_path(p, sizeof(p), rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* the tree every test starts from */
static void populate(void)
{
    char p[256];
    write_host("hello", HELLO, sizeof(HELLO) - 1);
    char big[PAGE_SIZE + 100];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    write_host("big", big, sizeof(big));
    host_path(p, sizeof(p), "sub");
    mkdir(p, 0755);
    write_host("sub/inner", "x", 1);
    host_path(p, sizeof(p), "etc");
    symlink("/etc", p);
    host_path(p, sizeof(p), "up");
    symlink("../../", p);
    host_path(p, sizeof(p), "empty");
    mkdir(p, 0700);
}

/* start_gofer: a Gofer child on a fresh socket; returns the parent's end */
static int start_gofer(int readonly)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    g_pid = fork();
    cr_assert_geq(g_pid, 0);
    if (g_pid == 0) {
        close(sv[0]);
        _exit(gofer_main(g_dir, sv[1], readonly));
    }
    close(sv[1]);
    return sv[0];
}

static void setup(int readonly)
{
    strcpy(g_dir, "/tmp/goferfs.XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    populate();
    int sock = start_gofer(readonly);
    int err = 0;
    g_sb = goferfs_new(sock, readonly, &g_root, &err);
    cr_assert_not_null(g_sb, "goferfs_new: %d", err);
}

static void setup_rw(void) { setup(0); }
static void setup_ro(void) { setup(1); }

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static void teardown(void)
{
    if (g_pid > 0) {
        /* the Gofer must have survived the test (no SIGSYS from its filter) */
        int status;
        pid_t r = waitpid(g_pid, &status, WNOHANG);
        if (r == g_pid && WIFSIGNALED(status))
            cr_log_error("gofer died of signal %d", WTERMSIG(status));
        cr_expect_eq(r, 0, "the gofer exited during the test");
        kill(g_pid, SIGKILL);
        waitpid(g_pid, NULL, 0);
    }
    nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(goferfs, .init = setup_rw, .fini = teardown);
TestSuite(goferfs_ro, .init = setup_ro, .fini = teardown);

/* ---- helpers ---- */

static struct inode *lookup(struct inode *dir, const char *name)
{
    struct inode *out = NULL;
    int err = dir->ops->lookup(dir, name, &out);
    cr_assert_eq(err, 0, "lookup %s: %d", name, err);
    return out;
}

static int lookup_err(struct inode *dir, const char *name)
{
    struct inode *out = NULL;
    int err = dir->ops->lookup(dir, name, &out);
    if (err == 0)
        inode_put(out);
    return err;
}

static struct inode *create(struct inode *dir, const char *name, uint32_t mode,
                            const char *target, int *err)
{
    struct new_node nn = { .mode = mode, .uid = 1234, .gid = 5678, .target = target };
    struct inode *out = NULL;
    *err = dir->ops->create(dir, name, &nn, &out);
    return out;
}

static int host_lstat(const char *rel, struct stat *st)
{
    char p[256];
    host_path(p, sizeof(p), rel);
    return lstat(p, st);
}

static struct file *open_file(struct inode *ino, int flags, int *err)
{
    struct file *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->pos_mu, NULL);
    f->inode = ino;
    f->flags = (unsigned)flags;
    *err = ino->ops->open(ino, f, flags);
    if (*err < 0) {
        free(f);
        return NULL;
    }
    return f;
}

static void close_file(struct file *f)
{
    if (f->ops->release)
        f->ops->release(f);
    free(f);
}

/* ---- lookups and attributes ---- */

Test(goferfs, lookup_stat_matches_host)
{
    const char *names[] = { "hello", "big", "sub", "etc", "empty" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct inode *ino = lookup(g_root, names[i]);
        struct stat st, h;
        cr_assert_eq(inode_stat(ino, &st), 0);
        cr_assert_eq(host_lstat(names[i], &h), 0);
        cr_assert_eq(st.st_ino, h.st_ino, "%s", names[i]);
        cr_assert_eq(st.st_mode, h.st_mode, "%s", names[i]);
        cr_assert_eq(st.st_nlink, h.st_nlink, "%s", names[i]);
        cr_assert_eq(st.st_uid, h.st_uid);
        cr_assert_eq(st.st_gid, h.st_gid);
        cr_assert_eq(st.st_size, h.st_size, "%s", names[i]);
        cr_assert_eq(st.st_blocks, h.st_blocks, "%s", names[i]);
        cr_assert_eq(st.st_mtim.tv_sec, h.st_mtim.tv_sec);
        cr_assert_eq(st.st_mtim.tv_nsec, h.st_mtim.tv_nsec);
        cr_assert_eq(st.st_ctim.tv_nsec, h.st_ctim.tv_nsec);
        cr_assert_eq(st.st_dev, g_sb->dev);
        inode_put(ino);
    }
    struct inode *sub = lookup(g_root, "sub");
    struct inode *inner = lookup(sub, "inner");
    cr_assert_eq(inner->size, 1);
    cr_assert_eq(lookup_err(sub, "nope"), -ENOENT);
    cr_assert_eq(lookup_err(inner, "x"), -ENOTDIR);
    inode_put(inner);
    inode_put(sub);
    cr_assert_eq(lookup_err(g_root, "missing"), -ENOENT);
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    cr_assert_eq(lookup_err(g_root, longname), -ENAMETOOLONG);
}

Test(goferfs, statfs_matches_host)
{
    struct statfs a, h;
    cr_assert_eq(g_root->ops->statfs(g_root, &a), 0);
    cr_assert_eq(statfs(g_dir, &h), 0);
    cr_assert_eq(a.f_type, h.f_type);
    cr_assert_eq(a.f_bsize, h.f_bsize);
    cr_assert_eq(a.f_namelen, h.f_namelen);
}

/* ---- escapes ---- */

Test(goferfs, symlinks_are_not_followed)
{
    struct inode *etc = lookup(g_root, "etc");
    cr_assert(S_ISLNK(etc->mode));
    char buf[64];
    int n = etc->ops->readlink(etc, buf, sizeof(buf));
    cr_assert_eq(n, 4);
    cr_assert(memcmp(buf, "/etc", 4) == 0);
    /* the Gofer does not walk through it to the host's /etc (nor its own) */
    cr_assert_eq(lookup_err(etc, "passwd"), -ENOTDIR);
    int err;
    cr_assert_null(open_file(etc, O_RDONLY, &err));
    cr_assert_eq(err, -ELOOP);
    char page[PAGE_SIZE];
    cr_assert_lt(etc->ops->fill_page(etc, 0, page), 0);
    inode_put(etc);

    struct inode *up = lookup(g_root, "up");
    cr_assert(S_ISLNK(up->mode));
    n = up->ops->readlink(up, buf, sizeof(buf));
    cr_assert_eq(n, 6);
    cr_assert(memcmp(buf, "../../", 6) == 0);
    cr_assert_eq(lookup_err(up, "tmp"), -ENOTDIR);
    /* readlink into a short buffer: truncated, as Linux */
    cr_assert_eq(up->ops->readlink(up, buf, 2), 2);
    inode_put(up);
}

Test(goferfs, dot_dot_and_slashes_refused)
{
    struct inode *sub = lookup(g_root, "sub");
    const char *bad[] = { "..", ".", "", "a/b", "sub/inner", "/etc", "../.." };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(lookup_err(g_root, bad[i]), -EINVAL, "%s", bad[i]);
        cr_assert_eq(lookup_err(sub, bad[i]), -EINVAL, "%s", bad[i]);
    }
    int err;
    cr_assert_null(create(g_root, "../evil", S_IFREG | 0644, NULL, &err));
    cr_assert_eq(err, -EINVAL);
    cr_assert_null(create(g_root, "..", S_IFDIR | 0755, NULL, &err));
    cr_assert_eq(err, -EINVAL);
    cr_assert_eq(g_root->ops->rename(g_root, "hello", sub, "../x", 0), -EINVAL);
    cr_assert_eq(g_root->ops->unlink(g_root, "sub/inner", NULL), -EINVAL);
    inode_put(sub);
    struct stat st;
    cr_assert_eq(host_lstat("../evil", &st), -1);
}

/* ---- changing the tree ---- */

Test(goferfs, create_kinds_and_owner)
{
    int err;
    struct inode *f = create(g_root, "new", S_IFREG | 0640, NULL, &err);
    cr_assert_eq(err, 0);
    struct stat h;
    cr_assert_eq(host_lstat("new", &h), 0);
    cr_assert(S_ISREG(h.st_mode));
    cr_assert_eq(h.st_mode & 07777, 0640);
    cr_assert_eq(h.st_uid, 1234);
    cr_assert_eq(h.st_gid, 5678);
    cr_assert_eq(f->ino, h.st_ino);
    cr_assert_eq(f->uid, 1234);
    cr_assert_null(create(g_root, "new", S_IFREG | 0640, NULL, &err));
    cr_assert_eq(err, -EEXIST);
    inode_put(f);

    struct inode *d = create(g_root, "dir", S_IFDIR | 0750, NULL, &err);
    cr_assert_eq(err, 0);
    cr_assert(S_ISDIR(d->mode));
    cr_assert_eq(host_lstat("dir", &h), 0);
    cr_assert(S_ISDIR(h.st_mode) && (h.st_mode & 07777) == 0750 && h.st_uid == 1234);
    struct inode *in = create(d, "in", S_IFREG | 0600, NULL, &err);
    cr_assert_eq(err, 0);
    inode_put(in);
    cr_assert_null(create(g_root, "dir", S_IFDIR | 0750, NULL, &err));
    cr_assert_eq(err, -EEXIST);
    inode_put(d);

    struct inode *l = create(g_root, "lnk", S_IFLNK | 0777, "hello", &err);
    cr_assert_eq(err, 0);
    cr_assert(S_ISLNK(l->mode));
    char buf[16];
    cr_assert_eq(l->ops->readlink(l, buf, sizeof(buf)), 5);
    cr_assert_eq(host_lstat("lnk", &h), 0);
    cr_assert(S_ISLNK(h.st_mode) && h.st_uid == 1234);
    inode_put(l);

    struct inode *p = create(g_root, "fifo", S_IFIFO | 0600, NULL, &err);
    cr_assert_eq(err, 0);
    cr_assert_eq(host_lstat("fifo", &h), 0);
    cr_assert(S_ISFIFO(h.st_mode));
    /* the Gofer never opens FIFOs (it would block): the Sentry has its own pipes */
    cr_assert_null(open_file(p, O_RDONLY, &err));
    cr_assert_eq(err, -ENXIO);
    inode_put(p);
    struct inode *s = create(g_root, "sock", S_IFSOCK | 0600, NULL, &err);
    cr_assert_eq(err, 0);
    cr_assert_eq(host_lstat("sock", &h), 0);
    cr_assert(S_ISSOCK(h.st_mode));
    inode_put(s);

    /* no device nodes on the host */
    cr_assert_null(create(g_root, "null", S_IFCHR | 0666, NULL, &err));
    cr_assert_eq(err, -EPERM);
    cr_assert_null(create(g_root, "blk", S_IFBLK | 0666, NULL, &err));
    cr_assert_eq(err, -EPERM);
    cr_assert_eq(host_lstat("null", &h), -1);

    struct inode *file = lookup(g_root, "hello");
    cr_assert_null(create(file, "x", S_IFREG | 0644, NULL, &err));
    cr_assert_eq(err, -ENOTDIR);
    inode_put(file);
}

Test(goferfs, link_unlink_rmdir)
{
    struct inode *hello = lookup(g_root, "hello");
    cr_assert_eq(hello->nlink, 1);
    cr_assert_eq(g_root->ops->link(g_root, "hello2", hello), 0);
    cr_assert_eq(hello->nlink, 2);
    struct stat h, h2;
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_eq(host_lstat("hello2", &h2), 0);
    cr_assert_eq(h.st_ino, h2.st_ino);
    cr_assert_eq(g_root->ops->link(g_root, "hello2", hello), -EEXIST);
    struct inode *sub = lookup(g_root, "sub");
    cr_assert_eq(g_root->ops->link(g_root, "subl", sub), -EPERM);

    struct inode *h2i = lookup(g_root, "hello2");
    cr_assert_eq(g_root->ops->unlink(g_root, "hello2", h2i), 0);
    cr_assert_eq(host_lstat("hello2", &h2), -1);
    struct stat st;
    cr_assert_eq(inode_stat(hello, &st), 0);
    cr_assert_eq(st.st_nlink, 2, "cached: this inode was not told");
    cr_assert_eq(inode_stat(h2i, &st), 0);
    cr_assert_eq(st.st_nlink, 1, "refreshed after our unlink");
    inode_put(h2i);
    cr_assert_eq(g_root->ops->unlink(g_root, "hello2", NULL), -ENOENT);

    cr_assert_eq(g_root->ops->rmdir(g_root, "sub", sub), -ENOTEMPTY);
    cr_assert_eq(g_root->ops->rmdir(g_root, "hello", hello), -ENOTDIR);
    cr_assert_eq(g_root->ops->unlink(g_root, "sub", sub), -EISDIR);
    cr_assert_eq(g_root->ops->rmdir(g_root, "nothing", NULL), -ENOENT);
    struct inode *empty = lookup(g_root, "empty");
    cr_assert_eq(g_root->ops->rmdir(g_root, "empty", empty), 0);
    cr_assert_eq(host_lstat("empty", &st), -1);
    inode_put(empty);
    inode_put(sub);
    inode_put(hello);
}

Test(goferfs, rename)
{
    struct inode *sub = lookup(g_root, "sub");
    cr_assert_eq(g_root->ops->rename(g_root, "hello", sub, "moved", 0), 0);
    struct stat st;
    cr_assert_eq(host_lstat("hello", &st), -1);
    cr_assert_eq(host_lstat("sub/moved", &st), 0);
    cr_assert_eq(g_root->ops->rename(g_root, "hello", sub, "x", 0), -ENOENT);
    cr_assert_eq(sub->ops->rename(sub, "moved", sub, "inner", RENAME_NOREPLACE), -EEXIST);
    cr_assert_eq(sub->ops->rename(sub, "moved", sub, "inner", RENAME_EXCHANGE), 0);
    cr_assert_eq(host_lstat("sub/inner", &st), 0);
    cr_assert_eq(st.st_size, (off_t)sizeof(HELLO) - 1);
    /* a directory over a non-empty directory */
    struct inode *empty = lookup(g_root, "empty");
    cr_assert_eq(g_root->ops->rename(g_root, "empty", g_root, "sub", 0), -ENOTEMPTY);
    cr_assert_eq(g_root->ops->rename(g_root, "sub", empty, "x", 0), 0);
    cr_assert_eq(host_lstat("empty/x/inner", &st), 0);
    /* a walk through a fid whose directory moved still works */
    struct inode *inner = lookup(sub, "inner");
    inode_put(inner);
    inode_put(empty);
    inode_put(sub);
}

Test(goferfs, setattr)
{
    struct inode *hello = lookup(g_root, "hello");
    struct iattr ia = { .valid = ATTR_MODE | ATTR_UID | ATTR_GID, .mode = 0600,
                        .uid = 42, .gid = 43 };
    cr_assert_eq(hello->ops->setattr(hello, &ia), 0);
    struct stat h;
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_eq(h.st_mode & 07777, 0600);
    cr_assert_eq(h.st_uid, 42);
    cr_assert_eq(h.st_gid, 43);
    cr_assert_eq(hello->mode & 07777, 0600);
    cr_assert_eq(hello->uid, 42);

    ia = (struct iattr){ .valid = ATTR_SIZE, .size = 3 };
    cr_assert_eq(hello->ops->setattr(hello, &ia), 0);
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_eq(h.st_size, 3);
    cr_assert_eq(hello->size, 3);

    ia = (struct iattr){ .valid = ATTR_ATIME | ATTR_MTIME, .atime = { 1000, 5 },
                         .mtime = { 2000, UTIME_OMIT } };
    cr_assert_eq(hello->ops->setattr(hello, &ia), 0);
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_eq(h.st_atim.tv_sec, 1000);
    cr_assert_eq(h.st_atim.tv_nsec, 5);
    cr_assert_neq(h.st_mtim.tv_sec, 2000);
    ia = (struct iattr){ .valid = ATTR_MTIME, .mtime = { 0, UTIME_NOW } };
    cr_assert_eq(hello->ops->setattr(hello, &ia), 0);
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_geq(h.st_mtim.tv_sec, time(NULL) - 5);
    cr_assert_eq(hello->mtime.tv_sec, h.st_mtim.tv_sec);

    struct inode *sub = lookup(g_root, "sub");
    ia = (struct iattr){ .valid = ATTR_SIZE, .size = 0 };
    cr_assert_eq(sub->ops->setattr(sub, &ia), -EISDIR);
    struct inode *etc = lookup(g_root, "etc");
    ia = (struct iattr){ .valid = ATTR_MODE, .mode = 0600 };
    cr_assert_eq(etc->ops->setattr(etc, &ia), -EOPNOTSUPP);
    /* the symlink's own times, not /etc's */
    struct stat before;
    cr_assert_eq(stat("/etc", &before), 0);
    ia = (struct iattr){ .valid = ATTR_MTIME, .mtime = { 12345, 0 } };
    cr_assert_eq(etc->ops->setattr(etc, &ia), 0);
    cr_assert_eq(host_lstat("etc", &h), 0);
    cr_assert_eq(h.st_mtim.tv_sec, 12345);
    struct stat after;
    cr_assert_eq(stat("/etc", &after), 0);
    cr_assert_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    inode_put(etc);
    inode_put(sub);
    inode_put(hello);
}

/* ---- directories ---- */

struct collect {
    struct dir_emit e;
    char names[64][256];
    uint64_t inos[64];
    int n;
    int room;   /* entries to take before saying "full" */
};

static int collect_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                        unsigned type, int64_t next_pos)
{
    (void)type; (void)next_pos;
    struct collect *c = (struct collect *)e;
    if (c->room == 0 || c->n == 64)
        return 1;
    c->room--;
    memcpy(c->names[c->n], name, len);
    c->names[c->n][len] = 0;
    c->inos[c->n++] = ino;
    return 0;
}

static int has_name(const struct collect *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return 1;
    return 0;
}

Test(goferfs, getdents_matches_host)
{
    int err;
    struct file *f = open_file(g_root, O_RDONLY | O_DIRECTORY, &err);
    cr_assert_not_null(f, "%d", err);
    struct collect c = { .e.emit = collect_emit, .room = -1 };
    cr_assert_eq(f->ops->iterate(f, &c.e), 0);
    DIR *d = opendir(g_dir);
    int host_n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        cr_assert(has_name(&c, de->d_name), "missing %s", de->d_name);
        host_n++;
    }
    closedir(d);
    cr_assert_eq(c.n, host_n);
    /* the root's ".." is the root itself, not the host directory above it */
    for (int i = 0; i < c.n; i++)
        if (strcmp(c.names[i], "..") == 0)
            cr_assert_eq(c.inos[i], g_root->ino);
    /* at the end: nothing more */
    int before = c.n;
    cr_assert_eq(f->ops->iterate(f, &c.e), 0);
    cr_assert_eq(c.n, before);

    /* one entry at a time, resuming from f->pos: the same listing */
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_SET), 0);
    struct collect one = { .e.emit = collect_emit };
    for (int i = 0; i < 100; i++) {
        one.room = 1;
        int n = one.n;
        cr_assert_eq(f->ops->iterate(f, &one.e), 0);
        if (one.n == n)
            break;
    }
    cr_assert_eq(one.n, c.n);
    for (int i = 0; i < c.n; i++)
        cr_assert_str_eq(one.names[i], c.names[i]);
    close_file(f);

    /* many entries: more than one GETDENTS reply */
    struct inode *sub = lookup(g_root, "sub");
    for (int i = 0; i < 150; i++) {
        char name[32];
        snprintf(name, sizeof(name), "file-%03d", i);
        struct inode *x = create(sub, name, S_IFREG | 0644, NULL, &err);
        cr_assert_eq(err, 0);
        inode_put(x);
    }
    f = open_file(sub, O_RDONLY, &err);
    int total = 0;
    for (;;) {
        struct collect many = { .e.emit = collect_emit, .room = -1 };
        cr_assert_eq(f->ops->iterate(f, &many.e), 0);
        if (many.n == 0)
            break;
        total += many.n;
    }
    cr_assert_eq(total, 150 + 3);   /* ., .., inner */
    close_file(f);
    inode_put(sub);
}

/* ---- file data ---- */

Test(goferfs, open_read_fill_page)
{
    struct inode *hello = lookup(g_root, "hello");
    int err;
    struct file *f = open_file(hello, O_RDONLY, &err);
    cr_assert_not_null(f, "%d", err);
    int fd = goferfs_file_host_fd(f);
    cr_assert_geq(fd, 0);
    char buf[64] = { 0 };
    cr_assert_eq(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(HELLO) - 1);
    cr_assert_str_eq(buf, HELLO);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    cr_assert_eq(f->ops->llseek(f, -2, SEEK_END), (int64_t)sizeof(HELLO) - 3);
    cr_assert_eq(f->pos, (int64_t)sizeof(HELLO) - 3);
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_DATA), 0);
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_HOLE), (int64_t)sizeof(HELLO) - 1);
    struct stat st;
    cr_assert_eq(f->ops->stat(f, &st), 0);
    cr_assert_eq(st.st_size, (off_t)sizeof(HELLO) - 1);
    close_file(f);

    char *page = malloc(PAGE_SIZE);
    memset(page, 0xff, PAGE_SIZE);
    cr_assert_eq(hello->ops->fill_page(hello, 0, page), 0);
    cr_assert(memcmp(page, HELLO, sizeof(HELLO) - 1) == 0);
    for (size_t i = sizeof(HELLO) - 1; i < PAGE_SIZE; i++)
        cr_assert_eq(page[i], 0);
    inode_put(hello);

    struct inode *big = lookup(g_root, "big");
    cr_assert_eq(big->ops->fill_page(big, 1, page), 0);
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(page[i], (char)('a' + (PAGE_SIZE + i) % 26));
    cr_assert_eq(page[100], 0);
    cr_assert_eq(big->ops->fill_page(big, 7, page), 0);   /* past the end: zeroes */
    cr_assert_eq(page[0], 0);

    /* write_page goes to the host file */
    memcpy(page, "PAGE", 4);
    cr_assert_eq(big->ops->write_page(big, 0, page, 4), 0);
    char hb[8] = { 0 };
    char p[256];
    host_path(p, sizeof(p), "big");
    int hfd = open(p, O_RDONLY);
    cr_assert_eq(pread(hfd, hb, 4, 0), 4);
    close(hfd);
    cr_assert_str_eq(hb, "PAGE");
    free(page);
    inode_put(big);

    struct inode *sub = lookup(g_root, "sub");
    cr_assert_null(open_file(sub, O_RDWR, &err));
    cr_assert_eq(err, -EISDIR);
    inode_put(sub);
}

Test(goferfs, open_write)
{
    struct inode *hello = lookup(g_root, "hello");
    int err;
    struct file *f = open_file(hello, O_WRONLY | O_APPEND | O_TRUNC, &err);
    cr_assert_not_null(f, "%d", err);
    int fd = goferfs_file_host_fd(f);
    /* the host fd is the inode's shared read-write one (every transfer names its
     * offset), not O_APPEND (goferfs appends itself), and did not truncate (the VFS
     * does that with setattr) */
    cr_assert_eq(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR);
    struct file *again = open_file(hello, O_RDONLY, &err);
    cr_assert_not_null(again, "%d", err);
    cr_assert_eq(goferfs_file_host_fd(again), fd, "a second open shares the fd");
    close_file(again);
    struct file *sync = open_file(hello, O_WRONLY | O_SYNC, &err);
    cr_assert_not_null(sync, "%d", err);
    cr_assert_neq(goferfs_file_host_fd(sync), fd, "O_SYNC gets its own fd");
    cr_assert(fcntl(goferfs_file_host_fd(sync), F_GETFL) & O_SYNC);
    close_file(sync);
    cr_assert_eq(pwrite(fd, "more", 4, (off_t)sizeof(HELLO) - 1), 4);
    cr_assert_eq(f->ops->fsync(f, 0), 0);
    cr_assert_eq(f->ops->fsync(f, 1), 0);
    close_file(f);
    struct stat h;
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_eq(h.st_size, (off_t)sizeof(HELLO) + 3);
    inode_put(hello);

    /* a created file comes with a host fd kept for page I/O */
    struct inode *n = create(g_root, "made", S_IFREG | 0644, NULL, &err);
    cr_assert_eq(err, 0);
    char page[PAGE_SIZE] = "data";
    cr_assert_eq(n->ops->write_page(n, 0, page, 4), 0);
    cr_assert_eq(host_lstat("made", &h), 0);
    cr_assert_eq(h.st_size, 4);
    struct stat st;
    cr_assert_eq(inode_stat(n, &st), 0);
    cr_assert_eq(st.st_size, 4, "refreshed after our write");
    inode_put(n);
}

/* fallocate and SEEK_DATA/SEEK_HOLE go to the host fd; data through a Sentry buffer
 * (sendfile's and splice's uio) takes the host fd directly too */
Test(goferfs, fallocate_seek_kernel_io)
{
    int err;
    struct inode *n = create(g_root, "sparse", S_IFREG | 0644, NULL, &err);
    cr_assert_eq(err, 0);
    struct file *f = open_file(n, O_RDWR, &err);
    cr_assert_not_null(f, "%d", err);
    static char buf[3 * 65536];
    memset(buf, 'x', sizeof(buf));
    struct uio u = uio_kernel(buf, sizeof(buf));
    int64_t pos = 0;
    cr_assert_eq(f->ops->write(f, &u, &pos), (ssize_t)sizeof(buf));
    cr_assert_eq(pos, (int64_t)sizeof(buf));
    cr_assert_eq(f->ops->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536,
                                   65536), 0);
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_HOLE), 65536);
    cr_assert_eq(f->ops->llseek(f, 65536, SEEK_DATA), 2 * 65536);
    cr_assert_eq(f->ops->llseek(f, (int64_t)sizeof(buf), SEEK_DATA), -ENXIO);
    memset(buf, '?', sizeof(buf));
    u = uio_kernel(buf, sizeof(buf));
    pos = 0;
    cr_assert_eq(f->ops->read(f, &u, &pos), (ssize_t)sizeof(buf));
    cr_assert(buf[0] == 'x' && buf[65536] == 0 && buf[2 * 65536 - 1] == 0 &&
              buf[2 * 65536] == 'x');
    cr_assert_eq(f->ops->fallocate(f, 0, 0, 300000), 0);
    struct stat st, h;
    cr_assert_eq(inode_stat(n, &st), 0);
    cr_assert_eq(host_lstat("sparse", &h), 0);
    cr_assert_eq(st.st_size, 300000);
    cr_assert_eq(h.st_size, 300000);
    cr_assert_eq(f->ops->fallocate(f, FALLOC_FL_KEEP_SIZE, 0, 400000), 0);
    cr_assert_eq(inode_stat(n, &st), 0);
    cr_assert_eq(st.st_size, 300000);
    close_file(f);
    inode_put(n);
}

/* ---- read and write through guest memory (an mm on a platform that maps nothing) */

static char g_fake_as[8];
static struct plat_as *fake_as_create(int *err) { (void)err; return (struct plat_as *)g_fake_as; }
static void fake_as_destroy(struct plat_as *as) { (void)as; }
static int fake_map(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t off)
{
    (void)as; (void)va; (void)len; (void)prot; (void)off;
    return 0;
}
static int fake_unmap(struct plat_as *as, gva_t va, uint64_t len)
{
    (void)as; (void)va; (void)len;
    return 0;
}
static int fake_protect(struct plat_as *as, gva_t va, uint64_t len, int prot)
{
    (void)as; (void)va; (void)len; (void)prot;
    return 0;
}
static int fake_reserved(uint64_t va, uint64_t len) { (void)va; (void)len; return 0; }
static const struct platform_ops g_fake_plat = {
    .name = "fake", .as_create = fake_as_create, .as_destroy = fake_as_destroy,
    .map = fake_map, .unmap = fake_unmap, .protect = fake_protect,
    .user_max = 0x7ffffffff000ULL, .reserved = fake_reserved,
};

Test(goferfs, read_write_guest_memory)
{
    g_plat = &g_fake_plat;
    cr_assert_eq(memfile_init(1ULL << 28), 0);
    int err;
    struct mm *mm = mm_create(&err);
    cr_assert_not_null(mm, "%d", err);
    int64_t addr = mm_mmap(mm, 0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS);
    cr_assert_gt(addr, 0);

    /* read "big" (a page and 100 bytes) into two guest iovecs */
    struct inode *big = lookup(g_root, "big");
    struct file *f = open_file(big, O_RDWR, &err);
    cr_assert_not_null(f, "%d", err);
    struct guest_iovec iov[2] = { { { (uint64_t)addr }, 10 },
                                  { { (uint64_t)addr + PAGE_SIZE }, 2 * PAGE_SIZE } };
    struct uio u = { .mm = mm, .iov = iov, .iovcnt = 2, .size = 10 + 2 * PAGE_SIZE };
    int64_t pos = 0;
    ssize_t n = f->ops->read(f, &u, &pos);
    cr_assert_eq(n, (ssize_t)(PAGE_SIZE + 100));
    cr_assert_eq(pos, (int64_t)(PAGE_SIZE + 100));
    char got[PAGE_SIZE + 100];
    cr_assert_eq(mm_copy_in(mm, got, (uint64_t)addr, 10), 0);
    cr_assert_eq(mm_copy_in(mm, got + 10, (uint64_t)addr + PAGE_SIZE, PAGE_SIZE + 90), 0);
    for (size_t i = 0; i < sizeof(got); i++)
        cr_assert_eq(got[i], (char)('a' + i % 26), "byte %zu", i);
    /* at the end of the file */
    cr_assert_eq(f->ops->read(f, &u, &pos), 0);

    /* write from guest memory past the end: the file grows, on the host too */
    cr_assert_eq(mm_copy_out(mm, (uint64_t)addr, "GUEST", 5, 0), 0);
    struct guest_iovec wiov = { { (uint64_t)addr }, 5 };
    struct uio w = { .mm = mm, .iov = &wiov, .iovcnt = 1, .size = 5 };
    pos = 2 * PAGE_SIZE;
    cr_assert_eq(f->ops->write(f, &w, &pos), 5);
    cr_assert_eq(pos, (int64_t)(2 * PAGE_SIZE + 5));
    cr_assert_eq(big->size, (int64_t)(2 * PAGE_SIZE + 5));
    struct stat h;
    cr_assert_eq(host_lstat("big", &h), 0);
    cr_assert_eq(h.st_size, (off_t)(2 * PAGE_SIZE + 5));
    /* O_APPEND: at the host file's end, whatever the position */
    f->flags |= O_APPEND;
    pos = 0;
    cr_assert_eq(f->ops->write(f, &w, &pos), 5);
    cr_assert_eq(pos, (int64_t)(2 * PAGE_SIZE + 10));
    /* a bad guest address */
    struct guest_iovec bad = { { 0x1000 }, 5 };
    struct uio b = { .mm = mm, .iov = &bad, .iovcnt = 1, .size = 5 };
    cr_assert_eq(f->ops->read(f, &b, &pos), -EFAULT);
    close_file(f);
    inode_put(big);
    mm_put(mm);
}

/* ---- read-only ---- */

Test(goferfs_ro, mutations_are_erofs)
{
    int err;
    cr_assert_eq(g_sb->flags & SB_RDONLY, SB_RDONLY);
    struct inode *hello = lookup(g_root, "hello");
    cr_assert_null(create(g_root, "new", S_IFREG | 0644, NULL, &err));
    cr_assert_eq(err, -EROFS);
    cr_assert_null(create(g_root, "d", S_IFDIR | 0755, NULL, &err));
    cr_assert_eq(err, -EROFS);
    cr_assert_null(create(g_root, "l", S_IFLNK | 0777, "x", &err));
    cr_assert_eq(err, -EROFS);
    cr_assert_null(create(g_root, "p", S_IFIFO | 0644, NULL, &err));
    cr_assert_eq(err, -EROFS);
    cr_assert_eq(g_root->ops->link(g_root, "h2", hello), -EROFS);
    cr_assert_eq(g_root->ops->unlink(g_root, "hello", hello), -EROFS);
    cr_assert_eq(g_root->ops->rmdir(g_root, "empty", NULL), -EROFS);
    cr_assert_eq(g_root->ops->rename(g_root, "hello", g_root, "x", 0), -EROFS);
    struct iattr ia = { .valid = ATTR_MODE, .mode = 0777 };
    cr_assert_eq(hello->ops->setattr(hello, &ia), -EROFS);
    cr_assert_null(open_file(hello, O_RDWR, &err));
    cr_assert_eq(err, -EROFS);
    cr_assert_null(open_file(hello, O_WRONLY, &err));
    cr_assert_eq(err, -EROFS);
    char page[PAGE_SIZE] = { 0 };
    cr_assert_eq(hello->ops->write_page(hello, 0, page, 1), -EROFS);
    /* reading still works */
    struct file *f = open_file(hello, O_RDONLY, &err);
    cr_assert_not_null(f);
    close_file(f);
    cr_assert_eq(hello->ops->fill_page(hello, 0, page), 0);
    cr_assert(memcmp(page, HELLO, sizeof(HELLO) - 1) == 0);
    struct stat h;
    cr_assert_eq(host_lstat("new", &h), -1);
    cr_assert_eq(host_lstat("hello", &h), 0);
    cr_assert_eq(h.st_mode & 07777, 0644);
    inode_put(hello);
}

/* ---- a Gofer that goes away ---- */

Test(goferfs, dead_gofer_is_eio)
{
    struct inode *hello = lookup(g_root, "hello");
    kill(g_pid, SIGKILL);
    waitpid(g_pid, NULL, 0);
    g_pid = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(lookup_err(g_root, "hello"), -EIO);
    cr_assert_eq(lookup_err(g_root, "sub"), -EIO);
    int err;
    cr_assert_null(open_file(hello, O_RDONLY, &err));
    cr_assert_eq(err, -EIO);
    char page[PAGE_SIZE];
    cr_assert_eq(hello->ops->fill_page(hello, 0, page), -EIO);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert_lt(b.tv_sec - a.tv_sec, 2);
    inode_put(hello);   /* evict's CLOSE fails quietly */
}

/* ---- the raw socket: malformed requests get errors, not a dead Gofer ---- */

static int raw_call(int sock, const void *msg, size_t len, struct gp_reply *rp,
                    unsigned char *buf, int *fd)
{
    cr_assert_eq(send(sock, msg, len, 0), (ssize_t)len);
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { buf, GP_MAX_MSG };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl) };
    ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    cr_assert_gt(n, 0);
    *fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof(int));
    return gp_decode_reply(buf, (size_t)n, rp);
}

static void raw_req(int sock, struct gp_req *rq, struct gp_reply *rp, unsigned char *buf,
                    int *fd)
{
    unsigned char out[GP_MAX_MSG];
    int len = gp_encode_req(rq, out, sizeof(out));
    cr_assert_gt(len, 0);
    cr_assert_eq(raw_call(sock, out, (size_t)len, rp, buf, fd), 0);
    cr_assert_eq(rp->tag, rq->tag);
}

Test(goferfs, malformed_requests)
{
    /* a second Gofer on the same tree, spoken to directly */
    pid_t first = g_pid;
    int sock = start_gofer(0);
    pid_t raw_pid = g_pid;
    g_pid = first;
    static unsigned char buf[GP_MAX_MSG];
    struct gp_reply rp;
    int fd;

    unsigned char junk[40];
    memset(junk, 0x5a, sizeof(junk));
    cr_assert_eq(raw_call(sock, junk, sizeof(junk), &rp, buf, &fd), 0);
    cr_assert_eq(rp.type, GP_ERROR);
    cr_assert_eq(rp.err, EINVAL);
    cr_assert_eq(raw_call(sock, junk, 3, &rp, buf, &fd), 0);   /* not even a header */
    cr_assert_eq(rp.err, EINVAL);

    /* a valid header with the tag, then a body that lies about a string */
    struct gp_req rq = { .type = GP_WALK, .tag = 77, .fid = 1, .name = "hello" };
    unsigned char out[GP_MAX_MSG];
    int len = gp_encode_req(&rq, out, sizeof(out));
    out[GP_HDR_SIZE + 4] = 200;
    cr_assert_eq(raw_call(sock, out, (size_t)len, &rp, buf, &fd), 0);
    cr_assert_eq(rp.err, EINVAL);
    cr_assert_eq(rp.tag, 77);

    /* names the encoder would not send, hand-made: "..", "a/" */
    rq = (struct gp_req){ .type = GP_WALK, .tag = 78, .fid = 1, .name = "ab" };
    len = gp_encode_req(&rq, out, sizeof(out));
    memcpy(out + len - 3, "..", 2);
    cr_assert_eq(raw_call(sock, out, (size_t)len, &rp, buf, &fd), 0);
    cr_assert_eq(rp.err, EINVAL);
    cr_assert_eq(rp.tag, 78);
    memcpy(out + len - 3, "a/", 2);
    cr_assert_eq(raw_call(sock, out, (size_t)len, &rp, buf, &fd), 0);
    cr_assert_eq(rp.err, EINVAL);

    /* too big for any message */
    unsigned char *big = calloc(1, GP_MAX_MSG + 100);
    uint32_t sz = GP_MAX_MSG + 100;
    memcpy(big, &sz, 4);
    cr_assert_eq(raw_call(sock, big, GP_MAX_MSG + 100, &rp, buf, &fd), 0);
    cr_assert_eq(rp.err, EINVAL);
    free(big);

    /* unknown fids */
    rq = (struct gp_req){ .type = GP_STAT, .tag = 5, .fid = 999 };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, EBADF);
    rq = (struct gp_req){ .type = GP_CLOSE, .tag = 6, .fid = 0 };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, EBADF);

    /* fds sent to the Gofer are dropped; the request is still served */
    rq = (struct gp_req){ .type = GP_ATTACH, .tag = 8 };
    len = gp_encode_req(&rq, out, sizeof(out));
    char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov = { out, (size_t)len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int zero = 0;
    memcpy(CMSG_DATA(c), &zero, sizeof(int));
    cr_assert_eq(sendmsg(sock, &m, 0), len);
    ssize_t n = recv(sock, buf, GP_MAX_MSG, 0);
    cr_assert_eq(gp_decode_reply(buf, (size_t)n, &rp), 0);
    cr_assert_eq(rp.err, 0);
    uint32_t root = rp.fid;

    /* open: a fid that is a directory for write; a symlink; bad flags */
    rq = (struct gp_req){ .type = GP_OPEN, .tag = 9, .fid = root, .flags = O_RDWR };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, EISDIR);
    rq = (struct gp_req){ .type = GP_WALK, .tag = 10, .fid = root, .name = "etc" };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, 0);
    uint32_t etc = rp.fid;
    rq = (struct gp_req){ .type = GP_OPEN, .tag = 11, .fid = etc, .flags = O_RDONLY };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, ELOOP);
    cr_assert_eq(fd, -1);
    rq = (struct gp_req){ .type = GP_OPEN, .tag = 12, .fid = root,
                          .flags = O_RDONLY | O_CREAT };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, EINVAL);
    rq = (struct gp_req){ .type = GP_UNLINK, .tag = 13, .fid = root, .name = "hello",
                          .flags = 0x1000 };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, EINVAL);
    rq = (struct gp_req){ .type = GP_READLINK, .tag = 14, .fid = etc };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, 0);
    cr_assert_str_eq(rp.target, "/etc");
    rq = (struct gp_req){ .type = GP_CLOSE, .tag = 15, .fid = etc };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, 0);
    rq = (struct gp_req){ .type = GP_READLINK, .tag = 16, .fid = etc };
    raw_req(sock, &rq, &rp, buf, &fd);
    cr_assert_eq(rp.err, EBADF);

    /* still alive; then closing the socket makes it exit 0 */
    int status;
    cr_assert_eq(waitpid(raw_pid, &status, WNOHANG), 0);
    close(sock);
    cr_assert_eq(waitpid(raw_pid, &status, 0), raw_pid);
    cr_assert(WIFEXITED(status), "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    cr_assert_eq(WEXITSTATUS(status), 0);
}

/* ---- the Gofer's confinement, as /proc shows it ---- */

Test(goferfs, gofer_is_confined)
{
    /* one request first, so set-up is surely over */
    cr_assert_eq(lookup_err(g_root, "missing"), -ENOENT);
    char p[64], target[256];
    snprintf(p, sizeof(p), "/proc/%d/root", g_pid);
    ssize_t n = readlink(p, target, sizeof(target) - 1);
    cr_assert_gt(n, 0);
    target[n] = 0;
    cr_assert_str_eq(target, g_dir, "chrooted into the tree");

    snprintf(p, sizeof(p), "/proc/%d/status", g_pid);
    FILE *f = fopen(p, "r");
    char line[256];
    int seccomp = -1;
    while (fgets(line, sizeof(line), f))
        sscanf(line, "Seccomp: %d", &seccomp);
    fclose(f);
    cr_assert_eq(seccomp, 2, "seccomp filter mode");

    /* messages go through an io_uring */
    snprintf(p, sizeof(p), "/proc/%d/fd", g_pid);
    DIR *d = opendir(p);
    int ring = 0;
    for (struct dirent *de; (de = readdir(d));) {
        char fdp[400];
        snprintf(fdp, sizeof(fdp), "%s/%s", p, de->d_name);
        n = readlink(fdp, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = 0;
            ring |= strstr(target, "io_uring") != NULL;
        }
    }
    closedir(d);
    cr_assert(ring, "an io_uring fd");
}
