/* getifaddrs and if_nameindex (both read NETLINK_ROUTE dumps in glibc and musl): the
 * loopback interface's link, IPv4 and IPv6 entries with their netmasks and flags.
 * Only `lo` is printed: the host has more interfaces than a sandbox without network. */
#include "guest.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/socket.h>

static const char *addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
    if (!sa)
        return "none";
    if (sa->sa_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
                         (socklen_t)size);
    if (sa->sa_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
                         (socklen_t)size);
    snprintf(buf, size, "family %d", sa->sa_family);
    return buf;
}

int main(void)
{
    struct ifaddrs *list;
    CHECK(getifaddrs(&list) == 0);
    int seen_packet = 0, seen_v4 = 0, seen_v6 = 0;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr)
            continue;
        char a[64], m[64];
        unsigned flags = i->ifa_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING |
                                         IFF_BROADCAST | IFF_MULTICAST | IFF_POINTOPOINT);
        switch (i->ifa_addr->sa_family) {
        case AF_PACKET: {
            const struct sockaddr_ll *ll = (const struct sockaddr_ll *)i->ifa_addr;
            printf("lo packet: ifindex %d hatype %d halen %d flags %#x\n", ll->sll_ifindex,
                   ll->sll_hatype, ll->sll_halen, flags);
            seen_packet++;
            break;
        }
        case AF_INET:
            printf("lo inet: %s netmask %s flags %#x\n", addr_str(i->ifa_addr, a, sizeof(a)),
                   addr_str(i->ifa_netmask, m, sizeof(m)), flags);
            seen_v4++;
            break;
        case AF_INET6:
            printf("lo inet6: %s netmask %s flags %#x\n",
                   addr_str(i->ifa_addr, a, sizeof(a)), addr_str(i->ifa_netmask, m, sizeof(m)),
                   flags);
            seen_v6++;
            break;
        }
    }
    freeifaddrs(list);
    CHECK(seen_packet == 1 && seen_v4 == 1 && seen_v6 == 1);

    struct if_nameindex *ni = if_nameindex();
    CHECK(ni != NULL);
    for (struct if_nameindex *p = ni; p->if_index; p++)
        if (strcmp(p->if_name, "lo") == 0)
            printf("if_nameindex: lo is %u\n", p->if_index);
    if_freenameindex(ni);
    return 0;
}
