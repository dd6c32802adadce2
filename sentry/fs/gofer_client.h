/* The Sentry's end of the Gofer socket: one request/response exchange at a time.
 * Used by goferfs; see gofer/proto.h for the messages. */
#ifndef SENTRY_FS_GOFER_CLIENT_H
#define SENTRY_FS_GOFER_CLIENT_H

#include "gofer/proto.h"

struct gofer_client;

/* gc_new: a client on sock (moved in on success). NULL: out of memory. */
struct gofer_client *gc_new(int sock);
/* gc_free: closes the socket (the Gofer then exits) and frees c. */
void gc_free(struct gofer_client *c);

/* gc_detach: frees c but leaves its socket open; returns the socket. */
int gc_detach(struct gofer_client *c);

/* gc_call: sends rq (its tag is set here) and waits for the reply into *rp.
 * buf (GP_MAX_MSG bytes) receives the packet so rp's strings can point into it; NULL
 * when the caller needs no strings. fd_out: where a reply's host fd goes (exactly one
 * is required when the type carries one; it is close-on-exec), or NULL.
 * Returns 0, the reply's -errno, or -EIO once the Gofer is gone or misbehaved: from
 * then on every call fails with -EIO at once. */
int gc_call(struct gofer_client *c, struct gp_req *rq, struct gp_reply *rp, void *buf,
            int *fd_out);

#endif
