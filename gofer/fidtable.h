/* The Gofer's fid table: the numbers the Sentry names files by, each an O_PATH host
 * fd the Gofer opened itself. Fids start at 1 and are reused after CLOSE. */
#ifndef GOFER_FIDTABLE_H
#define GOFER_FIDTABLE_H

#include <stdint.h>

struct fid {
    int fd;          /* O_PATH|O_NOFOLLOW; -1: the slot is free */
    int dirfd;       /* directories: a readable fd for getdents, opened on first use */
    uint32_t type;   /* S_IFMT of the file, fixed when the fid was made */
};

struct fid_table {
    struct fid *v;
    uint32_t cap;
    uint32_t free_hint;
};

/* fid_add: a new fid for fd (moved in; closed on failure). 0 on failure (ENFILE). */
uint32_t fid_add(struct fid_table *t, int fd, uint32_t type);
/* fid_get: the entry of fid, or NULL if it is not open. */
struct fid *fid_get(struct fid_table *t, uint32_t fid);
/* fid_del: closes fid's fds and frees it. 0 or -EBADF. */
int fid_del(struct fid_table *t, uint32_t fid);

#endif
