/* overlay: a tmpfs lower (populated through tmpfs's own ops) under a tmpfs upper.
 * Lookup precedence, whiteouts, copy-up of data and attributes, merged getdents,
 * opaque directories, and the renames overlayfs refuses. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "sentry/fs/overlay.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/mm/memfile.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

static struct inode *lroot, *uroot, *root;
static struct superblock *osb;
static struct inode *l_etc, *l_passwd, *l_big, *l_dir;

/* ---- helpers ---- */

static struct inode *mk(struct inode *dir, const char *name, uint32_t mode)
{
    struct new_node nn = { .mode = mode, .uid = 5, .gid = 6 };
    struct inode *out = NULL;
    int err = dir->ops->create(dir, name, &nn, &out);
    cr_assert_eq(err, 0, "create %s: %d", name, err);
    return out;
}

static void mkfile(struct inode *dir, const char *name, const char *data)
{
    struct inode *f = mk(dir, name, S_IFREG | 0644);
    cr_assert_eq(tmpfs_write_host(f, data, strlen(data), 0), (ssize_t)strlen(data));
    inode_put(f);
}

/* walk: the inode at a relative path from dir (a new reference), or NULL. */
static struct inode *walk(struct inode *dir, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    struct inode *cur = dir;
    inode_get(cur);
    for (char *save, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        struct inode *next;
        int err = cur->ops->lookup(cur, c, &next);
        inode_put(cur);
        if (err)
            return NULL;
        cur = next;
    }
    return cur;
}

/* read_all: the data of an overlay (or tmpfs) file as a string. */
static char *read_all(struct inode *ino)
{
    static char buf[8192];
    struct inode *real = tmpfs_is(ino) ? ino : overlay_real(ino);
    ssize_t n = tmpfs_read_host(real, buf, sizeof(buf) - 1, 0);
    cr_assert_geq(n, 0);
    buf[n] = 0;
    return buf;
}

static struct file *open_ino(struct inode *ino, int flags)
{
    struct file *f = file_alloc(NULL, (unsigned)flags, NULL);
    f->inode = ino;
    inode_get(ino);
    int err = ino->ops->open(ino, f, flags);
    cr_assert_eq(err, 0, "open: %d", err);
    return f;
}

struct names {
    struct dir_emit e;
    int n;
    char name[64][32];
    uint64_t ino[64];
    int room;
};

static int names_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                      unsigned type, int64_t next)
{
    (void)type; (void)next;
    struct names *nm = (struct names *)e;
    if (nm->room-- <= 0)
        return 1;
    memcpy(nm->name[nm->n], name, len);
    nm->name[nm->n][len] = 0;
    nm->ino[nm->n++] = ino;
    return 0;
}

/* list: getdents of an overlay dir, all of it. */
static void list(struct inode *dir, struct names *out)
{
    memset(out, 0, sizeof(*out));
    out->e.emit = names_emit;
    struct file *f = open_ino(dir, O_RDONLY | O_DIRECTORY);
    out->room = 1000;
    cr_assert_eq(f->ops->iterate(f, &out->e), 0);
    file_put(f);
}

static int has(struct names *nm, const char *name)
{
    int c = 0;
    for (int i = 0; i < nm->n; i++)
        c += strcmp(nm->name[i], name) == 0;
    return c;
}

/* ---- the fixture: a small lower tree ---- */

static void setup(void)
{
    cr_assert_eq(memfile_init(1ULL << 30), 0);
    int err;
    cr_assert_not_null(tmpfs_new("tmpfs", S_IFDIR | 0755, 0, 0, &lroot, &err));
    cr_assert_not_null(tmpfs_new("tmpfs", S_IFDIR | 0755, 0, 0, &uroot, &err));
    l_etc = mk(lroot, "etc", S_IFDIR | 0755);
    l_passwd = mk(l_etc, "passwd", S_IFREG | 0644);
    cr_assert_eq(tmpfs_write_host(l_passwd, "root:x:0:0\n", 11, 0), 11);
    mkfile(l_etc, "hosts", "127.0.0.1 localhost\n");
    /* a sparse file with data in pages 0 and 3 */
    l_big = mk(lroot, "big", S_IFREG | 0751);
    cr_assert_eq(tmpfs_write_host(l_big, "first", 5, 0), 5);
    cr_assert_eq(tmpfs_write_host(l_big, "fourth", 6, 3 * PAGE_SIZE), 6);
    struct iattr ia = { .valid = ATTR_MTIME | ATTR_ATIME, .mtime = { 1000000, 7 },
                        .atime = { 2000000, 9 } };
    cr_assert_eq(l_big->ops->setattr(l_big, &ia), 0);
    cr_assert_eq(l_big->ops->setxattr(l_big, "user.color", "blue", 4, 0), 0);
    l_dir = mk(lroot, "d", S_IFDIR | 0700);
    mkfile(l_dir, "a", "A");
    mkfile(l_dir, "b", "B");
    mkfile(l_dir, "c", "C-lower");
    struct new_node nn = { .mode = S_IFLNK | 0777, .target = "/etc/passwd" };
    struct inode *l;
    cr_assert_eq(lroot->ops->create(lroot, "link", &nn, &l), 0);
    inode_put(l);
    nn = (struct new_node){ .mode = S_IFCHR | 0666, .rdev = makedev(1, 3) };
    cr_assert_eq(lroot->ops->create(lroot, "null", &nn, &l), 0);
    inode_put(l);
    struct inode *deep = mk(lroot, "x", S_IFDIR | 0711);
    struct inode *deep2 = mk(deep, "y", S_IFDIR | 0750);
    mkfile(deep2, "z", "zzz");
    inode_put(deep);
    inode_put(deep2);

    osb = overlay_new(uroot, lroot, &root, &err);
    cr_assert_not_null(osb, "overlay_new: %d", err);
}

TestSuite(overlay, .init = setup);

/* ---- tests ---- */

Test(overlay, lookup_reads_lower_without_copy_up)
{
    struct inode *p = walk(root, "etc/passwd");
    cr_assert_not_null(p);
    cr_assert_eq(overlay_real(p), l_passwd);
    cr_assert_str_eq(read_all(p), "root:x:0:0\n");
    struct stat st;
    cr_assert_eq(inode_stat(p, &st), 0);
    cr_assert_eq(st.st_ino, l_passwd->ino);
    cr_assert_eq(st.st_dev, osb->dev);
    cr_assert_eq(st.st_size, 11);
    /* the same file is the same overlay inode however it is found */
    struct inode *again = walk(root, "etc/passwd");
    cr_assert_eq(again, p);
    inode_put(again);
    /* read-only open does not copy up */
    struct file *f = open_ino(p, O_RDONLY);
    cr_assert_eq(overlay_real(p), l_passwd);
    file_put(f);
    struct inode *u_etc;
    cr_assert_eq(uroot->ops->lookup(uroot, "etc", &u_etc), -ENOENT);
    inode_put(p);
    cr_assert_null(walk(root, "etc/nothing"));
}

Test(overlay, upper_wins)
{
    struct inode *u_etc = mk(uroot, "etc", S_IFDIR | 0755);
    mkfile(u_etc, "passwd", "upper\n");
    mkfile(u_etc, "only-upper", "U");
    inode_put(u_etc);
    struct inode *p = walk(root, "etc/passwd");
    cr_assert_str_eq(read_all(p), "upper\n");
    inode_put(p);
    p = walk(root, "etc/hosts");     /* merged dir: the lower's names still show */
    cr_assert_str_eq(read_all(p), "127.0.0.1 localhost\n");
    inode_put(p);
    p = walk(root, "etc/only-upper");
    cr_assert_not_null(p);
    cr_assert(p->ino & (1ULL << 63), "upper-only numbers are their own space");
    inode_put(p);
}

Test(overlay, whiteout_hides_lower)
{
    struct inode *etc = walk(root, "etc");
    struct inode *p = walk(root, "etc/passwd");
    cr_assert_eq(etc->ops->unlink(etc, "passwd", p), 0);
    inode_put(p);
    cr_assert_null(walk(root, "etc/passwd"));
    /* the lower is untouched, the upper holds a 0/0 character device */
    struct inode *lp = walk(lroot, "etc/passwd");
    cr_assert_eq(lp, l_passwd);
    inode_put(lp);
    struct inode *w = walk(uroot, "etc/passwd");
    cr_assert_not_null(w);
    cr_assert(S_ISCHR(w->mode) && w->rdev == 0);
    inode_put(w);
    struct names nm;
    list(etc, &nm);
    cr_assert_eq(has(&nm, "passwd"), 0);
    cr_assert_eq(has(&nm, "hosts"), 1);
    /* a new file can take the name again, and is upper-only */
    struct inode *n = mk(etc, "passwd", S_IFREG | 0600);
    cr_assert_eq(tmpfs_write_host(overlay_real(n), "new", 3, 0), 3);
    inode_put(n);
    n = walk(root, "etc/passwd");
    cr_assert_str_eq(read_all(n), "new");
    inode_put(n);
    cr_assert_str_eq(read_all(l_passwd), "root:x:0:0\n");
    inode_put(etc);
}

Test(overlay, copy_up_keeps_data_attributes_and_lower)
{
    struct inode *b = walk(root, "big");
    struct stat before;
    cr_assert_eq(inode_stat(b, &before), 0);
    struct file *f = open_ino(b, O_RDWR);
    struct inode *u = overlay_real(b);
    cr_assert_neq(u, l_big);
    cr_assert(tmpfs_is(u));
    struct stat after;
    cr_assert_eq(inode_stat(b, &after), 0);
    cr_assert_eq(after.st_ino, before.st_ino);
    cr_assert_eq(after.st_dev, before.st_dev);
    cr_assert_eq(after.st_mode, S_IFREG | 0751);
    cr_assert_eq(after.st_uid, 5);
    cr_assert_eq(after.st_gid, 6);
    cr_assert_eq(after.st_size, 3 * PAGE_SIZE + 6);
    cr_assert_eq(after.st_mtim.tv_sec, 1000000);
    cr_assert_eq(after.st_mtim.tv_nsec, 7);
    cr_assert_eq(after.st_atim.tv_sec, 2000000);
    /* data, with the hole left sparse */
    char buf[4 * PAGE_SIZE];
    cr_assert_eq(tmpfs_read_host(u, buf, sizeof(buf), 0), 3 * PAGE_SIZE + 6);
    cr_assert_eq(memcmp(buf, "first", 5), 0);
    cr_assert_eq(memcmp(buf + 3 * PAGE_SIZE, "fourth", 6), 0);
    for (size_t i = 5; i < 3 * PAGE_SIZE; i++)
        cr_assert_eq(buf[i], 0);
    cr_assert_eq(u->blocks, 16, "only two pages hold data");
    /* xattrs came along; the overlay's own are hidden */
    char v[16];
    cr_assert_eq(b->ops->getxattr(b, "user.color", v, sizeof(v)), 4);
    cr_assert_eq(b->ops->getxattr(b, "trusted.overlay.origin", v, sizeof(v)), -ENODATA);
    cr_assert_eq(b->ops->listxattr(b, NULL, 0), (int)sizeof("user.color"));
    cr_assert_eq(b->ops->setxattr(b, "trusted.overlay.opaque", "y", 1, 0), -EPERM);
    /* writing changes the upper only */
    cr_assert_eq(tmpfs_write_host(u, "FIRST", 5, 0), 5);
    cr_assert_eq(tmpfs_read_host(l_big, buf, 5, 0), 5);
    cr_assert_eq(memcmp(buf, "first", 5), 0);
    /* the overlay inode's page cache is the upper's (mmap sees the real data) */
    cr_assert_eq(b->cache, u->cache);
    file_put(f);
    inode_put(b);
}

Test(overlay, copy_up_parent_chain_symlink_and_device)
{
    struct inode *z = walk(root, "x/y/z");
    struct iattr ia = { .valid = ATTR_UID, .uid = 42 };
    cr_assert_eq(z->ops->setattr(z, &ia), 0);
    cr_assert_eq(z->uid, 42);
    struct inode *uy = walk(uroot, "x/y");
    cr_assert_not_null(uy);
    cr_assert_eq(uy->mode, S_IFDIR | 0750);
    inode_put(uy);
    struct inode *uz = walk(uroot, "x/y/z");
    cr_assert_str_eq(read_all(uz), "zzz");
    inode_put(uz);
    inode_put(z);

    struct inode *l = walk(root, "link");
    cr_assert_eq(l->ops->setattr(l, &(struct iattr){ .valid = ATTR_GID, .gid = 9 }), 0);
    char buf[64];
    cr_assert_eq(l->ops->readlink(l, buf, sizeof(buf)), 11);
    cr_assert(tmpfs_is(overlay_real(l)) && overlay_real(l)->sb != lroot->sb);
    inode_put(l);

    struct inode *n = walk(root, "null");
    cr_assert_eq(n->ops->setxattr(n, "trusted.x", "1", 1, 0), 0);
    cr_assert_neq(overlay_real(n)->sb, lroot->sb);
    cr_assert_eq(overlay_real(n)->rdev, makedev(1, 3));
    cr_assert_eq(n->rdev, makedev(1, 3));
    inode_put(n);
}

Test(overlay, merged_getdents)
{
    struct inode *d = walk(root, "d");
    /* upper: replace c, add x; remove b (whiteout) */
    struct inode *c = walk(root, "d/c");
    struct file *f = open_ino(c, O_WRONLY);
    file_put(f);
    inode_put(c);
    inode_put(mk(d, "x", S_IFREG | 0644));
    struct inode *b = walk(root, "d/b");
    cr_assert_eq(d->ops->unlink(d, "b", b), 0);
    inode_put(b);
    struct names nm;
    list(d, &nm);
    cr_assert_eq(nm.n, 5, "., .., a, c, x; got %d", nm.n);
    cr_assert_str_eq(nm.name[0], ".");
    cr_assert_str_eq(nm.name[1], "..");
    cr_assert_eq(has(&nm, "a"), 1);
    cr_assert_eq(has(&nm, "c"), 1);
    cr_assert_eq(has(&nm, "x"), 1);
    cr_assert_eq(has(&nm, "b"), 0);
    /* the copied-up c reports the lower's number, like its stat */
    c = walk(root, "d/c");
    for (int i = 0; i < nm.n; i++)
        if (strcmp(nm.name[i], "c") == 0)
            cr_assert_eq(nm.ino[i], c->ino);
    inode_put(c);

    /* positions stay stable while the directory changes under a reader */
    struct file *rf = open_ino(d, O_RDONLY | O_DIRECTORY);
    struct names part;
    memset(&part, 0, sizeof(part));
    part.e.emit = names_emit;
    part.room = 3;
    cr_assert_eq(rf->ops->iterate(rf, &part.e), 0);
    cr_assert_eq(part.n, 3);
    inode_put(mk(d, "late", S_IFREG | 0644));
    part.room = 100;
    cr_assert_eq(rf->ops->iterate(rf, &part.e), 0);
    cr_assert_eq(part.n, 5, "snapshot: no duplicates, nothing lost");
    for (int i = 0; i < part.n; i++)
        cr_assert_eq(has(&part, part.name[i]), 1);
    /* rewinding takes a fresh snapshot */
    rf->pos = 0;
    memset(&part, 0, sizeof(part));
    part.e.emit = names_emit;
    part.room = 100;
    cr_assert_eq(rf->ops->iterate(rf, &part.e), 0);
    cr_assert_eq(has(&part, "late"), 1);
    file_put(rf);
    inode_put(d);
}

Test(overlay, rmdir_merged_then_mkdir_is_opaque)
{
    struct inode *d = walk(root, "d");
    cr_assert_eq(root->ops->rmdir(root, "d", d), -ENOTEMPTY);
    const char *names[] = { "a", "b", "c" };
    for (int i = 0; i < 3; i++) {
        struct inode *v = walk(d, names[i]);
        cr_assert_eq(d->ops->unlink(d, names[i], v), 0);
        inode_put(v);
    }
    cr_assert_eq(root->ops->rmdir(root, "d", d), 0);
    inode_put(d);
    cr_assert_null(walk(root, "d"));
    struct inode *nd = mk(root, "d", S_IFDIR | 0755);
    cr_assert_null(walk(root, "d/a"));
    struct names nm;
    list(nd, &nm);
    cr_assert_eq(nm.n, 2, "only . and ..");
    char v[4];
    cr_assert_eq(overlay_real(nd)->ops->getxattr(overlay_real(nd), "trusted.overlay.opaque",
                                                 v, sizeof(v)), 1);
    inode_put(nd);
    /* the lower keeps everything */
    struct inode *la = walk(lroot, "d/a");
    cr_assert_not_null(la);
    inode_put(la);
}

Test(overlay, renames)
{
    /* a lower (or merged) directory cannot move without redirect_dir */
    cr_assert_eq(root->ops->rename(root, "d", root, "d2", 0), -EXDEV);
    cr_assert_eq(root->ops->rename(root, "etc", root, "d2", 0), -EXDEV);
    /* a file can: copied up first, whiteout left behind, number kept */
    struct inode *p = walk(root, "etc/passwd");
    uint64_t nr = p->ino;
    struct inode *etc = walk(root, "etc");
    struct inode *d = walk(root, "d");
    cr_assert_eq(root->ops->rename(etc, "passwd", d, "pw", 0), 0);
    cr_assert_null(walk(root, "etc/passwd"));
    struct inode *pw = walk(root, "d/pw");
    cr_assert_eq(pw, p);
    cr_assert_eq(pw->ino, nr);
    cr_assert_str_eq(read_all(pw), "root:x:0:0\n");
    inode_put(pw);
    inode_put(p);
    cr_assert_str_eq(read_all(l_passwd), "root:x:0:0\n");
    /* noreplace, and replacing a lower file */
    cr_assert_eq(root->ops->rename(d, "pw", d, "a", RENAME_NOREPLACE), -EEXIST);
    cr_assert_eq(root->ops->rename(d, "pw", d, "a", 0), 0);
    struct inode *a = walk(root, "d/a");
    cr_assert_str_eq(read_all(a), "root:x:0:0\n");
    inode_put(a);
    cr_assert_null(walk(root, "d/pw"));
    /* exchange of two lower files */
    cr_assert_eq(root->ops->rename(d, "b", etc, "hosts", RENAME_EXCHANGE), 0);
    struct inode *h = walk(root, "etc/hosts");
    cr_assert_str_eq(read_all(h), "B");
    inode_put(h);
    /* an upper-only directory can move, and is opaque when it lands on a lower name */
    struct inode *nd = mk(root, "newdir", S_IFDIR | 0755);
    inode_put(mk(nd, "inside", S_IFREG | 0644));
    struct inode *x = walk(root, "x");
    cr_assert_eq(root->ops->rename(root, "newdir", d, "moved", 0), 0);
    struct inode *in = walk(root, "d/moved/inside");
    cr_assert_not_null(in);
    inode_put(in);
    inode_put(x);
    /* replacing a non-empty merged dir */
    struct inode *e = mk(root, "emptydir", S_IFDIR | 0755);
    cr_assert_eq(root->ops->rename(root, "emptydir", root, "x", 0), -ENOTEMPTY);
    inode_put(e);
    inode_put(nd);
    inode_put(etc);
    inode_put(d);
}

Test(overlay, hard_link_copies_up)
{
    struct inode *h = walk(root, "etc/hosts");
    cr_assert_eq(root->ops->link(root, "hosts2", h), 0);
    cr_assert_neq(overlay_real(h)->sb, lroot->sb);
    cr_assert_eq(h->nlink, 2);
    struct inode *h2 = walk(root, "hosts2");
    cr_assert_str_eq(read_all(h2), "127.0.0.1 localhost\n");
    cr_assert_eq(overlay_real(h2), overlay_real(h));
    inode_put(h2);
    inode_put(h);
}

Test(overlay, statfs_and_teardown)
{
    struct statfs sf;
    cr_assert_eq(root->ops->statfs(root, &sf), 0);
    cr_assert_eq(sf.f_type, OVERLAYFS_SUPER_MAGIC);
    struct inode *b = walk(root, "big");
    struct file *f = open_ino(b, O_WRONLY);
    file_put(f);
    inode_put(b);
    inode_put(l_etc);
    inode_put(l_passwd);
    inode_put(l_big);
    inode_put(l_dir);
    inode_put(root);
    inode_put(uroot);
    inode_put(lroot);
    cr_assert_eq(memfile_used(), 0, "every page freed: %lu", (unsigned long)memfile_used());
}
