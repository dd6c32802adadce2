/* AF_UNIX, entirely in the Sentry (unix.c, unix_io.c, unix_scm.c; internals in
 * unix_priv.h). */
#ifndef SENTRY_SOCKET_UNIX_H
#define SENTRY_SOCKET_UNIX_H

/* unix_family_init: registers AF_UNIX with the generic layer (families.c). */
void unix_family_init(void);
/* unix_sock_count: AF_UNIX sockets alive in the Sentry (open, embryos, or kept by a
 * peer or a queued message): what a leak would grow. */
long unix_sock_count(void);

#endif
