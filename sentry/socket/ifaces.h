/* The sandbox's network interfaces as the guest sees them: a small table (index, name,
 * flags, MTU, hardware address, IPv4/IPv6 addresses with prefix lengths, and routes)
 * that NETLINK_ROUTE dumps (netlink_route.c), the SIOCGIF* ioctls (ifioctl.c) and so
 * getifaddrs, `ip addr` and `hostname -I` read. It describes; it routes nothing.
 *
 * Who fills it, at boot and before the Sentry is confined (ifaces_init):
 *   --network=none  ifaces_fill_loopback: `lo` only (the netstack branch may replace
 *                   this with what its lwIP netifs hold, through ifaces_set);
 *   --network=host  ifaces_read_host: the host's interfaces, addresses and routes,
 *                   read with a host netlink dump while the Sentry may still open
 *                   sockets (it stays in the host's network namespace in this mode).
 *   --network=sandbox  ifaces_read_sandbox: `lo`, then the ethernet links of the
 *                   network namespace the Sentry runs in, taken over by the netstack
 *                   (their addresses and routes as lwIP holds them).
 *
 * Locking: the table is replaced whole under a rwlock (ifaces_set); readers hold the
 * read side between ifaces_acquire and ifaces_release and must not block meanwhile.
 * All addresses are in network byte order. */
#ifndef SENTRY_SOCKET_IFACES_H
#define SENTRY_SOCKET_IFACES_H

#include <stdint.h>

/* The guest's network (`sandbox run --network=`). */
enum net_mode {
    NET_NONE = 0,      /* loopback only, in the Sentry (the default) */
    NET_SANDBOX,       /* lwIP ethernet netifs on the namespace's links (AF_PACKET) */
    NET_HOST,          /* guest INET sockets are host sockets (less isolated) */
};

#define IFACE_NAME_SIZE 16       /* IFNAMSIZ, with the NUL */
#define IFACE_HWADDR_MAX 32      /* MAX_ADDR_LEN */
#define IFACE_ADDRS_MAX 16       /* addresses per interface */
#define IFACES_MAX 32            /* interfaces in the table */
#define IFACE_ROUTES_MAX 128     /* routes in the table, all families and tables */

/* One address of an interface (Linux's in_ifaddr / inet6_ifaddr). */
struct iface_addr {
    uint8_t family;              /* AF_INET or AF_INET6 */
    uint8_t prefixlen;
    uint8_t scope;               /* RT_SCOPE_UNIVERSE, _LINK, _HOST */
    uint8_t has_broadcast;       /* AF_INET: broadcast is set */
    uint32_t flags;              /* IFA_F_* (IFA_F_PERMANENT for static ones) */
    uint8_t local[16];           /* the interface's own address (4 bytes for AF_INET) */
    uint8_t address[16];         /* IFA_ADDRESS: the peer on point-to-point links,
                                  * else the same as local */
    uint8_t broadcast[4];        /* AF_INET */
};

/* One interface (Linux's net_device, the parts rtnetlink and SIOCGIF* show). */
struct iface {
    int index;                   /* ifindex, > 0, unique */
    char name[IFACE_NAME_SIZE];
    unsigned flags;              /* IFF_* as RTM_NEWLINK's ifi_flags (with IFF_LOWER_UP
                                  * when the carrier is up) */
    unsigned mtu;
    uint16_t type;               /* ARPHRD_LOOPBACK, ARPHRD_ETHER ... */
    uint8_t hwaddr_len;          /* bytes of hwaddr and hwbroadcast */
    uint8_t hwaddr[IFACE_HWADDR_MAX];
    uint8_t hwbroadcast[IFACE_HWADDR_MAX];
    unsigned txqlen;
    uint8_t operstate;           /* IF_OPER_* */
    char qdisc[IFACE_NAME_SIZE]; /* the queueing discipline's name ("": none shown) */
    int naddrs;
    struct iface_addr addrs[IFACE_ADDRS_MAX];
};

/* One route (RTM_NEWROUTE's rtmsg and attributes). */
struct iface_route {
    uint8_t family;              /* AF_INET or AF_INET6 */
    uint8_t dst_len;             /* prefix length of dst; 0: the default route */
    uint8_t table;               /* RT_TABLE_MAIN, RT_TABLE_LOCAL ... */
    uint8_t protocol;            /* RTPROT_KERNEL, RTPROT_BOOT ... */
    uint8_t scope;               /* RT_SCOPE_* */
    uint8_t type;                /* RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST ... */
    uint8_t has_gateway, has_prefsrc, has_priority;
    int oif;                     /* output interface index (0: none) */
    uint32_t priority;           /* RTA_PRIORITY (the metric) */
    uint8_t dst[16];
    uint8_t gateway[16];
    uint8_t prefsrc[16];
};

struct iface_table {
    int count;
    struct iface ifs[IFACES_MAX];          /* by increasing index */
    int nroutes;
    struct iface_route routes[IFACE_ROUTES_MAX];
};

/* ifaces_init: records mode and fills the table for it (see the top). Called once by
 * sentry_boot before confinement. plain_io: NET_SANDBOX's devices use recvmmsg/
 * sendmmsg rather than io_uring. 0, or -errno (logged) if the host's interfaces
 * cannot be read or taken over. */
int ifaces_init(enum net_mode mode, int plain_io);

/* net_mode: the mode ifaces_init recorded (NET_NONE before it). */
enum net_mode net_mode(void);

/* ifaces_fill_loopback: appends `lo` to t as Linux has it in a fresh network
 * namespace once it is up: index 1, mtu 65536, UP|LOOPBACK|RUNNING|LOWER_UP,
 * 127.0.0.1/8 and ::1/128, and its local routes. */
void ifaces_fill_loopback(struct iface_table *t);

/* ifaces_read_host: fills t from the host's network namespace (RTM_GETLINK,
 * RTM_GETADDR and RTM_GETROUTE dumps on a host NETLINK_ROUTE socket; needs socket(2),
 * so only before confinement). 0 or -errno. Entries past the IFACE*_MAX limits are
 * dropped with a warning. */
int ifaces_read_host(struct iface_table *t);

/* ifaces_read_sandbox: fills t with `lo` and the links of the Sentry's network
 * namespace, which it hands to the netstack (ns_eth_add) after taking their
 * addresses off the host's side (ifaces_sandbox.c). Before confinement. 0 or
 * -errno (logged). */
int ifaces_read_sandbox(struct iface_table *t, int plain_io);

/* ifaces_set: replaces the table with a copy of t (e.g. from the netstack's netifs). */
void ifaces_set(const struct iface_table *t);

/* ifaces_acquire: the table, read-locked until ifaces_release. Never NULL. */
const struct iface_table *ifaces_acquire(void);
void ifaces_release(void);

/* iface_by_index / iface_by_name: the interface in t, or NULL. */
const struct iface *iface_by_index(const struct iface_table *t, int index);
const struct iface *iface_by_name(const struct iface_table *t, const char *name);

#endif
