/* NETLINK_ROUTE sockets at the message level: creation errors, binding (autobind,
 * getsockname), RTM_GETLINK / RTM_GETADDR / RTM_GETROUTE dumps (only what concerns lo
 * is printed: the host has more), RTM_GETLINK of one link, acknowledgements and error
 * messages, and the receive rules glibc relies on (MSG_PEEK | MSG_TRUNC for the size,
 * MSG_TRUNC on a short buffer, one datagram per call). */
#include "guest.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include "net_rtnl.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000   /* <linux/if.h>, which clashes with <net/if.h> */
#endif

static char g_buf[65536] __attribute__((aligned(4)));
static unsigned g_seq = 100;
static unsigned g_portid;

static void send_req(int fd, int type, int flags, const void *payload, size_t len)
{
    char msg[256] __attribute__((aligned(4)));
    memset(msg, 0, sizeof(msg));
    struct nlmsghdr *h = (struct nlmsghdr *)msg;
    h->nlmsg_len = (unsigned)NLMSG_LENGTH(len);
    h->nlmsg_type = (unsigned short)type;
    h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
    h->nlmsg_seq = ++g_seq;
    memcpy(NLMSG_DATA(h), payload, len);
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    CHECK(sendto(fd, msg, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
          (ssize_t)h->nlmsg_len);
}

typedef void (*msg_fn)(const struct nlmsghdr *h);

/* dump: reads the replies of the last request up to NLMSG_DONE; each message must
 * carry its sequence number and our port id, and NLM_F_MULTI. */
static void dump(int fd, msg_fn fn)
{
    for (;;) {
        ssize_t n = recv(fd, g_buf, sizeof(g_buf), 0);
        CHECK(n > 0);
        int left = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)g_buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            CHECK(h->nlmsg_seq == g_seq && h->nlmsg_pid == g_portid);
            CHECK(h->nlmsg_flags & NLM_F_MULTI);
            if (h->nlmsg_type == NLMSG_DONE) {
                CHECK(left == (int)NLMSG_ALIGN(h->nlmsg_len));
                return;
            }
            CHECK(h->nlmsg_type != NLMSG_ERROR);
            fn(h);
        }
        CHECK(left == 0);
    }
}

static int g_lo_index;

static void on_link(const struct nlmsghdr *h)
{
    CHECK(h->nlmsg_type == RTM_NEWLINK);
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    const char *name = NULL;
    unsigned mtu = 0, txqlen = 0;
    int operstate = -1, addrlen = -1;
    int len = (int)IFLA_PAYLOAD(h);
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case IFLA_IFNAME: name = RTA_DATA(a); break;
        case IFLA_MTU: mtu = *(unsigned *)RTA_DATA(a); break;
        case IFLA_TXQLEN: txqlen = *(unsigned *)RTA_DATA(a); break;
        case IFLA_OPERSTATE: operstate = *(unsigned char *)RTA_DATA(a); break;
        case IFLA_ADDRESS: addrlen = (int)RTA_PAYLOAD(a); break;
        }
    }
    CHECK(name != NULL);
    if (strcmp(name, "lo") != 0)
        return;
    g_lo_index = ifi->ifi_index;
    printf("link lo: index %d type %d flags %#x mtu %u txqlen %u operstate %d addrlen %d\n",
           ifi->ifi_index, ifi->ifi_type,
           ifi->ifi_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP), mtu,
           txqlen, operstate, addrlen);
}

static void on_addr(const struct nlmsghdr *h)
{
    CHECK(h->nlmsg_type == RTM_NEWADDR);
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if ((int)ifa->ifa_index != g_lo_index)
        return;
    char addr[64] = "none", local[64] = "none", label[IFNAMSIZ] = "none";
    int has_cacheinfo = 0;
    int len = (int)IFA_PAYLOAD(h);
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case IFA_ADDRESS: inet_ntop(ifa->ifa_family, RTA_DATA(a), addr, sizeof(addr)); break;
        case IFA_LOCAL: inet_ntop(ifa->ifa_family, RTA_DATA(a), local, sizeof(local)); break;
        case IFA_LABEL: snprintf(label, sizeof(label), "%s", (char *)RTA_DATA(a)); break;
        case IFA_CACHEINFO: has_cacheinfo = 1; break;
        }
    }
    printf("addr lo: family %d prefixlen %d scope %d permanent %d address %s local %s "
           "label %s cacheinfo %d\n", ifa->ifa_family, ifa->ifa_prefixlen, ifa->ifa_scope,
           (ifa->ifa_flags & IFA_F_PERMANENT) != 0, addr, local, label, has_cacheinfo);
}

static int g_main_lo_routes, g_local_127;

static void on_route(const struct nlmsghdr *h)
{
    CHECK(h->nlmsg_type == RTM_NEWROUTE);
    const struct rtmsg *rtm = NLMSG_DATA(h);
    int oif = 0;
    unsigned table = rtm->rtm_table;
    unsigned char dst[16] = { 0 };
    int len = (int)RTM_PAYLOAD(h);
    for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case RTA_OIF: oif = *(int *)RTA_DATA(a); break;
        case RTA_TABLE: table = *(unsigned *)RTA_DATA(a); break;
        case RTA_DST: memcpy(dst, RTA_DATA(a), RTA_PAYLOAD(a) < 16 ? RTA_PAYLOAD(a) : 16); break;
        }
    }
    if (oif != g_lo_index)
        return;
    if (table == RT_TABLE_MAIN && rtm->rtm_family == AF_INET)
        g_main_lo_routes++;
    if (table == RT_TABLE_LOCAL && rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 8 &&
        dst[0] == 127 && rtm->rtm_type == RTN_LOCAL)
        g_local_127++;
}

/* read_error: the next message must be NLMSG_ERROR answering the last request. */
static int read_error(int fd, int *capped)
{
    *capped = -1;
    ssize_t n = recv(fd, g_buf, sizeof(g_buf), 0);
    CHECK(n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)));
    struct nlmsghdr *h = (struct nlmsghdr *)g_buf;
    CHECK(h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == g_seq);
    struct nlmsgerr *e = NLMSG_DATA(h);
    CHECK(e->msg.nlmsg_seq == g_seq);
    *capped = (h->nlmsg_flags & NLM_F_CAPPED) != 0;
    return e->error;
}

int main(void)
{
    /* creation */
    CHECK_ERR(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
    CHECK_ERR(socket(AF_NETLINK, SOCK_RAW, MAX_LINKS), EPROTONOSUPPORT);
    int dg = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    CHECK(dg >= 0);
    close(dg);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CHECK(fd >= 0);
    struct sockaddr_nl me;
    socklen_t mlen = sizeof(me);
    CHECK(getsockname(fd, (struct sockaddr *)&me, &mlen) == 0);
    printf("unbound: family %d len %u pid %u\n", me.nl_family, (unsigned)mlen, me.nl_pid);
    struct sockaddr_nl bad = { .nl_family = AF_INET };
    CHECK_ERR(bind(fd, (struct sockaddr *)&bad, sizeof(bad)), EINVAL);
    CHECK_ERR(bind(fd, (struct sockaddr *)&me, 4), EINVAL);
    struct sockaddr_nl any = { .nl_family = AF_NETLINK };
    CHECK(bind(fd, (struct sockaddr *)&any, sizeof(any)) == 0);
    mlen = sizeof(me);
    CHECK(getsockname(fd, (struct sockaddr *)&me, &mlen) == 0);
    g_portid = me.nl_pid;
    printf("bound: pid is set %d\n", me.nl_pid != 0);
    /* a second socket cannot take the same port id */
    int fd2 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    CHECK(fd2 >= 0);
    CHECK_ERR(bind(fd2, (struct sockaddr *)&me, sizeof(me)), EADDRINUSE);
    close(fd2);
    mlen = sizeof(me);
    CHECK(getpeername(fd, (struct sockaddr *)&me, &mlen) == 0);
    printf("peer: family %d pid %u\n", me.nl_family, me.nl_pid);

    /* links */
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    send_req(fd, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
    dump(fd, on_link);
    CHECK(g_lo_index > 0);

    /* addresses, each family */
    struct ifaddrmsg ifa = { .ifa_family = AF_INET };
    send_req(fd, RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));
    dump(fd, on_addr);
    ifa.ifa_family = AF_INET6;
    send_req(fd, RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));
    dump(fd, on_addr);

    /* routes */
    struct rtmsg rtm = { .rtm_family = AF_UNSPEC };
    send_req(fd, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
    dump(fd, on_route);
    printf("routes: main-table IPv4 via lo %d, local 127.0.0.0/8 %d\n", g_main_lo_routes,
           g_local_127);

    /* the size of the next datagram without taking it, as glibc asks */
    send_req(fd, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
    ssize_t full = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
    CHECK(full > 0);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
    /* a short buffer: MSG_TRUNC in the flags, the rest of that datagram gone */
    char small[16];
    struct iovec iov = { small, sizeof(small) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(fd, &mh, 0);
    printf("short read: %zd, MSG_TRUNC %d\n", n, (mh.msg_flags & MSG_TRUNC) != 0);
    /* what is left of the dump still ends in NLMSG_DONE (maybe in the next datagram) */
    for (;;) {
        n = recv(fd, g_buf, sizeof(g_buf), MSG_DONTWAIT);
        CHECK(n > 0);
        struct nlmsghdr *last = NULL;
        int left = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)g_buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left))
            last = h;
        if (last && last->nlmsg_type == NLMSG_DONE)
            break;
    }
    CHECK_ERR(recv(fd, g_buf, sizeof(g_buf), MSG_DONTWAIT), EAGAIN);
    printf("after the dump: POLLIN %d\n", poll(&p, 1, 0) == 1);

    /* one link by index, with an acknowledgement after it */
    ifi.ifi_index = g_lo_index;
    send_req(fd, RTM_GETLINK, NLM_F_ACK, &ifi, sizeof(ifi));
    n = recv(fd, g_buf, sizeof(g_buf), 0);
    struct nlmsghdr *h = (struct nlmsghdr *)g_buf;
    CHECK(n > 0 && h->nlmsg_type == RTM_NEWLINK && h->nlmsg_seq == g_seq);
    printf("getlink by index: multi %d\n", (h->nlmsg_flags & NLM_F_MULTI) != 0);
    int capped = 0;
    int err = read_error(fd, &capped);
    printf("ack: error %d capped %d\n", err, capped);
    /* by name */
    char req[64] __attribute__((aligned(4)));
    memset(req, 0, sizeof(req));
    struct ifinfomsg *named = (struct ifinfomsg *)req;
    struct rtattr *a = (struct rtattr *)(req + NLMSG_ALIGN(sizeof(*named)));
    a->rta_type = IFLA_IFNAME;
    a->rta_len = RTA_LENGTH(3);
    memcpy(RTA_DATA(a), "lo", 3);
    send_req(fd, RTM_GETLINK, 0, req, NLMSG_ALIGN(sizeof(*named)) + RTA_ALIGN(a->rta_len));
    n = recv(fd, g_buf, sizeof(g_buf), 0);
    CHECK(n > 0 && h->nlmsg_type == RTM_NEWLINK &&
          ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == g_lo_index);
    printf("getlink by name: found lo\n");
    /* errors: an unknown index, an unsupported request */
    ifi.ifi_index = 99999;
    send_req(fd, RTM_GETLINK, 0, &ifi, sizeof(ifi));
    err = read_error(fd, &capped);
    printf("unknown index: error %s capped %d\n", errno_name(-err), capped);
    ifa.ifa_family = AF_INET;
    send_req(fd, RTM_GETADDR, 0, &ifa, sizeof(ifa));
    err = read_error(fd, &capped);
    printf("getaddr without dump: error %s\n", errno_name(-err));
    /* a control message (NLMSG_NOOP) is not handled, only acknowledged on request */
    send_req(fd, NLMSG_NOOP, NLM_F_ACK, &ifi, sizeof(ifi));
    err = read_error(fd, &capped);
    printf("noop: error %d capped %d\n", err, capped);
    CHECK_ERR(recv(fd, g_buf, sizeof(g_buf), MSG_DONTWAIT), EAGAIN);
    close(fd);
    return 0;
}
