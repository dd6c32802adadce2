/* The sandbox's file system at boot: the root overlay (the Gofer's tree under a
 * tmpfs), and /dev, /proc, /sys and /dev/shm mounted on it. */
#ifndef SENTRY_KERNEL_ROOTFS_H
#define SENTRY_KERNEL_ROOTFS_H

/* rootfs_build: mounts everything, serving the root from the Gofer on gofer_sock
 * (read-only lower layer when readonly; the overlay upper is always in memory).
 * 0 or -errno with a message logged. */
int rootfs_build(int gofer_sock, int readonly);

#endif
