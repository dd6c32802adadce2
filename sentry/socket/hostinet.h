/* --network=host: guest AF_INET/AF_INET6 sockets backed by host sockets. */
#ifndef SENTRY_SOCKET_HOSTINET_H
#define SENTRY_SOCKET_HOSTINET_H

/* hostinet_register: makes socket(AF_INET or AF_INET6, ...) create a host socket
 * (replacing the netstack's registration). Only in host mode: the Sentry's seccomp
 * filter allows the host socket calls only then (sentry/seccomp.c). */
void hostinet_register(void);

#endif
