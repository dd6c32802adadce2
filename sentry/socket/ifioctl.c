/* Interface ioctls on sockets (see ifioctl.h): Linux's dev_ifconf/inet_gifconf,
 * dev_ifname, dev_ifsioc_locked and devinet_ioctl, over the interface table. */
#include "sentry/socket/ifioctl.h"

#include <errno.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/ifaces.h"

/* struct ifconf as an x86-64 guest lays it out. */
struct guest_ifconf {
    int32_t len;
    int32_t pad;
    uint64_t buf;
};

/* ifconf: dev_ifconf: one struct ifreq (name, sockaddr_in) per IPv4 address, as many
 * as fit in ifc_len; with a NULL buffer, only the length all would need. */
static long ifconf(struct task *t, uint64_t arg)
{
    struct guest_ifconf ifc;
    if (mm_copy_in(t->mm, &ifc, arg, sizeof(ifc)) < 0)
        return -EFAULT;
    const int size = (int)sizeof(struct ifreq);
    int total = 0;
    long err = 0;
    const struct iface_table *tab = ifaces_acquire();
    for (int i = 0; i < tab->count && !err; i++) {
        const struct iface *d = &tab->ifs[i];
        for (int k = 0; k < d->naddrs; k++) {
            if (d->addrs[k].family != AF_INET)
                continue;
            if (!ifc.buf) {
                total += size;
                continue;
            }
            if (ifc.len - total < size)
                break;
            struct ifreq r;
            memset(&r, 0, sizeof(r));
            memcpy(r.ifr_name, d->name, IFNAMSIZ);
            struct sockaddr_in sin = { .sin_family = AF_INET };
            memcpy(&sin.sin_addr, d->addrs[k].local, 4);
            memcpy(&r.ifr_addr, &sin, sizeof(sin));
            if (mm_copy_out(t->mm, ifc.buf + (uint64_t)total, &r, sizeof(r), 0) < 0) {
                err = -EFAULT;
                break;
            }
            total += size;
        }
    }
    ifaces_release();
    if (err)
        return err;
    return mm_copy_out(t->mm, arg, &total, sizeof(total), 0) < 0 ? -EFAULT : 0;
}

/* prefix_mask: the IPv4 netmask of a prefix length, in network byte order. */
static uint32_t prefix_mask(int prefixlen)
{
    return prefixlen <= 0 ? 0 : htonl(~0u << (32 - MIN(prefixlen, 32)));
}

/* inet_addr_ioctl: devinet_ioctl's getters: the interface's IPv4 address whose label
 * is the name (the one equal to the given address first, if an AF_INET one was
 * given). d is found; r holds the request and gets the answer. */
static long inet_addr_ioctl(const struct iface *d, unsigned cmd, struct ifreq *r)
{
    struct sockaddr_in orig;
    memcpy(&orig, &r->ifr_addr, sizeof(orig));
    const struct iface_addr *a = NULL;
    for (int k = 0; k < d->naddrs && orig.sin_family == AF_INET && !a; k++)
        if (d->addrs[k].family == AF_INET &&
            memcmp(d->addrs[k].local, &orig.sin_addr, 4) == 0)
            a = &d->addrs[k];
    for (int k = 0; k < d->naddrs && !a; k++)
        if (d->addrs[k].family == AF_INET)
            a = &d->addrs[k];
    if (!a)
        return -EADDRNOTAVAIL;
    struct sockaddr_in sin = { .sin_family = AF_INET };
    uint32_t mask = prefix_mask(a->prefixlen);
    switch (cmd) {
    case SIOCGIFADDR:    memcpy(&sin.sin_addr, a->local, 4); break;
    case SIOCGIFDSTADDR: memcpy(&sin.sin_addr, a->address, 4); break;
    case SIOCGIFNETMASK: memcpy(&sin.sin_addr, &mask, 4); break;
    case SIOCGIFBRDADDR:
        if (a->has_broadcast)
            memcpy(&sin.sin_addr, a->broadcast, 4);
        break;
    }
    memcpy(&r->ifr_addr, &sin, sizeof(sin));
    return 0;
}

/* dev_ioctl: one struct ifreq in, the answer about the interface it names out. */
static long dev_ioctl(struct task *t, unsigned cmd, uint64_t arg)
{
    struct ifreq r;
    if (mm_copy_in(t->mm, &r, arg, sizeof(r)) < 0)
        return -EFAULT;
    r.ifr_name[IFNAMSIZ - 1] = 0;
    const struct iface_table *tab = ifaces_acquire();
    long err = 0;
    const struct iface *d;
    if (cmd == SIOCGIFNAME) {
        d = iface_by_index(tab, r.ifr_ifindex);
        if (d)
            memcpy(r.ifr_name, d->name, IFNAMSIZ);
    } else {
        /* an alias label "eth0:1" names its device */
        char name[IFNAMSIZ];
        memcpy(name, r.ifr_name, IFNAMSIZ);
        char *colon = strchr(name, ':');
        if (colon)
            *colon = 0;
        d = iface_by_name(tab, name);
        /* the table has no alias labels: their address getters find nothing */
        if (d && colon && cmd != SIOCGIFFLAGS && cmd != SIOCGIFMETRIC &&
            cmd != SIOCGIFMTU && cmd != SIOCGIFINDEX && cmd != SIOCGIFTXQLEN &&
            cmd != SIOCGIFHWADDR) {
            err = -EADDRNOTAVAIL;
            goto out;
        }
    }
    if (!d) {
        err = -ENODEV;
        goto out;
    }
    switch (cmd) {
    case SIOCGIFNAME:
        break;
    case SIOCGIFFLAGS:
        r.ifr_flags = (short)d->flags;   /* the low 16 bits, as dev_get_flags is cut */
        break;
    case SIOCGIFMETRIC:
        r.ifr_metric = 0;
        break;
    case SIOCGIFMTU:
        r.ifr_mtu = (int)d->mtu;
        break;
    case SIOCGIFINDEX:
        r.ifr_ifindex = d->index;
        break;
    case SIOCGIFTXQLEN:
        r.ifr_qlen = (int)d->txqlen;
        break;
    case SIOCGIFHWADDR:
        memset(r.ifr_hwaddr.sa_data, 0, sizeof(r.ifr_hwaddr.sa_data));
        memcpy(r.ifr_hwaddr.sa_data, d->hwaddr,
               MIN(d->hwaddr_len, sizeof(r.ifr_hwaddr.sa_data)));
        r.ifr_hwaddr.sa_family = d->type;
        break;
    default:   /* the devinet getters */
        err = inet_addr_ioctl(d, cmd, &r);
        break;
    }
out:
    ifaces_release();
    if (err)
        return err;
    return mm_copy_out(t->mm, arg, &r, sizeof(r), 0) < 0 ? -EFAULT : 0;
}

long ifioctl(struct task *t, unsigned cmd, uint64_t arg, int inet)
{
    switch (cmd) {
    case SIOCGIFCONF:
        return ifconf(t, arg);
    case SIOCGIFNAME:
    case SIOCGIFFLAGS:
    case SIOCGIFMETRIC:
    case SIOCGIFMTU:
    case SIOCGIFINDEX:
    case SIOCGIFTXQLEN:
    case SIOCGIFHWADDR:
        return dev_ioctl(t, cmd, arg);
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR:
        return inet ? dev_ioctl(t, cmd, arg) : -ENOTTY;
    case SIOCSIFFLAGS:
    case SIOCSIFMTU:
    case SIOCSIFHWADDR:
    case SIOCSIFNAME:
    case SIOCSIFTXQLEN:
    case SIOCSIFMETRIC:
        return -EPERM;
    case SIOCSIFADDR:
    case SIOCSIFNETMASK:
    case SIOCSIFBRDADDR:
    case SIOCSIFDSTADDR:
        return inet ? -EPERM : -ENOTTY;
    }
    return -ENOTTY;
}
