/* Advisory file locks (see lock.h): POSIX and OFD record locks, flock locks, waiting,
 * and deadlock detection, after Linux's fs/locks.c.
 *
 * Waiting is simpler than Linux's blocker tree: a task that must wait sleeps on its
 * inode's wait queue, and every change to that inode's locks wakes all of them to
 * look again. Linux wakes only the requests blocked by the lock that changed; the
 * outcome (who may get which lock) is the same, only the number of wake-ups
 * differs. */
#include "sentry/vfs/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/err.h"
#include "sentry/kernel/waitq.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* Linux gives up looking for a cycle after this many steps (threads sharing an fd
 * table can make chains that do not end). */
#define MAX_DEADLK_ITERATIONS 10

/* The locks of one inode, or of one open file that has no inode (the stdio files the
 * CLI hands in: such a file is never opened twice, only shared by dup and fork, so
 * the open file is the object its locks are about). */
struct lock_ctx {
    struct inode *inode;              /* immutable: whose locks, or NULL ... */
    const struct file *anon;          /* immutable: ... this inode-less file's */
    struct lock_rec *posix;           /* POSIX and OFD record locks */
    struct lock_rec *flock;           /* flock locks */
    struct waitq wq;                  /* tasks waiting for a lock here */
    struct lock_ctx *prev, *next;     /* in g_contexts or g_anon_contexts */
};

/* A POSIX request asleep because of a conflict: what deadlock detection follows. */
struct blocked {
    struct lock_rec req;
    struct lock_ctx *ctx;
    struct blocked *next;
};

/* Protects every lock context (its lists), the lists below and the creation of
 * inode->locks. It comes after every VFS lock (it is taken at a file's last put and
 * at every close of an fd); only waitq.mu, and task->mu inside that, nest under it. */
static pthread_mutex_t g_file_locks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lock_ctx *g_contexts;        /* inodes' contexts; g_file_locks_mu */
static struct lock_ctx *g_anon_contexts;   /* inode-less files'; g_file_locks_mu */
static struct blocked *g_blocked;          /* g_file_locks_mu */

/* may_have_locks: a cheap look before taking the mutex: false only if f's object
 * has never had a lock (any thread; a context never goes away while its inode or
 * file is referenced). */
static int may_have_locks(const struct file *f)
{
    return !f->inode || __atomic_load_n(&f->inode->locks, __ATOMIC_ACQUIRE) != NULL;
}

static void ctx_link(struct lock_ctx **head, struct lock_ctx *ctx)
{
    ctx->prev = NULL;
    ctx->next = *head;
    if (*head)
        (*head)->prev = ctx;
    *head = ctx;
}

static void ctx_unlink(struct lock_ctx **head, struct lock_ctx *ctx)
{
    if (ctx->prev)
        ctx->prev->next = ctx->next;
    else
        *head = ctx->next;
    if (ctx->next)
        ctx->next->prev = ctx->prev;
}

/* ctx_free: frees an unlinked context (every lock belonged to an open file of its
 * object, so none should be left; free any rather than leak). */
static void ctx_free(struct lock_ctx *ctx)
{
    lr_free_all(&ctx->posix);
    lr_free_all(&ctx->flock);
    pthread_mutex_destroy(&ctx->wq.mu);
    free(ctx);
}

/* ctx_find: the context f's locks live in: its inode's, or for a file without an
 * inode its own. With create, made on first use (NULL if out of memory); without,
 * NULL if there is none. g_file_locks_mu held. */
static struct lock_ctx *ctx_find(struct file *f, int create)
{
    struct lock_ctx *ctx;
    if (f->inode) {
        if ((ctx = f->inode->locks) || !create)
            return ctx;
    } else {
        for (ctx = g_anon_contexts; ctx; ctx = ctx->next)
            if (ctx->anon == f)
                return ctx;
        if (!create)
            return NULL;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    waitq_init(&ctx->wq);
    if (f->inode) {
        ctx->inode = f->inode;
        ctx_link(&g_contexts, ctx);
        __atomic_store_n(&f->inode->locks, ctx, __ATOMIC_RELEASE);
    } else {
        ctx->anon = f;
        ctx_link(&g_anon_contexts, ctx);
    }
    return ctx;
}

/* wait_change: sleeps t until the locks of ctx change. g_file_locks_mu held on entry
 * and on return (dropped while asleep). 0, or -ERESTARTSYS on a signal or exit. */
static int wait_change(struct task *t, struct lock_ctx *ctx)
{
    struct waiter w;
    waiter_init(&w, t, POLLIN);
    waitq_add(&ctx->wq, &w);
    pthread_mutex_unlock(&g_file_locks_mu);
    int r = waiter_sleep(&w, NULL);
    waitq_remove(&ctx->wq, &w);
    pthread_mutex_lock(&g_file_locks_mu);
    return r == -EINTR ? -ERESTARTSYS : r;
}

static void wake_waiters(struct lock_ctx *ctx)
{
    waitq_wake(&ctx->wq, POLLIN);
}

/* what_owner_waits_for: the lock that keeps owner's blocked request from going on,
 * or NULL if owner is not waiting. g_file_locks_mu held. */
static const struct lock_rec *what_owner_waits_for(const void *owner)
{
    for (struct blocked *b = g_blocked; b; b = b->next)
        if (b->req.owner == owner)
            return lr_conflict(b->ctx->posix, &b->req);
    return NULL;
}

/* would_deadlock: whether req waiting for blocker closes a cycle: blocker's owner
 * waits for a lock whose owner waits ... for a lock of req's owner (Linux's
 * posix_locks_deadlock). Not for OFD requests, whose owner is no thread of
 * execution. g_file_locks_mu held. */
static int would_deadlock(const struct lock_rec *req, const struct lock_rec *blocker)
{
    if (req->flags & LR_OFD)
        return 0;
    for (int i = 0; (blocker = what_owner_waits_for(blocker->owner)); i++) {
        if (i > MAX_DEADLK_ITERATIONS)
            return 0;
        if (blocker->owner == req->owner)
            return 1;
    }
    return 0;
}

int vfs_lock_test(struct file *f, const struct lock_rec *req, struct lock_rec *out)
{
    if (!may_have_locks(f))
        return 0;
    pthread_mutex_lock(&g_file_locks_mu);
    struct lock_ctx *ctx = ctx_find(f, 0);
    const struct lock_rec *r = ctx ? lr_test(ctx->posix, req) : NULL;
    if (r) {
        *out = *r;
        out->next = NULL;
    }
    pthread_mutex_unlock(&g_file_locks_mu);
    return r != NULL;
}

int vfs_lock_set(struct task *t, struct file *f, const struct lock_rec *req, int wait)
{
    if (req->type == F_UNLCK && !may_have_locks(f))
        return 0;
    pthread_mutex_lock(&g_file_locks_mu);
    struct lock_ctx *ctx = ctx_find(f, req->type != F_UNLCK);
    int err = (ctx || req->type == F_UNLCK) ? 0 : -ENOMEM;
    while (ctx) {
        const struct lock_rec *c = req->type != F_UNLCK ? lr_conflict(ctx->posix, req) : NULL;
        if (!c) {
            err = lr_apply(&ctx->posix, req);
            if (err == 0)
                wake_waiters(ctx);
            break;
        }
        err = -EAGAIN;
        if (!wait)
            break;
        err = -EDEADLK;
        if (would_deadlock(req, c))
            break;
        /* POSIX requests are visible to other owners' deadlock checks while asleep */
        struct blocked b = { .req = *req, .ctx = ctx, .next = NULL };
        int visible = !(req->flags & LR_OFD);
        if (visible) {
            b.next = g_blocked;
            g_blocked = &b;
        }
        err = wait_change(t, ctx);
        if (visible) {
            struct blocked **pp = &g_blocked;
            while (*pp != &b)
                pp = &(*pp)->next;
            *pp = b.next;
        }
        if (err < 0)
            break;
    }
    pthread_mutex_unlock(&g_file_locks_mu);
    return err;
}

int vfs_flock(struct task *t, struct file *f, int type, int wait, int pid)
{
    if (type == F_UNLCK && !may_have_locks(f))
        return 0;
    struct lock_rec *n = NULL;
    if (type != F_UNLCK && !(n = malloc(sizeof(*n))))
        return -ENOMEM;
    pthread_mutex_lock(&g_file_locks_mu);
    struct lock_ctx *ctx = ctx_find(f, type != F_UNLCK);
    int err = (ctx || type == F_UNLCK) ? 0 : -ENOMEM;
    if (!ctx)
        goto out;
    /* f's own lock: the same type is nothing to do; another is dropped first, so a
     * conversion that must wait (or fails with LOCK_NB) has lost the old lock, as on
     * Linux */
    err = 0;
    for (struct lock_rec **pp = &ctx->flock; *pp; pp = &(*pp)->next) {
        struct lock_rec *r = *pp;
        if (r->owner != f)
            continue;
        if (r->type == type)
            goto out;
        *pp = r->next;
        free(r);
        wake_waiters(ctx);
        break;
    }
    if (type == F_UNLCK)
        goto out;
    *n = (struct lock_rec){ .owner = f, .type = type, .pid = pid, .start = 0, .end = LR_EOF };
    for (;;) {
        if (!lr_conflict(ctx->flock, n)) {
            struct lock_rec **tail = &ctx->flock;
            while (*tail)
                tail = &(*tail)->next;
            *tail = n;
            n = NULL;
            err = 0;
            break;
        }
        err = -EWOULDBLOCK;
        if (!wait)
            break;
        err = wait_change(t, ctx);
        if (err < 0)
            break;
    }
out:
    pthread_mutex_unlock(&g_file_locks_mu);
    free(n);
    return err;
}

void vfs_lock_close_posix(struct file *f, const void *owner)
{
    if (!may_have_locks(f))
        return;
    pthread_mutex_lock(&g_file_locks_mu);
    struct lock_ctx *ctx = ctx_find(f, 0);
    if (ctx && lr_remove_owner(&ctx->posix, owner))
        wake_waiters(ctx);
    pthread_mutex_unlock(&g_file_locks_mu);
}

void vfs_lock_release_file(struct file *f)
{
    if (!may_have_locks(f))
        return;
    pthread_mutex_lock(&g_file_locks_mu);
    struct lock_ctx *ctx = ctx_find(f, 0);
    if (ctx && !f->inode) {
        /* the file's own context goes with it (no one can wait on it any more:
         * waiters hold a reference) */
        ctx_unlink(&g_anon_contexts, ctx);
        ctx_free(ctx);
    } else if (ctx && lr_remove_owner(&ctx->posix, f) + lr_remove_owner(&ctx->flock, f)) {
        wake_waiters(ctx);
    }
    pthread_mutex_unlock(&g_file_locks_mu);
}

void vfs_lock_ctx_free(struct inode *ino)
{
    struct lock_ctx *ctx = ino->locks;
    if (!ctx)
        return;
    pthread_mutex_lock(&g_file_locks_mu);
    ctx_unlink(&g_contexts, ctx);
    pthread_mutex_unlock(&g_file_locks_mu);
    ctx_free(ctx);
    ino->locks = NULL;
}

/* emit: reports the records of one list to fn; nonzero when fn asks to stop. */
static int emit(const struct lock_ctx *ctx, const struct lock_rec *list, int flock,
                int (*fn)(const struct lock_info *li, void *arg), void *arg)
{
    for (const struct lock_rec *r = list; r; r = r->next) {
        struct lock_info li = {
            .kind = flock ? LI_FLOCK : (r->flags & LR_OFD) ? LI_OFD : LI_POSIX,
            .type = r->type,
            .pid = (r->flags & LR_OFD) ? -1 : r->pid,
            .dev = ctx->inode && ctx->inode->sb ? ctx->inode->sb->dev : 0,
            .ino = ctx->inode ? ctx->inode->ino : 0,
            .start = r->start,
            .end = r->end,
        };
        if (fn(&li, arg))
            return 1;
    }
    return 0;
}

void vfs_lock_for_each(int (*fn)(const struct lock_info *li, void *arg), void *arg)
{
    pthread_mutex_lock(&g_file_locks_mu);
    struct lock_ctx *const lists[] = { g_contexts, g_anon_contexts };
    for (int i = 0; i < 2; i++)
        for (struct lock_ctx *c = lists[i]; c; c = c->next)
            if (emit(c, c->posix, 0, fn, arg) || emit(c, c->flock, 1, fn, arg))
                goto out;
out:
    pthread_mutex_unlock(&g_file_locks_mu);
}
