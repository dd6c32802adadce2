/* The address families built into the Sentry: each registers itself here with
 * socket_family_register (socket.h). socket_create runs this once, on the first
 * socket(2). Add a family with one line. */
#include "sentry/socket/socket.h"

void socket_families_init(void)
{
}
