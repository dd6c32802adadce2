/* The address families built into the Sentry: each registers itself here with
 * socket_family_register (socket.h). socket_create runs this once, on the first
 * socket(2). Add a family with one line. */
#include "sentry/socket/socket.h"

#include "sentry/socket/hostinet.h"
#include "sentry/socket/ifaces.h"
#include "sentry/socket/inet.h"
#include "sentry/socket/netlink.h"
#include "sentry/socket/unix.h"

void socket_families_init(void)
{
    unix_family_init();
    netlink_register();
    /* --network=host: INET sockets are the host's, else the netstack's */
    if (net_mode() == NET_HOST)
        hostinet_register();
    else
        inet_family_init();
}
