/* NETLINK_ROUTE answers built from the interface table (sentry/socket/netlink_route.c
 * and the reply builder in netlink.c), without a socket: the loopback table's dumps,
 * datagram boundaries, errors, and requests of random bytes that must never read past
 * their length or crash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sentry/kernel/task.h"
#include "sentry/socket/ifaces.h"
#include "sentry/socket/netlink_priv.h"

static struct task g_t;   /* unprivileged: an all-zero credential */

static void loopback_table(void)
{
    static struct iface_table t;
    memset(&t, 0, sizeof(t));
    ifaces_fill_loopback(&t);
    ifaces_set(&t);
}

/* request: a message of type with flags and a zeroed family header of size bytes. */
static struct nlmsghdr *request(int type, int flags, size_t size)
{
    static char buf[256] __attribute__((aligned(4)));
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    h->nlmsg_len = (unsigned)NLMSG_LENGTH(size);
    h->nlmsg_type = (unsigned short)type;
    h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
    h->nlmsg_seq = 7;
    return h;
}

/* count: the messages of type in r, and the datagrams. */
static int count(const struct nl_reply *r, int type, int *dgrams)
{
    int n = 0;
    *dgrams = 0;
    for (const struct nl_dgram *d = r->head; d; d = d->next) {
        (*dgrams)++;
        int left = (int)d->len;
        for (const struct nlmsghdr *h = (const void *)d->data; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            cr_assert_eq(h->nlmsg_seq, 7);
            cr_assert_eq(h->nlmsg_pid, 42);
            n += h->nlmsg_type == type;
        }
        cr_assert_eq(left, 0, "a datagram holds whole messages");
    }
    return n;
}

Test(netlink_route, loopback_dumps)
{
    loopback_table();
    struct nl_reply r = { .limit = 1 << 20 };
    int dgrams;
    cr_assert_eq(nlroute_request(&g_t, request(RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg)),
                                 42, &r), NL_DUMPED);
    cr_assert_eq(count(&r, RTM_NEWLINK, &dgrams), 1);
    cr_assert_eq(count(&r, NLMSG_DONE, &dgrams), 1);
    cr_assert_eq(dgrams, 2, "NLMSG_DONE comes in a datagram of its own");
    nl_reply_free(&r);

    r = (struct nl_reply){ .limit = 1 << 20 };
    struct nlmsghdr *h = request(RTM_GETADDR, NLM_F_DUMP, sizeof(struct ifaddrmsg));
    cr_assert_eq(nlroute_request(&g_t, h, 42, &r), NL_DUMPED);
    cr_assert_eq(count(&r, RTM_NEWADDR, &dgrams), 2, "127.0.0.1/8 and ::1/128");
    nl_reply_free(&r);
    ((struct ifaddrmsg *)NLMSG_DATA(h))->ifa_family = AF_INET6;
    r = (struct nl_reply){ .limit = 1 << 20 };
    cr_assert_eq(nlroute_request(&g_t, h, 42, &r), NL_DUMPED);
    cr_assert_eq(count(&r, RTM_NEWADDR, &dgrams), 1);
    nl_reply_free(&r);

    r = (struct nl_reply){ .limit = 1 << 20 };
    cr_assert_eq(nlroute_request(&g_t, request(RTM_GETROUTE, NLM_F_DUMP, sizeof(struct rtmsg)),
                                 42, &r), NL_DUMPED);
    cr_assert_eq(count(&r, RTM_NEWROUTE, &dgrams), 4, "lo's local-table routes");
    nl_reply_free(&r);
}

Test(netlink_route, errors)
{
    loopback_table();
    struct nl_reply r = { .limit = 1 << 20 };
    struct nlmsghdr *h = request(RTM_GETLINK, 0, sizeof(struct ifinfomsg));
    cr_assert_eq(nlroute_request(&g_t, h, 42, &r), -EINVAL, "neither index nor name");
    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = 5;
    cr_assert_eq(nlroute_request(&g_t, h, 42, &r), -ENODEV);
    cr_assert_eq(nlroute_request(&g_t, request(RTM_NEWLINK, 0, sizeof(struct ifinfomsg)), 42, &r),
                 -EPERM);
    cr_assert_eq(nlroute_request(&g_t, request(RTM_GETNEIGH, NLM_F_DUMP, 12), 42, &r),
                 -EOPNOTSUPP);
    cr_assert_eq(nlroute_request(&g_t, request(RTM_MAX + 1, 0, 4), 42, &r), -EOPNOTSUPP);
    cr_assert_eq(nlroute_request(&g_t, request(RTM_GETLINK, NLM_F_DUMP, 0), 42, &r), 0,
                 "no family byte: ignored");
    cr_assert_null(r.head);
}

Test(netlink_route, limit_overruns)
{
    loopback_table();
    struct nl_reply r = { .limit = 64 };
    nlroute_request(&g_t, request(RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg)), 42, &r);
    cr_assert(r.overrun);
    cr_assert_leq(r.bytes, 64);
    nl_reply_free(&r);
}

Test(netlink_route, random_requests)
{
    loopback_table();
    srand(1);
    for (int i = 0; i < 20000; i++) {
        /* a message exactly as long as it says, of random contents, in its own
         * allocation so a read past it would show under ASan */
        size_t len = NLMSG_HDRLEN + (size_t)(rand() % 64);
        struct nlmsghdr *h = malloc(len);
        cr_assert_not_null(h);
        for (size_t k = 0; k < len; k++)
            ((unsigned char *)h)[k] = (unsigned char)rand();
        h->nlmsg_len = (unsigned)len;
        h->nlmsg_type = (unsigned short)(RTM_BASE + rand() % 80);
        struct nl_reply r = { .limit = 1 << 16 };
        int err = nlroute_request(&g_t, h, 1, &r);
        cr_assert(err == NL_DUMPED || err <= 0);
        nl_reply_free(&r);
        free(h);
    }
}
