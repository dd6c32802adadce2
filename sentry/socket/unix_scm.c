/* AF_UNIX control messages (see unix_priv.h), after Linux's net/core/scm.c:
 * __scm_send's parsing and checks, scm_check_creds, and scm_recv/scm_detach_fds on
 * the receiving side (credentials first, then the files, installed with
 * MSG_CMSG_CLOEXEC honoured and MSG_CTRUNC when the room is short). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/util.h"
#include "sentry/kernel/cred.h"
#include "sentry/kernel/task.h"
#include "sentry/socket/unix_priv.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* check_creds: scm_check_creds: a sender may claim only its own pid and one of its
 * real, effective or saved ids, unless it has the capability. */
static int check_creds(struct task *t, const struct ucred *uc)
{
    const struct creds *c = &t->cred;
    int pid_ok = uc->pid == t->tg->tgid || cred_capable(c, CAP_SYS_ADMIN);
    int uid_ok = uc->uid == c->ruid || uc->uid == c->euid || uc->uid == c->suid ||
                 cred_capable(c, CAP_SETUID);
    int gid_ok = uc->gid == c->rgid || uc->gid == c->egid || uc->gid == c->sgid ||
                 cred_capable(c, CAP_SETGID);
    return pid_ok && uid_ok && gid_ok ? 0 : -EPERM;
}

int unix_scm_parse(struct task *t, const struct sock_msg *m, struct unix_scm **scmp,
                   struct unix_cred *cred)
{
    *scmp = NULL;
    const char *ctl = m->control;
    size_t len = m->control ? m->controllen : 0;
    struct unix_scm *scm = NULL;
    int err = 0;
    size_t off = 0;
    while (len - off >= sizeof(struct cmsghdr)) {
        struct cmsghdr h;
        memcpy(&h, ctl + off, sizeof(h));
        if (h.cmsg_len < sizeof(struct cmsghdr) || h.cmsg_len > len - off) {
            err = -EINVAL;
            goto fail;
        }
        const char *data = ctl + off + CMSG_LEN(0);
        size_t dlen = h.cmsg_len - CMSG_LEN(0);
        if (h.cmsg_level == SOL_SOCKET) {
            switch (h.cmsg_type) {
            case SCM_RIGHTS: {
                int num = (int)(dlen / sizeof(int));
                if (num <= 0)
                    break;
                if (!scm && !(scm = calloc(1, sizeof(*scm)))) {
                    err = -ENOMEM;
                    goto fail;
                }
                if (scm->nfds + num > UNIX_MAX_FD) {
                    err = -EINVAL;
                    goto fail;
                }
                for (int i = 0; i < num; i++) {
                    int fd;
                    memcpy(&fd, data + i * sizeof(int), sizeof(fd));
                    struct file *f = fdtable_get(t->fds, fd);
                    if (!f) {
                        err = -EBADF;
                        goto fail;
                    }
                    scm->files[scm->nfds++] = f;
                    if (unix_sock_of_file(f))
                        scm->nunix++;
                }
                break;
            }
            case SCM_CREDENTIALS: {
                struct ucred uc;
                if (h.cmsg_len != CMSG_LEN(sizeof(uc))) {
                    err = -EINVAL;
                    goto fail;
                }
                memcpy(&uc, data, sizeof(uc));
                err = check_creds(t, &uc);
                if (err < 0)
                    goto fail;
                cred->pid = uc.pid;
                cred->uid = uc.uid;
                cred->gid = uc.gid;
                break;
            }
            default:
                err = -EINVAL;
                goto fail;
            }
        }
        size_t step = CMSG_ALIGN(h.cmsg_len);
        if (step > len - off)
            break;
        off += step;
    }
    unix_gc_inflight(scm);   /* from now on the collector counts them */
    *scmp = scm;
    return 0;
fail:
    unix_scm_free(scm);
    return err;
}

struct unix_scm *unix_scm_dup(const struct unix_scm *scm)
{
    struct unix_scm *d = malloc(sizeof(*d));
    if (!d)
        return NULL;
    d->nfds = scm->nfds;
    d->nunix = scm->nunix;
    d->inflight = 0;   /* a peeked copy: the queued original stays counted */
    for (int i = 0; i < scm->nfds; i++) {
        file_get(scm->files[i]);
        d->files[i] = scm->files[i];
    }
    return d;
}

void unix_scm_free(struct unix_scm *scm)
{
    if (!scm)
        return;
    unix_gc_detach(scm);
    for (int i = 0; i < scm->nfds; i++)
        file_put(scm->files[i]);
    free(scm);
}

/* deliver_fds: scm_detach_fds: as many files as fit in the room left, installed in
 * t's table; the rest are dropped with MSG_CTRUNC. */
static void deliver_fds(struct task *t, struct sock_msg *m, struct unix_scm *scm)
{
    size_t room = m->control ? m->controllen - m->control_used : 0;
    int fdmax = room > sizeof(struct cmsghdr)
                    ? (int)MIN((room - sizeof(struct cmsghdr)) / sizeof(int),
                               (size_t)scm->nfds)
                    : 0;
    int fds[UNIX_MAX_FD];
    int i;
    for (i = 0; i < fdmax; i++) {
        file_get(scm->files[i]);
        int fd = fdtable_install(t->fds, 0, scm->files[i], m->cmsg_cloexec);
        if (fd < 0) {
            file_put(scm->files[i]);
            break;
        }
        fds[i] = fd;
    }
    if (i > 0)
        sock_cmsg_put(m, SOL_SOCKET, SCM_RIGHTS, fds, (size_t)i * sizeof(int));
    if (i < scm->nfds)
        m->flags_out |= MSG_CTRUNC;
}

void unix_scm_deliver(struct task *t, struct sock_msg *m, int passcred,
                      const struct unix_cred *cred, struct unix_scm *scm)
{
    /* off the queue before the files reach t's table (a peeked copy waits out a
     * running collector pass here) */
    unix_gc_detach(scm);
    if (passcred && cred) {
        struct ucred uc = { .pid = cred->pid, .uid = cred->uid, .gid = cred->gid };
        sock_cmsg_put(m, SOL_SOCKET, SCM_CREDENTIALS, &uc, sizeof(uc));
    }
    if (scm && scm->nfds)
        deliver_fds(t, m, scm);
    unix_scm_free(scm);
}
