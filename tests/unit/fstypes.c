/* Mount options: the shared parser (generic flags, k/m/g sizes) and tmpfs's options
 * as /proc/mounts shows them, their limits, and the errors mount(2) reports. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "sentry/fs/fstypes.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/mm/memfile.h"
#include "sentry/vfs/vfs.h"

static void setup(void) { cr_assert_eq(memfile_init(1ULL << 30), 0); }

TestSuite(fstypes, .init = setup);

Test(fstypes, sizes)
{
    uint64_t v;
    const char *rest;
    cr_assert_eq(fs_parse_size("4k", &v, NULL), 0);
    cr_assert_eq(v, 4096);
    cr_assert_eq(fs_parse_size("2M", &v, NULL), 0);
    cr_assert_eq(v, 2 << 20);
    cr_assert_eq(fs_parse_size("0x10", &v, NULL), 0);
    cr_assert_eq(v, 16);
    cr_assert_eq(fs_parse_size("10%", &v, &rest), 0);
    cr_assert_str_eq(rest, "%");
    cr_assert_eq(fs_parse_size("10x", &v, NULL), -EINVAL);
    cr_assert_eq(fs_parse_size("-1", &v, NULL), -EINVAL);
    cr_assert_eq(fs_parse_size("", &v, NULL), -EINVAL);
}

static int seen(const char *key, const char *val, void *arg)
{
    char *out = arg;
    strcat(out, key);
    strcat(out, val ? "=" : ";");
    if (val)
        strcat(strcat(out, val), ";");
    return strcmp(key, "bad") == 0 ? -EINVAL : 0;
}

Test(fstypes, generic_options)
{
    char got[128] = "";
    int ro = -1;
    cr_assert_eq(fs_parse_options("a=1,,ro,b,sync,rw,source=x", &ro, seen, got), 0);
    cr_assert_str_eq(got, "a=1;b;");
    cr_assert_eq(ro, 0);
    cr_assert_eq(fs_parse_options("ro,bad,c", &ro, seen, got), -EINVAL);
    cr_assert_eq(ro, 1);
    cr_assert_eq(fs_parse_options("x", &ro, NULL, NULL), -EINVAL);
    cr_assert_eq(fs_parse_options(NULL, &ro, NULL, NULL), 0);
}

static void show(struct superblock *sb, char *buf)
{
    sb->ops->show_options(sb, buf, 256);
}

Test(fstypes, tmpfs_options)
{
    struct superblock *sb;
    struct inode *root;
    char buf[256];
    cr_assert_eq(fs_type_mount("tmpfs", "size=1m,nr_inodes=10,mode=700,uid=5,gid=6", 0, 0,
                               0, &sb, &root), 0);
    show(sb, buf);
    cr_assert_str_eq(buf, ",size=1024k,nr_inodes=10,mode=700,uid=5,gid=6");
    cr_assert_eq(root->mode, S_IFDIR | 0700);
    cr_assert_eq(root->uid, 5);
    cr_assert_eq(sb->ops->reconfigure(sb, "size=3000"), 0);   /* rounded up to a page */
    show(sb, buf);
    cr_assert_str_eq(buf, ",size=4k,nr_inodes=10,mode=700,uid=5,gid=6");
    cr_assert_eq(sb->ops->reconfigure(sb, "nope"), -EINVAL);
    inode_put(root);

    /* defaults: the caller's root directory, sticky and world-writable */
    cr_assert_eq(fs_type_mount("tmpfs", NULL, 1, 7, 8, &sb, &root), 0);
    show(sb, buf);
    cr_assert_str_eq(buf, ",uid=7,gid=8");
    cr_assert_eq(root->mode, S_IFDIR | 01777);
    cr_assert(sb->flags & SB_RDONLY);
    inode_put(root);

    cr_assert_eq(fs_type_mount("tmpfs", "size=1q", 0, 0, 0, &sb, &root), -EINVAL);
    cr_assert_eq(fs_type_mount("tmpfs", "uid=-1", 0, 0, 0, &sb, &root), -EINVAL);
    cr_assert_eq(fs_type_mount("tmpfs", "huge=sometimes", 0, 0, 0, &sb, &root), -EINVAL);
    cr_assert_eq(fs_type_mount("ext4", NULL, 0, 0, 0, &sb, &root), -ENODEV);
    cr_assert_eq(fs_type_mount("devpts", NULL, 0, 0, 0, &sb, &root), -ENODEV);
    cr_assert_eq(fs_type_mount("proc", "hidepid=2,gid=4", 0, 0, 0, &sb, &root), 0);
    cr_assert_eq(fs_type_mount("proc", "hidepid=9", 0, 0, 0, &sb, &root), -EINVAL);
    cr_assert_eq(fs_type_mount("sysfs", "x", 0, 0, 0, &sb, &root), -EINVAL);
}

Test(fstypes, tmpfs_size_limit)
{
    struct superblock *sb;
    struct inode *root;
    cr_assert_eq(fs_type_mount("tmpfs", "size=8k", 0, 0, 0, &sb, &root), 0);
    struct new_node nn = { .mode = S_IFREG | 0644 };
    struct inode *f;
    cr_assert_eq(root->ops->create(root, "f", &nn, &f), 0);
    static char data[12288];
    cr_assert_eq(tmpfs_write_host(f, data, sizeof(data), 0), 8192);
    cr_assert_eq(tmpfs_write_host(f, data, 1, 8192), -ENOSPC);
    cr_assert_eq(tmpfs_write_host(f, data, 10, 100), 10);   /* inside: no new page */
    struct statfs st;
    cr_assert_eq(root->ops->statfs(root, &st), 0);
    cr_assert_eq(st.f_blocks, 2);
    cr_assert_eq(st.f_bfree, 0);
    inode_put(f);
    inode_put(root);
}
