/* Socket addresses: Linux's sockaddr_in/sockaddr_in6 to and from lwIP's ip_addr_t,
 * with the checks inet_bind, inet6_bind and the connect paths make. An AF_INET6
 * endpoint talks to IPv4 peers through v4-mapped addresses (::ffff:a.b.c.d). */
#include "netstack/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"

static int is_v4_mapped(const struct in6_addr *a)
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a->s6_addr, prefix, 12) == 0;
}

int ns_addr_in(const struct ns_ep *ep, const void *addr, size_t len, int for_bind,
               ip_addr_t *ip, uint16_t *port, int *unspec)
{
    sa_family_t fam;
    *unspec = 0;
    if (len < sizeof(fam))
        return -EINVAL;
    memcpy(&fam, addr, sizeof(fam));
    if (!for_bind && fam == AF_UNSPEC) {
        *unspec = 1;
        return 0;
    }
    if (ep->domain == AF_INET) {
        struct sockaddr_in sin;
        if (len < sizeof(sin))
            return -EINVAL;
        memcpy(&sin, addr, sizeof(sin));
        if (sin.sin_family != AF_INET) {
            /* inet_bind accepts AF_UNSPEC with INADDR_ANY, for old programs */
            if (!for_bind || sin.sin_family != AF_UNSPEC ||
                sin.sin_addr.s_addr != htonl(INADDR_ANY))
                return -EAFNOSUPPORT;
        }
        ip_addr_set_ip4_u32_val(*ip, sin.sin_addr.s_addr);
        *port = ntohs(sin.sin_port);
        return 0;
    }
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    if (len < 24)                  /* SIN6_LEN_RFC2133: without sin6_scope_id */
        return -EINVAL;
    memcpy(&sin6, addr, len < sizeof(sin6) ? len : sizeof(sin6));
    if (sin6.sin6_family != AF_INET6)
        return -EAFNOSUPPORT;
    *port = ntohs(sin6.sin6_port);
    if (is_v4_mapped(&sin6.sin6_addr)) {
        if (ep->v6only)
            return for_bind ? -EINVAL : -ENETUNREACH;
        uint32_t v4;
        memcpy(&v4, sin6.sin6_addr.s6_addr + 12, 4);
        ip_addr_set_ip4_u32_val(*ip, v4);
        return 0;
    }
    uint32_t w[4];
    memcpy(w, sin6.sin6_addr.s6_addr, 16);
    IP_ADDR6(ip, w[0], w[1], w[2], w[3]);
    ip6_addr_clear_zone(ip_2_ip6(ip));
    if (ip6_addr_isany(ip_2_ip6(ip)) && !ep->v6only)
        ip_addr_copy(*ip, *IP_ANY_TYPE);   /* :: without V6ONLY takes IPv4 too */
    return 0;
}

int ns_addr_out(const struct ns_ep *ep, const ip_addr_t *ip, uint16_t port, void *buf)
{
    if (ep->domain == AF_INET) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
        if (ip && IP_IS_V4(ip))
            sin.sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(ip));
        memcpy(buf, &sin, sizeof(sin));
        return sizeof(sin);
    }
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
    if (ip && IP_IS_V4(ip) && !ip_addr_isany(ip)) {
        sin6.sin6_addr.s6_addr[10] = 0xff;
        sin6.sin6_addr.s6_addr[11] = 0xff;
        uint32_t v4 = ip4_addr_get_u32(ip_2_ip4(ip));
        memcpy(sin6.sin6_addr.s6_addr + 12, &v4, 4);
    } else if (ip && IP_IS_V6(ip)) {
        memcpy(sin6.sin6_addr.s6_addr, ip_2_ip6(ip)->addr, 16);
    }
    memcpy(buf, &sin6, sizeof(sin6));
    return sizeof(sin6);
}

int ns_addr_is_local(const ip_addr_t *ip, int datagram)
{
    if (ip_addr_isany(ip))
        return 1;
    if (IP_IS_V4(ip)) {
        if (ip4_addr_isloopback(ip_2_ip4(ip)))
            return 1;
        if (datagram && (ip4_addr_ismulticast(ip_2_ip4(ip)) ||
                         ip4_addr_get_u32(ip_2_ip4(ip)) == IPADDR_BROADCAST))
            return 1;
    } else {
        if (ip6_addr_isloopback(ip_2_ip6(ip)))
            return 1;
        if (datagram && ip6_addr_ismulticast(ip_2_ip6(ip)))
            return 1;
    }
    struct netif *n;
    NETIF_FOREACH(n) {
        if (IP_IS_V4(ip) && ip4_addr_cmp(ip_2_ip4(ip), netif_ip4_addr(n)))
            return 1;
        if (IP_IS_V6(ip) && netif_get_ip6_addr_match(n, ip_2_ip6(ip)) >= 0)
            return 1;
    }
    return 0;
}
