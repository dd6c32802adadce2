/* The interface ioctls on a socket that is not AF_INET (here AF_NETLINK, which every
 * network mode has): SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFMTU,
 * SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC and SIOCGIFCONF on lo; ENODEV for an
 * unknown interface; the IPv4 address getters are AF_INET's (ENOTTY here). */
#include "guest.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net_rtnl.h"

static struct ifreq lo_req(void)
{
    struct ifreq r;
    memset(&r, 0, sizeof(r));
    strcpy(r.ifr_name, "lo");
    return r;
}

int main(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CHECK(fd >= 0);

    struct ifreq r = lo_req();
    CHECK(ioctl(fd, SIOCGIFFLAGS, &r) == 0);
    printf("flags %#x\n", (unsigned short)r.ifr_flags);
    r = lo_req();
    CHECK(ioctl(fd, SIOCGIFINDEX, &r) == 0);
    int index = r.ifr_ifindex;
    printf("index %d\n", index);
    memset(&r, 0, sizeof(r));
    r.ifr_ifindex = index;
    CHECK(ioctl(fd, SIOCGIFNAME, &r) == 0);
    printf("name of %d: %s\n", index, r.ifr_name);
    r = lo_req();
    CHECK(ioctl(fd, SIOCGIFMTU, &r) == 0);
    printf("mtu %d\n", r.ifr_mtu);
    r = lo_req();
    CHECK(ioctl(fd, SIOCGIFHWADDR, &r) == 0);
    int zero = 1;
    for (int i = 0; i < 6; i++)
        zero &= r.ifr_hwaddr.sa_data[i] == 0;
    printf("hwaddr family %d, all zero %d\n", r.ifr_hwaddr.sa_family, zero);
    r = lo_req();
    CHECK(ioctl(fd, SIOCGIFTXQLEN, &r) == 0);
    printf("txqlen %d\n", r.ifr_qlen);
    r = lo_req();
    CHECK(ioctl(fd, SIOCGIFMETRIC, &r) == 0);
    printf("metric %d\n", r.ifr_metric);

    /* an alias label names its device for these */
    r = lo_req();
    strcpy(r.ifr_name, "lo:7");
    CHECK(ioctl(fd, SIOCGIFINDEX, &r) == 0);
    printf("lo:7 index %d\n", r.ifr_ifindex);

    r = lo_req();
    strcpy(r.ifr_name, "nosuch0");
    CHECK_ERR(ioctl(fd, SIOCGIFFLAGS, &r), ENODEV);
    memset(&r, 0, sizeof(r));
    r.ifr_ifindex = 99999;
    CHECK_ERR(ioctl(fd, SIOCGIFNAME, &r), ENODEV);
    r = lo_req();
    CHECK_ERR(ioctl(fd, SIOCGIFADDR, &r), ENOTTY);
    CHECK_ERR(ioctl(fd, SIOCGIFNETMASK, &r), ENOTTY);
    r = lo_req();
    CHECK_ERR(ioctl(fd, SIOCGIFFLAGS, (void *)16), EFAULT);

    /* SIOCGIFCONF: the length alone, then the IPv4 addresses (only lo's printed) */
    struct ifconf ifc = { .ifc_len = 0, .ifc_buf = NULL };
    CHECK(ioctl(fd, SIOCGIFCONF, &ifc) == 0);
    int need = ifc.ifc_len;
    printf("ifconf: length is a multiple of ifreq %d, nonzero %d\n",
           need % (int)sizeof(struct ifreq) == 0, need > 0);
    struct ifreq reqs[64];
    ifc.ifc_len = sizeof(reqs);
    ifc.ifc_req = reqs;
    CHECK(ioctl(fd, SIOCGIFCONF, &ifc) == 0);
    CHECK(ifc.ifc_len == need);
    for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++) {
        if (strcmp(reqs[i].ifr_name, "lo") != 0)
            continue;
        struct sockaddr_in *sin = (struct sockaddr_in *)&reqs[i].ifr_addr;
        char a[32];
        printf("ifconf: lo family %d addr %s\n", sin->sin_family,
               inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)));
    }
    /* room for less than one entry: nothing written, length 0 */
    ifc.ifc_len = sizeof(struct ifreq) - 1;
    CHECK(ioctl(fd, SIOCGIFCONF, &ifc) == 0);
    printf("ifconf with room for none: %d\n", ifc.ifc_len);
    close(fd);
    return 0;
}
