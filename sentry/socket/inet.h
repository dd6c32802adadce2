/* AF_INET and AF_INET6 sockets on netstack (TCP, UDP, ping). */
#ifndef SENTRY_SOCKET_INET_H
#define SENTRY_SOCKET_INET_H

/* inet_family_init: registers AF_INET and AF_INET6 with the generic socket layer. */
void inet_family_init(void);

#endif
