/* The character devices the Sentry implements itself (chrdev_open in special.h), and
 * the table of nodes whoever builds /dev creates from. */
#ifndef SENTRY_FS_DEVICES_H
#define SENTRY_FS_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct device_node {
    const char *name;              /* under /dev */
    unsigned major, minor;
    uint32_t mode;                 /* S_IFCHR | permission bits, as devtmpfs makes it */
};

/* Every device node of the sandbox's /dev (/dev/pts is devpts, see tty.h). */
extern const struct device_node g_dev_nodes[];
extern const size_t g_dev_nodes_count;

#endif
