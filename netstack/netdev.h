/* netdev: frames in and out of one host datagram fd (an AF_PACKET socket bound to a
 * link, for --network=sandbox), in batches, by one of two kinds of host I/O:
 *
 *   NS_NETDEV_PLAIN  recvmmsg (MSG_WAITFORONE: sleep for the first frame, take what
 *                    else is queued) and sendmmsg;
 *   NS_NETDEV_URING  io_uring: one multishot recv on a ring of provided buffers (one
 *                    completion per frame, in arrival order), and one send per frame
 *                    queued on a second ring and submitted with one io_uring_enter.
 *
 * A frame here is whatever the fd carries (netif_eth.c puts a virtio_net_hdr first).
 * Receiving is one thread's (the interface's receive thread); transmitting is under
 * the netstack's core lock. All host resources (the fd, the rings, their buffers)
 * exist from netdev_open on, before the Sentry is confined: afterwards only
 * recvmmsg/sendmmsg on the fd and io_uring_enter on the rings are needed. */
#ifndef NETSTACK_NETDEV_H
#define NETSTACK_NETDEV_H

#include <stddef.h>
#include <stdint.h>

#include "netstack/netstack.h"

/* The largest frame received: a 64 KiB GSO packet from the host's side, its virtio
 * header and ethernet header. */
#define NETDEV_RX_FRAME_MAX (65536 + 64)
/* Frames received per batch (and buffers, for io_uring). */
#define NETDEV_RX_BATCH 32
/* Frames queued for sending before a flush is forced. */
#define NETDEV_TX_SLOTS 64

struct netdev;

struct netdev_frame {
    uint8_t *data;
    size_t len;
};

/* netdev_open: batched I/O on fd with tx frames of at most tx_frame_max bytes. The
 * netdev owns fd once this succeeds. NULL with *err set (-ENOMEM, or the io_uring
 * setup's error: the caller may fall back to NS_NETDEV_PLAIN). */
struct netdev *netdev_open(int fd, enum ns_netdev_io io, size_t tx_frame_max, int *err);

/* netdev_rx_start: on the receiving thread, before the first netdev_rx (io_uring
 * completes a request on the thread that submitted it). 0 or -errno. */
int netdev_rx_start(struct netdev *d);

/* netdev_rx: sleeps until at least one frame arrived, then fills f with up to max
 * of them (max <= NETDEV_RX_BATCH). Their data stays valid until netdev_rx_done.
 * Returns the count, or -errno (-EINTR: try again). */
int netdev_rx(struct netdev *d, struct netdev_frame *f, int max);
void netdev_rx_done(struct netdev *d);

/* netdev_tx_slot: a buffer for the next frame of up to len bytes (sending queued
 * frames first if all slots are in use), or NULL if len is too big or no slot frees
 * up. netdev_tx_commit queues it with its final length. Core lock held. */
uint8_t *netdev_tx_slot(struct netdev *d, size_t len);
void netdev_tx_commit(struct netdev *d, size_t len);

/* netdev_tx_flush: sends the queued frames (frames the host refuses are dropped, as a
 * full device queue drops them). Returns how many were queued. Core lock held. */
int netdev_tx_flush(struct netdev *d);

/* netdev_host_fds: the host fds the netdev uses after boot: *fd (recvmmsg/sendmmsg
 * on it) and up to 2 io_uring fds in rings (io_uring_enter on them). Returns the
 * number of ring fds. */
int netdev_host_fds(const struct netdev *d, int *fd, int rings[2]);

#endif
