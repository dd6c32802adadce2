/* Ethernet interfaces for --network=sandbox: an lwIP netif per host link, its frames
 * carried by an AF_PACKET socket bound to that link (the Sentry stays in the
 * sandbox's network namespace; sentry/socket/ifaces_sandbox.c opens the socket and
 * takes the addresses off the host's side, as runsc does).
 *
 * lwIP does ARP (etharp_output) and IPv6 neighbour discovery (ethip6_output) itself;
 * a frame out is copied into a send slot (linkoutput, core lock held) and the slots
 * go to the host in one batch when the core lock is dropped (ns_eth_flush, from
 * stack.c), so a burst of segments costs one sendmmsg or io_uring_enter. Frames in
 * are read in batches by a thread per interface and fed to lwIP under one hold of
 * the core lock.
 *
 * The socket has PACKET_VNET_HDR: every frame starts with a virtio_net_hdr. The
 * host's side may send checksums left to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM: a
 * veth peer offloads them) and TCP segments of up to 64 KiB at once (GSO): we fill
 * the checksum in and give lwIP the big segment as it is (as Linux's GRO would);
 * UDP GSO frames would need cutting up and are dropped. What we send has no
 * offload: a zero header, full checksums, frames of at most the MTU. */
#include "netstack/internal.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/inet_chksum.h"
#include "lwip/netif.h"
#include "lwip/nd6.h"
#include "lwip/priv/nd6_priv.h"
#include "netif/ethernet.h"

#include "lib/log.h"
#include "netstack/netdev.h"

#define VNET_HDR_LEN sizeof(struct virtio_net_hdr)
/* Room in a send slot: the header, ethernet with a VLAN tag, the MTU. */
#define TX_FRAME_MAX(mtu) (VNET_HDR_LEN + SIZEOF_ETH_HDR + 4 + (mtu))

struct eth_link {
    struct netif netif;
    struct netdev *dev;
    uint8_t mac[6];
    int tx_pending;                /* frames queued since the last flush (core lock) */
    unsigned long rx_dropped;      /* the receive thread's */
    int rx_gso_seen;               /* logged once: the peer sends GSO segments */
    pthread_t rx_thread;
};

static struct eth_link *g_links[NS_ETH_MAX];
static int g_nlinks;               /* grows at boot only, before any guest code */

/* ---- transmit ---- */

static err_t eth_linkoutput(struct netif *netif, struct pbuf *p)
{
    struct eth_link *l = netif->state;
    size_t len = VNET_HDR_LEN + p->tot_len;
    uint8_t *b = netdev_tx_slot(l->dev, len);
    if (!b)
        return ERR_BUF;
    memset(b, 0, VNET_HDR_LEN);
    pbuf_copy_partial(p, b + VNET_HDR_LEN, p->tot_len, 0);
    netdev_tx_commit(l->dev, len);
    l->tx_pending = 1;
    return ERR_OK;
}

int ns_eth_flush(void)
{
    int n = 0;
    for (int i = 0; i < g_nlinks; i++) {
        struct eth_link *l = g_links[i];
        if (l->tx_pending) {
            l->tx_pending = 0;
            n += netdev_tx_flush(l->dev);
        }
    }
    return n;
}

/* ---- receive ---- */

/* fix_checksum: fills in the checksum the host left to the device: the field holds
 * the pseudo-header's sum, the rest is summed from csum_start on. 0, or -1 if the
 * offsets are outside the frame. */
static int fix_checksum(uint8_t *frame, size_t len, const struct virtio_net_hdr *vh)
{
    size_t start = le16toh(vh->csum_start), off = le16toh(vh->csum_offset);
    if (start >= len || off + 2 > len - start || len - start > 0xffff)
        return -1;
    u16_t sum = inet_chksum(frame + start, (u16_t)(len - start));
    memcpy(frame + start + off, &sum, 2);
    return 0;
}

/* eth_input: one frame (virtio header first) to lwIP. Core lock held. */
static void eth_input(struct eth_link *l, uint8_t *buf, size_t len)
{
    if (len < VNET_HDR_LEN + SIZEOF_ETH_HDR) {
        l->rx_dropped++;
        return;
    }
    struct virtio_net_hdr vh;
    memcpy(&vh, buf, sizeof(vh));
    uint8_t *frame = buf + VNET_HDR_LEN;
    size_t flen = len - VNET_HDR_LEN;
    /* a unicast frame for another host (a bridge floods, the socket sees all) */
    if (!(frame[0] & 1) && memcmp(frame, l->mac, 6) != 0)
        return;
    uint8_t gso = vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
        gso != VIRTIO_NET_HDR_GSO_TCPV6) {
        if (!l->rx_dropped++)
            log_warn("netstack: %c%c%u: dropping a GSO frame of type %u (UDP GSO is not "
                     "supported)", l->netif.name[0], l->netif.name[1], l->netif.num, gso);
        return;
    }
    if (gso != VIRTIO_NET_HDR_GSO_NONE && !l->rx_gso_seen) {
        l->rx_gso_seen = 1;
        log_info("netstack: %c%c%u: the peer sends GSO segments (%zu bytes, %u per "
                 "segment)", l->netif.name[0], l->netif.name[1], l->netif.num, flen,
                 le16toh(vh.gso_size));
    }
    if ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && fix_checksum(frame, flen, &vh) < 0) {
        l->rx_dropped++;
        return;
    }
    if (flen > 0xffff) {
        l->rx_dropped++;
        return;
    }
    /* one contiguous pbuf; a chain from the pool when malloc's size type is short */
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)flen, PBUF_RAM);
    if (!p)
        p = pbuf_alloc(PBUF_RAW, (u16_t)flen, PBUF_POOL);
    if (!p) {
        l->rx_dropped++;
        return;
    }
    pbuf_take(p, frame, (u16_t)flen);
    if (l->netif.input(p, &l->netif) != ERR_OK)
        pbuf_free(p);
}

static void *rx_main(void *arg)
{
    struct eth_link *l = arg;
    int r = netdev_rx_start(l->dev);
    if (r < 0) {
        log_err("netstack: cannot start receiving on %c%c%u: %s", l->netif.name[0],
                l->netif.name[1], l->netif.num, strerror(-r));
        return NULL;
    }
    struct netdev_frame f[NETDEV_RX_BATCH];
    int errors = 0;
    for (;;) {
        int n = netdev_rx(l->dev, f, NETDEV_RX_BATCH);
        if (n < 0) {
            if (n == -EINTR || n == -EAGAIN)
                continue;
            if (errors++ < 5)
                log_warn("netstack: receiving: %s", strerror(-n));
            poll(NULL, 0, 10);     /* a persistent error must not spin (poll: in the
                                    * seccomp allowlist, nanosleep is not) */
            continue;
        }
        ns_lock();
        for (int i = 0; i < n; i++)
            eth_input(l, f[i].data, f[i].len);
        ns_unlock();
        netdev_rx_done(l->dev);
    }
    return NULL;
}

/* ---- set-up ---- */

static err_t eth_netif_init(struct netif *netif)
{
    struct eth_link *l = netif->state;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(netif->hwaddr, l->mac, ETH_HWADDR_LEN);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
                   NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
    netif->output = etharp_output;
    netif->output_ip6 = ethip6_output;
    netif->linkoutput = eth_linkoutput;
    return ERR_OK;
}

/* add_router6: gw as a default router on netif, for good (lwIP learns routers from
 * advertisements only; this is what nd6.c's nd6_new_router does with a lifetime
 * that does not run out). */
static void add_router6(struct netif *netif, const ip6_addr_t *gw)
{
    struct nd6_neighbor_cache_entry *e = NULL;
    for (int i = 0; i < LWIP_ND6_NUM_NEIGHBORS && !e; i++)
        if (neighbor_cache[i].state == ND6_NO_ENTRY)
            e = &neighbor_cache[i];
    for (int i = 0; e && i < LWIP_ND6_NUM_ROUTERS; i++) {
        if (default_router_list[i].neighbor_entry)
            continue;
        memset(e, 0, sizeof(*e));
        ip6_addr_copy(e->next_hop_address, *gw);
        e->netif = netif;
        e->state = ND6_INCOMPLETE;     /* resolved by neighbour solicitation */
        e->isrouter = 1;
        default_router_list[i].neighbor_entry = e;
        default_router_list[i].invalidation_timer = 0xffffffffu;
        default_router_list[i].flags = 0;
        return;
    }
    log_warn("netstack: no room for an IPv6 default router");
}

/* setup_netif: the lwIP side of c (core lock held). */
static int setup_netif(struct eth_link *l, const struct ns_eth_config *c)
{
    ip4_addr_t addr, mask, gw;
    ip4_addr_set_zero(&addr);
    ip4_addr_set_zero(&mask);
    ip4_addr_set_zero(&gw);
    if (c->has_ip4) {
        memcpy(&addr.addr, c->ip4, 4);
        mask.addr = c->prefix4 ? PP_HTONL(0xffffffffu << (32 - c->prefix4)) : 0;
        if (c->has_gw4)
            memcpy(&gw.addr, c->gw4, 4);
    }
    if (!netif_add(&l->netif, &addr, &mask, &gw, l, eth_netif_init, ethernet_input))
        return -ENOMEM;
    l->netif.mtu = (u16_t)(c->mtu > 0xffff ? 0xffff : c->mtu);
    l->netif.mtu6 = l->netif.mtu;
    /* the namespace's addresses as they were: no autoconfiguration, no duplicate
     * detection (they were in use already) */
    l->netif.ip6_autoconfig_enabled = 0;
    for (int i = 0; i < c->nip6 && i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        ip6_addr_t a;
        memcpy(a.addr, c->ip6[i], 16);
        ip6_addr_clear_zone(&a);
        netif_ip6_addr_set(&l->netif, (s8_t)i, &a);
        netif_ip6_addr_set_state(&l->netif, (s8_t)i, IP6_ADDR_PREFERRED);
    }
    if (c->has_gw6) {
        ip6_addr_t g;
        memcpy(g.addr, c->gw6, 16);
        ip6_addr_clear_zone(&g);
        ip6_addr_assign_zone(&g, IP6_UNICAST, &l->netif);
        add_router6(&l->netif, &g);
    }
    if (c->is_default)
        netif_set_default(&l->netif);
    netif_set_link_up(&l->netif);
    netif_set_up(&l->netif);
    l->netif.rs_count = 0;         /* routers are configured, not solicited */
    return 0;
}

int ns_eth_add(const struct ns_eth_config *c)
{
    int r = ns_init();
    if (r < 0 || g_nlinks >= NS_ETH_MAX) {
        close(c->fd);
        return r < 0 ? r : -ENOSPC;
    }
    struct eth_link *l = calloc(1, sizeof(*l));
    if (!l) {
        close(c->fd);
        return -ENOMEM;
    }
    memcpy(l->mac, c->mac, 6);
    size_t txmax = TX_FRAME_MAX(c->mtu > 0xffff ? 0xffff : c->mtu);
    l->dev = netdev_open(c->fd, c->io, txmax, &r);
    if (!l->dev && c->io == NS_NETDEV_URING) {
        log_warn("netstack: io_uring unusable (%s): plain recvmmsg/sendmmsg instead",
                 strerror(-r));
        l->dev = netdev_open(c->fd, NS_NETDEV_PLAIN, txmax, &r);
    }
    if (!l->dev) {
        close(c->fd);
        free(l);
        return r;
    }
    ns_lock();
    r = setup_netif(l, c);
    if (r == 0)
        g_links[g_nlinks++] = l;
    ns_unlock();
    if (r < 0)
        return r;                  /* the device stays: nothing sends on it */

    /* the thread gets no host signals: those are the signal thread's (hostsig.c) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = -pthread_create(&l->rx_thread, NULL, rx_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        log_err("netstack: cannot start a receive thread: %s", strerror(-r));
    return r;
}

void ns_eth_host_fds(int *socks, int *nsocks, int *rings, int *nrings, int max)
{
    *nsocks = *nrings = 0;
    for (int i = 0; i < g_nlinks; i++) {
        int fd, r[2];
        int n = netdev_host_fds(g_links[i]->dev, &fd, r);
        if (*nsocks < max)
            socks[(*nsocks)++] = fd;
        for (int k = 0; k < n && *nrings < max; k++)
            rings[(*nrings)++] = r[k];
    }
}
