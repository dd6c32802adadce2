/* The interface table (see ifaces.h): the mode, the table behind a rwlock, and the
 * loopback interface of --network=none. The host's table is read in ifaces_host.c. */
#include "sentry/socket/ifaces.h"

#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"

static enum net_mode g_net_mode = NET_NONE;   /* immutable after ifaces_init */
static pthread_rwlock_t g_ifaces_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct iface_table g_ifaces;           /* g_ifaces_lock */

enum net_mode net_mode(void) { return g_net_mode; }

void ifaces_set(const struct iface_table *t)
{
    pthread_rwlock_wrlock(&g_ifaces_lock);
    if (t != &g_ifaces)
        g_ifaces = *t;
    pthread_rwlock_unlock(&g_ifaces_lock);
}

const struct iface_table *ifaces_acquire(void)
{
    pthread_rwlock_rdlock(&g_ifaces_lock);
    return &g_ifaces;
}

void ifaces_release(void) { pthread_rwlock_unlock(&g_ifaces_lock); }

const struct iface *iface_by_index(const struct iface_table *t, int index)
{
    for (int i = 0; i < t->count; i++)
        if (t->ifs[i].index == index)
            return &t->ifs[i];
    return NULL;
}

const struct iface *iface_by_name(const struct iface_table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strncmp(t->ifs[i].name, name, IFACE_NAME_SIZE) == 0)
            return &t->ifs[i];
    return NULL;
}

/* add_route: appends r to t's routes if there is room. */
static void add_route(struct iface_table *t, const struct iface_route *r)
{
    if (t->nroutes < IFACE_ROUTES_MAX)
        t->routes[t->nroutes++] = *r;
}

void ifaces_fill_loopback(struct iface_table *t)
{
    if (t->count >= IFACES_MAX)
        return;
    struct iface *lo = &t->ifs[t->count++];
    memset(lo, 0, sizeof(*lo));
    lo->index = 1;
    strcpy(lo->name, "lo");
    lo->flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP;
    lo->mtu = 65536;
    lo->type = ARPHRD_LOOPBACK;
    lo->hwaddr_len = 6;   /* all zero, as Linux's loopback_setup */
    lo->txqlen = 1000;
    lo->operstate = IF_OPER_UNKNOWN;
    strcpy(lo->qdisc, "noqueue");

    struct iface_addr *v4 = &lo->addrs[lo->naddrs++];
    *v4 = (struct iface_addr){ .family = AF_INET, .prefixlen = 8, .scope = RT_SCOPE_HOST,
                               .flags = IFA_F_PERMANENT,
                               .local = { 127, 0, 0, 1 }, .address = { 127, 0, 0, 1 } };
    struct iface_addr *v6 = &lo->addrs[lo->naddrs++];
    *v6 = (struct iface_addr){ .family = AF_INET6, .prefixlen = 128,
                               .scope = RT_SCOPE_HOST, .flags = IFA_F_PERMANENT };
    v6->local[15] = v6->address[15] = 1;

    /* the routes Linux adds for these addresses (fib_add_ifaddr, addrconf): all in
     * the local table, so `ip route` (the main table) shows none */
    struct iface_route r = { .family = AF_INET, .dst_len = 8, .table = RT_TABLE_LOCAL,
                             .protocol = RTPROT_KERNEL, .scope = RT_SCOPE_HOST,
                             .type = RTN_LOCAL, .has_prefsrc = 1, .oif = lo->index,
                             .dst = { 127 }, .prefsrc = { 127, 0, 0, 1 } };
    add_route(t, &r);
    r.dst_len = 32;
    memcpy(r.dst, (uint8_t[]){ 127, 0, 0, 1 }, 4);
    add_route(t, &r);
    r.type = RTN_BROADCAST;
    r.scope = RT_SCOPE_LINK;
    memcpy(r.dst, (uint8_t[]){ 127, 255, 255, 255 }, 4);
    add_route(t, &r);
    struct iface_route r6 = { .family = AF_INET6, .dst_len = 128, .table = RT_TABLE_LOCAL,
                              .protocol = RTPROT_KERNEL, .scope = RT_SCOPE_UNIVERSE,
                              .type = RTN_LOCAL, .oif = lo->index, .has_priority = 1 };
    r6.dst[15] = 1;
    add_route(t, &r6);
}

int ifaces_init(enum net_mode mode, int plain_io)
{
    static struct iface_table t;   /* big for a stack; boot runs this once */
    memset(&t, 0, sizeof(t));
    g_net_mode = mode;
    switch (mode) {
    case NET_NONE:
        ifaces_fill_loopback(&t);
        break;
    case NET_HOST: {
        int err = ifaces_read_host(&t);
        if (err < 0) {
            log_err("network: cannot read the host's interfaces: %s", strerror(-err));
            return err;
        }
        break;
    }
    case NET_SANDBOX: {
        int err = ifaces_read_sandbox(&t, plain_io);
        if (err < 0)
            return err;
        break;
    }
    default:
        return -EINVAL;
    }
    ifaces_set(&t);
    log_info("network: %s, %d interface(s), %d route(s)",
             mode == NET_HOST ? "host" : mode == NET_SANDBOX ? "sandbox" : "none", t.count,
             t.nroutes);
    return 0;
}
