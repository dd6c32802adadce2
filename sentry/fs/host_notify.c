/* The host fd notifier (see host_notify.h). The registry is a short list (the stdio
 * fds), looked up by fd: an event for an fd removed meanwhile finds nothing, and one
 * for a number reused by a newer registration is a spurious wake-up, which waiters
 * tolerate. */
#include "sentry/fs/host_notify.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "lib/log.h"
#include "sentry/kernel/waitq.h"

struct host_watch {
    int fd;
    int armed;
    struct waitq *q;
    struct host_watch *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct host_watch *g_watches;   /* g_mu */
static int g_epfd = -1;                /* set once under g_mu, then immutable */

/* The events the host reports; POLL* and EPOLL* share these values. */
#define WATCH_EVENTS (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLERR | EPOLLHUP)

static struct host_watch *find(int fd)
{
    for (struct host_watch *w = g_watches; w; w = w->next)
        if (w->fd == fd)
            return w;
    return NULL;
}

static void *notify_thread(void *arg)
{
    (void)arg;
    struct epoll_event evs[16];
    for (;;) {
        int n = epoll_wait(g_epfd, evs, 16, -1);
        if (n < 0) {
            if (errno != EINTR)
                log_warn("host notifier: epoll_wait: errno %d", errno);
            continue;
        }
        pthread_mutex_lock(&g_mu);
        for (int i = 0; i < n; i++) {
            struct host_watch *w = find(evs[i].data.fd);
            if (w)
                waitq_wake(w->q, evs[i].events & WATCH_EVENTS);
        }
        pthread_mutex_unlock(&g_mu);
    }
    return NULL;
}

/* start: the host epoll and its thread, once. g_mu held. */
static int start(void)
{
    if (g_epfd >= 0)
        return 0;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return -errno;
    g_epfd = epfd;
    pthread_t th;
    int err = pthread_create(&th, NULL, notify_thread, NULL);
    if (err) {
        log_warn("host notifier: no thread (error %d): host fds never wake", err);
        return 0;   /* instant checks still work */
    }
    pthread_detach(th);
    return 0;
}

int host_notify_add(int fd, struct waitq *q)
{
    struct host_watch *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    pthread_mutex_lock(&g_mu);
    int err = start();
    if (err == 0) {
        /* no events yet: this only asks whether the host can wait for fd */
        struct epoll_event ev = { .events = 0, .data.fd = fd };
        if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            err = -errno;
    }
    if (err == 0) {
        *w = (struct host_watch){ .fd = fd, .armed = 0, .q = q, .next = g_watches };
        g_watches = w;
    }
    pthread_mutex_unlock(&g_mu);
    if (err)
        free(w);
    return err;
}

void host_notify_arm(int fd)
{
    pthread_mutex_lock(&g_mu);
    struct host_watch *w = find(fd);
    if (w && !w->armed) {
        struct epoll_event ev = { .events = WATCH_EVENTS | EPOLLET, .data.fd = fd };
        if (epoll_ctl(g_epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            w->armed = 1;
        else
            log_warn("host notifier: arming fd %d: errno %d", fd, errno);
    }
    pthread_mutex_unlock(&g_mu);
}

void host_notify_remove(int fd)
{
    pthread_mutex_lock(&g_mu);
    for (struct host_watch **pp = &g_watches; *pp; pp = &(*pp)->next) {
        struct host_watch *w = *pp;
        if (w->fd != fd)
            continue;
        *pp = w->next;
        epoll_ctl(g_epfd, EPOLL_CTL_DEL, fd, NULL);
        free(w);
        break;
    }
    pthread_mutex_unlock(&g_mu);
}

unsigned host_poll_now(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI | POLLOUT | POLLRDHUP |
                                            POLLRDNORM | POLLRDBAND | POLLWRNORM |
                                            POLLWRBAND };
    int n;
    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return POLLERR;
    return (unsigned)p.revents;
}
