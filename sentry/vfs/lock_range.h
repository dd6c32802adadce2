/* Lists of byte-range locks: the pure part of file locking (no mutexes, no tasks, no
 * guest memory), so the splitting and merging can be unit-tested.
 *
 * A list holds the locks of one inode and one family (POSIX and OFD record locks
 * together, or flock locks). Its order is Linux's: each owner's records are
 * consecutive and sorted by start, owners in the order they first locked; F_GETLK
 * reports the first conflicting record in this order, as Linux does. An owner's
 * records never overlap, and two of its records of the same type never touch (they
 * are merged). */
#ifndef SENTRY_VFS_LOCK_RANGE_H
#define SENTRY_VFS_LOCK_RANGE_H

#include <stdint.h>

/* The end of a lock that runs to the end of the file, however far it grows (Linux's
 * OFFSET_MAX). */
#define LR_EOF INT64_MAX

enum {
    LR_OFD = 1 << 0,     /* an open file description lock (F_GETLK shows l_pid -1) */
};

struct lock_rec {
    const void *owner;   /* POSIX: the fd table; OFD and flock: the open file */
    int type;            /* F_RDLCK or F_WRLCK (F_UNLCK only in a request) */
    int pid;             /* tgid of the process that set it (F_GETLK's l_pid) */
    unsigned flags;      /* LR_* */
    int64_t start, end;  /* bytes start..end inclusive; end LR_EOF: to end of file */
    struct lock_rec *next;
};

/* lr_conflict: the first record of list that blocks req: another owner's, overlapping
 * req's range, and one of the two a write lock. NULL if none. */
const struct lock_rec *lr_conflict(const struct lock_rec *list, const struct lock_rec *req);

/* lr_test: what F_GETLK reports for req: lr_conflict, except that an F_UNLCK request
 * (F_OFD_GETLK allows it) finds the first record of req's own owner overlapping it. */
const struct lock_rec *lr_test(const struct lock_rec *list, const struct lock_rec *req);

/* lr_apply: makes req->owner's locks on req's range be of req->type (F_UNLCK: none),
 * splitting records it cuts and merging touching records of the same type; without
 * looking at other owners (the caller checked lr_conflict). The new records copy
 * req's pid and flags. 0, or -ENOMEM with the list unchanged. */
int lr_apply(struct lock_rec **list, const struct lock_rec *req);

/* lr_remove_owner: frees every record of owner; returns how many there were. */
int lr_remove_owner(struct lock_rec **list, const void *owner);

/* lr_free_all: frees every record of the list and empties it. */
void lr_free_all(struct lock_rec **list);

#endif
