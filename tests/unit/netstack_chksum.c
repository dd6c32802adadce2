/* netstack/chksum.c: our lwip_standard_chksum against a plain RFC 1071 sum, for every
 * alignment and length near the vector loop's edges, and large buffers. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint16_t lwip_standard_chksum(const void *dataptr, int len);

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
