/* The fid table (see fidtable.h). */
#include "gofer/fidtable.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* A Sentry that never closes fids runs out here rather than taking all our memory;
 * RLIMIT_NOFILE stops it sooner in practice. */
#define FID_MAX (1u << 20)

uint32_t fid_add(struct fid_table *t, int fd, uint32_t type)
{
    uint32_t i = t->free_hint;
    while (i < t->cap && t->v[i].fd >= 0)
        i++;
    if (i == t->cap) {
        uint32_t ncap = t->cap ? t->cap * 2 : 64;
        struct fid *nv = ncap <= FID_MAX ? realloc(t->v, ncap * sizeof(*nv)) : NULL;
        if (!nv) {
            close(fd);
            return 0;
        }
        for (uint32_t j = t->cap; j < ncap; j++)
            nv[j] = (struct fid){ .fd = -1, .dirfd = -1 };
        t->v = nv;
        t->cap = ncap;
    }
    t->v[i] = (struct fid){ .fd = fd, .dirfd = -1, .type = type };
    t->free_hint = i + 1;
    return i + 1;   /* fid 0 is never valid */
}

struct fid *fid_get(struct fid_table *t, uint32_t fid)
{
    if (fid == 0 || fid > t->cap || t->v[fid - 1].fd < 0)
        return NULL;
    return &t->v[fid - 1];
}

int fid_del(struct fid_table *t, uint32_t fid)
{
    struct fid *f = fid_get(t, fid);
    if (!f)
        return -EBADF;
    close(f->fd);
    if (f->dirfd >= 0)
        close(f->dirfd);
    *f = (struct fid){ .fd = -1, .dirfd = -1 };
    if (fid - 1 < t->free_hint)
        t->free_hint = fid - 1;
    return 0;
}
