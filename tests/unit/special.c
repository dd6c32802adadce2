/* The special files of sentry/fs through guest memory: character devices, the uio
 * paths of pipes, FIFO opens. A real memory file and an mm on a do-nothing platform;
 * there are no tasks, so only calls that cannot block are made. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/fs/devices.h"
#include "sentry/fs/pipe.h"
#include "sentry/fs/special.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

/* ---- a platform that maps nothing ---- */

static char dummy_as[16];
static struct plat_as *nop_as_create(int *err) { (void)err; return (struct plat_as *)dummy_as; }
static void nop_as_destroy(struct plat_as *as) { (void)as; }
static int nop_map(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t off)
{
    (void)as, (void)va, (void)len, (void)prot, (void)off;
    return 0;
}
static int nop_unmap(struct plat_as *as, gva_t va, uint64_t len)
{
    (void)as, (void)va, (void)len;
    return 0;
}
static int nop_protect(struct plat_as *as, gva_t va, uint64_t len, int prot)
{
    (void)as, (void)va, (void)len, (void)prot;
    return 0;
}
static int nop_reserved(uint64_t va, uint64_t len) { (void)va, (void)len; return 0; }

static const struct platform_ops nop = {
    .name = "nop", .as_create = nop_as_create, .as_destroy = nop_as_destroy,
    .map = nop_map, .unmap = nop_unmap, .protect = nop_protect,
    .user_max = 0x7ffffffff000ULL, .reserved = nop_reserved,
};

static struct mm *g_mm;
static uint64_t g_buf;          /* 4 guest pages, read-write */
#define BUF_LEN (4 * PAGE_SIZE)

static void setup(void)
{
    g_plat = &nop;
    cr_assert_eq(memfile_init(1ULL << 28), 0);
    int err = 0;
    g_mm = mm_create(&err);
    cr_assert_not_null(g_mm, "mm_create: %d", err);
    int64_t a = mm_mmap(g_mm, 0, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    cr_assert_gt(a, 0);
    g_buf = (uint64_t)a;
}

TestSuite(devices, .init = setup);
TestSuite(pipe_uio, .init = setup);
TestSuite(fifo, .init = setup);

static struct guest_iovec g_iov;
static struct uio one_uio(uint64_t addr, size_t len)
{
    g_iov = (struct guest_iovec){ gva(addr), len };
    return (struct uio){ .mm = g_mm, .iov = &g_iov, .iovcnt = 1, .size = len };
}

static struct file *open_dev(unsigned maj, unsigned min, int *err)
{
    struct file *f = file_alloc(NULL, O_RDWR, NULL);
    cr_assert_not_null(f);
    *err = chrdev_open(NULL, makedev(maj, min), f, O_RDWR);
    return f;
}

static void guest_fill(unsigned char c)
{
    static unsigned char junk[BUF_LEN];
    memset(junk, c, sizeof(junk));
    cr_assert_eq(mm_copy_out(g_mm, g_buf, junk, sizeof(junk), 0), 0);
}

Test(devices, null_zero_full)
{
    int err;
    struct file *null = open_dev(1, 3, &err);
    cr_assert_eq(err, 0);
    struct uio u = one_uio(g_buf, 1000);
    cr_assert_eq(vfs_read(null, &u, NULL), 0);
    cr_assert_eq(vfs_write(null, &u, NULL), 1000);
    int64_t off = 12345;
    cr_assert_eq(vfs_read(null, &u, &off), 0, "pread works");
    cr_assert_eq(null->ops->llseek(null, 100, SEEK_SET), 0);
    struct mappable *m = (struct mappable *)1;
    cr_assert_eq(null->ops->mmap(null, &m), -ENODEV);
    file_put(null);

    struct file *zero = open_dev(1, 5, &err);
    cr_assert_eq(err, 0);
    guest_fill(0xff);
    u = one_uio(g_buf + 10, BUF_LEN - 10);
    cr_assert_eq(vfs_read(zero, &u, NULL), BUF_LEN - 10);
    unsigned char back[BUF_LEN];
    cr_assert_eq(mm_copy_in(g_mm, back, g_buf, BUF_LEN), 0);
    cr_assert_eq(back[9], 0xff);
    for (size_t i = 10; i < BUF_LEN; i++)
        cr_assert_eq(back[i], 0, "byte %zu", i);
    cr_assert_eq(zero->pos, 0);
    cr_assert_eq(zero->ops->mmap(zero, &m), 0);
    cr_assert_null(m, "/dev/zero maps anonymous memory");
    /* past the mapping: a short read, then EFAULT */
    u = one_uio(g_buf + BUF_LEN - 100, 300);
    cr_assert_eq(vfs_read(zero, &u, NULL), 100);
    u = one_uio(g_buf + BUF_LEN, 300);
    cr_assert_eq(vfs_read(zero, &u, NULL), -EFAULT);
    file_put(zero);

    struct file *full = open_dev(1, 7, &err);
    cr_assert_eq(err, 0);
    u = one_uio(g_buf, 10);
    cr_assert_eq(vfs_write(full, &u, NULL), -ENOSPC);
    guest_fill(0xff);
    cr_assert_eq(vfs_read(full, &u, NULL), 10);
    cr_assert_eq(mm_copy_in(g_mm, back, g_buf, 10), 0);
    cr_assert_eq(back[0] | back[9], 0);
    file_put(full);
}

Test(devices, urandom)
{
    int err;
    struct file *r = open_dev(1, 9, &err);
    cr_assert_eq(err, 0);
    guest_fill(0);
    struct uio u = one_uio(g_buf, BUF_LEN);
    cr_assert_eq(vfs_read(r, &u, NULL), BUF_LEN);
    unsigned char back[BUF_LEN];
    cr_assert_eq(mm_copy_in(g_mm, back, g_buf, BUF_LEN), 0);
    size_t zeros = 0;
    for (size_t i = 0; i < BUF_LEN; i++)
        zeros += back[i] == 0;
    cr_assert_lt(zeros, BUF_LEN / 64, "random bytes are not mostly zero");
    cr_assert_eq(vfs_write(r, &u, NULL), BUF_LEN);
    file_put(r);
    r = open_dev(1, 8, &err);
    cr_assert_eq(err, 0);
    file_put(r);
}

Test(devices, unknown_and_table)
{
    int err;
    file_put(open_dev(1, 1, &err));   /* /dev/mem */
    cr_assert_eq(err, -ENXIO);
    file_put(open_dev(5, 0, &err));
    cr_assert_eq(err, -ENXIO);
    file_put(open_dev(4, 3, &err));
    cr_assert_eq(err, -ENXIO);
    int seen = 0;
    for (size_t i = 0; i < g_dev_nodes_count; i++) {
        cr_assert(S_ISCHR(g_dev_nodes[i].mode));
        if (!strcmp(g_dev_nodes[i].name, "null"))
            seen += g_dev_nodes[i].major == 1 && g_dev_nodes[i].minor == 3;
        if (!strcmp(g_dev_nodes[i].name, "ptmx"))
            seen += g_dev_nodes[i].major == 5 && g_dev_nodes[i].minor == 2;
    }
    cr_assert_eq(seen, 2);
}

/* ---- pipes through guest memory ---- */

Test(pipe_uio, roundtrip_fault_and_epipe)
{
    struct file *p[2];
    cr_assert_eq(pipe_create(O_NONBLOCK, p), 0);
    const char msg[] = "through the guest";
    cr_assert_eq(mm_copy_out(g_mm, g_buf, msg, sizeof(msg), 0), 0);
    struct uio u = one_uio(g_buf, sizeof(msg));
    cr_assert_eq(vfs_write(p[1], &u, NULL), (ssize_t)sizeof(msg));
    cr_assert_eq(vfs_read(p[1], &u, NULL), -EBADF);
    cr_assert_eq(pipe_poll(p[0]) & (POLLIN | POLLHUP), POLLIN);
    cr_assert_eq(pipe_poll(p[1]) & (POLLOUT | POLLERR), POLLOUT);

    /* a read into an unmapped buffer: EFAULT and nothing consumed */
    u = one_uio(g_buf + BUF_LEN, 8);
    cr_assert_eq(vfs_read(p[0], &u, NULL), -EFAULT);
    u = one_uio(g_buf + PAGE_SIZE, 100);
    cr_assert_eq(vfs_read(p[0], &u, NULL), (ssize_t)sizeof(msg));
    char back[sizeof(msg)];
    cr_assert_eq(mm_copy_in(g_mm, back, g_buf + PAGE_SIZE, sizeof(msg)), 0);
    cr_assert_str_eq(back, msg);
    cr_assert_eq(vfs_read(p[0], &u, NULL), -EAGAIN);

    /* a write whose first page runs off the mapping keeps nothing (Linux: EFAULT) */
    u = one_uio(g_buf + BUF_LEN - 100, 5000);
    cr_assert_eq(vfs_write(p[1], &u, NULL), -EFAULT);
    cr_assert_eq(pipe_poll(p[0]) & POLLIN, 0);

    struct stat st;
    cr_assert_eq(p[0]->ops->stat(p[0], &st), 0);
    cr_assert(S_ISFIFO(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600);

    /* no reader: EPIPE (SIGPIPE needs a task, there is none here) and POLLERR */
    file_put(p[0]);
    cr_assert_eq(pipe_poll(p[1]) & POLLERR, POLLERR);
    u = one_uio(g_buf, 1);
    cr_assert_eq(vfs_write(p[1], &u, NULL), -EPIPE);
    file_put(p[1]);
}

Test(pipe_uio, hup_after_writer)
{
    struct file *p[2];
    cr_assert_eq(pipe_create(O_NONBLOCK, p), 0);
    cr_assert_eq(pipe_poll(p[0]), 0);
    file_put(p[1]);
    cr_assert_eq(pipe_poll(p[0]), POLLHUP);
    struct uio u = one_uio(g_buf, 10);
    cr_assert_eq(vfs_read(p[0], &u, NULL), 0, "EOF");
    file_put(p[0]);
}

/* ---- FIFOs ---- */

static struct file *fifo_file(struct inode *ino, int flags, int *err)
{
    struct file *f = file_alloc(NULL, (unsigned)flags, NULL);
    cr_assert_not_null(f);
    inode_get(ino);
    f->inode = ino;
    *err = fifo_open(NULL, ino, f, flags);
    return f;
}

Test(fifo, nonblocking_open_rules)
{
    struct inode *ino = inode_new(NULL, NULL, 7, S_IFIFO | 0644);
    cr_assert_not_null(ino);
    int err;
    /* a writer with no reader: ENXIO, and no pipe is left behind */
    struct file *w = fifo_file(ino, O_WRONLY | O_NONBLOCK, &err);
    cr_assert_eq(err, -ENXIO);
    cr_assert_null(ino->fifo);
    file_put(w);
    /* a non-blocking reader opens at once; then a writer can */
    struct file *r = fifo_file(ino, O_RDONLY | O_NONBLOCK, &err);
    cr_assert_eq(err, 0);
    cr_assert_not_null(ino->fifo);
    cr_assert_eq(pipe_poll(r), 0, "no POLLHUP before any writer");
    w = fifo_file(ino, O_WRONLY | O_NONBLOCK, &err);
    cr_assert_eq(err, 0);
    const char msg[] = "fifo";
    cr_assert_eq(mm_copy_out(g_mm, g_buf, msg, sizeof(msg), 0), 0);
    struct uio u = one_uio(g_buf, sizeof(msg));
    cr_assert_eq(vfs_write(w, &u, NULL), (ssize_t)sizeof(msg));
    u = one_uio(g_buf + PAGE_SIZE, 100);
    cr_assert_eq(vfs_read(r, &u, NULL), (ssize_t)sizeof(msg));
    file_put(w);
    cr_assert_eq(pipe_poll(r), POLLHUP, "the writer came and went");
    cr_assert_eq(vfs_read(r, &u, NULL), 0);
    file_put(r);
    /* the last end gone: the pipe is freed, the next open starts afresh */
    cr_assert_null(ino->fifo);
    /* O_RDWR never waits */
    struct file *rw = fifo_file(ino, O_RDWR, &err);
    cr_assert_eq(err, 0);
    cr_assert_eq(pipe_poll(rw), POLLOUT | POLLWRNORM);
    file_put(rw);
    cr_assert_null(ino->fifo);
    struct stat st;
    cr_assert_eq(inode_stat(ino, &st), 0);
    inode_put(ino);
}
