/* Pty pairs through guest memory, without tasks (so only calls that do not block):
 * the readiness each end reports (file_ops.poll) and the wake-ups its wait queue
 * gets, as poll/select/epoll will use them; hangup and EIO; the devpts directory. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/fs/special.h"
#include "sentry/fs/tty_impl.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

/* ---- a platform that maps nothing, and some guest memory ---- */

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
static uint64_t g_buf;
static struct inode *g_root;

static void setup(void)
{
    g_plat = &nop;
    cr_assert_eq(memfile_init(1ULL << 28), 0);
    int err = 0;
    g_mm = mm_create(&err);
    cr_assert_not_null(g_mm);
    int64_t a = mm_mmap(g_mm, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS);
    cr_assert_gt(a, 0);
    g_buf = (uint64_t)a;
    cr_assert_not_null(devpts_new(&g_root, &err));
}

TestSuite(pty, .init = setup);

static struct guest_iovec g_iov;
static struct uio one_uio(uint64_t addr, size_t len)
{
    g_iov = (struct guest_iovec){ gva(addr), len };
    return (struct uio){ .mm = g_mm, .iov = &g_iov, .iovcnt = 1, .size = len };
}

static struct file *open_dev(unsigned maj, unsigned min, int *err)
{
    struct file *f = file_alloc(NULL, O_RDWR | O_NONBLOCK, NULL);
    cr_assert_not_null(f);
    *err = chrdev_open(NULL, makedev(maj, min), f, O_RDWR | O_NONBLOCK | O_NOCTTY);
    if (*err < 0)
        f->ops = NULL;
    return f;
}

static ssize_t put(struct file *f, const char *s)
{
    cr_assert_eq(mm_copy_out(g_mm, g_buf, s, strlen(s), 0), 0);
    struct uio u = one_uio(g_buf, strlen(s));
    return vfs_write(f, &u, NULL);
}

static ssize_t get(struct file *f, char *out, size_t size)
{
    struct uio u = one_uio(g_buf + PAGE_SIZE, size - 1);
    ssize_t n = vfs_read(f, &u, NULL);
    if (n > 0)
        cr_assert_eq(mm_copy_in(g_mm, out, g_buf + PAGE_SIZE, (size_t)n), 0);
    out[n > 0 ? n : 0] = 0;
    return n;
}

static unsigned ready(struct file *f) { return f->ops->poll(f, NULL); }

/* a callback waiter, as epoll registers */
static unsigned g_events_seen;
static int on_wake(struct waiter *w, unsigned events)
{
    (void)w;
    g_events_seen |= events;
    return 1;
}

/* open_pair: a master and its unlocked slave. */
static struct pty *open_pair(struct file **m, struct file **s)
{
    int err;
    *m = open_dev(5, 2, &err);
    cr_assert_eq(err, 0);
    struct pty *p = tty_file_pty(*m);
    *s = open_dev(PTS_MAJOR, (unsigned)p->index, &err);
    cr_assert_eq(err, -EIO, "locked until unlockpt");
    file_put(*s);
    p->locked = 0;
    *s = open_dev(PTS_MAJOR, (unsigned)p->index, &err);
    cr_assert_eq(err, 0);
    return p;
}

Test(pty, readiness_and_wakeups)
{
    struct file *m, *s;
    struct pty *p = open_pair(&m, &s);
    struct waitq *mq, *sq;
    cr_assert_eq(m->ops->poll(m, &mq), POLLOUT | POLLWRNORM);
    cr_assert_eq(s->ops->poll(s, &sq), POLLOUT | POLLWRNORM);
    cr_assert_eq(mq, &p->master_wq);
    cr_assert_eq(sq, &p->slave_wq);

    struct waiter w;
    waiter_init(&w, NULL, POLLIN);
    w.fn = on_wake;
    waitq_add(sq, &w);
    g_events_seen = 0;
    cr_assert_eq(put(m, "ab"), 2);
    cr_assert_eq(ready(s) & POLLIN, 0, "no line yet");
    cr_assert_eq(ready(m) & POLLIN, POLLIN, "the echo");
    cr_assert_eq(put(m, "\n"), 1);
    cr_assert(g_events_seen & POLLIN, "the slave's reader was woken");
    cr_assert_eq(ready(s) & (POLLIN | POLLRDNORM), POLLIN | POLLRDNORM);
    waitq_remove(sq, &w);

    char buf[64];
    cr_assert_eq(get(s, buf, sizeof(buf)), 3);
    cr_assert_str_eq(buf, "ab\n");
    cr_assert_eq(ready(s) & POLLIN, 0);
    cr_assert_eq(get(s, buf, sizeof(buf)), -EAGAIN);
    cr_assert_eq(get(m, buf, sizeof(buf)), 4);
    cr_assert_str_eq(buf, "ab\r\n");
    cr_assert_eq(get(m, buf, sizeof(buf)), -EAGAIN);

    /* the slave writes: the master's waiter wakes */
    waiter_init(&w, NULL, POLLIN);
    w.fn = on_wake;
    waitq_add(mq, &w);
    g_events_seen = 0;
    cr_assert_eq(put(s, "out\n"), 4);
    cr_assert(g_events_seen & POLLIN);
    waitq_remove(mq, &w);
    cr_assert_eq(get(m, buf, sizeof(buf)), 5);
    cr_assert_str_eq(buf, "out\r\n");

    /* the last slave closes: POLLHUP and EIO on the master once drained */
    cr_assert_eq(put(s, "z"), 1);
    file_put(s);
    cr_assert_eq(ready(m) & (POLLIN | POLLHUP), POLLIN | POLLHUP);
    cr_assert_eq(get(m, buf, sizeof(buf)), 1);
    cr_assert_eq(get(m, buf, sizeof(buf)), -EIO);

    /* the master closes: the slave is hung up */
    int err;
    s = open_dev(PTS_MAJOR, (unsigned)p->index, &err);
    cr_assert_eq(err, 0);
    file_put(m);
    cr_assert_eq(ready(s), POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM);
    cr_assert_eq(get(s, buf, sizeof(buf)), 0);
    cr_assert_eq(put(s, "x"), -EIO);
    file_put(s);
}

Test(pty, full_buffers)
{
    struct file *m, *s;
    open_pair(&m, &s);
    static char big[PAGE_SIZE];
    memset(big, 'x', sizeof(big) - 1);
    /* the master's reader does not read: the slave's writes fill its buffer */
    ssize_t total = 0, n;
    while ((n = put(s, big)) > 0)
        total += n;
    cr_assert_eq(n, -EAGAIN);
    cr_assert_eq(total, PTY_RING_SIZE);
    cr_assert_eq(ready(s) & POLLOUT, 0);
    char buf[64];
    cr_assert_eq(get(m, buf, sizeof(buf)), 63);
    cr_assert_eq(ready(s) & POLLOUT, POLLOUT, "room again");
    file_put(s);
    file_put(m);
}

static int g_found_ptmx, g_found_n;
static char g_want[16];
static int emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino, unsigned type,
                int64_t next_pos)
{
    (void)e, (void)ino, (void)next_pos;
    g_found_ptmx |= len == 4 && !memcmp(name, "ptmx", 4) && type == DT_CHR;
    g_found_n |= len == strlen(g_want) && !memcmp(name, g_want, len) && type == DT_CHR;
    return 0;
}

Test(pty, devpts_tree)
{
    struct file *m, *s;
    struct pty *p = open_pair(&m, &s);
    snprintf(g_want, sizeof(g_want), "%d", p->index);
    struct inode *ino;
    cr_assert_eq(g_root->ops->lookup(g_root, g_want, &ino), 0);
    cr_assert(S_ISCHR(ino->mode));
    cr_assert_eq(ino->rdev, makedev(PTS_MAJOR, p->index));
    cr_assert_eq(ino->ino, (uint64_t)p->index + 3);
    inode_put(ino);
    cr_assert_eq(g_root->ops->lookup(g_root, "ptmx", &ino), 0);
    cr_assert_eq(ino->rdev, makedev(5, 2));
    inode_put(ino);
    cr_assert_eq(g_root->ops->lookup(g_root, "00", &ino), -ENOENT);

    struct file *d = file_alloc(NULL, O_RDONLY, NULL);
    cr_assert_eq(g_root->ops->open(g_root, d, O_RDONLY), 0);
    d->inode = g_root;
    inode_get(g_root);
    struct dir_emit e = { emit };
    cr_assert_eq(d->ops->iterate(d, &e), 0);
    cr_assert(g_found_ptmx && g_found_n);
    file_put(d);

    file_put(m);   /* the node goes with the master */
    cr_assert_eq(g_root->ops->lookup(g_root, g_want, &ino), -ENOENT);
    file_put(s);
}
