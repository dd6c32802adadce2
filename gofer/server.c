/* The Gofer's set-up and message loop (see gofer.h). Messages move through an
 * io_uring (one recvmsg, then one sendmsg, at a time) restricted to exactly those two
 * operations; if the kernel has no io_uring the loop uses the plain calls. */
#include "gofer/gofer.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gofer/server.h"

struct transport {
    int sock;
    int have_ring;
    struct io_uring ring;
};

/* ring_setup: a ring that can only recvmsg and sendmsg, even if the Gofer were made
 * to submit something else (io_uring operations bypass seccomp). */
static int ring_setup(struct transport *t)
{
    if (io_uring_queue_init(4, &t->ring, IORING_SETUP_R_DISABLED) < 0)
        return -1;
    struct io_uring_restriction res[2] = {
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_RECVMSG },
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_SENDMSG },
    };
    /* raw calls: Debian 12's liburing declares the wrappers but does not export them */
    if (syscall(__NR_io_uring_register, t->ring.ring_fd, IORING_REGISTER_RESTRICTIONS,
                res, 2) < 0 ||
        syscall(__NR_io_uring_register, t->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
                NULL, 0) < 0) {
        io_uring_queue_exit(&t->ring);
        return -1;
    }
    t->have_ring = 1;
    return 0;
}

/* msg_io: one recvmsg or sendmsg; the byte count or -errno. */
static ssize_t msg_io(struct transport *t, struct msghdr *m, int send)
{
    for (;;) {
        ssize_t r;
        if (t->have_ring) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
            if (!sqe)
                return -EBUSY;
            if (send)
                io_uring_prep_sendmsg(sqe, t->sock, m, MSG_NOSIGNAL);
            else
                io_uring_prep_recvmsg(sqe, t->sock, m, 0);
            struct io_uring_cqe *cqe;
            r = io_uring_submit_and_wait(&t->ring, 1);
            if (r >= 0)
                r = io_uring_wait_cqe(&t->ring, &cqe);
            if (r < 0) {
                if (r == -EINTR)
                    continue;   /* the sqe was submitted or stays queued */
                return r;
            }
            r = cqe->res;
            io_uring_cqe_seen(&t->ring, cqe);
        } else {
            r = send ? sendmsg(t->sock, m, MSG_NOSIGNAL) : recvmsg(t->sock, m, 0);
            if (r < 0)
                r = -errno;
        }
        if (r != -EINTR)
            return r;
    }
}

/* send_reply: the reply, with fd attached by SCM_RIGHTS when fd >= 0. */
static ssize_t send_reply(struct transport *t, const void *buf, size_t len, int fd)
{
    struct iovec iov = { (void *)buf, len };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return msg_io(t, &m, 1);
}

/* serve: the loop. 0 when the Sentry has gone away, 1 on an unexpected error. */
static int serve(struct gofer_server *s, struct transport *t)
{
    /* one byte more than the largest message, so an oversized one is seen as such
     * (SEQPACKET truncates it to the buffer) and refused by the decoder */
    static unsigned char in[GP_MAX_MSG + 1], out[GP_MAX_MSG];
    for (;;) {
        /* no control buffer: any fds the Sentry tried to pass are discarded */
        struct iovec iov = { in, sizeof(in) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n = msg_io(t, &m, 0);
        if (n == 0 || n == -ECONNRESET)
            return 0;
        if (n < 0) {
            fprintf(stderr, "gofer: receive: %s\n", strerror((int)-n));
            return 1;
        }

        struct gp_req rq;
        struct gp_reply rp;
        uint32_t tag;
        int fd = -1;
        if (gp_decode_req(in, (size_t)n, &rq, &tag) < 0)
            rp = (struct gp_reply){ .type = GP_ERROR, .tag = tag, .err = EINVAL };
        else
            fd = gofer_handle(s, &rq, &rp);

        int len = gp_encode_reply(&rp, out, sizeof(out));
        if (len < 0) {   /* cannot happen with a correct handler; answer anyway */
            if (fd >= 0)
                close(fd);
            fd = -1;
            rp = (struct gp_reply){ .type = GP_ERROR, .tag = rp.tag, .err = EIO };
            len = gp_encode_reply(&rp, out, sizeof(out));
        }
        ssize_t w = send_reply(t, out, (size_t)len, fd);
        if (fd >= 0)
            close(fd);   /* the Sentry has its own copy now */
        if (w == -EPIPE || w == -ECONNRESET)
            return 0;
        if (w < 0) {
            fprintf(stderr, "gofer: send: %s\n", strerror((int)-w));
            return 1;
        }
    }
}

int gofer_main(const char *root, int sock, int readonly)
{
    static struct gofer_server s;   /* large (its scratch buffer): not on the stack */
    s.readonly = readonly;
    s.procfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s.procfd < 0) {
        fprintf(stderr, "gofer: /proc/self/fd: %s\n", strerror(errno));
        return 1;
    }
    if (chroot(root) < 0 || chdir("/") < 0) {
        fprintf(stderr, "gofer: chroot %s: %s\n", root, strerror(errno));
        return 1;
    }
    s.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s.rootfd < 0) {
        fprintf(stderr, "gofer: open root: %s\n", strerror(errno));
        return 1;
    }
    /* the guest may hold many files open: each is one fid here */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* modes arrive with the guest's umask applied already */
    umask(0);

    struct transport t = { .sock = sock };
    ring_setup(&t);   /* failure: plain recvmsg/sendmsg */
    int err = gofer_seccomp_install();
    if (err < 0) {
        fprintf(stderr, "gofer: seccomp: %s\n", strerror(-err));
        return 1;
    }
    return serve(&s, &t);
}
