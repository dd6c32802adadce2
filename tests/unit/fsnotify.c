/* fsnotify and inotify files without a guest: watches on tmpfs inodes, the same wd
 * for the same inode, mask replacement, poll readiness and the wait queue a poller
 * registers on, IN_ONESHOT, and that closing the inotify file drops every watch and
 * the inode references they held. (Event order and read(2) are in the guest test
 * fs_inotify.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>

#include "sentry/fs/inotify.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/memfile.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/vfs.h"

static struct inode *root, *file;

static void setup(void)
{
    cr_assert_eq(memfile_init(1ULL << 28), 0);
    int err = 0;
    cr_assert_not_null(tmpfs_new("tmpfs", S_IFDIR | 0755, 0, 0, &root, &err));
    struct new_node nn = { .mode = S_IFREG | 0644 };
    cr_assert_eq(root->ops->create(root, "f", &nn, &file), 0);
}

TestSuite(fsnotify, .init = setup);

static unsigned woken;
static int on_wake(struct waiter *w, unsigned events)
{
    (void)w;
    woken |= events;
    return 1;
}

Test(fsnotify, watch_poll_and_close)
{
    struct file *f;
    cr_assert_eq(inotify_create(IN_ONESHOT, &f), -EINVAL);
    cr_assert_eq(inotify_create(IN_NONBLOCK, &f), 0);
    cr_assert(is_inotify_file(f));
    cr_assert_eq(f->flags & O_NONBLOCK, O_NONBLOCK);

    struct waitq *wq = NULL;
    cr_assert_eq(f->ops->poll(f, &wq), 0);
    cr_assert_not_null(wq);
    struct waiter w;
    waiter_init(&w, NULL, POLLIN);
    w.fn = on_wake;
    waitq_add(wq, &w);

    int refs = file->refs;
    cr_assert(!fsnotify_on());
    int wd = inotify_watch(f, file, IN_MODIFY);
    cr_assert_eq(wd, 1);
    cr_assert(fsnotify_on());
    cr_assert_eq(file->refs, refs + 1);   /* the watch holds the inode */
    cr_assert_eq(inotify_watch(f, file, IN_ATTRIB), wd);   /* replaces the mask */
    cr_assert_eq(inotify_watch(f, file, IN_ATTRIB | IN_MASK_CREATE), -EEXIST);

    fsnotify_inode_event(file, IN_MODIFY);   /* no longer watched for */
    cr_assert_eq(f->ops->poll(f, NULL), 0);
    cr_assert_eq(woken, 0);
    fsnotify_link_count(file);
    cr_assert_eq(f->ops->poll(f, NULL), POLLIN | POLLRDNORM);
    cr_assert(woken & POLLIN);
    waitq_remove(wq, &w);

    /* a second watch, one-shot, on the directory */
    int wd2 = inotify_watch(f, root, IN_CREATE | IN_ONESHOT);
    cr_assert_eq(wd2, 2);
    fsnotify_create(root, "x", 0);
    cr_assert_eq(inotify_unwatch(f, wd2), -EINVAL);   /* gone after its event */
    cr_assert_eq(inotify_unwatch(f, 99), -EINVAL);

    file_put(f);   /* the watch on file goes with the group */
    cr_assert(!fsnotify_on());
    cr_assert_eq(file->refs, refs);
}
