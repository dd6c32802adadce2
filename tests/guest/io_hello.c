/* Hello world through each output path: stdio, write(2) and writev(2). */
#include "guest.h"

#include <sys/uio.h>

int main(void)
{
    CHECK(printf("hello, world (printf %d)\n", 42) > 0);
    CHECK(puts("hello, world (puts)") >= 0);
    CHECK(fflush(stdout) == 0);

    static const char msg[] = "hello, world (write)\n";
    CHECK(write(1, msg, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1));
    CHECK(write(1, msg, 0) == 0);

    char a[] = "hello, ", b[] = "", c[] = "world ", d[] = "(writev)\n";
    struct iovec iov[] = {
        {a, strlen(a)}, {b, 0}, {c, strlen(c)}, {d, strlen(d)},
    };
    CHECK(writev(1, iov, 4) == (ssize_t)(strlen(a) + strlen(c) + strlen(d)));
    CHECK(writev(1, iov, 0) == 0);

    /* A write bigger than any stdio buffer or single page goes out whole. */
    static char big[3 * 4096 + 17];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
    big[sizeof(big) - 1] = '\n';
    CHECK(write(1, big, sizeof(big)) == (ssize_t)sizeof(big));

    printf("bye\n");
    return 0;
}
