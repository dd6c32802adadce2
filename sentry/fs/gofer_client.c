/* The Gofer client (see gofer_client.h). A mutex makes each request and its reply
 * one exchange; the tag check catches a reply that is not ours. Anything unexpected
 * from the Gofer (a dead socket, a bad packet, stray fds) marks the client dead
 * rather than guessing: the Gofer is a separate, simpler process and should not
 * misbehave, so a misbehaving one is treated as gone. */
#include "sentry/fs/gofer_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for more fds than a reply may carry, so extra ones are seen (and closed). */
#define MAX_RECV_FDS 8

struct gofer_client {
    int sock;
    pthread_mutex_t mu;     /* one exchange at a time; next_tag */
    uint32_t next_tag;
    int dead;               /* atomic: the Gofer is gone */
};

struct gofer_client *gc_new(int sock)
{
    struct gofer_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->sock = sock;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void gc_free(struct gofer_client *c)
{
    if (!c)
        return;
    close(c->sock);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int gc_detach(struct gofer_client *c)
{
    int sock = c->sock;
    pthread_mutex_destroy(&c->mu);
    free(c);
    return sock;
}

static void close_fds(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* recv_packet: one packet into buf and the fds that came with it. Its length, 0 if
 * the Gofer closed the socket, or -errno. */
static ssize_t recv_packet(int sock, void *buf, int *fds, int *nfds)
{
    union {
        char buf[CMSG_SPACE(MAX_RECV_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { buf, GP_MAX_MSG };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf) };
    ssize_t n;
    do
        n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    *nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k && *nfds < MAX_RECV_FDS; i++)
            memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    /* a packet cut short or with fds cut off is not one we can trust */
    if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        return -EMSGSIZE;
    return n;
}

/* exchange: one request and its reply, c->mu held. 0 or -EIO (with c->dead set). */
static int exchange(struct gofer_client *c, struct gp_req *rq, struct gp_reply *rp,
                    void *buf, int *fds, int *nfds)
{
    rq->tag = ++c->next_tag;
    unsigned char out[GP_MAX_MSG];
    int len = gp_encode_req(rq, out, sizeof(out));
    if (len < 0)
        return len;   /* our own bad request (a name too long ...): not the Gofer's fault */
    ssize_t w;
    do
        w = send(c->sock, out, (size_t)len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != len)
        goto dead;
    ssize_t n = recv_packet(c->sock, buf, fds, nfds);
    if (n <= 0 || gp_decode_reply(buf, (size_t)n, rp) < 0 || rp->tag != rq->tag ||
        (rp->type != rq->type && rp->type != GP_ERROR))
        goto dead;
    return 0;
dead:
    close_fds(fds, *nfds);
    *nfds = 0;
    __atomic_store_n(&c->dead, 1, __ATOMIC_RELEASE);
    return -EIO;
}

int gc_call(struct gofer_client *c, struct gp_req *rq, struct gp_reply *rp, void *buf,
            int *fd_out)
{
    if (fd_out)
        *fd_out = -1;
    if (__atomic_load_n(&c->dead, __ATOMIC_ACQUIRE))
        return -EIO;
    void *own = NULL;
    if (!buf && !(buf = own = malloc(GP_MAX_MSG)))
        return -ENOMEM;

    int fds[MAX_RECV_FDS], nfds = 0;
    pthread_mutex_lock(&c->mu);
    int err = __atomic_load_n(&c->dead, __ATOMIC_ACQUIRE) ? -EIO
                                                          : exchange(c, rq, rp, buf, fds, &nfds);
    pthread_mutex_unlock(&c->mu);
    free(own);
    if (err < 0)
        return err;

    /* fds: exactly one with a successful reply whose type carries one, else none */
    int want = rp->err == 0 && gp_reply_has_fd(rq->type);
    if (nfds != want || (want && !fd_out)) {
        close_fds(fds, nfds);
        if (nfds != want)
            __atomic_store_n(&c->dead, 1, __ATOMIC_RELEASE);
        return -EIO;
    }
    if (want)
        *fd_out = fds[0];
    return -(int)rp->err;
}
