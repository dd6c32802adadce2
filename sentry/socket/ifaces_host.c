/* ifaces_read_host (ifaces.h): the host's interfaces, addresses and routes for
 * --network=host, read the way gVisor's hostinet does at boot: one host
 * NETLINK_ROUTE socket, an RTM_GETLINK, an RTM_GETADDR and an RTM_GETROUTE dump.
 * Runs before confinement (the seccomp filter refuses socket(2) afterwards), on data
 * from the host kernel; still, every length is checked before use. */
#include "sentry/socket/ifaces.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

/* The receive buffer: Linux sizes dump datagrams by the reader's buffer, up to 32 KiB. */
#define DUMP_BUF_SIZE 32768

typedef void (*dump_fn)(struct iface_table *t, const struct nlmsghdr *h);

/* attr_copy: copies an attribute's payload of exactly size bytes into dst; 0 if the
 * attribute has another size. */
static int attr_copy(const struct rtattr *a, void *dst, size_t size)
{
    if (RTA_PAYLOAD(a) != size)
        return 0;
    memcpy(dst, RTA_DATA(a), size);
    return 1;
}

static void on_link(struct iface_table *t, const struct nlmsghdr *h)
{
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (t->count >= IFACES_MAX) {
        log_warn("network: more than %d host interfaces: index %d left out", IFACES_MAX,
                 ifi->ifi_index);
        return;
    }
    struct iface ifc = { .index = ifi->ifi_index, .flags = ifi->ifi_flags,
                         .type = ifi->ifi_type };
    int len = (int)IFLA_PAYLOAD(h);
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        size_t n = RTA_PAYLOAD(a);
        switch (a->rta_type) {
        case IFLA_IFNAME:
            memcpy(ifc.name, RTA_DATA(a), MIN(n, sizeof(ifc.name) - 1));
            break;
        case IFLA_QDISC:
            memcpy(ifc.qdisc, RTA_DATA(a), MIN(n, sizeof(ifc.qdisc) - 1));
            break;
        case IFLA_MTU:
            attr_copy(a, &ifc.mtu, sizeof(ifc.mtu));
            break;
        case IFLA_TXQLEN:
            attr_copy(a, &ifc.txqlen, sizeof(ifc.txqlen));
            break;
        case IFLA_OPERSTATE:
            attr_copy(a, &ifc.operstate, sizeof(ifc.operstate));
            break;
        case IFLA_ADDRESS:
            if (n <= IFACE_HWADDR_MAX) {
                ifc.hwaddr_len = (uint8_t)n;
                memcpy(ifc.hwaddr, RTA_DATA(a), n);
            }
            break;
        case IFLA_BROADCAST:
            if (n <= IFACE_HWADDR_MAX)
                memcpy(ifc.hwbroadcast, RTA_DATA(a), n);
            break;
        }
    }
    if (ifc.index <= 0 || !ifc.name[0])
        return;
    t->ifs[t->count++] = ifc;
}

static void on_addr(struct iface_table *t, const struct nlmsghdr *h)
{
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return;
    struct iface *ifc = (struct iface *)iface_by_index(t, (int)ifa->ifa_index);
    if (!ifc)
        return;
    if (ifc->naddrs >= IFACE_ADDRS_MAX) {
        log_warn("network: host interface %s has more than %d addresses", ifc->name,
                 IFACE_ADDRS_MAX);
        return;
    }
    size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
    struct iface_addr ad = { .family = ifa->ifa_family, .prefixlen = ifa->ifa_prefixlen,
                             .scope = ifa->ifa_scope, .flags = ifa->ifa_flags };
    int has_local = 0, has_address = 0;
    int len = (int)IFA_PAYLOAD(h);
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case IFA_LOCAL:
            has_local = attr_copy(a, ad.local, alen);
            break;
        case IFA_ADDRESS:
            has_address = attr_copy(a, ad.address, alen);
            break;
        case IFA_BROADCAST:
            ad.has_broadcast = (uint8_t)attr_copy(a, ad.broadcast, 4);
            break;
        case IFA_FLAGS:
            attr_copy(a, &ad.flags, sizeof(ad.flags));
            break;
        }
    }
    if (!has_local && !has_address)
        return;
    if (!has_local)
        memcpy(ad.local, ad.address, alen);
    if (!has_address)
        memcpy(ad.address, ad.local, alen);
    ifc->addrs[ifc->naddrs++] = ad;
}

static void on_route(struct iface_table *t, const struct nlmsghdr *h)
{
    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
        return;
    const struct rtmsg *rtm = NLMSG_DATA(h);
    if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
        return;
    if (t->nroutes >= IFACE_ROUTES_MAX) {
        static int warned;
        if (!warned++)
            log_warn("network: more than %d host routes: the rest left out",
                     IFACE_ROUTES_MAX);
        return;
    }
    size_t alen = rtm->rtm_family == AF_INET ? 4 : 16;
    struct iface_route r = { .family = rtm->rtm_family, .dst_len = rtm->rtm_dst_len,
                             .table = rtm->rtm_table, .protocol = rtm->rtm_protocol,
                             .scope = rtm->rtm_scope, .type = rtm->rtm_type };
    uint32_t table = rtm->rtm_table;
    int multipath = 0;
    int len = (int)RTM_PAYLOAD(h);
    for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case RTA_DST:
            attr_copy(a, r.dst, alen);
            break;
        case RTA_GATEWAY:
            r.has_gateway = (uint8_t)attr_copy(a, r.gateway, alen);
            break;
        case RTA_PREFSRC:
            r.has_prefsrc = (uint8_t)attr_copy(a, r.prefsrc, alen);
            break;
        case RTA_OIF:
            attr_copy(a, &r.oif, sizeof(r.oif));
            break;
        case RTA_PRIORITY:
            r.has_priority = (uint8_t)attr_copy(a, &r.priority, sizeof(r.priority));
            break;
        case RTA_TABLE:
            attr_copy(a, &table, sizeof(table));
            break;
        case RTA_MULTIPATH:
            multipath = 1;
            break;
        }
    }
    /* tables past 255 and multipath routes do not fit the table's model */
    if (table > 255 || multipath)
        return;
    r.table = (uint8_t)table;
    t->routes[t->nroutes++] = r;
}

/* dump: sends one dump request of type for family and feeds each reply to fn. */
static int dump(int fd, int type, unsigned char family, struct iface_table *t, dump_fn fn)
{
    static char buf[DUMP_BUF_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
    static uint32_t seq;
    struct {
        struct nlmsghdr h;
        struct rtgenmsg g;
    } req = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg)),
                     .nlmsg_type = (uint16_t)type,
                     .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                     .nlmsg_seq = ++seq },
              .g = { .rtgen_family = family } };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        int left = (int)n;
        for (const struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                    return -EPROTO;
                return e->error < 0 ? e->error : -EPROTO;
            }
            fn(t, h);
        }
    }
}

int ifaces_read_host(struct iface_table *t)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    int err = dump(fd, RTM_GETLINK, AF_UNSPEC, t, on_link);
    if (err == 0)
        err = dump(fd, RTM_GETADDR, AF_UNSPEC, t, on_addr);
    if (err == 0)
        err = dump(fd, RTM_GETROUTE, AF_UNSPEC, t, on_route);
    close(fd);
    return err;
}
