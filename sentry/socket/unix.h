/* AF_UNIX, entirely in the Sentry (unix.c, unix_io.c, unix_scm.c; internals in
 * unix_priv.h). */
#ifndef SENTRY_SOCKET_UNIX_H
#define SENTRY_SOCKET_UNIX_H

/* unix_family_init: registers AF_UNIX with the generic layer (families.c). */
void unix_family_init(void);

#endif
