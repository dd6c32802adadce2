/* netstack/chksum.c: our lwip_standard_chksum against a plain RFC 1071 sum, for every
 * alignment and length near the vector loop's edges, and large buffers; which packets
 * skip the transport check. (Built with lwIP's headers: see the Makefile.) */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "netstack/internal.h"

/* lwIP declares it only inside inet_chksum.c */
u16_t lwip_standard_chksum(const void *dataptr, int len);

/* The folded sum of 16-bit words, byte 0 the low byte (lwIP's contract on x86). */
static uint16_t ref_sum(const unsigned char *p, int len)
{
    uint64_t sum = 0;
    for (int i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] | (uint32_t)p[i + 1] << 8;
    if (len & 1)
        sum += p[len - 1];
    while (sum >> 16)
        sum = (sum >> 16) + (sum & 0xffff);
    return (uint16_t)sum;
}

static void check(const unsigned char *p, int len)
{
    uint16_t want = ref_sum(p, len), got = lwip_standard_chksum(p, len);
    cr_assert_eq(got, want, "len %d at +%d: %#x, want %#x", len, (int)((uintptr_t)p & 15),
                 got, want);
}

Test(netstack_chksum, matches_reference)
{
    size_t size = 1 << 20;
    unsigned char *buf = malloc(size + 16);
    srand(7);
    for (size_t i = 0; i < size + 16; i++)
        buf[i] = (unsigned char)rand();
    for (int off = 0; off < 16; off++)
        for (int len = 0; len <= 300; len++)
            check(buf + off, len);
    for (int off = 0; off < 3; off++) {
        check(buf + off, 65535);
        check(buf + off, 32768 + 40);
        check(buf + off, (int)size);
    }
    /* all ones: the sum is 0xffff, never 0; all zeroes: 0 */
    memset(buf, 0xff, 4096);
    check(buf, 4096);
    check(buf + 1, 4095);
    memset(buf, 0, 4096);
    check(buf, 4096);
    cr_assert_eq(lwip_standard_chksum(buf, -1), 0);
    free(buf);
}

/* ip_chksum_pseudo: a looped packet's check is skipped once (the mark is consumed);
 * any other packet is summed in full, so a corrupt one still fails its check. */
Test(netstack_chksum, pseudo_skips_only_looped_packets)
{
    ip_addr_t src = IPADDR4_INIT(PP_HTONL(0x0a000001UL));
    ip_addr_t dst = IPADDR4_INIT(PP_HTONL(0x0a000002UL));
    struct pbuf *p = pbuf_alloc(PBUF_RAW, 64, PBUF_RAM);
    cr_assert_not_null(p);
    memset(p->payload, 0xab, 64);
    u16_t sum = ip_chksum_pseudo(p, IP_PROTO_TCP, 64, &src, &dst);
    cr_assert_eq(sum, inet_chksum_pseudo(p, IP_PROTO_TCP, 64, ip_2_ip4(&src),
                                         ip_2_ip4(&dst)));
    cr_assert_neq(sum, 0);
    ns_pbuf_mark_looped(p);
    cr_assert_eq(ip_chksum_pseudo(p, IP_PROTO_TCP, 64, &src, &dst), 0);
    cr_assert_eq(p->flags & NS_PBUF_FLAG_LOOPED, 0);
    cr_assert_eq(ip_chksum_pseudo(p, IP_PROTO_TCP, 64, &src, &dst), sum);
    pbuf_free(p);
}
