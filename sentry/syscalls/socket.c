/* Socket system calls (Linux's net/socket.c): they look the socket up, copy the
 * guest's addresses, message headers, I/O vectors, control data and option values
 * into Sentry memory with Linux's bounds and error order, call the generic layer
 * (sentry/socket/socket.h) and copy results back. Nothing here knows a family. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/socket.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* Linux's net.core.somaxconn default: listen's backlog is cut to it. */
#define SOMAXCONN_DEFAULT 4096
/* The 32-bit compat flag (Linux's MSG_CMSG_COMPAT): a 64-bit caller's is ignored. */
#define MSG_CMSG_COMPAT_FLAG 0x80000000

/* ---- looking sockets up ---- */

/* sock_get: the socket at fd, with a reference on its file in *fp. -EBADF or
 * -ENOTSOCK. */
static int sock_get(struct task *t, int fd, struct file **fp, struct socket **sp)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    struct socket *s = socket_from_file(f);
    if (!s) {
        file_put(f);
        return -ENOTSOCK;
    }
    *fp = f;
    *sp = s;
    return 0;
}

/* ---- addresses ---- */

/* addr_in: move_addr_to_kernel: len must be 0..SOCK_ADDR_MAX. */
static int addr_in(struct task *t, uint64_t uaddr, int len, void *buf)
{
    if (len < 0 || len > SOCK_ADDR_MAX)
        return -EINVAL;
    if (len == 0)
        return 0;
    return mm_copy_in(t->mm, buf, uaddr, (size_t)len) < 0 ? -EFAULT : 0;
}

/* addr_out: move_addr_to_user: reads the room at *ulen, copies at most that much of
 * the klen-byte address to uaddr, and stores klen (the full length) at ulen. */
static int addr_out(struct task *t, const void *kaddr, int klen, uint64_t uaddr,
                    uint64_t ulen)
{
    int len;
    if (mm_copy_in(t->mm, &len, ulen, sizeof(len)) < 0)
        return -EFAULT;
    if (len < 0)
        return -EINVAL;
    if (len > klen)
        len = klen;
    if (len > 0 && mm_copy_out(t->mm, uaddr, kaddr, (size_t)len, 0) < 0)
        return -EFAULT;
    return mm_copy_out(t->mm, ulen, &klen, sizeof(klen), 0) < 0 ? -EFAULT : 0;
}

/* ---- I/O vectors and message headers ---- */

/* struct iovec and struct msghdr as the guest lays them out (x86-64). */
struct guest_iovec_raw { uint64_t base, len; };
struct guest_msghdr {
    uint64_t name;
    int32_t namelen;
    int32_t pad0;
    uint64_t iov;
    uint64_t iovlen;
    uint64_t control;
    uint64_t controllen;
    int32_t flags;
    int32_t pad1;
};
struct guest_mmsghdr {
    struct guest_msghdr hdr;
    uint32_t len;
    uint32_t pad;
};

/* One message's Sentry-side state (the vector lives in thread-local storage, since a
 * call handles one message at a time). */
struct msg_state {
    struct guest_iovec iov[UIO_MAXIOV];
    struct uio u;
    char name[SOCK_ADDR_MAX];
    struct sock_msg m;
};
static _Thread_local struct msg_state g_msg;

/* import_iovec: the guest's vector of cnt entries, bounded as Linux's import_iovec:
 * more than UIO_MAXIOV is -EMSGSIZE (sendmsg's rule), a negative length -EINVAL, and
 * the total is cut at MAX_RW_COUNT. */
static int import_iovec(struct task *t, uint64_t uiov, uint64_t cnt, struct msg_state *ms)
{
    static _Thread_local struct guest_iovec_raw raw[UIO_MAXIOV];
    if (cnt > UIO_MAXIOV)
        return -EMSGSIZE;
    if (cnt && mm_copy_in(t->mm, raw, uiov, cnt * sizeof(raw[0])) < 0)
        return -EFAULT;
    size_t total = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        if ((int64_t)raw[i].len < 0)
            return -EINVAL;
        size_t len = MIN(raw[i].len, MAX_RW_COUNT - total);
        ms->iov[i] = (struct guest_iovec){ gva(raw[i].base), len };
        total += len;
    }
    ms->u = (struct uio){ .mm = t->mm, .iov = ms->iov, .iovcnt = (int)cnt, .size = total };
    return 0;
}

/* single_msg: for sendto/recvfrom: the socket behind fd (a file reference in *fp)
 * and this thread's message state, cleared, with buf/len as its one data vector. */
static int single_msg(struct task *t, int fd, uint64_t buf, size_t len, struct file **fp,
                      struct socket **sp, struct msg_state **msp)
{
    int err = sock_get(t, fd, fp, sp);
    if (err < 0)
        return err;
    struct msg_state *ms = *msp = &g_msg;
    memset(&ms->m, 0, sizeof(ms->m));
    ms->iov[0] = (struct guest_iovec){ gva(buf), MIN(len, MAX_RW_COUNT) };
    ms->u = (struct uio){ .mm = t->mm, .iov = ms->iov, .iovcnt = 1, .size = ms->iov[0].len };
    ms->m.data = &ms->u;
    return 0;
}

/* msghdr_in: copy_msghdr_from_user: the header, then the vector; a name longer than
 * SOCK_ADDR_MAX is cut, one with a NULL pointer counts as none. For sendmsg (send)
 * the name is copied in too. */
static int msghdr_in(struct task *t, uint64_t umsg, struct guest_msghdr *h,
                     struct msg_state *ms, int send)
{
    if (mm_copy_in(t->mm, h, umsg, sizeof(*h)) < 0)
        return -EFAULT;
    int namelen = h->name ? h->namelen : 0;
    if (namelen < 0)
        return -EINVAL;
    if (namelen > SOCK_ADDR_MAX)
        namelen = SOCK_ADDR_MAX;
    memset(&ms->m, 0, sizeof(ms->m));
    if (send && namelen) {
        if (mm_copy_in(t->mm, ms->name, h->name, (size_t)namelen) < 0)
            return -EFAULT;
        ms->m.name = ms->name;
        ms->m.namelen = (size_t)namelen;
    }
    if (h->iovlen > UIO_MAXIOV)
        return -EMSGSIZE;
    int err = import_iovec(t, h->iov, h->iovlen, ms);
    if (err < 0)
        return err;
    ms->m.data = &ms->u;
    return 0;
}

/* ---- sendmsg and recvmsg, one message ---- */

/* do_sendmsg: ____sys_sendmsg on a message already in ms (name and data); copies the
 * control data in. */
static long do_sendmsg(struct task *t, struct file *f, struct socket *s,
                       struct msg_state *ms, uint64_t ucontrol, uint64_t controllen,
                       int flags)
{
    if (controllen > INT_MAX)
        return -ENOBUFS;
    void *ctl = NULL;
    if (controllen) {
        if (controllen > SOCK_CONTROL_MAX)
            return -ENOBUFS;
        ctl = malloc(controllen);
        if (!ctl)
            return -ENOBUFS;
        if (mm_copy_in(t->mm, ctl, ucontrol, controllen) < 0) {
            free(ctl);
            return -EFAULT;
        }
    }
    ms->m.control = ctl;
    ms->m.controllen = controllen;
    socket_block(f, flags, 1, &ms->m.blk);
    long r = socket_sendmsg(s, t, &ms->m, flags);
    free(ctl);
    return r;
}

/* recv_setup: the control room and name room of a receive. */
static int recv_setup(struct msg_state *ms, uint64_t controllen, int want_name)
{
    if (want_name) {
        ms->m.name = ms->name;
        ms->m.namecap = sizeof(ms->name);
    }
    ms->m.namelen = 0;
    if (controllen) {
        size_t room = MIN(controllen, (uint64_t)SOCK_CONTROL_MAX);
        ms->m.control = calloc(1, room);
        if (!ms->m.control)
            return -ENOMEM;
        ms->m.controllen = room;
    }
    ms->m.cmsg_cloexec = 0;
    return 0;
}

/* do_recvmsg: ____sys_recvmsg on the message header at umsg (copied in as h). */
static long do_recvmsg(struct task *t, struct file *f, struct socket *s, uint64_t umsg,
                       int flags)
{
    struct msg_state *ms = &g_msg;
    struct guest_msghdr h;
    int err = msghdr_in(t, umsg, &h, ms, 0);
    if (err < 0)
        return err;
    err = recv_setup(ms, h.controllen, h.name != 0);
    if (err < 0)
        return err;
    ms->m.cmsg_cloexec = (flags & MSG_CMSG_CLOEXEC) != 0;
    socket_block(f, flags, 0, &ms->m.blk);
    long r = socket_recvmsg(s, t, &ms->m, flags);
    if (r < 0)
        goto out;
    if (h.name) {
        err = addr_out(t, ms->name, (int)ms->m.namelen, h.name,
                       umsg + offsetof(struct guest_msghdr, namelen));
        if (err < 0) {
            r = err;
            goto out;
        }
    }
    if (ms->m.control_used &&
        mm_copy_out(t->mm, h.control, ms->m.control, ms->m.control_used, 0) < 0) {
        r = -EFAULT;
        goto out;
    }
    int32_t oflags = ms->m.flags_out;
    uint64_t used = ms->m.control_used;
    if (mm_copy_out(t->mm, umsg + offsetof(struct guest_msghdr, flags), &oflags,
                    sizeof(oflags), 0) < 0 ||
        mm_copy_out(t->mm, umsg + offsetof(struct guest_msghdr, controllen), &used,
                    sizeof(used), 0) < 0)
        r = -EFAULT;
out:
    free(ms->m.control);
    ms->m.control = NULL;
    return r;
}

/* ---- socket, socketpair ---- */

long sys_socket(struct task *t, const struct syscall_args *a)
{
    int family = arg_int(a, 0);
    int type = arg_int(a, 1);
    int protocol = arg_int(a, 2);
    struct file *f;
    int err = socket_create(t, family, type, protocol, &f);
    if (err < 0)
        return err;
    return fdtable_install(t->fds, 0, f, (type & SOCK_CLOEXEC) != 0);
}

long sys_socketpair(struct task *t, const struct syscall_args *a)
{
    int family = arg_int(a, 0);
    int type = arg_int(a, 1);
    int protocol = arg_int(a, 2);
    uint64_t usv = arg_u64(a, 3);
    struct file *f[2] = { NULL, NULL };
    int err = socket_create(t, family, type, protocol, &f[0]);
    if (err < 0)
        return err;
    err = socket_create(t, family, type, protocol, &f[1]);
    if (err < 0) {
        file_put(f[0]);
        return err;
    }
    struct socket *s0 = socket_from_file(f[0]), *s1 = socket_from_file(f[1]);
    err = s0->ops->socketpair ? s0->ops->socketpair(s0, s1, t) : -EOPNOTSUPP;
    if (err < 0)
        goto fail;
    int cloexec = (type & SOCK_CLOEXEC) != 0;
    int fds[2];
    fds[0] = fdtable_install(t->fds, 0, f[0], cloexec);
    if (fds[0] < 0) {
        err = fds[0];
        goto fail;
    }
    f[0] = NULL;
    fds[1] = fdtable_install(t->fds, 0, f[1], cloexec);
    if (fds[1] < 0) {
        fdtable_close(t->fds, fds[0]);
        err = fds[1];
        goto fail;
    }
    if (mm_copy_out(t->mm, usv, fds, sizeof(fds), 0) < 0) {
        fdtable_close(t->fds, fds[0]);
        fdtable_close(t->fds, fds[1]);
        return -EFAULT;
    }
    return 0;
fail:
    if (f[0])
        file_put(f[0]);
    file_put(f[1]);
    return err;
}

/* ---- bind, connect, listen, accept ---- */

long sys_bind(struct task *t, const struct syscall_args *a)
{
    char addr[SOCK_ADDR_MAX];
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    int len = arg_int(a, 2);
    err = addr_in(t, arg_u64(a, 1), len, addr);
    if (err == 0)
        err = s->ops->bind ? s->ops->bind(s, t, addr, (size_t)len) : -EOPNOTSUPP;
    file_put(f);
    return err;
}

long sys_connect(struct task *t, const struct syscall_args *a)
{
    char addr[SOCK_ADDR_MAX];
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    int len = arg_int(a, 2);
    err = addr_in(t, arg_u64(a, 1), len, addr);
    if (err == 0) {
        struct sock_block blk;
        socket_block(f, 0, 1, &blk);
        err = s->ops->connect ? s->ops->connect(s, t, addr, (size_t)len, &blk)
                              : -EOPNOTSUPP;
    }
    file_put(f);
    return err;
}

long sys_listen(struct task *t, const struct syscall_args *a)
{
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    int backlog = arg_int(a, 1);
    if ((unsigned)backlog > SOMAXCONN_DEFAULT)
        backlog = SOMAXCONN_DEFAULT;
    err = s->ops->listen ? s->ops->listen(s, t, backlog) : -EOPNOTSUPP;
    if (err == 0)
        __atomic_store_n(&s->acceptconn, 1, __ATOMIC_RELAXED);
    file_put(f);
    return err;
}

static long do_accept(struct task *t, int fd, uint64_t uaddr, uint64_t ulen, int flags)
{
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    struct file *f;
    struct socket *s;
    int err = sock_get(t, fd, &f, &s);
    if (err < 0)
        return err;
    struct socket *ns = NULL;
    struct sock_block blk;
    socket_block(f, 0, 0, &blk);
    err = s->ops->accept ? s->ops->accept(s, t, &ns, &blk) : -EOPNOTSUPP;
    file_put(f);
    if (err < 0)
        return err;
    struct file *nf = socket_file_alloc(ns, (flags & SOCK_NONBLOCK) != 0);
    if (!nf)
        return -ENOMEM;
    if (uaddr) {
        char addr[SOCK_ADDR_MAX];
        int len = ns->ops->getname ? ns->ops->getname(ns, addr, 1) : -EOPNOTSUPP;
        if (len < 0) {
            file_put(nf);
            return -ECONNABORTED;
        }
        err = addr_out(t, addr, len, uaddr, ulen);
        if (err < 0) {
            file_put(nf);
            return err;
        }
    }
    return fdtable_install(t->fds, 0, nf, (flags & SOCK_CLOEXEC) != 0);
}

long sys_accept(struct task *t, const struct syscall_args *a)
{
    return do_accept(t, arg_int(a, 0), arg_u64(a, 1), arg_u64(a, 2), 0);
}

long sys_accept4(struct task *t, const struct syscall_args *a)
{
    return do_accept(t, arg_int(a, 0), arg_u64(a, 1), arg_u64(a, 2), arg_int(a, 3));
}

/* ---- names ---- */

static long do_getname(struct task *t, const struct syscall_args *a, int peer)
{
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    char addr[SOCK_ADDR_MAX];
    int len = s->ops->getname ? s->ops->getname(s, addr, peer) : -EOPNOTSUPP;
    file_put(f);
    if (len < 0)
        return len;
    return addr_out(t, addr, len, arg_u64(a, 1), arg_u64(a, 2));
}

long sys_getsockname(struct task *t, const struct syscall_args *a) { return do_getname(t, a, 0); }
long sys_getpeername(struct task *t, const struct syscall_args *a) { return do_getname(t, a, 1); }

/* ---- send and receive ---- */

long sys_sendto(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 3);
    uint64_t uaddr = arg_u64(a, 4);
    int addrlen = arg_int(a, 5);
    struct msg_state *ms;
    struct file *f;
    struct socket *s;
    int err = single_msg(t, arg_int(a, 0), arg_u64(a, 1), arg_size(a, 2), &f, &s, &ms);
    if (err < 0)
        return err;
    if (uaddr) {
        err = addr_in(t, uaddr, addrlen, ms->name);
        if (err < 0)
            goto out;
        ms->m.name = ms->name;
        ms->m.namelen = (size_t)addrlen;
    }
    long r = do_sendmsg(t, f, s, ms, 0, 0, flags);
    file_put(f);
    return r;
out:
    file_put(f);
    return err;
}

long sys_recvfrom(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 3);
    uint64_t uaddr = arg_u64(a, 4);
    uint64_t ulen = arg_u64(a, 5);
    struct msg_state *ms;
    struct file *f;
    struct socket *s;
    int err = single_msg(t, arg_int(a, 0), arg_u64(a, 1), arg_size(a, 2), &f, &s, &ms);
    if (err < 0)
        return err;
    recv_setup(ms, 0, uaddr != 0);
    socket_block(f, flags, 0, &ms->m.blk);
    long r = socket_recvmsg(s, t, &ms->m, flags);
    file_put(f);
    if (r >= 0 && uaddr) {
        err = addr_out(t, ms->name, (int)ms->m.namelen, uaddr, ulen);
        if (err < 0)
            return err;
    }
    return r;
}

/* sendmsg_one: ___sys_sendmsg: the header at umsg, then the send. */
static long sendmsg_one(struct task *t, struct file *f, struct socket *s, uint64_t umsg,
                        int flags)
{
    struct msg_state *ms = &g_msg;
    struct guest_msghdr h;
    int err = msghdr_in(t, umsg, &h, ms, 1);
    if (err < 0)
        return err;
    return do_sendmsg(t, f, s, ms, h.control, h.controllen, flags);
}

long sys_sendmsg(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 2);
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    long r = sendmsg_one(t, f, s, arg_u64(a, 1), flags & ~MSG_CMSG_COMPAT_FLAG);
    file_put(f);
    return r;
}

long sys_recvmsg(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 2);
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    long r = do_recvmsg(t, f, s, arg_u64(a, 1), flags & ~MSG_CMSG_COMPAT_FLAG);
    file_put(f);
    return r;
}

/* sendmmsg: __sys_sendmmsg: up to UIO_MAXIOV messages; the count sent if any was,
 * else the first error. */
long sys_sendmmsg(struct task *t, const struct syscall_args *a)
{
    uint64_t umm = arg_u64(a, 1);
    unsigned vlen = arg_uint(a, 2);
    int flags = arg_int(a, 3);
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    if (vlen > UIO_MAXIOV)
        vlen = UIO_MAXIOV;
    unsigned done = 0;
    long r = 0;
    for (; done < vlen; done++) {
        uint64_t entry = umm + done * sizeof(struct guest_mmsghdr);
        r = sendmsg_one(t, f, s, entry, flags | MSG_BATCH);
        if (r < 0)
            break;
        uint32_t n = (uint32_t)r;
        if (mm_copy_out(t->mm, entry + offsetof(struct guest_mmsghdr, len), &n,
                        sizeof(n), 0) < 0) {
            r = -EFAULT;
            break;
        }
    }
    file_put(f);
    return done ? (long)done : r;
}

/* recvmmsg: do_recvmmsg: MSG_WAITFORONE makes the calls after the first
 * non-blocking; the timeout is looked at after each message, as Linux does. */
long sys_recvmmsg(struct task *t, const struct syscall_args *a)
{
    uint64_t umm = arg_u64(a, 1);
    unsigned vlen = arg_uint(a, 2);
    int flags = arg_int(a, 3);
    uint64_t utimeout = arg_u64(a, 4);
    struct timespec deadline = { 0 };
    if (utimeout) {
        struct timespec ts;
        if (mm_copy_in(t->mm, &ts, utimeout, sizeof(ts)) < 0)
            return -EFAULT;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -EINVAL;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += ts.tv_sec;
        deadline.tv_nsec += ts.tv_nsec;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    if (vlen > UIO_MAXIOV)
        vlen = UIO_MAXIOV;
    unsigned done = 0;
    long r = 0;
    for (; done < vlen; done++) {
        uint64_t entry = umm + done * sizeof(struct guest_mmsghdr);
        r = do_recvmsg(t, f, s, entry, flags & ~MSG_CMSG_COMPAT_FLAG);
        if (r < 0)
            break;
        uint32_t n = (uint32_t)r;
        if (mm_copy_out(t->mm, entry + offsetof(struct guest_mmsghdr, len), &n,
                        sizeof(n), 0) < 0) {
            r = -EFAULT;
            break;
        }
        if (flags & MSG_WAITFORONE)
            flags |= MSG_DONTWAIT;
        if (utimeout) {
            struct timespec now, left;
            clock_gettime(CLOCK_MONOTONIC, &now);
            left.tv_sec = deadline.tv_sec - now.tv_sec;
            left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
            if (left.tv_nsec < 0) {
                left.tv_sec--;
                left.tv_nsec += 1000000000;
            }
            if (left.tv_sec < 0)
                left = (struct timespec){ 0, 0 };
            if (mm_copy_out(t->mm, utimeout, &left, sizeof(left), 0) < 0) {
                r = -EFAULT;
                break;
            }
            if (left.tv_sec == 0 && left.tv_nsec == 0) {
                done++;
                break;
            }
        }
        if (r >= 0 && (g_msg.m.flags_out & MSG_OOB))
            break;
    }
    file_put(f);
    if (done)
        return (long)done;
    return r;
}

/* ---- shutdown and options ---- */

long sys_shutdown(struct task *t, const struct syscall_args *a)
{
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    int how = arg_int(a, 1);
    if (how < SHUT_RD || how > SHUT_RDWR)
        err = -EINVAL;
    else
        err = s->ops->shutdown ? s->ops->shutdown(s, how) : -EOPNOTSUPP;
    file_put(f);
    return err;
}

long sys_getsockopt(struct task *t, const struct syscall_args *a)
{
    int level = arg_int(a, 1);
    int name = arg_int(a, 2);
    uint64_t uval = arg_u64(a, 3);
    uint64_t ulen = arg_u64(a, 4);
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    int len;
    if (mm_copy_in(t->mm, &len, ulen, sizeof(len)) < 0) {
        err = -EFAULT;
        goto out;
    }
    if (len < 0) {
        err = -EINVAL;
        goto out;
    }
    char val[SOCK_OPT_MAX];
    size_t n = MIN((size_t)len, sizeof(val));
    memset(val, 0, sizeof(val));
    if (level == SOL_SOCKET && s->ops->sol_socket_first) {
        err = s->ops->getsockopt(s, t, level, name, val, &n);
        if (err == -ENOPROTOOPT)
            err = socket_getsockopt_generic(s, name, val, &n);
    } else if (level == SOL_SOCKET) {
        err = socket_getsockopt_generic(s, name, val, &n);
        if (err == -ENOPROTOOPT && s->ops->getsockopt)
            err = s->ops->getsockopt(s, t, level, name, val, &n);
    } else {
        err = s->ops->getsockopt ? s->ops->getsockopt(s, t, level, name, val, &n)
                                 : -EOPNOTSUPP;
    }
    if (err < 0)
        goto out;
    int outlen = (int)n;
    if ((n && mm_copy_out(t->mm, uval, val, n, 0) < 0) ||
        mm_copy_out(t->mm, ulen, &outlen, sizeof(outlen), 0) < 0)
        err = -EFAULT;
out:
    file_put(f);
    return err;
}

long sys_setsockopt(struct task *t, const struct syscall_args *a)
{
    int level = arg_int(a, 1);
    int name = arg_int(a, 2);
    uint64_t uval = arg_u64(a, 3);
    int len = arg_int(a, 4);
    struct file *f;
    struct socket *s;
    int err = sock_get(t, arg_int(a, 0), &f, &s);
    if (err < 0)
        return err;
    if (len < 0) {
        err = -EINVAL;
        goto out;
    }
    char val[SOCK_OPT_MAX];
    size_t n = MIN((size_t)len, sizeof(val));
    if (n && mm_copy_in(t->mm, val, uval, n) < 0) {
        err = -EFAULT;
        goto out;
    }
    if (level == SOL_SOCKET && s->ops->sol_socket_first) {
        err = s->ops->setsockopt(s, t, level, name, val, n);
        if (err == -ENOPROTOOPT)
            err = socket_setsockopt_generic(s, t, name, val, n);
    } else if (level == SOL_SOCKET) {
        err = socket_setsockopt_generic(s, t, name, val, n);
        if (err == -ENOPROTOOPT && s->ops->setsockopt)
            err = s->ops->setsockopt(s, t, level, name, val, n);
    } else {
        err = s->ops->setsockopt ? s->ops->setsockopt(s, t, level, name, val, n)
                                 : -EOPNOTSUPP;
    }
out:
    file_put(f);
    return err;
}
