/* Network interfaces: the loopback interface (127.0.0.1/8 and ::1), the only one of
 * --network=none, and the loopback path every interface uses for packets to its own
 * addresses. Interfaces for --network=sandbox belong next to this file.
 *
 * lwIP sends every packet for 127/8, ::1 or an interface's own address through
 * netif_loop_output. The library's version copies the packet and asks the tcpip
 * thread to run it (a thread hand-off per packet); ours, which replaces it (the
 * library calls it through the PLT), queues the packet without copying its data
 * and runs the queue on the sending thread before the core lock is dropped
 * (stack.c). The receiver may rewrite headers in place (tcp_input byte-swaps them),
 * so the first bytes of the packet are copied; the data after them is shared with
 * the sender through custom pbufs that hold a reference on the sender's pbuf. No
 * code on the receive path writes to packet data past the headers. The copy's head
 * is marked looped: its transport checksum is not checked again (chksum.c). */
#include "netstack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include "lib/log.h"

/* Bytes copied from the front of a looped packet: all IP and TCP/UDP/ICMP headers. */
#define LOOP_HDR_COPY 128

static struct netif g_lo;

struct loop_pkt {
    struct loop_pkt *next;
    struct pbuf *p;
    struct netif *netif;
};
/* The loopback queue (core lock). */
static struct loop_pkt *g_loop_head, *g_loop_tail;

/* A piece of a looped packet that points into the sender's pbuf. */
struct loop_ref {
    struct pbuf_custom pc;         /* first: lwIP frees it through this */
    struct pbuf *orig;             /* one reference */
};

static void loop_ref_free(struct pbuf *p)
{
    struct loop_ref *r = (struct loop_ref *)p;
    pbuf_free(r->orig);
    free(r);
}

/* loop_clone: p as a new chain for the receiver: a copy of its headers, then its
 * data by reference. NULL when out of memory. */
static struct pbuf *loop_clone(struct pbuf *p)
{
    u16_t hlen = p->len < LOOP_HDR_COPY ? p->len : LOOP_HDR_COPY;
    struct pbuf *head = pbuf_alloc(PBUF_RAW, hlen, PBUF_RAM);
    if (!head)
        return NULL;
    memcpy(head->payload, p->payload, hlen);
    ns_pbuf_mark_looped(head);     /* its checksum needs no check (chksum.c) */
    u16_t off = hlen;
    for (struct pbuf *q = p; q; q = q->next, off = 0) {
        if (q->len <= off)
            continue;
        u16_t n = (u16_t)(q->len - off);
        struct loop_ref *r = malloc(sizeof(*r));
        if (!r) {
            pbuf_free(head);
            return NULL;
        }
        r->pc.custom_free_function = loop_ref_free;
        pbuf_ref(q);
        r->orig = q;
        struct pbuf *c = pbuf_alloced_custom(PBUF_RAW, n, PBUF_REF, &r->pc,
                                             (u8_t *)q->payload + off, n);
        pbuf_cat(head, c);
    }
    return head;
}

/* The library's entry point for packets to ourselves (see the top of the file). */
err_t netif_loop_output(struct netif *netif, struct pbuf *p)
{
    struct pbuf *c = loop_clone(p);
    struct loop_pkt *k = c ? malloc(sizeof(*k)) : NULL;
    if (!k) {
        if (c)
            pbuf_free(c);
        return ERR_MEM;
    }
    k->next = NULL;
    k->p = c;
    k->netif = netif;
    if (g_loop_tail)
        g_loop_tail->next = k;
    else
        g_loop_head = k;
    g_loop_tail = k;
    return ERR_OK;
}

int ns_loop_flush(void)
{
    int n = 0;
    while (g_loop_head) {
        struct loop_pkt *k = g_loop_head;
        g_loop_head = k->next;
        if (!g_loop_head)
            g_loop_tail = NULL;
        if (ip_input(k->p, k->netif) != ERR_OK)
            pbuf_free(k->p);
        free(k);
        n++;
    }
    return n;
}

/* The loopback interface's transmit: every packet comes back in, except multicast
 * that ip_output already looped (IP_MULTICAST_LOOP). */
static err_t lo_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
    (void)dst;
    if (p->flags & PBUF_FLAG_MCASTLOOP)
        return ERR_OK;
    return netif_loop_output(netif, p);
}

static err_t lo_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *dst)
{
    (void)dst;
    if (p->flags & PBUF_FLAG_MCASTLOOP)
        return ERR_OK;
    return netif_loop_output(netif, p);
}

static err_t lo_init(struct netif *netif)
{
    netif->name[0] = 'l';
    netif->name[1] = 'o';
    netif->mtu = 65535;            /* Linux's lo has 65536; lwIP's field is 16 bits */
    netif->output = lo_output4;
    netif->output_ip6 = lo_output6;
    netif->flags = NETIF_FLAG_IGMP;
    return ERR_OK;
}

int ns_netif_setup(void)
{
    ip4_addr_t addr, mask, gw;
    IP4_ADDR(&addr, 127, 0, 0, 1);
    IP4_ADDR(&mask, 255, 0, 0, 0);
    ip4_addr_set_zero(&gw);
    if (!netif_add(&g_lo, &addr, &mask, &gw, NULL, lo_init, ip_input))
        return -ENOMEM;
    ip6_addr_t one;
    IP6_ADDR(&one, 0, 0, 0, PP_HTONL(1));
    ip6_addr_clear_zone(&one);
    netif_ip6_addr_set(&g_lo, 0, &one);
    netif_ip6_addr_set_state(&g_lo, 0, IP6_ADDR_PREFERRED);
    g_lo.ip6_autoconfig_enabled = 0;
    /* not the default interface: with only loopback, other destinations are
     * unreachable (ENETUNREACH at once, as an empty network namespace) */
    netif_set_link_up(&g_lo);
    netif_set_up(&g_lo);
    g_lo.rs_count = 0;             /* no router solicitations on loopback */
    return 0;
}

int ns_netif_is_loopback(const struct netif *netif)
{
    return netif == &g_lo;
}
