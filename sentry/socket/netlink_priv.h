/* Inside the AF_NETLINK family: how replies are built (netlink.c) and the
 * NETLINK_ROUTE request handler that builds them (netlink_route.c).
 *
 * A request's replies are a list of datagrams, each holding whole netlink messages,
 * queued on the socket at once; recvmsg hands out one datagram per call as Linux
 * does. Messages are built in a struct nl_msg (one message, bounded) and appended
 * with nl_reply_add, which starts a new datagram when the current one is full. */
#ifndef SENTRY_SOCKET_NETLINK_PRIV_H
#define SENTRY_SOCKET_NETLINK_PRIV_H

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

struct task;

/* The most message bytes in one datagram: Linux's NLMSG_GOODSIZE on x86-64 (a page
 * less the skb overhead), what a dump puts in one skb for a reader whose buffers are
 * a page. glibc's getifaddrs reads with a 4 KiB buffer and fails on MSG_TRUNC. */
#define NL_DGRAM_SIZE 3776
/* The most bytes of one built message (ours are a few hundred). */
#define NL_MSG_MAX 2048

struct nl_dgram {
    struct nl_dgram *next;
    size_t len;
    char data[NL_DGRAM_SIZE];
};

struct nl_reply {
    struct nl_dgram *head, *tail;  /* in order; tail is open for more messages */
    size_t bytes;                  /* message bytes in all datagrams */
    int tail_closed;               /* the next message starts a new datagram */
    int err;                       /* -ENOMEM once an allocation failed */
    size_t limit;                  /* the most bytes r may hold (the receive queue's
                                    * room); past it messages are dropped and */
    int overrun;                   /* this is set (Linux's netlink_overrun) */
};

/* One message being built. */
struct nl_msg {
    size_t len;                    /* bytes used (a multiple of 4) */
    int overflow;                  /* a put did not fit: the message is dropped */
    char buf[NL_MSG_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
};

/* nl_msg_init: starts a message of type with flags, seq and the receiver's port id. */
void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, uint32_t seq,
                 uint32_t portid);
/* nl_msg_reserve: size zeroed bytes (the family header), aligned; NULL on overflow. */
void *nl_msg_reserve(struct nl_msg *m, size_t size);
/* nla_put: one attribute (type, len bytes of data), padded. */
void nla_put(struct nl_msg *m, uint16_t type, const void *data, size_t len);
void nla_put_u8(struct nl_msg *m, uint16_t type, uint8_t v);
void nla_put_u32(struct nl_msg *m, uint16_t type, uint32_t v);
void nla_put_str(struct nl_msg *m, uint16_t type, const char *s);

/* nl_reply_add: sets m's nlmsg_len and appends it to r (dropped if it overflowed, or
 * if r would pass its limit: then r->overrun is set). */
void nl_reply_add(struct nl_reply *r, struct nl_msg *m);
/* nl_reply_done: appends NLMSG_DONE (error 0) ending a dump answering seq, in a
 * datagram of its own, as Linux's netlink_dump sends it. */
void nl_reply_done(struct nl_reply *r, uint32_t seq, uint32_t portid);
/* nl_reply_free: frees r's datagrams. */
void nl_reply_free(struct nl_reply *r);

/* nlroute_request: handles one NETLINK_ROUTE request h (whole, nlmsg_len checked)
 * from port portid, appending its answer to r. Returns NL_DUMPED when it answered
 * with a dump (never acked), 0 when done otherwise (acked if NLM_F_ACK), or -errno
 * for an error acknowledgement. */
#define NL_DUMPED 1
int nlroute_request(struct task *t, const struct nlmsghdr *h, uint32_t portid,
                    struct nl_reply *r);

#endif
