/* The Internet checksum, and skipping it for packets that never leave the Sentry.
 *
 * Three functions replace the library's of the same name (liblwip calls them through
 * its PLT, so the executable's definitions win; see stack.c):
 *
 * lwip_standard_chksum: lwIP's is a 16-bit-at-a-time loop (about 2 bytes a cycle),
 * and every TCP byte is summed once when tcp_write copies it (LWIP_CHECKSUM_ON_COPY)
 * and once more when tcp_input checks it. Ours adds 32-bit words into 64-bit SSE2
 * lanes, 64 bytes a round: several times faster, same result.
 *
 * lwip_chksum_copy: tcp_write's copy of data into a segment, which sums it on the
 * way (LWIP_CHECKSUM_ON_COPY). ns_tcp_send turns the sum off for connections over
 * the loopback interface (ns_copy_chksum_skip): their packets never leave the Sentry
 * and their check is skipped on arrival (below), as Linux's lo never computes them.
 *
 * ip_chksum_pseudo: the transport check of an incoming packet (tcp_input,
 * udp_input). A packet our loopback path queued (netif_loopback.c) is marked
 * NS_PBUF_FLAG_LOOPED: it never left the Sentry, so there is nothing to check
 * (Linux's loopback packets are CHECKSUM_UNNECESSARY too), and on a loopback
 * connection its sender did not even sum it. The mark is consumed by the first
 * check, so a pbuf reused for a reply is summed normally. Packets from any other
 * interface are checked in full.
 *
 * The linker takes this file from libsandbox.a because netif_loopback.c calls
 * ns_pbuf_mark_looped: a member that defined only the library's names would never be
 * pulled in, and the library's versions would run. */
#include "netstack/internal.h"

#include <emmintrin.h>
#include <stdint.h>
#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip.h"

/* sum64: the one's complement sum of n bytes at p as 16-bit little-endian words
 * (byte 0 is the low byte), not yet folded: a 64-bit value congruent to it modulo
 * 0xffff, zero only if every byte is. */
static uint64_t sum64(const unsigned char *p, size_t n)
{
    __m128i zero = _mm_setzero_si128();
    __m128i a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    /* each lane gains under 2^34 a round: no overflow below 2^29 rounds (32 GiB) */
    while (n >= 64) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)p);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
        __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
        a0 = _mm_add_epi64(a0, _mm_unpacklo_epi32(x0, zero));
        a1 = _mm_add_epi64(a1, _mm_unpackhi_epi32(x0, zero));
        a2 = _mm_add_epi64(a2, _mm_unpacklo_epi32(x1, zero));
        a3 = _mm_add_epi64(a3, _mm_unpackhi_epi32(x1, zero));
        a0 = _mm_add_epi64(a0, _mm_unpacklo_epi32(x2, zero));
        a1 = _mm_add_epi64(a1, _mm_unpackhi_epi32(x2, zero));
        a2 = _mm_add_epi64(a2, _mm_unpacklo_epi32(x3, zero));
        a3 = _mm_add_epi64(a3, _mm_unpackhi_epi32(x3, zero));
        p += 64;
        n -= 64;
    }
    __m128i a = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
    uint64_t lanes[2];
    _mm_storeu_si128((__m128i *)lanes, a);
    uint64_t sum = lanes[0] + lanes[1];
    while (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        n -= 2;
    }
    if (n)
        sum += *p;                 /* an odd last byte is a word's low byte */
    return sum;
}

static uint16_t fold(uint64_t sum)
{
    sum = (sum >> 32) + (sum & 0xffffffffu);
    sum = (sum >> 32) + (sum & 0xffffffffu);
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    return (uint16_t)sum;
}

/* lwIP's contract: the folded, uncomplemented sum of len bytes as network-order
 * 16-bit words, computed from the start of the buffer whatever its alignment. */
u16_t lwip_standard_chksum(const void *dataptr, int len)
{
    return len > 0 ? fold(sum64(dataptr, (size_t)len)) : 0;
}

void ns_pbuf_mark_looped(struct pbuf *p)
{
    p->flags |= NS_PBUF_FLAG_LOOPED;
}

u16_t ip_chksum_pseudo(struct pbuf *p, u8_t proto, u16_t proto_len, const ip_addr_t *src,
                       const ip_addr_t *dest)
{
    if (p->flags & NS_PBUF_FLAG_LOOPED) {
        p->flags &= (u8_t)~NS_PBUF_FLAG_LOOPED;
        return 0;                  /* "verified" */
    }
    if (IP_IS_V6(dest))
        return ip6_chksum_pseudo(p, proto, proto_len, ip_2_ip6(src), ip_2_ip6(dest));
    return inet_chksum_pseudo(p, proto, proto_len, ip_2_ip4(src), ip_2_ip4(dest));
}

static __thread int tl_skip_copy_sum;

void ns_copy_chksum_skip(int skip)
{
    tl_skip_copy_sum = skip;
}

u16_t lwip_chksum_copy(void *dst, const void *src, u16_t len)
{
    memcpy(dst, src, len);
    return tl_skip_copy_sum ? 0 : lwip_standard_chksum(dst, len);
}
