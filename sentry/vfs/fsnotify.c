/* fsnotify (see fsnotify.h): marks on inodes and groups, and the hooks that turn VFS
 * operations into events for them, with Linux's masks and order. */
#include "sentry/vfs/fsnotify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* One watch: a group's interest in an inode. */
struct fsnotify_mark {
    struct fsnotify_group *group;      /* immutable */
    struct inode *inode;               /* a reference; immutable */
    int wd;                            /* immutable */
    uint32_t mask;                     /* IN_* events, IN_ONESHOT, IN_EXCL_UNLINK;
                                        * conn.mu and group.mu to change */
    int refs;                          /* atomic: one while attached, one per user */
    int attached;                      /* conn.mu and group.mu */
    struct fsnotify_mark *inode_next;  /* conn.mu; after detach: the put list */
    struct fsnotify_mark *group_next;  /* group.mu */
};

/* inode->fsnotify: made with the inode's first mark, freed with the inode. All of
 * them are on one list, for unmount to find a superblock's. */
struct fsnotify_conn {
    pthread_mutex_t mu;
    struct fsnotify_mark *marks;       /* mu */
    struct inode *inode;               /* immutable */
    struct fsnotify_conn *next, **pprev;   /* g_conns_mu */
};

int g_fsnotify_marks;
static uint32_t g_cookie;
static pthread_mutex_t g_conns_mu = PTHREAD_MUTEX_INITIALIZER;   /* innermost */
static struct fsnotify_conn *g_conns;                            /* g_conns_mu */

static struct fsnotify_conn *conn_of(struct inode *ino)
{
    return __atomic_load_n(&ino->fsnotify, __ATOMIC_ACQUIRE);
}

static struct fsnotify_conn *conn_make(struct inode *ino)
{
    struct fsnotify_conn *c = conn_of(ino);
    if (c)
        return c;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->inode = ino;
    struct fsnotify_conn *expected = NULL;
    pthread_mutex_lock(&g_conns_mu);
    if (!__atomic_compare_exchange_n(&ino->fsnotify, &expected, c, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&g_conns_mu);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return expected;
    }
    c->next = g_conns;
    if (g_conns)
        g_conns->pprev = &c->next;
    c->pprev = &g_conns;
    g_conns = c;
    pthread_mutex_unlock(&g_conns_mu);
    return c;
}

void fsnotify_inode_free(struct inode *ino)
{
    struct fsnotify_conn *c = ino->fsnotify;
    if (!c)
        return;
    pthread_mutex_lock(&g_conns_mu);
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    pthread_mutex_unlock(&g_conns_mu);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void mark_put(struct fsnotify_mark *m)
{
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        inode_put(m->inode);
        free(m);
    }
}

/* detach: takes m off its inode and its group; the attached reference goes on
 * *dead, to be put once the locks are dropped. c->mu and the group's mu held. */
static void detach(struct fsnotify_conn *c, struct fsnotify_mark *m,
                   struct fsnotify_mark **dead)
{
    struct fsnotify_mark **pp = &c->marks;
    while (*pp && *pp != m)
        pp = &(*pp)->inode_next;
    if (*pp)
        *pp = m->inode_next;
    struct fsnotify_group *g = m->group;
    for (pp = &g->marks; *pp && *pp != m; pp = &(*pp)->group_next)
        ;
    if (*pp)
        *pp = m->group_next;
    m->attached = 0;
    g->nmarks--;
    __atomic_sub_fetch(&g_fsnotify_marks, 1, __ATOMIC_RELAXED);
    m->inode_next = *dead;
    *dead = m;
}

static void put_dead(struct fsnotify_mark *dead)
{
    while (dead) {
        struct fsnotify_mark *next = dead->inode_next;
        mark_put(dead);
        dead = next;
    }
}

/* ---- groups and watches ---- */

void fsnotify_group_init(struct fsnotify_group *g, const struct fsnotify_group_ops *ops)
{
    memset(g, 0, sizeof(*g));
    g->ops = ops;
    pthread_mutex_init(&g->mu, NULL);
}

/* remove: detaches m (a reference held by the caller) if it still is attached;
 * ignored says whether g hears IN_IGNORED. Returns whether it was attached. */
static int remove_mark(struct fsnotify_mark *m, int ignored)
{
    struct fsnotify_conn *c = conn_of(m->inode);
    struct fsnotify_group *g = m->group;
    struct fsnotify_mark *dead = NULL;
    pthread_mutex_lock(&c->mu);
    pthread_mutex_lock(&g->mu);
    int was = m->attached;
    if (was) {
        detach(c, m, &dead);
        if (ignored)
            g->ops->event(g, m->wd, IN_IGNORED, 0, NULL);
    }
    pthread_mutex_unlock(&g->mu);
    pthread_mutex_unlock(&c->mu);
    put_dead(dead);
    return was;
}

void fsnotify_group_release(struct fsnotify_group *g)
{
    for (;;) {
        pthread_mutex_lock(&g->mu);
        struct fsnotify_mark *m = g->marks;
        if (m)
            __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&g->mu);
        if (!m)
            break;
        remove_mark(m, 0);
        mark_put(m);
    }
    pthread_mutex_destroy(&g->mu);
}

int fsnotify_add_watch(struct fsnotify_group *g, struct inode *ino, uint32_t mask)
{
    uint32_t events = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
    struct fsnotify_conn *c = conn_make(ino);
    if (!c)
        return -ENOMEM;
    pthread_mutex_lock(&c->mu);
    pthread_mutex_lock(&g->mu);
    struct fsnotify_mark *m = c->marks;
    while (m && m->group != g)
        m = m->inode_next;
    int ret;
    if (m) {
        if (mask & IN_MASK_CREATE) {
            ret = -EEXIST;
        } else {
            m->mask = (mask & IN_MASK_ADD) ? m->mask | events : events;
            ret = m->wd;
        }
    } else if (g->nmarks >= FSNOTIFY_MAX_MARKS || !(m = calloc(1, sizeof(*m)))) {
        ret = g->nmarks >= FSNOTIFY_MAX_MARKS ? -ENOSPC : -ENOMEM;
    } else {
        /* watch descriptors count up, as Linux's cyclic allocation does */
        if (g->next_wd == INT_MAX)
            g->next_wd = 0;
        m->wd = ++g->next_wd;
        m->group = g;
        m->inode = ino;
        inode_get(ino);
        m->mask = events;
        m->refs = 1;
        m->attached = 1;
        m->inode_next = c->marks;
        c->marks = m;
        m->group_next = g->marks;
        g->marks = m;
        g->nmarks++;
        __atomic_add_fetch(&g_fsnotify_marks, 1, __ATOMIC_RELAXED);
        ret = m->wd;
    }
    pthread_mutex_unlock(&g->mu);
    pthread_mutex_unlock(&c->mu);
    return ret;
}

int fsnotify_rm_watch(struct fsnotify_group *g, int wd)
{
    pthread_mutex_lock(&g->mu);
    struct fsnotify_mark *m = g->marks;
    while (m && m->wd != wd)
        m = m->group_next;
    if (m)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g->mu);
    if (!m)
        return -EINVAL;
    remove_mark(m, 1);
    mark_put(m);
    return 0;
}

/* ---- events ---- */

/* deliver: mask (with cookie and name) to the marks of ino that want it; unlinked:
 * the event is about a file whose name is gone (IN_EXCL_UNLINK marks skip it). */
static void deliver(struct inode *ino, uint32_t mask, uint32_t cookie, const char *name,
                    int unlinked)
{
    struct fsnotify_conn *c = conn_of(ino);
    if (!c)
        return;
    struct fsnotify_mark *dead = NULL, *next;
    pthread_mutex_lock(&c->mu);
    for (struct fsnotify_mark *m = c->marks; m; m = next) {
        next = m->inode_next;
        if (!(m->mask & mask & IN_ALL_EVENTS) || (unlinked && (m->mask & IN_EXCL_UNLINK)))
            continue;
        struct fsnotify_group *g = m->group;
        pthread_mutex_lock(&g->mu);
        g->ops->event(g, m->wd, mask, cookie, name);
        if (m->mask & IN_ONESHOT) {
            detach(c, m, &dead);
            g->ops->event(g, m->wd, IN_IGNORED, 0, NULL);
        }
        pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_unlock(&c->mu);
    put_dead(dead);
}

void fsnotify_name_event(struct inode *dir, uint32_t mask, const char *name,
                         uint32_t cookie)
{
    deliver(dir, mask, cookie, name, 0);
}

void fsnotify_inode_event(struct inode *ino, uint32_t mask)
{
    /* inotify never reported IN_ISDIR with the two self events, and Linux keeps it so */
    if (inode_is_dir(ino) && !(mask & (IN_MOVE_SELF | IN_DELETE_SELF)))
        mask |= IN_ISDIR;
    deliver(ino, mask, 0, NULL, 0);
}

void fsnotify_dentry_event(struct dentry *d, uint32_t mask, int path_event)
{
    struct inode *ino = d->inode;
    if (inode_is_dir(ino))
        mask |= IN_ISDIR;
    char name[NAME_MAX + 1];
    struct inode *parent = NULL;
    pthread_mutex_lock(&vfs_tree_mu);
    /* as Linux's d_unlinked test: only events on an open file's path count */
    int unlinked = path_event && d->dead;
    if (d->parent && conn_of(d->parent->inode)) {
        parent = d->parent->inode;
        inode_get(parent);
        size_t n = strlen(d->name);
        if (n > NAME_MAX)
            n = NAME_MAX;
        memcpy(name, d->name, n);
        name[n] = '\0';
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    /* a watching directory hears first, with the name, then the file's own watch */
    if (parent) {
        deliver(parent, mask, 0, name, unlinked);
        inode_put(parent);
    }
    deliver(ino, mask, 0, NULL, unlinked);
}

void fsnotify_file_event(struct file *f, uint32_t mask)
{
    if (!f->inode || (f->flags & O_PATH))
        return;
    /* a stacked filesystem's inner file (the overlay's) names the outer dentry but
     * is another inode: its events are not the file's */
    if (f->path.d && f->path.d->inode == f->inode)
        fsnotify_dentry_event(f->path.d, mask, 1);
    else
        fsnotify_inode_event(f->inode, mask);
}

void fsnotify_move_event(struct inode *odir, const char *oname, struct inode *ndir,
                         const char *nname, struct inode *moved, struct inode *target)
{
    uint32_t cookie;
    do
        cookie = __atomic_add_fetch(&g_cookie, 1, __ATOMIC_RELAXED);
    while (cookie == 0);
    uint32_t isdir = inode_is_dir(moved) ? IN_ISDIR : 0;
    deliver(odir, IN_MOVED_FROM | isdir, cookie, oname, 0);
    deliver(ndir, IN_MOVED_TO | isdir, cookie, nname, 0);
    if (target)
        fsnotify_inode_event(target, IN_ATTRIB);
    fsnotify_inode_event(moved, IN_MOVE_SELF);
}

void fsnotify_change(struct dentry *d, unsigned ia_valid)
{
    if (!fsnotify_on())
        return;
    /* Linux's fsnotify_change */
    uint32_t mask = 0;
    if (ia_valid & (ATTR_UID | ATTR_GID | ATTR_MODE))
        mask |= IN_ATTRIB;
    if (ia_valid & ATTR_SIZE)
        mask |= IN_MODIFY;
    if ((ia_valid & (ATTR_ATIME | ATTR_MTIME)) == (ATTR_ATIME | ATTR_MTIME))
        mask |= IN_ATTRIB;
    else if (ia_valid & ATTR_ATIME)
        mask |= IN_ACCESS;
    else if (ia_valid & ATTR_MTIME)
        mask |= IN_MODIFY;
    if (mask)
        fsnotify_dentry_event(d, mask, 0);
}

/* end_watches: the inode of c is gone for its watchers: each hears why (mask, if
 * its mask asks for it or always is set), then IN_IGNORED, and the watch goes. */
static void end_watches(struct fsnotify_conn *c, uint32_t mask, int always)
{
    struct fsnotify_mark *dead = NULL, *next;
    pthread_mutex_lock(&c->mu);
    for (struct fsnotify_mark *m = c->marks; m; m = next) {
        next = m->inode_next;
        struct fsnotify_group *g = m->group;
        pthread_mutex_lock(&g->mu);
        if (always || (m->mask & mask))
            g->ops->event(g, m->wd, mask, 0, NULL);
        detach(c, m, &dead);
        g->ops->event(g, m->wd, IN_IGNORED, 0, NULL);
        pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_unlock(&c->mu);
    put_dead(dead);
}

void fsnotify_dentry_freed(struct dentry *d)
{
    struct inode *ino = d->inode;
    struct fsnotify_conn *c = conn_of(ino);
    /* the inode's last name and last dentry are gone: so are its watches */
    if (c && __atomic_load_n(&ino->nlink, __ATOMIC_RELAXED) == 0)
        end_watches(c, IN_DELETE_SELF, 0);
}

/* get_unless_zero: a reference on ino unless its last one is already going. */
static int get_unless_zero(struct inode *ino)
{
    int r = __atomic_load_n(&ino->refs, __ATOMIC_RELAXED);
    while (r > 0)
        if (__atomic_compare_exchange_n(&ino->refs, &r, r + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return 1;
    return 0;
}

void fsnotify_unmount(struct superblock *sb)
{
    if (!fsnotify_on())
        return;
    for (;;) {
        struct fsnotify_conn *c;
        pthread_mutex_lock(&g_conns_mu);
        for (c = g_conns; c; c = c->next)
            if (c->inode->sb == sb && __atomic_load_n(&c->marks, __ATOMIC_RELAXED) &&
                get_unless_zero(c->inode))
                break;
        pthread_mutex_unlock(&g_conns_mu);
        if (!c)
            return;
        struct inode *ino = c->inode;
        /* IN_UNMOUNT goes to every watch, with IN_ISDIR for a directory */
        end_watches(c, IN_UNMOUNT | (inode_is_dir(ino) ? IN_ISDIR : 0), 1);
        inode_put(ino);
    }
}
