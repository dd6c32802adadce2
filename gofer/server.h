/* The Gofer's internals shared by its files: the server state and the request
 * handlers (handlers.c), the seccomp filter (seccomp.c), the message loop (server.c). */
#ifndef GOFER_SERVER_H
#define GOFER_SERVER_H

#include "gofer/fidtable.h"
#include "gofer/proto.h"

struct gofer_server {
    int rootfd;                  /* O_PATH of "/" after the chroot */
    int procfd;                  /* /proc/self/fd, opened before the chroot: reopens an
                                  * O_PATH fd with real access by its number */
    int readonly;
    struct fid_table fids;
    char scratch[GP_MAX_MSG];    /* strings a reply points to (link target, names) */
};

/* gofer_handle: carries out rq and fills rp (type, tag, errno and fields). Returns
 * a host fd to send with the reply (the caller closes it afterwards), or -1. */
int gofer_handle(struct gofer_server *s, const struct gp_req *rq, struct gp_reply *rp);

/* gofer_seccomp_install: the allowlist; anything else kills the process. 0 or -errno. */
int gofer_seccomp_install(void);

#endif
