/* Batched frame I/O on a host fd, plain calls or io_uring (see netdev.h). */
#include "netstack/netdev.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

/* The provided-buffer group of the receive ring. */
#define RX_BGID 1
/* Ring sizes: room for every buffer's completion plus a re-arm. */
#define RX_RING_ENTRIES 64
#define TX_RING_ENTRIES NETDEV_TX_SLOTS

struct netdev {
    int fd;
    enum ns_netdev_io io;

    /* receive: the receiving thread's */
    uint8_t *rx_mem;               /* NETDEV_RX_BATCH buffers of NETDEV_RX_FRAME_MAX */
    struct mmsghdr rx_msg[NETDEV_RX_BATCH];
    struct iovec rx_iov[NETDEV_RX_BATCH];
    struct io_uring rx_ring;       /* NS_NETDEV_URING */
    struct io_uring_buf_ring *rx_br;
    int rx_armed;                  /* the multishot recv is in place */
    uint16_t rx_used[NETDEV_RX_BATCH];   /* buffers handed out by the last netdev_rx */
    int rx_nused;

    /* transmit: core lock */
    size_t tx_max;
    uint8_t *tx_mem;               /* NETDEV_TX_SLOTS buffers of tx_max */
    size_t tx_len[NETDEV_TX_SLOTS];
    int tx_queued;                 /* plain: slots 0..tx_queued-1 wait for sendmmsg */
    struct io_uring tx_ring;       /* NS_NETDEV_URING */
    int tx_free[NETDEV_TX_SLOTS];  /* uring: slots not in flight (a stack) */
    int tx_nfree;
    int tx_unsubmitted;            /* uring: sends prepared, not yet submitted */
    unsigned long tx_dropped;
};

static uint8_t *rx_buf(struct netdev *d, int i)
{
    return d->rx_mem + (size_t)i * NETDEV_RX_FRAME_MAX;
}

static uint8_t *tx_buf(struct netdev *d, int i)
{
    return d->tx_mem + (size_t)i * d->tx_max;
}

/* uring_setup: the two rings and the receive buffers registered with the first. */
static int uring_setup(struct netdev *d)
{
    int r = io_uring_queue_init(RX_RING_ENTRIES, &d->rx_ring, 0);
    if (r < 0)
        return r;
    size_t brsize = NETDEV_RX_BATCH * sizeof(struct io_uring_buf);
    d->rx_br = mmap(NULL, brsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (d->rx_br == MAP_FAILED) {
        d->rx_br = NULL;
        io_uring_queue_exit(&d->rx_ring);
        return -ENOMEM;
    }
    struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)d->rx_br,
                                    .ring_entries = NETDEV_RX_BATCH, .bgid = RX_BGID };
    r = io_uring_register_buf_ring(&d->rx_ring, &reg, 0);
    if (r < 0) {
        munmap(d->rx_br, brsize);
        d->rx_br = NULL;
        io_uring_queue_exit(&d->rx_ring);
        return r;
    }
    io_uring_buf_ring_init(d->rx_br);
    int mask = io_uring_buf_ring_mask(NETDEV_RX_BATCH);
    for (int i = 0; i < NETDEV_RX_BATCH; i++)
        io_uring_buf_ring_add(d->rx_br, rx_buf(d, i), NETDEV_RX_FRAME_MAX, (unsigned short)i,
                              mask, i);
    io_uring_buf_ring_advance(d->rx_br, NETDEV_RX_BATCH);

    r = io_uring_queue_init(TX_RING_ENTRIES, &d->tx_ring, 0);
    if (r < 0) {
        munmap(d->rx_br, brsize);
        d->rx_br = NULL;
        io_uring_queue_exit(&d->rx_ring);
        return r;
    }
    for (int i = 0; i < NETDEV_TX_SLOTS; i++)
        d->tx_free[i] = NETDEV_TX_SLOTS - 1 - i;
    d->tx_nfree = NETDEV_TX_SLOTS;
    return 0;
}

struct netdev *netdev_open(int fd, enum ns_netdev_io io, size_t tx_frame_max, int *err)
{
    struct netdev *d = calloc(1, sizeof(*d));
    if (d) {
        d->rx_mem = malloc((size_t)NETDEV_RX_BATCH * NETDEV_RX_FRAME_MAX);
        d->tx_mem = malloc((size_t)NETDEV_TX_SLOTS * tx_frame_max);
    }
    if (!d || !d->rx_mem || !d->tx_mem) {
        if (d) {
            free(d->rx_mem);
            free(d->tx_mem);
        }
        free(d);
        *err = -ENOMEM;
        return NULL;
    }
    d->fd = fd;
    d->io = io;
    d->tx_max = tx_frame_max;
    for (int i = 0; i < NETDEV_RX_BATCH; i++) {
        d->rx_iov[i] = (struct iovec){ rx_buf(d, i), NETDEV_RX_FRAME_MAX };
        d->rx_msg[i].msg_hdr = (struct msghdr){ .msg_iov = &d->rx_iov[i], .msg_iovlen = 1 };
    }
    if (io == NS_NETDEV_URING) {
        int r = uring_setup(d);
        if (r < 0) {
            free(d->rx_mem);
            free(d->tx_mem);
            free(d);
            *err = r;
            return NULL;
        }
    }
    return d;
}

int netdev_host_fds(const struct netdev *d, int *fd, int rings[2])
{
    *fd = d->fd;
    if (d->io != NS_NETDEV_URING)
        return 0;
    rings[0] = d->rx_ring.ring_fd;
    rings[1] = d->tx_ring.ring_fd;
    return 2;
}

/* ---- receive ---- */

/* rx_arm: queues the multishot recv (not submitted yet). */
static int rx_arm(struct netdev *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->rx_ring);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_recv_multishot(sqe, d->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RX_BGID;
    d->rx_armed = 1;
    return 0;
}

int netdev_rx_start(struct netdev *d)
{
    if (d->io != NS_NETDEV_URING)
        return 0;
    int r = rx_arm(d);
    if (r == 0)
        r = io_uring_submit(&d->rx_ring);
    return r < 0 ? r : 0;
}

static int rx_uring(struct netdev *d, struct netdev_frame *f, int max)
{
    struct io_uring_cqe *cqes[NETDEV_RX_BATCH];
    unsigned n = io_uring_peek_batch_cqe(&d->rx_ring, cqes, (unsigned)max);
    if (n == 0) {
        if (!d->rx_armed) {
            int r = rx_arm(d);
            if (r < 0)
                return r;
        }
        int r = io_uring_submit_and_wait(&d->rx_ring, 1);
        if (r < 0)
            return r;
        n = io_uring_peek_batch_cqe(&d->rx_ring, cqes, (unsigned)max);
    }
    int got = 0;
    for (unsigned i = 0; i < n; i++) {
        struct io_uring_cqe *c = cqes[i];
        if (!(c->flags & IORING_CQE_F_MORE))
            d->rx_armed = 0;       /* ended (ENOBUFS, an error): re-armed next time */
        if (c->flags & IORING_CQE_F_BUFFER) {
            uint16_t bid = (uint16_t)(c->flags >> IORING_CQE_BUFFER_SHIFT);
            d->rx_used[d->rx_nused++] = bid;
            if (c->res > 0 && bid < NETDEV_RX_BATCH)
                f[got++] = (struct netdev_frame){ rx_buf(d, bid), (size_t)c->res };
        } else if (c->res < 0 && c->res != -ENOBUFS) {
            log_warn("netdev: io_uring recv: %s", strerror(-c->res));
        }
    }
    io_uring_cq_advance(&d->rx_ring, n);
    return got;
}

static int rx_plain(struct netdev *d, struct netdev_frame *f, int max)
{
    int n = recvmmsg(d->fd, d->rx_msg, (unsigned)max, MSG_WAITFORONE, NULL);
    if (n < 0)
        return -errno;
    int got = 0;
    for (int i = 0; i < n; i++) {
        if (d->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC)
            continue;
        f[got++] = (struct netdev_frame){ rx_buf(d, i), d->rx_msg[i].msg_len };
    }
    return got;
}

int netdev_rx(struct netdev *d, struct netdev_frame *f, int max)
{
    if (max > NETDEV_RX_BATCH)
        max = NETDEV_RX_BATCH;
    return d->io == NS_NETDEV_URING ? rx_uring(d, f, max) : rx_plain(d, f, max);
}

void netdev_rx_done(struct netdev *d)
{
    if (d->io != NS_NETDEV_URING || !d->rx_nused)
        return;
    int mask = io_uring_buf_ring_mask(NETDEV_RX_BATCH);
    for (int i = 0; i < d->rx_nused; i++)
        io_uring_buf_ring_add(d->rx_br, rx_buf(d, d->rx_used[i]), NETDEV_RX_FRAME_MAX,
                              d->rx_used[i], mask, i);
    io_uring_buf_ring_advance(d->rx_br, d->rx_nused);
    d->rx_nused = 0;
}

/* ---- transmit ---- */

/* tx_reap: takes the finished sends' slots back (uring). */
static void tx_reap(struct netdev *d)
{
    struct io_uring_cqe *cqes[NETDEV_TX_SLOTS];
    unsigned n = io_uring_peek_batch_cqe(&d->tx_ring, cqes, NETDEV_TX_SLOTS);
    for (unsigned i = 0; i < n; i++) {
        if (cqes[i]->res < 0)
            d->tx_dropped++;
        uint64_t slot = io_uring_cqe_get_data64(cqes[i]);
        if (slot < NETDEV_TX_SLOTS && d->tx_nfree < NETDEV_TX_SLOTS)
            d->tx_free[d->tx_nfree++] = (int)slot;
    }
    io_uring_cq_advance(&d->tx_ring, n);
}

uint8_t *netdev_tx_slot(struct netdev *d, size_t len)
{
    if (len > d->tx_max)
        return NULL;
    if (d->io != NS_NETDEV_URING) {
        if (d->tx_queued == NETDEV_TX_SLOTS)
            netdev_tx_flush(d);
        return tx_buf(d, d->tx_queued);
    }
    if (!d->tx_nfree)
        tx_reap(d);
    if (!d->tx_nfree) {
        /* every slot is in flight: wait for one */
        if (io_uring_submit_and_wait(&d->tx_ring, 1) < 0)
            return NULL;
        d->tx_unsubmitted = 0;
        tx_reap(d);
        if (!d->tx_nfree)
            return NULL;
    }
    return tx_buf(d, d->tx_free[d->tx_nfree - 1]);
}

void netdev_tx_commit(struct netdev *d, size_t len)
{
    if (d->io != NS_NETDEV_URING) {
        d->tx_len[d->tx_queued++] = len;
        return;
    }
    int slot = d->tx_free[d->tx_nfree - 1];
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->tx_ring);
    if (!sqe) {
        io_uring_submit(&d->tx_ring);
        d->tx_unsubmitted = 0;
        sqe = io_uring_get_sqe(&d->tx_ring);
        if (!sqe) {
            d->tx_dropped++;
            return;
        }
    }
    d->tx_nfree--;
    io_uring_prep_send(sqe, d->fd, tx_buf(d, slot), len, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)slot);
    d->tx_unsubmitted++;
}

static int tx_flush_plain(struct netdev *d)
{
    int n = d->tx_queued;
    struct mmsghdr msg[NETDEV_TX_SLOTS];
    struct iovec iov[NETDEV_TX_SLOTS];
    for (int i = 0; i < n; i++) {
        iov[i] = (struct iovec){ tx_buf(d, i), d->tx_len[i] };
        msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
    }
    for (int i = 0; i < n;) {
        int r = sendmmsg(d->fd, msg + i, (unsigned)(n - i), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            d->tx_dropped++;       /* this frame is refused: drop it, go on */
            i++;
        } else {
            i += r;
        }
    }
    d->tx_queued = 0;
    return n;
}

int netdev_tx_flush(struct netdev *d)
{
    if (d->io != NS_NETDEV_URING)
        return d->tx_queued ? tx_flush_plain(d) : 0;
    int n = d->tx_unsubmitted;
    if (n) {
        io_uring_submit(&d->tx_ring);
        d->tx_unsubmitted = 0;
    }
    tx_reap(d);
    return n;
}
