/* Lists of byte-range locks (see lock_range.h). */
#include "sentry/vfs/lock_range.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

static int overlaps(const struct lock_rec *a, const struct lock_rec *b)
{
    return a->start <= b->end && b->start <= a->end;
}

const struct lock_rec *lr_conflict(const struct lock_rec *list, const struct lock_rec *req)
{
    for (const struct lock_rec *r = list; r; r = r->next) {
        if (r->owner == req->owner || !overlaps(r, req))
            continue;
        if (r->type == F_WRLCK || req->type == F_WRLCK)
            return r;
    }
    return NULL;
}

const struct lock_rec *lr_test(const struct lock_rec *list, const struct lock_rec *req)
{
    if (req->type != F_UNLCK)
        return lr_conflict(list, req);
    for (const struct lock_rec *r = list; r; r = r->next)
        if (r->owner == req->owner && overlaps(r, req))
            return r;
    return NULL;
}

/* insert_sorted: puts r into the list *head kept sorted by start. */
static void insert_sorted(struct lock_rec **head, struct lock_rec *r)
{
    while (*head && (*head)->start < r->start)
        head = &(*head)->next;
    r->next = *head;
    *head = r;
}

int lr_apply(struct lock_rec **list, const struct lock_rec *req)
{
    /* At most two new records: one for the request and one for the far piece of a
     * record it splits in two. Taken up front so nothing fails halfway. */
    struct lock_rec *spare[2] = { malloc(sizeof(struct lock_rec)),
                                  malloc(sizeof(struct lock_rec)) };
    int nspare = 0;
    if (!spare[0] || !spare[1]) {
        free(spare[0]);
        free(spare[1]);
        return -ENOMEM;
    }

    /* Take the owner's records out; pos is where they go back (the tail when the
     * owner has none yet). */
    struct lock_rec **pos = list;
    while (*pos && (*pos)->owner != req->owner)
        pos = &(*pos)->next;
    struct lock_rec *mine = NULL, **mine_tail = &mine;
    while (*pos && (*pos)->owner == req->owner) {
        struct lock_rec *r = *pos;
        *pos = r->next;
        r->next = NULL;
        *mine_tail = r;
        mine_tail = &r->next;
    }

    int64_t start = req->start, end = req->end;
    struct lock_rec *kept = NULL;
    for (struct lock_rec *r = mine, *next; r; r = next) {
        next = r->next;
        /* the same type, overlapping or touching: absorb it (start - 1 rather than
         * end + 1, which would overflow at LR_EOF) */
        if (req->type != F_UNLCK && r->type == req->type && r->end >= start - 1 &&
            r->start - 1 <= end) {
            if (r->start < start)
                start = r->start;
            if (r->end > end)
                end = r->end;
            free(r);
            continue;
        }
        if (r->end < start || r->start > end) {
            insert_sorted(&kept, r);
            continue;
        }
        /* another type, or an unlock, over part of r: keep what lies outside */
        struct lock_rec *right = NULL;
        if (r->end > end) {
            right = r->start < start ? spare[nspare++] : r;
            *right = *r;
            right->start = end + 1;
        }
        if (r->start < start) {
            r->end = start - 1;
            insert_sorted(&kept, r);
        } else if (right != r) {
            free(r);
        }
        if (right)
            insert_sorted(&kept, right);
    }
    if (req->type != F_UNLCK) {
        struct lock_rec *n = spare[nspare++];
        *n = *req;
        n->start = start;
        n->end = end;
        insert_sorted(&kept, n);
    }

    /* back where the owner's records were */
    if (kept) {
        struct lock_rec *last = kept;
        while (last->next)
            last = last->next;
        last->next = *pos;
        *pos = kept;
    }
    while (nspare < 2)
        free(spare[nspare++]);
    return 0;
}

int lr_remove_owner(struct lock_rec **list, const void *owner)
{
    int n = 0;
    while (*list) {
        struct lock_rec *r = *list;
        if (r->owner == owner) {
            *list = r->next;
            free(r);
            n++;
        } else {
            list = &r->next;
        }
    }
    return n;
}

void lr_free_all(struct lock_rec **list)
{
    while (*list) {
        struct lock_rec *r = *list;
        *list = r->next;
        free(r);
    }
}
