/*
 * vethbulk — the two ends of a TCP bulk transfer across a veth pair, one in each
 * network namespace (bench/run.sh, the --network=sandbox rows):
 *   vethbulk recv ADDR PORT   accepts one connection on ADDR:PORT, reads to end of
 *                             file; prints MB/s (10^6 bytes/s) from the first byte
 *                             to the end
 *   vethbulk send ADDR PORT MIB  connects to ADDR:PORT (retrying for 20 s while
 *                             refused or unreachable: the other end may still be
 *                             starting), sends MIB MiB in 256 KiB writes, closes
 * ADDR is IPv4 or IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 << 10)

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static socklen_t parse(const char *addr, const char *port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)atoi(port));
        return sizeof(*a4);
    }
    if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)atoi(port));
        return sizeof(*a6);
    }
    fprintf(stderr, "vethbulk: bad address %s\n", addr);
    exit(2);
}

static int do_recv(const char *addr, const char *port)
{
    struct sockaddr_storage ss;
    socklen_t len = parse(addr, port, &ss);
    int one = 1;
    int l = socket(ss.ss_family, SOCK_STREAM, 0);
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 1) < 0)
        die("vethbulk: listen");
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("vethbulk: accept");
    static char buf[CHUNK];
    long total = 0;
    double start = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("vethbulk: read");
        if (n == 0)
            break;
        if (!total)
            start = now_us();
        total += n;
    }
    double us = now_us() - start;
    printf("%.0f\n", us > 0 ? total / us : 0);
    return 0;
}

static int do_send(const char *addr, const char *port, long mib)
{
    struct sockaddr_storage ss;
    socklen_t len = parse(addr, port, &ss);
    double give_up = now_us() + 20e6;
    int s;
    for (;;) {
        s = socket(ss.ss_family, SOCK_STREAM, 0);
        if (s < 0)
            die("vethbulk: socket");
        if (connect(s, (struct sockaddr *)&ss, len) == 0)
            break;
        if ((errno != ECONNREFUSED && errno != ENETUNREACH && errno != EHOSTUNREACH &&
             errno != ETIMEDOUT) || now_us() > give_up)
            die("vethbulk: connect");
        close(s);
        usleep(50000);
    }
    static char buf[CHUNK];
    memset(buf, 'x', sizeof(buf));
    for (long left = mib << 20; left > 0;) {
        ssize_t n = write(s, buf, left < CHUNK ? (size_t)left : CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("vethbulk: write");
        left -= n;
    }
    close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "recv") == 0)
        return do_recv(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "send") == 0)
        return do_send(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: vethbulk recv ADDR PORT | vethbulk send ADDR PORT MIB\n");
    return 2;
}
