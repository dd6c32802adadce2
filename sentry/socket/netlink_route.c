/* NETLINK_ROUTE requests (Linux's rtnetlink_rcv_msg and the fill functions of
 * rtnetlink.c, devinet.c, addrconf.c and fib_semantics.c), answered from the
 * interface table (ifaces.h): RTM_GETLINK (dump, or one link by index or name),
 * RTM_GETADDR and RTM_GETROUTE dumps. Each message carries the attributes glibc's
 * getifaddrs and iproute2's `ip link`, `ip addr` and `ip route` print. Changes
 * (RTM_NEW*, RTM_DEL*, RTM_SET*) are EPERM without CAP_NET_ADMIN and EOPNOTSUPP with
 * it, like every other request (gVisor's answer). */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/util.h"
#include "sentry/kernel/cred.h"
#include "sentry/kernel/task.h"
#include "sentry/socket/ifaces.h"
#include "sentry/socket/netlink_priv.h"

/* Linux's INFINITY_LIFE_TIME: a permanent address's lifetimes. */
#define LIFETIME_FOREVER 0xFFFFFFFFu

static _Thread_local struct nl_msg g_m;   /* one message at a time per thread */

/* ---- links (rtnl_fill_ifinfo) ---- */

static void put_link(struct nl_reply *r, const struct iface *ifc, uint16_t flags,
                     uint32_t seq, uint32_t portid)
{
    struct nl_msg *m = &g_m;
    nl_msg_init(m, RTM_NEWLINK, flags, seq, portid);
    struct ifinfomsg *ifi = nl_msg_reserve(m, sizeof(*ifi));
    if (!ifi)
        return;
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_type = ifc->type;
    ifi->ifi_index = ifc->index;
    ifi->ifi_flags = ifc->flags;
    nla_put_str(m, IFLA_IFNAME, ifc->name);
    nla_put_u32(m, IFLA_TXQLEN, ifc->txqlen);
    nla_put_u8(m, IFLA_OPERSTATE, ifc->operstate);
    nla_put_u8(m, IFLA_LINKMODE, 0);
    nla_put_u32(m, IFLA_MTU, ifc->mtu);
    nla_put_u32(m, IFLA_GROUP, 0);
    nla_put_u32(m, IFLA_PROMISCUITY, 0);
    nla_put_u32(m, IFLA_NUM_TX_QUEUES, 1);
    nla_put_u32(m, IFLA_NUM_RX_QUEUES, 1);
    nla_put_u8(m, IFLA_CARRIER, (ifc->flags & IFF_LOWER_UP) != 0);
    if (ifc->qdisc[0])
        nla_put_str(m, IFLA_QDISC, ifc->qdisc);
    if (ifc->hwaddr_len) {
        nla_put(m, IFLA_ADDRESS, ifc->hwaddr, ifc->hwaddr_len);
        nla_put(m, IFLA_BROADCAST, ifc->hwbroadcast, ifc->hwaddr_len);
    }
    nl_reply_add(r, m);
}

static int dump_links(struct nl_reply *r, uint32_t seq, uint32_t portid)
{
    const struct iface_table *t = ifaces_acquire();
    for (int i = 0; i < t->count; i++)
        put_link(r, &t->ifs[i], NLM_F_MULTI, seq, portid);
    ifaces_release();
    return 0;
}

/* get_link: rtnl_getlink: the link named by ifi_index, else by IFLA_IFNAME. */
static int get_link(const struct nlmsghdr *h, struct nl_reply *r, uint32_t portid)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return -EINVAL;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    char name[IFACE_NAME_SIZE] = "";
    int len = (int)IFLA_PAYLOAD(h);
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == IFLA_IFNAME || a->rta_type == IFLA_ALT_IFNAME) {
            size_t n = RTA_PAYLOAD(a);
            if (n >= IFACE_NAME_SIZE && memchr(RTA_DATA(a), 0, IFACE_NAME_SIZE) == NULL)
                return -EINVAL;
            memcpy(name, RTA_DATA(a), MIN(n, sizeof(name) - 1));
        }
    if (ifi->ifi_index <= 0 && !name[0])
        return -EINVAL;
    const struct iface_table *t = ifaces_acquire();
    const struct iface *ifc = ifi->ifi_index > 0 ? iface_by_index(t, ifi->ifi_index)
                                                 : iface_by_name(t, name);
    if (ifc)
        put_link(r, ifc, 0, h->nlmsg_seq, portid);
    ifaces_release();
    return ifc ? 0 : -ENODEV;
}

/* ---- addresses (inet_fill_ifaddr, inet6_fill_ifaddr) ---- */

static void put_addr(struct nl_reply *r, const struct iface *ifc,
                     const struct iface_addr *ad, uint32_t seq, uint32_t portid)
{
    struct nl_msg *m = &g_m;
    nl_msg_init(m, RTM_NEWADDR, NLM_F_MULTI, seq, portid);
    struct ifaddrmsg *ifa = nl_msg_reserve(m, sizeof(*ifa));
    if (!ifa)
        return;
    ifa->ifa_family = ad->family;
    ifa->ifa_prefixlen = ad->prefixlen;
    ifa->ifa_flags = (uint8_t)ad->flags;
    ifa->ifa_scope = ad->scope;
    ifa->ifa_index = (uint32_t)ifc->index;
    size_t alen = ad->family == AF_INET ? 4 : 16;
    nla_put(m, IFA_ADDRESS, ad->address, alen);
    /* IPv4 always names the local address; IPv6 only when it differs (a peer) */
    if (ad->family == AF_INET || memcmp(ad->local, ad->address, alen) != 0)
        nla_put(m, IFA_LOCAL, ad->local, alen);
    if (ad->family == AF_INET) {
        if (ad->has_broadcast)
            nla_put(m, IFA_BROADCAST, ad->broadcast, 4);
        nla_put_str(m, IFA_LABEL, ifc->name);
    }
    nla_put_u32(m, IFA_FLAGS, ad->flags);
    struct ifa_cacheinfo ci = { .ifa_prefered = LIFETIME_FOREVER,
                                .ifa_valid = LIFETIME_FOREVER };
    nla_put(m, IFA_CACHEINFO, &ci, sizeof(ci));
    nl_reply_add(r, m);
}

static int dump_addrs(struct nl_reply *r, int family, uint32_t seq, uint32_t portid)
{
    const struct iface_table *t = ifaces_acquire();
    /* AF_UNSPEC (or a family without addresses): all, IPv4 first as rtnl_dump_all */
    const int fams[] = { AF_INET, AF_INET6 };
    for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
        if ((family == AF_INET || family == AF_INET6) && family != fams[f])
            continue;
        for (int i = 0; i < t->count; i++)
            for (int k = 0; k < t->ifs[i].naddrs; k++)
                if (t->ifs[i].addrs[k].family == fams[f])
                    put_addr(r, &t->ifs[i], &t->ifs[i].addrs[k], seq, portid);
    }
    ifaces_release();
    return 0;
}

/* ---- routes (fib_dump_info, rt6_fill_node) ---- */

static void put_route(struct nl_reply *r, const struct iface_route *rt, uint32_t seq,
                      uint32_t portid)
{
    struct nl_msg *m = &g_m;
    nl_msg_init(m, RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
    struct rtmsg *rtm = nl_msg_reserve(m, sizeof(*rtm));
    if (!rtm)
        return;
    rtm->rtm_family = rt->family;
    rtm->rtm_dst_len = rt->dst_len;
    rtm->rtm_table = rt->table;
    rtm->rtm_protocol = rt->protocol;
    rtm->rtm_scope = rt->scope;
    rtm->rtm_type = rt->type;
    size_t alen = rt->family == AF_INET ? 4 : 16;
    nla_put_u32(m, RTA_TABLE, rt->table);
    if (rt->dst_len)
        nla_put(m, RTA_DST, rt->dst, alen);
    if (rt->has_priority)
        nla_put_u32(m, RTA_PRIORITY, rt->priority);
    if (rt->has_prefsrc)
        nla_put(m, RTA_PREFSRC, rt->prefsrc, alen);
    if (rt->has_gateway)
        nla_put(m, RTA_GATEWAY, rt->gateway, alen);
    if (rt->oif)
        nla_put_u32(m, RTA_OIF, (uint32_t)rt->oif);
    if (rt->family == AF_INET6)
        nla_put_u8(m, RTA_PREF, 0);   /* ICMPV6_ROUTER_PREF_MEDIUM */
    nl_reply_add(r, m);
}

static int dump_routes(struct nl_reply *r, int family, uint32_t seq, uint32_t portid)
{
    const struct iface_table *t = ifaces_acquire();
    const int fams[] = { AF_INET, AF_INET6 };
    for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
        if ((family == AF_INET || family == AF_INET6) && family != fams[f])
            continue;
        for (int i = 0; i < t->nroutes; i++)
            if (t->routes[i].family == fams[f])
                put_route(r, &t->routes[i], seq, portid);
    }
    ifaces_release();
    return 0;
}

/* ---- dispatch (rtnetlink_rcv_msg) ---- */

int nlroute_request(struct task *t, const struct nlmsghdr *h, uint32_t portid,
                    struct nl_reply *r)
{
    uint16_t type = h->nlmsg_type;
    if (type > RTM_MAX)
        return -EOPNOTSUPP;
    /* every message has at least a family byte; shorter ones are ignored */
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtgenmsg)))
        return 0;
    int family = ((const struct rtgenmsg *)NLMSG_DATA(h))->rtgen_family;
    int kind = (type - RTM_BASE) & 3;   /* NEW, DEL, GET, SET */
    if (kind != 2)
        return cred_capable(&t->cred, CAP_NET_ADMIN) ? -EOPNOTSUPP : -EPERM;
    if (h->nlmsg_flags & NLM_F_DUMP) {
        int err;
        switch (type) {
        case RTM_GETLINK:  err = dump_links(r, h->nlmsg_seq, portid); break;
        case RTM_GETADDR:  err = dump_addrs(r, family, h->nlmsg_seq, portid); break;
        case RTM_GETROUTE: err = dump_routes(r, family, h->nlmsg_seq, portid); break;
        default:           return -EOPNOTSUPP;
        }
        if (err < 0)
            return err;
        nl_reply_done(r, h->nlmsg_seq, portid);
        return NL_DUMPED;
    }
    if (type == RTM_GETLINK)
        return get_link(h, r, portid);
    return -EOPNOTSUPP;
}
