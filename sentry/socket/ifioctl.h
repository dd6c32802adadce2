/* The interface ioctls every socket answers (Linux's sock_ioctl → dev_ioctl,
 * dev_ifconf and, on AF_INET sockets, devinet_ioctl), read from the interface table
 * (ifaces.h). glibc's if_nametoindex/if_indextoname and ifconfig-style tools use them.
 * The generic socket layer calls this for commands a family does not handle. */
#ifndef SENTRY_SOCKET_IFIOCTL_H
#define SENTRY_SOCKET_IFIOCTL_H

#include <stdint.h>

struct task;

/* ifioctl: SIOCGIFCONF (IPv4 addresses), SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFINDEX,
 * SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC on every socket; with inet
 * (an AF_INET socket) also SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR and
 * SIOCGIFDSTADDR. arg is the guest's struct ifreq (or ifconf). 0 or -errno: -ENODEV
 * for an unknown interface, -EADDRNOTAVAIL for one without an IPv4 address, -EFAULT,
 * -ENOTTY for any other cmd. Setting (SIOCSIF*) is -EPERM, as for a process without
 * CAP_NET_ADMIN in the host's network namespace. */
long ifioctl(struct task *t, unsigned cmd, uint64_t arg, int inet);

#endif
