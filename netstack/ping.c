/* Ping sockets (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) and the ICMPv6 twin), as
 * Linux's net/ipv4/ping.c: the program sends an echo request (ICMP header first);
 * the socket's identifier (its "port", chosen at bind or first send) replaces the
 * echo id and the checksum is recomputed; echo replies carrying that id come back
 * as datagrams of ICMP header plus data.
 *
 * On lwIP a raw pcb of the ICMP protocol sees every ICMP packet before the stack's
 * own ICMP code; ours takes the matching replies and lets everything else through,
 * so the stack still answers echo requests to its own addresses. */
#include "netstack/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/prot/icmp6.h"
#include "lwip/raw.h"

#define ICMP4_ECHO 8
#define ICMP4_ECHOREPLY 0
#define ICMP6_ECHO 128
#define ICMP6_ECHOREPLY 129

static uint16_t g_id_cursor;

static u8_t ping_recv_cb(void *arg, struct raw_pcb *pcb, struct pbuf *p,
                         const ip_addr_t *addr)
{
    struct ns_ep *ep = arg;
    (void)pcb;
    if (!ep || ep->closed)
        return 0;
    u16_t hlen = (u16_t)ip_current_header_tot_len();
    uint8_t hdr[8];
    if (p->tot_len < hlen + 8 || pbuf_copy_partial(p, hdr, 8, hlen) != 8)
        return 0;
    uint8_t reply = ep->domain == AF_INET ? ICMP4_ECHOREPLY : ICMP6_ECHOREPLY;
    uint16_t id = (uint16_t)(hdr[4] << 8 | hdr[5]);
    if (hdr[0] != reply || id != ep->ping_id)
        return 0;
    if (ep->has_peer && !ip_addr_cmp(addr, &ep->peer_ip))
        return 0;
    if (pbuf_remove_header(p, hlen))
        return 0;
    ns_dgram_queue(ep, p, addr, 0);
    return 1;                      /* eaten: p is ours now */
}

int ns_ping_open(struct ns_ep *ep)
{
    int v6 = ep->domain == AF_INET6;
    struct raw_pcb *pcb = raw_new_ip_type(v6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4,
                                          v6 ? IP6_NEXTH_ICMP6 : IP_PROTO_ICMP);
    if (!pcb)
        return -ENOMEM;
    if (v6) {
        pcb->chksum_reqd = 1;      /* lwIP adds the ICMPv6 pseudo-header sum */
        pcb->chksum_offset = 2;
    }
    ep->pcb.raw = pcb;
    raw_recv(pcb, ping_recv_cb, ep);
    return 0;
}

void ns_ping_close(struct ns_ep *ep)
{
    if (ep->pcb.raw)
        raw_remove(ep->pcb.raw);
    ep->pcb.raw = NULL;
}

int ns_ping_bind(struct ns_ep *ep, const ip_addr_t *ip, uint16_t id)
{
    if (!ep->pcb.raw)
        return -EINVAL;
    if (!ip_addr_isany(ip)) {
        err_t e = raw_bind(ep->pcb.raw, ip);
        if (e != ERR_OK)
            return ns_err(e);
    }
    if (!id) {
        if (!g_id_cursor)
            g_id_cursor = (uint16_t)(1 + (unsigned)rand() % 30000);
        id = g_id_cursor++;
        if (!g_id_cursor)
            g_id_cursor = 1;
    }
    ep->ping_id = id;
    ep->bound = 1;
    return 0;
}

int ns_ping_connect(struct ns_ep *ep, const ip_addr_t *ip, int unspec)
{
    if (unspec) {
        ep->has_peer = 0;
        return 0;
    }
    ep->has_peer = 1;
    ip_addr_copy(ep->peer_ip, *ip);
    ep->peer_port = 0;
    return ep->bound ? 0 : ns_ping_bind(ep, IP_ANY_TYPE, 0);
}

int ns_ping_sendto(struct ns_ep *ep, struct pbuf *p, const ip_addr_t *dst)
{
    struct raw_pcb *pcb = ep->pcb.raw;
    if (!pcb)
        return -EBADF;
    if (ep->domain == AF_INET ? !IP_IS_V4(dst) : !IP_IS_V6(dst))
        return -EINVAL;
    uint8_t *h = p->payload;       /* one pbuf: ns_dgram_send made it */
    uint8_t echo = ep->domain == AF_INET ? ICMP4_ECHO : ICMP6_ECHO;
    if (h[0] != echo || h[1] != 0)
        return -EINVAL;            /* Linux's ping_common_sendmsg */
    h[4] = (uint8_t)(ep->ping_id >> 8);
    h[5] = (uint8_t)ep->ping_id;
    h[2] = h[3] = 0;
    if (ep->domain == AF_INET) {
        u16_t sum = inet_chksum(h, p->len);
        memcpy(h + 2, &sum, 2);
    }
    if (ep->ttl >= 0)
        pcb->ttl = (u8_t)ep->ttl;
    return ns_err(raw_sendto(pcb, p, dst));
}
