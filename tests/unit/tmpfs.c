/* tmpfs: namespace operations, link counts, getdents positions, file data and holes,
 * xattrs and running out of memory, all through the inode_ops/file_ops the VFS uses
 * and the host-side data helpers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/mm/memfile.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

#define XATTR_CREATE 0x1
#define XATTR_REPLACE 0x2

static struct superblock *sb;
static struct inode *root;

static void setup(void)
{
    cr_assert_eq(memfile_init(1ULL << 30), 0);
    int err = 0;
    sb = tmpfs_new("tmpfs", S_IFDIR | 01777, 0, 0, &root, &err);
    cr_assert_not_null(sb, "tmpfs_new: %d", err);
}

TestSuite(tmpfs, .init = setup);

/* mk: creates name in dir with mode (a new reference, which the test drops). */
static struct inode *mk(struct inode *dir, const char *name, uint32_t mode)
{
    struct new_node nn = { .mode = mode, .uid = 1, .gid = 2 };
    struct inode *out = NULL;
    int err = dir->ops->create(dir, name, &nn, &out);
    cr_assert_eq(err, 0, "create %s: %d", name, err);
    return out;
}

static int lookup_err(struct inode *dir, const char *name)
{
    struct inode *i = NULL;
    int err = dir->ops->lookup(dir, name, &i);
    if (!err)
        inode_put(i);
    return err;
}

static struct inode *lookup(struct inode *dir, const char *name)
{
    struct inode *i = NULL;
    int err = dir->ops->lookup(dir, name, &i);
    cr_assert_eq(err, 0, "lookup %s: %d", name, err);
    return i;
}

static struct file *open_ino(struct inode *ino, int flags)
{
    struct file *f = file_alloc(NULL, (unsigned)flags, NULL);
    cr_assert_not_null(f);
    f->inode = ino;
    inode_get(ino);
    cr_assert_eq(ino->ops->open(ino, f, flags), 0);
    return f;
}

/* ---- getdents collection ---- */

struct collect {
    struct dir_emit e;
    int room;                  /* entries to take before saying "full" */
    char names[20000][32];
    int64_t pos[20000];
    int n;
};

static int collect_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                        unsigned type, int64_t next_pos)
{
    (void)ino; (void)type;
    struct collect *c = (struct collect *)e;
    if (c->room == 0)
        return 1;
    c->room--;
    cr_assert_lt(len, 32);
    memcpy(c->names[c->n], name, len);
    c->names[c->n][len] = 0;
    c->pos[c->n] = next_pos;
    c->n++;
    return 0;
}

static struct collect *collect_new(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    c->e.emit = collect_emit;
    return c;
}

/* read_some: one getdents call taking at most room entries. */
static int read_some(struct file *f, struct collect *c, int room)
{
    int before = c->n;
    c->room = room;
    cr_assert_eq(f->ops->iterate(f, &c->e), 0);
    return c->n - before;
}

/* ---- namespace ---- */

Test(tmpfs, create_lookup_unlink)
{
    struct inode *f = mk(root, "a", S_IFREG | 0644);
    cr_assert_eq(f->nlink, 1);
    cr_assert_eq(f->uid, 1);
    cr_assert_eq(f->gid, 2);
    cr_assert_eq(f->mode, S_IFREG | 0644);
    struct inode *g = lookup(root, "a");
    cr_assert_eq(g, f);
    inode_put(g);
    cr_assert_eq(lookup_err(root, "b"), -ENOENT);
    struct inode *dummy;
    struct new_node nn = { .mode = S_IFREG | 0600 };
    cr_assert_eq(root->ops->create(root, "a", &nn, &dummy), -EEXIST);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[299] = 0;
    cr_assert_eq(root->ops->create(root, longname, &nn, &dummy), -ENAMETOOLONG);
    cr_assert_eq(root->ops->unlink(root, "a", f), 0);
    cr_assert_eq(f->nlink, 0);
    cr_assert_eq(lookup_err(root, "a"), -ENOENT);
    cr_assert_eq(root->ops->unlink(root, "a", f), -ENOENT);
    inode_put(f);
}

Test(tmpfs, dir_nlink_and_rmdir)
{
    cr_assert_eq(root->nlink, 2);
    struct inode *d = mk(root, "d", S_IFDIR | 0755);
    cr_assert_eq(root->nlink, 3);
    cr_assert_eq(d->nlink, 2);
    struct inode *e = mk(d, "e", S_IFDIR | 0755);
    struct inode *f = mk(d, "f", S_IFREG | 0644);
    cr_assert_eq(d->nlink, 3);
    cr_assert_eq(root->ops->rmdir(root, "d", d), -ENOTEMPTY);
    cr_assert_eq(d->ops->unlink(d, "e", e), -EISDIR);
    cr_assert_eq(d->ops->rmdir(d, "f", f), -ENOTDIR);
    cr_assert_eq(d->ops->rmdir(d, "e", e), 0);
    cr_assert_eq(e->nlink, 0);
    cr_assert_eq(d->nlink, 2);
    /* a removed directory takes no new entries */
    struct inode *x;
    struct new_node nn = { .mode = S_IFREG | 0600 };
    cr_assert_eq(e->ops->create(e, "x", &nn, &x), -ENOENT);
    cr_assert_eq(d->ops->unlink(d, "f", f), 0);
    cr_assert_eq(root->ops->rmdir(root, "d", d), 0);
    cr_assert_eq(root->nlink, 2);
    inode_put(e);
    inode_put(f);
    inode_put(d);
}

Test(tmpfs, hard_links)
{
    struct inode *f = mk(root, "f", S_IFREG | 0644);
    struct inode *d = mk(root, "d", S_IFDIR | 0755);
    cr_assert_eq(root->ops->link(d, "g", f), 0);
    cr_assert_eq(root->ops->link(root, "h", f), 0);
    cr_assert_eq(f->nlink, 3);
    cr_assert_eq(root->ops->link(root, "dd", d), -EPERM);
    cr_assert_eq(root->ops->link(root, "h", f), -EEXIST);
    cr_assert_eq(root->ops->unlink(root, "f", f), 0);
    cr_assert_eq(f->nlink, 2);
    struct inode *g = lookup(d, "g");
    cr_assert_eq(g, f);
    inode_put(g);
    cr_assert_eq(root->ops->unlink(d, "g", f), 0);
    cr_assert_eq(root->ops->unlink(root, "h", f), 0);
    cr_assert_eq(f->nlink, 0);
    /* linkat of an unlinked file fails as on Linux (without O_TMPFILE) */
    cr_assert_eq(root->ops->link(root, "again", f), -ENOENT);
    inode_put(f);
    inode_put(d);
}

Test(tmpfs, symlink_and_special_nodes)
{
    struct new_node nn = { .mode = S_IFLNK | 0777, .target = "/some/where" };
    struct inode *l;
    cr_assert_eq(root->ops->create(root, "l", &nn, &l), 0);
    char buf[64];
    cr_assert_eq(l->ops->readlink(l, buf, sizeof(buf)), 11);
    cr_assert_eq(memcmp(buf, "/some/where", 11), 0);
    cr_assert_eq(l->ops->readlink(l, buf, 4), 4);
    cr_assert_eq(l->size, 11);
    struct inode *c;
    nn = (struct new_node){ .mode = S_IFCHR | 0600, .rdev = makedev(1, 3) };
    cr_assert_eq(root->ops->create(root, "null", &nn, &c), 0);
    cr_assert_eq(c->rdev, makedev(1, 3));
    cr_assert(S_ISCHR(c->mode));
    struct inode *p = mk(root, "fifo", S_IFIFO | 0600);
    struct inode *s = mk(root, "sock", S_IFSOCK | 0600);
    cr_assert_eq(l->ops->readlink(p, buf, sizeof(buf)), -EINVAL);
    inode_put(l);
    inode_put(c);
    inode_put(p);
    inode_put(s);
}

Test(tmpfs, rename_variants)
{
    struct inode *a = mk(root, "a", S_IFREG | 0644);
    struct inode *b = mk(root, "b", S_IFREG | 0644);
    struct inode *d1 = mk(root, "d1", S_IFDIR | 0755);
    struct inode *d2 = mk(root, "d2", S_IFDIR | 0755);
    struct inode *sub = mk(d2, "sub", S_IFREG | 0644);
    cr_assert_eq(root->nlink, 4);

    /* noreplace */
    cr_assert_eq(root->ops->rename(root, "a", root, "b", RENAME_NOREPLACE), -EEXIST);
    /* plain move into another directory */
    cr_assert_eq(root->ops->rename(root, "a", d1, "a2", 0), 0);
    cr_assert_eq(lookup_err(root, "a"), -ENOENT);
    struct inode *t = lookup(d1, "a2");
    cr_assert_eq(t, a);
    inode_put(t);
    /* replace: b's last name goes */
    cr_assert_eq(root->ops->rename(d1, "a2", root, "b", 0), 0);
    cr_assert_eq(b->nlink, 0);
    t = lookup(root, "b");
    cr_assert_eq(t, a);
    inode_put(t);
    /* a non-empty directory cannot be replaced */
    cr_assert_eq(root->ops->rename(root, "d1", root, "d2", 0), -ENOTEMPTY);
    cr_assert_eq(root->ops->rename(root, "b", root, "d1", 0), -EISDIR);
    cr_assert_eq(root->ops->rename(root, "d1", root, "b", 0), -ENOTDIR);
    /* exchange a file and a directory across parents */
    cr_assert_eq(root->ops->rename(root, "b", d2, "sub", RENAME_EXCHANGE), 0);
    t = lookup(root, "b");
    cr_assert_eq(t, sub);
    inode_put(t);
    t = lookup(d2, "sub");
    cr_assert_eq(t, a);
    inode_put(t);
    cr_assert_eq(root->ops->rename(root, "b", root, "zz", RENAME_EXCHANGE), -ENOENT);
    /* exchange a dir with a file in another dir: link counts follow the dir */
    cr_assert_eq(root->ops->rename(root, "d1", d2, "sub", RENAME_EXCHANGE), 0);
    cr_assert_eq(root->nlink, 3);
    cr_assert_eq(d2->nlink, 3);
    /* move the dir back up, replacing an empty dir */
    struct inode *e = mk(root, "empty", S_IFDIR | 0755);
    cr_assert_eq(root->nlink, 4);
    cr_assert_eq(root->ops->rename(d2, "sub", root, "empty", 0), 0);
    cr_assert_eq(e->nlink, 0);
    cr_assert_eq(root->nlink, 4);
    cr_assert_eq(d2->nlink, 2);
    /* renaming onto itself (or a hard link of itself) does nothing */
    cr_assert_eq(root->ops->link(root, "a_link", a), 0);
    cr_assert_eq(root->ops->rename(root, "d1", root, "a_link", 0), 0);
    cr_assert_eq(a->nlink, 2);
    cr_assert_eq(lookup_err(root, "d1"), 0);
    for (struct inode **p = (struct inode *[]){ a, b, d1, d2, sub, e, NULL }; *p; p++)
        inode_put(*p);
}

Test(tmpfs, dotdot_follows_rename)
{
    struct inode *d1 = mk(root, "d1", S_IFDIR | 0755);
    struct inode *d2 = mk(root, "d2", S_IFDIR | 0755);
    struct inode *c = mk(d1, "c", S_IFDIR | 0755);
    cr_assert_eq(root->ops->rename(d1, "c", d2, "c", 0), 0);
    struct file *f = open_ino(c, O_RDONLY | O_DIRECTORY);
    struct collect *col = collect_new();
    read_some(f, col, 100);
    cr_assert_eq(col->n, 2);
    cr_assert_str_eq(col->names[1], "..");
    file_put(f);
    free(col);
    inode_put(d1);
    inode_put(d2);
    inode_put(c);
}

/* ---- getdents ---- */

Test(tmpfs, getdents_10000_entries_stable_positions)
{
    enum { N = 10000 };
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "f%05d", i);
        inode_put(mk(root, name, S_IFREG | 0644));
    }
    struct inode *t = lookup(root, "f07777");
    inode_put(t);
    cr_assert_eq(root->size, 20 * (N + 2));

    struct file *f = open_ino(root, O_RDONLY | O_DIRECTORY);
    struct collect *c = collect_new();
    /* read in chunks of 37 until half way, then change the directory */
    while (c->n < N / 2)
        read_some(f, c, 37);
    int seen_at_change = c->n;
    /* unlink entries already seen and not yet seen, and create new ones */
    for (int i = 0; i < N; i += 3) {
        snprintf(name, sizeof(name), "f%05d", i);
        struct inode *v = lookup(root, name);
        cr_assert_eq(root->ops->unlink(root, name, v), 0);
        inode_put(v);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "new%03d", i);
        inode_put(mk(root, name, S_IFREG | 0644));
    }
    while (read_some(f, c, 37) > 0)
        ;
    /* "." and ".." first, then no duplicates; every survivor seen exactly once */
    cr_assert_str_eq(c->names[0], ".");
    cr_assert_str_eq(c->names[1], "..");
    static char seen[N];
    int news = 0;
    for (int i = 2; i < c->n; i++) {
        int k;
        if (sscanf(c->names[i], "f%05d", &k) == 1) {
            cr_assert_eq(seen[k], 0, "duplicate %s", c->names[i]);
            seen[k] = 1;
            cr_assert(i < seen_at_change || k % 3 != 0, "removed %s seen", c->names[i]);
        } else {
            news++;
        }
        cr_assert_gt(c->pos[i], c->pos[i - 1]);
    }
    for (int k = 0; k < N; k++)
        if (k % 3)
            cr_assert(seen[k], "f%05d missing", k);
    cr_assert_eq(news, 100);   /* created after the reader's position: seen */

    /* seeking back to a remembered position resumes there */
    int64_t mid = c->pos[100];
    f->pos = mid;
    struct collect *c2 = collect_new();
    read_some(f, c2, 1);
    cr_assert_eq(c2->n, 1);
    cr_assert_gt(c2->pos[0], mid);
    f->pos = f->ops->llseek(f, 0, SEEK_SET);
    cr_assert_eq(f->pos, 0);
    free(c2);
    free(c);
    file_put(f);
}

struct race { int stop; };

static void *churn(void *arg)
{
    struct race *r = arg;
    char name[32];
    for (int i = 0; i < 20000 && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED); i++) {
        snprintf(name, sizeof(name), "tmp%d", i % 50);
        pthread_mutex_lock(&root->dir_mu);
        struct inode *v;
        if (root->ops->lookup(root, name, &v) == 0) {
            cr_assert_eq(root->ops->unlink(root, name, v), 0);
            inode_put(v);
        } else {
            struct new_node nn = { .mode = S_IFREG | 0600 };
            cr_assert_eq(root->ops->create(root, name, &nn, &v), 0);
            inode_put(v);
        }
        pthread_mutex_unlock(&root->dir_mu);
    }
    return NULL;
}

Test(tmpfs, getdents_concurrent_with_changes)
{
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "keep%03d", i);
        inode_put(mk(root, name, S_IFREG | 0644));
    }
    struct race r = { 0 };
    pthread_t th;
    pthread_create(&th, NULL, churn, &r);
    for (int round = 0; round < 200; round++) {
        struct file *f = open_ino(root, O_RDONLY);
        struct collect *c = collect_new();
        while (read_some(f, c, 13) > 0)
            ;
        int keep = 0;
        for (int i = 2; i < c->n; i++) {
            if (strncmp(c->names[i], "keep", 4) == 0)
                keep++;
            cr_assert_gt(c->pos[i], c->pos[i - 1]);
        }
        cr_assert_eq(keep, 500);
        free(c);
        file_put(f);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
}

/* ---- file data ---- */

Test(tmpfs, write_read_holes_truncate)
{
    struct inode *f = mk(root, "f", S_IFREG | 0644);
    char buf[3 * PAGE_SIZE];
    cr_assert_eq(tmpfs_write_host(f, "hello", 5, 0), 5);
    cr_assert_eq(f->size, 5);
    cr_assert_eq(f->blocks, 8);
    /* a write far out leaves a hole that reads as zeroes */
    cr_assert_eq(tmpfs_write_host(f, "X", 1, 5 * PAGE_SIZE), 1);
    cr_assert_eq(f->size, 5 * PAGE_SIZE + 1);
    cr_assert_eq(f->blocks, 16);
    memset(buf, 0x55, sizeof(buf));
    cr_assert_eq(tmpfs_read_host(f, buf, sizeof(buf), 2 * PAGE_SIZE), sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        cr_assert_eq(buf[i], 0);
    cr_assert_eq(tmpfs_read_host(f, buf, 100, 5 * PAGE_SIZE), 1);
    cr_assert_eq(buf[0], 'X');
    cr_assert_eq(tmpfs_read_host(f, buf, 100, 6 * PAGE_SIZE), 0);

    /* shrink into the first page, then grow again: the tail reads as zeroes */
    struct iattr ia = { .valid = ATTR_SIZE, .size = 3 };
    cr_assert_eq(f->ops->setattr(f, &ia), 0);
    cr_assert_eq(f->size, 3);
    cr_assert_eq(f->blocks, 8);
    ia.size = 2 * PAGE_SIZE;
    cr_assert_eq(f->ops->setattr(f, &ia), 0);
    memset(buf, 0x55, sizeof(buf));
    cr_assert_eq(tmpfs_read_host(f, buf, sizeof(buf), 0), 2 * PAGE_SIZE);
    cr_assert_eq(memcmp(buf, "hel", 3), 0);
    for (size_t i = 3; i < 2 * PAGE_SIZE; i++)
        cr_assert_eq(buf[i], 0, "byte %zu", i);
    ia.size = 0;
    cr_assert_eq(f->ops->setattr(f, &ia), 0);
    cr_assert_eq(f->blocks, 0);

    /* append */
    cr_assert_eq(tmpfs_write_host(f, "ab", 2, 0), 2);
    cr_assert_eq(tmpfs_write_host(f, "cd", 2, TMPFS_APPEND), 2);
    cr_assert_eq(tmpfs_read_host(f, buf, 10, 0), 4);
    cr_assert_eq(memcmp(buf, "abcd", 4), 0);

    /* truncate is for regular files only */
    ia.size = 0;
    cr_assert_eq(root->ops->setattr(root, &ia), -EISDIR);
    inode_put(f);
}

Test(tmpfs, write_past_eof_after_shrink_zeroes_tail)
{
    struct inode *f = mk(root, "f", S_IFREG | 0644);
    char page[PAGE_SIZE];
    memset(page, 'a', sizeof(page));
    cr_assert_eq(tmpfs_write_host(f, page, sizeof(page), 0), PAGE_SIZE);
    struct iattr ia = { .valid = ATTR_SIZE, .size = 10 };
    cr_assert_eq(f->ops->setattr(f, &ia), 0);
    cr_assert_eq(tmpfs_write_host(f, "z", 1, 100), 1);
    char buf[101];
    cr_assert_eq(tmpfs_read_host(f, buf, sizeof(buf), 0), 101);
    for (int i = 10; i < 100; i++)
        cr_assert_eq(buf[i], 0);
    cr_assert_eq(buf[100], 'z');
    inode_put(f);
}

Test(tmpfs, seek_data_hole)
{
    struct inode *ino = mk(root, "f", S_IFREG | 0644);
    /* data in pages 1 and 2, hole at 0 and 3, end at 4 pages + 10 (page 4 data) */
    cr_assert_eq(tmpfs_write_host(ino, "x", 1, PAGE_SIZE), 1);
    cr_assert_eq(tmpfs_write_host(ino, "y", 1, 2 * PAGE_SIZE + 5), 1);
    cr_assert_eq(tmpfs_write_host(ino, "z", 1, 4 * PAGE_SIZE + 9), 1);
    struct file *f = open_ino(ino, O_RDONLY);
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_DATA), PAGE_SIZE);
    cr_assert_eq(f->ops->llseek(f, PAGE_SIZE + 7, SEEK_DATA), PAGE_SIZE + 7);
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_HOLE), 0);
    cr_assert_eq(f->ops->llseek(f, PAGE_SIZE, SEEK_HOLE), 3 * PAGE_SIZE);
    cr_assert_eq(f->ops->llseek(f, 3 * PAGE_SIZE, SEEK_DATA), 4 * PAGE_SIZE);
    cr_assert_eq(f->ops->llseek(f, 4 * PAGE_SIZE, SEEK_HOLE), 4 * PAGE_SIZE + 10);
    cr_assert_eq(f->ops->llseek(f, 4 * PAGE_SIZE + 10, SEEK_DATA), -ENXIO);
    cr_assert_eq(f->ops->llseek(f, 4 * PAGE_SIZE + 10, SEEK_HOLE), -ENXIO);
    cr_assert_eq(f->ops->llseek(f, -1, SEEK_DATA), -ENXIO);
    cr_assert_eq(f->ops->llseek(f, -5, SEEK_END), 4 * PAGE_SIZE + 5);
    cr_assert_eq(f->ops->llseek(f, -5, SEEK_SET), -EINVAL);
    f->pos = 10;
    cr_assert_eq(f->ops->llseek(f, 5, SEEK_CUR), 15);
    /* past a truncation the data is gone */
    struct iattr ia = { .valid = ATTR_SIZE, .size = 8 * PAGE_SIZE };
    cr_assert_eq(ino->ops->setattr(ino, &ia), 0);
    cr_assert_eq(f->ops->llseek(f, 5 * PAGE_SIZE, SEEK_DATA), -ENXIO);
    cr_assert_eq(f->ops->llseek(f, 4 * PAGE_SIZE + 10, SEEK_HOLE), 5 * PAGE_SIZE);
    file_put(f);
    inode_put(ino);
}

Test(tmpfs, stat_and_statfs)
{
    struct inode *ino = mk(root, "f", S_IFREG | 0640);
    cr_assert_eq(tmpfs_write_host(ino, "abc", 3, 0), 3);
    struct file *f = open_ino(ino, O_RDONLY);
    struct stat st;
    cr_assert_eq(f->ops->stat(f, &st), 0);
    cr_assert_eq(st.st_size, 3);
    cr_assert_eq(st.st_dev, sb->dev);
    cr_assert_eq(st.st_mode, S_IFREG | 0640);
    struct statfs sf;
    cr_assert_eq(root->ops->statfs(root, &sf), 0);
    cr_assert_eq(sf.f_type, TMPFS_MAGIC);
    cr_assert_eq(sf.f_namelen, 255);
    file_put(f);
    inode_put(ino);
}

Test(tmpfs, setattr_fields)
{
    struct inode *ino = mk(root, "f", S_IFREG | 0640);
    struct iattr ia = { .valid = ATTR_MODE | ATTR_UID | ATTR_GID | ATTR_MTIME,
                        .mode = 04711, .uid = 7, .gid = 8, .mtime = { 1234, 5 } };
    cr_assert_eq(ino->ops->setattr(ino, &ia), 0);
    cr_assert_eq(ino->mode, S_IFREG | 04711);
    cr_assert_eq(ino->uid, 7);
    cr_assert_eq(ino->gid, 8);
    cr_assert_eq(ino->mtime.tv_sec, 1234);
    cr_assert_eq(ino->mtime.tv_nsec, 5);
    inode_put(ino);
}

/* ---- xattrs ---- */

Test(tmpfs, xattrs)
{
    struct inode *ino = mk(root, "f", S_IFREG | 0644);
    const struct inode_ops *o = ino->ops;
    char buf[64];
    cr_assert_eq(o->getxattr(ino, "user.a", buf, sizeof(buf)), -ENODATA);
    cr_assert_eq(o->setxattr(ino, "user.a", "v1", 2, XATTR_REPLACE), -ENODATA);
    cr_assert_eq(o->setxattr(ino, "user.a", "v1", 2, XATTR_CREATE), 0);
    cr_assert_eq(o->setxattr(ino, "user.a", "v2", 2, XATTR_CREATE), -EEXIST);
    cr_assert_eq(o->setxattr(ino, "user.a", "value2", 6, XATTR_REPLACE), 0);
    cr_assert_eq(o->getxattr(ino, "user.a", NULL, 0), 6);
    cr_assert_eq(o->getxattr(ino, "user.a", buf, 3), -ERANGE);
    cr_assert_eq(o->getxattr(ino, "user.a", buf, sizeof(buf)), 6);
    cr_assert_eq(memcmp(buf, "value2", 6), 0);
    cr_assert_eq(o->setxattr(ino, "trusted.t", "", 0, 0), 0);
    cr_assert_eq(o->getxattr(ino, "trusted.t", buf, sizeof(buf)), 0);
    cr_assert_eq(o->setxattr(ino, "bogus.x", "v", 1, 0), -EOPNOTSUPP);
    cr_assert_eq(o->setxattr(ino, "", "v", 1, 0), -ERANGE);
    cr_assert_eq(o->listxattr(ino, NULL, 0), 17);
    cr_assert_eq(o->listxattr(ino, buf, 5), -ERANGE);
    cr_assert_eq(o->listxattr(ino, buf, sizeof(buf)), 17);
    cr_assert_eq(memcmp(buf, "user.a\0trusted.t\0", 17), 0);
    cr_assert_eq(o->removexattr(ino, "user.a"), 0);
    cr_assert_eq(o->removexattr(ino, "user.a"), -ENODATA);
    cr_assert_eq(o->listxattr(ino, NULL, 0), 10);
    /* user.* is for regular files and directories only */
    struct inode *l;
    struct new_node nn = { .mode = S_IFLNK | 0777, .target = "x" };
    cr_assert_eq(root->ops->create(root, "l", &nn, &l), 0);
    cr_assert_eq(o->setxattr(l, "user.a", "v", 1, 0), -EPERM);
    cr_assert_eq(o->setxattr(l, "trusted.a", "v", 1, 0), 0);
    inode_put(l);
    inode_put(ino);
}

/* ---- memory ---- */

Test(tmpfs, evict_frees_everything)
{
    uint64_t before = memfile_used();
    struct inode *d = mk(root, "d", S_IFDIR | 0755);
    struct inode *f = mk(d, "f", S_IFREG | 0644);
    char page[PAGE_SIZE] = { 1 };
    for (int i = 0; i < 64; i++)
        cr_assert_eq(tmpfs_write_host(f, page, sizeof(page), i * PAGE_SIZE), PAGE_SIZE);
    cr_assert_eq(memfile_used(), before + 64 * PAGE_SIZE);
    /* unlinked but open: the data stays until the last reference */
    cr_assert_eq(d->ops->unlink(d, "f", f), 0);
    cr_assert_eq(memfile_used(), before + 64 * PAGE_SIZE);
    inode_put(f);
    cr_assert_eq(memfile_used(), before);
    /* a whole tree goes with its root */
    struct inode *g = mk(d, "g", S_IFREG | 0644);
    cr_assert_eq(tmpfs_write_host(g, page, sizeof(page), 0), PAGE_SIZE);
    inode_put(g);
    inode_put(d);
    cr_assert_eq(memfile_used(), before + PAGE_SIZE);
    inode_put(root);   /* the sb goes with its last inode */
    cr_assert_eq(memfile_used(), before);
}

static void setup_small(void)
{
    cr_assert_eq(memfile_init(8ULL << 20), 0);
    int err = 0;
    sb = tmpfs_new("tmpfs", S_IFDIR | 0755, 0, 0, &root, &err);
    cr_assert_not_null(sb);
}

Test(tmpfs_small, file_larger_than_memory_is_enospc, .init = setup_small)
{
    struct inode *f = mk(root, "big", S_IFREG | 0644);
    size_t n = 16 << 20;
    char *buf = calloc(1, n);
    memset(buf, 7, n);
    ssize_t got = tmpfs_write_host(f, buf, n, 0);
    cr_assert_gt(got, 0);
    cr_assert_lt((size_t)got, n);
    cr_assert_eq(f->size, got);
    cr_assert_eq(tmpfs_write_host(f, buf, n, got), -ENOSPC);
    cr_assert_eq(f->size, got);
    /* truncating gives the memory back, and writes work again */
    struct iattr ia = { .valid = ATTR_SIZE, .size = 0 };
    cr_assert_eq(f->ops->setattr(f, &ia), 0);
    cr_assert_eq(tmpfs_write_host(f, buf, PAGE_SIZE, 0), PAGE_SIZE);
    /* a huge sparse size costs nothing */
    ia.size = 1LL << 40;
    cr_assert_eq(f->ops->setattr(f, &ia), 0);
    free(buf);
    inode_put(f);
}
