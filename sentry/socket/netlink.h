/* AF_NETLINK sockets: NETLINK_ROUTE answered from the interface table (ifaces.h). */
#ifndef SENTRY_SOCKET_NETLINK_H
#define SENTRY_SOCKET_NETLINK_H

/* netlink_register: makes socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE)
 * work (other protocols: EPROTONOSUPPORT). Called by socket_families_init. */
void netlink_register(void);

#endif
