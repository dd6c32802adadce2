/* IP-level socket options (IPPROTO_IP, IPPROTO_IPV6) for every kind of endpoint,
 * with Linux's value checks. Options that only ask for ancillary data or path-MTU
 * behaviour the loopback cannot show are remembered and read back. */
#include "netstack/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lwip/igmp.h"
#include "lwip/ip.h"
#include "lwip/mld6.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

/* The options kept as plain flags (indexes into ep->ipflags). */
static int flag_slot(int level, int name)
{
    if (level == IPPROTO_IP) {
        switch (name) {
        case IP_RECVERR:      return 0;
        case IP_PKTINFO:      return 1;
        case IP_MTU_DISCOVER: return 2;
        case IP_RECVTTL:      return 3;
        case IP_RECVTOS:      return 4;
        case IP_FREEBIND:     return 5;
        case IP_BIND_ADDRESS_NO_PORT: return 6;
        }
    } else if (level == IPPROTO_IPV6) {
        switch (name) {
        case IPV6_RECVERR:     return 7;
        case IPV6_RECVPKTINFO: return 8;
        case IPV6_MTU_DISCOVER: return 9;
        case IPV6_RECVHOPLIMIT: return 10;
        case IPV6_RECVTCLASS:  return 11;
        }
    }
    return -1;
}

static int put_int(void *val, size_t *len, int v)
{
    size_t n = *len < sizeof(int) ? *len : sizeof(int);
    memcpy(val, &v, n);
    *len = n;
    return 0;
}

/* Linux's do_ip_setsockopt reads an int, or a single byte when optlen < 4. */
static int get_intish(const void *val, size_t len, int *out)
{
    if (len >= sizeof(int)) {
        memcpy(out, val, sizeof(int));
        return 0;
    }
    if (len >= 1) {
        *out = *(const unsigned char *)val;
        return 0;
    }
    return -EINVAL;
}

/* The pcb's ttl and tos, from the endpoint (core lock). */
static void apply(struct ns_ep *ep)
{
    if (!ep->pcb.tcp)
        return;
    u8_t ttl = (u8_t)(ep->ttl >= 0 ? ep->ttl : 64);
    switch (ep->kind) {
    case NS_TCP:
        if (ep->pcb.tcp->state != LISTEN) {
            ep->pcb.tcp->ttl = ttl;
            ep->pcb.tcp->tos = (u8_t)ep->tos;
        }
        break;
    case NS_UDP:
        ep->pcb.udp->ttl = ttl;
        ep->pcb.udp->tos = (u8_t)ep->tos;
        udp_set_multicast_ttl(ep->pcb.udp, (u8_t)ep->mcast_ttl);
        if (ep->mcast_loop)
            udp_setflags(ep->pcb.udp, udp_flags(ep->pcb.udp) | UDP_FLAGS_MULTICAST_LOOP);
        else
            udp_setflags(ep->pcb.udp, udp_flags(ep->pcb.udp) & ~UDP_FLAGS_MULTICAST_LOOP);
        break;
    case NS_PING:
        ep->pcb.raw->ttl = ttl;
        ep->pcb.raw->tos = (u8_t)ep->tos;
        raw_set_multicast_ttl(ep->pcb.raw, (u8_t)ep->mcast_ttl);
        break;
    }
}

int ns_ip_getsockopt(struct ns_ep *ep, int level, int name, void *val, size_t *len)
{
    if (level == IPPROTO_IPV6 && ep->domain != AF_INET6)
        return -ENOPROTOOPT;
    if (level != IPPROTO_IP && level != IPPROTO_IPV6)
        return -ENOPROTOOPT;
    ns_lock();
    int r = 0, slot = flag_slot(level, name);
    if (slot >= 0) {
        r = put_int(val, len, ep->ipflags[slot]);
    } else if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TTL:           r = put_int(val, len, ep->ttl >= 0 ? ep->ttl : 64); break;
        case IP_TOS:           r = put_int(val, len, ep->tos); break;
        case IP_MULTICAST_TTL: r = put_int(val, len, ep->mcast_ttl); break;
        case IP_MULTICAST_LOOP: r = put_int(val, len, ep->mcast_loop); break;
        case IP_MULTICAST_IF: {
            struct in_addr a = { 0 };
            if (ep->kind == NS_UDP && ep->pcb.udp)
                a.s_addr = ip4_addr_get_u32(&ep->pcb.udp->mcast_ip4);
            size_t n = *len < sizeof(a) ? *len : sizeof(a);
            memcpy(val, &a, n);
            *len = n;
            break;
        }
        default: r = -ENOPROTOOPT;
        }
    } else {
        switch (name) {
        case IPV6_V6ONLY:         r = put_int(val, len, ep->v6only); break;
        case IPV6_UNICAST_HOPS:   r = put_int(val, len, ep->ttl >= 0 ? ep->ttl : 64); break;
        case IPV6_MULTICAST_HOPS: r = put_int(val, len, ep->mcast_ttl); break;
        case IPV6_MULTICAST_LOOP: r = put_int(val, len, ep->mcast_loop); break;
        case IPV6_MULTICAST_IF:   r = put_int(val, len, 0); break;
        case IPV6_TCLASS:         r = put_int(val, len, ep->tos); break;
        default: r = -ENOPROTOOPT;
        }
    }
    ns_unlock();
    return r;
}

/* IP_ADD_MEMBERSHIP/IP_DROP_MEMBERSHIP with an ip_mreq or ip_mreqn. */
static int ip_membership(int add, const void *val, size_t len)
{
    struct ip_mreqn m;
    memset(&m, 0, sizeof(m));
    if (len < sizeof(struct ip_mreq))
        return -EINVAL;
    memcpy(&m, val, len < sizeof(m) ? len : sizeof(m));
    ip4_addr_t group, iface;
    ip4_addr_set_u32(&group, m.imr_multiaddr.s_addr);
    ip4_addr_set_u32(&iface, m.imr_address.s_addr);
    if (!ip4_addr_ismulticast(&group))
        return -EINVAL;
    err_t e = add ? igmp_joingroup(&iface, &group) : igmp_leavegroup(&iface, &group);
    if (e != ERR_OK)
        return add ? -ENODEV : -EADDRNOTAVAIL;
    return 0;
}

static int ip6_membership(int add, const void *val, size_t len)
{
    struct ipv6_mreq m;
    if (len < sizeof(m))
        return -EINVAL;
    memcpy(&m, val, sizeof(m));
    ip6_addr_t group;
    uint32_t w[4];
    memcpy(w, m.ipv6mr_multiaddr.s6_addr, 16);
    IP6_ADDR(&group, w[0], w[1], w[2], w[3]);
    ip6_addr_clear_zone(&group);
    if (!ip6_addr_ismulticast(&group))
        return -EINVAL;
    err_t e = add ? mld6_joingroup(IP6_ADDR_ANY6, &group)
                  : mld6_leavegroup(IP6_ADDR_ANY6, &group);
    if (e != ERR_OK)
        return add ? -ENODEV : -EADDRNOTAVAIL;
    return 0;
}

int ns_ip_setsockopt(struct ns_ep *ep, int level, int name, const void *val, size_t len)
{
    if (level == IPPROTO_IPV6 && ep->domain != AF_INET6)
        return -ENOPROTOOPT;
    if (level != IPPROTO_IP && level != IPPROTO_IPV6)
        return -ENOPROTOOPT;
    int v = 0, r = 0, slot = flag_slot(level, name);
    int membership = level == IPPROTO_IP
                         ? (name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP ||
                            name == IP_MULTICAST_IF)
                         : (name == IPV6_JOIN_GROUP || name == IPV6_LEAVE_GROUP);
    if (!membership && (r = get_intish(val, len, &v)) < 0)
        return r;
    ns_lock();
    if (slot >= 0) {
        ep->ipflags[slot] = v;
    } else if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TTL:
            if (v == -1)
                ep->ttl = -1;
            else if (v < 1 || v > 255)
                r = -EINVAL;
            else
                ep->ttl = v;
            break;
        case IP_TOS:
            ep->tos = v & 0xff;
            break;
        case IP_MULTICAST_TTL:
            if (v == -1)
                v = 1;
            if (v < 0 || v > 255)
                r = -EINVAL;
            else
                ep->mcast_ttl = v;
            break;
        case IP_MULTICAST_LOOP:
            ep->mcast_loop = v != 0;
            break;
        case IP_MULTICAST_IF: {
            struct ip_mreqn m;
            memset(&m, 0, sizeof(m));
            if (len >= sizeof(struct ip_mreq))
                memcpy(&m, val, len < sizeof(m) ? len : sizeof(m));
            else if (len >= sizeof(struct in_addr))
                memcpy(&m.imr_multiaddr, val, sizeof(struct in_addr));
            else
                r = -EINVAL;
            if (!r && ep->kind == NS_UDP && ep->pcb.udp) {
                ip4_addr_t a;
                /* ip_mreq's interface address, or a bare in_addr */
                ip4_addr_set_u32(&a, len >= sizeof(struct ip_mreq) ? m.imr_address.s_addr
                                                                   : m.imr_multiaddr.s_addr);
                udp_set_multicast_netif_addr(ep->pcb.udp, &a);
            }
            break;
        }
        case IP_ADD_MEMBERSHIP:
        case IP_DROP_MEMBERSHIP:
            r = ep->kind == NS_TCP ? -EPROTO
                                   : ip_membership(name == IP_ADD_MEMBERSHIP, val, len);
            break;
        default:
            r = -ENOPROTOOPT;
        }
    } else {
        switch (name) {
        case IPV6_V6ONLY:
            if (ep->bound || (ep->kind == NS_TCP && ep->state != NS_CLOSED)) {
                r = -EINVAL;
                break;
            }
            ep->v6only = v != 0;
            if (ep->pcb.tcp) {     /* the pcb's address family follows */
                u8_t t = ep->v6only ? IPADDR_TYPE_V6 : IPADDR_TYPE_ANY;
                if (ep->kind == NS_TCP) {
                    IP_SET_TYPE_VAL(ep->pcb.tcp->local_ip, t);
                    IP_SET_TYPE_VAL(ep->pcb.tcp->remote_ip, t);
                } else if (ep->kind == NS_UDP) {
                    IP_SET_TYPE_VAL(ep->pcb.udp->local_ip, t);
                    IP_SET_TYPE_VAL(ep->pcb.udp->remote_ip, t);
                }
            }
            break;
        case IPV6_UNICAST_HOPS:
            if (v < -1 || v > 255)
                r = -EINVAL;
            else
                ep->ttl = v;
            break;
        case IPV6_MULTICAST_HOPS:
            if (v < -1 || v > 255)
                r = -EINVAL;
            else
                ep->mcast_ttl = v == -1 ? 1 : v;
            break;
        case IPV6_MULTICAST_LOOP:
            if (v != 0 && v != 1)
                r = -EINVAL;
            else
                ep->mcast_loop = v;
            break;
        case IPV6_MULTICAST_IF:
            break;
        case IPV6_TCLASS:
            if (v < -1 || v > 255)
                r = -EINVAL;
            else
                ep->tos = v == -1 ? 0 : v;
            break;
        case IPV6_JOIN_GROUP:
        case IPV6_LEAVE_GROUP:
            r = ep->kind == NS_TCP ? -EPROTO
                                   : ip6_membership(name == IPV6_JOIN_GROUP, val, len);
            break;
        default:
            r = -ENOPROTOOPT;
        }
    }
    if (!r)
        apply(ep);
    ns_unlock();
    return r;
}
