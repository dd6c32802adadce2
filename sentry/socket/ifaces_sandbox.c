/* ifaces_read_sandbox (ifaces.h): --network=sandbox's interfaces, taken over from the
 * network namespace the Sentry runs in, the way runsc does it at boot:
 *
 *   1. dump the namespace's links, addresses and routes (ifaces_read_host);
 *   2. for each link that is up, not loopback and ethernet (a veth, a TAP): keep its
 *      name, index, MAC and MTU, the addresses and routes lwIP can hold (below), and
 *      open an AF_PACKET socket bound to it;
 *   3. take every address off the host's side of the link (RTM_DELADDR), so the
 *      host kernel in that namespace no longer answers ARP, neighbour solicitations
 *      or TCP for them: lwIP does. The link stays up. Nothing is put back at exit:
 *      the namespace belongs to the sandbox. (The peer's carrier going down and up
 *      does not give the link its IPv6 link-local address back: tried on a veth.)
 *   4. give each link to the netstack (ns_eth_add) and describe the result in the
 *      interface table, with the guest's own loopback first.
 *
 * What lwIP can hold of a link: one IPv4 address (the first; others are left out)
 * with its subnet, a default gateway in that subnet; up to NS_ETH_IP6_MAX IPv6
 * addresses (on-link is the /64 of each, lwIP's rule), one IPv6 default router. One
 * interface is lwIP's default (the first with an IPv4 default route, else with an
 * IPv6 one). Other routes (a subnet via a gateway, policy tables, several defaults)
 * cannot be expressed and are left out with a warning.
 *
 * Runs before confinement: it needs socket(2). */
#include "sentry/socket/ifaces.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "netstack/netstack.h"

/* Socket buffers of the packet sockets: bursts of 64 KiB segments. */
#define PACKET_SOCKBUF (4 << 20)

static const char *addr_str(int family, const uint8_t *a, char *buf, size_t size)
{
    return inet_ntop(family, a, buf, (socklen_t)size) ? buf : "?";
}

/* same_prefix: a and b agree in their first bits bits. */
static int same_prefix(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    if (!rest)
        return 1;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & m) == (b[bytes] & m);
}

/* open_packet: an AF_PACKET socket for every frame of link index, with a virtio
 * header per frame, not looping back what we send. Protocol 0 at creation, so it
 * receives nothing before bind narrows it to the link. */
static int open_packet(int index, const char *name)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, buf = PACKET_SOCKBUF;
    struct packet_mreq mr = { .mr_ifindex = index, .mr_type = PACKET_MR_ALLMULTI };
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = index };
    const char *what = NULL;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
        what = "PACKET_VNET_HDR";
    else if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
        what = "PACKET_IGNORE_OUTGOING";
    else if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
        what = "PACKET_ADD_MEMBERSHIP";
    else if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
        what = "bind";
    if (what) {
        int e = errno;
        log_err("network: %s: packet socket: %s: %s", name, what, strerror(e));
        close(fd);
        return -e;
    }
    /* best effort: larger buffers, and no queueing discipline on our sends */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    return fd;
}

/* del_addr: RTM_DELADDR of a on link index; 0, or -errno from the kernel's answer.
 * -EADDRNOTAVAIL is no error: deleting an IPv4 primary takes its secondaries. */
static int del_addr(int nl, int index, const struct iface_addr *a)
{
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg ifa;
        char attrs[64];
    } req;
    memset(&req, 0, sizeof(req));
    size_t alen = a->family == AF_INET ? 4 : 16;
    req.h.nlmsg_type = RTM_DELADDR;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.h.nlmsg_seq = 1;
    req.ifa = (struct ifaddrmsg){ .ifa_family = a->family, .ifa_prefixlen = a->prefixlen,
                                  .ifa_index = (unsigned)index };
    size_t len = NLMSG_LENGTH(sizeof(req.ifa));
    const uint8_t *vals[2] = { a->local, a->address };
    const unsigned short types[2] = { IFA_LOCAL, IFA_ADDRESS };
    for (int i = 0; i < 2; i++) {
        struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(len));
        rta->rta_type = types[i];
        rta->rta_len = (unsigned short)RTA_LENGTH(alen);
        memcpy(RTA_DATA(rta), vals[i], alen);
        len = NLMSG_ALIGN(len) + RTA_ALIGN(rta->rta_len);
    }
    req.h.nlmsg_len = (uint32_t)len;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(nl, &req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;
    char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        ssize_t n = recv(nl, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        int left = (int)n;
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                continue;
            int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
            return err == -EADDRNOTAVAIL ? 0 : err;
        }
    }
}

/* pick_addrs: what lwIP holds of ifc's addresses, into c and out (the table's copy). */
static void pick_addrs(const struct iface *ifc, struct ns_eth_config *c, struct iface *out)
{
    char s[INET6_ADDRSTRLEN];
    out->naddrs = 0;
    for (int i = 0; i < ifc->naddrs; i++) {
        const struct iface_addr *a = &ifc->addrs[i];
        int keep = 0;
        if (a->family == AF_INET && !c->has_ip4) {
            c->has_ip4 = 1;
            memcpy(c->ip4, a->local, 4);
            c->prefix4 = a->prefixlen > 32 ? 32 : a->prefixlen;
            keep = 1;
        } else if (a->family == AF_INET6 && c->nip6 < NS_ETH_IP6_MAX) {
            memcpy(c->ip6[c->nip6++], a->local, 16);
            keep = 1;
        }
        if (!keep) {
            log_warn("network: %s: address %s/%d left out (lwIP holds one IPv4 and %d "
                     "IPv6 addresses per interface)", ifc->name,
                     addr_str(a->family, a->local, s, sizeof(s)), a->prefixlen,
                     NS_ETH_IP6_MAX);
            continue;
        }
        struct iface_addr k = *a;
        /* lwIP's address is in use at once: no duplicate detection pending */
        k.flags &= ~(uint32_t)(IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_OPTIMISTIC);
        out->addrs[out->naddrs++] = k;
    }
}

/* has_addr: a is one of the kept addresses of out. */
static int has_addr(const struct iface *out, int family, const uint8_t *a)
{
    for (int i = 0; i < out->naddrs; i++)
        if (out->addrs[i].family == family &&
            memcmp(out->addrs[i].local, a, family == AF_INET ? 4 : 16) == 0)
            return 1;
    return 0;
}

/* on_link: dst/len is the subnet of a kept address (a connected route). */
static int on_link(const struct iface *out, const struct iface_route *r)
{
    for (int i = 0; i < out->naddrs; i++) {
        const struct iface_addr *a = &out->addrs[i];
        if (a->family == r->family && a->prefixlen == r->dst_len &&
            same_prefix(a->local, r->dst, r->dst_len))
            return 1;
    }
    return 0;
}

/* pick_routes: the namespace's routes through ifc that lwIP can express, into c (the
 * gateways) and t (the table). */
static void pick_routes(const struct iface_table *ns, const struct iface *out,
                        struct ns_eth_config *c, struct iface_table *t)
{
    char s[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
    for (int i = 0; i < ns->nroutes; i++) {
        const struct iface_route *r = &ns->routes[i];
        if (r->oif != out->index)
            continue;
        int v4 = r->family == AF_INET, keep = 0;
        if (r->table == RT_TABLE_LOCAL) {
            /* the kernel's own routes for the addresses: kept with their address */
            keep = r->type == RTN_LOCAL ? has_addr(out, r->family, r->dst)
                                        : (v4 ? c->has_ip4 : c->nip6 > 0);
        } else if (r->table == RT_TABLE_MAIN && r->dst_len == 0 && r->has_gateway) {
            if (v4 && !c->has_gw4 && c->has_ip4 &&
                same_prefix(r->gateway, c->ip4, c->prefix4)) {
                c->has_gw4 = 1;
                memcpy(c->gw4, r->gateway, 4);
                keep = 1;
            } else if (!v4 && !c->has_gw6 && c->nip6 > 0) {
                c->has_gw6 = 1;
                memcpy(c->gw6, r->gateway, 16);
                keep = 1;
            }
        } else if (r->table == RT_TABLE_MAIN && !r->has_gateway) {
            keep = on_link(out, r) || r->type == RTN_MULTICAST;
        }
        if (keep) {
            if (t->nroutes < IFACE_ROUTES_MAX)
                t->routes[t->nroutes++] = *r;
        } else if (r->table == RT_TABLE_MAIN) {
            log_warn("network: %s: route %s/%d%s%s left out (lwIP cannot express it)",
                     out->name, addr_str(r->family, r->dst, s, sizeof(s)), r->dst_len,
                     r->has_gateway ? " via " : "",
                     r->has_gateway ? addr_str(r->family, r->gateway, g, sizeof(g)) : "");
        }
    }
}

/* take_link: steps 2-4 for one link. 0, 1 if it is not ours to take, or -errno. */
static int take_link(const struct iface_table *ns, const struct iface *ifc, int nl,
                     enum ns_netdev_io io, int *have_default, struct iface_table *t)
{
    if (ifc->flags & IFF_LOOPBACK)
        return 1;
    if (!(ifc->flags & IFF_UP) || ifc->type != ARPHRD_ETHER || ifc->hwaddr_len != 6) {
        log_info("network: %s left out (%s)", ifc->name,
                 !(ifc->flags & IFF_UP) ? "down" : "not ethernet");
        return 1;
    }
    if (t->count >= IFACES_MAX)
        return 1;
    struct ns_eth_config c = { .io = io, .mtu = ifc->mtu ? ifc->mtu : 1500 };
    memcpy(c.mac, ifc->hwaddr, 6);
    struct iface *out = &t->ifs[t->count];
    *out = *ifc;
    pick_addrs(ifc, &c, out);
    int first_route = t->nroutes;
    pick_routes(ns, out, &c, t);
    if (!*have_default && (c.has_gw4 || c.has_gw6)) {
        c.is_default = 1;
        *have_default = 1;
    } else if (c.has_gw4 || c.has_gw6) {
        log_warn("network: %s: its default route left out (lwIP has one default "
                 "interface)", ifc->name);
        c.has_gw4 = c.has_gw6 = 0;
        int k = first_route;
        for (int i = first_route; i < t->nroutes; i++)
            if (!(t->routes[i].table == RT_TABLE_MAIN && t->routes[i].dst_len == 0 &&
                  t->routes[i].has_gateway))
                t->routes[k++] = t->routes[i];
        t->nroutes = k;
    }

    c.fd = open_packet(ifc->index, ifc->name);
    if (c.fd < 0)
        return c.fd;
    for (int i = 0; i < ifc->naddrs; i++) {
        int r = del_addr(nl, ifc->index, &ifc->addrs[i]);
        if (r < 0) {
            char s[INET6_ADDRSTRLEN];
            log_err("network: %s: cannot take %s off the host's side: %s", ifc->name,
                    addr_str(ifc->addrs[i].family, ifc->addrs[i].local, s, sizeof(s)),
                    strerror(-r));
            close(c.fd);
            return r;
        }
    }
    int r = ns_eth_add(&c);
    if (r < 0) {
        log_err("network: %s: cannot attach it to the netstack: %s", ifc->name,
                strerror(-r));
        return r;
    }
    t->count++;
    log_info("network: %s (index %d, mtu %u) attached: %d address(es)%s%s", ifc->name,
             ifc->index, c.mtu, out->naddrs, c.has_gw4 || c.has_gw6 ? ", default route" : "",
             c.is_default ? ", default interface" : "");
    return 0;
}

int ifaces_read_sandbox(struct iface_table *t, int plain_io)
{
    static struct iface_table ns;  /* big for a stack; boot runs this once */
    memset(&ns, 0, sizeof(ns));
    int err = ifaces_read_host(&ns);
    if (err < 0) {
        log_err("network: cannot read the namespace's interfaces: %s", strerror(-err));
        return err;
    }
    ifaces_fill_loopback(t);
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0)
        return -errno;
    int have_default = 0, taken = 0;
    enum ns_netdev_io io = plain_io ? NS_NETDEV_PLAIN : NS_NETDEV_URING;
    for (int i = 0; i < ns.count && err >= 0; i++) {
        err = take_link(&ns, &ns.ifs[i], nl, io, &have_default, t);
        taken += err == 0;
    }
    close(nl);
    if (err < 0)
        return err;
    if (!taken)
        log_warn("network: no interface to take over in this namespace: loopback only");
    return 0;
}
